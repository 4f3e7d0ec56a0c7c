/*
 * fuzz_sf: RFC 8941 / RFC 9651 Structured Fields (harness/sf/aa_sf.h).
 * fuzz-libs: aa_sf aa_b64 aa_core
 *
 * Every input is parsed as an Item, a List and a Dictionary. Beyond "does
 * not crash, does not leak", each run checks:
 *   1. Rejections are findings with a citation (fuzz_common.h contract).
 *   2. Round trip: a value that parses serializes (RFC 8941 §4.1 can
 *      express everything §4.2 accepts), the output parses again, gives an
 *      equal tree, and serializing that tree gives the same bytes
 *      (canonical form is a fixed point).
 *   3. Output bound: canonical output is never longer than
 *      input + (number of ',') + (number of ':'): separators become ", "
 *      (+1 per comma) and an unpadded Byte Sequence gains at most "=="
 *      (+2 per pair of colons); everything else only shrinks.
 *   4. Cross-type: a text that parses as an Item parses as a List of
 *      exactly that one Item. (Not the converse: a List may end in OWS,
 *      an Item only in SP, RFC 8941 §4.2 and §4.2.1.)
 *   5. The grammar predicates aa_sf_parse_key_at / aa_sf_parse_bare_at
 *      (reused by the Signature-Key grammar) only ever advance the
 *      position, and never past the end.
 *   6. The serializer never leaves partial output behind on failure, and
 *      aa_sf_bare_decimal_text / aa_sf_key_check agree with the parser.
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "fuzz_common.h"
#include "sf/aa_sf.h"

AA_FUZZ_LINK_STRERROR(aa_sf_strerror, aa_b64_strerror);

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
    case AA_SF_STRING:
    case AA_SF_TOKEN:
    case AA_SF_BYTES:
    case AA_SF_DISPLAY:
        return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    default:
        return true;
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
    if (!bare_eq(&a->bare, &b->bare) || !params_eq(&a->params, &b->params))
        return false;
    if (a->bare.type != AA_SF_INNER_LIST)
        return true;
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

/* Structural checks every parsed tree must pass (limits and grammar). */
static void check_key(const char *k)
{
    size_t n = strlen(k);

    AA_FUZZ_CHECK(n >= 1 && n <= AA_SF_MAX_KEY, "key of %zu characters accepted", n);
    AA_FUZZ_CHECK(aa_sf_key_check(k, n, NULL) == AA_OK, "parsed key \"%s\" fails key_check", k);
}

static void check_item(const struct aa_sf_item *it, bool inner_allowed)
{
    AA_FUZZ_CHECK(it->params.n <= AA_SF_MAX_PARAMS, "%zu parameters accepted", it->params.n);
    for (size_t i = 0; i < it->params.n; i++) {
        check_key(it->params.v[i].key);
        AA_FUZZ_CHECK(it->params.v[i].value.type != AA_SF_INNER_LIST,
                      "parameter value is an inner list");
        for (size_t j = 0; j < i; j++)
            AA_FUZZ_CHECK(strcmp(it->params.v[i].key, it->params.v[j].key) != 0,
                          "parameter key \"%s\" kept twice", it->params.v[i].key);
    }
    if (it->bare.type == AA_SF_INNER_LIST) {
        AA_FUZZ_CHECK(inner_allowed, "inner list where an item is required");
        AA_FUZZ_CHECK(it->n_inner <= AA_SF_MAX_MEMBERS, "%zu inner items", it->n_inner);
        for (size_t i = 0; i < it->n_inner; i++)
            check_item(&it->inner[i], false);
    } else {
        AA_FUZZ_CHECK(it->bare.type >= AA_SF_INTEGER && it->bare.type <= AA_SF_DISPLAY,
                      "bare type %d", (int)it->bare.type);
        if (it->bare.type == AA_SF_DISPLAY)
            AA_FUZZ_CHECK(aa_fuzz_utf8_valid((const uint8_t *)it->bare.s, it->bare.len),
                          "display string holds invalid UTF-8");
        if (it->bare.type == AA_SF_INTEGER)
            AA_FUZZ_CHECK(it->bare.i >= -999999999999999LL && it->bare.i <= 999999999999999LL,
                          "integer %lld out of range", (long long)it->bare.i);
    }
}

static size_t count_byte(const uint8_t *p, size_t n, uint8_t c)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += p[i] == c;
    return k;
}

enum kind { K_ITEM, K_LIST, K_DICT };
static const char *const kind_names[] = {"item", "list", "dict"};

union tree {
    struct aa_sf_item item;
    struct aa_sf_list list;
    struct aa_sf_dict dict;
};

static int parse(enum kind k, const char *in, size_t n, union tree *t, struct aa_diag *d)
{
    switch (k) {
    case K_ITEM:
        return aa_sf_parse_item(in, n, &t->item, d);
    case K_LIST:
        return aa_sf_parse_list(in, n, &t->list, d);
    default:
        return aa_sf_parse_dict(in, n, &t->dict, d);
    }
}

