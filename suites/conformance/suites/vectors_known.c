/*
 * vectors (RFC known answers): the harness's HTTP signature, digest and
 * JOSE machinery against the RFCs' own examples, pinned in vectors/httpsig
 * and vectors/jose (role "core": no implementation under test):
 *
 *   - RFC 9421 Appendix B.2.1-B.2.6: every signature base byte for byte,
 *     the B.2.6 Ed25519 signature re-created byte for byte, the published
 *     B.2.1-B.2.4 signatures verifying with the B.1 keys (and not with one
 *     bit flipped), the B.2.5 HMAC-SHA256 reproduced over our base;
 *   - RFC 9421 §2.4: the request-response binding example;
 *   - RFC 9530: every Content-Digest value of vectors/httpsig/rfc9530.json;
 *   - RFC 7638 §3.1 and RFC 8037 A.3 thumbprints, the RFC 8037 A.4 JWS
 *     byte for byte, and the seed's agent token decoded as PROFILE#4.2
 *     prints it;
 *   - RFC 8032 §7.1 TEST 1, 2, 3 and SHA(abc): public keys and signatures;
 *   - RFC 8037 A.5 and RFC 7515 A.2 (RS256) / A.3 (ES256) verification.
 *
 * Design choice: the checks of one example do not depend on each other.
 * The base check compares the base it builds with the file's; the
 * signature, HMAC and verification checks build their own base from the
 * message and never read the file's. So a corrupted value fails only the
 * checks that read it (a wrong B.2.6 base fails the base check, while the
 * B.2.6 signature check still passes). The flipped-bit controls show that
 * a verification check can fail.
 */
#include <stdlib.h>
#include <string.h>

#include "aa_runner.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"
#include "vectors_common.h"

#define B_COMPONENTS 16
#define B_EXAMPLES 6
#define RFC8032_MSG_MAX 1024

/* ---- RFC 9421 Appendix B.2 --------------------------------------------------- */

#define B_BASE_CHECK(n_, what_)                                                                    \
    AA_CHECK(v_b2##n_##_base, .id = "vectors.httpsig.rfc9421-b2-" #n_ "-base", .suite = "vectors", \
             .title = "RFC 9421 B.2." #n_ " (" what_ ") signature base", .role = AA_ROLE_NONE,     \
             .level = AA_LEVEL_MUST, .spec = "PROFILE#2.7", .rfc = "RFC9421#B.2." #n_,             \
             .expect = "the base built from the B.2 message and the B.2." #n_                      \
                       " Signature-Input equals the RFC's byte for byte")

B_BASE_CHECK(1, "minimal, rsa-pss-sha512");
B_BASE_CHECK(2, "selective components, rsa-pss-sha512");
B_BASE_CHECK(3, "full coverage, rsa-pss-sha512");
B_BASE_CHECK(4, "response, ecdsa-p256-sha256");
B_BASE_CHECK(5, "hmac-sha256");
B_BASE_CHECK(6, "ed25519");

#define B_VERIFY_CHECK(n_, key_, alg_)                                                             \
    AA_CHECK(v_b2##n_##_verify, .id = "vectors.httpsig.rfc9421-b2-" #n_ "-verify",                 \
             .suite = "vectors",                                                                   \
             .title = "RFC 9421 B.2." #n_ " published " alg_ " signature verified",                \
             .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.7",                  \
             .rfc = "RFC9421#B.2." #n_,                                                            \
             .expect = "the published Signature verifies with the B.1 key " key_ " as " alg_       \
                       ", and does not with one bit flipped")

B_VERIFY_CHECK(1, "test-key-rsa-pss", "rsa-pss-sha512");
B_VERIFY_CHECK(2, "test-key-rsa-pss", "rsa-pss-sha512");
B_VERIFY_CHECK(3, "test-key-rsa-pss", "rsa-pss-sha512");
B_VERIFY_CHECK(4, "test-key-ecc-p256", "ecdsa-p256-sha256");

AA_CHECK(v_b26_sig, .id = "vectors.httpsig.rfc9421-b2-6-signature", .suite = "vectors",
         .title = "RFC 9421 B.2.6 Ed25519 signature re-created with test-key-ed25519",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.7",
         .rfc = "RFC9421#B.2.6",
         .expect = "Signature and Signature-Input byte-exact as published (Ed25519 is "
                   "deterministic); the published signature verifies and fails with one bit "
                   "flipped");

AA_CHECK(v_b25_hmac, .id = "vectors.httpsig.rfc9421-b2-5-hmac", .suite = "vectors",
         .title = "RFC 9421 B.2.5 HMAC-SHA256 over the base the harness builds",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.7",
         .rfc = "RFC9421#B.2.5",
         .expect = "HMAC-SHA256 keyed with test-shared-secret equals the published B.2.5 "
                   "signature (the harness verifies no hmac-sha256 itself: PROFILE#2.10)");

static const struct aa_check *const b_base[B_EXAMPLES] = {&v_b21_base, &v_b22_base, &v_b23_base,
                                                          &v_b24_base, &v_b25_base, &v_b26_base};
static const struct aa_check *const b_verify[4] = {&v_b21_verify, &v_b22_verify, &v_b23_verify,
                                                   &v_b24_verify};

/* "B.2.4" -> 3; -1 for anything else. */
static int b_index(const char *sec)
{
    if (sec != NULL && strncmp(sec, "B.2.", 4) == 0 && sec[4] >= '1' && sec[4] < '1' + B_EXAMPLES &&
        sec[5] == '\0')
        return sec[4] - '1';
    return -1;
}

/* Key |id| of Appendix B.1: the public half from its PEM; the private one
 * from its JWK (B.1.2's private PEM uses the RSASSA-PSS OID, see
 * vectors/httpsig/README.md). */
static int b_key(const cJSON *keys, const char *id, bool priv, struct aa_jwk *k, struct aa_diag *d)
{
    const cJSON *ko = cJSON_GetObjectItemCaseSensitive(keys, id != NULL ? id : "");
    const char *pem = vec_str(ko, "public_pem");

    if (priv)
        return vec_jwk(cJSON_GetObjectItemCaseSensitive(ko, "jwk"), 0, k, d);
    if (pem == NULL)
        return aa_fail(d, AA_E_INVAL, "RFC9421#B.1", "the vector has no key %s",
                       id != NULL ? id : "(unnamed)");
    return aa_jwk_from_pem(pem, strlen(pem), NULL, k, d);
}

