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
#include "server/aa_server.h"

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
/* A flow line template: a titled not-evaluated record shows the title instead. */
FX(fx_not_eval_titled, "fixtures.not-evaluated-titled", AA_LEVEL_MUST, .rfc = NULL,
   .line = "step result: {actual}");

AA_CASE(fixtures, outcomes, .title = "every recording function once",
        .checks = AA_CHECKS(&fx_pass, &fx_fail_must, &fx_fail_should, &fx_fail_info, &fx_skip,
                            &fx_declared, &fx_quirk_allowed, &fx_quirk_denied, &fx_worst, &fx_error,
                            &fx_not_eval, &fx_unreachable, &fx_not_eval_titled))
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
    aa_check_not_evaluated_titled(&fx_fail_must, AA_CHECKS(&fx_not_eval_titled));

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

/* ---- identifiers other than the connect URL (--public-url) ---------------- */

FX(fx_pub_by_id, "fixtures.public-url.by-id", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_pub_by_connect, "fixtures.public-url.by-connect", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_pub_mapping, "fixtures.public-url.mapping", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_pub_refused, "fixtures.public-url.connect-authority-refused", AA_LEVEL_MUST, .rfc = NULL);

/* GET |url| signed hwk by a fresh key through aa_conf_send_signed. */
static int fx_signed_get(const char *url, struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_http_request req = {0};
    struct aa_sign_cred cred = {0};
    struct aa_jwk key = {0};
    int rc;

    if ((rc = aa_jwk_generate(AA_KTY_OKP, "fixture-key", &key)) != AA_OK)
        return rc;
    cred.scheme = AA_SIGKEY_HWK;
    req.method = "GET";
    req.url = url;
    rc = aa_conf_send_signed("HARNESS", &req, &key, &cred, NULL, resp, NULL, d);
    aa_jwk_cleanup(&key);
    return rc;
}

/* The embedded resource, reached by its identifier and by its listen
 * address: the runner signs both for the identifier's authority (D-2). A
 * request signed for the listen address's authority instead is refused
 * when the two differ - the embedded server verifies with its identifier. */
