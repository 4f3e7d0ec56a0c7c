/*
 * JWK/JWKS <-> EVP_PKEY, RFC 7638 thumbprints, PEM, key files and the raw
 * signature primitives (RFC 8032 §7.1, RFC 8037 App. A, RFC 7638 §3.1,
 * RFC 7515 App. A.2/A.3, RFC 4231).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "b64/aa_b64.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"

#include "helpers/aa_test_util.h"

/* ---- helpers --------------------------------------------------------------- */

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = strlen(h) / 2;
    cr_assert(n <= cap, "hex too long");
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void tohex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = '\0';
}

static const struct aa_test_code vector_codes[] = {
    {"AA_OK", AA_OK},
    {"AA_E_LIMIT", AA_E_LIMIT},
    {"AA_E_JSON_TYPE", AA_E_JSON_TYPE},
    {"AA_E_JWK_KTY", AA_E_JWK_KTY},
    {"AA_E_JWK_CRV", AA_E_JWK_CRV},
    {"AA_E_JWK_MEMBER", AA_E_JWK_MEMBER},
    {"AA_E_JWK_LENGTH", AA_E_JWK_LENGTH},
    {"AA_E_JWK_PRIVATE", AA_E_JWK_PRIVATE},
    {"AA_E_JWK_INVALID", AA_E_JWK_INVALID},
    {"AA_E_JWKS_DUP_KID", AA_E_JWKS_DUP_KID},
    {"AA_E_JWKS_NO_KID", AA_E_JWKS_NO_KID},
    {"AA_E_JWKS_TOO_MANY", AA_E_JWKS_TOO_MANY},
};

static int code_of(const char *name)
{
    return aa_test_code_of(vector_codes, sizeof(vector_codes) / sizeof(vector_codes[0]), name);
}

static void jwk_from(const cJSON *obj, unsigned flags, struct aa_jwk *k)
{
    struct aa_diag d;
    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_from_cjson(obj, flags, k, &d), AA_OK, "%s", d.msg);
}

static int jparse(const char *s, unsigned flags, struct aa_jwk *k, struct aa_diag *d)
{
    return aa_jwk_parse(s, strlen(s), flags, k, d);
}

static void parse_str(const char *json, unsigned flags, struct aa_jwk *k)
{
    struct aa_diag d;
    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_parse(json, strlen(json), flags, k, &d), AA_OK, "%s: %s", json, d.msg);
}

static char *to_json(const struct aa_jwk *k, bool priv)
{
    struct aa_buf b;
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_jwk_to_json(k, priv, &b), AA_OK);
    return aa_buf_detach(&b, NULL);
}

static void sign_ok(enum aa_alg alg, const struct aa_jwk *k, const char *msg, uint8_t *sig,
                    size_t *sl)
{
    cr_assert_eq(
        aa_crypto_sign(alg, k, (const uint8_t *)msg, strlen(msg), sig, AA_CRYPTO_SIG_MAX, sl),
        AA_OK, "sign %s", aa_alg_jose_name(alg));
}

/* ---- known-answer vectors -------------------------------------------------------- */

