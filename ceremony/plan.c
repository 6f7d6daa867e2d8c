/* plan: the dry run — everything the ceremony will do, in order, in words the people in the
 * room can check against the ceremony script before anyone types "yes". */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "run.h"

static void print_date(FILE *f, time_t t)
{
	char when[32];

	run_iso_time(t, when);
	when[10] = '\0';
	fputs(when, f);
}

static void print_names(FILE *f, const cf_file *cf, unsigned mask)
{
	const char *sep = "";

	for (size_t i = 0; i < cf->ncustodians; i++)
		if (mask & (1u << i)) {
			fprintf(f, "%s%s", sep, cf->custodians[i]);
			sep = ", ";
		}
}

static void print_key(FILE *f, const cf_file *cf, const cf_step *s)
{
	char id[2 * 32 + 1];

	cer_hex(s->key_id, s->key_id_len, id, 0);
	fprintf(f, "key \"%s\"%s%s%s on token \"%s\"", s->key_label, s->key_id_len > 0 ? " (id " : "",
	    s->key_id_len > 0 ? id : "", s->key_id_len > 0 ? ")" : "", cf->tokens[s->token].label);
	if (s->key_step < 0 && s->action != CF_GENERATE_KEY)
		fprintf(f, " (already there)");
}

static void print_subject(FILE *f, const cf_step *s)
{
	fprintf(f, "       subject   C=%s, O=%s, %s%s%sCN=%s\n", s->country, s->org,
	    s->ou[0] != '\0' ? "OU=" : "", s->ou, s->ou[0] != '\0' ? ", " : "", s->cn);
	fprintf(f, "       validity  ");
	print_date(f, s->not_before);
	fprintf(f, " .. ");
	print_date(f, s->not_after);
	if (s->years > 0)
		fprintf(f, " (%d year%s)\n", s->years, s->years > 1 ? "s" : "");
	else
		fprintf(f, " (%d days)\n", s->days);
}

static void print_outputs(FILE *f, const cf_step *s)
{
	char names[3][CF_OUT_MAX + 16];
	size_t n = steps_output_names(s, names);

	if (n == 0)
		return;
	fprintf(f, "       writes    ");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i > 0 ? ", " : "", names[i]);
	fputc('\n', f);
}

static void print_crl(FILE *f, const cer_run *r, const cf_step *s)
{
	fprintf(f, "CRL of \"%s\", number %llu, next update in %d days\n",
	    r->cf->steps[s->issuer].id, (unsigned long long)s->crl_number, s->next_update_days);
	if (s->previous_crl[0] != '\0')
		fprintf(f, "       carries   the entries of %s\n", s->previous_crl);
	for (size_t j = 0; j < s->nrevoke; j++)
		fprintf(f, "       revokes   %s%s%s\n",
		    s->revoke[j].step >= 0 ? r->cf->steps[s->revoke[j].step].id : s->revoke[j].path,
		    s->reason >= 0 ? ", reason " : "", s->reason >= 0 ? cf_reason_name(s->reason) : "");
}

static void print_step(FILE *f, const cer_run *r, size_t i)
{
	const cf_file *cf = r->cf;
	const cf_step *s = &cf->steps[i];

	fprintf(f, "  %2zu. [%s] ", i + 1, s->id);
	switch (s->action) {
	case CF_INIT_TOKEN:
		fprintf(f, "initialise token \"%s\" with new random user and SO PINs\n",
		    cf->tokens[s->token].label);
		break;
	case CF_GENERATE_KEY:
		fprintf(f, "generate a %s ", cf_alg_name(s->alg));
		print_key(f, cf, s);
		fprintf(f, ",\n       sensitive and never extractable\n");
		break;
	case CF_SELF_SIGN:
		fprintf(f, "self-signed root CA with ");
		print_key(f, cf, s);
		fputc('\n', f);
		print_subject(f, s);
		break;
	case CF_USE_ROOT:
		fprintf(f, "use the root %s with ", s->cert);
		print_key(f, cf, s);
		fputc('\n', f);
		break;
	case CF_SIGN_CA:
		fprintf(f, "CA certificate signed by \"%s\" for ", cf->steps[s->issuer].id);
		if (s->csr[0] != '\0')
			fprintf(f, "the key in request %s", s->csr);
		else
			print_key(f, cf, s);
		fputc('\n', f);
		print_subject(f, s);
		fprintf(f, "       CA:TRUE, pathlen:%d%s%s\n", s->path_len,
		    s->crl_url[0] != '\0' ? ", CRL at " : "", s->crl_url);
		break;
	case CF_SIGN_CRL:
		print_crl(f, r, s);
		break;
	}
	print_outputs(f, s);
}

static void print_tokens(FILE *f, const cf_file *cf)
{
	fprintf(f, "Tokens:\n");
	for (size_t t = 0; t < cf->ntokens; t++) {
		const cf_token *tk = &cf->tokens[t];
		fprintf(f, "  %-10s \"%s\" (%s)\n", tk->id, tk->label, tk->module);
		if (tk->pin == CF_PIN_SHARES && tk->init_step >= 0)
			fprintf(f, "             new PIN split into %zu shares, any %u of which unlock it:\n"
			    "             one file per custodian in %s (mode 0400)\n", cf->ncustodians,
			    cf->threshold, cf->shares_dir);
		else if (tk->pin == CF_PIN_SHARES)
			fprintf(f, "             PIN rebuilt in memory from %u custodian shares\n",
			    cf->threshold);
		else if (tk->init_step >= 0)
			fprintf(f, "             new PIN written to %s (mode 0400, owner %s),\n"
			    "             new SO PIN to %s (mode 0400)\n", tk->pin_file,
			    tk->has_owner ? tk->owner : "the operator", tk->so_pin_file);
		else
			fprintf(f, "             PIN read from %s\n", tk->pin_file);
	}
}

void plan_print(const cer_run *r, FILE *f)
{
	const cf_file *cf = r->cf;
	char hex[CER_HEX32_LEN];

	cer_hex(cf->sha256, sizeof(cf->sha256), hex, 0);
	fprintf(f, "Ceremony \"%s\"\n", cf->title);
	fprintf(f, "  file        %s\n  SHA-256     %s\n", cf->path, hex);
	fprintf(f, "  output      %s%s\n", cf->out, r->out_missing ? " (will be created)" : "");
	fprintf(f, "  clock       ");
	print_date(f, cf->now);
	fputc('\n', f);
	if (cf->ncustodians > 0) {
		fprintf(f, "Custodians (any %u of %zu): ", cf->threshold, cf->ncustodians);
		print_names(f, cf, (1u << cf->ncustodians) - 1);
		fprintf(f, "\n  present:   ");
		print_names(f, cf, cf->present);
		fputc('\n', f);
	}
	print_tokens(f, cf);
	fprintf(f, "Steps:\n");
	for (size_t i = 0; i < cf->nsteps; i++)
		print_step(f, r, i);
	if (cf->signer_step >= 0)
		fprintf(f, "Finally: fingerprints.txt, ceremony.ini (a copy of this file), transcript.json,\n"
		    "  signed with the key of \"%s\" into transcript.json.sig.\n",
		    cf->steps[cf->signer_step].id);
	fprintf(f, "Nothing existing is overwritten: keys, tokens and files are refused if present.\n");
}
