/*
 * The flows of PROFILE#7 (F1-F7, with F6 = the seed, TEST 1-4 of
 * PROFILE#7.6) end to end between in-process reference pieces: agent
 * server, resources and auth servers on 127.0.0.1 port 0, driven by the
 * client library (aa_client.h) that aauth-delegate and the conformance
 * runner use.
 *
 * Every step is asserted: statuses, the exact Agent-Auth values, every
 * claim of every token (checked twice: decoded here, and validated
 * independently with the harness validators over the servers' real keys,
 * not through the client), and the negative steps each flow implies.
 * All pieces share one frozen clock (T0 = the seed's created value), so
 * created, exp and lifetimes are exact numbers.
 *
 * Set AA_FLOWS_VERBOSE=1 to see every exchange (seed-style transcript) on
 * stderr.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aa_client.h"
#include "aa_ref.h"
#include "b64/aa_b64.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"

/* String assertions that report a NULL instead of crashing on it. */
static const char *nn(const char *s)
{
    return s ? s : "(null)";
}
#define assert_str(got, ...) cr_assert_str_eq(nn(got), __VA_ARGS__)
#define assert_str_neq(got, ...) cr_assert_str_neq(nn(got), __VA_ARGS__)

#define T0 INT64_C(1768786221) /* PROFILE#2.12: the seed's created */

/* RFC 8032 §7.1 TEST 1 key and its RFC 7638 thumbprint (PROFILE#2.12). */
static const uint8_t test1_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
#define TEST1_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define TEST1_JKT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

#define SIG_INPUT_GET                                                                              \
    "sig1=(\"@method\" \"@authority\" \"@path\" \"signature-key\");created=1768786221"
#define SIG_INPUT_POST                                                                             \
    "sig1=(\"@method\" \"@authority\" \"@path\" \"content-type\" \"content-digest\" \"nonce\" "    \
    "\"signature-key\");created=1768786221"

/* ---- topology ---------------------------------------------------------------------- */

struct topo {
    struct aa_ref_clock clock;
    struct aa_ref_server *ag, *r1, *as1, *r2, *as2;
};

static int64_t topo_now(void *ctx)
{
    return aa_ref_clock_now(ctx);
}

static void topo_init(struct topo *t)
{
    memset(t, 0, sizeof(*t));
    t->clock.frozen = true;
    t->clock.value = T0;
}

static void common(struct topo *t, struct aa_ref_common *c, unsigned faults)
{
    c->clock = &t->clock;
    c->faults = faults;
    c->verbosity = 0;
}

static struct aa_ref_server *start_agent(struct topo *t, unsigned faults)
{
    struct aa_ref_agent_config c;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_ref_agent_defaults(&c);
    common(t, &c.c, faults);
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&c, &s, &d), AA_OK, "agent server: %s", d.msg);
    return s;
}

static struct aa_ref_server *start_as(struct topo *t, bool consent, const char *trusted)
{
    struct aa_ref_auth_config c;
    struct aa_ref_server *s = NULL;
    const char *tr[1] = {trusted};
    struct aa_diag d;

    aa_ref_auth_defaults(&c);
    common(t, &c.c, 0);
    c.require_user_consent = consent;
    if (trusted != NULL) {
        c.trusted_issuers = tr;
        c.n_trusted_issuers = 1;
    }
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_auth_start(&c, &s, &d), AA_OK, "auth server: %s", d.msg);
    return s;
}

static struct aa_ref_server *start_resource(struct topo *t, const struct aa_ref_server *as,
                                            const char *downstream)
{
    struct aa_ref_resource_config c;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_ref_resource_defaults(&c);
    common(t, &c.c, 0);
    c.auth_server = aa_ref_id(as);
    c.downstream = downstream;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_resource_start(&c, &s, &d), AA_OK, "resource: %s", d.msg);
    return s;
}

/* AG, AS1, R1: the default topology of PROFILE#1. */
static void topo_std(struct topo *t, bool consent)
{
    topo_init(t);
    t->ag = start_agent(t, 0);
    t->as1 = start_as(t, consent, NULL);
    t->r1 = start_resource(t, t->as1, NULL);
}

static void topo_stop(struct topo *t)
{
    aa_ref_stop(t->r1);
    aa_ref_stop(t->r2);
    aa_ref_stop(t->as1);
    aa_ref_stop(t->as2);
    aa_ref_stop(t->ag);
}

/* "{origin}{path}" in a small ring of buffers (valid for 16 calls). */
static const char *url_of(const struct aa_ref_server *s, const char *path)
{
    static char ring[16][512];
    static unsigned next;
    char *b = ring[next++ % 16];

    cr_assert_eq(aa_snprintf(b, 512, "%s%s", aa_ref_url(s), path), AA_OK);
    return b;
}

/* ---- clients ---------------------------------------------------------------------------- */

static void echo_step(void *ctx, const struct aa_client_step *st)
{
    struct aa_client *c = *(struct aa_client **)ctx;
    static size_t shown;
    size_t len = 0;
    const char *t;

    (void)st;
    if (c == NULL)
        return;
    t = aa_client_transcript(c, &len);
    if (len < shown)
        shown = 0;
    fwrite(t + shown, 1, len - shown, stderr);
    shown = len;
}

static struct aa_client *echo_target;

static struct aa_client *client_new(struct topo *t, struct aa_client_opts *o)
{
    struct aa_client *c = NULL;
    struct aa_diag d;

    o->dev_mode = true;
    o->clock.now = topo_now;
    o->clock.ctx = &t->clock;
    o->transcript_flags = AA_HTTP_TR_FULL;
    if (getenv("AA_FLOWS_VERBOSE") != NULL) {
        o->on_step = echo_step;
        o->on_step_ctx = &echo_target;
    }
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_new(o, &c, &d), AA_OK, "client: %s", d.msg);
    echo_target = c;
    return c;
}

static struct aa_client *delegate_client(struct topo *t, const char *sub, const struct aa_jwk *key)
{
    struct aa_client_opts o;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_DELEGATE;
    o.agent_server = aa_ref_url(t->ag);
    o.sub = sub;
    o.key = key;
    return client_new(t, &o);
}

/* The agent server's own identity (the runner holding AG's key). */
static struct aa_client *agent_client(struct topo *t)
{
    struct aa_client_opts o;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.key = aa_ref_key(t->ag);
    o.agent_id = aa_ref_id(t->ag);
    o.agent_kid = AA_REF_AGENT_KID;
    return client_new(t, &o);
}

/* A resource acting as an agent (F7): jwks id=R, well-known=aauth-resource. */
static struct aa_client *resource_client(struct topo *t, const struct aa_ref_server *r)
{
    struct aa_client_opts o;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.key = aa_ref_key(r);
    o.agent_id = aa_ref_id(r);
    o.agent_kid = AA_REF_RESOURCE_KID;
    o.well_known = "aauth-resource";
    o.role = "RESOURCE 1";
    return client_new(t, &o);
}

static struct aa_client *pseudo_client(struct topo *t)
{
    struct aa_client_opts o;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_PSEUDONYMOUS;
    return client_new(t, &o);
}

static void test1_key(struct aa_jwk *k)
{
    cr_assert_eq(aa_jwk_from_ed25519_seed(test1_seed, "delegate-key-1", k), AA_OK);
}

/* One exchange that must get a response. */
static const struct aa_client_step *send_req(struct aa_client *c, const char *method,
                                             const char *url, enum aa_client_cred cred,
                                             const char *token, const struct aa_sign_opts *so,
                                             const char *ctype, const char *body)
{
    struct aa_client_request r;
    struct aa_client_send_opts o;
    const struct aa_client_step *st = NULL;
    struct aa_diag d;
    int rc;

    memset(&r, 0, sizeof(r));
    memset(&o, 0, sizeof(o));
    r.method = method;
    r.url = url;
    r.content_type = ctype;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    o.cred = cred;
    o.token = token;
    o.sign = so;
    aa_diag_clear(&d);
    rc = aa_client_send(c, &r, &o, &st, &d);
    cr_assert_eq(rc, AA_OK, "%s %s: %s: %s", method, url, aa_client_errstr(rc), d.msg);
    cr_assert_not_null(st);
    return st;
}

static const struct aa_client_step *get(struct aa_client *c, const char *url,
                                        enum aa_client_cred cred, const char *token)
{
    return send_req(c, "GET", url, cred, token, NULL, NULL, NULL);
}

static void fetch_ok(struct aa_client *c, const char *url, struct aa_client_result *res)
{
    struct aa_client_request r;
    struct aa_diag d;
    int rc;

    memset(&r, 0, sizeof(r));
    r.url = url;
    aa_diag_clear(&d);
    rc = aa_client_fetch(c, &r, NULL, res, &d);
    cr_assert_eq(rc, AA_OK, "fetch %s: %s: %s", url, aa_client_errstr(rc), d.msg);
}

/* ---- assertions -------------------------------------------------------------------------- */

static const char *hdr(const struct aa_client_step *st, const char *name)
{
    return aa_http_headers_get(&st->resp.headers, name);
}

