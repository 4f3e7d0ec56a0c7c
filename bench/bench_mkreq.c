/*
 * bench_mkreq: not a benchmark itself but the request maker for the wrk
 * runs of bench/run.sh and scripts/load.sh. It plays the seed's delegate
 * (PROFILE#7.6): obtains an agent token from a running agent server
 * (POST /delegate/token, PROFILE#6.1), signs one GET of the given resource
 * URL with Signature-Key scheme=jwt (the TEST 2 request), optionally checks
 * it once against the resource (must be 200; the flipped-bit twin must be
 * 401), and writes a wrk Lua script that replays it.
 *
 *   bench_mkreq --agent URL --url URL --lua FILE [--mode valid|mixed]
 *               [--stop-after N] [--clock EPOCH] [--check]
 *   bench_mkreq --agent URL --url URL --send
 *   bench_mkreq --agent URL --url URL --headers FILE
 *
 *   valid   every request is the signed one (static wrk.headers, no Lua
 *           per request: the fastest wrk path, used for throughput);
 *   mixed   requests alternate between the signed one and its twin with
 *           one signature bit flipped (expected 401 invalid_signature);
 *           statuses are counted and printed by done() as
 *           "status <code> <count>" lines.
 *   --stop-after N  each wrk thread stops after N responses (memory runs);
 *           statuses are counted as in mixed mode.
 *
 * --headers FILE: write the signed request's AAuth header lines
 *   ("Name: value", CRLF-terminated) for raw-socket clients.
 * --send: send the signed request once and print "<status> <ms> <body>"
 *   on one line (fault runs of scripts/load.sh: the answer is judged by
 *   the caller); exit 0 whenever an answer arrived, 1 on a transport error
 *   (the client's timeout is 30 s, far above the 5 s fetch timeout of
 *   PROFILE#3, so a resource that hangs shows up as an error here).
 *
 * The request is signed at the given frozen time (--clock, matching a
 * server started with --frozen-clock) or at the wall clock, in which case
 * it stays valid for the created window (PROFILE#2.6: 60 s) and the caller
 * re-runs this tool before each wrk run. A GET carries no Nonce (D-10), so
 * the resource's replay cache never refuses a repeat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aauth/aa_aauth.h"
#include "http/aa_http.h"
#include "json/aa_json.h"

struct opts {
    const char *agent, *url, *lua, *mode, *headers;
    long stop_after;
    bool frozen, check, send;
    int64_t clock;
};

static int64_t fixed_now(void *ctx)
{
    return *(const int64_t *)ctx;
}

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "bench_mkreq: %s: %s\n", what, why ? why : "failed");
    return 1;
}

static int get_token(struct aa_http_client *http, const char *agent, const struct aa_jwk *key,
                     char **out)
{
    struct aa_http_request hr;
    struct aa_http_response r;
    struct aa_http_headers h;
    struct aa_buf body, url;
    struct aa_diag d;
    cJSON *j = NULL;
    const char *tok;
    int rc = 1;

    *out = NULL;
    aa_buf_init(&body, 0);
    aa_buf_init(&url, 0);
    aa_http_headers_init(&h);
    aa_http_response_init(&r);
    aa_diag_clear(&d);
    aa_buf_adds(&body, "{\"sub\":\"delegate-1\",\"cnf_jwk\":");
    if (aa_jwk_to_json(key, false, &body) != AA_OK)
        goto out;
    aa_buf_adds(&body, "}");
    aa_buf_printf(&url, "%s/delegate/token", agent);
    if (body.err != AA_OK || url.err != AA_OK ||
        aa_http_headers_add(&h, "Content-Type", "application/json") != AA_OK)
        goto out;
    memset(&hr, 0, sizeof(hr));
    hr.method = "POST";
    hr.url = url.p;
    hr.headers = &h;
    hr.body = body.p;
    hr.body_len = body.len;
    if (aa_http_send(http, &hr, &r, &d) != AA_OK) {
        fail("POST /delegate/token", d.msg);
        goto out;
    }
    if (r.status != 200 || aa_json_parse(r.body, r.body_len, NULL, &j, NULL) != AA_OK ||
        (tok = aa_json_str(j, "agent_token")) == NULL || (*out = aa_strdup(tok)) == NULL) {
        fail("POST /delegate/token", r.body);
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(j);
    aa_http_response_cleanup(&r);
    aa_http_headers_cleanup(&h);
    aa_buf_free(&body);
    aa_buf_free(&url);
    return rc;
}

static int sign(const struct opts *o, const struct aa_jwk *key, const char *token,
                unsigned variants, struct aa_signed *out)
{
    struct aa_clock ck = {fixed_now, (void *)&o->clock};
    struct aa_sign_request sr = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts so = {0};
    struct aa_diag d;

    sr.method = "GET";
    sr.url = o->url;
    cred.scheme = AA_SIGKEY_JWT;
    cred.token = token;
    so.clock = o->frozen ? &ck : NULL;
    so.variants = variants;
    aa_diag_clear(&d);
    if (aa_aauth_sign(NULL, &sr, key, &cred, &so, out, &d) != AA_OK)
        return fail("sign", d.msg);
    return 0;
}

/* Send |sg| once; 0 when the status is |want|. */
static int probe(struct aa_http_client *http, const char *url, const struct aa_signed *sg,
                 long want)
{
    struct aa_http_response r;
    struct aa_diag d;
    int rc;

    aa_http_response_init(&r);
    aa_diag_clear(&d);
    rc = aa_http_get(http, url, &sg->headers, &r, &d);
    if (rc != AA_OK)
        rc = fail("check request", d.msg);
    else if (r.status != want) {
        fprintf(stderr, "bench_mkreq: check: status %ld, expected %ld: %.300s\n", r.status, want,
                r.body);
        rc = 1;
    }
    aa_http_response_cleanup(&r);
    return rc;
}

