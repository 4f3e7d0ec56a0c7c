/*
 * The reference auth server (reference/lib/ref_auth*.c) against PROFILE#3,
 * #4.2, #6.3-#6.8 and the AS rows of the PROFILE#9 catalogue (AS, RT, CD,
 * RF, EX), the consent UI of PROFILE#6.6, token exchange (PROFILE#6.5) and
 * every fault switch that concerns the AS.
 *
 * Each test starts its own servers in-process on 127.0.0.1, port 0: the
 * reference agent server (agent identity, delegate agent tokens), the
 * reference resource (resource tokens, /data-auth) and one or more auth
 * servers, all on ONE frozen clock that the test advances instead of
 * sleeping. Requests are signed with harness/aauth's signer as the agent
 * (jwks Mode 2), as a delegate (jwt with an agent token) or with hostile
 * credentials. Hostile resource and upstream auth tokens are minted here
 * with the servers' own keys (aa_ref_key), so one claim at a time can be
 * wrong. Every negative case sits beside a positive control.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "aa_ref.h"
#include "aauth/aa_aauth.h"
#include "http/aa_http.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "server/aa_server.h"

#include "helpers/aa_test_util.h"

#define FORM_CT "application/x-www-form-urlencoded"
#define DELEGATE_SUB "delegate-1"

/* ---- environment ---------------------------------------------------------------------- */

struct env {
    struct aa_ref_clock clock;
    struct aa_ref_server *ag, *r, *as;
    struct aa_http_client *http;
    struct aa_jwk dkey; /* delegate key (kid delegate-key-1) */
    char *dtoken;       /* its agent token, sub delegate-1 */
    char ag_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char d_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char callback[256]; /* {AG}/callback, the registered redirect_uri */
    struct aa_ref_server *extra[8];
    size_t n_extra;
    struct aa_server *fake; /* in-test resource with a lying metadata document */
    char *fake_meta;
};

static struct env E;

struct as_opts {
    bool consent;
    unsigned faults;
    const char *const *trusted;
    size_t n_trusted;
    size_t max_entries;
};

static int64_t now(void)
{
    return aa_ref_clock_now(&E.clock);
}

static struct aa_clock sign_clock(void)
{
    struct aa_clock c = {aa_test_ref_clock, &E.clock};
    return c;
}

static struct aa_ref_server *start_as(const struct as_opts *o)
{
    struct aa_ref_auth_config c;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_diag_clear(&d);
    aa_ref_auth_defaults(&c);
    c.c.clock = &E.clock;
    c.c.faults = o->faults;
    c.require_user_consent = o->consent;
    c.trusted_issuers = o->trusted;
    c.n_trusted_issuers = o->n_trusted;
    if (o->max_entries)
        c.max_entries = o->max_entries;
    cr_assert_eq(aa_ref_auth_start(&c, &s, &d), AA_OK, "auth server: %s", d.msg);
    return s;
}

static struct aa_ref_server *start_resource(const char *as_id)
{
    struct aa_ref_resource_config c;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_diag_clear(&d);
    aa_ref_resource_defaults(&c);
    c.c.clock = &E.clock;
    c.auth_server = as_id;
    cr_assert_eq(aa_ref_resource_start(&c, &s, &d), AA_OK, "resource: %s", d.msg);
    return s;
}

static struct aa_ref_server *start_agent(void)
{
    struct aa_ref_agent_config c;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_diag_clear(&d);
    aa_ref_agent_defaults(&c);
    c.c.clock = &E.clock;
    cr_assert_eq(aa_ref_agent_start(&c, &s, &d), AA_OK, "agent: %s", d.msg);
    return s;
}

static struct aa_ref_server *keep(struct aa_ref_server *s)
{
    cr_assert_lt(E.n_extra, sizeof(E.extra) / sizeof(E.extra[0]));
    E.extra[E.n_extra++] = s;
    return s;
}

/* ---- HTTP ----------------------------------------------------------------------------- */

struct reply {
    long status;
    char *body;
    cJSON *json; /* when the body is a JSON object */
    struct aa_http_headers headers;
};

static void reply_free(struct reply *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    aa_http_headers_cleanup(&r->headers);
    memset(r, 0, sizeof(*r));
}

static const char *hdr(const struct reply *r, const char *name)
{
    return aa_http_headers_get(&r->headers, name);
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jhas(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name) != NULL;
}

static int64_t jint(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsNumber(v), "member %s is not a number", name);
    return (int64_t)v->valuedouble;
}

static void send_raw(const char *method, const char *url, const struct aa_http_headers *h,
                     const char *body, struct reply *out);

/* One exchange on |client|; AA_OK or the transport error (no assertions:
 * also used from worker threads). */
static int send_on(struct aa_http_client *client, const char *method, const char *url,
                   const struct aa_http_headers *h, const char *body, struct reply *out)
{
    struct aa_http_request rq;
    struct aa_http_response rs;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.url = url;
    rq.headers = h;
    rq.body = body;
    rq.body_len = body != NULL ? strlen(body) : 0;
    aa_http_response_init(&rs);
    rc = aa_http_send(client, &rq, &rs, NULL);
    out->status = rs.status;
    out->body = aa_strndup(rs.body != NULL ? rs.body : "", rs.body_len);
    out->headers = rs.headers;
    memset(&rs.headers, 0, sizeof(rs.headers));
    aa_http_response_cleanup(&rs);
    if (out->body != NULL && out->body[0] == '{' &&
        aa_json_parse(out->body, strlen(out->body), NULL, &out->json, NULL) != AA_OK)
        out->json = NULL;
    return rc;
}

static void send_raw(const char *method, const char *url, const struct aa_http_headers *h,
                     const char *body, struct reply *out)
{
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_diag d;

    memset(out, 0, sizeof(*out));
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.url = url;
    rq.headers = h;
    rq.body = body;
    rq.body_len = body != NULL ? strlen(body) : 0;
    aa_diag_clear(&d);
    aa_http_response_init(&rs);
    cr_assert_eq(aa_http_send(E.http, &rq, &rs, &d), AA_OK, "%s %s: %s", method, url, d.msg);
    out->status = rs.status;
    out->body = aa_strndup(rs.body, rs.body_len);
    out->headers = rs.headers;
    memset(&rs.headers, 0, sizeof(rs.headers));
    aa_http_response_cleanup(&rs);
    if (out->body[0] == '{' &&
        aa_json_parse(out->body, strlen(out->body), NULL, &out->json, NULL) != AA_OK)
        out->json = NULL;
}

static char *url_of(const struct aa_ref_server *s, const char *path)
{
    size_t n = strlen(aa_ref_url(s)) + strlen(path) + 1;
    char *u = malloc(n);
    cr_assert_eq(aa_snprintf(u, n, "%s%s", aa_ref_url(s), path), AA_OK);
    return u;
}

/* "a=1&b=2" from NULL-terminated name/value pairs; a NULL value skips it. */
static char *form(const char *first, ...)
{
    struct aa_buf b;
    va_list ap;
    const char *k = first;

    aa_buf_init(&b, 1 << 20);
    va_start(ap, first);
    while (k != NULL) {
        const char *v = va_arg(ap, const char *);
        if (v != NULL)
            cr_assert_eq(aa_form_add(&b, k, v), AA_OK);
        k = va_arg(ap, const char *);
    }
    va_end(ap);
    if (b.p == NULL)
        aa_buf_adds(&b, "");
    return aa_buf_detach(&b, NULL);
}

/* What one signed request looks like. */
struct sreq {
    const char *method; /* default POST */
    const char *url;
    const char *body;  /* NULL: no body */
    const char *ctype; /* default form when there is a body */
    const struct aa_jwk *key;
    struct aa_sign_cred cred;
    struct aa_sign_opts opts;
    const char *host;  /* explicit Host header (authority-from-host) */
    const char *nonce; /* fixed nonce (replay) */
};

static void send_signed(struct sreq *r, struct reply *out)
{
    struct aa_http_headers h;
    struct aa_sign_request sr;
    struct aa_signed sg;
    struct aa_clock clk = sign_clock();
    struct aa_diag d;
    const char *method = r->method ? r->method : "POST";

    aa_http_headers_init(&h);
    if (r->body != NULL)
        cr_assert_eq(aa_http_headers_add(&h, "Content-Type", r->ctype ? r->ctype : FORM_CT), AA_OK);
    memset(&sr, 0, sizeof(sr));
    sr.method = method;
    sr.url = r->url;
    sr.headers = &h;
    sr.body = r->body;
    sr.body_len = r->body ? strlen(r->body) : 0;
    if (r->opts.clock == NULL)
        r->opts.clock = &clk;
    if (r->nonce != NULL) {
        r->opts.nonce_mode = AA_SIGN_NONCE_GIVEN;
        r->opts.nonce = r->nonce;
    }
    if (r->host != NULL) {
        sr.authority = r->host;
        cr_assert_eq(aa_http_headers_add(&h, "Host", r->host), AA_OK);
    }
    aa_diag_clear(&d);
    cr_assert_eq(aa_aauth_sign(NULL, &sr, r->key, &r->cred, &r->opts, &sg, &d), AA_OK, "sign: %s",
                 d.msg);
    for (size_t i = 0; i < sg.headers.n; i++)
        cr_assert_eq(aa_http_headers_addn(&h, sg.headers.v[i].name, sg.headers.v[i].value,
                                          sg.headers.v[i].value_len),
                     AA_OK);
    send_raw(method, r->url, &h, r->body, out);
    aa_signed_cleanup(&sg);
    aa_http_headers_cleanup(&h);
}

static struct aa_sign_cred cred_jwks(const struct aa_ref_server *who, const char *wk)
{
    struct aa_sign_cred c;
    memset(&c, 0, sizeof(c));
    c.scheme = AA_SIGKEY_JWKS;
    c.id = aa_ref_id(who);
    c.kid = aa_ref_key(who)->kid;
    c.well_known = wk;
    return c;
}

static struct aa_sign_cred cred_agent(void)
{
    return cred_jwks(E.ag, "aauth-agent");
}

static struct aa_sign_cred cred_jwt(const char *tok)
{
    struct aa_sign_cred c;
    memset(&c, 0, sizeof(c));
    c.scheme = AA_SIGKEY_JWT;
    c.token = tok;
    return c;
}

static struct aa_sign_cred cred_hwk(void)
{
    struct aa_sign_cred c;
    memset(&c, 0, sizeof(c));
    c.scheme = AA_SIGKEY_HWK;
    return c;
}

/* POST {as}/agent/token with |body|, signed by |key| under |cred|. */
static void token_req(struct aa_ref_server *as, const struct aa_jwk *key, struct aa_sign_cred cred,
                      const char *body, struct reply *out)
{
    struct sreq r;
    char *u = url_of(as, "/agent/token");

    memset(&r, 0, sizeof(r));
    r.url = u;
    r.body = body;
    r.key = key;
    r.cred = cred;
    send_signed(&r, out);
    free(u);
}

static void as_agent(const char *body, struct reply *out)
{
    token_req(E.as, aa_ref_key(E.ag), cred_agent(), body, out);
}

static void as_delegate(const char *body, struct reply *out)
{
    token_req(E.as, &E.dkey, cred_jwt(E.dtoken), body, out);
}

static void expect_error(const struct reply *r, long status, const char *code)
{
    cr_assert_eq(r->status, status, "status %ld, expected %ld: %s", r->status, status, r->body);
    cr_assert_not_null(r->json, "error body is not JSON: %s", r->body);
    cr_assert_str_eq(jstr(r->json, "error"), code, "error %s, expected %s: %s",
                     jstr(r->json, "error"), code, r->body);
    cr_assert_not_null(jstr(r->json, "error_description"));
}

/* ---- tokens --------------------------------------------------------------------------- */

/* An agent token from the agent server for a fresh key (delegate). */
static char *get_agent_token(const char *sub, struct aa_jwk *key, const char *kid)
{
    struct aa_http_headers h;
    struct reply r;
    cJSON *body = cJSON_CreateObject();
    char *text, *u = url_of(E.ag, "/delegate/token"), *tok;

    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, kid, key), AA_OK);
    cJSON_AddStringToObject(body, "sub", sub);
    cJSON_AddItemToObject(body, "cnf_jwk", aa_jwk_to_cjson(key, false));
    text = cJSON_PrintUnformatted(body);
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", "application/json"), AA_OK);
    send_raw("POST", u, &h, text, &r);
    cr_assert_eq(r.status, 200, "delegate token: %s", r.body);
    tok = aa_strdup(jstr(r.json, "agent_token"));
    reply_free(&r);
    aa_http_headers_cleanup(&h);
    cJSON_Delete(body);
    free(text);
    free(u);
    return tok;
}