/* Parse |si| (member |label|) and build the base of |m| into |base|. */
static int b_build(const struct aa_httpsig_msg *m, const char *si, const char *label,
                   struct aa_httpsig_input *in, struct aa_buf *base, struct aa_diag *d)
{
    int rc;

    memset(in, 0, sizeof(*in));
    if ((rc = aa_httpsig_parse_input(aa_str_c(si), label, in, d)) != AA_OK)
        return rc;
    return aa_httpsig_build_base(m, &in->list, 0, base, d);
}

static void b_base_check(const struct aa_check *c, const char *sec, const cJSON *ex,
                         const struct aa_httpsig_msg *m)
{
    struct aa_httpsig_input in;
    struct aa_buf base;
    struct aa_diag d;
    char what[64];
    int rc;

    aa_diag_clear(&d);
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    rc = b_build(m, vec_str(ex, "signature_input"), vec_str(ex, "label"), &in, &base, &d);
    aa_snprintf(what, sizeof(what), "%s signature base", sec);
    if (rc != AA_OK) {
        vec_record_rc(c, "building the base", rc, &d);
    } else {
        aa_conf_note_block(what, base.p, base.len);
        vec_expect_text(c, what, vec_str(ex, "base"), base.p, base.len);
    }
    aa_httpsig_input_cleanup(&in);
    aa_buf_free(&base);
}

/* |signature| (member |label|) verifies over |m| with |pub|; with one bit
 * flipped it fails with AA_E_HTTPSIG_BAD_SIGNATURE. On success |alg_out|
 * gets the algorithm used. Records nothing; |why| says what went wrong. */
static bool verify_and_flip(const struct aa_httpsig_msg *m, const char *si, const char *signature,
                            const char *label, const struct aa_jwk *pub, enum aa_alg *alg_out,
                            struct aa_buf *why, int *rc_out, struct aa_diag *d)
{
    struct aa_httpsig_verify_opts vo;
    struct aa_httpsig_result r;
    struct aa_buf flipped;
    int rc;
    bool ok = false;

    memset(&vo, 0, sizeof(vo)); /* the RFC's created lies in the past: time not checked */
    aa_httpsig_result_init(&r);
    aa_buf_init(&flipped, 4096);
    rc = aa_httpsig_verify(m, aa_str_c(si), aa_str_c(signature), label, pub, &vo, &r, d);
    *rc_out = rc;
    if (rc != AA_OK) {
        aa_buf_printf(why, "the published signature does not verify (step %s)",
                      r.step != NULL ? r.step : "-");
        goto out;
    }
    *alg_out = r.alg;
    if ((rc = vec_flip_signature(signature, label, &flipped)) != AA_OK) {
        *rc_out = rc;
        aa_buf_printf(why, "cannot re-encode the signature with a bit flipped");
        goto out;
    }
    aa_conf_note("one bit flipped: Signature: %s", flipped.p);
    rc = aa_httpsig_verify(m, aa_str_c(si), aa_str_c(flipped.p), label, pub, &vo, NULL, NULL);
    if (rc != AA_E_HTTPSIG_BAD_SIGNATURE) {
        *rc_out = AA_E_HTTPSIG_BAD_SIGNATURE; /* a finding: the control did not fail */
        aa_buf_printf(why, "with one bit flipped the signature %s",
                      rc == AA_OK ? "still verifies" : aa_conf_strerror(rc));
        goto out;
    }
    ok = true;
out:
    aa_httpsig_result_cleanup(&r);
    aa_buf_free(&flipped);
    return ok;
}

static void b_verify_check(const struct aa_check *c, const cJSON *ex, const cJSON *keys,
                           const struct aa_httpsig_msg *m)
{
    const char *key_id = vec_str(ex, "key"), *alg = vec_str(ex, "alg");
    struct aa_jwk pub = {0};
    struct aa_buf why;
    struct aa_diag d;
    enum aa_alg used = AA_ALG_NONE;
    int rc;

    aa_diag_clear(&d);
    aa_buf_init(&why, 1024);
    if ((rc = b_key(keys, key_id, false, &pub, &d)) != AA_OK) {
        aa_check_error(c, "the B.1 key %s of the vector does not load: %s",
                       key_id != NULL ? key_id : "(none)", d.msg);
        goto out;
    }
    if (!verify_and_flip(m, vec_str(ex, "signature_input"), vec_str(ex, "signature"),
                         vec_str(ex, "label"), &pub, &used, &why, &rc, &d)) {
        if (aa_err_is_fault(rc))
            aa_check_fault(c, why.p, rc, &d);
        else
            aa_check_fail(c, c->expect, d.msg[0] != '\0' ? d.msg : why.p, "%s", why.p);
    } else if (alg == NULL || aa_alg_httpsig_name(used) == NULL ||
               strcmp(aa_alg_httpsig_name(used), alg) != 0) {
        aa_check_fail(c, alg != NULL ? alg : "(the vector's alg)",
                      aa_alg_httpsig_name(used) ? aa_alg_httpsig_name(used) : "(none)",
                      "verified under another algorithm than the vector names");
    } else {
        aa_check_pass(c, "verifies with %s as %s; one bit flipped: %s", key_id, alg,
                      aa_conf_strerror(AA_E_HTTPSIG_BAD_SIGNATURE));
    }
out:
    aa_buf_free(&why);
    aa_jwk_cleanup(&pub);
}

