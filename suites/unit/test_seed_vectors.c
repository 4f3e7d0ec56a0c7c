/*
 * vectors/seed-flow (PROFILE#7.6, F6 TEST 1-4): the recorded agent-delegation
 * flow.
 *
 *   regeneration  a fresh in-process run of the generator reproduces
 *                 seed-flow.json and keys/<name>.jwk byte for byte, so any
 *                 behaviour change of the reference pieces shows up here;
 *   verification  WITHOUT regenerating: every key re-derives from its
 *                 published label, every token's JWS verifies under the
 *                 fixed public key of its issuer (taken from the file), every
 *                 signature base is rebuilt from the request fields and
 *                 every signature verifies over it, every Content-Digest
 *                 matches its body, the PROFILE#2.11 receiver accepts exactly
 *                 the requests the servers accepted, and every claim is the
 *                 one PROFILE#7.6 prescribes;
 *   negatives     one flipped byte in any token or request signature, or in
 *                 a signature base, fails verification;
 *   the hook      the known-answer random stream (aa_jwk.h) gives its
 *                 specified bytes, goes off again, and no code under
 *                 harness/, reference/ or the runner can switch it on.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "aa_ref.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "seed_vectors_gen.h"

#define T0 AA_SEEDVEC_T0
#define T4 (AA_SEEDVEC_T0 + AA_SEEDVEC_TEST4_ADVANCE)
#define AG "http://127.0.0.1:8001"
#define RS "http://127.0.0.1:8002"
#define AS "http://127.0.0.1:8003"
#define SCOPE "data.read data.write"

static const char *nn(const char *s)
{
    return s ? s : "(null)";
}
#define assert_str(got, ...) cr_assert_str_eq(nn(got), __VA_ARGS__)

/* ---- loading --------------------------------------------------------------------- */

static char *read_vec_file(const char *rel, size_t *len)
{
    char path[1024];
    char *text = NULL;

    cr_assert_eq(aa_snprintf(path, sizeof(path), "%s/seed-flow/%s", AA_VECTORS_DIR, rel), AA_OK);
    cr_assert_eq(aa_read_file(path, AA_SEEDVEC_MAX_JSON, &text, len), AA_OK, "cannot read %s",
                 path);
    return text;
}

static cJSON *load(void)
{
    struct aa_json_opts jo = {.max_len = AA_SEEDVEC_MAX_JSON};
    struct aa_diag d;
    size_t len = 0;
    char *text = read_vec_file(AA_SEEDVEC_JSON, &len);
    cJSON *v = NULL;

    aa_diag_clear(&d);
    cr_assert_eq(aa_json_parse(text, len, &jo, &v, &d), AA_OK, "seed-flow.json: %s", d.msg);
    free(text);
    return v;
}

static const cJSON *obj(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    cr_assert_not_null(v, "member \"%s\" missing", name);
    return v;
}

static const char *str(const cJSON *o, const char *name)
{
    return aa_json_str(o, name);
}

static int64_t num(const cJSON *o, const char *name)
{
    int64_t v = 0;

    cr_assert(aa_json_int(o, name, &v), "member \"%s\" is not an integer", name);
    return v;
}

/* The public key |name| as the file publishes it ("keys" section). */
static void pub_key(const cJSON *v, const char *name, struct aa_jwk *out)
{
    const cJSON *k = obj(obj(v, "keys"), name);
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_eq(
        aa_jwk_from_cjson(obj(k, "public_jwk"), AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID, out, &d),
        AA_OK, "key %s: %s", name, d.msg);
}

static const char *thumb(const cJSON *v, const char *key)
{
    return str(obj(obj(v, "keys"), key), "thumbprint");
}

static const cJSON *token(const cJSON *v, const char *name)
{
    return obj(obj(v, "tokens"), name);
}

static const cJSON *claims(const cJSON *v, const char *name)
{
    return obj(token(v, name), "claims");
}

static const cJSON *step(const cJSON *v, const char *id)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, obj(v, "steps"))
    {
        if (strcmp(nn(str(s, "id")), id) == 0)
            return s;
    }
    cr_assert_fail("step %s missing", id);
    return NULL;
}

/* ---- the known-answer random stream (harness/jwk) ----------------------------------- */

/* Block |i| of the stream for |seed|, computed here from the aa_jwk.h text. */
static void stream_block(const char *seed, uint64_t i, uint8_t out[32])
{
    static const char domain[] = "aauth known-answer stream v1";
    uint8_t k[32], in[40], pre[sizeof(domain) + 64];
    size_t sl = strlen(seed);

    cr_assert_lt(sl, 64u);
    memcpy(pre, domain, sizeof(domain)); /* with its NUL: the 0x00 separator */
    memcpy(pre + sizeof(domain), seed, sl);
    aa_sha256(pre, sizeof(domain) + sl, k);
    memcpy(in, k, 32);
    for (int b = 0; b < 8; b++)
        in[32 + b] = (uint8_t)(i >> (56 - 8 * b));
    aa_sha256(in, sizeof(in), out);
}

Test(stream, known_answers_and_block_accounting)
{
    uint8_t b0[32], b1[32], b2[32], b3[32], got[40];

    stream_block("abc", 0, b0);
    stream_block("abc", 1, b1);
    stream_block("abc", 2, b2);
    stream_block("abc", 3, b3);
    cr_assert_not(aa_random_test_stream_active());
    cr_assert_eq(aa_random_set_test_stream("abc", 3), AA_OK);
    cr_assert(aa_random_test_stream_active());
    cr_assert_eq(aa_random_test_stream_blocks(), 0);

    cr_assert_eq(aa_random(got, 16), AA_OK);
    cr_assert_arr_eq(got, b0, 16, "first draw = first 16 bytes of block 0");
    cr_assert_eq(aa_random_test_stream_blocks(), 1);
    /* 40 bytes take blocks 1 and 2 whole; the rest of block 0 was dropped */
    cr_assert_eq(aa_random(got, 40), AA_OK);
    cr_assert_arr_eq(got, b1, 32);
    cr_assert_arr_eq(got + 32, b2, 8);
    cr_assert_eq(aa_random_test_stream_blocks(), 3);
    cr_assert_eq(aa_random(got, 0), AA_OK, "an empty draw takes nothing");
    cr_assert_eq(aa_random_test_stream_blocks(), 3);
    cr_assert_eq(aa_random(got, 32), AA_OK);
    cr_assert_arr_eq(got, b3, 32);

    /* switching on again restarts the stream */
    cr_assert_eq(aa_random_set_test_stream("abc", 3), AA_OK);
    cr_assert_eq(aa_random(got, 32), AA_OK);
    cr_assert_arr_eq(got, b0, 32);
    /* another seed, another stream */
    cr_assert_eq(aa_random_set_test_stream("abd", 3), AA_OK);
    cr_assert_eq(aa_random(got, 32), AA_OK);
    cr_assert(memcmp(got, b0, 32) != 0);

    aa_random_clear_test_stream();
    cr_assert_not(aa_random_test_stream_active());
    cr_assert_eq(aa_random_test_stream_blocks(), 0);
}