AA_CASE(fixtures, public_url,
        .checks = AA_CHECKS(&fx_pub_by_id, &fx_pub_by_connect, &fx_pub_mapping, &fx_pub_refused),
        .needs = AA_NEED(AA_ROLE_RESOURCE))
{
    const struct aa_conf_target *r = aa_conf_target(AA_ROLE_RESOURCE);
    struct aa_http_response resp;
    struct aa_buf u_id, u_conn, mapped;
    char a_id[AA_URL_AUTHORITY_MAX] = "", a_conn[AA_URL_AUTHORITY_MAX] = "";
    char a_got[AA_URL_AUTHORITY_MAX] = "";
    struct aa_diag d;
    int rc;

    aa_http_response_init(&resp);
    aa_buf_init(&u_id, 4096);
    aa_buf_init(&u_conn, 4096);
    aa_buf_init(&mapped, 4096);
    aa_diag_clear(&d);
    aa_buf_printf(&u_id, "%s%s", r->id, r->hwk_path);
    aa_buf_printf(&u_conn, "%s%s", r->connect_url, r->hwk_path);
    aa_conf_note("resource identifier %s, connect URL %s", r->id, r->connect_url);

    rc = fx_signed_get(u_id.p, &resp, &d);
    aa_expect_status(&fx_pub_by_id, rc, &d, &resp, 200, NULL);
    aa_http_response_cleanup(&resp);
    aa_http_response_init(&resp);
    rc = fx_signed_get(u_conn.p, &resp, &d);
    aa_expect_status(&fx_pub_by_connect, rc, &d, &resp, 200, NULL);

    if (aa_url_authority_of(r->id, a_id, sizeof(a_id), NULL) != AA_OK ||
        aa_url_authority_of(r->connect_url, a_conn, sizeof(a_conn), NULL) != AA_OK ||
        aa_conf_sign_authority(u_conn.p, a_got, sizeof(a_got)) != AA_OK ||
        aa_conf_connect_url(u_id.p, &mapped) != AA_OK) {
        aa_check_error(&fx_pub_mapping, "the identifiers do not parse");
    } else {
        char other[AA_URL_AUTHORITY_MAX] = "";
        aa_expect_true(&fx_pub_mapping,
                       strcmp(a_got, a_id) == 0 && strcmp(mapped.p, u_conn.p) == 0 &&
                           aa_conf_sign_authority("http://203.0.113.9:7/x", other, sizeof(other)) ==
                               AA_OK &&
                           strcmp(other, "203.0.113.9:7") == 0,
                       "sign authority = the identifier's, connect URL = the listen origin's; "
                       "a URL of no participant keeps its own authority",
                       "authority %s (identifier %s), connect %s, other %s", a_got, a_id,
                       mapped.p ? mapped.p : "", other);
    }

    /* signed by hand for the listen address: what the core used to do */
    if (strcmp(a_id, a_conn) == 0) {
        aa_check_skip(&fx_pub_refused, "the resource has no --public-url in this run");
    } else {
        struct aa_sign_request sr = {0};
        struct aa_http_request req = {0};
        struct aa_http_headers h;
        struct aa_sign_cred cred = {0};
        struct aa_signed sg;
        struct aa_jwk key = {0};

        memset(&sg, 0, sizeof(sg));
        aa_http_headers_init(&h);
        aa_http_response_cleanup(&resp);
        aa_http_response_init(&resp);
        cred.scheme = AA_SIGKEY_HWK;
        sr.method = "GET";
        sr.url = u_conn.p;
        if ((rc = aa_jwk_generate(AA_KTY_OKP, "fixture-key", &key)) != AA_OK ||
            (rc = aa_aauth_sign(NULL, &sr, &key, &cred, NULL, &sg, &d)) != AA_OK) {
            aa_check_fault(&fx_pub_refused, "signing", rc, &d);
        } else {
            for (size_t i = 0; i < sg.headers.n; i++)
                (void)aa_http_headers_addn(&h, sg.headers.v[i].name, sg.headers.v[i].value,
                                           sg.headers.v[i].value_len);
            aa_conf_note_block("signature base (for the listen authority)", sg.base, sg.base_len);
            req.method = "GET";
            req.url = u_conn.p;
            req.headers = &h;
            rc = aa_conf_send("HARNESS", &req, &resp, &d);
            aa_expect_status(&fx_pub_refused, rc, &d, &resp, 401, NULL);
        }
        aa_signed_cleanup(&sg);
        aa_jwk_cleanup(&key);
        aa_http_headers_cleanup(&h);
    }
    aa_http_response_cleanup(&resp);
    aa_buf_free(&u_id);
    aa_buf_free(&u_conn);
    aa_buf_free(&mapped);
}

/* ---- manual consent through the control channel --------------------------- */

FX(fx_consent_answer, "fixtures.consent.round-trip", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_consent_eof, "fixtures.consent.end-of-input", AA_LEVEL_MUST, .rfc = NULL);

#define FX_CONSENT_URL "http://127.0.0.1:1/agent/auth?request_token=fixture-rt&state=fixture-state"
#define FX_CONSENT_ANSWER "http://127.0.0.1:1/callback?code=fixture-code&state=fixture-state"

/* tests/cli.sh consent_manual gives the runner one answer line
 * (FX_CONSENT_ANSWER) instead of a terminal: the first prompt gets it
 * back, the second finds the input ended. */
AA_CASE(fixtures, consent_prompt, .checks = AA_CHECKS(&fx_consent_answer, &fx_consent_eof))
{
    char why[1024], line[4096];
    int rc;

    if (!aa_conf_consent_available(why, sizeof(why))) {
        aa_check_skip(&fx_consent_answer, "%s", why);
        aa_check_skip(&fx_consent_eof, "%s", why);
        return;
    }
    rc = aa_conf_consent_prompt((void *)"grant consent", FX_CONSENT_URL, line, sizeof(line));
    aa_expect_true(&fx_consent_answer, rc == AA_OK && strcmp(line, FX_CONSENT_ANSWER) == 0,
                   "the line the person entered: " FX_CONSENT_ANSWER, "rc %d, line \"%s\"", rc,
                   line);
    rc = aa_conf_consent_prompt(NULL, FX_CONSENT_URL, line, sizeof(line));
    aa_expect_true(&fx_consent_eof, rc != AA_OK && line[0] == '\0',
                   "no answer: an error and an empty line", "rc %d (%s), line \"%s\"", rc,
                   aa_conf_strerror(rc), line);
}

