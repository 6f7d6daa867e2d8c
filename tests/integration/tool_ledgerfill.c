/* tool_ledgerfill: for the CRL scale test — put N revoked or held certificates into a
 * signer ledger through the ledger API (batched transactions; the certificate bytes are
 * placeholders, the CRL reads only serials, dates and reasons), before the signer starts.
 * Prints what the CRL must then hold: "reason R COUNT" per CRLReason (0: no extension,
 * 6: the holds), "held SERIAL" and "revoked SERIAL REASON" for one of each (hex, as
 * openssl prints serials).  Usage: tool_ledgerfill LEDGER N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "ledger.h"

#define CHUNK 10000

static const uint8_t reasons[] = { 1, 0, 4, 5, 3, 9, 1, 2, 10, 4, 1, 5, 0, 3, 1 };

static size_t random_serial(uint8_t s[PROTO_MAX_SERIAL])
{
	uint8_t r[16];
	size_t n = 0;

	do
		RAND_bytes(r, sizeof(r));
	while (r[0] == 0);
	if (r[0] & 0x80)
		s[n++] = 0; /* positive, minimal */
	memcpy(s + n, r, sizeof(r));
	return n + sizeof(r);
}

static void print_serial(const char *what, const uint8_t *s, size_t n, int reason)
{
	size_t skip = n > 1 && s[0] == 0;

	printf("%s ", what);
	for (size_t i = skip; i < n; i++)
		printf("%02X", s[i]);
	if (reason >= 0)
		printf(" %d", reason);
	printf("\n");
}

int main(int argc, char **argv)
{
	static uint8_t serial[CHUNK][PROTO_MAX_SERIAL];
	static size_t slen[CHUNK];
	static char id[CHUNK][32];
	static const uint8_t blob[32] = { 0x30, 0x1e };
	size_t count[11] = { 0 }, n, failed = 0;
	int64_t now = (int64_t)time(NULL);
	sg_ledger *l = NULL;
	sg_ledger_batch *b = NULL;
	ik_status st;

	if (argc != 3 || (n = strtoul(argv[2], NULL, 10)) == 0 || n > 10000000) {
		fprintf(stderr, "usage: tool_ledgerfill LEDGER N\n");
		return 2;
	}
	if ((st = sg_ledger_open(argv[1], &l)) != IK_OK ||
	    (st = sg_ledger_batch_new(3 * CHUNK, &b)) != IK_OK) {
		fprintf(stderr, "tool_ledgerfill: %s: %s\n", argv[1], ik_status_str(st));
		return 1;
	}
	for (size_t base = 0; base < n; base += CHUNK) {
		size_t m = n - base < CHUNK ? n - base : CHUNK;
		for (size_t i = 0; i < m; i++) {
			size_t k = base + i;
			int hold = k % 16 == 7;
			uint8_t reason = hold ? 6 : reasons[k % sizeof(reasons)];
			slen[i] = random_serial(serial[i]);
			snprintf(id[i], sizeof(id[i]), "fill-%zu", k);
			if ((st = sg_ledger_batch_intent(b, id[i], serial[i], slen[i], "client", "CN=fill",
			    now - 86400, now + 86400 * 30, blob, sizeof(blob))) != IK_OK ||
			    (st = sg_ledger_batch_cert(b, id[i], blob, sizeof(blob))) != IK_OK ||
			    (st = sg_ledger_batch_event(b, serial[i], slen[i], hold ? SG_EV_HOLD :
			        SG_EV_REVOKE, reason, now - 3600 - (int64_t)(k % 86400))) != IK_OK)
				break;
			count[reason]++;
			if (k == 7)
				print_serial("held", serial[i], slen[i], -1);
			if (k == 4)
				print_serial("revoked", serial[i], slen[i], reason);
		}
		if (st != IK_OK || (st = sg_ledger_batch_commit(l, b, &failed)) != IK_OK) {
			fprintf(stderr, "tool_ledgerfill: batch at %zu (+%zu): %s\n", base, failed,
			    ik_status_str(st));
			return 1;
		}
	}
	for (int r = 0; r <= 10; r++)
		if (count[r] > 0)
			printf("reason %d %zu\n", r, count[r]);
	sg_ledger_batch_free(b);
	sg_ledger_close(l);
	return 0;
}
