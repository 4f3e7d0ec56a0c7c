/*
 * aa_profile: the dialect table. Everything that differs between AAuth
 * drafts lives behind one struct so a second dialect (e.g. the later drafts'
 * parameterised-item `Signature-Key: sig=jwt;jwt="..."` and `aa-agent+jwt`)
 * is a new table plus grammar hooks, with no change to flow code.
 *
 * Rule for every user of this module: header names, token types,
 * well-known names, metadata members, challenge spellings, default label,
 * skews, lifetimes and limits come from a `const struct aa_profile *`,
 * never from string literals in flow code.
 *
 * The only built-in profile is "aauth-2026-01" (PROTOCOL.md). Tables are
 * static and immutable; pointers to them stay valid for the program's life.
 */
#ifndef AA_PROFILE_H
#define AA_PROFILE_H

#include "../core/aa_core.h"

struct aa_profile;
struct aa_sigkey;
struct aa_challenge;

#define AA_PROFILE_DEFAULT_NAME "aauth-2026-01"

/* Header field names, in the capitalisation a sender uses. Receivers
 * compare case-insensitively (RFC 9110 §5.1). */
struct aa_profile_headers {
    const char *signature_key;   /* "Signature-Key" (AAUTH#10.1) */
    const char *signature_input; /* "Signature-Input" (RFC9421#4.1) */
    const char *signature;       /* "Signature" (RFC9421#4.2) */
    const char *agent_auth;      /* "Agent-Auth" (AAUTH#4) */
    const char *nonce;           /* "Nonce" (AAUTH#10.5) */
    const char *content_digest;  /* "Content-Digest" (RFC9530) */
    const char *content_type;    /* "Content-Type" */
    const char *www_authenticate;/* "WWW-Authenticate" (clients ignore it) */
    const char *retry_after;     /* "Retry-After" (429, PROFILE#5) */
};

/* Covered-component names (lowercase, as they appear in Signature-Input). */
struct aa_profile_components {
    const char *method;        /* "@method" */
    const char *authority;     /* "@authority" */
    const char *path;          /* "@path" */
    const char *query;         /* "@query" */
    const char *content_type;  /* "content-type" */
    const char *content_digest;/* "content-digest" */
    const char *nonce;         /* "nonce" */
    const char *signature_key; /* "signature-key" */
};

/* Signature-Key scheme names and parameter names (PROFILE#2.3). */
struct aa_profile_sigkey_names {
    const char *p_scheme;      /* "scheme" */
    const char *hwk, *jwks, *jwt, *x509; /* scheme tokens */
    const char *p_kty, *p_crv, *p_x, *p_y, *p_n, *p_e; /* hwk */
    const char *p_id, *p_kid, *p_well_known, *p_jwks;  /* jwks */
    const char *p_jwt;                                  /* jwt */
    const char *p_x5u, *p_x5t;                          /* x509 */
};

/* Agent-Auth challenge vocabulary (PROFILE#5). */
struct aa_profile_challenge_names {
    const char *scheme;           /* "httpsig" (a token) */
    const char *identity;         /* "identity" (Boolean) */
    const char *auth_token;       /* "auth-token" (bare key = true) */
    const char *resource_token;   /* "resource_token" (sf-string) */
    const char *auth_server;      /* "auth_server" (sf-string) */
    const char *user_interaction; /* "user_interaction" (sf-string) */
    const char *algs;             /* "algs" (Inner List; D-9 deviation) */
};

/* JWT "typ" values (PROFILE#4.2), short form as issuers emit them (D-28). */
struct aa_profile_typs {
    const char *agent;    /* "agent+jwt" */
    const char *resource; /* "resource+jwt" */
    const char *auth;     /* "auth+jwt" */
};

/* /.well-known/ names (PROFILE#3). */
struct aa_profile_well_known {
    const char *agent;    /* "aauth-agent" */
    const char *resource; /* "aauth-resource" */
    const char *issuer;   /* "aauth-issuer" */
};

/* Metadata member names (PROFILE#3). */
struct aa_profile_metadata {
    const char *agent, *resource, *issuer; /* self-identifier members */
    const char *jwks_uri;
    /* agent */
    const char *redirect_uris, *name, *logo_uri, *policy_uri, *tos_uri, *homepage;
    /* auth server */
    const char *agent_token_endpoint, *agent_auth_endpoint;
    const char *agent_signing_algs_supported, *request_types_supported;
    const char *scopes_supported;
    /* resource */
    const char *resource_token_endpoint, *supported_scopes, *scope_descriptions;
    const char *auth_server; /* non-standard, never relied on (D-13) */
};

