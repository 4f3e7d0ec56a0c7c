/*
 * aa_jwk: JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) <-> OpenSSL 3
 * EVP_PKEY, JWKS lookup, RFC 7638 thumbprints, PEM import/export, and the
 * raw sign/verify primitives (aa_crypto_*) that jose/ and httpsig/ share.
 *
 * Design choice: OpenSSL is confined to jwk/ and jose/. Other modules see
 * struct aa_jwk and enum aa_alg only. Keys are reference-counted EVP_PKEYs;
 * aa_jwk_copy() takes a reference, aa_jwk_cleanup() drops it.
 */
#ifndef AA_JWK_H
#define AA_JWK_H

#include <cJSON.h>

#include "../core/aa_core.h"

enum {
    AA_E_JWK_KTY = -250,          /* unknown or unsupported kty (RFC7517#4.1) */
    AA_E_JWK_CRV = -251,          /* unknown or unsupported crv */
    AA_E_JWK_MEMBER = -252,       /* required member missing or not a string */
    AA_E_JWK_LENGTH = -253,       /* key material of the wrong length */
    AA_E_JWK_PRIVATE = -254,      /* private member where a public key is expected */
    AA_E_JWK_INVALID = -255,      /* material rejected by OpenSSL (not on curve...) */
    AA_E_JWKS_DUP_KID = -256,     /* two keys with one kid (PROFILE#3, D-14) */
    AA_E_JWKS_NO_KID = -257,      /* key without kid in a JWKS */
    AA_E_JWKS_KID_UNKNOWN = -258, /* lookup found no such kid */
    AA_E_CRYPTO_BADSIG = -259,    /* signature does not verify */
    AA_E_CRYPTO_ALG = -260,       /* algorithm does not match the key type */
    AA_E_PEM = -261,              /* PEM could not be parsed */
    AA_E_JWKS_TOO_MANY = -262     /* more keys than AA_JWKS_MAX_KEYS */
};

enum aa_kty { AA_KTY_NONE = 0, AA_KTY_OKP, AA_KTY_EC, AA_KTY_RSA };

/*
 * Signature algorithms. Two registries name them (PROFILE#2.10): JOSE
 * ("EdDSA", "ES256", "RS256", "PS256") and RFC 9421 ("ed25519",
 * "ecdsa-p256-sha256", "rsa-v1_5-sha256", "rsa-pss-sha512").
 */
enum aa_alg {
    AA_ALG_NONE = 0,
    AA_ALG_ED25519, /* JOSE EdDSA (RFC8037), HTTPSig ed25519 (RFC9421#3.3.6) */
    AA_ALG_ES256,   /* JOSE ES256, HTTPSig ecdsa-p256-sha256 (raw r||s) */
    AA_ALG_RS256,   /* JOSE RS256, HTTPSig rsa-v1_5-sha256 */
    AA_ALG_PS256,   /* JOSE PS256 (salt 32) */
    AA_ALG_PS512,   /* HTTPSig rsa-pss-sha512 (salt 64, RFC9421#3.3.1) */
    AA_ALG_HS256    /* only to build hostile tokens (AT-03); never verified */
};

#define AA_JWK_KID_MAX 128
#define AA_JWK_THUMBPRINT_LEN 43    /* base64url(SHA-256), no padding */
#define AA_JWKS_MAX_KEYS 32         /* PROFILE#3 fetching limits */
#define AA_CRYPTO_SIG_MAX 1024      /* RSA-8192 */
#define AA_JWKS_MAX_LEN (64 * 1024) /* PROFILE#3: JWKS documents <= 64 KiB */
#define AA_JWK_FILE_MAX (64 * 1024) /* key files and PEM text */
#define AA_JWK_RSA_MIN_BITS 2048
#define AA_JWK_RSA_MAX_BITS 8192 /* signatures must fit AA_CRYPTO_SIG_MAX */

struct aa_jwk {
    void *pkey; /* EVP_PKEY *, owned (refcounted) */
    enum aa_kty kty;
    char crv[16]; /* "Ed25519", "P-256" or "" for RSA */
    char kid[AA_JWK_KID_MAX];
    char alg[16]; /* optional "alg" member, "" if absent */
    bool is_private;
};

/* Parse flags. */
#define AA_JWK_PUBLIC_ONLY 0x1u /* reject d/p/q/dp/dq/qi/k (PROFILE#2.3) */
#define AA_JWK_REQUIRE_KID 0x2u

