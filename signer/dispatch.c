/* dispatch: the signer's verbs.  Every request is decoded completely and re-checked against
 * the profile here, on the privileged side; issuance is idempotent per request id (intent
 * recorded before the HSM signs, certificate after), revocations are never undone, and
 * the CRL is rebuilt from the ledger after every change. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "der.h"
#include "log.h"
#include "server.h"

#define SIG_MAX 1024
#define SERIAL_BYTES 16 /* 128 bits from the CSPRNG */

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

/* ---- idempotency: one worker at a time per request id ---- */

static void id_enter(sg_worker *w, const char *id)
{
	sg_server *s = w->s;
	int busy;

	pthread_mutex_lock(&s->idlock);
	do {
		busy = 0;
		for (unsigned i = 0; i < s->nworkers; i++)
			if (&s->workers[i] != w && strcmp(s->workers[i].request_id, id) == 0)
				busy = 1;
		if (busy)
			pthread_cond_wait(&s->idcond, &s->idlock);
	} while (busy);
	snprintf(w->request_id, sizeof(w->request_id), "%s", id);
	pthread_mutex_unlock(&s->idlock);
}

static void id_leave(sg_worker *w)
{
	pthread_mutex_lock(&w->s->idlock);
	w->request_id[0] = '\0';
	pthread_cond_broadcast(&w->s->idcond);
	pthread_mutex_unlock(&w->s->idlock);
}

/* ---- issuance ---- */

