/*
 * fuzz_json: strict JSON intake (harness/json/aa_json.h) over cJSON.
 * fuzz-libs: aa_json aa_core
 *
 * Every input is parsed twice: with the defaults (object root, depth 32)
 * and with the loosest options (any root, depth AA_JSON_DEPTH_CEILING).
 * Checks:
 *   1. What the validator accepts is what its contract promises: no
 *      object holds two members with the same (unescaped) name, every
 *      string and name is valid UTF-8 without NUL, nesting never exceeds
 *      the limit, and under the defaults the root is an object.
 *   2. The two option sets agree: the default parse succeeds exactly when
 *      the loose one does, the root is an object and the depth is <= 32.
 *   3. Round trip: aa_json_print() of an accepted tree is accepted again
 *      and gives an equal tree (same order, names, types, values - numbers
 *      bit for bit), unless a number overflowed
 *      to infinity (cJSON prints that as null; RFC 8259 §6 leaves such
 *      numbers to the implementation).
 *   4. aa_json_int() only ever returns integral values within +-(2^53-1),
 *      aa_json_str() only strings.
 *   5. aa_json_quote(): any valid UTF-8 text without NUL, quoted, parses
 *      back (any root) to the same bytes.
 *   6. cJSON never refuses text the validator passed (aa_json_parse then
 *      answers AA_E_NOMEM, a fault under the rejection contract of
 *      fuzz_common.h, so the fuzzer reports it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "json/aa_json.h"

AA_FUZZ_LINK_STRERROR(aa_json_strerror);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool str_ok(const char *s)
{
    return s != NULL && aa_fuzz_utf8_valid((const uint8_t *)s, strlen(s));
}

/* Walks the tree checking invariant 1; returns its container depth and
 * sets |*nonfinite| when a number is not finite. */
static int walk(const cJSON *v, bool *nonfinite)
{
    int depth = 0;

    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
        *nonfinite = true;
    if (cJSON_IsString(v))
        AA_FUZZ_CHECK(str_ok(v->valuestring), "string value is not valid UTF-8");
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;

    size_t n = 0, k = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    const char **names = cJSON_IsObject(v) && n > 1 ? malloc(n * sizeof(*names)) : NULL;
    AA_FUZZ_CHECK(!(cJSON_IsObject(v) && n > 1) || names != NULL, "malloc");
    for (const cJSON *c = v->child; c; c = c->next) {
        if (cJSON_IsObject(v)) {
            AA_FUZZ_CHECK(str_ok(c->string), "member name is not valid UTF-8");
            if (names)
                names[k++] = c->string;
        }
        int cd = walk(c, nonfinite);
        if (cd > depth)
            depth = cd;
    }
    if (names) {
        qsort(names, k, sizeof(*names), cmp_str);
        for (size_t i = 1; i < k; i++)
            AA_FUZZ_CHECK(strcmp(names[i - 1], names[i]) != 0, "duplicate member \"%s\" accepted",
                          names[i]);
        free(names);
    }
    return depth + 1;
}

/* Numbers must survive print/parse exactly: aa_json_print writes the
 * shortest text that reads back as the same double (cJSON 1.7.15's own
 * printer stops at 15 digits whenever that is "close enough", which lost
 * 9007199254740991; vectors/regress/fuzz_json). */
static bool num_eq(double a, double b)
{
    return a == b;
}

/* Linear, order-sensitive tree equality. (cJSON_Compare compares every
 * object member in both directions, which is 2^depth work on nested
 * objects: a 200-byte input of depth 32 takes minutes.) */
static bool tree_eq(const cJSON *a, const cJSON *b)
{
    if ((a->type & 0xff) != (b->type & 0xff))
        return false;
    if (cJSON_IsNumber(a))
        return num_eq(a->valuedouble, b->valuedouble);
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (!cJSON_IsObject(a) && !cJSON_IsArray(a))
        return true;
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next) {
        if (cJSON_IsObject(a) && strcmp(x->string, y->string) != 0)
            return false;
        if (!tree_eq(x, y))
            return false;
    }
    return x == NULL && y == NULL;
}

