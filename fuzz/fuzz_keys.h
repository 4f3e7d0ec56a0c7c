/*
 * fuzz_keys: the fixed keys and the frozen clock the fuzz targets and the
 * seed generator share, so a seed signed by seedgen verifies inside the
 * target. All public material comes from RFCs:
 *   - RFC 8032 §7.1 TEST 1 Ed25519 secret (= RFC 8037 A.1), the key of the
 *     AAuth profile examples (PROFILE#2.12) and of vectors/jose/negative.json;
 *   - RFC 7515 A.3 P-256 public key (ES256 example);
 *   - RFC 7515 A.2 RSA public key (RS256 example);
 *   - RFC 9421 B.1.3 / B.1.4 test keys (P-256, Ed25519; public halves).
 * Roles in the fuzz world: TEST 1 signs agent tokens (agent server, kid
 * key-1) and resource tokens (kid resource-key-1) and is the hwk / jwks
 * request key; TEST 2 is the delegate key bound by cnf; TEST 3 is the auth
 * server's key (kid auth-key-1).
 * Header-only (static inline) so a target includes it only when it links
 * aa_jwk.
 */
#ifndef AA_FUZZ_KEYS_H
#define AA_FUZZ_KEYS_H

#include <string.h>

#include "fuzz_common.h"
#include "jwk/aa_jwk.h"

/* Frozen "now" of every fuzz target: 39 s after the created time of the
 * profile's Example A (1768786221) and 40 s before Example B's created
 * (1768786300), so both are inside the 60 s window of PROFILE#2.6. */
#define AA_FUZZ_NOW ((int64_t)1768786260)

/* The identifiers seedgen and the targets use (dev-mode loopback, D-1). */
#define AA_FUZZ_AGENT_ID "http://127.0.0.1:8001"
#define AA_FUZZ_RESOURCE_ID "http://127.0.0.1:8002"
#define AA_FUZZ_AUTH_ID "http://127.0.0.1:8003"
#define AA_FUZZ_AGENT_KID "key-1"
#define AA_FUZZ_AUTH_KID "auth-key-1"
#define AA_FUZZ_RESOURCE_KID "resource-key-1"

static const uint8_t aa_fuzz_test1_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

/* RFC 8032 §7.1 TEST 2 secret: a second Ed25519 key (delegate keys). */
static const uint8_t aa_fuzz_test2_seed[32] = {
    0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6, 0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f,
    0x5b, 0x8a, 0x31, 0x9f, 0x35, 0xab, 0xa6, 0x24, 0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb};

/* RFC 8032 §7.1 TEST 3 secret: the auth server's key in the fuzz world. */
static const uint8_t aa_fuzz_test3_seed[32] = {
    0xc5, 0xaa, 0x8d, 0xf4, 0x3f, 0x9f, 0x83, 0x7b, 0xed, 0xb7, 0x44, 0x2f, 0x31, 0xdc, 0xb7, 0xb1,
    0x66, 0xd3, 0x85, 0x35, 0x07, 0x6f, 0x09, 0x4b, 0x85, 0xce, 0x3a, 0x2e, 0x0b, 0x44, 0x58, 0xf7};

/* RFC 9421 B.1.4 test-key-ed25519 and B.1.3 test-key-ecc-p256 (public). */
static const char aa_fuzz_rfc9421_ed25519_jwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"test-key-ed25519\","
    "\"x\":\"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs\"}";
static const char aa_fuzz_rfc9421_p256_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"test-key-ecc-p256\","
    "\"x\":\"qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA\","
    "\"y\":\"Mc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0\"}";

static const char aa_fuzz_rfc7515_ec_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static const char aa_fuzz_rfc7515_rsa_jwk[] =
    "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_"
    "wWJcyQoTbji9k0l8W26mPd"
    "dxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9w"
    "Gzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxv"
    "b3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_"
    "h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuX"
    "poQ\"}";

/* Ed25519 key from |seed| with |kid| (private half included). */
static inline void aa_fuzz_ed25519(const uint8_t seed[32], const char *kid, struct aa_jwk *out)
{
    int rc = aa_jwk_from_ed25519_seed(seed, kid, out);

    AA_FUZZ_CHECK(rc == AA_OK, "fixed Ed25519 key: %d", rc);
}

static inline void aa_fuzz_jwk_text(const char *json, struct aa_jwk *out)
{
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    rc = aa_jwk_parse(json, strlen(json), 0, out, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "fixed JWK does not parse: %s", d.msg);
}

static inline int64_t aa_fuzz_frozen_now(void *ctx)
{
    (void)ctx;
    return AA_FUZZ_NOW;
}

#endif
