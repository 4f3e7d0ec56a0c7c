/*
 * libmicrohttpd adapter (see aa_server.h): complete requests in, copied
 * responses out, PROFILE#9 RB size limits enforced before the handler.
 *
 * Design choice: the per-request state is created in MHD's URI-log callback
 * (the one place that sees the request-target before MHD rewrites it in
 * place) and travels as MHD's con_cls until the completion callback frees
 * it, so every path - handler, adapter error, client abort, daemon
 * shutdown - releases it exactly once.
 *
 * Connections: the adapter owns the listening socket. One housekeeping
 * thread accepts, applies the connection limits (total and per client
 * address), hands each socket to the least loaded of |threads|
 * single-threaded MHD daemons (MHD_add_connection), and once a second
 * closes connections whose request has not fully arrived within
 * request_timeout_s (MHD's own timeout only measures inactivity, so a
 * client trickling one byte a second would never be cut). MHD's thread
 * pool is not used: its threads race for accept() and one of them often
 * takes a whole burst of connections (docs/security.md section 3).
 */
#include "aa_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define STOP_WAIT_S 5
#define REAP_PERIOD_MS 1000   /* how often the request deadline is checked */
#define ACCEPT_BURST 64       /* accept() calls per wake-up */
#define ACCEPT_BACKOFF_MS 100 /* pause after EMFILE/ENFILE/ENOBUFS/ENOMEM */

/*
 * One accepted connection, from accept() until MHD's NOTIFY_CLOSED. Linked
 * on aa_server.conns under aa_server.mu. |started| is set by
 * NOTIFY_STARTED: from then until NOTIFY_CLOSED, which MHD calls before it
 * closes the socket, |fd| is certainly this connection's, so shutdown() on
 * it can never hit a reused descriptor.
 */
struct conn {
    struct conn *prev, *next;
    int fd;
    unsigned dmn; /* index of the daemon that serves it */
    int family;
    uint8_t addr[16];
    int64_t since_ms; /* start of the request being received */
    bool started;
    bool waiting; /* a request is being received (not yet answered) */
    bool cut;     /* shut down by the request deadline */
};

struct aa_server {
    struct MHD_Daemon **mhd;
    unsigned n_mhd;
    unsigned *load; /* open connections per daemon */
    struct aa_server_opts o;
    char bind[INET6_ADDRSTRLEN];
    uint16_t port;
    char origin[96];
    int lfd;
    pthread_t keeper;
    bool keeper_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    struct conn *conns;
    unsigned open;
    unsigned inflight;
    uint64_t served;
    uint64_t accepted;
    uint64_t refused;
    uint64_t cut;
};

/* Per-request state (MHD's con_cls). */
struct rq {
    struct aa_server *s;
    struct conn *conn; /* the connection's record, NULL if MHD gave none */
    char *target;
    size_t target_len;
    struct aa_buf body;
    bool started;
    bool counted;
    bool too_large;
    bool answered;
    uint64_t discarded;
};

/* ---- small helpers ----------------------------------------------------- */
static bool is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
        int y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* Length of a valid UTF-8 sequence at |p|, 0 when invalid. */
static size_t u8_valid(const unsigned char *p, size_t avail)
{
    size_t n;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* JSON string literal (RFC8259#7) of |n| bytes; invalid UTF-8 -> U+FFFD. */
static void json_quote(struct aa_buf *out, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";

    aa_buf_addc(out, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            aa_buf_add(out, e, 2);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
            aa_buf_add(out, e, 6);
            i++;
        } else if ((k = u8_valid((const unsigned char *)s + i, n - i)) == 0) {
            aa_buf_adds(out, "\\ufffd");
            i++;
        } else {
            aa_buf_add(out, s + i, k);
            i += k;
        }
    }
    aa_buf_addc(out, '"');
}

/* Controls (and non-ASCII) as \xNN, for one-line logs and transcripts. */
static void add_escaped(struct aa_buf *out, const char *s, size_t n, bool keep_lf, bool keep_utf8)
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && !(keep_lf && c == '\n')) || c == 0x7f ||
            (!keep_utf8 && c >= 0x80)) {
            char e[4] = {'\\', 'x', hx[c >> 4], hx[c & 15]};
            aa_buf_add(out, e, 4);
        } else {
            aa_buf_addc(out, (char)c);
        }
    }
}

const char *aa_server_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

const char *aa_server_strerror(int code)
{
    switch (code) {
    case AA_E_SERVER_START:
        return "server could not start listening";
    case AA_E_SERVER_ADDR:
        return "bind address is not an IP literal";
    case AA_E_SERVER_HEADER:
        return "response header refused";
    case AA_E_SERVER_CONFIG:
        return "server option out of range";
    default:
        return NULL;
    }
}

