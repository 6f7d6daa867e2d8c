/* cfile_int: between cfile.c (reading, errors, typed getters) and cfile_check.c (what each
 * section must say).  Getters return 1 = set, 0 = absent, -1 = bad (already reported). */
#ifndef IK_CFILE_INT_H
#define IK_CFILE_INT_H

#include "cfile.h"

void cfi_err_at(cf_file *cf, int line, const char *section, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));
/* Report a bad value at its key's line; returns -1. */
int cfi_bad(cf_file *cf, size_t sec, const cf_kv *kv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define BAD(kv, ...) cfi_bad(cf, sec, (kv), __VA_ARGS__)

int cfi_is_id(const char *s, size_t n, size_t max);
/* The key's entry, marked as used; NULL (and an error if required) when absent. */
cf_kv *cfi_get(cf_file *cf, size_t sec, const char *key, int required);
int cfi_text(cf_file *cf, size_t sec, const char *key, int required, char *dst, size_t max);
int cfi_label(cf_file *cf, size_t sec, const char *key, int required, char *dst);
int cfi_int(cf_file *cf, size_t sec, const char *key, int required, long long min,
    long long max, long long *out);
int cfi_path(cf_file *cf, size_t sec, const char *key, int required, char *dst);
int cfi_url(cf_file *cf, size_t sec, const char *key, char *dst);
int cfi_hex(cf_file *cf, size_t sec, const char *key, uint8_t *out, size_t outsz, size_t *outlen);
/* Words separated by spaces or commas; fn returns 0 after reporting a bad word. */
int cfi_list(cf_file *cf, size_t sec, const char *key, int required,
    int (*fn)(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg), void *arg);
/* Keys the section's validation did not use: unknown (or not for this action). */
void cfi_check_unused(cf_file *cf, size_t sec, const char *what);
/* Validate every section (after reading). */
void cfi_validate(cf_file *cf);

#endif
