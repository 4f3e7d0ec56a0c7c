/*
 * vectors: offline checks of the harness's own protocol machinery against
 * the fixed vectors in vectors/ (role "core": no implementation under
 * test). They show that the verdicts the online suites give rest on
 * correct parsing, signature bases, signatures and thumbprints:
 *
 *   - vectors/sf/negative.json: Structured Field inputs an AAuth receiver
 *     meets, rejected (or typed) exactly as the vector says;
 *   - PROFILE#2.12 vector S1: the seed's base64url Signature is flagged,
 *     does not verify over the RFC 9421 base, and is diagnosed as the
 *     legacy dialect;
 *   - PROFILE#2.12 Examples A and B: signature bases, Content-Digest and
 *     Ed25519 signatures reproduced byte for byte, and verified;
 *   - JOSE: RFC 7638 §3.1 and RFC 8037 A.3 thumbprints, the RFC 8037 A.4
 *     JWS, and the seed's agent token decoded as PROFILE#4.2 prints it.
 *
 * Design choice: a missing vectors directory makes every check SKIP with
 * the path in the reason (an installed runner may not ship the source
 * tree); a vector file missing or malformed inside an existing directory
 * is ERROR (a broken installation, not a verdict).
 */
#include <stdarg.h>
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

#define VECTOR_FILE_MAX ((size_t)4 * 1024 * 1024)
#define MAX_FIELDS 32
#define MAX_COMPONENTS 16
#define LISTED_MAX 6 /* failing vector names quoted in one result */

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

/* ---- loading vectors ----------------------------------------------------------- */

/* Read vectors/<rel> as JSON. NULL after recording, for every check in
 * |checks|, SKIP (no vectors directory) or ERROR (file missing/bad). */
static cJSON *load_vector(const char *rel, const struct aa_check *const *checks)
{
    const char *dir = aa_conf_vectors_dir();
    struct aa_json_opts jo = {0};
    struct aa_diag d;
    char path[4096], *text = NULL;
    size_t len = 0;
    cJSON *o = NULL;
    int rc;

    if (dir == NULL) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_skip(*p,
                          "the vectors directory %s does not exist (the source tree's vectors/; "
                          "point --vectors-dir at it)",
                          aa_conf_vectors_dir_configured());
        return NULL;
    }
    aa_diag_clear(&d);
    jo.max_len = VECTOR_FILE_MAX;
    if (aa_snprintf(path, sizeof(path), "%s/%s", dir, rel) != AA_OK ||
        (rc = aa_read_file(path, VECTOR_FILE_MAX, &text, &len)) != AA_OK) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_error(*p, "vector file %s cannot be read", path);
        return NULL;
    }
    rc = aa_json_parse(text, len, &jo, &o, &d);
    free(text);
    if (rc != AA_OK) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_error(*p, "vector file %s is not valid JSON: %s", path, d.msg);
        return NULL;
    }
    aa_conf_note("vector file %s", path);
    return o;
}

static const char *str(const cJSON *o, const char *k)
{
    return aa_json_str(o, k);
}

/* Appends "name: problem" to a failure list, quoting at most LISTED_MAX. */
struct faults {
    struct aa_buf text;
    int n;
};

static void fault_add(struct faults *f, const char *name, const char *fmt, ...) AA_PRINTF(3, 4);
static void fault_add(struct faults *f, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (f->n++ >= LISTED_MAX)
        return;
    aa_buf_printf(&f->text, "%s%s: ", f->text.len ? "; " : "", name ? name : "?");
    va_start(ap, fmt);
    aa_buf_vprintf(&f->text, fmt, ap);
    va_end(ap);
}

static void faults_record(const struct aa_check *c, struct faults *f, int total)
{
    if (f->n == 0) {
        aa_check_pass(c, "%d vector%s as expected", total, total == 1 ? "" : "s");
    } else {
        if (f->n > LISTED_MAX)
            aa_buf_printf(&f->text, "; and %d more", f->n - LISTED_MAX);
        aa_check_fail(c, c->expect, f->text.p, "%d of %d vectors differ", f->n, total);
    }
    aa_buf_free(&f->text);
}

