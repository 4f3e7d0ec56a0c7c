/*
 * aa_case: check results and run records (see aa_case.h).
 *
 * A result travels from a Criterion worker to the parent as JSON, so the
 * JSON form is the contract: aa_result_to_cjson() always writes every
 * member (null when absent) and aa_result_from_cjson() accepts exactly
 * that shape and nothing else (docs/report-format.md, cited "REPORT#3").
 * Design choice: the reader is strict and bounded because a crashed or
 * confused worker must surface as a clear schema error, not as a result.
 */
#include "aa_case.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------- */
static const char *const role_names[] = {"core", "agent-server", "resource", "auth-server",
                                         "delegate"};
static const char *const role_titles[] = {"Core (offline)", "Agent server", "Resource",
                                          "Auth server", "Delegate"};
static const char *const level_names[] = {"MUST", "SHOULD", "INFO"};
static const char *const outcome_names[] = {"PASS", "PASS_QUIRK", "FAIL", "WARN",
                                            "INFO", "SKIP",       "ERROR"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *aa_role_name(enum aa_role r)
{
    return (unsigned)r < N_OF(role_names) ? role_names[r] : "unknown";
}

const char *aa_role_title(enum aa_role r)
{
    return (unsigned)r < N_OF(role_titles) ? role_titles[r] : "Unknown role";
}

const char *aa_level_name(enum aa_level l)
{
    return (unsigned)l < N_OF(level_names) ? level_names[l] : "unknown";
}

const char *aa_outcome_name(enum aa_outcome o)
{
    return (unsigned)o < N_OF(outcome_names) ? outcome_names[o] : "unknown";
}

static int lookup(const char *const *names, size_t n, const char *s, int *out)
{
    if (s == NULL || out == NULL)
        return AA_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) {
            *out = (int)i;
            return AA_OK;
        }
    return AA_E_NOTFOUND;
}

int aa_role_from_name(const char *s, enum aa_role *out)
{
    int v = 0;
    int rc = out ? lookup(role_names, N_OF(role_names), s, &v) : AA_E_INVAL;
    if (rc == AA_OK)
        *out = (enum aa_role)v;
    return rc;
}

int aa_level_from_name(const char *s, enum aa_level *out)
{
    int v = 0;
    int rc = out ? lookup(level_names, N_OF(level_names), s, &v) : AA_E_INVAL;
    if (rc == AA_OK)
        *out = (enum aa_level)v;
    return rc;
}

int aa_outcome_from_name(const char *s, enum aa_outcome *out)
{
    int v = 0;
    int rc = out ? lookup(outcome_names, N_OF(outcome_names), s, &v) : AA_E_INVAL;
    if (rc == AA_OK)
        *out = (enum aa_outcome)v;
    return rc;
}

bool aa_outcome_passed(enum aa_outcome o)
{
    return o == AA_OUT_PASS || o == AA_OUT_PASS_QUIRK;
}

const char *aa_case_strerror(int code)
{
    switch (code) {
    case AA_E_CASE_SCHEMA:
        return "malformed check result or report document";
    default:
        return NULL;
    }
}

/* ---- UTF-8 --------------------------------------------------------------- */
size_t aa_case_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len;

    if (n == 0)
        return 0;
    c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    /* RFC 3629 §4: lead bytes C0, C1 and F5..FF never occur. */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, UTF-16 surrogates and values past U+10FFFF. */
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

char *aa_case_utf8_clean(const char *s)
{
    struct aa_buf b;
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    if (s == NULL)
        return NULL;
    n = strlen(s);
    aa_buf_init(&b, n * 3 + 1);
    while (n > 0) {
        uint32_t cp;
        size_t k = aa_case_utf8_next(p, n, &cp);
        if (k == 0) {
            aa_buf_adds(&b, "\xEF\xBF\xBD"); /* U+FFFD */
            k = 1;
        } else {
            aa_buf_add(&b, p, k);
        }
        p += k;
        n -= k;
    }
    return aa_buf_detach(&b, NULL);
}

/* ---- results ------------------------------------------------------------- */
int aa_result_set(char **field, const char *s)
{
    char *p = NULL;

    if (field == NULL)
        return AA_E_INVAL;
    if (s != NULL && (p = aa_strdup(s)) == NULL)
        return AA_E_NOMEM;
    free(*field);
    *field = p;
    return AA_OK;
}

int aa_result_setf(char **field, const char *fmt, ...)
{
    struct aa_buf b;
    va_list ap;
    char *p;

    if (field == NULL || fmt == NULL)
        return AA_E_INVAL;
    aa_buf_init(&b, AA_CASE_MAX_TRANSCRIPT);
    va_start(ap, fmt);
    aa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    p = aa_buf_detach(&b, NULL);
    if (p == NULL)
        return b.err ? b.err : AA_E_NOMEM;
    free(*field);
    *field = p;
    return AA_OK;
}

