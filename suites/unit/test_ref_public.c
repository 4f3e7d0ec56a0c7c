/*
 * The reference resource's optional GET /public (PROFILE#6.2, #7 F1.4, #5
 * 429; reference/lib/ref_resource_public.c, decisions ).
 *
 * The resource runs in-process on 127.0.0.1 port 0 on a frozen clock, so
 * the fixed one-minute window and Retry-After are asserted exactly and the
 * window is ended by advancing the clock, never by waiting. A second
 * client address is a raw socket bound to 127.0.0.2 (the loopback /8).
 * The counter table itself is driven directly through the resource's
 * private interface to show it stays bounded.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include "aa_ref.h"
#include "aauth/aa_aauth.h"
#include "http/aa_http.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"

#include "helpers/aa_test_util.h"
#include "ref_resource_int.h" /* res_public_* (the bounded table) */

#define T0 1768786221 /* the seed's created time; T0 % 60 == 21 */
#define T0_RETRY (RES_PUBLIC_WINDOW - T0 % RES_PUBLIC_WINDOW) /* 39 */
#define UNSIGNED_BODY                                                                              \
    "{\"message\":\"Access granted\",\"data\":\"This is public data\",\"method\":\"GET\"}"
#define SIGNED_BODY                                                                                \
    "{\"message\":\"Access granted\",\"data\":\"This is public data\",\"scheme\":\"hwk\","         \
    "\"method\":\"GET\"}"

struct env {
    struct aa_ref_clock clk;
    struct aa_clock aclk;
    struct aa_ref_server *res;
    struct aa_http_client *http;
    struct aa_jwk key; /* the caller's hwk key */
};

static void env_start(struct env *e, unsigned limit)
{
    struct aa_ref_resource_config rc;
    struct aa_diag d;

    memset(e, 0, sizeof(*e));
    e->clk.frozen = true;
    e->clk.value = T0;
    e->aclk = (struct aa_clock){aa_test_ref_clock, &e->clk};
    aa_ref_resource_defaults(&rc);
    cr_assert_eq(rc.public_limit, AA_REF_PUBLIC_LIMIT, "default limit");
    rc.c.clock = &e->clk;
    rc.public_limit = limit;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_resource_start(&rc, &e->res, &d), AA_OK, "resource start: %s", d.msg);
    cr_assert_not_null(e->http = aa_http_client_new(NULL));
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "agent-key-1", &e->key), AA_OK);
}

static void env_stop(struct env *e)
{
    aa_http_client_free(e->http);
    aa_ref_stop(e->res);
    aa_jwk_cleanup(&e->key);
}

/* |method| |path| on the resource, unsigned or signed with hwk (optionally
 * with one signature bit flipped); |r| initialised by the caller. */
static void call(struct env *e, const char *method, const char *path, bool sign, bool flip,
                 struct aa_http_response *r)
{
    struct aa_sign_request sr;
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts opts = {0};
    struct aa_signed sg;
    struct aa_http_request hr;
    struct aa_diag d;
    char *url = aa_test_cat(aa_ref_url(e->res), path);

    memset(&sg, 0, sizeof(sg));
    if (sign) {
        memset(&sr, 0, sizeof(sr));
        sr.method = method;
        sr.url = url;
        cred.scheme = AA_SIGKEY_HWK;
        opts.clock = &e->aclk;
        if (flip)
            opts.variants = AA_SIGN_V_SIG_FLIP_BIT;
        aa_diag_clear(&d);
        cr_assert_eq(aa_aauth_sign(NULL, &sr, &e->key, &cred, &opts, &sg, &d), AA_OK, "sign: %s",
                     d.msg);
    }
    memset(&hr, 0, sizeof(hr));
    hr.method = method;
    hr.url = url;
    hr.headers = sign ? &sg.headers : NULL;
    aa_http_response_cleanup(r);
    aa_http_response_init(r);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_send(e->http, &hr, r, &d), AA_OK, "send %s: %s", url, d.msg);
    aa_signed_cleanup(&sg);
    free(url);
}

static const char *hdr(const struct aa_http_response *r, const char *name)
{
    return aa_http_headers_get(&r->headers, name);
}

