/* transcript: the ceremony's record — who, where, when, every step with its inputs (as written
 * in the ceremony file, plus the SHA-256 of every input file), what it made and the SHA-256
 * of every public file written — as JSON, signed at the end with the root key (a detached
 * signature over the exact bytes of transcript.json). */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "run.h"

#define TRANSCRIPT "transcript.json"
#define SIGNATURE "transcript.json.sig"
#define FORMAT "inkan-ceremony-transcript/1"

static json_t *names_of(const cf_file *cf, unsigned mask)
{
	json_t *a = json_array();

	for (size_t i = 0; i < cf->ncustodians; i++)
		if (mask & (1u << i))
			json_array_append_new(a, json_string(cf->custodians[i]));
	return a;
}

ik_status transcript_begin(cer_run *r)
{
	const cf_file *cf = r->cf;
	char when[32], hex[CER_HEX32_LEN], host[256] = "?";
	struct passwd *pw = getpwuid(geteuid());
	json_t *toks = json_array();

	r->tr = json_object();
	r->steps = json_array();
	r->artifacts = json_array();
	if (r->tr == NULL || r->steps == NULL || r->artifacts == NULL || toks == NULL)
		return IK_ERR_NOMEM;
	run_iso_time(cf->now, when);
	cer_hex(cf->sha256, sizeof(cf->sha256), hex, 0);
	(void)gethostname(host, sizeof(host) - 1);
	json_object_set_new(r->tr, "format", json_string(FORMAT));
	json_object_set_new(r->tr, "title", json_string(cf->title));
	json_object_set_new(r->tr, "ceremony_file", json_pack("{s:s, s:s, s:s}", "path", cf->path,
	    "copy", "ceremony.ini", "sha256", hex));
	json_object_set_new(r->tr, "host", json_string(host));
	json_object_set_new(r->tr, "operator", json_pack("{s:s, s:I}", "user",
	    pw != NULL ? pw->pw_name : "?", "uid", (json_int_t)geteuid()));
	json_object_set_new(r->tr, "started", json_string(when));
	json_object_set_new(r->tr, "output_dir", json_string(cf->out));
	if (cf->ncustodians > 0)
		json_object_set_new(r->tr, "custodians", json_pack("{s:o, s:I, s:o}",
		    "listed", names_of(cf, (1u << cf->ncustodians) - 1), "threshold",
		    (json_int_t)cf->threshold, "present", names_of(cf, cf->present)));
	for (size_t t = 0; t < cf->ntokens; t++) {
		const cf_token *tk = &cf->tokens[t];
		json_array_append_new(toks, json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", tk->id,
		    "label", tk->label, "module", tk->module, "pin",
		    tk->pin == CF_PIN_SHARES ? "shares" : "file", "initialised_here", tk->init_step >= 0));
	}
	json_object_set_new(r->tr, "tokens", toks);
	json_object_set_new(r->tr, "steps", r->steps);          /* r->steps stays a borrowed ref */
	json_object_set_new(r->tr, "artifacts", r->artifacts);
	return IK_OK;
}

json_t *transcript_step(cer_run *r, size_t i)
{
	const cf_step *s = &r->cf->steps[i];
	const cf_section *sec = &r->cf->sections[s->sec];
	json_t *in = json_object(), *rec;
	char when[32];

	run_iso_time(time(NULL), when);
	for (size_t k = 0; k < sec->nkv; k++)
		json_object_set_new(in, sec->kv[k].key, json_string(sec->kv[k].value));
	rec = json_pack("{s:I, s:s, s:s, s:I, s:s, s:o}", "n", (json_int_t)(i + 1), "id", s->id,
	    "action", cf_action_name(s->action), "line", (json_int_t)sec->line, "started", when,
	    "inputs", in);
	if (rec == NULL)
		return NULL;
	if (r->in[i].files != NULL)
		json_object_set(rec, "input_files", r->in[i].files);
	if (json_array_append_new(r->steps, rec) != 0)
		return NULL;
	r->res[i].rec = rec;
	return rec;
}

