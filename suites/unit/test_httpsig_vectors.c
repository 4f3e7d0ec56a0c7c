/*
 * Known-answer and negative vectors for aa_httpsig (the JSON files in vectors/httpsig):
 * RFC 9421 Appendix B, RFC 9530 digests, the AAuth profile's worked
 * examples A/B and the seed vector S1 (PROTOCOL.md §2.12), and the
 * negative catalogue of this layer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"

#include "helpers/aa_test_util.h"

#define MAX_FIELDS 32

/* ---- vector loading -------------------------------------------------------- */

static cJSON *load(const char *name)
{
    char path[512], *text = NULL;
    size_t len = 0;
    cJSON *j;

    cr_assert_eq(aa_snprintf(path, sizeof(path), "%s/httpsig/%s", AA_VECTORS_DIR, name), AA_OK);
    cr_assert_eq(aa_read_file(path, 4u << 20, &text, &len), AA_OK, "cannot read %s", path);
    j = cJSON_ParseWithLength(text, len);
    free(text);
    cr_assert_not_null(j, "%s is not JSON", path);
    return j;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct aa_str sv(const cJSON *o, const char *k)
{
    return aa_str_c(str(o, k));
}

struct vmsg {
    struct aa_httpsig_msg m;
    struct aa_httpsig_field f[MAX_FIELDS];
};

/* Message view over the JSON tree (strings stay owned by cJSON). */
static void load_msg(const cJSON *j, struct vmsg *v)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "headers"), *e;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    const char *body = str(j, "body");
    size_t n = 0;

    memset(v, 0, sizeof(*v));
    v->m.is_response =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "response")) || cJSON_IsNumber(st);
    v->m.method = sv(j, "method");
    v->m.scheme = sv(j, "scheme");
    v->m.authority = sv(j, "authority");
    v->m.target = sv(j, "target");
    v->m.status = cJSON_IsNumber(st) ? st->valueint : 0;
    cJSON_ArrayForEach(e, h)
    {
        cr_assert_lt(n, MAX_FIELDS);
        v->f[n].name = aa_str_c(cJSON_GetArrayItem(e, 0)->valuestring);
        v->f[n].value = aa_str_c(cJSON_GetArrayItem(e, 1)->valuestring);
        n++;
    }
    v->m.fields = v->f;
    v->m.n_fields = n;
    v->m.body = (const uint8_t *)body;
    v->m.body_len = body ? strlen(body) : 0;
}

static void key_from_json(const cJSON *jwk, bool public_only, struct aa_jwk *k)
{
    char *s = cJSON_PrintUnformatted(jwk);
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_not_null(s);
    cr_assert_eq(aa_jwk_parse(s, strlen(s), public_only ? AA_JWK_PUBLIC_ONLY : 0, k, &d), AA_OK,
                 "JWK: %s", d.msg);
    free(s);
}

static void key_from_pem(const char *pem, struct aa_jwk *k)
{
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_from_pem(pem, strlen(pem), NULL, k, &d), AA_OK, "PEM: %s", d.msg);
}

static void rfc8032_test1(const char *hex, struct aa_jwk *k)
{
    uint8_t seed[32];

    cr_assert_eq(strlen(hex), 64u);
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        seed[i] = (uint8_t)v;
    }
    cr_assert_eq(aa_jwk_from_ed25519_seed(seed, "test1", k), AA_OK);
}

/* Components of a parsed Signature-Input, for re-signing the same list. */
static size_t components_of(const struct aa_httpsig_input *in, struct aa_httpsig_component *c,
                            size_t cap)
{
    cr_assert_leq(in->list.n_inner, cap);
    for (size_t i = 0; i < in->list.n_inner; i++) {
        const struct aa_sf_item *it = &in->list.inner[i];
        const struct aa_sf_bare *b;
        memset(&c[i], 0, sizeof(c[i]));
        c[i].name = it->bare.s;
        if ((b = aa_sf_params_get(&it->params, "key")) != NULL)
            c[i].key = b->s;
        if ((b = aa_sf_params_get(&it->params, "name")) != NULL)
            c[i].qname = b->s;
        if (aa_sf_params_get(&it->params, "sf"))
            c[i].flags |= AA_HTTPSIG_C_SF;
        if (aa_sf_params_get(&it->params, "req"))
            c[i].flags |= AA_HTTPSIG_C_REQ;
    }
    return in->list.n_inner;
}

