/*
 * aa_server (libmicrohttpd adapter): exact request intake, PROFILE#9 RB
 * limits (413/431), slow-client cut-off, connection limits (total and per
 * client address), the request deadline, the spread of connections over
 * the server threads, helpers, transcripts, lifecycle.
 *
 * The client side is a raw socket so the tests control every byte: the
 * request target, duplicate field lines, bodies and broken input. All
 * traffic is on 127.0.0.1 and every server binds port 0. Socket receive
 * timeouts are hang guards only (a guard that fires fails the test); no
 * assertion depends on elapsed time.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server/aa_server.h"

#define GUARD_S 30

/* ---- raw client ------------------------------------------------------- */
static int raw_connect_to(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    struct timeval tv = {GUARD_S, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int raw_connect(uint16_t port)
{
    int fd = raw_connect_to("127.0.0.1", port);
    cr_assert(fd >= 0, "connect to 127.0.0.1:%u failed", (unsigned)port);
    return fd;
}

/* Send everything; a peer that closes early is not an error here. */
static void raw_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        c += k;
        n -= (size_t)k;
    }
}

static void raw_sends(int fd, const char *s)
{
    raw_send(fd, s, strlen(s));
}

struct raw_resp {
    int status;
    char *head; /* header block, NUL-terminated */
    char *body;
    size_t body_len;
    bool eof; /* peer closed */
};

static void raw_resp_free(struct raw_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return p;
    return NULL;
}

/*
 * Read one response: the header block, then Content-Length bytes or chunks
 * (de-chunked) or up to EOF. Buffered leftovers stay in |*carry|.
 */
static bool raw_read(int fd, struct raw_resp *r, struct aa_buf *carry)
{
    char tmp[65536];
    const char *end;
    size_t hl, need;
    const char *cl, *te;

    memset(r, 0, sizeof(*r));
    for (;;) {
        if (carry->p && (end = strstr(carry->p, "\r\n\r\n")) != NULL)
            break;
        ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
        if (k <= 0) {
            r->eof = true;
            return false;
        }
        aa_buf_add(carry, tmp, (size_t)k);
    }
    hl = (size_t)(end - carry->p) + 4;
    r->head = aa_strndup(carry->p, hl);
    sscanf(r->head, "HTTP/1.%*d %d", &r->status);
    cl = find_ci(r->head, "\r\ncontent-length:");
    te = find_ci(r->head, "\r\ntransfer-encoding: chunked");
    memmove(carry->p, carry->p + hl, carry->len - hl + 1);
    carry->len -= hl;
    if (te != NULL) {
        struct aa_buf body;
        aa_buf_init(&body, 0);
        for (;;) {
            char *eol;
            unsigned long sz;
            while (carry->p == NULL || (eol = strstr(carry->p, "\r\n")) == NULL) {
                ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
                if (k <= 0) {
                    r->eof = true;
                    goto chunk_done;
                }
                aa_buf_add(carry, tmp, (size_t)k);
            }
            sz = strtoul(carry->p, NULL, 16);
            need = (size_t)(eol - carry->p) + 2 + sz + 2;
            while (carry->len < need) {
                ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
                if (k <= 0) {
                    r->eof = true;
                    goto chunk_done;
                }
                aa_buf_add(carry, tmp, (size_t)k);
            }
            aa_buf_add(&body, eol + 2, sz);
            memmove(carry->p, carry->p + need, carry->len - need + 1);
            carry->len -= need;
            if (sz == 0)
                break;
        }
    chunk_done:
        r->body = aa_buf_detach(&body, &r->body_len);
        return true;
    }
    need = cl ? strtoul(cl + 17, NULL, 10) : SIZE_MAX;
    while (carry->len < need) {
        ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
        if (k <= 0) {
            r->eof = true;
            break;
        }
        aa_buf_add(carry, tmp, (size_t)k);
    }
    if (need > carry->len)
        need = carry->len;
    r->body = aa_strndup(carry->p ? carry->p : "", need);
    r->body_len = need;
    if (carry->p) {
        memmove(carry->p, carry->p + need, carry->len - need + 1);
        carry->len -= need;
    }
    return true;
}

/* One request on a fresh connection. */
static void exchange(uint16_t port, const void *req, size_t len, struct raw_resp *r)
{
    struct aa_buf carry;
    int fd = raw_connect(port);

    aa_buf_init(&carry, 0);
    raw_send(fd, req, len);
    raw_read(fd, r, &carry);
    aa_buf_free(&carry);
    close(fd);
}

static void exchanges(uint16_t port, const char *req, struct raw_resp *r)
{
    exchange(port, req, strlen(req), r);
}

/* ---- a handler that reports what it saw ------------------------------- */
static void put_view(struct aa_buf *b, const char *k, const char *p, size_t n)
{
    aa_buf_printf(b, "%s=", k);
    if (p == NULL)
        aa_buf_adds(b, "(null)");
    else
        aa_buf_add(b, p, n);
    aa_buf_addc(b, '\n');
}

static void echo_handler(void *ctx, const struct aa_server_request *req,
                         struct aa_server_response *resp)
{
    struct aa_buf b;

