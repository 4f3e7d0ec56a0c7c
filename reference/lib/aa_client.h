/*
 * aa_client: "curl for AAuth". The client side of every AAuth role: a
 * pseudonymous caller, an agent with a jwks identity, or an agent delegate
 * holding an agent token. Used by the aauth-delegate tool, the conformance
 * runner (which plays the delegate/agent against external servers) and
 * the flow tests.
 *
 * What it does (PROTOCOL.md, cited PROFILE#<section>):
 *   - signs requests with any Signature-Key scheme (PROFILE#2), passing
 *     every signer option and diagnostic variant of aa_signer.h through;
 *   - obtains and validates agent tokens from an agent server
 *     (POST {agent}/delegate/token, PROFILE#6.1, #7.6 TEST 1);
 *   - follows Agent-Auth challenges (PROFILE#5): httpsig -> sign,
 *     identity=?1 -> identity credential, auth-token -> resource token to
 *     the auth server (PROFILE#6.3), consent when the AS asks for it
 *     (PROFILE#6.4, #6.6: simulated user or manual), then retries with
 *     scheme=jwt and the auth token;
 *   - refresh (PROFILE#6.3, D-20), key rotation (PROFILE#7.6 TEST 4),
 *     token exchange (PROFILE#6.5) and resource tokens (PROFILE#6.2);
 *   - CL safety (PROFILE#9 CL-01..CL-06): refuses http auth servers and
 *     endpoints unless dev mode and loopback, never retries on a malformed
 *     challenge, validates every token it is given for its own key, reads
 *     bounded responses and never follows a redirect.
 *
 * Everything is observable. Each HTTP exchange becomes one *step* (struct
 * aa_client_step): the request exactly as sent (headers, body, signature
 * base, Signature-* values, nonce), the response (status, headers, body,
 * parsed JSON, parsed Agent-Auth challenge, PROFILE#6.8 error members) and
 * the outcome (rc + diagnostic). Steps are kept in a log the caller reads
 * (aa_client_step_count / aa_client_step_at) and, as they happen, handed
 * to an optional callback. Every exchange is also appended to a text
 * transcript of seed-style blocks (aa_http_transcript, PROFILE#8) followed
 * by the signature base:
 *
 *   ================================================================================
 *   >>> DELEGATE REQUEST to http://127.0.0.1:8002/data-jwks
 *   ...
 *   ================================================================================
 *   <blank>
 *   --- signature base (<RFC 7638 thumbprint of the signing key>) ---
 *   "@method": GET
 *   ...
 *   --- end ---
 *   ================================================================================
 *   <<< DELEGATE RESPONSE from http://127.0.0.1:8002/data-jwks
 *   ...
 *
 * Design choice: the high-level operations (aa_client_fetch,
 * aa_client_authorize) are built only from the public low-level ones
 * (aa_client_send, aa_client_token_request, aa_client_consent, ...), so a
 * conformance case can stop after any step, change one thing and continue
 * by hand, and sees exactly the exchanges the automatic path would make.
 *
 * Threading: a client is not thread-safe; use one per thread. Time comes
 * from an injectable clock (created, token expiry checks).
 *
 * Error codes, range -800..-849: aa_client_strerror() names them and
 * aa_client_errstr() names any code (core's aa_strerror() does not know
 * this range). Like the http codes they say what happened, not who is to
 * blame:
 *   AA_E_CLIENT_STATUS      the peer answered with a status the step does
 *                           not accept (the step holds status and error)
 *   AA_E_CLIENT_RESPONSE    a 2xx answer without the members it must have
 *   AA_E_CLIENT_TOKEN       a token given to us fails validation (typ, iss,
 *                           sub, aud, signature, exp, cnf != our key:
 *                           CL-03, CL-04)
 *   AA_E_CLIENT_INSECURE    an auth server / endpoint / redirect target is
 *                           not https (or dev-mode http on loopback): CL-01
 *   AA_E_CLIENT_CHALLENGE   an Agent-Auth challenge we cannot act on (an
 *                           auth-token challenge without resource_token or
 *                           auth_server); a *malformed* challenge keeps the
 *                           parser's AA_E_CHALLENGE_* code (CL-02)
 *   AA_E_CLIENT_NO_CREDENTIAL the step needs a credential the client does
 *                           not have (identity, agent token, grant)
 *   AA_E_CLIENT_LOOP        the challenge loop exceeded max_rounds
 *   AA_E_CLIENT_CONSENT     the consent flow broke (login refused, no 303,
 *                           Location without code, not under redirect_uri)
 *   AA_E_CLIENT_DENIED      the user denied consent (error=access_denied)
 *   AA_E_CLIENT_STATE       the state returned is not the one sent
 *   AA_E_CLIENT_INPUT       manual consent: nothing usable was entered
 * Transport failures keep their AA_E_HTTP_* codes (aa_http.h); metadata
 * content problems keep the AA_E_DISC_* codes (aa_discovery.h).
 */