/* Sign a JWT with |key|: header {kid, typ}, alg EdDSA. */
static char *sign_jwt(const struct aa_jwk *key, const char *typ, cJSON *claims,
                      const struct aa_jwt_build_opts *bo)
{
    cJSON *h = cJSON_CreateObject();
    char *out = NULL;

    cJSON_AddStringToObject(h, "kid", key->kid);
    cJSON_AddStringToObject(h, "typ", typ);
    cr_assert_eq(aa_jwt_sign(h, claims, AA_ALG_ED25519, key, bo, &out), AA_OK);
    cJSON_Delete(h);
    cJSON_Delete(claims);
    return out;
}

/* A resource token; every field may be overridden. */
struct rt_spec {
    const struct aa_ref_server *res; /* default E.r */
    const struct aa_jwk *key;        /* default the resource's key */
    const char *iss, *aud, *agent, *jkt, *typ;
    const char *scope; /* default "data.read data.write" */
    const char *arq;   /* auth_request_url */
    bool no_scope, flip_sig;
    int64_t exp_off; /* default +300 */
};

static char *mint_rt(const struct rt_spec *sp)
{
    const struct aa_ref_server *res = sp->res ? sp->res : E.r;
    cJSON *c = cJSON_CreateObject();
    struct aa_jwt_build_opts bo;

    memset(&bo, 0, sizeof(bo));
    bo.mutations = sp->flip_sig ? AA_JWT_MUT_BAD_SIG : 0;
    cJSON_AddStringToObject(c, "iss", sp->iss ? sp->iss : aa_ref_id(res));
    cJSON_AddStringToObject(c, "aud", sp->aud ? sp->aud : aa_ref_id(E.as));
    cJSON_AddStringToObject(c, "agent", sp->agent ? sp->agent : aa_ref_id(E.ag));
    cJSON_AddStringToObject(c, "agent_jkt", sp->jkt ? sp->jkt : E.ag_jkt);
    if (!sp->no_scope)
        cJSON_AddStringToObject(c, "scope", sp->scope ? sp->scope : "data.read data.write");
    if (sp->arq)
        cJSON_AddStringToObject(c, "auth_request_url", sp->arq);
    cJSON_AddNumberToObject(c, "iat", (double)now());
    cJSON_AddNumberToObject(c, "exp", (double)(now() + (sp->exp_off ? sp->exp_off : 300)));
    cJSON_AddStringToObject(c, "jti", "rt-test");
    return sign_jwt(sp->key ? sp->key : aa_ref_key(res), sp->typ ? sp->typ : "resource+jwt", c,
                    &bo);
}

/* Parse |tok|, verify it with |signer|'s key, return header and claims. */
static cJSON *open_jwt(const char *tok, const struct aa_ref_server *signer, cJSON **header)
{
    struct aa_jwt j;
    struct aa_diag d;
    cJSON *c;

    aa_diag_clear(&d);
    cr_assert_not_null(tok);
    cr_assert_eq(aa_jwt_parse(tok, strlen(tok), &j, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(aa_jwt_verify(&j, aa_ref_key(signer), &d), AA_OK, "JWS: %s", d.msg);
    c = cJSON_Duplicate(j.claims, 1);
    if (header != NULL)
        *header = cJSON_Duplicate(j.header, 1);
    aa_jwt_cleanup(&j);
    return c;
}

static void cnf_jkt(const cJSON *claims, char out[AA_JWK_THUMBPRINT_LEN + 1])
{
    const cJSON *jwk =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(claims, "cnf"), "jwk");
    struct aa_jwk k;

    cr_assert_not_null(jwk, "cnf.jwk missing");
    cr_assert_eq(aa_jwk_from_cjson(jwk, AA_JWK_PUBLIC_ONLY, &k, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&k, out), AA_OK);
    aa_jwk_cleanup(&k);
}

/* ---- fake resource with a lying metadata document (RT-08) ----------------------------- */

static void fake_handler(void *ctx, const struct aa_server_request *req,
                         struct aa_server_response *resp)
{
    (void)ctx;
    if (aa_server_request_path_is(req, "/.well-known/aauth-resource"))
        (void)aa_server_response_json(resp, 200, E.fake_meta);
    else if (aa_server_request_path_is(req, "/jwks.json"))
        (void)aa_server_response_json(resp, 200, "{\"keys\":[]}");
    else
        (void)aa_server_response_not_found(resp, req);
}

/* A resource at its own origin whose metadata names |claimed| as resource
 * but serves |key_of|'s JWKS. Returns the origin. */
static const char *start_fake(const char *claimed)
{
    struct aa_server_opts o;
    struct aa_diag d;
    const char *origin;
    struct aa_buf b;

    memset(&o, 0, sizeof(o));
    o.handler = fake_handler;
    aa_diag_clear(&d);
    cr_assert_eq(aa_server_start(&o, &E.fake, &d), AA_OK, "%s", d.msg);
    origin = aa_server_origin(E.fake);
    aa_buf_init(&b, 4096);
    aa_buf_printf(&b,
                  "{\"resource\":\"%s\",\"jwks_uri\":\"%s/jwks.json\","
                  "\"resource_token_endpoint\":\"%s/resource/token\"}",
                  claimed, origin, origin);
    E.fake_meta = aa_buf_detach(&b, NULL);
    return origin;
}

/* ---- fixture -------------------------------------------------------------------------- */

static void env_up(const struct as_opts *o)
{
    struct aa_diag d;

    E.as = start_as(o);
    E.ag = start_agent();
    E.r = start_resource(aa_ref_id(E.as));
    E.http = aa_http_client_new(NULL);
    cr_assert_not_null(E.http);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(E.ag), E.ag_jkt), AA_OK);
    E.dtoken = get_agent_token(DELEGATE_SUB, &E.dkey, "delegate-key-1");
    cr_assert_eq(aa_jwk_thumbprint(&E.dkey, E.d_jkt), AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(aa_snprintf(E.callback, sizeof(E.callback), "%s/callback", aa_ref_id(E.ag)),
                 AA_OK);
}

static void env_default(void)
{
    struct as_opts o;
    memset(&o, 0, sizeof(o));
    env_up(&o);
}

static void setup(void)
{
    memset(&E, 0, sizeof(E));
    E.clock.frozen = true;
    E.clock.value = (int64_t)time(NULL);
}

static void teardown(void)
{
    for (size_t i = 0; i < E.n_extra; i++)
        aa_ref_stop(E.extra[i]);
    aa_ref_stop(E.r);
    aa_ref_stop(E.ag);
    aa_ref_stop(E.as);
    aa_server_stop(E.fake);
    free(E.fake_meta);
    aa_http_client_free(E.http);
    aa_jwk_cleanup(&E.dkey);
    free(E.dtoken);
}

TestSuite(ref_auth, .init = setup, .fini = teardown, .timeout = 120);

/* ---- flows used by several tests ------------------------------------------------------ */

/* auth with a resource token (agent or delegate) -> the 200 reply. */
static void direct_grant(bool delegate, struct reply *out)
{
    struct rt_spec sp;
    char *rt, *body;

    memset(&sp, 0, sizeof(sp));
    sp.jkt = delegate ? E.d_jkt : E.ag_jkt;
    rt = mint_rt(&sp);
    body = form("request_type", "auth", "resource_token", rt, "redirect_uri", E.callback, NULL);
    if (delegate)
        as_delegate(body, out);
    else
        as_agent(body, out);
    cr_assert_eq(out->status, 200, "direct grant: %s", out->body);
    free(rt);
    free(body);
}

/* Query parameter |name| of a URL, or NULL. */
static char *query_param(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    struct aa_form f;
    char *v = NULL;

    if (q == NULL)
        return NULL;
    aa_form_init(&f);
    cr_assert_eq(aa_form_parse(q + 1, strlen(q + 1), AA_FORM_REJECT_DUPLICATES, &f, NULL), AA_OK);
    if (aa_form_get(&f, name) != NULL)
        v = aa_strdup(aa_form_get(&f, name));
    aa_form_cleanup(&f);
    return v;
}

static char *ui_url(struct aa_ref_server *as, const char *rqt, const char *ru, const char *state)
{
    struct aa_buf b;

    aa_buf_init(&b, 1 << 16);
    aa_buf_printf(&b, "%s/agent/auth?", aa_ref_url(as));
    aa_form_add(&b, "request_token", rqt);
    aa_form_add(&b, "redirect_uri", ru);
    if (state != NULL)
        aa_form_add(&b, "state", state);
    return aa_buf_detach(&b, NULL);
}

static void ui_post(struct aa_ref_server *as, const char *body, struct reply *out)
{
    struct aa_http_headers h;
    char *u = url_of(as, "/agent/auth");

    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", FORM_CT), AA_OK);
    send_raw("POST", u, &h, body, out);
    aa_http_headers_cleanup(&h);
    free(u);
}

static void ui_login(struct aa_ref_server *as, const char *rqt, const char *ru, const char *state,
                     const char *user, const char *pass, struct reply *out)
{
    char *b = form("request_token", rqt, "redirect_uri", ru, "state", state, "action", "login",
                   "username", user, "password", pass, NULL);
    ui_post(as, b, out);
    free(b);
}

static void ui_consent(struct aa_ref_server *as, const char *rqt, const char *ru, const char *state,
                       const char *answer, struct reply *out)
{
    char *b =
        form("request_token", rqt, "redirect_uri", ru, "state", state, "consent", answer, NULL);
    ui_post(as, b, out);
    free(b);
}

/*
 * PROFILE#6.6 end to end: login page, sign in (303 back to the consent
 * page), consent page, grant. Returns the final Location (heap).
 */
static char *consent_flow(struct aa_ref_server *as, const char *rqt, const char *ru,
                          const char *state)
{
    struct reply r;
    char *u = ui_url(as, rqt, ru, state), *expect, *loc;

    send_raw("GET", u, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "login page: %s", r.body);
    cr_assert(strncmp(hdr(&r, "Content-Type"), "text/html", 9) == 0);
    cr_assert_not_null(strstr(r.body, "name=\"action\" value=\"login\""));
    cr_assert_null(strstr(r.body, "value=\"grant\""));
    reply_free(&r);

    ui_login(as, rqt, ru, state, "testuser", "testpass", &r);
    cr_assert_eq(r.status, 303, "login: %s", r.body);
    /* 303 back to the GET URL: same parameters, same encoding. */
    expect = ui_url(as, rqt, ru, state);
    cr_assert_str_eq(hdr(&r, "Location"), expect);
    free(expect);
    reply_free(&r);

    send_raw("GET", u, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "value=\"grant\""), "no consent page: %s", r.body);
    cr_assert_not_null(strstr(r.body, "Test User"));
    reply_free(&r);

    ui_consent(as, rqt, ru, state, "grant", &r);
    cr_assert_eq(r.status, 303, "consent: %s", r.body);
    cr_assert_eq(strcmp(hdr(&r, "Cache-Control"), "no-store"), 0);
    loc = aa_strdup(hdr(&r, "Location"));
    reply_free(&r);
    free(u);
    return loc;
}

/* auth that needs consent -> request_token (heap). */
static char *ask_consent(bool delegate, const char *body)
{
    struct reply r;
    char *t;

    if (delegate)
        as_delegate(body, &r);
    else
        as_agent(body, &r);
    cr_assert_eq(r.status, 200, "auth: %s", r.body);
    cr_assert_not_null(jstr(r.json, "request_token"), "no request_token: %s", r.body);
    cr_assert_eq(jint(r.json, "expires_in"), 600);
    cr_assert_not(jhas(r.json, "auth_token"));
    cr_assert_str_eq(hdr(&r, "Cache-Control"), "no-store");
    cr_assert_eq(strlen(jstr(r.json, "request_token")), 43); /* 256 bits, base64url */
    t = aa_strdup(jstr(r.json, "request_token"));
    reply_free(&r);
    return t;
}

static char *rt_body(bool delegate)
{
    struct rt_spec sp;
    char *rt, *b;

    memset(&sp, 0, sizeof(sp));
    sp.jkt = delegate ? E.d_jkt : E.ag_jkt;
    rt = mint_rt(&sp);
    b = form("request_type", "auth", "resource_token", rt, "redirect_uri", E.callback, NULL);
    free(rt);
    return b;
}

/* Consent flow to a code (heap) for the agent (or delegate). */
static char *get_code(bool delegate, const char *body)
{
    char *rqt = ask_consent(delegate, body), *loc = consent_flow(E.as, rqt, E.callback, "s1");
    char *code = query_param(loc, "code");

    cr_assert_not_null(code, "no code in %s", loc);
    free(rqt);
    free(loc);
    return code;
}

static void redeem(bool delegate, const char *code, const char *ru, struct reply *out)
{
    char *b = form("request_type", "code", "code", code, "redirect_uri", ru, NULL);
    if (delegate)
        as_delegate(b, out);
    else
        as_agent(b, out);
    free(b);
}