Test(stream, off_means_os_randomness)
{
    uint8_t b0[32], a[32], b[32];

    stream_block("abc", 0, b0);
    cr_assert_eq(aa_random_set_test_stream("abc", 3), AA_OK);
    aa_random_clear_test_stream();
    cr_assert_eq(aa_random(a, sizeof(a)), AA_OK);
    cr_assert_eq(aa_random(b, sizeof(b)), AA_OK);
    cr_assert(memcmp(a, b0, 32) != 0, "cleared: no longer the stream");
    cr_assert(memcmp(a, b, 32) != 0, "two RAND_bytes draws of 256 bits differ");
    cr_assert_eq(aa_random_set_test_stream(NULL, 1), AA_E_INVAL);
    cr_assert_not(aa_random_test_stream_active(), "a refused seed leaves it off");
    cr_assert_eq(aa_random_set_test_stream(NULL, 0), AA_OK, "an empty seed is a seed");
    aa_random_clear_test_stream();
}

static bool contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);

    for (size_t i = 0; m > 0 && i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* Files under |dir| (recursively) whose text names |needle|; |skip| is a
 * path prefix that may. Returns the number of offending files and puts
 * the first into |first|. */
static int scan(const char *dir, const char *needle, const char *skip, char *first, size_t cap)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    int found = 0;

    if (dh == NULL)
        return 0;
    while ((e = readdir(dh)) != NULL) {
        char path[2048];
        struct stat st;
        char *text = NULL;
        size_t len = 0;

        if (e->d_name[0] == '.')
            continue;
        if (aa_snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) != AA_OK ||
            stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            found += scan(path, needle, skip, found ? NULL : first, cap);
            continue;
        }
        if (skip != NULL && strncmp(path, skip, strlen(skip)) == 0)
            continue;
        if (aa_read_file(path, 8 * 1024 * 1024, &text, &len) != AA_OK)
            continue;
        if (contains(text, len, needle)) {
            if (found == 0 && first != NULL)
                (void)aa_snprintf(first, cap, "%s", path);
            found++;
        }
        free(text);
    }
    closedir(dh);
    return found;
}

/* The guard of aa_jwk.h: nothing that serves the network or parses a
 * command line can switch the stream on. */
Test(stream, no_production_code_can_switch_it_on)
{
    static const char *const dirs[] = {"harness", "reference", "suites/conformance"};
    char root[1024], skip[1100], first[2048] = "";
    int n;

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        cr_assert_eq(aa_snprintf(root, sizeof(root), "%s/%s", AA_SOURCE_DIR, dirs[i]), AA_OK);
        cr_assert_eq(aa_snprintf(skip, sizeof(skip), "%s/harness/jwk/", AA_SOURCE_DIR), AA_OK);
        n = scan(root, "aa_random_set_test_stream", skip, first, sizeof(first));
        cr_assert_eq(n, 0, "%s names aa_random_set_test_stream", first);
    }
    /* the scanner does see the definition where it is allowed */
    cr_assert_eq(aa_snprintf(root, sizeof(root), "%s/harness/jwk", AA_SOURCE_DIR), AA_OK);
    cr_assert_geq(scan(root, "aa_random_set_test_stream", NULL, first, sizeof(first)), 2);
}

/* ---- keys ------------------------------------------------------------------------ */

Test(keys, derived_from_the_published_labels)
{
    cJSON *v = load();
    static const char *const want_kid[AA_SEEDVEC_N_KEYS] = {
        "key-1",          "delegate-key-1", "delegate-key-2",
        "resource-key-1", "auth-key-1",     "other-delegate-key-1"};

    cr_assert_eq(cJSON_GetArraySize(obj(v, "keys")), AA_SEEDVEC_N_KEYS);
    for (size_t i = 0; i < AA_SEEDVEC_N_KEYS; i++) {
        const struct aa_seedvec_key_def *kd = &aa_seedvec_keys[i];
        const cJSON *k = obj(obj(v, "keys"), kd->name);
        uint8_t dbytes[32];
        char d_b64[64], jkt[AA_JWK_THUMBPRINT_LEN + 1], path[256];
        struct aa_jwk file_key, pub;
        struct aa_buf want;
        size_t len = 0;
        char *text;
        struct aa_diag d;

        /* the file: the private JWK, "d" = base64url(SHA-256(label)) */
        cr_assert_eq(aa_snprintf(path, sizeof(path), "keys/%s.jwk", kd->name), AA_OK);
        assert_str(str(k, "file"), path);
        assert_str(str(k, "seed_label"), kd->label);
        assert_str(str(k, "kid"), want_kid[i]);
        text = read_vec_file(path, &len);
        aa_sha256(kd->label, strlen(kd->label), dbytes);
        cr_assert_eq(aa_b64_encode(dbytes, 32, AA_B64_URL, false, d_b64, sizeof(d_b64), NULL),
                     AA_OK);
        {
            cJSON *jw = NULL;
            cr_assert_eq(aa_json_parse(text, len, NULL, &jw, NULL), AA_OK);
            assert_str(str(jw, "d"), d_b64, "%s: d is not SHA-256(label)", kd->name);
            assert_str(str(jw, "kid"), want_kid[i]);
            cJSON_Delete(jw);
        }
        aa_diag_clear(&d);
        cr_assert_eq(aa_jwk_parse(text, len, AA_JWK_REQUIRE_KID, &file_key, &d), AA_OK, "%s",
                     d.msg);
        cr_assert(file_key.is_private);
        /* byte-exact as the generator writes it */
        aa_buf_init(&want, 4096);
        cr_assert_eq(aa_seedvec_key_file(i, &want), AA_OK);
        cr_assert_eq(len, want.len);
        cr_assert(memcmp(text, want.p, len) == 0, "keys/%s.jwk differs", kd->name);
        aa_cleanse(want.p, want.len);
        aa_buf_free(&want);
        aa_cleanse(text, len);
        free(text);
        /* the published public half and thumbprint belong to it */
        pub_key(v, kd->name, &pub);
        cr_assert(aa_jwk_same_key(&pub, &file_key), "%s: public_jwk is not the file's key",
                  kd->name);
        cr_assert_eq(aa_jwk_thumbprint(&pub, jkt), AA_OK);
        assert_str(str(k, "thumbprint"), jkt);
        aa_jwk_cleanup(&pub);
        aa_jwk_cleanup(&file_key);
    }
    /* six different keys */
    for (size_t i = 0; i < AA_SEEDVEC_N_KEYS; i++)
        for (size_t j = i + 1; j < AA_SEEDVEC_N_KEYS; j++)
            cr_assert_str_neq(thumb(v, aa_seedvec_keys[i].name), thumb(v, aa_seedvec_keys[j].name));
    cJSON_Delete(v);
}

/* ---- regeneration ---------------------------------------------------------------- */

/* First differing line, for a readable failure. */
static void first_difference(const char *a, size_t alen, const char *b, size_t blen, char *out,
                             size_t cap)
{
    size_t i = 0, line = 1, ls = 0;

    while (i < alen && i < blen && a[i] == b[i]) {
        if (a[i] == '\n') {
            line++;
            ls = i + 1;
        }
        i++;
    }
    (void)aa_snprintf(out, cap, "line %zu: committed \"%.160s\" / regenerated \"%.160s\"", line,
                      a + ls, b + ls);
}

