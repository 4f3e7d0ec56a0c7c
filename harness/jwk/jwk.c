/*
 * aa_jwk: JSON Web Keys (RFC 7517; RFC 7518 §6; RFC 8037 §2) to and from
 * OpenSSL 3 EVP_PKEY, RFC 7638 thumbprints, PEM and key files.
 *
 * Design choice: the JWK is checked member by member before OpenSSL sees
 * it (lengths, canonical base64url, private members), so each defect gets
 * its own code and a message naming the member; OpenSSL is then asked only
 * to build the key and to confirm what it alone can (point on the curve,
 * private half matching the public half).
 */
#include "aa_jwk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../b64/aa_b64.h"
#include "../json/aa_json.h"

/* aa_strerror() reaches aa_jwk_strerror() through a weak reference, which
 * does not pull jwks.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_jwk_strerror};

#define RSA_MAX_BYTES (AA_JWK_RSA_MAX_BITS / 8)

static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};

static EVP_PKEY *pk(const struct aa_jwk *k)
{
    return (EVP_PKEY *)k->pkey;
}

static void set_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- reading members ------------------------------------------------------ */

static bool has_member(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name) != NULL;
}

/*
 * Decode the base64url member |name| into |out| (capacity |cap|). A value
 * longer than |cap| bytes is AA_E_JWK_LENGTH; callers check exact lengths.
 */
static int get_b64(const cJSON *obj, const char *name, const char *ref, uint8_t *out, size_t cap,
                   size_t *outlen, struct aa_diag *d)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    struct aa_diag inner;
    int rc;

    *outlen = 0;
    if (it == NULL)
        return aa_fail(d, AA_E_JWK_MEMBER, ref, "JWK member \"%s\" is missing", name);
    if (!cJSON_IsString(it))
        return aa_fail(d, AA_E_JWK_MEMBER, ref, "JWK member \"%s\" is not a string", name);
    aa_diag_clear(&inner);
    rc = aa_b64_decode(it->valuestring, strlen(it->valuestring), AA_B64_URL, AA_B64_PAD_FORBIDDEN,
                       AA_B64_STRICT_BITS, out, cap, outlen, &inner);
    if (rc == AA_E_B64_SPACE)
        return aa_fail(d, AA_E_JWK_LENGTH, ref, "JWK member \"%s\" decodes to more than %zu bytes",
                       name, cap);
    if (rc != AA_OK)
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7515#2",
                       "JWK member \"%s\" is not unpadded base64url: %s", name, inner.msg);
    return AA_OK;
}

/* Exactly |want| bytes (Ed25519 and P-256 fields). */
static int get_fixed(const cJSON *obj, const char *name, const char *ref, uint8_t *out, size_t want,
                     const char *what, struct aa_diag *d)
{
    uint8_t tmp[64];
    size_t n;
    int rc = get_b64(obj, name, ref, tmp, sizeof(tmp), &n, d);
    if (rc == AA_E_JWK_LENGTH)
        return aa_fail(d, AA_E_JWK_LENGTH, ref,
                       "JWK member \"%s\" is longer than %zu bytes; %s is %zu bytes", name, want,
                       what, want);
    if (rc != AA_OK)
        return rc;
    if (n != want) {
        aa_cleanse(tmp, sizeof(tmp));
        return aa_fail(d, AA_E_JWK_LENGTH, ref,
                       "JWK member \"%s\" decodes to %zu bytes; %s is %zu bytes", name, n, what,
                       want);
    }
    memcpy(out, tmp, want);
    aa_cleanse(tmp, sizeof(tmp));
    return AA_OK;
}

/* ---- classifying an EVP_PKEY ----------------------------------------------- */