static void expect_body(const struct aa_http_response *r, const char *expected)
{
    cJSON *want = cJSON_Parse(expected), *got = NULL;

    cr_assert_not_null(want);
    cr_assert_eq(aa_json_parse(r->body, r->body_len, NULL, &got, NULL), AA_OK, "%.400s", r->body);
    cr_assert(cJSON_Compare(want, got, true), "body %.600s\nexpected %.600s", r->body, expected);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

/* 429 temporarily_unavailable, Agent-Auth: httpsig, Retry-After |retry|. */
static void expect_limited(const struct aa_http_response *r, long retry)
{
    const char *ra = hdr(r, "Retry-After");
    cJSON *j = NULL;
    int64_t v = -1;

    cr_assert_eq(r->status, 429, "status %ld: %.400s", r->status, r->body);
    cr_assert_str_eq(hdr(r, "Agent-Auth"), "httpsig");
    cr_assert_not_null(ra, "no Retry-After");
    cr_assert_eq(aa_parse_i64(ra, strlen(ra), &v), AA_OK, "Retry-After %s", ra);
    cr_assert(v >= 1 && v <= RES_PUBLIC_WINDOW, "Retry-After %lld", (long long)v);
    cr_assert_eq(v, retry, "Retry-After %lld, expected %ld", (long long)v, retry);
    cr_assert_str_eq(hdr(r, "Content-Type"), "application/json");
    cr_assert_eq(aa_json_parse(r->body, r->body_len, NULL, &j, NULL), AA_OK);
    cr_assert_str_eq(aa_json_str(j, "error"), "temporarily_unavailable");
    cr_assert_not_null(strstr(aa_json_str(j, "error_description"), "unsigned"));
    cJSON_Delete(j);
}

/* ---- the endpoint --------------------------------------------------------------- */

/* The status of an unsigned |method| /public sent from local address
 * |from| on a raw socket: -1 when |from| cannot be bound here (no such
 * loopback address). Raw, because the harness client has no HEAD mode and
 * no choice of source address. */
static long raw_request(const struct env *e, const char *from, const char *method)
{
    struct sockaddr_in src, dst;
    char req[256], buf[512];
    size_t got = 0;
    long status = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, from, &src.sin_addr), 1);
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
        close(fd);
        return -1;
    }
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons(aa_ref_port(e->res));
    cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr), 1);
    cr_assert_eq(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0, "connect: %s",
                 strerror(errno));
    cr_assert_eq(aa_snprintf(req, sizeof(req),
                             "%s /public HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                             "Connection: close\r\n\r\n",
                             method, (unsigned)aa_ref_port(e->res)),
                 AA_OK);
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    /* the status line is all that is needed; the server closes after it */
    while (got < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    cr_assert(got > 12 && memcmp(buf, "HTTP/1.1 ", 9) == 0, "reply: %.100s", buf);
    cr_assert_eq(aa_parse_i64(buf + 9, 3, &(int64_t){0}), AA_OK, "reply: %.100s", buf);
    for (int i = 9; i < 12; i++)
        status = status * 10 + (buf[i] - '0');
    return status;
}

