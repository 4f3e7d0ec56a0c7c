/*
 * Report writers: golden files for console, flow, JUnit, JSON and Markdown
 * (suites/unit/golden/, regenerate with AA_GOLDEN_UPDATE=1 and review the
 * diff), plus property tests: escaping of hostile text, JUnit/JSON
 * structure, the offline HTML, the Markdown size bound, the seed-style
 * flow report against the seed transcript (PROFILE#8), and write_dir.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/aa_sample_run.h"

#define GOLDEN_MAX ((size_t)4 * 1024 * 1024)

/* ---- helpers ------------------------------------------------------------- */
struct doc {
    char *p;
    size_t n;
};

static FILE *mem_open(struct doc *d)
{
    FILE *f;
    d->p = NULL;
    d->n = 0;
    f = open_memstream(&d->p, &d->n);
    cr_assert_not_null(f);
    return f;
}

static void mem_close(FILE *f)
{
    cr_assert_eq(fclose(f), 0);
}

static struct doc render(int (*fn)(const struct aa_run *, FILE *), const struct aa_run *run)
{
    struct doc d;
    FILE *f = mem_open(&d);
    cr_assert_eq(fn(run, f), AA_OK);
    mem_close(f);
    return d;
}

static struct doc render_console(const struct aa_run *run, bool color, bool verbose)
{
    struct doc d;
    struct aa_console_opts o = {color, verbose};
    FILE *f = mem_open(&d);
    aa_report_print_console(run, f, &o);
    mem_close(f);
    return d;
}

static struct doc render_flow(const struct aa_run *run, const struct aa_flow_def *fl, bool color,
                              int *failed)
{
    struct doc d;
    FILE *f = mem_open(&d);
    *failed = aa_report_print_flow(run, fl, f, color);
    mem_close(f);
    return d;
}

static void load_sample(struct aa_run *run)
{
    cr_assert_eq(sample_run(run), AA_OK);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Compare with suites/unit/golden/<name>; on a mismatch name the first
 * differing line and leave the actual output in the build tree. */
static void golden(const char *name, const struct doc *d)
{
    char path[1024], out[1024];
    char *exp = NULL;
    size_t n = 0, line = 1, i;

    aa_snprintf(path, sizeof(path), "%s/suites/unit/golden/%s", AA_SOURCE_DIR, name);
    if (getenv("AA_GOLDEN_UPDATE") != NULL) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "cannot write %s", path);
        cr_assert_eq(fwrite(d->p, 1, d->n, f), d->n);
        cr_assert_eq(fclose(f), 0);
    }
    cr_assert_eq(aa_read_file(path, GOLDEN_MAX, &exp, &n), AA_OK,
                 "golden %s missing (AA_GOLDEN_UPDATE=1 creates it)", path);
    for (i = 0; i < n && i < d->n && exp[i] == d->p[i]; i++)
        if (exp[i] == '\n')
            line++;
    if (i < n || i < d->n) {
        FILE *f;
        aa_snprintf(out, sizeof(out), "%s/golden-actual-%s", AA_BUILD_DIR, name);
        if ((f = fopen(out, "wb")) != NULL) {
            fwrite(d->p, 1, d->n, f);
            fclose(f);
        }
        free(exp);
        cr_assert_fail("%s differs from the golden file at line %zu (byte %zu); actual output "
                       "written to %s",
                       name, line, i, out);
    }
    free(exp);
}

/* Every byte is valid UTF-8 and no control character except LF and TAB.
 * |del_ok|: DEL may appear raw (JSON strings carry it faithfully; RFC 8259
 * requires escaping only U+0000..U+001F). */
static void assert_clean_text(const struct doc *d, bool del_ok, const char *what)
{
    const unsigned char *p = (const unsigned char *)d->p;
    size_t n = d->n;

    while (n > 0) {
        uint32_t cp = 0;
        size_t k = aa_case_utf8_next(p, n, &cp);
        cr_assert_neq(k, 0, "%s: invalid UTF-8 at byte %zu", what, d->n - n);
        if (cp < 0x20 || cp == 0x7F)
            cr_assert(cp == '\n' || cp == '\t' || (del_ok && cp == 0x7F),
                      "%s: control character 0x%02x at byte %zu", what, (unsigned)cp, d->n - n);
        cr_assert(!(cp >= 0x80 && cp <= 0x9F), "%s: C1 control at byte %zu", what, d->n - n);
        cr_assert(cp != 0xFFFE && cp != 0xFFFF, "%s: noncharacter at byte %zu", what, d->n - n);
        p += k;
        n -= k;
    }
}

