/*
 * The reference agent server (reference/lib/ref_agent.c, ref_common.c):
 * metadata and JWKS (PROFILE#3), POST /delegate/token (PROFILE#6.1) with
 * every DG case of PROFILE#9, RB-02, strict JSON, 405/404, key
 * persistence, the frozen clock, transcripts with display aliases, and the
 * fault switches that concern the agent server.
 *
 * Each test starts its own server in-process on 127.0.0.1, port 0, and
 * talks to it over real HTTP with the harness client. Logs go to memory
 * streams that are read only after aa_ref_stop(), which waits for every
 * handler and transcript hook to finish, so no test waits on time.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aa_ref.h"
#include "aauth/aa_signer.h"
#include "ref_int.h" /* the plumbing role modules use (tested at the end) */
#include "jose/aa_jose.h"
#include "json/aa_json.h"

/* ---- helpers ------------------------------------------------------------- */

static struct aa_ref_server *start(const struct aa_ref_agent_config *cfg)
{
    struct aa_ref_server *s = NULL;
    struct aa_diag d;
    char msg[512];
    int rc;

    aa_diag_clear(&d);
    rc = aa_ref_agent_start(cfg, &s, &d);
    aa_diag_format(&d, msg, sizeof(msg));
    cr_assert_eq(rc, AA_OK, "agent start: %s", msg);
    cr_assert_not_null(s);
    return s;
}

static struct aa_ref_server *start_default(void)
{
    struct aa_ref_agent_config cfg;

    aa_ref_agent_defaults(&cfg);
    cfg.c.verbosity = 0;
    return start(&cfg);
}

static char *url_of(const struct aa_ref_server *s, const char *path)
{
    struct aa_buf b;

    aa_buf_init(&b, 4096);
    aa_buf_printf(&b, "%s%s", aa_ref_url(s), path);
    cr_assert_eq(b.err, AA_OK);
    return aa_buf_detach(&b, NULL);
}

/* One request; |ctype| NULL sends no Content-Type. */
static void send_req(const struct aa_ref_server *s, const char *method, const char *path,
                     const char *ctype, const char *body, size_t blen,
                     const struct aa_http_headers *extra, struct aa_http_response *resp)
{
    struct aa_http_client *c = aa_http_client_new(NULL);
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_diag d;
    char *url = url_of(s, path);
    int rc;

    cr_assert_not_null(c);
    aa_http_headers_init(&h);
    if (ctype != NULL)
        cr_assert_eq(aa_http_headers_add(&h, "Content-Type", ctype), AA_OK);
    for (size_t i = 0; extra != NULL && i < extra->n; i++)
        cr_assert_eq(
            aa_http_headers_addn(&h, extra->v[i].name, extra->v[i].value, extra->v[i].value_len),
            AA_OK);
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.url = url;
    rq.headers = &h;
    rq.body = body;
    rq.body_len = blen;
    aa_http_response_init(resp);
    aa_diag_clear(&d);
    rc = aa_http_send(c, &rq, resp, &d);
    cr_assert_eq(rc, AA_OK, "%s %s: %s", method, url, d.msg);
    aa_http_headers_cleanup(&h);
    aa_http_client_free(c);
    free(url);
}

static cJSON *json_of(const struct aa_http_response *r)
{
    cJSON *j = NULL;
    const char *ct = aa_http_headers_get(&r->headers, "Content-Type");

    cr_assert_not_null(ct, "response without Content-Type");
    cr_assert(strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct);
    cr_assert_eq(aa_json_parse(r->body, r->body_len, NULL, &j, NULL), AA_OK, "body: %s", r->body);
    return j;
}

static cJSON *get_json(const struct aa_ref_server *s, const char *path, long want_status)
{
    struct aa_http_response r;
    cJSON *j;

    send_req(s, "GET", path, NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, want_status, "GET %s -> %ld %s", path, r.status, r.body);
    j = json_of(&r);
    aa_http_response_cleanup(&r);
    return j;
}

/* POST /delegate/token with |body|; returns the parsed answer. */
static cJSON *post_token(const struct aa_ref_server *s, const char *ctype, const char *body,
                         const struct aa_http_headers *extra, long want_status,
                         const char *want_error)
{
    struct aa_http_response r;
    cJSON *j;

    send_req(s, "POST", AA_REF_PATH_DELEGATE_TOKEN, ctype, body, body ? strlen(body) : 0, extra,
             &r);
    cr_assert_eq(r.status, want_status, "POST %s -> %ld %s", body ? body : "", r.status, r.body);
    j = json_of(&r);
    if (want_error != NULL) {
        cr_assert_str_eq(aa_json_str(j, "error"), want_error, "body %s", r.body);
        cr_assert_not_null(aa_json_str(j, "error_description"));
    }
    if (want_status == 200) {
        const char *cc = aa_http_headers_get(&r.headers, "Cache-Control");
        cr_assert_not_null(cc, "token response without Cache-Control");
        cr_assert_str_eq(cc, "no-store"); /* D-25 */
    }
    aa_http_response_cleanup(&r);
    return j;
}

/* A fresh delegate key and its public JWK text with kid delegate-key-1. */
struct dkey {
    struct aa_jwk key;
    char *pub_json;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
};

static void dkey_new(struct dkey *k, enum aa_kty kty, const char *kid)
{
    struct aa_buf b;

    cr_assert_eq(aa_jwk_generate(kty, kid, &k->key), AA_OK);
    aa_buf_init(&b, 65536);
    cr_assert_eq(aa_jwk_to_json(&k->key, false, &b), AA_OK);
    k->pub_json = aa_buf_detach(&b, NULL);
    cr_assert_eq(aa_jwk_thumbprint(&k->key, k->jkt), AA_OK);
}

static void dkey_free(struct dkey *k)
{
    aa_jwk_cleanup(&k->key);
    free(k->pub_json);
}

static char *body_with(const char *sub_json, const char *cnf_json, const char *aud_json)
{
    struct aa_buf b;

    aa_buf_init(&b, 1u << 20);
    aa_buf_adds(&b, "{");
    if (sub_json)
        aa_buf_printf(&b, "\"sub\":%s", sub_json);
    if (cnf_json)
        aa_buf_printf(&b, "%s\"cnf_jwk\":%s", sub_json ? "," : "", cnf_json);
    if (aud_json)
        aa_buf_printf(&b, ",\"aud\":%s", aud_json);
    aa_buf_adds(&b, "}");
    cr_assert_eq(b.err, AA_OK);
    return aa_buf_detach(&b, NULL);
}

/* Parse and verify an issued agent token against the server's published
 * JWKS, fetched over HTTP and selected by the header's kid. */
static void verify_token(const struct aa_ref_server *s, const char *tok, struct aa_jwt *t)
{
    cJSON *jwks = get_json(s, AA_REF_PATH_JWKS, 200);
    struct aa_jwks set;
    const struct aa_jwk *k;
    char *text = cJSON_PrintUnformatted(jwks);

    cr_assert_eq(aa_jwt_parse(tok, strlen(tok), t, NULL), AA_OK, "token %s", tok);
    cr_assert_eq(aa_jwks_parse(text, strlen(text), &set, NULL), AA_OK);
    cr_assert_not_null(t->kid);
    k = aa_jwks_find(&set, t->kid);
    cr_assert_not_null(k, "kid %s not in the JWKS", t->kid);
    cr_assert_eq(aa_jwt_verify(t, k, NULL), AA_OK, "signature does not verify");
    aa_jwks_cleanup(&set);
    cJSON_free(text);
    cJSON_Delete(jwks);
}

static int64_t claim_int(const struct aa_jwt *t, const char *name)
{
    int64_t v = 0;
    cr_assert(aa_jwt_claim_int(t, name, &v), "claim %s missing or not an integer", name);
    return v;
}

/* ---- metadata and JWKS ------------------------------------------------------ */

