/*
 * neg-auth, token exchange (PROFILE#6.5, catalogue EX-01..09) in the F7
 * topology of PROFILE#1: the auth server AS1 (the auth-server role) issues
 * T1 for resource R1 (the resource role); R1 asks AS2 (the runner's
 * "auth2" instance, which trusts AS1) for a token for R2 ("resource2").
 * The checks judge AS2: with --target-auth-server the user provides it
 * with --instance auth2=URL, else the runner reports them SKIP.
 *
 * R1 signs the exchange with its own key K_R1 (D-21), so the harness must
 * hold the resource's key (aa_conf_role_key): without it nothing here can
 * be sent (SKIP). Hostile upstream tokens (expired, too deep an act chain)
 * are signed with AS1's key; a forged but correct T1 must be accepted
 * first, so their refusal is theirs. The untrusted issuer of EX-01 is an
 * auth server the harness hosts on loopback (dev mode only).
 */
#include <stdlib.h>
#include <string.h>

#include "json/aa_json.h"
#include "neg_auth_util.h"

#define EXCHECK(name, slug, title_, expect_)                                                       \
    AA_CHECK(name, .id = "neg-auth.ex." slug, .suite = "neg-auth", .title = title_,                \
             .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.5",           \
             .rfc = NULL, .expect = expect_)

EXCHECK(ex_ok, "valid-accepted",
        "request_type=exchange: T1 (AS1, aud R1) in Signature-Key, RT2 in the body, signed by "
        "K_R1 (baseline)",
        "200 with auth_token");
EXCHECK(ex_resp, "response",
        "EX-08 the exchange answer and T2 (no refresh_token; act, iat and nbf present)",
        "no refresh_token; T2 carries act, iat and nbf (PROFILE#4.2)");
EXCHECK(ex_untrusted, "untrusted-issuer",
        "EX-01 T1 from an auth server AS2 does not trust (hosted by the harness)",
        "401 invalid_token");
EXCHECK(ex_aud, "aud-not-rt-agent", "EX-02 RT2 issued to another agent than T1's aud",
        "400 invalid_resource_token");
EXCHECK(ex_cred, "credential-not-jwt", "EX-03 the exchange signed with scheme=jwks (R1's id)",
        "400 invalid_request");
EXCHECK(ex_agent_tok, "agent-token-upstream", "EX-04 the upstream token is an agent+jwt",
        "401 invalid_token");
EXCHECK(ex_key, "key-not-agent-jkt",
        "EX-05 the exchange signed by a key other than RT2's agent_jkt",
        "401 invalid_key or invalid_signature");
EXCHECK(ex_expired, "upstream-expired", "EX-06 T1 with exp = now - 120 (signed by AS1's key)",
        "401 invalid_token");
EXCHECK(ex_no_rt, "no-resource-token", "EX-07 the exchange without resource_token",
        "400 invalid_request");
EXCHECK(ex_depth, "chain-depth", "EX-09 T1 whose act chain is 4 deep (T2 would be 5)",
        "403 access_denied (D-22)");

struct ex_scene {
    struct na_env e;     /* AS1 and the delegate of the agent server */
    struct na_as as2;    /* the exchanging auth server */
    struct na_client r1; /* R1 acting as an agent (jwks, aauth-resource) */
    struct aa_jwk kr1;
    const char *r1id;
    char *t1;  /* a real auth token from AS1 for R1 */
    char *rt2; /* R2's resource token for R1 */
    char *body;
};

static int r1_client(struct ex_scene *s, struct aa_buf *why)
{
    struct aa_client_opts o;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.key = &s->kr1;
    o.agent_id = s->r1id;
    o.agent_kid = s->kr1.kid;
    o.well_known = "aauth-resource";
    o.dev_mode = aa_conf_dev_mode();
    o.no_token_signature_check = true;
    o.clock = *na_clock();
    o.transcript_flags = AA_HTTP_TR_FULL;
    o.role = "RESOURCE R1";
    rc = aa_client_new(&o, &s->r1.c, &d);
    if (rc != AA_OK)
        na_client_why(why, "cannot create R1's client", rc, &d);
    return rc;
}

/* POST request_type=exchange to AS2. |upstream| goes into Signature-Key
 * (scheme=jwt) unless |cred| is given; |key| NULL: K_R1. */
static bool exchange(struct ex_scene *s, const struct aa_check *c, const char *what,
                     const char *upstream, const char *body, const struct aa_sign_cred *cred,
                     const struct aa_jwk *key, long status, const char *error,
                     const char *alt_error, struct aa_http_response *out)
{
    struct aa_sign_cred jwt = na_cred_jwt(upstream);
    struct na_req r;

    if ((cred == NULL && upstream == NULL) || body == NULL) {
        aa_check_error(c, "%s: the harness could not build the request", what);
        return false;
    }
    memset(&r, 0, sizeof(r));
    na_flush(&s->r1);
    r.url = s->as2.token_url;
    r.body = body;
    r.cred = cred != NULL ? cred : &jwt;
    r.key = key != NULL ? key : &s->kr1;
    return na_env_check(&s->e, c, what, &r, status, 0, error, alt_error, out);
}

static char *exchange_body(const char *rt2)
{
    const char *const pairs[] = {"request_type", "exchange", "resource_token", rt2, NULL};
    return na_form(pairs);
}

/* EX-08: what a conforming exchange answer and T2 look like. */
static void judge_response(const struct aa_http_response *resp)
{
    char *rt = na_json_member(resp, "refresh_token"), *t2 = na_json_member(resp, "auth_token");
    struct aa_buf bad;
    struct aa_jwt j;

    aa_buf_init(&bad, 1024);
    memset(&j, 0, sizeof(j));
    if (rt != NULL)
        aa_buf_adds(&bad, "a refresh_token in the answer; ");
    if (t2 == NULL || aa_jwt_parse(t2, strlen(t2), &j, NULL) != AA_OK) {
        aa_buf_adds(&bad, "auth_token missing or not a JWS; ");
    } else {
        int64_t v;
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j.claims, "act")))
            aa_buf_adds(&bad, "T2 has no act object; ");
        if (!aa_jwt_claim_int(&j, "iat", &v))
            aa_buf_adds(&bad, "T2 has no iat; ");
        if (!aa_jwt_claim_int(&j, "nbf", &v))
            aa_buf_adds(&bad, "T2 has no nbf; ");
        aa_jwt_cleanup(&j);
    }
    if (bad.len == 0)
        aa_check_pass(&ex_resp, "no refresh_token; T2 has act, iat, nbf");
    else
        aa_check_fail(&ex_resp, ex_resp.expect, bad.p, NULL);
    aa_buf_free(&bad);
    free(rt);
    free(t2);
}

