/* Unit tests for ra/store_sqlite_batch_keys.c on a real SQLite file: creating a keyed batch
 * and its refusals (a clear key, a second batch, the quota), the schema's own CHECKs
 * against a clear key written by hand, the highest number of a CN pattern, adding the next
 * certificate only when the count matches (what makes a restarted worker safe), the items
 * for the download, and the purge of every key with its refusals; a group of keys added at
 * once and a group of answers recorded at once, each all or nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "store.h"
#include "store_fixture.h"
#include "tmpdb.h"

static const ra_hist H = { "tester", "192.0.2.1", "test_op", "t", "{}" };
static const uint8_t SPKI[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x02, 0x01 }; /* opaque to the store */
static const char PEM[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0w\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";
static uint8_t ENV[100];   /* a sealed key: "IKB1" and opaque bytes */

static int setup(void **state)
{
	if (ik_store_setup(state, "bkeys") != 0)
		return -1;
	memcpy(ENV, "IKB1", 4);
	for (size_t i = 4; i < sizeof(ENV); i++)
		ENV[i] = (uint8_t)(i * 7);
	return 0;
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

static ra_batch_keyed_new keyed(uint64_t planned, uint64_t quota)
{
	ra_batch_keyed_new b = { .planned = planned, .validity_days = 30,
		.cn_pattern = "client_%06d", .key_type = "ec-p256", .p12_format = "modern",
		.envelope_spki = SPKI, .envelope_spki_len = sizeof(SPKI), .envelope_key = PEM,
		.quota = quota, .created_by = "olivia" };
	return b;
}

static ik_status add(ra_store *s, int64_t batch, uint64_t index, const char *cn,
    ra_request *out)
{
	ra_batch_item_new it = { .batch_id = batch, .index = index, .cn = cn, .spki = SPKI,
		.spki_len = sizeof(SPKI), .envelope = ENV, .envelope_len = sizeof(ENV) };
	return ra_store_batch_add_keyed(s, &it, NULL, out);
}

/* The signer's answer for a claimed request, with a fake DER. */
static void issue(ra_store *s, int64_t req, unsigned serial)
{
	char hex[16];
	uint8_t der[40];
	ra_request c;
	ra_issued is = { hex, der, sizeof(der), 1000, 2000 };

	snprintf(hex, sizeof(hex), "%04x", serial);
	memset(der, (int)serial, sizeof(der));
	assert_int_equal(ra_store_request_claim_id(s, req, &c), IK_OK);
	assert_int_equal(ra_store_request_complete(s, req, &is, NULL), IK_OK);
}

static void test_create(void **state)
{
	fixture *f = *state;
	ra_batch_keyed_new b = keyed(5, 0);
	ra_batch_info bi;
	int64_t id = 0, id2 = 0;

	b.envelope_key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n";
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_ERR_ARG);
	b = keyed(0, 0);
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_ERR_ARG);
	b = keyed(RA_BATCH_PLANNED_MAX + 1, 0);
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_ERR_ARG);
	b = keyed(5, 0);
	b.p12_format = "pfx";
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_ERR_ARG);
	b = keyed(5, 4); /* five do not fit a quota of four */
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_ERR_STATE);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM batches"), 0);

	b = keyed(5, 5);
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_OK);
	assert_true(id > 0);
	b = keyed(1, 0);
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id2), IK_ERR_STATE);
	assert_int_equal(id2, 0);
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_int_equal(bi.planned, 5);
	assert_int_equal(bi.validity_days, 30);
	assert_string_equal(bi.key_type, "ec-p256");
	assert_string_equal(bi.p12_format, "modern");
	assert_int_equal(bi.envelope_spki_len, sizeof(SPKI));
	assert_memory_equal(bi.envelope_spki, SPKI, sizeof(SPKI));
	assert_true(bi.has_envelope_key);
	assert_int_equal(bi.downloaded, 0);
	assert_int_equal(bi.b.state, RA_BATCH_RUNNING);
	assert_string_equal(bi.b.cn_pattern, "client_%06d");
	assert_int_equal(ra_store_batch_running_info(f->s, &bi), IK_OK);
	assert_int_equal(bi.b.id, id);

	/* the schema refuses a clear key and a blob that is not a sealed key, by hand too */
	assert_int_not_equal(ik_raw_exec(f->path, "UPDATE batches SET envelope_key ="
	    " '-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----'"), SQLITE_OK);
	assert_int_equal(ik_raw_exec(f->path, "INSERT INTO certificates(cn, validity_days, state,"
	    " created_at, updated_at) VALUES ('x', 1, 'issuing', 0, 0)"), SQLITE_OK);
	assert_int_not_equal(ik_raw_exec(f->path, "UPDATE certificates SET key_envelope ="
	    " x'308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b020101042000000000000000000000000000000000000000000000000000000000000000000000'"),
	    SQLITE_OK);
	/* 009: IKB1 and IKB2 blobs are taken, another magic is not; a wrapped content key is
	 * an RSA block (256..1024 bytes), not a short clear key */
	assert_int_equal(ik_raw_exec(f->path, "UPDATE certificates SET key_envelope ="
	    " x'494b4232000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' WHERE cn = 'x'"), SQLITE_OK);
	assert_int_equal(ik_raw_exec(f->path, "UPDATE certificates SET key_envelope ="
	    " x'494b4231000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' WHERE cn = 'x'"), SQLITE_OK);
	assert_int_not_equal(ik_raw_exec(f->path, "UPDATE certificates SET key_envelope ="
	    " x'494b4233000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' WHERE cn = 'x'"), SQLITE_OK);
	assert_int_not_equal(ik_raw_exec(f->path, "UPDATE batches SET envelope_cek = zeroblob(32)"),
	    SQLITE_OK);
}

