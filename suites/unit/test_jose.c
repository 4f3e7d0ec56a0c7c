/*
 * JWS compact / JWT claims / hostile-token builder (RFC 7515, RFC 7519,
 * RFC 8037 App. A.4-A.5, PROFILE#4.1-#4.5, PROTOCOL.md §2.12 vector S1).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"

#include "helpers/aa_test_util.h"

/* ---- helpers --------------------------------------------------------------- */

static cJSON *obj(const char *json)
{
    cJSON *o = NULL;
    struct aa_diag d;
    aa_diag_clear(&d);
    cr_assert_eq(aa_json_parse(json, strlen(json), NULL, &o, &d), AA_OK, "%s: %s", json, d.msg);
    return o;
}

static const struct aa_test_code vector_codes[] = {
    {"AA_OK", AA_OK},
    {"AA_E_LIMIT", AA_E_LIMIT},
    {"AA_E_JSON_DUPLICATE", AA_E_JSON_DUPLICATE},
    {"AA_E_JSON_DEPTH", AA_E_JSON_DEPTH},
    {"AA_E_JSON_UTF8", AA_E_JSON_UTF8},
    {"AA_E_JWS_FORMAT", AA_E_JWS_FORMAT},
    {"AA_E_JWS_B64", AA_E_JWS_B64},
    {"AA_E_JWS_JSON", AA_E_JWS_JSON},
    {"AA_E_JWS_ALG_NONE", AA_E_JWS_ALG_NONE},
    {"AA_E_JWS_ALG", AA_E_JWS_ALG},
    {"AA_E_JWS_SIGNATURE", AA_E_JWS_SIGNATURE},
    {"AA_E_JWS_TOO_LARGE", AA_E_JWS_TOO_LARGE},
    {"AA_E_JWS_CRIT", AA_E_JWS_CRIT},
    {"AA_E_JWS_KID", AA_E_JWS_KID},
    {"AA_E_JWE_UNSUPPORTED", AA_E_JWE_UNSUPPORTED},
};

static int code_of(const char *name)
{
    return aa_test_code_of(vector_codes, sizeof(vector_codes) / sizeof(vector_codes[0]), name);
}

/* The RFC 8032 TEST 1 / RFC 8037 A.1 key. */
static void test1_key(struct aa_jwk *k)
{
    static const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
                                     0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
                                     0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
                                     0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    cr_assert_eq(aa_jwk_from_ed25519_seed(seed, "key-1", k), AA_OK);
}

static int parse(const char *tok, struct aa_jwt *t, struct aa_diag *d)
{
    return aa_jwt_parse(tok, strlen(tok), t, d);
}