static void b26_sign_check(const cJSON *ex, const cJSON *keys, const struct aa_httpsig_msg *m)
{
    const char *key_id = vec_str(ex, "key"), *label = vec_str(ex, "label");
    const char *si = vec_str(ex, "signature_input"), *sig = vec_str(ex, "signature");
    struct aa_httpsig_component comps[B_COMPONENTS];
    struct aa_httpsig_signed out;
    struct aa_httpsig_input in;
    struct aa_jwk priv = {0}, pub = {0};
    struct aa_buf why;
    struct aa_diag d;
    enum aa_alg used = AA_ALG_NONE;
    size_t n = 0;
    int rc;

    memset(&in, 0, sizeof(in));
    aa_httpsig_signed_init(&out);
    aa_buf_init(&why, 1024);
    aa_diag_clear(&d);
    if (si == NULL || sig == NULL || label == NULL ||
        b_key(keys, key_id, true, &priv, &d) != AA_OK ||
        b_key(keys, key_id, false, &pub, &d) != AA_OK) {
        aa_check_error(&v_b26_sig, "B.2.6 lacks its Signature-Input, Signature or key: %s", d.msg);
        goto out;
    }
    if ((rc = aa_httpsig_parse_input(aa_str_c(si), label, &in, &d)) != AA_OK) {
        vec_record_rc(&v_b26_sig, "parsing the B.2.6 Signature-Input", rc, &d);
        goto out;
    }
    if (!vec_components(&in, comps, B_COMPONENTS, &n)) {
        aa_check_error(&v_b26_sig, "B.2.6 covers more than %d components", B_COMPONENTS);
        goto out;
    }
    /* the same components and parameters (created, keyid: in.params.order) */
    rc = aa_httpsig_sign(m, label, comps, n, &in.params, AA_ALG_ED25519, &priv, &out, &d);
    if (rc != AA_OK) {
        vec_record_rc(&v_b26_sig, "signing B.2.6", rc, &d);
        goto out;
    }
    aa_conf_note("B.2.6 re-signed:\nSignature-Input: %s\nSignature: %s", out.input.p,
                 out.signature.p);
    if (out.signature.p == NULL || strcmp(out.signature.p, sig) != 0) {
        aa_check_fail(&v_b26_sig, sig, out.signature.p ? out.signature.p : "(none)",
                      "Ed25519 is deterministic: the same key and base give the same signature");
    } else if (out.input.p == NULL || strcmp(out.input.p, si) != 0) {
        aa_check_fail(&v_b26_sig, si, out.input.p ? out.input.p : "(none)",
                      "Signature-Input differs");
    } else if (!verify_and_flip(m, si, sig, label, &pub, &used, &why, &rc, &d)) {
        if (aa_err_is_fault(rc))
            aa_check_fault(&v_b26_sig, why.p, rc, &d);
        else
            aa_check_fail(&v_b26_sig, v_b26_sig.expect, d.msg[0] != '\0' ? d.msg : why.p, "%s",
                          why.p);
    } else {
        aa_check_pass(&v_b26_sig, "%s", sig);
    }
out:
    aa_buf_free(&why);
    aa_httpsig_signed_cleanup(&out);
    aa_httpsig_input_cleanup(&in);
    aa_jwk_cleanup(&priv);
    aa_jwk_cleanup(&pub);
}

static void b25_hmac_check(const cJSON *ex, const cJSON *keys, const struct aa_httpsig_msg *m)
{
    const char *s64 =
        vec_str(cJSON_GetObjectItemCaseSensitive(keys, "test-shared-secret"), "secret_base64");
    const char *label = vec_str(ex, "label"), *sig = vec_str(ex, "signature");
    uint8_t key[128], mac[32], pub[AA_CRYPTO_SIG_MAX];
    char mac64[64], pub64[AA_CRYPTO_SIG_MAX * 2];
    size_t klen = 0, plen = 0;
    struct aa_httpsig_input in;
    struct aa_buf base;
    struct aa_diag d;
    int rc;

    memset(&in, 0, sizeof(in));
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    aa_diag_clear(&d);
    if (s64 == NULL || label == NULL || sig == NULL ||
        aa_b64_decode(s64, strlen(s64), AA_B64_STD, AA_B64_PAD_REQUIRED, 0, key, sizeof(key), &klen,
                      NULL) != AA_OK) {
        aa_check_error(&v_b25_hmac, "B.2.5 lacks its label, signature or a decodable "
                                    "test-shared-secret");
        goto out;
    }
    if ((rc = b_build(m, vec_str(ex, "signature_input"), label, &in, &base, &d)) != AA_OK) {
        vec_record_rc(&v_b25_hmac, "building the B.2.5 base", rc, &d);
        goto out;
    }
    if ((rc = aa_httpsig_parse_signature(aa_str_c(sig), label, pub, sizeof(pub), &plen, NULL,
                                         &d)) != AA_OK) {
        vec_record_rc(&v_b25_hmac, "parsing the published B.2.5 Signature", rc, &d);
        goto out;
    }
    if (aa_crypto_hmac_sha256(key, klen, (const uint8_t *)base.p, base.len, mac) != AA_OK ||
        aa_b64_encode(mac, sizeof(mac), AA_B64_STD, true, mac64, sizeof(mac64), NULL) != AA_OK ||
        aa_b64_encode(pub, plen, AA_B64_STD, true, pub64, sizeof(pub64), NULL) != AA_OK) {
        aa_check_error(&v_b25_hmac, "HMAC-SHA256 or base64 failed");
        goto out;
    }
    aa_conf_note("B.2.5 HMAC-SHA256 over the base built: %s", mac64);
    if (plen == sizeof(mac) && memcmp(mac, pub, sizeof(mac)) == 0)
        aa_check_pass(&v_b25_hmac, "HMAC-SHA256 %s equals the published signature", mac64);
    else
        aa_check_fail(&v_b25_hmac, pub64, mac64,
                      "HMAC over the base the harness builds differs from B.2.5");
out:
    aa_cleanse(key, sizeof(key));
    aa_httpsig_input_cleanup(&in);
    aa_buf_free(&base);
}

