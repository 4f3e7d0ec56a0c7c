/*
 * pseudonymous: flow F1, Pseudonymous (PROFILE#7 F1): a caller without
 * identity signs with its own key (Signature-Key scheme=hwk) and a
 * signature-level endpoint serves it.
 *
 *   TEST 1  GET /data-hwk unsigned -> 401, Agent-Auth: httpsig
 *   TEST 2  the same GET signed(hwk) -> 200, scheme=hwk, method=GET
 *   TEST 3  POST with a JSON body signed(hwk), covering content-type,
 *           content-digest and nonce -> 200, method=POST
 *   F1.4    (optional feature "public"; not in the flow report) GET /public
 *           unsigned until 429 with Agent-Auth: httpsig and Retry-After, then
 *           signed(hwk) -> 200
 *
 * Every check judges the resource. The path of the signature-level
 * endpoint is --resource-hwk-path (default /data-hwk).
 *
 * Design choice: F1.4 is gated on the feature "public" (--declare
 * resource=public; the embedded reference declares it, R-12): an
 * undeclared optional feature is SKIP, never PASS. Its
 * checks carry no TEST number, so the F1 report keeps the three tests of
 * PROFILE#8 and is not marked failed by a feature the target never
 * claimed.
 */
#include <stdlib.h>
#include <string.h>

#include "delegation_common.h"

#define PS_CHECK(name, id_, test_, level_, spec_, rfc_, title_, expect_, line_)                    \
    AA_CHECK(name, .id = id_, .suite = "pseudonymous", .title = title_, .role = AA_ROLE_RESOURCE,  \
             .level = level_, .spec = spec_, .rfc = rfc_, .expect = expect_, .test_no = test_,     \
             .line = line_)

/* Bound on unsigned /public requests before the rate limit must show
 * (PROFILE#6.2 "429 after N/min"; N is the resource's choice). */
#define PUBLIC_MAX_REQUESTS 256
#define PUBLIC_PATH "/public"

static const char *const f1_lines[] = {
    "This demo shows the pseudonymous flow:",
    "1. Resource starts and publishes its metadata",
    "2. Agent calls the resource without a signature and is challenged",
    "3. Agent signs a GET with its own key (scheme=hwk) and is served",
    "4. Agent signs a POST with a JSON body (content-digest covered) and is served",
    NULL};

AA_FLOW(pseudonymous, .suite = "pseudonymous", .banner = "Pseudonymous Flow Demo",
        .description_lines = f1_lines, .seed_tests = 0,
        AA_FLOW_TESTS({1, "Unsigned Request Rejected", "Unsigned Request Rejected",
                       "Agent requests a signature-level resource without signing.",
                       "Unsigned request rejected with an httpsig challenge"},
                      {2, "Signed GET Accepted", "Signed GET Accepted",
                       "Agent signs the GET with its own key (scheme=hwk).", "Signed GET accepted"},
                      {3, "Signed POST Accepted", "Signed POST Accepted",
                       "Agent signs a POST with a JSON body, covering content-type and "
                       "content-digest.",
                       "Signed POST accepted"}));

PS_CHECK(f1_unsigned, "pseudonymous.unsigned.status", 1, AA_LEVEL_MUST, "PROFILE#7", "RFC9421#1.4",
         "GET {resource}/data-hwk without any signature header", "401",
         "Unsigned request refused: HTTP {actual}");
PS_CHECK(f1_challenge, "pseudonymous.unsigned.challenge", 1, AA_LEVEL_MUST, "PROFILE#5",
         "RFC8941#3.1", "Agent-Auth of the unsigned 401",
         "Agent-Auth: httpsig - the signature endpoint's base challenge, without identity or "
         "auth-token (PROFILE#5, D-16)",
         "Challenge received: {actual}");
PS_CHECK(f1_get, "pseudonymous.signed-get.status", 2, AA_LEVEL_MUST, "PROFILE#6.2", "RFC9421#3.2",
         "GET {resource}/data-hwk signed with scheme=hwk (a fresh Ed25519 key)", "200",
         "Signed GET accepted: HTTP {actual}");
PS_CHECK(f1_get_body, "pseudonymous.signed-get.body", 2, AA_LEVEL_MUST, "PROFILE#6.2", NULL,
         "signed GET response body", "scheme=hwk and method=GET (compared by value)",
         "Resource saw scheme=hwk, method=GET");
PS_CHECK(f1_post, "pseudonymous.signed-post.status", 3, AA_LEVEL_MUST, "PROFILE#6.2", "RFC9530#2",
         "POST {resource}/data-hwk with a JSON body, signed with scheme=hwk "
         "(content-type, content-digest and nonce covered)",
         "200", "Signed POST accepted: HTTP {actual}");
PS_CHECK(f1_post_body, "pseudonymous.signed-post.body", 3, AA_LEVEL_MUST, "PROFILE#6.2", NULL,
         "signed POST response body", "scheme=hwk and method=POST (compared by value)",
         "Resource saw scheme=hwk, method=POST");