static const struct aa_test_code codes[] = {
    {"AA_OK", AA_OK},
    {"AA_E_LIMIT", AA_E_LIMIT},
    {"AA_E_HTTPSIG_INPUT_SYNTAX", AA_E_HTTPSIG_INPUT_SYNTAX},
    {"AA_E_HTTPSIG_SIG_SYNTAX", AA_E_HTTPSIG_SIG_SYNTAX},
    {"AA_E_HTTPSIG_SIG_TYPE", AA_E_HTTPSIG_SIG_TYPE},
    {"AA_E_HTTPSIG_SIG_ENCODING", AA_E_HTTPSIG_SIG_ENCODING},
    {"AA_E_HTTPSIG_LABEL", AA_E_HTTPSIG_LABEL},
    {"AA_E_HTTPSIG_DUP_COMPONENT", AA_E_HTTPSIG_DUP_COMPONENT},
    {"AA_E_HTTPSIG_UNKNOWN_COMPONENT", AA_E_HTTPSIG_UNKNOWN_COMPONENT},
    {"AA_E_HTTPSIG_COMPONENT_NAME", AA_E_HTTPSIG_COMPONENT_NAME},
    {"AA_E_HTTPSIG_COMPONENT_PARAM", AA_E_HTTPSIG_COMPONENT_PARAM},
    {"AA_E_HTTPSIG_MISSING_FIELD", AA_E_HTTPSIG_MISSING_FIELD},
    {"AA_E_HTTPSIG_COMPONENT_CONTEXT", AA_E_HTTPSIG_COMPONENT_CONTEXT},
    {"AA_E_HTTPSIG_VALUE_CHARS", AA_E_HTTPSIG_VALUE_CHARS},
    {"AA_E_HTTPSIG_SF_FIELD", AA_E_HTTPSIG_SF_FIELD},
    {"AA_E_HTTPSIG_QUERY_PARAM", AA_E_HTTPSIG_QUERY_PARAM},
    {"AA_E_HTTPSIG_PARAM_TYPE", AA_E_HTTPSIG_PARAM_TYPE},
    {"AA_E_HTTPSIG_CREATED_MISSING", AA_E_HTTPSIG_CREATED_MISSING},
    {"AA_E_HTTPSIG_EXPIRED", AA_E_HTTPSIG_EXPIRED},
    {"AA_E_HTTPSIG_CREATED_SKEW", AA_E_HTTPSIG_CREATED_SKEW},
    {"AA_E_HTTPSIG_ALG_UNKNOWN", AA_E_HTTPSIG_ALG_UNKNOWN},
    {"AA_E_HTTPSIG_ALG_MISMATCH", AA_E_HTTPSIG_ALG_MISMATCH},
    {"AA_E_HTTPSIG_ALG_UNSUPPORTED", AA_E_HTTPSIG_ALG_UNSUPPORTED},
    {"AA_E_HTTPSIG_SIG_LENGTH", AA_E_HTTPSIG_SIG_LENGTH},
    {"AA_E_HTTPSIG_BAD_SIGNATURE", AA_E_HTTPSIG_BAD_SIGNATURE},
    {"AA_E_HTTPSIG_DIGEST_SYNTAX", AA_E_HTTPSIG_DIGEST_SYNTAX},
    {"AA_E_HTTPSIG_DIGEST_MISMATCH", AA_E_HTTPSIG_DIGEST_MISMATCH},
    {"AA_E_HTTPSIG_DIGEST_NONE", AA_E_HTTPSIG_DIGEST_NONE},
    {"AA_E_HTTPSIG_TARGET", AA_E_HTTPSIG_TARGET},
};

static int code_of(const char *name)
{
    return aa_test_code_of(codes, sizeof(codes) / sizeof(codes[0]), name);
}

static const struct aa_httpsig_verify_opts no_time = {0};

/* ---- RFC 9421 Appendix B ---------------------------------------------------- */

static void appendix_key(const cJSON *keys, const char *id, bool priv, struct aa_jwk *k)
{
    const cJSON *ko = cJSON_GetObjectItemCaseSensitive(keys, id);
    cr_assert_not_null(ko, "no key %s", id);
    if (priv)
        key_from_json(cJSON_GetObjectItemCaseSensitive(ko, "jwk"), false, k);
    else
        key_from_pem(str(ko, "public_pem"), k);
}

/* Every base of B.2.1-B.2.6 byte-exact, Signature-Input round-trips. */
Test(httpsig_vectors, rfc9421_appendix_b_bases_byte_exact)
{
    cJSON *v = load("rfc9421_appendix_b.json"), *c;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
    int n = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        struct vmsg m;
        struct aa_httpsig_input in;
        struct aa_buf base, ser;
        struct aa_diag d;
        const char *sec = str(c, "section");

        aa_diag_clear(&d);
        load_msg(cJSON_GetObjectItemCaseSensitive(msgs, str(c, "message")), &m);
        cr_assert_eq(aa_httpsig_parse_input(sv(c, "signature_input"), NULL, &in, &d), AA_OK,
                     "%s: %s", sec, d.msg);
        cr_assert_str_eq(in.label, str(c, "label"), "%s", sec);
        aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
        cr_assert_eq(aa_httpsig_build_base(&m.m, &in.list, 0, &base, &d), AA_OK, "%s: %s", sec,
                     d.msg);
        cr_assert_str_eq(base.p, str(c, "base"), "%s base differs", sec);
        cr_assert_eq(base.len, strlen(str(c, "base")));
        aa_buf_init(&ser, 4096);
        aa_buf_printf(&ser, "%s=", in.label);
        cr_assert_eq(aa_sf_serialize_inner_list(&in.list, &ser, &d), AA_OK);
        cr_assert_str_eq(ser.p, str(c, "signature_input"), "%s: re-serialisation", sec);
        aa_buf_free(&ser);
        aa_buf_free(&base);
        aa_httpsig_input_cleanup(&in);
        n++;
    }
    cr_assert_eq(n, 6);
    cJSON_Delete(v);
}

