/*
 * aa_http: URL / identifier / form helpers (RFC 3986, PROFILE#1 D-1,
 * PROFILE#2.5, PROFILE#6), header lists, transcripts (PROFILE#8), and the
 * libcurl client against a scripted peer on 127.0.0.1.
 *
 * The peer is a raw socket in a thread, so each test knows exactly what
 * the client put on the wire and can answer with anything: an echo of the
 * request, fixed bytes (302, garbage, interim 100), silence (timeouts) or
 * an endless body. No assertion depends on elapsed time; socket timeouts
 * are hang guards only.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http/aa_discovery.h"
#include "http/aa_http.h"

/* ---- scripted peer ------------------------------------------------------ */
enum peer_mode { PEER_ECHO, PEER_FIXED, PEER_SILENT, PEER_ENDLESS };

struct peer {
    int lfd;
    uint16_t port;
    pthread_t th;
    enum peer_mode mode;
    const char *fixed;
    size_t fixed_len;
    pthread_mutex_t mu;
    struct aa_buf last; /* raw bytes of the last request */
    int accepted;
    int requests;
    int cfd; /* connection being served, -1 if none */
    bool stopping;
};

static bool read_request(int fd, struct aa_buf *in, struct aa_buf *req)
{
    char tmp[16384];
    const char *end;
    size_t hl, need = 0;
    const char *cl;

    aa_buf_reset(req);
    while (in->p == NULL || (end = strstr(in->p, "\r\n\r\n")) == NULL) {
        ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
        if (k <= 0)
            return false;
        aa_buf_add(in, tmp, (size_t)k);
    }
    hl = (size_t)(end - in->p) + 4;
    for (cl = in->p; cl < end; cl++)
        if (strncasecmp(cl, "\r\ncontent-length:", 17) == 0) {
            need = strtoul(cl + 17, NULL, 10);
            break;
        }
    while (in->len < hl + need) {
        ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
        if (k <= 0)
            return false;
        aa_buf_add(in, tmp, (size_t)k);
    }
    aa_buf_add(req, in->p, hl + need);
    memmove(in->p, in->p + hl + need, in->len - hl - need + 1);
    in->len -= hl + need;
    return true;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void *peer_main(void *arg)
{
    struct peer *pr = arg;

    for (;;) {
        struct aa_buf in, req;
        int fd = accept(pr->lfd, NULL, NULL);
        if (fd < 0)
            return NULL; /* listener shut down */
        pthread_mutex_lock(&pr->mu);
        pr->accepted++;
        pr->cfd = fd;
        if (pr->stopping)
            shutdown(fd, SHUT_RDWR);
        pthread_mutex_unlock(&pr->mu);
        aa_buf_init(&in, 0);
        aa_buf_init(&req, 0);
        while (read_request(fd, &in, &req)) {
            pthread_mutex_lock(&pr->mu);
            pr->requests++;
            aa_buf_reset(&pr->last);
            aa_buf_add(&pr->last, req.p, req.len);
            pthread_mutex_unlock(&pr->mu);
            if (pr->mode == PEER_ECHO) {
                char head[256];
                int n = snprintf(head, sizeof(head),
                                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 "Content-Length: %zu\r\n\r\n",
                                 req.len);
                send_all(fd, head, (size_t)n);
                send_all(fd, req.p, req.len);
                continue; /* keep-alive */
            }
            if (pr->mode == PEER_FIXED) {
                send_all(fd, pr->fixed, pr->fixed_len);
            } else if (pr->mode == PEER_ENDLESS) {
                static char chunk[65536];
                memset(chunk, 'z', sizeof(chunk));
                static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
                send_all(fd, head, sizeof(head) - 1);
                for (int i = 0; i < 4096; i++) { /* 256 MiB at most */
                    if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) <= 0)
                        break;
                }
            } else {
                char sink[256];
                while (recv(fd, sink, sizeof(sink), 0) > 0) /* silent until client leaves */
                    ;
            }
            break;
        }
        aa_buf_free(&in);
        aa_buf_free(&req);
        pthread_mutex_lock(&pr->mu);
        pr->cfd = -1;
        pthread_mutex_unlock(&pr->mu);
        close(fd);
    }
}

