/* Unit tests for hsm/: PIN files and fds (modes refused, newline stripped), key generation on
 * a real SoftHSM token (refuses to overwrite), opening by label (unknown token, wrong PIN),
 * key lookup by label and by ID, signatures made in the token verified with the public key
 * (EC P-256 and RSA-3072), and concurrent signing from several threads; signing through
 * session copies of the keys, and a token that vanishes under its copies noticed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include "hsm.h"

static char g_dir[64];
static char g_pin_file[128];
static char g_pin[HSM_MAX_PIN];
static const uint8_t ID_EC[] = { 0x11 };
static const uint8_t ID_RSA[] = { 0x22 };

static int group_setup(void **state)
{
	char cmd[512], conf[160];
	const char *src = getenv("INKAN_SRC");

	(void)state;
	if (src == NULL)
		return -1;
	snprintf(g_dir, sizeof(g_dir), "/tmp/ik-hsm-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s/hsm/softhsm-token' '%s/t' unit >/dev/null", src, g_dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/t/softhsm2.conf", g_dir);
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(g_pin_file, sizeof(g_pin_file), "%s/t/user.pin", g_dir);
	if (hsm_read_pin_file(g_pin_file, g_pin, sizeof(g_pin)) != IK_OK)
		return -1;
	if (hsm_keygen(NULL, "unit", g_pin, "k-ec", ID_EC, sizeof(ID_EC), HSM_KEY_EC_P256) != IK_OK)
		return -1;
	if (hsm_keygen(NULL, "unit", g_pin, "k-rsa", ID_RSA, sizeof(ID_RSA), HSM_KEY_RSA_3072) != IK_OK)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	OPENSSL_cleanse(g_pin, sizeof(g_pin));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_pin_file_modes(void **state)
{
	char path[160], pin[HSM_MAX_PIN];

	(void)state;
	snprintf(path, sizeof(path), "%s/pin", g_dir);
	write_file(path, "1234\n", 0400);
	assert_int_equal(hsm_read_pin_file(path, pin, sizeof(pin)), IK_OK);
	assert_string_equal(pin, "1234");
	write_file(path, "1234", 0600);
	assert_int_equal(hsm_read_pin_file(path, pin, sizeof(pin)), IK_OK);
	assert_string_equal(pin, "1234");
	write_file(path, "1234\n", 0640);
	assert_int_not_equal(hsm_read_pin_file(path, pin, sizeof(pin)), IK_OK);
	write_file(path, "1234\n", 0604);
	assert_int_not_equal(hsm_read_pin_file(path, pin, sizeof(pin)), IK_OK);
	write_file(path, "", 0400);
	assert_int_not_equal(hsm_read_pin_file(path, pin, sizeof(pin)), IK_OK);
	snprintf(path, sizeof(path), "%s/none", g_dir);
	assert_int_equal(hsm_read_pin_file(path, pin, sizeof(pin)), IK_ERR_NOT_FOUND);
	assert_int_not_equal(hsm_read_pin_file(g_dir, pin, sizeof(pin)), IK_OK); /* a directory */
}

static void test_pin_fd(void **state)
{
	int p[2];
	char pin[HSM_MAX_PIN], big[HSM_MAX_PIN + 8];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "s3cret\n", 7), 7);
	close(p[1]);
	assert_int_equal(hsm_read_pin_fd(p[0], pin, sizeof(pin)), IK_OK);
	assert_string_equal(pin, "s3cret");
	close(p[0]);

	/* a PIN longer than the buffer is refused, not truncated */
	memset(big, 'a', sizeof(big));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], big, sizeof(big)), (ssize_t)sizeof(big));
	close(p[1]);
	assert_int_not_equal(hsm_read_pin_fd(p[0], pin, sizeof(pin)), IK_OK);
	close(p[0]);
}

static void test_keygen_refuses_overwrite(void **state)
{
	static const uint8_t other[] = { 0x33 };

	(void)state;
	assert_int_equal(hsm_keygen(NULL, "unit", g_pin, "k-ec", other, sizeof(other),
	    HSM_KEY_EC_P256), IK_ERR_EXISTS);
	assert_int_equal(hsm_keygen(NULL, "unit", g_pin, "k-new", ID_EC, sizeof(ID_EC),
	    HSM_KEY_EC_P256), IK_ERR_EXISTS);
	assert_int_not_equal(hsm_keygen(NULL, "nosuchtoken", g_pin, "k", other, sizeof(other),
	    HSM_KEY_EC_P256), IK_OK);
	assert_int_equal(hsm_keygen(NULL, "unit", "wrong-pin", "k-x", other, sizeof(other),
	    HSM_KEY_EC_P256), IK_ERR_AUTH);
}

