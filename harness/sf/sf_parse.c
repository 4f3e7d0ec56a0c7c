/*
 * aa_sf parser: RFC 9651 §4.2 (RFC 8941 §4.2 plus Dates and Display
 * Strings), step by step, over a byte range with an explicit cursor.
 *
 * Design choice: every step only moves the cursor forward and looks at each
 * byte a bounded number of times, and repeated keys are found through a
 * small hash index once a container grows past a handful of keys, so the
 * parse is linear in the input (the fuzzers rely on it). Nothing is
 * recursive beyond the fixed Item / Inner List nesting of the grammar.
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "sf_internal.h"

/* aa_strerror() reaches aa_sf_strerror() through a weak reference, which
 * does not pull sf_tree.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_sf_strerror};

struct sfp {
    const char *in;
    size_t len;
    size_t pos;
    struct aa_diag *d;
};

#define SHOW(p, at) aa_sf_show((p)->in, (p)->len, (at), what, sizeof(what))

static bool at_end(const struct sfp *p)
{
    return p->pos >= p->len;
}

static unsigned char peek(const struct sfp *p)
{
    return p->pos < p->len ? (unsigned char)p->in[p->pos] : 0;
}

/* RFC 8941 §4.2 "discard any leading SP characters" (not HTAB). */
static void skip_sp(struct sfp *p)
{
    while (p->pos < p->len && p->in[p->pos] == ' ')
        p->pos++;
}

/* OWS = *( SP / HTAB ), between list and dictionary members. */
static void skip_ows(struct sfp *p)
{
    while (p->pos < p->len && (p->in[p->pos] == ' ' || p->in[p->pos] == '\t'))
        p->pos++;
}

/* ---- repeated-key index ---------------------------------------------- */
/*
 * Dictionaries and Parameters are ordered maps where a repeated key
 * overwrites the earlier value in place (RFC 8941 §4.2.2, §4.2.3.2). Up to
 * LINEAR_KEYS keys are compared directly; past that an open-addressing
 * table sized for the container's limit answers each lookup in O(1).
 */
#define LINEAR_KEYS 8

typedef const char *(*key_at_fn)(const void *arr, size_t i);

struct keymap {
    uint32_t *slot; /* member index + 1; 0 = empty */
    size_t mask;
};

static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 16777619u;
    }
    return h;
}

static size_t km_find(const struct keymap *km, const void *arr, key_at_fn at, size_t n,
                      const char *key)
{
    if (km->slot == NULL) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(at(arr, i), key) == 0)
                return i;
        return SIZE_MAX;
    }
    for (size_t h = key_hash(key) & km->mask;; h = (h + 1) & km->mask) {
        uint32_t s = km->slot[h];
        if (s == 0)
            return SIZE_MAX;
        if (strcmp(at(arr, s - 1), key) == 0)
            return s - 1;
    }
}

static void km_put(struct keymap *km, const char *key, size_t idx)
{
    size_t h = key_hash(key) & km->mask;
    while (km->slot[h] != 0)
        h = (h + 1) & km->mask;
    km->slot[h] = (uint32_t)(idx + 1);
}

/* Record member |n - 1| (just appended). |limit| bounds n, so a table of
 * 2 * limit slots never fills. */
static int km_added(struct keymap *km, const void *arr, key_at_fn at, size_t n, size_t limit)
{
    size_t size = 16;

    if (km->slot != NULL) {
        km_put(km, at(arr, n - 1), n - 1);
        return AA_OK;
    }
    if (n < LINEAR_KEYS)
        return AA_OK;
    while (size < 2 * limit)
        size *= 2;
    km->slot = calloc(size, sizeof(*km->slot));
    if (km->slot == NULL)
        return AA_E_NOMEM;
    km->mask = size - 1;
    for (size_t i = 0; i < n; i++)
        km_put(km, at(arr, i), i);
    return AA_OK;
}

static void km_free(struct keymap *km)
{
    free(km->slot);
    km->slot = NULL;
}

static const char *param_key_at(const void *arr, size_t i)
{
    return ((const struct aa_sf_param *)arr)[i].key;
}

static const char *member_key_at(const void *arr, size_t i)
{
    return ((const struct aa_sf_dict_member *)arr)[i].key;
}

