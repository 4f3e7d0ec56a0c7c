/*
 * report.html: one self-contained offline page. Inline CSS and a few lines
 * of inline JavaScript (outcome filter buttons); no external resource of
 * any kind, and a Content-Security-Policy of default-src 'none' so a
 * browser would refuse one even if it slipped in. Every run-supplied
 * string is HTML-escaped through rp_text().
 *
 * Design choice: each check is a <details> element (FAIL and ERROR open by
 * default) holding expected/actual/hint and the full transcript, signature
 * bases included, in <pre>; without JavaScript every check stays visible.
 */
#include "report_int.h"

#include <inttypes.h>
#include <string.h>

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;"
    "max-width:72em;padding:0 1em;color:#1d232a;background:#fff}\n"
    "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em}h3{font-size:1.05em}\n"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #cfd6dd;padding:.25em .6em;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}td.z{color:#9aa4ae}\n"
    "code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\n"
    "pre{background:#f5f7f9;border:1px solid #e1e6eb;padding:.6em;overflow:auto;"
    "white-space:pre-wrap;word-break:break-all;max-height:40em}\n"
    ".badge{display:inline-block;min-width:6.5em;text-align:center;border-radius:3px;"
    "font-weight:600;font-size:12px;padding:0 .4em}\n"
    ".o-pass{background:#d7f5dd;color:#0d5a1d}.o-pass-quirk{background:#d5eef7;color:#0a4f66}"
    ".o-fail{background:#fbd9d9;color:#8a1010}.o-warn{background:#fdf0c7;color:#6b4e00}"
    ".o-info{background:#e3e7fb;color:#27338a}.o-skip{background:#eceff2;color:#4c5661}"
    ".o-error{background:#f3dcf5;color:#6d1577}\n"
    "details.check{border:1px solid #e1e6eb;border-radius:4px;margin:.3em 0;padding:.3em .6em}"
    "details.check>summary{cursor:pointer}"
    "details.check[hidden]{display:none}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}"
    "dd{margin:0;min-width:0}\n"
    ".filters button{margin:0 .3em .3em 0;padding:.25em .7em;border:1px solid #9aa4ae;"
    "background:#fff;border-radius:3px;cursor:pointer}"
    ".filters button[aria-pressed=true]{background:#1d232a;color:#fff}\n"
    ".result{font-weight:700;font-size:1.1em}.muted{color:#5b6670}\n";

static const char js[] =
    "(function () {\n"
    "  var buttons = document.querySelectorAll('.filters button');\n"
    "  var checks = document.querySelectorAll('#checks details.check');\n"
    "  function apply(f) {\n"
    "    for (var i = 0; i < checks.length; i++)\n"
    "      checks[i].hidden = !(f === 'all' || checks[i].getAttribute('data-outcome') === f);\n"
    "    for (var j = 0; j < buttons.length; j++)\n"
    "      buttons[j].setAttribute('aria-pressed',\n"
    "        buttons[j].getAttribute('data-filter') === f ? 'true' : 'false');\n"
    "  }\n"
    "  for (var k = 0; k < buttons.length; k++)\n"
    "    buttons[k].addEventListener('click', function () {\n"
    "      apply(this.getAttribute('data-filter'));\n"
    "    });\n"
    "})();\n";

static void esc(struct aa_buf *b, const char *s)
{
    rp_text(b, s, RP_HTML);
}

static void esc1(struct aa_buf *b, const char *s)
{
    rp_text(b, s, RP_HTML | RP_ONE_LINE);
}

static void meta_row(struct aa_buf *b, const char *k, const char *v)
{
    aa_buf_printf(b, "<tr><th>%s</th><td>", k);
    esc1(b, v != NULL ? v : "(not set)");
    aa_buf_adds(b, "</td></tr>\n");
}