/* RFC 7638 §3.1: the RSA example and its thumbprint, byte-exact. */
Test(jwk, rfc7638_rsa_thumbprint)
{
    cJSON *v = aa_test_load_json("jose", "rfc7638.json");
    struct aa_jwk k;
    char tp[AA_JWK_THUMBPRINT_LEN + 1];

    jwk_from(cJSON_GetObjectItem(v, "jwk"), AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID, &k);
    cr_assert_eq(k.kty, AA_KTY_RSA);
    cr_assert_str_eq(k.kid, "2011-04-29");
    cr_assert_str_eq(k.alg, "RS256");
    cr_assert_not(k.is_private);
    cr_assert_eq(aa_jwk_thumbprint(&k, tp), AA_OK);
    cr_assert_str_eq(tp, aa_json_str(v, "thumbprint"));
    cr_assert_str_eq(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}

/* RFC 8037 A.1-A.3: private and public key, thumbprint and its input. */
Test(jwk, rfc8037_keys_and_thumbprint)
{
    cJSON *v = aa_test_load_json("jose", "rfc8037.json");
    struct aa_jwk priv, pub;
    char tp[AA_JWK_THUMBPRINT_LEN + 1], *js;

    jwk_from(cJSON_GetObjectItem(v, "a1_private_jwk"), 0, &priv);
    jwk_from(cJSON_GetObjectItem(v, "a2_public_jwk"), AA_JWK_PUBLIC_ONLY, &pub);
    cr_assert(priv.is_private);
    cr_assert_not(pub.is_private);
    cr_assert_eq(priv.kty, AA_KTY_OKP);
    cr_assert_str_eq(priv.crv, "Ed25519");
    cr_assert_eq(aa_jwk_thumbprint(&pub, tp), AA_OK);
    cr_assert_str_eq(tp, aa_json_str(v, "a3_thumbprint"));
    cr_assert_eq(aa_jwk_thumbprint(&priv, tp), AA_OK, "thumbprint ignores d");
    cr_assert_str_eq(tp, aa_json_str(v, "a3_thumbprint"));
    /* Public serialization without kid is exactly the thumbprint input. */
    js = to_json(&pub, false);
    cr_assert_str_eq(js, aa_json_str(v, "a3_thumbprint_input"));
    free(js);
    cr_assert(aa_jwk_same_key(&priv, &pub));
    aa_jwk_cleanup(&priv);
    aa_jwk_cleanup(&pub);
    cJSON_Delete(v);
}

/* RFC 8032 §7.1 TEST 1, 2, 3 and SHA(abc): public key and signature byte-exact. */
Test(jwk, rfc8032_ed25519_vectors_exact)
{
    cJSON *v = aa_test_load_json("jose", "rfc8032.json"), *t;
    int n = 0;

    cJSON_ArrayForEach(t, cJSON_GetObjectItem(v, "tests"))
    {
        const char *name = aa_json_str(t, "name");
        uint8_t seed[32], msg[128], sig[AA_CRYPTO_SIG_MAX], raw[32];
        char hex[2 * AA_CRYPTO_SIG_MAX + 1];
        size_t ml, sl, rl;
        struct aa_buf x;
        struct aa_jwk k, pub;

        cr_assert_eq(unhex(aa_json_str(t, "secret_key"), seed, sizeof(seed)), 32);
        ml = unhex(aa_json_str(t, "message"), msg, sizeof(msg));
        cr_assert_eq(aa_jwk_from_ed25519_seed(seed, "t", &k), AA_OK);
        cr_assert(k.is_private);
        /* Public key A. */
        aa_buf_init(&x, 0);
        cr_assert_eq(aa_jwk_public_member(&k, "x", &x), AA_OK);
        cr_assert_eq(aa_b64_decode(x.p, x.len, AA_B64_URL, AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS,
                                   raw, sizeof(raw), &rl, NULL),
                     AA_OK);
        tohex(raw, rl, hex);
        cr_assert_str_eq(hex, aa_json_str(t, "public_key"), "%s public key", name);
        aa_buf_free(&x);
        /* Signature (R || S). */
        cr_assert_eq(aa_crypto_sign(AA_ALG_ED25519, &k, msg, ml, sig, sizeof(sig), &sl), AA_OK);
        cr_assert_eq(sl, 64);
        tohex(sig, sl, hex);
        cr_assert_str_eq(hex, aa_json_str(t, "signature"), "%s signature", name);
        /* Verify with the public half only, and fail on one flipped bit. */
        cr_assert_eq(aa_jwk_public(&pub, &k), AA_OK);
        cr_assert_eq(aa_crypto_verify(AA_ALG_ED25519, &pub, msg, ml, sig, sl), AA_OK);
        sig[63] ^= 0x40;
        cr_assert_eq(aa_crypto_verify(AA_ALG_ED25519, &pub, msg, ml, sig, sl), AA_E_CRYPTO_BADSIG);
        if (aa_json_str(t, "message_is_sha512_of") != NULL) {
            uint8_t h[64];
            const char *pre = aa_json_str(t, "message_is_sha512_of");
            aa_sha512(pre, strlen(pre), h);
            cr_assert_eq(ml, 64);
            cr_assert(memcmp(h, msg, 64) == 0, "SHA-512(abc) matches the vector message");
        }
        aa_jwk_cleanup(&pub);
        aa_jwk_cleanup(&k);
        n++;
    }
    cr_assert_eq(n, 4);
    cJSON_Delete(v);
}

/* The TEST 1 secret is the RFC 8037 A.1 key (PROTOCOL.md §2.12). */
Test(jwk, seed_key_equals_rfc8037_a1)
{
    cJSON *v = aa_test_load_json("jose", "rfc8037.json");
    static const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
                                     0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
                                     0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
                                     0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    const cJSON *a1 = cJSON_GetObjectItem(v, "a1_private_jwk");
    struct aa_jwk k;
    char *js, expect[256];

    cr_assert_eq(aa_jwk_from_ed25519_seed(seed, NULL, &k), AA_OK);
    js = to_json(&k, true);
    aa_snprintf(expect, sizeof(expect),
                "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\",\"d\":\"%s\"}",
                aa_json_str(a1, "x"), aa_json_str(a1, "d"));
    cr_assert_str_eq(js, expect);
    free(js);
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}

/* RFC 7515 A.2 (RS256) and A.3 (ES256): external signatures verify. */
Test(jwk, rfc7515_rs256_es256_verify)
{
    cJSON *v = aa_test_load_json("jose", "rfc7515.json");
    const char *names[2] = {"a2", "a3"};
    enum aa_alg algs[2] = {AA_ALG_RS256, AA_ALG_ES256};

    for (int i = 0; i < 2; i++) {
        char kn[32], jn[32];
        struct aa_jwk k;
        const char *jws, *dot2;
        uint8_t sig[AA_CRYPTO_SIG_MAX];
        size_t sl;
        aa_snprintf(kn, sizeof(kn), "%s_public_jwk", names[i]);
        aa_snprintf(jn, sizeof(jn), "%s_jws", names[i]);
        jwk_from(cJSON_GetObjectItem(v, kn), AA_JWK_PUBLIC_ONLY, &k);
        jws = aa_json_str(v, jn);
        dot2 = strrchr(jws, '.');
        cr_assert_eq(aa_b64_decode(dot2 + 1, strlen(dot2 + 1), AA_B64_URL, AA_B64_PAD_FORBIDDEN,
                                   AA_B64_STRICT_BITS, sig, sizeof(sig), &sl, NULL),
                     AA_OK);
        cr_assert_eq(
            aa_crypto_verify(algs[i], &k, (const uint8_t *)jws, (size_t)(dot2 - jws), sig, sl),
            AA_OK, "%s", names[i]);
        /* Tamper with the signing input. */
        cr_assert_eq(
            aa_crypto_verify(algs[i], &k, (const uint8_t *)jws, (size_t)(dot2 - jws) - 1, sig, sl),
            AA_E_CRYPTO_BADSIG);
        /* PS256 over a PKCS#1 signature fails closed. */
        if (algs[i] == AA_ALG_RS256)
            cr_assert_eq(aa_crypto_verify(AA_ALG_PS256, &k, (const uint8_t *)jws,
                                          (size_t)(dot2 - jws), sig, sl),
                         AA_E_CRYPTO_BADSIG);
        aa_jwk_cleanup(&k);
    }
    cJSON_Delete(v);
}

/* RFC 4231 test cases 1 and 2; SHA-256("abc") (FIPS 180-2). */
Test(jwk, hmac_and_hash_known_answers)
{
    uint8_t key[20], mac[32], h[32];
    char hex[65];
    memset(key, 0x0b, sizeof(key));
    cr_assert_eq(aa_crypto_hmac_sha256(key, 20, (const uint8_t *)"Hi There", 8, mac), AA_OK);
    tohex(mac, 32, hex);
    cr_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    cr_assert_eq(aa_crypto_hmac_sha256((const uint8_t *)"Jefe", 4,
                                       (const uint8_t *)"what do ya want for nothing?", 28, mac),
                 AA_OK);
    tohex(mac, 32, hex);
    cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    aa_sha256("abc", 3, h);
    tohex(h, 32, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- negative vectors ------------------------------------------------------------ */

Test(jwk, negative_jwk_vectors)
{
    cJSON *v = aa_test_load_json("jose", "negative.json"), *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "jwk"))
    {
        const char *name = aa_json_str(e, "name");
        unsigned flags = strcmp(aa_json_str(e, "context"), "public") == 0 ? AA_JWK_PUBLIC_ONLY : 0;
        int want = code_of(aa_json_str(e, "expect"));
        struct aa_jwk k;
        struct aa_diag d;
        int rc;
        aa_diag_clear(&d);
        rc = aa_jwk_from_cjson(cJSON_GetObjectItem(e, "jwk"), flags, &k, &d);
        cr_expect_eq(rc, want, "%s: got %d (%s), want %s", name, rc, d.msg,
                     aa_json_str(e, "expect"));
        if (want != AA_OK) {
            cr_expect_null(k.pkey, "%s: output zeroed", name);
            cr_expect_not_null(d.ref, "%s: citation", name);
            cr_expect(d.msg[0] != '\0', "%s: message", name);
        }
        aa_jwk_cleanup(&k);
        n++;
    }
    cr_assert_geq(n, 20);
    cJSON_Delete(v);
}

Test(jwk, negative_jwks_vectors)
{
    cJSON *v = aa_test_load_json("jose", "negative.json"), *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "jwks"))
    {
        const char *name = aa_json_str(e, "name");
        int want = code_of(aa_json_str(e, "expect"));
        struct aa_jwks s;
        struct aa_diag d;
        int64_t keys, skipped;
        char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(e, "jwks"));
        int rc;
        aa_diag_clear(&d);
        rc = aa_jwks_parse(text, strlen(text), &s, &d);
        cr_expect_eq(rc, want, "%s: got %d (%s), want %s", name, rc, d.msg,
                     aa_json_str(e, "expect"));
        if (want == AA_OK && rc == AA_OK) {
            cr_assert(aa_json_int(e, "keys", &keys) && aa_json_int(e, "skipped", &skipped));
            cr_expect_eq(s.n, (size_t)keys, "%s", name);
            cr_expect_eq(s.skipped, (size_t)skipped, "%s", name);
        } else {
            cr_expect_null(s.keys, "%s: output zeroed", name);
            cr_expect(strstr(d.msg, "keys") != NULL, "%s: message names keys: %s", name, d.msg);
        }
        aa_jwks_cleanup(&s);
        cJSON_free(text);
        n++;
    }
    cr_assert_geq(n, 8);
    cJSON_Delete(v);
}

