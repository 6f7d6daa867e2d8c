/* shamir: Shamir secret sharing over GF(2^8) (the AES field, x^8+x^4+x^3+x+1), byte by byte,
 * and the custodian share that carries one piece of the root token's PINs: a binary form, a
 * text form (Crockford base32 in groups of four, with a checksum) and the rebuild. */
#ifndef IK_SHAMIR_H
#define IK_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* ---- the field and the scheme ---- */

/* Constant time: no tables, no branches on the operands. */
uint8_t gf256_mul(uint8_t a, uint8_t b);
uint8_t gf256_inv(uint8_t a); /* a^254; inv(0) = 0 */

/* Split len bytes into n shares (share i has x = i+1 and len bytes at ys + i*len), any m of
 * which rebuild the secret.  2 <= m <= n <= 255.  Coefficients from RAND_priv_bytes. */
ik_status shamir_split(const uint8_t *secret, size_t len, unsigned m, unsigned n, uint8_t *ys);
/* The same with the coefficients given: coeffs holds (m-1)*len bytes, the coefficient of
 * x^k for secret byte j at coeffs[j*(m-1) + k-1].  For known-answer tests. */
ik_status shamir_split_coeffs(const uint8_t *secret, size_t len, unsigned m, unsigned n,
    const uint8_t *coeffs, uint8_t *ys);
/* Lagrange interpolation at 0 through k points (xs[i], ys[i][0..len)).  The xs must be
 * non-zero and distinct (else IK_ERR_ARG).  With fewer points than the threshold the result
 * is a wrong value that tells nothing about the secret: callers check the threshold. */
ik_status shamir_combine(const uint8_t *xs, const uint8_t *const *ys, size_t k, size_t len,
    uint8_t *secret);

/* ---- custodian shares ---- */

#define SHARE_SECRET_LEN 32     /* user PIN material (16 bytes) + SO PIN material (16 bytes) */
#define SHARE_SET_ID_LEN 6      /* SHA-256("inkan share set" || secret), truncated */
#define SHARE_MAX_N 16
#define SHARE_VERSION 1
#define SHARE_CHARS 72          /* base32 characters of one share (45 bytes) */
#define SHARE_TEXT_MAX 128      /* its text form: 3 lines of 6 groups of 4 */
#define SHARE_PIN_LEN 26        /* base32 characters of one PIN (16 bytes) */

typedef struct cer_share {
	uint8_t set_id[SHARE_SET_ID_LEN]; /* the same in every share of one split */
	uint8_t m;                        /* threshold */
	uint8_t x;                        /* 1..n: the custodian's position in the list */
	uint8_t y[SHARE_SECRET_LEN];
} cer_share;

typedef enum share_error {
	SHARE_OK = 0,
	SHARE_BAD_CHAR,      /* a character that is not base32 (position in *pos) */
	SHARE_TOO_SHORT,     /* fewer than SHARE_CHARS characters */
	SHARE_TOO_LONG,      /* more */
	SHARE_BAD_CHECKSUM,  /* a mistyped or damaged share */
	SHARE_BAD_VERSION,   /* checksum good, but not a share this tool writes */
	SHARE_BAD_FIELDS,    /* checksum good, but threshold/index out of range */
} share_error;

const char *share_error_str(share_error e);

/* The share set id of a secret (a commitment checked after every rebuild). */
ik_status share_set_id(const uint8_t secret[SHARE_SECRET_LEN], uint8_t id[SHARE_SET_ID_LEN]);
/* n shares of a fresh split of secret, any m of which rebuild it. */
ik_status share_split(const uint8_t secret[SHARE_SECRET_LEN], unsigned m, unsigned n,
    cer_share *out);
/* Rebuild from k shares: same set id and threshold, distinct indices, at least m of them;
 * the result must match the set id.  On failure why says which rule failed and names the
 * share (by its position in the array, 1-based) where one is to blame. */
ik_status share_combine(const cer_share *shares, size_t k, uint8_t secret[SHARE_SECRET_LEN],
    char *why, size_t whysz);

/* Text: "ABCD EFGH JKMN PQRS TVWX YZ01\n" three times (NUL-terminated; outsz >=
 * SHARE_TEXT_MAX).  Crockford's alphabet: no I, L, O, U. */
ik_status share_encode(const cer_share *s, char *out, size_t outsz);
/* Parse a share typed or read from a file: case-insensitive, O read as 0 and I/L as 1,
 * spaces, tabs, dashes and line breaks ignored, lines starting with '#' ignored.  *pos is
 * the 0-based offset of a bad character. */
share_error share_decode(const char *text, size_t n, cer_share *out, size_t *pos);
/* The number of base32 symbols in text (ignoring what share_decode ignores), or -1 at a bad
 * character: for terminal entry, to know when a share is complete. */
int share_count_symbols(const char *text, size_t n);

/* The two PINs derived from a secret: user PIN from bytes 0..15, SO PIN from 16..31, each
 * SHARE_PIN_LEN base32 characters and a NUL. */
void share_pins(const uint8_t secret[SHARE_SECRET_LEN], char user[SHARE_PIN_LEN + 1],
    char so[SHARE_PIN_LEN + 1]);
/* Base32 (Crockford) of n bytes, no padding: out needs (8n+4)/5 + 1 bytes. */
void share_b32(const uint8_t *in, size_t n, char *out);

#endif
