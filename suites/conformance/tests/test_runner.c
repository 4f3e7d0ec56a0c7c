/*
 * Unit tests of the runner's internals: the PROFILE#9 HTTP classifier,
 * JSON comparison by value, option parsing and validation, the run file,
 * catalogue validation over hand-made catalogues, selection, and the JWKS
 * findings the suites share (suites/md_common.c). The whole runner is
 * exercised end to end by tests/cli.sh.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "runner_int.h"
#include "suites/md_common.h"

/* ---- PROFILE#9 classification ---------------------------------------------- */

static enum aa_outcome classify(int rc, long status, const char *body, long want, const char *err,
                                bool *always)
{
    struct aa_http_response r;
    struct aa_http_expect e = {0};
    struct aa_diag d;
    enum aa_outcome o;

    aa_http_response_init(&r);
    aa_diag_clear(&d);
    r.status = status;
    if (body != NULL) {
        r.body = aa_strdup(body);
        r.body_len = strlen(body);
    }
    e.status = want;
    e.error = err;
    o = aa_conf_http_classify(rc, &d, &r, &e, always, NULL, NULL);
    aa_http_response_cleanup(&r);
    return o;
}

Test(classify, transport_faults_are_error_not_failure)
{
    bool always = true;
    cr_assert_eq(classify(AA_E_HTTP_CONNECT, 0, NULL, 200, NULL, &always), AA_OUT_ERROR);
    cr_assert_not(always);
    cr_assert_eq(classify(AA_E_HTTP_RESOLVE, 0, NULL, 200, NULL, NULL), AA_OUT_ERROR);
    cr_assert_eq(classify(AA_E_HTTP_TLS, 0, NULL, 200, NULL, NULL), AA_OUT_ERROR);
    cr_assert_eq(classify(AA_E_NOMEM, 0, NULL, 200, NULL, NULL), AA_OUT_ERROR);
}

Test(classify, hang_crash_and_5xx_always_fail)
{
    bool always = false;
    cr_assert_eq(classify(AA_E_HTTP_TIMEOUT, 0, NULL, 401, NULL, &always), AA_OUT_FAIL);
    cr_assert(always);
    always = false;
    cr_assert_eq(classify(AA_E_HTTP_PROTOCOL, 0, NULL, 401, NULL, &always), AA_OUT_FAIL);
    cr_assert(always);
    always = false;
    cr_assert_eq(classify(AA_OK, 500, "{\"error\":\"server_error\"}", 401, NULL, &always),
                 AA_OUT_FAIL);
    cr_assert(always);
    always = false;
    cr_assert_eq(classify(AA_OK, 503, "", 200, NULL, &always), AA_OUT_FAIL);
    cr_assert(always);
}

Test(classify, wrong_status_fails_but_is_level_mapped)
{
    bool always = true;
    cr_assert_eq(classify(AA_OK, 200, "{}", 401, "invalid_signature", &always), AA_OUT_FAIL);
    cr_assert_not(always);
    cr_assert_eq(classify(AA_OK, 404, "", 200, NULL, NULL), AA_OUT_FAIL);
}

Test(classify, right_status_other_error_code_warns)
{
    cr_assert_eq(
        classify(AA_OK, 401, "{\"error\":\"invalid_key\"}", 401, "invalid_signature", NULL),
        AA_OUT_WARN);
    cr_assert_eq(classify(AA_OK, 401, "not json", 401, "invalid_signature", NULL), AA_OUT_WARN);
    cr_assert_eq(classify(AA_OK, 401, "{}", 401, "invalid_signature", NULL), AA_OUT_WARN);
    cr_assert_eq(
        classify(AA_OK, 401, "{\"error\":\"invalid_signature\"}", 401, "invalid_signature", NULL),
        AA_OUT_PASS);
    cr_assert_eq(classify(AA_OK, 200, "whatever", 200, NULL, NULL), AA_OUT_PASS);
}

Test(classify, alternatives)
{
    struct aa_http_response r;
    struct aa_http_expect e = {431, 400, "invalid_request", "too_large"};
    struct aa_buf why, actual;

    aa_http_response_init(&r);
    aa_buf_init(&why, 4096);
    aa_buf_init(&actual, 4096);
    r.status = 400;
    r.body = aa_strdup("{\"error\":\"too_large\"}");
    r.body_len = strlen(r.body);
    cr_assert_eq(aa_conf_http_classify(AA_OK, NULL, &r, &e, NULL, &why, &actual), AA_OUT_PASS);
    cr_assert_str_eq(actual.p, "400 with error \"too_large\"");
    r.status = 413;
    cr_assert_eq(aa_conf_http_classify(AA_OK, NULL, &r, &e, NULL, &why, NULL), AA_OUT_FAIL);
    cr_assert(strstr(why.p, "status 413, expected 431 (or 400)") != NULL, "%s", why.p);
    aa_buf_free(&why);
    aa_buf_free(&actual);
    aa_http_response_cleanup(&r);
}

/* ---- JSON by value ----------------------------------------------------------- */

