/* cfile_check: what the sections of a ceremony file must say — [ceremony], [token.NAME],
 * [step.NAME] for each action — and how they refer to each other; weak settings refused. */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony.h"
#include "cfile.h"
#include "cfile_int.h"

#define BACKDATE_SECONDS 60

/* ---- names ---- */

static const struct { const char *name; cf_action a; } actions[] = {
	{ "init-token", CF_INIT_TOKEN }, { "generate-key", CF_GENERATE_KEY },
	{ "self-sign", CF_SELF_SIGN }, { "use-root", CF_USE_ROOT }, { "sign-ca", CF_SIGN_CA },
	{ "sign-crl", CF_SIGN_CRL },
};

const char *cf_action_name(cf_action a)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].a == a)
			return actions[i].name;
	return "?";
}

static const struct { const char *name; hsm_keyalg alg; } algs[] = {
	{ "ec-p256", HSM_KEY_EC_P256 }, { "ec-p384", HSM_KEY_EC_P384 },
	{ "rsa-3072", HSM_KEY_RSA_3072 }, { "rsa-4096", HSM_KEY_RSA_4096 },
};

const char *cf_alg_name(hsm_keyalg a)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == a)
			return algs[i].name;
	return "?";
}

static const char *const reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation",
};

const char *cf_reason_name(int reason)
{
	return reason >= 0 && (size_t)reason < sizeof(reasons) / sizeof(reasons[0]) ?
	    reasons[reason] : "none";
}

/* ---- [ceremony] ---- */

static int custodian_index(const cf_file *cf, const char *w, size_t n)
{
	for (size_t i = 0; i < cf->ncustodians; i++)
		if (strlen(cf->custodians[i]) == n && memcmp(cf->custodians[i], w, n) == 0)
			return (int)i;
	return -1;
}

static int word_custodian(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg)
{
	(void)arg;
	if (!cfi_is_id(w, n, CF_ID_MAX))
		return BAD(kv, "custodian '%.*s': names are 1..%d characters of a-z 0-9 - _", (int)n, w,
		    CF_ID_MAX), 0;
	if (custodian_index(cf, w, n) >= 0)
		return BAD(kv, "custodian '%.*s' listed twice", (int)n, w), 0;
	if (cf->ncustodians == SHARE_MAX_N)
		return BAD(kv, "at most %d custodians", SHARE_MAX_N), 0;
	memcpy(cf->custodians[cf->ncustodians], w, n);
	cf->custodians[cf->ncustodians++][n] = '\0';
	return 1;
}

static int word_present(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg)
{
	int i = custodian_index(cf, w, n);

	(void)arg;
	if (i < 0)
		return BAD(kv, "'%.*s' is not one of the custodians", (int)n, w), 0;
	cf->present |= 1u << i;
	return 1;
}

static void ceremony_section(cf_file *cf, size_t sec)
{
	long long v;
	int r, rc;

	cfi_text(cf, sec, "title", 1, cf->title, CF_TITLE_MAX);
	cfi_path(cf, sec, "out", 1, cf->out);
	if (cfi_path(cf, sec, "module", 0, cf->module) == 0)
		snprintf(cf->module, sizeof(cf->module), "%s", HSM_DEFAULT_MODULE);
	rc = cfi_list(cf, sec, "custodians", 0, word_custodian, NULL);
	r = cfi_int(cf, sec, "threshold", 0, 2, SHARE_MAX_N, &v);
	if (r == 1)
		cf->threshold = (unsigned)v;
	if (rc == 1 && cf->ncustodians < 2)
		cf_error(cf, sec, "custodians", "at least two custodians");
	if (rc == 1 && r == 0)
		cf_error(cf, sec, "threshold", "required with custodians");
	if (r == 1 && rc == 0)
		cf_error(cf, sec, "custodians", "required with threshold");
	if (r == 1 && rc == 1 && cf->threshold > cf->ncustodians)
		cf_error(cf, sec, "threshold", "%u is more than the %zu custodians", cf->threshold,
		    cf->ncustodians);
	if (rc == 1) {
		if (cfi_list(cf, sec, "present", 0, word_present, NULL) == 0)
			cf->present = (1u << cf->ncustodians) - 1;
	} else if (cfi_get(cf, sec, "present", 0) != NULL) {
		cf_error(cf, sec, "present", "needs a custodians list");
	}
	if (cfi_path(cf, sec, "shares_dir", 0, cf->shares_dir) == 0 && cf->out[0] != '\0')
		snprintf(cf->shares_dir, sizeof(cf->shares_dir), "%.*s/shares", CF_PATH_MAX - 8, cf->out);
	/* transcript_signer is resolved after the steps */
}