static void expect_status(const struct aa_client_step *st, long status)
{
    cr_assert_eq(st->resp.status, status, "%s: status %ld, want %ld; body %s", st->what,
                 st->resp.status, status, st->resp.body ? st->resp.body : "");
}

/* 401 with the exact Agent-Auth value (PROFILE#5) and the error code. */
static void expect_challenge(const struct aa_client_step *st, long status, const char *error,
                             const char *agent_auth)
{
    const char *v = hdr(st, "Agent-Auth");

    expect_status(st, status);
    if (error != NULL)
        assert_str(st->error ? st->error : "(none)", error, "%s: error", st->what);
    cr_assert_not_null(v, "%s: no Agent-Auth", st->what);
    cr_assert_eq(st->n_challenge_lines, 1);
    assert_str(v, agent_auth, "%s: Agent-Auth", st->what);
    cr_assert_eq(st->challenge_rc, AA_OK);
}

static void jeq(const cJSON *o, const char *name, const char *want)
{
    const char *v = aa_json_str(o, name);

    cr_assert_not_null(v, "\"%s\" missing (want \"%s\")", name, want);
    assert_str(v, want, "\"%s\"", name);
}

static void jabsent(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(v == NULL || cJSON_IsNull(v), "\"%s\" must be absent", name);
}

static int64_t jint(const cJSON *o, const char *name)
{
    int64_t v = 0;
    cr_assert(aa_json_int(o, name, &v), "\"%s\" is not an integer", name);
    return v;
}

static cJSON *claims_of(const char *jwt)
{
    cJSON *c = NULL;
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_eq(aa_client_peek_claims(jwt, &c, &d), AA_OK, "token: %s", d.msg);
    return c;
}

/* The JOSE header: typ, alg, kid exactly. */
static void expect_header(const char *jwt, const char *typ, const char *kid)
{
    struct aa_jwt t;

    cr_assert_eq(aa_jwt_parse(jwt, strlen(jwt), &t, NULL), AA_OK);
    jeq(t.header, "typ", typ);
    jeq(t.header, "alg", "EdDSA");
    jeq(t.header, "kid", kid);
    aa_jwt_cleanup(&t);
}

static void cnf_jkt(const cJSON *claims, char out[AA_JWK_THUMBPRINT_LEN + 1])
{
    const cJSON *cnf = cJSON_GetObjectItemCaseSensitive(claims, "cnf");
    const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(cnf, "jwk");
    struct aa_jwk k;

    cr_assert(cJSON_IsObject(jwk), "cnf.jwk missing");
    cr_assert_eq(aa_jwk_from_cjson(jwk, AA_JWK_PUBLIC_ONLY, &k, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&k, out), AA_OK);
    aa_jwk_cleanup(&k);
}

static void expect_cnf(const cJSON *claims, const char *jkt)
{
    char got[AA_JWK_THUMBPRINT_LEN + 1];

    cnf_jkt(claims, got);
    assert_str(got, jkt, "cnf.jwk thumbprint");
}

static const char *jkt_of(const struct aa_jwk *k)
{
    static char ring[4][AA_JWK_THUMBPRINT_LEN + 1];
    static unsigned next;
    char *b = ring[next++ % 4];

    cr_assert_eq(aa_jwk_thumbprint(k, b), AA_OK);
    return b;
}

/* Independent validation (PROFILE#4.3-#4.5) with the servers' real keys. */
static struct aa_static_keys *keys_of(const struct aa_ref_server *s, const char *wk)
{
    struct aa_static_keys *k = aa_static_keys_new();

    cr_assert_not_null(k);
    cr_assert_eq(aa_static_keys_add(k, aa_ref_id(s), wk, aa_ref_key(s)), AA_OK);
    return k;
}

static void token_policy(struct topo *t, struct aa_token_policy *pol, struct aa_key_resolver *r,
                         struct aa_static_keys *k)
{
    memset(pol, 0, sizeof(*pol));
    aa_key_resolver_static(r, k);
    pol->clock.now = topo_now;
    pol->clock.ctx = &t->clock;
    pol->resolver = r;
    pol->dev_mode = true;
}

static void validate_agent_token(struct topo *t, const char *tok)
{
    struct aa_static_keys *k = keys_of(t->ag, "aauth-agent");
    struct aa_token_policy pol;
    struct aa_key_resolver r;
    struct aa_validated_token vt;
    struct aa_aauth_result res;
    int rc;

    token_policy(t, &pol, &r, k);
    pol.receiver = aa_ref_id(t->r1);
    rc = aa_aauth_validate_agent_token(&pol, tok, strlen(tok), &vt, &res);
    cr_assert_eq(rc, AA_OK, "agent token: %s %s", res.where, res.diag.msg);
    aa_validated_token_cleanup(&vt);
    aa_static_keys_free(k);
}

static void validate_rt(struct topo *t, const struct aa_ref_server *res_srv,
                        const struct aa_ref_server *as, const char *rt, const char *agent,
                        const char *agent_jkt)
{
    struct aa_static_keys *k = keys_of(res_srv, "aauth-resource");
    struct aa_token_policy pol;
    struct aa_key_resolver r;
    struct aa_validated_token vt;
    struct aa_aauth_result res;
    int rc;

    token_policy(t, &pol, &r, k);
    pol.receiver = aa_ref_id(as);
    pol.expected_agent = agent;
    pol.expected_agent_jkt = agent_jkt;
    rc = aa_aauth_validate_resource_token(&pol, rt, strlen(rt), &vt, &res);
    cr_assert_eq(rc, AA_OK, "resource token: %s %s", res.where, res.diag.msg);
    aa_validated_token_cleanup(&vt);
    aa_static_keys_free(k);
}

static void validate_at(struct topo *t, const struct aa_ref_server *as, const char *receiver,
                        const char *at, bool self_is_agent)
{
    struct aa_static_keys *k = keys_of(as, "aauth-issuer");
    const char *trusted[2] = {aa_ref_id(as), NULL};
    struct aa_token_policy pol;
    struct aa_key_resolver r;
    struct aa_validated_token vt;
    struct aa_aauth_result res;
    int rc;

    token_policy(t, &pol, &r, k);
    pol.receiver = receiver;
    pol.trusted_issuers = trusted;
    pol.self_is_agent = self_is_agent;
    rc = aa_aauth_validate_auth_token(&pol, at, strlen(at), &vt, &res);
    cr_assert_eq(rc, AA_OK, "auth token: %s %s", res.where, res.diag.msg);
    aa_validated_token_cleanup(&vt);
    aa_static_keys_free(k);
}

/* The resource token of an auth-token challenge, with the exact header
 * value: httpsig; auth-token; resource_token="<RT>"; auth_server="<AS>". */
static const char *expect_rt_challenge(const struct aa_client_step *st,
                                       const struct aa_ref_server *as)
{
    char want[8192];

    expect_status(st, 401);
    cr_assert_eq(st->challenge_rc, AA_OK);
    cr_assert(st->challenge.auth_token);
    cr_assert_not_null(st->challenge.resource_token);
    assert_str(st->challenge.auth_server, aa_ref_id(as));
    cr_assert_eq(aa_snprintf(want, sizeof(want),
                             "httpsig; auth-token; resource_token=\"%s\"; auth_server=\"%s\"",
                             st->challenge.resource_token, aa_ref_id(as)),
                 AA_OK);
    assert_str(hdr(st, "Agent-Auth"), want);
    return st->challenge.resource_token;
}

/* RT claims (PROFILE#4.2, #7 F3.1): typ, iss, aud, agent, agent_jkt, exp, scope. */
static void expect_rt_claims(struct topo *t, const char *rt, const struct aa_ref_server *res_srv,
                             const struct aa_ref_server *as, const char *agent, const char *jkt,
                             const char *scope)
{
    cJSON *c = claims_of(rt);

    expect_header(rt, "resource+jwt", AA_REF_RESOURCE_KID);
    jeq(c, "iss", aa_ref_id(res_srv));
    jeq(c, "aud", aa_ref_id(as));
    jeq(c, "agent", agent);
    jeq(c, "agent_jkt", jkt);
    jeq(c, "scope", scope);
    jabsent(c, "auth_request_url");
    cr_assert_eq(jint(c, "exp"), aa_ref_clock_now(&t->clock) + AA_REF_RESOURCE_TOKEN_TTL);
    cJSON_Delete(c);
    validate_rt(t, res_srv, as, rt, agent, jkt);
}

static const struct aa_client_step *last_of_kind(struct aa_client *c, enum aa_client_step_kind kind)
{
    for (size_t i = aa_client_step_count(c); i > 0; i--) {
        const struct aa_client_step *st = aa_client_step_at(c, i - 1);
        if (st->kind == kind)
            return st;
    }
    cr_assert_fail("no %s step", aa_client_step_kind_name(kind));
    return NULL;
}

