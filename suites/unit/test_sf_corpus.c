/*
 * The HTTP WG structured-field-tests corpus (vendored under
 * ../shared/vendor/structured-field-tests) run against aa_sf: every parse
 * case of every *.json file and every case under serialisation-tests/.
 *
 * Corpus rules: "raw" field lines are joined with ", "; must_fail cases must
 * fail; can_fail cases may fail, but if they parse they must match; parsed
 * values are compared with "expected" and re-serialized to "canonical" (or
 * the raw value when canonical is absent). Serialisation cases build the
 * "expected" structure and serialize it to "canonical", or must be refused.
 *
 * Design choice: cJSON reads the files, but two things cJSON loses are kept
 * by a small textual pre-pass: (1) every JSON number becomes
 * {"__num":"<text>"} so 1.0 (a Decimal) stays distinct from 1 (an Integer)
 * and decimals are compared exactly, never through a double; (2) the
 * escape \u0000 becomes the private-use U+E000 and is mapped back to a NUL
 * byte when a string is read, because cJSON strings end at NUL. The pre-pass
 * checks that U+E000 does not occur in a file before relying on it.
 */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf/aa_sf.h"

#define CORPUS_DIR AA_SHARED_DIR "/vendor/structured-field-tests"
/* an aa_buf that never grew has p == NULL */
#define S(p) ((p) != NULL ? (p) : "")

/* ---- JSON pre-pass ---------------------------------------------------- */
static bool is_num_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Returns a NUL-terminated rewritten document, or NULL (|why| says why). */
static char *prepass(const char *in, size_t n, char *why, size_t cap)
{
    struct aa_buf b;
    bool instr = false;

    if (memmem(in, n, "\xee\x80\x80", 3) != NULL || memmem(in, n, "\\ue000", 6) != NULL ||
        memmem(in, n, "\\uE000", 6) != NULL) {
        snprintf(why, cap, "file contains U+E000, the pre-pass sentinel");
        return NULL;
    }
    aa_buf_init(&b, 0);
    for (size_t i = 0; i < n;) {
        char c = in[i];
        if (instr) {
            if (c == '\\' && i + 1 < n) {
                if (i + 5 < n && memcmp(in + i, "\\u0000", 6) == 0) {
                    aa_buf_adds(&b, "\\ue000");
                    i += 6;
                } else {
                    aa_buf_add(&b, in + i, 2);
                    i += 2;
                }
                continue;
            }
            if (c == '"')
                instr = false;
            aa_buf_addc(&b, c);
            i++;
        } else if (c == '"') {
            instr = true;
            aa_buf_addc(&b, c);
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            while (j < n && is_num_char(in[j]))
                j++;
            aa_buf_printf(&b, "{\"__num\":\"%.*s\"}", (int)(j - i), in + i);
            i = j;
        } else {
            aa_buf_addc(&b, c);
            i++;
        }
    }
    if (b.err != 0) {
        snprintf(why, cap, "pre-pass buffer failure %d", b.err);
        return NULL;
    }
    return aa_buf_detach(&b, NULL);
}

/* A JSON string's bytes with the NUL sentinel restored (caller frees). */
static char *jbytes(const cJSON *j, size_t *len)
{
    const char *s;
    size_t n, o = 0;
    char *r;

    if (!cJSON_IsString(j))
        return NULL;
    s = j->valuestring;
    n = strlen(s);
    if ((r = malloc(n + 1)) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && memcmp(s + i, "\xee\x80\x80", 3) == 0) {
            r[o++] = '\0';
            i += 2;
        } else {
            r[o++] = s[i];
        }
    }
    r[o] = '\0';
    *len = o;
    return r;
}

static const char *jnum(const cJSON *j)
{
    const cJSON *t = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "__num") : NULL;
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* Field lines joined with ", " (RFC 9110 §5.3). */
static char *join_lines(const cJSON *arr, size_t *len)
{
    struct aa_buf b;
    const cJSON *e;
    int i = 0;

    aa_buf_init(&b, 0);
    aa_buf_adds(&b, "");
    cJSON_ArrayForEach(e, arr)
    {
        size_t n;
        char *s = jbytes(e, &n);
        if (s == NULL) {
            aa_buf_free(&b);
            return NULL;
        }
        if (i++ > 0)
            aa_buf_adds(&b, ", ");
        aa_buf_add(&b, s, n);
        free(s);
    }
    if (b.err != 0)
        return NULL;
    return aa_buf_detach(&b, len);
}

