/*
 * sigkey.c: the Signature-Key header (PROFILE#2.1 grammar, D-8; scheme
 * rules of PROFILE#2.3).
 *
 * Design choice: a dedicated, bounded lexer for the three RFC 8941 lexemes
 * the grammar borrows (sf-key, sf-token, sf-string) rather than the generic
 * Structured Fields parser, because the header is not RFC 8941 and every
 * error here must cite PROFILE#2.1 with the offset of the bad byte.
 */
#include "aa_aauth.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "../b64/aa_b64.h"

/* aa_strerror() reaches aa_aauth_strerror() through a weak reference, which
 * does not pull aauth.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_aauth_strerror};

#define REF_GRAMMAR "PROFILE#2.1"
#define REF_SCHEMES "PROFILE#2.3"

static const struct aa_profile *prof(const struct aa_profile *p)
{
    return p != NULL ? p : aa_profile_default();
}

/* ---- lexemes (RFC8941#3.1.2, #3.3.3, #3.3.4) --------------------------- */

static bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_key_char(char c)
{
    return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}

static bool is_tchar(char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token_char(char c) { return is_tchar(c) || c == ':' || c == '/'; }

/* sf-key at |*pos|: view into |in|. */
static bool lex_key(const char *in, size_t len, size_t *pos, struct aa_str *out)
{
    size_t i = *pos;
    if (i >= len || !(is_lcalpha(in[i]) || in[i] == '*'))
        return false;
    while (i < len && is_key_char(in[i]))
        i++;
    out->p = in + *pos;
    out->len = i - *pos;
    *pos = i;
    return true;
}

/* sf-token at |*pos| (caller checked the first character). */
static void lex_token(const char *in, size_t len, size_t *pos, struct aa_str *out)
{
    size_t i = *pos + 1;
    while (i < len && is_token_char(in[i]))
        i++;
    out->p = in + *pos;
    out->len = i - *pos;
    *pos = i;
}

/*
 * sf-string at |*pos| (in[*pos] == '"'); unescaped copy into |out|.
 * Returns AA_OK, AA_E_NOMEM/AA_E_LIMIT (buffer) or AA_E_SIGKEY_SYNTAX.
 */
static int lex_string(const char *in, size_t len, size_t *pos, struct aa_buf *out,
                      struct aa_diag *d, const char *what)
{
    size_t i = *pos + 1;
    while (i < len) {
        char c = in[i];
        if (c == '\\') {
            if (i + 1 >= len || (in[i + 1] != '"' && in[i + 1] != '\\'))
                return aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                               "Signature-Key %s: bad escape in sf-string at offset %zu "
                               "(only \\\" and \\\\, RFC8941#3.3.3)",
                               what, i);
            aa_buf_addc(out, in[i + 1]);
            i += 2;
            continue;
        }
        if (c == '"') {
            *pos = i + 1;
            return out->err != 0 ? out->err : AA_OK;
        }
        if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
            return aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                           "Signature-Key %s: byte 0x%02x at offset %zu not allowed in "
                           "an sf-string",
                           what, (unsigned char)c, i);
        aa_buf_addc(out, c);
        i++;
    }
    return aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                   "Signature-Key %s: sf-string not closed", what);
}

static void trim_ows(const char **in, size_t *len)
{
    while (*len > 0 && ((*in)[0] == ' ' || (*in)[0] == '\t')) {
        (*in)++;
        (*len)--;
    }
    while (*len > 0 && ((*in)[*len - 1] == ' ' || (*in)[*len - 1] == '\t'))
        (*len)--;
}

/* ---- parse ------------------------------------------------------------- */

void aa_sigkey_cleanup(struct aa_sigkey *sk)
{
    if (sk == NULL)
        return;
    for (size_t i = 0; i < sk->n; i++) {
        free(sk->params[i].name);
        if (sk->params[i].value != NULL) {
            /* tokens in hwk/jwt are public, but cleanse anyway: cheap. */
            aa_cleanse(sk->params[i].value, sk->params[i].len);
            free(sk->params[i].value);
        }
    }
    free(sk->params);
    free(sk->label);
    memset(sk, 0, sizeof(*sk));
}