/* ---- golden files ----------------------------------------------------------- */
Test(report_golden, console)
{
    struct aa_run run;
    struct doc d;
    load_sample(&run);
    d = render_console(&run, false, false);
    golden("console.txt", &d);
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_golden, console_verbose)
{
    struct aa_run run;
    struct doc d;
    load_sample(&run);
    d = render_console(&run, false, true);
    golden("console-verbose.txt", &d);
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_golden, flow)
{
    struct aa_run run;
    struct doc d;
    int failed;
    load_sample(&run);
    d = render_flow(&run, &sample_f6, false, &failed);
    cr_assert_eq(failed, 2, "TEST 3 failed and TEST 4 did not run");
    golden("flow.txt", &d);
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_golden, junit)
{
    struct aa_run run;
    struct doc d;
    load_sample(&run);
    d = render(aa_report_write_junit, &run);
    golden("junit.xml", &d);
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_golden, json)
{
    struct aa_run run;
    struct doc d;
    load_sample(&run);
    d = render(aa_report_write_json, &run);
    golden("report.json", &d);
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_golden, markdown)
{
    struct aa_run run;
    struct doc d;
    load_sample(&run);
    d = render(aa_report_write_markdown, &run);
    golden("report.md", &d);
    free(d.p);
    aa_run_cleanup(&run);
}

/* ---- hostile text ------------------------------------------------------------ */
Test(report_escape, every_format_is_clean_utf8_without_controls)
{
    struct aa_run run;
    struct doc d;
    int failed;

    load_sample(&run);
    d = render(aa_report_write_junit, &run);
    assert_clean_text(&d, false, "junit");
    free(d.p);
    d = render(aa_report_write_json, &run);
    assert_clean_text(&d, true, "json");
    cr_assert_not_null(strstr(d.p, "accepted \\u0001 \\u001b[31mred"), "JSON escapes C0");
    free(d.p);
    d = render(aa_report_write_markdown, &run);
    assert_clean_text(&d, false, "markdown");
    free(d.p);
    d = render(aa_report_write_html, &run);
    assert_clean_text(&d, false, "html");
    free(d.p);
    d = render_console(&run, false, true);
    assert_clean_text(&d, false, "console");
    free(d.p);
    d = render_flow(&run, &sample_f6, false, &failed);
    assert_clean_text(&d, false, "flow");
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_escape, controls_become_visible_pictures)
{
    struct aa_run run;
    struct doc d;

    load_sample(&run);
    d = render_console(&run, false, true);
    /* \x01 -> U+2401, ESC -> U+241B, DEL -> U+2421, \xff -> U+FFFD */
    cr_assert_not_null(strstr(d.p, "accepted \xE2\x90\x81 \xE2\x90\x9B[31mred"));
    cr_assert_not_null(strstr(d.p, "X-Ctl: a\xE2\x90\xA1"
                                   "b\xE2\x90\x82"
                                   "c"));
    cr_assert_not_null(strstr(d.p, "\xEF\xBF\xBD end"));
    cr_assert_null(strstr(d.p, "\r"), "CRLF became LF");
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_escape, xml_rejects_what_xml_1_0_forbids)
{
    static const struct aa_check_def def = {"x.ctl",
                                            "x",
                                            "every C0: \x01\x02\x03\x08\x0b\x0c\x0e\x1f",
                                            AA_ROLE_RESOURCE,
                                            AA_LEVEL_MUST,
                                            "PROFILE#9",
                                            NULL,
                                            NULL};
    struct aa_run run;
    struct aa_check_result r;
    struct doc d;

    aa_run_init(&run);
    cr_assert_eq(aa_result_init(&r, &def), AA_OK);
    r.outcome = AA_OUT_FAIL;
    /* U+FFFE, a UTF-16 surrogate, an overlong NUL, a C1 control, ']]>' */
    cr_assert_eq(aa_result_set(&r.message, "a\xEF\xBF\xBE"
                                           "b\xED\xA0\x80"
                                           "c\xC0\x80"
                                           "d\xC2\x85"
                                           "e]]>\"line\nbreak"),
                 AA_OK);
    cr_assert_eq(aa_result_set(&r.transcript, "t\x7f\x1b[0m"), AA_OK);
    cr_assert_eq(aa_run_add(&run, &r), AA_OK);
    d = render(aa_report_write_junit, &run);
    assert_clean_text(&d, false, "junit");
    cr_assert_null(strstr(d.p, "]]>"), "'>' is always escaped");
    cr_assert_not_null(strstr(d.p, "message=\"a\xEF\xBF\xBD"
                                   "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                                   "c\xEF\xBF\xBD\xEF\xBF\xBD"
                                   "d\xEF\xBF\xBD"
                                   "e]]&gt;&quot;line break\""),
                       "%s", d.p);
    cr_assert_not_null(strstr(d.p, "\xE2\x90\x81\xE2\x90\x82\xE2\x90\x83\xE2\x90\x88\xE2\x90\x8B"));
    free(d.p);
    aa_run_cleanup(&run);
}