/* ---- RFC 4648 §6 base32 (the corpus encodes binary values so) -------- */
static int b32_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
    uint8_t *r = malloc(n * 5 / 8 + 1);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    if (r == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v;
        if (s[i] == '=')
            break;
        if (s[i] >= 'A' && s[i] <= 'Z')
            v = s[i] - 'A';
        else if (s[i] >= '2' && s[i] <= '7')
            v = s[i] - '2' + 26;
        else {
            free(r);
            return -1;
        }
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            r[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out = r;
    *outlen = o;
    return 0;
}

/* ---- building aa_sf trees from corpus JSON --------------------------- */
enum { B_OK = 0, B_BAD = -1, B_KEY_REFUSED = 1 };

static int build_bare(const cJSON *j, struct aa_sf_bare *b, char *why, size_t cap)
{
    const char *num = jnum(j);
    const cJSON *type, *val;
    size_t n;
    char *s;
    int rc;

    memset(b, 0, sizeof(*b));
    if (num != NULL) {
        if (strpbrk(num, ".eE") != NULL) {
            struct aa_diag d;
            if (aa_sf_bare_decimal_text(b, num, strlen(num), &d) != AA_OK) {
                snprintf(why, cap, "decimal %s: %s", num, d.msg);
                return B_BAD;
            }
            return B_OK;
        }
        int64_t v;
        if (aa_parse_i64(num, strlen(num), &v) != AA_OK) {
            snprintf(why, cap, "integer %s does not fit int64", num);
            return B_BAD;
        }
        aa_sf_bare_integer(b, v);
        return B_OK;
    }
    if (cJSON_IsBool(j)) {
        aa_sf_bare_boolean(b, cJSON_IsTrue(j));
        return B_OK;
    }
    if (cJSON_IsString(j)) {
        if ((s = jbytes(j, &n)) == NULL)
            return B_BAD;
        rc = aa_sf_bare_string(b, s, n);
        free(s);
        return rc == AA_OK ? B_OK : B_BAD;
    }
    type = cJSON_GetObjectItemCaseSensitive(j, "__type");
    val = cJSON_GetObjectItemCaseSensitive(j, "value");
    if (!cJSON_IsString(type) || val == NULL) {
        snprintf(why, cap, "unknown expected value shape");
        return B_BAD;
    }
    if (strcmp(type->valuestring, "date") == 0) {
        int64_t v;
        const char *t = jnum(val);
        if (t == NULL || aa_parse_i64(t, strlen(t), &v) != AA_OK) {
            snprintf(why, cap, "date value is not an integer");
            return B_BAD;
        }
        aa_sf_bare_date(b, v);
        return B_OK;
    }
    if ((s = jbytes(val, &n)) == NULL) {
        snprintf(why, cap, "%s value is not a string", type->valuestring);
        return B_BAD;
    }
    if (strcmp(type->valuestring, "token") == 0) {
        rc = aa_sf_bare_token(b, s, n);
    } else if (strcmp(type->valuestring, "displaystring") == 0) {
        rc = aa_sf_bare_display(b, s, n);
    } else if (strcmp(type->valuestring, "binary") == 0) {
        uint8_t *bin;
        size_t bl;
        if (b32_decode(s, n, &bin, &bl) != 0) {
            free(s);
            snprintf(why, cap, "bad base32 in expected binary");
            return B_BAD;
        }
        rc = aa_sf_bare_bytes(b, bin, bl);
        free(bin);
    } else {
        snprintf(why, cap, "unknown __type %s", type->valuestring);
        rc = AA_E_INVAL;
    }
    free(s);
    return rc == AA_OK ? B_OK : B_BAD;
}

/* A key from the corpus. A key with a NUL byte cannot travel through the
 * C-string key API; such a key must be refused by the serializer's own key
 * check over its full bytes (aa_sf_key_check), which is reported as
 * B_KEY_REFUSED. */
static int build_key(const cJSON *j, char **key, char *why, size_t cap)
{
    size_t n;
    char *s = jbytes(j, &n);

    *key = NULL;
    if (s == NULL) {
        snprintf(why, cap, "key is not a string");
        return B_BAD;
    }
    if (strlen(s) != n) {
        int rc = aa_sf_key_check(s, n, NULL);
        free(s);
        if (rc == AA_E_SF_SERIALIZE)
            return B_KEY_REFUSED;
        snprintf(why, cap, "key with NUL not refused by aa_sf_key_check (%d)", rc);
        return B_BAD;
    }
    *key = s;
    return B_OK;
}

static int build_params(const cJSON *arr, struct aa_sf_params *p, char *why, size_t cap)
{
    const cJSON *e;

    memset(p, 0, sizeof(*p));
    if (!cJSON_IsArray(arr)) {
        snprintf(why, cap, "parameters are not an array");
        return B_BAD;
    }
    cJSON_ArrayForEach(e, arr)
    {
        struct aa_sf_bare v;
        char *key;
        int rc = build_key(cJSON_GetArrayItem(e, 0), &key, why, cap);
        if (rc != B_OK)
            return rc;
        if ((rc = build_bare(cJSON_GetArrayItem(e, 1), &v, why, cap)) != B_OK) {
            free(key);
            return rc;
        }
        rc = aa_sf_params_add(p, key, &v);
        free(key);
        if (rc != AA_OK) {
            aa_sf_bare_free(&v);
            return B_BAD;
        }
    }
    return B_OK;
}

/* [bare-or-inner-list, params] */
static int build_member(const cJSON *j, struct aa_sf_item *it, char *why, size_t cap)
{
    const cJSON *v = cJSON_GetArrayItem(j, 0), *e;
    int rc;

    memset(it, 0, sizeof(*it));
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 2) {
        snprintf(why, cap, "member is not [value, params]");
        return B_BAD;
    }
    if (cJSON_IsArray(v)) {
        aa_sf_inner_list_init(it);
        cJSON_ArrayForEach(e, v)
        {
            struct aa_sf_item sub;
            if ((rc = build_member(e, &sub, why, cap)) != B_OK)
                return rc;
            if (aa_sf_inner_add(it, &sub) != AA_OK) {
                aa_sf_item_free(&sub);
                snprintf(why, cap, "aa_sf_inner_add refused an item");
                return B_BAD;
            }
        }
    } else if ((rc = build_bare(v, &it->bare, why, cap)) != B_OK) {
        return rc;
    }
    return build_params(cJSON_GetArrayItem(j, 1), &it->params, why, cap);
}

