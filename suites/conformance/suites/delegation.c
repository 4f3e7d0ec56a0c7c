/*
 * delegation: flow F6, Agent Delegation (PROFILE#7.6), the seed's demo
 * with its TEST 3 completed and TEST 4 added. `make demo` prints this
 * suite's seed-style report (PROFILE#8).
 *
 *   TEST 1  DG -> AG  POST /delegate/token; the agent token checked the way
 *                     its recipients will (agent-server checks)
 *   TEST 2  DG -> R   GET /data-jwks signed with scheme=jwt + agent token;
 *                     a flipped signature bit must be refused (resource)
 *   TEST 3  DG -> R   /data-auth -> auth-token challenge with a resource
 *                     token (resource); DG -> AS request_type=auth with it
 *                     (auth-server); DG -> R with the auth token (resource)
 *   TEST 4  refresh, key rotation, an agent token of another delegate
 *           (auth-server, agent-server, resource)
 *
 * Every check judges the role whose behaviour it is about, so with
 * --target-resource only the resource's verdicts are kept. Against an
 * external resource the embedded auth server (fixed with --listen /
 * --public-url auth-server=...) must be the one the resource trusts and
 * names in its challenges; against an external auth server the embedded
 * resource names and trusts it automatically.
 *
 * Design choice: the scenario is one case, as the seed is one run: each
 * TEST uses what the previous ones obtained. A later step runs only when
 * every check the recipient of its input relies on held (a token the
 * resource would rightly refuse must not make the resource look broken);
 * otherwise its checks are recorded "not evaluated" against the first
 * broken prerequisite (D-31).
 */
#include <stdlib.h>
#include <string.h>

#include "delegation_common.h"

#define ROLE_AG AA_ROLE_AGENT_SERVER
#define ROLE_R AA_ROLE_RESOURCE
#define ROLE_AS AA_ROLE_AUTH_SERVER
#define MUST AA_LEVEL_MUST
#define SHOULD AA_LEVEL_SHOULD

#define DELEGATE_SUB "delegate-1"     /* PROFILE#1 topology */
#define OTHER_SUB "delegate-2"        /* TEST 4.3 */
#define DELEGATE_KID "delegate-key-1" /* PROFILE#7.6 TEST 1 */
#define ROTATED_KID "delegate-key-2"
#define OTHER_KID "delegate-2-key-1"
#define TOKEN_SHOWN 100 /* the seed shows 100 characters of a token, then "..." */

#define DG_CHECK(name, id_, test_, role_, level_, spec_, rfc_, title_, expect_, line_)             \
    AA_CHECK(name, .id = id_, .suite = "delegation", .title = title_, .role = role_,               \
             .level = level_, .spec = spec_, .rfc = rfc_, .expect = expect_, .test_no = test_,     \
             .line = line_)

/* ---- the flow (PROFILE#8: banner, description and tests from the seed) ---- */

static const char *const f6_lines[] = {
    "This demo shows the agent delegation flow:",
    "1. Agent server starts and publishes JWKS",
    "2. Agent delegate requests agent token from agent server",
    "3. Agent delegate accesses resource using agent token",
    "4. Resource validates agent token and grants access",
    "5. Agent delegate requests auth token using agent token",
    "6. Auth server validates agent token and issues auth token with agent_delegate claim",
    NULL};

AA_FLOW(delegation, .suite = "delegation", .banner = "Agent Delegation Demo",
        .description_lines = f6_lines, .seed_tests = 3,
        AA_FLOW_TESTS({1, "Delegate Requests Agent Token", "Delegate Requests Agent Token",
                       "Agent delegate requests agent token from agent server.",
                       "Agent token obtained and validated"},
                      {2, "Delegate Accesses Resource Using Agent Token",
                       "Delegate Accesses Resource",
                       "Agent delegate makes signed request to resource using agent token.",
                       "Resource accepted agent token"},
                      {3, "Delegate Requests Auth Token Using Agent Token",
                       "Delegate Requests Auth Token",
                       "Agent delegate requests auth token from auth server using agent token.",
                       "Auth token with agent_delegate claim obtained and accepted"},
                      {4, "Delegate Refreshes Auth Token", "Delegate Refreshes Auth Token",
                       "Agent delegate refreshes auth token, rotates its key and refreshes "
                       "again.",
                       "Auth token refreshed and bound to the rotated key"}));

/* ---- TEST 1: the agent token (agent server; PROFILE#6.1, #4.2, #4.3) ------- */

DG_CHECK(t1_status, "delegation.agent-token.status", 1, ROLE_AG, MUST, "PROFILE#6.1", NULL,
         "POST {agent}/delegate/token {\"sub\":\"delegate-1\",\"cnf_jwk\":{...}} (JSON, unsigned "
         "as in the seed)",
         "200", "Agent token request answered: HTTP {actual}");
DG_CHECK(t1_response, "delegation.agent-token.response", 1, ROLE_AG, MUST, "PROFILE#6.1",
         "RFC7515#7.1", "delegate-token response body",
         "a JSON object whose agent_token is a compact JWS and whose expires_in is an integer",
         "Agent token obtained: {actual}");
DG_CHECK(t1_expires, "delegation.agent-token.expires-in", 1, ROLE_AG, MUST, "PROFILE#6.1", NULL,
         "delegate-token response expires_in", "expires_in = 3600 (D-5)",
         "expires_in correct: {actual}");
DG_CHECK(t1_nostore, "delegation.agent-token.no-store", 1, ROLE_AG, MUST, "PROFILE#6",
         "RFC6749#5.1", "delegate-token response Cache-Control",
         "Cache-Control: no-store on a token response (D-25)", "Cache-Control: {actual}");
DG_CHECK(t1_typ, "delegation.agent-token.typ", 1, ROLE_AG, MUST, "PROFILE#4.2", "RFC7515#4.1.9",
         "agent token header typ", "typ = agent+jwt (issuers emit the short form, D-28)",
         "typ claim correct: {actual}");
DG_CHECK(t1_alg, "delegation.agent-token.alg", 1, ROLE_AG, MUST, "PROFILE#4.1", "RFC8037#3.1",
         "agent token header alg", "alg = EdDSA (D-12)", "alg header correct: {actual}");
DG_CHECK(t1_kid, "delegation.agent-token.kid", 1, ROLE_AG, MUST, "PROFILE#4.3", "RFC7515#4.1.4",
         "agent token header kid resolved through {iss}/.well-known/aauth-agent",
         "the metadata's agent equals iss and its jwks_uri holds a key with that kid whose type "
         "matches alg (PROFILE#4.3 steps 3-6)",
         "kid resolves: {actual}");
DG_CHECK(t1_sig, "delegation.agent-token.signature", 1, ROLE_AG, MUST, "PROFILE#4.3", "RFC7515#5.2",
         "agent token JWS signature",
         "verifies under the key the agent publishes (PROFILE#4.3 step 7)",
         "JWS signature verified: {actual}");
DG_CHECK(t1_iss, "delegation.agent-token.iss", 1, ROLE_AG, MUST, "PROFILE#4.2", "RFC7519#4.1.1",
         "agent token iss claim", "iss = the agent server's identifier",
         "iss claim correct: {actual}");
DG_CHECK(t1_sub, "delegation.agent-token.sub", 1, ROLE_AG, MUST, "PROFILE#6.1", "RFC7519#4.1.2",
         "agent token sub claim", "sub = the requested sub, delegate-1",
         "sub claim correct: {actual}");
DG_CHECK(t1_exp, "delegation.agent-token.exp", 1, ROLE_AG, MUST, "PROFILE#4.2", "RFC7519#4.1.4",
         "agent token exp claim", "an integer exp in the future",
         "exp claim in the future: {actual}");
DG_CHECK(t1_lifetime, "delegation.agent-token.exp-lifetime", 1, ROLE_AG, MUST, "PROFILE#7.6", NULL,
         "agent token exp against expires_in", "exp - now <= expires_in + 60 (D-6 skew)",
         "exp consistent with expires_in: {actual}");
DG_CHECK(t1_cnf_present, "delegation.agent-token.cnf-present", 1, ROLE_AG, MUST, "PROFILE#4.2",
         "RFC7800#3.2", "agent token cnf.jwk claim", "cnf.jwk is a public JWK of a supported type",
         "cnf.jwk claim present");
DG_CHECK(t1_cnf, "delegation.agent-token.cnf", 1, ROLE_AG, MUST, "PROFILE#6.1", "RFC7638#3",
         "agent token cnf.jwk against the submitted cnf_jwk",
         "the same key (equal RFC 7638 thumbprints, D-27); members copied as submitted "
         "(a changed member is a WARN)",
         "cnf.jwk matches the delegate key: {actual}");

/* ---- TEST 2: the agent token at the resource (PROFILE#6.2, #4.3) ----------- */