static bool pkey_is_private(EVP_PKEY *p)
{
    BIGNUM *bn = NULL;
    bool priv = false;

    switch (EVP_PKEY_get_base_id(p)) {
    case EVP_PKEY_ED25519: {
        uint8_t raw[32];
        size_t l = sizeof(raw);
        priv = EVP_PKEY_get_raw_private_key(p, raw, &l) == 1;
        aa_cleanse(raw, sizeof(raw));
        break;
    }
    case EVP_PKEY_EC:
        priv = EVP_PKEY_get_bn_param(p, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
        break;
    case EVP_PKEY_RSA:
        priv = EVP_PKEY_get_bn_param(p, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
        break;
    default:
        break;
    }
    BN_clear_free(bn);
    ERR_clear_error();
    return priv;
}

/*
 * Check that |p| is a supported key and fill kty/crv/is_private of |out|.
 * Takes ownership of |p| on success only.
 */
static int adopt_pkey(EVP_PKEY *p, const char *kid, struct aa_jwk *out, struct aa_diag *d)
{
    int id = EVP_PKEY_get_base_id(p);

    memset(out, 0, sizeof(*out));
    if (kid != NULL && strlen(kid) >= AA_JWK_KID_MAX)
        return aa_fail(d, AA_E_LIMIT, NULL, "kid of %zu bytes exceeds %d", strlen(kid),
                       AA_JWK_KID_MAX - 1);
    if (id == EVP_PKEY_ED25519) {
        out->kty = AA_KTY_OKP;
        set_str(out->crv, sizeof(out->crv), "Ed25519");
    } else if (id == EVP_PKEY_EC) {
        char group[64];
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           &gl) != 1) {
            ERR_clear_error();
            return aa_fail(d, AA_E_JWK_CRV, "RFC7518#6.2.1.1",
                           "EC key without a named curve is not supported");
        }
        if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)
            return aa_fail(d, AA_E_JWK_CRV, "RFC7518#6.2.1.1",
                           "EC curve \"%s\" is not supported (P-256 only)", group);
        out->kty = AA_KTY_EC;
        set_str(out->crv, sizeof(out->crv), "P-256");
    } else if (id == EVP_PKEY_RSA) {
        int bits = EVP_PKEY_get_bits(p);
        if (bits < AA_JWK_RSA_MIN_BITS || bits > AA_JWK_RSA_MAX_BITS)
            return aa_fail(d, AA_E_JWK_LENGTH, "RFC7518#3.3",
                           "RSA modulus of %d bits is outside %d..%d", bits, AA_JWK_RSA_MIN_BITS,
                           AA_JWK_RSA_MAX_BITS);
        out->kty = AA_KTY_RSA;
    } else if (id == EVP_PKEY_X25519 || id == EVP_PKEY_ED448 || id == EVP_PKEY_X448) {
        return aa_fail(d, AA_E_JWK_CRV, "RFC8037#2", "OKP curve %s is not supported (Ed25519 only)",
                       id == EVP_PKEY_X25519  ? "X25519"
                       : id == EVP_PKEY_ED448 ? "Ed448"
                                              : "X448");
    } else {
        return aa_fail(d, AA_E_JWK_KTY, "RFC7517#4.1",
                       "key type %s is not supported (Ed25519, P-256, RSA)",
                       OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown");
    }
    out->is_private = pkey_is_private(p);
    set_str(out->kid, sizeof(out->kid), kid);
    out->pkey = p;
    return AA_OK;
}

/* ---- JWK -> key -------------------------------------------------------------- */

static int okp_from_jwk(const cJSON *obj, EVP_PKEY **out, struct aa_diag *d)
{
    const char *crv = aa_json_str(obj, "crv");
    uint8_t x[32], dd[32], derived[32];
    size_t dl = sizeof(derived);
    EVP_PKEY *p = NULL;
    int rc;

    if (!has_member(obj, "crv") || crv == NULL)
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC8037#2",
                       "OKP JWK member \"crv\" is missing or not a string");
    if (strcmp(crv, "Ed25519") != 0)
        return aa_fail(d, AA_E_JWK_CRV, "RFC8037#2",
                       "OKP crv \"%s\" is not supported (Ed25519 only)", crv);
    if ((rc = get_fixed(obj, "x", "RFC8037#2", x, 32, "an Ed25519 public key (RFC8032#5.1.5)",
                        d)) != AA_OK)
        return rc;
    if (!has_member(obj, "d")) {
        p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
        if (p == NULL) {
            ERR_clear_error();
            return aa_fail(d, AA_E_JWK_INVALID, "RFC8037#2", "OpenSSL refused Ed25519 x");
        }
        *out = p;
        return AA_OK;
    }
    if ((rc = get_fixed(obj, "d", "RFC8037#2", dd, 32, "an Ed25519 private key (RFC8032#5.1.5)",
                        d)) != AA_OK)
        return rc;
    p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, dd, 32);
    aa_cleanse(dd, sizeof(dd));
    if (p == NULL) {
        ERR_clear_error();
        return aa_fail(d, AA_E_JWK_INVALID, "RFC8037#2", "OpenSSL refused Ed25519 d");
    }
    if (EVP_PKEY_get_raw_public_key(p, derived, &dl) != 1 || dl != 32 ||
        memcmp(derived, x, 32) != 0) {
        EVP_PKEY_free(p);
        ERR_clear_error();
        return aa_fail(d, AA_E_JWK_INVALID, "RFC8037#2",
                       "OKP private key \"d\" does not match public key \"x\"");
    }
    *out = p;
    return AA_OK;
}

/* Build a key from an OSSL_PARAM array; |sel| is EVP_PKEY_KEYPAIR or _PUBLIC_KEY. */
static EVP_PKEY *fromdata(const char *type, int sel, OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *p = NULL;
    if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
        if (EVP_PKEY_fromdata(ctx, &p, sel, params) != 1)
            p = NULL;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return p;
}

/* EVP_PKEY_public_check / _pairwise_check; true when the check passes. */
static bool key_check(EVP_PKEY *p, bool pairwise)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, p, NULL);
    bool ok = false;
    if (ctx != NULL)
        ok = (pairwise ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx)) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* EVP_PKEY_private_check: the private scalar alone is in range. */
