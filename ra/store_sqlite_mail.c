/* store_sqlite_mail: the outgoing mail queue — add under an event's dedup key (a repeat is
 * a no-op), atomic claim, sent, retry with a later attempt, restart recovery, listing.  The
 * idempotency plan is described in store.h. */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "store_sqlite_int.h"

#define MAIL_COLS "id, dedup, kind, lang, token, recipients, subject, IFNULL(attach_name, '')," \
	" state, attempts, last_error, next_attempt_at, created_at, IFNULL(sent_at, 0)"

static const char SQL_MAIL_ADD[] =
    "INSERT INTO mails(dedup, kind, lang, token, recipients, subject, body, attach_name,"
    " attach, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    " ON CONFLICT(dedup) DO NOTHING";
static const char SQL_MAIL_GET[] = "SELECT " MAIL_COLS ", body, attach FROM mails WHERE id = ?1";
static const char SQL_MAIL_BY_DEDUP[] =
    "SELECT " MAIL_COLS ", body, attach FROM mails WHERE dedup = ?1";
static const char SQL_MAIL_CLAIM[] =
    "UPDATE mails SET state = 'sending', attempts = attempts + 1"
    " WHERE id = (SELECT id FROM mails WHERE state = 'pending' AND next_attempt_at <= ?1"
    " ORDER BY next_attempt_at, id LIMIT 1) RETURNING id";
static const char SQL_MAIL_SENT[] =
    "UPDATE mails SET state = 'sent', sent_at = ?2, last_error = ''"
    " WHERE id = ?1 AND state = 'sending'";
static const char SQL_MAIL_RETRY[] =
    "UPDATE mails SET state = 'pending', last_error = ?2, next_attempt_at = ?3"
    " WHERE id = ?1 AND state = 'sending'";
static const char SQL_MAIL_RECOVER[] = "UPDATE mails SET state = 'pending' WHERE state = 'sending'";
static const char SQL_MAIL_LIST[] =
    "SELECT " MAIL_COLS " FROM mails WHERE id > ?2 AND (?1 = 0 OR (?1 & CASE state"
    " WHEN 'pending' THEN 2 WHEN 'sending' THEN 4 WHEN 'sent' THEN 8 ELSE 0 END) <> 0)"
    " ORDER BY id LIMIT ?3";
static const char SQL_MAIL_COUNTS[] = "SELECT state, COUNT(*) FROM mails GROUP BY state";
static const char SQL_MAIL_EXISTS[] = "SELECT COUNT(*) FROM mails WHERE id = ?1";

static const char *const states[] = {
	[RA_MAIL_PENDING] = "pending", [RA_MAIL_SENDING] = "sending", [RA_MAIL_SENT] = "sent",
};

const char *ra_mail_state_name(ra_mail_state st)
{
	return st >= RA_MAIL_PENDING && st <= RA_MAIL_SENT ? states[st] : "unknown";
}

void ra_mail_clear(ra_mail *m)
{
	if (m == NULL)
		return;
	free(m->body);
	free(m->attach);
	m->body = NULL;
	m->attach = NULL;
	m->attach_len = 0;
}

