/*
 * neg-agent: the agent server refuses bad POST /delegate/token requests
 * (PROFILE#6.1, D-4, catalogue DG-01..07), publishes sound metadata and
 * JWKS (PROFILE#3, MD-01/02), keeps the size limits (D-24, RB-01/02), and
 * what it sends with an agent token meets PROFILE#6.1 beyond the F6 TEST 1
 * checks of the delegation suite (neg-agent.issued.*: content type, aud
 * echoed, iat).
 *
 * Each refusal changes one thing in the valid request
 *   {"sub":"delegate-1","cnf_jwk":{"kty":"OKP","crv":"Ed25519","x":...,"kid":...}}
 * which must itself be answered 200 (neg-agent.dg.valid-accepted), or the
 * refusals could not be told apart from an endpoint that refuses all.
 * /delegate/token is the project's own contract (D-4): the DG checks are
 * gated on the "delegate-token" feature (declared by the embedded
 * reference; --declare agent-server=delegate-token for a target).
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "md_common.h"
#include "neg_auth_util.h"

#define DG(name, slug, title_, expect_)                                                            \
    AA_CHECK(name, .id = "neg-agent.dg." slug, .suite = "neg-agent", .title = title_,              \
             .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.1",          \
             .rfc = NULL, .expect = expect_)
#define E400 "400 invalid_request"

DG(dg_ok, "valid-accepted", "POST /delegate/token with sub and an Ed25519 cnf_jwk (baseline)",
   "200 {\"agent_token\",\"expires_in\"}");
DG(dg_sub_max, "sub-255-accepted", "sub of exactly 255 characters (the upper bound)",
   "200, the token's sub equal to the one sent");
DG(dg_sub_missing, "sub-missing", "DG-01 no sub", E400);
DG(dg_sub_empty, "sub-empty", "DG-01 sub \"\"", E400);
DG(dg_sub_type, "sub-not-string", "DG-01 sub 42 (a number)", E400);
DG(dg_sub_long, "sub-too-long", "DG-01 sub of 256 characters", E400);
DG(dg_cnf_missing, "cnf-missing", "DG-02 no cnf_jwk", E400);
DG(dg_private, "private-cnf", "DG-03 cnf_jwk carrying the private member d", E400);
DG(dg_x25519, "kty-x25519", "DG-04 cnf_jwk OKP with crv X25519", E400);
DG(dg_p256, "kty-ec-p256", "DG-04 cnf_jwk EC P-256 (the profile requires Ed25519, D-12)", E400);
DG(dg_rsa, "kty-rsa", "DG-04 cnf_jwk RSA (RFC 7517 A.1 key)", E400);
DG(dg_not_json, "not-json", "DG-05 a body that is not JSON, sent as application/json", E400);
DG(dg_not_object, "not-object", "DG-05 a JSON array instead of an object", E400);
DG(dg_ctype, "wrong-content-type",
   "DG-05 the valid JSON sent as text/plain, and as a form content type", E400);
DG(dg_dup, "duplicate-member", "DG-05 a body with sub twice", "400 invalid_request (D-29)");
DG(dg_hwk_ok, "hwk-accepted", "DG-06 control: signed with scheme=hwk by the cnf_jwk key",
   "200 (PROFILE#6.1: the delegate MAY sign with hwk)");
DG(dg_hwk_bad, "hwk-mismatch", "DG-06 signed with scheme=hwk by a key other than cnf_jwk",
   "401 invalid_signature");
DG(dg_get, "method-get", "DG-07 GET /delegate/token", "405");

#define MD(name, slug, title_, expect_)                                                            \
    AA_CHECK(name, .id = "neg-agent.md." slug, .suite = "neg-agent", .title = title_,              \
             .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#3",            \
             .rfc = NULL, .expect = expect_)

MD(md_doc, "document", "MD-01 GET {agent}/.well-known/aauth-agent",
   "200, application/json, one JSON object without duplicate members");
MD(md_id, "id-mismatch", "MD-01 agent metadata \"agent\" member",
   "equals the origin the document was fetched from (D-13)");
MD(md_required, "required-members", "MD-01 agent metadata jwks_uri",
   "an https URL (http only on loopback in dev mode)");
MD(md_user, "user-authorization-members",
   "MD-01 redirect_uris, name, logo_uri, policy_uri, tos_uri, homepage (user authorization)",
   "all present; redirect_uris a non-empty array of URLs");
MD(md_jwks, "jwks-document", "MD-02 GET the agent's jwks_uri",
   "200, application/json or application/jwk-set+json, {\"keys\":[...]} of valid keys");
MD(md_jwks_priv, "jwks-private", "MD-02 agent JWKS holds public keys only",
   "no d, p, q, dp, dq, qi, k or oth");
MD(md_jwks_kid, "jwks-kid-unique", "MD-02 agent JWKS kid values",
   "every key has a non-empty kid; no kid repeats (D-14)");

AA_CHECK(rb_hdr, .id = "neg-agent.rb.header-too-large", .suite = "neg-agent",
         .title = "RB-01 a 17 KiB header field to /delegate/token", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#9", .rfc = NULL,
         .expect = "431 (400 accepted) (D-24)");
AA_CHECK(rb_body, .id = "neg-agent.rb.body-too-large", .suite = "neg-agent",
         .title = "RB-02 a JSON body of 1 MiB + 1 byte to /delegate/token",
         .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#9", .rfc = NULL,
         .expect = "413 (D-24)");

AA_CHECK(is_ctype, .id = "neg-agent.issued.content-type", .suite = "neg-agent",
         .title = "the 200 answer of /delegate/token is JSON", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6", .rfc = "RFC8259#11",
         .expect = "Content-Type application/json (D-25)");
AA_CHECK(is_aud, .id = "neg-agent.issued.aud", .suite = "neg-agent",
         .title = "an agent token requested with \"aud\"", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.1", .rfc = "RFC7519#4.1.3",
         .expect = "the token's aud equals the aud requested");
AA_CHECK(is_iat, .id = "neg-agent.issued.iat", .suite = "neg-agent",
         .title = "the agent token's iat", .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_SHOULD,
         .spec = "PROFILE#4.2", .rfc = "RFC7519#4.1.6",
         .expect = "an integer iat within 60 s of now (issuers SHOULD include it)");

/* ---- helpers ----------------------------------------------------------------------- */

