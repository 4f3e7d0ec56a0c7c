/* Strict JSON intake (RFC 8259; PROFILE#4.1 D-29 duplicates, depth 32). */
#include <criterion/criterion.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/aa_json.h"

#include "helpers/aa_test_util.h"

static int parse(const char *s, cJSON **out, struct aa_diag *d)
{
    return aa_json_parse(s, strlen(s), NULL, out, d);
}

static const struct aa_test_code vector_codes[] = {
    {"AA_OK", AA_OK},
    {"AA_E_LIMIT", AA_E_LIMIT},
    {"AA_E_JSON_SYNTAX", AA_E_JSON_SYNTAX},
    {"AA_E_JSON_DUPLICATE", AA_E_JSON_DUPLICATE},
    {"AA_E_JSON_DEPTH", AA_E_JSON_DEPTH},
    {"AA_E_JSON_TYPE", AA_E_JSON_TYPE},
    {"AA_E_JSON_UTF8", AA_E_JSON_UTF8},
};

static int code_of(const char *name)
{
    return aa_test_code_of(vector_codes, sizeof(vector_codes) / sizeof(vector_codes[0]), name);
}

static size_t unhex(const char *h, char *out, size_t cap)
{
    size_t n = strlen(h) / 2;
    cr_assert(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (char)v;
    }
    return n;
}

static cJSON *load_vectors(void)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    struct aa_diag d;
    cr_assert_eq(aa_read_file(AA_VECTORS_DIR "/jose/negative.json", 1 << 20, &text, &len), AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(aa_json_parse(text, len, NULL, &root, &d), AA_OK, "%s", d.msg);
    free(text);
    return root;
}

/* vectors/jose/negative.json "json": every text gets its expected code. */
Test(json, negative_vectors)
{
    cJSON *root = load_vectors(), *v;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "json");
    int count = 0;

    cr_assert(cJSON_IsArray(arr));
    cJSON_ArrayForEach(v, arr)
    {
        char buf[4096];
        const char *name = aa_json_str(v, "name");
        const char *in = aa_json_str(v, "input");
        const char *hex = aa_json_str(v, "input_hex");
        struct aa_json_opts o = {0, 0, cJSON_IsTrue(cJSON_GetObjectItem(v, "allow_any_root"))};
        int want = code_of(aa_json_str(v, "expect"));
        size_t n;
        cJSON *tree = NULL;
        struct aa_diag d;
        int rc;

        if (hex) {
            n = unhex(hex, buf, sizeof(buf));
        } else {
            cr_assert_not_null(in, "%s: no input", name);
            n = strlen(in);
            cr_assert(n < sizeof(buf));
            memcpy(buf, in, n);
        }
        aa_diag_clear(&d);
        rc = aa_json_parse(buf, n, &o, &tree, &d);
        cr_expect_eq(rc, want, "%s: got %d (%s) want %d", name, rc, d.msg, want);
        if (want == AA_OK) {
            cr_expect_not_null(tree, "%s", name);
        } else {
            cr_expect_null(tree, "%s", name);
            cr_expect_not_null(d.ref, "%s: no citation", name);
            cr_expect(d.msg[0] != '\0', "%s: no message", name);
        }
        cJSON_Delete(tree);
        count++;
    }
    cr_assert_geq(count, 20);
    cJSON_Delete(root);
}

Test(json, duplicate_names_cite_profile_and_name_the_member)
{
    struct aa_diag d;
    cJSON *t = NULL;
    aa_diag_clear(&d);
    cr_assert_eq(parse("{\"alg\":\"EdDSA\",\"kid\":\"k\",\"alg\":\"none\"}", &t, &d),
                 AA_E_JSON_DUPLICATE);
    cr_assert_null(t);
    cr_assert_str_eq(d.ref, "PROFILE#4.1");
    cr_assert(strstr(d.msg, "\"alg\"") != NULL, "%s", d.msg);
    cr_assert(strstr(d.msg, "offset 25") != NULL, "later occurrence named: %s", d.msg);
    /* Compared after unescaping; also the empty name. */
    cr_assert_eq(parse("{\"a\":1,\"\\u0061\":2}", &t, NULL), AA_E_JSON_DUPLICATE);
    cr_assert_eq(parse("{\"\":1,\"\":2}", &t, NULL), AA_E_JSON_DUPLICATE);
    cr_assert_eq(parse("{\"\\u00e9\":1,\"\xc3\xa9\":2}", &t, NULL), AA_E_JSON_DUPLICATE);
    /* A long or odd name is shown clipped and escaped. */
    {
        char doc[700], name[301];
        memset(name, 'n', 300);
        name[300] = '\0';
        name[0] = '\n';
        aa_snprintf(doc, sizeof(doc), "{\"\\n%s\":1,\"\\n%s\":2}", name + 1, name + 1);
        cr_assert_eq(parse(doc, &t, &d), AA_E_JSON_DUPLICATE);
        cr_assert(strstr(d.msg, "\"\\x0annnn") != NULL, "%s", d.msg);
        cr_assert(strstr(d.msg, "nnn...\"") != NULL, "%s", d.msg);
        cr_assert_lt(strlen(d.msg), AA_DIAG_MSG_MAX);
    }
    /* Not duplicates: case differs, or separate objects. */
    cr_assert_eq(parse("{\"a\":1,\"A\":2,\"o\":{\"a\":3}}", &t, NULL), AA_OK);
    cJSON_Delete(t);
}