/* A padded standard-base64 Byte Sequence of 64 bytes: sig1=:<88 chars>: */
static void expect_sig_value(const char *sig)
{
    size_t n;

    cr_assert_not_null(sig, "no Signature");
    n = strlen(sig);

    cr_assert(n == 6 + 88 + 1 && strncmp(sig, "sig1=:", 6) == 0 && sig[n - 1] == ':',
              "Signature %s", sig);
    cr_assert(sig[n - 2] == '=' && sig[n - 3] == '=', "Signature must be padded: %s", sig);
    cr_assert_null(strpbrk(sig + 6, "-_"), "Signature uses base64url: %s", sig);
}

/* Content-Digest of |body|, computed here (RFC 9530). */
static void expect_digest(const struct aa_client_step *st, const char *body)
{
    uint8_t h[32];
    char b64[64];
    char want[96];

    aa_sha256(body, strlen(body), h);
    cr_assert_eq(aa_b64_encode(h, sizeof(h), AA_B64_STD, true, b64, sizeof(b64), NULL), AA_OK);
    aa_snprintf(want, sizeof(want), "sha-256=:%s:", b64);
    assert_str(st->content_digest, want);
    assert_str(aa_http_headers_get(&st->req_headers, "Content-Digest"), want);
}

static bool scope_has(const char *scope, const char *tok)
{
    size_t n = strlen(tok);

    for (const char *p = scope; p != NULL && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, tok, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* ======================================================================== */
/* F1 Pseudonymous (hwk)                                                    */
/* ======================================================================== */

Test(flows, f1_pseudonymous)
{
    struct topo t;
    struct aa_client *c;
    const struct aa_client_step *st;
    struct aa_sign_opts flip = {.variants = AA_SIGN_V_SIG_FLIP_BIT};
    struct aa_client_result res;
    const char *body = "{\"a\":1}";

    topo_std(&t, false);
    c = pseudo_client(&t);

    /* 1. unsigned -> 401 httpsig */
    st = get(c, url_of(t.r1, "/data-hwk"), AA_CRED_NONE, NULL);
    expect_challenge(st, 401, NULL, "httpsig");
    cr_assert_not(st->is_signed);

    /* 2. signed(hwk) GET -> 200 */
    st = get(c, url_of(t.r1, "/data-hwk"), AA_CRED_HWK, NULL);
    expect_status(st, 200);
    assert_str(st->signature_input, SIG_INPUT_GET);
    {
        static const char pre[] = "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"";
        cr_assert_eq(strncmp(nn(st->signature_key), pre, sizeof(pre) - 1), 0, "%s",
                     st->signature_key);
        cr_assert_eq(strlen(st->signature_key), sizeof(pre) - 1 + 43 + 2);
    }
    expect_sig_value(st->signature);
    cr_assert_null(st->nonce, "no Nonce on GET (D-10)");
    jeq(st->json, "message", "Access granted");
    jeq(st->json, "data", "This is protected data");
    jeq(st->json, "scheme", "hwk");
    jeq(st->json, "method", "GET");
    jabsent(st->json, "agent");

    /* 3. signed(hwk) POST with a JSON body: content-type, digest, nonce covered */
    st = send_req(c, "POST", url_of(t.r1, "/data-hwk"), AA_CRED_HWK, NULL, NULL, "application/json",
                  body);
    expect_status(st, 200);
    assert_str(st->signature_input, SIG_INPUT_POST);
    expect_digest(st, body);
    cr_assert_not_null(st->nonce);
    cr_assert_eq(aa_nonce_check(NULL, st->nonce, strlen(st->nonce), NULL), AA_OK);
    jeq(st->json, "scheme", "hwk");
    jeq(st->json, "method", "POST");

    /* negative: one signature bit flipped -> 401 invalid_signature + base challenge */
    st = send_req(c, "GET", url_of(t.r1, "/data-hwk"), AA_CRED_HWK, NULL, &flip, NULL, NULL);
    expect_challenge(st, 401, "invalid_signature", "httpsig");

    /* the client climbs by itself: unsigned -> 401 httpsig -> hwk -> 200 */
    {
        struct aa_client_request r = {.url = url_of(t.r1, "/data-hwk")};
        struct aa_client_fetch_opts fo = {.first = AA_CRED_NONE};
        cr_assert_eq(aa_client_fetch(c, &r, &fo, &res, NULL), AA_OK);
        cr_assert_eq(res.status, 200);
        cr_assert_eq(res.rounds, 2);
        cr_assert_eq(res.cred, AA_CRED_HWK);
    }
    /* ... but never past what a pseudonymous caller can reach */
    {
        struct aa_client_request r = {.url = url_of(t.r1, "/data-jwks")};
        cr_assert_eq(aa_client_fetch(c, &r, NULL, &res, NULL), AA_OK);
        cr_assert_eq(res.status, 401);
        cr_assert_eq(res.rounds, 1);
        expect_challenge(res.final, 401, NULL, "httpsig; identity=?1");
    }
    aa_client_free(c);
    topo_stop(&t);
}

/* ======================================================================== */
/* F2 Identified (jwks)                                                     */
/* ======================================================================== */

Test(flows, f2_identified)
{
    struct topo t;
    struct aa_client *c;
    const struct aa_client_step *st;
    const cJSON *keys, *ru;
    uint64_t md0, jwks0;
    char cb[512];

    topo_std(&t, false);
    c = agent_client(&t);

    /* 1. agent metadata and JWKS */
    st = get(c, url_of(t.ag, "/.well-known/aauth-agent"), AA_CRED_NONE, NULL);
    expect_status(st, 200);
    jeq(st->json, "agent", aa_ref_id(t.ag));
    jeq(st->json, "jwks_uri", url_of(t.ag, "/jwks.json"));
    ru = cJSON_GetObjectItemCaseSensitive(st->json, "redirect_uris");
    cr_assert(cJSON_IsArray(ru) && cJSON_GetArraySize(ru) == 1);
    aa_snprintf(cb, sizeof(cb), "%s/callback", aa_ref_id(t.ag));
    assert_str(cJSON_GetArrayItem(ru, 0)->valuestring, cb);
    for (const char *const *m =
             (const char *const[]){"name", "logo_uri", "policy_uri", "tos_uri", "homepage", NULL};
         *m; m++)
        cr_assert_not_null(aa_json_str(st->json, *m), "metadata member %s", *m);
    st = get(c, url_of(t.ag, "/jwks.json"), AA_CRED_NONE, NULL);
    expect_status(st, 200);
    keys = cJSON_GetObjectItemCaseSensitive(st->json, "keys");
    cr_assert(cJSON_IsArray(keys) && cJSON_GetArraySize(keys) == 1);
    jeq(cJSON_GetArrayItem(keys, 0), "kid", AA_REF_AGENT_KID);
    jabsent(cJSON_GetArrayItem(keys, 0), "d");
    {
        struct aa_jwk k;
        cr_assert_eq(aa_jwk_from_cjson(cJSON_GetArrayItem(keys, 0), AA_JWK_PUBLIC_ONLY, &k, NULL),
                     AA_OK);
        cr_assert(aa_jwk_same_key(&k, aa_ref_key(t.ag)));
        aa_jwk_cleanup(&k);
    }

    /* unsigned and hwk on an identity endpoint -> httpsig; identity=?1 */
    st = get(c, url_of(t.r1, "/data-jwks"), AA_CRED_NONE, NULL);
    expect_challenge(st, 401, NULL, "httpsig; identity=?1");
    st = get(c, url_of(t.r1, "/data-jwks"), AA_CRED_HWK, NULL);
    expect_challenge(st, 401, NULL, "httpsig; identity=?1");

    /* 3. signed(jwks id=AG kid=key-1 well-known=aauth-agent) -> 200; R fetched AG's keys */
    md0 = aa_ref_hits(t.ag, "/.well-known/aauth-agent");
    jwks0 = aa_ref_hits(t.ag, "/jwks.json");
    st = get(c, url_of(t.r1, "/data-jwks"), AA_CRED_JWKS, NULL);
    expect_status(st, 200);
    {
        char want[512];
        aa_snprintf(want, sizeof(want),
                    "sig1=(scheme=jwks id=\"%s\" kid=\"key-1\" well-known=\"aauth-agent\")",
                    aa_ref_id(t.ag));
        assert_str(st->signature_key, want);
    }
    jeq(st->json, "scheme", "jwks");
    jeq(st->json, "agent", aa_ref_id(t.ag));
    jeq(st->json, "agent_id", aa_ref_id(t.ag));
    jeq(st->json, "method", "GET");
    cr_assert_gt(aa_ref_hits(t.ag, "/.well-known/aauth-agent"), md0);
    cr_assert_gt(aa_ref_hits(t.ag, "/jwks.json"), jwks0);

    /* 4. INFO (D-15): jwks Mode 1 is pseudonymous: 200 on /data-hwk, identity=?1 on /data-jwks */
    {
        struct aa_sign_cred m1 = {.scheme = AA_SIGKEY_JWKS,
                                  .jwks_url = url_of(t.ag, "/jwks.json"),
                                  .kid = AA_REF_AGENT_KID};
        struct aa_client_send_opts so = {.cred_override = &m1};
        struct aa_client_request r = {.url = url_of(t.r1, "/data-hwk")};
        cr_assert_eq(aa_client_send(c, &r, &so, &st, NULL), AA_OK);
        expect_status(st, 200);
        r.url = url_of(t.r1, "/data-jwks");
        cr_assert_eq(aa_client_send(c, &r, &so, &st, NULL), AA_OK);
        expect_challenge(st, 401, NULL, "httpsig; identity=?1");
    }
    aa_client_free(c);
    topo_stop(&t);
}

/* ======================================================================== */
/* F3 Autonomous authorisation                                              */
/* ======================================================================== */

static void expect_at_claims(struct topo *t, const char *at, const struct aa_ref_server *as,
                             const struct aa_ref_server *res_srv, const char *agent,
                             const char *delegate, const char *jkt, const char *scope, int64_t exp)
{
    cJSON *c = claims_of(at);

    expect_header(at, "auth+jwt", AA_REF_AUTH_KID);
    jeq(c, "iss", aa_ref_id(as));
    jeq(c, "aud", aa_ref_id(res_srv));
    jeq(c, "agent", agent);
    if (delegate != NULL)
        jeq(c, "agent_delegate", delegate);
    else
        jabsent(c, "agent_delegate");
    expect_cnf(c, jkt);
    jeq(c, "scope", scope);
    cr_assert_eq(jint(c, "exp"), exp);
    cJSON_Delete(c);
    validate_at(t, as, aa_ref_id(res_srv), at, false);
}

Test(flows, f3_autonomous)
{
    struct topo t;
    struct aa_client *c;
    const struct aa_client_step *st;
    const struct aa_client_as_meta *m;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr, rf;
    struct aa_client_resource_token rtr;
    const char *ag_jkt;
    char *rt, *at, *refresh;
    struct aa_diag d;

    topo_std(&t, false);
    c = agent_client(&t);
    ag_jkt = jkt_of(aa_ref_key(t.ag));

    /* 1. /data-auth signed(jwks) -> 401 auth-token challenge with RT */
    st = get(c, url_of(t.r1, "/data-auth"), AA_CRED_JWKS, NULL);
    rt = strdup(expect_rt_challenge(st, t.as1));
    expect_rt_claims(&t, rt, t.r1, t.as1, aa_ref_id(t.ag), ag_jkt, "data.read data.write");

    /* 2. issuer metadata */
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_as_metadata(c, aa_ref_id(t.as1), &m, &d), AA_OK, "%s", d.msg);
    assert_str(m->issuer, aa_ref_id(t.as1));
    assert_str(m->agent_token_endpoint, url_of(t.as1, "/agent/token"));
    assert_str(m->agent_auth_endpoint, url_of(t.as1, "/agent/auth"));
    assert_str(m->jwks_uri, url_of(t.as1, "/jwks.json"));
    st = last_of_kind(c, AA_CSTEP_METADATA);
    {
        const cJSON *algs =
            cJSON_GetObjectItemCaseSensitive(st->json, "agent_signing_algs_supported");
        const cJSON *types = cJSON_GetObjectItemCaseSensitive(st->json, "request_types_supported");
        cr_assert(cJSON_IsArray(algs) && cJSON_GetArraySize(algs) == 1);
        assert_str(cJSON_GetArrayItem(algs, 0)->valuestring, "ed25519");
        cr_assert(cJSON_IsArray(types) && cJSON_GetArraySize(types) == 4);
        static const char *const want[] = {"auth", "code", "exchange", "refresh"};
        for (int i = 0; i < 4; i++)
            assert_str(cJSON_GetArrayItem(types, i)->valuestring, want[i]);
    }

    /* 3. request_type=auth signed(jwks) -> 200 auth_token, expires_in, refresh_token */
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = rt;
    tp.redirect_uri = aa_client_redirect_uri(c);
    cr_assert_eq(aa_client_token_request(c, aa_ref_id(t.as1), &tp, NULL, &tr, &d), AA_OK, "%s",
                 d.msg);
    cr_assert_eq(tr.status, 200);
    cr_assert_eq(tr.expires_in, AA_REF_AUTH_TOKEN_TTL);
    cr_assert_not_null(tr.refresh_token);
    cr_assert_null(tr.request_token);
    assert_str(hdr(tr.step, "Cache-Control"), "no-store");
    assert_str(tr.step->signature_input, SIG_INPUT_POST);
    expect_digest(tr.step, tr.step->req_body);
    at = strdup(tr.auth_token);
    refresh = strdup(tr.refresh_token);
    expect_at_claims(&t, at, t.as1, t.r1, aa_ref_id(t.ag), NULL, ag_jkt, "data.read data.write",
                     T0 + AA_REF_AUTH_TOKEN_TTL);
    aa_client_token_response_cleanup(&tr);

    /* 4. /data-auth signed(jwt AT) -> 200 */
    st = get(c, url_of(t.r1, "/data-auth"), AA_CRED_AUTH_TOKEN, at);
    expect_status(st, 200);
    jeq(st->json, "scheme", "jwt");
    jeq(st->json, "token_type", "auth+jwt");
    jeq(st->json, "agent", aa_ref_id(t.ag));
    jeq(st->json, "scope", "data.read data.write");
    jeq(st->json, "data", "This is protected data (authorized)");
    jabsent(st->json, "agent_delegate");

    /* 5. alternative: POST /resource/token scope=data.read, then auth */
    cr_assert_eq(aa_client_resource_token_request(c, aa_ref_id(t.r1), "data.read", NULL, &rtr, &d),
                 AA_OK, "%s", d.msg);
    cr_assert_eq(rtr.status, 200);
    assert_str(rtr.auth_server, aa_ref_id(t.as1));
    cr_assert_eq(rtr.expires_in, AA_REF_RESOURCE_TOKEN_TTL);
    expect_rt_claims(&t, rtr.resource_token, t.r1, t.as1, aa_ref_id(t.ag), ag_jkt, "data.read");
    tp.resource_token = rtr.resource_token;
    cr_assert_eq(aa_client_token_request(c, aa_ref_id(t.as1), &tp, NULL, &tr, &d), AA_OK, "%s",
                 d.msg);
    expect_at_claims(&t, tr.auth_token, t.as1, t.r1, aa_ref_id(t.ag), NULL, ag_jkt, "data.read",
                     T0 + AA_REF_AUTH_TOKEN_TTL);
    /* data.read does not cover POST: 403 insufficient_scope with a new challenge */
    st = send_req(c, "POST", url_of(t.r1, "/data-auth"), AA_CRED_AUTH_TOKEN, tr.auth_token, NULL,
                  "application/json", "{}");
    expect_status(st, 403);
    assert_str(st->error, "insufficient_scope");
    cr_assert(st->has_challenge && st->challenge.auth_token);
    aa_client_token_response_cleanup(&tr);
    aa_client_resource_token_cleanup(&rtr);

    /* 6. refresh, 60 s later: same claims, later exp, same key, no new refresh token */
    aa_ref_clock_advance(&t.clock, 60);
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "refresh";
    tp.refresh_token = refresh;
    cr_assert_eq(aa_client_token_request(c, aa_ref_id(t.as1), &tp, NULL, &rf, &d), AA_OK, "%s",
                 d.msg);
    cr_assert_null(rf.refresh_token, "refresh must not rotate the refresh token (D-20)");
    cr_assert_eq(rf.expires_in, AA_REF_AUTH_TOKEN_TTL);
    expect_at_claims(&t, rf.auth_token, t.as1, t.r1, aa_ref_id(t.ag), NULL, ag_jkt,
                     "data.read data.write", T0 + 60 + AA_REF_AUTH_TOKEN_TTL);
    aa_client_token_response_cleanup(&rf);

    /* the whole flow again, automatically, from a fresh client */
    {
        struct aa_client *c2 = agent_client(&t);
        struct aa_client_result res;
        const struct aa_client_grant *g;
        static const enum aa_client_step_kind want[] = {
            AA_CSTEP_REQUEST, AA_CSTEP_METADATA, AA_CSTEP_TOKEN, AA_CSTEP_JWKS, AA_CSTEP_REQUEST};
        size_t k = 0;

        fetch_ok(c2, url_of(t.r1, "/data-auth"), &res);
        cr_assert_eq(res.status, 200);
        cr_assert_eq(res.rounds, 2);
        cr_assert_eq(res.cred, AA_CRED_AUTH_TOKEN);
        cr_assert_not_null(g = res.grant);
        assert_str(g->resource, aa_ref_id(t.r1));
        assert_str(g->auth_server, aa_ref_id(t.as1));
        cr_assert_not_null(g->refresh_token);
        assert_str(g->cnf_jkt, ag_jkt);
        /* the exchanges, in order (metadata of the AS, its JWKS to check the token) */
        for (size_t i = 0; i < aa_client_step_count(c2) && k < 5; i++)
            if (aa_client_step_at(c2, i)->kind == want[k])
                k++;
        cr_assert_eq(k, 5, "steps out of order");
        aa_client_free(c2);
    }
    free(rt);
    free(at);
    free(refresh);
    aa_client_free(c);
    topo_stop(&t);
}

/* ======================================================================== */
/* F4 User consent                                                          */
/* ======================================================================== */

Test(flows, f4_user_consent)
{
    struct topo t;
    struct aa_client *c;
    const struct aa_client_step *st;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_client_consent_result cr;
    const struct aa_client_grant *g = NULL;
    struct aa_client_user deny = {.deny = true};
    struct aa_client_user wrong = {.password = "wrong"};
    const char *ag_jkt;
    char loc_prefix[600];
    char *code;
    cJSON *claims;
    struct aa_diag d;
    int rc;

    topo_std(&t, true);
    c = agent_client(&t);
    ag_jkt = jkt_of(aa_ref_key(t.ag));

    /* 1. the F3.3 request now answers a request token */
    st = get(c, url_of(t.r1, "/data-auth"), AA_CRED_JWKS, NULL);
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = expect_rt_challenge(st, t.as1);
    tp.redirect_uri = aa_client_redirect_uri(c);
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_token_request(c, aa_ref_id(t.as1), &tp, NULL, &tr, &d), AA_OK, "%s",
                 d.msg);
    cr_assert_not_null(tr.request_token);
    cr_assert_null(tr.auth_token);
    cr_assert_eq(tr.expires_in, AA_REF_REQUEST_TOKEN_TTL);

    /* a wrong password is refused with the form again (no code) */
    rc = aa_client_consent(c, aa_ref_id(t.as1), tr.request_token, NULL, &wrong, &cr, &d);
    cr_assert_eq(rc, AA_E_CLIENT_CONSENT, "%s", aa_client_errstr(rc));
    expect_status(last_of_kind(c, AA_CSTEP_LOGIN), 200);
    aa_client_consent_result_cleanup(&cr);

    /* 2. scripted user: 303 to redirect_uri?code=..&state=<ours> */
    cr_assert_eq(aa_client_consent(c, aa_ref_id(t.as1), tr.request_token, NULL, NULL, &cr, &d),
                 AA_OK, "%s", d.msg);
    cr_assert_eq(cr.status, 303);
    expect_status(last_of_kind(c, AA_CSTEP_LOGIN), 303);
    aa_snprintf(loc_prefix, sizeof(loc_prefix), "%s?code=", aa_client_redirect_uri(c));
    cr_assert_eq(strncmp(nn(cr.location), loc_prefix, strlen(loc_prefix)), 0, "Location %s",
                 cr.location);
    assert_str(cr.returned_state, cr.state);
    cr_assert_eq(strlen(cr.state), AA_CLIENT_STATE_LEN);
    code = strdup(cr.code);
    aa_client_consent_result_cleanup(&cr);
    aa_client_token_response_cleanup(&tr);

    /* 3. request_type=code -> AT with sub=testuser and a refresh token */
    cr_assert_eq(aa_client_redeem_code(c, aa_ref_id(t.as1), code, NULL, aa_ref_id(t.r1), &g, &d),
                 AA_OK, "%s", d.msg);
    cr_assert_not_null(g->refresh_token);
    claims = claims_of(g->auth_token);
    jeq(claims, "sub", "testuser");
    jeq(claims, "agent", aa_ref_id(t.ag));
    jeq(claims, "aud", aa_ref_id(t.r1));
    jeq(claims, "iss", aa_ref_id(t.as1));
    jeq(claims, "scope", "data.read data.write");
    expect_cnf(claims, ag_jkt);
    cJSON_Delete(claims);
    validate_at(&t, t.as1, aa_ref_id(t.r1), g->auth_token, false);
    st = last_of_kind(c, AA_CSTEP_TOKEN);
    cr_assert(strstr(nn(st->req_body), "request_type=code&code=") == st->req_body);

    /* 4. /data-auth -> 200 with sub */
    st = get(c, url_of(t.r1, "/data-auth"), AA_CRED_AUTH_TOKEN, g->auth_token);
    expect_status(st, 200);
    jeq(st->json, "sub", "testuser");
    jeq(st->json, "token_type", "auth+jwt");

    /* 5a. the code a second time -> 400 invalid_grant */
    rc = aa_client_redeem_code(c, aa_ref_id(t.as1), code, NULL, aa_ref_id(t.r1), NULL, &d);
    cr_assert_eq(rc, AA_E_CLIENT_STATUS, "%s", aa_client_errstr(rc));
    st = last_of_kind(c, AA_CSTEP_TOKEN);
    expect_status(st, 400);
    assert_str(st->error, "invalid_grant");
    cr_assert_eq(st->rc, AA_E_CLIENT_STATUS);

    /* 5b. consent denied -> 303 error=access_denied with our state */
    st = get(c, url_of(t.r1, "/data-auth"), AA_CRED_JWKS, NULL);
    tp.resource_token = expect_rt_challenge(st, t.as1);
    cr_assert_eq(aa_client_token_request(c, aa_ref_id(t.as1), &tp, NULL, &tr, &d), AA_OK);
    rc = aa_client_consent(c, aa_ref_id(t.as1), tr.request_token, NULL, &deny, &cr, &d);
    cr_assert_eq(rc, AA_E_CLIENT_DENIED, "%s", aa_client_errstr(rc));
    cr_assert_eq(cr.status, 303);
    assert_str(cr.error, "access_denied");
    cr_assert_null(cr.code);
    assert_str(cr.returned_state, cr.state);
    aa_client_consent_result_cleanup(&cr);
    /* the request token is consumed: the same consent again is a 400 without redirect */
    rc = aa_client_consent(c, aa_ref_id(t.as1), tr.request_token, NULL, NULL, &cr, &d);
    cr_assert_eq(rc, AA_E_CLIENT_STATUS, "%s", aa_client_errstr(rc));
    expect_status(aa_client_step_last(c), 400);
    aa_client_consent_result_cleanup(&cr);
    aa_client_token_response_cleanup(&tr);

    /* the whole flow automatically: challenge -> auth -> consent -> code -> 200 */
    {
        struct aa_client *c2 = agent_client(&t);
        struct aa_client_result res;

        fetch_ok(c2, url_of(t.r1, "/data-auth"), &res);
        cr_assert_eq(res.status, 200);
        jeq(res.final->json, "sub", "testuser");
        expect_status(last_of_kind(c2, AA_CSTEP_CONSENT), 303);
        aa_client_free(c2);
    }
    free(code);
    aa_client_free(c);
    topo_stop(&t);
}