PS_CHECK(f1_rate, "pseudonymous.public.rate-limited", 0, AA_LEVEL_MUST, "PROFILE#7", "RFC6585#4",
         "GET {resource}/public unsigned, repeated (at most 256 times) until refused "
         "(optional feature \"public\")",
         "429 with Agent-Auth: httpsig and a Retry-After header (PROFILE#5: a higher level "
         "gets more)",
         NULL);
PS_CHECK(f1_rate_signed, "pseudonymous.public.signed-accepted", 0, AA_LEVEL_MUST, "PROFILE#7", NULL,
         "GET {resource}/public signed with scheme=hwk while unsigned calls are limited", "200",
         NULL);


/* The first Agent-Auth is exactly the base challenge `httpsig`. */
static void expect_base_challenge(const struct aa_check *c, const struct aa_http_response *resp)
{
    struct aa_challenge ch;
    struct aa_diag d;
    const char *raw = aa_http_headers_get(&resp->headers, "Agent-Auth");
    int rc;

    aa_diag_clear(&d);
    rc = dlg_challenge(resp, &ch, &d);
    if (rc != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, text, sizeof(text));
        if (aa_err_is_fault(rc))
            dlg_error(c, "%s", text);
        else
            dlg_fail(c, NULL, text, NULL);
    } else if (ch.identity || ch.auth_token || ch.resource_token != NULL) {
        dlg_fail(c, NULL, raw,
                 "nothing was established yet, so the challenge is the endpoint's base one");
    } else {
        aa_check_pass(c, "%s", raw);
    }
    aa_challenge_cleanup(&ch);
}

static int send_hwk(const char *method, const char *url, const char *ctype, const char *body,
                    const struct aa_jwk *key, struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_sign_cred cred = {0};
    struct dlg_req rq = {method, url, ctype, body, body != NULL ? strlen(body) : 0};

    cred.scheme = AA_SIGKEY_HWK;
    return dlg_send_signed("AGENT", &rq, key, &cred, NULL, resp, d);
}

/* The auth server is needed only because an embedded reference resource
 * must name one in its challenges (aa_ref_resource_config.auth_server). */
#define PS_NEEDS (AA_NEED(AA_ROLE_RESOURCE) | AA_NEED(AA_ROLE_AUTH_SERVER))

AA_CASE(pseudonymous, flow, .title = "Pseudonymous flow F1 (PROFILE#7 F1.1-F1.3)",
        .needs = PS_NEEDS,
        .checks = AA_CHECKS(&f1_unsigned, &f1_challenge, &f1_get, &f1_get_body, &f1_post,
                            &f1_post_body))
{
    const struct aa_conf_target *r = aa_conf_target(AA_ROLE_RESOURCE);
    struct aa_http_response resp;
    struct aa_jwk key = {0};
    struct aa_buf url;
    struct aa_diag d;
    int rc;

    aa_http_response_init(&resp);
    aa_buf_init(&url, AA_URL_MAX_LEN + 1);
    aa_diag_clear(&d);
    if (dlg_url(&url, r->id, r->hwk_path) != AA_OK) {
        dlg_error(&f1_unsigned, "resource URL too long");
        dlg_not_evaluated(&f1_unsigned,
                          AA_CHECKS(&f1_challenge, &f1_get, &f1_get_body, &f1_post, &f1_post_body));
        goto out;
    }

    aa_conf_note("\n\xF0\x9F\x93\xA4 Agent calling the resource without a signature...");
    {
        struct dlg_req rq = {"GET", url.p, NULL, NULL, 0};
        rc = dlg_send("AGENT", &rq, &resp, &d);
    }
    if (dlg_expect_http(&f1_unsigned, rc, &d, &resp, 401, NULL))
        expect_base_challenge(&f1_challenge, &resp);
    else
        dlg_not_evaluated(&f1_unsigned, AA_CHECKS(&f1_challenge));

    if ((rc = dlg_keygen("agent-key-1", &key)) != AA_OK) {
        dlg_error(&f1_get, "cannot generate a key: %s", aa_conf_strerror(rc));
        dlg_not_evaluated(&f1_get, AA_CHECKS(&f1_get_body, &f1_post, &f1_post_body));
        goto out;
    }
    aa_conf_note("\n\xF0\x9F\x93\xA4 Agent signing the GET with its own key (scheme=hwk)...");
    aa_http_response_cleanup(&resp);
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    rc = send_hwk("GET", url.p, NULL, NULL, &key, &resp, &d);
    if (dlg_expect_http(&f1_get, rc, &d, &resp, 200, NULL)) {
        const char *const want[] = {"scheme", "hwk", "method", "GET", NULL};
        dlg_expect_body(&f1_get_body, &resp, want);
    } else {
        dlg_not_evaluated(&f1_get, AA_CHECKS(&f1_get_body));
    }

    aa_conf_note("\n\xF0\x9F\x93\xA4 Agent signing a POST with a JSON body (scheme=hwk)...");
    aa_http_response_cleanup(&resp);
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    rc = send_hwk("POST", url.p, "application/json", "{\"note\":\"pseudonymous flow F1\"}", &key,
                  &resp, &d);
    if (dlg_expect_http(&f1_post, rc, &d, &resp, 200, NULL)) {
        const char *const want[] = {"scheme", "hwk", "method", "POST", NULL};
        dlg_expect_body(&f1_post_body, &resp, want);
    } else {
        dlg_not_evaluated(&f1_post, AA_CHECKS(&f1_post_body));
    }
out:
    aa_jwk_cleanup(&key);
    aa_buf_free(&url);
    aa_http_response_cleanup(&resp);
}

