/*
 * identity: flow F2, Agent Identity via JWKS (PROFILE#7 F2): an agent
 * publishes metadata and a JWKS, signs with Signature-Key scheme=jwks
 * (Mode 2: id, kid, well-known=aauth-agent), and an identity-level
 * endpoint serves it while refusing a pseudonymous signature.
 *
 *   TEST 1  (agent server) {agent}/.well-known/aauth-agent and its JWKS:
 *           200, required members, agent = the identifier, public keys with
 *           unique kids
 *   TEST 2  (resource) /data-jwks signed(hwk) -> 401 httpsig; identity=?1
 *   TEST 3  (resource) /data-jwks signed(jwks Mode 2) -> 200, agent = the
 *           signing agent; the resource fetched that agent's metadata and
 *           JWKS
 *   F2.4    (resource, INFO, not in the flow report) jwks Mode 1 counts as
 *           pseudonymous (D-15): 200 on /data-hwk, 401 identity=?1 on
 *           /data-jwks
 *
 * Design choice: the agent that signs in TESTS 2-4 is an agent server the
 * harness starts inside the case on 127.0.0.1 with a key it holds (the
 * harness never holds the key of an agent under test). A new identifier
 * and kid per case means the resource cannot answer from a cache, so its
 * fetches of metadata and JWKS are observed directly (F2.3). A resource
 * that is not on loopback cannot reach that agent: those checks are then
 * ERROR (the harness could not test), never a verdict.
 */
#include <stdlib.h>
#include <string.h>

#include "delegation_common.h"
#include "md_common.h"

#define ID_CHECK(name, id_, test_, role_, level_, spec_, rfc_, title_, expect_, line_)             \
    AA_CHECK(name, .id = id_, .suite = "identity", .title = title_, .role = role_,                 \
             .level = level_, .spec = spec_, .rfc = rfc_, .expect = expect_, .test_no = test_,     \
             .line = line_)

static const char *const f2_lines[] = {
    "This demo shows agent identity via JWKS:",
    "1. Agent server publishes its metadata and JWKS",
    "2. Agent signs with its own key only (scheme=hwk) and is asked for identity",
    "3. Agent signs with scheme=jwks (id, kid, well-known=aauth-agent)",
    "4. Resource fetches the agent metadata and JWKS and grants access to the agent",
    NULL};

AA_FLOW(identity, .suite = "identity", .banner = "Agent Identity via JWKS Demo",
        .description_lines = f2_lines, .seed_tests = 0,
        AA_FLOW_TESTS({1, "Agent Metadata and JWKS", "Agent Metadata and JWKS",
                       "Agent server publishes /.well-known/aauth-agent and its JWKS.",
                       "Agent metadata and JWKS valid"},
                      {2, "Pseudonymous Signature Rejected", "Pseudonymous Signature Rejected",
                       "Agent signs an identity-level request with scheme=hwk.",
                       "Identity required for a pseudonymous signature"},
                      {3, "Identified Request Accepted", "Identified Request Accepted",
                       "Agent signs with scheme=jwks; the resource verifies it through the "
                       "agent's JWKS.",
                       "Agent identified via JWKS"}));

/* ---- TEST 1 (agent server; PROFILE#3) --------------------------------------- */

ID_CHECK(md_status, "identity.agent-metadata.status", 1, AA_ROLE_AGENT_SERVER, AA_LEVEL_MUST,
         "PROFILE#3", "RFC8615#3", "GET {agent}/.well-known/aauth-agent", "200",
         "Agent metadata fetched: HTTP {actual}");
ID_CHECK(md_members, "identity.agent-metadata.members", 1, AA_ROLE_AGENT_SERVER, AA_LEVEL_MUST,
         "PROFILE#3", "RFC8259#4", "agent metadata document",
         "one JSON object (application/json, no duplicate members) with string members agent "
         "and jwks_uri, jwks_uri an https URL (http only on loopback in dev mode)",
         "Required members present: {actual}");
ID_CHECK(md_id, "identity.agent-metadata.identifier", 1, AA_ROLE_AGENT_SERVER, AA_LEVEL_MUST,
         "PROFILE#3", "RFC8414#3.3", "agent metadata \"agent\" member",
         "equals the identifier the document was fetched for (D-13)",
         "agent equals the identifier: {actual}");
ID_CHECK(jwks_status, "identity.agent-jwks.status", 1, AA_ROLE_AGENT_SERVER, AA_LEVEL_MUST,
         "PROFILE#3", "RFC7517#5", "GET the agent's jwks_uri",
         "200, application/json (or application/jwk-set+json), a {\"keys\":[...]} object",
         "Agent JWKS fetched: HTTP {actual}");
