/*
 * aa_test_util: helpers shared by the Criterion unit suites.
 *
 * Two kinds, because of how suites link (suites/CMakeLists.txt):
 *   - static inline helpers (this header only) work in every suite,
 *     including test_<module> suites that link nothing but aa_<module> and
 *     its dependencies; include "helpers/aa_test_util.h";
 *   - helpers/aa_test_util.c is compiled into aa_test_helpers, which only
 *     the suites that link the whole library (and aauth_reference) get:
 *     test_ref_*, test_robust, test_flows, ...
 * Every helper asserts what it needs (Criterion), so a test reads as its
 * scenario.
 */
#ifndef AA_TEST_UTIL_H
#define AA_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/aa_core.h"
#include "json/aa_json.h"

/* ---- header-only: any suite ------------------------------------------------- */

/* One row of a suite's table from the error-code names its vectors use
 * ("AA_E_JWS_ALG") to the values. */
struct aa_test_code {
    const char *name;
    int code;
};

/* The value of |name| in the |n| rows of |t|; an unknown (or NULL) name
 * fails the test: a vector must not name a code the suite cannot check. */
static inline int aa_test_code_of(const struct aa_test_code *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (name != NULL && strcmp(t[i].name, name) == 0)
            return t[i].code;
    cr_assert_fail("unknown code name %s in vector", name != NULL ? name : "(null)");
    return 1;
}

#ifdef AA_VECTORS_DIR /* a compile definition of the test executables */
/* vectors/<dir>/<name> through the strict JSON intake (duplicates, UTF-8,
 * depth); the caller cJSON_Delete()s it. */
static inline cJSON *aa_test_load_json(const char *dir, const char *name)
{
    char path[512], *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    struct aa_diag d;

    cr_assert_eq(aa_snprintf(path, sizeof(path), "%s/%s/%s", AA_VECTORS_DIR, dir, name), AA_OK);
    cr_assert_eq(aa_read_file(path, 1 << 20, &text, &len), AA_OK, "read %s", path);
    aa_diag_clear(&d);
    cr_assert_eq(aa_json_parse(text, len, NULL, &root, &d), AA_OK, "%s: %s", name, d.msg);
    free(text);
    return root;
}
#endif

/* ---- helpers/aa_test_util.c: suites that link the whole library ------------- */

struct aa_http_client;
struct aa_jwk;
struct aa_ref_server;

/* |a| followed by |b|, heap-allocated (free()). */
char *aa_test_cat(const char *a, const char *b);
/* An aa_clock callback reading the struct aa_ref_clock |ctx|, so the
 * library under test and the reference servers share one (frozen) clock. */
int64_t aa_test_ref_clock(void *ctx);
/* The delegate the unit suites request agent tokens for. */
#define AA_TEST_DELEGATE_SUB "delegate-1"
/*
 * PROFILE#6.1: POST {agent}/delegate/token {"sub":AA_TEST_DELEGATE_SUB,
 * "cnf_jwk":<public |delegate|>} to the reference agent server |agent|
 * through |http|; the answer must be 200 with an agent_token, returned as
 * a heap copy (free()).
 */
char *aa_test_agent_token(struct aa_http_client *http, const struct aa_ref_server *agent,
                          const struct aa_jwk *delegate);

#endif
