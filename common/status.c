/* status: stable short codes (logs, JSON error codes, CLI output) and English sentences for
 * every ik_status. */
#include <stddef.h>

#include "status.h"

typedef struct status_text {
	ik_status st;
	const char *code;
	const char *text;
} status_text;

static const status_text texts[] = {
	{ IK_OK, "ok", "success" },
	{ IK_ERR_INTERNAL, "internal", "internal error" },
	{ IK_ERR_NOMEM, "no-memory", "out of memory" },
	{ IK_ERR_IO, "io", "input/output error" },
	{ IK_ERR_CONFIG, "config", "configuration error" },
	{ IK_ERR_ARG, "bad-argument", "invalid argument" },
	{ IK_ERR_NOT_FOUND, "not-found", "not found" },
	{ IK_ERR_EXISTS, "exists", "already exists" },
	{ IK_ERR_STATE, "state", "not allowed in the current state" },
	{ IK_ERR_HSM_UNAVAILABLE, "hsm-unavailable", "HSM unavailable" },
	{ IK_ERR_HSM, "hsm", "the HSM refused the operation" },
	{ IK_ERR_LEDGER, "ledger", "signer ledger error" },
	{ IK_ERR_CRYPTO, "crypto", "cryptographic library error" },
	{ IK_ERR_AUTH, "auth", "authentication failed" },
	{ IK_ERR_BUSY, "busy", "busy, try again later" },
	{ IK_ERR_PROTO_VERSION, "proto-version", "unsupported protocol version" },
	{ IK_ERR_PROTO_VERB, "proto-verb", "unknown message type" },
	{ IK_ERR_PROTO_OVERSIZE, "proto-oversize", "message too large" },
	{ IK_ERR_PROTO_TRUNCATED, "proto-truncated", "message truncated" },
	{ IK_ERR_PROTO_TRAILING, "proto-trailing", "unexpected bytes after the message" },
	{ IK_ERR_PROTO_FIELD, "proto-field", "malformed field" },
	{ IK_ERR_PROTO_PEER, "proto-peer", "peer credentials not allowed" },
	{ IK_ERR_PROTO_CLOSED, "proto-closed", "connection closed" },
	{ IK_ERR_POLICY_PROFILE, "policy-profile", "unknown certificate profile" },
	{ IK_ERR_POLICY_CA, "policy-ca", "a CA certificate is not allowed by the profile" },
	{ IK_ERR_POLICY_VALIDITY, "policy-validity", "validity not allowed by the profile" },
	{ IK_ERR_POLICY_KEY, "policy-key", "public key not allowed by the profile" },
	{ IK_ERR_POLICY_SUBJECT, "policy-subject", "subject not allowed by the profile" },
	{ IK_ERR_POLICY_REVOKED, "policy-revoked", "the certificate is revoked; that is final" },
	{ IK_ERR_POLICY_LINT, "policy-lint", "pre-issuance lint failed" },
	{ IK_ERR_POLICY_FLAGS, "policy-flags", "unknown request flag" },
	{ IK_ERR_POLICY_REASON, "policy-reason", "revocation reason not allowed" },
};

static const status_text *find(ik_status st)
{
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].st == st)
			return &texts[i];
	return NULL;
}

const char *ik_status_code(ik_status st)
{
	const status_text *t = find(st);

	return t != NULL ? t->code : "unknown";
}

const char *ik_status_str(ik_status st)
{
	const status_text *t = find(st);

	return t != NULL ? t->text : "unknown error";
}