/* RFC 7517 Appendix A.1 public keys (valid, not Ed25519). */
#define RFC7517_EC                                                                                 \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","     \
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\",\"kid\":\"ec-1\"}"
#define RFC7517_RSA                                                                                \
    "{\"kty\":\"RSA\",\"n\":"                                                                      \
    "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK"                      \
    "7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4Q" \
    "yQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrd" \
    "kt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"," \
    "\"e\":\"AQAB\",\"kid\":\"rsa-1\"}"

struct ag {
    const struct aa_conf_target *t;
    struct aa_buf url; /* {agent}/delegate/token */
    struct aa_jwk key; /* the delegate key of the valid request */
    char *jwk;         /* its public JWK (JSON text, kid included) */
    char *jwk_priv;    /* the same with d */
};

static void ag_cleanup(struct ag *a)
{
    aa_buf_free(&a->url);
    aa_jwk_cleanup(&a->key);
    free(a->jwk);
    if (a->jwk_priv != NULL) {
        aa_cleanse(a->jwk_priv, strlen(a->jwk_priv));
        free(a->jwk_priv);
    }
}

static bool ag_init(struct ag *a)
{
    struct aa_buf j, p;
    bool ok;

    memset(a, 0, sizeof(*a));
    a->t = aa_conf_target(AA_ROLE_AGENT_SERVER);
    aa_buf_init(&a->url, 8192);
    aa_buf_init(&j, 4096);
    aa_buf_init(&p, 4096);
    aa_buf_printf(&a->url, "%s/delegate/token", a->t->connect_url ? a->t->connect_url : "");
    ok = aa_jwk_generate(AA_KTY_OKP, "delegate-key-1", &a->key) == AA_OK &&
         aa_jwk_to_json(&a->key, false, &j) == AA_OK &&
         aa_jwk_to_json(&a->key, true, &p) == AA_OK && a->url.err == AA_OK;
    a->jwk = ok ? aa_buf_detach(&j, NULL) : NULL;
    a->jwk_priv = ok ? aa_buf_detach(&p, NULL) : NULL;
    aa_buf_free(&j);
    aa_buf_free(&p);
    if (!ok || a->jwk == NULL || a->jwk_priv == NULL) {
        ag_cleanup(a);
        na_error_rest("cannot prepare the delegate key");
        return false;
    }
    return true;
}