static int build_list(const cJSON *arr, struct aa_sf_list *l, char *why, size_t cap)
{
    const cJSON *e;
    int rc;

    memset(l, 0, sizeof(*l));
    cJSON_ArrayForEach(e, arr)
    {
        struct aa_sf_item it;
        rc = build_member(e, &it, why, cap);
        if (rc == B_OK && aa_sf_list_add(l, &it) != AA_OK)
            rc = B_BAD;
        if (rc != B_OK) {
            aa_sf_item_free(&it);
            return rc;
        }
    }
    return B_OK;
}

static int build_dict(const cJSON *arr, struct aa_sf_dict *dct, char *why, size_t cap)
{
    const cJSON *e;
    int rc;

    memset(dct, 0, sizeof(*dct));
    cJSON_ArrayForEach(e, arr)
    {
        struct aa_sf_item it;
        char *key;
        if ((rc = build_key(cJSON_GetArrayItem(e, 0), &key, why, cap)) != B_OK)
            return rc;
        rc = build_member(cJSON_GetArrayItem(e, 1), &it, why, cap);
        if (rc == B_OK && aa_sf_dict_add(dct, key, &it) != AA_OK)
            rc = B_BAD;
        free(key);
        if (rc != B_OK) {
            aa_sf_item_free(&it);
            return rc;
        }
    }
    return B_OK;
}