static void test_cn_max(void **state)
{
	fixture *f = *state;
	static const char *const names[] = { "client_000003", "client_000001", "client_00000x",
		"client_0000010", "client_000009-a", "clienT_000500", "client_", "client_00002" };
	uint64_t max = 99;
	int found = 1;

	assert_int_equal(ra_store_cert_cn_max(f->s, "client_", 6, "", &max, &found), IK_OK);
	assert_int_equal(found, 0);
	assert_int_equal(max, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ra_cert_new c = { .cn = names[i], .validity_days = 30 };
		int64_t id;
		assert_int_equal(ra_store_cert_reserve(f->s, &c, NULL, &id), IK_OK);
	}
	/* only prefix + exactly 6 digits + suffix count */
	assert_int_equal(ra_store_cert_cn_max(f->s, "client_", 6, "", &max, &found), IK_OK);
	assert_int_equal(found, 1);
	assert_int_equal(max, 3);
	assert_int_equal(ra_store_cert_cn_max(f->s, "client_", 6, "-a", &max, &found), IK_OK);
	assert_int_equal(max, 9);
	assert_int_equal(ra_store_cert_cn_max(f->s, "client_", 7, "", &max, &found), IK_OK);
	assert_int_equal(max, 10);
	assert_int_equal(ra_store_cert_cn_max(f->s, "client_", 5, "", &max, &found), IK_OK);
	assert_int_equal(max, 2);
	assert_int_equal(ra_store_cert_cn_max(f->s, "pc-", 3, "", &max, &found), IK_OK);
	assert_int_equal(found, 0);
	assert_int_equal(ra_store_cert_cn_max(f->s, "client_", 0, "", &max, &found), IK_ERR_ARG);
}

