/*
 * Report helpers: one sanitising escaper for every output format, result
 * grouping, locale-free number formatting.
 *
 * Design choice: every writer funnels all run-supplied text through
 * rp_text(), so no format can carry a raw control character, an invalid
 * UTF-8 byte or an unescaped markup character, whatever a hostile peer put
 * into a transcript.
 */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

static void add_cp(struct aa_buf *b, uint32_t cp)
{
    unsigned char u[4];

    if (cp < 0x80) {
        aa_buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        aa_buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        aa_buf_add(b, u, 3);
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        aa_buf_add(b, u, 4);
    }
}

#define CP_REPLACEMENT 0xFFFD
#define CP_PICTURE_BASE 0x2400 /* Unicode "Control Pictures" block */
#define CP_PICTURE_DEL 0x2421

void rp_textn(struct aa_buf *b, const char *s, size_t n, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)s;
    bool markup = (flags & (RP_XML | RP_HTML)) != 0;

    if (s == NULL)
        return;
    while (n > 0) {
        uint32_t cp = 0;
        size_t k = aa_case_utf8_next(p, n, &cp);

        if (k == 0) {
            add_cp(b, CP_REPLACEMENT);
            k = 1;
        } else if (cp == '\r') {
            /* CRLF -> LF; a lone CR would rewrite a terminal line. */
            if (!(n > 1 && p[1] == '\n'))
                add_cp(b, CP_PICTURE_BASE + '\r');
        } else if (cp == '\n' || cp == '\t') {
            if (flags & RP_ONE_LINE)
                aa_buf_addc(b, ' ');
            else
                aa_buf_addc(b, (char)cp);
        } else if (cp < 0x20) {
            add_cp(b, CP_PICTURE_BASE + cp);
        } else if (cp == 0x7F) {
            add_cp(b, CP_PICTURE_DEL);
        } else if ((cp >= 0x80 && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF) {
            add_cp(b, CP_REPLACEMENT);
        } else if (markup && cp == '&') {
            aa_buf_adds(b, "&amp;");
        } else if (markup && cp == '<') {
            aa_buf_adds(b, "&lt;");
        } else if (markup && cp == '>') {
            aa_buf_adds(b, "&gt;");
        } else if (cp == '"' && ((flags & RP_HTML) || (flags & RP_ATTR))) {
            aa_buf_adds(b, "&quot;");
        } else if ((flags & RP_HTML) && cp == '\'') {
            aa_buf_adds(b, "&#39;");
        } else if ((flags & RP_MD) && strchr("\\`*_[]|~#!", (int)cp) != NULL) {
            aa_buf_addc(b, '\\');
            aa_buf_addc(b, (char)cp);
        } else {
            aa_buf_add(b, p, k);
        }
        p += k;
        n -= k;
    }
}

void rp_text(struct aa_buf *b, const char *s, unsigned flags)
{
    if (s != NULL)
        rp_textn(b, s, strlen(s), flags);
}

size_t rp_prefix_len(const char *s, size_t max)
{
    size_t n;

    if (s == NULL)
        return 0;
    n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    /* Back off continuation bytes so a multi-byte character is not split. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static unsigned long long round_nonneg(double v)
{
    /* NaN, negatives and absurd values all collapse to a printable range. */
    if (!(v > 0))
        return 0;
    if (v > 1e15)
        v = 1e15;
    return (unsigned long long)(v + 0.5);
}

void rp_seconds(char *out, size_t cap, double ms)
{
    unsigned long long m = round_nonneg(ms);
    aa_snprintf(out, cap, "%llu.%03llu", m / 1000, m % 1000);
}

void rp_millis(char *out, size_t cap, double ms)
{
    unsigned long long t = round_nonneg(ms * 10.0);
    aa_snprintf(out, cap, "%llu.%llu", t / 10, t % 10);
}

const enum aa_outcome rp_outcome_order[RP_N_OUTCOMES] = {
    AA_OUT_PASS, AA_OUT_PASS_QUIRK, AA_OUT_FAIL, AA_OUT_WARN,
    AA_OUT_INFO, AA_OUT_SKIP,       AA_OUT_ERROR};

size_t rp_outcome_count(const struct aa_totals *t, enum aa_outcome o)
{
    switch (o) {
    case AA_OUT_PASS:
        return t->pass;
    case AA_OUT_PASS_QUIRK:
        return t->pass_quirk;
    case AA_OUT_FAIL:
        return t->fail;
    case AA_OUT_WARN:
        return t->warn;
    case AA_OUT_INFO:
        return t->info;
    case AA_OUT_SKIP:
        return t->skip;
    case AA_OUT_ERROR:
    default:
        return t->error;
    }
}

