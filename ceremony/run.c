/* run: one ceremony in a fixed order — read and validate the file, check every input file and
 * output path, print the plan, confirm, gather the custodians' shares, check the tokens, then
 * run the steps, each recorded in the transcript, which is signed at the end.  PINs live only
 * in this process's memory (wiped) and reach libp11 through a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "run.h"

#define SHARE_FILE_MAX 4096
#define TTY_TRIES 3

void run_fail(cer_run *r, const char *fmt, ...)
{
	char msg[sizeof(r->why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cer_err("%s", msg);
	if (r->why[0] == '\0')
		memcpy(r->why, msg, sizeof(msg));
}

void run_iso_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

/* ---- tokens: one open at a time; PINs through a pipe, never a file or argv ---- */

void run_close_token(cer_run *r)
{
	hsm_close(r->h);
	r->h = NULL;
	r->open = -1;
	r->nkeys = 0;
}

ik_status run_open_token(cer_run *r, int t)
{
	const cf_token *tk = &r->cf->tokens[t];
	hsm_config hc = { .module = tk->module, .token_label = tk->label, .pin_fd = -1 };
	size_t n = strlen(r->tok[t].pin);
	int fds[2];
	ik_status st;

	if (r->open == t)
		return IK_OK;
	run_close_token(r);
	if (!r->tok[t].have_pin) {
		run_fail(r, "token %s: no PIN", tk->label);
		return IK_ERR_INTERNAL;
	}
	if (pipe2(fds, O_CLOEXEC) != 0)
		return IK_ERR_IO;
	if (write(fds[1], r->tok[t].pin, n) != (ssize_t)n) { /* < PIPE_BUF: all or nothing */
		close(fds[0]);
		close(fds[1]);
		return IK_ERR_IO;
	}
	close(fds[1]);
	hc.pin_fd = fds[0]; /* hsm_open reads and closes it */
	st = hsm_open(&hc, &r->h);
	if (st != IK_OK) {
		run_fail(r, "token %s: %s", tk->label,
		    st == IK_ERR_AUTH ? "login refused: wrong PIN" :
		    st == IK_ERR_NOT_FOUND ? "no initialised token with this label" : ik_status_str(st));
		r->h = NULL;
		return st;
	}
	r->open = t;
	return IK_OK;
}

ik_status run_find_key(cer_run *r, int t, const char *label, const uint8_t *id, size_t id_len,
    hsm_key **k)
{
	ik_status st;

	if ((st = run_open_token(r, t)) != IK_OK)
		return st;
	for (size_t i = 0; i < r->nkeys; i++)
		if (r->keys[i].tok == t && strcmp(r->keys[i].label, label) == 0) {
			*k = r->keys[i].k;
			return IK_OK;
		}
	if (r->nkeys == RUN_MAX_KEYS) { /* start over with a fresh context */
		run_close_token(r);
		if ((st = run_open_token(r, t)) != IK_OK)
			return st;
	}
	st = hsm_key_find(r->h, label, id_len > 0 ? id : NULL, id_len, k);
	if (st != IK_OK) {
		run_fail(r, "key '%s' on token %s: %s", label, r->cf->tokens[t].label,
		    st == IK_ERR_NOT_FOUND ? "not found" : ik_status_str(st));
		return st;
	}
	r->keys[r->nkeys].tok = t;
	snprintf(r->keys[r->nkeys].label, sizeof(r->keys[0].label), "%s", label);
	r->keys[r->nkeys++].k = *k;
	return IK_OK;
}

/* ---- output files ---- */

static ik_status make_out_dir(cer_run *r)
{
	if (!r->out_missing)
		return IK_OK;
	if (mkdir(r->cf->out, 0755) != 0) {
		run_fail(r, "cannot create %s: %s", r->cf->out, strerror(errno));
		return IK_ERR_IO;
	}
	r->out_missing = 0;
	return IK_OK;
}