Test(ref_agent, metadata_members_and_values)
{
    struct aa_ref_server *s = start_default();
    const char *id = aa_ref_id(s);
    cJSON *m = get_json(s, "/.well-known/aauth-agent", 200);
    const cJSON *ru = cJSON_GetObjectItemCaseSensitive(m, "redirect_uris");
    char want[512];

    /* PROFILE#1: the default identifier is the listen origin. */
    cr_assert_str_eq(id, aa_ref_url(s));
    cr_assert_str_eq(aa_json_str(m, "agent"), id);
    snprintf(want, sizeof(want), "%s/jwks.json", id);
    cr_assert_str_eq(aa_json_str(m, "jwks_uri"), want);
    cr_assert(cJSON_IsArray(ru) && cJSON_GetArraySize(ru) == 1);
    snprintf(want, sizeof(want), "%s/callback", id);
    cr_assert_str_eq(cJSON_GetArrayItem(ru, 0)->valuestring, want);
    cr_assert_str_eq(aa_json_str(m, "name"), AA_REF_AGENT_NAME);
    /* Every URL member points into this agent and answers 200. */
    static const char *const urls[] = {"logo_uri", "policy_uri", "tos_uri", "homepage"};
    for (size_t i = 0; i < 4; i++) {
        const char *u = aa_json_str(m, urls[i]);
        struct aa_http_response r;
        cr_assert_not_null(u, "%s missing", urls[i]);
        cr_assert(strncmp(u, id, strlen(id)) == 0 && u[strlen(id)] == '/', "%s = %s", urls[i], u);
        send_req(s, "GET", u + strlen(id), NULL, NULL, 0, NULL, &r);
        cr_assert_eq(r.status, 200, "%s -> %ld", u, r.status);
        aa_http_response_cleanup(&r);
    }
    /* The delegate-token endpoint is not advertised (PROFILE#3). */
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(m, "delegate_token_endpoint"));
    cJSON_Delete(m);
    aa_ref_stop(s);
}

Test(ref_agent, metadata_with_public_identifier)
{
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s;
    cJSON *m;

    aa_ref_agent_defaults(&cfg);
    cfg.c.id = "https://agent.supply-chain.com";
    cfg.name = "Supply Chain Agent";
    s = start(&cfg);
    cr_assert_str_eq(aa_ref_id(s), "https://agent.supply-chain.com");
    cr_assert_str_neq(aa_ref_url(s), aa_ref_id(s));
    m = get_json(s, "/.well-known/aauth-agent", 200);
    cr_assert_str_eq(aa_json_str(m, "agent"), "https://agent.supply-chain.com");
    cr_assert_str_eq(aa_json_str(m, "jwks_uri"), "https://agent.supply-chain.com/jwks.json");
    cr_assert_str_eq(aa_json_str(m, "name"), "Supply Chain Agent");
    cJSON_Delete(m);
    aa_ref_stop(s);
}

Test(ref_agent, bad_identifiers_refused)
{
    static const char *const bad[] = {"http://agent.example", "https://agent.example/",
                                      "https://Agent.example", "https://agent.example:443",
                                      "agent.example"};
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aa_ref_agent_defaults(&cfg);
        cfg.c.id = bad[i];
        aa_diag_clear(&d);
        cr_assert_neq(aa_ref_agent_start(&cfg, &s, &d), AA_OK, "%s accepted", bad[i]);
        cr_assert_null(s);
        cr_assert_str_eq(d.ref, "PROFILE#1", "%s: %s", bad[i], d.msg);
    }
    /* strict_https: the default (http loopback) identifier is refused. */
    aa_ref_agent_defaults(&cfg);
    cfg.c.strict_https = true;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&cfg, &s, &d), AA_E_HTTP_IDENTIFIER, "%s", d.msg);
    cr_assert_null(s);
    /* ... and an https identifier is fine. */
    cfg.c.id = "https://agent.example";
    s = start(&cfg);
    aa_ref_stop(s);
}

Test(ref_agent, jwks_public_unique_kid)
{
    struct aa_ref_server *s = start_default();
    struct aa_http_response r;
    struct aa_jwks set;
    struct aa_diag d;
    char jkt_pub[AA_JWK_THUMBPRINT_LEN + 1], jkt_srv[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *j;
    const cJSON *k0;

    send_req(s, "GET", "/jwks.json", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 200);
    j = json_of(&r);
    aa_diag_clear(&d);
    /* aa_jwks_parse enforces PROFILE#3 / D-14: public only, unique kids. */
    cr_assert_eq(aa_jwks_parse(r.body, r.body_len, &set, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(set.n, 1);
    cr_assert_str_eq(set.keys[0].kid, AA_REF_AGENT_KID);
    cr_assert_eq(aa_jwk_thumbprint(&set.keys[0], jkt_pub), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(s), jkt_srv), AA_OK);
    cr_assert_str_eq(jkt_pub, jkt_srv);
    k0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "keys"), 0);
    cr_assert_str_eq(aa_json_str(k0, "kty"), "OKP");
    cr_assert_str_eq(aa_json_str(k0, "crv"), "Ed25519");
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(k0, "d"));
    cr_assert(aa_ref_key(s)->is_private); /* the server keeps its private half */
    aa_jwks_cleanup(&set);
    cJSON_Delete(j);
    aa_http_response_cleanup(&r);
    aa_ref_stop(s);
}

Test(ref_agent, head_and_hits)
{
    struct aa_ref_server *s = start_default();
    struct aa_http_response r;

    cr_assert_eq(aa_ref_hits(s, "/.well-known/aauth-agent"), 0);
    cr_assert_eq(aa_ref_hits(s, "/jwks.json"), 0);
    send_req(s, "HEAD", "/.well-known/aauth-agent", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 200);
    aa_http_response_cleanup(&r);
    cJSON_Delete(get_json(s, "/.well-known/aauth-agent", 200));
    cr_assert_eq(aa_ref_hits(s, "/.well-known/aauth-agent"), 2);
    cr_assert_eq(aa_ref_hits(s, "/jwks.json"), 0);
    cr_assert_eq(aa_ref_hits(s, "/nope"), 0);
    aa_ref_stop(s);
}

/* ---- POST /delegate/token: success ------------------------------------------ */