Test(jwk, member_errors_name_the_member)
{
    struct aa_jwk k;
    struct aa_diag d;
    aa_diag_clear(&d);
    /* 42 'A's: canonical base64url of 31 zero bytes. */
    const char *short_x = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
                          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";
    cr_assert_eq(aa_jwk_parse(short_x, strlen(short_x), 0, &k, &d), AA_E_JWK_LENGTH);
    cr_assert(strstr(d.msg, "\"x\"") != NULL && strstr(d.msg, "31 bytes") != NULL, "%s", d.msg);
    cr_assert_eq(jparse("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"}", 0, &k, &d),
                 AA_E_JWK_CRV);
    cr_assert(strstr(d.msg, "X25519") != NULL, "%s", d.msg);
    cr_assert_eq(jparse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"AAAA\",\"x\":\"AAAA\"}",
                        AA_JWK_PUBLIC_ONLY, &k, &d),
                 AA_E_JWK_PRIVATE);
    cr_assert(strstr(d.msg, "\"d\"") != NULL, "%s", d.msg);
    cr_assert_str_eq(d.ref, "PROFILE#2.3");
    /* JSON intake is strict: duplicate members in a JWK are refused. */
    cr_assert_eq(jparse("{\"kty\":\"OKP\",\"kty\":\"EC\"}", 0, &k, &d), AA_E_JSON_DUPLICATE);
}

Test(jwk, kid_and_alg_members)
{
    struct aa_jwk k;
    char json[512], longkid[AA_JWK_KID_MAX + 1];
    const char *x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    aa_snprintf(json, sizeof(json), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", x);
    cr_assert_eq(aa_jwk_parse(json, strlen(json), AA_JWK_REQUIRE_KID, &k, NULL), AA_E_JWKS_NO_KID);
    aa_snprintf(json, sizeof(json), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":7}",
                x);
    cr_assert_eq(aa_jwk_parse(json, strlen(json), 0, &k, NULL), AA_E_JWK_MEMBER);
    memset(longkid, 'k', AA_JWK_KID_MAX);
    longkid[AA_JWK_KID_MAX] = '\0';
    aa_snprintf(json, sizeof(json),
                "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"%s\"}", x, longkid);
    cr_assert_eq(aa_jwk_parse(json, strlen(json), 0, &k, NULL), AA_E_LIMIT);
    longkid[AA_JWK_KID_MAX - 1] = '\0';
    aa_snprintf(
        json, sizeof(json),
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"%s\",\"alg\":\"EdDSA\","
        "\"use\":\"sig\"}",
        x, longkid);
    parse_str(json, AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID, &k);
    cr_assert_str_eq(k.kid, longkid);
    cr_assert_str_eq(k.alg, "EdDSA");
    aa_jwk_cleanup(&k);
}

/* ---- generation, serialization, PEM ----------------------------------------------- */

Test(jwk, generate_serialize_roundtrip_all_types)
{
    enum aa_kty types[3] = {AA_KTY_OKP, AA_KTY_EC, AA_KTY_RSA};
    for (int i = 0; i < 3; i++) {
        struct aa_jwk k, back, pub;
        char *priv_js, *pub_js;
        cJSON *c;
        cr_assert_eq(aa_jwk_generate(types[i], "gen-1", &k), AA_OK);
        cr_assert(k.is_private);
        cr_assert_eq(k.kty, types[i]);
        cr_assert_str_eq(k.crv, i == 0 ? "Ed25519" : i == 1 ? "P-256" : "");
        priv_js = to_json(&k, true);
        pub_js = to_json(&k, false);
        cr_assert(strstr(priv_js, "\"d\":") != NULL);
        cr_assert(strstr(pub_js, "\"d\":") == NULL);
        cr_assert(strstr(pub_js, "\"kid\":\"gen-1\"") != NULL);
        if (types[i] == AA_KTY_RSA)
            cr_assert(strstr(priv_js, "\"qi\":") != NULL, "CRT members exported");
        /* Private JSON: accepted in a private context, refused in a public one. */
        parse_str(priv_js, 0, &back);
        cr_assert(back.is_private);
        cr_assert(aa_jwk_same_key(&k, &back));
        aa_jwk_cleanup(&back);
        cr_assert_eq(aa_jwk_parse(priv_js, strlen(priv_js), AA_JWK_PUBLIC_ONLY, &back, NULL),
                     AA_E_JWK_PRIVATE);
        parse_str(pub_js, AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID, &back);
        cr_assert_not(back.is_private);
        cr_assert(aa_jwk_same_key(&k, &back));
        aa_jwk_cleanup(&back);
        /* aa_jwk_public really drops the private half. */
        cr_assert_eq(aa_jwk_public(&pub, &k), AA_OK);
        cr_assert_not(pub.is_private);
        free(priv_js);
        priv_js = to_json(&pub, true);
        cr_assert(strstr(priv_js, "\"d\":") == NULL, "%s", priv_js);
        {
            uint8_t sig[AA_CRYPTO_SIG_MAX];
            size_t sl;
            cr_assert_eq(aa_crypto_sign(aa_alg_default_for(&pub, false), &pub, (const uint8_t *)"m",
                                        1, sig, sizeof(sig), &sl),
                         AA_E_INVAL);
        }
        c = aa_jwk_to_cjson(&k, false);
        cr_assert_not_null(c);
        cr_assert_str_eq(aa_json_str(c, "kid"), "gen-1");
        cr_assert_null(cJSON_GetObjectItem(c, "d"));
        cJSON_Delete(c);
        aa_jwk_cleanup(&pub);
        free(priv_js);
        free(pub_js);
        aa_jwk_cleanup(&k);
        cr_assert_null(k.pkey);
    }
}

Test(jwk, private_members_must_match_public)
{
    struct aa_jwk a, b;
    cJSON *ja, *jb;
    char *s;
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, NULL, &a), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, NULL, &b), AA_OK);
    ja = aa_jwk_to_cjson(&a, true);
    jb = aa_jwk_to_cjson(&b, true);
    cJSON_ReplaceItemInObjectCaseSensitive(ja, "d",
                                           cJSON_Duplicate(cJSON_GetObjectItem(jb, "d"), 1));
    s = cJSON_PrintUnformatted(ja);
    {
        struct aa_jwk t;
        cr_assert_eq(aa_jwk_parse(s, strlen(s), 0, &t, NULL), AA_E_JWK_INVALID);
    }
    cJSON_free(s);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    aa_jwk_cleanup(&a);
    aa_jwk_cleanup(&b);

    cr_assert_eq(aa_jwk_generate(AA_KTY_RSA, NULL, &a), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_RSA, NULL, &b), AA_OK);
    ja = aa_jwk_to_cjson(&a, true);
    jb = aa_jwk_to_cjson(&b, true);
    cJSON_ReplaceItemInObjectCaseSensitive(ja, "p",
                                           cJSON_Duplicate(cJSON_GetObjectItem(jb, "p"), 1));
    s = cJSON_PrintUnformatted(ja);
    {
        struct aa_jwk t;
        cr_assert_eq(aa_jwk_parse(s, strlen(s), 0, &t, NULL), AA_E_JWK_INVALID);
    }
    cJSON_free(s);
    /* CRT members are all-or-none. */
    cJSON_DeleteItemFromObjectCaseSensitive(ja, "qi");
    s = cJSON_PrintUnformatted(ja);
    {
        struct aa_jwk t;
        cr_assert_eq(aa_jwk_parse(s, strlen(s), 0, &t, NULL), AA_E_JWK_MEMBER);
    }
    cJSON_free(s);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    aa_jwk_cleanup(&a);
    aa_jwk_cleanup(&b);
}