static int push_param(struct aa_sigkey *sk, const char *name, size_t nlen,
                      const char *value, size_t vlen, bool token)
{
    struct aa_sigkey_param *np;
    char *nm, *vl;

    np = realloc(sk->params, (sk->n + 1) * sizeof(*np));
    if (np == NULL)
        return AA_E_NOMEM;
    sk->params = np;
    nm = aa_strndup(name, nlen);
    vl = aa_strndup(value, vlen);
    if (nm == NULL || vl == NULL) {
        free(nm);
        free(vl);
        return AA_E_NOMEM;
    }
    sk->params[sk->n].name = nm;
    sk->params[sk->n].value = vl;
    sk->params[sk->n].len = vlen;
    sk->params[sk->n].token = token;
    sk->n++;
    return AA_OK;
}

const char *aa_sigkey_get(const struct aa_sigkey *sk, const char *name)
{
    if (sk == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < sk->n; i++)
        if (strcmp(sk->params[i].name, name) == 0)
            return sk->params[i].value;
    return NULL;
}

static const struct aa_sigkey_param *get_param(const struct aa_sigkey *sk, const char *name)
{
    for (size_t i = 0; i < sk->n; i++)
        if (strcmp(sk->params[i].name, name) == 0)
            return &sk->params[i];
    return NULL;
}

static enum aa_sigkey_scheme scheme_from(const struct aa_profile *p, const char *s)
{
    if (strcmp(s, p->sk.hwk) == 0)
        return AA_SIGKEY_HWK;
    if (strcmp(s, p->sk.jwks) == 0)
        return AA_SIGKEY_JWKS;
    if (strcmp(s, p->sk.jwt) == 0)
        return AA_SIGKEY_JWT;
    if (strcmp(s, p->sk.x509) == 0)
        return AA_SIGKEY_X509;
    return AA_SIGKEY_OTHER;
}

const char *aa_sigkey_scheme_name(const struct aa_profile *p, enum aa_sigkey_scheme s)
{
    p = prof(p);
    switch (s) {
    case AA_SIGKEY_HWK: return p->sk.hwk;
    case AA_SIGKEY_JWKS: return p->sk.jwks;
    case AA_SIGKEY_JWT: return p->sk.jwt;
    case AA_SIGKEY_X509: return p->sk.x509;
    case AA_SIGKEY_OTHER: return "other";
    case AA_SIGKEY_NONE: break;
    }
    return "none";
}

/* The parameters PROFILE#2.3 defines, in canonical emission order. */
static void defined_names(const struct aa_profile *p, const char *names[13])
{
    names[0] = p->sk.p_kty;
    names[1] = p->sk.p_crv;
    names[2] = p->sk.p_x;
    names[3] = p->sk.p_y;
    names[4] = p->sk.p_n;
    names[5] = p->sk.p_e;
    names[6] = p->sk.p_id;
    names[7] = p->sk.p_jwks;
    names[8] = p->sk.p_kid;
    names[9] = p->sk.p_well_known;
    names[10] = p->sk.p_jwt;
    names[11] = p->sk.p_x5u;
    names[12] = p->sk.p_x5t;
}

