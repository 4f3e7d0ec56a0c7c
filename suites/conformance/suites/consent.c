/*
 * consent: flow F4 of PROFILE#7, user delegation - the auth server asks a
 * user before it issues an auth token (require_user_consent, D-19): a
 * request token, the scripted user of PROFILE#6.6 signing in and granting
 * (or denying) consent, a code redeemed for an auth token carrying the
 * user's sub, and the code's single use (CD-01, CD-08).
 *
 * Judged: the auth server (request token, redirect, code, auth token) and
 * the resource (its challenge, the sub in the authorized answer). The
 * agent is the harness's own (autonomous_world.h). The user is the
 * client library's scripted browser: it understands the consent UI
 * contract of PROFILE#6.6. A third-party auth server whose login form it
 * does not recognise gets SKIP ("consent UI not scriptable"), never PASS.
 *
 * Design choice: the flow runs on the run's consent pair, the instances
 * "auth-consent" (require_user_consent, D-19) and "resource-consent"
 * (naming it): embedded by the runner, or the user's (--instance
 * auth-consent=URL) when the auth server is under test. An auth server
 * that nevertheless grants directly makes every consent check SKIP with
 * the reason, never PASS.
 */
#include <string.h>
#include <strings.h>

#include "autonomous_world.h"
#include "json/aa_json.h"

static const char *const f4_lines[] = {
    "This demo shows user delegation (the user consents):",
    "1. Agent calls the resource and receives a resource token",
    "2. Auth server answers the agent's request with a request token",
    "3. The user signs in at the auth server and grants consent",
    "4. Auth server redirects back with a code; the agent redeems it",
    "5. Agent accesses the resource on behalf of the user",
    NULL};

AA_FLOW(consent, .suite = "consent", .banner = "User Delegation Demo",
        .description_lines = f4_lines, .seed_tests = 0,
        AA_FLOW_TESTS({1, "User Delegation Flow (Automated)", "User Delegation Flow",
                       "Agent obtains an auth token after a scripted user consents.",
                       "User consented; auth token obtained and accepted"}));

AA_CHECK(f4_challenge, .id = "consent.challenge.resource-token", .suite = "consent",
         .title = "GET the resource's authorization endpoint signed(jwks) by the agent",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#5",
         .expect = "401 with an auth-token challenge carrying resource_token and auth_server "
                   "(PROFILE#7 F4.1)",
         .test_no = 1, .line = "Resource challenged for an auth token");
AA_CHECK(f4_md, .id = "consent.metadata.agent-auth-endpoint", .suite = "consent",
         .title = "agent_auth_endpoint in the issuer metadata", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3",
         .expect = "agent_auth_endpoint is an absolute URL", .test_no = 1,
         .line = "agent_auth_endpoint published");
AA_CHECK(f4_request_token, .id = "consent.auth-response.request-token", .suite = "consent",
         .title = "POST agent_token_endpoint request_type=auth with the resource token when "
                  "consent is required",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "200 {request_token (string), expires_in (integer > 0)} without auth_token",
         .test_no = 1, .line = "Auth server asked for user consent");
AA_CHECK(f4_redirect, .id = "consent.redirect.status", .suite = "consent",
         .title = "the user signs in and grants consent (PROFILE#6.6 scripted user)",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.4",
         .expect = "303 See Other to the redirect_uri", .test_no = 1,
         .line = "User consent redirected back");
AA_CHECK(f4_location, .id = "consent.redirect.location", .suite = "consent",
         .title = "Location of the consent redirect", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.4",
         .expect = "starts with the redirect_uri, then ?code=<code> (& when redirect_uri has a "
                   "query)",
         .test_no = 1, .line = "redirect carries a code");
AA_CHECK(f4_state, .id = "consent.redirect.state-echoed", .suite = "consent",
         .title = "state of the consent redirect", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.4", .rfc = "RFC6749#4.1.2",
         .expect = "state equal to the one sent, byte for byte", .test_no = 1,
         .line = "state echoed");
AA_CHECK(f4_code, .id = "consent.code.status", .suite = "consent",
         .title = "POST agent_token_endpoint request_type=code with the code and redirect_uri",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "200 {auth_token, expires_in > 0, refresh_token} with Cache-Control: no-store",
         .test_no = 1, .line = "Code redeemed");
AA_CHECK(f4_at_valid, .id = "consent.auth-token.valid", .suite = "consent",
         .title = "auth token validated as the resource will", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5",
         .expect = "valid per PROFILE#4.5 steps 1-10 (typ auth+jwt, JWS under the issuer's "
                   "JWKS, aud = the resource)",
         .test_no = 1, .line = "auth token signature verified");
