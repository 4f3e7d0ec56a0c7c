/*
 * fuzz_server_bodies: the JSON and form bodies of every reference-server
 * endpoint that takes one (reference/lib, aa_ref.h; PROFILE#6), driven
 * in-process over loopback HTTP.
 * fuzz-libs: aauth_reference aa_aauth aa_http aa_jose aa_jwk aa_json aa_core
 *
 * LLVMFuzzerInitialize starts an agent server, an auth server and a
 * resource server on 127.0.0.1 port 0, in dev mode, sharing one frozen
 * clock (AA_FUZZ_NOW, advanced one second every 100 inputs so replay-cache
 * entries expire and the cache never fills). Each input is
 *
 *   byte 0    endpoint selector: ('a' + i) picks endpoints[i] below
 *   rest      the request body, sent with the endpoint's Content-Type
 *
 * and the request is signed by this target when the endpoint needs it
 * (hwk with the RFC 8032 TEST 1 key, or jwks Mode 2 as the agent server
 * itself, whose private key aa_ref_key() returns), with a fresh Nonce, so
 * the body - not the signature - decides what the handler does. Coverage
 * of the handlers (which run in the servers' threads) counts, and ASan
 * aborts the whole process on a memory error there.
 *
 * Checks:
 *   1. The server answers (no hang, no dropped connection) with a status
 *      below 500: a body a peer chose never produces a server error.
 *   2. Every 4xx answer of an API endpoint is application/json (the
 *      consent UI may answer HTML); every JSON answer parses as an object,
 *      and a JSON error carries an "error" that is a PROFILE#6.8 name whose
 *      status is the one sent.
 *   3. 2xx answers to token endpoints carry the token member the profile
 *      names (agent_token, resource_token, auth_token or request_token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aa_ref.h"
#include "aauth/aa_aauth.h"
#include "b64/aa_b64.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "http/aa_http.h"
#include "httpsig/aa_httpsig.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"

AA_FUZZ_LINK_STRERROR(aa_aauth_strerror, aa_http_strerror, aa_jose_strerror, aa_jwk_strerror,
                      aa_json_strerror, aa_b64_strerror, aa_httpsig_strerror);

enum cred { CRED_NONE, CRED_HWK, CRED_JWKS_AGENT };
enum ctype { CT_JSON, CT_FORM };

struct endpoint {
    enum aa_ref_role role;
    const char *path;
    enum ctype ct;
    enum cred cred;
    bool json_errors; /* errors must be PROFILE#6.8 JSON (false: may be HTML) */
};

/* Selector 'a' + index. Keep in step with fuzz/seeds.py (from_bodies). */
static const struct endpoint endpoints[] = {
    {AA_REF_AGENT, "/delegate/token", CT_JSON, CRED_NONE, true},          /* a */
    {AA_REF_AGENT, "/delegate/token", CT_JSON, CRED_HWK, true},           /* b */
    {AA_REF_AUTH, "/agent/token", CT_FORM, CRED_JWKS_AGENT, true},        /* c */
    {AA_REF_AUTH, "/agent/token", CT_FORM, CRED_HWK, true},               /* d */
    {AA_REF_AUTH, "/agent/auth", CT_FORM, CRED_NONE, false},              /* e: consent UI */
    {AA_REF_RESOURCE, "/resource/token", CT_FORM, CRED_JWKS_AGENT, true}, /* f */
    {AA_REF_RESOURCE, "/data-hwk", CT_JSON, CRED_HWK, true},              /* g */
    {AA_REF_RESOURCE, "/data-jwks", CT_JSON, CRED_JWKS_AGENT, true},      /* h */
    {AA_REF_RESOURCE, "/data-auth", CT_FORM, CRED_JWKS_AGENT, true},      /* i */
};
#define N_ENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

static struct aa_ref_clock clk;
static struct aa_ref_server *agent, *auth, *resource;
static struct aa_http_client *client;
static struct aa_jwk k_test1;
static uint64_t counter, inputs;

static int64_t clock_now(void *ctx)
{
    return aa_ref_clock_now(ctx);
}

