/* p11raw: token initialisation and key-pair generation through the module's own PKCS#11
 * function list (libp11 0.4.12 cannot generate EC keys).  Keys are generated on the token,
 * sensitive and non-extractable; nothing here ever sees private key material. */
#include <dlfcn.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "hsm.h"
#include "log.h"

typedef struct p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
} p11;

static ik_status ckr_status(CK_RV rv)
{
	switch (rv) {
	case CKR_OK: return IK_OK;
	case CKR_PIN_INCORRECT: case CKR_PIN_LOCKED: case CKR_PIN_INVALID: case CKR_PIN_LEN_RANGE:
		return IK_ERR_AUTH;
	case CKR_TOKEN_NOT_PRESENT: case CKR_SLOT_ID_INVALID:
		return IK_ERR_NOT_FOUND;
	case CKR_HOST_MEMORY: case CKR_DEVICE_MEMORY:
		return IK_ERR_NOMEM;
	default:
		return IK_ERR_HSM;
	}
}

static ik_status p11_load(const char *module, p11 *p)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(p, 0, sizeof(*p));
	p->dl = dlopen(module != NULL ? module : HSM_DEFAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (p->dl == NULL) {
		ik_log(LOG_ERR, "cannot load PKCS#11 module %s", module != NULL ? module : HSM_DEFAULT_MODULE);
		return IK_ERR_CONFIG;
	}
	*(void **)(&get) = dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL || get(&p->f) != CKR_OK || p->f == NULL) {
		dlclose(p->dl);
		return IK_ERR_CONFIG;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		dlclose(p->dl);
		return ckr_status(rv);
	}
	return IK_OK;
}

static void p11_unload(p11 *p)
{
	if (p->f != NULL)
		p->f->C_Finalize(NULL);
	if (p->dl != NULL)
		dlclose(p->dl);
	memset(p, 0, sizeof(*p));
}

static void pad32(const char *label, CK_UTF8CHAR out[32])
{
	size_t n = strlen(label);

	memset(out, ' ', 32);
	memcpy(out, label, n > 32 ? 32 : n);
}

/* Find the initialised token with this label. */
static ik_status find_token(p11 *p, const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;
	CK_UTF8CHAR want[32];

	pad32(label, want);
	if (p->f->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK)
		return IK_ERR_HSM;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p->f->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		if ((ti.flags & CKF_TOKEN_INITIALIZED) && memcmp(ti.label, want, 32) == 0) {
			*slot = ids[i];
			return IK_OK;
		}
	}
	return IK_ERR_NOT_FOUND;
}

static ik_status find_free_slot(p11 *p, CK_SLOT_ID *slot)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;

	if (p->f->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK)
		return IK_ERR_HSM;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p->f->C_GetTokenInfo(ids[i], &ti) == CKR_OK && !(ti.flags & CKF_TOKEN_INITIALIZED)) {
			*slot = ids[i];
			return IK_OK;
		}
	}
	return IK_ERR_NOT_FOUND;
}

ik_status hsm_token_init(const char *module, const char *label, const char *so_pin,
    const char *user_pin)
{
	CK_UTF8CHAR lab[32];
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE sess = CK_INVALID_HANDLE;
	p11 p;
	ik_status st;
	CK_RV rv;

	if (label == NULL || strlen(label) == 0 || strlen(label) > 32)
		return IK_ERR_ARG;
	if ((st = p11_load(module, &p)) != IK_OK)
		return st;
	if (find_token(&p, label, &slot) == IK_OK) {
		st = IK_ERR_EXISTS;
		goto out;
	}
	if ((st = find_free_slot(&p, &slot)) != IK_OK)
		goto out;
	pad32(label, lab);
	rv = p.f->C_InitToken(slot, (CK_UTF8CHAR_PTR)(uintptr_t)so_pin, strlen(so_pin), lab);
	if ((st = ckr_status(rv)) != IK_OK)
		goto out;
	/* SoftHSM moves an initialised token to a new slot id: look it up again. */
	if ((st = find_token(&p, label, &slot)) != IK_OK)
		goto out;
	rv = p.f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sess);
	if (rv == CKR_OK)
		rv = p.f->C_Login(sess, CKU_SO, (CK_UTF8CHAR_PTR)(uintptr_t)so_pin, strlen(so_pin));
	if (rv == CKR_OK)
		rv = p.f->C_InitPIN(sess, (CK_UTF8CHAR_PTR)(uintptr_t)user_pin, strlen(user_pin));
	if (rv == CKR_OK)
		rv = p.f->C_Logout(sess);
	st = ckr_status(rv);
