/* libFuzzer target for the record parser of admin/archive.c (the decrypted body of a backup
 * archive: what restore walks to decide which paths to write).  Beyond the sanitizers it
 * checks the invariants restore relies on: every entry's path passes ad_path_ok, its data
 * lies inside the input, a directory carries no data, and the end record is last. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ik_buf b;
	ad_entry e;
	uint32_t count = 0;

	ik_buf_view(&b, data, size);
	for (;;) {
		ik_status st = ad_entry_next(&b, &e, &count);

		if (st != IK_OK)
			break;
		if (e.type == AD_END) {
			if (ik_buf_remaining(&b) != 0)
				abort();
			break;
		}
		if (!ad_path_ok(e.path) || e.path[0] != '/' || strstr(e.path, "/../") != NULL)
			abort();
		if (e.type == AD_DIR && e.size != 0)
			abort();
		if (e.size > 0 && (e.data < data || e.data + e.size > data + size))
			abort();
		if ((e.mode & ~07777u) != 0)
			abort();
	}
	return 0;
}
