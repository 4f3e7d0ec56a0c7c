/*
 * vectors: offline checks of the harness's own protocol machinery against
 * the fixed vectors in vectors/ (role "core": no implementation under
 * test). They show that the verdicts the online suites give rest on
 * correct parsing, signature bases, signatures and thumbprints. This file:
 *
 *   - vectors/sf/negative.json: Structured Field inputs an AAuth receiver
 *     meets, rejected (or typed) exactly as the vector says;
 *   - PROFILE#2.12 vector S1: the seed's base64url Signature is flagged,
 *     does not verify over the RFC 9421 base, and is diagnosed as the
 *     legacy dialect;
 *   - PROFILE#2.12 Examples A and B: signature bases, Content-Digest and
 *     Ed25519 signatures reproduced byte for byte, and verified;
 *   - vectors/seed-flow: the seed's F6 flow checked from the file alone.
 *
 * The RFC known answers of vectors/httpsig and vectors/jose are in
 * vectors_known.c, the negative files (httpsig, jose, aauth) in
 * vectors_negative.c; what they share (loading, the SKIP / ERROR policy,
 * failure lists) in vectors_common.c.
 *
 * Design choice: where one check rests on another (an example's signature
 * on its base), a failed first check makes the second "not evaluated", a
 * failure (D-31), instead of comparing against a base known to be wrong.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aa_runner.h"
#include "aauth/aa_aauth.h"
#include "httpsig/aa_httpsig.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"
#include "sf/aa_sf.h"
#include "vectors_common.h"

#define MAX_COMPONENTS 16

/* ---- checks ----------------------------------------------------------------- */

AA_CHECK(v_sf_rejected, .id = "vectors.sf.negative-rejected", .suite = "vectors",
         .title = "SF negative vectors (vectors/sf/negative.json) are rejected",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.1", .rfc = "RFC8941#4.2",
         .expect = "every must_fail case fails with the error code, citation and message the "
                   "vector names");

AA_CHECK(v_sf_typed, .id = "vectors.sf.valid-but-profile-invalid", .suite = "vectors",
         .title = "SF vectors that parse but break the profile report their type",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.1", .rfc = "RFC8941#4.2",
         .expect = "the parser reports the vector's type, length and canonical form");

AA_CHECK(v_s1_sf, .id = "vectors.s1.sf-base64url-flagged", .suite = "vectors",
         .title = "seed Signature (S1) as an RFC 8941 Dictionary", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC8941#3.3.5",
         .expect = "rejected: byte sequence uses the base64url alphabet");

AA_CHECK(v_s1_enc, .id = "vectors.s1.signature-encoding-flagged", .suite = "vectors",
         .title = "seed Signature (S1) read as an HTTP signature", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#4.2",
         .expect = "AA_E_HTTPSIG_SIG_ENCODING naming base64url without padding");

AA_CHECK(v_s1_base, .id = "vectors.s1.rfc9421-base", .suite = "vectors",
         .title = "RFC 9421 signature base of the seed request (S1)", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#2.5",
         .expect = "byte-exact base_rfc9421 of the vector");

AA_CHECK(v_s1_invalid, .id = "vectors.s1.not-valid-rfc9421", .suite = "vectors",
         .title = "seed signature re-encoded as padded base64, verified over RFC 9421",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#3.2",
         .expect = "does not verify (AA_E_HTTPSIG_BAD_SIGNATURE): the seed did not sign this base");

AA_CHECK(v_s1_diag, .id = "vectors.s1.legacy-dialect-diagnosed", .suite = "vectors",
         .title = "diagnosis of the seed signature's dialect", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#2.5",
         .expect = "valid over the legacy base without @signature-params, Signature base64url "
                   "without padding");

AA_CHECK(v_a_base, .id = "vectors.example-a.base", .suite = "vectors",
         .title = "Example A (hwk GET with a query) signature base", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#2.5",
         .expect = "byte-exact base of PROFILE#2.12 Example A");

AA_CHECK(v_a_sig, .id = "vectors.example-a.signature", .suite = "vectors",
         .title = "Example A signed with the RFC 8032 TEST 1 key", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#3.3.6",
         .expect = "Signature-Input and Signature byte-exact as in PROFILE#2.12, and verifying");

AA_CHECK(v_b_digest, .id = "vectors.example-b.content-digest", .suite = "vectors",
         .title = "Example B Content-Digest of the 91-byte form body", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.8", .rfc = "RFC9530#2",
         .expect = "sha-256=:98weli1grwG/C86K4Gec2mtNfUmrqXo0H5+0dU95U2I=:");

AA_CHECK(v_b_base, .id = "vectors.example-b.base", .suite = "vectors",
         .title = "Example B (jwks POST with body and nonce) signature base", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#2.5",
         .expect = "byte-exact base of PROFILE#2.12 Example B");

AA_CHECK(v_b_sig, .id = "vectors.example-b.signature", .suite = "vectors",
         .title = "Example B signed with the RFC 8032 TEST 1 key", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#3.3.6",
         .expect = "Signature-Input and Signature byte-exact as in PROFILE#2.12, and verifying");

