/*
 * The reference resource (reference/lib/ref_resource*.c) against PROFILE#3,
 * #4.5, #5, #6.2, #6.5, #6.7, #6.8 and the resource fault switches.
 *
 * Every test starts, in-process on 127.0.0.1 port 0: the reference agent
 * server (agent metadata, JWKS, /delegate/token), the resource under test
 * and a minimal auth-server stub (issuer metadata, JWKS and an exchange-only
 * /agent/token; the real AS is another module). All share one frozen clock,
 * so token times are asserted exactly. Requests are signed with the
 * harness signer and sent with the harness HTTP client; statuses, headers
 * and bodies are asserted precisely, challenges also through aa_challenge.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "aa_ref.h"
#include "aauth/aa_aauth.h"
#include "http/aa_discovery.h"
#include "http/aa_http.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"
#include "server/aa_server.h"

#include "helpers/aa_test_util.h"

#define T0 1768786221 /* the seed's created time (PROFILE#2.12) */
#define FORM_CT "application/x-www-form-urlencoded"
#define DEFAULT_SCOPE "data.read data.write"
#define AAUTH_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" /* RFC 8032 TEST 1 */

/* ---- small helpers ---------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    char *r = aa_strdup(s);
    cr_assert_not_null(r);
    return r;
}

static cJSON *json_of(const struct aa_http_response *r)
{
    cJSON *j = NULL;

    cr_assert_eq(aa_json_parse(r->body, r->body_len, NULL, &j, NULL), AA_OK,
                 "body is not a JSON object: %.400s", r->body);
    return j;
}

static const char *hdr(const struct aa_http_response *r, const char *name)
{
    return aa_http_headers_get(&r->headers, name);
}

/* |r| has status |status| and a PROFILE#6.8 body {"error":err,...}. */
static void expect_error(const struct aa_http_response *r, long status, const char *err)
{
    cJSON *j;

    cr_assert_eq(r->status, status, "status %ld, expected %ld: %.400s", r->status, status, r->body);
    cr_assert_str_eq(hdr(r, "Content-Type"), "application/json");
    j = json_of(r);
    cr_assert_str_eq(aa_json_str(j, "error"), err, "body %.400s", r->body);
    cr_assert_not_null(aa_json_str(j, "error_description"));
    cJSON_Delete(j);
}

/* The body equals the JSON text |expected| by value. */
static void expect_body(const struct aa_http_response *r, const char *expected)
{
    cJSON *want = cJSON_Parse(expected), *got = json_of(r);

    cr_assert_not_null(want, "bad expectation %s", expected);
    cr_assert(cJSON_Compare(want, got, true), "body %.600s\nexpected %.600s", r->body, expected);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

/* ---- the auth-server stub --------------------------------------------------- */

/*
 * Issuer metadata + JWKS for its key, and /agent/token for
 * request_type=exchange only, following PROFILE#6.5 (T1 validated with the
 * upstream trust list, K_R1 found by RT2.agent_jkt, signature verified
 * with it, RT2 validated, T2 issued). Records what it saw for assertions.
 * Its handler runs on server threads, where Criterion assertions must not
 * be used: an impossible failure aborts the test process instead.
 */
#define STUB_CHECK(x)                                                                              \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

struct stub_as {
    struct aa_server *srv;
    char id[64];
    char authority[64];
    struct aa_jwk key;
    char *meta;
    char *jwks;
    struct aa_ref_clock *clock;
    const char *upstream; /* trusted upstream issuer for exchange */
    struct aa_disc *disc;
    struct aa_nonce_cache *nonces;
    pthread_mutex_t mu;
    int exchanges;       /* successful exchanges */
    int refused;         /* refused exchanges */
    char signer_jkt[64]; /* thumbprint of the key that verified the exchange */
    char sigkey_scheme[16];
    char *t1_seen;
    char *rt2_seen;
};

static void stub_send_error(struct aa_server_response *resp, struct stub_as *as, int status,
                            const char *code, const char *why)
{
    pthread_mutex_lock(&as->mu);
    as->refused++;
    pthread_mutex_unlock(&as->mu);
    STUB_CHECK(aa_server_response_error(resp, status, code, "%s", why) == AA_OK);
}

static char *stub_mint(const struct aa_jwk *key, const char *typ, const cJSON *claims,
                       const struct aa_jwt_build_opts *o)
{
    cJSON *h = cJSON_CreateObject();
    char *tok = NULL;

    cJSON_AddStringToObject(h, "kid", key->kid);
    cJSON_AddStringToObject(h, "typ", typ);
    STUB_CHECK(aa_jwt_sign(h, claims, AA_ALG_ED25519, key, o, &tok) == AA_OK);
    cJSON_Delete(h);
    return tok;
}

static void stub_exchange(struct stub_as *as, const struct aa_server_request *req,
                          struct aa_server_response *resp)
{
    const struct aa_profile *p = aa_profile_default();
    const char *trusted[2] = {as->upstream, NULL};
    struct aa_key_resolver kr;
    struct aa_token_policy tp;
    struct aa_verify_policy vp;
    struct aa_validated_token t1, rt2;
    struct aa_aauth_result res;
    struct aa_http_headers hh;
    struct aa_verify_request vr;
    struct aa_identity id;
    struct aa_form f;
    struct aa_sigkey sk;
    struct aa_jwt peek;
    struct aa_jwk k1;
    const char *tok, *rt, *jkt, *skv;
    char k1_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *c = NULL, *cnf, *act, *out;
    char *t2 = NULL, *txt;
    int64_t now = aa_ref_clock_now(as->clock);

    memset(&sk, 0, sizeof(sk));
    memset(&k1, 0, sizeof(k1));
    memset(&t1, 0, sizeof(t1));
    memset(&rt2, 0, sizeof(rt2));
    memset(&id, 0, sizeof(id));
    aa_form_init(&f);
    aa_http_headers_init(&hh);
    if (aa_form_parse(req->body, req->body_len, AA_FORM_REJECT_DUPLICATES, &f, NULL) != AA_OK ||
        aa_form_get(&f, "request_type") == NULL ||
        strcmp(aa_form_get(&f, "request_type"), "exchange") != 0 ||
        (rt = aa_form_get(&f, "resource_token")) == NULL) {
        stub_send_error(resp, as, 400, "invalid_request", "stub: exchange only");
        goto out;
    }
    skv = aa_server_request_header(req, "Signature-Key");
    if (skv == NULL || aa_sigkey_parse(p, skv, strlen(skv), &sk, NULL) != AA_OK ||
        sk.scheme != AA_SIGKEY_JWT || (tok = aa_sigkey_get(&sk, "jwt")) == NULL) {
        stub_send_error(resp, as, 400, "invalid_request", "stub: credential must be scheme=jwt");
        goto out;
    }
    aa_key_resolver_disc(&kr, as->disc);
    memset(&tp, 0, sizeof(tp));
    tp.clock = (struct aa_clock){aa_test_ref_clock, as->clock};
    tp.aud_mode = AA_AUD_SINGLE_STRING;
    tp.resolver = &kr;
    tp.trusted_issuers = trusted;
    tp.dev_mode = true;
    if (aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &t1, &res) != AA_OK) {
        stub_send_error(resp, as, 401, "invalid_token", res.diag.msg);
        goto out;
    }
    if (aa_jwt_parse(rt, strlen(rt), &peek, NULL) != AA_OK) {
        stub_send_error(resp, as, 400, "invalid_resource_token", "stub: RT2 unreadable");
        goto out;
    }
    jkt = aa_jwt_claim_str(&peek, "agent_jkt");
    if (jkt == NULL || aa_disc_key_by_thumbprint(as->disc, t1.aud_str, "aauth-resource", jkt, &k1,
                                                 NULL) != AA_OK) {
        aa_jwt_cleanup(&peek);
        stub_send_error(resp, as, 401, "invalid_key", "stub: K_R1 not found by agent_jkt");
        goto out;
    }
    aa_jwt_cleanup(&peek);
    STUB_CHECK(aa_jwk_thumbprint(&k1, k1_jkt) == AA_OK);
    for (size_t i = 0; i < req->n_headers; i++)
        STUB_CHECK(aa_http_headers_addn(&hh, req->headers[i].name, req->headers[i].value,
                                        req->headers[i].value_len) == AA_OK);
    memset(&vr, 0, sizeof(vr));
    vr.method = req->method;
    vr.target = req->target;
    vr.headers = &hh;
    vr.body = req->body;
    vr.body_len = req->body_len;
    memset(&vp, 0, sizeof(vp));
    vp.authority = as->authority;
    vp.receiver = as->id;
    vp.clock = tp.clock;
    vp.replay = as->nonces;
    vp.fixed_key = &k1;
    vp.dev_mode = true;
    if (aa_aauth_verify(&vp, &vr, &id, &res) != AA_OK) {
        stub_send_error(resp, as, res.status, aa_perr_name(res.perr), res.diag.msg);
        goto out;
    }
    tp.aud_mode = AA_AUD_RECEIVER;
    tp.receiver = as->id;
    tp.expected_agent = t1.aud_str;
    tp.expected_agent_jkt = k1_jkt;
    if (aa_aauth_validate_resource_token(&tp, rt, strlen(rt), &rt2, &res) != AA_OK) {
        stub_send_error(resp, as, 400, "invalid_resource_token", res.diag.msg);
        goto out;
    }
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "iss", as->id);
    cJSON_AddStringToObject(c, "aud", rt2.iss);
    cJSON_AddStringToObject(c, "agent", t1.aud_str);
    cnf = cJSON_AddObjectToObject(c, "cnf");
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&k1, false));
    if (rt2.scope != NULL)
        cJSON_AddStringToObject(c, "scope", rt2.scope);
    if (t1.sub != NULL)
        cJSON_AddStringToObject(c, "sub", t1.sub);
    act = cJSON_AddObjectToObject(c, "act");
    cJSON_AddStringToObject(act, "agent", t1.agent);
    if (t1.agent_delegate != NULL)
        cJSON_AddStringToObject(act, "agent_delegate", t1.agent_delegate);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddNumberToObject(c, "nbf", (double)now);
    cJSON_AddNumberToObject(c, "exp", (double)(now + 3600));
    t2 = stub_mint(&as->key, "auth+jwt", c, NULL);
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "auth_token", t2);
    cJSON_AddNumberToObject(out, "expires_in", 3600);
    txt = cJSON_PrintUnformatted(out);
    STUB_CHECK(txt != NULL && aa_server_response_json(resp, 200, txt) == AA_OK);
    STUB_CHECK(aa_server_response_header(resp, "Cache-Control", "no-store") == AA_OK);
    free(txt);
    cJSON_Delete(out);
    pthread_mutex_lock(&as->mu);
    as->exchanges++;
    aa_snprintf(as->signer_jkt, sizeof(as->signer_jkt), "%s", id.thumbprint);
    aa_snprintf(as->sigkey_scheme, sizeof(as->sigkey_scheme), "%s",
                aa_sigkey_scheme_name(p, sk.scheme));
    free(as->t1_seen);
    free(as->rt2_seen);
    as->t1_seen = aa_strdup(tok);
    as->rt2_seen = aa_strdup(rt);
    STUB_CHECK(as->t1_seen != NULL && as->rt2_seen != NULL);
    pthread_mutex_unlock(&as->mu);
