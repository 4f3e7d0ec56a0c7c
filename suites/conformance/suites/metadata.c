/*
 * metadata: the agent server's well-known metadata and JWKS (PROFILE#3;
 * negative catalogue MD-01 and MD-02 of PROFILE#9).
 *
 * One case fetches {agent}/.well-known/aauth-agent and then its jwks_uri,
 * the way every verifier of an agent's signatures and tokens will, and
 * judges each required property separately so a report names exactly
 * what is wrong.
 *
 * Design choice: when the document cannot be fetched the dependent checks
 * are still recorded (aa_check_not_evaluated): ERROR if the harness could
 * not reach the target, a failure if the target answered wrongly. A check
 * is never missing from the report.
 */
#include <string.h>

#include "aa_runner.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"
#include "md_common.h"

/* ---- agent metadata (PROFILE#3 "Agent") ---------------------------------- */

AA_CHECK(md_agent_status, .id = "metadata.agent.status", .suite = "metadata",
         .title = "GET {agent}/.well-known/aauth-agent", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3", .rfc = "RFC8615#3",
         .expect = "200 with the agent metadata");

AA_CHECK(md_agent_ctype, .id = "metadata.agent.content-type", .suite = "metadata",
         .title = "agent metadata Content-Type", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3", .rfc = "RFC8259#11",
         .expect = "application/json");

AA_CHECK(md_agent_json, .id = "metadata.agent.json-object", .suite = "metadata",
         .title = "agent metadata is one JSON object", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3", .rfc = "RFC8259#4",
         .expect = "a JSON object without duplicate member names (D-29)");

AA_CHECK(md_agent_id, .id = "metadata.agent.identifier", .suite = "metadata",
         .title = "agent metadata \"agent\" member", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3", .rfc = "RFC8414#3.3",
         .expect = "\"agent\" equals the identifier the document was fetched for (MD-01, D-13)");

AA_CHECK(md_agent_jwks_uri, .id = "metadata.agent.jwks-uri", .suite = "metadata",
         .title = "agent metadata \"jwks_uri\" member", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3",
         .expect = "an absolute https URL (http only for loopback in dev mode)");

AA_CHECK(md_agent_user_auth, .id = "metadata.agent.user-authorization-members", .suite = "metadata",
         .title = "agent metadata members for user authorization", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3",
         .expect = "redirect_uris (non-empty array of URLs), name, logo_uri, policy_uri, tos_uri "
                   "and homepage");

/* ---- agent JWKS (PROFILE#3 "JWKS", D-14) ------------------------------------ */