    (void)ctx;
    if (aa_server_request_path_is(req, "/only-post")) {
        if (strcmp(req->method, "POST") != 0) {
            aa_server_response_method_not_allowed(resp, req, "POST");
            return;
        }
    } else if (aa_server_request_path_is(req, "/missing")) {
        aa_server_response_not_found(resp, req);
        return;
    } else if (aa_server_request_path_is(req, "/nothing")) {
        return; /* leaves status 0 */
    } else if (aa_server_request_path_is(req, "/redirect")) {
        resp->status = 302;
        aa_server_response_header(resp, "Location", "/elsewhere");
        return;
    }
    aa_buf_init(&b, 0);
    put_view(&b, "method", req->method, strlen(req->method));
    put_view(&b, "target", req->target, req->target_len);
    put_view(&b, "path", req->path, req->path_len);
    put_view(&b, "query", req->query, req->query_len);
    for (size_t i = 0; i < req->n_headers; i++) {
        aa_buf_printf(&b, "h=%s: ", req->headers[i].name);
        aa_buf_add(&b, req->headers[i].value, req->headers[i].value_len);
        aa_buf_addc(&b, '\n');
    }
    aa_buf_printf(&b, "client=%s\n", req->client_addr);
    aa_buf_printf(&b, "body=%zu:", req->body_len);
    aa_buf_add(&b, req->body, req->body_len);
    resp->status = 200;
    aa_server_response_header(resp, "Content-Type", "text/plain");
    aa_server_response_header(resp, "X-Dup", "one");
    aa_server_response_header(resp, "X-Dup", "two");
    aa_server_response_body(resp, b.p, b.len);
    aa_buf_free(&b);
}

static struct aa_server *start_echo(const struct aa_server_opts *extra)
{
    struct aa_server_opts o;
    struct aa_server *s = NULL;
    struct aa_diag d;

    memset(&o, 0, sizeof(o));
    if (extra != NULL)
        o = *extra;
    if (o.handler == NULL)
        o.handler = echo_handler;
    aa_diag_clear(&d);
    cr_assert_eq(aa_server_start(&o, &s, &d), AA_OK, "start: %s", d.msg);
    cr_assert_not_null(s);
    cr_assert_neq(aa_server_port(s), 0);
    return s;
}

/* ---- lifecycle ---------------------------------------------------------- */
Test(server, ephemeral_port_and_origin)
{
    struct aa_server *s = start_echo(NULL);
    char want[64];

    snprintf(want, sizeof(want), "http://127.0.0.1:%u", (unsigned)aa_server_port(s));
    cr_assert_str_eq(aa_server_origin(s), want);
    cr_assert_eq(aa_server_requests(s), 0);
    aa_server_stop(s);
    aa_server_stop(NULL);
}

Test(server, start_errors)
{
    struct aa_server_opts o;
    struct aa_server *s = NULL, *s2 = NULL;
    struct aa_diag d;

    memset(&o, 0, sizeof(o));
    aa_diag_clear(&d);
    cr_assert_eq(aa_server_start(&o, &s, &d), AA_E_INVAL, "a handler is required");
    o.handler = echo_handler;
    o.bind_addr = "localhost";
    cr_assert_eq(aa_server_start(&o, &s, &d), AA_E_SERVER_ADDR);
    cr_assert(strstr(d.msg, "localhost") != NULL, "%s", d.msg);
    cr_assert_null(s);
    o.bind_addr = NULL;
    cr_assert_eq(aa_server_start(&o, &s, &d), AA_OK);
    o.port = aa_server_port(s);
    cr_assert_eq(aa_server_start(&o, &s2, &d), AA_E_SERVER_START, "port in use");
    cr_assert(strstr(d.msg, "127.0.0.1") != NULL, "%s", d.msg);
    cr_assert_null(s2);
    aa_server_stop(s);
    cr_assert_str_eq(aa_server_strerror(AA_E_SERVER_START), "server could not start listening");
    cr_assert_str_eq(aa_strerror(AA_E_SERVER_ADDR), "bind address is not an IP literal");
    cr_assert_null(aa_server_strerror(-42));
}

/* ---- request intake ------------------------------------------------------ */
Test(server, get_roundtrip_with_ordered_duplicate_headers)
{
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;

    exchanges(aa_server_port(s),
              "GET /data HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Dup: first\r\n"
              "x-other: a\r\nX-DUP: second\r\nX-Dup: third\r\n\r\n",
              &r);
    cr_assert_eq(r.status, 200, "%s", r.head);
    cr_assert(strstr(r.body, "h=X-Dup: first\nh=x-other: a\nh=X-DUP: second\nh=X-Dup: third\n") !=
                  NULL,
              "order, duplicates and name case kept: %s", r.body);
    cr_assert(strstr(r.body, "method=GET\n") != NULL);
    cr_assert(strstr(r.body, "client=127.0.0.1\n") != NULL);
    cr_assert(strstr(r.body, "body=0:") != NULL);
    /* response duplicates survive too */
    cr_assert(strstr(r.head, "X-Dup: one\r\nX-Dup: two\r\n") != NULL, "%s", r.head);
    raw_resp_free(&r);
    cr_assert_eq(aa_server_requests(s), 1);
    aa_server_stop(s);
}

Test(server, raw_target_byte_for_byte)
{
    static const struct {
        const char *target, *path, *query;
    } cases[] = {
        {"/a%2Fb/%7e/caf%C3%A9?x=%41&y=+&z", "/a%2Fb/%7e/caf%C3%A9", "x=%41&y=+&z"},
        {"/x?", "/x", ""},
        {"/x", "/x", NULL},
        {"/a/../b/./c//d", "/a/../b/./c//d", NULL},
        {"/q?a=1?b=2&&c", "/q", "a=1?b=2&&c"},
        {"/%00%zz", "/%00%zz", NULL},
        {"http://127.0.0.1:9/abs?k=v", "/abs", "k=v"},
    };
    struct aa_server *s = start_echo(NULL);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[512], want[256];
        struct raw_resp r;
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", cases[i].target);
        exchanges(aa_server_port(s), req, &r);
        cr_assert_eq(r.status, 200, "%s -> %d", cases[i].target, r.status);
        snprintf(want, sizeof(want), "target=%s\n", cases[i].target);
        cr_assert(strstr(r.body, want) != NULL, "%s: %s", cases[i].target, r.body);
        snprintf(want, sizeof(want), "path=%s\n", cases[i].path);
        cr_assert(strstr(r.body, want) != NULL, "%s: %s", cases[i].target, r.body);
        snprintf(want, sizeof(want), "query=%s\n", cases[i].query ? cases[i].query : "(null)");
        cr_assert(strstr(r.body, want) != NULL, "%s: %s", cases[i].target, r.body);
        raw_resp_free(&r);
    }
    aa_server_stop(s);
}