out:
    free(t2);
    cJSON_Delete(c);
    aa_validated_token_cleanup(&t1);
    aa_validated_token_cleanup(&rt2);
    aa_identity_cleanup(&id);
    aa_jwk_cleanup(&k1);
    aa_sigkey_cleanup(&sk);
    aa_http_headers_cleanup(&hh);
    aa_form_cleanup(&f);
}

static void stub_handler(void *ctx, const struct aa_server_request *req,
                         struct aa_server_response *resp)
{
    struct stub_as *as = ctx;

    if (aa_server_request_path_is(req, "/.well-known/aauth-issuer") &&
        strcmp(req->method, "GET") == 0)
        STUB_CHECK(aa_server_response_json(resp, 200, as->meta) == AA_OK);
    else if (aa_server_request_path_is(req, "/jwks.json") && strcmp(req->method, "GET") == 0)
        STUB_CHECK(aa_server_response_json(resp, 200, as->jwks) == AA_OK);
    else if (aa_server_request_path_is(req, "/agent/token") && strcmp(req->method, "POST") == 0)
        stub_exchange(as, req, resp);
    else
        STUB_CHECK(aa_server_response_not_found(resp, req) == AA_OK);
}

static void stub_start(struct stub_as *as, struct aa_ref_clock *clk, const char *upstream)
{
    struct aa_server_opts o;
    struct aa_disc_opts dopts;
    struct aa_nonce_cache_opts no;
    struct aa_jwks set = {0};
    struct aa_buf b;

    memset(as, 0, sizeof(*as));
    pthread_mutex_init(&as->mu, NULL);
    as->clock = clk;
    as->upstream = upstream;
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "auth-key-1", &as->key), AA_OK);
    memset(&o, 0, sizeof(o));
    o.handler = stub_handler;
    o.ctx = as;
    o.threads = 2;
    cr_assert_eq(aa_server_start(&o, &as->srv, NULL), AA_OK);
    cr_assert_eq(aa_snprintf(as->id, sizeof(as->id), "%s", aa_server_origin(as->srv)), AA_OK);
    cr_assert_eq(aa_url_authority_of(as->id, as->authority, sizeof(as->authority), NULL), AA_OK);
    aa_buf_init(&b, 0);
    aa_buf_printf(&b,
                  "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks.json\",\"agent_token_endpoint\":"
                  "\"%s/agent/token\",\"agent_auth_endpoint\":\"%s/agent/auth\","
                  "\"agent_signing_algs_supported\":[\"ed25519\"],\"request_types_supported\":"
                  "[\"exchange\"]}",
                  as->id, as->id, as->id, as->id);
    cr_assert_eq(b.err, AA_OK);
    as->meta = aa_buf_detach(&b, NULL);
    cr_assert_eq(aa_jwks_add(&set, &as->key), AA_OK);
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_jwks_to_json(&set, &b), AA_OK);
    aa_jwks_cleanup(&set);
    as->jwks = aa_buf_detach(&b, NULL);
    memset(&dopts, 0, sizeof(dopts));
    dopts.dev_mode = true;
    dopts.clock = aa_test_ref_clock;
    dopts.clock_ctx = clk;
    cr_assert_not_null(as->disc = aa_disc_new(&dopts));
    memset(&no, 0, sizeof(no));
    no.clock = (struct aa_clock){aa_test_ref_clock, clk};
    cr_assert_not_null(as->nonces = aa_nonce_cache_new(&no));
}

static void stub_stop(struct stub_as *as)
{
    if (as->srv == NULL)
        return;
    aa_server_stop(as->srv);
    aa_disc_free(as->disc);
    aa_nonce_cache_free(as->nonces);
    aa_jwk_cleanup(&as->key);
    free(as->meta);
    free(as->jwks);
    free(as->t1_seen);
    free(as->rt2_seen);
    pthread_mutex_destroy(&as->mu);
    memset(as, 0, sizeof(*as));
}

/* ---- the environment ----------------------------------------------------------- */

struct env {
    struct aa_ref_clock clk;
    struct aa_clock aclk;
    struct aa_ref_server *agent, *res;
    struct stub_as as;
    struct aa_jwk delegate; /* the delegate's private key (kid delegate-key-1) */
    char delegate_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char agent_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char *agent_token; /* agent+jwt for the delegate, from /delegate/token */
    struct aa_http_client *http;
};

struct env_opts {
    unsigned faults;
    bool nonce_optional;
    const char *scope; /* challenge scope */
    const char *supported;
    const char *downstream;
    const char *auth_server; /* NULL: the stub */
    const char *const *trusted;
    size_t n_trusted;
    int verbosity;
    FILE *log;
};

/* A resource with |o| on |e|'s clock, challenging for |as_id|. */
static struct aa_ref_server *resource_start(struct env *e, const struct env_opts *o,
                                            const char *as_id)
{
    struct aa_ref_resource_config rc;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_ref_resource_defaults(&rc);
    rc.c.clock = &e->clk;
    rc.c.faults = o ? o->faults : 0;
    rc.auth_server = o && o->auth_server ? o->auth_server : as_id;
    if (o != NULL) {
        rc.require_nonce_on_post = !o->nonce_optional;
        rc.scope = o->scope;
        rc.supported_scopes = o->supported;
        rc.downstream = o->downstream;
        rc.trusted_auth_servers = o->trusted;
        rc.n_trusted_auth_servers = o->n_trusted;
        rc.c.verbosity = o->verbosity;
        rc.c.log = o->log;
    }
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_resource_start(&rc, &s, &d), AA_OK, "resource start: %s", d.msg);
    return s;
}

static void env_start(struct env *e, const struct env_opts *o)
{
    struct aa_ref_agent_config ac;
    struct aa_diag d;

    memset(e, 0, sizeof(*e));
    e->clk.frozen = true;
    e->clk.value = T0;
    e->aclk = (struct aa_clock){aa_test_ref_clock, &e->clk};
    stub_start(&e->as, &e->clk, NULL);
    aa_ref_agent_defaults(&ac);
    ac.c.clock = &e->clk;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&ac, &e->agent, &d), AA_OK, "agent start: %s", d.msg);
    e->res = resource_start(e, o, e->as.id);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(e->agent), e->agent_jkt), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "delegate-key-1", &e->delegate), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&e->delegate, e->delegate_jkt), AA_OK);
    cr_assert_not_null(e->http = aa_http_client_new(NULL));

    /* PROFILE#6.1: the delegate's agent token from the reference agent server. */
    e->agent_token = aa_test_agent_token(e->http, e->agent, &e->delegate);
}

static void env_stop(struct env *e)
{
    aa_http_client_free(e->http);
    aa_ref_stop(e->res);
    aa_ref_stop(e->agent);
    stub_stop(&e->as);
    aa_jwk_cleanup(&e->delegate);
    free(e->agent_token);
}

/* ---- requests ---------------------------------------------------------------- */

struct call {
    const char *method; /* NULL: GET */
    const char *path;
    const char *ctype; /* body Content-Type */
    const char *body;
    size_t body_len;          /* 0 with |body|: strlen */
    struct aa_sign_cred cred; /* scheme NONE: unsigned */
    const struct aa_jwk *key;
    struct aa_sign_opts opts;
    const char *sign_authority; /* sign for this @authority instead of the URL's */
    const char *host;           /* Host header to send */
    const char *extra_name, *extra_value;
};

/* Perform |c| against |base| (an origin); |r| initialised by the caller. */
static void call_at(struct env *e, const char *base, struct call *c, struct aa_http_response *r)
{
    struct aa_http_headers own, all;
    struct aa_sign_request sr;
    struct aa_signed sg;
    struct aa_http_request hr;
    struct aa_diag d;
    char *url = aa_test_cat(base, c->path);
    size_t blen = c->body ? (c->body_len ? c->body_len : strlen(c->body)) : 0;

    memset(&sg, 0, sizeof(sg));
    aa_http_headers_init(&own);
    aa_http_headers_init(&all);
    if (c->ctype != NULL)
        cr_assert_eq(aa_http_headers_add(&own, "Content-Type", c->ctype), AA_OK);
    if (c->cred.scheme != AA_SIGKEY_NONE) {
        memset(&sr, 0, sizeof(sr));
        sr.method = c->method ? c->method : "GET";
        sr.url = url;
        sr.authority = c->sign_authority;
        sr.target = c->sign_authority ? c->path : NULL;
        sr.headers = &own;
        sr.body = c->body;
        sr.body_len = blen;
        if (c->opts.clock == NULL)
            c->opts.clock = &e->aclk;
        aa_diag_clear(&d);
        cr_assert_eq(aa_aauth_sign(NULL, &sr, c->key, &c->cred, &c->opts, &sg, &d), AA_OK,
                     "sign: %s", d.msg);
    }
    for (size_t i = 0; i < own.n; i++)
        cr_assert_eq(aa_http_headers_add(&all, own.v[i].name, own.v[i].value), AA_OK);
    for (size_t i = 0; i < sg.headers.n; i++)
        cr_assert_eq(aa_http_headers_add(&all, sg.headers.v[i].name, sg.headers.v[i].value), AA_OK);
    if (c->host != NULL)
        cr_assert_eq(aa_http_headers_add(&all, "Host", c->host), AA_OK);
    if (c->extra_name != NULL)
        cr_assert_eq(aa_http_headers_add(&all, c->extra_name, c->extra_value), AA_OK);
    memset(&hr, 0, sizeof(hr));
    hr.method = c->method ? c->method : "GET";
    hr.url = url;
    hr.headers = &all;
    hr.body = c->body;
    hr.body_len = blen;
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_send(e->http, &hr, r, &d), AA_OK, "send %s: %s", url, d.msg);
    aa_signed_cleanup(&sg);
    aa_http_headers_cleanup(&all);
    aa_http_headers_cleanup(&own);
    free(url);
}

static void call(struct env *e, struct call *c, struct aa_http_response *r)
{
    call_at(e, aa_ref_url(e->res), c, r);
}

/* Credentials. */
static struct aa_sign_cred cred_hwk(void)
{
    struct aa_sign_cred c = {0};
    c.scheme = AA_SIGKEY_HWK;
    return c;
}

static struct aa_sign_cred cred_jwks(const struct env *e)
{
    struct aa_sign_cred c = {0};
    c.scheme = AA_SIGKEY_JWKS;
    c.id = aa_ref_id(e->agent);
    c.kid = aa_ref_key(e->agent)->kid;
    c.well_known = "aauth-agent";
    return c;
}

static struct aa_sign_cred cred_jwt(const char *token)
{
    struct aa_sign_cred c = {0};
    c.scheme = AA_SIGKEY_JWT;
    c.token = token;
    return c;
}