static void peer_start(struct peer *pr, enum peer_mode mode, const char *fixed, size_t fixed_len)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1;

    memset(pr, 0, sizeof(*pr));
    pr->mode = mode;
    pr->fixed = fixed;
    pr->fixed_len = fixed_len;
    pr->cfd = -1;
    pthread_mutex_init(&pr->mu, NULL);
    aa_buf_init(&pr->last, 0);
    pr->lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(pr->lfd >= 0);
    setsockopt(pr->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(bind(pr->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(pr->lfd, 16), 0);
    getsockname(pr->lfd, (struct sockaddr *)&a, &al);
    pr->port = ntohs(a.sin_port);
    pthread_create(&pr->th, NULL, peer_main, pr);
}

static void peer_stop(struct peer *pr)
{
    /* also end a kept-alive connection the client still holds */
    pthread_mutex_lock(&pr->mu);
    pr->stopping = true;
    if (pr->cfd >= 0)
        shutdown(pr->cfd, SHUT_RDWR);
    pthread_mutex_unlock(&pr->mu);
    shutdown(pr->lfd, SHUT_RDWR);
    pthread_join(pr->th, NULL);
    close(pr->lfd);
    aa_buf_free(&pr->last);
}

/* The last request seen by the peer, NUL-terminated (copy). */
static char *peer_last(struct peer *pr, size_t *len)
{
    char *c;
    pthread_mutex_lock(&pr->mu);
    c = aa_strndup(pr->last.p ? pr->last.p : "", pr->last.len);
    if (len)
        *len = pr->last.len;
    pthread_mutex_unlock(&pr->mu);
    return c;
}

static int peer_requests(struct peer *pr)
{
    int n;
    pthread_mutex_lock(&pr->mu);
    n = pr->requests;
    pthread_mutex_unlock(&pr->mu);
    return n;
}

static void url_of(char *out, size_t cap, const struct peer *pr, const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%u%s", (unsigned)pr->port, path);
}

/* A port nobody listens on: bind, read it back, close. */
static uint16_t dead_port(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

static struct aa_http_client *client(long timeout_ms, size_t max_body)
{
    struct aa_http_client_opts o;
    struct aa_http_client *c;

    memset(&o, 0, sizeof(o));
    o.timeout_ms = timeout_ms;
    o.max_body = max_body;
    c = aa_http_client_new(&o);
    cr_assert_not_null(c);
    return c;
}

/* ---- URLs ------------------------------------------------------------------ */
Test(url, parse_views)
{
    static const char u1[] = "HTTPS://Example.COM:8443/a%2Fb/caf%C3%A9?x=%41&y=#frag";
    struct aa_url u;
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_eq(aa_url_parse(u1, strlen(u1), AA_URL_ALLOW_FRAGMENT, &u, &d), AA_OK, "%s", d.msg);
    cr_assert(u.https);
    cr_assert(aa_str_eq(u.host, "Example.COM"));
    cr_assert_eq(u.port, 8443);
    cr_assert(u.has_port);
    cr_assert(aa_str_eq(u.path, "/a%2Fb/caf%C3%A9"));
    cr_assert(u.has_query);
    cr_assert(aa_str_eq(u.query, "x=%41&y="));
    cr_assert(u.has_fragment);
    cr_assert(aa_str_eq(u.fragment, "frag"));

    cr_assert_eq(aa_url_parse("http://h/x?", 11, 0, &u, NULL), AA_OK);
    cr_assert(u.has_query, "'?' with an empty query is kept apart from no query");
    cr_assert_eq(u.query.len, 0);
    cr_assert_eq(u.port, 80);
    cr_assert_not(u.has_port);
    cr_assert_eq(aa_url_parse("http://h/x", 10, 0, &u, NULL), AA_OK);
    cr_assert_not(u.has_query);
    cr_assert_eq(aa_url_parse("http://[::1]:8002", 17, 0, &u, NULL), AA_OK);
    cr_assert(u.ipv6);
    cr_assert(aa_str_eq(u.host, "::1"));
    cr_assert_eq(u.path.len, 0);
}

Test(url, parse_rejects)
{
    static const struct {
        const char *url, *needle;
    } bad[] = {
        {"ftp://h/x", "not an absolute http"},
        {"http:/h", "not an absolute http"},
        {"//h/x", "not an absolute http"},
        {"http://user@h/", "userinfo"},
        {"http://user:pw@h/", "userinfo"},
        {"http://h/x#f", "fragment"},
        {"http:///x", "empty host"},
        {"http://h:/", "empty port"},
        {"http://h:0/", "out of range"},
        {"http://h:65536/", "out of range"},
        {"http://h:123456/", "out of range"},
        {"http://h:8a/", "not a number"},
        {"http://h%41/", "percent-escape in host"},
        {"http://h o/", "host contains ' '"},
        {"http://[::1/", "unterminated"},
        {"http://[::g]/", "invalid IPv6"},
        {"http://[::1]x/", "junk after IPv6"},
        {"http://h/a b", "path contains ' '"},
        {"http://h/%zz", "'%' not followed"},
        {"http://h/%4", "'%' not followed"},
        {"http://h/\x7f", "byte 0x7F"},
        {"http://h/caf\xc3\xa9", "byte 0xC3"},
        {"http://h/?a b", "query contains ' '"},
        {"http://h/?a=\"", "query contains '\"'"},
    };
    struct aa_url u;
    struct aa_diag d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aa_diag_clear(&d);
        cr_assert_eq(aa_url_parse(bad[i].url, strlen(bad[i].url), 0, &u, &d), AA_E_HTTP_URL,
                     "%s accepted", bad[i].url);
        cr_assert(strstr(d.msg, bad[i].needle) != NULL, "%s: %s", bad[i].url, d.msg);
        cr_assert(strncmp(d.ref, "RFC", 3) == 0);
    }
    {
        char *big = malloc(AA_URL_MAX_LEN + 2);
        memcpy(big, "http://h/", 9);
        memset(big + 9, 'a', AA_URL_MAX_LEN - 8);
        big[AA_URL_MAX_LEN + 1] = '\0';
        cr_assert_eq(aa_url_parse(big, strlen(big), 0, &u, NULL), AA_E_HTTP_URL);
        free(big);
    }
    cr_assert_eq(aa_url_parse(NULL, 0, 0, &u, NULL), AA_E_INVAL);
}

Test(url, canonical_authority_and_target)
{
    static const struct {
        const char *url, *auth;
    } cases[] = {
        {"HTTPS://Example.COM:443/x", "example.com"},
        {"https://example.com:80", "example.com:80"},
        {"http://127.0.0.1:8002/data", "127.0.0.1:8002"},
        {"http://127.0.0.1:80/", "127.0.0.1"},
        {"http://[::1]:80/", "[::1]"},
        {"http://[::1]:8443", "[::1]:8443"},
        {"http://LocalHost:8001", "localhost:8001"},
    };
    char out[AA_URL_AUTHORITY_MAX];
    struct aa_url u;
    struct aa_buf t;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(aa_url_authority_of(cases[i].url, out, sizeof(out), NULL), AA_OK);
        cr_assert_str_eq(out, cases[i].auth, "%s", cases[i].url);
    }
    cr_assert_eq(aa_url_parse("http://h:81", 11, 0, &u, NULL), AA_OK);
    cr_assert_eq(aa_url_authority(&u, out, 4), AA_E_LIMIT);
    cr_assert_eq(aa_url_authority_of("http://u@h/", out, sizeof(out), NULL), AA_E_HTTP_URL);

    aa_buf_init(&t, 0);
    cr_assert_eq(aa_url_target(&u, &t), AA_OK);
    cr_assert_str_eq(t.p, "/", "empty path becomes /");
    aa_buf_reset(&t);
    cr_assert_eq(aa_url_parse("http://h/x?", 11, 0, &u, NULL), AA_OK);
    cr_assert_eq(aa_url_target(&u, &t), AA_OK);
    cr_assert_str_eq(t.p, "/x?");
    aa_buf_free(&t);
}