Test(server, post_body_binary_and_chunked)
{
    static const char bin[] = "a\0b\r\n\xff";
    struct aa_server *s = start_echo(NULL);
    struct aa_buf req;
    struct raw_resp r;

    aa_buf_init(&req, 0);
    aa_buf_printf(&req, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n",
                  sizeof(bin) - 1);
    aa_buf_add(&req, bin, sizeof(bin) - 1);
    exchange(aa_server_port(s), req.p, req.len, &r);
    cr_assert_eq(r.status, 200);
    {
        const char *b = strstr(r.body, "body=6:");
        cr_assert_not_null(b, "%s", r.body);
        cr_assert_eq(r.body_len - (size_t)(b + 7 - r.body), sizeof(bin) - 1);
        cr_assert(memcmp(b + 7, bin, sizeof(bin) - 1) == 0, "body bytes preserved, NUL included");
    }
    raw_resp_free(&r);
    aa_buf_free(&req);

    exchanges(aa_server_port(s),
              "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
              &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "body=7:abcdefg") != NULL, "%s", r.body);
    raw_resp_free(&r);
    aa_server_stop(s);
}

Test(server, keep_alive_two_requests_one_connection)
{
    struct aa_server *s = start_echo(NULL);
    struct aa_buf carry;
    struct raw_resp r1, r2;
    int fd = raw_connect(aa_server_port(s));

    aa_buf_init(&carry, 0);
    raw_sends(fd, "GET /one?a HTTP/1.1\r\nHost: h\r\n\r\nGET /two?b HTTP/1.1\r\nHost: h\r\n\r\n");
    cr_assert(raw_read(fd, &r1, &carry));
    cr_assert(raw_read(fd, &r2, &carry));
    cr_assert(strstr(r1.body, "target=/one?a\n") != NULL, "%s", r1.body);
    cr_assert(strstr(r2.body, "target=/two?b\n") != NULL, "%s", r2.body);
    raw_resp_free(&r1);
    raw_resp_free(&r2);
    aa_buf_free(&carry);
    close(fd);
    aa_server_stop(s);
}