ik_status run_write_artifact(cer_run *r, size_t step, const char *name, const void *data,
    size_t n)
{
	char path[PATH_MAX], hex[CER_HEX32_LEN];
	uint8_t md[32];
	json_t *a;
	ik_status st;
	int len = snprintf(path, sizeof(path), "%s/%s", r->cf->out, name);

	if (len < 0 || (size_t)len >= sizeof(path))
		return IK_ERR_ARG;
	if ((st = make_out_dir(r)) != IK_OK)
		return st;
	if ((st = cer_write_file(path, data, n, 0644)) != IK_OK) {
		run_fail(r, "cannot write %s", path);
		return st;
	}
	r->changed = 1;
	if ((st = cer_sha256(data, n, md)) != IK_OK)
		return st;
	cer_hex(md, sizeof(md), hex, 0);
	a = json_pack("{s:s, s:s, s:s}", "file", name, "sha256", hex, "step",
	    step < r->cf->nsteps ? r->cf->steps[step].id : "ceremony");
	if (a == NULL || json_array_append_new(r->artifacts, a) != 0)
		return IK_ERR_NOMEM;
	if (step < r->cf->nsteps && r->res[step].rec != NULL) {
		json_t *outs = json_object_get(r->res[step].rec, "outputs");
		if (outs == NULL) {
			outs = json_array();
			json_object_set_new(r->res[step].rec, "outputs", outs);
		}
		json_array_append_new(outs, json_pack("{s:s, s:s}", "file", name, "sha256", hex));
	}
	return IK_OK;
}

/* lstat says ENOENT; else report (it exists: never overwritten). */
static int must_not_exist(cer_run *r, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		cer_err("%s already exists: refusing to overwrite", path);
		return 0;
	}
	if (errno != ENOENT) {
		cer_err("%s: %s", path, strerror(errno));
		return 0;
	}
	(void)r;
	return 1;
}

/* The directory a new file goes into must exist. */
static int parent_exists(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 1;
	slash[slash == dir ? 1 : 0] = '\0';
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static ik_status check_outputs(cer_run *r)
{
	static const char *const fixed[] = {
		"transcript.json", "transcript.json.sig", "fingerprints.txt", "ceremony.ini",
	};
	const cf_file *cf = r->cf;
	char path[PATH_MAX], names[3][CF_OUT_MAX + 16];
	struct stat st;
	int ok = 1;

	if (stat(cf->out, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			cer_err("%s: not a directory", cf->out);
			return IK_ERR_ARG;
		}
	} else if (errno == ENOENT && parent_exists(cf->out)) {
		r->out_missing = 1;
	} else {
		cer_err("output directory %s: cannot be created (%s)", cf->out, strerror(errno));
		return IK_ERR_IO;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cf->out, fixed[i]);
		ok &= must_not_exist(r, path);
	}
	for (size_t i = 0; i < cf->nsteps; i++) {
		size_t n = steps_output_names(&cf->steps[i], names);
		for (size_t j = 0; j < n; j++) {
			snprintf(path, sizeof(path), "%s/%s", cf->out, names[j]);
			ok &= must_not_exist(r, path);
		}
	}
	for (size_t t = 0; t < cf->ntokens; t++) {
		const cf_token *tk = &cf->tokens[t];
		if (tk->init_step < 0)
			continue;
		if (tk->pin == CF_PIN_SHARES) {
			if (!parent_exists(cf->shares_dir) && strncmp(cf->shares_dir, cf->out,
			    strlen(cf->out)) != 0) {
				cer_err("the directory for %s does not exist", cf->shares_dir);
				ok = 0;
			}
			for (size_t c = 0; c < cf->ncustodians; c++) {
				snprintf(path, sizeof(path), "%s/%s.share", cf->shares_dir, cf->custodians[c]);
				ok &= must_not_exist(r, path);
			}
			continue;
		}
		ok &= must_not_exist(r, tk->pin_file) && must_not_exist(r, tk->so_pin_file);
		if (!parent_exists(tk->pin_file) || !parent_exists(tk->so_pin_file)) {
			cer_err("token %s: the directory for %s or %s does not exist", tk->label,
			    tk->pin_file, tk->so_pin_file);
			ok = 0;
		}
	}
	return ok ? IK_OK : IK_ERR_EXISTS;
}

/* PINs of existing tokens with pin = file. */
static void read_pin_files(cer_run *r)
{
	for (size_t t = 0; t < r->cf->ntokens; t++) {
		const cf_token *tk = &r->cf->tokens[t];
		ik_status st;
		if (tk->pin != CF_PIN_FILE || tk->init_step >= 0 || tk->first_use < 0)
			continue;
		st = hsm_read_pin_file(tk->pin_file, r->tok[t].pin, sizeof(r->tok[t].pin));
		if (st != IK_OK)
			cf_error(r->cf, tk->sec, "pin_file", "%s: %s (it must be a non-empty file of ours, "
			    "mode 0400 or 0600)", tk->pin_file, ik_status_str(st));
		else
			r->tok[t].have_pin = 1;
	}
}

