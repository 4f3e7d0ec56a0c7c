/*
 * Robustness of the reference resource and the server adapter under
 * hostile peers and oversized input: the functional half of
 * scripts/load.sh, small enough to run in `make test`.
 *
 *   - The agent's key discovery (PROFILE#3, D-13) against hostile peers:
 *     JWKS endpoint down, slower than the fetch timeout, garbage, too large,
 *     a server error, a redirect; metadata down or garbage. The resource
 *     must answer each request with a PROFILE#6.8 error (401
 *     invalid_token) whose description is the same whatever failed - the
 *     URLs are the client's choice, so a detailed text would let remote
 *     clients probe what answers there (docs/security.md) - and name what
 *     failed in its own log; never hang, never follow the redirect, and
 *     recover once the peer is healthy.
 *   - SSRF (docs/security.md): a Signature-Key that names a JWKS on a
 *     non-loopback address is refused without a fetch; a dev-mode server
 *     (which fetches any loopback URL) refuses to start on a non-loopback
 *     bind address unless explicitly allowed.
 *   - Oversized input (PROFILE#9 RB-01, RB-02): a 64 KiB field line, a
 *     header block over 64 KiB, a body over 1 MiB, 10 000 parameters in a
 *     structured field, in one line or spread over several: 431/413/401
 *     with a JSON error body, and the server keeps serving.
 *   - Slow clients: a connection that stops sending in the middle of its
 *     header block is closed by the adapter's inactivity timeout while
 *     another client is served; the connection limits configured on a
 *     reference server reach its adapter.
 *
 * Everything runs in-process on 127.0.0.1 port 0 on a frozen clock. The
 * discovery cache is the test's own (aa_ref_common.disc) with a 1 s fetch
 * timeout, so the slow-peer case completes quickly; nothing asserts a
 * duration: a request "completes" when the HTTP client returns AA_OK
 * instead of its own (20 s) timeout error. Hostile peers are aa_server handlers;
 * they run on server threads, where Criterion assertions must not be
 * used, so they only record what they saw.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cJSON.h>

#include "aa_ref.h"
#include "aauth/aa_aauth.h"
#include "http/aa_discovery.h"
#include "http/aa_http.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"
#include "server/aa_server.h"
#include "sf/aa_sf.h"

#include "helpers/aa_test_util.h"

#define T0 1768786221 /* the seed's created time (PROFILE#2.12) */
#define FETCH_TIMEOUT_MS 1000L
#define CLIENT_TIMEOUT_MS 20000L /* far above any fetch timeout: a safety net */

/* ---- small helpers ------------------------------------------------------------ */

/*
 * A TCP port on 127.0.0.1 that refuses connections: a socket bound but not
 * listening keeps the port reserved for the test, so nobody else can start
 * listening there meanwhile.
 */
struct dead_port {
    int fd;
    uint16_t port;
    char origin[64];
};

static void dead_port_open(struct dead_port *p)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(p->fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(getsockname(p->fd, (struct sockaddr *)&sa, &len), 0);
    p->port = ntohs(sa.sin_port);
    cr_assert_eq(aa_snprintf(p->origin, sizeof(p->origin), "http://127.0.0.1:%u", p->port), AA_OK);
}

static void dead_port_close(struct dead_port *p)
{
    close(p->fd);
}

/* ---- the hostile agent peer ------------------------------------------------------- */

enum peer_mode {
    PEER_OK = 0,        /* metadata + the agent's real JWKS */
    PEER_JWKS_DOWN,     /* jwks_uri points at a port that refuses connections */
    PEER_JWKS_SLOW,     /* /jwks.json answers only when the test releases it */
    PEER_JWKS_GARBAGE,  /* 200 application/json, not JSON */
    PEER_JWKS_NOT_JWKS, /* 200 application/json, {"keys":"none"} */
    PEER_JWKS_HUGE,     /* 200 application/json, 200 KiB (limit 64 KiB) */
    PEER_JWKS_500,      /* 500 */
    PEER_JWKS_HTML,     /* 200 text/html */
    PEER_JWKS_REDIRECT, /* 302 to a second peer that serves the real JWKS */
    PEER_META_GARBAGE,  /* metadata is not JSON */
    PEER_META_WRONG_ID  /* metadata names another agent (D-13) */
};

struct peer {
    struct aa_server *srv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum peer_mode mode;
    bool release;
    char *origin;
    char *jwks_uri;    /* what the metadata names */
    char *jwks_body;   /* the agent's real JWKS */
    char *redirect_to; /* PEER_JWKS_REDIRECT */
    unsigned meta_hits, jwks_hits;
};

static void peer_handler(void *ctx, const struct aa_server_request *req,
                         struct aa_server_response *resp)
{
    struct peer *p = ctx;
    enum peer_mode mode;
    char meta[512];