Test(url, loopback)
{
    static const char *yes[] = {"localhost", "LOCALHOST",       "127.0.0.1",       "127.255.0.3",
                                "::1",       "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"};
    static const char *no[] = {
        "128.0.0.1", "127.1",       "0x7f.0.0.1",      "localhost.example.com",
        "::2",       "example.com", "::ffff:10.0.0.1", ""};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        cr_assert(aa_http_host_is_loopback(aa_str_c(yes[i])), "%s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        cr_assert_not(aa_http_host_is_loopback(aa_str_c(no[i])), "%s", no[i]);
    cr_assert(aa_url_is_loopback("http://[::1]:8002/x"));
    cr_assert(aa_url_is_loopback("https://127.0.0.1"));
    cr_assert_not(aa_url_is_loopback("http://example.com/"));
    cr_assert_not(aa_url_is_loopback("not a url"));
}

/* ---- identifiers (PROFILE#1 D-1) ------------------------------------------ */
Test(identifier, accepted)
{
    bool dev = true;

    cr_assert_eq(aa_http_identifier_check("https://example.com", false, &dev, NULL), AA_OK);
    cr_assert_not(dev);
    cr_assert_eq(aa_http_identifier_check("https://as.example.com:8443", false, NULL, NULL), AA_OK);
    cr_assert_eq(aa_http_identifier_check("http://127.0.0.1:8001", true, &dev, NULL), AA_OK);
    cr_assert(dev, "dev-mode results are labelled");
    cr_assert_eq(aa_http_identifier_check("http://[::1]:8001", true, NULL, NULL), AA_OK);
    cr_assert_eq(aa_http_identifier_check("http://localhost:8001", true, NULL, NULL), AA_OK);
    cr_assert_eq(aa_http_identifier_check("https://127.0.0.1:8001", false, &dev, NULL), AA_OK);
    cr_assert_not(dev);
}

Test(identifier, rejected)
{
    static const struct {
        const char *id;
        bool dev;
        const char *needle;
    } bad[] = {
        {"http://127.0.0.1:8001", false, "dev mode"},
        {"http://127.0.0.2:8001", true, "127.0.0.1, [::1] and localhost"},
        {"http://example.com", true, "https is required"},
        {"https://example.com/", false, "path"},
        {"https://example.com/x", false, "path"},
        {"https://example.com?", false, "query"},
        {"https://example.com#f", false, "fragment"},
        {"https://u@example.com", false, "userinfo"},
        {"https://Example.com", false, "lowercase"},
        {"HTTPS://example.com", false, "lowercase"},
        {"https://example.com:443", false, "default port"},
        {"http://127.0.0.1:80", true, "default port"},
        {"https://[0:0::1]", false, "canonical"},
        {"ftp://example.com", false, "not an absolute http"},
        {"", false, "not an absolute http"},
    };
    struct aa_diag d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aa_diag_clear(&d);
        cr_assert_eq(aa_http_identifier_check(bad[i].id, bad[i].dev, NULL, &d),
                     AA_E_HTTP_IDENTIFIER, "%s accepted", bad[i].id);
        cr_assert_str_eq(d.ref, "PROFILE#1");
        cr_assert(strstr(d.msg, bad[i].needle) != NULL, "%s: %s", bad[i].id, d.msg);
        cr_assert(strstr(d.msg, bad[i].id) != NULL, "names the identifier: %s", d.msg);
    }
    cr_assert_eq(aa_http_identifier_check(NULL, true, NULL, NULL), AA_E_INVAL);
}

Test(identifier, well_known_url)
{
    struct aa_buf b;

    aa_buf_init(&b, 0);
    cr_assert_eq(aa_http_well_known_url("http://127.0.0.1:8001", "aauth-agent", &b), AA_OK);
    cr_assert_str_eq(b.p, "http://127.0.0.1:8001/.well-known/aauth-agent");
    aa_buf_reset(&b);
    cr_assert_eq(aa_http_well_known_url("https://as.example/", "aauth-issuer", &b), AA_E_INVAL);
    cr_assert_eq(aa_http_well_known_url("https://as.example", "Aauth", &b), AA_E_INVAL);
    cr_assert_eq(aa_http_well_known_url("https://as.example", "a/b", &b), AA_E_INVAL);
    cr_assert_eq(aa_http_well_known_url("https://as.example", "", &b), AA_E_INVAL);
    aa_buf_free(&b);
}

/* ---- forms (PROFILE#6) ---------------------------------------------------- */
Test(form, encode_matches_profile_example_b)
{
    struct aa_buf b;

    aa_buf_init(&b, 0);
    cr_assert_eq(aa_form_add(&b, "request_type", "auth"), AA_OK);
    cr_assert_eq(aa_form_add(&b, "scope", "profile email"), AA_OK);
    cr_assert_eq(aa_form_add(&b, "redirect_uri", "http://127.0.0.1:8001/callback"), AA_OK);
    /* the 91-byte body of PROFILE#2.12 Example B */
    cr_assert_str_eq(b.p, "request_type=auth&scope=profile+email&redirect_uri="
                          "http%3A%2F%2F127.0.0.1%3A8001%2Fcallback");
    cr_assert_eq(b.len, 91);
    aa_buf_reset(&b);
    cr_assert_eq(aa_form_encode(&b, "a*-._~+&=\xc3\xa9\n", 12), AA_OK);
    cr_assert_str_eq(b.p, "a*-._%7E%2B%26%3D%C3%A9%0A");
    aa_buf_free(&b);
}