static void common(struct aa_ref_common *c)
{
    c->clock = &clk;
    c->verbosity = 0;
    c->threads = 1;
}

static void start_servers(void)
{
    struct aa_ref_agent_config ac;
    struct aa_ref_auth_config sc;
    struct aa_ref_resource_config rc;
    struct aa_diag d;

    clk.frozen = true;
    clk.value = AA_FUZZ_NOW;
    aa_fuzz_ed25519(aa_fuzz_test1_seed, "test1", &k_test1);

    aa_ref_agent_defaults(&ac);
    common(&ac.c);
    aa_diag_clear(&d);
    AA_FUZZ_CHECK(aa_ref_agent_start(&ac, &agent, &d) == AA_OK, "agent server: %s", d.msg);

    aa_ref_auth_defaults(&sc);
    common(&sc.c);
    aa_diag_clear(&d);
    AA_FUZZ_CHECK(aa_ref_auth_start(&sc, &auth, &d) == AA_OK, "auth server: %s", d.msg);

    aa_ref_resource_defaults(&rc);
    common(&rc.c);
    rc.auth_server = aa_ref_id(auth);
    aa_diag_clear(&d);
    AA_FUZZ_CHECK(aa_ref_resource_start(&rc, &resource, &d) == AA_OK, "resource: %s", d.msg);

    struct aa_http_client_opts co = {.loopback_only = true, .timeout_ms = 5000};
    client = aa_http_client_new(&co);
    AA_FUZZ_CHECK(client != NULL, "http client");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    start_servers();
    return 0;
}

static struct aa_ref_server *server_of(enum aa_ref_role role)
{
    return role == AA_REF_AGENT ? agent : role == AA_REF_AUTH ? auth : resource;
}

/* 16 bytes (fixed prefix + counter) as base64url: a fresh Nonce per input. */
static void next_nonce(char out[AA_NONCE_GEN_LEN + 1])
{
    uint8_t raw[AA_NONCE_GEN_BYTES] = {'f', 'u', 'z', 'z', 'n', 'o', 'n', 'c'};
    uint64_t c = ++counter;

    for (int i = 0; i < 8; i++)
        raw[8 + i] = (uint8_t)(c >> (8 * i));
    AA_FUZZ_CHECK(aa_b64_encode(raw, sizeof(raw), AA_B64_URL, false, out, AA_NONCE_GEN_LEN + 1,
                                NULL) == AA_OK,
                  "nonce");
}

