/*
 * Seed-style HTTP transcript blocks (PROFILE#8): ">>> ROLE REQUEST to URL",
 * "<<< ROLE RESPONSE from URL", header values over 100 characters cut to
 * 97 + "...".
 *
 * Design choice: the cut counts UTF-8 code points (as the seed's Python
 * tooling did), never splits a multi-byte sequence, and every control byte
 * except LF and HTAB is shown as \xNN, so a hostile peer cannot forge lines
 * in a report.
 */
#include "aa_http.h"

#include <string.h>

#define SEP "================================================================================"
#define BODY_CUT ((size_t)8192)

/* Length in bytes of the UTF-8 sequence starting at |p| (1 when invalid). */
static size_t u8_len(const unsigned char *p, size_t avail)
{
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        n = 2;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3;
    else if ((p[0] & 0xf8) == 0xf0)
        n = 4;
    else
        return 1;
    if (n > avail)
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 1;
    return n;
}

/* Append |n| bytes, escaping controls (LF kept only when |keep_lf|). */
static void add_escaped(struct aa_buf *out, const char *s, size_t n, bool keep_lf)
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && !(keep_lf && c == '\n')) || c == 0x7f) {
            char e[4] = {'\\', 'x', hx[c >> 4], hx[c & 15]};
            aa_buf_add(out, e, 4);
        } else {
            aa_buf_addc(out, (char)c);
        }
    }
}

int aa_http_transcript_header_line(struct aa_buf *out, const char *name, const char *value,
                                   size_t value_len, bool full)
{
    size_t cps = 0, cut = value_len;

    if (out == NULL || name == NULL || (value == NULL && value_len != 0))
        return AA_E_INVAL;
    add_escaped(out, name, strlen(name), false);
    aa_buf_adds(out, ": ");
    if (!full) {
        /* find the byte offset of code point 97, and whether > 100 exist */
        size_t i = 0, off97 = value_len;
        while (i < value_len) {
            if (cps == AA_HTTP_TRANSCRIPT_CUT - 3)
                off97 = i;
            i += u8_len((const unsigned char *)value + i, value_len - i);
            cps++;
        }
        if (cps > AA_HTTP_TRANSCRIPT_CUT)
            cut = off97;
    }
    add_escaped(out, value, cut, false);
    if (cut < value_len)
        aa_buf_adds(out, "...");
    aa_buf_addc(out, '\n');
    return out->err;
}

int aa_http_transcript_body(struct aa_buf *out, const void *body, size_t len, bool full)
{
    size_t shown = len;

    if (out == NULL || (body == NULL && len != 0))
        return AA_E_INVAL;
    if (len == 0)
        return out->err;
    if (!full && shown > BODY_CUT) {
        shown = BODY_CUT;
        /* back off to a code point boundary */
        while (shown > 0 && (((const unsigned char *)body)[shown] & 0xc0) == 0x80)
            shown--;
    }
    aa_buf_printf(out, "\n[Body (%zu bytes)]\n", len);
    add_escaped(out, body, shown, true);
    if (shown == 0 || ((const char *)body)[shown - 1] != '\n')
        aa_buf_addc(out, '\n');
    if (shown < len)
        aa_buf_printf(out, "[... %zu more bytes]\n", len - shown);
    return out->err;
}

/* "\n====\n<<< ROLE RESPONSE from URL\n====\n"; role and URL escaped. */
static void block_open(struct aa_buf *out, const char *lead, const char *role, const char *url)
{
    aa_buf_adds(out, "\n" SEP "\n");
    aa_buf_adds(out, lead[0] == '>' ? ">>> " : "<<< ");
    add_escaped(out, role, strlen(role), false);
    aa_buf_adds(out, lead[0] == '>' ? " REQUEST to " : " RESPONSE from ");
    add_escaped(out, url, strlen(url), false);
    aa_buf_adds(out, "\n" SEP "\n");
}

