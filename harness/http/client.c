/*
 * HTTP client over libcurl (see aa_http.h): ordered headers, exact request
 * target, no redirects, bounded responses, wire capture.
 *
 * Design choice: one easy handle per client object, reset (not recreated)
 * before every request so libcurl's connection cache gives keep-alive. The
 * loopback-only switch is enforced twice: on the URL host before any
 * network activity, and on the resolved address in the open-socket
 * callback (so a name that resolves elsewhere is refused too).
 */
#include "aa_http.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <curl/curl.h>

/* aa_strerror() reaches aa_http_strerror() through a weak reference, which
 * does not pull errors.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_http_strerror};

#define SENT_HEAD_MAX ((size_t)256 * 1024)

/* ---- global init ------------------------------------------------------- */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- header lists ------------------------------------------------------ */
static char *lower_dup(const char *s)
{
    char *o = aa_strdup(s);
    if (o != NULL)
        for (char *p = o; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    return o;
}

void aa_http_headers_init(struct aa_http_headers *h)
{
    if (h != NULL) {
        h->v = NULL;
        h->n = 0;
        h->cap = 0;
    }
}

void aa_http_headers_cleanup(struct aa_http_headers *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].lname);
        free(h->v[i].value);
    }
    free(h->v);
    aa_http_headers_init(h);
}

static int headers_push(struct aa_http_headers *h, const char *name, const char *value,
                        size_t value_len, bool raw)
{
    struct aa_http_header *e;

    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 8;
        struct aa_http_header *nv = realloc(h->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return AA_E_NOMEM;
        h->v = nv;
        h->cap = ncap;
    }
    e = &h->v[h->n];
    e->name = aa_strdup(name);
    e->lname = lower_dup(name);
    /* not aa_strndup: a received value may hold NUL bytes */
    e->value = malloc(value_len + 1);
    e->value_len = value_len;
    e->raw = raw;
    if (e->name == NULL || e->lname == NULL || e->value == NULL) {
        free(e->name);
        free(e->lname);
        free(e->value);
        return AA_E_NOMEM;
    }
    if (value_len)
        memcpy(e->value, value, value_len);
    e->value[value_len] = '\0';
    h->n++;
    return AA_OK;
}

int aa_http_headers_addn(struct aa_http_headers *h, const char *name, const char *value,
                         size_t value_len)
{
    if (h == NULL || name == NULL || (value == NULL && value_len != 0))
        return AA_E_INVAL;
    return headers_push(h, name, value, value_len, false);
}

int aa_http_headers_add(struct aa_http_headers *h, const char *name, const char *value)
{
    if (value == NULL)
        return AA_E_INVAL;
    return aa_http_headers_addn(h, name, value, strlen(value));
}

int aa_http_headers_add_line(struct aa_http_headers *h, const char *line)
{
    if (h == NULL || line == NULL)
        return AA_E_INVAL;
    return headers_push(h, line, "", 0, true);
}

const char *aa_http_headers_get(const struct aa_http_headers *h, const char *name)
{
    if (h == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < h->n; i++)
        if (!h->v[i].raw && aa_str_eq_ci(aa_str_c(h->v[i].name), name))
            return h->v[i].value;
    return NULL;
}

size_t aa_http_headers_count(const struct aa_http_headers *h, const char *name)
{
    size_t c = 0;

    if (h == NULL || name == NULL)
        return 0;
    for (size_t i = 0; i < h->n; i++)
        if (!h->v[i].raw && aa_str_eq_ci(aa_str_c(h->v[i].name), name))
            c++;
    return c;
}

/* ---- responses --------------------------------------------------------- */
void aa_http_response_init(struct aa_http_response *r)
{
    if (r == NULL)
        return;
    memset(r, 0, sizeof(*r));
    aa_http_headers_init(&r->headers);
    aa_buf_init(&r->sent_head, SENT_HEAD_MAX);
}

void aa_http_response_cleanup(struct aa_http_response *r)
{
    if (r == NULL)
        return;
    free(r->status_line);
    aa_http_headers_cleanup(&r->headers);
    free(r->body);
    aa_buf_free(&r->sent_head);
    free(r->method);
    free(r->url);
    aa_http_response_init(r);
}

/* ---- client ------------------------------------------------------------ */
struct aa_http_client {
    CURL *h;
    struct aa_http_client_opts o;
    char *ua;
};

struct aa_http_client *aa_http_client_new(const struct aa_http_client_opts *o)
{
    struct aa_http_client *c;
    char ua[64];