/* ---- requests ---------------------------------------------------------- */
const char *aa_server_request_header(const struct aa_server_request *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < r->n_headers; i++)
        if (ieq(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

size_t aa_server_request_header_count(const struct aa_server_request *r, const char *name)
{
    size_t c = 0;

    if (r == NULL || name == NULL)
        return 0;
    for (size_t i = 0; i < r->n_headers; i++)
        if (ieq(r->headers[i].name, name))
            c++;
    return c;
}

bool aa_server_request_path_is(const struct aa_server_request *r, const char *path)
{
    size_t n;

    if (r == NULL || path == NULL || r->path == NULL)
        return false;
    n = strlen(path);
    return r->path_len == n && memcmp(r->path, path, n) == 0;
}

/* ---- responses --------------------------------------------------------- */
void aa_server_response_init(struct aa_server_response *r)
{
    memset(r, 0, sizeof(*r));
    aa_buf_init(&r->body, 0);
    r->stream_size = UINT64_MAX;
}

void aa_server_response_cleanup(struct aa_server_response *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    aa_buf_free(&r->body);
    if (r->stream_free != NULL)
        r->stream_free(r->stream_ctx);
    aa_server_response_init(r);
}

int aa_server_response_header(struct aa_server_response *r, const char *name, const char *value)
{
    struct aa_server_resp_header *e;

    if (r == NULL || name == NULL || value == NULL)
        return AA_E_INVAL;
    if (name[0] == '\0')
        return AA_E_SERVER_HEADER;
    for (const char *p = name; *p; p++)
        if (!is_tchar((unsigned char)*p))
            return AA_E_SERVER_HEADER;
    for (const char *p = value; *p; p++)
        if (*p == '\r' || *p == '\n')
            return AA_E_SERVER_HEADER;
    if (r->n_headers == r->cap_headers) {
        size_t ncap = r->cap_headers ? r->cap_headers * 2 : 8;
        struct aa_server_resp_header *nv = realloc(r->headers, ncap * sizeof(*nv));
        if (nv == NULL)
            return AA_E_NOMEM;
        r->headers = nv;
        r->cap_headers = ncap;
    }
    e = &r->headers[r->n_headers];
    e->name = aa_strdup(name);
    e->value = aa_strdup(value);
    if (e->name == NULL || e->value == NULL) {
        free(e->name);
        free(e->value);
        return AA_E_NOMEM;
    }
    r->n_headers++;
    return AA_OK;
}

const char *aa_server_response_get_header(const struct aa_server_response *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < r->n_headers; i++)
        if (ieq(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

int aa_server_response_body(struct aa_server_response *r, const void *body, size_t len)
{
    if (r == NULL || (body == NULL && len != 0))
        return AA_E_INVAL;
    aa_buf_free(&r->body);
    aa_buf_init(&r->body, len + 1);
    if (aa_buf_add(&r->body, body, len) != AA_OK)
        return r->body.err;
    return AA_OK;
}

int aa_server_response_json(struct aa_server_response *r, int status, const char *json)
{
    int rc;

    if (r == NULL || json == NULL)
        return AA_E_INVAL;
    r->status = status;
    rc = aa_server_response_header(r, "Content-Type", "application/json");
    if (rc != AA_OK)
        return rc;
    return aa_server_response_body(r, json, strlen(json));
}

static int response_error_v(struct aa_server_response *r, int status, const char *code,
                            const char *fmt, va_list ap) AA_PRINTF(4, 0);
static int response_error_v(struct aa_server_response *r, int status, const char *code,
                            const char *fmt, va_list ap)
{
    struct aa_buf desc, js;
    int rc;

    aa_buf_init(&desc, 4096);
    aa_buf_init(&js, 0);
    if (fmt != NULL)
        aa_buf_vprintf(&desc, fmt, ap);
    aa_buf_adds(&js, "{\"error\":");
    json_quote(&js, code, strlen(code));
    if (fmt != NULL && desc.err == AA_OK) {
        aa_buf_adds(&js, ",\"error_description\":");
        json_quote(&js, desc.p ? desc.p : "", desc.len);
    }
    aa_buf_addc(&js, '}');
    rc = js.err ? js.err : aa_server_response_json(r, status, js.p);
    aa_buf_free(&desc);
    aa_buf_free(&js);
    return rc;
}

int aa_server_response_error(struct aa_server_response *r, int status, const char *code,
                             const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (r == NULL || code == NULL)
        return AA_E_INVAL;
    va_start(ap, fmt);
    rc = response_error_v(r, status, code, fmt, ap);
    va_end(ap);
    return rc;
}

int aa_server_response_not_found(struct aa_server_response *r, const struct aa_server_request *req)
{
    if (req == NULL || req->path == NULL)
        return aa_server_response_error(r, 404, "invalid_request", "no such resource");
    return aa_server_response_error(r, 404, "invalid_request", "no resource at %.*s",
                                    req->path_len > 200 ? 200 : (int)req->path_len, req->path);
}

int aa_server_response_method_not_allowed(struct aa_server_response *r,
                                          const struct aa_server_request *req, const char *allow)
{
    int rc;

    if (allow == NULL)
        return AA_E_INVAL;
    rc = aa_server_response_error(r, 405, "invalid_request", "method %.32s not allowed; use %s",
                                  req && req->method ? req->method : "?", allow);
    if (rc != AA_OK)
        return rc;
    return aa_server_response_header(r, "Allow", allow);
}

int aa_server_response_stream(struct aa_server_response *r, uint64_t size, aa_server_stream_fn fn,
                              void *ctx, void (*free_fn)(void *))
{
    if (r == NULL || fn == NULL)
        return AA_E_INVAL;
    if (r->stream_free != NULL)
        r->stream_free(r->stream_ctx);
    r->stream = fn;
    r->stream_ctx = ctx;
    r->stream_free = free_fn;
    r->stream_size = size;
    return AA_OK;
}

/* ---- MHD callbacks ----------------------------------------------------- */
static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct rq *rq = calloc(1, sizeof(*rq));
    const union MHD_ConnectionInfo *ci;

    if (rq == NULL)
        return NULL;
    rq->s = cls;
    ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    rq->conn = ci != NULL ? ci->socket_context : NULL;
    rq->target_len = uri ? strlen(uri) : 0;
    rq->target = aa_strndup(uri ? uri : "", rq->target_len);
    if (rq->target == NULL) {
        free(rq);
        return NULL;
    }
    aa_buf_init(&rq->body, rq->s->o.max_body + 1);
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct aa_server *s = cls;
    struct rq *rq = *con_cls;

    (void)con;
    (void)toe;
    if (rq == NULL)
        return;
    if (rq->counted || rq->conn != NULL) {
        pthread_mutex_lock(&s->mu);
        if (rq->counted) {
            s->inflight--;
            pthread_cond_broadcast(&s->cv);
        }
        if (rq->conn != NULL) {
            /* A keep-alive connection starts waiting for its next request
             * now; MHD calls this before NOTIFY_CLOSED, so the record is
             * still there. */
            rq->conn->waiting = true;
            rq->conn->since_ms = mono_ms();
        }
        pthread_mutex_unlock(&s->mu);
    }
    aa_buf_free(&rq->body);
    free(rq->target);
    free(rq);
    *con_cls = NULL;
}

/* MHD must not decode anything: we never use its URL or GET arguments. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/*
 * Field lines collected from MHD. |v| points into |arena|, our own copy, so
 * values can be trimmed and are NUL-terminated at |value_len|.
 */
struct hdr_scan {
    struct aa_server_header *v;
    size_t n;
    size_t cap;
    size_t longest;
    size_t block;
    size_t arena_need;
    bool overflow;
    bool bad_name;
    bool nomem;
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    struct hdr_scan *h = cls;
    size_t line;

    (void)kind;
    if (key == NULL)
        return MHD_YES;
    if (value == NULL)
        value_size = 0;
    line = key_size + 2 + value_size;
    if (line > h->longest)
        h->longest = line;
    h->block += line + 2;
    /* RFC9112#5.1: no whitespace between name and colon; names are tokens */
    if (key_size == 0)
        h->bad_name = true;
    for (size_t i = 0; i < key_size; i++)
        if (!is_tchar((unsigned char)key[i]))
            h->bad_name = true;
    if (h->n == AA_SERVER_MAX_HEADERS) {
        h->overflow = true;
        return MHD_YES;
    }
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 16;
        struct aa_server_header *nv = realloc(h->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            h->nomem = true;
            return MHD_NO;
        }
        h->v = nv;
        h->cap = ncap;
    }
    /* MHD's pointers for now; replaced by arena copies in copy_headers() */
    h->v[h->n].name = key;
    h->v[h->n].value = value ? value : "";
    h->v[h->n].value_len = value_size;
    h->arena_need += key_size + 1 + value_size + 1;
    h->n++;
    return MHD_YES;
}

/*
 * Copy names and values into one allocation. MHD strips leading whitespace
 * of a value but keeps trailing whitespace; RFC9110#5.5 excludes both from
 * the field value, so trailing SP/HTAB are trimmed here.
 */
static char *copy_headers(struct hdr_scan *h)
{
    char *arena = malloc(h->arena_need + 1), *o = arena;

    if (arena == NULL)
        return NULL;
    for (size_t i = 0; i < h->n; i++) {
        struct aa_server_header *e = &h->v[i];
        size_t kn = strlen(e->name), vn = e->value_len;
        memcpy(o, e->name, kn);
        o[kn] = '\0';
        e->name = o;
        o += kn + 1;
        while (vn > 0 && is_ows(e->value[vn - 1]))
            vn--;
        memcpy(o, e->value, vn);
        o[vn] = '\0';
        e->value = o;
        e->value_len = vn;
        o += vn + 1;
    }
    return arena;
}

/* RFC9112#3.2: a request-target is visible ASCII; '#' never belongs in it. */
static bool target_ok(const char *t, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return false;
    }
    return true;
}

/* Split the raw target into path and query views (see aa_server.h). */
static void split_target(struct aa_server_request *r)
{
    const char *t = r->target, *q;
    size_t n = r->target_len, skip = 0;

    /* absolute-form (RFC9112#3.2.2): the path starts after the authority */
    if ((n >= 7 && strncasecmp(t, "http://", 7) == 0) ||
        (n >= 8 && strncasecmp(t, "https://", 8) == 0)) {
        const char *a = memchr(t, '/', n) + 2;
        const char *e = a;
        while (e < t + n && *e != '/' && *e != '?')
            e++;
        skip = (size_t)(e - t);
    }
    q = memchr(t + skip, '?', n - skip);
    r->path = t + skip;
    r->path_len = q ? (size_t)(q - r->path) : n - skip;
    r->query = q ? q + 1 : NULL;
    r->query_len = q ? n - (size_t)(q + 1 - t) : 0;
}

static void client_address(struct MHD_Connection *con, struct aa_server_request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    r->client_addr[0] = '\0';
    r->client_port = 0;
    if (ci == NULL || ci->client_addr == NULL)
        return;
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ci->client_addr;
        inet_ntop(AF_INET, &a->sin_addr, r->client_addr, sizeof(r->client_addr));
        r->client_port = ntohs(a->sin_port);
    } else if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ci->client_addr;
        inet_ntop(AF_INET6, &a->sin6_addr, r->client_addr, sizeof(r->client_addr));
        r->client_port = ntohs(a->sin6_port);
    }
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct aa_server_response *holder = cls;
    long n = holder->stream(holder->stream_ctx, pos, buf, max);

    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)((size_t)n > max ? max : (size_t)n);
}