/* ---- init-token: new PINs, split or written to credential files ---- */

static ik_status write_shares(cer_run *r, const cf_token *tk, const cer_share *sh, json_t *res)
{
	const cf_file *cf = r->cf;
	char path[PATH_MAX], text[SHARE_TEXT_MAX], set[2 * SHARE_SET_ID_LEN + 1], when[32];
	char *doc = NULL;
	json_t *files = json_array();
	ik_status st = IK_OK;
	struct stat sb;

	cer_hex(sh[0].set_id, SHARE_SET_ID_LEN, set, 0);
	run_iso_time(cf->now, when);
	if (stat(cf->shares_dir, &sb) != 0 && mkdir(cf->shares_dir, 0700) != 0) {
		run_fail(r, "cannot create %s: %s", cf->shares_dir, strerror(errno));
		json_decref(files);
		return IK_ERR_IO;
	}
	for (size_t c = 0; c < cf->ncustodians && st == IK_OK; c++) {
		int n;
		snprintf(path, sizeof(path), "%s/%s.share", cf->shares_dir, cf->custodians[c]);
		if ((st = share_encode(&sh[c], text, sizeof(text))) != IK_OK)
			break;
		n = asprintf(&doc, "# Inkan key-ceremony PIN share\n"
		    "# custodian: %s (share %zu of %zu; any %u shares rebuild the PIN)\n"
		    "# ceremony:  %s\n# token:     %s\n# share set: %s\n# made:      %s\n"
		    "# Keep it secret and offline. Lines starting with '#' are ignored.\n%s",
		    cf->custodians[c], c + 1, cf->ncustodians, cf->threshold, cf->title, tk->label,
		    set, when, text);
		OPENSSL_cleanse(text, sizeof(text));
		if (n < 0) {
			st = IK_ERR_NOMEM;
			doc = NULL;
			break;
		}
		st = cer_write_file(path, doc, (size_t)n, 0400);
		OPENSSL_cleanse(doc, (size_t)n);
		free(doc);
		json_array_append_new(files, json_pack("{s:s, s:s}", "custodian", cf->custodians[c],
		    "file", path));
	}
	json_object_set_new(res, "share_set", json_string(set));
	json_object_set_new(res, "share_files", files);
	return st;
}

static ik_status write_pin_files(cer_run *r, const cf_token *tk, const char *user,
    const char *so, json_t *res)
{
	char line[HSM_MAX_PIN + 2];
	int n = snprintf(line, sizeof(line), "%s\n", user);
	ik_status st;

	(void)r;
	st = cer_write_file_owned(tk->pin_file, line, (size_t)n, 0400,
	    tk->has_owner ? tk->owner_uid : (uid_t)-1, tk->has_owner ? tk->owner_gid : (gid_t)-1);
	if (st == IK_OK) {
		n = snprintf(line, sizeof(line), "%s\n", so);
		st = cer_write_file(tk->so_pin_file, line, (size_t)n, 0400);
	}
	OPENSSL_cleanse(line, sizeof(line));
	json_object_set_new(res, "pin_file", json_string(tk->pin_file));
	json_object_set_new(res, "pin_owner", json_string(tk->has_owner ? tk->owner : "(the operator)"));
	json_object_set_new(res, "so_pin_file", json_string(tk->so_pin_file));
	return st;
}