    pthread_mutex_lock(&p->mu);
    mode = p->mode;
    if (aa_server_request_path_is(req, "/.well-known/aauth-agent")) {
        p->meta_hits++;
        if (mode == PEER_META_GARBAGE)
            aa_server_response_json(resp, 200, "<html>not json");
        else if (aa_snprintf(meta, sizeof(meta), "{\"agent\":\"%s\",\"jwks_uri\":\"%s\"}",
                             mode == PEER_META_WRONG_ID ? "http://127.0.0.1:1" : p->origin,
                             p->jwks_uri) == AA_OK)
            aa_server_response_json(resp, 200, meta);
    } else if (aa_server_request_path_is(req, "/jwks.json")) {
        p->jwks_hits++;
        switch (mode) {
        case PEER_JWKS_SLOW: {
            /* Held until the test releases it (teardown), with a cap so a
             * broken test cannot hang the peer forever; a mode change
             * releases it too. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 30;
            while (!p->release && p->mode == PEER_JWKS_SLOW)
                if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0)
                    break;
            aa_server_response_json(resp, 200, p->jwks_body);
            break;
        }
        case PEER_JWKS_GARBAGE:
            aa_server_response_json(resp, 200, "{\"keys\":[{\"kty\":\"OKP\",");
            break;
        case PEER_JWKS_NOT_JWKS:
            aa_server_response_json(resp, 200, "{\"keys\":\"none\"}");
            break;
        case PEER_JWKS_HUGE: {
            size_t n = 200 * 1024;
            char *big = malloc(n + 1);
            if (big != NULL) {
                memset(big, ' ', n);
                memcpy(big, "{\"keys\":[]", 10);
                big[n - 1] = '}';
                big[n] = '\0';
                aa_server_response_json(resp, 200, big);
                free(big);
            }
            break;
        }
        case PEER_JWKS_500:
            aa_server_response_error(resp, 500, "server_error", "hostile peer: always failing");
            break;
        case PEER_JWKS_HTML:
            resp->status = 200;
            aa_server_response_header(resp, "Content-Type", "text/html");
            aa_server_response_body(resp, "<html></html>", 13);
            break;
        case PEER_JWKS_REDIRECT:
            resp->status = 302;
            aa_server_response_header(resp, "Location", p->redirect_to);
            break;
        default:
            aa_server_response_json(resp, 200, p->jwks_body);
            break;
        }
    } else {
        aa_server_response_not_found(resp, req);
    }
    pthread_mutex_unlock(&p->mu);
}

static void peer_start(struct peer *p)
{
    struct aa_server_opts o;
    struct aa_diag d;

    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    memset(&o, 0, sizeof(o));
    o.handler = peer_handler;
    o.ctx = p;
    o.threads = 4;
    aa_diag_clear(&d);
    cr_assert_eq(aa_server_start(&o, &p->srv, &d), AA_OK, "peer: %s", d.msg);
    pthread_mutex_lock(&p->mu);
    p->origin = aa_test_cat(aa_server_origin(p->srv), "");
    p->jwks_uri = aa_test_cat(p->origin, "/jwks.json");
    p->jwks_body = aa_test_cat("{\"keys\":[]}", "");
    pthread_mutex_unlock(&p->mu);
}

static void peer_set(struct peer *p, enum peer_mode mode, const char *jwks_uri,
                     const char *redirect_to)
{
    pthread_mutex_lock(&p->mu);
    p->mode = mode;
    if (jwks_uri != NULL) {
        free(p->jwks_uri);
        p->jwks_uri = aa_test_cat(jwks_uri, "");
    }
    free(p->redirect_to);
    p->redirect_to = redirect_to ? aa_test_cat(redirect_to, "") : NULL;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Serve |key| (public part) as the peer's JWKS. */
static void peer_serve_key(struct peer *p, const struct aa_jwk *key)
{
    struct aa_jwks set = {0};
    struct aa_buf b;

    aa_buf_init(&b, 0);
    cr_assert_eq(aa_jwks_add(&set, key), AA_OK);
    cr_assert_eq(aa_jwks_to_json(&set, &b), AA_OK);
    pthread_mutex_lock(&p->mu);
    free(p->jwks_body);
    p->jwks_body = aa_buf_detach(&b, NULL);
    pthread_mutex_unlock(&p->mu);
    aa_jwks_cleanup(&set);
}

static void peer_hits(struct peer *p, unsigned *meta, unsigned *jwks)
{
    pthread_mutex_lock(&p->mu);
    *meta = p->meta_hits;
    *jwks = p->jwks_hits;
    pthread_mutex_unlock(&p->mu);
}

static void peer_stop(struct peer *p)
{
    pthread_mutex_lock(&p->mu);
    p->release = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    aa_server_stop(p->srv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->origin);
    free(p->jwks_uri);
    free(p->jwks_body);
    free(p->redirect_to);
}

/* ---- the environment ------------------------------------------------------------- */

/*
 * A reference agent server that claims the identifier |agent_id| (the
 * hostile peer's origin, or a dead port), so the tokens it issues send the
 * resource's discovery to that peer; the resource under test on the same
 * frozen clock with the test's discovery cache.
 */
struct env {
    struct aa_ref_clock clk;
    struct aa_ref_server *agent, *res;
    struct aa_disc *disc;
    struct aa_jwk agent_key, delegate;
    char *token;
    struct aa_http_client *http;
    FILE *log; /* the resource's log (one line per request and diagnostics) */
};

static void env_start(struct env *e, const char *agent_id)
{
    struct aa_ref_agent_config ac;
    struct aa_ref_resource_config rc;
    struct aa_disc_opts dopts = {0};
    struct aa_http_client_opts copts = {0};
    struct aa_diag d;

    memset(e, 0, sizeof(*e));
    e->clk.frozen = true;
    e->clk.value = T0;
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, AA_REF_AGENT_KID, &e->agent_key), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "delegate-key-1", &e->delegate), AA_OK);
    aa_ref_agent_defaults(&ac);
    ac.c.clock = &e->clk;
    ac.c.key = &e->agent_key;
    ac.c.id = agent_id;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&ac, &e->agent, &d), AA_OK, "agent: %s", d.msg);

    dopts.dev_mode = true;
    dopts.clock = aa_test_ref_clock;
    dopts.clock_ctx = &e->clk;
    dopts.timeout_ms = FETCH_TIMEOUT_MS;
    dopts.connect_timeout_ms = FETCH_TIMEOUT_MS;
    cr_assert_not_null(e->disc = aa_disc_new(&dopts));
    aa_ref_resource_defaults(&rc);
    rc.c.clock = &e->clk;
    rc.c.disc = e->disc;
    rc.auth_server = "http://127.0.0.1:1"; /* never contacted by these tests */
    cr_assert_not_null(e->log = tmpfile());
    rc.c.log = e->log;
    rc.c.verbosity = 1;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_resource_start(&rc, &e->res, &d), AA_OK, "resource: %s", d.msg);

    copts.timeout_ms = CLIENT_TIMEOUT_MS;
    cr_assert_not_null(e->http = aa_http_client_new(&copts));
    /* PROFILE#6.1: the delegate's agent token (iss = |agent_id|). */
    e->token = aa_test_agent_token(e->http, e->agent, &e->delegate);
}