#ifndef AA_CLIENT_H
#define AA_CLIENT_H

#include <stdio.h>

#include <cJSON.h>

#include "aauth/aa_aauth.h"
#include "http/aa_discovery.h"
#include "http/aa_http.h"
#include "jwk/aa_jwk.h"

/* ---- error codes (-800..-849) -------------------------------------------- */
enum {
    AA_E_CLIENT_STATUS = -800,
    AA_E_CLIENT_RESPONSE = -801,
    AA_E_CLIENT_TOKEN = -802,
    AA_E_CLIENT_INSECURE = -803,
    AA_E_CLIENT_CHALLENGE = -804,
    AA_E_CLIENT_NO_CREDENTIAL = -805,
    AA_E_CLIENT_LOOP = -806,
    AA_E_CLIENT_CONSENT = -807,
    AA_E_CLIENT_DENIED = -808,
    AA_E_CLIENT_STATE = -809,
    AA_E_CLIENT_INPUT = -810
};

/* Name of a -800..-849 code; NULL outside the range. */
const char *aa_client_strerror(int code);
/* Any code: the client's own names, else aa_strerror(). Never NULL. */
const char *aa_client_errstr(int code);

/* ---- defaults and limits -------------------------------------------------- */
#define AA_CLIENT_DEFAULT_SUB "delegate-1"        /* PROFILE#1 topology */
#define AA_CLIENT_DEFAULT_KID "delegate-key-1"    /* PROFILE#7.6 TEST 1 */
#define AA_CLIENT_DEFAULT_ROLE "DELEGATE"         /* transcript label (PROFILE#8) */
#define AA_CLIENT_BROWSER_ROLE "BROWSER"          /* label of simulated-user steps */
#define AA_CLIENT_DEFAULT_USER "testuser"         /* PROFILE#6.6 */
#define AA_CLIENT_DEFAULT_PASSWORD "testpass"
#define AA_CLIENT_MAX_ROUNDS_DEFAULT 6            /* requests per aa_client_fetch */
#define AA_CLIENT_MAX_STEPS 1024                  /* steps kept in the log */
#define AA_CLIENT_MAX_TRANSCRIPT ((size_t)64 * 1024 * 1024)
#define AA_CLIENT_MAX_GRANTS 64
#define AA_CLIENT_MAX_CACHE 64                    /* metadata/JWKS documents cached */
#define AA_CLIENT_CODE_MAX 4096                   /* manual consent input line */
#define AA_CLIENT_STATE_LEN 22                    /* 128-bit state, base64url */

/* ---- configuration ---------------------------------------------------------- */

/* Who the client is. */
enum aa_client_identity {
    /* hwk with its own key only (PROFILE#2.3): no identity level. */
    AA_CLIENT_PSEUDONYMOUS = 0,
    /* An agent (or a resource acting as one, F7) that signs with jwks
     * Mode 2: id + kid + well-known, with the private key of that kid. */
    AA_CLIENT_AGENT,
    /* An agent delegate: own key, agent token from an agent server,
     * identity = scheme=jwt with that token (PROFILE#7.6). */
    AA_CLIENT_DELEGATE
};

/* How consent is given when the AS answers with a request_token. */
enum aa_client_consent_mode {
    AA_CLIENT_CONSENT_AUTO = 0, /* scripted user, PROFILE#6.6 */
    AA_CLIENT_CONSENT_MANUAL    /* prompt callback: a person opens the URL */
};

/* The scripted user of PROFILE#6.6. NULL fields take the defaults. */
struct aa_client_user {
    const char *username; /* "testuser" */
    const char *password; /* "testpass" */
    bool deny;            /* answer consent=deny instead of grant */
};

struct aa_client_step;

/*
 * Manual consent: show |url| (the agent_auth_endpoint URL with
 * request_token, redirect_uri and state) to a person and write what they
 * paste into |line| (NUL-terminated, at most |cap| bytes): either the
 * code itself or the whole callback URL / query ("code=...&state=...",
 * "error=access_denied&state=..."). Return AA_OK, or an error code that
 * aborts the flow (AA_E_CLIENT_INPUT for "nothing entered").
 */
typedef int (*aa_client_prompt_fn)(void *ctx, const char *url, char *line, size_t cap);

/* Called after every step is recorded (the step is complete and stays
 * valid until it leaves the log). Must not call back into the client. */
typedef void (*aa_client_step_fn)(void *ctx, const struct aa_client_step *st);

/*
 * Zero-initialise, then set what you need. Strings and keys are copied by
 * aa_client_new (keys by reference count); nothing needs to outlive it
 * except |profile| (static tables do) and the callback contexts.
 */
