/* Conformance data model: names, results, JSON round trip, runs, exit status. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "case/aa_case.h"

static const struct aa_check_def def_typ = {"delegation.agent-token.typ",
                                            "delegation",
                                            "Agent token header typ",
                                            AA_ROLE_AGENT_SERVER,
                                            AA_LEVEL_MUST,
                                            "PROFILE#7.6",
                                            "RFC7515#4.1.9",
                                            "typ is agent+jwt"};

static void mk(struct aa_check_result *r, const char *id, enum aa_outcome o)
{
    struct aa_check_def d = def_typ;
    d.id = id;
    cr_assert_eq(aa_result_init(r, &d), AA_OK);
    r->outcome = o;
    if (o == AA_OUT_PASS_QUIRK)
        cr_assert_eq(aa_result_set(&r->quirk, "q"), AA_OK);
}

static void add(struct aa_run *run, const char *id, enum aa_outcome o)
{
    struct aa_check_result r;
    mk(&r, id, o);
    cr_assert_eq(aa_run_add(run, &r), AA_OK);
}

/* ---- names ------------------------------------------------------------- */
Test(case_names, roles_round_trip)
{
    static const char *names[] = {"core", "agent-server", "resource", "auth-server", "delegate"};
    for (int i = AA_ROLE_NONE; i <= AA_ROLE_DELEGATE; i++) {
        enum aa_role r = AA_ROLE_NONE;
        cr_assert_str_eq(aa_role_name((enum aa_role)i), names[i]);
        cr_assert_eq(aa_role_from_name(names[i], &r), AA_OK);
        cr_assert_eq((int)r, i);
        cr_assert_neq(strcmp(aa_role_title((enum aa_role)i), "Unknown role"), 0);
    }
    cr_assert_str_eq(aa_role_title(AA_ROLE_AGENT_SERVER), "Agent server");
    cr_assert_str_eq(aa_role_name((enum aa_role)99), "unknown");
}

Test(case_names, unknown_and_null_names_rejected)
{
    enum aa_role r = AA_ROLE_RESOURCE;
    enum aa_outcome o = AA_OUT_PASS;
    enum aa_level l = AA_LEVEL_MUST;
    cr_assert_eq(aa_role_from_name("Resource", &r), AA_E_NOTFOUND); /* case-sensitive */
    cr_assert_eq(r, AA_ROLE_RESOURCE, "output untouched on failure");
    cr_assert_eq(aa_role_from_name("unknown", &r), AA_E_NOTFOUND);
    cr_assert_eq(aa_role_from_name(NULL, &r), AA_E_INVAL);
    cr_assert_eq(aa_outcome_from_name("pass", &o), AA_E_NOTFOUND);
    cr_assert_eq(aa_outcome_from_name("PASS ", &o), AA_E_NOTFOUND);
    cr_assert_eq(aa_outcome_from_name("PASS", NULL), AA_E_INVAL);
    cr_assert_eq(aa_level_from_name("MAY", &l), AA_E_NOTFOUND);
}

Test(case_names, outcomes_and_levels_round_trip)
{
    static const char *on[] = {"PASS", "PASS_QUIRK", "FAIL", "WARN", "INFO", "SKIP", "ERROR"};
    static const char *ln[] = {"MUST", "SHOULD", "INFO"};
    for (int i = 0; i < 7; i++) {
        enum aa_outcome o = AA_OUT_ERROR;
        cr_assert_str_eq(aa_outcome_name((enum aa_outcome)i), on[i]);
        cr_assert_eq(aa_outcome_from_name(on[i], &o), AA_OK);
        cr_assert_eq((int)o, i);
    }
    for (int i = 0; i < 3; i++) {
        enum aa_level l = AA_LEVEL_INFO;
        cr_assert_str_eq(aa_level_name((enum aa_level)i), ln[i]);
        cr_assert_eq(aa_level_from_name(ln[i], &l), AA_OK);
        cr_assert_eq((int)l, i);
    }
    cr_assert_str_eq(aa_outcome_name((enum aa_outcome)7), "unknown");
    cr_assert_str_eq(aa_level_name((enum aa_level) - 1), "unknown");
}