/* Make room for element |n| of an array whose capacity is |*cap|. */
static int grow(void **v, size_t *cap, size_t n, size_t elsize)
{
    size_t ncap;
    void *nv;

    if (n < *cap)
        return AA_OK;
    ncap = *cap ? *cap * 2 : 4;
    nv = realloc(*v, ncap * elsize);
    if (nv == NULL)
        return AA_E_NOMEM;
    *v = nv;
    *cap = ncap;
    return AA_OK;
}

static int nomem(struct sfp *p)
{
    return aa_fail(p->d, AA_E_NOMEM, NULL, "out of memory while parsing a structured field");
}

/* ---- RFC 8941 §4.2.3.3 keys ------------------------------------------ */
static int parse_key(struct sfp *p, char **out)
{
    size_t start = p->pos, i = p->pos;
    char what[24];

    *out = NULL;
    if (i >= p->len || !sf_is_key_first((unsigned char)p->in[i]))
        return aa_fail(
            p->d, AA_E_SF_KEY, "RFC8941#4.2.3.3",
            "key: expected a lowercase letter or '*' at offset %zu, found %s%s", i, SHOW(p, i),
            i < p->len && p->in[i] >= 'A' && p->in[i] <= 'Z' ? " (keys are lowercase)" : "");
    for (i++; i < p->len && sf_is_key_char((unsigned char)p->in[i]); i++)
        if (i + 1 - start > AA_SF_MAX_KEY)
            return aa_fail(p->d, AA_E_LIMIT, "RFC8941#3.1.2",
                           "key at offset %zu is longer than %d characters "
                           "(AA_SF_MAX_KEY)",
                           start, AA_SF_MAX_KEY);
    *out = aa_strndup(p->in + start, i - start);
    if (*out == NULL)
        return nomem(p);
    p->pos = i;
    return AA_OK;
}

/* ---- RFC 8941 §4.2.4 integers and decimals ---------------------------- */
static int parse_number(struct sfp *p, struct aa_sf_bare *out)
{
    size_t start = p->pos, ndigits = 0, nfrac = 0;
    int64_t ival = 0, frac = 0;
    bool neg = false, dec = false;
    char what[24];

    if (peek(p) == '-') {
        neg = true;
        p->pos++;
    }
    if (at_end(p) || !sf_is_digit(peek(p)))
        return aa_fail(p->d, AA_E_SF_INTEGER, "RFC8941#4.2.4",
                       "number: expected a digit at offset %zu, found %s", p->pos, SHOW(p, p->pos));
    while (!at_end(p)) {
        unsigned char c = peek(p);
        if (sf_is_digit(c)) {
            if (dec) {
                frac = frac * 10 + (c - '0');
                nfrac++;
            } else {
                ival = ival * 10 + (c - '0');
            }
        } else if (!dec && c == '.') {
            /* input_number holds only digits here; RFC: "If input_number
             * contains more than 12 characters, fail parsing." */
            if (ndigits > 12)
                return aa_fail(p->d, AA_E_SF_DECIMAL, "RFC8941#4.2.4",
                               "decimal at offset %zu has %zu integer digits "
                               "(at most 12)",
                               start, ndigits);
            dec = true;
        } else {
            break;
        }
        p->pos++;
        ndigits++;
        if (!dec && ndigits > 15)
            return aa_fail(p->d, AA_E_SF_INTEGER, "RFC8941#4.2.4",
                           "integer at offset %zu has more than 15 digits", start);
        if (dec && ndigits > 16)
            return aa_fail(p->d, AA_E_SF_DECIMAL, "RFC8941#4.2.4",
                           "decimal at offset %zu is longer than 16 characters", start);
    }
    memset(out, 0, sizeof(*out));
    if (!dec) {
        out->type = AA_SF_INTEGER;
        out->i = neg ? -ival : ival;
        return AA_OK;
    }
    if (nfrac == 0)
        return aa_fail(p->d, AA_E_SF_DECIMAL, "RFC8941#4.2.4",
                       "decimal at offset %zu ends with '.' (a fraction digit is required)", start);
    if (nfrac > 3)
        return aa_fail(p->d, AA_E_SF_DECIMAL, "RFC8941#4.2.4",
                       "decimal at offset %zu has %zu fraction digits (at most 3)", start, nfrac);
    while (nfrac++ < 3)
        frac *= 10;
    out->type = AA_SF_DECIMAL;
    out->i = ival * 1000 + frac;
    if (neg)
        out->i = -out->i;
    return AA_OK;
}

