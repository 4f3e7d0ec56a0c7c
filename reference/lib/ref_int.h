/*
 * ref_int: the plumbing the reference roles share (private to
 * reference/lib/). A role module does three things:
 *
 *   1. ref_server_new(role, &cfg->c, &s, d)   key, clock, logging, ids
 *   2. ref_server_route(s, "GET", path, fn, note) for each endpoint, and
 *      s->role / s->role_free for its own state
 *   3. ref_server_listen(s, d), then anything that needs s->id (metadata
 *      documents), then ref_server_ready(s)
 *
 * On any failure it calls aa_ref_stop(s), which undoes whatever was done.
 * Dispatch is generic: exact path match, 405 with Allow for a known path
 * and another method (a GET route also answers HEAD), 404 otherwise; every
 * answer is application/json except pages the role renders itself.
 *
 * Design choice: the discovery cache lives in its own object file
 * (ref_disc.c) and is freed through a function pointer, so a program that
 * only runs the agent server does not link the discovery client.
 */
#ifndef REF_INT_H
#define REF_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <cJSON.h>

#include "aa_ref.h"
#include "aauth/aa_verifier.h"
#include "http/aa_http.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"

struct aa_ref_server;

typedef void (*ref_handler)(struct aa_ref_server *s, const struct aa_server_request *req,
                            struct aa_server_response *resp);

#define REF_MAX_ROUTES 32

struct ref_route {
    char method[16];  /* "GET" (also answers HEAD), "POST", ... */
    const char *path; /* matched byte-for-byte; kept, not copied (see ref_server_route) */
    ref_handler fn;
    const char *note; /* transcript note, "delegate token" -> ">>> ... received
                         (delegate token)"; static or NULL */
};

struct ref_alias {
    char *id;
    char *alias;
};

struct aa_ref_server {
    enum aa_ref_role role;
    const char *label;   /* "agent server", "resource", "auth server" */
    const char *tr_role; /* "AGENT SERVER", "RESOURCE", "AUTH SERVER" */
    const struct aa_profile *profile;

    /* listening */
    struct aa_server *srv;
    char *bind;        /* owned copy; "127.0.0.1" by default */
    uint16_t port_req; /* as configured (0 = ephemeral) */
    unsigned threads;
    unsigned timeout_s, request_timeout_s; /* aa_server_opts; 0 = its default */
    unsigned max_connections, max_connections_per_ip;
    char *url; /* listen origin, owned */

    /* identity (PROFILE#1, #2.5) */
    char *id;                             /* public identifier, owned */
    char authority[AA_URL_AUTHORITY_MAX]; /* canonical @authority (D-2) */
    bool dev; /* id is dev-mode http loopback (D-1: results labelled DEV) */
    bool strict_https;
    struct aa_jwk key; /* private signing key (Ed25519, D-12) */
    char thumbprint[AA_JWK_THUMBPRINT_LEN + 1];
    char *jwks_json; /* {"keys":[public key]}, rendered once */
    /* The role's well-known metadata (PROFILE#3), rendered once by the
     * role after ref_server_listen (it names the URL) and before
     * ref_server_ready; owned. */
    char *metadata_json;

    /* time */
    struct aa_ref_clock *clock; /* the caller's (shared) or &own_clock */
    struct aa_ref_clock own_clock;

    unsigned faults; /* enum aa_ref_fault bits */

    /* logging */
    int verbosity;
    FILE *log;
    struct ref_alias *aliases;
    size_t n_aliases;

    /* discovery (ref_disc.c) */
    char **trusted_origins;
    size_t n_trusted_origins;
    struct aa_disc *disc;
    bool own_disc;
    void (*disc_free)(struct aa_disc *);
    pthread_mutex_t disc_mu;

    /* dispatch */
    struct ref_route routes[REF_MAX_ROUTES];
    size_t n_routes;
    atomic_uint_fast64_t hits[REF_MAX_ROUTES]; /* by the first route of each path */
    atomic_bool ready;

    /* role state */
    void *role_ctx;
    void (*role_free)(void *role_ctx);
};

/* ---- lifecycle ------------------------------------------------------------ */

/*
 * Allocate a server for |role| from |c| (copied; nothing in |c| needs to
 * outlive the call except |c->clock|, |c->log| and |c->disc|, which are
 * shared). Sets up the clock, the key (ref_key_setup) and, when |c->id| is
 * given, checks it (PROFILE#1 D-1). Not listening yet.
 * Errors: AA_E_INVAL, AA_E_NOMEM, AA_E_HTTP_IDENTIFIER, key errors. On
 * failure |*out| may still hold the half-built server: release it with
 * aa_ref_stop() (which accepts NULL) exactly as after any later failure.
 */