static bool key_private_check(EVP_PKEY *p)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, p, NULL);
    bool ok = ctx != NULL && EVP_PKEY_private_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static int ec_from_jwk(const cJSON *obj, EVP_PKEY **out, struct aa_diag *d)
{
    const char *crv = aa_json_str(obj, "crv");
    uint8_t pub[65], dd[32];
    bool priv = has_member(obj, "d");
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    BIGNUM *bn = NULL;
    EVP_PKEY *p = NULL;
    int rc;

    if (crv == NULL)
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7518#6.2.1.1",
                       "EC JWK member \"crv\" is missing or not a string");
    if (strcmp(crv, "P-256") != 0)
        return aa_fail(d, AA_E_JWK_CRV, "RFC7518#6.2.1.1",
                       "EC crv \"%s\" is not supported (P-256 only)", crv);
    pub[0] = 0x04; /* SEC 1 uncompressed point */
    if ((rc = get_fixed(obj, "x", "RFC7518#6.2.1.2", pub + 1, 32, "a P-256 coordinate", d)) !=
        AA_OK)
        return rc;
    if ((rc = get_fixed(obj, "y", "RFC7518#6.2.1.3", pub + 33, 32, "a P-256 coordinate", d)) !=
        AA_OK)
        return rc;
    if (priv &&
        (rc = get_fixed(obj, "d", "RFC7518#6.2.2.1", dd, 32, "a P-256 private key", d)) != AA_OK)
        return rc;

    rc = aa_fail(d, AA_E_INTERNAL, NULL, "OpenSSL: cannot build EC parameters");
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)))
        goto out;
    if (priv) {
        bn = BN_secure_new();
        if (bn == NULL || BN_bin2bn(dd, 32, bn) == NULL ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn))
            goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL)
        goto out;
    p = fromdata("EC", priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
    if (p == NULL || !key_check(p, false)) {
        rc = aa_fail(d, AA_E_JWK_INVALID, "RFC7518#6.2.1",
                     "EC point (x, y) is not on the P-256 curve");
        goto out;
    }
    if (priv && !key_check(p, true)) {
        rc = aa_fail(d, AA_E_JWK_INVALID, "RFC7518#6.2.2.1",
                     "EC private key \"d\" does not match the public point (x, y)");
        goto out;
    }
    *out = p;
    p = NULL;
    rc = AA_OK;
out:
    EVP_PKEY_free(p);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bn);
    aa_cleanse(dd, sizeof(dd));
    ERR_clear_error();
    return rc;
}

/* Unsigned big-endian integer member without leading zero octets. */
static int get_uint(const cJSON *obj, const char *name, const char *ref, uint8_t *buf, size_t cap,
                    BIGNUM **out, bool secret, struct aa_diag *d)
{
    size_t n;
    int rc = get_b64(obj, name, ref, buf, cap, &n, d);
    if (rc != AA_OK)
        return rc;
    if (n == 0)
        return aa_fail(d, AA_E_JWK_LENGTH, ref, "JWK member \"%s\" is empty", name);
    /* RFC7518#6.3.1.1: "MUST utilize the minimum number of octets". */
    if (buf[0] == 0)
        return aa_fail(d, AA_E_JWK_LENGTH, ref,
                       "JWK member \"%s\" has a leading zero octet (not minimal)", name);
    *out = secret ? BN_secure_new() : BN_new();
    if (*out == NULL || BN_bin2bn(buf, (int)n, *out) == NULL) {
        aa_cleanse(buf, cap);
        return aa_fail(d, AA_E_NOMEM, NULL, "OpenSSL: out of memory");
    }
    aa_cleanse(buf, cap);
    return AA_OK;
}

static int rsa_from_jwk(const cJSON *obj, EVP_PKEY **out, struct aa_diag *d)
{
    static const char *const crt[] = {"p", "q", "dp", "dq", "qi"};
    static const char *const crt_param[] = {
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    uint8_t *buf = NULL;
    BIGNUM *n = NULL, *e = NULL, *dd = NULL, *c[5] = {NULL, NULL, NULL, NULL, NULL};
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *p = NULL;
    bool priv = has_member(obj, "d");
    size_t ncrt = 0;
    int bits, rc;

    for (size_t k = 0; k < 5; k++)
        ncrt += has_member(obj, crt[k]);
    if (has_member(obj, "oth"))
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7518#6.3.2.7",
                       "multi-prime RSA keys (\"oth\") are not supported");
    if (ncrt != 0 && (!priv || ncrt != 5))
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7518#6.3.2",
                       "RSA private key: p, q, dp, dq, qi must all be present with d, "
                       "or none (%zu of 5 present)",
                       ncrt);
    buf = OPENSSL_secure_malloc(RSA_MAX_BYTES + 1);
    if (buf == NULL)
        return aa_fail(d, AA_E_NOMEM, NULL, "out of memory");

    if ((rc = get_uint(obj, "n", "RFC7518#6.3.1.1", buf, RSA_MAX_BYTES + 1, &n, false, d)) != AA_OK)
        goto out;
    bits = BN_num_bits(n);
    if (bits < AA_JWK_RSA_MIN_BITS || bits > AA_JWK_RSA_MAX_BITS) {
        rc =
            aa_fail(d, AA_E_JWK_LENGTH, "RFC7518#3.3", "RSA modulus n of %d bits is outside %d..%d",
                    bits, AA_JWK_RSA_MIN_BITS, AA_JWK_RSA_MAX_BITS);
        goto out;
    }
    if ((rc = get_uint(obj, "e", "RFC7518#6.3.1.2", buf, 64, &e, false, d)) != AA_OK)
        goto out;
    if (!BN_is_odd(e) || BN_is_one(e) || BN_cmp(e, n) >= 0) {
        rc = aa_fail(d, AA_E_JWK_INVALID, "RFC7518#6.3.1.2",
                     "RSA public exponent e must be odd, greater than 1 and less than n");
        goto out;
    }
    if (priv) {
        if ((rc = get_uint(obj, "d", "RFC7518#6.3.2.1", buf, RSA_MAX_BYTES + 1, &dd, true, d)) !=
            AA_OK)
            goto out;
        for (size_t k = 0; k < ncrt; k++)
            if ((rc = get_uint(obj, crt[k], "RFC7518#6.3.2", buf, RSA_MAX_BYTES + 1, &c[k], true,
                               d)) != AA_OK)
                goto out;
    }

    rc = aa_fail(d, AA_E_INTERNAL, NULL, "OpenSSL: cannot build RSA parameters");
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    if (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, dd))
        goto out;
    for (size_t k = 0; k < ncrt; k++)
        if (!OSSL_PARAM_BLD_push_BN(bld, crt_param[k], c[k]))
            goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL)
        goto out;
    p = fromdata("RSA", priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
    if (p == NULL) {
        rc = aa_fail(d, AA_E_JWK_INVALID, "RFC7518#6.3", "OpenSSL refused the RSA key");
        goto out;
    }
    if (ncrt == 5 && !key_check(p, true)) {
        rc = aa_fail(d, AA_E_JWK_INVALID, "RFC7518#6.3.2",
                     "RSA private members are inconsistent with n and e");
        goto out;
    }
    *out = p;
    p = NULL;
    rc = AA_OK;
out:
    EVP_PKEY_free(p);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (size_t k = 0; k < 5; k++)
        BN_clear_free(c[k]);
    BN_clear_free(dd);
    BN_free(e);
    BN_free(n);
    OPENSSL_secure_clear_free(buf, RSA_MAX_BYTES + 1);
    ERR_clear_error();
    return rc;
}