/* ---- metadata (PROFILE#3) ------------------------------------------------------------- */

Test(ref_auth, metadata_and_jwks)
{
    struct reply r;
    char *u, expect[512], jkt[AA_JWK_THUMBPRINT_LEN + 1], as_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    const cJSON *a, *keys;
    struct aa_jwks set;

    env_default();
    u = url_of(E.as, "/.well-known/aauth-issuer");
    send_raw("GET", u, NULL, NULL, &r);
    free(u);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(hdr(&r, "Content-Type"), "application/json"));
    cr_assert_str_eq(jstr(r.json, "issuer"), aa_ref_id(E.as));
    aa_snprintf(expect, sizeof(expect), "%s/jwks.json", aa_ref_id(E.as));
    cr_assert_str_eq(jstr(r.json, "jwks_uri"), expect);
    aa_snprintf(expect, sizeof(expect), "%s/agent/token", aa_ref_id(E.as));
    cr_assert_str_eq(jstr(r.json, "agent_token_endpoint"), expect);
    aa_snprintf(expect, sizeof(expect), "%s/agent/auth", aa_ref_id(E.as));
    cr_assert_str_eq(jstr(r.json, "agent_auth_endpoint"), expect);
    a = cJSON_GetObjectItemCaseSensitive(r.json, "agent_signing_algs_supported");
    cr_assert_eq(cJSON_GetArraySize(a), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(a, 0)->valuestring, "ed25519");
    a = cJSON_GetObjectItemCaseSensitive(r.json, "request_types_supported");
    cr_assert_eq(cJSON_GetArraySize(a), 4);
    cr_assert_str_eq(cJSON_GetArrayItem(a, 0)->valuestring, "auth");
    cr_assert_str_eq(cJSON_GetArrayItem(a, 1)->valuestring, "code");
    cr_assert_str_eq(cJSON_GetArrayItem(a, 2)->valuestring, "exchange");
    cr_assert_str_eq(cJSON_GetArrayItem(a, 3)->valuestring, "refresh");
    a = cJSON_GetObjectItemCaseSensitive(r.json, "scopes_supported");
    cr_assert_eq(cJSON_GetArraySize(a), 5);
    cr_assert_str_eq(cJSON_GetArrayItem(a, 2)->valuestring, "openid");
    reply_free(&r);

    u = url_of(E.as, "/jwks.json");
    send_raw("GET", u, NULL, NULL, &r);
    free(u);
    cr_assert_eq(r.status, 200);
    keys = cJSON_GetObjectItemCaseSensitive(r.json, "keys");
    cr_assert_eq(cJSON_GetArraySize(keys), 1);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(keys, 0), "kid"), "auth-key-1");
    cr_assert_null(strstr(r.body, "\"d\""), "JWKS leaks the private key");
    cr_assert_eq(aa_jwks_parse(r.body, strlen(r.body), &set, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&set.keys[0], jkt), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(E.as), as_jkt), AA_OK);
    cr_assert_str_eq(jkt, as_jkt);
    aa_jwks_cleanup(&set);
    reply_free(&r);
}

/* ---- AS parameters (PROFILE#9 AS) ----------------------------------------------------- */

Test(ref_auth, as_09_get_is_405)
{
    struct reply r;
    char *u;

    env_default();
    u = url_of(E.as, "/agent/token");
    send_raw("GET", u, NULL, NULL, &r);
    cr_assert_eq(r.status, 405);
    cr_assert_not_null(hdr(&r, "Allow"));
    cr_assert_str_eq(hdr(&r, "Allow"), "POST");
    reply_free(&r);
    /* Positive control: POST reaches the endpoint (an unsigned form is 401). */
    send_raw("POST", u, NULL, NULL, &r);
    cr_assert_neq(r.status, 405);
    reply_free(&r);
    free(u);
}

Test(ref_auth, as_parameter_errors)
{
    struct {
        const char *id, *body, *code;
    } cases[8];
    struct reply r;
    struct rt_spec sp;
    char *rt, *bad_ru;
    size_t n = 0;

    env_default();
    memset(&sp, 0, sizeof(sp));
    rt = mint_rt(&sp);
    bad_ru = form("request_type", "auth", "resource_token", rt, "redirect_uri",
                  "http://127.0.0.1:1/elsewhere", NULL);
    cases[n].id = "AS-01 no request_type";
    cases[n].body = form("resource_token", rt, "redirect_uri", E.callback, NULL);
    cases[n++].code = "invalid_request";
    cases[n].id = "AS-02 bogus request_type";
    cases[n].body = form("request_type", "bogus", NULL);
    cases[n++].code = "unsupported_request_type";
    cases[n].id = "AS-03 two of three";
    cases[n].body = form("request_type", "auth", "resource_token", rt, "scope", "data.read",
                         "redirect_uri", E.callback, NULL);
    cases[n++].code = "invalid_request";
    cases[n].id = "AS-03 none of three";
    cases[n].body = form("request_type", "auth", "redirect_uri", E.callback, NULL);
    cases[n++].code = "invalid_request";
    cases[n].id = "AS-03 all three";
    cases[n].body =
        form("request_type", "auth", "resource_token", rt, "scope", "data.read", "auth_request_url",
             "https://r.example/req/1", "redirect_uri", E.callback, NULL);
    cases[n++].code = "invalid_request";
    cases[n].id = "AS-04 no redirect_uri";
    cases[n].body = form("request_type", "auth", "resource_token", rt, NULL);
    cases[n++].code = "invalid_request";
    cases[n].id = "AS-05 unregistered redirect_uri";
    cases[n].body = bad_ru;
    cases[n++].code = "invalid_request";
    cases[n].id = "AS-07 repeated parameter";
    cases[n].body = form("request_type", "auth", "request_type", "auth", "resource_token", rt,
                         "redirect_uri", E.callback, NULL);
    cases[n++].code = "invalid_request";
    for (size_t i = 0; i < n; i++) {
        as_agent(cases[i].body, &r);
        cr_assert_eq(r.status, 400, "%s: status %ld %s", cases[i].id, r.status, r.body);
        cr_assert_str_eq(jstr(r.json, "error"), cases[i].code, "%s: %s", cases[i].id, r.body);
        reply_free(&r);
        free((char *)cases[i].body);
    }
    /* Positive control: the same resource token with a registered redirect_uri. */
    {
        char *ok =
            form("request_type", "auth", "resource_token", rt, "redirect_uri", E.callback, NULL);
        as_agent(ok, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        reply_free(&r);
        free(ok);
    }
    free(rt);
}

Test(ref_auth, as_06_json_body)
{
    struct reply r;
    struct sreq q;
    char *u;

    env_default();
    u = url_of(E.as, "/agent/token");
    memset(&q, 0, sizeof(q));
    q.url = u;
    q.body = "{\"request_type\":\"auth\"}";
    q.ctype = "application/json";
    q.key = aa_ref_key(E.ag);
    q.cred = cred_agent();
    send_signed(&q, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    /* A form body with that JSON text as Content-Type lie is still not a form. */
    q.ctype = "text/plain";
    q.body = "request_type=auth";
    send_signed(&q, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    free(u);
}

/* D-30: step 2 (body, request_type) before step 3 (signature), before 4. */
Test(ref_auth, d30_processing_order)
{
    struct aa_http_headers h;
    struct reply r;
    struct sreq q;
    char *u, *b;

    env_default();
    u = url_of(E.as, "/agent/token");
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", "application/json"), AA_OK);
    send_raw("POST", u, &h, "{}", &r); /* unsigned JSON: 400 before 401 */
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    aa_http_headers_cleanup(&h);
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", FORM_CT), AA_OK);
    send_raw("POST", u, &h, "request_type=bogus", &r);
    expect_error(&r, 400, "unsupported_request_type");
    reply_free(&r);
    send_raw("POST", u, &h, "redirect_uri=x", &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    /* Unsigned but well-formed: 401 invalid_signature (2.11 step 2). */
    b = form("request_type", "auth", "scope", "data.read", NULL);
    send_raw("POST", u, &h, b, &r);
    expect_error(&r, 401, "invalid_signature");
    reply_free(&r);
    /* Signed with a flipped bit and bad parameters: the signature comes first. */
    memset(&q, 0, sizeof(q));
    q.url = u;
    q.body = b;
    q.key = aa_ref_key(E.ag);
    q.cred = cred_agent();
    q.opts.variants = AA_SIGN_V_SIG_FLIP_BIT;
    send_signed(&q, &r);
    expect_error(&r, 401, "invalid_signature");
    reply_free(&r);
    /* ... and with a good signature the parameters decide (no redirect_uri). */
    q.opts.variants = 0;
    send_signed(&q, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    aa_http_headers_cleanup(&h);
    free(b);
    free(u);
}

Test(ref_auth, sig_25_replay_detected)
{
    struct reply r;
    struct sreq q;
    char *u, *b;

    env_default();
    u = url_of(E.as, "/agent/token");
    b = rt_body(false);
    memset(&q, 0, sizeof(q));
    q.url = u;
    q.body = b;
    q.key = aa_ref_key(E.ag);
    q.cred = cred_agent();
    q.nonce = "cmVwbGF5LW5vbmNlLTAwMDE";
    send_signed(&q, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    memset(&q.opts, 0, sizeof(q.opts));
    send_signed(&q, &r);
    expect_error(&r, 401, "replay_detected");
    reply_free(&r);
    free(b);
    free(u);
}

/* AS-08, RF-05 (D-15, D-20): pseudonymous and auth+jwt credentials. */
Test(ref_auth, as_08_credential_types)
{
    struct reply r, g;
    struct aa_jwk hk;
    struct aa_sign_cred c;
    char *b, *jwks_url, *rfb;
    const char *types[3] = {"auth", "code", "refresh"};

    env_default();
    direct_grant(false, &g); /* an auth+jwt for R and a refresh token */
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "h", &hk), AA_OK);
    b = rt_body(false);
    rfb = form("request_type", "refresh", "refresh_token", jstr(g.json, "refresh_token"), NULL);
    for (int i = 0; i < 3; i++) {
        char *body =
            i == 0   ? aa_strdup(b)
            : i == 1 ? form("request_type", "code", "code", "x", "redirect_uri", E.callback, NULL)
                     : aa_strdup(rfb);
        /* hwk: signature fine, credential pseudonymous. */
        token_req(E.as, &hk, cred_hwk(), body, &r);
        expect_error(&r, 400, "invalid_request");
        cr_assert_not_null(strstr(jstr(r.json, "error_description"), "hwk"), "%s: %s", types[i],
                           r.body);
        reply_free(&r);
        /* jwks Mode 1 (a JWKS URL, no identity). */
        jwks_url = url_of(E.ag, "/jwks.json");
        memset(&c, 0, sizeof(c));
        c.scheme = AA_SIGKEY_JWKS;
        c.jwks_url = jwks_url;
        c.kid = "key-1";
        token_req(E.as, aa_ref_key(E.ag), c, body, &r);
        expect_error(&r, 400, "invalid_request");
        cr_assert_not_null(strstr(jstr(r.json, "error_description"), "Mode 1"), "%s", r.body);
        reply_free(&r);
        free(jwks_url);
        /* jwks Mode 2 with no AAuth well-known name: pseudonymous. */
        c = cred_jwks(E.ag, "oauth-authorization-server");
        token_req(E.as, aa_ref_key(E.ag), c, body, &r);
        expect_error(&r, 401, "invalid_key"); /* not an AAuth metadata name */
        reply_free(&r);
        /* an auth+jwt, correctly signed with its cnf key. */
        token_req(E.as, aa_ref_key(E.ag), cred_jwt(jstr(g.json, "auth_token")), body, &r);
        expect_error(&r, 400, "invalid_request");
        cr_assert_not_null(strstr(jstr(r.json, "error_description"), "auth+jwt"), "%s", r.body);
        reply_free(&r);
        /* the same auth+jwt signed by another key: the signature is 401 first. */
        token_req(E.as, &hk, cred_jwt(jstr(g.json, "auth_token")), body, &r);
        expect_error(&r, 401, "invalid_signature");
        reply_free(&r);
        free(body);
    }
    /* hwk with a bad signature: 401, not 400 (D-30 step 3 before 4). */
    {
        struct sreq q;
        char *u = url_of(E.as, "/agent/token");
        memset(&q, 0, sizeof(q));
        q.url = u;
        q.body = b;
        q.key = &hk;
        q.cred = cred_hwk();
        q.opts.variants = AA_SIGN_V_SIG_FLIP_BIT;
        send_signed(&q, &r);
        expect_error(&r, 401, "invalid_signature");
        reply_free(&r);
        free(u);
    }
    aa_jwk_cleanup(&hk);
    reply_free(&g);
    free(b);
    free(rfb);
}

/* PROFILE#9 AT at the AS: agent tokens minted with the agent's key, one
 * defect each -> 401 invalid_token (AT-09: invalid_signature). */
struct at_spec {
    const char *typ, *aud, *sub;
    bool no_sub, no_cnf;
    int64_t exp_off, nbf_off;
    const struct aa_jwk *key; /* default the agent server's */
};

static char *mint_agent_token(const struct at_spec *sp)
{
    cJSON *c = cJSON_CreateObject(), *cnf;

    cJSON_AddStringToObject(c, "iss", aa_ref_id(E.ag));
    if (!sp->no_sub)
        cJSON_AddStringToObject(c, "sub", sp->sub ? sp->sub : DELEGATE_SUB);
    if (sp->aud)
        cJSON_AddStringToObject(c, "aud", sp->aud);
    cJSON_AddNumberToObject(c, "exp", (double)(now() + (sp->exp_off ? sp->exp_off : 600)));
    if (sp->nbf_off)
        cJSON_AddNumberToObject(c, "nbf", (double)(now() + sp->nbf_off));
    if (!sp->no_cnf) {
        cnf = cJSON_AddObjectToObject(c, "cnf");
        cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&E.dkey, false));
    }
    return sign_jwt(sp->key ? sp->key : aa_ref_key(E.ag), sp->typ ? sp->typ : "agent+jwt", c, NULL);
}

Test(ref_auth, at_agent_token_cases)
{
    struct aa_jwk attacker;
    struct reply r;
    struct {
        const char *id;
        struct at_spec sp;
    } c[9];
    size_t n = 0;
    char *b;

    env_default();
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "key-1", &attacker), AA_OK);
    b = rt_body(true);
    memset(c, 0, sizeof(c));
    c[n].id = "AT-01 typ JWT";
    c[n++].sp.typ = "JWT";
    c[n].id = "AT-04/10 signed by an attacker key with the agent's kid";
    c[n++].sp.key = &attacker;
    c[n].id = "AT-06 expired";
    c[n++].sp.exp_off = -120;
    c[n].id = "AT-07 no sub";
    c[n++].sp.no_sub = true;
    c[n].id = "AT-07 no cnf";
    c[n++].sp.no_cnf = true;
    c[n].id = "AT-08 aud excludes the AS";
    c[n++].sp.aud = "http://127.0.0.1:9";
    c[n].id = "AT-11 nbf in the future";
    c[n++].sp.nbf_off = 120;
    for (size_t i = 0; i < n; i++) {
        char *tok = mint_agent_token(&c[i].sp);
        token_req(E.as, &E.dkey, cred_jwt(tok), b, &r);
        cr_assert_eq(r.status, 401, "%s: %ld %s", c[i].id, r.status, r.body);
        cr_assert_str_eq(jstr(r.json, "error"), "invalid_token", "%s: %s", c[i].id, r.body);
        reply_free(&r);
        free(tok);
    }
    /* Positive controls: the same minting, nothing wrong; aud naming the AS. */
    {
        struct at_spec ok;
        char *tok;
        memset(&ok, 0, sizeof(ok));
        tok = mint_agent_token(&ok);
        token_req(E.as, &E.dkey, cred_jwt(tok), b, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        reply_free(&r);
        free(tok);
        free(b);
        b = rt_body(true);
        ok.aud = aa_ref_id(E.as);
        tok = mint_agent_token(&ok);
        token_req(E.as, &E.dkey, cred_jwt(tok), b, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        reply_free(&r);
        free(tok);
    }
    aa_jwk_cleanup(&attacker);
    free(b);
}

/* ---- F3 / F6 direct grants (PROFILE#6.3, #7 F3, #7.6 TEST 3) -------------------------- */

Test(ref_auth, f3_direct_grant_agent)
{
    struct reply r;
    cJSON *c, *h;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    env_default();
    direct_grant(false, &r);
    cr_assert_str_eq(hdr(&r, "Cache-Control"), "no-store");
    cr_assert_eq(jint(r.json, "expires_in"), 3600);
    cr_assert_not_null(jstr(r.json, "refresh_token"));
    cr_assert_geq(strlen(jstr(r.json, "refresh_token")), 22); /* >= 128 bits */
    cr_assert_not(jhas(r.json, "token_type"));
    c = open_jwt(jstr(r.json, "auth_token"), E.as, &h);
    cr_assert_str_eq(jstr(h, "typ"), "auth+jwt");
    cr_assert_str_eq(jstr(h, "alg"), "EdDSA");
    cr_assert_str_eq(jstr(h, "kid"), "auth-key-1");
    cr_assert_str_eq(jstr(c, "iss"), aa_ref_id(E.as));
    cr_assert_str_eq(jstr(c, "aud"), aa_ref_id(E.r));
    cr_assert_str_eq(jstr(c, "agent"), aa_ref_id(E.ag));
    cr_assert_not(jhas(c, "agent_delegate"));
    cr_assert_not(jhas(c, "sub"), "no user signed in, so no sub");
    cr_assert_str_eq(jstr(c, "scope"), "data.read data.write");
    cr_assert_eq(jint(c, "exp"), now() + 3600);
    cr_assert_eq(jint(c, "iat"), now());
    cr_assert_not_null(jstr(c, "jti"));
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, E.ag_jkt);
    cJSON_Delete(c);
    cJSON_Delete(h);
    reply_free(&r);
}

Test(ref_auth, f6_direct_grant_delegate)
{
    struct reply r;
    cJSON *c;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    const cJSON *jwk;

    env_default();
    direct_grant(true, &r);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cr_assert_str_eq(jstr(c, "agent"), aa_ref_id(E.ag));
    cr_assert_str_eq(jstr(c, "agent_delegate"), DELEGATE_SUB);
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, E.d_jkt);
    cr_assert_str_neq(jkt, E.ag_jkt);
    /* the agent token's cnf.jwk, member by member (kid included) */
    jwk = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "cnf"), "jwk");
    cr_assert_str_eq(jstr(jwk, "kid"), "delegate-key-1");
    cJSON_Delete(c);
    reply_free(&r);
}