Test(json, duplicate_found_among_many_members)
{
    struct aa_buf b;
    cJSON *t = NULL;
    aa_buf_init(&b, 0);
    aa_buf_addc(&b, '{');
    for (int i = 0; i < 20000; i++)
        aa_buf_printf(&b, "%s\"m%d\":%d", i ? "," : "", i, i);
    aa_buf_adds(&b, "}");
    cr_assert_eq(aa_json_parse(b.p, b.len, NULL, &t, NULL), AA_OK);
    cr_assert_eq(cJSON_GetArraySize(t), 20000);
    cJSON_Delete(t);
    b.len--; /* drop '}' */
    aa_buf_adds(&b, ",\"m0\":1}");
    cr_assert_eq(aa_json_parse(b.p, b.len, NULL, &t, NULL), AA_E_JSON_DUPLICATE);
    aa_buf_free(&b);
}

/* {"a": + (levels - 1) arrays + }: |levels| nested containers. */
static size_t nested(char *s, int levels)
{
    size_t n = 0;
    memcpy(s, "{\"a\":", 5);
    n = 5;
    for (int i = 1; i < levels; i++)
        s[n++] = '[';
    for (int i = 1; i < levels; i++)
        s[n++] = ']';
    s[n++] = '}';
    return n;
}

Test(json, depth_limit_is_32_by_default_and_configurable)
{
    char s[128];
    struct aa_diag d;
    struct aa_json_opts two = {2, 0, false};
    cJSON *t = NULL;
    size_t n;

    n = nested(s, 32);
    cr_assert_eq(aa_json_parse(s, n, NULL, &t, NULL), AA_OK);
    cJSON_Delete(t);
    n = nested(s, 33);
    aa_diag_clear(&d);
    cr_assert_eq(aa_json_parse(s, n, NULL, &t, &d), AA_E_JSON_DEPTH);
    cr_assert_null(t);
    cr_assert_str_eq(d.ref, "PROFILE#4.1");
    cr_assert(strstr(d.msg, "33") != NULL && strstr(d.msg, "32") != NULL, "%s", d.msg);
    n = nested(s, 2);
    cr_assert_eq(aa_json_parse(s, n, &two, &t, NULL), AA_OK);
    cJSON_Delete(t);
    n = nested(s, 3);
    cr_assert_eq(aa_json_parse(s, n, &two, &t, NULL), AA_E_JSON_DEPTH);
}

Test(json, size_limit_and_length_bound)
{
    struct aa_json_opts small = {0, 7, false};
    cJSON *t = NULL;
    const char *s = "{\"a\":1}garbage";
    cr_assert_eq(aa_json_parse(s, 7, &small, &t, NULL), AA_OK, "only |len| bytes are read");
    cr_assert(cJSON_IsObject(t));
    cJSON_Delete(t);
    cr_assert_eq(aa_json_parse("{\"a\":12}", 8, &small, &t, NULL), AA_E_LIMIT);
    cr_assert_eq(aa_json_parse(s, strlen(s), NULL, &t, NULL), AA_E_JSON_SYNTAX);
    /* A NUL byte outside a string is trailing garbage, not an end. */
    cr_assert_eq(aa_json_parse("{}\0", 3, NULL, &t, NULL), AA_E_JSON_SYNTAX);
    cr_assert_eq(aa_json_parse(NULL, 0, NULL, &t, NULL), AA_E_JSON_SYNTAX);
    cr_assert_eq(aa_json_parse("{}", 2, NULL, NULL, NULL), AA_E_INVAL);
}