Test(case_names, only_pass_and_pass_quirk_count_as_passed)
{
    cr_assert(aa_outcome_passed(AA_OUT_PASS));
    cr_assert(aa_outcome_passed(AA_OUT_PASS_QUIRK));
    cr_assert_not(aa_outcome_passed(AA_OUT_SKIP));
    cr_assert_not(aa_outcome_passed(AA_OUT_WARN));
    cr_assert_not(aa_outcome_passed(AA_OUT_INFO));
    cr_assert_not(aa_outcome_passed(AA_OUT_ERROR));
    cr_assert_not(aa_outcome_passed(AA_OUT_FAIL));
}

Test(case_names, strerror_reaches_case_table)
{
    cr_assert_str_eq(aa_strerror(AA_E_CASE_SCHEMA), "malformed check result or report document");
    cr_assert_null(aa_case_strerror(-751));
}

/* ---- UTF-8 -------------------------------------------------------------- */
Test(case_utf8, decodes_valid_and_rejects_invalid)
{
    uint32_t cp = 0;
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"A", 1, &cp), 1);
    cr_assert_eq(cp, 'A');
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xC3\xA9", 2, &cp), 2);
    cr_assert_eq(cp, 0xE9);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xE2\x9C\x93", 3, &cp), 3);
    cr_assert_eq(cp, 0x2713);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xF0\x9F\x93\xA4", 4, &cp), 4);
    cr_assert_eq(cp, 0x1F4E4);
    /* overlong '/', overlong 3-byte, surrogate, > U+10FFFF, lone continuation, truncated */
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xC0\xAF", 2, &cp), 0);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xE0\x80\xAF", 3, &cp), 0);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xED\xA0\x80", 3, &cp), 0);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xF4\x90\x80\x80", 4, &cp), 0);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\x80", 1, &cp), 0);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xE2\x9C", 2, &cp), 0);
    cr_assert_eq(aa_case_utf8_next((const unsigned char *)"\xE2\x41\x93", 3, &cp), 0);
}

Test(case_utf8, clean_replaces_each_bad_byte)
{
    char *s = aa_case_utf8_clean("a\xff"
                                 "b\xE2\x9C\x93\xC0");
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "a\xEF\xBF\xBD"
                        "b\xE2\x9C\x93\xEF\xBF\xBD");
    free(s);
    cr_assert_null(aa_case_utf8_clean(NULL));
}

/* ---- results ------------------------------------------------------------- */
Test(case_result, init_copies_definition_and_starts_as_error)
{
    struct aa_check_result r;
    cr_assert_eq(aa_result_init(&r, &def_typ), AA_OK);
    cr_assert_str_eq(r.id, def_typ.id);
    cr_assert_neq(r.id, def_typ.id, "the string is copied, not borrowed");
    cr_assert_str_eq(r.suite, "delegation");
    cr_assert_str_eq(r.title, "Agent token header typ");
    cr_assert_str_eq(r.spec, "PROFILE#7.6");
    cr_assert_str_eq(r.rfc, "RFC7515#4.1.9");
    cr_assert_str_eq(r.expected, "typ is agent+jwt");
    cr_assert_eq(r.role, AA_ROLE_AGENT_SERVER);
    cr_assert_eq(r.level, AA_LEVEL_MUST);
    cr_assert_eq(r.outcome, AA_OUT_ERROR, "a check that records nothing is not a pass");
    cr_assert_null(r.actual);
    cr_assert_null(r.line);
    cr_assert_eq(r.test_no, 0);
    aa_result_cleanup(&r);
    cr_assert_null(r.id);
}

