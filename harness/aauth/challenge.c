/*
 * challenge.c: the Agent-Auth header (AAUTH#4; PROFILE#5, D-9).
 *
 * Design choice: the one tolerated deviation (an Inner List as the value of
 * the algs parameter) is cut out of a copy of the text before the strict
 * RFC 8941 List parser runs, so the strict parser never learns a dialect
 * and every other malformation still fails exactly as RFC 8941 says.
 */
#include "aa_aauth.h"

#include <stdlib.h>
#include <string.h>

#include "../sf/aa_sf.h"

#define REF_CH "PROFILE#5"
/* Longest algs entry kept (bytes after unescaping). Algorithm names are
 * short tokens (PROFILE#2.10); the bound keeps the lenient lexer, which
 * runs before any RFC 8941 limit applies, from copying a whole header. */
#define ALG_MAX_LEN 256

/* aa_strerror() reaches aa_aauth_strerror() through a weak reference, which
 * does not pull aauth.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_aauth_strerror};

static const struct aa_profile *prof(const struct aa_profile *p)
{
    return p != NULL ? p : aa_profile_default();
}

void aa_challenge_cleanup(struct aa_challenge *ch)
{
    if (ch == NULL)
        return;
    free(ch->resource_token);
    free(ch->auth_server);
    free(ch->user_interaction);
    for (size_t i = 0; i < ch->n_algs; i++)
        free(ch->algs[i]);
    memset(ch, 0, sizeof(*ch));
}

static void free_algs(struct aa_challenge *ch)
{
    for (size_t i = 0; i < ch->n_algs; i++) {
        free(ch->algs[i]);
        ch->algs[i] = NULL;
    }
    ch->n_algs = 0;
}

/*
 * Parse the Inner List of sf-strings starting at in[*pos] == '(' into
 * ch->algs; on success *pos is past ')'. Strings only (D-9).
 */
static int lex_algs(const char *in, size_t len, size_t *pos, struct aa_challenge *ch,
                    struct aa_diag *d)
{
    size_t i = *pos + 1;
    bool first = true;

    free_algs(ch);
    for (;;) {
        size_t start = i;
        struct aa_buf s;

        while (i < len && in[i] == ' ')
            i++;
        if (i >= len)
            return aa_fail(d, AA_E_CHALLENGE_SYNTAX, REF_CH,
                           "Agent-Auth algs: Inner List not closed");
        if (in[i] == ')') {
            *pos = i + 1;
            return AA_OK;
        }
        if (!first && i == start)
            return aa_fail(d, AA_E_CHALLENGE_SYNTAX, REF_CH,
                           "Agent-Auth algs: items must be separated by a space");
        if (in[i] != '"')
            return aa_fail(d, AA_E_CHALLENGE_SYNTAX, REF_CH,
                           "Agent-Auth algs: only sf-strings are tolerated in the algs Inner "
                           "List (D-9), found '%c' at offset %zu",
                           in[i], i);
        if (ch->n_algs >= AA_CHALLENGE_MAX_ALGS)
            return aa_fail(d, AA_E_LIMIT, REF_CH, "Agent-Auth algs: more than %d entries",
                           AA_CHALLENGE_MAX_ALGS);
        aa_buf_init(&s, ALG_MAX_LEN);
        for (i++;; i++) {
            char c;

            if (i >= len) {
                aa_buf_free(&s);
                return aa_fail(d, AA_E_CHALLENGE_SYNTAX, REF_CH,
                               "Agent-Auth algs: sf-string not closed");
            }
            if (in[i] == '"')
                break;
            if (in[i] == '\\' && i + 1 < len && (in[i + 1] == '"' || in[i + 1] == '\\')) {
                c = in[++i];
            } else if ((unsigned char)in[i] < 0x20 || (unsigned char)in[i] > 0x7e ||
                       in[i] == '\\') {
                aa_buf_free(&s);
                return aa_fail(d, AA_E_CHALLENGE_SYNTAX, REF_CH,
                               "Agent-Auth algs: invalid byte 0x%02x in sf-string",
                               (unsigned char)in[i]);
            } else {
                c = in[i];
            }
            /* checked before the append so the limit, not the buffer, reports it */
            if (s.len >= ALG_MAX_LEN) {
                aa_buf_free(&s);
                return aa_fail(d, AA_E_LIMIT, REF_CH,
                               "Agent-Auth algs: entry %zu is longer than %d bytes", ch->n_algs + 1,
                               ALG_MAX_LEN);
            }
            if (aa_buf_addc(&s, c) != AA_OK)
                return aa_fail(d, s.err, REF_CH, "Agent-Auth algs: entry %zu: %s", ch->n_algs + 1,
                               aa_strerror(s.err));
        }
        i++;
        ch->algs[ch->n_algs] = aa_buf_detach(&s, NULL);
        if (ch->algs[ch->n_algs] == NULL)
            return aa_fail(d, AA_E_NOMEM, REF_CH, "Agent-Auth algs: entry %zu: %s", ch->n_algs + 1,
                           aa_strerror(AA_E_NOMEM));
        ch->n_algs++;
        first = false;
    }
}

