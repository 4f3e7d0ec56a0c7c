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

#define AA_JSON_MAX_DEPTH 32           /* PROFILE#4.1 */
#define AA_JSON_MAX_INPUT (1024 * 1024) /* bodies are capped at 1 MiB (RB-02) */

/* Options; zero-initialised means defaults (depth 32, 1 MiB, object root). */
struct aa_json_opts {
    int max_depth;
    size_t max_len;
    bool allow_any_root; /* default: the root must be an object */
};

/*
 * Validate |len| bytes and parse them. On success |*out| is a new tree the
 * caller frees with cJSON_Delete. |d| cites RFC8259 sections or PROFILE#4.1.
 */
int aa_json_parse(const char *text, size_t len, const struct aa_json_opts *opts,
                  cJSON **out, struct aa_diag *d) AA_WUR;

/* Typed getters: NULL when absent or of another type. */
const char *aa_json_str(const cJSON *obj, const char *name);
bool aa_json_int(const cJSON *obj, const char *name, int64_t *out); /* integral numbers only */

/* Serialize compactly (no whitespace) into |out| (appends). */
int aa_json_print(const cJSON *v, struct aa_buf *out);

const char *aa_json_strerror(int code);

#endif