static ik_status draw_serial(sg_server *s, sg_leaf *leaf)
{
	uint8_t r[SERIAL_BYTES];

	for (int tries = 0; tries < 8; tries++) {
		int used;
		if (RAND_bytes(r, sizeof(r)) != 1)
			return IK_ERR_CRYPTO;
		if (r[0] == 0)
			continue; /* keep the encoding minimal and the length fixed */
		leaf->serial_len = 0;
		if (r[0] & 0x80)
			leaf->serial[leaf->serial_len++] = 0; /* positive */
		memcpy(leaf->serial + leaf->serial_len, r, sizeof(r));
		leaf->serial_len += sizeof(r);
		used = sg_ledger_serial_used(s->ledger, leaf->serial, leaf->serial_len);
		if (used < 0)
			return IK_ERR_LEDGER;
		if (used == 0)
			return IK_OK;
	}
	return IK_ERR_INTERNAL;
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

/* Lint the TBS in w->tbs, sign exactly those bytes in the HSM, assemble into w->cert. */
static ik_status sign_tbs(sg_worker *w, const sg_profile *p, const sg_leaf *leaf,
    proto_error *err)
{
	sg_server *s = w->s;
	uint8_t sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	ik_status st;

	st = sg_lint_tbs(&s->ca, p, leaf, ik_buf_ptr(&w->tbs), ik_buf_remaining(&w->tbs),
	    err->detail, sizeof(err->detail));
	if (st != IK_OK) {
		ik_log(LOG_ERR, "pre-issuance lint refused a certificate: %s", err->detail);
		return st;
	}
	st = hsm_sign(s->hsm, s->key, ik_buf_ptr(&w->tbs), ik_buf_remaining(&w->tbs), sig, &siglen);
	if (st != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "HSM: %s", ik_status_str(st));
		return st;
	}
	ik_buf_reset(&w->cert);
	return sg_signed_assemble(s->ca.sig, ik_buf_ptr(&w->tbs), ik_buf_remaining(&w->tbs), sig,
	    siglen, &w->cert);
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

/* A request id seen before: same request -> the same certificate (signing it now if the
 * signer died between intent and certificate); a different request -> refused. */
static ik_status issue_again(sg_worker *w, const sg_profile *p, sg_leaf *leaf, sg_issued *prev,
    proto_error *err)
{
	sg_server *s = w->s;
	ik_status st;

	memcpy(leaf->serial, prev->serial, prev->serial_len);
	leaf->serial_len = prev->serial_len;
	if (tbs_validity(prev->tbs, prev->tbs_len, &leaf->not_before, &leaf->not_after) != IK_OK)
		return IK_ERR_LEDGER;
	ik_buf_reset(&w->tbs);
	if ((st = sg_tbs_build(&s->ca, p, leaf, &w->tbs)) != IK_OK)
		return st;
	if (ik_buf_remaining(&w->tbs) != prev->tbs_len ||
	    memcmp(ik_buf_ptr(&w->tbs), prev->tbs, prev->tbs_len) != 0) {
		snprintf(err->detail, sizeof(err->detail),
		    "request id %s was already used for a different request", w->request_id);
		return IK_ERR_EXISTS;
	}
	if (prev->der != NULL)
		return reply_issue(w, leaf, prev->der, prev->der_len, 1);
	ik_log(LOG_NOTICE, "request %s: completing an interrupted issuance", w->request_id);
	if ((st = sign_tbs(w, p, leaf, err)) != IK_OK)
		return st;
	if ((st = sg_ledger_record_cert(s->ledger, w->request_id, ik_buf_ptr(&w->cert),
	    ik_buf_remaining(&w->cert))) != IK_OK)
		return st;
	return reply_issue(w, leaf, ik_buf_ptr(&w->cert), ik_buf_remaining(&w->cert), 1);
}

static ik_status issue_new(sg_worker *w, const sg_profile *p, sg_leaf *leaf, proto_error *err)
{
	sg_server *s = w->s;
	char subject[512];
	ik_status st;

	if ((st = draw_serial(s, leaf)) != IK_OK)
		return st;
	ik_buf_reset(&w->tbs);
	if ((st = sg_tbs_build(&s->ca, p, leaf, &w->tbs)) != IK_OK)
		return st;
	subject_text(leaf, subject, sizeof(subject));
	/* Lint before the intent is recorded, so a refused TBS leaves no trace. */
	st = sg_lint_tbs(&s->ca, p, leaf, ik_buf_ptr(&w->tbs), ik_buf_remaining(&w->tbs),
	    err->detail, sizeof(err->detail));
	if (st != IK_OK) {
		ik_log(LOG_ERR, "pre-issuance lint refused a certificate: %s", err->detail);
		return st;
	}
	st = sg_ledger_record_intent(s->ledger, w->request_id, leaf->serial, leaf->serial_len,
	    p->name, subject, leaf->not_before, leaf->not_after, ik_buf_ptr(&w->tbs),
	    ik_buf_remaining(&w->tbs));
	if (st != IK_OK)
		return st;
	fault(s, "crash-after-intent");
	if ((st = sign_tbs(w, p, leaf, err)) != IK_OK)
		return st;
	fault(s, "crash-after-sign");
	st = sg_ledger_record_cert(s->ledger, w->request_id, ik_buf_ptr(&w->cert),
	    ik_buf_remaining(&w->cert));
	if (st != IK_OK)
		return st;
	fault(s, "crash-after-commit");
	return reply_issue(w, leaf, ik_buf_ptr(&w->cert), ik_buf_remaining(&w->cert), 0);
}

static ik_status do_issue(sg_worker *w, const uint8_t *body, size_t len, proto_error *err)
{
	sg_server *s = w->s;
	proto_issue req;
	sg_leaf leaf;
	sg_issued prev;
	const sg_profile *p;
	ik_status st;

	if ((st = proto_decode_issue(body, len, &req)) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "issue: %s", ik_status_str(st));
		return st;
	}
	p = sg_config_profile(&s->cfg, req.profile);
	if (p == NULL) {
		snprintf(err->detail, sizeof(err->detail), "unknown profile '%s'", req.profile);
		return IK_ERR_POLICY_PROFILE;
	}
	memset(&leaf, 0, sizeof(leaf));
	st = sg_profile_check(p, &req, now_s(), s->ca.not_after, &leaf, err->detail,
	    sizeof(err->detail));
	if (st != IK_OK)
		return st;
	if (!hsm_available(s->hsm) && hsm_probe(s->hsm) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "HSM unavailable: try again later");
		return IK_ERR_HSM_UNAVAILABLE;
	}
	id_enter(w, req.request_id);
	memset(&prev, 0, sizeof(prev));
	st = sg_ledger_find_request(s->ledger, req.request_id, &prev);
	if (st == IK_OK)
		st = issue_again(w, p, &leaf, &prev, err);
	else if (st == IK_ERR_NOT_FOUND)
		st = issue_new(w, p, &leaf, err);
	sg_issued_cleanup(&prev);
	id_leave(w);
	return st;
}

/* ---- revocation ---- */

