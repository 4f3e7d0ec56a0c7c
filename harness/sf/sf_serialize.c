/*
 * aa_sf serializer: RFC 9651 §4.1 canonical form (RFC 8941 §4.1 plus
 * Dates §4.1.10 and Display Strings §4.1.11).
 *
 * Design choice: the serializer is the gate for hand-built trees — it
 * re-checks every key, token, string, number range and UTF-8 sequence and
 * refuses (AA_E_SF_SERIALIZE) rather than emit a field a strict parser
 * would reject. On any failure the caller's buffer is rolled back to its
 * length on entry, so nothing half-written leaks into a header.
 */
#include <inttypes.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "sf_internal.h"

/* aa_strerror() reaches aa_sf_strerror() through a weak reference, which
 * does not pull sf_tree.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_sf_strerror};

#define SER_ERR(d, ref, ...) aa_fail((d), AA_E_SF_SERIALIZE, (ref), __VA_ARGS__)

int aa_sf_key_check(const char *key, size_t len, struct aa_diag *d)
{
    char what[24];

    if (key == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "key: NULL");
    if (len == 0)
        return SER_ERR(d, "RFC8941#4.1.1.3", "key: empty");
    if (!sf_is_key_first((unsigned char)key[0]))
        return SER_ERR(d, "RFC8941#4.1.1.3",
                       "key: first character %s is not a lowercase letter or '*'",
                       aa_sf_show(key, len, 0, what, sizeof(what)));
    for (size_t i = 1; i < len; i++)
        if (!sf_is_key_char((unsigned char)key[i]))
            return SER_ERR(d, "RFC8941#4.1.1.3",
                           "key: %s at offset %zu is not allowed (lowercase letters, "
                           "digits, '_', '-', '.', '*')",
                           aa_sf_show(key, len, i, what, sizeof(what)), i);
    return AA_OK;
}

static int ser_key(const char *key, struct aa_buf *out, struct aa_diag *d)
{
    int rc;

    if (key == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "key: NULL");
    if ((rc = aa_sf_key_check(key, strlen(key), d)) != AA_OK)
        return rc;
    aa_buf_adds(out, key);
    return AA_OK;
}

static int ser_integer(int64_t v, struct aa_buf *out, struct aa_diag *d, const char *what,
                       const char *ref)
{
    if (v < -SF_INT_MAX || v > SF_INT_MAX)
        return SER_ERR(d, ref,
                       "%s %" PRId64 " is outside -999,999,999,999,999 .. "
                       "999,999,999,999,999",
                       what, v);
    aa_buf_printf(out, "%" PRId64, v);
    return AA_OK;
}

/* Value is already in thousandths, i.e. rounded to 3 places
 * (aa_sf_bare_decimal_text does the half-to-even rounding). */
static int ser_decimal(int64_t v, struct aa_buf *out, struct aa_diag *d)
{
    uint64_t a;
    unsigned frac, digits = 3;

    if (v < -SF_DEC_MAX || v > SF_DEC_MAX)
        return SER_ERR(d, "RFC8941#4.1.5",
                       "decimal %" PRId64 "/1000 has more than 12 integer digits", v);
    a = v < 0 ? (uint64_t)-v : (uint64_t)v;
    frac = (unsigned)(a % 1000);
    aa_buf_printf(out, "%s%" PRIu64 ".", v < 0 ? "-" : "", a / 1000);
    if (frac == 0) {
        aa_buf_addc(out, '0');
        return AA_OK;
    }
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    aa_buf_printf(out, "%0*u", (int)digits, frac);
    return AA_OK;
}

static int ser_string(const struct aa_sf_bare *b, struct aa_buf *out, struct aa_diag *d)
{
    char what[24];

    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->s[i];
        if (c < 0x20 || c > 0x7e)
            return SER_ERR(d, "RFC8941#4.1.6",
                           "string: %s at offset %zu is outside visible ASCII and SP",
                           aa_sf_show(b->s, b->len, i, what, sizeof(what)), i);
    }
    aa_buf_addc(out, '"');
    for (size_t i = 0; i < b->len; i++) {
        if (b->s[i] == '"' || b->s[i] == '\\')
            aa_buf_addc(out, '\\');
        aa_buf_addc(out, b->s[i]);
    }
    aa_buf_addc(out, '"');
    return AA_OK;
}

static int ser_token(const struct aa_sf_bare *b, struct aa_buf *out, struct aa_diag *d)
{
    char what[24];

    if (b->len == 0)
        return SER_ERR(d, "RFC8941#4.1.7", "token: empty");
    if (!sf_is_token_first((unsigned char)b->s[0]))
        return SER_ERR(d, "RFC8941#4.1.7", "token: first character %s is not a letter or '*'",
                       aa_sf_show(b->s, b->len, 0, what, sizeof(what)));
    for (size_t i = 1; i < b->len; i++)
        if (!sf_is_token_char((unsigned char)b->s[i]))
            return SER_ERR(d, "RFC8941#4.1.7", "token: %s at offset %zu is not a tchar, ':' or '/'",
                           aa_sf_show(b->s, b->len, i, what, sizeof(what)), i);
    aa_buf_add(out, b->s, b->len);
    return AA_OK;
}

