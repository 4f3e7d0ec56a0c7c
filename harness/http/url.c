/*
 * URL, identifier and form helpers (RFC 3986, PROFILE#1 [D-1], PROFILE#2.5,
 * WHATWG URL "application/x-www-form-urlencoded").
 *
 * Design choice: the URL parser is deliberately narrower than RFC 3986 (no
 * userinfo, no percent-escapes or sub-delims in the host, ASCII only) and
 * returns views, never a decoded copy: the signature base needs @path and
 * @query byte-for-byte (PROFILE#2.5), so nothing here normalises.
 */
#include "aa_http.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* aa_strerror() reaches aa_http_strerror() through a weak reference, which
 * does not pull errors.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_http_strerror};

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

static bool is_unreserved(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(int c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* RFC3986#3.3 pchar without the pct-encoded case (checked separately). */
static bool is_pchar_plain(int c)
{
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

static int lower_c(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Printable rendering of a URL for messages: cut long ones. */
static int url_fail(struct aa_diag *d, const char *ref, const char *url, size_t len,
                    const char *why)
{
    int shown = len > 120 ? 120 : (int)len;
    return aa_fail(d, AA_E_HTTP_URL, ref, "URL \"%.*s%s\": %s", shown, url, len > 120 ? "..." : "",
                   why);
}

/*
 * Check a run of path/query/fragment characters. |extra| lists the
 * characters allowed beyond pchar ("/" for paths, "/?" for query and
 * fragment).
 */
static int check_chars(const char *url, size_t len, const char *p, size_t n, const char *extra,
                       const char *what, const char *ref, struct aa_diag *d)
{
    char why[96];

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (n - i < 3 || !is_hex((unsigned char)p[i + 1]) || !is_hex((unsigned char)p[i + 2])) {
                aa_snprintf(why, sizeof(why), "%s has a '%%' not followed by two hex digits", what);
                return url_fail(d, ref, url, len, why);
            }
            i += 2;
            continue;
        }
        if (is_pchar_plain(c) || (c != '\0' && strchr(extra, c) != NULL))
            continue;
        if (c < 0x20 || c >= 0x7f)
            aa_snprintf(why, sizeof(why), "%s contains byte 0x%02X", what, c);
        else
            aa_snprintf(why, sizeof(why), "%s contains '%c'", what, c);
        return url_fail(d, ref, url, len, why);
    }
    return AA_OK;
}

static int parse_host(const char *url, size_t len, const char *h, size_t n, struct aa_url *u,
                      struct aa_diag *d)
{
    if (n == 0)
        return url_fail(d, "RFC3986#3.2.2", url, len, "empty host");
    if (h[0] == '[') {
        char tmp[64];
        struct in6_addr a6;

        if (n < 3 || h[n - 1] != ']')
            return url_fail(d, "RFC3986#3.2.2", url, len, "unterminated IPv6 literal");
        if (n - 2 >= sizeof(tmp))
            return url_fail(d, "RFC3986#3.2.2", url, len, "IPv6 literal too long");
        memcpy(tmp, h + 1, n - 2);
        tmp[n - 2] = '\0';
        /* inet_pton rejects zone ids ("%25eth0") and IPvFuture, as we want. */
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return url_fail(d, "RFC3986#3.2.2", url, len, "invalid IPv6 literal");
        u->host.p = h + 1;
        u->host.len = n - 2;
        u->ipv6 = true;
        return AA_OK;
    }
    if (n > AA_URL_HOST_MAX)
        return url_fail(d, "RFC1035#2.3.4", url, len, "host longer than 253 characters");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '%')
            return url_fail(d, "RFC3986#3.2.2", url, len, "percent-escape in host (not accepted)");
        if (!is_unreserved(c)) {
            char why[64];
            if (c < 0x20 || c >= 0x7f)
                aa_snprintf(why, sizeof(why), "host contains byte 0x%02X", c);
            else
                aa_snprintf(why, sizeof(why), "host contains '%c'", c);
            return url_fail(d, "RFC3986#3.2.2", url, len, why);
        }
    }
    u->host.p = h;
    u->host.len = n;
    return AA_OK;
}

