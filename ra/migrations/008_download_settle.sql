-- A download whose own issuance got no answer from the signer (a timeout, a broken
-- connection: the signer may have issued it) is parked: its request goes back to the queue,
-- which sends it again under the same request id (the signer answers with the certificate
-- it issued, if it did) and settles it as an orphan (its key died with the download); the
-- credential it was made under is noted here, so that once the orphan is settled the same
-- credential is offered a fresh certificate (ra_store_download_reoffer).
ALTER TABLE requests ADD COLUMN settle_credential INTEGER REFERENCES download_credentials(id);