/* Parse a token built from |claims_json| (header: typ agent+jwt, kid key-1). */
static void make(const char *claims_json, const char *header_json, struct aa_jwt *t)
{
    struct aa_jwk k;
    cJSON *c = obj(claims_json);
    cJSON *h = obj(header_json ? header_json : "{\"typ\":\"agent+jwt\",\"kid\":\"key-1\"}");
    char *tok = NULL;
    struct aa_diag d;
    test1_key(&k);
    cr_assert_eq(aa_jwt_sign(h, c, AA_ALG_ED25519, &k, NULL, &tok), AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(parse(tok, t, &d), AA_OK, "%s", d.msg);
    free(tok);
    cJSON_Delete(c);
    cJSON_Delete(h);
    aa_jwk_cleanup(&k);
}

/* ---- RFC 8037 A.4 / A.5 ----------------------------------------------------------- */

/* A.4: Ed25519 is deterministic, so the compact JWS must match byte for byte. */
Test(jose, rfc8037_a4_sign_exact)
{
    cJSON *v = aa_test_load_json("jose", "rfc8037.json");
    struct aa_jwk k;
    const char *hdr = aa_json_str(v, "a4_protected_header");
    const char *pl = aa_json_str(v, "a4_payload");
    char *tok = NULL;

    cr_assert_eq(aa_jwk_from_cjson(cJSON_GetObjectItem(v, "a1_private_jwk"), 0, &k, NULL), AA_OK);
    cr_assert_eq(aa_jws_sign_raw(hdr, strlen(hdr), (const uint8_t *)pl, strlen(pl), AA_ALG_ED25519,
                                 &k, &tok),
                 AA_OK);
    cr_assert_str_eq(tok, aa_json_str(v, "a4_jws"));
    free(tok);
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}

/* A.5: the A.4 JWS verifies with the A.2 public key; its payload is not a
 * JWT claims set, so the JWT parser refuses it. */
Test(jose, rfc8037_a5_verify)
{
    cJSON *v = aa_test_load_json("jose", "rfc8037.json");
    const char *jws = aa_json_str(v, "a4_jws");
    struct aa_jwk pub;
    struct aa_jwt t;
    struct aa_diag d;

    cr_assert_eq(
        aa_jwk_from_cjson(cJSON_GetObjectItem(v, "a2_public_jwk"), AA_JWK_PUBLIC_ONLY, &pub, NULL),
        AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(aa_jws_parse(jws, strlen(jws), AA_JWS_RAW_PAYLOAD, &t, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(t.alg, AA_ALG_ED25519);
    cr_assert_str_eq(t.alg_name, "EdDSA");
    cr_assert_null(t.claims);
    cr_assert_eq(t.payload_len, strlen(aa_json_str(v, "a4_payload")));
    cr_assert(memcmp(t.payload, aa_json_str(v, "a4_payload"), t.payload_len) == 0);
    cr_assert_eq(t.sig_len, 64);
    cr_assert_eq(aa_jwt_verify(&t, &pub, &d), AA_OK, "%s", d.msg);
    t.sig[0] ^= 1;
    cr_assert_eq(aa_jwt_verify(&t, &pub, &d), AA_E_JWS_SIGNATURE);
    aa_jwt_cleanup(&t);
    cr_assert_eq(parse(jws, &t, &d), AA_E_JWS_JSON);
    cr_assert(strstr(d.msg, "payload") != NULL, "%s", d.msg);
    aa_jwk_cleanup(&pub);
    cJSON_Delete(v);
}

/* RFC 7515 A.2 (RS256) and A.3 (ES256) through the JWT parser. */
Test(jose, rfc7515_a2_a3_verify)
{
    cJSON *v = aa_test_load_json("jose", "rfc7515.json");
    const char *p[2][2] = {{"a2_public_jwk", "a2_jws"}, {"a3_public_jwk", "a3_jws"}};
    for (int i = 0; i < 2; i++) {
        struct aa_jwk k;
        struct aa_jwt t;
        struct aa_diag d;
        int64_t exp, want;
        const char *tok = aa_json_str(v, p[i][1]);
        cr_assert_eq(
            aa_jwk_from_cjson(cJSON_GetObjectItem(v, p[i][0]), AA_JWK_PUBLIC_ONLY, &k, NULL),
            AA_OK);
        aa_diag_clear(&d);
        cr_assert_eq(parse(tok, &t, &d), AA_OK, "%s", d.msg);
        cr_assert_eq(t.alg, i == 0 ? AA_ALG_RS256 : AA_ALG_ES256);
        cr_assert_eq(aa_jwt_verify(&t, &k, &d), AA_OK, "%s", d.msg);
        cr_assert(aa_jwt_claim_int(&t, "exp", &exp));
        cr_assert(aa_json_int(v, "payload_exp", &want));
        cr_assert_eq(exp, want);
        cr_assert_str_eq(aa_jwt_claim_str(&t, "iss"), "joe");
        aa_jwt_cleanup(&t);
        aa_jwk_cleanup(&k);
    }
    cJSON_Delete(v);
}

/* ---- the seed agent token (PROTOCOL.md §2.12 S1, §4.2) ----------------------------- */

Test(jose, seed_agent_token)
{
    cJSON *v = aa_test_load_json("jose", "seed_agent_token.json");
    const char *tok = aa_json_str(v, "token");
    const cJSON *hdr = cJSON_GetObjectItem(v, "header");
    const cJSON *cl = cJSON_GetObjectItem(v, "claims");
    struct aa_jwt t;
    struct aa_jwk cnf, wrong;
    struct aa_diag d;
    char tp[AA_JWK_THUMBPRINT_LEN + 1];
    int64_t exp, created;

    aa_diag_clear(&d);
    cr_assert_eq(parse(tok, &t, &d), AA_OK, "%s", d.msg);
    cr_assert_str_eq(t.alg_name, aa_json_str(hdr, "alg"));
    cr_assert_eq(t.alg, AA_ALG_ED25519);
    cr_assert_str_eq(t.kid, aa_json_str(hdr, "kid"));
    cr_assert_str_eq(t.typ, aa_json_str(hdr, "typ"));
    cr_assert(cJSON_Compare(t.header, hdr, true), "header equals the profile's by value");
    cr_assert(cJSON_Compare(t.claims, cl, true), "claims equal the profile's by value");
    cr_assert_eq(aa_jwt_check_typ(&t, "agent+jwt", &d), AA_OK);
    cr_assert_eq(aa_jwt_require_kid(&t, &d), AA_OK);
    cr_assert_eq(aa_jwt_check_iss(&t, "http://127.0.0.1:8001", &d), AA_OK);
    cr_assert_eq(aa_jwt_require_str(&t, "sub", &d), AA_OK);
    cr_assert_eq(aa_jwt_check_aud(&t, "http://127.0.0.1:8002", false, &d), AA_OK, "no aud");
    cr_assert_eq(aa_jwt_check_aud(&t, "http://127.0.0.1:8002", true, &d), AA_E_JWT_AUD);
    cr_assert_not(aa_jwt_claim_int(&t, "iat", &exp), "the seed token has no iat");
    /* cnf.jwk: public Ed25519 key whose RFC 7638 thumbprint is fixed. */
    cr_assert_eq(aa_jwt_cnf_jwk(&t, &cnf, &d), AA_OK, "%s", d.msg);
    cr_assert_str_eq(cnf.kid, "delegate-key-1");
    cr_assert_eq(aa_jwk_thumbprint(&cnf, tp), AA_OK);
    cr_assert_str_eq(tp, aa_json_str(v, "cnf_jwk_thumbprint"));
    cr_assert_str_eq(tp, "8VLLB0WRBDu70WxdOy3zFh34-n-fGRqCNcggLg7XLCQ");
    /* Time: valid when the seed's request was made, expired at exp + 60. */
    cr_assert(aa_jwt_claim_int(&t, "exp", &exp));
    cr_assert(aa_json_int(v, "request_created", &created));
    cr_assert_eq(aa_jwt_check_time(&t, created, 60, AA_JWT_REQUIRE_EXP, &d), AA_OK);
    cr_assert_eq(aa_jwt_check_time(&t, exp + 59, 60, AA_JWT_REQUIRE_EXP, &d), AA_OK);
    cr_assert_eq(aa_jwt_check_time(&t, exp + 60, 60, AA_JWT_REQUIRE_EXP, &d), AA_E_JWT_EXPIRED);
    cr_assert_eq(aa_jwt_check_time(&t, created, 60, AA_JWT_REQUIRE_IAT, &d), AA_E_JWT_CLAIM);
    /* The seed's key-1 is not published; it is not the RFC 8032 TEST 1 key. */
    test1_key(&wrong);
    cr_assert_eq(aa_jwt_verify(&t, &wrong, &d), AA_E_JWS_SIGNATURE);
    /* The delegate key is not the signer either (cnf is not the issuer key). */
    cr_assert_eq(aa_jwt_verify(&t, &cnf, &d), AA_E_JWS_SIGNATURE);
    aa_jwk_cleanup(&wrong);
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&t);
    cJSON_Delete(v);
}

/* ---- negative vectors (built by an independent implementation) ------------------- */

Test(jose, negative_jwt_vectors)
{
    cJSON *v = aa_test_load_json("jose", "negative.json"), *e;
    struct aa_jwk key;
    int n = 0;

    cr_assert_eq(
        aa_jwk_from_cjson(cJSON_GetObjectItem(v, "verify_jwk"), AA_JWK_PUBLIC_ONLY, &key, NULL),
        AA_OK);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "jwt"))
    {
        const char *name = aa_json_str(e, "name");
        const char *tok = aa_json_str(e, "token");
        bool at_parse = strcmp(aa_json_str(e, "stage"), "parse") == 0;
        int want = code_of(aa_json_str(e, "expect"));
        struct aa_jwt t;
        struct aa_diag d;
        int rc;

        aa_diag_clear(&d);
        rc = parse(tok, &t, &d);
        if (at_parse) {
            cr_expect_eq(rc, want, "%s: parse got %d (%s), want %s", name, rc, d.msg,
                         aa_json_str(e, "expect"));
            cr_expect_null(t.header, "%s: zeroed on failure", name);
        } else {
            cr_expect_eq(rc, AA_OK, "%s: parse failed: %s", name, d.msg);
            if (rc == AA_OK) {
                aa_diag_clear(&d);
                rc = aa_jwt_verify(&t, &key, &d);
                cr_expect_eq(rc, want, "%s: verify got %d (%s), want %s", name, rc, d.msg,
                             aa_json_str(e, "expect"));
            }
        }
        if (want != AA_OK) {
            cr_expect_not_null(d.ref, "%s: citation", name);
            cr_expect(d.msg[0] != '\0', "%s: message", name);
        }
        aa_jwt_cleanup(&t);
        n++;
    }
    cr_assert_geq(n, 30);
    aa_jwk_cleanup(&key);
    cJSON_Delete(v);
}

Test(jose, failure_messages_cite_and_name_values)
{
    struct aa_jwt t;
    struct aa_diag d;
    char big[AA_JWT_MAX_LEN + 2];

    aa_diag_clear(&d);
    cr_assert_eq(parse("eyJhbGciOiJub25lIn0.e30.", &t, &d), AA_E_JWS_ALG_NONE);
    cr_assert_str_eq(d.ref, "RFC7518#3.6");
    cr_assert(strstr(d.msg, "\"none\"") != NULL, "%s", d.msg);
    /* {"alg":"HS256"} */
    cr_assert_eq(parse("eyJhbGciOiJIUzI1NiJ9.e30.AAAA", &t, &d), AA_E_JWS_ALG);
    cr_assert(strstr(d.msg, "HS256") != NULL, "%s", d.msg);
    /* {"alg":"EdDSA","crit":["b64"]} */
    cr_assert_eq(parse("eyJhbGciOiJFZERTQSIsImNyaXQiOlsiYjY0Il19.e30.AAAA", &t, &d), AA_E_JWS_CRIT);
    cr_assert_str_eq(d.ref, "PROFILE#4.1");
    cr_assert_eq(parse("a.b", &t, &d), AA_E_JWS_FORMAT);
    cr_assert_str_eq(d.ref, "RFC7515#7.1");
    cr_assert(strstr(d.msg, "2 segments") != NULL, "%s", d.msg);
    cr_assert_eq(parse("a.b.c.d.e", &t, &d), AA_E_JWE_UNSUPPORTED);
    cr_assert_str_eq(d.ref, "PROFILE#4.5");
    cr_assert_eq(parse("eyJhbGciOiJFZERTQSJ9=.e30.AAAA", &t, &d), AA_E_JWS_B64);
    cr_assert(strstr(d.msg, "header") != NULL && strstr(d.msg, "padding") != NULL, "%s", d.msg);
    memset(big, 'A', sizeof(big));
    big[10] = '.';
    big[20] = '.';
    cr_assert_eq(aa_jwt_parse(big, AA_JWT_MAX_LEN + 1, &t, &d), AA_E_JWS_TOO_LARGE);
    cr_assert(strstr(d.msg, "8193") != NULL, "%s", d.msg);
    /* Just at the limit the size check passes and decoding decides. */
    cr_assert_neq(aa_jwt_parse(big, AA_JWT_MAX_LEN, &t, &d), AA_E_JWS_TOO_LARGE);
    cr_assert_eq(aa_jwt_parse(NULL, 0, &t, &d), AA_E_JWS_FORMAT);
    cr_assert_eq(aa_jwt_parse("x", 1, NULL, &d), AA_E_INVAL);
}

/* ---- builder: round trips ------------------------------------------------------------ */

Test(jose, sign_roundtrip_all_algorithms)
{
    struct {
        enum aa_alg alg;
        enum aa_kty kty;
        const char *name;
    } c[] = {{AA_ALG_ED25519, AA_KTY_OKP, "EdDSA"},
             {AA_ALG_ES256, AA_KTY_EC, "ES256"},
             {AA_ALG_RS256, AA_KTY_RSA, "RS256"},
             {AA_ALG_PS256, AA_KTY_RSA, "PS256"},
             {AA_ALG_PS512, AA_KTY_RSA, "PS512"}};
    struct aa_jwk rsa;
    cJSON *h = obj("{\"typ\":\"agent+jwt\",\"kid\":\"k\",\"alg\":\"ignored\"}");
    cJSON *cl = obj("{\"iss\":\"http://127.0.0.1:8001\",\"sub\":\"d\",\"exp\":1768789821,"
                    "\"aud\":[\"a\",\"b\"]}");

    cr_assert_eq(aa_jwk_generate(AA_KTY_RSA, "r", &rsa), AA_OK);
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct aa_jwk k, pub, other;
        struct aa_jwt t;
        struct aa_diag d;
        struct aa_buf hb;
        char *tok = NULL, expect_hdr[96];
        if (c[i].kty == AA_KTY_RSA)
            cr_assert_eq(aa_jwk_copy(&k, &rsa), AA_OK);
        else
            cr_assert_eq(aa_jwk_generate(c[i].kty, "k", &k), AA_OK);
        cr_assert_eq(aa_jwt_sign(h, cl, c[i].alg, &k, NULL, &tok), AA_OK, "%s", c[i].name);
        aa_diag_clear(&d);
        cr_assert_eq(parse(tok, &t, &d), AA_OK, "%s: %s", c[i].name, d.msg);
        cr_assert_eq(t.alg, c[i].alg);
        /* alg first, set from |alg|; the caller's other members follow in order. */
        aa_buf_init(&hb, 0);
        cr_assert_eq(aa_json_print(t.header, &hb), AA_OK);
        aa_snprintf(expect_hdr, sizeof(expect_hdr),
                    "{\"alg\":\"%s\",\"typ\":\"agent+jwt\",\"kid\":\"k\"}", c[i].name);
        cr_assert_str_eq(hb.p, expect_hdr);
        aa_buf_free(&hb);
        cr_assert(cJSON_Compare(t.claims, cl, true));
        cr_assert_eq(aa_jwk_public(&pub, &k), AA_OK);
        cr_assert_eq(aa_jwt_verify(&t, &pub, &d), AA_OK, "%s: %s", c[i].name, d.msg);
        /* Another key of the same type does not verify it. */
        cr_assert_eq(aa_jwk_generate(c[i].kty, "o", &other), AA_OK);
        cr_assert_eq(aa_jwt_verify(&t, &other, &d), AA_E_JWS_SIGNATURE, "%s", c[i].name);
        cr_assert_str_eq(d.ref, "RFC7515#5.2");
        aa_jwk_cleanup(&other);
        /* A key of another type: alg/key mismatch. */
        cr_assert_eq(aa_jwk_generate(c[i].kty == AA_KTY_OKP ? AA_KTY_EC : AA_KTY_OKP, "x", &other),
                     AA_OK);
        cr_assert_eq(aa_jwt_verify(&t, &other, &d), AA_E_JWS_ALG, "%s", c[i].name);
        cr_assert(strstr(d.msg, c[i].name) != NULL, "%s", d.msg);
        aa_jwk_cleanup(&other);
        aa_jwt_cleanup(&t);
        aa_jwk_cleanup(&pub);
        aa_jwk_cleanup(&k);
        free(tok);
    }
    aa_jwk_cleanup(&rsa);
    cJSON_Delete(h);
    cJSON_Delete(cl);
}