static int write_headers(const char *path, const struct aa_signed *sg)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (f == NULL)
        return fail(path, "cannot open for writing");
    for (size_t i = 0; i < sg->headers.n; i++)
        if (fprintf(f, "%s: %s\r\n", sg->headers.v[i].name, sg->headers.v[i].value) < 0)
            rc = fail(path, "write failed");
    if (fclose(f) != 0)
        rc = 1;
    return rc;
}

/* --send: one exchange, reported on stdout whatever the status. */
static int send_once(struct aa_http_client *http, const char *url, const struct aa_signed *sg)
{
    struct aa_http_response r;
    struct aa_diag d;
    int rc;

    aa_http_response_init(&r);
    aa_diag_clear(&d);
    rc = aa_http_get(http, url, &sg->headers, &r, &d);
    if (rc != AA_OK) {
        printf("0 %lld %s\n", (long long)(r.timing.total_us / 1000), d.msg);
        rc = 1;
    } else {
        /* One line: the body is JSON from a reference server; newlines
         * are replaced so the caller can parse the line. */
        for (size_t i = 0; i < r.body_len; i++)
            if (r.body[i] == '\n' || r.body[i] == '\r')
                r.body[i] = ' ';
        printf("%ld %lld %s\n", r.status, (long long)(r.timing.total_us / 1000), r.body);
    }
    aa_http_response_cleanup(&r);
    return rc;
}

/* A Lua table constructor of |sg|'s header lines. Values are SF and JWT
 * text (no CR/LF/']'), so long brackets need no escaping; checked anyway. */
static int lua_headers(struct aa_buf *b, const struct aa_signed *sg)
{
    aa_buf_adds(b, "{");
    for (size_t i = 0; i < sg->headers.n; i++) {
        if (strstr(sg->headers.v[i].value, "]==]") != NULL ||
            strchr(sg->headers.v[i].name, '"') != NULL)
            return fail("lua", "header text cannot be quoted");
        aa_buf_printf(b, "%s[\"%s\"]=[==[%s]==]", i ? ", " : "", sg->headers.v[i].name,
                      sg->headers.v[i].value);
    }
    aa_buf_adds(b, "}");
    return 0;
}