Test(case_result, init_rejects_missing_definition)
{
    struct aa_check_result r;
    struct aa_check_def d = def_typ;
    cr_assert_eq(aa_result_init(&r, NULL), AA_E_INVAL);
    cr_assert_null(r.id);
    d.id = NULL;
    cr_assert_eq(aa_result_init(&r, &d), AA_E_INVAL);
    d = def_typ;
    d.title = "";
    cr_assert_eq(aa_result_init(&r, &d), AA_E_INVAL);
    d = def_typ;
    d.suite = NULL;
    cr_assert_eq(aa_result_init(&r, &d), AA_E_INVAL);
    d = def_typ;
    d.spec = NULL;
    cr_assert_eq(aa_result_init(&r, &d), AA_E_INVAL);
    cr_assert_null(r.id);
    d = def_typ;
    d.rfc = NULL;
    d.expect = NULL;
    cr_assert_eq(aa_result_init(&r, &d), AA_OK, "rfc and expect are optional");
    aa_result_cleanup(&r);
    cr_assert_eq(aa_result_init(NULL, &def_typ), AA_E_INVAL);
}

Test(case_result, set_and_setf_replace_and_clear)
{
    char *f = NULL;
    cr_assert_eq(aa_result_set(&f, "one"), AA_OK);
    cr_assert_str_eq(f, "one");
    cr_assert_eq(aa_result_setf(&f, "status %d, expected %s", 200, "401"), AA_OK);
    cr_assert_str_eq(f, "status 200, expected 401");
    cr_assert_eq(aa_result_set(&f, NULL), AA_OK);
    cr_assert_null(f);
    cr_assert_eq(aa_result_set(NULL, "x"), AA_E_INVAL);
    cr_assert_eq(aa_result_setf(&f, "%s", ""), AA_OK);
    cr_assert_str_eq(f, "");
    free(f);
}

static struct aa_check_result full_result(void)
{
    struct aa_check_result r;
    mk(&r, "neg-resource.sig-05.label-mismatch", AA_OUT_PASS_QUIRK);
    r.role = AA_ROLE_RESOURCE;
    r.level = AA_LEVEL_SHOULD;
    r.duration_ms = 12.5;
    r.test_no = 3;
    cr_assert_eq(aa_result_set(&r.actual, "200 \"ok\"\n<b>"), AA_OK);
    cr_assert_eq(aa_result_set(&r.message, "tab\there \x01 ctl"), AA_OK);
    cr_assert_eq(aa_result_set(&r.hint, "check labels"), AA_OK);
    cr_assert_eq(aa_result_set(&r.quirk, "seed-base64url-signature"), AA_OK);
    cr_assert_eq(aa_result_set(&r.transcript, "GET / HTTP/1.1\r\n\r\n\xE2\x9C\x93"), AA_OK);
    cr_assert_eq(aa_result_set(&r.line, "labels match"), AA_OK);
    return r;
}