/* ---- builder: every mutation is rejected with its own code ------------------------- */

struct mut_env {
    struct aa_jwk key, pub;
    cJSON *h, *c, *swap;
    uint8_t x[32];
    size_t xl;
    char *clean;
};

static void env_init(struct mut_env *e)
{
    struct aa_buf xb;
    test1_key(&e->key);
    cr_assert_eq(aa_jwk_public(&e->pub, &e->key), AA_OK);
    e->h = obj("{\"typ\":\"agent+jwt\",\"kid\":\"key-1\"}");
    e->c = obj("{\"iss\":\"http://127.0.0.1:8001\",\"sub\":\"delegate-1\",\"exp\":1768789821}");
    e->swap = obj("{\"iss\":\"http://127.0.0.1:8001\",\"sub\":\"delegate-2\",\"exp\":1768789821}");
    aa_buf_init(&xb, 0);
    cr_assert_eq(aa_jwk_public_member(&e->key, "x", &xb), AA_OK);
    cr_assert_eq(aa_b64_decode(xb.p, xb.len, AA_B64_URL, AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS,
                               e->x, sizeof(e->x), &e->xl, NULL),
                 AA_OK);
    aa_buf_free(&xb);
    cr_assert_eq(aa_jwt_sign(e->h, e->c, AA_ALG_ED25519, &e->key, NULL, &e->clean), AA_OK);
}

