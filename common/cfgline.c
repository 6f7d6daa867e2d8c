/* cfgline: libinih over a file with line numbers for the handler (see cfgline.h). */
#include <stdio.h>
#include <string.h>

#include "cfgline.h"

typedef struct cfgline_reader {
	FILE *f;
	int *line;
	int at_start; /* the next chunk inih asks for begins a new line */
} cfgline_reader;

/* inih reads a line in chunks when it is longer than its buffer: count a line once. */
static char *read_line(char *str, int num, void *stream)
{
	cfgline_reader *r = stream;
	char *s = fgets(str, num, r->f);

	if (s == NULL)
		return NULL;
	if (r->at_start)
		(*r->line)++;
	r->at_start = strchr(s, '\n') != NULL;
	return s;
}

int ik_ini_parse(const char *path, ini_handler handler, void *user, int *line)
{
	cfgline_reader r;
	int rc;

	*line = 0;
	r.f = fopen(path, "r");
	if (r.f == NULL)
		return -1;
	r.line = line;
	r.at_start = 1;
	rc = ini_parse_stream(read_line, &r, handler, user);
	fclose(r.f);
	return rc;
}