DG_CHECK(t2_ok, "delegation.resource.agent-token-accepted", 2, ROLE_R, MUST, "PROFILE#6.2", NULL,
         "GET {resource}/data-jwks signed with scheme=jwt and the agent token",
         "200: an agent token from an agent the resource can discover is an identity "
         "credential (PROFILE#4.3)",
         "Resource access granted");
DG_CHECK(t2_body, "delegation.resource.agent-token-recognized", 2, ROLE_R, MUST, "PROFILE#6.2",
         NULL, "/data-jwks response body for the agent token",
         "scheme=jwt, token_type=agent+jwt, method=GET, agent=<the agent id>, "
         "agent_delegate=delegate-1 (compared by value)",
         "Resource recognized agent token");
DG_CHECK(t2_fetched, "delegation.resource.agent-keys-fetched", 2, ROLE_R, MUST, "PROFILE#4.3", NULL,
         "GET {resource}/data-jwks with an agent token of a fresh agent the harness hosts "
         "(127.0.0.1; needs a resource on loopback)",
         "200, after the resource fetched that agent's /.well-known/aauth-agent and its JWKS "
         "(PROFILE#4.3 step 5)",
         "Resource fetched agent metadata and JWKS: {actual}");
DG_CHECK(t2_badsig, "delegation.resource.bad-signature-rejected", 2, ROLE_R, MUST, "PROFILE#2.11",
         "RFC9421#3.2", "the TEST 2 request with one signature bit flipped",
         "401 invalid_signature", "Tampered signature rejected: HTTP {actual}");

/* ---- TEST 3: resource token, auth token, access (PROFILE#5, #6.3, #4.4, #4.5) */

DG_CHECK(t3_required, "delegation.resource.auth-required", 3, ROLE_R, MUST, "PROFILE#5", NULL,
         "GET {resource}/data-auth signed with the agent token (no auth token)",
         "401 with an auth-token challenge (AU-09: an agent token is not authorisation)",
         "Auth token required: HTTP {actual}");
DG_CHECK(t3_challenge, "delegation.resource.auth-challenge", 3, ROLE_R, MUST, "PROFILE#5",
         "RFC8941#3.1", "Agent-Auth of the /data-auth 401",
         "httpsig; auth-token; resource_token=\"...\"; auth_server=\"<the auth server the "
         "resource is configured to trust>\"",
         "Challenge names auth server: {actual}");
DG_CHECK(t3_rt_typ, "delegation.resource-token.typ", 3, ROLE_R, MUST, "PROFILE#4.2",
         "RFC7515#4.1.9", "resource token header typ", "typ = resource+jwt",
         "Resource token typ correct: {actual}");
DG_CHECK(t3_rt_sig, "delegation.resource-token.signature", 3, ROLE_R, MUST, "PROFILE#4.4",
         "RFC7515#5.2", "resource token JWS signature",
         "verifies under the key behind {iss}/.well-known/aauth-resource (resource = iss)",
         "Resource token signature verified: {actual}");
DG_CHECK(t3_rt_iss, "delegation.resource-token.iss", 3, ROLE_R, MUST, "PROFILE#4.2", NULL,
         "resource token iss claim", "iss = the resource's identifier",
         "Resource token iss correct: {actual}");
DG_CHECK(t3_rt_aud, "delegation.resource-token.aud", 3, ROLE_R, MUST, "PROFILE#4.2", NULL,
         "resource token aud claim", "aud = the auth server's identifier (a string)",
         "Resource token aud correct: {actual}");
DG_CHECK(t3_rt_agent, "delegation.resource-token.agent", 3, ROLE_R, MUST, "PROFILE#7.6", NULL,
         "resource token agent claim", "agent = the agent token's iss (the agent server)",
         "Resource token agent correct: {actual}");
DG_CHECK(t3_rt_jkt, "delegation.resource-token.agent-jkt", 3, ROLE_R, MUST, "PROFILE#7.6",
         "RFC7638#3", "resource token agent_jkt claim",
         "agent_jkt = RFC 7638 thumbprint of the delegate's key (the key that signed)",
         "Resource token agent_jkt = delegate key: {actual}");
DG_CHECK(t3_rt_exp, "delegation.resource-token.exp", 3, ROLE_R, MUST, "PROFILE#4.2", NULL,
         "resource token exp claim", "an integer exp in the future",
         "Resource token exp in the future: {actual}");
DG_CHECK(t3_rt_scope, "delegation.resource-token.scope", 3, ROLE_R, MUST, "PROFILE#4.2", NULL,
         "resource token scope / auth_request_url",
         "exactly one of them (D-16), here a non-empty scope", "Resource token scope: {actual}");
DG_CHECK(t3_as_md, "delegation.auth-server.metadata", 3, ROLE_AS, MUST, "PROFILE#3", "RFC8414#3.3",
         "GET {auth_server}/.well-known/aauth-issuer",
         "200 JSON object, issuer = the identifier, agent_token_endpoint an http(s) URL",
         "agent_token_endpoint: {actual}");
DG_CHECK(t3_at_status, "delegation.auth-token.status", 3, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "POST agent_token_endpoint request_type=auth&resource_token=...&redirect_uri="
         "{agent}/callback signed with the agent token (content-type, content-digest, nonce "
         "covered)",
         "200", "Auth token request answered: HTTP {actual}");
DG_CHECK(t3_at_resp, "delegation.auth-token.response", 3, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "request_type=auth response body",
         "a JSON object: auth_token (a compact JWS), expires_in (integer > 0), refresh_token "
         "(direct grant)",
         "Auth token obtained: {actual}");
DG_CHECK(t3_at_nostore, "delegation.auth-token.no-store", 3, ROLE_AS, MUST, "PROFILE#6",
         "RFC6749#5.1", "request_type=auth response Cache-Control",
         "Cache-Control: no-store on a token response (D-25)",
         "Auth token response Cache-Control: {actual}");
DG_CHECK(t3_at_typ, "delegation.auth-token.typ", 3, ROLE_AS, MUST, "PROFILE#4.2", "RFC7515#4.1.9",
         "auth token header typ", "typ = auth+jwt", "Auth token typ correct: {actual}");
DG_CHECK(t3_at_sig, "delegation.auth-token.signature", 3, ROLE_AS, MUST, "PROFILE#4.5",
         "RFC7515#5.2", "auth token JWS signature",
         "verifies under the key behind {iss}/.well-known/aauth-issuer (issuer = iss)",
         "Auth token signature verified: {actual}");
DG_CHECK(t3_at_iss, "delegation.auth-token.iss", 3, ROLE_AS, MUST, "PROFILE#4.2", NULL,
         "auth token iss claim", "iss = the auth server's identifier",
         "Auth token iss correct: {actual}");
DG_CHECK(t3_at_aud, "delegation.auth-token.aud", 3, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "auth token aud claim", "aud = the resource token's iss (the resource)",
         "Auth token aud correct: {actual}");
DG_CHECK(t3_at_agent, "delegation.auth-token.agent", 3, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "auth token agent claim", "agent = the agent server's identifier",
         "Auth token agent correct: {actual}");
DG_CHECK(t3_at_delegate, "delegation.auth-token.agent-delegate", 3, ROLE_AS, MUST, "PROFILE#6.3",
         NULL, "auth token agent_delegate claim", "agent_delegate = the agent token's sub",
         "Auth token agent_delegate correct: {actual}");
DG_CHECK(t3_at_cnf, "delegation.auth-token.cnf", 3, ROLE_AS, MUST, "PROFILE#6.3", "RFC7800#3.1",
         "auth token cnf.jwk", "the delegate's key (equal RFC 7638 thumbprints, D-27)",
         "Auth token cnf.jwk = delegate key: {actual}");
DG_CHECK(t3_at_scope, "delegation.auth-token.scope", 3, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "auth token scope claim", "scope = the resource token's scope",
         "Auth token scope = resource token scope: {actual}");
DG_CHECK(t3_at_exp, "delegation.auth-token.exp", 3, ROLE_AS, MUST, "PROFILE#4.2", NULL,
         "auth token exp claim", "an integer exp in the future",
         "Auth token exp in the future: {actual}");
DG_CHECK(t3_r_ok, "delegation.resource.auth-token-accepted", 3, ROLE_R, MUST, "PROFILE#4.5", NULL,
         "GET {resource}/data-auth signed by the delegate key with scheme=jwt and the auth "
         "token",
         "200", "Resource access granted with auth token");
DG_CHECK(t3_r_body, "delegation.resource.auth-token-recognized", 3, ROLE_R, MUST, "PROFILE#6.2",
         NULL, "/data-auth response body",
         "scheme=jwt, token_type=auth+jwt, method=GET, agent=<agent id>, "
         "agent_delegate=delegate-1, scope=<the auth token's scope> (compared by value)",
         "Resource recognized auth token");

/* ---- TEST 4: refresh and rotation (PROFILE#6.3 refresh, D-20) --------------- */