static void stream_holder_free(void *cls)
{
    struct aa_server_response *holder = cls;

    if (holder->stream_free != NULL)
        holder->stream_free(holder->stream_ctx);
    free(holder);
}

static void log_line(struct aa_server *s, const struct aa_server_request *req, int status,
                     uint64_t bytes)
{
    struct aa_buf line;

    if (s->o.log == NULL)
        return;
    aa_buf_init(&line, 1024);
    add_escaped(&line, req->method, strnlen(req->method, 32), false, false);
    aa_buf_addc(&line, ' ');
    add_escaped(&line, req->path, req->path_len > 256 ? 256 : req->path_len, false, false);
    if (req->path_len > 256)
        aa_buf_adds(&line, "...");
    aa_buf_printf(&line, " %d %llu", status, (unsigned long long)bytes);
    if (line.err == AA_OK)
        s->o.log(s->o.log_ctx, line.p);
    aa_buf_free(&line);
}

/* Queue |resp| on |con|; consumes the stream part of |resp|. */
static enum MHD_Result send_response(struct aa_server *s, struct MHD_Connection *con, struct rq *rq,
                                     const struct aa_server_request *req,
                                     struct aa_server_response *resp)
{
    struct MHD_Response *mr;
    enum MHD_Result ret;
    uint64_t bytes;