/* ---- [token.NAME] ---- */

static void token_section(cf_file *cf, size_t sec)
{
	cf_token *t = &cf->tokens[cf->ntokens++];
	cf_kv *kv;

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", cf->sections[sec].name + 6);
	t->sec = sec;
	t->init_step = t->first_use = -1;
	cfi_label(cf, sec, "label", 1, t->label);
	if (cfi_path(cf, sec, "module", 0, t->module) == 0)
		memcpy(t->module, cf->module, sizeof(t->module));
	for (size_t i = 0; i + 1 < cf->ntokens; i++)
		if (t->label[0] != '\0' && strcmp(cf->tokens[i].label, t->label) == 0)
			cf_error(cf, sec, "label", "token label '%s' also used by [token.%s]", t->label,
			    cf->tokens[i].id);
	kv = cfi_get(cf, sec, "pin", 1);
	if (kv != NULL && strcmp(kv->value, "shares") == 0) {
		t->pin = CF_PIN_SHARES;
		if (cf->ncustodians == 0)
			cf_error(cf, sec, "pin", "'shares' needs custodians and threshold in [ceremony]");
		if (cf->shares_token >= 0)
			cf_error(cf, sec, "pin", "only one token can have its PIN in shares ([token.%s] has)",
			    cf->tokens[cf->shares_token].id);
		else
			cf->shares_token = (int)cf->ntokens - 1;
	} else if (kv != NULL && strcmp(kv->value, "file") == 0) {
		t->pin = CF_PIN_FILE;
		cfi_path(cf, sec, "pin_file", 1, t->pin_file);
		cfi_path(cf, sec, "so_pin_file", 0, t->so_pin_file);
		if ((kv = cfi_get(cf, sec, "pin_owner", 0)) != NULL) {
			struct passwd *pw = getpwnam(kv->value);
			if (pw == NULL || strlen(kv->value) > CF_ID_MAX) {
				cf_error(cf, sec, "pin_owner", "no such user '%s'", kv->value);
			} else {
				t->has_owner = 1;
				snprintf(t->owner, sizeof(t->owner), "%.*s", (int)sizeof(t->owner) - 1, kv->value);
				t->owner_uid = pw->pw_uid;
				t->owner_gid = pw->pw_gid;
			}
		}
	} else if (kv != NULL) {
		cf_error(cf, sec, "pin", "expected 'shares' (M-of-N custodian shares) or 'file' "
		    "(a 0400 credential file)");
	}
	if (t->pin == CF_PIN_FILE) {
		if (t->so_pin_file[0] != '\0' && strcmp(t->pin_file, t->so_pin_file) == 0)
			cf_error(cf, sec, "so_pin_file", "the same file as pin_file");
		for (size_t i = 0; i + 1 < cf->ntokens; i++) {
			const cf_token *o = &cf->tokens[i];
			if (o->pin != CF_PIN_FILE)
				continue;
			if (strcmp(o->pin_file, t->pin_file) == 0 || strcmp(o->so_pin_file, t->pin_file) == 0)
				cf_error(cf, sec, "pin_file", "also a PIN file of [token.%s]", o->id);
			if (t->so_pin_file[0] != '\0' && (strcmp(o->pin_file, t->so_pin_file) == 0 ||
			    strcmp(o->so_pin_file, t->so_pin_file) == 0))
				cf_error(cf, sec, "so_pin_file", "also a PIN file of [token.%s]", o->id);
		}
	}
	cfi_check_unused(cf, sec, t->pin == CF_PIN_SHARES ? "pin = shares" : NULL);
}