/* ---- JUnit ------------------------------------------------------------------- */
Test(report_junit, structure_matches_the_outcomes)
{
    struct aa_run run;
    struct aa_totals t;
    struct doc d;

    load_sample(&run);
    aa_run_totals(&run, &t);
    d = render(aa_report_write_junit, &run);
    cr_assert_eq(count(d.p, "<testcase "), run.n);
    cr_assert_eq(count(d.p, "<failure "), t.fail);
    cr_assert_eq(count(d.p, "type=\"FAIL\""), t.fail);
    cr_assert_eq(count(d.p, "<error "), t.error);
    cr_assert_eq(count(d.p, "<skipped "), t.skip);
    cr_assert_eq(count(d.p, "<system-out>"), t.warn + t.info + t.pass_quirk);
    cr_assert_eq(count(d.p, "<system-out>PASS_QUIRK: "), t.pass_quirk, "quirk passes say so");
    cr_assert_eq(count(d.p, "<testsuite "), 5, "one suite per (role, suite)");
    cr_assert_eq(count(d.p, "<properties>"), 5, "properties in every testsuite");
    cr_assert_not_null(strstr(d.p, "<testsuites name=\"aauth-conformance\" tests=\"12\" "
                                   "failures=\"2\" errors=\"1\""));
    cr_assert_not_null(strstr(d.p, "name=\"aauth.resource.neg-resource\" tests=\"4\" "
                                   "failures=\"1\" errors=\"0\" skipped=\"1\""));
    cr_assert_not_null(
        strstr(d.p, "<skipped message=\"x509 scheme not declared by the target\"/>"));
    cr_assert_not_null(
        strstr(d.p, "<property name=\"aauth.seed\" value=\"12345678901234567890\"/>"));
    for (size_t i = 0; i < run.n; i++) {
        char want[512];
        aa_snprintf(want, sizeof(want), "<testcase name=\"%s\" classname=\"aauth.%s.%s\"",
                    run.v[i].id, aa_role_name(run.v[i].role), run.v[i].suite);
        cr_assert_eq(count(d.p, want), 1, "exactly one testcase for %s", run.v[i].id);
    }
    cr_assert_null(strstr(d.p, "<script>"));
    cr_assert_not_null(strstr(d.p, "&lt;script&gt;"));
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_junit, empty_run_keeps_properties)
{
    struct aa_run run;
    struct doc d;
    cr_assert_eq(sample_info(&run), AA_OK);
    d = render(aa_report_write_junit, &run);
    cr_assert_not_null(strstr(d.p, "tests=\"0\" failures=\"0\" errors=\"0\""));
    cr_assert_not_null(strstr(d.p, "<testsuite name=\"aauth\" tests=\"0\""));
    cr_assert_eq(count(d.p, "<properties>"), 1);
    cr_assert_eq(count(d.p, "<testcase"), 0);
    free(d.p);
    aa_run_cleanup(&run);
}

/* ---- JSON -------------------------------------------------------------------- */
Test(report_json, checks_read_back_and_totals_agree)
{
    struct aa_run run;
    struct aa_totals t;
    struct doc d;
    cJSON *doc, *checks, *totals, *c;
    size_t i = 0;

    load_sample(&run);
    aa_run_totals(&run, &t);
    d = render(aa_report_write_json, &run);
    doc = cJSON_Parse(d.p);
    cr_assert_not_null(doc);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "schema_version")->valuestring, "1.0");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "seed")->valuestring,
                     "12345678901234567890", "the 64-bit seed keeps every digit");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(doc, "exit_code")->valueint, 1);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "targets")), 3);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "quirks")), 1);
    totals = cJSON_GetObjectItemCaseSensitive(doc, "totals");
    cr_assert_eq((size_t)cJSON_GetObjectItemCaseSensitive(totals, "pass_quirk")->valueint,
                 t.pass_quirk);
    cr_assert_eq((size_t)cJSON_GetObjectItemCaseSensitive(totals, "fail")->valueint, t.fail);
    cr_assert_eq((size_t)cJSON_GetObjectItemCaseSensitive(totals, "total")->valueint, t.total);
    checks = cJSON_GetObjectItemCaseSensitive(doc, "checks");
    cr_assert_eq((size_t)cJSON_GetArraySize(checks), run.n);
    cJSON_ArrayForEach(c, checks)
    {
        struct aa_check_result back;
        struct aa_diag dg;
        aa_diag_clear(&dg);
        cr_assert_eq(aa_result_from_cjson(c, &back, &dg), AA_OK, "%s", dg.msg);
        cr_assert_str_eq(back.id, run.v[i].id);
        cr_assert_eq(back.outcome, run.v[i].outcome);
        cr_assert_eq(back.role, run.v[i].role);
        cr_assert_eq(back.test_no, run.v[i].test_no);
        aa_result_cleanup(&back);
        i++;
    }
    cJSON_Delete(doc);
    free(d.p);
    aa_run_cleanup(&run);
}