ik_status run_init_token(cer_run *r, size_t i)
{
	const cf_file *cf = r->cf;
	const cf_step *s = &cf->steps[i];
	const cf_token *tk = &cf->tokens[s->token];
	char user[SHARE_PIN_LEN + 1], so[SHARE_PIN_LEN + 1];
	uint8_t secret[SHARE_SECRET_LEN];
	cer_share sh[SHARE_MAX_N];
	json_t *res = json_object();
	ik_status st;

	run_close_token(r); /* no libp11 context while the module is driven directly */
	if (RAND_priv_bytes(secret, sizeof(secret)) != 1) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	share_pins(secret, user, so);
	if (tk->pin == CF_PIN_SHARES &&
	    (st = share_split(secret, cf->threshold, (unsigned)cf->ncustodians, sh)) != IK_OK)
		goto out;
	st = hsm_token_init(tk->module, tk->label, so, user);
	if (st != IK_OK) {
		run_fail(r, "initialising token %s: %s", tk->label,
		    st == IK_ERR_EXISTS ? "a token with this label already exists" :
		    st == IK_ERR_NOT_FOUND ? "no free slot for a new token" : ik_status_str(st));
		goto out;
	}
	r->changed = 1;
	json_object_set_new(res, "token", json_string(tk->label));
	json_object_set_new(res, "pin", json_string(tk->pin == CF_PIN_SHARES ? "shares" : "file"));
	if (tk->pin == CF_PIN_SHARES) {
		json_object_set_new(res, "threshold", json_integer(cf->threshold));
		json_object_set_new(res, "custodians", json_integer((json_int_t)cf->ncustodians));
		st = write_shares(r, tk, sh, res);
		memcpy(r->set_id, sh[0].set_id, SHARE_SET_ID_LEN);
		r->have_set_id = 1;
	} else {
		st = write_pin_files(r, tk, user, so, res);
	}
	if (st != IK_OK) {
		run_fail(r, "token %s is initialised but its PINs could not all be saved: "
		    "re-initialise it before use", tk->label);
		goto out;
	}
	memcpy(r->tok[s->token].pin, user, sizeof(user));
	r->tok[s->token].have_pin = 1;
out:
	if (r->res[i].rec != NULL)
		json_object_set_new(r->res[i].rec, "made", res);
	else
		json_decref(res);
	OPENSSL_cleanse(user, sizeof(user));
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(sh, sizeof(sh));
	return st;
}

/* ---- shares: from files or typed at the terminal ---- */

static ik_status read_share_file(const char *path, char *buf, size_t bufsz, size_t *n)
{
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return IK_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size >= (off_t)bufsz) {
		close(fd);
		return IK_ERR_ARG;
	}
	got = read(fd, buf, bufsz - 1);
	close(fd);
	if (got < 0)
		return IK_ERR_IO;
	*n = (size_t)got;
	return IK_OK;
}

/* Check one decoded share against the ceremony file; name it by src. */
static int share_fits(cer_run *r, const cer_share *s, const char *src)
{
	const cf_file *cf = r->cf;

	if (s->x > cf->ncustodians) {
		cer_err("%s: share index %u, but the ceremony file lists %zu custodians", src, s->x,
		    cf->ncustodians);
		return 0;
	}
	if (s->m != cf->threshold) {
		cer_err("%s: a share of a %u-of-N split, but the ceremony file says threshold = %u", src,
		    s->m, cf->threshold);
		return 0;
	}
	if (!(cf->present & (1u << (s->x - 1)))) {
		cer_err("%s: the share of custodian %s, who is not listed in [ceremony] present", src,
		    cf->custodians[s->x - 1]);
		return 0;
	}
	return 1;
}

static ik_status shares_from_files(cer_run *r, cer_share *sh, size_t *k, char src[][PATH_MAX + 32])
{
	char buf[SHARE_FILE_MAX];
	ik_status st = IK_OK;

	for (size_t i = 0; i < r->o->nshare_files && st == IK_OK; i++) {
		size_t n = 0, pos = 0;
		share_error e;
		snprintf(src[i], PATH_MAX + 32, "share file %s", r->o->share_files[i]);
		if (read_share_file(r->o->share_files[i], buf, sizeof(buf), &n) != IK_OK) {
			cer_err("%s: cannot read it (a regular file under %d bytes)", src[i], SHARE_FILE_MAX);
			st = IK_ERR_IO;
		} else if ((e = share_decode(buf, n, &sh[i], &pos)) != SHARE_OK) {
			cer_err("%s: corrupted share: %s", src[i], share_error_str(e));
			st = IK_ERR_AUTH;
		} else if (!share_fits(r, &sh[i], src[i])) {
			st = IK_ERR_AUTH;
		}
		OPENSSL_cleanse(buf, sizeof(buf));
	}
	*k = r->o->nshare_files;
	return st;
}

static ik_status shares_from_tty(cer_run *r, cer_share *sh, size_t *k, char src[][PATH_MAX + 32])
{
	char buf[SHARE_FILE_MAX], prompt[128];
	const cf_file *cf = r->cf;

	for (size_t i = 0; i < cf->threshold; i++) {
		int tries = 0;
		for (;;) {
			share_error e;
			size_t pos = 0;
			snprintf(prompt, sizeof(prompt), "Share %zu of %u for token %s", i + 1,
			    cf->threshold, cf->tokens[cf->shares_token].label);
			if (tty_read_share(prompt, buf, sizeof(buf)) != IK_OK) {
				cer_err("no terminal to read shares from: run at a terminal or pass --share FILE");
				return IK_ERR_IO;
			}
			snprintf(src[i], PATH_MAX + 32, "share %zu typed at the terminal", i + 1);
			e = share_decode(buf, strlen(buf), &sh[i], &pos);
			OPENSSL_cleanse(buf, sizeof(buf));
			if (e == SHARE_OK && share_fits(r, &sh[i], src[i])) {
				fprintf(stderr, "share of custodian %s accepted\n", cf->custodians[sh[i].x - 1]);
				break;
			}
			if (e != SHARE_OK)
				cer_err("%s: corrupted share: %s", src[i], share_error_str(e));
			if (++tries == TTY_TRIES)
				return IK_ERR_AUTH;
			fprintf(stderr, "type that share again\n");
		}
		*k = i + 1;
	}
	return IK_OK;
}

