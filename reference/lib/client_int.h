/*
 * client_int: private plumbing of the AAuth client (aa_client.h), shared
 * by client.c (object, credentials, exchanges, log, transcript),
 * client_meta.c (metadata/JWKS fetching, key resolver, token checks),
 * client_as.c (agent tokens, AS requests, consent, grants) and
 * client_fetch.c (the challenge loop).
 *
 * Design choice: every exchange goes through cl_exchange(), the single
 * place that signs, sends, records a step and writes the transcript, so
 * nothing the client does on the wire can escape the log.
 */
#ifndef CLIENT_INT_H
#define CLIENT_INT_H

#include "aa_client.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"

struct cl_doc {
    char *url;
    cJSON *doc;
};

struct cl_as {
    char *id;
    struct aa_client_as_meta m;
};

struct aa_client {
    const struct aa_profile *p;
    enum aa_client_identity identity;

    /* key */
    struct aa_jwk key;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    /* identity */
    char *agent_id;   /* AGENT: jwks id; DELEGATE: expected iss */
    char *agent_kid;  /* AGENT */
    char *well_known; /* AGENT */
    char *agent_server; /* DELEGATE: base URL without trailing '/' */
    char *sub;
    char *agent_token_aud;
    bool sign_delegate_request;
    char *agent_token;
    struct aa_validated_token agent_claims;
    bool has_agent_claims;

    /* behaviour */
    bool dev_mode;
    bool no_sig_check;
    char *redirect_uri_cfg;
    char *redirect_uri; /* computed, see cl_update_redirect */
    enum aa_client_consent_mode consent;
    char *username, *password;
    bool deny;
    aa_client_prompt_fn prompt;
    void *prompt_ctx;
    struct aa_clock clock;
    const struct aa_sign_opts *sign;
    int max_rounds;

    /* HTTP */
    struct aa_http_client *http;      /* resource and token requests */
    struct aa_http_client *http_meta; /* metadata/JWKS: 64 KiB cap */

    /* log */
    char *role;
    unsigned tr_flags;
    bool no_transcript;
    aa_client_step_fn on_step;
    void *on_step_ctx;
    struct aa_client_step **steps;
    size_t n_steps, cap_steps;
    size_t next_seq, dropped;
    struct aa_buf tr;

    /* grants and caches */
    struct aa_client_grant *grants[AA_CLIENT_MAX_GRANTS];
    size_t n_grants;
    struct cl_doc docs[AA_CLIENT_MAX_CACHE];
    size_t n_docs;
    struct cl_as *as[AA_CLIENT_MAX_CACHE];
    size_t n_as;
};

/* ---- one exchange ---------------------------------------------------------- */
struct cl_exchange {
    enum aa_client_step_kind kind;
    const char *what;    /* NULL: derived "METHOD /path [signed(...)]" */
    const char *role;    /* NULL: the client's */
    const char *method;
    const char *url;
    const struct aa_http_headers *headers;
    const char *content_type;
    const void *body;
    size_t body_len;
    bool meta;           /* use the 64 KiB metadata client */
    /* signing: |cred| NULL = unsigned */
    const struct aa_sign_cred *cred;
    const struct aa_jwk *key;          /* NULL: client key */
    const struct aa_sign_opts *sopts;  /* NULL: client default */
    const char *token_typ;
    unsigned http_flags;
    const char *cookie;  /* browser steps: Cookie header value, or NULL */
};

/*
 * Sign, send, record, transcribe. AA_OK when a response arrived (any
 * status); a transport code with the step recorded; signer/argument
 * errors with no step. |*out| (optional) gets the step.
 */
int cl_exchange(struct aa_client *c, const struct cl_exchange *x, struct aa_client_step **out,
                struct aa_diag *d);

/* Record a NOTE step (and a transcript line). */
void cl_note(struct aa_client *c, const char *fmt, ...) AA_PRINTF(2, 3);

/* Mark |st| failed with |rc| and |d|'s message (copied into the step). */
int cl_step_fail(struct aa_client_step *st, int rc, const struct aa_diag *d);

/*
 * Build the Signature-Key credential for |cred| (AUTO resolved to the
 * identity credential, else hwk). |token| overrides the stored token for
 * the jwt schemes; for AUTH_TOKEN without |token| the grant for |url| is
 * used. A DELEGATE without an agent token obtains one first. |*typ| gets
 * the token type the client meant (static) or NULL. |*used| gets the
 * resolved credential. Errors: AA_E_CLIENT_NO_CREDENTIAL, agent-token
 * errors.
 */
int cl_cred_build(struct aa_client *c, enum aa_client_cred cred, const char *token,
                  const char *url, struct aa_sign_cred *out, const char **typ,
                  enum aa_client_cred *used, struct aa_diag *d);
bool cl_has_identity(const struct aa_client *c);

int64_t cl_now(const struct aa_client *c);
/* https, or http on a loopback host in dev mode (CL-01). |what| names the
 * URL in the message. AA_OK, AA_E_CLIENT_INSECURE, AA_E_HTTP_URL. */
int cl_url_acceptable(const struct aa_client *c, const char *url, const char *what,
                      struct aa_diag *d);
/* The origin "scheme://authority" of |url| into |out| (heap). */
int cl_origin_of(const char *url, char **out);
/* |id| is an identifier for this client (CL-01): AA_E_CLIENT_INSECURE for
 * http that dev mode does not allow, AA_E_HTTP_IDENTIFIER otherwise. */
int cl_identifier_ok(const struct aa_client *c, const char *id, const char *what,
                     struct aa_diag *d);
void cl_update_redirect(struct aa_client *c);

/* ---- metadata, JWKS, token checks (client_meta.c) --------------------------- */
/* GET a JSON document (cached by URL unless |fresh|): 200, JSON content
 * type (|jwks| also allows application/jwk-set+json), strict object. The
 * tree stays owned by the cache. */
int cl_get_json(struct aa_client *c, enum aa_client_step_kind kind, const char *url, bool jwks,
                bool fresh, const cJSON **doc, struct aa_diag *d);
/* {id}/.well-known/{wk} with the identifier member check (D-13). */
int cl_metadata(struct aa_client *c, const char *id, const char *wk, const cJSON **doc,
                struct aa_diag *d);
/* A resolver whose fetches are recorded steps. */
void cl_resolver(struct aa_client *c, struct aa_key_resolver *r);
void cl_cache_free(struct aa_client *c);

/* ---- grants (client_as.c) ---------------------------------------------------- */
void cl_grant_free(struct aa_client_grant *g);
struct aa_client_grant *cl_grant_mut(struct aa_client *c, const struct aa_client_grant *g);

#endif
