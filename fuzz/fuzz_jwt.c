/*
 * fuzz_jwt: JWS compact / JWT parsing, signature verification and claim
 * checks (harness/jose/aa_jose.h).
 * fuzz-libs: aa_jose aa_jwk aa_json aa_b64 aa_core
 *
 * The input is a compact token. It is parsed as a JWT and as a raw-payload
 * JWS, then verified with three fixed public keys (RFC 8032 TEST 1
 * Ed25519, RFC 7515 A.3 P-256, RFC 7515 A.2 RSA), so the RFC 7515 and
 * vectors/jose tokens in the seed corpus reach a valid signature. Checks:
 *   1. Rejections carry a citation; faults never come from token bytes.
 *   2. A parsed token is what was sent: exactly two dots, signing_input is
 *      the token up to the second dot, the payload is the base64url
 *      decoding of the middle segment, the signature fits
 *      AA_CRYPTO_SIG_MAX, alg is one of the five profile algorithms and
 *      alg_name/typ/kid point at the header's own strings.
 *   3. The raw-payload parser accepts every token the JWT parser accepts,
 *      with the same signing input and payload; when only the raw parser
 *      accepts, the JWT parser failed on the payload, not the header.
 *   4. Verification fails closed: a key of another type is always
 *      AA_E_JWS_ALG; a token that verifies stops verifying when one
 *      signature bit flips or the signature is one byte short.
 *   5. Claim checks (time with a frozen clock, typ, iss, aud, sub, kid,
 *      cnf.jwk) either pass or reject with a citation; an accepted
 *      cnf.jwk is a public key; aa_jwt_claim_int returns only integers
 *      that the claims really hold.
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "fuzz_common.h"
#include "fuzz_keys.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"

AA_FUZZ_LINK_STRERROR(aa_jose_strerror, aa_jwk_strerror, aa_json_strerror, aa_b64_strerror);

static struct aa_jwk keys[3]; /* Ed25519, P-256, RSA */
static bool keys_ready;

static void init_keys(void)
{
    struct aa_jwk priv;

    if (keys_ready)
        return;
    aa_fuzz_ed25519(aa_fuzz_test1_seed, "test1", &priv);
    AA_FUZZ_CHECK(aa_jwk_public(&keys[0], &priv) == AA_OK, "public half");
    aa_jwk_cleanup(&priv);
    aa_fuzz_jwk_text(aa_fuzz_rfc7515_ec_jwk, &keys[1]);
    aa_fuzz_jwk_text(aa_fuzz_rfc7515_rsa_jwk, &keys[2]);
    keys_ready = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    init_keys();
    return 0;
}

static bool is_header_code(int rc)
{
    return rc == AA_E_JWS_TOO_LARGE || rc == AA_E_JWE_UNSUPPORTED || rc == AA_E_JWS_FORMAT ||
           rc == AA_E_JWS_CRIT || rc == AA_E_JWS_ALG || rc == AA_E_JWS_ALG_NONE ||
           rc == AA_E_JWT_TYP || rc == AA_E_JWS_KID;
}

