/*
 * aa_report: writers for a finished struct aa_run — console summary,
 * JUnit XML, JSON (schema: reports/report.schema.json), Markdown (CI step
 * summary) and one self-contained offline HTML file — plus the seed-style
 * flow report of PROFILE#8.
 *
 * Writers never mix formats: machine formats go to files, human text to
 * the console stream given. Colour is used only when |color| is true
 * (the caller passes isatty()).
 */
#ifndef AA_REPORT_H
#define AA_REPORT_H

#include <stdio.h>

#include "../case/aa_case.h"

#define AA_REPORT_SCHEMA_VERSION "1.0"

/* JUnit: one <testsuite> per (role, suite); classname "aauth.<role>.<suite>";
 * FAIL -> <failure>, ERROR -> <error>, SKIP -> <skipped>, WARN/INFO pass with
 * <system-out>. */
/*
 * Each writer builds the whole document in memory and writes it to |out|:
 * AA_OK; AA_E_INVAL for a NULL argument; AA_E_NOMEM or AA_E_LIMIT when the
 * document cannot be built; AA_E_IO when the stream fails (checked with
 * fflush/ferror; |out| is not closed). Run text is sanitised and escaped
 * for each format (docs/report-format.md section 8).
 */
int aa_report_write_junit(const struct aa_run *run, FILE *out);
int aa_report_write_json(const struct aa_run *run, FILE *out);
int aa_report_write_markdown(const struct aa_run *run, FILE *out);
int aa_report_write_html(const struct aa_run *run, FILE *out);

/* junit.xml, report.json, report.md, report.html into |dir| (created like
 * mkdir -p; each file written to <name>.tmp and renamed). AA_E_INVAL for a
 * NULL run or an empty/overlong path; AA_E_IO (|d| names the path and the
 * system error) when a component is not a directory or a write fails. */
int aa_report_write_dir(const struct aa_run *run, const char *dir, struct aa_diag *d);

/* Console: results grouped by suite, one mark per check, failures repeated
 * at the end with expected/actual/hint, one count line. |o| may be NULL
 * (no colour, not verbose). Errors are reported on |out| itself. */
struct aa_console_opts {
    bool color;
    bool verbose; /* include transcripts */
};
void aa_report_print_console(const struct aa_run *run, FILE *out,
                             const struct aa_console_opts *o);

/* The seed-style flow report (PROFILE#8) for one flow. */
struct aa_flow_test {
    int no;
    const char *title;       /* header title */
    const char *short_name;  /* summary name (may equal title) */
    const char *description;
    const char *pass_detail; /* "Agent token obtained and validated" */
};
struct aa_flow_def {
    const char *suite;       /* "delegation" */
    const char *banner;      /* "Agent Delegation Demo" */
    const char *const *description_lines; /* NULL-terminated, printed verbatim */
    const struct aa_flow_test *tests;
    size_t n_tests;
};
/* Prints banner, MODE, description, each TEST block with ✓/✗ lines from the
 * run's results whose suite matches and test_no == test, and TEST SUMMARY.
 * Returns the number of failed tests (a test with no results, only SKIP
 * results, a FAIL or an ERROR counts failed; D-31), or -1 on bad arguments,
 * allocation failure or a write error. */
int aa_report_print_flow(const struct aa_run *run, const struct aa_flow_def *flow,
                         FILE *out, bool color);
/* The same, for a run that did not select every check of the flow:
 * |skipped| (NULL, or flow->n_tests entries) gives, per test, NULL or the
 * reason its checks were all deselected (e.g. their role is not under
 * test). Such a test without results is SKIPPED, not FAILED: it is printed
 * "- TEST n SKIPPED: <reason>", listed as "- SKIPPED:" in the summary,
 * counted on the total line as "| Skipped: S" and never counted as
 * failed, and it is no prerequisite failure for the tests after it. */
int aa_report_print_flow_sel(const struct aa_run *run, const struct aa_flow_def *flow,
                             const char *const *skipped, FILE *out, bool color);

#endif