/* ---- RFC 8941 §4.2.5 strings ----------------------------------------- */
static int parse_string(struct sfp *p, struct aa_sf_bare *out)
{
    size_t start = p->pos;
    struct aa_buf b;
    char what[24];
    int rc;

    aa_buf_init(&b, AA_SF_MAX_INPUT + 1);
    p->pos++; /* DQUOTE */
    while (!at_end(p)) {
        size_t run = p->pos;
        unsigned char c;

        /* copy a run of plain characters at once */
        while (run < p->len) {
            c = (unsigned char)p->in[run];
            if (c == '\\' || c == '"' || c < 0x20 || c > 0x7e)
                break;
            run++;
        }
        if (run > p->pos && (rc = aa_buf_add(&b, p->in + p->pos, run - p->pos)) != AA_OK)
            goto fault;
        p->pos = run;
        if (at_end(p))
            break;
        c = peek(p);
        if (c == '\\') {
            p->pos++;
            if (at_end(p)) {
                rc = aa_fail(p->d, AA_E_SF_STRING, "RFC8941#4.2.5",
                             "string: '\\' at offset %zu ends the input", p->pos - 1);
                goto out;
            }
            c = peek(p);
            if (c != '"' && c != '\\') {
                rc = aa_fail(p->d, AA_E_SF_STRING, "RFC8941#4.2.5",
                             "string: escape of %s at offset %zu (only \\\" and \\\\ "
                             "are allowed)",
                             SHOW(p, p->pos), p->pos);
                goto out;
            }
            if ((rc = aa_buf_addc(&b, (char)c)) != AA_OK)
                goto fault;
            p->pos++;
        } else if (c == '"') {
            p->pos++;
            memset(out, 0, sizeof(*out));
            out->type = AA_SF_STRING;
            if ((rc = aa_buf_addc(&b, '\0')) != AA_OK)
                goto fault;
            out->s = aa_buf_detach(&b, &out->len);
            out->len--; /* the NUL added above */
            return AA_OK;
        } else {
            rc = aa_fail(p->d, AA_E_SF_STRING, "RFC8941#4.2.5",
                         "string: %s at offset %zu is not allowed (only visible "
                         "ASCII and SP)",
                         SHOW(p, p->pos), p->pos);
            goto out;
        }
    }
    rc = aa_fail(p->d, AA_E_SF_STRING, "RFC8941#4.2.5",
                 "string starting at offset %zu has no closing '\"'", start);
    goto out;
fault:
    rc = rc == AA_E_NOMEM ? nomem(p) : aa_fail(p->d, rc, "RFC8941#4.2.5", "string too long");
out:
    aa_buf_free(&b);
    return rc;
}

/* ---- RFC 8941 §4.2.6 tokens ------------------------------------------ */
static int parse_token(struct sfp *p, struct aa_sf_bare *out)
{
    size_t start = p->pos, i = p->pos + 1;

    while (i < p->len && sf_is_token_char((unsigned char)p->in[i]))
        i++;
    memset(out, 0, sizeof(*out));
    out->type = AA_SF_TOKEN;
    out->s = aa_strndup(p->in + start, i - start);
    if (out->s == NULL) {
        out->type = 0;
        return nomem(p);
    }
    out->len = i - start;
    p->pos = i;
    return AA_OK;
}