Test(form, whatwg_parse)
{
    static const char body[] = "&&a=1&b&c=1=2&+%20%41%zz%4=x+y&&z=%00";
    struct aa_form f;

    aa_form_init(&f);
    cr_assert_eq(aa_form_parse(body, sizeof(body) - 1, 0, &f, NULL), AA_OK);
    cr_assert_eq(f.n, 5);
    cr_assert_str_eq(aa_form_get(&f, "a"), "1");
    cr_assert_str_eq(aa_form_get(&f, "b"), "", "no '=' gives an empty value");
    cr_assert_str_eq(aa_form_get(&f, "c"), "1=2", "split at the first '='");
    cr_assert_str_eq(aa_form_get(&f, "  A%zz%4"), "x y", "bad escapes kept literally");
    cr_assert_eq(f.v[4].value_len, 1);
    cr_assert_eq(f.v[4].value[0], '\0', "%%00 decodes to a NUL byte");
    cr_assert_null(aa_form_get(&f, "missing"));
    cr_assert_null(aa_form_first_duplicate(&f));
    aa_form_cleanup(&f);

    cr_assert_eq(aa_form_parse("", 0, 0, &f, NULL), AA_OK);
    cr_assert_eq(f.n, 0);
    aa_form_cleanup(&f);
}

Test(form, repeated_parameters)
{
    struct aa_form f;
    struct aa_diag d;

    aa_form_init(&f);
    aa_diag_clear(&d);
    cr_assert_eq(aa_form_parse("scope=a&x=1&scope=b", 19, 0, &f, NULL), AA_OK);
    cr_assert_eq(aa_form_count(&f, "scope"), 2);
    cr_assert_str_eq(aa_form_first_duplicate(&f), "scope");
    cr_assert_str_eq(aa_form_get(&f, "scope"), "a");
    aa_form_cleanup(&f);

    cr_assert_eq(aa_form_parse("scope=a&x=1&scope=b", 19, AA_FORM_REJECT_DUPLICATES, &f, &d),
                 AA_E_HTTP_FORM_DUP);
    cr_assert_eq(f.n, 0, "nothing returned on failure");
    cr_assert_str_eq(d.ref, "PROFILE#6");
    cr_assert(strstr(d.msg, "\"scope\"") != NULL, "%s", d.msg);
    /* duplicates are found after decoding; names are case-sensitive */
    cr_assert_eq(aa_form_parse("a=1&%61=2", 9, AA_FORM_REJECT_DUPLICATES, &f, NULL),
                 AA_E_HTTP_FORM_DUP);
    cr_assert_eq(aa_form_parse("A=1&a=2", 7, AA_FORM_REJECT_DUPLICATES, &f, NULL), AA_OK);
    aa_form_cleanup(&f);
}

Test(form, limits)
{
    struct aa_buf b;
    struct aa_form f;
    struct aa_diag d;

    aa_buf_init(&b, 0);
    aa_form_init(&f);
    for (int i = 0; i < AA_FORM_MAX_PARAMS; i++)
        aa_form_add(&b, "p", "v");
    cr_assert_eq(aa_form_parse(b.p, b.len, 0, &f, NULL), AA_OK);
    cr_assert_eq(f.n, AA_FORM_MAX_PARAMS);
    aa_form_cleanup(&f);
    aa_form_add(&b, "p", "v");
    cr_assert_eq(aa_form_parse(b.p, b.len, 0, &f, &d), AA_E_HTTP_FORM);
    cr_assert(strstr(d.msg, "parameters") != NULL);
    cr_assert_eq(aa_form_parse("x", AA_FORM_MAX_LEN + 1, 0, &f, NULL), AA_E_HTTP_FORM);
    aa_buf_free(&b);
}

/* ---- header lists, codes ---------------------------------------------------- */
Test(headers, list_and_codes)
{
    struct aa_http_headers h;

    aa_http_headers_init(&h);
    cr_assert_eq(aa_http_headers_add(&h, "X-A", "1"), AA_OK);
    cr_assert_eq(aa_http_headers_add(&h, "x-a", "2"), AA_OK);
    cr_assert_eq(aa_http_headers_addn(&h, "Bin", "a\0b", 3), AA_OK);
    cr_assert_eq(aa_http_headers_add_line(&h, "X-A:raw"), AA_OK);
    cr_assert_eq(aa_http_headers_count(&h, "X-A"), 2, "raw lines are not parsed");
    cr_assert_str_eq(aa_http_headers_get(&h, "X-a"), "1");
    cr_assert_str_eq(h.v[1].lname, "x-a");
    cr_assert_eq(h.v[2].value_len, 3);
    cr_assert_null(aa_http_headers_get(&h, "nope"));
    cr_assert_eq(aa_http_headers_add(&h, NULL, "v"), AA_E_INVAL);
    aa_http_headers_cleanup(&h);
    cr_assert_eq(h.n, 0);

    cr_assert_str_eq(aa_strerror(AA_E_HTTP_TIMEOUT), "timed out");
    cr_assert_str_eq(aa_strerror(AA_E_DISC_REDIRECT), "redirect not followed");
    cr_assert_null(aa_http_strerror(-700));
    cr_assert(aa_http_err_is_transport(AA_E_HTTP_TIMEOUT));
    cr_assert(aa_http_err_is_transport(AA_E_HTTP_TOO_LARGE));
    cr_assert_not(aa_http_err_is_transport(AA_E_HTTP_URL));
    cr_assert_not(aa_http_err_is_transport(AA_E_HTTP_HEADER));
}

/* ---- client on the wire ----------------------------------------------------- */
Test(client, get_headers_in_order_with_duplicates)
{
    struct peer pr;
    struct aa_http_client *c = client(0, 0);
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_diag d;
    char url[128], *sent;

    peer_start(&pr, PEER_ECHO, NULL, 0);
    url_of(url, sizeof(url), &pr, "/data?x=1");
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Signature", "sig1=:AAAA:");
    aa_http_headers_add(&h, "X-Dup", "one");
    aa_http_headers_add(&h, "Signature-Input", "sig1=(\"@method\");created=1");
    aa_http_headers_add(&h, "X-Dup", "two");
    aa_http_headers_add(&h, "X-Empty", "");
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.url = url;
    rq.headers = &h;
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(rs.status, 200);
    sent = peer_last(&pr, NULL);
    cr_assert(strncmp(sent, "GET /data?x=1 HTTP/1.1\r\n", 24) == 0, "%s", sent);
    cr_assert(strstr(sent, "Signature: sig1=:AAAA:\r\nX-Dup: one\r\n"
                           "Signature-Input: sig1=(\"@method\");created=1\r\nX-Dup: two\r\n"
                           "X-Empty:\r\n") != NULL,
              "order, duplicates, empty value: %s", sent);
    cr_assert(strstr(sent, "\r\nHost: 127.0.0.1:") != NULL);
    cr_assert(strstr(sent, "\r\nUser-Agent: aauth-harness/") != NULL);
    cr_assert(strstr(sent, "Content-Type") == NULL, "no body, no content-type");
    cr_assert(strstr(sent, "Expect") == NULL);
    /* the echo body is the request, NUL-terminated */
    cr_assert_str_eq(rs.body, sent);
    cr_assert(strstr(rs.sent_head.p, "GET /data?x=1 HTTP/1.1\r\n") == rs.sent_head.p,
              "wire capture of the head");
    cr_assert_str_eq(aa_http_headers_get(&rs.headers, "content-type"), "text/plain");
    cr_assert_str_eq(rs.status_line, "HTTP/1.1 200 OK");
    cr_assert(rs.timing.total_us >= rs.timing.connect_us);
    free(sent);
    aa_http_response_cleanup(&rs);
    aa_http_headers_cleanup(&h);
    aa_http_client_free(c);
    peer_stop(&pr);
}