ID_CHECK(jwks_public, "identity.agent-jwks.public-only", 1, AA_ROLE_AGENT_SERVER, AA_LEVEL_MUST,
         "PROFILE#3", "RFC7517#5", "agent JWKS private members",
         "public keys only: no d, p, q, dp, dq, qi, k or oth (D-14)",
         "JWKS holds public keys only: {actual}");
ID_CHECK(jwks_kids, "identity.agent-jwks.kid-unique", 1, AA_ROLE_AGENT_SERVER, AA_LEVEL_MUST,
         "PROFILE#3", "RFC7517#4.5", "agent JWKS kid values",
         "every key has a non-empty kid and no kid repeats (D-14)", "kid values unique: {actual}");

/* ---- TESTS 2-3 and F2.4 (resource; PROFILE#2.3, #5, #6.2, D-15) ------------- */

ID_CHECK(hwk_status, "identity.pseudonymous.status", 2, AA_ROLE_RESOURCE, AA_LEVEL_MUST,
         "PROFILE#6.2", "RFC9421#3.2",
         "GET {resource}/data-jwks signed with scheme=hwk (a valid signature, no identity)", "401",
         "Pseudonymous signature refused: HTTP {actual}");
ID_CHECK(hwk_challenge, "identity.pseudonymous.challenge", 2, AA_ROLE_RESOURCE, AA_LEVEL_MUST,
         "PROFILE#5", "RFC8941#3.1", "Agent-Auth of that 401",
         "httpsig; identity=?1 (a valid signature without identity on an identity endpoint, "
         "D-16)",
         "Challenge asks for identity: {actual}");
ID_CHECK(jwks_ok, "identity.identified.status", 3, AA_ROLE_RESOURCE, AA_LEVEL_MUST, "PROFILE#7",
         "RFC9421#3.2",
         "GET {resource}/data-jwks signed with scheme=jwks id=<agent> kid=<kid> "
         "well-known=aauth-agent, by an agent the harness hosts (needs a resource on loopback)",
         "200", "Identified request accepted: HTTP {actual}");
ID_CHECK(jwks_body, "identity.identified.agent", 3, AA_ROLE_RESOURCE, AA_LEVEL_MUST, "PROFILE#6.2",
         NULL, "identified response body",
         "scheme=jwks, method=GET and agent = the signing agent's identifier (compared by "
         "value)",
         "Resource identified agent: {actual}");
ID_CHECK(jwks_fetched, "identity.identified.keys-fetched", 3, AA_ROLE_RESOURCE, AA_LEVEL_MUST,
         "PROFILE#2.3", NULL, "requests the harness's agent server received from the resource",
         "the resource fetched {agent}/.well-known/aauth-agent and the jwks_uri before "
         "answering 200 (PROFILE#7 F2.3)",
         "Resource fetched agent metadata and JWKS: {actual}");
ID_CHECK(mode1_hwk, "identity.mode1.signature-endpoint", 0, AA_ROLE_RESOURCE, AA_LEVEL_INFO,
         "PROFILE#2.3", NULL,
         "GET {resource}/data-hwk signed with scheme=jwks Mode 1 (jwks=<JWKS URL> kid=<kid>)",
         "200: a valid signature suffices there (D-15 makes Mode 1 pseudonymous)", NULL);
ID_CHECK(mode1_jwks, "identity.mode1.identity-endpoint", 0, AA_ROLE_RESOURCE, AA_LEVEL_INFO,
         "PROFILE#2.3", NULL, "GET {resource}/data-jwks signed with scheme=jwks Mode 1",
         "401 with Agent-Auth: httpsig; identity=?1 (D-15: Mode 1 is no identity)", NULL);

/* ---- TEST 1 ----------------------------------------------------------------- */

static void check_jwks_doc(const struct aa_http_response *resp)
{
    cJSON *doc = dlg_json_body(resp);
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
    struct md_jwks_scan scan;

    if (!cJSON_IsArray(keys)) {
        dlg_fail(&jwks_status, NULL, doc == NULL ? "not a JSON object" : "no \"keys\" array", NULL);
        dlg_not_evaluated(&jwks_status, AA_CHECKS(&jwks_public, &jwks_kids));
        cJSON_Delete(doc);
        return;
    }
    md_jwks_scan(keys, 0, &scan);
    if (scan.priv.len == 0)
        aa_check_pass(&jwks_public, "%d key%s", scan.n, scan.n == 1 ? "" : "s");
    else
        dlg_fail(&jwks_public, NULL, scan.priv.p,
                 "a published private key must be considered compromised");
    if (scan.kid.len == 0)
        aa_check_pass(&jwks_kids, "%d kid%s", scan.n, scan.n == 1 ? "" : "s");
    else
        dlg_fail(&jwks_kids, NULL, scan.kid.p, NULL);
    md_jwks_scan_free(&scan);
    cJSON_Delete(doc);
}

