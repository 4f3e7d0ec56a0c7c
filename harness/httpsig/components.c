/*
 * RFC 9421 §2: component values and the signature base.
 *
 * Field values follow §2.1 (trim, obs-fold to one SP, ", " between field
 * lines, ;sf ;key ;bs ;req ;tr); derived components follow §2.2 and are
 * computed from the caller's view only, so @authority is always the
 * caller-supplied canonical authority (PROFILE#2.5). The base (§2.5) is
 * built in a private bounded buffer that is cleansed before release.
 */
#include "aa_httpsig.h"

#include <string.h>

#include "../b64/aa_b64.h"

/* ---- small helpers ------------------------------------------------------ */

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Registered structured fields whose type is fixed by their RFC; the ;sf
 * parameter needs the type and RFC9421#2.1.1 makes an unknown type an error. */
static const struct aa_httpsig_sf_hint builtin_sf[] = {
    {"accept-signature", AA_HTTPSIG_SF_DICT},    /* RFC 9421 §5.1 */
    {"signature-input", AA_HTTPSIG_SF_DICT},     /* RFC 9421 §4.1 */
    {"signature", AA_HTTPSIG_SF_DICT},           /* RFC 9421 §4.2 */
    {"content-digest", AA_HTTPSIG_SF_DICT},      /* RFC 9530 §2 */
    {"repr-digest", AA_HTTPSIG_SF_DICT},         /* RFC 9530 §3 */
    {"want-content-digest", AA_HTTPSIG_SF_DICT}, /* RFC 9530 §4 */
    {"want-repr-digest", AA_HTTPSIG_SF_DICT},    /* RFC 9530 §4 */
    {"priority", AA_HTTPSIG_SF_DICT},            /* RFC 9218 §5 */
    {"cdn-cache-control", AA_HTTPSIG_SF_DICT},   /* RFC 9213 §2 */
    {"cache-status", AA_HTTPSIG_SF_LIST},        /* RFC 9211 §2 */
    {"proxy-status", AA_HTTPSIG_SF_LIST},        /* RFC 9209 §2 */
    {"client-cert-chain", AA_HTTPSIG_SF_LIST},   /* RFC 9440 §2.2 */
    {"client-cert", AA_HTTPSIG_SF_ITEM},         /* RFC 9440 §2.2 */
};

enum aa_httpsig_sf_kind aa_httpsig_sf_kind_of(const struct aa_httpsig_msg *m, const char *name)
{
    if (name == NULL)
        return AA_HTTPSIG_SF_UNKNOWN;
    if (m != NULL)
        for (size_t i = 0; i < m->n_sf_hints; i++)
            if (m->sf_hints[i].name != NULL && strcmp(m->sf_hints[i].name, name) == 0)
                return m->sf_hints[i].kind;
    for (size_t i = 0; i < sizeof(builtin_sf) / sizeof(builtin_sf[0]); i++)
        if (strcmp(builtin_sf[i].name, name) == 0)
            return builtin_sf[i].kind;
    return AA_HTTPSIG_SF_UNKNOWN;
}

/*
 * Append one field line's value normalised per RFC9421#2.1: surrounding
 * whitespace removed, each obs-fold (CRLF or LF followed by SP/HTAB)
 * replaced by one SP. Any other CR, LF or control character is refused:
 * a newline would forge extra base lines (RFC9421#2).
 */
static int add_field_value(struct aa_buf *out, struct aa_str v, const char *name, struct aa_diag *d)
{
    size_t a = 0, b = v.len;

    while (a < b && is_ows(v.p[a]))
        a++;
    while (b > a && is_ows(v.p[b - 1]))
        b--;
    for (size_t i = a; i < b; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '\r' || c == '\n') {
            size_t j = i;
            if (c == '\r' && j + 1 < b && v.p[j + 1] == '\n')
                j++;
            if (j + 1 < b && is_ows(v.p[j + 1])) {
                j++;
                while (j + 1 < b && is_ows(v.p[j + 1]))
                    j++;
                aa_buf_addc(out, ' ');
                i = j;
                continue;
            }
            return aa_fail(d, AA_E_HTTPSIG_VALUE_CHARS, "RFC9421#2",
                           "field \"%s\": value contains a newline", name);
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return aa_fail(d, AA_E_HTTPSIG_VALUE_CHARS, "RFC9421#2.1",
                           "field \"%s\": value contains control character 0x%02x", name, c);
        aa_buf_addc(out, (char)c);
    }
    if (out->err == AA_E_LIMIT)
        return aa_fail(d, AA_E_LIMIT, "RFC9421#2.5", "field \"%s\": value exceeds %d bytes", name,
                       AA_HTTPSIG_MAX_BASE);
    return out->err;
}