static void block_close(struct aa_buf *out)
{
    aa_buf_adds(out, SEP "\n\n");
}

/* Render the captured request head (skipping its request line). */
static void wire_headers(struct aa_buf *out, const struct aa_buf *head, bool full)
{
    const char *p = head->p, *end = head->p + head->len;
    bool first = true;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        size_t ln = n;
        if (ln > 0 && p[ln - 1] == '\r')
            ln--;
        if (!first && ln > 0) {
            const char *colon = memchr(p, ':', ln);
            if (colon != NULL) {
                char name[256];
                size_t nl = (size_t)(colon - p), vs = nl + 1;
                if (nl >= sizeof(name))
                    nl = sizeof(name) - 1;
                memcpy(name, p, nl);
                name[nl] = '\0';
                while (vs < ln && (p[vs] == ' ' || p[vs] == '\t'))
                    vs++;
                aa_http_transcript_header_line(out, name, p + vs, ln - vs, full);
            } else {
                add_escaped(out, p, ln, false);
                aa_buf_addc(out, '\n');
            }
        }
        first = false;
        p += n + (eol ? 1 : 0);
    }
}

int aa_http_transcript_request(struct aa_buf *out, const char *role,
                               const struct aa_http_request *req,
                               const struct aa_http_response *resp, unsigned flags)
{
    bool full = (flags & AA_HTTP_TR_FULL) != 0;
    const struct aa_http_headers *h;

    if (out == NULL || role == NULL || req == NULL || req->method == NULL || req->url == NULL)
        return AA_E_INVAL;
    block_open(out, ">", role, req->url);
    add_escaped(out, req->method, strlen(req->method), false);
    aa_buf_addc(out, ' ');
    add_escaped(out, req->url, strlen(req->url), false);
    aa_buf_adds(out, " HTTP/1.1\n");
    if ((flags & AA_HTTP_TR_WIRE) && resp != NULL && resp->sent_head.p != NULL &&
        resp->sent_head.len > 0) {
        wire_headers(out, &resp->sent_head, full);
    } else {
        h = req->headers;
        for (size_t i = 0; h != NULL && i < h->n; i++) {
            if (h->v[i].raw) {
                add_escaped(out, h->v[i].name, strlen(h->v[i].name), false);
                aa_buf_addc(out, '\n');
            } else {
                aa_http_transcript_header_line(out, h->v[i].name, h->v[i].value, h->v[i].value_len,
                                               full);
            }
        }
    }
    if (req->body != NULL && req->body_len > 0)
        aa_http_transcript_body(out, req->body, req->body_len, full);
    block_close(out);
    return out->err;
}

int aa_http_transcript_response(struct aa_buf *out, const char *role,
                                const struct aa_http_response *resp, unsigned flags)
{
    bool full = (flags & AA_HTTP_TR_FULL) != 0;

    if (out == NULL || role == NULL || resp == NULL)
        return AA_E_INVAL;
    block_open(out, "<", role, resp->url ? resp->url : "(unknown URL)");
    if (resp->status_line != NULL) {
        add_escaped(out, resp->status_line, strlen(resp->status_line), false);
        aa_buf_addc(out, '\n');
    } else {
        aa_buf_adds(out, "(no response)\n");
    }
    for (size_t i = 0; i < resp->headers.n; i++)
        aa_http_transcript_header_line(out, resp->headers.v[i].name, resp->headers.v[i].value,
                                       resp->headers.v[i].value_len, full);
    if (resp->body != NULL && resp->body_len > 0)
        aa_http_transcript_body(out, resp->body, resp->body_len, full);
    block_close(out);
    return out->err;
}

int aa_http_transcript(struct aa_buf *out, const char *role, const struct aa_http_request *req,
                       const struct aa_http_response *resp, unsigned flags)
{
    int rc = aa_http_transcript_request(out, role, req, resp, flags);
    if (rc != AA_OK)
        return rc;
    return aa_http_transcript_response(out, role, resp, flags);
}