/* The next certificate is added only when the caller's count is the store's. */
static void test_add_resumable(void **state)
{
	fixture *f = *state;
	ra_batch_keyed_new b = keyed(3, 0);
	ra_batch_info bi;
	ra_request r0, r1, r2;
	int64_t id;
	char sql[160];

	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_OK);
	assert_int_equal(add(f->s, id, 0, "client_000001", &r0), IK_OK);
	assert_int_equal(r0.batch_id, id);
	assert_int_equal(r0.validity_days, 30);
	assert_int_equal(r0.spki_len, sizeof(SPKI));
	/* a restarted worker that saw 0 requests: nothing is added twice */
	assert_int_equal(add(f->s, id, 0, "client_000002", NULL), IK_ERR_EXISTS);
	assert_int_equal(add(f->s, id, 2, "client_000002", NULL), IK_ERR_EXISTS);
	/* a name already taken */
	assert_int_equal(add(f->s, id, 1, "client_000001", NULL), IK_ERR_EXISTS);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM requests WHERE batch_id = %lld",
	    (long long)id);
	assert_int_equal(ik_raw_int(f->path, sql), 1);
	assert_int_equal(add(f->s, id, 1, "client_000002", &r1), IK_OK);
	assert_int_equal(add(f->s, id, 2, "client_000003", &r2), IK_OK);
	/* all planned are added: no fourth */
	assert_int_equal(add(f->s, id, 3, "client_000004", NULL), IK_ERR_STATE);
	assert_int_equal(ik_raw_int(f->path, sql), 3);
	/* each certificate holds its sealed key, added in the same transaction */
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM certificates WHERE key_envelope IS NOT"
	    " NULL AND request_id IN (%lld, %lld, %lld)", (long long)r0.id, (long long)r1.id,
	    (long long)r2.id);
	assert_int_equal(ik_raw_int(f->path, sql), 3);
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_int_equal(bi.b.total, 3);
	assert_int_equal(bi.issuing, 3);
	assert_int_equal(add(f->s, id + 1, 0, "client_000009", NULL), IK_ERR_NOT_FOUND);
	{
		ra_batch_item_new bad = { .batch_id = id, .index = 3, .cn = "client_000004",
			.spki = SPKI, .spki_len = sizeof(SPKI), .envelope = NULL };
		assert_int_equal(ra_store_batch_add_keyed(f->s, &bad, NULL, NULL), IK_ERR_ARG);
	}
}

static void test_add_refusals(void **state)
{
	fixture *f = *state;
	ra_batch_keyed_new b = keyed(5, 0);
	int64_t id, plain;

	/* a batch without keys (a bulk file) takes no keyed items */
	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_ISSUE, "", "olivia", NULL, &plain),
	    IK_OK);
	assert_int_equal(add(f->s, plain, 0, "client_000001", NULL), IK_ERR_STATE);
	assert_int_equal(ra_store_batch_seal(f->s, plain), IK_OK);
	/* the quota runs out while a batch is added */
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_OK);
	{
		ra_batch_item_new it = { .batch_id = id, .index = 0, .cn = "client_000001",
			.spki = SPKI, .spki_len = sizeof(SPKI), .envelope = ENV,
			.envelope_len = sizeof(ENV), .quota = 1 };
		assert_int_equal(ra_store_batch_add_keyed(f->s, &it, NULL, NULL), IK_OK);
		it.index = 1;
		it.cn = "client_000002";
		assert_int_equal(ra_store_batch_add_keyed(f->s, &it, NULL, NULL), IK_ERR_STATE);
	}
	/* an aborted batch takes no more */
	assert_int_equal(ra_store_batch_abort(f->s, id, "stopped", NULL), IK_OK);
	assert_int_equal(add(f->s, id, 1, "client_000002", NULL), IK_ERR_STATE);
}

typedef struct seen {
	size_t n, with_key, issued;
	char first[RA_CN_MAX + 1];
} seen;

static int count_item(void *ctx, const ra_batch_item *it)
{
	seen *s = ctx;

	if (s->n++ == 0)
		snprintf(s->first, sizeof(s->first), "%s", it->cn);
	if (it->envelope != NULL && it->envelope_len == sizeof(ENV) &&
	    memcmp(it->envelope, ENV, sizeof(ENV)) == 0)
		s->with_key++;
	if (it->state == RA_CERT_ACTIVE && it->der != NULL && it->serial[0] != '\0')
		s->issued++;
	/* its request's public key, which IKB2 binds */
	if (it->spki == NULL || it->spki_len != sizeof(SPKI) ||
	    memcmp(it->spki, SPKI, sizeof(SPKI)) != 0)
		return 1;
	return 0;
}

