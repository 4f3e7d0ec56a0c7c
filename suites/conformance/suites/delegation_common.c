/*
 * delegation_common: helpers of the flow suites delegation (F6),
 * pseudonymous (F1) and identity (F2); the contract of each function is in
 * delegation_common.h.
 *
 * Design choice: the harness checks every token the way its recipient
 * would, with its own metadata and JWKS fetches made through aa_conf_send,
 * so the evidence for a "signature verified" line is in the transcript,
 * not hidden in a discovery cache.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delegation_common.h"

#define LINE_MAX_TEXT 2048

/* ---- recording ----------------------------------------------------------- */

enum aa_outcome dlg_violation(const struct aa_check *c)
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

static void record_titled(const struct aa_check *c, enum aa_outcome o, const char *expected,
                          const char *actual, const char *hint, const char *message)
{
    struct aa_obs obs = {0};

    obs.expected = expected != NULL ? expected : c->expect;
    obs.actual = actual;
    obs.hint = hint;
    obs.message = message;
    obs.line = c->title;
    aa_check_record(c, o, &obs);
}

static char *vformat(const char *fmt, va_list ap) AA_PRINTF(1, 0);
static char *vformat(const char *fmt, va_list ap)
{
    struct aa_buf b;

    if (fmt == NULL)
        return NULL;
    aa_buf_init(&b, LINE_MAX_TEXT * 4);
    aa_buf_vprintf(&b, fmt, ap);
    if (b.err) {
        aa_buf_free(&b);
        return aa_strdup("(text too long)");
    }
    return aa_buf_detach(&b, NULL);
}

void dlg_fail(const struct aa_check *c, const char *expected, const char *actual,
              const char *hint_fmt, ...)
{
    va_list ap;
    char *h;

    va_start(ap, hint_fmt);
    h = vformat(hint_fmt, ap);
    va_end(ap);
    record_titled(c, dlg_violation(c), expected, actual, h, NULL);
    free(h);
}

void dlg_warn(const struct aa_check *c, const char *expected, const char *actual,
              const char *hint_fmt, ...)
{
    va_list ap;
    char *h;

    va_start(ap, hint_fmt);
    h = vformat(hint_fmt, ap);
    va_end(ap);
    record_titled(c, AA_OUT_WARN, expected, actual, h, NULL);
    free(h);
}

void dlg_skip(const struct aa_check *c, const char *reason)
{
    record_titled(c, AA_OUT_SKIP, NULL, NULL, NULL, reason);
}

void dlg_error(const struct aa_check *c, const char *fault_fmt, ...)
{
    va_list ap;
    char *m;

    va_start(ap, fault_fmt);
    m = vformat(fault_fmt, ap);
    va_end(ap);
    record_titled(c, AA_OUT_ERROR, NULL, NULL, NULL, m);
    free(m);
}

bool dlg_expect(const struct aa_check *c, bool cond, const char *actual_fmt, ...)
{
    va_list ap;
    char *a;

    va_start(ap, actual_fmt);
    a = vformat(actual_fmt, ap);
    va_end(ap);
    if (cond)
        aa_check_pass(c, "%s", a != NULL ? a : "");
    else
        record_titled(c, dlg_violation(c), NULL, a, NULL, NULL);
    free(a);
    return cond;
}

bool dlg_expect_str(const struct aa_check *c, const char *what, const char *expected,
                    const char *actual)
{
    char exp[LINE_MAX_TEXT];

    if (expected != NULL && actual != NULL && strcmp(expected, actual) == 0) {
        aa_check_pass(c, "%s", actual);
        return true;
    }
    aa_snprintf(exp, sizeof(exp), "%s = %s", what, expected != NULL ? expected : "(unknown)");
    record_titled(c, dlg_violation(c), exp, actual != NULL ? actual : "(absent)", NULL, NULL);
    return false;
}

