/*
 * neg-auth, documents and size limits: the issuer metadata and its JWKS
 * (PROFILE#3, catalogue MD-01/02) and the request size limits of the
 * agent_token_endpoint (D-24, catalogue RB-01/02).
 *
 * Design choice: every requirement of a document is its own check, so a
 * report names the member that is wrong; a document that cannot be
 * fetched leaves the checks on its content "not evaluated" (D-31).
 */
#include <stdlib.h>
#include <string.h>

#include "json/aa_json.h"
#include "md_common.h"
#include "neg_auth_util.h"

#define MDCHECK(name, slug, title_, expect_)                                                       \
    AA_CHECK(name, .id = "neg-auth.md." slug, .suite = "neg-auth", .title = title_,                \
             .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#3",             \
             .rfc = NULL, .expect = expect_)

MDCHECK(md_doc, "issuer-document", "MD-01 GET {AS}/.well-known/aauth-issuer",
        "200, application/json, one JSON object without duplicate members");
MDCHECK(md_id, "issuer-identifier", "MD-01 issuer metadata \"issuer\"",
        "equals the identifier it was fetched from (D-13, RFC 8414 §3.3)");
MDCHECK(md_members, "issuer-required-members", "MD-01 issuer metadata required members",
        "jwks_uri, agent_token_endpoint, agent_auth_endpoint (URLs), "
        "agent_signing_algs_supported (with ed25519), request_types_supported (array)");
MDCHECK(md_jwks, "jwks-document", "MD-02 GET the issuer's jwks_uri",
        "200, application/json or application/jwk-set+json, {\"keys\":[...]} of valid keys");
MDCHECK(md_priv, "jwks-public-only", "MD-02 issuer JWKS holds public keys only",
        "no d, p, q, dp, dq, qi, k or oth");
MDCHECK(md_kid, "jwks-kid-unique", "MD-02 issuer JWKS kid values",
        "every key has a non-empty kid; no kid repeats (D-14)");

AA_CHECK(rb_hdr, .id = "neg-auth.rb.header-too-large", .suite = "neg-auth",
         .title = "RB-01 a 17 KiB header field, or a 75 KiB header block, to agent_token_endpoint",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#9", .rfc = NULL,
         .expect = "431 (400 accepted), never 5xx or a crash (D-24)");
AA_CHECK(rb_body, .id = "neg-auth.rb.body-too-large", .suite = "neg-auth",
         .title = "RB-02 a form body of 1 MiB + 1 byte to agent_token_endpoint",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#9", .rfc = NULL,
         .expect = "413 (D-24)");

/* ---- issuer metadata and JWKS ------------------------------------------------------------ */

static bool array_has(const cJSON *doc, const char *name, const char *value)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, name), *it;

    cJSON_ArrayForEach(it, a)
    {
        if (cJSON_IsString(it) && (value == NULL || strcmp(it->valuestring, value) == 0))
            return true;
    }
    return false;
}

static void check_members(const cJSON *doc)
{
    static const char *const urls[] = {"jwks_uri", "agent_token_endpoint", "agent_auth_endpoint"};
    struct aa_buf bad;

    aa_buf_init(&bad, 4096);
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
        if (!md_url_usable(aa_json_str(doc, urls[i])))
            aa_buf_printf(&bad, "%s%s missing or not an https URL", bad.len ? "; " : "", urls[i]);
    if (!array_has(doc, "agent_signing_algs_supported", "ed25519"))
        aa_buf_printf(&bad, "%sagent_signing_algs_supported lacks \"ed25519\" (PROFILE#2.10)",
                      bad.len ? "; " : "");
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "request_types_supported")) ||
        !array_has(doc, "request_types_supported", NULL))
        aa_buf_printf(&bad, "%srequest_types_supported is not a non-empty array of strings",
                      bad.len ? "; " : "");
    if (bad.len == 0)
        aa_check_pass(&md_members, "all present");
    else
        aa_check_fail(&md_members, md_members.expect, bad.p, NULL);
    aa_buf_free(&bad);
}

static void check_jwks(const struct aa_http_response *resp)
{
    /* A private member fails the document too (aa_jwks_parse), not only md_priv. */
    static const struct md_jwks_checks checks = {
        .doc = &md_jwks,
        .priv = &md_priv,
        .kid = &md_kid,
        .priv_hint = "a published private key is compromised",
    };

    md_jwks_judge(resp, &checks);
}