static int stop_at_once(void *ctx, const ra_batch_item *it)
{
	(void)ctx;
	(void)it;
	return 1;
}

static void test_items_and_purge(void **state)
{
	fixture *f = *state;
	ra_batch_keyed_new b = keyed(3, 0);
	ra_batch_info bi;
	ra_request r[3];
	ik_buf pem;
	seen s = { 0 };
	int64_t id;
	char name[32];

	ik_buf_init(&pem, RA_BATCH_KEY_PEM_MAX);
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_OK);
	/* IKB2: the wrapped content key, set once while the batch runs */
	{
		uint8_t w[384], w2[384];
		ik_buf got;

		memset(w, 0xa5, sizeof(w));
		memset(w2, 0x5a, sizeof(w2));
		ik_buf_init(&got, RA_BATCH_CEK_WRAPPED_MAX);
		assert_int_equal(ra_store_batch_envelope_cek(f->s, id, &got), IK_ERR_NOT_FOUND);
		assert_int_equal(ra_store_batch_set_cek(f->s, id, w, 100), IK_ERR_ARG);
		assert_int_equal(ra_store_batch_set_cek(f->s, id, NULL, sizeof(w)), IK_ERR_ARG);
		assert_int_equal(ra_store_batch_set_cek(f->s, id + 100, w, sizeof(w)), IK_ERR_EXISTS);
		assert_int_equal(ra_store_batch_set_cek(f->s, id, w, sizeof(w)), IK_OK);
		/* once: a second (a restarted worker's) is refused and changes nothing */
		assert_int_equal(ra_store_batch_set_cek(f->s, id, w2, sizeof(w2)), IK_ERR_EXISTS);
		assert_int_equal(ra_store_batch_envelope_cek(f->s, id, &got), IK_OK);
		assert_int_equal(ik_buf_remaining(&got), sizeof(w));
		assert_memory_equal(ik_buf_ptr(&got), w, sizeof(w));
		ik_buf_cleanup(&got);
	}
	for (unsigned i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "client_%06u", i + 1);
		assert_int_equal(add(f->s, id, i, name, &r[i]), IK_OK);
	}
	/* running, then sealed with requests still issuing: no purge */
	assert_int_equal(ra_store_batch_purge_keys(f->s, id, &H), IK_ERR_STATE);
	assert_int_equal(ra_store_batch_seal(f->s, id), IK_OK);
	issue(f->s, r[0].id, 0x101);
	issue(f->s, r[1].id, 0x102);
	assert_int_equal(ra_store_batch_purge_keys(f->s, id, &H), IK_ERR_STATE);
	/* the last fails at the signer: the batch finishes with it failed */
	{
		ra_request c;
		assert_int_equal(ra_store_request_claim_id(f->s, r[2].id, &c), IK_OK);
		assert_int_equal(ra_store_request_fail(f->s, r[2].id, "refused", 0, 0, NULL, NULL),
		    IK_OK);
	}
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_int_equal(bi.b.state, RA_BATCH_FINISHED);
	assert_int_equal(bi.active, 2);
	assert_int_equal(bi.issuing, 0);

	assert_int_equal(ra_store_batch_items(f->s, id, count_item, &s), IK_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.with_key, 3);
	assert_int_equal(s.issued, 2);
	assert_string_equal(s.first, "client_000001");
	assert_int_equal(ra_store_batch_items(f->s, id, stop_at_once, NULL), IK_ERR_STATE);
	assert_int_equal(ra_store_batch_envelope_key(f->s, id, &pem), IK_OK);
	assert_int_equal(ik_buf_remaining(&pem), strlen(PEM));
	assert_memory_equal(ik_buf_ptr(&pem), PEM, strlen(PEM));

	assert_int_equal(ra_store_batch_purge_keys(f->s, id, &H), IK_OK);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates WHERE key_envelope"
	    " IS NOT NULL"), 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM batches WHERE envelope_key IS NOT"
	    " NULL"), 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM batches WHERE envelope_cek IS NOT"
	    " NULL"), 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = 'test_op'"),
	    2); /* creation and purge */
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_true(bi.downloaded > 0);
	assert_false(bi.has_envelope_key);
	/* once only */
	assert_int_equal(ra_store_batch_purge_keys(f->s, id, &H), IK_ERR_STATE);
	ik_buf_reset(&pem);
	assert_int_equal(ra_store_batch_envelope_key(f->s, id, &pem), IK_ERR_STATE);
	assert_int_equal(ra_store_batch_envelope_cek(f->s, id, &pem), IK_ERR_NOT_FOUND);
	/* finished: no content key can be set any more */
	{
		uint8_t w[384] = { 1 };
		assert_int_equal(ra_store_batch_set_cek(f->s, id, w, sizeof(w)), IK_ERR_EXISTS);
	}
	s = (seen){ 0 };
	assert_int_equal(ra_store_batch_items(f->s, id, count_item, &s), IK_OK);
	assert_int_equal(s.with_key, 0);
	assert_int_equal(ra_store_batch_purge_keys(f->s, id + 100, &H), IK_ERR_NOT_FOUND);
	ik_buf_cleanup(&pem);
}

