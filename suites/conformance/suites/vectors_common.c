/*
 * vectors_common: loading vector files and comparing against them for the
 * vectors suite (vectors_common.h has the contract and the SKIP / ERROR
 * policy).
 */
#include "vectors_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aauth/aa_aauth.h"
#include "b64/aa_b64.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "sf/aa_sf.h"

cJSON *vec_load(const char *rel, const struct aa_check *const *checks)
{
    const char *dir = aa_conf_vectors_dir();
    struct aa_json_opts jo = {0};
    struct aa_diag d;
    struct stat st;
    char path[4096], *text = NULL;
    size_t len = 0;
    cJSON *o = NULL;
    int rc;

    if (dir == NULL) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_skip(*p,
                          "the vectors directory %s does not exist (the source tree's vectors/; "
                          "point --vectors-dir at it)",
                          aa_conf_vectors_dir_configured());
        return NULL;
    }
    if (aa_snprintf(path, sizeof(path), "%s/%s", dir, rel) != AA_OK) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_error(*p, "vector path %s/%s is too long", dir, rel);
        return NULL;
    }
    if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_skip(*p, "the vector file %s is absent from %s", rel, dir);
        return NULL;
    }
    aa_diag_clear(&d);
    jo.max_len = VEC_FILE_MAX;
    if (aa_read_file(path, VEC_FILE_MAX, &text, &len) != AA_OK) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_error(*p, "vector file %s cannot be read", path);
        return NULL;
    }
    rc = aa_json_parse(text, len, &jo, &o, &d);
    free(text);
    if (rc != AA_OK) {
        for (const struct aa_check *const *p = checks; *p != NULL; p++)
            aa_check_error(*p, "vector file %s is not valid JSON: %s", path, d.msg);
        return NULL;
    }
    aa_conf_note("vector file %s", path);
    return o;
}

const char *vec_str(const cJSON *o, const char *k)
{
    return aa_json_str(o, k);
}

void vec_faults_init(struct vec_faults *f)
{
    aa_buf_init(&f->text, AA_CASE_MAX_FIELD);
    f->n = 0;
}

void vec_fault_add(struct vec_faults *f, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (f->n++ >= VEC_LISTED_MAX)
        return;
    aa_buf_printf(&f->text, "%s%s: ", f->text.len ? "; " : "", name ? name : "?");
    va_start(ap, fmt);
    aa_buf_vprintf(&f->text, fmt, ap);
    va_end(ap);
}

void vec_faults_record(const struct aa_check *c, struct vec_faults *f, int total)
{
    if (f->n == 0) {
        aa_check_pass(c, "%d vector%s as expected", total, total == 1 ? "" : "s");
    } else {
        if (f->n > VEC_LISTED_MAX)
            aa_buf_printf(&f->text, "; and %d more", f->n - VEC_LISTED_MAX);
        aa_check_fail(c, c->expect, f->text.p, "%d of %d vectors differ", f->n, total);
    }
    aa_buf_free(&f->text);
}

bool vec_load_msg(const cJSON *j, struct vec_msg *v)
{
    const cJSON *e, *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    const char *body = vec_str(j, "body");
    size_t n = 0;

    memset(v, 0, sizeof(*v));
    v->m.is_response =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "response")) || cJSON_IsNumber(st);
    if (!v->m.is_response && (vec_str(j, "method") == NULL || vec_str(j, "authority") == NULL ||
                              vec_str(j, "target") == NULL))
        return false;
    if (v->m.is_response && cJSON_IsNumber(st)) {
        if (st->valuedouble < 100 || st->valuedouble > 999)
            return false;
        v->m.status = (int)st->valuedouble;
    }
    v->m.method = aa_str_c(vec_str(j, "method"));
    v->m.scheme = aa_str_c(vec_str(j, "scheme"));
    v->m.authority = aa_str_c(vec_str(j, "authority"));
    v->m.target = aa_str_c(vec_str(j, "target"));
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "headers"))
    {
        const cJSON *hn = cJSON_GetArrayItem(e, 0), *hv = cJSON_GetArrayItem(e, 1);
        if (n >= VEC_MAX_FIELDS || !cJSON_IsString(hn) || !cJSON_IsString(hv))
            return false;
        v->f[n].name = aa_str_c(hn->valuestring);
        v->f[n].value = aa_str_c(hv->valuestring);
        n++;
    }
    v->m.fields = v->f;
    v->m.n_fields = n;
    v->m.body = (const uint8_t *)body;
    v->m.body_len = body ? strlen(body) : 0;
    return true;
}