/* ======================================================================== */
/* F5 Agent is resource                                                     */
/* ======================================================================== */

Test(flows, f5_agent_is_resource)
{
    struct topo t;
    struct aa_client *c, *dg;
    struct aa_client_auth_params ap = {.scope = "openid profile email"};
    const struct aa_client_grant *g = NULL;
    const char *scope;
    struct aa_jwk k1;
    cJSON *claims;
    struct aa_diag d;

    topo_std(&t, true);
    c = agent_client(&t);
    aa_diag_clear(&d);

    /* 1-2. AG signed(jwks) request_type=auth&scope=openid+profile+email -> consent -> code */
    cr_assert_eq(aa_client_authorize(c, aa_ref_id(t.as1), &ap, &g, &d), AA_OK, "%s", d.msg);
    {
        const struct aa_client_step *st = aa_client_step_at(c, 0);
        for (size_t i = 0; i < aa_client_step_count(c); i++)
            if (aa_client_step_at(c, i)->kind == AA_CSTEP_TOKEN) {
                st = aa_client_step_at(c, i);
                break;
            }
        cr_assert_eq(st->kind, AA_CSTEP_TOKEN);
        cr_assert(strstr(nn(st->req_body),
                         "request_type=auth&scope=openid+profile+email&redirect_uri=") ==
                      st->req_body,
                  "%s", st->req_body);
    }
    /* 3. aud = AG, no agent claim, identity claims, identity scopes not in scope */
    claims = claims_of(g->auth_token);
    jeq(claims, "aud", aa_ref_id(t.ag));
    jabsent(claims, "agent");
    jeq(claims, "sub", "testuser");
    jeq(claims, "name", "Test User");
    jeq(claims, "email", "testuser@example.com");
    scope = aa_json_str(claims, "scope");
    cr_assert_not(scope_has(scope, "openid") || scope_has(scope, "profile") ||
                      scope_has(scope, "email"),
                  "identity scopes in scope: %s", scope);
    expect_cnf(claims, jkt_of(aa_ref_key(t.ag)));
    cJSON_Delete(claims);
    validate_at(&t, t.as1, aa_ref_id(t.ag), g->auth_token, true);

    /* 4. the delegate variant: aud = AG, agent_delegate = sub, cnf = the delegate key */
    test1_key(&k1);
    dg = delegate_client(&t, "delegate-1", &k1);
    cr_assert_eq(aa_client_authorize(dg, aa_ref_id(t.as1), &ap, &g, &d), AA_OK, "%s", d.msg);
    claims = claims_of(g->auth_token);
    jeq(claims, "aud", aa_ref_id(t.ag));
    jeq(claims, "agent_delegate", "delegate-1");
    jeq(claims, "sub", "testuser");
    expect_cnf(claims, TEST1_JKT);
    cJSON_Delete(claims);
    aa_jwk_cleanup(&k1);
    aa_client_free(dg);
    aa_client_free(c);
    topo_stop(&t);
}

