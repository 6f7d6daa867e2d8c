/* hsm: signing keys in a PKCS#11 token through libp11.  Detects a lost session or a removed
 * token, reports IK_ERR_HSM_UNAVAILABLE (logged once per outage) and recovers by reloading
 * the module, logging in again and finding every key again by label/ID — no restart. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "hsm.h"
#include "log.h"

/*
 * Concurrency.  libp11 0.4.12 is safe for concurrent signs on one key: every RSA/ECDSA
 * operation (p11_rsa.c pkcs11_private_encrypt, p11_ec.c pkcs11_ecdsa_sign) takes its own
 * session from the slot's pool (p11_slot.c pkcs11_get_session/put_session, under the slot
 * mutex), runs C_SignInit+C_Sign on it and puts it back; the module is initialised with
 * CKF_OS_LOCKING_OK.  So signers only share the context's read lock; everything that
 * changes libp11 state (open, key lookup, recovery) takes the write lock.  The lock
 * prefers writers so a recovery is not starved by a stream of signers.
 *
 * One libp11 0.4.12 trap: pkcs11_get_session() waits on a condition variable forever if
 * C_OpenSession fails and no pooled session exists — which is the state right after
 * PKCS11_open_session().  Before logging in we therefore check the token through the
 * module's own function list (C_GetTokenInfo + C_OpenSession) so a vanished token gives an
 * error instead of a hang.
 *
 * Session copies (hsm_config.session_copy).  SoftHSM re-reads a token object's file (open,
 * fcntl lock, read) on every access to it, C_SignInit included: about 28 of its 83 µs of
 * CPU per P-256 signature here.  So each key is copied once into a session object
 * (C_CopyObject with CKA_TOKEN false: the copy keeps CKA_SENSITIVE and non-extractability
 * and lives in the token until its session closes) and signs through the copy.  A token
 * that refuses the copy keeps signing with the token object.  Because the copy outlives a
 * token that vanishes under it, the token object itself is read at most every
 * HSM_COPY_CHECK_MS by one signer (before a signature) and before every hsm_with_pkey: a
 * vanished token is still noticed, within that window under load and at the first
 * signature after an idle moment.
 *
 * Outages, as SoftHSM 2.6.1 shows them: with the file backend, renaming or deleting the
 * token directory (DIR/tokens, or the token's DIR/tokens/<uuid>/ subdirectory) makes the
 * next C_SignInit fail with CKR_OBJECT_HANDLE_INVALID; C_GetTokenInfo then returns
 * CKR_GENERAL_ERROR.  Putting the directory back does NOT heal the loaded module — only
 * C_Finalize + C_Initialize (PKCS11_CTX_unload + PKCS11_CTX_load) rescans the store, which
 * is what recovery does.  While DIR/tokens is missing, C_Initialize itself fails
 * ("Failed to enumerate object store"); while only the <uuid> subdirectory is missing the
 * token is simply not in the slot list.  (We run as root in tests, so chmod 000 is no
 * outage at all.)  The integration tests "remove the HSM" with `mv DIR/tokens
 * DIR/tokens.away` and restore it with `mv DIR/tokens.away DIR/tokens`.
 */

#define HSM_RETRY_INTERVAL_MS 1000
#define HSM_MAX_KEYS 8
#define HSM_COPY_CHECK_MS 5        /* read the token object behind a copy this often */
#define HSM_COPY_SUFFIX " (inkan session copy)"

struct hsm_key {
	char label[65];
	uint8_t id[64];
	size_t id_len;
	EVP_PKEY *pkey;   /* libp11 private key; NULL while the token is away */
	EVP_PKEY *pub;    /* plain public copy, kept across outages */
	hsm_keyalg alg;
	int copied;                 /* pkey is a session copy of token_obj */
	CK_OBJECT_HANDLE token_obj;
	atomic_llong checked_ms;    /* when token_obj was last read */
};

