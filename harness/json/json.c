/*
 * aa_json: strict JSON intake (RFC 8259) in front of cJSON.
 *
 * Design choice: one validating pass over the raw text enforces every rule
 * cJSON is lax about (duplicate names, depth, UTF-8, lone surrogates, number
 * grammar, trailing bytes); only text that passed is handed to cJSON, so
 * the tree a caller sees can never disagree with what the validator read.
 * Duplicate names are found per object by sorting the unescaped names when
 * the object closes, so a hostile 1 MiB object costs n log n, not n^2.
 */
#include "aa_json.h"

#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One member name seen in the object currently open at some level. */
struct name_ent {
    size_t off; /* into jv.names */
    size_t len;
    size_t at;     /* offset of the name in the input, for the message */
    const char *p; /* set just before sorting */
};

struct jv {
    const unsigned char *s;
    size_t n;
    size_t i;
    int max_depth;
    struct aa_diag *d;
    struct name_ent *ents;
    size_t nents;
    size_t cap_ents;
    struct aa_buf names; /* unescaped member names of all open objects */
};

static int parse_value(struct jv *v, int depth);

static void skip_ws(struct jv *v)
{
    /* RFC8259#2: exactly these four are insignificant whitespace. */
    while (v->i < v->n &&
           (v->s[v->i] == ' ' || v->s[v->i] == '\t' || v->s[v->i] == '\n' || v->s[v->i] == '\r'))
        v->i++;
}

static const char *show(unsigned char c, char buf[8])
{
    if (c >= 0x21 && c <= 0x7e)
        aa_snprintf(buf, 8, "'%c'", c);
    else
        aa_snprintf(buf, 8, "0x%02x", c);
    return buf;
}

static int unexpected(struct jv *v, const char *ref, const char *what)
{
    char b[8];
    if (v->i >= v->n)
        return aa_fail(v->d, AA_E_JSON_SYNTAX, ref, "offset %zu: input ends where %s was expected",
                       v->i, what);
    return aa_fail(v->d, AA_E_JSON_SYNTAX, ref, "offset %zu: %s where %s was expected", v->i,
                   show(v->s[v->i], b), what);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at v->i (after "\u"); advances past them. */
static int read_u16(struct jv *v, unsigned *out)
{
    unsigned u = 0;
    if (v->n - v->i < 4)
        return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#7",
                       "offset %zu: \\u escape needs four hex digits", v->i);
    for (int k = 0; k < 4; k++) {
        int h = hexval(v->s[v->i + (size_t)k]);
        if (h < 0)
            return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#7",
                           "offset %zu: \\u escape needs four hex digits", v->i);
        u = u << 4 | (unsigned)h;
    }
    v->i += 4;
    *out = u;
    return AA_OK;
}