/*
 * JWK object -> key. Accepted: OKP/Ed25519 (RFC8037#2), EC/P-256 and RSA
 * (RFC7518#6.2, #6.3), public or private. Checks, in this order:
 *   - AA_JWK_PUBLIC_ONLY: any of d p q dp dq qi k oth -> AA_E_JWK_PRIVATE
 *     (checked before kty so an "oct" key with "k" reads as private);
 *   - kty missing/not a string -> AA_E_JWK_MEMBER; other than OKP, EC,
 *     RSA -> AA_E_JWK_KTY;
 *   - crv other than Ed25519 (OKP) or P-256 (EC) -> AA_E_JWK_CRV;
 *   - required members missing, not strings, or not unpadded canonical
 *     base64url (aa_b64_decode URL, PAD_FORBIDDEN, STRICT_BITS)
 *     -> AA_E_JWK_MEMBER;
 *   - lengths: Ed25519 x/d 32 bytes, EC x/y/d 32 bytes, RSA n without a
 *     leading zero octet and 2048..8192 bits -> AA_E_JWK_LENGTH;
 *   - point not on P-256, d not matching the public half, e even or 1
 *     -> AA_E_JWK_INVALID;
 *   - RSA "oth" (multi-prime) -> AA_E_JWK_MEMBER; p q dp dq qi all or none;
 *   - kid, alg: strings if present (AA_E_JWK_MEMBER; kid >= AA_JWK_KID_MAX
 *     bytes -> AA_E_LIMIT); AA_JWK_REQUIRE_KID and no non-empty kid
 *     -> AA_E_JWKS_NO_KID.
 * |out| is zeroed on failure; on success free it with aa_jwk_cleanup().
 */
int aa_jwk_from_cjson(const cJSON *obj, unsigned flags, struct aa_jwk *out,
                      struct aa_diag *d) AA_WUR;
/* Same, from JSON text (strict intake: aa_json_parse, object root). */
int aa_jwk_parse(const char *json, size_t len, unsigned flags, struct aa_jwk *out,
                 struct aa_diag *d) AA_WUR;
/* Members in RFC 7638 order, then private members (only if |priv| and the
 * key has them), then kid and alg when set. */
cJSON *aa_jwk_to_cjson(const struct aa_jwk *k, bool priv);
int aa_jwk_to_json(const struct aa_jwk *k, bool priv, struct aa_buf *out);
/* Public members only, as base64url strings: x (OKP), x/y (EC), n/e (RSA). */
int aa_jwk_public_member(const struct aa_jwk *k, const char *name, struct aa_buf *out);

/* RFC 7638 thumbprint (SHA-256, base64url): |out| gets 43 chars + NUL. */
int aa_jwk_thumbprint(const struct aa_jwk *k, char out[AA_JWK_THUMBPRINT_LEN + 1]);
bool aa_jwk_same_key(const struct aa_jwk *a, const struct aa_jwk *b); /* by thumbprint (D-27) */

/* Generate a fresh key: AA_KTY_OKP (Ed25519), AA_KTY_EC (P-256), AA_KTY_RSA (2048). */
int aa_jwk_generate(enum aa_kty kty, const char *kid, struct aa_jwk *out) AA_WUR;
/* Ed25519 key from a 32-byte RFC 8032 secret (known-answer vectors). */
int aa_jwk_from_ed25519_seed(const uint8_t seed[32], const char *kid, struct aa_jwk *out) AA_WUR;

/*
 * PEM: a PKCS#8 private key ("PRIVATE KEY"; OpenSSL also reads the
 * traditional RSA/EC forms) or an SPKI public key ("PUBLIC KEY").
 * Encrypted PEM is refused (no passphrase prompt). The key must be of a
 * supported type (same checks as JWK). |kid| (may be NULL) is copied.
 * Errors: AA_E_PEM, AA_E_JWK_KTY, AA_E_JWK_CRV, AA_E_JWK_LENGTH, AA_E_LIMIT.
 */
int aa_jwk_from_pem(const char *pem, size_t len, const char *kid, struct aa_jwk *out,
                    struct aa_diag *d) AA_WUR;
/* PKCS#8 when |priv| (AA_E_INVAL if the key has no private half), else SPKI. */
int aa_jwk_to_pem(const struct aa_jwk *k, bool priv, struct aa_buf *out);