/* Derived component values are printable ASCII and SP only (RFC9421#2.2). */
static int check_derived(const struct aa_buf *out, size_t start, const char *name,
                         struct aa_diag *d)
{
    for (size_t i = start; i < out->len; i++) {
        unsigned char c = (unsigned char)out->p[i];
        if (c < 0x20 || c > 0x7e)
            return aa_fail(d, AA_E_HTTPSIG_VALUE_CHARS, "RFC9421#2.2",
                           "%s: value contains byte 0x%02x (only printable ASCII allowed)", name,
                           c);
    }
    return AA_OK;
}

/* ---- request target ------------------------------------------------------ */

struct target_parts {
    struct aa_str path; /* p == NULL: the target has no path ("*", authority-form) */
    struct aa_str query;
    bool has_query;
    bool absolute; /* absolute-form: the target is already the target URI */
};

static void split_target(struct aa_str t, struct target_parts *tp)
{
    size_t i = 0, q;

    memset(tp, 0, sizeof(*tp));
    if (t.len == 0) {
        tp->path = AA_STR_LIT("");
        return;
    }
    if (t.p[0] != '/') {
        const char *sep = NULL;
        for (size_t k = 0; k + 2 < t.len; k++)
            if (t.p[k] == ':' && t.p[k + 1] == '/' && t.p[k + 2] == '/') {
                sep = t.p + k;
                break;
            }
        if (sep == NULL)
            return; /* "*" or authority-form: no path */
        tp->absolute = true;
        i = (size_t)(sep - t.p) + 3;
        while (i < t.len && t.p[i] != '/' && t.p[i] != '?')
            i++;
    }
    q = i;
    while (q < t.len && t.p[q] != '?')
        q++;
    tp->path.p = t.p + i;
    tp->path.len = q - i;
    if (q < t.len) {
        tp->has_query = true;
        tp->query.p = t.p + q + 1;
        tp->query.len = t.len - q - 1;
    }
}

/* ---- @query-param (RFC9421#2.2.8) --------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decode with the WHATWG application/x-www-form-urlencoded parser rules
 * ("+" is a space, %XX a byte, a stray "%" is literal), then re-encode with
 * the form-urlencoded percent-encode set without space-as-plus, which
 * leaves only ASCII alphanumerics and "*-._" unescaped (RFC9421#2.2.8).
 */
static void form_recode(struct aa_buf *out, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            c = (unsigned char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        }
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '*' || c == '-' || c == '.' || c == '_') {
            aa_buf_addc(out, (char)c);
        } else {
            aa_buf_addc(out, '%');
            aa_buf_addc(out, hex[c >> 4]);
            aa_buf_addc(out, hex[c & 15]);
        }
    }
}