/* {"sub":<sub JSON>,"cnf_jwk":<jwk>} with either member left out when NULL. */
static char *dg_body(const char *sub_json, const char *jwk, const char *extra)
{
    struct aa_buf b;

    aa_buf_init(&b, 2 * 1024 * 1024);
    aa_buf_addc(&b, '{');
    if (sub_json != NULL)
        aa_buf_printf(&b, "\"sub\":%s", sub_json);
    if (jwk != NULL)
        aa_buf_printf(&b, "%s\"cnf_jwk\":%s", sub_json ? "," : "", jwk);
    if (extra != NULL)
        aa_buf_printf(&b, ",%s", extra);
    aa_buf_addc(&b, '}');
    return aa_buf_detach(&b, NULL);
}

/* POST |body| to /delegate/token, optionally hwk-signed by |key|. */
static bool dg_send(struct ag *a, const struct aa_check *c, const char *what, const char *body,
                    const char *ctype, const struct aa_jwk *hwk_decl, const struct aa_jwk *key,
                    long status, long alt, const char *error, struct aa_http_response *out)
{
    struct aa_http_response own, *resp = out != NULL ? out : &own;
    struct aa_sign_cred cred;
    struct aa_diag d;
    struct na_req r;
    char *hwk = NULL;
    bool ok;
    int rc;

    aa_http_response_init(&own);
    aa_diag_clear(&d);
    memset(&r, 0, sizeof(r));
    if (body == NULL) {
        aa_check_error(c, "%s: out of memory", what);
        return false;
    }
    na_step("%s", what);
    r.url = a->url.p;
    r.content_type = ctype != NULL ? ctype : NA_JSON_CT;
    r.body = body;
    r.body_len = strlen(body);
    if (key != NULL) {
        if ((hwk = na_hwk_value(hwk_decl != NULL ? hwk_decl : key)) == NULL) {
            aa_check_error(c, "%s: cannot build the hwk credential", what);
            return false;
        }
        cred = na_cred_raw(hwk);
        r.key = key;
        r.cred = &cred;
    }
    rc = na_send("DELEGATE", &r, resp, NULL, &d);
    if (rc != AA_OK && !aa_http_err_is_transport(rc)) {
        aa_check_fault(c, what, rc, &d);
        ok = false;
    } else {
        ok = na_expect(c, what, rc, &d, resp, status, alt, error, NULL);
    }
    free(hwk);
    aa_http_response_cleanup(&own);
    return ok;
}

/* The agent_token of a 200 answer, its claims parsed (not verified: the
 * delegation suite verifies the signature). */
static bool token_claims(const struct aa_http_response *resp, struct aa_jwt *j)
{
    cJSON *doc = NULL;
    const char *tok;
    bool ok = false;

    memset(j, 0, sizeof(*j));
    if (aa_json_parse(resp->body, resp->body_len, NULL, &doc, NULL) == AA_OK &&
        (tok = aa_json_str(doc, "agent_token")) != NULL)
        ok = aa_jwt_parse(tok, strlen(tok), j, NULL) == AA_OK;
    cJSON_Delete(doc);
    return ok;
}

static bool jwk_valid(const char *json)
{
    struct aa_jwk k;
    bool ok = aa_jwk_parse(json, strlen(json), AA_JWK_PUBLIC_ONLY, &k, NULL) == AA_OK;

    if (ok)
        aa_jwk_cleanup(&k);
    return ok;
}

