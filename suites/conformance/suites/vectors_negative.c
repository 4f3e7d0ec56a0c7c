/*
 * vectors (negative files): every entry of the negative vector files gives
 * the outcome the file names, one check per file (role "core"):
 *
 *   - vectors/httpsig/negative.json: RFC 9421 verification, base building
 *     and RFC 9530 digests (AA_E_HTTPSIG_* code, failing step, diagnosis);
 *   - vectors/jose/negative.json: JWTs, JWKs, JWK Sets and JSON texts
 *     built by an independent implementation (AA_E_* code);
 *   - vectors/aauth/signature-key.json, agent-auth.json, nonce.json: the
 *     profile's header grammars (code, citation, canonical form);
 *   - vectors/aauth/sig-cases.json: the PROFILE#9 SIG / SK recipes, each a
 *     request signed with one thing changed and judged by the receiver
 *     procedure (status, PROFILE#6.8 error, PROFILE#2.11 step).
 *
 * The assertions mirror the unit suites that own the files
 * (suites/unit/test_httpsig_vectors.c, test_jose.c, test_jwk.c,
 * test_json.c, test_aauth_*.c): the same calls with the same inputs, so a
 * runner shipped without the unit tests shows the same verdicts. Each
 * entry's outcome is one transcript line; a check lists the entries that
 * differ.
 *
 * Design choice: positive controls inside a negative file count like the
 * negatives (an accepted control that is refused is a failure too), so a
 * check cannot pass by refusing everything.
 */
#include <stdlib.h>
#include <string.h>

#include "aa_runner.h"
#include "aauth/aa_aauth.h"
#include "http/aa_http.h"
#include "httpsig/aa_httpsig.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"
#include "vectors_common.h"

#define NEG_JSON_MAX 4096  /* bytes of one json[] input */
#define NEG_NONCE_MAX 4096 /* characters of a repeated nonce */
#define NEG_LIST_MAX 16    /* entries of a recipe's component lists */

/* ---- checks ---------------------------------------------------------------------- */

AA_CHECK(v_neg_httpsig, .id = "vectors.httpsig.negative", .suite = "vectors",
         .title = "HTTP signature negative vectors (vectors/httpsig/negative.json)",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.11", .rfc = "RFC9421#3.2",
         .expect = "every case gives its expected code (AA_OK for the positive controls), at "
                   "the step it names, with a message and a citation, and the dialect "
                   "diagnosis it names");

AA_CHECK(v_neg_jose, .id = "vectors.jose.negative", .suite = "vectors",
         .title = "JOSE negative vectors (vectors/jose/negative.json: jwt, jwk, jwks, json)",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.1", .rfc = "RFC7515#5.2",
         .expect = "every jwt, jwk, jwks and json entry gives its expected code (AA_OK for the "
                   "positive controls); failures cite a section, name the problem and leave "
                   "no output");

AA_CHECK(v_neg_sigkey, .id = "vectors.aauth.signature-key", .suite = "vectors",
         .title = "Signature-Key vectors (vectors/aauth/signature-key.json)", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.1", .rfc = NULL,
         .expect = "each value fails at the stage (parse / validate) with the error the vector "
                   "names, citing the profile; accepted values give their scheme, jwks mode "
                   "and canonical serialisation");

AA_CHECK(v_neg_challenge, .id = "vectors.aauth.agent-auth", .suite = "vectors",
         .title = "Agent-Auth challenge vectors (vectors/aauth/agent-auth.json)",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#5", .rfc = "RFC8941#4.2",
         .expect = "must_fail values fail with the error named; accepted values give the "
                   "fields, algs, D-9 leniency flag and reference spelling the vector lists");

AA_CHECK(v_neg_nonce, .id = "vectors.aauth.nonce", .suite = "vectors",
         .title = "Nonce format vectors (vectors/aauth/nonce.json)", .role = AA_ROLE_NONE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#2.9", .rfc = NULL,
         .expect = "valid values pass; the others fail with AA_E_NONCE_FORMAT citing "
                   "PROFILE#2.9, the message naming what the vector says");

AA_CHECK(v_neg_sigcases, .id = "vectors.aauth.sig-cases", .suite = "vectors",
         .title = "PROFILE#9 SIG/SK recipes through the receiver procedure "
                  "(vectors/aauth/sig-cases.json)",
         .role = AA_ROLE_NONE, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.11", .rfc = "RFC9421#3.2",
         .expect = "every recipe is refused with the vector's status, PROFILE#6.8 error and "
                   "PROFILE#2.11 step, with a cited message (and the legacy dialect named "
                   "where the vector says so)");

/* One entry's verdict: a transcript line, and the failure list on a
 * difference. */
static void entry_ok(const char *group, const char *name, const char *what)
{
    aa_conf_note("%s%s%s: %s", group ? group : "", group ? "/" : "", name ? name : "?", what);
}

static const char *code_name_or(const char *name)
{
    return name != NULL ? name : "(none)";
}

/* ---- vectors/httpsig/negative.json ----------------------------------------------- */

static unsigned base_flags_of(const char *s, bool *ok)
{
    *ok = true;
    if (s != NULL && strcmp(s, "rfc9421") == 0)
        return 0;
    if (s != NULL && strcmp(s, "legacy") == 0)
        return AA_HTTPSIG_BASE_LEGACY;
    if (s != NULL && strcmp(s, "query-no-qmark") == 0)
        return AA_HTTPSIG_BASE_QUERY_NO_QMARK;
    *ok = false;
    return 0;
}

static enum aa_httpsig_sig_enc enc_of(const char *s, bool *ok)
{
    *ok = true;
    if (s != NULL && strcmp(s, "std-padded") == 0)
        return AA_HTTPSIG_ENC_STD_PADDED;
    if (s != NULL && strcmp(s, "std-unpadded") == 0)
        return AA_HTTPSIG_ENC_STD_UNPADDED;
    if (s != NULL && strcmp(s, "url-unpadded") == 0)
        return AA_HTTPSIG_ENC_URL_UNPADDED;
    if (s != NULL && strcmp(s, "url-padded") == 0)
        return AA_HTTPSIG_ENC_URL_PADDED;
    *ok = false;
    return AA_HTTPSIG_ENC_STD_PADDED;
}