static int query_param(struct aa_buf *out, struct aa_str query, bool has_query,
                       const struct aa_sf_bare *qname, struct aa_diag *d)
{
    struct aa_buf enc;
    size_t i = 0, pairs = 0, hits = 0;
    int rc = AA_OK;

    if (qname == NULL)
        return aa_fail(d, AA_E_HTTPSIG_QUERY_PARAM, "RFC9421#2.2.8",
                       "\"@query-param\" needs the ;name parameter");
    if (qname->type != AA_SF_STRING)
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.2.8",
                       "\"@query-param\": ;name must be a String, not %s",
                       aa_sf_type_name(qname->type));
    aa_buf_init(&enc, AA_HTTPSIG_MAX_BASE);
    while (has_query && i <= query.len) {
        size_t s = i, e = i, eq;
        while (e < query.len && query.p[e] != '&')
            e++;
        i = e + 1;
        if (e == s)
            continue;
        if (++pairs > AA_HTTPSIG_MAX_QUERY_PARAMS) {
            rc =
                aa_fail(d, AA_E_LIMIT, "RFC9421#2.2.8",
                        "@query-param: more than %d query parameters", AA_HTTPSIG_MAX_QUERY_PARAMS);
            goto out;
        }
        eq = s;
        while (eq < e && query.p[eq] != '=')
            eq++;
        aa_buf_reset(&enc);
        form_recode(&enc, query.p + s, eq - s);
        if (enc.err) {
            rc = enc.err;
            goto out;
        }
        if (enc.len != qname->len || memcmp(enc.p, qname->s, enc.len) != 0)
            continue;
        if (++hits > 1) {
            /* RFC 9421 §2.2.8: a repeated name is not signed as one value;
             * sign @query instead. */
            rc = aa_fail(d, AA_E_HTTPSIG_QUERY_PARAM, "RFC9421#2.2.8",
                         "\"@query-param\";name=\"%s\": parameter occurs more than once", qname->s);
            goto out;
        }
        if (eq < e)
            form_recode(out, query.p + eq + 1, e - eq - 1);
    }
    if (hits == 0)
        rc = aa_fail(d, AA_E_HTTPSIG_QUERY_PARAM, "RFC9421#2.2.8",
                     "\"@query-param\";name=\"%s\": no such query parameter", qname->s);
    else
        rc = out->err;
out:
    aa_buf_free(&enc);
    return rc;
}

/* ---- component parameters ----------------------------------------------- */

struct cparams {
    bool sf, bs, req, tr;
    const struct aa_sf_bare *key;
    const struct aa_sf_bare *name;
};

static int read_cparams(const struct aa_sf_item *id, struct cparams *cp, struct aa_diag *d)
{
    const char *cname = id->bare.s;

    memset(cp, 0, sizeof(*cp));
    for (size_t i = 0; i < id->params.n; i++) {
        const struct aa_sf_param *p = &id->params.v[i];
        bool *flag = NULL;

        if (strcmp(p->key, "sf") == 0)
            flag = &cp->sf;
        else if (strcmp(p->key, "bs") == 0)
            flag = &cp->bs;
        else if (strcmp(p->key, "req") == 0)
            flag = &cp->req;
        else if (strcmp(p->key, "tr") == 0)
            flag = &cp->tr;
        if (flag != NULL) {
            if (p->value.type != AA_SF_BOOLEAN || !p->value.b)
                return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.1",
                               "\"%s\": ;%s is a flag and must be Boolean true", cname, p->key);
            *flag = true;
            continue;
        }
        if (strcmp(p->key, "key") == 0 || strcmp(p->key, "name") == 0) {
            if (p->value.type != AA_SF_STRING)
                return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.1.2",
                               "\"%s\": ;%s must be a String, not %s", cname, p->key,
                               aa_sf_type_name(p->value.type));
            if (p->key[0] == 'k')
                cp->key = &p->value;
            else
                cp->name = &p->value;
            continue;
        }
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.5",
                       "\"%s\": unknown component parameter ;%s", cname, p->key);
    }
    return AA_OK;
}

/* ---- HTTP fields (RFC9421#2.1) ------------------------------------------ */

static int serialize_sf(struct aa_buf *out, const char *combined, size_t len,
                        enum aa_httpsig_sf_kind kind, const char *name, struct aa_diag *d)
{
    int rc;

