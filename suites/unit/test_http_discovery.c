/*
 * aa_discovery (PROFILE#3 D-13): caching, max-age, the unknown-kid refetch
 * rule, identifier checks, redirects, the allow policy (SSRF defence),
 * size/content limits, thread sharing.
 *
 * Metadata and JWKS come from a routed raw-socket peer on 127.0.0.1 that
 * counts hits per path, so fetch counts are checked on the wire as well as
 * through aa_disc_fetch_count(). Time is a fake clock the tests advance;
 * nothing sleeps.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/aa_discovery.h"

/* ---- fake clock ------------------------------------------------------------ */
static int64_t fake_now = 1000;
static pthread_mutex_t clock_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned clock_calls;

static int64_t fake_clock(void *ctx)
{
    int64_t t;
    (void)ctx;
    pthread_mutex_lock(&clock_mu);
    clock_calls++;
    t = fake_now;
    pthread_mutex_unlock(&clock_mu);
    return t;
}

static void advance(int64_t s)
{
    pthread_mutex_lock(&clock_mu);
    fake_now += s;
    pthread_mutex_unlock(&clock_mu);
}

static unsigned clock_count(void)
{
    unsigned n;
    pthread_mutex_lock(&clock_mu);
    n = clock_calls;
    pthread_mutex_unlock(&clock_mu);
    return n;
}

/* ---- routed peer ------------------------------------------------------------- */
#define MAX_ROUTES 8

struct route {
    char path[64];
    char *resp; /* complete HTTP response */
    size_t len;
    int hits;
    bool hold; /* park the request until released */
};

struct peer {
    int lfd;
    uint16_t port;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct route r[MAX_ROUTES];
    int total;
    bool held_arrived;
    bool released;
    char origin[64];
};

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
    static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

    for (;;) {
        char buf[8192], path[256];
        size_t got = 0;
        char *resp = NULL;
        size_t len = 0;
        int fd = accept(pr->lfd, NULL, NULL);

        if (fd < 0)
            return NULL;
        while (got < sizeof(buf) - 1) {
            ssize_t k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
            if (k <= 0)
                break;
            got += (size_t)k;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n") != NULL)
                break;
        }
        buf[got] = '\0';
        path[0] = '\0';
        sscanf(buf, "GET %255s ", path);
        pthread_mutex_lock(&pr->mu);
        pr->total++;
        for (int i = 0; i < MAX_ROUTES; i++) {
            if (pr->r[i].resp != NULL && strcmp(pr->r[i].path, path) == 0) {
                pr->r[i].hits++;
                if (pr->r[i].hold) {
                    pr->held_arrived = true;
                    pthread_cond_broadcast(&pr->cv);
                    while (!pr->released)
                        pthread_cond_wait(&pr->cv, &pr->mu);
                }
                resp = aa_strndup(pr->r[i].resp, pr->r[i].len);
                len = pr->r[i].len;
                break;
            }
        }
        pthread_mutex_unlock(&pr->mu);
        if (resp != NULL)
            send_all(fd, resp, len);
        else
            send_all(fd, nf, sizeof(nf) - 1);
        free(resp);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
}

static void peer_start(struct peer *pr)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);

    memset(pr, 0, sizeof(*pr));
    pthread_mutex_init(&pr->mu, NULL);
    pthread_cond_init(&pr->cv, NULL);
    pr->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(bind(pr->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(pr->lfd, 16), 0);
    getsockname(pr->lfd, (struct sockaddr *)&a, &al);
    pr->port = ntohs(a.sin_port);
    snprintf(pr->origin, sizeof(pr->origin), "http://127.0.0.1:%u", (unsigned)pr->port);
    pthread_create(&pr->th, NULL, peer_main, pr);
}