Test(regenerate, byte_exact, .timeout = 120)
{
    struct aa_buf b;
    struct aa_diag d;
    size_t len = 0;
    char *committed;
    char diff[512];
    int rc;

    aa_diag_clear(&d);
    if (aa_seedvec_ports_free(&d) != AA_OK)
        cr_skip_test("regeneration needs 127.0.0.1:8001-8003: %s", d.msg);
    committed = read_vec_file(AA_SEEDVEC_JSON, &len);
    aa_buf_init(&b, AA_SEEDVEC_MAX_JSON);
    rc = aa_seedvec_generate(&b, &d);
    if (rc == AA_E_IO) /* someone took a port between the check and the run */
        cr_skip_test("regeneration needs 127.0.0.1:8001-8003: %s", d.msg);
    cr_assert_eq(rc, AA_OK, "generator: %s: %s", aa_strerror(rc), d.msg);
    cr_assert_not(aa_random_test_stream_active(), "the generator switches the stream off");
    cr_assert_not_null(b.p);
    first_difference(committed, len, b.p, b.len, diff, sizeof(diff));
    cr_assert(b.len == len && memcmp(b.p, committed, len) == 0,
              "vectors/seed-flow/seed-flow.json is not what the reference produces now (%zu vs "
              "%zu bytes), %s. If the change is intended, regenerate with "
              "build/suites/aa_seed_vectors and review the diff.",
              len, b.len, diff);
    aa_buf_free(&b);
    free(committed);
}

/* ---- tokens ------------------------------------------------------------------------- */

/* The key named |signing_key| verifies |compact|; AA_OK or the failure. */
static int jws_verify(const char *compact, size_t len, const struct aa_jwk *k)
{
    struct aa_jwt j;
    int rc = aa_jwt_parse(compact, len, &j, NULL);

    if (rc != AA_OK)
        return rc;
    rc = aa_jwt_verify(&j, k, NULL);
    aa_jwt_cleanup(&j);
    return rc;
}

/* Replace one base64url character of |s| at |i| by another valid one. */
static void flip_b64url_char(char *s, size_t i)
{
    s[i] = s[i] == 'A' ? 'B' : 'A';
}

Test(tokens, every_jws_verifies_under_its_issuers_fixed_key)
{
    cJSON *v = load();
    const cJSON *t;
    int n = 0;

    cJSON_ArrayForEach(t, obj(v, "tokens"))
    {
        const char *compact = str(t, "compact"), *signer = str(t, "signing_key");
        const char *dot1, *dot2;
        struct aa_jwk k, wrong;
        struct aa_jwt j;
        uint8_t raw[4096];
        size_t rl = 0;

        cr_assert_not_null(compact, "%s: no compact form", t->string);
        pub_key(v, nn(signer), &k);
        cr_assert_eq(jws_verify(compact, strlen(compact), &k), AA_OK, "%s does not verify",
                     t->string);
        /* header, claims and their exact texts are what the compact form carries */
        cr_assert_eq(aa_jwt_parse(compact, strlen(compact), &j, NULL), AA_OK);
        cr_assert(cJSON_Compare(j.header, obj(t, "header"), true), "%s: header", t->string);
        cr_assert(cJSON_Compare(j.claims, obj(t, "claims"), true), "%s: claims", t->string);
        assert_str(j.kid, str(obj(obj(v, "keys"), signer), "kid"), "%s: kid", t->string);
        assert_str(j.alg_name, "EdDSA");
        aa_jwt_cleanup(&j);
        dot1 = strchr(compact, '.');
        dot2 = strchr(dot1 + 1, '.');
        cr_assert_eq(aa_b64_decode(compact, (size_t)(dot1 - compact), AA_B64_URL,
                                   AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS, raw, sizeof(raw), &rl,
                                   NULL),
                     AA_OK);
        cr_assert(rl == strlen(str(t, "header_text")) &&
                      memcmp(raw, str(t, "header_text"), rl) == 0,
                  "%s: header_text", t->string);
        cr_assert_eq(aa_b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), AA_B64_URL,
                                   AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS, raw, sizeof(raw), &rl,
                                   NULL),
                     AA_OK);
        cr_assert(rl == strlen(str(t, "claims_text")) &&
                      memcmp(raw, str(t, "claims_text"), rl) == 0,
                  "%s: claims_text", t->string);

        /* negative: every other role's key refuses it */
        for (size_t i = 0; i < AA_SEEDVEC_N_KEYS; i++) {
            if (strcmp(aa_seedvec_keys[i].name, signer) == 0)
                continue;
            pub_key(v, aa_seedvec_keys[i].name, &wrong);
            cr_assert_neq(jws_verify(compact, strlen(compact), &wrong), AA_OK,
                          "%s verifies under %s", t->string, aa_seedvec_keys[i].name);
            aa_jwk_cleanup(&wrong);
        }
        aa_jwk_cleanup(&k);
        n++;
    }
    cr_assert_eq(n, 7, "agent tokens 1-3, one resource token, auth tokens 1-3");
    cJSON_Delete(v);
}

/* (c) one flipped byte anywhere in a token: every byte of the decoded
 * signature, and one character in each of header and payload. */
Test(tokens, one_flipped_byte_fails)
{
    cJSON *v = load();
    const cJSON *t;

    cJSON_ArrayForEach(t, obj(v, "tokens"))
    {
        const char *compact = str(t, "compact");
        size_t len = strlen(compact);
        const char *dot2 = strrchr(compact, '.');
        size_t sig_off = (size_t)(dot2 + 1 - compact);
        struct aa_jwk k;
        uint8_t sig[64];
        size_t sl = 0;
        char *m = malloc(len + 1);

        cr_assert_not_null(m);
        pub_key(v, str(t, "signing_key"), &k);
        cr_assert_eq(aa_b64_decode(compact + sig_off, len - sig_off, AA_B64_URL,
                                   AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS, sig, sizeof(sig), &sl,
                                   NULL),
                     AA_OK);
        cr_assert_eq(sl, 64);
        for (size_t i = 0; i < 64; i++) {
            char enc[128];
            struct aa_buf b;
            sig[i] ^= 0x01;
            cr_assert_eq(aa_b64_encode(sig, 64, AA_B64_URL, false, enc, sizeof(enc), NULL), AA_OK);
            sig[i] ^= 0x01;
            aa_buf_init(&b, 16384);
            aa_buf_add(&b, compact, sig_off);
            aa_buf_adds(&b, enc);
            cr_assert_eq(b.err, AA_OK);
            cr_assert_neq(jws_verify(b.p, b.len, &k), AA_OK,
                          "%s: byte %zu of the signature "
                          "flipped, still verifies",
                          t->string, i);
            aa_buf_free(&b);
        }
        /* a character of the header (offset 5) and of the payload (middle) */
        memcpy(m, compact, len + 1);
        flip_b64url_char(m, 5);
        cr_assert_neq(jws_verify(m, len, &k), AA_OK, "%s: header changed", t->string);
        memcpy(m, compact, len + 1);
        flip_b64url_char(m, (size_t)(strchr(compact, '.') - compact) + 20);
        cr_assert_neq(jws_verify(m, len, &k), AA_OK, "%s: payload changed", t->string);
        /* control: the unchanged copy verifies */
        memcpy(m, compact, len + 1);
        cr_assert_eq(jws_verify(m, len, &k), AA_OK);
        free(m);
        aa_jwk_cleanup(&k);
    }
    cJSON_Delete(v);
}

