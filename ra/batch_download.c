/* batch_download: the one download of an "issue N more" batch, shared by the JSON API and
 * the web pages — every issued certificate's .p12 with a fresh random password, the CA
 * certificates as PEM and DER, passwords.csv, as one ZIP built in memory; then every key of
 * the batch is deleted from the store in one transaction with the history entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "api.h"
#include "batch.h"
#include "log.h"
#include "p12.h"
#include "publish.h"

#define P12_PASSWORD_LEN 20           /* from 55 characters: 115 bits */
/* The passwords are random and long, so key stretching adds nothing; 2048 (OpenSSL's and
 * Windows' default) keeps a 10 000-certificate download to seconds, not hours. */
#define P12_BATCH_ITER 2048u
#define CA_MAX 8

/* No look-alikes (0/O, 1/l/I), nothing that needs quoting in CSV or escaping in a shell. */
static const char PW_ALPHABET[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static ik_status random_password(char out[P12_PASSWORD_LEN + 1])
{
	size_t m = strlen(PW_ALPHABET), limit = 256 - 256 % m, i = 0;
	uint8_t b[64];

	while (i < P12_PASSWORD_LEN) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return IK_ERR_CRYPTO;
		for (size_t k = 0; k < sizeof(b) && i < P12_PASSWORD_LEN; k++)
			if (b[k] < limit)   /* reject bytes that would bias the choice */
				out[i++] = PW_ALPHABET[b[k] % m];
	}
	out[P12_PASSWORD_LEN] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return IK_OK;
}

typedef struct dl_item {
	char cn[RA_CN_MAX + 1];
	char serial[RA_SERIAL_HEX_MAX + 1];
	ra_cert_state state;
	uint8_t *der;
	size_t der_len;
	uint8_t *env;
	size_t env_len;
	uint8_t *spki;                /* its request's public key (IKB2 binds it) */
	size_t spki_len;
} dl_item;

typedef struct dl_list {
	dl_item *v;
	size_t n, cap;
} dl_list;

static void dl_list_free(dl_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].der);
		free(l->v[i].env);
		free(l->v[i].spki);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Copies the rows out, so the read snapshot is not held while the .p12 files are built. */
static int dl_collect(void *ctx, const ra_batch_item *it)
{
	dl_list *l = ctx;
	dl_item *d;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 128;
		dl_item *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	d = &l->v[l->n];
	memset(d, 0, sizeof(*d));
	snprintf(d->cn, sizeof(d->cn), "%s", it->cn);
	snprintf(d->serial, sizeof(d->serial), "%s", it->serial);
	d->state = it->state;
	if (it->der != NULL) {
		if ((d->der = malloc(it->der_len)) == NULL)
			return 1;
		memcpy(d->der, it->der, it->der_len);
		d->der_len = it->der_len;
	}
	if (it->envelope != NULL) {
		if ((d->env = malloc(it->envelope_len)) == NULL) {
			free(d->der);
			return 1;
		}
		memcpy(d->env, it->envelope, it->envelope_len);
		d->env_len = it->envelope_len;
	}
	if (it->spki != NULL && it->spki_len <= RA_SPKI_MAX) {
		if ((d->spki = malloc(it->spki_len)) == NULL) {
			free(d->der);
			free(d->env);
			return 1;
		}
		memcpy(d->spki, it->spki, it->spki_len);
		d->spki_len = it->spki_len;
	}
	l->n++;
	return 0;
}

/* One CSV field, quoted when it needs to be. */
static ik_status csv_field(ik_buf *b, const char *s, int last)
{
	ik_status st = IK_OK;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		st = ik_buf_put_text(b, s);
	} else {
		st = ik_buf_put_text(b, "\"");
		for (const char *p = s; st == IK_OK && *p != '\0'; p++)
			st = *p == '"' ? ik_buf_put_text(b, "\"\"") : ik_buf_put(b, p, 1);
		if (st == IK_OK)
			st = ik_buf_put_text(b, "\"");
	}
	return st == IK_OK ? ik_buf_put_text(b, last ? "\n" : ",") : st;
}

/* The CA certificates into the ZIP (issuing-ca.pem/.der, ..., root-ca.pem/.der) and into
 * chain[] for the .p12 files. */
