/* Signature-Key header: PROFILE#2.1 grammar (D-8), PROFILE#2.3 schemes,
 * canonical serialization, builders; data from vectors/aauth/signature-key.json. */
#include "aauth_test_util.h"

static int expect_code(const char *name)
{
    if (strcmp(name, "members") == 0)
        return AA_E_SIGKEY_MEMBERS;
    if (strcmp(name, "syntax") == 0)
        return AA_E_SIGKEY_SYNTAX;
    if (strcmp(name, "dup") == 0)
        return AA_E_SIGKEY_DUP;
    if (strcmp(name, "scheme") == 0)
        return AA_E_SIGKEY_SCHEME;
    if (strcmp(name, "param") == 0)
        return AA_E_SIGKEY_PARAM;
    if (strcmp(name, "limit") == 0)
        return AA_E_LIMIT;
    cr_assert_fail("unknown error name %s in vector", name);
    return 0;
}

static const char *scheme_of(const struct aa_sigkey *sk)
{
    return aa_sigkey_scheme_name(NULL, sk->scheme);
}

/* Every vector: accepted ones round-trip to their canonical text; rejected
 * ones fail at the stated stage with the stated code and a PROFILE ref. */
Test(aauth_sigkey, vectors)
{
    cJSON *root = aauth_load_vectors("signature-key.json");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    const cJSON *c;
    int n_ok = 0, n_bad = 0;

    cr_assert(cJSON_IsArray(cases));
    cJSON_ArrayForEach(c, cases)
    {
        const char *name = aauth_jstr(c, "name");
        const char *raw = aauth_jstr(c, "raw");
        const char *stage = aauth_jstr(c, "stage");
        struct aa_sigkey sk = {0};
        struct aa_diag d;
        int rc;

        cr_assert(name && raw && stage);
        aa_diag_clear(&d);
        rc = aa_sigkey_parse(NULL, raw, strlen(raw), &sk, &d);
        if (strcmp(stage, "parse") == 0) {
            int want = expect_code(aauth_jstr(c, "error"));
            cr_assert_eq(rc, want, "%s: parse rc %d (%s) want %d", name, rc, d.msg, want);
            cr_assert_not_null(d.ref, "%s: no citation", name);
            cr_assert(strncmp(d.ref, "PROFILE#", 8) == 0, "%s: ref %s", name, d.ref);
            cr_assert(d.msg[0] != '\0', "%s: empty message", name);
            cr_assert_null(sk.label, "%s: output not zeroed on failure", name);
            n_bad++;
            continue;
        }
        cr_assert_eq(rc, AA_OK, "%s: parse failed: %s", name, d.msg);
        rc = aa_sigkey_validate(NULL, &sk, &d);
        if (strcmp(stage, "validate") == 0) {
            int want = expect_code(aauth_jstr(c, "error"));
            cr_assert_eq(rc, want, "%s: validate rc %d (%s) want %d", name, rc, d.msg, want);
            cr_assert_str_eq(d.ref, "PROFILE#2.3", "%s", name);
            n_bad++;
        } else {
            struct aa_buf b;
            cr_assert_eq(rc, AA_OK, "%s: validate failed: %s", name, d.msg);
            cr_assert_str_eq(scheme_of(&sk), aauth_jstr(c, "scheme"), "%s", name);
            cr_assert_eq(sk.jwks_mode, aauth_jint(c, "jwks_mode", 0), "%s", name);
            aa_buf_init(&b, 65536);
            cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_OK);
            cr_assert_str_eq(b.p, aauth_jstr(c, "canonical"), "%s", name);
            aa_buf_free(&b);
            n_ok++;
        }
        aa_sigkey_cleanup(&sk);
    }
    cr_assert_geq(n_ok, 5);
    cr_assert_geq(n_bad, 20);
    cJSON_Delete(root);
}

