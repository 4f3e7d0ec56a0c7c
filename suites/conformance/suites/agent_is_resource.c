/*
 * agent-is-resource: flow F5 of PROFILE#7 - the agent asks the auth server
 * for a token about itself (request_type=auth with scope, no resource
 * token): the user signs in and consents, and the auth token names the
 * agent as its audience, carries the user's identity claims and keeps the
 * identity scopes out of scope (PROFILE#6.3, D-23). F5.4 repeats it for a
 * delegate of the agent (agent_delegate, the delegate's key).
 *
 * Judged: the auth server only. It is the run's consent instance
 * "auth-consent" (require_user_consent, D-19; --instance auth-consent=URL
 * when the auth server is under test). The agent and its delegate are the
 * harness's (autonomous_world.h); the user is the scripted user of
 * PROFILE#6.6.
 *
 * Design choice: an auth server that grants directly (no user) is judged
 * on what it did issue - aud, no agent claim, identity scopes kept out of
 * scope, cnf - while the checks that need a signed-in user SKIP with the
 * reason.
 */
#include <string.h>

#include "autonomous_world.h"
#include "json/aa_json.h"

#define F5_SCOPE "openid profile email"

static const char *const f5_lines[] = {
    "This demo shows an agent that is its own resource:",
    "1. Agent asks the auth server for a token about itself (scope, no resource token)",
    "2. The user signs in and consents; the agent redeems the code",
    "3. The auth token names the agent as audience and carries the user's identity",
    "4. A delegate of the agent does the same with its own key",
    NULL};

AA_FLOW(agent_is_resource, .suite = "agent-is-resource", .banner = "Agent is Resource Demo",
        .description_lines = f5_lines, .seed_tests = 0,
        AA_FLOW_TESTS({1, "Agent is Resource Flow (Automated)", "Agent is Resource Flow",
                       "Agent obtains an auth token for itself after a scripted user consents.",
                       "Auth token for the agent obtained and validated"}));

AA_CHECK(f5_status, .id = "agent-is-resource.auth-request.status", .suite = "agent-is-resource",
         .title = "POST agent_token_endpoint request_type=auth&scope=openid+profile+email "
                  "signed(jwks)",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "200 with a request_token (consent) or an auth_token (direct grant), "
                   "expires_in > 0 (PROFILE#7 F5.1)",
         .test_no = 1, .line = "Auth server accepted the request");
AA_CHECK(f5_code, .id = "agent-is-resource.consent.code", .suite = "agent-is-resource",
         .title = "scripted consent, then request_type=code", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.4",
         .expect = "303 to the redirect_uri with code and the state; the code redeems to 200 "
                   "{auth_token, expires_in, refresh_token} (PROFILE#7 F5.2)",
         .test_no = 1, .line = "User consented and the code was redeemed");
AA_CHECK(f5_valid, .id = "agent-is-resource.auth-token.valid", .suite = "agent-is-resource",
         .title = "auth token validated as the agent (its audience) will",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.5",
         .expect = "valid per PROFILE#4.5 steps 1-10 for receiver = the agent, which may lack "
                   "the agent claim (step 9)",
         .test_no = 1, .line = "auth token signature verified");
AA_CHECK(f5_aud, .id = "agent-is-resource.auth-token.aud", .suite = "agent-is-resource",
         .title = "auth token aud", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3", .expect = "aud = the agent identifier", .test_no = 1,
         .line = "aud is the agent");
AA_CHECK(f5_no_agent, .id = "agent-is-resource.auth-token.no-agent-claim",
         .suite = "agent-is-resource", .title = "auth token agent claim",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "no agent claim (the agent is the resource)", .test_no = 1,
         .line = "no agent claim");
AA_CHECK(f5_identity, .id = "agent-is-resource.auth-token.identity-claims",
         .suite = "agent-is-resource", .title = "identity claims of the signed-in user",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.2",
         .expect = "sub, name (profile) and email (email) present (D-23)", .test_no = 1,
         .line = "identity claims present: {actual}");
AA_CHECK(f5_scopes, .id = "agent-is-resource.auth-token.identity-scopes-excluded",
         .suite = "agent-is-resource", .title = "auth token scope", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#4.2",
         .expect = "openid, profile and email are not in scope (D-23)", .test_no = 1,
         .line = "identity scopes kept out of scope");
