/*
 * Signer and receiver procedure: PROFILE#2.12 known answers (Examples A, B;
 * vector S1), every SIG-xx / SK-xx case of PROFILE#9 that this layer decides
 * (recipes in vectors/aauth/sig-cases.json), the token validators
 * (PROFILE#4.3-#4.5: AT, AU, RT cases) and the fault switches.
 */
#include <jose/aa_jose.h>
#include <json/aa_json.h>

#include "aauth_test_util.h"

#define AUTHORITY_R "127.0.0.1:8002"
#define ID_AGENT "http://127.0.0.1:8001"
#define ID_R "http://127.0.0.1:8002"
#define ID_AS "http://127.0.0.1:8003"
#define T_A 1768786221
#define T_B 1768786300

/* Vector S1 (the seed's TEST 2 request). */
static const char *S1_TOKEN =
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImtleS0xIiwidHlwIjoiYWdlbnQrand0In0."
    "eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjgwMDEiLCJzdWIiOiJkZWxlZ2F0ZS0xIiwiZXhwIjoxNzY4Nzg5ODIxLCJjbmYi"
    "OnsiandrIjp7Imt0eSI6Ik9LUCIsImNydiI6IkVkMjU1MTkiLCJ4IjoiRjNxYUF6ejRvV3FKbGx4YW55Z05keVI4bzVhcG5W"
    "M3VYbVVRUVplVDVZcyIsImtpZCI6ImRlbGVnYXRlLWtleS0xIn19fQ."
    "5kw644tM4jK8R9e_vBXJGLEjZzU06ACbl6_dKcum7YrQraKfdwadivEtxeKJ7KmPcSDDxuiSvW9hLlJQ69zlDw";
static const char *S1_SIG =
    "sig1=:g1VmPaHtG7B1_vZ0FmmegnAtf804jio4EpC866wHyuPeQM07ikVZmAWxc5hjxR1SiveSq3ib9lgzDf7GwRL9AA:";
static const char *S1_INPUT =
    "sig1=(\"@method\" \"@authority\" \"@path\" \"signature-key\");created=1768786221";

/* ---- environment ---------------------------------------------------------- */

struct env {
    struct aa_jwk agent_key;  /* TEST 1 key, agent server "key-1" */
    struct aa_jwk other_key;  /* an unrelated Ed25519 key */
    struct aa_jwk as_key;     /* auth server "auth-key-1" */
    struct aa_jwk res_key;    /* resource "resource-key-1" */
    struct aa_jwk dlg_key;    /* delegate "delegate-key-1" */
    struct aauth_test_clock clk;
    struct aa_static_keys *keys;
    struct aa_key_resolver resolver;
    struct aa_nonce_cache *cache;
};

static void env_init(struct env *e, int64_t now)
{
    struct aa_nonce_cache_opts no = {0};
    memset(e, 0, sizeof(*e));
    cr_assert_eq(aa_jwk_from_ed25519_seed(aauth_test1_seed, "key-1", &e->agent_key), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "key-1", &e->other_key), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "auth-key-1", &e->as_key), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "resource-key-1", &e->res_key), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "delegate-key-1", &e->dlg_key), AA_OK);
    e->clk.now = now;
    e->keys = aa_static_keys_new();
    cr_assert_not_null(e->keys);
    cr_assert_eq(aa_static_keys_add(e->keys, ID_AGENT, "aauth-agent", &e->agent_key), AA_OK);
    cr_assert_eq(aa_static_keys_add(e->keys, ID_AS, "aauth-issuer", &e->as_key), AA_OK);
    cr_assert_eq(aa_static_keys_add(e->keys, ID_R, "aauth-resource", &e->res_key), AA_OK);
    aa_key_resolver_static(&e->resolver, e->keys);
    no.clock.now = aauth_test_clock_now;
    no.clock.ctx = &e->clk;
    e->cache = aa_nonce_cache_new(&no);
    cr_assert_not_null(e->cache);
}

static void env_free(struct env *e)
{
    aa_jwk_cleanup(&e->agent_key);
    aa_jwk_cleanup(&e->other_key);
    aa_jwk_cleanup(&e->as_key);
    aa_jwk_cleanup(&e->res_key);
    aa_jwk_cleanup(&e->dlg_key);
    aa_static_keys_free(e->keys);
    aa_nonce_cache_free(e->cache);
}

static const char *const trusted_as[] = {ID_AS, NULL};

static void policy(struct env *e, struct aa_verify_policy *pol, const char *authority)
{
    memset(pol, 0, sizeof(*pol));
    pol->authority = authority;
    pol->receiver = ID_R;
    pol->clock.now = aauth_test_clock_now;
    pol->clock.ctx = &e->clk;
    pol->replay = e->cache;
    pol->resolver = &e->resolver;
    pol->trusted_issuers = trusted_as;
    pol->dev_mode = true;
}

static void add_h(struct aa_http_headers *h, const char *n, const char *v)
{
    cr_assert_eq(aa_http_headers_add(h, n, v), AA_OK);
}

static void expect_fail(const struct aa_aauth_result *r, int status, const char *perr, int step)
{
    char txt[600];
    aa_aauth_result_format(r, txt, sizeof(txt));
    cr_assert_eq(r->status, status, "status %d, want %d: %s", r->status, status, txt);
    cr_assert_str_eq(aa_perr_name(r->perr), perr, "%s", txt);
    cr_assert_eq(r->step, step, "step %d, want %d: %s", r->step, step, txt);
    cr_assert_neq(r->code, AA_OK);
    cr_assert_not_null(r->diag.ref, "%s", txt);
    cr_assert(r->diag.msg[0] != '\0');
}

/* ---- Example A: hwk GET --------------------------------------------------- */

Test(aauth_sign, example_a_known_answer)
{
    struct env e;
    struct aa_sign_request req = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts o = {0};
    struct aa_signed s;
    struct aa_clock clk;
    struct aa_diag d;

    env_init(&e, T_A);
    clk.now = aauth_test_clock_now;
    clk.ctx = &e.clk;
    req.method = "GET";
    req.url = "http://127.0.0.1:8002/data-hwk?page=2&q=caf%C3%A9";
    cred.scheme = AA_SIGKEY_HWK;
    o.clock = &clk;
    aa_diag_clear(&d);
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(s.headers.n, 3, "GET: no Content-Digest, no Nonce (D-10)");
    cr_assert_str_eq(s.headers.v[0].name, "Signature-Input");
    cr_assert_str_eq(s.headers.v[0].value, EX_A_INPUT);
    cr_assert_str_eq(s.headers.v[1].name, "Signature");
    cr_assert_str_eq(s.headers.v[1].value, EX_A_SIG);
    cr_assert_str_eq(s.headers.v[2].name, "Signature-Key");
    cr_assert_str_eq(s.headers.v[2].value, EX_A_KEY);
    cr_assert_str_eq(s.base, EX_A_BASE);
    cr_assert_eq(s.base_len, strlen(EX_A_BASE));
    cr_assert_str_eq(s.authority, AUTHORITY_R);
    cr_assert_null(s.nonce);
    cr_assert_eq(s.created, T_A);
    aa_signed_cleanup(&s);
    env_free(&e);
}