/* ---- HTML -------------------------------------------------------------------- */
Test(report_html, self_contained_and_escaped)
{
    struct aa_run run;
    struct aa_check_result r;
    static const struct aa_check_def def = {"x.img",
                                            "x",
                                            "<img src=\"https://evil.example/a.png\">",
                                            AA_ROLE_RESOURCE,
                                            AA_LEVEL_MUST,
                                            "PROFILE#9",
                                            NULL,
                                            NULL};
    struct doc d;

    load_sample(&run);
    cr_assert_eq(aa_result_init(&r, &def), AA_OK);
    r.outcome = AA_OUT_FAIL;
    cr_assert_eq(aa_result_set(&r.transcript, "<link href='http://evil.example/x.css'>"
                                              "<script src=//evil.example/x.js></script>"),
                 AA_OK);
    cr_assert_eq(aa_run_add(&run, &r), AA_OK);
    d = render(aa_report_write_html, &run);
    cr_assert_not_null(strstr(d.p, "Content-Security-Policy\" content=\"default-src 'none'"));
    /* No markup that could load anything: quotes and '<' in run text are
     * escaped, so a quoted src/href can only come from real markup. */
    cr_assert_null(strstr(d.p, "src=\""));
    cr_assert_not_null(strstr(d.p, "&lt;script src=//evil.example/x.js&gt;"), "escaped, inert");
    cr_assert_null(strstr(d.p, "href=\""));
    cr_assert_null(strstr(d.p, "href='"));
    cr_assert_not_null(strstr(d.p, "&lt;link href=&#39;http://evil.example/x.css&#39;&gt;"));
    cr_assert_null(strstr(d.p, "<img"));
    cr_assert_null(strstr(d.p, "<link"));
    cr_assert_null(strstr(d.p, "url("));
    cr_assert_null(strstr(d.p, "@import"));
    cr_assert_eq(count(d.p, "<script>"), 1, "only the report's own script");
    cr_assert_eq(count(d.p, "<script"), 1);
    cr_assert_not_null(strstr(d.p, "&lt;img src=&quot;https://evil.example/a.png&quot;&gt;"));
    cr_assert_eq(count(d.p, "<details class=\"check "), run.n);
    for (size_t i = 0; i < run.n; i++) {
        char want[300];
        aa_snprintf(want, sizeof(want), "<code>%s</code>", run.v[i].id);
        cr_assert_not_null(strstr(d.p, want), "check %s listed", run.v[i].id);
    }
    cr_assert_eq(count(d.p, "<button type=\"button\" data-filter="), 8, "All + 7 outcomes");
    cr_assert_not_null(strstr(d.p, "data-filter=\"pass-quirk\""));
    cr_assert_eq(count(d.p, "data-outcome=\"fail\" open>"), 3, "failures open by default");
    cr_assert_eq(count(d.p, "data-outcome=\"error\" open>"), 1);
    cr_assert_not_null(strstr(d.p, "&quot;@signature-params&quot;: "), "signature base shown");
    free(d.p);
    aa_run_cleanup(&run);
}

/* ---- Markdown ------------------------------------------------------------------ */
Test(report_markdown, stays_under_the_step_summary_limit)
{
    struct aa_run run;
    struct doc d;
    char *big = malloc(200 * 1024 + 1), *mid = malloc(64 * 1024 + 1);

    cr_assert(big != NULL && mid != NULL);
    memset(big, 'T', 200 * 1024);
    big[200 * 1024] = '\0';
    memset(mid, '&', 64 * 1024); /* worst case: every byte becomes "&amp;" */
    mid[64 * 1024] = '\0';
    cr_assert_eq(sample_info(&run), AA_OK);
    for (int i = 0; i < 100; i++) {
        struct aa_check_def def = {NULL,          "neg",       "t",  AA_ROLE_RESOURCE,
                                   AA_LEVEL_MUST, "PROFILE#9", NULL, NULL};
        struct aa_check_result r;
        char id[32];
        aa_snprintf(id, sizeof(id), "neg.c%03d", i);
        def.id = id;
        cr_assert_eq(aa_result_init(&r, &def), AA_OK);
        r.outcome = i % 2 ? AA_OUT_FAIL : AA_OUT_WARN;
        cr_assert_eq(aa_result_set(&r.transcript, big), AA_OK);
        cr_assert_eq(aa_result_set(&r.actual, mid), AA_OK);
        cr_assert_eq(aa_result_set(&r.message, mid), AA_OK);
        cr_assert_eq(aa_run_add(&run, &r), AA_OK);
    }
    d = render(aa_report_write_markdown, &run);
    cr_assert_lt(d.n, (size_t)1024 * 1024, "report.md is %zu bytes", d.n);
    cr_assert_not_null(strstr(d.p, "more not shown to keep this summary small"));
    cr_assert_not_null(strstr(d.p, "more bytes cut; see report.html"));
    cr_assert_not_null(strstr(d.p, "| 100 | 0 | 0 | 50 | 50 | 0 | 0 | 0 |"), "totals intact");
    free(d.p);
    free(big);
    free(mid);
    aa_run_cleanup(&run);
}