AA_CHECK(f5_cnf, .id = "agent-is-resource.auth-token.cnf", .suite = "agent-is-resource",
         .title = "auth token cnf.jwk", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.3", .expect = "cnf.jwk thumbprint = the agent's signing key",
         .test_no = 1, .line = "bound to the agent's key");
AA_CHECK(f5_dg_token, .id = "agent-is-resource.delegate.token", .suite = "agent-is-resource",
         .title = "the same request signed(jwt agent token) by a delegate of the agent",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "an auth token, after consent when asked (PROFILE#7 F5.4)", .test_no = 1,
         .line = "Delegate obtained an auth token for the agent");
AA_CHECK(f5_dg_aud, .id = "agent-is-resource.delegate.aud", .suite = "agent-is-resource",
         .title = "delegate's auth token aud and agent", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "aud = the agent (the agent token's iss), no agent claim", .test_no = 1,
         .line = "delegate token aud is the agent");
AA_CHECK(f5_dg_sub, .id = "agent-is-resource.delegate.agent-delegate", .suite = "agent-is-resource",
         .title = "delegate's auth token agent_delegate", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "agent_delegate = the agent token's sub (delegate-1)", .test_no = 1,
         .line = "agent_delegate: {actual}");
AA_CHECK(f5_dg_cnf, .id = "agent-is-resource.delegate.cnf", .suite = "agent-is-resource",
         .title = "delegate's auth token cnf.jwk", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "cnf.jwk thumbprint = the delegate's key (its agent token's cnf.jwk)",
         .test_no = 1, .line = "bound to the delegate's key");

/* How the auth token was obtained. */
enum f5_grant { F5_NONE = 0, F5_DIRECT, F5_CONSENT };

/*
 * request_type=auth&scope=... through |c| and, when the AS asks, the
 * scripted user and request_type=code. |status| judges the auth request;
 * |code| the consent and code steps - or, when |code| is NULL (the
 * delegate variant, one check for the whole), |status| judges every step
 * and gets its PASS only once the token is there. When the scripted user
 * cannot run, every check of |user_deps| gets SKIP/ERROR with the reason.
 * Returns how the token came, |*at| the token (NULL with F5_NONE).
 */