static bool gate(void)
{
    const struct aa_conf_case *cc = aa_conf_current_case();

    if (aa_conf_declared(AA_ROLE_AGENT_SERVER, "delegate-token"))
        return true;
    na_skip_list(cc->checks,
                 "POST /delegate/token is the project's own contract (PROFILE#6.1, D-4) and the "
                 "agent server does not declare it (--declare agent-server=delegate-token)");
    return false;
}

/* ---- the body refusals --------------------------------------------------------------- */

AA_CASE(neg_agent, delegate_token,
        .title = "POST /delegate/token refuses malformed requests (PROFILE#9 DG-01..05, DG-07)",
        .checks = AA_CHECKS(&dg_ok, &dg_sub_max, &dg_sub_missing, &dg_sub_empty, &dg_sub_type,
                            &dg_sub_long, &dg_cnf_missing, &dg_private, &dg_x25519, &dg_p256,
                            &dg_rsa, &dg_not_json, &dg_not_object, &dg_ctype, &dg_dup, &dg_get,
                            &is_ctype, &is_aud, &is_iat))
{
    struct ag a;
    struct aa_http_response resp;
    struct aa_jwt j;
    struct aa_buf s255, x25519;
    char *b = NULL, *rnd = NULL;

    aa_http_response_init(&resp);
    aa_buf_init(&s255, 1024);
    aa_buf_init(&x25519, 1024);
    memset(&j, 0, sizeof(j));
    if (!gate() || !ag_init(&a))
        goto done;

    b = dg_body("\"delegate-1\"", a.jwk, NULL);
    if (!dg_send(&a, &dg_ok, "baseline: the valid request", b, NULL, NULL, NULL, 200, 0, NULL,
                 &resp)) {
        aa_check_not_evaluated(&dg_ok, aa_conf_current_case()->checks);
        goto out;
    }
    if (md_resp_media_type_is(&resp, "application/json"))
        aa_check_pass(&is_ctype, "application/json");
    else
        aa_check_fail(&is_ctype, is_ctype.expect,
                      aa_http_headers_get(&resp.headers, "Content-Type")
                          ? aa_http_headers_get(&resp.headers, "Content-Type")
                          : "no Content-Type",
                      NULL);
    if (!token_claims(&resp, &j)) {
        aa_check_fail(&is_iat, "an agent_token with a JSON payload", "no parsable agent_token",
                      NULL);
    } else {
        int64_t iat, now = aa_conf_now();
        if (!aa_jwt_claim_int(&j, "iat", &iat))
            aa_check_fail(&is_iat, is_iat.expect, "no integer iat", NULL);
        else
            aa_expect_true(&is_iat, iat >= now - 60 && iat <= now + 60, is_iat.expect,
                           "iat %lld, now %lld", (long long)iat, (long long)now);
        aa_jwt_cleanup(&j);
    }
    free(b);

    /* The upper bound is accepted and echoed exactly. */
    aa_buf_addc(&s255, '"');
    for (int i = 0; i < 255; i++)
        aa_buf_addc(&s255, (char)('a' + i % 26));
    aa_buf_addc(&s255, '"');
    b = dg_body(s255.p, a.jwk, NULL);
    aa_http_response_cleanup(&resp);
    aa_http_response_init(&resp);
    if (dg_send(&a, &dg_sub_max, "sub of 255 characters", b, NULL, NULL, NULL, 200, 0, NULL,
                &resp)) {
        const char *sub;
        if (token_claims(&resp, &j)) {
            sub = aa_jwt_claim_str(&j, "sub");
            aa_expect_true(&dg_sub_max,
                           sub != NULL && strlen(sub) == 255 && strncmp(sub, s255.p + 1, 255) == 0,
                           "sub echoed exactly", "sub %.40s... (%zu characters)", sub ? sub : "-",
                           sub ? strlen(sub) : 0);
            aa_jwt_cleanup(&j);
        } else {
            aa_check_fail(&dg_sub_max, "an agent_token", "no parsable agent_token", NULL);
        }
    }
    free(b);

#define REFUSE(chk, what, body_)                                                                   \
    do {                                                                                           \
        b = (body_);                                                                               \
        dg_send(&a, chk, what, b, NULL, NULL, NULL, 400, 0, "invalid_request", NULL);              \
        free(b);                                                                                   \
        b = NULL;                                                                                  \
    } while (0)

    REFUSE(&dg_sub_missing, "DG-01 no sub", dg_body(NULL, a.jwk, NULL));
    REFUSE(&dg_sub_empty, "DG-01 sub empty", dg_body("\"\"", a.jwk, NULL));
    REFUSE(&dg_sub_type, "DG-01 sub 42", dg_body("42", a.jwk, NULL));
    s255.p[s255.len - 1] = 'z';
    aa_buf_addc(&s255, '"');
    REFUSE(&dg_sub_long, "DG-01 sub of 256 characters", dg_body(s255.p, a.jwk, NULL));
    REFUSE(&dg_cnf_missing, "DG-02 no cnf_jwk", dg_body("\"delegate-1\"", NULL, NULL));
    REFUSE(&dg_private, "DG-03 cnf_jwk with d", dg_body("\"delegate-1\"", a.jwk_priv, NULL));
    rnd = na_random_b64(32);
    aa_buf_printf(&x25519, "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\"}", rnd ? rnd : "");
    REFUSE(&dg_x25519, "DG-04 X25519", dg_body("\"delegate-1\"", x25519.p, NULL));
    /* A refusal counts only if the key itself is valid (not merely malformed). */
    if (!jwk_valid(RFC7517_EC))
        aa_check_error(&dg_p256, "harness: the RFC 7517 A.1 EC key does not parse");
    else
        REFUSE(&dg_p256, "DG-04 EC P-256", dg_body("\"delegate-1\"", RFC7517_EC, NULL));
    if (!jwk_valid(RFC7517_RSA))
        aa_check_error(&dg_rsa, "harness: the RFC 7517 A.1 RSA key does not parse");
    else
        REFUSE(&dg_rsa, "DG-04 RSA", dg_body("\"delegate-1\"", RFC7517_RSA, NULL));
    REFUSE(&dg_not_json, "DG-05 not JSON", aa_strdup("sub=delegate-1&cnf_jwk=x"));
    REFUSE(&dg_not_object, "DG-05 a JSON array", aa_strdup("[\"delegate-1\"]"));
    REFUSE(&dg_dup, "DG-05 sub twice",
           dg_body("\"delegate-1\",\"sub\":\"delegate-2\"", a.jwk, NULL));
#undef REFUSE
    b = dg_body("\"delegate-1\"", a.jwk, NULL);
    dg_send(&a, &dg_ctype, "DG-05 Content-Type text/plain", b, "text/plain", NULL, NULL, 400, 0,
            "invalid_request", NULL);
    dg_send(&a, &dg_ctype, "DG-05 Content-Type application/x-www-form-urlencoded", b, NA_FORM_CT,
            NULL, NULL, 400, 0, "invalid_request", NULL);
    free(b);
    b = NULL;

    /* aud, when requested, goes into the token (PROFILE#6.1). */
    b = dg_body("\"delegate-1\"", a.jwk, "\"aud\":\"https://rs.aauth-conformance.invalid\"");
    aa_http_response_cleanup(&resp);
    aa_http_response_init(&resp);
    if (dg_send(&a, &is_aud, "request with aud", b, NULL, NULL, NULL, 200, 0, NULL, &resp)) {
        if (token_claims(&resp, &j)) {
            aa_expect_str(&is_aud, "token aud", "https://rs.aauth-conformance.invalid",
                          aa_jwt_claim_str(&j, "aud"));
            aa_jwt_cleanup(&j);
        } else {
            aa_check_fail(&is_aud, "an agent_token", "no parsable agent_token", NULL);
        }
    }
    free(b);
    b = NULL;

    {
        struct aa_http_response g;
        struct aa_diag d;
        int rc;

        aa_http_response_init(&g);
        aa_diag_clear(&d);
        na_step("DG-07 GET /delegate/token");
        rc = aa_conf_get("DELEGATE", a.url.p, &g, &d);
        na_expect(&dg_get, "DG-07 GET", rc, &d, &g, 405, 0, NULL, NULL);
        aa_http_response_cleanup(&g);
    }
out:
    free(b);
    free(rnd);
    ag_cleanup(&a);
done:
    aa_buf_free(&s255);
    aa_buf_free(&x25519);
    aa_http_response_cleanup(&resp);
}

