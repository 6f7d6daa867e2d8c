/* issue: the signer's issuance pipeline.  A request goes through stages on the worker
 * threads: decoded and checked against the profile, its TBS built and linted, the intent
 * appended to the ledger; once that is durable, signed in the HSM (exactly the bytes the
 * intent holds) and the certificate appended; once that is durable, answered.  While the
 * ledger commits, the job is parked and the worker takes the next one: many requests share
 * each commit (one fsync for the intents and certificates of all of them) and a thread per
 * core keeps the HSM busy.  One issuance per request id at a time: a retried id gets the
 * same certificate, signed now if the signer died between intent and certificate. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "der.h"
#include "log.h"
#include "server.h"

#define SIG_MAX 1024
#define SERIAL_TIME 6    /* milliseconds since 1970 */
#define SERIAL_RANDOM 13 /* 104 bits from the CSPRNG */
#define SERIAL_POOL (SERIAL_RANDOM * 256)
#define SERIAL_TRIES 8

typedef enum stage {
	ST_ID = 1,  /* checked: take the request id (or wait for it) and look it up */
	ST_INTENT,  /* the intent was appended: sign, append the certificate */
	ST_CERT,    /* the certificate was appended: answer */
} stage;

struct sg_issue {
	sg_server *s;
	sg_job *job;
	stage stage;
	proto_issue req;            /* points into the job's body */
	const sg_profile *p;
	sg_leaf leaf;
	char subject[512];
	ik_buf tbs, cert;           /* stay put while the ledger holds pointers to them */
	ik_status ledger_st;        /* the outcome of the last append */
	int tries;                  /* serials drawn */
	int replayed;               /* the request id was known: the same certificate */
	int holds_id;
	sg_issue *id_next;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void fault(const sg_server *s, const char *point)
{
	if (strcmp(s->cfg.fault, point) == 0) {
		ik_log(LOG_WARNING, "fault injection: %s", point);
		raise(SIGKILL);
	}
}

/* ---- idempotency: one issuance per request id at a time ---- */

static size_t id_bucket(const char *id)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h % SG_ID_BUCKETS;
}

/* Take the request id: 1; or park the job behind the issuance that holds it: 0. */
static int id_take(sg_issue *is)
{
	sg_server *s = is->s;
	size_t b = id_bucket(is->req.request_id);

	pthread_mutex_lock(&s->idlock);
	for (const sg_issue *o = s->id_inflight[b]; o != NULL; o = o->id_next)
		if (strcmp(o->req.request_id, is->req.request_id) == 0) {
			sg_job_park(s);
			is->job->next = s->id_waiting;
			s->id_waiting = is->job;
			pthread_mutex_unlock(&s->idlock);
			return 0;
		}
	is->id_next = s->id_inflight[b];
	s->id_inflight[b] = is;
	is->holds_id = 1;
	pthread_mutex_unlock(&s->idlock);
	return 1;
}

/* Give the id back; every waiting job tries again (retries of one id are rare). */
static void id_release(sg_issue *is)
{
	sg_server *s = is->s;
	sg_issue **pp = &s->id_inflight[id_bucket(is->req.request_id)];
	sg_job *waiting;

	pthread_mutex_lock(&s->idlock);
	while (*pp != NULL && *pp != is)
		pp = &(*pp)->id_next;
	if (*pp == is)
		*pp = is->id_next;
	is->holds_id = 0;
	waiting = s->id_waiting;
	s->id_waiting = NULL;
	pthread_mutex_unlock(&s->idlock);
	while (waiting != NULL) {
		sg_job *next = waiting->next;
		sg_job_resume(s, waiting);
		waiting = next;
	}
}

/* ---- the ledger: appends that do not hold the worker ---- */

static void ledger_done(void *arg, ik_status st)
{
	sg_issue *is = arg;

	is->ledger_st = st;
	sg_job_resume_later(is->s, is->job);
}

/* Append the intent (next stage ST_INTENT) or the certificate (ST_CERT) and park the job:
 * from here on it is not ours to touch. */
static ik_status append(sg_issue *is, stage next, int *parked)
{
	sg_server *s = is->s;
	ik_status st;

	is->stage = next;
	sg_job_park(s);
	if (next == ST_CERT)
		st = sg_ledger_cert_async(s->ledger, is->req.request_id, ik_buf_ptr(&is->cert),
		    ik_buf_remaining(&is->cert), ledger_done, is);
	else
		st = sg_ledger_intent_async(s->ledger, is->req.request_id, is->leaf.serial,
		    is->leaf.serial_len, is->p->name, is->subject, is->leaf.not_before,
		    is->leaf.not_after, ik_buf_ptr(&is->tbs), ik_buf_remaining(&is->tbs), ledger_done,
		    is);
	if (st != IK_OK) {
		sg_job_unpark(s);
		return st;
	}
	*parked = 1;
	return IK_OK;
}