/* ---- servers a case hosts (--harness-host) ---------------------------------- */

FX(fx_hh_bind, "fixtures.harness-host.bind", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_hh_reach, "fixtures.harness-host.reachable", AA_LEVEL_MUST, .rfc = NULL);
FX(fx_hh_fault, "fixtures.harness-host.fault-is-skip", AA_LEVEL_MUST, .rfc = NULL);

static void fx_nothing(void *ctx, const struct aa_server_request *req,
                       struct aa_server_response *resp)
{
    (void)ctx;
    aa_server_response_not_found(resp, req);
}

/* A plain harness server (as neg-auth's hosted identities are) on the
 * harness host; the reference servers cases start would refuse an http
 * identifier off loopback (PROFILE#1 D-1), see README "--harness-host". */
/* Judges the run's resource (a target or the embedded one): selected with
 * --filter, whatever is under test. */
AA_CASE(fixtures, harness_host, .needs = AA_NEED(AA_ROLE_RESOURCE),
        .checks = AA_CHECKS(&fx_hh_bind, &fx_hh_reach, &fx_hh_fault))
{
    struct aa_server_opts so = {0};
    struct aa_server *s = NULL;
    struct aa_diag d;
    struct aa_url u;
    const char *id;
    int rc;

    aa_diag_clear(&d);
    so.bind_addr = aa_conf_harness_host();
    so.handler = fx_nothing;
    so.threads = 1;
    if ((rc = aa_server_start(&so, &s, &d)) != AA_OK) {
        aa_check_fault(&fx_hh_bind, "starting a server on the harness host", rc, &d);
    } else {
        char host[128] = "";
        id = aa_server_origin(s);
        if (aa_url_parse(id, strlen(id), 0, &u, NULL) == AA_OK && u.host.len < sizeof(host))
            memcpy(host, u.host.p, u.host.len);
        aa_expect_str(&fx_hh_bind, "host of the hosted server's origin", aa_conf_harness_host(),
                      host);
        aa_server_stop(s);
    }
    if (aa_check_require_reachable(aa_conf_target(AA_ROLE_RESOURCE), AA_CHECKS(&fx_hh_reach)))
        aa_check_pass(&fx_hh_reach, "reachable from %s", aa_conf_harness_host());
    aa_diag_clear(&d);
    if (aa_conf_harness_reachable(aa_conf_target(AA_ROLE_RESOURCE), &d))
        aa_check_pass(&fx_hh_fault, "reachable");
    else
        aa_check_fault(&fx_hh_fault, "fixture", AA_E_UNSUPPORTED, &d);
}

/* ---- a flow whose tests judge different roles (--seed-report, partial) ------ */

AA_CHECK(fx_part_1, .id = "fixtures-partial.agent", .suite = "fixtures-partial",
         .title = "agent server step", .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#8", .test_no = 1, .line = "agent server step done");
AA_CHECK(fx_part_2, .id = "fixtures-partial.resource", .suite = "fixtures-partial",
         .title = "resource step", .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#8", .test_no = 2, .line = "resource step done");
AA_CHECK(fx_part_3, .id = "fixtures-partial.agent-late", .suite = "fixtures-partial",
         .title = "agent server again", .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#8", .test_no = 3, .line = "agent server again done");

static const char *const fx_part_lines[] = {"A flow across two roles:", NULL};

AA_FLOW(fixtures_partial, .suite = "fixtures-partial", .banner = "Fixture Partial Demo",
        .description_lines = fx_part_lines, .seed_tests = 0,
        AA_FLOW_TESTS({1, "Agent Step", "Agent Step", "The agent server's step.", "agent ok"},
                      {2, "Resource Step", "Resource Step", "The resource's step.", "resource ok"},
                      {3, "Agent Again", "Agent Again", "The agent server again.", "agent ok"}));

/* Records without talking to anyone: only the selection matters. */
AA_CASE(fixtures_partial, flow, .needs = AA_NEED(AA_ROLE_RESOURCE),
        .checks = AA_CHECKS(&fx_part_1, &fx_part_2, &fx_part_3))
{
    aa_check_pass(&fx_part_1, NULL);
    aa_check_pass(&fx_part_2, NULL);
    aa_check_pass(&fx_part_3, NULL);
}
