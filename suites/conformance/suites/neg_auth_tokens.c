/*
 * neg-auth, presented tokens: the auth server validates the agent token
 * a delegate signs with (PROFILE#4.3, catalogue AT-01..15, RB-03) and the
 * resource token it is given (PROFILE#4.4, catalogue RT-01..08).
 *
 * Hostile tokens are signed with the key of the identity they name, so
 * the one defect under test is the only one: agent tokens with the
 * embedded agent server's key, resource tokens with the embedded
 * resource's key (aa_conf_role_key). When that role is a target the
 * harness cannot sign for it and those checks are SKIP with the reason.
 * A forged but correct token must be accepted first (valid-accepted):
 * otherwise a refusal could be the AS refusing anything forged.
 *
 * Against the requests of this file the AS answers at D-30 step 3 (401)
 * for the agent token, step 4 (400) for the resource token.
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "json/aa_json.h"
#include "neg_auth_util.h"

#define ATCHECK(name, slug, title_, expect_)                                                       \
    AA_CHECK(name, .id = "neg-auth.at." slug, .suite = "neg-auth", .title = title_,                \
             .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.3",           \
             .rfc = NULL, .expect = expect_)
#define T401 "401 invalid_token"

/* ---- checks: AT --------------------------------------------------------------------- */

ATCHECK(at_ok, "valid-accepted",
        "an agent token forged correctly with the agent server's key (baseline)",
        "200: the harness's token is indistinguishable from the agent server's own");
ATCHECK(at_typ, "typ-wrong", "AT-01 agent token with typ \"JWT\"", T401);
ATCHECK(at_none, "alg-none", "AT-02 agent token with alg \"none\" and no signature",
        "401 invalid_token (PROFILE#2.10: none is always rejected)");
ATCHECK(at_hs256, "hs256", "AT-03 agent token HS256-signed, keyed with the agent key's x bytes",
        T401);
ATCHECK(at_kid, "kid-unknown", "AT-04 agent token whose kid the agent's JWKS does not have", T401);
ATCHECK(at_payload, "payload-modified", "AT-05 payload changed (sub) after signing", T401);
ATCHECK(at_expired, "expired", "AT-06 agent token with exp = now - 120 (skew 60 s, D-6)", T401);
ATCHECK(at_missing, "claim-missing", "AT-07 agent token without sub, cnf, exp or iss", T401);
ATCHECK(at_aud, "aud-excludes-receiver", "AT-08 agent token whose aud is another receiver", T401);
ATCHECK(at_sig_cnf, "sig-not-cnf", "AT-09 valid agent token, request signed by another key",
        "401 invalid_signature (step 12 of PROFILE#4.3)");
ATCHECK(at_attacker, "attacker-key",
        "AT-10 agent token with iss = the agent server, signed by an attacker key", T401);
ATCHECK(at_nbf, "nbf-future", "AT-11 agent token with nbf = now + 120", T401);
ATCHECK(at_cnf_priv, "cnf-private", "AT-12 agent token whose cnf.jwk contains d", T401);
ATCHECK(at_crit, "crit", "AT-13 agent token with a crit header", T401);
ATCHECK(at_malformed, "malformed", "AT-14 agent token with two segments, or bad base64url", T401);
ATCHECK(at_dup, "duplicate-member", "AT-15 agent token payload with a duplicate member (sub)",
        "401 invalid_token (D-29)");

AA_CHECK(rb_jwt, .id = "neg-auth.rb.jwt-limits", .suite = "neg-auth",
         .title = "RB-03 agent token over 8 KiB, or with JSON nested 33 deep",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.1", .rfc = NULL,
         .expect = "401 invalid_token (D-24)");

/* ---- checks: RT --------------------------------------------------------------------- */