int ref_server_new(enum aa_ref_role role, const struct aa_ref_common *c, struct aa_ref_server **out,
                   struct aa_diag *d) AA_WUR;

/* Register a route (before ref_server_listen). |path| and |note| are kept,
 * not copied: literals or memory in role_ctx. |path| must start with '/'.
 * AA_E_LIMIT past REF_MAX_ROUTES, AA_E_INVAL. */
int ref_server_route(struct aa_ref_server *s, const char *method, const char *path, ref_handler fn,
                     const char *note) AA_WUR;

/* Bind and start MHD; derives url, id (default: the listen origin; a
 * wildcard bind address gives the loopback origin) and the canonical
 * authority (PROFILE#2.5). Requests are answered 503 until
 * ref_server_ready(). */
int ref_server_listen(struct aa_ref_server *s, struct aa_diag *d) AA_WUR;
void ref_server_ready(struct aa_ref_server *s);

/*
 * Key setup in order of preference: |c->key| (copied), |c->key_file| (JWK
 * or PEM; when the file does not exist an Ed25519 key with |kid| is
 * generated and saved 0600 so the kid and JWKS stay stable across
 * restarts), else a fresh ephemeral Ed25519 key. The kid is |c->kid| when
 * set, else the key's own, else |default_kid|. The key must be a private
 * Ed25519 key (D-12): AA_E_UNSUPPORTED otherwise. AA_E_IO names the file.
 */
int ref_key_setup(const struct aa_ref_common *c, const char *default_kid, struct aa_jwk *out,
                  struct aa_diag *d) AA_WUR;

/* ---- time and faults ------------------------------------------------------ */

int64_t ref_now(const struct aa_ref_server *s);
/* An aa_clock (verifier, nonce cache) reading this server's clock. */
struct aa_clock ref_aa_clock(const struct aa_ref_server *s);
static inline bool ref_fault(const struct aa_ref_server *s, unsigned bit)
{
    return (s->faults & bit) != 0;
}
/* The AA_FAULT_* bits (aa_verifier.h) that |ref_faults| implies. */
unsigned ref_verifier_faults(unsigned ref_faults);

/* ---- discovery (ref_disc.c) ----------------------------------------------- */

/*
 * The server's discovery cache: the one given in the configuration, or a
 * cache created on first use with dev mode unless strict_https, the
 * trusted origins from the configuration and this server's clock. The
 * pointer stays valid until aa_ref_stop. AA_E_NOMEM.
 */
int ref_server_disc(struct aa_ref_server *s, struct aa_disc **out, struct aa_diag *d) AA_WUR;

/* ---- responses ------------------------------------------------------------ */

#define REF_NO_STORE 0x1u /* Cache-Control: no-store (token responses, D-25) */

/* |status| with Content-Type: application/json and |json| (copied). */
int ref_send_json_text(struct aa_server_response *r, int status, const char *json, unsigned flags);
/* Serialises |body| compactly. AA_E_NOMEM leaves a 500 server_error. */
int ref_send_json(struct aa_server_response *r, int status, const cJSON *body, unsigned flags);
/* 200 + Cache-Control: no-store (PROFILE#6, D-25). */
int ref_send_token(struct aa_server_response *r, const cJSON *body);
/* PROFILE#6.8 error body {"error","error_description"}; description
 * printf-formatted. */
int ref_send_error(struct aa_server_response *r, int status, const char *code, unsigned flags,
                   const char *fmt, ...) AA_PRINTF(5, 6);
/* The same with the status and name of |e| (aa_perr_status/aa_perr_name). */
int ref_send_perr(struct aa_server_response *r, enum aa_perr e, unsigned flags, const char *fmt,
                  ...) AA_PRINTF(4, 5);
/* A failed verifier/validator result: its status, profile error and
 * message ("2.11/8: AAuth profile §2.7: ..."). When the failure is the
 * outcome of a discovery fetch (ref_is_discovery_outcome), the client gets
 * a fixed description instead and the detail goes to the server log: the
 * URLs are the client's choice, so the text would tell it what answers
 * there (docs/security.md section 1). */
int ref_send_result(struct aa_server_response *r, const struct aa_aauth_result *res,
                    unsigned flags);
/* The client-facing description of a failed discovery fetch. */
#define REF_DISCOVERY_FAILED_TEXT                                                                  \
    "the signer's keys could not be obtained through discovery (PROFILE#3); the reason is in "    \
    "this server's log"