    if (kind == AA_HTTPSIG_SF_DICT) {
        struct aa_sf_dict dct = {0};
        rc = aa_sf_parse_dict(combined, len, &dct, d);
        if (rc == AA_OK)
            rc = aa_sf_serialize_dict(&dct, out, d);
        aa_sf_dict_free(&dct);
    } else if (kind == AA_HTTPSIG_SF_LIST) {
        struct aa_sf_list l = {0};
        rc = aa_sf_parse_list(combined, len, &l, d);
        if (rc == AA_OK)
            rc = aa_sf_serialize_list(&l, out, d);
        aa_sf_list_free(&l);
    } else {
        struct aa_sf_item it = {0};
        rc = aa_sf_parse_item(combined, len, &it, d);
        if (rc == AA_OK)
            rc = aa_sf_serialize_item(&it, out, d);
        aa_sf_item_free(&it);
    }
    if (rc != AA_OK && rc != AA_E_NOMEM && rc != AA_E_LIMIT) {
        if (d != NULL)
            d->code = AA_E_HTTPSIG_SF_FIELD;
        aa_diag_prefix(d, "\"%s\";sf", name);
        return AA_E_HTTPSIG_SF_FIELD;
    }
    return rc;
}

static int dict_member(struct aa_buf *out, const char *combined, size_t len,
                       const struct aa_sf_bare *key, const char *name, struct aa_diag *d)
{
    struct aa_sf_dict dct = {0};
    const struct aa_sf_item *it;
    int rc = aa_sf_parse_dict(combined, len, &dct, d);

    if (rc != AA_OK) {
        if (rc == AA_E_NOMEM || rc == AA_E_LIMIT)
            return rc;
        if (d != NULL)
            d->code = AA_E_HTTPSIG_SF_FIELD;
        aa_diag_prefix(d, "\"%s\";key=\"%s\": field is not a Dictionary", name, key->s);
        return AA_E_HTTPSIG_SF_FIELD;
    }
    it = aa_sf_dict_get(&dct, key->s);
    if (it == NULL)
        rc = aa_fail(d, AA_E_HTTPSIG_SF_FIELD, "RFC9421#2.1.2",
                     "\"%s\";key=\"%s\": no such Dictionary member", name, key->s);
    else if (it->bare.type == AA_SF_INNER_LIST)
        rc = aa_sf_serialize_inner_list(it, out, d);
    else
        rc = aa_sf_serialize_item(it, out, d);
    aa_sf_dict_free(&dct);
    return rc;
}

static int field_value(const struct aa_httpsig_msg *ctx, const char *name, const struct cparams *cp,
                       struct aa_buf *out, struct aa_diag *d)
{
    const struct aa_httpsig_field *f = cp->tr ? ctx->trailers : ctx->fields;
    size_t nf = cp->tr ? ctx->n_trailers : ctx->n_fields, lines = 0;
    struct aa_buf comb, one;
    int rc = AA_OK;