static void head(struct aa_buf *b, const struct aa_run *run, int exit_code)
{
    const struct aa_run_info *in = &run->info;
    char v[64];

    aa_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                   "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>AAuth conformance report</title>\n<style>\n");
    aa_buf_adds(b, css);
    aa_buf_adds(b, "</style>\n</head>\n<body>\n<h1>AAuth conformance report</h1>\n"
                   "<table class=\"meta\">\n");
    meta_row(b, "Tool version", in->tool_version ? in->tool_version : AA_VERSION);
    meta_row(b, "Profile", in->profile);
    aa_snprintf(v, sizeof(v), "%" PRId64, in->clock);
    aa_buf_adds(b, "<tr><th>Clock</th><td>");
    esc1(b, in->clock_mode ? in->clock_mode : "(not set)");
    aa_buf_printf(b, " %s</td></tr>\n", v);
    aa_snprintf(v, sizeof(v), "%" PRIu64, in->seed);
    meta_row(b, "Seed", v);
    meta_row(b, "Started", in->started_at);
    rp_seconds(v, sizeof(v), in->duration_ms);
    aa_buf_printf(b, "<tr><th>Duration</th><td>%s s</td></tr>\n", v);
    if (in->dev_mode)
        meta_row(b, "Mode", "DEV (http loopback identifiers allowed)");
    for (size_t i = 0; i < in->n_targets; i++) {
        aa_buf_printf(b, "<tr><th>Target: %s</th><td><code>", aa_role_title(in->targets[i].role));
        esc1(b, in->targets[i].url ? in->targets[i].url : "(none)");
        aa_buf_adds(b, in->targets[i].embedded ? "</code> (embedded reference)</td></tr>\n"
                                               : "</code></td></tr>\n");
    }
    if (in->n_quirks > 0) {
        aa_buf_adds(b, "<tr><th>Allowed quirks</th><td>");
        for (size_t i = 0; i < in->n_quirks; i++) {
            aa_buf_adds(b, i > 0 ? ", <code>" : "<code>");
            esc1(b, in->quirks[i]);
            aa_buf_adds(b, "</code>");
        }
        aa_buf_adds(b, "</td></tr>\n");
    }
    aa_buf_printf(b, "</table>\n<p class=\"result\">Result: %s (exit status %d)</p>\n",
                  rp_result_text(exit_code), exit_code);
}

static void totals(struct aa_buf *b, const struct aa_totals *t)
{
    aa_buf_adds(b, "<h2>Totals</h2>\n<table class=\"totals\">\n<tr><th>Total</th>");
    for (size_t k = 0; k < RP_N_OUTCOMES; k++)
        aa_buf_printf(b, "<th><span class=\"badge o-%s\">%s</span></th>",
                      rp_outcome_class(rp_outcome_order[k]), aa_outcome_name(rp_outcome_order[k]));
    aa_buf_printf(b, "</tr>\n<tr><td class=\"n\">%zu</td>", t->total);
    for (size_t k = 0; k < RP_N_OUTCOMES; k++)
        aa_buf_printf(b, "<td class=\"n\">%zu</td>", rp_outcome_count(t, rp_outcome_order[k]));
    aa_buf_adds(b, "</tr>\n</table>\n<p class=\"muted\">PASS_QUIRK counts as passed only because "
                   "<code>--allow-quirk</code> accepted a known variant. WARN and INFO are not "
                   "failures. SKIP means an optional feature is absent and is never a pass. "
                   "ERROR is a harness fault, never non-conformance.</p>\n");
}

static void matrix(struct aa_buf *b, const struct rp_groups *gs)
{
    aa_buf_adds(b, "<h2>By role and suite</h2>\n");
    for (int role = AA_ROLE_NONE; role <= AA_ROLE_DELEGATE; role++) {
        bool any = false;
        for (size_t i = 0; i < gs->n; i++) {
            const struct rp_group *g = &gs->g[i];
            if ((int)g->role != role)
                continue;
            if (!any) {
                aa_buf_printf(b, "<h3>%s</h3>\n<table class=\"matrix\">\n<tr><th>Suite</th>",
                              aa_role_title((enum aa_role)role));
                for (size_t k = 0; k < RP_N_OUTCOMES; k++)
                    aa_buf_printf(b, "<th>%s</th>", aa_outcome_name(rp_outcome_order[k]));
                aa_buf_adds(b, "</tr>\n");
                any = true;
            }
            aa_buf_adds(b, "<tr><td>");
            esc1(b, g->suite);
            aa_buf_adds(b, "</td>");
            for (size_t k = 0; k < RP_N_OUTCOMES; k++) {
                size_t c = rp_outcome_count(&g->t, rp_outcome_order[k]);
                if (c > 0)
                    aa_buf_printf(b, "<td class=\"n o-%s\">%zu</td>",
                                  rp_outcome_class(rp_outcome_order[k]), c);
                else
                    aa_buf_adds(b, "<td class=\"n z\">0</td>");
            }
            aa_buf_adds(b, "</tr>\n");
        }
        if (any)
            aa_buf_adds(b, "</table>\n");
    }
}

static void dd_pre(struct aa_buf *b, const char *label, const char *s)
{
    if (s == NULL)
        return;
    aa_buf_printf(b, "<dt>%s</dt><dd><pre>", label);
    esc(b, s);
    aa_buf_adds(b, "</pre></dd>\n");
}