static bool jeq(const char *a, const char *b, unsigned flags, char *diff, size_t cap)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    struct aa_buf d;
    bool eq;

    cr_assert(x != NULL && y != NULL);
    aa_buf_init(&d, 4096);
    eq = aa_conf_json_equal(x, y, flags, &d);
    if (diff != NULL)
        aa_snprintf(diff, cap, "%s", d.p ? d.p : "");
    aa_buf_free(&d);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

Test(json_equal, by_value_not_by_text)
{
    char diff[512];
    cr_assert(jeq("{\"a\":1,\"b\":[true,null,\"x\"]}", "{ \"b\" : [true,null,\"x\"], \"a\":1.0 }",
                  0, NULL, 0));
    cr_assert_not(jeq("{\"a\":1}", "{\"a\":2}", 0, diff, sizeof(diff)));
    cr_assert_str_eq(diff, "$.a: expected 1, got 2");
    cr_assert_not(jeq("{\"a\":{\"b\":[1,2]}}", "{\"a\":{\"b\":[1,3]}}", 0, diff, sizeof(diff)));
    cr_assert_str_eq(diff, "$.a.b[1]: expected 2, got 3");
    cr_assert_not(jeq("[true]", "[false]", 0, NULL, 0));
    cr_assert_not(jeq("[1,2]", "[1]", 0, diff, sizeof(diff)));
    cr_assert_str_eq(diff, "$: expected 2 elements, got 1");
    cr_assert_not(jeq("{\"a\":\"1\"}", "{\"a\":1}", 0, NULL, 0));
}

Test(json_equal, members_subset_and_null)
{
    char diff[512];
    cr_assert_not(jeq("{\"a\":1}", "{\"a\":1,\"b\":2}", 0, diff, sizeof(diff)));
    cr_assert_str_eq(diff, "$.b: expected (absent), got 2");
    cr_assert(jeq("{\"a\":1}", "{\"a\":1,\"b\":2}", AA_JSON_CMP_SUBSET, NULL, 0));
    cr_assert_not(jeq("{\"a\":1,\"c\":3}", "{\"a\":1,\"b\":2}", AA_JSON_CMP_SUBSET, NULL, 0));
    /* PROFILE#6.2: null counts as absent, in either document */
    cr_assert_not(jeq("{\"a\":1}", "{\"a\":1,\"d\":null}", 0, NULL, 0));
    cr_assert(jeq("{\"a\":1}", "{\"a\":1,\"d\":null}", AA_JSON_CMP_NULL_ABSENT, NULL, 0));
    cr_assert(jeq("{\"a\":1,\"d\":null}", "{\"a\":1}", AA_JSON_CMP_NULL_ABSENT, NULL, 0));
    cr_assert_not(jeq("{\"a\":1,\"d\":null}", "{\"a\":1,\"d\":\"x\"}",
                      AA_JSON_CMP_NULL_ABSENT | AA_JSON_CMP_SUBSET, NULL, 0));
}

/* ---- options ----------------------------------------------------------------- */

Test(options, listen_and_numbers)
{
    char addr[64];
    uint16_t port = 1;
    uint64_t u;

    cr_assert_eq(aa_parse_listen("127.0.0.1:8001", addr, sizeof(addr), &port), AA_OK);
    cr_assert_str_eq(addr, "127.0.0.1");
    cr_assert_eq(port, 8001);
    cr_assert_eq(aa_parse_listen("[::1]:0", addr, sizeof(addr), &port), AA_OK);
    cr_assert_str_eq(addr, "::1");
    cr_assert_eq(port, 0);
    cr_assert_neq(aa_parse_listen("::1:80", addr, sizeof(addr), &port), AA_OK);
    cr_assert_neq(aa_parse_listen("localhost", addr, sizeof(addr), &port), AA_OK);
    cr_assert_neq(aa_parse_listen(":80", addr, sizeof(addr), &port), AA_OK);
    cr_assert_neq(aa_parse_listen("127.0.0.1:65536", addr, sizeof(addr), &port), AA_OK);
    cr_assert_neq(aa_parse_listen("127.0.0.1:-1", addr, sizeof(addr), &port), AA_OK);
    cr_assert_eq(aa_parse_u64("18446744073709551615", &u), AA_OK);
    cr_assert_eq(u, UINT64_MAX);
    cr_assert_neq(aa_parse_u64("18446744073709551616", &u), AA_OK);
    cr_assert_neq(aa_parse_u64("12a", &u), AA_OK);
    cr_assert_neq(aa_parse_u64("", &u), AA_OK);
}