DG_CHECK(t4_status, "delegation.refresh.status", 4, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "POST agent_token_endpoint request_type=refresh&refresh_token=... signed with the "
         "agent token",
         "200", "Refresh answered: HTTP {actual}");
DG_CHECK(t4_resp, "delegation.refresh.response", 4, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "request_type=refresh response body",
         "a JSON object: auth_token (a compact JWS), expires_in (integer > 0)",
         "Refreshed auth token obtained: {actual}");
DG_CHECK(t4_nostore, "delegation.refresh.no-store", 4, ROLE_AS, MUST, "PROFILE#6", "RFC6749#5.1",
         "request_type=refresh response Cache-Control",
         "Cache-Control: no-store on a token response (D-25)",
         "Refresh response Cache-Control: {actual}");
DG_CHECK(t4_norot, "delegation.refresh.no-new-refresh-token", 4, ROLE_AS, SHOULD, "PROFILE#6.3",
         NULL, "refresh_token member of the refresh response",
         "absent: refresh tokens are not rotated (D-20; RF-06)", "No new refresh token issued");
DG_CHECK(t4_claims, "delegation.refresh.claims-unchanged", 4, ROLE_AS, MUST, "PROFILE#7.6", NULL,
         "claims of the refreshed auth token",
         "a valid auth+jwt from the same issuer with agent, agent_delegate, aud, scope and "
         "cnf unchanged",
         "Refreshed token keeps agent, agent_delegate, aud, scope and key");
DG_CHECK(t4_exp, "delegation.refresh.exp", 4, ROLE_AS, MUST, "PROFILE#7.6", NULL,
         "exp of the refreshed auth token", "exp >= the previous auth token's exp",
         "Refreshed token exp not earlier: {actual}");
DG_CHECK(t4_rot_ag, "delegation.rotation.agent-token", 4, ROLE_AG, MUST, "PROFILE#6.1", NULL,
         "POST {agent}/delegate/token for a new key K2 with the same sub",
         "200 with an agent+jwt valid under the agent's JWKS: same iss and sub, cnf.jwk = K2",
         "Agent token for rotated key obtained: {actual}");
DG_CHECK(t4_rot_status, "delegation.rotation.refresh-status", 4, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "request_type=refresh signed by K2 with the new agent token",
         "200 with an auth_token: the refresh credential is the identity, not the old key "
         "(D-20)",
         "Refresh with rotated key answered: HTTP {actual}");
DG_CHECK(t4_rot_cnf, "delegation.rotation.cnf-follows-key", 4, ROLE_AS, MUST, "PROFILE#6.3",
         "RFC7800#3.1", "cnf.jwk of the auth token refreshed with the new agent token",
         "a valid auth+jwt whose cnf.jwk is K2, agent, agent_delegate and aud unchanged",
         "Auth token cnf.jwk follows the new key: {actual}");
DG_CHECK(t4_rot_use, "delegation.rotation.new-key-accepted", 4, ROLE_R, MUST, "PROFILE#4.5", NULL,
         "GET {resource}/data-auth with the new auth token, signed by K2", "200",
         "Resource accepts the new auth token signed by K2");
DG_CHECK(t4_rot_old, "delegation.rotation.old-token-rejected", 4, ROLE_R, MUST, "PROFILE#4.5", NULL,
         "GET {resource}/data-auth with the old auth token (cnf = K1), signed by K2",
         "401 invalid_signature (PROFILE#4.5 step 11)",
         "Old auth token signed by K2 rejected: HTTP {actual}");
DG_CHECK(t4_other, "delegation.refresh.other-sub", 4, ROLE_AS, MUST, "PROFILE#6.3", NULL,
         "request_type=refresh of delegate-1's refresh token, signed with an agent token of "
         "another delegate (sub delegate-2) of the same agent",
         "400 invalid_grant (RF-03: the refresh token is bound to agent_delegate)",
         "Refresh by another delegate rejected: HTTP {actual}");

/* ---- state ------------------------------------------------------------------ */

struct dg {
    const struct aa_conf_target *ag, *r, *as;
    struct aa_jwk k1, k2, k3;
    char jkt1[AA_JWK_THUMBPRINT_LEN + 1];
    char jkt2[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *cnf1; /* the cnf_jwk submitted in TEST 1 */
    char *agent_token;
    char *rt, *rt_scope;
    char *token_endpoint;
    char *auth_token, *refresh_token, *at_scope;
    cJSON *at_claims; /* the TEST 3 auth token's claims, as issued */
    bool at_ok;       /* every TEST 3 auth token check held */
    int64_t at_exp;
    struct aa_buf url;
    struct aa_http_response resp;
    struct aa_diag d;
};

static const struct aa_check *const t1_gate[] = {&t1_status, &t1_response,    &t1_typ, &t1_alg,
                                                 &t1_kid,    &t1_sig,         &t1_iss, &t1_sub,
                                                 &t1_exp,    &t1_cnf_present, &t1_cnf, NULL};
static const struct aa_check *const t1_all[] = {
    &t1_response, &t1_expires, &t1_nostore, &t1_typ,      &t1_alg,         &t1_kid, &t1_sig,
    &t1_iss,      &t1_sub,     &t1_exp,     &t1_lifetime, &t1_cnf_present, &t1_cnf, NULL};
static const struct aa_check *const t2_all[] = {&t2_ok, &t2_body, &t2_fetched, &t2_badsig, NULL};
static const struct aa_check *const rt_checks[] = {&t3_rt_typ, &t3_rt_sig,   &t3_rt_iss,
                                                   &t3_rt_aud, &t3_rt_agent, &t3_rt_jkt,
                                                   &t3_rt_exp, &t3_rt_scope, NULL};
static const struct aa_check *const at_checks[] = {
    &t3_at_typ,      &t3_at_sig, &t3_at_iss,   &t3_at_aud, &t3_at_agent,
    &t3_at_delegate, &t3_at_cnf, &t3_at_scope, &t3_at_exp, NULL};
static const struct aa_check *const t3_all[] = {
    &t3_required, &t3_challenge, &t3_rt_typ,  &t3_rt_sig,     &t3_rt_iss,
    &t3_rt_aud,   &t3_rt_agent,  &t3_rt_jkt,  &t3_rt_exp,     &t3_rt_scope,
    &t3_as_md,    &t3_at_status, &t3_at_resp, &t3_at_nostore, &t3_at_typ,
    &t3_at_sig,   &t3_at_iss,    &t3_at_aud,  &t3_at_agent,   &t3_at_delegate,
    &t3_at_cnf,   &t3_at_scope,  &t3_at_exp,  &t3_r_ok,       &t3_r_body,
    NULL};
static const struct aa_check *const t4_all[] = {
    &t4_status,     &t4_resp,    &t4_nostore, &t4_norot,   &t4_claims, &t4_exp, &t4_rot_ag,
    &t4_rot_status, &t4_rot_cnf, &t4_rot_use, &t4_rot_old, &t4_other,  NULL};
static const struct aa_check *const t4_rotation[] = {&t4_rot_status, &t4_rot_cnf, &t4_rot_use,
                                                     &t4_rot_old, NULL};

/* Everything from TEST |from| on is not evaluated because |prereq| broke. */
static void skip_from(int from, const struct aa_check *prereq)
{
    if (from <= 2)
        dlg_not_evaluated(prereq, t2_all);
    if (from <= 3)
        dlg_not_evaluated(prereq, t3_all);
    dlg_not_evaluated(prereq, t4_all);
}

static void reset(struct dg *g)
{
    aa_http_response_cleanup(&g->resp);
    aa_http_response_init(&g->resp);
    aa_diag_clear(&g->d);
}

/* Strings differ; NULL (absent) differs from everything. */
static int differs(const char *a, const char *b)
{
    return a == NULL || b == NULL || strcmp(a, b) != 0;
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v != NULL ? aa_strdup(v) : NULL;
}

/* ---- requests --------------------------------------------------------------- */

/* POST {agent}/delegate/token {"sub":..,"cnf_jwk":{public JWK with kid}} (PROFILE#6.1).
 * |cnf| (may be NULL) receives a copy of the submitted cnf_jwk. */
static int request_agent_token(struct dg *g, const char *sub, const struct aa_jwk *key, cJSON **cnf)
{
    cJSON *body = cJSON_CreateObject(), *jwk = aa_jwk_to_cjson(key, false);
    char *text = NULL;
    int rc;

    reset(g);
    if (body == NULL || jwk == NULL || cJSON_AddStringToObject(body, "sub", sub) == NULL) {
        cJSON_Delete(jwk);
        cJSON_Delete(body);
        return aa_fail(&g->d, AA_E_NOMEM, "README#internals", "cannot build the request body");
    }
    if (cnf != NULL)
        *cnf = cJSON_Duplicate(jwk, true);
    cJSON_AddItemToObject(body, "cnf_jwk", jwk);
    text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (text == NULL || dlg_url(&g->url, g->ag->id, AA_REF_PATH_DELEGATE_TOKEN) != AA_OK) {
        free(text);
        return aa_fail(&g->d, AA_E_NOMEM, "README#internals", "cannot build the request");
    }
    {
        struct dlg_req rq = {"POST", g->url.p, "application/json", text, strlen(text)};
        rc = dlg_send("DELEGATE", &rq, &g->resp, &g->d);
    }
    free(text);
    return rc;
}

/* A signed request with scheme=jwt and |token|, by |key|. */
static int send_jwt(struct dg *g, const char *method, const char *url, const char *form,
                    const char *token, const struct aa_jwk *key, unsigned variants)
{
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts so = {0};
    struct dlg_req rq = {method, url, NULL, NULL, 0};

    reset(g);
    cred.scheme = AA_SIGKEY_JWT;
    cred.token = token;
    so.variants = variants;
    if (form != NULL) {
        rq.content_type = "application/x-www-form-urlencoded";
        rq.body = form;
        rq.body_len = strlen(form);
    }
    return dlg_send_signed("DELEGATE", &rq, key, &cred, &so, &g->resp, &g->d);
}

/* ---- TEST 1 ----------------------------------------------------------------- */

static void check_cnf(struct dg *g, const struct aa_jwt *jwt)
{
    const cJSON *cnf = cJSON_GetObjectItemCaseSensitive(jwt->claims, "cnf");
    const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(cnf, "jwk");
    struct aa_jwk k = {0};
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    struct aa_buf diff;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    rc = aa_jwt_cnf_jwk(jwt, &k, &d);
    if (!dlg_expect_ok(&t1_cnf_present, rc, &d, k.crv)) {
        dlg_not_evaluated(&t1_cnf_present, AA_CHECKS(&t1_cnf));
        return;
    }
    dlg_thumbprint(&k, jkt);
    aa_jwk_cleanup(&k);
    if (strcmp(jkt, g->jkt1) != 0) {
        dlg_fail(&t1_cnf, g->jkt1, jkt,
                 "the agent token binds another key than the one submitted (CL-03)");
        return;
    }
    aa_buf_init(&diff, 4096);
    if (aa_conf_json_equal(g->cnf1, jwk, 0, &diff))
        aa_check_pass(&t1_cnf, "%s", jkt);
    else
        dlg_warn(&t1_cnf, "cnf.jwk = the submitted cnf_jwk, member by member (PROFILE#6.1)",
                 diff.p != NULL ? diff.p : "members differ",
                 "the thumbprint matches (D-27) but the members were not copied as submitted");
    aa_buf_free(&diff);
}

/* Returns true when the agent token is fit for its recipients (t1_gate). */
static bool test1(struct dg *g)
{
    struct aa_jwt jwt;
    cJSON *doc = NULL;
    const char *tok, *iss, *cc;
    int64_t expires_in = 0, exp = 0, now = aa_conf_now();
    char shown[TOKEN_SHOWN + 8];
    bool ok = false;
    int rc;

    memset(&jwt, 0, sizeof(jwt));
    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate requesting agent token from agent server...");
    rc = request_agent_token(g, DELEGATE_SUB, &g->k1, &g->cnf1);
    if (!dlg_expect_http(&t1_status, rc, &g->d, &g->resp, 200, NULL)) {
        dlg_not_evaluated(&t1_status, t1_all);
        goto out;
    }
    doc = dlg_json_body(&g->resp);
    tok = aa_json_str(doc, "agent_token");
    if (doc == NULL || tok == NULL || !aa_json_int(doc, "expires_in", &expires_in)) {
        dlg_fail(&t1_response, NULL,
                 doc == NULL   ? "not a JSON object"
                 : tok == NULL ? "no agent_token string"
                               : "no integer expires_in",
                 NULL);
        dlg_not_evaluated(&t1_response, t1_all);
        goto out;
    }
    aa_diag_clear(&g->d);
    if ((rc = dlg_token_decode("agent token", tok, &jwt, &g->d)) != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&g->d, text, sizeof(text));
        dlg_fail(&t1_response, NULL, text, "agent_token must be a compact JWS (PROFILE#4.1)");
        dlg_not_evaluated(&t1_response, t1_all);
        goto out;
    }
    set_str(&g->agent_token, tok);
    dlg_token_prefix(tok, TOKEN_SHOWN, shown, sizeof(shown));
    aa_check_pass(&t1_response, "%s", shown);
    dlg_expect(&t1_expires, expires_in == aa_profile_default()->time.agent_token, "%lld",
               (long long)expires_in);
    cc = aa_http_headers_get(&g->resp.headers, "Cache-Control");
    dlg_expect(&t1_nostore, dlg_no_store(&g->resp), "%s", cc != NULL ? cc : "(absent)");