/* ---- Structured Fields ------------------------------------------------------- */

static const struct {
    const char *name;
    int code;
} sf_codes[] = {
    {"AA_E_SF_SYNTAX", AA_E_SF_SYNTAX},     {"AA_E_SF_INTEGER", AA_E_SF_INTEGER},
    {"AA_E_SF_DECIMAL", AA_E_SF_DECIMAL},   {"AA_E_SF_STRING", AA_E_SF_STRING},
    {"AA_E_SF_TOKEN", AA_E_SF_TOKEN},       {"AA_E_SF_BYTES", AA_E_SF_BYTES},
    {"AA_E_SF_BOOLEAN", AA_E_SF_BOOLEAN},   {"AA_E_SF_KEY", AA_E_SF_KEY},
    {"AA_E_SF_TRAILING", AA_E_SF_TRAILING}, {"AA_E_SF_DATE", AA_E_SF_DATE},
    {"AA_E_SF_DISPLAY", AA_E_SF_DISPLAY},   {"AA_E_LIMIT", AA_E_LIMIT},
};

static bool sf_code(const char *name, int *out)
{
    for (size_t i = 0; name != NULL && i < sizeof(sf_codes) / sizeof(sf_codes[0]); i++)
        if (strcmp(sf_codes[i].name, name) == 0) {
            *out = sf_codes[i].code;
            return true;
        }
    return false;
}

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

static void sf_valid_case(const cJSON *c, const char *name, struct faults *f)
{
    const char *raw = str(c, "raw"), *member = str(c, "member"), *param = str(c, "param");
    const char *type = str(c, "type"), *canon = str(c, "canonical");
    const cJSON *blen = cJSON_GetObjectItemCaseSensitive(c, "bytes_len");
    struct aa_sf_dict dict = {0};
    const struct aa_sf_item *it;
    const struct aa_sf_bare *bare;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    if (raw == NULL || member == NULL || type == NULL) {
        fault_add(f, name, "vector lacks raw/member/type");
        return;
    }
    if ((rc = aa_sf_parse_dict(raw, strlen(raw), &dict, &d)) != AA_OK) {
        fault_add(f, name, "rejected (%s: %s), the vector says it parses", aa_strerror(rc), d.msg);
        return;
    }
    if ((it = aa_sf_dict_get(&dict, member)) == NULL) {
        fault_add(f, name, "member %s missing", member);
        goto out;
    }
    bare = &it->bare;
    if (param != NULL && (bare = aa_sf_params_get(&it->params, param)) == NULL) {
        fault_add(f, name, "parameter %s missing", param);
        goto out;
    }
    if (strcmp(aa_sf_type_name(bare->type), type) != 0)
        fault_add(f, name, "type %s, the vector says %s", aa_sf_type_name(bare->type), type);
    else if (cJSON_IsNumber(blen) && (double)bare->len != blen->valuedouble)
        fault_add(f, name, "%zu bytes, the vector says %d", bare->len, blen->valueint);
    if (canon != NULL) {
        struct aa_buf b;
        aa_buf_init(&b, 65536);
        if (aa_sf_serialize_dict(&dict, &b, NULL) != AA_OK || b.p == NULL ||
            strcmp(b.p, canon) != 0)
            fault_add(f, name, "serialises as \"%s\", the vector says \"%s\"", b.p ? b.p : "",
                      canon);
        aa_buf_free(&b);
    }
out:
    aa_sf_dict_free(&dict);
}

