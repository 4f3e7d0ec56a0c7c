/*
 * docs/faults.md is the fault table as documentation: its table (between
 * the "fault-table" markers) must say exactly what `aauth-reference
 * --list-faults` prints, row for row: name, roles, effect, the checks that
 * must FAIL. On a mismatch the test prints the table as it should read, so
 * updating the document is a copy and paste.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aa_ref.h"
#include "test_faults_util.h"

#define DOC AA_SOURCE_DIR "/docs/faults.md"
#define BEGIN_MARK "<!-- fault-table:begin"
#define END_MARK "<!-- fault-table:end -->"

/* One row as --list-faults describes it. */
struct lrow {
    char name[64], roles[64], breaks[512], checks[2048];
};

/* "a,b" -> "`a`, `b`" (roles: "a, b" without backticks). */
static void list_md(struct aa_buf *b, const char *list, bool code)
{
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (p != list)
            aa_buf_adds(b, ", ");
        if (code)
            aa_buf_addc(b, '`');
        aa_buf_add(b, p, l);
        if (code)
            aa_buf_addc(b, '`');
        p = e ? e + 1 : NULL;
    }
}

static void render_row(struct aa_buf *b, const char *name, const char *roles, const char *breaks,
                       const char *checks)
{
    aa_buf_printf(b, "| `%s` | ", name);
    list_md(b, roles, false);
    aa_buf_printf(b, " | %s | ", breaks);
    list_md(b, checks, true);
    aa_buf_adds(b, " |\n");
}

static char *expected_table(void)
{
    struct aa_buf b;

    aa_buf_init(&b, 1024 * 1024);
    aa_buf_adds(&b, "| Fault | Roles | What breaks | Checks that must FAIL (WARN for a SHOULD) |\n"
                    "|---|---|---|---|\n");
    for (size_t i = 0; i < aa_ref_n_faults; i++)
        render_row(&b, aa_ref_faults[i].name, aa_ref_faults[i].roles, aa_ref_faults[i].breaks,
                   aa_ref_faults[i].failing_checks);
    cr_assert_eq(b.err, AA_OK);
    return aa_buf_detach(&b, NULL);
}

/* The lines between the markers, without the marker lines. */
static char *doc_table(void)
{
    char *doc = fx_read_file(DOC, NULL), *b, *e, *nl, *out;

    cr_assert_not_null(doc, "cannot read %s", DOC);
    b = strstr(doc, BEGIN_MARK);
    cr_assert_not_null(b, "%s has no \"%s\" marker", DOC, BEGIN_MARK);
    nl = strchr(b, '\n');
    cr_assert_not_null(nl);
    e = strstr(nl, END_MARK);
    cr_assert_not_null(e, "%s has no \"%s\" marker", DOC, END_MARK);
    out = aa_strndup(nl + 1, (size_t)(e - (nl + 1)));
    free(doc);
    cr_assert_not_null(out);
    return out;
}

Test(faults_docs, table_matches_the_fault_table)
{
    char *want = expected_table(), *got = doc_table();

    if (strcmp(want, got) != 0)
        fprintf(stderr, "docs/faults.md: the table between the markers should read:\n%s", want);
    cr_assert_str_eq(got, want, "docs/faults.md is out of date (the expected table is on stderr)");
    free(want);
    free(got);
}

/* The binary says the same as the table (and so as the document). */
Test(faults_docs, list_faults_output_matches)
{
    char dir[512], out[600], err[600];
    const char *argv[] = {FX_REF_BIN, "--list-faults", NULL};
    struct lrow *rows = calloc(aa_ref_n_faults + 1, sizeof(*rows));
    size_t n = 0;
    char *text, *line, *next;
    pid_t pid;

    cr_assert_not_null(rows);
    (void)aa_snprintf(dir, sizeof(dir), "%s/docs", FX_WORK_ROOT);
    (void)aa_snprintf(out, sizeof(out), "%s/list-faults.out", dir);
    (void)aa_snprintf(err, sizeof(err), "%s/list-faults.err", dir);
    cr_assert(fx_fresh_dir(dir));
    pid = fx_spawn(argv, out, NULL, err);
    cr_assert_gt(pid, 0);
    cr_assert_eq(fx_wait(pid), 0, "aauth-reference --list-faults failed (%s)", err);
    text = fx_read_file(out, NULL);
    cr_assert_not_null(text);
    /* "name   [roles]" / "    effect" / "    expected to FAIL: ids" */
    for (line = text; line != NULL && *line != '\0'; line = next) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        if (line[0] == '\0')
            continue;
        if (line[0] != ' ' && strchr(line, '[') != NULL && line[strlen(line) - 1] == ']') {
            const char *lb = strchr(line, '[');
            cr_assert_lt(n, aa_ref_n_faults, "--list-faults has more rows than the table");
            (void)aa_snprintf(rows[n].name, sizeof(rows[n].name), "%.*s", (int)strcspn(line, " "),
                              line);
            (void)aa_snprintf(rows[n].roles, sizeof(rows[n].roles), "%.*s", (int)(strlen(lb) - 2),
                              lb + 1);
            n++;
        } else if (n > 0 && strncmp(line, "    expected to FAIL: ", 22) == 0) {
            (void)aa_snprintf(rows[n - 1].checks, sizeof(rows[n - 1].checks), "%s", line + 22);
        } else if (n > 0 && strncmp(line, "    ", 4) == 0) {
            (void)aa_snprintf(rows[n - 1].breaks, sizeof(rows[n - 1].breaks), "%s", line + 4);
        }
    }
    cr_assert_eq(n, aa_ref_n_faults, "--list-faults lists %zu faults, the table %zu", n,
                 aa_ref_n_faults);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(rows[i].name, aa_ref_faults[i].name);
        cr_assert_str_eq(rows[i].roles, aa_ref_faults[i].roles, "%s", rows[i].name);
        cr_assert_str_eq(rows[i].breaks, aa_ref_faults[i].breaks, "%s", rows[i].name);
        cr_assert_str_eq(rows[i].checks, aa_ref_faults[i].failing_checks, "%s", rows[i].name);
    }
    free(text);
    free(rows);
    fx_rm_rf(dir);
}