/* ---- [step.NAME] ---- */

static int step_by_id(const cf_file *cf, const char *id)
{
	for (size_t i = 0; i < cf->nsteps; i++)
		if (strcmp(cf->steps[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* The token named by key "token"; -1 if absent or bad (reported). */
static int step_token(cf_file *cf, size_t sec, cf_step *s)
{
	cf_kv *kv = cfi_get(cf, sec, "token", 1);

	if (kv == NULL)
		return -1;
	for (size_t i = 0; i < cf->ntokens; i++)
		if (strcmp(cf->tokens[i].id, kv->value) == 0) {
			if (cf->tokens[i].first_use < 0)
				cf->tokens[i].first_use = (int)(s - cf->steps);
			return (int)i;
		}
	return BAD(kv, "no [token.%s] section", kv->value);
}

/* An earlier step of one of the given actions named by key; -1 if absent/bad (reported). */
static int step_ref(cf_file *cf, size_t sec, const char *key, cf_action a1, cf_action a2)
{
	cf_kv *kv = cfi_get(cf, sec, key, 1);
	int i;

	if (kv == NULL)
		return -1;
	i = step_by_id(cf, kv->value);
	if (i < 0)
		return BAD(kv, "no step '%s' above this one", kv->value);
	if (cf->steps[i].action != a1 && cf->steps[i].action != a2)
		return BAD(kv, "step '%s' is a %s step; expected %s or %s", kv->value,
		    cf_action_name(cf->steps[i].action), cf_action_name(a1), cf_action_name(a2));
	return i;
}

static int parse_alg(cf_file *cf, size_t sec, hsm_keyalg *alg)
{
	cf_kv *kv = cfi_get(cf, sec, "algorithm", 1);
	long bits;

	if (kv == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(kv->value, algs[i].name) == 0) {
			*alg = algs[i].alg;
			return 1;
		}
	if (strncmp(kv->value, "rsa-", 4) == 0 && (bits = strtol(kv->value + 4, NULL, 10)) > 0 &&
	    bits < 3072)
		return BAD(kv, "weak: a CA key must be RSA of at least 3072 bits (rsa-3072, rsa-4096)");
	if ((strncmp(kv->value, "ec-p", 4) == 0 && (bits = strtol(kv->value + 4, NULL, 10)) > 0 &&
	    bits < 256) || strcmp(kv->value, "ec-secp256k1") == 0)
		return BAD(kv, "weak: a CA key must be EC P-256 or stronger (ec-p256, ec-p384)");
	return BAD(kv, "unknown algorithm (ec-p256, ec-p384, rsa-3072, rsa-4096)");
}

/* token + key_label [+ key_id]: find the generate-key step above that makes it, if any. */
static void key_ref(cf_file *cf, size_t sec, cf_step *s)
{
	int r;

	s->token = step_token(cf, sec, s);
	r = cfi_label(cf, sec, "key_label", 1, s->key_label);
	cfi_hex(cf, sec, "key_id", s->key_id, sizeof(s->key_id), &s->key_id_len);
	s->key_step = -1;
	if (s->token < 0 || r != 1)
		return;
	for (size_t i = 0; i < (size_t)(s - cf->steps); i++) {
		const cf_step *g = &cf->steps[i];
		if (g->action == CF_GENERATE_KEY && g->token == s->token &&
		    strcmp(g->key_label, s->key_label) == 0) {
			s->key_step = (int)i;
			if (s->key_id_len > 0 && (s->key_id_len != g->key_id_len ||
			    memcmp(s->key_id, g->key_id, g->key_id_len) != 0))
				cf_error(cf, sec, "key_id", "differs from the id step '%s' gives this key", g->id);
		}
	}
	if (s->key_step < 0 && cf->tokens[s->token].init_step >= 0)
		cf_error(cf, sec, "key_label", "token '%s' is initialised in this ceremony and no "
		    "generate-key step above makes key '%s'", cf->tokens[s->token].id, s->key_label);
}

static void subject_keys(cf_file *cf, size_t sec, cf_step *s)
{
	cf_kv *kv = cfi_get(cf, sec, "country", 1);

	if (kv != NULL) {
		if (strlen(kv->value) != 2 || !isupper((unsigned char)kv->value[0]) ||
		    !isupper((unsigned char)kv->value[1]))
			(void)BAD(kv, "must be two capital letters (ISO 3166)");
		else
			memcpy(s->country, kv->value, 3);
	}
	cfi_text(cf, sec, "organization", 1, s->org, CF_TEXT_MAX);
	cfi_text(cf, sec, "organizational_unit", 0, s->ou, CF_TEXT_MAX);
	cfi_text(cf, sec, "common_name", 1, s->cn, CF_TEXT_MAX);
}

static void validity_keys(cf_file *cf, size_t sec, cf_step *s)
{
	long long y = 0, d = 0;
	int ry = cfi_int(cf, sec, "validity_years", 0, 1, 100, &y);
	int rd = cfi_int(cf, sec, "validity_days", 0, 1, 36600, &d);
	time_t cap = cer_add_validity(cf->now, CF_ROOT_MAX_YEARS, 0);

	if (ry == 0 && rd == 0) {
		cf_error(cf, sec, "validity_years", "required key missing (or validity_days)");
		return;
	}
	if (ry == 1 && rd == 1) {
		cf_error(cf, sec, "validity_days", "give validity_years or validity_days, not both");
		return;
	}
	if (ry < 0 || rd < 0)
		return;
	s->years = (int)y;
	s->days = (int)d;
	s->not_before = cf->now - BACKDATE_SECONDS;
	s->not_after = cer_add_validity(cf->now, s->years, s->days);
	if (s->not_after > cap)
		cf_error(cf, sec, ry == 1 ? "validity_years" : "validity_days",
		    "validity beyond %d years is refused", CF_ROOT_MAX_YEARS);
	else if (s->action == CF_SIGN_CA && s->issuer >= 0 &&
	    cf->steps[s->issuer].action == CF_SELF_SIGN &&
	    s->not_after > cf->steps[s->issuer].not_after)
		cf_error(cf, sec, ry == 1 ? "validity_years" : "validity_days",
		    "the certificate would outlive its issuer '%s'", cf->steps[s->issuer].id);
}

static void output_key(cf_file *cf, size_t sec, cf_step *s)
{
	static const char *const reserved[] = { "transcript", "fingerprints", "ceremony" };
	cf_kv *kv = cfi_get(cf, sec, "output", 0);
	const char *v = kv != NULL ? kv->value : s->id;

	if (kv != NULL && (!cfi_is_id(v, strlen(v), CF_OUT_MAX))) {
		(void)BAD(kv, "must be 1..%d characters of a-z 0-9 - _ (the files get .pem, .der, ...)",
		    CF_OUT_MAX);
		return;
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(v, reserved[i]) == 0) {
			cf_error(cf, sec, kv != NULL ? "output" : NULL, "'%s' is reserved for the "
			    "ceremony's own files", v);
			return;
		}
	for (size_t i = 0; i < (size_t)(s - cf->steps); i++)
		if (cf->steps[i].output[0] != '\0' && strcmp(cf->steps[i].output, v) == 0) {
			cf_error(cf, sec, kv != NULL ? "output" : NULL, "step '%s' already writes "
			    "files named '%s'", cf->steps[i].id, v);
			return;
		}
	snprintf(s->output, sizeof(s->output), "%.*s", (int)sizeof(s->output) - 1, v);
}

static void step_init_token(cf_file *cf, size_t sec, cf_step *s)
{
	int self = (int)(s - cf->steps);
	cf_token *t;

	if ((s->token = step_token(cf, sec, s)) < 0)
		return;
	t = &cf->tokens[s->token];
	if (t->init_step >= 0) {
		cf_error(cf, sec, "token", "token '%s' is already initialised by step '%s'", t->id,
		    cf->steps[t->init_step].id);
		return;
	}
	if (t->first_use != self)
		cf_error(cf, sec, "token", "step '%s' above already uses token '%s': initialise it "
		    "first", cf->steps[t->first_use].id, t->id);
	t->init_step = self;
	if (t->pin == CF_PIN_FILE && t->so_pin_file[0] == '\0')
		cf_error(cf, t->sec, "so_pin_file", "required: the token is initialised by step '%s' "
		    "and its new SO PIN must go somewhere", s->id);
}

static void step_generate_key(cf_file *cf, size_t sec, cf_step *s)
{
	int rt, rl, ri, ra;

	rt = (s->token = step_token(cf, sec, s));
	rl = cfi_label(cf, sec, "key_label", 1, s->key_label);
	ri = cfi_hex(cf, sec, "key_id", s->key_id, sizeof(s->key_id), &s->key_id_len);
	if (ri == 0)
		cf_error(cf, sec, "key_id", "required key missing");
	ra = parse_alg(cf, sec, &s->alg);
	(void)ra;
	s->key_step = (int)(s - cf->steps);
	if (rt < 0 || rl != 1 || ri != 1)
		return;
	for (size_t i = 0; i < (size_t)(s - cf->steps); i++) {
		const cf_step *g = &cf->steps[i];
		if (g->action != CF_GENERATE_KEY || g->token != s->token)
			continue;
		if (strcmp(g->key_label, s->key_label) == 0)
			cf_error(cf, sec, "key_label", "step '%s' already generates key '%s' on this token",
			    g->id, s->key_label);
		else if (g->key_id_len == s->key_id_len && memcmp(g->key_id, s->key_id, s->key_id_len) == 0)
			cf_error(cf, sec, "key_id", "step '%s' already generates a key with this id", g->id);
	}
}

static int word_revoke(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg)
{
	cf_step *s = arg;
	cf_revoke *r;
	char id[CF_ID_MAX + 1];
	int i;

	if (s->nrevoke == CF_MAX_REVOKE)
		return BAD(kv, "at most %d certificates per CRL step", CF_MAX_REVOKE), 0;
	r = &s->revoke[s->nrevoke];
	r->step = -1;
	if (memchr(w, '/', n) != NULL || memchr(w, '.', n) != NULL) {
		int len = w[0] == '/' ? snprintf(r->path, sizeof(r->path), "%.*s", (int)n, w) :
		    snprintf(r->path, sizeof(r->path), "%s/%.*s", cf->dir, (int)n, w);
		if (len < 0 || (size_t)len >= sizeof(r->path))
			return BAD(kv, "path too long"), 0;
		s->nrevoke++;
		return 1;
	}
	if (n > CF_ID_MAX)
		return BAD(kv, "'%.*s' is neither a step nor a file (a path has a '/' or '.')",
		    (int)n, w), 0;
	memcpy(id, w, n);
	id[n] = '\0';
	i = step_by_id(cf, id);
	if (i < 0 || cf->steps[i].action != CF_SIGN_CA)
		return BAD(kv, "'%s' is not a sign-ca step above (a file path needs a '/' or '.')",
		    id), 0;
	if (cf->steps[i].issuer != s->issuer)
		return BAD(kv, "'%s' was not issued by '%s'", id,
		    s->issuer >= 0 ? cf->steps[s->issuer].id : "?"), 0;
	r->step = i;
	s->nrevoke++;
	return 1;
}

static void step_sign_crl(cf_file *cf, size_t sec, cf_step *s)
{
	cf_kv *kv;
	long long v;
	int r;

	s->issuer = step_ref(cf, sec, "issuer", CF_SELF_SIGN, CF_USE_ROOT);
	s->reason = -1;
	r = cfi_list(cf, sec, "revoke", 0, word_revoke, s);
	if ((kv = cfi_get(cf, sec, "reason", 0)) != NULL) {
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (strcmp(kv->value, reasons[i]) == 0)
				s->reason = (int)i;
		if (s->reason < 0)
			(void)BAD(kv, "expected unspecified, keyCompromise, cACompromise, "
			    "affiliationChanged, superseded or cessationOfOperation");
		else if (r == 0)
			(void)BAD(kv, "a reason needs certificates to revoke");
	}
	if (cfi_path(cf, sec, "previous_crl", 0, s->previous_crl) == 1 && s->issuer >= 0 &&
	    cf->steps[s->issuer].action == CF_SELF_SIGN)
		cf_error(cf, sec, "previous_crl", "issuer '%s' is created in this ceremony: it has no "
		    "earlier CRL", cf->steps[s->issuer].id);
	if (cfi_int(cf, sec, "crl_number", 0, 1, (long long)1 << 62, &v) == 1)
		s->crl_number = (uint64_t)v;
	s->next_update_days = 365;
	if (cfi_int(cf, sec, "next_update_days", 0, 1, 400, &v) == 1)
		s->next_update_days = (int)v;
	output_key(cf, sec, s);
}

static void step_sign_ca(cf_file *cf, size_t sec, cf_step *s)
{
	long long v;

	s->issuer = step_ref(cf, sec, "issuer", CF_SELF_SIGN, CF_USE_ROOT);
	s->token = s->key_step = -1;
	if (cfi_path(cf, sec, "csr", 0, s->csr) != 0) {
		if (cfi_get(cf, sec, "token", 0) != NULL || cfi_get(cf, sec, "key_label", 0) != NULL)
			cf_error(cf, sec, "csr", "give either csr or token + key_label, not both");
	} else {
		key_ref(cf, sec, s);
		if (s->issuer >= 0 && s->token >= 0 && cf->steps[s->issuer].token == s->token &&
		    strcmp(cf->steps[s->issuer].key_label, s->key_label) == 0)
			cf_error(cf, sec, "key_label", "the subject key is the issuer's own key");
	}
	subject_keys(cf, sec, s);
	validity_keys(cf, sec, s);
	s->path_len = 0;
	if (cfi_int(cf, sec, "path_length", 0, 0, 8, &v) == 1)
		s->path_len = (int)v;
	cfi_url(cf, sec, "crl_url", s->crl_url);
	cfi_url(cf, sec, "issuer_url", s->issuer_url);
	output_key(cf, sec, s);
}

static void step_section(cf_file *cf, size_t sec)
{
	cf_step *s = &cf->steps[cf->nsteps++];
	cf_kv *kv;
	char what[48];

	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", cf->sections[sec].name + 5);
	s->sec = sec;
	s->token = s->issuer = s->key_step = s->reason = -1;
	if ((kv = cfi_get(cf, sec, "action", 1)) == NULL)
		return;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(kv->value, actions[i].name) == 0)
			s->action = actions[i].a;
	switch (s->action) {
	case CF_INIT_TOKEN:
		step_init_token(cf, sec, s);
		break;
	case CF_GENERATE_KEY:
		step_generate_key(cf, sec, s);
		output_key(cf, sec, s);
		break;
	case CF_SELF_SIGN:
		key_ref(cf, sec, s);
		subject_keys(cf, sec, s);
		validity_keys(cf, sec, s);
		output_key(cf, sec, s);
		break;
	case CF_USE_ROOT:
		key_ref(cf, sec, s);
		cfi_path(cf, sec, "cert", 1, s->cert);
		output_key(cf, sec, s);
		break;
	case CF_SIGN_CA:
		step_sign_ca(cf, sec, s);
		break;
	case CF_SIGN_CRL:
		step_sign_crl(cf, sec, s);
		break;
	default:
		(void)BAD(kv, "unknown action (init-token, generate-key, self-sign, use-root, "
		    "sign-ca, sign-crl)");
		return;
	}
	snprintf(what, sizeof(what), "action %.32s", kv->value);
	cfi_check_unused(cf, sec, what);
}

/* After every section: the transcript signer, unused tokens. */
static void final_checks(cf_file *cf)
{
	cf_kv *kv = cf->nsections > 0 ? cfi_get(cf, cf->ceremony_sec, "transcript_signer", 0) : NULL;
	size_t sec = cf->ceremony_sec;

	if (kv != NULL) {
		int i = step_by_id(cf, kv->value);
		if (i < 0 || (cf->steps[i].action != CF_SELF_SIGN && cf->steps[i].action != CF_USE_ROOT))
			(void)BAD(kv, "'%s' is not a self-sign or use-root step", kv->value);
		else
			cf->signer_step = i;
	} else {
		for (size_t i = 0; i < cf->nsteps && cf->signer_step < 0; i++)
			if (cf->steps[i].action == CF_SELF_SIGN || cf->steps[i].action == CF_USE_ROOT)
				cf->signer_step = (int)i;
		if (cf->signer_step < 0)
			cf_error(cf, sec, NULL, "no self-sign or use-root step: the transcript must be "
			    "signed by a root key");
	}
	for (size_t i = 0; i < cf->ntokens; i++)
		if (cf->tokens[i].first_use < 0)
			cf_error(cf, cf->tokens[i].sec, NULL, "no step uses this token");
	if (cf->nsteps == 0)
		cf_error(cf, sec, NULL, "no [step.NAME] sections");
	cfi_check_unused(cf, sec, NULL);
}

/* Sort the sections by kind: [ceremony] first, then tokens, then steps (each in file order). */
void cfi_validate(cf_file *cf)
{
	int have = 0;

	for (size_t i = 0; i < cf->nsections; i++) {
		const char *n = cf->sections[i].name;
		if (strcmp(n, "ceremony") == 0) {
			cf->ceremony_sec = i;
			have = 1;
		} else if (strncmp(n, "token.", 6) == 0 || strncmp(n, "step.", 5) == 0) {
			const char *id = n + (n[0] == 't' ? 6 : 5);
			if (!cfi_is_id(id, strlen(id), CF_ID_MAX))
				cfi_err_at(cf, cf->sections[i].line, n, NULL, "NAME must be 1..%d characters of "
				    "a-z 0-9 - _, starting with a letter or digit", CF_ID_MAX);
			else if (n[0] == 't' && cf->ntokens + 1 > CF_MAX_TOKENS)
				cfi_err_at(cf, cf->sections[i].line, n, NULL, "at most %d tokens", CF_MAX_TOKENS);
		} else {
			cfi_err_at(cf, cf->sections[i].line, n, NULL, "unknown section (expected [ceremony], "
			    "[token.NAME] or [step.NAME])");
		}
	}
	if (!have) {
		cfi_err_at(cf, 0, "ceremony", NULL, "required section missing");
		return;
	}
	ceremony_section(cf, cf->ceremony_sec);
	for (size_t i = 0; i < cf->nsections; i++) {
		const char *n = cf->sections[i].name;
		if (strncmp(n, "token.", 6) == 0 && cfi_is_id(n + 6, strlen(n + 6), CF_ID_MAX) &&
		    cf->ntokens < CF_MAX_TOKENS)
			token_section(cf, i);
	}
	for (size_t i = 0; i < cf->nsections; i++) {
		const char *n = cf->sections[i].name;
		if (strncmp(n, "step.", 5) == 0 && cfi_is_id(n + 5, strlen(n + 5), CF_ID_MAX))
			step_section(cf, i);
	}
	final_checks(cf);
}