static enum f5_grant f5_obtain(struct aa_client *c, const char *as_id,
                               const struct aa_check *status, const struct aa_check *code,
                               const struct aa_check *const *user_deps, char **at)
{
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_client_consent_result cr;
    const struct aa_client_step *st = NULL, *cst = NULL;
    const struct aa_check *code_c = code != NULL ? code : status;
    char why[AA_DIAG_MSG_MAX + 512];
    enum f5_grant g = F5_NONE;
    enum aa_aw_user u;
    struct aa_diag d;
    char *rqt = NULL, *cd = NULL;
    int64_t ei = 0;
    bool ok;
    int rc;

    *at = NULL;
    memset(&cr, 0, sizeof(cr));
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.scope = F5_SCOPE;
    tp.redirect_uri = aa_client_redirect_uri(c);
    rc = aa_aw_token_request(c, as_id, &tp, NULL, &tr, &st, &d);
    if (st == NULL) {
        aa_check_fault(status, "reaching agent_token_endpoint", rc, &d);
        goto out;
    }
    ok = code != NULL ? aa_aw_expect_step(status, rc, &d, st, 200, NULL)
                      : aa_aw_step_ok(status, rc, &d, st, 200, NULL);
    if (!ok)
        goto out;
    if (aa_aw_resp_str(st, "auth_token") != NULL) {
        /* a direct grant: no user, judged on what was issued */
        if (!aa_json_int(st->json, "expires_in", &ei) || ei <= 0) {
            aa_check_fail(status, status->expect, "auth_token without expires_in > 0", NULL);
            goto out;
        }
        *at = aa_strdup(aa_aw_resp_str(st, "auth_token"));
        g = F5_DIRECT;
        if (code != NULL)
            aa_check_skip(code, "the auth server granted directly (no request_token): it does "
                                "not require user consent (D-19)");
        goto out;
    }
    if (aa_aw_resp_str(st, "request_token") == NULL || !aa_json_int(st->json, "expires_in", &ei) ||
        ei <= 0) {
        aa_check_fail(status, status->expect, "no request_token/auth_token with expires_in > 0",
                      NULL);
        goto out;
    }
    rqt = aa_strdup(aa_aw_resp_str(st, "request_token"));
    u = aa_aw_run_user(c, as_id, rqt, false, &cr, &cst, why, sizeof(why));
    if (u != AA_AW_USER_REDIRECTED && u != AA_AW_USER_MANUAL) {
        aa_aw_user_not_run(u, why, user_deps);
        goto out;
    }
    /* manual consent: the 303 went to the person's browser (unseen) */
    if (u == AA_AW_USER_REDIRECTED && !aa_aw_step_ok(code_c, cst->rc, &cst->diag, cst, 303, NULL))
        goto out;
    if ((u == AA_AW_USER_REDIRECTED && !aa_aw_location_under(cst->location, tp.redirect_uri)) ||
        cr.code == NULL || cr.returned_state == NULL || strcmp(cr.returned_state, cr.state) != 0) {
        aa_check_fail(code_c, code_c->expect,
                      cst != NULL && cst->location != NULL ? cst->location
                      : cst != NULL                        ? "(no Location)"
                                                           : "(what the person pasted)",
                      "the redirect must carry a code and echo the state (PROFILE#6.4)");
        goto out;
    }
    cd = aa_strdup(cr.code);
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "code";
    tp.code = cd;
    tp.redirect_uri = aa_client_redirect_uri(c);
    aa_client_token_response_cleanup(&tr);
    rc = aa_aw_token_request(c, as_id, &tp, NULL, &tr, &st, &d);
    if (st == NULL) {
        aa_check_fault(code_c, "reaching agent_token_endpoint", rc, &d);
        goto out;
    }
    if (!aa_aw_step_ok(code_c, rc, &d, st, 200, NULL))
        goto out;
    /* records PASS (or what is missing) for the code step */
    if (!aa_aw_expect_token_members(code_c, st, true) && aa_aw_resp_str(st, "auth_token") == NULL)
        goto out;
    *at = aa_strdup(aa_aw_resp_str(st, "auth_token"));
    g = F5_CONSENT;
out:
    if (*at != NULL && code == NULL)
        aa_check_pass(status, "auth token obtained (%s)",
                      g == F5_DIRECT ? "direct grant" : "after consent");
    aa_client_token_response_cleanup(&tr);
    aa_client_consent_result_cleanup(&cr);
    free(rqt);
    free(cd);
    if (*at == NULL)
        g = F5_NONE;
    return g;
}