Test(jwk, pem_roundtrip_pkcs8_and_spki)
{
    enum aa_kty types[3] = {AA_KTY_OKP, AA_KTY_EC, AA_KTY_RSA};
    for (int i = 0; i < 3; i++) {
        struct aa_jwk k, back;
        struct aa_buf priv, pub;
        struct aa_diag d;
        cr_assert_eq(aa_jwk_generate(types[i], "pem", &k), AA_OK);
        aa_buf_init(&priv, 0);
        aa_buf_init(&pub, 0);
        cr_assert_eq(aa_jwk_to_pem(&k, true, &priv), AA_OK);
        cr_assert_eq(aa_jwk_to_pem(&k, false, &pub), AA_OK);
        cr_assert(strncmp(priv.p, "-----BEGIN PRIVATE KEY-----", 27) == 0, "%s", priv.p);
        cr_assert(strncmp(pub.p, "-----BEGIN PUBLIC KEY-----", 26) == 0, "%s", pub.p);
        aa_diag_clear(&d);
        cr_assert_eq(aa_jwk_from_pem(priv.p, priv.len, "again", &back, &d), AA_OK, "%s", d.msg);
        cr_assert(back.is_private);
        cr_assert_eq(back.kty, types[i]);
        cr_assert_str_eq(back.kid, "again");
        cr_assert(aa_jwk_same_key(&k, &back));
        aa_jwk_cleanup(&back);
        cr_assert_eq(aa_jwk_from_pem(pub.p, pub.len, NULL, &back, &d), AA_OK, "%s", d.msg);
        cr_assert_not(back.is_private);
        cr_assert(aa_jwk_same_key(&k, &back));
        cr_assert_eq(aa_jwk_to_pem(&back, true, &priv), AA_E_INVAL, "public key has no PKCS#8");
        aa_jwk_cleanup(&back);
        aa_buf_free(&priv);
        aa_buf_free(&pub);
        aa_jwk_cleanup(&k);
    }
}

static char *pem_of(EVP_PKEY *p, bool priv, const EVP_CIPHER *enc)
{
    BIO *bio = BIO_new(BIO_s_mem());
    BUF_MEM *m;
    char *s;
    cr_assert_not_null(p);
    if (priv)
        cr_assert_eq(
            PEM_write_bio_PKCS8PrivateKey(bio, p, enc, NULL, 0, NULL, (void *)"passphrase"), 1);
    else
        cr_assert_eq(PEM_write_bio_PUBKEY(bio, p), 1);
    BIO_get_mem_ptr(bio, &m);
    s = aa_strndup(m->data, m->length);
    BIO_free(bio);
    return s;
}

Test(jwk, pem_refusals)
{
    struct aa_jwk k;
    struct aa_diag d;
    EVP_PKEY *p;
    char *s;

    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_from_pem("not pem", 7, NULL, &k, &d), AA_E_PEM);
    cr_assert_not_null(d.ref);
    p = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    s = pem_of(p, false, NULL);
    cr_assert_eq(aa_jwk_from_pem(s, strlen(s), NULL, &k, &d), AA_E_JWK_CRV);
    cr_assert(strstr(d.msg, "X25519") != NULL, "%s", d.msg);
    free(s);
    EVP_PKEY_free(p);
    p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    s = pem_of(p, false, NULL);
    cr_assert_eq(aa_jwk_from_pem(s, strlen(s), NULL, &k, &d), AA_E_JWK_CRV);
    free(s);
    EVP_PKEY_free(p);
    p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    s = pem_of(p, false, NULL);
    cr_assert_eq(aa_jwk_from_pem(s, strlen(s), NULL, &k, &d), AA_E_JWK_LENGTH);
    cr_assert(strstr(d.msg, "1024") != NULL, "%s", d.msg);
    free(s);
    EVP_PKEY_free(p);
    /* Encrypted PKCS#8 is refused without prompting for a passphrase. */
    p = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    s = pem_of(p, true, EVP_aes_128_cbc());
    cr_assert(strstr(s, "ENCRYPTED") != NULL);
    cr_assert_eq(aa_jwk_from_pem(s, strlen(s), NULL, &k, &d), AA_E_PEM);
    cr_assert_null(k.pkey);
    free(s);
    EVP_PKEY_free(p);
}

