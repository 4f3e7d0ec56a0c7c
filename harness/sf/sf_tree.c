/*
 * aa_sf trees: release, construction, lookup and the code table
 * (RFC 8941 / RFC 9651 data model, §3).
 *
 * Design choice: builders copy keys and move values in (the caller's value
 * is zeroed), and they do not validate: a tree may hold anything, and the
 * serializer is the single gate that refuses what RFC 9651 §4.1 cannot
 * express. Adding an existing key replaces its value in place, keeping the
 * ordered-map semantics the parser has (RFC 8941 §4.2.2, §4.2.3.2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_internal.h"

/* ---- release ---------------------------------------------------------- */
void aa_sf_bare_free(struct aa_sf_bare *b)
{
    if (b == NULL)
        return;
    free(b->s);
    memset(b, 0, sizeof(*b));
}

void aa_sf_params_free(struct aa_sf_params *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        aa_sf_bare_free(&p->v[i].value);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

void aa_sf_item_free(struct aa_sf_item *it)
{
    if (it == NULL)
        return;
    for (size_t i = 0; i < it->n_inner; i++)
        aa_sf_item_free(&it->inner[i]);
    free(it->inner);
    aa_sf_params_free(&it->params);
    aa_sf_bare_free(&it->bare);
    memset(it, 0, sizeof(*it));
}

void aa_sf_list_free(struct aa_sf_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        aa_sf_item_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void aa_sf_dict_free(struct aa_sf_dict *dct)
{
    if (dct == NULL)
        return;
    for (size_t i = 0; i < dct->n; i++) {
        free(dct->v[i].key);
        aa_sf_item_free(&dct->v[i].item);
    }
    free(dct->v);
    dct->v = NULL;
    dct->n = 0;
}

/* ---- lookup ----------------------------------------------------------- */
const struct aa_sf_item *aa_sf_dict_get(const struct aa_sf_dict *dct, const char *key)
{
    if (dct == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < dct->n; i++)
        if (strcmp(dct->v[i].key, key) == 0)
            return &dct->v[i].item;
    return NULL;
}

const struct aa_sf_bare *aa_sf_params_get(const struct aa_sf_params *p, const char *key)
{
    if (p == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i].value;
    return NULL;
}

/* ---- bare values ------------------------------------------------------ */
static int bare_copy_bytes(struct aa_sf_bare *b, enum aa_sf_type t, const void *p, size_t len)
{
    char *s;

    if (b == NULL || (p == NULL && len > 0))
        return AA_E_INVAL;
    memset(b, 0, sizeof(*b));
    if (len == SIZE_MAX || (s = malloc(len + 1)) == NULL)
        return AA_E_NOMEM;
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    b->type = t;
    b->s = s;
    b->len = len;
    return AA_OK;
}

int aa_sf_bare_string(struct aa_sf_bare *b, const char *s, size_t len)
{
    return bare_copy_bytes(b, AA_SF_STRING, s, len);
}

int aa_sf_bare_token(struct aa_sf_bare *b, const char *s, size_t len)
{
    return bare_copy_bytes(b, AA_SF_TOKEN, s, len);
}

int aa_sf_bare_bytes(struct aa_sf_bare *b, const uint8_t *p, size_t len)
{
    return bare_copy_bytes(b, AA_SF_BYTES, p, len);
}

int aa_sf_bare_display(struct aa_sf_bare *b, const char *utf8, size_t len)
{
    return bare_copy_bytes(b, AA_SF_DISPLAY, utf8, len);
}

void aa_sf_bare_integer(struct aa_sf_bare *b, int64_t v)
{
    memset(b, 0, sizeof(*b));
    b->type = AA_SF_INTEGER;
    b->i = v;
}

void aa_sf_bare_decimal(struct aa_sf_bare *b, int64_t thousandths)
{
    memset(b, 0, sizeof(*b));
    b->type = AA_SF_DECIMAL;
    b->i = thousandths;
}

void aa_sf_bare_date(struct aa_sf_bare *b, int64_t seconds)
{
    memset(b, 0, sizeof(*b));
    b->type = AA_SF_DATE;
    b->i = seconds;
}

void aa_sf_bare_boolean(struct aa_sf_bare *b, bool v)
{
    memset(b, 0, sizeof(*b));
    b->type = AA_SF_BOOLEAN;
    b->b = v;
}

/* Messages quote at most 40 characters of the offered text. */
#define SHOWN(n) ((int)((n) > 40 ? 40 : (n)))

/*
 * RFC 8941 §4.1.5: "round to three decimal places, rounding the final digit
 * to the nearest value, or to the even value if it is equidistant". Done on
 * the decimal text so 0.0025 is a tie (a binary double would not be).
 */
int aa_sf_bare_decimal_text(struct aa_sf_bare *b, const char *s, size_t len, struct aa_diag *d)
{
    size_t i = 0, nint = 0, nfrac = 0;
    int64_t ip = 0, fr = 0, total;
    bool neg = false, rest = false;
    int d4 = 0;

    if (b == NULL || (s == NULL && len > 0))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_sf_bare_decimal_text: NULL argument");
    memset(b, 0, sizeof(*b));
    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    for (; i < len && sf_is_digit((unsigned char)s[i]); i++) {
        if (nint == 0 && s[i] == '0')
            continue; /* leading zeros carry no magnitude */
        if (++nint > 15)
            return aa_fail(d, AA_E_SF_DECIMAL, "RFC8941#3.3.2",
                           "decimal \"%.*s\": more than 15 integer digits", SHOWN(len), s);
        ip = ip * 10 + (s[i] - '0');
    }
    if (i == (neg ? 1u : 0u))
        return aa_fail(d, AA_E_SF_DECIMAL, "RFC8941#3.3.2", "decimal \"%.*s\": no integer digit",
                       SHOWN(len), s);
    if (i < len && s[i] == '.') {
        size_t dot = i++;
        for (; i < len && sf_is_digit((unsigned char)s[i]); i++, nfrac++) {
            int dg = s[i] - '0';
            if (nfrac < 3)
                fr = fr * 10 + dg;
            else if (nfrac == 3)
                d4 = dg;
            else if (dg != 0)
                rest = true;
        }
        if (i == dot + 1)
            return aa_fail(d, AA_E_SF_DECIMAL, "RFC8941#3.3.2",
                           "decimal \"%.*s\": no digit after '.'", SHOWN(len), s);
    }
    if (i != len)
        return aa_fail(d, AA_E_SF_DECIMAL, "RFC8941#3.3.2",
                       "decimal \"%.*s\": unexpected character at offset %zu", SHOWN(len), s, i);
    for (size_t k = nfrac; k < 3; k++)
        fr *= 10;
    total = ip * 1000 + fr;
    if (nfrac > 3 && (d4 > 5 || (d4 == 5 && (rest || total % 2 != 0))))
        total++;
    aa_sf_bare_decimal(b, neg ? -total : total);
    return AA_OK;
}

/* ---- containers ------------------------------------------------------- */
int aa_sf_params_add(struct aa_sf_params *p, const char *key, struct aa_sf_bare *value)
{
    struct aa_sf_param *nv;
    char *k;

    if (p == NULL || key == NULL || value == NULL)
        return AA_E_INVAL;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].key, key) == 0) {
            aa_sf_bare_free(&p->v[i].value);
            p->v[i].value = *value;
            memset(value, 0, sizeof(*value));
            return AA_OK;
        }
    }
    if ((k = aa_strdup(key)) == NULL)
        return AA_E_NOMEM;
    nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(k);
        return AA_E_NOMEM;
    }
    p->v = nv;
    p->v[p->n].key = k;
    p->v[p->n].value = *value;
    p->n++;
    memset(value, 0, sizeof(*value));
    return AA_OK;
}