/* The published signatures verify with the published public keys; the same
 * messages with one changed header do not. */
Test(httpsig_vectors, rfc9421_appendix_b_published_signatures_verify)
{
    cJSON *v = load("rfc9421_appendix_b.json"), *c;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(v, "keys");
    int verified = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        struct vmsg m;
        struct aa_jwk k = {0};
        struct aa_httpsig_result r;
        struct aa_diag d;
        const char *sec = str(c, "section");
        const char *label = str(c, "label");
        int rc;

        if (strcmp(str(c, "alg"), "hmac-sha256") == 0)
            continue; /* see rfc9421_b25_hmac_over_our_base */
        aa_diag_clear(&d);
        load_msg(cJSON_GetObjectItemCaseSensitive(msgs, str(c, "message")), &m);
        appendix_key(keys, str(c, "key"), false, &k);
        aa_httpsig_result_init(&r);
        rc = aa_httpsig_verify(&m.m, sv(c, "signature_input"), sv(c, "signature"), label, &k,
                               &no_time, &r, &d);
        cr_assert_eq(rc, AA_OK, "%s: %s (step %s)", sec, d.msg, d.step ? d.step : "-");
        cr_assert_str_eq(aa_alg_httpsig_name(r.alg), str(c, "alg"), "%s", sec);
        cr_assert_null(r.step);
        aa_httpsig_result_cleanup(&r);

        /* One changed covered header breaks it (B.2.1 covers nothing). */
        if (strcmp(sec, "B.2.1") != 0) {
            for (size_t i = 0; i < m.m.n_fields; i++)
                if (aa_str_eq_ci(m.f[i].name, "content-type"))
                    m.f[i].value = AA_STR_LIT("application/jsonx");
            for (size_t i = 0; i < m.m.n_fields; i++)
                if (aa_str_eq_ci(m.f[i].name, "content-digest") && strcmp(sec, "B.2.2") == 0)
                    m.f[i].value = AA_STR_LIT("sha-512=:AAAA:");
            aa_diag_clear(&d);
            rc = aa_httpsig_verify(&m.m, sv(c, "signature_input"), sv(c, "signature"), label, &k,
                                   &no_time, NULL, &d);
            cr_assert_eq(rc, AA_E_HTTPSIG_BAD_SIGNATURE, "%s tampered: rc %d %s", sec, rc, d.msg);
            cr_assert_str_eq(d.step, AA_HTTPSIG_STEP_VERIFY);
        }
        aa_jwk_cleanup(&k);
        verified++;
    }
    cr_assert_eq(verified, 5);
    cJSON_Delete(v);
}

/* B.2.6 is Ed25519, deterministic: our signature equals the RFC's byte for
 * byte, and so does our Signature-Input. */
Test(httpsig_vectors, rfc9421_b26_ed25519_signature_byte_exact)
{
    cJSON *v = load("rfc9421_appendix_b.json"), *c, *b26 = NULL;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
    struct aa_httpsig_component comps[16];
    struct aa_httpsig_input in;
    struct aa_httpsig_signed out;
    struct aa_jwk k = {0};
    struct vmsg m;
    struct aa_diag d;
    size_t n;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                              v, "cases")) if (strcmp(str(c, "section"), "B.2.6") == 0) b26 = c;
    cr_assert_not_null(b26);
    aa_diag_clear(&d);
    load_msg(cJSON_GetObjectItemCaseSensitive(msgs, "test-request"), &m);
    appendix_key(cJSON_GetObjectItemCaseSensitive(v, "keys"), "test-key-ed25519", true, &k);
    cr_assert_eq(aa_httpsig_parse_input(sv(b26, "signature_input"), NULL, &in, &d), AA_OK);
    cr_assert_str_eq(in.params.order, "created,keyid");
    n = components_of(&in, comps, 16);
    aa_httpsig_signed_init(&out);
    cr_assert_eq(
        aa_httpsig_sign(&m.m, "sig-b26", comps, n, &in.params, AA_ALG_ED25519, &k, &out, &d), AA_OK,
        "%s", d.msg);
    cr_assert_str_eq(out.signature.p, str(b26, "signature"));
    cr_assert_str_eq(out.input.p, str(b26, "signature_input"));
    cr_assert_str_eq(out.base.p, str(b26, "base"));
    aa_httpsig_signed_cleanup(&out);
    aa_httpsig_input_cleanup(&in);
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}

/* B.2.1-B.2.4 are randomized: our own fresh signatures (same components and
 * parameters) verify, and the Signature-Input we emit equals the RFC's. */
