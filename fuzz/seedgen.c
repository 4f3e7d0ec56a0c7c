/*
 * seedgen: signed requests and tokens for the fuzz seed corpora.
 *
 *   fuzz_seedgen OUTDIR
 *
 * writes OUTDIR/<target>/<name> for fuzz_verify, fuzz_httpsig, fuzz_jwt
 * and fuzz_tokens. Everything is deterministic: Ed25519 keys from the
 * RFC 8032 TEST secrets (fuzz_keys.h), the frozen clock AA_FUZZ_NOW, fixed
 * nonces. A request seed uses the framing every request target reads
 * (fuzz_http.h):
 *
 *   METHOD SP target LF
 *   :authority: host[:port] LF      (pseudo-header, optional)
 *   Name: value LF ...              (header lines in order)
 *   LF
 *   body
 *
 * The requests are the valid baselines of PROFILE#2.11 (hwk, jwks Mode 1
 * and 2, agent+jwt, auth+jwt; with and without a body) plus a few of the
 * signer's diagnostic variants, so the fuzzer starts from inputs that reach
 * every step of the receiver procedure, including success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aauth/aa_aauth.h"
#include "fuzz_keys.h"
#include "jose/aa_jose.h"

static const char *outdir;
static struct aa_jwk k_test1, k_test2, k_test3;

static void die(const char *what, int rc, const struct aa_diag *d)
{
    fprintf(stderr, "seedgen: %s: %s%s%s\n", what, aa_strerror(rc), d ? ": " : "", d ? d->msg : "");
    exit(1);
}

static void mkdir_p(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "seedgen: mkdir %s: %s\n", dir, strerror(errno));
        exit(1);
    }
}

static void write_seed(const char *target, const char *name, const void *p, size_t n)
{
    char path[1024];
    FILE *f;

    if (aa_snprintf(path, sizeof(path), "%s/%s", outdir, target) != AA_OK)
        die("path", AA_E_LIMIT, NULL);
    mkdir_p(path);
    if (aa_snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name) != AA_OK)
        die("path", AA_E_LIMIT, NULL);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "seedgen: write %s failed\n", path);
        exit(1);
    }
    printf("%s\n", path);
}

static int64_t frozen(void *ctx)
{
    (void)ctx;
    return AA_FUZZ_NOW;
}

static char *token(const char *typ, const char *kid, const struct aa_jwk *key, cJSON *claims)
{
    cJSON *h = cJSON_CreateObject();
    char *out = NULL;
    int rc;

    cJSON_AddStringToObject(h, "typ", typ);
    cJSON_AddStringToObject(h, "kid", kid);
    rc = aa_jwt_sign(h, claims, AA_ALG_ED25519, key, NULL, &out);
    if (rc != AA_OK)
        die("aa_jwt_sign", rc, NULL);
    cJSON_Delete(h);
    cJSON_Delete(claims);
    return out;
}

static cJSON *cnf_of(const struct aa_jwk *k)
{
    cJSON *cnf = cJSON_CreateObject();
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(k, false));
    return cnf;
}

static char *agent_token(void)
{
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "iss", AA_FUZZ_AGENT_ID);
    cJSON_AddStringToObject(c, "sub", "delegate-1");
    cJSON_AddNumberToObject(c, "iat", (double)AA_FUZZ_NOW - 10);
    cJSON_AddNumberToObject(c, "exp", (double)AA_FUZZ_NOW + 3600);
    cJSON_AddItemToObject(c, "cnf", cnf_of(&k_test2));
    return token("agent+jwt", AA_FUZZ_AGENT_KID, &k_test1, c);
}

static char *auth_token(void)
{
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "iss", AA_FUZZ_AUTH_ID);
    cJSON_AddStringToObject(c, "aud", AA_FUZZ_RESOURCE_ID);
    cJSON_AddStringToObject(c, "agent", AA_FUZZ_AGENT_ID);
    cJSON_AddStringToObject(c, "agent_delegate", "delegate-1");
    cJSON_AddStringToObject(c, "sub", "user-1");
    cJSON_AddStringToObject(c, "scope", "data.read data.write");
    cJSON_AddNumberToObject(c, "iat", (double)AA_FUZZ_NOW - 10);
    cJSON_AddNumberToObject(c, "exp", (double)AA_FUZZ_NOW + 3600);
    cJSON_AddItemToObject(c, "cnf", cnf_of(&k_test2));
    return token("auth+jwt", AA_FUZZ_AUTH_KID, &k_test3, c);
}

static char *resource_token(void)
{
    cJSON *c = cJSON_CreateObject();
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    if (aa_jwk_thumbprint(&k_test2, jkt) != AA_OK)
        die("thumbprint", AA_E_INTERNAL, NULL);
    cJSON_AddStringToObject(c, "iss", AA_FUZZ_RESOURCE_ID);
    cJSON_AddStringToObject(c, "aud", AA_FUZZ_AUTH_ID);
    cJSON_AddStringToObject(c, "agent", AA_FUZZ_AGENT_ID);
    cJSON_AddStringToObject(c, "agent_jkt", jkt);
    cJSON_AddStringToObject(c, "scope", "data.read");
    cJSON_AddNumberToObject(c, "iat", (double)AA_FUZZ_NOW - 10);
    cJSON_AddNumberToObject(c, "exp", (double)AA_FUZZ_NOW + 300);
    return token("resource+jwt", AA_FUZZ_RESOURCE_KID, &k_test1, c);
}

struct req_spec {
    const char *name;
    const char *method;
    const char *target;
    const char *authority;
    const char *content_type; /* NULL: no body */
    const char *body;
    struct aa_sign_cred cred;
    const struct aa_jwk *key;
    struct aa_sign_opts opts;
};