static void env_free(struct mut_env *e)
{
    aa_jwk_cleanup(&e->key);
    aa_jwk_cleanup(&e->pub);
    cJSON_Delete(e->h);
    cJSON_Delete(e->c);
    cJSON_Delete(e->swap);
    free(e->clean);
}

/* Parse, and verify with the TEST 1 public key when parsing succeeds. */
static int check(struct mut_env *e, const char *tok, struct aa_diag *d)
{
    struct aa_jwt t;
    int rc;
    aa_diag_clear(d);
    rc = parse(tok, &t, d);
    if (rc == AA_OK)
        rc = aa_jwt_verify(&t, &e->pub, d);
    aa_jwt_cleanup(&t);
    return rc;
}

static char *mutate(struct mut_env *e, unsigned m)
{
    struct aa_jwt_build_opts o = {m, e->x, e->xl, e->swap};
    char *tok = NULL;
    cr_assert_eq(aa_jwt_sign(e->h, e->c, AA_ALG_ED25519, &e->key, &o, &tok), AA_OK, "mutation %#x",
                 m);
    return tok;
}

Test(jose, mutations_rejected_with_distinct_codes)
{
    struct mut_env e;
    struct {
        unsigned m;
        int code;
    } c[] = {{AA_JWT_MUT_ALG_NONE, AA_E_JWS_ALG_NONE}, {AA_JWT_MUT_BAD_SIG, AA_E_JWS_SIGNATURE},
             {AA_JWT_MUT_TWO_SEGS, AA_E_JWS_FORMAT},   {AA_JWT_MUT_BAD_B64, AA_E_JWS_B64},
             {AA_JWT_MUT_PADDED, AA_E_JWS_B64},        {AA_JWT_MUT_HS256, AA_E_JWS_ALG},
             {AA_JWT_MUT_PAYLOAD, AA_E_JWS_SIGNATURE}};
    struct aa_diag d;

    env_init(&e);
    cr_assert_eq(check(&e, e.clean, &d), AA_OK, "unmutated control: %s", d.msg);
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char *tok = mutate(&e, c[i].m);
        cr_assert_str_neq(tok, e.clean);
        cr_assert_eq(check(&e, tok, &d), c[i].code, "mutation %#x: %s", c[i].m, d.msg);
        cr_assert_not_null(d.ref);
        free(tok);
    }
    env_free(&e);
}

