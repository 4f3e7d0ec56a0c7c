/*
 * aa_signer: sign an HTTP request the AAuth way (PROFILE#2.4-#2.8,
 * AAUTH#10), producing the header lines to send and the signature base.
 *
 * Reference behaviour (all variant fields zero):
 *   - label from the profile ("sig1", D-11); only the `created` parameter,
 *     taken from the injected clock (D-11, PROFILE#2.6);
 *   - covered components in the signer order of PROFILE#2.4:
 *       @method @authority @path [@query] [content-type content-digest]
 *       [nonce] [extra covered headers] signature-key
 *     @query iff the target contains "?" (even "/x?"); the body pair iff
 *     body_len > 0; nonce iff a Nonce header is sent;
 *   - a body gets `Content-Digest: sha-256=:…:` unless the caller's headers
 *     already carry one (which is then covered as given); a body without a
 *     Content-Type header in |req->headers| is AA_E_SIGNER_INPUT;
 *   - Nonce: with AA_SIGN_NONCE_AUTO, a fresh one on POST only (D-10);
 *   - Signature-Key: the canonical serialization (PROFILE#2.1);
 *   - ed25519 over the RFC 9421 base; Signature a padded standard-base64
 *     Byte Sequence (PROFILE#2.7).
 *
 * Diagnostic variants (struct aa_sign_opts) change exactly one thing each,
 * for the conformance runner's negative cases (PROFILE#9 SIG-xx) and the
 * seed dialect (PROFILE#2.12 S1). A request signed with a variant is still
 * signed with the given key over the base the variant describes, so every
 * other part of it is valid.
 */
#ifndef AA_SIGNER_H
#define AA_SIGNER_H

#include "../core/aa_core.h"
#include "../http/aa_http.h"
#include "../jwk/aa_jwk.h"
#include "aa_nonce.h"
#include "aa_sigkey.h"

struct aa_profile;

/* What to sign. Either |url| (absolute http(s) URL: authority and target
 * are taken from it, aa_url_parse rules) or |authority| + |target|. When
 * both are set, |authority|/|target| override the URL's (signing for a
 * different authority, SIG-24). */
struct aa_sign_request {
    const char *method;                     /* exactly as sent: "GET" */
    const char *url;                        /* may be NULL */
    const char *authority;                  /* canonical "host[:port]" */
    const char *target;                     /* "/path[?query]" byte for byte */
    const struct aa_http_headers *headers;  /* caller's headers (Content-Type,
                                               extra covered ones); may be NULL */
    const void *body;
    size_t body_len;
};

/* The Signature-Key credential. */
struct aa_sign_cred {
    enum aa_sigkey_scheme scheme;  /* HWK, JWKS, JWT, X509 */
    /* JWKS Mode 2: id + kid (+ well_known, NULL omits it).
     * JWKS Mode 1: jwks_url + kid (id NULL). */
    const char *id;
    const char *kid;
    const char *well_known;
    const char *jwks_url;
    const char *token;       /* JWT: agent+jwt or auth+jwt */
    const char *x5u, *x5t;   /* X509 */
    /* Non-canonical spelling: this exact header value is sent and covered
     * instead of the serialized credential (the scheme fields are then
     * ignored). For SK-xx negative cases and spelling tests. */
    const char *raw_signature_key;
    unsigned sigkey_ser_flags; /* AA_SIGKEY_SER_* for the generated value */
};

enum aa_sign_nonce {
    AA_SIGN_NONCE_AUTO = 0, /* generate on POST, none otherwise (D-10) */
    AA_SIGN_NONCE_NONE,     /* never */
    AA_SIGN_NONCE_ALWAYS,   /* generate on every method */
    AA_SIGN_NONCE_GIVEN     /* send opts->nonce as is (not format-checked) */
};

/* Diagnostic variants (bit set in aa_sign_opts.variants). */
#define AA_SIGN_V_LEGACY_BASE 0x0001u     /* base without @signature-params, every
                                             line LF-terminated (seed dialect, SIG-28) */