Test(httpsig_vectors, rfc9421_randomized_fresh_signatures_verify)
{
    cJSON *v = load("rfc9421_appendix_b.json"), *c;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(v, "keys");
    int n_done = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        struct aa_httpsig_component comps[16];
        struct aa_httpsig_input in;
        struct aa_httpsig_signed out;
        struct aa_jwk priv = {0}, pub = {0};
        struct vmsg m;
        struct aa_diag d;
        const char *sec = str(c, "section");
        enum aa_alg alg = aa_alg_from_httpsig(str(c, "alg"));
        size_t n;

        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "deterministic")))
            continue;
        aa_diag_clear(&d);
        load_msg(cJSON_GetObjectItemCaseSensitive(msgs, str(c, "message")), &m);
        appendix_key(keys, str(c, "key"), true, &priv);
        appendix_key(keys, str(c, "key"), false, &pub);
        cr_assert_eq(aa_httpsig_parse_input(sv(c, "signature_input"), NULL, &in, &d), AA_OK);
        n = components_of(&in, comps, 16);
        aa_httpsig_signed_init(&out);
        cr_assert_eq(aa_httpsig_sign(&m.m, in.label, comps, n, &in.params, alg, &priv, &out, &d),
                     AA_OK, "%s: %s", sec, d.msg);
        cr_assert_str_eq(out.input.p, str(c, "signature_input"), "%s", sec);
        cr_assert_str_eq(out.base.p, str(c, "base"), "%s", sec);
        cr_assert_eq(aa_httpsig_verify(&m.m, aa_str_c(out.input.p), aa_str_c(out.signature.p), NULL,
                                       &pub, &no_time, NULL, &d),
                     AA_OK, "%s fresh: %s", sec, d.msg);
        aa_httpsig_signed_cleanup(&out);
        aa_httpsig_input_cleanup(&in);
        aa_jwk_cleanup(&priv);
        aa_jwk_cleanup(&pub);
        n_done++;
    }
    cr_assert_eq(n_done, 4);
    cJSON_Delete(v);
}

/* B.2.5: the module builds the hmac-sha256 base (checked byte-exact above);
 * HMAC over it with the shared secret gives the RFC's signature, which shows
 * the base is right. The module itself refuses to verify hmac-sha256. */
Test(httpsig_vectors, rfc9421_b25_hmac_over_our_base)
{
    cJSON *v = load("rfc9421_appendix_b.json"), *c, *b25 = NULL;
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(v, "keys"), "test-shared-secret");
    const char *s64 = str(secret, "secret_base64");
    uint8_t key[64], mac[32], pub[32];
    size_t klen, plen;
    struct aa_httpsig_input in;
    struct aa_httpsig_verify_opts o = {0};
    struct aa_jwk ed = {0};
    struct aa_buf base;
    struct vmsg m;
    struct aa_diag d;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                              v, "cases")) if (strcmp(str(c, "section"), "B.2.5") == 0) b25 = c;
    cr_assert_not_null(b25);
    aa_diag_clear(&d);
    cr_assert_eq(aa_b64_decode(s64, strlen(s64), AA_B64_STD, AA_B64_PAD_REQUIRED, 0, key,
                               sizeof(key), &klen, NULL),
                 AA_OK);
    cr_assert_eq(klen, 64u);
    load_msg(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "messages"),
                                              "test-request"),
             &m);
    cr_assert_eq(aa_httpsig_parse_input(sv(b25, "signature_input"), NULL, &in, &d), AA_OK);
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    cr_assert_eq(aa_httpsig_build_base(&m.m, &in.list, 0, &base, &d), AA_OK);
    cr_assert_eq(aa_crypto_hmac_sha256(key, klen, (const uint8_t *)base.p, base.len, mac), AA_OK);
    cr_assert_eq(aa_httpsig_parse_signature(sv(b25, "signature"), "sig-b25", pub, sizeof(pub),
                                            &plen, NULL, &d),
                 AA_OK);
    cr_assert_eq(plen, 32u);
    cr_assert(memcmp(mac, pub, 32) == 0, "HMAC over our base differs from RFC 9421 B.2.5");

    /* Verification of hmac-sha256 is refused, configured or named. */
    appendix_key(cJSON_GetObjectItemCaseSensitive(v, "keys"), "test-key-ed25519", false, &ed);
    o.alg = AA_ALG_HS256;
    cr_assert_eq(aa_httpsig_verify(&m.m, sv(b25, "signature_input"), sv(b25, "signature"), NULL,
                                   &ed, &o, NULL, &d),
                 AA_E_HTTPSIG_ALG_UNSUPPORTED);
    cr_assert_str_eq(d.step, AA_HTTPSIG_STEP_ALG);
    aa_jwk_cleanup(&ed);
    aa_buf_free(&base);
    aa_httpsig_input_cleanup(&in);
    cJSON_Delete(v);
}

/* B.1: each key's PEM and JWK forms are the same key; test-key-rsa (used by
 * no B.2 example) signs and verifies rsa-v1_5-sha256. */