AA_CHECK(f4_at_agent, .id = "consent.auth-token.agent", .suite = "consent",
         .title = "auth token agent and aud", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3", .expect = "agent = the requesting agent, aud = the resource",
         .test_no = 1, .line = "auth token agent and aud correct");
AA_CHECK(f4_at_cnf, .id = "consent.auth-token.cnf", .suite = "consent",
         .title = "auth token cnf.jwk", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3", .expect = "cnf.jwk thumbprint = the key that redeemed the code",
         .test_no = 1, .line = "auth token bound to the agent's key");
AA_CHECK(f4_at_scope, .id = "consent.auth-token.scope", .suite = "consent",
         .title = "auth token scope", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3",
         .expect = "scope = the resource token's scope (INFO when narrowed to a subset)",
         .test_no = 1, .line = "auth token scope: {actual}");
AA_CHECK(f4_at_sub, .id = "consent.auth-token.sub", .suite = "consent", .title = "auth token sub",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "sub = the user who consented (testuser)", .test_no = 1,
         .line = "auth token sub: {actual}");
AA_CHECK(f4_access, .id = "consent.access.sub", .suite = "consent",
         .title = "GET the authorization endpoint with the user's auth token",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.2",
         .expect = "200 and the body's sub is the user (PROFILE#7 F4.4)", .test_no = 1,
         .line = "Resource sees the user: {actual}");
AA_CHECK(f4_reuse, .id = "consent.code.reuse-rejected", .suite = "consent",
         .title = "redeem the same code a second time", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.4", .rfc = "RFC6749#4.1.2",
         .expect = "400 invalid_grant (codes are single use, CD-01)", .test_no = 1,
         .line = "code reuse rejected");
AA_CHECK(f4_deny, .id = "consent.deny.access-denied", .suite = "consent",
         .title = "the user denies consent", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.4", .rfc = "RFC6749#4.1.2.1",
         .expect = "303 to the redirect_uri with error=access_denied and no code (CD-08)",
         .test_no = 1, .line = "consent denial reported");
AA_CHECK(f4_deny_state, .id = "consent.deny.state-echoed", .suite = "consent",
         .title = "state of the denial redirect", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.4", .rfc = "RFC6749#4.1.2.1",
         .expect = "state equal to the one sent (CD-08)", .test_no = 1,
         .line = "state echoed on denial");

/* ---- the case ------------------------------------------------------------------- */