    for (const char *c = name; *c; c++)
        if (!is_tchar((unsigned char)*c) || (*c >= 'A' && *c <= 'Z'))
            return aa_fail(d, AA_E_HTTPSIG_COMPONENT_NAME, "RFC9421#2.1",
                           "component \"%s\": field names must be lowercase tokens", name);
    if (name[0] == '\0')
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_NAME, "RFC9421#2.1", "empty component name");
    if (cp->name != NULL)
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.2.8",
                       "\"%s\": ;name applies to \"@query-param\" only", name);
    if (cp->bs && (cp->sf || cp->key != NULL))
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.1",
                       "\"%s\": ;bs cannot be combined with ;sf or ;key", name);

    aa_buf_init(&comb, AA_HTTPSIG_MAX_BASE);
    aa_buf_init(&one, AA_HTTPSIG_MAX_BASE);
    for (size_t i = 0; i < nf; i++) {
        if (!aa_str_eq_ci(f[i].name, name))
            continue;
        if (lines++ > 0)
            aa_buf_adds(cp->bs ? out : &comb, ", ");
        if (cp->bs) {
            /* RFC9421#2.1.3: each line wrapped as a Byte Sequence. */
            aa_buf_reset(&one);
            rc = add_field_value(&one, f[i].value, name, d);
            if (rc != AA_OK)
                goto out;
            aa_buf_addc(out, ':');
            rc = aa_b64_encode_buf((const uint8_t *)(one.p ? one.p : ""), one.len, AA_B64_STD, true,
                                   out);
            if (rc != AA_OK)
                goto out;
            aa_buf_addc(out, ':');
        } else {
            rc = add_field_value(&comb, f[i].value, name, d);
            if (rc != AA_OK)
                goto out;
        }
    }
    if (lines == 0) {
        rc = aa_fail(d, AA_E_HTTPSIG_MISSING_FIELD, "RFC9421#2.5",
                     "covered field \"%s\"%s is not in the %s", name, cp->tr ? ";tr" : "",
                     cp->tr ? "trailers" : "message");
        goto out;
    }
    if ((rc = comb.err) != AA_OK)
        goto out;
    if (cp->bs) {
        rc = out->err;
    } else if (cp->key != NULL) {
        enum aa_httpsig_sf_kind k = aa_httpsig_sf_kind_of(ctx, name);
        if (k != AA_HTTPSIG_SF_UNKNOWN && k != AA_HTTPSIG_SF_DICT)
            rc = aa_fail(d, AA_E_HTTPSIG_SF_FIELD, "RFC9421#2.1.2",
                         "\"%s\";key: the field is not a Dictionary", name);
        else
            rc = dict_member(out, comb.p ? comb.p : "", comb.len, cp->key, name, d);
    } else if (cp->sf) {
        enum aa_httpsig_sf_kind k = aa_httpsig_sf_kind_of(ctx, name);
        if (k == AA_HTTPSIG_SF_UNKNOWN)
            rc = aa_fail(d, AA_E_HTTPSIG_SF_FIELD, "RFC9421#2.1.1",
                         "\"%s\";sf: structured type of the field is not known", name);
        else
            rc = serialize_sf(out, comb.p ? comb.p : "", comb.len, k, name, d);
    } else {
        rc = aa_buf_add(out, comb.p ? comb.p : "", comb.len);
    }
out:
    aa_buf_free(&one);
    aa_buf_free(&comb);
    return rc;
}

/* ---- derived components (RFC9421#2.2) ------------------------------------ */

static int need_request(const struct aa_httpsig_msg *ctx, const char *name, struct aa_diag *d)
{
    if (ctx->is_response)
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_CONTEXT, "RFC9421#2.2",
                       "\"%s\" applies to requests only (use ;req on a response)", name);
    return AA_OK;
}

static void add_authority(struct aa_buf *out, const struct aa_httpsig_msg *ctx)
{
    struct aa_str a = ctx->authority;
    /* RFC 9110 §4.2.3 normalisation: lowercase host, default port omitted. */
    if (aa_str_eq_ci(ctx->scheme, "http") && a.len > 3 && memcmp(a.p + a.len - 3, ":80", 3) == 0)
        a.len -= 3;
    else if (aa_str_eq_ci(ctx->scheme, "https") && a.len > 4 &&
             memcmp(a.p + a.len - 4, ":443", 4) == 0)
        a.len -= 4;
    for (size_t i = 0; i < a.len; i++)
        aa_buf_addc(out, lower(a.p[i]));
}

static void add_lower(struct aa_buf *out, struct aa_str s)
{
    for (size_t i = 0; i < s.len; i++)
        aa_buf_addc(out, lower(s.p[i]));
}

static int derived_value(const struct aa_httpsig_msg *ctx, const char *name,
                         const struct cparams *cp, unsigned flags, struct aa_buf *out,
                         struct aa_diag *d)
{
    struct target_parts tp;
    size_t start = out->len;
    int rc;

