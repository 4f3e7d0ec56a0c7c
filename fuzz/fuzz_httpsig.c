/*
 * fuzz_httpsig: RFC 9421 HTTP Message Signatures and RFC 9530
 * Content-Digest (harness/httpsig/aa_httpsig.h) over a fuzzed request
 * (framing: fuzz_http.h; ":authority", ":scheme", ":label" and ":key"
 * pseudo-headers set the view's authority, scheme, the preferred label and
 * the verification key: TEST 1 by default, "test-key-ed25519" or
 * "test-key-ecc-p256" for the RFC 9421 Appendix B vectors in the corpus).
 * fuzz-libs: aa_httpsig aa_sf aa_jwk aa_json aa_b64 aa_core
 *
 * Checks:
 *   1. Rejections carry a citation; a failed verification names its step
 *      (d.step == result.step), a failed base build leaves |out| as it was.
 *   2. Signature-Input: a parsed member has a valid label, is an Inner List
 *      of Strings, and its typed parameters (created, expires, nonce, alg,
 *      keyid, tag) are exactly what the list carries; its canonical
 *      re-serialization parses to the same member.
 *   3. Signature base (RFC 9421 §2.5): exactly one LF per covered
 *      component and none after the last line, no CR or NUL, line i starts
 *      with the serialized identifier i, and its value is what
 *      aa_httpsig_component_value() returns for that identifier; the last
 *      line is "@signature-params" with the canonical serialization of the
 *      list; the legacy dialect is the same base without that line, with a
 *      final LF; the whole base is within AA_HTTPSIG_MAX_BASE.
 *   4. Signature: the decoded value fits the given capacity (a heap block
 *      of exactly that size) and one byte less capacity is AA_E_LIMIT.
 *   5. Verification: with time checks it accepts a subset of what it
 *      accepts without; an accepted signature verifies over the base this
 *      target rebuilt itself (aa_crypto_verify).
 *   6. Sign/verify round trip: this message signed with the TEST 1 key
 *      over @method @authority @path (created = now) verifies with time
 *      checks on; a message the signer refuses gets a finding.
 *   7. Content-Digest: create_digest(body) verifies against body, and
 *      against a body with one byte changed it is a mismatch; a fuzzed
 *      Content-Digest that verifies reports a non-empty matched set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "fuzz_common.h"
#include "fuzz_http.h"
#include "fuzz_keys.h"
#include "httpsig/aa_httpsig.h"

AA_FUZZ_LINK_STRERROR(aa_httpsig_strerror, aa_sf_strerror, aa_jwk_strerror, aa_b64_strerror);

static struct aa_jwk k_test1, k_test1_pub, k_rfc_ed, k_rfc_p256;
static bool ready;
static const struct aa_httpsig_sf_hint hints[] = {{"example-dict", AA_HTTPSIG_SF_DICT}};

static void init(void)
{
    if (ready)
        return;
    aa_fuzz_ed25519(aa_fuzz_test1_seed, "test1", &k_test1);
    AA_FUZZ_CHECK(aa_jwk_public(&k_test1_pub, &k_test1) == AA_OK, "public");
    aa_fuzz_jwk_text(aa_fuzz_rfc9421_ed25519_jwk, &k_rfc_ed);
    aa_fuzz_jwk_text(aa_fuzz_rfc9421_p256_jwk, &k_rfc_p256);
    ready = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    init();
    return 0;
}

/* Set per input: the message view lacks a method, target or authority. */
static bool view_incomplete;

static void rejected(const char *what, int rc, const struct aa_diag *d)
{
    if (view_incomplete && rc == AA_E_INVAL)
        return;
    aa_fuzz_check_rejection(what, rc, d, true);
}

static void check_str_param(const struct aa_sf_params *p, const char *name, bool has,
                            const char *val)
{
    const struct aa_sf_bare *b = aa_sf_params_get(p, name);

    AA_FUZZ_CHECK(has == (b != NULL), "has_%s mismatch", name);
    if (b)
        AA_FUZZ_CHECK(b->type == AA_SF_STRING && strlen(val) == b->len &&
                          memcmp(val, b->s, b->len) == 0,
                      "%s value differs from the list", name);
}