Test(options, values_are_validated_where_they_are_set)
{
    struct aa_rconf c;
    struct aa_diag d;

    aa_rconf_init(&c);
    aa_diag_clear(&d);
    cr_assert_eq(aa_rconf_set(&c, "no-such-option", "x", true, &d), AA_E_NOTFOUND);
    cr_assert_eq(aa_rconf_set(&c, "clock", "frozen=1768786221", true, &d), AA_OK);
    cr_assert(c.clock_frozen && c.clock_has_value && c.clock_value == 1768786221);
    cr_assert_eq(aa_rconf_set(&c, "clock", "sometimes", true, &d), AA_E_INVAL);
    cr_assert(strstr(d.msg, "now, frozen or frozen=EPOCH") != NULL, "%s", d.msg);
    cr_assert_eq(aa_rconf_set(&c, "clock", "frozen=-5", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "seed", "42", true, &d), AA_OK);
    cr_assert(c.seed_set && c.seed == 42);
    cr_assert_eq(aa_rconf_set(&c, "seed", "-1", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "jobs", "257", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "listen", "delegate=127.0.0.1:1", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "listen", "nobody=127.0.0.1:1", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "declare", "resource=Public", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "declare", "resource=public", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_set(&c, "verbose", "yes", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "suite", "", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "target-agent-server", "http://127.0.0.1:1\x01", true, &d),
                 AA_E_INVAL);
    aa_rconf_cleanup(&c);
}

static int validate_with(const char *key, const char *value, struct aa_diag *d)
{
    struct aa_rconf c;
    int rc;

    aa_rconf_init(&c);
    aa_diag_clear(d);
    rc = aa_rconf_set(&c, key, value, true, d);
    if (rc == AA_OK)
        rc = aa_rconf_validate(&c, d);
    aa_rconf_cleanup(&c);
    return rc;
}

Test(options, targets_are_identifiers)
{
    struct aa_diag d;

    cr_assert_eq(validate_with("target-agent-server", "https://agent.example", &d), AA_OK);
    cr_assert_eq(validate_with("target-agent-server", "http://127.0.0.1:8001", &d), AA_OK);
    cr_assert_eq(validate_with("target-agent-server", "http://agent.example", &d), AA_E_INVAL);
    cr_assert(strstr(d.msg, "dev mode") != NULL, "%s", d.msg);
    cr_assert_eq(validate_with("target-resource", "https://r.example/", &d), AA_E_INVAL);
    cr_assert(strstr(d.msg, "no path") != NULL, "%s", d.msg);
    cr_assert_eq(validate_with("resource-jwks-path", "data", &d), AA_E_INVAL);
    cr_assert_eq(validate_with("allow-quirk", "no-such-quirk", &d), AA_E_INVAL);
    cr_assert(strstr(d.msg, "legacy-base") != NULL, "the message lists the known quirks");
    cr_assert_eq(validate_with("allow-quirk", "legacy-base", &d), AA_OK);
    cr_assert_eq(validate_with("listen", "resource=127.0.0.1:99999", &d), AA_E_INVAL);
}

Test(options, target_and_embedding_options_conflict)
{
    struct aa_rconf c;
    struct aa_diag d;

    aa_rconf_init(&c);
    aa_diag_clear(&d);
    cr_assert_eq(aa_rconf_set(&c, "target-resource", "http://127.0.0.1:9", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_set(&c, "listen", "resource=127.0.0.1:0", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_validate(&c, &d), AA_E_INVAL);
    aa_rconf_cleanup(&c);

    aa_rconf_init(&c);
    cr_assert_eq(aa_rconf_set(&c, "target-resource", "http://127.0.0.1:9", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_validate(&c, &d), AA_OK);
    cr_assert(c.any_target && c.dev_mode);
    cr_assert_str_eq(c.roles[AA_ROLE_RESOURCE].hwk_path, "/data-hwk");
    cr_assert_str_eq(c.roles[AA_ROLE_RESOURCE].jwks_path, "/data-jwks");
    cr_assert_str_eq(c.roles[AA_ROLE_RESOURCE].auth_path, "/data-auth");
    aa_rconf_cleanup(&c);
}

Test(run_file, keys_types_and_command_line_precedence)
{
    static const char *doc =
        "{\"target-agent-server\":\"https://agent.example\",\"suite\":[\"metadata\",\"vectors\"],"
        "\"listen\":{\"resource\":\"127.0.0.1:8002\"},\"declare\":{\"resource\":[\"public\"]},"
        "\"seed\":7,\"jobs\":\"2\",\"verbose\":true,\"clock\":\"frozen=10\"}";
    struct aa_rconf c;
    struct aa_diag d;
    cJSON *o = cJSON_Parse(doc), *back;
    char *t1, *t2;

    cr_assert_not_null(o);
    aa_rconf_init(&c);
    aa_diag_clear(&d);
    cr_assert_eq(aa_rconf_apply_json(&c, o, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(c.suites.n, 2);
    cr_assert_eq(c.seed, 7);
    cr_assert_eq(c.jobs, 2);
    cr_assert(c.verbose);
    cr_assert_str_eq(c.roles[AA_ROLE_RESOURCE].listen, "127.0.0.1:8002");
    cr_assert(aa_strv_has(&c.roles[AA_ROLE_RESOURCE].declare, "public"));
    /* a repeatable option on the command line replaces the file's list */
    cr_assert_eq(aa_rconf_set(&c, "suite", "delegation", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_set(&c, "suite", "metadata", true, &d), AA_OK);
    cr_assert_eq(c.suites.n, 2);
    cr_assert_str_eq(c.suites.v[0], "delegation");
    cr_assert_eq(aa_rconf_validate(&c, &d), AA_OK, "%s", d.msg);

    /* what --print-config writes is a run file that gives the same config */
    back = aa_rconf_to_json(&c, false);
    t1 = cJSON_PrintUnformatted(back);
    {
        struct aa_rconf c2;
        cJSON *again;
        aa_rconf_init(&c2);
        cr_assert_eq(aa_rconf_apply_json(&c2, back, &d), AA_OK, "%s", d.msg);
        cr_assert_eq(aa_rconf_validate(&c2, &d), AA_OK, "%s", d.msg);
        again = aa_rconf_to_json(&c2, false);
        t2 = cJSON_PrintUnformatted(again);
        cr_assert_str_eq(t1, t2);
        cJSON_Delete(again);
        aa_rconf_cleanup(&c2);
    }
    free(t1);
    free(t2);
    cJSON_Delete(back);
    cJSON_Delete(o);
    aa_rconf_cleanup(&c);
}

Test(run_file, rejects_unknown_keys_and_wrong_types)
{
    static const char *bad[] = {"{\"target-agent\":\"https://a.example\"}",
                                "{\"suite\":7}",
                                "{\"verbose\":\"yes\"}",
                                "{\"listen\":[\"resource=127.0.0.1:1\"]}",
                                "{\"declare\":{\"resource\":\"public\"}}",
                                "{\"seed\":1.5}",
                                "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct aa_rconf c;
        struct aa_diag d;
        cJSON *o = cJSON_Parse(bad[i]);
        cr_assert_not_null(o);
        aa_rconf_init(&c);
        aa_diag_clear(&d);
        cr_assert_neq(aa_rconf_apply_json(&c, o, &d), AA_OK, "accepted %s", bad[i]);
        cr_assert(d.msg[0] != '\0');
        aa_rconf_cleanup(&c);
        cJSON_Delete(o);
    }
}

/* ---- catalogue --------------------------------------------------------------- */

#define CHK(idv, suitev, rolev)                                                                    \
    {                                                                                              \
        .id = idv, .suite = suitev, .title = "t", .role = rolev, .level = AA_LEVEL_MUST,           \
        .spec = "PROFILE#3", .file = "f.c", .lineno = __LINE__                                     \
    }

static const struct aa_check c_a = CHK("s.a", "s", AA_ROLE_AGENT_SERVER);
static const struct aa_check c_b = CHK("s.b", "s", AA_ROLE_RESOURCE);
static const struct aa_check c_dup = CHK("s.a", "s", AA_ROLE_NONE);
static const struct aa_check c_v = CHK("v.x", "v", AA_ROLE_NONE);
static const struct aa_check c_other = CHK("t.x", "t", AA_ROLE_NONE);
static const struct aa_check c_bad_id = CHK("S.Upper", "s", AA_ROLE_NONE);
static void nobody(void)
{
}

static const struct aa_conf_case case_s = {.cr_suite = "s",
                                           .name = "one",
                                           .checks = AA_CHECKS(&c_a, &c_b),
                                           .body = nobody,
                                           .file = "f.c",
                                           .lineno = 1};
static const struct aa_conf_case case_v = {.cr_suite = "v",
                                           .name = "one",
                                           .checks = AA_CHECKS(&c_v),
                                           .body = nobody,
                                           .file = "f.c",
                                           .lineno = 2};
static const struct aa_conf_case case_s_again = {.cr_suite = "s",
                                                 .name = "two",
                                                 .checks = AA_CHECKS(&c_a),
                                                 .body = nobody,
                                                 .file = "f.c",
                                                 .lineno = 3};
static const struct aa_conf_case case_mismatch = {.cr_suite = "s",
                                                  .name = "three",
                                                  .checks = AA_CHECKS(&c_other),
                                                  .body = nobody,
                                                  .file = "f.c",
                                                  .lineno = 4};

static int build(const struct aa_check *const *checks, size_t n,
                 const struct aa_conf_case *const *cases, size_t nc, struct aa_buf *err,
                 struct aa_cat *cat)
{
    aa_buf_init(err, 65536);
    return aa_cat_build(cat, checks, n, cases, nc, NULL, 0, err);
}

Test(catalogue, a_valid_catalogue_is_sorted_and_needs_are_derived)
{
    const struct aa_check *checks[] = {&c_v, &c_b, &c_a};
    const struct aa_conf_case *cases[] = {&case_v, &case_s};
    struct aa_cat cat;
    struct aa_buf err;

    cr_assert_eq(build(checks, 3, cases, 2, &err, &cat), AA_OK, "%s", err.p ? err.p : "");
    cr_assert_eq(cat.n, 3);
    cr_assert_str_eq(cat.checks[0]->id, "s.a");
    cr_assert_str_eq(cat.checks[2]->id, "v.x");
    cr_assert_eq(cat.case_needs[aa_cat_case_index(&cat, &case_s)],
                 AA_NEED(AA_ROLE_AGENT_SERVER) | AA_NEED(AA_ROLE_RESOURCE));
    cr_assert_eq(cat.case_needs[aa_cat_case_index(&cat, &case_v)], 0u);
    aa_cat_cleanup(&cat);
    aa_buf_free(&err);
}

Test(catalogue, suite_bugs_are_reported_with_their_location)
{
    struct aa_cat cat;
    struct aa_buf err;
    {
        const struct aa_check *checks[] = {&c_a, &c_b, &c_dup};
        const struct aa_conf_case *cases[] = {&case_s};
        cr_assert_eq(build(checks, 3, cases, 1, &err, &cat), AA_E_INVAL);
        cr_assert(strstr(err.p, "duplicate check id \"s.a\"") != NULL, "%s", err.p);
        cr_assert(strstr(err.p, "is not listed by any case") != NULL, "%s", err.p);
        aa_cat_cleanup(&cat);
        aa_buf_free(&err);
    }
    {
        const struct aa_check *checks[] = {&c_a, &c_b};
        const struct aa_conf_case *cases[] = {&case_s, &case_s_again};
        cr_assert_eq(build(checks, 2, cases, 2, &err, &cat), AA_E_INVAL);
        cr_assert(strstr(err.p, "listed by two cases") != NULL, "%s", err.p);
        aa_cat_cleanup(&cat);
        aa_buf_free(&err);
    }
    {
        const struct aa_check *checks[] = {&c_a, &c_b, &c_other};
        const struct aa_conf_case *cases[] = {&case_s, &case_mismatch};
        cr_assert_eq(build(checks, 3, cases, 2, &err, &cat), AA_E_INVAL);
        cr_assert(strstr(err.p, "has suite \"t\" but is recorded by case s/three") != NULL, "%s",
                  err.p);
        aa_cat_cleanup(&cat);
        aa_buf_free(&err);
    }
    {
        const struct aa_check *checks[] = {&c_bad_id};
        cr_assert_eq(build(checks, 1, NULL, 0, &err, &cat), AA_E_INVAL);
        cr_assert(strstr(err.p, "S.Upper") != NULL, "%s", err.p);
        aa_cat_cleanup(&cat);
        aa_buf_free(&err);
    }
}

static const struct aa_check f2 = {
    .id = "s.f", .suite = "s", .title = "t", .spec = "PROFILE#8", .test_no = 2, .file = "f.c"};
static const struct aa_conf_case fc = {
    .cr_suite = "s", .name = "f", .checks = AA_CHECKS(&f2), .body = nobody, .file = "f.c"};

Test(catalogue, flows_are_checked_against_their_suite)
{
    static const struct aa_flow_test one[] = {{1, "T", "T", "d", "ok"}};
    static const struct aa_flow_test wrong_no[] = {{2, "T", "T", "d", "ok"}};
    const struct aa_conf_flow good = {.suite = "s", .banner = "B", .tests = one, .n_tests = 1};
    const struct aa_conf_flow bad = {.suite = "s", .banner = "B", .tests = wrong_no, .n_tests = 1};
    const struct aa_check *checks[] = {&f2};
    const struct aa_conf_case *cases[] = {&fc};
    const struct aa_conf_flow *flows[] = {&good};
    const struct aa_conf_flow *flows_bad[] = {&bad};
    struct aa_cat cat;
    struct aa_buf err;

    aa_buf_init(&err, 65536);
    cr_assert_eq(aa_cat_build(&cat, checks, 1, cases, 1, flows, 1, &err), AA_E_INVAL);
    cr_assert(strstr(err.p, "test_no 2 but flow s has 1 tests") != NULL, "%s", err.p);
    aa_cat_cleanup(&cat);
    aa_buf_free(&err);
    aa_buf_init(&err, 65536);
    cr_assert_eq(aa_cat_build(&cat, checks, 1, cases, 1, flows_bad, 1, &err), AA_E_INVAL);
    cr_assert(strstr(err.p, "must have no = 1") != NULL, "%s", err.p);
    aa_cat_cleanup(&cat);
    aa_buf_free(&err);
}

Test(catalogue, selection_by_suite_filter_and_role_under_test)
{
    const struct aa_check *checks[] = {&c_a, &c_b, &c_v};
    const struct aa_conf_case *cases[] = {&case_s, &case_v};
    struct aa_cat cat;
    struct aa_buf err;
    struct aa_rconf conf;
    struct aa_diag d;
    const char *unknown;
    bool sel[3];

    cr_assert_eq(build(checks, 3, cases, 2, &err, &cat), AA_OK);
    aa_rconf_init(&conf);
    aa_diag_clear(&d);
    /* no target: everything (self-test) */
    cr_assert_eq(aa_cat_select(&cat, &conf, sel, &unknown), 3);
    cr_assert_null(unknown);
    /* --filter */
    aa_rconf_set(&conf, "filter", "s.*", true, &d);
    cr_assert_eq(aa_cat_select(&cat, &conf, sel, NULL), 2);
    cr_assert(sel[0] && sel[1] && !sel[2]);
    aa_strv_clear(&conf.filters);
    /* --suite nosuch */
    aa_rconf_set(&conf, "suite", "nosuch", true, &d);
    cr_assert_eq(aa_cat_select(&cat, &conf, sel, &unknown), 0);
    cr_assert_str_eq(unknown, "nosuch");
    aa_strv_clear(&conf.suites);
    /* a target: only its role; offline checks only when asked for */
    aa_rconf_set(&conf, "target-agent-server", "http://127.0.0.1:1", true, &d);
    cr_assert_eq(aa_rconf_validate(&conf, &d), AA_OK);
    cr_assert_eq(aa_cat_select(&cat, &conf, sel, NULL), 1);
    cr_assert(sel[0] && !sel[1] && !sel[2]);
    aa_rconf_set(&conf, "suite", "v", true, &d);
    aa_rconf_set(&conf, "suite", "s", true, &d);
    cr_assert_eq(aa_cat_select(&cat, &conf, sel, NULL), 2);
    cr_assert(sel[0] && !sel[1] && sel[2]);
    aa_rconf_cleanup(&conf);
    aa_cat_cleanup(&cat);
    aa_buf_free(&err);
}

Test(collect, severity_order)
{
    static const enum aa_outcome order[] = {AA_OUT_SKIP,       AA_OUT_PASS, AA_OUT_INFO,
                                            AA_OUT_PASS_QUIRK, AA_OUT_WARN, AA_OUT_ERROR,
                                            AA_OUT_FAIL};
    for (size_t i = 1; i < sizeof(order) / sizeof(order[0]); i++)
        cr_assert_lt(aa_outcome_severity(order[i - 1]), aa_outcome_severity(order[i]));
}

Test(catalogue, kebab)
{
    char out[16];
    aa_cat_kebab("neg_resource", out, sizeof(out));
    cr_assert_str_eq(out, "neg-resource");
    aa_cat_kebab("a_very_long_suite_name", out, 8);
    cr_assert_str_eq(out, "a-very-");
}

/* ---- the control channel and the instance table ------------------------------ */

Test(control, refuses_requests_without_the_token)
{
    struct aa_rconf conf, other;
    struct aa_control *ctl = NULL;
    struct aa_diag d;
    cJSON *o = NULL;
    char *saved;

    aa_rconf_init(&conf);
    aa_rconf_init(&other);
    aa_diag_clear(&d);
    cr_assert_eq(aa_control_start(NULL, &conf, &ctl, &d), AA_OK, "%s", d.msg);
    cr_assert(conf.control_url != NULL && strncmp(conf.control_url, "http://127.0.0.1:", 17) == 0);
    cr_assert(conf.control_token != NULL && strlen(conf.control_token) == 43,
              "256 random bits, base64url");
    /* with the token: an unknown server is 404 -> AA_E_NOTFOUND */
    cr_assert_eq(aa_control_call(&conf, "GET", "/v1/hits?name=agent-server&path=%2F", &o, &d),
                 AA_E_NOTFOUND, "%s", d.msg);
    cJSON_Delete(o);
    /* a wrong token is refused (401 -> AA_E_INVAL), as is none at all */
    other.control_url = aa_strdup(conf.control_url);
    other.control_token = aa_strdup("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    aa_diag_clear(&d);
    cr_assert_eq(aa_control_call(&other, "GET", "/v1/hits?name=agent-server&path=%2F", &o, &d),
                 AA_E_INVAL);
    cr_assert(strstr(d.msg, "401") != NULL, "%s", d.msg);
    {
        /* no Authorization header at all */
        struct aa_http_client *hc = aa_http_client_new(NULL);
        struct aa_http_response r;
        char url[256];
        aa_http_response_init(&r);
        aa_snprintf(url, sizeof(url), "%s/v1/hits?name=x&path=%%2F", conf.control_url);
        cr_assert_not_null(hc);
        cr_assert_eq(aa_http_get(hc, url, NULL, &r, &d), AA_OK, "%s", d.msg);
        cr_assert_eq(r.status, 401);
        aa_http_response_cleanup(&r);
        aa_http_client_free(hc);
    }
    saved = other.control_token;
    other.control_token = NULL;
    cr_assert_eq(aa_control_call(&other, "GET", "/v1/hits?name=x&path=%2F", &o, &d), AA_E_NOTFOUND,
                 "no channel configured: nothing is sent");
    other.control_token = saved;
    aa_control_stop(ctl);
    aa_rconf_cleanup(&other);
    aa_rconf_cleanup(&conf);
}

Test(instances, names_roles_and_options)
{
    struct aa_rconf c;
    struct aa_diag d;

    cr_assert(aa_inst_find("resource2") != NULL &&
              aa_inst_find("resource2")->role == AA_ROLE_RESOURCE);
    cr_assert(aa_inst_find("auth-timetravel")->per_case &&
              !aa_inst_find("auth-timetravel")->external_ok);
    cr_assert_str_eq(aa_inst_find("resource2")->implies, "auth2");
    cr_assert_null(aa_inst_find("resource3"));
    aa_rconf_init(&c);
    aa_diag_clear(&d);
    cr_assert_eq(aa_rconf_set(&c, "instance", "resource2=https://r2.example", true, &d), AA_OK,
                 "%s", d.msg);
    cr_assert_eq(aa_rconf_set(&c, "listen", "auth-consent=127.0.0.1:8006", true, &d), AA_OK);
    cr_assert_str_eq(aa_rconf_inst(&c, "resource2", NULL, false)->url, "https://r2.example");
    cr_assert_str_eq(aa_rconf_inst(&c, "auth-consent", NULL, false)->listen, "127.0.0.1:8006");
    cr_assert_eq(aa_rconf_set(&c, "instance", "auth-timetravel=https://t.example", true, &d),
                 AA_E_INVAL, "the harness plays it itself");
    cr_assert_eq(aa_rconf_set(&c, "instance", "nosuch=https://t.example", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "listen", "auth2=nowhere", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_validate(&c, &d), AA_E_INVAL, "bad --listen for an instance");
    cr_assert(strstr(d.msg, "auth2") != NULL, "%s", d.msg);
    aa_rconf_cleanup(&c);
    aa_rconf_init(&c);
    cr_assert_eq(aa_rconf_set(&c, "instance", "resource2=http://r2.example", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_validate(&c, &d), AA_E_INVAL, "http non-loopback instance");
    aa_rconf_cleanup(&c);
}

/* ---- --harness-host and --consent -------------------------------------------- */

Test(options, harness_host_is_an_address_targets_can_connect_to)
{
    struct aa_rconf c;
    struct aa_diag d;

    aa_rconf_init(&c);
    aa_diag_clear(&d);
    cr_assert_null(c.harness_host, "default: 127.0.0.1, applied by the cases");
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "192.0.2.7", true, &d), AA_OK, "%s", d.msg);
    cr_assert_str_eq(c.harness_host, "192.0.2.7");
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "[::1]", true, &d), AA_OK, "%s", d.msg);
    cr_assert_str_eq(c.harness_host, "::1", "brackets are dropped: bind wants the literal");
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "0.0.0.0", true, &d), AA_E_INVAL);
    cr_assert(strstr(d.msg, "wildcard") != NULL, "%s", d.msg);
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "::", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "harness.example", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "10.0.0", true, &d), AA_E_INVAL);
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "[]", true, &d), AA_E_INVAL);
    cr_assert_str_eq(c.harness_host, "::1", "a refused value changes nothing");
    aa_rconf_cleanup(&c);
}