/* cnf.jwk thumbprint of a token's claims. */
static void cnf_thumb(const cJSON *cl, char out[AA_JWK_THUMBPRINT_LEN + 1])
{
    struct aa_jwk k;
    const cJSON *jwk =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cl, "cnf"), "jwk");

    cr_assert_not_null(jwk, "no cnf.jwk");
    cr_assert_eq(aa_jwk_from_cjson(jwk, AA_JWK_PUBLIC_ONLY, &k, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&k, out), AA_OK);
    aa_jwk_cleanup(&k);
}

static void expect_agent_token(const cJSON *v, const char *name, const char *sub, const char *key,
                               int64_t iat)
{
    const cJSON *t = token(v, name), *cl = claims(v, name);
    const cJSON *cnf_jwk, *pub = obj(obj(obj(v, "keys"), key), "public_jwk");
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    assert_str(str(t, "type"), "agent+jwt");
    assert_str(str(obj(t, "header"), "typ"), "agent+jwt");
    assert_str(str(obj(t, "header"), "kid"), "key-1");
    assert_str(str(t, "signing_key"), "agent-server");
    assert_str(str(cl, "iss"), AG, "%s: iss = the agent server", name);
    assert_str(str(cl, "sub"), sub);
    cr_assert_eq(num(cl, "iat"), iat);
    cr_assert_eq(num(cl, "exp"), iat + AA_REF_AGENT_TOKEN_TTL, "%s: exp = now + 3600", name);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(cl, "aud"), "none was requested");
    cnf_thumb(cl, jkt);
    assert_str(jkt, thumb(v, key), "%s: cnf.jwk is %s", name, key);
    /* PROFILE#6.1: cnf.jwk = the submitted JWK, member by member (with its kid) */
    cnf_jwk = cJSON_GetObjectItemCaseSensitive(obj(cl, "cnf"), "jwk");
    assert_str(str(cnf_jwk, "x"), str(pub, "x"));
    assert_str(str(cnf_jwk, "kid"), str(pub, "kid"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(cnf_jwk, "d"));
}

static void expect_auth_token(const cJSON *v, const char *name, const char *key, int64_t iat)
{
    const cJSON *t = token(v, name), *cl = claims(v, name);
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    assert_str(str(t, "type"), "auth+jwt");
    assert_str(str(obj(t, "header"), "kid"), "auth-key-1");
    assert_str(str(t, "signing_key"), "auth-server");
    assert_str(str(cl, "iss"), AS);
    assert_str(str(cl, "aud"), RS, "%s: aud = the resource token's iss", name);
    assert_str(str(cl, "agent"), AG, "%s: agent = the agent token's iss", name);
    assert_str(str(cl, "agent_delegate"), "delegate-1", "%s: agent_delegate = sub", name);
    assert_str(str(cl, "scope"), SCOPE, "%s: scope = the resource token's", name);
    cr_assert_eq(num(cl, "iat"), iat);
    cr_assert_eq(num(cl, "exp"), iat + AA_REF_AUTH_TOKEN_TTL);
    cr_assert_not_null(str(cl, "jti"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(cl, "sub"), "no user in F6");
    cnf_thumb(cl, jkt);
    assert_str(jkt, thumb(v, key), "%s: cnf.jwk is %s", name, key);
}

Test(tokens, claims_are_those_of_profile_7_6)
{
    cJSON *v = load();
    const cJSON *rt = claims(v, "resource_token_1");

    /* TEST 1 and the rotation of TEST 4; the other delegate of the negative step */
    expect_agent_token(v, "agent_token_1", "delegate-1", "delegate-1", T0);
    expect_agent_token(v, "agent_token_2", "delegate-1", "delegate-2", T4);
    expect_agent_token(v, "agent_token_3", "delegate-2", "other-delegate", T4);
    /* the seed's own numbers: issued at 1768786221, exp 1768789821 */
    cr_assert_eq(num(claims(v, "agent_token_1"), "exp"), INT64_C(1768789821));

    /* TEST 3.1: the resource token */
    assert_str(str(token(v, "resource_token_1"), "type"), "resource+jwt");
    assert_str(str(obj(token(v, "resource_token_1"), "header"), "kid"), "resource-key-1");
    assert_str(str(rt, "iss"), RS);
    assert_str(str(rt, "aud"), AS);
    assert_str(str(rt, "agent"), AG);
    assert_str(str(rt, "agent_jkt"), thumb(v, "delegate-1"), "agent_jkt = thumbprint(delegate)");
    assert_str(str(rt, "scope"), SCOPE);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(rt, "auth_request_url"), "exactly one (D-16)");
    cr_assert_eq(num(rt, "exp"), T0 + AA_REF_RESOURCE_TOKEN_TTL);

    /* TEST 3.4, TEST 4.1 (refresh, same key), TEST 4.2 (refresh after rotation) */
    expect_auth_token(v, "auth_token_1", "delegate-1", T0);
    expect_auth_token(v, "auth_token_2", "delegate-1", T4);
    expect_auth_token(v, "auth_token_3", "delegate-2", T4);
    cr_assert_geq(num(claims(v, "auth_token_2"), "exp"), num(claims(v, "auth_token_1"), "exp"));
    cr_assert_str_neq(str(claims(v, "auth_token_1"), "jti"), str(claims(v, "auth_token_2"), "jti"));
    cr_assert_str_neq(str(claims(v, "auth_token_2"), "jti"), str(claims(v, "auth_token_3"), "jti"));
    /* the seed's delegate thumbprint is NOT ours: our keys are derived, not the seed's */
    cr_assert_str_neq(thumb(v, "delegate-1"), "8VLLB0WRBDu70WxdOy3zFh34-n-fGRqCNcggLg7XLCQ");
    cJSON_Delete(v);
}

/* ---- requests ------------------------------------------------------------------------ */

struct req {
    struct aa_httpsig_field f[32];
    size_t nf;
    struct aa_http_headers h;
    struct aa_httpsig_msg m;
    const char *body;
};