/* The shares token is used but not initialised here: rebuild its PIN from M shares. */
static ik_status gather_shares(cer_run *r)
{
	const cf_file *cf = r->cf;
	cer_share sh[SHARE_MAX_N];
	char src[SHARE_MAX_N][PATH_MAX + 32], why[200], so[SHARE_PIN_LEN + 1];
	uint8_t secret[SHARE_SECRET_LEN];
	size_t k = 0;
	int t = cf->shares_token;
	ik_status st;

	if (t < 0 || cf->tokens[t].init_step >= 0 || cf->tokens[t].first_use < 0) {
		if (r->o->nshare_files > 0) {
			cer_err("--share given, but no token of this ceremony needs shares");
			return IK_ERR_ARG;
		}
		return IK_OK;
	}
	memset(sh, 0, sizeof(sh));
	st = r->o->nshare_files > 0 ? shares_from_files(r, sh, &k, src) : shares_from_tty(r, sh, &k, src);
	if (st == IK_OK && (st = share_combine(sh, k, secret, why, sizeof(why))) != IK_OK) {
		cer_err("the shares do not rebuild the PIN of token %s: %s", cf->tokens[t].label, why);
		for (size_t i = 0; i < k; i++)
			cer_err("  share %zu: %s (custodian %s)", i + 1, src[i],
			    sh[i].x >= 1 && sh[i].x <= cf->ncustodians ? cf->custodians[sh[i].x - 1] : "?");
	}
	if (st == IK_OK) {
		char user[SHARE_PIN_LEN + 1];
		share_pins(secret, user, so);
		memcpy(r->tok[t].pin, user, sizeof(user));
		r->tok[t].have_pin = 1;
		OPENSSL_cleanse(user, sizeof(user));
		for (size_t i = 0; i < k; i++)
			r->shares_used |= 1u << (sh[i].x - 1);
		memcpy(r->set_id, sh[0].set_id, SHARE_SET_ID_LEN);
		r->have_set_id = 1;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(sh, sizeof(sh));
	return st;
}

/* ---- before any change: tokens to create are absent, the others hold what we expect ---- */

static ik_status hsm_precheck(cer_run *r)
{
	const cf_file *cf = r->cf;
	ik_status st;

	for (size_t t = 0; t < cf->ntokens; t++) {
		const cf_token *tk = &cf->tokens[t];
		if (tk->init_step >= 0) {
			st = hsm_token_exists(tk->module, tk->label);
			if (st == IK_OK) {
				run_fail(r, "token %s already exists: refusing to initialise it again "
				    "(its keys would be lost)", tk->label);
				return IK_ERR_EXISTS;
			}
			if (st != IK_ERR_NOT_FOUND) {
				run_fail(r, "cannot look for token %s: %s", tk->label, ik_status_str(st));
				return st;
			}
			continue;
		}
		if (tk->first_use < 0)
			continue;
		st = steps_precheck_token(r, (int)t);
		run_close_token(r);
		if (st != IK_OK)
			return st;
	}
	return IK_OK;
}

/* ---- the whole run ---- */

static void run_cleanup(cer_run *r)
{
	run_close_token(r);
	for (size_t i = 0; i < CF_MAX_STEPS; i++) {
		X509_free(r->in[i].cert);
		X509_REQ_free(r->in[i].csr);
		X509_CRL_free(r->in[i].prev);
		for (size_t j = 0; j < CF_MAX_REVOKE; j++)
			X509_free(r->in[i].revoked[j]);
		json_decref(r->in[i].files);
		EVP_PKEY_free(r->res[i].pub);
		X509_free(r->res[i].cert);
		X509_CRL_free(r->res[i].crl);
	}
	json_decref(r->tr);
	OPENSSL_cleanse(r->tok, sizeof(r->tok));
	cf_free(r->cf);
}

static ik_status prepare(cer_run *r)
{
	ik_status st;

	if ((st = check_outputs(r)) != IK_OK)
		return st;
	read_pin_files(r);
	steps_load_inputs(r);
	if (r->cf->nerrors > 0) {
		cf_print_errors(r->cf);
		cer_err("%zu problem(s) with the ceremony's inputs; nothing was done", r->cf->nerrors);
		return IK_ERR_CONFIG;
	}
	return IK_OK;
}

static ik_status confirm(cer_run *r)
{
	int c;

	if (r->o->yes)
		return IK_OK;
	c = tty_confirm("Carry out this ceremony? Type 'yes' to go on, anything else to stop: ");
	if (c < 0) {
		cer_err("no terminal to confirm on: run it at a terminal, or pass --yes");
		return IK_ERR_IO;
	}
	if (c == 0) {
		cer_err("not confirmed: nothing was done");
		return IK_ERR_STATE;
	}
	return IK_OK;
}

static ik_status run_steps(cer_run *r)
{
	char when[32];
	ik_status st = IK_OK;

	for (size_t i = 0; i < r->cf->nsteps; i++) {
		json_t *rec = transcript_step(r, i);
		if (rec == NULL)
			return IK_ERR_NOMEM;
		printf("step %zu/%zu: %s (%s)\n", i + 1, r->cf->nsteps, r->cf->steps[i].id,
		    cf_action_name(r->cf->steps[i].action));
		fflush(stdout);
		st = steps_run(r, i);
		run_iso_time(time(NULL), when);
		json_object_set_new(rec, "finished", json_string(when));
		json_object_set_new(rec, "result", json_string(st == IK_OK ? "ok" : "failed"));
		if (st != IK_OK) {
			if (r->why[0] == '\0')
				run_fail(r, "step %s: %s", r->cf->steps[i].id, ik_status_str(st));
			json_object_set_new(rec, "error", json_string(r->why));
			return st;
		}
		r->res[i].done = 1;
	}
	return st;
}

/* After a failure that changed something: what was done and stays done. */
static void report_partial(const cer_run *r, ik_status st)
{
	cer_err("the ceremony did not complete: %s", r->why[0] != '\0' ? r->why : ik_status_str(st));
	for (size_t i = 0; i < r->cf->nsteps; i++) {
		const cf_step *s = &r->cf->steps[i];
		if (!r->res[i].done)
			continue;
		if (s->action == CF_INIT_TOKEN)
			cer_err("  done: [%s] token %s initialised (it stays)", s->id,
			    r->cf->tokens[s->token].label);
		else if (s->action == CF_GENERATE_KEY)
			cer_err("  done: [%s] key %s generated on token %s (it stays)", s->id,
			    s->key_label, r->cf->tokens[s->token].label);
		else
			cer_err("  done: [%s] %s", s->id, cf_action_name(s->action));
	}
	cer_err("the transcript in %s records the failure; start again with a new output "
	    "directory and new tokens or key labels", r->cf->out);
}

int ceremony_run(const cer_run_opts *o)
{
	cer_run r;
	ik_status st, fin;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.open = -1;
	if ((st = cf_load(o->file, time(NULL), &r.cf)) != IK_OK) {
		if (r.cf != NULL) {
			cf_print_errors(r.cf);
			cer_err("%zu problem(s) in the ceremony file; nothing was done", r.cf->nerrors);
		}
		goto out;
	}
	if ((st = prepare(&r)) != IK_OK)
		goto out;
	plan_print(&r, stdout);
	fflush(stdout);
	if (o->dry_run) {
		printf("dry run: the file and its inputs are valid; nothing was done\n");
		goto out;
	}
	if ((st = confirm(&r)) != IK_OK || (st = gather_shares(&r)) != IK_OK ||
	    (st = hsm_precheck(&r)) != IK_OK || (st = make_out_dir(&r)) != IK_OK ||
	    (st = transcript_begin(&r)) != IK_OK)
		goto out;
	st = run_steps(&r);
	run_close_token(&r);
	if (st != IK_OK && !r.changed)
		goto out; /* the first step failed before changing anything: no transcript */
	fin = transcript_finish(&r, st == IK_OK);
	if (st == IK_OK)
		st = fin;
	if (st != IK_OK)
		report_partial(&r, st);
out:
	if (st == IK_ERR_CRYPTO)
		ERR_print_errors_fp(stderr);
	run_cleanup(&r);
	return st == IK_OK ? 0 : 1;
}