struct hsm_ctx {
	pthread_rwlock_t lock;     /* read: signing; write: (re)opening, key lookup */
	char module[PATH_MAX];
	char token[65];
	char pin[HSM_MAX_PIN + 1];
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned nslots;
	PKCS11_SLOT *slot;
	void *dl;                  /* our reference to the module libp11 loaded */
	CK_FUNCTION_LIST_PTR fl;   /* its function list, for probes */
	CK_SLOT_ID slot_id;
	int session_copy;          /* sign with session copies of the keys */
	int copy_open;
	CK_SESSION_HANDLE copy_sess; /* the session that holds the copies */
	atomic_int available;
	atomic_uint generation;    /* bumped by every successful recovery */
	atomic_llong last_attempt_ms;
	size_t nkeys;
	hsm_key keys[HSM_MAX_KEYS];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first CKR code libp11 left in this thread's error queue (0 if none); clears it. */
static unsigned long take_ckr(void)
{
	unsigned long e, ckr = 0;
	int lib = ERR_get_CKR_code();

	while ((e = ERR_get_error()) != 0)
		if (ckr == 0 && ERR_GET_LIB(e) == lib)
			ckr = (unsigned long)ERR_GET_REASON(e);
	return ckr;
}

static const struct {
	CK_RV rv;
	const char *name;
} outage_codes[] = {
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
};

/* The name of an outage code, or NULL if rv does not mean the token went away. */
static const char *outage_name(unsigned long rv)
{
	for (size_t i = 0; i < sizeof(outage_codes) / sizeof(outage_codes[0]); i++)
		if (outage_codes[i].rv == rv)
			return outage_codes[i].name;
	return NULL;
}

/* ---- the module's own function list, for probes (lock held) ---- */

static void raw_attach(hsm_ctx *h)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);

	h->dl = dlopen(h->module, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (h->dl == NULL)
		return;
	*(void **)(&get) = dlsym(h->dl, "C_GetFunctionList");
	if (get == NULL || get(&h->fl) != CKR_OK)
		h->fl = NULL;
}

/* CKR_OK if the token answers and a session can be opened on it. */
static CK_RV raw_token_check(hsm_ctx *h)
{
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if (h->fl == NULL)
		return CKR_OK; /* cannot tell; let libp11 find out */
	rv = h->fl->C_GetTokenInfo(h->slot_id, &ti);
	if (rv != CKR_OK)
		return rv;
	rv = h->fl->C_OpenSession(h->slot_id, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv == CKR_OK)
		h->fl->C_CloseSession(s);
	return rv;
}

/* ---- opening and closing the libp11 context (write lock held) ---- */

static void ctx_close(hsm_ctx *h)
{
	for (size_t i = 0; i < h->nkeys; i++) {
		EVP_PKEY_free(h->keys[i].pkey);
		h->keys[i].pkey = NULL;
		h->keys[i].copied = 0;
	}
	if (h->copy_open && h->fl != NULL)
		h->fl->C_CloseSession(h->copy_sess); /* destroys the copies */
	h->copy_open = 0;
	if (h->dl != NULL)
		dlclose(h->dl);
	h->dl = NULL;
	h->fl = NULL;
	if (h->ctx != NULL) {
		if (h->slots != NULL)
			PKCS11_release_all_slots(h->ctx, h->slots, h->nslots);
		PKCS11_CTX_unload(h->ctx);
		PKCS11_CTX_free(h->ctx);
	}
	h->ctx = NULL;
	h->slots = NULL;
	h->nslots = 0;
	h->slot = NULL;
}

static ik_status pkey_alg(EVP_PKEY *pk, hsm_keyalg *alg)
{
	int bits = EVP_PKEY_get_bits(pk);

	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC && (bits == 256 || bits == 384))
		*alg = bits == 256 ? HSM_KEY_EC_P256 : HSM_KEY_EC_P384;
	else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA && (bits == 3072 || bits == 4096))
		*alg = bits == 3072 ? HSM_KEY_RSA_3072 : HSM_KEY_RSA_4096;
	else
		return IK_ERR_CONFIG; /* a key type we do not sign with */
	return IK_OK;
}

/* A plain (non-PKCS#11) copy of the public half. */
static ik_status pub_copy(EVP_PKEY *pk, EVP_PKEY **out)
{
	uint8_t *der = NULL;
	const uint8_t *p;
	int n = i2d_PUBKEY(pk, &der);
	ik_status st = IK_OK;

	p = der;
	if (n <= 0 || (*out = d2i_PUBKEY(NULL, &p, n)) == NULL)
		st = IK_ERR_CRYPTO;
	OPENSSL_free(der);
	return st;
}