Test(ref_agent, delegate_token_claims)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    struct aa_jwt t;
    struct aa_jwk cnf;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char *body;
    cJSON *ans, *sent;
    int64_t before, after, exp, iat, expires_in;
    const char *tok;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    before = (int64_t)time(NULL);
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    after = (int64_t)time(NULL);
    tok = aa_json_str(ans, "agent_token");
    cr_assert_not_null(tok);
    cr_assert(aa_json_int(ans, "expires_in", &expires_in));
    cr_assert_eq(expires_in, 3600);
    cr_assert_eq(cJSON_GetArraySize(ans), 2, "only agent_token and expires_in");

    verify_token(s, tok, &t);
    cr_assert_str_eq(t.typ, "agent+jwt");
    cr_assert_str_eq(t.alg_name, "EdDSA");
    cr_assert_str_eq(t.kid, AA_REF_AGENT_KID);
    cr_assert_eq(aa_jwt_check_typ(&t, "agent+jwt", NULL), AA_OK);
    cr_assert_str_eq(aa_jwt_claim_str(&t, "iss"), aa_ref_id(s));
    cr_assert_str_eq(aa_jwt_claim_str(&t, "sub"), "delegate-1");
    exp = claim_int(&t, "exp");
    iat = claim_int(&t, "iat");
    cr_assert(iat >= before && iat <= after, "iat %lld outside [%lld, %lld]", (long long)iat,
              (long long)before, (long long)after);
    cr_assert_eq(exp, iat + 3600);
    cr_assert(exp > after && exp - after <= expires_in + 60); /* PROFILE#7.6 TEST 1 */
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(t.claims, "aud"));
    /* cnf.jwk: the submitted JWK, member by member, kid included (D-27). */
    cr_assert_eq(aa_jwt_cnf_jwk(&t, &cnf, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&cnf, jkt), AA_OK);
    cr_assert_str_eq(jkt, dk.jkt);
    cr_assert_str_eq(cnf.kid, "delegate-key-1");
    sent = cJSON_Parse(dk.pub_json);
    cr_assert(cJSON_Compare(
        sent,
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t.claims, "cnf"), "jwk"),
        true));
    cr_assert_eq(aa_jwt_check_time(&t, after, 60, AA_JWT_REQUIRE_EXP | AA_JWT_REQUIRE_IAT, NULL),
                 AA_OK);
    cJSON_Delete(sent);
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, delegate_token_extra_jwk_members_copied)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    struct aa_jwt t;
    cJSON *ans, *jwk, *got;
    char *jwk_text, *body;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    jwk = cJSON_Parse(dk.pub_json);
    cJSON_AddStringToObject(jwk, "use", "sig");
    cJSON_AddStringToObject(jwk, "alg", "EdDSA");
    jwk_text = cJSON_PrintUnformatted(jwk);
    body = body_with("\"delegate-1\"", jwk_text, NULL);
    ans = post_token(s, "application/json; charset=utf-8", body, NULL, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    got =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t.claims, "cnf"), "jwk");
    cr_assert(cJSON_Compare(jwk, got, true), "cnf.jwk differs from the submitted JWK");
    cr_assert_str_eq(aa_json_str(got, "use"), "sig");
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);
    cJSON_free(jwk_text);
    cJSON_Delete(jwk);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, delegate_token_aud)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    struct aa_jwt t;
    cJSON *ans, *want;
    char *body;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, "\"http://127.0.0.1:8002\"");
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    cr_assert_str_eq(aa_jwt_claim_str(&t, "aud"), "http://127.0.0.1:8002");
    cr_assert_eq(aa_jwt_check_aud(&t, "http://127.0.0.1:8002", true, NULL), AA_OK);
    cr_assert_neq(aa_jwt_check_aud(&t, "http://127.0.0.1:8003", true, NULL), AA_OK);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);

    body =
        body_with("\"delegate-1\"", dk.pub_json, "[\"https://r1.example\",\"https://as.example\"]");
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    want = cJSON_Parse("[\"https://r1.example\",\"https://as.example\"]");
    cr_assert(cJSON_Compare(want, cJSON_GetObjectItemCaseSensitive(t.claims, "aud"), true));
    cr_assert_eq(aa_jwt_check_aud(&t, "https://as.example", true, NULL), AA_OK);
    cJSON_Delete(want);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);

    /* Malformed aud values are refused. */
    static const char *const bad[] = {"\"\"", "42", "[]", "[\"a\",7]", "[\"\"]", "{}", "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        body = body_with("\"delegate-1\"", dk.pub_json, bad[i]);
        cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
        free(body);
    }
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, frozen_clock_exact_times)
{
    struct aa_ref_clock clk = {.frozen = true, .value = 1768786221};
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s;
    struct dkey dk;
    struct aa_jwt t;
    cJSON *ans;
    char *body;
    int64_t ei;

    aa_ref_agent_defaults(&cfg);
    cfg.c.clock = &clk;
    s = start(&cfg);
    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    /* The seed's exp (PROFILE#4.2): created 1768786221 + 3600. */
    cr_assert_eq(claim_int(&t, "exp"), 1768789821);
    cr_assert_eq(claim_int(&t, "iat"), 1768786221);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);

    aa_ref_clock_advance(&clk, 100);
    cr_assert_eq(aa_ref_clock_now(&clk), 1768786321);
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    cr_assert_eq(claim_int(&t, "iat"), 1768786321);
    cr_assert_eq(claim_int(&t, "exp"), 1768789921);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    aa_ref_stop(s);

    /* A configured lifetime is both expires_in and exp - iat. */
    cfg.agent_token_ttl = 120;
    s = start(&cfg);
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    cr_assert(aa_json_int(ans, "expires_in", &ei));
    cr_assert_eq(ei, 120);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    cr_assert_eq(claim_int(&t, "exp"), 1768786321 + 120);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, ttl_bounds)
{
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s = NULL;

    aa_ref_agent_defaults(&cfg);
    cfg.agent_token_ttl = -1;
    cr_assert_eq(aa_ref_agent_start(&cfg, &s, NULL), AA_E_INVAL);
    cfg.agent_token_ttl = 315360001;
    cr_assert_eq(aa_ref_agent_start(&cfg, &s, NULL), AA_E_INVAL);
    cr_assert_null(s);
    cfg.agent_token_ttl = 315360000;
    s = start(&cfg);
    aa_ref_stop(s);
}

Test(ref_agent, clock_offset)
{
    struct aa_ref_clock clk = {0};
    int64_t t0 = (int64_t)time(NULL), v;

    aa_ref_clock_advance(&clk, 1000);
    v = aa_ref_clock_now(&clk);
    cr_assert(v >= t0 + 1000 && v <= (int64_t)time(NULL) + 1000);
    cr_assert(aa_ref_clock_now(NULL) < t0 + 1000);
}

/* ---- POST /delegate/token: DG negatives (PROFILE#9) ------------------------- */

Test(ref_agent, dg01_sub)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    struct aa_buf b;
    char *body, *sub255, *sub256;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    static const char *const bad[] = {NULL, "\"\"", "42", "null", "[\"a\"]", "{\"a\":1}", "true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        body = body_with(bad[i], dk.pub_json, NULL);
        if (bad[i] == NULL) { /* no sub at all: {"cnf_jwk":...} */
            free(body);
            body = body_with(NULL, dk.pub_json, NULL);
        }
        cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
        free(body);
    }
    /* 255 characters pass, 256 fail; characters, not bytes (é is 2 bytes). */
    aa_buf_init(&b, 4096);
    aa_buf_addc(&b, '"');
    for (int i = 0; i < 255; i++)
        aa_buf_adds(&b, "\xc3\xa9");
    aa_buf_addc(&b, '"');
    sub255 = aa_buf_detach(&b, NULL);
    aa_buf_init(&b, 4096);
    aa_buf_addc(&b, '"');
    for (int i = 0; i < 256; i++)
        aa_buf_addc(&b, 'a');
    aa_buf_addc(&b, '"');
    sub256 = aa_buf_detach(&b, NULL);
    body = body_with(sub255, dk.pub_json, NULL);
    cJSON_Delete(post_token(s, "application/json", body, NULL, 200, NULL));
    free(body);
    body = body_with(sub256, dk.pub_json, NULL);
    cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
    free(body);
    free(sub255);
    free(sub256);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, dg02_cnf_missing)
{
    struct aa_ref_server *s = start_default();

    cJSON_Delete(post_token(s, "application/json", "{\"sub\":\"delegate-1\"}", NULL, 400,
                            "invalid_request"));
    cJSON_Delete(post_token(s, "application/json", "{\"sub\":\"delegate-1\",\"cnf_jwk\":\"x\"}",
                            NULL, 400, "invalid_request"));
    cJSON_Delete(post_token(s, "application/json", "{\"sub\":\"delegate-1\",\"cnf_jwk\":null}",
                            NULL, 400, "invalid_request"));
    cJSON_Delete(post_token(s, "application/json", "{\"sub\":\"delegate-1\",\"cnf_jwk\":{}}", NULL,
                            400, "invalid_request"));
    aa_ref_stop(s);
}

static char *private_jwk_json(const struct aa_jwk *k)
{
    struct aa_buf b;

    aa_buf_init(&b, 65536);
    cr_assert_eq(aa_jwk_to_json(k, true, &b), AA_OK);
    cr_assert_not_null(strstr(b.p, "\"d\""));
    return aa_buf_detach(&b, NULL);
}

Test(ref_agent, dg03_private_member)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    char *priv, *body;
    cJSON *j;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    priv = private_jwk_json(&dk.key);
    body = body_with("\"delegate-1\"", priv, NULL);
    j = post_token(s, "application/json", body, NULL, 400, "invalid_request");
    cr_assert_not_null(strstr(aa_json_str(j, "error_description"), "cnf_jwk"));
    cJSON_Delete(j);
    free(body);
    /* Any private member, not only d. */
    body = body_with("\"delegate-1\"",
                     "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"k\":\"AAAA\"}",
                     NULL);
    cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
    free(body);
    free(priv);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, dg04_unsupported_kty_crv)
{
    struct aa_ref_server *s = start_default();
    struct dkey ec;
    char *body;

    static const char *const bad[] = {
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"11qYAYKxCrfVS_"
        "7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"foo\"}",
        "{\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"tooshort\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        body = body_with("\"delegate-1\"", bad[i], NULL);
        cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
        free(body);
    }
    /* A valid public key of another type (EC P-256) is still refused. */
    dkey_new(&ec, AA_KTY_EC, "ec-1");
    body = body_with("\"delegate-1\"", ec.pub_json, NULL);
    cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
    free(body);
    dkey_free(&ec);
    aa_ref_stop(s);
}