Test(options, consent_mode)
{
    struct aa_rconf c;
    struct aa_diag d;
    cJSON *o;

    aa_rconf_init(&c);
    aa_diag_clear(&d);
    cr_assert_not(c.consent_manual);
    cr_assert_eq(aa_rconf_set(&c, "consent", "manual", true, &d), AA_OK);
    cr_assert(c.consent_manual);
    cr_assert_eq(aa_rconf_set(&c, "consent", "auto", true, &d), AA_OK);
    cr_assert_not(c.consent_manual);
    cr_assert_eq(aa_rconf_set(&c, "consent", "Manual", true, &d), AA_E_INVAL);
    cr_assert(strstr(d.msg, "auto") != NULL && strstr(d.msg, "manual") != NULL, "%s", d.msg);
    /* both keys survive --print-config and the runtime copy for the cases */
    cr_assert_eq(aa_rconf_set(&c, "consent", "manual", true, &d), AA_OK);
    cr_assert_eq(aa_rconf_set(&c, "harness-host", "127.0.0.2", true, &d), AA_OK);
    c.consent_tty = false;
    c.consent_why = aa_strdup("no terminal here");
    o = aa_rconf_to_json(&c, true);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "consent")->valuestring, "manual");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "harness-host")->valuestring, "127.0.0.2");
    cr_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(o, "runtime"), "consent_why")->valuestring,
        "no terminal here");
    cJSON_Delete(o);
    aa_rconf_cleanup(&c);
}