Test(json, syntax_errors_name_offset_and_section)
{
    struct aa_diag d;
    cJSON *t = NULL;
    aa_diag_clear(&d);
    cr_assert_eq(parse("{\"exp\":0123}", &t, &d), AA_E_JSON_SYNTAX);
    cr_assert_str_eq(d.ref, "RFC8259#6");
    cr_assert(strstr(d.msg, "leading zero") != NULL, "%s", d.msg);
    cr_assert_eq(parse("{\"a\":\"\\ud800x\"}", &t, &d), AA_E_JSON_UTF8);
    cr_assert_str_eq(d.ref, "RFC8259#8.2");
    cr_assert_eq(parse("{\"a\":\"\t\"}", &t, &d), AA_E_JSON_SYNTAX);
    cr_assert_str_eq(d.ref, "RFC8259#7");
    cr_assert(strstr(d.msg, "0x09") != NULL, "%s", d.msg);
    cr_assert_eq(parse("{\"a\":1}  ,", &t, &d), AA_E_JSON_SYNTAX);
    cr_assert(strstr(d.msg, "offset 9") != NULL, "%s", d.msg);
    cr_assert_eq(parse("{\"a\":tru}", &t, &d), AA_E_JSON_SYNTAX);
    cr_assert_eq(parse("{\"a\":1 \"b\":2}", &t, &d), AA_E_JSON_SYNTAX);
    /* Valid surrogate pair and 4-byte UTF-8 both decode to U+1F600. */
    cr_assert_eq(parse("{\"a\":\"\\ud83d\\ude00\",\"b\":\"\xf0\x9f\x98\x80\"}", &t, &d), AA_OK);
    cr_assert_str_eq(aa_json_str(t, "a"), aa_json_str(t, "b"));
    cJSON_Delete(t);
    /* U+10FFFF is the last code point; F4 90 is beyond it. */
    cr_assert_eq(parse("{\"a\":\"\xf4\x8f\xbf\xbf\"}", &t, NULL), AA_OK);
    cJSON_Delete(t);
    cr_assert_eq(parse("{\"a\":\"\xf4\x90\x80\x80\"}", &t, NULL), AA_E_JSON_UTF8);
    cr_assert_eq(parse("{\"a\":\"\xff\"}", &t, NULL), AA_E_JSON_UTF8);
    /* Invalid UTF-8 in a member name is caught too. */
    cr_assert_eq(parse("{\"\x80\":1}", &t, NULL), AA_E_JSON_UTF8);
}

Test(json, root_type)
{
    struct aa_json_opts any = {0, 0, true};
    cJSON *t = NULL;
    cr_assert_eq(parse("\"x\"", &t, NULL), AA_E_JSON_TYPE);
    cr_assert_eq(parse(" 1", &t, NULL), AA_E_JSON_TYPE);
    cr_assert_eq(aa_json_parse(" 1 ", 3, &any, &t, NULL), AA_OK);
    cr_assert(cJSON_IsNumber(t));
    cJSON_Delete(t);
    cr_assert_eq(aa_json_parse("null", 4, &any, &t, NULL), AA_OK);
    cr_assert(cJSON_IsNull(t));
    cJSON_Delete(t);
}

Test(json, typed_getters)
{
    cJSON *t = NULL;
    int64_t v = 0;
    cr_assert_eq(parse("{\"exp\":1768789821,\"frac\":1.5,\"max\":9007199254740991,"
                       "\"big\":9007199254740992,\"neg\":-9007199254740991,\"e\":1e3,"
                       "\"five\":5.0,\"huge\":1e400,\"s\":\"5\",\"Kid\":\"K\"}",
                       &t, NULL),
                 AA_OK);
    cr_assert(aa_json_int(t, "exp", &v));
    cr_assert_eq(v, 1768789821);
    cr_assert(aa_json_int(t, "max", &v));
    cr_assert_eq(v, AA_JSON_INT_MAX);
    cr_assert(aa_json_int(t, "neg", &v));
    cr_assert_eq(v, -AA_JSON_INT_MAX);
    cr_assert(aa_json_int(t, "e", &v));
    cr_assert_eq(v, 1000);
    cr_assert(aa_json_int(t, "five", &v));
    cr_assert_eq(v, 5);
    v = 42;
    cr_assert_not(aa_json_int(t, "frac", &v));
    cr_assert_not(aa_json_int(t, "big", &v));
    cr_assert_not(aa_json_int(t, "huge", &v));
    cr_assert_not(aa_json_int(t, "s", &v));
    cr_assert_not(aa_json_int(t, "absent", &v));
    cr_assert_eq(v, 42, "untouched on failure");
    cr_assert_str_eq(aa_json_str(t, "s"), "5");
    cr_assert_null(aa_json_str(t, "exp"));
    cr_assert_null(aa_json_str(t, "kid"), "lookup is case-sensitive");
    cr_assert_str_eq(aa_json_str(t, "Kid"), "K");
    cJSON_Delete(t);
}

