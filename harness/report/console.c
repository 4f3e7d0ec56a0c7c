/*
 * Console summary: results grouped by (role, suite), one mark per check,
 * then FAIL and ERROR repeated with requirement/expected/actual/hint, then
 * one count line. Colour only when the caller says the stream is a tty.
 *
 * Design choice: PASS_QUIRK has its own mark ("✓*") and is listed again
 * before the count line, so a quirk-assisted pass never reads as a plain
 * PASS even though it counts as passed.
 */
#include "report_int.h"

#include <string.h>

#define C_RESET "\x1b[0m"
#define C_BOLD "\x1b[1m"

static const char *colour(enum aa_outcome o)
{
    switch (o) {
    case AA_OUT_PASS:
        return "\x1b[32m"; /* green */
    case AA_OUT_PASS_QUIRK:
        return "\x1b[36m"; /* cyan */
    case AA_OUT_FAIL:
        return "\x1b[31m"; /* red */
    case AA_OUT_WARN:
        return "\x1b[33m"; /* yellow */
    case AA_OUT_INFO:
        return "\x1b[34m"; /* blue */
    case AA_OUT_SKIP:
        return "\x1b[2m"; /* dim */
    case AA_OUT_ERROR:
    default:
        return "\x1b[35m"; /* magenta */
    }
}

static void mark(struct aa_buf *b, enum aa_outcome o, bool color)
{
    if (color)
        aa_buf_printf(b, "%s%s%s", colour(o), rp_mark(o), C_RESET);
    else
        aa_buf_adds(b, rp_mark(o));
}

static void check_line(struct aa_buf *b, const struct aa_check_result *r, bool color)
{
    aa_buf_adds(b, "  ");
    mark(b, r->outcome, color);
    aa_buf_addc(b, ' ');
    rp_text(b, r->id, RP_ONE_LINE);
    if (r->title != NULL) {
        aa_buf_adds(b, "  ");
        rp_text(b, r->title, RP_ONE_LINE);
    }
    switch (r->outcome) {
    case AA_OUT_PASS_QUIRK:
        aa_buf_adds(b, " [passed with quirk: ");
        rp_text(b, r->quirk ? r->quirk : "(unnamed)", RP_ONE_LINE);
        aa_buf_addc(b, ']');
        break;
    case AA_OUT_SKIP:
        aa_buf_adds(b, " (skipped: ");
        rp_text(b, r->message ? r->message : "no reason given", RP_ONE_LINE);
        aa_buf_addc(b, ')');
        break;
    case AA_OUT_ERROR:
        aa_buf_adds(b, " (harness error: ");
        rp_text(b, r->message ? r->message : "no detail", RP_ONE_LINE);
        aa_buf_addc(b, ')');
        break;
    case AA_OUT_FAIL:
    case AA_OUT_WARN:
    case AA_OUT_INFO:
        if (r->message != NULL) {
            aa_buf_adds(b, ": ");
            rp_text(b, r->message, RP_ONE_LINE);
        }
        break;
    case AA_OUT_PASS:
    default:
        break;
    }
    aa_buf_addc(b, '\n');
}

/* Multi-line values are indented under their label; a multi-line
 * transcript starts on its own line. */
static void field(struct aa_buf *b, const char *label, const char *v)
{
    const char *p = v;

    if (v == NULL)
        return;
    bool first = true;

    if (v == NULL)
        return;
    aa_buf_printf(b, "     %s:", label);
    if (strcmp(label, "Transcript") == 0 && strchr(v, '\n') != NULL) {
        aa_buf_addc(b, '\n');
        first = false;
    }
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (nl != NULL && n > 0 && p[n - 1] == '\r')
            n--; /* CRLF: the line break is ours */
        /* Indent non-empty lines only: no trailing blanks. */
        if (n > 0)
            aa_buf_adds(b, first ? " " : "       ");
        first = false;
        rp_textn(b, p, n, 0);
        if (nl == NULL || nl[1] == '\0')
            break;
        aa_buf_addc(b, '\n');
        p = nl + 1;
    }
    aa_buf_addc(b, '\n');
}