Test(ref_agent, dg05_content_type_and_json)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    char *good;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    good = body_with("\"delegate-1\"", dk.pub_json, NULL);
    /* The right body with the wrong (or no) content type. */
    cJSON_Delete(post_token(s, "text/plain", good, NULL, 400, "invalid_request"));
    cJSON_Delete(
        post_token(s, "application/x-www-form-urlencoded", good, NULL, 400, "invalid_request"));
    cJSON_Delete(post_token(s, NULL, good, NULL, 400, "invalid_request"));
    /* Not JSON, not an object, malformed, empty. */
    cJSON_Delete(post_token(s, "application/json", "sub=delegate-1", NULL, 400, "invalid_request"));
    cJSON_Delete(post_token(s, "application/json", "[1,2]", NULL, 400, "invalid_request"));
    cJSON_Delete(post_token(s, "application/json", "\"delegate-1\"", NULL, 400, "invalid_request"));
    cJSON_Delete(
        post_token(s, "application/json", "{\"sub\":\"delegate-1\"", NULL, 400, "invalid_request"));
    cJSON_Delete(post_token(s, "application/json", "", NULL, 400, "invalid_request"));
    /* The control: the same body with the right type is accepted. */
    cJSON_Delete(post_token(s, "application/json", good, NULL, 200, NULL));
    free(good);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, duplicate_json_member)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    struct aa_buf b;
    char *body;
    cJSON *j;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    aa_buf_init(&b, 65536);
    aa_buf_printf(&b, "{\"sub\":\"delegate-1\",\"cnf_jwk\":%s,\"sub\":\"delegate-2\"}",
                  dk.pub_json);
    body = aa_buf_detach(&b, NULL);
    j = post_token(s, "application/json", body, NULL, 400, "invalid_request");
    cr_assert_not_null(strstr(aa_json_str(j, "error_description"), "D-29"), "%s",
                       aa_json_str(j, "error_description"));
    cJSON_Delete(j);
    free(body);
    /* A duplicate inside cnf_jwk too (D-29). */
    body = body_with("\"delegate-1\"",
                     "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
                     "7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
                     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                     NULL);
    cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
    free(body);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, oversized_token_refused)
{
    struct aa_ref_server *s = start_default();
    struct dkey dk;
    struct aa_buf b;
    char *body;
    cJSON *jwk;

    /* An extra 9000-byte member would give an agent token over 8 KiB. */
    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    jwk = cJSON_Parse(dk.pub_json);
    aa_buf_init(&b, 65536);
    for (int i = 0; i < 9000; i++)
        aa_buf_addc(&b, 'a');
    cJSON_AddStringToObject(jwk, "ext_note", b.p);
    aa_buf_free(&b);
    {
        char *t = cJSON_PrintUnformatted(jwk);
        body = body_with("\"delegate-1\"", t, NULL);
        cJSON_free(t);
    }
    cJSON_Delete(post_token(s, "application/json", body, NULL, 400, "invalid_request"));
    free(body);
    cJSON_Delete(jwk);
    dkey_free(&dk);
    aa_ref_stop(s);
}

/* Sign a /delegate/token request with |signer| under |cred| and post |body|. */
static cJSON *post_signed(const struct aa_ref_server *s, const struct aa_jwk *signer,
                          const struct aa_sign_cred *cred, const char *body, long want,
                          const char *want_error)
{
    struct aa_http_headers h;
    struct aa_sign_request sr;
    struct aa_signed sg;
    struct aa_diag d;
    char *url = url_of(s, AA_REF_PATH_DELEGATE_TOKEN);
    cJSON *j;

    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", "application/json"), AA_OK);
    memset(&sr, 0, sizeof(sr));
    sr.method = "POST";
    sr.url = url;
    sr.headers = &h;
    sr.body = body;
    sr.body_len = strlen(body);
    aa_diag_clear(&d);
    cr_assert_eq(aa_aauth_sign(NULL, &sr, signer, cred, NULL, &sg, &d), AA_OK, "sign: %s", d.msg);
    /* post_token adds Content-Type itself. */
    j = post_token(s, "application/json", body, &sg.headers, want, want_error);
    aa_signed_cleanup(&sg);
    aa_http_headers_cleanup(&h);
    free(url);
    return j;
}