struct aa_client_opts {
    const struct aa_profile *profile;   /* NULL: default profile */
    enum aa_client_identity identity;

    /* The signing key (private). NULL: a fresh Ed25519 key is generated
     * with |kid|. Only Ed25519 is accepted (D-12). */
    const struct aa_jwk *key;
    /* kid of a generated key, and the kid written into cnf_jwk; NULL:
     * the key's own kid, else "delegate-key-1". */
    const char *kid;

    /* AA_CLIENT_AGENT: the jwks Mode 2 credential. |agent_kid| NULL: the
     * key's kid. |well_known| NULL: the profile's aauth-agent
     * (aauth-resource for a resource acting as an agent, F7). */
    const char *agent_id;
    const char *agent_kid;
    const char *well_known;

    /* AA_CLIENT_DELEGATE: where POST /delegate/token goes (the agent
     * server's URL, e.g. "http://127.0.0.1:8001"; a trailing '/' is
     * removed) and the sub to ask for ("delegate-1" when NULL). The agent
     * token's iss must equal |agent_id| when set, else the origin of
     * |agent_server|. |agent_token_aud| (optional) is sent as "aud". */
    const char *agent_server;
    const char *sub;
    const char *agent_token_aud;
    /* Sign POST /delegate/token with scheme=hwk (PROFILE#6.1 MAY; the
     * seed sends it unsigned). */
    bool sign_delegate_request;

    /* PROFILE#1 D-1: accept http identifiers/endpoints on loopback hosts.
     * Without it only https is accepted (CL-01). */
    bool dev_mode;
    /* Skip the JWS verification of received agent/auth tokens (their
     * typ/iss/sub/aud/exp/cnf are still checked). Default: verify, by
     * fetching the issuer's metadata and JWKS (recorded as steps). */
    bool no_token_signature_check;

    /* redirect_uri for auth/code requests; NULL: "{agent}/callback". */
    const char *redirect_uri;
    enum aa_client_consent_mode consent;
    struct aa_client_user user;
    aa_client_prompt_fn prompt; /* MANUAL: required */
    void *prompt_ctx;

    /* created, exp checks; zero: wall clock. Copied. */
    struct aa_clock clock;
    /* Applied to every signed request the client makes unless a call
     * passes its own (variants, nonce mode, label...). NOT copied: must
     * outlive the client or be reset with aa_client_set_sign_opts. */
    const struct aa_sign_opts *sign;

    /* HTTP: 0 -> aa_http defaults (2 s connect, 5 s total, 1 MiB body;
     * metadata and JWKS are always capped at 64 KiB, PROFILE#3). */
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_body;
    bool loopback_only;
    const char *user_agent;

    /* Transcript: label of the client's own blocks (NULL: "DELEGATE"),
     * AA_HTTP_TR_* flags (0: header values cut per PROFILE#8;
     * AA_HTTP_TR_FULL for reports that must keep everything). */
    const char *role;
    unsigned transcript_flags;
    bool no_transcript;          /* keep steps only */
    aa_client_step_fn on_step;
    void *on_step_ctx;

    int max_rounds;              /* aa_client_fetch requests; 0: 6 */
};

struct aa_client;

/*
 * Create a client. Errors: AA_E_INVAL (bad combination: AGENT without
 * agent_id or kid, DELEGATE without agent_server, MANUAL without prompt,
 * a key without private half or not Ed25519), AA_E_HTTP_URL /
 * AA_E_CLIENT_INSECURE (agent_server not an acceptable URL, CL-01),
 * AA_E_NOMEM, AA_E_HTTP_CURL. Nothing is sent: the agent token is
 * obtained by aa_client_agent_token_obtain() or on first need.
 */
int aa_client_new(const struct aa_client_opts *o, struct aa_client **out, struct aa_diag *d) AA_WUR;
void aa_client_free(struct aa_client *c);

/* Replace the default signer options (borrowed; NULL = reference). */
void aa_client_set_sign_opts(struct aa_client *c, const struct aa_sign_opts *sign);

/* ---- state accessors (pointers valid until the state changes) ------------ */
const struct aa_profile *aa_client_profile(const struct aa_client *c);
/* The current signing key (private) and its RFC 7638 thumbprint. */
const struct aa_jwk *aa_client_key(const struct aa_client *c);
const char *aa_client_thumbprint(const struct aa_client *c);
/* The agent identifier this client acts for: the jwks id (AGENT), the
 * agent token's iss (DELEGATE with a token), else the configured agent id
 * or agent_server origin; NULL for a pseudonymous client. */
const char *aa_client_agent_id(const struct aa_client *c);
/* The redirect_uri sent in auth/code requests (NULL: no agent). */
const char *aa_client_redirect_uri(const struct aa_client *c);
/* DELEGATE: the current agent token, NULL before one was obtained. */
const char *aa_client_agent_token(const struct aa_client *c);
/* Its validated claims (iss, sub, exp, iat, cnf, header/claims JSON);
 * NULL without a token. */