static bool sf_kind_of(const char *s, enum aa_httpsig_sf_kind *k)
{
    if (s != NULL && strcmp(s, "dict") == 0)
        *k = AA_HTTPSIG_SF_DICT;
    else if (s != NULL && strcmp(s, "list") == 0)
        *k = AA_HTTPSIG_SF_LIST;
    else if (s != NULL && strcmp(s, "item") == 0)
        *k = AA_HTTPSIG_SF_ITEM;
    else
        return false;
    return true;
}

/* The diagnosis an entry names (aa_httpsig_diagnose) against what it found. */
static void httpsig_diagnosis(const cJSON *dx, const struct vec_msg *vm, const cJSON *c,
                              const struct aa_jwk *k, const char *name, struct vec_faults *f)
{
    struct aa_httpsig_diagnosis dg;
    struct aa_diag d;
    bool found = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dx, "found")), ok1, ok2;
    unsigned want_base;
    enum aa_httpsig_sig_enc want_enc;
    int rc;

    aa_diag_clear(&d);
    memset(&dg, 0, sizeof(dg));
    rc = aa_httpsig_diagnose(&vm->m, aa_str_c(vec_str(c, "signature_input")),
                             aa_str_c(vec_str(c, "signature")), NULL, k, AA_ALG_NONE, &dg, &d);
    if (rc != AA_OK) {
        vec_fault_add(f, name, "diagnosis failed: %s", d.msg);
        return;
    }
    if (dg.found != found) {
        vec_fault_add(f, name, "diagnosis \"%s\", the vector says found=%s", dg.text,
                      found ? "true" : "false");
        return;
    }
    if (!found)
        return;
    want_base = base_flags_of(vec_str(dx, "base"), &ok1);
    want_enc = enc_of(vec_str(dx, "encoding"), &ok2);
    if (!ok1 || !ok2)
        vec_fault_add(f, name, "the vector names an unknown base or encoding");
    else if (dg.base_flags != want_base || dg.enc != want_enc ||
             dg.as_string != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dx, "as_string")))
        vec_fault_add(f, name, "diagnosis \"%s\" differs from base %s, encoding %s", dg.text,
                      vec_str(dx, "base"), vec_str(dx, "encoding"));
}

static void httpsig_entry(const cJSON *c, const struct aa_httpsig_verify_opts *o,
                          const struct aa_httpsig_sf_hint *hints, size_t n_hints,
                          const struct aa_jwk *k, struct vec_faults *f)
{
    const char *name = vec_str(c, "name"), *kind = vec_str(c, "kind");
    const char *expect = vec_str(c, "expect"), *step = vec_str(c, "step");
    struct vec_msg vm;
    struct aa_diag d;
    int want = 0, rc;

    aa_diag_clear(&d);
    if (kind == NULL || !vec_code(expect, &want)) {
        vec_fault_add(f, name, "no kind, or an unknown expected code %s", code_name_or(expect));
        return;
    }
    if (strcmp(kind, "digest") == 0) {
        const char *body = vec_str(c, "body");
        const cJSON *a;
        unsigned accept = 0;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(c, "accept"))
        {
            if (cJSON_IsString(a) && strcmp(a->valuestring, "sha-256") == 0)
                accept |= AA_DIGEST_SHA256;
            else if (cJSON_IsString(a) && strcmp(a->valuestring, "sha-512") == 0)
                accept |= AA_DIGEST_SHA512;
        }
        if (body == NULL) {
            vec_fault_add(f, name, "digest case without a body");
            return;
        }
        rc = aa_httpsig_verify_digest(aa_str_c(vec_str(c, "content_digest")), body, strlen(body),
                                      accept, NULL, &d);
    } else if (!vec_load_msg(cJSON_GetObjectItemCaseSensitive(c, "message"), &vm)) {
        vec_fault_add(f, name, "no usable message");
        return;
    } else if (strcmp(kind, "base") == 0) {
        struct aa_httpsig_input in;
        vm.m.sf_hints = hints;
        vm.m.n_sf_hints = n_hints;
        memset(&in, 0, sizeof(in));
        rc = aa_httpsig_parse_input(aa_str_c(vec_str(c, "signature_input")), NULL, &in, &d);
        if (rc == AA_OK) {
            struct aa_buf b;
            aa_buf_init(&b, AA_HTTPSIG_MAX_BASE);
            rc = aa_httpsig_build_base(&vm.m, &in.list, 0, &b, &d);
            aa_buf_free(&b);
            aa_httpsig_input_cleanup(&in);
        }
    } else if (strcmp(kind, "verify") == 0) {
        vm.m.sf_hints = hints;
        vm.m.n_sf_hints = n_hints;
        rc = aa_httpsig_verify(&vm.m, aa_str_c(vec_str(c, "signature_input")),
                               aa_str_c(vec_str(c, "signature")), NULL, k, o, NULL, &d);
        if (rc == want && step != NULL && (d.step == NULL || strcmp(d.step, step) != 0)) {
            vec_fault_add(f, name, "%s at step %s, the vector says step %s", expect,
                          d.step ? d.step : "(none)", step);
            return;
        }
        if (rc == want && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(c, "diagnosis"))) {
            int before = f->n;
            httpsig_diagnosis(cJSON_GetObjectItemCaseSensitive(c, "diagnosis"), &vm, c, k, name, f);
            if (f->n != before)
                return;
        }
    } else {
        vec_fault_add(f, name, "unknown kind %s", kind);
        return;
    }
    if (rc != want) {
        vec_fault_add(f, name, "%s (%s), the vector says %s", aa_conf_strerror(rc), d.msg, expect);
        return;
    }
    if (rc != AA_OK && (d.msg[0] == '\0' || d.ref == NULL)) {
        vec_fault_add(f, name, "%s without a message or citation", expect);
        return;
    }
    entry_ok(NULL, name, rc == AA_OK ? "AA_OK (positive control)" : expect);
}