static int serialize(enum kind k, const union tree *t, struct aa_buf *out, struct aa_diag *d)
{
    switch (k) {
    case K_ITEM:
        return aa_sf_serialize_item(&t->item, out, d);
    case K_LIST:
        return aa_sf_serialize_list(&t->list, out, d);
    default:
        return aa_sf_serialize_dict(&t->dict, out, d);
    }
}

static void tree_free(enum kind k, union tree *t)
{
    switch (k) {
    case K_ITEM:
        aa_sf_item_free(&t->item);
        break;
    case K_LIST:
        aa_sf_list_free(&t->list);
        break;
    default:
        aa_sf_dict_free(&t->dict);
        break;
    }
}

static bool tree_eq(enum kind k, const union tree *a, const union tree *b)
{
    switch (k) {
    case K_ITEM:
        return item_eq(&a->item, &b->item);
    case K_LIST:
        return list_eq(&a->list, &b->list);
    default:
        return dict_eq(&a->dict, &b->dict);
    }
}

static void check_tree(enum kind k, const union tree *t)
{
    switch (k) {
    case K_ITEM:
        check_item(&t->item, false);
        break;
    case K_LIST:
        AA_FUZZ_CHECK(t->list.n <= AA_SF_MAX_MEMBERS, "%zu list members", t->list.n);
        for (size_t i = 0; i < t->list.n; i++)
            check_item(&t->list.v[i], true);
        break;
    default:
        AA_FUZZ_CHECK(t->dict.n <= AA_SF_MAX_MEMBERS, "%zu dict members", t->dict.n);
        for (size_t i = 0; i < t->dict.n; i++) {
            check_key(t->dict.v[i].key);
            check_item(&t->dict.v[i].item, true);
            for (size_t j = 0; j < i; j++)
                AA_FUZZ_CHECK(strcmp(t->dict.v[i].key, t->dict.v[j].key) != 0,
                              "dict key \"%s\" kept twice", t->dict.v[i].key);
        }
        break;
    }
}

/* Parse |in| as |k|; on success run invariants 2 and 3. Returns the parse
 * result; |t| is filled on success (caller frees). */
static int round_trip(enum kind k, const uint8_t *in, size_t n, union tree *t)
{
    struct aa_diag d;
    union tree t2;
    struct aa_buf s1, s2;
    size_t bound;
    int rc;

    aa_diag_clear(&d);
    rc = parse(k, (const char *)in, n, t, &d);
    if (rc != AA_OK) {
        aa_fuzz_check_rejection(kind_names[k], rc, &d, true);
        return rc;
    }
    check_tree(k, t);

    aa_buf_init(&s1, AA_BUF_DEFAULT_MAX);
    aa_buf_init(&s2, AA_BUF_DEFAULT_MAX);
    aa_diag_clear(&d);
    rc = serialize(k, t, &s1, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "%s parsed but does not serialize: %d %s", kind_names[k], rc, d.msg);
    bound = n + count_byte(in, n, ',') + count_byte(in, n, ':');
    AA_FUZZ_CHECK(s1.len <= bound, "%s: %zu input bytes serialize to %zu (bound %zu)",
                  kind_names[k], n, s1.len, bound);

    aa_diag_clear(&d);
    rc = parse(k, s1.len ? s1.p : "", s1.len, &t2, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "%s: canonical output \"%s\" does not parse: %s", kind_names[k],
                  s1.p ? s1.p : "", d.msg);
    AA_FUZZ_CHECK(tree_eq(k, t, &t2), "%s: canonical output \"%s\" parses to another tree",
                  kind_names[k], s1.p ? s1.p : "");
    rc = serialize(k, &t2, &s2, &d);
    AA_FUZZ_CHECK(rc == AA_OK && s1.len == s2.len &&
                      (s1.len == 0 || memcmp(s1.p, s2.p, s1.len) == 0),
                  "%s: canonical form is not a fixed point: \"%s\" -> \"%s\"", kind_names[k],
                  s1.p ? s1.p : "", s2.p ? s2.p : "");
    tree_free(k, &t2);
    aa_buf_free(&s1);
    aa_buf_free(&s2);
    return AA_OK;
}

/* Invariant 6: a serializer that fails into a non-empty buffer restores it. */
static void check_serializer_rollback(const struct aa_sf_bare *b)
{
    struct aa_buf out;
    struct aa_diag d;
    int rc;

    aa_buf_init(&out, AA_BUF_DEFAULT_MAX);
    AA_FUZZ_CHECK(aa_buf_adds(&out, "prefix") == AA_OK, "buffer");
    aa_diag_clear(&d);
    rc = aa_sf_serialize_bare(b, &out, &d);
    if (rc != AA_OK) {
        AA_FUZZ_CHECK(out.len == 6 && memcmp(out.p, "prefix", 6) == 0,
                      "failed serialization left %zu bytes", out.len);
        AA_FUZZ_CHECK(rc == AA_E_SF_SERIALIZE, "serializer refused a built value with %d", rc);
    } else {
        /* What the serializer accepts from a builder must parse back. */
        struct aa_sf_item it;
        struct aa_diag pd;
        aa_diag_clear(&pd);
        int prc = aa_sf_parse_item(out.p + 6, out.len - 6, &it, &pd);
        AA_FUZZ_CHECK(prc == AA_OK, "serialized bare \"%s\" does not parse: %s", out.p + 6, pd.msg);
        AA_FUZZ_CHECK(bare_eq(b, &it.bare), "serialized bare \"%s\" parses to another value",
                      out.p + 6);
        aa_sf_item_free(&it);
    }
    aa_buf_free(&out);
}