static void emit_request(const struct req_spec *r)
{
    struct aa_http_headers hdrs;
    struct aa_sign_request req;
    struct aa_signed out;
    struct aa_clock clk = {frozen, NULL};
    struct aa_sign_opts opts = r->opts;
    struct aa_buf seed;
    struct aa_diag d;
    int rc;

    aa_http_headers_init(&hdrs);
    if (r->content_type && aa_http_headers_add(&hdrs, "Content-Type", r->content_type) != AA_OK)
        die("headers", AA_E_NOMEM, NULL);
    memset(&req, 0, sizeof(req));
    req.method = r->method;
    req.authority = r->authority;
    req.target = r->target;
    req.headers = &hdrs;
    req.body = r->body;
    req.body_len = r->body ? strlen(r->body) : 0;
    opts.clock = &clk;
    aa_diag_clear(&d);
    rc = aa_aauth_sign(NULL, &req, r->key, &r->cred, &opts, &out, &d);
    if (rc != AA_OK)
        die(r->name, rc, &d);

    aa_buf_init(&seed, AA_BUF_DEFAULT_MAX);
    aa_buf_printf(&seed, "%s %s\n:authority: %s\n", r->method, r->target, r->authority);
    for (size_t i = 0; i < hdrs.n; i++)
        aa_buf_printf(&seed, "%s: %s\n", hdrs.v[i].name, hdrs.v[i].value);
    for (size_t i = 0; i < out.headers.n; i++)
        aa_buf_printf(&seed, "%s: %s\n", out.headers.v[i].name, out.headers.v[i].value);
    aa_buf_addc(&seed, '\n');
    if (r->body)
        aa_buf_adds(&seed, r->body);
    if (seed.err)
        die("seed buffer", seed.err, NULL);
    write_seed("fuzz_verify", r->name, seed.p, seed.len);
    write_seed("fuzz_httpsig", r->name, seed.p, seed.len);
    aa_buf_free(&seed);
    aa_signed_cleanup(&out);
    aa_http_headers_cleanup(&hdrs);
}