/* ---- PEM gets the JWK checks (fuzz finding jwk-pem-consistency) --------------------- */

/* A key straight from numbers: EVP_PKEY_fromdata does not validate, which
 * is how a hostile PEM's numbers reach OpenSSL too. */
static EVP_PKEY *pkey_from_params(const char *type, int sel, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *p = NULL;

    cr_assert(params != NULL && ctx != NULL);
    cr_assert_eq(EVP_PKEY_fromdata_init(ctx), 1);
    cr_assert_eq(EVP_PKEY_fromdata(ctx, &p, sel, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return p;
}

static BIGNUM *bn_of(EVP_PKEY *p, const char *name)
{
    BIGNUM *bn = NULL;
    cr_assert_eq(EVP_PKEY_get_bn_param(p, name, &bn), 1, "%s", name);
    return bn;
}

/* The same RSA numbers written as a JWK (RFC 7518 §6.3), for aa_jwk_parse. */
static char *rsa_jwk_of(EVP_PKEY *p, bool priv)
{
    static const struct {
        const char *member, *param;
    } m[] = {{"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
             {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
             {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
             {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    struct aa_buf b;

    aa_buf_init(&b, 0);
    aa_buf_adds(&b, "{\"kty\":\"RSA\"");
    for (size_t i = 0; i < (priv ? 8u : 2u); i++) {
        BIGNUM *bn = bn_of(p, m[i].param);
        uint8_t raw[1100];
        int n = BN_bn2bin(bn, raw);
        cr_assert(n > 0 && n <= (int)sizeof(raw));
        aa_buf_printf(&b, ",\"%s\":\"", m[i].member);
        cr_assert_eq(aa_b64_encode_buf(raw, (size_t)n, AA_B64_URL, false, &b), AA_OK);
        aa_buf_addc(&b, '"');
        BN_clear_free(bn);
    }
    aa_buf_addc(&b, '}');
    cr_assert_eq(b.err, 0);
    return aa_buf_detach(&b, NULL);
}

/* aa_jwk_from_pem on |pem| fails with |want|, cites |ref| and leaves no key. */
static void pem_refused(const char *what, const char *pem, int want, const char *ref,
                        const char *in_msg)
{
    struct aa_jwk k;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    rc = aa_jwk_from_pem(pem, strlen(pem), "kid", &k, &d);
    cr_assert_eq(rc, want, "%s: rc %d (%s)", what, rc, d.msg);
    cr_assert_eq(d.code, want, "%s", what);
    cr_assert_str_eq(d.ref, ref, "%s: %s", what, d.msg);
    cr_assert(strstr(d.msg, in_msg) != NULL, "%s: \"%s\" lacks \"%s\"", what, d.msg, in_msg);
    cr_assert_null(k.pkey, "%s", what);
}

/* The minimized fuzz input: an RSA private key whose q is not prime
 * (n != p*q). As a JWK it was refused; as PEM it was accepted. */
Test(jwk, pem_rsa_with_composite_q_refused_like_jwk)
{
    char path[1024], *pem = NULL, *jwk;
    size_t len = 0;
    BIO *bio;
    EVP_PKEY *p;
    struct aa_jwk k;
    struct aa_diag d;

    cr_assert_eq(aa_snprintf(path, sizeof(path),
                             "%s/regress/fuzz_jwk/pem-rsa-private-q-not-prime.pem", AA_VECTORS_DIR),
                 AA_OK);
    cr_assert_eq(aa_read_file(path, 65536, &pem, &len), AA_OK, "cannot read %s", path);
    pem_refused("q not prime", pem, AA_E_JWK_INVALID, "RFC8017#3.2", "inconsistent");

    /* the JWK path, given the same numbers, says the same */
    bio = BIO_new_mem_buf(pem, (int)len);
    p = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    cr_assert_not_null(p, "OpenSSL decodes the vector");
    jwk = rsa_jwk_of(p, true);
    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_parse(jwk, strlen(jwk), 0, &k, &d), AA_E_JWK_INVALID, "%s", d.msg);
    /* its public half alone is a fine key, from either side */
    free(jwk);
    jwk = rsa_jwk_of(p, false);
    cr_assert_eq(aa_jwk_parse(jwk, strlen(jwk), 0, &k, &d), AA_OK, "%s", d.msg);
    aa_jwk_cleanup(&k);
    free(jwk);
    jwk = pem_of(p, false, NULL);
    cr_assert_eq(aa_jwk_from_pem(jwk, strlen(jwk), NULL, &k, &d), AA_OK, "%s", d.msg);
    cr_assert_not(k.is_private);
    aa_jwk_cleanup(&k);
    free(jwk);
    EVP_PKEY_free(p);
    free(pem);
}

Test(jwk, pem_private_parts_must_match_public)
{
    EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    OSSL_PARAM_BLD *bld;
    EVP_PKEY *mixed;
    BIGNUM *bn[8];
    static const char *const names[8] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    uint8_t pub[65];
    size_t pl = 0;
    char *s;

    /* RSA: A's numbers with B's p */
    cr_assert(a != NULL && b != NULL);
    bld = OSSL_PARAM_BLD_new();
    for (int i = 0; i < 8; i++) {
        bn[i] = bn_of(i == 3 ? b : a, names[i]);
        cr_assert(OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]));
    }
    mixed = pkey_from_params("RSA", EVP_PKEY_KEYPAIR, bld);
    s = pem_of(mixed, true, NULL);
    pem_refused("RSA p of another key", s, AA_E_JWK_INVALID, "RFC8017#3.2", "inconsistent");
    free(s);
    EVP_PKEY_free(mixed);

    /* RSA public: an even e, which the JWK path refuses as well */
    bld = OSSL_PARAM_BLD_new();
    BN_set_word(bn[1], 65538);
    cr_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn[0]));
    cr_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[1]));
    mixed = pkey_from_params("RSA", EVP_PKEY_PUBLIC_KEY, bld);
    s = pem_of(mixed, false, NULL);
    pem_refused("RSA e even", s, AA_E_JWK_INVALID, "RFC8017#3.1", "odd");
    free(s);
    s = rsa_jwk_of(mixed, false);
    {
        struct aa_jwk k;
        cr_assert_eq(aa_jwk_parse(s, strlen(s), 0, &k, NULL), AA_E_JWK_INVALID);
    }
    free(s);
    EVP_PKEY_free(mixed);
    for (int i = 0; i < 8; i++)
        BN_clear_free(bn[i]);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);

    /* EC: A's private scalar with B's public point */
    a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cr_assert(a != NULL && b != NULL);
    cr_assert_eq(EVP_PKEY_get_octet_string_param(b, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pl),
                 1);
    bn[0] = bn_of(a, OSSL_PKEY_PARAM_PRIV_KEY);
    bld = OSSL_PARAM_BLD_new();
    cr_assert(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
    cr_assert(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pl));
    cr_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn[0]));
    mixed = pkey_from_params("EC", EVP_PKEY_KEYPAIR, bld);
    s = pem_of(mixed, true, NULL);
    pem_refused("EC d of another key", s, AA_E_JWK_INVALID, "RFC5915#3", "inconsistent");
    free(s);
    EVP_PKEY_free(mixed);
    BN_clear_free(bn[0]);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}