    pthread_once(&g_once, global_init);
    if (g_init_rc != CURLE_OK)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (o != NULL)
        c->o = *o;
    if (c->o.connect_timeout_ms <= 0)
        c->o.connect_timeout_ms = AA_HTTP_CONNECT_TIMEOUT_MS_DEFAULT;
    if (c->o.timeout_ms <= 0)
        c->o.timeout_ms = AA_HTTP_TIMEOUT_MS_DEFAULT;
    if (c->o.max_body == 0)
        c->o.max_body = AA_HTTP_MAX_BODY_DEFAULT;
    if (c->o.max_header_block == 0)
        c->o.max_header_block = AA_HTTP_MAX_HEADER_BLOCK_DEFAULT;
    aa_snprintf(ua, sizeof(ua), "aauth-harness/%s", AA_VERSION);
    c->ua = aa_strdup(c->o.user_agent ? c->o.user_agent : ua);
    c->o.user_agent = NULL;
    c->h = curl_easy_init();
    if (c->ua == NULL || c->h == NULL) {
        aa_http_client_free(c);
        return NULL;
    }
    return c;
}

void aa_http_client_free(struct aa_http_client *c)
{
    if (c == NULL)
        return;
    if (c->h != NULL)
        curl_easy_cleanup(c->h);
    free(c->ua);
    free(c);
}

/* Per-transfer state shared with the libcurl callbacks. */
struct xfer {
    struct aa_http_response *r;
    struct aa_buf body;
    size_t max_body;
    size_t max_head;
    size_t head_bytes;
    bool too_large;
    const char *too_large_what;
    bool loopback_only;
    bool refused_addr;
    bool nomem;
    bool body_seen;
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nitems, len = n;
    struct aa_http_response *r = x->r;

    x->head_bytes += n;
    if (x->head_bytes > x->max_head) {
        x->too_large = true;
        x->too_large_what = "response header block";
        return 0;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new status line: interim (1xx) headers are discarded */
        aa_http_headers_cleanup(&r->headers);
        free(r->status_line);
        r->status_line = aa_strndup(buf, len);
        if (r->status_line == NULL)
            goto nomem;
        return n;
    }
    if (len == 0)
        return n;
    if (is_ows(buf[0])) {
        /* obs-fold (RFC9112#5.2): join to the previous value with one SP */
        struct aa_http_header *e;
        size_t s = 0, nl;
        char *nv;
        if (r->headers.n == 0)
            return n;
        e = &r->headers.v[r->headers.n - 1];
        while (s < len && is_ows(buf[s]))
            s++;
        while (len > s && is_ows(buf[len - 1]))
            len--;
        nl = e->value_len + 1 + (len - s);
        nv = realloc(e->value, nl + 1);
        if (nv == NULL)
            goto nomem;
        nv[e->value_len] = ' ';
        memcpy(nv + e->value_len + 1, buf + s, len - s);
        nv[nl] = '\0';
        e->value = nv;
        e->value_len = nl;
        return n;
    }
    {
        const char *colon = memchr(buf, ':', len);
        char *name;
        size_t vs, ve;
        int rc;
        if (colon == NULL)
            return n; /* not a field line; libcurl decides whether to fail */
        name = aa_strndup(buf, (size_t)(colon - buf));
        if (name == NULL)
            goto nomem;
        vs = (size_t)(colon - buf) + 1;
        ve = len;
        while (vs < ve && is_ows(buf[vs]))
            vs++;
        while (ve > vs && is_ows(buf[ve - 1]))
            ve--;
        rc = aa_http_headers_addn(&r->headers, name, buf + vs, ve - vs);
        free(name);
        if (rc != AA_OK)
            goto nomem;
    }
    return n;
nomem:
    x->nomem = true;
    return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;

    x->body_seen = true;
    if (n > x->max_body || x->body.len > x->max_body - n) {
        x->too_large = true;
        x->too_large_what = "response body";
        return 0;
    }
    if (aa_buf_add(&x->body, p, n) != AA_OK) {
        x->nomem = true;
        return 0;
    }
    return n;
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    struct xfer *x = ud;

    (void)h;
    if (type == CURLINFO_HEADER_OUT)
        aa_buf_add(&x->r->sent_head, data, size); /* best effort, bounded */
    return 0;
}

