/*
 * JUnit XML writer, valid against reports/junit.xsd (the Jenkins xUnit
 * plugin's junit-10.xsd). One <testsuite> per (role, suite) named
 * "aauth.<role>.<suite>", which is also every testcase's classname; the
 * testcase name is the check id (unique in a run, see aa_run_add).
 *
 * Design choice: that schema allows <properties> only inside <testsuite>,
 * so the run's properties are repeated in every suite rather than put on
 * <testsuites>; and it has no "skipped" attribute on <testsuites>.
 */
#include "report_int.h"

#include <inttypes.h>
#include <string.h>

static void attr(struct aa_buf *b, const char *name, const char *v)
{
    aa_buf_printf(b, " %s=\"", name);
    rp_text(b, v, RP_XML | RP_ATTR | RP_ONE_LINE);
    aa_buf_addc(b, '"');
}

static void property(struct aa_buf *b, const char *name, const char *v)
{
    aa_buf_adds(b, "      <property");
    attr(b, "name", name);
    attr(b, "value", v != NULL ? v : "");
    aa_buf_adds(b, "/>\n");
}

static void properties(struct aa_buf *b, const struct aa_run_info *in)
{
    char num[64];

    aa_buf_adds(b, "    <properties>\n");
    property(b, "aauth.tool_version", in->tool_version ? in->tool_version : AA_VERSION);
    property(b, "aauth.profile", in->profile);
    property(b, "aauth.clock_mode", in->clock_mode);
    aa_snprintf(num, sizeof(num), "%" PRId64, in->clock);
    property(b, "aauth.clock", num);
    aa_snprintf(num, sizeof(num), "%" PRIu64, in->seed);
    property(b, "aauth.seed", num);
    property(b, "aauth.started_at", in->started_at);
    property(b, "aauth.dev_mode", in->dev_mode ? "true" : "false");
    for (size_t i = 0; i < in->n_targets; i++) {
        const struct aa_target_info *t = &in->targets[i];
        struct aa_buf v;
        aa_buf_init(&v, 0);
        aa_buf_printf(&v, "%s%s", t->url ? t->url : "(none)",
                      t->embedded ? " (embedded reference)" : "");
        aa_snprintf(num, sizeof(num), "aauth.target.%s", aa_role_name(t->role));
        property(b, num, v.err ? "(out of memory)" : v.p);
        aa_buf_free(&v);
    }
    for (size_t i = 0; i < in->n_quirks; i++)
        property(b, "aauth.allow_quirk", in->quirks[i]);
    aa_buf_adds(b, "    </properties>\n");
}

/* The readable body of <failure>/<error> and of <system-out>. */
static void details(struct aa_buf *b, const struct aa_check_result *r)
{
    aa_buf_adds(b, "Check: ");
    rp_text(b, r->title, RP_XML);
    aa_buf_printf(b, "\nRequirement: %s ", aa_level_name(r->level));
    rp_text(b, r->spec ? r->spec : "(no citation)", RP_XML);
    if (r->rfc != NULL) {
        aa_buf_adds(b, " (");
        rp_text(b, r->rfc, RP_XML);
        aa_buf_addc(b, ')');
    }
    aa_buf_addc(b, '\n');
    static const struct {
        const char *label;
        size_t off;
    } parts[] = {
        {"Expected", offsetof(struct aa_check_result, expected)},
        {"Actual", offsetof(struct aa_check_result, actual)},
        {"Message", offsetof(struct aa_check_result, message)},
        {"Hint", offsetof(struct aa_check_result, hint)},
        {"Quirk", offsetof(struct aa_check_result, quirk)},
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        const char *v = *(char *const *)(const void *)((const char *)r + parts[i].off);
        if (v == NULL)
            continue;
        aa_buf_printf(b, "%s: ", parts[i].label);
        rp_text(b, v, RP_XML);
        aa_buf_addc(b, '\n');
    }
    if (r->transcript != NULL) {
        size_t n = strlen(r->transcript);
        aa_buf_adds(b, "Transcript:\n");
        rp_text(b, r->transcript, RP_XML);
        if (n > 0 && r->transcript[n - 1] != '\n')
            aa_buf_addc(b, '\n');
    }
}

static const char *one_line(const struct aa_check_result *r, const char *fallback)
{
    return r->message != NULL ? r->message : fallback;
}

