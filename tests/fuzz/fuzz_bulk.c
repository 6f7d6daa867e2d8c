/* libFuzzer target for ra/bulk.c: the first byte picks the kind and format, the rest is
 * the file.  Beyond the sanitizers it checks the result's invariants and renders it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "bulk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const ra_bulk_result *r)
{
	size_t valid = 0;

	if (r->nvalid > r->nrows || (r->fatal && (r->nrows != 0 || r->nerrors == 0)))
		abort();
	/* max_errors, plus the fatal one, which is kept past the cap */
	if (r->nrows > 200 || r->nerrors > 50 + (size_t)r->fatal)
		abort();
	for (size_t i = 0; i < r->nrows; i++) {
		const ra_bulk_row *row = &r->rows[i];

		if (row->row < 2 || (i > 0 && row->row <= r->rows[i - 1].row))
			abort();
		if (!row->ok)
			continue;
		valid++;
		if (r->kind == RA_BULK_ISSUE && (row->user == NULL || row->email == NULL ||
		    row->device == NULL || row->common_name == NULL))
			abort();
		if (r->kind != RA_BULK_ISSUE && row->serial_len == 0 && row->common_name == NULL)
			abort();
		if (row->serial_len > 0 && ((row->serial[0] & 0x80) != 0 ||
		    strlen(row->serial_hex) != 2 * row->serial_len))
			abort();
	}
	if (valid != r->nvalid || (ra_bulk_clean(r) && valid != r->nrows))
		abort();
	for (size_t i = 0; i < r->nerrors; i++)
		if (r->errors[i].column == NULL || r->errors[i].reason == NULL)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ra_bulk_limits lim;
	ra_bulk_result *r = NULL;
	json_t *j;
	char *t;

	if (size < 1)
		return 0;
	ra_bulk_limits_default(&lim);
	lim.max_rows = 200;
	lim.max_errors = 50;
	lim.max_field_bytes = 256;
	if (ra_bulk_parse((ra_bulk_kind)(data[0] % 3), (ra_bulk_format)(data[0] / 3 % 3),
	    data + 1, size - 1, &lim, &r) != IK_OK)
		return 0;
	check(r);
	j = ra_bulk_errors_json(r);
	t = ra_bulk_errors_text(r);
	if (j == NULL || t == NULL)
		abort();
	json_decref(j);
	free(t);
	ra_bulk_free(r);
	return 0;
}