static bool json_media(const struct aa_http_response *resp, bool jwk_set)
{
    return md_resp_media_type_is(resp, "application/json") ||
           (jwk_set && md_resp_media_type_is(resp, "application/jwk-set+json"));
}

AA_CASE(identity, agent_metadata, .title = "Agent identity F2 TEST 1: metadata and JWKS",
        .checks = AA_CHECKS(&md_status, &md_members, &md_id, &jwks_status, &jwks_public,
                            &jwks_kids))
{
    static const struct aa_check *const after_md[] = {&md_members,  &md_id,     &jwks_status,
                                                      &jwks_public, &jwks_kids, NULL};
    const struct aa_conf_target *ag = aa_conf_target(AA_ROLE_AGENT_SERVER);
    struct aa_http_response resp, jresp;
    struct aa_buf url;
    struct aa_diag d;
    cJSON *doc = NULL;
    const char *agent, *uri;
    struct aa_url u;
    int rc;

    aa_http_response_init(&resp);
    aa_http_response_init(&jresp);
    aa_buf_init(&url, AA_URL_MAX_LEN + 1);
    aa_diag_clear(&d);
    aa_conf_note("\n\xF0\x9F\x93\xA4 Fetching the agent metadata of %s...", ag->id);
    if (aa_http_well_known_url(ag->id, "aauth-agent", &url) != AA_OK) {
        dlg_error(&md_status, "cannot build the metadata URL of %s", ag->id ? ag->id : "(none)");
        dlg_not_evaluated(&md_status, after_md);
        goto out;
    }
    {
        struct dlg_req rq = {"GET", url.p, NULL, NULL, 0};
        rc = dlg_send("HARNESS", &rq, &resp, &d);
    }
    if (!dlg_expect_http(&md_status, rc, &d, &resp, 200, NULL)) {
        dlg_not_evaluated(&md_status, after_md);
        goto out;
    }
    doc = dlg_json_body(&resp);
    agent = aa_json_str(doc, "agent");
    uri = aa_json_str(doc, "jwks_uri");
    aa_diag_clear(&d);
    if (doc == NULL || !json_media(&resp, false)) {
        dlg_fail(&md_members, NULL,
                 doc == NULL ? "not one JSON object" : "Content-Type is not application/json",
                 NULL);
        dlg_not_evaluated(&md_members, after_md);
        goto out;
    }
    if (agent == NULL || uri == NULL) {
        dlg_fail(&md_members, NULL, agent == NULL ? "no agent string" : "no jwks_uri string", NULL);
        dlg_not_evaluated(&md_members, after_md);
        goto out;
    }
    if (aa_url_parse(uri, strlen(uri), 0, &u, &d) != AA_OK ||
        (!u.https && !(aa_conf_dev_mode() && aa_http_host_is_loopback(u.host)))) {
        dlg_fail(&md_members, NULL, uri, "jwks_uri must be an https URL (PROFILE#1)");
        dlg_not_evaluated(&md_members, after_md);
        goto out;
    }
    aa_check_pass(&md_members, "agent, jwks_uri %s", uri);
    dlg_expect_str(&md_id, "agent", ag->id, agent);

    aa_conf_note("\n\xF0\x9F\x93\xA4 Fetching the agent JWKS...");
    {
        struct dlg_req rq = {"GET", uri, NULL, NULL, 0};
        aa_diag_clear(&d);
        rc = dlg_send("HARNESS", &rq, &jresp, &d);
    }
    if (!dlg_expect_http(&jwks_status, rc, &d, &jresp, 200, NULL)) {
        dlg_not_evaluated(&jwks_status, AA_CHECKS(&jwks_public, &jwks_kids));
        goto out;
    }
    if (!json_media(&jresp, true)) {
        dlg_fail(&jwks_status, NULL, "Content-Type is not application/json", NULL);
        dlg_not_evaluated(&jwks_status, AA_CHECKS(&jwks_public, &jwks_kids));
        goto out;
    }
    check_jwks_doc(&jresp);
out:
    cJSON_Delete(doc);
    aa_buf_free(&url);
    aa_http_response_cleanup(&resp);
    aa_http_response_cleanup(&jresp);
}

/* ---- TESTS 2-3, F2.4 -------------------------------------------------------- */