/* ---- structural equality --------------------------------------------- */
static bool bare_eq(const struct aa_sf_bare *a, const struct aa_sf_bare *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case AA_SF_INTEGER:
    case AA_SF_DECIMAL:
    case AA_SF_DATE:
        return a->i == b->i;
    case AA_SF_BOOLEAN:
        return a->b == b->b;
    default:
        return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    }
}

static bool params_eq(const struct aa_sf_params *a, const struct aa_sf_params *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].key, b->v[i].key) != 0 || !bare_eq(&a->v[i].value, &b->v[i].value))
            return false;
    return true;
}

static bool item_eq(const struct aa_sf_item *a, const struct aa_sf_item *b)
{
    if (a->bare.type != b->bare.type || !params_eq(&a->params, &b->params))
        return false;
    if (a->bare.type != AA_SF_INNER_LIST)
        return bare_eq(&a->bare, &b->bare);
    if (a->n_inner != b->n_inner)
        return false;
    for (size_t i = 0; i < a->n_inner; i++)
        if (!item_eq(&a->inner[i], &b->inner[i]))
            return false;
    return true;
}

static bool list_eq(const struct aa_sf_list *a, const struct aa_sf_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!item_eq(&a->v[i], &b->v[i]))
            return false;
    return true;
}

static bool dict_eq(const struct aa_sf_dict *a, const struct aa_sf_dict *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].key, b->v[i].key) != 0 || !item_eq(&a->v[i].item, &b->v[i].item))
            return false;
    return true;
}

/* ---- one value of any header type ------------------------------------ */
enum htype { H_ITEM, H_LIST, H_DICT };

struct sfval {
    enum htype t;
    struct aa_sf_item item;
    struct aa_sf_list list;
    struct aa_sf_dict dict;
};

static void sfval_free(struct sfval *v)
{
    aa_sf_item_free(&v->item);
    aa_sf_list_free(&v->list);
    aa_sf_dict_free(&v->dict);
}

static bool sfval_empty(const struct sfval *v)
{
    return v->item.bare.type == 0 && v->item.params.n == 0 && v->item.n_inner == 0 &&
           v->list.n == 0 && v->list.v == NULL && v->dict.n == 0 && v->dict.v == NULL;
}

static int sfval_parse(struct sfval *v, const char *in, size_t n, struct aa_diag *d)
{
    switch (v->t) {
    case H_ITEM:
        return aa_sf_parse_item(in, n, &v->item, d);
    case H_LIST:
        return aa_sf_parse_list(in, n, &v->list, d);
    default:
        return aa_sf_parse_dict(in, n, &v->dict, d);
    }
}

static int sfval_serialize(const struct sfval *v, struct aa_buf *out, struct aa_diag *d)
{
    switch (v->t) {
    case H_ITEM:
        return aa_sf_serialize_item(&v->item, out, d);
    case H_LIST:
        return aa_sf_serialize_list(&v->list, out, d);
    default:
        return aa_sf_serialize_dict(&v->dict, out, d);
    }
}

static int sfval_build(struct sfval *v, const cJSON *exp, char *why, size_t cap)
{
    switch (v->t) {
    case H_ITEM:
        return build_member(exp, &v->item, why, cap);
    case H_LIST:
        return build_list(exp, &v->list, why, cap);
    default:
        return build_dict(exp, &v->dict, why, cap);
    }
}

static bool sfval_eq(const struct sfval *a, const struct sfval *b)
{
    switch (a->t) {
    case H_ITEM:
        return item_eq(&a->item, &b->item);
    case H_LIST:
        return list_eq(&a->list, &b->list);
    default:
        return dict_eq(&a->dict, &b->dict);
    }
}

static bool htype_of(const cJSON *c, enum htype *t)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "header_type");
    if (!cJSON_IsString(h))
        return false;
    if (strcmp(h->valuestring, "item") == 0)
        *t = H_ITEM;
    else if (strcmp(h->valuestring, "list") == 0)
        *t = H_LIST;
    else if (strcmp(h->valuestring, "dictionary") == 0)
        *t = H_DICT;
    else
        return false;
    return true;
}

/* ---- running cases ---------------------------------------------------- */
struct tally {
    size_t ran, passed, can_fail_failed, key_refused;
};

static bool flag(const cJSON *c, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, name));
}