Test(aauth_sigkey, example_a_parameters)
{
    const char *raw = "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"" AAUTH_TEST1_X "\")";
    struct aa_sigkey sk = {0};
    struct aa_jwk k = {0};
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    cr_assert_eq(aa_sigkey_parse(NULL, raw, strlen(raw), &sk, NULL), AA_OK);
    cr_assert_str_eq(sk.label, "sig1");
    cr_assert_eq(sk.scheme, AA_SIGKEY_HWK);
    cr_assert_eq(sk.n, 4);
    cr_assert(sk.params[0].token);
    cr_assert_not(sk.params[1].token);
    cr_assert_str_eq(aa_sigkey_get(&sk, "x"), AAUTH_TEST1_X);
    cr_assert_null(aa_sigkey_get(&sk, "y"));
    cr_assert_eq(aa_sigkey_validate(NULL, &sk, NULL), AA_OK);
    cr_assert_eq(aa_sigkey_hwk_key(NULL, &sk, &k, NULL), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&k, jkt), AA_OK);
    cr_assert_str_eq(jkt, AAUTH_TEST1_JKT);
    aa_jwk_cleanup(&k);
    aa_sigkey_cleanup(&sk);
}

Test(aauth_sigkey, escaped_value_is_unescaped)
{
    const char *raw = "sig1=(scheme=jwks id=\"https://a.example\" kid=\"a\\\"b\\\\c\")";
    struct aa_sigkey sk = {0};
    cr_assert_eq(aa_sigkey_parse(NULL, raw, strlen(raw), &sk, NULL), AA_OK);
    cr_assert_str_eq(aa_sigkey_get(&sk, "kid"), "a\"b\\c");
    aa_sigkey_cleanup(&sk);
}

Test(aauth_sigkey, builders_produce_canonical_examples)
{
    struct aa_jwk key = {0};
    struct aa_sigkey sk = {0};
    struct aa_buf b;

    cr_assert_eq(aa_jwk_from_ed25519_seed(aauth_test1_seed, "key-1", &key), AA_OK);
    aa_buf_init(&b, 65536);

    cr_assert_eq(aa_sigkey_init_hwk(&sk, NULL, NULL, &key), AA_OK);
    cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_OK);
    cr_assert_str_eq(b.p, "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"" AAUTH_TEST1_X "\")");
    cr_assert_eq(aa_sigkey_validate(NULL, &sk, NULL), AA_OK);
    aa_sigkey_cleanup(&sk);

    aa_buf_reset(&b);
    cr_assert_eq(aa_sigkey_init_jwks(&sk, NULL, NULL, "http://127.0.0.1:8001", "key-1",
                                     "aauth-agent"),
                 AA_OK);
    cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_OK);
    cr_assert_str_eq(b.p, "sig1=(scheme=jwks id=\"http://127.0.0.1:8001\" kid=\"key-1\" "
                          "well-known=\"aauth-agent\")");
    aa_sigkey_cleanup(&sk);

    aa_buf_reset(&b);
    cr_assert_eq(aa_sigkey_init_jwks_uri(&sk, NULL, "s", "https://a.example/j", "k"), AA_OK);
    cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_OK);
    cr_assert_str_eq(b.p, "s=(scheme=jwks jwks=\"https://a.example/j\" kid=\"k\")");
    cr_assert_eq(aa_sigkey_validate(NULL, &sk, NULL), AA_OK);
    cr_assert_eq(sk.jwks_mode, 1);
    aa_sigkey_cleanup(&sk);

    aa_buf_reset(&b);
    cr_assert_eq(aa_sigkey_init_jwt(&sk, NULL, NULL, "a.b.c"), AA_OK);
    cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_OK);
    cr_assert_str_eq(b.p, "sig1=(scheme=jwt jwt=\"a.b.c\")");
    aa_sigkey_cleanup(&sk);

    aa_buf_reset(&b);
    cr_assert_eq(aa_sigkey_init_x509(&sk, NULL, NULL, "https://a.example/c", "t"), AA_OK);
    cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_OK);
    cr_assert_str_eq(b.p, "sig1=(scheme=x509 x5u=\"https://a.example/c\" x5t=\"t\")");
    aa_sigkey_cleanup(&sk);

    aa_buf_free(&b);
    aa_jwk_cleanup(&key);
}