/* Items index0.. of batch id named client_%06u from number first. */
static void group_items(ra_batch_item_new *it, size_t n, int64_t id, uint64_t index0,
    unsigned first, uint64_t quota, char names[][32])
{
	for (size_t k = 0; k < n; k++) {
		snprintf(names[k], 32, "client_%06u", first + (unsigned)k);
		it[k] = (ra_batch_item_new){ .batch_id = id, .index = index0 + k, .cn = names[k],
			.spki = SPKI, .spki_len = sizeof(SPKI), .envelope = ENV,
			.envelope_len = sizeof(ENV), .quota = quota };
	}
}

/* A group added at once: every row as the per-key path writes it (linked both ways, the
 * sealed key, the search index, the total); each refusal leaves nothing of the group. */
static void test_add_group(void **state)
{
	fixture *f = *state;
	ra_batch_keyed_new b = keyed(5, 0);
	ra_batch_item_new it[4];
	ra_batch_info bi;
	char names[4][32], sql[512];
	int64_t id;

	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_OK);
	group_items(it, 3, id, 0, 1, 0, names);
	assert_int_equal(ra_store_batch_add_group(f->s, it, 3), IK_OK);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM requests r JOIN certificates c"
	    " ON c.id = r.cert_id AND c.request_id = r.id WHERE r.batch_id = %lld"
	    " AND r.state = 'pending' AND r.kind = 'issue' AND c.state = 'issuing'"
	    " AND c.cn = r.subject_cn AND r.pubkey IS NOT NULL AND c.validity_days = 30"
	    " AND c.key_envelope IS NOT NULL AND length(c.key_envelope) = %zu",
	    (long long)id, sizeof(ENV));
	assert_int_equal(ik_raw_int(f->path, sql), 3);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certs_cn_fts"
	    " WHERE certs_cn_fts MATCH '\"ent_00000\"'"), 3);
	assert_int_equal(ik_raw_int(f->path, "SELECT n FROM cert_state_counts"
	    " WHERE state = 'issuing'"), 3);
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_int_equal(bi.b.total, 3);
	assert_int_equal(bi.issuing, 3);

	/* refusals: the group is refused whole and nothing of it stays */
	group_items(it, 2, id, 2, 4, 0, names); /* a count seen before the last add */
	assert_int_equal(ra_store_batch_add_group(f->s, it, 2), IK_ERR_EXISTS);
	group_items(it, 2, id, 3, 3, 0, names); /* client_000003 is taken */
	assert_int_equal(ra_store_batch_add_group(f->s, it, 2), IK_ERR_EXISTS);
	group_items(it, 3, id, 3, 4, 0, names); /* 6 of 5 planned */
	assert_int_equal(ra_store_batch_add_group(f->s, it, 3), IK_ERR_STATE);
	group_items(it, 2, id, 3, 4, 4, names); /* the second would be the 5th of a quota of 4 */
	assert_int_equal(ra_store_batch_add_group(f->s, it, 2), IK_ERR_STATE);
	group_items(it, 2, id, 3, 4, 0, names);
	it[1].envelope = NULL;
	assert_int_equal(ra_store_batch_add_group(f->s, it, 2), IK_ERR_ARG);
	group_items(it, 2, id, 3, 4, 0, names);
	it[1].index = 5;
	assert_int_equal(ra_store_batch_add_group(f->s, it, 2), IK_ERR_ARG);
	assert_int_equal(ra_store_batch_add_group(f->s, it, 0), IK_ERR_ARG);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM requests WHERE batch_id = %lld",
	    (long long)id);
	assert_int_equal(ik_raw_int(f->path, sql), 3);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates"), 3);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certs_cn_fts"
	    " WHERE certs_cn_fts MATCH '\"ent_00000\"'"), 3);
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_int_equal(bi.b.total, 3);

	/* the rest within the quota, and the per-key path goes on after the group */
	group_items(it, 1, id, 3, 4, 4, names);
	assert_int_equal(ra_store_batch_add_group(f->s, it, 1), IK_OK);
	assert_int_equal(add(f->s, id, 4, "client_000005", NULL), IK_OK);
	assert_int_equal(ik_raw_int(f->path, sql), 5);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
	/* ids continue after the group's */
	assert_int_equal(ik_raw_int(f->path, "SELECT MAX(id) - MIN(id) + 1 FROM certificates"), 5);
}