static void run_rfc9421_appendix_b(void)
{
    static const struct aa_check *const all[] = {
        &v_b21_base, &v_b22_base,   &v_b23_base,   &v_b24_base,   &v_b25_base,
        &v_b26_base, &v_b21_verify, &v_b22_verify, &v_b23_verify, &v_b24_verify,
        &v_b26_sig,  &v_b25_hmac,   NULL};
    cJSON *v = vec_load("httpsig/rfc9421_appendix_b.json", all);
    const cJSON *msgs, *keys, *ex;

    if (v == NULL)
        return;
    msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
    keys = cJSON_GetObjectItemCaseSensitive(v, "keys");
    cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        const char *sec = vec_str(ex, "section");
        int i = b_index(sec);
        struct vec_msg vm;

        if (i < 0)
            continue;
        if (!vec_load_msg(cJSON_GetObjectItemCaseSensitive(
                              msgs, vec_str(ex, "message") ? vec_str(ex, "message") : ""),
                          &vm)) {
            aa_check_error(b_base[i], "%s names no usable message", sec);
            if (i < 4)
                aa_check_error(b_verify[i], "%s names no usable message", sec);
            else
                aa_check_error(i == 4 ? &v_b25_hmac : &v_b26_sig, "%s names no usable message",
                               sec);
            continue;
        }
        aa_conf_note("%s: label %s, message %s, key %s, alg %s", sec, vec_str(ex, "label"),
                     vec_str(ex, "message"), vec_str(ex, "key"), vec_str(ex, "alg"));
        b_base_check(b_base[i], sec, ex, &vm.m);
        if (i < 4)
            b_verify_check(b_verify[i], ex, keys, &vm.m);
        else if (i == 4)
            b25_hmac_check(ex, keys, &vm.m);
        else
            b26_sign_check(ex, keys, &vm.m);
    }
    /* an example missing from the file: a broken installation */
    for (const struct aa_check *const *p = all; *p != NULL; p++) {
        bool recorded = false;
        (void)aa_check_outcome(*p, &recorded);
        if (!recorded)
            aa_check_error(*p, "rfc9421_appendix_b.json has no case for %s", (*p)->rfc);
    }
    cJSON_Delete(v);
}

/* ---- RFC 9421 §2.4 --------------------------------------------------------------- */

AA_CHECK(v_rr_base, .id = "vectors.httpsig.rfc9421-2-4-base", .suite = "vectors",
         .title = "RFC 9421 §2.4 response signature base covering request components (;req)",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.7", .rfc = "RFC9421#2.4",
         .expect = "the base of the 503 response with \"signature\";req;key=\"sig1\", "
                   "\"@authority\";req and \"@method\";req equals the RFC's byte for byte");

AA_CHECK(v_rr_verify, .id = "vectors.httpsig.rfc9421-2-4-verify", .suite = "vectors",
         .title = "RFC 9421 §2.4 published response signature verified", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.7", .rfc = "RFC9421#2.4",
         .expect = "verifies with test-key-ecc-p256; fails with one bit flipped; without the "
                   "related request the ;req components are refused "
                   "(AA_E_HTTPSIG_COMPONENT_CONTEXT)");

static void rr_verify(const cJSON *v, struct vec_msg *resp, const struct vec_msg *req,
                      const cJSON *keys)
{
    const char *si = vec_str(v, "signature_input"), *sig = vec_str(v, "signature");
    const char *label = vec_str(v, "label");
    struct aa_httpsig_verify_opts vo;
    struct aa_jwk pub = {0};
    struct aa_buf why;
    struct aa_diag d;
    enum aa_alg used = AA_ALG_NONE;
    int rc;

    memset(&vo, 0, sizeof(vo));
    aa_buf_init(&why, 1024);
    aa_diag_clear(&d);
    if ((rc = b_key(keys, vec_str(v, "key"), false, &pub, &d)) != AA_OK) {
        aa_check_error(&v_rr_verify, "the key of the §2.4 vector does not load: %s", d.msg);
        goto out;
    }
    resp->m.request = &req->m;
    if (!verify_and_flip(&resp->m, si, sig, label, &pub, &used, &why, &rc, &d)) {
        if (aa_err_is_fault(rc))
            aa_check_fault(&v_rr_verify, why.p, rc, &d);
        else
            aa_check_fail(&v_rr_verify, v_rr_verify.expect, d.msg[0] != '\0' ? d.msg : why.p, "%s",
                          why.p);
        goto out;
    }
    /* the binding: without the request the response cannot be verified */
    resp->m.request = NULL;
    aa_diag_clear(&d);
    rc = aa_httpsig_verify(&resp->m, aa_str_c(si), aa_str_c(sig), label, &pub, &vo, NULL, &d);
    resp->m.request = &req->m;
    if (rc != AA_E_HTTPSIG_COMPONENT_CONTEXT)
        aa_check_fail(&v_rr_verify, aa_conf_strerror(AA_E_HTTPSIG_COMPONENT_CONTEXT),
                      rc == AA_OK ? "verifies without the request" : aa_conf_strerror(rc),
                      "the ;req components must need the related request");
    else
        aa_check_pass(&v_rr_verify, "verifies as %s; one bit flipped: %s; without the request: %s",
                      aa_alg_httpsig_name(used) ? aa_alg_httpsig_name(used) : "?",
                      aa_conf_strerror(AA_E_HTTPSIG_BAD_SIGNATURE), aa_conf_strerror(rc));
out:
    aa_buf_free(&why);
    aa_jwk_cleanup(&pub);
}

static void run_rfc9421_req_response(void)
{
    static const struct aa_check *const all[] = {&v_rr_base, &v_rr_verify, NULL};
    cJSON *v = vec_load("httpsig/rfc9421_req_response.json", all), *b = NULL;
    struct vec_msg req, resp;

    if (v == NULL)
        return;
    /* the key is B.1.3 of the Appendix B file */
    if ((b = vec_load("httpsig/rfc9421_appendix_b.json", all)) == NULL)
        goto out;
    if (!vec_load_msg(cJSON_GetObjectItemCaseSensitive(v, "request"), &req) ||
        !vec_load_msg(cJSON_GetObjectItemCaseSensitive(v, "response"), &resp) ||
        !resp.m.is_response) {
        aa_check_error(&v_rr_base, "the §2.4 vector lacks its request or response");
        aa_check_error(&v_rr_verify, "the §2.4 vector lacks its request or response");
        goto out;
    }
    resp.m.request = &req.m;
    aa_conf_note("RFC 9421 §2.4: %d response to %s %s, label %s, key %s", resp.m.status,
                 vec_str(cJSON_GetObjectItemCaseSensitive(v, "request"), "method"),
                 vec_str(cJSON_GetObjectItemCaseSensitive(v, "request"), "target"),
                 vec_str(v, "label"), vec_str(v, "key"));
    b_base_check(&v_rr_base, "RFC 9421 §2.4", v, &resp.m);
    rr_verify(v, &resp, &req, cJSON_GetObjectItemCaseSensitive(b, "keys"));
out:
    cJSON_Delete(b);
    cJSON_Delete(v);
}

