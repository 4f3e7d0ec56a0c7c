/*
 * aa_sigkey: the Signature-Key header (AAUTH#10.1, #10.7; PROFILE#2.1, #2.3).
 *
 * The spec writes `sig1=(scheme=jwt jwt="...")`, which is not RFC 8941 (an
 * Inner List item cannot be `key=value`), so this header has its own
 * grammar (D-8) and MUST NOT go through a generic RFC 8941 parser:
 *
 *   signature-key = label "=" "(" *SP kv *( 1*SP kv ) *SP ")"
 *   label         = sf-key
 *   kv            = sf-key "=" ( sf-token / sf-string )
 *
 * Exactly one member, nothing after ")" (surrounding OWS of the field value
 * is not part of the value and is ignored), no repeated parameter name,
 * `scheme` a token, every other defined parameter an sf-string. Unknown
 * parameters are kept (they count towards the limit) and otherwise ignored.
 *
 * Two stages, because the receiver procedure reports them at different
 * steps: aa_sigkey_parse() is the grammar (PROFILE#2.1), aa_sigkey_validate()
 * the per-scheme rules (PROFILE#2.3). Both failures are 401 invalid_key,
 * except AA_E_SIGKEY_MEMBERS (two members), which is label selection
 * (PROFILE#2.2 step 2) and so 401 invalid_signature.
 *
 * The header value goes into the signature base exactly as received; the
 * serializer exists for signers, which emit the canonical form.
 */
#ifndef AA_SIGKEY_H
#define AA_SIGKEY_H

#include "../core/aa_core.h"
#include "../jwk/aa_jwk.h"

struct aa_profile;

#define AA_SIGKEY_MAX_LEN (16 * 1024) /* RB-01: one header value */
#define AA_SIGKEY_MAX_PARAMS 32       /* RB-04, the scheme parameter included */

enum aa_sigkey_scheme {
    AA_SIGKEY_NONE = 0,  /* not parsed / no scheme */
    AA_SIGKEY_HWK,       /* inline public key (pseudonymous) */
    AA_SIGKEY_JWKS,      /* Mode 2 (id) or Mode 1 (jwks URL) */
    AA_SIGKEY_JWT,       /* agent+jwt or auth+jwt carrying cnf.jwk */
    AA_SIGKEY_X509,      /* certificate chain (unsupported here) */
    AA_SIGKEY_OTHER      /* syntactically fine, unknown scheme token */
};

struct aa_sigkey_param {
    char *name;   /* owned, an sf-key */
    char *value;  /* owned, unescaped, NUL-terminated */
    size_t len;   /* bytes in |value| */
    bool token;   /* written as sf-token (false: sf-string) */
};

/*
 * A parsed or built Signature-Key member. All strings are owned; free with
 * aa_sigkey_cleanup(). Zero-initialise before a builder or parser.
 */
struct aa_sigkey {
    char *label;                    /* the member's sf-key ("sig1") */
    struct aa_sigkey_param *params; /* in received/added order, scheme included */
    size_t n;
    enum aa_sigkey_scheme scheme;   /* from the scheme parameter */
    int jwks_mode;                  /* 1 or 2 after aa_sigkey_validate, else 0 */
};

void aa_sigkey_cleanup(struct aa_sigkey *sk);

/*
 * Parse a Signature-Key field value (one field line, OWS-trimmed or not).
 * |p| may be NULL (default profile). Bounds: |len| <= AA_SIGKEY_MAX_LEN and
 * at most AA_SIGKEY_MAX_PARAMS parameters (else AA_E_LIMIT).
 * Returns AA_OK, AA_E_LIMIT, AA_E_NOMEM, or a finding:
 *   AA_E_SIGKEY_MEMBERS  a "," after ")" (two members; PROFILE#2.2 step 2)
 *   AA_E_SIGKEY_SYNTAX   any other grammar violation (no "(", no label,
 *                        garbage after ")", non-ASCII, bad sf-string ...)
 *   AA_E_SIGKEY_DUP      a parameter name repeats
 *   AA_E_SIGKEY_SCHEME   no scheme parameter, or scheme written as a string
 *                        (SK-01) or as a non-token
 *   AA_E_SIGKEY_PARAM    a defined parameter (kty, x, id, kid, jwt, ...)
 *                        written as a token instead of an sf-string
 * |d| cites PROFILE#2.1 (or PROFILE#9 for limits). On failure |out| is
 * left zeroed (nothing to free).
 */
int aa_sigkey_parse(const struct aa_profile *p, const char *in, size_t len,
                    struct aa_sigkey *out, struct aa_diag *d) AA_WUR;

/*
 * Read only the label and whether a second member follows, for label
 * selection (PROFILE#2.2) before the full grammar is reported. |label| is
 * a view into |in|. Returns AA_OK, AA_E_SIGKEY_SYNTAX (no sf-key followed
 * by "="), or AA_E_SIGKEY_MEMBERS. Does not allocate.
 */
int aa_sigkey_peek_label(const char *in, size_t len, struct aa_str *label,
                         struct aa_diag *d);