Test(client, request_target_is_sent_byte_for_byte)
{
    static const struct {
        const char *path, *line;
    } cases[] = {
        {"/a%2Fb/caf%C3%A9?x=%41&y=+", "GET /a%2Fb/caf%C3%A9?x=%41&y=+ HTTP/1.1\r\n"},
        {"/x?", "GET /x? HTTP/1.1\r\n"},
        {"", "GET / HTTP/1.1\r\n"},
        {"/a/../b/./c", "GET /a/../b/./c HTTP/1.1\r\n"},
        {"/f#frag", "GET /f HTTP/1.1\r\n"},
    };
    struct peer pr;
    struct aa_http_client *c = client(0, 0);

    peer_start(&pr, PEER_ECHO, NULL, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct aa_http_response rs;
        char url[256], *sent;
        url_of(url, sizeof(url), &pr, cases[i].path);
        aa_http_response_init(&rs);
        cr_assert_eq(aa_http_get(c, url, NULL, &rs, NULL), AA_OK, "%s", url);
        sent = peer_last(&pr, NULL);
        cr_assert(strncmp(sent, cases[i].line, strlen(cases[i].line)) == 0, "%s -> %s", url, sent);
        free(sent);
        aa_http_response_cleanup(&rs);
    }
    cr_assert_eq(pr.accepted, 1, "one kept-alive connection for %zu requests",
                 sizeof(cases) / sizeof(cases[0]));
    aa_http_client_free(c);
    peer_stop(&pr);
}

Test(client, post_body_binary_and_content_type)
{
    static const char body[] = "a\0b\r\n\xff";
    struct peer pr;
    struct aa_http_client *c = client(0, 0);
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response rs;
    size_t n;
    char url[128], *sent;

    peer_start(&pr, PEER_ECHO, NULL, 0);
    url_of(url, sizeof(url), &pr, "/p");
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Content-Type", "application/octet-stream");
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = url;
    rq.headers = &h;
    rq.body = body;
    rq.body_len = sizeof(body) - 1;
    aa_http_response_init(&rs);
    cr_assert_eq(aa_http_send(c, &rq, &rs, NULL), AA_OK);
    sent = peer_last(&pr, &n);
    cr_assert(strstr(sent, "\r\nContent-Length: 6\r\n") != NULL, "%s", sent);
    cr_assert(strstr(sent, "Content-Type: application/octet-stream\r\n") != NULL);
    cr_assert_eq(strstr(sent, "Content-Type:"), strstr(sent, "Content-Type: application"),
                 "exactly one content-type");
    cr_assert(memcmp(sent + n - 6, body, 6) == 0, "body bytes intact");
    cr_assert(strstr(sent, "Expect") == NULL, "no Expect unless asked: %s", sent);
    free(sent);

    /* AA_HTTP_REQ_EXPECT_CONTINUE: Expect: 100-continue, and the body still
     * follows when the peer never answers 100 (libcurl waits, then sends) */
    rq.flags = AA_HTTP_REQ_EXPECT_CONTINUE;
    cr_assert_eq(aa_http_send(c, &rq, &rs, NULL), AA_OK);
    sent = peer_last(&pr, &n);
    cr_assert(strstr(sent, "\r\nExpect: 100-continue\r\n") != NULL, "%s", sent);
    cr_assert(memcmp(sent + n - 6, body, 6) == 0, "body bytes intact");
    free(sent);
    rq.flags = 0;

    /* no Content-Type given: libcurl's form default must not appear */
    aa_http_headers_cleanup(&h);
    rq.headers = NULL;
    cr_assert_eq(aa_http_send(c, &rq, &rs, NULL), AA_OK);
    sent = peer_last(&pr, NULL);
    cr_assert(strstr(sent, "Content-Type") == NULL, "%s", sent);
    free(sent);

    /* PUT with a body and an empty POST */
    rq.method = "PUT";
    cr_assert_eq(aa_http_send(c, &rq, &rs, NULL), AA_OK);
    sent = peer_last(&pr, NULL);
    cr_assert(strncmp(sent, "PUT /p HTTP/1.1\r\n", 17) == 0, "%s", sent);
    free(sent);
    rq.method = "POST";
    rq.body = NULL;
    rq.body_len = 0;
    cr_assert_eq(aa_http_send(c, &rq, &rs, NULL), AA_OK);
    sent = peer_last(&pr, NULL);
    cr_assert(strstr(sent, "\r\nContent-Length: 0\r\n") != NULL, "%s", sent);
    free(sent);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
    peer_stop(&pr);
}

