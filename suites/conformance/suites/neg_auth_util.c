/*
 * neg_auth_util: shared machinery of the negative suites neg-auth and
 * neg-agent (PROFILE#9). See neg_auth_util.h for the contract.
 *
 * Design choice: every request the suites judge goes through na_send(),
 * which signs with aa_aauth_sign() itself instead of aa_conf_send_signed():
 * SIG-24 signs one authority/path and sends another, SIG-25 replays the
 * exact header lines, SIG-29 replaces Signature-Input after signing. The
 * signature base still lands in the transcript before the exchange.
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64/aa_b64.h"
#include "json/aa_json.h"
#include "md_common.h"
#include "neg_auth_util.h"
#include "server/aa_server.h"

#define NA_HOST_DOCS 4
#define NA_MSG_MAX 2048

/* ---- time -------------------------------------------------------------------- */

static int64_t conf_now(void *ctx)
{
    (void)ctx;
    return aa_conf_now();
}

const struct aa_clock *na_clock(void)
{
    static const struct aa_clock c = {conf_now, NULL};
    return &c;
}

/* ---- recording over the current case ----------------------------------------- */

bool na_recorded(const struct aa_check *c)
{
    bool rec = false;

    (void)aa_check_outcome(c, &rec);
    return rec;
}

static void record_rest(const struct aa_check *const *checks, bool skip, const char *fmt,
                        va_list ap)
{
    struct aa_buf msg;

    aa_buf_init(&msg, NA_MSG_MAX);
    aa_buf_vprintf(&msg, fmt, ap);
    for (size_t i = 0; checks != NULL && checks[i] != NULL; i++) {
        if (na_recorded(checks[i]))
            continue;
        if (skip)
            aa_check_skip(checks[i], "%s", msg.p != NULL ? msg.p : "(message too long)");
        else
            aa_check_error(checks[i], "%s", msg.p != NULL ? msg.p : "(message too long)");
    }
    aa_buf_free(&msg);
}

static const struct aa_check *const *case_checks(void)
{
    const struct aa_conf_case *cc = aa_conf_current_case();
    return cc != NULL ? cc->checks : NULL;
}

void na_error_rest(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record_rest(case_checks(), false, fmt, ap);
    va_end(ap);
}

void na_skip_rest(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record_rest(case_checks(), true, fmt, ap);
    va_end(ap);
}

void na_skip_list(const struct aa_check *const *checks, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record_rest(checks, true, fmt, ap);
    va_end(ap);
}

void na_error_list(const struct aa_check *const *checks, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record_rest(checks, false, fmt, ap);
    va_end(ap);
}

/* The aa_expect_http verdict, with the variant named in every result so
 * a check that sends several variants says which one broke the rule. */
static bool judge(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d,
                  const struct aa_http_response *resp, const struct aa_http_expect *e)
{
    struct aa_buf why, actual, exp, act;
    struct aa_obs obs;
    bool always = false;
    enum aa_outcome o;

    aa_buf_init(&why, NA_MSG_MAX);
    aa_buf_init(&actual, NA_MSG_MAX);
    aa_buf_init(&exp, NA_MSG_MAX);
    aa_buf_init(&act, NA_MSG_MAX);
    o = aa_conf_http_classify(rc, d, resp, e, &always, &why, &actual);
    aa_buf_printf(&exp, "%ld", e->status);
    if (e->alt_status != 0)
        aa_buf_printf(&exp, " (or %ld)", e->alt_status);
    if (e->error != NULL)
        aa_buf_printf(&exp, " %s%s%s", e->error, e->alt_error ? " or " : "",
                      e->alt_error ? e->alt_error : "");
    aa_buf_printf(&act, "%s: %s", what ? what : "request", actual.p ? actual.p : "?");
    memset(&obs, 0, sizeof(obs));
    obs.expected = exp.p;
    obs.actual = act.p;
    obs.hint = why.p;
    switch (o) {
    case AA_OUT_PASS:
        aa_check_pass(c, "%s", act.p ? act.p : "");
        break;
    case AA_OUT_WARN:
        aa_check_warn(c, exp.p, act.p, "%s", why.p ? why.p : "");
        break;
    case AA_OUT_FAIL:
        if (always)
            aa_check_record(c, AA_OUT_FAIL, &obs);
        else
            aa_check_fail(c, exp.p, act.p, "%s", why.p ? why.p : "");
        break;
    default:
        aa_check_error(c, "%s: %s", what ? what : "request", why.p ? why.p : "no response");
        break;
    }
    aa_buf_free(&why);
    aa_buf_free(&actual);
    aa_buf_free(&exp);
    aa_buf_free(&act);
    return o == AA_OUT_PASS || o == AA_OUT_WARN;
}

bool na_expect(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d,
               const struct aa_http_response *resp, long status, long alt_status, const char *error,
               const char *alt_error)
{
    struct aa_http_expect e;

    e.status = status;
    e.alt_status = alt_status;
    e.error = error;
    e.alt_error = alt_error;
    return judge(c, what, rc, d, resp, &e);
}

