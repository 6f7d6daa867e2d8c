/* batch_zip: the batch download's ZIP, built in memory with libzip (a buffer source opened
 * as an archive), never on disk.  The entries' bytes are copies this module owns and wipes
 * when it is freed; the finished archive is handed back in a buffer marked secret. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zip.h>
#include <openssl/crypto.h>

#include "batch.h"
#include "log.h"

#define ZIP_ENTRIES_MAX (2u * 10000u + 64u)

struct ra_zip {
	zip_source_t *src;        /* the archive's bytes (kept past zip_close) */
	zip_t *za;
	uint8_t **data;           /* entry copies, alive until zip_close has read them */
	size_t *len;
	size_t n, cap;
	time_t mtime;
};

ik_status ra_zip_new(ra_zip **out)
{
	ra_zip *z;
	zip_error_t ze;

	*out = NULL;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return IK_ERR_NOMEM;
	zip_error_init(&ze);
	z->mtime = time(NULL);
	if ((z->src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL)
		goto fail;
	zip_source_keep(z->src);  /* zip_close must not free it: the result is read from it */
	if ((z->za = zip_open_from_source(z->src, ZIP_TRUNCATE, &ze)) == NULL)
		goto fail;
	zip_error_fini(&ze);
	*out = z;
	return IK_OK;
fail:
	ik_log(LOG_ERR, "zip: cannot start an archive in memory: %s", zip_error_strerror(&ze));
	zip_error_fini(&ze);
	ra_zip_free(z);
	return IK_ERR_INTERNAL;
}

ik_status ra_zip_add(ra_zip *z, const char *name, const void *data, size_t len, int compress)
{
	zip_source_t *s;
	zip_int64_t idx;
	uint8_t *copy;

	if (z == NULL || z->za == NULL || name == NULL || name[0] == '\0' ||
	    strchr(name, '/') != NULL || strstr(name, "..") != NULL)
		return IK_ERR_ARG;
	if (z->n == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 64;
		uint8_t **d;
		size_t *l;
		if (cap > ZIP_ENTRIES_MAX)
			return IK_ERR_ARG;
		if ((d = realloc(z->data, cap * sizeof(*d))) == NULL)
			return IK_ERR_NOMEM;
		z->data = d;
		if ((l = realloc(z->len, cap * sizeof(*l))) == NULL)
			return IK_ERR_NOMEM;
		z->len = l;
		z->cap = cap;
	}
	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		return IK_ERR_NOMEM;
	if (len > 0)
		memcpy(copy, data, len);
	z->data[z->n] = copy;
	z->len[z->n] = len;
	z->n++;
	if ((s = zip_source_buffer(z->za, copy, len, 0)) == NULL)
		return IK_ERR_INTERNAL;
	if ((idx = zip_file_add(z->za, name, s, ZIP_FL_ENC_UTF_8)) < 0) {
		ik_log(LOG_ERR, "zip: cannot add %s: %s", name, zip_strerror(z->za));
		zip_source_free(s);
		return zip_error_code_zip(zip_get_error(z->za)) == ZIP_ER_EXISTS ? IK_ERR_EXISTS :
		    IK_ERR_INTERNAL;
	}
	if (zip_set_file_compression(z->za, (zip_uint64_t)idx,
	    compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0 ||
	    zip_file_set_mtime(z->za, (zip_uint64_t)idx, z->mtime, 0) != 0)
		return IK_ERR_INTERNAL;
	return IK_OK;
}

ik_status ra_zip_finish(ra_zip *z, ik_buf *out)
{
	zip_stat_t sb;
	uint8_t *p;
	zip_int64_t got;
	ik_status st;

	if (z == NULL || z->za == NULL)
		return IK_ERR_ARG;
	if (zip_close(z->za) != 0) {
		ik_log(LOG_ERR, "zip: cannot write the archive: %s", zip_strerror(z->za));
		zip_discard(z->za);
		z->za = NULL;
		return IK_ERR_INTERNAL;
	}
	z->za = NULL;
	zip_stat_init(&sb);
	if (zip_source_open(z->src) != 0)
		return IK_ERR_INTERNAL;
	if (zip_source_stat(z->src, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE) ||
	    sb.size > SIZE_MAX) {
		zip_source_close(z->src);
		return IK_ERR_INTERNAL;
	}
	st = ik_buf_reserve(out, (size_t)sb.size, &p);
	if (st == IK_OK) {
		got = zip_source_read(z->src, p, sb.size);
		if (got < 0 || (zip_uint64_t)got != sb.size)
			st = IK_ERR_INTERNAL;
	}
	zip_source_close(z->src);
	return st;
}

void ra_zip_free(ra_zip *z)
{
	if (z == NULL)
		return;
	if (z->za != NULL)
		zip_discard(z->za);
	if (z->src != NULL)
		zip_source_free(z->src);
	for (size_t i = 0; i < z->n; i++) {
		OPENSSL_cleanse(z->data[i], z->len[i]);
		free(z->data[i]);
	}
	free(z->data);
	free(z->len);
	free(z);
}