/* ---- hwk binding ----------------------------------------------------------------------- */

AA_CASE(neg_agent, hwk_binding,
        .title = "an hwk-signed /delegate/token request binds the signing key (PROFILE#9 DG-06)",
        .checks = AA_CHECKS(&dg_hwk_ok, &dg_hwk_bad))
{
    struct ag a;
    struct aa_jwk other;
    char *b = NULL;

    memset(&other, 0, sizeof(other));
    if (!gate() || !ag_init(&a))
        return;
    b = dg_body("\"delegate-1\"", a.jwk, NULL);
    if (aa_jwk_generate(AA_KTY_OKP, "other", &other) != AA_OK) {
        na_error_rest("cannot generate a key");
        goto out;
    }
    if (!dg_send(&a, &dg_hwk_ok, "DG-06 control: hwk by the cnf_jwk key", b, NULL, NULL, &a.key,
                 200, 0, NULL, NULL)) {
        aa_check_not_evaluated(&dg_hwk_ok, AA_CHECKS(&dg_hwk_bad));
        goto out;
    }
    /* The other key declares and signs itself (a valid signature); only
     * the binding to cnf_jwk is wrong. */
    dg_send(&a, &dg_hwk_bad, "DG-06 hwk by another key", b, NULL, NULL, &other, 401, 0,
            "invalid_signature", NULL);
out:
    free(b);
    aa_jwk_cleanup(&other);
    ag_cleanup(&a);
}