Test(httpsig_vectors, rfc9421_appendix_b1_keys)
{
    cJSON *v = load("rfc9421_appendix_b.json");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(v, "keys");
    static const char *ids[] = {"test-key-rsa", "test-key-rsa-pss", "test-key-ecc-p256",
                                "test-key-ed25519"};
    struct aa_httpsig_component comps[] = {{"@method", 0, NULL, NULL}, {"date", 0, NULL, NULL}};
    struct aa_httpsig_params p = {0};
    struct aa_httpsig_signed out;
    struct vmsg m;
    struct aa_diag d;

    for (size_t i = 0; i < 4; i++) {
        struct aa_jwk a = {0}, b = {0};
        appendix_key(keys, ids[i], true, &a);
        appendix_key(keys, ids[i], false, &b);
        cr_assert(aa_jwk_same_key(&a, &b), "%s: PEM and JWK differ", ids[i]);
        cr_assert_str_eq(aa_alg_httpsig_name(aa_alg_from_httpsig(
                             str(cJSON_GetObjectItemCaseSensitive(keys, ids[i]), "alg"))),
                         str(cJSON_GetObjectItemCaseSensitive(keys, ids[i]), "alg"));
        aa_jwk_cleanup(&a);
        aa_jwk_cleanup(&b);
    }
    {
        struct aa_jwk priv = {0}, pub = {0};
        aa_diag_clear(&d);
        key_from_pem(str(cJSON_GetObjectItemCaseSensitive(keys, "test-key-rsa"), "private_pem"),
                     &priv);
        appendix_key(keys, "test-key-rsa", false, &pub);
        load_msg(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "messages"),
                                                  "test-request"),
                 &m);
        p.has_created = true;
        p.created = 1618884473;
        cr_assert_eq(aa_httpsig_params_set(&p, "keyid", "test-key-rsa"), AA_OK);
        cr_assert_eq(aa_httpsig_params_set(&p, "alg", "rsa-v1_5-sha256"), AA_OK);
        aa_httpsig_signed_init(&out);
        cr_assert_eq(aa_httpsig_sign(&m.m, "sig1", comps, 2, &p, AA_ALG_RS256, &priv, &out, &d),
                     AA_OK, "%s", d.msg);
        cr_assert_str_eq(out.input.p, "sig1=(\"@method\" \"date\");created=1618884473;"
                                      "alg=\"rsa-v1_5-sha256\";keyid=\"test-key-rsa\"");
        cr_assert_eq(aa_httpsig_verify(&m.m, aa_str_c(out.input.p), aa_str_c(out.signature.p),
                                       "sig1", &pub, &no_time, NULL, &d),
                     AA_OK, "%s", d.msg);
        /* The same key under the rsa-pss-sha512 name must not verify it. */
        struct aa_httpsig_verify_opts o = {0};
        o.alg = AA_ALG_PS512;
        cr_assert_eq(aa_httpsig_verify(&m.m, aa_str_c(out.input.p), aa_str_c(out.signature.p),
                                       "sig1", &pub, &o, NULL, &d),
                     AA_E_HTTPSIG_ALG_MISMATCH);
        aa_httpsig_signed_cleanup(&out);
        aa_jwk_cleanup(&priv);
        aa_jwk_cleanup(&pub);
    }
    cJSON_Delete(v);
}

/* RFC 9421 §2.4: a response signature binding request components through
 * ;req (including a Dictionary member of the request's Signature field). */
Test(httpsig_vectors, rfc9421_request_response_binding)
{
    cJSON *v = load("rfc9421_req_response.json");
    cJSON *b = load("rfc9421_appendix_b.json");
    struct vmsg req, resp;
    struct aa_httpsig_result r;
    struct aa_httpsig_verify_opts o = {0};
    struct aa_jwk k = {0};
    struct aa_diag d;

    aa_diag_clear(&d);
    load_msg(cJSON_GetObjectItemCaseSensitive(v, "request"), &req);
    load_msg(cJSON_GetObjectItemCaseSensitive(v, "response"), &resp);
    resp.m.request = &req.m;
    appendix_key(cJSON_GetObjectItemCaseSensitive(b, "keys"), str(v, "key"), false, &k);
    o.keep_base = true;
    aa_httpsig_result_init(&r);
    cr_assert_eq(aa_httpsig_verify(&resp.m, sv(v, "signature_input"), sv(v, "signature"),
                                   str(v, "label"), &k, &o, &r, &d),
                 AA_OK, "%s (step %s)", d.msg, d.step ? d.step : "-");
    cr_assert_str_eq(r.base.p, str(v, "base"));
    aa_httpsig_result_cleanup(&r);
    /* Without the related request the ;req components cannot be derived. */
    resp.m.request = NULL;
    cr_assert_eq(aa_httpsig_verify(&resp.m, sv(v, "signature_input"), sv(v, "signature"),
                                   str(v, "label"), &k, &o, NULL, &d),
                 AA_E_HTTPSIG_COMPONENT_CONTEXT);
    cr_assert_str_eq(d.step, AA_HTTPSIG_STEP_BASE);
    /* A different request signature breaks the binding. */
    resp.m.request = &req.m;
    for (size_t i = 0; i < req.m.n_fields; i++)
        if (aa_str_eq_ci(req.f[i].name, "signature"))
            req.f[i].value = AA_STR_LIT("sig1=:AAAA:");
    cr_assert_eq(aa_httpsig_verify(&resp.m, sv(v, "signature_input"), sv(v, "signature"),
                                   str(v, "label"), &k, &o, NULL, &d),
                 AA_E_HTTPSIG_BAD_SIGNATURE);
    aa_jwk_cleanup(&k);
    cJSON_Delete(b);
    cJSON_Delete(v);
}