Test(ref_agent, dg06_hwk_binding)
{
    struct aa_ref_server *s = start_default();
    struct aa_sign_cred hwk = {.scheme = AA_SIGKEY_HWK};
    struct dkey dk, other;
    struct aa_jwt t;
    struct aa_jwk cnf;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char *body;
    cJSON *ans;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    dkey_new(&other, AA_KTY_OKP, "other");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    /* Signed with the key being certified: accepted. */
    ans = post_signed(s, &dk.key, &hwk, body, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    cr_assert_eq(aa_jwt_cnf_jwk(&t, &cnf, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&cnf, jkt), AA_OK);
    cr_assert_str_eq(jkt, dk.jkt);
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    /* DG-06: signed with another hwk key -> 401 invalid_signature. */
    cJSON_Delete(post_signed(s, &other.key, &hwk, body, 401, "invalid_signature"));
    free(body);
    dkey_free(&dk);
    dkey_free(&other);
    aa_ref_stop(s);
}

Test(ref_agent, signed_request_failures)
{
    struct aa_ref_server *s = start_default();
    struct aa_sign_cred jwks = {.scheme = AA_SIGKEY_JWKS,
                                .id = "http://127.0.0.1:1",
                                .kid = "delegate-key-1",
                                .well_known = "aauth-agent"};
    struct aa_http_headers h;
    struct dkey dk;
    char *body;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    /* Only hwk is accepted here: a jwks credential is a key error. */
    cJSON_Delete(post_signed(s, &dk.key, &jwks, body, 401, "invalid_key"));
    /* A lone Signature header is an incomplete signature, not "unsigned". */
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Signature", "sig1=:AAAA:"), AA_OK);
    cJSON_Delete(post_token(s, "application/json", body, &h, 401, "invalid_signature"));
    aa_http_headers_cleanup(&h);
    free(body);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, dg07_method_not_allowed)
{
    struct aa_ref_server *s = start_default();
    static const char *const methods[] = {"GET", "PUT", "DELETE", "PATCH"};
    struct aa_http_response r;
    cJSON *j;

    for (size_t i = 0; i < 4; i++) {
        send_req(s, methods[i], "/delegate/token", NULL, NULL, 0, NULL, &r);
        cr_assert_eq(r.status, 405, "%s -> %ld", methods[i], r.status);
        cr_assert_str_eq(aa_http_headers_get(&r.headers, "Allow"), "POST");
        j = json_of(&r);
        cr_assert_not_null(aa_json_str(j, "error"));
        cJSON_Delete(j);
        aa_http_response_cleanup(&r);
    }
    send_req(s, "POST", "/jwks.json", "application/json", "{}", 2, NULL, &r);
    cr_assert_eq(r.status, 405);
    cr_assert_str_eq(aa_http_headers_get(&r.headers, "Allow"), "GET, HEAD");
    aa_http_response_cleanup(&r);
    send_req(s, "DELETE", "/.well-known/aauth-agent", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 405);
    aa_http_response_cleanup(&r);
    /* 405 attempts still count as hits on the path. */
    cr_assert_eq(aa_ref_hits(s, "/delegate/token"), 4);
    aa_ref_stop(s);
}

Test(ref_agent, not_found_is_json)
{
    struct aa_ref_server *s = start_default();
    cJSON *j = get_json(s, "/nope", 404);

    cr_assert_not_null(aa_json_str(j, "error"));
    cJSON_Delete(j);
    /* Paths match byte-for-byte: no decoding, no trailing-slash folding. */
    cJSON_Delete(get_json(s, "/jwks.json/", 404));
    cJSON_Delete(get_json(s, "/%6Awks.json", 404));
    aa_ref_stop(s);
}

Test(ref_agent, rb02_body_too_large)
{
    struct aa_ref_server *s = start_default();
    struct aa_http_response r;
    size_t n = 1024 * 1024 + 1;
    char *big = malloc(n);

    cr_assert_not_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    send_req(s, "POST", "/delegate/token", "application/json", big, n, NULL, &r);
    cr_assert_eq(r.status, 413, "-> %ld", r.status);
    aa_http_response_cleanup(&r);
    /* Exactly 1 MiB of whitespace-padded JSON is read (and refused as such). */
    send_req(s, "POST", "/delegate/token", "application/json", big, n - 1, NULL, &r);
    cr_assert_eq(r.status, 400, "-> %ld", r.status);
    aa_http_response_cleanup(&r);
    free(big);
    aa_ref_stop(s);
}

/* ---- callback page ---------------------------------------------------------- */

Test(ref_agent, callback_page_escapes)
{
    struct aa_ref_server *s = start_default();
    struct aa_http_response r;

    send_req(s, "GET", "/callback?code=c0de-1&state=%3Cscript%3Ealert(1)%3C%2Fscript%3E", NULL,
             NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strncmp(aa_http_headers_get(&r.headers, "Content-Type"), "text/html", 9) == 0);
    cr_assert_not_null(strstr(r.body, "<dd id=\"code\">c0de-1</dd>"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"), "%s", r.body);
    cr_assert_null(strstr(r.body, "<script>"));
    aa_http_response_cleanup(&r);
    send_req(s, "GET", "/callback?error=access_denied&state=xyz", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "<dd id=\"error\">access_denied</dd>"));
    cr_assert_not_null(strstr(r.body, "<dd id=\"state\">xyz</dd>"));
    cr_assert_null(strstr(r.body, "id=\"code\""));
    aa_http_response_cleanup(&r);
    /* Control bytes and invalid UTF-8 never reach the page as such. */
    send_req(s, "GET", "/callback?state=a%00b%FFc", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "a\xef\xbf\xbd"
                                      "b\xef\xbf\xbd"
                                      "c"),
                       "%s", r.body);
    aa_http_response_cleanup(&r);
    aa_ref_stop(s);
}

/* ---- keys ------------------------------------------------------------------- */

static char *tmpdir_new(void)
{
    char tmpl[] = "/tmp/test_ref_agent.XXXXXX";
    char *dir = mkdtemp(tmpl);

    cr_assert_not_null(dir);
    return strdup(dir);
}

static char *path_in(const char *dir, const char *name)
{
    struct aa_buf b;

    aa_buf_init(&b, 4096);
    aa_buf_printf(&b, "%s/%s", dir, name);
    return aa_buf_detach(&b, NULL);
}

static char *fetch_jwks_text(const struct aa_ref_server *s)
{
    struct aa_http_response r;
    char *t;

    send_req(s, "GET", "/jwks.json", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 200);
    t = strdup(r.body);
    aa_http_response_cleanup(&r);
    return t;
}

Test(ref_agent, key_file_persists)
{
    char *dir = tmpdir_new(), *file = path_in(dir, "agent.jwk");
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s;
    struct stat st;
    char *j1, *j2;
    char t1[AA_JWK_THUMBPRINT_LEN + 1], t2[AA_JWK_THUMBPRINT_LEN + 1];

    aa_ref_agent_defaults(&cfg);
    cfg.c.key_file = file;
    cr_assert_neq(stat(file, &st), 0);
    s = start(&cfg);
    cr_assert_eq(stat(file, &st), 0, "key file not created");
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    j1 = fetch_jwks_text(s);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(s), t1), AA_OK);
    cr_assert_str_eq(aa_ref_key(s)->kid, AA_REF_AGENT_KID);
    aa_ref_stop(s);

    s = start(&cfg);
    j2 = fetch_jwks_text(s);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(s), t2), AA_OK);
    cr_assert_str_eq(t1, t2, "restart changed the key");
    cr_assert_str_eq(j1, j2, "restart changed the JWKS");
    aa_ref_stop(s);

    /* Without the file, a new key: the persistence came from the file. */
    cfg.c.key_file = NULL;
    s = start(&cfg);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(s), t2), AA_OK);
    cr_assert_str_neq(t1, t2);
    aa_ref_stop(s);

    /* An explicit kid replaces the file's. */
    cfg.c.key_file = file;
    cfg.c.kid = "agent-key-7";
    s = start(&cfg);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(s), t2), AA_OK);
    cr_assert_str_eq(t1, t2);
    cr_assert_str_eq(aa_ref_key(s)->kid, "agent-key-7");
    free(j2);
    j2 = fetch_jwks_text(s);
    cr_assert_not_null(strstr(j2, "\"kid\":\"agent-key-7\""));
    aa_ref_stop(s);

    unlink(file);
    rmdir(dir);
    free(j1);
    free(j2);
    free(file);
    free(dir);
}

Test(ref_agent, key_file_pem_and_bad_keys)
{
    char *dir = tmpdir_new();
    char *pem = path_in(dir, "agent.pem"), *pub = path_in(dir, "pub.pem"),
         *ec = path_in(dir, "ec.jwk"), *missing_dir = path_in(dir, "no/such/agent.jwk");
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s = NULL;
    struct aa_jwk k, eck;
    struct aa_buf b;
    struct aa_diag d;
    FILE *f;
    char want[AA_JWK_THUMBPRINT_LEN + 1], got[AA_JWK_THUMBPRINT_LEN + 1];

    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, NULL, &k), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&k, want), AA_OK);
    aa_buf_init(&b, 65536);
    cr_assert_eq(aa_jwk_to_pem(&k, true, &b), AA_OK);
    f = fopen(pem, "w");
    cr_assert_not_null(f);
    fwrite(b.p, 1, b.len, f);
    fclose(f);
    aa_buf_free(&b);
    /* PEM without a kid: the role default kid. */
    aa_ref_agent_defaults(&cfg);
    cfg.c.key_file = pem;
    s = start(&cfg);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(s), got), AA_OK);
    cr_assert_str_eq(got, want);
    cr_assert_str_eq(aa_ref_key(s)->kid, AA_REF_AGENT_KID);
    aa_ref_stop(s);
    s = NULL;

    /* A public key only: refused. */
    aa_buf_init(&b, 65536);
    cr_assert_eq(aa_jwk_to_pem(&k, false, &b), AA_OK);
    f = fopen(pub, "w");
    fwrite(b.p, 1, b.len, f);
    fclose(f);
    aa_buf_free(&b);
    cfg.c.key_file = pub;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&cfg, &s, &d), AA_E_UNSUPPORTED, "%s", d.msg);
    cr_assert_null(s);

    /* Not Ed25519 (D-12): refused. */
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, "ec", &eck), AA_OK);
    cr_assert_eq(aa_jwk_save_file(&eck, ec), AA_OK);
    cfg.c.key_file = ec;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&cfg, &s, &d), AA_E_UNSUPPORTED, "%s", d.msg);
    cr_assert_null(s);

    /* A key file that cannot be created: I/O error naming the file. */
    cfg.c.key_file = missing_dir;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&cfg, &s, &d), AA_E_IO, "%s", d.msg);
    cr_assert_not_null(strstr(d.msg, "no/such/agent.jwk"), "%s", d.msg);

    /* An explicit key wins over the file (which is then never created). */
    cfg.c.key = &k;
    cfg.c.key_file = missing_dir;
    s = start(&cfg);
    cr_assert_eq(aa_jwk_thumbprint(aa_ref_key(s), got), AA_OK);
    cr_assert_str_eq(got, want);
    aa_ref_stop(s);

    unlink(pem);
    unlink(pub);
    unlink(ec);
    rmdir(dir);
    aa_jwk_cleanup(&k);
    aa_jwk_cleanup(&eck);
    free(pem);
    free(pub);
    free(ec);
    free(missing_dir);
    free(dir);
}

/* ---- logs and transcripts --------------------------------------------------- */