/* One signed request in a line: |method| |path| with |cred| and |key|. */
static void signed_call(struct env *e, const char *method, const char *path,
                        struct aa_sign_cred cred, const struct aa_jwk *key,
                        struct aa_http_response *r)
{
    struct call c = {0};
    c.method = method;
    c.path = path;
    c.cred = cred;
    c.key = key;
    if (method != NULL && strcmp(method, "POST") == 0) {
        c.ctype = "application/json";
        c.body = "{\"note\":\"hello\"}";
    }
    call(e, &c, r);
}

/* ---- tokens minted by the test (the AS's role) ---------------------------------- */

struct at_spec {
    const char *iss;               /* NULL: the stub */
    const char *aud;               /* NULL: the resource */
    const char *agent;             /* NULL: the agent server; "" omits it */
    const char *delegate;          /* NULL: none */
    const char *sub;               /* NULL: none */
    const char *scope;             /* NULL: none */
    int64_t exp;                   /* 0: T0 + 3600 */
    const struct aa_jwk *cnf;      /* NULL: the delegate key */
    const char *typ;               /* NULL: auth+jwt */
    const struct aa_jwk *sign_key; /* NULL: the stub's key */
    unsigned mutations;
};

static char *mint_at(struct env *e, const struct at_spec *a)
{
    const struct aa_jwk *k = a->sign_key ? a->sign_key : &e->as.key;
    struct aa_jwt_build_opts o = {0};
    cJSON *c = cJSON_CreateObject(), *cnf;
    char *t;

    cJSON_AddStringToObject(c, "iss", a->iss ? a->iss : e->as.id);
    cJSON_AddStringToObject(c, "aud", a->aud ? a->aud : aa_ref_id(e->res));
    if (a->agent == NULL || a->agent[0] != '\0')
        cJSON_AddStringToObject(c, "agent", a->agent ? a->agent : aa_ref_id(e->agent));
    if (a->delegate != NULL)
        cJSON_AddStringToObject(c, "agent_delegate", a->delegate);
    if (a->sub != NULL)
        cJSON_AddStringToObject(c, "sub", a->sub);
    if (a->scope != NULL)
        cJSON_AddStringToObject(c, "scope", a->scope);
    cJSON_AddNumberToObject(c, "iat", T0);
    cJSON_AddNumberToObject(c, "exp", (double)(a->exp ? a->exp : T0 + 3600));
    cnf = cJSON_AddObjectToObject(c, "cnf");
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(a->cnf ? a->cnf : &e->delegate, false));
    o.mutations = a->mutations;
    t = stub_mint(k, a->typ ? a->typ : "auth+jwt", c, &o);
    cJSON_Delete(c);
    return t;
}

/* ---- challenge and resource-token checks ------------------------------------------ */

/* Agent-Auth of |r| is exactly the base challenge (identity or not). */
static void expect_base_challenge(const struct aa_http_response *r, bool identity)
{
    const char *v = hdr(r, "Agent-Auth");
    struct aa_challenge ch;

    cr_assert_not_null(v, "no Agent-Auth on %ld %.300s", r->status, r->body);
    cr_assert_str_eq(v, identity ? "httpsig; identity=?1" : "httpsig");
    memset(&ch, 0, sizeof(ch));
    cr_assert_eq(aa_challenge_parse(NULL, v, strlen(v), &ch, NULL), AA_OK);
    cr_assert_eq(ch.identity, identity);
    cr_assert_not(ch.auth_token);
    cr_assert_null(ch.resource_token);
    cr_assert_eq(ch.n_members, 1);
    aa_challenge_cleanup(&ch);
}

/* The auth-token challenge of |r|; returns its resource token (heap). */
static char *expect_auth_challenge(const struct env *e, const struct aa_http_response *r)
{
    const char *v = hdr(r, "Agent-Auth");
    struct aa_challenge ch;
    char *rt, *want;
    struct aa_buf b;

    cr_assert_not_null(v, "no Agent-Auth on %ld %.300s", r->status, r->body);
    memset(&ch, 0, sizeof(ch));
    cr_assert_eq(aa_challenge_parse(NULL, v, strlen(v), &ch, NULL), AA_OK, "%s", v);
    cr_assert(ch.auth_token);
    cr_assert_not(ch.identity);
    cr_assert_not_null(ch.resource_token);
    cr_assert_str_eq(ch.auth_server, e->as.id);
    rt = xstrdup(ch.resource_token);
    aa_challenge_cleanup(&ch);
    aa_buf_init(&b, 0);
    aa_buf_printf(&b, "httpsig; auth-token; resource_token=\"%s\"; auth_server=\"%s\"", rt,
                  e->as.id);
    want = aa_buf_detach(&b, NULL);
    cr_assert_str_eq(v, want);
    free(want);
    return rt;
}

struct rt_want {
    const char *agent;
    const char *jkt;
    const char *scope; /* exactly one of scope / arq */
    const char *arq;
    int64_t iat;
    const char *typ; /* NULL: resource+jwt */
};

/* Every header member and claim of a resource token (PROFILE#4.2, #6.2). */
static void check_rt(const struct env *e, const char *rt, const struct rt_want *w)
{
    struct aa_jwt t;
    int64_t v;
    const cJSON *it;
    int n = 0;

    cr_assert_eq(aa_jwt_parse(rt, strlen(rt), &t, NULL), AA_OK);
    cr_assert_str_eq(t.typ, w->typ ? w->typ : "resource+jwt");
    cr_assert_str_eq(t.alg_name, "EdDSA");
    cr_assert_str_eq(t.kid, "resource-key-1");
    cr_assert_eq(cJSON_GetArraySize(t.header), 3);
    cr_assert_eq(aa_jwt_verify(&t, aa_ref_key(e->res), NULL), AA_OK);
    cr_assert_str_eq(aa_jwt_claim_str(&t, "iss"), aa_ref_id(e->res));
    cr_assert_str_eq(aa_jwt_claim_str(&t, "aud"), e->as.id);
    cr_assert_str_eq(aa_jwt_claim_str(&t, "agent"), w->agent);
    cr_assert_str_eq(aa_jwt_claim_str(&t, "agent_jkt"), w->jkt);
    cr_assert(aa_jwt_claim_int(&t, "exp", &v));
    cr_assert_eq(v, w->iat + 300);
    cr_assert(aa_jwt_claim_int(&t, "iat", &v));
    cr_assert_eq(v, w->iat);
    if (w->scope != NULL)
        cr_assert_str_eq(aa_jwt_claim_str(&t, "scope"), w->scope);
    else
        cr_assert_null(cJSON_GetObjectItemCaseSensitive(t.claims, "scope"));
    if (w->arq != NULL)
        cr_assert_str_eq(aa_jwt_claim_str(&t, "auth_request_url"), w->arq);
    else
        cr_assert_null(cJSON_GetObjectItemCaseSensitive(t.claims, "auth_request_url"));
    cJSON_ArrayForEach(it, t.claims) n++;
    cr_assert_eq(n, 7, "unexpected claims in %s", (char *)t.payload);
    aa_jwt_cleanup(&t);
}

/* ---- metadata, JWKS, routing --------------------------------------------------------- */