/* ---- RFC 8941 §4.2.7 byte sequences ---------------------------------- */
static int parse_bytes(struct sfp *p, struct aa_sf_bare *out)
{
    size_t start = p->pos, from = p->pos + 1, end, cap, n = 0;
    const char *close;
    struct aa_diag bd;
    uint8_t *buf;
    char what[24];
    int rc;

    close = memchr(p->in + from, ':', p->len - from);
    if (close == NULL)
        return aa_fail(p->d, AA_E_SF_BYTES, "RFC8941#4.2.7",
                       "byte sequence starting at offset %zu has no closing ':'", start);
    end = (size_t)(close - p->in);
    /* RFC: fail on anything outside ALPHA, DIGIT, "+", "/" and "=" — name
     * base64url when that is what the sender used. */
    for (size_t i = from; i < end; i++) {
        unsigned char c = (unsigned char)p->in[i];
        if (!sf_is_alpha(c) && !sf_is_digit(c) && c != '+' && c != '/' && c != '=')
            return aa_fail(p->d, AA_E_SF_BYTES, "RFC8941#4.2.7",
                           "byte sequence: %s%s at offset %zu is outside base64%s",
                           c >= 0x20 && c < 0x7f ? "character " : "", SHOW(p, i), i,
                           c == '-' || c == '_' ? " (it belongs to base64url)" : "");
    }
    cap = aa_b64_decoded_max(end - from) + 1;
    buf = malloc(cap);
    if (buf == NULL)
        return nomem(p);
    /* §4.2.7: parsers SHOULD NOT fail on missing "=" padding or on non-zero
     * pad bits, so padding is optional and trailing bits are not checked. */
    aa_diag_clear(&bd);
    rc = aa_b64_decode(p->in + from, end - from, AA_B64_STD, AA_B64_PAD_OPTIONAL, 0, buf, cap - 1,
                       &n, &bd);
    if (rc != AA_OK) {
        free(buf);
        if (rc == AA_E_NOMEM)
            return nomem(p);
        return aa_fail(p->d, AA_E_SF_BYTES, "RFC8941#4.2.7",
                       "byte sequence at offset %zu is not valid base64 (offsets below "
                       "count from its first base64 character): %s",
                       start, bd.msg);
    }
    buf[n] = 0;
    memset(out, 0, sizeof(*out));
    out->type = AA_SF_BYTES;
    out->s = (char *)buf;
    out->len = n;
    p->pos = end + 1;
    return AA_OK;
}

/* ---- RFC 8941 §4.2.8 booleans ---------------------------------------- */
static int parse_boolean(struct sfp *p, struct aa_sf_bare *out)
{
    size_t start = p->pos;
    char what[24];
    unsigned char c;

    p->pos++; /* "?" */
    c = peek(p);
    if (at_end(p) || (c != '0' && c != '1')) {
        p->pos = start;
        return aa_fail(p->d, AA_E_SF_BOOLEAN, "RFC8941#4.2.8",
                       "boolean at offset %zu: expected '?1' or '?0', found %s after '?'", start,
                       SHOW(p, start + 1));
    }
    p->pos++;
    memset(out, 0, sizeof(*out));
    out->type = AA_SF_BOOLEAN;
    out->b = c == '1';
    return AA_OK;
}

/* ---- RFC 9651 §4.2.9 dates ------------------------------------------- */
static int parse_date(struct sfp *p, struct aa_sf_bare *out)
{
    size_t start = p->pos;
    int rc;

    p->pos++; /* "@" */
    rc = parse_number(p, out);
    if (rc != AA_OK) {
        if (p->d != NULL && rc != AA_E_NOMEM) {
            p->d->code = AA_E_SF_DATE;
            p->d->ref = "RFC9651#4.2.9";
            aa_diag_prefix(p->d, "date at offset %zu", start);
        }
        return rc == AA_E_NOMEM ? rc : AA_E_SF_DATE;
    }
    if (out->type != AA_SF_INTEGER) {
        memset(out, 0, sizeof(*out));
        return aa_fail(p->d, AA_E_SF_DATE, "RFC9651#4.2.9",
                       "date at offset %zu is a decimal (a date is an integer number "
                       "of seconds)",
                       start);
    }
    out->type = AA_SF_DATE;
    return AA_OK;
}

/* ---- RFC 9651 §4.2.10 display strings -------------------------------- */
static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase hex is not allowed in a display string */
}

