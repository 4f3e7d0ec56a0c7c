/*
 * aa_http: the harness's HTTP client (libcurl) with wire capture, plus the
 * URL, identifier and form helpers every role needs.
 *
 *   - URLs:        strict http(s) parsing into views, canonical authority
 *                  (PROFILE#2.5), "{id}/.well-known/{name}" (PROFILE#1).
 *   - Identifiers: PROFILE#1 [D-1] validation (https, or dev-mode http on
 *                  127.0.0.1 / ::1 / localhost; origin only).
 *   - Forms:       application/x-www-form-urlencoded encoder and a
 *                  WHATWG-style parser that reports repeated names
 *                  (PROFILE#6 general rules).
 *   - Client:      one request at a time per client object, no redirects,
 *                  bounded response, exact request target, ordered headers
 *                  (duplicates allowed), optional raw mode for hostile tests.
 *   - Transcripts: seed-style blocks (PROFILE#8) for a request/response pair.
 *
 * Design choice: the client sends exactly what the caller describes. The
 * request target comes from our own URL parser (CURLOPT_REQUEST_TARGET), so
 * "/x?", "%C3%A9" and "/a/../b" reach the wire byte-for-byte (libcurl would
 * remove dot segments); libcurl only supplies the connection, Host (unless
 * the caller sets one), Accept, User-Agent and framing.
 *
 * Error codes, range -600..-649 (client) and -650..-699 (discovery, see
 * aa_discovery.h). aa_http_strerror() names both.
 *
 * Findings or faults? The transport codes describe what happened on the
 * wire, not who is to blame; the caller decides (PROFILE#9 outcomes):
 *   - the peer under test refused, timed out, sent too much or garbage:
 *     a finding (FAIL: "a hang longer than 5 s is always FAIL");
 *   - the harness built a bad URL or header, or its own reference peer is
 *     down, or libcurl itself failed (AA_E_HTTP_CURL, AA_E_NOMEM): a fault
 *     (ERROR), never non-conformance.
 * aa_http_err_is_transport() tells the wire codes apart from API misuse.
 */
#ifndef AA_HTTP_H
#define AA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/aa_core.h"

/* ---- error codes (-600..-649) ------------------------------------------ */
enum {
    AA_E_HTTP_URL = -600,         /* URL malformed or not http(s) (RFC3986) */
    AA_E_HTTP_CONNECT = -601,     /* TCP connect failed (refused, unreachable) */
    AA_E_HTTP_TIMEOUT = -602,     /* connect or total timeout expired */
    AA_E_HTTP_TOO_LARGE = -603,   /* response body/header cap exceeded, transfer aborted */
    AA_E_HTTP_NOT_ALLOWED = -604, /* loopback-only client asked for another host */
    AA_E_HTTP_RESOLVE = -605,     /* host name did not resolve */
    AA_E_HTTP_PROTOCOL = -606,    /* peer sent no or malformed HTTP, or closed early */
    AA_E_HTTP_SEND = -607,        /* writing the request failed */
    AA_E_HTTP_TLS = -608,         /* TLS handshake or certificate failure */
    AA_E_HTTP_HEADER = -609,      /* request header refused (CR/LF/NUL, not a token,
                                     client-managed) - see AA_HTTP_REQ_RAW */
    AA_E_HTTP_IDENTIFIER = -610,  /* not a valid identifier (PROFILE#1 D-1) */
    AA_E_HTTP_FORM = -611,        /* form body over a limit */
    AA_E_HTTP_FORM_DUP = -612,    /* form parameter repeated (PROFILE#6) */
    AA_E_HTTP_CURL = -613         /* libcurl failed for a local reason (fault) */
};

/* true for the codes that describe something the peer or network did
 * (CONNECT, TIMEOUT, TOO_LARGE, RESOLVE, PROTOCOL, SEND, TLS). */
bool aa_http_err_is_transport(int code);

/* Names for -600..-699 (client and discovery); NULL outside the range. */
const char *aa_http_strerror(int code);