/* ======================================================================== */
/* F6 Agent delegation (the seed), PROFILE#7.6                              */
/* ======================================================================== */

/* TEST 1 checks on the client's agent token. */
static void f6_expect_agent_token(struct topo *t, struct aa_client *c, const char *jkt)
{
    const struct aa_client_step *st = last_of_kind(c, AA_CSTEP_AGENT_TOKEN);
    const char *tok = aa_client_agent_token(c);
    cJSON *req = NULL, *claims, *want_jwk;
    const cJSON *cnf_jwk;
    int64_t exp;

    /* the request: POST {AG}/delegate/token, JSON {sub, cnf_jwk} */
    assert_str(st->method, "POST");
    assert_str(st->url, url_of(t->ag, "/delegate/token"));
    assert_str(aa_http_headers_get(&st->req_headers, "Content-Type"), "application/json");
    cr_assert_not(st->is_signed, "the seed sends it unsigned");
    cr_assert_eq(aa_json_parse(st->req_body, st->req_body_len, NULL, &req, NULL), AA_OK);
    cr_assert_eq(cJSON_GetArraySize(req), 2);
    jeq(req, "sub", aa_client_sub(c));
    want_jwk = aa_jwk_to_cjson(aa_client_key(c), false);
    cr_assert(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(req, "cnf_jwk"), want_jwk, true),
              "cnf_jwk is the public key with its kid");
    jabsent(cJSON_GetObjectItemCaseSensitive(req, "cnf_jwk"), "d");

    /* the answer: 200 {agent_token, expires_in: 3600} */
    expect_status(st, 200);
    cr_assert_eq(jint(st->json, "expires_in"), AA_REF_AGENT_TOKEN_TTL);
    jeq(st->json, "agent_token", tok);
    assert_str(hdr(st, "Cache-Control"), "no-store");

    /* the token */
    expect_header(tok, "agent+jwt", AA_REF_AGENT_KID);
    claims = claims_of(tok);
    jeq(claims, "iss", aa_ref_id(t->ag));
    jeq(claims, "sub", aa_client_sub(c));
    exp = jint(claims, "exp");
    cr_assert_gt(exp, aa_ref_clock_now(&t->clock));
    cr_assert_eq(exp, aa_ref_clock_now(&t->clock) + AA_REF_AGENT_TOKEN_TTL);
    cr_assert_leq(exp - aa_ref_clock_now(&t->clock), AA_REF_AGENT_TOKEN_TTL + 60);
    expect_cnf(claims, jkt);
    cnf_jwk =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(claims, "cnf"), "jwk");
    cr_assert(cJSON_Compare(cnf_jwk, want_jwk, true), "cnf.jwk is the submitted JWK, member by "
                                                      "member");
    validate_agent_token(t, tok);
    cJSON_Delete(want_jwk);
    cJSON_Delete(claims);
    cJSON_Delete(req);
}