static int parse_display(struct sfp *p, struct aa_sf_bare *out)
{
    size_t start = p->pos, bad;
    struct aa_buf b;
    char what[24];
    int rc;

    if (p->pos + 1 >= p->len || p->in[p->pos + 1] != '"')
        return aa_fail(p->d, AA_E_SF_DISPLAY, "RFC9651#4.2.10",
                       "display string at offset %zu: expected '\"' after '%%', found %s", start,
                       SHOW(p, p->pos + 1));
    aa_buf_init(&b, AA_SF_MAX_INPUT + 1);
    p->pos += 2;
    while (!at_end(p)) {
        unsigned char c = peek(p);
        if (c < 0x20 || c > 0x7e) {
            rc = aa_fail(p->d, AA_E_SF_DISPLAY, "RFC9651#4.2.10",
                         "display string: %s at offset %zu is not allowed (non-ASCII "
                         "text is percent-encoded)",
                         SHOW(p, p->pos), p->pos);
            goto out;
        }
        if (c == '%') {
            int hi, lo;
            if (p->pos + 2 >= p->len) {
                rc = aa_fail(p->d, AA_E_SF_DISPLAY, "RFC9651#4.2.10",
                             "display string: '%%' at offset %zu is not followed by two "
                             "hex digits",
                             p->pos);
                goto out;
            }
            hi = hexval((unsigned char)p->in[p->pos + 1]);
            lo = hexval((unsigned char)p->in[p->pos + 2]);
            if (hi < 0 || lo < 0) {
                size_t at = p->pos + (hi < 0 ? 1 : 2);
                rc = aa_fail(p->d, AA_E_SF_DISPLAY, "RFC9651#4.2.10",
                             "display string: %s at offset %zu is not a lowercase hex "
                             "digit",
                             SHOW(p, at), at);
                goto out;
            }
            if ((rc = aa_buf_addc(&b, (char)(hi << 4 | lo))) != AA_OK)
                goto fault;
            p->pos += 3;
        } else if (c == '"') {
            p->pos++;
            bad = aa_sf_utf8_bad_at((const uint8_t *)b.p, b.len);
            if (bad != b.len) {
                rc = aa_fail(p->d, AA_E_SF_DISPLAY, "RFC9651#4.2.10",
                             "display string at offset %zu is not valid UTF-8 (decoded "
                             "byte %zu, 0x%02x)",
                             start, bad, (unsigned char)b.p[bad]);
                goto out;
            }
            if ((rc = aa_buf_addc(&b, '\0')) != AA_OK)
                goto fault;
            memset(out, 0, sizeof(*out));
            out->type = AA_SF_DISPLAY;
            out->s = aa_buf_detach(&b, &out->len);
            out->len--;
            return AA_OK;
        } else {
            if ((rc = aa_buf_addc(&b, (char)c)) != AA_OK)
                goto fault;
            p->pos++;
        }
    }
    rc = aa_fail(p->d, AA_E_SF_DISPLAY, "RFC9651#4.2.10",
                 "display string starting at offset %zu has no closing '\"'", start);
    goto out;
fault:
    rc = rc == AA_E_NOMEM ? nomem(p)
                          : aa_fail(p->d, rc, "RFC9651#4.2.10", "display string too long");
out:
    aa_buf_free(&b);
    return rc;
}

/* ---- RFC 8941 §4.2.3.1 bare items ------------------------------------ */
static int parse_bare(struct sfp *p, struct aa_sf_bare *out)
{
    unsigned char c = peek(p);
    char what[24];

    memset(out, 0, sizeof(*out));
    if (!at_end(p)) {
        if (c == '-' || sf_is_digit(c))
            return parse_number(p, out);
        if (c == '"')
            return parse_string(p, out);
        if (sf_is_token_first(c))
            return parse_token(p, out);
        if (c == ':')
            return parse_bytes(p, out);
        if (c == '?')
            return parse_boolean(p, out);
        if (c == '@')
            return parse_date(p, out);
        if (c == '%')
            return parse_display(p, out);
    }
    return aa_fail(p->d, AA_E_SF_SYNTAX, "RFC8941#4.2.3.1",
                   "expected an item at offset %zu, found %s", p->pos, SHOW(p, p->pos));
}

/* ---- RFC 8941 §4.2.3.2 parameters ------------------------------------ */
static int parse_params(struct sfp *p, struct aa_sf_params *out)
{
    struct aa_sf_params ps = {NULL, 0};
    struct keymap km = {NULL, 0};
    size_t cap = 0;
    int rc = AA_OK;

    while (peek(p) == ';' && !at_end(p)) {
        struct aa_sf_bare v;
        char *key = NULL;
        size_t idx;

        p->pos++;
        skip_sp(p);
        if ((rc = parse_key(p, &key)) != AA_OK)
            goto fail;
        memset(&v, 0, sizeof(v));
        v.type = AA_SF_BOOLEAN;
        v.b = true;
        if (peek(p) == '=' && !at_end(p)) {
            p->pos++;
            if ((rc = parse_bare(p, &v)) != AA_OK) {
                free(key);
                goto fail;
            }
        }
        idx = km_find(&km, ps.v, param_key_at, ps.n, key);
        if (idx != SIZE_MAX) {
            free(key);
            aa_sf_bare_free(&ps.v[idx].value);
            ps.v[idx].value = v;
            continue;
        }
        if (ps.n >= AA_SF_MAX_PARAMS) {
            free(key);
            aa_sf_bare_free(&v);
            rc = aa_fail(p->d, AA_E_LIMIT, "RFC8941#3.1.2",
                         "parameters: more than %d on one item (AA_SF_MAX_PARAMS) "
                         "at offset %zu",
                         AA_SF_MAX_PARAMS, p->pos);
            goto fail;
        }
        if ((rc = grow((void **)&ps.v, &cap, ps.n, sizeof(*ps.v))) != AA_OK) {
            free(key);
            aa_sf_bare_free(&v);
            rc = nomem(p);
            goto fail;
        }
        ps.v[ps.n].key = key;
        ps.v[ps.n].value = v;
        ps.n++;
        if (km_added(&km, ps.v, param_key_at, ps.n, AA_SF_MAX_PARAMS) != AA_OK) {
            rc = nomem(p);
            goto fail;
        }
    }
    km_free(&km);
    *out = ps;
    return AA_OK;
fail:
    km_free(&km);
    aa_sf_params_free(&ps);
    return rc;
}

