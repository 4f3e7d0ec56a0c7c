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

/* A diagnostic that says what failed: the code returned, a citation and a
 * message that names |what|. */
static void expect_diag(const char *name, int rc, int want, const struct aa_diag *d,
                        const char *what)
{
    cr_assert_eq(rc, want, "%s: rc %d, want %d (%s)", name, rc, want, d->msg);
    cr_assert_eq(d->code, rc, "%s: diag code %d for rc %d (%s)", name, d->code, rc, d->msg);
    cr_assert(d->ref != NULL && d->ref[0] != '\0', "%s: no citation (%s)", name, d->msg);
    cr_assert(strstr(d->msg, what) != NULL, "%s: message \"%s\" does not name %s", name, d->msg,
              what);
}

/* "httpsig; algs=(<prefix>"<n bytes of 'a'><suffix>")" */
static void algs_with_entry(struct aa_buf *b, size_t n, const char *tail)
{
    aa_buf_reset(b);
    aa_buf_adds(b, "httpsig; algs=(\"ed25519\" \"");
    for (size_t i = 0; i < n; i++)
        aa_buf_addc(b, 'a');
    aa_buf_adds(b, tail);
    aa_buf_adds(b, "\")");
    cr_assert_eq(b->err, 0);
}

/* Fuzz finding challenge-algs-limit-diag: an algs entry over the lexer's
 * bound returned AA_E_LIMIT with an empty diagnostic. */
Test(aauth_challenge, algs_entry_limit_cites)
{
    struct aa_challenge ch;
    struct aa_diag d;
    struct aa_buf b;
    char path[1024];
    char *text = NULL;
    size_t len = 0;
    int rc;

    aa_buf_init(&b, 65536);
    /* 256 bytes is the longest entry kept ... */
    algs_with_entry(&b, 256, "");
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, b.p, b.len, &ch, &d);
    cr_assert_eq(rc, AA_OK, "%s", d.msg);
    cr_assert_eq(ch.n_algs, 2);
    cr_assert_eq(strlen(ch.algs[1]), 256);
    aa_challenge_cleanup(&ch);
    /* ... counted after unescaping: 255 bytes and one \\ escape */
    algs_with_entry(&b, 255, "\\\\");
    rc = aa_challenge_parse(NULL, b.p, b.len, &ch, &d);
    cr_assert_eq(rc, AA_OK, "%s", d.msg);
    cr_assert_eq(strlen(ch.algs[1]), 256);
    cr_assert_eq(ch.algs[1][255], '\\');
    aa_challenge_cleanup(&ch);

    /* one byte more is a limit finding that names the parameter and the bound */
    algs_with_entry(&b, 257, "");
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, b.p, b.len, &ch, &d);
    expect_diag("257-byte alg", rc, AA_E_LIMIT, &d, "algs");
    cr_assert_str_eq(d.ref, "PROFILE#5");
    cr_assert(strstr(d.msg, "256") != NULL, "%s", d.msg);
    cr_assert(strstr(d.msg, "entry 2") != NULL, "%s", d.msg);
    cr_assert_eq(ch.n_algs, 0);
    cr_assert_null(ch.algs[0]);
    algs_with_entry(&b, 256, "\\\"");
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, b.p, b.len, &ch, &d);
    expect_diag("256 bytes and an escape", rc, AA_E_LIMIT, &d, "algs");
    aa_buf_free(&b);

    /* the minimized fuzz input itself */
    cr_assert_eq(aa_snprintf(path, sizeof(path), "%s/regress/fuzz_challenge/%s", AA_VECTORS_DIR,
                             "algs-string-over-256-bytes-no-diag"),
                 AA_OK);
    cr_assert_eq(aa_read_file(path, 65536, &text, &len), AA_OK, "cannot read %s", path);
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, text, len, &ch, &d);
    expect_diag(path, rc, AA_E_LIMIT, &d, "algs");
    cr_assert_str_eq(d.ref, "PROFILE#5");
    free(text);
}

/* Every way aa_challenge_parse fails fills the diagnostic. */
Test(aauth_challenge, every_failure_cites)
{
    static const struct {
        const char *in;
        int rc;
        const char *what;
    } cases[] = {
        {"httpsig; algs=(\"a\"", AA_E_CHALLENGE_SYNTAX, "algs"},
        {"httpsig; algs=(\"a\"\"b\")", AA_E_CHALLENGE_SYNTAX, "algs"},
        {"httpsig; algs=(ed25519)", AA_E_CHALLENGE_SYNTAX, "algs"},
        {"httpsig; algs=(\"a", AA_E_CHALLENGE_SYNTAX, "algs"},
        {"httpsig; algs=(\"a\x01\")", AA_E_CHALLENGE_SYNTAX, "algs"},
        {"httpsig;;", AA_E_CHALLENGE_SYNTAX, "Agent-Auth"},
        {"bearer", AA_E_CHALLENGE_NONE, "httpsig"},
        {"httpsig; identity=1", AA_E_CHALLENGE_PARAM, "identity"},
        {"httpsig; auth_server=?1", AA_E_CHALLENGE_PARAM, "auth_server"},
    };
    struct aa_challenge ch;
    struct aa_diag d;
    struct aa_buf b;
    char *big;
    int rc;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aa_diag_clear(&d);
        rc = aa_challenge_parse(NULL, cases[i].in, strlen(cases[i].in), &ch, &d);
        expect_diag(cases[i].in, rc, cases[i].rc, &d, cases[i].what);
    }

    aa_buf_init(&b, 65536);
    aa_buf_adds(&b, "httpsig; algs=(");
    for (int i = 0; i <= AA_CHALLENGE_MAX_ALGS; i++)
        aa_buf_adds(&b, i ? " \"a\"" : "\"a\"");
    aa_buf_adds(&b, ")");
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, b.p, b.len, &ch, &d);
    expect_diag("17 algs", rc, AA_E_LIMIT, &d, "algs");
    cr_assert(strstr(d.msg, "16") != NULL, "%s", d.msg);
    aa_buf_free(&b);

    big = malloc(AA_CHALLENGE_MAX_LEN + 1);
    cr_assert_not_null(big);
    memset(big, ' ', AA_CHALLENGE_MAX_LEN + 1);
    memcpy(big, "httpsig", 7);
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, big, AA_CHALLENGE_MAX_LEN + 1, &ch, &d);
    expect_diag("oversized", rc, AA_E_LIMIT, &d, "Agent-Auth");
    cr_assert(strstr(d.msg, "16384") != NULL, "%s", d.msg);
    free(big);

    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, NULL, 0, &ch, &d);
    expect_diag("NULL input", rc, AA_E_INVAL, &d, "NULL");
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, "httpsig", 7, NULL, &d);
    expect_diag("NULL output", rc, AA_E_INVAL, &d, "NULL");
}