static int send_signed(const char *url, const struct aa_jwk *key, const struct aa_sign_cred *cred,
                       struct aa_http_response *resp, struct aa_diag *d)
{
    struct dlg_req rq = {"GET", url, NULL, NULL, 0};

    aa_http_response_cleanup(resp);
    aa_http_response_init(resp);
    aa_diag_clear(d);
    return dlg_send_signed("AGENT", &rq, key, cred, NULL, resp, d);
}

/* Parse the challenge; identity=?1 without auth-token (PROFILE#5 D-16).
 * Returns true when it is; |why| gets the reason otherwise. */
static bool identity_challenge(const struct aa_http_response *resp, struct aa_buf *why)
{
    struct aa_challenge ch;
    struct aa_diag d;
    int rc;
    bool ok;

    aa_diag_clear(&d);
    rc = dlg_challenge(resp, &ch, &d);
    if (rc != AA_OK) {
        char text[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, text, sizeof(text));
        aa_buf_adds(why, text);
        return false;
    }
    ok = ch.identity && !ch.auth_token && ch.resource_token == NULL;
    if (!ok)
        aa_buf_printf(why, "Agent-Auth: %s", aa_http_headers_get(&resp->headers, "Agent-Auth"));
    aa_challenge_cleanup(&ch);
    return ok;
}

static void mode1(const struct dlg_agent *a, const struct aa_conf_target *r, struct aa_buf *url)
{
    struct aa_sign_cred cred = {0};
    struct aa_http_response resp;
    struct aa_buf jwks_url, why;
    struct aa_diag d;
    int rc;

    aa_http_response_init(&resp);
    aa_buf_init(&jwks_url, AA_URL_MAX_LEN + 1);
    aa_buf_init(&why, 4096);
    aa_buf_printf(&jwks_url, "%s%s", a->id, AA_REF_PATH_JWKS);
    cred.scheme = AA_SIGKEY_JWKS;
    cred.jwks_url = jwks_url.p;
    cred.kid = a->key.kid;

    aa_conf_note("\n\xF0\x9F\x93\xA4 Agent signing with scheme=jwks Mode 1 (jwks=%s)...",
                 jwks_url.p);
    dlg_url(url, r->id, r->hwk_path);
    rc = send_signed(url->p, &a->key, &cred, &resp, &d);
    if (rc == AA_OK && resp.status == 200)
        aa_check_pass(&mode1_hwk, "200");
    else if (rc != AA_OK && !aa_http_err_is_transport(rc))
        dlg_error(&mode1_hwk, "could not sign: %s", d.msg);
    else
        aa_check_info(&mode1_hwk, NULL, "Mode 1 on the signature endpoint: %s%ld",
                      rc != AA_OK ? "no response, status " : "HTTP ", resp.status);

    dlg_url(url, r->id, r->jwks_path);
    rc = send_signed(url->p, &a->key, &cred, &resp, &d);
    if (rc == AA_OK && resp.status == 401 && identity_challenge(&resp, &why))
        aa_check_pass(&mode1_jwks, "401 httpsig; identity=?1");
    else if (rc != AA_OK && !aa_http_err_is_transport(rc))
        dlg_error(&mode1_jwks, "could not sign: %s", d.msg);
    else
        aa_check_info(&mode1_jwks, NULL,
                      "Mode 1 on the identity endpoint: HTTP %ld%s%s (the profile makes Mode 1 "
                      "pseudonymous, D-15; the spec leaves it open)",
                      resp.status, why.len ? ", " : "", why.len ? why.p : "");
    aa_buf_free(&why);
    aa_buf_free(&jwks_url);
    aa_http_response_cleanup(&resp);
}

/* The auth server is needed only because an embedded reference resource
 * must name one in its challenges (aa_ref_resource_config.auth_server). */