static void env_stop(struct env *e)
{
    aa_http_client_free(e->http);
    aa_ref_stop(e->res);
    aa_ref_stop(e->agent);
    aa_disc_free(e->disc);
    fclose(e->log);
    aa_jwk_cleanup(&e->agent_key);
    aa_jwk_cleanup(&e->delegate);
    free(e->token);
}

/*
 * Send |method| |path| to the resource, signed by the delegate with
 * |cred| (NULL: the agent token), plus |extra| headers and |body|; with
 * |replace|, an extra header replaces the signer's lines of that name.
 * The exchange must complete (AA_OK from the client: no client timeout).
 */
static void send_signed(struct env *e, const char *method, const char *path,
                        const struct aa_sign_cred *cred, const struct aa_http_headers *extra,
                        bool replace, const char *body, size_t body_len, struct aa_http_response *r)
{
    struct aa_clock ck = {aa_test_ref_clock, &e->clk};
    struct aa_sign_cred jwt = {0};
    struct aa_sign_request sr = {0};
    struct aa_sign_opts so = {0};
    struct aa_http_headers all;
    struct aa_http_request hr;
    struct aa_signed sg;
    struct aa_diag d;
    char *url = aa_test_cat(aa_ref_url(e->res), path);

    jwt.scheme = AA_SIGKEY_JWT;
    jwt.token = e->token;
    aa_http_headers_init(&all);
    if (body_len > 0)
        cr_assert_eq(aa_http_headers_add(&all, "Content-Type", "application/octet-stream"), AA_OK);
    sr.method = method;
    sr.url = url;
    sr.headers = &all;
    sr.body = body;
    sr.body_len = body_len;
    so.clock = &ck;
    so.nonce_mode = AA_SIGN_NONCE_AUTO;
    aa_diag_clear(&d);
    cr_assert_eq(aa_aauth_sign(NULL, &sr, &e->delegate, cred ? cred : &jwt, &so, &sg, &d), AA_OK,
                 "sign: %s", d.msg);
    for (size_t i = 0; i < sg.headers.n; i++) {
        if (replace && extra != NULL && aa_http_headers_get(extra, sg.headers.v[i].name) != NULL)
            continue;
        cr_assert_eq(aa_http_headers_add(&all, sg.headers.v[i].name, sg.headers.v[i].value), AA_OK);
    }
    for (size_t i = 0; extra != NULL && i < extra->n; i++)
        cr_assert_eq(aa_http_headers_add(&all, extra->v[i].name, extra->v[i].value), AA_OK);
    memset(&hr, 0, sizeof(hr));
    hr.method = method;
    hr.url = url;
    hr.headers = &all;
    hr.body = body;
    hr.body_len = body_len;
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_send(e->http, &hr, r, &d), AA_OK, "%s %s did not complete (%s): %s",
                 method, path, aa_strerror(d.code), d.msg);
    aa_signed_cleanup(&sg);
    aa_http_headers_cleanup(&all);
    free(url);
}