/* 1 if the label is that of one of our session copies. */
static int is_copy_label(const char *label)
{
	size_t n = label != NULL ? strlen(label) : 0, m = strlen(HSM_COPY_SUFFIX);

	return n >= m && strcmp(label + n - m, HSM_COPY_SUFFIX) == 0;
}

static int key_matches(const PKCS11_KEY *pk, const hsm_key *k)
{
	if (!pk->isPrivate || is_copy_label(pk->label))
		return 0;
	if (k->label[0] != '\0' && (pk->label == NULL || strcmp(pk->label, k->label) != 0))
		return 0;
	if (k->id_len > 0 && (pk->id_len != k->id_len || memcmp(pk->id, k->id, k->id_len) != 0))
		return 0;
	return 1;
}

/* The one token private key with k's label and/or id, through the copy session. */
static CK_RV token_object(hsm_ctx *h, const hsm_key *k, CK_OBJECT_HANDLE *obj)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE a[4] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
	};
	CK_ULONG na = 2, n = 0;
	CK_OBJECT_HANDLE found[2];
	CK_RV rv;

	if (k->label[0] != '\0')
		a[na++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)(uintptr_t)k->label, strlen(k->label) };
	if (k->id_len > 0)
		a[na++] = (CK_ATTRIBUTE){ CKA_ID, (void *)(uintptr_t)k->id, k->id_len };
	if ((rv = h->fl->C_FindObjectsInit(h->copy_sess, a, na)) != CKR_OK)
		return rv;
	rv = h->fl->C_FindObjects(h->copy_sess, found, 2, &n);
	h->fl->C_FindObjectsFinal(h->copy_sess);
	if (rv == CKR_OK && n != 1)
		rv = CKR_KEY_HANDLE_INVALID; /* none, or not one */
	*obj = found[0];
	return rv;
}

/* The libp11 key for the session copy labelled copy_label (with k's id, if k has one). */
static EVP_PKEY *copy_pkey(hsm_ctx *h, const hsm_key *k, const char *copy_label)
{
	PKCS11_KEY *keys = NULL;
	unsigned n = 0;

	if (PKCS11_enumerate_keys(h->slot->token, &keys, &n) != 0)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (keys[i].isPrivate && keys[i].label != NULL &&
		    strcmp(keys[i].label, copy_label) == 0 &&
		    (k->id_len == 0 || (keys[i].id_len == k->id_len &&
		    memcmp(keys[i].id, k->id, k->id_len) == 0)))
			return PKCS11_get_private_key(&keys[i]);
	return NULL;
}

/* Copy k's token key into a session object and sign with the copy from now on (see
 * "Session copies" above).  On any failure k keeps its token key. */
static ik_status key_copy(hsm_ctx *h, hsm_key *k)
{
	char label[sizeof(k->label) + sizeof(HSM_COPY_SUFFIX)];
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE t[2] = { { CKA_TOKEN, &no, sizeof(no) }, { CKA_LABEL, label, 0 } };
	CK_OBJECT_HANDLE obj, copy;
	EVP_PKEY *pk;
	CK_RV rv;

	if (h->fl == NULL)
		return IK_ERR_HSM;
	if (!h->copy_open) {
		if (h->fl->C_OpenSession(h->slot_id, CKF_SERIAL_SESSION, NULL, NULL,
		    &h->copy_sess) != CKR_OK)
			return IK_ERR_HSM;
		h->copy_open = 1;
	}
	snprintf(label, sizeof(label), "%s" HSM_COPY_SUFFIX, k->label[0] != '\0' ? k->label : "key");
	t[1].ulValueLen = strlen(label);
	if ((rv = token_object(h, k, &obj)) != CKR_OK ||
	    (rv = h->fl->C_CopyObject(h->copy_sess, obj, t, 2, &copy)) != CKR_OK) {
		ik_log(LOG_INFO, "HSM: key '%s' not copied to a session object (CKR 0x%lx): "
		    "signing with the token object", k->label, (unsigned long)rv);
		return IK_ERR_HSM;
	}
	if ((pk = copy_pkey(h, k, label)) == NULL) {
		take_ckr();
		h->fl->C_DestroyObject(h->copy_sess, copy);
		return IK_ERR_HSM;
	}
	EVP_PKEY_free(k->pkey);
	k->pkey = pk;
	k->copied = 1;
	k->token_obj = obj;
	atomic_store(&k->checked_ms, mono_ms());
	ik_log(LOG_INFO, "HSM: key '%s' signs through a session copy", k->label);
	return IK_OK;
}

