/*
 * ref_auth_int: private interface between the auth server's source files
 * (ref_auth.c: start, metadata, /agent/token; ref_auth_store.c: the grant
 * tables; ref_auth_ui.c: the scripted consent UI of PROFILE#6.6;
 * ref_auth_exchange.c: token exchange, PROFILE#6.5).
 *
 * Design choice: everything an auth token will say is captured once, when
 * the grant is made, in a struct auth_grant. The request-token, code and
 * refresh-token tables all store that same struct, so a consent flow, a
 * code redemption and a refresh rebuild exactly the claims the original
 * `auth` request established, and the bindings PROFILE#6.3 requires (agent,
 * delegate sub, key thumbprint, redirect_uri, aud, scope, user) are
 * compared field by field.
 */
#ifndef REF_AUTH_INT_H
#define REF_AUTH_INT_H

#include "ref_int.h"

#define AUTH_PATH_TOKEN "/agent/token" /* PROFILE#3 reference paths */
#define AUTH_PATH_AUTH "/agent/auth"

#define AUTH_SECRET_BYTES 32 /* request tokens, codes, refresh tokens: 256 bits */
#define AUTH_SECRET_LEN 43   /* base64url without padding of 32 bytes */
#define AUTH_JTI_BYTES 16
#define AUTH_TABLE_DEFAULT 4096 /* entries per table (aa_ref_auth_config.max_entries) */
#define AUTH_TABLE_MAX (1u << 20)
#define AUTH_NONCE_CAPACITY 16384
#define AUTH_SCOPE_MAX_LEN 1024 /* scope parameter / claim */
#define AUTH_SCOPE_MAX_TOKENS 64
#define AUTH_STATE_MAX_LEN 1024 /* consent `state` echoed to the client */
#define AUTH_REDIRECT_MAX_LEN 2048

/* Identity scopes (D-23): selected claims, kept out of `scope`. */
#define AUTH_IDS_OPENID 0x01u
#define AUTH_IDS_PROFILE 0x02u
#define AUTH_IDS_EMAIL 0x04u
#define AUTH_IDS_PHONE 0x08u
#define AUTH_IDS_ADDRESS 0x10u

struct auth_user {
    char *username, *password, *name, *email;
};

/* What an auth token issued from a grant says (all strings owned). */
struct auth_grant {
    char *agent;                         /* the requesting agent identifier */
    char *delegate;                      /* its delegate sub, or NULL */
    char jkt[AA_JWK_THUMBPRINT_LEN + 1]; /* thumbprint of the requesting key */
    char *cnf_json;                      /* cnf.jwk, compact JSON */
    char *aud;                           /* resource token iss, or the agent itself (F5) */
    bool agent_claim;                    /* false when aud is the agent (F5: no agent claim) */
    char *scope;                         /* non-identity scopes, NULL when none */
    unsigned id_scopes;                  /* AUTH_IDS_* */
    char *redirect_uri;                  /* NULL for refresh-token grants */
    int user;                            /* index into auth.users, -1 before sign-in */
};

void auth_grant_cleanup(struct auth_grant *g);
int auth_grant_copy(struct auth_grant *dst, const struct auth_grant *src) AA_WUR;

/* ---- bounded secret tables (ref_auth_store.c) ----------------------------------------- */

struct auth_entry {
    bool live;
    bool used;
    char secret[AUTH_SECRET_LEN + 1];
    int64_t created;
    int64_t expires;
    struct auth_grant g;
};

struct auth_table {
    pthread_mutex_t mu;
    struct auth_entry *v;
    size_t cap;
};

int auth_table_init(struct auth_table *t, size_t cap) AA_WUR;
void auth_table_cleanup(struct auth_table *t);
/*
 * Store |g| (moved in: |g| is zeroed on success) under a fresh secret,
 * valid until now + ttl. Expired entries are reclaimed first; when every
 * slot holds a live entry nothing is stored and AA_E_LIMIT is returned with
 * |*retry_after| = seconds until the earliest expiry. AA_E_NOMEM/AA_E_INTERNAL
 * when no randomness.
 */
int auth_table_put(struct auth_table *t, int64_t now, int64_t ttl, struct auth_grant *g,
                   char secret[AUTH_SECRET_LEN + 1], int64_t *retry_after) AA_WUR;
/* Lock, find |secret| (constant-time compare against every live entry;
 * entries past |expires| are still returned so callers can say "expired").
 * NULL when absent. The caller must call auth_table_unlock(). */
struct auth_entry *auth_table_find_locked(struct auth_table *t, const char *secret);
void auth_table_unlock(struct auth_table *t);
size_t auth_table_live(struct auth_table *t, int64_t now);

/* ---- server state --------------------------------------------------------------------- */