AA_CASE(consent, flow, .title = "F4: request token, scripted consent, code, access, reuse, deny",
        .checks = AA_CHECKS(&f4_challenge, &f4_md, &f4_request_token, &f4_redirect, &f4_location,
                            &f4_state, &f4_code, &f4_at_valid, &f4_at_agent, &f4_at_cnf,
                            &f4_at_scope, &f4_at_sub, &f4_access, &f4_reuse, &f4_deny,
                            &f4_deny_state),
        .needs = AA_NEED(AA_ROLE_RESOURCE) | AA_NEED(AA_ROLE_AUTH_SERVER),
        .instances = AA_INSTANCES("auth-consent", "resource-consent"))
{
    static const struct aa_check *const all[] = {
        &f4_challenge, &f4_md,       &f4_request_token, &f4_redirect,   &f4_location, &f4_state,
        &f4_code,      &f4_at_valid, &f4_at_agent,      &f4_at_cnf,     &f4_at_scope, &f4_at_sub,
        &f4_access,    &f4_reuse,    &f4_deny,          &f4_deny_state, NULL};
    static const struct aa_check *const after_rt[] = {
        &f4_request_token, &f4_redirect, &f4_location, &f4_state,      &f4_code,
        &f4_at_valid,      &f4_at_agent, &f4_at_cnf,   &f4_at_scope,   &f4_at_sub,
        &f4_access,        &f4_reuse,    &f4_deny,     &f4_deny_state, NULL};
    static const struct aa_check *const after_user[] = {
        &f4_redirect, &f4_location, &f4_state,  &f4_code,   &f4_at_valid, &f4_at_agent,
        &f4_at_cnf,   &f4_at_scope, &f4_at_sub, &f4_access, &f4_reuse,    NULL};
    static const struct aa_check *const after_code[] = {&f4_code,   &f4_at_valid, &f4_at_agent,
                                                        &f4_at_cnf, &f4_at_scope, &f4_at_sub,
                                                        &f4_access, &f4_reuse,    NULL};
    static const struct aa_check *const after_at[] = {
        &f4_at_valid, &f4_at_agent, &f4_at_cnf, &f4_at_scope, &f4_at_sub, &f4_access, NULL};
    struct aa_aw w;
    struct aa_aw_peer ag, r, as;
    struct aa_client *c = NULL;
    const struct aa_client_step *st = NULL, *cst = NULL;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_client_consent_result cr;
    struct aa_diag d;
    char url[AA_AW_URL_MAX], why[AA_DIAG_MSG_MAX + 512];
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *md = NULL, *h = NULL, *cl = NULL, *rtc = NULL, *rth = NULL;
    char *rt = NULL, *code = NULL, *at = NULL, *rt2 = NULL, *request_token = NULL;
    const char *redirect_uri;
    enum aa_aw_user u;
    long status = 0;
    int rc;

    memset(&w, 0, sizeof(w));
    memset(&tr, 0, sizeof(tr));
    memset(&cr, 0, sizeof(cr));
    aa_diag_clear(&d);
    if (aa_aw_init(&w) != AA_OK || aa_aw_instance_peer("auth-consent", &as, &d) != AA_OK ||
        aa_aw_instance_peer("resource-consent", &r, &d) != AA_OK ||
        aa_aw_agent(&w, &ag, &d) != AA_OK ||
        (c = aa_aw_agent_client(&w, &ag, "AGENT", &d)) == NULL ||
        aa_jwk_thumbprint(aa_client_key(c), jkt) != AA_OK) {
        aa_aw_setup_failed(all, "setting up the flow", &d);
        goto out;
    }
    redirect_uri = aa_client_redirect_uri(c);
    aa_conf_note("F4: agent %s, resource %s (instance resource-consent), auth server %s "
                 "(instance auth-consent, %s)",
                 ag.id, r.id, as.id, as.embedded ? "embedded" : "provided by the user");

    /* the issuer metadata: agent_auth_endpoint (and the code gate) */
    rc = aa_aw_fetch_metadata(&as, "aauth-issuer", &status, &md, &d);
    if (rc != AA_OK) {
        if (status == 0 || aa_err_is_fault(rc))
            aa_check_fault(&f4_md, "fetching the issuer metadata", rc, &d);
        else
            aa_check_fail(&f4_md, f4_md.expect, d.msg, NULL);
    } else {
        const char *aep = aa_json_str(md, "agent_auth_endpoint");
        struct aa_url pu;
        aa_expect_true(&f4_md, aep != NULL && aa_url_parse(aep, strlen(aep), 0, &pu, NULL) == AA_OK,
                       f4_md.expect, "%s", aep != NULL ? aep : "(absent)");
    }

    /* F4.1: the challenge, then the auth request */
    aa_aw_url(&r, r.auth_path, url, sizeof(url));
    rc = aa_aw_send(c, "GET", url, AA_CRED_JWKS, NULL, NULL, NULL, &st, &d);
    if (st == NULL) {
        aa_check_fault(&f4_challenge, "GET the resource", rc, &d);
        aa_check_not_evaluated(&f4_challenge, after_rt);
        goto out;
    }
    if (!aa_aw_expect_auth_challenge(&f4_challenge, st)) {
        aa_check_not_evaluated(&f4_challenge, after_rt);
        goto out;
    }
    rt = aa_strdup(st->challenge.resource_token);
    /* its scope is compared with the auth token's below; a broken token
     * leaves rtc NULL and that comparison fails */
    if (aa_aw_peek(rt, &rth, &rtc, NULL) != AA_OK)
        aa_conf_note("the resource token does not decode; its scope is unknown");
    if (md == NULL) {
        aa_check_not_evaluated(&f4_md, AA_CHECKS(&f4_request_token));
        aa_check_not_evaluated(&f4_md, after_rt);
        goto out;
    }
    if (!aa_check_require_listed(&f4_request_token, AA_ROLE_AUTH_SERVER, md,
                                 "request_types_supported", "code")) {
        aa_check_not_evaluated(&f4_request_token, after_rt);
        goto out;
    }
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = rt;
    tp.redirect_uri = redirect_uri;
    rc = aa_aw_token_request(c, as.id, &tp, NULL, &tr, &st, &d);
    if (st == NULL) {
        aa_check_fault(&f4_request_token, "reaching agent_token_endpoint", rc, &d);
        aa_check_not_evaluated(&f4_request_token, after_rt);
        goto out;
    }
    if (st->has_response && st->resp.status == 200 && aa_aw_resp_str(st, "auth_token") != NULL) {
        /* A direct grant is conforming when the AS does not require
         * consent; there is then nothing of F4 to judge. */
        aa_check_skip(&f4_request_token,
                      "the auth server granted directly (auth_token, no request_token): it does "
                      "not require user consent; run it with require_user_consent (D-19)");
        aa_check_not_evaluated(&f4_request_token, after_rt);
        goto out;
    }
    if (!aa_aw_expect_step(&f4_request_token, rc, &d, st, 200, NULL)) {
        aa_check_not_evaluated(&f4_request_token, after_rt);
        goto out;
    }
    {
        int64_t ei = 0;
        bool ok = aa_aw_resp_str(st, "request_token") != NULL &&
                  aa_json_int(st->json, "expires_in", &ei) && ei > 0;
        if (!aa_expect_true(
                &f4_request_token, ok, f4_request_token.expect, "request_token %s, expires_in %lld",
                aa_aw_resp_str(st, "request_token") ? "present" : "missing", (long long)ei) ||
            aa_aw_resp_str(st, "request_token") == NULL) {
            aa_check_not_evaluated(&f4_request_token, after_rt);
            goto out;
        }
    }
    request_token = aa_strdup(aa_aw_resp_str(st, "request_token"));

    /* F4.2: the scripted user grants consent */
    u = aa_aw_run_user(c, as.id, request_token, false, &cr, &cst, why, sizeof(why));
    if (u == AA_AW_USER_MANUAL) {
        /* --consent manual: the redirect went to the person's browser */
        aa_check_skip(&f4_redirect, "%s", AA_AW_MANUAL_UNSEEN);
        if (!aa_expect_true(&f4_location, cr.code != NULL && cr.error == NULL,
                            "a code in the redirect the person pasted", "%s",
                            cr.error != NULL  ? cr.error
                            : cr.code != NULL ? "code"
                                              : "no code")) {
            aa_check_not_evaluated(&f4_location, after_user);
            goto deny;
        }
    } else if (u != AA_AW_USER_REDIRECTED) {
        aa_aw_user_not_run(u, why, after_user);
        aa_aw_user_not_run(u, why, AA_CHECKS(&f4_deny, &f4_deny_state));
        goto out;
    } else if (!aa_aw_expect_step(&f4_redirect, cst->rc, &cst->diag, cst, 303, NULL)) {
        aa_check_not_evaluated(&f4_redirect, after_user);
        goto deny;
    } else if (!aa_expect_true(&f4_location,
                               aa_aw_location_under(cst->location, redirect_uri) && cr.code != NULL,
                               f4_location.expect, "Location: %s",
                               cst->location != NULL ? cst->location : "(absent)")) {
        aa_check_not_evaluated(&f4_location, after_user);
        goto deny;
    }
    aa_expect_str(&f4_state, "state", cr.state, cr.returned_state);
    code = aa_strdup(cr.code);

    /* F4.3: redeem the code */
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "code";
    tp.code = code;
    tp.redirect_uri = redirect_uri;
    aa_client_token_response_cleanup(&tr);
    rc = aa_aw_token_request(c, as.id, &tp, NULL, &tr, &st, &d);
    if (st == NULL) {
        aa_check_fault(&f4_code, "reaching agent_token_endpoint", rc, &d);
        aa_check_not_evaluated(&f4_code, after_code);
        goto deny;
    }
    if (!aa_aw_expect_step(&f4_code, rc, &d, st, 200, NULL) ||
        !aa_aw_expect_token_members(&f4_code, st, true)) {
        if (aa_aw_resp_str(st, "auth_token") == NULL) {
            aa_check_not_evaluated(&f4_code, after_code);
            goto deny;
        }
    }
    aa_aw_expect_no_store(&f4_code, st);
    at = aa_strdup(aa_aw_resp_str(st, "auth_token"));
    aa_aw_note_token("auth token", at);
    if (aa_aw_peek(at, &h, &cl, &d) != AA_OK) {
        aa_check_fail(&f4_at_valid, f4_at_valid.expect, d.msg, "not a JWS");
        aa_check_not_evaluated(&f4_at_valid, after_at);
        goto reuse;
    }
    aa_aw_expect_valid_at(&w, &f4_at_valid, at, as.id, r.id, false, NULL);
    aa_aw_expect_claim(&f4_at_agent, cl, "agent", ag.id);
    aa_aw_expect_claim(&f4_at_agent, cl, "aud", r.id);
    aa_aw_expect_cnf(&f4_at_cnf, cl, jkt);
    aa_aw_expect_scope_within(&f4_at_scope, aa_json_str(cl, "scope"), aa_json_str(rtc, "scope"));
    aa_aw_expect_claim(&f4_at_sub, cl, "sub", AA_CLIENT_DEFAULT_USER);

    /* F4.4: the resource sees the user */
    rc = aa_aw_send(c, "GET", url, AA_CRED_AUTH_TOKEN, at, NULL, NULL, &st, &d);
    if (aa_aw_step_ok(&f4_access, rc, &d, st, 200, NULL)) {
        const char *sub = aa_aw_resp_str(st, "sub");
        const char *want = aa_json_str(cl, "sub");
        aa_expect_true(&f4_access, sub != NULL && want != NULL && strcmp(sub, want) == 0,
                       f4_access.expect, "%s", sub != NULL ? sub : "(no sub in the body)");
    }

reuse:
    /* F4.5 a / CD-01: the code again */
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "code";
    tp.code = code;
    tp.redirect_uri = redirect_uri;
    aa_client_token_response_cleanup(&tr);
    rc = aa_aw_token_request(c, as.id, &tp, NULL, &tr, &st, &d);
    if (st == NULL)
        aa_check_fault(&f4_reuse, "reaching agent_token_endpoint", rc, &d);
    else
        aa_aw_expect_step(&f4_reuse, rc, &d, st, 400, "invalid_grant");

deny:
    /* F4.5 b / CD-08: a fresh request, consent denied */
    aa_client_consent_result_cleanup(&cr);
    rc = aa_aw_send(c, "GET", url, AA_CRED_JWKS, NULL, NULL, NULL, &st, &d);
    if (st == NULL || !st->has_challenge || st->challenge.resource_token == NULL) {
        aa_check_error(&f4_deny, "a second resource token could not be obtained: %s",
                       st == NULL ? d.msg : "no auth-token challenge");
        aa_check_not_evaluated(&f4_deny, AA_CHECKS(&f4_deny_state));
        goto out;
    }
    rt2 = aa_strdup(st->challenge.resource_token);
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = rt2;
    tp.redirect_uri = redirect_uri;
    aa_client_token_response_cleanup(&tr);
    rc = aa_aw_token_request(c, as.id, &tp, NULL, &tr, &st, &d);
    if (aa_aw_resp_str(st, "request_token") == NULL) {
        aa_check_error(&f4_deny, "the second auth request gave no request_token (%s)",
                       st == NULL ? d.msg : "see the transcript");
        aa_check_not_evaluated(&f4_deny, AA_CHECKS(&f4_deny_state));
        goto out;
    }
    free(request_token);
    request_token = aa_strdup(aa_aw_resp_str(st, "request_token"));
    u = aa_aw_run_user(c, as.id, request_token, true, &cr, &cst, why, sizeof(why));
    if (u == AA_AW_USER_MANUAL) {
        aa_expect_true(
            &f4_deny, cr.error != NULL && strcmp(cr.error, "access_denied") == 0 && cr.code == NULL,
            "error=access_denied and no code in the redirect the person pasted (CD-08)", "%s",
            cr.error != NULL  ? cr.error
            : cr.code != NULL ? "a code"
                              : "nothing");
        aa_expect_str(&f4_deny_state, "state", cr.state, cr.returned_state);
        goto out;
    }
    if (u != AA_AW_USER_REDIRECTED) {
        aa_aw_user_not_run(u, why, AA_CHECKS(&f4_deny, &f4_deny_state));
        goto out;
    }
    if (!aa_aw_expect_step(&f4_deny, cst->rc, &cst->diag, cst, 303, NULL)) {
        aa_check_not_evaluated(&f4_deny, AA_CHECKS(&f4_deny_state));
        goto out;
    }
    aa_expect_true(&f4_deny,
                   aa_aw_location_under(cst->location, redirect_uri) && cr.error != NULL &&
                       strcmp(cr.error, "access_denied") == 0 && cr.code == NULL,
                   f4_deny.expect, "Location: %s", cst->location ? cst->location : "(absent)");
    aa_expect_str(&f4_deny_state, "state", cr.state, cr.returned_state);
out:
    aa_client_token_response_cleanup(&tr);
    aa_client_consent_result_cleanup(&cr);
    cJSON_Delete(md);
    cJSON_Delete(h);
    cJSON_Delete(cl);
    cJSON_Delete(rth);
    cJSON_Delete(rtc);
    free(rt);
    free(rt2);
    free(code);
    free(at);
    free(request_token);
    aa_aw_cleanup(&w);
}
