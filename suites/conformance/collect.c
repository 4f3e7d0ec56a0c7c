/*
 * collect: turn the result files the case processes wrote into the run's
 * results (struct aa_run), in catalogue order.
 *
 * Every selected check ends up with exactly one result: the worst of what
 * its case recorded (FAIL > ERROR > WARN > PASS_QUIRK > INFO > PASS >
 * SKIP), or an ERROR that says why nothing was recorded - the case
 * crashed (signal), timed out, exited early, could not run because a role
 * it needs is unavailable, or finished without recording the check (a
 * suite bug). A selected check is never silently missing.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "json/aa_json.h"
#include "runner_int.h"

int aa_outcome_severity(enum aa_outcome o)
{
    switch (o) {
    case AA_OUT_FAIL:
        return 6;
    case AA_OUT_ERROR:
        return 5;
    case AA_OUT_WARN:
        return 4;
    case AA_OUT_PASS_QUIRK:
        return 3;
    case AA_OUT_INFO:
        return 2;
    case AA_OUT_PASS:
        return 1;
    case AA_OUT_SKIP:
        return 0;
    default:
        return 5; /* unknown counts as a harness fault */
    }
}

int aa_case_results_path(const char *dir, const struct aa_conf_case *cs, char *out, size_t cap)
{
    return aa_snprintf(out, cap, "%s/%s.%s.jsonl", dir, cs->cr_suite, cs->name);
}

int aa_case_transcript_path(const char *dir, const struct aa_conf_case *cs, char *out, size_t cap)
{
    return aa_snprintf(out, cap, "%s/%s.%s.transcript", dir, cs->cr_suite, cs->name);
}

char *aa_transcript_tail(const char *text, size_t end)
{
    struct aa_buf b;
    size_t start = 0;

    if (text == NULL || end == 0)
        return NULL;
    if (end > AA_CONF_TRANSCRIPT_TAIL) {
        start = end - AA_CONF_TRANSCRIPT_TAIL;
        while (start < end && text[start - 1] != '\n')
            start++;
    }
    aa_buf_init(&b, AA_CONF_TRANSCRIPT_TAIL + 256);
    if (start > 0)
        aa_buf_printf(&b, "[... %zu earlier bytes of this case's transcript omitted ...]\n", start);
    aa_buf_add(&b, text + start, end - start);
    return b.err ? NULL : aa_buf_detach(&b, NULL);
}

/* "tr_end" of a result line, bounded by what the file holds. */
static size_t tr_end_of(const cJSON *o, size_t have)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "tr_end");
    double x;

    if (!cJSON_IsNumber(v) || v->valuedouble < 0)
        return 0;
    x = v->valuedouble;
    return x >= (double)have ? have : (size_t)x;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGALRM:
        return "SIGALRM";
    default:
        return "signal";
    }
}

