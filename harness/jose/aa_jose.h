/*
 * aa_jose: JWS compact serialization (RFC 7515 §7.1) and JWT claim checks
 * (RFC 7519) for the AAuth token types (PROFILE#4).
 *
 * Design choice: parsing, signature verification and claim checks are
 * separate calls so a verifier can run the validation steps of PROFILE#4.3
 * - #4.5 in order and report which step failed. A builder with deliberate
 * mutations produces the malformed tokens the negative suites need.
 */
#ifndef AA_JOSE_H
#define AA_JOSE_H

#include <cJSON.h>

#include "../core/aa_core.h"
#include "../jwk/aa_jwk.h"

enum {
    AA_E_JWS_FORMAT = -300,     /* not three base64url segments (RFC7515#7.1) */
    AA_E_JWS_B64 = -301,        /* segment not unpadded base64url */
    AA_E_JWS_JSON = -302,       /* header/payload not a JSON object */
    AA_E_JWS_ALG_NONE = -303,   /* alg "none" (RFC7518#3.6) */
    AA_E_JWS_ALG = -304,        /* unknown alg, HS*, or alg/key mismatch */
    AA_E_JWS_SIGNATURE = -305,  /* signature invalid */
    AA_E_JWS_TOO_LARGE = -306,  /* token > AA_JWT_MAX_LEN (PROFILE#4.1) */
    AA_E_JWS_CRIT = -307,       /* crit header present (PROFILE#4.1) */
    AA_E_JWS_KID = -308,        /* kid missing or not a string */
    AA_E_JWT_TYP = -310,        /* typ missing or wrong */
    AA_E_JWT_EXPIRED = -311,    /* now >= exp + skew */
    AA_E_JWT_NBF = -312,        /* nbf > now + skew */
    AA_E_JWT_IAT = -313,        /* iat > now + skew */
    AA_E_JWT_ISS = -314,        /* iss missing or wrong */
    AA_E_JWT_AUD = -315,        /* aud missing or excludes the receiver */
    AA_E_JWT_CLAIM = -316,      /* required claim missing or of the wrong type */
    AA_E_JWT_CNF = -317,        /* cnf.jwk missing or invalid */
    AA_E_JWT_SUB = -318,        /* sub missing or wrong */
    AA_E_JWE_UNSUPPORTED = -319 /* five segments: JWE is out of scope (PROFILE#4.5) */
};

#define AA_JWT_MAX_LEN 8192 /* PROFILE#4.1, RB-03 */

struct aa_jwt {
    cJSON *header;       /* owned */
    cJSON *claims;       /* owned; NULL after aa_jws_parse(AA_JWS_RAW_PAYLOAD) */
    char *signing_input; /* "b64(header).b64(payload)", owned */
    size_t signing_input_len;
    uint8_t sig[AA_CRYPTO_SIG_MAX];
    size_t sig_len;
    enum aa_alg alg;      /* AA_ALG_NONE when "none" or unknown */
    const char *alg_name; /* points into header */
    const char *typ;      /* points into header, NULL if absent */
    const char *kid;      /* points into header, NULL if absent */
    uint8_t *payload;     /* decoded payload bytes, owned (NUL-terminated) */
    size_t payload_len;
};

/*
 * Parse a compact JWS: size limit, 3 segments, strict base64url, header and
 * payload strict JSON objects (aa_json_parse: no duplicate members, depth
 * <= 32), crit rejected. Does NOT verify the signature. |out| is zeroed on
 * failure. Free with aa_jwt_cleanup.
 *
 * Checks and codes, in order:
 *   len > AA_JWT_MAX_LEN                          AA_E_JWS_TOO_LARGE
 *   five segments (JWE)                           AA_E_JWE_UNSUPPORTED
 *   not exactly three segments                    AA_E_JWS_FORMAT
 *   header: not unpadded canonical base64url      AA_E_JWS_B64
 *   header: bad JSON / not an object              AA_E_JWS_JSON
 *   header: duplicate member, depth > 32, bad     AA_E_JSON_DUPLICATE,
 *     UTF-8, over-long number (passed through)     AA_E_JSON_DEPTH, ...
 *   "crit" present                                AA_E_JWS_CRIT
 *   alg missing or not a string                   AA_E_JWS_ALG
 *   alg "none" (any case)                         AA_E_JWS_ALG_NONE
 *   alg HS*, or not one of EdDSA ES256 RS256      AA_E_JWS_ALG
 *     PS256 PS512
 *   typ / kid present but not strings             AA_E_JWT_TYP / AA_E_JWS_KID
 *   payload: as for the header                    AA_E_JWS_B64, AA_E_JWS_JSON...
 *   signature: not base64url                      AA_E_JWS_B64
 *   signature longer than AA_CRYPTO_SIG_MAX       AA_E_LIMIT
 */
int aa_jwt_parse(const char *token, size_t len, struct aa_jwt *out, struct aa_diag *d) AA_WUR;

/* aa_jws_parse flag: the payload is opaque bytes, not a JWT claims set. */
#define AA_JWS_RAW_PAYLOAD 0x1u
/*
 * aa_jwt_parse() with |flags|. With AA_JWS_RAW_PAYLOAD the payload is only
 * base64url-decoded into t->payload and t->claims stays NULL (for JWS
 * known-answer vectors such as RFC 8037 A.4 whose payload is plain text).
 */
int aa_jws_parse(const char *token, size_t len, unsigned flags, struct aa_jwt *out,
                 struct aa_diag *d) AA_WUR;
void aa_jwt_cleanup(struct aa_jwt *t);