static bool is_defined(const struct aa_profile *p, const char *name)
{
    const char *names[13];
    defined_names(p, names);
    for (size_t i = 0; i < 13; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

int aa_sigkey_peek_label(const char *in, size_t len, struct aa_str *label,
                         struct aa_diag *d)
{
    size_t pos = 0;
    bool quoted = false;

    if (in == NULL || label == NULL)
        return AA_E_INVAL;
    trim_ows(&in, &len);
    if (!lex_key(in, len, &pos, label) || pos >= len || in[pos] != '=')
        return aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                       "Signature-Key: value does not start with a label (sf-key) and '='");
    /* Find the ")" closing the member, skipping sf-strings, then look for a
     * "," that would start a second member. */
    for (pos++; pos < len; pos++) {
        char c = in[pos];
        if (quoted) {
            if (c == '\\')
                pos++;
            else if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ')') {
            pos++;
            while (pos < len && (in[pos] == ' ' || in[pos] == '\t'))
                pos++;
            if (pos < len && in[pos] == ',')
                return aa_fail(d, AA_E_SIGKEY_MEMBERS, "PROFILE#2.2",
                               "Signature-Key: more than one member (a ',' follows ')'); "
                               "exactly one is allowed");
            return AA_OK;
        } else if (c == ',') {
            /* no parentheses at all but a list separator */
            return aa_fail(d, AA_E_SIGKEY_MEMBERS, "PROFILE#2.2",
                           "Signature-Key: more than one member; exactly one is allowed");
        }
    }
    return AA_OK;
}

int aa_sigkey_parse(const struct aa_profile *p, const char *in, size_t len,
                    struct aa_sigkey *out, struct aa_diag *d)
{
    struct aa_sigkey sk;
    struct aa_buf val;
    struct aa_str key;
    size_t pos = 0, max_params;
    const struct aa_sigkey_param *sp;
    int rc = AA_OK;

    if (in == NULL || out == NULL)
        return AA_E_INVAL;
    p = prof(p);
    memset(out, 0, sizeof(*out));
    memset(&sk, 0, sizeof(sk));
    aa_buf_init(&val, AA_SIGKEY_MAX_LEN + 1);
    max_params = p->limit.sigkey_params;
    if (max_params == 0 || max_params > AA_SIGKEY_MAX_PARAMS)
        max_params = AA_SIGKEY_MAX_PARAMS;

    trim_ows(&in, &len);
    if (len > AA_SIGKEY_MAX_LEN || len > p->limit.header_value)
        return aa_fail(d, AA_E_LIMIT, "PROFILE#9",
                       "Signature-Key: %zu bytes exceeds the %zu-byte limit (RB-01)", len,
                       (size_t)AA_SIGKEY_MAX_LEN);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] < 0x20 || (unsigned char)in[i] > 0x7e)
            return aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                           "Signature-Key: byte 0x%02x at offset %zu is not visible ASCII",
                           (unsigned char)in[i], i);
    if (!lex_key(in, len, &pos, &key)) {
        rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                     "Signature-Key: no label (an sf-key: lowercase letter or '*' first)");
        goto out;
    }
    sk.label = aa_strndup(key.p, key.len);
    if (sk.label == NULL) {
        rc = AA_E_NOMEM;
        goto out;
    }
    if (pos >= len || in[pos] != '=') {
        rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                     "Signature-Key %s: expected '=' after the label at offset %zu", sk.label,
                     pos);
        goto out;
    }
    pos++;
    if (pos >= len || in[pos] != '(') {
        rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                     "Signature-Key %s: expected '(' at offset %zu (the member is a "
                     "parenthesised parameter list)",
                     sk.label, pos);
        goto out;
    }
    pos++;
    for (;;) {
        size_t sp_start = pos;
        struct aa_str name;
        bool token;

        while (pos < len && in[pos] == ' ')
            pos++;
        if (pos >= len) {
            rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                         "Signature-Key %s: missing ')'", sk.label);
            goto out;
        }
        if (in[pos] == ')') {
            if (sk.n == 0) {
                rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                             "Signature-Key %s: empty parameter list", sk.label);
                goto out;
            }
            pos++;
            break;
        }
        if (sk.n > 0 && pos == sp_start) {
            rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                         "Signature-Key %s: parameters must be separated by a space "
                         "(offset %zu)",
                         sk.label, pos);
            goto out;
        }
        if (!lex_key(in, len, &pos, &name)) {
            rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                         "Signature-Key %s: expected a parameter name (sf-key) at offset "
                         "%zu, found '%c'",
                         sk.label, pos, in[pos]);
            goto out;
        }
        if (pos >= len || in[pos] != '=') {
            rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                         "Signature-Key %s: parameter %.*s has no '=' value", sk.label,
                         (int)name.len, name.p);
            goto out;
        }
        pos++;
        aa_buf_reset(&val);
        if (pos < len && in[pos] == '"') {
            char what[80];
            aa_snprintf(what, sizeof(what), "%s %.*s", sk.label, (int)name.len, name.p);
            rc = lex_string(in, len, &pos, &val, d, what);
            if (rc != AA_OK)
                goto out;
            token = false;
        } else if (pos < len && (is_alpha(in[pos]) || in[pos] == '*')) {
            struct aa_str t;
            lex_token(in, len, &pos, &t);
            aa_buf_add(&val, t.p, t.len);
            token = true;
        } else {
            rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                         "Signature-Key %s: parameter %.*s: value must be an sf-token or "
                         "an sf-string (offset %zu)",
                         sk.label, (int)name.len, name.p, pos);
            goto out;
        }
        if (val.err != 0) {
            rc = val.err;
            goto out;
        }
        for (size_t i = 0; i < sk.n; i++)
            if (strlen(sk.params[i].name) == name.len &&
                memcmp(sk.params[i].name, name.p, name.len) == 0) {
                rc = aa_fail(d, AA_E_SIGKEY_DUP, REF_GRAMMAR,
                             "Signature-Key %s: parameter %.*s repeated", sk.label,
                             (int)name.len, name.p);
                goto out;
            }
        if (sk.n >= max_params) {
            rc = aa_fail(d, AA_E_LIMIT, "PROFILE#9",
                         "Signature-Key %s: more than %zu parameters (RB-04)", sk.label,
                         max_params);
            goto out;
        }
        rc = push_param(&sk, name.p, name.len, val.p != NULL ? val.p : "", val.len, token);
        if (rc != AA_OK)
            goto out;
    }
    if (pos < len) {
        size_t q = pos;
        while (q < len && (in[q] == ' ' || in[q] == '\t'))
            q++;
        if (q < len && in[q] == ',')
            rc = aa_fail(d, AA_E_SIGKEY_MEMBERS, "PROFILE#2.2",
                         "Signature-Key: more than one member (a ',' follows ')'); exactly "
                         "one is allowed");
        else
            rc = aa_fail(d, AA_E_SIGKEY_SYNTAX, REF_GRAMMAR,
                         "Signature-Key %s: characters after ')' at offset %zu", sk.label,
                         pos);
        goto out;
    }
    sp = get_param(&sk, p->sk.p_scheme);
    if (sp == NULL) {
        rc = aa_fail(d, AA_E_SIGKEY_SCHEME, REF_GRAMMAR,
                     "Signature-Key %s: no scheme parameter", sk.label);
        goto out;
    }
    if (!sp->token) {
        rc = aa_fail(d, AA_E_SIGKEY_SCHEME, REF_GRAMMAR,
                     "Signature-Key %s: scheme=\"%s\" is an sf-string; scheme must be a "
                     "token (scheme=%s)",
                     sk.label, sp->value, sp->value);
        goto out;
    }
    for (size_t i = 0; i < sk.n; i++)
        if (sk.params[i].token && is_defined(p, sk.params[i].name)) {
            rc = aa_fail(d, AA_E_SIGKEY_PARAM, REF_GRAMMAR,
                         "Signature-Key %s: %s=%s is a token; %s must be an sf-string",
                         sk.label, sk.params[i].name, sk.params[i].value,
                         sk.params[i].name);
            goto out;
        }
    sk.scheme = scheme_from(p, sp->value);
    *out = sk;
    memset(&sk, 0, sizeof(sk));
