/*
 * autonomous: flow F3 of PROFILE#7, autonomous authorization - an agent
 * obtains an auth token for a resource without any user, uses it, narrows
 * it with POST /resource/token (F3.5, AU-07) and refreshes it (F3.6).
 *
 * Judged: the resource (challenge, resource tokens, access decisions) and
 * the auth server (metadata, auth and refresh responses, auth tokens).
 * The agent AG signs with jwks Mode 2, so the harness needs its key: it is
 * the runner's embedded agent server (aa_conf_role_key), or, when the agent
 * server is under test, a reference agent server the case starts itself
 * (autonomous_world.h). A resource under test must trust the run's auth
 * server (the embedded one unless --target-auth-server is given).
 *
 * Design choice: every token is judged claim by claim (one check per
 * claim, so a report names the claim) and then as a whole with the
 * harness's validators over keys fetched from the issuer's metadata.
 */
#include <string.h>

#include "autonomous_world.h"
#include "json/aa_json.h"

static const char *const f3_lines[] = {
    "This demo shows autonomous authorization (no user involved):",
    "1. Agent server publishes its metadata and JWKS",
    "2. Agent calls the resource and receives a resource token in the challenge",
    "3. Agent presents the resource token to the auth server",
    "4. Auth server issues an auth token bound to the agent's key",
    "5. Agent accesses the resource with the auth token",
    "6. Agent refreshes the auth token",
    NULL};

AA_FLOW(autonomous, .suite = "autonomous", .banner = "Autonomous Authorization Demo",
        .description_lines = f3_lines, .seed_tests = 0,
        AA_FLOW_TESTS({1, "Autonomous Authorization Flow", "Autonomous Authorization Flow",
                       "Agent obtains an auth token for the resource without a user and uses it.",
                       "Auth token obtained, validated and accepted"},
                      {2, "Auth Token Refresh", "Auth Token Refresh",
                       "Agent refreshes its auth token with the refresh token.",
                       "Auth token refreshed and accepted"}));

/* ---- F3.1: the challenge and the resource token ---------------------------- */

AA_CHECK(f3_challenge, .id = "autonomous.challenge.auth-token", .suite = "autonomous",
         .title = "GET the resource's authorization endpoint signed(jwks) by the agent",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#5",
         .expect = "401 with Agent-Auth: httpsig; auth-token; resource_token=\"<RT>\"; "
                   "auth_server=\"<AS>\" (PROFILE#7 F3.1)",
         .test_no = 1, .line = "Resource challenged for an auth token");
AA_CHECK(f3_challenge_as, .id = "autonomous.challenge.auth-server", .suite = "autonomous",
         .title = "auth_server parameter of the challenge", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#5",
         .expect = "an identifier (PROFILE#1) naming the auth server the resource trusts "
                   "(the run's auth server)",
         .test_no = 1, .line = "auth_server: {actual}");
AA_CHECK(f3_rt_typ, .id = "autonomous.resource-token.typ", .suite = "autonomous",
         .title = "resource token header typ", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .rfc = "RFC7515#4.1.9", .expect = "typ = resource+jwt (D-28)",
         .test_no = 1, .line = "resource token typ correct: {actual}");
AA_CHECK(f3_rt_iss, .id = "autonomous.resource-token.iss", .suite = "autonomous",
         .title = "resource token iss", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .expect = "iss = the resource's identifier", .test_no = 1,
         .line = "resource token iss correct");
AA_CHECK(f3_rt_aud, .id = "autonomous.resource-token.aud", .suite = "autonomous",
         .title = "resource token aud", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .expect = "aud = the auth_server of the challenge (a string)",
         .test_no = 1, .line = "resource token aud correct");
AA_CHECK(f3_rt_agent, .id = "autonomous.resource-token.agent", .suite = "autonomous",
         .title = "resource token agent", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .expect = "agent = the agent identifier of the jwks signature",
         .test_no = 1, .line = "resource token agent correct");
AA_CHECK(f3_rt_jkt, .id = "autonomous.resource-token.agent-jkt", .suite = "autonomous",
         .title = "resource token agent_jkt", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .rfc = "RFC7638#3",
         .expect = "agent_jkt = RFC 7638 thumbprint of the agent's signing key (key-1)",
         .test_no = 1, .line = "resource token agent_jkt correct");
AA_CHECK(f3_rt_exp, .id = "autonomous.resource-token.exp", .suite = "autonomous",
         .title = "resource token exp", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .expect = "an integer exp in the future", .test_no = 1,
         .line = "resource token not expired");
AA_CHECK(f3_rt_scope, .id = "autonomous.resource-token.scope", .suite = "autonomous",
         .title = "resource token scope", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2",
         .expect = "a non-empty scope and no auth_request_url (exactly one of the two, D-16)",
         .test_no = 1, .line = "resource token scope: {actual}");
AA_CHECK(f3_rt_valid, .id = "autonomous.resource-token.valid", .suite = "autonomous",
         .title = "resource token validated as the auth server will", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#4.4",
         .expect = "valid per PROFILE#4.4 steps 1-12 with the key from "
                   "{iss}/.well-known/aauth-resource -> jwks_uri",
         .test_no = 1, .line = "resource token signature verified");

/* ---- F3.2: issuer metadata --------------------------------------------------- */

AA_CHECK(f3_md, .id = "autonomous.issuer-metadata.members", .suite = "autonomous",
         .title = "GET {auth server}/.well-known/aauth-issuer", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3", .rfc = "RFC8414#3.3",
         .expect = "200 JSON object: issuer = the identifier, jwks_uri, agent_token_endpoint, "
                   "agent_auth_endpoint, agent_signing_algs_supported with ed25519, "
                   "request_types_supported",
         .test_no = 1, .line = "Auth server metadata complete");

/* ---- F3.3: the auth request and the auth token ------------------------------- */

