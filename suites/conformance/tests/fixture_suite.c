/*
 * fixture_suite: cases that exercise the runner itself, built into
 * aauth-conformance-fixtures (never into aauth-conformance). Each case
 * does one thing a real suite might do by accident or by design - fail at
 * each level, skip, pass with a quirk, record twice, crash, time out,
 * exit, forget a check, need a role that cannot start - so tests/cli.sh
 * can assert what the reports say about it.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aa_runner.h"

/* ---- outcomes and level mapping ------------------------------------------- */

#define FX(name, idv, lvl, ...)                                                                    \
    AA_CHECK(name, .id = idv, .suite = "fixtures", .title = "fixture " idv, .role = AA_ROLE_NONE,  \
             .level = lvl, .spec = "README#fixtures", .expect = "what the fixture expects",        \
             __VA_ARGS__)

FX(fx_pass, "fixtures.pass", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_fail_must, "fixtures.fail-must", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_fail_should, "fixtures.fail-should", AA_LEVEL_SHOULD, .rfc = NULL);
FX(fx_fail_info, "fixtures.fail-info", AA_LEVEL_INFO, .rfc = NULL);
FX(fx_skip, "fixtures.undeclared-feature", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_declared, "fixtures.declared-feature", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_quirk_allowed, "fixtures.quirk-allowed", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_quirk_denied, "fixtures.quirk-denied", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_worst, "fixtures.worst-wins", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_error, "fixtures.error", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_not_eval, "fixtures.not-evaluated", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_unreachable, "fixtures.http-unreachable", AA_LEVEL_MUST, .rfc = NULL);

AA_CASE(fixtures, outcomes, .title = "every recording function once",
        .checks = AA_CHECKS(&fx_pass, &fx_fail_must, &fx_fail_should, &fx_fail_info, &fx_skip,
                            &fx_declared, &fx_quirk_allowed, &fx_quirk_denied, &fx_worst, &fx_error,
                            &fx_not_eval, &fx_unreachable))
{
    struct aa_http_response resp;
    struct aa_diag d;
    int rc;

    aa_check_pass(&fx_pass, "fine");
    aa_check_fail(&fx_fail_must, "x", "y", "must hint");
    aa_check_fail(&fx_fail_should, "x", "y", "should hint");
    aa_check_fail(&fx_fail_info, "x", "y", NULL);
    if (aa_check_require_feature(&fx_skip, AA_ROLE_RESOURCE, "never-declared"))
        aa_check_pass(&fx_skip, "ran although not declared");
    if (aa_check_require_feature(&fx_declared, AA_ROLE_RESOURCE, "fixture-feature"))
        aa_check_pass(&fx_declared, "declared");
    aa_check_deviation(&fx_quirk_allowed, "legacy-base", "RFC 9421 base", "legacy base", NULL);
    aa_check_deviation(&fx_quirk_denied, "signature-base64url", "padded base64", "base64url", NULL);
    aa_check_pass(&fx_worst, "first");
    aa_check_fail(&fx_worst, "x", "worst", NULL);
    aa_check_pass(&fx_worst, "third");
    aa_check_error(&fx_error, "a harness fault");
    aa_check_not_evaluated(&fx_fail_must, AA_CHECKS(&fx_not_eval, &fx_pass));

    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    rc = aa_conf_get("HARNESS", "http://127.0.0.1:1/.well-known/aauth-agent", &resp, &d);
    aa_expect_status(&fx_unreachable, rc, &d, &resp, 200, NULL);
    aa_http_response_cleanup(&resp);
}

/* ---- a signed request: the signature base lands in the transcript ---------- */

FX(fx_signed, "fixtures.signed-request", AA_LEVEL_MUST, .rfc = NULL);

AA_CASE(fixtures, signed_request, .checks = AA_CHECKS(&fx_signed))
{
    struct aa_http_request req = {0};
    struct aa_http_response resp;
    struct aa_sign_cred cred = {0};
    struct aa_jwk key = {0};
    struct aa_diag d;
    int rc;

    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    if ((rc = aa_jwk_generate(AA_KTY_OKP, "fixture-key", &key)) != AA_OK) {
        aa_check_fault(&fx_signed, "generating a key", rc, NULL);
        return;
    }
    cred.scheme = AA_SIGKEY_HWK;
    req.method = "GET";
    req.url = "http://127.0.0.1:1/data-hwk";
    rc = aa_conf_send_signed("DELEGATE", &req, &key, &cred, NULL, &resp, NULL, &d);
    aa_expect_status(&fx_signed, rc, &d, &resp, 200, NULL); /* nobody listens: ERROR */
    aa_http_response_cleanup(&resp);
    aa_jwk_cleanup(&key);
}

