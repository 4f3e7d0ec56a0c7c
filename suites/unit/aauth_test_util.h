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

/* PROFILE#2.12 Example A (hwk GET) and Example B (jwks Mode 2 POST):
 * the signed inputs, the Signature-Key values, the signatures and the
 * signature bases, byte for byte. */
static const char EX_A_TARGET[] = "/data-hwk?page=2&q=caf%C3%A9";
static const char EX_A_INPUT[] =
    "sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"signature-key\");created=1768786221";
static const char EX_A_KEY[] =
    "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\")";
static const char EX_A_SIG[] = "sig1=:0mz4JS77INzv98Czh/R9EFwFeA8anodu1YAfT1h6BILsR8x2U3iO5WK3zzzcvnV"
                              "MVT7nKAL2c4ICT2/iTJOlAw==:";
static const char EX_A_BASE[] =
    "\"@method\": GET\n"
    "\"@authority\": 127.0.0.1:8002\n"
    "\"@path\": /data-hwk\n"
    "\"@query\": ?page=2&q=caf%C3%A9\n"
    "\"signature-key\": sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" "
    "x=\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\")\n"
    "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" "
    "\"signature-key\");created=1768786221";

static const char EX_B_BODY[] =
    "request_type=auth&scope=profile+email&redirect_uri=http%3A%2F%2F127.0.0.1%3A8001%2Fcallback";
static const char EX_B_DIGEST[] = "sha-256=:98weli1grwG/C86K4Gec2mtNfUmrqXo0H5+0dU95U2I=:";
static const char EX_B_NONCE[] = "YWF1dGgtbm9uY2UtMDAwMQ";
static const char EX_B_INPUT[] = "sig1=(\"@method\" \"@authority\" \"@path\" \"content-type\" "
                                "\"content-digest\" \"nonce\" \"signature-key\");created=1768786300";
static const char EX_B_KEY[] =
    "sig1=(scheme=jwks id=\"http://127.0.0.1:8001\" kid=\"key-1\" well-known=\"aauth-agent\")";
static const char EX_B_SIG[] = "sig1=:lTQaKbeOV2LzhI40sfDEPPAFa/ml7o4FENMHGnmNae6dsT1GY0TyCqGczPXzYqa2"
                              "e+CGTtDJ7vHgkEvUJcSXAA==:";
static const char EX_B_BASE[] =
    "\"@method\": POST\n"
    "\"@authority\": 127.0.0.1:8003\n"
    "\"@path\": /agent/token\n"
    "\"content-type\": application/x-www-form-urlencoded\n"
    "\"content-digest\": sha-256=:98weli1grwG/C86K4Gec2mtNfUmrqXo0H5+0dU95U2I=:\n"
    "\"nonce\": YWF1dGgtbm9uY2UtMDAwMQ\n"
    "\"signature-key\": sig1=(scheme=jwks id=\"http://127.0.0.1:8001\" kid=\"key-1\" "
    "well-known=\"aauth-agent\")\n"
    "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-type\" "
    "\"content-digest\" \"nonce\" \"signature-key\");created=1768786300";

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