AA_CHECK(f3_auth_status, .id = "autonomous.auth-request.status", .suite = "autonomous",
         .title = "POST agent_token_endpoint request_type=auth with the resource token, "
                  "signed(jwks)",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "200 (a direct grant: require_user_consent off)", .test_no = 1,
         .line = "Auth server accepted the resource token");
AA_CHECK(f3_auth_members, .id = "autonomous.auth-response.members", .suite = "autonomous",
         .title = "auth response members", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3",
         .expect = "JSON object with auth_token (string), expires_in (integer > 0) and "
                   "refresh_token (string)",
         .test_no = 1, .line = "auth_token, expires_in and refresh_token present");
AA_CHECK(f3_auth_nostore, .id = "autonomous.auth-response.no-store", .suite = "autonomous",
         .title = "auth response Cache-Control", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6", .rfc = "RFC6749#5.1",
         .expect = "Cache-Control: no-store (D-25)", .test_no = 1,
         .line = "token response not cacheable");
AA_CHECK(f3_at_typ, .id = "autonomous.auth-token.typ", .suite = "autonomous",
         .title = "auth token header typ", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .rfc = "RFC7515#4.1.9", .expect = "typ = auth+jwt (D-28)",
         .test_no = 1, .line = "auth token typ correct: {actual}");
AA_CHECK(f3_at_valid, .id = "autonomous.auth-token.valid", .suite = "autonomous",
         .title = "auth token validated as the resource will", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5",
         .expect = "valid per PROFILE#4.5 steps 1-10 with the key from "
                   "{iss}/.well-known/aauth-issuer -> jwks_uri",
         .test_no = 1, .line = "auth token signature verified");
AA_CHECK(f3_at_iss, .id = "autonomous.auth-token.iss", .suite = "autonomous",
         .title = "auth token iss", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .expect = "iss = the auth server's identifier", .test_no = 1,
         .line = "auth token iss correct");
AA_CHECK(f3_at_aud, .id = "autonomous.auth-token.aud", .suite = "autonomous",
         .title = "auth token aud", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3", .expect = "aud = the resource token's iss (the resource)",
         .test_no = 1, .line = "auth token aud correct");
AA_CHECK(f3_at_agent, .id = "autonomous.auth-token.agent", .suite = "autonomous",
         .title = "auth token agent", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3", .expect = "agent = the requesting agent", .test_no = 1,
         .line = "auth token agent correct");
AA_CHECK(f3_at_nodelegate, .id = "autonomous.auth-token.no-agent-delegate", .suite = "autonomous",
         .title = "auth token of an agent server carries no agent_delegate",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "no agent_delegate (the request was signed by the agent itself, jwks)",
         .test_no = 1, .line = "no agent_delegate claim");
AA_CHECK(f3_at_cnf, .id = "autonomous.auth-token.cnf", .suite = "autonomous",
         .title = "auth token cnf.jwk", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3", .rfc = "RFC7800#3.2",
         .expect = "cnf.jwk thumbprint = the agent's signing key (D-27)", .test_no = 1,
         .line = "auth token bound to the agent's key");
AA_CHECK(f3_at_scope, .id = "autonomous.auth-token.scope", .suite = "autonomous",
         .title = "auth token scope", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3",
         .expect = "scope = the resource token's scope (INFO when policy narrowed it to a subset)",
         .test_no = 1, .line = "auth token scope: {actual}");
AA_CHECK(f3_at_exp, .id = "autonomous.auth-token.exp", .suite = "autonomous",
         .title = "auth token exp", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .expect = "an integer exp in the future", .test_no = 1,
         .line = "auth token not expired");

/* ---- F3.4: access --------------------------------------------------------------- */

AA_CHECK(f3_access, .id = "autonomous.access.status", .suite = "autonomous",
         .title = "GET the authorization endpoint signed(jwt auth token)", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#7", .expect = "200 (PROFILE#7 F3.4)",
         .test_no = 1, .line = "Resource accepted the auth token");
AA_CHECK(f3_access_body, .id = "autonomous.access.body", .suite = "autonomous",
         .title = "authorized response body", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.2",
         .expect = "JSON object with token_type = auth+jwt, agent = the agent, scope = the auth "
                   "token's scope",
         .test_no = 1, .line = "Resource recognized the auth token");

/* ---- TEST 2 (F3.6): refresh ---------------------------------------------------- */

AA_CHECK(f3_rf_status, .id = "autonomous.refresh.status", .suite = "autonomous",
         .title = "POST agent_token_endpoint request_type=refresh signed(jwks)",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "200 with auth_token (string) and expires_in (integer > 0) (D-20)", .test_no = 2,
         .line = "Auth token refreshed");
AA_CHECK(f3_rf_norefresh, .id = "autonomous.refresh.no-new-refresh-token", .suite = "autonomous",
         .title = "refresh response carries no new refresh_token", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_SHOULD, .spec = "PROFILE#9",
         .expect = "no refresh_token: refresh tokens are not rotated (D-20, RF-06)", .test_no = 2,
         .line = "refresh token not rotated");
AA_CHECK(f3_rf_claims, .id = "autonomous.refresh.claims-unchanged", .suite = "autonomous",
         .title = "refreshed auth token claims", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#7",
         .expect = "iss, aud, agent and scope as in the first auth token; no agent_delegate "
                   "(PROFILE#7 F3.6)",
         .test_no = 2, .line = "claims unchanged");
AA_CHECK(f3_rf_exp, .id = "autonomous.refresh.exp", .suite = "autonomous",
         .title = "refreshed auth token exp", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#7", .expect = "exp in the future and not before the first token's exp",
         .test_no = 2, .line = "exp not earlier than before");
AA_CHECK(f3_rf_cnf, .id = "autonomous.refresh.cnf", .suite = "autonomous",
         .title = "refreshed auth token cnf.jwk", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "cnf.jwk thumbprint = the key that signed the refresh (the agent's key)",
         .test_no = 2, .line = "still bound to the agent's key");