AA_CHECK(v_a_aauth, .id = "vectors.example-a.aauth-signer", .suite = "vectors",
         .title = "the harness's AAuth signer on Example A's request (hwk)", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#3.1",
         .expect = "Signature-Key, Signature-Input and Signature exactly as in PROFILE#2.12 "
                   "Example A (components in the signer order of PROFILE#2.4)");

AA_CHECK(v_b_aauth, .id = "vectors.example-b.aauth-signer", .suite = "vectors",
         .title = "the harness's AAuth signer on Example B's request (jwks, body, nonce)",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.12", .rfc = "RFC9421#3.1",
         .expect = "Content-Digest, Nonce, Signature-Key, Signature-Input and Signature exactly "
                   "as in PROFILE#2.12 Example B");

/* ---- Structured Fields ------------------------------------------------------- */

/* Parse |raw| as |type|; on success the dictionary (for "dictionary") is
 * kept in |dict| for inspection. */
static int sf_parse_as(const char *type, const char *raw, struct aa_sf_dict *dict,
                       struct aa_diag *d)
{
    size_t n = strlen(raw);

    if (strcmp(type, "dictionary") == 0)
        return aa_sf_parse_dict(raw, n, dict, d);
    if (strcmp(type, "list") == 0) {
        struct aa_sf_list l = {0};
        int rc = aa_sf_parse_list(raw, n, &l, d);
        if (rc == AA_OK)
            aa_sf_list_free(&l);
        return rc;
    }
    if (strcmp(type, "item") == 0) {
        struct aa_sf_item it;
        int rc;
        memset(&it, 0, sizeof(it));
        rc = aa_sf_parse_item(raw, n, &it, d);
        if (rc == AA_OK)
            aa_sf_item_free(&it);
        return rc;
    }
    return AA_E_INVAL;
}

static void sf_valid_case(const cJSON *c, const char *name, struct vec_faults *f)
{
    const char *raw = vec_str(c, "raw"), *member = vec_str(c, "member"),
               *param = vec_str(c, "param");
    const char *type = vec_str(c, "type"), *canon = vec_str(c, "canonical");
    const cJSON *blen = cJSON_GetObjectItemCaseSensitive(c, "bytes_len");
    struct aa_sf_dict dict = {0};
    const struct aa_sf_item *it;
    const struct aa_sf_bare *bare;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    if (raw == NULL || member == NULL || type == NULL) {
        vec_fault_add(f, name, "vector lacks raw/member/type");
        return;
    }
    if ((rc = aa_sf_parse_dict(raw, strlen(raw), &dict, &d)) != AA_OK) {
        vec_fault_add(f, name, "rejected (%s: %s), the vector says it parses", aa_strerror(rc),
                      d.msg);
        return;
    }
    if ((it = aa_sf_dict_get(&dict, member)) == NULL) {
        vec_fault_add(f, name, "member %s missing", member);
        goto out;
    }
    bare = &it->bare;
    if (param != NULL && (bare = aa_sf_params_get(&it->params, param)) == NULL) {
        vec_fault_add(f, name, "parameter %s missing", param);
        goto out;
    }
    if (strcmp(aa_sf_type_name(bare->type), type) != 0)
        vec_fault_add(f, name, "type %s, the vector says %s", aa_sf_type_name(bare->type), type);
    else if (cJSON_IsNumber(blen) && (double)bare->len != blen->valuedouble)
        vec_fault_add(f, name, "%zu bytes, the vector says %d", bare->len, blen->valueint);
    if (canon != NULL) {
        struct aa_buf b;
        aa_buf_init(&b, 65536);
        if (aa_sf_serialize_dict(&dict, &b, NULL) != AA_OK || b.p == NULL ||
            strcmp(b.p, canon) != 0)
            vec_fault_add(f, name, "serialises as \"%s\", the vector says \"%s\"", b.p ? b.p : "",
                          canon);
        aa_buf_free(&b);
    }
out:
    aa_sf_dict_free(&dict);
}

AA_CASE(vectors, sf_negative, .title = "vectors/sf/negative.json",
        .checks = AA_CHECKS(&v_sf_rejected, &v_sf_typed))
{
    cJSON *v = vec_load("sf/negative.json", AA_CHECKS(&v_sf_rejected, &v_sf_typed));
    const cJSON *c;
    struct vec_faults rej, typ;
    int n_rej = 0, n_typ = 0;

    if (v == NULL)
        return;
    vec_faults_init(&rej);
    vec_faults_init(&typ);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        const char *name = vec_str(c, "name"), *raw = vec_str(c, "raw"),
                   *ht = vec_str(c, "header_type");
        const char *ref = vec_str(c, "ref"), *contains = vec_str(c, "message_contains");
        struct aa_sf_dict dict = {0};
        struct aa_diag d;
        int want = 0, rc;

        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "must_fail"))) {
            n_typ++;
            sf_valid_case(c, name, &typ);
            continue;
        }
        n_rej++;
        if (raw == NULL || ht == NULL || !vec_code(vec_str(c, "error"), &want)) {
            vec_fault_add(&rej, name, "vector lacks raw/header_type or names an unknown error");
            continue;
        }
        aa_diag_clear(&d);
        rc = sf_parse_as(ht, raw, &dict, &d);
        if (rc == AA_OK) {
            aa_sf_dict_free(&dict);
            vec_fault_add(&rej, name, "accepted, must fail with %s", vec_str(c, "error"));
        } else if (rc != want) {
            vec_fault_add(&rej, name, "%s, the vector says %s", aa_strerror(rc),
                          vec_str(c, "error"));
        } else if (ref != NULL && (d.ref == NULL || strcmp(d.ref, ref) != 0)) {
            vec_fault_add(&rej, name, "cites %s, the vector says %s", d.ref ? d.ref : "nothing",
                          ref);
        } else if (contains != NULL && strstr(d.msg, contains) == NULL) {
            vec_fault_add(&rej, name, "message \"%s\" lacks \"%s\"", d.msg, contains);
        }
    }
    vec_faults_record(&v_sf_rejected, &rej, n_rej);
    vec_faults_record(&v_sf_typed, &typ, n_typ);
    cJSON_Delete(v);
}