/* ---- RFC 8941 §4.2.3 items ------------------------------------------- */
static int parse_item(struct sfp *p, struct aa_sf_item *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = parse_bare(p, &out->bare)) != AA_OK)
        return rc;
    if ((rc = parse_params(p, &out->params)) != AA_OK) {
        aa_sf_bare_free(&out->bare);
        return rc;
    }
    return AA_OK;
}

/* ---- RFC 8941 §4.2.1.2 inner lists ----------------------------------- */
static int parse_inner_list(struct sfp *p, struct aa_sf_item *out)
{
    size_t start = p->pos, cap = 0;
    struct aa_sf_item il;
    char what[24];
    int rc;

    memset(&il, 0, sizeof(il));
    il.bare.type = AA_SF_INNER_LIST;
    p->pos++; /* "(" */
    for (;;) {
        skip_sp(p);
        if (at_end(p))
            break;
        if (peek(p) == ')') {
            p->pos++;
            if ((rc = parse_params(p, &il.params)) != AA_OK)
                goto fail;
            *out = il;
            return AA_OK;
        }
        if (il.n_inner >= AA_SF_MAX_MEMBERS) {
            rc = aa_fail(p->d, AA_E_LIMIT, "RFC8941#3.1.1",
                         "inner list at offset %zu has more than %d items "
                         "(AA_SF_MAX_MEMBERS)",
                         start, AA_SF_MAX_MEMBERS);
            goto fail;
        }
        if (grow((void **)&il.inner, &cap, il.n_inner, sizeof(*il.inner)) != AA_OK) {
            rc = nomem(p);
            goto fail;
        }
        if ((rc = parse_item(p, &il.inner[il.n_inner])) != AA_OK)
            goto fail;
        il.n_inner++;
        if (!at_end(p) && peek(p) != ' ' && peek(p) != ')') {
            rc = aa_fail(p->d, AA_E_SF_SYNTAX, "RFC8941#4.2.1.2",
                         "inner list: expected ' ' or ')' after an item at offset %zu, "
                         "found %s",
                         p->pos, SHOW(p, p->pos));
            goto fail;
        }
    }
    rc = aa_fail(p->d, AA_E_SF_SYNTAX, "RFC8941#4.2.1.2",
                 "inner list starting at offset %zu has no closing ')'", start);
fail:
    aa_sf_item_free(&il);
    return rc;
}

/* RFC 8941 §4.2.1.1 */
static int parse_item_or_inner(struct sfp *p, struct aa_sf_item *out)
{
    if (peek(p) == '(' && !at_end(p))
        return parse_inner_list(p, out);
    return parse_item(p, out);
}

/* ---- RFC 8941 §4.2.1 lists ------------------------------------------- */
/* Between the members of a list (RFC8941#4.2.1) or a dictionary
 * (RFC8941#4.2.2), the same steps: after a member and its OWS, a ','
 * then OWS, and another member must follow. |kind| and |ref| name the
 * field kind in the error. */
static int member_separator(struct sfp *p, const char *kind, const char *ref)
{
    char what[24]; /* SHOW's buffer */

    if (peek(p) != ',')
        return aa_fail(p->d, AA_E_SF_SYNTAX, ref,
                       "%s: expected ',' after a member at offset %zu, found %s", kind, p->pos,
                       SHOW(p, p->pos));
    p->pos++;
    skip_ows(p);
    if (at_end(p))
        return aa_fail(p->d, AA_E_SF_SYNTAX, ref,
                       "%s: trailing ',' (no member after it) at offset %zu", kind, p->pos);
    return AA_OK;
}