/* ---- the flow report with deselected tests ----------------------------------- */

static char *render_flow(const struct aa_run *run, const struct aa_flow_def *fl,
                         const char *const *skipped, int *ret)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    cr_assert_not_null(f);
    *ret = aa_report_print_flow_sel(run, fl, skipped, f, false);
    fclose(f);
    return buf;
}

static void add_result(struct aa_run *run, const char *id, int test_no, enum aa_outcome o)
{
    struct aa_check_def def = {0};
    struct aa_check_result r;

    def.id = id;
    def.suite = "flowx";
    def.title = id;
    def.role = AA_ROLE_RESOURCE;
    def.level = AA_LEVEL_MUST;
    def.spec = "PROFILE#8";
    cr_assert_eq(aa_result_init(&r, &def), AA_OK);
    r.outcome = o;
    r.test_no = test_no;
    cr_assert_eq(aa_run_add(run, &r), AA_OK);
}

Test(flow_report, deselected_tests_are_skipped_not_failed)
{
    static const struct aa_flow_test tests[] = {
        {1, "One", "One", "first", "one ok"},
        {2, "Two", "Two", "second", "two ok"},
        {3, "Three", "Three", "third", "three ok"},
    };
    struct aa_flow_def fl = {"flowx", "Flow X", NULL, tests, 3};
    const char *const skipped[] = {"not selected: its checks judge the agent-server", NULL, NULL};
    const char *const none[] = {NULL, NULL, NULL};
    struct aa_run run;
    char *out;
    int failed;

    aa_run_init(&run);
    add_result(&run, "flowx.two", 2, AA_OUT_PASS);
    /* TEST 1 deselected, TEST 2 passed, TEST 3 without results */
    out = render_flow(&run, &fl, skipped, &failed);
    cr_assert_eq(failed, 1, "only TEST 3 (no results, not deselected) fails:\n%s", out);
    cr_assert(strstr(out, "- TEST 1 SKIPPED: not selected: its checks judge the agent-server\n"),
              "%s", out);
    cr_assert(strstr(out, "- SKIPPED: TEST 1: One\n  Reason: not selected"), "%s", out);
    cr_assert(strstr(out, "FAILED: TEST 3: Three\n  Error: not run\n"), "%s", out);
    cr_assert(strstr(out, "Total: 3 | Passed: 1 | Failed: 1 | Skipped: 1\n"), "%s", out);
    cr_assert_null(strstr(out, "prerequisite TEST 1"), "a skipped test is no failed prerequisite");
    free(out);
    /* without the reasons the old rules hold: no results is FAILED */
    out = render_flow(&run, &fl, none, &failed);
    cr_assert_eq(failed, 2, "%s", out);
    cr_assert(strstr(out, "Total: 3 | Passed: 1 | Failed: 2\n"), "%s", out);
    cr_assert_null(strstr(out, "SKIPPED"), "%s", out);
    free(out);
    /* a deselection reason never hides results: a test that ran is judged */
    add_result(&run, "flowx.one", 1, AA_OUT_FAIL);
    out = render_flow(&run, &fl, skipped, &failed);
    cr_assert_eq(failed, 2, "%s", out);
    cr_assert(strstr(out, "TEST 1 FAILED"), "%s", out);
    free(out);
    aa_run_cleanup(&run);
}