/* A JWK cannot carry more than two primes without "oth", which is refused;
 * neither can PEM. The public half is an ordinary RSA key. */
Test(jwk, pem_multi_prime_rsa_refused)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *p = NULL;
    struct aa_jwk k;
    char *s;

    cr_assert_not_null(ctx);
    cr_assert_eq(EVP_PKEY_keygen_init(ctx), 1);
    cr_assert_eq(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
    cr_assert_eq(EVP_PKEY_CTX_set_rsa_keygen_primes(ctx, 3), 1);
    cr_assert_eq(EVP_PKEY_generate(ctx, &p), 1);
    EVP_PKEY_CTX_free(ctx);
    s = pem_of(p, true, NULL);
    pem_refused("3-prime RSA", s, AA_E_JWK_MEMBER, "RFC7518#6.3.2.7", "oth");
    free(s);
    s = pem_of(p, false, NULL);
    cr_assert_eq(aa_jwk_from_pem(s, strlen(s), NULL, &k, NULL), AA_OK);
    aa_jwk_cleanup(&k);
    free(s);
    EVP_PKEY_free(p);
}

/* What PEM accepts, the JWK parser accepts back (public and private). */
Test(jwk, pem_keys_survive_the_jwk_round_trip)
{
    static const char *const types[] = {"ED25519", "EC", "RSA"};
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY *p = i == 0   ? EVP_PKEY_Q_keygen(NULL, NULL, types[i])
                      : i == 1 ? EVP_PKEY_Q_keygen(NULL, NULL, types[i], "P-256")
                               : EVP_PKEY_Q_keygen(NULL, NULL, types[i], (size_t)2048);
        for (int priv = 0; priv <= 1; priv++) {
            char *pem = pem_of(p, priv, NULL), *j;
            struct aa_jwk k, back;
            struct aa_diag d;

            aa_diag_clear(&d);
            cr_assert_eq(aa_jwk_from_pem(pem, strlen(pem), "pem", &k, &d), AA_OK, "%s: %s",
                         types[i], d.msg);
            cr_assert_eq(k.is_private, priv == 1);
            j = to_json(&k, priv == 1);
            cr_assert_eq(aa_jwk_parse(j, strlen(j), 0, &back, &d), AA_OK, "%s: %s", types[i],
                         d.msg);
            cr_assert(aa_jwk_same_key(&k, &back));
            cr_assert_eq(back.is_private, priv == 1);
            aa_jwk_cleanup(&back);
            aa_jwk_cleanup(&k);
            free(j);
            free(pem);
        }
        EVP_PKEY_free(p);
    }
}

/* ---- signatures -------------------------------------------------------------------- */

Test(jwk, sign_verify_every_algorithm)
{
    struct {
        enum aa_alg alg;
        enum aa_kty kty;
        size_t siglen;
    } c[] = {{AA_ALG_ED25519, AA_KTY_OKP, 64},
             {AA_ALG_ES256, AA_KTY_EC, 64},
             {AA_ALG_RS256, AA_KTY_RSA, 256},
             {AA_ALG_PS256, AA_KTY_RSA, 256},
             {AA_ALG_PS512, AA_KTY_RSA, 256}};
    struct aa_jwk keys[4];
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "o", &keys[AA_KTY_OKP]), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, "e", &keys[AA_KTY_EC]), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_RSA, "r", &keys[AA_KTY_RSA]), AA_OK);
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        const struct aa_jwk *k = &keys[c[i].kty];
        uint8_t sig[AA_CRYPTO_SIG_MAX];
        size_t sl;
        const char *m = "signature base";
        struct aa_jwk pub;
        sign_ok(c[i].alg, k, m, sig, &sl);
        cr_assert_eq(sl, c[i].siglen, "%s", aa_alg_jose_name(c[i].alg));
        cr_assert_eq(aa_jwk_public(&pub, k), AA_OK);
        cr_assert_eq(aa_crypto_verify(c[i].alg, &pub, (const uint8_t *)m, strlen(m), sig, sl),
                     AA_OK, "%s", aa_alg_jose_name(c[i].alg));
        cr_assert_eq(aa_crypto_verify(c[i].alg, &pub, (const uint8_t *)"other", 5, sig, sl),
                     AA_E_CRYPTO_BADSIG);
        cr_assert_eq(aa_crypto_verify(c[i].alg, &pub, (const uint8_t *)m, strlen(m), sig, sl - 1),
                     AA_E_CRYPTO_BADSIG, "short signature");
        sig[sl / 2] ^= 0x10;
        cr_assert_eq(aa_crypto_verify(c[i].alg, &pub, (const uint8_t *)m, strlen(m), sig, sl),
                     AA_E_CRYPTO_BADSIG);
        /* The same algorithm with a key of another type. */
        cr_assert_eq(aa_crypto_verify(c[i].alg,
                                      &keys[c[i].kty == AA_KTY_OKP ? AA_KTY_EC : AA_KTY_OKP],
                                      (const uint8_t *)m, strlen(m), sig, sl),
                     AA_E_CRYPTO_ALG);
        cr_assert_eq(
            aa_crypto_sign(c[i].alg, k, (const uint8_t *)m, strlen(m), sig, c[i].siglen - 1, &sl),
            AA_E_LIMIT);
        aa_jwk_cleanup(&pub);
    }
    /* HS256 is never a signature algorithm here, whatever the key. */
    for (int t = 1; t <= 3; t++) {
        uint8_t sig[64] = {0};
        size_t sl;
        cr_assert_eq(aa_crypto_verify(AA_ALG_HS256, &keys[t], (const uint8_t *)"m", 1, sig, 32),
                     AA_E_CRYPTO_ALG);
        cr_assert_eq(aa_crypto_sign(AA_ALG_HS256, &keys[t], (const uint8_t *)"m", 1, sig, 64, &sl),
                     AA_E_CRYPTO_ALG);
        cr_assert_eq(aa_crypto_verify(AA_ALG_NONE, &keys[t], (const uint8_t *)"m", 1, sig, 0),
                     AA_E_CRYPTO_ALG);
        aa_jwk_cleanup(&keys[t]);
    }
}