static void check_structure(const char *tok, size_t n, const struct aa_jwt *t)
{
    const char *dot1 = memchr(tok, '.', n);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - tok)) : NULL;

    AA_FUZZ_CHECK(dot1 && dot2, "accepted token without two dots");
    AA_FUZZ_CHECK(memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - tok)) == NULL,
                  "accepted token with more than two dots");
    AA_FUZZ_CHECK(t->signing_input_len == (size_t)(dot2 - tok) &&
                      memcmp(t->signing_input, tok, t->signing_input_len) == 0,
                  "signing input is not the token's first two segments");
    AA_FUZZ_CHECK(t->sig_len <= AA_CRYPTO_SIG_MAX, "signature of %zu bytes", t->sig_len);
    AA_FUZZ_CHECK(n <= AA_JWT_MAX_LEN, "token of %zu bytes accepted", n);

    /* The payload segment decodes to exactly t->payload. */
    size_t plen_txt = (size_t)(dot2 - dot1 - 1);
    uint8_t *buf = malloc(aa_b64_decoded_max(plen_txt) + 1);
    size_t blen = 0;
    AA_FUZZ_CHECK(buf != NULL, "malloc");
    AA_FUZZ_CHECK(aa_b64_decode(dot1 + 1, plen_txt, AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, buf,
                                aa_b64_decoded_max(plen_txt), &blen, NULL) == AA_OK,
                  "accepted payload segment is not base64url");
    AA_FUZZ_CHECK(blen == t->payload_len && (blen == 0 || memcmp(buf, t->payload, blen) == 0),
                  "payload differs from its segment");
    free(buf);

    AA_FUZZ_CHECK(cJSON_IsObject(t->header), "header is not an object");
    AA_FUZZ_CHECK(t->alg == AA_ALG_ED25519 || t->alg == AA_ALG_ES256 || t->alg == AA_ALG_RS256 ||
                      t->alg == AA_ALG_PS256 || t->alg == AA_ALG_PS512,
                  "accepted alg %d", (int)t->alg);
    AA_FUZZ_CHECK(t->alg_name == aa_json_str(t->header, "alg"), "alg_name not the header's");
    AA_FUZZ_CHECK(aa_alg_from_jose(t->alg_name) == t->alg, "alg \"%s\" maps elsewhere",
                  t->alg_name);
    AA_FUZZ_CHECK(t->typ == aa_json_str(t->header, "typ"), "typ not the header's");
    AA_FUZZ_CHECK(t->kid == aa_json_str(t->header, "kid"), "kid not the header's");
    AA_FUZZ_CHECK(cJSON_GetObjectItemCaseSensitive(t->header, "crit") == NULL, "crit accepted");
}

static void check_verify(const struct aa_jwt *t)
{
    for (size_t k = 0; k < 3; k++) {
        struct aa_diag d;
        int rc;

        aa_diag_clear(&d);
        rc = aa_jwt_verify(t, &keys[k], &d);
        if (!aa_alg_matches_key(t->alg, &keys[k])) {
            AA_FUZZ_CHECK(rc == AA_E_JWS_ALG, "key %zu of another type gave %d", k, rc);
            aa_fuzz_check_rejection("aa_jwt_verify", rc, &d, true);
            continue;
        }
        if (rc != AA_OK) {
            AA_FUZZ_CHECK(rc == AA_E_JWS_SIGNATURE, "verify with the matching key gave %d: %s", rc,
                          d.msg);
            aa_fuzz_check_rejection("aa_jwt_verify", rc, &d, true);
            continue;
        }
        /* A valid signature: one flipped bit or one byte less must fail. */
        struct aa_jwt copy = *t;
        AA_FUZZ_CHECK(t->sig_len > 0, "empty signature verified");
        copy.sig[t->sig_len / 2] ^= 0x01;
        AA_FUZZ_CHECK(aa_jwt_verify(&copy, &keys[k], NULL) == AA_E_JWS_SIGNATURE,
                      "flipped signature bit still verifies");
        copy = *t;
        copy.sig_len--;
        AA_FUZZ_CHECK(aa_jwt_verify(&copy, &keys[k], NULL) == AA_E_JWS_SIGNATURE,
                      "truncated signature still verifies");
    }
}

static void expect_ok_or_finding(const char *what, int rc, const struct aa_diag *d)
{
    if (rc != AA_OK)
        aa_fuzz_check_rejection(what, rc, d, true);
}