out:
    aa_buf_free(&val);
    aa_sigkey_cleanup(&sk);
    return rc;
}

/* ---- validation (PROFILE#2.3) ------------------------------------------ */

static int require(const struct aa_sigkey *sk, const char *name, const char *scheme,
                   struct aa_diag *d)
{
    const char *v = aa_sigkey_get(sk, name);
    if (v == NULL || v[0] == '\0')
        return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                       "Signature-Key %s: scheme=%s requires parameter %s", sk->label, scheme,
                       name);
    return AA_OK;
}

static int validate_hwk(const struct aa_profile *p, const struct aa_sigkey *sk,
                        struct aa_diag *d)
{
    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "k"};
    const char *kty, *crv;
    int rc;

    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
        if (aa_sigkey_get(sk, priv[i]) != NULL)
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: hwk carries private key member %s", sk->label,
                           priv[i]);
    if ((rc = require(sk, p->sk.p_kty, p->sk.hwk, d)) != AA_OK)
        return rc;
    kty = aa_sigkey_get(sk, p->sk.p_kty);
    if (strcmp(kty, "OKP") == 0) {
        uint8_t raw[64];
        size_t n = 0;
        const char *x;
        struct aa_diag bd;

        if ((rc = require(sk, p->sk.p_crv, p->sk.hwk, d)) != AA_OK ||
            (rc = require(sk, p->sk.p_x, p->sk.hwk, d)) != AA_OK)
            return rc;
        crv = aa_sigkey_get(sk, p->sk.p_crv);
        if (strcmp(crv, "Ed25519") != 0)
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: hwk crv=\"%s\" is not supported; OKP keys must "
                           "be Ed25519 (X25519 is a key-agreement curve, D-12)",
                           sk->label, crv);
        x = aa_sigkey_get(sk, p->sk.p_x);
        aa_diag_clear(&bd);
        if (aa_b64_decode(x, strlen(x), AA_B64_URL, AA_B64_PAD_FORBIDDEN,
                          AA_B64_STRICT_BITS, raw, sizeof(raw), &n, &bd) != AA_OK)
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: hwk x is not unpadded base64url: %s", sk->label,
                           bd.msg);
        if (n != 32)
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: hwk Ed25519 x decodes to %zu bytes, not 32",
                           sk->label, n);
        return AA_OK;
    }
    if (strcmp(kty, "EC") == 0) {
        if ((rc = require(sk, p->sk.p_crv, p->sk.hwk, d)) != AA_OK ||
            (rc = require(sk, p->sk.p_x, p->sk.hwk, d)) != AA_OK ||
            (rc = require(sk, p->sk.p_y, p->sk.hwk, d)) != AA_OK)
            return rc;
        return AA_OK;
    }
    if (strcmp(kty, "RSA") == 0) {
        if ((rc = require(sk, p->sk.p_n, p->sk.hwk, d)) != AA_OK ||
            (rc = require(sk, p->sk.p_e, p->sk.hwk, d)) != AA_OK)
            return rc;
        return AA_OK;
    }
    return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                   "Signature-Key %s: hwk kty=\"%s\" is not OKP, EC or RSA", sk->label, kty);
}