/* ---- RFC 9530 -------------------------------------------------------------------- */

AA_CHECK(v_9530, .id = "vectors.httpsig.rfc9530-digests", .suite = "vectors",
         .title = "RFC 9530 Content-Digest known answers (vectors/httpsig/rfc9530.json)",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.8", .rfc = "RFC9530#2",
         .expect = "every sha-256 / sha-512 value of the file is reproduced from its body, "
                   "verifies, and does not match the body with one byte more");

static void digest_one(const cJSON *c, const char *alg, unsigned bit, struct vec_faults *f, int *n)
{
    const char *want = vec_str(c, alg), *body = vec_str(c, "body");
    const char *name = vec_str(c, "name") ? vec_str(c, "name") : "?";
    struct aa_buf got, longer;
    struct aa_diag d;
    unsigned matched = 0;
    size_t len;
    int rc;

    if (want == NULL)
        return;
    (*n)++;
    if (body == NULL) {
        vec_fault_add(f, name, "no body");
        return;
    }
    len = strlen(body);
    aa_buf_init(&got, 1024);
    aa_buf_init(&longer, len + 2);
    aa_diag_clear(&d);
    if (aa_httpsig_create_digest(body, len, bit, &got) != AA_OK || got.p == NULL) {
        vec_fault_add(f, name, "%s cannot be computed", alg);
    } else if (strcmp(got.p, want) != 0) {
        aa_conf_note("%s %s: computed %s, the vector says %s", name, alg, got.p, want);
        vec_fault_add(f, name, "computed %s, the vector says %s", got.p, want);
    } else if ((rc = aa_httpsig_verify_digest(aa_str_c(want), body, len,
                                              AA_DIGEST_SHA256 | AA_DIGEST_SHA512, &matched, &d)) !=
                   AA_OK ||
               matched != bit) {
        vec_fault_add(f, name, "%s does not verify: %s", alg, d.msg);
    } else if (aa_buf_add(&longer, body, len) != AA_OK || aa_buf_addc(&longer, 'x') != AA_OK ||
               aa_httpsig_verify_digest(aa_str_c(want), longer.p, longer.len,
                                        AA_DIGEST_SHA256 | AA_DIGEST_SHA512, NULL,
                                        NULL) != AA_E_HTTPSIG_DIGEST_MISMATCH) {
        vec_fault_add(f, name, "%s still matches the body with one byte more", alg);
    } else {
        aa_conf_note("%s (%zu bytes) %s: %s reproduced", name, len, alg, got.p);
    }
    aa_buf_free(&got);
    aa_buf_free(&longer);
}

static void run_rfc9530(void)
{
    cJSON *v = vec_load("httpsig/rfc9530.json", AA_CHECKS(&v_9530));
    const cJSON *c;
    struct vec_faults f;
    int n = 0;

    if (v == NULL)
        return;
    vec_faults_init(&f);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        digest_one(c, "sha-256", AA_DIGEST_SHA256, &f, &n);
        digest_one(c, "sha-512", AA_DIGEST_SHA512, &f, &n);
    }
    if (n == 0)
        vec_fault_add(&f, "cases", "the file has no digests");
    vec_faults_record(&v_9530, &f, n);
    cJSON_Delete(v);
}

/* ---- RFC 7638, RFC 8037 A.3/A.4, the seed agent token --------------------------- */