void aa_sf_inner_list_init(struct aa_sf_item *il)
{
    memset(il, 0, sizeof(*il));
    il->bare.type = AA_SF_INNER_LIST;
}

int aa_sf_inner_add(struct aa_sf_item *il, struct aa_sf_item *item)
{
    struct aa_sf_item *nv;

    if (il == NULL || item == NULL || il->bare.type != AA_SF_INNER_LIST ||
        item->bare.type == AA_SF_INNER_LIST)
        return AA_E_INVAL;
    nv = realloc(il->inner, (il->n_inner + 1) * sizeof(*nv));
    if (nv == NULL)
        return AA_E_NOMEM;
    il->inner = nv;
    il->inner[il->n_inner++] = *item;
    memset(item, 0, sizeof(*item));
    return AA_OK;
}

int aa_sf_list_add(struct aa_sf_list *l, struct aa_sf_item *item)
{
    struct aa_sf_item *nv;

    if (l == NULL || item == NULL)
        return AA_E_INVAL;
    nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return AA_E_NOMEM;
    l->v = nv;
    l->v[l->n++] = *item;
    memset(item, 0, sizeof(*item));
    return AA_OK;
}

int aa_sf_dict_add(struct aa_sf_dict *dct, const char *key, struct aa_sf_item *item)
{
    struct aa_sf_dict_member *nv;
    char *k;

    if (dct == NULL || key == NULL || item == NULL)
        return AA_E_INVAL;
    for (size_t i = 0; i < dct->n; i++) {
        if (strcmp(dct->v[i].key, key) == 0) {
            aa_sf_item_free(&dct->v[i].item);
            dct->v[i].item = *item;
            memset(item, 0, sizeof(*item));
            return AA_OK;
        }
    }
    if ((k = aa_strdup(key)) == NULL)
        return AA_E_NOMEM;
    nv = realloc(dct->v, (dct->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(k);
        return AA_E_NOMEM;
    }
    dct->v = nv;
    dct->v[dct->n].key = k;
    dct->v[dct->n].item = *item;
    dct->n++;
    memset(item, 0, sizeof(*item));
    return AA_OK;
}

/* ---- small shared helpers -------------------------------------------- */
size_t aa_sf_utf8_bad_at(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = p[i];
        uint32_t cp, min;
        size_t need;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1fu;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0fu;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07u;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i - 1 < need)
            return i;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += need + 1;
    }
    return n;
}