/*
 * Copy |in| to |out|, replacing every `;<OWS>algs=(...)` outside sf-strings
 * by `;algs=?1` and collecting the strings. The Boolean placeholder is never
 * read back: ch->algs holds the values.
 */
static int strip_algs(const struct aa_profile *p, const char *in, size_t len,
                      struct aa_buf *out, struct aa_challenge *ch, struct aa_diag *d)
{
    size_t alen = strlen(p->ch.algs);
    bool quoted = false;

    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (quoted) {
            if (c == '\\' && i + 1 < len) {
                aa_buf_addc(out, c);
                aa_buf_addc(out, in[++i]);
                continue;
            }
            if (c == '"')
                quoted = false;
            aa_buf_addc(out, c);
            continue;
        }
        if (c == '"') {
            quoted = true;
            aa_buf_addc(out, c);
            continue;
        }
        aa_buf_addc(out, c);
        if (c == ';') {
            size_t j = i + 1;
            while (j < len && in[j] == ' ')
                j++;
            if (j + alen + 1 < len && memcmp(in + j, p->ch.algs, alen) == 0 &&
                in[j + alen] == '=' && in[j + alen + 1] == '(') {
                size_t pos = j + alen + 1;
                int rc = lex_algs(in, len, &pos, ch, d);
                if (rc != AA_OK)
                    return rc;
                aa_buf_add(out, in + i + 1, j - (i + 1));
                aa_buf_adds(out, p->ch.algs);
                aa_buf_adds(out, "=?1");
                ch->has_algs = true;
                ch->algs_non_rfc8941 = true;
                i = pos - 1;
            }
        }
    }
    /* The copy is never longer than the input (an Inner List of at least
     * "()" becomes "?1"), so only an allocation failure ends up here. */
    if (out->err != 0)
        return aa_fail(d, out->err, REF_CH, "Agent-Auth: copying %zu bytes: %s", len,
                       aa_strerror(out->err));
    return AA_OK;
}

static int take_string(const struct aa_sf_bare *b, const char *name, char **dst,
                       struct aa_diag *d)
{
    if (b->type != AA_SF_STRING)
        return aa_fail(d, AA_E_CHALLENGE_PARAM, REF_CH,
                       "Agent-Auth httpsig: %s must be an sf-string, found %s", name,
                       aa_sf_type_name(b->type));
    free(*dst);
    *dst = aa_strndup(b->s, b->len);
    if (*dst == NULL)
        return aa_fail(d, AA_E_NOMEM, REF_CH, "Agent-Auth httpsig: %s: %s", name,
                       aa_strerror(AA_E_NOMEM));
    return AA_OK;
}

int aa_challenge_parse(const struct aa_profile *p, const char *in, size_t len,
                       struct aa_challenge *out, struct aa_diag *d)
{
    struct aa_challenge ch;
    struct aa_buf text;
    struct aa_sf_list list;
    const struct aa_sf_item *it = NULL;
    int rc;