/* ---- RFC 9530 ----------------------------------------------------------------- */

Test(httpsig_vectors, rfc9530_digests_known_answers)
{
    cJSON *v = load("rfc9530.json"), *c;
    int n = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        const char *body = str(c, "body");
        static const struct {
            const char *key;
            unsigned bit;
        } algs[] = {{"sha-256", AA_DIGEST_SHA256}, {"sha-512", AA_DIGEST_SHA512}};
        for (size_t i = 0; i < 2; i++) {
            const char *want = str(c, algs[i].key);
            struct aa_buf b;
            struct aa_diag d;
            unsigned matched = 0;
            if (want == NULL)
                continue;
            aa_diag_clear(&d);
            aa_buf_init(&b, 1024);
            cr_assert_eq(aa_httpsig_create_digest(body, strlen(body), algs[i].bit, &b), AA_OK);
            cr_assert_str_eq(b.p, want, "%s %s", str(c, "name"), algs[i].key);
            cr_assert_eq(aa_httpsig_verify_digest(aa_str_c(want), body, strlen(body),
                                                  AA_DIGEST_SHA256 | AA_DIGEST_SHA512, &matched,
                                                  &d),
                         AA_OK, "%s: %s", str(c, "name"), d.msg);
            cr_assert_eq(matched, algs[i].bit);
            /* One byte more and it no longer matches. */
            char *longer = malloc(strlen(body) + 2);
            cr_assert_not_null(longer);
            memcpy(longer, body, strlen(body));
            longer[strlen(body)] = 'x';
            cr_assert_eq(aa_httpsig_verify_digest(aa_str_c(want), longer, strlen(body) + 1,
                                                  AA_DIGEST_SHA256 | AA_DIGEST_SHA512, NULL, &d),
                         AA_E_HTTPSIG_DIGEST_MISMATCH);
            free(longer);
            aa_buf_free(&b);
            n++;
        }
    }
    cr_assert_eq(n, 7);
    cJSON_Delete(v);
}

/* ---- PROTOCOL.md §2.12 --------------------------------------------------------- */

static void test1_key(const cJSON *v, struct aa_jwk *k)
{
    rfc8032_test1(str(cJSON_GetObjectItemCaseSensitive(v, "key"), "rfc8032_test1_secret_hex"), k);
}

Test(httpsig_vectors, profile_examples_a_b_byte_exact)
{
    cJSON *v = load("profile_examples.json"), *ex;
    struct aa_jwk k = {0};
    char tp[AA_JWK_THUMBPRINT_LEN + 1];
    int n = 0;

    test1_key(v, &k);
    cr_assert_eq(aa_jwk_thumbprint(&k, tp), AA_OK);
    cr_assert_str_eq(tp, str(cJSON_GetObjectItemCaseSensitive(v, "key"), "thumbprint"));
    cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(v, "examples"))
    {
        struct aa_httpsig_component comps[16];
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(ex, "components"), *e;
        struct aa_httpsig_params p = {0};
        struct aa_httpsig_signed out;
        struct aa_httpsig_verify_opts o = {0};
        struct aa_httpsig_result r;
        struct vmsg m;
        struct aa_diag d;
        size_t nc = 0;

        aa_diag_clear(&d);
        load_msg(cJSON_GetObjectItemCaseSensitive(ex, "message"), &m);
        cJSON_ArrayForEach(e, cl)
        {
            memset(&comps[nc], 0, sizeof(comps[nc]));
            comps[nc++].name = e->valuestring;
        }
        p.has_created = true;
        p.created = (int64_t)cJSON_GetObjectItemCaseSensitive(ex, "created")->valuedouble;
        aa_httpsig_signed_init(&out);
        cr_assert_eq(aa_httpsig_sign(&m.m, "sig1", comps, nc, &p, AA_ALG_NONE, &k, &out, &d), AA_OK,
                     "%s: %s", str(ex, "name"), d.msg);
        cr_assert_str_eq(out.base.p, str(ex, "base"), "%s base", str(ex, "name"));
        cr_assert_str_eq(out.input.p, str(ex, "signature_input"), "%s", str(ex, "name"));
        cr_assert_str_eq(out.signature.p, str(ex, "signature"), "%s", str(ex, "name"));
        aa_httpsig_signed_cleanup(&out);

        /* The receiver's view verifies the published header values. */
        o.now = p.created;
        o.check_time = true;
        o.require_created = true;
        o.max_skew = 60;
        o.keep_base = true;
        aa_httpsig_result_init(&r);
        cr_assert_eq(aa_httpsig_verify(&m.m, sv(ex, "signature_input"), sv(ex, "signature"), NULL,
                                       &k, &o, &r, &d),
                     AA_OK, "%s: %s", str(ex, "name"), d.msg);
        cr_assert_str_eq(r.base.p, str(ex, "base"));
        cr_assert_eq(r.alg, AA_ALG_ED25519);
        cr_assert(r.sig_class & AA_B64C_STD_PADDED);
        aa_httpsig_result_cleanup(&r);
        if (str(ex, "content_digest") != NULL) {
            cr_assert_eq(aa_httpsig_verify_digest(sv(ex, "content_digest"), m.m.body, m.m.body_len,
                                                  AA_DIGEST_SHA256, NULL, &d),
                         AA_OK, "%s", d.msg);
            cr_assert_eq(m.m.body_len, 91u);
        }
        n++;
    }
    cr_assert_eq(n, 2);
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}