/* ---- console --------------------------------------------------------------------- */
Test(report_console, colour_only_when_asked)
{
    struct aa_run run;
    struct doc plain, col;

    load_sample(&run);
    plain = render_console(&run, false, false);
    col = render_console(&run, true, false);
    cr_assert_null(memchr(plain.p, 0x1b, plain.n), "no escape byte at all without colour");
    cr_assert_not_null(strstr(col.p, "\x1b[31m\xE2\x9C\x97\x1b[0m"), "red FAIL mark");
    cr_assert_not_null(strstr(col.p, "\x1b[32m\xE2\x9C\x93\x1b[0m"), "green PASS mark");
    cr_assert_not_null(strstr(col.p, "\xE2\x90\x9B[31mred"), "data ESC still neutralised");
    cr_assert_not_null(strstr(plain.p, "\nTotal: 12 | Passed: 6 | Failed: 2 | Warnings: 1 | "
                                       "Skipped: 1 | Errors: 1\n"));
    cr_assert_not_null(strstr(plain.p, "  \xE2\x9C\x93* delegation.resource.agent-token"),
                       "quirk pass has its own mark");
    cr_assert_not_null(strstr(plain.p, "(Passed includes 1 with quirk; 1 informational)"));
    free(plain.p);
    free(col.p);
    aa_run_cleanup(&run);
}

Test(report_console, all_pass_run_has_no_failure_sections)
{
    struct aa_run run;
    struct doc d;
    cr_assert_eq(sample_info(&run), AA_OK);
    cr_assert_eq(sample_add(&run, &sample_checks[0]), AA_OK);
    d = render_console(&run, false, false);
    cr_assert_null(strstr(d.p, "Failures:"));
    cr_assert_null(strstr(d.p, "Errors ("));
    cr_assert_null(strstr(d.p, "Passed includes"));
    cr_assert_not_null(strstr(d.p, "Total: 1 | Passed: 1 | Failed: 0 | Warnings: 0 | Skipped: 0 | "
                                   "Errors: 0\n"));
    free(d.p);
    aa_run_cleanup(&run);
}

/* ---- flow report ------------------------------------------------------------------- */
static int add_flow(struct aa_run *run, const char *id, int test_no, const char *line,
                    enum aa_outcome o, const char *msg)
{
    struct aa_check_def def = {
        id, "delegation", "t", AA_ROLE_AGENT_SERVER, AA_LEVEL_MUST, "PROFILE#7.6", NULL, NULL};
    struct aa_check_result r;
    int rc = aa_result_init(&r, &def);
    if (rc != AA_OK)
        return rc;
    r.outcome = o;
    r.test_no = test_no;
    if ((rc = aa_result_set(&r.line, line)) != AA_OK ||
        (rc = aa_result_set(&r.message, msg)) != AA_OK || (rc = aa_run_add(run, &r)) != AA_OK)
        aa_result_cleanup(&r);
    return rc;
}

/* The seed transcript with its Windows-1252 mis-decoding undone for the
 * two marks (PROFILE#8). NULL when the shared directory is absent. */