AA_CASE(agent_is_resource, flow,
        .title = "F5: request_type=auth with scope, consent, the agent as audience; delegate",
        .checks = AA_CHECKS(&f5_status, &f5_code, &f5_valid, &f5_aud, &f5_no_agent, &f5_identity,
                            &f5_scopes, &f5_cnf, &f5_dg_token, &f5_dg_aud, &f5_dg_sub, &f5_dg_cnf),
        .needs = AA_NEED(AA_ROLE_AUTH_SERVER), .instances = AA_INSTANCES("auth-consent"))
{
    static const struct aa_check *const all[] = {
        &f5_status, &f5_code,     &f5_valid,  &f5_aud,    &f5_no_agent, &f5_identity, &f5_scopes,
        &f5_cnf,    &f5_dg_token, &f5_dg_aud, &f5_dg_sub, &f5_dg_cnf,   NULL};
    static const struct aa_check *const after_at[] = {
        &f5_valid, &f5_aud, &f5_no_agent, &f5_identity, &f5_scopes, &f5_cnf, NULL};
    static const struct aa_check *const after_dg[] = {&f5_dg_aud, &f5_dg_sub, &f5_dg_cnf, NULL};
    static const struct aa_check *const all_dg[] = {&f5_dg_token, &f5_dg_aud, &f5_dg_sub,
                                                    &f5_dg_cnf, NULL};
    struct aa_aw w;
    struct aa_aw_peer ag, as;
    struct aa_client *c = NULL, *dg = NULL;
    struct aa_diag d;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *h = NULL, *cl = NULL, *dh = NULL, *dcl = NULL;
    char *at = NULL, *dat = NULL;
    enum f5_grant g;

    memset(&w, 0, sizeof(w));
    aa_diag_clear(&d);
    if (aa_aw_init(&w) != AA_OK || aa_aw_instance_peer("auth-consent", &as, &d) != AA_OK ||
        aa_aw_agent(&w, &ag, &d) != AA_OK ||
        (c = aa_aw_agent_client(&w, &ag, "AGENT", &d)) == NULL ||
        aa_jwk_thumbprint(aa_client_key(c), jkt) != AA_OK) {
        aa_aw_setup_failed(all, "setting up the flow", &d);
        goto out;
    }
    aa_conf_note("F5: agent %s, auth server %s (instance auth-consent)", ag.id, as.id);

    /* F5.1-F5.2 */
    g = f5_obtain(c, as.id, &f5_status, &f5_code, AA_CHECKS(&f5_code), &at);
    if (g == F5_NONE) {
        bool rec = false;
        aa_check_outcome(&f5_code, &rec);
        aa_check_not_evaluated(rec ? &f5_code : &f5_status, AA_CHECKS(&f5_code));
        aa_check_not_evaluated(rec ? &f5_code : &f5_status, after_at);
        goto delegate;
    }
    /* F5.3 */
    aa_aw_note_token("auth token (agent is resource)", at);
    if (aa_aw_peek(at, &h, &cl, &d) != AA_OK) {
        aa_check_fail(&f5_valid, f5_valid.expect, d.msg, "not a JWS");
        aa_check_not_evaluated(&f5_valid, after_at);
        goto delegate;
    }
    aa_aw_expect_valid_at(&w, &f5_valid, at, as.id, ag.id, true, NULL);
    aa_aw_expect_claim(&f5_aud, cl, "aud", ag.id);
    aa_aw_expect_absent(&f5_no_agent, cl, "agent");
    if (g == F5_DIRECT) {
        aa_check_skip(&f5_identity, "no user signed in: the auth server granted directly "
                                    "without consent, so there are no identity claims to judge");
    } else {
        const char *sub = aa_json_str(cl, "sub"), *name = aa_json_str(cl, "name");
        const char *email = aa_json_str(cl, "email");
        aa_expect_true(&f5_identity, sub != NULL && name != NULL && email != NULL,
                       f5_identity.expect, "sub=%s name=%s email=%s", sub ? sub : "(absent)",
                       name ? name : "(absent)", email ? email : "(absent)");
    }
    {
        const char *scope = aa_json_str(cl, "scope");
        bool leak = aa_aw_scope_has(scope, "openid") || aa_aw_scope_has(scope, "profile") ||
                    aa_aw_scope_has(scope, "email");
        aa_expect_true(&f5_scopes, !leak, f5_scopes.expect, "scope: %s",
                       scope != NULL ? scope : "(absent)");
    }
    aa_aw_expect_cnf(&f5_cnf, cl, jkt);

delegate:
    /* F5.4: a delegate of the agent (agent token from the agent's server) */
    dg = aa_aw_delegate_client(&w, &ag, AA_CLIENT_DEFAULT_SUB, "DELEGATE", &d);
    if (dg == NULL || aa_client_agent_token_obtain(dg, &d) != AA_OK) {
        aa_check_error(&f5_dg_token,
                       "the harness delegate could not obtain an agent token from %s: %s", ag.id,
                       d.msg);
        aa_check_not_evaluated(&f5_dg_token, after_dg);
        goto out;
    }
    if (f5_obtain(dg, as.id, &f5_dg_token, NULL, all_dg, &dat) == F5_NONE) {
        aa_check_not_evaluated(&f5_dg_token, after_dg);
        goto out;
    }
    aa_aw_note_token("auth token (delegate, agent is resource)", dat);
    if (aa_aw_peek(dat, &dh, &dcl, &d) != AA_OK) {
        aa_check_fail(&f5_dg_aud, f5_dg_aud.expect, d.msg, "not a JWS");
        aa_check_not_evaluated(&f5_dg_aud, after_dg);
        goto out;
    }
    aa_aw_expect_claim(&f5_dg_aud, dcl, "aud", ag.id);
    aa_aw_expect_absent(&f5_dg_aud, dcl, "agent");
    aa_aw_expect_claim(&f5_dg_sub, dcl, "agent_delegate", aa_client_sub(dg));
    aa_aw_expect_cnf(&f5_dg_cnf, dcl, aa_client_thumbprint(dg));
out:
    cJSON_Delete(h);
    cJSON_Delete(cl);
    cJSON_Delete(dh);
    cJSON_Delete(dcl);
    free(at);
    free(dat);
    aa_aw_cleanup(&w);
}