/* PSS parameters checked with OpenSSL directly: PS512 uses salt 64 (RFC 9421
 * §3.3.1), PS256 salt 32 (RFC 7518 §3.5); ES256 r||s converts to valid DER. */
static int ossl_verify(EVP_PKEY *p, const EVP_MD *md, int salt, const uint8_t *sig, size_t sl,
                       const char *m)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok;
    cr_assert_eq(EVP_DigestVerifyInit(c, &pc, md, NULL, p), 1);
    if (salt >= 0) {
        cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        cr_assert_eq(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md), 1);
        cr_assert_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt), 1);
    }
    ok = EVP_DigestVerify(c, sig, sl, (const uint8_t *)m, strlen(m));
    EVP_MD_CTX_free(c);
    return ok;
}

Test(jwk, pss_salt_and_ecdsa_encoding_checked_independently)
{
    struct aa_jwk r, e;
    uint8_t sig[AA_CRYPTO_SIG_MAX], *der = NULL;
    size_t sl;
    const char *m = "independent check";
    ECDSA_SIG *es;
    int dl;

    cr_assert_eq(aa_jwk_generate(AA_KTY_RSA, NULL, &r), AA_OK);
    sign_ok(AA_ALG_PS512, &r, m, sig, &sl);
    cr_assert_eq(ossl_verify(r.pkey, EVP_sha512(), 64, sig, sl, m), 1);
    cr_assert_neq(ossl_verify(r.pkey, EVP_sha512(), 32, sig, sl, m), 1);
    sign_ok(AA_ALG_PS256, &r, m, sig, &sl);
    cr_assert_eq(ossl_verify(r.pkey, EVP_sha256(), 32, sig, sl, m), 1);
    cr_assert_neq(ossl_verify(r.pkey, EVP_sha256(), 20, sig, sl, m), 1);
    sign_ok(AA_ALG_RS256, &r, m, sig, &sl);
    cr_assert_eq(ossl_verify(r.pkey, EVP_sha256(), -1, sig, sl, m), 1);
    aa_jwk_cleanup(&r);

    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, NULL, &e), AA_OK);
    sign_ok(AA_ALG_ES256, &e, m, sig, &sl);
    es = ECDSA_SIG_new();
    cr_assert_eq(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
    dl = i2d_ECDSA_SIG(es, &der);
    cr_assert_gt(dl, 0);
    cr_assert_eq(ossl_verify(e.pkey, EVP_sha256(), -1, der, (size_t)dl, m), 1);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    aa_jwk_cleanup(&e);
}

Test(jwk, algorithm_names_both_registries)
{
    struct aa_jwk o, e;
    cr_assert_str_eq(aa_alg_jose_name(AA_ALG_ED25519), "EdDSA");
    cr_assert_str_eq(aa_alg_jose_name(AA_ALG_ES256), "ES256");
    cr_assert_str_eq(aa_alg_jose_name(AA_ALG_RS256), "RS256");
    cr_assert_str_eq(aa_alg_jose_name(AA_ALG_PS256), "PS256");
    cr_assert_str_eq(aa_alg_jose_name(AA_ALG_PS512), "PS512");
    cr_assert_null(aa_alg_jose_name(AA_ALG_NONE));
    cr_assert_str_eq(aa_alg_httpsig_name(AA_ALG_ED25519), "ed25519");
    cr_assert_str_eq(aa_alg_httpsig_name(AA_ALG_ES256), "ecdsa-p256-sha256");
    cr_assert_str_eq(aa_alg_httpsig_name(AA_ALG_RS256), "rsa-v1_5-sha256");
    cr_assert_str_eq(aa_alg_httpsig_name(AA_ALG_PS512), "rsa-pss-sha512");
    cr_assert_str_eq(aa_alg_httpsig_name(AA_ALG_HS256), "hmac-sha256");
    cr_assert_null(aa_alg_httpsig_name(AA_ALG_PS256), "RFC 9421 has no PS256");
    cr_assert_eq(aa_alg_from_jose("EdDSA"), AA_ALG_ED25519);
    cr_assert_eq(aa_alg_from_jose("PS512"), AA_ALG_PS512);
    cr_assert_eq(aa_alg_from_jose("eddsa"), AA_ALG_NONE, "case-sensitive");
    cr_assert_eq(aa_alg_from_jose("ed25519"), AA_ALG_NONE, "other registry");
    cr_assert_eq(aa_alg_from_jose(NULL), AA_ALG_NONE);
    cr_assert_eq(aa_alg_from_httpsig("ed25519"), AA_ALG_ED25519);
    cr_assert_eq(aa_alg_from_httpsig("rsa-pss-sha512"), AA_ALG_PS512);
    cr_assert_eq(aa_alg_from_httpsig("ecdsa-p256-sha256"), AA_ALG_ES256);
    cr_assert_eq(aa_alg_from_httpsig("EdDSA"), AA_ALG_NONE);
    cr_assert_eq(aa_alg_from_httpsig("hmac-sha256"), AA_ALG_HS256);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, NULL, &o), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, NULL, &e), AA_OK);
    cr_assert_eq(aa_alg_default_for(&o, true), AA_ALG_ED25519);
    cr_assert_eq(aa_alg_default_for(&e, false), AA_ALG_ES256);
    cr_assert(aa_alg_matches_key(AA_ALG_ED25519, &o));
    cr_assert_not(aa_alg_matches_key(AA_ALG_ES256, &o));
    cr_assert_not(aa_alg_matches_key(AA_ALG_HS256, &o));
    cr_assert_not(aa_alg_matches_key(AA_ALG_PS512, &e));
    aa_jwk_cleanup(&o);
    aa_jwk_cleanup(&e);
}

Test(jwk, random_bytes)
{
    uint8_t a[32], b[32];
    cr_assert_eq(aa_random(a, sizeof(a)), AA_OK);
    cr_assert_eq(aa_random(b, sizeof(b)), AA_OK);
    cr_assert(memcmp(a, b, 32) != 0, "two 256-bit draws differ");
    cr_assert_eq(aa_random(NULL, 0), AA_OK);
    cr_assert_eq(aa_random(NULL, 1), AA_E_INVAL);
}

/* ---- JWKS -------------------------------------------------------------------------- */