static void get_data(struct env *e, struct aa_http_response *r)
{
    send_signed(e, "GET", "/data-jwks", NULL, NULL, false, NULL, 0, r);
}

/* |r| is |status| with a PROFILE#6.8 JSON body whose error is |err| and
 * whose error_description contains |needle| (NULL: any, but non-empty). */
static void expect_error(const struct aa_http_response *r, long status, const char *err,
                         const char *needle)
{
    const char *desc;
    cJSON *j = NULL;

    cr_assert_eq(r->status, status, "status %ld, expected %ld: %.500s", r->status, status, r->body);
    cr_assert_str_eq(aa_http_headers_get(&r->headers, "Content-Type"), "application/json");
    cr_assert_eq(aa_json_parse(r->body, r->body_len, NULL, &j, NULL), AA_OK, "body %.300s",
                 r->body);
    cr_assert_str_eq(aa_json_str(j, "error"), err, "body %.500s", r->body);
    desc = aa_json_str(j, "error_description");
    cr_assert_not_null(desc);
    cr_assert_gt(strlen(desc), 0);
    if (needle != NULL)
        cr_assert_not_null(strstr(desc, needle), "error_description lacks \"%s\": %s", needle,
                           desc);
    cJSON_Delete(j);
}

/* The resource's log holds |needle| (the server flushes every line). */
static bool log_has(struct env *e, const char *needle)
{
    char *text;
    long n;
    bool found;

    cr_assert_eq(fseek(e->log, 0, SEEK_END), 0);
    n = ftell(e->log);
    cr_assert_geq(n, 0);
    text = calloc((size_t)n + 1, 1);
    cr_assert_not_null(text);
    cr_assert_eq(pread(fileno(e->log), text, (size_t)n, 0), (ssize_t)n);
    found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

/*
 * A failed discovery: 401 |err| with the one fixed description, which does
 * not contain |detail| (what happened at the URL); the server's log does.
 */
static void expect_discovery_error(struct env *e, const struct aa_http_response *r,
                                   const char *err, const char *detail)
{
    cJSON *j = NULL;
    const char *desc;

    expect_error(r, 401, err, NULL);
    cr_assert_eq(aa_json_parse(r->body, r->body_len, NULL, &j, NULL), AA_OK);
    desc = aa_json_str(j, "error_description");
    cr_assert_str_eq(desc,
                     "the signer's keys could not be obtained through discovery (PROFILE#3); "
                     "the reason is in this server's log");
    if (detail != NULL) {
        cr_assert_null(strstr(desc, detail), "the description tells \"%s\"", detail);
        cr_assert(log_has(e, detail), "the server log lacks \"%s\"", detail);
    }
    cJSON_Delete(j);
}

static void expect_ok(const struct aa_http_response *r)
{
    cJSON *j = NULL;

    cr_assert_eq(r->status, 200, "status %ld: %.500s", r->status, r->body);
    cr_assert_eq(aa_json_parse(r->body, r->body_len, NULL, &j, NULL), AA_OK);
    cr_assert_str_eq(aa_json_str(j, "token_type"), "agent+jwt");
    cr_assert_str_eq(aa_json_str(j, "agent_delegate"), "delegate-1");
    cJSON_Delete(j);
}

/* ---- key discovery against hostile peers ------------------------------------------- */

/* The positive control: a healthy peer, fetched once, then cached. */
Test(robust, discovery_healthy_peer_control, .timeout = 60)
{
    struct peer p;
    struct env e;
    struct aa_http_response r;
    unsigned meta, jwks;

    peer_start(&p);
    env_start(&e, p.origin);
    peer_serve_key(&p, aa_ref_key(e.agent));
    aa_http_response_init(&r);
    get_data(&e, &r);
    expect_ok(&r);
    get_data(&e, &r);
    expect_ok(&r);
    peer_hits(&p, &meta, &jwks);
    cr_assert_eq(meta, 1, "metadata fetched %u times", meta);
    cr_assert_eq(jwks, 1, "JWKS fetched %u times", jwks);
    aa_http_response_cleanup(&r);
    env_stop(&e);
    peer_stop(&p);
}

struct hostile_case {
    enum peer_mode mode;
    const char *name;
    const char *needle; /* expected in the server log, never in error_description */
};

/*
 * Each hostile JWKS mode: two requests, both complete with 401
 * invalid_token and the fixed description, the failure named in the
 * server log; failures are not cached, so the JWKS is asked again; once
 * the peer turns healthy, the same request succeeds.
 */
static void hostile_jwks(const struct hostile_case *hc)
{
    struct dead_port dead;
    struct peer p, other;
    struct env e;
    struct aa_http_response r;
    unsigned meta, jwks, ometa, ojwks;
    char *dead_jwks;

    dead_port_open(&dead);
    dead_jwks = aa_test_cat(dead.origin, "/jwks.json");
    peer_start(&p);
    peer_start(&other);
    env_start(&e, p.origin);
    peer_serve_key(&p, aa_ref_key(e.agent));
    {
        char *redir = aa_test_cat(other.origin, "/jwks.json");
        peer_set(&p, hc->mode, hc->mode == PEER_JWKS_DOWN ? dead_jwks : NULL, redir);
        free(redir);
    }
    aa_http_response_init(&r);
    for (int i = 0; i < 2; i++) {
        get_data(&e, &r);
        expect_discovery_error(&e, &r, "invalid_token", hc->needle);
        cr_assert_not_null(aa_http_headers_get(&r.headers, "Agent-Auth"),
                           "%s: 401 without a challenge", hc->name);
    }
    peer_hits(&p, &meta, &jwks);
    cr_assert_geq(meta, 1, "%s: metadata never fetched", hc->name);
    if (hc->mode == PEER_JWKS_DOWN)
        cr_assert_eq(jwks, 0, "%s", hc->name);
    else
        cr_assert_eq(jwks, 2, "%s: JWKS asked %u times for two requests", hc->name, jwks);
    peer_hits(&other, &ometa, &ojwks);
    cr_assert_eq(ometa + ojwks, 0, "%s: a redirect was followed", hc->name);

    /* Recovery: the same peer, healthy again. */
    {
        char *own = aa_test_cat(p.origin, "/jwks.json");
        peer_set(&p, PEER_OK, own, NULL);
        free(own);
    }
    get_data(&e, &r);
    if (hc->mode == PEER_JWKS_DOWN) {
        /* The metadata (with the dead jwks_uri) is cached for its lifetime;
         * after it expires, the fixed document is fetched. */
        expect_error(&r, 401, "invalid_token", NULL);
        aa_ref_clock_advance(&e.clk, AA_DISC_TTL_DEFAULT + 1);
        /* The token and the signature must stay valid: re-sign at the new
         * time (the agent token lives 3600 s). */
        get_data(&e, &r);
    }
    expect_ok(&r);
    aa_http_response_cleanup(&r);
    env_stop(&e);
    peer_stop(&other);
    peer_stop(&p);
    free(dead_jwks);
    dead_port_close(&dead);
}

Test(robust, jwks_down, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_DOWN, "jwks down", "cannot connect"};
    hostile_jwks(&hc);
}