    if (cp->sf || cp->bs || cp->tr || cp->key != NULL)
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.2",
                       "\"%s\": ;%s applies to HTTP fields, not derived components", name,
                       cp->sf   ? "sf"
                       : cp->bs ? "bs"
                       : cp->tr ? "tr"
                                : "key");
    if (cp->name != NULL && strcmp(name, "@query-param") != 0)
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_PARAM, "RFC9421#2.2.8",
                       "\"%s\": ;name applies to \"@query-param\" only", name);
    if (strcmp(name, "@signature-params") == 0)
        return aa_fail(d, AA_E_HTTPSIG_UNKNOWN_COMPONENT, "RFC9421#2.3",
                       "\"@signature-params\" must not be listed as a covered component");

    if (strcmp(name, "@status") == 0) {
        if (!ctx->is_response)
            return aa_fail(d, AA_E_HTTPSIG_COMPONENT_CONTEXT, "RFC9421#2.2.9",
                           "\"@status\" must not be used in a request");
        if (ctx->status < 100 || ctx->status > 999)
            return aa_fail(d, AA_E_INVAL, "RFC9421#2.2.9", "@status: %d is not a 3-digit code",
                           ctx->status);
        aa_buf_printf(out, "%03d", ctx->status);
        return out->err;
    }

    static const char *const known[] = {"@method", "@target-uri",     "@authority",
                                        "@scheme", "@request-target", "@path",
                                        "@query",  "@query-param"};
    bool ok = false;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        ok = ok || strcmp(name, known[i]) == 0;
    if (!ok)
        return aa_fail(d, AA_E_HTTPSIG_UNKNOWN_COMPONENT, "RFC9421#2.2",
                       "unknown derived component \"%s\"", name);
    if ((rc = need_request(ctx, name, d)) != AA_OK)
        return rc;

    split_target(ctx->target, &tp);
    if (strcmp(name, "@method") == 0) {
        if (ctx->method.len == 0)
            return aa_fail(d, AA_E_INVAL, "RFC9421#2.2.1", "@method: no method in the view");
        aa_buf_add(out, ctx->method.p, ctx->method.len);
    } else if (strcmp(name, "@authority") == 0) {
        if (ctx->authority.len == 0)
            return aa_fail(d, AA_E_INVAL, "RFC9421#2.2.3",
                           "@authority: no canonical authority configured");
        add_authority(out, ctx);
    } else if (strcmp(name, "@scheme") == 0) {
        if (ctx->scheme.len == 0)
            return aa_fail(d, AA_E_INVAL, "RFC9421#2.2.4", "@scheme: no scheme in the view");
        add_lower(out, ctx->scheme);
    } else if (strcmp(name, "@target-uri") == 0) {
        if (tp.absolute) {
            aa_buf_add(out, ctx->target.p, ctx->target.len);
        } else {
            if (ctx->scheme.len == 0 || ctx->authority.len == 0)
                return aa_fail(d, AA_E_INVAL, "RFC9421#2.2.2",
                               "@target-uri: scheme and authority are needed");
            add_lower(out, ctx->scheme);
            aa_buf_adds(out, "://");
            add_authority(out, ctx);
            if (tp.path.p != NULL)
                aa_buf_add(out, ctx->target.p, ctx->target.len);
        }
    } else if (strcmp(name, "@request-target") == 0) {
        if (ctx->target.len == 0)
            return aa_fail(d, AA_E_HTTPSIG_TARGET, "RFC9421#2.2.5",
                           "@request-target: empty request target");
        aa_buf_add(out, ctx->target.p, ctx->target.len);
    } else if (strcmp(name, "@path") == 0) {
        if (tp.path.p == NULL)
            return aa_fail(d, AA_E_HTTPSIG_TARGET, "RFC9421#2.2.6",
                           "@path: request target \"%.*s\" has no path",
                           (int)(ctx->target.len > 64 ? 64 : ctx->target.len), ctx->target.p);
        if (tp.path.len == 0)
            aa_buf_addc(out, '/'); /* RFC 9110 §4.2.3: empty path is "/" */
        else
            aa_buf_add(out, tp.path.p, tp.path.len);
    } else if (strcmp(name, "@query") == 0) {
        /* RFC9421#2.2.7: "?" plus the query, "?" alone when absent. */
        if (!(flags & AA_HTTPSIG_BASE_QUERY_NO_QMARK))
            aa_buf_addc(out, '?');
        if (tp.has_query)
            aa_buf_add(out, tp.query.p, tp.query.len);
    } else {
        rc = query_param(out, tp.query, tp.has_query, cp->name, d);
        if (rc != AA_OK)
            return rc;
    }
    if (out->err)
        return out->err;
    return check_derived(out, start, name, d);
}