/* The receiver accepts the literal Example A headers at their created time. */
Test(aauth_verify, example_a_accepted)
{
    struct env e;
    struct aa_verify_policy pol;
    struct aa_verify_request vr = {0};
    struct aa_http_headers h;
    struct aa_identity id;
    struct aa_aauth_result r;
    char txt[600];

    env_init(&e, T_A);
    policy(&e, &pol, AUTHORITY_R);
    aa_http_headers_init(&h);
    add_h(&h, "Host", "important.resource.com"); /* never used for @authority */
    add_h(&h, "signature-input", EX_A_INPUT);
    add_h(&h, "Signature", EX_A_SIG);
    add_h(&h, "Signature-Key", EX_A_KEY);
    vr.method = "GET";
    vr.target = "/data-hwk?page=2&q=caf%C3%A9";
    vr.headers = &h;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    aa_aauth_result_format(&r, txt, sizeof(txt));
    cr_assert_eq(r.status, 0, "%s", txt);
    cr_assert_eq(id.scheme, AA_SIGKEY_HWK);
    cr_assert_eq(id.level, AA_AUTH_PSEUDONYMOUS);
    cr_assert_null(id.agent);
    cr_assert_str_eq(id.thumbprint, AAUTH_TEST1_JKT);
    cr_assert_str_eq(id.label, "sig1");
    cr_assert_eq(id.created, T_A);
    cr_assert_str_eq(id.base, EX_A_BASE);
    aa_identity_cleanup(&id);

    /* one second outside the window the same request fails at step 5 */
    e.clk.now = T_A + 61;
    cr_assert_neq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_signature", 5);
    /* and a receiver configured for another authority fails at step 8 */
    e.clk.now = T_A;
    pol.authority = "important.resource.com";
    cr_assert_neq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_signature", 8);
    aa_http_headers_cleanup(&h);
    env_free(&e);
}

/* ---- Example B: jwks POST ---------------------------------------------------- */

Test(aauth_sign, example_b_known_answer)
{
    struct env e;
    struct aa_sign_request req = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts o = {0};
    struct aa_signed s;
    struct aa_clock clk;
    struct aa_http_headers h;
    struct aa_diag d;

    env_init(&e, T_B);
    clk.now = aauth_test_clock_now;
    clk.ctx = &e.clk;
    aa_http_headers_init(&h);
    add_h(&h, "Content-Type", "application/x-www-form-urlencoded");
    req.method = "POST";
    req.url = "http://127.0.0.1:8003/agent/token";
    req.headers = &h;
    req.body = EX_B_BODY;
    req.body_len = strlen(EX_B_BODY);
    cr_assert_eq(req.body_len, 91);
    cred.scheme = AA_SIGKEY_JWKS;
    cred.id = ID_AGENT;
    cred.kid = "key-1";
    cred.well_known = "aauth-agent";
    o.clock = &clk;
    o.nonce_mode = AA_SIGN_NONCE_GIVEN;
    o.nonce = EX_B_NONCE;
    aa_diag_clear(&d);
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(s.headers.n, 5);
    cr_assert_str_eq(s.headers.v[0].name, "Content-Digest");
    cr_assert_str_eq(s.headers.v[0].value, EX_B_DIGEST);
    cr_assert_str_eq(s.headers.v[1].name, "Nonce");
    cr_assert_str_eq(s.headers.v[1].value, EX_B_NONCE);
    cr_assert_str_eq(s.headers.v[2].value, EX_B_INPUT);
    cr_assert_str_eq(s.headers.v[3].value, EX_B_SIG);
    cr_assert_str_eq(s.headers.v[4].value, EX_B_KEY);
    cr_assert_str_eq(s.base, EX_B_BASE);
    aa_signed_cleanup(&s);

    /* AUTO nonce: a POST gets a fresh, well-formed one (D-10) */
    o.nonce_mode = AA_SIGN_NONCE_AUTO;
    o.nonce = NULL;
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, NULL), AA_OK);
    cr_assert_not_null(s.nonce);
    cr_assert_str_neq(s.nonce, EX_B_NONCE);
    cr_assert_eq(aa_nonce_check(NULL, s.nonce, strlen(s.nonce), NULL), AA_OK);
    cr_assert(strstr(s.signature_input, "\"nonce\"") != NULL);
    aa_signed_cleanup(&s);

    /* a body without Content-Type is refused by the signer */
    req.headers = NULL;
    aa_diag_clear(&d);
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, &d), AA_E_SIGNER_INPUT);
    cr_assert_eq(s.headers.n, 0);
    aa_http_headers_cleanup(&h);
    env_free(&e);
}

static void example_b_request(struct aa_http_headers *h, struct aa_verify_request *vr)
{
    aa_http_headers_init(h);
    add_h(h, "Content-Type", "application/x-www-form-urlencoded");
    add_h(h, "Content-Digest", EX_B_DIGEST);
    add_h(h, "Nonce", EX_B_NONCE);
    add_h(h, "Signature-Input", EX_B_INPUT);
    add_h(h, "Signature", EX_B_SIG);
    add_h(h, "Signature-Key", EX_B_KEY);
    memset(vr, 0, sizeof(*vr));
    vr->method = "POST";
    vr->target = "/agent/token";
    vr->headers = h;
    vr->body = EX_B_BODY;
    vr->body_len = strlen(EX_B_BODY);
}

/* Example B at the AS, the agent's key found through a resolver stub; then
 * the same request again is a replay (SIG-25). */
Test(aauth_verify, example_b_accepted_then_replay)
{
    struct env e;
    struct aa_verify_policy pol;
    struct aa_verify_request vr;
    struct aa_http_headers h;
    struct aa_identity id;
    struct aa_aauth_result r;
    char txt[600];

    env_init(&e, T_B);
    policy(&e, &pol, "127.0.0.1:8003");
    example_b_request(&h, &vr);
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    aa_aauth_result_format(&r, txt, sizeof(txt));
    cr_assert_eq(r.code, AA_OK, "%s", txt);
    cr_assert_eq(id.scheme, AA_SIGKEY_JWKS);
    cr_assert_eq(id.jwks_mode, 2);
    cr_assert_eq(id.level, AA_AUTH_IDENTIFIED);
    cr_assert_str_eq(id.agent, ID_AGENT);
    cr_assert_str_eq(id.well_known, "aauth-agent");
    cr_assert_str_eq(id.nonce, EX_B_NONCE);
    cr_assert(id.dev, "an http identifier is labelled DEV");
    cr_assert_str_eq(id.base, EX_B_BASE);
    aa_identity_cleanup(&id);

    e.clk.now += 30;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_E_NONCE_REPLAY);
    expect_fail(&r, 401, "replay_detected", 9);
    /* the skip-replay fault is what lets it through */
    pol.faults = AA_FAULT_SKIP_REPLAY;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    aa_identity_cleanup(&id);

    /* without dev mode the http identifier is refused (SK-05, D-1) */
    pol.faults = 0;
    pol.dev_mode = false;
    cr_assert_neq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_key", 7);
    aa_http_headers_cleanup(&h);
    env_free(&e);
}