/* An upstream auth token as AS1 would issue it, signed with |key|. */
static cJSON *t1_claims(struct ex_scene *s, const char *iss)
{
    cJSON *c = cJSON_CreateObject(), *cnf = cJSON_CreateObject();
    int64_t now = aa_conf_now();

    if (c == NULL || cnf == NULL) {
        cJSON_Delete(c);
        cJSON_Delete(cnf);
        return NULL;
    }
    cJSON_AddStringToObject(c, "iss", iss);
    cJSON_AddStringToObject(c, "aud", s->r1id);
    cJSON_AddStringToObject(c, "agent", aa_client_agent_id(s->e.dg.c));
    cJSON_AddStringToObject(c, "agent_delegate", aa_client_sub(s->e.dg.c));
    cJSON_AddStringToObject(c, "scope", "data.read");
    cJSON_AddItemToObject(cnf, "jwk", na_jwk_json(aa_client_key(s->e.dg.c), false));
    cJSON_AddItemToObject(c, "cnf", cnf);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddNumberToObject(c, "exp", (double)(now + 3600));
    return c;
}

static char *sign_t1(cJSON *claims, const struct aa_jwk *key)
{
    cJSON *h = na_jwt_header("auth+jwt", key->kid);
    char *t = na_jwt(h, claims, key, NULL);

    cJSON_Delete(h);
    cJSON_Delete(claims);
    return t;
}