Test(flows, f6_test1_agent_token)
{
    struct topo t;
    struct aa_client *c;
    struct aa_jwk k1;
    struct aa_diag d;

    topo_std(&t, false);
    test1_key(&k1);
    c = delegate_client(&t, "delegate-1", &k1);
    assert_str(aa_client_thumbprint(c), TEST1_JKT);
    cr_assert_null(aa_client_agent_token(c));
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_agent_token_obtain(c, &d), AA_OK, "%s", d.msg);
    f6_expect_agent_token(&t, c, TEST1_JKT);
    /* the exact request body of the seed, with our key (133 bytes for the seed's) */
    {
        const struct aa_client_step *st = last_of_kind(c, AA_CSTEP_AGENT_TOKEN);
        assert_str(st->req_body, "{\"sub\":\"delegate-1\",\"cnf_jwk\":{\"kty\":\"OKP\",\"crv\":"
                                 "\"Ed25519\",\"x\":\"" TEST1_X "\",\"kid\":\"delegate-key-1\"}}");
        cr_assert_eq(st->req_body_len, 133);
    }
    /* the client checked the token's signature through the agent's metadata */
    cr_assert_geq(aa_ref_hits(t.ag, "/.well-known/aauth-agent"), 1);
    cr_assert_geq(aa_ref_hits(t.ag, "/jwks.json"), 1);
    aa_client_free(c);
    aa_jwk_cleanup(&k1);
    topo_stop(&t);
}

/* CL-03: an agent token that is not for our key / of the wrong type is refused. */
Test(flows, f6_test1_client_rejects_bad_agent_tokens)
{
    static const struct {
        unsigned fault;
        const char *what;
    } cases[] = {
        {AA_REF_FAULT_CNF_MISMATCH, "cnf.jwk thumbprint"},
        {AA_REF_FAULT_WRONG_TYP, "typ"},
        {AA_REF_FAULT_EXP_BEYOND_EXPIRES_IN, NULL}, /* a WARN for checkers, accepted here */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct topo t;
        struct aa_client *c;
        struct aa_diag d;
        int rc;

        topo_init(&t);
        t.ag = start_agent(&t, cases[i].fault);
        c = delegate_client(&t, "delegate-1", NULL);
        aa_diag_clear(&d);
        rc = aa_client_agent_token_obtain(c, &d);
        if (cases[i].what == NULL) {
            cr_assert_eq(rc, AA_OK, "%s", d.msg);
        } else {
            cr_assert_eq(rc, AA_E_CLIENT_TOKEN, "fault %u: %s", cases[i].fault,
                         aa_client_errstr(rc));
            cr_assert_not_null(strstr(nn(d.msg), cases[i].what), "%s", d.msg);
            cr_assert_null(aa_client_agent_token(c), "a refused token is not kept");
            cr_assert_eq(last_of_kind(c, AA_CSTEP_AGENT_TOKEN)->rc, AA_E_CLIENT_TOKEN);
        }
        aa_client_free(c);
        topo_stop(&t);
    }
}

Test(flows, f6_test2_access_with_agent_token)
{
    struct topo t;
    struct aa_client *c;
    const struct aa_client_step *st;
    struct aa_sign_opts flip = {.variants = AA_SIGN_V_SIG_FLIP_BIT};
    struct aa_jwk k1;
    uint64_t md0, jwks0;
    char want_sk[4096];

    topo_std(&t, false);
    test1_key(&k1);
    c = delegate_client(&t, "delegate-1", &k1);
    cr_assert_eq(aa_client_agent_token_obtain(c, NULL), AA_OK);
    md0 = aa_ref_hits(t.ag, "/.well-known/aauth-agent");
    jwks0 = aa_ref_hits(t.ag, "/jwks.json");

    /* 1. GET /data-jwks signed(jwt agent token) */
    st = get(c, url_of(t.r1, "/data-jwks"), AA_CRED_AGENT_TOKEN, NULL);
    assert_str(st->signature_input, SIG_INPUT_GET);
    aa_snprintf(want_sk, sizeof(want_sk), "sig1=(scheme=jwt jwt=\"%s\")", aa_client_agent_token(c));
    assert_str(st->signature_key, want_sk);
    expect_sig_value(st->signature);
    assert_str(st->key_jkt, TEST1_JKT);
    {
        char base[8192], auth[AA_URL_AUTHORITY_MAX];
        cr_assert_eq(aa_url_authority_of(aa_ref_url(t.r1), auth, sizeof(auth), NULL), AA_OK);
        aa_snprintf(base, sizeof(base),
                    "\"@method\": GET\n\"@authority\": %s\n\"@path\": /data-jwks\n"
                    "\"signature-key\": %s\n\"@signature-params\": %s",
                    auth, want_sk, &SIG_INPUT_GET[5]);
        assert_str(st->base, base);
    }
    /* 2. R validated the token through AG's metadata and JWKS -> 200 */
    expect_status(st, 200);
    cr_assert_gt(aa_ref_hits(t.ag, "/.well-known/aauth-agent"), md0);
    cr_assert_gt(aa_ref_hits(t.ag, "/jwks.json"), jwks0);
    /* 3. the seed's body */
    jeq(st->json, "message", "Access granted");
    jeq(st->json, "data", "This is protected data (identified via agent token)");
    jeq(st->json, "scheme", "jwt");
    jeq(st->json, "token_type", "agent+jwt");
    jeq(st->json, "method", "GET");
    jeq(st->json, "agent", aa_ref_id(t.ag));
    jeq(st->json, "agent_delegate", "delegate-1");

    /* 4. companion: one signature bit flipped -> 401 */
    st = send_req(c, "GET", url_of(t.r1, "/data-jwks"), AA_CRED_AGENT_TOKEN, NULL, &flip, NULL,
                  NULL);
    expect_challenge(st, 401, "invalid_signature", "httpsig; identity=?1");
    /* the seed's own dialect is refused too (S1): the legacy base alone
     * (SIG-28), and with the base64url Signature of the transcript (SIG-21) */
    {
        static const unsigned dialects[] = {AA_SIGN_V_LEGACY_BASE,
                                            AA_SIGN_V_LEGACY_BASE | AA_SIGN_V_SIG_B64URL};
        for (size_t i = 0; i < 2; i++) {
            struct aa_sign_opts seed = {.variants = dialects[i]};
            st = send_req(c, "GET", url_of(t.r1, "/data-jwks"), AA_CRED_AGENT_TOKEN, NULL, &seed,
                          NULL, NULL);
            expect_challenge(st, 401, "invalid_signature", "httpsig; identity=?1");
        }
    }
    aa_jwk_cleanup(&k1);
    aa_client_free(c);
    topo_stop(&t);
}