const struct aa_validated_token *aa_client_agent_token_claims(const struct aa_client *c);
/* The delegate sub asked for ("delegate-1"). */
const char *aa_client_sub(const struct aa_client *c);

/* ---- the step log and the transcript --------------------------------------- */

enum aa_client_step_kind {
    AA_CSTEP_REQUEST = 0,   /* a caller request (aa_client_send / _fetch) */
    AA_CSTEP_AGENT_TOKEN,   /* POST {agent}/delegate/token */
    AA_CSTEP_METADATA,      /* GET a well-known document */
    AA_CSTEP_JWKS,          /* GET a jwks_uri */
    AA_CSTEP_RESOURCE_TOKEN, /* POST resource_token_endpoint */
    AA_CSTEP_TOKEN,         /* POST agent_token_endpoint (auth/code/refresh/exchange) */
    AA_CSTEP_CONSENT_PAGE,  /* browser: GET agent_auth_endpoint (or the page after login) */
    AA_CSTEP_LOGIN,         /* browser: POST action=login */
    AA_CSTEP_CONSENT,       /* browser: POST consent=grant|deny */
    AA_CSTEP_NOTE           /* no exchange: a decision or a manual-consent prompt */
};
/* "request", "agent-token", "metadata", ... */
const char *aa_client_step_kind_name(enum aa_client_step_kind k);

/*
 * One exchange (or a note). Everything is owned by the log; read-only for
 * the caller. A step leaves the log when aa_client_log_clear() is called
 * or when more than AA_CLIENT_MAX_STEPS are recorded (oldest first).
 */
struct aa_client_step {
    size_t seq;                       /* 0, 1, 2 ... since aa_client_new */
    enum aa_client_step_kind kind;
    char *what;                       /* one line: "GET /data-auth signed(jwt agent+jwt)",
                                         "request_type=auth", "login testuser" */
    /* outcome: AA_OK, a transport code, or a step-level finding
     * (AA_E_CLIENT_*, AA_E_CHALLENGE_*, AA_E_DISC_*) with |diag| */
    int rc;
    struct aa_diag diag;

    /* the request as sent */
    char *method;
    char *url;
    struct aa_http_headers req_headers; /* the caller's, then the signer's lines */
    char *req_body;                   /* NUL-terminated copy, or NULL */
    size_t req_body_len;

    /* signing (all NULL/none for an unsigned request) */
    bool is_signed;
    enum aa_sigkey_scheme scheme;
    const char *token_typ;            /* scheme=jwt: the typ the client meant
                                         ("agent+jwt"/"auth+jwt"), static; or NULL */
    char *signature_input, *signature, *signature_key, *nonce, *content_digest;
    char *base;                       /* signature base (not secret: all public data) */
    size_t base_len;
    int64_t created;
    char key_jkt[AA_JWK_THUMBPRINT_LEN + 1]; /* thumbprint of the signing key */

    /* the response (status 0 when none was received) */
    bool has_response;
    struct aa_http_response resp;
    cJSON *json;                      /* body parsed strictly when it is a JSON
                                         object (any status), else NULL */
    char *error;                      /* PROFILE#6.8 "error" member, or NULL */
    char *error_description;
    /* Agent-Auth (first field line; |n_challenge_lines| counts them) */
    size_t n_challenge_lines;
    int challenge_rc;                 /* AA_OK or the aa_challenge_parse code */
    struct aa_diag challenge_diag;
    bool has_challenge;               /* parsed successfully */
    struct aa_challenge challenge;
    char *location;                   /* Location header of a 3xx, or NULL */
};

size_t aa_client_step_count(const struct aa_client *c);
/* The |i|-th step still in the log (0 = oldest kept); NULL out of range. */
const struct aa_client_step *aa_client_step_at(const struct aa_client *c, size_t i);
/* The most recent step, NULL when the log is empty. */
const struct aa_client_step *aa_client_step_last(const struct aa_client *c);
/* Steps dropped because the log was full. */
size_t aa_client_steps_dropped(const struct aa_client *c);

/* The transcript so far (NUL-terminated, "" when empty) and its length. */
const char *aa_client_transcript(const struct aa_client *c, size_t *len);
/* Forget all steps and the transcript (step pointers become invalid). */
void aa_client_log_clear(struct aa_client *c);
/* Append a note line to the transcript (and a NOTE step). */
void aa_client_note(struct aa_client *c, const char *fmt, ...) AA_PRINTF(2, 3);

/* ---- sending one request ------------------------------------------------------ */