static int reason_allowed(uint8_t r)
{
	/* RFC 5280 CRLReason, minus certificateHold (6: HOLD), 7 (unused), removeFromCRL (8). */
	return r <= 5 || r == 9 || r == 10;
}

static ik_status do_event(sg_worker *w, uint16_t type, const uint8_t *body, size_t len,
    proto_error *err)
{
	sg_server *s = w->s;
	proto_revoke m;
	proto_revoke_reply r;
	sg_event kind = type == PROTO_REVOKE ? SG_EV_REVOKE : type == PROTO_HOLD ? SG_EV_HOLD :
	    SG_EV_RELEASE;
	int64_t now = now_s();
	ik_status st;

	if ((st = proto_decode_revoke(body, len, &m)) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "%s: %s", proto_type_name(type),
		    ik_status_str(st));
		return st;
	}
	if (kind == SG_EV_REVOKE && !reason_allowed(m.reason)) {
		snprintf(err->detail, sizeof(err->detail),
		    "revocation reason %u not allowed (use HOLD for certificateHold)", m.reason);
		return IK_ERR_POLICY_REASON;
	}
	if (kind != SG_EV_REVOKE && m.reason != 0) {
		snprintf(err->detail, sizeof(err->detail), "%s takes no reason", proto_type_name(type));
		return IK_ERR_PROTO_FIELD;
	}
	if (m.when > (uint64_t)now + 60) {
		snprintf(err->detail, sizeof(err->detail), "the time of the change is in the future");
		return IK_ERR_PROTO_FIELD;
	}
	r.when = m.when == 0 ? (uint64_t)now : m.when;
	st = sg_ledger_event(s->ledger, m.serial, m.serial_len, kind, m.reason, (int64_t)r.when,
	    &r.state);
	if (st != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "%s: %s", proto_type_name(type),
		    st == IK_ERR_POLICY_REVOKED ? "the certificate is revoked; that is final" :
		    ik_status_str(st));
		return st;
	}
	atomic_fetch_add(&s->rev_gen, 1);
	pthread_mutex_lock(&s->crl_lock);
	pthread_cond_broadcast(&s->crl_cond);
	pthread_mutex_unlock(&s->crl_lock);
	return proto_encode_revoke_reply(&w->reply, &r);
}

/* ---- CRL ---- */

/* Caller holds crl_build_lock (every writer of the CRL fields holds it, so they can be
 * read here without crl_lock). */
static ik_status crl_build(sg_server *s, uint64_t gen)
{
	sg_crl_hsm hk = { .h = s->hsm, .k = s->key };
	const sg_crl_key key = { .with = sg_crl_hsm_with, .arg = &hk };
	int64_t now = now_s();
	uint64_t number = sg_ledger_crl_last(s->ledger);
	sg_crl *c = NULL, *old;
	ik_status st;
	/* A rebuild for age alone (nothing changed) reads every entry again instead of
	 * merging the changes into the last list: the lists never drift from the ledger. */
	int full = s->crl == NULL || gen == s->crl_gen;

	if (number < s->crl_number)
		number = s->crl_number;
	number++;
	st = sg_crl_publish(&s->crl_state, s->ledger, &s->ca, &key, number, now,
	    now + s->cfg.crl_lifetime, full, &c);
	if (st != IK_OK)
		return st;
	pthread_mutex_lock(&s->crl_lock);
	old = s->crl;
	s->crl = c;
	s->crl_number = number;
	s->crl_gen = gen;
	pthread_mutex_unlock(&s->crl_lock);
	sg_crl_unref(old);
	ik_log(LOG_INFO, "CRL %llu issued: %zu entries, %zu bytes (%s)", (unsigned long long)number,
	    c->count, c->len, full ? "all entries read" : "changes merged");
	return IK_OK;
}

static int crl_stale(const sg_server *s, uint64_t gen)
{
	return s->crl == NULL || gen != s->crl_gen ||
	    now_s() >= s->crl->this_update + s->cfg.crl_refresh;
}

ik_status sg_crl_refresh(sg_server *s)
{
	uint64_t gen = atomic_load(&s->rev_gen); /* read before the ledger: later events rebuild */
	ik_status st = IK_OK;

	pthread_mutex_lock(&s->crl_build_lock);
	if (crl_stale(s, gen))
		st = crl_build(s, gen);
	pthread_mutex_unlock(&s->crl_build_lock);
	return st;
}