static void testcase(struct aa_buf *b, const struct aa_check_result *r, const char *classname)
{
    char secs[48];

    rp_seconds(secs, sizeof(secs), r->duration_ms);
    aa_buf_adds(b, "    <testcase");
    attr(b, "name", r->id);
    attr(b, "classname", classname);
    attr(b, "time", secs);
    switch (r->outcome) {
    case AA_OUT_PASS:
        aa_buf_adds(b, "/>\n");
        return;
    case AA_OUT_FAIL:
        aa_buf_adds(b, ">\n      <failure");
        attr(b, "message", one_line(r, "check failed"));
        attr(b, "type", "FAIL");
        aa_buf_adds(b, ">");
        details(b, r);
        aa_buf_adds(b, "</failure>\n");
        break;
    case AA_OUT_SKIP:
        aa_buf_adds(b, ">\n      <skipped");
        attr(b, "message", one_line(r, "skipped"));
        aa_buf_adds(b, "/>\n");
        break;
    case AA_OUT_WARN:
    case AA_OUT_INFO:
    case AA_OUT_PASS_QUIRK:
        aa_buf_adds(b, ">\n      <system-out>");
        if (r->outcome == AA_OUT_WARN)
            aa_buf_adds(b, "WARN: a SHOULD-level expectation was not met "
                           "(not a failure).\n");
        else if (r->outcome == AA_OUT_INFO)
            aa_buf_adds(b, "INFO: informational only; the specification leaves "
                           "this behaviour open.\n");
        else {
            aa_buf_adds(b, "PASS_QUIRK: passed only because --allow-quirk=");
            rp_text(b, r->quirk ? r->quirk : "(unnamed)", RP_XML);
            aa_buf_adds(b, " accepted a known variant; without it this check "
                           "does not pass.\n");
        }
        details(b, r);
        aa_buf_adds(b, "</system-out>\n");
        break;
    case AA_OUT_ERROR:
    default:
        aa_buf_adds(b, ">\n      <error");
        attr(b, "message", one_line(r, "harness error"));
        attr(b, "type", "ERROR");
        aa_buf_adds(b, ">Harness fault: the check could not be evaluated "
                       "(this is not a conformance failure).\n");
        details(b, r);
        aa_buf_adds(b, "</error>\n");
        break;
    }
    aa_buf_adds(b, "    </testcase>\n");
}

int aa_report_write_junit(const struct aa_run *run, FILE *out)
{
    struct aa_buf b;
    struct rp_groups gs;
    struct aa_totals t;
    char secs[48];
    int rc;

    if ((rc = rp_doc_begin(run, out, &gs, &t, &b)) != AA_OK)
        return rc;
    rp_seconds(secs, sizeof(secs), run->info.duration_ms);
    aa_buf_printf(&b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<testsuites name=\"aauth-conformance\" tests=\"%zu\" failures=\"%zu\" "
                  "errors=\"%zu\" time=\"%s\">\n",
                  t.total, t.fail, t.error, secs);
    if (gs.n == 0) {
        /* Keep the run's properties even when nothing ran. */
        aa_buf_adds(&b, "  <testsuite name=\"aauth\" tests=\"0\" failures=\"0\" errors=\"0\" "
                        "skipped=\"0\" time=\"0.000\"");
        attr(&b, "timestamp", run->info.started_at ? run->info.started_at : "");
        aa_buf_adds(&b, ">\n");
        properties(&b, &run->info);
        aa_buf_adds(&b, "  </testsuite>\n");
    }
    for (size_t i = 0; i < gs.n; i++) {
        const struct rp_group *g = &gs.g[i];
        struct aa_buf cn;

        aa_buf_init(&cn, 0);
        aa_buf_printf(&cn, "aauth.%s.%s", aa_role_name(g->role), g->suite);
        if (cn.err) {
            rc = cn.err;
            break;
        }
        rp_seconds(secs, sizeof(secs), g->ms);
        aa_buf_adds(&b, "  <testsuite");
        attr(&b, "name", cn.p);
        aa_buf_printf(&b, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"",
                      g->t.total, g->t.fail, g->t.error, g->t.skip);
        attr(&b, "time", secs);
        attr(&b, "timestamp", run->info.started_at ? run->info.started_at : "");
        aa_buf_adds(&b, ">\n");
        properties(&b, &run->info);
        for (size_t k = 0; k < g->n; k++)
            testcase(&b, &run->v[g->idx[k]], cn.p);
        aa_buf_adds(&b, "  </testsuite>\n");
        aa_buf_free(&cn);
    }
    aa_buf_adds(&b, "</testsuites>\n");
    rp_groups_free(&gs);
    if (rc != AA_OK) {
        aa_buf_free(&b);
        return rc;
    }
    return rp_flush(&b, out);
}