Test(ref_resource, metadata_and_jwks)
{
    struct env e;
    struct aa_http_response r;
    struct aa_jwks set = {0};
    struct call c = {0};
    char want_jkt[AA_JWK_THUMBPRINT_LEN + 1], got_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    const char *R;
    struct aa_buf b;

    env_start(&e, NULL);
    R = aa_ref_id(e.res);
    aa_http_response_init(&r);
    c.path = "/.well-known/aauth-resource";
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(hdr(&r, "Content-Type"), "application/json");
    aa_buf_init(&b, 0);
    aa_buf_printf(&b,
                  "{\"resource\":\"%s\",\"jwks_uri\":\"%s/jwks.json\","
                  "\"resource_token_endpoint\":\"%s/resource/token\","
                  "\"supported_scopes\":[\"data.read\",\"data.write\"],"
                  "\"scope_descriptions\":{\"data.read\":\"Read the protected data\","
                  "\"data.write\":\"Write the protected data\"}}",
                  R, R, R);
    expect_body(&r, b.p);
    aa_buf_free(&b);

    c.path = "/jwks.json";
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(hdr(&r, "Content-Type"), "application/json");
    cr_assert_null(strstr(r.body, "\"d\""), "private member published: %s", r.body);
    cr_assert_eq(aa_jwks_parse(r.body, r.body_len, &set, NULL), AA_OK);
    cr_assert_eq(set.n, 1);
    cr_assert_str_eq(set.keys[0].kid, "resource-key-1");
    cr_assert_not(set.keys[0].is_private);
    cr_assert_eq(aa_jwk_thumbprint(&set.keys[0], got_jkt), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(e.res), want_jkt), AA_OK);
    cr_assert_str_eq(got_jkt, want_jkt);
    aa_jwks_cleanup(&set);

    /* Generic routing: 405 with Allow, 404, both JSON. */
    c.method = "POST";
    c.path = "/.well-known/aauth-resource";
    call(&e, &c, &r);
    expect_error(&r, 405, "invalid_request");
    cr_assert_str_eq(hdr(&r, "Allow"), "GET, HEAD");
    c.method = "DELETE";
    c.path = "/data-auth";
    call(&e, &c, &r);
    expect_error(&r, 405, "invalid_request");
    cr_assert_str_eq(hdr(&r, "Allow"), "GET, HEAD, POST");
    c.method = "GET";
    c.path = "/data-exchange"; /* no downstream configured: the trigger is absent */
    call(&e, &c, &r);
    expect_error(&r, 404, "invalid_request");
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- challenges without a valid signature (PROFILE#5, SIG-01) ------------------------- */

Test(ref_resource, unsigned_requests_get_the_endpoint_challenge)
{
    static const struct {
        const char *method, *path;
        bool identity;
    } cases[] = {
        {"GET", "/data-hwk", false},       {"POST", "/data-hwk", false},
        {"GET", "/data-jwks", true},       {"POST", "/data-jwks", true},
        {"GET", "/data-auth", true},       {"POST", "/data-auth", true},
        {"POST", "/resource/token", true},
    };
    struct env e;
    struct aa_http_response r;

    env_start(&e, NULL);
    aa_http_response_init(&r);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct call c = {0};
        c.method = cases[i].method;
        c.path = cases[i].path;
        if (strcmp(c.method, "POST") == 0) {
            c.ctype = FORM_CT;
            c.body = "scope=data.read";
        }
        call(&e, &c, &r);
        expect_error(&r, 401, "invalid_signature");
        expect_base_challenge(&r, cases[i].identity);
    }
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- F1: hwk (PROFILE#6.2, #7 F1) ------------------------------------------------------- */

Test(ref_resource, hwk_get_post_and_failures)
{
    struct env e;
    struct aa_http_response r;
    struct call c = {0};

    env_start(&e, NULL);
    aa_http_response_init(&r);
    signed_call(&e, "GET", "/data-hwk", cred_hwk(), &e.delegate, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_null(hdr(&r, "Agent-Auth"));
    expect_body(&r, "{\"message\":\"Access granted\",\"data\":\"This is protected data\","
                    "\"scheme\":\"hwk\",\"method\":\"GET\"}");
    signed_call(&e, "POST", "/data-hwk", cred_hwk(), &e.delegate, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_body(&r, "{\"message\":\"Access granted\",\"data\":\"This is protected data\","
                    "\"scheme\":\"hwk\",\"method\":\"POST\"}");
    /* A query is fine when covered (PROFILE#2.4). */
    c.path = "/data-hwk?page=2&q=caf%C3%A9";
    c.cred = cred_hwk();
    c.key = &e.delegate;
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    /* D-10: a signed POST without a Nonce. */
    memset(&c, 0, sizeof(c));
    c.method = "POST";
    c.path = "/data-hwk";
    c.ctype = "application/json";
    c.body = "{}";
    c.cred = cred_hwk();
    c.key = &e.delegate;
    c.opts.nonce_mode = AA_SIGN_NONCE_NONE;
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    expect_base_challenge(&r, false);
    /* SIG-19: one signature bit flipped. */
    memset(&c, 0, sizeof(c));
    c.path = "/data-hwk";
    c.cred = cred_hwk();
    c.key = &e.delegate;
    c.opts.variants = AA_SIGN_V_SIG_FLIP_BIT;
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    expect_base_challenge(&r, false);
    /* SK-02: hwk carrying a private member. */
    memset(&c, 0, sizeof(c));
    c.path = "/data-hwk";
    c.cred.raw_signature_key =
        "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"" AAUTH_X "\" d=\"" AAUTH_X "\")";
    c.cred.scheme = AA_SIGKEY_HWK;
    c.key = &e.delegate;
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_key");
    expect_base_challenge(&r, false);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- F2 and the seed's TEST 2: identity (PROFILE#6.2, D-15) ----------------------------- */

Test(ref_resource, pseudonymous_credentials_on_identity_endpoints)
{
    struct env e;
    struct aa_http_response r;
    struct aa_sign_cred mode1 = {0};
    char *jwks_url;

    env_start(&e, NULL);
    aa_http_response_init(&r);
    /* F2.2: hwk on identity and auth endpoints -> identity=?1. */
    signed_call(&e, "GET", "/data-jwks", cred_hwk(), &e.delegate, &r);
    expect_error(&r, 401, "invalid_key");
    expect_base_challenge(&r, true);
    signed_call(&e, "POST", "/data-auth", cred_hwk(), &e.delegate, &r);
    expect_error(&r, 401, "invalid_key");
    expect_base_challenge(&r, true);
    /* F2.4 (INFO, D-15): jwks Mode 1 is pseudonymous. */
    jwks_url = aa_test_cat(aa_ref_url(e.agent), "/jwks.json");
    mode1.scheme = AA_SIGKEY_JWKS;
    mode1.jwks_url = jwks_url;
    mode1.kid = aa_ref_key(e.agent)->kid;
    signed_call(&e, "GET", "/data-hwk", mode1, aa_ref_key(e.agent), &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_body(&r, "{\"message\":\"Access granted\",\"data\":\"This is protected data\","
                    "\"scheme\":\"jwks\",\"method\":\"GET\"}");
    signed_call(&e, "GET", "/data-jwks", mode1, aa_ref_key(e.agent), &r);
    expect_error(&r, 401, "invalid_key");
    expect_base_challenge(&r, true);
    free(jwks_url);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_resource, jwks_identity_granted)
{
    struct env e;
    struct aa_http_response r;
    struct aa_buf b;
    const char *AG;

    env_start(&e, NULL);
    AG = aa_ref_id(e.agent);
    aa_http_response_init(&r);
    cr_assert_eq(aa_ref_hits(e.agent, "/.well-known/aauth-agent"), 0);
    signed_call(&e, "GET", "/data-jwks", cred_jwks(&e), aa_ref_key(e.agent), &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_init(&b, 0);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data\","
                  "\"scheme\":\"jwks\",\"method\":\"GET\",\"agent\":\"%s\",\"agent_id\":\"%s\"}",
                  AG, AG);
    expect_body(&r, b.p);
    /* F2.3: the resource fetched the agent's metadata and JWKS. */
    cr_assert_eq(aa_ref_hits(e.agent, "/.well-known/aauth-agent"), 1);
    cr_assert_eq(aa_ref_hits(e.agent, "/jwks.json"), 1);
    aa_buf_reset(&b);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data\","
                  "\"scheme\":\"jwks\",\"method\":\"POST\",\"agent\":\"%s\",\"agent_id\":\"%s\"}",
                  AG, AG);
    signed_call(&e, "POST", "/data-jwks", cred_jwks(&e), aa_ref_key(e.agent), &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_body(&r, b.p);
    /* cached: no second fetch (PROFILE#3, 300 s) */
    cr_assert_eq(aa_ref_hits(e.agent, "/.well-known/aauth-agent"), 1);
    /* SK-04: an unknown kid. */
    {
        struct aa_sign_cred c = cred_jwks(&e);
        c.kid = "no-such-key";
        signed_call(&e, "GET", "/data-jwks", c, aa_ref_key(e.agent), &r);
        expect_error(&r, 401, "invalid_key");
        expect_base_challenge(&r, true);
    }
    aa_buf_free(&b);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_resource, agent_token_seed_test2)
{
    struct env e;
    struct aa_http_response r;
    struct aa_buf b;
    struct call c = {0};

    env_start(&e, NULL);
    aa_http_response_init(&r);
    c.path = "/data-jwks";
    c.cred = cred_jwt(e.agent_token);
    c.key = &e.delegate;
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_init(&b, 0);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data (identified "
                  "via agent token)\",\"scheme\":\"jwt\",\"token_type\":\"agent+jwt\","
                  "\"method\":\"GET\",\"agent\":\"%s\",\"agent_delegate\":\"delegate-1\"}",
                  aa_ref_id(e.agent));
    expect_body(&r, b.p);
    aa_buf_free(&b);
    /* TEST 2 companion: one signature bit flipped. */
    c.opts.variants = AA_SIGN_V_SIG_FLIP_BIT;
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    expect_base_challenge(&r, true);
    /* AT-09: signed with a key other than cnf.jwk. */
    c.opts.variants = 0;
    c.key = aa_ref_key(e.agent);
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    expect_base_challenge(&r, true);
    /* AT-06: an expired agent token (the clock moves past exp + 60 s skew). */
    aa_ref_clock_advance(&e.clk, 3600 + 61);
    c.key = &e.delegate;
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_token");
    expect_base_challenge(&r, true);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- F3.1 and the seed's TEST 3.1: auth-token challenges (PROFILE#5, D-16) ---------------- */

Test(ref_resource, data_auth_challenges_identified_callers)
{
    struct env e;
    struct aa_http_response r;
    struct rt_want w = {0};
    struct call c = {0};
    char *rt, *rt2;

    env_start(&e, NULL);
    aa_http_response_init(&r);
    /* F3.1: jwks identity -> auth-token challenge; RT for AG and its key-1. */
    signed_call(&e, "GET", "/data-auth", cred_jwks(&e), aa_ref_key(e.agent), &r);
    expect_error(&r, 401, "invalid_token");
    rt = expect_auth_challenge(&e, &r);
    w.agent = aa_ref_id(e.agent);
    w.jkt = e.agent_jkt;
    w.scope = DEFAULT_SCOPE;
    w.iat = T0;
    check_rt(&e, rt, &w);
    /* A fresh token per challenge. */
    aa_ref_clock_advance(&e.clk, 7);
    signed_call(&e, "POST", "/data-auth", cred_jwks(&e), aa_ref_key(e.agent), &r);
    expect_error(&r, 401, "invalid_token");
    rt2 = expect_auth_challenge(&e, &r);
    cr_assert_str_neq(rt, rt2);
    w.iat = T0 + 7;
    check_rt(&e, rt2, &w);
    free(rt);
    free(rt2);
    /* TEST 3.1: agent token -> agent = its iss, agent_jkt = the delegate key. */
    c.path = "/data-auth";
    c.cred = cred_jwt(e.agent_token);
    c.key = &e.delegate;
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_token");
    rt = expect_auth_challenge(&e, &r);
    w.jkt = e.delegate_jkt;
    check_rt(&e, rt, &w);
    /* AU-08: the resource token itself is no credential. */
    c.cred = cred_jwt(rt);
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_token");
    expect_base_challenge(&r, true);
    free(rt);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_resource, challenge_scope_is_configurable)
{
    struct env e;
    struct env_opts o = {0};
    struct aa_http_response r;
    struct rt_want w = {0};
    char *rt;

    o.scope = "data.read";
    env_start(&e, &o);
    aa_http_response_init(&r);
    signed_call(&e, "GET", "/data-auth", cred_jwks(&e), aa_ref_key(e.agent), &r);
    expect_error(&r, 401, "invalid_token");
    rt = expect_auth_challenge(&e, &r);
    w.agent = aa_ref_id(e.agent);
    w.jkt = e.agent_jkt;
    w.scope = "data.read";
    w.iat = T0;
    check_rt(&e, rt, &w);
    free(rt);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- F3.4 / TEST 3.5: auth tokens (PROFILE#4.5) --------------------------------------- */

Test(ref_resource, auth_token_granted)
{
    struct env e;
    struct aa_http_response r;
    struct at_spec a = {0};
    struct call c = {0};
    struct aa_buf b;
    char *at, *at2;
    const char *AG;

    env_start(&e, NULL);
    AG = aa_ref_id(e.agent);
    aa_http_response_init(&r);
    a.delegate = "delegate-1";
    a.sub = "testuser";
    a.scope = DEFAULT_SCOPE;
    at = mint_at(&e, &a);
    c.path = "/data-auth";
    c.cred = cred_jwt(at);
    c.key = &e.delegate;
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_init(&b, 0);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data "
                  "(authorized)\",\"scheme\":\"jwt\",\"token_type\":\"auth+jwt\",\"method\":"
                  "\"%s\",\"agent\":\"%s\",\"agent_delegate\":\"delegate-1\",\"scope\":"
                  "\"data.read data.write\",\"sub\":\"testuser\"}",
                  "GET", AG);
    expect_body(&r, b.p);
    cr_assert_eq(aa_ref_hits(e.res, "/data-auth"), 1);
    /* POST needs data.write, which the token has. */
    c.method = "POST";
    c.ctype = "application/json";
    c.body = "{\"x\":1}";
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_reset(&b);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data "
                  "(authorized)\",\"scheme\":\"jwt\",\"token_type\":\"auth+jwt\",\"method\":"
                  "\"%s\",\"agent\":\"%s\",\"agent_delegate\":\"delegate-1\",\"scope\":"
                  "\"data.read data.write\",\"sub\":\"testuser\"}",
                  "POST", AG);
    expect_body(&r, b.p);
    /* F3: an agent-server token (no delegate, no sub) bound to key-1. */
    memset(&a, 0, sizeof(a));
    a.scope = "data.read";
    a.cnf = aa_ref_key(e.agent);
    at2 = mint_at(&e, &a);
    memset(&c, 0, sizeof(c));
    c.path = "/data-auth";
    c.cred = cred_jwt(at2);
    c.key = aa_ref_key(e.agent);
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_reset(&b);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data "
                  "(authorized)\",\"scheme\":\"jwt\",\"token_type\":\"auth+jwt\",\"method\":"
                  "\"GET\",\"agent\":\"%s\",\"agent_delegate\":null,\"scope\":\"data.read\"}",
                  AG);
    expect_body(&r, b.p);
    /* PROFILE#6.2: an auth+jwt for this resource is an identity too. */
    c.path = "/data-jwks";
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_body(&r, b.p);
    c.path = "/data-hwk";
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_body(&r, b.p);
    aa_buf_free(&b);
    free(at);
    free(at2);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_resource, insufficient_scope_403_with_new_challenge)
{
    struct env e;
    struct aa_http_response r;
    struct at_spec a = {0};
    struct rt_want w = {0};
    struct call c = {0};
    char *at, *rt;

    env_start(&e, NULL);
    aa_http_response_init(&r);
    a.delegate = "delegate-1";
    a.scope = "data.read";
    at = mint_at(&e, &a);
    /* AU-07: POST with data.read only. */
    c.method = "POST";
    c.path = "/data-auth";
    c.ctype = "application/json";
    c.body = "{}";
    c.cred = cred_jwt(at);
    c.key = &e.delegate;
    call(&e, &c, &r);
    expect_error(&r, 403, "insufficient_scope");
    rt = expect_auth_challenge(&e, &r);
    w.agent = aa_ref_id(e.agent);
    w.jkt = e.delegate_jkt;
    w.scope = DEFAULT_SCOPE;
    w.iat = T0;
    check_rt(&e, rt, &w);
    free(rt);
    /* The same token reads. */
    memset(&c, 0, sizeof(c));
    c.path = "/data-auth";
    c.cred = cred_jwt(at);
    c.key = &e.delegate;
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    free(at);
    /* data.write does not imply data.read; no scope grants nothing. */
    a.scope = "data.write";
    at = mint_at(&e, &a);
    c.cred = cred_jwt(at);
    call(&e, &c, &r);
    expect_error(&r, 403, "insufficient_scope");
    free(expect_auth_challenge(&e, &r));
    free(at);
    a.scope = NULL;
    at = mint_at(&e, &a);
    c.cred = cred_jwt(at);
    call(&e, &c, &r);
    expect_error(&r, 403, "insufficient_scope");
    free(expect_auth_challenge(&e, &r));
    free(at);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* AU-01 .. AU-06: every invalid auth token -> 401 `httpsig; identity=?1`. */
Test(ref_resource, invalid_auth_tokens)
{
    struct env e;
    struct stub_as other;
    struct aa_http_response r;
    struct aa_jwk attacker;
    const char *want_err;
    char *at;

    env_start(&e, NULL);
    stub_start(&other, &e.clk, NULL);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "auth-key-1", &attacker), AA_OK);
    aa_http_response_init(&r);
    for (int i = 0; i < 9; i++) {
        struct at_spec a = {0};
        struct call c = {0};
        const struct aa_jwk *signer = &e.delegate;
        a.delegate = "delegate-1";
        a.scope = DEFAULT_SCOPE;
        want_err = "invalid_token";
        switch (i) {
        case 0:
            a.exp = T0 - 120;
            break; /* AU-03 expired */
        case 1:
            a.aud = "http://127.0.0.1:9";
            break; /* AU-01 other resource */
        case 2:
            a.iss = other.id;
            a.sign_key = &other.key;
            break; /* AU-02 untrusted iss */
        case 3:
            a.mutations = AA_JWT_MUT_ALG_NONE;
            break; /* alg none */
        case 4:
            a.typ = "JWT";
            break; /* AU-05 wrong typ */
        case 5:
            a.agent = "";
            break; /* AU-06 no agent */
        case 6:
            a.sign_key = &attacker;
            break; /* AT-10 attacker key */
        case 7:
            a.mutations = AA_JWT_MUT_BAD_SIG;
            break; /* bad JWS signature */
        case 8:
            signer = aa_ref_key(e.agent); /* AU-04 key != cnf */
            want_err = "invalid_signature";
            break;
        }
        at = mint_at(&e, &a);
        c.path = "/data-auth";
        c.cred = cred_jwt(at);
        c.key = signer;
        call(&e, &c, &r);
        cr_assert_eq(r.status, 401, "case %d: %ld %s", i, r.status, r.body);
        expect_error(&r, 401, want_err);
        expect_base_challenge(&r, true);
        free(at);
    }
    aa_jwk_cleanup(&attacker);
    aa_http_response_cleanup(&r);
    stub_stop(&other);
    env_stop(&e);
}

/* ---- replay (PROFILE#2.9, D-10, SIG-25) ------------------------------------------------ */

Test(ref_resource, nonce_replay_detected)
{
    struct env e;
    struct aa_http_response r;
    struct call c = {0};

    env_start(&e, NULL);
    aa_http_response_init(&r);
    c.method = "POST";
    c.path = "/data-hwk";
    c.ctype = "application/json";
    c.body = "{}";
    c.cred = cred_hwk();
    c.key = &e.delegate;
    c.opts.nonce_mode = AA_SIGN_NONCE_GIVEN;
    c.opts.nonce = "YWF1dGgtbm9uY2UtMDAwMQ";
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    call(&e, &c, &r); /* a new signature, the same nonce */
    expect_error(&r, 401, "replay_detected");
    expect_base_challenge(&r, false);
    /* Another endpoint of the same authority and key: still a replay. */
    c.path = "/data-jwks";
    call(&e, &c, &r);
    expect_error(&r, 401, "replay_detected");
    expect_base_challenge(&r, true);
    /* Another key with the same nonce is another cache entry. */
    c.path = "/data-hwk";
    c.key = aa_ref_key(e.agent);
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    /* A fresh nonce passes; an identical GET without nonce may repeat. */
    c.key = &e.delegate;
    c.opts.nonce_mode = AA_SIGN_NONCE_AUTO;
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    memset(&c, 0, sizeof(c));
    c.path = "/data-hwk";
    c.cred = cred_hwk();
    c.key = &e.delegate;
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200);
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200);
    /* SIG-26: a malformed nonce. */
    c.opts.nonce_mode = AA_SIGN_NONCE_GIVEN;
    c.opts.nonce = "c2hvcnQtbm9uY2U"; /* 11 bytes */
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_resource, nonce_on_post_can_be_made_optional)
{
    struct env e;
    struct env_opts o = {0};
    struct aa_http_response r;
    struct call c = {0};

    o.nonce_optional = true;
    env_start(&e, &o);
    aa_http_response_init(&r);
    c.method = "POST";
    c.path = "/data-hwk";
    c.ctype = "application/json";
    c.body = "{}";
    c.cred = cred_hwk();
    c.key = &e.delegate;
    c.opts.nonce_mode = AA_SIGN_NONCE_NONE;
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- POST /resource/token (PROFILE#6.2, F3.5) --------------------------------------------- */

static void token_call(struct env *e, struct aa_sign_cred cred, const struct aa_jwk *key,
                       const char *ctype, const char *body, struct aa_http_response *r)
{
    struct call c = {0};
    c.method = "POST";
    c.path = "/resource/token";
    c.ctype = ctype;
    c.body = body;
    c.cred = cred;
    c.key = key;
    call(e, &c, r);
}

static char *expect_token_response(const struct env *e, const struct aa_http_response *r)
{
    cJSON *j = json_of(r);
    const cJSON *it;
    int64_t v = 0;
    int n = 0;
    char *rt;

    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(hdr(r, "Cache-Control"), "no-store");
    cr_assert_str_eq(hdr(r, "Content-Type"), "application/json");
    cr_assert_str_eq(aa_json_str(j, "auth_server"), e->as.id);
    cr_assert(aa_json_int(j, "expires_in", &v));
    cr_assert_eq(v, 300);
    cr_assert_not_null(aa_json_str(j, "resource_token"));
    cJSON_ArrayForEach(it, j) n++;
    cr_assert_eq(n, 3, "%s", r->body);
    rt = xstrdup(aa_json_str(j, "resource_token"));
    cJSON_Delete(j);
    return rt;
}

Test(ref_resource, resource_token_endpoint)
{
    struct env e;
    struct aa_http_response r;
    struct rt_want w = {0};
    struct call c = {0};
    char *rt;

    env_start(&e, NULL);
    aa_http_response_init(&r);
    /* F3.5: jwks, scope=data.read. */
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT, "scope=data.read", &r);
    rt = expect_token_response(&e, &r);
    w.agent = aa_ref_id(e.agent);
    w.jkt = e.agent_jkt;
    w.scope = "data.read";
    w.iat = T0;
    check_rt(&e, rt, &w);
    free(rt);
    /* A delegate: agent = agent-token iss, agent_jkt = the delegate key. */
    token_call(&e, cred_jwt(e.agent_token), &e.delegate, FORM_CT, "scope=data.read+data.write", &r);
    rt = expect_token_response(&e, &r);
    w.jkt = e.delegate_jkt;
    w.scope = DEFAULT_SCOPE;
    check_rt(&e, rt, &w);
    free(rt);
    /* auth_request_url instead of scope (D-16: exactly one of them). */
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT,
               "auth_request_url=https%3A%2F%2Fagent.example%2Fard%2F1", &r);
    rt = expect_token_response(&e, &r);
    w.jkt = e.agent_jkt;
    w.scope = NULL;
    w.arq = "https://agent.example/ard/1";
    check_rt(&e, rt, &w);
    free(rt);
    /* 400s. */
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT,
               "scope=data.read&auth_request_url=https%3A%2F%2Fa.example%2F", &r);
    expect_error(&r, 400, "invalid_request");
    cr_assert_null(hdr(&r, "Agent-Auth"));
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT, "foo=bar", &r);
    expect_error(&r, 400, "invalid_request");
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT, "scope=data.admin", &r);
    expect_error(&r, 400, "invalid_scope");
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT, "scope=data.read+data.admin", &r);
    expect_error(&r, 400, "invalid_scope");
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT, "scope=", &r);
    expect_error(&r, 400, "invalid_scope");
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT, "scope=data.read&scope=data.write",
               &r);
    expect_error(&r, 400, "invalid_request");
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), FORM_CT, "auth_request_url=not-a-url", &r);
    expect_error(&r, 400, "invalid_request");
    token_call(&e, cred_jwks(&e), aa_ref_key(e.agent), "application/json",
               "{\"scope\":\"data.read\"}", &r);
    expect_error(&r, 400, "invalid_request");
    /* 401: pseudonymous, or no nonce. */
    token_call(&e, cred_hwk(), &e.delegate, FORM_CT, "scope=data.read", &r);
    expect_error(&r, 401, "invalid_key");
    expect_base_challenge(&r, true);
    c.method = "POST";
    c.path = "/resource/token";
    c.ctype = FORM_CT;
    c.body = "scope=data.read";
    c.cred = cred_jwks(&e);
    c.key = aa_ref_key(e.agent);
    c.opts.nonce_mode = AA_SIGN_NONCE_NONE;
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    expect_base_challenge(&r, true);
    /* 405 */
    memset(&c, 0, sizeof(c));
    c.path = "/resource/token";
    call(&e, &c, &r);
    expect_error(&r, 405, "invalid_request");
    cr_assert_str_eq(hdr(&r, "Allow"), "POST");
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- robustness (PROFILE#9 RB) and @authority (PROFILE#2.5) -------------------------------- */

Test(ref_resource, size_limits)
{
    struct env e;
    struct aa_http_response r;
    struct call c = {0};
    size_t n = 1024 * 1024 + 1;
    char *big = malloc(n + 1), *hv = malloc(17 * 1024 + 1);

    cr_assert_not_null(big);
    cr_assert_not_null(hv);
    memset(big, 'a', n);
    big[n] = '\0';
    memset(hv, 'b', 17 * 1024);
    hv[17 * 1024] = '\0';
    env_start(&e, NULL);
    aa_http_response_init(&r);
    c.method = "POST";
    c.path = "/data-hwk";
    c.ctype = "text/plain";
    c.body = big;
    call(&e, &c, &r);
    expect_error(&r, 413, "invalid_request");
    memset(&c, 0, sizeof(c));
    c.path = "/data-hwk";
    c.extra_name = "X-Big";
    c.extra_value = hv;
    call(&e, &c, &r);
    expect_error(&r, 431, "invalid_request");
    aa_http_response_cleanup(&r);
    env_stop(&e);
    free(big);
    free(hv);
}

Test(ref_resource, authority_from_configuration_not_host)
{
    struct env e;
    struct aa_http_response r;
    struct call c = {0};

    env_start(&e, NULL);
    aa_http_response_init(&r);
    /* SIG-30: Host differs, the signature is over the canonical authority. */
    c.path = "/data-hwk";
    c.cred = cred_hwk();
    c.key = &e.delegate;
    c.host = "evil.example:8443";
    call(&e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    /* SIG-24: signed for the Host's authority. */
    c.sign_authority = "evil.example:8443";
    call(&e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    expect_base_challenge(&r, false);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- fault switches (aa_ref.h) --------------------------------------------------------------
 *
 * One probe per resource fault: the request the fault is about, asserting
 * the conformant answer, or with |faulty| the broken one. The matrix runs
 * EVERY probe under every single fault (and under none): the probe of the
 * enabled fault must flip and all others must stay conformant, which shows
 * that each switch breaks exactly the one behaviour it names.
 */

typedef void (*probe_fn)(struct env *e, bool faulty);

static void probe_grant_agent_token(struct env *e, bool faulty)
{
    struct aa_http_response r;
    struct call c = {0};

    aa_http_response_init(&r);
    c.path = "/data-auth";
    c.cred = cred_jwt(e->agent_token);
    c.key = &e->delegate;
    call(e, &c, &r);
    if (faulty) {
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert_not_null(strstr(r.body, "\"token_type\":\"agent+jwt\""), "%s", r.body);
    } else {
        expect_error(&r, 401, "invalid_token");
    }
    /* jwks identities are never granted /data-auth, fault or not */
    signed_call(e, "GET", "/data-auth", cred_jwks(e), aa_ref_key(e->agent), &r);
    expect_error(&r, 401, "invalid_token");
    aa_http_response_cleanup(&r);
}

static void probe_no_challenge(struct env *e, bool faulty)
{
    struct aa_http_response r;
    struct at_spec a = {0};
    struct call c = {0};
    char *at;

    aa_http_response_init(&r);
    c.path = "/data-hwk";
    call(e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    if (faulty)
        cr_assert_null(hdr(&r, "Agent-Auth"), "%s", hdr(&r, "Agent-Auth"));
    else
        cr_assert_str_eq(hdr(&r, "Agent-Auth"), "httpsig");
    signed_call(e, "GET", "/data-auth", cred_jwks(e), aa_ref_key(e->agent), &r);
    expect_error(&r, 401, "invalid_token");
    cr_assert_eq(hdr(&r, "Agent-Auth") == NULL, faulty);
    /* a 403 keeps its challenge: the fault concerns 401 answers only */
    a.scope = "data.read";
    at = mint_at(e, &a);
    memset(&c, 0, sizeof(c));
    c.method = "POST";
    c.path = "/data-auth";
    c.ctype = "application/json";
    c.body = "{}";
    c.cred = cred_jwt(at);
    c.key = &e->delegate;
    call(e, &c, &r);
    expect_error(&r, 403, "insufficient_scope");
    cr_assert_not_null(hdr(&r, "Agent-Auth"));
    free(at);
    aa_http_response_cleanup(&r);
}

/* A GET /data-hwk signed with |opts| (and maybe another authority / Host). */
static void probe_hwk(struct env *e, const struct aa_sign_opts *opts, const char *sign_auth,
                      const char *host, bool accept)
{
    struct aa_http_response r;
    struct call c = {0};

    aa_http_response_init(&r);
    c.path = "/data-hwk";
    c.cred = cred_hwk();
    c.key = &e->delegate;
    if (opts != NULL)
        c.opts = *opts;
    c.sign_authority = sign_auth;
    c.host = host;
    call(e, &c, &r);
    if (accept)
        cr_assert_eq(r.status, 200, "%s", r.body);
    else
        expect_error(&r, 401, "invalid_signature");
    aa_http_response_cleanup(&r);
}

static void probe_legacy_base(struct env *e, bool faulty)
{
    struct aa_sign_opts o = {0};
    o.variants = AA_SIGN_V_LEGACY_BASE;
    probe_hwk(e, &o, NULL, NULL, faulty);
}

static void probe_sigkey_coverage(struct env *e, bool faulty)
{
    static const char *const omit[] = {"signature-key", NULL};
    struct aa_sign_opts o = {0};
    o.omit = omit;
    probe_hwk(e, &o, NULL, NULL, faulty);
}

static void probe_authority_from_host(struct env *e, bool faulty)
{
    probe_hwk(e, NULL, "evil.example:8443", "evil.example:8443", faulty);
    probe_hwk(e, NULL, NULL, "evil.example:8443", !faulty);
}

static void probe_created_window(struct env *e, bool faulty)
{
    struct aa_sign_opts o = {0};
    o.created_offset = -120;
    probe_hwk(e, &o, NULL, NULL, faulty);
    o.created_offset = 120;
    probe_hwk(e, &o, NULL, NULL, faulty);
}

static void probe_digest(struct env *e, bool faulty)
{
    struct aa_http_response r;
    struct call c = {0};

    aa_http_response_init(&r);
    c.method = "POST";
    c.path = "/data-hwk";
    c.ctype = "application/json";
    c.body = "{}";
    c.cred = cred_hwk();
    c.key = &e->delegate;
    c.opts.variants = AA_SIGN_V_BAD_DIGEST;
    call(e, &c, &r);
    if (faulty)
        cr_assert_eq(r.status, 200, "%s", r.body);
    else
        expect_error(&r, 401, "invalid_signature");
    aa_http_response_cleanup(&r);
}

static void probe_replay(struct env *e, bool faulty)
{
    struct aa_http_response r;
    struct call c = {0};

    aa_http_response_init(&r);
    c.method = "POST";
    c.path = "/data-hwk";
    c.ctype = "application/json";
    c.body = "{}";
    c.cred = cred_hwk();
    c.key = &e->delegate;
    c.opts.nonce_mode = AA_SIGN_NONCE_GIVEN;
    c.opts.nonce = "cHJvYmUtcmVwbGF5LW5vbmNl";
    call(e, &c, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    call(e, &c, &r);
    if (faulty)
        cr_assert_eq(r.status, 200, "%s", r.body);
    else
        expect_error(&r, 401, "replay_detected");
    aa_http_response_cleanup(&r);
}

/* An auth token changed by |a| on GET /data-auth. */
static void probe_at(struct env *e, struct at_spec *a, bool faulty)
{
    struct aa_http_response r;
    struct call c = {0};
    char *at;

    aa_http_response_init(&r);
    a->delegate = "delegate-1";
    a->scope = DEFAULT_SCOPE;
    at = mint_at(e, a);
    c.path = "/data-auth";
    c.cred = cred_jwt(at);
    c.key = &e->delegate;
    call(e, &c, &r);
    if (faulty)
        cr_assert_eq(r.status, 200, "%s", r.body);
    else
        expect_error(&r, 401, "invalid_token");
    free(at);
    aa_http_response_cleanup(&r);
}

static void probe_expired(struct env *e, bool faulty)
{
    struct at_spec a = {0};
    a.exp = T0 - 120;
    probe_at(e, &a, faulty);
}

static void probe_aud(struct env *e, bool faulty)
{
    struct at_spec a = {0};
    a.aud = "http://127.0.0.1:9";
    probe_at(e, &a, faulty);
}

/* An agent token for the delegate signed by the agent server's key, with
 * header typ |typ| and |mut|, on GET /data-jwks. */
static void probe_agent_token(struct env *e, const char *typ, unsigned mut, bool faulty)
{
    struct aa_jwt_build_opts o = {0};
    struct aa_http_response r;
    struct call c = {0};
    cJSON *cl = cJSON_CreateObject(), *cnf;
    char *tok;

    cJSON_AddStringToObject(cl, "iss", aa_ref_id(e->agent));
    cJSON_AddStringToObject(cl, "sub", "delegate-1");
    cJSON_AddNumberToObject(cl, "exp", T0 + 3600);
    cnf = cJSON_AddObjectToObject(cl, "cnf");
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&e->delegate, false));
    o.mutations = mut;
    tok = stub_mint(aa_ref_key(e->agent), typ, cl, &o);
    cJSON_Delete(cl);
    aa_http_response_init(&r);
    c.path = "/data-jwks";
    c.cred = cred_jwt(tok);
    c.key = &e->delegate;
    call(e, &c, &r);
    if (faulty)
        cr_assert_eq(r.status, 200, "%s", r.body);
    else
        expect_error(&r, 401, "invalid_token");
    free(tok);
    aa_http_response_cleanup(&r);
}

static void probe_alg_none(struct env *e, bool faulty)
{
    probe_agent_token(e, "agent+jwt", AA_JWT_MUT_ALG_NONE, faulty);
}

static void probe_skip_typ(struct env *e, bool faulty)
{
    probe_agent_token(e, "JWT", 0, faulty);
}

static void probe_cnf_unbound(struct env *e, bool faulty)
{
    struct aa_http_response r;
    struct call c = {0};

    aa_http_response_init(&r);
    c.path = "/data-jwks";
    c.cred = cred_jwt(e->agent_token);
    c.key = aa_ref_key(e->agent); /* not the token's cnf.jwk */
    call(e, &c, &r);
    if (faulty)
        cr_assert_eq(r.status, 200, "%s", r.body);
    else
        expect_error(&r, 401, "invalid_signature");
    /* the Nonce still goes through the replay cache */
    c.method = "POST";
    c.ctype = "application/json";
    c.body = "{}";
    c.opts.nonce_mode = AA_SIGN_NONCE_GIVEN;
    c.opts.nonce = "Y25mLXVuYm91bmQtbm9uY2U";
    call(e, &c, &r);
    if (faulty)
        cr_assert_eq(r.status, 200, "%s", r.body);
    else
        expect_error(&r, 401, "invalid_signature");
    call(e, &c, &r);
    expect_error(&r, 401, faulty ? "replay_detected" : "invalid_signature");
    /* a jwks signature is still checked under the fault */
    memset(&c, 0, sizeof(c));
    c.path = "/data-jwks";
    c.cred = cred_jwks(e);
    c.key = aa_ref_key(e->agent);
    c.opts.variants = AA_SIGN_V_SIG_FLIP_BIT;
    call(e, &c, &r);
    expect_error(&r, 401, "invalid_signature");
    aa_http_response_cleanup(&r);
}

static void probe_wrong_typ(struct env *e, bool faulty)
{
    struct aa_http_response r;
    struct aa_jwt t;
    char *rt;

    aa_http_response_init(&r);
    token_call(e, cred_jwks(e), aa_ref_key(e->agent), FORM_CT, "scope=data.read", &r);
    rt = expect_token_response(e, &r);
    cr_assert_eq(aa_jwt_parse(rt, strlen(rt), &t, NULL), AA_OK);
    cr_assert_str_eq(t.typ, faulty ? "JWT" : "resource+jwt");
    aa_jwt_cleanup(&t);
    free(rt);
    aa_http_response_cleanup(&r);
}

static const struct {
    unsigned bit;
    probe_fn fn;
} probes[] = {
    {AA_REF_FAULT_GRANT_AGENT_TOKEN, probe_grant_agent_token},
    {AA_REF_FAULT_NO_CHALLENGE, probe_no_challenge},
    {AA_REF_FAULT_ACCEPT_LEGACY_BASE, probe_legacy_base},
    {AA_REF_FAULT_SKIP_SIGKEY_COVERAGE, probe_sigkey_coverage},
    {AA_REF_FAULT_AUTHORITY_FROM_HOST, probe_authority_from_host},
    {AA_REF_FAULT_ACCEPT_EXPIRED, probe_expired},
    {AA_REF_FAULT_IGNORE_AUD, probe_aud},
    {AA_REF_FAULT_ACCEPT_ALG_NONE, probe_alg_none},
    {AA_REF_FAULT_SKIP_CREATED_WINDOW, probe_created_window},
    {AA_REF_FAULT_SKIP_REPLAY, probe_replay},
    {AA_REF_FAULT_CNF_UNBOUND, probe_cnf_unbound},
    {AA_REF_FAULT_WRONG_TYP, probe_wrong_typ},
    {AA_REF_FAULT_SKIP_DIGEST, probe_digest},
    {AA_REF_FAULT_SKIP_TYP, probe_skip_typ},
};
#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

ParameterizedTestParameters(ref_resource, fault_matrix)
{
    static unsigned bits[N_PROBES + 1];
    for (size_t i = 0; i < N_PROBES; i++)
        bits[i + 1] = probes[i].bit;
    bits[0] = 0; /* the conformant baseline */
    return cr_make_param_array(unsigned, bits, N_PROBES + 1);
}

ParameterizedTest(unsigned *bit, ref_resource, fault_matrix)
{
    struct env e;
    struct env_opts o = {0};

    if (*bit != 0) {
        const struct aa_ref_fault_info *fi = aa_ref_fault_find(*bit);
        cr_assert_not_null(fi, "fault bit 0x%x is not in aa_ref_faults[]", *bit);
        cr_assert_not_null(strstr(fi->roles, "resource"), "%s: roles \"%s\"", fi->name, fi->roles);
    }
    o.faults = *bit;
    env_start(&e, &o);
    for (size_t i = 0; i < N_PROBES; i++)
        probes[i].fn(&e, probes[i].bit == *bit);
    env_stop(&e);
}

/* ---- F7: GET /data-exchange (PROFILE#6.5, #6.7) -----------------------------------------------
 */

struct f7 {
    struct stub_as as2;
    struct aa_ref_server *r2;
    char r1_jkt[AA_JWK_THUMBPRINT_LEN + 1];
};

/* e->res becomes R1 with downstream |downstream| (NULL: R2's identifier),
 * logging to |log| (-v transcripts) when not NULL; R2 challenges for AS2,
 * which trusts |upstream| for exchange. */
static void f7_start(struct env *e, struct f7 *f, const char *upstream, const char *downstream,
                     FILE *log)
{
    struct env_opts o = {0};

    env_start(e, NULL);
    stub_start(&f->as2, &e->clk, upstream);
    f->r2 = resource_start(e, NULL, f->as2.id);
    aa_ref_stop(e->res);
    o.downstream = downstream ? downstream : aa_ref_id(f->r2);
    o.log = log;
    o.verbosity = log ? 2 : 0;
    e->res = resource_start(e, &o, e->as.id);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(e->res), f->r1_jkt), AA_OK);
}

static void f7_stop(struct env *e, struct f7 *f)
{
    aa_ref_stop(e->res);
    e->res = NULL;
    aa_ref_stop(f->r2);
    stub_stop(&f->as2);
    env_stop(e);
}

/* T1: AS1's auth token for R1, held by the delegate. */
static char *f7_t1(struct env *e)
{
    struct at_spec a = {0};
    a.delegate = "delegate-1";
    a.sub = "testuser";
    a.scope = DEFAULT_SCOPE;
    return mint_at(e, &a);
}

static void f7_call(struct env *e, const char *t1, struct aa_http_response *r)
{
    struct call c = {0};
    c.path = "/data-exchange";
    c.cred = cred_jwt(t1);
    c.key = &e->delegate;
    call(e, &c, r);
}

/* A 502 naming |step|. */
static void expect_502(const struct aa_http_response *r, const char *step)
{
    cJSON *j;

    expect_error(r, 502, "downstream_error");
    j = json_of(r);
    cr_assert_str_eq(aa_json_str(j, "step"), step, "%s", r->body);
    cJSON_Delete(j);
}

Test(ref_resource, exchange_end_to_end)
{
    struct env e;
    struct f7 f;
    struct aa_http_response r;
    struct aa_jwt rt2;
    struct aa_buf b;
    char *t1, *text, *want;
    const char *R1;
    FILE *log = tmpfile();
    long n;

    f7_start(&e, &f, NULL, NULL, log);
    f.as2.upstream = e.as.id; /* AS2 trusts AS1 */
    R1 = aa_ref_id(e.res);
    aa_http_response_init(&r);
    t1 = f7_t1(&e);
    f7_call(&e, t1, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_init(&b, 0);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"upstream\":{\"agent\":\"%s\",\"sub\":"
                  "\"testuser\"},\"downstream\":{\"message\":\"Access granted\",\"data\":\"This "
                  "is protected data (authorized)\",\"scheme\":\"jwt\",\"token_type\":\"auth+jwt\","
                  "\"method\":\"GET\",\"agent\":\"%s\",\"agent_delegate\":null,\"scope\":"
                  "\"data.read data.write\",\"sub\":\"testuser\"}}",
                  aa_ref_id(e.agent), R1);
    expect_body(&r, b.p);
    aa_buf_free(&b);
    /* AS2 saw scheme=jwt with T1, verified with K_R1 (PROFILE#6.5 step 5). */
    cr_assert_eq(f.as2.exchanges, 1);
    cr_assert_eq(f.as2.refused, 0);
    cr_assert_str_eq(f.as2.sigkey_scheme, "jwt");
    cr_assert_str_eq(f.as2.t1_seen, t1);
    cr_assert_str_eq(f.as2.signer_jkt, f.r1_jkt);
    /* F7 TEST 2: RT2 agent = R1, agent_jkt = K_R1, aud = AS2. */
    cr_assert_eq(aa_jwt_parse(f.as2.rt2_seen, strlen(f.as2.rt2_seen), &rt2, NULL), AA_OK);
    cr_assert_str_eq(aa_jwt_claim_str(&rt2, "iss"), aa_ref_id(f.r2));
    cr_assert_str_eq(aa_jwt_claim_str(&rt2, "aud"), f.as2.id);
    cr_assert_str_eq(aa_jwt_claim_str(&rt2, "agent"), R1);
    cr_assert_str_eq(aa_jwt_claim_str(&rt2, "agent_jkt"), f.r1_jkt);
    aa_jwt_cleanup(&rt2);
    /* R2 answered twice (challenge, then access); it resolved R1's key
     * through R1's resource metadata. */
    cr_assert_eq(aa_ref_hits(f.r2, "/data-auth"), 2);
    cr_assert_geq(aa_ref_hits(e.res, "/.well-known/aauth-resource"), 1);
    cr_assert_eq(aa_ref_hits(e.res, "/data-exchange"), 1);
    /* -v: the outgoing requests appear as seed-style blocks (PROFILE#8). */
    want = aa_test_cat(">>> RESOURCE REQUEST to ", aa_ref_id(f.r2));
    free(t1);
    aa_http_response_cleanup(&r);
    f7_stop(&e, &f);
    cr_assert_not_null(log);
    n = ftell(log);
    cr_assert_gt(n, 0);
    text = calloc(1, (size_t)n + 1);
    cr_assert_not_null(text);
    rewind(log);
    cr_assert_eq(fread(text, 1, (size_t)n, log), (size_t)n);
    cr_assert_not_null(strstr(text, want), "%.2000s", text);
    cr_assert_not_null(strstr(text, "/agent/token"), "%.2000s", text);
    cr_assert_not_null(strstr(text, "request_type=exchange"), "%.2000s", text);
    free(want);
    free(text);
    fclose(log);
}

Test(ref_resource, exchange_is_protected_like_data_auth)
{
    struct env e;
    struct f7 f;
    struct aa_http_response r;

    f7_start(&e, &f, NULL, NULL, NULL);
    aa_http_response_init(&r);
    signed_call(&e, "GET", "/data-exchange", cred_jwks(&e), aa_ref_key(e.agent), &r);
    expect_error(&r, 401, "invalid_token");
    free(expect_auth_challenge(&e, &r));
    signed_call(&e, "GET", "/data-exchange", cred_hwk(), &e.delegate, &r);
    expect_error(&r, 401, "invalid_key");
    expect_base_challenge(&r, true);
    signed_call(&e, "POST", "/data-exchange", cred_hwk(), &e.delegate, &r);
    expect_error(&r, 405, "invalid_request");
    cr_assert_eq(aa_ref_hits(f.r2, "/data-auth"), 0, "R2 must not be called");
    aa_http_response_cleanup(&r);
    f7_stop(&e, &f);
}

Test(ref_resource, exchange_failures_are_502_with_the_step)
{
    struct env e;
    struct f7 f;
    struct aa_http_response r;
    char *t1, *jwks;

    /* EX-01: AS2 does not trust AS1 -> the exchange is refused. */
    f7_start(&e, &f, "http://127.0.0.1:9", NULL, NULL);
    aa_http_response_init(&r);
    t1 = f7_t1(&e);
    f7_call(&e, t1, &r);
    expect_502(&r, "exchange");
    cr_assert_not_null(strstr(r.body, "401"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "invalid_token"), "%s", r.body);
    cr_assert_eq(f.as2.refused, 1);
    cr_assert_eq(f.as2.exchanges, 0);
    cr_assert_eq(aa_ref_hits(f.r2, "/data-auth"), 1);
    free(t1);
    f7_stop(&e, &f);

    /* The downstream answers something other than a 401 challenge. */
    memset(&f, 0, sizeof(f));
    env_start(&e, NULL);
    jwks = aa_test_cat(e.as.id, "/jwks.json");
    {
        struct env_opts o = {0};
        o.downstream = jwks;
        aa_ref_stop(e.res);
        e.res = resource_start(&e, &o, e.as.id);
    }
    t1 = f7_t1(&e);
    f7_call(&e, t1, &r);
    expect_502(&r, "challenge");
    cr_assert_not_null(strstr(r.body, "200"), "%s", r.body);
    free(t1);
    /* The downstream is unreachable. */
    {
        struct env_opts o = {0};
        o.downstream = "http://127.0.0.1:1";
        aa_ref_stop(e.res);
        e.res = resource_start(&e, &o, e.as.id);
    }
    t1 = f7_t1(&e);
    f7_call(&e, t1, &r);
    expect_502(&r, "challenge");
    free(t1);
    free(jwks);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

/* ---- configuration errors
 * ------------------------------------------------------------------------ */

Test(ref_resource, configuration_is_checked)
{
    struct aa_ref_resource_config c;
    struct aa_ref_server *s = (struct aa_ref_server *)&c; /* must be reset to NULL */
    struct aa_diag d;
    const char *bad_trust[] = {"http://example.com"};

    aa_ref_resource_defaults(&c);
    cr_assert_str_eq(c.auth_server, "http://127.0.0.1:8003");
    cr_assert_eq(c.resource_token_ttl, 300);
    cr_assert(c.require_nonce_on_post);
    cr_assert_null(c.scope);

    c.auth_server = "ftp://127.0.0.1:8003";
    aa_diag_clear(&d);
    cr_assert_neq(aa_ref_resource_start(&c, &s, &d), AA_OK);
    cr_assert_null(s);
    cr_assert_not_null(strstr(d.msg, "auth_server"), "%s", d.msg);

    aa_ref_resource_defaults(&c);
    c.scope = "data.admin";
    cr_assert_eq(aa_ref_resource_start(&c, &s, &d), AA_E_INVAL);
    cr_assert_not_null(strstr(d.msg, "data.admin"), "%s", d.msg);

    aa_ref_resource_defaults(&c);
    c.supported_scopes = "data.read  data.write";
    cr_assert_eq(aa_ref_resource_start(&c, &s, &d), AA_E_INVAL);

    aa_ref_resource_defaults(&c);
    c.resource_token_ttl = -1;
    cr_assert_eq(aa_ref_resource_start(&c, &s, &d), AA_E_INVAL);

    aa_ref_resource_defaults(&c);
    c.trusted_auth_servers = bad_trust; /* http, not loopback: not an identifier (D-1) */
    c.n_trusted_auth_servers = 1;
    cr_assert_neq(aa_ref_resource_start(&c, &s, &d), AA_OK);

    aa_ref_resource_defaults(&c);
    c.downstream = "not a url";
    cr_assert_neq(aa_ref_resource_start(&c, &s, &d), AA_OK);
    cr_assert_null(s);

    cr_assert_neq(aa_ref_resource_start(NULL, &s, &d), AA_OK);
}

/* ---- with the reference auth server (reference/lib/ref_auth.c)
 * ------------------------------------
 *
 * The flows end to end: the resource's challenge token is redeemed at the
 * real AS (PROFILE#6.3) and the auth token it issues is accepted here.
 */

static struct aa_ref_server *real_as_start(struct env *e, const char *const *trusted,
                                           size_t n_trusted)
{
    struct aa_ref_auth_config ac;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_ref_auth_defaults(&ac);
    ac.c.clock = &e->clk;
    ac.trusted_issuers = trusted;
    ac.n_trusted_issuers = n_trusted;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_auth_start(&ac, &s, &d), AA_OK, "auth server start: %s", d.msg);
    return s;
}

/* POST {as}/agent/token request_type=auth&resource_token=RT signed with
 * |cred| / |key|; returns the auth token. */
static char *redeem(struct env *e, struct aa_ref_server *as, const char *rt,
                    struct aa_sign_cred cred, const struct aa_jwk *key)
{
    struct aa_http_response r;
    struct call c = {0};
    struct aa_buf b;
    cJSON *j;
    char *at;

    aa_buf_init(&b, 0);
    aa_form_add(&b, "request_type", "auth");
    aa_form_add(&b, "resource_token", rt);
    aa_buf_adds(&b, "&redirect_uri=");
    aa_form_encode(&b, aa_ref_id(e->agent), strlen(aa_ref_id(e->agent)));
    aa_form_encode(&b, "/callback", 9);
    cr_assert_eq(b.err, AA_OK);
    c.method = "POST";
    c.path = "/agent/token";
    c.ctype = FORM_CT;
    c.body = b.p;
    c.cred = cred;
    c.key = key;
    aa_http_response_init(&r);
    call_at(e, aa_ref_url(as), &c, &r);
    cr_assert_eq(r.status, 200, "AS: %ld %s", r.status, r.body);
    j = json_of(&r);
    cr_assert_not_null(aa_json_str(j, "auth_token"), "%s", r.body);
    at = xstrdup(aa_json_str(j, "auth_token"));
    cJSON_Delete(j);
    aa_http_response_cleanup(&r);
    aa_buf_free(&b);
    return at;
}

/* The RT of the challenge /data-auth answers to |cred| / |key| at |e->res|. */
static char *challenge_rt(struct env *e, struct aa_sign_cred cred, const struct aa_jwk *key)
{
    struct aa_http_response r;
    struct aa_challenge ch;
    const char *v;
    char *rt;

    aa_http_response_init(&r);
    signed_call(e, "GET", "/data-auth", cred, key, &r);
    expect_error(&r, 401, "invalid_token");
    v = hdr(&r, "Agent-Auth");
    cr_assert_not_null(v);
    memset(&ch, 0, sizeof(ch));
    cr_assert_eq(aa_challenge_parse(NULL, v, strlen(v), &ch, NULL), AA_OK);
    cr_assert_not_null(ch.resource_token);
    rt = xstrdup(ch.resource_token);
    aa_challenge_cleanup(&ch);
    aa_http_response_cleanup(&r);
    return rt;
}

Test(ref_resource, real_as_f3_and_seed_test3)
{
    struct env e;
    struct aa_ref_server *as;
    struct aa_http_response r;
    struct aa_buf b;
    char *rt, *at;
    const char *AG;

    env_start(&e, NULL);
    as = real_as_start(&e, NULL, 0);
    aa_ref_stop(e.res);
    e.res = resource_start(&e, NULL, aa_ref_id(as));
    AG = aa_ref_id(e.agent);
    aa_http_response_init(&r);
    aa_buf_init(&b, 0);

    /* F3: agent server, jwks. */
    rt = challenge_rt(&e, cred_jwks(&e), aa_ref_key(e.agent));
    at = redeem(&e, as, rt, cred_jwks(&e), aa_ref_key(e.agent));
    signed_call(&e, "GET", "/data-auth", cred_jwt(at), aa_ref_key(e.agent), &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data "
                  "(authorized)\",\"scheme\":\"jwt\",\"token_type\":\"auth+jwt\",\"method\":"
                  "\"GET\",\"agent\":\"%s\",\"agent_delegate\":null,\"scope\":"
                  "\"data.read data.write\"}",
                  AG);
    expect_body(&r, b.p);
    free(rt);
    free(at);

    /* TEST 3: the delegate with its agent token. */
    rt = challenge_rt(&e, cred_jwt(e.agent_token), &e.delegate);
    at = redeem(&e, as, rt, cred_jwt(e.agent_token), &e.delegate);
    signed_call(&e, "POST", "/data-auth", cred_jwt(at), &e.delegate, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_reset(&b);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"data\":\"This is protected data "
                  "(authorized)\",\"scheme\":\"jwt\",\"token_type\":\"auth+jwt\",\"method\":"
                  "\"POST\",\"agent\":\"%s\",\"agent_delegate\":\"delegate-1\",\"scope\":"
                  "\"data.read data.write\"}",
                  AG);
    expect_body(&r, b.p);
    /* the delegate's token does not work with the agent server's key */
    signed_call(&e, "GET", "/data-auth", cred_jwt(at), aa_ref_key(e.agent), &r);
    expect_error(&r, 401, "invalid_signature");
    free(rt);
    free(at);
    aa_buf_free(&b);
    aa_http_response_cleanup(&r);
    aa_ref_stop(as);
    env_stop(&e);
}

Test(ref_resource, real_as_exchange_f7)
{
    struct env e;
    struct aa_ref_server *as1, *as2, *r2;
    struct env_opts o = {0};
    struct aa_http_response r;
    struct aa_buf b;
    const char *trusted[1];
    char *rt, *t1;

    env_start(&e, NULL);
    as1 = real_as_start(&e, NULL, 0);
    trusted[0] = aa_ref_id(as1);
    as2 = real_as_start(&e, trusted, 1);
    r2 = resource_start(&e, NULL, aa_ref_id(as2));
    aa_ref_stop(e.res);
    o.downstream = aa_ref_id(r2);
    e.res = resource_start(&e, &o, aa_ref_id(as1));
    aa_http_response_init(&r);

    /* F7 TEST 1: T1 for R1, held by the delegate. */
    rt = challenge_rt(&e, cred_jwt(e.agent_token), &e.delegate);
    t1 = redeem(&e, as1, rt, cred_jwt(e.agent_token), &e.delegate);
    /* TEST 2: R1 -> R2 through AS2. */
    signed_call(&e, "GET", "/data-exchange", cred_jwt(t1), &e.delegate, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    aa_buf_init(&b, 0);
    aa_buf_printf(&b,
                  "{\"message\":\"Access granted\",\"upstream\":{\"agent\":\"%s\",\"sub\":null},"
                  "\"downstream\":{\"message\":\"Access granted\",\"data\":\"This is protected "
                  "data (authorized)\",\"scheme\":\"jwt\",\"token_type\":\"auth+jwt\",\"method\":"
                  "\"GET\",\"agent\":\"%s\",\"agent_delegate\":null,\"scope\":"
                  "\"data.read data.write\"}}",
                  aa_ref_id(e.agent), aa_ref_id(e.res));
    expect_body(&r, b.p);
    cr_assert_eq(aa_ref_hits(r2, "/data-auth"), 2);
    cr_assert_eq(aa_ref_hits(as2, "/agent/token"), 1);
    aa_buf_free(&b);
    free(rt);
    free(t1);
    aa_http_response_cleanup(&r);
    aa_ref_stop(e.res);
    e.res = NULL;
    aa_ref_stop(r2);
    aa_ref_stop(as2);
    aa_ref_stop(as1);
    env_stop(&e);
}