static void check_params(const struct aa_httpsig_input *in)
{
    const struct aa_sf_params *p = &in->list.params;
    const struct aa_sf_bare *b;

    b = aa_sf_params_get(p, "created");
    AA_FUZZ_CHECK(in->params.has_created == (b != NULL), "has_created mismatch");
    if (b)
        AA_FUZZ_CHECK(b->type == AA_SF_INTEGER && b->i == in->params.created, "created value");
    b = aa_sf_params_get(p, "expires");
    AA_FUZZ_CHECK(in->params.has_expires == (b != NULL), "has_expires mismatch");
    if (b)
        AA_FUZZ_CHECK(b->type == AA_SF_INTEGER && b->i == in->params.expires, "expires value");
    check_str_param(p, "nonce", in->params.has_nonce, in->params.nonce);
    check_str_param(p, "alg", in->params.has_alg, in->params.alg);
    check_str_param(p, "keyid", in->params.has_keyid, in->params.keyid);
    check_str_param(p, "tag", in->params.has_tag, in->params.tag);
}

static void check_input(const struct aa_httpsig_input *in, const char *label)
{
    struct aa_buf s;
    struct aa_httpsig_input again;
    struct aa_diag d;
    int rc;

    AA_FUZZ_CHECK(in->label[0] != '\0' && strlen(in->label) <= AA_HTTPSIG_LABEL_MAX &&
                      aa_sf_key_check(in->label, strlen(in->label), NULL) == AA_OK,
                  "bad label \"%s\"", in->label);
    if (label)
        AA_FUZZ_CHECK(strcmp(label, in->label) == 0, "asked for %s, got %s", label, in->label);
    AA_FUZZ_CHECK(in->list.bare.type == AA_SF_INNER_LIST, "member is not an inner list");
    for (size_t i = 0; i < in->list.n_inner; i++)
        AA_FUZZ_CHECK(in->list.inner[i].bare.type == AA_SF_STRING, "component %zu not a string", i);
    check_params(in);

    aa_buf_init(&s, AA_BUF_DEFAULT_MAX);
    aa_buf_printf(&s, "%s=", in->label);
    AA_FUZZ_CHECK(aa_sf_serialize_inner_list(&in->list, &s, NULL) == AA_OK, "serialize input");
    aa_diag_clear(&d);
    rc = aa_httpsig_parse_input((struct aa_str){s.p, s.len}, in->label, &again, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "re-serialized Signature-Input \"%s\" fails: %s", s.p, d.msg);
    AA_FUZZ_CHECK(again.list.n_inner == in->list.n_inner &&
                      again.params.has_created == in->params.has_created &&
                      again.params.created == in->params.created &&
                      strcmp(again.params.nonce, in->params.nonce) == 0 &&
                      strcmp(again.params.keyid, in->params.keyid) == 0 &&
                      strcmp(again.params.alg, in->params.alg) == 0,
                  "re-serialized Signature-Input differs");
    aa_httpsig_input_cleanup(&again);
    aa_buf_free(&s);
}