/* JWT claim names used by the validators (PROFILE#4.2). */
struct aa_profile_claims {
    const char *iss, *sub, *aud, *exp, *nbf, *iat, *jti, *cnf, *cnf_jwk;
    const char *agent, *agent_jkt, *agent_delegate, *scope;
    const char *auth_request_url, *act;
};

/* Lifetimes in seconds (D-5) and skews (D-6). */
struct aa_profile_times {
    int64_t created_skew;       /* |now - created| <= 60 (PROFILE#2.6) */
    int64_t jwt_skew;           /* exp/nbf/iat leeway 60 (PROFILE#4.1) */
    int64_t nonce_retention;    /* replay entries kept created + 120 (#2.9) */
    int64_t agent_token;        /* 3600 */
    int64_t resource_token;     /* 300 */
    int64_t auth_token;         /* 3600 */
    int64_t request_token;      /* 600 */
    int64_t code;               /* 60 */
    int64_t refresh_token;      /* 86400 */
};

/* Size limits (PROFILE#9 RB, D-24; PROFILE#2.9, #3). */
struct aa_profile_limits {
    size_t header_value;    /* one header value: 16 KiB (RB-01) */
    size_t header_block;    /* all headers: 64 KiB (RB-01) */
    size_t body;            /* 1 MiB (RB-02) */
    size_t jwt;             /* 8 KiB (RB-03) */
    int json_depth;         /* 32 (RB-03) */
    size_t sigkey_params;   /* 32 Signature-Key parameters (RB-04) */
    size_t components;      /* 32 Signature-Input components (RB-04) */
    size_t nonce_min_bytes; /* 12 decoded bytes (PROFILE#2.9) */
    size_t nonce_max_chars; /* 128 characters (D-10) */
    size_t metadata_bytes;  /* 64 KiB metadata/JWKS document (PROFILE#3) */
    size_t jwks_keys;       /* 32 keys (PROFILE#3) */
    int act_depth;          /* 4 (D-22) */
};

/*
 * Grammar hooks. A dialect whose header syntax differs supplies its own
 * functions; the contracts are those of the aa_sigkey_* and
 * aa_challenge_* functions of the same name (see aa_sigkey.h,
 * aa_challenge.h), which are what the default profile points to.
 */
struct aa_profile_grammar {
    int (*sigkey_parse)(const struct aa_profile *p, const char *in, size_t len,
                        struct aa_sigkey *out, struct aa_diag *d);
    int (*sigkey_serialize)(const struct aa_profile *p, const struct aa_sigkey *sk,
                            struct aa_buf *out);
    int (*challenge_parse)(const struct aa_profile *p, const char *in, size_t len,
                           struct aa_challenge *out, struct aa_diag *d);
    int (*challenge_serialize)(const struct aa_profile *p,
                               const struct aa_challenge *ch, struct aa_buf *out);
};

struct aa_profile {
    const char *name;              /* "aauth-2026-01" */
    const char *spec_ref;          /* "AAUTH 2026-01-19" */
    const char *default_label;     /* "sig1" (D-11) */
    const char *httpsig_alg;       /* "ed25519": the RFC 9421 name (D-12) */
    const char *jose_alg;          /* "EdDSA": the JOSE name (D-12) */
    const char *digest_alg;        /* "sha-256": the Content-Digest signers emit */
    const char *default_scope;     /* "data.read data.write" (D-16) */
    const char *form_content_type; /* "application/x-www-form-urlencoded" */
    const char *json_content_type; /* "application/json" */
    struct aa_profile_headers hdr;
    struct aa_profile_components comp;
    struct aa_profile_sigkey_names sk;
    struct aa_profile_challenge_names ch;
    struct aa_profile_typs typ;
    struct aa_profile_well_known wk;
    struct aa_profile_metadata md;
    struct aa_profile_claims claim;
    struct aa_profile_times time;
    struct aa_profile_limits limit;
    struct aa_profile_grammar grammar;
};

/* The default profile ("aauth-2026-01"). Never NULL. */
const struct aa_profile *aa_profile_default(void);

/* Profile by name; NULL when unknown. NULL |name| gives the default. */
const struct aa_profile *aa_profile_find(const char *name);

/* Names of all built-in profiles, NULL-terminated (for --help / reports). */
const char *const *aa_profile_names(void);

#endif