static int parse_list_members(struct sfp *p, struct aa_sf_list *out)
{
    struct aa_sf_list l = {NULL, 0};
    size_t cap = 0;
    int rc;

    while (!at_end(p)) {
        if (l.n >= AA_SF_MAX_MEMBERS) {
            rc = aa_fail(p->d, AA_E_LIMIT, "RFC8941#3.1",
                         "list: more than %d members (AA_SF_MAX_MEMBERS) at offset %zu",
                         AA_SF_MAX_MEMBERS, p->pos);
            goto fail;
        }
        if (grow((void **)&l.v, &cap, l.n, sizeof(*l.v)) != AA_OK) {
            rc = nomem(p);
            goto fail;
        }
        if ((rc = parse_item_or_inner(p, &l.v[l.n])) != AA_OK)
            goto fail;
        l.n++;
        skip_ows(p);
        if (at_end(p))
            break;
        if ((rc = member_separator(p, "list", "RFC8941#4.2.1")) != AA_OK)
            goto fail;
    }
    *out = l;
    return AA_OK;
fail:
    aa_sf_list_free(&l);
    return rc;
}

/* ---- RFC 8941 §4.2.2 dictionaries ------------------------------------ */
static int parse_dict_members(struct sfp *p, struct aa_sf_dict *out)
{
    struct aa_sf_dict dct = {NULL, 0};
    struct keymap km = {NULL, 0};
    size_t cap = 0;
    int rc;

    while (!at_end(p)) {
        struct aa_sf_item it;
        char *key = NULL;
        size_t idx;

        if ((rc = parse_key(p, &key)) != AA_OK)
            goto fail;
        if (peek(p) == '=' && !at_end(p)) {
            p->pos++;
            rc = parse_item_or_inner(p, &it);
        } else {
            /* a bare key is Boolean true with parameters */
            memset(&it, 0, sizeof(it));
            it.bare.type = AA_SF_BOOLEAN;
            it.bare.b = true;
            rc = parse_params(p, &it.params);
        }
        if (rc != AA_OK) {
            free(key);
            goto fail;
        }
        idx = km_find(&km, dct.v, member_key_at, dct.n, key);
        if (idx != SIZE_MAX) {
            free(key);
            aa_sf_item_free(&dct.v[idx].item);
            dct.v[idx].item = it;
        } else if (dct.n >= AA_SF_MAX_MEMBERS) {
            free(key);
            aa_sf_item_free(&it);
            rc = aa_fail(p->d, AA_E_LIMIT, "RFC8941#3.2",
                         "dictionary: more than %d members (AA_SF_MAX_MEMBERS) at "
                         "offset %zu",
                         AA_SF_MAX_MEMBERS, p->pos);
            goto fail;
        } else if (grow((void **)&dct.v, &cap, dct.n, sizeof(*dct.v)) != AA_OK) {
            free(key);
            aa_sf_item_free(&it);
            rc = nomem(p);
            goto fail;
        } else {
            dct.v[dct.n].key = key;
            dct.v[dct.n].item = it;
            dct.n++;
            if (km_added(&km, dct.v, member_key_at, dct.n, AA_SF_MAX_MEMBERS) != AA_OK) {
                rc = nomem(p);
                goto fail;
            }
        }
        skip_ows(p);
        if (at_end(p))
            break;
        if ((rc = member_separator(p, "dictionary", "RFC8941#4.2.2")) != AA_OK)
            goto fail;
    }
    km_free(&km);
    *out = dct;
    return AA_OK;
fail:
    km_free(&km);
    aa_sf_dict_free(&dct);
    return rc;
}

/* ---- RFC 8941 §4.2 entry points -------------------------------------- */
enum field_kind { FK_ITEM, FK_LIST, FK_DICT };

static const char *kind_name(enum field_kind k)
{
    return k == FK_ITEM ? "item" : k == FK_LIST ? "list" : "dictionary";
}

static int parse_field(const char *in, size_t len, enum field_kind kind, void *out,
                       struct aa_diag *d)
{
    struct sfp p = {in, len, 0, d};
    char what[24];
    int rc;

