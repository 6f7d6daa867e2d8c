/* test_store_settle: a download's request whose answer was lost (store_sqlite_settle.c) —
 * parked only from "sent", settled as an orphan (key_lost: never current, never revoking the
 * old one of a revoke_old renewal), and its credential offered a fresh certificate once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "store.h"
#include "store_fixture.h"
#include "tmpdb.h"

static const ra_hist H_TEST = { "tester", "192.0.2.1", "test_op", "t", "{}" };
static const ra_hist H_REOFFER = { "system", "", "download_reoffer", "t", "{}" };
static const uint8_t SPKI[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x02, 0x01 }; /* opaque to the store: only stored */
static const char PHC[] = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

static int setup(void **state)
{
	return ik_store_setup(state, "settle");
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

static int64_t add_device(ra_store *s, const char *ext)
{
	ra_user u = { 0 };
	ra_device d = { 0 };
	int64_t uid, id;

	snprintf(u.external_id, sizeof(u.external_id), "%s", ext);
	snprintf(u.email, sizeof(u.email), "%s@example.org", ext);
	assert_int_equal(ra_store_user_add(s, &u, &H_TEST, &uid), IK_OK);
	d.user_id = uid;
	snprintf(d.name, sizeof(d.name), "pc");
	assert_int_equal(ra_store_device_add(s, &d, NULL, &id), IK_OK);
	return id;
}

static int64_t add_credential(ra_store *s, int64_t cert_id, const char *login)
{
	ra_download d = { .cert_id = cert_id, .kind = RA_DOWNLOAD_PASSWORD };
	int64_t id;

	snprintf(d.login, sizeof(d.login), "%s", login);
	snprintf(d.secret_hash, sizeof(d.secret_hash), "%s", PHC);
	d.expires = (int64_t)time(NULL) + 86400;
	assert_int_equal(ra_store_download_add(s, &d, NULL, &id), IK_OK);
	return id;
}

/* The signer's answer for claimed (key_lost as given), with a fake DER. */
static void answer(ra_store *s, const ra_request *claimed, unsigned serial, int key_lost)
{
	char hex[16];
	uint8_t der[40];
	int64_t now = (int64_t)time(NULL);
	ra_issued is = { hex, der, sizeof(der), now - 60, now + 86400 };
	ra_request r = *claimed;

	snprintf(hex, sizeof(hex), "%04x", serial);
	memset(der, (int)serial, sizeof(der));
	r.key_lost = key_lost;
	assert_int_equal(ra_store_request_complete_claimed(s, &r, &is, &H_TEST), IK_OK);
}

/* A download's request for n: added, its key attached, claimed (sent). */
static ra_request start(ra_store *s, const ra_request_new *n, ra_request *out)
{
	ra_request r;

	assert_int_equal(ra_store_request_add(s, n, &H_TEST, &r), IK_OK);
	if (r.spki_len == 0)
		assert_int_equal(ra_store_request_set_spki(s, r.id, SPKI, sizeof(SPKI)), IK_OK);
	assert_int_equal(ra_store_request_claim_id(s, r.id, out), IK_OK);
	return *out;
}

static void test_park_refusals(void **state)
{
	fixture *f = *state;
	int64_t dev = add_device(f->s, "pr"), cert;
	ra_cert_new cn = { .device_id = dev, .cn = "pr-pc", .validity_days = 30 };
	ra_request_new n = { .kind = RA_REQ_ISSUE, .generate_here = 1, .created_by = "dl-x" };
	ra_request_new csr = { .kind = RA_REQ_ISSUE, .cn = "csr-pc", .validity_days = 30,
		.spki = SPKI, .spki_len = sizeof(SPKI), .created_by = "officer" };
	ra_request r, c;

	assert_int_equal(ra_store_cert_reserve(f->s, &cn, NULL, &cert), IK_OK);
	n.cert_id = cert;
	assert_int_equal(ra_store_request_add(f->s, &n, &H_TEST, &r), IK_OK);
	/* pending without a key, then pending with one: not with the signer, nothing to park */
	assert_int_equal(ra_store_request_park(f->s, r.id, 0, "x", NULL), IK_ERR_STATE);
	assert_int_equal(ra_store_request_set_spki(f->s, r.id, SPKI, sizeof(SPKI)), IK_OK);
	assert_int_equal(ra_store_request_park(f->s, r.id, 0, "x", NULL), IK_ERR_STATE);
	/* an officer's request from a CSR (its key is not a download's): never parked */
	assert_int_equal(ra_store_request_add(f->s, &csr, &H_TEST, &c), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, c.id, &c), IK_OK);
	assert_int_equal(ra_store_request_park(f->s, c.id, 0, "x", NULL), IK_ERR_STATE);
	/* no such request */
	assert_int_equal(ra_store_request_park(f->s, 99999, 0, "x", NULL), IK_ERR_STATE);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM requests WHERE state = 'sent'"), 1);
}