/*
 * Per-scheme validation (PROFILE#2.3). Sets sk->jwks_mode for jwks.
 *   hwk:  kty present; OKP needs crv+x, EC crv+x+y, RSA n+e; no private
 *         member (d p q dp dq qi k); OKP crv must be Ed25519 (X25519 and
 *         Ed448 are rejected: not usable for ed25519 signatures, D-12);
 *         Ed25519 x must be base64url decoding to exactly 32 bytes.
 *   jwks: exactly one of id / jwks; kid required; well-known only with id.
 *   jwt:  jwt present and non-empty (its content is checked by the
 *         token validators at step 7).
 *   x509: x5u and x5t present (resolution is unsupported: see below).
 *   other schemes: AA_E_SIGKEY_SCHEME.
 * Returns AA_OK, AA_E_SIGKEY_PARAM, AA_E_SIGKEY_SCHEME (all invalid_key).
 */
int aa_sigkey_validate(const struct aa_profile *p, struct aa_sigkey *sk,
                       struct aa_diag *d) AA_WUR;

/* Value of parameter |name| (NUL-terminated), or NULL when absent. */
const char *aa_sigkey_get(const struct aa_sigkey *sk, const char *name);

/* Scheme name for |s| in profile |p| ("hwk"...; "other"/"none"). */
const char *aa_sigkey_scheme_name(const struct aa_profile *p,
                                  enum aa_sigkey_scheme s);

/*
 * The public key carried by an hwk Signature-Key (after validation), as a
 * JWK with no kid. AA_E_SIGKEY_PARAM (invalid_key) when the material is
 * rejected. |out| owned by the caller (aa_jwk_cleanup).
 */
int aa_sigkey_hwk_key(const struct aa_profile *p, const struct aa_sigkey *sk,
                      struct aa_jwk *out, struct aa_diag *d) AA_WUR;

/* ---- builders: fill a zeroed |sk|; strings are copied. |label| NULL means
 * the profile's default label. Return AA_OK, AA_E_NOMEM or AA_E_INVAL. --- */

/* hwk from the public half of |key| (OKP crv/x, EC crv/x/y, RSA n/e). */
int aa_sigkey_init_hwk(struct aa_sigkey *sk, const struct aa_profile *p,
                       const char *label, const struct aa_jwk *key) AA_WUR;
/* jwks Mode 2: id, kid, optional well-known (NULL omits it). */
int aa_sigkey_init_jwks(struct aa_sigkey *sk, const struct aa_profile *p,
                        const char *label, const char *id, const char *kid,
                        const char *well_known) AA_WUR;
/* jwks Mode 1: a JWKS URL and kid. */
int aa_sigkey_init_jwks_uri(struct aa_sigkey *sk, const struct aa_profile *p,
                            const char *label, const char *jwks_url,
                            const char *kid) AA_WUR;
/* jwt: a compact JWS (agent+jwt or auth+jwt). */
int aa_sigkey_init_jwt(struct aa_sigkey *sk, const struct aa_profile *p,
                       const char *label, const char *token) AA_WUR;
/* x509: x5u URL and x5t (base64url SHA-256 of the DER leaf). */
int aa_sigkey_init_x509(struct aa_sigkey *sk, const struct aa_profile *p,
                        const char *label, const char *x5u, const char *x5t) AA_WUR;
/* Append any parameter (hostile vectors, unknown parameters). No checks. */
int aa_sigkey_add_param(struct aa_sigkey *sk, const char *name, const char *value,
                        bool token) AA_WUR;

/*
 * Canonical serialization (PROFILE#2.1): `label=(scheme=<token> k="v" ...)`,
 * single spaces, scheme first, then the defined parameters in the order of
 * PROFILE#2.3 (kty crv x y n e | id jwks kid well-known | jwt | x5u x5t),
 * then any other parameters in their stored order. Strings are escaped
 * per RFC8941#4.1.6 ("\\" and "\""). Appends to |out|. Returns AA_OK,
 * AA_E_NOMEM/AA_E_LIMIT (buffer), AA_E_INVAL (no label/scheme, or a value
 * with a byte outside 0x20..0x7E, which no sf-string can carry).
 */
int aa_sigkey_serialize(const struct aa_profile *p, const struct aa_sigkey *sk,
                        struct aa_buf *out);

/* Non-canonical spellings for diagnostic and hostile requests. */
#define AA_SIGKEY_SER_STORED_ORDER 0x01u   /* keep parameter order as stored */
#define AA_SIGKEY_SER_EXTRA_SPACES 0x02u   /* "( a  b )": legal but not canonical */
#define AA_SIGKEY_SER_SCHEME_STRING 0x04u  /* scheme="hwk" (SK-01) */
#define AA_SIGKEY_SER_ALL_TOKENS 0x08u     /* values that are tokens unquoted */
int aa_sigkey_serialize_ex(const struct aa_profile *p, const struct aa_sigkey *sk,
                           unsigned flags, struct aa_buf *out);

#endif
