/* The RA <-> signer protocol: one header for both sides.  Frames are a 16-byte header
 * (version, type, length, id, flags) and a body of typed big-endian fields read only
 * through ik_buf.  signer/PROTOCOL.md describes it for humans. */
#ifndef IK_PROTO_H
#define IK_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "status.h"

#define PROTO_VERSION 1u
#define PROTO_HDR_LEN 16u
#define PROTO_MAX_REQUEST (64u * 1024u)          /* RA -> signer body limit */
#define PROTO_MAX_REPLY (256u * 1024u * 1024u)   /* signer -> RA (a CRL can be large) */

/* Field limits (bytes). */
#define PROTO_MAX_ID 64        /* request id: [A-Za-z0-9._:-]{1,64} */
#define PROTO_MAX_NAME 32      /* profile / peer name: [a-z0-9_-]{1,32} */
#define PROTO_MAX_SPKI 2048    /* DER SubjectPublicKeyInfo */
#define PROTO_MAX_ATTRS 8
#define PROTO_MAX_ATTR_LEN 128 /* UTF-8 bytes of one subject attribute value */
#define PROTO_MAX_SERIAL 20    /* RFC 5280 */
#define PROTO_MAX_DETAIL 256   /* error detail text */
#define PROTO_MAX_CHAIN 4
#define PROTO_MAX_OCSP_IDS 8        /* CertIDs in one OCSP request */
#define PROTO_MAX_OCSP_HASH 64      /* SHA-512 */
#define PROTO_MAX_NONCE 32          /* RFC 8954: 1..32 octets */
#define PROTO_MAX_OCSP_RESPONSE (64u * 1024u)
#define PROTO_MAX_PROFILES 8        /* profiles in a PROFILES reply (the signer's limit) */
#define PROTO_MAX_URL 256           /* CRL / OCSP / caIssuers URL of a profile */
#define PROTO_MAX_PROFILE_DAYS 1095 /* max_days of a profile: 3 years */
#define PROTO_MAX_BACKDATE 86400    /* backdate of a profile, seconds */

/* Message types: one enum, one dispatcher switch per process.  A reply has the
 * request's type with PROTO_REPLY set; any refusal is PROTO_ERROR. */
enum proto_type {
	PROTO_HELLO = 1,
	PROTO_ISSUE = 2,
	PROTO_REVOKE = 3,
	PROTO_HOLD = 4,
	PROTO_RELEASE = 5,
	PROTO_GET_CHAIN = 6,
	PROTO_GET_CRL = 7,
	PROTO_STATUS = 8,
	PROTO_OCSP = 9,
	PROTO_PROFILES = 10,
	PROTO_TYPE_MAX = 10,
	PROTO_REPLY = 0x8000,
	PROTO_ERROR = 0xffff,
};

typedef struct proto_header {
	uint16_t version; /* PROTO_VERSION */
	uint16_t type;    /* enum proto_type, maybe | PROTO_REPLY */
	uint32_t len;     /* body length */
	uint32_t id;      /* chosen by the requester, echoed in the reply */
	uint32_t flags;   /* reserved, must be 0 */
} proto_header;

/* Subject attributes a request may carry (the profile decides which are allowed). */
enum proto_attr {
	PROTO_ATTR_CN = 1,
	PROTO_ATTR_O = 2,
	PROTO_ATTR_OU = 3,
	PROTO_ATTR_L = 4,
	PROTO_ATTR_ST = 5,
	PROTO_ATTR_C = 6,
	PROTO_ATTR_SERIALNUMBER = 7, /* e.g. a device id */
	PROTO_ATTR_MAX = 7,
};

/* Request flags.  A client-auth profile refuses PROTO_ISSUE_F_CA; unknown bits are
 * refused (IK_ERR_POLICY_FLAGS). */
#define PROTO_ISSUE_F_CA 0x1u

typedef struct proto_attr_val {
	uint8_t type;                          /* enum proto_attr */
	char value[PROTO_MAX_ATTR_LEN + 1];    /* UTF-8, NUL-terminated, no control chars */
} proto_attr_val;

typedef struct proto_hello {
	uint32_t version_min, version_max;
	char peer[PROTO_MAX_NAME + 1];
} proto_hello;