/* ---- the stages ---- */

static ik_status draw_serial(sg_leaf *leaf);

/* For certificates the signer makes for itself (the OCSP responder's): the same serials,
 * checked unused in the ledger as well. */
ik_status sg_draw_serial(sg_server *s, sg_leaf *leaf)
{
	for (int tries = 0; tries < 8; tries++) {
		int used;
		ik_status st = draw_serial(leaf);

		if (st != IK_OK)
			return st;
		used = sg_ledger_serial_used(s->ledger, leaf->serial, leaf->serial_len);
		if (used < 0)
			return IK_ERR_LEDGER;
		if (used == 0)
			return IK_OK;
	}
	return IK_ERR_INTERNAL;
}

/* A serial: the time of drawing in milliseconds since 1970 (6 bytes, big-endian: the first
 * byte is 0x01 until 2039 and below 0x80 for millennia, so the INTEGER is positive and
 * minimal with no 00 prefix) followed by SERIAL_RANDOM bytes from the CSPRNG.  The prefix
 * makes the ledger's serial indexes grow at their end (a commit writes a few index pages,
 * not one per certificate); the 104 random bits are what makes a serial unpredictable.
 * The random bytes come from a per-thread pool filled by one RAND_bytes call per
 * SERIAL_POOL bytes (a RAND_bytes call costs the same for 13 bytes as for 4 KiB). */
static ik_status draw_serial(sg_leaf *leaf)
{
	static _Thread_local uint8_t pool[SERIAL_POOL];
	static _Thread_local size_t left;
	struct timespec ts;
	uint64_t ms;

	if (left < SERIAL_RANDOM) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			return IK_ERR_CRYPTO;
		left = sizeof(pool);
	}
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return IK_ERR_INTERNAL;
	ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (int i = 0; i < SERIAL_TIME; i++)
		leaf->serial[i] = (uint8_t)(ms >> (8 * (SERIAL_TIME - 1 - i)));
	if (leaf->serial[0] == 0 || (leaf->serial[0] & 0x80))
		return IK_ERR_INTERNAL; /* a clock before 1979 or after 6429 */
	left -= SERIAL_RANDOM;
	memcpy(leaf->serial + SERIAL_TIME, pool + left, SERIAL_RANDOM);
	OPENSSL_cleanse(pool + left, SERIAL_RANDOM); /* each random byte used once */
	leaf->serial_len = SERIAL_TIME + SERIAL_RANDOM;
	return IK_OK;
}

/* "C=JP, O=Example, CN=alice" for the ledger and logs (RFC 4514-style escaping). */
static void subject_text(const sg_leaf *leaf, char *out, size_t outsz)
{
	static const char *const names[PROTO_ATTR_MAX + 1] = {
		"", "CN", "O", "OU", "L", "ST", "C", "serialNumber",
	};
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < leaf->nsubject && o + 4 < outsz; i++) {
		const char *v = leaf->subject[i].value;
		int n = snprintf(out + o, outsz - o, "%s%s=", i ? ", " : "",
		    names[leaf->subject[i].type]);
		if (n < 0 || (size_t)n >= outsz - o)
			break;
		o += (size_t)n;
		for (; *v != '\0' && o + 3 < outsz; v++) {
			if (strchr(",+\"\\<>;=", *v) != NULL)
				out[o++] = '\\';
			out[o++] = *v;
		}
		out[o] = '\0';
	}
}

/* Validity of a recorded TBS (for a retried request id). */
static ik_status tbs_validity(const uint8_t *tbs, size_t n, int64_t *nb, int64_t *na)
{
	ik_buf b, in, val;
	const uint8_t *v;
	size_t len;
	uint8_t tag;
	ik_status st;

	ik_buf_view(&b, tbs, n);
	if ((st = der_get_expect(&b, DER_SEQUENCE, &v, &len)) != IK_OK)
		return st;
	ik_buf_view(&in, v, len);
	for (int i = 0; i < 4; i++) /* version, serial, signature, issuer */
		if ((st = der_get_tlv(&in, &tag, &v, &len)) != IK_OK)
			return st;
	if ((st = der_get_expect(&in, DER_SEQUENCE, &v, &len)) != IK_OK)
		return st;
	ik_buf_view(&val, v, len);
	if ((st = der_get_tlv(&val, &tag, &v, &len)) != IK_OK ||
	    (st = der_parse_time(tag, v, len, nb)) != IK_OK ||
	    (st = der_get_tlv(&val, &tag, &v, &len)) != IK_OK ||
	    (st = der_parse_time(tag, v, len, na)) != IK_OK)
		return st;
	return IK_OK;
}

