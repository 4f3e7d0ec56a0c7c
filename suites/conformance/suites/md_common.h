/*
 * md_common: judging the discovery documents a role publishes (PROFILE#3,
 * catalogue MD-01/MD-02 of PROFILE#9), shared by the metadata, identity,
 * neg-agent, neg-auth and neg-resource suites: media types of the
 * responses and the per-key defects of a JWK Set (RFC 7517 §5) found over
 * the raw JSON, so that each defect is named on its own.
 *
 * Design choice: md_jwks_scan() only collects findings; each suite keeps
 * its own verdict calls, texts and hints (its checks and flow lines
 * differ). md_jwks_judge() is the whole JWKS verdict of the two negative
 * suites that judge it the same way.
 */
#ifndef MD_COMMON_H
#define MD_COMMON_H

#include <stdbool.h>

#include <cJSON.h>

#include "aa_runner.h"

/* The media type of the Content-Type value |ct| (before ';', optional
 * whitespace trimmed) equals |want|, ignoring case (RFC9110#8.3.1). false
 * for a NULL |ct|. */
bool md_media_type_is(const char *ct, const char *want);
/* The same for the Content-Type of |resp| (false when absent). */
bool md_resp_media_type_is(const struct aa_http_response *resp, const char *want);

/* |u| is an absolute URL a verifier may fetch: https, or http to a
 * loopback host in dev mode only (PROFILE#1 D-1). false for NULL. */
bool md_url_usable(const char *u);

/* Wording of the findings (each suite keeps the wording of its report). */
enum {
    MD_JWKS_NAME_KID = 1u << 0, /* keys[i] (kid K) has "d"   (else keys[i] has "d") */
    MD_JWKS_REPEAT_AT = 1u << 1 /* kid "K" repeats (keys[j] and keys[i]) */
};

/* What one pass over a "keys" array found. */
struct md_jwks_scan {
    int n;              /* keys in the array */
    struct aa_buf priv; /* private members (d, p, q, dp, dq, qi, k, oth), "; "-joined */
    struct aa_buf kid;  /* keys without a non-empty kid and repeated kids, "; "-joined */
    bool ed25519;       /* some key has kty "OKP" and crv "Ed25519" (RFC8037#2) */
};

/* Scan |keys| (a JSON array; anything else counts as empty). The findings
 * are empty strings (len 0) when there are none. Always initialises |s|;
 * the caller md_jwks_scan_free()s it. */
void md_jwks_scan(const cJSON *keys, unsigned flags, struct md_jwks_scan *s);
void md_jwks_scan_free(struct md_jwks_scan *s);

/* The checks md_jwks_judge() records. */
struct md_jwks_checks {
    const struct aa_check *doc;  /* media type, {"keys":[...]}, aa_jwks_parse */
    const struct aa_check *priv; /* public keys only */
    const struct aa_check *kid;  /* every kid present and unique */
    unsigned flags;              /* MD_JWKS_* wording */
    const char *priv_hint;       /* hint of a private-member FAIL */
    /* Non-NULL: a private member is |priv|'s alone to judge, and
     * AA_E_JWK_PRIVATE from aa_jwks_parse passes |doc| with this text
     * instead of failing it as well. */
    const char *private_pass;
};

/* A fetched JWKS: JSON or JWK Set media type (a FAIL of |doc| otherwise),
 * a JSON object with a "keys" array (else |doc| FAILs and |priv|, |kid|
 * are not evaluated), then |priv| and |kid| from md_jwks_scan and |doc|
 * from the library's full validation. */
void md_jwks_judge(const struct aa_http_response *resp, const struct md_jwks_checks *c);

#endif