static char *seed_text(void)
{
    static const char *const fix[][2] = {
        {"\xC3\xA2\xC5\x93\xE2\x80\x9C", "\xE2\x9C\x93"}, /* "âœ“" -> ✓ */
        {"\xC3\xA2\xC5\x93\xE2\x80\x94", "\xE2\x9C\x97"}, /* "âœ—" -> ✗ */
    };
    char path[1024];
    char *raw = NULL;
    size_t n = 0;
    struct aa_buf b;

    aa_snprintf(path, sizeof(path), "%s/seed/flow-06-agent-delegation.txt", AA_SHARED_DIR);
    if (aa_read_file(path, 1024 * 1024, &raw, &n) != AA_OK)
        return NULL;
    aa_buf_init(&b, 0);
    for (size_t i = 0; i < n;) {
        size_t k;
        for (k = 0; k < 2; k++) {
            size_t l = strlen(fix[k][0]);
            if (i + l <= n && memcmp(raw + i, fix[k][0], l) == 0) {
                aa_buf_adds(&b, fix[k][1]);
                i += l;
                break;
            }
        }
        if (k == 2)
            aa_buf_addc(&b, raw[i++]);
    }
    free(raw);
    return aa_buf_detach(&b, NULL);
}

/* The slice of |s| from |from| up to and including |to|, or NULL. */
static char *slice(const char *s, const char *from, const char *to)
{
    const char *a = strstr(s, from), *z;
    if (a == NULL || (z = strstr(a, to)) == NULL)
        return NULL;
    return aa_strndup(a, (size_t)(z - a) + strlen(to));
}

#define SEP80 "================================================================================\n"