bool dlg_expect_ok(const struct aa_check *c, int rc, const struct aa_diag *d,
                   const char *pass_actual)
{
    char text[AA_DIAG_MSG_MAX + 128];

    if (rc == AA_OK) {
        aa_check_pass(c, "%s", pass_actual != NULL ? pass_actual : "");
        return true;
    }
    if (d != NULL && d->msg[0] != '\0')
        aa_diag_format(d, text, sizeof(text));
    else
        aa_snprintf(text, sizeof(text), "%s", aa_conf_strerror(rc));
    if (aa_err_is_fault(rc))
        record_titled(c, AA_OUT_ERROR, NULL, NULL, NULL, text);
    else
        record_titled(c, dlg_violation(c), NULL, text, NULL, NULL);
    return false;
}

static bool judge_http(const struct aa_check *c, int rc, const struct aa_diag *d,
                       const struct aa_http_response *resp, long status, const char *error,
                       bool record_pass)
{
    struct aa_http_expect e = {0};
    struct aa_buf why, actual, exp;
    bool always = false;
    enum aa_outcome o;

    e.status = status;
    e.error = error;
    aa_buf_init(&why, LINE_MAX_TEXT);
    aa_buf_init(&actual, LINE_MAX_TEXT);
    aa_buf_init(&exp, LINE_MAX_TEXT);
    aa_buf_printf(&exp, "%ld", status);
    if (error != NULL)
        aa_buf_printf(&exp, " with error \"%s\"", error);
    o = aa_conf_http_classify(rc, d, resp, &e, &always, &why, &actual);
    switch (o) {
    case AA_OUT_PASS: {
        struct aa_obs obs = {0};
        if (!record_pass)
            break;
        obs.expected = exp.p;
        obs.actual = actual.p;
        aa_check_record(c, AA_OUT_PASS, &obs);
        break;
    }
    case AA_OUT_WARN:
        record_titled(c, AA_OUT_WARN, exp.p, actual.p, why.p, NULL);
        break;
    case AA_OUT_FAIL:
        record_titled(c, always ? AA_OUT_FAIL : dlg_violation(c), exp.p, actual.p, why.p, NULL);
        break;
    default:
        record_titled(c, AA_OUT_ERROR, exp.p, NULL, NULL,
                      why.p != NULL ? why.p : "the exchange could not be judged");
        break;
    }
    aa_buf_free(&why);
    aa_buf_free(&actual);
    aa_buf_free(&exp);
    return o == AA_OUT_PASS || o == AA_OUT_WARN;
}

bool dlg_expect_http(const struct aa_check *c, int rc, const struct aa_diag *d,
                     const struct aa_http_response *resp, long status, const char *error)
{
    return judge_http(c, rc, d, resp, status, error, true);
}

bool dlg_http_ok(const struct aa_check *c, int rc, const struct aa_diag *d,
                 const struct aa_http_response *resp, long status, const char *error)
{
    return judge_http(c, rc, d, resp, status, error, false);
}

void dlg_not_evaluated(const struct aa_check *prereq, const struct aa_check *const *checks)
{
    aa_check_not_evaluated_titled(prereq, checks);
}

bool dlg_held(const struct aa_check *c)
{
    bool rec = false;
    enum aa_outcome o = aa_check_outcome(c, &rec);

    return rec &&
           (o == AA_OUT_PASS || o == AA_OUT_PASS_QUIRK || o == AA_OUT_WARN || o == AA_OUT_INFO);
}

const struct aa_check *dlg_first_broken(const struct aa_check *const *checks)
{
    for (const struct aa_check *const *p = checks; p != NULL && *p != NULL; p++)
        if (!dlg_held(*p))
            return *p;
    return NULL;
}

/* ---- requests ------------------------------------------------------------- */

int dlg_url(struct aa_buf *out, const char *base, const char *path)
{
    aa_buf_reset(out);
    aa_buf_printf(out, "%s%s", base != NULL ? base : "", path != NULL ? path : "");
    return out->err ? AA_E_LIMIT : AA_OK;
}

/* Requests go through the runner's aa_conf_send / aa_conf_send_signed,
 * which connect to an embedded role's listen address when |rq->url| is on
 * its identifier (--public-url) and sign for the identifier's authority
 * (PROFILE#2.5 D-2). */