int aa_url_parse(const char *url, size_t len, unsigned flags, struct aa_url *out, struct aa_diag *d)
{
    struct aa_url u;
    const char *p, *end, *auth, *auth_end, *hp_end, *colon;
    int rc;

    if (url == NULL || out == NULL)
        return AA_E_INVAL;
    memset(&u, 0, sizeof(u));
    memset(out, 0, sizeof(*out));
    if (len > AA_URL_MAX_LEN)
        return url_fail(d, "RFC3986#3", url, len, "longer than 8192 bytes");
    end = url + len;
    if (len >= 7 && aa_str_eq_ci((struct aa_str){url, 7}, "http://")) {
        u.scheme.p = url;
        u.scheme.len = 4;
        p = url + 7;
    } else if (len >= 8 && aa_str_eq_ci((struct aa_str){url, 8}, "https://")) {
        u.scheme.p = url;
        u.scheme.len = 5;
        u.https = true;
        p = url + 8;
    } else {
        return url_fail(d, "RFC3986#3.1", url, len, "not an absolute http:// or https:// URL");
    }
    auth = p;
    while (p < end && *p != '/' && *p != '?' && *p != '#')
        p++;
    auth_end = p;
    if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
        return url_fail(d, "RFC3986#3.2.1", url, len, "userinfo is not allowed");

    /* host[:port]; an IPv6 literal holds ':' inside the brackets */
    hp_end = auth_end;
    colon = NULL;
    if (auth < auth_end && auth[0] == '[') {
        const char *rb = memchr(auth, ']', (size_t)(auth_end - auth));
        if (rb == NULL)
            return url_fail(d, "RFC3986#3.2.2", url, len, "unterminated IPv6 literal");
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                return url_fail(d, "RFC3986#3.2.2", url, len, "junk after IPv6 literal");
            colon = rb + 1;
        }
    } else {
        colon = memchr(auth, ':', (size_t)(auth_end - auth));
    }
    if (colon != NULL) {
        size_t pn = (size_t)(auth_end - colon - 1);
        unsigned long port = 0;

        hp_end = colon;
        if (pn == 0)
            return url_fail(d, "RFC3986#3.2.3", url, len, "empty port");
        if (pn > 5)
            return url_fail(d, "RFC3986#3.2.3", url, len, "port out of range");
        for (size_t i = 0; i < pn; i++) {
            if (!is_digit((unsigned char)colon[1 + i]))
                return url_fail(d, "RFC3986#3.2.3", url, len, "port is not a number");
            port = port * 10 + (unsigned long)(colon[1 + i] - '0');
        }
        if (port == 0 || port > 65535)
            return url_fail(d, "RFC3986#3.2.3", url, len, "port out of range 1..65535");
        u.port = (uint16_t)port;
        u.has_port = true;
    } else {
        u.port = u.https ? 443 : 80;
    }
    rc = parse_host(url, len, auth, (size_t)(hp_end - auth), &u, d);
    if (rc != AA_OK)
        return rc;

    /* path-abempty */
    u.path.p = p;
    while (p < end && *p != '?' && *p != '#')
        p++;
    u.path.len = (size_t)(p - u.path.p);
    rc = check_chars(url, len, u.path.p, u.path.len, "/", "path", "RFC3986#3.3", d);
    if (rc != AA_OK)
        return rc;
    if (p < end && *p == '?') {
        p++;
        u.has_query = true;
        u.query.p = p;
        while (p < end && *p != '#')
            p++;
        u.query.len = (size_t)(p - u.query.p);
        rc = check_chars(url, len, u.query.p, u.query.len, "/?", "query", "RFC3986#3.4", d);
        if (rc != AA_OK)
            return rc;
    }
    if (p < end && *p == '#') {
        if (!(flags & AA_URL_ALLOW_FRAGMENT))
            return url_fail(d, "RFC3986#3.5", url, len, "fragment is not allowed");
        p++;
        u.has_fragment = true;
        u.fragment.p = p;
        u.fragment.len = (size_t)(end - p);
        rc =
            check_chars(url, len, u.fragment.p, u.fragment.len, "/?", "fragment", "RFC3986#3.5", d);
        if (rc != AA_OK)
            return rc;
    }
    *out = u;
    return AA_OK;
}