AA_CHECK(v_jose_7638, .id = "vectors.jose.rfc7638-thumbprint", .suite = "vectors",
         .title = "RFC 7638 §3.1 RSA key thumbprint", .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.1", .rfc = "RFC7638#3.1",
         .expect = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

AA_CHECK(v_jose_8037_tp, .id = "vectors.jose.rfc8037-thumbprint", .suite = "vectors",
         .title = "RFC 8037 A.3 Ed25519 key thumbprint", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC8037#A.3",
         .expect = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");

AA_CHECK(v_jose_8037_jws, .id = "vectors.jose.rfc8037-jws", .suite = "vectors",
         .title = "RFC 8037 A.4 Ed25519 JWS", .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#2.10", .rfc = "RFC8037#A.4",
         .expect = "the A.4 compact JWS reproduced byte for byte, and verifying");

AA_CHECK(v_jose_seed, .id = "vectors.jose.seed-agent-token", .suite = "vectors",
         .title = "the seed's agent token decoded", .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .rfc = "RFC7519#7.2",
         .expect = "header and claims as in PROFILE#4.2; cnf.jwk thumbprint "
                   "8VLLB0WRBDu70WxdOy3zFh34-n-fGRqCNcggLg7XLCQ");

static void thumbprint_check(const struct aa_check *c, const cJSON *jwk, const char *want)
{
    struct aa_jwk k = {0};
    struct aa_diag d;
    char tp[AA_JWK_THUMBPRINT_LEN + 1];
    int rc;

    aa_diag_clear(&d);
    if ((rc = vec_jwk(jwk, 0, &k, &d)) != AA_OK) {
        aa_check_fault(c, "loading the vector key", rc, &d);
        return;
    }
    if ((rc = aa_jwk_thumbprint(&k, tp)) != AA_OK)
        aa_check_fault(c, "computing the thumbprint", rc, NULL);
    else
        aa_expect_str(c, "RFC 7638 thumbprint", want, tp);
    aa_jwk_cleanup(&k);
}

static void rfc8037_jws(const cJSON *v)
{
    const char *hdr = vec_str(v, "a4_protected_header"), *payload = vec_str(v, "a4_payload");
    const char *want = vec_str(v, "a4_jws");
    struct aa_jwk k = {0};
    struct aa_jwt t;
    struct aa_diag d;
    char *jws = NULL;
    int rc;

    memset(&t, 0, sizeof(t));
    aa_diag_clear(&d);
    if (hdr == NULL || payload == NULL || want == NULL ||
        vec_jwk(cJSON_GetObjectItemCaseSensitive(v, "a1_private_jwk"), 0, &k, &d) != AA_OK) {
        aa_check_error(&v_jose_8037_jws, "RFC 8037 A.4 vector incomplete: %s", d.msg);
        return;
    }
    rc = aa_jws_sign_raw(hdr, strlen(hdr), (const uint8_t *)payload, strlen(payload),
                         AA_ALG_ED25519, &k, &jws);
    if (rc != AA_OK) {
        aa_check_fault(&v_jose_8037_jws, "signing A.4", rc, NULL);
    } else if (strcmp(jws, want) != 0) {
        aa_check_fail(&v_jose_8037_jws, want, jws, "Ed25519 is deterministic");
    } else if ((rc = aa_jws_parse(want, strlen(want), AA_JWS_RAW_PAYLOAD, &t, &d)) != AA_OK ||
               (rc = aa_jwt_verify(&t, &k, &d)) != AA_OK) {
        aa_check_fail(&v_jose_8037_jws, "the A.4 JWS verifies", d.msg, "%s", aa_strerror(rc));
    } else {
        aa_check_pass(&v_jose_8037_jws, "%s", jws);
    }
    aa_jwt_cleanup(&t);
    free(jws);
    aa_jwk_cleanup(&k);
}

static void seed_token(const cJSON *v)
{
    const char *tok = vec_str(v, "token"), *want_tp = vec_str(v, "cnf_jwk_thumbprint");
    struct aa_buf diff;
    struct aa_jwk cnf = {0};
    struct aa_jwt t;
    struct aa_diag d;
    char tp[AA_JWK_THUMBPRINT_LEN + 1];
    int rc;

    memset(&t, 0, sizeof(t));
    aa_buf_init(&diff, 4096);
    aa_diag_clear(&d);
    if (tok == NULL || want_tp == NULL) {
        aa_check_error(&v_jose_seed, "seed_agent_token.json lacks token/cnf_jwk_thumbprint");
        goto out;
    }
    if ((rc = aa_jwt_parse(tok, strlen(tok), &t, &d)) != AA_OK) {
        aa_check_fail(&v_jose_seed, v_jose_seed.expect, d.msg, "%s", aa_strerror(rc));
        goto out;
    }
    if (!aa_conf_json_equal(cJSON_GetObjectItemCaseSensitive(v, "header"), t.header, 0, &diff) ||
        !aa_conf_json_equal(cJSON_GetObjectItemCaseSensitive(v, "claims"), t.claims, 0, &diff)) {
        aa_check_fail(&v_jose_seed, v_jose_seed.expect, diff.p, "decoded token differs");
        goto out;
    }
    if ((rc = aa_jwt_cnf_jwk(&t, &cnf, &d)) != AA_OK || aa_jwk_thumbprint(&cnf, tp) != AA_OK) {
        aa_check_fail(&v_jose_seed, v_jose_seed.expect, d.msg, "cnf.jwk");
        goto out;
    }
    aa_expect_str(&v_jose_seed, "cnf.jwk thumbprint", want_tp, tp);
out:
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&t);
    aa_buf_free(&diff);
}

static void run_jose_known_answers(void)
{
    cJSON *v7638 = vec_load("jose/rfc7638.json", AA_CHECKS(&v_jose_7638));
    cJSON *v8037 = vec_load("jose/rfc8037.json", AA_CHECKS(&v_jose_8037_tp, &v_jose_8037_jws));
    cJSON *vseed = vec_load("jose/seed_agent_token.json", AA_CHECKS(&v_jose_seed));

    if (v7638 != NULL)
        thumbprint_check(&v_jose_7638, cJSON_GetObjectItemCaseSensitive(v7638, "jwk"),
                         vec_str(v7638, "thumbprint"));
    if (v8037 != NULL) {
        thumbprint_check(&v_jose_8037_tp, cJSON_GetObjectItemCaseSensitive(v8037, "a2_public_jwk"),
                         vec_str(v8037, "a3_thumbprint"));
        rfc8037_jws(v8037);
    }
    if (vseed != NULL)
        seed_token(vseed);
    cJSON_Delete(v7638);
    cJSON_Delete(v8037);
    cJSON_Delete(vseed);
}

/* ---- RFC 8032 §7.1 --------------------------------------------------------------- */

#define RFC8032_CHECK(cname_, slug_, test_)                                                        \
    AA_CHECK(cname_, .id = "vectors.jose.rfc8032-" slug_, .suite = "vectors",                      \
             .title = "RFC 8032 §7.1 " test_ " Ed25519 public key and signature",                  \
             .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.10",                 \
             .rfc = "RFC8032#7.1",                                                                 \
             .expect = "the public key derived from the secret and the signature of the message "  \
                       "equal " test_ " byte for byte; the signature verifies and fails with "     \
                       "one bit flipped")

RFC8032_CHECK(v_8032_1, "test-1", "TEST 1");
RFC8032_CHECK(v_8032_2, "test-2", "TEST 2");
RFC8032_CHECK(v_8032_3, "test-3", "TEST 3");
RFC8032_CHECK(v_8032_abc, "test-sha-abc", "TEST SHA(abc)");

static const struct {
    const char *name;
    const struct aa_check *check;
} rfc8032_tests[] = {
    {"TEST 1", &v_8032_1},
    {"TEST 2", &v_8032_2},
    {"TEST 3", &v_8032_3},
    {"TEST SHA(abc)", &v_8032_abc},
};

static void rfc8032_one(const struct aa_check *c, const cJSON *t)
{
    const char *want_pub = vec_str(t, "public_key"), *want_sig = vec_str(t, "signature");
    const char *pre = vec_str(t, "message_is_sha512_of");
    uint8_t seed[32], msg[RFC8032_MSG_MAX], sig[AA_CRYPTO_SIG_MAX], raw[64];
    char pub_hex[2 * sizeof(raw) + 1], sig_hex[2 * 64 + 1];
    size_t seed_len = 0, msg_len = 0, sig_len = 0, raw_len = 0;
    struct aa_jwk k = {0}, pub = {0};
    struct aa_buf x;
    int rc;

    aa_buf_init(&x, 256);
    if (want_pub == NULL || want_sig == NULL ||
        !vec_unhex(vec_str(t, "secret_key"), seed, sizeof(seed), &seed_len) ||
        seed_len != sizeof(seed) || !vec_unhex(vec_str(t, "message"), msg, sizeof(msg), &msg_len)) {
        aa_check_error(c, "%s lacks a 32-byte secret_key, a message, public_key or signature",
                       vec_str(t, "name"));
        goto out;
    }
    if ((rc = aa_jwk_from_ed25519_seed(seed, "rfc8032", &k)) != AA_OK ||
        (rc = aa_jwk_public_member(&k, "x", &x)) != AA_OK ||
        (rc = aa_b64_decode(x.p, x.len, AA_B64_URL, AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS, raw,
                            sizeof(raw), &raw_len, NULL)) != AA_OK) {
        vec_record_rc(c, "deriving the public key", rc, NULL);
        goto out;
    }
    vec_tohex(raw, raw_len, pub_hex);
    aa_conf_note("%s: public key %s", vec_str(t, "name"), pub_hex);
    if (strcmp(pub_hex, want_pub) != 0) {
        aa_check_fail(c, want_pub, pub_hex, "public key differs");
        goto out;
    }
    if ((rc = aa_crypto_sign(AA_ALG_ED25519, &k, msg, msg_len, sig, sizeof(sig), &sig_len)) !=
            AA_OK ||
        sig_len != 64) {
        vec_record_rc(c, "signing", rc != AA_OK ? rc : AA_E_INTERNAL, NULL);
        goto out;
    }
    vec_tohex(sig, sig_len, sig_hex);
    aa_conf_note("%s: signature %s", vec_str(t, "name"), sig_hex);
    if (strcmp(sig_hex, want_sig) != 0) {
        aa_check_fail(c, want_sig, sig_hex, "signature differs (Ed25519 is deterministic)");
        goto out;
    }
    if ((rc = aa_jwk_public(&pub, &k)) != AA_OK) {
        aa_check_fault(c, "taking the public half", rc, NULL);
        goto out;
    }
    if ((rc = aa_crypto_verify(AA_ALG_ED25519, &pub, msg, msg_len, sig, sig_len)) != AA_OK) {
        aa_check_fail(c, c->expect, aa_conf_strerror(rc), "the signature does not verify");
        goto out;
    }
    sig[sig_len - 1] ^= 0x40;
    if ((rc = aa_crypto_verify(AA_ALG_ED25519, &pub, msg, msg_len, sig, sig_len)) !=
        AA_E_CRYPTO_BADSIG) {
        aa_check_fail(c, aa_conf_strerror(AA_E_CRYPTO_BADSIG),
                      rc == AA_OK ? "verifies" : aa_conf_strerror(rc),
                      "one flipped bit must not verify");
        goto out;
    }
    if (pre != NULL) {
        uint8_t h[64];
        aa_sha512(pre, strlen(pre), h);
        if (msg_len != sizeof(h) || memcmp(h, msg, sizeof(h)) != 0) {
            aa_check_fail(c, "message = SHA-512(\"abc\")", "another message",
                          "the vector's message is not SHA-512 of \"%s\"", pre);
            goto out;
        }
    }
    aa_check_pass(c, "public key %s, signature %s", pub_hex, sig_hex);
out:
    aa_buf_free(&x);
    aa_cleanse(seed, sizeof(seed));
    aa_jwk_cleanup(&pub);
    aa_jwk_cleanup(&k);
}

static void run_rfc8032(void)
{
    static const struct aa_check *const all[] = {&v_8032_1, &v_8032_2, &v_8032_3, &v_8032_abc,
                                                 NULL};
    cJSON *v = vec_load("jose/rfc8032.json", all);
    const cJSON *t;

    if (v == NULL)
        return;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(v, "tests"))
    {
        const char *name = vec_str(t, "name");
        for (size_t i = 0; name != NULL && i < sizeof(rfc8032_tests) / sizeof(rfc8032_tests[0]);
             i++)
            if (strcmp(name, rfc8032_tests[i].name) == 0)
                rfc8032_one(rfc8032_tests[i].check, t);
    }
    for (size_t i = 0; i < sizeof(rfc8032_tests) / sizeof(rfc8032_tests[0]); i++) {
        bool recorded = false;
        (void)aa_check_outcome(rfc8032_tests[i].check, &recorded);
        if (!recorded)
            aa_check_error(rfc8032_tests[i].check, "rfc8032.json has no \"%s\"",
                           rfc8032_tests[i].name);
    }
    cJSON_Delete(v);
}

