/*
 * The seed-style flow report (PROFILE#8): banner, "MODE: Automated", the
 * description lines, one TEST block per flow test with "  ✓ …" / "  ✗ …"
 * check lines, then TEST SUMMARY and "Total: N | Passed: P | Failed: F".
 *
 * Design choice: the format knows only PASSED and FAILED tests, so a test
 * that did not run counts FAILED (D-31: "not run: prerequisite TEST n
 * failed"), and so does a test whose checks were all SKIP or one that hit a
 * harness ERROR (it was not verified). WARN, INFO, SKIP and quirk-assisted
 * checks keep a passing test passing but are annotated on their line and
 * counted on one extra summary line, so they are never mistaken for PASS.
 * One exception (aa_report_print_flow_sel): a test whose checks the run
 * did not select at all (their role is not under test) is SKIPPED - it
 * says nothing about the target, so it is neither passed nor failed.
 */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

#define SEP_EQ "================================================================================\n"
#define SEP_DASH                                                                                   \
    "--------------------------------------------------------------------------------\n"
#define MARK_OK "\xE2\x9C\x93"  /* ✓ U+2713 */
#define MARK_BAD "\xE2\x9C\x97" /* ✗ U+2717 */
#define C_GREEN "\x1b[32m"
#define C_RED "\x1b[31m"
#define C_RESET "\x1b[0m"

enum test_state { T_PASSED, T_FAILED, T_SKIPPED };

struct test_status {
    enum test_state state;
    struct aa_buf reason; /* FAILED: the text after "FAILED: " and "Error: " */
};

static const char *reason_of(const struct test_status *st)
{
    return st->reason.err == 0 && st->reason.p != NULL ? st->reason.p : "(reason unavailable)";
}

static void mk(struct aa_buf *b, bool ok, bool color)
{
    if (color)
        aa_buf_printf(b, "%s%s%s", ok ? C_GREEN : C_RED, ok ? MARK_OK : MARK_BAD, C_RESET);
    else
        aa_buf_adds(b, ok ? MARK_OK : MARK_BAD);
}

static const char *line_of(const struct aa_check_result *r)
{
    if (r->line != NULL)
        return r->line;
    return r->title != NULL ? r->title : r->id;
}

static bool in_test(const struct aa_check_result *r, const char *suite, int no)
{
    return r->test_no == no && r->suite != NULL && suite != NULL && strcmp(r->suite, suite) == 0;
}

static bool is_error(enum aa_outcome o)
{
    return o == AA_OUT_ERROR || (unsigned)o > AA_OUT_ERROR;
}

static void check_line(struct aa_buf *b, const struct aa_check_result *r, bool color)
{
    switch (r->outcome) {
    case AA_OUT_PASS:
    case AA_OUT_PASS_QUIRK:
    case AA_OUT_WARN:
    case AA_OUT_INFO:
        aa_buf_adds(b, "  ");
        mk(b, true, color);
        aa_buf_addc(b, ' ');
        rp_text(b, line_of(r), RP_ONE_LINE);
        if (r->outcome == AA_OUT_PASS_QUIRK) {
            aa_buf_adds(b, " (passed with quirk: ");
            rp_text(b, r->quirk ? r->quirk : "(unnamed)", RP_ONE_LINE);
            aa_buf_addc(b, ')');
        } else if (r->outcome != AA_OUT_PASS) {
            aa_buf_adds(b, r->outcome == AA_OUT_WARN ? " (WARNING: " : " (INFO: ");
            rp_text(b, r->message ? r->message : "no detail", RP_ONE_LINE);
            aa_buf_addc(b, ')');
        }
        aa_buf_addc(b, '\n');
        return;
    case AA_OUT_SKIP:
        aa_buf_adds(b, "  - SKIPPED: ");
        rp_text(b, line_of(r), RP_ONE_LINE);
        aa_buf_adds(b, " (");
        rp_text(b, r->message ? r->message : "no reason given", RP_ONE_LINE);
        aa_buf_adds(b, ")\n");
        return;
    case AA_OUT_FAIL:
    case AA_OUT_ERROR:
    default:
        aa_buf_adds(b, "  ");
        mk(b, false, color);
        aa_buf_addc(b, ' ');
        rp_text(b, line_of(r), RP_ONE_LINE);
        if (is_error(r->outcome))
            aa_buf_adds(b, " (harness error, not a conformance failure)");
        aa_buf_addc(b, '\n');
        if (r->message != NULL) {
            aa_buf_adds(b, "  - ");
            rp_text(b, r->message, RP_ONE_LINE);
            aa_buf_addc(b, '\n');
        }
        if (r->expected != NULL) {
            aa_buf_adds(b, "  - expected: ");
            rp_text(b, r->expected, RP_ONE_LINE);
            aa_buf_addc(b, '\n');
        }
        if (r->actual != NULL) {
            aa_buf_adds(b, "  - actual: ");
            rp_text(b, r->actual, RP_ONE_LINE);
            aa_buf_addc(b, '\n');
        }
        return;
    }
}

