/*
 * aa_core: diagnostics, buffers and small helpers (see aa_core.h).
 * The buffer fails "sticky": after one failed append every later append is
 * a no-op returning the same error, so builders check once at the end.
 */
#include "aa_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

bool aa_err_is_fault(int code)
{
    return code == AA_E_NOMEM || code == AA_E_INVAL || code == AA_E_IO ||
           code == AA_E_INTERNAL;
}

void aa_diag_clear(struct aa_diag *d)
{
    if (d == NULL)
        return;
    d->code = AA_OK;
    d->ref = NULL;
    d->step = NULL;
    d->msg[0] = '\0';
}

int aa_vfail(struct aa_diag *d, int code, const char *ref, const char *fmt,
             va_list ap)
{
    if (d == NULL)
        return code;
    d->code = code;
    d->ref = ref;
    if (fmt != NULL)
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    else
        d->msg[0] = '\0';
    return code;
}

int aa_fail(struct aa_diag *d, int code, const char *ref, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    aa_vfail(d, code, ref, fmt, ap);
    va_end(ap);
    return code;
}

int aa_diag_prefix(struct aa_diag *d, const char *fmt, ...)
{
    char tmp[2 * AA_DIAG_MSG_MAX + 2];
    size_t n;
    va_list ap;

    if (d == NULL)
        return AA_E_INVAL;
    va_start(ap, fmt);
    vsnprintf(tmp, AA_DIAG_MSG_MAX, fmt, ap);
    va_end(ap);
    n = strlen(tmp);
    memcpy(tmp + n, ": ", 2);
    memcpy(tmp + n + 2, d->msg, strnlen(d->msg, AA_DIAG_MSG_MAX - 1) + 1);
    tmp[AA_DIAG_MSG_MAX - 1] = '\0';
    memcpy(d->msg, tmp, AA_DIAG_MSG_MAX);
    return d->code;
}

void aa_ref_human(const char *ref, char *out, size_t cap)
{
    const char *hash;
    size_t n;

    if (cap == 0)
        return;
    out[0] = '\0';
    if (ref == NULL)
        return;
    hash = strchr(ref, '#');
    n = hash ? (size_t)(hash - ref) : strlen(ref);
    if (n > 3 && strncmp(ref, "RFC", 3) == 0)
        snprintf(out, cap, "RFC %.*s%s%s", (int)(n - 3), ref + 3,
                 hash ? " §" : "", hash ? hash + 1 : "");
    else if (n == 7 && strncmp(ref, "PROFILE", 7) == 0)
        snprintf(out, cap, "AAuth profile%s%s", hash ? " §" : "",
                 hash ? hash + 1 : "");
    else if (n == 5 && strncmp(ref, "AAUTH", 5) == 0)
        snprintf(out, cap, "AAuth 2026-01%s%s", hash ? " §" : "",
                 hash ? hash + 1 : "");
    else
        snprintf(out, cap, "%s", ref);
}

void aa_diag_format(const struct aa_diag *d, char *out, size_t cap)
{
    char ref[96];

    if (cap == 0)
        return;
    if (d == NULL) {
        out[0] = '\0';
        return;
    }
    aa_ref_human(d->ref, ref, sizeof(ref));
    if (ref[0] != '\0')
        snprintf(out, cap, "%s: %s", ref, d->msg[0] ? d->msg : aa_strerror(d->code));
    else
        snprintf(out, cap, "%s", d->msg[0] ? d->msg : aa_strerror(d->code));
}

/* ---- string views ------------------------------------------------------ */
struct aa_str aa_str_c(const char *s)
{
    struct aa_str r = {s, s ? strlen(s) : 0};
    return r;
}

bool aa_str_eq(struct aa_str a, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool aa_str_eq_ci(struct aa_str a, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)s[i]))
            return false;
    return true;
}

/* ---- buffer ----------------------------------------------------------- */
void aa_buf_init(struct aa_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : AA_BUF_DEFAULT_MAX;
    b->err = 0;
}