static int put_utf8(struct aa_buf *b, unsigned cp)
{
    char t[4];
    size_t k;
    if (cp < 0x80) {
        t[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xc0 | cp >> 6);
        t[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xe0 | cp >> 12);
        t[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        t[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        t[0] = (char)(0xf0 | cp >> 18);
        t[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        t[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        t[3] = (char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    return aa_buf_add(b, t, k);
}

/*
 * One UTF-8 sequence at v->i (first byte >= 0x80). RFC 3629 §4 table:
 * no overlong forms, no surrogates (U+D800..DFFF), nothing past U+10FFFF.
 */
static int utf8_seq(struct jv *v, size_t *seqlen)
{
    const unsigned char *p = v->s + v->i;
    size_t avail = v->n - v->i;
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* > U+10FFFF */
    } else {
        return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#8.1",
                       "offset %zu: byte 0x%02x cannot start a UTF-8 sequence", v->i, c);
    }
    if (avail < len)
        return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#8.1", "offset %zu: truncated UTF-8 sequence",
                       v->i);
    if (p[1] < lo || p[1] > hi)
        return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#8.1",
                       "offset %zu: invalid UTF-8 (overlong, surrogate or out of range)", v->i);
    for (size_t k = 2; k < len; k++)
        if (p[k] < 0x80 || p[k] > 0xbf)
            return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#8.1",
                           "offset %zu: invalid UTF-8 continuation byte", v->i + k);
    *seqlen = len;
    return AA_OK;
}

/*
 * String at v->i (which is '"'). With |name| set, the unescaped bytes are
 * appended to v->names for the duplicate check.
 */
static int parse_string(struct jv *v, bool name)
{
    size_t start = v->i;
    int rc;

    v->i++; /* opening quote */
    for (;;) {
        unsigned char c;
        if (v->i >= v->n)
            return aa_fail(v->d, AA_E_JSON_SYNTAX, "RFC8259#7", "offset %zu: string never closed",
                           start);
        c = v->s[v->i];
        if (c == '"') {
            v->i++;
            return AA_OK;
        }
        if (c < 0x20)
            return aa_fail(v->d, AA_E_JSON_SYNTAX, "RFC8259#7",
                           "offset %zu: control character 0x%02x inside a string "
                           "must be escaped",
                           v->i, c);
        if (c == '\\') {
            unsigned char e;
            unsigned cp;
            if (v->i + 1 >= v->n)
                return aa_fail(v->d, AA_E_JSON_SYNTAX, "RFC8259#7",
                               "offset %zu: string never closed", start);
            e = v->s[v->i + 1];
            v->i += 2;
            switch (e) {
            case '"':
                cp = '"';
                break;
            case '\\':
                cp = '\\';
                break;
            case '/':
                cp = '/';
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u':
                if ((rc = read_u16(v, &cp)) != AA_OK)
                    return rc;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#8.2",
                                   "offset %zu: lone low surrogate \\u%04X", v->i - 6, cp);
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    if (v->n - v->i < 2 || v->s[v->i] != '\\' || v->s[v->i + 1] != 'u')
                        return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#8.2",
                                       "offset %zu: high surrogate \\u%04X not followed "
                                       "by a low surrogate",
                                       v->i - 6, cp);
                    v->i += 2;
                    if ((rc = read_u16(v, &lo)) != AA_OK)
                        return rc;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#8.2",
                                       "offset %zu: high surrogate \\u%04X followed by "
                                       "\\u%04X",
                                       v->i - 12, cp, lo);
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0)
                    return aa_fail(v->d, AA_E_JSON_UTF8, "RFC8259#7",
                                   "offset %zu: \\u0000 is refused (it would truncate "
                                   "the string)",
                                   v->i - 6);
                break;
            default: {
                char b[8];
                return aa_fail(v->d, AA_E_JSON_SYNTAX, "RFC8259#7",
                               "offset %zu: invalid escape character %s after '\\'", v->i - 2,
                               show(e, b));
            }
            }
            if (name && put_utf8(&v->names, cp) != AA_OK)
                return aa_fail(v->d, v->names.err, NULL, "JSON: out of memory");
            continue;
        }
        if (c >= 0x80) {
            size_t k = 0;
            if ((rc = utf8_seq(v, &k)) != AA_OK)
                return rc;
            if (name && aa_buf_add(&v->names, v->s + v->i, k) != AA_OK)
                return aa_fail(v->d, v->names.err, NULL, "JSON: out of memory");
            v->i += k;
            continue;
        }
        if (name && aa_buf_addc(&v->names, (char)c) != AA_OK)
            return aa_fail(v->d, v->names.err, NULL, "JSON: out of memory");
        v->i++;
    }
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* RFC8259#6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int parse_number(struct jv *v)
{
    size_t start = v->i;

    if (v->i < v->n && v->s[v->i] == '-')
        v->i++;
    if (v->i >= v->n || !is_digit(v->s[v->i]))
        return unexpected(v, "RFC8259#6", "a digit");
    if (v->s[v->i] == '0') {
        v->i++;
        if (v->i < v->n && is_digit(v->s[v->i]))
            return aa_fail(v->d, AA_E_JSON_SYNTAX, "RFC8259#6",
                           "offset %zu: number with a leading zero", start);
    } else {
        while (v->i < v->n && is_digit(v->s[v->i]))
            v->i++;
    }
    if (v->i < v->n && v->s[v->i] == '.') {
        v->i++;
        if (v->i >= v->n || !is_digit(v->s[v->i]))
            return unexpected(v, "RFC8259#6", "a digit after the decimal point");
        while (v->i < v->n && is_digit(v->s[v->i]))
            v->i++;
    }
    if (v->i < v->n && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
        v->i++;
        if (v->i < v->n && (v->s[v->i] == '+' || v->s[v->i] == '-'))
            v->i++;
        if (v->i >= v->n || !is_digit(v->s[v->i]))
            return unexpected(v, "RFC8259#6", "an exponent digit");
        while (v->i < v->n && is_digit(v->s[v->i]))
            v->i++;
    }
    if (v->i - start > AA_JSON_MAX_NUMBER_LEN)
        return aa_fail(v->d, AA_E_LIMIT, "RFC8259#9",
                       "offset %zu: number literal of %zu characters exceeds %d", start,
                       v->i - start, AA_JSON_MAX_NUMBER_LEN);
    return AA_OK;
}

