/*
 * aa_crypto: the raw signature primitives shared by JWS (RFC 7515/7518,
 * RFC 8037) and HTTP Message Signatures (RFC 9421 §3.3), plus hashes,
 * HMAC and randomness.
 *
 * Design choice: one table maps each enum aa_alg to its key type, digest,
 * padding and PSS salt, so JOSE and RFC 9421 cannot drift apart, and
 * verification is strict about the wire form (exact signature length, exact
 * salt) and fails closed: anything that is not a clean "valid" is BADSIG.
 */
#include "aa_jwk.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

/* aa_strerror() reaches aa_jwk_strerror() through a weak reference, which
 * does not pull jwks.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_jwk_strerror};

struct alg_info {
    enum aa_alg alg;
    const char *jose;
    const char *httpsig;
    enum aa_kty kty;
    int pss_salt; /* 0: not PSS */
    bool sha512;
};

static const struct alg_info algs[] = {
    {AA_ALG_ED25519, "EdDSA", "ed25519", AA_KTY_OKP, 0, false},
    {AA_ALG_ES256, "ES256", "ecdsa-p256-sha256", AA_KTY_EC, 0, false},
    {AA_ALG_RS256, "RS256", "rsa-v1_5-sha256", AA_KTY_RSA, 0, false},
    /* RFC7518#3.5: PSS salt = hash length; RFC 9421 has no PS256 name. */
    {AA_ALG_PS256, "PS256", NULL, AA_KTY_RSA, 32, false},
    /* RFC9421#3.3.1: rsa-pss-sha512, salt 64; JOSE PS512 is the same. */
    {AA_ALG_PS512, "PS512", "rsa-pss-sha512", AA_KTY_RSA, 64, true},
    {AA_ALG_HS256, "HS256", "hmac-sha256", AA_KTY_NONE, 0, false},
};

static const struct alg_info *info(enum aa_alg a)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (algs[i].alg == a)
            return &algs[i];
    return NULL;
}

bool aa_alg_matches_key(enum aa_alg alg, const struct aa_jwk *k)
{
    const struct alg_info *ai = info(alg);
    if (ai == NULL || k == NULL || k->pkey == NULL || ai->kty == AA_KTY_NONE)
        return false;
    if (ai->kty != k->kty)
        return false;
    switch (k->kty) {
    case AA_KTY_OKP:
        return EVP_PKEY_get_base_id((EVP_PKEY *)k->pkey) == EVP_PKEY_ED25519;
    case AA_KTY_EC:
        return EVP_PKEY_get_base_id((EVP_PKEY *)k->pkey) == EVP_PKEY_EC &&
               strcmp(k->crv, "P-256") == 0;
    case AA_KTY_RSA:
        return EVP_PKEY_get_base_id((EVP_PKEY *)k->pkey) == EVP_PKEY_RSA;
    default:
        return false;
    }
}

const char *aa_alg_jose_name(enum aa_alg alg)
{
    const struct alg_info *ai = info(alg);
    return ai ? ai->jose : NULL;
}

const char *aa_alg_httpsig_name(enum aa_alg alg)
{
    const struct alg_info *ai = info(alg);
    return ai ? ai->httpsig : NULL;
}

/* Registry names are case-sensitive (RFC7515#4.1.1, RFC9421#6.2). */
enum aa_alg aa_alg_from_jose(const char *name)
{
    if (name != NULL)
        for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
            if (algs[i].jose && strcmp(algs[i].jose, name) == 0)
                return algs[i].alg;
    return AA_ALG_NONE;
}

enum aa_alg aa_alg_from_httpsig(const char *name)
{
    if (name != NULL)
        for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
            if (algs[i].httpsig && strcmp(algs[i].httpsig, name) == 0)
                return algs[i].alg;
    return AA_ALG_NONE;
}

enum aa_alg aa_alg_default_for(const struct aa_jwk *k, bool httpsig)
{
    (void)httpsig; /* PS512 is named in both registries */
    if (k == NULL)
        return AA_ALG_NONE;
    switch (k->kty) {
    case AA_KTY_OKP:
        return AA_ALG_ED25519;
    case AA_KTY_EC:
        return AA_ALG_ES256;
    case AA_KTY_RSA:
        return AA_ALG_PS512;
    default:
        return AA_ALG_NONE;
    }
}

