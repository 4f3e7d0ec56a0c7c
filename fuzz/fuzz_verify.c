/*
 * fuzz_verify: the whole AAuth receiver procedure, aa_aauth_verify()
 * (PROFILE#2.11 steps 1-9, harness/aauth/aa_verifier.h), on a request
 * whose method, target, headers (Signature-Input, Signature,
 * Signature-Key, Content-Digest, Nonce, Content-Type, anything else) and
 * body all come from the fuzzer (framing: fuzz_http.h).
 * fuzz-libs: aa_aauth aa_httpsig aa_jose aa_jwk aa_sf aa_http aa_json aa_b64 aa_core
 *
 * The receiver is the fuzz world of fuzz_keys.h: frozen clock
 * (AA_FUZZ_NOW), a fresh in-memory replay cache per input, an in-memory
 * key resolver (agent TEST 1 under aauth-agent and as a JWKS URL, auth
 * server TEST 3 under aauth-issuer), dev mode, configured authority
 * 127.0.0.1:8002 (":authority: 127.0.0.1:8003" selects the other one).
 * No network: a resolver miss is a finding (invalid_key), never a fetch.
 * Seeds from seedgen are validly signed, so the fuzzer starts at success.
 * Requests no HTTP/1.1 server would deliver (empty or non-token method,
 * target with SP or controls, NUL in a header) are skipped.
 * Checks:
 *   1. The result is coherent: return value == res.code; a failure has a
 *      step 1..9 and a "where"; its HTTP status is the PROFILE#6.8 status
 *      of its error name (413/431 only at step 1); the diagnostic cites a
 *      section and says something; never 500 (a harness fault) for bytes a
 *      peer sent.
 *   2. A success is coherent: a level, a label, a key whose RFC 7638
 *      thumbprint is the one reported, created within 60 s of now, and a
 *      verified base whose @authority line is the CONFIGURED authority
 *      (PROFILE#2.5, never Host), which covers signature-key
 *      (PROFILE#2.4) and, when there is a body, content-digest.
 *   3. Replay: verifying the same accepted request again fails with
 *      replay_detected when it carried a Nonce (PROFILE#2.9) and succeeds
 *      identically when it did not (the procedure is otherwise stateless).
 *   4. Binding: an accepted request presented with another path or another
 *      method is refused (the signature covers @method and @path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aauth/aa_aauth.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "json/aa_json.h"
#include "fuzz_common.h"
#include "fuzz_http.h"
#include "fuzz_keys.h"

AA_FUZZ_LINK_STRERROR(aa_aauth_strerror, aa_httpsig_strerror, aa_jose_strerror, aa_jwk_strerror,
                      aa_json_strerror, aa_sf_strerror, aa_b64_strerror, aa_http_strerror);

static struct aa_static_keys *keys;
static struct aa_key_resolver resolver;
static const char *const trusted[] = {AA_FUZZ_AUTH_ID, NULL};

static void init(void)
{
    struct aa_jwk k;

    if (keys != NULL)
        return;
    keys = aa_static_keys_new();
    AA_FUZZ_CHECK(keys != NULL, "aa_static_keys_new");
    aa_fuzz_ed25519(aa_fuzz_test1_seed, AA_FUZZ_AGENT_KID, &k);
    AA_FUZZ_CHECK(aa_static_keys_add(keys, AA_FUZZ_AGENT_ID, "aauth-agent", &k) == AA_OK &&
                      aa_static_keys_add_url(keys, AA_FUZZ_AGENT_ID "/jwks.json", &k) == AA_OK,
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
    aa_key_resolver_static(&resolver, keys);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    init();
    return 0;
}

/* What an HTTP/1.1 server hands a handler: a method that is a token
 * (RFC 9110 §9.1) and a non-empty request target without SP or controls
 * (RFC 9112 §3). Anything else never reaches aa_aauth_verify(). */
