/* Structured Fields (RFC 8941 as updated by RFC 9651): parsing, canonical
 * serialization, builders, limits, every error path with its citation, and
 * the AAuth negative vectors in vectors/sf/negative.json. */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "sf/aa_sf.h"

#define SIG_INPUT "sig1=(\"@method\" \"@authority\" \"@path\" \"signature-key\");created=1768786221"
#define SEED_SIG                                                                                   \
    "g1VmPaHtG7B1_vZ0FmmegnAtf804jio4EpC866wHyuPeQM07ikVZmAWxc5hjxR1SiveSq3ib9lgzDf7GwRL9AA"
#define GOOD_SIG                                                                                   \
    "g1VmPaHtG7B1/vZ0FmmegnAtf804jio4EpC866wHyuPeQM07ikVZmAWxc5hjxR1SiveSq3ib9lgzDf7GwRL9AA=="

enum ht { HT_ITEM, HT_LIST, HT_DICT };

/* Parse |in| as |t|, serialize the result into |out| (cleared first). */
static int parse_ser(enum ht t, const char *in, size_t n, struct aa_buf *out, struct aa_diag *d)
{
    struct aa_sf_item it;
    struct aa_sf_list l;
    struct aa_sf_dict dct;
    int rc;

    aa_buf_reset(out);
    switch (t) {
    case HT_ITEM:
        if ((rc = aa_sf_parse_item(in, n, &it, d)) != AA_OK)
            return rc;
        rc = aa_sf_serialize_item(&it, out, d);
        aa_sf_item_free(&it);
        return rc;
    case HT_LIST:
        if ((rc = aa_sf_parse_list(in, n, &l, d)) != AA_OK)
            return rc;
        rc = aa_sf_serialize_list(&l, out, d);
        aa_sf_list_free(&l);
        return rc;
    default:
        if ((rc = aa_sf_parse_dict(in, n, &dct, d)) != AA_OK)
            return rc;
        rc = aa_sf_serialize_dict(&dct, out, d);
        aa_sf_dict_free(&dct);
        return rc;
    }
}

/* ---- the AAuth headers ------------------------------------------------ */