/* Which credential signs a request (PROFILE#2.3). */
enum aa_client_cred {
    AA_CRED_AUTO = 0,    /* aa_client_fetch: a grant for the URL's origin, else the
                            identity credential, else hwk. aa_client_send: the
                            identity credential, else hwk */
    AA_CRED_NONE,        /* unsigned */
    AA_CRED_HWK,         /* scheme=hwk with the client key */
    AA_CRED_JWKS,        /* scheme=jwks Mode 2 (AGENT) */
    AA_CRED_AGENT_TOKEN, /* scheme=jwt with the agent token (DELEGATE); obtained
                            first when missing or expired */
    AA_CRED_AUTH_TOKEN,  /* scheme=jwt with an auth token: |token| or the grant for
                            the URL's origin */
    AA_CRED_IDENTITY     /* JWKS for AGENT, AGENT_TOKEN for DELEGATE */
};
const char *aa_client_cred_name(enum aa_client_cred cred);

/* The request to make. Headers are sent in order before the signature
 * lines; a body needs |content_type| or a Content-Type in |headers|. */
struct aa_client_request {
    const char *method;                    /* NULL: GET, or POST with a body */
    const char *url;                       /* absolute http(s) URL */
    const struct aa_http_headers *headers; /* may be NULL */
    const char *content_type;              /* added as Content-Type when set */
    const void *body;
    size_t body_len;
};

/*
 * Per-call overrides. Zero = the client's defaults. Everything the signer
 * can do is reachable: |sign| (variants, labels, components, nonce,
 * created offset, alg...) and |cred_override| (the whole Signature-Key,
 * incl. raw_signature_key) are passed to aa_aauth_sign unchanged; |key|
 * signs with another private key (SIG-20, AT-09).
 */
struct aa_client_send_opts {
    enum aa_client_cred cred;
    const char *token;                       /* AUTH_TOKEN / AGENT_TOKEN: this JWT */
    const struct aa_sign_opts *sign;         /* NULL: client default */
    const struct aa_sign_cred *cred_override;/* NULL: built from |cred| */
    const struct aa_jwk *key;                /* NULL: the client key */
    unsigned http_flags;                     /* AA_HTTP_REQ_RAW for hostile requests */
    enum aa_client_step_kind kind;           /* how the step is labelled (REQUEST) */
};

/*
 * Sign (unless cred NONE) and send |req| once, record the step, append
 * the transcript. Follows nothing. |*out| (optional) gets the step.
 * Returns AA_OK when a response arrived (ANY status: look at
 * (*out)->resp.status), a transport code (step recorded, rc set),
 * AA_E_CLIENT_NO_CREDENTIAL (the credential is missing; nothing sent),
 * AA_E_SIGNER_INPUT and other signer codes (nothing sent), AA_E_INVAL,
 * AA_E_NOMEM. A DELEGATE asked to sign with AGENT_TOKEN before it has one,
 * or when its token has expired, first obtains one (an AGENT_TOKEN step,
 * whose failure is returned instead).
 */
int aa_client_send(struct aa_client *c, const struct aa_client_request *req,
                   const struct aa_client_send_opts *so, const struct aa_client_step **out,
                   struct aa_diag *d) AA_WUR;

/* ---- following challenges (PROFILE#5) ------------------------------------------ */

struct aa_client_fetch_opts {
    enum aa_client_cred first; /* credential of the first attempt (AUTO) */
    bool no_follow;            /* exactly one exchange */
    const struct aa_sign_opts *sign; /* for the resource requests; NULL: default */
    int max_rounds;            /* 0: the client's (6) */
};

/*
 * What aa_client_fetch did. Pointers are into the client (log, grants)
 * and valid until the log is cleared / the grant dropped.
 */
struct aa_client_result {
    long status;                         /* final status, 0 when none */
    const struct aa_client_step *final;  /* the last resource exchange */
    const struct aa_client_step *failed; /* the step that stopped the flow, or NULL */
    size_t first_seq;                    /* seq of the first step of this fetch */
    size_t n_steps;                      /* steps recorded by this fetch */
    int rounds;                          /* resource requests made */
    enum aa_client_cred cred;            /* credential of the final request */
    const struct aa_client_grant *grant; /* the grant used last, or NULL */
};

/*
 * Request |req| and follow the resource's challenges:
 *   401/403 without Agent-Auth, or any other status      -> done
 *   malformed Agent-Auth                                 -> the parse code
 *                                                           (AA_E_CHALLENGE_*), no retry (CL-02)
 *   httpsig, previous attempt unsigned                   -> sign (identity if any, else hwk)
 *   httpsig; identity=?1, previous attempt pseudonymous  -> the identity credential
 *   httpsig; identity=?1 after an auth token             -> drop that grant, identity
 *   auth-token; resource_token; auth_server              -> aa_client_authorize(), then
 *                                                           scheme=jwt with the auth token
 *   the same challenge again for the same credential     -> done (the peer refused it)
 * Before an auth token is used, a grant bound to an older key (rotation)
 * or expired is refreshed when it has a refresh token, else dropped.
 * Returns AA_OK when a final response arrived (any status: |out->status|),
 * or the code of the step that failed (|out->failed|): transport codes,
 * AA_E_CLIENT_* (STATUS when the AS refused, TOKEN for a bad auth token,
 * INSECURE for an http auth_server, LOOP, NO_CREDENTIAL, DENIED...).
 */