static ik_status read_meta(sqlite3_stmt *q, ra_mail *m)
{
	char state[16];
	ik_status st;

	memset(m, 0, sizeof(*m));
	m->id = sq_col_i64(q, 0);
	if ((st = sq_col_text(q, 1, m->dedup, sizeof(m->dedup))) != IK_OK ||
	    (st = sq_col_text(q, 2, m->kind, sizeof(m->kind))) != IK_OK ||
	    (st = sq_col_text(q, 3, m->lang, sizeof(m->lang))) != IK_OK ||
	    (st = sq_col_text(q, 4, m->token, sizeof(m->token))) != IK_OK ||
	    (st = sq_col_text(q, 5, m->recipients, sizeof(m->recipients))) != IK_OK ||
	    (st = sq_col_text(q, 6, m->subject, sizeof(m->subject))) != IK_OK ||
	    (st = sq_col_text(q, 7, m->attach_name, sizeof(m->attach_name))) != IK_OK ||
	    (st = sq_col_text(q, 8, state, sizeof(state))) != IK_OK ||
	    (st = sq_col_text(q, 10, m->last_error, sizeof(m->last_error))) != IK_OK)
		return st;
	if ((m->state = (ra_mail_state)sq_name_index(states, RA_MAIL_PENDING, RA_MAIL_SENT, state)) == 0)
		return IK_ERR_IO;
	m->attempts = (unsigned)sq_col_i64(q, 9);
	m->next_attempt = sq_col_i64(q, 11);
	m->created = sq_col_i64(q, 12);
	m->sent = sq_col_i64(q, 13);
	return IK_OK;
}

static ik_status read_list_row(sqlite3_stmt *q, void *out)
{
	return read_meta(q, out);
}

/* With body (column 14) and attachment (15). */
static ik_status read_full(sqlite3_stmt *q, void *out)
{
	ra_mail *m = out;
	const void *a;
	int an;
	ik_status st = read_meta(q, m);

	if (st != IK_OK)
		return st;
	if ((m->body = sq_col_strdup(q, 14)) == NULL)
		return IK_ERR_NOMEM;
	a = sqlite3_column_blob(q, 15);
	an = sqlite3_column_bytes(q, 15);
	if (a != NULL && an > 0) {
		if ((m->attach = malloc((size_t)an)) == NULL) {
			ra_mail_clear(m);
			return IK_ERR_NOMEM;
		}
		memcpy(m->attach, a, (size_t)an);
		m->attach_len = (size_t)an;
	}
	return IK_OK;
}

static int name_ok(const char *s)
{
	return s != NULL && sq_len_ok(s, 1, RA_MAIL_ATTACH_NAME_MAX) &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	    strlen(s);
}

static int no_breaks(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

ik_status ra_store_mail_add(ra_store *s, const ra_mail_new *m, int *added)
{
	static const char hexd[] = "0123456789abcdef";
	uint8_t rnd[RA_MAIL_TOKEN_LEN / 2];
	char token[RA_MAIL_TOKEN_LEN + 1];
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	if (added != NULL)
		*added = 0;
	if (!sq_len_ok(m->dedup, 1, RA_MAIL_DEDUP_MAX) || !sq_len_ok(m->kind, 1, RA_MAIL_KIND_MAX) ||
	    m->lang == NULL || (strcmp(m->lang, "ja") != 0 && strcmp(m->lang, "en") != 0) ||
	    !sq_len_ok(m->recipients, 3, RA_MAIL_TO_MAX) || !no_breaks(m->recipients) ||
	    !sq_len_ok(m->subject, 0, RA_MAIL_SUBJECT_MAX) || !no_breaks(m->subject) ||
	    !sq_len_ok(m->body, 0, RA_MAIL_BODY_MAX) ||
	    (m->attach_name != NULL && (!name_ok(m->attach_name) || m->attach == NULL ||
	    m->attach_len > RA_MAIL_ATTACH_MAX)))
		return IK_ERR_ARG;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return IK_ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		token[2 * i] = hexd[rnd[i] >> 4];
		token[2 * i + 1] = hexd[rnd[i] & 15];
	}
	token[RA_MAIL_TOKEN_LEN] = '\0';
	if ((st = sq_prep(s, SQL_MAIL_ADD, &c, &q)) != IK_OK)
		return st;
	sq_bind_text(c, q, 1, m->dedup);
	sq_bind_text(c, q, 2, m->kind);
	sq_bind_text(c, q, 3, m->lang);
	sq_bind_text(c, q, 4, token);
	sq_bind_text(c, q, 5, m->recipients);
	sq_bind_text(c, q, 6, m->subject);
	sq_bind_text(c, q, 7, m->body);
	sq_bind_text(c, q, 8, m->attach_name);
	if (m->attach_name != NULL)
		sq_bind_blob(c, q, 9, m->attach_len > 0 ? m->attach : (const uint8_t *)"", m->attach_len);
	sq_bind_i64(c, q, 10, m->not_before);
	sq_bind_i64(c, q, 11, sq_now());
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	if (st == IK_OK && added != NULL)
		*added = changes > 0;
	return st;
}