static void test_open_errors(void **state)
{
	char path[160];
	hsm_ctx *h = (hsm_ctx *)1;
	hsm_config c = { .token_label = "nosuchtoken", .pin_file = g_pin_file, .pin_fd = -1 };

	(void)state;
	assert_int_equal(hsm_open(&c, &h), IK_ERR_NOT_FOUND);
	assert_null(h);
	snprintf(path, sizeof(path), "%s/wrong.pin", g_dir);
	write_file(path, "not-the-pin", 0400);
	c.token_label = "unit";
	c.pin_file = path;
	assert_int_equal(hsm_open(&c, &h), IK_ERR_AUTH);
	assert_null(h);
	c.pin_file = NULL;
	assert_int_equal(hsm_open(&c, &h), IK_ERR_ARG);
	c.module = "/nonexistent/libpkcs11.so";
	c.pin_file = g_pin_file;
	assert_int_not_equal(hsm_open(&c, &h), IK_OK);
}

static void sign_verify(hsm_ctx *h, hsm_key *k, const char *md)
{
	static const uint8_t msg[] = "to be signed";
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	EVP_PKEY *pub = NULL;
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	assert_int_equal(hsm_sign(h, k, msg, sizeof(msg), sig, &siglen), IK_OK);
	assert_true(siglen > 0);
	assert_int_equal(hsm_key_public(h, k, &pub), IK_OK);
	assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, md, NULL, NULL, pub, NULL), 1);
	assert_int_equal(EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg)), 1);
	/* and a changed message does not verify */
	assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, md, NULL, NULL, pub, NULL), 1);
	assert_int_not_equal(EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg) - 1), 1);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pub);
}

typedef struct signer_arg {
	hsm_ctx *h;
	hsm_key *k;
	int failures;
} signer_arg;

static void *sign_loop(void *p)
{
	signer_arg *a = p;
	uint8_t sig[512];

	for (int i = 0; i < 50; i++) {
		size_t siglen = sizeof(sig);
		uint8_t msg[8] = { (uint8_t)i };

		if (hsm_sign(a->h, a->k, msg, sizeof(msg), sig, &siglen) != IK_OK)
			a->failures++;
	}
	return NULL;
}