int aa_client_fetch(struct aa_client *c, const struct aa_client_request *req,
                    const struct aa_client_fetch_opts *fo, struct aa_client_result *out,
                    struct aa_diag *d) AA_WUR;

/* ---- agent tokens (PROFILE#6.1, #7.6 TEST 1) ------------------------------------ */

/*
 * DELEGATE: POST {agent_server}/delegate/token
 *   {"sub":<sub>,"cnf_jwk":{"kty":"OKP","crv":"Ed25519","x":..,"kid":..}[,"aud":..]}
 * (hwk-signed with sign_delegate_request) and validate the answer:
 * 200, JSON object, agent_token string, expires_in integer > 0; the token
 * (PROFILE#4.3 via aa_aauth_validate_agent_token: typ agent+jwt, kid,
 * iss = the expected agent id, JWS under {iss}/.well-known/aauth-agent ->
 * jwks_uri unless no_token_signature_check, time claims, sub = our sub,
 * cnf.jwk thumbprint = our key (D-27), exp in the future).
 * On success the token replaces the current one. Returns AA_OK,
 * AA_E_CLIENT_STATUS, AA_E_CLIENT_RESPONSE, AA_E_CLIENT_TOKEN (CL-03; the
 * token is NOT kept), transport and discovery codes, AA_E_INVAL (not a
 * DELEGATE).
 */
int aa_client_agent_token_obtain(struct aa_client *c, struct aa_diag *d) AA_WUR;

/*
 * Check that |token| is an agent token for this delegate (the same checks
 * as above, nothing stored). For callers that obtained a token by hand.
 * |out| (optional) gets the validated claims (aa_validated_token_cleanup).
 */
int aa_client_check_agent_token(struct aa_client *c, const char *token,
                                 struct aa_validated_token *out, struct aa_diag *d) AA_WUR;

/*
 * Key rotation (PROFILE#7.6 TEST 4): switch to |new_key| (private Ed25519;
 * NULL: generate one whose kid follows the current one: "delegate-key-1"
 * -> "delegate-key-2", "k" -> "k-2"), and for a DELEGATE
 * obtain a new agent token with the same sub for it. On failure the old
 * key and token stay in force. Grants are kept; their auth tokens are
 * still bound to the old key until refreshed (aa_client_refresh, or
 * automatically by aa_client_fetch).
 */
int aa_client_rotate_key(struct aa_client *c, const struct aa_jwk *new_key,
                         struct aa_diag *d) AA_WUR;

/* ---- auth server (PROFILE#3, #6.3-#6.6) ------------------------------------------ */

/* The auth server's metadata (PROFILE#3), fetched once per client. */
struct aa_client_as_meta {
    char *issuer;
    char *jwks_uri;
    char *agent_token_endpoint;
    char *agent_auth_endpoint;   /* NULL when absent (needed only for consent) */
};

/*
 * GET {as_id}/.well-known/aauth-issuer (no redirects, 64 KiB, JSON
 * object, issuer == as_id). |as_id| must be an identifier (https, or http
 * loopback in dev mode: AA_E_CLIENT_INSECURE otherwise, CL-01) and so
 * must the endpoints' schemes. |*out| points into the client's cache.
 * Errors: AA_E_CLIENT_INSECURE, AA_E_HTTP_IDENTIFIER, AA_E_DISC_* (status,
 * redirect, content type, JSON, member, id mismatch), transport codes.
 */
int aa_client_as_metadata(struct aa_client *c, const char *as_id,
                          const struct aa_client_as_meta **out, struct aa_diag *d) AA_WUR;

/* Parameters of POST agent_token_endpoint; NULL members are not sent.
 * Sent in this order: request_type, resource_token, scope,
 * auth_request_url, code, refresh_token, redirect_uri, then |extra|
 * (name, value pairs, NULL-terminated: for negative cases). */
struct aa_client_token_params {
    const char *request_type; /* "auth", "code", "refresh", "exchange" */
    const char *resource_token;
    const char *scope;
    const char *auth_request_url;
    const char *code;
    const char *refresh_token;
    const char *redirect_uri;
    const char *const *extra;
};

/* The answer; owned strings, release with aa_client_token_response_cleanup. */
struct aa_client_token_response {
    long status;
    char *auth_token;
    char *refresh_token;
    char *request_token;
    int64_t expires_in;      /* 0 when absent */
    char *error;
    char *error_description;
    const struct aa_client_step *step; /* the exchange (in the log) */
};
void aa_client_token_response_cleanup(struct aa_client_token_response *r);