static void req_load(const cJSON *s, struct req *r)
{
    const cJSON *rq = obj(s, "request"), *p;

    memset(r, 0, sizeof(*r));
    aa_http_headers_init(&r->h);
    cJSON_ArrayForEach(p, obj(rq, "headers"))
    {
        const char *n = cJSON_GetArrayItem(p, 0)->valuestring;
        const char *val = cJSON_GetArrayItem(p, 1)->valuestring;
        cr_assert_lt(r->nf, 32u);
        r->f[r->nf].name = aa_str_c(n);
        r->f[r->nf].value = aa_str_c(val);
        r->nf++;
        cr_assert_eq(aa_http_headers_add(&r->h, n, val), AA_OK);
    }
    r->body = str(rq, "body");
    r->m.method = aa_str_c(str(rq, "method"));
    r->m.scheme = AA_STR_LIT("http");
    r->m.authority = aa_str_c(str(rq, "authority"));
    r->m.target = aa_str_c(str(rq, "target"));
    r->m.fields = r->f;
    r->m.n_fields = r->nf;
    r->m.body = (const uint8_t *)r->body;
    r->m.body_len = r->body ? strlen(r->body) : 0;
}

static const char *hval(const struct req *r, const char *name)
{
    return aa_http_headers_get(&r->h, name);
}

Test(requests, bases_rebuilt_and_signatures_verify)
{
    cJSON *v = load();
    const cJSON *s;
    int n_signed = 0, n_bad = 0;

    cJSON_ArrayForEach(s, obj(v, "steps"))
    {
        const cJSON *sg = obj(s, "signature"), *rq = obj(s, "request");
        const char *id = str(s, "id");
        struct aa_httpsig_input in;
        struct aa_httpsig_verify_opts vo;
        struct aa_httpsig_result res;
        struct aa_buf base;
        struct aa_jwk k;
        struct req r;
        struct aa_diag d;
        bool verifies;
        int rc;

        req_load(s, &r);
        /* the request line and URL agree */
        {
            char want[512];
            cr_assert_eq(aa_snprintf(want, sizeof(want), "http://%s%s", str(rq, "authority"),
                                     str(rq, "target")),
                         AA_OK);
            assert_str(str(rq, "url"), want, "%s: url", id);
            assert_str(hval(&r, "Host"), str(rq, "authority"));
        }
        if (cJSON_IsNull(sg)) {
            cr_assert_null(hval(&r, "Signature"), "%s: unsigned but has Signature", id);
            aa_http_headers_cleanup(&r.h);
            continue;
        }
        n_signed++;
        /* the header lines are the recorded values */
        assert_str(hval(&r, "Signature-Input"), str(sg, "signature_input"), "%s", id);
        assert_str(hval(&r, "Signature"), str(sg, "signature"), "%s", id);
        assert_str(hval(&r, "Signature-Key"), str(sg, "signature_key"), "%s", id);
        cr_assert_eq(aa_http_headers_count(&r.h, "Signature"), 1);

        /* (b) the base, rebuilt from the request fields */
        aa_diag_clear(&d);
        cr_assert_eq(aa_httpsig_parse_input(aa_str_c(str(sg, "signature_input")), "sig1", &in, &d),
                     AA_OK, "%s: %s", id, d.msg);
        cr_assert_eq(in.params.created, num(sg, "created"));
        cr_assert_eq(in.params.created, num(s, "clock"), "%s: created = the frozen clock", id);
        aa_buf_init(&base, 1 << 20);
        cr_assert_eq(aa_httpsig_build_base(&r.m, &in.list, 0, &base, &d), AA_OK, "%s: %s", id,
                     d.msg);
        assert_str(base.p, str(sg, "base"), "%s: signature base", id);
        aa_httpsig_input_cleanup(&in);

        /* the signature over it, with the public key the file names */
        pub_key(v, str(sg, "key"), &k);
        memset(&vo, 0, sizeof(vo));
        vo.now = num(s, "clock");
        vo.check_time = true;
        vo.require_created = true;
        vo.max_skew = 60;
        aa_httpsig_result_init(&res);
        aa_diag_clear(&d);
        rc = aa_httpsig_verify(&r.m, aa_str_c(str(sg, "signature_input")),
                               aa_str_c(str(sg, "signature")), "sig1", &k, &vo, &res, &d);
        verifies = cJSON_IsTrue(obj(sg, "verifies"));
        if (verifies) {
            cr_assert_eq(rc, AA_OK, "%s: %s", id, d.msg);
        } else {
            cr_assert_eq(rc, AA_E_HTTPSIG_BAD_SIGNATURE, "%s: %s", id, aa_strerror(rc));
            n_bad++;
        }
        /* negative: the base with one byte changed does not verify */
        if (verifies) {
            uint8_t sig[64];
            size_t sl = 0;
            cr_assert_eq(aa_httpsig_parse_signature(aa_str_c(str(sg, "signature")), "sig1", sig,
                                                    sizeof(sig), &sl, NULL, NULL),
                         AA_OK);
            cr_assert_eq(
                aa_crypto_verify(AA_ALG_ED25519, &k, (const uint8_t *)base.p, base.len, sig, sl),
                AA_OK);
            base.p[base.len / 2] ^= 0x20;
            cr_assert_eq(
                aa_crypto_verify(AA_ALG_ED25519, &k, (const uint8_t *)base.p, base.len, sig, sl),
                AA_E_CRYPTO_BADSIG, "%s: changed base verifies", id);
        }
        aa_httpsig_result_cleanup(&res);
        aa_buf_free(&base);

        /* the key thumbprint and the token the signature presents */
        assert_str(str(sg, "key_thumbprint"), thumb(v, str(sg, "key")));
        assert_str(str(sg, "scheme"), "jwt", "%s: the delegate signs with scheme=jwt", id);
        {
            char want[8192];
            cr_assert_eq(aa_snprintf(want, sizeof(want), "sig1=(scheme=jwt jwt=\"%s\")",
                                     str(token(v, str(sg, "token")), "compact")),
                         AA_OK);
            assert_str(str(sg, "signature_key"), want, "%s", id);
        }
        aa_jwk_cleanup(&k);
        aa_http_headers_cleanup(&r.h);
    }
    cr_assert_eq(n_signed, 10);
    cr_assert_eq(n_bad, 1, "exactly one deliberately broken signature (TEST 2 negative)");
    cJSON_Delete(v);
}

/* (c) every byte of every request signature flipped -> no longer verifies */
Test(requests, one_flipped_signature_byte_fails)
{
    cJSON *v = load();
    const cJSON *s;

    cJSON_ArrayForEach(s, obj(v, "steps"))
    {
        const cJSON *sg = obj(s, "signature");
        struct aa_httpsig_verify_opts vo;
        uint8_t sig[64];
        size_t sl = 0;
        struct aa_jwk k;
        struct req r;

        if (cJSON_IsNull(sg) || !cJSON_IsTrue(obj(sg, "verifies")))
            continue;
        req_load(s, &r);
        pub_key(v, str(sg, "key"), &k);
        memset(&vo, 0, sizeof(vo));
        vo.now = num(s, "clock");
        cr_assert_eq(aa_httpsig_parse_signature(aa_str_c(str(sg, "signature")), "sig1", sig,
                                                sizeof(sig), &sl, NULL, NULL),
                     AA_OK);
        cr_assert_eq(sl, 64);
        for (size_t i = 0; i < 64; i++) {
            struct aa_buf hv;
            int rc;
            sig[i] ^= 0x80;
            aa_buf_init(&hv, 256);
            aa_buf_adds(&hv, "sig1=:");
            aa_b64_encode_buf(sig, 64, AA_B64_STD, true, &hv);
            aa_buf_adds(&hv, ":");
            sig[i] ^= 0x80;
            cr_assert_eq(hv.err, AA_OK);
            rc = aa_httpsig_verify(&r.m, aa_str_c(str(sg, "signature_input")), aa_str_c(hv.p),
                                   "sig1", &k, &vo, NULL, NULL);
            cr_assert_eq(rc, AA_E_HTTPSIG_BAD_SIGNATURE, "%s: byte %zu flipped: %s", str(s, "id"),
                         i, aa_strerror(rc));
            aa_buf_free(&hv);
        }
        aa_jwk_cleanup(&k);
        aa_http_headers_cleanup(&r.h);
    }
    cJSON_Delete(v);
}

