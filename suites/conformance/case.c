/*
 * case: the side of the runner that lives inside a Criterion case process.
 * aa_conf_case_run() loads the configuration the parent wrote (path in
 * AA_CONFORMANCE_CONFIG), runs the case body, and every aa_check_* call
 * appends one result as a JSON line to the case's own file in the results
 * directory; a final {"done":true,...} line tells the parent the case
 * finished normally.
 *
 * Design choice: results are written (and flushed) the moment they are
 * recorded, so a case that crashes half-way still delivers what it had
 * established; everything it did not record becomes ERROR in the parent.
 * A result carries the tail of the case transcript at that moment: the
 * exchanges that led to the verdict are its evidence.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "runner_int.h"

#define TRANSCRIPT_MAX ((size_t)64 * 1024 * 1024)
#define MSG_MAX 400 /* generated one-line messages */

/* Exit statuses of a case process that could not start (the parent turns
 * them into ERROR results naming the cause). */
#define CASE_EXIT_CONFIG 71
#define CASE_EXIT_RESULTS 72

static struct {
    bool active;
    const struct aa_conf_case *cs;
    struct aa_rconf conf;
    struct aa_conf_target targets[AA_CONF_N_ROLES];
    FILE *out;
    struct aa_buf transcript;
    size_t transcript_dropped;
    struct aa_http_client *http;
    uint64_t rng;
    struct timespec t_last;
    bool vectors_checked;
    bool vectors_present;
    size_t n_slots; /* checks the case lists */
    int *worst;     /* per slot: severity of the worst outcome, -1 none */
    enum aa_outcome *worst_o;
} g;

static const struct aa_conf_target no_target;

static void remember(const struct aa_check *c, enum aa_outcome o);

/* ---- small helpers ------------------------------------------------------ */

