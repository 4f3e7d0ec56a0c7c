/*
 * aa_json: strict, bounded JSON intake on top of cJSON.
 *
 * cJSON silently accepts duplicate member names and has no depth limit, so
 * every untrusted JSON document (JWT header/payload, JWKS, metadata, request
 * bodies) goes through aa_json_parse(), which first validates the text
 * (RFC 8259 grammar, UTF-8, depth, size, duplicate names — PROFILE#4.1 D-29)
 * and only then builds the cJSON tree.
 */
#ifndef AA_JSON_H
#define AA_JSON_H

#include <cJSON.h>

#include "../core/aa_core.h"

enum {
    AA_E_JSON_SYNTAX = -200,    /* RFC8259 grammar violation */
    AA_E_JSON_DUPLICATE = -201, /* duplicate member name (PROFILE#4.1, D-29) */
    AA_E_JSON_DEPTH = -202,     /* nesting deeper than the limit */
    AA_E_JSON_TYPE = -203,      /* value of the wrong JSON type */
    AA_E_JSON_UTF8 = -204,      /* invalid UTF-8 or bad \u escape */
    AA_E_JSON_MISSING = -205    /* required member absent */
};

#define AA_JSON_MAX_DEPTH 32            /* PROFILE#4.1 */
#define AA_JSON_MAX_INPUT (1024 * 1024) /* bodies are capped at 1 MiB (RB-02) */
/* Hard ceiling for opts->max_depth: the validator recurses once per level. */
#define AA_JSON_DEPTH_CEILING 512
/* Longest number literal accepted: cJSON 1.7.15 copies numbers into a
 * 64-byte buffer, so a longer (valid) literal would be cut short. */
#define AA_JSON_MAX_NUMBER_LEN 63
/* Largest magnitude aa_json_int() accepts: 2^53 - 1. cJSON stores every
 * number as a double; past 2^53 a double no longer identifies one integer. */
#define AA_JSON_INT_MAX ((int64_t)9007199254740991)

/* Options; zero-initialised means defaults (depth 32, 1 MiB, object root). */
struct aa_json_opts {
    int max_depth;
    size_t max_len;
    bool allow_any_root; /* default: the root must be an object */
};

/*
 * Validate |len| bytes and parse them. On success |*out| is a new tree the
 * caller frees with cJSON_Delete; on failure |*out| is NULL. |d| cites
 * RFC8259 sections or PROFILE#4.1 and names the byte offset.
 *
 * Depth counts containers: the root object is level 1, so with the default
 * limit 32 nested containers pass and the 33rd fails (AA_E_JSON_DEPTH).
 * Member names are compared after unescaping ("a" and "\u0061" collide).
 * Besides RFC 8259 the validator rejects a leading byte-order mark and the
 * escape \u0000 (cJSON strings are NUL-terminated, so a NUL inside a name or
 * value would silently truncate it: "kid":"a\u0000b" would read as "a").
 *
 * Returns AA_OK, AA_E_JSON_SYNTAX, AA_E_JSON_UTF8, AA_E_JSON_DEPTH,
 * AA_E_JSON_DUPLICATE, AA_E_JSON_TYPE (root not an object), AA_E_LIMIT
 * (input or a number literal too long), AA_E_INVAL, AA_E_NOMEM (also when
 * cJSON cannot build the tree of validated text: past the validator its
 * only failure is an allocation).
 */
int aa_json_parse(const char *text, size_t len, const struct aa_json_opts *opts, cJSON **out,
                  struct aa_diag *d) AA_WUR;

/*
 * Typed getters: NULL/false when absent or of another type. Member lookup
 * is case-sensitive (JSON names are; cJSON_GetObjectItem is not).
 */
const char *aa_json_str(const cJSON *obj, const char *name);
/*
 * Integral numbers only: |v| <= AA_JSON_INT_MAX (2^53 - 1) and no fraction
 * (1e3 and 5.0 are integral; 1.5, NaN and 2^53 are not). |*out| is written
 * only on success.
 */
bool aa_json_int(const cJSON *obj, const char *name, int64_t *out);

/* Serialize compactly (no whitespace) into |out| (appends). */
int aa_json_print(const cJSON *v, struct aa_buf *out);

/*
 * Append |s| (|n| bytes) to |out| as a JSON string literal with quotes,
 * escaping '"', '\\' and control characters (RFC8259#7). Bytes >= 0x80 are
 * copied as they are (the caller supplies UTF-8).
 */
int aa_json_quote(struct aa_buf *out, const char *s, size_t n);

const char *aa_json_strerror(int code);

#endif