Test(aauth_verify, example_b_digest_tamper_and_cache_full)
{
    struct env e;
    struct aa_verify_policy pol;
    struct aa_verify_request vr;
    struct aa_http_headers h;
    struct aa_identity id;
    struct aa_aauth_result r;
    struct aa_nonce_cache_opts no = {0};
    struct aa_nonce_cache *tiny;
    char body[128];

    env_init(&e, T_B);
    policy(&e, &pol, "127.0.0.1:8003");
    example_b_request(&h, &vr);
    /* one changed body byte: the digest no longer matches (step 6) */
    cr_assert_eq(aa_snprintf(body, sizeof(body), "%s", EX_B_BODY), AA_OK);
    body[0] = 'R';
    vr.body = body;
    cr_assert_neq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_signature", 6);
    pol.faults = AA_FAULT_SKIP_DIGEST;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK, "skip-digest fault accepts it");
    aa_identity_cleanup(&id);

    /* a full replay cache refuses with 429, it never forgets (PROFILE#2.9) */
    pol.faults = 0;
    vr.body = EX_B_BODY;
    no.capacity = 1;
    no.clock.now = aauth_test_clock_now;
    no.clock.ctx = &e.clk;
    tiny = aa_nonce_cache_new(&no);
    cr_assert_eq(aa_nonce_cache_check_and_store(tiny, "x", "y", "z", T_B, NULL), AA_OK);
    pol.replay = tiny;
    cr_assert_neq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    expect_fail(&r, 429, "temporarily_unavailable", 9);
    /* no cache at all while a Nonce arrives is a harness fault (500) */
    pol.replay = NULL;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_E_INVAL);
    cr_assert_eq(r.status, 500);
    aa_nonce_cache_free(tiny);
    aa_http_headers_cleanup(&h);
    env_free(&e);
}

/* ---- Vector S1 ---------------------------------------------------------------- */

Test(aauth_verify, vector_s1_rejected_with_legacy_diagnostic)
{
    struct env e;
    struct aa_verify_policy pol;
    struct aa_verify_request vr = {0};
    struct aa_http_headers h;
    struct aa_identity id;
    struct aa_aauth_result r;
    struct aa_buf sk;
    struct aa_jwk dk = {0};
    const char *djwk = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
                       "\"F3qaAzz4oWqJllxanygNdyR8o5apnV3uXmUQQZeT5Ys\"}";
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    env_init(&e, T_A);
    policy(&e, &pol, AUTHORITY_R);
    aa_buf_init(&sk, 16384);
    aa_buf_printf(&sk, "sig1=(scheme=jwt jwt=\"%s\")", S1_TOKEN);
    aa_http_headers_init(&h);
    add_h(&h, "Signature", S1_SIG);
    add_h(&h, "Signature-Input", S1_INPUT);
    add_h(&h, "Signature-Key", sk.p);
    vr.method = "GET";
    vr.target = "/data-jwks";
    vr.headers = &h;
    cr_assert_neq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_signature", 3);
    cr_assert(strstr(r.diag.msg, "base64url") != NULL, "%s", r.diag.msg);

    /* the checker's diagnostic, with the delegate key from the token */
    cr_assert_eq(aa_jwk_parse(djwk, strlen(djwk), AA_JWK_PUBLIC_ONLY, &dk, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&dk, jkt), AA_OK);
    cr_assert_str_eq(jkt, "8VLLB0WRBDu70WxdOy3zFh34-n-fGRqCNcggLg7XLCQ");
    cr_assert_eq(aa_aauth_diagnose(&vr, AUTHORITY_R, &dk, &r), AA_OK);
    cr_assert(r.dialect_found, "no dialect found: %s", r.dialect);
    cr_assert(strstr(r.dialect, "legacy") != NULL, "%s", r.dialect);
    /* and with another key no dialect verifies */
    cr_assert_eq(aa_aauth_diagnose(&vr, AUTHORITY_R, &e.agent_key, &r), AA_OK);
    cr_assert_not(r.dialect_found);
    aa_jwk_cleanup(&dk);
    aa_buf_free(&sk);
    aa_http_headers_cleanup(&h);
    env_free(&e);
}

/* ---- recipe-driven SIG/SK cases ------------------------------------------------- */

static const char *const *str_list(const cJSON *c, const char *name, const char **store, size_t cap)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, name), *it;
    size_t n = 0;
    if (!cJSON_IsArray(a))
        return NULL;
    cJSON_ArrayForEach(it, a)
    {
        cr_assert(n + 1 < cap);
        store[n++] = it->valuestring;
    }
    store[n] = NULL;
    return store;
}

/* Build the recipe's request, run the receiver, return its result. */
static int run_recipe(struct env *e, const cJSON *c, unsigned faults, const char *host,
                      struct aa_aauth_result *r)
{
    const char *method = aauth_jstr(c, "method") ? aauth_jstr(c, "method") : "GET";
    const char *target = aauth_jstr(c, "target") ? aauth_jstr(c, "target") : "/data-jwks";
    const char *body = cJSON_IsTrue(cJSON_GetObjectItem(c, "body")) ? "{\"a\":1}" : NULL;
    const char *omit[8], *append[8], *comps[16], *sfc[8];
    const cJSON *v, *extra = cJSON_GetObjectItem(c, "extra_headers");
    struct aa_http_headers req_h, send_h;
    struct aa_sign_request sr = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts o = {0};
    struct aa_signed s = {0};
    struct aa_verify_policy pol;
    struct aa_verify_request vr = {0};
    struct aa_identity id;
    struct aa_clock clk = {aauth_test_clock_now, &e->clk};
    struct aa_diag d;
    int rc;

