/*
 * Integration: the aa_http client against an in-process aa_server, and the
 * discovery cache served by aa_server - the pairing the reference servers,
 * the delegate and the runner use.
 *
 * Named test_httpserver (no module "httpserver") so the build links the
 * umbrella `aauth` library: a test_http_* or test_server_* file links only
 * one module and could not use both. All traffic on 127.0.0.1, port 0; no
 * assertion depends on elapsed time.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/aa_discovery.h"
#include "http/aa_http.h"
#include "server/aa_server.h"

/* ---- a handler that echoes what it saw, plus a few special paths ---------- */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered;
    bool release;
};

static struct gate g_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};

static long endless(void *ctx, uint64_t pos, char *buf, size_t max)
{
    (void)ctx;
    (void)pos;
    memset(buf, 'e', max);
    return (long)max;
}

static void handler(void *ctx, const struct aa_server_request *req, struct aa_server_response *resp)
{
    struct aa_buf b;

    (void)ctx;
    if (aa_server_request_path_is(req, "/redirect")) {
        resp->status = 302;
        aa_server_response_header(resp, "Location", "/elsewhere");
        return;
    }
    if (aa_server_request_path_is(req, "/endless")) {
        resp->status = 200;
        aa_server_response_stream(resp, UINT64_MAX, endless, NULL, NULL);
        return;
    }
    if (aa_server_request_path_is(req, "/gate")) {
        pthread_mutex_lock(&g_gate.mu);
        g_gate.entered = true;
        pthread_cond_broadcast(&g_gate.cv);
        while (!g_gate.release)
            pthread_cond_wait(&g_gate.cv, &g_gate.mu);
        pthread_mutex_unlock(&g_gate.mu);
        aa_server_response_json(resp, 200, "{}");
        return;
    }
    aa_buf_init(&b, 0);
    aa_buf_printf(&b, "method=%s\ntarget=", req->method);
    aa_buf_add(&b, req->target, req->target_len);
    aa_buf_adds(&b, "\nquery=");
    if (req->query == NULL)
        aa_buf_adds(&b, "(null)");
    else
        aa_buf_add(&b, req->query, req->query_len);
    aa_buf_addc(&b, '\n');
    for (size_t i = 0; i < req->n_headers; i++)
        aa_buf_printf(&b, "h=%s: %s\n", req->headers[i].name, req->headers[i].value);
    aa_buf_printf(&b, "body=%zu:", req->body_len);
    aa_buf_add(&b, req->body, req->body_len);
    resp->status = 200;
    aa_server_response_header(resp, "Content-Type", "text/plain");
    aa_server_response_header(resp, "Agent-Auth", "httpsig");
    aa_server_response_header(resp, "Agent-Auth", "httpsig; identity=?1");
    aa_server_response_body(resp, b.p, b.len);
    aa_buf_free(&b);
}

static struct aa_server *srv;
static struct aa_http_client *cli;

static void setup(void)
{
    struct aa_server_opts o;
    struct aa_diag d;

    memset(&o, 0, sizeof(o));
    o.handler = handler;
    aa_diag_clear(&d);
    cr_assert_eq(aa_server_start(&o, &srv, &d), AA_OK, "%s", d.msg);
    cli = aa_http_client_new(NULL);
    cr_assert_not_null(cli);
}

static void teardown(void)
{
    pthread_mutex_lock(&g_gate.mu);
    g_gate.release = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    aa_http_client_free(cli);
    aa_server_stop(srv);
}

static void url(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "%s%s", aa_server_origin(srv), path);
}

TestSuite(httpserver, .init = setup, .fini = teardown);