static void missing_reason(const struct aa_conf_case *cs, const struct aa_case_status *st,
                           bool done, struct aa_buf *msg, struct aa_buf *hint)
{
    switch (st->state) {
    case AA_CASE_BLOCKED:
        aa_buf_printf(msg, "not run: %s", st->blocked_reason ? st->blocked_reason : "blocked");
        if (st->blocked_skip)
            aa_buf_adds(hint, "the case needs an instance this run does not have (README "
                              "\"Instances\")");
        else
            aa_buf_adds(hint, "the case needs this role reachable; put it under test with "
                              "--target-... or make the embedded reference available");
        return;
    case AA_CASE_NOT_RUN:
        if (done)
            aa_buf_printf(msg, "case %s/%s did not record this check", cs->cr_suite, cs->name);
        else
            aa_buf_printf(msg, "case %s/%s did not run or Criterion reported no status for it",
                          cs->cr_suite, cs->name);
        return;
    default:
        break;
    }
    if (st->timed_out || ((st->crashed || st->signal != 0) && st->signal == SIGALRM)) {
        /* SIGALRM is the case's own deadline (case.c, arm_timeout) */
        aa_buf_printf(msg,
                      "case %s/%s was stopped after its timeout (%.0f s) before recording "
                      "this check",
                      cs->cr_suite, cs->name,
                      cs->timeout > 0 ? cs->timeout : AA_CASE_TIMEOUT_DEFAULT);
        aa_buf_adds(hint, "a case that runs longer than its timeout is stopped; raise .timeout "
                          "in AA_CASE if the scenario needs more time");
    } else if (st->crashed || st->signal != 0) {
        aa_buf_printf(msg, "case %s/%s crashed (%s, signal %d) before recording this check",
                      cs->cr_suite, cs->name, signal_name(st->signal), st->signal);
        aa_buf_adds(hint, "a crash of the harness, not of the target; its stderr output is "
                          "above the report");
    } else if (st->exit_code == 71) {
        aa_buf_printf(msg, "case %s/%s could not read the run configuration", cs->cr_suite,
                      cs->name);
    } else if (st->exit_code == 72) {
        aa_buf_printf(msg, "case %s/%s could not write its results", cs->cr_suite, cs->name);
    } else if (st->exit_code != 0) {
        aa_buf_printf(msg, "case %s/%s exited with status %d before recording this check",
                      cs->cr_suite, cs->name, st->exit_code);
    } else if (done) {
        aa_buf_printf(msg, "case %s/%s did not record this check", cs->cr_suite, cs->name);
        aa_buf_adds(hint, "suite bug: a case must record every check it lists, on every path");
    } else {
        aa_buf_printf(msg,
                      "case %s/%s ended without its completion marker before recording "
                      "this check",
                      cs->cr_suite, cs->name);
    }
}

/* Index of |c| in the case's list, or -1. */
static long slot_of(const struct aa_conf_case *cs, const struct aa_check *c)
{
    long i = 0;
    for (const struct aa_check *const *p = cs->checks; p != NULL && *p != NULL; p++, i++)
        if (*p == c)
            return i;
    return -1;
}