/* F3 end to end with the reference resource: challenge -> AS -> /data-auth. */
Test(ref_auth, f3_end_to_end_with_reference_resource)
{
    struct reply r;
    struct sreq q;
    struct aa_challenge ch;
    char *u = NULL, *b, *at;

    env_default();
    u = url_of(E.r, "/data-auth");
    memset(&q, 0, sizeof(q));
    q.method = "GET";
    q.url = u;
    q.key = &E.dkey;
    q.cred = cred_jwt(E.dtoken);
    send_signed(&q, &r);
    cr_assert_eq(r.status, 401, "%s", r.body);
    memset(&ch, 0, sizeof(ch));
    cr_assert_eq(
        aa_challenge_parse(NULL, hdr(&r, "Agent-Auth"), strlen(hdr(&r, "Agent-Auth")), &ch, NULL),
        AA_OK);
    cr_assert_str_eq(ch.auth_server, aa_ref_id(E.as));
    reply_free(&r);
    b = form("request_type", "auth", "resource_token", ch.resource_token, "redirect_uri",
             E.callback, NULL);
    as_delegate(b, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    at = aa_strdup(jstr(r.json, "auth_token"));
    reply_free(&r);
    q.cred = cred_jwt(at);
    memset(&q.opts, 0, sizeof(q.opts));
    send_signed(&q, &r);
    cr_assert_eq(r.status, 200, "/data-auth with the auth token: %s", r.body);
    cr_assert_str_eq(jstr(r.json, "token_type"), "auth+jwt");
    cr_assert_str_eq(jstr(r.json, "agent_delegate"), DELEGATE_SUB);
    reply_free(&r);
    aa_challenge_cleanup(&ch);
    free(at);
    free(b);
    free(u);
}

/* ---- RT (PROFILE#4.4, #9 RT) ---------------------------------------------------------- */

Test(ref_auth, rt_cases)
{
    struct aa_jwk other;
    char other_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    struct reply r;
    struct {
        const char *id;
        struct rt_spec sp;
    } c[12];
    size_t n = 0;
    const char *fake;

    env_default();
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "resource-key-1", &other), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&other, other_jkt), AA_OK);
    fake = start_fake("http://127.0.0.1:9"); /* metadata names another resource */
    memset(c, 0, sizeof(c));
    c[n].id = "RT-01 issued for another agent";
    c[n++].sp.agent = "http://127.0.0.1:9";
    c[n].id = "RT-02 agent_jkt of another key";
    c[n++].sp.jkt = E.d_jkt;
    c[n].id = "RT-03 aud is another AS";
    c[n++].sp.aud = "http://127.0.0.1:9";
    c[n].id = "RT-04 expired";
    c[n++].sp.exp_off = -120;
    c[n].id = "RT-05 wrong typ";
    c[n++].sp.typ = "JWT";
    c[n].id = "RT-05 typ auth+jwt";
    c[n++].sp.typ = "auth+jwt";
    c[n].id = "RT-06 bad signature";
    c[n++].sp.flip_sig = true;
    c[n].id = "RT-06 signed by another key with the same kid";
    c[n++].sp.key = &other;
    c[n].id = "RT-07 neither scope nor auth_request_url";
    c[n++].sp.no_scope = true;
    c[n].id = "RT-07 both";
    c[n++].sp.arq = "https://r.example/req/1";
    c[n].id = "RT-08 metadata resource != iss";
    c[n].sp.iss = fake;
    c[n++].sp.key = &other;
    for (size_t i = 0; i < n; i++) {
        char *rt = mint_rt(&c[i].sp);
        char *b =
            form("request_type", "auth", "resource_token", rt, "redirect_uri", E.callback, NULL);
        as_agent(b, &r);
        cr_assert_eq(r.status, 400, "%s: %ld %s", c[i].id, r.status, r.body);
        cr_assert_str_eq(jstr(r.json, "error"), "invalid_resource_token", "%s: %s", c[i].id,
                         r.body);
        reply_free(&r);
        free(rt);
        free(b);
    }
    /* unknown kid */
    {
        struct aa_jwk k2;
        struct rt_spec sp;
        char *rt, *b;
        cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "no-such-kid", &k2), AA_OK);
        memset(&sp, 0, sizeof(sp));
        sp.key = &k2;
        rt = mint_rt(&sp);
        b = form("request_type", "auth", "resource_token", rt, "redirect_uri", E.callback, NULL);
        as_agent(b, &r);
        expect_error(&r, 400, "invalid_resource_token");
        reply_free(&r);
        aa_jwk_cleanup(&k2);
        free(rt);
        free(b);
    }
    /* not a JWT at all: still 400, never 500 */
    {
        char *b = form("request_type", "auth", "resource_token", "not.a.token", "redirect_uri",
                       E.callback, NULL);
        as_agent(b, &r);
        expect_error(&r, 400, "invalid_resource_token");
        reply_free(&r);
        free(b);
    }
    /* Positive control: an untouched token for this agent. */
    direct_grant(false, &r);
    reply_free(&r);
    aa_jwk_cleanup(&other);
}

/* ---- F4 consent and codes (PROFILE#6.4, #6.6, #7 F4, #9 CD) --------------------------- */