/* ---- metadata and JWKS -------------------------------------------------------------------- */

static void check_user_members(const cJSON *doc)
{
    static const char *const strs[] = {"name", "logo_uri", "policy_uri", "tos_uri", "homepage"};
    const cJSON *ru = cJSON_GetObjectItemCaseSensitive(doc, "redirect_uris"), *it;
    struct aa_buf bad;
    bool any = ru != NULL;

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        any = any || cJSON_GetObjectItemCaseSensitive(doc, strs[i]) != NULL;
    /* Publishing any of them, or the declaration, makes all of them due. */
    if (!any && !aa_check_require_feature(&md_user, AA_ROLE_AGENT_SERVER, "user-authorization"))
        return;
    aa_buf_init(&bad, 4096);
    if (!cJSON_IsArray(ru) || cJSON_GetArraySize(ru) == 0)
        aa_buf_adds(&bad, "redirect_uris is not a non-empty array");
    const cJSON *arr = cJSON_IsArray(ru) ? ru : NULL;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !md_url_usable(it->valuestring))
            aa_buf_printf(&bad, "%sredirect_uris entry %s is not an https URL", bad.len ? "; " : "",
                          cJSON_IsString(it) ? it->valuestring : "(non-string)");
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = aa_json_str(doc, strs[i]);
        if (v == NULL || v[0] == '\0')
            aa_buf_printf(&bad, "%s%s missing", bad.len ? "; " : "", strs[i]);
    }
    if (bad.len == 0)
        aa_check_pass(&md_user, "all present");
    else
        aa_check_fail(&md_user, md_user.expect, bad.p, NULL);
    aa_buf_free(&bad);
}

static void check_jwks(const struct aa_http_response *resp)
{
    static const struct md_jwks_checks checks = {
        .doc = &md_jwks,
        .priv = &md_jwks_priv,
        .kid = &md_jwks_kid,
        .flags = MD_JWKS_NAME_KID,
        .priv_hint = "a published private key is compromised: rotate it",
        .private_pass = "parses (private members judged by jwks-private)",
    };

    md_jwks_judge(resp, &checks);
}

