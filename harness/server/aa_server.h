/*
 * aa_server: a small HTTP/1.1 server on libmicrohttpd for the reference
 * agent server, resource and auth server, and for hostile-server cases.
 *
 * The handler sees each request complete - method, the request target
 * exactly as sent, path, query, ordered headers with duplicates, body - and
 * fills a response (status, headers, body, all copied). The adapter enforces
 * the PROFILE#9 RB limits before the handler runs:
 *   - a field line over 16 KiB, or a header block over 64 KiB -> 431,
 *   - a body over 1 MiB (declared or streamed) -> 413,
 * each with a PROFILE#6.8 JSON body
 *   {"error":"invalid_request","error_description":"..."}.
 *
 * Design choice: the raw request target is captured from MHD's URI-log
 * callback, which libmicrohttpd calls with the request-target before it
 * splits the query and percent-decodes the path in place; the copy is
 * handed to the handler untouched (PROFILE#2.5 needs @path and @query
 * byte-for-byte), and MHD's own decoded URL is never used.
 *
 * Connections: limited in number, overall and per client address, and
 * each request must arrive completely within a deadline (see
 * aa_server_opts); |threads| single-threaded MHD daemons share the
 * connections, each new one going to the least loaded.
 *
 * Limitations of libmicrohttpd 0.9.75 (details in docs/security.md):
 *   - header names/values are as MHD stored them: surrounding whitespace
 *     of values trimmed, obs-fold lines joined; the exact raw header bytes
 *     are not available (RFC 9421 trims values anyway).
 *   - a header block larger than the connection memory pool
 *     (AA_SERVER_POOL_SIZE) is refused by MHD itself with 431 and an HTML
 *     body; the handler and the log callback never see that request.
 *     Blocks over max_header_block but inside the pool get our JSON 431.
 *   - malformed request lines / header lines are answered 400 by MHD
 *     itself (HTML body), also without reaching the handler.
 *   - MHD sets Content-Length, Date and Connection itself; a handler's own
 *     Content-Length / Transfer-Encoding header is dropped.
 *   - a response cannot be queued while a body is still arriving, so a
 *     chunked body over max_body is answered 413 only after its last byte
 *     (and dropped without an answer past AA_SERVER_DISCARD_MAX). A
 *     Content-Length over max_body is handled the same way, because
 *     answering before the body and closing makes the kernel reset the
 *     connection and the client often loses the 413; it is answered at
 *     once only after "Expect: 100-continue" or past the discard cap.
 *   - a NUL byte inside a header value truncates the value at the NUL (MHD
 *     reports the shorter length); the rest of that value is lost.
 *   - an obs-fold continuation line is mis-parsed by MHD (the folded text
 *     is glued to the field name); the adapter cannot detect it.
 * The adapter itself answers 400 (JSON) for what MHD tolerates but RFC 9112
 * forbids: a request-target with SP, '#', controls or non-ASCII; a field
 * name that is not a token ("Name : v"); HTTP/1.1 without exactly one Host;
 * repeated or invalid Content-Length, or Content-Length with
 * Transfer-Encoding. Trailing whitespace of values (kept by MHD) is
 * trimmed.
 *
 * Error codes, range -700..-749; aa_server_strerror() names them.
 */
#ifndef AA_SERVER_H
#define AA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/aa_core.h"

enum {
    AA_E_SERVER_START = -700,  /* MHD could not start (port in use, bind failed) */
    AA_E_SERVER_ADDR = -701,   /* bind address is not an IPv4/IPv6 literal */
    AA_E_SERVER_HEADER = -702, /* response header refused (not a token, CR/LF/NUL) */
    AA_E_SERVER_CONFIG = -703  /* option out of range */
};

const char *aa_server_strerror(int code);

#define AA_SERVER_MAX_FIELD_DEFAULT ((size_t)16 * 1024)  /* PROFILE#9 RB-01 */
#define AA_SERVER_MAX_BLOCK_DEFAULT ((size_t)64 * 1024)  /* PROFILE#9 RB-01 */
#define AA_SERVER_MAX_BODY_DEFAULT ((size_t)1024 * 1024) /* PROFILE#9 RB-02 */
#define AA_SERVER_TIMEOUT_DEFAULT 10u                    /* s of inactivity */
#define AA_SERVER_REQUEST_TIMEOUT_DEFAULT 30u /* s for a whole request to arrive */
#define AA_SERVER_TIMEOUT_MAX 86400u
#define AA_SERVER_MAX_CONNECTIONS_DEFAULT 512u /* open at once */
#define AA_SERVER_MAX_PER_IP_DEFAULT 64u       /* open at once from one client address */
#define AA_SERVER_MAX_CONNECTIONS_LIMIT 65536u
#define AA_SERVER_THREADS_DEFAULT 2u
#define AA_SERVER_MAX_HEADERS 1024 /* field lines handed to a handler */
/* A body over max_body is read and discarded up to this many bytes, then
 * answered 413. Past it a chunked body is dropped without a response (MHD
 * cannot answer mid-upload); a declared length past it is answered at once. */