Test(ref_auth, f4_consent_flow_and_code)
{
    struct as_opts o = {.consent = true};
    struct reply r;
    char *body, *rqt, *loc, *code, *state, expect[512];
    cJSON *c;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    env_up(&o);
    body = rt_body(false);
    rqt = ask_consent(false, body);
    loc = consent_flow(E.as, rqt, E.callback, "xyz-123");
    code = query_param(loc, "code");
    state = query_param(loc, "state");
    cr_assert_not_null(code);
    cr_assert_eq(strlen(code), 43);
    aa_snprintf(expect, sizeof(expect), "%s?code=%s&state=xyz-123", E.callback, code);
    cr_assert_str_eq(loc, expect);
    cr_assert_str_eq(state, "xyz-123");

    redeem(false, code, E.callback, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(hdr(&r, "Cache-Control"), "no-store");
    cr_assert_not_null(jstr(r.json, "refresh_token"));
    cr_assert_eq(jint(r.json, "expires_in"), 3600);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cr_assert_str_eq(jstr(c, "sub"), "testuser");
    cr_assert_str_eq(jstr(c, "aud"), aa_ref_id(E.r));
    cr_assert_str_eq(jstr(c, "agent"), aa_ref_id(E.ag));
    cr_assert_str_eq(jstr(c, "scope"), "data.read data.write");
    cr_assert_not(jhas(c, "name"), "no profile scope asked");
    cr_assert_not(jhas(c, "email"));
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, E.ag_jkt);
    cJSON_Delete(c);
    reply_free(&r);

    /* CD-01: the code is single use. */
    redeem(false, code, E.callback, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    /* CD-06: the request token is used now. */
    {
        char *u = ui_url(E.as, rqt, E.callback, NULL);
        send_raw("GET", u, NULL, NULL, &r);
        expect_error(&r, 400, "invalid_request");
        cr_assert_null(hdr(&r, "Location"));
        reply_free(&r);
        free(u);
    }
    free(body);
    free(rqt);
    free(loc);
    free(code);
    free(state);
}

Test(ref_auth, cd_code_failures)
{
    struct as_opts o = {.consent = true};
    struct reply r;
    char *body, *code, *dbody;

    env_up(&o);
    body = rt_body(false);

    /* CD-05 unknown code (right length and wrong length). */
    redeem(false, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", E.callback, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    redeem(false, "short", E.callback, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);

    /* CD-02: older than 60 s (exactly 60 s is still fine: see below). */
    code = get_code(false, body);
    aa_ref_clock_advance(&E.clock, 61);
    redeem(false, code, E.callback, &r);
    expect_error(&r, 400, "invalid_grant");
    cr_assert_not_null(strstr(jstr(r.json, "error_description"), "older"), "%s", r.body);
    reply_free(&r);
    free(code);
    code = get_code(false, body);
    aa_ref_clock_advance(&E.clock, 60);
    redeem(false, code, E.callback, &r);
    cr_assert_eq(r.status, 200, "a 60 s old code is valid: %s", r.body);
    reply_free(&r);
    free(code);

    /* CD-03: redirect_uri mismatch, and the code is consumed by that failure. */
    code = get_code(false, body);
    redeem(false, code, "http://127.0.0.1:1/other", &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    redeem(false, code, E.callback, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    free(code);

    /* CD-04: redeemed by another key (the delegate) of the same agent ... */
    code = get_code(false, body);
    redeem(true, code, E.callback, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    free(code);
    /* ... and a delegate's code redeemed by the agent itself. */
    dbody = rt_body(true);
    code = get_code(true, dbody);
    redeem(false, code, E.callback, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    free(code);
    /* ... and by another agent altogether. */
    {
        struct aa_ref_server *ag2 = keep(start_agent());
        code = get_code(false, body);
        char *rb = form("request_type", "code", "code", code, "redirect_uri", E.callback, NULL);
        token_req(E.as, aa_ref_key(ag2), cred_jwks(ag2, "aauth-agent"), rb, &r);
        free(rb);
        expect_error(&r, 400, "invalid_grant");
        reply_free(&r);
        free(code);
    }
    /* missing parameters are invalid_request, not invalid_grant */
    {
        char *b = form("request_type", "code", "redirect_uri", E.callback, NULL);
        as_agent(b, &r);
        expect_error(&r, 400, "invalid_request");
        reply_free(&r);
        free(b);
        b = form("request_type", "code", "code", "x", NULL);
        as_agent(b, &r);
        expect_error(&r, 400, "invalid_request");
        reply_free(&r);
        free(b);
    }
    free(dbody);
    free(body);
}

Test(ref_auth, cd_consent_ui_errors)
{
    struct as_opts o = {.consent = true};
    struct reply r;
    char *body, *rqt, *u;

    env_up(&o);
    body = rt_body(false);
    rqt = ask_consent(false, body);

    /* CD-07: redirect_uri differs -> 400, no redirect (GET and POST). */
    u = ui_url(E.as, rqt, "http://127.0.0.1:1/evil", "s");
    send_raw("GET", u, NULL, NULL, &r);
    expect_error(&r, 400, "invalid_request");
    cr_assert_null(hdr(&r, "Location"));
    reply_free(&r);
    free(u);
    ui_login(E.as, rqt, "http://127.0.0.1:1/evil", "s", "testuser", "testpass", &r);
    expect_error(&r, 400, "invalid_request");
    cr_assert_null(hdr(&r, "Location"));
    reply_free(&r);

    /* unknown request token */
    u = ui_url(E.as, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", E.callback, NULL);
    send_raw("GET", u, NULL, NULL, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    free(u);
    /* missing parameters */
    u = url_of(E.as, "/agent/auth");
    send_raw("GET", u, NULL, NULL, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    free(u);

    /* consent before sign-in is refused without redirect */
    ui_consent(E.as, rqt, E.callback, "s", "grant", &r);
    expect_error(&r, 400, "invalid_request");
    cr_assert_null(hdr(&r, "Location"));
    reply_free(&r);
    /* bad credentials: 200 form with an error, user not bound */
    ui_login(E.as, rqt, E.callback, "s", "testuser", "wrong", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "id=\"error\""));
    reply_free(&r);
    ui_login(E.as, rqt, E.callback, "s", "nobody", "testpass", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "id=\"error\""));
    reply_free(&r);
    ui_consent(E.as, rqt, E.callback, "s", "grant", &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    /* unknown action / consent values */
    {
        char *b = form("request_token", rqt, "redirect_uri", E.callback, "action", "logout", NULL);
        ui_post(E.as, b, &r);
        expect_error(&r, 400, "invalid_request");
        reply_free(&r);
        free(b);
        ui_login(E.as, rqt, E.callback, "s", "testuser", "testpass", &r);
        cr_assert_eq(r.status, 303);
        reply_free(&r);
        ui_consent(E.as, rqt, E.callback, "s", "maybe", &r);
        expect_error(&r, 400, "invalid_request");
        reply_free(&r);
    }
    /* CD-06: expired request token (600 s) */
    aa_ref_clock_advance(&E.clock, 600);
    ui_consent(E.as, rqt, E.callback, "s", "grant", &r);
    expect_error(&r, 400, "invalid_request");
    cr_assert_not_null(strstr(jstr(r.json, "error_description"), "expired"), "%s", r.body);
    reply_free(&r);
    free(rqt);
    free(body);
}

Test(ref_auth, cd_08_deny_and_state_encoding)
{
    struct as_opts o = {.consent = true};
    struct reply r;
    char *body, *rqt, *state, expect[512];
    const char *st = "a b&c=d/\xc3\xa9";

    env_up(&o);
    body = rt_body(false);
    rqt = ask_consent(false, body);
    ui_login(E.as, rqt, E.callback, st, "testuser", "testpass", &r);
    cr_assert_eq(r.status, 303);
    reply_free(&r);
    ui_consent(E.as, rqt, E.callback, st, "deny", &r);
    cr_assert_eq(r.status, 303, "%s", r.body);
    aa_snprintf(expect, sizeof(expect),
                "%s?error=access_denied&error_description=The+user+denied+the+request"
                "&state=a+b%%26c%%3Dd%%2F%%C3%%A9",
                E.callback);
    cr_assert_str_eq(hdr(&r, "Location"), expect);
    state = query_param(hdr(&r, "Location"), "state");
    cr_assert_str_eq(state, st, "state echoed exactly");
    reply_free(&r);
    /* a denied request token cannot be granted afterwards */
    ui_consent(E.as, rqt, E.callback, st, "grant", &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    free(state);
    free(rqt);
    free(body);
}

Test(ref_auth, consent_pages_escape_input)
{
    struct as_opts o = {.consent = true};
    struct reply r;
    char *body, *rqt, *u;

    env_up(&o);
    body = rt_body(false);
    rqt = ask_consent(false, body);
    u = ui_url(E.as, rqt, E.callback, "\"><script>alert(1)</script>");
    send_raw("GET", u, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_null(strstr(r.body, "<script>"), "unescaped state: %s", r.body);
    cr_assert_not_null(strstr(r.body, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    cr_assert_str_eq(hdr(&r, "X-Frame-Options"), "DENY");
    reply_free(&r);
    free(u);
    free(rqt);
    free(body);
}

/* ---- F5 (agent is resource) and identity scopes (D-23) -------------------------------- */

Test(ref_auth, f5_identity_scopes_force_consent)
{
    struct reply r;
    char *body, *code, jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *c;

    env_default(); /* require_user_consent = false */
    body = form("request_type", "auth", "scope", "openid profile email", "redirect_uri", E.callback,
                NULL);
    code = get_code(false, body);
    redeem(false, code, E.callback, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cr_assert_str_eq(jstr(c, "aud"), aa_ref_id(E.ag));
    cr_assert_not(jhas(c, "agent"), "F5: no agent claim");
    cr_assert_not(jhas(c, "agent_delegate"));
    cr_assert_str_eq(jstr(c, "sub"), "testuser");
    cr_assert_str_eq(jstr(c, "name"), "Test User");
    cr_assert_str_eq(jstr(c, "email"), "testuser@example.com");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "email_verified")));
    cr_assert_not(jhas(c, "scope"), "identity scopes stay out of scope");
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, E.ag_jkt);
    cJSON_Delete(c);
    reply_free(&r);
    free(code);
    free(body);

    /* openid only: sub, no name/email; mixed with data.read: scope keeps data.read only */
    body =
        form("request_type", "auth", "scope", "openid data.read", "redirect_uri", E.callback, NULL);
    code = get_code(false, body);
    redeem(false, code, E.callback, &r);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cr_assert_str_eq(jstr(c, "sub"), "testuser");
    cr_assert_not(jhas(c, "name"));
    cr_assert_not(jhas(c, "email"));
    cr_assert_str_eq(jstr(c, "scope"), "data.read");
    cJSON_Delete(c);
    reply_free(&r);
    free(code);
    free(body);
}

Test(ref_auth, f5_delegate_and_scope_errors)
{
    struct reply r;
    char *body, *code, jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *c;

    env_default();
    body = form("request_type", "auth", "scope", "openid email", "redirect_uri", E.callback, NULL);
    code = get_code(true, body);
    redeem(true, code, E.callback, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cr_assert_str_eq(jstr(c, "aud"), aa_ref_id(E.ag));
    cr_assert_not(jhas(c, "agent"));
    cr_assert_str_eq(jstr(c, "agent_delegate"), DELEGATE_SUB);
    cr_assert_str_eq(jstr(c, "email"), "testuser@example.com");
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, E.d_jkt);
    cJSON_Delete(c);
    reply_free(&r);
    free(code);
    free(body);

    /* no identity scope, no consent switch: a direct grant with aud = agent */
    body = form("request_type", "auth", "scope", "data.read", "redirect_uri", E.callback, NULL);
    as_agent(body, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cr_assert_str_eq(jstr(c, "aud"), aa_ref_id(E.ag));
    cr_assert_not(jhas(c, "agent"));
    cr_assert_str_eq(jstr(c, "scope"), "data.read");
    cJSON_Delete(c);
    reply_free(&r);
    free(body);

    /* unknown and malformed scopes */
    body =
        form("request_type", "auth", "scope", "data.read admin", "redirect_uri", E.callback, NULL);
    as_agent(body, &r);
    expect_error(&r, 400, "invalid_scope");
    reply_free(&r);
    free(body);
    body = form("request_type", "auth", "scope", "data.read  openid", "redirect_uri", E.callback,
                NULL);
    as_agent(body, &r);
    expect_error(&r, 400, "invalid_scope");
    reply_free(&r);
    free(body);
    body = form("request_type", "auth", "scope", "", "redirect_uri", E.callback, NULL);
    as_agent(body, &r);
    expect_error(&r, 400, "invalid_scope");
    reply_free(&r);
    free(body);

    /* auth_request_url: opaque, always through consent */
    body = form("request_type", "auth", "auth_request_url", "https://ag.example/req/1",
                "redirect_uri", E.callback, NULL);
    free(ask_consent(false, body));
    free(body);
}

/* D-18: consent needs registered redirect_uris; a resource acting as an
 * agent (jwks well-known=aauth-resource) publishes none. */
Test(ref_auth, d18_consent_needs_registered_redirect_uris)
{
    struct reply r;
    struct rt_spec sp;
    char *body, *rt, r_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    struct aa_ref_server *r2;

    env_default();
    r2 = keep(start_resource(aa_ref_id(E.as)));
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(E.r), r_jkt), AA_OK);
    body = form("request_type", "auth", "scope", "openid", "redirect_uri", "http://127.0.0.1:1/cb",
                NULL);
    token_req(E.as, aa_ref_key(E.r), cred_jwks(E.r, "aauth-resource"), body, &r);
    expect_error(&r, 400, "invalid_request");
    cr_assert_not_null(strstr(jstr(r.json, "error_description"), "redirect_uris"), "%s", r.body);
    reply_free(&r);
    free(body);
    /* without consent the list is not needed: R asks R2's token for itself */
    memset(&sp, 0, sizeof(sp));
    sp.res = r2;
    sp.agent = aa_ref_id(E.r);
    sp.jkt = r_jkt;
    rt = mint_rt(&sp);
    body = form("request_type", "auth", "resource_token", rt, "redirect_uri",
                "http://127.0.0.1:1/cb", NULL);
    token_req(E.as, aa_ref_key(E.r), cred_jwks(E.r, "aauth-resource"), body, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    free(body);
    free(rt);
}

/* ---- refresh (PROFILE#6.3, D-20, #9 RF, #7.6 TEST 4) ---------------------------------- */

Test(ref_auth, f3_refresh)
{
    struct reply g, r;
    cJSON *c0, *c1;
    char *b, j0[AA_JWK_THUMBPRINT_LEN + 1], j1[AA_JWK_THUMBPRINT_LEN + 1];

    env_default();
    direct_grant(false, &g);
    c0 = open_jwt(jstr(g.json, "auth_token"), E.as, NULL);
    aa_ref_clock_advance(&E.clock, 100);
    b = form("request_type", "refresh", "refresh_token", jstr(g.json, "refresh_token"), NULL);
    as_agent(b, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(hdr(&r, "Cache-Control"), "no-store");
    cr_assert_not(jhas(r.json, "refresh_token"), "refresh tokens are not rotated (D-20)");
    cr_assert_eq(jint(r.json, "expires_in"), 3600);
    c1 = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cr_assert_str_eq(jstr(c1, "aud"), jstr(c0, "aud"));
    cr_assert_str_eq(jstr(c1, "agent"), jstr(c0, "agent"));
    cr_assert_str_eq(jstr(c1, "scope"), jstr(c0, "scope"));
    cr_assert_eq(jint(c1, "exp"), jint(c0, "exp") + 100);
    cr_assert_str_neq(jstr(c1, "jti"), jstr(c0, "jti"));
    cnf_jkt(c0, j0);
    cnf_jkt(c1, j1);
    cr_assert_str_eq(j0, j1);
    reply_free(&r);
    /* not single use */
    as_agent(b, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    cJSON_Delete(c0);
    cJSON_Delete(c1);
    reply_free(&g);
    free(b);
}

Test(ref_auth, rf_failures)
{
    struct reply g, dg, r;
    struct aa_jwk k2, hk;
    char *b, *db, *tok2;
    struct aa_ref_server *ag2;

    env_default();
    direct_grant(false, &g);
    direct_grant(true, &dg);
    b = form("request_type", "refresh", "refresh_token", jstr(g.json, "refresh_token"), NULL);
    db = form("request_type", "refresh", "refresh_token", jstr(dg.json, "refresh_token"), NULL);

    /* RF-01 unknown */
    {
        char *u =
            form("request_type", "refresh", "refresh_token", "bm90LWEtcmVmcmVzaC10b2tlbg", NULL);
        as_agent(u, &r);
        expect_error(&r, 400, "invalid_grant");
        reply_free(&r);
        free(u);
        u = form("request_type", "refresh", NULL);
        as_agent(u, &r);
        expect_error(&r, 400, "invalid_request");
        reply_free(&r);
        free(u);
    }
    /* RF-02 another agent */
    ag2 = keep(start_agent());
    token_req(E.as, aa_ref_key(ag2), cred_jwks(ag2, "aauth-agent"), b, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    /* ... the agent using its delegate's token, and vice versa */
    as_agent(db, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    as_delegate(b, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    /* RF-03 same agent, another delegate sub */
    tok2 = get_agent_token("delegate-2", &k2, "delegate-key-2");
    token_req(E.as, &k2, cred_jwt(tok2), db, &r);
    expect_error(&r, 400, "invalid_grant");
    reply_free(&r);
    /* RF-05 hwk / auth+jwt */
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "h", &hk), AA_OK);
    token_req(E.as, &hk, cred_hwk(), b, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    token_req(E.as, aa_ref_key(E.ag), cred_jwt(jstr(g.json, "auth_token")), b, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    /* Positive controls before expiry */
    as_agent(b, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    as_delegate(db, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    /* RF-04 expired (24 h) */
    aa_ref_clock_advance(&E.clock, 86400);
    as_agent(b, &r);
    expect_error(&r, 400, "invalid_grant");
    cr_assert_not_null(strstr(jstr(r.json, "error_description"), "expired"), "%s", r.body);
    reply_free(&r);
    aa_jwk_cleanup(&k2);
    aa_jwk_cleanup(&hk);
    free(tok2);
    reply_free(&g);
    reply_free(&dg);
    free(b);
    free(db);
}

Test(ref_auth, f6_refresh_with_key_rotation)
{
    struct reply g, r;
    struct aa_jwk k2;
    char *b, *tok2, k2_jkt[AA_JWK_THUMBPRINT_LEN + 1], jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *c;

    env_default();
    direct_grant(true, &g);
    b = form("request_type", "refresh", "refresh_token", jstr(g.json, "refresh_token"), NULL);
    /* same sub, new key K2 */
    tok2 = get_agent_token(DELEGATE_SUB, &k2, "delegate-key-2");
    cr_assert_eq(aa_jwk_thumbprint(&k2, k2_jkt), AA_OK);
    token_req(E.as, &k2, cred_jwt(tok2), b, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_not(jhas(r.json, "refresh_token"));
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, k2_jkt, "rotation: cnf is the new key");
    cr_assert_str_eq(jstr(c, "agent_delegate"), DELEGATE_SUB);
    cr_assert_str_eq(jstr(c, "agent"), aa_ref_id(E.ag));
    cJSON_Delete(c);
    reply_free(&r);
    /* the old agent token still refreshes to the old key */
    as_delegate(b, &r);
    cr_assert_eq(r.status, 200);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, NULL);
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, E.d_jkt);
    cJSON_Delete(c);
    reply_free(&r);
    aa_jwk_cleanup(&k2);
    free(tok2);
    free(b);
    reply_free(&g);
}

/* ---- token exchange (PROFILE#6.5, #7 F7, #9 EX) --------------------------------------- */

struct xenv {
    struct aa_ref_server *as2, *r1, *r2;
    char r1_jkt[AA_JWK_THUMBPRINT_LEN + 1];
};

static void xenv_up(struct xenv *x, bool trust)
{
    struct as_opts o;
    const char *trusted[1];

    trusted[0] = aa_ref_id(E.as);
    memset(&o, 0, sizeof(o));
    o.trusted = trusted;
    o.n_trusted = trust ? 1 : 0;
    x->as2 = keep(start_as(&o));
    x->r1 = E.r;
    x->r2 = keep(start_resource(aa_ref_id(x->as2)));
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(x->r1), x->r1_jkt), AA_OK);
}

/* T1: an auth+jwt from AS1 (minted with its key) for R1. */
struct t1_spec {
    const char *iss_typ; /* typ, default auth+jwt */
    const char *aud, *scope, *sub, *delegate;
    bool no_agent;
    int act_depth;
    int64_t exp_off;
    const struct aa_jwk *key; /* default AS1 */
};

static char *mint_t1(const struct t1_spec *sp)
{
    cJSON *c = cJSON_CreateObject(), *cnf, *act = NULL;

    cJSON_AddStringToObject(c, "iss", aa_ref_id(E.as));
    if (sp->sub)
        cJSON_AddStringToObject(c, "sub", sp->sub);
    cJSON_AddStringToObject(c, "aud", sp->aud ? sp->aud : aa_ref_id(E.r));
    if (!sp->no_agent)
        cJSON_AddStringToObject(c, "agent", aa_ref_id(E.ag));
    if (sp->delegate)
        cJSON_AddStringToObject(c, "agent_delegate", sp->delegate);
    cJSON_AddStringToObject(c, "scope", sp->scope ? sp->scope : "data.read data.write");
    for (int i = sp->act_depth; i > 0; i--) {
        cJSON *lvl = cJSON_CreateObject();
        char name[64];
        aa_snprintf(name, sizeof(name), "https://hop%d.example", i);
        cJSON_AddStringToObject(lvl, "agent", name);
        if (act != NULL)
            cJSON_AddItemToObject(lvl, "act", act);
        act = lvl;
    }
    if (act != NULL)
        cJSON_AddItemToObject(c, "act", act);
    cnf = cJSON_AddObjectToObject(c, "cnf");
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(aa_ref_key(E.ag), false));
    cJSON_AddNumberToObject(c, "iat", (double)now());
    cJSON_AddNumberToObject(c, "exp", (double)(now() + (sp->exp_off ? sp->exp_off : 3600)));
    return sign_jwt(sp->key ? sp->key : aa_ref_key(E.as), sp->iss_typ ? sp->iss_typ : "auth+jwt", c,
                    NULL);
}

static char *mint_rt2(const struct xenv *x, const char *scope, const char *jkt)
{
    struct rt_spec sp;

    memset(&sp, 0, sizeof(sp));
    sp.res = x->r2;
    sp.aud = aa_ref_id(x->as2);
    sp.agent = aa_ref_id(x->r1);
    sp.jkt = jkt ? jkt : x->r1_jkt;
    sp.scope = scope ? scope : "data.read";
    return mint_rt(&sp);
}

static void exchange(const struct xenv *x, const struct aa_jwk *key, struct aa_sign_cred cred,
                     const char *rt2, struct reply *out)
{
    char *b = form("request_type", "exchange", "resource_token", rt2, NULL);
    token_req(x->as2, key, cred, b, out);
    free(b);
}

Test(ref_auth, f7_exchange)
{
    struct as_opts o = {.consent = true};
    struct xenv x;
    struct reply r;
    struct sreq q;
    char *body, *code, *t1, *t2, *rt2, jkt[AA_JWK_THUMBPRINT_LEN + 1], *u;
    cJSON *c, *t1c;
    const cJSON *act;

    env_up(&o);
    xenv_up(&x, true);
    /* TEST 1: a delegate obtains T1 for R1 through consent (so T1 has sub). */
    body = rt_body(true);
    code = get_code(true, body);
    redeem(true, code, E.callback, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    t1 = aa_strdup(jstr(r.json, "auth_token"));
    reply_free(&r);
    t1c = open_jwt(t1, E.as, NULL);

    /* TEST 2: R1 exchanges T1 at AS2 for R2, signing with K_R1. */
    rt2 = mint_rt2(&x, NULL, NULL);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    cr_assert_eq(r.status, 200, "exchange: %s", r.body);
    cr_assert_str_eq(hdr(&r, "Cache-Control"), "no-store");
    cr_assert_not(jhas(r.json, "refresh_token"), "EX-08: no refresh token");
    cr_assert_gt(jint(r.json, "expires_in"), 0);

    /* TEST 3: T2 */
    c = open_jwt(jstr(r.json, "auth_token"), x.as2, NULL);
    cr_assert_str_eq(jstr(c, "iss"), aa_ref_id(x.as2));
    cr_assert_str_eq(jstr(c, "aud"), aa_ref_id(x.r2));
    cr_assert_str_eq(jstr(c, "agent"), aa_ref_id(x.r1));
    cr_assert_not(jhas(c, "agent_delegate"));
    cr_assert_str_eq(jstr(c, "scope"), "data.read");
    cr_assert_str_eq(jstr(c, "sub"), "testuser");
    cnf_jkt(c, jkt);
    cr_assert_str_eq(jkt, x.r1_jkt);
    cr_assert(jhas(c, "iat") && jhas(c, "nbf") && jhas(c, "exp"));
    cr_assert_leq(jint(c, "exp"), jint(t1c, "exp"), "T2 does not outlive T1");
    act = cJSON_GetObjectItemCaseSensitive(c, "act");
    cr_assert_not_null(act, "EX-08: act");
    cr_assert_str_eq(jstr(act, "agent"), aa_ref_id(E.ag));
    cr_assert_str_eq(jstr(act, "agent_delegate"), DELEGATE_SUB);
    cr_assert_str_eq(jstr(act, "sub"), "testuser");
    cr_assert_not(jhas(act, "act"));

    /* R1 -> R2 /data-auth with T2, signed by K_R1. */
    u = url_of(x.r2, "/data-auth");
    memset(&q, 0, sizeof(q));
    q.method = "GET";
    q.url = u;
    q.key = aa_ref_key(x.r1);
    t2 = aa_strdup(jstr(r.json, "auth_token"));
    q.cred = cred_jwt(t2);
    reply_free(&r);
    send_signed(&q, &r);
    cr_assert_eq(r.status, 200, "R2 with T2: %s", r.body);
    cr_assert_str_eq(jstr(r.json, "agent"), aa_ref_id(x.r1));
    reply_free(&r);

    cJSON_Delete(c);
    cJSON_Delete(t1c);
    free(t2);
    free(u);
    free(rt2);
    free(t1);
    free(code);
    free(body);
}

Test(ref_auth, ex_failures)
{
    struct xenv x;
    struct t1_spec ts;
    struct reply r;
    struct aa_jwk other;
    char *t1, *rt2, other_jkt[AA_JWK_THUMBPRINT_LEN + 1];

    env_default();
    xenv_up(&x, true);
    memset(&ts, 0, sizeof(ts));
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "o", &other), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&other, other_jkt), AA_OK);
    rt2 = mint_rt2(&x, NULL, NULL);

    /* Positive control: a minted T1 without sub/act. */
    t1 = mint_t1(&ts);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    {
        cJSON *c = open_jwt(jstr(r.json, "auth_token"), x.as2, NULL);
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(c, "act");
        cr_assert_not(jhas(c, "sub"), "no sub when T1 had none");
        cr_assert_not(jhas(act, "agent_delegate"), "agent_delegate iff T1 had one");
        cr_assert_not(jhas(act, "sub"));
        cJSON_Delete(c);
    }
    reply_free(&r);

    /* EX-03 jwks credential */
    exchange(&x, aa_ref_key(x.r1), cred_jwks(x.r1, "aauth-resource"), rt2, &r);
    expect_error(&r, 400, "invalid_request");
    reply_free(&r);
    /* EX-07 no resource_token */
    {
        char *b = form("request_type", "exchange", NULL);
        token_req(x.as2, aa_ref_key(x.r1), cred_jwt(t1), b, &r);
        expect_error(&r, 400, "invalid_request");
        reply_free(&r);
        free(b);
    }
    /* EX-02 T1 aud != RT2 agent */
    {
        struct rt_spec sp;
        char *bad;
        memset(&sp, 0, sizeof(sp));
        sp.res = x.r2;
        sp.aud = aa_ref_id(x.as2);
        sp.agent = aa_ref_id(x.r2); /* RT2 for another agent */
        sp.jkt = x.r1_jkt;
        bad = mint_rt(&sp);
        exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), bad, &r);
        expect_error(&r, 400, "invalid_resource_token");
        reply_free(&r);
        free(bad);
    }
    /* EX-05 signed by a key whose thumbprint is not agent_jkt */
    exchange(&x, &other, cred_jwt(t1), rt2, &r);
    expect_error(&r, 401, "invalid_signature");
    reply_free(&r);
    /* ... and an agent_jkt R1 does not publish: invalid_key */
    {
        char *bad = mint_rt2(&x, NULL, other_jkt);
        exchange(&x, &other, cred_jwt(t1), bad, &r);
        expect_error(&r, 401, "invalid_key");
        /* what the lookup met at R1's URLs stays in the AS's log */
        cr_assert(strstr(jstr(r.json, "error_description"), "reason is in this server's log") !=
                      NULL,
                  "%s", r.body);
        cr_assert_null(strstr(r.body, "/.well-known/"), "%s", r.body);
        reply_free(&r);
        free(bad);
    }
    free(t1);
    /* EX-04 upstream is an agent+jwt */
    exchange(&x, aa_ref_key(x.r1), cred_jwt(E.dtoken), rt2, &r);
    expect_error(&r, 401, "invalid_token");
    reply_free(&r);
    /* EX-06 upstream expired */
    ts.exp_off = -120;
    t1 = mint_t1(&ts);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    expect_error(&r, 401, "invalid_token");
    reply_free(&r);
    free(t1);
    ts.exp_off = 0;
    /* T1 signed by a key AS1 does not publish */
    ts.key = &other;
    t1 = mint_t1(&ts);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    expect_error(&r, 401, "invalid_token");
    reply_free(&r);
    free(t1);
    ts.key = NULL;
    /* T1 without agent */
    ts.no_agent = true;
    t1 = mint_t1(&ts);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    expect_error(&r, 401, "invalid_token");
    reply_free(&r);
    free(t1);
    ts.no_agent = false;
    /* policy: RT2 scope beyond T1's */
    ts.scope = "data.read";
    t1 = mint_t1(&ts);
    {
        char *wide = mint_rt2(&x, "data.read data.write", NULL);
        exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), wide, &r);
        expect_error(&r, 403, "access_denied");
        reply_free(&r);
        free(wide);
    }
    free(t1);
    ts.scope = NULL;
    /* EX-09: T1 with act depth 3 -> T2 depth 4 (allowed), depth 4 -> 5 (403) */
    ts.act_depth = 3;
    t1 = mint_t1(&ts);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    cr_assert_eq(r.status, 200, "depth 4: %s", r.body);
    {
        cJSON *c = open_jwt(jstr(r.json, "auth_token"), x.as2, NULL);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, "act");
        int depth = 0;
        for (; a != NULL; a = cJSON_GetObjectItemCaseSensitive(a, "act"))
            depth++;
        cr_assert_eq(depth, 4);
        a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "act"), "act");
        cr_assert_str_eq(jstr(a, "agent"), "https://hop1.example");
        cJSON_Delete(c);
    }
    reply_free(&r);
    free(t1);
    ts.act_depth = 4;
    t1 = mint_t1(&ts);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    expect_error(&r, 403, "access_denied");
    reply_free(&r);
    free(t1);

    aa_jwk_cleanup(&other);
    free(rt2);
}

Test(ref_auth, ex_01_untrusted_upstream)
{
    struct xenv x;
    struct t1_spec ts;
    struct reply r;
    char *t1, *rt2;

    env_default();
    xenv_up(&x, false); /* AS2 trusts nobody */
    memset(&ts, 0, sizeof(ts));
    t1 = mint_t1(&ts);
    rt2 = mint_rt2(&x, NULL, NULL);
    exchange(&x, aa_ref_key(x.r1), cred_jwt(t1), rt2, &r);
    expect_error(&r, 401, "invalid_token");
    cr_assert_not_null(strstr(jstr(r.json, "error_description"), "trusted"), "%s", r.body);
    reply_free(&r);
    free(t1);
    free(rt2);
}

/* ---- bounded tables ------------------------------------------------------------------- */

Test(ref_auth, tables_are_bounded)
{
    struct as_opts o = {.consent = true, .max_entries = 2};
    struct reply r;
    char *body, *a, *b;

    env_up(&o);
    body = rt_body(false);
    a = ask_consent(false, body);
    b = ask_consent(false, body);
    as_agent(body, &r);
    expect_error(&r, 429, "temporarily_unavailable");
    cr_assert_str_eq(hdr(&r, "Retry-After"), "600");
    reply_free(&r);
    /* once the entries expire their slots are reused (with a fresh
     * resource token: the first one expired meanwhile) */
    aa_ref_clock_advance(&E.clock, 600);
    free(body);
    body = rt_body(false);
    free(ask_consent(false, body));
    free(a);
    free(b);
    free(body);
}

/* Concurrent grants against a small table: the table never holds more
 * than its capacity, every refused request is a clean 429. */
#define WORKERS 4
#define PER_WORKER 8

struct worker {
    char *bodies[PER_WORKER];
    char *url;
    long status[PER_WORKER];
    int rc;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct aa_http_client *c = aa_http_client_new(NULL);
    struct aa_clock clk = sign_clock();
    struct aa_sign_opts o;
    struct aa_sign_cred cred = cred_agent();

    w->rc = c != NULL ? AA_OK : AA_E_NOMEM;
    for (int i = 0; i < PER_WORKER && w->rc == AA_OK; i++) {
        struct aa_http_headers h;
        struct aa_sign_request sr;
        struct aa_signed sg;
        struct reply r;

        aa_http_headers_init(&h);
        memset(&sr, 0, sizeof(sr));
        memset(&sg, 0, sizeof(sg));
        memset(&r, 0, sizeof(r));
        memset(&o, 0, sizeof(o));
        o.clock = &clk;
        w->rc = aa_http_headers_add(&h, "Content-Type", FORM_CT);
        sr.method = "POST";
        sr.url = w->url;
        sr.headers = &h;
        sr.body = w->bodies[i];
        sr.body_len = strlen(w->bodies[i]);
        if (w->rc == AA_OK)
            w->rc = aa_aauth_sign(NULL, &sr, aa_ref_key(E.ag), &cred, &o, &sg, NULL);
        for (size_t k = 0; w->rc == AA_OK && k < sg.headers.n; k++)
            w->rc = aa_http_headers_addn(&h, sg.headers.v[k].name, sg.headers.v[k].value,
                                         sg.headers.v[k].value_len);
        if (w->rc == AA_OK)
            w->rc = send_on(c, "POST", w->url, &h, w->bodies[i], &r);
        w->status[i] = r.status;
        reply_free(&r);
        aa_signed_cleanup(&sg);
        aa_http_headers_cleanup(&h);
    }
    aa_http_client_free(c);
    return NULL;
}

Test(ref_auth, tables_bounded_under_concurrency)
{
    struct as_opts o = {.max_entries = 16};
    struct worker w[WORKERS];
    pthread_t t[WORKERS];
    int ok = 0, busy = 0;

    env_up(&o);
    memset(w, 0, sizeof(w));
    for (int k = 0; k < WORKERS; k++) {
        w[k].url = url_of(E.as, "/agent/token");
        for (int i = 0; i < PER_WORKER; i++)
            w[k].bodies[i] = rt_body(false); /* minted here: cr_assert is main-thread only */
    }
    for (int k = 0; k < WORKERS; k++)
        cr_assert_eq(pthread_create(&t[k], NULL, worker_main, &w[k]), 0);
    for (int k = 0; k < WORKERS; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < WORKERS; k++) {
        cr_assert_eq(w[k].rc, AA_OK, "worker %d: %s", k, aa_strerror(w[k].rc));
        for (int i = 0; i < PER_WORKER; i++) {
            cr_assert(w[k].status[i] == 200 || w[k].status[i] == 429, "status %ld", w[k].status[i]);
            ok += w[k].status[i] == 200;
            busy += w[k].status[i] == 429;
            free(w[k].bodies[i]);
        }
        free(w[k].url);
    }
    /* each direct grant stores one refresh token: exactly 16 fit */
    cr_assert_eq(ok, 16);
    cr_assert_eq(busy, WORKERS * PER_WORKER - 16);
}

/* ---- fault switches (aa_ref.h, ref_faults.c) ------------------------------------------ */

/* Start the default environment with |faults| (nothing else differs). */
static void env_faults(unsigned faults)
{
    struct as_opts o;
    memset(&o, 0, sizeof(o));
    o.faults = faults;
    o.consent = faults == AA_REF_FAULT_CODE_REUSE;
    env_up(&o);
}

static long rt_status(const struct rt_spec *sp)
{
    struct reply r;
    char *rt = mint_rt(sp), *b;
    long st;

    b = form("request_type", "auth", "resource_token", rt, "redirect_uri", E.callback, NULL);
    as_agent(b, &r);
    st = r.status;
    reply_free(&r);
    free(rt);
    free(b);
    return st;
}

/* One hostile resource token per RT fault; off -> 400, on -> 200. */
static void rt_fault_case(unsigned fault, const struct rt_spec *sp, bool on)
{
    env_faults(on ? fault : 0);
    cr_assert_eq(rt_status(sp), on ? 200 : 400, "fault %s %s", aa_ref_fault_find(fault)->name,
                 on ? "on" : "off");
}

Test(ref_auth, fault_ignore_aud_off)
{
    struct rt_spec sp = {.aud = "http://127.0.0.1:9"};
    rt_fault_case(AA_REF_FAULT_IGNORE_AUD, &sp, false);
}
Test(ref_auth, fault_ignore_aud_on)
{
    struct rt_spec sp = {.aud = "http://127.0.0.1:9"};
    struct rt_spec other = {.agent = "http://127.0.0.1:9"};
    rt_fault_case(AA_REF_FAULT_IGNORE_AUD, &sp, true);
    cr_assert_eq(rt_status(&other), 400, "only aud is ignored");
}
Test(ref_auth, fault_accept_expired_off)
{
    struct rt_spec sp = {.exp_off = -120};
    rt_fault_case(AA_REF_FAULT_ACCEPT_EXPIRED, &sp, false);
}
Test(ref_auth, fault_accept_expired_on)
{
    struct rt_spec sp = {.exp_off = -120};
    struct rt_spec other = {.typ = "JWT"};
    rt_fault_case(AA_REF_FAULT_ACCEPT_EXPIRED, &sp, true);
    cr_assert_eq(rt_status(&other), 400);
}
Test(ref_auth, fault_skip_typ_off)
{
    struct rt_spec sp = {.typ = "JWT"};
    rt_fault_case(AA_REF_FAULT_SKIP_TYP, &sp, false);
}
Test(ref_auth, fault_skip_typ_on)
{
    struct rt_spec sp = {.typ = "JWT"};
    struct rt_spec other = {.exp_off = -120};
    rt_fault_case(AA_REF_FAULT_SKIP_TYP, &sp, true);
    cr_assert_eq(rt_status(&other), 400);
}
Test(ref_auth, fault_rt_no_sig_check_off)
{
    struct rt_spec sp = {.flip_sig = true};
    rt_fault_case(AA_REF_FAULT_RT_NO_SIG_CHECK, &sp, false);
}
Test(ref_auth, fault_rt_no_sig_check_on)
{
    struct rt_spec sp = {.flip_sig = true};
    struct aa_jwk k2;
    const char *fake;

    rt_fault_case(AA_REF_FAULT_RT_NO_SIG_CHECK, &sp, true);
    /* an unknown kid is also accepted ... */
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "no-such-kid", &k2), AA_OK);
    memset(&sp, 0, sizeof(sp));
    sp.key = &k2;
    cr_assert_eq(rt_status(&sp), 200);
    /* ... but every other check still holds: agent, metadata identifier */
    memset(&sp, 0, sizeof(sp));
    sp.flip_sig = true;
    sp.agent = "http://127.0.0.1:9";
    cr_assert_eq(rt_status(&sp), 400);
    fake = start_fake("http://127.0.0.1:9");
    memset(&sp, 0, sizeof(sp));
    sp.iss = fake;
    sp.key = &k2;
    cr_assert_eq(rt_status(&sp), 400, "RT-08 still fails under rt-no-sig-check");
    aa_jwk_cleanup(&k2);
}