static void run_httpsig_negative(void)
{
    cJSON *v = vec_load("httpsig/negative.json", AA_CHECKS(&v_neg_httpsig));
    const cJSON *jo, *c, *h;
    struct aa_httpsig_sf_hint hints[8];
    struct aa_httpsig_verify_opts o;
    struct vec_faults f;
    struct aa_jwk k = {0};
    struct aa_diag d;
    uint8_t seed[32];
    size_t n_hints = 0, seed_len = 0;
    int64_t now = 0, skew = 0;
    int n = 0;

    if (v == NULL)
        return;
    vec_faults_init(&f);
    memset(&o, 0, sizeof(o));
    aa_diag_clear(&d);
    jo = cJSON_GetObjectItemCaseSensitive(v, "opts");
    if (!vec_unhex(vec_str(cJSON_GetObjectItemCaseSensitive(v, "key"), "rfc8032_test1_secret_hex"),
                   seed, sizeof(seed), &seed_len) ||
        seed_len != sizeof(seed) || aa_jwk_from_ed25519_seed(seed, "test1", &k) != AA_OK ||
        !aa_json_int(jo, "now", &now) || !aa_json_int(jo, "max_skew", &skew)) {
        aa_check_error(&v_neg_httpsig, "negative.json lacks its key or opts (now, max_skew)");
        goto out;
    }
    o.now = now;
    o.max_skew = skew;
    o.check_time = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jo, "check_time"));
    o.require_created = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jo, "require_created"));
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(v, "sf_hints"))
    {
        if (n_hints >= sizeof(hints) / sizeof(hints[0]) || !cJSON_IsString(h) ||
            !sf_kind_of(h->valuestring, &hints[n_hints].kind)) {
            aa_check_error(&v_neg_httpsig, "negative.json: sf_hints entry %s is not usable",
                           h->string ? h->string : "?");
            goto out;
        }
        hints[n_hints++].name = h->string;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        httpsig_entry(c, &o, hints, n_hints, &k, &f);
        n++;
    }
    if (n == 0)
        vec_fault_add(&f, "cases", "the file has no cases");
    vec_faults_record(&v_neg_httpsig, &f, n);
out:
    aa_buf_free(&f.text);
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}

/* ---- vectors/jose/negative.json -------------------------------------------------- */

/* A failure must say what and where (PROFILE#9: findings are cited). */
static bool cited(const struct aa_diag *d)
{
    return d->ref != NULL && d->msg[0] != '\0';
}

static void jose_jwt(const cJSON *e, const struct aa_jwk *key, struct vec_faults *f, int *n)
{
    const char *name = vec_str(e, "name"), *tok = vec_str(e, "token");
    const char *stage = vec_str(e, "stage"), *expect = vec_str(e, "expect");
    struct aa_jwt t;
    struct aa_diag d;
    int want = 0, rc;

    (*n)++;
    memset(&t, 0, sizeof(t));
    aa_diag_clear(&d);
    if (tok == NULL || stage == NULL || !vec_code(expect, &want)) {
        vec_fault_add(f, name, "no token/stage or an unknown code %s", code_name_or(expect));
        return;
    }
    rc = aa_jwt_parse(tok, strlen(tok), &t, &d);
    if (strcmp(stage, "parse") == 0) {
        if (rc != want)
            vec_fault_add(f, name, "parse gives %s (%s), the vector says %s", aa_conf_strerror(rc),
                          d.msg, expect);
        else if (rc != AA_OK && t.header != NULL)
            vec_fault_add(f, name, "output not zeroed on failure");
        else if (rc != AA_OK && !cited(&d))
            vec_fault_add(f, name, "%s without a message or citation", expect);
        else
            entry_ok("jwt", name, expect);
    } else if (rc != AA_OK) {
        vec_fault_add(f, name, "parse fails (%s), the vector verifies it", d.msg);
    } else {
        aa_diag_clear(&d);
        rc = aa_jwt_verify(&t, key, &d);
        if (rc != want)
            vec_fault_add(f, name, "verify gives %s (%s), the vector says %s", aa_conf_strerror(rc),
                          d.msg, expect);
        else if (rc != AA_OK && !cited(&d))
            vec_fault_add(f, name, "%s without a message or citation", expect);
        else
            entry_ok("jwt", name, expect);
    }
    aa_jwt_cleanup(&t);
}

static void jose_jwk(const cJSON *e, struct vec_faults *f, int *n)
{
    const char *name = vec_str(e, "name"), *ctx = vec_str(e, "context");
    const char *expect = vec_str(e, "expect");
    struct aa_jwk k;
    struct aa_diag d;
    int want = 0, rc;

    (*n)++;
    memset(&k, 0, sizeof(k));
    aa_diag_clear(&d);
    if (ctx == NULL || !vec_code(expect, &want)) {
        vec_fault_add(f, name, "no context or an unknown code %s", code_name_or(expect));
        return;
    }
    rc = aa_jwk_from_cjson(cJSON_GetObjectItemCaseSensitive(e, "jwk"),
                           strcmp(ctx, "public") == 0 ? AA_JWK_PUBLIC_ONLY : 0, &k, &d);
    if (rc != want)
        vec_fault_add(f, name, "%s (%s), the vector says %s", aa_conf_strerror(rc), d.msg, expect);
    else if (rc != AA_OK && k.pkey != NULL)
        vec_fault_add(f, name, "output not zeroed on failure");
    else if (rc != AA_OK && !cited(&d))
        vec_fault_add(f, name, "%s without a message or citation", expect);
    else
        entry_ok("jwk", name, expect);
    aa_jwk_cleanup(&k);
}