#define AA_SERVER_DISCARD_MAX(max_body)                                                            \
    ((uint64_t)(max_body)*4 > 4194304u ? (uint64_t)(max_body)*4 : 4194304u)
/* Per-connection memory pool: must hold the header block plus MHD's
 * bookkeeping for it; computed as 2 * max_header_block + 64 KiB. */
#define AA_SERVER_POOL_SIZE(block) (2 * (block) + (size_t)64 * 1024)

/* One received field line; |value| is NUL-terminated, |value_len| bytes. */
struct aa_server_header {
    const char *name;  /* as received (case kept) */
    const char *value; /* as stored by MHD (surrounding whitespace trimmed) */
    size_t value_len;
};

/*
 * A complete request. Every pointer is valid only during the handler call
 * (and the transcript hook that follows it).
 *   target  request-target byte-for-byte ("/a%2Fb?x=%41&y")
 *   path    |path_len| bytes of target before '?', undecoded; for an
 *           absolute-form target ("http://h/p?q") the path part "/p"
 *   query   bytes after the first '?': NULL when there is no '?', "" for
 *           "/x?"; |query_len| bytes
 *   body    NUL-terminated copy (never NULL; "" when empty)
 */
struct aa_server_request {
    const char *method;
    const char *version; /* "HTTP/1.1" */
    const char *target;
    size_t target_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    const struct aa_server_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    char client_addr[64]; /* "127.0.0.1" or "::1" */
    uint16_t client_port;
};

/* First value of |name| (ASCII case-insensitive), NULL if absent. */
const char *aa_server_request_header(const struct aa_server_request *r, const char *name);
/* Number of field lines named |name|. */
size_t aa_server_request_header_count(const struct aa_server_request *r, const char *name);
/* true when the path (not the target) equals |path| exactly, byte-for-byte. */
bool aa_server_request_path_is(const struct aa_server_request *r, const char *path);

/*
 * A streamed body for hostile-server cases (endless or slow responses):
 * write up to |max| bytes into |buf| for offset |pos| and return the count,
 * 0 to end the body (only for unknown size), or -1 to abort the connection.
 */
typedef long (*aa_server_stream_fn)(void *ctx, uint64_t pos, char *buf, size_t max);

/* Response header as stored in an aa_server_response (owned copies). */
struct aa_server_resp_header {
    char *name;
    char *value;
};

/*
 * What the handler returns. Starts as status 0 with no headers and an empty
 * body; a handler that leaves status 0 produces 500 {"error":"server_error"}.
 * Use the functions below; they copy everything.
 */
struct aa_server_response {
    int status;
    struct aa_server_resp_header *headers;
    size_t n_headers;
    size_t cap_headers;
    struct aa_buf body;
    aa_server_stream_fn stream; /* when set, replaces |body| */
    void *stream_ctx;
    void (*stream_free)(void *ctx);
    uint64_t stream_size; /* UINT64_MAX = unknown (chunked) */
    bool close;           /* send "Connection: close" */
};

/* Initialise / release a response (the adapter does both around the
 * handler; exposed for unit tests of handlers without a server). */
void aa_server_response_init(struct aa_server_response *r);
void aa_server_response_cleanup(struct aa_server_response *r);

/* Append a header (copied). AA_E_SERVER_HEADER when |name| is not a token
 * or |value| holds CR, LF or NUL; AA_E_NOMEM. Duplicates are allowed. */
int aa_server_response_header(struct aa_server_response *r, const char *name, const char *value);
/* Replace the body with a copy of |len| bytes. */
int aa_server_response_body(struct aa_server_response *r, const void *body, size_t len);
/* Status, "Content-Type: application/json" and a copy of |json|. */
int aa_server_response_json(struct aa_server_response *r, int status, const char *json);
/*
 * PROFILE#6.8 error: status and {"error":code,"error_description":...}
 * (description printf-formatted, JSON-escaped, invalid UTF-8 replaced).
 */
int aa_server_response_error(struct aa_server_response *r, int status, const char *code,
                             const char *fmt, ...) AA_PRINTF(4, 5);
/* 404 invalid_request "no resource at <path>". */
int aa_server_response_not_found(struct aa_server_response *r, const struct aa_server_request *req);
/* 405 invalid_request with "Allow: <allow>" (e.g. "POST"). */
int aa_server_response_method_not_allowed(struct aa_server_response *r,
                                          const struct aa_server_request *req, const char *allow);
/* Streamed body (see aa_server_stream_fn); |size| UINT64_MAX = unknown.
 * |free_fn| (may be NULL) is called with |ctx| once MHD is done. */
int aa_server_response_stream(struct aa_server_response *r, uint64_t size, aa_server_stream_fn fn,
                              void *ctx, void (*free_fn)(void *));
/* First header value set on |r|, NULL if none (case-insensitive). */
const char *aa_server_response_get_header(const struct aa_server_response *r, const char *name);