static int write_lua(const struct opts *o, const struct aa_signed *good,
                     const struct aa_signed *bad)
{
    bool mixed = strcmp(o->mode, "mixed") == 0;
    struct aa_url u;
    struct aa_buf b, target;
    FILE *f;
    int rc = 1;

    aa_buf_init(&b, 0);
    aa_buf_init(&target, 0);
    if (aa_url_parse(o->url, strlen(o->url), 0, &u, NULL) != AA_OK ||
        aa_url_target(&u, &target) != AA_OK)
        goto out;
    aa_buf_adds(&b, "-- generated by bench_mkreq: the seed's TEST 2 request (PROFILE#7.6)\n");
    aa_buf_printf(&b, "wrk.method = \"GET\"\nwrk.path = [==[%s]==]\n", target.p);
    aa_buf_adds(&b, "local good = ");
    if (lua_headers(&b, good) != 0)
        goto out;
    aa_buf_adds(&b, "\nfor k, v in pairs(good) do wrk.headers[k] = v end\n");
    if (mixed) {
        aa_buf_adds(&b, "local bad = ");
        if (lua_headers(&b, bad) != 0)
            goto out;
        aa_buf_adds(&b, "\nlocal reqs, i = nil, 0\n"
                        "function request()\n"
                        "  if reqs == nil then\n"
                        "    reqs = { wrk.format(nil, nil, good), wrk.format(nil, nil, bad) }\n"
                        "  end\n"
                        "  i = i + 1\n"
                        "  return reqs[(i % 2) + 1]\n"
                        "end\n");
    }
    if (mixed || o->stop_after > 0) {
        aa_buf_printf(&b,
                      "local threads = {}\n"
                      "local stop_after = %ld\n"
                      "function setup(thread) table.insert(threads, thread) end\n"
                      "function init(args) counts = {}; seen = 0 end\n"
                      "function response(status, headers, body)\n"
                      "  counts[status] = (counts[status] or 0) + 1\n"
                      "  seen = seen + 1\n"
                      "  if stop_after > 0 and seen >= stop_after then wrk.thread:stop() end\n"
                      "end\n"
                      "function done(summary, latency, requests)\n"
                      "  local all = {}\n"
                      "  for _, t in ipairs(threads) do\n"
                      "    for k, v in pairs(t:get(\"counts\")) do all[k] = (all[k] or 0) + v "
                      "end\n"
                      "  end\n"
                      "  for k, v in pairs(all) do io.write(string.format(\"status %%d %%d\\n\", "
                      "k, v)) end\n"
                      "end\n",
                      o->stop_after);
    }
    if (b.err != AA_OK)
        goto out;
    if ((f = fopen(o->lua, "w")) == NULL) {
        fail(o->lua, "cannot open for writing");
        goto out;
    }
    if (fwrite(b.p, 1, b.len, f) != b.len)
        fail(o->lua, "write failed");
    else
        rc = 0;
    if (fclose(f) != 0)
        rc = 1;
out:
    aa_buf_free(&b);
    aa_buf_free(&target);
    return rc;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = "valid";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--check") == 0 || strcmp(a, "--send") == 0) {
            if (a[2] == 'c')
                o->check = true;
            else
                o->send = true;
            continue;
        }
        if (v == NULL)
            return fail(a, "needs a value");
        i++;
        if (strcmp(a, "--agent") == 0)
            o->agent = v;
        else if (strcmp(a, "--url") == 0)
            o->url = v;
        else if (strcmp(a, "--lua") == 0)
            o->lua = v;
        else if (strcmp(a, "--headers") == 0)
            o->headers = v;
        else if (strcmp(a, "--mode") == 0)
            o->mode = v;
        else if (strcmp(a, "--stop-after") == 0 || strcmp(a, "--clock") == 0) {
            int64_t n;
            if (aa_parse_i64(v, strlen(v), &n) != AA_OK || n < 0)
                return fail(a, "not a non-negative integer");
            if (a[2] == 's')
                o->stop_after = (long)n;
            else {
                o->frozen = true;
                o->clock = n;
            }
        } else
            return fail(a, "unknown option");
    }
    if (o->agent == NULL || o->url == NULL || (o->lua == NULL && o->headers == NULL && !o->send) ||
        (strcmp(o->mode, "valid") != 0 && strcmp(o->mode, "mixed") != 0)) {
        fprintf(stderr, "usage: bench_mkreq --agent URL --url URL --lua FILE "
                        "[--mode valid|mixed] [--stop-after N] [--clock EPOCH] [--check]\n"
                        "       bench_mkreq --agent URL --url URL --send [--clock EPOCH]\n"
                        "       bench_mkreq --agent URL --url URL --headers FILE\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct aa_http_client_opts copts = {0};
    struct aa_http_client *http = NULL;
    struct aa_jwk key = {0};
    struct aa_signed good, bad;
    char *token = NULL;
    int rc;

    memset(&good, 0, sizeof(good));
    memset(&bad, 0, sizeof(bad));
    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc;
    rc = 1;
    copts.timeout_ms = 30000;
    if ((http = aa_http_client_new(&copts)) == NULL ||
        aa_jwk_generate(AA_KTY_OKP, "delegate-key-1", &key) != AA_OK) {
        fail("setup", "out of memory");
        goto out;
    }
    if (get_token(http, o.agent, &key, &token) != 0 || sign(&o, &key, token, 0, &good) != 0 ||
        sign(&o, &key, token, AA_SIGN_V_SIG_FLIP_BIT, &bad) != 0)
        goto out;
    if (o.send) {
        rc = send_once(http, o.url, &good);
        goto out;
    }
    if (o.check && (probe(http, o.url, &good, 200) != 0 || probe(http, o.url, &bad, 401) != 0))
        goto out;
    rc = 0;
    if (o.headers != NULL)
        rc = write_headers(o.headers, &good);
    if (rc == 0 && o.lua != NULL)
        rc = write_lua(&o, &good, &bad);
out:
    aa_signed_cleanup(&good);
    aa_signed_cleanup(&bad);
    free(token);
    aa_jwk_cleanup(&key);
    aa_http_client_free(http);
    return rc;
}