static void test_open_find_sign(void **state)
{
	hsm_ctx *h = NULL;
	hsm_key *ec = NULL, *ec_by_id = NULL, *rsa = NULL, *none = NULL;
	hsm_config c = { .token_label = "unit", .pin_file = NULL, .pin_fd = -1 };
	pthread_t t[4];
	signer_arg a[4];
	int p[2];

	(void)state;
	/* PIN through a pipe, the way a supervisor hands it over */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], g_pin, strlen(g_pin)), (ssize_t)strlen(g_pin));
	close(p[1]);
	c.pin_fd = p[0];
	assert_int_equal(hsm_open(&c, &h), IK_OK);
	assert_int_equal(fcntl(p[0], F_GETFD), -1); /* consumed and closed */
	assert_true(hsm_available(h));

	assert_int_equal(hsm_key_find(h, "k-ec", NULL, 0, &ec), IK_OK);
	assert_int_equal(hsm_key_alg(ec), HSM_KEY_EC_P256);
	assert_int_equal(hsm_key_find(h, NULL, ID_EC, sizeof(ID_EC), &ec_by_id), IK_OK);
	assert_int_equal(hsm_key_find(h, "k-rsa", ID_RSA, sizeof(ID_RSA), &rsa), IK_OK);
	assert_int_equal(hsm_key_alg(rsa), HSM_KEY_RSA_3072);
	assert_int_equal(hsm_key_find(h, "missing", NULL, 0, &none), IK_ERR_NOT_FOUND);
	assert_null(none);
	assert_int_equal(hsm_key_find(h, "k-ec", ID_RSA, sizeof(ID_RSA), &none), IK_ERR_NOT_FOUND);
	assert_int_equal(hsm_key_find(h, NULL, NULL, 0, &none), IK_ERR_ARG);

	sign_verify(h, ec, "SHA256");
	sign_verify(h, ec_by_id, "SHA256");
	sign_verify(h, rsa, "SHA256");

	for (int i = 0; i < 4; i++) {
		a[i] = (signer_arg){ h, i % 2 ? rsa : ec, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, sign_loop, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	assert_int_equal(hsm_probe(h), IK_OK);
	hsm_close(h);
}

static ik_status pkey_noop(EVP_PKEY *pk, void *arg)
{
	(void)arg;
	return pk != NULL ? IK_OK : IK_ERR_ARG;
}

static void token_dir(int away)
{
	char cmd[256];

	if (away)
		snprintf(cmd, sizeof(cmd), "mv '%s/t/tokens' '%s/t/tokens.away' && mkdir '%s/t/tokens'",
		    g_dir, g_dir, g_dir);
	else
		snprintf(cmd, sizeof(cmd), "rmdir '%s/t/tokens' && mv '%s/t/tokens.away' '%s/t/tokens'",
		    g_dir, g_dir, g_dir);
	assert_int_equal(system(cmd), 0);
}

static void test_session_copy(void **state)
{
	hsm_ctx *h = NULL;
	hsm_key *ec = NULL, *ec_by_id = NULL, *rsa = NULL;
	hsm_config c = { .token_label = "unit", .pin_file = g_pin_file, .pin_fd = -1,
	    .session_copy = 1 };
	uint8_t sig[512];
	size_t siglen = sizeof(sig);
	pthread_t t[4];
	signer_arg a[4];

	(void)state;
	assert_int_equal(hsm_open(&c, &h), IK_OK);
	assert_int_equal(hsm_key_find(h, "k-ec", NULL, 0, &ec), IK_OK);
	assert_int_equal(hsm_key_find(h, NULL, ID_EC, sizeof(ID_EC), &ec_by_id), IK_OK);
	assert_int_equal(hsm_key_find(h, "k-rsa", ID_RSA, sizeof(ID_RSA), &rsa), IK_OK);
	assert_true(hsm_key_is_copy(ec));
	assert_true(hsm_key_is_copy(ec_by_id));
	assert_true(hsm_key_is_copy(rsa));
	/* the copies sign with the token's keys: the public keys verify */
	sign_verify(h, ec, "SHA256");
	sign_verify(h, ec_by_id, "SHA256");
	sign_verify(h, rsa, "SHA256");
	for (int i = 0; i < 4; i++) {
		a[i] = (signer_arg){ h, i % 2 ? rsa : ec, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, sign_loop, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}

	/* the token goes away: hsm_with_pkey notices at once, a signature once the check
	 * interval has passed, although the copy itself could still sign */
	token_dir(1);
	assert_int_equal(hsm_with_pkey(h, ec, pkey_noop, NULL), IK_ERR_HSM_UNAVAILABLE);
	assert_false(hsm_available(h));
	usleep(1100 * 1000); /* past the retry interval: the next call tries to recover */
	assert_int_equal(hsm_sign(h, ec, sig, 16, sig, &siglen), IK_ERR_HSM_UNAVAILABLE);
	token_dir(0);
	usleep(1100 * 1000);
	siglen = sizeof(sig);
	assert_int_equal(hsm_sign(h, ec, sig, 16, sig, &siglen), IK_OK);
	assert_true(hsm_key_is_copy(ec)); /* copied again after the recovery */
	sign_verify(h, rsa, "SHA256");
	hsm_close(h);

	/* without the option: the token objects */
	c.session_copy = 0;
	assert_int_equal(hsm_open(&c, &h), IK_OK);
	assert_int_equal(hsm_key_find(h, "k-ec", NULL, 0, &ec), IK_OK);
	assert_false(hsm_key_is_copy(ec));
	sign_verify(h, ec, "SHA256");
	hsm_close(h);
}

static void test_session_copy_outage_at_sign(void **state)
{
	hsm_ctx *h = NULL;
	hsm_key *ec = NULL;
	hsm_config c = { .token_label = "unit", .pin_file = g_pin_file, .pin_fd = -1,
	    .session_copy = 1 };
	uint8_t sig[512];
	size_t siglen = sizeof(sig);

	(void)state;
	assert_int_equal(hsm_open(&c, &h), IK_OK);
	assert_int_equal(hsm_key_find(h, "k-ec", NULL, 0, &ec), IK_OK);
	assert_true(hsm_key_is_copy(ec));
	token_dir(1);
	usleep(20 * 1000); /* longer than the check interval: the next signature reads the token */
	assert_int_equal(hsm_sign(h, ec, sig, 16, sig, &siglen), IK_ERR_HSM_UNAVAILABLE);
	assert_false(hsm_available(h));
	token_dir(0);
	hsm_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_file_modes),
		cmocka_unit_test(test_pin_fd),
		cmocka_unit_test(test_keygen_refuses_overwrite),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_find_sign),
		cmocka_unit_test(test_session_copy),
		cmocka_unit_test(test_session_copy_outage_at_sign),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