AA_CHECK(f3_rf_valid, .id = "autonomous.refresh.valid", .suite = "autonomous",
         .title = "refreshed auth token validated as the resource will",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5",
         .expect = "valid per PROFILE#4.5 steps 1-10", .test_no = 2,
         .line = "refreshed token signature verified");
AA_CHECK(f3_rf_access, .id = "autonomous.refresh.access", .suite = "autonomous",
         .title = "GET the authorization endpoint with the refreshed auth token",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5", .expect = "200",
         .test_no = 2, .line = "Resource accepted the refreshed token");

/* ---- F3.5 and AU-07: POST /resource/token, narrowed scope ----------------------- */

AA_CHECK(f3_rte_status, .id = "autonomous.resource-token-endpoint.status", .suite = "autonomous",
         .title = "POST resource_token_endpoint scope=data.read signed(jwks)",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.2",
         .expect = "200 {resource_token, auth_server, expires_in} (PROFILE#7 F3.5)", .test_no = 1,
         .line = "Resource token endpoint issued a resource token");
AA_CHECK(f3_rte_token, .id = "autonomous.resource-token-endpoint.token", .suite = "autonomous",
         .title = "resource token from the resource token endpoint", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.2",
         .expect = "valid (PROFILE#4.4); typ resource+jwt, iss = resource, aud = auth_server, "
                   "agent = the caller, agent_jkt = its key, scope = data.read",
         .test_no = 1, .line = "requested resource token correct");
AA_CHECK(f3_scoped_scope, .id = "autonomous.scoped-auth.scope", .suite = "autonomous",
         .title = "auth token for the data.read resource token", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "200 with an auth token whose scope is data.read (never wider than the "
                   "resource token's)",
         .test_no = 1, .line = "narrowed auth token scope: {actual}");
AA_CHECK(f3_scoped_get, .id = "autonomous.scoped-access.get", .suite = "autonomous",
         .title = "GET the authorization endpoint with a data.read auth token",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5",
         .expect = "200 (data.read covers GET, D-17)", .test_no = 1,
         .line = "data.read token accepted for GET");
AA_CHECK(f3_insufficient, .id = "autonomous.insufficient-scope.status", .suite = "autonomous",
         .title = "POST the authorization endpoint with a data.read-only auth token",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5",
         .expect = "403 insufficient_scope (AU-07: POST needs data.write)", .test_no = 1,
         .line = "POST refused with insufficient_scope");
AA_CHECK(f3_insufficient_ch, .id = "autonomous.insufficient-scope.challenge", .suite = "autonomous",
         .title = "challenge on the insufficient_scope answer", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5",
         .expect = "the 403 carries a new auth-token challenge (resource_token, auth_server)",
         .test_no = 1, .line = "new auth-token challenge offered");

/* ---- shared steps ---------------------------------------------------------------- */

/* Participants of F3: the harness's agent and the run's resource and AS. */
struct f3_world {
    struct aa_aw w;
    struct aa_aw_peer ag, r, as;
    struct aa_client *c;
    char ag_jkt[AA_JWK_THUMBPRINT_LEN + 1];
};

static void f3_error_all(const struct aa_check *const *checks, const char *what,
                         const struct aa_diag *d)
{
    aa_aw_setup_failed(checks, what, d);
}

/* Start the agent and resolve R and AS. On failure every check is ERROR
 * (nothing of the targets could be judged). */
static bool f3_setup(struct f3_world *f, const struct aa_check *const *checks)
{
    struct aa_diag d;

    aa_diag_clear(&d);
    if (aa_aw_init(&f->w) != AA_OK) {
        f3_error_all(checks, "harness setup", NULL);
        return false;
    }
    if (aa_aw_run_peer(AA_ROLE_RESOURCE, &f->r, &d) != AA_OK ||
        aa_aw_run_peer(AA_ROLE_AUTH_SERVER, &f->as, &d) != AA_OK) {
        f3_error_all(checks, "the flow needs a resource and an auth server", &d);
        return false;
    }
    if (aa_aw_agent(&f->w, &f->ag, &d) != AA_OK ||
        (f->c = aa_aw_agent_client(&f->w, &f->ag, "AGENT", &d)) == NULL ||
        aa_jwk_thumbprint(aa_client_key(f->c), f->ag_jkt) != AA_OK) {
        f3_error_all(checks, "harness agent", &d);
        return false;
    }
    aa_conf_note("F3: agent %s (%s), resource %s (%s), auth server %s (%s)", f->ag.id,
                 f->ag.local ? "harness" : "embedded", f->r.id,
                 f->r.under_test ? "under test" : "embedded", f->as.id,
                 f->as.under_test ? "under test" : "embedded");
    return true;
}

/* The issuer metadata members of PROFILE#3 ("Auth server"). |*md| gets the
 * document (NULL when it could not be read). */
static void f3_metadata(const struct f3_world *f, cJSON **md)
{
    static const char *const urls[] = {"jwks_uri", "agent_token_endpoint", "agent_auth_endpoint"};
    const cJSON *algs, *types, *e;
    struct aa_buf bad;
    struct aa_diag d;
    bool ed25519 = false;
    long status = 0;
    int rc;

    aa_diag_clear(&d);
    rc = aa_aw_fetch_metadata(&f->as, "aauth-issuer", &status, md, &d);
    if (rc != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, text, sizeof(text));
        if (status == 0 || aa_err_is_fault(rc))
            aa_check_fault(&f3_md, "fetching the issuer metadata", rc, &d);
        else
            aa_check_fail(&f3_md, f3_md.expect, text, NULL);
        return;
    }
    aa_buf_init(&bad, 4096);
    if (aa_json_str(*md, "issuer") == NULL || strcmp(aa_json_str(*md, "issuer"), f->as.id) != 0)
        aa_buf_printf(&bad, "issuer %s (expected %s); ",
                      aa_json_str(*md, "issuer") ? aa_json_str(*md, "issuer") : "absent", f->as.id);
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const char *u = aa_json_str(*md, urls[i]);
        struct aa_url pu;
        if (u == NULL || aa_url_parse(u, strlen(u), 0, &pu, NULL) != AA_OK)
            aa_buf_printf(&bad, "%s %s; ", urls[i], u ? "not an absolute URL" : "missing");
    }
    algs = cJSON_GetObjectItemCaseSensitive(*md, "agent_signing_algs_supported");
    cJSON_ArrayForEach(e, algs)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, "ed25519") == 0)
            ed25519 = true;
    }
    if (!cJSON_IsArray(algs) || !ed25519)
        aa_buf_adds(&bad, "agent_signing_algs_supported lacks \"ed25519\" (RFC 9421 name); ");
    types = cJSON_GetObjectItemCaseSensitive(*md, "request_types_supported");
    if (!cJSON_IsArray(types) || cJSON_GetArraySize(types) == 0)
        aa_buf_adds(&bad, "request_types_supported missing or empty; ");
    if (bad.len == 0)
        aa_check_pass(&f3_md, "all required members present");
    else
        aa_check_fail(&f3_md, f3_md.expect, bad.p, NULL);
    aa_buf_free(&bad);
}