/* Look a key up by label and/or id on the open token; sets k->pkey (and k->pub once). */
static ik_status key_lookup(hsm_ctx *h, hsm_key *k)
{
	PKCS11_KEY *keys = NULL;
	unsigned n = 0;
	EVP_PKEY *pk;
	ik_status st;

	if (PKCS11_enumerate_keys(h->slot->token, &keys, &n) != 0)
		return outage_name(take_ckr()) != NULL ? IK_ERR_HSM_UNAVAILABLE : IK_ERR_HSM;
	for (unsigned i = 0; i < n; i++) {
		if (!key_matches(&keys[i], k))
			continue;
		if ((pk = PKCS11_get_private_key(&keys[i])) == NULL) {
			take_ckr();
			return IK_ERR_HSM;
		}
		if ((st = pkey_alg(pk, &k->alg)) != IK_OK ||
		    (k->pub == NULL && (st = pub_copy(pk, &k->pub)) != IK_OK)) {
			EVP_PKEY_free(pk);
			return st;
		}
		EVP_PKEY_free(k->pkey);
		k->pkey = pk;
		k->copied = 0;
		if (h->session_copy)
			key_copy(h, k); /* keeps the token key if the token will not */
		return IK_OK;
	}
	return IK_ERR_NOT_FOUND;
}

/* Find our token in the (fresh) slot list. */
static ik_status find_slot(hsm_ctx *h)
{
	for (unsigned i = 0; i < h->nslots; i++) {
		PKCS11_TOKEN *t = h->slots[i].token;
		if (t != NULL && t->initialized && t->label != NULL && strcmp(t->label, h->token) == 0) {
			h->slot = &h->slots[i];
			h->slot_id = PKCS11_get_slotid_from_slot(h->slot);
			return IK_OK;
		}
	}
	return IK_ERR_NOT_FOUND;
}

/* Load the module, find the token, log in, look up every known key.  Logs only when
 * !quiet (recovery attempts repeat every second and must not flood the log).  A token
 * that is absent gives IK_ERR_NOT_FOUND. */
static ik_status ctx_open(hsm_ctx *h, int quiet)
{
	unsigned long ckr;
	ik_status st;

	if ((h->ctx = PKCS11_CTX_new()) == NULL)
		return IK_ERR_NOMEM;
	if (PKCS11_CTX_load(h->ctx, h->module) != 0) {
		ckr = take_ckr();
		PKCS11_CTX_free(h->ctx);
		h->ctx = NULL;
		if (!quiet)
			ik_log(LOG_ERR, "HSM: cannot load/initialise PKCS#11 module %s (CKR 0x%lx)",
			    h->module, ckr);
		return ckr != 0 ? IK_ERR_HSM_UNAVAILABLE : IK_ERR_CONFIG;
	}
	raw_attach(h);
	if (PKCS11_enumerate_slots(h->ctx, &h->slots, &h->nslots) != 0) {
		take_ckr();
		h->slots = NULL;
		return IK_ERR_HSM_UNAVAILABLE;
	}
	if ((st = find_slot(h)) != IK_OK)
		return st;
	if ((ckr = raw_token_check(h)) != CKR_OK)
		return IK_ERR_HSM_UNAVAILABLE;
	if (PKCS11_open_session(h->slot, 0) != 0 || PKCS11_login(h->slot, 0, h->pin) != 0) {
		ckr = take_ckr();
		if (ckr == CKR_PIN_INCORRECT || ckr == CKR_PIN_LOCKED || ckr == CKR_PIN_LEN_RANGE ||
		    ckr == CKR_PIN_INVALID)
			return IK_ERR_AUTH;
		return IK_ERR_HSM_UNAVAILABLE;
	}
	for (size_t i = 0; i < h->nkeys; i++)
		if ((st = key_lookup(h, &h->keys[i])) != IK_OK)
			return st;
	return IK_OK;
}