/* TEST 3 done by hand, step by step; returns the grant. */
static const struct aa_client_grant *f6_test3(struct topo *t, struct aa_client *c, const char *jkt)
{
    const struct aa_client_step *st;
    const struct aa_client_grant *g = NULL;
    const struct aa_client_as_meta *m;
    struct aa_client_auth_params ap;
    char *rt;
    char want_body[8192];
    struct aa_buf enc;
    struct aa_diag d;

    /* 1. GET /data-auth signed(jwt agent token) -> 401 auth-token challenge */
    st = get(c, url_of(t->r1, "/data-auth"), AA_CRED_AGENT_TOKEN, NULL);
    rt = strdup(expect_rt_challenge(st, t->as1));
    expect_rt_claims(t, rt, t->r1, t->as1, aa_ref_id(t->ag), jkt, "data.read data.write");

    /* 2. agent_token_endpoint from {AS}/.well-known/aauth-issuer */
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_as_metadata(c, aa_ref_id(t->as1), &m, &d), AA_OK, "%s", d.msg);
    assert_str(m->agent_token_endpoint, url_of(t->as1, "/agent/token"));

    /* 3. POST /agent/token signed(jwt agent token) */
    memset(&ap, 0, sizeof(ap));
    ap.resource_token = rt;
    cr_assert_eq(aa_client_authorize(c, aa_ref_id(t->as1), &ap, &g, &d), AA_OK, "%s", d.msg);
    st = last_of_kind(c, AA_CSTEP_TOKEN);
    assert_str(st->method, "POST");
    assert_str(st->url, url_of(t->as1, "/agent/token"));
    assert_str(aa_http_headers_get(&st->req_headers, "Content-Type"),
               "application/x-www-form-urlencoded");
    assert_str(st->signature_input, SIG_INPUT_POST);
    cr_assert_eq(st->scheme, AA_SIGKEY_JWT);
    assert_str(st->token_typ, "agent+jwt");
    assert_str(st->key_jkt, jkt);
    aa_buf_init(&enc, 8192);
    aa_form_add(&enc, "request_type", "auth");
    aa_form_add(&enc, "resource_token", rt);
    aa_form_add(&enc, "redirect_uri", url_of(t->ag, "/callback"));
    cr_assert_eq(enc.err, AA_OK);
    cr_assert_eq(aa_snprintf(want_body, sizeof(want_body), "%s", enc.p), AA_OK);
    aa_buf_free(&enc);
    assert_str(st->req_body, want_body);
    expect_digest(st, want_body);
    cr_assert_not_null(st->nonce);
    expect_status(st, 200);
    cr_assert_eq(jint(st->json, "expires_in"), AA_REF_AUTH_TOKEN_TTL);
    cr_assert_not_null(aa_json_str(st->json, "refresh_token"));

    /* 4. the auth token */
    expect_at_claims(t, g->auth_token, t->as1, t->r1, aa_ref_id(t->ag), "delegate-1", jkt,
                     "data.read data.write", aa_ref_clock_now(&t->clock) + AA_REF_AUTH_TOKEN_TTL);
    assert_str(g->cnf_jkt, jkt);

    /* 5. GET /data-auth signed(jwt AT) -> 200 */
    st = get(c, url_of(t->r1, "/data-auth"), AA_CRED_AUTH_TOKEN, g->auth_token);
    expect_status(st, 200);
    jeq(st->json, "token_type", "auth+jwt");
    jeq(st->json, "agent", aa_ref_id(t->ag));
    jeq(st->json, "agent_delegate", "delegate-1");
    jeq(st->json, "scope", "data.read data.write");
    free(rt);
    return g;
}

Test(flows, f6_test3_auth_token)
{
    struct topo t;
    struct aa_client *c;
    struct aa_jwk k1;

    topo_std(&t, false);
    test1_key(&k1);
    c = delegate_client(&t, "delegate-1", &k1);
    cr_assert_eq(aa_client_agent_token_obtain(c, NULL), AA_OK);
    (void)f6_test3(&t, c, TEST1_JKT);

    /* the seed's scenario as aauth-delegate runs it: one fetch does it all */
    {
        struct aa_client *c2 = delegate_client(&t, "delegate-1", NULL);
        struct aa_client_result res;

        fetch_ok(c2, url_of(t.r1, "/data-auth"), &res);
        cr_assert_eq(res.status, 200);
        cr_assert_eq(res.cred, AA_CRED_AUTH_TOKEN);
        jeq(res.final->json, "agent_delegate", "delegate-1");
        cr_assert_not_null(res.grant, "the 200 came without an auth token");
        assert_str(res.grant->cnf_jkt, aa_client_thumbprint(c2));
        assert_str(aa_client_step_at(c2, 0)->what, "POST /delegate/token unsigned");
        aa_client_free(c2);
    }
    aa_jwk_cleanup(&k1);
    aa_client_free(c);
    topo_stop(&t);
}

Test(flows, f6_test4_refresh_and_rotation)
{
    struct topo t;
    struct aa_client *c, *other;
    const struct aa_client_grant *g;
    const struct aa_client_step *st;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_jwk k1;
    char *at0, *refresh0, *k2_jkt;
    int64_t exp0;
    cJSON *claims;
    struct aa_diag d;
    int rc;

    topo_std(&t, false);
    test1_key(&k1);
    c = delegate_client(&t, "delegate-1", &k1);
    cr_assert_eq(aa_client_agent_token_obtain(c, NULL), AA_OK);
    g = f6_test3(&t, c, TEST1_JKT);
    at0 = strdup(g->auth_token);
    refresh0 = strdup(g->refresh_token);
    exp0 = g->exp;

    /* 1. refresh signed(jwt agent token), 60 s later */
    aa_ref_clock_advance(&t.clock, 60);
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_refresh(c, g, &d), AA_OK, "%s", d.msg);
    st = last_of_kind(c, AA_CSTEP_TOKEN);
    expect_status(st, 200);
    assert_str(st->token_typ, "agent+jwt");
    cr_assert(strncmp(nn(st->req_body), "request_type=refresh&refresh_token=", 35) == 0);
    jabsent(st->json, "refresh_token");
    cr_assert_eq(jint(st->json, "expires_in"), AA_REF_AUTH_TOKEN_TTL);
    assert_str_neq(g->auth_token, at0);
    assert_str(g->refresh_token, refresh0, "the refresh token is kept (not rotated)");
    cr_assert_geq(g->exp, exp0);
    cr_assert_eq(g->exp, T0 + 60 + AA_REF_AUTH_TOKEN_TTL);
    expect_at_claims(&t, g->auth_token, t.as1, t.r1, aa_ref_id(t.ag), "delegate-1", TEST1_JKT,
                     "data.read data.write", T0 + 60 + AA_REF_AUTH_TOKEN_TTL);

    /* 2. rotation: K2, a new agent token with the same sub */
    cr_assert_eq(aa_client_rotate_key(c, NULL, &d), AA_OK, "%s", d.msg);
    k2_jkt = strdup(aa_client_thumbprint(c));
    assert_str_neq(k2_jkt, TEST1_JKT);
    assert_str(aa_client_key(c)->kid, "delegate-key-2");
    f6_expect_agent_token(&t, c, k2_jkt);
    claims = claims_of(aa_client_agent_token(c));
    jeq(claims, "sub", "delegate-1");
    cJSON_Delete(claims);
    /* refresh again with the new agent token: cnf = K2, the same refresh token works */
    cr_assert_eq(aa_client_refresh(c, g, &d), AA_OK, "%s", d.msg);
    assert_str(g->cnf_jkt, k2_jkt);
    assert_str(g->refresh_token, refresh0);
    expect_at_claims(&t, g->auth_token, t.as1, t.r1, aa_ref_id(t.ag), "delegate-1", k2_jkt,
                     "data.read data.write", T0 + 60 + AA_REF_AUTH_TOKEN_TTL);
    /* used on R, signed by K2 -> 200 */
    st = get(c, url_of(t.r1, "/data-auth"), AA_CRED_AUTH_TOKEN, g->auth_token);
    expect_status(st, 200);
    assert_str(st->key_jkt, k2_jkt);
    /* the OLD auth token (cnf = K1) with a K2 signature -> 401 invalid_signature */
    st = get(c, url_of(t.r1, "/data-auth"), AA_CRED_AUTH_TOKEN, at0);
    expect_status(st, 401);
    assert_str(st->error, "invalid_signature");
    assert_str(st->key_jkt, k2_jkt);

    /* 3. an agent token with a different sub cannot use the refresh token */
    other = delegate_client(&t, "delegate-2", NULL);
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "refresh";
    tp.refresh_token = refresh0;
    rc = aa_client_token_request(other, aa_ref_id(t.as1), &tp, NULL, &tr, &d);
    cr_assert_eq(rc, AA_E_CLIENT_STATUS, "%s", aa_client_errstr(rc));
    cr_assert_eq(tr.status, 400);
    assert_str(tr.error, "invalid_grant");
    aa_client_token_response_cleanup(&tr);
    /* and the owner's still does */
    cr_assert_eq(aa_client_refresh(c, g, &d), AA_OK, "%s", d.msg);

    /* after a rotation the automatic path refreshes before use */
    cr_assert_eq(aa_client_rotate_key(c, NULL, &d), AA_OK, "%s", d.msg);
    {
        struct aa_client_result res;
        fetch_ok(c, url_of(t.r1, "/data-auth"), &res);
        cr_assert_eq(res.status, 200);
        cr_assert_eq(res.rounds, 1);
        cr_assert_not_null(res.grant, "the 200 came without an auth token");
        assert_str(res.grant->cnf_jkt, aa_client_thumbprint(c));
    }
    free(at0);
    free(refresh0);
    free(k2_jkt);
    aa_jwk_cleanup(&k1);
    aa_client_free(other);
    aa_client_free(c);
    topo_stop(&t);
}