void aa_result_cleanup(struct aa_check_result *r)
{
    if (r == NULL)
        return;
    free(r->id);
    free(r->suite);
    free(r->title);
    free(r->spec);
    free(r->rfc);
    free(r->expected);
    free(r->actual);
    free(r->message);
    free(r->hint);
    free(r->quirk);
    free(r->transcript);
    free(r->line);
    memset(r, 0, sizeof(*r));
}

static bool nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int aa_result_init(struct aa_check_result *r, const struct aa_check_def *def)
{
    if (r == NULL)
        return AA_E_INVAL;
    memset(r, 0, sizeof(*r));
    /* A catalogue entry without these could never be reported or read back. */
    if (def == NULL || !nonempty(def->id) || !nonempty(def->suite) || !nonempty(def->title) ||
        !nonempty(def->spec))
        return AA_E_INVAL;
    r->role = def->role;
    r->level = def->level;
    r->outcome = AA_OUT_ERROR;
    if (aa_result_set(&r->id, def->id) != AA_OK || aa_result_set(&r->suite, def->suite) != AA_OK ||
        aa_result_set(&r->title, def->title) != AA_OK ||
        aa_result_set(&r->spec, def->spec) != AA_OK || aa_result_set(&r->rfc, def->rfc) != AA_OK ||
        aa_result_set(&r->expected, def->expect) != AA_OK) {
        aa_result_cleanup(r);
        return AA_E_NOMEM;
    }
    return AA_OK;
}

/* ---- JSON ---------------------------------------------------------------- */
static bool add_str(cJSON *o, const char *name, const char *s)
{
    cJSON *v;
    char *clean;

    if (s == NULL)
        return cJSON_AddNullToObject(o, name) != NULL;
    clean = aa_case_utf8_clean(s);
    if (clean == NULL)
        return false;
    v = cJSON_AddStringToObject(o, name, clean);
    free(clean);
    return v != NULL;
}