static void test_park_settle_reoffer_issue(void **state)
{
	fixture *f = *state;
	int64_t dev = add_device(f->s, "pi"), x, y = -1, cred;
	ra_cert_new cn = { .device_id = dev, .cn = "pi-pc", .validity_days = 30 };
	ra_request_new n = { .kind = RA_REQ_ISSUE, .generate_here = 1, .created_by = "dl-pi" };
	ra_hist h = { "dl-pi", "192.0.2.1", "download_parked", "pi-pc", "{}" };
	ra_request r, again;
	ra_download d;
	ra_cert c;
	int yes = -1;

	assert_int_equal(ra_store_cert_reserve(f->s, &cn, NULL, &x), IK_OK);
	cred = add_credential(f->s, x, "dl-PI000001");
	n.cert_id = x;
	start(f->s, &n, &r);
	assert_int_equal(ra_store_request_park(f->s, r.id, cred, "timed out", &h), IK_OK);
	assert_int_equal(ra_store_request_get(f->s, r.id, &again), IK_OK);
	assert_int_equal(again.state, RA_REQ_PENDING);
	assert_string_equal(again.last_error, "timed out");
	assert_int_equal(ra_store_device_settling(f->s, dev, &yes), IK_OK);
	assert_int_equal(yes, 1);
	assert_int_equal(ra_store_request_park(f->s, r.id, cred, "again", &h), IK_ERR_STATE);
	/* the queue sends it again and records the answer: an orphan, not current */
	assert_int_equal(ra_store_request_claim_id(f->s, r.id, &again), IK_OK);
	answer(f->s, &again, 0x201, 1);
	assert_int_equal(ra_store_cert_get(f->s, x, &c), IK_OK);
	assert_int_equal(c.state, RA_CERT_ACTIVE);
	assert_int_equal(c.current, 0);
	assert_int_equal(ra_store_device_settling(f->s, dev, &yes), IK_OK);
	assert_int_equal(yes, 0);
	/* the credential gets the reserved certificate again, once */
	assert_int_equal(ra_store_download_reoffer(f->s, r.id, &H_REOFFER, &y), IK_OK);
	assert_true(y > x);
	assert_int_equal(ra_store_cert_get(f->s, y, &c), IK_OK);
	assert_int_equal(c.state, RA_CERT_AWAITING_DOWNLOAD);
	assert_string_equal(c.cn, "pi-pc");
	assert_int_equal(c.device_id, dev);
	assert_int_equal(ra_store_download_by_login(f->s, "dl-PI000001", &d), IK_OK);
	assert_int_equal(d.cert_id, y);
	/* the credential it was parked for, as it is now (the mail that the link works) */
	memset(&d, 0, sizeof(d));
	assert_int_equal(ra_store_download_parked_for(f->s, r.id, &d), IK_OK);
	assert_int_equal(d.id, cred);
	assert_int_equal(d.cert_id, y);
	assert_string_equal(d.login, "dl-PI000001");
	assert_int_equal(d.used, 0);
	assert_int_equal(ra_store_download_reoffer(f->s, r.id, &H_REOFFER, &y), IK_OK);
	assert_int_equal(y, 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = "
	    "'download_reoffer'"), 1);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = "
	    "'download_parked'"), 1);
}

/* A spent credential, or a request parked for none: nothing is offered. */
static void test_reoffer_nothing(void **state)
{
	fixture *f = *state;
	int64_t dev = add_device(f->s, "pn"), x, y = -1, cred;
	ra_cert_new cn = { .device_id = dev, .cn = "pn-pc", .validity_days = 30 };
	ra_request_new n = { .kind = RA_REQ_ISSUE, .generate_here = 1, .created_by = "dl-pn" };
	ra_request r, again;

	assert_int_equal(ra_store_cert_reserve(f->s, &cn, NULL, &x), IK_OK);
	cred = add_credential(f->s, x, "dl-PN000001");
	n.cert_id = x;
	start(f->s, &n, &r);
	assert_int_equal(ra_store_request_park(f->s, r.id, cred, "closed", NULL), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, r.id, &again), IK_OK);
	answer(f->s, &again, 0x301, 1);
	assert_int_equal(ra_store_download_use(f->s, cred, (int64_t)time(NULL), NULL), IK_OK);
	assert_int_equal(ra_store_download_reoffer(f->s, r.id, &H_REOFFER, &y), IK_OK);
	assert_int_equal(y, 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates"), 1);
	/* the credential is found, spent (no mail then); a request parked for none has none */
	{
		ra_download d;
		ra_request_new m = { .kind = RA_REQ_ISSUE, .generate_here = 1, .created_by = "dl-pm" };
		ra_cert_new cm = { .device_id = add_device(f->s, "pm"), .cn = "pm-pc",
			.validity_days = 30 };
		ra_request q;
		int64_t z;

		assert_int_equal(ra_store_download_parked_for(f->s, r.id, &d), IK_OK);
		assert_int_equal(d.id, cred);
		assert_true(d.used != 0);
		assert_int_equal(ra_store_cert_reserve(f->s, &cm, NULL, &z), IK_OK);
		m.cert_id = z;
		start(f->s, &m, &q);
		assert_int_equal(ra_store_request_park(f->s, q.id, 0, "closed", NULL), IK_OK);
		assert_int_equal(ra_store_download_parked_for(f->s, q.id, &d), IK_ERR_NOT_FOUND);
		assert_int_equal(ra_store_download_parked_for(f->s, 99999, &d), IK_ERR_NOT_FOUND);
	}
}