/* ---- md_common: media types and JWKS findings ------------------------------------------- */

Test(md_common, media_type_ignores_case_parameters_and_whitespace)
{
    cr_assert(md_media_type_is("application/json", "application/json"));
    cr_assert(md_media_type_is(" Application/JSON\t; charset=utf-8", "application/json"));
    cr_assert(md_media_type_is("application/jwk-set+json;x=1", "application/jwk-set+json"));
    cr_assert_not(md_media_type_is("application/jsonx", "application/json"));
    cr_assert_not(md_media_type_is("application/json-seq", "application/json"));
    cr_assert_not(md_media_type_is("text/json", "application/json"));
    cr_assert_not(md_media_type_is("", "application/json"));
    cr_assert_not(md_media_type_is(NULL, "application/json"));
}

static void scan(const char *json, unsigned flags, struct md_jwks_scan *s)
{
    cJSON *keys = cJSON_Parse(json);

    cr_assert_not_null(keys, "%s", json);
    md_jwks_scan(keys, flags, s);
    cJSON_Delete(keys);
}

static const char hostile_keys[] =
    "[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"AA\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"AA\",\"d\":\"AA\"},"
    "{\"kty\":\"oct\",\"k\":\"AA\",\"kid\":\"\"},"
    "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"kid\":\"a\",\"x\":\"AA\"}]";