struct auth {
    bool consent; /* require_user_consent (D-19) */
    int64_t at_ttl, rq_ttl, code_ttl, rf_ttl;
    char **trusted; /* upstream issuers for exchange, NULL-terminated */
    size_t n_trusted;
    char **scopes; /* scopes_supported, NULL-terminated */
    size_t n_scopes;
    struct auth_user *users;
    size_t n_users;
    char well_known[64]; /* "/.well-known/aauth-issuer" */
    struct aa_nonce_cache *nonces;
    struct auth_table pending; /* request tokens (consent needed) */
    struct auth_table codes;   /* authorization codes */
    struct auth_table refresh; /* refresh tokens */
};

static inline struct auth *auth_of(struct aa_ref_server *s)
{
    return s->role_ctx;
}

/* ---- helpers shared by the files (ref_auth.c) ----------------------------------------- */

/* A fresh base64url secret of |nbytes| random bytes into |out| (cap >= 2*nbytes). */
int auth_random_b64(size_t nbytes, char *out, size_t cap) AA_WUR;
/* The verify policy of /agent/token (authority, receiver, replay cache,
 * discovery resolver, faults). |resolver| is caller storage. */
int auth_verify_policy(struct aa_ref_server *s, struct aa_key_resolver *resolver,
                       struct aa_verify_policy *pol, struct aa_diag *d) AA_WUR;
/* A token policy over the discovery cache with this server's clock, dev
 * mode and verifier faults. |resolver| is caller storage. */
int auth_token_policy(struct aa_ref_server *s, struct aa_key_resolver *resolver,
                      struct aa_token_policy *pol, struct aa_diag *d) AA_WUR;
/* 429 temporarily_unavailable with Retry-After (a full table). */
void auth_send_busy(struct aa_server_response *resp, const char *what, int64_t retry_after);
/* Split a scope string (RFC6749#3.3: tokens separated by single spaces).
 * Writes the set into |v| (views into |scope|), at most |cap|. AA_OK,
 * AA_E_SYNTAX (empty token, bad character), AA_E_LIMIT. Duplicates dropped. */
int auth_scope_split(const char *scope, struct aa_str *v, size_t cap, size_t *n);
bool auth_scope_has(const struct aa_str *v, size_t n, struct aa_str tok);

/*
 * Sign an auth+jwt for |g| (PROFILE#4.2): iss, sub and identity claims
 * when a user signed in, aud, agent (unless F5), agent_delegate, scope,
 * |act| (borrowed, may be NULL), cnf.jwk, iat, nbf (when |with_nbf|), exp,
 * jti. |exp_cap| > 0 caps exp. |*exp_in| gets expires_in.
 */
int auth_issue_token(struct aa_ref_server *s, const struct auth_grant *g, const char *sub,
                     const cJSON *act, bool with_nbf, int64_t exp_cap, char **out,
                     int64_t *exp_in) AA_WUR;

/*
 * Resource token validation (PROFILE#4.4) for a requesting |agent| whose
 * request was verified by the key with thumbprint |jkt|, including the
 * rt-no-sig-check fault. On failure |res| carries the 400 answer, or |d|
 * a setup fault when res->perr is AA_PERR_NONE.
 */
int auth_validate_rt(struct aa_ref_server *s, const char *agent, const char *jkt, const char *tok,
                     struct aa_validated_token *vt, struct aa_aauth_result *res,
                     struct aa_diag *d) AA_WUR;
int auth_add_str(cJSON *o, const char *name, const char *v);
int auth_add_int(cJSON *o, const char *name, int64_t v);
/* Compact JSON text of |v| (heap), NULL on failure. */
char *auth_json_text(const cJSON *v);
/* A failed auth_issue_token (AA_E_LIMIT is the client's 400, else 500). */
void auth_send_issue_error(struct aa_server_response *resp, int rc);
/* 200 {auth_token, expires_in[, refresh_token]}, no-store (D-25). */
void auth_send_tokens(struct aa_server_response *resp, const char *at, int64_t exp_in,
                      const char *refresh);
/* The Signature-Key, parsed only to choose a path (false when absent,
 * repeated or malformed: the verifier then reports why). */
bool auth_peek_sigkey(const struct aa_ref_server *s, const struct aa_server_request *req,
                      struct aa_sigkey *sk);
/* Run the receiver procedure (PROFILE#2.11) with this server's policy;
 * |fixed_key| as in aa_verify_policy. When setup fails the 500 is already
 * in |resp| and res->perr is AA_PERR_NONE. */
int auth_run_verifier(struct aa_ref_server *s, const struct aa_server_request *req,
                      struct aa_server_response *resp, const struct aa_jwk *fixed_key,
                      struct aa_identity *id, struct aa_aauth_result *res) AA_WUR;

/* ---- request types (ref_auth_exchange.c) and UI (ref_auth_ui.c) --------------- */

void auth_exchange(struct aa_ref_server *s, const struct aa_server_request *req,
                   const struct aa_form *f, struct aa_server_response *resp);
void auth_h_ui_get(struct aa_ref_server *s, const struct aa_server_request *req,
                   struct aa_server_response *resp);
void auth_h_ui_post(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp);

#endif