const char *rp_result_text(int exit_code)
{
    return exit_code == 0   ? "conformant for every check that ran"
           : exit_code == 1 ? "conformance failures"
           : exit_code == 3 ? "could not test (every check was a harness error)"
                            : "nothing ran";
}

const char *rp_suite(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "(none)";
}

static bool same_suite(const char *a, const char *b)
{
    return strcmp(rp_suite(a), rp_suite(b)) == 0;
}

void rp_groups_free(struct rp_groups *gs)
{
    for (size_t i = 0; i < gs->n; i++)
        free(gs->g[i].idx);
    free(gs->g);
    gs->g = NULL;
    gs->n = 0;
}

int rp_groups_build(const struct aa_run *run, struct rp_groups *out)
{
    out->g = NULL;
    out->n = 0;
    if (run == NULL || run->n == 0)
        return AA_OK;
    /* At most one group per result; index arrays sized by a first count. */
    out->g = calloc(run->n, sizeof(*out->g));
    if (out->g == NULL)
        return AA_E_NOMEM;
    for (size_t i = 0; i < run->n; i++) {
        const struct aa_check_result *r = &run->v[i];
        size_t j;
        for (j = 0; j < out->n; j++)
            if (out->g[j].role == r->role && same_suite(out->g[j].suite, r->suite))
                break;
        if (j == out->n) {
            out->g[j].role = r->role;
            out->g[j].suite = rp_suite(r->suite);
            out->n++;
        }
        out->g[j].n++;
    }
    for (size_t j = 0; j < out->n; j++) {
        out->g[j].idx = calloc(out->g[j].n, sizeof(size_t));
        if (out->g[j].idx == NULL) {
            rp_groups_free(out);
            return AA_E_NOMEM;
        }
        out->g[j].n = 0;
    }
    for (size_t i = 0; i < run->n; i++) {
        const struct aa_check_result *r = &run->v[i];
        for (size_t j = 0; j < out->n; j++) {
            struct rp_group *g = &out->g[j];
            if (g->role == r->role && same_suite(g->suite, r->suite)) {
                g->idx[g->n++] = i;
                aa_totals_add(&g->t, r->outcome);
                if (r->duration_ms > 0)
                    g->ms += r->duration_ms;
                break;
            }
        }
    }
    return AA_OK;
}

const char *rp_mark(enum aa_outcome o)
{
    switch (o) {
    case AA_OUT_PASS:
        return "\xE2\x9C\x93"; /* ✓ U+2713 */
    case AA_OUT_PASS_QUIRK:
        return "\xE2\x9C\x93*"; /* ✓* */
    case AA_OUT_FAIL:
        return "\xE2\x9C\x97"; /* ✗ U+2717 */
    case AA_OUT_WARN:
        return "!";
    case AA_OUT_INFO:
        return "i";
    case AA_OUT_SKIP:
        return "-";
    case AA_OUT_ERROR:
    default:
        return "E";
    }
}

const char *rp_outcome_class(enum aa_outcome o)
{
    switch (o) {
    case AA_OUT_PASS:
        return "pass";
    case AA_OUT_PASS_QUIRK:
        return "pass-quirk";
    case AA_OUT_FAIL:
        return "fail";
    case AA_OUT_WARN:
        return "warn";
    case AA_OUT_INFO:
        return "info";
    case AA_OUT_SKIP:
        return "skip";
    case AA_OUT_ERROR:
    default:
        return "error";
    }
}

int rp_doc_begin(const struct aa_run *run, FILE *out, struct rp_groups *gs, struct aa_totals *t,
                 struct aa_buf *b)
{
    int rc;

    if (run == NULL || out == NULL)
        return AA_E_INVAL;
    if ((rc = rp_groups_build(run, gs)) != AA_OK)
        return rc;
    aa_run_totals(run, t);
    aa_buf_init(b, RP_MAX_DOC);
    return AA_OK;
}

int rp_flush(struct aa_buf *b, FILE *out)
{
    int rc = AA_OK;

    if (b->err)
        rc = b->err;
    else if (out == NULL)
        rc = AA_E_INVAL;
    else if (b->len > 0 && fwrite(b->p, 1, b->len, out) != b->len)
        rc = AA_E_IO;
    else if (fflush(out) != 0 || ferror(out))
        rc = AA_E_IO;
    aa_buf_free(b);
    return rc;
}