Test(client, header_validation_happens_before_network)
{
    static const char *bad_names[] = {"Bad Name",          "",      "X:y", "Content-Length",
                                      "Transfer-Encoding", "Expect"};
    struct peer pr;
    struct aa_http_client *c = client(0, 0);
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_diag d;
    char url[128];

    peer_start(&pr, PEER_ECHO, NULL, 0);
    url_of(url, sizeof(url), &pr, "/v");
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.url = url;
    rq.headers = &h;
    aa_http_response_init(&rs);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        aa_http_headers_init(&h);
        aa_http_headers_add(&h, bad_names[i], "v");
        cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_E_HTTP_HEADER, "%s", bad_names[i]);
        aa_http_headers_cleanup(&h);
    }
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "X-Inject", "a\r\nEvil: 1");
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_E_HTTP_HEADER);
    cr_assert(strstr(d.msg, "CR or LF") != NULL, "%s", d.msg);
    cr_assert(strstr(d.msg, url) != NULL, "names the URL: %s", d.msg);
    aa_http_headers_cleanup(&h);
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "X-Ctl", "a\x01");
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_E_HTTP_HEADER);
    aa_http_headers_cleanup(&h);
    aa_http_headers_init(&h);
    aa_http_headers_add_line(&h, "X-Raw:1");
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_E_HTTP_HEADER, "raw line needs raw mode");
    aa_http_headers_cleanup(&h);
    rq.headers = NULL;
    rq.method = "GET /x";
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_E_HTTP_HEADER, "method not a token");
    rq.method = "GET";
    rq.target = "/t";
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_E_HTTP_URL, "target override needs raw");
    cr_assert_eq(peer_requests(&pr), 0, "nothing reached the network");
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
    peer_stop(&pr);
}

Test(client, raw_mode_sends_hostile_bytes)
{
    struct peer pr;
    struct aa_http_client *c = client(0, 0);
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_diag d;
    char url[128], *sent;

    peer_start(&pr, PEER_ECHO, NULL, 0);
    url_of(url, sizeof(url), &pr, "/ignored");
    aa_http_headers_init(&h);
    aa_http_headers_add_line(&h, "X-Raw:no-space");
    aa_http_headers_add_line(&h, "X-Pad:   padded   ");
    aa_http_headers_add(&h, "X-Ctl",
                        "a\x01"
                        "b");
    aa_http_headers_add(&h, "X-Split", "a\r\nInjected: 1");
    aa_http_headers_add(&h, "Host", "evil.example");
    memset(&rq, 0, sizeof(rq));
    rq.method = "get";
    rq.url = url;
    rq.target = "/a%20b?";
    rq.headers = &h;
    rq.flags = AA_HTTP_REQ_RAW;
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_OK, "%s", d.msg);
    sent = peer_last(&pr, NULL);
    cr_assert(strncmp(sent, "get /a%20b? HTTP/1.1\r\n", 22) == 0, "%s", sent);
    cr_assert(strstr(sent, "\r\nX-Raw:no-space\r\n") != NULL, "%s", sent);
    cr_assert(strstr(sent, "\r\nX-Pad:   padded   \r\n") != NULL, "%s", sent);
    cr_assert(strstr(sent, "\r\nX-Ctl: a\x01"
                           "b\r\n") != NULL);
    cr_assert(strstr(sent, "\r\nX-Split: a\r\nInjected: 1\r\n") != NULL);
    cr_assert(strstr(sent, "\r\nHost: evil.example\r\n") != NULL);
    cr_assert(strstr(sent, "Host: 127.0.0.1") == NULL, "caller's Host replaces libcurl's");
    free(sent);
    aa_http_headers_cleanup(&h);
    /* NUL cannot travel through libcurl even in raw mode */
    aa_http_headers_init(&h);
    aa_http_headers_addn(&h, "X-Nul", "a\0b", 3);
    cr_assert_eq(aa_http_send(c, &rq, &rs, &d), AA_E_HTTP_HEADER);
    cr_assert(strstr(d.msg, "NUL") != NULL);
    aa_http_headers_cleanup(&h);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
    peer_stop(&pr);
}

static int fixed_exchange(const char *bytes, size_t n, const char *method, struct aa_http_client *c,
                          struct aa_http_response *rs, struct aa_diag *d, int *requests)
{
    struct peer pr;
    struct aa_http_request rq;
    char url[128];
    int rc;

    peer_start(&pr, PEER_FIXED, bytes, n);
    url_of(url, sizeof(url), &pr, "/f");
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.url = url;
    rc = aa_http_send(c, &rq, rs, d);
    if (requests)
        *requests = peer_requests(&pr);
    peer_stop(&pr);
    return rc;
}

Test(client, redirect_is_returned_not_followed)
{
    static const char r302[] = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
                               "Content-Length: 0\r\n\r\n";
    struct aa_http_client *c = client(0, 0);
    struct aa_http_response rs;
    int reqs = 0;

    aa_http_response_init(&rs);
    cr_assert_eq(fixed_exchange(r302, sizeof(r302) - 1, "GET", c, &rs, NULL, &reqs), AA_OK);
    cr_assert_eq(rs.status, 302);
    cr_assert_str_eq(aa_http_headers_get(&rs.headers, "location"), "http://127.0.0.1:1/elsewhere");
    cr_assert_eq(reqs, 1);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
}

Test(client, response_headers_as_received)
{
    static const char resp[] = "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
                               "HTTP/1.1 401 Unauthorized\r\nAgent-Auth: httpsig\r\n"
                               "agent-auth: httpsig; identity=?1\r\nX-Fold: a\r\n   b  \r\n"
                               "X-Pad:   v   \r\nContent-Length: 2\r\n\r\nno";
    struct aa_http_client *c = client(0, 0);
    struct aa_http_response rs;

    aa_http_response_init(&rs);
    cr_assert_eq(fixed_exchange(resp, sizeof(resp) - 1, "GET", c, &rs, NULL, NULL), AA_OK);
    cr_assert_eq(rs.status, 401);
    cr_assert_str_eq(rs.status_line, "HTTP/1.1 401 Unauthorized");
    cr_assert_null(aa_http_headers_get(&rs.headers, "X-Interim"), "1xx headers dropped");
    cr_assert_eq(aa_http_headers_count(&rs.headers, "Agent-Auth"), 2);
    cr_assert_str_eq(rs.headers.v[0].name, "Agent-Auth");
    cr_assert_str_eq(rs.headers.v[1].name, "agent-auth", "names as received");
    cr_assert_str_eq(rs.headers.v[1].lname, "agent-auth");
    cr_assert_str_eq(rs.headers.v[1].value, "httpsig; identity=?1");
    cr_assert_str_eq(aa_http_headers_get(&rs.headers, "x-fold"), "a b", "obs-fold joined");
    cr_assert_str_eq(aa_http_headers_get(&rs.headers, "x-pad"), "v");
    cr_assert_str_eq(rs.body, "no");
    cr_assert_eq(rs.body_len, 2);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
}

