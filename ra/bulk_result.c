/* bulk_result: what a parsed bulk file leaves behind: freeing it, and its errors rendered
 * as JSON for the API and as text lines for logs and the CLI; kind and format names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bulk.h"
#include "bulk_field.h"

void ra_bulk_free_rows(ra_bulk_result *r)
{
	for (size_t i = 0; i < r->nrows; i++) {
		ra_bulk_row *row = &r->rows[i];

		free(row->user);
		free(row->email);
		free(row->device);
		free(row->common_name);
		free(row->display_name);
		free(row->note);
	}
	free(r->rows);
	r->rows = NULL;
	r->nrows = r->nvalid = 0;
}

void ra_bulk_free(ra_bulk_result *r)
{
	if (r == NULL)
		return;
	ra_bulk_free_rows(r);
	for (size_t i = 0; i < r->nerrors; i++) {
		free(r->errors[i].column);
		free(r->errors[i].header);
		free(r->errors[i].reason);
		for (size_t k = 0; k < r->errors[i].nargs; k++)
			free(r->errors[i].args[k]);
	}
	free(r->errors);
	free(r);
}

int ra_bulk_clean(const ra_bulk_result *r)
{
	return r != NULL && !r->fatal && r->nerrors == 0 && r->errors_dropped == 0;
}

/* ---- rendering and names ---- */

json_t *ra_bulk_errors_json(const ra_bulk_result *r)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < r->nerrors; i++) {
		const ra_bulk_error *e = &r->errors[i];
		json_t *o = json_pack("{s:I,s:s,s:s}", "row", (json_int_t)e->row, "column",
		    e->column, "reason", e->reason);
		json_t *args = json_array();

		for (size_t k = 0; args != NULL && k < e->nargs; k++) {
			json_t *v = json_string(e->args[k]);
			if (json_array_append_new(args, v != NULL ? v : json_string("?")) != 0) {
				json_decref(args);
				args = NULL;
			}
		}
		if (o == NULL || args == NULL) {
			json_decref(o);
			json_decref(args);
			goto fail;
		}
		if (json_object_set_new(o, "args", args) != 0 ||
		    json_object_set_new(o, "code", json_string(e->code != NULL ? e->code : "")) != 0) {
			json_decref(o);
			goto fail;
		}
		if (e->header != NULL &&
		    json_object_set_new(o, "header", json_string(e->header)) != 0) {
			json_decref(o);
			goto fail;
		}
		if (json_array_append_new(a, o) != 0)
			goto fail;
	}
	return a;
fail:
	json_decref(a);
	return NULL;
}

char *ra_bulk_errors_text(const ra_bulk_result *r)
{
	ik_buf b;
	char line[1024];
	int k;

	ik_buf_init(&b, 0);
	for (size_t i = 0; i <= r->nerrors; i++) {
		const ra_bulk_error *e = i < r->nerrors ? &r->errors[i] : NULL;

		if (e == NULL)
			k = r->errors_dropped == 0 ? 0 : snprintf(line, sizeof(line),
			    "%zu more errors not listed\n", r->errors_dropped);
		else if (e->row == 0)
			k = snprintf(line, sizeof(line), "%s\n", e->reason);
		else if (e->column[0] == '\0')
			k = snprintf(line, sizeof(line), "row %zu: %s\n", e->row, e->reason);
		else if (e->header != NULL)
			k = snprintf(line, sizeof(line), "row %zu, column %s (%s): %s\n", e->row,
			    e->column, e->header, e->reason);
		else
			k = snprintf(line, sizeof(line), "row %zu, column %s: %s\n", e->row,
			    e->column, e->reason);
		if (k < 0)
			goto fail;
		if ((size_t)k >= sizeof(line))
			k = (int)sizeof(line) - 1;
		if (k > 0 && ik_buf_put(&b, line, (size_t)k) != IK_OK)
			goto fail;
	}
	if (ik_buf_put_u8(&b, 0) != IK_OK)
		goto fail;
	return (char *)b.data;
fail:
	ik_buf_cleanup(&b);
	return NULL;
}

static const char *const kind_names[] = { "issue", "renew", "revoke" };
static const char *const format_names[] = { "auto", "tsv", "csv" };

int ra_bulk_kind_from_name(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (name != NULL && strcmp(name, kind_names[i]) == 0)
			return i;
	return -1;
}

int ra_bulk_format_from_name(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (name != NULL && strcmp(name, format_names[i]) == 0)
			return i;
	return -1;
}

const char *ra_bulk_kind_name(ra_bulk_kind k)
{
	return (unsigned)k <= RA_BULK_REVOKE ? kind_names[k] : "unknown";
}