/* RFC 9421 §4.1 Signature-Input as the profile writes it (PROFILE#2.1). */
Test(sf, signature_input_example_roundtrips)
{
    static const char *comp[] = {"@method", "@authority", "@path", "signature-key"};
    struct aa_sf_dict dct;
    struct aa_diag d;
    struct aa_buf out;
    const struct aa_sf_item *m;
    const struct aa_sf_bare *created;

    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_dict(SIG_INPUT, strlen(SIG_INPUT), &dct, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(dct.n, 1);
    cr_assert_str_eq(dct.v[0].key, "sig1");
    m = aa_sf_dict_get(&dct, "sig1");
    cr_assert_not_null(m);
    cr_assert_null(aa_sf_dict_get(&dct, "sig2"));
    cr_assert_eq(m->bare.type, AA_SF_INNER_LIST);
    cr_assert_eq(m->n_inner, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(m->inner[i].bare.type, AA_SF_STRING);
        cr_assert_str_eq(m->inner[i].bare.s, comp[i]);
        cr_assert_eq(m->inner[i].bare.len, strlen(comp[i]));
        cr_assert_eq(m->inner[i].params.n, 0);
    }
    cr_assert_eq(m->params.n, 1);
    created = aa_sf_params_get(&m->params, "created");
    cr_assert_not_null(created);
    cr_assert_eq(created->type, AA_SF_INTEGER);
    cr_assert_eq(created->i, 1768786221);
    cr_assert_null(aa_sf_params_get(&m->params, "expires"));

    aa_buf_init(&out, 0);
    cr_assert_eq(aa_sf_serialize_dict(&dct, &out, &d), AA_OK, "%s", d.msg);
    cr_assert_str_eq(out.p, SIG_INPUT);
    cr_assert_eq(out.len, strlen(SIG_INPUT));
    /* the @signature-params value is the member alone */
    aa_buf_reset(&out);
    cr_assert_eq(aa_sf_serialize_inner_list(m, &out, &d), AA_OK);
    cr_assert_str_eq(out.p, &SIG_INPUT[5]);
    aa_buf_free(&out);
    aa_sf_dict_free(&dct);
    cr_assert_eq(dct.n, 0);
    cr_assert_null(dct.v);
}

Test(sf, signature_standard_base64_parses)
{
    const char *in = "sig1=:" GOOD_SIG ":";
    struct aa_sf_dict dct;
    struct aa_diag d;
    struct aa_buf out;
    uint8_t want[64];
    size_t n;

    cr_assert_eq(aa_b64_decode(GOOD_SIG, strlen(GOOD_SIG), AA_B64_STD, AA_B64_PAD_REQUIRED, 0, want,
                               sizeof(want), &n, NULL),
                 AA_OK);
    cr_assert_eq(n, 64);
    cr_assert_eq(aa_sf_parse_dict(in, strlen(in), &dct, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(dct.v[0].item.bare.type, AA_SF_BYTES);
    cr_assert_eq(dct.v[0].item.bare.len, 64);
    cr_assert(memcmp(dct.v[0].item.bare.s, want, 64) == 0);
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_sf_serialize_dict(&dct, &out, &d), AA_OK);
    cr_assert_str_eq(out.p, in);
    aa_buf_free(&out);
    aa_sf_dict_free(&dct);
}

/* PROFILE#2.12 vector S1: the seed's base64url Signature is not an RFC 8941
 * Byte Sequence, and the message must say why. */
Test(sf, seed_base64url_signature_rejected)
{
    const char *in = "sig1=:" SEED_SIG ":";
    struct aa_sf_dict dct;
    struct aa_diag d;
    char line[512];

    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_dict(in, strlen(in), &dct, &d), AA_E_SF_BYTES);
    cr_assert_eq(d.code, AA_E_SF_BYTES);
    cr_assert_str_eq(d.ref, "RFC8941#4.2.7");
    cr_assert(strstr(d.msg, "base64url") != NULL, "%s", d.msg);
    /* '_' is the 13th base64 character, after the 6 bytes of "sig1=:" */
    cr_assert(strstr(d.msg, "character '_' at offset 18") != NULL, "%s", d.msg);
    cr_assert_eq(dct.n, 0);
    cr_assert_null(dct.v);
    aa_diag_format(&d, line, sizeof(line));
    cr_assert(strncmp(line, "RFC 8941 §4.2.7: ", strlen("RFC 8941 §4.2.7: ")) == 0, "%s", line);
    /* the same bytes, padded, in the right alphabet are fine */
    cr_assert_eq(aa_sf_parse_dict("sig1=:" GOOD_SIG ":", strlen("sig1=:" GOOD_SIG ":"), &dct, NULL),
                 AA_OK);
    aa_sf_dict_free(&dct);
}

/* ---- round trips ------------------------------------------------------ */
struct rt {
    enum ht t;
    const char *in;
    const char *canon; /* NULL: same as in */
};

Test(sf, roundtrips_and_canonical_forms)
{
    static const struct rt cases[] = {
        {HT_ITEM, "42", NULL},
        {HT_ITEM, "-999999999999999", NULL},
        {HT_ITEM, "999999999999999", NULL},
        {HT_ITEM, "-0", "0"},
        {HT_ITEM, "007", "7"},
        {HT_ITEM, "1.5", NULL},
        {HT_ITEM, "1.500", "1.5"},
        {HT_ITEM, "-0.0", "0.0"},
        {HT_ITEM, "999999999999.999", NULL},
        {HT_ITEM, "0.001", NULL},
        {HT_ITEM, "\"a \\\"q\\\" \\\\ b\"", NULL},
        {HT_ITEM, "\"\"", NULL},
        {HT_ITEM, "*tok/en:x", NULL},
        {HT_ITEM, "::", NULL},
        {HT_ITEM, ":aGVsbG8:", ":aGVsbG8=:"},
        {HT_ITEM, "?1", NULL},
        {HT_ITEM, "?0;a;b=?0", NULL},
        {HT_ITEM, "@1768786221", NULL},
        {HT_ITEM, "@-62135596800", NULL},
        {HT_ITEM, "%\"f%c3%bc%c3%bc %25 %22\"", NULL},
        {HT_ITEM, "%\"%61\"", "%\"a\""},
        {HT_ITEM, "  5;  a=1  ", "5;a=1"},
        {HT_ITEM, "1;a=1;b=2;a=3", "1;a=3;b=2"},
        {HT_LIST, "", ""},
        {HT_LIST, "a,b\t,\tc", "a, b, c"},
        {HT_LIST, "(), (1 2);x=?0, ( 3  );y", "(), (1 2);x=?0, (3);y"},
        {HT_LIST, "(\"foo\"; a=1;b=2);lvl=5", "(\"foo\";a=1;b=2);lvl=5"},
        {HT_DICT, "a=?1, b=(1 2), c;d=e", "a, b=(1 2), c;d=e"},
        {HT_DICT, "a=1,b=2,a=3", "a=3, b=2"},
        {HT_DICT, "x=()", NULL},
        {HT_DICT, "*k.-_9=%\"x\"", NULL},
    };
    struct aa_buf out, again;
    struct aa_diag d;

    aa_buf_init(&out, 0);
    aa_buf_init(&again, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rt *c = &cases[i];
        const char *want = c->canon ? c->canon : c->in;
        aa_diag_clear(&d);
        cr_assert_eq(parse_ser(c->t, c->in, strlen(c->in), &out, &d), AA_OK, "%s: %s", c->in,
                     d.msg);
        cr_assert_eq(out.len, strlen(want), "%s -> %s", c->in, out.p ? out.p : "");
        cr_assert(out.len == 0 || strcmp(out.p, want) == 0, "%s -> %s, want %s", c->in, out.p,
                  want);
        /* canonical output is a fixed point */
        cr_assert_eq(parse_ser(c->t, want, strlen(want), &again, &d), AA_OK);
        cr_assert_eq(again.len, out.len);
        cr_assert(out.len == 0 || strcmp(again.p, out.p) == 0);
    }
    aa_buf_free(&out);
    aa_buf_free(&again);
}

Test(sf, parsed_values_are_typed_and_owned)
{
    const char *in = "a=1.25, b=@5, c=%\"%c3%a9\", d=:AAEC:, e=tok, f=\"s\", g=?0, h";
    struct aa_sf_dict dct;
    char *copy = aa_strdup(in);
    const struct aa_sf_item *m;

    cr_assert_not_null(copy);
    cr_assert_eq(aa_sf_parse_dict(copy, strlen(copy), &dct, NULL), AA_OK);
    memset(copy, 'X', strlen(copy)); /* the tree must not point into the input */
    free(copy);
    cr_assert_eq(dct.n, 8);
    m = aa_sf_dict_get(&dct, "a");
    cr_assert_eq(m->bare.type, AA_SF_DECIMAL);
    cr_assert_eq(m->bare.i, 1250);
    m = aa_sf_dict_get(&dct, "b");
    cr_assert_eq(m->bare.type, AA_SF_DATE);
    cr_assert_eq(m->bare.i, 5);
    m = aa_sf_dict_get(&dct, "c");
    cr_assert_eq(m->bare.type, AA_SF_DISPLAY);
    cr_assert_str_eq(m->bare.s, "\xc3\xa9");
    m = aa_sf_dict_get(&dct, "d");
    cr_assert_eq(m->bare.type, AA_SF_BYTES);
    cr_assert_eq(m->bare.len, 3);
    cr_assert(memcmp(m->bare.s, "\x00\x01\x02", 3) == 0);
    m = aa_sf_dict_get(&dct, "e");
    cr_assert_eq(m->bare.type, AA_SF_TOKEN);
    cr_assert_str_eq(m->bare.s, "tok");
    m = aa_sf_dict_get(&dct, "f");
    cr_assert_eq(m->bare.type, AA_SF_STRING);
    cr_assert_str_eq(m->bare.s, "s");
    m = aa_sf_dict_get(&dct, "g");
    cr_assert_eq(m->bare.type, AA_SF_BOOLEAN);
    cr_assert_eq(m->bare.b, false);
    m = aa_sf_dict_get(&dct, "h");
    cr_assert_eq(m->bare.type, AA_SF_BOOLEAN);
    cr_assert_eq(m->bare.b, true);
    aa_sf_dict_free(&dct);
}

/* ---- every parse error path, with its citation ------------------------ */
struct bad {
    enum ht t;
    const char *in;
    size_t len; /* 0: strlen */
    int code;
    const char *ref;
    const char *msg; /* substring of the diagnostic */
};

Test(sf, parse_errors_cite_the_rfc)
{
    static const struct bad cases[] = {
        /* §4.2: ASCII only, nothing after the value */
        {HT_ITEM, "\"caf\xc3\xa9\"", 0, AA_E_SF_SYNTAX, "RFC8941#4.2",
         "non-ASCII byte 0xc3 at offset 4"},
        {HT_ITEM, "1 2", 0, AA_E_SF_TRAILING, "RFC8941#4.2", "'2' at offset 2"},
        {HT_ITEM, "1\t", 0, AA_E_SF_TRAILING, "RFC8941#4.2", "byte 0x09 at offset 1"},
        {HT_ITEM, "\"a\"x", 0, AA_E_SF_TRAILING, "RFC8941#4.2", "'x' at offset 3"},
        {HT_ITEM, "\t1", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.3.1", "offset 0, found byte 0x09"},
        /* §4.2.3.1 bare item */
        {HT_ITEM, "", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.3.1", "end of input"},
        {HT_ITEM, "!", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.3.1", "offset 0, found '!'"},
        {HT_ITEM, "a;b=", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.3.1", "offset 4"},
        /* §4.2.1 list */
        {HT_LIST, "1 2", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.1", "expected ','"},
        {HT_LIST, "1, 2,", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.1", "trailing ','"},
        {HT_LIST, "1,,2", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.3.1", "offset 2, found ','"},
        /* §4.2.1.2 inner list */
        {HT_LIST, "(1 2", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.1.2", "no closing ')'"},
        {HT_LIST, "(1,2)", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.1.2", "offset 2, found ','"},
        {HT_LIST, "(1\t2)", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.1.2", "byte 0x09"},
        /* §4.2.2 dictionary */
        {HT_DICT, "a=1 b=2", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.2", "offset 4, found 'b'"},
        {HT_DICT, "a=1,", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.2", "trailing ','"},
        {HT_DICT, "a= 1", 0, AA_E_SF_SYNTAX, "RFC8941#4.2.3.1", "offset 2, found ' '"},
        /* §4.2.3.3 keys */
        {HT_DICT, "A=1", 0, AA_E_SF_KEY, "RFC8941#4.2.3.3", "(keys are lowercase)"},
        {HT_DICT, "1a=1", 0, AA_E_SF_KEY, "RFC8941#4.2.3.3", "offset 0, found '1'"},
        {HT_ITEM, "a;B=1", 0, AA_E_SF_KEY, "RFC8941#4.2.3.3", "offset 2, found 'B'"},
        {HT_ITEM, "a;", 0, AA_E_SF_KEY, "RFC8941#4.2.3.3", "end of input"},
        /* §4.2.4 numbers */
        {HT_ITEM, "-", 0, AA_E_SF_INTEGER, "RFC8941#4.2.4", "end of input"},
        {HT_ITEM, "-a", 0, AA_E_SF_INTEGER, "RFC8941#4.2.4", "offset 1, found 'a'"},
        {HT_ITEM, "1234567890123456", 0, AA_E_SF_INTEGER, "RFC8941#4.2.4", "more than 15 digits"},
        {HT_ITEM, "1.", 0, AA_E_SF_DECIMAL, "RFC8941#4.2.4", "ends with '.'"},
        {HT_ITEM, "1.1234", 0, AA_E_SF_DECIMAL, "RFC8941#4.2.4", "4 fraction digits"},
        {HT_ITEM, "1234567890123.0", 0, AA_E_SF_DECIMAL, "RFC8941#4.2.4", "13 integer digits"},
        {HT_ITEM, "12345678901.12345", 0, AA_E_SF_DECIMAL, "RFC8941#4.2.4", "longer than 16"},
        /* §4.2.5 strings */
        {HT_ITEM, "\"abc", 0, AA_E_SF_STRING, "RFC8941#4.2.5", "no closing '\"'"},
        {HT_ITEM, "\"a\\x\"", 0, AA_E_SF_STRING, "RFC8941#4.2.5", "escape of 'x' at offset 3"},
        {HT_ITEM, "\"a\\", 0, AA_E_SF_STRING, "RFC8941#4.2.5", "ends the input"},
        {HT_ITEM, "\"a\tb\"", 0, AA_E_SF_STRING, "RFC8941#4.2.5", "byte 0x09 at offset 2"},
        {HT_ITEM, "\"a\0b\"", 5, AA_E_SF_STRING, "RFC8941#4.2.5", "byte 0x00 at offset 2"},
        /* §4.2.7 byte sequences */
        {HT_ITEM, ":aGVsbG8=", 0, AA_E_SF_BYTES, "RFC8941#4.2.7", "no closing ':'"},
        {HT_ITEM, ":ab_c:", 0, AA_E_SF_BYTES, "RFC8941#4.2.7",
         "character '_' at offset 3 is outside base64 (it belongs to base64url)"},
        {HT_ITEM, ":ab c:", 0, AA_E_SF_BYTES, "RFC8941#4.2.7", "character ' ' at offset 3"},
        {HT_ITEM, ":a=bc:", 0, AA_E_SF_BYTES, "RFC8941#4.2.7", "padding"},
        {HT_ITEM, ":Z:", 0, AA_E_SF_BYTES, "RFC8941#4.2.7", "not a valid base64 length"},
        {HT_ITEM, ":aGVsbG8.:", 0, AA_E_SF_BYTES, "RFC8941#4.2.7", "'.' at offset 8"},
        /* §4.2.8 booleans */
        {HT_ITEM, "?2", 0, AA_E_SF_BOOLEAN, "RFC8941#4.2.8", "'2'"},
        {HT_ITEM, "?", 0, AA_E_SF_BOOLEAN, "RFC8941#4.2.8", "end of input"},
        /* RFC 9651 §4.2.9 dates */
        {HT_ITEM, "@1.5", 0, AA_E_SF_DATE, "RFC9651#4.2.9", "is a decimal"},
        {HT_ITEM, "@x", 0, AA_E_SF_DATE, "RFC9651#4.2.9", "offset 1, found 'x'"},
        {HT_ITEM, "@1000000000000000", 0, AA_E_SF_DATE, "RFC9651#4.2.9", "more than 15 digits"},
        /* RFC 9651 §4.2.10 display strings */
        {HT_ITEM, "%x", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "expected '\"' after '%'"},
        {HT_ITEM, "%\"abc", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "no closing '\"'"},
        {HT_ITEM, "%\"%C3%BC\"", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10",
         "'C' at offset 3 is not a lowercase hex digit"},
        {HT_ITEM, "%\"%e\"", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "'\"' at offset 4"},
        {HT_ITEM, "%\"%\"", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "not followed by two hex digits"},
        {HT_ITEM, "%\"%c3%28\"", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "not valid UTF-8"},
        {HT_ITEM, "%\"%ed%a0%80\"", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "not valid UTF-8"},
        {HT_ITEM, "%\"%c0%af\"", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "not valid UTF-8"},
        {HT_ITEM, "%\"a\tb\"", 0, AA_E_SF_DISPLAY, "RFC9651#4.2.10", "byte 0x09 at offset 3"},
    };
    struct aa_buf out;
    struct aa_diag d;

    aa_buf_init(&out, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad *c = &cases[i];
        size_t n = c->len ? c->len : strlen(c->in);
        int rc;
        aa_diag_clear(&d);
        rc = parse_ser(c->t, c->in, n, &out, &d);
        cr_assert_eq(rc, c->code, "case %zu \"%s\": rc %d (%s), want %d", i, c->in, rc, d.msg,
                     c->code);
        cr_assert_eq(d.code, c->code, "case %zu", i);
        cr_assert_not_null(d.ref, "case %zu", i);
        cr_assert_str_eq(d.ref, c->ref, "case %zu \"%s\": %s", i, c->in, d.msg);
        cr_assert(strstr(d.msg, c->msg) != NULL, "case %zu \"%s\": message \"%s\" lacks \"%s\"", i,
                  c->in, d.msg, c->msg);
        cr_assert(!aa_err_is_fault(rc));
    }
    aa_buf_free(&out);
}

/* On failure nothing is left to free, and passing NULL is API misuse. */
#define L1 "1, (2 3);a=\"x\", 4,"
#define D1 "a=1, b=(1 2);c, d=?"
#define I1 "tok;a=1;b=\"x\" "
#define I2 "tok;a=1;b=\"x\" y"
Test(sf, failure_leaves_output_empty)
{
    struct aa_sf_list l;
    struct aa_sf_dict dct;
    struct aa_sf_item it;
    struct aa_diag d;

    cr_assert_eq(aa_sf_parse_list(L1, strlen(L1), &l, NULL), AA_E_SF_SYNTAX);
    cr_assert_eq(l.n, 0);
    cr_assert_null(l.v);
    cr_assert_eq(aa_sf_parse_dict(D1, strlen(D1), &dct, NULL), AA_E_SF_BOOLEAN);
    cr_assert_eq(dct.n, 0);
    cr_assert_null(dct.v);
    cr_assert_eq(aa_sf_parse_item(I1, strlen(I1), &it, NULL), AA_OK);
    aa_sf_item_free(&it);
    cr_assert_eq(aa_sf_parse_item(I2, strlen(I2), &it, NULL), AA_E_SF_TRAILING);
    cr_assert_eq(it.bare.type, 0);
    cr_assert_null(it.bare.s);
    cr_assert_eq(it.params.n, 0);
    cr_assert_null(it.params.v);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_item(NULL, 3, &it, &d), AA_E_INVAL);
    cr_assert(aa_err_is_fault(d.code));
    cr_assert_eq(aa_sf_parse_list("1", 1, NULL, NULL), AA_E_INVAL);
    cr_assert_eq(aa_sf_parse_dict(NULL, 0, &dct, NULL), AA_OK);
    cr_assert_eq(dct.n, 0);
}

/* ---- limits ------------------------------------------------------------ */
/* head + pre0post sep pre1post ... + tail */
static char *repeat_join(const char *head, const char *pre, const char *post, size_t n,
                         const char *sep, const char *tail, size_t *len)
{
    struct aa_buf b;

    aa_buf_init(&b, 0);
    aa_buf_adds(&b, head);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            aa_buf_adds(&b, sep);
        aa_buf_printf(&b, "%s%zu%s", pre, i, post);
    }
    aa_buf_adds(&b, tail);
    cr_assert_eq(b.err, 0);
    return aa_buf_detach(&b, len);
}

Test(sf, ten_thousand_parameters_hit_the_limit)
{
    struct aa_sf_item it;
    struct aa_diag d;
    size_t len;
    char *in = repeat_join("a;", "p", "", 10000, ";", "", &len);

    cr_assert_lt(len, (size_t)AA_SF_MAX_INPUT);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_item(in, len, &it, &d), AA_E_LIMIT);
    cr_assert(strstr(d.msg, "AA_SF_MAX_PARAMS") != NULL, "%s", d.msg);
    cr_assert_str_eq(d.ref, "RFC8941#3.1.2");
    cr_assert_eq(it.params.n, 0);
    free(in);
    /* exactly the limit is accepted, and order is kept */
    in = repeat_join("a;", "p", "=1", AA_SF_MAX_PARAMS, ";", "", &len);
    cr_assert_eq(aa_sf_parse_item(in, len, &it, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(it.params.n, AA_SF_MAX_PARAMS);
    cr_assert_str_eq(it.params.v[0].key, "p0");
    cr_assert_str_eq(it.params.v[AA_SF_MAX_PARAMS - 1].key, "p255");
    aa_sf_item_free(&it);
    free(in);
}

Test(sf, member_limits)
{
    struct aa_sf_list l;
    struct aa_sf_dict dct;
    struct aa_diag d;
    size_t len;
    char *in;

    in = repeat_join("", "", "", AA_SF_MAX_MEMBERS, ", ", "", &len);
    cr_assert_eq(aa_sf_parse_list(in, len, &l, &d), AA_OK);
    cr_assert_eq(l.n, AA_SF_MAX_MEMBERS);
    cr_assert_eq(l.v[AA_SF_MAX_MEMBERS - 1].bare.i, AA_SF_MAX_MEMBERS - 1);
    aa_sf_list_free(&l);
    free(in);
    in = repeat_join("", "", "", AA_SF_MAX_MEMBERS + 1, ", ", "", &len);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_list(in, len, &l, &d), AA_E_LIMIT);
    cr_assert_str_eq(d.ref, "RFC8941#3.1");
    free(in);

    in = repeat_join("(", "", "", AA_SF_MAX_MEMBERS + 1, " ", ")", &len);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_list(in, len, &l, &d), AA_E_LIMIT);
    cr_assert_str_eq(d.ref, "RFC8941#3.1.1");
    free(in);

    in = repeat_join("", "k", "=1", AA_SF_MAX_MEMBERS, ",", "", &len);
    cr_assert_eq(aa_sf_parse_dict(in, len, &dct, &d), AA_OK);
    cr_assert_eq(dct.n, AA_SF_MAX_MEMBERS);
    cr_assert_not_null(aa_sf_dict_get(&dct, "k1023"));
    aa_sf_dict_free(&dct);
    free(in);
    in = repeat_join("", "k", "=1", AA_SF_MAX_MEMBERS + 1, ",", "", &len);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_dict(in, len, &dct, &d), AA_E_LIMIT);
    cr_assert_str_eq(d.ref, "RFC8941#3.2");
    cr_assert(strstr(d.msg, "AA_SF_MAX_MEMBERS") != NULL);
    free(in);
}

Test(sf, key_and_input_size_limits)
{
    char key[AA_SF_MAX_KEY + 8];
    struct aa_sf_dict dct;
    struct aa_sf_item it;
    struct aa_diag d;
    char *big;

    memset(key, 'k', sizeof(key));
    /* exactly AA_SF_MAX_KEY characters, then one more */
    cr_assert_eq(aa_sf_parse_dict(key, AA_SF_MAX_KEY, &dct, NULL), AA_OK);
    cr_assert_eq(strlen(dct.v[0].key), AA_SF_MAX_KEY);
    aa_sf_dict_free(&dct);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_dict(key, AA_SF_MAX_KEY + 1, &dct, &d), AA_E_LIMIT);
    cr_assert(strstr(d.msg, "AA_SF_MAX_KEY") != NULL, "%s", d.msg);

    /* a string filling exactly 64 KiB parses; one byte more is refused
     * before any parsing */
    big = malloc(AA_SF_MAX_INPUT + 1);
    cr_assert_not_null(big);
    memset(big, 'x', AA_SF_MAX_INPUT + 1);
    big[0] = '"';
    big[AA_SF_MAX_INPUT - 1] = '"';
    cr_assert_eq(aa_sf_parse_item(big, AA_SF_MAX_INPUT, &it, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(it.bare.len, AA_SF_MAX_INPUT - 2);
    aa_sf_item_free(&it);
    big[AA_SF_MAX_INPUT - 1] = 'x';
    big[AA_SF_MAX_INPUT] = '"';
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_item(big, AA_SF_MAX_INPUT + 1, &it, &d), AA_E_LIMIT);
    cr_assert(strstr(d.msg, "AA_SF_MAX_INPUT") != NULL, "%s", d.msg);
    free(big);
}

/* Repeated keys overwrite in place (RFC 8941 §4.2.2, §4.2.3.2), also once
 * the container is past the point where the parser switches to its hash
 * index; a 64 KiB run of one repeated key stays a single parameter. */
Test(sf, repeated_keys_overwrite_in_place)
{
    struct aa_sf_dict dct;
    struct aa_sf_item it;
    struct aa_buf out;
    size_t len;
    char *in = repeat_join("", "k", "=1", 20, ", ", ", k3=99, k17=(1), k3=?0", &len);

    cr_assert_eq(aa_sf_parse_dict(in, len, &dct, NULL), AA_OK);
    cr_assert_eq(dct.n, 20);
    cr_assert_str_eq(dct.v[3].key, "k3");
    cr_assert_eq(dct.v[3].item.bare.type, AA_SF_BOOLEAN);
    cr_assert_eq(dct.v[3].item.bare.b, false);
    cr_assert_eq(dct.v[17].item.bare.type, AA_SF_INNER_LIST);
    aa_sf_dict_free(&dct);
    free(in);

    in = repeat_join("a;", "k=", "", 9000, ";", "", &len);
    cr_assert_leq(len, (size_t)AA_SF_MAX_INPUT);
    cr_assert_eq(aa_sf_parse_item(in, len, &it, NULL), AA_OK);
    cr_assert_eq(it.params.n, 1);
    cr_assert_eq(it.params.v[0].value.i, 8999);
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_sf_serialize_item(&it, &out, NULL), AA_OK);
    cr_assert_str_eq(out.p, "a;k=8999");
    aa_buf_free(&out);
    aa_sf_item_free(&it);
    free(in);
}

/* ---- serialization ------------------------------------------------------ */
Test(sf, decimal_rounding_half_to_even)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"0.0015", "0.002"},
        {"0.0025", "0.002"},
        {"0.0035", "0.004"},
        {"-0.0025", "-0.002"},
        {"-0.0015", "-0.002"},
        {"9.9995", "10.0"},
        {"1.00051", "1.001"},
        {"1.0005000", "1.0"},
        {"1.0004999", "1.0"},
        {"0.1236", "0.124"},
        {"0.1234", "0.123"},
        {"2.5", "2.5"},
        {"7", "7.0"},
        {"-0", "0.0"},
        {"000012.340", "12.34"},
        {"999999999999.999", "999999999999.999"},
    };
    struct aa_sf_bare b;
    struct aa_buf out;
    struct aa_diag d;

    aa_buf_init(&out, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aa_buf_reset(&out);
        cr_assert_eq(aa_sf_bare_decimal_text(&b, cases[i].in, strlen(cases[i].in), &d), AA_OK,
                     "%s: %s", cases[i].in, d.msg);
        cr_assert_eq(b.type, AA_SF_DECIMAL);
        cr_assert_eq(aa_sf_serialize_bare(&b, &out, &d), AA_OK, "%s", cases[i].in);
        cr_assert_str_eq(out.p, cases[i].out, "%s", cases[i].in);
    }
    /* rounding up past 12 integer digits makes it unserializable */
    cr_assert_eq(aa_sf_bare_decimal_text(&b, "999999999999.9995", 17, &d), AA_OK);
    aa_buf_reset(&out);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_serialize_bare(&b, &out, &d), AA_E_SF_SERIALIZE);
    cr_assert_str_eq(d.ref, "RFC8941#4.1.5");
    cr_assert_eq(out.len, 0);
    /* malformed text */
    cr_assert_eq(aa_sf_bare_decimal_text(&b, "1e5", 3, NULL), AA_E_SF_DECIMAL);
    cr_assert_eq(aa_sf_bare_decimal_text(&b, "1.", 2, NULL), AA_E_SF_DECIMAL);
    cr_assert_eq(aa_sf_bare_decimal_text(&b, "-", 1, NULL), AA_E_SF_DECIMAL);
    cr_assert_eq(aa_sf_bare_decimal_text(&b, "1234567890123456.5", 18, NULL), AA_E_SF_DECIMAL);
    aa_buf_free(&out);
}

struct serbad {
    struct aa_sf_bare b;
    const char *ref;
    const char *msg;
};

Test(sf, serializer_refuses_what_rfc_cannot_express)
{
    struct serbad cases[] = {
        {{AA_SF_INTEGER, INT64_C(1000000000000000), false, NULL, 0}, "RFC8941#4.1.4", "outside"},
        {{AA_SF_INTEGER, INT64_C(-1000000000000000), false, NULL, 0}, "RFC8941#4.1.4", "outside"},
        {{AA_SF_DECIMAL, INT64_C(1000000000000000), false, NULL, 0},
         "RFC8941#4.1.5",
         "12 integer digits"},
        {{AA_SF_DATE, INT64_C(1000000000000000), false, NULL, 0}, "RFC9651#4.1.10", "date"},
        {{AA_SF_STRING, 0, false, (char *)"a\x01", 2}, "RFC8941#4.1.6", "byte 0x01 at offset 1"},
        {{AA_SF_STRING, 0, false, (char *)"caf\xc3\xa9", 5},
         "RFC8941#4.1.6",
         "byte 0xc3 at offset 3"},
        {{AA_SF_STRING, 0, false, (char *)"a\0b", 3}, "RFC8941#4.1.6", "byte 0x00"},
        {{AA_SF_TOKEN, 0, false, (char *)"1a", 2}, "RFC8941#4.1.7", "first character '1'"},
        {{AA_SF_TOKEN, 0, false, (char *)"a b", 3}, "RFC8941#4.1.7", "' ' at offset 1"},
        {{AA_SF_TOKEN, 0, false, (char *)"", 0}, "RFC8941#4.1.7", "empty"},
        {{AA_SF_DISPLAY, 0, false, (char *)"\xc3(", 2}, "RFC9651#4.1.11", "not valid UTF-8"},
        {{AA_SF_DISPLAY, 0, false, (char *)"\xf4\x90\x80\x80", 4},
         "RFC9651#4.1.11",
         "not valid UTF-8"},
        {{AA_SF_INNER_LIST, 0, false, NULL, 0}, "RFC8941#4.1.3.1", "not a bare item"},
    };
    struct aa_buf out;
    struct aa_diag d;

    aa_buf_init(&out, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aa_buf_reset(&out);
        aa_buf_adds(&out, "keep");
        aa_diag_clear(&d);
        cr_assert_eq(aa_sf_serialize_bare(&cases[i].b, &out, &d), AA_E_SF_SERIALIZE, "case %zu", i);
        cr_assert_str_eq(d.ref, cases[i].ref, "case %zu: %s", i, d.msg);
        cr_assert(strstr(d.msg, cases[i].msg) != NULL, "case %zu: %s", i, d.msg);
        /* nothing half-written is left behind */
        cr_assert_str_eq(out.p, "keep");
    }
    /* the edges that are allowed */
    {
        struct aa_sf_bare ok[] = {
            {AA_SF_INTEGER, INT64_C(999999999999999), false, NULL, 0},
            {AA_SF_INTEGER, INT64_C(-999999999999999), false, NULL, 0},
            {AA_SF_DECIMAL, INT64_C(-999999999999999), false, NULL, 0},
            {AA_SF_DISPLAY, 0, false, (char *)"\xf4\x8f\xbf\xbf%\"", 6},
            {AA_SF_BYTES, 0, false, (char *)"\xff\xfe", 2},
        };
        static const char *want[] = {"999999999999999", "-999999999999999", "-999999999999.999",
                                     "%\"%f4%8f%bf%bf%25%22\"", "://4=:"};
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
            aa_buf_reset(&out);
            cr_assert_eq(aa_sf_serialize_bare(&ok[i], &out, &d), AA_OK, "%zu: %s", i, d.msg);
            cr_assert_str_eq(out.p, want[i]);
        }
    }
    aa_buf_free(&out);
}

Test(sf, serializer_checks_keys_and_structure)
{
    struct aa_sf_dict dct = {NULL, 0};
    struct aa_sf_item it, sub, il;
    struct aa_sf_bare v;
    struct aa_buf out;
    struct aa_diag d;

    aa_buf_init(&out, 0);
    memset(&it, 0, sizeof(it));
    aa_sf_bare_integer(&it.bare, 1);
    cr_assert_eq(aa_sf_dict_add(&dct, "Bad", &it), AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_serialize_dict(&dct, &out, &d), AA_E_SF_SERIALIZE);
    cr_assert_str_eq(d.ref, "RFC8941#4.1.1.3");
    cr_assert(strstr(d.msg, "'B'") != NULL, "%s", d.msg);
    cr_assert_eq(out.len, 0);
    aa_sf_dict_free(&dct);

    /* a parameter key */
    memset(&it, 0, sizeof(it));
    aa_sf_bare_integer(&it.bare, 1);
    aa_sf_bare_integer(&v, 2);
    cr_assert_eq(aa_sf_params_add(&it.params, "a!", &v), AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_serialize_item(&it, &out, &d), AA_E_SF_SERIALIZE);
    cr_assert(strstr(d.msg, "'!' at offset 1") != NULL, "%s", d.msg);
    aa_sf_item_free(&it);

    cr_assert_eq(aa_sf_key_check("", 0, NULL), AA_E_SF_SERIALIZE);
    cr_assert_eq(aa_sf_key_check("a\0b", 3, NULL), AA_E_SF_SERIALIZE);
    cr_assert_eq(aa_sf_key_check("*a-b_c.9", 8, NULL), AA_OK);

    /* an inner list cannot be an Item, and inner lists do not nest */
    aa_sf_inner_list_init(&il);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_serialize_item(&il, &out, &d), AA_E_SF_SERIALIZE);
    cr_assert_str_eq(d.ref, "RFC8941#4.1.3");
    aa_sf_inner_list_init(&sub);
    cr_assert_eq(aa_sf_inner_add(&il, &sub), AA_E_INVAL);
    il.inner = calloc(1, sizeof(*il.inner));
    cr_assert_not_null(il.inner);
    il.n_inner = 1;
    il.inner[0].bare.type = AA_SF_INNER_LIST;
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_serialize_inner_list(&il, &out, &d), AA_E_SF_SERIALIZE);
    cr_assert_str_eq(d.ref, "RFC8941#4.1.1.1");
    aa_sf_item_free(&il);

    /* a bare item of no known type is API misuse, not a finding */
    memset(&v, 0, sizeof(v));
    cr_assert_eq(aa_sf_serialize_bare(&v, &out, NULL), AA_E_INVAL);
    cr_assert_eq(aa_sf_serialize_bare(NULL, &out, NULL), AA_E_INVAL);
    aa_buf_free(&out);
}

/* A full buffer is a fault reported as AA_E_LIMIT, never a crash. */
Test(sf, serializer_respects_buffer_limit)
{
    struct aa_sf_item it;
    struct aa_buf out;
    struct aa_diag d;

    memset(&it, 0, sizeof(it));
    cr_assert_eq(aa_sf_bare_string(&it.bare, "0123456789", 10), AA_OK);
    aa_buf_init(&out, 8);
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_serialize_item(&it, &out, &d), AA_E_LIMIT);
    cr_assert_eq(d.code, AA_E_LIMIT);
    aa_buf_free(&out);
    aa_sf_item_free(&it);
}

