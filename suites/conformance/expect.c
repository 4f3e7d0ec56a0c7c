/*
 * expect: the comparison helpers suites use to turn an observation into
 * a recorded outcome, and the PROFILE#9 classifier for HTTP exchanges.
 *
 * Design choice: the classifier is a pure function (no recording, no
 * global state) so its table - transport fault ERROR, hang/crash/5xx
 * always FAIL, wrong status FAIL, right status with another error code
 * WARN - is unit-tested on its own and reused by suites that judge
 * several exchanges together.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json/aa_json.h"
#include "aa_client.h"
#include "runner_int.h"

#define JSON_CMP_MAX_DEPTH 64
#define VALUE_SHOWN 160

const char *aa_conf_strerror(int code)
{
    /* Strong references, so the HTTP module's and the client library's
     * names are linked; the core's weak dispatch names the rest. */
    const char *s = aa_http_strerror(code);

    if (s == NULL)
        s = aa_client_strerror(code);
    return s != NULL ? s : aa_strerror(code);
}

/* ---- JSON by value ------------------------------------------------------ */

static void show_value(struct aa_buf *out, const cJSON *v)
{
    char *s;
    size_t n;

    if (v == NULL) {
        aa_buf_adds(out, "(absent)");
        return;
    }
    if ((s = cJSON_PrintUnformatted(v)) == NULL) {
        aa_buf_adds(out, "(unprintable)");
        return;
    }
    n = strlen(s);
    if (n > VALUE_SHOWN) {
        aa_buf_add(out, s, VALUE_SHOWN);
        aa_buf_adds(out, "...");
    } else {
        aa_buf_add(out, s, n);
    }
    free(s);
}

static const cJSON *member(const cJSON *o, const char *name, unsigned flags)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (m != NULL && (flags & AA_JSON_CMP_NULL_ABSENT) && cJSON_IsNull(m))
        return NULL;
    return m;
}

static bool differ(struct aa_buf *diff, const char *path, const cJSON *e, const cJSON *a)
{
    if (diff != NULL && diff->len == 0) {
        aa_buf_printf(diff, "%s: expected ", path);
        show_value(diff, e);
        aa_buf_adds(diff, ", got ");
        show_value(diff, a);
    }
    return false;
}

static bool json_eq(const cJSON *e, const cJSON *a, unsigned flags, const char *path, int depth,
                    struct aa_buf *diff)
{
    char sub[512];

    if (depth > JSON_CMP_MAX_DEPTH)
        return differ(diff, path, e, a);
    if (e == NULL || a == NULL)
        return e == a ? true : differ(diff, path, e, a);
    if ((e->type & 0xff) != (a->type & 0xff))
        return differ(diff, path, e, a);
    if (cJSON_IsNumber(e))
        return e->valuedouble == a->valuedouble ? true : differ(diff, path, e, a);
    if (cJSON_IsString(e))
        return strcmp(e->valuestring, a->valuestring) == 0 ? true : differ(diff, path, e, a);
    if (cJSON_IsArray(e)) {
        const cJSON *x = e->child, *y = a->child;
        int i = 0;
        for (; x != NULL && y != NULL; x = x->next, y = y->next, i++) {
            aa_snprintf(sub, sizeof(sub), "%s[%d]", path, i);
            if (!json_eq(x, y, flags, sub, depth + 1, diff))
                return false;
        }
        if (x != NULL || y != NULL) {
            if (diff != NULL && diff->len == 0)
                aa_buf_printf(diff, "%s: expected %d elements, got %d", path, cJSON_GetArraySize(e),
                              cJSON_GetArraySize(a));
            return false;
        }
        return true;
    }
    if (cJSON_IsObject(e)) {
        const cJSON *m;
        cJSON_ArrayForEach(m, e)
        {
            const cJSON *x = member(e, m->string, flags);
            if (x == NULL)
                continue; /* null in expected with NULL_ABSENT: must be absent/null */
            aa_snprintf(sub, sizeof(sub), "%s.%s", path, m->string);
            if (!json_eq(x, member(a, m->string, flags), flags, sub, depth + 1, diff))
                return false;
        }
        cJSON_ArrayForEach(m, a)
        {
            const cJSON *y = member(a, m->string, flags);
            if (y == NULL)
                continue;
            if (member(e, m->string, flags) == NULL &&
                ((flags & AA_JSON_CMP_SUBSET) == 0 ||
                 cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, m->string)))) {
                aa_snprintf(sub, sizeof(sub), "%s.%s", path, m->string);
                return differ(diff, sub, NULL, y);
            }
        }
        return true;
    }
    return true; /* true, false, null: same type is the same value */
}

bool aa_conf_json_equal(const cJSON *expected, const cJSON *actual, unsigned flags,
                        struct aa_buf *diff)
{
    return json_eq(expected, actual, flags, "$", 0, diff);
}

/* ---- record helpers ----------------------------------------------------- */