static void jose_jwks(const cJSON *e, struct vec_faults *f, int *n)
{
    const char *name = vec_str(e, "name"), *expect = vec_str(e, "expect");
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(e, "jwks"));
    struct aa_jwks s;
    struct aa_diag d;
    int64_t keys = 0, skipped = 0;
    int want = 0, rc;

    (*n)++;
    memset(&s, 0, sizeof(s));
    aa_diag_clear(&d);
    if (text == NULL || !vec_code(expect, &want)) {
        vec_fault_add(f, name, "no jwks or an unknown code %s", code_name_or(expect));
        cJSON_free(text);
        return;
    }
    rc = aa_jwks_parse(text, strlen(text), &s, &d);
    if (rc != want) {
        vec_fault_add(f, name, "%s (%s), the vector says %s", aa_conf_strerror(rc), d.msg, expect);
    } else if (rc == AA_OK) {
        if (!aa_json_int(e, "keys", &keys) || !aa_json_int(e, "skipped", &skipped))
            vec_fault_add(f, name, "positive control without keys/skipped counts");
        else if (s.n != (size_t)keys || s.skipped != (size_t)skipped)
            vec_fault_add(f, name, "%zu keys, %zu skipped; the vector says %lld, %lld", s.n,
                          s.skipped, (long long)keys, (long long)skipped);
        else
            entry_ok("jwks", name, "AA_OK (positive control)");
    } else if (s.keys != NULL) {
        vec_fault_add(f, name, "output not zeroed on failure");
    } else if (strstr(d.msg, "keys") == NULL) {
        vec_fault_add(f, name, "message \"%s\" does not name keys", d.msg);
    } else {
        entry_ok("jwks", name, expect);
    }
    aa_jwks_cleanup(&s);
    cJSON_free(text);
}

static void jose_json(const cJSON *e, struct vec_faults *f, int *n)
{
    const char *name = vec_str(e, "name"), *in = vec_str(e, "input");
    const char *hex = vec_str(e, "input_hex"), *expect = vec_str(e, "expect");
    struct aa_json_opts o = {0};
    uint8_t buf[NEG_JSON_MAX];
    size_t len = 0;
    cJSON *tree = NULL;
    struct aa_diag d;
    int want = 0, rc;

    (*n)++;
    aa_diag_clear(&d);
    o.allow_any_root = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "allow_any_root"));
    if (!vec_code(expect, &want)) {
        vec_fault_add(f, name, "unknown code %s", code_name_or(expect));
        return;
    }
    if (hex != NULL) {
        if (!vec_unhex(hex, buf, sizeof(buf), &len)) {
            vec_fault_add(f, name, "input_hex is not hex of at most %d bytes", NEG_JSON_MAX);
            return;
        }
    } else if (in != NULL && strlen(in) <= sizeof(buf)) {
        len = strlen(in);
        memcpy(buf, in, len);
    } else {
        vec_fault_add(f, name, "no input (or longer than %d bytes)", NEG_JSON_MAX);
        return;
    }
    rc = aa_json_parse((const char *)buf, len, &o, &tree, &d);
    if (rc != want)
        vec_fault_add(f, name, "%s (%s), the vector says %s", aa_conf_strerror(rc), d.msg, expect);
    else if ((rc == AA_OK) != (tree != NULL))
        vec_fault_add(f, name, "tree %s on %s", tree ? "kept" : "missing", expect);
    else if (rc != AA_OK && !cited(&d))
        vec_fault_add(f, name, "%s without a message or citation", expect);
    else
        entry_ok("json", name, expect);
    cJSON_Delete(tree);
}

static void run_jose_negative(void)
{
    cJSON *v = vec_load("jose/negative.json", AA_CHECKS(&v_neg_jose));
    const cJSON *e;
    struct vec_faults f;
    struct aa_jwk key = {0};
    struct aa_diag d;
    int n = 0, n_jwt = 0, n_jwk = 0, n_jwks = 0, n_json = 0;

    if (v == NULL)
        return;
    vec_faults_init(&f);
    aa_diag_clear(&d);
    if (vec_jwk(cJSON_GetObjectItemCaseSensitive(v, "verify_jwk"), AA_JWK_PUBLIC_ONLY, &key, &d) !=
        AA_OK) {
        aa_check_error(&v_neg_jose, "negative.json: verify_jwk does not load: %s", d.msg);
        goto out;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "jwt")) jose_jwt(e, &key, &f, &n_jwt);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "jwk")) jose_jwk(e, &f, &n_jwk);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "jwks")) jose_jwks(e, &f, &n_jwks);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "json")) jose_json(e, &f, &n_json);
    aa_conf_note("jwt %d, jwk %d, jwks %d, json %d entries", n_jwt, n_jwk, n_jwks, n_json);
    if (n_jwt == 0 || n_jwk == 0 || n_jwks == 0 || n_json == 0)
        vec_fault_add(&f, "sections", "jwt, jwk, jwks or json is empty");
    n = n_jwt + n_jwk + n_jwks + n_json;
    vec_faults_record(&v_neg_jose, &f, n);
out:
    aa_buf_free(&f.text);
    aa_jwk_cleanup(&key);
    cJSON_Delete(v);
}

/* ---- vectors/aauth: Signature-Key, Agent-Auth, Nonce ----------------------------- */

static bool sigkey_error(const char *s, int *out)
{
    static const struct {
        const char *name;
        int code;
    } t[] = {{"members", AA_E_SIGKEY_MEMBERS}, {"syntax", AA_E_SIGKEY_SYNTAX},
             {"dup", AA_E_SIGKEY_DUP},         {"scheme", AA_E_SIGKEY_SCHEME},
             {"param", AA_E_SIGKEY_PARAM},     {"limit", AA_E_LIMIT}};
    for (size_t i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, s) == 0) {
            *out = t[i].code;
            return true;
        }
    return false;
}