/* ---- a case that crashes after recording one of its two checks ------------- */

FX(fx_crash_before, "fixtures.crash-recorded-before", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_crash_after, "fixtures.crash-never-recorded", AA_LEVEL_MUST, .rfc = NULL);

AA_CASE(fixtures, crashes, .checks = AA_CHECKS(&fx_crash_before, &fx_crash_after))
{
    aa_check_pass(&fx_crash_before, "recorded before the crash");
    abort();
}

/* ---- a case that forgets a check ------------------------------------------ */

FX(fx_recorded, "fixtures.forgets-recorded", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_forgotten, "fixtures.forgets-forgotten", AA_LEVEL_MUST, .rfc = NULL);

AA_CASE(fixtures, forgets, .checks = AA_CHECKS(&fx_recorded, &fx_forgotten))
{
    aa_check_pass(&fx_recorded, NULL);
}

/* ---- a case that exits early ----------------------------------------------- */

FX(fx_exit, "fixtures.exits", AA_LEVEL_MUST, .rfc = NULL);

AA_CASE(fixtures, exits, .checks = AA_CHECKS(&fx_exit))
{
    exit(3);
}

/* ---- a case that never ends (killed by its 1 s timeout) --------------------- */

FX(fx_hang, "fixtures.hangs", AA_LEVEL_MUST, .rfc = NULL);

AA_CASE(fixtures, hangs, .timeout = 1, .checks = AA_CHECKS(&fx_hang))
{
    for (;;)
        pause();
}

/* ---- a case that needs a role the harness cannot start ---------------------- */

FX(fx_blocked, "fixtures.needs-auth-server", AA_LEVEL_MUST, .rfc = NULL);

AA_CASE(fixtures, blocked, .needs = AA_NEED(AA_ROLE_AUTH_SERVER), .checks = AA_CHECKS(&fx_blocked))
{
    aa_check_pass(&fx_blocked, "the auth server was reachable");
}

/* ---- a two-test flow for the seed-style report ------------------------------ */