/*
 * One POST to the AS's agent_token_endpoint (metadata fetched first when
 * needed), signed per |so| (default AA_CRED_IDENTITY; exchange callers
 * pass AA_CRED_AUTH_TOKEN with the upstream token), with a Nonce and
 * Content-Digest (PROFILE#2.9, #2.8). No token validation here.
 * Returns AA_OK for 200 with an auth_token or request_token string (and
 * integral expires_in when present), AA_E_CLIENT_STATUS for any other
 * status (|out| has status, error, error_description),
 * AA_E_CLIENT_RESPONSE for a 200 without them, transport codes.
 */
int aa_client_token_request(struct aa_client *c, const char *as_id,
                            const struct aa_client_token_params *tp,
                            const struct aa_client_send_opts *so,
                            struct aa_client_token_response *out, struct aa_diag *d) AA_WUR;

/*
 * An authorisation: an auth token with its refresh token, for one
 * resource (its aud). Kept in the client, one per resource; updated in
 * place by refresh, so the pointer stays valid until dropped or the
 * client is freed.
 */
struct aa_client_grant {
    char *resource;           /* aud of the auth token (resource id, or the agent id, F5) */
    char *origin;             /* origin requests are matched on (the URL that was
                                 challenged), or NULL */
    char *auth_server;        /* AS identifier (iss) */
    char *auth_token;
    char *refresh_token;      /* NULL for exchanged tokens */
    char *scope;              /* the token's scope claim, or NULL */
    int64_t exp;
    int64_t expires_in;
    char cnf_jkt[AA_JWK_THUMBPRINT_LEN + 1]; /* key the token is bound to */
    struct aa_validated_token claims;        /* validated claims of auth_token */
};

/* What to authorise: exactly one of the three (PROFILE#6.3). */
struct aa_client_auth_params {
    const char *resource_token;
    const char *scope;            /* agent is resource (F5): aud = the agent */
    const char *auth_request_url;
    const char *origin;           /* optional: origin to match requests to the grant */
};

/*
 * request_type=auth at |as_id| signed with the identity credential, then,
 * when the AS answers with a request_token, the consent flow
 * (aa_client_consent with the client's mode and user) and request_type=code.
 * The auth token is validated (aa_client_check_auth_token: expected aud =
 * the resource token's iss, or the agent id for scope/auth_request_url)
 * before the grant is stored. |*out| (optional) points to the grant.
 * Errors: those of the steps (see aa_client_token_request,
 * aa_client_consent, aa_client_check_auth_token); AA_E_INVAL when not
 * exactly one parameter is set; AA_E_CLIENT_NO_CREDENTIAL for a
 * pseudonymous client.
 */
int aa_client_authorize(struct aa_client *c, const char *as_id,
                        const struct aa_client_auth_params *ap,
                        const struct aa_client_grant **out, struct aa_diag *d) AA_WUR;

/* The consent round trip's result; owned, aa_client_consent_result_cleanup. */
struct aa_client_consent_result {
    char *url;          /* the agent_auth_endpoint URL the user was sent to */
    char *state;        /* the state sent */
    char *location;     /* the final Location (auto mode) */
    char *code;         /* NULL when denied */
    char *error;        /* "access_denied" ... from the redirect */
    char *error_description;
    char *returned_state;
    long status;        /* status of the consent POST (303 expected) */
};
void aa_client_consent_result_cleanup(struct aa_client_consent_result *r);

/*
 * The user part of PROFILE#6.4/#6.6 for |request_token|: auto mode runs
 * the scripted user (GET the page, POST login -> 303, GET the consent
 * page, POST consent=grant|deny -> 303) and reads code/state/error from
 * Location without following it; manual mode calls the prompt. |user|
 * NULL: the client's user. |redirect_uri| NULL: the client's.
 * Returns AA_OK with |out->code|; AA_E_CLIENT_DENIED (|out->error| set);
 * AA_E_CLIENT_STATE (state not echoed exactly); AA_E_CLIENT_CONSENT
 * (login refused, a status other than 200/303, Location missing or not
 * under redirect_uri, no code); AA_E_CLIENT_STATUS (400 from the AS:
 * request token unknown/used, redirect_uri mismatch); AA_E_CLIENT_INPUT.
 */
int aa_client_consent(struct aa_client *c, const char *as_id, const char *request_token,
                      const char *redirect_uri, const struct aa_client_user *user,
                      struct aa_client_consent_result *out, struct aa_diag *d) AA_WUR;

/*
 * request_type=code: redeem |code| (PROFILE#6.3 "code"), validate the auth
 * token for |expected_aud| (NULL: accept the token's aud, still checked to
 * be a string) and store the grant. Errors as aa_client_token_request
 * (400 invalid_grant for a reused code -> AA_E_CLIENT_STATUS) and
 * AA_E_CLIENT_TOKEN.
 */