static double ms_since(struct timespec *t)
{
    struct timespec now;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
    *t = now;
    return ms < 0 ? 0 : ms;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s != NULL && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void suite_bug(const char *fmt, ...) AA_PRINTF(1, 2);
/* A suite broke the API contract: say so loudly and crash the case, so
 * its checks are reported as ERROR with this text nearby. */
static void suite_bug(const char *fmt, ...)
{
    va_list ap;

    fputs("aauth-conformance: suite bug: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* Keep the transcript bounded: results carry only its tail, so dropping
 * the head of a very long case loses nothing a result would show. */
static void transcript_add(const char *p, size_t n)
{
    if (n > TRANSCRIPT_MAX / 2) {
        g.transcript_dropped += n - TRANSCRIPT_MAX / 2;
        p += n - TRANSCRIPT_MAX / 2;
        n = TRANSCRIPT_MAX / 2;
    }
    if (g.transcript.len + n > TRANSCRIPT_MAX / 2 && g.transcript.len > AA_CONF_TRANSCRIPT_TAIL) {
        size_t keep = AA_CONF_TRANSCRIPT_TAIL;
        size_t drop = g.transcript.len - keep;
        memmove(g.transcript.p, g.transcript.p + drop, keep);
        g.transcript.len = keep;
        g.transcript.p[keep] = '\0';
        g.transcript_dropped += drop;
    }
    aa_buf_add(&g.transcript, p, n);
    if (g.transcript.err) /* out of memory: start again rather than lose the case */
        aa_buf_init(&g.transcript, TRANSCRIPT_MAX);
}

/* The last AA_CONF_TRANSCRIPT_TAIL bytes, starting at a line boundary. */
static char *transcript_tail(void)
{
    struct aa_buf b;
    size_t start = 0, dropped = g.transcript_dropped;

    if (g.transcript.len == 0 && dropped == 0)
        return NULL;
    if (g.transcript.len > AA_CONF_TRANSCRIPT_TAIL) {
        start = g.transcript.len - AA_CONF_TRANSCRIPT_TAIL;
        while (start < g.transcript.len && g.transcript.p[start - 1] != '\n')
            start++;
        dropped += start;
    }
    aa_buf_init(&b, AA_CONF_TRANSCRIPT_TAIL + 256);
    if (dropped > 0)
        aa_buf_printf(&b, "[... %zu earlier bytes of this case's transcript omitted ...]\n",
                      dropped);
    aa_buf_add(&b, g.transcript.p + start, g.transcript.len - start);
    return aa_buf_detach(&b, NULL);
}

/* One line: newlines become spaces, cut at |cap| with "...". */
static void one_line(struct aa_buf *out, const char *s, size_t cap)
{
    size_t n = 0;

    for (; s != NULL && *s; s++, n++) {
        if (n >= cap) {
            aa_buf_adds(out, "...");
            return;
        }
        aa_buf_addc(out, (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s);
    }
}

static char *vfmt(const char *fmt, va_list ap) AA_PRINTF(1, 0);
static char *vfmt(const char *fmt, va_list ap)
{
    struct aa_buf b;

    if (fmt == NULL)
        return NULL;
    aa_buf_init(&b, AA_CASE_MAX_FIELD);
    aa_buf_vprintf(&b, fmt, ap);
    if (b.err)
        return aa_strdup("(message too long)");
    return aa_buf_detach(&b, NULL);
}

/* ---- context ------------------------------------------------------------ */

const struct aa_conf_target *aa_conf_target(enum aa_role role)
{
    if (!g.active || role <= AA_ROLE_NONE || role >= AA_CONF_N_ROLES)
        return &no_target;
    return &g.targets[role];
}

int64_t aa_conf_now(void)
{
    if (g.active && g.conf.clock_frozen)
        return g.conf.clock_value;
    return (int64_t)time(NULL);
}

bool aa_conf_clock_frozen(void)
{
    return g.active && g.conf.clock_frozen;
}

uint64_t aa_conf_seed(void)
{
    return g.conf.seed;
}

uint64_t aa_conf_rand64(void)
{
    return splitmix64(&g.rng);
}

bool aa_conf_dev_mode(void)
{
    return g.conf.dev_mode;
}

int aa_conf_verbosity(void)
{
    return g.conf.verbose ? 1 : 0;
}

const char *aa_conf_vectors_dir(void)
{
    if (!g.vectors_checked) {
        struct stat st;
        g.vectors_checked = true;
        g.vectors_present =
            g.conf.vectors_dir != NULL && stat(g.conf.vectors_dir, &st) == 0 && S_ISDIR(st.st_mode);
    }
    return g.vectors_present ? g.conf.vectors_dir : NULL;
}

const char *aa_conf_vectors_dir_configured(void)
{
    return g.conf.vectors_dir != NULL ? g.conf.vectors_dir : "(none)";
}

bool aa_conf_quirk_allowed(const char *name)
{
    if (aa_quirk_find(name) == NULL)
        suite_bug("quirk \"%s\" is not in the quirk catalogue (suites/conformance/quirks.c)",
                  name ? name : "(null)");
    return aa_strv_has(&g.conf.quirks, name);
}

bool aa_conf_declared(enum aa_role role, const char *feature)
{
    const char *const *emb;

    if (feature == NULL || role <= AA_ROLE_NONE || role >= AA_CONF_N_ROLES)
        return false;
    if (aa_strv_has(&g.conf.roles[role].declare, feature))
        return true;
    if (g.conf.roles[role].embedded && (emb = aa_embedded_features(role)) != NULL)
        for (; *emb != NULL; emb++)
            if (strcmp(*emb, feature) == 0)
                return true;
    return false;
}

const struct aa_conf_case *aa_conf_current_case(void)
{
    return g.active ? g.cs : NULL;
}

/* ---- transcript and HTTP ------------------------------------------------ */

void aa_conf_note(const char *fmt, ...)
{
    va_list ap;
    char *s;
    size_t n;

    va_start(ap, fmt);
    s = vfmt(fmt, ap);
    va_end(ap);
    if (s == NULL)
        return;
    n = strlen(s);
    transcript_add(s, n);
    if (n == 0 || s[n - 1] != '\n')
        transcript_add("\n", 1);
    free(s);
}

void aa_conf_note_block(const char *what, const char *text, size_t len)
{
    aa_conf_note("--- %s ---", what ? what : "");
    if (text != NULL)
        transcript_add(text, len);
    aa_conf_note("\n--- end of %s ---", what ? what : "");
}

int aa_conf_send(const char *who, const struct aa_http_request *req, struct aa_http_response *resp,
                 struct aa_diag *d)
{
    struct aa_buf tr;
    int rc;

    if (!g.active)
        suite_bug("aa_conf_send() called outside a case");
    if (g.http == NULL) {
        struct aa_http_client_opts o = {0};
        o.user_agent = "aauth-conformance/" AA_VERSION;
        if ((g.http = aa_http_client_new(&o)) == NULL)
            return aa_fail(d, AA_E_NOMEM, "README#internals", "cannot create an HTTP client");
    }
    rc = aa_http_send(g.http, req, resp, d);
    aa_buf_init(&tr, TRANSCRIPT_MAX / 4);
    aa_http_transcript_request(&tr, who ? who : "HARNESS", req, resp,
                               AA_HTTP_TR_FULL | AA_HTTP_TR_WIRE);
    if (rc == AA_OK || resp->status_line != NULL)
        aa_http_transcript_response(&tr, who ? who : "HARNESS", resp, AA_HTTP_TR_FULL);
    if (rc != AA_OK)
        aa_buf_printf(&tr, "*** no usable response: %s: %s ***\n\n", aa_conf_strerror(rc),
                      d != NULL ? d->msg : "");
    if (!tr.err)
        transcript_add(tr.p, tr.len);
    else
        aa_conf_note("*** exchange with %s too large for the transcript ***", req->url);
    aa_buf_free(&tr);
    return rc;
}

static int64_t conf_clock(void *ctx)
{
    (void)ctx;
    return aa_conf_now();
}

int aa_conf_send_signed(const char *who, const struct aa_http_request *req,
                        const struct aa_jwk *key, const struct aa_sign_cred *cred,
                        const struct aa_sign_opts *opts, struct aa_http_response *resp,
                        struct aa_signed *signed_out, struct aa_diag *d)
{
    static const struct aa_clock harness_clock = {conf_clock, NULL};
    struct aa_sign_request sr = {0};
    struct aa_sign_opts o = {0};
    struct aa_http_request sent;
    struct aa_http_headers all;
    struct aa_signed sg;
    const struct aa_http_headers *h = req->headers;
    int rc;

    if (!g.active)
        suite_bug("aa_conf_send_signed() called outside a case");
    memset(&sg, 0, sizeof(sg));
    aa_http_headers_init(&all);
    if (opts != NULL)
        o = *opts;
    if (o.clock == NULL)
        o.clock = &harness_clock;
    sr.method = req->method;
    sr.url = req->url;
    sr.headers = req->headers;
    sr.body = req->body;
    sr.body_len = req->body_len;
    rc = aa_aauth_sign(NULL, &sr, key, cred, &o, &sg, d);
    if (rc != AA_OK) {
        aa_conf_note("*** could not sign %s %s: %s: %s ***", req->method ? req->method : "",
                     req->url ? req->url : "", aa_conf_strerror(rc), d != NULL ? d->msg : "");
        goto out;
    }
    for (size_t i = 0; rc == AA_OK && h != NULL && i < h->n; i++)
        rc = h->v[i].raw
                 ? aa_http_headers_add_line(&all, h->v[i].name)
                 : aa_http_headers_addn(&all, h->v[i].name, h->v[i].value, h->v[i].value_len);
    for (size_t i = 0; rc == AA_OK && i < sg.headers.n; i++)
        rc = sg.headers.v[i].raw
                 ? aa_http_headers_add_line(&all, sg.headers.v[i].name)
                 : aa_http_headers_addn(&all, sg.headers.v[i].name, sg.headers.v[i].value,
                                        sg.headers.v[i].value_len);
    if (rc != AA_OK) {
        rc = aa_fail(d, rc, "README#internals", "cannot assemble the signed request headers");
        goto out;
    }
    if (sg.base != NULL)
        aa_conf_note_block("signature base", sg.base, sg.base_len);
    sent = *req;
    sent.headers = &all;
    rc = aa_conf_send(who, &sent, resp, d);
out:
    aa_http_headers_cleanup(&all);
    if (signed_out != NULL)
        *signed_out = sg;
    else
        aa_signed_cleanup(&sg);
    return rc;
}

int aa_conf_get(const char *who, const char *url, struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_http_request req = {0};

    req.method = "GET";
    req.url = url;
    return aa_conf_send(who, &req, resp, d);
}

/* ---- recording ---------------------------------------------------------- */

/* "{actual}" in the catalogue line is replaced by the first line of
 * |actual| (or nothing). */
static char *flow_line(const char *tmpl, const char *actual)
{
    struct aa_buf b;
    const char *p;

    if (tmpl == NULL)
        return NULL;
    aa_buf_init(&b, AA_CASE_MAX_FIELD);
    while ((p = strstr(tmpl, "{actual}")) != NULL) {
        aa_buf_add(&b, tmpl, (size_t)(p - tmpl));
        for (const char *a = actual; a != NULL && *a && *a != '\n'; a++)
            aa_buf_addc(&b, *a);
        tmpl = p + 8;
    }
    aa_buf_adds(&b, tmpl);
    return b.err ? aa_strdup(tmpl) : aa_buf_detach(&b, NULL);
}

static char *failure_message(const char *expected, const char *actual)
{
    struct aa_buf b;

    aa_buf_init(&b, 4 * MSG_MAX);
    aa_buf_adds(&b, "expected ");
    one_line(&b, expected ? expected : "(see requirement)", MSG_MAX / 2);
    aa_buf_adds(&b, "; got ");
    one_line(&b, actual ? actual : "(nothing)", MSG_MAX / 2);
    return b.err ? NULL : aa_buf_detach(&b, NULL);
}

static void write_line(cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);

    if (text == NULL || fputs(text, g.out) == EOF || fputc('\n', g.out) == EOF ||
        fflush(g.out) != 0) {
        fprintf(stderr, "aauth-conformance: cannot write the result file of case %s/%s\n",
                g.cs->cr_suite, g.cs->name);
        free(text);
        exit(CASE_EXIT_RESULTS);
    }
    free(text);
}

void aa_check_record(const struct aa_check *c, enum aa_outcome o, const struct aa_obs *obs)
{
    static const struct aa_obs none;
    struct aa_check_result r;
    struct aa_check_def def;
    cJSON *line, *jr;
    char *msg = NULL, *fl = NULL, *tail = NULL;
    int rc;

    if (!g.active)
        suite_bug("a check was recorded outside a case");
    if (c == NULL || !aa_cat_case_lists(g.cs, c))
        suite_bug("case %s/%s recorded check %s, which it does not list in .checks", g.cs->cr_suite,
                  g.cs->name, c && c->id ? c->id : "(null)");
    if (obs == NULL)
        obs = &none;
    if ((unsigned)o > (unsigned)AA_OUT_ERROR)
        suite_bug("check %s: outcome %d is out of range", c->id, (int)o);
    aa_check_to_def(c, &def);
    if ((rc = aa_result_init(&r, &def)) != AA_OK) {
        fprintf(stderr, "aauth-conformance: check %s: %s\n", c->id, aa_conf_strerror(rc));
        exit(CASE_EXIT_RESULTS);
    }
    r.outcome = o;
    r.test_no = c->test_no;
    r.duration_ms = ms_since(&g.t_last);
    if (o == AA_OUT_PASS_QUIRK) {
        if (obs->quirk == NULL || aa_quirk_find(obs->quirk) == NULL) {
            r.outcome = AA_OUT_ERROR;
            aa_result_setf(&r.message, "suite bug: PASS_QUIRK for %s without a catalogued quirk",
                           c->id);
        } else {
            aa_result_set(&r.quirk, obs->quirk);
        }
    }
    if (obs->expected != NULL)
        aa_result_set(&r.expected, obs->expected);
    aa_result_set(&r.actual, obs->actual);
    aa_result_set(&r.hint, obs->hint);
    if (obs->message != NULL)
        aa_result_set(&r.message, obs->message);
    else if ((r.outcome == AA_OUT_FAIL || r.outcome == AA_OUT_WARN) && r.message == NULL &&
             (msg = failure_message(r.expected, obs->actual)) != NULL)
        aa_result_set(&r.message, msg);
    fl = flow_line(obs->line != NULL ? obs->line : c->line, obs->actual);
    aa_result_set(&r.line, fl != NULL ? fl : (c->test_no > 0 ? c->title : NULL));
    tail = transcript_tail();
    aa_result_set(&r.transcript, tail);

    jr = aa_result_to_cjson(&r);
    line = cJSON_CreateObject();
    if (jr == NULL || line == NULL) {
        cJSON_Delete(jr);
        cJSON_Delete(line);
        fprintf(stderr, "aauth-conformance: out of memory recording %s\n", c->id);
        exit(CASE_EXIT_RESULTS);
    }
    cJSON_AddItemToObject(line, "result", jr);
    write_line(line);
    remember(c, r.outcome);
    cJSON_Delete(line);
    aa_result_cleanup(&r);
    free(msg);
    free(fl);
    free(tail);
}

static long slot_of(const struct aa_check *c)
{
    long i = 0;
    for (const struct aa_check *const *p = g.cs->checks; p != NULL && *p != NULL; p++, i++)
        if (*p == c)
            return i;
    return -1;
}

static void remember(const struct aa_check *c, enum aa_outcome o)
{
    long k = slot_of(c);
    int sev = aa_outcome_severity(o);

    if (k >= 0 && (size_t)k < g.n_slots && sev > g.worst[k]) {
        g.worst[k] = sev;
        g.worst_o[k] = o;
    }
}

enum aa_outcome aa_check_outcome(const struct aa_check *c, bool *recorded)
{
    long k = g.active ? slot_of(c) : -1;

    if (k < 0 || (size_t)k >= g.n_slots || g.worst[k] < 0) {
        if (recorded != NULL)
            *recorded = false;
        return AA_OUT_SKIP;
    }
    if (recorded != NULL)
        *recorded = true;
    return g.worst_o[k];
}

static enum aa_outcome violated(const struct aa_check *c);

void aa_check_not_evaluated(const struct aa_check *prereq, const struct aa_check *const *checks)
{
    bool rec = false;
    enum aa_outcome po = aa_check_outcome(prereq, &rec);

    for (const struct aa_check *const *p = checks; p != NULL && *p != NULL; p++) {
        struct aa_obs obs = {0};
        char msg[600];
        bool done = false;
        enum aa_outcome o;

        aa_check_outcome(*p, &done);
        if (done || *p == prereq)
            continue;
        if (!rec || po == AA_OUT_ERROR)
            o = AA_OUT_ERROR;
        else if (po == AA_OUT_SKIP)
            o = AA_OUT_SKIP;
        else
            o = violated(*p);
        if (prereq == NULL)
            aa_snprintf(msg, sizeof(msg), "not evaluated: the case never reached this check");
        else
            aa_snprintf(msg, sizeof(msg), "not evaluated: prerequisite %s %s", prereq->id,
                        !rec ? "was not recorded" : aa_outcome_name(po));
        obs.message = msg;
        obs.actual = o == AA_OUT_ERROR || o == AA_OUT_SKIP ? NULL : "not evaluated";
        aa_check_record(*p, o, &obs);
    }
}

static enum aa_outcome violated(const struct aa_check *c)
{
    switch (c->level) {
    case AA_LEVEL_SHOULD:
        return AA_OUT_WARN;
    case AA_LEVEL_INFO:
        return AA_OUT_INFO;
    default:
        return AA_OUT_FAIL;
    }
}

void aa_check_pass(const struct aa_check *c, const char *actual_fmt, ...)
{
    struct aa_obs obs = {0};
    va_list ap;
    char *a;

    va_start(ap, actual_fmt);
    a = vfmt(actual_fmt, ap);
    va_end(ap);
    obs.actual = a;
    aa_check_record(c, AA_OUT_PASS, &obs);
    free(a);
}

static void record_with_hint(const struct aa_check *c, enum aa_outcome o, const char *expected,
                             const char *actual, const char *hint)
{
    struct aa_obs obs = {0};

    obs.expected = expected;
    obs.actual = actual;
    obs.hint = hint;
    aa_check_record(c, o, &obs);
}

void aa_check_fail(const struct aa_check *c, const char *expected, const char *actual,
                   const char *hint_fmt, ...)
{
    va_list ap;
    char *h;

    va_start(ap, hint_fmt);
    h = vfmt(hint_fmt, ap);
    va_end(ap);
    record_with_hint(c, violated(c), expected, actual, h);
    free(h);
}

void aa_check_warn(const struct aa_check *c, const char *expected, const char *actual,
                   const char *hint_fmt, ...)
{
    va_list ap;
    char *h;

    va_start(ap, hint_fmt);
    h = vfmt(hint_fmt, ap);
    va_end(ap);
    record_with_hint(c, AA_OUT_WARN, expected, actual, h);
    free(h);
}

void aa_check_info(const struct aa_check *c, const char *actual, const char *msg_fmt, ...)
{
    struct aa_obs obs = {0};
    va_list ap;
    char *m;

    va_start(ap, msg_fmt);
    m = vfmt(msg_fmt, ap);
    va_end(ap);
    obs.actual = actual;
    obs.message = m;
    aa_check_record(c, AA_OUT_INFO, &obs);
    free(m);
}

void aa_check_skip(const struct aa_check *c, const char *reason_fmt, ...)
{
    struct aa_obs obs = {0};
    va_list ap;
    char *m;

    va_start(ap, reason_fmt);
    m = vfmt(reason_fmt, ap);
    va_end(ap);
    obs.message = m;
    obs.expected = c->expect;
    aa_check_record(c, AA_OUT_SKIP, &obs);
    free(m);
}

void aa_check_error(const struct aa_check *c, const char *fault_fmt, ...)
{
    struct aa_obs obs = {0};
    va_list ap;
    char *m;

    va_start(ap, fault_fmt);
    m = vfmt(fault_fmt, ap);
    va_end(ap);
    obs.message = m;
    aa_check_record(c, AA_OUT_ERROR, &obs);
    free(m);
}

void aa_check_fault(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d)
{
    char diag[AA_DIAG_MSG_MAX + 128] = "";

    if (d != NULL && d->msg[0] != '\0')
        aa_diag_format(d, diag, sizeof(diag));
    aa_check_error(c, "%s: %s%s%s", what ? what : "harness call failed", aa_conf_strerror(rc),
                   diag[0] ? ": " : "", diag);
}

void aa_check_pass_quirk(const struct aa_check *c, const char *quirk, const char *actual_fmt, ...)
{
    struct aa_obs obs = {0};
    va_list ap;
    char *a;

    va_start(ap, actual_fmt);
    a = vfmt(actual_fmt, ap);
    va_end(ap);
    obs.actual = a;
    if (!aa_conf_quirk_allowed(quirk)) {
        obs.message = "suite bug: PASS_QUIRK recorded although the quirk is not allowed";
        aa_check_record(c, AA_OUT_ERROR, &obs);
    } else {
        obs.quirk = quirk;
        aa_check_record(c, AA_OUT_PASS_QUIRK, &obs);
    }
    free(a);
}

bool aa_check_deviation(const struct aa_check *c, const char *quirk, const char *expected,
                        const char *actual, const char *hint_fmt, ...)
{
    struct aa_obs obs = {0};
    struct aa_buf hint;
    va_list ap;
    char *h;
    bool allowed = aa_conf_quirk_allowed(quirk);

    va_start(ap, hint_fmt);
    h = vfmt(hint_fmt, ap);
    va_end(ap);
    aa_buf_init(&hint, AA_CASE_MAX_FIELD);
    if (h != NULL)
        aa_buf_printf(&hint, "%s; ", h);
    if (allowed)
        aa_buf_printf(&hint, "accepted only because of --allow-quirk=%s", quirk);
    else
        aa_buf_printf(&hint, "known deviation \"%s\" (--allow-quirk=%s would record PASS_QUIRK)",
                      quirk, quirk);
    obs.expected = expected;
    obs.actual = actual;
    obs.hint = hint.err ? h : hint.p;
    obs.quirk = allowed ? quirk : NULL;
    aa_check_record(c, allowed ? AA_OUT_PASS_QUIRK : violated(c), &obs);
    aa_buf_free(&hint);
    free(h);
    return allowed;
}

bool aa_check_require_feature(const struct aa_check *c, enum aa_role role, const char *feature)
{
    if (aa_conf_declared(role, feature))
        return true;
    aa_check_skip(c,
                  "%s does not declare the optional feature \"%s\" (declare it with --declare "
                  "%s=%s or in the run file to make this check mandatory)",
                  aa_role_name(role), feature ? feature : "", aa_role_name(role),
                  feature ? feature : "");
    return false;
}

bool aa_check_require_listed(const struct aa_check *c, enum aa_role role, const cJSON *metadata,
                             const char *member, const char *value)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(metadata, member), *e;
    char feature[AA_CONF_FEATURE_MAX + 2];

    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && value != NULL && strcmp(e->valuestring, value) == 0)
            return true;
    }
    if (aa_snprintf(feature, sizeof(feature), "%s:%s", member ? member : "", value ? value : "") ==
            AA_OK &&
        aa_conf_declared(role, feature))
        return true;
    aa_check_skip(c,
                  "%s metadata \"%s\" does not list \"%s\": optional feature not declared (or "
                  "declare %s=%s)",
                  aa_role_name(role), member ? member : "", value ? value : "", aa_role_name(role),
                  feature);
    return false;
}