static void check_getters(const cJSON *root)
{
    if (!cJSON_IsObject(root))
        return;
    for (const cJSON *c = root->child; c; c = c->next) {
        int64_t v = 0;
        const char *s = aa_json_str(root, c->string);

        if (aa_json_int(root, c->string, &v)) {
            AA_FUZZ_CHECK(v >= -AA_JSON_INT_MAX && v <= AA_JSON_INT_MAX, "aa_json_int %lld",
                          (long long)v);
            AA_FUZZ_CHECK(cJSON_IsNumber(c) && c->valuedouble == (double)v,
                          "aa_json_int returned %lld for another value", (long long)v);
        }
        /* Lookup is case-sensitive and returns the first member of that
         * name, which (no duplicates) is |c| itself. */
        if (cJSON_IsString(c))
            AA_FUZZ_CHECK(s == c->valuestring, "aa_json_str missed a string member");
        else
            AA_FUZZ_CHECK(s == NULL, "aa_json_str returned a non-string member");
    }
}

static void check_quote(const uint8_t *data, size_t size)
{
    struct aa_buf q;
    struct aa_json_opts any = {.allow_any_root = true};
    cJSON *v = NULL;
    struct aa_diag d;
    int rc;

    if (!aa_fuzz_utf8_valid(data, size) || memchr(data, '\0', size) != NULL)
        return;
    aa_buf_init(&q, AA_BUF_DEFAULT_MAX);
    AA_FUZZ_CHECK(aa_json_quote(&q, (const char *)data, size) == AA_OK, "aa_json_quote");
    if (q.len > AA_JSON_MAX_INPUT) {
        aa_buf_free(&q);
        return;
    }
    aa_diag_clear(&d);
    rc = aa_json_parse(q.p, q.len, &any, &v, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "quoted text does not parse: %s", d.msg);
    AA_FUZZ_CHECK(cJSON_IsString(v) && strlen(v->valuestring) == size &&
                      memcmp(v->valuestring, data, size) == 0,
                  "quote/parse round trip changed the string");
    cJSON_Delete(v);
    aa_buf_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct aa_json_opts loose = {.max_depth = AA_JSON_DEPTH_CEILING, .allow_any_root = true};
    cJSON *tdef = NULL, *tany = NULL;
    struct aa_diag d;
    int rdef, rany;

    aa_diag_clear(&d);
    rdef = aa_json_parse(size ? text : "", size, NULL, &tdef, &d);
    if (rdef != AA_OK) {
        AA_FUZZ_CHECK(tdef == NULL, "failed parse returned a tree");
        aa_fuzz_check_rejection("aa_json_parse(defaults)", rdef, &d, true);
    }
    aa_diag_clear(&d);
    rany = aa_json_parse(size ? text : "", size, &loose, &tany, &d);
    if (rany != AA_OK) {
        AA_FUZZ_CHECK(tany == NULL, "failed parse returned a tree");
        aa_fuzz_check_rejection("aa_json_parse(loose)", rany, &d, true);
        AA_FUZZ_CHECK(rdef != AA_OK, "defaults accept what the loose options reject");
    } else {
        bool nonfinite = false;
        int depth = walk(tany, &nonfinite);

        AA_FUZZ_CHECK(depth <= AA_JSON_DEPTH_CEILING, "depth %d accepted", depth);
        AA_FUZZ_CHECK((rdef == AA_OK) == (cJSON_IsObject(tany) && depth <= AA_JSON_MAX_DEPTH),
                      "defaults %s a tree of depth %d (root object %d)",
                      rdef == AA_OK ? "accept" : "reject", depth, cJSON_IsObject(tany));
        if (rdef == AA_OK)
            AA_FUZZ_CHECK(tree_eq(tdef, tany), "the two parses built different trees");
        check_getters(tany);

        if (!nonfinite) {
            struct aa_buf out;
            cJSON *back = NULL;

            aa_buf_init(&out, AA_BUF_DEFAULT_MAX);
            AA_FUZZ_CHECK(aa_json_print(tany, &out) == AA_OK, "aa_json_print failed");
            aa_diag_clear(&d);
            rany = aa_json_parse(out.p, out.len, &loose, &back, &d);
            AA_FUZZ_CHECK(rany == AA_OK, "printed JSON does not parse: %s (%s)", d.msg, out.p);
            AA_FUZZ_CHECK(tree_eq(tany, back), "print/parse changed the tree: %s", out.p);
            cJSON_Delete(back);
            aa_buf_free(&out);
        }
    }
    cJSON_Delete(tdef);
    cJSON_Delete(tany);
    if (size <= 4096)
        check_quote(data, size);
    return 0;
}