static ik_status reply_issue(sg_worker *w, const sg_leaf *leaf, const uint8_t *der, size_t len,
    int replayed)
{
	proto_issue_reply r;

	memset(&r, 0, sizeof(r));
	memcpy(r.serial, leaf->serial, leaf->serial_len);
	r.serial_len = leaf->serial_len;
	r.cert = der;
	r.cert_len = len;
	r.replayed = (uint8_t)replayed;
	return proto_encode_issue_reply(&w->reply, &r);
}

/* Sign the TBS in is->tbs in the HSM and assemble the certificate into is->cert. */
static ik_status sign_tbs(sg_issue *is, proto_error *err)
{
	sg_server *s = is->s;
	uint8_t sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	ik_status st;

	st = hsm_sign(s->hsm, s->key, ik_buf_ptr(&is->tbs), ik_buf_remaining(&is->tbs), sig,
	    &siglen);
	if (st != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "HSM: %s", ik_status_str(st));
		return st;
	}
	ik_buf_reset(&is->cert);
	return sg_signed_assemble(s->ca.sig, ik_buf_ptr(&is->tbs), ik_buf_remaining(&is->tbs), sig,
	    siglen, &is->cert);
}

static ik_status lint(sg_issue *is, proto_error *err)
{
	ik_status st = sg_lint_tbs(&is->s->ca, is->p, &is->leaf, ik_buf_ptr(&is->tbs),
	    ik_buf_remaining(&is->tbs), err->detail, sizeof(err->detail));

	if (st != IK_OK)
		ik_log(LOG_ERR, "pre-issuance lint refused a certificate: %s", err->detail);
	return st;
}

/* A new request id: a serial, the TBS, the lint, the intent.  Lint before the intent is
 * recorded, so a refused TBS leaves no trace; those very bytes are signed later (is->tbs
 * does not change once the intent holds it). */
static ik_status issue_first(sg_issue *is, proto_error *err, int *parked)
{
	ik_status st;

	if (++is->tries > SERIAL_TRIES)
		return IK_ERR_INTERNAL;
	if ((st = draw_serial(&is->leaf)) != IK_OK)
		return st;
	ik_buf_reset(&is->tbs);
	if ((st = sg_tbs_build(&is->s->ca, is->p, &is->leaf, &is->tbs)) != IK_OK ||
	    (st = lint(is, err)) != IK_OK)
		return st;
	return append(is, ST_INTENT, parked);
}

/* A request id seen before: same request -> the same certificate (signing it now if the
 * signer died between intent and certificate); a different request -> refused. */
static ik_status issue_again(sg_worker *w, sg_issue *is, sg_issued *prev, proto_error *err,
    int *parked)
{
	sg_leaf *leaf = &is->leaf;
	ik_status st;

	memcpy(leaf->serial, prev->serial, prev->serial_len);
	leaf->serial_len = prev->serial_len;
	if (tbs_validity(prev->tbs, prev->tbs_len, &leaf->not_before, &leaf->not_after) != IK_OK)
		return IK_ERR_LEDGER;
	ik_buf_reset(&is->tbs);
	if ((st = sg_tbs_build(&is->s->ca, is->p, leaf, &is->tbs)) != IK_OK)
		return st;
	if (ik_buf_remaining(&is->tbs) != prev->tbs_len ||
	    memcmp(ik_buf_ptr(&is->tbs), prev->tbs, prev->tbs_len) != 0) {
		snprintf(err->detail, sizeof(err->detail),
		    "request id %s was already used for a different request", is->req.request_id);
		return IK_ERR_EXISTS;
	}
	if (prev->der != NULL)
		return reply_issue(w, leaf, prev->der, prev->der_len, 1);
	ik_log(LOG_NOTICE, "request %s: completing an interrupted issuance", is->req.request_id);
	is->replayed = 1;
	if ((st = lint(is, err)) != IK_OK || (st = sign_tbs(is, err)) != IK_OK)
		return st;
	return append(is, ST_CERT, parked);
}

/* The intent was refused as a duplicate: the ledger knows this request id (the same
 * certificate again, or a refusal), or else the serial was taken (draw another). */