/* ---- limits ------------------------------------------------------------ */
#define AA_URL_MAX_LEN 8192                            /* longest URL the parser accepts */
#define AA_URL_HOST_MAX 253                            /* DNS name limit (RFC1035#2.3.4) */
#define AA_URL_AUTHORITY_MAX 272                       /* "[" host "]:" 5 digits + NUL, rounded */
#define AA_HTTP_MAX_BODY_DEFAULT ((size_t)1024 * 1024) /* PROFILE#9 RB-02 */
#define AA_HTTP_MAX_HEADER_BLOCK_DEFAULT ((size_t)64 * 1024)
#define AA_HTTP_CONNECT_TIMEOUT_MS_DEFAULT 2000L
#define AA_HTTP_TIMEOUT_MS_DEFAULT 5000L /* PROFILE#3, #9: 5 s */
#define AA_HTTP_TRANSCRIPT_CUT 100       /* PROFILE#8: longer values cut to 97 + "..." */
#define AA_FORM_MAX_PARAMS 128
#define AA_FORM_MAX_LEN ((size_t)1024 * 1024)

/* ---- URLs -------------------------------------------------------------- */
/*
 * A parsed absolute http(s) URL. Every aa_str is a view into the string
 * given to aa_url_parse() and is valid while that string lives.
 *   scheme  "http"/"https" as written (case-insensitive match)
 *   host    without brackets for IPv6 literals (|ipv6| is then true), as
 *           written (not lowercased)
 *   port    the explicit port, or 80/443 when absent (|has_port| false)
 *   path    "" or starting with '/', byte-for-byte (no decoding)
 *   query   the bytes after '?', excluding it; |has_query| tells "/x?" (empty
 *           query, has_query true) from "/x" (has_query false)
 *   fragment after '#' (only with AA_URL_ALLOW_FRAGMENT)
 */
struct aa_url {
    struct aa_str scheme;
    struct aa_str host;
    struct aa_str path;
    struct aa_str query;
    struct aa_str fragment;
    uint16_t port;
    bool has_port;
    bool has_query;
    bool has_fragment;
    bool ipv6;
    bool https;
};

#define AA_URL_ALLOW_FRAGMENT 0x1u /* default: a '#' is an error */

/*
 * Parse |len| bytes of |url| strictly (RFC3986#3): scheme http or https,
 * "//" authority with a non-empty host (reg-name of unreserved characters,
 * dotted IPv4, or a bracketed IPv6 literal checked with inet_pton), optional
 * port 1..65535, path/query/fragment of RFC 3986 characters with valid %HH
 * escapes. Rejected always: userinfo ("user@"), empty port ("host:"),
 * whitespace, controls, non-ASCII, percent-escapes in the host, length over
 * AA_URL_MAX_LEN. Returns AA_OK or AA_E_HTTP_URL (|d| names the URL and the
 * offending part, ref "RFC3986#3.x"); AA_E_INVAL for NULL arguments.
 */
int aa_url_parse(const char *url, size_t len, unsigned flags, struct aa_url *out,
                 struct aa_diag *d) AA_WUR;

/*
 * Canonical authority (PROFILE#2.5, RFC9421#2.2.3): lowercase host, IPv6 in
 * brackets, ":port" only when the port is not the scheme's default.
 * Writes a NUL-terminated string into |out| (AA_URL_AUTHORITY_MAX is always
 * enough). Returns AA_OK, AA_E_LIMIT if |cap| is too small, AA_E_INVAL.
 */
int aa_url_authority(const struct aa_url *u, char *out, size_t cap);

/* Convenience: parse |url| (NUL-terminated) and write its canonical
 * authority. Errors as aa_url_parse / aa_url_authority. */
int aa_url_authority_of(const char *url, char *out, size_t cap, struct aa_diag *d) AA_WUR;

/*
 * The request target the client sends for |u|: path ("/" when empty),
 * then "?" + query when |has_query|. Appends to |out|.
 */
int aa_url_target(const struct aa_url *u, struct aa_buf *out);

/*
 * Loopback hosts for the client's loopback-only switch and SSRF policy:
 * "localhost" (any case), an IPv4 literal in 127.0.0.0/8, "::1" (any IPv6
 * spelling of it) and ::ffff:127.x.y.z. |host| is the bracket-less form.
 */