static void check_base(const struct aa_httpsig_msg *m, const struct aa_httpsig_input *in)
{
    struct aa_buf base, legacy, params, id, val;
    struct aa_diag d;
    int rc;

    aa_buf_init(&base, AA_BUF_DEFAULT_MAX);
    aa_buf_adds(&base, "X");
    aa_diag_clear(&d);
    rc = aa_httpsig_build_base(m, &in->list, 0, &base, &d);
    if (rc != AA_OK) {
        AA_FUZZ_CHECK(base.len == 1 && base.p[0] == 'X', "failed build changed |out|");
        rejected("aa_httpsig_build_base", rc, &d);
        aa_buf_free(&base);
        return;
    }
    const char *b = base.p + 1;
    size_t n = base.len - 1, lf = 0, pos = 0;

    AA_FUZZ_CHECK(n <= AA_HTTPSIG_MAX_BASE, "base of %zu bytes", n);
    AA_FUZZ_CHECK(memchr(b, '\r', n) == NULL && memchr(b, '\0', n) == NULL, "CR or NUL in base");
    for (size_t i = 0; i < n; i++)
        lf += b[i] == '\n';
    AA_FUZZ_CHECK(lf == in->list.n_inner, "%zu LFs for %zu components", lf, in->list.n_inner);

    aa_buf_init(&id, AA_BUF_DEFAULT_MAX);
    aa_buf_init(&val, AA_BUF_DEFAULT_MAX);
    for (size_t i = 0; i < in->list.n_inner; i++) {
        const char *nl = memchr(b + pos, '\n', n - pos);
        size_t len = (size_t)(nl - (b + pos));

        aa_buf_reset(&id);
        aa_buf_reset(&val);
        AA_FUZZ_CHECK(aa_sf_serialize_item(&in->list.inner[i], &id, NULL) == AA_OK, "id");
        aa_buf_adds(&id, ": ");
        AA_FUZZ_CHECK(len >= id.len && memcmp(b + pos, id.p, id.len) == 0,
                      "base line %zu does not start with %s", i, id.p);
        aa_diag_clear(&d);
        rc = aa_httpsig_component_value(m, &in->list.inner[i], 0, &val, &d);
        AA_FUZZ_CHECK(rc == AA_OK, "component %s built into the base but alone fails: %s", id.p,
                      d.msg);
        AA_FUZZ_CHECK(val.len == len - id.len &&
                          (val.len == 0 || memcmp(val.p, b + pos + id.len, val.len) == 0),
                      "base line %zu is not the component value", i);
        pos += len + 1;
    }
    aa_buf_free(&id);
    aa_buf_free(&val);

    aa_buf_init(&params, AA_BUF_DEFAULT_MAX);
    aa_buf_adds(&params, "\"@signature-params\": ");
    AA_FUZZ_CHECK(aa_sf_serialize_inner_list(&in->list, &params, NULL) == AA_OK, "params");
    AA_FUZZ_CHECK(n - pos == params.len && memcmp(b + pos, params.p, params.len) == 0,
                  "last base line is not the canonical @signature-params");

    aa_buf_init(&legacy, AA_BUF_DEFAULT_MAX);
    rc = aa_httpsig_build_base(m, &in->list, AA_HTTPSIG_BASE_LEGACY, &legacy, NULL);
    AA_FUZZ_CHECK(rc == AA_OK && legacy.len == pos && memcmp(legacy.p, b, pos) == 0,
                  "legacy base is not the base without @signature-params");
    aa_buf_free(&legacy);
    aa_buf_free(&params);
    aa_buf_free(&base);
}

static void check_signature(struct aa_str sig, const char *label)
{
    uint8_t *buf = malloc(AA_CRYPTO_SIG_MAX);
    size_t len = 0;
    unsigned cls = 0;
    struct aa_diag d;
    int rc;

    AA_FUZZ_CHECK(buf != NULL, "malloc");
    aa_diag_clear(&d);
    rc = aa_httpsig_parse_signature(sig, label, buf, AA_CRYPTO_SIG_MAX, &len, &cls, &d);
    if (rc != AA_OK) {
        rejected("aa_httpsig_parse_signature", rc, &d);
    } else {
        AA_FUZZ_CHECK(len <= AA_CRYPTO_SIG_MAX, "signature length %zu", len);
        if (len > 0) {
            uint8_t *small = malloc(len - 1 ? len - 1 : 1);
            AA_FUZZ_CHECK(small != NULL, "malloc");
            rc = aa_httpsig_parse_signature(sig, label, small, len - 1, &len, NULL, NULL);
            AA_FUZZ_CHECK(rc == AA_E_LIMIT, "signature into a short buffer: rc %d", rc);
            free(small);
        }
    }
    free(buf);
}

