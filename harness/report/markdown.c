/*
 * report.md: a GitHub-flavoured Markdown summary that fits a CI step
 * summary (GitHub caps one at 1 MiB). Totals table, per-role matrix of
 * suite x outcome, then failures and errors with expected/actual in
 * collapsible <details>, then one line per warning, quirk and skip.
 *
 * Design choice: everything from the run is HTML-escaped (and Markdown
 * punctuation backslash-escaped outside <pre>), transcripts are cut to
 * MD_TRANSCRIPT_MAX bytes, and once the document passes MD_BUDGET the
 * remaining details are replaced by a count pointing at report.html.
 */
#include "report_int.h"

#include <inttypes.h>
#include <string.h>

#define MD_TRANSCRIPT_MAX ((size_t)2048)
#define MD_FIELD_MAX ((size_t)4096)
#define MD_BUDGET ((size_t)900 * 1024)

static void inl(struct aa_buf *b, const char *s)
{
    rp_text(b, s, RP_HTML | RP_MD | RP_ONE_LINE);
}

/* One line of run text, HTML-escaped, cut at MD_FIELD_MAX bytes. */
static void cut(struct aa_buf *b, const char *s, unsigned flags)
{
    size_t n;

    if (s == NULL)
        return;
    n = rp_prefix_len(s, MD_FIELD_MAX);
    rp_textn(b, s, n, flags | RP_HTML | RP_ONE_LINE);
    if (s[n] != '\0')
        aa_buf_adds(b, " [...]");
}

/*
 * <code> in a Markdown paragraph, list or table: the text between raw HTML
 * tags is still Markdown there, so punctuation is backslash-escaped too.
 */
static void code(struct aa_buf *b, const char *s)
{
    aa_buf_adds(b, "<code>");
    rp_text(b, s, RP_HTML | RP_MD | RP_ONE_LINE);
    aa_buf_adds(b, "</code>");
}

/* <code> inside an HTML block (the <summary> line): no Markdown there. */
static void code_raw(struct aa_buf *b, const char *s)
{
    aa_buf_adds(b, "<code>");
    rp_text(b, s, RP_HTML | RP_ONE_LINE);
    aa_buf_adds(b, "</code>");
}

/* A bounded <pre> block; |max| bytes at most, with a note when cut. */
static void pre(struct aa_buf *b, const char *label, const char *s, size_t max)
{
    size_t n, total;

    if (s == NULL)
        return;
    total = strlen(s);
    n = rp_prefix_len(s, max);
    aa_buf_printf(b, "\n<b>%s</b>\n<pre>", label);
    rp_textn(b, s, n, RP_HTML);
    if (n < total)
        aa_buf_printf(b, "\n[... %zu more bytes cut; see report.html or report.json]", total - n);
    aa_buf_adds(b, "</pre>\n");
}

static void header(struct aa_buf *b, const struct aa_run *run, int exit_code)
{
    const struct aa_run_info *in = &run->info;
    char secs[48];

    rp_seconds(secs, sizeof(secs), in->duration_ms);
    aa_buf_adds(b, "# AAuth conformance report\n\n");
    aa_buf_adds(b, "| | |\n|---|---|\n| Tool | ");
    inl(b, in->tool_version ? in->tool_version : AA_VERSION);
    aa_buf_adds(b, " |\n| Profile | ");
    inl(b, in->profile ? in->profile : "(not set)");
    aa_buf_adds(b, " |\n| Clock | ");
    inl(b, in->clock_mode ? in->clock_mode : "(not set)");
    aa_buf_printf(b, " %" PRId64 " |\n| Seed | %" PRIu64 " |\n| Started | ", in->clock, in->seed);
    inl(b, in->started_at ? in->started_at : "(not set)");
    aa_buf_printf(b, " |\n| Duration | %s s |\n", secs);
    if (in->dev_mode)
        aa_buf_adds(b, "| Mode | DEV (http loopback identifiers allowed) |\n");
    for (size_t i = 0; i < in->n_targets; i++) {
        aa_buf_printf(b, "| Target: %s | ", aa_role_title(in->targets[i].role));
        if (in->targets[i].url != NULL)
            code(b, in->targets[i].url);
        else
            aa_buf_adds(b, "(none)");
        aa_buf_adds(b, in->targets[i].embedded ? " (embedded reference) |\n" : " |\n");
    }
    if (in->n_quirks > 0) {
        aa_buf_adds(b, "| Allowed quirks | ");
        for (size_t i = 0; i < in->n_quirks; i++) {
            if (i > 0)
                aa_buf_adds(b, ", ");
            code(b, in->quirks[i]);
        }
        aa_buf_adds(b, " |\n");
    }
    aa_buf_printf(b, "\n**Result: %s** (exit status %d)\n\n", rp_result_text(exit_code), exit_code);
}

static void totals(struct aa_buf *b, const struct aa_totals *t)
{
    aa_buf_adds(b, "## Totals\n\n| Total | Passed | Passed with quirk | Failed | Warnings | Info | "
                   "Skipped | Errors |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    aa_buf_printf(b, "| %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n\n", t->total, t->pass,
                  t->pass_quirk, t->fail, t->warn, t->info, t->skip, t->error);
    aa_buf_adds(b, "Passed with quirk counts as passed but only because `--allow-quirk` accepted a "
                   "known variant. Errors are harness faults, never non-conformance.\n\n");
}