bool aa_http_host_is_loopback(struct aa_str host);
/* Parses |url| and tests its host; false for anything unparsable. */
bool aa_url_is_loopback(const char *url);

/* ---- identifiers (PROFILE#1 [D-1]) ------------------------------------- */
/*
 * Check that |id| is an identifier: "https://" + lowercase host + optional
 * non-default port, nothing else (no path, not even "/", no query, no
 * fragment, no userinfo, no uppercase, no default port). With |dev_mode|,
 * "http://" is also accepted for exactly the hosts 127.0.0.1, [::1] and
 * localhost; |*is_dev| (optional) is then set so the caller can label the
 * result DEV. Returns AA_OK, AA_E_HTTP_IDENTIFIER (ref "PROFILE#1", the
 * message names the identifier and the rule), AA_E_INVAL.
 */
int aa_http_identifier_check(const char *id, bool dev_mode, bool *is_dev, struct aa_diag *d) AA_WUR;

/*
 * Append "{id}/.well-known/{name}" to |out| (PROFILE#1: identifier +
 * "/.well-known/" + name). |id| must not end in '/', |name| must be a
 * non-empty run of [a-z0-9._-]. The identifier itself is not validated here
 * (call aa_http_identifier_check first). AA_OK, AA_E_INVAL, AA_E_LIMIT.
 */
int aa_http_well_known_url(const char *id, const char *name, struct aa_buf *out);

/* ---- forms (application/x-www-form-urlencoded) ------------------------- */
/*
 * Append |n| bytes of |s| percent-encoded as the WHATWG urlencoded
 * serializer does: ASCII alphanumerics and "*-._" kept, space as '+',
 * every other byte as %HH (uppercase hex).
 */
int aa_form_encode(struct aa_buf *out, const void *s, size_t n);
/* Append "name=value", preceded by '&' when |out| is not empty. */
int aa_form_add(struct aa_buf *out, const char *name, const char *value);

struct aa_form_param {
    char *name; /* decoded, NUL-terminated; may contain NUL (from %00) */
    size_t name_len;
    char *value;
    size_t value_len;
};

struct aa_form {
    struct aa_form_param *v;
    size_t n;
};

#define AA_FORM_REJECT_DUPLICATES 0x1u

/*
 * Parse a form body per the WHATWG application/x-www-form-urlencoded
 * parser: split on '&', skip empty pieces, split each at the first '=',
 * '+' -> space, "%HH" -> byte, any other '%' kept literally. Bytes are kept
 * as bytes (no UTF-8 decoding or U+FFFD replacement: the harness compares
 * bytes). |out| must be initialised with aa_form_init or zeroed; it is
 * filled only on success.
 * With AA_FORM_REJECT_DUPLICATES a name seen twice fails with
 * AA_E_HTTP_FORM_DUP (ref "PROFILE#6", message names the parameter).
 * AA_E_HTTP_FORM when the body is longer than AA_FORM_MAX_LEN or has more
 * than AA_FORM_MAX_PARAMS pieces; AA_E_NOMEM; AA_E_INVAL.
 */
int aa_form_parse(const char *body, size_t len, unsigned flags, struct aa_form *out,
                  struct aa_diag *d) AA_WUR;
void aa_form_init(struct aa_form *f);
void aa_form_cleanup(struct aa_form *f);
/* First value for |name| (exact, case-sensitive), NULL if absent. */
const char *aa_form_get(const struct aa_form *f, const char *name);
size_t aa_form_count(const struct aa_form *f, const char *name);
/* The first name that occurs more than once, NULL if none. */
const char *aa_form_first_duplicate(const struct aa_form *f);

/* ---- header lists ------------------------------------------------------ */
/*
 * An ordered header list. Duplicates are kept in order. For responses,
 * |name| is exactly as received and |lname| its ASCII-lowercase copy.
 * |raw| (requests only) marks a complete field line, held in |name| and
 * sent verbatim (see aa_http_headers_add_line).
 */