typedef struct proto_hello_reply {
	uint32_t version;
	char peer[PROTO_MAX_NAME + 1];
} proto_hello_reply;

typedef struct proto_issue {
	char request_id[PROTO_MAX_ID + 1];
	char profile[PROTO_MAX_NAME + 1];
	const uint8_t *spki; /* borrowed from the frame */
	size_t spki_len;
	uint8_t nattrs;
	proto_attr_val attrs[PROTO_MAX_ATTRS];
	uint64_t not_before; /* unix seconds; 0 = now */
	uint64_t not_after;  /* unix seconds */
	uint32_t flags;
} proto_issue;

typedef struct proto_issue_reply {
	uint8_t serial[PROTO_MAX_SERIAL];
	size_t serial_len;
	const uint8_t *cert; /* DER, borrowed */
	size_t cert_len;
	uint8_t replayed;    /* 1: this request id was already issued; same certificate */
} proto_issue_reply;

/* REVOKE, HOLD and RELEASE share one body; reason is used by REVOKE only
 * (RFC 5280 CRLReason; 6 certificateHold, 7 and 8 removeFromCRL are refused). */
typedef struct proto_revoke {
	uint8_t serial[PROTO_MAX_SERIAL];
	size_t serial_len;
	uint8_t reason;
	uint64_t when; /* unix seconds; 0 = now; may not be in the future */
} proto_revoke;

/* States reported for a serial. */
enum proto_cert_state {
	PROTO_STATE_GOOD = 0,
	PROTO_STATE_HELD = 1,
	PROTO_STATE_REVOKED = 2,
};

typedef struct proto_revoke_reply {
	uint64_t when;  /* the effective time of the change */
	uint8_t state;  /* enum proto_cert_state after the change */
} proto_revoke_reply;

typedef struct proto_chain_reply {
	uint8_t n; /* issuing CA first, then up to the root */
	const uint8_t *cert[PROTO_MAX_CHAIN];
	size_t cert_len[PROTO_MAX_CHAIN];
} proto_chain_reply;

typedef struct proto_crl_reply {
	uint64_t crl_number;
	uint64_t this_update, next_update;
	const uint8_t *crl; /* DER, borrowed */
	size_t crl_len;
} proto_crl_reply;

typedef struct proto_status_reply {
	uint8_t hsm_ok;
	uint64_t issued, revoked, held;
	uint64_t crl_number;
	uint64_t uptime;
} proto_status_reply;

/* OCSP (RFC 6960): the RA parses the DER OCSPRequest and sends only its CertIDs and
 * nonce; the signer answers from its ledger with a complete DER OCSPResponse. */
enum proto_hash {
	PROTO_HASH_SHA1 = 1,
	PROTO_HASH_SHA256 = 2,
	PROTO_HASH_SHA384 = 3,
	PROTO_HASH_SHA512 = 4,
	PROTO_HASH_MAX = 4,
};

typedef struct proto_ocsp_id {
	uint8_t hash;                             /* enum proto_hash of the CertID */
	uint8_t name_hash[PROTO_MAX_OCSP_HASH];   /* issuerNameHash, proto_hash_len(hash) bytes */
	uint8_t key_hash[PROTO_MAX_OCSP_HASH];    /* issuerKeyHash, the same length */
	uint8_t serial[PROTO_MAX_SERIAL];         /* INTEGER contents as the client sent them */
	size_t serial_len;
} proto_ocsp_id;

typedef struct proto_ocsp {
	uint8_t n;                                /* 1..PROTO_MAX_OCSP_IDS */
	proto_ocsp_id ids[PROTO_MAX_OCSP_IDS];
	uint8_t nonce[PROTO_MAX_NONCE];           /* the nonce octets (RFC 8954) */
	size_t nonce_len;                         /* 0 = no nonce asked for */
} proto_ocsp;

/* OCSPResponseStatus values the signer can answer with (the RA makes malformedRequest
 * and tryLater itself). */
enum proto_ocsp_status {
	PROTO_OCSP_SUCCESSFUL = 0,
	PROTO_OCSP_UNAUTHORIZED = 6,
};