cJSON *aa_result_to_cjson(const struct aa_check_result *r)
{
    cJSON *o;
    bool ok;

    if (r == NULL || (o = cJSON_CreateObject()) == NULL)
        return NULL;
    ok = add_str(o, "id", r->id) && add_str(o, "suite", r->suite) &&
         add_str(o, "role", aa_role_name(r->role)) && add_str(o, "title", r->title) &&
         add_str(o, "level", aa_level_name(r->level)) && add_str(o, "spec", r->spec) &&
         add_str(o, "rfc", r->rfc) && add_str(o, "outcome", aa_outcome_name(r->outcome)) &&
         add_str(o, "expected", r->expected) && add_str(o, "actual", r->actual) &&
         add_str(o, "message", r->message) && add_str(o, "hint", r->hint) &&
         add_str(o, "quirk", r->quirk) &&
         cJSON_AddNumberToObject(o, "duration_ms", r->duration_ms) != NULL &&
         cJSON_AddNumberToObject(o, "test_no", r->test_no) != NULL && add_str(o, "line", r->line) &&
         add_str(o, "transcript", r->transcript);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* How a member of a result object is read back. */
enum field_kind { F_STR, F_STR_NULL, F_ROLE, F_LEVEL, F_OUTCOME, F_DURATION, F_TEST_NO };

struct field_spec {
    const char *name;
    enum field_kind kind;
    size_t off; /* offset of the char * (string kinds) */
    size_t max;
};

/* clang-format off */
#define STR_FIELD(n, k, m) {#n, k, offsetof(struct aa_check_result, n), m}
/* clang-format on */
static const struct field_spec result_fields[] = {
    STR_FIELD(id, F_STR, 256),
    STR_FIELD(suite, F_STR, 256),
    {"role", F_ROLE, 0, 0},
    STR_FIELD(title, F_STR, AA_CASE_MAX_FIELD),
    {"level", F_LEVEL, 0, 0},
    STR_FIELD(spec, F_STR, 256),
    STR_FIELD(rfc, F_STR_NULL, 256),
    {"outcome", F_OUTCOME, 0, 0},
    STR_FIELD(expected, F_STR_NULL, AA_CASE_MAX_FIELD),
    STR_FIELD(actual, F_STR_NULL, AA_CASE_MAX_FIELD),
    STR_FIELD(message, F_STR_NULL, AA_CASE_MAX_FIELD),
    STR_FIELD(hint, F_STR_NULL, AA_CASE_MAX_FIELD),
    STR_FIELD(quirk, F_STR_NULL, 256),
    {"duration_ms", F_DURATION, 0, 0},
    {"test_no", F_TEST_NO, 0, 0},
    STR_FIELD(line, F_STR_NULL, AA_CASE_MAX_FIELD),
    STR_FIELD(transcript, F_STR_NULL, AA_CASE_MAX_TRANSCRIPT),
};

#define REF_CHECK "REPORT#3.3"

static int read_field(const struct field_spec *f, const cJSON *v, struct aa_check_result *r,
                      struct aa_diag *d)
{
    switch (f->kind) {
    case F_STR:
    case F_STR_NULL: {
        char **dst = (char **)(void *)((char *)r + f->off);
        size_t len;
        if (cJSON_IsNull(v) && f->kind == F_STR_NULL)
            return AA_OK;
        if (!cJSON_IsString(v) || v->valuestring == NULL)
            return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "result member \"%s\" is not a string%s",
                           f->name, f->kind == F_STR_NULL ? " or null" : "");
        len = strlen(v->valuestring);
        if (len > f->max)
            return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK,
                           "result member \"%s\" is %zu bytes, more than the %zu allowed", f->name,
                           len, f->max);
        if (f->kind == F_STR && len == 0)
            return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "result member \"%s\" is empty",
                           f->name);
        return aa_result_set(dst, v->valuestring) == AA_OK
                   ? AA_OK
                   : aa_fail(d, AA_E_NOMEM, REF_CHECK, "out of memory reading \"%s\"", f->name);
    }
    case F_ROLE:
    case F_LEVEL:
    case F_OUTCOME: {
        int rc;
        if (!cJSON_IsString(v) || v->valuestring == NULL)
            return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "result member \"%s\" is not a string",
                           f->name);
        if (f->kind == F_ROLE)
            rc = aa_role_from_name(v->valuestring, &r->role);
        else if (f->kind == F_LEVEL)
            rc = aa_level_from_name(v->valuestring, &r->level);
        else
            rc = aa_outcome_from_name(v->valuestring, &r->outcome);
        if (rc != AA_OK)
            return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK,
                           "result member \"%s\": unknown value \"%.64s\"", f->name,
                           v->valuestring);
        return AA_OK;
    }
    case F_DURATION:
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
            return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK,
                           "result member \"duration_ms\" is not a finite number >= 0");
        r->duration_ms = v->valuedouble;
        return AA_OK;
    case F_TEST_NO:
        /* Range first so the int conversion below is defined. */
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > AA_CASE_MAX_TEST_NO ||
            v->valuedouble != (double)(int)v->valuedouble)
            return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK,
                           "result member \"test_no\" is not an integer in 0..%d",
                           AA_CASE_MAX_TEST_NO);
        r->test_no = (int)v->valuedouble;
        return AA_OK;
    }
    return aa_fail(d, AA_E_INTERNAL, REF_CHECK, "unhandled member kind");
}

int aa_result_from_cjson(const cJSON *o, struct aa_check_result *r, struct aa_diag *d)
{
    bool seen[N_OF(result_fields)] = {false};
    int rc = AA_OK;

    if (r == NULL)
        return aa_fail(d, AA_E_INVAL, REF_CHECK, "no result to fill");
    memset(r, 0, sizeof(*r));
    if (!cJSON_IsObject(o))
        return aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "a check result must be a JSON object");
    for (const cJSON *m = o->child; m != NULL; m = m->next) {
        size_t i;
        if (m->string == NULL) {
            rc = aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "result member without a name");
            goto out;
        }
        for (i = 0; i < N_OF(result_fields); i++)
            if (strcmp(result_fields[i].name, m->string) == 0)
                break;
        if (i == N_OF(result_fields)) {
            rc = aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "unknown result member \"%.64s\"",
                         m->string);
            goto out;
        }
        /* cJSON keeps duplicate names as separate children (D-29 style). */
        if (seen[i]) {
            rc = aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "duplicate result member \"%s\"",
                         m->string);
            goto out;
        }
        seen[i] = true;
        if ((rc = read_field(&result_fields[i], m, r, d)) != AA_OK)
            goto out;
    }
    for (size_t i = 0; i < N_OF(result_fields); i++)
        if (!seen[i]) {
            rc = aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK, "result member \"%s\" is missing",
                         result_fields[i].name);
            goto out;
        }
    if (r->outcome == AA_OUT_PASS_QUIRK && r->quirk == NULL) {
        rc = aa_fail(d, AA_E_CASE_SCHEMA, REF_CHECK,
                     "result \"%.64s\": outcome PASS_QUIRK must name its quirk", r->id);
        goto out;
    }