static int jwk_of(const cJSON *o, struct aa_jwk *k, struct aa_diag *d)
{
    return vec_jwk(o, 0, k, d);
}

/* "sig1=:…:" -> the value between the colons (a view into |field|). */
static const char *field_value(const char *field, const char *label)
{
    size_t n = strlen(label);
    return strncmp(field, label, n) == 0 && field[n] == '=' ? field + n + 1 : NULL;
}

/* ---- vector S1 (PROFILE#2.12) -------------------------------------------------- */

static void run_s1(void)
{
    static const struct aa_check *const all[] = {&v_s1_sf,      &v_s1_enc,  &v_s1_base,
                                                 &v_s1_invalid, &v_s1_diag, NULL};
    cJSON *v = vec_load("httpsig/profile_examples.json", all);
    const cJSON *s1;
    struct vec_msg vm;
    struct aa_jwk key = {0};
    struct aa_sf_dict dict = {0};
    struct aa_httpsig_input in;
    struct aa_httpsig_diagnosis dg;
    struct aa_buf base;
    struct aa_diag d;
    const char *sig, *sig_ok, *si, *want_base;
    uint8_t raw[128];
    size_t raw_len = 0;
    int rc;

    if (v == NULL)
        return;
    memset(&in, 0, sizeof(in));
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    s1 = cJSON_GetObjectItemCaseSensitive(v, "s1");
    sig = vec_str(s1, "signature");
    sig_ok = vec_str(s1, "signature_conformant_spelling");
    si = vec_str(s1, "signature_input");
    want_base = vec_str(s1, "base_rfc9421");
    aa_diag_clear(&d);
    if (sig == NULL || sig_ok == NULL || si == NULL || want_base == NULL ||
        !vec_load_msg(cJSON_GetObjectItemCaseSensitive(s1, "message"), &vm) ||
        (rc = jwk_of(cJSON_GetObjectItemCaseSensitive(s1, "delegate_jwk"), &key, &d)) != AA_OK) {
        for (const struct aa_check *const *p = all; *p; p++)
            aa_check_error(*p,
                           "vector s1 is incomplete (signature, signature_input, "
                           "base_rfc9421, message, delegate_jwk): %s",
                           d.msg);
        goto out;
    }
    aa_conf_note("Signature: %s\nSignature-Input: %s", sig, si);

    /* 1. SF: the member is not a Byte Sequence (the '_' is illegal). */
    aa_diag_clear(&d);
    rc = aa_sf_parse_dict(sig, strlen(sig), &dict, &d);
    if (rc == AA_OK) {
        aa_sf_dict_free(&dict);
        aa_check_fail(&v_s1_sf, v_s1_sf.expect, "accepted as a valid Dictionary", NULL);
    } else {
        aa_expect_true(&v_s1_sf, rc == AA_E_SF_BYTES && strstr(d.msg, "base64url") != NULL,
                       v_s1_sf.expect, "%s: %s", aa_strerror(rc), d.msg);
    }

    /* 2. HTTPSig: the encoding is named. */
    aa_diag_clear(&d);
    rc = aa_httpsig_parse_signature(aa_str_c(sig), "sig1", raw, sizeof(raw), &raw_len, NULL, &d);
    aa_expect_true(&v_s1_enc, rc == AA_E_HTTPSIG_SIG_ENCODING && strstr(d.msg, "base64url"),
                   v_s1_enc.expect, "%s: %s", aa_strerror(rc), d.msg);

    /* 3. The RFC 9421 base the seed should have signed. */
    aa_diag_clear(&d);
    rc = aa_httpsig_parse_input(aa_str_c(si), "sig1", &in, &d);
    if (rc == AA_OK)
        rc = aa_httpsig_build_base(&vm.m, &in.list, 0, &base, &d);
    if (rc != AA_OK)
        aa_check_fault(&v_s1_base, "building the S1 base", rc, &d);
    else
        aa_expect_str(&v_s1_base, "signature base", want_base, base.p);
    if (base.p != NULL)
        aa_conf_note_block("S1 signature base (RFC 9421)", base.p, base.len);

    /* 4. The same 64 bytes, spelled conformantly, do not verify over it. */
    aa_diag_clear(&d);
    {
        struct aa_httpsig_verify_opts vo = {0};
        vo.now = 1768786221;
        vo.max_skew = -1;
        rc = aa_httpsig_verify(&vm.m, aa_str_c(si), aa_str_c(sig_ok), "sig1", &key, &vo, NULL, &d);
    }
    if (rc == AA_OK)
        aa_check_fail(&v_s1_invalid, v_s1_invalid.expect, "verifies",
                      "the seed signature must not verify over the RFC 9421 base");
    else if (aa_err_is_fault(rc))
        aa_check_fault(&v_s1_invalid, "verifying S1", rc, &d);
    else
        aa_expect_true(&v_s1_invalid, rc == AA_E_HTTPSIG_BAD_SIGNATURE, v_s1_invalid.expect,
                       "%s: %s", aa_strerror(rc), d.msg);

    /* 5. What it is instead: the legacy base, base64url without padding. */
    aa_diag_clear(&d);
    memset(&dg, 0, sizeof(dg));
    rc =
        aa_httpsig_diagnose(&vm.m, aa_str_c(si), aa_str_c(sig), "sig1", &key, AA_ALG_NONE, &dg, &d);
    if (rc != AA_OK)
        aa_check_fault(&v_s1_diag, "diagnosing S1", rc, &d);
    else
        aa_expect_true(&v_s1_diag,
                       dg.found && (dg.base_flags & AA_HTTPSIG_BASE_LEGACY) &&
                           dg.enc == AA_HTTPSIG_ENC_URL_UNPADDED,
                       v_s1_diag.expect, "%s", dg.text);
out:
    aa_httpsig_input_cleanup(&in);
    aa_buf_free(&base);
    aa_jwk_cleanup(&key);
    cJSON_Delete(v);
}