    dlg_check_typ(&t1_typ, &jwt, "agent+jwt");
    dlg_expect(&t1_alg, jwt.alg_name != NULL && strcmp(jwt.alg_name, "EdDSA") == 0, "%s",
               jwt.alg_name != NULL ? jwt.alg_name : "(absent)");
    iss = aa_jwt_claim_str(&jwt, "iss");
    if (!dlg_expect_str(&t1_iss, "iss", g->ag->id, iss)) {
        /* Keys are looked up at {iss}; a wrong iss is not fetched (SSRF). */
        dlg_not_evaluated(&t1_iss, AA_CHECKS(&t1_kid, &t1_sig));
    } else if (jwt.kid == NULL) {
        dlg_fail(&t1_kid, NULL, "no kid header", "kid is REQUIRED (PROFILE#4.1)");
        dlg_not_evaluated(&t1_kid, AA_CHECKS(&t1_sig));
    } else {
        struct aa_jwk key = {0};
        struct aa_buf jwks_url;
        aa_buf_init(&jwks_url, AA_URL_MAX_LEN + 1);
        aa_diag_clear(&g->d);
        rc = dlg_issuer_key(iss, "aauth-agent", jwt.kid, &key, &jwks_url, &g->d);
        if (rc == AA_OK && !aa_alg_matches_key(jwt.alg, &key))
            rc = aa_fail(&g->d, AA_E_JWS_ALG, "PROFILE#4.1",
                         "key \"%s\" (kty %s%s%s) does not match alg %s", jwt.kid,
                         key.kty == AA_KTY_OKP  ? "OKP"
                         : key.kty == AA_KTY_EC ? "EC"
                                                : "RSA",
                         key.crv[0] ? ", crv " : "", key.crv,
                         jwt.alg_name ? jwt.alg_name : "(none)");
        {
            char where[AA_URL_MAX_LEN + AA_JWK_KID_MAX + 16];
            aa_snprintf(where, sizeof(where), "%s in %s", jwt.kid,
                        jwks_url.p != NULL ? jwks_url.p : "(no jwks_uri)");
            if (dlg_expect_ok(&t1_kid, rc, &g->d, where)) {
                aa_diag_clear(&g->d);
                rc = aa_jwt_verify(&jwt, &key, &g->d);
                aa_snprintf(where, sizeof(where), "kid %s", jwt.kid);
                dlg_expect_ok(&t1_sig, rc, &g->d, where);
            } else {
                dlg_not_evaluated(&t1_kid, AA_CHECKS(&t1_sig));
            }
        }
        aa_jwk_cleanup(&key);
        aa_buf_free(&jwks_url);
    }
    dlg_expect_str(&t1_sub, "sub", DELEGATE_SUB, aa_jwt_claim_str(&jwt, "sub"));
    if (!aa_jwt_claim_int(&jwt, "exp", &exp)) {
        dlg_fail(&t1_exp, NULL, "no integer exp", NULL);
        dlg_not_evaluated(&t1_exp, AA_CHECKS(&t1_lifetime));
    } else {
        dlg_expect(&t1_exp, exp > now, "%lld (now %+lld s)", (long long)exp,
                   (long long)(exp - now));
        dlg_expect(&t1_lifetime, exp - now <= expires_in + 60,
                   "exp - now = %lld s, expires_in = %lld s", (long long)(exp - now),
                   (long long)expires_in);
    }
    check_cnf(g, &jwt);
    ok = dlg_first_broken(t1_gate) == NULL;
out:
    aa_jwt_cleanup(&jwt);
    cJSON_Delete(doc);
    return ok;
}

/* ---- TEST 2 ----------------------------------------------------------------- */


/*
 * PROFILE#7 F2.3/F6 TEST 2: a fresh agent identity that only the harness
 * hosts, so whether the resource fetched its metadata and JWKS is visible
 * in that server's hit counters.
 */