static ik_status add_ca(ra_req *r, ra_zip *z, ik_buf *ca, const uint8_t **chain,
    size_t *chain_len, size_t *nchain)
{
	unsigned count = 0;
	ik_status st = ra_publish_ca(r->app->publish, 0, &ca[0], &count);

	*nchain = 0;
	for (unsigned i = 1; st == IK_OK && i < count && i < CA_MAX; i++)
		st = ra_publish_ca(r->app->publish, i, &ca[i], &count);
	for (unsigned i = 0; st == IK_OK && i < count && i < CA_MAX; i++) {
		const uint8_t *p = ik_buf_ptr(&ca[i]);
		X509 *x = d2i_X509(NULL, &p, (long)ik_buf_remaining(&ca[i]));
		BIO *b = BIO_new(BIO_s_mem());
		char name[32], *data = NULL;
		const char *base = i == 0 ? "issuing-ca" : i + 1 == count ? "root-ca" : NULL;
		long len;

		if (base == NULL)
			snprintf(name, sizeof(name), "ca-%u", i);
		else
			snprintf(name, sizeof(name), "%s", base);
		if (x == NULL || b == NULL || PEM_write_bio_X509(b, x) != 1 ||
		    (len = BIO_get_mem_data(b, &data)) <= 0)
			st = IK_ERR_CRYPTO;
		if (st == IK_OK) {
			size_t nl = strlen(name);
			snprintf(name + nl, sizeof(name) - nl, ".pem");
			st = ra_zip_add(z, name, data, (size_t)len, 1);
			snprintf(name + nl, sizeof(name) - nl, ".der");
			if (st == IK_OK)
				st = ra_zip_add(z, name, ik_buf_ptr(&ca[i]), ik_buf_remaining(&ca[i]), 0);
		}
		BIO_free(b);
		X509_free(x);
		chain[i] = ik_buf_ptr(&ca[i]);
		chain_len[i] = ik_buf_remaining(&ca[i]);
		*nchain = i + 1;
	}
	return st;
}

typedef struct dl_out {
	ra_zip *z;
	ik_buf csv;             /* passwords.csv: secret */
	ik_buf missing;         /* not_included.csv */
	size_t included, not_included;
} dl_out;

static ik_status not_included(dl_out *o, const dl_item *it, const char *why)
{
	ik_status st = csv_field(&o->missing, it->cn, 0);

	if (st == IK_OK)
		st = csv_field(&o->missing, ra_cert_state_name(it->state), 0);
	if (st == IK_OK)
		st = csv_field(&o->missing, why, 1);
	o->not_included++;
	return st;
}

/* One certificate: its key unsealed, its .p12 under a fresh password, its CSV row. */
static ik_status add_one(ra_batch_opener *opener, int64_t batch_id, ra_p12_flavour flavour,
    const uint8_t *const *chain, const size_t *chain_len, size_t nchain, const dl_item *it,
    dl_out *o)
{
	EVP_PKEY *key = NULL;
	char pw[P12_PASSWORD_LEN + 1], name[RA_CN_MAX + 8];
	ik_buf p12;
	ik_status st;

	if (it->state != RA_CERT_ACTIVE || it->der == NULL)
		return not_included(o, it, "not issued, or no longer active");
	if (it->env == NULL)
		return not_included(o, it, "no key kept for it");
	if (ra_batch_opener_open(opener, it->env, it->env_len, it->spki, it->spki_len, &key) !=
	    IK_OK) {
		ik_log(LOG_ERR, "batch %lld: the stored key of %s does not open (damaged?)",
		    (long long)batch_id, it->cn);
		return not_included(o, it, "its stored key does not open");
	}
	ik_buf_init(&p12, 1024 * 1024);
	ik_buf_set_secret(&p12);
	if ((st = random_password(pw)) == IK_OK) {
		ra_p12_req pr = { .key = key, .cert = it->der, .cert_len = it->der_len,
		    .chain = chain, .chain_len = chain_len, .nchain = nchain, .password = pw,
		    .friendly_name = NULL, .flavour = flavour, .iter = P12_BATCH_ITER };
		st = ra_p12_build(&pr, &p12);
	}
	if (st != IK_OK) {
		ik_log(LOG_ERR, "batch %lld: cannot build the .p12 of %s: %s", (long long)batch_id,
		    it->cn, ik_status_str(st));
		st = not_included(o, it, "its PKCS#12 could not be built");
		goto out;
	}
	snprintf(name, sizeof(name), "%s.p12", it->cn);
	if ((st = ra_zip_add(o->z, name, ik_buf_ptr(&p12), ik_buf_remaining(&p12), 0)) == IK_OK &&
	    (st = csv_field(&o->csv, it->cn, 0)) == IK_OK &&
	    (st = csv_field(&o->csv, it->serial, 0)) == IK_OK)
		st = csv_field(&o->csv, pw, 1);
	if (st == IK_OK)
		o->included++;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	ik_buf_cleanup(&p12);
	EVP_PKEY_free(key);
	return st;
}