static bool run_parse_case(const cJSON *c, enum htype t, struct tally *tl, char *why, size_t cap)
{
    struct sfval got = {t}, exp = {t}, again = {t};
    struct aa_buf ser, canon_buf;
    struct aa_diag d;
    const cJSON *canon = cJSON_GetObjectItemCaseSensitive(c, "canonical");
    char *raw, *want = NULL;
    size_t rawlen, wantlen = 0;
    bool ok = false;
    int rc;

    aa_buf_init(&ser, 0);
    aa_buf_init(&canon_buf, 0);
    aa_diag_clear(&d);
    if ((raw = join_lines(cJSON_GetObjectItemCaseSensitive(c, "raw"), &rawlen)) == NULL) {
        snprintf(why, cap, "raw is not an array of strings");
        return false;
    }
    rc = sfval_parse(&got, raw, rawlen, &d);
    if (flag(c, "must_fail")) {
        if (rc == AA_OK)
            snprintf(why, cap, "must_fail input parsed");
        else if (aa_err_is_fault(rc) || d.code != rc || d.ref == NULL || d.msg[0] == '\0')
            snprintf(why, cap, "failed without a proper finding (rc %d, ref %s)", rc,
                     d.ref ? d.ref : "NULL");
        else if (!sfval_empty(&got))
            snprintf(why, cap, "failed but left output behind");
        else
            ok = true;
        goto out;
    }
    if (rc != AA_OK) {
        if (flag(c, "can_fail")) {
            tl->can_fail_failed++;
            printf("    note: can_fail case \"%s\" failed: %s\n",
                   cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, d.msg);
            ok = true;
        } else {
            snprintf(why, cap, "did not parse: %s (%s)", d.msg, d.ref ? d.ref : "");
        }
        goto out;
    }
    if (sfval_build(&exp, cJSON_GetObjectItemCaseSensitive(c, "expected"), why, cap) != B_OK)
        goto out;
    if (sfval_serialize(&got, &ser, &d) != AA_OK) {
        snprintf(why, cap, "parsed value does not serialize: %s", d.msg);
        goto out;
    }
    if (!sfval_eq(&got, &exp)) {
        aa_diag_clear(&d);
        if (sfval_serialize(&exp, &canon_buf, &d) != AA_OK)
            snprintf(why, cap, "value differs from expected (got %s)", S(ser.p));
        else
            snprintf(why, cap, "value differs: got %s, expected %s", S(ser.p), S(canon_buf.p));
        goto out;
    }
    want = canon != NULL ? join_lines(canon, &wantlen) : NULL;
    if (canon == NULL) {
        want = raw;
        wantlen = rawlen;
    } else if (want == NULL) {
        snprintf(why, cap, "canonical is not an array of strings");
        goto out;
    }
    if (ser.len != wantlen || (wantlen > 0 && memcmp(ser.p, want, wantlen) != 0)) {
        snprintf(why, cap, "serialized \"%s\", canonical \"%.*s\"", S(ser.p), (int)wantlen, want);
        goto out;
    }
    /* the canonical form parses back to the same value */
    if (sfval_parse(&again, ser.p, ser.len, &d) != AA_OK || !sfval_eq(&again, &got)) {
        snprintf(why, cap, "canonical form does not round-trip");
        goto out;
    }
    ok = true;
out:
    if (want != raw)
        free(want);
    free(raw);
    aa_buf_free(&ser);
    aa_buf_free(&canon_buf);
    sfval_free(&got);
    sfval_free(&exp);
    sfval_free(&again);
    return ok;
}