static void assert_same(const struct aa_check_result *a, const struct aa_check_result *b)
{
#define SAME_STR(f)                                                                                \
    do {                                                                                           \
        if (a->f == NULL || b->f == NULL)                                                          \
            cr_assert(a->f == b->f, #f " null-ness differs");                                      \
        else                                                                                       \
            cr_assert_str_eq(a->f, b->f, #f);                                                      \
    } while (0)
    SAME_STR(id);
    SAME_STR(suite);
    SAME_STR(title);
    SAME_STR(spec);
    SAME_STR(rfc);
    SAME_STR(expected);
    SAME_STR(actual);
    SAME_STR(message);
    SAME_STR(hint);
    SAME_STR(quirk);
    SAME_STR(transcript);
    SAME_STR(line);
#undef SAME_STR
    cr_assert_eq(a->role, b->role);
    cr_assert_eq(a->level, b->level);
    cr_assert_eq(a->outcome, b->outcome);
    cr_assert_eq(a->test_no, b->test_no);
    cr_assert_float_eq(a->duration_ms, b->duration_ms, 1e-9);
}

Test(case_json, round_trip_through_text)
{
    struct aa_check_result r = full_result(), back;
    struct aa_diag d;
    cJSON *o = aa_result_to_cjson(&r), *parsed;
    char *text;

    cr_assert_not_null(o);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cr_assert_not_null(text);
    parsed = cJSON_Parse(text);
    cJSON_free(text);
    cr_assert_not_null(parsed);
    aa_diag_clear(&d);
    cr_assert_eq(aa_result_from_cjson(parsed, &back, &d), AA_OK, "%s", d.msg);
    assert_same(&r, &back);
    cJSON_Delete(parsed);
    aa_result_cleanup(&back);
    aa_result_cleanup(&r);
}

Test(case_json, absent_strings_are_null_and_come_back_null)
{
    struct aa_check_result r, back;
    struct aa_check_def d0 = def_typ;
    cJSON *o;
    d0.rfc = NULL;
    d0.expect = NULL;
    cr_assert_eq(aa_result_init(&r, &d0), AA_OK);
    r.outcome = AA_OUT_PASS;
    o = aa_result_to_cjson(&r);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "rfc")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "transcript")));
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "role")->valuestring, "agent-server");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "outcome")->valuestring, "PASS");
    cr_assert_eq(aa_result_from_cjson(o, &back, NULL), AA_OK);
    assert_same(&r, &back);
    cJSON_Delete(o);
    aa_result_cleanup(&back);
    aa_result_cleanup(&r);
}

Test(case_json, invalid_utf8_is_replaced_on_output)
{
    struct aa_check_result r;
    cJSON *o;
    mk(&r, "x", AA_OUT_FAIL);
    cr_assert_eq(aa_result_set(&r.actual, "bad \xff byte"), AA_OK);
    o = aa_result_to_cjson(&r);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "actual")->valuestring,
                     "bad \xEF\xBF\xBD byte");
    cJSON_Delete(o);
    aa_result_cleanup(&r);
}

/* Parse |json|, expect AA_E_CASE_SCHEMA mentioning |needle|, r left zeroed. */
static void expect_bad(const char *json, const char *needle)
{
    struct aa_check_result r;
    struct aa_diag d;
    cJSON *o = cJSON_Parse(json);

    cr_assert_not_null(o, "test JSON must parse: %s", json);
    aa_diag_clear(&d);
    r.id = (char *)"garbage";
    cr_assert_eq(aa_result_from_cjson(o, &r, &d), AA_E_CASE_SCHEMA, "accepted: %s", json);
    cr_assert_null(r.id, "result zeroed on failure");
    cr_assert_null(r.suite);
    cr_assert(strstr(d.msg, needle) != NULL, "diag \"%s\" lacks \"%s\"", d.msg, needle);
    cr_assert_str_eq(d.ref, "REPORT#3.3");
    cJSON_Delete(o);
}

/* A valid object with one member replaced: "@@" marks the spot. */
static char *variant(const char *member_json)
{
    static const char base[] =
        "{\"id\":\"a.b\",\"suite\":\"s\",\"role\":\"resource\",\"title\":\"t\",\"level\":\"MUST\","
        "\"spec\":\"PROFILE#9\",\"rfc\":null,\"outcome\":\"PASS\",\"expected\":null,"
        "\"actual\":null,\"message\":null,\"hint\":null,\"quirk\":null,\"duration_ms\":1,"
        "\"test_no\":0,\"line\":null,\"transcript\":null@@}";
    size_t n = strlen(base) + strlen(member_json) + 1;
    char *s = malloc(n);
    const char *at = strstr(base, "@@");
    cr_assert_not_null(s);
    memcpy(s, base, (size_t)(at - base));
    memcpy(s + (at - base), member_json, strlen(member_json));
    memcpy(s + (at - base) + strlen(member_json), at + 2, strlen(at + 2) + 1);
    return s;
}