bool na_expect_4xx(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d,
                   const struct aa_http_response *resp)
{
    struct aa_http_expect e = {0};

    /* The classifier wants one status: the one received when it is a 4xx
     * (PROFILE#9 RB-05 accepts any), else 400 so anything else fails. */
    e.status = rc == AA_OK && resp->status >= 400 && resp->status < 500 ? resp->status : 400;
    return judge(c, what, rc, d, resp, &e);
}

/* ---- the reference client ------------------------------------------------------- */

void na_flush(struct na_client *nc)
{
    const char *t;
    size_t len = 0;

    if (nc == NULL || nc->c == NULL)
        return;
    t = aa_client_transcript(nc->c, &len);
    if (t != NULL && len > nc->tr_off) {
        size_t n = len - nc->tr_off;
        aa_conf_note("%.*s", n > (size_t)INT_MAX ? INT_MAX : (int)n, t + nc->tr_off);
        nc->tr_off = len;
    }
}

void na_expect_body_too_large(const struct aa_check *c, const char *who, const char *url,
                              const char *content_type, const struct aa_buf *body,
                              struct aa_http_response *resp)
{
    struct na_req r;
    struct aa_diag d;
    int rc;

    if (body->err != AA_OK) {
        aa_check_error(c, "out of memory");
        return;
    }
    memset(&r, 0, sizeof(r));
    r.url = url;
    r.content_type = content_type;
    r.body = body->p;
    r.body_len = body->len;
    r.flags = AA_HTTP_REQ_EXPECT_CONTINUE;
    aa_diag_clear(&d);
    na_step("RB-02 a %zu-byte body", body->len);
    rc = na_send(who, &r, resp, NULL, &d);
    na_expect(c, "RB-02 body over 1 MiB", rc, &d, resp, 413, 0, NULL, NULL);
}

void na_client_why(struct aa_buf *why, const char *what, int rc, const struct aa_diag *d)
{
    char diag[AA_DIAG_MSG_MAX + 64] = "";

    if (d != NULL && d->msg[0] != '\0')
        aa_diag_format(d, diag, sizeof(diag));
    aa_buf_printf(why, "%s: %s%s%s", what, aa_client_errstr(rc), diag[0] ? ": " : "", diag);
}

int na_delegate_new(struct na_client *out, const char *sub, const struct aa_jwk *key,
                    const char *label, struct aa_buf *why)
{
    const struct aa_conf_target *ag = aa_conf_target(AA_ROLE_AGENT_SERVER);
    struct aa_client_opts o;
    struct aa_diag d;
    int rc;

    memset(out, 0, sizeof(*out));
    aa_diag_clear(&d);
    if (!ag->present || ag->connect_url == NULL) {
        aa_buf_adds(why, "no agent server in this run to issue agent tokens");
        return AA_E_INVAL;
    }
    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_DELEGATE;
    o.agent_server = ag->connect_url;
    o.agent_id = ag->id;
    o.sub = sub;
    o.key = key;
    o.dev_mode = aa_conf_dev_mode();
    /* The agent server is not what these suites judge: its tokens are only
     * checked for what the client needs (iss, sub, cnf), not re-verified. */
    o.no_token_signature_check = true;
    o.clock = *na_clock();
    o.transcript_flags = AA_HTTP_TR_FULL;
    o.role = label != NULL ? label : "DELEGATE";
    rc = aa_client_new(&o, &out->c, &d);
    if (rc != AA_OK) {
        na_client_why(why, "cannot create the delegate client", rc, &d);
        return rc;
    }
    aa_diag_clear(&d);
    rc = aa_client_agent_token_obtain(out->c, &d);
    na_flush(out);
    if (rc != AA_OK)
        na_client_why(why, "agent token from the agent server", rc, &d);
    return rc;
}

void na_client_free(struct na_client *nc)
{
    if (nc == NULL)
        return;
    na_flush(nc);
    aa_client_free(nc->c);
    memset(nc, 0, sizeof(*nc));
}

/* ---- the auth server ---------------------------------------------------------------- */

int na_as_init(struct na_as *as, const struct aa_conf_target *t, struct aa_buf *why)
{
    struct aa_http_response resp;
    struct aa_buf url;
    struct aa_diag d;
    const char *te, *ae;
    int rc;

    memset(as, 0, sizeof(*as));
    as->t = t != NULL ? t : aa_conf_target(AA_ROLE_AUTH_SERVER);
    aa_http_response_init(&resp);
    aa_buf_init(&url, 8192);
    aa_diag_clear(&d);
    if (!as->t->present || as->t->connect_url == NULL) {
        aa_buf_printf(why, "no auth server in this run%s%s", as->t->unavailable ? ": " : "",
                      as->t->unavailable ? as->t->unavailable : "");
        rc = AA_E_INVAL;
        goto out;
    }
    if ((rc = aa_http_well_known_url(as->t->connect_url, "aauth-issuer", &url)) != AA_OK) {
        aa_buf_printf(why, "cannot build the issuer metadata URL from %s", as->t->connect_url);
        goto out;
    }
    rc = aa_conf_get("HARNESS", url.p, &resp, &d);
    if (rc != AA_OK) {
        na_client_why(why, "GET the issuer metadata", rc, &d);
        goto out;
    }
    aa_diag_clear(&d);
    if (resp.status != 200 ||
        (rc = aa_json_parse(resp.body, resp.body_len, NULL, &as->meta, &d)) != AA_OK) {
        aa_buf_printf(why, "issuer metadata %s: status %ld%s%s", url.p, resp.status,
                      d.msg[0] ? ", " : "", d.msg);
        rc = rc != AA_OK ? rc : AA_E_NOTFOUND;
        goto out;
    }
    te = aa_json_str(as->meta, "agent_token_endpoint");
    ae = aa_json_str(as->meta, "agent_auth_endpoint");
    if (te == NULL) {
        aa_buf_printf(why, "issuer metadata %s has no agent_token_endpoint", url.p);
        rc = AA_E_NOTFOUND;
        goto out;
    }
    as->token_url = aa_strdup(te);
    as->auth_url = ae != NULL ? aa_strdup(ae) : NULL;
    rc = as->token_url != NULL && (ae == NULL || as->auth_url != NULL) ? AA_OK : AA_E_NOMEM;
out:
    if (rc != AA_OK) {
        const struct aa_conf_target *t0 = as->t;
        na_as_cleanup(as);
        as->t = t0;
    }
    aa_buf_free(&url);
    aa_http_response_cleanup(&resp);
    return rc;
}

