/* i18n: message catalogs ("key = message" per line, '#' comments) parsed from the embedded
 * files, checked to hold the same keys in every language, looked up by binary search; and
 * the language of a request from its cookie or Accept-Language. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "embed.h"
#include "i18n.h"

typedef struct entry {
	char *key;
	char *msg;
} entry;

typedef struct catalog {
	entry *e;
	size_t n, cap;
} catalog;

struct ra_i18n {
	catalog cat[RA_LANG_COUNT];
};

static const char *const codes[RA_LANG_COUNT] = { "ja", "en" };

const char *ra_lang_code(ra_lang lang)
{
	return (unsigned)lang < RA_LANG_COUNT ? codes[lang] : "ja";
}

int ra_lang_parse(const char *s, ra_lang *out)
{
	for (unsigned i = 0; s != NULL && i < RA_LANG_COUNT; i++)
		if (strcmp(s, codes[i]) == 0) {
			*out = (ra_lang)i;
			return 1;
		}
	return 0;
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '.' ||
	    c == '-';
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static void catalog_clear(catalog *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].msg);
	}
	free(c->e);
	memset(c, 0, sizeof(*c));
}

static ik_status catalog_add(catalog *c, const char *key, size_t klen, const char *msg,
    size_t mlen)
{
	entry *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		entry *ne = realloc(c->e, cap * sizeof(*ne));
		if (ne == NULL)
			return IK_ERR_NOMEM;
		c->e = ne;
		c->cap = cap;
	}
	e = &c->e[c->n];
	e->key = strndup(key, klen);
	e->msg = strndup(msg, mlen);
	if (e->key == NULL || e->msg == NULL) {
		free(e->key);
		free(e->msg);
		return IK_ERR_NOMEM;
	}
	c->n++;
	return IK_OK;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* One catalog text into c (sorted, no duplicates); why names file:line on failure. */
static ik_status parse_catalog(catalog *c, const char *text, size_t len, const char *name,
    char *why, size_t whysz)
{
	size_t i = 0, line = 0;
	ik_status st;

	while (i < len) {
		size_t end = i, k0, k1, m0, m1;
		line++;
		while (end < len && text[end] != '\n')
			end++;
		k0 = i;
		while (k0 < end && is_space(text[k0]))
			k0++;
		if (k0 == end || text[k0] == '#' || (text[k0] == '\r' && k0 + 1 == end)) {
			i = end + 1;
			continue;
		}
		k1 = k0;
		while (k1 < end && key_char(text[k1]))
			k1++;
		if (k1 == k0 || k1 - k0 > RA_I18N_KEY_MAX) {
			snprintf(why, whysz, "%s:%zu: a key of 1..%d characters [A-Za-z0-9_.-] is required",
			    name, line, RA_I18N_KEY_MAX);
			return IK_ERR_CONFIG;
		}
		m0 = k1;
		while (m0 < end && is_space(text[m0]))
			m0++;
		if (m0 == end || text[m0] != '=') {
			snprintf(why, whysz, "%s:%zu: \"key = message\" expected after the key", name, line);
			return IK_ERR_CONFIG;
		}
		m0++;
		while (m0 < end && is_space(text[m0]))
			m0++;
		m1 = end;
		while (m1 > m0 && (is_space(text[m1 - 1]) || text[m1 - 1] == '\r'))
			m1--;
		for (size_t k = m0; k < m1; k++)
			if ((unsigned char)text[k] < 0x20 || text[k] == 0x7f) {
				snprintf(why, whysz, "%s:%zu: a control character in the message", name, line);
				return IK_ERR_CONFIG;
			}
		if (m1 == m0 || m1 - m0 > RA_I18N_MSG_MAX) {
			snprintf(why, whysz, "%s:%zu: a message of 1..%d bytes is required", name, line,
			    RA_I18N_MSG_MAX);
			return IK_ERR_CONFIG;
		}
		if ((st = catalog_add(c, text + k0, k1 - k0, text + m0, m1 - m0)) != IK_OK)
			return st;
		i = end + 1;
	}
	if (c->n > 0)
		qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
	for (size_t k = 1; k < c->n; k++)
		if (strcmp(c->e[k - 1].key, c->e[k].key) == 0) {
			snprintf(why, whysz, "%s: the key %s appears twice", name, c->e[k].key);
			return IK_ERR_CONFIG;
		}
	return IK_OK;
}

/* Every language has every key: a missing message is a build error, not a blank. */
static ik_status same_keys(const ra_i18n *c, const char *const names[RA_LANG_COUNT],
    char *why, size_t whysz)
{
	for (unsigned l = 1; l < RA_LANG_COUNT; l++) {
		const catalog *a = &c->cat[0], *b = &c->cat[l];
		size_t i = 0, k = 0;
		while (i < a->n || k < b->n) {
			int d = i == a->n ? 1 : k == b->n ? -1 : strcmp(a->e[i].key, b->e[k].key);
			if (d < 0) {
				snprintf(why, whysz, "%s: the key %s is missing (it is in %s)", names[l],
				    a->e[i].key, names[0]);
				return IK_ERR_CONFIG;
			}
			if (d > 0) {
				snprintf(why, whysz, "%s: the key %s is missing (it is in %s)", names[0],
				    b->e[k].key, names[l]);
				return IK_ERR_CONFIG;
			}
			i++;
			k++;
		}
	}
	return IK_OK;
}