static void peer_stop(struct peer *pr)
{
    pthread_mutex_lock(&pr->mu);
    pr->released = true;
    pthread_cond_broadcast(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    shutdown(pr->lfd, SHUT_RDWR);
    pthread_join(pr->th, NULL);
    close(pr->lfd);
    for (int i = 0; i < MAX_ROUTES; i++)
        free(pr->r[i].resp);
}

static void route_raw(struct peer *pr, const char *path, const char *resp, size_t len)
{
    pthread_mutex_lock(&pr->mu);
    for (int i = 0; i < MAX_ROUTES; i++) {
        if (pr->r[i].resp == NULL || strcmp(pr->r[i].path, path) == 0) {
            free(pr->r[i].resp);
            snprintf(pr->r[i].path, sizeof(pr->r[i].path), "%s", path);
            pr->r[i].resp = aa_strndup(resp, len);
            pr->r[i].len = len;
            break;
        }
    }
    pthread_mutex_unlock(&pr->mu);
}

static void route(struct peer *pr, const char *path, int status, const char *ctype,
                  const char *extra, const char *body)
{
    struct aa_buf b;

    aa_buf_init(&b, 0);
    aa_buf_printf(&b, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n", status, strlen(body));
    if (ctype != NULL)
        aa_buf_printf(&b, "Content-Type: %s\r\n", ctype);
    if (extra != NULL)
        aa_buf_adds(&b, extra);
    aa_buf_adds(&b, "\r\n");
    aa_buf_adds(&b, body);
    route_raw(pr, path, b.p, b.len);
    aa_buf_free(&b);
}

static int hits(struct peer *pr, const char *path)
{
    int n = 0;
    pthread_mutex_lock(&pr->mu);
    for (int i = 0; i < MAX_ROUTES; i++)
        if (pr->r[i].resp != NULL && strcmp(pr->r[i].path, path) == 0)
            n = pr->r[i].hits;
    pthread_mutex_unlock(&pr->mu);
    return n;
}

static int total_hits(struct peer *pr)
{
    int n;
    pthread_mutex_lock(&pr->mu);
    n = pr->total;
    pthread_mutex_unlock(&pr->mu);
    return n;
}

/* ---- keys and documents -------------------------------------------------------- */
/* RFC 8032 7.1 TEST 1 secret (PROFILE#2.12) */
static const uint8_t seed1[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                  0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                  0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
#define JKT1 "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

/* A public JWKS text with key-1 and, optionally, a fresh key-2. */
static char *jwks_text(bool with_key2)
{
    struct aa_jwk k1, k2, p1, p2;
    struct aa_jwks s;
    struct aa_buf b;

    memset(&s, 0, sizeof(s));
    cr_assert_eq(aa_jwk_from_ed25519_seed(seed1, "key-1", &k1), AA_OK);
    cr_assert_eq(aa_jwk_public(&p1, &k1), AA_OK);
    cr_assert_eq(aa_jwks_add(&s, &p1), AA_OK);
    if (with_key2) {
        cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "key-2", &k2), AA_OK);
        cr_assert_eq(aa_jwk_public(&p2, &k2), AA_OK);
        cr_assert_eq(aa_jwks_add(&s, &p2), AA_OK);
        aa_jwk_cleanup(&k2);
        aa_jwk_cleanup(&p2);
    }
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_jwks_to_json(&s, &b), AA_OK);
    aa_jwks_cleanup(&s);
    aa_jwk_cleanup(&k1);
    aa_jwk_cleanup(&p1);
    return aa_buf_detach(&b, NULL);
}

static void serve_agent(struct peer *pr, const char *meta_extra, const char *jwks_extra)
{
    char body[512];
    char *j = jwks_text(false);

    snprintf(body, sizeof(body),
             "{\"agent\":\"%s\",\"jwks_uri\":\"%s/jwks.json\",\"name\":\"Agent\"}", pr->origin,
             pr->origin);
    route(pr, "/.well-known/aauth-agent", 200, "application/json", meta_extra, body);
    route(pr, "/jwks.json", 200, "application/json", jwks_extra, j);
    free(j);
}

static struct aa_disc *dev_cache(void)
{
    struct aa_disc_opts o;
    struct aa_disc *c;

    memset(&o, 0, sizeof(o));
    o.dev_mode = true;
    o.clock = fake_clock;
    c = aa_disc_new(&o);
    cr_assert_not_null(c);
    return c;
}

static void meta_url(const struct peer *pr, const char *wk, char *out, size_t cap)
{
    snprintf(out, cap, "%s/.well-known/%s", pr->origin, wk);
}