Test(robust, jwks_slower_than_fetch_timeout, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_SLOW, "jwks slow", "timed out"};
    hostile_jwks(&hc);
}

Test(robust, jwks_garbage, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_GARBAGE, "jwks garbage", "JSON"};
    hostile_jwks(&hc);
}

Test(robust, jwks_not_a_key_set, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_NOT_JWKS, "jwks not a set", "\"keys\""};
    hostile_jwks(&hc);
}

Test(robust, jwks_over_size_limit, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_HUGE, "jwks huge", "65536"};
    hostile_jwks(&hc);
}

Test(robust, jwks_server_error, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_500, "jwks 500", "status 500"};
    hostile_jwks(&hc);
}

Test(robust, jwks_wrong_content_type, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_HTML, "jwks html", "Content-Type"};
    hostile_jwks(&hc);
}

Test(robust, jwks_redirect_not_followed, .timeout = 60)
{
    struct hostile_case hc = {PEER_JWKS_REDIRECT, "jwks redirect", "not followed"};
    hostile_jwks(&hc);
}

Test(robust, metadata_down, .timeout = 60)
{
    struct dead_port dead;
    struct env e;
    struct aa_http_response r;

    dead_port_open(&dead);
    env_start(&e, dead.origin);
    aa_http_response_init(&r);
    get_data(&e, &r);
    expect_discovery_error(&e, &r, "invalid_token", "metadata fetch failed");
    get_data(&e, &r);
    expect_discovery_error(&e, &r, "invalid_token", "metadata fetch failed");
    aa_http_response_cleanup(&r);
    env_stop(&e);
    dead_port_close(&dead);
}