Test(json, print_is_compact_and_keeps_order)
{
    cJSON *t = NULL;
    struct aa_buf b;
    cr_assert_eq(parse(" { \"b\" : [ 1 , 2 ] ,\r\n \"a\" : \"x\\/y\" , \"n\" : null } ", &t, NULL),
                 AA_OK);
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_json_print(t, &b), AA_OK);
    cr_assert_str_eq(b.p, "{\"b\":[1,2],\"a\":\"x/y\",\"n\":null}");
    aa_buf_free(&b);
    cJSON_Delete(t);
}

Test(json, quote_escapes)
{
    struct aa_buf b;
    cJSON *t = NULL;
    aa_buf_init(&b, 0);
    aa_buf_adds(&b, "{\"k\":");
    cr_assert_eq(aa_json_quote(&b, "a\"b\\c\n\x01\xc3\xa9", 9), AA_OK);
    aa_buf_addc(&b, '}');
    cr_assert_str_eq(b.p, "{\"k\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"}");
    /* The quoted text is itself strict JSON and round-trips. */
    cr_assert_eq(aa_json_parse(b.p, b.len, NULL, &t, NULL), AA_OK);
    cr_assert_str_eq(aa_json_str(t, "k"), "a\"b\\c\n\x01\xc3\xa9");
    cJSON_Delete(t);
    aa_buf_free(&b);
}

Test(json, strerror_dispatch)
{
    cr_assert(strstr(aa_strerror(AA_E_JSON_DUPLICATE), "duplicate") != NULL);
    cr_assert(strstr(aa_strerror(AA_E_JSON_DEPTH), "deep") != NULL);
    cr_assert_str_eq(aa_strerror(-249), "unknown error");
}

/* ---- aa_json_print and numbers (fuzz finding json-print-precision) ---------- */

static char *print_number(double x)
{
    cJSON *n = cJSON_CreateNumber(x);
    struct aa_buf b;
    char *s;

    cr_assert_not_null(n);
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_json_print(n, &b), AA_OK, "printing %.17g", x);
    cJSON_Delete(n);
    s = aa_buf_detach(&b, NULL);
    cr_assert_not_null(s);
    return s;
}

/* Significant digits of a number text (leading and trailing zeros dropped). */
static int sig_digits(const char *s)
{
    char d[64];
    int k = 0;
    bool started = false;

    for (; *s != '\0' && *s != 'e' && *s != 'E'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        started = started || *s != '0';
        if (started && k < (int)sizeof(d))
            d[k++] = *s;
    }
    while (k > 0 && d[k - 1] == '0')
        k--;
    return k;
}

/* true when some decimal of |p| significant digits reads back as |x|: the
 * nearest such decimal or one of its two neighbours would. */
static bool some_p_digits_read_back(double x, int p)
{
    char e[64], cand[64], dig[24];
    char *at;
    int k = 0;
    unsigned long long m;
    long ex;

    snprintf(e, sizeof(e), "%.*e", p - 1, x);
    at = strchr(e, 'e');
    cr_assert_not_null(at);
    for (char *q = e; q < at; q++)
        if (*q >= '0' && *q <= '9')
            dig[k++] = *q;
    dig[k] = '\0';
    m = strtoull(dig, NULL, 10);
    ex = strtol(at + 1, NULL, 10);
    for (int delta = -1; delta <= 1; delta++) {
        snprintf(cand, sizeof(cand), "%s%llue%ld", x < 0 ? "-" : "",
                 m + (unsigned long long)(long long)delta, ex - (p - 1));
        if (strtod(cand, NULL) == x)
            return true;
    }
    return false;
}

/* Exact (bit for bit), shortest, and the same bytes as cJSON wherever
 * cJSON's own text was exact with at most 15 digits. */