    if (in == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, REF_CH, "aa_challenge_parse: NULL %s",
                       in == NULL ? "input" : "output");
    p = prof(p);
    memset(out, 0, sizeof(*out));
    memset(&ch, 0, sizeof(ch));
    memset(&list, 0, sizeof(list));
    if (len > AA_CHALLENGE_MAX_LEN || len > p->limit.header_value)
        return aa_fail(d, AA_E_LIMIT, "PROFILE#9",
                       "Agent-Auth: %zu bytes exceeds the %zu-byte limit (RB-01)", len,
                       p->limit.header_value < (size_t)AA_CHALLENGE_MAX_LEN
                           ? p->limit.header_value
                           : (size_t)AA_CHALLENGE_MAX_LEN);
    aa_buf_init(&text, AA_CHALLENGE_MAX_LEN + 64);
    rc = strip_algs(p, in, len, &text, &ch, d);
    if (rc != AA_OK)
        goto out;
    rc = aa_sf_parse_list(text.p != NULL ? text.p : "", text.len, &list, d);
    if (rc == AA_E_NOMEM || rc == AA_E_LIMIT) {
        /* the sf parser cites its limits; make sure a fault carries one too */
        if (d != NULL && (d->code != rc || d->ref == NULL || d->msg[0] == '\0'))
            aa_fail(d, rc, "RFC8941#3.1", "Agent-Auth: %s", aa_strerror(rc));
        goto out;
    }
    if (rc != AA_OK) {
        /* keep the RFC 8941 reason, but classify as a malformed challenge */
        if (d != NULL) {
            d->code = AA_E_CHALLENGE_SYNTAX;
            aa_diag_prefix(d, "Agent-Auth is not an RFC 8941 List");
        }
        rc = AA_E_CHALLENGE_SYNTAX;
        goto out;
    }
    ch.n_members = list.n;
    for (size_t i = 0; i < list.n; i++) {
        const struct aa_sf_item *m = &list.v[i];
        if (m->bare.type == AA_SF_TOKEN && strcmp(m->bare.s, p->ch.scheme) == 0) {
            it = m;
            ch.member_index = i;
            break;
        }
    }
    if (it == NULL) {
        rc = aa_fail(d, AA_E_CHALLENGE_NONE, REF_CH,
                     "Agent-Auth: no member is the token %s (%zu members)", p->ch.scheme,
                     list.n);
        goto out;
    }
    for (size_t i = 0; i < it->params.n; i++) {
        const struct aa_sf_param *pp = &it->params.v[i];
        if (strcmp(pp->key, p->ch.identity) == 0 || strcmp(pp->key, p->ch.auth_token) == 0) {
            if (pp->value.type != AA_SF_BOOLEAN) {
                rc = aa_fail(d, AA_E_CHALLENGE_PARAM, REF_CH,
                             "Agent-Auth httpsig: %s must be a Boolean, found %s", pp->key,
                             aa_sf_type_name(pp->value.type));
                goto out;
            }
            if (strcmp(pp->key, p->ch.identity) == 0)
                ch.identity = pp->value.b;
            else
                ch.auth_token = pp->value.b;
        } else if (strcmp(pp->key, p->ch.resource_token) == 0) {
            rc = take_string(&pp->value, pp->key, &ch.resource_token, d);
        } else if (strcmp(pp->key, p->ch.auth_server) == 0) {
            rc = take_string(&pp->value, pp->key, &ch.auth_server, d);
        } else if (strcmp(pp->key, p->ch.user_interaction) == 0) {
            rc = take_string(&pp->value, pp->key, &ch.user_interaction, d);
        }
        if (rc != AA_OK)
            goto out;
    }
    *out = ch;
    memset(&ch, 0, sizeof(ch));
out:
    aa_sf_list_free(&list);
    aa_buf_free(&text);
    aa_challenge_cleanup(&ch);
    return rc;
}

static int add_sfstring(struct aa_buf *out, const char *s)
{
    aa_buf_addc(out, '"');
    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return AA_E_INVAL;
        if (c == '"' || c == '\\')
            aa_buf_addc(out, '\\');
        aa_buf_addc(out, (char)c);
    }
    aa_buf_addc(out, '"');
    return AA_OK;
}

static int add_str_param(struct aa_buf *out, const char *name, const char *v)
{
    if (v == NULL)
        return AA_OK;
    aa_buf_adds(out, "; ");
    aa_buf_adds(out, name);
    aa_buf_addc(out, '=');
    return add_sfstring(out, v);
}

int aa_challenge_serialize(const struct aa_profile *p, const struct aa_challenge *ch,
                           struct aa_buf *out)
{
    int rc;

    if (ch == NULL || out == NULL)
        return AA_E_INVAL;
    p = prof(p);
    aa_buf_adds(out, p->ch.scheme);
    if (ch->identity && !ch->auth_token) {
        aa_buf_adds(out, "; ");
        aa_buf_adds(out, p->ch.identity);
        aa_buf_adds(out, "=?1");
    }
    if (ch->auth_token) {
        aa_buf_adds(out, "; ");
        aa_buf_adds(out, p->ch.auth_token);
    }
    if ((rc = add_str_param(out, p->ch.user_interaction, ch->user_interaction)) != AA_OK ||
        (rc = add_str_param(out, p->ch.resource_token, ch->resource_token)) != AA_OK ||
        (rc = add_str_param(out, p->ch.auth_server, ch->auth_server)) != AA_OK)
        return rc;
    return out->err != 0 ? out->err : AA_OK;
}

int aa_challenge_build_base(const struct aa_profile *p, bool identity, struct aa_buf *out)
{
    struct aa_challenge ch;
    memset(&ch, 0, sizeof(ch));
    ch.identity = identity;
    return aa_challenge_serialize(p, &ch, out);
}

int aa_challenge_build_auth_token(const struct aa_profile *p, const char *resource_token,
                                  const char *auth_server, struct aa_buf *out)
{
    struct aa_challenge ch;
    if (resource_token == NULL || auth_server == NULL)
        return AA_E_INVAL;
    memset(&ch, 0, sizeof(ch));
    ch.auth_token = true;
    /* the struct is only read; the casts do not let the serializer write */
    ch.resource_token = (char *)(uintptr_t)resource_token;
    ch.auth_server = (char *)(uintptr_t)auth_server;
    return aa_challenge_serialize(p, &ch, out);
}