Test(httpserver, get_roundtrip_raw_target_and_duplicates)
{
    struct aa_http_headers h;
    struct aa_http_response rs;
    struct aa_diag d;
    char u[256];

    url(u, sizeof(u), "/data-hwk?page=2&q=caf%C3%A9");
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "X-Dup", "1");
    aa_http_headers_add(&h, "Signature-Key", "sig1=(scheme=hwk kty=\"OKP\")");
    aa_http_headers_add(&h, "x-dup", "2");
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_get(cli, u, &h, &rs, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(rs.status, 200);
    cr_assert(strstr(rs.body, "target=/data-hwk?page=2&q=caf%C3%A9\n") != NULL, "%s", rs.body);
    cr_assert(strstr(rs.body, "query=page=2&q=caf%C3%A9\n") != NULL);
    cr_assert(strstr(rs.body, "h=X-Dup: 1\nh=Signature-Key: sig1=(scheme=hwk kty=\"OKP\")\n"
                              "h=x-dup: 2\n") != NULL,
              "%s", rs.body);
    cr_assert_eq(aa_http_headers_count(&rs.headers, "agent-auth"), 2);
    cr_assert_str_eq(rs.headers.v[0].lname, "date", "MHD's own Date first");
    aa_http_headers_cleanup(&h);

    url(u, sizeof(u), "/x?");
    cr_assert_eq(aa_http_get(cli, u, NULL, &rs, &d), AA_OK);
    cr_assert(strstr(rs.body, "target=/x?\nquery=\n") != NULL, "empty query kept: %s", rs.body);
    url(u, sizeof(u), "/x");
    cr_assert_eq(aa_http_get(cli, u, NULL, &rs, &d), AA_OK);
    cr_assert(strstr(rs.body, "query=(null)\n") != NULL);
    aa_http_response_cleanup(&rs);
}

Test(httpserver, post_form_body)
{
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_buf form;
    char u[128];

    url(u, sizeof(u), "/agent/token");
    aa_buf_init(&form, 0);
    aa_form_add(&form, "request_type", "auth");
    aa_form_add(&form, "redirect_uri", "http://127.0.0.1:8001/callback");
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Content-Type", "application/x-www-form-urlencoded");
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = u;
    rq.headers = &h;
    rq.body = form.p;
    rq.body_len = form.len;
    aa_http_response_init(&rs);
    cr_assert_eq(aa_http_send(cli, &rq, &rs, NULL), AA_OK);
    cr_assert(strstr(rs.body, "method=POST\n") != NULL);
    cr_assert_eq(form.len, 71);
    cr_assert(strstr(rs.body, "body=71:request_type=auth&redirect_uri=http%3A%2F%2F127.0.0.1%3A"
                              "8001%2Fcallback") != NULL,
              "%s", rs.body);
    {
        /* the server side decodes it back (PROFILE#6 form rules) */
        const char *b = strstr(rs.body, "body=71:") + 8;
        struct aa_form f;
        aa_form_init(&f);
        cr_assert_eq(aa_form_parse(b, strlen(b), AA_FORM_REJECT_DUPLICATES, &f, NULL), AA_OK);
        cr_assert_str_eq(aa_form_get(&f, "redirect_uri"), "http://127.0.0.1:8001/callback");
        aa_form_cleanup(&f);
    }
    aa_http_response_cleanup(&rs);
    aa_http_headers_cleanup(&h);
    aa_buf_free(&form);
}

