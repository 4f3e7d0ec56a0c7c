/*
 * report.json writer (schema: reports/report.schema.json, fields in
 * docs/report-format.md). Each "checks" item is aa_result_to_cjson(), the
 * same object a Criterion worker hands to the runner, so one reader
 * (aa_result_from_cjson) accepts both.
 *
 * Design choice: the 64-bit seed is written as a decimal string, because a
 * JSON number above 2^53 silently loses precision in most consumers.
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>

static bool add_str(cJSON *o, const char *name, const char *s)
{
    cJSON *v;
    char *clean;

    if (s == NULL)
        return cJSON_AddNullToObject(o, name) != NULL;
    if ((clean = aa_case_utf8_clean(s)) == NULL)
        return false;
    v = cJSON_AddStringToObject(o, name, clean);
    free(clean);
    return v != NULL;
}

static bool add_num(cJSON *o, const char *name, double v)
{
    return cJSON_AddNumberToObject(o, name, v) != NULL;
}

static cJSON *build(const struct aa_run *run)
{
    const struct aa_run_info *in = &run->info;
    struct aa_totals t;
    cJSON *doc, *arr, *o;
    char seed[32];

    if ((doc = cJSON_CreateObject()) == NULL)
        return NULL;
    aa_snprintf(seed, sizeof(seed), "%" PRIu64, in->seed);
    if (!add_str(doc, "schema_version", AA_REPORT_SCHEMA_VERSION) ||
        !add_str(doc, "tool_version", in->tool_version ? in->tool_version : AA_VERSION) ||
        !add_str(doc, "profile", in->profile) ||
        cJSON_AddBoolToObject(doc, "dev_mode", in->dev_mode) == NULL)
        goto fail;
    if ((arr = cJSON_AddArrayToObject(doc, "targets")) == NULL)
        goto fail;
    for (size_t i = 0; i < in->n_targets; i++) {
        if ((o = cJSON_CreateObject()) == NULL)
            goto fail;
        cJSON_AddItemToArray(arr, o);
        if (!add_str(o, "role", aa_role_name(in->targets[i].role)) ||
            !add_str(o, "url", in->targets[i].url) ||
            cJSON_AddBoolToObject(o, "embedded", in->targets[i].embedded) == NULL)
            goto fail;
    }
    if ((o = cJSON_AddObjectToObject(doc, "clock")) == NULL ||
        !add_str(o, "mode", in->clock_mode) || !add_num(o, "value", (double)in->clock))
        goto fail;
    if (!add_str(doc, "seed", seed))
        goto fail;
    if ((arr = cJSON_AddArrayToObject(doc, "quirks")) == NULL)
        goto fail;
    for (size_t i = 0; i < in->n_quirks; i++) {
        cJSON *q = NULL;
        char *clean = aa_case_utf8_clean(in->quirks[i]);
        if (clean != NULL)
            q = cJSON_CreateString(clean);
        free(clean);
        if (q == NULL)
            goto fail;
        cJSON_AddItemToArray(arr, q);
    }
    if (!add_str(doc, "started_at", in->started_at) ||
        !add_num(doc, "duration_ms", in->duration_ms >= 0 ? in->duration_ms : 0))
        goto fail;
    if ((arr = cJSON_AddArrayToObject(doc, "checks")) == NULL)
        goto fail;
    for (size_t i = 0; i < run->n; i++) {
        if ((o = aa_result_to_cjson(&run->v[i])) == NULL)
            goto fail;
        cJSON_AddItemToArray(arr, o);
    }
    aa_run_totals(run, &t);
    if ((o = cJSON_AddObjectToObject(doc, "totals")) == NULL ||
        !add_num(o, "total", (double)t.total) || !add_num(o, "pass", (double)t.pass) ||
        !add_num(o, "pass_quirk", (double)t.pass_quirk) || !add_num(o, "fail", (double)t.fail) ||
        !add_num(o, "warn", (double)t.warn) || !add_num(o, "info", (double)t.info) ||
        !add_num(o, "skip", (double)t.skip) || !add_num(o, "error", (double)t.error))
        goto fail;
    if (!add_num(doc, "exit_code", aa_run_exit_code(run)))
        goto fail;
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

int aa_report_write_json(const struct aa_run *run, FILE *out)
{
    struct aa_buf b;
    cJSON *doc;
    char *text;

    if (run == NULL || out == NULL)
        return AA_E_INVAL;
    if ((doc = build(run)) == NULL)
        return AA_E_NOMEM;
    text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (text == NULL)
        return AA_E_NOMEM;
    aa_buf_init(&b, RP_MAX_DOC);
    aa_buf_adds(&b, text);
    aa_buf_addc(&b, '\n');
    cJSON_free(text);
    return rp_flush(&b, out);
}