static bool run_serialise_case(const cJSON *c, enum htype t, struct tally *tl, char *why,
                               size_t cap)
{
    struct sfval v = {t};
    struct aa_buf out;
    struct aa_diag d;
    const cJSON *canon = cJSON_GetObjectItemCaseSensitive(c, "canonical");
    char *want = NULL;
    size_t wantlen = 0;
    bool ok = false;
    int rc;

    aa_buf_init(&out, 0);
    aa_diag_clear(&d);
    rc = sfval_build(&v, cJSON_GetObjectItemCaseSensitive(c, "expected"), why, cap);
    if (rc == B_KEY_REFUSED) {
        if (flag(c, "must_fail")) {
            tl->key_refused++;
            ok = true;
        } else {
            snprintf(why, cap, "key refused but the case must serialize");
        }
        goto out;
    }
    if (rc != B_OK)
        goto out;
    rc = sfval_serialize(&v, &out, &d);
    if (flag(c, "must_fail")) {
        if (rc == AA_OK)
            snprintf(why, cap, "serialized a must_fail value as \"%s\"", S(out.p));
        else if (rc != AA_E_SF_SERIALIZE || d.ref == NULL || d.msg[0] == '\0')
            snprintf(why, cap, "refused without a proper finding (rc %d)", rc);
        else if (out.len != 0)
            snprintf(why, cap, "refused but left \"%s\" in the buffer", S(out.p));
        else
            ok = true;
        goto out;
    }
    if (rc != AA_OK) {
        snprintf(why, cap, "serialization failed: %s", d.msg);
        goto out;
    }
    if (canon == NULL || (want = join_lines(canon, &wantlen)) == NULL) {
        snprintf(why, cap, "no canonical output in the case");
        goto out;
    }
    if (out.len != wantlen || (wantlen > 0 && memcmp(out.p, want, wantlen) != 0)) {
        snprintf(why, cap, "serialized \"%s\", canonical \"%s\"", S(out.p), want);
        goto out;
    }
    ok = true;
out:
    free(want);
    aa_buf_free(&out);
    sfval_free(&v);
    return ok;
}

static void run_file(const char *path, const char *label, struct tally *total)
{
    struct tally tl = {0};
    char *text = NULL, *prepped;
    char why[512];
    size_t len;
    cJSON *root, *c;

    if (aa_read_file(path, 64u << 20, &text, &len) != AA_OK) {
        printf("%-42s cannot read\n", label);
        total->ran++;
        return;
    }
    prepped = prepass(text, len, why, sizeof(why));
    free(text);
    root = prepped ? cJSON_Parse(prepped) : NULL;
    if (prepped != NULL)
        snprintf(why, sizeof(why), "JSON syntax");
    free(prepped);
    if (!cJSON_IsArray(root)) {
        printf("%-42s not a JSON array of cases: %s\n", label, why);
        cJSON_Delete(root);
        total->ran++;
        return;
    }
    cJSON_ArrayForEach(c, root)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        enum htype t;
        bool ok;

        why[0] = '\0';
        tl.ran++;
        if (!htype_of(c, &t)) {
            snprintf(why, sizeof(why), "unknown header_type");
            ok = false;
        } else if (cJSON_GetObjectItemCaseSensitive(c, "raw") != NULL) {
            ok = run_parse_case(c, t, &tl, why, sizeof(why));
        } else {
            ok = run_serialise_case(c, t, &tl, why, sizeof(why));
        }
        if (ok)
            tl.passed++;
        else
            printf("    FAIL %s: \"%s\": %s\n", label,
                   cJSON_IsString(name) ? name->valuestring : "?", why);
    }
    cJSON_Delete(root);
    printf("%-42s %4zu/%-4zu cases passed", label, tl.passed, tl.ran);
    if (tl.can_fail_failed)
        printf(" (%zu can_fail case%s failed, allowed)", tl.can_fail_failed,
               tl.can_fail_failed == 1 ? "" : "s");
    if (tl.key_refused)
        printf(" (%zu NUL-key case%s refused by aa_sf_key_check)", tl.key_refused,
               tl.key_refused == 1 ? "" : "s");
    printf("\n");
    if (tl.ran == 0)
        total->ran++; /* an empty file counts as a failure */
    total->ran += tl.ran;
    total->passed += tl.passed;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* *.json names in |dir|, sorted. */
static size_t list_json(const char *dir, char ***names)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    *names = NULL;
    if (dp == NULL)
        return 0;
    while ((e = readdir(dp)) != NULL) {
        size_t l = strlen(e->d_name);
        char **nv;
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        nv = realloc(*names, (n + 1) * sizeof(*nv));
        cr_assert_not_null(nv);
        *names = nv;
        (*names)[n] = aa_strdup(e->d_name);
        cr_assert_not_null((*names)[n]);
        n++;
    }
    closedir(dp);
    if (n > 0)
        qsort(*names, n, sizeof(**names), cmp_str);
    return n;
}