/* Verify the JWS signature with |key|: rejects none (AA_E_JWS_ALG_NONE),
 * HS* and alg/key mismatch (AA_E_JWS_ALG), bad signature (AA_E_JWS_SIGNATURE,
 * RFC7515#5.2). Faults pass through (AA_E_INVAL, AA_E_INTERNAL). */
int aa_jwt_verify(const struct aa_jwt *t, const struct aa_jwk *key, struct aa_diag *d) AA_WUR;

/* The header's kid is present and a non-empty string (PROFILE#4.1):
 * AA_OK or AA_E_JWS_KID. */
int aa_jwt_require_kid(const struct aa_jwt *t, struct aa_diag *d);

/* typ compare: case-insensitive, optional "application/" prefix (D-28). */
int aa_jwt_check_typ(const struct aa_jwt *t, const char *expected, struct aa_diag *d);

/* Time checks (PROFILE#4.1): reject now >= exp + skew, nbf > now + skew,
 * iat > now + skew. Flags choose which claims are required. Codes:
 * AA_E_JWT_EXPIRED, AA_E_JWT_NBF, AA_E_JWT_IAT; a required claim missing,
 * or a time claim that is not an integer within +-2^53 (PROFILE#4.1:
 * issuers emit integer times) -> AA_E_JWT_CLAIM; skew < 0 -> AA_E_INVAL. */
#define AA_JWT_REQUIRE_EXP 0x1u
#define AA_JWT_REQUIRE_IAT 0x2u
#define AA_JWT_REQUIRE_NBF 0x4u
int aa_jwt_check_time(const struct aa_jwt *t, int64_t now, int64_t skew, unsigned flags,
                      struct aa_diag *d);
int aa_jwt_check_iss(const struct aa_jwt *t, const char *expected, struct aa_diag *d);
/* aud is a string equal to |receiver| or an array containing it. */
int aa_jwt_check_aud(const struct aa_jwt *t, const char *receiver, bool required,
                     struct aa_diag *d);
/* Required string claim, non-empty. Code AA_E_JWT_SUB for "sub",
 * AA_E_JWT_ISS for "iss", AA_E_JWT_CLAIM for any other claim. */
int aa_jwt_require_str(const struct aa_jwt *t, const char *name, struct aa_diag *d);
/* cnf.jwk as a public key (PUBLIC_ONLY); |out| owned by caller.
 * cnf or cnf.jwk missing or not objects -> AA_E_JWT_CNF (RFC7800#3.2);
 * a defective key keeps its aa_jwk code (AA_E_JWK_PRIVATE for "d",
 * AA_E_JWK_CRV, AA_E_JWK_LENGTH...) with the message prefixed "cnf.jwk". */
int aa_jwt_cnf_jwk(const struct aa_jwt *t, struct aa_jwk *out, struct aa_diag *d) AA_WUR;

const char *aa_jwt_claim_str(const struct aa_jwt *t, const char *name);
bool aa_jwt_claim_int(const struct aa_jwt *t, const char *name, int64_t *out);

/* ---- building ----------------------------------------------------------- */
/* Deliberate defects for negative tests (combine with |). */
#define AA_JWT_MUT_ALG_NONE 0x01u /* header alg "none", empty signature */
#define AA_JWT_MUT_BAD_SIG 0x02u  /* flip one signature bit */
#define AA_JWT_MUT_TWO_SEGS 0x04u /* drop the signature segment and its dot */
#define AA_JWT_MUT_BAD_B64 0x08u  /* put a '+' into the payload segment */
#define AA_JWT_MUT_PADDED 0x10u   /* base64 padding on segments */
#define AA_JWT_MUT_HS256 0x20u    /* alg HS256 keyed with |hmac_key| */
#define AA_JWT_MUT_PAYLOAD 0x40u  /* sign, then swap in another payload */
/*
 * Details: ALG_NONE gives "h.p." (RFC7519#6.1 form); BAD_SIG flips the low
 * bit of the first signature byte; BAD_B64 replaces the middle character of
 * the payload segment with '+'; PADDED appends '=' to every segment whose
 * length is not a multiple of 4 and signs over the padded header.payload,
 * so only the padding is wrong (AA_E_INVAL if no segment needed padding);
 * PAYLOAD signs |claims| and then ships |swap_claims|. With ALG_NONE or
 * HS256 |key| may be NULL.
 */

struct aa_jwt_build_opts {
    unsigned mutations;
    const uint8_t *hmac_key; /* AA_JWT_MUT_HS256 */
    size_t hmac_key_len;
    const cJSON *swap_claims; /* AA_JWT_MUT_PAYLOAD */
};

/*
 * Sign |header| and |claims| (serialized compactly in member order) with
 * |key|. The header's "alg" is set from |alg| unless a mutation overrides it.
 * |*out| is a heap string the caller frees.
 */
int aa_jwt_sign(const cJSON *header, const cJSON *claims, enum aa_alg alg, const struct aa_jwk *key,
                const struct aa_jwt_build_opts *opts, char **out) AA_WUR;

/*
 * Compact JWS over exact bytes: |header_json| is encoded as given (no "alg"
 * is added) and |payload| may be any bytes. For known-answer vectors whose
 * header text must match byte for byte (RFC 8037 A.4). |*out| is heap.
 */
int aa_jws_sign_raw(const char *header_json, size_t hlen, const uint8_t *payload, size_t plen,
                    enum aa_alg alg, const struct aa_jwk *key, char **out) AA_WUR;

const char *aa_jose_strerror(int code);

#endif