void aa_buf_free(struct aa_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void aa_buf_reset(struct aa_buf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int buf_fail(struct aa_buf *b, int err)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = err;
    return err;
}

static int buf_reserve(struct aa_buf *b, size_t extra)
{
    size_t need, ncap;
    char *np;

    if (b->err)
        return b->err;
    if (extra > b->max || b->len > b->max - extra)
        return buf_fail(b, AA_E_LIMIT);
    need = b->len + extra + 1;
    if (need <= b->cap)
        return AA_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    np = realloc(b->p, ncap);
    if (np == NULL)
        return buf_fail(b, AA_E_NOMEM);
    b->p = np;
    b->cap = ncap;
    return AA_OK;
}

int aa_buf_add(struct aa_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != AA_OK)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return AA_OK;
}

int aa_buf_adds(struct aa_buf *b, const char *s)
{
    return aa_buf_add(b, s, s ? strlen(s) : 0);
}

int aa_buf_addc(struct aa_buf *b, char c)
{
    return aa_buf_add(b, &c, 1);
}

int aa_buf_vprintf(struct aa_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;
    int rc;

    if (b->err)
        return b->err;
    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return buf_fail(b, AA_E_INTERNAL);
    rc = buf_reserve(b, (size_t)n);
    if (rc != AA_OK)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return AA_OK;
}

int aa_buf_printf(struct aa_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = aa_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *aa_buf_detach(struct aa_buf *b, size_t *len)
{
    char *p;

    if (b->err)
        return NULL;
    if (b->p == NULL && aa_buf_add(b, "", 0) != AA_OK)
        return NULL;
    p = b->p;
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

/* ---- helpers ------------------------------------------------------------ */
char *aa_strdup(const char *s)
{
    return s ? aa_strndup(s, strlen(s)) : NULL;
}

char *aa_strndup(const char *s, size_t n)
{
    char *p;
    if (s == NULL)
        return NULL;
    p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int aa_snprintf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (cap == 0)
        return AA_E_LIMIT;
    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        return AA_E_INTERNAL;
    return (size_t)n >= cap ? AA_E_LIMIT : AA_OK;
}

int aa_parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0;
    bool neg = false;
    size_t i = 0;

    if (s == NULL || n == 0)
        return AA_E_SYNTAX;
    if (s[0] == '-') {
        neg = true;
        i = 1;
        if (n == 1)
            return AA_E_SYNTAX;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return AA_E_SYNTAX;
        if (v > (UINT64_MAX - 9) / 10)
            return AA_E_LIMIT;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (!neg && v > (uint64_t)INT64_MAX)
        return AA_E_LIMIT;
    if (neg && v > (uint64_t)INT64_MAX + 1)
        return AA_E_LIMIT;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return AA_OK;
}

bool aa_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool aa_ct_streq(const char *a, const char *b)
{
    size_t la, lb;
    if (a == NULL || b == NULL)
        return false;
    la = strlen(a);
    lb = strlen(b);
    /* Length is not secret (fixed-size tokens); contents are. */
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}

void aa_cleanse(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

int aa_read_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = AA_OK;

    /* Files may hold private keys: grow by doubling into buffers that are
     * cleansed before being released, never through realloc. */
    *out = NULL;
    if (len)
        *len = 0;
    f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? AA_E_NOTFOUND : AA_E_IO;
    for (;;) {
        size_t got;
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb;
            if (cap > max) {
                rc = AA_E_LIMIT;
                break;
            }
            nb = malloc(ncap);
            if (nb == NULL) {
                rc = AA_E_NOMEM;
                break;
            }
            if (buf) {
                memcpy(nb, buf, n);
                aa_cleanse(buf, cap);
                free(buf);
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) {
            rc = AA_E_LIMIT;
            break;
        }
        if (got == 0) {
            if (ferror(f))
                rc = AA_E_IO;
            break;
        }
    }
    fclose(f);
    if (rc != AA_OK) {
        if (buf) {
            aa_cleanse(buf, cap);
            free(buf);
        }
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return AA_OK;
}
