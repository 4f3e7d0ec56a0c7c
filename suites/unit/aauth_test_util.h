/* Shared helpers for the test_aauth_*.c suites (header-only: each suite is
 * its own executable linking aa_aauth only). */
#ifndef AAUTH_TEST_UTIL_H
#define AAUTH_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "aauth/aa_aauth.h"

/* RFC 8032 §7.1 TEST 1 secret (PROFILE#2.12). */
static const uint8_t aauth_test1_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

#define AAUTH_TEST1_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define AAUTH_TEST1_JKT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

/* Parse vectors/aauth/<name>; the caller cJSON_Delete()s the result. */
static inline cJSON *aauth_load_vectors(const char *name)
{
    char path[1024];
    char *text = NULL;
    size_t len = 0;
    cJSON *root;

    cr_assert_eq(aa_snprintf(path, sizeof(path), "%s/aauth/%s", AA_VECTORS_DIR, name), AA_OK);
    cr_assert_eq(aa_read_file(path, 1024 * 1024, &text, &len), AA_OK, "cannot read %s", path);
    root = cJSON_ParseWithLength(text, len);
    free(text);
    cr_assert_not_null(root, "%s is not JSON", path);
    return root;
}

static inline const char *aauth_jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline int aauth_jint(const cJSON *o, const char *name, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/* A frozen clock for the injectable-clock APIs. */
struct aauth_test_clock {
    int64_t now;
};
static inline int64_t aauth_test_clock_now(void *ctx)
{
    return ((struct aauth_test_clock *)ctx)->now;
}

#endif