    aa_http_headers_init(&req_h);
    aa_http_headers_init(&send_h);
    if (body != NULL)
        add_h(&req_h, "Content-Type", "application/json");
    cJSON_ArrayForEach(v, extra) add_h(&req_h, v->string, v->valuestring);
    sr.method = method;
    sr.authority = aauth_jstr(c, "sign_authority") ? aauth_jstr(c, "sign_authority") : AUTHORITY_R;
    sr.target = target;
    sr.headers = &req_h;
    sr.body = body;
    sr.body_len = body ? strlen(body) : 0;
    cred.scheme = AA_SIGKEY_HWK;
    cred.raw_signature_key = aauth_jstr(c, "raw_signature_key");
    if (cJSON_IsTrue(cJSON_GetObjectItem(c, "other_key")))
        cred.raw_signature_key = EX_A_KEY; /* declares TEST 1, signed below by another key */
    o.clock = &clk;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "variants"))
    {
        unsigned bit = aa_sign_variant_from_name(v->valuestring);
        cr_assert_neq(bit, 0, "unknown variant %s", v->valuestring);
        o.variants |= bit;
    }
    o.omit = str_list(c, "omit", omit, 8);
    o.append = str_list(c, "append", append, 8);
    o.components = str_list(c, "components", comps, 16);
    o.sf_components = str_list(c, "sf_components", sfc, 8);
    o.signature_label = aauth_jstr(c, "signature_label");
    o.key_label = aauth_jstr(c, "key_label");
    o.created_offset = aauth_jint(c, "created_offset", 0);
    if (cJSON_GetObjectItem(c, "expires_offset") != NULL) {
        o.has_expires = true;
        o.expires_offset = aauth_jint(c, "expires_offset", 0);
    }
    o.alg = aauth_jstr(c, "alg");
    if (aauth_jstr(c, "nonce") != NULL) {
        o.nonce_mode = AA_SIGN_NONCE_GIVEN;
        o.nonce = aauth_jstr(c, "nonce");
    } else if (aauth_jstr(c, "nonce_mode") != NULL) {
        o.nonce_mode = AA_SIGN_NONCE_NONE;
    }
    for (size_t i = 0; i < req_h.n; i++)
        add_h(&send_h, req_h.v[i].name, req_h.v[i].value);
    if (host != NULL)
        add_h(&send_h, "Host", host);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(c, "unsigned"))) {
        aa_diag_clear(&d);
        rc = aa_aauth_sign(NULL, &sr, cJSON_IsTrue(cJSON_GetObjectItem(c, "other_key"))
                                          ? &e->other_key
                                          : &e->agent_key,
                           &cred, &o, &s, &d);
        cr_assert_eq(rc, AA_OK, "%s: signer failed: %s", aauth_jstr(c, "name"), d.msg);
        for (size_t i = 0; i < s.headers.n; i++) {
            const char *val = s.headers.v[i].value;
            char raw[512];
            if (aauth_jstr(c, "raw_signature_input") != NULL &&
                strcmp(s.headers.v[i].name, "Signature-Input") == 0) {
                /* substitute %CREATED% */
                const char *t = aauth_jstr(c, "raw_signature_input");
                const char *mark = strstr(t, "%CREATED%");
                cr_assert_not_null(mark);
                cr_assert_eq(aa_snprintf(raw, sizeof(raw), "%.*s%lld%s", (int)(mark - t), t,
                                         (long long)s.created, mark + 9),
                             AA_OK);
                val = raw;
            }
            add_h(&send_h, s.headers.v[i].name, val);
        }
    }
    policy(e, &pol, AUTHORITY_R);
    pol.faults = faults;
    vr.method = aauth_jstr(c, "send_method") ? aauth_jstr(c, "send_method") : method;
    vr.target = aauth_jstr(c, "send_target") ? aauth_jstr(c, "send_target") : target;
    vr.headers = &send_h;
    vr.body = body;
    vr.body_len = body ? strlen(body) : 0;
    rc = aa_aauth_verify(&pol, &vr, &id, r);
    aa_identity_cleanup(&id);
    aa_signed_cleanup(&s);
    aa_http_headers_cleanup(&req_h);
    aa_http_headers_cleanup(&send_h);
    return rc;
}

/* The unchanged baseline requests pass, so each case below changes one thing. */
Test(aauth_verify, recipe_baselines_pass)
{
    struct env e;
    struct aa_aauth_result r;
    char txt[600];
    const char *recipes[] = {"{}", "{\"method\":\"POST\",\"body\":true}",
                             "{\"target\":\"/x?\"}", "{\"target\":\"/data?a=1&b\"}",
                             "{\"nonce\":\"YWF1dGgtbm9uY2UtMDAwMQ\"}"};
    env_init(&e, T_A);
    for (size_t i = 0; i < sizeof(recipes) / sizeof(recipes[0]); i++) {
        cJSON *c = cJSON_Parse(recipes[i]);
        int rc = run_recipe(&e, c, 0, NULL, &r);
        aa_aauth_result_format(&r, txt, sizeof(txt));
        cr_assert_eq(rc, AA_OK, "%s: %s", recipes[i], txt);
        cJSON_Delete(c);
    }
    env_free(&e);
}

Test(aauth_verify, catalogue_sig_and_sk_cases)
{
    cJSON *root = aauth_load_vectors("sig-cases.json");
    const cJSON *c;
    int n = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
    {
        struct env e;
        struct aa_aauth_result r;
        const cJSON *x = cJSON_GetObjectItem(c, "expect");
        const char *name = aauth_jstr(c, "name");
        char txt[700];
        int rc;

        env_init(&e, T_A);
        rc = run_recipe(&e, c, 0, NULL, &r);
        aa_aauth_result_format(&r, txt, sizeof(txt));
        if (getenv("AAUTH_TEST_VERBOSE") != NULL) /* eyeball the diagnostics */
            cr_log_info("%s %s -> %s%s%s", aauth_jstr(c, "id"), name, txt,
                        r.dialect_found ? " | " : "", r.dialect_found ? r.dialect : "");
        cr_assert_neq(rc, AA_OK, "%s %s: accepted", aauth_jstr(c, "id"), name);
        cr_assert_eq(r.status, aauth_jint(x, "status", 0), "%s %s: %s", aauth_jstr(c, "id"), name,
                     txt);
        cr_assert_str_eq(aa_perr_name(r.perr), aauth_jstr(x, "error"), "%s %s: %s",
                         aauth_jstr(c, "id"), name, txt);
        cr_assert_eq(r.step, aauth_jint(x, "step", -1), "%s %s: %s", aauth_jstr(c, "id"), name,
                     txt);
        cr_assert(r.diag.ref != NULL && r.diag.msg[0] != '\0', "%s: no diagnostic", name);
        if (aauth_jstr(x, "message_contains") != NULL)
            cr_assert(strstr(r.diag.msg, aauth_jstr(x, "message_contains")) != NULL, "%s: %s",
                      name, r.diag.msg);
        if (cJSON_IsTrue(cJSON_GetObjectItem(x, "dialect")))
            cr_assert(r.dialect_found && strstr(r.dialect, "legacy") != NULL, "%s: %s", name,
                      r.dialect);
        cr_assert_eq(r.no_signature, r.step == 2, "%s", name);
        env_free(&e);
        n++;
    }
    cr_assert_geq(n, 70);
    cJSON_Delete(root);
}

/* Each receiver fault switch turns exactly its case into an acceptance;
 * the default policy (faults = 0) rejects it (previous test). */
