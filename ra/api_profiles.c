/* api_profiles: GET /api/v1/profiles — the signer's certificate profiles (PROFILES), read-only,
 * as JSON for administrators; 503 signer_unavailable when the signer cannot be asked. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api.h"
#include "signer_client.h"

static const char *const attr_names[PROTO_ATTR_MAX + 1] = {
	"", "CN", "O", "OU", "L", "ST", "C", "serialNumber",
};

static json_t *attr_array(uint8_t mask)
{
	json_t *a = json_array();

	for (unsigned i = 1; a != NULL && i <= PROTO_ATTR_MAX; i++)
		if ((mask & (1u << i)) && json_array_append_new(a, json_string(attr_names[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *url_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *profile_json(const proto_profile *p)
{
	static const char *const usages[PROTO_USAGE_MAX + 1] = { "client", "server", "email" };
	static const char *const keys[3] = { "ec-p256", "ec-p384", "rsa" };
	json_t *kt = json_array(), *fixed = json_object();

	for (unsigned i = 0; kt != NULL && i < 3; i++)
		if (p->key_types & (1u << i))
			json_array_append_new(kt, json_string(keys[i]));
	for (uint8_t i = 0; fixed != NULL && i < p->nfixed; i++)
		json_object_set_new(fixed, attr_names[p->fixed[i].type], json_string(p->fixed[i].value));
	return json_pack("{s:s, s:s, s:o*, s:I, s:I, s:I, s:o*, s:o*, s:o*, s:s, s:o, s:o}",
	    "name", p->name, "usage", usages[p->usage], "key_types", kt,
	    "rsa_min_bits", (json_int_t)p->rsa_min_bits, "max_days", (json_int_t)p->max_days,
	    "backdate", (json_int_t)p->backdate, "subject_allowed", attr_array(p->attrs_allowed),
	    "subject_required", attr_array(p->attrs_required), "subject_fixed", fixed,
	    "crl_url", p->crl_url, "ocsp_url", url_or_null(p->ocsp_url),
	    "ca_issuers_url", url_or_null(p->ca_issuers_url));
}

static void h_profiles(ra_req *r)
{
	proto_profiles_reply *rep = calloc(1, sizeof(*rep));
	proto_error err;
	json_t *arr = NULL;
	ik_status st;

	memset(&err, 0, sizeof(err));
	if (rep == NULL) {
		ra_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	st = r->app->signer == NULL ? IK_ERR_IO : ra_signer_profiles(r->app->signer, rep, &err);
	if (st != IK_OK) {
		ra_reply_error(r, 503, "signer_unavailable", st == IK_ERR_PROTO_VERB ?
		    "the signer does not describe its profiles (it is older than this RA)" :
		    "the signer cannot be reached; try again later");
		goto out;
	}
	arr = json_array();
	for (uint8_t i = 0; arr != NULL && i < rep->n; i++)
		if (json_array_append_new(arr, profile_json(&rep->p[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	if (arr == NULL)
		ra_reply_error(r, 500, "internal", "cannot build the reply");
	else
		ra_reply_json(r, 200, json_pack("{s:o}", "profiles", arr));
out:
	free(rep);
}

const ra_route ra_api_profiles_routes[] = {
	{ "GET", "/api/v1/profiles", h_profiles, RA_ROLE_ADMIN, 0 },
};
const size_t ra_api_profiles_nroutes = sizeof(ra_api_profiles_routes) / sizeof(ra_api_profiles_routes[0]);