AA_CASE(pseudonymous, public_rate_limit,
        .title = "Pseudonymous flow F1.4: /public rate limit (optional)", .needs = PS_NEEDS,
        .checks = AA_CHECKS(&f1_rate, &f1_rate_signed))
{
    const struct aa_conf_target *r = aa_conf_target(AA_ROLE_RESOURCE);
    struct aa_http_response resp;
    struct aa_jwk key = {0};
    struct aa_buf url;
    struct aa_diag d;
    int rc = AA_OK, n = 0;

    if (!aa_check_require_feature(&f1_rate, AA_ROLE_RESOURCE, "public")) {
        aa_check_skip(&f1_rate_signed,
                      "optional feature \"public\" not declared (--declare resource=public)");
        return;
    }
    aa_http_response_init(&resp);
    aa_buf_init(&url, AA_URL_MAX_LEN + 1);
    dlg_url(&url, r->id, PUBLIC_PATH);
    aa_conf_note("\n\xF0\x9F\x93\xA4 Agent calling %s unsigned until it is rate-limited...", url.p);
    /* Bounded loop on a private client: only the exchange that shows the
     * limit is evidence, so the requests before it stay out of the
     * transcript and the limited one is sent again through dlg_send. */
    {
        struct aa_http_client *hc = aa_http_client_new(NULL);
        struct aa_buf curl;
        aa_buf_init(&curl, AA_URL_MAX_LEN + 1);
        if (hc == NULL || aa_conf_connect_url(url.p, &curl) != AA_OK) {
            dlg_error(&f1_rate, "cannot create an HTTP client");
            dlg_not_evaluated(&f1_rate, AA_CHECKS(&f1_rate_signed));
            aa_http_client_free(hc);
            aa_buf_free(&curl);
            goto out;
        }
        for (n = 1; n <= PUBLIC_MAX_REQUESTS; n++) {
            aa_diag_clear(&d);
            rc = aa_http_get(hc, curl.p, NULL, &resp, &d);
            if (rc != AA_OK || resp.status != 200)
                break;
        }
        aa_http_client_free(hc);
        aa_buf_free(&curl);
    }
    aa_conf_note("%d unsigned request%s sent before this one",
                 n > PUBLIC_MAX_REQUESTS ? PUBLIC_MAX_REQUESTS : n, n == 1 ? "" : "s");
    {
        struct dlg_req rq = {"GET", url.p, NULL, NULL, 0};
        aa_http_response_cleanup(&resp);
        aa_http_response_init(&resp);
        aa_diag_clear(&d);
        rc = dlg_send("AGENT", &rq, &resp, &d);
    }
    if (dlg_expect_http(&f1_rate, rc, &d, &resp, 429, NULL)) {
        struct aa_challenge ch;
        const char *ra = aa_http_headers_get(&resp.headers, "Retry-After");
        aa_diag_clear(&d);
        rc = dlg_challenge(&resp, &ch, &d);
        if (rc != AA_OK || ch.identity || ch.auth_token)
            dlg_fail(&f1_rate, NULL, aa_http_headers_get(&resp.headers, "Agent-Auth"),
                     "a rate-limited pseudonymous caller is told to sign: Agent-Auth: httpsig");
        else if (ra == NULL)
            dlg_warn(&f1_rate, "a Retry-After header", "(absent)",
                     "429 SHOULD include Retry-After (PROFILE#5)");
        aa_challenge_cleanup(&ch);
    }
    if ((rc = dlg_keygen("agent-key-1", &key)) != AA_OK) {
        dlg_error(&f1_rate_signed, "cannot generate a key: %s", aa_conf_strerror(rc));
        goto out;
    }
    aa_http_response_cleanup(&resp);
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    rc = send_hwk("GET", url.p, NULL, NULL, &key, &resp, &d);
    dlg_expect_http(&f1_rate_signed, rc, &d, &resp, 200, NULL);
out:
    aa_jwk_cleanup(&key);
    aa_buf_free(&url);
    aa_http_response_cleanup(&resp);
}