int aa_url_authority(const struct aa_url *u, char *out, size_t cap)
{
    size_t need, o = 0;
    bool dflt;

    if (u == NULL || out == NULL || cap == 0 || u->host.p == NULL)
        return AA_E_INVAL;
    dflt = u->port == (u->https ? 443 : 80);
    need = u->host.len + (u->ipv6 ? 2 : 0) + (dflt ? 0 : 6) + 1;
    if (need > cap) {
        out[0] = '\0';
        return AA_E_LIMIT;
    }
    if (u->ipv6)
        out[o++] = '[';
    for (size_t i = 0; i < u->host.len; i++)
        out[o++] = (char)lower_c((unsigned char)u->host.p[i]);
    if (u->ipv6)
        out[o++] = ']';
    out[o] = '\0';
    if (!dflt)
        return aa_snprintf(out + o, cap - o, ":%u", (unsigned)u->port);
    return AA_OK;
}

int aa_url_authority_of(const char *url, char *out, size_t cap, struct aa_diag *d)
{
    struct aa_url u;
    int rc;

    if (url == NULL)
        return AA_E_INVAL;
    rc = aa_url_parse(url, strlen(url), AA_URL_ALLOW_FRAGMENT, &u, d);
    if (rc != AA_OK)
        return rc;
    return aa_url_authority(&u, out, cap);
}

int aa_url_target(const struct aa_url *u, struct aa_buf *out)
{
    if (u == NULL || out == NULL)
        return AA_E_INVAL;
    if (u->path.len == 0)
        aa_buf_addc(out, '/');
    else
        aa_buf_add(out, u->path.p, u->path.len);
    if (u->has_query) {
        aa_buf_addc(out, '?');
        aa_buf_add(out, u->query.p, u->query.len);
    }
    return out->err;
}

bool aa_http_host_is_loopback(struct aa_str host)
{
    char tmp[64];
    struct in_addr a4;
    struct in6_addr a6;

    if (host.p == NULL || host.len == 0 || host.len >= sizeof(tmp))
        return false;
    if (aa_str_eq_ci(host, "localhost"))
        return true;
    memcpy(tmp, host.p, host.len);
    tmp[host.len] = '\0';
    /* inet_pton(AF_INET) accepts only the strict dotted-quad form, so
     * "0x7f.1" or "127.1" never count as loopback. */
    if (inet_pton(AF_INET, tmp, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, tmp, &a6) == 1) {
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0)
            return true;
        return memcmp(a6.s6_addr, v4mapped, 12) == 0 && a6.s6_addr[12] == 127;
    }
    return false;
}

bool aa_url_is_loopback(const char *url)
{
    struct aa_url u;

    if (url == NULL || aa_url_parse(url, strlen(url), AA_URL_ALLOW_FRAGMENT, &u, NULL) != AA_OK)
        return false;
    return aa_http_host_is_loopback(u.host);
}