int aa_httpsig_component_value(const struct aa_httpsig_msg *m, const struct aa_sf_item *id,
                               unsigned flags, struct aa_buf *out, struct aa_diag *d)
{
    const struct aa_httpsig_msg *ctx = m;
    struct cparams cp;
    const char *name;
    int rc;

    if (m == NULL || id == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_component_value: NULL argument");
    if (id->bare.type != AA_SF_STRING || id->bare.s == NULL)
        return aa_fail(d, AA_E_HTTPSIG_INPUT_SYNTAX, "RFC9421#2",
                       "component identifier must be a String, not %s",
                       aa_sf_type_name(id->bare.type));
    name = id->bare.s;
    if (strlen(name) != id->bare.len)
        return aa_fail(d, AA_E_HTTPSIG_COMPONENT_NAME, "RFC9421#2", "component name holds NUL");
    if ((rc = read_cparams(id, &cp, d)) != AA_OK)
        return rc;
    if (cp.req) {
        /* RFC9421#2.4: ;req takes the value from the related request. */
        if (!m->is_response)
            return aa_fail(d, AA_E_HTTPSIG_COMPONENT_CONTEXT, "RFC9421#2.4",
                           "\"%s\";req used in a signature on a request", name);
        if (m->request == NULL)
            return aa_fail(d, AA_E_HTTPSIG_COMPONENT_CONTEXT, "RFC9421#2.4",
                           "\"%s\";req: the related request is not available", name);
        ctx = m->request;
    }
    if (name[0] == '@')
        return derived_value(ctx, name, &cp, flags, out, d);
    return field_value(ctx, name, &cp, out, d);
}

/* ---- the signature base (RFC9421#2.5) ------------------------------------ */

static bool bare_equal(const struct aa_sf_bare *a, const struct aa_sf_bare *b)
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
    default:
        return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    }
}

/* Two identifiers are the same when names and parameter *sets* agree:
 * "foo";bar;baz equals "foo";baz;bar (RFC9421#2). */
static bool same_identifier(const struct aa_sf_item *a, const struct aa_sf_item *b)
{
    if (!bare_equal(&a->bare, &b->bare) || a->params.n != b->params.n)
        return false;
    for (size_t i = 0; i < a->params.n; i++) {
        const struct aa_sf_bare *v = aa_sf_params_get(&b->params, a->params.v[i].key);
        if (v == NULL || !bare_equal(&a->params.v[i].value, v))
            return false;
    }
    return true;
}