AA_CHECK(md_jwks_status, .id = "metadata.agent-jwks.status", .suite = "metadata",
         .title = "GET the agent's jwks_uri", .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#3", .rfc = "RFC7517#5", .expect = "200 with a JWK Set");

AA_CHECK(md_jwks_ctype, .id = "metadata.agent-jwks.content-type", .suite = "metadata",
         .title = "agent JWKS Content-Type", .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#3", .rfc = "RFC7517#8.5.1",
         .expect = "application/json or application/jwk-set+json (MD-02)");

AA_CHECK(md_jwks_public, .id = "metadata.agent-jwks.public-only", .suite = "metadata",
         .title = "agent JWKS holds public keys only", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3", .rfc = "RFC7517#5",
         .expect = "no key carries d, p, q, dp, dq, qi, k or oth (MD-02)");

AA_CHECK(md_jwks_kids, .id = "metadata.agent-jwks.kid-unique", .suite = "metadata",
         .title = "agent JWKS kid values", .role = AA_ROLE_AGENT_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#3", .rfc = "RFC7517#4.5",
         .expect = "every key has a non-empty kid and no kid repeats (MD-02, D-14)");

AA_CHECK(md_jwks_valid, .id = "metadata.agent-jwks.keys-valid", .suite = "metadata",
         .title = "agent JWKS parses as a JWK Set", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#3", .rfc = "RFC7517#5",
         .expect = "{\"keys\":[...]} of valid keys, at most 32 keys and 64 KiB");

AA_CHECK(md_jwks_ed25519, .id = "metadata.agent-jwks.ed25519", .suite = "metadata",
         .title = "agent JWKS offers an Ed25519 key", .role = AA_ROLE_AGENT_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.10", .rfc = "RFC8037#2",
         .expect = "at least one OKP key with crv Ed25519 (ed25519 is REQUIRED)");

/* ---- helpers ------------------------------------------------------------ */

static void expect_json_ctype(const struct aa_check *c, const struct aa_http_response *resp,
                              bool jwk_set)
{
    const char *ct = aa_http_headers_get(&resp->headers, "Content-Type");
    bool ok = md_media_type_is(ct, "application/json") ||
              (jwk_set && md_media_type_is(ct, "application/jwk-set+json"));

    if (ok)
        aa_check_pass(c, "%s", ct);
    else
        aa_check_fail(c, c->expect, ct ? ct : "(no Content-Type)", NULL);
}

/* jwks_uri: an absolute URL that a verifier may fetch (PROFILE#1 rules on
 * the scheme: https, http only for loopback in dev mode). */
static bool jwks_uri_ok(const char *uri, struct aa_buf *why)
{
    struct aa_url u;
    struct aa_diag d;

    aa_diag_clear(&d);
    if (aa_url_parse(uri, strlen(uri), 0, &u, &d) != AA_OK) {
        aa_buf_adds(why, d.msg);
        return false;
    }
    if (!u.https && !(aa_conf_dev_mode() && aa_http_host_is_loopback(u.host))) {
        aa_buf_adds(why, "http is allowed only for loopback hosts in dev mode (PROFILE#1)");
        return false;
    }
    return true;
}

static void check_user_auth_members(const cJSON *doc)
{
    static const char *const strs[] = {"name", "logo_uri", "policy_uri", "tos_uri", "homepage"};
    const cJSON *ru = cJSON_GetObjectItemCaseSensitive(doc, "redirect_uris"), *e;
    struct aa_buf missing;
    bool any = ru != NULL;

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        any = any || cJSON_GetObjectItemCaseSensitive(doc, strs[i]) != NULL;
    /* Required only when the agent uses user authorization (F4/F5): the
     * agent says so by publishing any of the members, or the user declares
     * it. Otherwise there is nothing to require. */
    if (!any &&
        !aa_check_require_feature(&md_agent_user_auth, AA_ROLE_AGENT_SERVER, "user-authorization"))
        return;
    aa_buf_init(&missing, 4096);
    if (!cJSON_IsArray(ru) || cJSON_GetArraySize(ru) == 0) {
        aa_buf_adds(&missing, "redirect_uris (a non-empty array)");
    } else {
        cJSON_ArrayForEach(e, ru)
        {
            struct aa_buf why;
            aa_buf_init(&why, 1024);
            if (!cJSON_IsString(e) || !jwks_uri_ok(e->valuestring, &why))
                aa_buf_printf(&missing, "%sredirect_uris entry %s%s%s", missing.len ? ", " : "",
                              cJSON_IsString(e) ? e->valuestring : "(not a string)",
                              why.len ? ": " : "", why.len ? why.p : "");
            aa_buf_free(&why);
        }
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = aa_json_str(doc, strs[i]);
        if (v == NULL || *v == '\0')
            aa_buf_printf(&missing, "%s%s", missing.len ? ", " : "", strs[i]);
    }
    if (missing.len == 0)
        aa_check_pass(&md_agent_user_auth, "all present");
    else
        aa_check_fail(&md_agent_user_auth, md_agent_user_auth.expect, missing.p,
                      "missing or invalid: %s", missing.p);
    aa_buf_free(&missing);
}

/* The JWKS checks over the raw JSON (so each defect is named separately),
 * then the library's full JWK Set validation. */
static void check_jwks(const struct aa_http_response *resp)
{
    struct md_jwks_scan scan;
    struct aa_jwks set = {0};
    struct aa_diag d;
    cJSON *doc = NULL;
    const cJSON *keys;
    int rc;

    expect_json_ctype(&md_jwks_ctype, resp, true);
    aa_diag_clear(&d);
    rc = aa_json_parse(resp->body, resp->body_len, NULL, &doc, &d);
    keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
    if (rc != AA_OK || !cJSON_IsArray(keys)) {
        char text[AA_DIAG_MSG_MAX + 64];
        if (rc != AA_OK)
            aa_diag_format(&d, text, sizeof(text));
        else
            aa_snprintf(text, sizeof(text), "no \"keys\" array");
        aa_check_fail(&md_jwks_valid, md_jwks_valid.expect, text, NULL);
        aa_check_not_evaluated(&md_jwks_valid,
                               AA_CHECKS(&md_jwks_public, &md_jwks_kids, &md_jwks_ed25519));
        cJSON_Delete(doc);
        return;
    }
    md_jwks_scan(keys, MD_JWKS_NAME_KID | MD_JWKS_REPEAT_AT, &scan);
    if (scan.priv.len == 0)
        aa_check_pass(&md_jwks_public, "%d public key%s", scan.n, scan.n == 1 ? "" : "s");
    else
        aa_check_fail(&md_jwks_public, md_jwks_public.expect, scan.priv.p,
                      "a published private key must be considered compromised: rotate it");
    if (scan.kid.len == 0)
        aa_check_pass(&md_jwks_kids, "%d unique kid%s", scan.n, scan.n == 1 ? "" : "s");
    else
        aa_check_fail(&md_jwks_kids, md_jwks_kids.expect, scan.kid.p, NULL);
    aa_expect_true(&md_jwks_ed25519, scan.ed25519, md_jwks_ed25519.expect,
                   scan.ed25519 ? "an OKP/Ed25519 key is present"
                                : "no key with kty OKP and crv Ed25519");
    aa_diag_clear(&d);
    rc = aa_jwks_parse(resp->body, resp->body_len, &set, &d);
    aa_expect_ok(&md_jwks_valid, rc, &d);
    aa_jwks_cleanup(&set);
    md_jwks_scan_free(&scan);
    cJSON_Delete(doc);
}

/* ---- the case ----------------------------------------------------------- */

AA_CASE(metadata, agent, .title = "agent metadata and JWKS (PROFILE#3, MD-01/MD-02)",
        .checks = AA_CHECKS(&md_agent_status, &md_agent_ctype, &md_agent_json, &md_agent_id,
                            &md_agent_jwks_uri, &md_agent_user_auth, &md_jwks_status,
                            &md_jwks_ctype, &md_jwks_public, &md_jwks_kids, &md_jwks_valid,
                            &md_jwks_ed25519))
{
    static const struct aa_check *const after_doc[] = {
        &md_agent_ctype,     &md_agent_json,  &md_agent_id,     &md_agent_jwks_uri,
        &md_agent_user_auth, &md_jwks_status, &md_jwks_ctype,   &md_jwks_public,
        &md_jwks_kids,       &md_jwks_valid,  &md_jwks_ed25519, NULL};
    static const struct aa_check *const after_jwks[] = {
        &md_jwks_ctype, &md_jwks_public, &md_jwks_kids, &md_jwks_valid, &md_jwks_ed25519, NULL};
    const struct aa_conf_target *t = aa_conf_target(AA_ROLE_AGENT_SERVER);
    struct aa_http_response resp, jresp;
    struct aa_buf url, why;
    struct aa_diag d;
    cJSON *doc = NULL;
    const char *agent, *jwks_uri;
    int rc;

    aa_http_response_init(&resp);
    aa_http_response_init(&jresp);
    aa_buf_init(&url, 8192);
    aa_buf_init(&why, 4096);
    aa_diag_clear(&d);

    /* The identifier is what the document must name; the harness connects
     * to the same origin (an embedded server's listen origin). */
    aa_conf_note("Agent server %s (%s)", t->id ? t->id : "(none)",
                 t->under_test ? "under test" : "embedded reference");
    if (aa_http_well_known_url(t->connect_url ? t->connect_url : "", "aauth-agent", &url) !=
        AA_OK) {
        aa_check_error(&md_agent_status, "cannot build the metadata URL from \"%s\"",
                       t->connect_url ? t->connect_url : "(none)");
        aa_check_not_evaluated(&md_agent_status, after_doc);
        goto out;
    }
    rc = aa_conf_get("HARNESS", url.p, &resp, &d);
    if (!aa_expect_status(&md_agent_status, rc, &d, &resp, 200, NULL) || resp.status != 200) {
        aa_check_not_evaluated(&md_agent_status, after_doc);
        goto out;
    }
    expect_json_ctype(&md_agent_ctype, &resp, false);

    aa_diag_clear(&d);
    rc = aa_json_parse(resp.body, resp.body_len, NULL, &doc, &d);
    if (!aa_expect_ok(&md_agent_json, rc, &d)) {
        aa_check_not_evaluated(&md_agent_json, after_doc);
        goto out;
    }

    agent = aa_json_str(doc, "agent");
    aa_expect_str(&md_agent_id, "metadata \"agent\"", t->id, agent);

    jwks_uri = aa_json_str(doc, "jwks_uri");
    if (jwks_uri == NULL) {
        aa_check_fail(&md_agent_jwks_uri, md_agent_jwks_uri.expect, "(absent)",
                      "jwks_uri is REQUIRED in agent metadata");
    } else if (!jwks_uri_ok(jwks_uri, &why)) {
        aa_check_fail(&md_agent_jwks_uri, md_agent_jwks_uri.expect, jwks_uri, "%s", why.p);
        jwks_uri = NULL;
    } else {
        aa_check_pass(&md_agent_jwks_uri, "%s", jwks_uri);
    }
    check_user_auth_members(doc);
    if (jwks_uri == NULL) {
        aa_check_not_evaluated(&md_agent_jwks_uri, after_doc);
        goto out;
    }

    aa_diag_clear(&d);
    rc = aa_conf_get("HARNESS", jwks_uri, &jresp, &d);
    if (!aa_expect_status(&md_jwks_status, rc, &d, &jresp, 200, NULL) || jresp.status != 200) {
        aa_check_not_evaluated(&md_jwks_status, after_jwks);
        goto out;
    }
    check_jwks(&jresp);
out:
    cJSON_Delete(doc);
    aa_buf_free(&url);
    aa_buf_free(&why);
    aa_http_response_cleanup(&resp);
    aa_http_response_cleanup(&jresp);
}