/* ---- Examples A and B (PROFILE#2.12) -------------------------------------------- */

static bool rfc8032_test1(const cJSON *keyobj, struct aa_jwk *k)
{
    uint8_t seed[32];
    size_t n = 0;

    if (!vec_unhex(vec_str(keyobj, "rfc8032_test1_secret_hex"), seed, sizeof(seed), &n) ||
        n != sizeof(seed))
        return false;
    return aa_jwk_from_ed25519_seed(seed, "test1", k) == AA_OK;
}

/* Base, signature and verification of one worked example. */
static void example(const cJSON *ex, const struct aa_jwk *priv, const struct aa_jwk *pub,
                    const struct aa_check *c_base, const struct aa_check *c_sig,
                    const struct aa_check *c_digest)
{
    const char *si = vec_str(ex, "signature_input"), *sig = vec_str(ex, "signature");
    const char *want_base = vec_str(ex, "base"), *label = vec_str(ex, "label");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(ex, "created");
    struct aa_httpsig_component comps[MAX_COMPONENTS];
    struct aa_httpsig_params params;
    struct aa_httpsig_signed sg;
    struct aa_httpsig_input in;
    struct aa_buf base;
    struct aa_diag d;
    struct vec_msg vm;
    size_t n = 0;
    int rc;

    memset(&in, 0, sizeof(in));
    memset(&params, 0, sizeof(params));
    aa_httpsig_signed_init(&sg);
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    aa_diag_clear(&d);
    if (si == NULL || sig == NULL || want_base == NULL || label == NULL ||
        !cJSON_IsNumber(created) ||
        !vec_load_msg(cJSON_GetObjectItemCaseSensitive(ex, "message"), &vm)) {
        aa_check_error(c_base, "example %s is incomplete", vec_str(ex, "name"));
        aa_check_error(c_sig, "example %s is incomplete", vec_str(ex, "name"));
        if (c_digest != NULL)
            aa_check_error(c_digest, "example %s is incomplete", vec_str(ex, "name"));
        goto out;
    }
    aa_conf_note("%s: %.*s %.*s (authority %.*s)", vec_str(ex, "section"), (int)vm.m.method.len,
                 vm.m.method.p, (int)vm.m.target.len, vm.m.target.p, (int)vm.m.authority.len,
                 vm.m.authority.p);

    if (c_digest != NULL) {
        struct aa_buf dg;
        const char *want = vec_str(ex, "content_digest");
        aa_buf_init(&dg, 1024);
        if (aa_httpsig_create_digest(vm.m.body, vm.m.body_len, AA_DIGEST_SHA256, &dg) != AA_OK)
            aa_check_error(c_digest, "cannot compute the Content-Digest");
        else
            aa_expect_str(c_digest, "Content-Digest", want, dg.p);
        aa_buf_free(&dg);
    }

    rc = aa_httpsig_parse_input(aa_str_c(si), label, &in, &d);
    if (rc == AA_OK)
        rc = aa_httpsig_build_base(&vm.m, &in.list, 0, &base, &d);
    if (rc != AA_OK) {
        aa_check_fault(c_base, "building the base", rc, &d);
        aa_check_not_evaluated(c_base, AA_CHECKS(c_sig));
        goto out;
    }
    aa_conf_note_block("signature base", base.p, base.len);
    if (!aa_expect_str(c_base, "signature base", want_base, base.p)) {
        aa_check_not_evaluated(c_base, AA_CHECKS(c_sig));
        goto out;
    }

    /* Sign the same components with created only (D-11), as a signer
     * following the profile would, and compare both header values. */
    for (size_t i = 0; i < in.list.n_inner && n < MAX_COMPONENTS; i++, n++) {
        memset(&comps[n], 0, sizeof(comps[n]));
        comps[n].name = in.list.inner[i].bare.s;
    }
    params.has_created = true;
    params.created = (int64_t)created->valuedouble;
    aa_diag_clear(&d);
    rc = aa_httpsig_sign(&vm.m, label, comps, n, &params, AA_ALG_ED25519, priv, &sg, &d);
    if (rc != AA_OK) {
        aa_check_fault(c_sig, "signing", rc, &d);
        goto out;
    }
    if (sg.input.p == NULL || strcmp(sg.input.p, si) != 0) {
        aa_check_fail(c_sig, si, sg.input.p ? sg.input.p : "(none)", "Signature-Input differs");
        goto out;
    }
    if (sg.signature.p == NULL || strcmp(sg.signature.p, sig) != 0) {
        aa_check_fail(c_sig, sig, sg.signature.p ? sg.signature.p : "(none)",
                      "Ed25519 is deterministic: the same key and base give the same signature");
        goto out;
    }
    {
        struct aa_httpsig_verify_opts vo = {0};
        vo.now = params.created;
        vo.check_time = true;
        vo.require_created = true;
        vo.max_skew = 60;
        aa_diag_clear(&d);
        rc = aa_httpsig_verify(&vm.m, aa_str_c(si), aa_str_c(sig), label, pub, &vo, NULL, &d);
        if (rc == AA_OK)
            aa_check_pass(c_sig, "%s", field_value(sig, label) ? field_value(sig, label) : sig);
        else
            aa_check_fail(c_sig, "verifies with the public key", d.msg, "%s", aa_strerror(rc));
    }
out:
    aa_httpsig_signed_cleanup(&sg);
    aa_httpsig_input_cleanup(&in);
    aa_buf_free(&base);
}

