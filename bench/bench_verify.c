/*
 * bench_verify: the cost of the AAuth receiver procedure (PROFILE#2.11) on
 * the seed's TEST 2 request (PROFILE#7.6: GET /data-jwks signed by a
 * delegate, Signature-Key scheme=jwt with an agent+jwt), against its floor:
 * the two raw Ed25519 verifications any implementation must do for it (the
 * agent token's JWS, RFC 8037, and the HTTP message signature, RFC 9421),
 * measured in the same run with OpenSSL's one-shot EVP_DigestVerify over
 * the very same messages and keys.
 *
 * Setup, all in-process on loopback: a reference agent server on a frozen
 * clock issues the agent token (PROFILE#6.1); the request is signed once at
 * that frozen time, so `created` stays inside the window for the whole run;
 * it is a GET without Nonce, which PROFILE#2.9 allows, so the replay cache
 * never refuses a repeat. Two resolvers are measured: the discovery cache
 * the reference resource uses (warmed by one verification, then no network
 * traffic: the fetch counter is checked before and after) and a static
 * in-memory resolver (no discovery at all).
 *
 * Output: one JSON object on stdout (bench/run.sh collects it), a short
 * human summary on stderr. Every timed verification is checked to succeed;
 * a failure ends the run with status 1 rather than timing an error path.
 *
 * Design choice: the workloads run in short interleaved batches (a few
 * milliseconds each, round after round), and the overhead ratio is the
 * median over rounds of (verify batch / raw batch) from the same round.
 * Interference from other processes on a shared machine then hits both
 * sides of each ratio alike; the median discards the rounds where it did
 * not. Per-workload medians and minima are reported next to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "aa_ref.h"
#include "aauth/aa_aauth.h"
#include "b64/aa_b64.h"
#include "http/aa_discovery.h"
#include "http/aa_http.h"
#include "json/aa_json.h"

#define T0 1768786221 /* the seed's created time (PROFILE#2.12) */
#define RES_AUTHORITY "127.0.0.1:8002"
#define RES_ID "http://127.0.0.1:8002"
#define RES_URL "http://127.0.0.1:8002/data-jwks"
#define MAX_ROUNDS 1001

static int64_t frozen_now(void *ctx)
{
    return aa_ref_clock_now(ctx);
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_verify: %s: %s\n", what, why ? why : "failed");
    exit(1);
}

/* ---- the raw baseline ------------------------------------------------------- */

struct raw_msg {
    EVP_PKEY *pkey; /* borrowed from an aa_jwk */
    const unsigned char *msg;
    size_t len;
    unsigned char sig[64];
};

/* One RFC 8032 verification the way a minimal implementation does it:
 * fresh context, init with the (already parsed) key, one-shot verify. */