/* DigestSign/Verify context with the padding of |ai|. */
static EVP_MD_CTX *start(const struct alg_info *ai, EVP_PKEY *p, bool sign)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    const EVP_MD *md = ai->kty == AA_KTY_OKP ? NULL : ai->sha512 ? EVP_sha512() : EVP_sha256();
    int ok;

    if (m == NULL)
        return NULL;
    ok = sign ? EVP_DigestSignInit(m, &pc, md, NULL, p) : EVP_DigestVerifyInit(m, &pc, md, NULL, p);
    if (ok == 1 && ai->kty == AA_KTY_RSA) {
        if (ai->pss_salt) {
            ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) == 1 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, ai->pss_salt) == 1;
        } else {
            ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1;
        }
    }
    if (ok != 1) {
        EVP_MD_CTX_free(m);
        return NULL;
    }
    return m;
}

int aa_crypto_sign(enum aa_alg alg, const struct aa_jwk *k, const uint8_t *msg, size_t n,
                   uint8_t *sig, size_t cap, size_t *siglen)
{
    const struct alg_info *ai = info(alg);
    static const uint8_t empty[1] = {0};
    EVP_MD_CTX *m = NULL;
    uint8_t *tmp = NULL;
    size_t tl = 0;
    int rc = AA_E_INTERNAL;

    if (siglen)
        *siglen = 0;
    if (k == NULL || sig == NULL || siglen == NULL || (msg == NULL && n > 0))
        return AA_E_INVAL;
    if (ai == NULL || ai->kty == AA_KTY_NONE || !aa_alg_matches_key(alg, k))
        return AA_E_CRYPTO_ALG;
    if (!k->is_private)
        return AA_E_INVAL;
    if (msg == NULL)
        msg = empty;
    m = start(ai, (EVP_PKEY *)k->pkey, true);
    if (m == NULL)
        goto out;
    if (EVP_DigestSign(m, NULL, &tl, msg, n) != 1 || tl == 0)
        goto out;
    tmp = malloc(tl);
    if (tmp == NULL) {
        rc = AA_E_NOMEM;
        goto out;
    }
    if (EVP_DigestSign(m, tmp, &tl, msg, n) != 1)
        goto out;
    if (alg == AA_ALG_ES256) {
        /* RFC7518#3.4: R and S as 32-byte big-endian integers, concatenated. */
        const unsigned char *q = tmp;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)tl);
        const BIGNUM *r, *s;
        if (es == NULL)
            goto out;
        if (cap < 64) {
            ECDSA_SIG_free(es);
            rc = AA_E_LIMIT;
            goto out;
        }
        ECDSA_SIG_get0(es, &r, &s);
        if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) {
            ECDSA_SIG_free(es);
            goto out;
        }
        ECDSA_SIG_free(es);
        *siglen = 64;
    } else {
        if (tl > cap) {
            rc = AA_E_LIMIT;
            goto out;
        }
        memcpy(sig, tmp, tl);
        *siglen = tl;
    }
    rc = AA_OK;
out:
    free(tmp);
    EVP_MD_CTX_free(m);
    ERR_clear_error();
    return rc;
}

int aa_crypto_verify(enum aa_alg alg, const struct aa_jwk *k, const uint8_t *msg, size_t n,
                     const uint8_t *sig, size_t siglen)
{
    const struct alg_info *ai = info(alg);
    static const uint8_t empty[1] = {0};
    EVP_MD_CTX *m = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    const uint8_t *vsig = sig;
    size_t vlen = siglen;
    int rc = AA_E_CRYPTO_BADSIG;

    if (k == NULL || (msg == NULL && n > 0) || (sig == NULL && siglen > 0))
        return AA_E_INVAL;
    if (ai == NULL || ai->kty == AA_KTY_NONE || !aa_alg_matches_key(alg, k))
        return AA_E_CRYPTO_ALG;
    if (msg == NULL)
        msg = empty;
    switch (ai->kty) {
    case AA_KTY_OKP:
        if (siglen != 64)
            return AA_E_CRYPTO_BADSIG;
        break;
    case AA_KTY_EC: {
        int dl;
        if (siglen != 64)
            return AA_E_CRYPTO_BADSIG;
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, 32, NULL);
        s = BN_bin2bn(sig + 32, 32, NULL);
        if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            goto out;
        }
        /* es owns r and s now. */
        dl = i2d_ECDSA_SIG(es, &der);
        if (dl <= 0)
            goto out;
        vsig = der;
        vlen = (size_t)dl;
        break;
    }
    default:
        /* RFC8017#8.1.2/#8.2.2: the signature is exactly k octets long. */
        if (siglen != (size_t)EVP_PKEY_get_size((EVP_PKEY *)k->pkey))
            return AA_E_CRYPTO_BADSIG;
        break;
    }
    m = start(ai, (EVP_PKEY *)k->pkey, false);
    if (m == NULL)
        goto out;
    if (EVP_DigestVerify(m, vsig ? vsig : empty, vlen, msg, n) == 1)
        rc = AA_OK;