/* ---- identifiers ------------------------------------------------------- */
int aa_http_identifier_check(const char *id, bool dev_mode, bool *is_dev, struct aa_diag *d)
{
    struct aa_url u;
    struct aa_diag sub;
    size_t len;
    int rc;

    if (is_dev != NULL)
        *is_dev = false;
    if (id == NULL)
        return AA_E_INVAL;
    len = strlen(id);
    aa_diag_clear(&sub);
    rc = aa_url_parse(id, len, AA_URL_ALLOW_FRAGMENT, &u, &sub);
    if (rc == AA_E_INVAL)
        return rc;
    if (rc != AA_OK)
        return aa_fail(d, AA_E_HTTP_IDENTIFIER, "PROFILE#1", "identifier \"%.*s\": %s",
                       len > 120 ? 120 : (int)len, id, sub.msg);
#define ID_FAIL(why)                                                                               \
    aa_fail(d, AA_E_HTTP_IDENTIFIER, "PROFILE#1", "identifier \"%.*s\": %s",                       \
            len > 120 ? 120 : (int)len, id, why)
    if (u.has_fragment)
        return ID_FAIL("has a fragment");
    if (u.has_query)
        return ID_FAIL("has a query (an identifier is an origin)");
    if (u.path.len != 0)
        return ID_FAIL("has a path (not even \"/\" is allowed)");
    if (!aa_str_eq(u.scheme, u.https ? "https" : "http"))
        return ID_FAIL("scheme must be lowercase");
    for (size_t i = 0; i < u.host.len; i++)
        if (u.host.p[i] >= 'A' && u.host.p[i] <= 'Z')
            return ID_FAIL("host must be lowercase");
    if (u.has_port && u.port == (u.https ? 443 : 80))
        return ID_FAIL("the default port must be omitted");
    if (!u.https) {
        bool dev_host = aa_str_eq(u.host, "127.0.0.1") || aa_str_eq(u.host, "localhost") ||
                        (u.ipv6 && aa_str_eq(u.host, "::1"));
        if (!dev_host)
            return ID_FAIL("http is accepted only for 127.0.0.1, [::1] and localhost "
                           "in dev mode; https is required (AAuth 2026-01 §2.1)");
        if (!dev_mode)
            return ID_FAIL("http identifiers need dev mode; https is required");
        if (is_dev != NULL)
            *is_dev = true;
    }
    if (u.ipv6) {
        /* canonical IPv6 text only, so exact string comparison works */
        char tmp[64], canon[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        memcpy(tmp, u.host.p, u.host.len);
        tmp[u.host.len] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1 ||
            inet_ntop(AF_INET6, &a6, canon, sizeof(canon)) == NULL || strcmp(canon, tmp) != 0)
            return ID_FAIL("IPv6 literal is not in canonical (RFC 5952) form");
    }
#undef ID_FAIL
    return AA_OK;
}

int aa_http_well_known_url(const char *id, const char *name, struct aa_buf *out)
{
    size_t il, nl;

    if (id == NULL || name == NULL || out == NULL)
        return AA_E_INVAL;
    il = strlen(id);
    nl = strlen(name);
    if (il == 0 || id[il - 1] == '/' || nl == 0)
        return AA_E_INVAL;
    for (size_t i = 0; i < nl; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || is_digit((unsigned char)c) || c == '-' || c == '_' ||
              c == '.'))
            return AA_E_INVAL;
    }
    aa_buf_add(out, id, il);
    aa_buf_adds(out, "/.well-known/");
    aa_buf_add(out, name, nl);
    return out->err;
}

/* ---- forms ------------------------------------------------------------- */
int aa_form_encode(struct aa_buf *out, const void *s, size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    const unsigned char *p = s;

    if (out == NULL || (s == NULL && n != 0))
        return AA_E_INVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (is_alpha(c) || is_digit(c) || c == '*' || c == '-' || c == '.' || c == '_') {
            aa_buf_addc(out, (char)c);
        } else if (c == ' ') {
            aa_buf_addc(out, '+');
        } else {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            aa_buf_add(out, e, 3);
        }
    }
    return out->err;
}

int aa_form_add(struct aa_buf *out, const char *name, const char *value)
{
    if (out == NULL || name == NULL)
        return AA_E_INVAL;
    if (out->len > 0)
        aa_buf_addc(out, '&');
    aa_form_encode(out, name, strlen(name));
    aa_buf_addc(out, '=');
    if (value != NULL)
        aa_form_encode(out, value, strlen(value));
    return out->err;
}

void aa_form_init(struct aa_form *f)
{
    if (f != NULL) {
        f->v = NULL;
        f->n = 0;
    }
}

void aa_form_cleanup(struct aa_form *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].value);
    }
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

