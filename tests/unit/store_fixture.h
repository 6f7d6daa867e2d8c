/* store_fixture: the store unit tests' fixture, a fresh RA store in a throw-away SQLite file
 * (tmpdb.h): opened by ik_store_setup, closed and removed with its directory by
 * ik_store_teardown.  The test_store*.c files share it. */
#ifndef IK_TEST_STORE_FIXTURE_H
#define IK_TEST_STORE_FIXTURE_H

#include <stdlib.h>
#include "store.h"
#include "tmpdb.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	ra_store *s;
} fixture;

/* tag names the directory (/tmp/ik-TAG-XXXXXX); 0 when the store is open */
static inline int ik_store_setup(void **state, const char *tag)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (ik_tmpdb_make(f->dir, sizeof(f->dir), f->path, sizeof(f->path), tag, "ra.db") != 0) {
		free(f);
		return -1;
	}
	if (ra_store_open(f->path, &f->s) != IK_OK) {
		ik_tmpdb_remove(f->dir, f->path);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int ik_store_teardown(void **state)
{
	fixture *f = *state;

	ra_store_close(f->s);
	ik_tmpdb_remove(f->dir, f->path);
	free(f);
	return 0;
}

#endif