AA_CASE(identity, resource, .title = "Agent identity F2 TESTS 2-3 and F2.4 (resource)",
        .needs = AA_NEED(AA_ROLE_RESOURCE) | AA_NEED(AA_ROLE_AUTH_SERVER),
        .checks = AA_CHECKS(&hwk_status, &hwk_challenge, &jwks_ok, &jwks_body, &jwks_fetched,
                            &mode1_hwk, &mode1_jwks))
{
    static const struct aa_check *const t3[] = {&jwks_ok,   &jwks_body,  &jwks_fetched,
                                                &mode1_hwk, &mode1_jwks, NULL};
    const struct aa_conf_target *r = aa_conf_target(AA_ROLE_RESOURCE);
    struct aa_http_response resp;
    struct aa_sign_cred cred = {0};
    struct dlg_agent a;
    struct aa_jwk hk = {0};
    struct aa_buf url, why;
    struct aa_diag d;
    int rc;

    memset(&a, 0, sizeof(a));
    aa_http_response_init(&resp);
    aa_buf_init(&url, AA_URL_MAX_LEN + 1);
    aa_buf_init(&why, 4096);
    aa_diag_clear(&d);
    dlg_url(&url, r->id, r->jwks_path);

    /* TEST 2: a valid signature without identity. */
    aa_conf_note("\n\xF0\x9F\x93\xA4 Agent signing with its own key only (scheme=hwk)...");
    if ((rc = dlg_keygen("agent-key-1", &hk)) != AA_OK) {
        dlg_error(&hwk_status, "cannot generate a key: %s", aa_conf_strerror(rc));
        dlg_not_evaluated(&hwk_status, AA_CHECKS(&hwk_challenge));
    } else {
        cred.scheme = AA_SIGKEY_HWK;
        rc = send_signed(url.p, &hk, &cred, &resp, &d);
        if (dlg_expect_http(&hwk_status, rc, &d, &resp, 401, NULL)) {
            if (identity_challenge(&resp, &why))
                aa_check_pass(&hwk_challenge, "%s",
                              aa_http_headers_get(&resp.headers, "Agent-Auth"));
            else
                dlg_fail(&hwk_challenge, NULL, why.p, NULL);
        } else {
            dlg_not_evaluated(&hwk_status, AA_CHECKS(&hwk_challenge));
        }
    }

    /* TEST 3: jwks Mode 2 by an agent the harness hosts. */
    aa_diag_clear(&d);
    if (!aa_conf_harness_reachable(r, &d)) {
        for (const struct aa_check *const *p = t3; *p != NULL; p++)
            dlg_skip(*p, d.msg);
        goto out;
    }
    aa_diag_clear(&d);
    if (dlg_agent_start(&a, &d) != AA_OK) {
        for (const struct aa_check *const *p = t3; *p != NULL; p++)
            dlg_error(*p, "the harness agent server could not start: %s", d.msg);
        goto out;
    }
    aa_conf_note("\n\xF0\x9F\x93\xA4 Agent signing with scheme=jwks id=%s kid=%s "
                 "well-known=aauth-agent...",
                 a.id, a.key.kid);
    memset(&cred, 0, sizeof(cred));
    cred.scheme = AA_SIGKEY_JWKS;
    cred.id = a.id;
    cred.kid = a.key.kid;
    cred.well_known = "aauth-agent";
    dlg_url(&url, r->id, r->jwks_path);
    rc = send_signed(url.p, &a.key, &cred, &resp, &d);
    if (dlg_expect_http(&jwks_ok, rc, &d, &resp, 200, NULL)) {
        const char *const want[] = {"scheme", "jwks", "method", "GET", "agent", a.id, NULL};
        cJSON *doc = dlg_json_body(&resp), *exp = dlg_json_object(want);
        struct aa_buf diff;
        aa_buf_init(&diff, 4096);
        if (exp == NULL)
            dlg_error(&jwks_body, "cannot build the expected body");
        else if (doc == NULL)
            dlg_fail(&jwks_body, NULL, "the body is not a JSON object", NULL);
        else if (aa_conf_json_equal(exp, doc, AA_JSON_CMP_SUBSET | AA_JSON_CMP_NULL_ABSENT, &diff))
            aa_check_pass(&jwks_body, "%s", a.id);
        else
            dlg_fail(&jwks_body, NULL, diff.p != NULL ? diff.p : "differs", "response: %s",
                     resp.body);
        aa_buf_free(&diff);
        cJSON_Delete(exp);
        cJSON_Delete(doc);
        {
            uint64_t md = dlg_agent_metadata_hits(&a), jw = dlg_agent_jwks_hits(&a);
            /* A fresh identifier and kid: the JWKS must have been fetched. The
             * metadata may come from the resource's cache only if an earlier
             * harness agent had the same port within its cache lifetime. */
            dlg_expect(&jwks_fetched, jw > 0, "metadata %llu, JWKS %llu request%s%s",
                       (unsigned long long)md, (unsigned long long)jw, jw == 1 ? "" : "s",
                       md == 0 && jw > 0 ? " (metadata from the resource's cache)" : "");
        }
    } else {
        dlg_not_evaluated(&jwks_ok, AA_CHECKS(&jwks_body, &jwks_fetched));
    }

    /* F2.4 (INFO, D-15). */
    mode1(&a, r, &url);
out:
    dlg_agent_stop(&a);
    aa_jwk_cleanup(&hk);
    aa_buf_free(&why);
    aa_buf_free(&url);
    aa_http_response_cleanup(&resp);
}