/* A group larger than the store's rows per statement: every row in place and linked. */
static void test_add_group_rows(void **state)
{
	fixture *f = *state;
	ra_batch_keyed_new b = keyed(40, 0);
	ra_batch_item_new it[35];
	char names[35][32], sql[256];
	int64_t id;

	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_OK);
	assert_int_equal(add(f->s, id, 0, "client_000001", NULL), IK_OK);
	group_items(it, 35, id, 1, 2, 0, names);
	assert_int_equal(ra_store_batch_add_group(f->s, it, 35), IK_OK);
	snprintf(sql, sizeof(sql), "SELECT COUNT(DISTINCT c.cn) FROM requests r JOIN certificates c"
	    " ON c.id = r.cert_id AND c.request_id = r.id AND c.cn = r.subject_cn"
	    " WHERE r.batch_id = %lld AND c.key_envelope IS NOT NULL", (long long)id);
	assert_int_equal(ik_raw_int(f->path, sql), 36);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certs_cn_fts"
	    " WHERE certs_cn_fts MATCH '\"client_0000\"'"), 36);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certs_cn_fts"
	    " WHERE certs_cn_fts MATCH '\"ent_000036\"'"), 1);
	assert_int_equal(ik_raw_int(f->path, "SELECT total FROM batches WHERE planned = 40"), 36);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
	/* and their answers at once, several to a statement too */
	{
		ra_request *rows = calloc(36, sizeof(*rows));
		ra_issued is[36];
		ra_hist h[36];
		char hex[36][8];
		uint8_t der[40];
		size_t n = 0;

		assert_non_null(rows);
		memset(der, 9, sizeof(der));
		assert_int_equal(ra_store_request_claim_group(f->s, INT64_MAX / 2, 36, rows, &n),
		    IK_OK);
		assert_int_equal(n, 36);
		for (size_t k = 0; k < 36; k++) {
			snprintf(hex[k], sizeof(hex[k]), "%04x", 0x300 + (unsigned)k);
			is[k] = (ra_issued){ hex[k], der, sizeof(der), 1000, 2000 + (int64_t)k };
			h[k] = H;
		}
		/* one of the first sixteen not 'sent' (unknown here): the 16-row statement of the
		 * requests changes 15, the group is refused and nothing stays */
		rows[15].id += 1000;
		assert_int_equal(ra_store_request_complete_group(f->s, rows, is, h, 36),
		    IK_ERR_STATE);
		assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM requests WHERE state"
		    " = 'sent'"), 36);
		assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates WHERE state"
		    " = 'active'"), 0);
		rows[15].id -= 1000;
		assert_int_equal(ra_store_request_complete_group(f->s, rows, is, h, 36), IK_OK);
		free(rows);
	}
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates c JOIN requests r"
	    " ON r.id = c.request_id WHERE c.state = 'active' AND r.state = 'done'"
	    " AND c.serial = printf('%04x', 0x300 + c.not_after - 2000) AND c.sha256 IS NOT NULL"),
	    36);
	assert_int_equal(ik_raw_int(f->path, "SELECT done FROM batches WHERE planned = 40"), 36);
	assert_int_equal(ik_raw_int(f->path, "SELECT n FROM cert_state_counts WHERE state"
	    " = 'active'"), 36);
	/* the 36 history entries, written as a group, chained */
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = 'test_op'"),
	    1 + 36);
	assert_int_equal(ra_history_verify(f->s, sql, sizeof(sql)), IK_OK);
}