Test(report_flow, all_pass_run_reproduces_the_seed_layout)
{
    struct aa_run run;
    struct aa_flow_def seed3 = sample_f6;
    struct doc d;
    char *seed = seed_text(), *want;
    int failed;

    if (seed == NULL)
        cr_skip_test("seed transcript not found under %s", AA_SHARED_DIR);
    aa_run_init(&run);
    cr_assert_eq(add_flow(&run, "a1", 1, "typ claim correct: agent+jwt", AA_OUT_PASS, NULL), AA_OK);
    cr_assert_eq(add_flow(&run, "a2", 1, "iss claim correct: https://agent.supply-chain.com",
                          AA_OUT_PASS, NULL),
                 AA_OK);
    cr_assert_eq(add_flow(&run, "a3", 1, "sub claim correct: delegate-1", AA_OUT_PASS, NULL),
                 AA_OK);
    cr_assert_eq(add_flow(&run, "a4", 1, "cnf.jwk claim present", AA_OUT_PASS, NULL), AA_OK);
    cr_assert_eq(add_flow(&run, "b1", 2, "Resource recognized agent token", AA_OUT_PASS, NULL),
                 AA_OK);
    cr_assert_eq(add_flow(&run, "c1", 3, "Auth token obtained", AA_OUT_PASS, NULL), AA_OK);
    seed3.n_tests = 3; /* --seed-tests-only */
    d = render_flow(&run, &seed3, false, &failed);
    cr_assert_eq(failed, 0);

    /* The opening block, byte for byte. */
    want =
        slice(seed, SEP80 "Agent Delegation Demo\n", "Debug output is enabled by default.\n" SEP80);
    cr_assert_not_null(want);
    cr_assert_eq(strncmp(d.p, want, strlen(want)), 0, "header differs:\n%s\n---\n%s", want, d.p);
    free(want);
    /* The whole summary, byte for byte. */
    want = slice(seed, SEP80 "TEST SUMMARY\n", "Total: 3 | Passed: 3 | Failed: 0\n" SEP80);
    cr_assert_not_null(want);
    cr_assert_not_null(strstr(d.p, want), "summary differs:\n%s\n---\n%s", want, d.p);
    free(want);
    /* Test headers, check lines and pass lines as the seed prints them. */
    want = slice(seed, SEP80 "TEST 1: ", "from agent server.\n" SEP80);
    cr_assert_not_null(want);
    cr_assert_not_null(strstr(d.p, want));
    free(want);
    cr_assert_not_null(strstr(seed, "  \xE2\x9C\x93 typ claim correct: agent+jwt\n"));
    cr_assert_not_null(strstr(d.p, "\n  \xE2\x9C\x93 typ claim correct: agent+jwt\n"));
    cr_assert_not_null(
        strstr(seed, "\n\xE2\x9C\x93 TEST 1 PASSED: Agent token obtained and validated\n"));
    cr_assert_not_null(
        strstr(d.p, "\n\xE2\x9C\x93 TEST 1 PASSED: Agent token obtained and validated\n"));
    cr_assert_null(strstr(d.p, "Warnings:"), "no extra line when nothing was WARN/SKIP/quirk");
    free(seed);
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_flow, failure_and_prerequisite_rules)
{
    struct aa_run run;
    struct doc d;
    int failed;

    aa_run_init(&run);
    cr_assert_eq(add_flow(&run, "a1", 1, "typ claim correct: agent+jwt", AA_OUT_PASS, NULL), AA_OK);
    cr_assert_eq(add_flow(&run, "b1", 2, "Resource recognized agent token", AA_OUT_FAIL,
                          "status 401, expected 200"),
                 AA_OK);
    cr_assert_eq(add_flow(&run, "b2", 2, "second check", AA_OUT_PASS, NULL), AA_OK);
    /* A result for a test number the flow does not have is ignored. */
    cr_assert_eq(add_flow(&run, "z9", 9, "stray", AA_OUT_FAIL, "stray"), AA_OK);
    d = render_flow(&run, &sample_f6, false, &failed);
    cr_assert_eq(failed, 3, "TEST 2 failed; 3 and 4 not run");
    cr_assert_not_null(strstr(d.p, "  \xE2\x9C\x97 Resource recognized agent token\n"
                                   "  - status 401, expected 200\n"
                                   "  \xE2\x9C\x93 second check\n\n"
                                   "\xE2\x9C\x97 TEST 2 FAILED: status 401, expected 200\n"));
    cr_assert_not_null(strstr(d.p, "\xE2\x9C\x97 FAILED: TEST 3: Delegate Requests Auth Token\n"
                                   "  Error: not run: prerequisite TEST 2 failed\n"));
    cr_assert_not_null(strstr(
        d.p, "  Error: not run: prerequisite TEST 2 failed\n"
             "\n"
             "--------------------------------------------------------------------------------\n"
             "Total: 4 | Passed: 1 | Failed: 3\n" SEP80));
    cr_assert_null(strstr(d.p, "stray"));
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_flow, skip_error_and_unrun_tests_are_not_passes)
{
    struct aa_run run;
    struct doc d;
    int failed;

    aa_run_init(&run);
    /* TEST 1 has no results and nothing failed before it: "not run". */
    cr_assert_eq(
        add_flow(&run, "b1", 2, "optional public endpoint", AA_OUT_SKIP, "/public not declared"),
        AA_OK);
    cr_assert_eq(add_flow(&run, "c1", 3, "JWKS fetched", AA_OUT_ERROR, "connection refused"),
                 AA_OK);
    cr_assert_eq(add_flow(&run, "d1", 4, "refresh ok", AA_OUT_WARN, "new refresh_token returned"),
                 AA_OK);
    cr_assert_eq(add_flow(&run, "d2", 4, "cnf rotated", AA_OUT_PASS_QUIRK, NULL), AA_OK);
    cr_assert_eq(aa_result_set(&run.v[3].quirk, "seed-legacy-base"), AA_OK);
    d = render_flow(&run, &sample_f6, false, &failed);
    cr_assert_eq(failed, 3);
    cr_assert_not_null(strstr(d.p, "\xE2\x9C\x97 TEST 1 FAILED: not run\n"));
    cr_assert_not_null(
        strstr(d.p, "  - SKIPPED: optional public endpoint (/public not declared)\n"));
    cr_assert_not_null(
        strstr(d.p, "TEST 2 FAILED: not run: every check skipped: /public not declared\n"));
    cr_assert_not_null(
        strstr(d.p, "  \xE2\x9C\x97 JWKS fetched (harness error, not a conformance failure)\n"));
    cr_assert_not_null(strstr(d.p, "TEST 3 FAILED: harness error: connection refused\n"));
    cr_assert_not_null(
        strstr(d.p, "  \xE2\x9C\x93 refresh ok (WARNING: new refresh_token returned)\n"));
    cr_assert_not_null(
        strstr(d.p, "  \xE2\x9C\x93 cnf rotated (passed with quirk: seed-legacy-base)\n"));
    cr_assert_not_null(strstr(d.p, "\xE2\x9C\x93 TEST 4 PASSED: Auth token refreshed\n"));
    cr_assert_not_null(strstr(d.p, "Total: 4 | Passed: 1 | Failed: 3\n"
                                   "Warnings: 1 | Skipped: 1 | Passed with quirk: 1\n" SEP80));
    free(d.p);
    aa_run_cleanup(&run);
}

Test(report_flow, colour_and_bad_arguments)
{
    struct aa_run run;
    struct doc d;
    int failed;

    aa_run_init(&run);
    cr_assert_eq(add_flow(&run, "a1", 1, "typ ok", AA_OUT_PASS, NULL), AA_OK);
    d = render_flow(&run, &sample_f6, true, &failed);
    cr_assert_not_null(strstr(d.p, "  \x1b[32m\xE2\x9C\x93\x1b[0m typ ok\n"));
    cr_assert_not_null(strstr(d.p, "\x1b[31m\xE2\x9C\x97\x1b[0m FAILED: TEST 2"));
    free(d.p);
    cr_assert_eq(aa_report_print_flow(NULL, &sample_f6, stdout, false), -1);
    cr_assert_eq(aa_report_print_flow(&run, NULL, stdout, false), -1);
    aa_run_cleanup(&run);
}