static void refuse_download(ra_req *r, const char *target, const char *what, unsigned status,
    const char *code, const char *message, ra_batch_refusal *why)
{
	char detail[128];
	ra_hist h;

	snprintf(detail, sizeof(detail), "{\"why\":\"%s\"}", what);
	h = ra_api_hist(r, "batch_download_failed", target, detail);
	if (ra_history_record(r->app->store, &h) != IK_OK)
		ik_log(LOG_ERR, "cannot record a refused batch download in the history");
	ra_batch_refuse(why, status, code, NULL, message);
}

static void refuse_gone(ra_req *r, const char *target, ra_batch_refusal *why)
{
	refuse_download(r, target, "already downloaded", 410, "batch_downloaded",
	    "this batch has already been downloaded; its keys are gone", why);
}

/* Checks the batch can be downloaded; 0 with why filled when not. */
static int downloadable(ra_req *r, int64_t id, const char *target, ra_batch_info *bi,
    ra_batch_refusal *why)
{
	ik_status st = ra_store_batch_info(r->app->store, id, bi);

	if (st != IK_OK) {
		ra_batch_refuse(why, 0, "store", NULL, "");
		why->st = st;
		return 0;
	}
	if (bi->planned == 0) {
		ra_batch_refuse(why, 409, "not_keyed", NULL, "this batch has no keys made by the RA "
		    "to download");
		return 0;
	}
	if (bi->downloaded != 0 || !bi->has_envelope_key) {
		refuse_gone(r, target, why);
		return 0;
	}
	if (bi->b.state == RA_BATCH_RUNNING || bi->issuing > 0) {
		ra_batch_refuse_running(why, &bi->b, bi->planned);
		return 0;
	}
	return 1;
}

/* The batch's opener: its envelope private key, opened with the passphrase, and its content
 * key (IKB2), unwrapped with it; 0 with why filled. */
static int open_envelope(ra_req *r, int64_t id, const char *target, const ra_batch_info *bi,
    const char *pass, EVP_PKEY **envelope, ra_batch_opener **opener, ra_batch_refusal *why)
{
	ik_buf pem, cek;
	ik_status st;

	ik_buf_init(&pem, RA_BATCH_KEY_PEM_MAX);
	ik_buf_init(&cek, RA_BATCH_CEK_WRAPPED_MAX);
	st = ra_store_batch_envelope_key(r->app->store, id, &pem);
	if (st == IK_OK && (st = ra_store_batch_envelope_cek(r->app->store, id, &cek)) ==
	    IK_ERR_NOT_FOUND)
		st = IK_OK; /* an IKB1-only batch */
	if (st == IK_ERR_STATE) {
		refuse_gone(r, target, why);
	} else if (st != IK_OK) {
		ra_batch_refuse(why, 0, "store", NULL, "");
		why->st = st;
	} else if ((st = ra_batch_envelope_open(ik_buf_ptr(&pem), ik_buf_remaining(&pem),
	    bi->envelope_spki, bi->envelope_spki_len, pass, envelope)) == IK_ERR_AUTH) {
		refuse_download(r, target, "wrong passphrase", 403, "bad_passphrase",
		    "the batch passphrase is wrong", why);
	} else if (st != IK_OK) {
		ik_log(LOG_ERR, "batch %lld: its stored envelope key cannot be read: %s",
		    (long long)id, ik_status_str(st));
		ra_batch_refuse(why, 500, "internal", NULL, "the batch's stored key cannot be read");
	} else if ((st = ra_batch_opener_new(*envelope, id, ik_buf_remaining(&cek) > 0 ?
	    ik_buf_ptr(&cek) : NULL, ik_buf_remaining(&cek), opener)) != IK_OK) {
		ik_log(LOG_ERR, "batch %lld: its stored content key does not open: %s",
		    (long long)id, ik_status_str(st));
		ra_batch_refuse(why, 500, "internal", NULL, "the batch's stored key cannot be read");
	}
	ik_buf_cleanup(&pem);
	ik_buf_cleanup(&cek);
	return st == IK_OK;
}