static void check_builders(const uint8_t *data, size_t size)
{
    struct aa_sf_bare b;
    struct aa_diag d;
    int rc;

    /* Strings and tokens built from arbitrary bytes: the serializer must
     * refuse exactly what the grammar cannot carry, and nothing else. */
    memset(&b, 0, sizeof(b));
    if (aa_sf_bare_string(&b, (const char *)data, size) == AA_OK) {
        check_serializer_rollback(&b);
        aa_sf_bare_free(&b);
    }
    memset(&b, 0, sizeof(b));
    if (aa_sf_bare_token(&b, (const char *)data, size) == AA_OK) {
        check_serializer_rollback(&b);
        aa_sf_bare_free(&b);
    }
    memset(&b, 0, sizeof(b));
    if (aa_sf_bare_display(&b, (const char *)data, size) == AA_OK) {
        if (aa_fuzz_utf8_valid(data, size))
            check_serializer_rollback(&b);
        aa_sf_bare_free(&b);
    }
    memset(&b, 0, sizeof(b));
    if (aa_sf_bare_bytes(&b, data, size) == AA_OK) {
        check_serializer_rollback(&b);
        aa_sf_bare_free(&b);
    }
    memset(&b, 0, sizeof(b));
    aa_diag_clear(&d);
    rc = aa_sf_bare_decimal_text(&b, (const char *)data, size, &d);
    if (rc == AA_OK) {
        AA_FUZZ_CHECK(b.type == AA_SF_DECIMAL, "decimal_text type %d", (int)b.type);
        check_serializer_rollback(&b);
        aa_sf_bare_free(&b);
    } else {
        aa_fuzz_check_rejection("aa_sf_bare_decimal_text", rc, &d, true);
    }
    aa_diag_clear(&d);
    rc = aa_sf_key_check((const char *)data, size, &d);
    if (rc != AA_OK)
        aa_fuzz_check_rejection("aa_sf_key_check", rc, &d, true);
}

static void check_predicates(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t start = size ? data[0] % (size + 1) : 0;
    size_t pos = start;
    struct aa_diag d;
    char *key = NULL;
    struct aa_sf_bare b;
    int rc;

    aa_diag_clear(&d);
    rc = aa_sf_parse_key_at(in, size, &pos, &key, &d);
    if (rc == AA_OK) {
        AA_FUZZ_CHECK(pos > start && pos <= size, "key_at moved %zu -> %zu of %zu", start, pos,
                      size);
        AA_FUZZ_CHECK(strlen(key) == pos - start, "key_at: key length %zu, consumed %zu",
                      strlen(key), pos - start);
        check_key(key);
        free(key);
    } else {
        AA_FUZZ_CHECK(pos == start, "key_at moved the position on failure");
        AA_FUZZ_CHECK(key == NULL, "key_at returned a key on failure");
        aa_fuzz_check_rejection("aa_sf_parse_key_at", rc, &d, true);
    }

    pos = start;
    aa_diag_clear(&d);
    rc = aa_sf_parse_bare_at(in, size, &pos, &b, &d);
    if (rc == AA_OK) {
        AA_FUZZ_CHECK(pos > start && pos <= size, "bare_at moved %zu -> %zu of %zu", start, pos,
                      size);
        check_serializer_rollback(&b);
        aa_sf_bare_free(&b);
    } else {
        AA_FUZZ_CHECK(pos == start, "bare_at moved the position on failure");
        aa_fuzz_check_rejection("aa_sf_parse_bare_at", rc, &d, true);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    union tree ti, tl, td;
    int rci, rcl, rcd;

    rci = round_trip(K_ITEM, data, size, &ti);
    rcl = round_trip(K_LIST, data, size, &tl);
    rcd = round_trip(K_DICT, data, size, &td);

    /* Invariant 4. */
    if (rci == AA_OK) {
        AA_FUZZ_CHECK(rcl == AA_OK, "item parses but the same text is not a list");
        AA_FUZZ_CHECK(tl.list.n == 1 && item_eq(&ti.item, &tl.list.v[0]),
                      "item and one-member list disagree");
    }

    if (rci == AA_OK)
        aa_sf_item_free(&ti.item);
    if (rcl == AA_OK)
        aa_sf_list_free(&tl.list);
    if (rcd == AA_OK)
        aa_sf_dict_free(&td.dict);

    check_predicates(data, size);
    if (size <= 4096)
        check_builders(data, size);
    return 0;
}