static int parse_literal(struct jv *v, const char *lit)
{
    size_t k = strlen(lit);
    if (v->n - v->i < k || memcmp(v->s + v->i, lit, k) != 0)
        return unexpected(v, "RFC8259#3", "a value");
    v->i += k;
    return AA_OK;
}

static int cmp_ent(const void *a, const void *b)
{
    const struct name_ent *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, m);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    /* Equal names: keep input order so the later one is reported. */
    return x->at < y->at ? -1 : (x->at > y->at ? 1 : 0);
}

static void print_name(char *out, size_t cap, const char *p, size_t len)
{
    size_t o = 0, k = 0;
    /* Room for one escape (4), "..." (3) and the NUL. */
    for (; k < len && o + 8 < cap; k++) {
        unsigned char c = (unsigned char)p[k];
        if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\') {
            out[o++] = (char)c;
        } else {
            aa_snprintf(out + o, cap - o, "\\x%02x", c);
            o += 4;
        }
    }
    if (k < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* The object whose names start at ents[first] just closed. */
static int check_duplicates(struct jv *v, size_t first)
{
    size_t cnt = v->nents - first;
    struct name_ent *e = v->ents + first;

    if (cnt < 2)
        return AA_OK;
    for (size_t k = 0; k < cnt; k++)
        e[k].p = v->names.p + e[k].off;
    qsort(e, cnt, sizeof(*e), cmp_ent);
    for (size_t k = 1; k < cnt; k++) {
        if (e[k].len == e[k - 1].len && memcmp(e[k].p, e[k - 1].p, e[k].len) == 0) {
            char nm[96];
            print_name(nm, sizeof(nm), e[k].p, e[k].len);
            return aa_fail(v->d, AA_E_JSON_DUPLICATE, "PROFILE#4.1",
                           "offset %zu: member name \"%s\" appears twice in one object "
                           "(first at offset %zu; D-29)",
                           e[k].at, nm, e[k - 1].at);
        }
    }
    return AA_OK;
}

static int push_name(struct jv *v, size_t off, size_t at)
{
    if (v->nents == v->cap_ents) {
        size_t nc = v->cap_ents ? v->cap_ents * 2 : 16;
        struct name_ent *ne = realloc(v->ents, nc * sizeof(*ne));
        if (ne == NULL)
            return aa_fail(v->d, AA_E_NOMEM, NULL, "JSON: out of memory");
        v->ents = ne;
        v->cap_ents = nc;
    }
    v->ents[v->nents].off = off;
    v->ents[v->nents].len = v->names.len - off;
    v->ents[v->nents].at = at;
    v->ents[v->nents].p = NULL;
    v->nents++;
    return AA_OK;
}

static int enter(struct jv *v, int depth)
{
    if (depth > v->max_depth)
        return aa_fail(v->d, AA_E_JSON_DEPTH, "PROFILE#4.1",
                       "offset %zu: nesting depth %d exceeds the limit of %d", v->i, depth,
                       v->max_depth);
    return AA_OK;
}

static int parse_object(struct jv *v, int depth)
{
    size_t first = v->nents;
    size_t names_mark = v->names.len;
    int rc;

    if ((rc = enter(v, depth)) != AA_OK)
        return rc;
    v->i++; /* '{' */
    skip_ws(v);
    if (v->i < v->n && v->s[v->i] == '}') {
        v->i++;
        return AA_OK;
    }
    for (;;) {
        size_t at = v->i, off = v->names.len;
        if (v->i >= v->n || v->s[v->i] != '"')
            return unexpected(v, "RFC8259#4", "a member name (string)");
        if ((rc = parse_string(v, true)) != AA_OK)
            return rc;
        if ((rc = push_name(v, off, at)) != AA_OK)
            return rc;
        skip_ws(v);
        if (v->i >= v->n || v->s[v->i] != ':')
            return unexpected(v, "RFC8259#4", "':'");
        v->i++;
        skip_ws(v);
        if ((rc = parse_value(v, depth)) != AA_OK)
            return rc;
        skip_ws(v);
        if (v->i < v->n && v->s[v->i] == ',') {
            v->i++;
            skip_ws(v);
            continue;
        }
        if (v->i < v->n && v->s[v->i] == '}') {
            v->i++;
            break;
        }
        return unexpected(v, "RFC8259#4", "',' or '}'");
    }
    if ((rc = check_duplicates(v, first)) != AA_OK)
        return rc;
    /* Names of a closed object are never compared again. */
    v->nents = first;
    v->names.len = names_mark;
    return AA_OK;
}

static int parse_array(struct jv *v, int depth)
{
    int rc;

    if ((rc = enter(v, depth)) != AA_OK)
        return rc;
    v->i++; /* '[' */
    skip_ws(v);
    if (v->i < v->n && v->s[v->i] == ']') {
        v->i++;
        return AA_OK;
    }
    for (;;) {
        if ((rc = parse_value(v, depth)) != AA_OK)
            return rc;
        skip_ws(v);
        if (v->i < v->n && v->s[v->i] == ',') {
            v->i++;
            skip_ws(v);
            continue;
        }
        if (v->i < v->n && v->s[v->i] == ']') {
            v->i++;
            return AA_OK;
        }
        return unexpected(v, "RFC8259#5", "',' or ']'");
    }
}

static int parse_value(struct jv *v, int depth)
{
    if (v->i >= v->n)
        return unexpected(v, "RFC8259#3", "a value");
    switch (v->s[v->i]) {
    case '{':
        return parse_object(v, depth + 1);
    case '[':
        return parse_array(v, depth + 1);
    case '"':
        return parse_string(v, false);
    case 't':
        return parse_literal(v, "true");
    case 'f':
        return parse_literal(v, "false");
    case 'n':
        return parse_literal(v, "null");
    default:
        if (v->s[v->i] == '-' || is_digit(v->s[v->i]))
            return parse_number(v);
        return unexpected(v, "RFC8259#3", "a value");
    }
}

int aa_json_parse(const char *text, size_t len, const struct aa_json_opts *opts, cJSON **out,
                  struct aa_diag *d)
{
    struct jv v;
    int max_depth = AA_JSON_MAX_DEPTH;
    size_t max_len = AA_JSON_MAX_INPUT;
    bool any_root = false;
    int rc;
    cJSON *tree;
    const char *end = NULL;

    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_json_parse: out is NULL");
    *out = NULL;
    if (text == NULL && len > 0)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_json_parse: text is NULL");
    if (opts != NULL) {
        if (opts->max_depth < 0 || opts->max_depth > AA_JSON_DEPTH_CEILING)
            return aa_fail(d, AA_E_INVAL, NULL, "aa_json_parse: max_depth %d out of range",
                           opts->max_depth);
        if (opts->max_depth > 0)
            max_depth = opts->max_depth;
        if (opts->max_len > 0)
            max_len = opts->max_len;
        any_root = opts->allow_any_root;
    }
    if (len > max_len)
        return aa_fail(d, AA_E_LIMIT, "PROFILE#9",
                       "JSON text of %zu bytes exceeds the limit of %zu bytes", len, max_len);

    memset(&v, 0, sizeof(v));
    v.s = (const unsigned char *)(text ? text : "");
    v.n = len;
    v.max_depth = max_depth;
    v.d = d;
    aa_buf_init(&v.names, len + 1);
    /* Allocate now so name offsets always refer to a real buffer, even when
     * every name is empty. */
    if (aa_buf_add(&v.names, "", 0) != AA_OK)
        return aa_fail(d, AA_E_NOMEM, NULL, "JSON: out of memory");

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        rc = aa_fail(d, AA_E_JSON_SYNTAX, "RFC8259#8.1",
                     "offset 0: byte order mark before the JSON text");
        goto out;
    }
    skip_ws(&v);
    if (v.i < v.n && v.s[v.i] != '{' && !any_root) {
        rc = aa_fail(d, AA_E_JSON_TYPE, "RFC8259#2",
                     "offset %zu: top-level value must be a JSON object", v.i);
        goto out;
    }
    if ((rc = parse_value(&v, 0)) != AA_OK)
        goto out;
    skip_ws(&v);
    if (v.i != v.n) {
        char b[8];
        rc = aa_fail(d, AA_E_JSON_SYNTAX, "RFC8259#2",
                     "offset %zu: trailing data %s after the JSON value", v.i, show(v.s[v.i], b));
        goto out;
    }

    tree = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (tree == NULL) {
        /* The validator above already refused everything cJSON rejects
         * (grammar, depth <= AA_JSON_DEPTH_CEILING < CJSON_NESTING_LIMIT,
         * number length, backslash-u escapes), so a NULL tree here is an
         * allocation failure and is reported as one: callers tell
         * AA_E_NOMEM apart from AA_E_INTERNAL (test_oom.c). */
        rc = aa_fail(d, AA_E_NOMEM, NULL,
                     "JSON: out of memory (cJSON could not build the tree of validated text)");
        goto out;
    }
    *out = tree;
    rc = AA_OK;
out:
    free(v.ents);
    aa_buf_free(&v.names);
    return rc;
}