struct aa_http_header {
    char *name;
    char *lname;
    char *value; /* NUL-terminated; |value_len| bytes before the NUL */
    size_t value_len;
    bool raw;
};

struct aa_http_headers {
    struct aa_http_header *v;
    size_t n;
    size_t cap;
};

void aa_http_headers_init(struct aa_http_headers *h);
void aa_http_headers_cleanup(struct aa_http_headers *h);
/* Copies |name| and |value|. AA_OK, AA_E_NOMEM, AA_E_INVAL (NULL name). */
int aa_http_headers_add(struct aa_http_headers *h, const char *name, const char *value);
int aa_http_headers_addn(struct aa_http_headers *h, const char *name, const char *value,
                         size_t value_len);
/*
 * A raw field line, sent exactly as given (only with AA_HTTP_REQ_RAW):
 * "Name:value" without a space, "Name:  padded  ", an obs-fold
 * continuation, or "Accept:" (empty after the colon: libcurl then *removes*
 * its own header of that name). libcurl drops a line that has neither ':'
 * nor ';'.
 */
int aa_http_headers_add_line(struct aa_http_headers *h, const char *line);
/* First value of |name| (ASCII case-insensitive), NULL when absent. */
const char *aa_http_headers_get(const struct aa_http_headers *h, const char *name);
size_t aa_http_headers_count(const struct aa_http_headers *h, const char *name);

/* ---- client ------------------------------------------------------------ */
struct aa_http_client_opts {
    long connect_timeout_ms; /* 0 -> 2000 */
    long timeout_ms;         /* whole exchange; 0 -> 5000 */
    size_t max_body;         /* response body cap; 0 -> 1 MiB */
    size_t max_header_block; /* response header bytes cap; 0 -> 64 KiB */
    bool loopback_only;      /* refuse non-loopback URLs and addresses */
    const char *user_agent;  /* NULL -> "aauth-harness/<version>"; copied */
};

struct aa_http_client;

/* A client with its own curl handle (keep-alive across requests).
 * Not thread-safe: use one client per thread. NULL on allocation failure
 * or when libcurl cannot be initialised. |o| may be NULL (defaults). */
struct aa_http_client *aa_http_client_new(const struct aa_http_client_opts *o);
void aa_http_client_free(struct aa_http_client *c);

/*
 * Request flags. AA_HTTP_REQ_RAW: send header names/values unchecked
 * (hostile tests): CR/LF, controls, Content-Length, Transfer-Encoding, raw
 * lines, an explicit target. NUL is never sendable through libcurl
 * (AA_E_HTTP_HEADER).
 */
#define AA_HTTP_REQ_RAW 0x1u
/* AA_HTTP_REQ_EXPECT_CONTINUE: send "Expect: 100-continue" and wait for
 * the server's go-ahead before the body (RFC 9110 section 10.1.1), so a
 * server can refuse an oversized body before it is sent. Without it the
 * client never sends Expect (libcurl would add it to large bodies). */
#define AA_HTTP_REQ_EXPECT_CONTINUE 0x2u

struct aa_http_request {
    const char *method; /* any token: "GET", "POST", "get", "BREW"... */
    const char *url;    /* absolute http(s) URL (aa_url_parse rules) */
    /* Exact request target to send instead of the URL's path?query (raw
     * mode only; e.g. "/a b", "*", "http://x/y"). NULL: from |url|. */
    const char *target;
    const struct aa_http_headers *headers; /* in order; may be NULL */
    const void *body;                      /* NULL with body_len 0: no body */
    size_t body_len;
    unsigned flags;
};

struct aa_http_timing {
    int64_t connect_us; /* from start until TCP connected */
    int64_t ttfb_us;    /* until the first response byte */
    int64_t total_us;
};

/*
 * |headers|: received in order, names as received plus |lname|; duplicates
 * and obs-fold continuations (joined with one space) preserved; only the
 * final response's headers (1xx interim responses are dropped).
 * |body| is NUL-terminated (an empty body gives "" with body_len 0).
 * |sent_head| holds the exact request header block libcurl wrote (request
 * line, headers, CRLFs) for wire logs; |url| is a copy of the request URL.
 */