static void resource_fetches_keys(struct dg *g)
{
    struct dlg_agent a;
    struct aa_jwk k = {0};
    cJSON *doc = NULL;
    const char *tok;
    uint64_t md, jw;
    int rc;

    aa_diag_clear(&g->d);
    if (!aa_conf_harness_reachable(g->r, &g->d)) {
        dlg_skip(&t2_fetched, g->d.msg);
        return;
    }
    if ((rc = dlg_agent_start(&a, &g->d)) != AA_OK) {
        dlg_error(&t2_fetched, "the harness agent server could not start: %s", g->d.msg);
        return;
    }
    if ((rc = dlg_keygen(DELEGATE_KID, &k)) != AA_OK) {
        dlg_error(&t2_fetched, "cannot generate a key: %s", aa_conf_strerror(rc));
        goto out;
    }
    {
        const struct aa_conf_target *saved = g->ag;
        struct aa_conf_target own = *g->ag;
        own.id = a.id;
        own.connect_url = a.id;
        g->ag = &own;
        rc = request_agent_token(g, DELEGATE_SUB, &k, NULL);
        g->ag = saved;
    }
    doc = dlg_json_body(&g->resp);
    if (rc != AA_OK || g->resp.status != 200 || (tok = aa_json_str(doc, "agent_token")) == NULL) {
        dlg_error(&t2_fetched, "the harness agent server did not issue an agent token: %s",
                  rc != AA_OK ? g->d.msg : "no agent_token");
        goto out;
    }
    if (dlg_url(&g->url, g->r->id, g->r->jwks_path) != AA_OK) {
        dlg_error(&t2_fetched, "URL too long");
        goto out;
    }
    {
        char *t = aa_strdup(tok);
        rc = send_jwt(g, "GET", g->url.p, NULL, t, &k, 0);
        free(t);
    }
    md = dlg_agent_metadata_hits(&a);
    jw = dlg_agent_jwks_hits(&a);
    if (rc != AA_OK && !aa_http_err_is_transport(rc)) {
        dlg_error(&t2_fetched, "could not sign the request: %s", g->d.msg);
    } else if (rc != AA_OK || g->resp.status != 200) {
        dlg_expect_http(&t2_fetched, rc, &g->d, &g->resp, 200, NULL);
    } else if (jw == 0) {
        dlg_fail(&t2_fetched, NULL, "no request for the JWKS",
                 "the resource accepted an agent token of an agent whose keys it never fetched: "
                 "metadata %llu, JWKS %llu requests",
                 (unsigned long long)md, (unsigned long long)jw);
    } else {
        aa_check_pass(&t2_fetched, "metadata %llu, JWKS %llu request%s%s", (unsigned long long)md,
                      (unsigned long long)jw, jw == 1 ? "" : "s",
                      md == 0 ? " (metadata from the resource's cache)" : "");
    }
out:
    cJSON_Delete(doc);
    aa_jwk_cleanup(&k);
    dlg_agent_stop(&a);
}

static void test2(struct dg *g)
{
    int rc;

    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate accessing resource with agent token...");
    if (dlg_url(&g->url, g->r->id, g->r->jwks_path) != AA_OK) {
        dlg_error(&t2_ok, "resource URL too long");
        dlg_not_evaluated(&t2_ok, t2_all);
        return;
    }
    rc = send_jwt(g, "GET", g->url.p, NULL, g->agent_token, &g->k1, 0);
    if (dlg_expect_http(&t2_ok, rc, &g->d, &g->resp, 200, NULL)) {
        const char *const want[] = {"scheme",         "jwt",        "token_type", "agent+jwt",
                                    "method",         "GET",        "agent",      g->ag->id,
                                    "agent_delegate", DELEGATE_SUB, NULL};
        dlg_expect_body(&t2_body, &g->resp, want);
    } else {
        dlg_not_evaluated(&t2_ok, AA_CHECKS(&t2_body));
    }
    /* SIG-19 on the same request: a flipped bit must not verify. */
    dlg_url(&g->url, g->r->id, g->r->jwks_path);
    rc = send_jwt(g, "GET", g->url.p, NULL, g->agent_token, &g->k1, AA_SIGN_V_SIG_FLIP_BIT);
    dlg_expect_http(&t2_badsig, rc, &g->d, &g->resp, 401, "invalid_signature");
    resource_fetches_keys(g);
}

/* ---- TEST 3 ----------------------------------------------------------------- */

static bool claim_int(const struct aa_jwt *t, const char *name, int64_t *v)
{
    return t->claims != NULL && aa_jwt_claim_int(t, name, v);
}

/* aud is |want| or an array containing it (PROFILE#4.5 step 8). */
static bool aud_is(const struct aa_jwt *t, const char *want, char *shown, size_t cap)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(t->claims, "aud"), *e;

    if (cJSON_IsString(aud)) {
        aa_snprintf(shown, cap, "%s", aud->valuestring);
        return strcmp(aud->valuestring, want) == 0;
    }
    if (cJSON_IsArray(aud)) {
        char *s = cJSON_PrintUnformatted(aud);
        aa_snprintf(shown, cap, "%s", s != NULL ? s : "[...]");
        free(s);
        cJSON_ArrayForEach(e, aud)
        {
            if (cJSON_IsString(e) && strcmp(e->valuestring, want) == 0)
                return true;
        }
        return false;
    }
    aa_snprintf(shown, cap, "%s", aud == NULL ? "(absent)" : "(not a string)");
    return false;
}

static void check_exp_future(const struct aa_check *c, const struct aa_jwt *t)
{
    int64_t exp = 0, now = aa_conf_now();

    if (!claim_int(t, "exp", &exp))
        dlg_fail(c, NULL, "no integer exp", NULL);
    else
        dlg_expect(c, exp > now, "%lld (now %+lld s)", (long long)exp, (long long)(exp - now));
}

/* The resource token of the challenge (PROFILE#4.2, #7.6 TEST 3.1). */
static bool check_resource_token(struct dg *g, const char *rt)
{
    struct aa_jwt jwt;
    const char *scope, *aru;
    char shown[1024];
    bool ok;

    memset(&jwt, 0, sizeof(jwt));
    aa_diag_clear(&g->d);
    if (dlg_token_decode("resource token", rt, &jwt, &g->d) != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&g->d, text, sizeof(text));
        dlg_fail(&t3_rt_typ, "a compact JWS with typ resource+jwt", text, NULL);
        dlg_not_evaluated(&t3_rt_typ, rt_checks);
        return false;
    }
    dlg_check_typ(&t3_rt_typ, &jwt, "resource+jwt");
    dlg_check_jws(&t3_rt_sig, &jwt, aa_jwt_claim_str(&jwt, "iss"), "aauth-resource");
    dlg_expect_str(&t3_rt_iss, "iss", g->r->id, aa_jwt_claim_str(&jwt, "iss"));
    {
        const cJSON *aud = cJSON_GetObjectItemCaseSensitive(jwt.claims, "aud");
        dlg_expect_str(&t3_rt_aud, "aud", g->as->id,
                       cJSON_IsString(aud) ? aud->valuestring
                       : aud != NULL       ? "(not a string)"
                                           : NULL);
    }
    dlg_expect_str(&t3_rt_agent, "agent", g->ag->id, aa_jwt_claim_str(&jwt, "agent"));
    dlg_expect_str(&t3_rt_jkt, "agent_jkt", g->jkt1, aa_jwt_claim_str(&jwt, "agent_jkt"));
    check_exp_future(&t3_rt_exp, &jwt);
    scope = aa_jwt_claim_str(&jwt, "scope");
    aru = aa_jwt_claim_str(&jwt, "auth_request_url");
    aa_snprintf(shown, sizeof(shown), "scope %s%s", scope != NULL ? scope : "(absent)",
                aru != NULL ? ", auth_request_url present" : "");
    if (dlg_expect(&t3_rt_scope, scope != NULL && *scope != '\0' && aru == NULL, "%s",
                   scope != NULL && aru == NULL ? scope : shown))
        set_str(&g->rt_scope, scope);
    ok = dlg_first_broken(rt_checks) == NULL;
    aa_jwt_cleanup(&jwt);
    return ok;
}

/* {auth_server}/.well-known/aauth-issuer -> agent_token_endpoint (PROFILE#3). */
static bool read_issuer_metadata(struct dg *g)
{
    cJSON *doc = NULL;
    const char *issuer, *ep;
    struct aa_url u;
    struct aa_diag d;
    int rc;
    bool ok = false;

    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate reading the auth server's metadata...");
    reset(g);
    aa_buf_reset(&g->url);
    if (aa_http_well_known_url(g->as->id, "aauth-issuer", &g->url) != AA_OK) {
        dlg_error(&t3_as_md, "cannot build the metadata URL of %s", g->as->id);
        return false;
    }
    {
        struct dlg_req rq = {"GET", g->url.p, NULL, NULL, 0};
        rc = dlg_send("DELEGATE", &rq, &g->resp, &g->d);
    }
    if (!dlg_http_ok(&t3_as_md, rc, &g->d, &g->resp, 200, NULL))
        return false;
    doc = dlg_json_body(&g->resp);
    issuer = aa_json_str(doc, "issuer");
    ep = aa_json_str(doc, "agent_token_endpoint");
    aa_diag_clear(&d);
    if (doc == NULL)
        dlg_fail(&t3_as_md, NULL, "not one JSON object", NULL);
    else if (issuer == NULL || strcmp(issuer, g->as->id) != 0)
        dlg_fail(&t3_as_md, NULL, issuer != NULL ? issuer : "no issuer member",
                 "issuer must equal the identifier %s (D-13)", g->as->id);
    else if (ep == NULL)
        dlg_fail(&t3_as_md, NULL, "no agent_token_endpoint string", NULL);
    else if (aa_url_parse(ep, strlen(ep), 0, &u, &d) != AA_OK ||
             (!u.https && !(aa_conf_dev_mode() && aa_http_host_is_loopback(u.host))))
        dlg_fail(&t3_as_md, NULL, ep,
                 "agent_token_endpoint must be an https URL (http only on loopback in dev "
                 "mode, PROFILE#1)");
    else {
        aa_check_pass(&t3_as_md, "%s", ep);
        set_str(&g->token_endpoint, ep);
        ok = true;
    }
    cJSON_Delete(doc);
    return ok;
}

