/*
 * profile.c: the built-in dialect table "aauth-2026-01" (PROTOCOL.md, which
 * pins the AAuth explainer dated 2026-01-19). Every literal name of the
 * dialect appears here once; flow code reads them through the struct.
 */
#include "aa_aauth.h"

#include <string.h>

static const struct aa_profile profile_2026_01 = {
    .name = AA_PROFILE_DEFAULT_NAME,
    .spec_ref = "AAUTH 2026-01-19",
    .default_label = "sig1",
    .httpsig_alg = "ed25519",
    .jose_alg = "EdDSA",
    .digest_alg = "sha-256",
    .default_scope = "data.read data.write",
    .form_content_type = "application/x-www-form-urlencoded",
    .json_content_type = "application/json",
    .hdr =
        {
            .signature_key = "Signature-Key",
            .signature_input = "Signature-Input",
            .signature = "Signature",
            .agent_auth = "Agent-Auth",
            .nonce = "Nonce",
            .content_digest = "Content-Digest",
            .content_type = "Content-Type",
            .www_authenticate = "WWW-Authenticate",
            .retry_after = "Retry-After",
        },
    .comp =
        {
            .method = "@method",
            .authority = "@authority",
            .path = "@path",
            .query = "@query",
            .content_type = "content-type",
            .content_digest = "content-digest",
            .nonce = "nonce",
            .signature_key = "signature-key",
        },
    .sk =
        {
            .p_scheme = "scheme",
            .hwk = "hwk",
            .jwks = "jwks",
            .jwt = "jwt",
            .x509 = "x509",
            .p_kty = "kty",
            .p_crv = "crv",
            .p_x = "x",
            .p_y = "y",
            .p_n = "n",
            .p_e = "e",
            .p_id = "id",
            .p_kid = "kid",
            .p_well_known = "well-known",
            .p_jwks = "jwks",
            .p_jwt = "jwt",
            .p_x5u = "x5u",
            .p_x5t = "x5t",
        },
    .ch =
        {
            .scheme = "httpsig",
            .identity = "identity",
            .auth_token = "auth-token",
            .resource_token = "resource_token",
            .auth_server = "auth_server",
            .user_interaction = "user_interaction",
            .algs = "algs",
        },
    .typ = {.agent = "agent+jwt", .resource = "resource+jwt", .auth = "auth+jwt"},
    .wk = {.agent = "aauth-agent", .resource = "aauth-resource", .issuer = "aauth-issuer"},
    .md =
        {
            .agent = "agent",
            .resource = "resource",
            .issuer = "issuer",
            .jwks_uri = "jwks_uri",
            .redirect_uris = "redirect_uris",
            .name = "name",
            .logo_uri = "logo_uri",
            .policy_uri = "policy_uri",
            .tos_uri = "tos_uri",
            .homepage = "homepage",
            .agent_token_endpoint = "agent_token_endpoint",
            .agent_auth_endpoint = "agent_auth_endpoint",
            .agent_signing_algs_supported = "agent_signing_algs_supported",
            .request_types_supported = "request_types_supported",
            .scopes_supported = "scopes_supported",
            .resource_token_endpoint = "resource_token_endpoint",
            .supported_scopes = "supported_scopes",
            .scope_descriptions = "scope_descriptions",
            .auth_server = "auth_server",
        },
    .claim =
        {
            .iss = "iss",
            .sub = "sub",
            .aud = "aud",
            .exp = "exp",
            .nbf = "nbf",
            .iat = "iat",
            .jti = "jti",
            .cnf = "cnf",
            .cnf_jwk = "jwk",
            .agent = "agent",
            .agent_jkt = "agent_jkt",
            .agent_delegate = "agent_delegate",
            .scope = "scope",
            .auth_request_url = "auth_request_url",
            .act = "act",
        },
    .time =
        {
            .created_skew = 60,
            .jwt_skew = 60,
            .nonce_retention = 120,
            .agent_token = 3600,
            .resource_token = 300,
            .auth_token = 3600,
            .request_token = 600,
            .code = 60,
            .refresh_token = 86400,
        },
    .limit =
        {
            .header_value = 16 * 1024,
            .header_block = 64 * 1024,
            .body = 1024 * 1024,
            .jwt = 8 * 1024,
            .json_depth = 32,
            .sigkey_params = 32,
            .components = 32,
            .nonce_min_bytes = 12,
            .nonce_max_chars = 128,
            .metadata_bytes = 64 * 1024,
            .jwks_keys = 32,
            .act_depth = 4,
        },
    .grammar =
        {
            .sigkey_parse = aa_sigkey_parse,
            .sigkey_serialize = aa_sigkey_serialize,
            .challenge_parse = aa_challenge_parse,
            .challenge_serialize = aa_challenge_serialize,
        },
};

static const char *const profile_names[] = {AA_PROFILE_DEFAULT_NAME, NULL};

const struct aa_profile *aa_profile_default(void)
{
    return &profile_2026_01;
}

const struct aa_profile *aa_profile_find(const char *name)
{
    if (name == NULL || strcmp(name, profile_2026_01.name) == 0)
        return &profile_2026_01;
    return NULL;
}

const char *const *aa_profile_names(void)
{
    return profile_names;
}