Test(aauth_verify, fault_switches_receiver)
{
    static const struct {
        unsigned fault;
        const char *recipe;
        const char *host;
    } t[] = {
        {AA_FAULT_SKIP_SIGKEY_COVERAGE, "{\"omit\":[\"signature-key\"]}", NULL},
        {AA_FAULT_ACCEPT_LEGACY_BASE, "{\"variants\":[\"legacy-base\"]}", NULL},
        {AA_FAULT_SKIP_CREATED_WINDOW, "{\"created_offset\":-120}", NULL},
        {AA_FAULT_SKIP_DIGEST, "{\"method\":\"POST\",\"body\":true,\"variants\":[\"bad-digest\"]}",
         NULL},
        {AA_FAULT_AUTHORITY_FROM_HOST, "{\"sign_authority\":\"evil.example:9\"}", "evil.example:9"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct env e;
        struct aa_aauth_result r;
        cJSON *c = cJSON_Parse(t[i].recipe);
        char txt[600];
        env_init(&e, T_A);
        cr_assert_neq(run_recipe(&e, c, 0, t[i].host, &r), AA_OK, "%s", t[i].recipe);
        cr_assert_eq(run_recipe(&e, c, t[i].fault, t[i].host, &r), AA_OK, "%s under %s: %s",
                     t[i].recipe, aa_fault_name(t[i].fault),
                     (aa_aauth_result_format(&r, txt, sizeof(txt)), txt));
        /* every other fault leaves the case rejected */
        cr_assert_neq(run_recipe(&e, c, AA_FAULT_ALL & ~t[i].fault & ~AA_FAULT_SKIP_REPLAY,
                                 t[i].host, &r),
                      AA_OK, "%s passes without its own fault", t[i].recipe);
        cJSON_Delete(c);
        env_free(&e);
    }
    cr_assert_eq(aa_fault_from_name("ignore-aud"), AA_FAULT_IGNORE_AUD);
    cr_assert_str_eq(aa_fault_name(AA_FAULT_SKIP_TYP), "skip-typ");
    cr_assert_eq(aa_fault_from_name("nope"), 0);
    cr_assert_null(aa_fault_name(AA_FAULT_SKIP_TYP | AA_FAULT_IGNORE_AUD));
}

/* SIG-30 (INFO): Host differs from the configured authority; the signature
 * is over the canonical one, so the reference accepts. */
Test(aauth_verify, host_is_ignored)
{
    struct env e;
    struct aa_aauth_result r;
    cJSON *c = cJSON_Parse("{}");
    env_init(&e, T_A);
    cr_assert_eq(run_recipe(&e, c, 0, "attacker.example", &r), AA_OK);
    cJSON_Delete(c);
    env_free(&e);
}

/* ---- tokens ---------------------------------------------------------------------- */

static cJSON *jwk_json(const struct aa_jwk *k, bool priv)
{
    cJSON *j = aa_jwk_to_cjson(k, priv);
    cr_assert_not_null(j);
    return j;
}

static cJSON *agent_claims(struct env *e)
{
    cJSON *c = cJSON_CreateObject(), *cnf = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "iss", ID_AGENT);
    cJSON_AddStringToObject(c, "sub", "delegate-1");
    cJSON_AddNumberToObject(c, "exp", (double)(e->clk.now + 3600));
    cJSON_AddNumberToObject(c, "iat", (double)e->clk.now);
    cJSON_AddItemToObject(cnf, "jwk", jwk_json(&e->dlg_key, false));
    cJSON_AddItemToObject(c, "cnf", cnf);
    return c;
}

static cJSON *auth_claims(struct env *e)
{
    cJSON *c = agent_claims(e);
    cJSON_ReplaceItemInObject(c, "iss", cJSON_CreateString(ID_AS));
    cJSON_AddStringToObject(c, "aud", ID_R);
    cJSON_AddStringToObject(c, "agent", ID_AGENT);
    cJSON_AddStringToObject(c, "agent_delegate", "delegate-1");
    cJSON_AddStringToObject(c, "scope", "data.read");
    cJSON_DeleteItemFromObject(c, "sub");
    return c;
}

static char *mint(const struct aa_jwk *k, const char *kid, const char *typ, cJSON *claims,
                  unsigned mut, const char *extra_hdr)
{
    cJSON *h = cJSON_CreateObject();
    struct aa_jwt_build_opts bo = {0};
    char *tok = NULL;
    static const uint8_t hk[32] = {1};
    if (typ != NULL)
        cJSON_AddStringToObject(h, "typ", typ);
    if (kid != NULL)
        cJSON_AddStringToObject(h, "kid", kid);
    if (extra_hdr != NULL)
        cJSON_AddItemToArray(cJSON_AddArrayToObject(h, extra_hdr), cJSON_CreateString("x"));
    bo.mutations = mut;
    bo.hmac_key = hk;
    bo.hmac_key_len = sizeof(hk);
    bo.swap_claims = claims;
    cr_assert_eq(aa_jwt_sign(h, claims, AA_ALG_ED25519, k, &bo, &tok), AA_OK);
    cJSON_Delete(h);
    return tok;
}

static struct aa_token_policy tpolicy(struct env *e)
{
    struct aa_token_policy tp;
    memset(&tp, 0, sizeof(tp));
    tp.clock.now = aauth_test_clock_now;
    tp.clock.ctx = &e->clk;
    tp.receiver = ID_R;
    tp.resolver = &e->resolver;
    tp.trusted_issuers = trusted_as;
    tp.dev_mode = true;
    return tp;
}

/* Delegate signs with scheme=jwt and its agent token (F6 TEST 2). */
static int delegate_request(struct env *e, const char *token, const struct aa_jwk *sign_key,
                            unsigned faults, struct aa_identity *id, struct aa_aauth_result *r)
{
    struct aa_sign_request sr = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts o = {0};
    struct aa_signed s;
    struct aa_verify_policy pol;
    struct aa_verify_request vr = {0};
    struct aa_clock clk = {aauth_test_clock_now, &e->clk};
    int rc;

    sr.method = "GET";
    sr.url = "http://127.0.0.1:8002/data-jwks";
    cred.scheme = AA_SIGKEY_JWT;
    cred.token = token;
    o.clock = &clk;
    cr_assert_eq(aa_aauth_sign(NULL, &sr, sign_key, &cred, &o, &s, NULL), AA_OK);
    policy(e, &pol, AUTHORITY_R);
    pol.faults = faults;
    vr.method = "GET";
    vr.target = "/data-jwks";
    vr.headers = &s.headers;
    rc = aa_aauth_verify(&pol, &vr, id, r);
    aa_signed_cleanup(&s);
    return rc;
}

