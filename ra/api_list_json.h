/* api_list_json: the certificate list's JSON reply (GET /api/v1/certificates). */
#ifndef RA_API_LIST_JSON_H
#define RA_API_LIST_JSON_H

#include "http.h"
#include "store.h"

/* 200 {"items":[<ra_cert_json of each row>],"total":total,"total_capped":capped,
 * "next":next or null} */
void ra_cert_list_reply(ra_req *r, const ra_cert *rows, size_t n, uint64_t total, int capped,
    const char *next);

#endif