/* ---- caching ------------------------------------------------------------------- */
Test(discovery, one_fetch_while_cached_refetch_after_max_age)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;
    struct aa_diag d;
    char mu[128], ju[128], tp[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *doc = NULL;

    peer_start(&pr);
    serve_agent(&pr, "Cache-Control: public, max-age=60\r\n", NULL);
    meta_url(&pr, "aauth-agent", mu, sizeof(mu));
    snprintf(ju, sizeof(ju), "%s/jwks.json", pr.origin);
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(aa_jwk_thumbprint(&k, tp), AA_OK);
    cr_assert_str_eq(tp, JKT1);
    aa_jwk_cleanup(&k);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, NULL), AA_OK);
        aa_jwk_cleanup(&k);
    }
    cr_assert_eq(aa_disc_metadata(c, pr.origin, "aauth-agent", &doc, NULL), AA_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "name")->valuestring, "Agent");
    cJSON_Delete(doc);
    cr_assert_eq(hits(&pr, "/.well-known/aauth-agent"), 1);
    cr_assert_eq(hits(&pr, "/jwks.json"), 1);
    cr_assert_eq(aa_disc_fetch_count(c, mu), 1);
    cr_assert_eq(aa_disc_fetch_count(c, ju), 1);

    advance(59);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    cr_assert_eq(hits(&pr, "/.well-known/aauth-agent"), 1, "still inside max-age=60");
    advance(1);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    cr_assert_eq(hits(&pr, "/.well-known/aauth-agent"), 2, "max-age honoured");
    cr_assert_eq(hits(&pr, "/jwks.json"), 1, "JWKS keeps its default 300 s");
    advance(240);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    cr_assert_eq(hits(&pr, "/jwks.json"), 2, "default TTL of 300 s");
    cr_assert_eq(aa_disc_fetch_count(c, ju), 2);
    cr_assert_eq(aa_disc_fetch_total(c), 5);
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, no_store_and_quoted_max_age)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;

    peer_start(&pr);
    serve_agent(&pr, "Cache-Control: no-store\r\n", "Cache-Control: max-age=\"10\"\r\n");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, NULL), AA_OK);
        aa_jwk_cleanup(&k);
    }
    cr_assert_eq(hits(&pr, "/.well-known/aauth-agent"), 3, "no-store is never reused");
    cr_assert_eq(hits(&pr, "/jwks.json"), 1);
    advance(10);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    cr_assert_eq(hits(&pr, "/jwks.json"), 2, "max-age=\"10\" honoured");
    aa_disc_free(c);
    peer_stop(&pr);
}

/* ---- unknown kid (PROFILE#3: one refetch per 30 s per URL) ----------------------- */
Test(discovery, unknown_kid_refetches_once_per_30s)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;
    struct aa_diag d;
    char *j2;

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    cr_assert_eq(hits(&pr, "/jwks.json"), 1);

    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "nope", &k, &d), AA_E_DISC_KID_UNKNOWN);
    cr_assert_eq(hits(&pr, "/jwks.json"), 2, "one refetch");
    cr_assert(strstr(d.msg, "\"nope\"") != NULL, "%s", d.msg);
    cr_assert_str_eq(d.ref, "PROFILE#3");
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "nope", &k, &d), AA_E_DISC_KID_UNKNOWN);
    cr_assert(strstr(d.msg, "suppressed") != NULL, "%s", d.msg);
    advance(29);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "other", &k, NULL),
                 AA_E_DISC_KID_UNKNOWN);
    cr_assert_eq(hits(&pr, "/jwks.json"), 2, "no more within 30 s, whatever the kid");
    advance(1);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "nope", &k, NULL), AA_E_DISC_KID_UNKNOWN);
    cr_assert_eq(hits(&pr, "/jwks.json"), 3, "allowed again after 30 s");

    /* rotation: the agent publishes key-2; the next miss finds it */
    j2 = jwks_text(true);
    route(&pr, "/jwks.json", 200, "application/json", NULL, j2);
    free(j2);
    advance(30);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-2", &k, NULL), AA_OK);
    cr_assert_str_eq(k.kid, "key-2");
    aa_jwk_cleanup(&k);
    cr_assert_eq(hits(&pr, "/jwks.json"), 4);
    cr_assert_eq(hits(&pr, "/.well-known/aauth-agent"), 1);
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, unknown_kid_on_first_fetch_does_not_refetch)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "nope", &k, NULL), AA_E_DISC_KID_UNKNOWN);
    cr_assert_eq(hits(&pr, "/jwks.json"), 1, "a JWKS fetched by this call is fresh");
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, key_by_thumbprint)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;
    struct aa_diag d;

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    cr_assert_eq(aa_disc_key_by_thumbprint(c, pr.origin, "aauth-agent", JKT1, &k, NULL), AA_OK);
    cr_assert_str_eq(k.kid, "key-1");
    aa_jwk_cleanup(&k);
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key_by_thumbprint(c, pr.origin, "aauth-agent",
                                           "8VLLB0WRBDu70WxdOy3zFh34-n-fGRqCNcggLg7XLCQ", &k, &d),
                 AA_E_DISC_JKT_UNKNOWN);
    cr_assert(strstr(d.msg, "thumbprint") != NULL, "%s", d.msg);
    cr_assert_eq(hits(&pr, "/jwks.json"), 2, "one refetch for an unknown thumbprint");
    aa_disc_free(c);
    peer_stop(&pr);
}

