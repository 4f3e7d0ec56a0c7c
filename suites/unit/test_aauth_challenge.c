/* Agent-Auth challenge: PROFILE#5, D-9 (vectors/aauth/agent-auth.json). */
#include "aauth_test_util.h"

static int code_of(const char *s)
{
    if (strcmp(s, "syntax") == 0)
        return AA_E_CHALLENGE_SYNTAX;
    if (strcmp(s, "none") == 0)
        return AA_E_CHALLENGE_NONE;
    if (strcmp(s, "param") == 0)
        return AA_E_CHALLENGE_PARAM;
    if (strcmp(s, "limit") == 0)
        return AA_E_LIMIT;
    cr_assert_fail("unknown error %s", s);
    return 0;
}

static void expect_str(const char *name, const char *got, const cJSON *c, const char *member)
{
    const char *want = aauth_jstr(c, member);
    if (want == NULL)
        cr_assert_null(got, "%s: %s should be absent, got %s", name, member, got);
    else
        cr_assert(got != NULL && strcmp(got, want) == 0, "%s: %s = %s, want %s", name, member,
                  got ? got : "(null)", want);
}

Test(aauth_challenge, vectors)
{
    cJSON *root = aauth_load_vectors("agent-auth.json");
    const cJSON *c;
    int ok = 0, bad = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
    {
        const char *name = aauth_jstr(c, "name");
        const char *raw = aauth_jstr(c, "raw");
        const char *fail = aauth_jstr(c, "must_fail");
        struct aa_challenge ch;
        struct aa_diag d;
        int rc;

        aa_diag_clear(&d);
        rc = aa_challenge_parse(NULL, raw, strlen(raw), &ch, &d);
        if (fail != NULL) {
            cr_assert_eq(rc, code_of(fail), "%s: rc %d (%s)", name, rc, d.msg);
            cr_assert(d.msg[0] != '\0', "%s: no message", name);
            cr_assert_null(ch.resource_token);
            bad++;
            continue;
        }
        cr_assert_eq(rc, AA_OK, "%s: %s", name, d.msg);
        cr_assert_eq(ch.identity, cJSON_IsTrue(cJSON_GetObjectItem(c, "identity")), "%s", name);
        cr_assert_eq(ch.auth_token, cJSON_IsTrue(cJSON_GetObjectItem(c, "auth_token")), "%s",
                     name);
        expect_str(name, ch.resource_token, c, "resource_token");
        expect_str(name, ch.auth_server, c, "auth_server");
        expect_str(name, ch.user_interaction, c, "user_interaction");
        cr_assert_eq(ch.algs_non_rfc8941, cJSON_IsTrue(cJSON_GetObjectItem(c, "algs_warn")),
                     "%s", name);
        cr_assert_eq(ch.member_index, (size_t)aauth_jint(c, "member_index", 0), "%s", name);
        {
            const cJSON *algs = cJSON_GetObjectItem(c, "algs");
            size_t n = algs ? (size_t)cJSON_GetArraySize(algs) : 0;
            cr_assert_eq(ch.n_algs, n, "%s", name);
            cr_assert_eq(ch.has_algs, n > 0, "%s", name);
            for (size_t i = 0; i < n; i++)
                cr_assert_str_eq(ch.algs[i], cJSON_GetArrayItem(algs, (int)i)->valuestring);
        }
        if (aauth_jstr(c, "reference") != NULL) {
            struct aa_buf b;
            aa_buf_init(&b, 65536);
            cr_assert_eq(aa_challenge_serialize(NULL, &ch, &b), AA_OK);
            cr_assert_str_eq(b.p, aauth_jstr(c, "reference"), "%s", name);
            aa_buf_free(&b);
        }
        aa_challenge_cleanup(&ch);
        ok++;
    }
    cr_assert_geq(ok, 8);
    cr_assert_geq(bad, 10);
    cJSON_Delete(root);
}

Test(aauth_challenge, builders_emit_reference_spelling)
{
    struct aa_buf b;
    aa_buf_init(&b, 4096);
    cr_assert_eq(aa_challenge_build_base(NULL, false, &b), AA_OK);
    cr_assert_str_eq(b.p, "httpsig");
    aa_buf_reset(&b);
    cr_assert_eq(aa_challenge_build_base(NULL, true, &b), AA_OK);
    cr_assert_str_eq(b.p, "httpsig; identity=?1");
    aa_buf_reset(&b);
    cr_assert_eq(aa_challenge_build_auth_token(NULL, "eyJ.x.y", "http://127.0.0.1:8003", &b),
                 AA_OK);
    cr_assert_str_eq(b.p,
                     "httpsig; auth-token; resource_token=\"eyJ.x.y\"; auth_server=\"http://127.0.0.1:8003\"");
    cr_assert_eq(aa_challenge_build_auth_token(NULL, NULL, "x", &b), AA_E_INVAL);
    aa_buf_free(&b);
}

/* What the builders emit, the parser reads back (the client side of F3). */
Test(aauth_challenge, round_trip_with_escapes)
{
    struct aa_challenge ch = {0}, back;
    struct aa_buf b;
    char rt[] = "a\"b\\c";
    ch.auth_token = true;
    ch.resource_token = rt;
    ch.auth_server = rt;
    aa_buf_init(&b, 4096);
    cr_assert_eq(aa_challenge_serialize(NULL, &ch, &b), AA_OK);
    cr_assert_str_eq(b.p, "httpsig; auth-token; resource_token=\"a\\\"b\\\\c\"; auth_server=\"a\\\"b\\\\c\"");
    cr_assert_eq(aa_challenge_parse(NULL, b.p, b.len, &back, NULL), AA_OK);
    cr_assert(back.auth_token);
    cr_assert_str_eq(back.resource_token, rt);
    aa_challenge_cleanup(&back);

    aa_buf_reset(&b);
    rt[0] = '\x01';
    cr_assert_eq(aa_challenge_serialize(NULL, &ch, &b), AA_E_INVAL);
    aa_buf_free(&b);
}

Test(aauth_challenge, limits)
{
    size_t n = AA_CHALLENGE_MAX_LEN + 1;
    char *big = malloc(n);
    struct aa_challenge ch;
    struct aa_buf b;
    cr_assert_not_null(big);
    memset(big, ' ', n);
    memcpy(big, "httpsig", 7);
    cr_assert_eq(aa_challenge_parse(NULL, big, n, &ch, NULL), AA_E_LIMIT);
    free(big);

    aa_buf_init(&b, 65536);
    aa_buf_adds(&b, "httpsig; algs=(");
    for (int i = 0; i <= AA_CHALLENGE_MAX_ALGS; i++)
        aa_buf_adds(&b, i ? " \"a\"" : "\"a\"");
    aa_buf_adds(&b, ")");
    cr_assert_eq(aa_challenge_parse(NULL, b.p, b.len, &ch, NULL), AA_E_LIMIT);
    aa_buf_free(&b);
}