/* fingerprints.txt: every certificate, CRL and public key written, as openssl prints them. */
static ik_status write_fingerprints(cer_run *r)
{
	char names[3][CF_OUT_MAX + 16], fpr[CER_FPR_LEN], *p = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	long n;
	ik_status st = IK_ERR_NOMEM;

	if (b == NULL)
		return st;
	for (size_t i = 0; i < r->cf->nsteps; i++) {
		const json_t *made = json_object_get(r->res[i].rec, "outputs");
		if (!r->res[i].done || made == NULL)
			continue;
		steps_output_names(&r->cf->steps[i], names);
		if (r->res[i].cert != NULL && cer_fingerprint(r->res[i].cert, fpr) == IK_OK)
			BIO_printf(b, "%s SHA256 Fingerprint=%s\n", names[0], fpr);
		else
			BIO_printf(b, "%s SHA-256 %s\n", names[0], json_string_value(json_object_get(
			    json_array_get(made, 0), "sha256")));
	}
	if ((n = BIO_get_mem_data(b, &p)) >= 0)
		st = run_write_artifact(r, (size_t)-1, "fingerprints.txt", p, (size_t)n);
	BIO_free(b);
	return st;
}

static const char *artifact_sha(cer_run *r, const char *name)
{
	size_t i;
	json_t *a;

	json_array_foreach(r->artifacts, i, a)
		if (strcmp(json_string_value(json_object_get(a, "file")), name) == 0)
			return json_string_value(json_object_get(a, "sha256"));
	return NULL;
}

static ik_status write_out(cer_run *r, const char *name, const void *data, size_t n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", r->cf->out, name);
	return cer_write_file(path, data, n, 0644);
}

/* Sign text with the transcript signer's key and write the detached signature. */
static ik_status sign_transcript(cer_run *r, const char *text, size_t n)
{
	const cf_step *s = &r->cf->steps[r->cf->signer_step];
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	hsm_key *k;
	ik_status st;

	if ((st = run_find_key(r, s->token, s->key_label, s->key_id, s->key_id_len, &k)) != IK_OK)
		return st;
	if ((st = hsm_sign(r->h, k, (const uint8_t *)text, n, sig, &siglen)) != IK_OK) {
		run_fail(r, "signing the transcript in the HSM: %s", ik_status_str(st));
		return st;
	}
	return write_out(r, SIGNATURE, sig, siglen);
}

ik_status transcript_finish(cer_run *r, int ok)
{
	const cf_file *cf = r->cf;
	int signer = cf->signer_step;
	int can_sign = signer >= 0 && r->res[signer].done;
	char names[3][CF_OUT_MAX + 16], when[32], set[2 * SHARE_SET_ID_LEN + 1];
	char *text = NULL;
	ik_status st, st2;

	st = write_fingerprints(r);
	st2 = run_write_artifact(r, (size_t)-1, "ceremony.ini", cf->text, cf->text_len);
	if (st == IK_OK)
		st = st2;
	run_iso_time(time(NULL), when);
	json_object_set_new(r->tr, "finished", json_string(when));
	json_object_set_new(r->tr, "result", json_string(ok && st == IK_OK ? "completed" : "failed"));
	if (!ok)
		json_object_set_new(r->tr, "error", json_string(r->why));
	if (cf->ncustodians > 0)
		json_object_set_new(json_object_get(r->tr, "custodians"), "shares_used",
		    names_of(cf, r->shares_used));
	if (r->have_set_id) {
		cer_hex(r->set_id, SHARE_SET_ID_LEN, set, 0);
		json_object_set_new(r->tr, "share_set", json_string(set));
	}
	if (can_sign) {
		const cf_step *s = &cf->steps[signer];
		steps_output_names(s, names);
		json_object_set_new(r->tr, "signature", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
		    "file", SIGNATURE, "cert", names[0], "cert_sha256", artifact_sha(r, names[0]),
		    "digest", EVP_MD_get0_name(cer_md_for(r->res[signer].pub)),
		    "token", cf->tokens[s->token].label, "key_label", s->key_label));
	}
	text = json_dumps(r->tr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		run_fail(r, "cannot encode the transcript");
		return IK_ERR_NOMEM;
	}
	{
		size_t n = strlen(text);
		char *t2 = realloc(text, n + 2);
		if (t2 == NULL) {
			free(text);
			return IK_ERR_NOMEM;
		}
		text = t2;
		text[n] = '\n';
		text[n + 1] = '\0';
	}
	if ((st2 = write_out(r, TRANSCRIPT, text, strlen(text))) == IK_OK && can_sign)
		st2 = sign_transcript(r, text, strlen(text));
	if (st == IK_OK)
		st = st2;
	if (st2 == IK_OK)
		printf("transcript: %s/%s%s\n", cf->out, TRANSCRIPT, can_sign ? " (signed: " SIGNATURE ")" :
		    " (NOT signed: the root key was never reached)");
	free(text);
	return st;
}