out:
    EVP_MD_CTX_free(m);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return rc;
}

int aa_crypto_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg, size_t n,
                          uint8_t out[32])
{
    static const uint8_t empty[1] = {0};
    unsigned int ol = 0;

    if (out == NULL || (key == NULL && klen > 0) || (msg == NULL && n > 0) || klen > INT_MAX)
        return AA_E_INVAL;
    if (HMAC(EVP_sha256(), key ? key : empty, (int)klen, msg ? msg : empty, n, out, &ol) == NULL ||
        ol != 32) {
        ERR_clear_error();
        return AA_E_INTERNAL;
    }
    return AA_OK;
}

void aa_sha256(const void *p, size_t n, uint8_t out[32])
{
    static const uint8_t empty[1] = {0};
    SHA256(p ? p : empty, p ? n : 0, out);
}

void aa_sha512(const void *p, size_t n, uint8_t out[64])
{
    static const uint8_t empty[1] = {0};
    SHA512(p ? p : empty, p ? n : 0, out);
}

/* ---- known-answer test stream (see aa_jwk.h: tests and vectors only) ---- */

static uint8_t stream_key[32];
static bool stream_on;      /* atomic */
static uint64_t stream_ctr; /* atomic: next block index */

int aa_random_set_test_stream(const void *seed, size_t len)
{
    static const char domain[] = "aauth known-answer stream v1";
    EVP_MD_CTX *m;
    unsigned int kl = 0;
    int ok;

    if (seed == NULL && len > 0)
        return AA_E_INVAL;
    if ((m = EVP_MD_CTX_new()) == NULL)
        return AA_E_NOMEM;
    /* sizeof(domain) includes the NUL: the 0x00 separator of the spec. */
    ok = EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(m, domain, sizeof(domain)) == 1 &&
         (len == 0 || EVP_DigestUpdate(m, seed, len) == 1) &&
         EVP_DigestFinal_ex(m, stream_key, &kl) == 1 && kl == sizeof(stream_key);
    EVP_MD_CTX_free(m);
    if (!ok) {
        ERR_clear_error();
        return AA_E_INTERNAL;
    }
    __atomic_store_n(&stream_ctr, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&stream_on, true, __ATOMIC_RELEASE);
    return AA_OK;
}

void aa_random_clear_test_stream(void)
{
    __atomic_store_n(&stream_on, false, __ATOMIC_RELEASE);
    __atomic_store_n(&stream_ctr, 0, __ATOMIC_RELEASE);
    aa_cleanse(stream_key, sizeof(stream_key));
}

bool aa_random_test_stream_active(void)
{
    return __atomic_load_n(&stream_on, __ATOMIC_ACQUIRE);
}

uint64_t aa_random_test_stream_blocks(void)
{
    return aa_random_test_stream_active() ? __atomic_load_n(&stream_ctr, __ATOMIC_ACQUIRE) : 0;
}

static void stream_fill(uint8_t *out, size_t n)
{
    uint64_t blocks = (uint64_t)(n / 32 + (n % 32 != 0));
    uint64_t i = __atomic_fetch_add(&stream_ctr, blocks, __ATOMIC_ACQ_REL);

    while (n > 0) {
        uint8_t in[40], blk[32];
        size_t take = n < 32 ? n : 32;

        memcpy(in, stream_key, 32);
        for (int b = 0; b < 8; b++)
            in[32 + b] = (uint8_t)(i >> (56 - 8 * b));
        SHA256(in, sizeof(in), blk);
        memcpy(out, blk, take);
        out += take;
        n -= take;
        i++;
    }
}

int aa_random(uint8_t *out, size_t n)
{
    if (out == NULL && n > 0)
        return AA_E_INVAL;
    if (n > 0 && __atomic_load_n(&stream_on, __ATOMIC_ACQUIRE)) {
        stream_fill(out, n);
        return AA_OK;
    }
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(out, chunk) != 1) {
            ERR_clear_error();
            return AA_E_INTERNAL;
        }
        out += chunk;
        n -= (size_t)chunk;
    }
    return AA_OK;
}