int vec_jwk(const cJSON *o, unsigned flags, struct aa_jwk *k, struct aa_diag *d)
{
    return o == NULL ? AA_E_INVAL : aa_jwk_from_cjson(o, flags, k, d);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool vec_unhex(const char *hex, uint8_t *out, size_t cap, size_t *n)
{
    size_t len = hex != NULL ? strlen(hex) : 0;

    if (hex == NULL || len % 2 != 0 || len / 2 > cap)
        return false;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    *n = len / 2;
    return true;
}

void vec_tohex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* Every code a vector file of this tree names. */
#define VEC_CODE(x)                                                                                \
    {                                                                                              \
#x, x                                                                                      \
    }
static const struct {
    const char *name;
    int code;
} vec_codes[] = {
    VEC_CODE(AA_OK),
    VEC_CODE(AA_E_LIMIT),
    /* RFC 8941 / RFC 9651 */
    VEC_CODE(AA_E_SF_SYNTAX),
    VEC_CODE(AA_E_SF_INTEGER),
    VEC_CODE(AA_E_SF_DECIMAL),
    VEC_CODE(AA_E_SF_STRING),
    VEC_CODE(AA_E_SF_TOKEN),
    VEC_CODE(AA_E_SF_BYTES),
    VEC_CODE(AA_E_SF_BOOLEAN),
    VEC_CODE(AA_E_SF_KEY),
    VEC_CODE(AA_E_SF_TRAILING),
    VEC_CODE(AA_E_SF_DATE),
    VEC_CODE(AA_E_SF_DISPLAY),
    /* JSON, JWS/JWT, JWK */
    VEC_CODE(AA_E_JSON_SYNTAX),
    VEC_CODE(AA_E_JSON_DUPLICATE),
    VEC_CODE(AA_E_JSON_DEPTH),
    VEC_CODE(AA_E_JSON_TYPE),
    VEC_CODE(AA_E_JSON_UTF8),
    VEC_CODE(AA_E_JWS_FORMAT),
    VEC_CODE(AA_E_JWS_B64),
    VEC_CODE(AA_E_JWS_JSON),
    VEC_CODE(AA_E_JWS_ALG_NONE),
    VEC_CODE(AA_E_JWS_ALG),
    VEC_CODE(AA_E_JWS_SIGNATURE),
    VEC_CODE(AA_E_JWS_TOO_LARGE),
    VEC_CODE(AA_E_JWS_CRIT),
    VEC_CODE(AA_E_JWS_KID),
    VEC_CODE(AA_E_JWE_UNSUPPORTED),
    VEC_CODE(AA_E_JWK_KTY),
    VEC_CODE(AA_E_JWK_CRV),
    VEC_CODE(AA_E_JWK_MEMBER),
    VEC_CODE(AA_E_JWK_LENGTH),
    VEC_CODE(AA_E_JWK_PRIVATE),
    VEC_CODE(AA_E_JWK_INVALID),
    VEC_CODE(AA_E_JWKS_DUP_KID),
    VEC_CODE(AA_E_JWKS_NO_KID),
    VEC_CODE(AA_E_JWKS_TOO_MANY),
    /* RFC 9421 / RFC 9530 */
    VEC_CODE(AA_E_HTTPSIG_INPUT_SYNTAX),
    VEC_CODE(AA_E_HTTPSIG_SIG_SYNTAX),
    VEC_CODE(AA_E_HTTPSIG_SIG_TYPE),
    VEC_CODE(AA_E_HTTPSIG_SIG_ENCODING),
    VEC_CODE(AA_E_HTTPSIG_LABEL),
    VEC_CODE(AA_E_HTTPSIG_DUP_COMPONENT),
    VEC_CODE(AA_E_HTTPSIG_UNKNOWN_COMPONENT),
    VEC_CODE(AA_E_HTTPSIG_COMPONENT_NAME),
    VEC_CODE(AA_E_HTTPSIG_COMPONENT_PARAM),
    VEC_CODE(AA_E_HTTPSIG_MISSING_FIELD),
    VEC_CODE(AA_E_HTTPSIG_COMPONENT_CONTEXT),
    VEC_CODE(AA_E_HTTPSIG_VALUE_CHARS),
    VEC_CODE(AA_E_HTTPSIG_SF_FIELD),
    VEC_CODE(AA_E_HTTPSIG_QUERY_PARAM),
    VEC_CODE(AA_E_HTTPSIG_PARAM_TYPE),
    VEC_CODE(AA_E_HTTPSIG_CREATED_MISSING),
    VEC_CODE(AA_E_HTTPSIG_EXPIRED),
    VEC_CODE(AA_E_HTTPSIG_CREATED_SKEW),
    VEC_CODE(AA_E_HTTPSIG_ALG_UNKNOWN),
    VEC_CODE(AA_E_HTTPSIG_ALG_MISMATCH),
    VEC_CODE(AA_E_HTTPSIG_ALG_UNSUPPORTED),
    VEC_CODE(AA_E_HTTPSIG_SIG_LENGTH),
    VEC_CODE(AA_E_HTTPSIG_BAD_SIGNATURE),
    VEC_CODE(AA_E_HTTPSIG_DIGEST_SYNTAX),
    VEC_CODE(AA_E_HTTPSIG_DIGEST_MISMATCH),
    VEC_CODE(AA_E_HTTPSIG_DIGEST_NONE),
    VEC_CODE(AA_E_HTTPSIG_TARGET),
};
#undef VEC_CODE

bool vec_code(const char *name, int *out)
{
    for (size_t i = 0; name != NULL && i < sizeof(vec_codes) / sizeof(vec_codes[0]); i++)
        if (strcmp(vec_codes[i].name, name) == 0) {
            *out = vec_codes[i].code;
            return true;
        }
    return false;
}

/* A byte as evidence: printable ASCII as is, anything else as \xNN. */
static void show_byte(const char *s, size_t len, size_t off, char out[8])
{
    unsigned char c;

    if (off >= len) {
        aa_snprintf(out, 8, "(end)");
        return;
    }
    c = (unsigned char)s[off];
    if (c >= 0x21 && c <= 0x7e)
        aa_snprintf(out, 8, "'%c'", c);
    else
        aa_snprintf(out, 8, "\\x%02x", c);
}

bool vec_expect_text(const struct aa_check *c, const char *what, const char *want, const char *got,
                     size_t got_len)
{
    size_t want_len = want != NULL ? strlen(want) : 0, off = 0;
    char a[8], b[8];

    if (want == NULL || got == NULL) {
        aa_check_fail(c, want ? want : "(a value)", got ? got : "(none)", "%s missing", what);
        return false;
    }
    if (want_len == got_len && memcmp(want, got, got_len) == 0) {
        aa_check_pass(c, "%s byte-exact (%zu bytes)", what, got_len);
        return true;
    }
    while (off < want_len && off < got_len && want[off] == got[off])
        off++;
    show_byte(want, want_len, off, a);
    show_byte(got, got_len, off, b);
    aa_check_fail(c, want, got, "%s differs at byte %zu of %zu: expected %s, got %s", what, off,
                  want_len, a, b);
    return false;
}

bool vec_components(const struct aa_httpsig_input *in, struct aa_httpsig_component *c, size_t cap,
                    size_t *n)
{
    if (in->list.n_inner > cap)
        return false;
    for (size_t i = 0; i < in->list.n_inner; i++) {
        const struct aa_sf_item *it = &in->list.inner[i];
        const struct aa_sf_bare *b;
        memset(&c[i], 0, sizeof(c[i]));
        c[i].name = it->bare.s;
        if ((b = aa_sf_params_get(&it->params, "key")) != NULL)
            c[i].key = b->s;
        if ((b = aa_sf_params_get(&it->params, "name")) != NULL)
            c[i].qname = b->s;
        if (aa_sf_params_get(&it->params, "sf") != NULL)
            c[i].flags |= AA_HTTPSIG_C_SF;
        if (aa_sf_params_get(&it->params, "bs") != NULL)
            c[i].flags |= AA_HTTPSIG_C_BS;
        if (aa_sf_params_get(&it->params, "req") != NULL)
            c[i].flags |= AA_HTTPSIG_C_REQ;
        if (aa_sf_params_get(&it->params, "tr") != NULL)
            c[i].flags |= AA_HTTPSIG_C_TR;
    }
    *n = in->list.n_inner;
    return true;
}

void vec_record_rc(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d)
{
    if (aa_err_is_fault(rc)) {
        aa_check_fault(c, what, rc, d);
        return;
    }
    aa_check_fail(c, c->expect, d != NULL && d->msg[0] != '\0' ? d->msg : aa_conf_strerror(rc),
                  "%s: %s", what, aa_conf_strerror(rc));
}

int vec_flip_signature(const char *signature, const char *label, struct aa_buf *out)
{
    uint8_t raw[AA_CRYPTO_SIG_MAX];
    size_t n = 0;
    int rc;

    rc = aa_httpsig_parse_signature(aa_str_c(signature), label, raw, sizeof(raw), &n, NULL, NULL);
    if (rc != AA_OK)
        return rc;
    if (n == 0)
        return AA_E_INVAL;
    /* a bit in the middle: neither a DER/length byte nor padding */
    raw[n / 2] ^= 0x01;
    aa_buf_printf(out, "%s=:", label);
    if ((rc = aa_b64_encode_buf(raw, n, AA_B64_STD, true, out)) != AA_OK)
        return rc;
    aa_buf_adds(out, ":");
    return out->err != 0 ? out->err : AA_OK;
}