const char *aa_sf_show(const char *in, size_t len, size_t pos, char *buf, size_t cap)
{
    unsigned char c;

    if (pos >= len) {
        aa_snprintf(buf, cap, "end of input");
        return buf;
    }
    c = (unsigned char)in[pos];
    if (c >= 0x20 && c < 0x7f)
        aa_snprintf(buf, cap, "'%c'", c);
    else
        aa_snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

const char *aa_sf_type_name(enum aa_sf_type t)
{
    switch (t) {
    case AA_SF_INTEGER:
        return "integer";
    case AA_SF_DECIMAL:
        return "decimal";
    case AA_SF_STRING:
        return "string";
    case AA_SF_TOKEN:
        return "token";
    case AA_SF_BYTES:
        return "byte sequence";
    case AA_SF_BOOLEAN:
        return "boolean";
    case AA_SF_DATE:
        return "date";
    case AA_SF_DISPLAY:
        return "display string";
    case AA_SF_INNER_LIST:
        return "inner list";
    default:
        return "unknown";
    }
}

const char *aa_sf_strerror(int code)
{
    switch (code) {
    case AA_E_SF_SYNTAX:
        return "structured field: syntax error";
    case AA_E_SF_INTEGER:
        return "structured field: bad integer";
    case AA_E_SF_DECIMAL:
        return "structured field: bad decimal";
    case AA_E_SF_STRING:
        return "structured field: bad string";
    case AA_E_SF_TOKEN:
        return "structured field: bad token";
    case AA_E_SF_BYTES:
        return "structured field: bad byte sequence";
    case AA_E_SF_BOOLEAN:
        return "structured field: bad boolean";
    case AA_E_SF_KEY:
        return "structured field: bad key";
    case AA_E_SF_TRAILING:
        return "structured field: characters after the value";
    case AA_E_SF_DATE:
        return "structured field: bad date";
    case AA_E_SF_DISPLAY:
        return "structured field: bad display string";
    case AA_E_SF_SERIALIZE:
        return "structured field: value cannot be serialized";
    default:
        return NULL;
    }
}