/* c handed out when st is IK_OK, else freed. */
static ik_status finish(ra_i18n *c, ik_status st, ra_i18n **out)
{
	if (st != IK_OK) {
		ra_i18n_free(c);
		return st;
	}
	*out = c;
	return IK_OK;
}

ik_status ra_i18n_from_text(const char *const texts[RA_LANG_COUNT],
    const size_t lens[RA_LANG_COUNT], const char *const names[RA_LANG_COUNT],
    ra_i18n **out, char *why, size_t whysz)
{
	ra_i18n *c = calloc(1, sizeof(*c));
	ik_status st = IK_OK;

	*out = NULL;
	if (c == NULL)
		return IK_ERR_NOMEM;
	for (unsigned l = 0; l < RA_LANG_COUNT && st == IK_OK; l++)
		st = parse_catalog(&c->cat[l], texts[l], lens[l], names[l], why, whysz);
	if (st == IK_OK)
		st = same_keys(c, names, why, whysz);
	return finish(c, st, out);
}

/* "i18n/ja.txt" or "i18n/ja-anything.txt" for code "ja". */
static int catalog_of(const char *name, const char *code)
{
	size_t n = strlen(code), len = strlen(name);

	if (strncmp(name, "i18n/", 5) != 0 || strncmp(name + 5, code, n) != 0 || len < 9 ||
	    strcmp(name + len - 4, ".txt") != 0)
		return 0;
	return name[5 + n] == '.' || name[5 + n] == '-';
}

/* The built-in catalogs: each language's messages may be split over several files
 * (i18n/ja.txt, i18n/ja-settings.txt, ...), one screen family per file; a key may appear
 * in only one of them. */
ik_status ra_i18n_load(ra_i18n **out, char *why, size_t whysz)
{
	static const char *const labels[RA_LANG_COUNT] = { "i18n/ja*.txt", "i18n/en*.txt" };
	ra_i18n *c = calloc(1, sizeof(*c));
	ik_status st = IK_OK;

	*out = NULL;
	if (c == NULL)
		return IK_ERR_NOMEM;
	for (unsigned l = 0; l < RA_LANG_COUNT && st == IK_OK; l++) {
		for (const ra_embedded *f = ra_embedded_files; f->name != NULL && st == IK_OK; f++)
			if (catalog_of(f->name, codes[l]))
				st = parse_catalog(&c->cat[l], (const char *)f->data, f->len, f->name,
				    why, whysz);
		if (st == IK_OK && c->cat[l].n == 0) {
			snprintf(why, whysz, "no catalog i18n/%s.txt is built in", codes[l]);
			st = IK_ERR_CONFIG;
		}
	}
	if (st == IK_OK)
		st = same_keys(c, labels, why, whysz);
	return finish(c, st, out);
}

void ra_i18n_free(ra_i18n *c)
{
	if (c == NULL)
		return;
	for (unsigned l = 0; l < RA_LANG_COUNT; l++)
		catalog_clear(&c->cat[l]);
	free(c);
}

static const entry *find(const ra_i18n *c, ra_lang lang, const char *key)
{
	entry k = { .key = (char *)(uintptr_t)key, .msg = NULL };

	if (c == NULL || (unsigned)lang >= RA_LANG_COUNT || c->cat[lang].n == 0)
		return NULL;
	return bsearch(&k, c->cat[lang].e, c->cat[lang].n, sizeof(entry), cmp_entry);
}

const char *ra_i18n_get(const ra_i18n *c, ra_lang lang, const char *key)
{
	const entry *e = find(c, lang, key);

	return e != NULL ? e->msg : key;
}

int ra_i18n_has(const ra_i18n *c, const char *key)
{
	return find(c, RA_LANG_JA, key) != NULL;
}

const ra_embedded *ra_embedded_find(const char *name)
{
	for (const ra_embedded *f = ra_embedded_files; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* q-value of one Accept-Language item ("ja;q=0.8"): 1000 for 1, 0 for 0 or malformed. */
static unsigned qvalue(const char *p, const char *end)
{
	unsigned q = 1000, scale = 100;

	while (p < end && *p != ';')
		p++;
	if (p == end)
		return q;
	p++;
	while (p < end && is_space(*p))
		p++;
	if (end - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
		return 0;
	p += 2;
	if (p < end && *p == '1')
		return 1000;
	if (p >= end || *p != '0')
		return 0;
	q = 0;
	p++;
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
			q += (unsigned)(*p - '0') * scale;
	return q;
}

ra_lang ra_lang_negotiate(const char *cookie, const char *accept)
{
	ra_lang best = RA_LANG_JA, l;
	unsigned best_q = 0;
	const char *p = accept;

	if (ra_lang_parse(cookie, &l))
		return l;
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		const char *tag;
		size_t tlen;
		if (end == NULL)
			end = p + strlen(p);
		tag = p;
		while (tag < end && is_space(*tag))
			tag++;
		tlen = 0;
		while (tag + tlen < end && tag[tlen] != ';' && tag[tlen] != '-' && !is_space(tag[tlen]))
			tlen++;
		for (unsigned i = 0; i < RA_LANG_COUNT; i++) {
			unsigned q;
			if (tlen != 2 || strncasecmp(tag, codes[i], 2) != 0)
				continue;
			q = qvalue(tag, end);
			if (q > best_q) {
				best_q = q;
				best = (ra_lang)i;
			}
		}
		p = *end == ',' ? end + 1 : end;
	}
	return best;
}