static void check_claims(const struct aa_jwt *t)
{
    static const unsigned time_flags[] = {
        0, AA_JWT_REQUIRE_EXP, AA_JWT_REQUIRE_EXP | AA_JWT_REQUIRE_IAT | AA_JWT_REQUIRE_NBF};
    struct aa_diag d;
    struct aa_jwk cnf;
    int rc;

    for (size_t i = 0; i < sizeof(time_flags) / sizeof(time_flags[0]); i++) {
        aa_diag_clear(&d);
        expect_ok_or_finding("aa_jwt_check_time",
                             aa_jwt_check_time(t, AA_FUZZ_NOW, 60, time_flags[i], &d), &d);
    }
    aa_diag_clear(&d);
    expect_ok_or_finding("aa_jwt_check_typ", aa_jwt_check_typ(t, "agent+jwt", &d), &d);
    aa_diag_clear(&d);
    expect_ok_or_finding("aa_jwt_check_iss", aa_jwt_check_iss(t, AA_FUZZ_AGENT_ID, &d), &d);
    aa_diag_clear(&d);
    expect_ok_or_finding("aa_jwt_check_aud", aa_jwt_check_aud(t, AA_FUZZ_RESOURCE_ID, true, &d),
                         &d);
    aa_diag_clear(&d);
    expect_ok_or_finding("aa_jwt_check_aud(optional)",
                         aa_jwt_check_aud(t, AA_FUZZ_RESOURCE_ID, false, &d), &d);
    aa_diag_clear(&d);
    expect_ok_or_finding("aa_jwt_require_str", aa_jwt_require_str(t, "sub", &d), &d);
    aa_diag_clear(&d);
    expect_ok_or_finding("aa_jwt_require_kid", aa_jwt_require_kid(t, &d), &d);

    aa_diag_clear(&d);
    rc = aa_jwt_cnf_jwk(t, &cnf, &d);
    if (rc == AA_OK) {
        AA_FUZZ_CHECK(!cnf.is_private, "cnf.jwk with a private half accepted");
        char tp[AA_JWK_THUMBPRINT_LEN + 1];
        AA_FUZZ_CHECK(aa_jwk_thumbprint(&cnf, tp) == AA_OK && strlen(tp) == AA_JWK_THUMBPRINT_LEN,
                      "cnf.jwk has no thumbprint");
        aa_jwk_cleanup(&cnf);
    } else {
        aa_fuzz_check_rejection("aa_jwt_cnf_jwk", rc, &d, true);
    }

    static const char *const names[] = {"exp", "iat", "nbf", "iss", "sub", "aud"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int64_t v;
        if (aa_jwt_claim_int(t, names[i], &v)) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(t->claims, names[i]);
            AA_FUZZ_CHECK(cJSON_IsNumber(c) && c->valuedouble == (double)v,
                          "claim_int(%s) = %lld not in the claims", names[i], (long long)v);
        }
        const char *s = aa_jwt_claim_str(t, names[i]);
        if (s != NULL)
            AA_FUZZ_CHECK(s == aa_json_str(t->claims, names[i]), "claim_str(%s) not the claim's",
                          names[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tok = size ? (const char *)data : "";
    struct aa_jwt t, raw;
    struct aa_diag d, draw;
    int rc, rcraw;

    init_keys();
    aa_diag_clear(&d);
    rc = aa_jwt_parse(tok, size, &t, &d);
    aa_diag_clear(&draw);
    rcraw = aa_jws_parse(tok, size, AA_JWS_RAW_PAYLOAD, &raw, &draw);

    if (rcraw == AA_OK) {
        check_structure(tok, size, &raw);
        AA_FUZZ_CHECK(raw.claims == NULL, "raw parse built claims");
        check_verify(&raw);
    } else {
        aa_fuzz_check_rejection("aa_jws_parse(raw)", rcraw, &draw, true);
    }

    if (rc == AA_OK) {
        AA_FUZZ_CHECK(rcraw == AA_OK, "JWT parser accepts what the raw parser rejects (%s)",
                      draw.msg);
        check_structure(tok, size, &t);
        AA_FUZZ_CHECK(cJSON_IsObject(t.claims), "claims are not an object");
        AA_FUZZ_CHECK(t.signing_input_len == raw.signing_input_len &&
                          t.payload_len == raw.payload_len && t.sig_len == raw.sig_len &&
                          memcmp(t.sig, raw.sig, t.sig_len) == 0,
                      "JWT and raw parse disagree");
        check_verify(&t);
        check_claims(&t);
        aa_jwt_cleanup(&t);
    } else {
        aa_fuzz_check_rejection("aa_jwt_parse", rc, &d, true);
        if (rcraw == AA_OK)
            AA_FUZZ_CHECK(!is_header_code(rc),
                          "raw parse accepts but the JWT parser blames the header: %d %s", rc,
                          d.msg);
    }
    if (rcraw == AA_OK)
        aa_jwt_cleanup(&raw);
    return 0;
}