Test(ref_agent, log_lines_and_transcripts_with_alias)
{
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s;
    struct aa_http_response r;
    struct dkey dk;
    char *logbuf = NULL, *body, *id;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    cJSON *ans;

    cr_assert_not_null(log);
    aa_ref_agent_defaults(&cfg);
    cfg.c.verbosity = 2;
    cfg.c.log = log;
    cfg.c.display_alias = AA_REF_AGENT_ALIAS;
    s = start(&cfg);
    id = strdup(aa_ref_id(s));
    /* The wire carries the real identifier (D-3). */
    send_req(s, "GET", "/.well-known/aauth-agent", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, id));
    cr_assert_null(strstr(r.body, AA_REF_AGENT_ALIAS));
    aa_http_response_cleanup(&r);
    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    cJSON_Delete(ans);
    aa_ref_stop(s); /* every hook has run once this returns */
    fclose(log);

    cr_assert_not_null(strstr(logbuf, "agent server  GET /.well-known/aauth-agent 200 "), "%s",
                       logbuf);
    cr_assert_not_null(strstr(logbuf, "agent server  POST /delegate/token 200 "));
    cr_assert_not_null(strstr(logbuf, ">>> AGENT SERVER REQUEST received (delegate token)"));
    cr_assert_not_null(strstr(logbuf, ">>> AGENT SERVER REQUEST received (metadata)"));
    cr_assert_not_null(strstr(logbuf, "<<< AGENT SERVER RESPONSE"));
    cr_assert_not_null(strstr(logbuf, "POST /delegate/token HTTP/1.1"));
    cr_assert_not_null(strstr(logbuf, "[Body ("));
    /* The transcript shows the alias instead of the id. */
    cr_assert_not_null(strstr(logbuf, AA_REF_AGENT_ALIAS "/jwks.json"), "%s", logbuf);
    cr_assert_null(strstr(logbuf, "\"agent\":\"http://127.0.0.1:"), "%s", logbuf);
    free(logbuf);
    free(body);
    free(id);
    dkey_free(&dk);
}

Test(ref_agent, quiet_and_one_line)
{
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s;
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);

    aa_ref_agent_defaults(&cfg);
    cfg.c.verbosity = 1;
    cfg.c.log = log;
    s = start(&cfg);
    cJSON_Delete(get_json(s, "/jwks.json", 200));
    cJSON_Delete(get_json(s, "/nope", 404));
    aa_ref_stop(s);
    fclose(log);
    cr_assert_not_null(strstr(logbuf, "agent server  GET /jwks.json 200 "));
    cr_assert_not_null(strstr(logbuf, "agent server  GET /nope 404 "));
    cr_assert_null(strstr(logbuf, ">>>"), "no transcript at verbosity 1");
    free(logbuf);

    logbuf = NULL;
    log = open_memstream(&logbuf, &loglen);
    cfg.c.verbosity = 0;
    cfg.c.log = log;
    s = start(&cfg);
    cJSON_Delete(get_json(s, "/jwks.json", 200));
    aa_ref_stop(s);
    fclose(log);
    cr_assert_eq(loglen, 0, "quiet mode wrote: %s", logbuf);
    free(logbuf);
}

/* ---- fault switches --------------------------------------------------------- */

static struct aa_ref_server *start_fault(unsigned faults)
{
    struct aa_ref_agent_config cfg;

    aa_ref_agent_defaults(&cfg);
    cfg.c.faults = faults;
    return start(&cfg);
}

Test(ref_agent, fault_accept_private_cnf)
{
    struct aa_ref_server *s = start_fault(AA_REF_FAULT_ACCEPT_PRIVATE_CNF);
    struct dkey dk;
    struct aa_jwt t;
    char *priv, *body;
    cJSON *ans;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    priv = private_jwk_json(&dk.key);
    body = body_with("\"delegate-1\"", priv, NULL);
    ans = post_token(s, "application/json", body, NULL, 200, NULL); /* DG-03 broken */
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    cr_assert_not_null(aa_json_str(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t.claims, "cnf"), "jwk"),
        "d"));
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);
    free(priv);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, fault_wrong_typ_and_exp)
{
    struct aa_ref_server *s =
        start_fault(AA_REF_FAULT_WRONG_TYP | AA_REF_FAULT_EXP_BEYOND_EXPIRES_IN);
    struct dkey dk;
    struct aa_jwt t;
    char *body;
    cJSON *ans;
    int64_t ei;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    cr_assert_str_eq(t.typ, "JWT");
    cr_assert_neq(aa_jwt_check_typ(&t, "agent+jwt", NULL), AA_OK);
    cr_assert(aa_json_int(ans, "expires_in", &ei));
    cr_assert_gt(claim_int(&t, "exp") - claim_int(&t, "iat"), ei + 60);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, fault_cnf_mismatch)
{
    struct aa_ref_server *s = start_fault(AA_REF_FAULT_CNF_MISMATCH);
    struct dkey dk;
    struct aa_jwt t;
    struct aa_jwk cnf;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char *body;
    cJSON *ans;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    ans = post_token(s, "application/json", body, NULL, 200, NULL);
    verify_token(s, aa_json_str(ans, "agent_token"), &t);
    cr_assert_eq(aa_jwt_cnf_jwk(&t, &cnf, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&cnf, jkt), AA_OK);
    cr_assert_str_neq(jkt, dk.jkt);
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&t);
    cJSON_Delete(ans);
    free(body);
    dkey_free(&dk);
    aa_ref_stop(s);
}

Test(ref_agent, fault_ignore_hwk_binding)
{
    struct aa_ref_server *s = start_fault(AA_REF_FAULT_IGNORE_HWK_BINDING);
    struct aa_sign_cred hwk = {.scheme = AA_SIGKEY_HWK};
    struct dkey dk, other;
    char *body;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    dkey_new(&other, AA_KTY_OKP, "other");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    cJSON_Delete(post_signed(s, &other.key, &hwk, body, 200, NULL)); /* DG-06 broken */
    free(body);
    dkey_free(&dk);
    dkey_free(&other);
    aa_ref_stop(s);
}

Test(ref_agent, fault_metadata_and_jwks)
{
    struct aa_ref_server *s =
        start_fault(AA_REF_FAULT_METADATA_ID_MISMATCH | AA_REF_FAULT_JWKS_PRIVATE);
    cJSON *m = get_json(s, "/.well-known/aauth-agent", 200);
    char *jwks = fetch_jwks_text(s);
    struct aa_jwks set;

    cr_assert_str_neq(aa_json_str(m, "agent"), aa_ref_id(s)); /* MD-01 broken */
    cr_assert_eq(aa_jwks_parse(jwks, strlen(jwks), &set, NULL), AA_E_JWK_PRIVATE); /* MD-02 */
    cJSON_Delete(m);
    free(jwks);
    aa_ref_stop(s);
}

/* ---- fault table -------------------------------------------------------------- */