Test(client, head_request)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    struct aa_http_client *c = client(0, 0);
    struct aa_http_response rs;

    aa_http_response_init(&rs);
    cr_assert_eq(fixed_exchange(resp, sizeof(resp) - 1, "HEAD", c, &rs, NULL, NULL), AA_OK);
    cr_assert_eq(rs.status, 200);
    cr_assert_eq(rs.body_len, 0);
    cr_assert_str_eq(rs.body, "");
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
}

Test(client, max_response_body_aborts)
{
    static const char declared[] = "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n";
    struct aa_http_client *c = client(0, 1000);
    struct aa_http_response rs;
    struct aa_diag d;
    struct peer pr;
    char url[128];

    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(fixed_exchange(declared, sizeof(declared) - 1, "GET", c, &rs, &d, NULL),
                 AA_E_HTTP_TOO_LARGE, "%s", d.msg);
    cr_assert(strstr(d.msg, "1000") != NULL, "%s", d.msg);
    aa_http_client_free(c);

    /* close-delimited endless body: aborted once 64 KiB are crossed */
    c = client(0, 64 * 1024);
    peer_start(&pr, PEER_ENDLESS, NULL, 0);
    url_of(url, sizeof(url), &pr, "/endless");
    cr_assert_eq(aa_http_get(c, url, NULL, &rs, &d), AA_E_HTTP_TOO_LARGE, "%s", d.msg);
    cr_assert(strstr(d.msg, url) != NULL, "names the URL: %s", d.msg);
    cr_assert_leq(rs.body_len, 64 * 1024, "never more than the cap kept");
    peer_stop(&pr);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
}

Test(client, oversized_response_headers_abort)
{
    struct aa_buf resp;
    struct aa_http_client *c = client(0, 0);
    struct aa_http_response rs;
    struct aa_diag d;

    aa_buf_init(&resp, 0);
    aa_buf_adds(&resp, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 70; i++) {
        aa_buf_printf(&resp, "X-%d: ", i);
        for (int k = 0; k < 1000; k++)
            aa_buf_addc(&resp, 'h');
        aa_buf_adds(&resp, "\r\n");
    }
    aa_buf_adds(&resp, "Content-Length: 0\r\n\r\n");
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(fixed_exchange(resp.p, resp.len, "GET", c, &rs, &d, NULL), AA_E_HTTP_TOO_LARGE,
                 "%s", d.msg);
    cr_assert(strstr(d.msg, "header") != NULL, "%s", d.msg);

    /* one giant line: libcurl's own header limit, still the peer's fault */
    aa_buf_reset(&resp);
    aa_buf_adds(&resp, "HTTP/1.1 200 OK\r\nX-Giant: ");
    for (int k = 0; k < 200 * 1024; k++)
        aa_buf_addc(&resp, 'g');
    aa_buf_adds(&resp, "\r\nContent-Length: 0\r\n\r\n");
    cr_assert_eq(fixed_exchange(resp.p, resp.len, "GET", c, &rs, &d, NULL), AA_E_HTTP_TOO_LARGE,
                 "%s", d.msg);
    aa_http_response_cleanup(&rs);
    aa_buf_free(&resp);
    aa_http_client_free(c);
}

Test(client, silent_peer_times_out)
{
    struct peer pr;
    struct aa_http_client *c = client(300, 0);
    struct aa_http_response rs;
    struct aa_diag d;
    char url[128];

    peer_start(&pr, PEER_SILENT, NULL, 0);
    url_of(url, sizeof(url), &pr, "/never");
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_get(c, url, NULL, &rs, &d), AA_E_HTTP_TIMEOUT, "%s", d.msg);
    cr_assert(strstr(d.msg, url) != NULL, "%s", d.msg);
    cr_assert_str_eq(d.ref, "PROFILE#9");
    cr_assert_eq(rs.status, 0);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
    peer_stop(&pr);
}

Test(client, connection_refused_and_bad_urls)
{
    struct aa_http_client *c = client(0, 0);
    struct aa_http_response rs;
    struct aa_diag d;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", (unsigned)dead_port());
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    cr_assert_eq(aa_http_get(c, url, NULL, &rs, &d), AA_E_HTTP_CONNECT, "%s", d.msg);
    cr_assert(strstr(d.msg, url) != NULL, "%s", d.msg);
    cr_assert(aa_http_err_is_transport(AA_E_HTTP_CONNECT));
    cr_assert_eq(aa_http_get(c, "ftp://127.0.0.1/x", NULL, &rs, &d), AA_E_HTTP_URL);
    cr_assert_eq(aa_http_get(c, "http://u@127.0.0.1/x", NULL, &rs, &d), AA_E_HTTP_URL);
    cr_assert(strstr(d.msg, "userinfo") != NULL);
    cr_assert_eq(aa_http_get(c, "http://127.0.0.1:99999/", NULL, &rs, &d), AA_E_HTTP_URL);
    cr_assert_eq(aa_http_get(c, NULL, NULL, &rs, &d), AA_E_INVAL);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
}

Test(client, garbage_and_empty_responses)
{
    static const char junk[] = "garbage\r\n\r\n";
    struct aa_http_client *c = client(0, 0);
    struct aa_http_response rs;
    struct aa_diag d;

    aa_http_response_init(&rs);
    cr_assert_eq(fixed_exchange(junk, sizeof(junk) - 1, "GET", c, &rs, &d, NULL),
                 AA_E_HTTP_PROTOCOL, "%s", d.msg);
    cr_assert_eq(fixed_exchange("", 0, "GET", c, &rs, &d, NULL), AA_E_HTTP_PROTOCOL, "%s", d.msg);
    cr_assert(aa_http_err_is_transport(AA_E_HTTP_PROTOCOL));
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
}