/* A failure reason is one line; an enormous message is cut, not dropped. */
#define REASON_MAX 2000

static void reason_text(struct aa_buf *b, const char *s)
{
    size_t n = rp_prefix_len(s, REASON_MAX);
    rp_textn(b, s, n, RP_ONE_LINE);
    if (s[n] != '\0')
        aa_buf_adds(b, "...");
}

/* Decide PASSED/FAILED for one test; |first_failed| is the earliest
 * failed test before it (0 = none); |deselected| (may be NULL) why none of
 * its checks was selected: without results it is SKIPPED. */
static void judge(const struct aa_run *run, const char *suite, int no, int first_failed,
                  const char *deselected, struct test_status *st)
{
    const struct aa_check_result *fail = NULL, *err = NULL, *skip = NULL;
    size_t n = 0, n_skip = 0;

    for (size_t i = 0; i < run->n; i++) {
        const struct aa_check_result *r = &run->v[i];
        if (!in_test(r, suite, no))
            continue;
        n++;
        if (r->outcome == AA_OUT_FAIL && fail == NULL)
            fail = r;
        else if (is_error(r->outcome) && err == NULL)
            err = r;
        else if (r->outcome == AA_OUT_SKIP) {
            n_skip++;
            if (skip == NULL)
                skip = r;
        }
    }
    st->state = T_FAILED;
    if (n == 0 && deselected != NULL) {
        /* nothing of it was asked for: not a failure of the target */
        st->state = T_SKIPPED;
        reason_text(&st->reason, deselected);
    } else if (fail != NULL) {
        reason_text(&st->reason, fail->message ? fail->message : line_of(fail));
    } else if (err != NULL) {
        aa_buf_adds(&st->reason, "harness error: ");
        reason_text(&st->reason, err->message ? err->message : line_of(err));
    } else if (n == 0 && first_failed > 0) {
        aa_buf_printf(&st->reason, "not run: prerequisite TEST %d failed", first_failed);
    } else if (n == 0) {
        aa_buf_adds(&st->reason, "not run");
    } else if (n == n_skip) {
        aa_buf_adds(&st->reason, "not run: every check skipped: ");
        reason_text(&st->reason, skip->message ? skip->message : line_of(skip));
    } else {
        st->state = T_PASSED;
    }
}

int aa_report_print_flow(const struct aa_run *run, const struct aa_flow_def *flow, FILE *out,
                         bool color)
{
    return aa_report_print_flow_sel(run, flow, NULL, out, color);
}