Test(ref_auth, fault_wrong_typ)
{
    struct reply r;
    cJSON *h, *c;

    env_faults(AA_REF_FAULT_WRONG_TYP);
    direct_grant(false, &r);
    c = open_jwt(jstr(r.json, "auth_token"), E.as, &h);
    cr_assert_str_eq(jstr(h, "typ"), "JWT");
    cr_assert_str_eq(jstr(c, "aud"), aa_ref_id(E.r), "only typ changes");
    cJSON_Delete(h);
    cJSON_Delete(c);
    reply_free(&r);
}

static long code_twice(void)
{
    struct reply r;
    char *body = rt_body(false), *code = get_code(false, body);
    long st;

    redeem(false, code, E.callback, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    redeem(false, code, E.callback, &r);
    st = r.status;
    reply_free(&r);
    free(code);
    free(body);
    return st;
}

Test(ref_auth, fault_code_reuse)
{
    env_faults(AA_REF_FAULT_CODE_REUSE);
    cr_assert_eq(code_twice(), 200, "code-reuse: a second redemption succeeds");
    /* other code checks still hold: redirect_uri mismatch */
    {
        struct reply r;
        char *body = rt_body(false), *code = get_code(false, body);
        redeem(false, code, "http://127.0.0.1:1/x", &r);
        expect_error(&r, 400, "invalid_grant");
        reply_free(&r);
        free(code);
        free(body);
    }
}

Test(ref_auth, fault_code_reuse_off)
{
    struct as_opts o = {.consent = true};
    env_up(&o);
    cr_assert_eq(code_twice(), 400);
}

static long refresh_by_other_agent(void)
{
    struct reply g, r;
    struct aa_ref_server *ag2 = keep(start_agent());
    char *b;
    long st;

    direct_grant(false, &g);
    b = form("request_type", "refresh", "refresh_token", jstr(g.json, "refresh_token"), NULL);
    token_req(E.as, aa_ref_key(ag2), cred_jwks(ag2, "aauth-agent"), b, &r);
    st = r.status;
    reply_free(&r);
    reply_free(&g);
    free(b);
    return st;
}

Test(ref_auth, fault_refresh_any_agent)
{
    env_faults(AA_REF_FAULT_REFRESH_ANY_AGENT);
    cr_assert_eq(refresh_by_other_agent(), 200);
    /* expiry still applies */
    {
        struct reply g, r;
        char *b;
        direct_grant(false, &g);
        b = form("request_type", "refresh", "refresh_token", jstr(g.json, "refresh_token"), NULL);
        aa_ref_clock_advance(&E.clock, 86400);
        as_agent(b, &r);
        expect_error(&r, 400, "invalid_grant");
        reply_free(&r);
        reply_free(&g);
        free(b);
    }
}

Test(ref_auth, fault_refresh_any_agent_off)
{
    env_faults(0);
    cr_assert_eq(refresh_by_other_agent(), 400);
}

/* AT-09 at the AS: an agent token presented with a signature by another key. */
static long delegate_signed_by_other_key(void)
{
    struct aa_jwk other;
    struct reply r;
    char *b = rt_body(true);
    long st;

    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "x", &other), AA_OK);
    token_req(E.as, &other, cred_jwt(E.dtoken), b, &r);
    st = r.status;
    if (st != 200)
        cr_assert_str_eq(jstr(r.json, "error"), "invalid_signature", "%s", r.body);
    reply_free(&r);
    aa_jwk_cleanup(&other);
    free(b);
    return st;
}

