/*
 * aa_verifier: the AAuth receiver procedure (PROFILE#2.11), key resolution
 * (PROFILE#2.3, #3) and the token validators (PROFILE#4.3, #4.4, #4.5).
 *
 * Every failure is reported as a struct aa_aauth_result: the internal code,
 * the PROFILE#6.8 error name and HTTP status to answer with, the step of
 * the procedure that failed ("2.11/5", "4.3/8"), and a diagnostic citing
 * the PROFILE or RFC section with a one-line message. Harness faults
 * (AA_E_NOMEM, AA_E_INVAL, AA_E_INTERNAL) come back as status 500
 * server_error and must be reported as ERROR, never as a finding.
 *
 * Steps of aa_aauth_verify (PROFILE#2.11):
 *   1  size limits (RB-01, RB-04, RB-05)        431/401 (see below)
 *   2  no signature headers at all              401 invalid_signature,
 *                                               res.no_signature = true
 *   3  label selection (PROFILE#2.2)            401 invalid_signature
 *   4  Signature-Key parameters (PROFILE#2.3)   401 invalid_key
 *   5  covered components, created/expires/alg  401 invalid_signature
 *   6  Content-Digest, Nonce format/required    401 invalid_signature
 *   7  key resolution; jwt: token validation    401 invalid_key / invalid_token
 *   8  base with the CONFIGURED authority, verify 401 invalid_signature
 *   9  replay cache (after the signature verified) 401 replay_detected
 *                                               (429 temporarily_unavailable
 *                                               when the cache is full)
 * Step 10 (endpoint authorisation, PROFILE#6) belongs to the caller, which
 * decides from struct aa_identity (scheme, level, agent, token claims).
 *
 * Fault switches: struct aa_verify_policy.faults / aa_token_policy.faults
 * disable exactly one behaviour each so the reference servers' --fault NAME
 * can prove that the conformance suite fails. Zero (the default) is the
 * conformant behaviour; nothing else turns a fault on.
 */
#ifndef AA_VERIFIER_H
#define AA_VERIFIER_H

#include <cJSON.h>

#include "../core/aa_core.h"
#include "../http/aa_discovery.h"
#include "../http/aa_http.h"
#include "../jose/aa_jose.h"
#include "../jwk/aa_jwk.h"
#include "aa_aauth.h"

/* ---- results ------------------------------------------------------------ */

struct aa_aauth_result {
    int code;           /* AA_OK or the AA_E_* that decided the outcome */
    enum aa_perr perr;  /* PROFILE#6.8 error; AA_PERR_NONE on success */
    int status;         /* HTTP status to answer; 0 on success */
    int step;           /* failing step number within |where|; 0 on success */
    char where[16];     /* "2.11/3", "4.3/8", "4.4/10", "4.5/9" */
    struct aa_diag diag; /* ref (e.g. "PROFILE#2.4", "RFC8941#3.3.5"), message */
    bool no_signature;  /* step 2: a resource answers with its challenge */
    bool dev;           /* an identifier was accepted only in dev mode (DEV label) */
    /* Diagnostics that never change the outcome (S1): set when the signature
     * failed over the RFC 9421 base but verifies over a known dialect. */
    bool dialect_found;
    char dialect[192];  /* e.g. "valid over legacy base without @signature-params
                           (seed dialect)" */
};

void aa_aauth_result_init(struct aa_aauth_result *r);
/* "2.11/3 invalid_signature (401): AAuth profile §2.2: Signature ..." */
void aa_aauth_result_format(const struct aa_aauth_result *r, char *out, size_t cap);