/* Build the Signature-Input and Signature a signer emits. */
Test(sf, builders_make_signature_headers)
{
    static const char *comp[] = {"@method", "@authority", "@path", "signature-key"};
    struct aa_sf_dict dct = {NULL, 0};
    struct aa_sf_item il, it;
    struct aa_sf_bare v;
    struct aa_buf out;
    uint8_t sig[64];
    size_t n;

    aa_sf_inner_list_init(&il);
    for (size_t i = 0; i < 4; i++) {
        memset(&it, 0, sizeof(it));
        cr_assert_eq(aa_sf_bare_string(&it.bare, comp[i], strlen(comp[i])), AA_OK);
        cr_assert_eq(aa_sf_inner_add(&il, &it), AA_OK);
        cr_assert_null(it.bare.s); /* moved */
    }
    aa_sf_bare_integer(&v, 1768786221);
    cr_assert_eq(aa_sf_params_add(&il.params, "created", &v), AA_OK);
    cr_assert_eq(aa_sf_dict_add(&dct, "sig1", &il), AA_OK);
    cr_assert_eq(il.bare.type, 0);
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_sf_serialize_dict(&dct, &out, NULL), AA_OK);
    cr_assert_str_eq(out.p, SIG_INPUT);
    aa_sf_dict_free(&dct);

    cr_assert_eq(aa_b64_decode(GOOD_SIG, strlen(GOOD_SIG), AA_B64_STD, AA_B64_PAD_REQUIRED, 0, sig,
                               sizeof(sig), &n, NULL),
                 AA_OK);
    memset(&it, 0, sizeof(it));
    cr_assert_eq(aa_sf_bare_bytes(&it.bare, sig, n), AA_OK);
    cr_assert_eq(aa_sf_dict_add(&dct, "sig1", &it), AA_OK);
    aa_buf_reset(&out);
    cr_assert_eq(aa_sf_serialize_dict(&dct, &out, NULL), AA_OK);
    cr_assert_str_eq(out.p, "sig1=:" GOOD_SIG ":");

    /* adding an existing key replaces its value in place */
    memset(&it, 0, sizeof(it));
    aa_sf_bare_boolean(&it.bare, true);
    cr_assert_eq(aa_sf_bare_token(&v, "x", 1), AA_OK);
    cr_assert_eq(aa_sf_params_add(&it.params, "p", &v), AA_OK);
    aa_sf_bare_integer(&v, 7);
    cr_assert_eq(aa_sf_params_add(&it.params, "p", &v), AA_OK);
    cr_assert_eq(it.params.n, 1);
    cr_assert_eq(aa_sf_dict_add(&dct, "sig1", &it), AA_OK);
    cr_assert_eq(dct.n, 1);
    aa_buf_reset(&out);
    cr_assert_eq(aa_sf_serialize_dict(&dct, &out, NULL), AA_OK);
    cr_assert_str_eq(out.p, "sig1;p=7");
    aa_sf_dict_free(&dct);
    aa_buf_free(&out);

    cr_assert_eq(aa_sf_params_add(NULL, "k", &v), AA_E_INVAL);
    cr_assert_eq(aa_sf_inner_add(&it, &it), AA_E_INVAL); /* |it| is not an inner list */
}

