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