/* Each mutation changes exactly what it says and nothing else. */
Test(jose, mutations_are_precise)
{
    struct mut_env e;
    char *tok, *dot;
    size_t sig_off;
    uint8_t a[128], b[128];
    size_t al, bl;
    struct aa_jwt t;

    env_init(&e);
    sig_off = (size_t)(strrchr(e.clean, '.') - e.clean) + 1;

    /* BAD_SIG: same header.payload, signatures differ in exactly one bit. */
    tok = mutate(&e, AA_JWT_MUT_BAD_SIG);
    cr_assert(strncmp(tok, e.clean, sig_off) == 0);
    cr_assert_eq(aa_b64_decode(e.clean + sig_off, strlen(e.clean + sig_off), AA_B64_URL,
                               AA_B64_PAD_FORBIDDEN, 0, a, sizeof(a), &al, NULL),
                 AA_OK);
    cr_assert_eq(aa_b64_decode(tok + sig_off, strlen(tok + sig_off), AA_B64_URL,
                               AA_B64_PAD_FORBIDDEN, 0, b, sizeof(b), &bl, NULL),
                 AA_OK);
    cr_assert_eq(al, 64);
    cr_assert_eq(bl, 64);
    {
        int bits = 0;
        for (size_t i = 0; i < 64; i++)
            bits += __builtin_popcount((unsigned)(a[i] ^ b[i]));
        cr_assert_eq(bits, 1);
    }
    free(tok);

    /* TWO_SEGS: the clean token minus ".signature". */
    tok = mutate(&e, AA_JWT_MUT_TWO_SEGS);
    cr_assert_eq(strlen(tok), sig_off - 1);
    cr_assert(strncmp(tok, e.clean, sig_off - 1) == 0);
    free(tok);

    /* ALG_NONE: "h.p." with alg none and the same claims. */
    tok = mutate(&e, AA_JWT_MUT_ALG_NONE);
    cr_assert_eq(tok[strlen(tok) - 1], '.');
    cr_assert_eq(aa_jws_parse(tok, strlen(tok), 0, &t, NULL), AA_E_JWS_ALG_NONE);
    free(tok);

    /* HS256: the signature is HMAC-SHA256 over header.payload keyed with x. */
    tok = mutate(&e, AA_JWT_MUT_HS256);
    dot = strrchr(tok, '.');
    cr_assert_eq(aa_b64_decode(dot + 1, strlen(dot + 1), AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, b,
                               sizeof(b), &bl, NULL),
                 AA_OK);
    cr_assert_eq(bl, 32);
    cr_assert_eq(aa_crypto_hmac_sha256(e.x, e.xl, (const uint8_t *)tok, (size_t)(dot - tok), a),
                 AA_OK);
    cr_assert(memcmp(a, b, 32) == 0);
    cr_assert_eq(aa_jws_parse(tok, strlen(tok), 0, &t, NULL), AA_E_JWS_ALG);
    free(tok);

    /* PAYLOAD: header and signature of the clean token, swapped claims. */
    tok = mutate(&e, AA_JWT_MUT_PAYLOAD);
    cr_assert(strncmp(tok, e.clean, (size_t)(strchr(e.clean, '.') - e.clean) + 1) == 0);
    cr_assert_str_eq(strrchr(tok, '.'), strrchr(e.clean, '.'));
    cr_assert_eq(parse(tok, &t, NULL), AA_OK);
    cr_assert_str_eq(aa_jwt_claim_str(&t, "sub"), "delegate-2");
    aa_jwt_cleanup(&t);
    free(tok);

    /* BAD_B64: one character of the payload segment became '+'. */
    tok = mutate(&e, AA_JWT_MUT_BAD_B64);
    cr_assert_eq(strlen(tok), strlen(e.clean));
    {
        size_t diff = 0, at = 0;
        for (size_t i = 0; tok[i]; i++)
            if (tok[i] != e.clean[i]) {
                diff++;
                at = i;
            }
        cr_assert_eq(diff, 1);
        cr_assert_eq(tok[at], '+');
        cr_assert(at > (size_t)(strchr(e.clean, '.') - e.clean) && at < sig_off - 1);
    }
    free(tok);

    /* PADDED: '=' padding present; without it the segments are the clean ones. */
    tok = mutate(&e, AA_JWT_MUT_PADDED);
    cr_assert(strchr(tok, '=') != NULL);
    {
        char stripped[1024];
        size_t o = 0;
        for (size_t i = 0; tok[i] && o + 1 < sizeof(stripped); i++)
            if (tok[i] != '=')
                stripped[o++] = tok[i];
        stripped[o] = '\0';
        cr_assert(strncmp(stripped, e.clean, sig_off) == 0, "same header and payload");
    }
    free(tok);

    /* Combined: none + two segments is still refused at the alg check. */
    tok = mutate(&e, AA_JWT_MUT_ALG_NONE | AA_JWT_MUT_TWO_SEGS);
    cr_assert_eq(parse(tok, &t, NULL), AA_E_JWS_FORMAT);
    free(tok);
    env_free(&e);
}