static bool check_id_ok(const char *id, size_t n)
{
    size_t dots = 0;

    if (n == 0 || id[0] == '.' || id[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (c == '.') {
            if (id[i - 1] == '.')
                return false;
            dots++;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return dots == 2;
}

Test(ref_faults, table_well_formed)
{
    unsigned seen = 0;

    cr_assert_gt(aa_ref_n_faults, 0);
    for (size_t i = 0; i < aa_ref_n_faults; i++) {
        const struct aa_ref_fault_info *f = &aa_ref_faults[i];
        const char *p;
        cr_assert(f->bit != 0 && (f->bit & (f->bit - 1)) == 0, "%s: not one bit", f->name);
        cr_assert_eq(seen & f->bit, 0, "%s: bit reused", f->name);
        seen |= f->bit;
        cr_assert(f->name && f->name[0] && f->roles && f->roles[0] && f->breaks && f->breaks[0] &&
                  f->failing_checks && f->failing_checks[0]);
        cr_assert_eq(aa_ref_fault_find(f->bit), f);
        for (size_t k = 0; k < i; k++)
            cr_assert_str_neq(aa_ref_faults[k].name, f->name);
        /* Check ids: "<suite>.<topic>.<check>", comma-separated. */
        p = f->failing_checks;
        for (;;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            cr_assert(check_id_ok(p, n), "%s: bad check id \"%.*s\"", f->name, (int)n, p);
            if (e == NULL)
                break;
            p = e + 1;
        }
        /* Roles are from the --roles vocabulary. */
        p = f->roles;
        for (;;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            cr_assert((n == 5 && strncmp(p, "agent", 5) == 0) ||
                          (n == 8 && strncmp(p, "resource", 8) == 0) ||
                          (n == 4 && strncmp(p, "auth", 4) == 0),
                      "%s: role \"%.*s\"", f->name, (int)n, p);
            if (e == NULL)
                break;
            p = e + 1;
        }
    }
    cr_assert_null(aa_ref_fault_find(0));
    cr_assert_null(aa_ref_fault_find(3));
}

Test(ref_faults, parse)
{
    unsigned bits = 77;
    struct aa_diag d;

    cr_assert_eq(aa_ref_faults_parse("accept-private-cnf", &bits, NULL), AA_OK);
    cr_assert_eq(bits, AA_REF_FAULT_ACCEPT_PRIVATE_CNF);
    cr_assert_eq(aa_ref_faults_parse("wrong-typ,skip-replay,wrong-typ", &bits, NULL), AA_OK);
    cr_assert_eq(bits, AA_REF_FAULT_WRONG_TYP | AA_REF_FAULT_SKIP_REPLAY);
    bits = 77;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_faults_parse("wrong-typ,bogus", &bits, &d), AA_E_NOTFOUND);
    cr_assert_not_null(strstr(d.msg, "bogus"), "%s", d.msg);
    cr_assert_eq(bits, 77, "output written on failure");
    cr_assert_eq(aa_ref_faults_parse("wrong-typ,,skip-replay", &bits, NULL), AA_E_SYNTAX);
    cr_assert_eq(aa_ref_faults_parse("", &bits, NULL), AA_E_SYNTAX);
    cr_assert_eq(aa_ref_faults_parse("wrong-typ,", &bits, NULL), AA_E_SYNTAX);
    cr_assert_eq(aa_ref_faults_parse("Wrong-Typ", &bits, NULL), AA_E_NOTFOUND);
    cr_assert_eq(aa_ref_faults_parse("wrong-ty", &bits, NULL), AA_E_NOTFOUND);
    cr_assert_eq(bits, 77);
}

/* ---- pending roles ------------------------------------------------------------ */

Test(ref_agent, role_names)
{
    cr_assert_str_eq(aa_ref_role_name(AA_REF_AGENT), "agent");
    cr_assert_str_eq(aa_ref_role_name(AA_REF_RESOURCE), "resource");
    cr_assert_str_eq(aa_ref_role_name(AA_REF_AUTH), "auth");
}

/* ---- more /delegate/token signature cases ----------------------------------- */

Test(ref_agent, signed_replay_and_nonce_required)
{
    struct aa_ref_server *s = start_default();
    struct aa_sign_cred hwk = {.scheme = AA_SIGKEY_HWK};
    struct aa_sign_opts so;
    struct aa_http_headers h;
    struct aa_sign_request sr;
    struct aa_signed sg;
    struct dkey dk;
    char *url = url_of(s, AA_REF_PATH_DELEGATE_TOKEN), *body;

    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", "application/json"), AA_OK);
    memset(&sr, 0, sizeof(sr));
    sr.method = "POST";
    sr.url = url;
    sr.headers = &h;
    sr.body = body;
    sr.body_len = strlen(body);
    /* One signed request sent twice: the second is a replay (PROFILE#2.9). */
    cr_assert_eq(aa_aauth_sign(NULL, &sr, &dk.key, &hwk, NULL, &sg, NULL), AA_OK);
    cr_assert_not_null(sg.nonce);
    cJSON_Delete(post_token(s, "application/json", body, &sg.headers, 200, NULL));
    cJSON_Delete(post_token(s, "application/json", body, &sg.headers, 401, "replay_detected"));
    aa_signed_cleanup(&sg);
    /* D-10: a signed POST without a Nonce is refused. */
    memset(&so, 0, sizeof(so));
    so.nonce_mode = AA_SIGN_NONCE_NONE;
    cr_assert_eq(aa_aauth_sign(NULL, &sr, &dk.key, &hwk, &so, &sg, NULL), AA_OK);
    cJSON_Delete(post_token(s, "application/json", body, &sg.headers, 401, "invalid_signature"));
    aa_signed_cleanup(&sg);
    aa_http_headers_cleanup(&h);
    free(body);
    free(url);
    dkey_free(&dk);
    aa_ref_stop(s);
}

/* ---- listening ---------------------------------------------------------------- */

Test(ref_agent, port_in_use)
{
    struct aa_ref_server *a = start_default(), *b = NULL;
    struct aa_ref_agent_config cfg;
    struct aa_diag d;

    aa_ref_agent_defaults(&cfg);
    cfg.c.port = aa_ref_port(a);
    cr_assert_neq(cfg.c.port, 0);
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&cfg, &b, &d), AA_E_SERVER_START, "%s", d.msg);
    cr_assert_null(b);
    cr_assert_not_null(strstr(d.msg, "agent server"), "%s", d.msg);
    aa_ref_stop(a);
}

/* A non-loopback address of this host, or "" when there is none. */
static void local_ip(char *out, size_t cap)
{
    struct ifaddrs *ifs, *i;

    out[0] = '\0';
    if (getifaddrs(&ifs) != 0)
        return;
    for (i = ifs; i != NULL; i = i->ifa_next) {
        struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
        if (sin == NULL || sin->sin_family != AF_INET)
            continue;
        if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127)
            continue;
        inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)cap);
        break;
    }
    freeifaddrs(ifs);
}

Test(ref_agent, remote_delegates_refused_unless_allowed)
{
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *s;
    struct aa_http_client *c;
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response r;
    struct dkey dk;
    char ip[64], url[128], *body;
    cJSON *j;

    local_ip(ip, sizeof(ip));
    if (ip[0] == '\0')
        cr_skip_test("no non-loopback IPv4 address on this host");
    dkey_new(&dk, AA_KTY_OKP, "delegate-key-1");
    body = body_with("\"delegate-1\"", dk.pub_json, NULL);
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Content-Type", "application/json"), AA_OK);
    for (int allow = 0; allow < 2; allow++) {
        aa_ref_agent_defaults(&cfg);
        cfg.c.bind_addr = ip;
        cfg.c.id = "https://agent.example"; /* http on a LAN address is no identifier */
        cfg.c.allow_dev_remote = true;       /* a LAN bind in dev mode (docs/security.md) */
        cfg.allow_remote_delegates = allow == 1;
        s = start(&cfg);
        snprintf(url, sizeof(url), "http://%s:%u/delegate/token", ip, (unsigned)aa_ref_port(s));
        c = aa_http_client_new(NULL);
        memset(&rq, 0, sizeof(rq));
        rq.method = "POST";
        rq.url = url;
        rq.headers = &h;
        rq.body = body;
        rq.body_len = strlen(body);
        aa_http_response_init(&r);
        cr_assert_eq(aa_http_send(c, &rq, &r, NULL), AA_OK);
        if (allow) {
            cr_assert_eq(r.status, 200, "%s", r.body);
        } else {
            cr_assert_eq(r.status, 403, "%s", r.body);
            j = json_of(&r);
            cr_assert_str_eq(aa_json_str(j, "error"), "access_denied");
            cJSON_Delete(j);
        }
        aa_http_response_cleanup(&r);
        aa_http_client_free(c);
        aa_ref_stop(s);
    }
    aa_http_headers_cleanup(&h);
    free(body);
    dkey_free(&dk);
}

/* ---- the plumbing role modules build on (ref_int.h) --------------------------- */

static void h_echo(struct aa_ref_server *s, const struct aa_server_request *req,
                   struct aa_server_response *resp)
{
    cJSON *body = NULL, *o;

    (void)s;
    if (strcmp(req->method, "POST") == 0) {
        if (ref_json_body(req, resp, "PROFILE#6", &body) != AA_OK)
            return;
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "got", body);
        ref_send_token(resp, o);
        cJSON_Delete(o);
        return;
    }
    ref_send_error(resp, 418, "teapot", REF_NO_STORE, "method %s n=%d", req->method, 7);
}