static void run_examples(void)
{
    static const struct aa_check *const all[] = {&v_a_base, &v_a_sig, &v_b_digest,
                                                 &v_b_base, &v_b_sig, NULL};
    cJSON *v = vec_load("httpsig/profile_examples.json", all);
    const cJSON *key, *ex;
    struct aa_jwk priv = {0}, pub = {0};
    struct aa_diag d;
    char tp[AA_JWK_THUMBPRINT_LEN + 1];

    if (v == NULL)
        return;
    aa_diag_clear(&d);
    key = cJSON_GetObjectItemCaseSensitive(v, "key");
    if (!rfc8032_test1(key, &priv) ||
        jwk_of(cJSON_GetObjectItemCaseSensitive(key, "jwk"), &pub, &d) != AA_OK ||
        aa_jwk_thumbprint(&pub, tp) != AA_OK || vec_str(key, "thumbprint") == NULL ||
        strcmp(tp, vec_str(key, "thumbprint")) != 0 || !aa_jwk_same_key(&priv, &pub)) {
        for (const struct aa_check *const *p = all; *p; p++)
            aa_check_error(*p,
                           "the RFC 8032 TEST 1 key of the vector does not load or does "
                           "not match its JWK/thumbprint: %s",
                           d.msg);
        goto out;
    }
    cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(v, "examples"))
    {
        const char *name = vec_str(ex, "name");
        if (name != NULL && strcmp(name, "example-a") == 0)
            example(ex, &priv, &pub, &v_a_base, &v_a_sig, NULL);
        else if (name != NULL && strcmp(name, "example-b") == 0)
            example(ex, &priv, &pub, &v_b_base, &v_b_sig, &v_b_digest);
    }
    /* A vector file without one of the examples leaves its checks for the
     * parent to report as unrecorded; say why here instead. */
    aa_check_not_evaluated(NULL, all);
out:
    aa_jwk_cleanup(&priv);
    aa_jwk_cleanup(&pub);
    cJSON_Delete(v);
}

/* ---- the profile signer on Examples A and B (PROFILE#2.12) ------------------- */

static int64_t vector_now(void *ctx)
{
    return *(const int64_t *)ctx;
}

/* Value of the vector message's header |name| (case-insensitive), or NULL. */
static const char *vector_header(const cJSON *msg, const char *name)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(msg, "headers"))
    {
        const cJSON *hn = cJSON_GetArrayItem(e, 0), *hv = cJSON_GetArrayItem(e, 1);
        if (cJSON_IsString(hn) && cJSON_IsString(hv) && strcasecmp(hn->valuestring, name) == 0)
            return hv->valuestring;
    }
    return NULL;
}

/* Compare one emitted header value with the example's; appends to |diff|. */
static void same(struct aa_buf *diff, const char *what, const char *want, const char *got)
{
    if (want == NULL && got == NULL)
        return;
    if (want == NULL || got == NULL || strcmp(want, got) != 0)
        aa_buf_printf(diff, "%s%s: expected %s, got %s", diff->len ? "; " : "", what,
                      want ? want : "(none)", got ? got : "(none)");
}