    if (resp->status < 100 || resp->status > 999) {
        aa_server_response_cleanup(resp);
        aa_server_response_error(resp, 500, "server_error", "handler produced no response");
        if (resp->status == 0)
            resp->status = 500;
    }
    if (resp->stream != NULL) {
        struct aa_server_response *holder = malloc(sizeof(*holder));
        if (holder == NULL)
            return MHD_NO;
        aa_server_response_init(holder);
        holder->stream = resp->stream;
        holder->stream_ctx = resp->stream_ctx;
        holder->stream_free = resp->stream_free;
        resp->stream_free = NULL; /* ownership moves to MHD */
        mr = MHD_create_response_from_callback(resp->stream_size, 16 * 1024, stream_reader, holder,
                                               stream_holder_free);
        if (mr == NULL) {
            stream_holder_free(holder);
            return MHD_NO;
        }
        bytes = resp->stream_size;
    } else {
        mr = MHD_create_response_from_buffer(
            resp->body.len, resp->body.p ? resp->body.p : (char *)"", MHD_RESPMEM_MUST_COPY);
        if (mr == NULL)
            return MHD_NO;
        bytes = resp->body.len;
    }
    for (size_t i = 0; i < resp->n_headers; i++) {
        const char *n = resp->headers[i].name;
        /* MHD owns message framing */
        if (ieq(n, "Content-Length") || ieq(n, "Transfer-Encoding"))
            continue;
        (void)MHD_add_response_header(mr, n, resp->headers[i].value);
    }
    if (resp->close)
        (void)MHD_add_response_header(mr, "Connection", "close");
    /* Answered: the request deadline no longer applies (a streamed
     * response may run for as long as the client reads it). */
    pthread_mutex_lock(&s->mu);
    if (rq->conn != NULL)
        rq->conn->waiting = false;
    pthread_mutex_unlock(&s->mu);
    ret = MHD_queue_response(con, (unsigned int)resp->status, mr);
    MHD_destroy_response(mr);
    rq->answered = true;
    pthread_mutex_lock(&s->mu);
    s->served++;
    pthread_mutex_unlock(&s->mu);
    log_line(s, req, resp->status, bytes);
    if (s->o.transcript != NULL)
        s->o.transcript(s->o.transcript_ctx, req, resp);
    return ret;
}

static void build_request(struct MHD_Connection *con, struct rq *rq, const char *method,
                          const char *version, const struct hdr_scan *hs,
                          struct aa_server_request *req)
{
    memset(req, 0, sizeof(*req));
    req->method = method ? method : "";
    req->version = version ? version : "";
    req->target = rq->target;
    req->target_len = rq->target_len;
    split_target(req);
    req->headers = hs->v;
    req->n_headers = hs->n;
    req->body = rq->body.p ? rq->body.p : "";
    req->body_len = rq->body.p ? rq->body.len : 0;
    client_address(con, req);
}

/* Adapter-generated JSON error (400/413/431) for a request. */
static enum MHD_Result send_adapter_error(struct aa_server *s, struct MHD_Connection *con,
                                          struct rq *rq, const struct aa_server_request *req,
                                          int status, const char *desc)
{
    struct aa_server_response resp;
    enum MHD_Result ret;

    aa_server_response_init(&resp);
    aa_server_response_error(&resp, status, "invalid_request", "%s", desc);
    resp.status = status;
    resp.close = true; /* unread or ambiguous request bytes may follow */
    ret = send_response(s, con, rq, req, &resp);
    aa_server_response_cleanup(&resp);
    return ret;
}

static enum MHD_Result send_limit_error(struct aa_server *s, struct MHD_Connection *con,
                                        struct rq *rq, const struct aa_server_request *req,
                                        int status, const char *what, size_t got, size_t lim)
{
    char desc[160];

    aa_snprintf(desc, sizeof(desc), "%s: %zu bytes, limit %zu", what, got, lim);
    return send_adapter_error(s, con, rq, req, status, desc);
}

static bool parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* The client sent "Expect: 100-continue" (RFC 9110 section 10.1.1): it
 * waits for our answer before sending the body, so a refusal can be sent
 * at once and reaches it. */
static bool expects_continue(const struct aa_server_request *req)
{
    const char *v = aa_server_request_header(req, "Expect");

    return v != NULL && aa_str_eq_ci(aa_str_c(v), "100-continue");
}

/*
 * Checks made once the header block is in, in PROFILE#2.11 order: size
 * limits first (RB-01/RB-02), then framing and syntax that MHD 0.9.75
 * tolerates but RFC 9112 does not. Returns true when a response was queued
 * (its MHD result in |*ret|).
 */
