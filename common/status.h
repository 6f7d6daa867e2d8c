/* The one project-wide status enum: returned by every function that can fail and
 * carried on the wire as the RA<->signer protocol's error code (values are stable). */
#ifndef IK_STATUS_H
#define IK_STATUS_H

typedef enum ik_status {
	IK_OK = 0,
	IK_ERR_INTERNAL = 1,      /* a bug or an unexpected library failure */
	IK_ERR_NOMEM = 2,
	IK_ERR_IO = 3,            /* read/write/socket failure */
	IK_ERR_CONFIG = 4,        /* bad configuration */
	IK_ERR_ARG = 5,           /* bad argument from a local caller */
	IK_ERR_NOT_FOUND = 6,     /* no such serial / key / object */
	IK_ERR_EXISTS = 7,        /* refuses to overwrite */
	IK_ERR_STATE = 8,         /* not allowed in the current state (e.g. un-revoke) */
	IK_ERR_HSM_UNAVAILABLE = 9, /* token gone, session lost: retry later */
	IK_ERR_HSM = 10,          /* the HSM refused for another reason */
	IK_ERR_LEDGER = 11,       /* signer ledger failure */
	IK_ERR_CRYPTO = 12,       /* OpenSSL failure */
	IK_ERR_AUTH = 13,         /* wrong PIN / credential */
	IK_ERR_BUSY = 14,         /* queue full, try again */

	/* protocol framing and decoding (20..39) */
	IK_ERR_PROTO_VERSION = 20,   /* unsupported protocol version */
	IK_ERR_PROTO_VERB = 21,      /* unknown message type */
	IK_ERR_PROTO_OVERSIZE = 22,  /* frame longer than the limit */
	IK_ERR_PROTO_TRUNCATED = 23, /* a field runs past the end of the frame */
	IK_ERR_PROTO_TRAILING = 24,  /* bytes left after the last field */
	IK_ERR_PROTO_FIELD = 25,     /* a field is malformed or out of range */
	IK_ERR_PROTO_PEER = 26,      /* peer credentials not allowed */
	IK_ERR_PROTO_CLOSED = 27,    /* the peer closed the connection */

	/* profile / policy refusals (40..59): the rule that failed */
	IK_ERR_POLICY_PROFILE = 40,  /* unknown profile */
	IK_ERR_POLICY_CA = 41,       /* CA:TRUE or a CA key usage requested */
	IK_ERR_POLICY_VALIDITY = 42, /* validity too long / inverted / in the past */
	IK_ERR_POLICY_KEY = 43,      /* key type, size or curve not allowed, bad point */
	IK_ERR_POLICY_SUBJECT = 44,  /* subject attribute not allowed / fixed value changed / bad value */
	IK_ERR_POLICY_REVOKED = 45,  /* revoked certificates are never un-revoked */
	IK_ERR_POLICY_LINT = 46,     /* the pre-issuance lint failed on the TBS */
	IK_ERR_POLICY_FLAGS = 47,    /* unknown request flag */
	IK_ERR_POLICY_REASON = 48,   /* revocation reason not allowed */
} ik_status;

/* A short stable identifier ("policy-validity") for logs and JSON error codes. */
const char *ik_status_code(ik_status st);
/* An English sentence for humans at the edge (CLI, HTTP). */
const char *ik_status_str(ik_status st);

#endif