static void check_number(double x)
{
    char *s = print_number(x), *c;
    cJSON *n;
    double back = strtod(s, NULL);
    int digits = sig_digits(s);
    bool integral = fabs(x) <= 9007199254740992.0 && x == (double)(int64_t)x;

    cr_assert(memcmp(&back, &x, sizeof(x)) == 0, "%.17g printed as %s reads back as %.17g", x, s,
              back);
    if (integral) {
        char want[32];
        snprintf(want, sizeof(want), "%" PRId64, (int64_t)x);
        if (x == 0 && signbit(x))
            snprintf(want, sizeof(want), "-0");
        cr_assert_str_eq(s, want, "integer %.17g", x);
    } else {
        for (int p = 1; p < digits; p++)
            cr_assert(!some_p_digits_read_back(x, p), "%.17g printed as %s, %d digits would do", x,
                      s, p);
    }
    n = cJSON_CreateNumber(x);
    c = cJSON_PrintUnformatted(n);
    cr_assert_not_null(c);
    if (fabs(x) >= DBL_MIN && strtod(c, NULL) == x && sig_digits(c) <= 15 &&
        !(integral && fabs(x) >= 1e15))
        cr_assert_str_eq(s, c, "%.17g: cJSON printed %s", x, c);
    cJSON_free(c);
    cJSON_Delete(n);
    free(s);
}

Test(json, print_int_max_is_exact)
{
    static const int64_t ints[] = {AA_JSON_INT_MAX,  -AA_JSON_INT_MAX, AA_JSON_INT_MAX - 1,
                                   (int64_t)1 << 53, 1000000000000000, 1234567890123456,
                                   2147483648,       -2147483649,      0};
    cJSON *t = NULL, *back = NULL;
    struct aa_buf b;
    char path[1024], *text = NULL;
    size_t len = 0;
    int64_t v = 0;

    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        char *s = print_number((double)ints[i]), want[32];
        snprintf(want, sizeof(want), "%" PRId64, ints[i]);
        cr_assert_str_eq(s, want);
        free(s);
    }

    /* the minimized fuzz input: {"a":9007199254740991} prints as itself */
    cr_assert_eq(aa_snprintf(path, sizeof(path),
                             "%s/regress/fuzz_json/int-max-print-precision.json", AA_VECTORS_DIR),
                 AA_OK);
    cr_assert_eq(aa_read_file(path, 4096, &text, &len), AA_OK, "cannot read %s", path);
    cr_assert_eq(aa_json_parse(text, len, NULL, &t, NULL), AA_OK);
    free(text);
    cr_assert(aa_json_int(t, "a", &v));
    cr_assert_eq(v, AA_JSON_INT_MAX);
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_json_print(t, &b), AA_OK);
    cr_assert_str_eq(b.p, "{\"a\":9007199254740991}");
    cr_assert_eq(aa_json_parse(b.p, b.len, NULL, &back, NULL), AA_OK);
    v = 0;
    cr_assert(aa_json_int(back, "a", &v));
    cr_assert_eq(v, AA_JSON_INT_MAX);
    aa_buf_free(&b);
    cJSON_Delete(back);
    cJSON_Delete(t);
}

Test(json, print_numbers_exact_and_shortest)
{
    static const double fixed[] = {0.1,
                                   0.5,
                                   1.5e10,
                                   1e-5,
                                   1e-4,
                                   1e21,
                                   1e22,
                                   1e100,
                                   1.0 / 3,
                                   2.0 / 3,
                                   123.456,
                                   -12.5,
                                   4.35,
                                   0.3,
                                   1e16,
                                   1e300,
                                   -0.0,
                                   DBL_MAX,
                                   DBL_MIN,
                                   5e-324,
                                   9007199254740993.0,
                                   9007199254740994.0,
                                   18446744073709551616.0,
                                   1e-7};
    uint64_t state = 0x9e3779b97f4a7c15u;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check_number(fixed[i]);
    for (int e = -1074; e <= 1023; e += 7) {
        check_number(ldexp(1, e));
        check_number(-nextafter(ldexp(1, e), 0));
    }
    /* random bit patterns: every finite double must survive */
    for (int i = 0; i < 20000; i++) {
        double x;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        memcpy(&x, &state, sizeof(x));
        if (isfinite(x))
            check_number(x);
    }
}

/* 2^-44: the nearest 16-digit decimal does not read back, its upper
 * neighbour does - cJSON (and a plain %.16g) fall back to 17 digits. */