#define RTCHECK(name, slug, title_)                                                                \
    AA_CHECK(name, .id = "neg-auth.rt." slug, .suite = "neg-auth", .title = title_,                \
             .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.4",           \
             .rfc = NULL, .expect = "400 invalid_resource_token")

AA_CHECK(rt_ok, .id = "neg-auth.rt.valid-accepted", .suite = "neg-auth",
         .title = "a resource token forged correctly with the resource's key (baseline)",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.4", .rfc = NULL,
         .expect = "200: the harness's token is indistinguishable from the resource's own");
RTCHECK(rt_agent, "other-agent", "RT-01 resource token issued for another agent");
RTCHECK(rt_rotated, "other-key",
        "RT-02 resource token whose agent_jkt is the delegate's key before rotation");
RTCHECK(rt_aud, "aud-other-as", "RT-03 resource token whose aud is another auth server");
RTCHECK(rt_expired, "expired", "RT-04 resource token with exp = now - 120");
RTCHECK(rt_typ, "typ-wrong", "RT-05 resource token with typ \"JWT\"");
RTCHECK(rt_sig, "bad-signature",
        "RT-06 resource token with a flipped signature bit, or an "
        "unknown kid");
RTCHECK(rt_scope, "scope-and-request-url",
        "RT-07 resource token with neither, or both, of scope and auth_request_url");
RTCHECK(rt_meta, "metadata-mismatch",
        "RT-08 resource token whose issuer's metadata names another resource");

/* ---- agent tokens ------------------------------------------------------------------- */

struct at_scene {
    struct na_env e;
    struct aa_jwk agk; /* the agent server's private key, when the runner has it */
    bool have_key;
    struct aa_buf nokey; /* why not */
    char *kid;           /* kid of the agent server's real token */
    const char *ag;      /* agent identifier */
};

static const struct aa_check *const key_checks[] = {&at_ok,      &at_typ, &at_payload, &at_expired,
                                                    &at_missing, &at_aud, &at_nbf,     &at_cnf_priv,
                                                    &at_crit,    &at_dup, &rb_jwt,     NULL};

/* Send the valid body with |token| as credential, signed by |key| (NULL:
 * the delegate key the token binds). */
static bool present_at(struct at_scene *s, const struct aa_check *c, const char *what,
                       const char *token, const struct aa_jwk *key, long status, const char *error)
{
    struct aa_sign_cred cred = na_cred_jwt(token);
    struct na_req r;

    memset(&r, 0, sizeof(r));
    if (token == NULL) {
        aa_check_error(c, "%s: the harness could not build the token", what);
        return false;
    }
    r.cred = &cred;
    r.key = key;
    return na_env_check(&s->e, c, what, &r, status, 0, error, NULL, NULL);
}

/* Agent token claims for the scene's delegate (iss, sub, exp, iat, cnf). */
static cJSON *claims(struct at_scene *s)
{
    return na_agent_claims(s->ag, aa_client_sub(s->e.dg.c), aa_client_key(s->e.dg.c));
}

/* Sign |c| with header {typ, kid(, extra)} using |key| and |opts|; |c| and
 * |extra| are freed. */
static char *forge(cJSON *c, const char *typ, const char *kid, cJSON *extra,
                   const struct aa_jwk *key, const struct aa_jwt_build_opts *opts)
{
    cJSON *h = na_jwt_header(typ, kid);
    char *tok = NULL;

    if (h != NULL && extra != NULL) {
        cJSON *it = extra->child;
        while (it != NULL) {
            cJSON *next = it->next;
            cJSON_AddItemToObject(h, it->string, cJSON_DetachItemViaPointer(extra, it));
            it = next;
        }
    }
    if (h != NULL && c != NULL)
        tok = na_jwt(h, c, key, opts);
    cJSON_Delete(h);
    cJSON_Delete(c);
    cJSON_Delete(extra);
    return tok;
}

static void at_key_cases(struct at_scene *s)
{
    static const char *const drop[] = {"sub", "cnf", "exp", "iss"};
    const struct aa_jwk *k = &s->agk;
    const int64_t now = aa_conf_now();
    struct aa_jwt_build_opts o;
    cJSON *c, *swap;
    char *t;

    /* AT-01 */
    t = forge(claims(s), "JWT", s->kid, NULL, k, NULL);
    present_at(s, &at_typ, "AT-01 typ JWT", t, NULL, 401, "invalid_token");
    free(t);

    /* AT-05: signed over sub=<ours>, shipped with another sub. */
    memset(&o, 0, sizeof(o));
    swap = claims(s);
    if (swap != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(swap, "sub", cJSON_CreateString("delegate-forged"));
    o.mutations = AA_JWT_MUT_PAYLOAD;
    o.swap_claims = swap;
    t = swap != NULL ? forge(claims(s), "agent+jwt", s->kid, NULL, k, &o) : NULL;
    present_at(s, &at_payload, "AT-05 payload modified after signing", t, NULL, 401,
               "invalid_token");
    free(t);
    cJSON_Delete(swap);

    /* AT-06 */
    c = claims(s);
    if (c != NULL) {
        cJSON_ReplaceItemInObjectCaseSensitive(c, "exp", cJSON_CreateNumber((double)(now - 120)));
        cJSON_ReplaceItemInObjectCaseSensitive(c, "iat", cJSON_CreateNumber((double)(now - 3720)));
    }
    t = forge(c, "agent+jwt", s->kid, NULL, k, NULL);
    present_at(s, &at_expired, "AT-06 exp = now - 120", t, NULL, 401, "invalid_token");
    free(t);

    /* AT-07 */
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        char what[64];
        c = claims(s);
        if (c != NULL)
            cJSON_DeleteItemFromObjectCaseSensitive(c, drop[i]);
        t = forge(c, "agent+jwt", s->kid, NULL, k, NULL);
        aa_snprintf(what, sizeof(what), "AT-07 no %s", drop[i]);
        present_at(s, &at_missing, what, t, NULL, 401, "invalid_token");
        free(t);
    }

    /* AT-08 */
    c = claims(s);
    if (c != NULL)
        cJSON_AddStringToObject(c, "aud", "https://receiver.aauth-conformance.invalid");
    t = forge(c, "agent+jwt", s->kid, NULL, k, NULL);
    present_at(s, &at_aud, "AT-08 aud = another receiver", t, NULL, 401, "invalid_token");
    free(t);

    /* AT-11 */
    c = claims(s);
    if (c != NULL)
        cJSON_AddNumberToObject(c, "nbf", (double)(now + 120));
    t = forge(c, "agent+jwt", s->kid, NULL, k, NULL);
    present_at(s, &at_nbf, "AT-11 nbf = now + 120", t, NULL, 401, "invalid_token");
    free(t);

    /* AT-12: the delegate's own key, private half included. */
    c = claims(s);
    if (c != NULL) {
        cJSON *cnf = cJSON_CreateObject();
        cJSON_AddItemToObject(cnf, "jwk", na_jwk_json(aa_client_key(s->e.dg.c), true));
        cJSON_ReplaceItemInObjectCaseSensitive(c, "cnf", cnf);
    }
    t = forge(c, "agent+jwt", s->kid, NULL, k, NULL);
    present_at(s, &at_cnf_priv, "AT-12 cnf.jwk with d", t, NULL, 401, "invalid_token");
    free(t);

    /* AT-13: an extension header the AS cannot understand, marked critical
     * (RFC7515#4.1.11). */
    {
        cJSON *x = cJSON_CreateObject(), *crit = cJSON_CreateArray();
        cJSON_AddItemToArray(crit, cJSON_CreateString("x-aauth-conformance"));
        cJSON_AddItemToObject(x, "crit", crit);
        cJSON_AddTrueToObject(x, "x-aauth-conformance");
        t = forge(claims(s), "agent+jwt", s->kid, x, k, NULL);
        present_at(s, &at_crit, "AT-13 crit header", t, NULL, 401, "invalid_token");
        free(t);
    }

    /* AT-15: exact bytes, "sub" twice (cJSON cannot produce that). */
    {
        struct aa_buf hdr, pl, cnf;
        char *tok = NULL;

        aa_buf_init(&hdr, 4096);
        aa_buf_init(&pl, 16384);
        aa_buf_init(&cnf, 4096);
        aa_jwk_to_json(aa_client_key(s->e.dg.c), false, &cnf);
        aa_buf_printf(&hdr, "{\"alg\":\"EdDSA\",\"typ\":\"agent+jwt\",\"kid\":\"%s\"}", s->kid);
        aa_buf_printf(&pl,
                      "{\"iss\":\"%s\",\"sub\":\"%s\",\"sub\":\"delegate-forged\",\"exp\":%lld,"
                      "\"iat\":%lld,\"cnf\":{\"jwk\":%s}}",
                      s->ag, aa_client_sub(s->e.dg.c), (long long)(now + 3600), (long long)now,
                      cnf.p != NULL ? cnf.p : "{}");
        if (hdr.err == AA_OK && pl.err == AA_OK && cnf.err == AA_OK &&
            aa_jws_sign_raw(hdr.p, hdr.len, (const uint8_t *)pl.p, pl.len, AA_ALG_ED25519, k,
                            &tok) != AA_OK)
            tok = NULL;
        present_at(s, &at_dup, "AT-15 duplicate sub", tok, NULL, 401, "invalid_token");
        free(tok);
        aa_buf_free(&hdr);
        aa_buf_free(&pl);
        aa_buf_free(&cnf);
    }

    /* RB-03: 8 KiB + of padding; 32 nested arrays under the root (33 levels). */
    {
        char *pad = malloc(8301);
        cJSON *deep = NULL, *cur;

        c = claims(s);
        if (pad != NULL && c != NULL) {
            memset(pad, 'a', 8300);
            pad[8300] = '\0';
            cJSON_AddStringToObject(c, "x_aauth_conformance_pad", pad);
        }
        t = pad != NULL ? forge(c, "agent+jwt", s->kid, NULL, k, NULL) : NULL;
        if (pad == NULL)
            cJSON_Delete(c);
        present_at(s, &rb_jwt, "RB-03 agent token over 8 KiB", t, NULL, 401, "invalid_token");
        free(t);
        free(pad);
        c = claims(s);
        deep = cJSON_CreateArray();
        cur = deep;
        for (int i = 1; i < 32 && cur != NULL; i++) {
            cJSON *n = cJSON_CreateArray();
            if (n == NULL || !cJSON_AddItemToArray(cur, n)) {
                cJSON_Delete(n);
                cur = NULL;
                break;
            }
            cur = n;
        }
        if (c != NULL && deep != NULL && cur != NULL) {
            cJSON_AddItemToObject(c, "x_aauth_conformance_nest", deep);
            deep = NULL;
            t = forge(c, "agent+jwt", s->kid, NULL, k, NULL);
        } else {
            cJSON_Delete(c);
            t = NULL;
        }
        cJSON_Delete(deep);
        present_at(s, &rb_jwt, "RB-03 payload nested 33 levels deep", t, NULL, 401,
                   "invalid_token");
        free(t);
    }
}

/* The x bytes of the agent server's signing key (HS256 secret, AT-03). */
static bool agent_x(struct at_scene *s, uint8_t x[32])
{
    struct aa_buf xb;
    size_t n = 0;
    bool ok;

    aa_buf_init(&xb, 256);
    ok = s->have_key && aa_jwk_public_member(&s->agk, "x", &xb) == AA_OK &&
         aa_b64_decode(xb.p, xb.len, AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, x, 32, &n, NULL) ==
             AA_OK &&
         n == 32;
    aa_buf_free(&xb);
    return ok;
}

static void at_keyless_cases(struct at_scene *s)
{
    const char *real = aa_client_agent_token(s->e.dg.c);
    struct aa_jwt_build_opts o;
    struct aa_jwk other;
    uint8_t x[32];
    char *t;

    memset(&other, 0, sizeof(other));
    if (aa_jwk_generate(AA_KTY_OKP, s->kid, &other) != AA_OK) {
        na_error_list(AA_CHECKS(&at_none, &at_hs256, &at_kid, &at_sig_cnf, &at_attacker),
                      "cannot generate an Ed25519 key");
        return;
    }

    /* AT-02 */
    memset(&o, 0, sizeof(o));
    o.mutations = AA_JWT_MUT_ALG_NONE;
    t = forge(claims(s), "agent+jwt", s->kid, NULL, NULL, &o);
    present_at(s, &at_none, "AT-02 alg none", t, NULL, 401, "invalid_token");
    free(t);

    /* AT-03: the public x bytes as an HMAC secret (the classic confusion). */
    if (!agent_x(s, x)) {
        aa_check_skip(&at_hs256, "%s", s->nokey.p ? s->nokey.p : "no agent key");
    } else {
        memset(&o, 0, sizeof(o));
        o.mutations = AA_JWT_MUT_HS256;
        o.hmac_key = x;
        o.hmac_key_len = sizeof(x);
        t = forge(claims(s), "agent+jwt", s->kid, NULL, NULL, &o);
        present_at(s, &at_hs256, "AT-03 HS256 keyed with x", t, NULL, 401, "invalid_token");
        free(t);
    }

    /* AT-04 */
    t = forge(claims(s), "agent+jwt", "aauth-conformance-no-such-kid", NULL,
              s->have_key ? &s->agk : &other, NULL);
    present_at(s, &at_kid, "AT-04 unknown kid", t, NULL, 401, "invalid_token");
    free(t);

    /* AT-09: the agent server's own token, another key signs the request. */
    present_at(s, &at_sig_cnf, "AT-09 request signed by a key other than cnf.jwk", real, &other,
               401, "invalid_signature");

    /* AT-10: every claim right, the agent's kid, an attacker's key. */
    t = forge(claims(s), "agent+jwt", s->kid, NULL, &other, NULL);
    present_at(s, &at_attacker, "AT-10 attacker key, iss = the agent server", t, NULL, 401,
               "invalid_token");
    free(t);

    /* AT-14 on the real token: the signature segment dropped, then one
     * character of the payload replaced by '+' (not base64url). */
    {
        const char *last = real != NULL ? strrchr(real, '.') : NULL;
        const char *first = real != NULL ? strchr(real, '.') : NULL;
        char *two = last != NULL ? aa_strndup(real, (size_t)(last - real)) : NULL;
        char *bad = real != NULL ? aa_strdup(real) : NULL;

        present_at(s, &at_malformed, "AT-14 two segments", two, NULL, 401, "invalid_token");
        if (bad != NULL && first != NULL && last != NULL && last > first + 2)
            bad[(size_t)(first - real) + (size_t)(last - first) / 2] = '+';
        present_at(s, &at_malformed, "AT-14 '+' in the payload segment", bad, NULL, 401,
                   "invalid_token");
        free(two);
        free(bad);
    }
    aa_jwk_cleanup(&other);
}

static bool kid_of(const char *token, char **kid)
{
    struct aa_jwt j;

    *kid = NULL;
    if (token == NULL || aa_jwt_parse(token, strlen(token), &j, NULL) != AA_OK)
        return false;
    *kid = j.kid != NULL ? aa_strdup(j.kid) : NULL;
    aa_jwt_cleanup(&j);
    return *kid != NULL;
}

AA_CASE(neg_auth, agent_token,
        .title = "agent tokens presented at agent_token_endpoint (PROFILE#9 AT, RB-03)",
        .needs = AA_NEED_ALL,
        .checks = AA_CHECKS(&at_ok, &at_typ, &at_none, &at_hs256, &at_kid, &at_payload, &at_expired,
                            &at_missing, &at_aud, &at_sig_cnf, &at_attacker, &at_nbf, &at_cnf_priv,
                            &at_crit, &at_malformed, &at_dup, &rb_jwt))
{
    struct at_scene s;
    char *t = NULL;

    memset(&s, 0, sizeof(s));
    aa_buf_init(&s.nokey, 2048);
    if (!na_env_init(&s.e, NA_ENV_RT))
        goto out;
    s.ag = aa_client_agent_id(s.e.dg.c);
    if (!kid_of(aa_client_agent_token(s.e.dg.c), &s.kid)) {
        na_error_rest("the agent server's token has no readable kid");
        goto out;
    }
    s.have_key = na_role_key(AA_ROLE_AGENT_SERVER, &s.agk, &s.nokey);
    at_keyless_cases(&s);
    if (!s.have_key) {
        na_skip_list(key_checks, "%s", s.nokey.p ? s.nokey.p : "no agent key");
        goto out;
    }
    t = forge(claims(&s), "agent+jwt", s.kid, NULL, &s.agk, NULL);
    if (!present_at(&s, &at_ok, "baseline: a correct agent token signed by the harness", t, NULL,
                    200, NULL)) {
        aa_check_not_evaluated(&at_ok, key_checks);
        goto out;
    }
    at_key_cases(&s);
out:
    free(t);
    free(s.kid);
    aa_jwk_cleanup(&s.agk);
    aa_buf_free(&s.nokey);
    na_env_cleanup(&s.e);
}

/* ---- resource tokens ------------------------------------------------------------------ */

struct rt_scene {
    struct na_env e;
    struct aa_jwk rk;
    const char *rid, *asid, *agent;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
};

static cJSON *rt_claims(struct rt_scene *s)
{
    return na_resource_claims(s->rid, s->asid, s->agent, s->jkt, "data.read");
}

/* The auth request with |rt| in it, signed by the scene's delegate. */
static bool present_rt(struct rt_scene *s, const struct aa_check *c, const char *what, char *rt,
                       long status, const char *error)
{
    const char *const pairs[] = {"request_type", "auth", "resource_token", rt, "redirect_uri",
                                 s->e.ru,        NULL};
    struct na_req r;
    char *body;
    bool ok;

    if (rt == NULL) {
        aa_check_error(c, "%s: the harness could not build the resource token", what);
        return false;
    }
    if ((body = na_form(pairs)) == NULL) {
        aa_check_error(c, "%s: out of memory", what);
        return false;
    }
    memset(&r, 0, sizeof(r));
    r.body = body;
    ok = na_env_check(&s->e, c, what, &r, status, 0, error, NULL, NULL);
    free(body);
    return ok;
}

static char *rt_forge(cJSON *c, const char *typ, const char *kid, const struct aa_jwk *key,
                      unsigned mutations)
{
    struct aa_jwt_build_opts o;

    memset(&o, 0, sizeof(o));
    o.mutations = mutations;
    return forge(c, typ, kid, NULL, key, &o);
}

static void rt_metadata_mismatch(struct rt_scene *s)
{
    struct na_ident good, bad;
    struct aa_buf why;
    char *t;

    memset(&good, 0, sizeof(good));
    memset(&bad, 0, sizeof(bad));
    aa_buf_init(&why, 2048);
    if (!na_hosting_usable(s->e.as.t, &why)) {
        aa_check_skip(&rt_meta, "%s", why.p);
        goto out;
    }
    if (na_ident_start(&good, "aauth-resource", NULL, &why) != AA_OK ||
        na_ident_start(&bad, "aauth-resource", "http://127.0.0.1:1", &why) != AA_OK) {
        aa_check_error(&rt_meta, "%s", why.p);
        goto out;
    }
    /* Control: the same kind of hosted resource, correctly published. Only
     * if the AS accepts its tokens does a refusal below mean RT-08. */
    t = rt_forge(na_resource_claims(good.id, s->asid, s->agent, s->jkt, "data.read"),
                 "resource+jwt", good.key.kid, &good.key, 0);
    if (t == NULL) {
        aa_check_error(&rt_meta, "cannot build the control resource token");
        goto out;
    }
    {
        const char *const pairs[] = {"request_type", "auth", "resource_token", t, "redirect_uri",
                                     s->e.ru,        NULL};
        struct aa_http_response resp;
        struct na_req r;
        char *body = na_form(pairs);
        struct aa_diag d;
        int rc;

        aa_http_response_init(&resp);
        aa_diag_clear(&d);
        memset(&r, 0, sizeof(r));
        na_flush(&s->e.dg);
        na_step("RT-08 control: a resource token from a correctly published hosted resource");
        r.url = s->e.as.token_url;
        r.content_type = NA_FORM_CT;
        r.body = body;
        r.body_len = body != NULL ? strlen(body) : 0;
        {
            struct aa_sign_cred cred = na_cred_jwt(aa_client_agent_token(s->e.dg.c));
            r.cred = &cred;
            r.key = aa_client_key(s->e.dg.c);
            rc = body != NULL ? na_send("DELEGATE", &r, &resp, NULL, &d) : AA_E_NOMEM;
        }
        free(body);
        free(t);
        if (rc != AA_OK || resp.status != 200) {
            aa_check_skip(&rt_meta,
                          "the AS does not accept resource tokens of a harness-hosted resource "
                          "(control answered %ld), so a refusal could not be told apart",
                          resp.status);
            aa_http_response_cleanup(&resp);
            goto out;
        }
        aa_http_response_cleanup(&resp);
    }
    t = rt_forge(na_resource_claims(bad.id, s->asid, s->agent, s->jkt, "data.read"), "resource+jwt",
                 bad.key.kid, &bad.key, 0);
    present_rt(s, &rt_meta, "RT-08 issuer metadata says resource=http://127.0.0.1:1", t, 400,
               "invalid_resource_token");
    free(t);
out:
    na_ident_stop(&good);
    na_ident_stop(&bad);
    aa_buf_free(&why);
}

static void rt_key_cases(struct rt_scene *s)
{
    const char *kid = s->rk.kid;
    const int64_t now = aa_conf_now();
    cJSON *c;
    char *t;

    c = rt_claims(s);
    if (c != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(
            c, "agent", cJSON_CreateString("https://agent.aauth-conformance.invalid"));
    t = rt_forge(c, "resource+jwt", kid, &s->rk, 0);
    present_rt(s, &rt_agent, "RT-01 agent = another agent", t, 400, "invalid_resource_token");
    free(t);

    c = rt_claims(s);
    if (c != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(
            c, "aud", cJSON_CreateString("https://as.aauth-conformance.invalid"));
    t = rt_forge(c, "resource+jwt", kid, &s->rk, 0);
    present_rt(s, &rt_aud, "RT-03 aud = another auth server", t, 400, "invalid_resource_token");
    free(t);

    c = rt_claims(s);
    if (c != NULL) {
        cJSON_ReplaceItemInObjectCaseSensitive(c, "exp", cJSON_CreateNumber((double)(now - 120)));
        cJSON_ReplaceItemInObjectCaseSensitive(c, "iat", cJSON_CreateNumber((double)(now - 420)));
    }
    t = rt_forge(c, "resource+jwt", kid, &s->rk, 0);
    present_rt(s, &rt_expired, "RT-04 exp = now - 120", t, 400, "invalid_resource_token");
    free(t);

    t = rt_forge(rt_claims(s), "JWT", kid, &s->rk, 0);
    present_rt(s, &rt_typ, "RT-05 typ JWT", t, 400, "invalid_resource_token");
    free(t);

    t = rt_forge(rt_claims(s), "resource+jwt", kid, &s->rk, AA_JWT_MUT_BAD_SIG);
    present_rt(s, &rt_sig, "RT-06 signature bit flipped", t, 400, "invalid_resource_token");
    free(t);
    t = rt_forge(rt_claims(s), "resource+jwt", "aauth-conformance-no-such-kid", &s->rk, 0);
    present_rt(s, &rt_sig, "RT-06 unknown kid", t, 400, "invalid_resource_token");
    free(t);

    c = rt_claims(s);
    if (c != NULL)
        cJSON_DeleteItemFromObjectCaseSensitive(c, "scope");
    t = rt_forge(c, "resource+jwt", kid, &s->rk, 0);
    present_rt(s, &rt_scope, "RT-07 neither scope nor auth_request_url", t, 400,
               "invalid_resource_token");
    free(t);
    c = rt_claims(s);
    if (c != NULL)
        cJSON_AddStringToObject(c, "auth_request_url",
                                "https://resource.aauth-conformance.invalid/requests/1");
    t = rt_forge(c, "resource+jwt", kid, &s->rk, 0);
    present_rt(s, &rt_scope, "RT-07 both scope and auth_request_url", t, 400,
               "invalid_resource_token");
    free(t);
}

/* RT-02: the resource's own token for key 1, presented after rotating to
 * key 2 (same sub, new agent token; PROFILE#7.6 TEST 4). */
static void rt_rotation(struct rt_scene *s)
{
    struct aa_diag d;
    struct aa_buf why;
    int rc;

    aa_buf_init(&why, 2048);
    aa_diag_clear(&d);
    na_flush(&s->e.dg);
    na_step("RT-02 rotate the delegate key (new agent token, same sub)");
    rc = aa_client_rotate_key(s->e.dg.c, NULL, &d);
    na_flush(&s->e.dg);
    if (rc != AA_OK) {
        na_client_why(&why, "key rotation at the agent server", rc, &d);
        aa_check_error(&rt_rotated, "%s", why.p ? why.p : "rotation failed");
    } else {
        present_rt(s, &rt_rotated, "RT-02 resource token bound to the old key, new key signs",
                   s->e.rt, 400, "invalid_resource_token");
    }
    aa_buf_free(&why);
}

AA_CASE(neg_auth, resource_token,
        .title = "resource tokens presented at agent_token_endpoint (PROFILE#9 RT)",
        .needs = AA_NEED_ALL,
        .checks = AA_CHECKS(&rt_ok, &rt_agent, &rt_rotated, &rt_aud, &rt_expired, &rt_typ, &rt_sig,
                            &rt_scope, &rt_meta))
{
    static const struct aa_check *const need_key[] = {&rt_ok,  &rt_agent, &rt_aud,   &rt_expired,
                                                      &rt_typ, &rt_sig,   &rt_scope, NULL};
    struct rt_scene s;
    struct aa_buf why;
    char *t;

    memset(&s, 0, sizeof(s));
    aa_buf_init(&why, 2048);
    if (!na_env_init(&s.e, NA_ENV_RT))
        goto out;
    s.rid = aa_conf_target(AA_ROLE_RESOURCE)->id;
    s.asid = s.e.as.t->id;
    s.agent = aa_client_agent_id(s.e.dg.c);
    memcpy(s.jkt, aa_client_thumbprint(s.e.dg.c), sizeof(s.jkt));
    if (!na_role_key(AA_ROLE_RESOURCE, &s.rk, &why)) {
        na_skip_list(need_key, "%s", why.p ? why.p : "no resource key");
    } else {
        t = rt_forge(rt_claims(&s), "resource+jwt", s.rk.kid, &s.rk, 0);
        if (present_rt(&s, &rt_ok, "baseline: a correct resource token signed by the harness", t,
                       200, NULL))
            rt_key_cases(&s);
        else
            aa_check_not_evaluated(&rt_ok, need_key);
        free(t);
    }
    rt_metadata_mismatch(&s);
    rt_rotation(&s);
out:
    aa_jwk_cleanup(&s.rk);
    aa_buf_free(&why);
    na_env_cleanup(&s.e);
}