static bool precheck(struct aa_server *s, struct MHD_Connection *con, struct rq *rq,
                     const struct aa_server_request *req, const struct hdr_scan *hs,
                     enum MHD_Result *ret)
{
    size_t n_cl = aa_server_request_header_count(req, "Content-Length");
    size_t n_te = aa_server_request_header_count(req, "Transfer-Encoding");
    const char *cl = aa_server_request_header(req, "Content-Length");
    uint64_t declared = 0;

    if (hs->longest > s->o.max_field)
        *ret = send_limit_error(s, con, rq, req, 431, "request header field too large", hs->longest,
                                s->o.max_field);
    else if (hs->block > s->o.max_header_block)
        *ret = send_limit_error(s, con, rq, req, 431, "request header block too large", hs->block,
                                s->o.max_header_block);
    else if (hs->overflow)
        *ret = send_limit_error(s, con, rq, req, 431, "too many request header fields", hs->n + 1,
                                (size_t)AA_SERVER_MAX_HEADERS);
    else if (n_cl == 1 && n_te == 0 && parse_size(cl, &declared) && declared > s->o.max_body) {
        /* Answering while the client is still sending the body and then
         * closing makes the kernel reset the connection, and the client
         * often loses the 413 with it. So a body up to the discard cap is
         * read and dropped and the 413 follows its last byte (as for a
         * chunked body); only a client that waits for "100 Continue", or
         * a body past the cap, is answered at once. */
        if (!expects_continue(req) && declared <= AA_SERVER_DISCARD_MAX(s->o.max_body)) {
            rq->too_large = true;
            return false;
        }
        *ret = send_limit_error(s, con, rq, req, 413, "request body too large",
                                (size_t)(declared > SIZE_MAX ? SIZE_MAX : declared), s->o.max_body);
    }
    else if (!target_ok(req->target, req->target_len))
        *ret = send_adapter_error(s, con, rq, req, 400,
                                  "malformed request-target (RFC 9112 section 3.2)");
    else if (hs->bad_name)
        *ret = send_adapter_error(s, con, rq, req, 400,
                                  "malformed header field name (RFC 9112 section 5.1)");
    else if (strcmp(req->version, "HTTP/1.1") == 0 &&
             aa_server_request_header_count(req, "Host") != 1)
        *ret = send_adapter_error(s, con, rq, req, 400,
                                  "HTTP/1.1 request needs exactly one Host (RFC 9112 section 3.2)");
    else if (n_cl > 1 || (n_cl == 1 && n_te > 0) || (n_cl == 1 && !parse_size(cl, &declared)))
        *ret = send_adapter_error(s, con, rq, req, 400,
                                  "ambiguous message framing: Content-Length repeated, invalid "
                                  "or combined with Transfer-Encoding (RFC 9112 section 6.3)");
    else
        return false;
    return true;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *con, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct aa_server *s = cls;
    struct rq *rq = *con_cls;
    struct hdr_scan hs;
    struct aa_server_request req;
    struct aa_server_response resp;
    enum MHD_Result ret;
    char *arena;

    (void)url;
    if (rq == NULL)
        return MHD_NO; /* the URI callback could not allocate */
    if (rq->answered) {
        *upload_data_size = 0; /* discard the rest of a refused upload */
        return MHD_YES;
    }
    if (rq->started && *upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (!rq->too_large) {
            if (n > s->o.max_body || rq->body.len > s->o.max_body - n) {
                rq->too_large = true;
                aa_buf_free(&rq->body);
            } else if (aa_buf_add(&rq->body, upload_data, n) != AA_OK) {
                return MHD_NO;
            }
        }
        if (rq->too_large) {
            /* MHD 0.9.75 refuses MHD_queue_response() during an upload, so
             * the 413 can only follow the last byte; past the discard cap
             * the connection is dropped instead of reading forever. */
            rq->discarded += n;
            if (rq->discarded > AA_SERVER_DISCARD_MAX(s->o.max_body))
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    memset(&hs, 0, sizeof(hs));
    if (MHD_get_connection_values_n(con, MHD_HEADER_KIND, scan_header, &hs) < 0 || hs.nomem ||
        (arena = copy_headers(&hs)) == NULL) {
        free(hs.v);
        return MHD_NO;
    }
    /* request line + CRLF, each field line + CRLF, final CRLF */
    hs.block +=
        strlen(method ? method : "") + rq->target_len + strlen(version ? version : "") + 4 + 2;
    {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        if (ci != NULL && ci->header_size > hs.block)
            hs.block = ci->header_size;
    }
    build_request(con, rq, method, version, &hs, &req);

    if (!rq->started) {
        rq->started = true;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        rq->counted = true;
        pthread_mutex_unlock(&s->mu);
        if (!precheck(s, con, rq, &req, &hs, &ret))
            ret = MHD_YES; /* wait for the body (or its absence) */
    } else if (rq->too_large) {
        /* PROFILE#9 RB-02 for a body without (or with a lying) length */
        ret = send_limit_error(s, con, rq, &req, 413, "request body too large", s->o.max_body + 1,
                               s->o.max_body);
    } else {
        aa_server_response_init(&resp);
        s->o.handler(s->o.ctx, &req, &resp);
        ret = send_response(s, con, rq, &req, &resp);
        aa_server_response_cleanup(&resp);
    }
    free(arena);
    free(hs.v);
    return ret;
}

/* ---- connections: accept, limits, request deadline ---------------------- */

static void conn_unlink(struct aa_server *s, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->load[c->dmn]--;
    s->open--;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct aa_server *s = cls;
    const union MHD_ConnectionInfo *ci;
    struct conn *c;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci == NULL)
            return;
        pthread_mutex_lock(&s->mu);
        /* Unique: a record's descriptor stays open until NOTIFY_CLOSED. */
        for (c = s->conns; c != NULL; c = c->next)
            if (!c->started && c->fd == (int)ci->connect_fd)
                break;
        if (c != NULL) {
            c->started = true;
            c->since_ms = mono_ms();
            *socket_context = c;
        }
        pthread_mutex_unlock(&s->mu);
        return;
    }
    c = *socket_context;
    if (c == NULL)
        return;
    *socket_context = NULL;
    pthread_mutex_lock(&s->mu);
    conn_unlink(s, c);
    pthread_mutex_unlock(&s->mu);
    free(c);
}