Test(json, print_shortest_next_to_a_power_of_two)
{
    double x = ldexp(1, -44);
    char near16[64], *s;

    snprintf(near16, sizeof(near16), "%.16g", x);
    cr_assert_neq(strtod(near16, NULL), x, "precondition: %s reads back", near16);
    s = print_number(x);
    cr_assert_eq(strtod(s, NULL), x, "%s", s);
    cr_assert_eq(sig_digits(s), 16, "%s", s);
    cr_assert_str_neq(s, near16);
    free(s);
}

Test(json, print_non_finite_is_null)
{
    char *s = print_number(INFINITY);
    cr_assert_str_eq(s, "null");
    free(s);
    s = print_number(-INFINITY);
    cr_assert_str_eq(s, "null");
    free(s);
    s = print_number(NAN);
    cr_assert_str_eq(s, "null");
    free(s);
}

/* Apart from numbers the bytes are cJSON's compact form. */
Test(json, print_matches_cjson_compact_form)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray(), *nul = cJSON_CreateString("x");
    char bytes[256];
    struct aa_buf b;
    char *want;

    for (int i = 1; i < 256; i++)
        bytes[i - 1] = (char)i;
    bytes[255] = '\0';
    cr_assert(o && a && nul);
    cJSON_AddStringToObject(o, "all", bytes);
    cJSON_AddStringToObject(o, bytes, "as a name");
    cJSON_AddItemToObject(o, "raw", cJSON_CreateRaw("[1, 2 ,3]"));
    cJSON_AddItemToObject(o, "empty_a", cJSON_CreateArray());
    cJSON_AddItemToObject(o, "empty_o", cJSON_CreateObject());
    cJSON_AddTrueToObject(o, "t");
    cJSON_AddFalseToObject(o, "f");
    cJSON_AddNullToObject(o, "n");
    cJSON_AddNumberToObject(o, "x", -12.5);
    cJSON_AddItemToArray(a, cJSON_CreateString(""));
    cJSON_AddItemToArray(a, cJSON_CreateArray());
    cJSON_AddItemToArray(a, cJSON_CreateNumber(3));
    free(nul->valuestring); /* cJSON prints a string without text as "" */
    nul->valuestring = NULL;
    cJSON_AddItemToArray(a, nul);
    cJSON_AddItemToObject(o, "a", a);

    want = cJSON_PrintUnformatted(o);
    cr_assert_not_null(want);
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_json_print(o, &b), AA_OK);
    cr_assert_str_eq(b.p, want);
    /* a nested value prints alone, without its name or siblings */
    aa_buf_reset(&b);
    cr_assert_eq(aa_json_print(a, &b), AA_OK);
    cr_assert_str_eq(b.p, "[\"\",[],3,\"\"]");
    aa_buf_free(&b);
    cJSON_free(want);
    cJSON_Delete(o);
}

Test(json, print_failure_appends_nothing)
{
    cJSON *a = cJSON_CreateArray(), *bad = cJSON_CreateNull(), *deep, *cur;
    struct aa_buf b;

    cr_assert(a && bad);
    bad->type = cJSON_Invalid; /* cJSON refuses to print this too */
    cJSON_AddItemToArray(a, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(a, bad);
    aa_buf_init(&b, 0);
    aa_buf_adds(&b, "pre");
    cr_assert_eq(aa_json_print(a, &b), AA_E_INVAL);
    cr_assert_str_eq(b.p, "pre");
    cr_assert_eq(b.len, 3);
    cr_assert_eq(aa_json_print(NULL, &b), AA_E_INVAL);
    cr_assert_eq(aa_json_print(a, NULL), AA_E_INVAL);
    aa_buf_free(&b);
    cJSON_Delete(a);

    /* over the buffer's maximum: the sticky AA_E_LIMIT of aa_buf */
    a = cJSON_CreateString("0123456789");
    aa_buf_init(&b, 8);
    cr_assert_eq(aa_json_print(a, &b), AA_E_LIMIT);
    cr_assert_eq(b.err, AA_E_LIMIT);
    aa_buf_free(&b);
    cJSON_Delete(a);

    /* a deep tree (the walk keeps its path on the heap) */
    deep = cJSON_CreateArray();
    cur = deep;
    for (int i = 0; i < 20000; i++) {
        cJSON *c = cJSON_CreateArray();
        cr_assert_not_null(c);
        cJSON_AddItemToArray(cur, c);
        cur = c;
    }
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_json_print(deep, &b), AA_OK);
    cr_assert_eq(b.len, 40002);
    cr_assert_eq(b.p[20000], '[');
    cr_assert_eq(b.p[20001], ']');
    aa_buf_free(&b);
    cJSON_Delete(deep);
}
