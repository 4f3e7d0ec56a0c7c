/*
 * fuzz_jwk: JWK and JWKS intake (harness/jwk/aa_jwk.h), the keys every
 * Signature-Key, cnf.jwk and metadata document carries.
 * fuzz-libs: aa_jwk aa_json aa_b64 aa_core
 *
 * Each input is parsed as a JWK with four flag sets and as a JWKS (and as
 * PEM when it starts with "-----"). Checks:
 *   1. Rejections carry a citation; hostile JSON never yields a fault.
 *   2. Flag lattice: PUBLIC_ONLY and REQUIRE_KID only ever narrow what
 *      flags 0 accepts, to the same key (same RFC 7638 thumbprint);
 *      PUBLIC_ONLY never yields a private key; a kid, when kept, is shorter
 *      than AA_JWK_KID_MAX; flags 0 with a non-empty kid passes REQUIRE_KID.
 *   3. Round trip: aa_jwk_to_json() (public, and private when the key has
 *      a private half) parses back to the same key, kid and alg - also for
 *      keys read from PEM, which must pass the same checks as JWK (known
 *      issue "jwk-pem-consistency": an RSA PEM key with inconsistent
 *      private members is accepted).
 *   4. A thumbprint is 43 characters of unpadded base64url.
 *   5. JWKS (PROFILE#3, D-14): at most AA_JWKS_MAX_KEYS keys, all public,
 *      kids non-empty and unique; aa_jwks_find/find_thumbprint return the
 *      listed key; aa_jwks_to_json parses back to the same set with
 *      nothing skipped.
 */
#include <string.h>

#include "b64/aa_b64.h"
#include "fuzz_common.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"

AA_FUZZ_LINK_STRERROR(aa_jwk_strerror, aa_json_strerror, aa_b64_strerror);

static void thumb(const struct aa_jwk *k, char out[AA_JWK_THUMBPRINT_LEN + 1])
{
    int rc = aa_jwk_thumbprint(k, out);

    AA_FUZZ_CHECK(rc == AA_OK, "accepted key has no thumbprint: %d", rc);
    AA_FUZZ_CHECK(strlen(out) == AA_JWK_THUMBPRINT_LEN &&
                      (aa_b64_classify(out, AA_JWK_THUMBPRINT_LEN) & AA_B64C_URL_UNPADDED),
                  "thumbprint \"%s\" is not 43 base64url characters", out);
}

static void check_roundtrip(const struct aa_jwk *k, bool priv)
{
    struct aa_buf j;
    struct aa_jwk back;
    struct aa_diag d;
    char t1[AA_JWK_THUMBPRINT_LEN + 1], t2[AA_JWK_THUMBPRINT_LEN + 1];
    int rc;

    aa_buf_init(&j, AA_BUF_DEFAULT_MAX);
    rc = aa_jwk_to_json(k, priv, &j);
    AA_FUZZ_CHECK(rc == AA_OK, "aa_jwk_to_json(%d) failed: %d", priv, rc);
    aa_diag_clear(&d);
    rc = aa_jwk_parse(j.p, j.len, priv ? 0 : AA_JWK_PUBLIC_ONLY, &back, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "serialized JWK does not parse: %s: %s", d.msg, j.p);
    thumb(k, t1);
    thumb(&back, t2);
    AA_FUZZ_CHECK(strcmp(t1, t2) == 0 && aa_jwk_same_key(k, &back), "round trip changed the key");
    AA_FUZZ_CHECK(strcmp(k->kid, back.kid) == 0 && strcmp(k->alg, back.alg) == 0 &&
                      k->kty == back.kty && strcmp(k->crv, back.crv) == 0,
                  "round trip changed kid/alg/kty/crv");
    AA_FUZZ_CHECK(back.is_private == (priv && k->is_private), "round trip changed privacy");
    aa_jwk_cleanup(&back);
    aa_buf_free(&j);
}

static void check_key(const struct aa_jwk *k)
{
    static const char *const members[] = {"x", "y", "n", "e"};

    AA_FUZZ_CHECK(k->kty == AA_KTY_OKP || k->kty == AA_KTY_EC || k->kty == AA_KTY_RSA, "kty %d",
                  (int)k->kty);
    AA_FUZZ_CHECK(k->kty == AA_KTY_RSA
                      ? k->crv[0] == '\0'
                      : strcmp(k->crv, k->kty == AA_KTY_OKP ? "Ed25519" : "P-256") == 0,
                  "crv \"%s\" for kty %d", k->crv, (int)k->kty);
    AA_FUZZ_CHECK(strlen(k->kid) < AA_JWK_KID_MAX, "kid too long");
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        struct aa_buf m;
        aa_buf_init(&m, AA_BUF_DEFAULT_MAX);
        (void)aa_jwk_public_member(k, members[i], &m);
        aa_buf_free(&m);
    }
    check_roundtrip(k, false);
    if (k->is_private)
        check_roundtrip(k, true);
}