static void aauth_signer_example(const cJSON *ex, const struct aa_jwk *priv,
                                 const struct aa_check *c)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ex, "message");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(ex, "created");
    const char *skv = vector_header(msg, "Signature-Key"), *ct = vector_header(msg, "Content-Type");
    const char *nonce = vector_header(msg, "Nonce"), *body = vec_str(msg, "body");
    struct aa_sign_request req = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts opts = {0};
    struct aa_http_headers h;
    struct aa_clock clock;
    struct aa_sigkey sk;
    struct aa_signed sg;
    struct aa_buf diff;
    struct aa_diag d;
    int64_t now;
    int rc;

    memset(&sk, 0, sizeof(sk));
    memset(&sg, 0, sizeof(sg));
    aa_http_headers_init(&h);
    aa_buf_init(&diff, AA_CASE_MAX_FIELD);
    aa_diag_clear(&d);
    if (skv == NULL || !cJSON_IsNumber(created) || vec_str(msg, "method") == NULL ||
        vec_str(msg, "authority") == NULL || vec_str(msg, "target") == NULL) {
        aa_check_error(c, "example %s lacks Signature-Key, created or the request line",
                       vec_str(ex, "name"));
        goto out;
    }
    if ((rc = aa_sigkey_parse(NULL, skv, strlen(skv), &sk, &d)) != AA_OK) {
        aa_check_fault(c, "parsing the example's Signature-Key", rc, &d);
        goto out;
    }
    /* The credential as a suite would describe it; the signer serialises it. */
    cred.scheme = sk.scheme;
    cred.id = aa_sigkey_get(&sk, "id");
    cred.kid = aa_sigkey_get(&sk, "kid");
    cred.well_known = aa_sigkey_get(&sk, "well-known");
    now = (int64_t)created->valuedouble;
    clock.now = vector_now;
    clock.ctx = &now;
    opts.clock = &clock;
    opts.nonce_mode = nonce != NULL ? AA_SIGN_NONCE_GIVEN : AA_SIGN_NONCE_NONE;
    opts.nonce = nonce;
    if (ct != NULL && aa_http_headers_add(&h, "Content-Type", ct) != AA_OK) {
        aa_check_error(c, "out of memory");
        goto out;
    }
    req.method = vec_str(msg, "method");
    req.authority = vec_str(msg, "authority");
    req.target = vec_str(msg, "target");
    req.headers = &h;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    rc = aa_aauth_sign(NULL, &req, priv, &cred, &opts, &sg, &d);
    if (rc != AA_OK) {
        if (aa_err_is_fault(rc))
            aa_check_fault(c, "aa_aauth_sign", rc, &d);
        else
            aa_check_fail(c, c->expect, d.msg, "%s", aa_strerror(rc));
        goto out;
    }
    if (sg.base != NULL)
        aa_conf_note_block("AAuth signer base", sg.base, sg.base_len);
    same(&diff, "Signature-Key", skv, sg.signature_key);
    same(&diff, "Signature-Input", vec_str(ex, "signature_input"), sg.signature_input);
    same(&diff, "Signature", vec_str(ex, "signature"), sg.signature);
    same(&diff, "Nonce", nonce, sg.nonce);
    same(&diff, "Content-Digest", vector_header(msg, "Content-Digest"), sg.content_digest);
    if (diff.len == 0)
        aa_check_pass(c, "%s", sg.signature);
    else
        aa_check_fail(c, c->expect, diff.p, "the profile signer deviates from PROFILE#2.12");
out:
    aa_signed_cleanup(&sg);
    aa_sigkey_cleanup(&sk);
    aa_http_headers_cleanup(&h);
    aa_buf_free(&diff);
}

static void run_aauth_signer(void)
{
    static const struct aa_check *const all[] = {&v_a_aauth, &v_b_aauth, NULL};
    cJSON *v = vec_load("httpsig/profile_examples.json", all);
    const cJSON *ex;
    struct aa_jwk priv = {0};

    if (v == NULL)
        return;
    if (!rfc8032_test1(cJSON_GetObjectItemCaseSensitive(v, "key"), &priv)) {
        for (const struct aa_check *const *p = all; *p; p++)
            aa_check_error(*p, "the RFC 8032 TEST 1 key of the vector does not load");
        goto out;
    }
    cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(v, "examples"))
    {
        const char *name = vec_str(ex, "name");
        if (name != NULL && strcmp(name, "example-a") == 0)
            aauth_signer_example(ex, &priv, &v_a_aauth);
        else if (name != NULL && strcmp(name, "example-b") == 0)
            aauth_signer_example(ex, &priv, &v_b_aauth);
    }
    aa_check_not_evaluated(NULL, all);
out:
    aa_jwk_cleanup(&priv);
    cJSON_Delete(v);
}

/* One case for the three parts that read vectors/httpsig/profile_examples.json:
 * each case is a process of its own, and the suite stays fast with few. */
AA_CASE(vectors, profile_examples,
        .title = "PROFILE#2.12 vector S1 and Examples A and B "
                 "(vectors/httpsig/profile_examples.json)",
        .checks = AA_CHECKS(&v_s1_sf, &v_s1_enc, &v_s1_base, &v_s1_invalid, &v_s1_diag, &v_a_base,
                            &v_a_sig, &v_b_digest, &v_b_base, &v_b_sig, &v_a_aauth, &v_b_aauth))
{
    run_s1();
    run_examples();
    run_aauth_signer();
}