static void check_answer(const struct endpoint *ep, const struct aa_http_response *r)
{
    const char *ct = aa_http_headers_get(&r->headers, "Content-Type");
    bool json_ct = ct != NULL && strncmp(ct, "application/json", 16) == 0;
    cJSON *body = NULL;
    struct aa_diag d;

    AA_FUZZ_CHECK(r->status >= 200 && r->status < 500, "%s answered %ld: %.300s", ep->path,
                  r->status, r->body);
    if (ep->json_errors && r->status >= 400)
        AA_FUZZ_CHECK(json_ct, "%s %ld error with Content-Type %s", ep->path, r->status,
                      ct ? ct : "(none)");
    if (!json_ct)
        return;
    aa_diag_clear(&d);
    AA_FUZZ_CHECK(aa_json_parse(r->body, r->body_len, NULL, &body, &d) == AA_OK,
                  "%s %ld: JSON answer does not parse: %s: %.300s", ep->path, r->status, d.msg,
                  r->body);
    if (r->status >= 400) {
        const char *err = aa_json_str(body, "error");
        enum aa_perr pe = err ? aa_perr_from_name(err) : AA_PERR_NONE;
        AA_FUZZ_CHECK(pe != AA_PERR_NONE, "%s %ld: error \"%s\" is not a PROFILE#6.8 name",
                      ep->path, r->status, err ? err : "(missing)");
        AA_FUZZ_CHECK(aa_perr_status(pe) == r->status, "%s: error %s sent with status %ld",
                      ep->path, err, r->status);
    } else if (strcmp(ep->path, "/delegate/token") == 0) {
        AA_FUZZ_CHECK(aa_json_str(body, "agent_token") != NULL, "delegate answer without token");
    } else if (strcmp(ep->path, "/resource/token") == 0) {
        AA_FUZZ_CHECK(aa_json_str(body, "resource_token") != NULL,
                      "resource token answer without resource_token");
    } else if (strcmp(ep->path, "/agent/token") == 0) {
        AA_FUZZ_CHECK(aa_json_str(body, "auth_token") != NULL ||
                          aa_json_str(body, "request_token") != NULL,
                      "agent/token answer without auth_token or request_token: %.300s", r->body);
    }
    cJSON_Delete(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct endpoint *ep;
    struct aa_ref_server *srv;
    struct aa_http_headers h;
    struct aa_http_request req;
    struct aa_http_response resp;
    struct aa_signed sig;
    struct aa_buf url;
    struct aa_diag d;
    char nonce[AA_NONCE_GEN_LEN + 1];
    const uint8_t *body;
    size_t body_len;
    int rc;

    if (agent == NULL)
        start_servers();
    if (size == 0)
        return 0;
    ep = &endpoints[(uint8_t)(data[0] - 'a') % N_ENDPOINTS];
    body = data + 1;
    body_len = size - 1;
    srv = server_of(ep->role);
    if (++inputs % 100 == 0)
        aa_ref_clock_advance(&clk, 1);

    aa_buf_init(&url, 4096);
    aa_buf_printf(&url, "%s%s", aa_ref_url(srv), ep->path);
    AA_FUZZ_CHECK(url.err == 0, "url");
    aa_http_headers_init(&h);
    AA_FUZZ_CHECK(aa_http_headers_add(&h, "Content-Type",
                                      ep->ct == CT_JSON
                                          ? "application/json"
                                          : "application/x-www-form-urlencoded") == AA_OK,
                  "headers");
    memset(&sig, 0, sizeof(sig));
    if (ep->cred != CRED_NONE) {
        struct aa_clock c = {clock_now, &clk};
        struct aa_sign_request sr = {
            .method = "POST", .url = url.p, .headers = &h, .body = body, .body_len = body_len};
        struct aa_sign_cred cred;
        struct aa_sign_opts o;
        const struct aa_jwk *key = &k_test1;

        memset(&cred, 0, sizeof(cred));
        memset(&o, 0, sizeof(o));
        next_nonce(nonce);
        o.clock = &c;
        o.nonce_mode = AA_SIGN_NONCE_GIVEN;
        o.nonce = nonce;
        if (ep->cred == CRED_HWK) {
            cred.scheme = AA_SIGKEY_HWK;
        } else {
            key = aa_ref_key(agent);
            cred.scheme = AA_SIGKEY_JWKS;
            cred.id = aa_ref_id(agent);
            cred.kid = key->kid;
            cred.well_known = "aauth-agent";
        }
        aa_diag_clear(&d);
        rc = aa_aauth_sign(NULL, &sr, key, &cred, &o, &sig, &d);
        AA_FUZZ_CHECK(rc == AA_OK, "signing the request failed: %s", d.msg);
        for (size_t i = 0; i < sig.headers.n; i++)
            AA_FUZZ_CHECK(aa_http_headers_addn(&h, sig.headers.v[i].name, sig.headers.v[i].value,
                                               sig.headers.v[i].value_len) == AA_OK,
                          "headers");
    }

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url.p;
    req.headers = &h;
    req.body = body_len ? body : NULL;
    req.body_len = body_len;
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    rc = aa_http_send(client, &req, &resp, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "%s: no answer: %s", ep->path, d.msg);
    if (aa_fuzz_debug())
        fprintf(stderr, "fuzz_server_bodies: %s -> %ld %.200s\n", ep->path, resp.status, resp.body);
    check_answer(ep, &resp);

    aa_http_response_cleanup(&resp);
    if (ep->cred != CRED_NONE)
        aa_signed_cleanup(&sig);
    aa_http_headers_cleanup(&h);
    aa_buf_free(&url);
    return 0;
}