static void h_form(struct aa_ref_server *s, const struct aa_server_request *req,
                   struct aa_server_response *resp)
{
    struct aa_form f;

    (void)s;
    aa_form_init(&f);
    if (ref_form_body(req, resp, &f) == AA_OK)
        ref_send_json_text(resp, 200, aa_form_get(&f, "a") ? "{\"a\":true}" : "{}", 0);
    aa_form_cleanup(&f);
}

static void h_jwt(struct aa_ref_server *s, const struct aa_server_request *req,
                  struct aa_server_response *resp)
{
    cJSON *claims = cJSON_CreateObject(), *o = cJSON_CreateObject();
    char *tok = NULL;

    (void)req;
    cJSON_AddStringToObject(claims, "iss", s->id);
    cr_assert_eq(ref_sign_jwt(s, "resource+jwt", claims, &tok), AA_OK);
    cJSON_AddStringToObject(o, "token", tok);
    ref_send_json(resp, 200, o, 0);
    free(tok);
    cJSON_Delete(o);
    cJSON_Delete(claims);
}

static void h_keys(struct aa_ref_server *s, const struct aa_server_request *req,
                   struct aa_server_response *resp)
{
    (void)req;
    ref_send_jwks(s, resp);
}

static struct aa_ref_server *start_custom(unsigned faults)
{
    struct aa_ref_common c;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    memset(&c, 0, sizeof(c));
    c.faults = faults;
    aa_diag_clear(&d);
    cr_assert_eq(ref_server_new(AA_REF_RESOURCE, &c, &s, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(ref_server_route(s, "GET", "/x", h_echo, NULL), AA_OK);
    cr_assert_eq(ref_server_route(s, "POST", "/x", h_echo, NULL), AA_OK);
    cr_assert_eq(ref_server_route(s, "POST", "/form", h_form, NULL), AA_OK);
    cr_assert_eq(ref_server_route(s, "GET", "/jwt", h_jwt, NULL), AA_OK);
    cr_assert_eq(ref_server_route(s, "GET", AA_REF_PATH_JWKS, h_keys, NULL), AA_OK);
    cr_assert_eq(ref_server_route(s, "GET", "relative", h_jwt, NULL), AA_E_INVAL);
    cr_assert_eq(ref_server_listen(s, &d), AA_OK, "%s", d.msg);
    ref_server_ready(s);
    return s;
}

Test(ref_common, routes_errors_and_bodies)
{
    struct aa_ref_server *s = start_custom(0);
    struct aa_http_response r;
    cJSON *j;

    /* The role's default kid and identity come from ref_server_new. */
    cr_assert_str_eq(aa_ref_key(s)->kid, AA_REF_RESOURCE_KID);
    cr_assert_eq(aa_ref_role_of(s), AA_REF_RESOURCE);
    send_req(s, "PUT", "/x", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 405);
    cr_assert_str_eq(aa_http_headers_get(&r.headers, "Allow"), "GET, HEAD, POST");
    aa_http_response_cleanup(&r);
    send_req(s, "GET", "/x", NULL, NULL, 0, NULL, &r);
    cr_assert_eq(r.status, 418);
    cr_assert_str_eq(aa_http_headers_get(&r.headers, "Cache-Control"), "no-store");
    j = json_of(&r);
    cr_assert_str_eq(aa_json_str(j, "error"), "teapot");
    cr_assert_str_eq(aa_json_str(j, "error_description"), "method GET n=7");
    cJSON_Delete(j);
    aa_http_response_cleanup(&r);
    send_req(s, "POST", "/x", "application/json", "{\"k\":[1,2]}", 11, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "{\"got\":{\"k\":[1,2]}}");
    cr_assert_str_eq(aa_http_headers_get(&r.headers, "Cache-Control"), "no-store");
    aa_http_response_cleanup(&r);
    send_req(s, "POST", "/x", "application/json", "{\"k\":1,\"k\":2}", 13, NULL, &r);
    cr_assert_eq(r.status, 400);
    aa_http_response_cleanup(&r);
    /* Forms: the right type, a repeated parameter, the wrong type. */
    send_req(s, "POST", "/form", "application/x-www-form-urlencoded", "a=1&b=2", 7, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "{\"a\":true}");
    aa_http_response_cleanup(&r);
    send_req(s, "POST", "/form", "application/x-www-form-urlencoded", "a=1&a=2", 7, NULL, &r);
    cr_assert_eq(r.status, 400);
    j = json_of(&r);
    cr_assert_str_eq(aa_json_str(j, "error"), "invalid_request");
    cJSON_Delete(j);
    aa_http_response_cleanup(&r);
    send_req(s, "POST", "/form", "application/json", "{}", 2, NULL, &r);
    cr_assert_eq(r.status, 400);
    aa_http_response_cleanup(&r);
    cr_assert_eq(aa_ref_hits(s, "/x"), 4);
    cr_assert_eq(aa_ref_hits(s, "/form"), 3);
    aa_ref_stop(s);
}

Test(ref_common, sign_jwt_and_faults)
{
    for (int pass = 0; pass < 2; pass++) {
        struct aa_ref_server *s = start_custom(pass ? AA_REF_FAULT_WRONG_TYP : 0);
        cJSON *j = get_json(s, "/jwt", 200);
        struct aa_jwt t;

        verify_token(s, aa_json_str(j, "token"), &t);
        cr_assert_str_eq(t.typ, pass ? "JWT" : "resource+jwt");
        cr_assert_str_eq(t.kid, AA_REF_RESOURCE_KID);
        cr_assert_str_eq(aa_jwt_claim_str(&t, "iss"), aa_ref_id(s));
        aa_jwt_cleanup(&t);
        cJSON_Delete(j);
        aa_ref_stop(s);
    }
    cr_assert_eq(ref_verifier_faults(0), 0u);
    cr_assert_eq(ref_verifier_faults(AA_REF_FAULT_SKIP_REPLAY | AA_REF_FAULT_WRONG_TYP),
                 AA_FAULT_SKIP_REPLAY);
    cr_assert_eq(ref_verifier_faults(AA_REF_FAULT_ACCEPT_EXPIRED | AA_REF_FAULT_SKIP_TYP),
                 AA_FAULT_ACCEPT_EXPIRED_TOKEN | AA_FAULT_SKIP_TYP);
}

Test(ref_common, default_id)
{
    char b[64];

    cr_assert_eq(aa_ref_default_id(NULL, 8001, b, sizeof(b)), AA_OK);
    cr_assert_str_eq(b, "http://127.0.0.1:8001");
    cr_assert_eq(aa_ref_default_id("0.0.0.0", 1, b, sizeof(b)), AA_OK);
    cr_assert_str_eq(b, "http://127.0.0.1:1");
    cr_assert_eq(aa_ref_default_id("::", 8002, b, sizeof(b)), AA_OK);
    cr_assert_str_eq(b, "http://[::1]:8002");
    cr_assert_eq(aa_ref_default_id("::1", 8003, b, sizeof(b)), AA_OK);
    cr_assert_str_eq(b, "http://[::1]:8003");
    cr_assert_eq(aa_ref_default_id("10.0.0.1", 8003, b, 10), AA_E_LIMIT);
}

Test(ref_common, explicit_authority)
{
    struct aa_ref_common c;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    memset(&c, 0, sizeof(c));
    c.id = "https://r.example";
    cr_assert_eq(ref_server_new(AA_REF_RESOURCE, &c, &s, NULL), AA_OK);
    cr_assert_str_eq(s->authority, "r.example");
    aa_ref_stop(s);
    c.authority = "r.example:8443";
    cr_assert_eq(ref_server_new(AA_REF_RESOURCE, &c, &s, NULL), AA_OK);
    cr_assert_str_eq(s->authority, "r.example:8443");
    aa_ref_stop(s);
    c.authority = "R.example";
    aa_diag_clear(&d);
    cr_assert_eq(ref_server_new(AA_REF_RESOURCE, &c, &s, &d), AA_E_INVAL);
    cr_assert_str_eq(d.ref, "PROFILE#2.5");
    aa_ref_stop(s); /* a failed ref_server_new leaves |s| for aa_ref_stop */
}