static void check_auth_token(struct dg *g, const char *at)
{
    struct aa_jwt jwt;
    struct aa_jwk cnf = {0};
    char jkt[AA_JWK_THUMBPRINT_LEN + 1] = "", shown[1024];
    const char *scope;

    memset(&jwt, 0, sizeof(jwt));
    aa_diag_clear(&g->d);
    if (dlg_token_decode("auth token", at, &jwt, &g->d) != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&g->d, text, sizeof(text));
        dlg_fail(&t3_at_typ, "a compact JWS with typ auth+jwt", text, NULL);
        dlg_not_evaluated(&t3_at_typ, at_checks);
        return;
    }
    dlg_check_typ(&t3_at_typ, &jwt, "auth+jwt");
    dlg_check_jws(&t3_at_sig, &jwt, aa_jwt_claim_str(&jwt, "iss"), "aauth-issuer");
    dlg_expect_str(&t3_at_iss, "iss", g->as->id, aa_jwt_claim_str(&jwt, "iss"));
    if (aud_is(&jwt, g->r->id, shown, sizeof(shown)))
        aa_check_pass(&t3_at_aud, "%s", shown);
    else
        dlg_fail(&t3_at_aud, NULL, shown, NULL);
    dlg_expect_str(&t3_at_agent, "agent", g->ag->id, aa_jwt_claim_str(&jwt, "agent"));
    dlg_expect_str(&t3_at_delegate, "agent_delegate", DELEGATE_SUB,
                   aa_jwt_claim_str(&jwt, "agent_delegate"));
    aa_diag_clear(&g->d);
    if (aa_jwt_cnf_jwk(&jwt, &cnf, &g->d) == AA_OK)
        dlg_thumbprint(&cnf, jkt);
    aa_jwk_cleanup(&cnf);
    dlg_expect_str(&t3_at_cnf, "cnf.jwk thumbprint", g->jkt1, jkt[0] ? jkt : "(no valid cnf.jwk)");
    scope = aa_jwt_claim_str(&jwt, "scope");
    dlg_expect_str(&t3_at_scope, "scope", g->rt_scope, scope);
    set_str(&g->at_scope, scope);
    cJSON_Delete(g->at_claims);
    g->at_claims = cJSON_Duplicate(jwt.claims, true);
    check_exp_future(&t3_at_exp, &jwt);
    claim_int(&jwt, "exp", &g->at_exp);
    aa_jwt_cleanup(&jwt);
}

/* Returns true when an auth token and a refresh token were issued, so
 * TEST 4 can run; g->at_ok says whether the auth token passed its checks. */
static bool test3(struct dg *g)
{
    struct aa_challenge ch;
    struct aa_buf form;
    cJSON *doc = NULL;
    const char *at, *rft, *cc;
    int64_t ei = 0;
    bool ok = false;
    int rc;

    memset(&ch, 0, sizeof(ch));
    aa_buf_init(&form, 64 * 1024);
    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate requesting auth token from auth server...");
    dlg_url(&g->url, g->r->id, g->r->auth_path);
    rc = send_jwt(g, "GET", g->url.p, NULL, g->agent_token, &g->k1, 0);
    if (!dlg_expect_http(&t3_required, rc, &g->d, &g->resp, 401, NULL)) {
        skip_from(3, &t3_required);
        goto out;
    }
    aa_diag_clear(&g->d);
    rc = dlg_challenge(&g->resp, &ch, &g->d);
    if (rc != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&g->d, text, sizeof(text));
        if (aa_err_is_fault(rc))
            dlg_error(&t3_challenge, "%s", text);
        else
            dlg_fail(&t3_challenge, NULL, text, NULL);
    } else if (!ch.auth_token || ch.resource_token == NULL || ch.auth_server == NULL) {
        dlg_fail(&t3_challenge, NULL, aa_http_headers_get(&g->resp.headers, "Agent-Auth"),
                 "an identified caller without auth token gets an auth-token challenge with "
                 "resource_token and auth_server (PROFILE#5, D-16)");
    } else if (strcmp(ch.auth_server, g->as->id) != 0) {
        dlg_fail(&t3_challenge, g->as->id, ch.auth_server,
                 "the resource must name the auth server it trusts; configure it to trust %s",
                 g->as->id);
    } else {
        aa_check_pass(&t3_challenge, "%s", ch.auth_server);
        set_str(&g->rt, ch.resource_token);
    }
    if (!dlg_held(&t3_challenge)) {
        skip_from(3, &t3_challenge);
        goto out;
    }
    if (!check_resource_token(g, g->rt)) {
        const struct aa_check *b = dlg_first_broken(rt_checks);
        skip_from(3, b);
        goto out;
    }
    if (!read_issuer_metadata(g)) {
        skip_from(3, &t3_as_md);
        goto out;
    }
    aa_form_add(&form, "request_type", "auth");
    aa_form_add(&form, "resource_token", g->rt);
    aa_buf_printf(&form, "&redirect_uri=");
    {
        char cb[AA_URL_MAX_LEN];
        aa_snprintf(cb, sizeof(cb), "%s%s", g->ag->id, AA_REF_PATH_CALLBACK);
        aa_form_encode(&form, cb, strlen(cb));
    }
    if (form.err) {
        dlg_error(&t3_at_status, "cannot build the form body");
        skip_from(3, &t3_at_status);
        goto out;
    }
    rc = send_jwt(g, "POST", g->token_endpoint, form.p, g->agent_token, &g->k1, 0);
    if (!dlg_expect_http(&t3_at_status, rc, &g->d, &g->resp, 200, NULL)) {
        skip_from(3, &t3_at_status);
        goto out;
    }
    cc = aa_http_headers_get(&g->resp.headers, "Cache-Control");
    dlg_expect(&t3_at_nostore, dlg_no_store(&g->resp), "%s", cc != NULL ? cc : "(absent)");
    doc = dlg_json_body(&g->resp);
    at = aa_json_str(doc, "auth_token");
    rft = aa_json_str(doc, "refresh_token");
    if (doc == NULL || at == NULL || !aa_json_int(doc, "expires_in", &ei) || ei <= 0 ||
        rft == NULL || *rft == '\0') {
        dlg_fail(&t3_at_resp, NULL, g->resp.body_len ? g->resp.body : "(empty body)",
                 "a direct grant answers {auth_token, expires_in, refresh_token} (PROFILE#6.3)");
        skip_from(3, &t3_at_resp);
        goto out;
    }
    {
        char shown[TOKEN_SHOWN + 8];
        dlg_token_prefix(at, TOKEN_SHOWN, shown, sizeof(shown));
        aa_check_pass(&t3_at_resp, "%s", shown);
    }
    set_str(&g->auth_token, at);
    set_str(&g->refresh_token, rft);
    check_auth_token(g, at);
    ok = true;
    {
        /* A token the resource would rightly refuse must not make the
         * resource look broken; the refresh in TEST 4 still runs. */
        const struct aa_check *b = dlg_first_broken(at_checks);
        if (b != NULL) {
            dlg_not_evaluated(b, AA_CHECKS(&t3_r_ok, &t3_r_body));
            goto out;
        }
        g->at_ok = true;
    }
    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate accessing resource with auth token...");
    dlg_url(&g->url, g->r->id, g->r->auth_path);
    rc = send_jwt(g, "GET", g->url.p, NULL, g->auth_token, &g->k1, 0);
    if (dlg_expect_http(&t3_r_ok, rc, &g->d, &g->resp, 200, NULL)) {
        const char *const want[] = {
            "scheme", "jwt",       "token_type", "auth+jwt",       "method",
            "GET",    "agent",     g->ag->id,    "agent_delegate", DELEGATE_SUB,
            "scope",  g->at_scope, NULL};
        dlg_expect_body(&t3_r_body, &g->resp, want);
    } else {
        dlg_not_evaluated(&t3_r_ok, AA_CHECKS(&t3_r_body));
    }