    if (len > AA_SF_MAX_INPUT)
        return aa_fail(d, AA_E_LIMIT, "RFC8941#4.2",
                       "structured field: %zu bytes exceeds the %d-byte limit "
                       "(AA_SF_MAX_INPUT)",
                       len, AA_SF_MAX_INPUT);
    /* §4.2 step 1: the field value must be ASCII. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] > 0x7f)
            return aa_fail(d, AA_E_SF_SYNTAX, "RFC8941#4.2",
                           "structured field: non-ASCII byte 0x%02x at offset %zu",
                           (unsigned char)in[i], i);
    skip_sp(&p);
    switch (kind) {
    case FK_ITEM:
        rc = parse_item(&p, out);
        break;
    case FK_LIST:
        rc = parse_list_members(&p, out);
        break;
    default:
        rc = parse_dict_members(&p, out);
        break;
    }
    if (rc != AA_OK)
        return rc;
    skip_sp(&p);
    if (!at_end(&p)) {
        rc = aa_fail(d, AA_E_SF_TRAILING, "RFC8941#4.2",
                     "%s: unexpected %s at offset %zu after the value", kind_name(kind),
                     SHOW(&p, p.pos), p.pos);
        if (kind == FK_ITEM)
            aa_sf_item_free(out);
        else if (kind == FK_LIST)
            aa_sf_list_free(out);
        else
            aa_sf_dict_free(out);
        return rc;
    }
    return AA_OK;
}

/* The three public entry points differ only in the type of |out| (|size|
 * bytes): it starts zeroed, so a caller may free it whatever the result;
 * |fn| names the entry point in the argument error. */
static int parse_entry(const char *fn, const char *in, size_t len, enum field_kind kind, void *out,
                       size_t size, struct aa_diag *d)
{
    if (out != NULL)
        memset(out, 0, size);
    if (out == NULL || (in == NULL && len > 0))
        return aa_fail(d, AA_E_INVAL, NULL, "%s: NULL argument", fn);
    return parse_field(in, len, kind, out, d);
}

int aa_sf_parse_item(const char *in, size_t len, struct aa_sf_item *out, struct aa_diag *d)
{
    return parse_entry("aa_sf_parse_item", in, len, FK_ITEM, out, sizeof(*out), d);
}

int aa_sf_parse_list(const char *in, size_t len, struct aa_sf_list *out, struct aa_diag *d)
{
    return parse_entry("aa_sf_parse_list", in, len, FK_LIST, out, sizeof(*out), d);
}

int aa_sf_parse_dict(const char *in, size_t len, struct aa_sf_dict *out, struct aa_diag *d)
{
    return parse_entry("aa_sf_parse_dict", in, len, FK_DICT, out, sizeof(*out), d);
}

int aa_sf_parse_key_at(const char *in, size_t len, size_t *pos, char **out, struct aa_diag *d)
{
    struct sfp p = {in, len, 0, d};
    int rc;

    if (out != NULL)
        *out = NULL;
    if (pos == NULL || out == NULL || (in == NULL && len > 0) || *pos > len)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_sf_parse_key_at: bad argument");
    if (len > AA_SF_MAX_INPUT)
        return aa_fail(d, AA_E_LIMIT, "RFC8941#4.2",
                       "structured field: %zu bytes exceeds the %d-byte limit "
                       "(AA_SF_MAX_INPUT)",
                       len, AA_SF_MAX_INPUT);
    p.pos = *pos;
    if ((rc = parse_key(&p, out)) == AA_OK)
        *pos = p.pos;
    return rc;
}

int aa_sf_parse_bare_at(const char *in, size_t len, size_t *pos, struct aa_sf_bare *out,
                        struct aa_diag *d)
{
    struct sfp p = {in, len, 0, d};
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (pos == NULL || out == NULL || (in == NULL && len > 0) || *pos > len)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_sf_parse_bare_at: bad argument");
    if (len > AA_SF_MAX_INPUT)
        return aa_fail(d, AA_E_LIMIT, "RFC8941#4.2",
                       "structured field: %zu bytes exceeds the %d-byte limit "
                       "(AA_SF_MAX_INPUT)",
                       len, AA_SF_MAX_INPUT);
    p.pos = *pos;
    if ((rc = parse_bare(&p, out)) == AA_OK)
        *pos = p.pos;
    else
        memset(out, 0, sizeof(*out));
    return rc;
}