Test(ref_public, unsigned_limit_then_429_with_challenge_and_retry_after)
{
    struct env e;
    struct aa_http_response r;

    env_start(&e, 3);
    aa_http_response_init(&r);
    for (int i = 0; i < 3; i++) {
        call(&e, "GET", "/public", false, false, &r);
        cr_assert_eq(r.status, 200, "request %d: %ld %s", i + 1, r.status, r.body);
        cr_assert_null(hdr(&r, "Agent-Auth"));
        cr_assert_null(hdr(&r, "Retry-After"));
        expect_body(&r, UNSIGNED_BODY);
    }
    /* the N+1-th, and every later one in the same minute */
    call(&e, "GET", "/public", false, false, &r);
    expect_limited(&r, T0_RETRY);
    aa_ref_clock_advance(&e.clk, 10);
    call(&e, "GET", "/public", false, false, &r);
    expect_limited(&r, T0_RETRY - 10);
    /* HEAD is the same route, limited alike */
    cr_assert_eq(raw_request(&e, "127.0.0.1", "HEAD"), 429);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_public, signed_callers_verified_like_data_hwk_and_never_limited)
{
    struct env e;
    struct aa_http_response r;

    env_start(&e, 1);
    aa_http_response_init(&r);
    /* signed requests first: not counted, so the unsigned one is still served */
    for (int i = 0; i < 5; i++) {
        call(&e, "GET", "/public", true, false, &r);
        cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
        expect_body(&r, SIGNED_BODY);
    }
    call(&e, "GET", "/public", false, false, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    expect_body(&r, UNSIGNED_BODY);
    call(&e, "GET", "/public", false, false, &r);
    expect_limited(&r, T0_RETRY);
    /* while limited: signed still 200 ("a higher level gets more") */
    call(&e, "GET", "/public", true, false, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    expect_body(&r, SIGNED_BODY);
    /* a bad signature: the same 401 as /data-hwk, not a 429 */
    call(&e, "GET", "/public", true, true, &r);
    cr_assert_eq(r.status, 401, "%ld %s", r.status, r.body);
    cr_assert_str_eq(hdr(&r, "Agent-Auth"), "httpsig");
    cr_assert_null(hdr(&r, "Retry-After"));
    {
        struct aa_http_response h;
        cJSON *a = NULL, *b = NULL;
        aa_http_response_init(&h);
        call(&e, "GET", "/data-hwk", true, true, &h);
        cr_assert_eq(h.status, 401);
        cr_assert_str_eq(hdr(&h, "Agent-Auth"), "httpsig");
        cr_assert_eq(aa_json_parse(r.body, r.body_len, NULL, &a, NULL), AA_OK);
        cr_assert_eq(aa_json_parse(h.body, h.body_len, NULL, &b, NULL), AA_OK);
        cr_assert_str_eq(aa_json_str(a, "error"), "invalid_signature");
        cr_assert_str_eq(aa_json_str(a, "error"), aa_json_str(b, "error"));
        cJSON_Delete(a);
        cJSON_Delete(b);
        aa_http_response_cleanup(&h);
    }
    /* any one signature header makes the request "signed" (judged, 401) */
    {
        struct aa_http_headers hs;
        struct aa_http_request hr;
        struct aa_diag d;
        char *url = aa_test_cat(aa_ref_url(e.res), "/public");
        aa_http_headers_init(&hs);
        cr_assert_eq(aa_http_headers_add(&hs, "Signature-Key", "sig1=(scheme=hwk)"), AA_OK);
        memset(&hr, 0, sizeof(hr));
        hr.method = "GET";
        hr.url = url;
        hr.headers = &hs;
        aa_http_response_cleanup(&r);
        aa_http_response_init(&r);
        aa_diag_clear(&d);
        cr_assert_eq(aa_http_send(e.http, &hr, &r, &d), AA_OK, "%s", d.msg);
        cr_assert_eq(r.status, 401, "%ld %s", r.status, r.body);
        aa_http_headers_cleanup(&hs);
        free(url);
    }
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_public, window_resets_when_the_minute_ends)
{
    struct env e;
    struct aa_http_response r;

    env_start(&e, 2);
    aa_http_response_init(&r);
    call(&e, "GET", "/public", false, false, &r);
    call(&e, "GET", "/public", false, false, &r);
    cr_assert_eq(r.status, 200);
    call(&e, "GET", "/public", false, false, &r);
    expect_limited(&r, T0_RETRY);
    /* one second before the window ends: still limited, Retry-After 1 */
    aa_ref_clock_advance(&e.clk, T0_RETRY - 1);
    call(&e, "GET", "/public", false, false, &r);
    expect_limited(&r, 1);
    /* the next minute: a fresh count of 2 */
    aa_ref_clock_advance(&e.clk, 1);
    call(&e, "GET", "/public", false, false, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    call(&e, "GET", "/public", false, false, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    call(&e, "GET", "/public", false, false, &r);
    expect_limited(&r, RES_PUBLIC_WINDOW);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_public, client_addresses_are_counted_separately)
{
    struct env e;
    struct aa_http_response r;
    long st;

    env_start(&e, 1);
    aa_http_response_init(&r);
    call(&e, "GET", "/public", false, false, &r);
    cr_assert_eq(r.status, 200);
    call(&e, "GET", "/public", false, false, &r);
    expect_limited(&r, T0_RETRY);
    /* 127.0.0.1 is limited; 127.0.0.2 has its own count */
    st = raw_request(&e, "127.0.0.2", "GET");
    if (st == -1) {
        aa_http_response_cleanup(&r);
        env_stop(&e);
        cr_skip_test("127.0.0.2 cannot be bound on this host");
    }
    cr_assert_eq(st, 200, "127.0.0.2 has a count of its own");
    cr_assert_eq(raw_request(&e, "127.0.0.1", "GET"), 429);
    cr_assert_eq(raw_request(&e, "127.0.0.2", "GET"), 429, "and its own limit of 1");
    cr_assert_eq(raw_request(&e, "127.0.0.3", "GET"), 200);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_public, limit_zero_removes_the_endpoint_and_methods)
{
    struct env e;
    struct aa_http_response r;

    env_start(&e, 0);
    aa_http_response_init(&r);
    call(&e, "GET", "/public", false, false, &r);
    cr_assert_eq(r.status, 404, "%ld %s", r.status, r.body);
    cr_assert_null(hdr(&r, "Retry-After"));
    call(&e, "GET", "/public", true, false, &r);
    cr_assert_eq(r.status, 404, "%ld %s", r.status, r.body);
    /* the rest of the resource is unchanged */
    call(&e, "GET", "/data-hwk", true, false, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    aa_http_response_cleanup(&r);
    env_stop(&e);

    /* enabled: only GET/HEAD, other methods 405 like every endpoint */
    env_start(&e, 5);
    aa_http_response_init(&r);
    call(&e, "POST", "/public", false, false, &r);
    cr_assert_eq(r.status, 405, "%ld %s", r.status, r.body);
    cr_assert_not_null(strstr(hdr(&r, "Allow"), "GET"));
    call(&e, "DELETE", "/public", true, false, &r);
    cr_assert_eq(r.status, 405, "%ld %s", r.status, r.body);
    aa_http_response_cleanup(&r);
    env_stop(&e);
}

Test(ref_public, limit_over_the_maximum_is_refused_at_start)
{
    struct aa_ref_resource_config rc;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;

    aa_ref_resource_defaults(&rc);
    rc.public_limit = AA_REF_PUBLIC_LIMIT_MAX + 1;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_resource_start(&rc, &s, &d), AA_E_INVAL);
    cr_assert_null(s);
    cr_assert_not_null(strstr(d.msg, "public_limit"), "%s", d.msg);
    rc.public_limit = AA_REF_PUBLIC_LIMIT_MAX;
    aa_diag_clear(&d);
    cr_assert_eq(aa_ref_resource_start(&rc, &s, &d), AA_OK, "%s", d.msg);
    aa_ref_stop(s);
}

/* ---- concurrency: handlers run on several MHD threads ------------------------------ */

struct burst {
    struct env *e;
    int ok, limited, other;
};

static void *burst_run(void *p)
{
    struct burst *b = p;
    struct aa_http_client *hc = aa_http_client_new(NULL);
    char *url = aa_test_cat(aa_ref_url(b->e->res), "/public");
    struct aa_http_response r;

    aa_http_response_init(&r);
    for (int i = 0; hc != NULL && i < 40; i++) {
        aa_http_response_cleanup(&r);
        aa_http_response_init(&r);
        if (aa_http_get(hc, url, NULL, &r, NULL) != AA_OK)
            b->other++;
        else if (r.status == 200)
            b->ok++;
        else if (r.status == 429)
            b->limited++;
        else
            b->other++;
    }
    aa_http_response_cleanup(&r);
    free(url);
    aa_http_client_free(hc);
    return NULL;
}

Test(ref_public, concurrent_callers_get_exactly_the_limit)
{
    struct env e;
    struct burst b[4];
    pthread_t t[4];
    int ok = 0, limited = 0;

    env_start(&e, 70);
    for (int i = 0; i < 4; i++) {
        b[i] = (struct burst){&e, 0, 0, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, burst_run, &b[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(b[i].other, 0, "thread %d: %d other answers", i, b[i].other);
        ok += b[i].ok;
        limited += b[i].limited;
    }
    cr_assert_eq(ok, 70, "served %d of 160 unsigned requests, limit 70", ok);
    cr_assert_eq(limited, 90);
    env_stop(&e);
}

/* ---- the bounded table (R-13) ------------------------------------------------------- */

Test(ref_public, table_is_bounded_and_refuses_unknown_addresses_when_full)
{
    struct res_public *p = res_public_new(1);
    int64_t ra = 0, now = 1800000000; /* a whole minute: Retry-After 60 */
    char addr[64];

    cr_assert_not_null(p);
    cr_assert_null(res_public_new(0), "limit 0 has no table");
    for (int i = 0; i < RES_PUBLIC_CAPACITY; i++) {
        cr_assert_eq(aa_snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256), AA_OK);
        cr_assert(res_public_take(p, addr, now, &ra), "address %d", i);
        cr_assert_eq(ra, 60);
    }
    /* full of addresses counted in this minute: a new one is refused
     * rather than evicting a counted one, and so is a second request */
    cr_assert_not(res_public_take(p, "10.9.9.9", now + 15, &ra));
    cr_assert_eq(ra, 45);
    cr_assert_not(res_public_take(p, "10.0.0.0", now + 15, &ra));
    cr_assert_not(res_public_take(p, "10.0.3.255", now + 59, &ra));
    cr_assert_eq(ra, 1);
    /* the next minute frees every entry: the new address is served */
    cr_assert(res_public_take(p, "10.9.9.9", now + 60, &ra));
    cr_assert_eq(ra, 60);
    cr_assert(res_public_take(p, "10.0.0.0", now + 61, &ra));
    cr_assert_not(res_public_take(p, "10.0.0.0", now + 62, &ra));
    /* before 1970 the window is still the whole minute holding |now| */
    cr_assert(res_public_take(p, "10.8.8.8", -1, &ra));
    cr_assert_eq(ra, 1);
    cr_assert_not(res_public_take(p, "10.8.8.8", -60, &ra));
    cr_assert_eq(ra, 60);
    res_public_free(p);
    res_public_free(NULL);
}
