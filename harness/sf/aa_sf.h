/*
 * aa_sf: Structured Field Values for HTTP (RFC 8941, as updated by RFC 9651:
 * adds Date and Display String). Parse and canonically serialize Items,
 * Lists, Dictionaries, Inner Lists and Parameters.
 *
 * Design choice: parsed trees own their data (strings are unescaped copies,
 * byte sequences decoded bytes) so a tree outlives the header it came from;
 * the whole tree is released with one *_free call. Limits are named
 * constants and every limit violation is AA_E_LIMIT with a message.
 *
 * Multiple field lines: the caller joins them with ", " before parsing
 * (RFC 9110 §5.3) — the AAuth profile forbids several lines for its own
 * headers anyway (PROFILE#2.2).
 */
#ifndef AA_SF_H
#define AA_SF_H

#include "../core/aa_core.h"

enum {
    AA_E_SF_SYNTAX = -150,   /* generic parse failure */
    AA_E_SF_INTEGER = -151,  /* RFC8941#3.3.1 / #4.2.4 */
    AA_E_SF_DECIMAL = -152,  /* RFC8941#3.3.2 / #4.2.4 */
    AA_E_SF_STRING = -153,   /* RFC8941#3.3.3 / #4.2.5 */
    AA_E_SF_TOKEN = -154,    /* RFC8941#3.3.4 / #4.2.6 */
    AA_E_SF_BYTES = -155,    /* RFC8941#3.3.5 / #4.2.7 */
    AA_E_SF_BOOLEAN = -156,  /* RFC8941#3.3.6 / #4.2.8 */
    AA_E_SF_KEY = -157,      /* RFC8941#3.1.2 / #4.2.3.3 */
    AA_E_SF_TRAILING = -158, /* characters after the value (RFC8941#4.2) */
    AA_E_SF_DATE = -159,     /* RFC9651#3.3.7 */
    AA_E_SF_DISPLAY = -160,  /* RFC9651#3.3.8 */
    AA_E_SF_SERIALIZE = -161 /* value cannot be serialized (RFC8941#4.1) */
};

/* Limits (inputs beyond them fail with AA_E_LIMIT). */
#define AA_SF_MAX_INPUT (64 * 1024) /* bytes of one field value */
#define AA_SF_MAX_MEMBERS 1024      /* list/dict members, inner-list items */
#define AA_SF_MAX_PARAMS 256        /* parameters on one item */
#define AA_SF_MAX_KEY 256           /* characters in a key */

enum aa_sf_type {
    AA_SF_INTEGER = 1,
    AA_SF_DECIMAL,
    AA_SF_STRING,
    AA_SF_TOKEN,
    AA_SF_BYTES,
    AA_SF_BOOLEAN,
    AA_SF_DATE,
    AA_SF_DISPLAY,   /* display string, value holds UTF-8 */
    AA_SF_INNER_LIST /* only as a list/dict member value */
};

/*
 * A bare item. |s| holds string/token/display text (NUL-terminated, len
 * excludes NUL) or byte-sequence bytes (decoded). Decimals are stored as an
 * exact count of thousandths (RFC 8941 allows at most 3 fraction digits).
 */
struct aa_sf_bare {
    enum aa_sf_type type;
    int64_t i;      /* INTEGER, DATE; DECIMAL: value * 1000 */
    bool b;         /* BOOLEAN */
    char *s;        /* STRING, TOKEN, DISPLAY, BYTES (owned) */
    size_t len;
};

struct aa_sf_param {
    char *key; /* owned, lowercase per grammar */
    struct aa_sf_bare value;
};

struct aa_sf_params {
    struct aa_sf_param *v;
    size_t n;
};

/* An Item, or (type INNER_LIST) an Inner List with its own parameters. */
struct aa_sf_item {
    struct aa_sf_bare bare;      /* bare.type == AA_SF_INNER_LIST for lists */
    struct aa_sf_item *inner;    /* inner-list items (each a plain item) */
    size_t n_inner;
    struct aa_sf_params params;
};

struct aa_sf_list {
    struct aa_sf_item *v;
    size_t n;
};

struct aa_sf_dict_member {
    char *key;
    struct aa_sf_item item; /* boolean true with no params for a bare key */
};

/* Members keep first-appearance order; a repeated key overwrites the value
 * in place (RFC 8941 §4.2.2). */
struct aa_sf_dict {
    struct aa_sf_dict_member *v;
    size_t n;
};

/* ---- parsing (RFC 8941 §4.2) -------------------------------------------
 * Each returns AA_OK, AA_E_LIMIT, AA_E_NOMEM or an AA_E_SF_* finding with
 * |d| citing the RFC section ("RFC8941#4.2.7") and the offset. On failure
 * |out| is left empty (nothing to free). */
int aa_sf_parse_item(const char *in, size_t len, struct aa_sf_item *out,
                     struct aa_diag *d) AA_WUR;
int aa_sf_parse_list(const char *in, size_t len, struct aa_sf_list *out,
                     struct aa_diag *d) AA_WUR;
int aa_sf_parse_dict(const char *in, size_t len, struct aa_sf_dict *out,
                     struct aa_diag *d) AA_WUR;