AA_CASE(vectors, sf_negative, .title = "vectors/sf/negative.json",
        .checks = AA_CHECKS(&v_sf_rejected, &v_sf_typed))
{
    cJSON *v = load_vector("sf/negative.json", AA_CHECKS(&v_sf_rejected, &v_sf_typed));
    const cJSON *c;
    struct faults rej = {{0}, 0}, typ = {{0}, 0};
    int n_rej = 0, n_typ = 0;

    if (v == NULL)
        return;
    aa_buf_init(&rej.text, AA_CASE_MAX_FIELD);
    aa_buf_init(&typ.text, AA_CASE_MAX_FIELD);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        const char *name = str(c, "name"), *raw = str(c, "raw"), *ht = str(c, "header_type");
        const char *ref = str(c, "ref"), *contains = str(c, "message_contains");
        struct aa_sf_dict dict = {0};
        struct aa_diag d;
        int want = 0, rc;

        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "must_fail"))) {
            n_typ++;
            sf_valid_case(c, name, &typ);
            continue;
        }
        n_rej++;
        if (raw == NULL || ht == NULL || !sf_code(str(c, "error"), &want)) {
            fault_add(&rej, name, "vector lacks raw/header_type or names an unknown error");
            continue;
        }
        aa_diag_clear(&d);
        rc = sf_parse_as(ht, raw, &dict, &d);
        if (rc == AA_OK) {
            aa_sf_dict_free(&dict);
            fault_add(&rej, name, "accepted, must fail with %s", str(c, "error"));
        } else if (rc != want) {
            fault_add(&rej, name, "%s, the vector says %s", aa_strerror(rc), str(c, "error"));
        } else if (ref != NULL && (d.ref == NULL || strcmp(d.ref, ref) != 0)) {
            fault_add(&rej, name, "cites %s, the vector says %s", d.ref ? d.ref : "nothing", ref);
        } else if (contains != NULL && strstr(d.msg, contains) == NULL) {
            fault_add(&rej, name, "message \"%s\" lacks \"%s\"", d.msg, contains);
        }
    }
    faults_record(&v_sf_rejected, &rej, n_rej);
    faults_record(&v_sf_typed, &typ, n_typ);
    cJSON_Delete(v);
}

/* ---- HTTP message views over the vector JSON ------------------------------------ */

struct vmsg {
    struct aa_httpsig_msg m;
    struct aa_httpsig_field f[MAX_FIELDS];
};

static bool load_msg(const cJSON *j, struct vmsg *v)
{
    const cJSON *e;
    const char *body = str(j, "body");
    size_t n = 0;

    memset(v, 0, sizeof(*v));
    if (str(j, "method") == NULL || str(j, "authority") == NULL || str(j, "target") == NULL)
        return false;
    v->m.method = aa_str_c(str(j, "method"));
    v->m.scheme = aa_str_c(str(j, "scheme"));
    v->m.authority = aa_str_c(str(j, "authority"));
    v->m.target = aa_str_c(str(j, "target"));
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "headers"))
    {
        const cJSON *hn = cJSON_GetArrayItem(e, 0), *hv = cJSON_GetArrayItem(e, 1);
        if (n >= MAX_FIELDS || !cJSON_IsString(hn) || !cJSON_IsString(hv))
            return false;
        v->f[n].name = aa_str_c(hn->valuestring);
        v->f[n].value = aa_str_c(hv->valuestring);
        n++;
    }
    v->m.fields = v->f;
    v->m.n_fields = n;
    v->m.body = (const uint8_t *)body;
    v->m.body_len = body ? strlen(body) : 0;
    return true;
}

static int jwk_of(const cJSON *o, struct aa_jwk *k, struct aa_diag *d)
{
    return o == NULL ? AA_E_INVAL : aa_jwk_from_cjson(o, 0, k, d);
}

/* "sig1=:…:" -> the value between the colons (a view into |field|). */
static const char *field_value(const char *field, const char *label)
{
    size_t n = strlen(label);
    return strncmp(field, label, n) == 0 && field[n] == '=' ? field + n + 1 : NULL;
}

/* ---- vector S1 (PROFILE#2.12) -------------------------------------------------- */