int main(int argc, char **argv)
{
    char *at, *aut, *rt;
    static const char nonce[] = "YWF1dGgtbm9uY2UtMDAwMQ";

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    mkdir_p(outdir);
    aa_fuzz_ed25519(aa_fuzz_test1_seed, AA_FUZZ_AGENT_KID, &k_test1);
    aa_fuzz_ed25519(aa_fuzz_test2_seed, "delegate-key-1", &k_test2);
    aa_fuzz_ed25519(aa_fuzz_test3_seed, AA_FUZZ_AUTH_KID, &k_test3);

    at = agent_token();
    aut = auth_token();
    rt = resource_token();
    write_seed("fuzz_jwt", "agent-token", at, strlen(at));
    write_seed("fuzz_jwt", "auth-token", aut, strlen(aut));
    write_seed("fuzz_jwt", "resource-token", rt, strlen(rt));
    write_seed("fuzz_tokens", "agent-token", at, strlen(at));
    write_seed("fuzz_tokens", "auth-token", aut, strlen(aut));
    write_seed("fuzz_tokens", "resource-token", rt, strlen(rt));

    const char *rsa = "127.0.0.1:8002";
    struct req_spec specs[] = {
        {.name = "hwk-get",
         .method = "GET",
         .target = "/data-hwk?page=2&q=caf%C3%A9",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1},
        {.name = "hwk-post-json",
         .method = "POST",
         .target = "/data-hwk",
         .authority = rsa,
         .content_type = "application/json",
         .body = "{\"a\":1}",
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.nonce_mode = AA_SIGN_NONCE_GIVEN, .nonce = nonce}},
        {.name = "jwks-mode2-get",
         .method = "GET",
         .target = "/data-jwks",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_JWKS,
                  .id = AA_FUZZ_AGENT_ID,
                  .kid = AA_FUZZ_AGENT_KID,
                  .well_known = "aauth-agent"},
         .key = &k_test1},
        {.name = "jwks-mode1-get",
         .method = "GET",
         .target = "/data-jwks",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_JWKS,
                  .jwks_url = AA_FUZZ_AGENT_ID "/jwks.json",
                  .kid = AA_FUZZ_AGENT_KID},
         .key = &k_test1},
        {.name = "jwt-agent-get",
         .method = "GET",
         .target = "/data-jwt",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_JWT, .token = at},
         .key = &k_test2},
        {.name = "jwt-auth-post-form",
         .method = "POST",
         .target = "/data-auth?x=1",
         .authority = rsa,
         .content_type = "application/x-www-form-urlencoded",
         .body = "a=1&b=two+words&c=%7E",
         .cred = {.scheme = AA_SIGKEY_JWT, .token = aut},
         .key = &k_test2,
         .opts = {.nonce_mode = AA_SIGN_NONCE_GIVEN, .nonce = nonce}},
        {.name = "hwk-expires",
         .method = "GET",
         .target = "/data-hwk",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.has_expires = true, .expires_offset = 30, .alg = "ed25519"}},
        {.name = "hwk-legacy-base",
         .method = "GET",
         .target = "/data-hwk",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.variants = AA_SIGN_V_LEGACY_BASE}},
        {.name = "hwk-sig-b64url",
         .method = "GET",
         .target = "/data-hwk",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.variants = AA_SIGN_V_SIG_B64URL}},
        {.name = "hwk-two-members",
         .method = "GET",
         .target = "/data-hwk",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.variants = AA_SIGN_V_TWO_MEMBERS_INPUT}},
        {.name = "hwk-created-decimal",
         .method = "GET",
         .target = "/data-hwk",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.variants = AA_SIGN_V_CREATED_DECIMAL}},
        {.name = "hwk-bad-digest",
         .method = "PUT",
         .target = "/data-hwk",
         .authority = rsa,
         .content_type = "text/plain",
         .body = "hello",
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.variants = AA_SIGN_V_BAD_DIGEST,
                  .nonce_mode = AA_SIGN_NONCE_GIVEN,
                  .nonce = nonce}},
        {.name = "x509-get",
         .method = "GET",
         .target = "/data-x509",
         .authority = rsa,
         .cred = {.scheme = AA_SIGKEY_X509,
                  .x5u = "https://example.com/chain.pem",
                  .x5t = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
         .key = &k_test1},
        {.name = "hwk-as-8003",
         .method = "POST",
         .target = "/agent/token",
         .authority = "127.0.0.1:8003",
         .content_type = "application/x-www-form-urlencoded",
         .body = "request_type=auth&scope=data.read",
         .cred = {.scheme = AA_SIGKEY_HWK},
         .key = &k_test1,
         .opts = {.nonce_mode = AA_SIGN_NONCE_GIVEN, .nonce = nonce}},
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        emit_request(&specs[i]);

    free(at);
    free(aut);
    free(rt);
    aa_jwk_cleanup(&k_test1);
    aa_jwk_cleanup(&k_test2);
    aa_jwk_cleanup(&k_test3);
    return 0;
}