/* ---- write_dir and failures ------------------------------------------------------------ */
static void tmpdir(char *out, size_t cap)
{
    aa_snprintf(out, cap, "/tmp/aa-report-test-XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

static void rm_rf(const char *dir)
{
    /* Only the files this test wrote, then the directories. */
    static const char *const names[] = {"junit.xml", "report.json", "report.md", "report.html"};
    char p[1024];
    for (size_t i = 0; i < 4; i++) {
        aa_snprintf(p, sizeof(p), "%s/a/b/c/%s", dir, names[i]);
        unlink(p);
    }
    aa_snprintf(p, sizeof(p), "%s/a/b/c", dir);
    rmdir(p);
    aa_snprintf(p, sizeof(p), "%s/a/b", dir);
    rmdir(p);
    aa_snprintf(p, sizeof(p), "%s/a", dir);
    unlink(p);
    rmdir(p);
    rmdir(dir);
}

Test(report_dir, creates_nested_directory_and_four_files)
{
    static const char *const names[] = {"junit.xml", "report.json", "report.md", "report.html"};
    struct aa_run run;
    struct aa_diag dg;
    char base[64], dir[128], p[256];

    tmpdir(base, sizeof(base));
    aa_snprintf(dir, sizeof(dir), "%s/a/b/c", base);
    load_sample(&run);
    aa_diag_clear(&dg);
    cr_assert_eq(aa_report_write_dir(&run, dir, &dg), AA_OK, "%s", dg.msg);
    cr_assert_eq(aa_report_write_dir(&run, dir, &dg), AA_OK, "existing directory is fine");
    for (size_t i = 0; i < 4; i++) {
        struct stat st;
        aa_snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        cr_assert_eq(stat(p, &st), 0, "%s written", p);
        cr_assert_gt(st.st_size, 100);
        aa_snprintf(p, sizeof(p), "%s/%s.tmp", dir, names[i]);
        cr_assert_neq(access(p, F_OK), 0, "no temporary file left: %s", p);
    }
    aa_run_cleanup(&run);
    rm_rf(base);
}

Test(report_dir, a_file_in_the_way_is_an_io_error)
{
    struct aa_run run;
    struct aa_diag dg;
    char base[64], blocker[128], dir[160];
    FILE *f;

    tmpdir(base, sizeof(base));
    aa_snprintf(blocker, sizeof(blocker), "%s/a", base);
    f = fopen(blocker, "w");
    cr_assert_not_null(f);
    fclose(f);
    aa_snprintf(dir, sizeof(dir), "%s/b/c", blocker);
    load_sample(&run);
    aa_diag_clear(&dg);
    cr_assert_eq(aa_report_write_dir(&run, dir, &dg), AA_E_IO);
    cr_assert_not_null(strstr(dg.msg, "report directory"), "%s", dg.msg);
    cr_assert_not_null(strstr(dg.msg, blocker), "names the path: %s", dg.msg);
    aa_snprintf(dir, sizeof(dir), "%s", blocker);
    cr_assert_eq(aa_report_write_dir(&run, dir, &dg), AA_E_IO);
    cr_assert_not_null(strstr(dg.msg, "not a directory"), "%s", dg.msg);
    cr_assert_eq(aa_report_write_dir(&run, "", &dg), AA_E_INVAL);
    cr_assert_eq(aa_report_write_dir(NULL, base, &dg), AA_E_INVAL);
    aa_run_cleanup(&run);
    rm_rf(base);
}

Test(report_io, full_device_is_an_io_error)
{
    struct aa_run run;
    FILE *f = fopen("/dev/full", "w");

    if (f == NULL)
        cr_skip_test("/dev/full not available");
    load_sample(&run);
    cr_assert_eq(aa_report_write_junit(&run, f), AA_E_IO);
    cr_assert_eq(aa_report_write_json(&run, f), AA_E_IO);
    cr_assert_eq(aa_report_write_markdown(&run, f), AA_E_IO);
    cr_assert_eq(aa_report_write_html(&run, f), AA_E_IO);
    fclose(f);
    aa_run_cleanup(&run);
}

Test(report_io, null_arguments_are_refused)
{
    struct aa_run run;
    aa_run_init(&run);
    cr_assert_eq(aa_report_write_junit(NULL, stdout), AA_E_INVAL);
    cr_assert_eq(aa_report_write_json(&run, NULL), AA_E_INVAL);
    cr_assert_eq(aa_report_write_markdown(NULL, stdout), AA_E_INVAL);
    cr_assert_eq(aa_report_write_html(&run, NULL), AA_E_INVAL);
    aa_run_cleanup(&run);
}