static void sigkey_entry(const cJSON *c, struct vec_faults *f)
{
    const char *name = vec_str(c, "name"), *raw = vec_str(c, "raw"), *stage = vec_str(c, "stage");
    const char *err = vec_str(c, "error");
    struct aa_sigkey sk;
    struct aa_diag d;
    int want = 0, rc;

    memset(&sk, 0, sizeof(sk));
    aa_diag_clear(&d);
    if (raw == NULL || stage == NULL || (strcmp(stage, "ok") != 0 && !sigkey_error(err, &want))) {
        vec_fault_add(f, name, "no raw/stage, or an unknown error %s", code_name_or(err));
        return;
    }
    rc = aa_sigkey_parse(NULL, raw, strlen(raw), &sk, &d);
    if (strcmp(stage, "parse") == 0) {
        if (rc != want)
            vec_fault_add(f, name, "parse gives %s (%s), the vector says %s", aa_conf_strerror(rc),
                          d.msg, err);
        else if (d.ref == NULL || strncmp(d.ref, "PROFILE#", 8) != 0 || d.msg[0] == '\0')
            vec_fault_add(f, name, "refused without a PROFILE citation and a message");
        else if (sk.label != NULL)
            vec_fault_add(f, name, "output not zeroed on failure");
        else
            entry_ok(NULL, name, err);
        aa_sigkey_cleanup(&sk);
        return;
    }
    if (rc != AA_OK) {
        vec_fault_add(f, name, "parse fails (%s), the vector says it parses", d.msg);
        return;
    }
    rc = aa_sigkey_validate(NULL, &sk, &d);
    if (strcmp(stage, "validate") == 0) {
        if (rc != want)
            vec_fault_add(f, name, "validate gives %s (%s), the vector says %s",
                          aa_conf_strerror(rc), d.msg, err);
        else if (d.ref == NULL || strcmp(d.ref, "PROFILE#2.3") != 0)
            vec_fault_add(f, name, "cites %s, expected PROFILE#2.3", d.ref ? d.ref : "nothing");
        else
            entry_ok(NULL, name, err);
    } else if (rc != AA_OK) {
        vec_fault_add(f, name, "validate fails (%s), the vector accepts it", d.msg);
    } else {
        const char *scheme = aa_sigkey_scheme_name(NULL, sk.scheme);
        const cJSON *jm = cJSON_GetObjectItemCaseSensitive(c, "jwks_mode");
        int want_mode = cJSON_IsNumber(jm) ? jm->valueint : 0;
        struct aa_buf b;
        aa_buf_init(&b, 65536);
        if (scheme == NULL || vec_str(c, "scheme") == NULL ||
            strcmp(scheme, vec_str(c, "scheme")) != 0 || sk.jwks_mode != want_mode)
            vec_fault_add(f, name, "scheme %s mode %d, the vector says %s mode %d",
                          scheme ? scheme : "-", sk.jwks_mode, code_name_or(vec_str(c, "scheme")),
                          want_mode);
        else if (aa_sigkey_serialize(NULL, &sk, &b) != AA_OK || b.p == NULL ||
                 vec_str(c, "canonical") == NULL || strcmp(b.p, vec_str(c, "canonical")) != 0)
            vec_fault_add(f, name, "serialises as %s, the vector says %s", b.p ? b.p : "(error)",
                          code_name_or(vec_str(c, "canonical")));
        else
            entry_ok(NULL, name, "accepted, canonical form as the vector");
        aa_buf_free(&b);
    }
    aa_sigkey_cleanup(&sk);
}

static bool challenge_error(const char *s, int *out)
{
    static const struct {
        const char *name;
        int code;
    } t[] = {{"syntax", AA_E_CHALLENGE_SYNTAX},
             {"none", AA_E_CHALLENGE_NONE},
             {"param", AA_E_CHALLENGE_PARAM},
             {"limit", AA_E_LIMIT}};
    for (size_t i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, s) == 0) {
            *out = t[i].code;
            return true;
        }
    return false;
}

/* |got| (NULL = absent) equals the vector's member |m| (absent = NULL). */
static bool same_opt(const char *got, const cJSON *c, const char *m)
{
    const char *want = vec_str(c, m);
    return want == NULL ? got == NULL : got != NULL && strcmp(got, want) == 0;
}

static void challenge_entry(const cJSON *c, struct vec_faults *f)
{
    const char *name = vec_str(c, "name"), *raw = vec_str(c, "raw");
    const char *fail = vec_str(c, "must_fail");
    const cJSON *algs = cJSON_GetObjectItemCaseSensitive(c, "algs");
    const cJSON *mi = cJSON_GetObjectItemCaseSensitive(c, "member_index");
    struct aa_challenge ch;
    struct aa_diag d;
    size_t n_algs = algs != NULL ? (size_t)cJSON_GetArraySize(algs) : 0;
    int want = 0, rc;
    bool algs_same = true;

    memset(&ch, 0, sizeof(ch));
    aa_diag_clear(&d);
    if (raw == NULL || (fail != NULL && !challenge_error(fail, &want))) {
        vec_fault_add(f, name, "no raw, or an unknown error %s", code_name_or(fail));
        return;
    }
    rc = aa_challenge_parse(NULL, raw, strlen(raw), &ch, &d);
    if (fail != NULL) {
        if (rc != want)
            vec_fault_add(f, name, "%s (%s), the vector says %s", aa_conf_strerror(rc), d.msg,
                          fail);
        else if (d.msg[0] == '\0' || ch.resource_token != NULL)
            vec_fault_add(f, name, "refused without a message, or output kept");
        else
            entry_ok(NULL, name, fail);
        aa_challenge_cleanup(&ch);
        return;
    }
    if (rc != AA_OK) {
        vec_fault_add(f, name, "refused (%s), the vector accepts it", d.msg);
        return;
    }
    for (size_t i = 0; i < n_algs && algs_same; i++) {
        const cJSON *a = cJSON_GetArrayItem(algs, (int)i);
        algs_same = i < ch.n_algs && cJSON_IsString(a) && strcmp(ch.algs[i], a->valuestring) == 0;
    }
    if (ch.identity != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "identity")) ||
        ch.auth_token != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "auth_token")) ||
        !same_opt(ch.resource_token, c, "resource_token") ||
        !same_opt(ch.auth_server, c, "auth_server") ||
        !same_opt(ch.user_interaction, c, "user_interaction") ||
        ch.algs_non_rfc8941 != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "algs_warn")) ||
        ch.member_index != (size_t)(cJSON_IsNumber(mi) ? mi->valueint : 0)) {
        vec_fault_add(f, name, "parsed fields differ from the vector's");
    } else if (ch.n_algs != n_algs || ch.has_algs != (n_algs > 0) || !algs_same) {
        vec_fault_add(f, name, "algs differ from the vector's");
    } else if (vec_str(c, "reference") != NULL) {
        struct aa_buf b;
        aa_buf_init(&b, 65536);
        if (aa_challenge_serialize(NULL, &ch, &b) != AA_OK || b.p == NULL ||
            strcmp(b.p, vec_str(c, "reference")) != 0)
            vec_fault_add(f, name, "reference spelling %s, the vector says %s",
                          b.p ? b.p : "(error)", vec_str(c, "reference"));
        else
            entry_ok(NULL, name, "accepted, fields and reference spelling as the vector");
        aa_buf_free(&b);
    } else {
        entry_ok(NULL, name, "accepted, fields as the vector");
    }
    aa_challenge_cleanup(&ch);
}