Test(case_json, base_variant_is_valid)
{
    /* The negative cases below differ from this accepted object in one member. */
    struct aa_check_result r;
    char *s = variant("");
    cJSON *o = cJSON_Parse(s);
    cr_assert_eq(aa_result_from_cjson(o, &r, NULL), AA_OK);
    cr_assert_str_eq(r.id, "a.b");
    cr_assert_eq(r.role, AA_ROLE_RESOURCE);
    cJSON_Delete(o);
    free(s);
    aa_result_cleanup(&r);
}

Test(case_json, strict_reader_rejects_malformed_results)
{
    char *s;
    expect_bad("[1]", "JSON object");
    expect_bad("{\"id\":\"a\"}", "missing");
    s = variant(",\"extra\":1");
    expect_bad(s, "unknown result member \"extra\"");
    free(s);
    s = variant(",\"id\":\"dup\"");
    expect_bad(s, "duplicate result member \"id\"");
    free(s);
}

Test(case_json, strict_reader_checks_types_and_values)
{
    static const struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"outcome\":\"PASS\"", "\"outcome\":\"pass\"", "outcome"},
        {"\"outcome\":\"PASS\"", "\"outcome\":\"PASS_QUIRK\"", "must name its quirk"},
        {"\"role\":\"resource\"", "\"role\":\"Resource\"", "role"},
        {"\"level\":\"MUST\"", "\"level\":\"MAY\"", "level"},
        {"\"level\":\"MUST\"", "\"level\":1", "level"},
        {"\"duration_ms\":1", "\"duration_ms\":-1", "duration_ms"},
        {"\"duration_ms\":1", "\"duration_ms\":\"1\"", "duration_ms"},
        {"\"test_no\":0", "\"test_no\":1.5", "test_no"},
        {"\"test_no\":0", "\"test_no\":-1", "test_no"},
        {"\"test_no\":0", "\"test_no\":10000", "test_no"},
        {"\"id\":\"a.b\"", "\"id\":\"\"", "\"id\" is empty"},
        {"\"id\":\"a.b\"", "\"id\":null", "\"id\" is not a string"},
        {"\"rfc\":null", "\"rfc\":7", "\"rfc\" is not a string or null"},
        {"\"quirk\":null", "\"quirk\":[]", "quirk"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = variant("");
        char *at = strstr(s, cases[i].from);
        struct aa_buf b;
        cr_assert_not_null(at, "case %zu", i);
        aa_buf_init(&b, 0);
        aa_buf_add(&b, s, (size_t)(at - s));
        aa_buf_adds(&b, cases[i].to);
        aa_buf_adds(&b, at + strlen(cases[i].from));
        cr_assert_eq(b.err, 0);
        expect_bad(b.p, cases[i].needle);
        aa_buf_free(&b);
        free(s);
    }
}

Test(case_json, strict_reader_bounds_lengths)
{
    /* The id bound is 256 bytes: 256 is accepted, 257 is not. */
    for (int len = 256; len <= 257; len++) {
        char *s = variant("");
        char *at = strstr(s, "\"a.b\"");
        struct aa_buf v;
        struct aa_check_result r;
        cJSON *o;

        aa_buf_init(&v, 0);
        aa_buf_add(&v, s, (size_t)(at - s) + 1);
        for (int i = 0; i < len; i++)
            aa_buf_addc(&v, 'a');
        aa_buf_adds(&v, at + 4);
        cr_assert_eq(v.err, 0);
        if (len == 256) {
            o = cJSON_Parse(v.p);
            cr_assert_eq(aa_result_from_cjson(o, &r, NULL), AA_OK);
            cr_assert_eq(strlen(r.id), 256);
            aa_result_cleanup(&r);
            cJSON_Delete(o);
        } else {
            expect_bad(v.p, "more than the 256 allowed");
        }
        aa_buf_free(&v);
        free(s);
    }
}