static int ser_display(const struct aa_sf_bare *b, struct aa_buf *out, struct aa_diag *d)
{
    static const char hex[] = "0123456789abcdef";
    size_t bad = aa_sf_utf8_bad_at((const uint8_t *)b->s, b->len);

    if (bad != b->len)
        return SER_ERR(d, "RFC9651#4.1.11",
                       "display string: byte 0x%02x at offset %zu is not valid UTF-8",
                       (unsigned char)b->s[bad], bad);
    aa_buf_adds(out, "%\"");
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->s[i];
        if (c == '%' || c == '"' || c < 0x20 || c > 0x7e) {
            aa_buf_addc(out, '%');
            aa_buf_addc(out, hex[c >> 4]);
            aa_buf_addc(out, hex[c & 15]);
        } else {
            aa_buf_addc(out, (char)c);
        }
    }
    aa_buf_addc(out, '"');
    return AA_OK;
}

static int ser_bare(const struct aa_sf_bare *b, struct aa_buf *out, struct aa_diag *d)
{
    int rc;

    if ((b->type == AA_SF_STRING || b->type == AA_SF_TOKEN || b->type == AA_SF_BYTES ||
         b->type == AA_SF_DISPLAY) &&
        b->s == NULL && b->len > 0)
        return aa_fail(d, AA_E_INVAL, NULL, "%s with NULL data", aa_sf_type_name(b->type));
    switch (b->type) {
    case AA_SF_INTEGER:
        return ser_integer(b->i, out, d, "integer", "RFC8941#4.1.4");
    case AA_SF_DECIMAL:
        return ser_decimal(b->i, out, d);
    case AA_SF_STRING:
        return ser_string(b, out, d);
    case AA_SF_TOKEN:
        return ser_token(b, out, d);
    case AA_SF_BYTES:
        /* RFC 8941 §4.1.8: standard base64 (RFC 4648 §4) with padding. */
        aa_buf_addc(out, ':');
        rc = aa_b64_encode_buf((const uint8_t *)b->s, b->len, AA_B64_STD, true, out);
        if (rc != AA_OK && out->err == 0)
            return aa_fail(d, AA_E_INTERNAL, "RFC8941#4.1.8", "base64 encoding failed");
        aa_buf_addc(out, ':');
        return AA_OK;
    case AA_SF_BOOLEAN:
        aa_buf_adds(out, b->b ? "?1" : "?0");
        return AA_OK;
    case AA_SF_DATE:
        aa_buf_addc(out, '@');
        return ser_integer(b->i, out, d, "date", "RFC9651#4.1.10");
    case AA_SF_DISPLAY:
        return ser_display(b, out, d);
    case AA_SF_INNER_LIST:
        return SER_ERR(d, "RFC8941#4.1.3.1", "an inner list is not a bare item");
    default:
        return aa_fail(d, AA_E_INVAL, NULL, "bare item of unknown type %d", (int)b->type);
    }
}

static int ser_params(const struct aa_sf_params *p, struct aa_buf *out, struct aa_diag *d)
{
    int rc;

    if (p->n > 0 && p->v == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "parameters: NULL array");
    for (size_t i = 0; i < p->n; i++) {
        const struct aa_sf_bare *v = &p->v[i].value;
        aa_buf_addc(out, ';');
        if ((rc = ser_key(p->v[i].key, out, d)) != AA_OK)
            return rc;
        /* §4.1.1.2: a Boolean true value is written as the bare key */
        if (v->type == AA_SF_BOOLEAN && v->b)
            continue;
        aa_buf_addc(out, '=');
        if ((rc = ser_bare(v, out, d)) != AA_OK) {
            if (d != NULL && rc != AA_E_INVAL)
                aa_diag_prefix(d, "parameter \"%s\"", p->v[i].key);
            return rc;
        }
    }
    return AA_OK;
}

static int ser_item(const struct aa_sf_item *it, struct aa_buf *out, struct aa_diag *d)
{
    int rc;

    if (it->bare.type == AA_SF_INNER_LIST)
        return SER_ERR(d, "RFC8941#4.1.3", "an inner list cannot stand where an item is required");
    if ((rc = ser_bare(&it->bare, out, d)) != AA_OK)
        return rc;
    return ser_params(&it->params, out, d);
}