/*
 * Called for every complete request, concurrently from up to |threads|
 * MHD threads: the handler must be thread-safe. |resp| is pre-initialised.
 */
typedef void (*aa_server_handler)(void *ctx, const struct aa_server_request *req,
                                  struct aa_server_response *resp);
/* One line per answered request: "METHOD path status body-bytes" (no
 * query, so tokens in query strings stay out of logs; controls escaped). */
typedef void (*aa_server_log_fn)(void *ctx, const char *line);
/* The full exchange for -v mode, after the handler (and for the adapter's
 * own 413/431 answers, with the request as far as it was read). */
typedef void (*aa_server_transcript_fn)(void *ctx, const struct aa_server_request *req,
                                        const struct aa_server_response *resp);

/*
 * Connection limits and deadlines (docs/security.md section 2). A client
 * over max_connections_per_ip, or any client while max_connections are
 * open, has its connection accepted and closed at once, without an answer
 * (aa_server_stats().refused counts them). A request whose header block
 * and body have not fully arrived request_timeout_s after it started (the
 * connection opened, or the previous response on it was sent) has its
 * connection closed without an answer (stats().deadline_closed); this
 * catches clients that trickle bytes, which the inactivity timeout
 * (timeout_s) does not. Responses, streamed or not, are not limited by it.
 */
struct aa_server_opts {
    const char *bind_addr;     /* IP literal; NULL -> "127.0.0.1" */
    uint16_t port;             /* 0 -> ephemeral, see aa_server_port() */
    unsigned threads;          /* 0 -> 2 */
    unsigned timeout_s;        /* inactivity cut-off; 0 -> 10, max 86400 */
    size_t max_field;          /* one field line; 0 -> 16 KiB */
    size_t max_header_block;   /* request line + fields; 0 -> 64 KiB */
    size_t max_body;           /* 0 -> 1 MiB */
    aa_server_handler handler; /* required */
    void *ctx;                 /* passed to the handler */
    aa_server_log_fn log;      /* optional */
    void *log_ctx;
    aa_server_transcript_fn transcript; /* optional */
    void *transcript_ctx;
    unsigned request_timeout_s;      /* whole request; 0 -> 30, max 86400 */
    unsigned max_connections;        /* 0 -> 512, max 65536 */
    unsigned max_connections_per_ip; /* 0 -> 64; >= max_connections: no per-IP limit */
};

struct aa_server;

/*
 * Start listening. On success |*out| is a running server. AA_E_SERVER_ADDR,
 * AA_E_SERVER_START (message names address and port), AA_E_SERVER_CONFIG,
 * AA_E_INVAL (no handler), AA_E_NOMEM.
 */
int aa_server_start(const struct aa_server_opts *o, struct aa_server **out,
                    struct aa_diag *d) AA_WUR;
/* The port actually bound (useful with port 0). */
uint16_t aa_server_port(const struct aa_server *s);
/* "http://127.0.0.1:PORT" ("http://[::1]:PORT" for IPv6): the dev-mode
 * identifier of this server (PROFILE#1). Valid until aa_server_stop. */
const char *aa_server_origin(const struct aa_server *s);
/* Requests answered so far (handler or adapter responses). */
uint64_t aa_server_requests(const struct aa_server *s);

struct aa_server_stats {
    uint64_t requests;        /* answered, as aa_server_requests() */
    uint64_t accepted;        /* connections handed to libmicrohttpd */
    uint64_t refused;         /* closed at once: a connection limit was reached */
    uint64_t deadline_closed; /* closed because a request missed request_timeout_s */
    unsigned open;            /* connections open now */
};
/* A consistent snapshot of the counters (all zero for NULL |s|). */
void aa_server_stats(const struct aa_server *s, struct aa_server_stats *out);

/*
 * Stop accepting (the listening socket is closed, so new clients are
 * refused at once), wait (up to 5 s) until requests whose headers have
 * been read are answered, then shut MHD down (closing idle keep-alive
 * connections) and free |s|. No handler runs after this returns.
 * NULL is a no-op.
 */
void aa_server_stop(struct aa_server *s);

/* ---- transcripts (PROFILE#8) ------------------------------------------- */
#define AA_SERVER_TR_FULL 0x1u /* no cutting of header values or bodies */

/*
 * Seed-style server-side blocks appended to |out|:
 *   ">>> {role} REQUEST received[ ({note})]" with "METHOD target HTTP/1.1",
 *   the headers as received and the body, then
 *   "<<< {role} RESPONSE" with "HTTP/1.1 <status> <reason>", the handler's
 *   headers and body.
 * Header values over 100 characters are cut to 97 + "..." unless
 * AA_SERVER_TR_FULL; controls other than LF/HTAB shown as \xNN.
 * |resp| may be NULL (request block only).
 */
int aa_server_transcript(struct aa_buf *out, const char *role, const char *note,
                         const struct aa_server_request *req, const struct aa_server_response *resp,
                         unsigned flags);

/* "OK", "Not Found", ... for the status codes the harness uses; "" else. */
const char *aa_server_reason(int status);

#endif