/* Throw the whole libp11 context away and build it again (write lock held). */
static ik_status ctx_reopen(hsm_ctx *h)
{
	ik_status st;

	ctx_close(h);
	st = ctx_open(h, 1);
	if (st != IK_OK)
		ctx_close(h);
	return st;
}

/* ---- public API ---- */

static ik_status read_pin(const hsm_config *cfg, char *pin, size_t pinsz)
{
	ik_status st;

	if (cfg->pin_fd >= 0)
		return hsm_read_pin_fd(cfg->pin_fd, pin, pinsz);
	if (cfg->pin_file == NULL)
		return IK_ERR_ARG;
	st = hsm_read_pin_file(cfg->pin_file, pin, pinsz);
	if (st != IK_OK)
		ik_log(LOG_ERR, "HSM: PIN file %s: %s (it must be a non-empty regular file of ours, "
		    "mode 0400 or 0600)", cfg->pin_file, ik_status_str(st));
	return st;
}

static ik_status lock_init(pthread_rwlock_t *l)
{
	pthread_rwlockattr_t a;
	int rc;

	if (pthread_rwlockattr_init(&a) != 0)
		return IK_ERR_NOMEM;
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(l, &a);
	pthread_rwlockattr_destroy(&a);
	return rc == 0 ? IK_OK : IK_ERR_NOMEM;
}

ik_status hsm_open(const hsm_config *cfg, hsm_ctx **out)
{
	hsm_ctx *h = NULL;
	ik_status st;
	const char *module;

	*out = NULL;
	if (cfg == NULL || cfg->token_label == NULL) {
		st = IK_ERR_ARG;
		goto fail;
	}
	module = cfg->module != NULL ? cfg->module : HSM_DEFAULT_MODULE;
	if (strlen(cfg->token_label) >= sizeof(h->token) || strlen(module) >= sizeof(h->module)) {
		st = IK_ERR_ARG;
		goto fail;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		st = IK_ERR_NOMEM;
		goto fail;
	}
	if ((st = lock_init(&h->lock)) != IK_OK) {
		free(h);
		h = NULL;
		goto fail;
	}
	memcpy(h->module, module, strlen(module) + 1);
	memcpy(h->token, cfg->token_label, strlen(cfg->token_label) + 1);
	h->session_copy = cfg->session_copy;
	if ((st = read_pin(cfg, h->pin, sizeof(h->pin))) != IK_OK)
		goto fail;
	if ((st = ctx_open(h, 0)) != IK_OK) {
		if (st == IK_ERR_NOT_FOUND)
			ik_log(LOG_ERR, "HSM: no initialised token labelled '%s'", h->token);
		else if (st == IK_ERR_AUTH)
			ik_log(LOG_ERR, "HSM: login to token '%s' refused: wrong PIN", h->token);
		goto fail;
	}
	atomic_store(&h->available, 1);
	*out = h;
	return IK_OK;
fail:
	if (h == NULL && cfg != NULL && cfg->pin_fd >= 0)
		close(cfg->pin_fd); /* the fd is always consumed */
	hsm_close(h);
	return st;
}

void hsm_close(hsm_ctx *h)
{
	if (h == NULL)
		return;
	ctx_close(h);
	for (size_t i = 0; i < h->nkeys; i++)
		EVP_PKEY_free(h->keys[i].pub);
	pthread_rwlock_destroy(&h->lock);
	OPENSSL_cleanse(h->pin, sizeof(h->pin));
	free(h);
}

ik_status hsm_key_find(hsm_ctx *h, const char *label, const uint8_t *id, size_t id_len,
    hsm_key **out)
{
	hsm_key *k;
	ik_status st;

	*out = NULL;
	if (h == NULL || (label == NULL && (id == NULL || id_len == 0)) ||
	    (label != NULL && (*label == '\0' || strlen(label) >= sizeof(k->label))) ||
	    (id == NULL && id_len > 0) || id_len > sizeof(k->id))
		return IK_ERR_ARG;
	pthread_rwlock_wrlock(&h->lock);
	if (h->nkeys == HSM_MAX_KEYS) {
		st = IK_ERR_ARG;
		goto out;
	}
	if (h->slot == NULL || !atomic_load(&h->available)) {
		st = IK_ERR_HSM_UNAVAILABLE;
		goto out;
	}
	k = &h->keys[h->nkeys];
	memset(k, 0, sizeof(*k));
	if (label != NULL)
		memcpy(k->label, label, strlen(label) + 1);
	if (id_len > 0)
		memcpy(k->id, id, id_len);
	k->id_len = id_len;
	st = key_lookup(h, k);
	if (st == IK_OK) {
		h->nkeys++;
		*out = k;
	} else {
		EVP_PKEY_free(k->pkey);
		EVP_PKEY_free(k->pub);
		memset(k, 0, sizeof(*k));
	}
out:
	pthread_rwlock_unlock(&h->lock);
	return st;
}