/* ---- document checks ---------------------------------------------------------------- */
Test(discovery, identifier_member_must_match)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;
    struct aa_diag d;
    char body[256], want[256];

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    snprintf(body, sizeof(body),
             "{\"agent\":\"https://agent.supply-chain.com\",\"jwks_uri\":\"%s/jwks.json\"}",
             pr.origin);
    route(&pr, "/.well-known/aauth-agent", 200, "application/json", NULL, body);
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, &d), AA_E_DISC_ID_MISMATCH);
    snprintf(want, sizeof(want),
             "member 'agent' is \"https://agent.supply-chain.com\", expected \"%s\" (PROFILE#3)",
             pr.origin);
    cr_assert(strstr(d.msg, want) != NULL, "%s", d.msg);
    cr_assert(strstr(d.msg, "metadata at http://127.0.0.1:") == d.msg, "%s", d.msg);
    cr_assert_eq(hits(&pr, "/jwks.json"), 0, "keys of a mismatched document are never fetched");

    /* the member is checked per well-known name */
    snprintf(body, sizeof(body), "{\"resource\":\"%s\",\"jwks_uri\":\"%s/jwks.json\"}", pr.origin,
             pr.origin);
    route(&pr, "/.well-known/aauth-resource", 200, "application/json", NULL, body);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-resource", "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    route(&pr, "/.well-known/aauth-issuer", 200, "application/json", NULL, body);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-issuer", "key-1", &k, &d), AA_E_DISC_MEMBER);
    cr_assert(strstr(d.msg, "'issuer'") != NULL, "%s", d.msg);
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, malformed_documents)
{
    static const struct {
        int status;
        const char *ctype, *body;
        int code;
    } cases[] = {
        {200, "application/json", "{not json", AA_E_DISC_JSON},
        {200, "application/json", "[1,2]", AA_E_DISC_JSON},
        {200, "application/json", "{\"agent\":\"x\",\"agent\":\"y\"}", AA_E_DISC_JSON},
        {200, "text/html", "{}", AA_E_DISC_CONTENT_TYPE},
        {200, NULL, "{}", AA_E_DISC_CONTENT_TYPE},
        {404, "application/json", "{}", AA_E_DISC_STATUS},
        {500, "application/json", "{}", AA_E_DISC_STATUS},
    };
    struct peer pr;
    struct aa_disc *c = dev_cache();
    cJSON *doc = NULL;
    struct aa_diag d;

    peer_start(&pr);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        route(&pr, "/.well-known/aauth-agent", cases[i].status, cases[i].ctype, NULL,
              cases[i].body);
        aa_diag_clear(&d);
        cr_assert_eq(aa_disc_metadata(c, pr.origin, "aauth-agent", &doc, &d), cases[i].code,
                     "case %zu: %s", i, d.msg);
        cr_assert_null(doc);
        cr_assert(strstr(d.msg, pr.origin) != NULL, "names the URL: %s", d.msg);
    }
    cr_assert_eq(hits(&pr, "/.well-known/aauth-agent"), 7, "failures are not cached");

    /* missing / invalid jwks_uri */
    {
        char body[256];
        snprintf(body, sizeof(body), "{\"agent\":\"%s\"}", pr.origin);
        route(&pr, "/.well-known/aauth-agent", 200, "application/json", NULL, body);
        cr_assert_eq(aa_disc_metadata(c, pr.origin, "aauth-agent", &doc, &d), AA_E_DISC_MEMBER);
        cr_assert(strstr(d.msg, "jwks_uri") != NULL);
        snprintf(body, sizeof(body), "{\"agent\":\"%s\",\"jwks_uri\":\"/jwks.json\"}", pr.origin);
        route(&pr, "/.well-known/aauth-agent", 200, "application/json", NULL, body);
        cr_assert_eq(aa_disc_metadata(c, pr.origin, "aauth-agent", &doc, &d), AA_E_DISC_MEMBER);
        /* and a good one afterwards is accepted (charset parameter too) */
        snprintf(body, sizeof(body), "{\"agent\":\"%s\",\"jwks_uri\":\"%s/k\"}", pr.origin,
                 pr.origin);
        route(&pr, "/.well-known/aauth-agent", 200, "Application/JSON; charset=utf-8", NULL, body);
        cr_assert_eq(aa_disc_metadata(c, pr.origin, "aauth-agent", &doc, &d), AA_OK, "%s", d.msg);
        cJSON_Delete(doc);
    }
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, bad_jwks_rejected)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;
    struct aa_diag d;
    struct aa_buf many;

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    route(&pr, "/jwks.json", 200, "application/json", NULL,
          "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"key-1\","
          "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
          "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}]}");
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, &d), AA_E_DISC_JWKS);
    cr_assert(strstr(d.msg, "JWKS at ") == d.msg, "%s", d.msg);

    aa_buf_init(&many, 0);
    aa_buf_adds(&many, "{\"keys\":[");
    for (int i = 0; i < 33; i++)
        aa_buf_printf(&many,
                      "%s{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k%d\","
                      "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                      i ? "," : "", i);
    aa_buf_adds(&many, "]}");
    route(&pr, "/jwks.json", 200, "application/jwk-set+json", NULL, many.p);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "k0", &k, &d), AA_E_DISC_JWKS,
                 "33 keys: %s", d.msg);
    aa_buf_free(&many);
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, oversized_document_rejected)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_buf big;
    cJSON *doc = NULL;
    struct aa_diag d;

    peer_start(&pr);
    aa_buf_init(&big, 0);
    aa_buf_printf(&big, "{\"agent\":\"%s\",\"jwks_uri\":\"%s/jwks.json\",\"pad\":\"", pr.origin,
                  pr.origin);
    for (int i = 0; i < 70 * 1024; i++)
        aa_buf_addc(&big, 'p');
    aa_buf_adds(&big, "\"}");
    route(&pr, "/.well-known/aauth-agent", 200, "application/json", NULL, big.p);
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_metadata(c, pr.origin, "aauth-agent", &doc, &d), AA_E_HTTP_TOO_LARGE, "%s",
                 d.msg);
    cr_assert(strstr(d.msg, "65536") != NULL, "%s", d.msg);
    aa_buf_free(&big);
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, redirect_is_not_followed)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    cJSON *doc = NULL;
    struct aa_diag d;
    char extra[256];

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    route_raw(&pr, "/real", "x", 1);
    snprintf(extra, sizeof(extra), "Location: %s/real\r\n", pr.origin);
    route(&pr, "/.well-known/aauth-agent", 302, NULL, extra, "");
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_metadata(c, pr.origin, "aauth-agent", &doc, &d), AA_E_DISC_REDIRECT);
    cr_assert(strstr(d.msg, "302") != NULL && strstr(d.msg, "/real") != NULL, "%s", d.msg);
    cr_assert_eq(hits(&pr, "/real"), 0, "the redirect target was never requested");
    aa_disc_free(c);
    peer_stop(&pr);
}