/* Every certificate of the batch into the ZIP, with passwords.csv (and not_included.csv). */
static ik_status fill_zip(ra_req *r, int64_t id, ra_batch_opener *opener,
    ra_p12_flavour flavour,
    dl_out *o, ra_batch_zip *out, ra_batch_refusal *why)
{
	ik_buf ca[CA_MAX];
	const uint8_t *chain[CA_MAX];
	size_t chain_len[CA_MAX], nchain = 0;
	dl_list items = { 0 };
	ik_status st;

	for (unsigned i = 0; i < CA_MAX; i++)
		ik_buf_init(&ca[i], 64 * 1024);
	if ((st = ra_zip_new(&o->z)) != IK_OK ||
	    (st = add_ca(r, o->z, ca, chain, chain_len, &nchain)) != IK_OK) {
		if (st == IK_ERR_NOT_FOUND || st == IK_ERR_IO)
			ra_batch_refuse(why, 503, "ca_unavailable", NULL, "the CA certificates are not "
			    "available yet (the signer has not answered); try again later");
		else
			ra_batch_refuse(why, 500, "internal", NULL, "cannot start the ZIP file");
		goto out;
	}
	if ((st = ra_store_batch_items(r->app->store, id, dl_collect, &items)) != IK_OK) {
		ra_batch_refuse(why, 0, "store", NULL, "");
		why->st = st == IK_ERR_STATE ? IK_ERR_NOMEM : st;
		goto out;
	}
	st = ik_buf_put_text(&o->csv, "cn,serial,password\n");
	if (st == IK_OK)
		st = ik_buf_put_text(&o->missing, "cn,state,why\n");
	for (size_t i = 0; st == IK_OK && i < items.n; i++)
		st = add_one(opener, id, flavour, chain, chain_len, nchain, &items.v[i], o);
	if (st == IK_OK)
		st = ra_zip_add(o->z, "passwords.csv", ik_buf_ptr(&o->csv), ik_buf_remaining(&o->csv),
		    1);
	if (st == IK_OK && o->not_included > 0)
		st = ra_zip_add(o->z, "not_included.csv", ik_buf_ptr(&o->missing),
		    ik_buf_remaining(&o->missing), 1);
	if (st == IK_OK)
		st = ra_zip_finish(o->z, &out->zip);
	if (st != IK_OK)
		ra_batch_refuse(why, 500, "internal", NULL, "cannot build the ZIP file");
out:
	dl_list_free(&items);
	for (unsigned i = 0; i < CA_MAX; i++)
		ik_buf_cleanup(&ca[i]);
	return st;
}

ik_status ra_batch_download(ra_req *r, int64_t id, const char *pass, ra_batch_zip *out,
    ra_batch_refusal *why)
{
	ra_batch_info bi;
	ra_p12_flavour flavour;
	EVP_PKEY *envelope = NULL;
	ra_batch_opener *opener = NULL;
	dl_out o;
	char target[32], detail[160];
	ra_hist h;
	ik_status st = IK_ERR_STATE;

	memset(&o, 0, sizeof(o));
	memset(why, 0, sizeof(*why));
	memset(out, 0, sizeof(*out));
	ik_buf_init(&out->zip, 0);
	ik_buf_set_secret(&out->zip);
	ik_buf_init(&o.csv, 0);
	ik_buf_set_secret(&o.csv);
	ik_buf_init(&o.missing, 0);
	snprintf(target, sizeof(target), "batch:%lld", (long long)id);
	if (!downloadable(r, id, target, &bi, why))
		goto out;
	if (ra_p12_flavour_parse(bi.p12_format, &flavour) != IK_OK) {
		ra_batch_refuse(why, 500, "internal", NULL, "the batch's PKCS#12 format is not known");
		goto out;
	}
	if (!open_envelope(r, id, target, &bi, pass, &envelope, &opener, why) ||
	    fill_zip(r, id, opener, flavour, &o, out, why) != IK_OK)
		goto out;
	/* handed out now: every key of the batch goes, in one transaction with the record */
	snprintf(detail, sizeof(detail), "{\"included\":%zu,\"not_included\":%zu,\"format\":\"%s\","
	    "\"bytes\":%zu}", o.included, o.not_included, bi.p12_format,
	    ik_buf_remaining(&out->zip));
	h = ra_api_hist(r, "batch_download", target, detail);
	st = ra_store_batch_purge_keys(r->app->store, id, &h);
	if (st == IK_ERR_STATE) {
		ra_batch_refuse(why, 410, "batch_downloaded", NULL, "this batch has just been "
		    "downloaded by another request; its keys are gone");
		goto out;
	}
	if (st != IK_OK) {
		ra_batch_refuse(why, 0, "store", NULL, "");
		why->st = st;
		goto out;
	}
	ik_log(LOG_INFO, "%s downloaded batch %lld: %zu certificates, %zu not included",
	    r->who.login, (long long)id, o.included, o.not_included);
	out->included = o.included;
	out->not_included = o.not_included;
out:
	if (st != IK_OK) {
		if (why->code == NULL)
			ra_batch_refuse(why, 500, "internal", NULL, "cannot build the ZIP file");
		ik_buf_cleanup(&out->zip);
	}
	ra_batch_opener_free(opener);
	EVP_PKEY_free(envelope);
	ra_zip_free(o.z);
	ik_buf_cleanup(&o.csv);
	ik_buf_cleanup(&o.missing);
	return st;
}