Test(sf, list_builder_and_date_display)
{
    struct aa_sf_list l = {NULL, 0};
    struct aa_sf_item it, il;
    struct aa_buf out;

    memset(&it, 0, sizeof(it));
    aa_sf_bare_date(&it.bare, 1768786221);
    cr_assert_eq(aa_sf_list_add(&l, &it), AA_OK);
    memset(&it, 0, sizeof(it));
    cr_assert_eq(aa_sf_bare_display(&it.bare, "f\xc3\xbc \"%", 6), AA_OK);
    cr_assert_eq(aa_sf_list_add(&l, &it), AA_OK);
    aa_sf_inner_list_init(&il);
    cr_assert_eq(aa_sf_list_add(&l, &il), AA_OK);
    memset(&it, 0, sizeof(it));
    aa_sf_bare_decimal(&it.bare, -1500);
    cr_assert_eq(aa_sf_list_add(&l, &it), AA_OK);
    aa_buf_init(&out, 0);
    cr_assert_eq(aa_sf_serialize_list(&l, &out, NULL), AA_OK);
    cr_assert_str_eq(out.p, "@1768786221, %\"f%c3%bc %22%25\", (), -1.5");
    aa_buf_free(&out);
    aa_sf_list_free(&l);
}

/* ---- grammar predicates for other parsers (PROFILE#2.1 Signature-Key) -- */
Test(sf, key_and_bare_item_at_position)
{
    const char *in = "scheme=jwt jwt=\"eyJ.x.y\" Bad=1";
    size_t len = strlen(in), pos = 0;
    struct aa_sf_bare b;
    struct aa_diag d;
    char *key;

    cr_assert_eq(aa_sf_parse_key_at(in, len, &pos, &key, NULL), AA_OK);
    cr_assert_str_eq(key, "scheme");
    cr_assert_eq(pos, 6);
    free(key);
    pos++; /* "=" */
    cr_assert_eq(aa_sf_parse_bare_at(in, len, &pos, &b, NULL), AA_OK);
    cr_assert_eq(b.type, AA_SF_TOKEN);
    cr_assert_str_eq(b.s, "jwt");
    cr_assert_eq(pos, 10);
    aa_sf_bare_free(&b);
    pos = 15;
    cr_assert_eq(aa_sf_parse_bare_at(in, len, &pos, &b, NULL), AA_OK);
    cr_assert_eq(b.type, AA_SF_STRING);
    cr_assert_str_eq(b.s, "eyJ.x.y");
    cr_assert_eq(pos, 24);
    aa_sf_bare_free(&b);
    /* failures leave the cursor where it was */
    pos = 25;
    aa_diag_clear(&d);
    cr_assert_eq(aa_sf_parse_key_at(in, len, &pos, &key, &d), AA_E_SF_KEY);
    cr_assert_eq(pos, 25);
    cr_assert_null(key);
    cr_assert(strstr(d.msg, "offset 25, found 'B'") != NULL, "%s", d.msg);
    pos = 6;
    cr_assert_eq(aa_sf_parse_bare_at(in, len, &pos, &b, &d), AA_E_SF_SYNTAX);
    cr_assert_eq(pos, 6);
    cr_assert_eq(b.type, 0);
    pos = len + 1;
    cr_assert_eq(aa_sf_parse_key_at(in, len, &pos, &key, NULL), AA_E_INVAL);
}