static void check_verify(const struct aa_httpsig_msg *m, struct aa_str si, struct aa_str sig,
                         const char *label, const struct aa_jwk *key)
{
    struct aa_httpsig_verify_opts loose = {.keep_base = true, .max_skew = -1};
    struct aa_httpsig_verify_opts timed = {
        .now = AA_FUZZ_NOW, .check_time = true, .require_created = true, .max_skew = 60};
    struct aa_httpsig_result r;
    struct aa_diag d;
    int rc_loose, rc_timed;

    aa_httpsig_result_init(&r);
    aa_diag_clear(&d);
    rc_loose = aa_httpsig_verify(m, si, sig, label, key, &loose, &r, &d);
    if (aa_fuzz_debug())
        fprintf(stderr, "fuzz_httpsig: verify -> %s%s%s\n", rc_loose == AA_OK ? "ok" : r.step,
                rc_loose == AA_OK ? "" : ": ", rc_loose == AA_OK ? "" : d.msg);
    if (rc_loose != AA_OK) {
        rejected("aa_httpsig_verify", rc_loose, &d);
        AA_FUZZ_CHECK(r.step != NULL && d.step == r.step, "failure without a step");
        struct aa_httpsig_diagnosis dg;
        aa_diag_clear(&d);
        int rc = aa_httpsig_diagnose(m, si, sig, label, key, AA_ALG_NONE, &dg, &d);
        if (rc != AA_OK)
            rejected("aa_httpsig_diagnose", rc, &d);
        else
            AA_FUZZ_CHECK(dg.text[0] != '\0', "diagnosis without text");
    } else {
        AA_FUZZ_CHECK(r.step == NULL && r.base.len > 0, "success with a step or no base");
        uint8_t sb[AA_CRYPTO_SIG_MAX];
        size_t sl = 0;
        AA_FUZZ_CHECK(
            aa_httpsig_parse_signature(sig, r.label, sb, sizeof(sb), &sl, NULL, NULL) == AA_OK &&
                aa_crypto_verify(r.alg, key, (const uint8_t *)r.base.p, r.base.len, sb, sl) ==
                    AA_OK,
            "accepted signature does not verify over the recorded base");
    }
    aa_diag_clear(&d);
    rc_timed = aa_httpsig_verify(m, si, sig, label, key, &timed, &r, &d);
    if (rc_timed == AA_OK)
        AA_FUZZ_CHECK(rc_loose == AA_OK, "time checks accept what no time checks reject");
    else
        rejected("aa_httpsig_verify(timed)", rc_timed, &d);
    aa_httpsig_result_cleanup(&r);
}

static void check_sign_roundtrip(const struct aa_httpsig_msg *m)
{
    static const struct aa_httpsig_component comps[] = {
        {"@method", 0, NULL, NULL}, {"@authority", 0, NULL, NULL}, {"@path", 0, NULL, NULL}};
    struct aa_httpsig_params p;
    struct aa_httpsig_signed s;
    struct aa_httpsig_verify_opts timed = {
        .now = AA_FUZZ_NOW, .check_time = true, .require_created = true, .max_skew = 60};
    struct aa_diag d;
    int rc;

    memset(&p, 0, sizeof(p));
    p.has_created = true;
    p.created = AA_FUZZ_NOW;
    aa_httpsig_signed_init(&s);
    aa_diag_clear(&d);
    rc = aa_httpsig_sign(m, "sig1", comps, 3, &p, AA_ALG_NONE, &k_test1, &s, &d);
    if (rc != AA_OK) {
        rejected("aa_httpsig_sign", rc, &d);
    } else {
        aa_diag_clear(&d);
        rc = aa_httpsig_verify(m, (struct aa_str){s.input.p, s.input.len},
                               (struct aa_str){s.signature.p, s.signature.len}, "sig1",
                               &k_test1_pub, &timed, NULL, &d);
        AA_FUZZ_CHECK(rc == AA_OK, "own signature does not verify: %s (input %s)", d.msg,
                      s.input.p);
    }
    aa_httpsig_signed_cleanup(&s);
}