int aa_httpsig_build_base(const struct aa_httpsig_msg *m, const struct aa_sf_item *sig_params,
                          unsigned flags, struct aa_buf *out, struct aa_diag *d)
{
    struct aa_buf b;
    int rc = AA_OK;

    if (m == NULL || sig_params == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_build_base: NULL argument");
    if (sig_params->bare.type != AA_SF_INNER_LIST)
        return aa_fail(d, AA_E_HTTPSIG_INPUT_SYNTAX, "RFC9421#2.3",
                       "signature parameters must be an Inner List");
    if (sig_params->n_inner > AA_HTTPSIG_MAX_COMPONENTS)
        return aa_fail(d, AA_E_LIMIT, "RFC9421#2.5", "%zu covered components (limit %d)",
                       sig_params->n_inner, AA_HTTPSIG_MAX_COMPONENTS);
    aa_buf_init(&b, AA_HTTPSIG_MAX_BASE);
    for (size_t i = 0; i < sig_params->n_inner; i++) {
        const struct aa_sf_item *id = &sig_params->inner[i];
        if (id->bare.type != AA_SF_STRING) {
            rc = aa_fail(d, AA_E_HTTPSIG_INPUT_SYNTAX, "RFC9421#4.1",
                         "covered component %zu is %s, not a String", i + 1,
                         aa_sf_type_name(id->bare.type));
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (same_identifier(&sig_params->inner[j], id)) {
                rc = aa_fail(d, AA_E_HTTPSIG_DUP_COMPONENT, "RFC9421#2",
                             "component \"%s\" is covered more than once", id->bare.s);
                goto out;
            }
        if ((rc = aa_sf_serialize_bare(&id->bare, &b, d)) != AA_OK ||
            (rc = aa_sf_serialize_params(&id->params, &b, d)) != AA_OK)
            goto out;
        aa_buf_adds(&b, ": ");
        if ((rc = aa_httpsig_component_value(m, id, flags, &b, d)) != AA_OK)
            goto out;
        aa_buf_addc(&b, '\n');
    }
    if (!(flags & AA_HTTPSIG_BASE_LEGACY)) {
        aa_buf_adds(&b, "\"@signature-params\": ");
        if ((rc = aa_sf_serialize_inner_list(sig_params, &b, d)) != AA_OK)
            goto out;
    }
    if (b.err) {
        rc = b.err == AA_E_LIMIT ? aa_fail(d, AA_E_LIMIT, "RFC9421#2.5",
                                           "signature base exceeds %d bytes", AA_HTTPSIG_MAX_BASE)
                                 : b.err;
        goto out;
    }
    rc = aa_buf_add(out, b.p ? b.p : "", b.len);
out:
    if (b.p != NULL)
        aa_cleanse(b.p, b.cap);
    aa_buf_free(&b);
    return rc;
}

/* Names of this module's codes; kept in this always-linked file so the weak
 * reference in aa_strerror() resolves in every program using the module. */
const char *aa_httpsig_strerror(int code)
{
    switch (code) {
    case AA_E_HTTPSIG_INPUT_SYNTAX:
        return "Signature-Input is not a valid dictionary of inner lists";
    case AA_E_HTTPSIG_SIG_SYNTAX:
        return "Signature is not a valid dictionary";
    case AA_E_HTTPSIG_SIG_TYPE:
        return "Signature member is not a byte sequence";
    case AA_E_HTTPSIG_SIG_ENCODING:
        return "Signature byte sequence is not standard base64";
    case AA_E_HTTPSIG_LABEL:
        return "signature label missing, ambiguous or mismatched";
    case AA_E_HTTPSIG_DUP_COMPONENT:
        return "component covered more than once";
    case AA_E_HTTPSIG_UNKNOWN_COMPONENT:
        return "unknown or forbidden derived component";
    case AA_E_HTTPSIG_COMPONENT_NAME:
        return "invalid component name";
    case AA_E_HTTPSIG_COMPONENT_PARAM:
        return "invalid component parameter";
    case AA_E_HTTPSIG_MISSING_FIELD:
        return "covered field missing from the message";
    case AA_E_HTTPSIG_COMPONENT_CONTEXT:
        return "component does not apply to this message";
    case AA_E_HTTPSIG_VALUE_CHARS:
        return "component value contains a newline or control character";
    case AA_E_HTTPSIG_SF_FIELD:
        return "structured field component cannot be derived";
    case AA_E_HTTPSIG_QUERY_PARAM:
        return "query parameter component cannot be derived";
    case AA_E_HTTPSIG_PARAM_TYPE:
        return "signature parameter has the wrong type";
    case AA_E_HTTPSIG_CREATED_MISSING:
        return "created parameter missing";
    case AA_E_HTTPSIG_EXPIRED:
        return "signature expired";
    case AA_E_HTTPSIG_CREATED_SKEW:
        return "created outside the allowed window";
    case AA_E_HTTPSIG_ALG_UNKNOWN:
        return "unknown signature algorithm";
    case AA_E_HTTPSIG_ALG_MISMATCH:
        return "algorithm does not match the key";
    case AA_E_HTTPSIG_ALG_UNSUPPORTED:
        return "signature algorithm not supported";
    case AA_E_HTTPSIG_SIG_LENGTH:
        return "signature has the wrong length";
    case AA_E_HTTPSIG_BAD_SIGNATURE:
        return "signature does not verify";
    case AA_E_HTTPSIG_DIGEST_SYNTAX:
        return "Content-Digest is malformed";
    case AA_E_HTTPSIG_DIGEST_MISMATCH:
        return "Content-Digest does not match the content";
    case AA_E_HTTPSIG_DIGEST_NONE:
        return "Content-Digest has no supported algorithm";
    case AA_E_HTTPSIG_TARGET:
        return "request target has no path";
    default:
        return NULL;
    }
}