Test(aauth_sigkey, non_canonical_serializations)
{
    struct aa_sigkey sk = {0}, back = {0};
    struct aa_buf b;

    cr_assert_eq(aa_sigkey_init_jwt(&sk, NULL, NULL, "a.b.c"), AA_OK);
    aa_buf_init(&b, 4096);
    cr_assert_eq(aa_sigkey_serialize_ex(NULL, &sk, AA_SIGKEY_SER_SCHEME_STRING, &b), AA_OK);
    cr_assert_str_eq(b.p, "sig1=(scheme=\"jwt\" jwt=\"a.b.c\")");
    /* and the parser refuses exactly that spelling (SK-01) */
    cr_assert_eq(aa_sigkey_parse(NULL, b.p, b.len, &back, NULL), AA_E_SIGKEY_SCHEME);

    aa_buf_reset(&b);
    cr_assert_eq(aa_sigkey_serialize_ex(NULL, &sk, AA_SIGKEY_SER_EXTRA_SPACES, &b), AA_OK);
    cr_assert_str_eq(b.p, "sig1=( scheme=jwt  jwt=\"a.b.c\" )");
    cr_assert_eq(aa_sigkey_parse(NULL, b.p, b.len, &back, NULL), AA_OK, "still legal");
    aa_sigkey_cleanup(&back);

    cr_assert_eq(aa_sigkey_add_param(&sk, "zz", "tok", true), AA_OK);
    aa_buf_reset(&b);
    cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_OK);
    cr_assert_str_eq(b.p, "sig1=(scheme=jwt jwt=\"a.b.c\" zz=tok)");
    aa_buf_free(&b);
    aa_sigkey_cleanup(&sk);
}

Test(aauth_sigkey, serializer_refuses_unsendable_bytes)
{
    struct aa_sigkey sk = {0};
    struct aa_buf b;
    cr_assert_eq(aa_sigkey_init_jwt(&sk, NULL, NULL, "a\nb"), AA_OK);
    aa_buf_init(&b, 4096);
    cr_assert_eq(aa_sigkey_serialize(NULL, &sk, &b), AA_E_INVAL);
    aa_buf_free(&b);
    aa_sigkey_cleanup(&sk);
}

/* RB-04: at most 32 parameters (scheme included); one more is AA_E_LIMIT. */
Test(aauth_sigkey, parameter_limit)
{
    struct aa_buf b;
    struct aa_sigkey sk = {0};
    struct aa_diag d;

    aa_buf_init(&b, 65536);
    aa_buf_adds(&b, "sig1=(scheme=jwt jwt=\"a.b.c\"");
    for (int i = 0; i < 30; i++)
        aa_buf_printf(&b, " p%d=\"v\"", i);
    aa_buf_adds(&b, ")");
    cr_assert_eq(aa_sigkey_parse(NULL, b.p, b.len, &sk, NULL), AA_OK, "32 parameters are fine");
    cr_assert_eq(sk.n, 32);
    aa_sigkey_cleanup(&sk);

    b.len--; /* drop ")" */
    aa_buf_adds(&b, " p99=\"v\")");
    aa_diag_clear(&d);
    cr_assert_eq(aa_sigkey_parse(NULL, b.p, b.len, &sk, &d), AA_E_LIMIT);
    cr_assert(strstr(d.msg, "32") != NULL, "%s", d.msg);
    cr_assert_str_eq(d.ref, "PROFILE#9");
    aa_buf_free(&b);
}