static int dlg_request(const struct dlg_req *rq, struct aa_http_headers *h,
                       struct aa_http_request *req, struct aa_diag *d)
{
    if (rq->content_type != NULL &&
        aa_http_headers_add(h, "Content-Type", rq->content_type) != AA_OK)
        return aa_fail(d, AA_E_NOMEM, "README#internals", "cannot build the request headers");
    req->method = rq->method;
    req->url = rq->url;
    req->headers = h;
    req->body = rq->body;
    req->body_len = rq->body_len;
    return AA_OK;
}

int dlg_send(const char *who, const struct dlg_req *rq, struct aa_http_response *resp,
             struct aa_diag *d)
{
    struct aa_http_request req = {0};
    struct aa_http_headers h;
    int rc;

    aa_http_headers_init(&h);
    if ((rc = dlg_request(rq, &h, &req, d)) == AA_OK)
        rc = aa_conf_send(who, &req, resp, d);
    aa_http_headers_cleanup(&h);
    return rc;
}

int dlg_send_signed(const char *who, const struct dlg_req *rq, const struct aa_jwk *key,
                    const struct aa_sign_cred *cred, const struct aa_sign_opts *opts,
                    struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_http_request req = {0};
    struct aa_http_headers h;
    int rc;

    aa_http_headers_init(&h);
    if ((rc = dlg_request(rq, &h, &req, d)) == AA_OK)
        rc = aa_conf_send_signed(who, &req, key, cred, opts, resp, NULL, d);
    aa_http_headers_cleanup(&h);
    return rc;
}

cJSON *dlg_json_body(const struct aa_http_response *resp)
{
    cJSON *doc = NULL;

    if (resp == NULL || resp->body == NULL || resp->body_len == 0)
        return NULL;
    if (aa_json_parse(resp->body, resp->body_len, NULL, &doc, NULL) != AA_OK)
        return NULL;
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

bool dlg_no_store(const struct aa_http_response *resp)
{
    /* Every Cache-Control field line counts (RFC9110#5.3: a list may be
     * split over lines); directives are case-insensitive tokens. */
    for (size_t i = 0; i < resp->headers.n; i++) {
        const struct aa_http_header *f = &resp->headers.v[i];
        const char *p;

        if (f->lname == NULL || strcmp(f->lname, "cache-control") != 0)
            continue;
        p = f->value;
        while (*p != '\0') {
            size_t n;
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            n = strcspn(p, ",");
            while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
            if (n == 8 && strncasecmp(p, "no-store", 8) == 0)
                return true;
            p += strcspn(p, ",");
        }
    }
    return false;
}

int dlg_challenge(const struct aa_http_response *resp, struct aa_challenge *out, struct aa_diag *d)
{
    const char *v = aa_http_headers_get(&resp->headers, "Agent-Auth");

    memset(out, 0, sizeof(*out));
    if (v == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "PROFILE#5", "no Agent-Auth header in the response");
    return aa_challenge_parse(NULL, v, strlen(v), out, d);
}

/* ---- tokens --------------------------------------------------------------- */

/* cJSON_Print indents with tabs and writes "name":<TAB>value; the seed
 * shows two-space indents and "name": value. */
static void note_json(const char *label, const cJSON *v)
{
    char *s = v != NULL ? cJSON_Print(v) : NULL;
    struct aa_buf b;
    bool line_start = true;

    if (s == NULL)
        return;
    aa_buf_init(&b, (size_t)64 * 1024);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\t' && line_start)
            aa_buf_adds(&b, "  ");
        else if (*p == '\t')
            aa_buf_addc(&b, ' ');
        else
            aa_buf_addc(&b, *p);
        line_start = *p == '\n' || (line_start && *p == '\t');
    }
    aa_conf_note("  %s: %s", label, b.err ? s : b.p);
    aa_buf_free(&b);
    free(s);
}