Test(jwks, find_add_serialize)
{
    struct aa_jwk a, b, dup;
    struct aa_jwks s = {0}, back;
    struct aa_buf out;
    char tp[AA_JWK_THUMBPRINT_LEN + 1];
    struct aa_diag d;

    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "key-1", &a), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, "key-2", &b), AA_OK);
    cr_assert_eq(aa_jwks_add(&s, &a), AA_OK);
    cr_assert_eq(aa_jwks_add(&s, &b), AA_OK);
    cr_assert_eq(aa_jwk_copy(&dup, &b), AA_OK);
    aa_snprintf(dup.kid, sizeof(dup.kid), "key-1");
    cr_assert_eq(aa_jwks_add(&s, &dup), AA_E_JWKS_DUP_KID);
    aa_jwk_cleanup(&dup);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(aa_jwks_find(&s, "key-2")->kty, AA_KTY_EC);
    cr_assert_null(aa_jwks_find(&s, "key-3"));
    cr_assert_eq(aa_jwk_thumbprint(&a, tp), AA_OK);
    cr_assert_str_eq(aa_jwks_find_thumbprint(&s, tp)->kid, "key-1");
    cr_assert_null(aa_jwks_find_thumbprint(&s, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"));
    /* Serialized set is public-only and parses back under the profile rules. */
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_jwks_to_json(&s, &out), AA_OK);
    cr_assert(strncmp(out.p, "{\"keys\":[{", 10) == 0);
    cr_assert(strstr(out.p, "\"d\"") == NULL, "%s", out.p);
    aa_diag_clear(&d);
    cr_assert_eq(aa_jwks_parse(out.p, out.len, &back, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(back.n, 2);
    cr_assert(aa_jwk_same_key(aa_jwks_find(&back, "key-1"), &a));
    cr_assert_not(aa_jwks_find(&back, "key-1")->is_private);
    aa_jwks_cleanup(&back);
    aa_buf_free(&out);
    aa_jwks_cleanup(&s);
    cr_assert_null(s.keys);
    /* The source keys outlive the set (reference counted). */
    cr_assert_eq(aa_jwk_thumbprint(&a, tp), AA_OK);
    aa_jwk_cleanup(&a);
    aa_jwk_cleanup(&b);
}

Test(jwks, limits)
{
    struct aa_jwks s = {0};
    struct aa_jwk k;
    char big[AA_JWKS_MAX_LEN + 2];
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, NULL, &k), AA_OK);
    for (int i = 0; i < AA_JWKS_MAX_KEYS; i++) {
        aa_snprintf(k.kid, sizeof(k.kid), "k%d", i);
        cr_assert_eq(aa_jwks_add(&s, &k), AA_OK);
    }
    aa_snprintf(k.kid, sizeof(k.kid), "one-more");
    cr_assert_eq(aa_jwks_add(&s, &k), AA_E_JWKS_TOO_MANY);
    aa_jwks_cleanup(&s);
    aa_jwk_cleanup(&k);
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"keys\":[]}", 11);
    cr_assert_eq(aa_jwks_parse(big, AA_JWKS_MAX_LEN, &s, NULL), AA_OK);
    aa_jwks_cleanup(&s);
    cr_assert_eq(aa_jwks_parse(big, AA_JWKS_MAX_LEN + 1, &s, NULL), AA_E_LIMIT);
    cr_assert_eq(aa_jwks_parse("{}", 2, &s, NULL), AA_E_JWK_MEMBER);
}

/* ---- files ------------------------------------------------------------------------- */

static void tmpdir(char *out, size_t cap)
{
    aa_snprintf(out, cap, "/tmp/aa-jwk-test-XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

Test(jwk, save_and_load_files)
{
    char dir[64], path[128], pem_path[128], link_path[128], junk[128];
    struct aa_jwk k, back;
    struct aa_buf pem;
    struct stat st;
    struct aa_diag d;
    FILE *f;

    tmpdir(dir, sizeof(dir));
    aa_snprintf(path, sizeof(path), "%s/key.json", dir);
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, "file-key", &k), AA_OK);
    /* An existing world-readable file is tightened to 0600. */
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_eq(aa_jwk_save_file(&k, path), AA_OK);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_load_file(path, NULL, &back, &d), AA_OK, "%s", d.msg);
    cr_assert(back.is_private);
    cr_assert_str_eq(back.kid, "file-key");
    cr_assert(aa_jwk_same_key(&k, &back));
    aa_jwk_cleanup(&back);
    cr_assert_eq(aa_jwk_load_file(path, "renamed", &back, &d), AA_OK);
    cr_assert_str_eq(back.kid, "renamed");
    aa_jwk_cleanup(&back);

    /* PEM content is detected. */
    aa_snprintf(pem_path, sizeof(pem_path), "%s/key.pem", dir);
    aa_buf_init(&pem, 0);
    cr_assert_eq(aa_jwk_to_pem(&k, true, &pem), AA_OK);
    f = fopen(pem_path, "w");
    fwrite(pem.p, 1, pem.len, f);
    fclose(f);
    cr_assert_eq(aa_jwk_load_file(pem_path, "from-pem", &back, &d), AA_OK, "%s", d.msg);
    cr_assert(aa_jwk_same_key(&k, &back));
    cr_assert_str_eq(back.kid, "from-pem");
    aa_jwk_cleanup(&back);
    aa_buf_free(&pem);

    /* Neither JWK nor PEM; missing file; symlink not followed on save. */
    aa_snprintf(junk, sizeof(junk), "%s/junk", dir);
    f = fopen(junk, "w");
    fputs("hello", f);
    fclose(f);
    cr_assert_eq(aa_jwk_load_file(junk, NULL, &back, &d), AA_E_PEM);
    cr_assert(strstr(d.msg, junk) != NULL, "%s", d.msg);
    cr_assert_eq(aa_jwk_load_file("/nonexistent/key.json", NULL, &back, &d), AA_E_IO);
    aa_snprintf(link_path, sizeof(link_path), "%s/link", dir);
    cr_assert_eq(symlink(junk, link_path), 0);
    cr_assert_eq(aa_jwk_save_file(&k, link_path), AA_E_IO);
    unlink(link_path);
    unlink(junk);
    unlink(pem_path);
    unlink(path);
    rmdir(dir);
    aa_jwk_cleanup(&k);
}

Test(jwk, strerror_dispatch)
{
    int codes[] = {AA_E_JWK_KTY,          AA_E_JWK_CRV,       AA_E_JWK_MEMBER,   AA_E_JWK_LENGTH,
                   AA_E_JWK_PRIVATE,      AA_E_JWK_INVALID,   AA_E_JWKS_DUP_KID, AA_E_JWKS_NO_KID,
                   AA_E_JWKS_KID_UNKNOWN, AA_E_CRYPTO_BADSIG, AA_E_CRYPTO_ALG,   AA_E_PEM,
                   AA_E_JWKS_TOO_MANY};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        cr_assert_str_neq(aa_strerror(codes[i]), "unknown error", "%d", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(aa_strerror(codes[i]), aa_strerror(codes[j]));
    }
}