/* The queue's answers for a group at once: all of them or none. */
static void test_complete_group(void **state)
{
	fixture *f = *state;
	ra_batch_keyed_new b = keyed(3, 0);
	ra_batch_item_new it[3];
	ra_request rows[3];
	ra_issued is[3];
	ra_hist h[3];
	ra_batch_info bi;
	char names[3][32], hex[3][8];
	uint8_t der[40];
	size_t n = 0;
	int64_t id;

	memset(der, 7, sizeof(der));
	assert_int_equal(ra_store_batch_create_keyed(f->s, &b, &H, &id), IK_OK);
	group_items(it, 3, id, 0, 1, 0, names);
	assert_int_equal(ra_store_batch_add_group(f->s, it, 3), IK_OK);
	assert_int_equal(ra_store_batch_seal(f->s, id), IK_OK);
	assert_int_equal(ra_store_request_claim_group(f->s, INT64_MAX / 2, 2, rows, &n), IK_OK);
	assert_int_equal(n, 2);
	for (size_t k = 0; k < 3; k++) {
		snprintf(hex[k], sizeof(hex[k]), "%04x", 0x200 + (unsigned)k);
		is[k] = (ra_issued){ hex[k], der, sizeof(der), 1000, 2000 };
		h[k] = H;
	}
	/* the third is not claimed ('pending'): the group is refused and nothing stays */
	rows[2] = rows[1];
	rows[2].id = rows[1].id + 1;
	rows[2].cert_id = rows[1].cert_id + 1;
	assert_int_equal(ra_store_request_complete_group(f->s, rows, is, h, 3), IK_ERR_STATE);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates WHERE state"
	    " = 'active'"), 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM requests WHERE state"
	    " = 'sent'"), 2);
	assert_int_equal(ra_store_request_complete_group(f->s, rows, is, h, 0), IK_ERR_ARG);
	/* the two claimed ones */
	assert_int_equal(ra_store_request_complete_group(f->s, rows, is, h, 2), IK_OK);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates WHERE state"
	    " = 'active' AND serial IN ('0200', '0201') AND der IS NOT NULL"), 2);
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_int_equal(bi.b.done, 2);
	assert_int_equal(bi.b.state, RA_BATCH_RUNNING);
	/* twice: refused (no longer sent) */
	assert_int_equal(ra_store_request_complete_group(f->s, rows, is, h, 1), IK_ERR_STATE);
	/* the last one finishes the batch */
	assert_int_equal(ra_store_request_claim_group(f->s, INT64_MAX / 2, 2, rows, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ra_store_request_complete_group(f->s, rows, &is[2], h, 1), IK_OK);
	assert_int_equal(ra_store_batch_info(f->s, id, &bi), IK_OK);
	assert_int_equal(bi.b.done, 3);
	assert_int_equal(bi.b.state, RA_BATCH_FINISHED);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = 'test_op'"),
	    1 + 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cn_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_resumable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_and_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_group_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete_group, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