/* ======================================================================== */
/* F7 Token exchange                                                        */
/* ======================================================================== */

/* AG1, R1 (AS1, downstream R2), AS1, R2 (AS2), AS2 trusting AS1. */
static void topo_f7(struct topo *t, bool as2_trusts_as1)
{
    char ds[512];

    topo_init(t);
    t->ag = start_agent(t, 0);
    t->as1 = start_as(t, false, NULL);
    t->as2 = start_as(t, false, as2_trusts_as1 ? aa_ref_id(t->as1) : NULL);
    t->r2 = start_resource(t, t->as2, NULL);
    aa_snprintf(ds, sizeof(ds), "%s/data-auth", aa_ref_url(t->r2));
    t->r1 = start_resource(t, t->as1, ds);
}

Test(flows, f7_token_exchange)
{
    struct topo t;
    struct aa_client *ag1, *r1c, *dg;
    struct aa_client_result res;
    const struct aa_client_grant *t1, *t2 = NULL;
    const struct aa_client_step *st;
    const char *kr1;
    char *rt2, *t1_tok;
    cJSON *claims, *act;
    struct aa_diag d;

    topo_f7(&t, true);
    kr1 = jkt_of(aa_ref_key(t.r1));

    /* TEST 1: AG1 obtains T1 for R1 and uses it */
    ag1 = agent_client(&t);
    fetch_ok(ag1, url_of(t.r1, "/data-auth"), &res);
    cr_assert_eq(res.status, 200);
    cr_assert_not_null(t1 = res.grant);
    t1_tok = strdup(t1->auth_token);

    /* TEST 2: the harness plays R1 (holding K_R1) */
    r1c = resource_client(&t, t.r1);
    st = get(r1c, url_of(t.r2, "/data-auth"), AA_CRED_JWKS, NULL);
    {
        char want[512];
        aa_snprintf(
            want, sizeof(want),
            "sig1=(scheme=jwks id=\"%s\" kid=\"resource-key-1\" well-known=\"aauth-resource\")",
            aa_ref_id(t.r1));
        assert_str(st->signature_key, want);
    }
    rt2 = strdup(expect_rt_challenge(st, t.as2));
    expect_rt_claims(&t, rt2, t.r2, t.as2, aa_ref_id(t.r1), kr1, "data.read data.write");
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_exchange(r1c, aa_ref_id(t.as2), rt2, t1_tok, &t2, &d), AA_OK, "%s",
                 d.msg);
    st = last_of_kind(r1c, AA_CSTEP_TOKEN);
    expect_status(st, 200);
    jabsent(st->json, "refresh_token");
    cr_assert_gt(jint(st->json, "expires_in"), 0);
    assert_str(st->token_typ, "auth+jwt");
    assert_str(st->key_jkt, kr1, "signed with K_R1, not T1's cnf key (D-21)");
    {
        char want[8192];
        aa_snprintf(want, sizeof(want), "sig1=(scheme=jwt jwt=\"%s\")", t1_tok);
        assert_str(st->signature_key, want);
    }
    cr_assert(strncmp(nn(st->req_body), "request_type=exchange&resource_token=", 37) == 0);
    cr_assert_null(t2->refresh_token);
    st = get(r1c, url_of(t.r2, "/data-auth"), AA_CRED_AUTH_TOKEN, t2->auth_token);
    expect_status(st, 200);
    jeq(st->json, "agent", aa_ref_id(t.r1));
    jeq(st->json, "token_type", "auth+jwt");

    /* TEST 3: T2 */
    claims = claims_of(t2->auth_token);
    expect_header(t2->auth_token, "auth+jwt", AA_REF_AUTH_KID);
    jeq(claims, "iss", aa_ref_id(t.as2));
    jeq(claims, "aud", aa_ref_id(t.r2));
    jeq(claims, "agent", aa_ref_id(t.r1));
    expect_cnf(claims, kr1);
    act = cJSON_GetObjectItemCaseSensitive(claims, "act");
    cr_assert(cJSON_IsObject(act), "act missing");
    jeq(act, "agent", aa_ref_id(t.ag));
    jabsent(act, "agent_delegate"); /* T1 had none */
    jabsent(act, "act");
    jabsent(claims, "sub"); /* T1 had none */
    cr_assert_eq(jint(claims, "iat"), T0);
    cr_assert_eq(jint(claims, "nbf"), T0);
    cr_assert_gt(jint(claims, "exp"), T0);
    cJSON_Delete(claims);
    validate_at(&t, t.as2, aa_ref_id(t.r2), t2->auth_token, false);

    /* act.agent_delegate present iff T1 had one: T1 of a delegate */
    dg = delegate_client(&t, "delegate-1", NULL);
    fetch_ok(dg, url_of(t.r1, "/data-auth"), &res);
    cr_assert_eq(res.status, 200);
    st = get(r1c, url_of(t.r2, "/data-auth"), AA_CRED_JWKS, NULL);
    free(rt2);
    rt2 = strdup(expect_rt_challenge(st, t.as2));
    cr_assert_not_null(res.grant, "the 200 came without an auth token");
    cr_assert_eq(aa_client_exchange(r1c, aa_ref_id(t.as2), rt2, res.grant->auth_token, &t2, &d),
                 AA_OK, "%s", d.msg);
    claims = claims_of(t2->auth_token);
    act = cJSON_GetObjectItemCaseSensitive(claims, "act");
    jeq(act, "agent", aa_ref_id(t.ag));
    jeq(act, "agent_delegate", "delegate-1");
    cJSON_Delete(claims);

    /* the PROFILE#6.7 trigger: R1 does TEST 2 itself */
    fetch_ok(ag1, url_of(t.r1, "/data-exchange"), &res);
    cr_assert_eq(res.status, 200);
    jeq(res.final->json, "message", "Access granted");
    jeq(cJSON_GetObjectItemCaseSensitive(res.final->json, "upstream"), "agent", aa_ref_id(t.ag));
    jeq(cJSON_GetObjectItemCaseSensitive(res.final->json, "downstream"), "agent", aa_ref_id(t.r1));
    jeq(cJSON_GetObjectItemCaseSensitive(res.final->json, "downstream"), "token_type", "auth+jwt");

    free(rt2);
    free(t1_tok);
    aa_client_free(dg);
    aa_client_free(r1c);
    aa_client_free(ag1);
    topo_stop(&t);
}

Test(flows, f7_untrusted_upstream)
{
    struct topo t;
    struct aa_client *ag1, *r1c;
    struct aa_client_result res;
    const struct aa_client_step *st;
    char *rt2;
    struct aa_diag d;
    int rc;

    topo_f7(&t, false); /* AS2 does not trust AS1 */
    ag1 = agent_client(&t);
    fetch_ok(ag1, url_of(t.r1, "/data-auth"), &res);
    cr_assert_eq(res.status, 200);
    r1c = resource_client(&t, t.r1);
    st = get(r1c, url_of(t.r2, "/data-auth"), AA_CRED_JWKS, NULL);
    rt2 = strdup(expect_rt_challenge(st, t.as2));
    aa_diag_clear(&d);
    cr_assert_not_null(res.grant, "the 200 came without an auth token");
    rc = aa_client_exchange(r1c, aa_ref_id(t.as2), rt2, res.grant->auth_token, NULL, &d);
    cr_assert_eq(rc, AA_E_CLIENT_STATUS, "%s", aa_client_errstr(rc));
    st = last_of_kind(r1c, AA_CSTEP_TOKEN);
    expect_status(st, 401);
    assert_str(st->error, "invalid_token");
    cr_assert_eq(aa_client_grant_count(r1c), 0);
    /* through the trigger the same refusal is R1's downstream failure */
    fetch_ok(ag1, url_of(t.r1, "/data-exchange"), &res);
    cr_assert_eq(res.status, 502);
    jeq(res.final->json, "step", "exchange");
    free(rt2);
    aa_client_free(r1c);
    aa_client_free(ag1);
    topo_stop(&t);
}