Test(case_json, reader_rejects_null_inputs)
{
    struct aa_check_result r;
    cr_assert_eq(aa_result_from_cjson(NULL, &r, NULL), AA_E_CASE_SCHEMA);
    cr_assert_eq(aa_result_from_cjson(NULL, NULL, NULL), AA_E_INVAL);
    cr_assert_null(aa_result_to_cjson(NULL));
}

/* ---- runs ------------------------------------------------------------------ */
Test(case_run, add_moves_and_rejects_duplicates)
{
    struct aa_run run;
    struct aa_check_result r;

    aa_run_init(&run);
    mk(&r, "a", AA_OUT_PASS);
    cr_assert_eq(aa_run_add(&run, &r), AA_OK);
    cr_assert_null(r.id, "moved: the source is zeroed");
    cr_assert_eq(run.n, 1);
    cr_assert_str_eq(run.v[0].id, "a");

    mk(&r, "a", AA_OUT_FAIL);
    cr_assert_eq(aa_run_add(&run, &r), AA_E_INVAL, "a duplicate id is refused");
    cr_assert_str_eq(r.id, "a", "a refused result stays with the caller");
    cr_assert_eq(run.n, 1);
    aa_result_cleanup(&r);

    memset(&r, 0, sizeof(r));
    cr_assert_eq(aa_run_add(&run, &r), AA_E_INVAL, "a result without an id is refused");
    for (int i = 0; i < 100; i++) {
        char id[16];
        aa_snprintf(id, sizeof(id), "c%d", i);
        add(&run, id, AA_OUT_PASS);
    }
    cr_assert_eq(run.n, 101);
    cr_assert_str_eq(run.v[100].id, "c99");
    aa_run_cleanup(&run);
    cr_assert_eq(run.n, 0);
    cr_assert_null(run.v);
}

Test(case_run, targets_and_quirks_are_copied)
{
    struct aa_run run;
    char url[] = "http://127.0.0.1:8001";

    aa_run_init(&run);
    cr_assert_eq(aa_run_add_target(&run, AA_ROLE_AGENT_SERVER, url, true), AA_OK);
    cr_assert_eq(aa_run_add_target(&run, AA_ROLE_DELEGATE, NULL, false), AA_OK);
    url[0] = 'X';
    cr_assert_str_eq(run.info.targets[0].url, "http://127.0.0.1:8001");
    cr_assert(run.info.targets[0].embedded);
    cr_assert_null(run.info.targets[1].url);
    cr_assert_eq(run.info.n_targets, 2);
    cr_assert_eq(aa_run_add_quirk(&run, "seed-base64url-signature"), AA_OK);
    cr_assert_eq(aa_run_add_quirk(&run, NULL), AA_E_INVAL);
    cr_assert_eq(run.info.n_quirks, 1);
    cr_assert_eq(aa_result_set(&run.info.profile, "aauth-2026-01"), AA_OK);
    for (size_t i = run.info.n_targets; i < AA_RUN_MAX_TARGETS; i++)
        cr_assert_eq(aa_run_add_target(&run, AA_ROLE_RESOURCE, "https://r", false), AA_OK);
    cr_assert_eq(aa_run_add_target(&run, AA_ROLE_RESOURCE, "https://r", false), AA_E_LIMIT);
    aa_run_cleanup(&run);
}