static void detail(struct aa_buf *b, size_t no, const struct aa_check_result *r,
                   const struct aa_console_opts *o)
{
    char ref[160];

    aa_buf_printf(b, "  %zu) ", no);
    mark(b, r->outcome, o->color);
    aa_buf_addc(b, ' ');
    rp_text(b, r->id, RP_ONE_LINE);
    aa_buf_printf(b, " [%s]", aa_role_name(r->role));
    if (r->title != NULL) {
        aa_buf_adds(b, "  ");
        rp_text(b, r->title, RP_ONE_LINE);
    }
    aa_buf_addc(b, '\n');
    aa_ref_human(r->spec, ref, sizeof(ref));
    aa_buf_printf(b, "     Requirement: %s ", aa_level_name(r->level));
    rp_text(b, ref[0] ? ref : "(no citation)", RP_ONE_LINE);
    if (r->rfc != NULL) {
        aa_ref_human(r->rfc, ref, sizeof(ref));
        aa_buf_adds(b, "; ");
        rp_text(b, ref, RP_ONE_LINE);
    }
    aa_buf_addc(b, '\n');
    field(b, "Expected", r->expected);
    field(b, "Actual", r->actual);
    field(b, "Message", r->message);
    field(b, "Hint", r->hint);
    if (o->verbose && r->transcript != NULL)
        field(b, "Transcript", r->transcript);
}

void aa_report_print_console(const struct aa_run *run, FILE *out, const struct aa_console_opts *o)
{
    static const struct aa_console_opts defaults = {false, false};
    struct aa_buf b;
    struct rp_groups gs;
    struct aa_totals t;
    size_t no;
    int rc;

    if (o == NULL)
        o = &defaults;
    rc = rp_doc_begin(run, out, &gs, &t, &b);
    if (rc == AA_E_INVAL)
        return;
    if (rc != AA_OK) {
        fputs("aauth-conformance: out of memory while printing the summary\n", out);
        return;
    }
    for (size_t i = 0; i < gs.n; i++) {
        const struct rp_group *g = &gs.g[i];
        if (o->color)
            aa_buf_adds(&b, C_BOLD);
        rp_text(&b, g->suite, RP_ONE_LINE);
        aa_buf_printf(&b, " (%s)", aa_role_title(g->role));
        if (o->color)
            aa_buf_adds(&b, C_RESET);
        aa_buf_addc(&b, '\n');
        for (size_t k = 0; k < g->n; k++)
            check_line(&b, &run->v[g->idx[k]], o->color);
        aa_buf_addc(&b, '\n');
    }
    if (t.fail > 0) {
        aa_buf_adds(&b, "Failures:\n");
        no = 0;
        for (size_t i = 0; i < run->n; i++)
            if (run->v[i].outcome == AA_OUT_FAIL)
                detail(&b, ++no, &run->v[i], o);
        aa_buf_addc(&b, '\n');
    }
    if (t.error > 0) {
        aa_buf_adds(&b, "Errors (harness faults, not conformance failures):\n");
        no = 0;
        for (size_t i = 0; i < run->n; i++) {
            enum aa_outcome oc = run->v[i].outcome;
            if (oc != AA_OUT_PASS && oc != AA_OUT_PASS_QUIRK && oc != AA_OUT_FAIL &&
                oc != AA_OUT_WARN && oc != AA_OUT_INFO && oc != AA_OUT_SKIP)
                detail(&b, ++no, &run->v[i], o);
        }
        aa_buf_addc(&b, '\n');
    }
    if (t.warn > 0 || t.pass_quirk > 0) {
        aa_buf_adds(&b, "Warnings and quirks (not failures):\n");
        for (size_t i = 0; i < run->n; i++)
            if (run->v[i].outcome == AA_OUT_WARN || run->v[i].outcome == AA_OUT_PASS_QUIRK)
                check_line(&b, &run->v[i], o->color);
        aa_buf_addc(&b, '\n');
    }
    aa_buf_printf(&b,
                  "Total: %zu | Passed: %zu | Failed: %zu | Warnings: %zu | Skipped: %zu | "
                  "Errors: %zu\n",
                  t.total, t.pass + t.pass_quirk, t.fail, t.warn, t.skip, t.error);
    if (t.pass_quirk > 0 || t.info > 0)
        aa_buf_printf(&b, "(Passed includes %zu with quirk; %zu informational)\n", t.pass_quirk,
                      t.info);
    rp_groups_free(&gs);
    if (rp_flush(&b, out) != AA_OK)
        fputs("aauth-conformance: could not print the summary\n", out);
}