static int read_meta(const cJSON *obj, unsigned flags, struct aa_jwk *out, struct aa_diag *d)
{
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(obj, "kid");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(obj, "alg");

    if (kid != NULL) {
        if (!cJSON_IsString(kid))
            return aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#4.5", "JWK \"kid\" is not a string");
        if (strlen(kid->valuestring) >= AA_JWK_KID_MAX)
            return aa_fail(d, AA_E_LIMIT, "RFC7517#4.5", "JWK \"kid\" of %zu bytes exceeds %d",
                           strlen(kid->valuestring), AA_JWK_KID_MAX - 1);
        set_str(out->kid, sizeof(out->kid), kid->valuestring);
    }
    if ((flags & AA_JWK_REQUIRE_KID) && out->kid[0] == '\0')
        return aa_fail(d, AA_E_JWKS_NO_KID, "PROFILE#3",
                       "JWK has no non-empty \"kid\" (D-14: every JWKS key has one)");
    if (alg != NULL) {
        if (!cJSON_IsString(alg))
            return aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#4.4", "JWK \"alg\" is not a string");
        if (strlen(alg->valuestring) >= sizeof(out->alg))
            return aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#4.4", "JWK \"alg\" \"%.32s\" is too long",
                           alg->valuestring);
        set_str(out->alg, sizeof(out->alg), alg->valuestring);
    }
    return AA_OK;
}

int aa_jwk_from_cjson(const cJSON *obj, unsigned flags, struct aa_jwk *out, struct aa_diag *d)
{
    const char *kty;
    EVP_PKEY *p = NULL;
    struct aa_jwk tmp;
    int rc;

    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwk_from_cjson: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(obj))
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#4", "JWK is not a JSON object");
    if (flags & AA_JWK_PUBLIC_ONLY)
        for (size_t k = 0; k < sizeof(private_members) / sizeof(private_members[0]); k++)
            if (has_member(obj, private_members[k]))
                return aa_fail(d, AA_E_JWK_PRIVATE, "PROFILE#2.3",
                               "JWK carries private member \"%s\" where only a public key "
                               "is allowed",
                               private_members[k]);
    if (!has_member(obj, "kty") || (kty = aa_json_str(obj, "kty")) == NULL)
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#4.1",
                       "JWK member \"kty\" is missing or not a string");
    memset(&tmp, 0, sizeof(tmp));
    if (strcmp(kty, "OKP") == 0)
        tmp.kty = AA_KTY_OKP;
    else if (strcmp(kty, "EC") == 0)
        tmp.kty = AA_KTY_EC;
    else if (strcmp(kty, "RSA") == 0)
        tmp.kty = AA_KTY_RSA;
    else
        return aa_fail(d, AA_E_JWK_KTY, "RFC7517#4.1",
                       "JWK kty \"%.32s\" is not supported (OKP, EC, RSA)", kty);
    if (tmp.kty != AA_KTY_RSA && has_member(obj, "crv") && aa_json_str(obj, "crv") != NULL) {
        /* Check crv before the key material so X25519 reads as a curve problem. */
        const char *crv = aa_json_str(obj, "crv");
        const char *want = tmp.kty == AA_KTY_OKP ? "Ed25519" : "P-256";
        if (strcmp(crv, want) != 0)
            return aa_fail(d, AA_E_JWK_CRV, tmp.kty == AA_KTY_OKP ? "RFC8037#2" : "RFC7518#6.2.1.1",
                           "%s crv \"%.32s\" is not supported (%s only)", kty, crv, want);
    }
    if ((rc = read_meta(obj, flags, &tmp, d)) != AA_OK)
        return rc;
    switch (tmp.kty) {
    case AA_KTY_OKP:
        rc = okp_from_jwk(obj, &p, d);
        break;
    case AA_KTY_EC:
        rc = ec_from_jwk(obj, &p, d);
        break;
    default:
        rc = rsa_from_jwk(obj, &p, d);
        break;
    }
    if (rc != AA_OK)
        return rc;
    tmp.pkey = p;
    tmp.is_private = has_member(obj, "d");
    set_str(tmp.crv, sizeof(tmp.crv),
            tmp.kty == AA_KTY_OKP  ? "Ed25519"
            : tmp.kty == AA_KTY_EC ? "P-256"
                                   : "");
    *out = tmp;
    return AA_OK;
}