Test(sf, strerror_and_type_names)
{
    const char *seen[12];
    for (int c = AA_E_SF_SERIALIZE; c <= AA_E_SF_SYNTAX; c++) {
        const char *s = aa_sf_strerror(c);
        cr_assert_not_null(s, "code %d", c);
        cr_assert_str_eq(aa_strerror(c), s, "aa_strerror reaches aa_sf_strerror for %d", c);
        for (int k = AA_E_SF_SERIALIZE; k < c; k++)
            cr_assert_str_neq(seen[k - AA_E_SF_SERIALIZE], s);
        seen[c - AA_E_SF_SERIALIZE] = s;
    }
    cr_assert(strstr(aa_strerror(AA_E_SF_BYTES), "byte sequence") != NULL);
    cr_assert_null(aa_sf_strerror(AA_E_SF_SERIALIZE - 1));
    cr_assert_str_eq(aa_strerror(-199), "unknown error");
    cr_assert_str_eq(aa_sf_type_name(AA_SF_BYTES), "byte sequence");
    cr_assert_str_eq(aa_sf_type_name(AA_SF_DISPLAY), "display string");
    cr_assert_str_eq(aa_sf_type_name(AA_SF_INNER_LIST), "inner list");
    cr_assert_str_eq(aa_sf_type_name((enum aa_sf_type)0), "unknown");
}