Test(jose, builder_argument_checks)
{
    struct mut_env e;
    struct aa_jwt_build_opts swap_missing = {AA_JWT_MUT_PAYLOAD, NULL, 0, NULL};
    struct aa_jwt_build_opts none_padded = {AA_JWT_MUT_ALG_NONE | AA_JWT_MUT_PADDED, NULL, 0, NULL};
    struct aa_jwt_build_opts none = {AA_JWT_MUT_ALG_NONE, NULL, 0, NULL};
    char *tok = NULL;
    cJSON *h3 = obj("{\"k\":\"\"}"), *c3 = obj("{\"a\":\"b\"}");
    struct aa_jwk ec;

    env_init(&e);
    cr_assert_eq(aa_jwt_sign(e.h, e.c, AA_ALG_ED25519, &e.key, &swap_missing, &tok), AA_E_INVAL);
    cr_assert_null(tok);
    cr_assert_eq(aa_jwt_sign(e.h, NULL, AA_ALG_ED25519, &e.key, NULL, &tok), AA_E_INVAL);
    cr_assert_eq(aa_jwt_sign(e.h, e.c, AA_ALG_ED25519, NULL, NULL, &tok), AA_E_INVAL);
    cr_assert_eq(aa_jwt_sign(e.h, e.c, AA_ALG_NONE, &e.key, NULL, &tok), AA_E_INVAL);
    /* alg none needs no key. */
    cr_assert_eq(aa_jwt_sign(e.h, e.c, AA_ALG_ED25519, NULL, &none, &tok), AA_OK);
    free(tok);
    tok = NULL;
    /* {"alg":"none","k":""} (21 bytes) and {"a":"b"} (9 bytes) encode to
     * multiples of 4: padding would be invisible, so the builder refuses. */
    cr_assert_eq(aa_jwt_sign(h3, c3, AA_ALG_ED25519, NULL, &none_padded, &tok), AA_E_INVAL);
    /* Signing with a key of the wrong type. */
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, NULL, &ec), AA_OK);
    cr_assert_eq(aa_jwt_sign(e.h, e.c, AA_ALG_ED25519, &ec, NULL, &tok), AA_E_CRYPTO_ALG);
    cr_assert_null(tok);
    aa_jwk_cleanup(&ec);
    cJSON_Delete(h3);
    cJSON_Delete(c3);
    env_free(&e);
}

/* ---- claims ----------------------------------------------------------------------- */