static int raw_verify(const struct raw_msg *m)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (ctx == NULL)
        return 0;
    ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, m->pkey) == 1 &&
         EVP_DigestVerify(ctx, m->sig, sizeof(m->sig), m->msg, m->len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* ---- the workloads ----------------------------------------------------------- */

struct env {
    struct aa_ref_clock clk;
    struct aa_ref_server *agent;
    struct aa_jwk delegate;
    char *token;
    struct aa_signed sg;
    struct aa_http_headers hdrs; /* the request as a server receives it */
    struct aa_verify_request req;
    struct aa_verify_policy pol_disc, pol_static;
    struct aa_disc *disc;
    struct aa_key_resolver kr_disc, kr_static;
    struct aa_static_keys *sk;
    struct aa_nonce_cache *nonces;
    struct raw_msg raw[2]; /* [0] JWS signing input, [1] signature base */
    struct aa_jwk agent_pub;
};

static void get_agent_token(struct env *e)
{
    struct aa_http_client *http = aa_http_client_new(NULL);
    struct aa_http_request hr;
    struct aa_http_response r;
    struct aa_http_headers h;
    struct aa_buf body, url;
    struct aa_diag d;
    cJSON *j = NULL;
    const char *tok;

    if (http == NULL)
        die("http client", NULL);
    aa_buf_init(&body, 0);
    aa_buf_init(&url, 0);
    aa_buf_adds(&body, "{\"sub\":\"delegate-1\",\"cnf_jwk\":");
    if (aa_jwk_to_json(&e->delegate, false, &body) != AA_OK)
        die("delegate key", NULL);
    aa_buf_adds(&body, "}");
    aa_buf_printf(&url, "%s%s", aa_ref_url(e->agent), AA_REF_PATH_DELEGATE_TOKEN);
    aa_http_headers_init(&h);
    if (body.err != AA_OK || url.err != AA_OK ||
        aa_http_headers_add(&h, "Content-Type", "application/json") != AA_OK)
        die("request", "out of memory");
    memset(&hr, 0, sizeof(hr));
    hr.method = "POST";
    hr.url = url.p;
    hr.headers = &h;
    hr.body = body.p;
    hr.body_len = body.len;
    aa_http_response_init(&r);
    aa_diag_clear(&d);
    if (aa_http_send(http, &hr, &r, &d) != AA_OK)
        die("POST /delegate/token", d.msg);
    if (r.status != 200 || aa_json_parse(r.body, r.body_len, NULL, &j, NULL) != AA_OK ||
        (tok = aa_json_str(j, "agent_token")) == NULL || (e->token = aa_strdup(tok)) == NULL)
        die("POST /delegate/token", r.body);
    cJSON_Delete(j);
    aa_http_response_cleanup(&r);
    aa_http_headers_cleanup(&h);
    aa_buf_free(&body);
    aa_buf_free(&url);
    aa_http_client_free(http);
}

static void sign_request(struct env *e)
{
    struct aa_clock ck = {frozen_now, &e->clk};
    struct aa_sign_request sr = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts so = {0};
    struct aa_diag d;

    sr.method = "GET";
    sr.url = RES_URL;
    cred.scheme = AA_SIGKEY_JWT;
    cred.token = e->token;
    so.clock = &ck;
    aa_diag_clear(&d);
    if (aa_aauth_sign(NULL, &sr, &e->delegate, &cred, &so, &e->sg, &d) != AA_OK)
        die("sign", d.msg);
    /* What MHD hands the resource for this request from libcurl. */
    aa_http_headers_init(&e->hdrs);
    if (aa_http_headers_add(&e->hdrs, "Host", RES_AUTHORITY) != AA_OK ||
        aa_http_headers_add(&e->hdrs, "User-Agent", "aauth-harness/bench") != AA_OK ||
        aa_http_headers_add(&e->hdrs, "Accept", "*/*") != AA_OK)
        die("headers", "out of memory");
    for (size_t i = 0; i < e->sg.headers.n; i++)
        if (aa_http_headers_add(&e->hdrs, e->sg.headers.v[i].name, e->sg.headers.v[i].value) !=
            AA_OK)
            die("headers", "out of memory");
    e->req.method = "GET";
    e->req.target = "/data-jwks";
    e->req.headers = &e->hdrs;
    e->req.body = NULL;
    e->req.body_len = 0;
}

/* The baseline's inputs: the exact messages and signatures the verifier
 * checks, so both sides hash the same number of bytes. */
static void raw_setup(struct env *e)
{
    const char *dot = strrchr(e->token, '.');
    size_t n = 0;

    if (dot == NULL || aa_jwk_public(&e->agent_pub, aa_ref_key(e->agent)) != AA_OK)
        die("token", "no signature part");
    e->raw[0].pkey = e->agent_pub.pkey;
    e->raw[0].msg = (const unsigned char *)e->token;
    e->raw[0].len = (size_t)(dot - e->token);
    if (aa_b64_decode(dot + 1, strlen(dot + 1), AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, e->raw[0].sig,
                      sizeof(e->raw[0].sig), &n, NULL) != AA_OK ||
        n != 64)
        die("token", "signature is not 64 bytes of base64url");
    e->raw[1].pkey = e->delegate.pkey;
    e->raw[1].msg = (const unsigned char *)e->sg.base;
    e->raw[1].len = e->sg.base_len;
    {
        /* The Signature value is "sig1=:<base64>:" (PROFILE#2.7). */
        const char *v = strchr(e->sg.signature, ':');
        const char *end = v ? strchr(v + 1, ':') : NULL;
        if (end == NULL ||
            aa_b64_decode(v + 1, (size_t)(end - v - 1), AA_B64_STD, AA_B64_PAD_REQUIRED, 0,
                          e->raw[1].sig, sizeof(e->raw[1].sig), &n, NULL) != AA_OK ||
            n != 64)
            die("Signature", "not a 64-byte byte sequence");
    }
    if (!raw_verify(&e->raw[0]) || !raw_verify(&e->raw[1]))
        die("raw baseline", "OpenSSL rejected the message's own signature");
}

static void policy(struct env *e, struct aa_verify_policy *p, const struct aa_key_resolver *kr)
{
    memset(p, 0, sizeof(*p));
    p->authority = RES_AUTHORITY;
    p->receiver = RES_ID;
    p->clock = (struct aa_clock){frozen_now, &e->clk};
    p->replay = e->nonces;
    p->resolver = kr;
    p->dev_mode = true;
}

static void verify_once(struct env *e, const struct aa_verify_policy *p)
{
    struct aa_identity id;
    struct aa_aauth_result res;

    if (aa_aauth_verify(p, &e->req, &id, &res) != AA_OK) {
        char msg[512];
        aa_aauth_result_format(&res, msg, sizeof(msg));
        die("aa_aauth_verify", msg);
    }
    if (id.token_kind != AA_TOKEN_AGENT || id.agent == NULL ||
        strcmp(id.agent, aa_ref_id(e->agent)) != 0)
        die("aa_aauth_verify", "not the agent token's identity");
    aa_identity_cleanup(&id);
}

static void env_start(struct env *e)
{
    struct aa_ref_agent_config ac;
    struct aa_disc_opts dopts = {0};
    struct aa_nonce_cache_opts nopts = {0};
    struct aa_diag d;

    memset(e, 0, sizeof(*e));
    e->clk.frozen = true;
    e->clk.value = T0;
    aa_ref_agent_defaults(&ac);
    ac.c.clock = &e->clk;
    aa_diag_clear(&d);
    if (aa_ref_agent_start(&ac, &e->agent, &d) != AA_OK)
        die("agent server", d.msg);
    if (aa_jwk_generate(AA_KTY_OKP, "delegate-key-1", &e->delegate) != AA_OK)
        die("delegate key", NULL);
    get_agent_token(e);
    sign_request(e);
    raw_setup(e);

    nopts.clock = (struct aa_clock){frozen_now, &e->clk};
    if ((e->nonces = aa_nonce_cache_new(&nopts)) == NULL)
        die("nonce cache", "out of memory");
    dopts.dev_mode = true;
    dopts.clock = frozen_now;
    dopts.clock_ctx = &e->clk;
    if ((e->disc = aa_disc_new(&dopts)) == NULL)
        die("discovery cache", "out of memory");
    aa_key_resolver_disc(&e->kr_disc, e->disc);
    if ((e->sk = aa_static_keys_new()) == NULL ||
        aa_static_keys_add(e->sk, aa_ref_id(e->agent), "aauth-agent", &e->agent_pub) != AA_OK)
        die("static keys", "out of memory");
    aa_key_resolver_static(&e->kr_static, e->sk);
    policy(e, &e->pol_disc, &e->kr_disc);
    policy(e, &e->pol_static, &e->kr_static);
}

static void env_stop(struct env *e)
{
    aa_static_keys_free(e->sk);
    aa_disc_free(e->disc);
    aa_nonce_cache_free(e->nonces);
    aa_http_headers_cleanup(&e->hdrs);
    aa_signed_cleanup(&e->sg);
    free(e->token);
    aa_jwk_cleanup(&e->agent_pub);
    aa_jwk_cleanup(&e->delegate);
    aa_ref_stop(e->agent);
}

enum workload { W_RAW2 = 0, W_RAW1, W_DISC, W_STATIC, W_N };
static const char *const w_name[W_N] = {"raw_ed25519_x2", "raw_ed25519_x1", "aauth_verify_disc",
                                        "aauth_verify_static"};

static void run_one(struct env *e, enum workload w)
{
    switch (w) {
    case W_RAW2:
        if (!raw_verify(&e->raw[0]) || !raw_verify(&e->raw[1]))
            die("raw baseline", "verification failed");
        break;
    case W_RAW1:
        if (!raw_verify(&e->raw[1]))
            die("raw baseline", "verification failed");
        break;
    case W_DISC:
        verify_once(e, &e->pol_disc);
        break;
    case W_STATIC:
        verify_once(e, &e->pol_static);
        break;
    default:
        break;
    }
}

/* ns per operation of |iters| back-to-back runs of |w|. */
static double time_round(struct env *e, enum workload w, long iters)
{
    double t0 = now_ns();
    for (long i = 0; i < iters; i++)
        run_one(e, w);
    return (now_ns() - t0) / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long arg_long(const char *s, long lo, long hi, const char *opt)
{
    int64_t v;

    if (aa_parse_i64(s, strlen(s), &v) != AA_OK || v < lo || v > hi)
        die(opt, "out of range");
    return (long)v;
}

int main(int argc, char **argv)
{
    struct env e;
    int rounds = 201;
    long round_ms = 5;
    long iters[W_N];
    static double samples[W_N][MAX_ROUNDS], ratio_disc[MAX_ROUNDS], ratio_static[MAX_ROUNDS];
    double med[W_N], min[W_N], r_disc, r_static;
    unsigned fetches_before, fetches_after;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (int)arg_long(argv[++i], 1, MAX_ROUNDS, "--rounds");
        else if (strcmp(argv[i], "--round-ms") == 0 && i + 1 < argc)
            round_ms = arg_long(argv[++i], 1, 10000, "--round-ms");
        else {
            fprintf(stderr, "usage: bench_verify [--rounds N] [--round-ms MS]\n");
            return 2;
        }
    }
    env_start(&e);
    /* Warm the discovery cache: the one verification that fetches. */
    verify_once(&e, &e.pol_disc);
    verify_once(&e, &e.pol_static);
    fetches_before = aa_disc_fetch_total(e.disc);

    /* Calibrate each workload to about |round_ms| per batch. */
    for (int w = 0; w < W_N; w++) {
        double ns = time_round(&e, (enum workload)w, 100);
        double n = (double)round_ms * 1e6 / (ns > 1 ? ns : 1);
        iters[w] = n < 10 ? 10 : (long)n;
    }
    for (int r = 0; r < rounds; r++) {
        for (int w = 0; w < W_N; w++)
            samples[w][r] = time_round(&e, (enum workload)w, iters[w]);
        ratio_disc[r] = samples[W_DISC][r] / samples[W_RAW2][r];
        ratio_static[r] = samples[W_STATIC][r] / samples[W_RAW2][r];
    }
    r_disc = median(ratio_disc, rounds);
    r_static = median(ratio_static, rounds);
    for (int w = 0; w < W_N; w++) {
        med[w] = median(samples[w], rounds); /* sorts: minimum is [0] */
        min[w] = samples[w][0];
    }
    fetches_after = aa_disc_fetch_total(e.disc);
    if (fetches_after != fetches_before)
        die("discovery cache", "fetched during the timed rounds");

    printf("{\"bench\":\"verify\",\"rounds\":%d,\"batch_ms\":%ld,"
           "\"jws_input_bytes\":%zu,\"signature_base_bytes\":%zu,"
           "\"disc_fetches_warmup\":%u,\"disc_fetches_timed\":%u,",
           rounds, round_ms, e.raw[0].len, e.raw[1].len, fetches_before,
           fetches_after - fetches_before);
    for (int w = 0; w < W_N; w++)
        printf("\"%s_ns\":%.1f,\"%s_min_ns\":%.1f,\"%s_batch\":%ld,", w_name[w], med[w], w_name[w],
               min[w], w_name[w], iters[w]);
    printf("\"ed25519_verifies_per_s_1core\":%.1f,"
           "\"overhead_ratio_disc\":%.4f,\"overhead_ratio_static\":%.4f,"
           "\"overhead_ratio_disc_of_minima\":%.4f,\"overhead_ratio_static_of_minima\":%.4f,"
           "\"goal_ratio_max\":1.25}\n",
           1e9 / med[W_RAW1], r_disc, r_static, min[W_DISC] / min[W_RAW2],
           min[W_STATIC] / min[W_RAW2]);
    fflush(stdout);
    fprintf(stderr,
            "bench_verify: raw 2x Ed25519 %.0f ns, aa_aauth_verify %.0f ns (discovery cache) "
            "%.0f ns (static keys); overhead ratio %.3f / %.3f (goal <= 1.25)\n",
            med[W_RAW2], med[W_DISC], med[W_STATIC], r_disc, r_static);
    env_stop(&e);
    return 0;
}