static ik_status look_up(sg_worker *w, sg_issue *is, proto_error *err, int *parked)
{
	sg_issued prev;
	ik_status st;

	memset(&prev, 0, sizeof(prev));
	st = sg_ledger_find_request(is->s->ledger, is->req.request_id, &prev);
	if (st == IK_OK)
		st = issue_again(w, is, &prev, err, parked);
	else if (st == IK_ERR_NOT_FOUND)
		st = issue_first(is, err, parked);
	sg_issued_cleanup(&prev);
	return st;
}

static ik_status stage_intent(sg_worker *w, sg_issue *is, proto_error *err, int *parked)
{
	sg_server *s = is->s;
	ik_status st = is->ledger_st;

	if (st == IK_ERR_EXISTS) /* the id is known (a retry), or the serial was taken */
		return look_up(w, is, err, parked);
	if (st != IK_OK)
		return st;
	fault(s, "crash-after-intent");
	if ((st = sign_tbs(is, err)) != IK_OK)
		return st;
	fault(s, "crash-after-sign");
	return append(is, ST_CERT, parked);
}

static ik_status stage_cert(sg_worker *w, sg_issue *is)
{
	if (is->ledger_st != IK_OK)
		return is->ledger_st;
	if (!is->replayed)
		fault(is->s, "crash-after-commit");
	return reply_issue(w, &is->leaf, ik_buf_ptr(&is->cert), ik_buf_remaining(&is->cert),
	    is->replayed);
}

static void issue_free(sg_issue *is)
{
	if (is == NULL)
		return;
	ik_buf_cleanup(&is->tbs);
	ik_buf_cleanup(&is->cert);
	free(is);
}

/* Decode the request and check it against the profile; the HSM must be there. */
static ik_status issue_check(sg_server *s, sg_job *j, sg_issue *is, proto_error *err)
{
	ik_status st;

	if ((st = proto_decode_issue(j->body, j->len, &is->req)) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "issue: %s", ik_status_str(st));
		return st;
	}
	if (strncmp(is->req.request_id, SG_OWN_ID_PREFIX, strlen(SG_OWN_ID_PREFIX)) == 0) {
		snprintf(err->detail, sizeof(err->detail), "request ids beginning with '%s' are the "
		    "signer's own", SG_OWN_ID_PREFIX);
		return IK_ERR_PROTO_FIELD;
	}
	is->p = sg_config_profile(&s->cfg, is->req.profile);
	if (is->p == NULL) {
		snprintf(err->detail, sizeof(err->detail), "unknown profile '%s'", is->req.profile);
		return IK_ERR_POLICY_PROFILE;
	}
	st = sg_profile_check(is->p, &is->req, now_s(), s->ca.not_after, &is->leaf, err->detail,
	    sizeof(err->detail));
	if (st != IK_OK)
		return st;
	if (!hsm_available(s->hsm) && hsm_probe(s->hsm) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "HSM unavailable: try again later");
		return IK_ERR_HSM_UNAVAILABLE;
	}
	subject_text(&is->leaf, is->subject, sizeof(is->subject));
	return IK_OK;
}

ik_status sg_issue_step(sg_worker *w, sg_job *j, proto_error *err, int *parked)
{
	sg_issue *is = j->issue;
	ik_status st;

	*parked = 0;
	if (is == NULL) {
		if ((is = calloc(1, sizeof(*is))) == NULL)
			return IK_ERR_NOMEM;
		is->s = w->s;
		is->job = j;
		ik_buf_init(&is->tbs, 64 * 1024);
		ik_buf_init(&is->cert, 64 * 1024);
		if ((st = issue_check(w->s, j, is, err)) != IK_OK) {
			issue_free(is);
			return st;
		}
		is->stage = ST_ID;
		j->issue = is;
	}
	switch (is->stage) {
	case ST_ID:
		if (!is->holds_id && !id_take(is)) {
			*parked = 1; /* behind another issuance of this id */
			return IK_OK;
		}
		/* Most ids are new: go straight for the intent.  If the id is in the ledger
		 * already, the intent is refused (IK_ERR_EXISTS) and stage_intent looks it up. */
		st = issue_first(is, err, parked);
		break;
	case ST_INTENT:
		st = stage_intent(w, is, err, parked);
		break;
	case ST_CERT:
		st = stage_cert(w, is);
		break;
	default:
		st = IK_ERR_INTERNAL;
	}
	if (*parked)
		return st; /* the job is the ledger's now: is may already be running elsewhere */
	if (is->holds_id)
		id_release(is);
	issue_free(is);
	j->issue = NULL;
	return st;
}