/* S1: strict verification rejects the seed's TEST 2 request twice over; the
 * diagnosis recognises the legacy base and base64url without making it pass. */
Test(httpsig_vectors, profile_s1_seed_request)
{
    cJSON *v = load("profile_examples.json");
    const cJSON *s1 = cJSON_GetObjectItemCaseSensitive(v, "s1");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(s1, "expect");
    struct aa_httpsig_verify_opts o = {0};
    struct aa_httpsig_result r;
    struct aa_httpsig_diagnosis dg;
    struct aa_jwk k = {0};
    struct aa_buf legacy;
    struct aa_httpsig_input in;
    struct vmsg m;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    load_msg(cJSON_GetObjectItemCaseSensitive(s1, "message"), &m);
    key_from_json(cJSON_GetObjectItemCaseSensitive(s1, "delegate_jwk"), true, &k);
    o.now = 1768786221;
    o.check_time = true;
    o.require_created = true;
    o.max_skew = 60;
    o.keep_base = true;

    /* 1. base64url is a parse error that names base64url. */
    rc = aa_httpsig_verify(&m.m, sv(s1, "signature_input"), sv(s1, "signature"), NULL, &k, &o, NULL,
                           &d);
    cr_assert_eq(rc, code_of(str(ex, "strict_error")));
    cr_assert(strstr(d.msg, str(ex, "strict_error_names")) != NULL, "message: %s", d.msg);
    cr_assert_str_eq(d.step, AA_HTTPSIG_STEP_SIGNATURE);

    /* 2. Re-encoded as a conformant Byte Sequence it still does not verify
     *    over the RFC 9421 base, which we build byte-exact. */
    aa_httpsig_result_init(&r);
    aa_diag_clear(&d);
    rc = aa_httpsig_verify(&m.m, sv(s1, "signature_input"), sv(s1, "signature_conformant_spelling"),
                           NULL, &k, &o, &r, &d);
    cr_assert_eq(rc, code_of(str(ex, "reencoded_error")), "%s", d.msg);
    cr_assert_str_eq(r.step, AA_HTTPSIG_STEP_VERIFY);
    cr_assert_str_eq(r.base.p, str(s1, "base_rfc9421"));
    aa_httpsig_result_cleanup(&r);

    /* 3. The legacy base (four lines, each ending LF) is what was signed. */
    cr_assert_eq(aa_httpsig_parse_input(sv(s1, "signature_input"), NULL, &in, &d), AA_OK);
    aa_buf_init(&legacy, AA_HTTPSIG_MAX_BASE);
    cr_assert_eq(aa_httpsig_build_base(&m.m, &in.list, AA_HTTPSIG_BASE_LEGACY, &legacy, &d), AA_OK);
    cr_assert_str_eq(legacy.p, str(s1, "base_legacy"));
    aa_buf_free(&legacy);
    aa_httpsig_input_cleanup(&in);

    cr_assert_eq(aa_httpsig_diagnose(&m.m, sv(s1, "signature_input"), sv(s1, "signature"), NULL, &k,
                                     AA_ALG_NONE, &dg, &d),
                 AA_OK, "%s", d.msg);
    cr_assert(dg.found);
    cr_assert_eq(dg.base_flags, AA_HTTPSIG_BASE_LEGACY);
    cr_assert_eq(dg.enc, AA_HTTPSIG_ENC_URL_UNPADDED);
    cr_assert(strstr(dg.text, "valid over legacy base without @signature-params (seed dialect)"),
              "%s", dg.text);
    cr_assert(strstr(dg.text, "base64url without padding"), "%s", dg.text);
    /* The diagnosis changed nothing: strict verification still fails. */
    cr_assert_neq(aa_httpsig_verify(&m.m, sv(s1, "signature_input"), sv(s1, "signature"), NULL, &k,
                                    &o, NULL, &d),
                  AA_OK);
    /* With the conformant spelling the diagnosis finds legacy + standard. */
    cr_assert_eq(aa_httpsig_diagnose(&m.m, sv(s1, "signature_input"),
                                     sv(s1, "signature_conformant_spelling"), NULL, &k, AA_ALG_NONE,
                                     &dg, &d),
                 AA_OK);
    cr_assert(dg.found);
    cr_assert_eq(dg.enc, AA_HTTPSIG_ENC_STD_PADDED);
    cr_assert_eq(dg.base_flags, AA_HTTPSIG_BASE_LEGACY);
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}

/* ---- negative catalogue ---------------------------------------------------------- */

static unsigned base_flags_of(const char *s)
{
    if (strcmp(s, "rfc9421") == 0)
        return 0;
    if (strcmp(s, "legacy") == 0)
        return AA_HTTPSIG_BASE_LEGACY;
    if (strcmp(s, "query-no-qmark") == 0)
        return AA_HTTPSIG_BASE_QUERY_NO_QMARK;
    cr_assert_fail("unknown base %s", s);
    return 99;
}