const char *aa_json_str(const cJSON *obj, const char *name)
{
    const cJSON *it;
    if (!cJSON_IsObject(obj) || name == NULL)
        return NULL;
    it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

bool aa_json_int(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *it;
    double x;
    if (!cJSON_IsObject(obj) || name == NULL)
        return false;
    it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(it))
        return false;
    x = it->valuedouble;
    if (!isfinite(x) || x != floor(x) || fabs(x) > (double)AA_JSON_INT_MAX)
        return false;
    if (out)
        *out = (int64_t)x;
    return true;
}

/* ---- printing --------------------------------------------------------------------- */

/*
 * aa_json_print walks the tree itself instead of calling
 * cJSON_PrintUnformatted: cJSON 1.7.15 prints a number with 15 significant
 * digits whenever those read back within a relative DBL_EPSILON, so
 * 9007199254740991 (AA_JSON_INT_MAX) came back as 9007199254740990. The
 * walker writes every other value exactly as cJSON's compact form does, and
 * each number as the shortest text that reads back as the same double.
 */

/* 2^53: every integer of at most this magnitude is exactly a double. */
#define EXACT_INT_LIMIT 9007199254740992.0

/* printf %g writes the locale's decimal point; JSON needs '.'. */
static void dot_decimal_point(char *s)
{
    const struct lconv *lc = localeconv();
    char dp = lc != NULL && lc->decimal_point != NULL ? lc->decimal_point[0] : '.';

    if (dp == '.' || dp == '\0')
        return;
    for (; *s != '\0'; s++)
        if (*s == dp)
            *s = '.';
}