AA_CASE(neg_auth, metadata,
        .title = "issuer metadata and JWKS of the auth server (PROFILE#9 MD-01, MD-02)",
        .checks = AA_CHECKS(&md_doc, &md_id, &md_members, &md_jwks, &md_priv, &md_kid))
{
    const struct aa_conf_target *t = aa_conf_target(AA_ROLE_AUTH_SERVER);
    struct aa_http_response resp, jr;
    struct aa_diag d;
    cJSON *doc = NULL;
    const char *ju;
    int rc;

    aa_http_response_init(&resp);
    aa_http_response_init(&jr);
    if (!na_metadata_get(t, "aauth-issuer", "issuer metadata", &md_doc, &resp, &doc))
        goto out;
    aa_expect_str(&md_id, "metadata \"issuer\"", t->id, aa_json_str(doc, "issuer"));
    check_members(doc);
    ju = aa_json_str(doc, "jwks_uri");
    if (!md_url_usable(ju)) {
        aa_check_fail(&md_jwks, md_jwks.expect, ju ? ju : "no jwks_uri", "jwks_uri unusable");
        aa_check_not_evaluated(&md_jwks, AA_CHECKS(&md_priv, &md_kid));
        goto out;
    }
    aa_diag_clear(&d);
    rc = aa_conf_get("HARNESS", ju, &jr, &d);
    if (!na_expect(&md_jwks, "issuer JWKS", rc, &d, &jr, 200, 0, NULL, NULL)) {
        aa_check_not_evaluated(&md_jwks, AA_CHECKS(&md_priv, &md_kid));
        goto out;
    }
    check_jwks(&jr);
out:
    cJSON_Delete(doc);
    aa_http_response_cleanup(&resp);
    aa_http_response_cleanup(&jr);
}

/* ---- size limits -------------------------------------------------------------------------- */

static char *filled(size_t n, char c)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        memset(p, c, n);
        p[n] = '\0';
    }
    return p;
}

AA_CASE(neg_auth, limits,
        .title = "request size limits of agent_token_endpoint (PROFILE#9 RB-01, RB-02)",
        .checks = AA_CHECKS(&rb_hdr, &rb_body))
{
    struct na_as as;
    struct aa_buf why, body;
    struct aa_http_response resp;
    struct aa_diag d;
    struct na_req r;
    char *big = filled(17 * 1024, 'a'), *mid = filled(15 * 1024, 'b');
    int rc;

    aa_buf_init(&why, 2048);
    aa_buf_init(&body, 2 * 1024 * 1024);
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    if (big == NULL || mid == NULL) {
        na_error_rest("out of memory");
        goto out;
    }
    if (na_as_init(&as, NULL, &why) != AA_OK) {
        na_error_rest("%s", why.p);
        goto out;
    }
    /* RB-01: no signature is needed, the limits come first (PROFILE#2.11 step 1). */
    {
        const char *one[] = {"X-Aauth-Conformance-Pad", big, NULL};
        const char *five[] = {"X-Pad-1", mid, "X-Pad-2", mid, "X-Pad-3", mid,
                              "X-Pad-4", mid, "X-Pad-5", mid, NULL};
        memset(&r, 0, sizeof(r));
        r.url = as.token_url;
        r.content_type = NA_FORM_CT;
        r.body = "request_type=auth";
        r.body_len = strlen(r.body);
        r.headers = one;
        na_step("RB-01 one 17 KiB header field");
        rc = na_send("HARNESS", &r, &resp, NULL, &d);
        na_expect(&rb_hdr, "RB-01 17 KiB field", rc, &d, &resp, 431, 400, NULL, NULL);
        r.headers = five;
        aa_diag_clear(&d);
        na_step("RB-01 five 15 KiB header fields (75 KiB block)");
        rc = na_send("HARNESS", &r, &resp, NULL, &d);
        na_expect(&rb_hdr, "RB-01 75 KiB block", rc, &d, &resp, 431, 400, NULL, NULL);
    }
    /* RB-02 */
    aa_buf_adds(&body, "request_type=auth&x_aauth_conformance_pad=");
    while (body.err == AA_OK && body.len <= 1024 * 1024)
        aa_buf_add(&body, mid, 15 * 1024);
    na_expect_body_too_large(&rb_body, "HARNESS", as.token_url, NA_FORM_CT, &body, &resp);
    na_as_cleanup(&as);
out:
    free(big);
    free(mid);
    aa_buf_free(&why);
    aa_buf_free(&body);
    aa_http_response_cleanup(&resp);
}