/* ---- vectors/sf/negative.json ------------------------------------------ */
static int code_by_name(const char *name)
{
    static const struct {
        const char *name;
        int code;
    } t[] = {
        {"AA_E_SF_SYNTAX", AA_E_SF_SYNTAX},     {"AA_E_SF_INTEGER", AA_E_SF_INTEGER},
        {"AA_E_SF_DECIMAL", AA_E_SF_DECIMAL},   {"AA_E_SF_STRING", AA_E_SF_STRING},
        {"AA_E_SF_TOKEN", AA_E_SF_TOKEN},       {"AA_E_SF_BYTES", AA_E_SF_BYTES},
        {"AA_E_SF_BOOLEAN", AA_E_SF_BOOLEAN},   {"AA_E_SF_KEY", AA_E_SF_KEY},
        {"AA_E_SF_TRAILING", AA_E_SF_TRAILING}, {"AA_E_SF_DATE", AA_E_SF_DATE},
        {"AA_E_SF_DISPLAY", AA_E_SF_DISPLAY},   {"AA_E_LIMIT", AA_E_LIMIT},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].code;
    cr_assert_fail("unknown error name %s in vectors/sf/negative.json", name);
    return 0;
}

static const char *jstr(const cJSON *c, const char *name)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(c, name);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