int aa_client_redeem_code(struct aa_client *c, const char *as_id, const char *code,
                          const char *redirect_uri, const char *expected_aud,
                          const struct aa_client_grant **out, struct aa_diag *d) AA_WUR;

/*
 * request_type=refresh for |g| signed with the identity credential
 * (D-20); the new auth token must be bound to the CURRENT key and keep
 * aud. Updates |g| in place (a new refresh_token in the answer replaces
 * the old one). Errors as aa_client_token_request, AA_E_CLIENT_TOKEN,
 * AA_E_CLIENT_NO_CREDENTIAL (no refresh token).
 */
int aa_client_refresh(struct aa_client *c, const struct aa_client_grant *g,
                      struct aa_diag *d) AA_WUR;

/*
 * Token exchange (PROFILE#6.5): request_type=exchange&resource_token=RT2
 * with Signature-Key scheme=jwt carrying |upstream_token| (T1), signed
 * with the client's own key. The new token T2 is validated for aud = RT2's
 * iss and cnf = our key and stored as a grant without refresh token.
 */
int aa_client_exchange(struct aa_client *c, const char *as_id, const char *resource_token,
                       const char *upstream_token, const struct aa_client_grant **out,
                       struct aa_diag *d) AA_WUR;

/*
 * Validate an auth token given to this client (CL-04; PROFILE#4.5 steps
 * 1-10 from the client's side): typ auth+jwt, kid, iss == |as_id| (NULL:
 * any identifier), JWS under the issuer's JWKS (unless
 * no_token_signature_check), time claims, aud == |expected_aud| (NULL:
 * any single string), agent present unless aud is our agent id (F5),
 * cnf.jwk thumbprint == our current key. |out| optional.
 * AA_OK or AA_E_CLIENT_TOKEN with |d| naming the claim.
 */
int aa_client_check_auth_token(struct aa_client *c, const char *token, const char *as_id,
                               const char *expected_aud, struct aa_validated_token *out,
                               struct aa_diag *d) AA_WUR;

/* Grants. */
const struct aa_client_grant *aa_client_grant_find(const struct aa_client *c,
                                                   const char *resource);
/* The grant whose |origin| or |resource| is the origin of |url|. */
const struct aa_client_grant *aa_client_grant_for_url(const struct aa_client *c,
                                                      const char *url);
size_t aa_client_grant_count(const struct aa_client *c);
const struct aa_client_grant *aa_client_grant_at(const struct aa_client *c, size_t i);
void aa_client_grant_drop(struct aa_client *c, const struct aa_client_grant *g);

/* ---- resource tokens (PROFILE#6.2 POST /resource/token) ---------------------------- */

struct aa_client_resource_token {
    long status;
    char *resource_token;
    char *auth_server;
    int64_t expires_in;
    char *error;
    char *error_description;
    const struct aa_client_step *step;
};
void aa_client_resource_token_cleanup(struct aa_client_resource_token *r);

/*
 * GET {resource_id}/.well-known/aauth-resource for resource_token_endpoint,
 * then POST it (identity credential) with exactly one of |scope| /
 * |auth_request_url|. AA_OK for 200 with resource_token and auth_server
 * strings; AA_E_CLIENT_STATUS / _RESPONSE otherwise.
 */
int aa_client_resource_token_request(struct aa_client *c, const char *resource_id,
                                     const char *scope, const char *auth_request_url,
                                     struct aa_client_resource_token *out,
                                     struct aa_diag *d) AA_WUR;

/* ---- helpers -------------------------------------------------------------------- */

/*
 * Load a private key file (JWK or PEM) or, when |path| does not exist,
 * generate an Ed25519 key with |kid| and save it 0600 (|*generated| set).
 * Any other file problem is AA_E_IO; a key that is not a private Ed25519
 * key is AA_E_UNSUPPORTED. |kid| NULL: "delegate-key-1"; a loaded key
 * keeps its own kid unless it has none.
 */
int aa_client_key_load_or_generate(const char *path, const char *kid, struct aa_jwk *out,
                                   bool *generated, struct aa_diag *d) AA_WUR;

/*
 * The default manual prompt: writes the URL and instructions to |ctx|
 * (a FILE *, NULL: stderr) and reads one line from stdin.
 */
int aa_client_prompt_stdio(void *ctx, const char *url, char *line, size_t cap);

/* Decoded, UNVERIFIED claims of a compact JWT (for display and checks
 * that do not need trust, e.g. a resource token's iss). |*out| is a new
 * cJSON object (cJSON_Delete). AA_OK, jose parse codes. */
int aa_client_peek_claims(const char *jwt, cJSON **out, struct aa_diag *d) AA_WUR;

#endif