Test(httpserver, body_over_limit_gets_413)
{
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_diag d;
    size_t n = (size_t)1024 * 1024 + 1;
    char *body = malloc(n);
    char u[128];

    memset(body, 'b', n);
    url(u, sizeof(u), "/p");
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Content-Type", "application/json");
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = u;
    rq.headers = &h;
    rq.body = body;
    rq.body_len = n;
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_send(cli, &rq, &rs, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(rs.status, 413);
    cr_assert(strstr(rs.body, "{\"error\":\"invalid_request\"") == rs.body, "%s", rs.body);
    /* the connection was closed after the 413; the next request still works */
    url(u, sizeof(u), "/after");
    cr_assert_eq(aa_http_get(cli, u, NULL, &rs, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(rs.status, 200);
    aa_http_response_cleanup(&rs);
    aa_http_headers_cleanup(&h);
    free(body);
}

Test(httpserver, header_limits_give_431)
{
    struct aa_http_headers h;
    struct aa_http_response rs;
    char u[128], *v = malloc(17 * 1024 + 1);

    url(u, sizeof(u), "/h");
    memset(v, 'v', 17 * 1024);
    v[17 * 1024] = '\0';
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "X-Big", v);
    aa_http_response_init(&rs);
    cr_assert_eq(aa_http_get(cli, u, &h, &rs, NULL), AA_OK);
    cr_assert_eq(rs.status, 431, "a 17 KiB field");
    aa_http_headers_cleanup(&h);

    v[13 * 1024] = '\0';
    aa_http_headers_init(&h);
    for (int i = 0; i < 5; i++)
        aa_http_headers_add(&h, "X-Part", v);
    cr_assert_eq(aa_http_get(cli, u, &h, &rs, NULL), AA_OK);
    cr_assert_eq(rs.status, 431, "a 65 KiB block");
    cr_assert(strstr(rs.body, "block") != NULL, "%s", rs.body);
    aa_http_headers_cleanup(&h);
    aa_http_response_cleanup(&rs);
    free(v);
}

Test(httpserver, redirect_returned_and_endless_body_capped)
{
    struct aa_http_client_opts o;
    struct aa_http_client *small;
    struct aa_http_response rs;
    struct aa_diag d;
    char u[128];

    url(u, sizeof(u), "/redirect");
    aa_http_response_init(&rs);
    cr_assert_eq(aa_http_get(cli, u, NULL, &rs, NULL), AA_OK);
    cr_assert_eq(rs.status, 302);
    cr_assert_str_eq(aa_http_headers_get(&rs.headers, "Location"), "/elsewhere");
    cr_assert_eq(aa_server_requests(srv), 1, "the Location was not requested");

    memset(&o, 0, sizeof(o));
    o.max_body = 100 * 1024;
    small = aa_http_client_new(&o);
    url(u, sizeof(u), "/endless");
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_get(small, u, NULL, &rs, &d), AA_E_HTTP_TOO_LARGE, "%s", d.msg);
    aa_http_client_free(small);
    aa_http_response_cleanup(&rs);
}

Test(httpserver, handler_that_never_answers_times_out)
{
    struct aa_http_client_opts o;
    struct aa_http_client *quick;
    struct aa_http_response rs;
    struct aa_diag d;
    char u[128];

    memset(&o, 0, sizeof(o));
    o.timeout_ms = 300;
    quick = aa_http_client_new(&o);
    url(u, sizeof(u), "/gate");
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_get(quick, u, NULL, &rs, &d), AA_E_HTTP_TIMEOUT, "%s", d.msg);
    pthread_mutex_lock(&g_gate.mu);
    cr_assert(g_gate.entered, "the request did reach the handler");
    pthread_mutex_unlock(&g_gate.mu);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(quick);
}

Test(httpserver, wire_transcript_of_a_real_exchange)
{
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_buf out;
    char u[128], host[96];

    url(u, sizeof(u), "/data-jwks");
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.url = u;
    aa_http_response_init(&rs);
    cr_assert_eq(aa_http_send(cli, &rq, &rs, NULL), AA_OK);
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_http_transcript(&out, "DELEGATE", &rq, &rs, AA_HTTP_TR_WIRE), AA_OK);
    snprintf(host, sizeof(host), "\nHost: 127.0.0.1:%u\n", (unsigned)aa_server_port(srv));
    cr_assert(strstr(out.p, host) != NULL, "WIRE shows what libcurl added: %s", out.p);
    cr_assert(strstr(out.p, "<<< DELEGATE RESPONSE from ") != NULL);
    cr_assert(strstr(out.p, "\nHTTP/1.1 200 OK\n") != NULL, "%s", out.p);
    cr_assert(strstr(out.p, "\nAgent-Auth: httpsig; identity=?1\n") != NULL);
    aa_buf_free(&out);
    aa_http_response_cleanup(&rs);
}