int aa_sigkey_validate(const struct aa_profile *p, struct aa_sigkey *sk, struct aa_diag *d)
{
    const char *id, *jwks;

    if (sk == NULL || sk->label == NULL)
        return AA_E_INVAL;
    p = prof(p);
    sk->jwks_mode = 0;
    switch (sk->scheme) {
    case AA_SIGKEY_HWK:
        return validate_hwk(p, sk, d);
    case AA_SIGKEY_JWKS:
        id = aa_sigkey_get(sk, p->sk.p_id);
        jwks = aa_sigkey_get(sk, p->sk.p_jwks);
        if (id != NULL && jwks != NULL)
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: jwks has both id and jwks; exactly one is "
                           "allowed",
                           sk->label);
        if (id == NULL && jwks == NULL)
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: jwks has neither id (Mode 2) nor jwks (Mode 1)",
                           sk->label);
        if (jwks != NULL && aa_sigkey_get(sk, p->sk.p_well_known) != NULL)
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: jwks Mode 1 (jwks=) must not carry well-known",
                           sk->label);
        if ((id != NULL && id[0] == '\0') || (jwks != NULL && jwks[0] == '\0'))
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: jwks %s is empty", sk->label,
                           id != NULL ? p->sk.p_id : p->sk.p_jwks);
        if (aa_sigkey_get(sk, p->sk.p_kid) == NULL || aa_sigkey_get(sk, p->sk.p_kid)[0] == '\0')
            return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                           "Signature-Key %s: jwks requires kid", sk->label);
        sk->jwks_mode = id != NULL ? 2 : 1;
        return AA_OK;
    case AA_SIGKEY_JWT:
        return require(sk, p->sk.p_jwt, p->sk.jwt, d);
    case AA_SIGKEY_X509: {
        int rc = require(sk, p->sk.p_x5u, p->sk.x509, d);
        if (rc == AA_OK)
            rc = require(sk, p->sk.p_x5t, p->sk.x509, d);
        return rc;
    }
    case AA_SIGKEY_OTHER:
    case AA_SIGKEY_NONE:
        break;
    }
    return aa_fail(d, AA_E_SIGKEY_SCHEME, REF_SCHEMES,
                   "Signature-Key %s: scheme=%s is not a known scheme (hwk, jwks, jwt, x509)",
                   sk->label,
                   aa_sigkey_get(sk, p->sk.p_scheme) ? aa_sigkey_get(sk, p->sk.p_scheme) : "");
}