int aa_report_print_flow_sel(const struct aa_run *run, const struct aa_flow_def *flow,
                             const char *const *skipped, FILE *out, bool color)
{
    struct aa_buf b;
    struct test_status *st;
    size_t passed = 0, failed = 0, n_skipped = 0, n_warn = 0, n_skip = 0, n_quirk = 0, n_lines;
    int first_failed = 0;

    if (run == NULL || flow == NULL || out == NULL || (flow->tests == NULL && flow->n_tests > 0))
        return -1;
    st = calloc(flow->n_tests ? flow->n_tests : 1, sizeof(*st));
    if (st == NULL)
        return -1;
    aa_buf_init(&b, RP_MAX_DOC);

    aa_buf_adds(&b, SEP_EQ);
    rp_text(&b, flow->banner, RP_ONE_LINE);
    aa_buf_adds(&b, "\n" SEP_EQ "\nMODE: Automated\n" SEP_EQ);
    for (const char *const *l = flow->description_lines; l != NULL && *l != NULL; l++) {
        rp_text(&b, *l, RP_ONE_LINE);
        aa_buf_addc(&b, '\n');
    }
    aa_buf_adds(&b, SEP_EQ);

    for (size_t t = 0; t < flow->n_tests; t++) {
        const struct aa_flow_test *ft = &flow->tests[t];

        aa_buf_init(&st[t].reason, 4 * REASON_MAX + 256);
        judge(run, flow->suite, ft->no, first_failed, skipped != NULL ? skipped[t] : NULL, &st[t]);
        aa_buf_printf(&b, "\n" SEP_EQ "TEST %d: ", ft->no);
        rp_text(&b, ft->title, RP_ONE_LINE);
        aa_buf_adds(&b, "\n" SEP_EQ "Description: ");
        rp_text(&b, ft->description, RP_ONE_LINE);
        aa_buf_adds(&b, "\n" SEP_EQ "\n");
        n_lines = 0;
        for (size_t i = 0; i < run->n; i++) {
            const struct aa_check_result *r = &run->v[i];
            if (!in_test(r, flow->suite, ft->no))
                continue;
            check_line(&b, r, color);
            n_lines++;
            n_warn += r->outcome == AA_OUT_WARN;
            n_skip += r->outcome == AA_OUT_SKIP;
            n_quirk += r->outcome == AA_OUT_PASS_QUIRK;
        }
        if (n_lines > 0)
            aa_buf_addc(&b, '\n');
        if (st[t].state == T_SKIPPED) {
            /* the mark of a skipped check line (section 7 of report-format) */
            n_skipped++;
            aa_buf_printf(&b, "- TEST %d SKIPPED: %s\n", ft->no, reason_of(&st[t]));
            continue;
        }
        mk(&b, st[t].state == T_PASSED, color);
        if (st[t].state == T_PASSED) {
            passed++;
            aa_buf_printf(&b, " TEST %d PASSED: ", ft->no);
            rp_text(&b, ft->pass_detail ? ft->pass_detail : ft->title, RP_ONE_LINE);
        } else {
            failed++;
            if (first_failed == 0)
                first_failed = ft->no;
            aa_buf_printf(&b, " TEST %d FAILED: ", ft->no);
            aa_buf_adds(&b, reason_of(&st[t]));
        }
        aa_buf_addc(&b, '\n');
    }

    aa_buf_adds(&b, "\n" SEP_EQ "TEST SUMMARY\n" SEP_EQ);
    for (size_t t = 0; t < flow->n_tests; t++) {
        const struct aa_flow_test *ft = &flow->tests[t];
        bool ok = st[t].state == T_PASSED;

        if (st[t].state == T_SKIPPED) {
            aa_buf_printf(&b, "- SKIPPED: TEST %d: ", ft->no);
            rp_text(&b, ft->short_name ? ft->short_name : ft->title, RP_ONE_LINE);
            aa_buf_adds(&b, "\n  Reason: ");
            aa_buf_adds(&b, reason_of(&st[t]));
            aa_buf_addc(&b, '\n');
            aa_buf_free(&st[t].reason);
            continue;
        }
        mk(&b, ok, color);
        aa_buf_printf(&b, " %s: TEST %d: ", ok ? "PASSED" : "FAILED", ft->no);
        rp_text(&b, ft->short_name ? ft->short_name : ft->title, RP_ONE_LINE);
        aa_buf_addc(&b, '\n');
        if (!ok) {
            aa_buf_adds(&b, "  Error: ");
            aa_buf_adds(&b, reason_of(&st[t]));
            aa_buf_addc(&b, '\n');
        }
        aa_buf_free(&st[t].reason);
    }
    aa_buf_adds(&b, "\n" SEP_DASH);
    aa_buf_printf(&b, "Total: %zu | Passed: %zu | Failed: %zu", flow->n_tests, passed, failed);
    if (n_skipped > 0)
        aa_buf_printf(&b, " | Skipped: %zu", n_skipped);
    aa_buf_addc(&b, '\n');
    if (n_warn + n_skip + n_quirk > 0)
        aa_buf_printf(&b, "Warnings: %zu | Skipped: %zu | Passed with quirk: %zu\n", n_warn, n_skip,
                      n_quirk);
    aa_buf_adds(&b, SEP_EQ);
    free(st);
    if (rp_flush(&b, out) != AA_OK)
        return -1;
    return (int)failed;
}