int aa_jwk_parse(const char *json, size_t len, unsigned flags, struct aa_jwk *out,
                 struct aa_diag *d)
{
    struct aa_json_opts o = {0, AA_JWK_FILE_MAX, false};
    cJSON *root = NULL;
    int rc;

    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwk_parse: out is NULL");
    memset(out, 0, sizeof(*out));
    if ((rc = aa_json_parse(json, len, &o, &root, d)) != AA_OK)
        return rc;
    rc = aa_jwk_from_cjson(root, flags, out, d);
    cJSON_Delete(root);
    return rc;
}

/* ---- key -> members ----------------------------------------------------------- */

static int bn_b64(EVP_PKEY *p, const char *param, size_t pad, struct aa_buf *out)
{
    BIGNUM *bn = NULL;
    uint8_t *tmp = NULL;
    size_t len;
    int rc = AA_E_NOTFOUND;

    if (EVP_PKEY_get_bn_param(p, param, &bn) != 1) {
        ERR_clear_error();
        return AA_E_NOTFOUND;
    }
    len = pad ? pad : (size_t)BN_num_bytes(bn);
    if (len == 0)
        len = 1;
    tmp = OPENSSL_secure_malloc(len);
    if (tmp == NULL) {
        rc = AA_E_NOMEM;
    } else if (BN_bn2binpad(bn, tmp, (int)len) < 0) {
        rc = AA_E_INTERNAL;
    } else {
        rc = aa_b64_encode_buf(tmp, len, AA_B64_URL, false, out);
    }
    OPENSSL_secure_clear_free(tmp, len);
    BN_clear_free(bn);
    return rc;
}