Test(aauth_tokens, delegate_with_agent_token)
{
    struct env e;
    struct aa_identity id;
    struct aa_aauth_result r;
    cJSON *c;
    char *tok, jkt[AA_JWK_THUMBPRINT_LEN + 1], txt[600];

    env_init(&e, T_A);
    c = agent_claims(&e);
    tok = mint(&e.agent_key, "key-1", "agent+jwt", c, 0, NULL);
    cr_assert_eq(delegate_request(&e, tok, &e.dlg_key, 0, &id, &r), AA_OK, "%s",
                 (aa_aauth_result_format(&r, txt, sizeof(txt)), txt));
    cr_assert_eq(id.level, AA_AUTH_IDENTIFIED);
    cr_assert_eq(id.token_kind, AA_TOKEN_AGENT);
    cr_assert_str_eq(id.token_type, "agent+jwt");
    cr_assert_str_eq(id.agent, ID_AGENT);
    cr_assert_str_eq(id.delegate, "delegate-1");
    cr_assert_eq(aa_jwk_thumbprint(&e.dlg_key, jkt), AA_OK);
    cr_assert_str_eq(id.thumbprint, jkt);
    cr_assert_str_eq(id.token.cnf_jkt, jkt);
    cr_assert_str_eq(aa_json_str(id.token.claims, "sub"), "delegate-1");
    aa_identity_cleanup(&id);

    /* AT-09: the HTTP signature is not made with cnf.jwk -> step 8 */
    cr_assert_neq(delegate_request(&e, tok, &e.other_key, 0, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_signature", 8);
    free(tok);
    cJSON_Delete(c);
    env_free(&e);
}

struct at_case {
    const char *id;
    const char *where; /* validator position ("4.3/8") */
    int mut;           /* AA_JWT_MUT_* */
    const char *typ;
    const char *kid;
    const char *drop;  /* claim to delete */
    const char *set;   /* claim to set: "aud", "nbf", "exp", "cnf-d" */
    bool attacker;     /* signed by an attacker key */
    const char *hdr;   /* extra header member */
    unsigned fault;    /* fault that lets this case through (0: none) */
};

static char *at_token(struct env *e, const struct at_case *t)
{
    cJSON *c = agent_claims(e);
    char *tok;
    if (t->drop != NULL)
        cJSON_DeleteItemFromObject(c, t->drop);
    if (t->set != NULL && strcmp(t->set, "aud") == 0)
        cJSON_AddStringToObject(c, "aud", "https://other.example");
    if (t->set != NULL && strcmp(t->set, "nbf") == 0)
        cJSON_AddNumberToObject(c, "nbf", (double)(e->clk.now + 120));
    if (t->set != NULL && strcmp(t->set, "exp") == 0)
        cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(e->clk.now - 120)));
    if (t->set != NULL && strcmp(t->set, "cnf-d") == 0)
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(c, "cnf"), "jwk", jwk_json(&e->dlg_key, true));
    if (t->mut == AA_JWT_MUT_PAYLOAD) {
        cJSON *swap = cJSON_Duplicate(c, true);
        struct aa_jwt_build_opts bo = {0};
        cJSON *h = cJSON_CreateObject();
        cJSON_ReplaceItemInObject(swap, "sub", cJSON_CreateString("delegate-2"));
        cJSON_AddStringToObject(h, "typ", "agent+jwt");
        cJSON_AddStringToObject(h, "kid", "key-1");
        bo.mutations = AA_JWT_MUT_PAYLOAD;
        bo.swap_claims = swap;
        cr_assert_eq(aa_jwt_sign(h, c, AA_ALG_ED25519, &e->agent_key, &bo, &tok), AA_OK);
        cJSON_Delete(h);
        cJSON_Delete(swap);
    } else {
        tok = mint(t->attacker ? &e->other_key : &e->agent_key, t->kid ? t->kid : "key-1",
                   t->typ ? t->typ : "agent+jwt", c, (unsigned)t->mut, t->hdr);
    }
    cJSON_Delete(c);
    return tok;
}

