/* tool_p11attrs: for the integration tests — log in to a token (PIN from a 0400/0600 file,
 * never argv) and show the protection attributes of the private key with a label, trying to
 * read its secret value.  Exit 0 only if the key is sensitive, non-extractable, was never
 * extractable, and the token refuses to reveal it. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <p11-kit/pkcs11.h>

#include "hsm.h"

typedef struct p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
} p11;

static int open_token(p11 *p, const char *module, const char *token, const char *pin)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;
	CK_UTF8CHAR want[32];
	size_t tl = strlen(token);

	memset(want, ' ', sizeof(want));
	memcpy(want, token, tl > 32 ? 32 : tl);
	p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (p->dl == NULL)
		return -1;
	*(void **)(&get) = dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL || get(&p->f) != CKR_OK || p->f->C_Initialize(NULL) != CKR_OK ||
	    p->f->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK)
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p->f->C_GetTokenInfo(ids[i], &ti) != CKR_OK || memcmp(ti.label, want, 32) != 0)
			continue;
		if (p->f->C_OpenSession(ids[i], CKF_SERIAL_SESSION, NULL, NULL, &p->s) != CKR_OK)
			return -1;
		return p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)pin, strlen(pin)) ==
		    CKR_OK ? 0 : -1;
	}
	return -1;
}

static int check_key(p11 *p, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE q[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;
	CK_BBOOL sens = 0, extr = 1, asens = 0, nextr = 0;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a[] = {
		{ CKA_SENSITIVE, &sens, sizeof(sens) }, { CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_ALWAYS_SENSITIVE, &asens, sizeof(asens) },
		{ CKA_NEVER_EXTRACTABLE, &nextr, sizeof(nextr) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
	};
	uint8_t secret[1024];
	CK_ATTRIBUTE v = { CKA_VALUE, secret, sizeof(secret) };
	CK_RV rv;

	if (p->f->C_FindObjectsInit(p->s, q, 2) != CKR_OK ||
	    p->f->C_FindObjects(p->s, h, 2, &n) != CKR_OK || p->f->C_FindObjectsFinal(p->s) != CKR_OK)
		return -1;
	if (n != 1) {
		fprintf(stderr, "tool_p11attrs: %lu private keys labelled %s\n", (unsigned long)n, label);
		return -1;
	}
	if (p->f->C_GetAttributeValue(p->s, h[0], a, 5) != CKR_OK)
		return -1;
	if (kt == CKK_RSA)
		v.type = CKA_PRIVATE_EXPONENT;
	rv = p->f->C_GetAttributeValue(p->s, h[0], &v, 1);
	OPENSSL_cleanse(secret, sizeof(secret));
	printf("%s: type=%s sensitive=%d extractable=%d always_sensitive=%d never_extractable=%d "
	    "read_secret=%s\n", label, kt == CKK_RSA ? "rsa" : kt == CKK_EC ? "ec" : "other", sens,
	    extr, asens, nextr, rv == CKR_ATTRIBUTE_SENSITIVE ? "refused" : "ALLOWED");
	return sens && !extr && asens && nextr && rv == CKR_ATTRIBUTE_SENSITIVE ? 0 : 1;
}

int main(int argc, char **argv)
{
	char pin[HSM_MAX_PIN + 1];
	p11 p;
	int rc = 2;

	memset(&p, 0, sizeof(p));
	if (argc < 5) {
		fprintf(stderr, "usage: tool_p11attrs MODULE TOKEN PIN-FILE KEY-LABEL...\n");
		return 2;
	}
	if (hsm_read_pin_file(argv[3], pin, sizeof(pin)) != IK_OK) {
		fprintf(stderr, "tool_p11attrs: cannot read PIN file %s\n", argv[3]);
		return 2;
	}
	if (open_token(&p, argv[1], argv[2], pin) != 0) {
		fprintf(stderr, "tool_p11attrs: cannot log in to token %s\n", argv[2]);
		goto out;
	}
	rc = 0;
	for (int i = 4; i < argc; i++) {
		int r = check_key(&p, argv[i]);
		if (r != 0)
			rc = r < 0 ? 2 : 1;
	}
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	if (p.f != NULL) {
		if (p.s != 0)
			p.f->C_CloseSession(p.s);
		p.f->C_Finalize(NULL);
	}
	if (p.dl != NULL)
		dlclose(p.dl);
	return rc;
}