struct aa_http_response {
    long status;
    char *status_line; /* e.g. "HTTP/1.1 200 OK", without CRLF */
    struct aa_http_headers headers;
    char *body;
    size_t body_len;
    struct aa_buf sent_head;
    char *method;
    char *url;
    struct aa_http_timing timing;
};

void aa_http_response_init(struct aa_http_response *r);
void aa_http_response_cleanup(struct aa_http_response *r);

/*
 * Perform |req|. Redirects are never followed: a 3xx is returned as is.
 * Before any network activity the URL is parsed (AA_E_HTTP_URL), the
 * loopback switch checked (AA_E_HTTP_NOT_ALLOWED) and, without
 * AA_HTTP_REQ_RAW, every header validated: name an RFC 9110 token, value
 * free of CR, LF, NUL and other controls except HTAB, and not one of
 * Content-Length / Transfer-Encoding / Connection / Expect (managed by the
 * client) - AA_E_HTTP_HEADER. An empty value is sent as "Name:" (empty),
 * not as a removal. libcurl's default "Content-Type" for POST and its
 * "Expect: 100-continue" are suppressed; it still adds Host (unless the
 * caller set one), Accept and User-Agent.
 * Returns AA_OK with |resp| filled (any status), or one of the transport
 * codes with a message naming the method and URL; |resp| then holds
 * whatever was received (status 0 if nothing). |resp| must be initialised
 * and is reset first. AA_E_HTTP_TOO_LARGE means the transfer was aborted
 * as soon as the cap was crossed (declared Content-Length or streamed).
 */
int aa_http_send(struct aa_http_client *c, const struct aa_http_request *req,
                 struct aa_http_response *resp, struct aa_diag *d) AA_WUR;

/* GET |url| with optional extra |headers|. */
int aa_http_get(struct aa_http_client *c, const char *url, const struct aa_http_headers *headers,
                struct aa_http_response *resp, struct aa_diag *d) AA_WUR;

/* ---- transcripts (PROFILE#8) ------------------------------------------- */
/* AA_HTTP_TR_FULL: no cutting of header values or bodies.
 * AA_HTTP_TR_WIRE: request headers from resp->sent_head (all headers
 * actually sent, incl. Host), not the caller's list. */
#define AA_HTTP_TR_FULL 0x1u
#define AA_HTTP_TR_WIRE 0x2u

/*
 * Seed-style blocks, appended to |out|:
 *
 *   <blank>
 *   ====...==== (80 '=')
 *   >>> {role} REQUEST to {url}
 *   ====...====
 *   {METHOD} {url} HTTP/1.1
 *   Name: value                 (values over 100 chars: 97 chars + "...")
 *   <blank>                     (only with a body)
 *   [Body (N bytes)]
 *   {body}
 *   ====...====
 *   <blank>
 *
 * and for the response "<<< {role} RESPONSE from {url}", the status line as
 * received, its headers and body. Without AA_HTTP_TR_FULL a body is cut
 * after 8 KiB with a "[... N more bytes]" line. Control bytes other than
 * LF/HTAB are shown as \xNN so a hostile peer cannot corrupt the report.
 * |role| is upper case by convention ("DELEGATE", "RESOURCE").
 */
int aa_http_transcript_request(struct aa_buf *out, const char *role,
                               const struct aa_http_request *req,
                               const struct aa_http_response *resp, unsigned flags);
int aa_http_transcript_response(struct aa_buf *out, const char *role,
                                const struct aa_http_response *resp, unsigned flags);
/* Both blocks. */
int aa_http_transcript(struct aa_buf *out, const char *role, const struct aa_http_request *req,
                       const struct aa_http_response *resp, unsigned flags);

/*
 * Shared renderer for the pieces above (also usable for messages captured
 * elsewhere): a "Name: value" line with the PROFILE#8 cut unless |full|,
 * and a body section. Exposed so reference code renders identically.
 */
int aa_http_transcript_header_line(struct aa_buf *out, const char *name, const char *value,
                                   size_t value_len, bool full);
int aa_http_transcript_body(struct aa_buf *out, const void *body, size_t len, bool full);

#endif