int dlg_token_decode(const char *label, const char *token, struct aa_jwt *out, struct aa_diag *d)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (token == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "PROFILE#4.1", "%s: no token", label);
    rc = aa_jwt_parse(token, strlen(token), out, d);
    if (rc != AA_OK) {
        aa_conf_note("  %s: not a JWS: %s", label, d != NULL ? d->msg : aa_conf_strerror(rc));
        return rc;
    }
    aa_conf_note("\nVerifying %s claims:", label);
    note_json("Token header", out->header);
    note_json("Token payload", out->claims);
    return AA_OK;
}

void dlg_token_prefix(const char *token, size_t n, char *out, size_t cap)
{
    if (token == NULL) {
        aa_snprintf(out, cap, "(none)");
        return;
    }
    if (strlen(token) <= n)
        aa_snprintf(out, cap, "%s", token);
    else
        aa_snprintf(out, cap, "%.*s...", (int)n, token);
}

void dlg_thumbprint(const struct aa_jwk *k, char out[AA_JWK_THUMBPRINT_LEN + 1])
{
    if (k == NULL || k->pkey == NULL || aa_jwk_thumbprint(k, out) != AA_OK)
        out[0] = '\0';
}

/* An exchange with the peer: transport codes that say the harness could
 * not talk to it become a fault (ERROR); a hang or a broken answer stays
 * a finding (PROFILE#9). */
static int transport_rc(int rc)
{
    switch (rc) {
    case AA_E_HTTP_TIMEOUT:
    case AA_E_HTTP_PROTOCOL:
    case AA_E_HTTP_TOO_LARGE:
        return rc;
    default:
        return AA_E_IO;
    }
}

static bool json_ctype(const struct aa_http_response *resp, bool jwk_set)
{
    const char *ct = aa_http_headers_get(&resp->headers, "Content-Type");
    size_t n;

    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (jwk_set && n == 24 && strncasecmp(ct, "application/jwk-set+json", 24) == 0);
}

int dlg_issuer_key(const char *iss, const char *well_known, const char *kid, struct aa_jwk *out,
                   struct aa_buf *jwks_url, struct aa_diag *d)
{
    struct aa_http_response mresp, jresp;
    struct aa_jwks set = {0};
    struct aa_buf url;
    cJSON *doc = NULL;
    const char *member = aa_disc_id_member(well_known), *self, *uri;
    const struct aa_jwk *k;
    int rc;