AA_CASE(vectors, s1, .title = "PROFILE#2.12 vector S1 (the seed's TEST 2 request)",
        .checks = AA_CHECKS(&v_s1_sf, &v_s1_enc, &v_s1_base, &v_s1_invalid, &v_s1_diag))
{
    static const struct aa_check *const all[] = {&v_s1_sf,      &v_s1_enc,  &v_s1_base,
                                                 &v_s1_invalid, &v_s1_diag, NULL};
    cJSON *v = load_vector("httpsig/profile_examples.json", all);
    const cJSON *s1;
    struct vmsg vm;
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
    sig = str(s1, "signature");
    sig_ok = str(s1, "signature_conformant_spelling");
    si = str(s1, "signature_input");
    want_base = str(s1, "base_rfc9421");
    aa_diag_clear(&d);
    if (sig == NULL || sig_ok == NULL || si == NULL || want_base == NULL ||
        !load_msg(cJSON_GetObjectItemCaseSensitive(s1, "message"), &vm) ||
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

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool rfc8032_test1(const cJSON *keyobj, struct aa_jwk *k)
{
    const char *hex = str(keyobj, "rfc8032_test1_secret_hex");
    uint8_t seed[32];

    if (hex == NULL || strlen(hex) != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        seed[i] = (uint8_t)(hi * 16 + lo);
    }
    return aa_jwk_from_ed25519_seed(seed, "test1", k) == AA_OK;
}

/* Base, signature and verification of one worked example. */
static void example(const cJSON *ex, const struct aa_jwk *priv, const struct aa_jwk *pub,
                    const struct aa_check *c_base, const struct aa_check *c_sig,
                    const struct aa_check *c_digest)
{
    const char *si = str(ex, "signature_input"), *sig = str(ex, "signature");
    const char *want_base = str(ex, "base"), *label = str(ex, "label");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(ex, "created");
    struct aa_httpsig_component comps[MAX_COMPONENTS];
    struct aa_httpsig_params params;
    struct aa_httpsig_signed sg;
    struct aa_httpsig_input in;
    struct aa_buf base;
    struct aa_diag d;
    struct vmsg vm;
    size_t n = 0;
    int rc;

    memset(&in, 0, sizeof(in));
    memset(&params, 0, sizeof(params));
    aa_httpsig_signed_init(&sg);
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    aa_diag_clear(&d);
    if (si == NULL || sig == NULL || want_base == NULL || label == NULL ||
        !cJSON_IsNumber(created) ||
        !load_msg(cJSON_GetObjectItemCaseSensitive(ex, "message"), &vm)) {
        aa_check_error(c_base, "example %s is incomplete", str(ex, "name"));
        aa_check_error(c_sig, "example %s is incomplete", str(ex, "name"));
        if (c_digest != NULL)
            aa_check_error(c_digest, "example %s is incomplete", str(ex, "name"));
        goto out;
    }
    aa_conf_note("%s: %.*s %.*s (authority %.*s)", str(ex, "section"), (int)vm.m.method.len,
                 vm.m.method.p, (int)vm.m.target.len, vm.m.target.p, (int)vm.m.authority.len,
                 vm.m.authority.p);

    if (c_digest != NULL) {
        struct aa_buf dg;
        const char *want = str(ex, "content_digest");
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

AA_CASE(vectors, examples, .title = "PROFILE#2.12 Examples A and B",
        .checks = AA_CHECKS(&v_a_base, &v_a_sig, &v_b_digest, &v_b_base, &v_b_sig))
{
    static const struct aa_check *const all[] = {&v_a_base, &v_a_sig, &v_b_digest,
                                                 &v_b_base, &v_b_sig, NULL};
    cJSON *v = load_vector("httpsig/profile_examples.json", all);
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
        aa_jwk_thumbprint(&pub, tp) != AA_OK || str(key, "thumbprint") == NULL ||
        strcmp(tp, str(key, "thumbprint")) != 0 || !aa_jwk_same_key(&priv, &pub)) {
        for (const struct aa_check *const *p = all; *p; p++)
            aa_check_error(*p,
                           "the RFC 8032 TEST 1 key of the vector does not load or does "
                           "not match its JWK/thumbprint: %s",
                           d.msg);
        goto out;
    }
    cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(v, "examples"))
    {
        const char *name = str(ex, "name");
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
    const char *nonce = vector_header(msg, "Nonce"), *body = str(msg, "body");
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
    if (skv == NULL || !cJSON_IsNumber(created) || str(msg, "method") == NULL ||
        str(msg, "authority") == NULL || str(msg, "target") == NULL) {
        aa_check_error(c, "example %s lacks Signature-Key, created or the request line",
                       str(ex, "name"));
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
    req.method = str(msg, "method");
    req.authority = str(msg, "authority");
    req.target = str(msg, "target");
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
    same(&diff, "Signature-Input", str(ex, "signature_input"), sg.signature_input);
    same(&diff, "Signature", str(ex, "signature"), sg.signature);
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

AA_CASE(vectors, aauth_signer, .title = "PROFILE#2.12 Examples A and B via the AAuth signer",
        .checks = AA_CHECKS(&v_a_aauth, &v_b_aauth))
{
    static const struct aa_check *const all[] = {&v_a_aauth, &v_b_aauth, NULL};
    cJSON *v = load_vector("httpsig/profile_examples.json", all);
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
        const char *name = str(ex, "name");
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

/* ---- JOSE -------------------------------------------------------------------- */

static void thumbprint_check(const struct aa_check *c, const cJSON *jwk, const char *want)
{
    struct aa_jwk k = {0};
    struct aa_diag d;
    char tp[AA_JWK_THUMBPRINT_LEN + 1];
    int rc;

    aa_diag_clear(&d);
    if ((rc = jwk_of(jwk, &k, &d)) != AA_OK) {
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
    const char *hdr = str(v, "a4_protected_header"), *payload = str(v, "a4_payload");
    const char *want = str(v, "a4_jws");
    struct aa_jwk k = {0};
    struct aa_jwt t;
    struct aa_diag d;
    char *jws = NULL;
    int rc;

    memset(&t, 0, sizeof(t));
    aa_diag_clear(&d);
    if (hdr == NULL || payload == NULL || want == NULL ||
        jwk_of(cJSON_GetObjectItemCaseSensitive(v, "a1_private_jwk"), &k, &d) != AA_OK) {
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
    const char *tok = str(v, "token"), *want_tp = str(v, "cnf_jwk_thumbprint");
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

AA_CASE(vectors, jose, .title = "JOSE known answers (RFC 7638, RFC 8037, the seed token)",
        .checks = AA_CHECKS(&v_jose_7638, &v_jose_8037_tp, &v_jose_8037_jws, &v_jose_seed))
{
    cJSON *v7638 = load_vector("jose/rfc7638.json", AA_CHECKS(&v_jose_7638));
    cJSON *v8037 = load_vector("jose/rfc8037.json", AA_CHECKS(&v_jose_8037_tp, &v_jose_8037_jws));
    cJSON *vseed = load_vector("jose/seed_agent_token.json", AA_CHECKS(&v_jose_seed));

    if (v7638 != NULL)
        thumbprint_check(&v_jose_7638, cJSON_GetObjectItemCaseSensitive(v7638, "jwk"),
                         str(v7638, "thumbprint"));
    if (v8037 != NULL) {
        thumbprint_check(&v_jose_8037_tp, cJSON_GetObjectItemCaseSensitive(v8037, "a2_public_jwk"),
                         str(v8037, "a3_thumbprint"));
        rfc8037_jws(v8037);
    }
    if (vseed != NULL)
        seed_token(vseed);
    cJSON_Delete(v7638);
    cJSON_Delete(v8037);
    cJSON_Delete(vseed);
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
    struct faults tf = {{0}, 0}, bf = {{0}, 0};
    const char *agent = str(cJSON_GetObjectItemCaseSensitive(v, "topology"), "agent_server");
    const cJSON *t;
    int nt = 0, nb = 0;

    aa_buf_init(&tf.text, AA_CASE_MAX_FIELD);
    aa_buf_init(&bf.text, AA_CASE_MAX_FIELD);
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(v, "tokens"))
    {
        const char *compact = str(t, "compact"), *typ = str(t, "type");
        struct aa_jwk k = {0}, cnf = {0}, bound = {0};
        struct aa_jwt j;
        struct aa_diag d;
        char tp[AA_JWK_THUMBPRINT_LEN + 1], want[AA_JWK_THUMBPRINT_LEN + 1];
        const char *jkt = NULL;

        nt++;
        memset(&j, 0, sizeof(j));
        aa_diag_clear(&d);
        if (compact == NULL || typ == NULL ||
            seedflow_key(v, str(t, "signing_key"), &k, &d) != AA_OK) {
            fault_add(&tf, t->string, "entry lacks compact/type/signing_key: %s", d.msg);
            continue;
        }
        if (aa_jwt_parse(compact, strlen(compact), &j, &d) != AA_OK ||
            aa_jwt_verify(&j, &k, &d) != AA_OK) {
            fault_add(&tf, t->string, "%s", d.msg);
        } else if (j.kid == NULL || strcmp(j.kid, k.kid) != 0) {
            fault_add(&tf, t->string, "kid %s, the signing key is %s", j.kid ? j.kid : "-", k.kid);
        } else {
            /* negative control: one bit of the signature */
            j.sig[0] ^= 0x01;
            if (aa_jwt_verify(&j, &k, NULL) == AA_OK)
                fault_add(&tf, t->string, "still verifies with a flipped signature bit");
            j.sig[0] ^= 0x01;
        }
        /* the delegate binding (resource and auth tokens) */
        if (strcmp(typ, "resource+jwt") == 0 || strcmp(typ, "auth+jwt") == 0) {
            const char *bk = str(t, "bound_key");
            nb++;
            if (j.claims == NULL || bk == NULL || strncmp(bk, "delegate-", 9) != 0 ||
                seedflow_key(v, bk, &bound, NULL) != AA_OK ||
                aa_jwk_thumbprint(&bound, want) != AA_OK) {
                fault_add(&bf, t->string, "no delegate key named as bound_key");
            } else if (strcmp(typ, "resource+jwt") == 0) {
                jkt = aa_jwt_claim_str(&j, "agent_jkt");
                if (jkt == NULL || strcmp(jkt, want) != 0)
                    fault_add(&bf, t->string, "agent_jkt %s, %s has %s", jkt ? jkt : "-", bk, want);
            } else if (aa_jwt_cnf_jwk(&j, &cnf, NULL) != AA_OK ||
                       aa_jwk_thumbprint(&cnf, tp) != AA_OK || strcmp(tp, want) != 0) {
                fault_add(&bf, t->string, "cnf.jwk is not %s", bk);
            } else if (aa_jwt_claim_str(&j, "agent_delegate") == NULL ||
                       strcmp(aa_jwt_claim_str(&j, "agent_delegate"), "delegate-1") != 0 ||
                       agent == NULL || aa_jwt_claim_str(&j, "agent") == NULL ||
                       strcmp(aa_jwt_claim_str(&j, "agent"), agent) != 0) {
                fault_add(&bf, t->string, "agent/agent_delegate are not %s/delegate-1",
                          agent ? agent : "?");
            }
        }
        aa_jwk_cleanup(&bound);
        aa_jwk_cleanup(&cnf);
        aa_jwk_cleanup(&k);
        aa_jwt_cleanup(&j);
    }
    if (nt == 0)
        fault_add(&tf, "tokens", "the file has no tokens");
    if (nb == 0)
        fault_add(&bf, "tokens", "the file has no resource or auth tokens");
    faults_record(&v_seedflow_tokens, &tf, nt);
    faults_record(&v_seedflow_bind, &bf, nb);
}

static void seedflow_requests(const cJSON *v)
{
    struct faults sf = {{0}, 0}, df = {{0}, 0};
    const cJSON *s;
    int ns = 0, nd = 0;

    aa_buf_init(&sf.text, AA_CASE_MAX_FIELD);
    aa_buf_init(&df.text, AA_CASE_MAX_FIELD);
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(v, "steps"))
    {
        const cJSON *sg = cJSON_GetObjectItemCaseSensitive(s, "signature");
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(s, "request");
        const char *id = str(s, "id"), *si = str(sg, "signature_input");
        const char *sig = str(sg, "signature"), *want_base = str(sg, "base");
        const char *body = str(rq, "body"), *cd = str(sg, "content_digest");
        struct aa_httpsig_input in;
        struct aa_httpsig_verify_opts vo;
        struct aa_buf base;
        struct aa_jwk k = {0};
        struct vmsg vm;
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
        if (si == NULL || sig == NULL || want_base == NULL || !load_msg(rq, &vm) ||
            !aa_json_int(s, "clock", &clock) || seedflow_key(v, str(sg, "key"), &k, &d) != AA_OK) {
            fault_add(&sf, id, "step lacks request/signature fields or a known key %s", d.msg);
            aa_buf_free(&base);
            continue;
        }
        if ((rc = aa_httpsig_parse_input(aa_str_c(si), "sig1", &in, &d)) != AA_OK ||
            (rc = aa_httpsig_build_base(&vm.m, &in.list, 0, &base, &d)) != AA_OK) {
            fault_add(&sf, id, "base cannot be built: %s", d.msg);
        } else if (base.p == NULL || strcmp(base.p, want_base) != 0) {
            fault_add(&sf, id, "rebuilt base differs from the recorded one");
        } else {
            memset(&vo, 0, sizeof(vo));
            vo.now = clock;
            vo.check_time = true;
            vo.require_created = true;
            vo.max_skew = 60;
            rc = aa_httpsig_verify(&vm.m, aa_str_c(si), aa_str_c(sig), "sig1", &k, &vo, NULL, &d);
            if ((rc == AA_OK) != want_ok)
                fault_add(&sf, id, "verification %s, the vector says %s",
                          rc == AA_OK ? "succeeds" : aa_strerror(rc),
                          want_ok ? "it verifies" : "it does not");
        }
        if (body != NULL) {
            nd++;
            if (cd == NULL)
                fault_add(&df, id, "signed body without Content-Digest");
            else if (aa_httpsig_verify_digest(aa_str_c(cd), body, strlen(body), AA_DIGEST_SHA256,
                                              NULL, &d) != AA_OK)
                fault_add(&df, id, "%s", d.msg);
        }
        aa_httpsig_input_cleanup(&in);
        aa_buf_free(&base);
        aa_jwk_cleanup(&k);
    }
    if (ns == 0)
        fault_add(&sf, "steps", "the file has no signed requests");
    if (nd == 0)
        fault_add(&df, "steps", "the file has no signed bodies");
    faults_record(&v_seedflow_sigs, &sf, ns);
    faults_record(&v_seedflow_digest, &df, nd);
}

AA_CASE(vectors, seed_flow, .title = "vectors/seed-flow (the seed's F6 flow, PROFILE#7.6)",
        .checks = AA_CHECKS(&v_seedflow_tokens, &v_seedflow_sigs, &v_seedflow_digest,
                            &v_seedflow_bind))
{
    cJSON *v =
        load_vector("seed-flow/seed-flow.json", AA_CHECKS(&v_seedflow_tokens, &v_seedflow_sigs,
                                                          &v_seedflow_digest, &v_seedflow_bind));

    if (v == NULL)
        return;
    seedflow_tokens(v);
    seedflow_requests(v);
    cJSON_Delete(v);
}