static void forged_upstream(struct ex_scene *s)
{
    struct aa_jwk as1k;
    struct aa_buf why;
    cJSON *c, *act = NULL;
    char *t;

    aa_buf_init(&why, 2048);
    memset(&as1k, 0, sizeof(as1k));
    if (!na_role_key(AA_ROLE_AUTH_SERVER, &as1k, &why)) {
        na_skip_list(AA_CHECKS(&ex_expired, &ex_depth), "%s", why.p);
        goto out;
    }
    t = sign_t1(t1_claims(s, s->e.as.t->id), &as1k);
    if (!exchange(s, &ex_expired, "control: T1 forged correctly with AS1's key", t, s->body, NULL,
                  NULL, 200, NULL, NULL, NULL)) {
        free(t);
        aa_check_not_evaluated(&ex_expired, AA_CHECKS(&ex_depth));
        goto out;
    }
    free(t);

    c = t1_claims(s, s->e.as.t->id);
    if (c != NULL) {
        cJSON_ReplaceItemInObjectCaseSensitive(c, "exp",
                                               cJSON_CreateNumber((double)(aa_conf_now() - 120)));
        cJSON_ReplaceItemInObjectCaseSensitive(c, "iat",
                                               cJSON_CreateNumber((double)(aa_conf_now() - 3720)));
    }
    t = sign_t1(c, &as1k);
    exchange(s, &ex_expired, "EX-06 T1 expired", t, s->body, NULL, NULL, 401, "invalid_token", NULL,
             NULL);
    free(t);

    /* act nested four deep: agents that acted upstream of upstream. */
    for (int i = 4; i >= 1; i--) {
        cJSON *lvl = cJSON_CreateObject();
        char name[80];
        aa_snprintf(name, sizeof(name), "https://agent%d.aauth-conformance.invalid", i);
        cJSON_AddStringToObject(lvl, "agent", name);
        if (act != NULL)
            cJSON_AddItemToObject(lvl, "act", act);
        act = lvl;
    }
    c = t1_claims(s, s->e.as.t->id);
    if (c != NULL && act != NULL) {
        cJSON_AddItemToObject(c, "act", act);
        act = NULL;
    }
    cJSON_Delete(act);
    t = sign_t1(c, &as1k);
    exchange(s, &ex_depth, "EX-09 act chain of 4 in T1", t, s->body, NULL, NULL, 403,
             "access_denied", NULL, NULL);
    free(t);
out:
    aa_jwk_cleanup(&as1k);
    aa_buf_free(&why);
}

static void untrusted_upstream(struct ex_scene *s)
{
    struct na_ident up;
    struct aa_buf why;
    char *t;

    memset(&up, 0, sizeof(up));
    aa_buf_init(&why, 2048);
    if (!na_hosting_usable(s->as2.t, &why)) {
        aa_check_skip(&ex_untrusted, "%s", why.p);
        goto out;
    }
    if (na_ident_start(&up, "aauth-issuer", NULL, &why) != AA_OK) {
        aa_check_error(&ex_untrusted, "%s", why.p);
        goto out;
    }
    t = sign_t1(t1_claims(s, up.id), &up.key);
    exchange(s, &ex_untrusted, "EX-01 T1 from an issuer AS2 does not trust", t, s->body, NULL, NULL,
             401, "invalid_token", NULL, NULL);
    free(t);
out:
    na_ident_stop(&up);
    aa_buf_free(&why);
}