typedef struct proto_ocsp_reply {
	uint8_t status;                 /* enum proto_ocsp_status */
	uint64_t this_update;           /* unix seconds; 0 unless successful */
	uint64_t next_update;           /* >= this_update */
	const uint8_t *response;        /* DER OCSPResponse, borrowed */
	size_t response_len;
} proto_ocsp_reply;

/* PROFILES: the signer's certificate profiles, read-only, as its config defines them. */
enum proto_usage {
	PROTO_USAGE_CLIENT = 0, /* EKU clientAuth */
	PROTO_USAGE_SERVER = 1, /* EKU serverAuth, the CN as a DNS/IP subjectAltName */
	PROTO_USAGE_EMAIL = 2,  /* EKU emailProtection, the CN as an rfc822Name */
	PROTO_USAGE_MAX = 2,
};

/* Allowed key types of a profile (bit mask). */
#define PROTO_KEY_EC_P256 0x1u
#define PROTO_KEY_EC_P384 0x2u
#define PROTO_KEY_RSA 0x4u
#define PROTO_KEY_ALL 0x7u
/* Subject attribute masks: bit (1u << enum proto_attr), bits 1..7. */
#define PROTO_ATTR_MASK 0xfeu

typedef struct proto_profile {
	char name[PROTO_MAX_NAME + 1];
	uint8_t usage;                         /* enum proto_usage */
	uint8_t key_types;                     /* PROTO_KEY_*, not 0 */
	uint32_t rsa_min_bits;                 /* 2048..8192 */
	uint32_t max_days;                     /* 1..PROTO_MAX_PROFILE_DAYS */
	uint32_t backdate;                     /* 0..PROTO_MAX_BACKDATE seconds */
	uint8_t attrs_allowed;                 /* PROTO_ATTR_MASK bits */
	uint8_t attrs_required;
	uint8_t nfixed;                        /* 0..PROTO_ATTR_MAX, one per type at most */
	proto_attr_val fixed[PROTO_ATTR_MAX];  /* values every certificate carries */
	char crl_url[PROTO_MAX_URL + 1];       /* printable ASCII, 1..256 */
	char ocsp_url[PROTO_MAX_URL + 1];      /* 0..256; empty = none */
	char ca_issuers_url[PROTO_MAX_URL + 1];
} proto_profile;

typedef struct proto_profiles_reply {
	uint8_t n;                             /* 1..PROTO_MAX_PROFILES, names distinct */
	proto_profile p[PROTO_MAX_PROFILES];
} proto_profiles_reply;

/* Digest length of an enum proto_hash, 0 for an unknown value. */
size_t proto_hash_len(uint8_t hash);

typedef struct proto_error {
	uint32_t status; /* ik_status */
	char detail[PROTO_MAX_DETAIL + 1];
} proto_error;

/* Header: decode checks version (IK_ERR_PROTO_VERSION), flags (IK_ERR_PROTO_FIELD) and
 * len <= max_body (IK_ERR_PROTO_OVERSIZE); the decoded header is filled in even on error
 * so the caller can echo the id. */
void proto_header_encode(uint8_t out[PROTO_HDR_LEN], const proto_header *h);
ik_status proto_header_decode(const uint8_t in[PROTO_HDR_LEN], size_t max_body,
    proto_header *h);

/* Bodies.  encode appends to b.  decode reads exactly n bytes: a short field is
 * IK_ERR_PROTO_TRUNCATED, leftover bytes IK_ERR_PROTO_TRAILING, a bad value
 * IK_ERR_PROTO_FIELD.  Decoded pointers borrow from p. Empty-bodied requests
 * (GET_CHAIN, GET_CRL, STATUS, PROFILES) decode with proto_decode_empty. */
