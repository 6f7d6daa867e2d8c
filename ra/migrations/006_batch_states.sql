-- A batch's issuing and active counts (ra_store_batch_info: every poll of a batch's page or
-- API) read two small indexes instead of each request's and each certificate's row — the
-- certificate rows carry the DER and the sealed key, three to a page, so a 10 000 batch was
-- 13 MB of pages per poll.
CREATE INDEX requests_batch_cert ON requests(batch_id, cert_id);
CREATE INDEX certs_id_state ON certificates(id, state);