static void nonce_entry(const cJSON *c, struct vec_faults *f)
{
    const char *name = vec_str(c, "name"), *val = vec_str(c, "nonce");
    const char *word = vec_str(c, "message_contains");
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(c, "repeat");
    bool valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "valid"));
    char rep[NEG_NONCE_MAX + 1];
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    if (cJSON_IsObject(rp)) { /* {"char":"A","count":129} */
        const char *ch = vec_str(rp, "char");
        const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(rp, "count");
        if (ch == NULL || ch[0] == '\0' || !cJSON_IsNumber(cnt) || cnt->valuedouble < 0 ||
            cnt->valuedouble > NEG_NONCE_MAX) {
            vec_fault_add(f, name, "repeat needs a char and a count of at most %d", NEG_NONCE_MAX);
            return;
        }
        memset(rep, ch[0], (size_t)cnt->valuedouble);
        rep[(size_t)cnt->valuedouble] = '\0';
        val = rep;
    }
    if (val == NULL) {
        vec_fault_add(f, name, "no nonce");
        return;
    }
    rc = aa_nonce_check(NULL, val, strlen(val), &d);
    if (valid && rc != AA_OK)
        vec_fault_add(f, name, "refused (%s), the vector says valid", d.msg);
    else if (!valid && rc != AA_E_NONCE_FORMAT)
        vec_fault_add(f, name, "%s, the vector says AA_E_NONCE_FORMAT", aa_conf_strerror(rc));
    else if (!valid && (d.ref == NULL || strcmp(d.ref, "PROFILE#2.9") != 0))
        vec_fault_add(f, name, "cites %s, expected PROFILE#2.9", d.ref ? d.ref : "nothing");
    else if (!valid && word != NULL && strstr(d.msg, word) == NULL)
        vec_fault_add(f, name, "message \"%s\" does not name \"%s\"", d.msg, word);
    else
        entry_ok(NULL, name, valid ? "valid" : "AA_E_NONCE_FORMAT");
}

/* One check over the "cases" array of vectors/aauth/<file>. */
static void aauth_file(const char *rel, const struct aa_check *c,
                       void (*entry)(const cJSON *, struct vec_faults *))
{
    cJSON *v = vec_load(rel, AA_CHECKS(c));
    const cJSON *e;
    struct vec_faults f;
    int n = 0;

    if (v == NULL)
        return;
    vec_faults_init(&f);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        entry(e, &f);
        n++;
    }
    if (n == 0)
        vec_fault_add(&f, "cases", "the file has no cases");
    vec_faults_record(c, &f, n);
    cJSON_Delete(v);
}

static void run_aauth_signature_key(void)
{
    aauth_file("aauth/signature-key.json", &v_neg_sigkey, sigkey_entry);
}

static void run_aauth_agent_auth(void)
{
    aauth_file("aauth/agent-auth.json", &v_neg_challenge, challenge_entry);
}

static void run_aauth_nonce(void)
{
    aauth_file("aauth/nonce.json", &v_neg_nonce, nonce_entry);
}

/* ---- vectors/aauth/sig-cases.json ------------------------------------------------ */
/*
 * The receiver of vectors/aauth/README.md: authority 127.0.0.1:8002, a 60 s
 * created window, a replay cache, dev mode, a Nonce required on POST; the
 * agent server http://127.0.0.1:8001 publishes the RFC 8032 TEST 1 key as
 * key-1 (PROFILE#2.12). Requests are signed at the frozen clock.
 */
#define SC_AUTHORITY "127.0.0.1:8002"
#define SC_RECEIVER "http://127.0.0.1:8002"
#define SC_AGENT "http://127.0.0.1:8001"
#define SC_ISSUER "http://127.0.0.1:8003"
#define SC_NOW 1768786221
/* What a recipe's "other_key" declares (Example A's credential) while an
 * unrelated key signs (SIG-20). */
#define SC_TEST1_HWK                                                                               \
    "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" "                                                \
    "x=\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\")"

static const uint8_t sc_test1_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

struct sc_env {
    struct aa_jwk agent_key; /* TEST 1, kid key-1 */
    struct aa_jwk other_key; /* unrelated, also kid key-1 */
    struct aa_static_keys *keys;
    struct aa_key_resolver resolver;
    int64_t now;
};

static int64_t sc_now(void *ctx)
{
    return *(const int64_t *)ctx;
}

static int sc_env_init(struct sc_env *e)
{
    static const char label[] = "aauth-conformance vectors: an unrelated Ed25519 key";
    uint8_t other[32];
    int rc;

    memset(e, 0, sizeof(e[0]));
    e->now = SC_NOW;
    /* deterministic, so a run is repeatable */
    aa_sha256(label, sizeof(label) - 1, other);
    if ((rc = aa_jwk_from_ed25519_seed(sc_test1_seed, "key-1", &e->agent_key)) != AA_OK ||
        (rc = aa_jwk_from_ed25519_seed(other, "key-1", &e->other_key)) != AA_OK)
        return rc;
    if ((e->keys = aa_static_keys_new()) == NULL)
        return AA_E_NOMEM;
    if ((rc = aa_static_keys_add(e->keys, SC_AGENT, "aauth-agent", &e->agent_key)) != AA_OK)
        return rc;
    aa_key_resolver_static(&e->resolver, e->keys);
    return AA_OK;
}

