/* dispatch: the signer's verbs.  Every request is decoded completely and checked here, on
 * the privileged side; issuance (issue.c) is idempotent per request id (intent recorded
 * before the HSM signs, certificate after), revocations are never undone, and the CRL is
 * rebuilt from the ledger after every change. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
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

/* ---- PROFILES: the loaded profiles, read-only ---- */

_Static_assert(SG_MAX_PROFILES <= PROTO_MAX_PROFILES, "every profile fits in a reply");
_Static_assert(SG_MAX_URL == PROTO_MAX_URL, "profile URLs fit the reply");

static void profile_describe(const sg_profile *sp, proto_profile *pp)
{
	static const struct { unsigned sg, proto; } keys[] = {
		{ SG_KEY_EC_P256, PROTO_KEY_EC_P256 }, { SG_KEY_EC_P384, PROTO_KEY_EC_P384 },
		{ SG_KEY_RSA, PROTO_KEY_RSA },
	};

	memset(pp, 0, sizeof(*pp));
	snprintf(pp->name, sizeof(pp->name), "%s", sp->name);
	pp->usage = sp->server ? PROTO_USAGE_SERVER : sp->email ? PROTO_USAGE_EMAIL :
	    PROTO_USAGE_CLIENT;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (sp->key_types & keys[i].sg)
			pp->key_types |= (uint8_t)keys[i].proto;
	pp->rsa_min_bits = sp->rsa_min_bits;
	pp->max_days = sp->max_days;
	pp->backdate = sp->backdate;
	pp->attrs_allowed = (uint8_t)(sp->attrs_allowed & PROTO_ATTR_MASK);
	pp->attrs_required = (uint8_t)(sp->attrs_required & PROTO_ATTR_MASK);
	for (uint8_t a = 1; a <= PROTO_ATTR_MAX; a++)
		if (sp->fixed[a][0] != '\0') {
			pp->fixed[pp->nfixed].type = a;
			snprintf(pp->fixed[pp->nfixed].value, sizeof(pp->fixed[0].value), "%s",
			    sp->fixed[a]);
			pp->nfixed++;
		}
	snprintf(pp->crl_url, sizeof(pp->crl_url), "%s", sp->crl_url);
	snprintf(pp->ocsp_url, sizeof(pp->ocsp_url), "%s", sp->ocsp_url);
	snprintf(pp->ca_issuers_url, sizeof(pp->ca_issuers_url), "%s", sp->ca_issuers_url);
}

static ik_status do_profiles(sg_worker *w, proto_error *err)
{
	const sg_config *cfg = &w->s->cfg;
	proto_profiles_reply *r = calloc(1, sizeof(*r));
	ik_status st;

	if (r == NULL)
		return IK_ERR_NOMEM;
	r->n = (uint8_t)cfg->nprofiles;
	for (size_t i = 0; i < cfg->nprofiles; i++)
		profile_describe(&cfg->profiles[i], &r->p[i]);
	if ((st = proto_encode_profiles_reply(&w->reply, r)) != IK_OK)
		snprintf(err->detail, sizeof(err->detail), "profiles: cannot describe the profiles");
	free(r);
	return st;
}

ik_status sg_dispatch(sg_worker *w, sg_job *j, proto_error *err, int *parked)
{
	const uint16_t type = j->h.type;
	const uint8_t *body = j->body;
	const size_t len = j->len;
	ik_status st;

	*parked = 0;
	switch (type) {
	case PROTO_ISSUE:
		return sg_issue_step(w, j, err, parked);
	case PROTO_REVOKE:
	case PROTO_HOLD:
	case PROTO_RELEASE:
		return do_event(w, type, body, len, err);
	case PROTO_OCSP:
		return sg_ocsp_dispatch(w, body, len, err);
	case PROTO_GET_CHAIN:
	case PROTO_GET_CRL:
	case PROTO_STATUS:
	case PROTO_PROFILES:
		if ((st = proto_decode_empty(body, len)) != IK_OK) {
			snprintf(err->detail, sizeof(err->detail), "%s takes no body",
			    proto_type_name(type));
			return st;
		}
		if (type == PROTO_GET_CHAIN)
			return do_get_chain(w);
		if (type == PROTO_PROFILES)
			return do_profiles(w, err);
		return type == PROTO_GET_CRL ? do_get_crl(w, err) : do_status(w);
	default:
		snprintf(err->detail, sizeof(err->detail), "unknown message type %u", type);
		return IK_ERR_PROTO_VERB;
	}
}