int hsm_key_is_copy(const hsm_key *k)
{
	return k->copied;
}

hsm_keyalg hsm_key_alg(const hsm_key *k)
{
	return k->alg;
}

ik_status hsm_key_public(hsm_ctx *h, hsm_key *k, EVP_PKEY **out)
{
	ik_status st;

	*out = NULL;
	pthread_rwlock_rdlock(&h->lock);
	st = k->pub != NULL ? pub_copy(k->pub, out) : IK_ERR_INTERNAL;
	pthread_rwlock_unlock(&h->lock);
	return st;
}

int hsm_available(hsm_ctx *h)
{
	return atomic_load(&h->available);
}

/* Record an outage seen by an operation that ran in context generation gen (a failure
 * from before the last recovery is not a new outage). */
static void mark_unavailable(hsm_ctx *h, unsigned gen, const char *reason)
{
	int was = 1;

	if (gen == atomic_load(&h->generation) && atomic_compare_exchange_strong(&h->available, &was, 0)) {
		atomic_store(&h->last_attempt_ms, mono_ms());
		ik_log(LOG_ERR, "HSM unavailable: token '%s': %s; retrying at most every %d ms",
		    h->token, reason, HSM_RETRY_INTERVAL_MS);
	}
}

/* Recovery: at most one attempt per interval; everyone else fails fast. */
static ik_status recover(hsm_ctx *h)
{
	long long now = mono_ms();
	long long last = atomic_load(&h->last_attempt_ms);
	ik_status st;

	if (now - last < HSM_RETRY_INTERVAL_MS ||
	    !atomic_compare_exchange_strong(&h->last_attempt_ms, &last, now))
		return IK_ERR_HSM_UNAVAILABLE;
	pthread_rwlock_wrlock(&h->lock);
	if (atomic_load(&h->available)) {
		pthread_rwlock_unlock(&h->lock);
		return IK_OK;
	}
	st = ctx_reopen(h);
	if (st == IK_OK) {
		atomic_fetch_add(&h->generation, 1);
		atomic_store(&h->available, 1);
		ik_log(LOG_NOTICE, "HSM available again: token '%s' reopened, %zu key(s) found",
		    h->token, h->nkeys);
	}
	pthread_rwlock_unlock(&h->lock);
	return st == IK_OK ? IK_OK : IK_ERR_HSM_UNAVAILABLE;
}

ik_status hsm_probe(hsm_ctx *h)
{
	CK_RV rv;
	unsigned gen;

	if (!atomic_load(&h->available))
		return recover(h);
	pthread_rwlock_rdlock(&h->lock);
	gen = atomic_load(&h->generation);
	rv = raw_token_check(h);
	pthread_rwlock_unlock(&h->lock);
	if (rv == CKR_OK)
		return IK_OK;
	mark_unavailable(h, gen, outage_name(rv) != NULL ? outage_name(rv) : "token does not answer");
	return IK_ERR_HSM_UNAVAILABLE;
}

/* Classify a failed operation by the CKR code in the error queue, else by asking the
 * token; mark an outage.  Returns the status to give the caller. */
static ik_status classify_failure(hsm_ctx *h, unsigned gen, ik_status other,
    unsigned long seen)
{
	unsigned long ckr = take_ckr();
	const char *name;
	CK_RV rv;

	if (seen != CKR_OK)
		ckr = seen; /* the token-object check's answer */
	name = outage_name(ckr);

	if (name == NULL && ckr == 0) {
		pthread_rwlock_rdlock(&h->lock);
		rv = raw_token_check(h);
		pthread_rwlock_unlock(&h->lock);
		if (rv != CKR_OK)
			name = outage_name(rv) != NULL ? outage_name(rv) : "token does not answer";
	}
	if (name == NULL)
		return ckr != 0 ? IK_ERR_HSM : other;
	mark_unavailable(h, gen, name);
	return IK_ERR_HSM_UNAVAILABLE;
}