/* ---- TEST 1 and TEST 2 -------------------------------------------------------- */

AA_CASE(autonomous, flow, .title = "F3.1-F3.4 and F3.6: challenge, auth token, access, refresh",
        .checks = AA_CHECKS(&f3_challenge, &f3_challenge_as, &f3_rt_typ, &f3_rt_iss, &f3_rt_aud,
                            &f3_rt_agent, &f3_rt_jkt, &f3_rt_exp, &f3_rt_scope, &f3_rt_valid,
                            &f3_md, &f3_auth_status, &f3_auth_members, &f3_auth_nostore, &f3_at_typ,
                            &f3_at_valid, &f3_at_iss, &f3_at_aud, &f3_at_agent, &f3_at_nodelegate,
                            &f3_at_cnf, &f3_at_scope, &f3_at_exp, &f3_access, &f3_access_body,
                            &f3_rf_status, &f3_rf_norefresh, &f3_rf_claims, &f3_rf_exp, &f3_rf_cnf,
                            &f3_rf_valid, &f3_rf_access),
        .needs = AA_NEED(AA_ROLE_RESOURCE) | AA_NEED(AA_ROLE_AUTH_SERVER))
{
    static const struct aa_check *const all[] = {&f3_challenge,
                                                 &f3_challenge_as,
                                                 &f3_rt_typ,
                                                 &f3_rt_iss,
                                                 &f3_rt_aud,
                                                 &f3_rt_agent,
                                                 &f3_rt_jkt,
                                                 &f3_rt_exp,
                                                 &f3_rt_scope,
                                                 &f3_rt_valid,
                                                 &f3_md,
                                                 &f3_auth_status,
                                                 &f3_auth_members,
                                                 &f3_auth_nostore,
                                                 &f3_at_typ,
                                                 &f3_at_valid,
                                                 &f3_at_iss,
                                                 &f3_at_aud,
                                                 &f3_at_agent,
                                                 &f3_at_nodelegate,
                                                 &f3_at_cnf,
                                                 &f3_at_scope,
                                                 &f3_at_exp,
                                                 &f3_access,
                                                 &f3_access_body,
                                                 &f3_rf_status,
                                                 &f3_rf_norefresh,
                                                 &f3_rf_claims,
                                                 &f3_rf_exp,
                                                 &f3_rf_cnf,
                                                 &f3_rf_valid,
                                                 &f3_rf_access,
                                                 NULL};
    static const struct aa_check *const after_rt[] = {
        &f3_rt_typ,       &f3_rt_iss,        &f3_rt_aud,    &f3_rt_agent,     &f3_rt_jkt,
        &f3_rt_exp,       &f3_rt_scope,      &f3_rt_valid,  &f3_auth_status,  &f3_auth_members,
        &f3_auth_nostore, &f3_at_typ,        &f3_at_valid,  &f3_at_iss,       &f3_at_aud,
        &f3_at_agent,     &f3_at_nodelegate, &f3_at_cnf,    &f3_at_scope,     &f3_at_exp,
        &f3_access,       &f3_access_body,   &f3_rf_status, &f3_rf_norefresh, &f3_rf_claims,
        &f3_rf_exp,       &f3_rf_cnf,        &f3_rf_valid,  &f3_rf_access,    NULL};
    static const struct aa_check *const after_auth[] = {
        &f3_auth_members, &f3_auth_nostore,  &f3_at_typ,
        &f3_at_valid,     &f3_at_iss,        &f3_at_aud,
        &f3_at_agent,     &f3_at_nodelegate, &f3_at_cnf,
        &f3_at_scope,     &f3_at_exp,        &f3_access,
        &f3_access_body,  &f3_rf_status,     &f3_rf_norefresh,
        &f3_rf_claims,    &f3_rf_exp,        &f3_rf_cnf,
        &f3_rf_valid,     &f3_rf_access,     NULL};
    static const struct aa_check *const after_at[] = {
        &f3_at_typ,        &f3_at_valid,  &f3_at_iss,       &f3_at_aud,    &f3_at_agent,
        &f3_at_nodelegate, &f3_at_cnf,    &f3_at_scope,     &f3_at_exp,    &f3_access,
        &f3_access_body,   &f3_rf_status, &f3_rf_norefresh, &f3_rf_claims, &f3_rf_exp,
        &f3_rf_cnf,        &f3_rf_valid,  &f3_rf_access,    NULL};
    static const struct aa_check *const after_refresh[] = {
        &f3_rf_norefresh, &f3_rf_claims, &f3_rf_exp, &f3_rf_cnf, &f3_rf_valid, &f3_rf_access, NULL};
    struct f3_world f;
    const struct aa_client_step *st = NULL;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr, rf;
    struct aa_diag d;
    char url[AA_AW_URL_MAX];
    cJSON *md = NULL, *rth = NULL, *rtc = NULL, *ath = NULL, *atc = NULL, *rfh = NULL, *rfc = NULL;
    char *rt = NULL, *at = NULL, *refresh = NULL;
    const char *rt_scope, *at_scope;
    const char *rt_aud_want;
    int64_t exp0 = 0, exp1 = 0;
    int rc;

    memset(&f, 0, sizeof(f));
    memset(&tr, 0, sizeof(tr));
    memset(&rf, 0, sizeof(rf));
    aa_diag_clear(&d);
    if (!f3_setup(&f, all))
        goto out;

    /* F3.2 first: it does not depend on the resource, and gating reads it */
    f3_metadata(&f, &md);

    /* F3.1 */
    aa_conf_note("F3.1: GET %s%s signed(jwks id=%s kid=key-1)", f.r.url, f.r.auth_path, f.ag.id);
    aa_aw_url(&f.r, f.r.auth_path, url, sizeof(url));
    rc = aa_aw_send(f.c, "GET", url, AA_CRED_JWKS, NULL, NULL, NULL, &st, &d);
    if (!aa_aw_expect_auth_challenge(&f3_challenge, st)) {
        if (st == NULL)
            aa_check_fault(&f3_challenge, "GET the resource", rc, &d);
        aa_check_not_evaluated(&f3_challenge, AA_CHECKS(&f3_challenge_as));
        aa_check_not_evaluated(&f3_challenge, after_rt);
        goto out;
    }
    rt = aa_strdup(st->challenge.resource_token);
    if (aa_http_identifier_check(st->challenge.auth_server, aa_conf_dev_mode(), NULL, &d) !=
        AA_OK) {
        aa_check_fail(&f3_challenge_as, f3_challenge_as.expect, st->challenge.auth_server, "%s",
                      d.msg);
        aa_check_not_evaluated(&f3_challenge_as, after_rt);
        goto out;
    }
    if (strcmp(st->challenge.auth_server, f.as.id) != 0) {
        /* Which AS a resource trusts is its configuration, not a protocol
         * rule: the run cannot follow it to another auth server. */
        aa_check_error(&f3_challenge_as,
                       "the resource names auth server %s but this run's auth server is %s: "
                       "configure the resource to trust %s (or give --target-auth-server %s)",
                       st->challenge.auth_server, f.as.id, f.as.id, st->challenge.auth_server);
        aa_check_not_evaluated(&f3_challenge_as, after_rt);
        goto out;
    }
    aa_check_pass(&f3_challenge_as, "%s", st->challenge.auth_server);
    rt_aud_want = f.as.id;

    /* the resource token, claim by claim and as a whole */
    aa_aw_note_token("resource token", rt);
    if (aa_aw_peek(rt, &rth, &rtc, &d) != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, text, sizeof(text));
        aa_check_fail(&f3_rt_typ, f3_rt_typ.expect, text, "the resource token is not a JWS");
        aa_check_not_evaluated(&f3_rt_typ, after_rt);
        goto out;
    }
    aa_aw_expect_typ(&f3_rt_typ, rth, "resource+jwt");
    aa_aw_expect_claim(&f3_rt_iss, rtc, "iss", f.r.id);
    aa_aw_expect_claim(&f3_rt_aud, rtc, "aud", rt_aud_want);
    aa_aw_expect_claim(&f3_rt_agent, rtc, "agent", f.ag.id);
    aa_aw_expect_claim(&f3_rt_jkt, rtc, "agent_jkt", f.ag_jkt);
    aa_aw_expect_future(&f3_rt_exp, rtc, "exp");
    rt_scope = aa_json_str(rtc, "scope");
    if (rt_scope == NULL || *rt_scope == '\0')
        aa_check_fail(&f3_rt_scope, f3_rt_scope.expect, "(no scope)", NULL);
    else if (cJSON_GetObjectItemCaseSensitive(rtc, "auth_request_url") != NULL)
        aa_check_fail(&f3_rt_scope, f3_rt_scope.expect, "scope and auth_request_url",
                      "exactly one of scope / auth_request_url (D-16)");
    else
        aa_check_pass(&f3_rt_scope, "%s", rt_scope);
    aa_aw_expect_valid_rt(&f.w, &f3_rt_valid, rt, f.as.id, f.ag.id, f.ag_jkt);

    /* F3.3 (without the issuer metadata, f3_md has said why) */
    if (md == NULL) {
        aa_check_not_evaluated(&f3_md, AA_CHECKS(&f3_auth_status));
        aa_check_not_evaluated(&f3_md, after_auth);
        goto out;
    }
    if (!aa_check_require_listed(&f3_auth_status, AA_ROLE_AUTH_SERVER, md,
                                 "request_types_supported", "auth")) {
        aa_check_not_evaluated(&f3_auth_status, after_auth);
        goto out;
    }
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = rt;
    tp.redirect_uri = aa_client_redirect_uri(f.c);
    aa_conf_note("F3.3: POST agent_token_endpoint request_type=auth&resource_token=RT");
    rc = aa_aw_token_request(f.c, f.as.id, &tp, NULL, &tr, &st, &d);
    if (st == NULL) {
        bool rec = false;
        bool md_ok = aa_check_outcome(&f3_md, &rec) == AA_OUT_PASS && rec;
        if (md_ok)
            aa_check_fault(&f3_auth_status, "reaching agent_token_endpoint", rc, &d);
        else
            aa_check_not_evaluated(&f3_md, AA_CHECKS(&f3_auth_status));
        aa_check_not_evaluated(&f3_auth_status, after_auth);
        goto out;
    }
    if (!aa_aw_expect_step(&f3_auth_status, rc, &d, st, 200, NULL)) {
        aa_check_not_evaluated(&f3_auth_status, after_auth);
        goto out;
    }
    if (aa_aw_resp_str(st, "auth_token") == NULL && aa_aw_resp_str(st, "request_token") != NULL) {
        /* A conforming AS in user-consent mode; F4 covers that path. */
        aa_check_skip(&f3_auth_members,
                      "the auth server asks for user consent (request_token): the autonomous "
                      "flow needs require_user_consent off; the consent suite covers this");
        aa_check_not_evaluated(&f3_auth_members, after_auth);
        goto out;
    }
    aa_aw_expect_no_store(&f3_auth_nostore, st);
    if (!aa_aw_expect_token_members(&f3_auth_members, st, true) &&
        aa_aw_resp_str(st, "auth_token") == NULL) {
        aa_check_not_evaluated(&f3_auth_members, after_at);
        goto out;
    }
    at = aa_strdup(aa_aw_resp_str(st, "auth_token"));
    refresh =
        aa_aw_resp_str(st, "refresh_token") ? aa_strdup(aa_aw_resp_str(st, "refresh_token")) : NULL;
    aa_aw_note_token("auth token", at);
    if (aa_aw_peek(at, &ath, &atc, &d) != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, text, sizeof(text));
        aa_check_fail(&f3_at_typ, f3_at_typ.expect, text, "the auth token is not a JWS");
        aa_check_not_evaluated(&f3_at_typ, after_at);
        goto out;
    }
    aa_aw_expect_typ(&f3_at_typ, ath, "auth+jwt");
    aa_aw_expect_valid_at(&f.w, &f3_at_valid, at, f.as.id, f.r.id, false, NULL);
    aa_aw_expect_claim(&f3_at_iss, atc, "iss", f.as.id);
    aa_aw_expect_claim(&f3_at_aud, atc, "aud", f.r.id);
    aa_aw_expect_claim(&f3_at_agent, atc, "agent", f.ag.id);
    aa_aw_expect_absent(&f3_at_nodelegate, atc, "agent_delegate");
    aa_aw_expect_cnf(&f3_at_cnf, atc, f.ag_jkt);
    at_scope = aa_json_str(atc, "scope");
    aa_aw_expect_scope_within(&f3_at_scope, at_scope, rt_scope);
    aa_aw_expect_future(&f3_at_exp, atc, "exp");
    aa_json_int(atc, "exp", &exp0);

    /* F3.4 */
    aa_conf_note("F3.4: GET %s%s signed(jwt auth token)", f.r.url, f.r.auth_path);
    rc = aa_aw_send(f.c, "GET", url, AA_CRED_AUTH_TOKEN, at, NULL, NULL, &st, &d);
    if (aa_aw_expect_step(&f3_access, rc, &d, st, 200, NULL)) {
        const char *tt = aa_aw_resp_str(st, "token_type"), *ag = aa_aw_resp_str(st, "agent");
        const char *sc = aa_aw_resp_str(st, "scope");
        bool ok = tt != NULL && strcmp(tt, "auth+jwt") == 0 && ag != NULL &&
                  strcmp(ag, f.ag.id) == 0 && sc != NULL && at_scope != NULL &&
                  strcmp(sc, at_scope) == 0;
        aa_expect_true(&f3_access_body, ok, f3_access_body.expect,
                       "token_type=%s agent=%s scope=%s", tt ? tt : "(absent)",
                       ag ? ag : "(absent)", sc ? sc : "(absent)");
    } else {
        aa_check_not_evaluated(&f3_access, AA_CHECKS(&f3_access_body));
    }

    /* TEST 2 (F3.6): refresh */
    if (refresh == NULL) {
        aa_check_not_evaluated(&f3_auth_members, AA_CHECKS(&f3_rf_status));
        aa_check_not_evaluated(&f3_rf_status, after_refresh);
        goto out;
    }
    if (!aa_check_require_listed(&f3_rf_status, AA_ROLE_AUTH_SERVER, md, "request_types_supported",
                                 "refresh")) {
        aa_check_not_evaluated(&f3_rf_status, after_refresh);
        goto out;
    }
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "refresh";
    tp.refresh_token = refresh;
    aa_conf_note("F3.6: POST agent_token_endpoint request_type=refresh signed(jwks)");
    rc = aa_aw_token_request(f.c, f.as.id, &tp, NULL, &rf, &st, &d);
    if (st == NULL) {
        aa_check_fault(&f3_rf_status, "reaching agent_token_endpoint", rc, &d);
        aa_check_not_evaluated(&f3_rf_status, after_refresh);
        goto out;
    }
    if (!aa_aw_expect_step(&f3_rf_status, rc, &d, st, 200, NULL) ||
        !aa_aw_expect_token_members(&f3_rf_status, st, false)) {
        aa_check_not_evaluated(&f3_rf_status, after_refresh);
        goto out;
    }
    if (aa_aw_resp_str(st, "refresh_token") == NULL)
        aa_check_pass(&f3_rf_norefresh, "no refresh_token");
    else
        aa_check_fail(&f3_rf_norefresh, f3_rf_norefresh.expect, "a new refresh_token",
                      "refresh tokens are not rotated in this profile (D-20)");
    aa_aw_note_token("refreshed auth token", aa_aw_resp_str(st, "auth_token"));
    if (aa_aw_peek(aa_aw_resp_str(st, "auth_token"), &rfh, &rfc, &d) != AA_OK) {
        aa_check_fail(&f3_rf_claims, f3_rf_claims.expect, d.msg, "not a JWS");
        aa_check_not_evaluated(&f3_rf_claims,
                               AA_CHECKS(&f3_rf_exp, &f3_rf_cnf, &f3_rf_valid, &f3_rf_access));
        goto out;
    }
    {
        static const char *const same[] = {"iss", "aud", "agent", "scope"};
        struct aa_buf diff;
        aa_buf_init(&diff, 2048);
        for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
            const char *a = aa_json_str(atc, same[i]), *b = aa_json_str(rfc, same[i]);
            if (a == NULL || b == NULL || strcmp(a, b) != 0)
                aa_buf_printf(&diff, "%s: %s -> %s; ", same[i], a ? a : "(absent)",
                              b ? b : "(absent)");
        }
        if (cJSON_GetObjectItemCaseSensitive(rfc, "agent_delegate") != NULL)
            aa_buf_adds(&diff, "agent_delegate appeared; ");
        if (diff.len == 0)
            aa_check_pass(&f3_rf_claims, "iss, aud, agent, scope unchanged");
        else
            aa_check_fail(&f3_rf_claims, f3_rf_claims.expect, diff.p, NULL);
        aa_buf_free(&diff);
    }
    if (aa_json_int(rfc, "exp", &exp1))
        aa_expect_true(&f3_rf_exp, exp1 >= exp0 && exp1 > aa_conf_now(), f3_rf_exp.expect,
                       "exp %lld (before: %lld, now %lld)", (long long)exp1, (long long)exp0,
                       (long long)aa_conf_now());
    else
        aa_check_fail(&f3_rf_exp, f3_rf_exp.expect, "(no integer exp)", NULL);
    aa_aw_expect_cnf(&f3_rf_cnf, rfc, f.ag_jkt);
    aa_aw_expect_valid_at(&f.w, &f3_rf_valid, aa_aw_resp_str(st, "auth_token"), f.as.id, f.r.id,
                          false, NULL);
    {
        char *tok = aa_strdup(aa_aw_resp_str(st, "auth_token"));
        rc = aa_aw_send(f.c, "GET", url, AA_CRED_AUTH_TOKEN, tok, NULL, NULL, &st, &d);
        aa_aw_expect_step(&f3_rf_access, rc, &d, st, 200, NULL);
        free(tok);
    }