Test(requests, content_digest_and_nonce_on_every_post)
{
    cJSON *v = load();
    const cJSON *s;
    int n_digest = 0;

    cJSON_ArrayForEach(s, obj(v, "steps"))
    {
        const cJSON *sg = obj(s, "signature");
        const char *body = str(obj(s, "request"), "body");
        const char *cd;
        struct req r;
        struct aa_diag d;

        req_load(s, &r);
        cd = hval(&r, "Content-Digest");
        if (body == NULL) {
            cr_assert_null(cd);
            aa_http_headers_cleanup(&r.h);
            continue;
        }
        {
            char cl[32];
            (void)aa_snprintf(cl, sizeof(cl), "%zu", strlen(body));
            assert_str(hval(&r, "Content-Length"), cl);
        }
        if (cJSON_IsNull(sg)) { /* POST /delegate/token: unsigned JSON, as in the seed */
            assert_str(hval(&r, "Content-Type"), "application/json");
            cr_assert_null(cd);
            aa_http_headers_cleanup(&r.h);
            continue;
        }
        n_digest++;
        cr_assert_not_null(cd, "%s: a signed body needs Content-Digest (PROFILE#2.8)",
                           str(s, "id"));
        assert_str(cd, str(sg, "content_digest"));
        aa_diag_clear(&d);
        cr_assert_eq(
            aa_httpsig_verify_digest(aa_str_c(cd), body, strlen(body), AA_DIGEST_SHA256, NULL, &d),
            AA_OK, "%s: %s", str(s, "id"), d.msg);
        /* negative: one more byte */
        {
            size_t n = strlen(body);
            char *b2 = malloc(n + 2);
            cr_assert_not_null(b2);
            memcpy(b2, body, n);
            b2[n] = 'x';
            cr_assert_eq(
                aa_httpsig_verify_digest(aa_str_c(cd), b2, n + 1, AA_DIGEST_SHA256, NULL, NULL),
                AA_E_HTTPSIG_DIGEST_MISMATCH);
            free(b2);
        }
        /* D-10: a signed POST carries a well-formed, covered Nonce */
        assert_str(hval(&r, "Nonce"), str(sg, "nonce"));
        cr_assert_eq(aa_nonce_check(NULL, str(sg, "nonce"), strlen(str(sg, "nonce")), NULL), AA_OK);
        cr_assert_not_null(
            strstr(str(sg, "signature_input"), "\"content-type\" \"content-digest\" \"nonce\""));
        aa_http_headers_cleanup(&r.h);
    }
    cr_assert_eq(n_digest, 4, "auth, refresh, refresh after rotation, refresh by delegate-2");
    cJSON_Delete(v);
}

/* ---- the PROFILE#2.11 receiver over the recorded requests ------------------------------ */

static int64_t frozen_now;

static int64_t frozen(void *ctx)
{
    (void)ctx;
    return frozen_now;
}

Test(requests, receiver_accepts_exactly_what_the_servers_accepted)
{
    cJSON *v = load();
    const cJSON *s;
    struct aa_static_keys *sk = aa_static_keys_new();
    struct aa_key_resolver res;
    static const char *const trusted[] = {AS, NULL};
    struct aa_jwk kag, krs, kas;
    int n = 0;

    cr_assert_not_null(sk);
    pub_key(v, "agent-server", &kag);
    pub_key(v, "resource", &krs);
    pub_key(v, "auth-server", &kas);
    cr_assert_eq(aa_static_keys_add(sk, AG, "aauth-agent", &kag), AA_OK);
    cr_assert_eq(aa_static_keys_add(sk, RS, "aauth-resource", &krs), AA_OK);
    cr_assert_eq(aa_static_keys_add(sk, AS, "aauth-issuer", &kas), AA_OK);
    aa_key_resolver_static(&res, sk);

    cJSON_ArrayForEach(s, obj(v, "steps"))
    {
        const cJSON *sg = obj(s, "signature"), *rq = obj(s, "request"), *rs = obj(s, "response");
        struct aa_nonce_cache_opts no = {.clock = {frozen, NULL}};
        struct aa_nonce_cache *nc;
        struct aa_verify_policy pol;
        struct aa_verify_request vr;
        struct aa_identity ident;
        struct aa_aauth_result ar;
        char receiver[300];
        const char *err = str(obj(rs, "json"), "error");
        bool sig_refused;
        struct req r;
        int rc;

        if (cJSON_IsNull(sg))
            continue;
        n++;
        req_load(s, &r);
        frozen_now = num(s, "clock");
        nc = aa_nonce_cache_new(&no);
        cr_assert_not_null(nc);
        cr_assert_eq(aa_snprintf(receiver, sizeof(receiver), "http://%s", str(rq, "authority")),
                     AA_OK);
        memset(&pol, 0, sizeof(pol));
        pol.authority = str(rq, "authority");
        pol.receiver = receiver;
        pol.clock.now = frozen;
        pol.replay = nc;
        pol.resolver = &res;
        pol.trusted_issuers = trusted;
        pol.dev_mode = true;
        memset(&vr, 0, sizeof(vr));
        vr.method = str(rq, "method");
        vr.target = str(rq, "target");
        vr.headers = &r.h;
        vr.body = r.body;
        vr.body_len = r.body ? strlen(r.body) : 0;
        aa_aauth_result_init(&ar);
        rc = aa_aauth_verify(&pol, &vr, &ident, &ar);
        /* the servers refused these two at the signature (PROFILE#2.11 step 8 /
         * PROFILE#4.5 step 11); every other request passed the procedure and
         * was decided by the endpoint (200, the 401 auth-token challenge, the
         * 400 invalid_grant) */
        sig_refused =
            num(rs, "status") == 401 && err != NULL && strcmp(err, "invalid_signature") == 0;
        if (sig_refused) {
            char msg[512];
            aa_aauth_result_format(&ar, msg, sizeof(msg));
            cr_assert_neq(rc, AA_OK, "%s: the receiver accepts what the server refused",
                          str(s, "id"));
            assert_str(aa_perr_name(ar.perr), "invalid_signature", "%s: %s", str(s, "id"), msg);
            cr_assert_eq(ar.status, 401);
        } else {
            char msg[512];
            aa_aauth_result_format(&ar, msg, sizeof(msg));
            cr_assert_eq(rc, AA_OK, "%s: %s", str(s, "id"), msg);
            cr_assert_eq(ident.scheme, AA_SIGKEY_JWT);
            assert_str(ident.agent, AG);
            assert_str(ident.delegate,
                       strcmp(str(s, "client"), "delegate-2") == 0 ? "delegate-2" : "delegate-1");
            assert_str(ident.thumbprint, str(sg, "key_thumbprint"));
            cr_assert_eq(ident.token_kind,
                         strcmp(str(token(v, str(sg, "token")), "type"), "auth+jwt") == 0
                             ? AA_TOKEN_AUTH
                             : AA_TOKEN_AGENT);
            aa_identity_cleanup(&ident);
            /* replaying the same request to the same receiver: refused if it had a Nonce */
            if (str(sg, "nonce") != NULL) {
                rc = aa_aauth_verify(&pol, &vr, &ident, &ar);
                assert_str(aa_perr_name(ar.perr), "replay_detected", "%s", str(s, "id"));
                cr_assert_neq(rc, AA_OK);
            }
        }
        aa_nonce_cache_free(nc);
        aa_http_headers_cleanup(&r.h);
    }
    cr_assert_eq(n, 10);
    aa_jwk_cleanup(&kag);
    aa_jwk_cleanup(&krs);
    aa_jwk_cleanup(&kas);
    aa_static_keys_free(sk);
    cJSON_Delete(v);
}