out:
    aa_challenge_cleanup(&ch);
    aa_buf_free(&form);
    cJSON_Delete(doc);
    return ok;
}

/* ---- TEST 4 ----------------------------------------------------------------- */

static int refresh(struct dg *g, const char *agent_token, const struct aa_jwk *key)
{
    struct aa_buf form;
    int rc;

    aa_buf_init(&form, 64 * 1024);
    aa_form_add(&form, "request_type", "refresh");
    aa_form_add(&form, "refresh_token", g->refresh_token);
    if (form.err) {
        aa_buf_free(&form);
        reset(g);
        return aa_fail(&g->d, AA_E_NOMEM, "README#internals", "cannot build the form body");
    }
    rc = send_jwt(g, "POST", g->token_endpoint, form.p, agent_token, key, 0);
    aa_buf_free(&form);
    return rc;
}

/* The claims a refresh keeps (PROFILE#6.3: the refresh token is bound to
 * agent, agent_delegate, aud and scope) equal those of |old| by value. */
static bool same_members(const cJSON *old, const cJSON *now, struct aa_buf *why)
{
    static const char *const kept[] = {"agent", "agent_delegate", "aud", "scope"};

    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(old, kept[i]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(now, kept[i]);
        struct aa_buf diff;
        bool eq;

        aa_buf_init(&diff, 1024);
        eq = (a == NULL && b == NULL) ||
             (a != NULL && b != NULL && aa_conf_json_equal(a, b, 0, &diff));
        if (!eq) {
            char *was = a != NULL ? cJSON_PrintUnformatted(a) : NULL;
            char *is = b != NULL ? cJSON_PrintUnformatted(b) : NULL;
            aa_buf_printf(why, "%s changed from %s to %s", kept[i], was ? was : "(absent)",
                          is ? is : "(absent)");
            free(was);
            free(is);
        }
        aa_buf_free(&diff);
        if (!eq)
            return false;
    }
    return true;
}

/* A refreshed auth token: valid auth+jwt of the same issuer with agent,
 * agent_delegate, aud, scope unchanged and cnf = |jkt|. Writes the first
 * difference to |why| (empty when none); |exp| gets the token's exp. */
static void compare_refreshed(struct dg *g, const char *at, const char *jkt, struct aa_buf *why,
                              int64_t *exp)
{
    struct aa_jwt jwt;
    struct aa_jwk cnf = {0};
    struct aa_jwk key = {0};
    char got[AA_JWK_THUMBPRINT_LEN + 1] = "";
    const char *iss;
    int rc;

    memset(&jwt, 0, sizeof(jwt));
    *exp = 0;
    aa_diag_clear(&g->d);
    if (dlg_token_decode("refreshed auth token", at, &jwt, &g->d) != AA_OK) {
        aa_buf_printf(why, "not a compact JWS: %s", g->d.msg);
        return;
    }
    iss = aa_jwt_claim_str(&jwt, "iss");
    aa_diag_clear(&g->d);
    if (jwt.typ == NULL || aa_jwt_check_typ(&jwt, "auth+jwt", &g->d) != AA_OK)
        aa_buf_printf(why, "typ %s, not auth+jwt", jwt.typ ? jwt.typ : "(absent)");
    else if (iss == NULL || strcmp(iss, g->as->id) != 0)
        aa_buf_printf(why, "iss %s, not %s", iss ? iss : "(absent)", g->as->id);
    else if (jwt.kid == NULL ||
             (rc = dlg_issuer_key(iss, "aauth-issuer", jwt.kid, &key, NULL, &g->d)) != AA_OK ||
             (aa_diag_clear(&g->d), rc = aa_jwt_verify(&jwt, &key, &g->d)) != AA_OK)
        aa_buf_printf(why, "JWS does not verify under the issuer's JWKS: %s",
                      jwt.kid ? g->d.msg : "no kid");
    else if (!same_members(g->at_claims, jwt.claims, why))
        ;
    else if (aa_jwt_cnf_jwk(&jwt, &cnf, &g->d) != AA_OK ||
             (dlg_thumbprint(&cnf, got), strcmp(got, jkt) != 0))
        aa_buf_printf(why, "cnf.jwk thumbprint %s, not %s", got[0] ? got : "(invalid)", jkt);
    if (!claim_int(&jwt, "exp", exp) && why->len == 0)
        aa_buf_adds(why, "no integer exp");
    aa_jwk_cleanup(&key);
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&jwt);
}

/* The new agent token for K2 (PROFILE#7.6 TEST 4.2): same iss and sub,
 * cnf = K2, valid under the agent's JWKS. */
static char *rotated_agent_token(struct dg *g)
{
    struct aa_jwt jwt;
    struct aa_jwk cnf = {0}, key = {0};
    struct aa_buf why;
    cJSON *doc = NULL;
    const char *tok, *iss;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1] = "", *out = NULL;
    int64_t exp = 0;
    int rc;

    memset(&jwt, 0, sizeof(jwt));
    aa_buf_init(&why, 4096);
    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate rotating its key (K2) and requesting a new agent "
                 "token...");
    rc = request_agent_token(g, DELEGATE_SUB, &g->k2, NULL);
    if (!dlg_http_ok(&t4_rot_ag, rc, &g->d, &g->resp, 200, NULL))
        goto out;
    doc = dlg_json_body(&g->resp);
    tok = aa_json_str(doc, "agent_token");
    aa_diag_clear(&g->d);
    if (tok == NULL) {
        aa_buf_adds(&why, "no agent_token string in the response");
    } else if (dlg_token_decode("rotated agent token", tok, &jwt, &g->d) != AA_OK) {
        aa_buf_printf(&why, "not a compact JWS: %s", g->d.msg);
    } else {
        iss = aa_jwt_claim_str(&jwt, "iss");
        if (jwt.typ == NULL || aa_jwt_check_typ(&jwt, "agent+jwt", &g->d) != AA_OK)
            aa_buf_printf(&why, "typ %s, not agent+jwt", jwt.typ ? jwt.typ : "(absent)");
        else if (differs(iss, g->ag->id) != 0)
            aa_buf_printf(&why, "iss %s, not %s", iss ? iss : "(absent)", g->ag->id);
        else if (differs(aa_jwt_claim_str(&jwt, "sub"), DELEGATE_SUB) != 0)
            aa_buf_printf(&why, "sub %s, not %s", aa_jwt_claim_str(&jwt, "sub"), DELEGATE_SUB);
        else if (jwt.kid == NULL ||
                 (rc = dlg_issuer_key(iss, "aauth-agent", jwt.kid, &key, NULL, &g->d)) != AA_OK ||
                 (aa_diag_clear(&g->d), rc = aa_jwt_verify(&jwt, &key, &g->d)) != AA_OK)
            aa_buf_printf(&why, "JWS does not verify under the agent's JWKS: %s",
                          jwt.kid ? g->d.msg : "no kid");
        else if (!claim_int(&jwt, "exp", &exp) || exp <= aa_conf_now())
            aa_buf_adds(&why, "exp missing or not in the future");
        else if (aa_jwt_cnf_jwk(&jwt, &cnf, &g->d) != AA_OK ||
                 (dlg_thumbprint(&cnf, jkt), strcmp(jkt, g->jkt2) != 0))
            aa_buf_printf(&why, "cnf.jwk thumbprint %s, not K2 %s", jkt[0] ? jkt : "(invalid)",
                          g->jkt2);
    }
    if (why.len > 0) {
        dlg_fail(&t4_rot_ag, NULL, why.p, NULL);
    } else {
        char shown[TOKEN_SHOWN + 8];
        dlg_token_prefix(tok, TOKEN_SHOWN, shown, sizeof(shown));
        aa_check_pass(&t4_rot_ag, "%s", shown);
        out = aa_strdup(tok);
    }
out:
    aa_jwk_cleanup(&key);
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&jwt);
    aa_buf_free(&why);
    cJSON_Delete(doc);
    return out;
}