static bool deliverable(const struct aa_fuzz_req *r)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";

    if (r->method.len == 0 || r->target.len == 0)
        return false;
    for (size_t i = 0; i < r->method.len; i++) {
        unsigned char c = (unsigned char)r->method.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c != 0 && strchr(tchar, c) != NULL)))
            return false;
    }
    for (size_t i = 0; i < r->target.len; i++) {
        unsigned char c = (unsigned char)r->target.p[i];
        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

static void check_failure(int rc, const struct aa_aauth_result *res)
{
    AA_FUZZ_CHECK(rc == res->code && rc < 0, "return %d, res.code %d", rc, res->code);
    AA_FUZZ_CHECK(res->status != 500 && !aa_err_is_fault(rc),
                  "peer bytes gave a harness fault at %s: %d %s", res->where, rc, res->diag.msg);
    AA_FUZZ_CHECK(res->step >= 1 && res->step <= 9 && res->where[0] != '\0',
                  "failure without a step: %d \"%s\"", res->step, res->where);
    AA_FUZZ_CHECK(res->perr != AA_PERR_NONE, "failure without a profile error at %s", res->where);
    AA_FUZZ_CHECK(res->status == aa_perr_status(res->perr) ||
                      (res->step == 1 && (res->status == 413 || res->status == 431)),
                  "%s: status %d but %s is %d", res->where, res->status, aa_perr_name(res->perr),
                  aa_perr_status(res->perr));
    AA_FUZZ_CHECK(res->diag.ref != NULL && res->diag.ref[0] != '\0' && res->diag.msg[0] != '\0',
                  "%s: finding %d without citation or message", res->where, rc);
    AA_FUZZ_CHECK(res->no_signature == (res->code == AA_E_AAUTH_NO_SIGNATURE),
                  "no_signature flag %d with code %d", res->no_signature, res->code);
    char line[1024];
    aa_aauth_result_format(res, line, sizeof(line));
    AA_FUZZ_CHECK(line[0] != '\0', "empty formatted result");
}

static bool base_has_line(const char *base, size_t n, const char *prefix, const char *value)
{
    size_t pl = strlen(prefix), vl = value ? strlen(value) : 0;

    for (size_t i = 0; i < n;) {
        const char *nl = memchr(base + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - base) - i : n - i;
        if (len >= pl && memcmp(base + i, prefix, pl) == 0 &&
            (value == NULL || (len == pl + vl && memcmp(base + i + pl, value, vl) == 0)))
            return true;
        i += len + 1;
    }
    return false;
}

static void check_success(const struct aa_identity *id, const char *authority, size_t body_len)
{
    char tp[AA_JWK_THUMBPRINT_LEN + 1];

    AA_FUZZ_CHECK(id->level != AA_AUTH_NONE && id->scheme != AA_SIGKEY_NONE,
                  "accepted without a level or scheme");
    AA_FUZZ_CHECK(id->label != NULL && id->label[0] != '\0', "accepted without a label");
    AA_FUZZ_CHECK(aa_jwk_thumbprint(&id->key, tp) == AA_OK && strcmp(tp, id->thumbprint) == 0,
                  "reported thumbprint is not the key's");
    AA_FUZZ_CHECK(id->created >= AA_FUZZ_NOW - 60 && id->created <= AA_FUZZ_NOW + 60,
                  "created %lld outside the window", (long long)id->created);
    AA_FUZZ_CHECK(id->base != NULL && id->base_len > 0, "no base recorded");
    AA_FUZZ_CHECK(base_has_line(id->base, id->base_len, "\"@authority\": ", authority),
                  "verified base has no @authority line with the configured authority %s",
                  authority);
    AA_FUZZ_CHECK(base_has_line(id->base, id->base_len, "\"signature-key\": ", NULL),
                  "verified base does not cover signature-key");
    AA_FUZZ_CHECK(base_has_line(id->base, id->base_len, "\"@signature-params\": ", NULL),
                  "verified base has no @signature-params line");
    if (body_len > 0)
        AA_FUZZ_CHECK(base_has_line(id->base, id->base_len, "\"content-digest\": ", NULL),
                      "request with a body accepted without covered content-digest");
    if (id->scheme == AA_SIGKEY_JWT)
        AA_FUZZ_CHECK(id->token_kind != AA_TOKEN_NONE, "jwt scheme without a validated token");
}

static int verify(const struct aa_verify_policy *pol, const char *method, const char *target,
                  const struct aa_http_headers *h, const struct aa_str *body,
                  struct aa_identity *id, struct aa_aauth_result *res)
{
    struct aa_verify_request req = {method, target, h, body->p, body->len};

    aa_aauth_result_init(res);
    return aa_aauth_verify(pol, &req, id, res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aa_fuzz_req r;
    struct aa_http_headers h;
    struct aa_nonce_cache *cache;
    struct aa_clock clk = {aa_fuzz_frozen_now, NULL};
    struct aa_nonce_cache_opts copts = {.capacity = 16, .clock = clk};
    struct aa_verify_policy pol;
    struct aa_identity id, id2;
    struct aa_aauth_result res, res2;
    char *method, *target;
    const char *authority;
    int rc, rc2;

    init();
    aa_fuzz_req_parse(data, size, &r);
    /* A peer cannot deliver NUL inside the request line or a header
     * through an HTTP/1.1 server; the body may hold anything. */
    if (r.header_nul || !deliverable(&r))
        return 0;
    authority = aa_str_eq(r.authority, "127.0.0.1:8003") ? "127.0.0.1:8003" : "127.0.0.1:8002";
    method = aa_fuzz_cstr(r.method);
    target = aa_fuzz_cstr(r.target);
    aa_http_headers_init(&h);
    for (size_t i = 0; i < r.n; i++) {
        char *name = aa_fuzz_cstr(r.name[i]);
        AA_FUZZ_CHECK(aa_http_headers_addn(&h, name, r.value[i].p, r.value[i].len) == AA_OK,
                      "headers");
        free(name);
    }
    cache = aa_nonce_cache_new(&copts);
    AA_FUZZ_CHECK(cache != NULL, "nonce cache");
    memset(&pol, 0, sizeof(pol));
    pol.authority = authority;
    pol.receiver = AA_FUZZ_RESOURCE_ID;
    pol.clock = clk;
    pol.replay = cache;
    pol.resolver = &resolver;
    pol.trusted_issuers = trusted;
    pol.dev_mode = true;

    rc = verify(&pol, method, target, &h, &r.body, &id, &res);
    if (aa_fuzz_debug()) {
        char line[1024];
        aa_aauth_result_format(&res, line, sizeof(line));
        fprintf(stderr, "fuzz_verify: %s %s -> %s\n", method, target, line);
    }
    if (rc != AA_OK) {
        check_failure(rc, &res);
    } else {
        AA_FUZZ_CHECK(res.code == AA_OK && res.status == 0 && res.perr == AA_PERR_NONE,
                      "success with status %d", res.status);
        check_success(&id, authority, r.body.len);

        /* Invariant 3. */
        rc2 = verify(&pol, method, target, &h, &r.body, &id2, &res2);
        if (id.nonce != NULL) {
            AA_FUZZ_CHECK(rc2 != AA_OK && res2.perr == AA_PERR_REPLAY_DETECTED,
                          "replayed request with Nonce %s: rc %d perr %s", id.nonce, rc2,
                          aa_perr_name(res2.perr));
            check_failure(rc2, &res2);
        } else {
            AA_FUZZ_CHECK(rc2 == AA_OK && strcmp(id.thumbprint, id2.thumbprint) == 0,
                          "same request without Nonce verified once, then %d (%s)", rc2,
                          res2.diag.msg);
            aa_identity_cleanup(&id2);
        }

        /* Invariant 4: a fresh cache so only the binding decides. */
        struct aa_nonce_cache *c2 = aa_nonce_cache_new(&copts);
        char *other = malloc(strlen(target) + 3);
        AA_FUZZ_CHECK(c2 != NULL && other != NULL, "alloc");
        pol.replay = c2;
        memcpy(other, "/x", 2);
        memcpy(other + 2, target, strlen(target) + 1);
        rc2 = verify(&pol, method, other, &h, &r.body, &id2, &res2);
        AA_FUZZ_CHECK(rc2 != AA_OK, "accepted request still verifies with target %s", other);
        check_failure(rc2, &res2);
        rc2 = verify(&pol, strcmp(method, "PATCH") == 0 ? "PUT" : "PATCH", target, &h, &r.body,
                     &id2, &res2);
        AA_FUZZ_CHECK(rc2 != AA_OK, "accepted %s request still verifies as another method", method);
        check_failure(rc2, &res2);
        free(other);
        aa_nonce_cache_free(c2);
        aa_identity_cleanup(&id);
    }
    aa_nonce_cache_free(cache);
    aa_http_headers_cleanup(&h);
    free(method);
    free(target);
    return 0;
}