/* ---- helpers: 404 / 405 / 500 / 302 ------------------------------------- */
Test(server, not_found_method_not_allowed_and_empty_handler)
{
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;

    exchanges(aa_server_port(s), "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 404);
    cr_assert(find_ci(r.head, "\r\nContent-Type: application/json") != NULL, "%s", r.head);
    cr_assert_str_eq(r.body,
                     "{\"error\":\"invalid_request\",\"error_description\":\"no resource at "
                     "/missing\"}");
    raw_resp_free(&r);

    exchanges(aa_server_port(s), "GET /only-post HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 405);
    cr_assert(find_ci(r.head, "\r\nAllow: POST\r\n") != NULL, "%s", r.head);
    cr_assert(strstr(r.body, "\"error\":\"invalid_request\"") != NULL);
    raw_resp_free(&r);

    exchanges(aa_server_port(s), "POST /only-post HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
              &r);
    cr_assert_eq(r.status, 200, "POST is the allowed method");
    raw_resp_free(&r);

    exchanges(aa_server_port(s), "GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 500);
    cr_assert(strstr(r.body, "\"error\":\"server_error\"") != NULL, "%s", r.body);
    raw_resp_free(&r);

    exchanges(aa_server_port(s), "GET /redirect HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 302);
    cr_assert(find_ci(r.head, "\r\nLocation: /elsewhere\r\n") != NULL);
    raw_resp_free(&r);
    aa_server_stop(s);
}

Test(server, response_helpers_without_server)
{
    struct aa_server_response r;

    aa_server_response_init(&r);
    cr_assert_eq(aa_server_response_header(&r, "Bad Name", "v"), AA_E_SERVER_HEADER);
    cr_assert_eq(aa_server_response_header(&r, "X", "a\r\nInjected: 1"), AA_E_SERVER_HEADER);
    cr_assert_eq(aa_server_response_header(&r, "", "v"), AA_E_SERVER_HEADER);
    cr_assert_eq(r.n_headers, 0);
    cr_assert_eq(
        aa_server_response_error(&r, 400, "invalid_request", "bad \"%s\" \x01 \xff", "q\\"), AA_OK);
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(r.body.p, "{\"error\":\"invalid_request\",\"error_description\":"
                               "\"bad \\\"q\\\\\\\" \\u0001 \\ufffd\"}");
    cr_assert_str_eq(aa_server_response_get_header(&r, "content-type"), "application/json");
    aa_server_response_cleanup(&r);
    cr_assert_eq(r.n_headers, 0);
    cr_assert_eq(aa_server_response_error(&r, 403, "access_denied", NULL), AA_OK);
    cr_assert_str_eq(r.body.p, "{\"error\":\"access_denied\"}");
    aa_server_response_cleanup(&r);
    cr_assert_str_eq(aa_server_reason(431), "Request Header Fields Too Large");
    cr_assert_str_eq(aa_server_reason(299), "");
}

/* ---- PROFILE#9 RB-02: 413 ------------------------------------------------ */
Test(server, body_over_1mib_declared_gets_413_before_upload)
{
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;

    /* only the head is sent, with Expect: 100-continue (RFC 9110 section
     * 10.1.1): the 413 must not wait for the body */
    exchanges(aa_server_port(s),
              "POST /p HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
              "Expect: 100-continue\r\nContent-Length: 1048577\r\n\r\n",
              &r);
    cr_assert_eq(r.status, 413, "%s", r.head);
    cr_assert(find_ci(r.head, "\r\nContent-Type: application/json") != NULL);
    cr_assert(strstr(r.body, "{\"error\":\"invalid_request\",\"error_description\":") == r.body,
              "%s", r.body);
    cr_assert(strstr(r.body, "1048577") != NULL, "names the size: %s", r.body);
    raw_resp_free(&r);
    aa_server_stop(s);
}

static void post_sized(uint16_t port, size_t n, bool chunked, struct raw_resp *r)
{
    struct aa_buf req;
    char *body = malloc(n);

    memset(body, 'x', n);
    aa_buf_init(&req, 0);
    if (chunked) {
        aa_buf_adds(&req, "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (size_t off = 0; off < n; off += 65536) {
            size_t k = n - off < 65536 ? n - off : 65536;
            aa_buf_printf(&req, "%zx\r\n", k);
            aa_buf_add(&req, body + off, k);
            aa_buf_adds(&req, "\r\n");
        }
        aa_buf_adds(&req, "0\r\n\r\n");
    } else {
        aa_buf_printf(&req, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n", n);
        aa_buf_add(&req, body, n);
    }
    exchange(port, req.p, req.len, r);
    aa_buf_free(&req);
    free(body);
}

Test(server, body_limit_boundary_and_streamed_overflow)
{
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;
    char want[32];

    post_sized(aa_server_port(s), (size_t)1024 * 1024, false, &r);
    cr_assert_eq(r.status, 200, "exactly 1 MiB is allowed");
    snprintf(want, sizeof(want), "body=%zu:", (size_t)1024 * 1024);
    cr_assert(strstr(r.body, want) != NULL);
    raw_resp_free(&r);

    /* Content-Length 1 MiB + 1 without Expect: read and dropped, then the
     * 413, so the client that is still sending receives it */
    post_sized(aa_server_port(s), (size_t)1024 * 1024 + 1, false, &r);
    cr_assert_eq(r.status, 413, "declared body of 1 MiB + 1");
    cr_assert(strstr(r.body, "\"error\":\"invalid_request\"") != NULL);
    raw_resp_free(&r);

    post_sized(aa_server_port(s), (size_t)1024 * 1024 + 1, true, &r);
    cr_assert_eq(r.status, 413, "chunked body of 1 MiB + 1");
    cr_assert(strstr(r.body, "\"error\":\"invalid_request\"") != NULL);
    raw_resp_free(&r);

    post_sized(aa_server_port(s), (size_t)1024 * 1024, true, &r);
    cr_assert_eq(r.status, 200, "chunked body of exactly 1 MiB");
    raw_resp_free(&r);

    /* past the discard cap the server hangs up rather than read forever */
    post_sized(aa_server_port(s), (size_t)6 * 1024 * 1024, true, &r);
    cr_assert_eq(r.status, 0, "no answer after %d", r.status);
    cr_assert(r.eof);
    raw_resp_free(&r);
    exchanges(aa_server_port(s), "GET /alive HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 200);
    raw_resp_free(&r);
    aa_server_stop(s);
}

/* ---- PROFILE#9 RB-01: 431 ------------------------------------------------ */
static void get_with_headers(uint16_t port, size_t nfields, size_t each, struct raw_resp *r)
{
    struct aa_buf req;

    aa_buf_init(&req, 0);
    aa_buf_adds(&req, "GET /h HTTP/1.1\r\nHost: h\r\n");
    for (size_t i = 0; i < nfields; i++) {
        aa_buf_printf(&req, "X-Big-%zu: ", i);
        for (size_t k = 0; k < each; k++)
            aa_buf_addc(&req, 'v');
        aa_buf_adds(&req, "\r\n");
    }
    aa_buf_adds(&req, "\r\n");
    exchange(port, req.p, req.len, r);
    aa_buf_free(&req);
}

Test(server, header_limits_431)
{
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;

    get_with_headers(aa_server_port(s), 1, 16 * 1024 - 64, &r);
    cr_assert_eq(r.status, 200, "a field just under 16 KiB passes");
    raw_resp_free(&r);

    get_with_headers(aa_server_port(s), 1, 17 * 1024, &r);
    cr_assert_eq(r.status, 431, "one 17 KiB field");
    cr_assert(strstr(r.body, "{\"error\":\"invalid_request\"") == r.body, "%s", r.body);
    cr_assert(strstr(r.body, "field too large") != NULL, "%s", r.body);
    raw_resp_free(&r);

    /* 5 fields of 13 KiB: each is fine, the block is 65+ KiB */
    get_with_headers(aa_server_port(s), 5, 13 * 1024, &r);
    cr_assert_eq(r.status, 431, "a 65 KiB header block");
    cr_assert(strstr(r.body, "block too large") != NULL, "%s", r.body);
    raw_resp_free(&r);

    /* 4 fields of 15 KiB = 60 KiB block: allowed */
    get_with_headers(aa_server_port(s), 4, 15 * 1024, &r);
    cr_assert_eq(r.status, 200, "a 60 KiB block passes");
    raw_resp_free(&r);
    aa_server_stop(s);
}

/* Beyond the MHD pool the library answers on its own (documented). */
Test(server, header_block_beyond_pool_still_431)
{
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;

    get_with_headers(aa_server_port(s), 40, 15 * 1024, &r); /* 600 KiB */
    cr_assert_eq(r.status, 431, "%s", r.head ? r.head : "(no response)");
    raw_resp_free(&r);
    /* and the server keeps serving */
    exchanges(aa_server_port(s), "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 200);
    raw_resp_free(&r);
    aa_server_stop(s);
}

/* ---- slow clients are cut ------------------------------------------------ */
Test(server, slow_client_connection_is_closed)
{
    struct aa_server_opts o;
    struct aa_server *s;
    char buf[256];
    ssize_t k;
    int fd;

    memset(&o, 0, sizeof(o));
    o.timeout_s = 1;
    s = start_echo(&o);
    fd = raw_connect(aa_server_port(s));
    raw_sends(fd, "GET /slow HTTP/1.1\r\nHost: h\r\n"); /* never finishes */
    k = recv(fd, buf, sizeof(buf), 0);
    /* EOF (or a reset) means the server dropped us; EAGAIN would mean the
     * hang guard fired instead */
    cr_assert(k == 0 || (k < 0 && errno == ECONNRESET), "recv=%zd errno=%d", k, errno);
    close(fd);
    aa_server_stop(s);
}

/* ---- hostile input never crashes it ------------------------------------ */
Test(server, garbage_input_then_still_serving)
{
#define J(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }
    static const struct {
        const char *p;
        size_t n;
    } junk[] = {
        J("\x00\x01\x02garbage\r\n\r\n"),
        J("GET\r\n\r\n"),
        J("GET / HTTP/1.1\r\nNoColonHere\r\n\r\n"),
        J("GET / HTTP/1.1\r\nHost: h\r\nX-Nul: a\0"
          "b\r\n\r\n"),
        J("GET / HTTP/1.1\r\nHost: h\r\nX-Ctl: a\x01\x7f"
          "b\r\n\r\n"),
        J("GET / HTTP/9.9\r\n\r\n"),
        J("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n"),
        J("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        J("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde"),
        J("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        J("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"),
        J(" / HTTP/1.1\r\n\r\n"),
        J("\r\n\r\n\r\n"),
        J("GET / HTTP/1.1\r\n: empty-name\r\n\r\n"),
    };
#undef J
    struct aa_server_opts o;
    struct aa_server *s;
    struct raw_resp r;

    /* incomplete junk is only ended by the idle cut-off: keep it short */
    memset(&o, 0, sizeof(o));
    o.timeout_s = 1;
    s = start_echo(&o);

    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        int fd = raw_connect(aa_server_port(s));
        struct aa_buf carry;
        aa_buf_init(&carry, 0);
        raw_send(fd, junk[i].p, junk[i].n);
        shutdown(fd, SHUT_WR);
        if (raw_read(fd, &r, &carry))
            cr_assert(r.status == 200 || (r.status >= 400 && r.status < 500) || r.status == 505,
                      "junk %zu: status %d", i, r.status);
        raw_resp_free(&r);
        aa_buf_free(&carry);
        close(fd);
    }
    exchanges(aa_server_port(s), "GET /after HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 200);
    raw_resp_free(&r);
    aa_server_stop(s);
}

/* RFC 9112 rules MHD 0.9.75 lets through; the adapter answers 400 JSON. */
Test(server, rfc9112_syntax_and_framing_rejected)
{
    static const char *bad[] = {
        "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /x#frag HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-Sp : v\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    };
    static const char *why[] = {"request-target", "request-target", "request-target", "field name",
                                "Host",           "Host",           "framing",        "framing"};
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        exchanges(aa_server_port(s), bad[i], &r);
        cr_assert_eq(r.status, 400, "case %zu: %d", i, r.status);
        cr_assert(strstr(r.body, "{\"error\":\"invalid_request\"") == r.body, "%s", r.body);
        cr_assert(strstr(r.body, why[i]) != NULL, "case %zu: %s", i, r.body);
        cr_assert(find_ci(r.head, "\r\nConnection: close\r\n") != NULL, "%s", r.head);
        raw_resp_free(&r);
    }
    /* HTTP/1.0 needs no Host; trailing whitespace is not part of a value */
    exchanges(aa_server_port(s), "GET /ten HTTP/1.0\r\nX-Pad:   v w \t \r\n\r\n", &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "h=X-Pad: v w\n") != NULL, "%s", r.body);
    raw_resp_free(&r);
    aa_server_stop(s);
}

Test(server, unusual_method_reaches_handler)
{
    struct aa_server *s = start_echo(NULL);
    struct raw_resp r;

    exchanges(aa_server_port(s), "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "method=BREW\n") != NULL, "%s", r.body);
    raw_resp_free(&r);
    aa_server_stop(s);
}

/* ---- log and transcript hooks --------------------------------------------- */
struct capture {
    pthread_mutex_t mu;
    struct aa_buf log;
    struct aa_buf tr;
};

static void cap_log(void *ctx, const char *line)
{
    struct capture *c = ctx;
    pthread_mutex_lock(&c->mu);
    aa_buf_adds(&c->log, line);
    aa_buf_addc(&c->log, '\n');
    pthread_mutex_unlock(&c->mu);
}

static void cap_tr(void *ctx, const struct aa_server_request *req,
                   const struct aa_server_response *resp)
{
    struct capture *c = ctx;
    pthread_mutex_lock(&c->mu);
    aa_server_transcript(&c->tr, "RESOURCE", NULL, req, resp, 0);
    pthread_mutex_unlock(&c->mu);
}

Test(server, log_and_transcript_hooks)
{
    struct capture c;
    struct aa_server_opts o;
    struct aa_server *s;
    struct raw_resp r;
    char req[512];
    char longv[151];

    pthread_mutex_init(&c.mu, NULL);
    aa_buf_init(&c.log, 0);
    aa_buf_init(&c.tr, 0);
    memset(&o, 0, sizeof(o));
    o.log = cap_log;
    o.log_ctx = &c;
    o.transcript = cap_tr;
    o.transcript_ctx = &c;
    s = start_echo(&o);
    memset(longv, 'k', 150);
    longv[150] = '\0';
    snprintf(req, sizeof(req),
             "GET /data-jwks?secret=1 HTTP/1.1\r\nHost: h\r\nSignature-Key: %s\r\n\r\n", longv);
    exchanges(aa_server_port(s), req, &r);
    cr_assert_eq(r.status, 200);
    raw_resp_free(&r);
    exchanges(aa_server_port(s), "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    raw_resp_free(&r);
    exchanges(aa_server_port(s),
              "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
              "Content-Length: 2000000\r\n\r\n",
              &r);
    cr_assert_eq(r.status, 413);
    raw_resp_free(&r);
    aa_server_stop(s);

    cr_assert(strstr(c.log.p, "GET /data-jwks 200 ") == c.log.p, "%s", c.log.p);
    cr_assert(strstr(c.log.p, "secret") == NULL, "query kept out of logs");
    cr_assert(strstr(c.log.p, "\nGET /missing 404 ") != NULL, "%s", c.log.p);
    cr_assert(strstr(c.log.p, "\nPOST /x 413 ") != NULL, "adapter answers logged: %s", c.log.p);
    cr_assert(strstr(c.tr.p, ">>> RESOURCE REQUEST received\n") != NULL);
    cr_assert(strstr(c.tr.p, "GET /data-jwks?secret=1 HTTP/1.1\n") != NULL);
    {
        char want[128];
        memset(want, 0, sizeof(want));
        memcpy(want, "Signature-Key: ", 15);
        memset(want + 15, 'k', 97);
        memcpy(want + 15 + 97, "...\n", 4);
        cr_assert(strstr(c.tr.p, want) != NULL, "97 chars + ...: %s", c.tr.p);
    }
    cr_assert(strstr(c.tr.p, "<<< RESOURCE RESPONSE\n") != NULL);
    cr_assert(strstr(c.tr.p, "HTTP/1.1 200 OK\n") != NULL);
    cr_assert(strstr(c.tr.p, "HTTP/1.1 404 Not Found\n") != NULL);
    aa_buf_free(&c.log);
    aa_buf_free(&c.tr);
}

Test(server, transcript_render_full_and_body)
{
    struct aa_server_header h[2] = {{"content-type", "application/json", 16},
                                    {"x-long", NULL, 120}};
    struct aa_server_request req;
    struct aa_server_response resp;
    struct aa_buf out;
    char v[121];

    memset(v, 'z', 120);
    v[120] = '\0';
    h[1].value = v;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.version = "HTTP/1.1";
    req.target = "/delegate/token";
    req.target_len = 15;
    req.headers = h;
    req.n_headers = 2;
    req.body = "{\"sub\":\"delegate-1\"}";
    req.body_len = strlen(req.body);
    aa_server_response_init(&resp);
    aa_server_response_json(&resp, 200, "{\"ok\":true}");
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_server_transcript(&out, "AGENT SERVER", "delegate token", &req, &resp,
                                      AA_SERVER_TR_FULL),
                 AA_OK);
    cr_assert(strstr(out.p, ">>> AGENT SERVER REQUEST received (delegate token)\n") != NULL);
    cr_assert(strstr(out.p, v) != NULL, "FULL keeps the whole value");
    cr_assert(strstr(out.p, "\n[Body (20 bytes)]\n{\"sub\":\"delegate-1\"}\n") != NULL, "%s",
              out.p);
    cr_assert(strstr(out.p, "\n[Body (11 bytes)]\n{\"ok\":true}\n=====") != NULL, "%s", out.p);
    cr_assert(strstr(out.p, "Content-Type: application/json\n") != NULL);
    aa_buf_free(&out);
    aa_server_response_cleanup(&resp);
}

/* ---- concurrency and shutdown ------------------------------------------- */
static void *client_thread(void *arg)
{
    uint16_t port = *(uint16_t *)arg;
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        struct raw_resp r;
        exchanges(port, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n", &r);
        ok += r.status == 200;
        raw_resp_free(&r);
    }
    return (void *)(intptr_t)ok;
}

Test(server, concurrent_clients)
{
    struct aa_server_opts o;
    struct aa_server *s;
    pthread_t t[4];
    uint16_t port;
    intptr_t total = 0;

    memset(&o, 0, sizeof(o));
    o.threads = 2;
    s = start_echo(&o);
    port = aa_server_port(s);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, client_thread, &port);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        total += (intptr_t)rv;
    }
    cr_assert_eq(total, 80);
    cr_assert_eq(aa_server_requests(s), 80);
    aa_server_stop(s);
}

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, release;
};

static void gated_handler(void *ctx, const struct aa_server_request *req,
                          struct aa_server_response *resp)
{
    struct gate *g = ctx;
    (void)req;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->release)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    aa_server_response_json(resp, 200, "{\"done\":true}");
}

struct inflight_client {
    uint16_t port;
    struct raw_resp r;
};

static void *inflight_client(void *arg)
{
    struct inflight_client *ic = arg;
    exchanges(ic->port, "GET /gate HTTP/1.1\r\nHost: h\r\n\r\n", &ic->r);
    return NULL;
}

static void *stopper(void *arg)
{
    aa_server_stop(arg);
    return NULL;
}

Test(server, stop_waits_for_in_flight_request)
{
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
    struct aa_server_opts o;
    struct aa_server *s;
    struct inflight_client ic;
    pthread_t tc, ts;
    int fd;
    long spins = 0;

    memset(&o, 0, sizeof(o));
    o.handler = gated_handler;
    o.ctx = &g;
    s = start_echo(&o);
    memset(&ic, 0, sizeof(ic));
    ic.port = aa_server_port(s);
    pthread_create(&tc, NULL, inflight_client, &ic);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    pthread_create(&ts, NULL, stopper, s);
    /* the stopper has quiesced once new connections are refused */
    while ((fd = raw_connect_to("127.0.0.1", ic.port)) >= 0) {
        close(fd);
        sched_yield();
        cr_assert(++spins < 10000000, "listener never closed");
    }
    pthread_mutex_lock(&g.mu);
    g.release = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(ts, NULL);
    pthread_join(tc, NULL);
    cr_assert_eq(ic.r.status, 200, "the in-flight request was answered");
    cr_assert_str_eq(ic.r.body, "{\"done\":true}");
    raw_resp_free(&ic.r);
}

/* ---- streamed responses ---------------------------------------------------- */
static long endless(void *ctx, uint64_t pos, char *buf, size_t max)
{
    (void)ctx;
    (void)pos;
    memset(buf, 'e', max);
    return (long)max;
}

static long three_bytes(void *ctx, uint64_t pos, char *buf, size_t max)
{
    (void)ctx;
    if (pos >= 3 || max == 0)
        return 0;
    buf[0] = 'a';
    return 1;
}

static int freed_count;
static void count_free(void *ctx)
{
    (void)ctx;
    freed_count++;
}

static void stream_handler(void *ctx, const struct aa_server_request *req,
                           struct aa_server_response *resp)
{
    (void)ctx;
    resp->status = 200;
    if (aa_server_request_path_is(req, "/endless"))
        aa_server_response_stream(resp, UINT64_MAX, endless, NULL, count_free);
    else
        aa_server_response_stream(resp, UINT64_MAX, three_bytes, NULL, count_free);
}

Test(server, streamed_bodies)
{
    struct aa_server_opts o;
    struct aa_server *s;
    struct raw_resp r;
    char buf[65536];
    size_t got = 0;
    int fd;

    memset(&o, 0, sizeof(o));
    o.handler = stream_handler;
    o.threads = 1;
    s = start_echo(&o);
    exchanges(aa_server_port(s), "GET /three HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "aaa");
    raw_resp_free(&r);

    fd = raw_connect(aa_server_port(s));
    raw_sends(fd, "GET /endless HTTP/1.1\r\nHost: h\r\n\r\n");
    while (got < (size_t)4 * 1024 * 1024) {
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        cr_assert(k > 0, "endless body keeps coming");
        got += (size_t)k;
    }
    close(fd);
    aa_server_stop(s);
    cr_assert_eq(freed_count, 2, "stream contexts released once each");
}

/* ---- connection limits and the request deadline (docs/security.md) -------- */

/* A connection to the server (on 127.0.0.1) from the local address |src|
 * (any of 127.0.0.0/8 is this host on Linux). */
static int raw_connect_from(const char *src, uint16_t port)
{
    struct sockaddr_in a;
    struct timeval tv = {GUARD_S, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, src, &a.sin_addr), 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s: %s", src,
                 strerror(errno));
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect from %s", src);
    return fd;
}

/* One request on |fd|, which stays open (keep-alive); the status, or 0
 * when the server closed the connection without an answer. */
static int request_on(int fd, const char *path)
{
    struct aa_buf carry, req;
    struct raw_resp r;
    int status;

    aa_buf_init(&req, 0);
    aa_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path);
    aa_buf_init(&carry, 0);
    raw_send(fd, req.p, req.len);
    status = raw_read(fd, &r, &carry) ? r.status : 0;
    raw_resp_free(&r);
    aa_buf_free(&carry);
    aa_buf_free(&req);
    return status;
}

/* The server closed |fd| (EOF or reset); a hang guard would give EAGAIN. */
static void expect_closed(int fd, const char *what)
{
    char buf[256];
    ssize_t k = recv(fd, buf, sizeof(buf), 0);

    cr_assert(k == 0 || (k < 0 && errno == ECONNRESET), "%s: recv=%zd errno=%d", what, k,
              k < 0 ? errno : 0);
}

Test(server, per_ip_connection_limit)
{
    struct aa_server_opts o;
    struct aa_server_stats st;
    struct aa_server *s;
    int a, b, c, other, again = -1;
    long spins = 0;

    memset(&o, 0, sizeof(o));
    o.max_connections_per_ip = 2;
    s = start_echo(&o);
    a = raw_connect_from("127.0.0.1", aa_server_port(s));
    b = raw_connect_from("127.0.0.1", aa_server_port(s));
    cr_assert_eq(request_on(a, "/a"), 200);
    cr_assert_eq(request_on(b, "/b"), 200);
    /* a third connection from the same address: closed, never answered */
    c = raw_connect_from("127.0.0.1", aa_server_port(s));
    raw_sends(c, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_closed(c, "third connection from 127.0.0.1");
    close(c);
    aa_server_stats(s, &st);
    cr_assert_eq(st.refused, 1);
    cr_assert_eq(st.accepted, 2);
    /* another address is not affected */
    other = raw_connect_from("127.0.0.2", aa_server_port(s));
    cr_assert_eq(request_on(other, "/other"), 200);
    /* the limit counts open connections: once one closes, there is room */
    close(a);
    for (;;) {
        again = raw_connect_from("127.0.0.1", aa_server_port(s));
        if (request_on(again, "/again") == 200)
            break;
        close(again);
        sched_yield();
        cr_assert(++spins < 100000, "the closed connection was never released");
    }
    close(again);
    close(other);
    close(b);
    aa_server_stop(s);
}

Test(server, global_connection_limit)
{
    struct aa_server_opts o;
    struct aa_server_stats st;
    struct aa_server *s;
    int a, b, c;

    memset(&o, 0, sizeof(o));
    o.max_connections = 2;
    o.threads = 2;
    s = start_echo(&o);
    a = raw_connect_from("127.0.0.1", aa_server_port(s));
    b = raw_connect_from("127.0.0.2", aa_server_port(s));
    cr_assert_eq(request_on(a, "/a"), 200);
    cr_assert_eq(request_on(b, "/b"), 200);
    c = raw_connect_from("127.0.0.3", aa_server_port(s));
    raw_sends(c, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_closed(c, "third connection over max_connections");
    close(c);
    aa_server_stats(s, &st);
    cr_assert_eq(st.refused, 1);
    cr_assert_eq(st.open, 2);
    /* the held connections still work */
    cr_assert_eq(request_on(a, "/a2"), 200);
    close(a);
    close(b);
    aa_server_stop(s);
}

Test(server, connection_limit_options_checked)
{
    struct aa_server_opts o;
    struct aa_server *s = NULL;
    struct aa_diag d;

    memset(&o, 0, sizeof(o));
    o.handler = echo_handler;
    o.max_connections = AA_SERVER_MAX_CONNECTIONS_LIMIT + 1;
    aa_diag_clear(&d);
    cr_assert_eq(aa_server_start(&o, &s, &d), AA_E_SERVER_CONFIG);
    cr_assert(strstr(d.msg, "max_connections") != NULL, "%s", d.msg);
    cr_assert_null(s);
    o.max_connections = 0;
    o.request_timeout_s = AA_SERVER_TIMEOUT_MAX + 1;
    cr_assert_eq(aa_server_start(&o, &s, &d), AA_E_SERVER_CONFIG);
    o.request_timeout_s = 0;
    o.timeout_s = AA_SERVER_TIMEOUT_MAX + 1;
    cr_assert_eq(aa_server_start(&o, &s, &d), AA_E_SERVER_CONFIG);
    cr_assert_null(s);
}

/*
 * Slow-loris by trickling: a byte every 200 ms keeps the connection from
 * ever being idle for the 30 s inactivity timeout, but the whole request
 * must arrive within request_timeout_s (1 s here). The 200 ms pauses pace
 * the client; nothing asserts a duration: the connection must be closed
 * (by the deadline, as the counter shows) before the 300 header bytes run
 * out, without a response byte.
 */
Test(server, trickling_client_closed_by_request_deadline)
{
    struct aa_server_opts o;
    struct aa_server_stats st;
    struct aa_server *s;
    bool closed = false;
    int fd, sent = 0;

    memset(&o, 0, sizeof(o));
    o.timeout_s = 30;
    o.request_timeout_s = 1;
    s = start_echo(&o);
    fd = raw_connect(aa_server_port(s));
    raw_sends(fd, "GET /trickle HTTP/1.1\r\nHost: h\r\nX-Trickle: ");
    while (!closed && sent < 300) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) {
            expect_closed(fd, "trickling connection");
            closed = true;
        } else {
            raw_send(fd, "a", 1);
            sent++;
        }
    }
    cr_assert(closed, "still open after %d trickled bytes", sent);
    close(fd);
    aa_server_stats(s, &st);
    cr_assert_eq(st.deadline_closed, 1);
    cr_assert_eq(st.requests, 0, "no response was sent");
    /* a prompt client on the same server is served */
    fd = raw_connect(aa_server_port(s));
    cr_assert_eq(request_on(fd, "/prompt"), 200);
    close(fd);
    aa_server_stop(s);
}

/* The deadline covers receiving a request, not sending its response: an
 * endless body read slowly for longer than the deadline keeps flowing. */
Test(server, request_deadline_spares_slow_responses)
{
    struct aa_server_opts o;
    struct aa_server_stats st;
    struct aa_server *s;
    char buf[4096];
    int fd;

    memset(&o, 0, sizeof(o));
    o.handler = stream_handler;
    o.request_timeout_s = 1;
    o.threads = 1;
    s = start_echo(&o);
    fd = raw_connect(aa_server_port(s));
    raw_sends(fd, "GET /endless HTTP/1.1\r\nHost: h\r\n\r\n");
    for (int i = 0; i < 12; i++) {
        struct timespec pause = {0, 250 * 1000 * 1000};
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        cr_assert(k > 0, "read %d: recv=%zd errno=%d", i, k, k < 0 ? errno : 0);
        nanosleep(&pause, NULL); /* a slow reader */
    }
    aa_server_stats(s, &st);
    cr_assert_eq(st.deadline_closed, 0);
    close(fd);
    aa_server_stop(s);
}

/* Each new connection goes to the least loaded daemon thread: eight
 * connections on two threads are served four by four, whatever the order
 * in which the threads wake up. */
static pthread_t seen_threads[8];
static unsigned seen_counts[8], n_seen;
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;

static void thread_handler(void *ctx, const struct aa_server_request *req,
                           struct aa_server_response *resp)
{
    pthread_t me = pthread_self();
    unsigned i;

    (void)ctx;
    (void)req;
    pthread_mutex_lock(&seen_mu);
    for (i = 0; i < n_seen; i++)
        if (pthread_equal(seen_threads[i], me))
            break;
    if (i == n_seen && n_seen < 8)
        seen_threads[n_seen++] = me;
    if (i < 8)
        seen_counts[i]++;
    pthread_mutex_unlock(&seen_mu);
    aa_server_response_json(resp, 200, "{}");
}

Test(server, connections_spread_over_threads)
{
    struct aa_server_opts o;
    struct aa_server *s;
    int fd[8];

    memset(&o, 0, sizeof(o));
    o.handler = thread_handler;
    o.threads = 2;
    s = start_echo(&o);
    for (int i = 0; i < 8; i++)
        fd[i] = raw_connect(aa_server_port(s));
    for (int i = 0; i < 8; i++)
        cr_assert_eq(request_on(fd[i], "/t"), 200);
    for (int i = 0; i < 8; i++)
        close(fd[i]);
    aa_server_stop(s);
    cr_assert_eq(n_seen, 2, "%u threads served", n_seen);
    cr_assert_eq(seen_counts[0], 4, "%u and %u", seen_counts[0], seen_counts[1]);
    cr_assert_eq(seen_counts[1], 4);
}