/* ---- the case entry point ----------------------------------------------- */

static void fill_targets(void)
{
    for (int r = AA_ROLE_AGENT_SERVER; r < AA_CONF_N_ROLES; r++) {
        struct aa_conf_target *t = &g.targets[r];
        const struct aa_rc_role *ro = &g.conf.roles[r];

        t->role = (enum aa_role)r;
        t->under_test = r == AA_ROLE_DELEGATE ? ro->command != NULL : ro->url != NULL;
        t->embedded = !t->under_test && ro->embedded;
        t->id = ro->id != NULL ? ro->id : ro->url;
        t->connect_url = ro->connect_url != NULL ? ro->connect_url : t->id;
        t->unavailable = ro->unavailable;
        t->present = t->under_test || t->embedded;
        t->command = ro->command;
        if (r == AA_ROLE_RESOURCE) {
            t->hwk_path = ro->hwk_path;
            t->jwks_path = ro->jwks_path;
            t->auth_path = ro->auth_path;
        }
    }
}

/* The case's own deadline: SIGALRM with its default action ends the
 * process, which the parent sees as a crash by SIGALRM and reports as a
 * timeout (the HTTP client uses CURLOPT_NOSIGNAL, so nothing else in the
 * case touches the real-time timer). */
static void arm_timeout(const struct aa_conf_case *cs)
{
    double t = cs->timeout > 0 ? cs->timeout : AA_CASE_TIMEOUT_DEFAULT;
    struct itimerval it;

    memset(&it, 0, sizeof(it));
    it.it_value.tv_sec = (time_t)t;
    it.it_value.tv_usec = (suseconds_t)((t - (double)(time_t)t) * 1e6);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
        it.it_value.tv_usec = 1;
    signal(SIGALRM, SIG_DFL);
    setitimer(ITIMER_REAL, &it, NULL);
}