/* base64url of member |name| appended to |out|; AA_E_NOTFOUND if the key lacks it. */
static int member_b64(const struct aa_jwk *k, const char *name, struct aa_buf *out)
{
    EVP_PKEY *p = pk(k);

    if (p == NULL)
        return AA_E_INVAL;
    if (k->kty == AA_KTY_OKP) {
        uint8_t raw[32];
        size_t l = sizeof(raw);
        int ok, rc;
        if (strcmp(name, "x") == 0)
            ok = EVP_PKEY_get_raw_public_key(p, raw, &l);
        else if (strcmp(name, "d") == 0)
            ok = EVP_PKEY_get_raw_private_key(p, raw, &l);
        else
            return AA_E_NOTFOUND;
        if (ok != 1 || l != 32) {
            ERR_clear_error();
            aa_cleanse(raw, sizeof(raw));
            return AA_E_NOTFOUND;
        }
        rc = aa_b64_encode_buf(raw, 32, AA_B64_URL, false, out);
        aa_cleanse(raw, sizeof(raw));
        return rc;
    }
    if (k->kty == AA_KTY_EC) {
        if (strcmp(name, "x") == 0)
            return bn_b64(p, OSSL_PKEY_PARAM_EC_PUB_X, 32, out);
        if (strcmp(name, "y") == 0)
            return bn_b64(p, OSSL_PKEY_PARAM_EC_PUB_Y, 32, out);
        if (strcmp(name, "d") == 0)
            return bn_b64(p, OSSL_PKEY_PARAM_PRIV_KEY, 32, out);
        return AA_E_NOTFOUND;
    }
    if (k->kty == AA_KTY_RSA) {
        static const struct {
            const char *jwk, *param;
        } m[] = {{"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
                 {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
                 {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
                 {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
            if (strcmp(name, m[i].jwk) == 0)
                return bn_b64(p, m[i].param, 0, out);
        return AA_E_NOTFOUND;
    }
    return AA_E_INVAL;
}

int aa_jwk_public_member(const struct aa_jwk *k, const char *name, struct aa_buf *out)
{
    if (k == NULL || name == NULL || out == NULL)
        return AA_E_INVAL;
    if ((k->kty == AA_KTY_OKP && strcmp(name, "x") == 0) ||
        (k->kty == AA_KTY_EC && (strcmp(name, "x") == 0 || strcmp(name, "y") == 0)) ||
        (k->kty == AA_KTY_RSA && (strcmp(name, "n") == 0 || strcmp(name, "e") == 0)))
        return member_b64(k, name, out);
    return AA_E_INVAL;
}

static int add_member(struct aa_buf *out, const char *name, const struct aa_jwk *k, bool first)
{
    int rc;
    aa_buf_printf(out, "%s\"%s\":\"", first ? "" : ",", name);
    if ((rc = member_b64(k, name, out)) != AA_OK)
        return rc;
    return aa_buf_addc(out, '"');
}

/*
 * The RFC 7638 members in lexicographic order (the thumbprint input when
 * |priv| and |meta| are false), then private members, then kid and alg.
 */
static int write_jwk(const struct aa_jwk *k, bool priv, bool meta, struct aa_buf *out)
{
    int rc = AA_OK;

    if (k == NULL || k->pkey == NULL || out == NULL)
        return AA_E_INVAL;
    priv = priv && k->is_private;
    aa_buf_addc(out, '{');
    switch (k->kty) {
    case AA_KTY_OKP:
        aa_buf_adds(out, "\"crv\":\"Ed25519\",\"kty\":\"OKP\"");
        rc = add_member(out, "x", k, false);
        if (rc == AA_OK && priv)
            rc = add_member(out, "d", k, false);
        break;
    case AA_KTY_EC:
        aa_buf_adds(out, "\"crv\":\"P-256\",\"kty\":\"EC\"");
        rc = add_member(out, "x", k, false);
        if (rc == AA_OK)
            rc = add_member(out, "y", k, false);
        if (rc == AA_OK && priv)
            rc = add_member(out, "d", k, false);
        break;
    case AA_KTY_RSA: {
        static const char *const crt[] = {"p", "q", "dp", "dq", "qi"};
        rc = add_member(out, "e", k, true);
        aa_buf_adds(out, ",\"kty\":\"RSA\"");
        if (rc == AA_OK)
            rc = add_member(out, "n", k, false);
        if (rc == AA_OK && priv)
            rc = add_member(out, "d", k, false);
        for (size_t i = 0; rc == AA_OK && priv && i < 5; i++) {
            size_t mark = out->len;
            rc = add_member(out, crt[i], k, false);
            if (rc == AA_E_NOTFOUND) { /* key without CRT values */
                out->len = mark;
                if (out->p)
                    out->p[mark] = '\0';
                rc = AA_OK;
                break;
            }
        }
        break;
    }
    default:
        return AA_E_INVAL;
    }
    if (rc != AA_OK)
        return rc == AA_E_NOTFOUND ? AA_E_INTERNAL : rc;
    if (meta && k->kid[0]) {
        aa_buf_adds(out, ",\"kid\":");
        aa_json_quote(out, k->kid, strlen(k->kid));
    }
    if (meta && k->alg[0]) {
        aa_buf_adds(out, ",\"alg\":");
        aa_json_quote(out, k->alg, strlen(k->alg));
    }
    return aa_buf_addc(out, '}');
}

int aa_jwk_to_json(const struct aa_jwk *k, bool priv, struct aa_buf *out)
{
    return write_jwk(k, priv, true, out);
}

cJSON *aa_jwk_to_cjson(const struct aa_jwk *k, bool priv)
{
    struct aa_buf b;
    cJSON *root = NULL;

    aa_buf_init(&b, 0);
    if (write_jwk(k, priv, true, &b) == AA_OK)
        root = cJSON_ParseWithLength(b.p, b.len);
    if (b.p)
        aa_cleanse(b.p, b.len);
    aa_buf_free(&b);
    return root;
}

int aa_jwk_thumbprint(const struct aa_jwk *k, char out[AA_JWK_THUMBPRINT_LEN + 1])
{
    struct aa_buf b;
    uint8_t h[32];
    int rc;

    if (out == NULL)
        return AA_E_INVAL;
    out[0] = '\0';
    aa_buf_init(&b, 0);
    /* RFC7638#3.2: required members only, sorted, no whitespace. */
    rc = write_jwk(k, false, false, &b);
    if (rc == AA_OK) {
        aa_sha256(b.p, b.len, h);
        rc = aa_b64_encode(h, sizeof(h), AA_B64_URL, false, out, AA_JWK_THUMBPRINT_LEN + 1, NULL);
    }
    aa_buf_free(&b);
    return rc;
}

bool aa_jwk_same_key(const struct aa_jwk *a, const struct aa_jwk *b)
{
    char ta[AA_JWK_THUMBPRINT_LEN + 1], tb[AA_JWK_THUMBPRINT_LEN + 1];
    if (a == NULL || b == NULL)
        return false;
    if (aa_jwk_thumbprint(a, ta) != AA_OK || aa_jwk_thumbprint(b, tb) != AA_OK)
        return false;
    return strcmp(ta, tb) == 0;
}

/* ---- making keys ----------------------------------------------------------------- */

int aa_jwk_generate(enum aa_kty kty, const char *kid, struct aa_jwk *out)
{
    EVP_PKEY *p = NULL;
    int rc;

    if (out == NULL)
        return AA_E_INVAL;
    memset(out, 0, sizeof(*out));
    switch (kty) {
    case AA_KTY_OKP:
        p = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    case AA_KTY_EC:
        p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case AA_KTY_RSA:
        p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)AA_JWK_RSA_MIN_BITS);
        break;
    default:
        return AA_E_INVAL;
    }
    if (p == NULL) {
        ERR_clear_error();
        return AA_E_INTERNAL;
    }
    if ((rc = adopt_pkey(p, kid, out, NULL)) != AA_OK)
        EVP_PKEY_free(p);
    return rc;
}

int aa_jwk_from_ed25519_seed(const uint8_t seed[32], const char *kid, struct aa_jwk *out)
{
    EVP_PKEY *p;
    int rc;

    if (out == NULL || seed == NULL)
        return AA_E_INVAL;
    memset(out, 0, sizeof(*out));
    p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (p == NULL) {
        ERR_clear_error();
        return AA_E_INTERNAL;
    }
    if ((rc = adopt_pkey(p, kid, out, NULL)) != AA_OK)
        EVP_PKEY_free(p);
    return rc;
}

/*
 * What rsa_from_jwk checks beyond OpenSSL's own validation, for an RSA key
 * read from PEM: two primes only (a JWK would need "oth"), and e odd,
 * greater than 1, less than n and at most 64 octets (get_uint's bound).
 */
static int pem_rsa_check(EVP_PKEY *p, struct aa_diag *d)
{
    BIGNUM *n = NULL, *e = NULL, *f3 = NULL;
    int rc = AA_OK;

    if (EVP_PKEY_get_bn_param(p, OSSL_PKEY_PARAM_RSA_FACTOR3, &f3) == 1) {
        rc = aa_fail(d, AA_E_JWK_MEMBER, "RFC7518#6.3.2.7",
                     "PEM RSA key has more than two primes: multi-prime keys (\"oth\") are not "
                     "supported");
    } else if (EVP_PKEY_get_bn_param(p, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
               EVP_PKEY_get_bn_param(p, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        rc = aa_fail(d, AA_E_JWK_INVALID, "RFC8017#3.1", "PEM RSA key without modulus or exponent");
    } else if (BN_num_bytes(e) > 64) {
        rc = aa_fail(d, AA_E_JWK_LENGTH, "RFC7518#6.3.1.2",
                     "PEM RSA public exponent e of %d octets exceeds 64", BN_num_bytes(e));
    } else if (!BN_is_odd(e) || BN_is_one(e) || BN_cmp(e, n) >= 0) {
        rc = aa_fail(d, AA_E_JWK_INVALID, "RFC8017#3.1",
                     "PEM RSA public exponent e must be odd, greater than 1 and less than n");
    }
    BN_free(f3);
    BN_free(e);
    BN_free(n);
    ERR_clear_error();
    return rc;
}

/*
 * A PEM key gets the checks a JWK gets: OpenSSL decodes PKCS#8 and SPKI
 * without asking whether the numbers fit together, so an RSA key whose n
 * is not p*q would otherwise be accepted here and refused as a JWK. Runs
 * after adopt_pkey (type, curve and modulus size are already checked).
 */
static int pem_key_check(EVP_PKEY *p, bool priv, struct aa_diag *d)
{
    int id = EVP_PKEY_get_base_id(p);
    const char *what = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC P-256" : "Ed25519";
    const char *ref_pub = id == EVP_PKEY_RSA  ? "RFC8017#3.1"
                          : id == EVP_PKEY_EC ? "RFC5480#2.2"
                                              : "RFC8410#4";
    const char *ref_priv = id == EVP_PKEY_RSA  ? "RFC8017#3.2"
                           : id == EVP_PKEY_EC ? "RFC5915#3"
                                               : "RFC8410#7";
    int rc;

    if (id == EVP_PKEY_RSA && (rc = pem_rsa_check(p, d)) != AA_OK)
        return rc;
    if (!key_check(p, false))
        return aa_fail(d, AA_E_JWK_INVALID, ref_pub, "PEM %s public key fails validation%s", what,
                       id == EVP_PKEY_EC ? " (point not on the curve)" : "");
    if (!priv)
        return AA_OK;
    if (!key_private_check(p))
        return aa_fail(d, AA_E_JWK_INVALID, ref_priv, "PEM %s private key is out of range", what);
    if (!key_check(p, true))
        return aa_fail(d, AA_E_JWK_INVALID, ref_priv,
                       "PEM %s private key is inconsistent with its public key%s", what,
                       id == EVP_PKEY_RSA ? " (n, e, d, p, q and the CRT values must agree)" : "");
    return AA_OK;
}

/* Never prompt for a passphrase: encrypted PEM is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int aa_jwk_from_pem(const char *pem, size_t len, const char *kid, struct aa_jwk *out,
                    struct aa_diag *d)
{
    BIO *bio;
    EVP_PKEY *p;
    int rc;

    if (out == NULL || (pem == NULL && len > 0))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwk_from_pem: NULL argument");
    memset(out, 0, sizeof(*out));
    if (len > AA_JWK_FILE_MAX)
        return aa_fail(d, AA_E_LIMIT, NULL, "PEM text of %zu bytes exceeds %d", len,
                       AA_JWK_FILE_MAX);
    bio = BIO_new_mem_buf(pem ? pem : "", (int)len);
    if (bio == NULL)
        return aa_fail(d, AA_E_NOMEM, NULL, "OpenSSL: out of memory");
    p = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (p == NULL) {
        ERR_clear_error();
        bio = BIO_new_mem_buf(pem ? pem : "", (int)len);
        if (bio == NULL)
            return aa_fail(d, AA_E_NOMEM, NULL, "OpenSSL: out of memory");
        p = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
    }
    ERR_clear_error();
    if (p == NULL)
        return aa_fail(d, AA_E_PEM, "RFC7468#10",
                       "no unencrypted PKCS#8 private key or SPKI public key in the PEM text");
    if ((rc = adopt_pkey(p, kid, out, d)) != AA_OK) {
        EVP_PKEY_free(p);
        return rc;
    }
    if ((rc = pem_key_check(p, out->is_private, d)) != AA_OK)
        aa_jwk_cleanup(out); /* frees p */
    return rc;
}

int aa_jwk_to_pem(const struct aa_jwk *k, bool priv, struct aa_buf *out)
{
    BIO *bio;
    BUF_MEM *mem = NULL;
    int ok, rc;

    if (k == NULL || k->pkey == NULL || out == NULL || (priv && !k->is_private))
        return AA_E_INVAL;
    /* Secure-heap BIO: the private PEM is cleansed when the BIO is freed. */
    bio = BIO_new(priv ? BIO_s_secmem() : BIO_s_mem());
    if (bio == NULL)
        return AA_E_NOMEM;
    if (priv)
        ok = PEM_write_bio_PrivateKey(bio, pk(k), NULL, NULL, 0, NULL, NULL);
    else
        ok = PEM_write_bio_PUBKEY(bio, pk(k));
    if (ok != 1 || BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL) {
        BIO_free(bio);
        ERR_clear_error();
        return AA_E_INTERNAL;
    }
    rc = aa_buf_add(out, mem->data, mem->length);
    BIO_free(bio);
    return rc;
}

int aa_jwk_copy(struct aa_jwk *dst, const struct aa_jwk *src)
{
    if (dst == NULL || src == NULL || src->pkey == NULL)
        return AA_E_INVAL;
    if (EVP_PKEY_up_ref(pk(src)) != 1)
        return AA_E_INTERNAL;
    *dst = *src;
    return AA_OK;
}

int aa_jwk_public(struct aa_jwk *dst, const struct aa_jwk *src)
{
    unsigned char *der = NULL;
    const unsigned char *q;
    EVP_PKEY *p;
    int n;

    if (dst == NULL || src == NULL || src->pkey == NULL)
        return AA_E_INVAL;
    if (!src->is_private)
        return aa_jwk_copy(dst, src);
    /* Through SPKI DER: the new key never holds the private half. */
    n = i2d_PUBKEY(pk(src), &der);
    if (n <= 0) {
        ERR_clear_error();
        return AA_E_INTERNAL;
    }
    q = der;
    p = d2i_PUBKEY(NULL, &q, n);
    OPENSSL_free(der);
    if (p == NULL) {
        ERR_clear_error();
        return AA_E_INTERNAL;
    }
    *dst = *src;
    dst->pkey = p;
    dst->is_private = false;
    return AA_OK;
}

void aa_jwk_cleanup(struct aa_jwk *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(pk(k));
    memset(k, 0, sizeof(*k));
}

/* ---- files ---------------------------------------------------------------------- */

int aa_jwk_load_file(const char *path, const char *kid, struct aa_jwk *out, struct aa_diag *d)
{
    char *text = NULL;
    size_t len = 0, i = 0;
    int rc;

    if (out == NULL || path == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwk_load_file: NULL argument");
    memset(out, 0, sizeof(*out));
    rc = aa_read_file(path, AA_JWK_FILE_MAX, &text, &len);
    /* A missing key file is a harness fault, not a finding about a peer. */
    if (rc == AA_E_NOTFOUND)
        rc = AA_E_IO;
    if (rc != AA_OK)
        return aa_fail(d, rc, NULL, "key file %s: %s", path, aa_strerror(rc));
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i < len && text[i] == '{') {
        rc = aa_jwk_parse(text, len, 0, out, d);
        if (rc == AA_OK && kid != NULL) {
            if (strlen(kid) >= AA_JWK_KID_MAX) {
                aa_jwk_cleanup(out);
                rc = aa_fail(d, AA_E_LIMIT, NULL, "kid of %zu bytes exceeds %d", strlen(kid),
                             AA_JWK_KID_MAX - 1);
            } else {
                set_str(out->kid, sizeof(out->kid), kid);
            }
        }
    } else if (len - i >= 10 && memcmp(text + i, "-----BEGIN", 10) == 0) {
        rc = aa_jwk_from_pem(text, len, kid, out, d);
    } else {
        rc = aa_fail(d, AA_E_PEM, NULL, "key file %s is neither a JSON JWK nor PEM", path);
    }
    if (rc != AA_OK)
        aa_diag_prefix(d, "key file %s", path);
    aa_cleanse(text, len);
    free(text);
    return rc;
}

int aa_jwk_save_file(const struct aa_jwk *k, const char *path)
{
    struct aa_buf b;
    int fd, rc;
    size_t off = 0;

    if (k == NULL || path == NULL)
        return AA_E_INVAL;
    aa_buf_init(&b, 0);
    if ((rc = aa_jwk_to_json(k, true, &b)) != AA_OK || (rc = aa_buf_addc(&b, '\n')) != AA_OK) {
        aa_buf_free(&b);
        return rc;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = AA_E_IO;
        goto out;
    }
    /* An existing file keeps its mode through O_CREAT; force 0600. */
    if (fchmod(fd, 0600) != 0) {
        rc = AA_E_IO;
        goto close;
    }
    while (off < b.len) {
        ssize_t w = write(fd, b.p + off, b.len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = AA_E_IO;
            goto close;
        }
        off += (size_t)w;
    }
    rc = AA_OK;
close:
    if (close(fd) != 0 && rc == AA_OK)
        rc = AA_E_IO;
out:
    aa_cleanse(b.p, b.len);
    aa_buf_free(&b);
    return rc;
}