/* Rebuilds the CRL shortly after every revocation event and before it goes stale. */
void *sg_crl_thread(void *arg)
{
	sg_server *s = arg;

	while (!atomic_load(&s->stopping)) {
		struct timespec ts;
		ik_status st;

		pthread_mutex_lock(&s->crl_lock);
		if (!atomic_load(&s->stopping) && !crl_stale(s, atomic_load(&s->rev_gen))) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&s->crl_cond, &s->crl_lock, &ts);
		}
		pthread_mutex_unlock(&s->crl_lock);
		if (atomic_load(&s->stopping))
			break;
		st = sg_crl_refresh(s);
		if (st != IK_OK) {
			if (st != IK_ERR_HSM_UNAVAILABLE)
				ik_log(LOG_ERR, "CRL: %s", ik_status_str(st));
			sleep(1);
		}
	}
	return NULL;
}

static ik_status do_get_crl(sg_worker *w, proto_error *err)
{
	sg_server *s = w->s;
	proto_crl_reply r;
	sg_crl *c;
	ik_status st = sg_crl_refresh(s);

	if (st != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "CRL: %s", ik_status_str(st));
		return st;
	}
	pthread_mutex_lock(&s->crl_lock);
	c = sg_crl_ref(s->crl);
	pthread_mutex_unlock(&s->crl_lock);
	if (c == NULL)
		return IK_ERR_INTERNAL;
	memset(&r, 0, sizeof(r));
	r.crl_number = c->number;
	r.this_update = (uint64_t)c->this_update;
	r.next_update = (uint64_t)c->next_update;
	r.crl_len = c->len;
	ik_buf_reset(&w->reply);
	if ((st = proto_encode_crl_reply_head(&w->reply, &r)) != IK_OK) {
		sg_crl_unref(c);
		return st;
	}
	w->reply_crl = c; /* serve.c sends its bytes after the reply and drops the reference */
	return IK_OK;
}

static ik_status do_get_chain(sg_worker *w)
{
	const sg_ca *ca = &w->s->ca;
	proto_chain_reply r;

	memset(&r, 0, sizeof(r));
	r.n = (uint8_t)ca->nchain;
	for (size_t i = 0; i < ca->nchain; i++) {
		r.cert[i] = ca->chain_der[i];
		r.cert_len[i] = ca->chain_len[i];
	}
	return proto_encode_chain_reply(&w->reply, &r);
}

static ik_status do_status(sg_worker *w)
{
	sg_server *s = w->s;
	proto_status_reply r;
	ik_status st;

	memset(&r, 0, sizeof(r));
	r.hsm_ok = hsm_available(s->hsm) || hsm_probe(s->hsm) == IK_OK;
	if ((st = sg_ledger_counts(s->ledger, &r.issued, &r.revoked, &r.held)) != IK_OK)
		return st;
	pthread_mutex_lock(&s->crl_lock);
	r.crl_number = s->crl_number;
	pthread_mutex_unlock(&s->crl_lock);
	r.uptime = (uint64_t)(now_s() - (int64_t)s->started);
	return proto_encode_status_reply(&w->reply, &r);
}

ik_status sg_dispatch(sg_worker *w, uint16_t type, const uint8_t *body, size_t len,
    proto_error *err)
{
	ik_status st;

	switch (type) {
	case PROTO_ISSUE:
		return do_issue(w, body, len, err);
	case PROTO_REVOKE:
	case PROTO_HOLD:
	case PROTO_RELEASE:
		return do_event(w, type, body, len, err);
	case PROTO_GET_CHAIN:
	case PROTO_GET_CRL:
	case PROTO_STATUS:
		if ((st = proto_decode_empty(body, len)) != IK_OK) {
			snprintf(err->detail, sizeof(err->detail), "%s takes no body",
			    proto_type_name(type));
			return st;
		}
		if (type == PROTO_GET_CHAIN)
			return do_get_chain(w);
		return type == PROTO_GET_CRL ? do_get_crl(w, err) : do_status(w);
	default:
		snprintf(err->detail, sizeof(err->detail), "unknown message type %u", type);
		return IK_ERR_PROTO_VERB;
	}
}