Test(sf_corpus, structured_field_tests, .timeout = 200)
{
    static const char *const subdirs[] = {"", "serialisation-tests/"};
    struct tally total = {0};
    size_t files = 0;
    bool saw_item = false, saw_serialise_number = false;
    DIR *probe = opendir(CORPUS_DIR);

    if (probe == NULL)
        cr_skip_test("structured-field-tests corpus not found at %s (it lives in ../shared, "
                     "which a plain clone does not have)",
                     CORPUS_DIR);
    closedir(probe);
    for (size_t s = 0; s < 2; s++) {
        char dir[1024], path[1280], label[256];
        char **names;
        size_t n;

        snprintf(dir, sizeof(dir), "%s/%s", CORPUS_DIR, subdirs[s]);
        n = list_json(dir, &names);
        for (size_t i = 0; i < n; i++) {
            snprintf(path, sizeof(path), "%s%s", dir, names[i]);
            snprintf(label, sizeof(label), "%s%s", subdirs[s], names[i]);
            if (strcmp(label, "item.json") == 0)
                saw_item = true;
            if (strcmp(label, "serialisation-tests/number.json") == 0)
                saw_serialise_number = true;
            run_file(path, label, &total);
            files++;
            free(names[i]);
        }
        free(names);
    }
    printf("structured-field-tests: %zu/%zu cases passed (%zu files)\n", total.passed, total.ran,
           files);
    fflush(stdout);
    cr_assert(saw_item && saw_serialise_number,
              "corpus listing missed item.json or serialisation-tests/number.json");
    cr_assert_gt(total.ran, 0);
    cr_assert_eq(total.passed, total.ran, "%zu of %zu corpus cases failed (see FAIL lines)",
                 total.ran - total.passed, total.ran);
}

/* The machinery above must be able to fail: a wrong expectation, a wrong
 * type (1 vs 1.0) and a wrong canonical form are all caught. */
Test(sf_corpus, harness_detects_mismatches)
{
    static const char doc[] =
        "[{\"name\":\"w1\",\"raw\":[\"1\"],\"header_type\":\"item\",\"expected\":[2,[]]},"
        "{\"name\":\"w2\",\"raw\":[\"1\"],\"header_type\":\"item\",\"expected\":[1.0,[]]},"
        "{\"name\":\"w3\",\"raw\":[\"1.50\"],\"header_type\":\"item\",\"expected\":[1.5,[]]},"
        "{\"name\":\"w4\",\"raw\":[\"a=1\"],\"header_type\":\"dictionary\",\"must_fail\":true},"
        "{\"name\":\"w5\",\"expected\":[0.0025,[]],\"header_type\":\"item\",\"canonical\":[\"0."
        "003\"]},"
        "{\"name\":\"r1\",\"raw\":[\"1.50\"],\"header_type\":\"item\",\"expected\":[1.5,[]],"
        "\"canonical\":[\"1.5\"]},"
        "{\"name\":\"r2\",\"raw\":[\"a\\u0000\"],\"header_type\":\"item\",\"must_fail\":true}]";
    static const bool want[] = {false, false, false, false, false, true, true};
    char why[512];
    char *prepped = prepass(doc, sizeof(doc) - 1, why, sizeof(why));
    cJSON *root, *c;
    size_t i = 0;

    cr_assert_not_null(prepped, "%s", why);
    root = cJSON_Parse(prepped);
    free(prepped);
    cr_assert(cJSON_IsArray(root));
    cJSON_ArrayForEach(c, root)
    {
        struct tally tl = {0};
        enum htype t;
        bool ok;
        cr_assert(htype_of(c, &t));
        ok = cJSON_GetObjectItemCaseSensitive(c, "raw")
                 ? run_parse_case(c, t, &tl, why, sizeof(why))
                 : run_serialise_case(c, t, &tl, why, sizeof(why));
        cr_expect_eq(ok, want[i], "case %zu: got %d (%s)", i, ok, why);
        i++;
    }
    cr_assert_eq(i, sizeof(want) / sizeof(want[0]));
    cJSON_Delete(root);
}