int aa_sigkey_hwk_key(const struct aa_profile *p, const struct aa_sigkey *sk,
                      struct aa_jwk *out, struct aa_diag *d)
{
    const char *names[6];
    cJSON *obj;
    struct aa_diag jd;
    int rc;

    if (sk == NULL || out == NULL || sk->scheme != AA_SIGKEY_HWK)
        return AA_E_INVAL;
    p = prof(p);
    names[0] = p->sk.p_kty;
    names[1] = p->sk.p_crv;
    names[2] = p->sk.p_x;
    names[3] = p->sk.p_y;
    names[4] = p->sk.p_n;
    names[5] = p->sk.p_e;
    obj = cJSON_CreateObject();
    if (obj == NULL)
        return AA_E_NOMEM;
    for (size_t i = 0; i < 6; i++) {
        const char *v = aa_sigkey_get(sk, names[i]);
        if (v != NULL && cJSON_AddStringToObject(obj, names[i], v) == NULL) {
            cJSON_Delete(obj);
            return AA_E_NOMEM;
        }
    }
    aa_diag_clear(&jd);
    rc = aa_jwk_from_cjson(obj, AA_JWK_PUBLIC_ONLY, out, &jd);
    cJSON_Delete(obj);
    if (rc == AA_E_NOMEM)
        return rc;
    if (rc != AA_OK)
        return aa_fail(d, AA_E_SIGKEY_PARAM, REF_SCHEMES,
                       "Signature-Key %s: hwk key rejected: %s", sk->label, jd.msg);
    return AA_OK;
}

/* ---- builders ---------------------------------------------------------- */

static int init_label(struct aa_sigkey *sk, const struct aa_profile *p, const char *label,
                      const char *scheme, enum aa_sigkey_scheme s)
{
    memset(sk, 0, sizeof(*sk));
    sk->label = aa_strdup(label != NULL ? label : p->default_label);
    if (sk->label == NULL)
        return AA_E_NOMEM;
    sk->scheme = s;
    return push_param(sk, p->sk.p_scheme, strlen(p->sk.p_scheme), scheme, strlen(scheme),
                      true);
}

int aa_sigkey_add_param(struct aa_sigkey *sk, const char *name, const char *value, bool token)
{
    if (sk == NULL || name == NULL || value == NULL)
        return AA_E_INVAL;
    return push_param(sk, name, strlen(name), value, strlen(value), token);
}

static int add_str(struct aa_sigkey *sk, const char *name, const char *value)
{
    if (value == NULL)
        return AA_E_INVAL;
    return push_param(sk, name, strlen(name), value, strlen(value), false);
}