Test(ref_auth, fault_cnf_unbound)
{
    env_faults(AA_REF_FAULT_CNF_UNBOUND);
    cr_assert_eq(delegate_signed_by_other_key(), 200);
}

Test(ref_auth, fault_cnf_unbound_off)
{
    env_faults(0);
    cr_assert_eq(delegate_signed_by_other_key(), 401);
}

/* AT-02: an agent token with alg "none" (kid of the real agent key). */
static long alg_none_agent_token(void)
{
    struct aa_jwt_build_opts bo;
    struct reply r;
    cJSON *c = cJSON_CreateObject(), *cnf;
    char *tok, *b = rt_body(true);
    long st;

    memset(&bo, 0, sizeof(bo));
    bo.mutations = AA_JWT_MUT_ALG_NONE;
    cJSON_AddStringToObject(c, "iss", aa_ref_id(E.ag));
    cJSON_AddStringToObject(c, "sub", DELEGATE_SUB);
    cJSON_AddNumberToObject(c, "exp", (double)(now() + 600));
    cnf = cJSON_AddObjectToObject(c, "cnf");
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&E.dkey, false));
    tok = sign_jwt(aa_ref_key(E.ag), "agent+jwt", c, &bo);
    token_req(E.as, &E.dkey, cred_jwt(tok), b, &r);
    st = r.status;
    if (st != 200)
        cr_assert_str_eq(jstr(r.json, "error"), "invalid_token", "%s", r.body);
    reply_free(&r);
    free(tok);
    free(b);
    return st;
}