static enum aa_httpsig_sig_enc enc_of(const char *s)
{
    if (strcmp(s, "std-padded") == 0)
        return AA_HTTPSIG_ENC_STD_PADDED;
    if (strcmp(s, "std-unpadded") == 0)
        return AA_HTTPSIG_ENC_STD_UNPADDED;
    if (strcmp(s, "url-unpadded") == 0)
        return AA_HTTPSIG_ENC_URL_UNPADDED;
    if (strcmp(s, "url-padded") == 0)
        return AA_HTTPSIG_ENC_URL_PADDED;
    cr_assert_fail("unknown encoding %s", s);
    return AA_HTTPSIG_ENC_STD_PADDED;
}

Test(httpsig_vectors, negative_catalogue)
{
    cJSON *v = load("negative.json"), *c;
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(v, "opts");
    static const struct aa_httpsig_sf_hint hints[] = {{"example-dict", AA_HTTPSIG_SF_DICT}};
    struct aa_httpsig_verify_opts o = {0};
    struct aa_jwk k = {0};
    int n = 0, positives = 0;

    test1_key(v, &k);
    o.now = (int64_t)cJSON_GetObjectItemCaseSensitive(jo, "now")->valuedouble;
    o.check_time = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jo, "check_time"));
    o.require_created = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jo, "require_created"));
    o.max_skew = (int64_t)cJSON_GetObjectItemCaseSensitive(jo, "max_skew")->valuedouble;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "cases"))
    {
        const char *name = str(c, "name"), *kind = str(c, "kind");
        int want = code_of(str(c, "expect")), rc;
        struct aa_diag d;

        aa_diag_clear(&d);
        if (strcmp(kind, "digest") == 0) {
            const cJSON *a;
            unsigned accept = 0;
            const char *body = str(c, "body");
            cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(c, "accept")) accept |=
                strcmp(a->valuestring, "sha-256") == 0 ? AA_DIGEST_SHA256 : AA_DIGEST_SHA512;
            rc = aa_httpsig_verify_digest(sv(c, "content_digest"), body, strlen(body), accept, NULL,
                                          &d);
            cr_expect_eq(rc, want, "%s: got %d (%s), want %s", name, rc, d.msg, str(c, "expect"));
        } else {
            struct vmsg m;
            load_msg(cJSON_GetObjectItemCaseSensitive(c, "message"), &m);
            m.m.sf_hints = hints;
            m.m.n_sf_hints = 1;
            if (strcmp(kind, "base") == 0) {
                struct aa_httpsig_input in;
                struct aa_buf b;
                rc = aa_httpsig_parse_input(sv(c, "signature_input"), NULL, &in, &d);
                if (rc == AA_OK) {
                    aa_buf_init(&b, AA_HTTPSIG_MAX_BASE);
                    rc = aa_httpsig_build_base(&m.m, &in.list, 0, &b, &d);
                    aa_buf_free(&b);
                    aa_httpsig_input_cleanup(&in);
                }
                cr_expect_eq(rc, want, "%s: got %d (%s), want %s", name, rc, d.msg,
                             str(c, "expect"));
            } else {
                const cJSON *dx = cJSON_GetObjectItemCaseSensitive(c, "diagnosis");
                rc = aa_httpsig_verify(&m.m, sv(c, "signature_input"), sv(c, "signature"), NULL, &k,
                                       &o, NULL, &d);
                cr_expect_eq(rc, want, "%s: got %d (%s), want %s", name, rc, d.msg,
                             str(c, "expect"));
                if (str(c, "step") != NULL)
                    cr_expect(d.step != NULL && strcmp(d.step, str(c, "step")) == 0,
                              "%s: step %s, want %s", name, d.step ? d.step : "(none)",
                              str(c, "step"));
                if (rc != AA_OK)
                    cr_expect(d.msg[0] != '\0' && d.ref != NULL, "%s: no message/ref", name);
                if (dx != NULL) {
                    struct aa_httpsig_diagnosis dg;
                    bool found = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dx, "found"));
                    cr_expect_eq(aa_httpsig_diagnose(&m.m, sv(c, "signature_input"),
                                                     sv(c, "signature"), NULL, &k, AA_ALG_NONE, &dg,
                                                     &d),
                                 AA_OK, "%s: diagnose %s", name, d.msg);
                    cr_expect_eq(dg.found, found, "%s: diagnosis %s", name, dg.text);
                    if (found) {
                        cr_expect_eq(dg.base_flags, base_flags_of(str(dx, "base")), "%s", name);
                        cr_expect_eq(dg.enc, enc_of(str(dx, "encoding")), "%s", name);
                        cr_expect_eq(
                            dg.as_string,
                            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dx, "as_string")), "%s",
                            name);
                    }
                }
            }
        }
        positives += want == AA_OK;
        n++;
    }
    cr_assert_geq(n, 60);
    cr_assert_geq(positives, 4);
    aa_jwk_cleanup(&k);
    cJSON_Delete(v);
}