AA_CASE(neg_agent, metadata, .title = "agent metadata and JWKS (PROFILE#9 MD-01, MD-02)",
        .checks = AA_CHECKS(&md_doc, &md_id, &md_required, &md_user, &md_jwks, &md_jwks_priv,
                            &md_jwks_kid))
{
    const struct aa_conf_target *t = aa_conf_target(AA_ROLE_AGENT_SERVER);
    struct aa_http_response resp, jr;
    struct aa_diag d;
    cJSON *doc = NULL;
    const char *ju;
    int rc;

    aa_http_response_init(&resp);
    aa_http_response_init(&jr);
    if (!na_metadata_get(t, "aauth-agent", "agent metadata", &md_doc, &resp, &doc))
        goto out;
    aa_expect_str(&md_id, "metadata \"agent\"", t->id, aa_json_str(doc, "agent"));
    ju = aa_json_str(doc, "jwks_uri");
    if (!md_url_usable(ju))
        aa_check_fail(&md_required, md_required.expect, ju ? ju : "no jwks_uri", NULL);
    else
        aa_check_pass(&md_required, "%s", ju);
    check_user_members(doc);
    if (!md_url_usable(ju)) {
        aa_check_not_evaluated(&md_required, AA_CHECKS(&md_jwks, &md_jwks_priv, &md_jwks_kid));
        goto out;
    }
    aa_diag_clear(&d);
    rc = aa_conf_get("HARNESS", ju, &jr, &d);
    if (!na_expect(&md_jwks, "agent JWKS", rc, &d, &jr, 200, 0, NULL, NULL)) {
        aa_check_not_evaluated(&md_jwks, AA_CHECKS(&md_jwks_priv, &md_jwks_kid));
        goto out;
    }
    check_jwks(&jr);
out:
    cJSON_Delete(doc);
    aa_http_response_cleanup(&resp);
    aa_http_response_cleanup(&jr);
}

/* ---- size limits --------------------------------------------------------------------------- */

AA_CASE(neg_agent, limits, .title = "request size limits of /delegate/token (PROFILE#9 RB-01/02)",
        .checks = AA_CHECKS(&rb_hdr, &rb_body))
{
    struct ag a;
    struct aa_buf pad, body;
    struct aa_http_response resp;
    struct aa_diag d;
    struct na_req r;
    int rc;

    aa_buf_init(&pad, 32 * 1024);
    aa_buf_init(&body, 2 * 1024 * 1024);
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    if (!gate() || !ag_init(&a))
        goto done;
    while (pad.err == AA_OK && pad.len < 17 * 1024)
        aa_buf_adds(&pad, "aaaaaaaaaaaaaaaa");
    {
        const char *hdr[] = {"X-Aauth-Conformance-Pad", pad.p, NULL};
        char *b = dg_body("\"delegate-1\"", a.jwk, NULL);

        memset(&r, 0, sizeof(r));
        r.url = a.url.p;
        r.content_type = NA_JSON_CT;
        r.body = b;
        r.body_len = b != NULL ? strlen(b) : 0;
        r.headers = hdr;
        na_step("RB-01 one 17 KiB header field");
        rc = b != NULL && pad.err == AA_OK ? na_send("DELEGATE", &r, &resp, NULL, &d) : AA_E_NOMEM;
        if (rc == AA_E_NOMEM)
            aa_check_error(&rb_hdr, "out of memory");
        else
            na_expect(&rb_hdr, "RB-01 17 KiB field", rc, &d, &resp, 431, 400, NULL, NULL);
        free(b);
    }
    /* RB-02: a valid request padded with an unknown member past 1 MiB. */
    aa_buf_printf(&body, "{\"sub\":\"delegate-1\",\"cnf_jwk\":%s,\"x_aauth_conformance_pad\":\"",
                  a.jwk);
    while (body.err == AA_OK && body.len <= 1024 * 1024)
        aa_buf_add(&body, pad.p, pad.len);
    aa_buf_adds(&body, "\"}");
    na_expect_body_too_large(&rb_body, "DELEGATE", a.url.p, NA_JSON_CT, &body, &resp);
    ag_cleanup(&a);
done:
    aa_buf_free(&pad);
    aa_buf_free(&body);
    aa_http_response_cleanup(&resp);
}
