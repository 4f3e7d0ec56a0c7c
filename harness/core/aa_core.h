/*
 * aa_core: error codes, spec-citing diagnostics, bounded byte buffers and
 * string views shared by every harness module.
 *
 * Design choice: every fallible function returns int (AA_OK or a negative
 * AA_E_* code) and optionally fills a caller-owned struct aa_diag with the
 * spec reference and one line naming the bad field/value. Codes are split
 * into *findings* (the input broke a spec rule -> FAIL in a report) and
 * *faults* (out of memory, I/O, bad vector -> ERROR, never non-conformance).
 *
 * Error-code ranges (append-only; a retired code keeps its number):
 *   core 1..99, b64 100..149, sf 150..199, json 200..249, jwk/crypto 250..299,
 *   jose 300..399, httpsig/digest 400..499, aauth profile 500..599,
 *   http client/discovery 600..699, server 700..749, case/report 750..799,
 *   reference client (reference/lib/aa_client.h) 800..849.
 * Each module defines its codes in its own header and provides a
 * aa_<module>_strerror(); aa_strerror() dispatches by range.
 */
#ifndef AA_CORE_H
#define AA_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AA_VERSION "0.1.0"

#if defined(__GNUC__)
#define AA_WUR __attribute__((warn_unused_result))
#define AA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AA_WUR
#define AA_PRINTF(a, b)
#endif

/* ---- error codes (core range) ---------------------------------------- */
enum {
    AA_OK = 0,
    AA_E_NOMEM = -1,    /* fault: allocation failed */
    AA_E_INVAL = -2,    /* fault: API misuse (NULL, bad enum) */
    AA_E_LIMIT = -3,    /* finding: input exceeds a documented bound */
    AA_E_IO = -4,       /* fault: file or network I/O */
    AA_E_INTERNAL = -5, /* fault: library invariant broken / OpenSSL error */
    AA_E_NOTFOUND = -6, /* finding: lookup found nothing */
    AA_E_SYNTAX = -7,   /* finding: generic syntax error */
    AA_E_UNSUPPORTED = -8 /* finding: feature not implemented/allowed */
};

/* true when |code| is a harness fault rather than a conformance finding */
bool aa_err_is_fault(int code);

/* Static English name of |code| ("AA_E_NOMEM: out of memory"). Never NULL. */
const char *aa_strerror(int code);

/* ---- diagnostics ------------------------------------------------------ */
#define AA_DIAG_MSG_MAX 384

/*
 * Filled by a failing function when the caller passes a non-NULL pointer.
 * |ref| is a static, greppable citation: "RFC8941#4.2.7", "RFC9421#2.5",
 * "RFC7515#5.2", "PROFILE#2.3" (../shared/PROTOCOL.md = the AAuth profile),
 * "AAUTH#10.3" (AAuth explainer 2026-01-19). |step| optionally names the
 * receiver-procedure step (PROFILE#2.11 step numbers, "4.3/7").
 */
struct aa_diag {
    int code;
    const char *ref;
    const char *step;
    char msg[AA_DIAG_MSG_MAX];
};

void aa_diag_clear(struct aa_diag *d);

/*
 * Record a failure and return |code| so callers can write
 *   return aa_fail(d, AA_E_SF_BYTES, "RFC8941#4.2.7", "byte sequence ...");
 * |d| may be NULL. An existing message is overwritten.
 */
int aa_fail(struct aa_diag *d, int code, const char *ref, const char *fmt, ...)
    AA_PRINTF(4, 5);
int aa_vfail(struct aa_diag *d, int code, const char *ref, const char *fmt,
             va_list ap) AA_PRINTF(4, 0);

/*
 * Prefix the existing message with "|fmt|: " (context added by a caller,
 * e.g. "Signature-Input sig1: "), keeping code and ref. Returns d->code.
 */
int aa_diag_prefix(struct aa_diag *d, const char *fmt, ...) AA_PRINTF(2, 3);

/*
 * Human form of a citation: "RFC8941#4.2.7" -> "RFC 8941 §4.2.7",
 * "PROFILE#2.3" -> "AAuth profile §2.3", "AAUTH#10.3" -> "AAuth 2026-01 §10.3".
 * Writes at most |cap| bytes including NUL.
 */
void aa_ref_human(const char *ref, char *out, size_t cap);

/* "RFC 8941 §4.2.7: byte sequence contains ..." into |out| (NUL-terminated). */
void aa_diag_format(const struct aa_diag *d, char *out, size_t cap);

/* ---- string view ------------------------------------------------------ */
/* A view into memory owned by someone else; valid while that owner lives. */
struct aa_str {
    const char *p;
    size_t len;
};

#define AA_STR_LIT(s) ((struct aa_str){(s), sizeof(s) - 1})
struct aa_str aa_str_c(const char *s); /* from NUL-terminated (NULL -> {0}) */
bool aa_str_eq(struct aa_str a, const char *s);
bool aa_str_eq_ci(struct aa_str a, const char *s); /* ASCII case-insensitive */

/* ---- bounded growable buffer ----------------------------------------- */
/*
 * Always NUL-terminated when p != NULL. Appends beyond |max| fail with
 * AA_E_LIMIT; once any append fails the buffer is freed and stays failed
 * (err != 0) so a chain of appends needs only one check at the end.
 */
struct aa_buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
    int err;
};

#define AA_BUF_DEFAULT_MAX ((size_t)16 * 1024 * 1024)

void aa_buf_init(struct aa_buf *b, size_t max);
void aa_buf_free(struct aa_buf *b); /* also resets to empty, keeps max */
void aa_buf_reset(struct aa_buf *b); /* len = 0, keeps memory */
int aa_buf_add(struct aa_buf *b, const void *p, size_t n);
int aa_buf_adds(struct aa_buf *b, const char *s);
int aa_buf_addc(struct aa_buf *b, char c);
int aa_buf_printf(struct aa_buf *b, const char *fmt, ...) AA_PRINTF(2, 3);
int aa_buf_vprintf(struct aa_buf *b, const char *fmt, va_list ap) AA_PRINTF(2, 0);
/* Take ownership of the bytes (NUL-terminated; "" when empty); b is reset. */
char *aa_buf_detach(struct aa_buf *b, size_t *len);

/* ---- small safe helpers ----------------------------------------------- */
/* strdup/strndup that return NULL on failure. */
char *aa_strdup(const char *s);
char *aa_strndup(const char *s, size_t n);
/* snprintf that always NUL-terminates and reports truncation (AA_E_LIMIT). */
int aa_snprintf(char *out, size_t cap, const char *fmt, ...) AA_PRINTF(3, 4);
/* Parse a base-10 int64 (optional leading '-'), whole string, no overflow. */
int aa_parse_i64(const char *s, size_t n, int64_t *out);
/* Constant-time equality for secrets (codes, refresh tokens). */
bool aa_ct_equal(const void *a, const void *b, size_t n);
bool aa_ct_streq(const char *a, const char *b);
/* Zero memory that holds secrets (not optimised away). */
void aa_cleanse(void *p, size_t n);
/* Read a whole file into a heap buffer (NUL-terminated), at most |max|. */
int aa_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