/* PROFILE#4.1: reject now >= exp + skew, nbf > now + skew, iat > now + skew. */
Test(jose, time_boundaries_exact)
{
    struct aa_jwt t;
    struct aa_diag d;
    aa_diag_clear(&d);
    /* exp + skew - 1 passes, exp + skew fails. */
    make("{\"exp\":1000}", NULL, &t);
    cr_assert_eq(aa_jwt_check_time(&t, 1059, 60, AA_JWT_REQUIRE_EXP, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(aa_jwt_check_time(&t, 1060, 60, AA_JWT_REQUIRE_EXP, &d), AA_E_JWT_EXPIRED);
    cr_assert_str_eq(d.ref, "RFC7519#4.1.4");
    cr_assert(strstr(d.msg, "exp 1000") != NULL && strstr(d.msg, "1060") != NULL, "%s", d.msg);
    cr_assert_eq(aa_jwt_check_time(&t, 999, 0, 0, &d), AA_OK);
    cr_assert_eq(aa_jwt_check_time(&t, 1000, 0, 0, &d), AA_E_JWT_EXPIRED);
    cr_assert_eq(aa_jwt_check_time(&t, 0, 60, AA_JWT_REQUIRE_IAT, &d), AA_E_JWT_CLAIM);
    cr_assert(strstr(d.msg, "\"iat\"") != NULL, "%s", d.msg);
    cr_assert_eq(aa_jwt_check_time(&t, 0, -1, 0, &d), AA_E_INVAL);
    aa_jwt_cleanup(&t);

    make("{\"nbf\":1000}", NULL, &t);
    cr_assert_eq(aa_jwt_check_time(&t, 940, 60, AA_JWT_REQUIRE_NBF, &d), AA_OK);
    cr_assert_eq(aa_jwt_check_time(&t, 939, 60, AA_JWT_REQUIRE_NBF, &d), AA_E_JWT_NBF);
    cr_assert(strstr(d.msg, "nbf 1000") != NULL, "%s", d.msg);
    cr_assert_eq(aa_jwt_check_time(&t, 939, 60, AA_JWT_REQUIRE_EXP, &d), AA_E_JWT_CLAIM,
                 "exp required and missing");
    aa_jwt_cleanup(&t);

    make("{\"iat\":1000}", NULL, &t);
    cr_assert_eq(aa_jwt_check_time(&t, 940, 60, AA_JWT_REQUIRE_IAT, &d), AA_OK);
    cr_assert_eq(aa_jwt_check_time(&t, 939, 60, AA_JWT_REQUIRE_IAT, &d), AA_E_JWT_IAT);
    cr_assert(strstr(d.msg, "iat 1000") != NULL, "%s", d.msg);
    aa_jwt_cleanup(&t);

    /* Non-integer times are refused (issuers emit integers). */
    make("{\"exp\":1000.5}", NULL, &t);
    cr_assert_eq(aa_jwt_check_time(&t, 0, 60, 0, &d), AA_E_JWT_CLAIM);
    aa_jwt_cleanup(&t);
    make("{\"exp\":\"1000\"}", NULL, &t);
    cr_assert_eq(aa_jwt_check_time(&t, 0, 60, 0, &d), AA_E_JWT_CLAIM);
    aa_jwt_cleanup(&t);
}

Test(jose, typ_variants)
{
    static const struct {
        const char *typ;
        int code;
    } c[] = {{"agent+jwt", AA_OK},
             {"AGENT+JWT", AA_OK},
             {"application/agent+jwt", AA_OK},
             {"Application/Agent+JWT", AA_OK},
             {"JWT", AA_E_JWT_TYP},
             {"auth+jwt", AA_E_JWT_TYP},
             {"application/jwt", AA_E_JWT_TYP},
             {"agent+jwt ", AA_E_JWT_TYP},
             {"application/x/agent+jwt", AA_E_JWT_TYP},
             {"", AA_E_JWT_TYP}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char hdr[128];
        struct aa_jwt t;
        struct aa_diag d;
        aa_snprintf(hdr, sizeof(hdr), "{\"typ\":\"%s\",\"kid\":\"key-1\"}", c[i].typ);
        make("{\"iss\":\"x\"}", hdr, &t);
        aa_diag_clear(&d);
        cr_assert_eq(aa_jwt_check_typ(&t, "agent+jwt", &d), c[i].code, "typ \"%s\"", c[i].typ);
        if (c[i].code != AA_OK) {
            cr_assert_str_eq(d.ref, "PROFILE#4.1");
            cr_assert(strstr(d.msg, c[i].typ) != NULL, "%s", d.msg);
        }
        /* The expected value may carry the prefix too. */
        cr_assert_eq(aa_jwt_check_typ(&t, "application/agent+jwt", NULL), c[i].code);
        aa_jwt_cleanup(&t);
    }
    {
        struct aa_jwt t;
        struct aa_diag d;
        make("{\"iss\":\"x\"}", "{\"kid\":\"key-1\"}", &t);
        cr_assert_eq(aa_jwt_check_typ(&t, "agent+jwt", &d), AA_E_JWT_TYP);
        cr_assert(strstr(d.msg, "missing") != NULL, "%s", d.msg);
        cr_assert_eq(aa_jwt_require_kid(&t, &d), AA_OK);
        aa_jwt_cleanup(&t);
        make("{\"iss\":\"x\"}", "{\"typ\":\"agent+jwt\"}", &t);
        cr_assert_eq(aa_jwt_require_kid(&t, &d), AA_E_JWS_KID);
        aa_jwt_cleanup(&t);
        make("{\"iss\":\"x\"}", "{\"typ\":\"agent+jwt\",\"kid\":\"\"}", &t);
        cr_assert_eq(aa_jwt_require_kid(&t, &d), AA_E_JWS_KID);
        aa_jwt_cleanup(&t);
    }
}

Test(jose, aud_string_or_array)
{
    static const struct {
        const char *claims;
        bool required;
        int code;
    } c[] = {{"{\"aud\":\"http://r\"}", true, AA_OK},
             {"{\"aud\":\"http://other\"}", true, AA_E_JWT_AUD},
             {"{\"aud\":[\"http://x\",\"http://r\"]}", true, AA_OK},
             {"{\"aud\":[\"http://x\",\"http://y\"]}", true, AA_E_JWT_AUD},
             {"{\"aud\":[]}", false, AA_E_JWT_AUD},
             {"{\"aud\":[\"http://r\",7]}", true, AA_E_JWT_AUD},
             {"{\"aud\":7}", false, AA_E_JWT_AUD},
             {"{\"aud\":\"HTTP://R\"}", true, AA_E_JWT_AUD},
             {"{}", true, AA_E_JWT_AUD},
             {"{}", false, AA_OK}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct aa_jwt t;
        struct aa_diag d;
        make(c[i].claims, NULL, &t);
        aa_diag_clear(&d);
        cr_assert_eq(aa_jwt_check_aud(&t, "http://r", c[i].required, &d), c[i].code, "%s",
                     c[i].claims);
        if (c[i].code != AA_OK)
            cr_assert(strstr(d.msg, "aud") != NULL, "%s", d.msg);
        aa_jwt_cleanup(&t);
    }
    {
        struct aa_jwt t;
        struct aa_diag d;
        make("{\"aud\":\"http://other\"}", NULL, &t);
        cr_assert_eq(aa_jwt_check_aud(&t, "http://r", true, &d), AA_E_JWT_AUD);
        cr_assert(strstr(d.msg, "http://other") != NULL, "value named: %s", d.msg);
        aa_jwt_cleanup(&t);
    }
}

Test(jose, iss_sub_and_required_claims)
{
    struct aa_jwt t;
    struct aa_diag d;
    make("{\"iss\":\"http://a\",\"sub\":\"\",\"agent\":5,\"scope\":\"data.read\"}", NULL, &t);
    aa_diag_clear(&d);
    cr_assert_eq(aa_jwt_check_iss(&t, "http://a", &d), AA_OK);
    cr_assert_eq(aa_jwt_check_iss(&t, "http://b", &d), AA_E_JWT_ISS);
    cr_assert(strstr(d.msg, "http://a") != NULL && strstr(d.msg, "http://b") != NULL, "%s", d.msg);
    cr_assert_eq(aa_jwt_require_str(&t, "sub", &d), AA_E_JWT_SUB);
    cr_assert(strstr(d.msg, "empty") != NULL, "%s", d.msg);
    cr_assert_eq(aa_jwt_require_str(&t, "agent", &d), AA_E_JWT_CLAIM);
    cr_assert(strstr(d.msg, "\"agent\"") != NULL, "%s", d.msg);
    cr_assert_eq(aa_jwt_require_str(&t, "jti", &d), AA_E_JWT_CLAIM);
    cr_assert_eq(aa_jwt_require_str(&t, "scope", &d), AA_OK);
    cr_assert_eq(aa_jwt_require_str(&t, "iss", &d), AA_OK);
    aa_jwt_cleanup(&t);
    make("{\"sub\":\"d\"}", NULL, &t);
    cr_assert_eq(aa_jwt_check_iss(&t, "http://a", &d), AA_E_JWT_ISS);
    cr_assert_eq(aa_jwt_require_str(&t, "iss", &d), AA_E_JWT_ISS);
    cr_assert_eq(aa_jwt_require_str(&t, "sub", &d), AA_OK);
    aa_jwt_cleanup(&t);
}

Test(jose, cnf_jwk_public_only)
{
    static const struct {
        const char *claims;
        int code;
    } c[] = {
        {"{\"cnf\":{\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
         "7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}}}",
         AA_OK},
        {"{\"cnf\":{\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
         "7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}}}",
         AA_E_JWK_PRIVATE},
        {"{\"cnf\":{\"jwk\":{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"3p7bfXt9wbTTW2HC7OQ1Nz-"
         "DQ8hbeGdNrfx-FG-IK08\"}}}",
         AA_E_JWK_CRV},
        {"{\"cnf\":{\"jkt\":\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\"}}", AA_E_JWT_CNF},
        {"{\"cnf\":{\"jwk\":\"x\"}}", AA_E_JWT_CNF},
        {"{\"cnf\":[]}", AA_E_JWT_CNF},
        {"{}", AA_E_JWT_CNF}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct aa_jwt t;
        struct aa_jwk k;
        struct aa_diag d;
        make(c[i].claims, NULL, &t);
        aa_diag_clear(&d);
        cr_assert_eq(aa_jwt_cnf_jwk(&t, &k, &d), c[i].code, "%s: %s", c[i].claims, d.msg);
        if (c[i].code == AA_OK) {
            char tp[AA_JWK_THUMBPRINT_LEN + 1];
            cr_assert_not(k.is_private);
            cr_assert_eq(aa_jwk_thumbprint(&k, tp), AA_OK);
            cr_assert_str_eq(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        } else {
            cr_assert_null(k.pkey);
            cr_assert(strstr(d.msg, "cnf") != NULL, "%s", d.msg);
        }
        if (c[i].code == AA_E_JWK_PRIVATE)
            cr_assert_str_eq(d.ref, "PROFILE#4.1");
        aa_jwk_cleanup(&k);
        aa_jwt_cleanup(&t);
    }
}

Test(jose, strerror_distinct)
{
    int codes[] = {AA_E_JWS_FORMAT, AA_E_JWS_B64,       AA_E_JWS_JSON,       AA_E_JWS_ALG_NONE,
                   AA_E_JWS_ALG,    AA_E_JWS_SIGNATURE, AA_E_JWS_TOO_LARGE,  AA_E_JWS_CRIT,
                   AA_E_JWS_KID,    AA_E_JWT_TYP,       AA_E_JWT_EXPIRED,    AA_E_JWT_NBF,
                   AA_E_JWT_IAT,    AA_E_JWT_ISS,       AA_E_JWT_AUD,        AA_E_JWT_CLAIM,
                   AA_E_JWT_CNF,    AA_E_JWT_SUB,       AA_E_JWE_UNSUPPORTED};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        cr_assert_str_neq(aa_strerror(codes[i]), "unknown error", "%d", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(aa_strerror(codes[i]), aa_strerror(codes[j]));
    }
    cr_assert_str_eq(aa_strerror(-309), "unknown error");
}