/* ---- vectors/seed-flow (PROFILE#7.6) ------------------------------------------ */
/*
 * The recorded agent-delegation flow (vectors/seed-flow/README.md), checked
 * offline from the file alone: tokens against the fixed public keys the
 * file publishes, signature bases rebuilt from the recorded requests,
 * Content-Digest against the bodies, and the delegate binding of the
 * resource and auth tokens. (Regeneration byte for byte is
 * suites/unit/test_seed_vectors.c's job: it needs the ports 8001-8003.)
 */

AA_CHECK(v_seedflow_tokens, .id = "vectors.seed-flow.tokens-verify", .suite = "vectors",
         .title = "seed-flow tokens verify under the fixed issuer keys", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#4.1", .rfc = "RFC7515#5.2",
         .expect = "every agent, resource and auth token of vectors/seed-flow verifies under "
                   "the public key of its signing_key (kid matching), and fails with one "
                   "signature bit flipped");

AA_CHECK(v_seedflow_sigs, .id = "vectors.seed-flow.request-signatures", .suite = "vectors",
         .title = "seed-flow request signatures over bases rebuilt from the requests",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.7", .rfc = "RFC9421#3.2",
         .expect = "each recorded base is rebuilt byte for byte from its request, and each "
                   "signature verifies over it with the named key exactly when \"verifies\" "
                   "says so");

AA_CHECK(v_seedflow_digest, .id = "vectors.seed-flow.content-digest", .suite = "vectors",
         .title = "seed-flow Content-Digest of every signed body", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.8", .rfc = "RFC9530#2",
         .expect = "every signed request with a body carries the sha-256 Content-Digest of it");

AA_CHECK(v_seedflow_bind, .id = "vectors.seed-flow.delegate-binding", .suite = "vectors",
         .title = "seed-flow resource and auth tokens bound to the delegate key",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#7.6", .rfc = "RFC7800#3.1",
         .expect = "resource token agent_jkt and auth token cnf.jwk are the RFC 7638 thumbprint "
                   "of a delegate key; auth tokens carry agent = the agent server and "
                   "agent_delegate = delegate-1");

/* The public key |name| from the file's "keys" section. */
static int seedflow_key(const cJSON *v, const char *name, struct aa_jwk *k, struct aa_diag *d)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "keys"),
                                                      name ? name : "");

    return aa_jwk_from_cjson(cJSON_GetObjectItemCaseSensitive(e, "public_jwk"),
                             AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID, k, d);
}

static void seedflow_tokens(const cJSON *v)
{
    struct vec_faults tf, bf;
    const char *agent = vec_str(cJSON_GetObjectItemCaseSensitive(v, "topology"), "agent_server");
    const cJSON *t;
    int nt = 0, nb = 0;

    vec_faults_init(&tf);
    vec_faults_init(&bf);
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(v, "tokens"))
    {
        const char *compact = vec_str(t, "compact"), *typ = vec_str(t, "type");
        struct aa_jwk k = {0}, cnf = {0}, bound = {0};
        struct aa_jwt j;
        struct aa_diag d;
        char tp[AA_JWK_THUMBPRINT_LEN + 1], want[AA_JWK_THUMBPRINT_LEN + 1];
        const char *jkt = NULL;

        nt++;
        memset(&j, 0, sizeof(j));
        aa_diag_clear(&d);
        if (compact == NULL || typ == NULL ||
            seedflow_key(v, vec_str(t, "signing_key"), &k, &d) != AA_OK) {
            vec_fault_add(&tf, t->string, "entry lacks compact/type/signing_key: %s", d.msg);
            continue;
        }
        if (aa_jwt_parse(compact, strlen(compact), &j, &d) != AA_OK ||
            aa_jwt_verify(&j, &k, &d) != AA_OK) {
            vec_fault_add(&tf, t->string, "%s", d.msg);
        } else if (j.kid == NULL || strcmp(j.kid, k.kid) != 0) {
            vec_fault_add(&tf, t->string, "kid %s, the signing key is %s", j.kid ? j.kid : "-",
                          k.kid);
        } else {
            /* negative control: one bit of the signature */
            j.sig[0] ^= 0x01;
            if (aa_jwt_verify(&j, &k, NULL) == AA_OK)
                vec_fault_add(&tf, t->string, "still verifies with a flipped signature bit");
            j.sig[0] ^= 0x01;
        }
        /* the delegate binding (resource and auth tokens) */
        if (strcmp(typ, "resource+jwt") == 0 || strcmp(typ, "auth+jwt") == 0) {
            const char *bk = vec_str(t, "bound_key");
            nb++;
            if (j.claims == NULL || bk == NULL || strncmp(bk, "delegate-", 9) != 0 ||
                seedflow_key(v, bk, &bound, NULL) != AA_OK ||
                aa_jwk_thumbprint(&bound, want) != AA_OK) {
                vec_fault_add(&bf, t->string, "no delegate key named as bound_key");
            } else if (strcmp(typ, "resource+jwt") == 0) {
                jkt = aa_jwt_claim_str(&j, "agent_jkt");
                if (jkt == NULL || strcmp(jkt, want) != 0)
                    vec_fault_add(&bf, t->string, "agent_jkt %s, %s has %s", jkt ? jkt : "-", bk,
                                  want);
            } else if (aa_jwt_cnf_jwk(&j, &cnf, NULL) != AA_OK ||
                       aa_jwk_thumbprint(&cnf, tp) != AA_OK || strcmp(tp, want) != 0) {
                vec_fault_add(&bf, t->string, "cnf.jwk is not %s", bk);
            } else if (aa_jwt_claim_str(&j, "agent_delegate") == NULL ||
                       strcmp(aa_jwt_claim_str(&j, "agent_delegate"), "delegate-1") != 0 ||
                       agent == NULL || aa_jwt_claim_str(&j, "agent") == NULL ||
                       strcmp(aa_jwt_claim_str(&j, "agent"), agent) != 0) {
                vec_fault_add(&bf, t->string, "agent/agent_delegate are not %s/delegate-1",
                              agent ? agent : "?");
            }
        }
        aa_jwk_cleanup(&bound);
        aa_jwk_cleanup(&cnf);
        aa_jwk_cleanup(&k);
        aa_jwt_cleanup(&j);
    }
    if (nt == 0)
        vec_fault_add(&tf, "tokens", "the file has no tokens");
    if (nb == 0)
        vec_fault_add(&bf, "tokens", "the file has no resource or auth tokens");
    vec_faults_record(&v_seedflow_tokens, &tf, nt);
    vec_faults_record(&v_seedflow_bind, &bf, nb);
}