static void matrix(struct aa_buf *b, const struct rp_groups *gs)
{
    for (int role = AA_ROLE_NONE; role <= AA_ROLE_DELEGATE; role++) {
        bool any = false;
        for (size_t i = 0; i < gs->n; i++) {
            const struct rp_group *g = &gs->g[i];
            if ((int)g->role != role)
                continue;
            if (!any) {
                aa_buf_printf(b, "## %s\n\n| Suite |", aa_role_title((enum aa_role)role));
                for (size_t k = 0; k < RP_N_OUTCOMES; k++)
                    aa_buf_printf(b, " %s |", aa_outcome_name(rp_outcome_order[k]));
                aa_buf_adds(b, "\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
                any = true;
            }
            aa_buf_adds(b, "| ");
            inl(b, g->suite);
            aa_buf_adds(b, " |");
            for (size_t k = 0; k < RP_N_OUTCOMES; k++)
                aa_buf_printf(b, " %zu |", rp_outcome_count(&g->t, rp_outcome_order[k]));
            aa_buf_addc(b, '\n');
        }
        if (any)
            aa_buf_addc(b, '\n');
    }
}

static void detail(struct aa_buf *b, const struct aa_check_result *r)
{
    /* The <details> line opens an HTML block (CommonMark 4.6, type 6) that
     * runs to the next blank line: no Markdown escaping inside it. */
    aa_buf_printf(b, "<details><summary>%s %s ", rp_mark(r->outcome), aa_outcome_name(r->outcome));
    code_raw(b, r->id);
    aa_buf_adds(b, " ");
    cut(b, r->title, 0);
    if (r->message != NULL) {
        aa_buf_adds(b, ": ");
        cut(b, r->message, 0);
    }
    aa_buf_printf(b, "</summary>\n\n<b>Role</b> %s &middot; <b>Requirement</b> %s ",
                  aa_role_title(r->role), aa_level_name(r->level));
    code(b, r->spec ? r->spec : "(no citation)");
    if (r->rfc != NULL) {
        aa_buf_adds(b, " ");
        code(b, r->rfc);
    }
    aa_buf_addc(b, '\n');
    pre(b, "Expected", r->expected, MD_FIELD_MAX);
    pre(b, "Actual", r->actual, MD_FIELD_MAX);
    pre(b, "Hint", r->hint, MD_FIELD_MAX);
    pre(b, "Transcript", r->transcript, MD_TRANSCRIPT_MAX);
    aa_buf_adds(b, "\n</details>\n\n");
}

static bool is_error(enum aa_outcome o)
{
    return o == AA_OUT_ERROR || (unsigned)o > AA_OUT_ERROR;
}

/* Details of every result matching |want|; past the budget only a count. */
static void section(struct aa_buf *b, const struct aa_run *run, const char *title, bool errors)
{
    size_t omitted = 0;

    aa_buf_printf(b, "## %s\n\n", title);
    for (size_t i = 0; i < run->n; i++) {
        const struct aa_check_result *r = &run->v[i];
        if (errors ? !is_error(r->outcome) : r->outcome != AA_OUT_FAIL)
            continue;
        if (b->len > MD_BUDGET) {
            omitted++;
            continue;
        }
        detail(b, r);
    }
    if (omitted > 0)
        aa_buf_printf(b, "_%zu more not shown to keep this summary small; see report.html._\n\n",
                      omitted);
}

static void notes(struct aa_buf *b, const struct aa_run *run, const struct aa_totals *t)
{
    size_t omitted = 0;

    if (t->warn + t->pass_quirk + t->info + t->skip == 0)
        return;
    aa_buf_adds(b, "## Warnings, quirks, informational and skipped\n\n");
    for (size_t i = 0; i < run->n; i++) {
        const struct aa_check_result *r = &run->v[i];
        const char *what;
        switch (r->outcome) {
        case AA_OUT_WARN:
            what = "WARN";
            break;
        case AA_OUT_PASS_QUIRK:
            what = "PASS_QUIRK";
            break;
        case AA_OUT_INFO:
            what = "INFO";
            break;
        case AA_OUT_SKIP:
            what = "SKIP";
            break;
        default:
            continue;
        }
        if (b->len > MD_BUDGET) {
            omitted++;
            continue;
        }
        aa_buf_printf(b, "- **%s** ", what);
        code(b, r->id);
        aa_buf_adds(b, " ");
        cut(b, r->title, RP_MD);
        if (r->outcome == AA_OUT_PASS_QUIRK) {
            aa_buf_adds(b, " (quirk ");
            code(b, r->quirk ? r->quirk : "(unnamed)");
            aa_buf_adds(b, ")");
        }
        if (r->message != NULL) {
            aa_buf_adds(b, ": ");
            cut(b, r->message, RP_MD);
        }
        aa_buf_addc(b, '\n');
    }
    if (omitted > 0)
        aa_buf_printf(b, "- _%zu more not shown; see report.html._\n", omitted);
    aa_buf_addc(b, '\n');
}

int aa_report_write_markdown(const struct aa_run *run, FILE *out)
{
    struct aa_buf b;
    struct rp_groups gs;
    struct aa_totals t;
    int rc;

    if ((rc = rp_doc_begin(run, out, &gs, &t, &b)) != AA_OK)
        return rc;
    header(&b, run, aa_run_exit_code(run));
    totals(&b, &t);
    matrix(&b, &gs);
    if (t.fail > 0)
        section(&b, run, "Failures", false);
    if (t.error > 0)
        section(&b, run, "Errors (harness faults, not conformance failures)", true);
    notes(&b, run, &t);
    rp_groups_free(&gs);
    return rp_flush(&b, out);
}