static const EVP_MD *key_md(const hsm_key *k)
{
	return k->alg == HSM_KEY_EC_P384 ? EVP_sha384() : EVP_sha256();
}

/* Behind a session copy: is the token object still there?  Read at most every
 * HSM_COPY_CHECK_MS (by whichever signer claims the check), always when every is set.
 * Read lock held. */
static CK_RV copy_check(hsm_ctx *h, hsm_key *k, int every)
{
	long long now, last;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

	if (!k->copied)
		return CKR_OK;
	now = mono_ms();
	last = atomic_load(&k->checked_ms);
	if (!every && (now - last < HSM_COPY_CHECK_MS ||
	    !atomic_compare_exchange_strong(&k->checked_ms, &last, now)))
		return CKR_OK;
	return h->fl->C_GetAttributeValue(h->copy_sess, k->token_obj, &a, 1);
}

/* Sign under the read lock: 1 ok, 0 failed in the token/OpenSSL (*seen: the CKR of a
 * failed token-object check), -1 key not loaded. */
static int sign_locked(hsm_ctx *h, hsm_key *k, const uint8_t *tbs, size_t n, uint8_t *sig,
    size_t *siglen, EVP_MD_CTX *md, unsigned *gen, unsigned long *seen)
{
	int ok;

	pthread_rwlock_rdlock(&h->lock);
	*gen = atomic_load(&h->generation);
	if (k->pkey == NULL) {
		pthread_rwlock_unlock(&h->lock);
		return -1;
	}
	*seen = copy_check(h, k, 0);
	ok = *seen == CKR_OK && EVP_DigestSignInit(md, NULL, key_md(k), NULL, k->pkey) == 1 &&
	    EVP_DigestSign(md, sig, siglen, tbs, n) == 1;
	pthread_rwlock_unlock(&h->lock);
	return ok;
}

ik_status hsm_sign(hsm_ctx *h, hsm_key *k, const uint8_t *tbs, size_t n, uint8_t *sig,
    size_t *siglen)
{
	EVP_MD_CTX *md = NULL;
	ik_status st = IK_OK;
	unsigned long seen = CKR_OK;
	unsigned gen;
	int r;

	if (h == NULL || k == NULL || (tbs == NULL && n > 0) || sig == NULL || siglen == NULL)
		return IK_ERR_ARG;
	if (k->pub == NULL || *siglen < (size_t)EVP_PKEY_get_size(k->pub))
		return IK_ERR_ARG;
	if (!atomic_load(&h->available) && recover(h) != IK_OK)
		return IK_ERR_HSM_UNAVAILABLE;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return IK_ERR_NOMEM;
	r = sign_locked(h, k, tbs, n, sig, siglen, md, &gen, &seen);
	if (r < 0)
		st = IK_ERR_HSM_UNAVAILABLE;
	else if (r == 0)
		st = classify_failure(h, gen, IK_ERR_CRYPTO, seen);
	EVP_MD_CTX_free(md);
	return st;
}

ik_status hsm_with_pkey(hsm_ctx *h, hsm_key *k, ik_status (*fn)(EVP_PKEY *pk, void *arg),
    void *arg)
{
	unsigned long seen = CKR_OK;
	ik_status st;
	unsigned gen;

	if (!atomic_load(&h->available) && recover(h) != IK_OK)
		return IK_ERR_HSM_UNAVAILABLE;
	ERR_clear_error();
	pthread_rwlock_rdlock(&h->lock);
	gen = atomic_load(&h->generation);
	if (k->pkey == NULL)
		st = IK_ERR_HSM_UNAVAILABLE;
	else if ((seen = copy_check(h, k, 1)) != CKR_OK)
		st = IK_ERR_HSM;
	else
		st = fn(k->pkey, arg);
	pthread_rwlock_unlock(&h->lock);
	if (st != IK_OK && st != IK_ERR_HSM_UNAVAILABLE)
		st = classify_failure(h, gen, st, seen);
	return st;
}