Test(md_common, jwks_scan_names_every_defect_once)
{
    struct md_jwks_scan s;

    scan(hostile_keys, 0, &s);
    cr_assert_eq(s.n, 4);
    cr_assert_str_eq(s.priv.p, "keys[1] has \"d\"; keys[2] has \"k\"");
    /* keys[3] repeats the kid of keys[0] and of keys[1]: named for each */
    cr_assert_str_eq(s.kid.p, "kid \"a\" repeats; keys[2] has no kid; kid \"a\" repeats; "
                              "kid \"a\" repeats");
    cr_assert(s.ed25519);
    md_jwks_scan_free(&s);
}

Test(md_common, jwks_scan_wording_flags)
{
    struct md_jwks_scan s;

    scan(hostile_keys, MD_JWKS_NAME_KID | MD_JWKS_REPEAT_AT, &s);
    cr_assert_str_eq(s.priv.p, "keys[1] (kid a) has \"d\"; keys[2] (kid ) has \"k\"");
    cr_assert_str_eq(s.kid.p, "kid \"a\" repeats (keys[0] and keys[1]); keys[2] has no kid; "
                              "kid \"a\" repeats (keys[0] and keys[3]); "
                              "kid \"a\" repeats (keys[1] and keys[3])");
    md_jwks_scan_free(&s);
}

Test(md_common, jwks_scan_clean_set_and_non_arrays)
{
    struct md_jwks_scan s;

    scan("[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k1\",\"x\":\"AA\"},"
         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k2\",\"x\":\"AA\",\"y\":\"AA\"}]",
         0, &s);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.priv.len, 0);
    cr_assert_eq(s.kid.len, 0);
    cr_assert(s.ed25519);
    md_jwks_scan_free(&s);

    /* no Ed25519 key: an X25519 key is OKP but not for signing */
    scan("[{\"kty\":\"OKP\",\"crv\":\"X25519\",\"kid\":\"k1\",\"x\":\"AA\"}]", 0, &s);
    cr_assert_not(s.ed25519);
    md_jwks_scan_free(&s);

    scan("{\"keys\":[]}", 0, &s); /* the document, not its "keys" array */
    cr_assert_eq(s.n, 0);
    cr_assert_eq(s.priv.len + s.kid.len, 0);
    cr_assert_not(s.ed25519);
    md_jwks_scan_free(&s);
}