Test(robust, metadata_garbage_and_wrong_id, .timeout = 60)
{
    struct peer p;
    struct env e;
    struct aa_http_response r;
    unsigned meta, jwks;

    peer_start(&p);
    env_start(&e, p.origin);
    aa_http_response_init(&r);
    peer_set(&p, PEER_META_GARBAGE, NULL, NULL);
    get_data(&e, &r);
    expect_discovery_error(&e, &r, "invalid_token", "not a JSON object");
    /* D-13: the document's agent member must be the identifier. */
    peer_set(&p, PEER_META_WRONG_ID, NULL, NULL);
    get_data(&e, &r);
    expect_discovery_error(&e, &r, "invalid_token", "http://127.0.0.1:1");
    peer_hits(&p, &meta, &jwks);
    cr_assert_eq(meta, 2);
    cr_assert_eq(jwks, 0, "JWKS fetched although the metadata was refused");
    aa_http_response_cleanup(&r);
    env_stop(&e);
    peer_stop(&p);
}

/* docs/security.md: a Signature-Key naming a JWKS outside loopback (a
 * cloud metadata address) is refused by the allow policy, no fetch. */
Test(robust, ssrf_jwks_url_refused, .timeout = 60)
{
    struct peer p;
    struct env e;
    struct aa_http_response r;
    struct aa_sign_cred c = {0};

    peer_start(&p);
    env_start(&e, p.origin);
    aa_http_response_init(&r);
    c.scheme = AA_SIGKEY_JWKS;
    c.jwks_url = "http://169.254.169.254/latest/meta-data/jwks.json";
    c.kid = "delegate-key-1";
    send_signed(&e, "GET", "/data-hwk", &c, NULL, false, NULL, 0, &r);
    expect_error(&r, 401, "invalid_key", "allow policy");
    /* https, but not a configured trusted origin. */
    c.jwks_url = "https://internal.example/jwks.json";
    send_signed(&e, "GET", "/data-hwk", &c, NULL, false, NULL, 0, &r);
    expect_error(&r, 401, "invalid_key", "allow policy");
    cr_assert_eq(aa_disc_fetch_total(e.disc), 0, "a refused URL was fetched");
    aa_http_response_cleanup(&r);
    env_stop(&e);
    peer_stop(&p);
}

/* ---- oversized input ---------------------------------------------------------------- */

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* |n| distinct boolean parameters ";k0;k1;..." after an inner list. */
static char *many_params(size_t first, size_t n)
{
    struct aa_buf b;
    char *r;

    aa_buf_init(&b, 0);
    aa_buf_adds(&b, "sig1=(\"@method\")");
    for (size_t i = first; i < first + n; i++)
        aa_buf_printf(&b, ";k%zu", i);
    cr_assert_eq(b.err, AA_OK);
    r = aa_buf_detach(&b, NULL);
    cr_assert_not_null(r);
    return r;
}

struct big_env {
    struct peer p;
    struct env e;
};

static void big_start(struct big_env *b)
{
    peer_start(&b->p);
    env_start(&b->e, b->p.origin);
    peer_serve_key(&b->p, aa_ref_key(b->e.agent));
}

static void big_stop(struct big_env *b)
{
    env_stop(&b->e);
    peer_stop(&b->p);
}

/* After every hostile request the resource still serves a valid one. */
static void still_serving(struct env *e)
{
    struct aa_http_response r;

    aa_http_response_init(&r);
    get_data(e, &r);
    expect_ok(&r);
    aa_http_response_cleanup(&r);
}

Test(robust, header_field_64k_and_block_over_64k, .timeout = 60)
{
    struct big_env b;
    struct aa_http_headers h;
    struct aa_http_response r;
    char *v64 = repeat('a', 64 * 1024), *v15 = repeat('b', 15 * 1024);

    big_start(&b);
    aa_http_response_init(&r);
    /* One field line of 64 KiB (RB-01: 16 KiB per line). */
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "X-Big", v64), AA_OK);
    send_signed(&b.e, "GET", "/data-jwks", NULL, &h, false, NULL, 0, &r);
    expect_error(&r, 431, "invalid_request", NULL);
    aa_http_headers_cleanup(&h);
    still_serving(&b.e);
    /* Five lines of 15 KiB: each fine, the block (75 KiB) is not. */
    aa_http_headers_init(&h);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(aa_http_headers_add(&h, "X-Big", v15), AA_OK);
    send_signed(&b.e, "GET", "/data-jwks", NULL, &h, false, NULL, 0, &r);
    expect_error(&r, 431, "invalid_request", NULL);
    aa_http_headers_cleanup(&h);
    still_serving(&b.e);
    /* 256 KiB of headers: beyond the connection pool MHD answers itself
     * (HTML 431, docs/security.md); still a 431 and no crash. */
    aa_http_headers_init(&h);
    for (int i = 0; i < 17; i++)
        cr_assert_eq(aa_http_headers_add(&h, "X-Big", v15), AA_OK);
    send_signed(&b.e, "GET", "/data-jwks", NULL, &h, false, NULL, 0, &r);
    cr_assert_eq(r.status, 431, "status %ld", r.status);
    aa_http_headers_cleanup(&h);
    still_serving(&b.e);
    aa_http_response_cleanup(&r);
    free(v64);
    free(v15);
    big_stop(&b);
}