static bool sockaddr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(&s6->sin6_addr, &in6addr_loopback, sizeof(s6->sin6_addr)) == 0)
            return true;
        return memcmp(s6->sin6_addr.s6_addr, v4mapped, 12) == 0 && s6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct xfer *x = ud;

    (void)purpose;
    if (x->loopback_only && !sockaddr_is_loopback(&a->addr)) {
        x->refused_addr = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static bool is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Validate one caller header (non-raw mode); NULL if fine, else a reason. */
static const char *header_problem(const struct aa_http_header *e)
{
    static const char *managed[] = {"content-length", "transfer-encoding", "connection", "expect"};
    if (e->name[0] == '\0')
        return "empty field name";
    for (const char *p = e->name; *p; p++)
        if (!is_tchar((unsigned char)*p))
            return "field name is not an RFC 9110 token";
    for (size_t i = 0; i < e->value_len; i++) {
        unsigned char c = (unsigned char)e->value[i];
        if (c == '\r' || c == '\n')
            return "value contains CR or LF";
        if (c == 0)
            return "value contains NUL";
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return "value contains a control character";
    }
    for (size_t i = 0; i < sizeof(managed) / sizeof(managed[0]); i++)
        if (strcmp(e->lname, managed[i]) == 0)
            return "field is managed by the client (use AA_HTTP_REQ_RAW)";
    return NULL;
}

/* Does the caller's list (incl. raw lines) mention header |lname|? */
static bool caller_sets(const struct aa_http_headers *h, const char *lname)
{
    size_t ln = strlen(lname);

    if (h == NULL)
        return false;
    for (size_t i = 0; i < h->n; i++) {
        const struct aa_http_header *e = &h->v[i];
        if (!e->raw && strcmp(e->lname, lname) == 0)
            return true;
        if (e->raw && strncmp(e->lname, lname, ln) == 0 &&
            (e->lname[ln] == ':' || e->lname[ln] == ';'))
            return true;
    }
    return false;
}

static int build_slist(const struct aa_http_request *req, struct curl_slist **out,
                       struct aa_diag *d)
{
    const struct aa_http_headers *h = req->headers;
    struct curl_slist *sl = NULL, *t;
    struct aa_buf line;
    bool raw = (req->flags & AA_HTTP_REQ_RAW) != 0;

    aa_buf_init(&line, 0);
    for (size_t i = 0; h != NULL && i < h->n; i++) {
        const struct aa_http_header *e = &h->v[i];
        aa_buf_reset(&line);
        if (e->raw) {
            if (!raw) {
                aa_buf_free(&line);
                curl_slist_free_all(sl);
                return aa_fail(d, AA_E_HTTP_HEADER, NULL,
                               "%s %s: raw header line needs AA_HTTP_REQ_RAW", req->method,
                               req->url);
            }
            aa_buf_adds(&line, e->name);
        } else {
            const char *why = raw ? NULL : header_problem(e);
            if (why == NULL && memchr(e->value, '\0', e->value_len) != NULL)
                why = "value contains NUL (not sendable through libcurl)";
            if (why != NULL) {
                aa_buf_free(&line);
                curl_slist_free_all(sl);
                return aa_fail(d, AA_E_HTTP_HEADER, "RFC9110#5.5", "%s %s: header \"%.64s\": %s",
                               req->method, req->url, e->name, why);
            }
            aa_buf_adds(&line, e->name);
            /* "Name;" is libcurl's spelling of "send Name with an empty
             * value"; "Name:" would remove the header instead. */
            if (e->value_len == 0) {
                aa_buf_addc(&line, ';');
            } else {
                aa_buf_adds(&line, ": ");
                aa_buf_add(&line, e->value, e->value_len);
            }
        }
        if (line.err) {
            aa_buf_free(&line);
            curl_slist_free_all(sl);
            return AA_E_NOMEM;
        }
        t = curl_slist_append(sl, line.p);
        if (t == NULL) {
            aa_buf_free(&line);
            curl_slist_free_all(sl);
            return AA_E_NOMEM;
        }
        sl = t;
    }
    aa_buf_free(&line);
    /* libcurl would add "Content-Type: application/x-www-form-urlencoded"
     * to every POST and "Expect: 100-continue" to large ones; the caller
     * decides both (PROFILE#2.4 covers content-type iff there is a body). */
    if (!caller_sets(h, "content-type")) {
        t = curl_slist_append(sl, "Content-Type:");
        if (t == NULL)
            goto nomem;
        sl = t;
    }
    if (!caller_sets(h, "expect")) {
        t = curl_slist_append(sl, (req->flags & AA_HTTP_REQ_EXPECT_CONTINUE)
                                      ? "Expect: 100-continue"
                                      : "Expect:");
        if (t == NULL)
            goto nomem;
        sl = t;
    }
    *out = sl;
    return AA_OK;
nomem:
    curl_slist_free_all(sl);
    return AA_E_NOMEM;
}

static int map_curl_error(CURLcode cc, const struct xfer *x, const char *method, const char *url,
                          const char *errbuf, const struct aa_http_client *c, struct aa_diag *d)
{
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    int ul = (int)strnlen(url, 200);

    if (x->nomem)
        return aa_fail(d, AA_E_NOMEM, NULL, "%s %.*s: out of memory", method, ul, url);
    if (cc == CURLE_OUT_OF_MEMORY && !x->body_seen)
        /* libcurl 7.88 reports a header line over its 100 KiB ceiling as
         * CURLE_OUT_OF_MEMORY without a message. During the header phase
         * that is what a hostile peer causes; a genuine allocation failure
         * there is far less likely, and our own allocations set x->nomem. */
        return aa_fail(d, AA_E_HTTP_TOO_LARGE, "PROFILE#9",
                       "%s %.*s: response header line larger than libcurl accepts "
                       "(CURL_MAX_HTTP_HEADER, 100 KiB)",
                       method, ul, url);
    if (cc == CURLE_OUT_OF_MEMORY)
        return aa_fail(d, AA_E_NOMEM, NULL, "%s %.*s: out of memory: %s", method, ul, url, detail);
    if (x->too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return aa_fail(d, AA_E_HTTP_TOO_LARGE, "PROFILE#9",
                       "%s %.*s: %s larger than %zu bytes, transfer aborted", method, ul, url,
                       x->too_large_what ? x->too_large_what : "response body",
                       (x->too_large_what && strcmp(x->too_large_what, "response body") != 0)
                           ? c->o.max_header_block
                           : c->o.max_body);
    if (x->refused_addr)
        return aa_fail(d, AA_E_HTTP_NOT_ALLOWED, NULL,
                       "%s %.*s: resolved to a non-loopback address (loopback-only client)", method,
                       ul, url);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return aa_fail(d, AA_E_HTTP_TIMEOUT, "PROFILE#9",
                       "%s %.*s: timed out (connect %ld ms, total %ld ms): %s", method, ul, url,
                       c->o.connect_timeout_ms, c->o.timeout_ms, detail);
    case CURLE_COULDNT_CONNECT:
        return aa_fail(d, AA_E_HTTP_CONNECT, NULL, "%s %.*s: cannot connect: %s", method, ul, url,
                       detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return aa_fail(d, AA_E_HTTP_RESOLVE, NULL, "%s %.*s: host did not resolve: %s", method, ul,
                       url, detail);
    case CURLE_URL_MALFORMAT:
        return aa_fail(d, AA_E_HTTP_URL, "RFC3986#3", "%s %.*s: URL refused by libcurl: %s", method,
                       ul, url, detail);
    case CURLE_SEND_ERROR:
        return aa_fail(d, AA_E_HTTP_SEND, NULL, "%s %.*s: sending failed: %s", method, ul, url,
                       detail);
    case CURLE_UNSUPPORTED_PROTOCOL: /* our parser vetted the scheme: this is HTTP/0.9 */
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WRITE_ERROR:
        return aa_fail(d, AA_E_HTTP_PROTOCOL, "RFC9112", "%s %.*s: bad or incomplete response: %s",
                       method, ul, url, detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return aa_fail(d, AA_E_HTTP_TLS, NULL, "%s %.*s: TLS failure: %s", method, ul, url, detail);
    default:
        return aa_fail(d, AA_E_HTTP_CURL, NULL, "%s %.*s: libcurl error %d: %s", method, ul, url,
                       (int)cc, detail);
    }
}

bool aa_http_err_is_transport(int code)
{
    switch (code) {
    case AA_E_HTTP_CONNECT:
    case AA_E_HTTP_TIMEOUT:
    case AA_E_HTTP_TOO_LARGE:
    case AA_E_HTTP_RESOLVE:
    case AA_E_HTTP_PROTOCOL:
    case AA_E_HTTP_SEND:
    case AA_E_HTTP_TLS:
        return true;
    default:
        return false;
    }
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)

int aa_http_send(struct aa_http_client *c, const struct aa_http_request *req,
                 struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_url u;
    struct aa_buf target;
    struct curl_slist *sl = NULL;
    struct xfer x;
    char errbuf[CURL_ERROR_SIZE];
    CURL *h;
    CURLcode cc = CURLE_OK;
    bool has_body;
    int rc;

    if (c == NULL || req == NULL || resp == NULL || req->url == NULL || req->method == NULL ||
        req->method[0] == '\0' || (req->body == NULL && req->body_len != 0))
        return AA_E_INVAL;
    aa_http_response_cleanup(resp);
    resp->method = aa_strdup(req->method);
    resp->url = aa_strdup(req->url);
    if (resp->method == NULL || resp->url == NULL)
        return AA_E_NOMEM;
    if (!(req->flags & AA_HTTP_REQ_RAW)) {
        for (const char *p = req->method; *p; p++)
            if (!is_tchar((unsigned char)*p))
                return aa_fail(d, AA_E_HTTP_HEADER, "RFC9110#9.1",
                               "method \"%.32s\" is not a token", req->method);
    }
    rc = aa_url_parse(req->url, strlen(req->url), AA_URL_ALLOW_FRAGMENT, &u, d);
    if (rc != AA_OK)
        return rc;
    if (c->o.loopback_only && !aa_http_host_is_loopback(u.host))
        return aa_fail(d, AA_E_HTTP_NOT_ALLOWED, NULL,
                       "%s %.200s: host \"%.*s\" is not loopback (loopback-only client)",
                       req->method, req->url, (int)u.host.len, u.host.p);
    if (req->target != NULL && !(req->flags & AA_HTTP_REQ_RAW))
        return aa_fail(d, AA_E_HTTP_URL, NULL,
                       "%s %.200s: an explicit request target needs AA_HTTP_REQ_RAW", req->method,
                       req->url);
    aa_buf_init(&target, AA_URL_MAX_LEN + 2);
    if (req->target != NULL)
        aa_buf_adds(&target, req->target);
    else
        aa_url_target(&u, &target);
    if (target.err)
        return target.err;
    rc = build_slist(req, &sl, d);
    if (rc != AA_OK) {
        aa_buf_free(&target);
        return rc;
    }

    memset(&x, 0, sizeof(x));
    x.r = resp;
    x.max_body = c->o.max_body;
    x.max_head = c->o.max_header_block;
    x.loopback_only = c->o.loopback_only;
    aa_buf_init(&x.body, c->o.max_body + 1);
    errbuf[0] = '\0';
    has_body = req->body != NULL;

    h = c->h;
    curl_easy_reset(h);
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_REQUEST_TARGET, target.p);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_PROXY, ""); /* never an environment proxy */
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_body);
    SETOPT(CURLOPT_USERAGENT, c->ua);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_HTTPHEADER, sl);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, &x);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, &x);
    SETOPT(CURLOPT_DEBUGFUNCTION, on_debug);
    SETOPT(CURLOPT_DEBUGDATA, &x);
    SETOPT(CURLOPT_VERBOSE, 1L);
    SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SETOPT(CURLOPT_OPENSOCKETDATA, &x);
    if (has_body) {
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SETOPT(CURLOPT_POSTFIELDS, req->body_len ? (const char *)req->body : "");
        if (strcmp(req->method, "POST") != 0)
            SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") == 0) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "POST") == 0) {
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        SETOPT(CURLOPT_POSTFIELDS, "");
    } else {
        SETOPT(CURLOPT_HTTPGET, 1L);
        SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (cc != CURLE_OK) {
        rc = aa_fail(d, AA_E_HTTP_CURL, NULL, "%s %.200s: libcurl option rejected: %s", req->method,
                     req->url, curl_easy_strerror(cc));
        goto out;
    }
    cc = curl_easy_perform(h);
    {
        long status = 0;
        curl_off_t t = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        resp->status = status;
        if (curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK)
            resp->timing.connect_us = (int64_t)t;
        if (curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &t) == CURLE_OK)
            resp->timing.ttfb_us = (int64_t)t;
        if (curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK)
            resp->timing.total_us = (int64_t)t;
    }
    if (x.body.err && !x.nomem && !x.too_large)
        x.nomem = true;
    resp->body = aa_buf_detach(&x.body, &resp->body_len);
    if (resp->body == NULL) {
        rc = AA_E_NOMEM;
        goto out;
    }
    rc = cc == CURLE_OK && !x.nomem && !x.too_large
             ? AA_OK
             : map_curl_error(cc, &x, req->method, req->url, errbuf, c, d);
out:
    /* the handle keeps pointers to our stack (errbuf, callbacks' data) */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    aa_buf_free(&x.body);
    aa_buf_free(&target);
    curl_slist_free_all(sl);
    return rc;
}

int aa_http_get(struct aa_http_client *c, const char *url, const struct aa_http_headers *headers,
                struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_http_request req;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    return aa_http_send(c, &req, resp, d);
}