void aa_sf_item_free(struct aa_sf_item *it);
void aa_sf_list_free(struct aa_sf_list *l);
void aa_sf_dict_free(struct aa_sf_dict *dct);
void aa_sf_params_free(struct aa_sf_params *p);
void aa_sf_bare_free(struct aa_sf_bare *b);

/* ---- serialization (RFC 8941 §4.1), canonical; appends to |out| -------- */
int aa_sf_serialize_item(const struct aa_sf_item *it, struct aa_buf *out,
                         struct aa_diag *d);
int aa_sf_serialize_list(const struct aa_sf_list *l, struct aa_buf *out,
                         struct aa_diag *d);
int aa_sf_serialize_dict(const struct aa_sf_dict *dct, struct aa_buf *out,
                         struct aa_diag *d);
/* Inner list "(...)" followed by its parameters — the RFC 9421
 * @signature-params value. */
int aa_sf_serialize_inner_list(const struct aa_sf_item *il, struct aa_buf *out,
                               struct aa_diag *d);
int aa_sf_serialize_params(const struct aa_sf_params *p, struct aa_buf *out,
                           struct aa_diag *d);
int aa_sf_serialize_bare(const struct aa_sf_bare *b, struct aa_buf *out,
                         struct aa_diag *d);

/* ---- lookup and construction helpers ---------------------------------- */
const struct aa_sf_item *aa_sf_dict_get(const struct aa_sf_dict *dct,
                                        const char *key);
const struct aa_sf_bare *aa_sf_params_get(const struct aa_sf_params *p,
                                          const char *key);

/* Build bare values (deep copies; free with aa_sf_bare_free). */
int aa_sf_bare_string(struct aa_sf_bare *b, const char *s, size_t len);
int aa_sf_bare_token(struct aa_sf_bare *b, const char *s, size_t len);
int aa_sf_bare_bytes(struct aa_sf_bare *b, const uint8_t *p, size_t len);
void aa_sf_bare_integer(struct aa_sf_bare *b, int64_t v);
void aa_sf_bare_boolean(struct aa_sf_bare *b, bool v);
/* Append a parameter (key copied, value moved into the list). */
int aa_sf_params_add(struct aa_sf_params *p, const char *key,
                     struct aa_sf_bare *value);
/* Append an item to an inner list (moved in). */
int aa_sf_inner_add(struct aa_sf_item *il, struct aa_sf_item *item);
/* Append a dictionary member (key copied, item moved in). */
int aa_sf_dict_add(struct aa_sf_dict *dct, const char *key,
                   struct aa_sf_item *item);

/* Grammar predicates usable by other parsers (e.g. the Signature-Key
 * grammar of PROFILE#2.1 reuses sf-key, sf-token and sf-string). Each
 * consumes from |in| at |*pos| and advances it. */
int aa_sf_parse_key_at(const char *in, size_t len, size_t *pos, char **out,
                       struct aa_diag *d);
int aa_sf_parse_bare_at(const char *in, size_t len, size_t *pos,
                        struct aa_sf_bare *out, struct aa_diag *d);

const char *aa_sf_type_name(enum aa_sf_type t);
const char *aa_sf_strerror(int code);

/* ---- additions (builders the corpus and signers need) ------------------
 * Builders do not validate what they store; the serializer refuses
 * anything RFC 9651 §4.1 cannot express (AA_E_SF_SERIALIZE). Adding a key
 * that is already present replaces its value in place (ordered-map
 * semantics, as the parser has). On failure an add leaves the value with
 * the caller. */

/* Decimal as an exact count of thousandths (serializer checks the
 * 12-integer-digit range). */
void aa_sf_bare_decimal(struct aa_sf_bare *b, int64_t thousandths);
/* Decimal from text "[-]digits[.digits]": more than three fraction digits
 * are rounded half-to-even on the decimal text (RFC 8941 §4.1.5), so
 * "0.0025" -> 0.002 and "9.9995" -> 10.0. AA_E_SF_DECIMAL for malformed
 * text or more than 15 integer digits (which int64 thousandths cannot
 * hold); a value with 13..15 integer digits is stored and refused by the
 * serializer. */
int aa_sf_bare_decimal_text(struct aa_sf_bare *b, const char *s, size_t len,
                            struct aa_diag *d);
/* Date (RFC 9651 §3.3.7), seconds since the epoch. */
void aa_sf_bare_date(struct aa_sf_bare *b, int64_t seconds);
/* Display string (RFC 9651 §3.3.8) from UTF-8 text (copied). */
int aa_sf_bare_display(struct aa_sf_bare *b, const char *utf8, size_t len);
/* Make |il| an empty Inner List (no items, no parameters). */
void aa_sf_inner_list_init(struct aa_sf_item *il);
/* Append a list member, an Item or an Inner List (moved in). */
int aa_sf_list_add(struct aa_sf_list *l, struct aa_sf_item *item);
/* The serializer's key check over |len| bytes (RFC 8941 §4.1.1.3): AA_OK
 * or AA_E_SF_SERIALIZE naming the offending character. */
int aa_sf_key_check(const char *key, size_t len, struct aa_diag *d);

#endif