Test(aauth_tokens, agent_token_cases)
{
    static const struct at_case t[] = {
        {"AT-01", "4.3/2", 0, "JWT", NULL, NULL, NULL, false, NULL, AA_FAULT_SKIP_TYP},
        {"AT-01", "4.3/2", 0, "auth+jwt", NULL, NULL, NULL, false, NULL, AA_FAULT_SKIP_TYP},
        {"AT-02", "4.3/1", AA_JWT_MUT_ALG_NONE, NULL, NULL, NULL, NULL, false, NULL,
         AA_FAULT_ACCEPT_ALG_NONE},
        {"AT-03", "4.3/1", AA_JWT_MUT_HS256, NULL, NULL, NULL, NULL, false, NULL, 0},
        {"AT-04", "4.3/6", 0, NULL, "key-9", NULL, NULL, false, NULL, 0},
        {"AT-05", "4.3/7", AA_JWT_MUT_PAYLOAD, NULL, NULL, NULL, NULL, false, NULL, 0},
        {"AT-06", "4.3/8", 0, NULL, NULL, NULL, "exp", false, NULL, AA_FAULT_ACCEPT_EXPIRED_TOKEN},
        {"AT-07", "4.3/9", 0, NULL, NULL, "sub", NULL, false, NULL, 0},
        {"AT-07", "4.3/11", 0, NULL, NULL, "cnf", NULL, false, NULL, 0},
        {"AT-07", "4.3/8", 0, NULL, NULL, "exp", NULL, false, NULL, 0},
        {"AT-07", "4.3/4", 0, NULL, NULL, "iss", NULL, false, NULL, 0},
        {"AT-08", "4.3/10", 0, NULL, NULL, NULL, "aud", false, NULL, AA_FAULT_IGNORE_AUD},
        {"AT-10", "4.3/7", 0, NULL, NULL, NULL, NULL, true, NULL, 0},
        {"AT-11", "4.3/8", 0, NULL, NULL, NULL, "nbf", false, NULL, 0},
        {"AT-12", "4.3/11", 0, NULL, NULL, NULL, "cnf-d", false, NULL, 0},
        {"AT-13", "4.3/1", 0, NULL, NULL, NULL, NULL, false, "crit", 0},
        {"AT-14", "4.3/1", AA_JWT_MUT_TWO_SEGS, NULL, NULL, NULL, NULL, false, NULL, 0},
        {"AT-14", "4.3/1", AA_JWT_MUT_BAD_B64, NULL, NULL, NULL, NULL, false, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct env e;
        struct aa_token_policy tp;
        struct aa_validated_token vt;
        struct aa_aauth_result r;
        struct aa_identity id;
        char *tok;
        char txt[600];

        env_init(&e, T_A);
        tok = at_token(&e, &t[i]);
        tp = tpolicy(&e);
        cr_assert_neq(aa_aauth_validate_agent_token(&tp, tok, strlen(tok), &vt, &r), AA_OK,
                      "%s accepted", t[i].id);
        aa_aauth_result_format(&r, txt, sizeof(txt));
        cr_assert_str_eq(r.where, t[i].where, "%s: %s", t[i].id, txt);
        cr_assert_eq(r.status, 401, "%s: %s", t[i].id, txt);
        cr_assert_str_eq(aa_perr_name(r.perr), "invalid_token", "%s", t[i].id);
        cr_assert_null(vt.iss, "%s: output not emptied", t[i].id);
        /* through the receiver: step 7, invalid_token */
        cr_assert_neq(delegate_request(&e, tok, &e.dlg_key, 0, &id, &r), AA_OK);
        expect_fail(&r, 401, "invalid_token", 7);
        if (t[i].fault != 0) {
            tp.faults = t[i].fault;
            cr_assert_eq(aa_aauth_validate_agent_token(&tp, tok, strlen(tok), &vt, &r), AA_OK,
                         "%s: fault %s does not let it through: %s", t[i].id,
                         aa_fault_name(t[i].fault), (aa_aauth_result_format(&r, txt, sizeof(txt)), txt));
            aa_validated_token_cleanup(&vt);
        }
        free(tok);
        env_free(&e);
    }
}

/* AT-15: a duplicate JSON member in the payload. */
Test(aauth_tokens, agent_token_duplicate_member)
{
    struct env e;
    struct aa_token_policy tp;
    struct aa_validated_token vt;
    struct aa_aauth_result r;
    const char *hdr = "{\"alg\":\"EdDSA\",\"kid\":\"key-1\",\"typ\":\"agent+jwt\"}";
    char payload[512], *tok = NULL;

    env_init(&e, T_A);
    cr_assert_eq(aa_snprintf(payload, sizeof(payload),
                             "{\"iss\":\"%s\",\"sub\":\"a\",\"sub\":\"b\",\"exp\":%lld}", ID_AGENT,
                             (long long)(T_A + 60)),
                 AA_OK);
    cr_assert_eq(aa_jws_sign_raw(hdr, strlen(hdr), (const uint8_t *)payload, strlen(payload),
                                 AA_ALG_ED25519, &e.agent_key, &tok),
                 AA_OK);
    tp = tpolicy(&e);
    cr_assert_neq(aa_aauth_validate_agent_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    cr_assert_str_eq(r.where, "4.3/1");
    free(tok);
    env_free(&e);
}

Test(aauth_tokens, auth_token_cases)
{
    struct env e;
    struct aa_token_policy tp;
    struct aa_validated_token vt;
    struct aa_aauth_result r;
    struct aa_identity id;
    cJSON *c;
    char *tok, txt[600];
    static const char *const nobody[] = {NULL};

    env_init(&e, T_A);
    c = auth_claims(&e);
    tok = mint(&e.as_key, "auth-key-1", "auth+jwt", c, 0, NULL);
    tp = tpolicy(&e);
    cr_assert_eq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK, "%s",
                 (aa_aauth_result_format(&r, txt, sizeof(txt)), txt));
    cr_assert_str_eq(vt.agent, ID_AGENT);
    cr_assert_str_eq(vt.scope, "data.read");
    aa_validated_token_cleanup(&vt);
    /* through the receiver: authorised level */
    cr_assert_eq(delegate_request(&e, tok, &e.dlg_key, 0, &id, &r), AA_OK);
    cr_assert_eq(id.level, AA_AUTH_AUTHORIZED);
    cr_assert_str_eq(id.token_type, "auth+jwt");
    cr_assert_str_eq(id.agent, ID_AGENT);
    cr_assert_str_eq(id.delegate, "delegate-1");
    aa_identity_cleanup(&id);
    /* AU-04: signed with a key other than cnf */
    cr_assert_neq(delegate_request(&e, tok, &e.other_key, 0, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_signature", 8);
    /* AU-02: issuer valid but untrusted */
    tp.trusted_issuers = nobody;
    cr_assert_neq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    cr_assert_str_eq(r.where, "4.5/4");
    tp.trusted_issuers = trusted_as;
    /* AU-01: aud is another resource */
    tp.receiver = "http://127.0.0.1:8004";
    cr_assert_neq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    cr_assert_str_eq(r.where, "4.5/8");
    tp.faults = AA_FAULT_IGNORE_AUD;
    cr_assert_eq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    aa_validated_token_cleanup(&vt);
    tp.faults = 0;
    tp.receiver = ID_R;
    free(tok);

    /* AU-03: expired */
    cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(T_A - 120)));
    tok = mint(&e.as_key, "auth-key-1", "auth+jwt", c, 0, NULL);
    cr_assert_neq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    cr_assert_str_eq(r.where, "4.5/7");
    free(tok);
    cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(T_A + 3600)));
    /* AU-05: wrong typ; AU-08: a resource+jwt as the credential */
    tok = mint(&e.as_key, "auth-key-1", "resource+jwt", c, 0, NULL);
    cr_assert_neq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    cr_assert_str_eq(r.where, "4.5/2");
    cr_assert_neq(delegate_request(&e, tok, &e.dlg_key, 0, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_token", 7);
    free(tok);
    /* AU-06: agent missing; allowed only for the F5 self-agent receiver */
    cJSON_DeleteItemFromObject(c, "agent");
    tok = mint(&e.as_key, "auth-key-1", "auth+jwt", c, 0, NULL);
    cr_assert_neq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    cr_assert_str_eq(r.where, "4.5/9");
    tp.self_is_agent = true;
    cr_assert_eq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    aa_validated_token_cleanup(&vt);
    free(tok);
    /* a JWE (five segments) fails at 4.5/2 */
    tok = aa_strdup("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d");
    cr_assert_neq(aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
    cr_assert_str_eq(r.where, "4.5/2");
    free(tok);
    cJSON_Delete(c);
    env_free(&e);
}

Test(aauth_tokens, resource_token_cases)
{
    struct env e;
    struct aa_token_policy tp;
    struct aa_validated_token vt;
    struct aa_aauth_result r;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1], *tok, txt[600];
    static const struct {
        const char *id, *where, *field, *value;
    } t[] = {
        {"RT-01", "4.4/9", "agent", "http://127.0.0.1:9001"},
        {"RT-02", "4.4/10", "agent_jkt", "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
        {"RT-03", "4.4/8", "aud", "http://127.0.0.1:8005"},
        {"RT-04", "4.4/11", "exp", NULL},
        {"RT-05", "4.4/2", "typ", "auth+jwt"},
        {"RT-06", "4.4/6", "kid", "resource-key-9"},
        {"RT-07", "4.4/12", "auth_request_url", "https://r.example/req"},
        {"RT-07", "4.4/12", "scope", NULL},
    };

    env_init(&e, T_A);
    cr_assert_eq(aa_jwk_thumbprint(&e.dlg_key, jkt), AA_OK);
    tp = tpolicy(&e);
    tp.receiver = ID_AS;
    tp.expected_agent = ID_AGENT;
    tp.expected_agent_jkt = jkt;
    for (size_t i = 0; i <= sizeof(t) / sizeof(t[0]); i++) {
        cJSON *c = cJSON_CreateObject();
        const char *typ = "resource+jwt", *kid = "resource-key-1";
        cJSON_AddStringToObject(c, "iss", ID_R);
        cJSON_AddStringToObject(c, "aud", ID_AS);
        cJSON_AddStringToObject(c, "agent", ID_AGENT);
        cJSON_AddStringToObject(c, "agent_jkt", jkt);
        cJSON_AddNumberToObject(c, "exp", (double)(T_A + 300));
        cJSON_AddStringToObject(c, "scope", "data.read data.write");
        if (i < sizeof(t) / sizeof(t[0])) {
            if (strcmp(t[i].field, "typ") == 0)
                typ = t[i].value;
            else if (strcmp(t[i].field, "kid") == 0)
                kid = t[i].value;
            else if (strcmp(t[i].field, "exp") == 0)
                cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(T_A - 120)));
            else if (t[i].value == NULL)
                cJSON_DeleteItemFromObject(c, t[i].field);
            else if (cJSON_GetObjectItem(c, t[i].field) != NULL)
                cJSON_ReplaceItemInObject(c, t[i].field, cJSON_CreateString(t[i].value));
            else
                cJSON_AddStringToObject(c, t[i].field, t[i].value);
        }
        tok = mint(&e.res_key, kid, typ, c, 0, NULL);
        if (i == sizeof(t) / sizeof(t[0])) {
            cr_assert_eq(aa_aauth_validate_resource_token(&tp, tok, strlen(tok), &vt, &r), AA_OK,
                         "%s", (aa_aauth_result_format(&r, txt, sizeof(txt)), txt));
            cr_assert_eq(vt.kind, AA_TOKEN_RESOURCE);
            cr_assert_str_eq(vt.scope, "data.read data.write");
            aa_validated_token_cleanup(&vt);
        } else {
            cr_assert_neq(aa_aauth_validate_resource_token(&tp, tok, strlen(tok), &vt, &r), AA_OK,
                          "%s", t[i].id);
            cr_assert_str_eq(r.where, t[i].where, "%s: %s", t[i].id,
                             (aa_aauth_result_format(&r, txt, sizeof(txt)), txt));
            cr_assert_eq(r.status, 400, "%s", t[i].id);
            cr_assert_str_eq(aa_perr_name(r.perr), "invalid_resource_token");
        }
        free(tok);
        cJSON_Delete(c);
    }
    /* RT-06: bad signature (signed by the wrong key under the right kid) */
    {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "iss", ID_R);
        tok = mint(&e.other_key, "resource-key-1", "resource+jwt", c, 0, NULL);
        cr_assert_neq(aa_aauth_validate_resource_token(&tp, tok, strlen(tok), &vt, &r), AA_OK);
        cr_assert_str_eq(r.where, "4.4/7");
        free(tok);
        cJSON_Delete(c);
    }
    env_free(&e);
}