void na_as_cleanup(struct na_as *as)
{
    free(as->token_url);
    free(as->auth_url);
    cJSON_Delete(as->meta);
    memset(as, 0, sizeof(*as));
}

char *na_redirect_uri(void)
{
    const struct aa_conf_target *ag = aa_conf_target(AA_ROLE_AGENT_SERVER);
    struct aa_buf b;

    aa_buf_init(&b, 8192);
    aa_buf_printf(&b, "%s/callback", ag->id != NULL ? ag->id : "");
    return aa_buf_detach(&b, NULL);
}

int na_resource_token(struct na_client *nc, char **rt, struct aa_buf *why)
{
    const struct aa_conf_target *rs = aa_conf_target(AA_ROLE_RESOURCE);
    struct aa_client_resource_token out;
    struct aa_diag d;
    int rc;

    *rt = NULL;
    memset(&out, 0, sizeof(out));
    aa_diag_clear(&d);
    if (!rs->present || rs->id == NULL) {
        aa_buf_adds(why, "no resource in this run to issue resource tokens");
        return AA_E_INVAL;
    }
    rc = aa_client_resource_token_request(nc->c, rs->id, "data.read", NULL, &out, &d);
    na_flush(nc);
    if (rc == AA_OK && (*rt = aa_strdup(out.resource_token)) == NULL)
        rc = AA_E_NOMEM;
    if (rc != AA_OK)
        na_client_why(why, "resource token from the resource", rc, &d);
    aa_client_resource_token_cleanup(&out);
    return rc;
}

/* ---- one request -------------------------------------------------------------------- */

static int copy_header(struct aa_http_headers *dst, const struct aa_http_header *h)
{
    return h->raw ? aa_http_headers_add_line(dst, h->name)
                  : aa_http_headers_addn(dst, h->name, h->value, h->value_len);
}

/* |tmpl| with "%CREATED%" replaced by |created|. */
static char *expand_created(const char *tmpl, int64_t created)
{
    const char *p = strstr(tmpl, "%CREATED%");
    struct aa_buf b;

    aa_buf_init(&b, 64 * 1024);
    if (p == NULL) {
        aa_buf_adds(&b, tmpl);
    } else {
        aa_buf_add(&b, tmpl, (size_t)(p - tmpl));
        aa_buf_printf(&b, "%lld%s", (long long)created, p + strlen("%CREATED%"));
    }
    return aa_buf_detach(&b, NULL);
}

int na_send(const char *who, const struct na_req *r, struct aa_http_response *resp,
            struct aa_http_headers *keep, struct aa_diag *d)
{
    struct aa_http_headers h, all;
    struct aa_http_request req;
    struct aa_sign_request sr;
    struct aa_sign_opts o;
    struct aa_signed sg;
    struct aa_url u;
    struct aa_buf tgt;
    char auth[AA_URL_AUTHORITY_MAX], canon[AA_URL_AUTHORITY_MAX] = "";
    char *input = NULL;
    int rc = AA_OK;