/* |code| is the outcome of fetching or reading a peer's discovery
 * documents (connect, timeout, status, size, content type, JSON, members,
 * identifier, JWKS, unknown kid/thumbprint), as opposed to a refusal by
 * the allow policy or a malformed identifier, which reveal nothing about
 * the network. Handlers that report discovery failures themselves should
 * use REF_DISCOVERY_FAILED_TEXT for these and ref_logf the detail. */
bool ref_is_discovery_outcome(int code);
/* GET /jwks.json: the pre-rendered public JWKS (PROFILE#3, D-14). */
int ref_send_jwks(const struct aa_ref_server *s, struct aa_server_response *r);
/* Route handlers every role registers the same way: its well-known
 * metadata (s->metadata_json) and its JWKS (ref_send_jwks). */
void ref_h_metadata(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp);
void ref_h_jwks(struct aa_ref_server *s, const struct aa_server_request *req,
                struct aa_server_response *resp);
/* A page (text/html; charset=utf-8, no-store). */
int ref_send_html(struct aa_server_response *r, int status, const char *html);
/* HTML text and attribute values alike: & < > " ' as entities; controls,
 * NUL and invalid UTF-8 as U+FFFD, so hostile input (a redirect's query, a
 * user name) cannot inject markup. ref_html_text() takes a C string (NULL
 * writes nothing), ref_html_textn() |n| bytes. */
void ref_html_textn(struct aa_buf *b, const char *s, size_t n);
void ref_html_text(struct aa_buf *b, const char *s);
/* "<!DOCTYPE html>...<title>T</title></head><body><h1>T</h1>", T escaped. */
void ref_html_open(struct aa_buf *b, const char *title);

/* ---- request helpers ------------------------------------------------------ */

/* The media type of Content-Type equals |media| (case-insensitive,
 * parameters ignored). false when the header is absent or repeated. */
bool ref_content_type_is(const struct aa_server_request *req, const char *media);
/* Any of Signature, Signature-Input, Signature-Key present. */
bool ref_request_is_signed(const struct aa_server_request *req);
/* The client address is loopback (127.0.0.0/8, ::1, ::ffff:127.x). */
bool ref_client_is_loopback(const struct aa_server_request *req);

/*
 * Body as a strict JSON object (application/json, aa_json_parse: no
 * duplicates, depth 32). On failure the 400 invalid_request answer is
 * already in |resp| and AA_E_SYNTAX (or the parser's code) is returned.
 */
int ref_json_body(const struct aa_server_request *req, struct aa_server_response *resp,
                  const char *ref, cJSON **out) AA_WUR;
/*
 * Body as an application/x-www-form-urlencoded form, repeated parameters
 * rejected (PROFILE#6). On failure the 400 invalid_request answer is in
 * |resp|. |out| must be aa_form_init()ed; the caller cleans it up.
 */
int ref_form_body(const struct aa_server_request *req, struct aa_server_response *resp,
                  struct aa_form *out) AA_WUR;
/* The request as the verifier wants it. |hdrs| must be aa_http_headers_init()ed;
 * the caller cleans it up. |vr| points into |req| and |hdrs|. */
int ref_verify_request(const struct aa_server_request *req, struct aa_http_headers *hdrs,
                       struct aa_verify_request *vr) AA_WUR;

/* ---- building ------------------------------------------------------------- */

/* Compact JSON text of |v| in |*out| (heap), e.g. a metadata document
 * rendered once after ref_server_listen and served with
 * ref_send_json_text. AA_E_NOMEM, AA_E_INVAL. */
int ref_render_json(const cJSON *v, char **out) AA_WUR;
/* "{id}{path}" (path starts with '/'), heap; NULL on allocation failure. */
char *ref_id_url(const struct aa_ref_server *s, const char *path);
/*
 * Sign |claims| as a JWT with the server key: header
 * {"alg":"EdDSA","kid":<kid>,"typ":<typ>} (typ "JWT" under
 * AA_REF_FAULT_WRONG_TYP). |*out| is heap.
 */
int ref_sign_jwt(const struct aa_ref_server *s, const char *typ, const cJSON *claims,
                 char **out) AA_WUR;

/* ---- logging -------------------------------------------------------------- */

/* One diagnostic line when verbosity >= |min|: "<label>  <text>". */
void ref_logf(const struct aa_ref_server *s, int min, const char *fmt, ...) AA_PRINTF(3, 4);

#endif