Test(case_run, totals_count_every_outcome)
{
    struct aa_run run;
    struct aa_totals t;
    static const enum aa_outcome seq[] = {AA_OUT_PASS, AA_OUT_PASS, AA_OUT_PASS_QUIRK,
                                          AA_OUT_FAIL, AA_OUT_WARN, AA_OUT_INFO,
                                          AA_OUT_SKIP, AA_OUT_SKIP, AA_OUT_ERROR};
    aa_run_init(&run);
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        char id[8];
        aa_snprintf(id, sizeof(id), "c%zu", i);
        add(&run, id, seq[i]);
    }
    run.v[8].outcome = (enum aa_outcome)42; /* a bug elsewhere: counted as ERROR */
    add(&run, "c9", AA_OUT_ERROR);
    aa_run_totals(&run, &t);
    cr_assert_eq(t.total, 10);
    cr_assert_eq(t.pass, 2);
    cr_assert_eq(t.pass_quirk, 1);
    cr_assert_eq(t.fail, 1);
    cr_assert_eq(t.warn, 1);
    cr_assert_eq(t.info, 1);
    cr_assert_eq(t.skip, 2);
    cr_assert_eq(t.error, 2);
    aa_run_cleanup(&run);
}

Test(case_run, totals_add_counts_onto_what_is_there)
{
    struct aa_totals t = {.total = 3, .pass = 2, .fail = 1};

    aa_totals_add(&t, AA_OUT_FAIL);
    cr_assert_eq(t.total, 4);
    cr_assert_eq(t.fail, 2);
    cr_assert_eq(t.pass, 2, "other counts stay as they were");
    cr_assert_eq(t.error, 0);
    aa_totals_add(&t, (enum aa_outcome)42); /* out of range: an ERROR */
    cr_assert_eq(t.total, 5);
    cr_assert_eq(t.error, 1);
    cr_assert_eq(t.pass + t.pass_quirk + t.fail + t.warn + t.info + t.skip, 4);
}

/* Exit status for a run made of |n| outcomes. */
static int exit_for(const enum aa_outcome *o, size_t n)
{
    struct aa_run run;
    int rc;
    aa_run_init(&run);
    for (size_t i = 0; i < n; i++) {
        char id[8];
        aa_snprintf(id, sizeof(id), "c%zu", i);
        add(&run, id, o[i]);
    }
    rc = aa_run_exit_code(&run);
    aa_run_cleanup(&run);
    return rc;
}

#define EXIT_FOR(...)                                                                              \
    exit_for((const enum aa_outcome[]){__VA_ARGS__},                                               \
             sizeof((const enum aa_outcome[]){__VA_ARGS__}) / sizeof(enum aa_outcome))

Test(case_run, exit_codes)
{
    cr_assert_eq(exit_for(NULL, 0), 4, "nothing ran");
    cr_assert_eq(EXIT_FOR(AA_OUT_SKIP, AA_OUT_SKIP), 4, "everything skipped");
    cr_assert_eq(EXIT_FOR(AA_OUT_ERROR, AA_OUT_ERROR), 3, "could not test");
    cr_assert_eq(EXIT_FOR(AA_OUT_ERROR, AA_OUT_SKIP), 3, "every check that ran is ERROR");
    cr_assert_eq(EXIT_FOR(AA_OUT_PASS), 0);
    cr_assert_eq(EXIT_FOR(AA_OUT_PASS, AA_OUT_SKIP), 0);
    cr_assert_eq(EXIT_FOR(AA_OUT_PASS, AA_OUT_FAIL), 1);
    cr_assert_eq(EXIT_FOR(AA_OUT_FAIL, AA_OUT_ERROR), 1, "a FAIL outranks errors");
    cr_assert_eq(EXIT_FOR(AA_OUT_SKIP, AA_OUT_FAIL), 1);
    cr_assert_eq(EXIT_FOR(AA_OUT_WARN), 0, "WARN is not a failure");
    cr_assert_eq(EXIT_FOR(AA_OUT_INFO), 0, "INFO is not a failure");
    cr_assert_eq(EXIT_FOR(AA_OUT_PASS_QUIRK), 0);
    cr_assert_eq(EXIT_FOR(AA_OUT_PASS, AA_OUT_ERROR), 0, "some checks ran cleanly");
    cr_assert_eq(aa_run_exit_code(NULL), 4);
}