Test(sf, aauth_negative_vectors)
{
    const char *path = AA_VECTORS_DIR "/sf/negative.json";
    size_t len, ran = 0, failing = 0;
    char *text;
    cJSON *root, *c;

    cr_assert_eq(aa_read_file(path, 1 << 20, &text, &len), AA_OK, "cannot read %s", path);
    root = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(root, "%s is not JSON", path);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
    {
        const char *name = jstr(c, "name"), *ht = jstr(c, "header_type"), *raw = jstr(c, "raw");
        const char *ref = jstr(c, "ref"), *msg = jstr(c, "message_contains");
        struct aa_sf_item item;
        struct aa_sf_list list;
        struct aa_sf_dict dct;
        struct aa_diag d;
        int rc = AA_E_INVAL;

        cr_assert(name && ht && raw, "case %zu lacks name/header_type/raw", ran);
        ran++;
        aa_diag_clear(&d);
        if (strcmp(ht, "item") == 0)
            rc = aa_sf_parse_item(raw, strlen(raw), &item, &d);
        else if (strcmp(ht, "list") == 0)
            rc = aa_sf_parse_list(raw, strlen(raw), &list, &d);
        else if (strcmp(ht, "dictionary") == 0)
            rc = aa_sf_parse_dict(raw, strlen(raw), &dct, &d);
        else
            cr_assert_fail("%s: header_type %s", name, ht);

        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "must_fail"))) {
            const char *err = jstr(c, "error");
            failing++;
            cr_assert_not_null(err, "%s: must_fail without error", name);
            cr_assert_eq(rc, code_by_name(err), "%s: rc %d (%s), want %s", name, rc, d.msg, err);
            cr_assert_not_null(d.ref, "%s", name);
            if (ref != NULL)
                cr_assert_str_eq(d.ref, ref, "%s: %s", name, d.msg);
            if (msg != NULL)
                cr_assert(strstr(d.msg, msg) != NULL, "%s: \"%s\" lacks \"%s\"", name, d.msg, msg);
            continue;
        }
        /* SF-valid: pin the type the profile check will see */
        {
            const char *member = jstr(c, "member"), *type = jstr(c, "type");
            const char *param = jstr(c, "param"), *canon = jstr(c, "canonical");
            const cJSON *bl = cJSON_GetObjectItemCaseSensitive(c, "bytes_len");
            const struct aa_sf_item *m;
            const struct aa_sf_bare *b;

            cr_assert_eq(rc, AA_OK, "%s: %s", name, d.msg);
            cr_assert_str_eq(ht, "dictionary", "%s: sf_valid cases inspect a dictionary", name);
            cr_assert(member && type, "%s: needs member and type", name);
            m = aa_sf_dict_get(&dct, member);
            cr_assert_not_null(m, "%s: no member %s", name, member);
            b = param ? aa_sf_params_get(&m->params, param) : &m->bare;
            cr_assert_not_null(b, "%s: no parameter %s", name, param);
            cr_assert_str_eq(aa_sf_type_name(b->type), type, "%s", name);
            if (cJSON_IsNumber(bl))
                cr_assert_eq(b->len, (size_t)bl->valueint, "%s", name);
            if (canon != NULL) {
                struct aa_buf out;
                aa_buf_init(&out, 0);
                cr_assert_eq(aa_sf_serialize_dict(&dct, &out, NULL), AA_OK);
                cr_assert_str_eq(out.p, canon, "%s", name);
                aa_buf_free(&out);
            }
            aa_sf_dict_free(&dct);
        }
    }
    cJSON_Delete(root);
    cr_assert_gt(failing, 0);
    cr_assert_gt(ran, failing, "the file also pins SF-valid shapes");
}