Test(client, loopback_only_switch)
{
    struct aa_http_client_opts o;
    struct aa_http_client *c;
    struct aa_http_response rs;
    struct aa_diag d;
    struct peer pr;
    char url[128];

    memset(&o, 0, sizeof(o));
    o.loopback_only = true;
    c = aa_http_client_new(&o);
    cr_assert_not_null(c);
    aa_http_response_init(&rs);
    aa_diag_clear(&d);
    /* TEST-NET-1: refused before any packet, so no timeout is involved */
    cr_assert_eq(aa_http_get(c, "http://192.0.2.1/x", NULL, &rs, &d), AA_E_HTTP_NOT_ALLOWED);
    cr_assert(strstr(d.msg, "192.0.2.1") != NULL, "%s", d.msg);
    cr_assert_eq(aa_http_get(c, "https://example.com/", NULL, &rs, &d), AA_E_HTTP_NOT_ALLOWED);
    peer_start(&pr, PEER_ECHO, NULL, 0);
    url_of(url, sizeof(url), &pr, "/ok");
    cr_assert_eq(aa_http_get(c, url, NULL, &rs, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(rs.status, 200);
    peer_stop(&pr);
    aa_http_response_cleanup(&rs);
    aa_http_client_free(c);
}

/* ---- transcripts (PROFILE#8) ------------------------------------------------- */
Test(transcript, seed_style_blocks)
{
    struct aa_http_headers h;
    struct aa_http_request rq;
    struct aa_http_response rs;
    struct aa_buf out;
    char longv[160];
    const char *body = "{\"sub\":\"delegate-1\"}";

    memset(longv, 'k', 150);
    longv[150] = '\0';
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Content-Type", "application/json");
    aa_http_headers_add(&h, "Signature-Key", longv);
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = "http://127.0.0.1:8001/delegate/token";
    rq.headers = &h;
    rq.body = body;
    rq.body_len = strlen(body);
    aa_http_response_init(&rs);
    rs.url = aa_strdup(rq.url);
    rs.status = 200;
    rs.status_line = aa_strdup("HTTP/1.1 200 OK");
    aa_http_headers_addn(&rs.headers, "content-type", "application/json", 16);
    aa_http_headers_addn(&rs.headers, "x-ctl", "a\x1b[31mb", 7);
    rs.body = aa_strdup("{\"ok\":1}");
    rs.body_len = 8;
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_http_transcript(&out, "DELEGATE", &rq, &rs, 0), AA_OK);
    {
        char want[1024];
        snprintf(
            want, sizeof(want),
            "\n%s\n>>> DELEGATE REQUEST to http://127.0.0.1:8001/delegate/token\n%s\n"
            "POST http://127.0.0.1:8001/delegate/token HTTP/1.1\n"
            "Content-Type: application/json\nSignature-Key: %.97s...\n\n"
            "[Body (20 bytes)]\n{\"sub\":\"delegate-1\"}\n%s\n\n",
            "================================================================================",
            "================================================================================",
            longv,
            "================================================================================");
        cr_assert(strncmp(out.p, want, strlen(want)) == 0, "got:\n%s\nwant:\n%s", out.p, want);
    }
    cr_assert(strstr(out.p, "<<< DELEGATE RESPONSE from http://127.0.0.1:8001/delegate/token\n") !=
              NULL);
    cr_assert(strstr(out.p, "HTTP/1.1 200 OK\ncontent-type: application/json\n") != NULL);
    cr_assert(strstr(out.p, "x-ctl: a\\x1b[31mb\n") != NULL, "escape sequences defused");
    cr_assert(strstr(out.p, "[Body (8 bytes)]\n{\"ok\":1}\n") != NULL);

    aa_buf_reset(&out);
    cr_assert_eq(aa_http_transcript_request(&out, "DELEGATE", &rq, NULL, AA_HTTP_TR_FULL), AA_OK);
    cr_assert(strstr(out.p, longv) != NULL, "FULL keeps the value");
    aa_buf_free(&out);
    aa_http_headers_cleanup(&h);
    aa_http_response_cleanup(&rs);
}

Test(transcript, cut_counts_characters_and_boundaries)
{
    struct aa_buf out;
    char v[256];
    size_t o = 0;

    aa_buf_init(&out, 0);
    memset(v, 'x', 100);
    cr_assert_eq(aa_http_transcript_header_line(&out, "N", v, 100, false), AA_OK);
    cr_assert_eq(out.len, 3 + 100 + 1, "exactly 100 characters are not cut");
    aa_buf_reset(&out);
    /* 101 two-byte characters: cut after 97 characters (194 bytes) */
    for (int i = 0; i < 101; i++) {
        v[o++] = (char)0xc3;
        v[o++] = (char)0xa9;
    }
    cr_assert_eq(aa_http_transcript_header_line(&out, "N", v, o, false), AA_OK);
    cr_assert_eq(out.len, 3 + 194 + 3 + 1);
    cr_assert(strcmp(out.p + out.len - 4, "...\n") == 0);
    aa_buf_free(&out);
}

/* The seed's truncated Signature-Key line is reproduced by the PROFILE#8 rule. */
Test(transcript, matches_seed_signature_key_line)
{
    static const char full[] =
        "sig1=(scheme=jwt jwt=\"eyJhbGciOiJFZERTQSIsImtpZCI6ImtleS0xIiwidHlwIjoiYWdlbnQrand0In0."
        "eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjgwMDEiLCJzdWIiOiJkZWxlZ2F0ZS0xIn0.sig\")";
    static const char seed_line[] =
        "Signature-Key: sig1=(scheme=jwt jwt=\"eyJhbGciOiJFZERTQSIsImtpZCI6ImtleS0xIiwidHlwIjoiYWdl"
        "bnQrand0In0.eyJpc3MiOiJ...\n";
    struct aa_buf out;

    aa_buf_init(&out, 0);
    cr_assert_eq(aa_http_transcript_header_line(&out, "Signature-Key", full, strlen(full), false),
                 AA_OK);
    cr_assert_str_eq(out.p, seed_line);
    aa_buf_free(&out);
}