static void fail_level(const struct aa_check *c, const char *expected, const char *actual,
                       const char *hint)
{
    if (hint != NULL)
        aa_check_fail(c, expected, actual, "%s", hint);
    else
        aa_check_fail(c, expected, actual, NULL);
}

bool aa_expect_str(const struct aa_check *c, const char *what, const char *expected,
                   const char *actual)
{
    if (expected != NULL && actual != NULL && strcmp(expected, actual) == 0) {
        aa_check_pass(c, "%s", actual);
        return true;
    }
    aa_check_fail(c, expected, actual != NULL ? actual : "(absent)", "%s differs",
                  what ? what : "value");
    return false;
}

bool aa_expect_int(const struct aa_check *c, const char *what, int64_t expected, int64_t actual)
{
    char e[32], a[32];

    aa_snprintf(a, sizeof(a), "%lld", (long long)actual);
    if (expected == actual) {
        aa_check_pass(c, "%s", a);
        return true;
    }
    aa_snprintf(e, sizeof(e), "%lld", (long long)expected);
    aa_check_fail(c, e, a, "%s differs", what ? what : "value");
    return false;
}

bool aa_expect_true(const struct aa_check *c, bool cond, const char *expected,
                    const char *actual_fmt, ...)
{
    struct aa_buf a;
    va_list ap;

    aa_buf_init(&a, AA_CASE_MAX_FIELD);
    if (actual_fmt != NULL) {
        va_start(ap, actual_fmt);
        aa_buf_vprintf(&a, actual_fmt, ap);
        va_end(ap);
    }
    if (cond)
        aa_check_pass(c, "%s", a.p != NULL ? a.p : "");
    else
        fail_level(c, expected, a.p, NULL);
    aa_buf_free(&a);
    return cond;
}

bool aa_expect_ok(const struct aa_check *c, int rc, const struct aa_diag *d)
{
    char text[AA_DIAG_MSG_MAX + 160];

    if (rc == AA_OK) {
        aa_check_pass(c, NULL);
        return true;
    }
    text[0] = '\0';
    if (d != NULL && d->msg[0] != '\0')
        aa_diag_format(d, text, sizeof(text));
    else
        aa_snprintf(text, sizeof(text), "%s", aa_conf_strerror(rc));
    if (aa_err_is_fault(rc))
        aa_check_error(c, "harness fault: %s: %s", aa_conf_strerror(rc), text);
    else
        aa_check_fail(c, c->expect, text, "%s", aa_conf_strerror(rc));
    return false;
}

bool aa_expect_json(const struct aa_check *c, const char *what, const cJSON *expected,
                    const cJSON *actual, unsigned flags)
{
    struct aa_buf diff, a;
    bool eq;

    aa_buf_init(&diff, AA_CASE_MAX_FIELD);
    aa_buf_init(&a, AA_CASE_MAX_FIELD);
    eq = aa_conf_json_equal(expected, actual, flags, &diff);
    show_value(&a, actual);
    if (eq) {
        aa_check_pass(c, "%s", a.p != NULL ? a.p : "");
    } else {
        struct aa_buf e;
        aa_buf_init(&e, AA_CASE_MAX_FIELD);
        show_value(&e, expected);
        aa_check_fail(c, e.p, a.p, "%s: %s", what ? what : "JSON", diff.p ? diff.p : "differs");
        aa_buf_free(&e);
    }
    aa_buf_free(&diff);
    aa_buf_free(&a);
    return eq;
}

/* ---- PROFILE#9 HTTP classification -------------------------------------- */

static void expected_text(const struct aa_http_expect *e, struct aa_buf *out)
{
    aa_buf_printf(out, "%ld", e->status);
    if (e->alt_status != 0)
        aa_buf_printf(out, " (or %ld)", e->alt_status);
    if (e->error != NULL) {
        aa_buf_printf(out, " with error \"%s\"", e->error);
        if (e->alt_error != NULL)
            aa_buf_printf(out, " (or \"%s\")", e->alt_error);
    }
}

/* The "error" member of a JSON body, or NULL (not JSON, no member). */
static char *error_code(const struct aa_http_response *resp)
{
    cJSON *o = NULL;
    const char *s;
    char *out = NULL;

    if (resp->body == NULL || resp->body_len == 0)
        return NULL;
    if (aa_json_parse(resp->body, resp->body_len, NULL, &o, NULL) != AA_OK)
        return NULL;
    if ((s = aa_json_str(o, "error")) != NULL)
        out = aa_strdup(s);
    cJSON_Delete(o);
    return out;
}

enum aa_outcome aa_conf_http_classify(int rc, const struct aa_diag *d,
                                      const struct aa_http_response *resp,
                                      const struct aa_http_expect *e, bool *always_fail,
                                      struct aa_buf *why, struct aa_buf *actual)
{
    const char *dm = d != NULL && d->msg[0] != '\0' ? d->msg : NULL;
    char *code = NULL;
    enum aa_outcome o;