/* ---- allow policy: no packet leaves for a refused URL ----------------------------- */
struct allow_log {
    int calls;
    char last[256];
};

static bool deny_all(void *ctx, const char *url)
{
    struct allow_log *l = ctx;
    l->calls++;
    snprintf(l->last, sizeof(l->last), "%s", url);
    return false;
}

Test(discovery, allow_callback_refusal_makes_no_request)
{
    struct peer pr;
    struct aa_disc_opts o;
    struct aa_disc *c;
    struct allow_log log = {0, ""};
    struct aa_jwk k;
    struct aa_diag d;
    char mu[128];

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    memset(&o, 0, sizeof(o));
    o.dev_mode = true;
    o.clock = fake_clock;
    o.allow = deny_all;
    o.allow_ctx = &log;
    c = aa_disc_new(&o);
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, &d), AA_E_DISC_NOT_ALLOWED);
    meta_url(&pr, "aauth-agent", mu, sizeof(mu));
    cr_assert_eq(log.calls, 1);
    cr_assert_str_eq(log.last, mu, "consulted with the exact URL");
    cr_assert(strstr(d.msg, mu) != NULL, "%s", d.msg);
    cr_assert_eq(total_hits(&pr), 0, "nothing reached the network");
    cr_assert_eq(aa_disc_fetch_count(c, mu), 0);
    cr_assert_eq(aa_disc_fetch_total(c), 0);
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, default_policy)
{
    static const char *trusted[] = {"HTTPS://AS.Example:443", "https://agent.example:8443"};
    struct peer pr;
    struct aa_disc_opts o;
    struct aa_disc *c;
    struct aa_jwk k;
    struct aa_diag d;
    char id[64], body[256];

    memset(&o, 0, sizeof(o));
    o.trusted_origins = trusted;
    o.n_trusted = 2;
    o.clock = fake_clock;
    c = aa_disc_new(&o);
    cr_assert_not_null(c);
    cr_assert(aa_disc_default_allow(c, "https://as.example/.well-known/aauth-issuer"));
    cr_assert(aa_disc_default_allow(c, "https://agent.example:8443/jwks.json"));
    cr_assert_not(aa_disc_default_allow(c, "https://agent.example/jwks.json"), "port differs");
    cr_assert_not(aa_disc_default_allow(c, "http://as.example/x"), "https only");
    cr_assert_not(aa_disc_default_allow(c, "https://evil.example/x"));
    cr_assert_not(aa_disc_default_allow(c, "http://127.0.0.1:8001/x"), "loopback needs dev mode");
    cr_assert_not(aa_disc_default_allow(c, "not a url"));

    /* an https loopback identifier is valid, but not trusted: refused, no packet */
    peer_start(&pr);
    snprintf(id, sizeof(id), "https://127.0.0.1:%u", (unsigned)pr.port);
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, id, "aauth-agent", "key-1", &k, &d), AA_E_DISC_NOT_ALLOWED, "%s",
                 d.msg);
    cr_assert_eq(total_hits(&pr), 0);
    aa_disc_free(c);

    /* dev mode allows loopback, yet a jwks_uri elsewhere is still refused */
    c = dev_cache();
    snprintf(body, sizeof(body), "{\"agent\":\"%s\",\"jwks_uri\":\"https://evil.example/jwks\"}",
             pr.origin);
    route(&pr, "/.well-known/aauth-agent", 200, "application/json", NULL, body);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, &d), AA_E_DISC_NOT_ALLOWED);
    cr_assert(strstr(d.msg, "https://evil.example/jwks") != NULL, "%s", d.msg);
    cr_assert_eq(total_hits(&pr), 1, "only the loopback metadata was fetched");
    aa_disc_free(c);
    peer_stop(&pr);

    {
        static const char *bad[] = {"https://x.example/path?q"};
        memset(&o, 0, sizeof(o));
        o.trusted_origins = bad;
        o.n_trusted = 1;
        c = aa_disc_new(&o); /* a path is tolerated: only the origin counts */
        cr_assert_not_null(c);
        cr_assert(aa_disc_default_allow(c, "https://x.example/other"));
        aa_disc_free(c);
        bad[0] = "ftp://x";
        cr_assert_null(aa_disc_new(&o), "unparsable trusted origin");
    }
}