static bool same_address(const struct conn *c, int family, const uint8_t *addr)
{
    return c->family == family && memcmp(c->addr, addr, family == AF_INET ? 4 : 16) == 0;
}

/* Hand |fd| to the least loaded daemon, or close it when a limit is
 * reached. Runs on the housekeeping thread only. */
static void admit(struct aa_server *s, int fd, const struct sockaddr_storage *ss, socklen_t len)
{
    struct conn *c = calloc(1, sizeof(*c));
    unsigned same_ip = 0, best = 0;
    bool refuse = c == NULL;

    if (c != NULL) {
        c->fd = fd;
        c->family = ss->ss_family;
        if (ss->ss_family == AF_INET)
            memcpy(c->addr, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
        else if (ss->ss_family == AF_INET6)
            memcpy(c->addr, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
        c->waiting = true;
        c->since_ms = mono_ms();
    }
    pthread_mutex_lock(&s->mu);
    if (!refuse && s->open >= s->o.max_connections)
        refuse = true;
    for (struct conn *o = s->conns; !refuse && o != NULL; o = o->next)
        if (same_address(o, c->family, c->addr) && ++same_ip >= s->o.max_connections_per_ip)
            refuse = true;
    if (refuse) {
        s->refused++;
        pthread_mutex_unlock(&s->mu);
        free(c);
        close(fd); /* the client sees the connection closed without an answer */
        return;
    }
    for (unsigned i = 1; i < s->n_mhd; i++)
        if (s->load[i] < s->load[best])
            best = i;
    c->dmn = best;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->load[best]++;
    s->open++;
    s->accepted++;
    pthread_mutex_unlock(&s->mu);
    if (MHD_add_connection(s->mhd[best], fd, (const struct sockaddr *)(const void *)ss, len) ==
        MHD_YES)
        return;
    /* MHD closed the socket. If it announced the connection it also
     * announced the close and the record is gone; otherwise drop it here
     * (only this thread creates records, so the descriptor is unique). */
    pthread_mutex_lock(&s->mu);
    for (c = s->conns; c != NULL; c = c->next)
        if (!c->started && c->fd == fd)
            break;
    if (c != NULL)
        conn_unlink(s, c);
    s->accepted--;
    s->refused++;
    pthread_mutex_unlock(&s->mu);
    free(c);
}

/* Close connections whose request has not fully arrived in time. MHD has
 * no call to drop a connection from outside its own thread; shutdown()
 * leaves the descriptor to MHD, which then sees end-of-file and closes the
 * connection through its normal path (request completion, NOTIFY_CLOSED). */
static void reap(struct aa_server *s, int64_t now)
{
    int64_t lim = (int64_t)s->o.request_timeout_s * 1000;

    pthread_mutex_lock(&s->mu);
    for (struct conn *c = s->conns; c != NULL; c = c->next) {
        if (c->started && c->waiting && !c->cut && now - c->since_ms >= lim) {
            (void)shutdown(c->fd, SHUT_RDWR);
            c->cut = true;
            s->cut++;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void *keeper_main(void *arg)
{
    struct aa_server *s = arg;
    int64_t next_reap = mono_ms() + REAP_PERIOD_MS;
    bool backoff = false;

    for (;;) {
        struct pollfd p;
        int64_t now = mono_ms(), wait;
        bool stop;

        pthread_mutex_lock(&s->mu);
        stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        if (now >= next_reap) {
            reap(s, now);
            next_reap = now + REAP_PERIOD_MS;
        }
        wait = next_reap - now;
        if (backoff && wait > ACCEPT_BACKOFF_MS)
            wait = ACCEPT_BACKOFF_MS;
        p.fd = s->lfd;
        p.events = POLLIN;
        p.revents = 0;
        /* While out of descriptors the socket stays readable: wait without
         * it for a moment instead of spinning. */
        if (poll(&p, backoff ? 0 : 1, (int)wait) <= 0) {
            backoff = false;
            continue;
        }
        for (int k = 0; k < ACCEPT_BURST; k++) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof(ss);
            int fd = accept4(s->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                admit(s, fd, &ss, len);
                continue;
            }
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                backoff = true;
            break; /* EAGAIN, or EINVAL once aa_server_stop shut the socket down */
        }
    }
    return NULL;
}

static int listen_socket(struct aa_server *s, const struct sockaddr *sa, socklen_t salen, bool v6,
                         struct aa_diag *d)
{
    int one = 1, e;
    union {
        struct sockaddr_storage ss;
        struct sockaddr_in a4;
        struct sockaddr_in6 a6;
    } got;
    socklen_t glen = sizeof(got);

    s->lfd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->lfd < 0)
        goto fail;
    (void)setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (v6)
        (void)setsockopt(s->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(s->lfd, sa, salen) != 0 || listen(s->lfd, SOMAXCONN) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&got, &glen) != 0)
        goto fail;
    s->port = ntohs(v6 ? got.a6.sin6_port : got.a4.sin_port);
    return AA_OK;
fail:
    e = errno;
    if (s->lfd >= 0)
        close(s->lfd);
    s->lfd = -1;
    return aa_fail(d, AA_E_SERVER_START, NULL, "server: cannot listen on %s%s%s:%u (%s)",
                   v6 ? "[" : "", s->bind, v6 ? "]" : "",
                   (unsigned)ntohs(v6 ? ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port
                                      : ((const struct sockaddr_in *)(const void *)sa)->sin_port),
                   strerror(e));
}

/* Release everything aa_server_start may have set up (|s| is not running
 * any thread of its own). */
static void server_free(struct aa_server *s)
{
    struct conn *c, *next;

    for (unsigned i = 0; s->mhd != NULL && i < s->n_mhd; i++)
        if (s->mhd[i] != NULL)
            MHD_stop_daemon(s->mhd[i]);
    if (s->lfd >= 0)
        close(s->lfd);
    /* records MHD never announced (it closed those sockets itself) */
    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->mhd);
    free(s->load);
    free(s);
}

/* ---- lifecycle ---------------------------------------------------------- */
int aa_server_start(const struct aa_server_opts *o, struct aa_server **out, struct aa_diag *d)
{
    struct aa_server *s;
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    socklen_t salen;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_AUTO;
    size_t pool;
    bool v6 = false;
    int rc;

    if (out == NULL)
        return AA_E_INVAL;
    *out = NULL;
    if (o == NULL || o->handler == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "server: a handler is required");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return AA_E_NOMEM;
    s->o = *o;
    s->lfd = -1;
    if (s->o.threads == 0)
        s->o.threads = AA_SERVER_THREADS_DEFAULT;
    if (s->o.timeout_s == 0)
        s->o.timeout_s = AA_SERVER_TIMEOUT_DEFAULT;
    if (s->o.request_timeout_s == 0)
        s->o.request_timeout_s = AA_SERVER_REQUEST_TIMEOUT_DEFAULT;
    if (s->o.max_connections == 0)
        s->o.max_connections = AA_SERVER_MAX_CONNECTIONS_DEFAULT;
    if (s->o.max_connections_per_ip == 0)
        s->o.max_connections_per_ip = AA_SERVER_MAX_PER_IP_DEFAULT;
    if (s->o.max_field == 0)
        s->o.max_field = AA_SERVER_MAX_FIELD_DEFAULT;
    if (s->o.max_header_block == 0)
        s->o.max_header_block = AA_SERVER_MAX_BLOCK_DEFAULT;
    if (s->o.max_body == 0)
        s->o.max_body = AA_SERVER_MAX_BODY_DEFAULT;
    if (s->o.threads > 64 || s->o.max_header_block > (size_t)16 * 1024 * 1024 ||
        s->o.max_body > (size_t)1 << 30 || s->o.timeout_s > AA_SERVER_TIMEOUT_MAX ||
        s->o.request_timeout_s > AA_SERVER_TIMEOUT_MAX ||
        s->o.max_connections > AA_SERVER_MAX_CONNECTIONS_LIMIT) {
        free(s);
        return aa_fail(d, AA_E_SERVER_CONFIG, NULL,
                       "server: threads <= 64, header block <= 16 MiB, body <= 1 GiB, "
                       "timeouts <= %u s, max_connections <= %u",
                       AA_SERVER_TIMEOUT_MAX, AA_SERVER_MAX_CONNECTIONS_LIMIT);
    }
    aa_snprintf(s->bind, sizeof(s->bind), "%s", o->bind_addr ? o->bind_addr : "127.0.0.1");
    s->o.bind_addr = s->bind;

    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, s->bind, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(o->port);
        sa = (struct sockaddr *)&a4;
        salen = sizeof(a4);
    } else if (inet_pton(AF_INET6, s->bind, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(o->port);
        sa = (struct sockaddr *)&a6;
        salen = sizeof(a6);
        v6 = true;
    } else {
        rc = aa_fail(d, AA_E_SERVER_ADDR, NULL,
                     "server: bind address \"%.64s\" is not an IPv4/IPv6 literal", s->bind);
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->n_mhd = s->o.threads;
    s->mhd = calloc(s->n_mhd, sizeof(*s->mhd));
    s->load = calloc(s->n_mhd, sizeof(*s->load));
    if (s->mhd == NULL || s->load == NULL) {
        server_free(s);
        return AA_E_NOMEM;
    }
    if ((rc = listen_socket(s, sa, salen, v6, d)) != AA_OK) {
        server_free(s);
        return rc;
    }
    pool = AA_SERVER_POOL_SIZE(s->o.max_header_block);
    for (unsigned i = 0; i < s->n_mhd; i++) {
        /* The adapter enforces both connection limits before a socket
         * reaches a daemon; MHD's own are set to the same values as a
         * backstop. */
        s->mhd[i] = MHD_start_daemon(
            flags, 0, NULL, NULL, on_access, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
            MHD_OPTION_CONNECTION_TIMEOUT, s->o.timeout_s, MHD_OPTION_CONNECTION_LIMIT,
            s->o.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            s->o.max_connections_per_ip, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_END);
        if (s->mhd[i] == NULL) {
            int e = errno;
            rc = aa_fail(d, AA_E_SERVER_START, NULL, "server: libmicrohttpd did not start (%s)",
                         e ? strerror(e) : "configuration refused");
            server_free(s);
            return rc;
        }
    }
    if (pthread_create(&s->keeper, NULL, keeper_main, s) != 0) {
        server_free(s);
        return aa_fail(d, AA_E_SERVER_START, NULL, "server: cannot start its accept thread");
    }
    s->keeper_running = true;
    aa_snprintf(s->origin, sizeof(s->origin), "http://%s%s%s:%u", v6 ? "[" : "", s->bind,
                v6 ? "]" : "", (unsigned)s->port);
    *out = s;
    return AA_OK;
}

uint16_t aa_server_port(const struct aa_server *s)
{
    return s ? s->port : 0;
}

const char *aa_server_origin(const struct aa_server *s)
{
    return s ? s->origin : NULL;
}

uint64_t aa_server_requests(const struct aa_server *s)
{
    uint64_t n;

    if (s == NULL)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    n = s->served;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return n;
}

void aa_server_stats(const struct aa_server *s, struct aa_server_stats *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return;
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    out->requests = s->served;
    out->accepted = s->accepted;
    out->refused = s->refused;
    out->deadline_closed = s->cut;
    out->open = s->open;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
}

void aa_server_stop(struct aa_server *s)
{
    struct timespec deadline;

    if (s == NULL)
        return;
    /* Stop accepting: shutdown() wakes the accept thread's poll() (Linux),
     * and closing the socket makes new clients see a refusal at once
     * instead of waiting in the kernel backlog. */
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    (void)shutdown(s->lfd, SHUT_RDWR);
    if (s->keeper_running)
        pthread_join(s->keeper, NULL);
    close(s->lfd);
    s->lfd = -1;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += STOP_WAIT_S;
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    /* MHD_stop_daemon closes the remaining (idle keep-alive) connections;
     * no handler runs after it returns. */
    server_free(s);
}

/* ---- transcripts ---------------------------------------------------------- */
#define SEP "================================================================================"
#define BODY_CUT ((size_t)8192)

static size_t u8_len(const unsigned char *p, size_t avail)
{
    size_t n = u8_valid(p, avail);
    return n ? n : 1;
}

static void tr_header(struct aa_buf *out, const char *name, const char *value, size_t vlen,
                      bool full)
{
    size_t cut = vlen;

    add_escaped(out, name, strlen(name), false, true);
    aa_buf_adds(out, ": ");
    if (!full) {
        size_t i = 0, cps = 0, off97 = vlen;
        while (i < vlen) {
            if (cps == 97)
                off97 = i;
            i += u8_len((const unsigned char *)value + i, vlen - i);
            cps++;
        }
        if (cps > 100)
            cut = off97; /* PROFILE#8: 97 characters + "..." */
    }
    add_escaped(out, value, cut, false, true);
    if (cut < vlen)
        aa_buf_adds(out, "...");
    aa_buf_addc(out, '\n');
}

static void tr_body(struct aa_buf *out, const char *body, size_t len, bool full)
{
    size_t shown = len;

    if (len == 0)
        return;
    if (!full && shown > BODY_CUT) {
        shown = BODY_CUT;
        while (shown > 0 && (((const unsigned char *)body)[shown] & 0xc0) == 0x80)
            shown--;
    }
    aa_buf_printf(out, "\n[Body (%zu bytes)]\n", len);
    add_escaped(out, body, shown, true, true);
    if (shown == 0 || body[shown - 1] != '\n')
        aa_buf_addc(out, '\n');
    if (shown < len)
        aa_buf_printf(out, "[... %zu more bytes]\n", len - shown);
}

int aa_server_transcript(struct aa_buf *out, const char *role, const char *note,
                         const struct aa_server_request *req, const struct aa_server_response *resp,
                         unsigned flags)
{
    bool full = (flags & AA_SERVER_TR_FULL) != 0;

    if (out == NULL || role == NULL || req == NULL)
        return AA_E_INVAL;
    aa_buf_adds(out, "\n" SEP "\n>>> ");
    add_escaped(out, role, strlen(role), false, true);
    aa_buf_adds(out, " REQUEST received");
    if (note != NULL) {
        aa_buf_adds(out, " (");
        add_escaped(out, note, strlen(note), false, true);
        aa_buf_addc(out, ')');
    }
    aa_buf_adds(out, "\n" SEP "\n");
    add_escaped(out, req->method, strlen(req->method), false, true);
    aa_buf_addc(out, ' ');
    add_escaped(out, req->target, req->target_len, false, true);
    aa_buf_addc(out, ' ');
    add_escaped(out, req->version, strlen(req->version), false, true);
    aa_buf_addc(out, '\n');
    for (size_t i = 0; i < req->n_headers; i++)
        tr_header(out, req->headers[i].name, req->headers[i].value, req->headers[i].value_len,
                  full);
    tr_body(out, req->body, req->body_len, full);
    aa_buf_adds(out, SEP "\n\n");
    if (resp == NULL)
        return out->err;
    aa_buf_adds(out, "\n" SEP "\n<<< ");
    add_escaped(out, role, strlen(role), false, true);
    aa_buf_adds(out, " RESPONSE\n" SEP "\n");
    aa_buf_printf(out, "HTTP/1.1 %d", resp->status);
    if (aa_server_reason(resp->status)[0] != '\0')
        aa_buf_printf(out, " %s", aa_server_reason(resp->status));
    aa_buf_addc(out, '\n');
    for (size_t i = 0; i < resp->n_headers; i++)
        tr_header(out, resp->headers[i].name, resp->headers[i].value,
                  strlen(resp->headers[i].value), full);
    if (resp->stream != NULL)
        aa_buf_adds(out, "\n[Body streamed]\n");
    else if (resp->body.p != NULL)
        tr_body(out, resp->body.p, resp->body.len, full);
    aa_buf_adds(out, SEP "\n\n");
    return out->err;
}
