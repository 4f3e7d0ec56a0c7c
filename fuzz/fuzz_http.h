/*
 * fuzz_http: the request framing of the message-level fuzz targets
 * (fuzz_httpsig, fuzz_verify, fuzz_server_bodies) and of seedgen:
 *
 *   METHOD SP target LF
 *   :pseudo: value LF ...     (optional: :authority, :scheme, :label, :key)
 *   Name: value LF ...        (header lines, in order, duplicates kept)
 *   LF
 *   body                      (every remaining byte)
 *
 * Readable seeds, dictionary-friendly tokens, and every field a request can
 * carry. Values are views into the input: the OWS after the colon is
 * skipped, nothing else is changed (a CR stays in the value, as a hostile
 * peer could send it). Header-only (static inline).
 */
#ifndef AA_FUZZ_HTTP_H
#define AA_FUZZ_HTTP_H

#include <string.h>

#include "fuzz_common.h"

#define AA_FUZZ_MAX_HEADERS 64

struct aa_fuzz_req {
    struct aa_str method, target;
    struct aa_str authority, scheme, label, key; /* pseudo-headers; len 0 when absent */
    bool has_authority;
    struct aa_str name[AA_FUZZ_MAX_HEADERS];
    struct aa_str value[AA_FUZZ_MAX_HEADERS];
    size_t n;
    struct aa_str body;
    bool header_nul; /* a NUL byte in the request line or a header */
};

static inline struct aa_str aa_fuzz_line(const char *p, size_t n, size_t *pos)
{
    size_t start = *pos;
    const char *nl = memchr(p + start, '\n', n - start);
    size_t end = nl ? (size_t)(nl - p) : n;

    *pos = nl ? end + 1 : n;
    return (struct aa_str){p + start, end - start};
}

static inline void aa_fuzz_name_value(struct aa_str line, size_t from, struct aa_str *name,
                                      struct aa_str *value)
{
    const char *colon = from < line.len ? memchr(line.p + from, ':', line.len - from) : NULL;
    size_t nl = colon ? (size_t)(colon - line.p) : line.len;
    size_t v = colon ? nl + 1 : line.len;

    while (v < line.len && (line.p[v] == ' ' || line.p[v] == '\t'))
        v++;
    *name = (struct aa_str){line.p, nl};
    *value = (struct aa_str){line.p + v, line.len - v};
}

static inline void aa_fuzz_req_parse(const uint8_t *data, size_t size, struct aa_fuzz_req *r)
{
    const char *p = size ? (const char *)data : "";
    size_t pos = 0;
    struct aa_str first, name, value;
    const char *sp;

    memset(r, 0, sizeof(*r));
    r->method = r->target = r->authority = r->scheme = r->label = r->key = (struct aa_str){"", 0};
    r->body = (struct aa_str){"", 0};
    first = aa_fuzz_line(p, size, &pos);
    r->header_nul = aa_fuzz_has_nul(first);
    sp = memchr(first.p, ' ', first.len);
    if (sp) {
        r->method = (struct aa_str){first.p, (size_t)(sp - first.p)};
        r->target = (struct aa_str){sp + 1, first.len - (size_t)(sp - first.p) - 1};
    } else {
        r->method = first;
    }
    while (pos < size) {
        struct aa_str line = aa_fuzz_line(p, size, &pos);
        if (line.len == 0)
            break;
        r->header_nul |= aa_fuzz_has_nul(line);
        if (line.p[0] == ':') {
            aa_fuzz_name_value(line, 1, &name, &value);
            if (aa_str_eq(name, ":authority")) {
                r->authority = value;
                r->has_authority = true;
            } else if (aa_str_eq(name, ":scheme")) {
                r->scheme = value;
            } else if (aa_str_eq(name, ":label")) {
                r->label = value;
            } else if (aa_str_eq(name, ":key")) {
                r->key = value;
            }
            continue;
        }
        if (r->n == AA_FUZZ_MAX_HEADERS)
            continue;
        aa_fuzz_name_value(line, 0, &r->name[r->n], &r->value[r->n]);
        r->n++;
    }
    r->body = (struct aa_str){p + pos, size - pos};
}

/* First header named |name| (ASCII case-insensitive), or NULL. */
static inline const struct aa_str *aa_fuzz_req_get(const struct aa_fuzz_req *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (aa_str_eq_ci(r->name[i], name))
            return &r->value[i];
    return NULL;
}

#endif