Test(robust, body_over_cap, .timeout = 60)
{
    struct big_env b;
    struct aa_http_response r;
    size_t n = AA_SERVER_MAX_BODY_DEFAULT + 1;
    char *body = repeat('x', n);

    big_start(&b);
    aa_http_response_init(&r);
    send_signed(&b.e, "POST", "/data-jwks", NULL, NULL, false, body, n, &r);
    expect_error(&r, 413, "invalid_request", NULL);
    still_serving(&b.e);
    /* Exactly at the cap the adapter lets it through to the receiver (a
     * valid signed POST with a Nonce and Content-Digest). */
    send_signed(&b.e, "POST", "/data-jwks", NULL, NULL, false, body, n - 1, &r);
    cr_assert_eq(r.status, 200, "status %ld: %.300s", r.status, r.body);
    aa_http_response_cleanup(&r);
    free(body);
    big_stop(&b);
}

Test(robust, ten_thousand_sf_parameters, .timeout = 60)
{
    struct big_env b;
    struct aa_http_headers h;
    struct aa_http_response r;
    struct aa_sf_dict dct = {0};
    struct aa_diag d;
    char *all = many_params(0, 10000), *some = many_params(0, 1000);

    /* The parser alone: bounded (AA_SF_MAX_PARAMS), never a crash. */
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_dict(all, strlen(all), &dct, &d), AA_E_LIMIT, "%s", d.msg);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_dict(some, strlen(some), &dct, &d), AA_E_LIMIT, "%s", d.msg);

    big_start(&b);
    aa_http_response_init(&r);
    /* 10 000 parameters in one Signature-Input line (~58 KiB), replacing
     * the signer's: 431 from the adapter (RB-01). */
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Signature-Input", all), AA_OK);
    send_signed(&b.e, "GET", "/data-jwks", NULL, &h, true, NULL, 0, &r);
    expect_error(&r, 431, "invalid_request", NULL);
    aa_http_headers_cleanup(&h);
    /* 1000 parameters (7 KiB, inside the field limit): reaches the
     * verifier, whose structured-field parser refuses it: 401. */
    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "Signature-Input", some), AA_OK);
    send_signed(&b.e, "GET", "/data-jwks", NULL, &h, true, NULL, 0, &r);
    expect_error(&r, 401, "invalid_signature", "256");
    aa_http_headers_cleanup(&h);
    /* 10 000 parameters spread over four lines inside the block limit. */
    aa_http_headers_init(&h);
    for (size_t i = 0; i < 4; i++) {
        char *part = many_params(i * 2500, 2500);
        cr_assert_lt(strlen(part), AA_SERVER_MAX_FIELD_DEFAULT);
        cr_assert_eq(aa_http_headers_add(&h, "Signature-Input", part), AA_OK);
        free(part);
    }
    send_signed(&b.e, "GET", "/data-jwks", NULL, &h, true, NULL, 0, &r);
    expect_error(&r, 401, "invalid_signature", "field lines");
    aa_http_headers_cleanup(&h);
    still_serving(&b.e);
    aa_http_response_cleanup(&r);
    free(all);
    free(some);
    big_stop(&b);
}

/* ---- slow clients ------------------------------------------------------------------- */

static void ok_handler(void *ctx, const struct aa_server_request *req,
                       struct aa_server_response *resp)
{
    (void)ctx;
    (void)req;
    aa_server_response_json(resp, 200, "{\"ok\":true}");
}