/* The signer's diagnostic variants each change exactly what they name. */
Test(aauth_sign, variants_change_one_thing)
{
    struct env e;
    struct aa_sign_request req = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts o = {0};
    struct aa_signed s;
    struct aa_clock clk;

    env_init(&e, T_A);
    clk.now = aauth_test_clock_now;
    clk.ctx = &e.clk;
    req.method = "GET";
    req.url = "http://127.0.0.1:8002/data-hwk?page=2&q=caf%C3%A9";
    cred.scheme = AA_SIGKEY_HWK;
    o.clock = &clk;
    o.variants = AA_SIGN_V_LEGACY_BASE;
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, NULL), AA_OK);
    cr_assert_null(strstr(s.base, "@signature-params"));
    cr_assert_eq(s.base[s.base_len - 1], '\n', "legacy lines all end in LF");
    cr_assert_str_eq(s.signature_input, EX_A_INPUT, "the header itself is unchanged");
    aa_signed_cleanup(&s);
    o.variants = AA_SIGN_V_QUERY_NO_QMARK;
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, NULL), AA_OK);
    cr_assert_not_null(strstr(s.base, "\"@query\": page=2"));
    aa_signed_cleanup(&s);
    o.variants = AA_SIGN_V_SIG_B64URL;
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, NULL), AA_OK);
    cr_assert_str_eq(s.signature, "sig1=:0mz4JS77INzv98Czh_R9EFwFeA8anodu1YAfT1h6BILsR8x2U3iO5WK3zz"
                                  "zcvnVMVT7nKAL2c4ICT2_iTJOlAw:");
    aa_signed_cleanup(&s);
    o.variants = 0;
    o.alg = "ed25519";
    o.has_expires = true;
    o.expires_offset = 300;
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, NULL), AA_OK);
    cr_assert(strstr(s.signature_input, ";created=1768786221;expires=1768786521;alg=\"ed25519\"") !=
                  NULL,
              "%s", s.signature_input);
    aa_signed_cleanup(&s);
    o.alg = NULL;
    o.has_expires = false;
    cred.sigkey_ser_flags = AA_SIGKEY_SER_EXTRA_SPACES;
    cr_assert_eq(aa_aauth_sign(NULL, &req, &e.agent_key, &cred, &o, &s, NULL), AA_OK);
    cr_assert(strncmp(s.signature_key, "sig1=( scheme=hwk  kty", 22) == 0, "%s", s.signature_key);
    cr_assert_not_null(strstr(s.base, s.signature_key), "covered verbatim");
    aa_signed_cleanup(&s);
    cr_assert_eq(aa_sign_variant_from_name("legacy-base"), AA_SIGN_V_LEGACY_BASE);
    cr_assert_eq(aa_sign_variant_from_name("bogus"), 0);
    env_free(&e);
}

/* Resolver outcomes: a metadata self-identifier mismatch (SK-05, D-13) is
 * invalid_key; a resolver fault is a 500, never a finding; a fixed key
 * (token exchange, PROFILE#6.5) skips resolution. */
static int stub_rc;
static int stub_metadata_key(void *ctx, const char *id, const char *wk, const char *kid,
                             struct aa_jwk *out, struct aa_diag *d)
{
    (void)ctx;
    (void)wk;
    (void)kid;
    (void)out;
    return aa_fail(d, stub_rc, "PROFILE#3", "metadata for %s: stub", id);
}

Test(aauth_verify, resolver_outcomes_and_fixed_key)
{
    struct env e;
    struct aa_verify_policy pol;
    struct aa_verify_request vr;
    struct aa_http_headers h;
    struct aa_identity id;
    struct aa_aauth_result r;
    struct aa_key_resolver stub = {stub_metadata_key, NULL, NULL};

    env_init(&e, T_B);
    policy(&e, &pol, "127.0.0.1:8003");
    example_b_request(&h, &vr);
    stub.jwks_url_key = e.resolver.jwks_url_key;
    pol.resolver = &stub;
    stub_rc = AA_E_DISC_ID_MISMATCH;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_E_DISC_ID_MISMATCH);
    expect_fail(&r, 401, "invalid_key", 7);
    stub_rc = AA_E_NOMEM;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_E_NOMEM);
    cr_assert_eq(r.status, 500);
    cr_assert_eq(r.perr, AA_PERR_SERVER_ERROR);
    pol.fixed_key = &e.agent_key;
    cr_assert_eq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    cr_assert_str_eq(id.thumbprint, AAUTH_TEST1_JKT);
    aa_identity_cleanup(&id);
    pol.fixed_key = &e.other_key; /* the wrong key fails at step 8 */
    cr_assert_neq(aa_aauth_verify(&pol, &vr, &id, &r), AA_OK);
    expect_fail(&r, 401, "invalid_signature", 8);
    aa_http_headers_cleanup(&h);
    env_free(&e);
}