AA_CHECK(fx_flow_1a, .id = "fixtures.flow.first-a", .suite = "fixtures",
         .title = "first test, check a", .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#8", .test_no = 1, .line = "first check correct: {actual}");
AA_CHECK(fx_flow_1b, .id = "fixtures.flow.first-b", .suite = "fixtures",
         .title = "first test, check b", .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#8", .test_no = 1, .line = "second check present");
AA_CHECK(fx_flow_2, .id = "fixtures.flow.second", .suite = "fixtures", .title = "second test",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#8", .test_no = 2,
         .line = "second test check");

static const char *const fx_flow_lines[] = {"This fixture shows the flow report:", "1. First step",
                                            "2. Second step", NULL};

AA_FLOW(fixtures, .suite = "fixtures", .banner = "Fixture Flow Demo",
        .description_lines = fx_flow_lines, .seed_tests = 1,
        AA_FLOW_TESTS({1, "First Step", "First Step", "The first step.", "First step done"},
                      {2, "Second Step Title", "Second Step", "The second step.",
                       "Second step done"}));

AA_CASE(fixtures, flow, .checks = AA_CHECKS(&fx_flow_1a, &fx_flow_1b, &fx_flow_2))
{
    aa_check_pass(&fx_flow_1a, "value-1");
    aa_check_pass(&fx_flow_1b, NULL);
    aa_check_fail(&fx_flow_2, "ok", "broken", "the second step is broken on purpose");
}

/* ---- a signed flow against the resource under test: the quirk probes ------- */

/* Judged against tools/aa_conf_hostile's quirk modes (tests/cli.sh
 * quirk_probes): a deviating resource refuses the conformant GET, the
 * probes name the deviation, and with --allow-quirk the POST and the body
 * check still run, as PASS_QUIRK. */
AA_CHECK(fx_qf_get, .id = "fixtures.quirk-flow.get", .suite = "fixtures",
         .title = "signed GET to the resource's hwk endpoint", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2", .expect = "200");
AA_CHECK(fx_qf_post, .id = "fixtures.quirk-flow.post", .suite = "fixtures",
         .title = "signed POST with a JSON body", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#2.8", .expect = "200");
AA_CHECK(fx_qf_body, .id = "fixtures.quirk-flow.body", .suite = "fixtures",
         .title = "the POST answer grants access", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#6.2", .expect = "\"method\":\"POST\"");

AA_CASE(fixtures, quirk_flow, .checks = AA_CHECKS(&fx_qf_get, &fx_qf_post, &fx_qf_body))
{
    const struct aa_conf_target *r = aa_conf_target(AA_ROLE_RESOURCE);
    struct aa_http_request req = {0};
    struct aa_http_response resp;
    struct aa_http_headers h;
    struct aa_sign_cred cred = {0};
    struct aa_jwk key = {0};
    struct aa_diag d;
    char url[1024];
    int rc;

    aa_http_response_init(&resp);
    aa_http_headers_init(&h);
    aa_diag_clear(&d);
    if ((rc = aa_jwk_generate(AA_KTY_OKP, "fixture-key", &key)) != AA_OK) {
        aa_check_fault(&fx_qf_get, "generating a key", rc, NULL);
        aa_check_not_evaluated(&fx_qf_get, AA_CHECKS(&fx_qf_post, &fx_qf_body));
        return;
    }
    cred.scheme = AA_SIGKEY_HWK;
    aa_snprintf(url, sizeof(url), "%s%s", r->connect_url ? r->connect_url : "", r->hwk_path);
    req.method = "GET";
    req.url = url;
    rc = aa_conf_send_signed("HARNESS", &req, &key, &cred, NULL, &resp, NULL, &d);
    aa_expect_status(&fx_qf_get, rc, &d, &resp, 200, NULL);

    aa_http_headers_add(&h, "Content-Type", "application/json");
    req.method = "POST";
    req.headers = &h;
    req.body = "{\"hello\":\"quirks\"}";
    req.body_len = strlen(req.body);
    rc = aa_conf_send_signed("HARNESS", &req, &key, &cred, NULL, &resp, NULL, &d);
    if (aa_expect_status(&fx_qf_post, rc, &d, &resp, 200, NULL))
        aa_expect_true(&fx_qf_body, resp.body && strstr(resp.body, "\"method\":\"POST\""),
                       fx_qf_body.expect, "%.200s", resp.body ? resp.body : "");
    else
        aa_check_not_evaluated(&fx_qf_post, AA_CHECKS(&fx_qf_body));
    aa_http_response_cleanup(&resp);
    aa_http_headers_cleanup(&h);
    aa_jwk_cleanup(&key);
}

/* ---- instances, role keys and the control channel ------------------------- */

FX(fx_inst_key, "fixtures.inst.role-key", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_inst_present, "fixtures.inst.present", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_inst_hits, "fixtures.inst.hits", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_inst_clock, "fixtures.inst.clock", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_inst_isolated, "fixtures.inst.clock-isolated", AA_LEVEL_MUST, .rfc = NULL);

/* POST {as}/agent/token "request_type=auth" signed hwk with |offset| on
 * created: 400 once the signature is accepted (hwk is refused for auth,
 * PROFILE#6.3), 401 when created is outside the server's window. */
static long fx_token_status(const char *as, int64_t offset, struct aa_diag *d)
{
    struct aa_http_request req = {0};
    struct aa_http_response resp;
    struct aa_http_headers h;
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts o = {0};
    struct aa_jwk key = {0};
    char url[1024];
    long status = -1;

    aa_http_response_init(&resp);
    aa_http_headers_init(&h);
    if (aa_jwk_generate(AA_KTY_OKP, "fixture-key", &key) != AA_OK)
        return -1;
    aa_snprintf(url, sizeof(url), "%s/agent/token", as);
    aa_http_headers_add(&h, "Content-Type", "application/x-www-form-urlencoded");
    cred.scheme = AA_SIGKEY_HWK;
    o.created_offset = offset;
    req.method = "POST";
    req.url = url;
    req.headers = &h;
    req.body = "request_type=auth";
    req.body_len = strlen(req.body);
    if (aa_conf_send_signed("HARNESS", &req, &key, &cred, &o, &resp, NULL, d) == AA_OK)
        status = resp.status;
    aa_http_response_cleanup(&resp);
    aa_http_headers_cleanup(&h);
    aa_jwk_cleanup(&key);
    return status;
}

AA_CASE(fixtures, instances, .needs = AA_NEED_ALL,
        .instances = AA_INSTANCES("resource2", "auth-consent", "auth-timetravel"),
        .checks = AA_CHECKS(&fx_inst_key, &fx_inst_present, &fx_inst_hits, &fx_inst_clock,
                            &fx_inst_isolated))
{
    const struct aa_conf_target *ag = aa_conf_target(AA_ROLE_AGENT_SERVER);
    const struct aa_conf_target *as = aa_conf_target(AA_ROLE_AUTH_SERVER);
    const struct aa_conf_target *tt = aa_conf_instance("auth-timetravel");
    struct aa_http_response resp;
    struct aa_jwk key = {0}, none = {0};
    struct aa_jwks set = {0};
    struct aa_diag d;
    char url[1024], jkt[AA_JWK_THUMBPRINT_LEN + 1] = "";
    uint64_t before = 0, after = 0;
    int rc;

    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    /* the agent server's private key matches the public key it publishes */
    aa_snprintf(url, sizeof(url), "%s/jwks.json", ag->connect_url);
    rc = aa_conf_role_key(AA_ROLE_AGENT_SERVER, &key, &d);
    if (rc == AA_OK && aa_conf_get("HARNESS", url, &resp, &d) == AA_OK &&
        aa_jwks_parse(resp.body, resp.body_len, &set, &d) == AA_OK &&
        aa_jwk_thumbprint(&key, jkt) == AA_OK) {
        const struct aa_jwk *pub = aa_jwks_find(&set, ag->kid ? ag->kid : "");
        char pjkt[AA_JWK_THUMBPRINT_LEN + 1] = "";
        if (pub != NULL)
            (void)aa_jwk_thumbprint(pub, pjkt);
        aa_expect_true(&fx_inst_key,
                       key.is_private && strcmp(key.kid, ag->kid ? ag->kid : "") == 0 &&
                           strcmp(jkt, pjkt) == 0 &&
                           aa_conf_role_key(AA_ROLE_DELEGATE, &none, NULL) == AA_E_NOTFOUND,
                       "private key, kid and thumbprint of the published key; none for delegate",
                       "kid %s, thumbprint %s vs published %s", key.kid, jkt, pjkt);
    } else {
        aa_check_fault(&fx_inst_key, "role key", rc, &d);
    }
    aa_jwks_cleanup(&set);
    aa_jwk_cleanup(&key);
    aa_jwk_cleanup(&none);

    aa_expect_true(&fx_inst_present,
                   aa_conf_instance("resource2")->present && aa_conf_instance("auth2")->present &&
                       aa_conf_instance("auth-consent")->present && tt->present &&
                       !aa_conf_instance("resource-consent")->present &&
                       !aa_conf_instance("no-such")->present &&
                       aa_conf_instance("resource2")->role == AA_ROLE_RESOURCE &&
                       aa_conf_instance("resource2")->kid != NULL &&
                       aa_conf_declared(AA_ROLE_RESOURCE, "data-exchange"),
                   "resource2, auth2 (implied), auth-consent, auth-timetravel present; "
                   "resource-consent not; the resource declares data-exchange",
                   "resource2 %s, auth2 %s, auth-consent %s, auth-timetravel %s",
                   aa_conf_instance("resource2")->id ? aa_conf_instance("resource2")->id : "-",
                   aa_conf_instance("auth2")->id ? aa_conf_instance("auth2")->id : "-",
                   aa_conf_instance("auth-consent")->id ? aa_conf_instance("auth-consent")->id
                                                        : "-",
                   tt->id ? tt->id : "-");

    /* hits through the control channel */
    aa_snprintf(url, sizeof(url), "%s/.well-known/aauth-agent", ag->connect_url);
    if (aa_conf_embedded_hits("agent-server", "/.well-known/aauth-agent", &before) == AA_OK &&
        aa_conf_get("HARNESS", url, &resp, &d) == AA_OK &&
        aa_conf_embedded_hits("agent-server", "/.well-known/aauth-agent", &after) == AA_OK)
        aa_expect_true(&fx_inst_hits,
                       after >= before + 1 &&
                           aa_conf_embedded_hits("no-such", "/", &before) == AA_E_NOTFOUND,
                       "the count grows with our own request; unknown server NOTFOUND",
                       "%llu -> %llu", (unsigned long long)before, (unsigned long long)after);
    else
        aa_check_error(&fx_inst_hits, "control channel unavailable");

    /* time travel: the case's own auth server moves, the shared one not */
    {
        long s0 = fx_token_status(tt->connect_url, 0, &d);
        int arc = aa_conf_advance_clock("auth-timetravel", 120);
        long s1 = fx_token_status(tt->connect_url, 0, &d);
        long s2 =
            fx_token_status(tt->connect_url, aa_conf_instance_clock_offset("auth-timetravel"), &d);
        long s3 = fx_token_status(as->connect_url, 0, &d);
        aa_expect_true(&fx_inst_clock,
                       arc == AA_OK && s0 == 400 && s1 == 401 && s2 == 400 &&
                           aa_conf_instance_clock_offset("auth-timetravel") == 120 &&
                           aa_conf_advance_clock("auth-consent", 5) == AA_E_NOTFOUND &&
                           aa_conf_advance_clock("auth-timetravel", 0) == AA_E_INVAL,
                       "400 before, 401 with the old created after +120 s, 400 with created "
                       "moved too; shared instances cannot travel",
                       "advance %d; statuses %ld %ld %ld", arc, s0, s1, s2);
        aa_expect_true(&fx_inst_isolated, s3 == 400,
                       "the shared auth server still accepts created = now (400 for hwk)",
                       "shared auth server: %ld", s3);
    }
    aa_http_response_cleanup(&resp);
}