Test(ref_auth, fault_accept_alg_none)
{
    env_faults(AA_REF_FAULT_ACCEPT_ALG_NONE);
    cr_assert_eq(alg_none_agent_token(), 200);
}

Test(ref_auth, fault_accept_alg_none_off)
{
    env_faults(0);
    cr_assert_eq(alg_none_agent_token(), 401);
}

/* The verifier-level faults, each with the one request variant it lets through. */
enum sig_variant { V_REPLAY, V_DIGEST, V_CREATED, V_COVERAGE, V_LEGACY, V_HOST };

static long signed_variant(enum sig_variant v)
{
    struct reply r;
    struct sreq q;
    char *u = url_of(E.as, "/agent/token"), *b = rt_body(false);
    static const char *const omit[] = {"signature-key", NULL};
    long st;

    memset(&q, 0, sizeof(q));
    q.url = u;
    q.body = b;
    q.key = aa_ref_key(E.ag);
    q.cred = cred_agent();
    switch (v) {
    case V_REPLAY:
        q.nonce = "cmVwbGF5LW5vbmNlLWZhdWx0";
        send_signed(&q, &r);
        cr_assert_eq(r.status, 200, "%s", r.body);
        reply_free(&r);
        memset(&q.opts, 0, sizeof(q.opts));
        break;
    case V_DIGEST:
        q.opts.variants = AA_SIGN_V_BAD_DIGEST;
        break;
    case V_CREATED:
        q.opts.created_offset = -120;
        break;
    case V_COVERAGE:
        q.opts.omit = omit;
        break;
    case V_LEGACY:
        q.opts.variants = AA_SIGN_V_LEGACY_BASE;
        break;
    case V_HOST:
        q.host = "127.0.0.1:1";
        break;
    }
    send_signed(&q, &r);
    st = r.status;
    if (st != 200)
        cr_assert(r.status == 401, "%s", r.body);
    reply_free(&r);
    free(b);
    free(u);
    return st;
}

static void verifier_fault(unsigned fault, enum sig_variant v)
{
    env_faults(fault);
    cr_assert_eq(signed_variant(v), 200, "fault %s on", aa_ref_fault_find(fault)->name);
}

static void verifier_fault_off(enum sig_variant v)
{
    env_faults(0);
    cr_assert_eq(signed_variant(v), 401);
}

Test(ref_auth, fault_skip_replay)
{
    verifier_fault(AA_REF_FAULT_SKIP_REPLAY, V_REPLAY);
}
Test(ref_auth, fault_skip_replay_off)
{
    verifier_fault_off(V_REPLAY);
}
Test(ref_auth, fault_skip_digest)
{
    verifier_fault(AA_REF_FAULT_SKIP_DIGEST, V_DIGEST);
}
Test(ref_auth, fault_skip_digest_off)
{
    verifier_fault_off(V_DIGEST);
}
Test(ref_auth, fault_skip_created_window)
{
    verifier_fault(AA_REF_FAULT_SKIP_CREATED_WINDOW, V_CREATED);
}
Test(ref_auth, fault_skip_created_window_off)
{
    verifier_fault_off(V_CREATED);
}
Test(ref_auth, fault_skip_sigkey_coverage)
{
    verifier_fault(AA_REF_FAULT_SKIP_SIGKEY_COVERAGE, V_COVERAGE);
}
Test(ref_auth, fault_skip_sigkey_coverage_off)
{
    verifier_fault_off(V_COVERAGE);
}
Test(ref_auth, fault_accept_legacy_base)
{
    verifier_fault(AA_REF_FAULT_ACCEPT_LEGACY_BASE, V_LEGACY);
}
Test(ref_auth, fault_accept_legacy_base_off)
{
    verifier_fault_off(V_LEGACY);
}
Test(ref_auth, fault_authority_from_host)
{
    verifier_fault(AA_REF_FAULT_AUTHORITY_FROM_HOST, V_HOST);
}
Test(ref_auth, fault_authority_from_host_off)
{
    verifier_fault_off(V_HOST);
}

/* Every fault row that names the auth role is exercised above. */
Test(ref_auth, fault_table_auth_rows_covered)
{
    static const unsigned tested[] = {AA_REF_FAULT_ACCEPT_EXPIRED,
                                      AA_REF_FAULT_SKIP_SIGKEY_COVERAGE,
                                      AA_REF_FAULT_IGNORE_AUD,
                                      AA_REF_FAULT_ACCEPT_ALG_NONE,
                                      AA_REF_FAULT_AUTHORITY_FROM_HOST,
                                      AA_REF_FAULT_ACCEPT_LEGACY_BASE,
                                      AA_REF_FAULT_RT_NO_SIG_CHECK,
                                      AA_REF_FAULT_SKIP_CREATED_WINDOW,
                                      AA_REF_FAULT_SKIP_REPLAY,
                                      AA_REF_FAULT_WRONG_TYP,
                                      AA_REF_FAULT_CNF_UNBOUND,
                                      AA_REF_FAULT_CODE_REUSE,
                                      AA_REF_FAULT_REFRESH_ANY_AGENT,
                                      AA_REF_FAULT_SKIP_DIGEST,
                                      AA_REF_FAULT_SKIP_TYP};
    /* Rows whose only observable effect is end to end (a whole exchange,
     * consent or refresh flow); suites/unit/test_faults.c proves each of
     * them against aauth-conformance, row by row. */
    static const unsigned end_to_end[] = {AA_REF_FAULT_JWKS_PRIVATE,
                                          AA_REF_FAULT_EXCHANGE_UNTRUSTED_UPSTREAM,
                                          AA_REF_FAULT_EXCHANGE_REFRESH_TOKEN,
                                          AA_REF_FAULT_EXCHANGE_NO_ACT,
                                          AA_REF_FAULT_REFRESH_ROTATES,
                                          AA_REF_FAULT_STATE_NOT_ECHOED,
                                          AA_REF_FAULT_F5_AGENT_CLAIM};
    size_t n_auth = 0;

    for (size_t i = 0; i < aa_ref_n_faults; i++) {
        bool found = false;
        if (strstr(aa_ref_faults[i].roles, "auth") == NULL)
            continue;
        n_auth++;
        for (size_t k = 0; k < sizeof(tested) / sizeof(tested[0]); k++)
            found = found || tested[k] == aa_ref_faults[i].bit;
        for (size_t k = 0; k < sizeof(end_to_end) / sizeof(end_to_end[0]); k++)
            found = found || end_to_end[k] == aa_ref_faults[i].bit;
        cr_assert(found, "fault %s (auth) is covered neither here nor in test_faults.c",
                  aa_ref_faults[i].name);
    }
    cr_assert_eq(n_auth, sizeof(tested) / sizeof(tested[0]) + sizeof(end_to_end) / sizeof(end_to_end[0]));
}