static int connect_to(uint16_t port)
{
    struct sockaddr_in sa;
    struct timeval tv = {30, 0}; /* a safety net for a broken server, not a measure */
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/*
 * Slow-loris: clients that stop in the middle of their header block hold
 * no thread; another client is served meanwhile, and each stalled
 * connection is closed by the inactivity timeout (1 s here) without any
 * response bytes.
 */
Test(robust, slow_clients_closed_while_others_served, .timeout = 60)
{
    static const char partial[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a";
    struct aa_server_opts o;
    struct aa_server *srv = NULL;
    struct aa_http_client *http;
    struct aa_http_response r;
    struct aa_diag d;
    char *url;
    int fds[8];

    memset(&o, 0, sizeof(o));
    o.handler = ok_handler;
    o.timeout_s = 1;
    o.threads = 2;
    aa_diag_clear(&d);
    cr_assert_eq(aa_server_start(&o, &srv, &d), AA_OK, "%s", d.msg);
    for (size_t i = 0; i < 8; i++) {
        fds[i] = connect_to(aa_server_port(srv));
        cr_assert_eq(send(fds[i], partial, sizeof(partial) - 1, MSG_NOSIGNAL),
                     (ssize_t)(sizeof(partial) - 1));
    }
    /* Served while every slow connection is open and stalled. */
    cr_assert_not_null(http = aa_http_client_new(NULL));
    url = aa_test_cat(aa_server_origin(srv), "/");
    aa_http_response_init(&r);
    for (int i = 0; i < 4; i++) {
        aa_diag_clear(&d);
        cr_assert_eq(aa_http_get(http, url, NULL, &r, &d), AA_OK, "%s", d.msg);
        cr_assert_eq(r.status, 200);
    }
    /* Each stalled connection: closed by the server (EOF or reset), with
     * no response sent; EAGAIN would mean our 30 s safety net fired. */
    for (size_t i = 0; i < 8; i++) {
        char buf[256];
        ssize_t n = recv(fds[i], buf, sizeof(buf), 0);
        cr_assert(n == 0 || (n < 0 && errno == ECONNRESET),
                  "slow connection %zu: recv %zd (errno %d): not closed by the server", i, n,
                  n < 0 ? errno : 0);
        close(fds[i]);
    }
    aa_http_response_cleanup(&r);
    aa_http_client_free(http);
    free(url);
    aa_server_stop(srv);
}

/* ---- exposure of a dev-mode server (docs/security.md section 1) ---------------------- */

static int start_resource_on(const char *bind, bool strict, bool allow, struct aa_ref_server **out,
                             struct aa_diag *d)
{
    struct aa_ref_resource_config rc;

    aa_ref_resource_defaults(&rc);
    rc.c.bind_addr = bind;
    rc.c.strict_https = strict;
    rc.c.allow_dev_remote = allow;
    rc.c.verbosity = 0;
    if (strict) {
        rc.c.id = "https://resource.example";
        rc.auth_server = "https://as.example";
    } else {
        rc.auth_server = "http://127.0.0.1:1";
    }
    aa_diag_clear(d);
    return aa_ref_resource_start(&rc, out, d);
}

/* Dev mode fetches discovery documents from any loopback URL a request
 * names; bound to a non-loopback address that would let remote clients
 * probe this host's loopback ports. Refused with a message naming the way
 * out, unless strict https or the explicit allowance. */
Test(robust, dev_mode_refuses_non_loopback_bind, .timeout = 60)
{
    static const char *const exposed[] = {"0.0.0.0", "::", "192.0.2.7"};
    static const char *const local[] = {"127.0.0.1", "::1"};
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    for (size_t i = 0; i < sizeof(exposed) / sizeof(exposed[0]); i++) {
        cr_assert_eq(start_resource_on(exposed[i], false, false, &s, &d), AA_E_INVAL, "%s",
                     exposed[i]);
        cr_assert_null(s, "%s: started", exposed[i]);
        cr_assert_str_eq(d.ref, "PROFILE#1");
        cr_assert_not_null(strstr(d.msg, exposed[i]), "%s", d.msg);
        cr_assert_not_null(strstr(d.msg, "--allow-dev-remote"), "%s", d.msg);
        cr_assert_not_null(strstr(d.msg, "--strict-https"), "%s", d.msg);
    }
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        cr_assert_eq(start_resource_on(local[i], false, false, &s, &d), AA_OK, "%s: %s", local[i],
                     d.msg);
        aa_ref_stop(s);
        s = NULL;
    }
    /* the two ways out (the wildcard binds, and nothing is sent to it) */
    cr_assert_eq(start_resource_on("0.0.0.0", true, false, &s, &d), AA_OK, "strict: %s", d.msg);
    aa_ref_stop(s);
    s = NULL;
    cr_assert_eq(start_resource_on("0.0.0.0", false, true, &s, &d), AA_OK, "allowed: %s", d.msg);
    aa_ref_stop(s);
}

/* The limits configured on a reference server reach its adapter: with two
 * connections per address, a third from 127.0.0.1 is closed unanswered. */
Test(robust, reference_connection_limits_applied, .timeout = 60)
{
    struct aa_ref_agent_config ac;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;
    int fds[3];
    char buf[512];
    ssize_t n;

    aa_ref_agent_defaults(&ac);
    ac.c.verbosity = 0;
    ac.c.max_connections_per_ip = 2;
    ac.c.request_timeout_s = 5;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_agent_start(&ac, &s, &d), AA_OK, "%s", d.msg);
    for (int i = 0; i < 3; i++) {
        static const char req[] = "GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        fds[i] = connect_to(aa_ref_port(s));
        cr_assert_eq(send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(req) - 1));
        n = recv(fds[i], buf, sizeof(buf) - 1, 0);
        if (i < 2) {
            cr_assert_gt(n, 12, "connection %d: no answer", i);
            cr_assert_eq(memcmp(buf, "HTTP/1.1 200", 12), 0, "connection %d: %.40s", i, buf);
        } else {
            cr_assert(n == 0 || (n < 0 && errno == ECONNRESET),
                      "third connection: recv %zd (errno %d): not refused", n, n < 0 ? errno : 0);
        }
    }
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    aa_ref_stop(s);
}