static void check_digest(const struct aa_fuzz_req *r)
{
    const struct aa_str *cd = aa_fuzz_req_get(r, "content-digest");
    struct aa_buf mine;
    unsigned matched = 0;
    struct aa_diag d;
    int rc;

    if (cd) {
        aa_diag_clear(&d);
        rc = aa_httpsig_verify_digest(*cd, r->body.p, r->body.len,
                                      AA_DIGEST_SHA256 | AA_DIGEST_SHA512, &matched, &d);
        if (rc == AA_OK)
            AA_FUZZ_CHECK(matched != 0 && !(matched & ~(AA_DIGEST_SHA256 | AA_DIGEST_SHA512)),
                          "digest verified with matched set 0x%x", matched);
        else
            rejected("aa_httpsig_verify_digest", rc, &d);
    }
    aa_buf_init(&mine, AA_BUF_DEFAULT_MAX);
    AA_FUZZ_CHECK(aa_httpsig_create_digest(r->body.p, r->body.len,
                                           AA_DIGEST_SHA256 | AA_DIGEST_SHA512, &mine) == AA_OK,
                  "create_digest");
    rc = aa_httpsig_verify_digest((struct aa_str){mine.p, mine.len}, r->body.p, r->body.len,
                                  AA_DIGEST_SHA256 | AA_DIGEST_SHA512, &matched, NULL);
    AA_FUZZ_CHECK(rc == AA_OK && matched == (AA_DIGEST_SHA256 | AA_DIGEST_SHA512),
                  "own Content-Digest does not verify");
    if (r->body.len > 0) {
        char *other = malloc(r->body.len);
        AA_FUZZ_CHECK(other != NULL, "malloc");
        memcpy(other, r->body.p, r->body.len);
        other[0] ^= 0x01;
        rc = aa_httpsig_verify_digest((struct aa_str){mine.p, mine.len}, other, r->body.len,
                                      AA_DIGEST_SHA256, NULL, NULL);
        AA_FUZZ_CHECK(rc == AA_E_HTTPSIG_DIGEST_MISMATCH, "changed body still matches: %d", rc);
        free(other);
    }
    aa_buf_free(&mine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aa_fuzz_req r;
    struct aa_httpsig_field fields[AA_FUZZ_MAX_HEADERS];
    struct aa_httpsig_msg m;
    struct aa_httpsig_input in;
    const struct aa_str *psi, *psig;
    struct aa_str si, sig;
    const struct aa_jwk *key = &k_test1_pub;
    char *label = NULL;
    struct aa_diag d;
    int rc;

    init();
    aa_fuzz_req_parse(data, size, &r);
    for (size_t i = 0; i < r.n; i++)
        fields[i] = (struct aa_httpsig_field){r.name[i], r.value[i]};
    memset(&m, 0, sizeof(m));
    m.method = r.method;
    m.scheme = r.scheme.len ? r.scheme : AA_STR_LIT("http");
    m.authority = r.has_authority ? r.authority : AA_STR_LIT("127.0.0.1:8002");
    m.target = r.target;
    m.fields = fields;
    m.n_fields = r.n;
    m.body = (const uint8_t *)r.body.p;
    m.body_len = r.body.len;
    m.sf_hints = hints;
    m.n_sf_hints = 1;
    if (aa_str_eq(r.key, "test-key-ed25519"))
        key = &k_rfc_ed;
    else if (aa_str_eq(r.key, "test-key-ecc-p256"))
        key = &k_rfc_p256;
    if (r.label.len)
        label = aa_fuzz_cstr(r.label);

    /* An empty method, target or authority is an incomplete view: API
     * misuse by the caller (AA_E_INVAL), not a finding about the peer. */
    view_incomplete = r.method.len == 0 || r.target.len == 0 || m.authority.len == 0;

    psi = aa_fuzz_req_get(&r, "signature-input");
    psig = aa_fuzz_req_get(&r, "signature");
    si = psi ? *psi : (struct aa_str){"", 0};
    sig = psig ? *psig : (struct aa_str){"", 0};

    aa_diag_clear(&d);
    rc = aa_httpsig_parse_input(si, label, &in, &d);
    if (rc == AA_OK) {
        check_input(&in, label);
        check_base(&m, &in);
        aa_httpsig_input_cleanup(&in);
    } else {
        rejected("aa_httpsig_parse_input", rc, &d);
    }
    check_signature(sig, label);

    char chosen[AA_HTTPSIG_LABEL_MAX + 1];
    aa_diag_clear(&d);
    rc = aa_httpsig_choose_label(si, sig, label, chosen, &d);
    if (rc != AA_OK)
        rejected("aa_httpsig_choose_label", rc, &d);
    else
        AA_FUZZ_CHECK(label == NULL || strcmp(label, chosen) == 0, "chose %s over %s", chosen,
                      label);

    check_verify(&m, si, sig, label, key);
    check_sign_roundtrip(&m);
    check_digest(&r);
    free(label);
    return 0;
}