/* "%.<prec>g" of |x| into |buf|; true when it reads back as |x| exactly. */
static bool g_exact(char *buf, size_t cap, int prec, double x)
{
    int n = snprintf(buf, cap, "%.*g", prec, x);
    return n > 0 && (size_t)n < cap && strtod(buf, NULL) == x;
}

/*
 * The digits |dig| (|n| of them, the first non-zero) times 10^|exp10|
 * relative to the first digit, laid out as printf's %.<prec>g would lay
 * them out: exponent form when exp10 < -4 or exp10 >= prec, trailing zeros
 * of the fraction dropped.
 */
static void g_layout(char *buf, size_t cap, bool neg, const char *dig, int n, int exp10, int prec)
{
    size_t k = 0;

    while (n > 1 && dig[n - 1] == '0')
        n--;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (k + 1 < cap)                                                                           \
            buf[k++] = (c);                                                                        \
    } while (0)
    if (neg)
        PUT('-');
    if (exp10 < -4 || exp10 >= prec) {
        PUT(dig[0]);
        if (n > 1)
            PUT('.');
        for (int i = 1; i < n; i++)
            PUT(dig[i]);
        buf[k] = '\0';
        snprintf(buf + k, cap - k, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        return;
    }
    if (exp10 >= 0) {
        for (int i = 0; i <= exp10; i++)
            PUT(i < n ? dig[i] : '0');
        if (n > exp10 + 1)
            PUT('.');
        for (int i = exp10 + 1; i < n; i++)
            PUT(dig[i]);
    } else {
        PUT('0');
        PUT('.');
        for (int i = 0; i < -exp10 - 1; i++)
            PUT('0');
        for (int i = 0; i < n; i++)
            PUT(dig[i]);
    }
#undef PUT
    buf[k] = '\0';
}