Test(discovery, identifier_and_name_checked_before_network)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_disc_opts o;
    struct aa_jwk k;
    struct aa_diag d;
    char id[96];

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, pr.origin, "openid-configuration", "key-1", &k, &d),
                 AA_E_DISC_WELL_KNOWN);
    snprintf(id, sizeof(id), "%s/", pr.origin);
    cr_assert_eq(aa_disc_key(c, id, "aauth-agent", "key-1", &k, &d), AA_E_HTTP_IDENTIFIER);
    cr_assert(strstr(d.msg, "path") != NULL, "%s", d.msg);
    cr_assert_eq(aa_disc_key(c, "http://192.0.2.7:8001", "aauth-agent", "key-1", &k, &d),
                 AA_E_HTTP_IDENTIFIER, "http on a non-loopback host (SK-05)");
    cr_assert_eq(total_hits(&pr), 0);
    aa_disc_free(c);

    /* without dev mode the loopback http identifier itself is refused */
    memset(&o, 0, sizeof(o));
    c = aa_disc_new(&o);
    cr_assert_eq(aa_disc_key(c, pr.origin, "aauth-agent", "key-1", &k, &d), AA_E_HTTP_IDENTIFIER);
    cr_assert_eq(total_hits(&pr), 0);
    aa_disc_free(c);
    peer_stop(&pr);
}

