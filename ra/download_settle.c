/* download_settle: a download whose own issuance got no answer from the signer (a timeout, a
 * broken connection — the signer may have issued it all the same).  Its request is parked for
 * the queue, which sends it again under the same request id, records what the signer issued
 * and, the key having died with the download, revokes it (cessationOfOperation) and offers
 * the same credential a fresh certificate; the user is told to try again in a moment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "download.h"
#include "log.h"
#include "queue.h"

ra_dl_outcome ra_download_park(ra_req *r, const ra_download *d, const ra_request *req,
    const char *why)
{
	json_t *j = json_pack("{s:s, s:s}", "request", req->request_id, "why", why);
	char *detail = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	ra_hist h = { .actor = d->login, .ip = r->ip, .op = "download_parked", .target = req->cn,
	    .detail = detail != NULL ? detail : "{}" };
	ik_status st = ra_store_request_park(r->app->store, req->id, d->id, why, &h);

	free(detail);
	json_decref(j);
	if (st != IK_OK) {
		/* left sent: the next start settles it (as after a crash) */
		ik_log(LOG_ERR, "download %s: cannot park request %s: %s", d->login, req->request_id,
		    ik_status_str(st));
		return RA_DL_STOPPED;
	}
	ra_queue_kick(r->app->queue);
	ik_log(LOG_WARNING, "download %s: no answer from the signer for request %s; parked: the "
	    "queue sends it again and settles it, the link gets a new certificate", d->login,
	    req->request_id);
	return RA_DL_RETRY;
}

int ra_download_settling(ra_req *r, const ra_cert *cert)
{
	ra_request req;

	return cert->state == RA_CERT_ISSUING && cert->request_id != 0 &&
	    ra_store_request_get(r->app->store, cert->request_id, &req) == IK_OK &&
	    req.generate_here && req.spki_len > 0 &&
	    (req.state == RA_REQ_PENDING || req.state == RA_REQ_SENT);
}

int ra_download_device_settling(ra_req *r, int64_t device_id)
{
	int yes = 0;

	return device_id != 0 && ra_store_device_settling(r->app->store, device_id, &yes) == IK_OK &&
	    yes;
}