static void rotation(struct dg *g)
{
    struct aa_buf why;
    cJSON *doc = NULL;
    char *agent_token2 = rotated_agent_token(g), *at2 = NULL;
    int64_t exp = 0;
    int rc;

    aa_buf_init(&why, 4096);
    if (agent_token2 == NULL) {
        dlg_not_evaluated(&t4_rot_ag, t4_rotation);
        goto out;
    }
    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate refreshing with the new agent token (signed by "
                 "K2)...");
    rc = refresh(g, agent_token2, &g->k2);
    if (!dlg_expect_http(&t4_rot_status, rc, &g->d, &g->resp, 200, NULL)) {
        dlg_not_evaluated(&t4_rot_status, t4_rotation);
        goto out;
    }
    doc = dlg_json_body(&g->resp);
    if (aa_json_str(doc, "auth_token") == NULL) {
        dlg_fail(&t4_rot_status, NULL, "no auth_token in the 200 response", NULL);
        dlg_not_evaluated(&t4_rot_status, t4_rotation);
        goto out;
    }
    at2 = aa_strdup(aa_json_str(doc, "auth_token"));
    compare_refreshed(g, at2, g->jkt2, &why, &exp);
    if (why.len > 0) {
        dlg_fail(&t4_rot_cnf, NULL, why.p, NULL);
        dlg_not_evaluated(&t4_rot_cnf, t4_rotation);
        goto out;
    }
    aa_check_pass(&t4_rot_cnf, "%s", g->jkt2);
    dlg_url(&g->url, g->r->id, g->r->auth_path);
    rc = send_jwt(g, "GET", g->url.p, NULL, at2, &g->k2, 0);
    dlg_expect_http(&t4_rot_use, rc, &g->d, &g->resp, 200, NULL);
    /* The old token is bound to K1 (PROFILE#4.5 step 11); it is a fair
     * probe only when the resource would accept it otherwise. */
    if (!g->at_ok) {
        dlg_not_evaluated(dlg_first_broken(at_checks), AA_CHECKS(&t4_rot_old));
        goto out;
    }
    dlg_url(&g->url, g->r->id, g->r->auth_path);
    rc = send_jwt(g, "GET", g->url.p, NULL, g->auth_token, &g->k2, 0);
    dlg_expect_http(&t4_rot_old, rc, &g->d, &g->resp, 401, "invalid_signature");
out:
    free(agent_token2);
    free(at2);
    cJSON_Delete(doc);
    aa_buf_free(&why);
}

static void other_delegate(struct dg *g)
{
    cJSON *doc = NULL;
    char *tok = NULL;
    int rc;

    aa_conf_note("\n\xF0\x9F\x93\xA4 Another delegate (%s) tries delegate-1's refresh token...",
                 OTHER_SUB);
    rc = request_agent_token(g, OTHER_SUB, &g->k3, NULL);
    doc = dlg_json_body(&g->resp);
    if (rc != AA_OK || g->resp.status != 200 || aa_json_str(doc, "agent_token") == NULL) {
        dlg_error(&t4_other, "the agent server did not issue an agent token for %s (%s)", OTHER_SUB,
                  rc != AA_OK ? g->d.msg : "no agent_token in a 200 response");
        goto out;
    }
    tok = aa_strdup(aa_json_str(doc, "agent_token"));
    rc = refresh(g, tok, &g->k3);
    dlg_expect_http(&t4_other, rc, &g->d, &g->resp, 400, "invalid_grant");
out:
    free(tok);
    cJSON_Delete(doc);
}

static void test4(struct dg *g)
{
    struct aa_buf why;
    cJSON *doc = NULL;
    const char *at, *cc;
    int64_t ei = 0, exp = 0;
    int rc;

    aa_buf_init(&why, 4096);
    aa_conf_note("\n\xF0\x9F\x93\xA4 Delegate refreshing auth token...");
    rc = refresh(g, g->agent_token, &g->k1);
    if (!dlg_expect_http(&t4_status, rc, &g->d, &g->resp, 200, NULL)) {
        dlg_not_evaluated(&t4_status,
                          AA_CHECKS(&t4_resp, &t4_nostore, &t4_norot, &t4_claims, &t4_exp));
        goto rotate;
    }
    cc = aa_http_headers_get(&g->resp.headers, "Cache-Control");
    dlg_expect(&t4_nostore, dlg_no_store(&g->resp), "%s", cc != NULL ? cc : "(absent)");
    doc = dlg_json_body(&g->resp);
    at = aa_json_str(doc, "auth_token");
    if (doc == NULL || at == NULL || !aa_json_int(doc, "expires_in", &ei) || ei <= 0) {
        dlg_fail(&t4_resp, NULL, g->resp.body_len ? g->resp.body : "(empty body)", NULL);
        dlg_not_evaluated(&t4_resp, AA_CHECKS(&t4_norot, &t4_claims, &t4_exp));
        goto rotate;
    }
    {
        char shown[TOKEN_SHOWN + 8];
        dlg_token_prefix(at, TOKEN_SHOWN, shown, sizeof(shown));
        aa_check_pass(&t4_resp, "%s", shown);
    }
    if (cJSON_GetObjectItemCaseSensitive(doc, "refresh_token") == NULL)
        aa_check_pass(&t4_norot, "no refresh_token member");
    else
        dlg_fail(&t4_norot, NULL, "a refresh_token member",
                 "refresh tokens are not rotated (D-20); a client keeps the original");
    compare_refreshed(g, at, g->jkt1, &why, &exp);
    if (why.len > 0)
        dlg_fail(&t4_claims, NULL, why.p, NULL);
    else
        aa_check_pass(&t4_claims, "agent, agent_delegate, aud, scope and cnf unchanged");
    /* exp is judged on its own: a refreshed token with another defect
     * still says whether its lifetime went backwards. */
    if (g->at_exp == 0)
        dlg_not_evaluated(&t3_at_exp, AA_CHECKS(&t4_exp));
    else if (exp == 0)
        dlg_fail(&t4_exp, NULL, "no integer exp in the refreshed token", NULL);
    else
        dlg_expect(&t4_exp, exp >= g->at_exp, "%lld (previous %lld)", (long long)exp,
                   (long long)g->at_exp);
rotate:
    rotation(g);
    other_delegate(g);
    aa_buf_free(&why);
    cJSON_Delete(doc);
}

/* ---- the case ------------------------------------------------------------------ */

AA_CASE(delegation, flow, .title = "Agent delegation flow F6 (PROFILE#7.6, TESTS 1-4)",
        .needs = AA_NEED_ALL,
        .checks = AA_CHECKS(&t1_status, &t1_response, &t1_expires, &t1_nostore, &t1_typ, &t1_alg,
                            &t1_kid, &t1_sig, &t1_iss, &t1_sub, &t1_exp, &t1_lifetime,
                            &t1_cnf_present, &t1_cnf, &t2_ok, &t2_body, &t2_fetched, &t2_badsig,
                            &t3_required, &t3_challenge, &t3_rt_typ, &t3_rt_sig, &t3_rt_iss,
                            &t3_rt_aud, &t3_rt_agent, &t3_rt_jkt, &t3_rt_exp, &t3_rt_scope,
                            &t3_as_md, &t3_at_status, &t3_at_resp, &t3_at_nostore, &t3_at_typ,
                            &t3_at_sig, &t3_at_iss, &t3_at_aud, &t3_at_agent, &t3_at_delegate,
                            &t3_at_cnf, &t3_at_scope, &t3_at_exp, &t3_r_ok, &t3_r_body, &t4_status,
                            &t4_resp, &t4_nostore, &t4_norot, &t4_claims, &t4_exp, &t4_rot_ag,
                            &t4_rot_status, &t4_rot_cnf, &t4_rot_use, &t4_rot_old, &t4_other))
{
    struct dg g;
    int rc;

    memset(&g, 0, sizeof(g));
    aa_buf_init(&g.url, AA_URL_MAX_LEN + 1);
    aa_http_response_init(&g.resp);
    g.ag = aa_conf_target(ROLE_AG);
    g.r = aa_conf_target(ROLE_R);
    g.as = aa_conf_target(ROLE_AS);
    aa_conf_note("Agent server %s, resource %s, auth server %s", g.ag->id, g.r->id, g.as->id);
    if ((rc = dlg_keygen(DELEGATE_KID, &g.k1)) != AA_OK ||
        (rc = dlg_keygen(ROTATED_KID, &g.k2)) != AA_OK ||
        (rc = dlg_keygen(OTHER_KID, &g.k3)) != AA_OK) {
        dlg_error(&t1_status, "cannot generate the delegate keys: %s", aa_conf_strerror(rc));
        dlg_not_evaluated(&t1_status, t1_all);
        skip_from(2, &t1_status);
        goto out;
    }
    dlg_thumbprint(&g.k1, g.jkt1);
    dlg_thumbprint(&g.k2, g.jkt2);
    aa_conf_note("Delegate key K1 %s (thumbprint %s), rotation key K2 %s (thumbprint %s)", g.k1.kid,
                 g.jkt1, g.k2.kid, g.jkt2);

    if (!test1(&g)) {
        skip_from(2, dlg_first_broken(t1_gate));
        goto out;
    }
    test2(&g);
    if (!test3(&g)) {
        /* test3 recorded its own and TEST 4's not-evaluated results. */
        goto out;
    }
    test4(&g);
out:
    aa_jwk_cleanup(&g.k1);
    aa_jwk_cleanup(&g.k2);
    aa_jwk_cleanup(&g.k3);
    cJSON_Delete(g.cnf1);
    free(g.agent_token);
    free(g.rt);
    free(g.rt_scope);
    free(g.token_endpoint);
    free(g.auth_token);
    free(g.refresh_token);
    free(g.at_scope);
    cJSON_Delete(g.at_claims);
    aa_buf_free(&g.url);
    aa_http_response_cleanup(&g.resp);
}