int aa_collect_case(const struct aa_cat *cat, const bool *sel, size_t ci,
                    const struct aa_case_status *st, const char *results_dir, struct aa_run *run,
                    char **case_transcript, struct aa_diag *d)
{
    const struct aa_conf_case *cs = cat->cases[ci];
    struct aa_check_result *best = NULL;
    bool *have = NULL, done = false;
    size_t n = 0, tr_len = 0, *best_end = NULL;
    char *text = NULL, *tr = NULL;
    int rc = AA_OK;

    for (const struct aa_check *const *p = cs->checks; p != NULL && *p != NULL; p++)
        n++;
    best = calloc(n + 1, sizeof(*best));
    have = calloc(n + 1, sizeof(*have));
    best_end = calloc(n + 1, sizeof(*best_end));
    if (best == NULL || have == NULL || best_end == NULL) {
        rc = AA_E_NOMEM;
        goto out;
    }

    /* Read the file even when Criterion reported nothing about the case:
     * whatever it recorded is evidence. */
    if (st->state != AA_CASE_BLOCKED && results_dir != NULL) {
        char path[4096];
        size_t len = 0;
        /* the evidence the results point into (absent: a case that never
         * started; results then carry none) */
        if (aa_case_transcript_path(results_dir, cs, path, sizeof(path)) == AA_OK &&
            aa_read_file(path, AA_CONF_TRANSCRIPT_FILE_MAX, &tr, &tr_len) != AA_OK) {
            tr = NULL;
            tr_len = 0;
        }
        if (aa_case_results_path(results_dir, cs, path, sizeof(path)) == AA_OK &&
            aa_read_file(path, AA_CONF_RESULTS_MAX, &text, &len) == AA_OK) {
            char *line = text, *end = text + len;
            struct aa_json_opts jo = {0};
            jo.max_len = AA_CASE_MAX_TRANSCRIPT * 7; /* escaped transcript plus fields */
            while (line < end) {
                char *nl = memchr(line, '\n', (size_t)(end - line));
                cJSON *o = NULL;
                const cJSON *jr;
                struct aa_check_result r;
                struct aa_diag rd;
                size_t k, tr_end;
                long slot;

                if (nl == NULL)
                    break; /* a line cut short by a crash: nothing usable */
                aa_diag_clear(&rd);
                if (aa_json_parse(line, (size_t)(nl - line), &jo, &o, &rd) != AA_OK) {
                    fprintf(stderr, "aauth-conformance: %s: unreadable result line: %s\n", path,
                            rd.msg);
                    line = nl + 1;
                    continue;
                }
                line = nl + 1;
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "done"))) {
                    done = true;
                    if (case_transcript != NULL && *case_transcript == NULL)
                        *case_transcript = aa_transcript_tail(tr, tr_end_of(o, tr_len));
                    cJSON_Delete(o);
                    continue;
                }
                jr = cJSON_GetObjectItemCaseSensitive(o, "result");
                if (jr == NULL || aa_result_from_cjson(jr, &r, &rd) != AA_OK) {
                    fprintf(stderr, "aauth-conformance: %s: malformed result: %s\n", path, rd.msg);
                    cJSON_Delete(o);
                    continue;
                }
                tr_end = tr_end_of(o, tr_len);
                cJSON_Delete(o);
                k = aa_cat_find_check(cat, r.id);
                slot = k == (size_t)-1 ? -1 : slot_of(cs, cat->checks[k]);
                if (slot < 0 || !sel[k]) {
                    aa_result_cleanup(&r); /* not selected (or not this case's): dropped */
                    continue;
                }
                if (!have[slot]) {
                    best[slot] = r;
                    best_end[slot] = tr_end;
                    have[slot] = true;
                } else if (aa_outcome_severity(r.outcome) >
                           aa_outcome_severity(best[slot].outcome)) {
                    aa_result_cleanup(&best[slot]);
                    best[slot] = r;
                    best_end[slot] = tr_end;
                } else {
                    aa_result_cleanup(&r);
                }
            }
        }
    }

    for (size_t i = 0; i < n; i++) {
        const struct aa_check *c = cs->checks[i];
        size_t k = aa_cat_find_check(cat, c->id);

        if (k == (size_t)-1 || !sel[k]) {
            if (have[i])
                aa_result_cleanup(&best[i]);
            continue;
        }
        if (have[i] && best[i].transcript == NULL && best_end[i] > 0) {
            char *tail = aa_transcript_tail(tr, best_end[i]);
            aa_result_set(&best[i].transcript, tail);
            free(tail);
        }
        if (!have[i]) {
            struct aa_check_def def;
            struct aa_buf msg, hint;
            aa_check_to_def(c, &def);
            if ((rc = aa_result_init(&best[i], &def)) != AA_OK)
                goto out;
            have[i] = true;
            aa_buf_init(&msg, 4096);
            aa_buf_init(&hint, 4096);
            missing_reason(cs, st, done, &msg, &hint);
            best[i].outcome =
                st->state == AA_CASE_BLOCKED && st->blocked_skip ? AA_OUT_SKIP : AA_OUT_ERROR;
            best[i].test_no = c->test_no;
            aa_result_set(&best[i].message, msg.p);
            aa_result_set(&best[i].hint, hint.p);
            if (c->test_no > 0)
                aa_result_set(&best[i].line, c->line != NULL && strstr(c->line, "{actual}") == NULL
                                                 ? c->line
                                                 : c->title);
            aa_buf_free(&msg);
            aa_buf_free(&hint);
        }
        rc = aa_run_add(run, &best[i]);
        if (rc != AA_OK) {
            aa_fail(d, rc, "README#internals", "check %s could not be added to the run", c->id);
            goto out;
        }
        have[i] = false;
    }
out:
    for (size_t i = 0; best != NULL && i < n; i++)
        if (have != NULL && have[i])
            aa_result_cleanup(&best[i]);
    free(best);
    free(have);
    free(best_end);
    free(text);
    free(tr);
    return rc;
}

/* qsort has no context argument; the catalogue is fixed during a sort. */
static const struct aa_cat *sort_cat;

static int cmp_result(const void *a, const void *b)
{
    size_t x = aa_cat_find_check(sort_cat, ((const struct aa_check_result *)a)->id);
    size_t y = aa_cat_find_check(sort_cat, ((const struct aa_check_result *)b)->id);
    return (x > y) - (x < y);
}

void aa_collect_sort(const struct aa_cat *cat, struct aa_run *run)
{
    sort_cat = cat;
    if (run->n > 1)
        qsort(run->v, run->n, sizeof(run->v[0]), cmp_result);
    sort_cat = NULL;
}