    memset(out, 0, sizeof(*out));
    aa_http_response_init(&mresp);
    aa_http_response_init(&jresp);
    aa_buf_init(&url, AA_URL_MAX_LEN + 1);
    if (member == NULL || kid == NULL) {
        rc = aa_fail(d, AA_E_INVAL, "PROFILE#3", "no well-known name or kid to resolve");
        goto out;
    }
    if ((rc = aa_http_identifier_check(iss, aa_conf_dev_mode(), NULL, d)) != AA_OK)
        goto out;
    if (aa_http_well_known_url(iss, well_known, &url) != AA_OK) {
        rc = aa_fail(d, AA_E_INVAL, "PROFILE#1", "cannot build the metadata URL of %s", iss);
        goto out;
    }
    {
        struct dlg_req rq = {"GET", url.p, NULL, NULL, 0};
        rc = dlg_send("HARNESS", &rq, &mresp, d);
    }
    if (rc != AA_OK) {
        rc = transport_rc(rc);
        goto out;
    }
    if (mresp.status != 200) {
        rc = aa_fail(d, AA_E_DISC_STATUS, "PROFILE#3", "metadata at %s: status %ld", url.p,
                     mresp.status);
        goto out;
    }
    if (!json_ctype(&mresp, false)) {
        rc = aa_fail(d, AA_E_DISC_CONTENT_TYPE, "PROFILE#3",
                     "metadata at %s: Content-Type is not application/json", url.p);
        goto out;
    }
    if ((rc = aa_json_parse(mresp.body, mresp.body_len, NULL, &doc, d)) != AA_OK ||
        !cJSON_IsObject(doc)) {
        char why[AA_DIAG_MSG_MAX];
        aa_snprintf(why, sizeof(why), "%s", rc != AA_OK ? d->msg : "not an object");
        rc = aa_fail(d, AA_E_DISC_JSON, "PROFILE#3", "metadata at %s: not one JSON object: %s",
                     url.p, why);
        goto out;
    }
    self = aa_json_str(doc, member);
    if (self == NULL || strcmp(self, iss) != 0) {
        rc = aa_fail(d, AA_E_DISC_ID_MISMATCH, "PROFILE#3",
                     "metadata at %s: \"%s\" is %s%s%s, not the identifier %s (D-13)", url.p,
                     member, self ? "\"" : "", self ? self : "absent", self ? "\"" : "", iss);
        goto out;
    }
    uri = aa_json_str(doc, "jwks_uri");
    if (uri == NULL) {
        rc = aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3", "metadata at %s: no jwks_uri", url.p);
        goto out;
    }
    if (jwks_url != NULL)
        aa_buf_adds(jwks_url, uri);
    {
        struct dlg_req rq = {"GET", uri, NULL, NULL, 0};
        aa_diag_clear(d);
        rc = dlg_send("HARNESS", &rq, &jresp, d);
    }
    if (rc != AA_OK) {
        rc = transport_rc(rc);
        goto out;
    }
    if (jresp.status != 200) {
        rc = aa_fail(d, AA_E_DISC_STATUS, "PROFILE#3", "JWKS at %s: status %ld", uri, jresp.status);
        goto out;
    }
    if (!json_ctype(&jresp, true)) {
        rc = aa_fail(d, AA_E_DISC_CONTENT_TYPE, "PROFILE#3",
                     "JWKS at %s: Content-Type is not application/json", uri);
        goto out;
    }
    if ((rc = aa_jwks_parse(jresp.body, jresp.body_len, &set, d)) != AA_OK) {
        aa_diag_prefix(d, "JWKS at %s: ", uri);
        goto out;
    }
    if ((k = aa_jwks_find(&set, kid)) == NULL) {
        rc = aa_fail(d, AA_E_JWKS_KID_UNKNOWN, "PROFILE#4.3", "JWKS at %s has no key \"%s\"", uri,
                     kid);
        goto out;
    }
    rc = aa_jwk_copy(out, k);
out:
    aa_jwks_cleanup(&set);
    cJSON_Delete(doc);
    aa_buf_free(&url);
    aa_http_response_cleanup(&mresp);
    aa_http_response_cleanup(&jresp);
    return rc;
}

bool dlg_check_typ(const struct aa_check *c, const struct aa_jwt *t, const char *want)
{
    struct aa_diag d;
    char exp[128];

    if (t->typ != NULL && strcmp(t->typ, want) == 0) {
        aa_check_pass(c, "%s", t->typ);
        return true;
    }
    aa_snprintf(exp, sizeof(exp), "typ = %s", want);
    aa_diag_clear(&d);
    if (t->typ != NULL && aa_jwt_check_typ(t, want, &d) == AA_OK) {
        dlg_warn(c, exp, t->typ,
                 "verifiers accept this spelling, but issuers emit the short form (D-28)");
        return true;
    }
    dlg_fail(c, exp, t->typ != NULL ? t->typ : "(absent)", NULL);
    return false;
}

bool dlg_check_jws(const struct aa_check *c, const struct aa_jwt *t, const char *iss,
                   const char *well_known)
{
    struct aa_jwk key = {0};
    struct aa_diag d;
    char actual[AA_JWK_KID_MAX + 64];
    int rc;

    aa_diag_clear(&d);
    if (iss == NULL || t->kid == NULL) {
        dlg_fail(c, NULL, iss == NULL ? "no iss claim" : "no kid header",
                 "the key cannot be found without them (PROFILE#4.1)");
        return false;
    }
    rc = dlg_issuer_key(iss, well_known, t->kid, &key, NULL, &d);
    if (rc == AA_OK) {
        aa_diag_clear(&d);
        rc = aa_jwt_verify(t, &key, &d);
    }
    aa_snprintf(actual, sizeof(actual), "kid %s", t->kid);
    aa_jwk_cleanup(&key);
    return dlg_expect_ok(c, rc, &d, actual);
}