out:
	if (sess != CK_INVALID_HANDLE)
		p.f->C_CloseSession(sess);
	p11_unload(&p);
	return st;
}

ik_status hsm_token_exists(const char *module, const char *label)
{
	CK_SLOT_ID slot;
	p11 p;
	ik_status st;

	if (label == NULL || strlen(label) == 0 || strlen(label) > 32)
		return IK_ERR_ARG;
	if ((st = p11_load(module, &p)) != IK_OK)
		return st;
	st = find_token(&p, label, &slot);
	p11_unload(&p);
	return st;
}

/* 1 if any object on the token has this label or id. */
static int object_exists(p11 *p, CK_SESSION_HANDLE s, CK_ATTRIBUTE *a)
{
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;

	if (p->f->C_FindObjectsInit(s, a, 1) != CKR_OK)
		return 1; /* be conservative: refuse */
	if (p->f->C_FindObjects(s, &h, 1, &n) != CKR_OK)
		n = 1;
	p->f->C_FindObjectsFinal(s);
	return n > 0;
}

static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };

static CK_RV generate(p11 *p, CK_SESSION_HANDLE s, const char *label, const uint8_t *id,
    size_t id_len, hsm_keyalg alg)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = alg == HSM_KEY_RSA_4096 ? 4096 : 3072;
	CK_BYTE e[] = { 0x01, 0x00, 0x01 };
	int ec = alg == HSM_KEY_EC_P256 || alg == HSM_KEY_EC_P384;
	CK_MECHANISM mech = { ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pub[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) },
		{ CKA_ID, (void *)(uintptr_t)id, id_len },
		{ ec ? CKA_EC_PARAMS : CKA_MODULUS_BITS,
		  ec ? (void *)(uintptr_t)(alg == HSM_KEY_EC_P256 ? oid_p256 : oid_p384) : (void *)&bits,
		  ec ? (alg == HSM_KEY_EC_P256 ? sizeof(oid_p256) : sizeof(oid_p384)) : sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, e, sizeof(e) },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) },
		{ CKA_ID, (void *)(uintptr_t)id, id_len },
	};
	CK_OBJECT_HANDLE hpub, hpriv;

	return p->f->C_GenerateKeyPair(s, &mech, pub, ec ? 5 : 6, priv, 8, &hpub, &hpriv);
}

ik_status hsm_keygen(const char *module, const char *token_label, const char *user_pin,
    const char *label, const uint8_t *id, size_t id_len, hsm_keyalg alg)
{
	CK_SESSION_HANDLE sess = CK_INVALID_HANDLE;
	CK_SLOT_ID slot;
	CK_ATTRIBUTE by_label = { CKA_LABEL, (void *)(uintptr_t)label, label ? strlen(label) : 0 };
	CK_ATTRIBUTE by_id = { CKA_ID, (void *)(uintptr_t)id, id_len };
	p11 p;
	ik_status st;
	CK_RV rv;

	if (label == NULL || *label == '\0' || id == NULL || id_len == 0 ||
	    alg < HSM_KEY_EC_P256 || alg > HSM_KEY_RSA_4096)
		return IK_ERR_ARG;
	if ((st = p11_load(module, &p)) != IK_OK)
		return st;
	if ((st = find_token(&p, token_label, &slot)) != IK_OK)
		goto out;
	rv = p.f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sess);
	if (rv == CKR_OK)
		rv = p.f->C_Login(sess, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)user_pin, strlen(user_pin));
	if ((st = ckr_status(rv)) != IK_OK)
		goto out;
	if (object_exists(&p, sess, &by_label) || object_exists(&p, sess, &by_id)) {
		st = IK_ERR_EXISTS;
		goto out;
	}
	st = ckr_status(generate(&p, sess, label, id, id_len, alg));
	p.f->C_Logout(sess);
out:
	if (sess != CK_INVALID_HANDLE)
		p.f->C_CloseSession(sess);
	p11_unload(&p);
	return st;
}