int aa_jwk_copy(struct aa_jwk *dst, const struct aa_jwk *src); /* shares the EVP_PKEY */
/* A public-only copy (drops the private half). */
int aa_jwk_public(struct aa_jwk *dst, const struct aa_jwk *src);
void aa_jwk_cleanup(struct aa_jwk *k);

/*
 * Load a key file (at most AA_JWK_FILE_MAX bytes), JWK (JSON) or PEM,
 * detected by content: first non-blank byte '{' means JWK, "-----BEGIN"
 * means PEM, anything else is AA_E_PEM. A non-NULL |kid| replaces the
 * file's kid. The file buffer is cleansed after use. An unreadable or
 * missing file is AA_E_IO (a harness fault); larger than the limit AA_E_LIMIT.
 */
int aa_jwk_load_file(const char *path, const char *kid, struct aa_jwk *out,
                     struct aa_diag *d) AA_WUR;
/*
 * Save as JWK JSON (private members when the key has them), mode 0600:
 * the file is created 0600 and chmod-ed to 0600 if it already existed.
 * Symlinks are not followed. Returns AA_OK, AA_E_IO, AA_E_INVAL, AA_E_NOMEM.
 */
int aa_jwk_save_file(const struct aa_jwk *k, const char *path);

/* ---- JWKS ------------------------------------------------------------ */
struct aa_jwks {
    struct aa_jwk *keys;
    size_t n;
    size_t skipped; /* entries ignored as not understood (see aa_jwks_parse) */
};

/*
 * {"keys":[...]} (RFC7517#5) under the profile's rules (PROFILE#3, D-14):
 * public keys only (a private member anywhere -> AA_E_JWK_PRIVATE), every
 * entry has a non-empty string kid (AA_E_JWKS_NO_KID), kids are unique
 * across all entries (AA_E_JWKS_DUP_KID), at most AA_JWKS_MAX_KEYS entries
 * (AA_E_JWKS_TOO_MANY), text at most AA_JWKS_MAX_LEN bytes (AA_E_LIMIT).
 *
 * Choice (RFC7517#5: "Implementations SHOULD ignore JWKs within a JWK Set
 * that use kty values that are not understood by them"): an entry whose
 * kty (AA_E_JWK_KTY) or crv (AA_E_JWK_CRV) this library does not implement
 * is skipped and counted in |skipped| instead of failing the whole set; it
 * still has to satisfy the kid and public-only rules above. Every other
 * defect in an entry (bad base64url, wrong length, off-curve point, short
 * RSA modulus) fails the set. Messages are prefixed "keys[i]".
 * |out| is zeroed on failure; free with aa_jwks_cleanup().
 */
int aa_jwks_parse(const char *json, size_t len, struct aa_jwks *out, struct aa_diag *d) AA_WUR;
int aa_jwks_from_cjson(const cJSON *obj, struct aa_jwks *out, struct aa_diag *d) AA_WUR;
const struct aa_jwk *aa_jwks_find(const struct aa_jwks *s, const char *kid);
const struct aa_jwk *aa_jwks_find_thumbprint(const struct aa_jwks *s, const char *jkt);
/* Copies (ref). AA_E_JWKS_DUP_KID if |k| has a kid already present,
 * AA_E_JWKS_TOO_MANY past AA_JWKS_MAX_KEYS. */
int aa_jwks_add(struct aa_jwks *s, const struct aa_jwk *k);
int aa_jwks_to_json(const struct aa_jwks *s, struct aa_buf *out); /* public only */
void aa_jwks_cleanup(struct aa_jwks *s);

/* ---- raw signatures shared by JWS and HTTP signatures ----------------- */
bool aa_alg_matches_key(enum aa_alg alg, const struct aa_jwk *k);
const char *aa_alg_jose_name(enum aa_alg alg);    /* "EdDSA" ...; NULL for NONE */
const char *aa_alg_httpsig_name(enum aa_alg alg); /* "ed25519" ...; NULL if none */
enum aa_alg aa_alg_from_jose(const char *name);   /* AA_ALG_NONE if unknown */
enum aa_alg aa_alg_from_httpsig(const char *name);
/* The algorithm a key signs with by default (Ed25519 -> ED25519, P-256 -> ES256, RSA -> PS512). */
enum aa_alg aa_alg_default_for(const struct aa_jwk *k, bool httpsig);