/* ---- the exchanges of PROFILE#7.6 ---------------------------------------------------- */

static const char *rhdr(const cJSON *s, const char *name)
{
    const cJSON *p;

    cJSON_ArrayForEach(p, obj(obj(s, "response"), "headers"))
    {
        if (strcasecmp(cJSON_GetArrayItem(p, 0)->valuestring, name) == 0)
            return cJSON_GetArrayItem(p, 1)->valuestring;
    }
    return NULL;
}

static const cJSON *rjson(const cJSON *s)
{
    return obj(obj(s, "response"), "json");
}

static void expect_step(const cJSON *s, const char *test, const char *method, const char *url,
                        long status)
{
    const cJSON *rq = obj(s, "request");

    assert_str(str(s, "test"), test, "%s", str(s, "id"));
    assert_str(str(rq, "method"), method, "%s", str(s, "id"));
    assert_str(str(rq, "url"), url, "%s", str(s, "id"));
    cr_assert_eq(num(obj(s, "response"), "status"), status, "%s: status", str(s, "id"));
    /* the body text is what "json" shows */
    if (!cJSON_IsNull(rjson(s))) {
        cJSON *p = NULL;
        const char *b = str(obj(s, "response"), "body");
        cr_assert_eq(aa_json_parse(b, strlen(b), NULL, &p, NULL), AA_OK);
        cr_assert(cJSON_Compare(p, rjson(s), true), "%s: body and json differ", str(s, "id"));
        cJSON_Delete(p);
    }
}

Test(flow, test1_agent_token)
{
    cJSON *v = load();
    const cJSON *s = step(v, "step-01");
    const cJSON *pub = obj(obj(obj(v, "keys"), "delegate-1"), "public_jwk");
    char want[512];

    expect_step(s, "TEST 1", "POST", AG "/delegate/token", 200);
    cr_assert(cJSON_IsNull(obj(s, "signature")), "the seed sends it unsigned");
    cr_assert_eq(aa_snprintf(want, sizeof(want),
                             "{\"sub\":\"delegate-1\",\"cnf_jwk\":{\"kty\":\"OKP\",\"crv\":"
                             "\"Ed25519\",\"x\":\"%s\",\"kid\":\"delegate-key-1\"}}",
                             str(pub, "x")),
                 AA_OK);
    assert_str(str(obj(s, "request"), "body"), want);
    cr_assert_eq(strlen(want), 133, "the seed's 133-byte body");
    assert_str(str(rjson(s), "agent_token"), str(token(v, "agent_token_1"), "compact"));
    cr_assert_eq(num(rjson(s), "expires_in"), 3600);
    assert_str(rhdr(s, "Cache-Control"), "no-store");
    assert_str(str(token(v, "agent_token_1"), "issued_in"), "step-01");
    /* the client's look-up of the agent server's key */
    expect_step(step(v, "step-02"), "TEST 1", "GET", AG "/.well-known/aauth-agent", 200);
    assert_str(str(rjson(step(v, "step-02")), "agent"), AG);
    expect_step(step(v, "step-03"), "TEST 1", "GET", AG "/jwks.json", 200);
    {
        const cJSON *k0 = cJSON_GetArrayItem(obj(rjson(step(v, "step-03")), "keys"), 0);
        const cJSON *pk = obj(obj(obj(v, "keys"), "agent-server"), "public_jwk");
        cr_assert(cJSON_Compare(k0, pk, true), "the JWKS publishes the fixed agent key");
    }
    cJSON_Delete(v);
}

Test(flow, test2_access_with_agent_token)
{
    cJSON *v = load();
    const cJSON *s = step(v, "step-04"), *neg = step(v, "step-05");

    expect_step(s, "TEST 2", "GET", RS "/data-jwks", 200);
    assert_str(str(obj(s, "signature"), "signature_input"),
               "sig1=(\"@method\" \"@authority\" \"@path\" \"signature-key\");created=1768786221");
    assert_str(str(obj(s, "tokens"), "presented"), "agent_token_1");
    assert_str(str(rjson(s), "message"), "Access granted");
    assert_str(str(rjson(s), "data"), "This is protected data (identified via agent token)");
    assert_str(str(rjson(s), "scheme"), "jwt");
    assert_str(str(rjson(s), "token_type"), "agent+jwt");
    assert_str(str(rjson(s), "method"), "GET");
    assert_str(str(rjson(s), "agent"), AG);
    assert_str(str(rjson(s), "agent_delegate"), "delegate-1");
    /* companion negative: the same request with one bit flipped */
    expect_step(neg, "TEST 2 negative", "GET", RS "/data-jwks", 401);
    assert_str(str(rjson(neg), "error"), "invalid_signature");
    assert_str(rhdr(neg, "Agent-Auth"), "httpsig; identity=?1");
    assert_str(str(obj(neg, "signature"), "base"), str(obj(s, "signature"), "base"),
               "same base, other signature");
    cr_assert_str_neq(str(obj(neg, "signature"), "signature"),
                      str(obj(s, "signature"), "signature"));
    cJSON_Delete(v);
}

