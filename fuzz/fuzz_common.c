/*
 * fuzz_common: shared helpers of the fuzz targets (see fuzz_common.h).
 */
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aa_fuzz_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "==fuzz== INVARIANT BROKEN at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

int aa_fuzz_check_rejection(const char *what, int rc, const struct aa_diag *d, bool has_diag)
{
    AA_FUZZ_CHECK(rc < 0, "%s: rejection with non-negative code %d", what, rc);
    AA_FUZZ_CHECK(!aa_err_is_fault(rc), "%s: hostile input gave a harness fault %d (%s): %s", what,
                  rc, aa_strerror(rc), has_diag && d ? d->msg : "");
    AA_FUZZ_CHECK(strcmp(aa_strerror(rc), "unknown error") != 0, "%s: code %d has no name", what,
                  rc);
    if (has_diag && d != NULL) {
        AA_FUZZ_CHECK(d->code == rc, "%s: returned %d but diag says %d (%s)", what, rc, d->code,
                      d->msg);
        AA_FUZZ_CHECK(d->ref != NULL && d->ref[0] != '\0', "%s: code %d (%s) without spec ref: %s",
                      what, rc, aa_strerror(rc), d->msg);
        AA_FUZZ_CHECK(d->msg[0] != '\0', "%s: code %d (%s, %s) without a message", what, rc,
                      aa_strerror(rc), d->ref);
        AA_FUZZ_CHECK(memchr(d->msg, '\0', sizeof(d->msg)) != NULL, "%s: message not terminated",
                      what);
    }
    return rc;
}

bool aa_fuzz_debug(void)
{
    static int cached = -1;

    if (cached < 0) {
        const char *e = getenv("AA_FUZZ_DEBUG");
        cached = e != NULL && e[0] != '\0';
    }
    return cached != 0;
}

bool aa_fuzz_known(const char *id)
{
    const char *list = getenv("AA_FUZZ_KNOWN_ISSUES");
    size_t n = strlen(id);

    while (list != NULL && *list != '\0') {
        size_t len = strcspn(list, ", ");
        if (len == n && memcmp(list, id, n) == 0)
            return true;
        list += len;
        list += strspn(list, ", ");
    }
    return false;
}

char *aa_fuzz_cstr(struct aa_str s)
{
    char *p = malloc(s.len + 1);

    AA_FUZZ_CHECK(p != NULL, "malloc(%zu) failed", s.len + 1);
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

bool aa_fuzz_has_nul(struct aa_str s)
{
    return s.len > 0 && memchr(s.p, '\0', s.len) != NULL;
}

bool aa_fuzz_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = p[i];
        uint32_t cp;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}