AA_CASE(neg_auth, exchange,
        .title = "token exchange at AS2 (PROFILE#9 EX-01..09; instances auth2, resource2)",
        .needs = AA_NEED_ALL, .instances = AA_INSTANCES("auth2", "resource2"),
        .checks = AA_CHECKS(&ex_ok, &ex_resp, &ex_untrusted, &ex_aud, &ex_cred, &ex_agent_tok,
                            &ex_key, &ex_expired, &ex_no_rt, &ex_depth))
{
    const struct aa_conf_target *as2 = aa_conf_instance("auth2");
    const struct aa_conf_target *r2 = aa_conf_instance("resource2");
    struct aa_client_resource_token rt;
    struct aa_http_response resp;
    struct ex_scene s;
    struct aa_buf why;
    struct aa_diag d;
    struct aa_jwk other;
    char *b = NULL, *rt2b = NULL;
    int rc;

    memset(&s, 0, sizeof(s));
    memset(&rt, 0, sizeof(rt));
    memset(&other, 0, sizeof(other));
    aa_buf_init(&why, 4096);
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    if (!as2->present || !r2->present) {
        na_skip_rest("%s", !as2->present ? (as2->unavailable ? as2->unavailable : "no auth2")
                                         : (r2->unavailable ? r2->unavailable : "no resource2"));
        goto out;
    }
    if (!na_env_init(&s.e, NA_ENV_RT))
        goto out;
    s.r1id = aa_conf_target(AA_ROLE_RESOURCE)->id;
    if (na_as_init(&s.as2, as2, &why) != AA_OK) {
        na_error_rest("auth2: %s", why.p);
        goto out;
    }
    if (!na_role_key(AA_ROLE_RESOURCE, &s.kr1, &why)) {
        na_skip_rest("R1 signs the exchange with its own key (PROFILE#6.5, D-21): %s", why.p);
        goto out;
    }
    /* T1: AS1's auth token for R1, the way the delegate gets it (F3/F6). */
    if (!na_env_grant(&s.e, &s.t1, NULL, &why)) {
        na_error_rest("T1 from AS1: %s", why.p);
        goto out;
    }
    /* RT2: R2's resource token for R1 (R1 identified by jwks, aauth-resource). */
    if (r1_client(&s, &why) != AA_OK) {
        na_error_rest("%s", why.p);
        goto out;
    }
    aa_diag_clear(&d);
    rc = aa_client_resource_token_request(s.r1.c, r2->id, "data.read", NULL, &rt, &d);
    na_flush(&s.r1);
    if (rc != AA_OK || (s.rt2 = aa_strdup(rt.resource_token)) == NULL) {
        na_client_why(&why, "setup: RT2 from resource2 for R1", rc, &d);
        na_error_rest("%s", why.p);
        goto out;
    }
    aa_client_resource_token_cleanup(&rt);
    if ((s.body = exchange_body(s.rt2)) == NULL) {
        na_error_rest("out of memory");
        goto out;
    }

    aa_http_response_cleanup(&resp);
    aa_http_response_init(&resp);
    if (!exchange(&s, &ex_ok, "baseline: the exchange", s.t1, s.body, NULL, NULL, 200, NULL, NULL,
                  &resp)) {
        aa_check_not_evaluated(&ex_ok, aa_conf_current_case()->checks);
        goto out;
    }
    judge_response(&resp);

    untrusted_upstream(&s);

    /* EX-02: RT2 for the delegate's agent, not for R1 (T1's aud). */
    memset(&rt, 0, sizeof(rt));
    aa_diag_clear(&d);
    rc = aa_client_resource_token_request(s.e.dg.c, r2->id, "data.read", NULL, &rt, &d);
    na_flush(&s.e.dg);
    if (rc != AA_OK) {
        aa_buf_reset(&why);
        na_client_why(&why, "RT2 from resource2 for the delegate", rc, &d);
        aa_check_error(&ex_aud, "%s", why.p);
    } else {
        rt2b = exchange_body(rt.resource_token);
        exchange(&s, &ex_aud, "EX-02 RT2 names another agent than T1's aud", s.t1, rt2b, NULL, NULL,
                 400, "invalid_resource_token", NULL, NULL);
    }
    aa_client_resource_token_cleanup(&rt);

    /* EX-03: R1's own jwks identity instead of scheme=jwt. */
    {
        struct aa_sign_cred jw;
        memset(&jw, 0, sizeof(jw));
        jw.scheme = AA_SIGKEY_JWKS;
        jw.id = s.r1id;
        jw.kid = s.kr1.kid;
        jw.well_known = "aauth-resource";
        exchange(&s, &ex_cred, "EX-03 scheme=jwks", NULL, s.body, &jw, NULL, 400, "invalid_request",
                 NULL, NULL);
    }

    /* EX-04: the delegate's agent token as "upstream", signed by its key. */
    exchange(&s, &ex_agent_tok, "EX-04 upstream is an agent+jwt", aa_client_agent_token(s.e.dg.c),
             s.body, NULL, aa_client_key(s.e.dg.c), 401, "invalid_token", NULL, NULL);

    /* EX-05 */
    if (aa_jwk_generate(AA_KTY_OKP, "other", &other) != AA_OK)
        aa_check_error(&ex_key, "cannot generate a key");
    else
        exchange(&s, &ex_key, "EX-05 signed by a key other than agent_jkt", s.t1, s.body, NULL,
                 &other, 401, "invalid_key", "invalid_signature", NULL);

    /* EX-07 */
    b = na_form((const char *const[]){"request_type", "exchange", NULL});
    exchange(&s, &ex_no_rt, "EX-07 no resource_token", s.t1, b, NULL, NULL, 400, "invalid_request",
             NULL, NULL);

    forged_upstream(&s);
out:
    free(b);
    free(rt2b);
    aa_jwk_cleanup(&other);
    aa_client_resource_token_cleanup(&rt);
    na_client_free(&s.r1);
    aa_jwk_cleanup(&s.kr1);
    free(s.t1);
    free(s.rt2);
    free(s.body);
    na_as_cleanup(&s.as2);
    na_env_cleanup(&s.e);
    aa_buf_free(&why);
    aa_http_response_cleanup(&resp);
}