static int finish(struct aa_sigkey *sk, int rc)
{
    if (rc != AA_OK)
        aa_sigkey_cleanup(sk);
    return rc;
}

int aa_sigkey_init_hwk(struct aa_sigkey *sk, const struct aa_profile *p, const char *label,
                       const struct aa_jwk *key)
{
    struct aa_buf b;
    const char *members[3] = {NULL, NULL, NULL};
    const char *kty;
    int rc;

    if (sk == NULL || key == NULL)
        return AA_E_INVAL;
    p = prof(p);
    switch (key->kty) {
    case AA_KTY_OKP:
        kty = "OKP";
        members[0] = p->sk.p_x;
        break;
    case AA_KTY_EC:
        kty = "EC";
        members[0] = p->sk.p_x;
        members[1] = p->sk.p_y;
        break;
    case AA_KTY_RSA:
        kty = "RSA";
        members[0] = p->sk.p_n;
        members[1] = p->sk.p_e;
        break;
    default:
        memset(sk, 0, sizeof(*sk));
        return AA_E_INVAL;
    }
    rc = init_label(sk, p, label, p->sk.hwk, AA_SIGKEY_HWK);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_kty, kty);
    if (rc == AA_OK && key->kty != AA_KTY_RSA)
        rc = add_str(sk, p->sk.p_crv, key->crv);
    aa_buf_init(&b, 8192);
    for (size_t i = 0; rc == AA_OK && i < 3 && members[i] != NULL; i++) {
        aa_buf_reset(&b);
        rc = aa_jwk_public_member(key, members[i], &b);
        if (rc == AA_OK && b.p == NULL)
            rc = AA_E_INTERNAL;
        if (rc == AA_OK)
            rc = add_str(sk, members[i], b.p);
    }
    aa_buf_free(&b);
    return finish(sk, rc);
}

int aa_sigkey_init_jwks(struct aa_sigkey *sk, const struct aa_profile *p, const char *label,
                        const char *id, const char *kid, const char *well_known)
{
    int rc;
    if (sk == NULL || id == NULL || kid == NULL)
        return AA_E_INVAL;
    p = prof(p);
    rc = init_label(sk, p, label, p->sk.jwks, AA_SIGKEY_JWKS);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_id, id);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_kid, kid);
    if (rc == AA_OK && well_known != NULL)
        rc = add_str(sk, p->sk.p_well_known, well_known);
    if (rc == AA_OK)
        sk->jwks_mode = 2;
    return finish(sk, rc);
}

int aa_sigkey_init_jwks_uri(struct aa_sigkey *sk, const struct aa_profile *p,
                            const char *label, const char *jwks_url, const char *kid)
{
    int rc;
    if (sk == NULL || jwks_url == NULL || kid == NULL)
        return AA_E_INVAL;
    p = prof(p);
    rc = init_label(sk, p, label, p->sk.jwks, AA_SIGKEY_JWKS);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_jwks, jwks_url);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_kid, kid);
    if (rc == AA_OK)
        sk->jwks_mode = 1;
    return finish(sk, rc);
}

int aa_sigkey_init_jwt(struct aa_sigkey *sk, const struct aa_profile *p, const char *label,
                       const char *token)
{
    int rc;
    if (sk == NULL || token == NULL)
        return AA_E_INVAL;
    p = prof(p);
    rc = init_label(sk, p, label, p->sk.jwt, AA_SIGKEY_JWT);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_jwt, token);
    return finish(sk, rc);
}

int aa_sigkey_init_x509(struct aa_sigkey *sk, const struct aa_profile *p, const char *label,
                        const char *x5u, const char *x5t)
{
    int rc;
    if (sk == NULL || x5u == NULL || x5t == NULL)
        return AA_E_INVAL;
    p = prof(p);
    rc = init_label(sk, p, label, p->sk.x509, AA_SIGKEY_X509);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_x5u, x5u);
    if (rc == AA_OK)
        rc = add_str(sk, p->sk.p_x5t, x5t);
    return finish(sk, rc);
}