/*
 * The digits of the shortest decimal that reads back as |x| (finite, not
 * zero): for p = |from|..17 significant digits, the correctly rounded p
 * digits, then their neighbours. A neighbour can win next to a power of
 * two, where the doubles below are twice as dense as above (2^-44 reads
 * back from 5.684341886080802e-14, not from the nearer ...801e-14).
 * |dig| gets the |*n| digits, |*exp10| the power of ten of the first.
 */
static bool shortest_digits(double x, int from, char dig[24], int *n, int *exp10)
{
    double ax = fabs(x);
    uint64_t lo = 1; /* 10^(p - 1): the smallest p-digit mantissa */

    for (int p = 1; p < from; p++)
        lo *= 10;
    for (int p = from; p <= 17; p++, lo *= 10) {
        char e[48], cand[48];
        const char *at;
        char *end;
        int k = 0;
        long ex;
        uint64_t m;

        if (snprintf(e, sizeof(e), "%.*e", p - 1, ax) <= 0 || (at = strchr(e, 'e')) == NULL)
            return false;
        for (const char *q = e; q < at && k < p; q++)
            if (*q >= '0' && *q <= '9')
                dig[k++] = *q;
        ex = strtol(at + 1, &end, 10);
        if (k != p || *end != '\0' || ex < -400 || ex > 400)
            return false;
        dig[k] = '\0';
        m = strtoull(dig, NULL, 10);
        for (int delta = 0; delta <= 2; delta++) {
            uint64_t c = delta == 0 ? m : delta == 1 ? m + 1 : m - 1;
            /* a carry or borrow changes the digit count: p - 1 digits were tried */
            if (c < lo || c >= lo * 10)
                continue;
            snprintf(cand, sizeof(cand), "%" PRIu64 "e%ld", c, ex - (p - 1));
            if (strtod(cand, NULL) != ax)
                continue;
            snprintf(dig, 24, "%" PRIu64, c);
            *n = p;
            *exp10 = (int)ex;
            return true;
        }
    }
    return false;
}

/*
 * The shortest decimal that reads back as |x|. Integers up to 2^53 are
 * written in full (no exponent). Otherwise %.15g when it is exact, which
 * is cJSON's own first choice, so such numbers keep their bytes; for a
 * normal double (DBL_DIG = 15) that is already the shortest when it reads
 * back. Else 16 or 17 digits (17 always read back, IEEE 754), laid out the
 * way %.16g / %.17g would; subnormals, which carry fewer digits, search
 * from one digit. -0 keeps its sign (cJSON wrote 0). NaN and infinities
 * have no JSON form: null, as cJSON.
 */
static int add_number(struct aa_buf *out, double x)
{
    char buf[64], dig[24];
    int n = 0, exp10 = 0, prec;
    bool normal = fabs(x) >= DBL_MIN;

    if (!isfinite(x))
        return aa_buf_adds(out, "null");
    if (x == 0)
        return aa_buf_adds(out, signbit(x) ? "-0" : "0");
    if (fabs(x) <= EXACT_INT_LIMIT && (double)(int64_t)x == x)
        return aa_buf_printf(out, "%" PRId64, (int64_t)x);
    if (normal && g_exact(buf, sizeof(buf), 15, x)) {
        dot_decimal_point(buf);
        return aa_buf_adds(out, buf);
    }
    if (!shortest_digits(x, normal ? 16 : 1, dig, &n, &exp10))
        return AA_E_INTERNAL;
    /* %.15g's layout up to 15 digits, as cJSON and the branch above */
    prec = n > 15 ? n : 15;
    g_layout(buf, sizeof(buf), signbit(x), dig, n, exp10, prec);
    return aa_buf_adds(out, buf);
}