/* ---- RFC 8037 A.5, RFC 7515 A.2 / A.3 ---------------------------------------------- */

AA_CHECK(v_8037_a5, .id = "vectors.jose.rfc8037-a5-verify", .suite = "vectors",
         .title = "RFC 8037 A.5: the A.4 JWS verified with the A.2 public key",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.10", .rfc = "RFC8037#A.5",
         .expect = "alg EdDSA, payload \"Example of Ed25519 signing\", verifies with the A.2 "
                   "key; with one signature bit flipped AA_E_JWS_SIGNATURE");

AA_CHECK(v_7515_a2, .id = "vectors.jose.rfc7515-a2-rs256", .suite = "vectors",
         .title = "RFC 7515 A.2 RS256 JWS verified", .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.1", .rfc = "RFC7515#A.2",
         .expect = "parses as a JWT (iss joe, the vector's exp), verifies with the A.2 RSA "
                   "public key; with one signature bit flipped AA_E_JWS_SIGNATURE");

AA_CHECK(v_7515_a3, .id = "vectors.jose.rfc7515-a3-es256", .suite = "vectors",
         .title = "RFC 7515 A.3 ES256 JWS verified", .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.1", .rfc = "RFC7515#A.3",
         .expect = "parses as a JWT (iss joe, the vector's exp), verifies with the A.3 P-256 "
                   "public key; with one signature bit flipped AA_E_JWS_SIGNATURE");

/* |t| verifies with |k|; with one signature bit flipped it does not. */
static void jws_verify_and_flip(const struct aa_check *c, struct aa_jwt *t, const struct aa_jwk *k,
                                const char *evidence)
{
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    if ((rc = aa_jwt_verify(t, k, &d)) != AA_OK) {
        vec_record_rc(c, "verifying", rc, &d);
        return;
    }
    t->sig[t->sig_len / 2] ^= 0x01;
    rc = aa_jwt_verify(t, k, NULL);
    t->sig[t->sig_len / 2] ^= 0x01;
    if (rc != AA_E_JWS_SIGNATURE)
        aa_check_fail(c, aa_conf_strerror(AA_E_JWS_SIGNATURE),
                      rc == AA_OK ? "verifies" : aa_conf_strerror(rc),
                      "one flipped signature bit must not verify");
    else
        aa_check_pass(c, "%s; one bit flipped: %s", evidence, aa_conf_strerror(rc));
}