static int ser_inner(const struct aa_sf_item *il, struct aa_buf *out, struct aa_diag *d)
{
    int rc;

    if (il->bare.type != AA_SF_INNER_LIST)
        return aa_fail(d, AA_E_INVAL, "RFC8941#4.1.1.1", "not an inner list");
    if (il->n_inner > 0 && il->inner == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "inner list: NULL array");
    aa_buf_addc(out, '(');
    for (size_t i = 0; i < il->n_inner; i++) {
        if (i > 0)
            aa_buf_addc(out, ' ');
        if (il->inner[i].bare.type == AA_SF_INNER_LIST)
            return SER_ERR(d, "RFC8941#4.1.1.1",
                           "inner list: item %zu is itself an "
                           "inner list (they do not nest)",
                           i);
        if ((rc = ser_item(&il->inner[i], out, d)) != AA_OK)
            return rc;
    }
    aa_buf_addc(out, ')');
    return ser_params(&il->params, out, d);
}

static int ser_member(const struct aa_sf_item *it, struct aa_buf *out, struct aa_diag *d)
{
    return it->bare.type == AA_SF_INNER_LIST ? ser_inner(it, out, d) : ser_item(it, out, d);
}

static int ser_list(const struct aa_sf_list *l, struct aa_buf *out, struct aa_diag *d)
{
    int rc;

    if (l->n > 0 && l->v == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "list: NULL array");
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            aa_buf_adds(out, ", ");
        if ((rc = ser_member(&l->v[i], out, d)) != AA_OK)
            return rc;
    }
    return AA_OK;
}

static int ser_dict(const struct aa_sf_dict *dct, struct aa_buf *out, struct aa_diag *d)
{
    int rc;

    if (dct->n > 0 && dct->v == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "dictionary: NULL array");
    for (size_t i = 0; i < dct->n; i++) {
        const struct aa_sf_item *it = &dct->v[i].item;
        if (i > 0)
            aa_buf_adds(out, ", ");
        if ((rc = ser_key(dct->v[i].key, out, d)) != AA_OK)
            return rc;
        /* §4.1.2: a member whose value is Boolean true is written as its
         * key followed by its parameters */
        if (it->bare.type == AA_SF_BOOLEAN && it->bare.b) {
            rc = ser_params(&it->params, out, d);
        } else {
            aa_buf_addc(out, '=');
            rc = ser_member(it, out, d);
        }
        if (rc != AA_OK) {
            if (d != NULL && rc != AA_E_INVAL)
                aa_diag_prefix(d, "dictionary member \"%s\"", dct->v[i].key);
            return rc;
        }
    }
    return AA_OK;
}

/* ---- public wrappers: argument checks, buffer faults, rollback -------- */
enum ser_kind { SK_ITEM, SK_LIST, SK_DICT, SK_INNER, SK_PARAMS, SK_BARE };

static int serialize(enum ser_kind k, const void *v, struct aa_buf *out, struct aa_diag *d)
{
    size_t start;
    int rc;

    if (v == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "structured field serializer: NULL argument");
    if (out->err != 0)
        return aa_fail(d, out->err, NULL, "output buffer already failed");
    start = out->len;
    switch (k) {
    case SK_ITEM:
        rc = ser_item(v, out, d);
        break;
    case SK_LIST:
        rc = ser_list(v, out, d);
        break;
    case SK_DICT:
        rc = ser_dict(v, out, d);
        break;
    case SK_INNER:
        rc = ser_inner(v, out, d);
        break;
    case SK_PARAMS:
        rc = ser_params(v, out, d);
        break;
    default:
        rc = ser_bare(v, out, d);
        break;
    }
    if (rc == AA_OK && out->err != 0)
        return aa_fail(d, out->err, NULL,
                       out->err == AA_E_LIMIT
                           ? "serialized structured field exceeds the output buffer limit"
                           : "out of memory while serializing a structured field");
    if (rc != AA_OK && out->err == 0) {
        out->len = start;
        if (out->p != NULL)
            out->p[start] = '\0';
    }
    return rc;
}

int aa_sf_serialize_item(const struct aa_sf_item *it, struct aa_buf *out, struct aa_diag *d)
{
    return serialize(SK_ITEM, it, out, d);
}

int aa_sf_serialize_list(const struct aa_sf_list *l, struct aa_buf *out, struct aa_diag *d)
{
    return serialize(SK_LIST, l, out, d);
}

int aa_sf_serialize_dict(const struct aa_sf_dict *dct, struct aa_buf *out, struct aa_diag *d)
{
    return serialize(SK_DICT, dct, out, d);
}

int aa_sf_serialize_inner_list(const struct aa_sf_item *il, struct aa_buf *out, struct aa_diag *d)
{
    return serialize(SK_INNER, il, out, d);
}

int aa_sf_serialize_params(const struct aa_sf_params *p, struct aa_buf *out, struct aa_diag *d)
{
    return serialize(SK_PARAMS, p, out, d);
}

int aa_sf_serialize_bare(const struct aa_sf_bare *b, struct aa_buf *out, struct aa_diag *d)
{
    return serialize(SK_BARE, b, out, d);
}