static void seedflow_requests(const cJSON *v)
{
    struct vec_faults sf, df;
    const cJSON *s;
    int ns = 0, nd = 0;

    vec_faults_init(&sf);
    vec_faults_init(&df);
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(v, "steps"))
    {
        const cJSON *sg = cJSON_GetObjectItemCaseSensitive(s, "signature");
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(s, "request");
        const char *id = vec_str(s, "id"), *si = vec_str(sg, "signature_input");
        const char *sig = vec_str(sg, "signature"), *want_base = vec_str(sg, "base");
        const char *body = vec_str(rq, "body"), *cd = vec_str(sg, "content_digest");
        struct aa_httpsig_input in;
        struct aa_httpsig_verify_opts vo;
        struct aa_buf base;
        struct aa_jwk k = {0};
        struct vec_msg vm;
        struct aa_diag d;
        bool want_ok;
        int64_t clock = 0;
        int rc;

        if (!cJSON_IsObject(sg))
            continue;
        ns++;
        memset(&in, 0, sizeof(in));
        aa_diag_clear(&d);
        aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
        want_ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sg, "verifies"));
        if (si == NULL || sig == NULL || want_base == NULL || !vec_load_msg(rq, &vm) ||
            !aa_json_int(s, "clock", &clock) ||
            seedflow_key(v, vec_str(sg, "key"), &k, &d) != AA_OK) {
            vec_fault_add(&sf, id, "step lacks request/signature fields or a known key %s", d.msg);
            aa_buf_free(&base);
            continue;
        }
        if ((rc = aa_httpsig_parse_input(aa_str_c(si), "sig1", &in, &d)) != AA_OK ||
            (rc = aa_httpsig_build_base(&vm.m, &in.list, 0, &base, &d)) != AA_OK) {
            vec_fault_add(&sf, id, "base cannot be built: %s", d.msg);
        } else if (base.p == NULL || strcmp(base.p, want_base) != 0) {
            vec_fault_add(&sf, id, "rebuilt base differs from the recorded one");
        } else {
            memset(&vo, 0, sizeof(vo));
            vo.now = clock;
            vo.check_time = true;
            vo.require_created = true;
            vo.max_skew = 60;
            rc = aa_httpsig_verify(&vm.m, aa_str_c(si), aa_str_c(sig), "sig1", &k, &vo, NULL, &d);
            if ((rc == AA_OK) != want_ok)
                vec_fault_add(&sf, id, "verification %s, the vector says %s",
                              rc == AA_OK ? "succeeds" : aa_strerror(rc),
                              want_ok ? "it verifies" : "it does not");
        }
        if (body != NULL) {
            nd++;
            if (cd == NULL)
                vec_fault_add(&df, id, "signed body without Content-Digest");
            else if (aa_httpsig_verify_digest(aa_str_c(cd), body, strlen(body), AA_DIGEST_SHA256,
                                              NULL, &d) != AA_OK)
                vec_fault_add(&df, id, "%s", d.msg);
        }
        aa_httpsig_input_cleanup(&in);
        aa_buf_free(&base);
        aa_jwk_cleanup(&k);
    }
    if (ns == 0)
        vec_fault_add(&sf, "steps", "the file has no signed requests");
    if (nd == 0)
        vec_fault_add(&df, "steps", "the file has no signed bodies");
    vec_faults_record(&v_seedflow_sigs, &sf, ns);
    vec_faults_record(&v_seedflow_digest, &df, nd);
}

AA_CASE(vectors, seed_flow, .title = "vectors/seed-flow (the seed's F6 flow, PROFILE#7.6)",
        .checks = AA_CHECKS(&v_seedflow_tokens, &v_seedflow_sigs, &v_seedflow_digest,
                            &v_seedflow_bind))
{
    cJSON *v =
        vec_load("seed-flow/seed-flow.json", AA_CHECKS(&v_seedflow_tokens, &v_seedflow_sigs,
                                                       &v_seedflow_digest, &v_seedflow_bind));

    if (v == NULL)
        return;
    seedflow_tokens(v);
    seedflow_requests(v);
    cJSON_Delete(v);
}