static void sc_env_cleanup(struct sc_env *e)
{
    aa_static_keys_free(e->keys);
    aa_jwk_cleanup(&e->agent_key);
    aa_jwk_cleanup(&e->other_key);
}

/* |name| array of strings -> NULL-terminated list in |store|; NULL when
 * absent; false when it does not fit or holds a non-string. */
static bool str_list(const cJSON *c, const char *name, const char **store, size_t cap,
                     const char *const **out)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, name), *it;
    size_t n = 0;

    *out = NULL;
    if (a == NULL)
        return true;
    if (!cJSON_IsArray(a))
        return false;
    cJSON_ArrayForEach(it, a)
    {
        if (n + 1 >= cap || !cJSON_IsString(it))
            return false;
        store[n++] = it->valuestring;
    }
    store[n] = NULL;
    *out = store;
    return true;
}

/* Build the recipe's request, sign it, run the receiver. AA_OK when the
 * receiver ran (|r| holds its verdict); otherwise |why| says why the
 * recipe could not be built. */
static int sc_run(struct sc_env *e, const cJSON *c, struct aa_aauth_result *r, struct aa_buf *why)
{
    const char *method = vec_str(c, "method") ? vec_str(c, "method") : "GET";
    const char *target = vec_str(c, "target") ? vec_str(c, "target") : "/data-jwks";
    const char *body =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "body")) ? "{\"a\":1}" : NULL;
    const char *omit[NEG_LIST_MAX], *append[NEG_LIST_MAX], *comps[NEG_LIST_MAX], *sfc[NEG_LIST_MAX];
    const cJSON *it, *eo = cJSON_GetObjectItemCaseSensitive(c, "expires_offset");
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(c, "created_offset");
    bool other = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "other_key"));
    struct aa_http_headers req_h, send_h;
    struct aa_sign_request sr;
    struct aa_sign_cred cred;
    struct aa_sign_opts o;
    struct aa_signed s;
    struct aa_verify_policy pol;
    struct aa_verify_request vr;
    struct aa_nonce_cache_opts no;
    struct aa_nonce_cache *cache = NULL;
    struct aa_identity id;
    struct aa_clock clk;
    struct aa_diag d;
    static const char *const trusted[] = {SC_ISSUER, NULL};
    int rc = AA_E_INVAL;

    memset(&sr, 0, sizeof(sr));
    memset(&cred, 0, sizeof(cred));
    memset(&o, 0, sizeof(o));
    memset(&s, 0, sizeof(s));
    memset(&vr, 0, sizeof(vr));
    memset(&no, 0, sizeof(no));
    memset(&id, 0, sizeof(id));
    aa_http_headers_init(&req_h);
    aa_http_headers_init(&send_h);
    aa_diag_clear(&d);
    clk.now = sc_now;
    clk.ctx = &e->now;
    if (body != NULL && aa_http_headers_add(&req_h, "Content-Type", "application/json") != AA_OK)
        goto nomem;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "extra_headers"))
    {
        if (!cJSON_IsString(it) ||
            aa_http_headers_add(&req_h, it->string, it->valuestring) != AA_OK) {
            aa_buf_printf(why, "extra_headers.%s is not a string", it->string ? it->string : "?");
            goto out;
        }
    }
    sr.method = method;
    sr.authority = vec_str(c, "sign_authority") ? vec_str(c, "sign_authority") : SC_AUTHORITY;
    sr.target = target;
    sr.headers = &req_h;
    sr.body = body;
    sr.body_len = body ? strlen(body) : 0;
    cred.scheme = AA_SIGKEY_HWK;
    cred.raw_signature_key = other ? SC_TEST1_HWK : vec_str(c, "raw_signature_key");
    o.clock = &clk;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "variants"))
    {
        unsigned bit = cJSON_IsString(it) ? aa_sign_variant_from_name(it->valuestring) : 0;
        if (bit == 0) {
            aa_buf_printf(why, "unknown variant %s",
                          cJSON_IsString(it) ? it->valuestring : "(not a string)");
            goto out;
        }
        o.variants |= bit;
    }
    if (!str_list(c, "omit", omit, NEG_LIST_MAX, &o.omit) ||
        !str_list(c, "append", append, NEG_LIST_MAX, &o.append) ||
        !str_list(c, "components", comps, NEG_LIST_MAX, &o.components) ||
        !str_list(c, "sf_components", sfc, NEG_LIST_MAX, &o.sf_components)) {
        aa_buf_printf(why, "omit/append/components/sf_components is not a short string list");
        goto out;
    }
    o.signature_label = vec_str(c, "signature_label");
    o.key_label = vec_str(c, "key_label");
    o.created_offset = cJSON_IsNumber(co) ? (int64_t)co->valuedouble : 0;
    if (cJSON_IsNumber(eo)) {
        o.has_expires = true;
        o.expires_offset = (int64_t)eo->valuedouble;
    }
    o.alg = vec_str(c, "alg");
    if (vec_str(c, "nonce") != NULL) {
        o.nonce_mode = AA_SIGN_NONCE_GIVEN;
        o.nonce = vec_str(c, "nonce");
    } else if (vec_str(c, "nonce_mode") != NULL) {
        o.nonce_mode = AA_SIGN_NONCE_NONE;
    }
    for (size_t i = 0; i < req_h.n; i++)
        if (aa_http_headers_add(&send_h, req_h.v[i].name, req_h.v[i].value) != AA_OK)
            goto nomem;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "unsigned"))) {
        rc = aa_aauth_sign(NULL, &sr, other ? &e->other_key : &e->agent_key, &cred, &o, &s, &d);
        if (rc != AA_OK) {
            aa_buf_printf(why, "the signer refused the recipe: %s", d.msg);
            goto out;
        }
        for (size_t i = 0; i < s.headers.n; i++) {
            const char *val = s.headers.v[i].value, *t = vec_str(c, "raw_signature_input");
            char raw[1024];
            if (t != NULL && strcmp(s.headers.v[i].name, "Signature-Input") == 0) {
                /* %CREATED% stands for the created the signer used */
                const char *mark = strstr(t, "%CREATED%");
                if (mark == NULL || aa_snprintf(raw, sizeof(raw), "%.*s%lld%s", (int)(mark - t), t,
                                                (long long)s.created, mark + 9) != AA_OK) {
                    aa_buf_printf(why, "raw_signature_input lacks %%CREATED%% or is too long");
                    rc = AA_E_INVAL;
                    goto out;
                }
                val = raw;
            }
            if (aa_http_headers_add(&send_h, s.headers.v[i].name, val) != AA_OK)
                goto nomem;
        }
    }
    no.capacity = 16;
    no.clock = clk;
    if ((cache = aa_nonce_cache_new(&no)) == NULL)
        goto nomem;
    memset(&pol, 0, sizeof(pol));
    pol.authority = SC_AUTHORITY;
    pol.receiver = SC_RECEIVER;
    pol.clock = clk;
    pol.replay = cache;
    pol.resolver = &e->resolver;
    pol.trusted_issuers = trusted;
    pol.dev_mode = true;
    vr.method = vec_str(c, "send_method") ? vec_str(c, "send_method") : method;
    vr.target = vec_str(c, "send_target") ? vec_str(c, "send_target") : target;
    vr.headers = &send_h;
    vr.body = body;
    vr.body_len = body ? strlen(body) : 0;
    /* the verdict is in |r|; the return value repeats r->code */
    rc = aa_aauth_verify(&pol, &vr, &id, r) == r->code ? AA_OK : AA_E_INTERNAL;
    if (rc != AA_OK)
        aa_buf_printf(why, "aa_aauth_verify returned another code than its result");
    goto out;