/* An officer's renewal with revoke_old, key at download: completed as an orphan it leaves
 * the old certificate current and unrevoked, and the credential gets the same renewal again;
 * that one, completed normally, supersedes the old one. */
static void test_renewal_key_lost(void **state)
{
	fixture *f = *state;
	int64_t dev = add_device(f->s, "rk"), old, y = -1, cred;
	ra_cert_new cn = { .device_id = dev, .cn = "rk-pc", .validity_days = 30 };
	ra_request_new n = { .kind = RA_REQ_ISSUE, .generate_here = 1, .created_by = "dl-rk" };
	ra_request_new rn = { .kind = RA_REQ_RENEW, .validity_days = 30, .revoke_old = 1,
		.generate_here = 1, .created_by = "olivia" };
	ra_request r, rr, again;
	ra_download d;
	ra_cert c;

	assert_int_equal(ra_store_cert_reserve(f->s, &cn, NULL, &old), IK_OK);
	n.cert_id = old;
	start(f->s, &n, &r);
	answer(f->s, &r, 0x401, 0);
	rn.old_cert_id = old;
	assert_int_equal(ra_store_request_add(f->s, &rn, &H_TEST, &rr), IK_OK);
	cred = add_credential(f->s, rr.cert_id, "dl-RK000001");
	assert_int_equal(ra_store_request_set_spki(f->s, rr.id, SPKI, sizeof(SPKI)), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, rr.id, &rr), IK_OK);
	assert_int_equal(ra_store_request_park(f->s, rr.id, cred, "timed out", NULL), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, rr.id, &again), IK_OK);
	answer(f->s, &again, 0x402, 1);
	assert_int_equal(ra_store_cert_get(f->s, old, &c), IK_OK);
	assert_int_equal(c.state, RA_CERT_ACTIVE);
	assert_int_equal(c.current, 1);
	assert_int_equal(ra_store_cert_get(f->s, rr.cert_id, &c), IK_OK);
	assert_int_equal(c.state, RA_CERT_ACTIVE);
	assert_int_equal(c.current, 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM requests WHERE kind = 'revoke'"), 0);
	/* the same renewal again, waiting for its key, under the same credential */
	assert_int_equal(ra_store_download_reoffer(f->s, rr.id, &H_REOFFER, &y), IK_OK);
	assert_int_equal(ra_store_cert_get(f->s, y, &c), IK_OK);
	assert_int_equal(c.state, RA_CERT_ISSUING);
	assert_int_equal(ra_store_request_get(f->s, c.request_id, &r), IK_OK);
	assert_int_equal(r.kind, RA_REQ_RENEW);
	assert_int_equal(r.state, RA_REQ_PENDING);
	assert_int_equal(r.old_cert_id, old);
	assert_int_equal(r.revoke_old, 1);
	assert_int_equal(r.generate_here, 1);
	assert_int_equal(r.spki_len, 0);
	assert_int_equal(ra_store_download_by_login(f->s, "dl-RK000001", &d), IK_OK);
	assert_int_equal(d.cert_id, y);
	/* its download goes through: current, and the old one superseded */
	assert_int_equal(ra_store_request_set_spki(f->s, r.id, SPKI, sizeof(SPKI)), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, r.id, &again), IK_OK);
	answer(f->s, &again, 0x403, 0);
	assert_int_equal(ra_store_cert_get(f->s, y, &c), IK_OK);
	assert_int_equal(c.current, 1);
	assert_int_equal(ra_store_cert_get(f->s, old, &c), IK_OK);
	assert_int_equal(c.current, 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM requests WHERE kind = 'revoke'"
	    " AND reason = 4"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_park_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_settle_reoffer_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reoffer_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renewal_key_lost, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