static void dd_text(struct aa_buf *b, const char *label, const char *s)
{
    if (s == NULL)
        return;
    aa_buf_printf(b, "<dt>%s</dt><dd>", label);
    esc1(b, s);
    aa_buf_adds(b, "</dd>\n");
}

static void check(struct aa_buf *b, size_t no, const struct aa_check_result *r)
{
    const char *cls = rp_outcome_class(r->outcome);
    bool open = r->outcome == AA_OUT_FAIL || !strcmp(cls, "error");
    char ms[48];

    aa_buf_printf(b, "<details class=\"check o-%s-row\" id=\"c%zu\" data-outcome=\"%s\"%s>\n", cls,
                  no, cls, open ? " open" : "");
    aa_buf_printf(b, "<summary><span class=\"badge o-%s\">%s %s</span> <code>", cls,
                  rp_mark(r->outcome), aa_outcome_name(r->outcome));
    esc1(b, r->id);
    aa_buf_adds(b, "</code> ");
    esc1(b, r->title);
    if (r->outcome == AA_OUT_PASS_QUIRK) {
        aa_buf_adds(b, " <em>(passed with quirk <code>");
        esc1(b, r->quirk ? r->quirk : "(unnamed)");
        aa_buf_adds(b, "</code>)</em>");
    }
    if (r->message != NULL) {
        aa_buf_adds(b, " &mdash; ");
        esc1(b, r->message);
    }
    aa_buf_adds(b, "</summary>\n<dl>\n");
    aa_buf_printf(b, "<dt>Role</dt><dd>%s</dd>\n", aa_role_title(r->role));
    dd_text(b, "Suite", rp_suite(r->suite));
    aa_buf_printf(b, "<dt>Requirement</dt><dd>%s <code>", aa_level_name(r->level));
    esc1(b, r->spec ? r->spec : "(no citation)");
    aa_buf_adds(b, "</code>");
    if (r->rfc != NULL) {
        aa_buf_adds(b, " <code>");
        esc1(b, r->rfc);
        aa_buf_adds(b, "</code>");
    }
    aa_buf_adds(b, "</dd>\n");
    dd_pre(b, "Expected", r->expected);
    dd_pre(b, "Actual", r->actual);
    dd_pre(b, "Message", r->message);
    dd_pre(b, "Hint", r->hint);
    dd_text(b, "Quirk", r->quirk);
    rp_millis(ms, sizeof(ms), r->duration_ms);
    aa_buf_printf(b, "<dt>Duration</dt><dd>%s ms</dd>\n", ms);
    dd_pre(b, "Transcript", r->transcript);
    aa_buf_adds(b, "</dl>\n</details>\n");
}

int aa_report_write_html(const struct aa_run *run, FILE *out)
{
    struct aa_buf b;
    struct rp_groups gs;
    struct aa_totals t;
    int rc;

    if ((rc = rp_doc_begin(run, out, &gs, &t, &b)) != AA_OK)
        return rc;
    head(&b, run, aa_run_exit_code(run));
    totals(&b, &t);
    matrix(&b, &gs);
    aa_buf_adds(&b, "<h2>Checks</h2>\n<div class=\"filters\" role=\"toolbar\" "
                    "aria-label=\"Filter by outcome\">\n");
    aa_buf_printf(&b,
                  "<button type=\"button\" data-filter=\"all\" aria-pressed=\"true\">"
                  "All (%zu)</button>\n",
                  t.total);
    for (size_t k = 0; k < RP_N_OUTCOMES; k++)
        aa_buf_printf(&b,
                      "<button type=\"button\" data-filter=\"%s\" aria-pressed=\"false\">"
                      "%s (%zu)</button>\n",
                      rp_outcome_class(rp_outcome_order[k]), aa_outcome_name(rp_outcome_order[k]),
                      rp_outcome_count(&t, rp_outcome_order[k]));
    aa_buf_adds(&b, "</div>\n<div id=\"checks\">\n");
    /* Checks grouped by (role, suite), groups in order of first appearance. */
    for (size_t i = 0; i < gs.n; i++)
        for (size_t k = 0; k < gs.g[i].n; k++)
            check(&b, gs.g[i].idx[k] + 1, &run->v[gs.g[i].idx[k]]);
    aa_buf_adds(&b, "</div>\n<script>\n");
    aa_buf_adds(&b, js);
    aa_buf_adds(&b, "</script>\n</body>\n</html>\n");
    rp_groups_free(&gs);
    return rp_flush(&b, out);
}