/* ---- fault switches (aa_verify_policy.faults, aa_token_policy.faults) --- */
#define AA_FAULT_ACCEPT_EXPIRED_TOKEN 0x0001u /* skip the JWT exp check (PROFILE#4.1) */
#define AA_FAULT_SKIP_SIGKEY_COVERAGE 0x0002u /* do not require "signature-key" covered
                                                 (PROFILE#2.4, SIG-08) */
#define AA_FAULT_IGNORE_AUD 0x0004u           /* skip every aud check (4.3/10, 4.4/8, 4.5/8) */
#define AA_FAULT_ACCEPT_ALG_NONE 0x0008u      /* a JWT with alg "none" is accepted without
                                                 signature verification (AT-02) */
#define AA_FAULT_AUTHORITY_FROM_HOST 0x0010u  /* @authority from the Host header, not the
                                                 configured authority (PROFILE#2.5) */
#define AA_FAULT_ACCEPT_LEGACY_BASE 0x0020u   /* also accept a signature over the legacy base
                                                 without @signature-params (SIG-28) */
#define AA_FAULT_SKIP_CREATED_WINDOW 0x0040u  /* created still required, window not checked
                                                 (SIG-17) */
#define AA_FAULT_SKIP_REPLAY 0x0080u          /* no replay-cache check (SIG-25) */
#define AA_FAULT_SKIP_DIGEST 0x0100u          /* Content-Digest not compared with the body
                                                 (SIG-14) */
#define AA_FAULT_SKIP_TYP 0x0200u             /* JWT typ not checked (AT-01) */
#define AA_FAULT_ALL 0x03ffu

/* Fault name <-> bit, for --fault NAME: "accept-expired-token",
 * "skip-sigkey-coverage", "ignore-aud", "accept-alg-none",
 * "authority-from-host", "accept-legacy-base", "skip-created-window",
 * "skip-replay", "skip-digest", "skip-typ". 0 when unknown. */
unsigned aa_fault_from_name(const char *name);
const char *aa_fault_name(unsigned bit); /* NULL unless exactly one known bit */

/* ---- key resolution ----------------------------------------------------- */
/*
 * How the verifier obtains keys. Each callback returns AA_OK with |out|
 * holding a public key reference (released by the verifier), or an error
 * with |d| filled; errors are mapped to invalid_key (Signature-Key) or
 * invalid_token (token issuers) and never to 5xx, except faults
 * (AA_E_NOMEM/AA_E_INTERNAL), which become 500.
 */
struct aa_key_resolver {
    /* Key |kid| of |id| through {id}/.well-known/{well_known} -> jwks_uri.
     * Must check the document's identifier member equals |id| (D-13). */
    int (*metadata_key)(void *ctx, const char *id, const char *well_known, const char *kid,
                        struct aa_jwk *out, struct aa_diag *d);
    /* Key |kid| of the JWKS at |url| (jwks Mode 1; Mode 2 without well-known). */
    int (*jwks_url_key)(void *ctx, const char *url, const char *kid, struct aa_jwk *out,
                        struct aa_diag *d);
    void *ctx;
};

/* Resolver over the discovery cache (aa_disc_key / aa_disc_jwks_url_key).
 * |disc| is borrowed and must outlive every use of |r|. */
void aa_key_resolver_disc(struct aa_key_resolver *r, struct aa_disc *disc);

/*
 * An in-memory resolver: fixed (id, well_known, kid) -> key and
 * (jwks URL, kid) -> key entries. For unit tests and in-process peers whose
 * keys are known. Keys are copied (reference). Not thread-safe while adding.
 */
struct aa_static_keys;
struct aa_static_keys *aa_static_keys_new(void);
void aa_static_keys_free(struct aa_static_keys *s);
/* |well_known| NULL: entry for Mode 2 without well-known, i.e. |id| is the
 * JWKS URL itself. */
int aa_static_keys_add(struct aa_static_keys *s, const char *id, const char *well_known,
                       const struct aa_jwk *key) AA_WUR; /* kid taken from key->kid */
int aa_static_keys_add_url(struct aa_static_keys *s, const char *jwks_url,
                           const struct aa_jwk *key) AA_WUR;
void aa_key_resolver_static(struct aa_key_resolver *r, struct aa_static_keys *s);

/* ---- validated tokens ---------------------------------------------------- */

enum aa_token_kind { AA_TOKEN_NONE = 0, AA_TOKEN_AGENT, AA_TOKEN_RESOURCE, AA_TOKEN_AUTH };

/* Owned copies; release with aa_validated_token_cleanup. */
struct aa_validated_token {
    enum aa_token_kind kind;
    char *iss, *sub, *aud_str; /* aud_str: aud when it is a single string */
    char *agent, *agent_delegate, *agent_jkt, *scope, *auth_request_url;
    int64_t exp, iat, nbf;      /* 0 when absent */
    bool has_cnf;
    struct aa_jwk cnf;          /* cnf.jwk (agent and auth tokens) */
    char cnf_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *header;              /* copies of the JOSE header and claims */
    cJSON *claims;
};
void aa_validated_token_cleanup(struct aa_validated_token *t);

enum aa_aud_mode {
    AA_AUD_RECEIVER = 0,   /* aud is |receiver| or an array containing it */
    AA_AUD_SINGLE_STRING   /* aud must be one string, any value (exchange T1,
                              PROFILE#6.5 step 2); the caller compares it */
};

struct aa_token_policy {
    const struct aa_profile *profile;  /* NULL: default */
    struct aa_clock clock;             /* zero: wall clock */
    const char *receiver;              /* this receiver's identifier (aud) */
    enum aa_aud_mode aud_mode;
    const struct aa_key_resolver *resolver; /* issuer keys (required) */
    /* auth+jwt: issuers this resource trusts (NULL-terminated). NULL or
     * empty: no auth server is trusted, every auth token fails at 4.5/4. */
    const char *const *trusted_issuers;
    bool dev_mode;                     /* http loopback issuers (D-1) */
    /* resource token (PROFILE#4.4): the requesting agent and the thumbprint
     * of the key that verified this request's signature. */
    const char *expected_agent;
    const char *expected_agent_jkt;
    /* auth token 4.5/9: this resource is configured as the agent named in
     * aud, so a missing agent claim is allowed (F5). */
    bool self_is_agent;
    unsigned faults;                   /* AA_FAULT_*; 0 = conformant */
};

/*
 * Agent token (PROFILE#4.3 steps 1-11; step 12 is the HTTP signature).
 * Failures: 401 invalid_token, res->where "4.3/<n>". On success |out| has
 * iss (agent), sub (delegate), cnf.
 */
int aa_aauth_validate_agent_token(const struct aa_token_policy *pol, const char *token,
                                  size_t len, struct aa_validated_token *out,
                                  struct aa_aauth_result *res) AA_WUR;

/*
 * Resource token (PROFILE#4.4 steps 1-12), used by the AS. Failures:
 * 400 invalid_resource_token, "4.4/<n>". Step 8 uses |receiver| (this AS),
 * step 9 |expected_agent|, step 10 |expected_agent_jkt| (both required).
 */
int aa_aauth_validate_resource_token(const struct aa_token_policy *pol, const char *token,
                                     size_t len, struct aa_validated_token *out,
                                     struct aa_aauth_result *res) AA_WUR;

/*
 * Auth token (PROFILE#4.5 steps 1-10; 11 is the HTTP signature, 12-13 are
 * the resource's scope and policy decisions). Failures: 401 invalid_token,
 * "4.5/<n>"; a JWE (five segments) fails at 4.5/2.
 */
int aa_aauth_validate_auth_token(const struct aa_token_policy *pol, const char *token,
                                 size_t len, struct aa_validated_token *out,
                                 struct aa_aauth_result *res) AA_WUR;

/* ---- the receiver --------------------------------------------------------- */

/* The request as received. Headers in order, duplicates kept, names as
 * received (compared case-insensitively). */
struct aa_verify_request {
    const char *method;
    const char *target;                    /* request target: path[?query] */
    const struct aa_http_headers *headers;
    const void *body;
    size_t body_len;
};

enum aa_auth_level {
    AA_AUTH_NONE = 0,
    AA_AUTH_PSEUDONYMOUS, /* hwk, jwks Mode 1, Mode 2 with another well-known (D-15) */
    AA_AUTH_IDENTIFIED,   /* jwks Mode 2 with aauth-agent/aauth-resource, agent+jwt */
    AA_AUTH_AUTHORIZED    /* auth+jwt */
};

/* Who signed; owned, release with aa_identity_cleanup. */
struct aa_identity {
    enum aa_sigkey_scheme scheme;
    int jwks_mode;                 /* 1 or 2 for jwks */
    enum aa_auth_level level;
    char *agent;                   /* jwks id, agent+jwt iss, auth+jwt agent (or NULL) */
    char *delegate;                /* agent+jwt sub, auth+jwt agent_delegate (or NULL) */
    char *well_known;              /* jwks Mode 2 well-known (or NULL) */
    char *jwks_url;                /* jwks Mode 1 URL (or NULL) */
    enum aa_token_kind token_kind; /* jwt scheme */
    const char *token_type;        /* profile typ string for token_kind, or NULL */
    struct aa_validated_token token; /* jwt scheme: the validated token */
    struct aa_jwk key;             /* the verifying public key */
    char thumbprint[AA_JWK_THUMBPRINT_LEN + 1]; /* RFC 7638 of |key| */
    char *label;
    char *nonce;                   /* the Nonce header, or NULL */
    int64_t created;
    char *base;                    /* signature base verified (cleansed on free) */
    size_t base_len;
    bool dev;                      /* identifier accepted only in dev mode */
};
void aa_identity_cleanup(struct aa_identity *id);

struct aa_verify_policy {
    const struct aa_profile *profile;  /* NULL: default */
    /* Configured canonical authority ("127.0.0.1:8002"), REQUIRED (D-2):
     * @authority is never taken from Host/Forwarded/X-* headers. */
    const char *authority;
    /* This receiver's identifier, for aud checks of agent/auth tokens. */
    const char *receiver;
    struct aa_clock clock;             /* zero: wall clock */
    int64_t created_skew;              /* 0: profile (60 s) */
    bool nonce_optional_on_post;       /* false: a signed POST needs a Nonce (D-10) */
    /* Replay cache, required when a Nonce can arrive: a request with a
     * Nonce and no cache is AA_E_INVAL (500), never silently unchecked. */
    struct aa_nonce_cache *replay;
    const struct aa_key_resolver *resolver; /* required unless |fixed_key| */
    const char *const *trusted_issuers;     /* auth servers trusted for auth+jwt */
    bool dev_mode;                     /* http loopback identifiers (D-1), DEV label */
    bool self_is_agent;                /* see aa_token_policy */
    bool support_x509;                 /* false: scheme=x509 -> 401 invalid_key */
    /* The key to verify with, skipping step 7 (token exchange, PROFILE#6.5
     * step 4-5: the AS found K_R1 by thumbprint and validated T1 itself).
     * Steps 1-6, 8, 9 still run; a jwt credential is NOT validated then. */
    const struct aa_jwk *fixed_key;
    unsigned faults;                   /* AA_FAULT_*; 0 = conformant */
};

/*
 * Run PROFILE#2.11 steps 1-9 on |req|. On AA_OK |id| (initialised by this
 * call) describes the signer and |res| is a success; on failure |id| is
 * empty and |res| carries code/perr/status/step/message. |res| is
 * required. The return value equals res->code.
 */
int aa_aauth_verify(const struct aa_verify_policy *pol, const struct aa_verify_request *req,
                    struct aa_identity *id, struct aa_aauth_result *res) AA_WUR;

/*
 * Diagnostic only (PROFILE#2.12 S1): with a key the caller already has,
 * tell which dialect a signature was made in. Fills res->dialect_found /
 * res->dialect; never a verification. |authority| as in the policy.
 */
int aa_aauth_diagnose(const struct aa_verify_request *req, const char *authority,
                      const struct aa_jwk *key, struct aa_aauth_result *res) AA_WUR;

#endif