int dlg_keygen(const char *kid, struct aa_jwk *out)
{
    return aa_jwk_generate(AA_KTY_OKP, kid, out);
}

/* ---- the harness's agent server -------------------------------------------- */

int dlg_agent_start(struct dlg_agent *a, struct aa_diag *d)
{
    struct aa_ref_agent_config cfg;
    uint8_t rnd[6];
    char kid[32];
    int rc;

    memset(a, 0, sizeof(*a));
    a->clock.frozen = aa_conf_clock_frozen();
    a->clock.value = aa_conf_now();
    if ((rc = aa_random(rnd, sizeof(rnd))) != AA_OK)
        return aa_fail(d, rc, "README#internals", "no random bytes for the harness agent's kid");
    aa_snprintf(kid, sizeof(kid), "harness-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
                rnd[3], rnd[4], rnd[5]);
    if ((rc = dlg_keygen(kid, &a->key)) != AA_OK)
        return aa_fail(d, rc, "README#internals", "cannot generate the harness agent's key");
    memset(&cfg, 0, sizeof(cfg));
    aa_ref_agent_defaults(&cfg);
    cfg.c.bind_addr = aa_conf_harness_host(); /* the resource fetches from it */
    cfg.c.port = 0;
    cfg.c.key = &a->key;
    cfg.c.kid = kid;
    cfg.c.clock = &a->clock;
    cfg.c.verbosity = 0;
    cfg.c.threads = 1;
    cfg.name = "aauth-conformance harness agent";
    if ((rc = aa_ref_agent_start(&cfg, &a->srv, d)) != AA_OK) {
        aa_jwk_cleanup(&a->key);
        a->srv = NULL;
        return rc;
    }
    a->id = aa_ref_id(a->srv);
    aa_conf_note("Harness agent server %s (kid %s) started for this case", a->id, kid);
    return AA_OK;
}

void dlg_agent_stop(struct dlg_agent *a)
{
    if (a->srv != NULL)
        aa_ref_stop(a->srv);
    aa_jwk_cleanup(&a->key);
    memset(a, 0, sizeof(*a));
}

uint64_t dlg_agent_metadata_hits(const struct dlg_agent *a)
{
    return aa_ref_hits(a->srv, "/.well-known/aauth-agent");
}

uint64_t dlg_agent_jwks_hits(const struct dlg_agent *a)
{
    return aa_ref_hits(a->srv, AA_REF_PATH_JWKS);
}

cJSON *dlg_json_object(const char *const *pairs)
{
    cJSON *o = cJSON_CreateObject();

    for (const char *const *p = pairs; o != NULL && p[0] != NULL; p += 2)
        if (p[1] != NULL && cJSON_AddStringToObject(o, p[0], p[1]) == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
    return o;
}

/* The body matches |want| (NULL-terminated name/value pairs) by value; the
 * resource may add members. */
void dlg_expect_body(const struct aa_check *c, const struct aa_http_response *resp,
                     const char *const *want)
{
    cJSON *doc = dlg_json_body(resp), *exp = dlg_json_object(want);
    struct aa_buf diff;

    aa_buf_init(&diff, 4096);
    if (exp == NULL)
        dlg_error(c, "cannot build the expected body");
    else if (doc == NULL)
        dlg_fail(c, NULL, "the body is not a JSON object", NULL);
    else if (aa_conf_json_equal(exp, doc, AA_JSON_CMP_SUBSET | AA_JSON_CMP_NULL_ABSENT, &diff))
        aa_check_pass(c, "%s", resp->body);
    else
        dlg_fail(c, NULL, diff.p != NULL ? diff.p : "differs", "response: %s", resp->body);
    aa_buf_free(&diff);
    cJSON_Delete(exp);
    cJSON_Delete(doc);
}