void aa_conf_case_run(const struct aa_conf_case *cs)
{
    const char *path = getenv(AA_CONF_ENV);
    char rpath[4096];
    struct aa_diag d;
    cJSON *done;
    char *tail;

    memset(&g, 0, sizeof(g));
    aa_diag_clear(&d);
    aa_rconf_init(&g.conf);
    if (path == NULL) {
        fprintf(stderr,
                "aauth-conformance: case %s/%s: %s is not set; cases run only under the "
                "aauth-conformance runner\n",
                cs->cr_suite, cs->name, AA_CONF_ENV);
        exit(CASE_EXIT_CONFIG);
    }
    if (aa_rconf_load_runtime(&g.conf, path, &d) != AA_OK || g.conf.results_dir == NULL) {
        fprintf(stderr, "aauth-conformance: case %s/%s: bad run configuration: %s\n", cs->cr_suite,
                cs->name, d.msg);
        exit(CASE_EXIT_CONFIG);
    }
    if (aa_case_results_path(g.conf.results_dir, cs, rpath, sizeof(rpath)) != AA_OK ||
        (g.out = fopen(rpath, "a")) == NULL) {
        fprintf(stderr, "aauth-conformance: case %s/%s: cannot open %s\n", cs->cr_suite, cs->name,
                rpath);
        exit(CASE_EXIT_RESULTS);
    }
    for (const struct aa_check *const *p = cs->checks; p != NULL && *p != NULL; p++)
        g.n_slots++;
    g.worst = malloc((g.n_slots + 1) * sizeof(*g.worst));
    g.worst_o = calloc(g.n_slots + 1, sizeof(*g.worst_o));
    if (g.worst == NULL || g.worst_o == NULL) {
        fprintf(stderr, "aauth-conformance: case %s/%s: out of memory\n", cs->cr_suite, cs->name);
        exit(CASE_EXIT_RESULTS);
    }
    for (size_t i = 0; i < g.n_slots; i++)
        g.worst[i] = -1;
    g.cs = cs;
    g.active = true;
    fill_targets();
    aa_buf_init(&g.transcript, TRANSCRIPT_MAX);
    g.rng = fnv1a(fnv1a(0xcbf29ce484222325ULL ^ g.conf.seed, cs->cr_suite), cs->name);
    clock_gettime(CLOCK_MONOTONIC, &g.t_last);
    arm_timeout(cs);

    cs->body();

    {
        struct itimerval off;
        memset(&off, 0, sizeof(off));
        setitimer(ITIMER_REAL, &off, NULL);
    }

    /* The case finished normally: say so, with its whole transcript for
     * --verbose. */
    done = cJSON_CreateObject();
    tail = transcript_tail();
    if (done != NULL) {
        cJSON_AddBoolToObject(done, "done", true);
        if (tail != NULL)
            cJSON_AddStringToObject(done, "transcript", tail);
        write_line(done);
    }
    cJSON_Delete(done);
    free(tail);
    fclose(g.out);
    g.active = false;
    aa_http_client_free(g.http);
    aa_buf_free(&g.transcript);
    aa_rconf_cleanup(&g.conf);
    free(g.worst);
    free(g.worst_o);
    memset(&g, 0, sizeof(g));
}