/* ---- discovery served by aa_server ------------------------------------------------ */
static char jwks_json[2048];
static char origin_copy[64];
static unsigned meta_hits, jwks_hits;
static pthread_mutex_t hit_mu = PTHREAD_MUTEX_INITIALIZER;

static void meta_handler(void *ctx, const struct aa_server_request *req,
                         struct aa_server_response *resp)
{
    char body[256];

    (void)ctx;
    pthread_mutex_lock(&hit_mu);
    if (aa_server_request_path_is(req, "/.well-known/aauth-agent")) {
        meta_hits++;
        snprintf(body, sizeof(body), "{\"agent\":\"%s\",\"jwks_uri\":\"%s/jwks.json\"}",
                 origin_copy, origin_copy);
        aa_server_response_json(resp, 200, body);
    } else if (aa_server_request_path_is(req, "/jwks.json")) {
        jwks_hits++;
        aa_server_response_json(resp, 200, jwks_json);
        aa_server_response_header(resp, "Cache-Control", "max-age=120");
    } else {
        aa_server_response_not_found(resp, req);
    }
    pthread_mutex_unlock(&hit_mu);
}

static int64_t t_now = 5000;
static int64_t clock_fn(void *ctx)
{
    (void)ctx;
    return t_now;
}

Test(httpserver, discovery_against_aa_server)
{
    static const uint8_t seed[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                     7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    struct aa_server_opts so;
    struct aa_server *ms;
    struct aa_disc_opts dopt;
    struct aa_disc *c;
    struct aa_jwk k, got;
    struct aa_jwks set;
    struct aa_buf b;
    char mu[128];

    cr_assert_eq(aa_jwk_from_ed25519_seed(seed, "key-1", &k), AA_OK);
    memset(&set, 0, sizeof(set));
    {
        struct aa_jwk pub;
        cr_assert_eq(aa_jwk_public(&pub, &k), AA_OK);
        cr_assert_eq(aa_jwks_add(&set, &pub), AA_OK);
        aa_jwk_cleanup(&pub);
    }
    aa_buf_init(&b, sizeof(jwks_json) - 1);
    cr_assert_eq(aa_jwks_to_json(&set, &b), AA_OK);
    memcpy(jwks_json, b.p, b.len + 1);
    aa_buf_free(&b);
    aa_jwks_cleanup(&set);

    memset(&so, 0, sizeof(so));
    so.handler = meta_handler;
    cr_assert_eq(aa_server_start(&so, &ms, NULL), AA_OK);
    snprintf(origin_copy, sizeof(origin_copy), "%s", aa_server_origin(ms));
    memset(&dopt, 0, sizeof(dopt));
    dopt.dev_mode = true;
    dopt.clock = clock_fn;
    c = aa_disc_new(&dopt);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(aa_disc_key(c, origin_copy, "aauth-agent", "key-1", &got, NULL), AA_OK);
        cr_assert(aa_jwk_same_key(&got, &k));
        aa_jwk_cleanup(&got);
    }
    snprintf(mu, sizeof(mu), "%s/.well-known/aauth-agent", origin_copy);
    cr_assert_eq(aa_disc_fetch_count(c, mu), 1);
    cr_assert_eq(meta_hits, 1);
    cr_assert_eq(jwks_hits, 1);
    cr_assert_eq(aa_server_requests(ms), 2, "one fetch each per cache lifetime");
    t_now += 120;
    cr_assert_eq(aa_disc_key(c, origin_copy, "aauth-agent", "key-1", &got, NULL), AA_OK);
    aa_jwk_cleanup(&got);
    cr_assert_eq(jwks_hits, 2, "JWKS max-age=120 honoured");
    cr_assert_eq(meta_hits, 1);
    aa_disc_free(c);
    aa_server_stop(ms);
    aa_jwk_cleanup(&k);
}
