/*
 * fuzz_tokens: the AAuth token validators (PROFILE#4.3 agent token, #4.4
 * resource token, #4.5 auth token; harness/aauth/aa_verifier.h) on a
 * fuzzed compact token, in the fuzz world of fuzz_keys.h (frozen clock,
 * in-memory issuer keys, receiver http://127.0.0.1:8002, trusted auth
 * server http://127.0.0.1:8003). seedgen's valid tokens are the seeds.
 * fuzz-libs: aa_aauth aa_httpsig aa_jose aa_jwk aa_sf aa_http aa_json aa_b64 aa_core
 *
 * Checks:
 *   1. Every failure is coherent: return == res.code, where = "4.3/<n>",
 *      "4.4/<n>" or "4.5/<n>" matching the validator, error
 *      invalid_token (agent, auth) or invalid_resource_token (resource),
 *      the PROFILE#6.8 status of that error, a cited diagnostic, never a
 *      500 (harness fault) for token bytes.
 *   2. Every success is coherent: the kind matches the validator, iss is
 *      set, the token is not expired at the frozen clock (60 s skew),
 *      agent and auth tokens carry cnf.jwk whose RFC 7638 thumbprint is
 *      the reported cnf_jkt, an agent token has sub, a resource token the
 *      expected agent and agent_jkt.
 *   3. The typ values differ, so at most one validator accepts a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aauth/aa_aauth.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "json/aa_json.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"

AA_FUZZ_LINK_STRERROR(aa_aauth_strerror, aa_httpsig_strerror, aa_jose_strerror, aa_jwk_strerror,
                      aa_json_strerror, aa_sf_strerror, aa_b64_strerror, aa_http_strerror);

static struct aa_static_keys *keys;
static struct aa_key_resolver resolver;
static char delegate_jkt[AA_JWK_THUMBPRINT_LEN + 1];
static const char *const trusted[] = {AA_FUZZ_AUTH_ID, NULL};

static void init(void)
{
    struct aa_jwk k;

    if (keys != NULL)
        return;
    keys = aa_static_keys_new();
    AA_FUZZ_CHECK(keys != NULL, "aa_static_keys_new");
    aa_fuzz_ed25519(aa_fuzz_test1_seed, AA_FUZZ_AGENT_KID, &k);
    AA_FUZZ_CHECK(aa_static_keys_add(keys, AA_FUZZ_AGENT_ID, "aauth-agent", &k) == AA_OK,
                  "static keys");
    aa_jwk_cleanup(&k);
    aa_fuzz_ed25519(aa_fuzz_test1_seed, AA_FUZZ_RESOURCE_KID, &k);
    AA_FUZZ_CHECK(aa_static_keys_add(keys, AA_FUZZ_RESOURCE_ID, "aauth-resource", &k) == AA_OK,
                  "static keys");
    aa_jwk_cleanup(&k);
    aa_fuzz_ed25519(aa_fuzz_test3_seed, AA_FUZZ_AUTH_KID, &k);
    AA_FUZZ_CHECK(aa_static_keys_add(keys, AA_FUZZ_AUTH_ID, "aauth-issuer", &k) == AA_OK,
                  "static keys");
    aa_jwk_cleanup(&k);
    aa_fuzz_ed25519(aa_fuzz_test2_seed, "delegate-key-1", &k);
    AA_FUZZ_CHECK(aa_jwk_thumbprint(&k, delegate_jkt) == AA_OK, "thumbprint");
    aa_jwk_cleanup(&k);
    aa_key_resolver_static(&resolver, keys);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    init();
    return 0;
}

static void check_failure(const char *sect, enum aa_perr perr, int rc,
                          const struct aa_aauth_result *res)
{
    size_t sl = strlen(sect);

    AA_FUZZ_CHECK(rc == res->code && rc < 0, "%s: return %d, res.code %d", sect, rc, res->code);
    AA_FUZZ_CHECK(res->status != 500 && !aa_err_is_fault(rc),
                  "%s: token bytes gave a harness fault: %d %s", res->where, rc, res->diag.msg);
    AA_FUZZ_CHECK(strncmp(res->where, sect, sl) == 0 && res->where[sl] == '/' && res->step >= 1,
                  "%s validator failed at \"%s\" step %d", sect, res->where, res->step);
    AA_FUZZ_CHECK(res->perr == perr, "%s: error %s", res->where, aa_perr_name(res->perr));
    AA_FUZZ_CHECK(res->status == aa_perr_status(perr), "%s: status %d", res->where, res->status);
    AA_FUZZ_CHECK(res->diag.ref != NULL && res->diag.ref[0] != '\0' && res->diag.msg[0] != '\0',
                  "%s: finding without citation or message", res->where);
}

static void debug(const char *what, const struct aa_aauth_result *res)
{
    char line[1024];

    if (!aa_fuzz_debug())
        return;
    aa_aauth_result_format(res, line, sizeof(line));
    fprintf(stderr, "fuzz_tokens: %s -> %s\n", what, line);
}

static void check_success(enum aa_token_kind kind, const struct aa_validated_token *t)
{
    AA_FUZZ_CHECK(t->kind == kind, "kind %d, expected %d", (int)t->kind, (int)kind);
    AA_FUZZ_CHECK(t->iss != NULL && t->iss[0] != '\0', "accepted token without iss");
    AA_FUZZ_CHECK(t->exp == 0 || t->exp + 60 > AA_FUZZ_NOW, "expired token accepted (exp %lld)",
                  (long long)t->exp);
    if (kind == AA_TOKEN_AGENT)
        AA_FUZZ_CHECK(t->sub != NULL && t->sub[0] != '\0', "agent token without sub");
    if (kind == AA_TOKEN_AGENT || kind == AA_TOKEN_AUTH) {
        char tp[AA_JWK_THUMBPRINT_LEN + 1];
        AA_FUZZ_CHECK(t->has_cnf && !t->cnf.is_private, "accepted without a public cnf.jwk");
        AA_FUZZ_CHECK(aa_jwk_thumbprint(&t->cnf, tp) == AA_OK && strcmp(tp, t->cnf_jkt) == 0,
                      "cnf_jkt is not the thumbprint of cnf.jwk");
    }
    if (kind == AA_TOKEN_RESOURCE)
        AA_FUZZ_CHECK(t->agent && strcmp(t->agent, AA_FUZZ_AGENT_ID) == 0 && t->agent_jkt &&
                          strcmp(t->agent_jkt, delegate_jkt) == 0,
                      "resource token for another agent accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aa_token_policy pol;
    struct aa_validated_token t;
    struct aa_aauth_result res;
    char *tok;
    int rc, accepted = 0;

    init();
    tok = aa_fuzz_cstr((struct aa_str){size ? (const char *)data : "", size});
    memset(&pol, 0, sizeof(pol));
    pol.clock = (struct aa_clock){aa_fuzz_frozen_now, NULL};
    pol.resolver = &resolver;
    pol.trusted_issuers = trusted;
    pol.dev_mode = true;

    pol.receiver = AA_FUZZ_RESOURCE_ID;
    rc = aa_aauth_validate_agent_token(&pol, tok, size, &t, &res);
    debug("agent", &res);
    if (rc == AA_OK) {
        check_success(AA_TOKEN_AGENT, &t);
        aa_validated_token_cleanup(&t);
        accepted++;
    } else {
        check_failure("4.3", AA_PERR_INVALID_TOKEN, rc, &res);
    }

    rc = aa_aauth_validate_auth_token(&pol, tok, size, &t, &res);
    debug("auth", &res);
    if (rc == AA_OK) {
        check_success(AA_TOKEN_AUTH, &t);
        aa_validated_token_cleanup(&t);
        accepted++;
    } else {
        check_failure("4.5", AA_PERR_INVALID_TOKEN, rc, &res);
    }

    pol.receiver = AA_FUZZ_AUTH_ID;
    pol.expected_agent = AA_FUZZ_AGENT_ID;
    pol.expected_agent_jkt = delegate_jkt;
    rc = aa_aauth_validate_resource_token(&pol, tok, size, &t, &res);
    debug("resource", &res);
    if (rc == AA_OK) {
        check_success(AA_TOKEN_RESOURCE, &t);
        aa_validated_token_cleanup(&t);
        accepted++;
    } else {
        check_failure("4.4", AA_PERR_INVALID_RESOURCE_TOKEN, rc, &res);
    }
    AA_FUZZ_CHECK(accepted <= 1, "%d validators accepted one token", accepted);
    free(tok);
    return 0;
}