ik_status proto_encode_hello(ik_buf *b, const proto_hello *m);
ik_status proto_decode_hello(const uint8_t *p, size_t n, proto_hello *m);
ik_status proto_encode_hello_reply(ik_buf *b, const proto_hello_reply *m);
ik_status proto_decode_hello_reply(const uint8_t *p, size_t n, proto_hello_reply *m);
ik_status proto_encode_issue(ik_buf *b, const proto_issue *m);
ik_status proto_decode_issue(const uint8_t *p, size_t n, proto_issue *m);
ik_status proto_encode_issue_reply(ik_buf *b, const proto_issue_reply *m);
ik_status proto_decode_issue_reply(const uint8_t *p, size_t n, proto_issue_reply *m);
ik_status proto_encode_revoke(ik_buf *b, const proto_revoke *m);
ik_status proto_decode_revoke(const uint8_t *p, size_t n, proto_revoke *m);
ik_status proto_encode_revoke_reply(ik_buf *b, const proto_revoke_reply *m);
ik_status proto_decode_revoke_reply(const uint8_t *p, size_t n, proto_revoke_reply *m);
ik_status proto_encode_chain_reply(ik_buf *b, const proto_chain_reply *m);
ik_status proto_decode_chain_reply(const uint8_t *p, size_t n, proto_chain_reply *m);
ik_status proto_encode_crl_reply(ik_buf *b, const proto_crl_reply *m);
/* All of the reply but the CRL's bytes (m->crl is not read): the sender writes crl_len
 * bytes of CRL right after, so a large CRL is never copied into a reply buffer. */
ik_status proto_encode_crl_reply_head(ik_buf *b, const proto_crl_reply *m);
ik_status proto_decode_crl_reply(const uint8_t *p, size_t n, proto_crl_reply *m);
ik_status proto_encode_status_reply(ik_buf *b, const proto_status_reply *m);
ik_status proto_decode_status_reply(const uint8_t *p, size_t n, proto_status_reply *m);
ik_status proto_encode_ocsp(ik_buf *b, const proto_ocsp *m);
ik_status proto_decode_ocsp(const uint8_t *p, size_t n, proto_ocsp *m);
ik_status proto_encode_ocsp_reply(ik_buf *b, const proto_ocsp_reply *m);
ik_status proto_decode_ocsp_reply(const uint8_t *p, size_t n, proto_ocsp_reply *m);
ik_status proto_encode_profiles_reply(ik_buf *b, const proto_profiles_reply *m);
ik_status proto_decode_profiles_reply(const uint8_t *p, size_t n, proto_profiles_reply *m);
ik_status proto_encode_error(ik_buf *b, const proto_error *m);
ik_status proto_decode_error(const uint8_t *p, size_t n, proto_error *m);
ik_status proto_decode_empty(const uint8_t *p, size_t n);

/* The header of a frame of type/id with a body of len bytes, encoded into hdr
 * (IK_ERR_PROTO_OVERSIZE when len does not fit the header). */
ik_status proto_frame_header(uint8_t hdr[PROTO_HDR_LEN], uint16_t type, uint32_t id, size_t len);
/* Frames over a connected stream socket (blocking I/O, EINTR handled). */
ik_status proto_send(int fd, uint16_t type, uint32_t id, const uint8_t *body, size_t len);
/* Writes n bytes as they are (frames the caller encoded, e.g. several pipelined requests). */
ik_status proto_write(int fd, const uint8_t *p, size_t n);
/* Reads one frame: header, then the body into 'body' (reset first).  A header error is
 * returned after the header is decoded (h filled in); the body is then NOT read and the
 * caller must reply and close.  A clean EOF before any byte is IK_ERR_PROTO_CLOSED. */
ik_status proto_recv(int fd, size_t max_body, proto_header *h, ik_buf *body);

/* Client side: connect to the signer's socket path (IK_ERR_IO if absent). */
ik_status proto_connect(const char *path, int *fd);
/* One synchronous request/reply.  On a PROTO_ERROR reply returns the remote status and
 * copies its detail into err (if not NULL).  reply is reset and holds the reply body. */
ik_status proto_call(int fd, uint16_t type, const ik_buf *req, ik_buf *reply,
    proto_error *err);

/* The outcome of the reply h/reply to request (type, id): IK_OK for its reply; a PROTO_ERROR
 * (with this id, or 0) gives the remote status and its detail in err (if not NULL); anything
 * else is IK_ERR_PROTO_FIELD. */
ik_status proto_reply_status(uint16_t type, uint32_t id, const proto_header *h,
    const ik_buf *reply, proto_error *err);

const char *proto_type_name(uint16_t type);

#endif