out:
    aa_client_token_response_cleanup(&tr);
    aa_client_token_response_cleanup(&rf);
    cJSON_Delete(md);
    cJSON_Delete(rth);
    cJSON_Delete(rtc);
    cJSON_Delete(ath);
    cJSON_Delete(atc);
    cJSON_Delete(rfh);
    cJSON_Delete(rfc);
    free(rt);
    free(at);
    free(refresh);
    aa_aw_cleanup(&f.w);
}

/* ---- F3.5 and AU-07 --------------------------------------------------------------- */

AA_CASE(autonomous, narrowed_scope,
        .title = "F3.5 POST /resource/token scope=data.read; AU-07 insufficient_scope",
        .checks = AA_CHECKS(&f3_rte_status, &f3_rte_token, &f3_scoped_scope, &f3_scoped_get,
                            &f3_insufficient, &f3_insufficient_ch),
        .needs = AA_NEED(AA_ROLE_RESOURCE) | AA_NEED(AA_ROLE_AUTH_SERVER))
{
    static const struct aa_check *const all[] = {
        &f3_rte_status,      &f3_rte_token, &f3_scoped_scope, &f3_scoped_get, &f3_insufficient,
        &f3_insufficient_ch, NULL};
    static const struct aa_check *const after_rte[] = {&f3_rte_token,       &f3_scoped_scope,
                                                       &f3_scoped_get,      &f3_insufficient,
                                                       &f3_insufficient_ch, NULL};
    static const struct aa_check *const after_at[] = {&f3_scoped_get, &f3_insufficient,
                                                      &f3_insufficient_ch, NULL};
    struct f3_world f;
    struct aa_client_resource_token rtr;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    const struct aa_client_step *st = NULL;
    struct aa_diag d;
    cJSON *rmd = NULL, *h = NULL, *cl = NULL, *ah = NULL, *ac = NULL;
    char url[AA_AW_URL_MAX];
    char *at = NULL;
    long status = 0;
    size_t from;
    int rc;

    memset(&f, 0, sizeof(f));
    memset(&rtr, 0, sizeof(rtr));
    memset(&tr, 0, sizeof(tr));
    aa_diag_clear(&d);
    if (!f3_setup(&f, all))
        goto out;

    /* data.read / data.write are the reference's scopes (D-17): a resource
     * that does not publish them is not expected to know them. */
    rc = aa_aw_fetch_metadata(&f.r, "aauth-resource", &status, &rmd, &d);
    if (rc != AA_OK && (status == 0 || aa_err_is_fault(rc))) {
        aa_check_fault(&f3_rte_status, "fetching the resource metadata", rc, &d);
        aa_check_not_evaluated(&f3_rte_status, after_rte);
        goto out;
    }
    if (rmd == NULL) {
        aa_check_fail(&f3_rte_status, "the resource metadata (PROFILE#3)", d.msg,
                      "resource_token_endpoint is found through the metadata");
        aa_check_not_evaluated(&f3_rte_status, after_rte);
        goto out;
    }
    if (!aa_check_require_listed(&f3_rte_status, AA_ROLE_RESOURCE, rmd, "supported_scopes",
                                 "data.read")) {
        aa_check_not_evaluated(&f3_rte_status, after_rte);
        goto out;
    }

    aa_conf_note("F3.5: POST resource_token_endpoint scope=data.read signed(jwks)");
    from = aa_aw_next_seq(f.c);
    rc = aa_client_resource_token_request(f.c, f.r.id, "data.read", NULL, &rtr, &d);
    st = aa_aw_last_step(f.c, AA_CSTEP_RESOURCE_TOKEN, from);
    if (st == NULL) {
        aa_check_fault(&f3_rte_status, "reaching resource_token_endpoint", rc, &d);
        aa_check_not_evaluated(&f3_rte_status, after_rte);
        goto out;
    }
    if (!aa_aw_expect_step(&f3_rte_status, rc, &d, st, 200, NULL))
        goto not_rte;
    {
        int64_t ei = 0;
        const char *tok = aa_aw_resp_str(st, "resource_token"),
                   *as = aa_aw_resp_str(st, "auth_server");
        bool ok = tok != NULL && as != NULL && aa_json_int(st->json, "expires_in", &ei) && ei > 0;
        if (!aa_expect_true(&f3_rte_status, ok, f3_rte_status.expect,
                            "resource_token %s, auth_server %s, expires_in %lld",
                            tok ? "present" : "missing", as ? as : "missing", (long long)ei) ||
            tok == NULL)
            goto not_rte;
    }
    aa_aw_note_token("requested resource token", aa_aw_resp_str(st, "resource_token"));
    if (aa_aw_peek(aa_aw_resp_str(st, "resource_token"), &h, &cl, &d) != AA_OK) {
        aa_check_fail(&f3_rte_token, f3_rte_token.expect, d.msg, "not a JWS");
        aa_check_not_evaluated(&f3_rte_token, AA_CHECKS(&f3_scoped_scope, &f3_scoped_get,
                                                        &f3_insufficient, &f3_insufficient_ch));
        goto out;
    }
    aa_aw_expect_typ(&f3_rte_token, h, "resource+jwt");
    aa_aw_expect_claim(&f3_rte_token, cl, "iss", f.r.id);
    aa_aw_expect_claim(&f3_rte_token, cl, "aud", aa_aw_resp_str(st, "auth_server"));
    aa_aw_expect_claim(&f3_rte_token, cl, "agent", f.ag.id);
    aa_aw_expect_claim(&f3_rte_token, cl, "agent_jkt", f.ag_jkt);
    aa_aw_expect_claim(&f3_rte_token, cl, "scope", "data.read");
    aa_aw_expect_absent(&f3_rte_token, cl, "auth_request_url");
    aa_aw_expect_valid_rt(&f.w, &f3_rte_token, aa_aw_resp_str(st, "resource_token"), f.as.id,
                          f.ag.id, f.ag_jkt);

    /* the auth token for it */
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = aa_aw_resp_str(st, "resource_token");
    tp.redirect_uri = aa_client_redirect_uri(f.c);
    rc = aa_aw_token_request(f.c, f.as.id, &tp, NULL, &tr, &st, &d);
    if (st == NULL) {
        aa_check_fault(&f3_scoped_scope, "reaching agent_token_endpoint", rc, &d);
        aa_check_not_evaluated(&f3_scoped_scope, after_at);
        goto out;
    }
    if (st->has_response && st->resp.status == 200 && aa_aw_resp_str(st, "auth_token") == NULL &&
        aa_aw_resp_str(st, "request_token") != NULL) {
        /* nothing recorded yet, so the dependents become SKIP too */
        aa_check_skip(&f3_scoped_scope, "the auth server asks for user consent (request_token); "
                                        "the autonomous flow needs require_user_consent off");
        aa_check_not_evaluated(&f3_scoped_scope, after_at);
        goto out;
    }
    if (!aa_aw_step_ok(&f3_scoped_scope, rc, &d, st, 200, NULL)) {
        aa_check_not_evaluated(&f3_scoped_scope, after_at);
        goto out;
    }
    if (aa_aw_resp_str(st, "auth_token") == NULL) {
        aa_check_fail(&f3_scoped_scope, f3_scoped_scope.expect, "no auth_token", NULL);
        aa_check_not_evaluated(&f3_scoped_scope, after_at);
        goto out;
    }
    at = aa_strdup(aa_aw_resp_str(st, "auth_token"));
    if (aa_aw_peek(at, &ah, &ac, &d) != AA_OK) {
        aa_check_fail(&f3_scoped_scope, f3_scoped_scope.expect, d.msg, "not a JWS");
        aa_check_not_evaluated(&f3_scoped_scope, after_at);
        goto out;
    }
    if (!aa_aw_expect_claim(&f3_scoped_scope, ac, "scope", "data.read")) {
        aa_check_not_evaluated(&f3_scoped_scope, after_at);
        goto out;
    }

    /* data.read covers GET, not POST (D-17, PROFILE#4.5 step 12) */
    aa_aw_url(&f.r, f.r.auth_path, url, sizeof(url));
    rc = aa_aw_send(f.c, "GET", url, AA_CRED_AUTH_TOKEN, at, NULL, NULL, &st, &d);
    aa_aw_expect_step(&f3_scoped_get, rc, &d, st, 200, NULL);
    if (!aa_check_require_listed(&f3_insufficient, AA_ROLE_RESOURCE, rmd, "supported_scopes",
                                 "data.write")) {
        aa_check_not_evaluated(&f3_insufficient, AA_CHECKS(&f3_insufficient_ch));
        goto out;
    }
    aa_conf_note("AU-07: POST %s with a data.read-only auth token", url);
    rc = aa_aw_send(f.c, "POST", url, AA_CRED_AUTH_TOKEN, at, "application/json",
                    "{\"action\":\"write\"}", &st, &d);
    if (!aa_aw_expect_step(&f3_insufficient, rc, &d, st, 403, "insufficient_scope")) {
        aa_check_not_evaluated(&f3_insufficient, AA_CHECKS(&f3_insufficient_ch));
        goto out;
    }
    if (st->n_challenge_lines == 1 && st->has_challenge && st->challenge.auth_token &&
        st->challenge.resource_token != NULL && st->challenge.auth_server != NULL)
        aa_check_pass(&f3_insufficient_ch, "auth-token challenge, auth_server=\"%s\"",
                      st->challenge.auth_server);
    else
        aa_check_fail(&f3_insufficient_ch, f3_insufficient_ch.expect,
                      aa_http_headers_get(&st->resp.headers, "Agent-Auth")
                          ? aa_http_headers_get(&st->resp.headers, "Agent-Auth")
                          : "(no Agent-Auth)",
                      NULL);
    goto out;
not_rte:
    aa_check_not_evaluated(&f3_rte_status, after_rte);
out:
    aa_client_resource_token_cleanup(&rtr);
    aa_client_token_response_cleanup(&tr);
    cJSON_Delete(rmd);
    cJSON_Delete(h);
    cJSON_Delete(cl);
    cJSON_Delete(ah);
    cJSON_Delete(ac);
    free(at);
    aa_aw_cleanup(&f.w);
}