    if (always_fail != NULL)
        *always_fail = false;
    if (e == NULL)
        return AA_OUT_ERROR;
    if (rc != AA_OK) {
        if (actual != NULL)
            aa_buf_printf(actual, "no HTTP response: %s%s%s", aa_conf_strerror(rc), dm ? ": " : "",
                          dm ? dm : "");
        switch (rc) {
        case AA_E_HTTP_TIMEOUT:
            if (always_fail != NULL)
                *always_fail = true;
            if (why != NULL)
                aa_buf_adds(why, "no answer within the timeout: a hang longer than 5 s is always "
                                 "FAIL (PROFILE#9)");
            return AA_OUT_FAIL;
        case AA_E_HTTP_PROTOCOL:
            if (always_fail != NULL)
                *always_fail = true;
            if (why != NULL)
                aa_buf_adds(why, "the connection ended without a valid HTTP response: a crash "
                                 "is always FAIL (PROFILE#9)");
            return AA_OUT_FAIL;
        case AA_E_HTTP_TOO_LARGE:
            if (why != NULL)
                aa_buf_adds(why, "the response exceeds the harness's bounds (PROFILE#9 RB)");
            return AA_OUT_FAIL;
        default:
            if (why != NULL)
                aa_buf_printf(why,
                              "could not exchange a request with the target (%s): a "
                              "harness or network fault, not a conformance failure",
                              aa_conf_strerror(rc));
            return AA_OUT_ERROR;
        }
    }
    if (resp == NULL)
        return AA_OUT_ERROR;
    code = error_code(resp);
    if (actual != NULL) {
        aa_buf_printf(actual, "%ld", resp->status);
        if (code != NULL)
            aa_buf_printf(actual, " with error \"%s\"", code);
        else if (e->error != NULL)
            aa_buf_adds(actual, " without a JSON \"error\" member");
    }
    if (resp->status >= 500) {
        if (always_fail != NULL)
            *always_fail = true;
        if (why != NULL)
            aa_buf_printf(why, "status %ld: a 5xx is always FAIL (PROFILE#9)", resp->status);
        o = AA_OUT_FAIL;
    } else if (resp->status != e->status && (e->alt_status == 0 || resp->status != e->alt_status)) {
        if (why != NULL) {
            aa_buf_printf(why, "status %ld, expected ", resp->status);
            expected_text(e, why);
        }
        o = AA_OUT_FAIL;
    } else if (e->error != NULL &&
               (code == NULL || (strcmp(code, e->error) != 0 &&
                                 (e->alt_error == NULL || strcmp(code, e->alt_error) != 0)))) {
        if (why != NULL)
            aa_buf_printf(why,
                          "status %ld as expected, but error %s%s%s instead of \"%s\" "
                          "(PROFILE#6.8: status strict, code WARN)",
                          resp->status, code ? "\"" : "", code ? code : "(none)", code ? "\"" : "",
                          e->error);
        o = AA_OUT_WARN;
    } else {
        o = AA_OUT_PASS;
    }
    free(code);
    return o;
}

bool aa_expect_http(const struct aa_check *c, int rc, const struct aa_diag *d,
                    const struct aa_http_response *resp, const struct aa_http_expect *e)
{
    struct aa_buf why, actual, exp;
    bool always = false;
    enum aa_outcome o;
    struct aa_obs obs = {0};

    aa_buf_init(&why, AA_CASE_MAX_FIELD);
    aa_buf_init(&actual, AA_CASE_MAX_FIELD);
    aa_buf_init(&exp, AA_CASE_MAX_FIELD);
    o = aa_conf_http_classify(rc, d, resp, e, &always, &why, &actual);
    if (e != NULL)
        expected_text(e, &exp);
    obs.expected = exp.p;
    obs.actual = actual.p;
    if (o == AA_OUT_FAIL && !always) {
        int pr = aa_case_probe(c, e, resp, exp.p, actual.p, why.p);
        if (pr != 0) {
            aa_buf_free(&why);
            aa_buf_free(&actual);
            aa_buf_free(&exp);
            return pr == 1;
        }
    }
    switch (o) {
    case AA_OUT_PASS:
        aa_check_record(c, AA_OUT_PASS, &obs);
        break;
    case AA_OUT_WARN:
        obs.hint = why.p;
        aa_check_record(c, AA_OUT_WARN, &obs);
        break;
    case AA_OUT_FAIL:
        obs.hint = why.p;
        if (always)
            aa_check_record(c, AA_OUT_FAIL, &obs);
        else
            fail_level(c, exp.p, actual.p, why.p);
        break;
    default:
        obs.message = why.p != NULL ? why.p : "no expectation given (suite bug)";
        aa_check_record(c, AA_OUT_ERROR, &obs);
        break;
    }
    aa_buf_free(&why);
    aa_buf_free(&actual);
    aa_buf_free(&exp);
    return o == AA_OUT_PASS || o == AA_OUT_WARN;
}

bool aa_expect_status(const struct aa_check *c, int rc, const struct aa_diag *d,
                      const struct aa_http_response *resp, long status, const char *error)
{
    struct aa_http_expect e = {0};

    e.status = status;
    e.error = error;
    return aa_expect_http(c, rc, d, resp, &e);
}