/* A value without children, as cJSON prints it. */
static int add_leaf(struct aa_buf *out, const cJSON *v)
{
    switch (v->type & 0xff) {
    case cJSON_NULL:
        return aa_buf_adds(out, "null");
    case cJSON_False:
        return aa_buf_adds(out, "false");
    case cJSON_True:
        return aa_buf_adds(out, "true");
    case cJSON_Number:
        return add_number(out, v->valuedouble);
    case cJSON_String: {
        const char *s = v->valuestring != NULL ? v->valuestring : "";
        return aa_json_quote(out, s, strlen(s));
    }
    case cJSON_Raw:
        return v->valuestring != NULL ? aa_buf_adds(out, v->valuestring) : AA_E_INVAL;
    case cJSON_Array:
        return aa_buf_adds(out, "[]");
    case cJSON_Object:
        return aa_buf_adds(out, "{}");
    default:
        return AA_E_INVAL; /* cJSON_Invalid: cJSON refuses to print it too */
    }
}

static int add_name(struct aa_buf *out, const cJSON *member)
{
    const char *s = member->string != NULL ? member->string : "";
    aa_json_quote(out, s, strlen(s));
    return aa_buf_addc(out, ':');
}

/*
 * Iterative walk: the containers being printed are on a heap stack, so a
 * deep tree costs memory, not C stack.
 */
int aa_json_print(const cJSON *v, struct aa_buf *out)
{
    const cJSON **stack = NULL;
    size_t depth = 0, cap = 0, start;
    const cJSON *cur = v;
    int rc = AA_OK;

    if (v == NULL || out == NULL)
        return AA_E_INVAL;
    if (out->err != 0)
        return out->err;
    start = out->len;
    while (out->err == 0) {
        int t = cur->type & 0xff;

        if ((t == cJSON_Array || t == cJSON_Object) && cur->child != NULL) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                const cJSON **ns = realloc(stack, ncap * sizeof(*ns));
                if (ns == NULL) {
                    rc = AA_E_NOMEM;
                    break;
                }
                stack = ns;
                cap = ncap;
            }
            stack[depth++] = cur;
            aa_buf_addc(out, t == cJSON_Array ? '[' : '{');
            cur = cur->child;
            if (t == cJSON_Object)
                add_name(out, cur);
            continue;
        }
        if ((rc = add_leaf(out, cur)) != AA_OK)
            break;
        while (depth > 0 && cur->next == NULL) {
            cur = stack[--depth];
            aa_buf_addc(out, (cur->type & 0xff) == cJSON_Array ? ']' : '}');
        }
        if (depth == 0)
            break;
        cur = cur->next;
        aa_buf_addc(out, ',');
        if ((stack[depth - 1]->type & 0xff) == cJSON_Object)
            add_name(out, cur);
    }
    free(stack);
    if (rc == AA_OK)
        rc = out->err;
    /* All or nothing, as before: a tree that cannot be printed adds no bytes
     * (a failed aa_buf is already empty and stays failed). */
    if (rc != AA_OK && out->err == 0 && out->p != NULL) {
        out->len = start;
        out->p[start] = '\0';
    }
    return rc;
}

int aa_json_quote(struct aa_buf *out, const char *s, size_t n)
{
    if (out == NULL || (s == NULL && n > 0))
        return AA_E_INVAL;
    aa_buf_addc(out, '"');
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        switch (c) {
        case '"':
            aa_buf_add(out, "\\\"", 2);
            break;
        case '\\':
            aa_buf_add(out, "\\\\", 2);
            break;
        case '\n':
            aa_buf_add(out, "\\n", 2);
            break;
        case '\r':
            aa_buf_add(out, "\\r", 2);
            break;
        case '\t':
            aa_buf_add(out, "\\t", 2);
            break;
        case '\b':
            aa_buf_add(out, "\\b", 2);
            break;
        case '\f':
            aa_buf_add(out, "\\f", 2);
            break;
        default:
            if (c < 0x20)
                aa_buf_printf(out, "\\u%04x", c);
            else
                aa_buf_addc(out, (char)c);
        }
    }
    return aa_buf_addc(out, '"');
}

const char *aa_json_strerror(int code)
{
    switch (code) {
    case AA_E_JSON_SYNTAX:
        return "JSON syntax error (RFC 8259)";
    case AA_E_JSON_DUPLICATE:
        return "duplicate JSON member name";
    case AA_E_JSON_DEPTH:
        return "JSON nesting too deep";
    case AA_E_JSON_TYPE:
        return "JSON value of the wrong type";
    case AA_E_JSON_UTF8:
        return "invalid UTF-8 or \\u escape in JSON";
    case AA_E_JSON_MISSING:
        return "required JSON member missing";
    default:
        return NULL;
    }
}