static void check_jwk(const char *in, size_t n)
{
    static const unsigned flags[] = {0, AA_JWK_PUBLIC_ONLY, AA_JWK_REQUIRE_KID,
                                     AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID};
    struct aa_jwk k[4];
    int rc[4];
    char t0[AA_JWK_THUMBPRINT_LEN + 1], ti[AA_JWK_THUMBPRINT_LEN + 1];

    for (size_t i = 0; i < 4; i++) {
        struct aa_diag d;
        aa_diag_clear(&d);
        rc[i] = aa_jwk_parse(in, n, flags[i], &k[i], &d);
        if (rc[i] != AA_OK)
            aa_fuzz_check_rejection("aa_jwk_parse", rc[i], &d, true);
    }
    if (rc[0] == AA_OK) {
        check_key(&k[0]);
        thumb(&k[0], t0);
        if (k[0].kid[0] != '\0')
            AA_FUZZ_CHECK(rc[2] == AA_OK, "key with kid \"%s\" fails REQUIRE_KID", k[0].kid);
    }
    for (size_t i = 1; i < 4; i++) {
        if (rc[i] != AA_OK)
            continue;
        AA_FUZZ_CHECK(rc[0] == AA_OK, "flags 0x%x accept what flags 0 rejects", flags[i]);
        thumb(&k[i], ti);
        AA_FUZZ_CHECK(strcmp(t0, ti) == 0, "flags 0x%x give another key", flags[i]);
        if (flags[i] & AA_JWK_PUBLIC_ONLY)
            AA_FUZZ_CHECK(!k[i].is_private, "PUBLIC_ONLY gave a private key");
        if (flags[i] & AA_JWK_REQUIRE_KID)
            AA_FUZZ_CHECK(k[i].kid[0] != '\0', "REQUIRE_KID gave a key without kid");
    }
    for (size_t i = 0; i < 4; i++)
        if (rc[i] == AA_OK)
            aa_jwk_cleanup(&k[i]);
}

static void check_jwks(const char *in, size_t n)
{
    struct aa_jwks s, back;
    struct aa_diag d;
    struct aa_buf j;
    int rc;

    aa_diag_clear(&d);
    rc = aa_jwks_parse(in, n, &s, &d);
    if (rc != AA_OK) {
        aa_fuzz_check_rejection("aa_jwks_parse", rc, &d, true);
        return;
    }
    AA_FUZZ_CHECK(s.n <= AA_JWKS_MAX_KEYS, "%zu keys accepted", s.n);
    for (size_t i = 0; i < s.n; i++) {
        char tp[AA_JWK_THUMBPRINT_LEN + 1];
        const struct aa_jwk *f;

        AA_FUZZ_CHECK(!s.keys[i].is_private, "JWKS key %zu is private", i);
        AA_FUZZ_CHECK(s.keys[i].kid[0] != '\0', "JWKS key %zu has no kid", i);
        for (size_t j2 = 0; j2 < i; j2++)
            AA_FUZZ_CHECK(strcmp(s.keys[i].kid, s.keys[j2].kid) != 0, "duplicate kid \"%s\"",
                          s.keys[i].kid);
        AA_FUZZ_CHECK(aa_jwks_find(&s, s.keys[i].kid) == &s.keys[i], "find(kid) missed key %zu", i);
        thumb(&s.keys[i], tp);
        f = aa_jwks_find_thumbprint(&s, tp);
        AA_FUZZ_CHECK(f != NULL && aa_jwk_same_key(f, &s.keys[i]), "find_thumbprint missed key");
        check_key(&s.keys[i]);
    }
    aa_buf_init(&j, AA_BUF_DEFAULT_MAX);
    AA_FUZZ_CHECK(aa_jwks_to_json(&s, &j) == AA_OK, "aa_jwks_to_json failed");
    aa_diag_clear(&d);
    rc = aa_jwks_parse(j.p, j.len, &back, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "serialized JWKS does not parse: %s", d.msg);
    AA_FUZZ_CHECK(back.n == s.n && back.skipped == 0,
                  "JWKS round trip: %zu keys -> %zu (%zu "
                  "skipped)",
                  s.n, back.n, back.skipped);
    for (size_t i = 0; i < s.n; i++)
        AA_FUZZ_CHECK(strcmp(back.keys[i].kid, s.keys[i].kid) == 0 &&
                          aa_jwk_same_key(&back.keys[i], &s.keys[i]),
                      "JWKS round trip changed key %zu", i);
    aa_jwks_cleanup(&back);
    aa_buf_free(&j);
    aa_jwks_cleanup(&s);
}

static void check_pem(const char *in, size_t n)
{
    struct aa_jwk k;
    struct aa_diag d;
    int rc;

    if (n < 5 || memcmp(in, "-----", 5) != 0)
        return;
    aa_diag_clear(&d);
    rc = aa_jwk_from_pem(in, n, "pem", &k, &d);
    if (rc != AA_OK) {
        aa_fuzz_check_rejection("aa_jwk_from_pem", rc, &d, true);
        return;
    }
    check_key(&k);
    aa_jwk_cleanup(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = size ? (const char *)data : "";

    check_jwk(in, size);
    check_jwks(in, size);
    check_pem(in, size);
    return 0;
}