/*
 * Raw signatures: Ed25519 (64 bytes, RFC8032#5.1.6), ES256 as r||s 64 bytes
 * (RFC7518#3.4; converted from/to OpenSSL's DER), RS256 (PKCS#1 v1.5),
 * PS256 (PSS, SHA-256, MGF1-SHA-256, salt 32), PS512 (PSS, SHA-512,
 * MGF1-SHA-512, salt 64 as RFC9421#3.3.1 requires). HS256 is refused by
 * both calls (AA_E_CRYPTO_ALG): use aa_crypto_hmac_sha256.
 * sign: AA_E_CRYPTO_ALG (alg/key mismatch), AA_E_INVAL (no private half),
 * AA_E_LIMIT (|cap| too small), AA_E_INTERNAL.
 */
int aa_crypto_sign(enum aa_alg alg, const struct aa_jwk *k, const uint8_t *msg, size_t n,
                   uint8_t *sig, size_t cap, size_t *siglen) AA_WUR;
/* AA_OK, AA_E_CRYPTO_BADSIG or AA_E_CRYPTO_ALG. Constant outputs on failure.
 * Fails closed: a wrong signature length (ES256/Ed25519 not 64 bytes, RSA
 * not the modulus size), a PSS salt other than the one above, or any
 * OpenSSL error is AA_E_CRYPTO_BADSIG; AA_E_INVAL only for NULL arguments. */
int aa_crypto_verify(enum aa_alg alg, const struct aa_jwk *k, const uint8_t *msg, size_t n,
                     const uint8_t *sig, size_t siglen) AA_WUR;
/* HMAC-SHA256 with raw key bytes, for hostile-token construction only. */
int aa_crypto_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg, size_t n,
                          uint8_t out[32]);
void aa_sha256(const void *p, size_t n, uint8_t out[32]);
void aa_sha512(const void *p, size_t n, uint8_t out[64]);
/* Cryptographically random bytes (OpenSSL RAND_bytes), unless the
 * known-answer test stream below is switched on. */
int aa_random(uint8_t *out, size_t n) AA_WUR;

/*
 * ==== KNOWN-ANSWER VECTORS AND TESTS ONLY - NEVER IN A SERVER ====
 *
 * aa_random_set_test_stream() makes every later aa_random() call in the
 * whole process return bytes of a deterministic stream derived from
 * |seed|, so that a flow between reference pieces (auth token jti, refresh
 * tokens, codes, Nonce values, consent state) is reproducible byte for byte
 * (vectors/seed-flow, suites/unit/tools/seed_vectors_gen.c). The bytes are
 * PUBLIC and PREDICTABLE: anything "random" made while the stream is on
 * (refresh tokens, codes, nonces) is guessable by anyone who knows the seed.
 *
 * Guard: only the vector generator and unit tests call these functions.
 * No network input, no aauth-reference / aauth-delegate / aauth-conformance
 * option and no environment variable reaches them (test_seed_vectors.c
 * checks that no source under harness/ or reference/ other than this
 * module names them). Ed25519 key generation (aa_jwk_generate) does NOT
 * use the stream: vector generators pass fixed keys instead.
 *
 * Stream: a 32-byte key K = SHA-256("aauth known-answer stream v1" || 0x00
 * || seed), then block i = SHA-256(K || i as 8 bytes big-endian), i = 0,
 * 1, 2 ...; every aa_random() call takes the next ceil(n/32) whole blocks
 * and uses the first n bytes (the rest of its last block is dropped), so
 * the bytes a call gets depend only on the seed and on how many blocks
 * earlier calls took.
 *
 * Threads: the state is process-global. Blocks are reserved atomically, so
 * concurrent aa_random() calls never share bytes, but which call gets which
 * blocks then depends on scheduling: reproducibility needs the callers to
 * take turns (the vector flow is strictly request/response). Switch the
 * stream on or off only while no other thread can call aa_random().
 * |len| 0 is allowed; AA_E_INVAL for a NULL |seed| with |len| > 0.
 */
int aa_random_set_test_stream(const void *seed, size_t len) AA_WUR;
/* Back to RAND_bytes. */
void aa_random_clear_test_stream(void);
/* True while the test stream is on. */
bool aa_random_test_stream_active(void);
/* Blocks the stream has handed out since it was switched on (0 when off). */
uint64_t aa_random_test_stream_blocks(void);

const char *aa_jwk_strerror(int code);

#endif