Test(flow, test3_auth_token)
{
    cJSON *v = load();
    const cJSON *ch = step(v, "step-06"), *tok = step(v, "step-08"), *ok = step(v, "step-10");
    struct aa_challenge c;
    struct aa_buf form;
    const char *aa;

    /* 1. the auth-token challenge */
    expect_step(ch, "TEST 3", "GET", RS "/data-auth", 401);
    aa = rhdr(ch, "Agent-Auth");
    cr_assert_not_null(aa);
    cr_assert_eq(aa_challenge_parse(NULL, aa, strlen(aa), &c, NULL), AA_OK);
    cr_assert(c.auth_token);
    assert_str(c.resource_token, str(token(v, "resource_token_1"), "compact"));
    assert_str(c.auth_server, AS);
    aa_challenge_cleanup(&c);
    /* 2. the AS metadata names the endpoint */
    expect_step(step(v, "step-07"), "TEST 3", "GET", AS "/.well-known/aauth-issuer", 200);
    assert_str(str(rjson(step(v, "step-07")), "agent_token_endpoint"), AS "/agent/token");
    /* 3. POST /agent/token: the exact form body */
    expect_step(tok, "TEST 3", "POST", AS "/agent/token", 200);
    aa_buf_init(&form, 16384);
    cr_assert_eq(aa_form_add(&form, "request_type", "auth"), AA_OK);
    cr_assert_eq(aa_form_add(&form, "resource_token", str(token(v, "resource_token_1"), "compact")),
                 AA_OK);
    cr_assert_eq(aa_form_add(&form, "redirect_uri", AG "/callback"), AA_OK);
    assert_str(str(obj(tok, "request"), "body"), form.p);
    aa_buf_free(&form);
    assert_str(str(obj(tok, "signature"), "signature_input"),
               "sig1=(\"@method\" \"@authority\" \"@path\" \"content-type\" \"content-digest\" "
               "\"nonce\" \"signature-key\");created=1768786221");
    assert_str(str(obj(tok, "tokens"), "presented"), "agent_token_1");
    assert_str(str(rjson(tok), "auth_token"), str(token(v, "auth_token_1"), "compact"));
    cr_assert_eq(num(rjson(tok), "expires_in"), 3600);
    cr_assert_not_null(str(rjson(tok), "refresh_token"));
    assert_str(rhdr(tok, "Cache-Control"), "no-store");
    /* 5. the authorised request */
    expect_step(ok, "TEST 3", "GET", RS "/data-auth", 200);
    assert_str(str(obj(ok, "tokens"), "presented"), "auth_token_1");
    assert_str(str(rjson(ok), "token_type"), "auth+jwt");
    assert_str(str(rjson(ok), "agent"), AG);
    assert_str(str(rjson(ok), "agent_delegate"), "delegate-1");
    assert_str(str(rjson(ok), "scope"), SCOPE);
    assert_str(str(rjson(ok), "data"), "This is protected data (authorized)");
    cJSON_Delete(v);
}

Test(flow, test4_refresh_and_rotation)
{
    cJSON *v = load();
    const cJSON *r1 = step(v, "step-11"), *rot = step(v, "step-12"), *r2 = step(v, "step-13");
    const cJSON *use = step(v, "step-14"), *old = step(v, "step-15"), *other = step(v, "step-20");
    const char *refresh = str(rjson(step(v, "step-08")), "refresh_token");
    char want[256];

    /* 1. refresh signed with the agent token, 60 s later */
    expect_step(r1, "TEST 4", "POST", AS "/agent/token", 200);
    cr_assert_eq(num(r1, "clock"), T4);
    cr_assert_eq(aa_snprintf(want, sizeof(want), "request_type=refresh&refresh_token=%s", refresh),
                 AA_OK);
    assert_str(str(obj(r1, "request"), "body"), want);
    assert_str(str(obj(r1, "tokens"), "presented"), "agent_token_1");
    assert_str(str(rjson(r1), "auth_token"), str(token(v, "auth_token_2"), "compact"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(rjson(r1), "refresh_token"), "not rotated");
    /* 2. rotation: a new agent token for delegate-key-2, same sub */
    expect_step(rot, "TEST 4 rotation", "POST", AG "/delegate/token", 200);
    assert_str(str(rjson(rot), "agent_token"), str(token(v, "agent_token_2"), "compact"));
    expect_step(r2, "TEST 4 rotation", "POST", AS "/agent/token", 200);
    assert_str(str(obj(r2, "request"), "body"), want, "the same refresh token");
    assert_str(str(obj(r2, "tokens"), "presented"), "agent_token_2");
    assert_str(str(obj(r2, "signature"), "key"), "delegate-2");
    assert_str(str(rjson(r2), "auth_token"), str(token(v, "auth_token_3"), "compact"));
    expect_step(use, "TEST 4 rotation", "GET", RS "/data-auth", 200);
    assert_str(str(obj(use, "signature"), "key"), "delegate-2");
    assert_str(str(obj(use, "tokens"), "presented"), "auth_token_3");
    /* the old auth token with a K2 signature */
    expect_step(old, "TEST 4 negative", "GET", RS "/data-auth", 401);
    assert_str(str(obj(old, "tokens"), "presented"), "auth_token_1");
    assert_str(str(obj(old, "signature"), "key"), "delegate-2");
    assert_str(str(rjson(old), "error"), "invalid_signature");
    /* 3. another sub cannot use the refresh token */
    expect_step(other, "TEST 4 negative", "POST", AS "/agent/token", 400);
    assert_str(str(other, "client"), "delegate-2");
    assert_str(str(obj(other, "request"), "body"), want);
    assert_str(str(obj(other, "tokens"), "presented"), "agent_token_3");
    assert_str(str(rjson(other), "error"), "invalid_grant");
    cJSON_Delete(v);
}

/* Internal consistency: ids, clocks, token references. */
Test(flow, structure)
{
    cJSON *v = load();
    const cJSON *s, *t;
    int i = 0;

    assert_str(str(obj(v, "topology"), "agent_server"), AG);
    assert_str(str(obj(v, "topology"), "resource"), RS);
    assert_str(str(obj(v, "topology"), "auth_server"), AS);
    cJSON_ArrayForEach(s, obj(v, "steps"))
    {
        char id[16];
        const char *test = str(s, "test");
        const cJSON *tk = obj(s, "tokens"), *e;

        cr_assert_eq(aa_snprintf(id, sizeof(id), "step-%02d", ++i), AA_OK);
        assert_str(str(s, "id"), id);
        cr_assert_eq(num(s, "clock"), strncmp(nn(test), "TEST 4", 6) == 0 ? T4 : T0, "%s", id);
        cJSON_ArrayForEach(e, obj(tk, "issued"))
        {
            const cJSON *tt = token(v, e->valuestring);
            const char *body = str(obj(s, "response"), "body"), *aa = rhdr(s, "Agent-Auth");
            bool in_resp = (body != NULL && strstr(body, str(tt, "compact")) != NULL) ||
                           (aa != NULL && strstr(aa, str(tt, "compact")) != NULL);
            assert_str(str(tt, "issued_in"), id);
            cr_assert(in_resp, "%s: %s is not in the response", id, e->valuestring);
        }
        cJSON_ArrayForEach(e, obj(tk, "in_body"))
        {
            cr_assert_not_null(strstr(nn(str(obj(s, "request"), "body")),
                                      str(token(v, e->valuestring), "compact")));
        }
    }
    cr_assert_eq(i, 20);
    cJSON_ArrayForEach(t, obj(v, "tokens"))
    {
        cr_assert_not_null(str(t, "issued_in"));
        (void)step(v, str(t, "issued_in"));
    }
    cJSON_Delete(v);
}