Test(discovery, server_down_is_a_clear_error)
{
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;
    struct aa_diag d;
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    char id[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd); /* nobody listens there now */
    snprintf(id, sizeof(id), "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    aa_diag_clear(&d);
    cr_assert_eq(aa_disc_key(c, id, "aauth-agent", "key-1", &k, &d), AA_E_HTTP_CONNECT);
    cr_assert(strstr(d.msg, "metadata fetch failed") != NULL, "%s", d.msg);
    cr_assert(strstr(d.msg, id) != NULL, "%s", d.msg);
    aa_disc_free(c);
}

/* ---- direct JWKS URLs, copies, flush ----------------------------------------------- */
Test(discovery, jwks_url_copy_and_flush)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct aa_jwk k;
    struct aa_jwks all;
    char ju[128];

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    snprintf(ju, sizeof(ju), "%s/jwks.json", pr.origin);
    cr_assert_eq(aa_disc_jwks_url_key(c, ju, "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    cr_assert_eq(aa_disc_jwks_url_key(c, "http://192.0.2.9/jwks", "key-1", &k, NULL),
                 AA_E_DISC_NOT_ALLOWED);
    cr_assert_eq(aa_disc_jwks(c, pr.origin, "aauth-agent", &all, NULL), AA_OK);
    cr_assert_eq(all.n, 1);
    cr_assert_str_eq(all.keys[0].kid, "key-1");
    aa_jwks_cleanup(&all);
    cr_assert_eq(hits(&pr, "/jwks.json"), 1, "the direct URL and jwks_uri share one entry");
    aa_disc_flush(c);
    cr_assert_eq(aa_disc_fetch_count(c, ju), 0);
    cr_assert_eq(aa_disc_jwks_url_key(c, ju, "key-1", &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    cr_assert_eq(hits(&pr, "/jwks.json"), 2);
    aa_disc_free(c);
    peer_stop(&pr);
}

/* ---- two threads, one fetch --------------------------------------------------------- */
struct asker {
    struct aa_disc *c;
    const char *id;
    int rc;
};

static void *ask(void *arg)
{
    struct asker *a = arg;
    struct aa_jwk k;
    a->rc = aa_disc_key(a->c, a->id, "aauth-agent", "key-1", &k, NULL);
    if (a->rc == AA_OK)
        aa_jwk_cleanup(&k);
    return NULL;
}

Test(discovery, concurrent_askers_share_one_fetch)
{
    struct peer pr;
    struct aa_disc *c = dev_cache();
    struct asker a1, a2;
    pthread_t t1, t2;
    unsigned before;

    peer_start(&pr);
    serve_agent(&pr, NULL, NULL);
    pthread_mutex_lock(&pr.mu);
    pr.r[0].hold = true; /* the metadata route */
    pthread_mutex_unlock(&pr.mu);
    a1 = (struct asker){c, pr.origin, -1};
    a2 = a1;
    pthread_create(&t1, NULL, ask, &a1);
    pthread_mutex_lock(&pr.mu);
    while (!pr.held_arrived)
        pthread_cond_wait(&pr.cv, &pr.mu);
    pthread_mutex_unlock(&pr.mu);
    /* thread 1 is inside its fetch; thread 2 reads the clock under the
     * cache lock on its way in and then has to wait for that fetch */
    before = clock_count();
    pthread_create(&t2, NULL, ask, &a2);
    while (clock_count() == before)
        sched_yield();
    pthread_mutex_lock(&pr.mu);
    pr.released = true;
    pthread_cond_broadcast(&pr.cv);
    pthread_mutex_unlock(&pr.mu);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    cr_assert_eq(a1.rc, AA_OK);
    cr_assert_eq(a2.rc, AA_OK);
    cr_assert_eq(hits(&pr, "/.well-known/aauth-agent"), 1);
    cr_assert_eq(hits(&pr, "/jwks.json"), 1);
    aa_disc_free(c);
    peer_stop(&pr);
}