/* RB-01: a value over 16 KiB is refused before any parsing. */
Test(aauth_sigkey, size_limit)
{
    size_t n = AA_SIGKEY_MAX_LEN + 1;
    char *big = malloc(n);
    struct aa_sigkey sk = {0};
    const char *head = "sig1=(scheme=jwt jwt=\"";
    cr_assert_not_null(big);
    memset(big, 'a', n);
    memcpy(big, head, strlen(head));
    big[n - 2] = '"';
    big[n - 1] = ')';
    cr_assert_eq(aa_sigkey_parse(NULL, big, n, &sk, NULL), AA_E_LIMIT);
    /* one byte shorter (same shape) parses */
    memmove(big + strlen(head), big + strlen(head) + 1, n - strlen(head) - 1);
    cr_assert_eq(aa_sigkey_parse(NULL, big, n - 1, &sk, NULL), AA_OK);
    aa_sigkey_cleanup(&sk);
    free(big);
}

Test(aauth_sigkey, control_and_nul_bytes_rejected)
{
    static const char raw[] = "sig1=(scheme=jwt jwt=\"a\0b\")";
    struct aa_sigkey sk = {0};
    struct aa_diag d;
    aa_diag_clear(&d);
    cr_assert_eq(aa_sigkey_parse(NULL, raw, sizeof(raw) - 1, &sk, &d), AA_E_SIGKEY_SYNTAX);
    cr_assert(strstr(d.msg, "0x00") != NULL, "%s", d.msg);
}

Test(aauth_sigkey, peek_label)
{
    struct aa_str l;
    const char *one = "abc=(scheme=jwt jwt=\"x,y)\")";
    const char *two = "abc=(scheme=jwt jwt=\"x\"), d=(scheme=hwk)";
    cr_assert_eq(aa_sigkey_peek_label(one, strlen(one), &l, NULL), AA_OK);
    cr_assert_eq(l.len, 3);
    cr_assert(memcmp(l.p, "abc", 3) == 0);
    cr_assert_eq(aa_sigkey_peek_label(two, strlen(two), &l, NULL), AA_E_SIGKEY_MEMBERS);
    cr_assert_eq(aa_sigkey_peek_label("(x)", 3, &l, NULL), AA_E_SIGKEY_SYNTAX);
}

Test(aauth_sigkey, profile_table_drives_names)
{
    const struct aa_profile *p = aa_profile_default();
    cr_assert_str_eq(p->name, "aauth-2026-01");
    cr_assert_eq(aa_profile_find("aauth-2026-01"), p);
    cr_assert_null(aa_profile_find("nope"));
    cr_assert_str_eq(p->hdr.signature_key, "Signature-Key");
    cr_assert_str_eq(p->typ.agent, "agent+jwt");
    cr_assert_str_eq(p->wk.issuer, "aauth-issuer");
    cr_assert_str_eq(p->default_label, "sig1");
    cr_assert_eq(p->time.created_skew, 60);
    cr_assert_eq(p->limit.sigkey_params, 32);
    cr_assert(p->grammar.sigkey_parse == aa_sigkey_parse);
    cr_assert_str_eq(aa_profile_names()[0], "aauth-2026-01");
    cr_assert_null(aa_profile_names()[1]);
}

Test(aauth_sigkey, perr_vocabulary)
{
    cr_assert_str_eq(aa_perr_name(AA_PERR_INVALID_KEY), "invalid_key");
    cr_assert_eq(aa_perr_status(AA_PERR_INVALID_KEY), 401);
    cr_assert_eq(aa_perr_status(AA_PERR_INVALID_RESOURCE_TOKEN), 400);
    cr_assert_eq(aa_perr_status(AA_PERR_INSUFFICIENT_SCOPE), 403);
    cr_assert_eq(aa_perr_from_name("replay_detected"), AA_PERR_REPLAY_DETECTED);
    cr_assert_eq(aa_perr_from_name("bogus"), AA_PERR_NONE);
    cr_assert_str_eq(aa_strerror(AA_E_SIGKEY_DUP), "Signature-Key: duplicate parameter");
}