nomem:
    rc = AA_E_NOMEM;
    aa_buf_printf(why, "out of memory");
out:
    aa_identity_cleanup(&id);
    aa_nonce_cache_free(cache);
    aa_signed_cleanup(&s);
    aa_http_headers_cleanup(&req_h);
    aa_http_headers_cleanup(&send_h);
    return rc;
}

static void sc_entry(struct sc_env *e, const cJSON *c, struct vec_faults *f, bool *fault)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(c, "expect");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(x, "status");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(x, "step");
    const char *perr = vec_str(x, "error"), *word = vec_str(x, "message_contains");
    char name[160], txt[700];
    struct aa_aauth_result r;
    struct aa_buf why;
    int rc;

    aa_snprintf(name, sizeof(name), "%s %s", code_name_or(vec_str(c, "id")),
                code_name_or(vec_str(c, "name")));
    if (!cJSON_IsNumber(st) || !cJSON_IsNumber(sp) || perr == NULL) {
        vec_fault_add(f, name, "expect lacks status, error or step");
        return;
    }
    aa_aauth_result_init(&r);
    aa_buf_init(&why, 1024);
    rc = sc_run(e, c, &r, &why);
    if (rc != AA_OK) {
        /* the harness cannot build what the vector describes: not a verdict */
        *fault = true;
        vec_fault_add(f, name, "%s", why.p ? why.p : "recipe cannot be built");
        aa_buf_free(&why);
        return;
    }
    aa_buf_free(&why);
    aa_aauth_result_format(&r, txt, sizeof(txt));
    if (r.code == AA_OK)
        vec_fault_add(f, name, "accepted, the vector says %d %s", st->valueint, perr);
    else if (r.status != st->valueint || strcmp(aa_perr_name(r.perr), perr) != 0 ||
             r.step != sp->valueint)
        vec_fault_add(f, name, "%s; the vector says %d %s at step %d", txt, st->valueint, perr,
                      sp->valueint);
    else if (r.diag.ref == NULL || r.diag.msg[0] == '\0')
        vec_fault_add(f, name, "refused without a cited message");
    else if (word != NULL && strstr(r.diag.msg, word) == NULL)
        vec_fault_add(f, name, "message \"%s\" does not name \"%s\"", r.diag.msg, word);
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "dialect")) &&
             !(r.dialect_found && strstr(r.dialect, "legacy") != NULL))
        vec_fault_add(f, name, "the legacy dialect is not named (%s)",
                      r.dialect_found ? r.dialect : "no dialect found");
    else if (r.no_signature != (r.step == 2))
        vec_fault_add(f, name, "no_signature is %s at step %d", r.no_signature ? "set" : "unset",
                      r.step);
    else
        aa_conf_note("%s: %s", name, txt);
}

static void run_aauth_sig_cases(void)
{
    cJSON *v = vec_load("aauth/sig-cases.json", AA_CHECKS(&v_neg_sigcases));
    const cJSON *c;
    struct vec_faults f;
    struct sc_env e;
    bool fault = false;
    int n = 0, rc;

    if (v == NULL)
        return;
    vec_faults_init(&f);
    if ((rc = sc_env_init(&e)) != AA_OK) {
        aa_check_fault(&v_neg_sigcases, "setting up the receiver and keys", rc, NULL);
        goto out;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        sc_entry(&e, c, &f, &fault);
        n++;
    }
    if (n == 0)
        vec_fault_add(&f, "cases", "the file has no cases");
    if (fault)
        aa_check_error(&v_neg_sigcases, "a recipe could not be run: %s", f.text.p);
    else
        vec_faults_record(&v_neg_sigcases, &f, n);
out:
    aa_buf_free(&f.text);
    sc_env_cleanup(&e);
    cJSON_Delete(v);
}

/* ---- the case ---------------------------------------------------------------------- */
/*
 * One case for the six files: each case is a process of its own, and the
 * suite stays fast with few of them. Every file starts its part of the
 * transcript with "vector file <path>".
 */
AA_CASE(vectors, negative_files,
        .title =
            "negative vector files (vectors/httpsig/negative.json, vectors/jose/negative.json, "
            "vectors/aauth/*.json)",
        .checks = AA_CHECKS(&v_neg_httpsig, &v_neg_jose, &v_neg_sigkey, &v_neg_challenge,
                            &v_neg_nonce, &v_neg_sigcases))
{
    run_httpsig_negative();
    run_jose_negative();
    run_aauth_signature_key();
    run_aauth_agent_auth();
    run_aauth_nonce();
    run_aauth_sig_cases();
}