/* ---- serialization ----------------------------------------------------- */

static bool is_token_text(const char *s)
{
    if (s[0] == '\0' || !(is_alpha(s[0]) || s[0] == '*'))
        return false;
    for (size_t i = 1; s[i] != '\0'; i++)
        if (!is_token_char(s[i]))
            return false;
    return true;
}

static int emit_param(const struct aa_sigkey_param *pp, bool as_token, struct aa_buf *out)
{
    aa_buf_adds(out, pp->name);
    aa_buf_addc(out, '=');
    if (as_token) {
        aa_buf_add(out, pp->value, pp->len);
        return AA_OK;
    }
    aa_buf_addc(out, '"');
    for (size_t i = 0; i < pp->len; i++) {
        unsigned char c = (unsigned char)pp->value[i];
        if (c < 0x20 || c > 0x7e)
            return AA_E_INVAL;
        if (c == '"' || c == '\\')
            aa_buf_addc(out, '\\');
        aa_buf_addc(out, (char)c);
    }
    aa_buf_addc(out, '"');
    return AA_OK;
}

int aa_sigkey_serialize_ex(const struct aa_profile *p, const struct aa_sigkey *sk,
                           unsigned flags, struct aa_buf *out)
{
    const char *names[13];
    const struct aa_sigkey_param *order[AA_SIGKEY_MAX_PARAMS * 2];
    size_t n = 0;
    const char *sep = (flags & AA_SIGKEY_SER_EXTRA_SPACES) ? "  " : " ";
    const struct aa_sigkey_param *scheme;

    if (sk == NULL || out == NULL || sk->label == NULL || sk->n > AA_SIGKEY_MAX_PARAMS * 2)
        return AA_E_INVAL;
    p = prof(p);
    scheme = get_param(sk, p->sk.p_scheme);
    if (scheme == NULL)
        return AA_E_INVAL;
    if (flags & AA_SIGKEY_SER_STORED_ORDER) {
        for (size_t i = 0; i < sk->n; i++)
            order[n++] = &sk->params[i];
    } else {
        order[n++] = scheme;
        defined_names(p, names);
        for (size_t j = 0; j < 13; j++) {
            const struct aa_sigkey_param *pp = get_param(sk, names[j]);
            if (pp != NULL && pp != scheme)
                order[n++] = pp;
        }
        for (size_t i = 0; i < sk->n; i++)
            if (&sk->params[i] != scheme && !is_defined(p, sk->params[i].name))
                order[n++] = &sk->params[i];
    }
    aa_buf_adds(out, sk->label);
    aa_buf_adds(out, "=(");
    if (flags & AA_SIGKEY_SER_EXTRA_SPACES)
        aa_buf_addc(out, ' ');
    for (size_t i = 0; i < n; i++) {
        bool as_token;
        if (i > 0)
            aa_buf_adds(out, sep);
        if (order[i] == scheme)
            as_token = !(flags & AA_SIGKEY_SER_SCHEME_STRING);
        else if (flags & AA_SIGKEY_SER_ALL_TOKENS)
            as_token = is_token_text(order[i]->value);
        else
            as_token = order[i]->token && is_token_text(order[i]->value);
        if (as_token && !is_token_text(order[i]->value))
            return AA_E_INVAL;
        if (emit_param(order[i], as_token, out) != AA_OK)
            return AA_E_INVAL;
    }
    if (flags & AA_SIGKEY_SER_EXTRA_SPACES)
        aa_buf_addc(out, ' ');
    aa_buf_addc(out, ')');
    return out->err != 0 ? out->err : AA_OK;
}

int aa_sigkey_serialize(const struct aa_profile *p, const struct aa_sigkey *sk,
                        struct aa_buf *out)
{
    return aa_sigkey_serialize_ex(p, sk, 0, out);
}
