/* fuzz_share: the custodian share parser (ceremony/shamir.c share_decode), which reads what
 * people type at the terminal or bring on a stick.  A share that decodes must encode back to
 * text that decodes to the same share; the symbol count must agree with the decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shamir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char again[SHARE_TEXT_MAX];
	cer_share s, t;
	size_t pos = 0;
	share_error e = share_decode(text, size, &s, &pos);
	int n = share_count_symbols(text, size);

	if (e == SHARE_BAD_CHAR) {
		if (pos >= size || n != -1)
			abort();
		return 0;
	}
	if (n < 0 || (e == SHARE_TOO_SHORT && n >= SHARE_CHARS) ||
	    (e == SHARE_TOO_LONG && n <= SHARE_CHARS))
		abort();
	if (e != SHARE_OK)
		return 0;
	if (n != SHARE_CHARS || share_encode(&s, again, sizeof(again)) != IK_OK ||
	    share_decode(again, strlen(again), &t, &pos) != SHARE_OK || memcmp(&s, &t, sizeof(s)) != 0)
		abort();
	return 0;
}