#define AA_SIGN_V_QUERY_NO_QMARK 0x0002u  /* @query value without "?" */
#define AA_SIGN_V_SIG_B64URL 0x0004u      /* Signature :base64url-unpadded: (S1, SIG-21) */
#define AA_SIGN_V_SIG_STRING 0x0008u      /* Signature as an sf-string (SIG-22) */
#define AA_SIGN_V_SIG_TRUNCATE 0x0010u    /* drop the last signature byte: 63 bytes (SIG-22) */
#define AA_SIGN_V_SIG_FLIP_BIT 0x0020u    /* flip one bit of the signature (SIG-19) */
#define AA_SIGN_V_NO_CREATED 0x0040u      /* no created parameter (SIG-16) */
#define AA_SIGN_V_CREATED_DECIMAL 0x0080u /* created as a Decimal "1768786221.0" (SIG-16) */
#define AA_SIGN_V_CREATED_STRING 0x0100u  /* created as an sf-string (SIG-16) */
#define AA_SIGN_V_BAD_DIGEST 0x0200u      /* Content-Digest of other bytes (SIG-14) */
#define AA_SIGN_V_UNKNOWN_DIGEST 0x0400u  /* Content-Digest with only "sha-1" (SIG-14) */
#define AA_SIGN_V_TWO_MEMBERS_INPUT 0x0800u /* a second Signature-Input member (SIG-06) */
#define AA_SIGN_V_TWO_MEMBERS_SIG 0x1000u   /* a second Signature member (SIG-06) */
#define AA_SIGN_V_TWO_MEMBERS_KEY 0x2000u   /* a second Signature-Key member (SIG-06) */
#define AA_SIGN_V_DUP_LINE_INPUT 0x4000u    /* Signature-Input sent on two field lines (SIG-07) */
#define AA_SIGN_V_DUP_LINE_SIG 0x8000u      /* Signature sent twice (SIG-07) */
#define AA_SIGN_V_DUP_LINE_KEY 0x10000u     /* Signature-Key sent twice (SIG-07) */
#define AA_SIGN_V_OMIT_INPUT 0x20000u       /* do not emit Signature-Input (SIG-02) */
#define AA_SIGN_V_OMIT_SIG 0x40000u         /* do not emit Signature (SIG-03) */
#define AA_SIGN_V_OMIT_KEY 0x80000u         /* do not emit Signature-Key (SIG-04) */
#define AA_SIGN_V_UNSIGNABLE_OK 0x100000u   /* if the base cannot be built (e.g. an
                                               uppercase or ";sf" component, SIG-27), sign
                                               the Signature-Input text instead: such a
                                               request must be rejected before step 8 */

struct aa_sign_opts {
    const char *label;              /* NULL: profile default ("sig1") */
    const struct aa_clock *clock;   /* NULL: wall clock; created = now + created_offset */
    int64_t created_offset;         /* SIG-17: +-120 */
    enum aa_sign_nonce nonce_mode;
    const char *nonce;              /* AA_SIGN_NONCE_GIVEN */
    const char *const *extra_covered; /* lowercase header names, NULL-terminated;
                                         each must be present in req->headers */
    unsigned variants;              /* AA_SIGN_V_* */
    /* Labels of each header (label differences, SIG-05); NULL: |label|. */
    const char *input_label, *signature_label, *key_label;
    /* Covered list: |components| (NULL-terminated) replaces the computed list
     * entirely (order changes, duplicates, "@status", uppercase, SIG-27);
     * otherwise the computed list minus |omit| plus |append| at the end. */
    const char *const *components;
    const char *const *omit;
    const char *const *append;
    /* Per-component parameter: every covered name in |sf_components| gets ";sf". */
    const char *const *sf_components;
    bool has_expires;               /* add expires = created + expires_offset (SIG-18) */
    int64_t expires_offset;
    const char *alg;                /* add the alg parameter (SIG-23: any text) */
};

/* Everything a caller sends or records; owned, release with aa_signed_cleanup. */
struct aa_signed {
    /* Lines to add to the request, in this order: Content-Digest (if the
     * signer created it), Nonce, Signature-Input, Signature, Signature-Key.
     * Variants may repeat or drop lines. The caller's own headers (e.g.
     * Content-Type) are NOT repeated here. */
    struct aa_http_headers headers;
    char *base;                     /* signature base that was signed (cleansed on free) */
    size_t base_len;
    char *signature_input;          /* first emitted value of each header, or NULL */
    char *signature;
    char *signature_key;
    char *nonce;
    char *content_digest;
    char authority[AA_URL_AUTHORITY_MAX]; /* the @authority used */
    int64_t created;
};

void aa_signed_cleanup(struct aa_signed *s);

/* AA_SIGN_V_* bit for a variant name: the macro name without the prefix,
 * lowercase with '-' ("legacy-base", "sig-b64url", "two-members-key",
 * "unsignable-ok"); 0 when unknown. For --variant options and JSON recipes
 * (vectors/aauth/sig-cases.json). */
unsigned aa_sign_variant_from_name(const char *name);

/*
 * Sign |req| with private key |key| (Ed25519 unless |opts->alg| names
 * another algorithm of the key) under credential |cred|. |p| and |opts| may
 * be NULL. |out| is initialised by this call; on failure it is empty.
 * Returns AA_OK, AA_E_SIGNER_INPUT (bad URL/authority/target, body without
 * Content-Type, extra covered header missing, unknown scheme), AA_E_INVAL
 * (NULL arguments, key without private half), AA_E_NOMEM, or an
 * AA_E_HTTPSIG_* code from building the base (only without
 * AA_SIGN_V_UNSIGNABLE_OK).
 */
int aa_aauth_sign(const struct aa_profile *p, const struct aa_sign_request *req,
                  const struct aa_jwk *key, const struct aa_sign_cred *cred,
                  const struct aa_sign_opts *opts, struct aa_signed *out,
                  struct aa_diag *d) AA_WUR;

#endif