ik_status ra_store_mail_get(ra_store *s, int64_t id, ra_mail *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_read_one(c, SQL_MAIL_GET, &id, NULL, read_full, out);
}

ik_status ra_store_mail_by_dedup(ra_store *s, const char *dedup, ra_mail *out)
{
	sq_conn *c;
	ik_status st;

	if (!sq_len_ok(dedup, 1, RA_MAIL_DEDUP_MAX))
		return IK_ERR_NOT_FOUND;
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	return sq_read_one(c, SQL_MAIL_BY_DEDUP, NULL, dedup, read_full, out);
}

ik_status ra_store_mail_claim(ra_store *s, int64_t now, ra_mail *out)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t id = 0;
	int row = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_MAIL_CLAIM, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, now);
		if ((st = sq_step(c, q, &row)) == IK_OK && row) {
			id = sq_col_i64(q, 0);
			st = sq_exec(c, q, NULL);
		}
		sq_reset(q);
	}
	if (st == IK_OK)
		st = row ? sq_read_one(c, SQL_MAIL_GET, &id, NULL, read_full, out) : IK_ERR_NOT_FOUND;
	return sq_finish(c, st);
}

/* IK_ERR_NOT_FOUND for no such mail, else IK_ERR_STATE (not sending). */
static ik_status why_not(sq_conn *c, int64_t id)
{
	int64_t n = 0;
	ik_status st = sq_count_id(c, SQL_MAIL_EXISTS, id, &n);

	return st != IK_OK ? st : n > 0 ? IK_ERR_STATE : IK_ERR_NOT_FOUND;
}

ik_status ra_store_mail_sent(ra_store *s, int64_t id, int64_t now)
{
	sq_conn *c;
	int64_t v[2] = { id, now }, changes = 0;
	ik_status st = sq_get_conn(s, &c);

	if (st == IK_OK)
		st = sq_run_ids(c, SQL_MAIL_SENT, v, 2, &changes);
	return st == IK_OK && changes == 0 ? why_not(c, id) : st;
}

ik_status ra_store_mail_retry(ra_store *s, int64_t id, const char *error, int64_t retry_at)
{
	char err[RA_STORE_TEXT_MAX + 1];
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	sq_clip_text(error, err);
	if ((st = sq_prep(s, SQL_MAIL_RETRY, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	sq_bind_text(c, q, 2, err);
	sq_bind_i64(c, q, 3, retry_at);
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	return st == IK_OK && changes == 0 ? why_not(c, id) : st;
}

ik_status ra_store_mail_recover(ra_store *s, size_t *n)
{
	sq_conn *c;
	int64_t changes = 0;
	ik_status st;

	if (n != NULL)
		*n = 0;
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_MAIL_RECOVER, NULL, 0, &changes);
	if (st == IK_OK && n != NULL)
		*n = (size_t)changes;
	return st;
}

ik_status ra_store_mail_list(ra_store *s, unsigned state_mask, int64_t after_id,
    ra_mail *rows, size_t max, size_t *n)
{
	const int64_t v[2] = { (int64_t)state_mask, after_id };

	return sq_read_page(s, SQL_MAIL_LIST, v, 2, max, read_list_row, rows, sizeof(*rows), n);
}

ik_status ra_store_mail_counts(ra_store *s, uint64_t counts[RA_MAIL_SENT + 1])
{
	return sq_count_states(s, SQL_MAIL_COUNTS, states, RA_MAIL_PENDING, RA_MAIL_SENT, counts);
}