    memset(&sg, 0, sizeof(sg));
    aa_http_headers_init(&h);
    aa_http_headers_init(&all);
    aa_buf_init(&tgt, AA_URL_MAX_LEN);
    if (r->body_len > 0 && r->content_type != NULL)
        rc = aa_http_headers_add(&h, "Content-Type", r->content_type);
    for (size_t i = 0; rc == AA_OK && r->headers != NULL && r->headers[i] != NULL; i += 2)
        rc = aa_http_headers_add(&h, r->headers[i], r->headers[i + 1] ? r->headers[i + 1] : "");
    if (rc != AA_OK) {
        rc = aa_fail(d, rc, "README#internals", "cannot assemble the request headers");
        goto out;
    }
    if (r->key != NULL && !r->nosign) {
        memset(&sr, 0, sizeof(sr));
        memset(&o, 0, sizeof(o));
        if (r->opts != NULL)
            o = *r->opts;
        if (o.clock == NULL)
            o.clock = na_clock();
        sr.method = r->sign_method ? r->sign_method : (r->method ? r->method : "POST");
        sr.url = r->url;
        /* the receiver's canonical authority is its identifier's (D-2),
         * also when the harness connects elsewhere (--public-url) */
        if (aa_conf_sign_authority(r->url, canon, sizeof(canon)) == AA_OK)
            sr.authority = canon;
        if (r->sign_authority != NULL || r->sign_target != NULL) {
            /* Both parts explicit: one overridden, the other from the URL. */
            if (aa_url_parse(r->url, strlen(r->url), 0, &u, d) != AA_OK ||
                aa_url_authority(&u, auth, sizeof(auth)) != AA_OK ||
                aa_url_target(&u, &tgt) != AA_OK) {
                rc = aa_fail(d, AA_E_INVAL, "README#internals", "cannot split URL %s", r->url);
                goto out;
            }
            sr.url = NULL;
            sr.authority = r->sign_authority ? r->sign_authority : canon[0] ? canon : auth;
            sr.target = r->sign_target ? r->sign_target : tgt.p;
        }
        sr.headers = &h;
        sr.body = r->body;
        sr.body_len = r->body_len;
        /* SIG-21 tests the base64url alphabet: a signature whose encoding
         * happens to hold neither '-' nor '_' differs from standard base64
         * only by the missing padding, which receivers SHOULD tolerate
         * (PROFILE#2.1). Sign again (a fresh Nonce changes the base)
         * until the variant shows an alphabet character. */
        for (int attempt = 0;; attempt++) {
            rc = aa_aauth_sign(NULL, &sr, r->key, r->cred, &o, &sg, d);
            if (rc != AA_OK || !(o.variants & AA_SIGN_V_SIG_B64URL) || attempt >= 63 ||
                (sg.signature != NULL && strpbrk(sg.signature, "-_") != NULL))
                break;
            aa_signed_cleanup(&sg);
        }
        if (rc != AA_OK) {
            aa_conf_note("*** could not sign %s %s: %s ***", sr.method, r->url, d ? d->msg : "");
            goto out;
        }
        if (sg.base != NULL)
            aa_conf_note_block("signature base", sg.base, sg.base_len);
        if (r->after_value != NULL &&
            (input = expand_created(r->after_value, sg.created)) == NULL) {
            rc = aa_fail(d, AA_E_NOMEM, "README#internals", "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; rc == AA_OK && i < h.n; i++)
        rc = copy_header(&all, &h.v[i]);
    for (size_t i = 0; rc == AA_OK && i < sg.headers.n; i++) {
        const struct aa_http_header *x = &sg.headers.v[i];
        if (input != NULL && !x->raw && r->after_name != NULL &&
            strcasecmp(x->name, r->after_name) == 0) {
            rc = aa_http_headers_add(&all, x->name, input);
            free(input);
            input = NULL;
        } else {
            rc = copy_header(&all, x);
        }
    }
    for (size_t i = 0; rc == AA_OK && keep != NULL && i < all.n; i++)
        rc = copy_header(keep, &all.v[i]);
    if (rc != AA_OK) {
        rc = aa_fail(d, rc, "README#internals", "cannot assemble the signed request headers");
        goto out;
    }
    memset(&req, 0, sizeof(req));
    req.method = r->method ? r->method : "POST";
    req.url = r->url;
    req.target = r->target;
    req.headers = &all;
    req.body = r->body;
    req.body_len = r->body_len;
    req.flags = r->flags | (r->target != NULL ? AA_HTTP_REQ_RAW : 0);
    rc = aa_conf_send(who, &req, resp, d);
out:
    free(input);
    aa_buf_free(&tgt);
    aa_signed_cleanup(&sg);
    aa_http_headers_cleanup(&all);
    aa_http_headers_cleanup(&h);
    return rc;
}

struct aa_sign_cred na_cred_jwt(const char *token)
{
    struct aa_sign_cred c;

    memset(&c, 0, sizeof(c));
    c.scheme = AA_SIGKEY_JWT;
    c.token = token;
    return c;
}

struct aa_sign_cred na_cred_raw(const char *raw)
{
    struct aa_sign_cred c;

    memset(&c, 0, sizeof(c));
    c.scheme = AA_SIGKEY_HWK;
    c.raw_signature_key = raw;
    return c;
}

char *na_hwk_value(const struct aa_jwk *k)
{
    struct aa_buf x, b;
    char *out;

    aa_buf_init(&x, 1024);
    aa_buf_init(&b, 2048);
    if (aa_jwk_public_member(k, "x", &x) != AA_OK) {
        aa_buf_free(&x);
        return NULL;
    }
    aa_buf_printf(&b, "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"%s\")", x.p);
    out = aa_buf_detach(&b, NULL);
    aa_buf_free(&x);
    return out;
}

/* ---- hosted identities ----------------------------------------------------------------- */

struct na_doc {
    char *path;
    char *body;
};

struct na_host {
    struct aa_server *srv;
    pthread_mutex_t mu;
    struct na_doc docs[NA_HOST_DOCS];
    size_t n;
};

static void host_handler(void *ctx, const struct aa_server_request *req,
                         struct aa_server_response *resp)
{
    struct na_host *h = ctx;
    bool found = false;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        (void)aa_server_response_method_not_allowed(resp, req, "GET");
        return;
    }
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->n && !found; i++) {
        if (aa_server_request_path_is(req, h->docs[i].path)) {
            found = true;
            /* Kept by no one beyond this case (RFC9111#5.2.2.5): another
             * case may get the same port with other keys. */
            if (aa_server_response_json(resp, 200, h->docs[i].body) != AA_OK ||
                aa_server_response_header(resp, "Cache-Control", "no-store") != AA_OK)
                resp->status = 0;
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (!found)
        (void)aa_server_response_not_found(resp, req);
}

static int host_put(struct na_host *h, const char *path, const char *body)
{
    int rc = AA_OK;

    pthread_mutex_lock(&h->mu);
    if (h->n >= NA_HOST_DOCS) {
        rc = AA_E_LIMIT;
    } else {
        h->docs[h->n].path = aa_strdup(path);
        h->docs[h->n].body = aa_strdup(body);
        if (h->docs[h->n].path == NULL || h->docs[h->n].body == NULL)
            rc = AA_E_NOMEM;
        h->n++;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

static void host_stop(struct na_host *h)
{
    if (h == NULL)
        return;
    aa_server_stop(h->srv);
    for (size_t i = 0; i < h->n; i++) {
        free(h->docs[i].path);
        free(h->docs[i].body);
    }
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static int host_start(struct na_host **out, struct aa_diag *d)
{
    struct aa_server_opts o;
    struct na_host *h = calloc(1, sizeof(*h));
    int rc;

    *out = NULL;
    if (h == NULL)
        return aa_fail(d, AA_E_NOMEM, "README#internals", "out of memory");
    pthread_mutex_init(&h->mu, NULL);
    memset(&o, 0, sizeof(o));
    o.bind_addr = aa_conf_harness_host(); /* the auth server under test fetches from it */
    o.threads = 1;
    o.handler = host_handler;
    o.ctx = h;
    if ((rc = aa_server_start(&o, &h->srv, d)) != AA_OK) {
        host_stop(h);
        return rc;
    }
    *out = h;
    return AA_OK;
}

bool na_hosting_usable(const struct aa_conf_target *t, struct aa_buf *why)
{
    struct aa_diag rd;

    aa_diag_clear(&rd);
    if (!aa_conf_harness_reachable(t, &rd)) {
        aa_buf_adds(why, rd.msg);
        return false;
    }
    if (t->embedded)
        return true;
    if (t->under_test && aa_conf_dev_mode() && t->id != NULL && strncmp(t->id, "http://", 7) == 0)
        return true;
    aa_buf_printf(why,
                  "needs an identity hosted by the harness (its private key is the harness's) "
                  "on a loopback http identifier, which %s (%s) may only accept in dev mode "
                  "(PROFILE#1 D-1); run the target on loopback http to evaluate it",
                  aa_role_name(t->role), t->id != NULL ? t->id : "not present");
    return false;
}

bool na_role_key(enum aa_role role, struct aa_jwk *out, struct aa_buf *why)
{
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    memset(out, 0, sizeof(*out));
    rc = aa_conf_role_key(role, out, &d);
    if (rc == AA_OK)
        return true;
    if (rc == AA_E_NOTFOUND)
        aa_buf_printf(why,
                      "needs tokens signed with the %s's key, which the harness holds only for "
                      "an embedded %s (this one is %s)",
                      aa_role_name(role), aa_role_name(role),
                      aa_conf_target(role)->under_test ? "the target" : "not in the run");
    else
        na_client_why(why, "the runner could not give the embedded key", rc, &d);
    return false;
}

static int add_url_member(cJSON *o, const char *name, const char *origin, const char *path)
{
    struct aa_buf b;
    int rc;

    aa_buf_init(&b, 8192);
    aa_buf_printf(&b, "%s%s", origin, path);
    rc = b.p != NULL && cJSON_AddStringToObject(o, name, b.p) != NULL ? AA_OK : AA_E_NOMEM;
    aa_buf_free(&b);
    return rc;
}

static cJSON *ident_metadata(const char *kind, const char *origin, const char *claimed)
{
    cJSON *m = cJSON_CreateObject(), *arr;
    const char *idm = strcmp(kind, "aauth-agent") == 0      ? "agent"
                      : strcmp(kind, "aauth-resource") == 0 ? "resource"
                                                            : "issuer";
    bool ok;

    if (m == NULL)
        return NULL;
    ok = cJSON_AddStringToObject(m, idm, claimed ? claimed : origin) != NULL &&
         add_url_member(m, "jwks_uri", origin, "/jwks.json") == AA_OK;
    if (ok && strcmp(idm, "agent") == 0) {
        struct aa_buf cb;
        aa_buf_init(&cb, 8192);
        aa_buf_printf(&cb, "%s/callback", origin);
        ok = cb.p != NULL && (arr = cJSON_AddArrayToObject(m, "redirect_uris")) != NULL &&
             cJSON_AddItemToArray(arr, cJSON_CreateString(cb.p)) &&
             cJSON_AddStringToObject(m, "name", "aauth-conformance hosted agent") != NULL;
        aa_buf_free(&cb);
    } else if (ok && strcmp(idm, "resource") == 0) {
        ok = add_url_member(m, "resource_token_endpoint", origin, "/resource/token") == AA_OK;
    } else if (ok) {
        ok = add_url_member(m, "agent_token_endpoint", origin, "/agent/token") == AA_OK &&
             add_url_member(m, "agent_auth_endpoint", origin, "/agent/auth") == AA_OK &&
             (arr = cJSON_AddArrayToObject(m, "agent_signing_algs_supported")) != NULL &&
             cJSON_AddItemToArray(arr, cJSON_CreateString("ed25519")) &&
             (arr = cJSON_AddArrayToObject(m, "request_types_supported")) != NULL &&
             cJSON_AddItemToArray(arr, cJSON_CreateString("auth"));
    }
    if (!ok) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

int na_ident_start(struct na_ident *out, const char *kind, const char *claimed_id,
                   struct aa_buf *why)
{
    struct aa_buf jwks, md, path, kid;
    struct aa_diag d;
    cJSON *m = NULL;
    char *rnd = na_random_b64(6);
    int rc;

    memset(out, 0, sizeof(*out));
    aa_diag_clear(&d);
    aa_buf_init(&jwks, 8192);
    aa_buf_init(&md, 64 * 1024);
    aa_buf_init(&path, 512);
    aa_buf_init(&kid, 128);
    /* A kid no earlier case used, so a peer's cache never mixes keys. */
    aa_buf_printf(&kid, "harness-%s", rnd != NULL ? rnd : "key");
    if ((rc = aa_jwk_generate(AA_KTY_OKP, kid.p, &out->key)) != AA_OK) {
        aa_buf_adds(why, "cannot generate an Ed25519 key");
        goto out;
    }
    if ((rc = host_start(&out->host, &d)) != AA_OK) {
        na_client_why(why, "cannot start a hosted identity on the harness host", rc, &d);
        goto out;
    }
    rc = AA_E_NOMEM;
    if ((out->id = aa_strdup(aa_server_origin(out->host->srv))) == NULL ||
        (m = ident_metadata(kind, out->id, claimed_id)) == NULL || aa_json_print(m, &md) != AA_OK)
        goto fail_mem;
    aa_buf_adds(&jwks, "{\"keys\":[");
    if (aa_jwk_to_json(&out->key, false, &jwks) != AA_OK)
        goto fail_mem;
    aa_buf_adds(&jwks, "]}");
    aa_buf_printf(&path, "/.well-known/%s", kind);
    if (jwks.err != AA_OK || path.err != AA_OK || (out->metadata = aa_strdup(md.p)) == NULL ||
        host_put(out->host, path.p, md.p) != AA_OK ||
        host_put(out->host, "/jwks.json", jwks.p) != AA_OK)
        goto fail_mem;
    aa_conf_note("harness-hosted %s identity %s (key %s, held by the harness)\n"
                 "  GET %s -> %s\n  GET /jwks.json -> %s",
                 kind, out->id, out->key.kid, path.p, md.p, jwks.p);
    rc = AA_OK;
    goto out;
fail_mem:
    aa_buf_adds(why, "out of memory while hosting an identity");
out:
    cJSON_Delete(m);
    free(rnd);
    aa_buf_free(&jwks);
    aa_buf_free(&md);
    aa_buf_free(&path);
    aa_buf_free(&kid);
    return rc;
}

void na_ident_stop(struct na_ident *id)
{
    if (id == NULL)
        return;
    host_stop(id->host);
    aa_jwk_cleanup(&id->key);
    free(id->id);
    free(id->metadata);
    memset(id, 0, sizeof(*id));
}

/* ---- tokens ---------------------------------------------------------------------------- */

cJSON *na_jwt_header(const char *typ, const char *kid)
{
    cJSON *h = cJSON_CreateObject();

    if (h == NULL || (typ != NULL && cJSON_AddStringToObject(h, "typ", typ) == NULL) ||
        (kid != NULL && cJSON_AddStringToObject(h, "kid", kid) == NULL)) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

char *na_jwt(const cJSON *header, const cJSON *claims, const struct aa_jwk *key,
             const struct aa_jwt_build_opts *opts)
{
    char *out = NULL;

    if (header == NULL || claims == NULL)
        return NULL;
    if (aa_jwt_sign(header, claims, AA_ALG_ED25519, key, opts, &out) != AA_OK)
        return NULL;
    return out;
}

cJSON *na_jwk_json(const struct aa_jwk *k, bool priv)
{
    return aa_jwk_to_cjson(k, priv);
}

cJSON *na_agent_claims(const char *agent, const char *sub, const struct aa_jwk *cnf)
{
    cJSON *c = cJSON_CreateObject(), *cn = cJSON_CreateObject(), *jwk = na_jwk_json(cnf, false);
    int64_t now = aa_conf_now();
    bool ok = c != NULL && cn != NULL && jwk != NULL;

    if (ok && !cJSON_AddItemToObject(cn, "jwk", jwk))
        ok = false;
    else if (ok)
        jwk = NULL; /* owned by cn now */
    ok = ok && cJSON_AddStringToObject(c, "iss", agent) != NULL &&
         cJSON_AddStringToObject(c, "sub", sub) != NULL &&
         cJSON_AddNumberToObject(c, "exp", (double)(now + 3600)) != NULL &&
         cJSON_AddNumberToObject(c, "iat", (double)now) != NULL;
    if (ok && cJSON_AddItemToObject(c, "cnf", cn))
        return c;
    cJSON_Delete(jwk);
    cJSON_Delete(cn);
    cJSON_Delete(c);
    return NULL;
}

cJSON *na_resource_claims(const char *iss, const char *aud, const char *agent,
                          const char *agent_jkt, const char *scope)
{
    cJSON *c = cJSON_CreateObject();
    int64_t now = aa_conf_now();

    if (c == NULL || cJSON_AddStringToObject(c, "iss", iss) == NULL ||
        cJSON_AddStringToObject(c, "aud", aud) == NULL ||
        cJSON_AddStringToObject(c, "agent", agent) == NULL ||
        cJSON_AddStringToObject(c, "agent_jkt", agent_jkt) == NULL ||
        cJSON_AddNumberToObject(c, "exp", (double)(now + 300)) == NULL ||
        cJSON_AddNumberToObject(c, "iat", (double)now) == NULL ||
        (scope != NULL && cJSON_AddStringToObject(c, "scope", scope) == NULL)) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

/* ---- small helpers ----------------------------------------------------------------------- */

bool na_metadata_get(const struct aa_conf_target *t, const char *name, const char *what,
                     const struct aa_check *doc, struct aa_http_response *resp, cJSON **out)
{
    const char *base = t->connect_url ? t->connect_url : "";
    struct aa_buf url;
    struct aa_diag d;
    bool ok = false;
    int rc;

    *out = NULL;
    aa_buf_init(&url, 8192);
    aa_diag_clear(&d);
    if (aa_http_well_known_url(base, name, &url) != AA_OK) {
        na_error_rest("cannot build the metadata URL from %s",
                      t->connect_url ? t->connect_url : "(none)");
        goto out;
    }
    rc = aa_conf_get("HARNESS", url.p, resp, &d);
    if (!na_expect(doc, what, rc, &d, resp, 200, 0, NULL, NULL)) {
        aa_check_not_evaluated(doc, aa_conf_current_case()->checks);
        goto out;
    }
    if (!md_resp_media_type_is(resp, "application/json")) {
        const char *ct = aa_http_headers_get(&resp->headers, "Content-Type");
        aa_check_fail(doc, doc->expect, ct ? ct : "no Content-Type", "Content-Type");
    }
    aa_diag_clear(&d);
    if (!aa_expect_ok(doc, aa_json_parse(resp->body, resp->body_len, NULL, out, &d), &d)) {
        aa_check_not_evaluated(doc, aa_conf_current_case()->checks);
        goto out;
    }
    ok = true;
out:
    aa_buf_free(&url);
    return ok;
}

char *na_random_b64(size_t nbytes)
{
    uint8_t raw[64];
    struct aa_buf b;

    if (nbytes > sizeof(raw) || aa_random(raw, nbytes) != AA_OK)
        return NULL;
    aa_buf_init(&b, 256);
    aa_b64_encode_buf(raw, nbytes, AA_B64_URL, false, &b);
    return aa_buf_detach(&b, NULL);
}

char *na_url_with_query(const char *url, const char *q)
{
    struct aa_buf b;

    aa_buf_init(&b, AA_URL_MAX_LEN + 16 * 1024);
    aa_buf_printf(&b, "%s%c%s", url, strchr(url, '?') ? '&' : '?', q);
    return aa_buf_detach(&b, NULL);
}

/* ---- the standard scene -------------------------------------------------------------------- */

void na_step(const char *fmt, ...)
{
    struct aa_buf b;
    va_list ap;

    aa_buf_init(&b, NA_MSG_MAX);
    va_start(ap, fmt);
    aa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    aa_conf_note("\n##### %s #####", b.p != NULL ? b.p : "(step)");
    aa_buf_free(&b);
}

char *na_form(const char *const *pairs)
{
    struct aa_buf b;
    char *out;
    int err;

    aa_buf_init(&b, AA_FORM_MAX_LEN);
    for (size_t i = 0; pairs[i] != NULL; i += 2)
        if (pairs[i + 1] != NULL)
            aa_form_add(&b, pairs[i], pairs[i + 1]);
    err = b.err;
    out = aa_buf_detach(&b, NULL);
    if (out == NULL && err == AA_OK)
        out = aa_strdup(""); /* no pair at all: an empty body */
    return out;
}

bool na_env_init(struct na_env *e, unsigned flags)
{
    struct aa_buf why;
    bool ok = false;

    memset(e, 0, sizeof(*e));
    aa_buf_init(&why, NA_MSG_MAX);
    if (na_as_init(&e->as, NULL, &why) != AA_OK)
        goto out;
    if (na_delegate_new(&e->dg, NULL, NULL, NULL, &why) != AA_OK)
        goto out;
    if ((e->ru = na_redirect_uri()) == NULL) {
        aa_buf_adds(&why, "out of memory");
        goto out;
    }
    if ((flags & NA_ENV_RT) && na_resource_token(&e->dg, &e->rt, &why) != AA_OK)
        goto out;
    {
        const char *const pairs[] = {
            "request_type", "auth", "resource_token", e->rt, "redirect_uri", e->ru, NULL};
        if ((e->body = na_form(pairs)) == NULL) {
            aa_buf_adds(&why, "out of memory");
            goto out;
        }
        e->body_len = strlen(e->body);
    }
    ok = true;
out:
    if (!ok)
        na_error_rest("setup: %s", why.p != NULL ? why.p : "failed");
    aa_buf_free(&why);
    return ok;
}

void na_env_cleanup(struct na_env *e)
{
    na_client_free(&e->dg);
    na_as_cleanup(&e->as);
    free(e->ru);
    free(e->rt);
    free(e->body);
    memset(e, 0, sizeof(*e));
}

int na_env_post(struct na_env *e, const char *label, const char *body,
                const struct aa_sign_opts *opts, struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_sign_cred cred = na_cred_jwt(aa_client_agent_token(e->dg.c));
    struct na_req r;

    memset(&r, 0, sizeof(r));
    na_flush(&e->dg);
    if (label != NULL)
        na_step("%s", label);
    r.url = e->as.token_url;
    r.content_type = NA_FORM_CT;
    r.body = body;
    r.body_len = strlen(body);
    r.key = aa_client_key(e->dg.c);
    r.cred = &cred;
    r.opts = opts;
    return na_send("DELEGATE", &r, resp, NULL, d);
}

bool na_env_check(struct na_env *e, const struct aa_check *c, const char *what, struct na_req *r,
                  long status, long alt_status, const char *error, const char *alt_error,
                  struct aa_http_response *out)
{
    struct aa_sign_cred cred;
    struct aa_http_response own, *resp = out != NULL ? out : &own;
    struct aa_diag d;
    bool ok;
    int rc;

    aa_http_response_init(&own);
    aa_diag_clear(&d);
    na_flush(&e->dg);
    na_step("%s", what);
    if (r->url == NULL)
        r->url = e->as.token_url;
    if (r->body == NULL) {
        r->content_type = NA_FORM_CT;
        r->body = e->body;
        r->body_len = e->body_len;
    } else if (r->body_len == 0) {
        r->body_len = strlen(r->body);
        if (r->content_type == NULL)
            r->content_type = NA_FORM_CT;
    }
    if (r->cred == NULL && r->key == NULL) {
        cred = na_cred_jwt(aa_client_agent_token(e->dg.c));
        r->cred = &cred;
        r->key = aa_client_key(e->dg.c);
    } else if (r->key == NULL) {
        r->key = aa_client_key(e->dg.c);
    }
    rc = na_send("DELEGATE", r, resp, NULL, &d);
    if (rc != AA_OK && !aa_http_err_is_transport(rc)) {
        aa_check_fault(c, what, rc, &d);
        ok = false;
    } else if (status == 0) {
        ok = na_expect_4xx(c, what, rc, &d, resp);
    } else {
        ok = na_expect(c, what, rc, &d, resp, status, alt_status, error, alt_error);
    }
    aa_http_response_cleanup(&own);
    return ok;
}

char *na_json_member(const struct aa_http_response *resp, const char *name)
{
    cJSON *doc = NULL;
    char *v = NULL;

    if (resp->body_len > 0 &&
        aa_json_parse(resp->body, resp->body_len, NULL, &doc, NULL) == AA_OK &&
        aa_json_str(doc, name) != NULL)
        v = aa_strdup(aa_json_str(doc, name));
    cJSON_Delete(doc);
    return v;
}

bool na_env_grant(struct na_env *e, char **at, char **rt, struct aa_buf *why)
{
    struct aa_client_consent_result cr;
    struct aa_http_response resp;
    struct aa_diag d;
    char *rq = NULL, *body = NULL;
    bool ok = false;
    int rc;

    *at = NULL;
    if (rt != NULL)
        *rt = NULL;
    memset(&cr, 0, sizeof(cr));
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    rc = na_env_post(e, "setup: a grant (request_type=auth)", e->body, NULL, &resp, &d);
    if (rc == AA_OK && resp.status == 200 &&
        (rq = na_json_member(&resp, "request_token")) != NULL) {
        /* PROFILE#6.4: the AS wants the user; the scripted one consents. */
        rc = aa_client_consent(e->dg.c, e->as.t->id, rq, e->ru, NULL, &cr, &d);
        na_flush(&e->dg);
        if (rc != AA_OK || cr.code == NULL) {
            na_client_why(why, "setup: scripted consent", rc != AA_OK ? rc : AA_E_CLIENT_CONSENT,
                          &d);
            goto out;
        }
        {
            const char *const pairs[] = {"request_type", "code", "code", cr.code,
                                         "redirect_uri", e->ru,  NULL};
            body = na_form(pairs);
        }
        aa_http_response_cleanup(&resp);
        aa_http_response_init(&resp);
        aa_diag_clear(&d);
        rc = body != NULL ? na_env_post(e, "setup: redeem the code", body, NULL, &resp, &d)
                          : AA_E_NOMEM;
    }
    if (rc != AA_OK || resp.status != 200 || (*at = na_json_member(&resp, "auth_token")) == NULL) {
        aa_buf_printf(why, "setup: the AS answered %ld without an auth_token%s%s", resp.status,
                      rc != AA_OK ? ": " : "", rc != AA_OK ? d.msg : "");
        goto out;
    }
    if (rt != NULL)
        *rt = na_json_member(&resp, "refresh_token");
    ok = true;
out:
    free(rq);
    free(body);
    aa_client_consent_result_cleanup(&cr);
    aa_http_response_cleanup(&resp);
    return ok;
}