static void rfc8037_a5(const cJSON *v)
{
    const char *jws = vec_str(v, "a4_jws"), *payload = vec_str(v, "a4_payload");
    struct aa_jwk pub = {0};
    struct aa_jwt t;
    struct aa_diag d;
    int rc;

    memset(&t, 0, sizeof(t));
    aa_diag_clear(&d);
    if (jws == NULL || payload == NULL ||
        vec_jwk(cJSON_GetObjectItemCaseSensitive(v, "a2_public_jwk"), AA_JWK_PUBLIC_ONLY, &pub,
                &d) != AA_OK) {
        aa_check_error(&v_8037_a5, "RFC 8037 vector lacks a4_jws, a4_payload or a2_public_jwk: %s",
                       d.msg);
        goto out;
    }
    aa_conf_note("RFC 8037 A.5: %s", jws);
    if ((rc = aa_jws_parse(jws, strlen(jws), AA_JWS_RAW_PAYLOAD, &t, &d)) != AA_OK) {
        vec_record_rc(&v_8037_a5, "parsing the A.4 JWS", rc, &d);
        goto out;
    }
    if (t.alg != AA_ALG_ED25519 || t.payload_len != strlen(payload) ||
        memcmp(t.payload, payload, t.payload_len) != 0) {
        aa_check_fail(&v_8037_a5, v_8037_a5.expect, t.alg_name ? t.alg_name : "(no alg)",
                      "alg or payload differs from the vector");
        goto out;
    }
    jws_verify_and_flip(&v_8037_a5, &t, &pub, "EdDSA, verifies with the A.2 key");
out:
    aa_jwt_cleanup(&t);
    aa_jwk_cleanup(&pub);
}

static void rfc7515_one(const struct aa_check *c, const cJSON *v, const char *key_member,
                        const char *jws_member, enum aa_alg want_alg)
{
    const char *jws = vec_str(v, jws_member);
    struct aa_jwk pub = {0};
    struct aa_jwt t;
    struct aa_diag d;
    int64_t exp = 0, want_exp = 0;
    const char *iss;
    char evidence[128];
    int rc;

    memset(&t, 0, sizeof(t));
    aa_diag_clear(&d);
    if (jws == NULL || !aa_json_int(v, "payload_exp", &want_exp) ||
        vec_jwk(cJSON_GetObjectItemCaseSensitive(v, key_member), AA_JWK_PUBLIC_ONLY, &pub, &d) !=
            AA_OK) {
        aa_check_error(c, "RFC 7515 vector lacks %s, %s or payload_exp: %s", jws_member, key_member,
                       d.msg);
        goto out;
    }
    aa_conf_note("%s: %s", c->rfc, jws);
    if ((rc = aa_jwt_parse(jws, strlen(jws), &t, &d)) != AA_OK) {
        vec_record_rc(c, "parsing the JWS", rc, &d);
        goto out;
    }
    iss = aa_jwt_claim_str(&t, "iss");
    if (t.alg != want_alg || !aa_jwt_claim_int(&t, "exp", &exp) || exp != want_exp || iss == NULL ||
        strcmp(iss, "joe") != 0) {
        aa_check_fail(c, c->expect, t.alg_name ? t.alg_name : "(no alg)",
                      "alg, exp or iss differs from the vector (exp %lld, iss %s)", (long long)exp,
                      iss ? iss : "-");
        goto out;
    }
    aa_snprintf(evidence, sizeof(evidence), "%s, iss joe, exp %lld, verifies", t.alg_name,
                (long long)exp);
    jws_verify_and_flip(c, &t, &pub, evidence);
out:
    aa_jwt_cleanup(&t);
    aa_jwk_cleanup(&pub);
}

static void run_rfc8037_rfc7515(void)
{
    cJSON *v8037 = vec_load("jose/rfc8037.json", AA_CHECKS(&v_8037_a5));
    cJSON *v7515 = vec_load("jose/rfc7515.json", AA_CHECKS(&v_7515_a2, &v_7515_a3));

    if (v8037 != NULL)
        rfc8037_a5(v8037);
    if (v7515 != NULL) {
        rfc7515_one(&v_7515_a2, v7515, "a2_public_jwk", "a2_jws", AA_ALG_RS256);
        rfc7515_one(&v_7515_a3, v7515, "a3_public_jwk", "a3_jws", AA_ALG_ES256);
    }
    cJSON_Delete(v8037);
    cJSON_Delete(v7515);
}

/* ---- the cases --------------------------------------------------------------------- */
/*
 * One case per vector directory: each case is a process of its own, and
 * the suite stays fast with few of them. Every file starts its part of the
 * transcript with "vector file <path>", so the evidence of a check is the
 * part after its file's line.
 */

AA_CASE(vectors, httpsig_rfc,
        .title =
            "RFC 9421 Appendix B.2 and §2.4, RFC 9530 (vectors/httpsig/rfc9421_appendix_b.json, "
            "rfc9421_req_response.json, rfc9530.json)",
        .checks = AA_CHECKS(&v_b21_base, &v_b22_base, &v_b23_base, &v_b24_base, &v_b25_base,
                            &v_b26_base, &v_b21_verify, &v_b22_verify, &v_b23_verify, &v_b24_verify,
                            &v_b26_sig, &v_b25_hmac, &v_rr_base, &v_rr_verify, &v_9530))
{
    run_rfc9421_appendix_b();
    run_rfc9421_req_response();
    run_rfc9530();
}

AA_CASE(vectors, jose,
        .title = "JOSE known answers: RFC 7638, RFC 8037 App. A, RFC 8032 §7.1, RFC 7515 A.2/A.3, "
                 "the seed token (vectors/jose/*.json but negative.json)",
        .checks = AA_CHECKS(&v_jose_7638, &v_jose_8037_tp, &v_jose_8037_jws, &v_jose_seed,
                            &v_8032_1, &v_8032_2, &v_8032_3, &v_8032_abc, &v_8037_a5, &v_7515_a2,
                            &v_7515_a3))
{
    run_jose_known_answers();
    run_rfc8032();
    run_rfc8037_rfc7515();
}