out:
    if (rc != AA_OK)
        aa_result_cleanup(r);
    return rc;
}

/* ---- runs ------------------------------------------------------------------ */
void aa_run_init(struct aa_run *run)
{
    if (run != NULL)
        memset(run, 0, sizeof(*run));
}

void aa_run_cleanup(struct aa_run *run)
{
    struct aa_run_info *in;

    if (run == NULL)
        return;
    for (size_t i = 0; i < run->n; i++)
        aa_result_cleanup(&run->v[i]);
    free(run->v);
    in = &run->info;
    free(in->tool_version);
    free(in->profile);
    for (size_t i = 0; i < in->n_targets; i++)
        free(in->targets[i].url);
    free(in->targets);
    free(in->clock_mode);
    free(in->started_at);
    for (size_t i = 0; i < in->n_quirks; i++)
        free(in->quirks[i]);
    free(in->quirks);
    memset(run, 0, sizeof(*run));
}

int aa_run_add(struct aa_run *run, struct aa_check_result *r)
{
    if (run == NULL || r == NULL || r->id == NULL)
        return AA_E_INVAL;
    for (size_t i = 0; i < run->n; i++)
        if (strcmp(run->v[i].id, r->id) == 0)
            return AA_E_INVAL;
    if (run->n >= AA_RUN_MAX_CHECKS)
        return AA_E_LIMIT;
    if (run->n == run->cap) {
        size_t ncap = run->cap ? run->cap * 2 : 32;
        struct aa_check_result *nv;
        if (ncap > AA_RUN_MAX_CHECKS)
            ncap = AA_RUN_MAX_CHECKS;
        nv = realloc(run->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return AA_E_NOMEM;
        run->v = nv;
        run->cap = ncap;
    }
    run->v[run->n++] = *r;
    memset(r, 0, sizeof(*r));
    return AA_OK;
}

int aa_run_add_target(struct aa_run *run, enum aa_role role, const char *url, bool embedded)
{
    struct aa_target_info *nt;
    char *u = NULL;

    if (run == NULL)
        return AA_E_INVAL;
    if (run->info.n_targets >= AA_RUN_MAX_TARGETS)
        return AA_E_LIMIT;
    if (url != NULL && (u = aa_strdup(url)) == NULL)
        return AA_E_NOMEM;
    nt = realloc(run->info.targets, (run->info.n_targets + 1) * sizeof(*nt));
    if (nt == NULL) {
        free(u);
        return AA_E_NOMEM;
    }
    run->info.targets = nt;
    nt[run->info.n_targets].role = role;
    nt[run->info.n_targets].url = u;
    nt[run->info.n_targets].embedded = embedded;
    run->info.n_targets++;
    return AA_OK;
}

int aa_run_add_quirk(struct aa_run *run, const char *name)
{
    char **nq;
    char *q;

    if (run == NULL || name == NULL)
        return AA_E_INVAL;
    if (run->info.n_quirks >= AA_RUN_MAX_QUIRKS)
        return AA_E_LIMIT;
    if ((q = aa_strdup(name)) == NULL)
        return AA_E_NOMEM;
    nq = realloc(run->info.quirks, (run->info.n_quirks + 1) * sizeof(*nq));
    if (nq == NULL) {
        free(q);
        return AA_E_NOMEM;
    }
    run->info.quirks = nq;
    nq[run->info.n_quirks++] = q;
    return AA_OK;
}

void aa_totals_add(struct aa_totals *t, enum aa_outcome o)
{
    t->total++;
    switch (o) {
    case AA_OUT_PASS:
        t->pass++;
        break;
    case AA_OUT_PASS_QUIRK:
        t->pass_quirk++;
        break;
    case AA_OUT_FAIL:
        t->fail++;
        break;
    case AA_OUT_WARN:
        t->warn++;
        break;
    case AA_OUT_INFO:
        t->info++;
        break;
    case AA_OUT_SKIP:
        t->skip++;
        break;
    /* An out-of-range outcome is a harness bug: count it as ERROR. */
    case AA_OUT_ERROR:
    default:
        t->error++;
        break;
    }
}

void aa_run_totals(const struct aa_run *run, struct aa_totals *t)
{
    memset(t, 0, sizeof(*t));
    if (run == NULL)
        return;
    for (size_t i = 0; i < run->n; i++)
        aa_totals_add(t, run->v[i].outcome);
}

int aa_run_exit_code(const struct aa_run *run)
{
    struct aa_totals t;
    size_t ran;

    aa_run_totals(run, &t);
    if (t.fail > 0)
        return 1;
    ran = t.total - t.skip;
    if (ran == 0)
        return 4;
    if (t.error == ran)
        return 3;
    return 0;
}