/* WHATWG percent-decode after '+' -> space; output never longer than input. */
static char *form_decode(const char *s, size_t n, size_t *outlen)
{
    char *o = malloc(n + 1);
    size_t k = 0;

    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            o[k++] = ' ';
        } else if (c == '%' && n - i >= 3 && is_hex((unsigned char)s[i + 1]) &&
                   is_hex((unsigned char)s[i + 2])) {
            o[k++] =
                (char)(hex_val((unsigned char)s[i + 1]) * 16 + hex_val((unsigned char)s[i + 2]));
            i += 2;
        } else {
            o[k++] = (char)c;
        }
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

static bool param_name_eq(const struct aa_form_param *a, const struct aa_form_param *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

int aa_form_parse(const char *body, size_t len, unsigned flags, struct aa_form *out,
                  struct aa_diag *d)
{
    struct aa_form f = {NULL, 0};
    size_t npieces = 1, i = 0;
    int rc = AA_OK;

    if (out == NULL || (body == NULL && len != 0))
        return AA_E_INVAL;
    if (len > AA_FORM_MAX_LEN)
        return aa_fail(d, AA_E_HTTP_FORM, "PROFILE#9", "form body: %zu bytes, limit %zu", len,
                       AA_FORM_MAX_LEN);
    for (size_t k = 0; k < len; k++)
        if (body[k] == '&')
            npieces++;
    if (npieces > AA_FORM_MAX_PARAMS)
        return aa_fail(d, AA_E_HTTP_FORM, "PROFILE#6", "form body: %zu parameters, limit %d",
                       npieces, AA_FORM_MAX_PARAMS);
    if (len > 0) {
        f.v = calloc(npieces, sizeof(*f.v));
        if (f.v == NULL)
            return AA_E_NOMEM;
    }
    while (i < len) {
        const char *piece = body + i, *eq, *amp;
        size_t plen;
        struct aa_form_param *pp;

        amp = memchr(piece, '&', len - i);
        plen = amp ? (size_t)(amp - piece) : len - i;
        i += plen + 1;
        if (plen == 0)
            continue;
        eq = memchr(piece, '=', plen);
        pp = &f.v[f.n];
        pp->name = form_decode(piece, eq ? (size_t)(eq - piece) : plen, &pp->name_len);
        pp->value = eq ? form_decode(eq + 1, plen - (size_t)(eq - piece) - 1, &pp->value_len)
                       : form_decode("", 0, &pp->value_len);
        f.n++;
        if (pp->name == NULL || pp->value == NULL) {
            rc = AA_E_NOMEM;
            goto out;
        }
        if (flags & AA_FORM_REJECT_DUPLICATES) {
            for (size_t k = 0; k + 1 < f.n; k++) {
                if (param_name_eq(&f.v[k], pp)) {
                    rc = aa_fail(d, AA_E_HTTP_FORM_DUP, "PROFILE#6",
                                 "form parameter \"%.*s\" repeated",
                                 pp->name_len > 64 ? 64 : (int)pp->name_len, pp->name);
                    goto out;
                }
            }
        }
    }
out:
    if (rc != AA_OK) {
        aa_form_cleanup(&f);
        return rc;
    }
    aa_form_cleanup(out);
    *out = f;
    return AA_OK;
}

const char *aa_form_get(const struct aa_form *f, const char *name)
{
    size_t nl;

    if (f == NULL || name == NULL)
        return NULL;
    nl = strlen(name);
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].name_len == nl && memcmp(f->v[i].name, name, nl) == 0)
            return f->v[i].value;
    return NULL;
}

size_t aa_form_count(const struct aa_form *f, const char *name)
{
    size_t nl, c = 0;

    if (f == NULL || name == NULL)
        return 0;
    nl = strlen(name);
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].name_len == nl && memcmp(f->v[i].name, name, nl) == 0)
            c++;
    return c;
}

const char *aa_form_first_duplicate(const struct aa_form *f)
{
    if (f == NULL)
        return NULL;
    for (size_t i = 1; i < f->n; i++)
        for (size_t k = 0; k < i; k++)
            if (param_name_eq(&f->v[k], &f->v[i]))
                return f->v[i].name;
    return NULL;
}
