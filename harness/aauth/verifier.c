/*
 * verifier.c: the receiver procedure of PROFILE#2.11, steps 1-9, in order.
 *
 * Design choice: each step is a function that either passes or records the
 * failure (code, PROFILE#6.8 error, status, step, citation, message) and
 * stops the procedure; parsed state flows forward in one struct, so the
 * order of checks is exactly the order of the profile and a test can assert
 * the step at which a request was refused.
 */
#include <stdlib.h>
#include <string.h>

#include "../httpsig/aa_httpsig.h"
#include "../sf/aa_sf.h"
#include "aauth_int.h"

/* aa_strerror() reaches the tables through weak references, which do not
 * pull aauth.c and jose.c out of their archives; these strong ones do,
 * so a program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_aauth_strerror,
                                                                             aa_jose_strerror};

#define SECT "2.11"
#define MAX_FIELDS 512

struct vstate {
    const struct aa_verify_policy *pol;
    const struct aa_profile *p;
    const struct aa_verify_request *req;
    struct aa_aauth_result *res;
    int64_t now;
    /* step 3 */
    struct aa_str input_v, sig_v, key_v;
    struct aa_sf_dict input;
    const struct aa_sf_item *params; /* the Signature-Input member (Inner List) */
    char *label;
    uint8_t sig[AA_CRYPTO_SIG_MAX];
    size_t sig_len;
    /* step 4 */
    struct aa_sigkey sk;
    /* step 5 */
    int64_t created;
    const char *alg;
    /* step 6 */
    struct aa_str nonce;
    bool has_nonce;
    /* step 7 */
    struct aa_jwk key;
    bool have_key;
    struct aa_identity *id;
    /* step 8 */
    const char *authority;
    struct aa_buf base;
    struct aa_httpsig_field fields[MAX_FIELDS];
    size_t nf;
};

#define VFAIL(s, step, perr, code, ref, ...)                                                   \
    aauth_res((s)->res, SECT, (step), (perr), 0, (code), (ref), __VA_ARGS__)

static int vdiag(struct vstate *s, int step, enum aa_perr perr, int code,
                 const struct aa_diag *d, const char *prefix)
{
    return aauth_res_diag(s->res, SECT, step, perr, code, d, prefix);
}

void aa_identity_cleanup(struct aa_identity *id)
{
    if (id == NULL)
        return;
    free(id->agent);
    free(id->delegate);
    free(id->well_known);
    free(id->jwks_url);
    aa_validated_token_cleanup(&id->token);
    aa_jwk_cleanup(&id->key);
    free(id->label);
    free(id->nonce);
    if (id->base != NULL) {
        aa_cleanse(id->base, id->base_len);
        free(id->base);
    }
    memset(id, 0, sizeof(*id));
}

/* ---- header helpers --------------------------------------------------------- */

static size_t count_lines(const struct aa_http_headers *h, const char *name)
{
    return h != NULL ? aa_http_headers_count(h, name) : 0;
}

static struct aa_str first_value(const struct aa_http_headers *h, const char *name)
{
    for (size_t i = 0; h != NULL && i < h->n; i++)
        if (!h->v[i].raw && aa_str_eq_ci(aa_str_c(h->v[i].name), name))
            return (struct aa_str){h->v[i].value, h->v[i].value_len};
    return (struct aa_str){NULL, 0};
}

static struct aa_str trim(struct aa_str v)
{
    while (v.len > 0 && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.len--;
    }
    while (v.len > 0 && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
        v.len--;
    return v;
}

/* ---- step 1: size limits (PROFILE#9 RB, D-24) ------------------------------ */

static int step1(struct vstate *s)
{
    const struct aa_http_headers *h = s->req->headers;
    const char *aauth[5];
    size_t block = 0;

    aauth[0] = s->p->hdr.signature_input;
    aauth[1] = s->p->hdr.signature;
    aauth[2] = s->p->hdr.signature_key;
    aauth[3] = s->p->hdr.nonce;
    aauth[4] = s->p->hdr.content_digest;
    if (s->req->body_len > s->p->limit.body)
        return aauth_res(s->res, SECT, 1, AA_PERR_INVALID_REQUEST, 413, AA_E_AAUTH_LIMIT,
                         "PROFILE#9", "body of %zu bytes exceeds %zu (RB-02)", s->req->body_len,
                         s->p->limit.body);
    for (size_t i = 0; h != NULL && i < h->n; i++) {
        const struct aa_http_header *f = &h->v[i];
        size_t nl = strlen(f->name);
        block += nl + f->value_len + 4;
        if (f->value_len > s->p->limit.header_value)
            return aauth_res(s->res, SECT, 1, AA_PERR_INVALID_REQUEST, 431, AA_E_AAUTH_LIMIT,
                             "PROFILE#9", "header %.64s: %zu bytes exceeds %zu (RB-01)", f->name,
                             f->value_len, s->p->limit.header_value);
        for (size_t k = 0; k < 5; k++) {
            if (!aa_str_eq_ci(aa_str_c(f->name), aauth[k]))
                continue;
            for (size_t j = 0; j < f->value_len; j++) {
                unsigned char c = (unsigned char)f->value[j];
                if ((c < 0x20 && c != '\t') || c >= 0x7f)
                    return VFAIL(s, 1, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_LIMIT, "PROFILE#9",
                                 "%s: byte 0x%02x at offset %zu (control or non-ASCII, RB-05)",
                                 aauth[k], c, j);
            }
        }
    }
    if (block > s->p->limit.header_block)
        return aauth_res(s->res, SECT, 1, AA_PERR_INVALID_REQUEST, 431, AA_E_AAUTH_LIMIT,
                         "PROFILE#9", "header block of %zu bytes exceeds %zu (RB-01)", block,
                         s->p->limit.header_block);
    return AA_OK;
}

/* ---- step 2 and 3: presence and label selection (PROFILE#2.2) -------------- */

static int step2(struct vstate *s)
{
    const struct aa_http_headers *h = s->req->headers;
    if (count_lines(h, s->p->hdr.signature_input) == 0 && count_lines(h, s->p->hdr.signature) == 0 &&
        count_lines(h, s->p->hdr.signature_key) == 0) {
        s->res->no_signature = true;
        return VFAIL(s, 2, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_NO_SIGNATURE, "PROFILE#2.11",
                     "request carries no Signature-Input, Signature or Signature-Key");
    }
    return AA_OK;
}

static int one_line(struct vstate *s, const char *name, struct aa_str *v)
{
    size_t n = count_lines(s->req->headers, name);
    if (n == 0)
        return VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_HEADERS, "PROFILE#2.2",
                     "%s header is missing", name);
    if (n > 1)
        return VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_HEADERS, "PROFILE#2.2",
                     "%s is sent on %zu field lines; exactly one is allowed", name, n);
    *v = trim(first_value(s->req->headers, name));
    return AA_OK;
}

static int step3(struct vstate *s)
{
    const struct aa_profile *p = s->p;
    struct aa_sf_dict sd;
    struct aa_str lk;
    struct aa_diag d;
    const struct aa_sf_dict_member *sm;
    int rc;

    if ((rc = one_line(s, p->hdr.signature_key, &s->key_v)) != AA_OK ||
        (rc = one_line(s, p->hdr.signature_input, &s->input_v)) != AA_OK ||
        (rc = one_line(s, p->hdr.signature, &s->sig_v)) != AA_OK)
        return rc;
    /* 2: Signature-Key has exactly one member, label Lk */
    aa_diag_clear(&d);
    rc = aa_sigkey_peek_label(s->key_v.p, s->key_v.len, &lk, &d);
    if (rc != AA_OK)
        return vdiag(s, 3, AA_PERR_INVALID_SIGNATURE, rc == AA_E_SIGKEY_MEMBERS ? AA_E_AAUTH_LABEL : rc,
                     &d, NULL);
    /* 3: Signature-Input has exactly one member, label Ls */
    aa_diag_clear(&d);
    rc = aa_sf_parse_dict(s->input_v.p, s->input_v.len, &s->input, &d);
    if (rc == AA_E_NOMEM)
        return VFAIL(s, 3, AA_PERR_SERVER_ERROR, rc, "PROFILE#2.2", "out of memory");
    if (rc != AA_OK)
        return vdiag(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_SIG_INPUT, &d,
                     "Signature-Input is not an RFC 8941 Dictionary");
    if (s->input.n != 1)
        return VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_LABEL, "PROFILE#2.2",
                     "Signature-Input has %zu members; exactly one is allowed", s->input.n);
    if (s->input.v[0].item.bare.type != AA_SF_INNER_LIST)
        return VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_SIG_INPUT, "RFC9421#4.1",
                     "Signature-Input %s is not an Inner List", s->input.v[0].key);
    s->params = &s->input.v[0].item;
    /* 4: Signature has exactly one member, a Byte Sequence */
    memset(&sd, 0, sizeof(sd));
    aa_diag_clear(&d);
    rc = aa_sf_parse_dict(s->sig_v.p, s->sig_v.len, &sd, &d);
    if (rc == AA_E_NOMEM)
        return VFAIL(s, 3, AA_PERR_SERVER_ERROR, rc, "PROFILE#2.2", "out of memory");
    if (rc != AA_OK) {
        /* ask httpsig why: it names base64url and other encodings */
        struct aa_diag d2;
        size_t n = 0;
        unsigned cls = 0;
        aa_diag_clear(&d2);
        rc = aa_httpsig_parse_signature(s->sig_v, NULL, s->sig, sizeof(s->sig), &n, &cls, &d2);
        if (rc == AA_E_HTTPSIG_SIG_ENCODING)
            return vdiag(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_SIG_VALUE, &d2, NULL);
        return vdiag(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_SIG_VALUE, &d,
                     "Signature is not an RFC 8941 Dictionary");
    }
    if (sd.n != 1) {
        size_t n = sd.n;
        aa_sf_dict_free(&sd);
        return VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_LABEL, "PROFILE#2.2",
                     "Signature has %zu members; exactly one is allowed", n);
    }
    sm = &sd.v[0];
    if (sm->item.bare.type != AA_SF_BYTES) {
        rc = VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_SIG_VALUE, "RFC9421#4.2",
                   "Signature %s is a%s %s, not a Byte Sequence", sm->key,
                   sm->item.bare.type == AA_SF_INNER_LIST ? "n" : "",
                   aa_sf_type_name(sm->item.bare.type));
        aa_sf_dict_free(&sd);
        return rc;
    }
    if (sm->item.bare.len > sizeof(s->sig)) {
        aa_sf_dict_free(&sd);
        return VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_SIG_VALUE, "RFC9421#4.2",
                     "Signature value is longer than %zu bytes", sizeof(s->sig));
    }
    memcpy(s->sig, sm->item.bare.s, sm->item.bare.len);
    s->sig_len = sm->item.bare.len;
    /* 5: Lk = Ls = Lsig */
    if (!aa_str_eq(lk, s->input.v[0].key) || strcmp(sm->key, s->input.v[0].key) != 0) {
        rc = VFAIL(s, 3, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_LABEL, "PROFILE#2.2",
                   "labels differ: Signature-Key %.*s, Signature-Input %s, Signature %s",
                   (int)(lk.len > 64 ? 64 : lk.len), lk.p, s->input.v[0].key, sm->key);
        aa_sf_dict_free(&sd);
        return rc;
    }
    aa_sf_dict_free(&sd);
    s->label = aa_strdup(s->input.v[0].key);
    return s->label != NULL ? AA_OK : VFAIL(s, 3, AA_PERR_SERVER_ERROR, AA_E_NOMEM, "", "oom");
}

/* ---- step 4: Signature-Key (PROFILE#2.1, #2.3) ----------------------------- */

static int step4(struct vstate *s)
{
    struct aa_diag d;
    int rc;
    aa_diag_clear(&d);
    rc = s->p->grammar.sigkey_parse(s->p, s->key_v.p, s->key_v.len, &s->sk, &d);
    if (rc == AA_OK)
        rc = aa_sigkey_validate(s->p, &s->sk, &d);
    if (rc != AA_OK)
        return vdiag(s, 4, AA_PERR_INVALID_KEY, rc, &d, NULL);
    return AA_OK;
}

/* ---- step 5: covered components and parameters (PROFILE#2.4, #2.6) --------- */

static bool covered(const struct aa_sf_item *il, const char *name)
{
    for (size_t i = 0; i < il->n_inner; i++)
        if (il->inner[i].bare.type == AA_SF_STRING && strcmp(il->inner[i].bare.s, name) == 0)
            return true;
    return false;
}

static int step5(struct vstate *s)
{
    const struct aa_profile *p = s->p;
    const struct aa_sf_item *il = s->params;
    const char *derived[4], *always[4];
    bool has_q = strchr(s->req->target, '?') != NULL, body = s->req->body_len > 0;
    int64_t skew = s->pol->created_skew > 0 ? s->pol->created_skew : p->time.created_skew;
    const struct aa_sf_bare *b;

    derived[0] = p->comp.method;
    derived[1] = p->comp.authority;
    derived[2] = p->comp.path;
    derived[3] = p->comp.query;
    if (il->n_inner > p->limit.components)
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_LIMIT, "PROFILE#9",
                     "Signature-Input %s covers %zu components, more than %zu (RB-04)", s->label,
                     il->n_inner, p->limit.components);
    for (size_t i = 0; i < il->n_inner; i++) {
        const struct aa_sf_item *c = &il->inner[i];
        const char *n;
        bool ok = false;
        if (c->bare.type != AA_SF_STRING)
            return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "RFC9421#2",
                         "Signature-Input %s: component %zu is a %s, not a String", s->label, i,
                         aa_sf_type_name(c->bare.type));
        n = c->bare.s;
        if (c->params.n > 0)
            return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                         "Signature-Input %s: \"%.64s\";%s: component parameters are not "
                         "allowed (D-11)",
                         s->label, n, c->params.v[0].key);
        for (const char *q = n; *q != '\0'; q++)
            if (*q >= 'A' && *q <= 'Z')
                return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                             "Signature-Input %s: \"%.64s\" is not lowercase (D-11)", s->label, n);
        if (n[0] == '\0')
            return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "RFC9421#2",
                         "Signature-Input %s: empty component name", s->label);
        if (n[0] == '@') {
            for (size_t k = 0; k < 4; k++)
                ok = ok || strcmp(n, derived[k]) == 0;
            if (!ok)
                return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                             "Signature-Input %s: derived component \"%.64s\" is not allowed "
                             "(only @method @authority @path @query, D-11)",
                             s->label, n);
        }
        for (size_t j = 0; j < i; j++)
            if (il->inner[j].bare.type == AA_SF_STRING && strcmp(il->inner[j].bare.s, n) == 0)
                return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                             "Signature-Input %s: \"%.64s\" is covered twice", s->label, n);
        if (n[0] != '@') {
            size_t lines = count_lines(s->req->headers, n);
            if (lines != 1)
                return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                             "covered header %.64s is %s", n,
                             lines == 0 ? "missing" : "sent on several field lines");
        }
    }
    always[0] = p->comp.method;
    always[1] = p->comp.authority;
    always[2] = p->comp.path;
    always[3] = p->comp.signature_key;
    for (size_t k = 0; k < 4; k++) {
        if (k == 3 && (s->pol->faults & AA_FAULT_SKIP_SIGKEY_COVERAGE))
            continue;
        if (!covered(il, always[k]))
            return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                         "Signature-Input %s does not cover \"%s\" (always required)", s->label,
                         always[k]);
    }
    if (has_q != covered(il, p->comp.query))
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                     has_q ? "the target has a query (\"?\") but \"@query\" is not covered"
                           : "\"@query\" is covered but the target has no \"?\"");
    if (body != covered(il, p->comp.content_type) || body != covered(il, p->comp.content_digest))
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.4",
                     body ? "the request has a body but \"content-type\" and \"content-digest\" "
                            "are not both covered"
                          : "\"content-type\"/\"content-digest\" are covered but there is no "
                            "body");
    if (count_lines(s->req->headers, p->hdr.nonce) > 0 && !covered(il, p->comp.nonce))
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_COVERAGE, "PROFILE#2.9",
                     "a Nonce header is present but \"nonce\" is not covered");
    /* created (PROFILE#2.6, D-6) */
    b = aa_sf_params_get(&il->params, "created");
    if (b == NULL)
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_CREATED, "PROFILE#2.6",
                     "Signature-Input %s has no created parameter (REQUIRED)", s->label);
    if (b->type != AA_SF_INTEGER)
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_CREATED, "RFC9421#2.3",
                     "Signature-Input %s: created is a %s, not an Integer", s->label,
                     aa_sf_type_name(b->type));
    s->created = b->i;
    if (!(s->pol->faults & AA_FAULT_SKIP_CREATED_WINDOW) &&
        (s->now - s->created > skew || s->created - s->now > skew))
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_CREATED, "PROFILE#2.6",
                     "created %lld is %lld s from now (%lld); at most %lld s allowed",
                     (long long)s->created, (long long)(s->created - s->now), (long long)s->now,
                     (long long)skew);
    b = aa_sf_params_get(&il->params, "expires");
    if (b != NULL && (b->type != AA_SF_INTEGER || b->i <= s->now))
        return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_EXPIRES, "PROFILE#2.6",
                     b->type != AA_SF_INTEGER ? "expires is not an Integer"
                                              : "expires %lld is not after now (%lld)",
                     (long long)b->i, (long long)s->now);
    b = aa_sf_params_get(&il->params, "alg");
    if (b != NULL) {
        if (b->type != AA_SF_STRING)
            return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_ALG, "RFC9421#2.3",
                         "alg is not a String");
        if (strcmp(b->s, p->httpsig_alg) != 0)
            return VFAIL(s, 5, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_ALG, "PROFILE#2.6",
                         "alg=\"%.32s\" does not match the key: only %s is supported (D-12)",
                         b->s, p->httpsig_alg);
        s->alg = b->s;
    }
    return AA_OK;
}

/* ---- step 6: Content-Digest and Nonce (PROFILE#2.8, #2.9) ------------------- */

static int step6(struct vstate *s)
{
    const struct aa_profile *p = s->p;
    struct aa_diag d;
    int rc;

    if (s->req->body_len > 0 && !(s->pol->faults & AA_FAULT_SKIP_DIGEST)) {
        struct aa_str v = trim(first_value(s->req->headers, p->hdr.content_digest));
        aa_diag_clear(&d);
        rc = aa_httpsig_verify_digest(v, s->req->body, s->req->body_len,
                                      AA_DIGEST_SHA256 | AA_DIGEST_SHA512, NULL, &d);
        if (rc != AA_OK)
            return vdiag(s, 6, AA_PERR_INVALID_SIGNATURE, rc == AA_E_NOMEM ? rc : AA_E_AAUTH_DIGEST,
                         &d, NULL);
    }
    if (count_lines(s->req->headers, p->hdr.nonce) > 0) {
        s->nonce = trim(first_value(s->req->headers, p->hdr.nonce));
        s->has_nonce = true;
        aa_diag_clear(&d);
        rc = aa_nonce_check(p, s->nonce.p != NULL ? s->nonce.p : "", s->nonce.len, &d);
        if (rc != AA_OK)
            return vdiag(s, 6, AA_PERR_INVALID_SIGNATURE, rc, &d, NULL);
    } else if (strcmp(s->req->method, "POST") == 0 && !s->pol->nonce_optional_on_post) {
        return VFAIL(s, 6, AA_PERR_INVALID_SIGNATURE, AA_E_NONCE_REQUIRED, "PROFILE#2.9",
                     "a signed POST must carry a fresh Nonce (D-10)");
    }
    return AA_OK;
}

/* ---- step 7: key resolution ---------------------------------------------------- */

static int keep_str(char **dst, const char *src)
{
    if (src == NULL)
        return AA_OK;
    *dst = aa_strdup(src);
    return *dst != NULL ? AA_OK : AA_E_NOMEM;
}

static int step7_jwt(struct vstate *s)
{
    const struct aa_profile *p = s->p;
    const char *tok = aa_sigkey_get(&s->sk, p->sk.p_jwt);
    struct aa_token_policy tp;
    struct aa_jwt peek;
    struct aa_aauth_result tr;
    struct aa_diag d;
    bool agent = false, auth = false;
    int rc;

    aa_diag_clear(&d);
    rc = aa_jwt_parse(tok, strlen(tok), &peek, &d);
    if (rc == AA_E_JWS_ALG_NONE && (s->pol->faults & AA_FAULT_ACCEPT_ALG_NONE)) {
        /* only the fault's own reader can open it: treat it as an agent token */
        agent = true;
        memset(&peek, 0, sizeof(peek));
    } else if (rc != AA_OK) {
        return vdiag(s, 7, AA_PERR_INVALID_TOKEN, rc, &d, "Signature-Key jwt");
    } else {
        agent = aa_jwt_check_typ(&peek, p->typ.agent, NULL) == AA_OK;
        auth = aa_jwt_check_typ(&peek, p->typ.auth, NULL) == AA_OK;
        if (!agent && !auth && !(s->pol->faults & AA_FAULT_SKIP_TYP)) {
            rc = VFAIL(s, 7, AA_PERR_INVALID_TOKEN, AA_E_JWT_TYP, "PROFILE#2.3",
                       "Signature-Key jwt has typ \"%.40s\"; expected %s or %s",
                       peek.typ != NULL ? peek.typ : "(none)", p->typ.agent, p->typ.auth);
            aa_jwt_cleanup(&peek);
            return rc;
        }
        if (!agent && !auth)
            agent = true;
    }
    aa_jwt_cleanup(&peek);
    memset(&tp, 0, sizeof(tp));
    tp.profile = p;
    tp.clock = s->pol->clock;
    tp.receiver = s->pol->receiver;
    tp.resolver = s->pol->resolver;
    tp.trusted_issuers = s->pol->trusted_issuers;
    tp.dev_mode = s->pol->dev_mode;
    tp.self_is_agent = s->pol->self_is_agent;
    tp.faults = s->pol->faults;
    rc = auth ? aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &s->id->token, &tr)
              : aa_aauth_validate_agent_token(&tp, tok, strlen(tok), &s->id->token, &tr);
    if (rc != AA_OK) {
        /* keep the token step ("4.3/8") as the most specific position */
        *s->res = tr;
        s->res->step = 7;
        if (s->res->perr != AA_PERR_SERVER_ERROR) {
            s->res->perr = AA_PERR_INVALID_TOKEN;
            s->res->status = aa_perr_status(AA_PERR_INVALID_TOKEN);
        }
        return rc;
    }
    if (tr.dev)
        s->res->dev = true;
    s->id->token_kind = auth ? AA_TOKEN_AUTH : AA_TOKEN_AGENT;
    s->id->token_type = auth ? p->typ.auth : p->typ.agent;
    s->id->level = auth ? AA_AUTH_AUTHORIZED : AA_AUTH_IDENTIFIED;
    if ((rc = keep_str(&s->id->agent, auth ? s->id->token.agent : s->id->token.iss)) != AA_OK ||
        (rc = keep_str(&s->id->delegate, auth ? s->id->token.agent_delegate : s->id->token.sub)) !=
            AA_OK ||
        (rc = aa_jwk_copy(&s->key, &s->id->token.cnf)) != AA_OK)
        return VFAIL(s, 7, AA_PERR_SERVER_ERROR, rc, "PROFILE#2.11", "out of memory");
    s->have_key = true;
    return AA_OK;
}

static bool kid_unknown(int rc)
{
    return rc == AA_E_DISC_KID_UNKNOWN || rc == AA_E_JWKS_KID_UNKNOWN;
}

static int step7(struct vstate *s)
{
    const struct aa_profile *p = s->p;
    const struct aa_key_resolver *r = s->pol->resolver;
    struct aa_diag d;
    int rc = AA_OK;

    s->id->scheme = s->sk.scheme;
    s->id->jwks_mode = s->sk.jwks_mode;
    s->id->level = AA_AUTH_PSEUDONYMOUS;
    if (s->pol->fixed_key != NULL) {
        rc = aa_jwk_copy(&s->key, s->pol->fixed_key);
        if (rc != AA_OK)
            return VFAIL(s, 7, AA_PERR_SERVER_ERROR, rc, "PROFILE#2.11", "key copy failed");
        s->have_key = true;
        goto key_type;
    }
    aa_diag_clear(&d);
    switch (s->sk.scheme) {
    case AA_SIGKEY_HWK:
        rc = aa_sigkey_hwk_key(p, &s->sk, &s->key, &d);
        if (rc != AA_OK)
            return vdiag(s, 7, AA_PERR_INVALID_KEY, rc, &d, NULL);
        break;
    case AA_SIGKEY_JWKS: {
        const char *kid = aa_sigkey_get(&s->sk, p->sk.p_kid);
        if (r == NULL || r->metadata_key == NULL || r->jwks_url_key == NULL)
            return VFAIL(s, 7, AA_PERR_SERVER_ERROR, AA_E_INVAL, "PROFILE#2.11",
                         "verify policy has no key resolver");
        if (s->sk.jwks_mode == 2) {
            const char *idv = aa_sigkey_get(&s->sk, p->sk.p_id);
            const char *wk = aa_sigkey_get(&s->sk, p->sk.p_well_known);
            bool dev = false;
            rc = aa_http_identifier_check(idv, s->pol->dev_mode, &dev, &d);
            if (rc != AA_OK)
                return vdiag(s, 7, AA_PERR_INVALID_KEY, rc, &d, "Signature-Key id");
            if (dev)
                s->res->dev = s->id->dev = true;
            rc = wk != NULL ? r->metadata_key(r->ctx, idv, wk, kid, &s->key, &d)
                            : r->jwks_url_key(r->ctx, idv, kid, &s->key, &d);
            if (rc == AA_OK && ((rc = keep_str(&s->id->agent, idv)) != AA_OK ||
                                (rc = keep_str(&s->id->well_known, wk)) != AA_OK))
                return VFAIL(s, 7, AA_PERR_SERVER_ERROR, rc, "PROFILE#2.11", "out of memory");
            if (rc == AA_OK && wk != NULL &&
                (strcmp(wk, p->wk.agent) == 0 || strcmp(wk, p->wk.resource) == 0))
                s->id->level = AA_AUTH_IDENTIFIED;
        } else {
            const char *url = aa_sigkey_get(&s->sk, p->sk.p_jwks);
            rc = r->jwks_url_key(r->ctx, url, kid, &s->key, &d);
            if (rc == AA_OK && (rc = keep_str(&s->id->jwks_url, url)) != AA_OK)
                return VFAIL(s, 7, AA_PERR_SERVER_ERROR, rc, "PROFILE#2.11", "out of memory");
        }
        if (rc != AA_OK) {
            aa_jwk_cleanup(&s->key);
            return vdiag(s, 7, aa_err_is_fault(rc) ? AA_PERR_SERVER_ERROR : AA_PERR_INVALID_KEY,
                         rc, &d, kid_unknown(rc) ? "Signature-Key kid" : "Signature-Key jwks");
        }
        break;
    }
    case AA_SIGKEY_JWT:
        if ((rc = step7_jwt(s)) != AA_OK)
            return rc;
        break;
    case AA_SIGKEY_X509:
        return VFAIL(s, 7, AA_PERR_INVALID_KEY, AA_E_SIGKEY_UNSUPPORTED, "PROFILE#2.3",
                     "Signature-Key scheme=%s is not supported by this receiver%s", p->sk.x509,
                     s->pol->support_x509 ? " (no x509 resolver is implemented)" : "");
    default:
        return VFAIL(s, 7, AA_PERR_INVALID_KEY, AA_E_SIGKEY_SCHEME, "PROFILE#2.3",
                     "Signature-Key scheme is not supported");
    }
    s->have_key = true;
key_type:
    if (s->key.kty != AA_KTY_OKP || strcmp(s->key.crv, "Ed25519") != 0)
        return VFAIL(s, 7, AA_PERR_INVALID_KEY, AA_E_AAUTH_KEY, "PROFILE#2.10",
                     "the signing key is not Ed25519; v1 verifies only ed25519 (D-12)");
    return AA_OK;
}

/* ---- step 8: base and signature (PROFILE#2.5, #2.7) ------------------------- */

static int make_view(struct vstate *s, struct aa_httpsig_msg *m)
{
    const struct aa_http_headers *h = s->req->headers;
    memset(m, 0, sizeof(*m));
    s->nf = 0;
    for (size_t i = 0; h != NULL && i < h->n; i++) {
        if (h->v[i].raw)
            continue;
        if (s->nf >= MAX_FIELDS)
            return AA_E_LIMIT;
        s->fields[s->nf].name = aa_str_c(h->v[i].name);
        s->fields[s->nf].value = (struct aa_str){h->v[i].value, h->v[i].value_len};
        s->nf++;
    }
    m->method = aa_str_c(s->req->method);
    m->scheme = aa_str_c("https");
    m->authority = aa_str_c(s->authority);
    m->target = aa_str_c(s->req->target);
    m->fields = s->fields;
    m->n_fields = s->nf;
    m->body = s->req->body;
    m->body_len = s->req->body_len;
    return AA_OK;
}

static int step8(struct vstate *s)
{
    struct aa_httpsig_msg m;
    struct aa_diag d;
    int rc;

    s->authority = s->pol->authority;
    if (s->pol->faults & AA_FAULT_AUTHORITY_FROM_HOST) {
        const char *host = aa_http_headers_get(s->req->headers, "Host");
        if (host != NULL)
            s->authority = host;
    }
    if ((rc = make_view(s, &m)) != AA_OK)
        return VFAIL(s, 8, AA_PERR_INVALID_SIGNATURE, rc, "PROFILE#9", "too many header lines");
    aa_diag_clear(&d);
    rc = aa_httpsig_build_base(&m, s->params, 0, &s->base, &d);
    if (rc != AA_OK)
        return vdiag(s, 8, rc == AA_E_NOMEM ? AA_PERR_SERVER_ERROR : AA_PERR_INVALID_SIGNATURE, rc,
                     &d, "signature base");
    rc = aa_crypto_verify(AA_ALG_ED25519, &s->key, (const uint8_t *)s->base.p, s->base.len, s->sig,
                          s->sig_len);
    if (rc == AA_OK)
        return AA_OK;
    if (aa_err_is_fault(rc))
        return VFAIL(s, 8, AA_PERR_SERVER_ERROR, rc, "RFC9421#3.2", "signature verification fault");
    if (s->pol->faults & AA_FAULT_ACCEPT_LEGACY_BASE) {
        struct aa_buf legacy;
        aa_buf_init(&legacy, AA_HTTPSIG_MAX_BASE);
        if (aa_httpsig_build_base(&m, s->params, AA_HTTPSIG_BASE_LEGACY, &legacy, NULL) == AA_OK &&
            aa_crypto_verify(AA_ALG_ED25519, &s->key, (const uint8_t *)legacy.p, legacy.len, s->sig,
                             s->sig_len) == AA_OK) {
            aa_buf_free(&s->base);
            s->base = legacy;
            return AA_OK;
        }
        aa_buf_free(&legacy);
    }
    rc = VFAIL(s, 8, AA_PERR_INVALID_SIGNATURE, AA_E_AAUTH_BADSIG, "RFC9421#3.2",
               "HTTPSig: signature %s not valid over RFC 9421 base (@authority %s)", s->label,
               s->authority);
    {
        /* never changes the outcome: explains it (PROFILE#2.12 S1) */
        struct aa_httpsig_diagnosis dg;
        memset(&dg, 0, sizeof(dg));
        if (aa_httpsig_diagnose(&m, s->input_v, s->sig_v, s->label, &s->key, AA_ALG_ED25519, &dg,
                                NULL) == AA_OK &&
            dg.found) {
            s->res->dialect_found = true;
            aa_snprintf(s->res->dialect, sizeof(s->res->dialect), "%s", dg.text);
        }
    }
    return rc;
}

/* ---- step 9: replay ------------------------------------------------------------ */

static int step9(struct vstate *s, const char *jkt)
{
    struct aa_diag d;
    char nonce[AA_NONCE_MAX_CHARS + 1];
    int rc;

    if (!s->has_nonce || (s->pol->faults & AA_FAULT_SKIP_REPLAY))
        return AA_OK;
    if (s->pol->replay == NULL)
        return VFAIL(s, 9, AA_PERR_SERVER_ERROR, AA_E_INVAL, "PROFILE#2.9",
                     "a Nonce arrived but the verify policy has no replay cache");
    memcpy(nonce, s->nonce.p, s->nonce.len); /* length checked at step 6 */
    nonce[s->nonce.len] = '\0';
    aa_diag_clear(&d);
    rc = aa_nonce_cache_check_and_store(s->pol->replay, s->pol->authority, jkt, nonce, s->created,
                                        &d);
    if (rc == AA_E_NONCE_REPLAY)
        return vdiag(s, 9, AA_PERR_REPLAY_DETECTED, rc, &d, NULL);
    if (rc == AA_E_NONCE_CACHE_FULL)
        return vdiag(s, 9, AA_PERR_TEMPORARILY_UNAVAILABLE, rc, &d, NULL);
    if (rc != AA_OK)
        return vdiag(s, 9, AA_PERR_SERVER_ERROR, rc, &d, NULL);
    return AA_OK;
}

/* ---- the procedure ------------------------------------------------------------- */

int aa_aauth_verify(const struct aa_verify_policy *pol, const struct aa_verify_request *req,
                    struct aa_identity *id, struct aa_aauth_result *res)
{
    struct vstate *s;
    int rc;

    if (res == NULL)
        return AA_E_INVAL;
    aa_aauth_result_init(res);
    if (id != NULL)
        memset(id, 0, sizeof(*id));
    if (pol == NULL || req == NULL || id == NULL || req->method == NULL || req->target == NULL ||
        pol->authority == NULL || (req->body == NULL && req->body_len > 0))
        return aauth_res(res, SECT, 0, AA_PERR_SERVER_ERROR, 0, AA_E_INVAL, "PROFILE#2.11",
                         "aa_aauth_verify: missing policy, request, identity or authority");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return aauth_res(res, SECT, 0, AA_PERR_SERVER_ERROR, 0, AA_E_NOMEM, "PROFILE#2.11",
                         "out of memory");
    s->pol = pol;
    s->p = pol->profile != NULL ? pol->profile : aa_profile_default();
    s->req = req;
    s->res = res;
    s->id = id;
    s->now = aa_clock_now(&pol->clock);
    aa_buf_init(&s->base, AA_HTTPSIG_MAX_BASE);

    if ((rc = step1(s)) != AA_OK || (rc = step2(s)) != AA_OK || (rc = step3(s)) != AA_OK ||
        (rc = step4(s)) != AA_OK || (rc = step5(s)) != AA_OK || (rc = step6(s)) != AA_OK ||
        (rc = step7(s)) != AA_OK || (rc = step8(s)) != AA_OK)
        goto out;
    if ((rc = aa_jwk_public(&id->key, &s->key)) != AA_OK ||
        (rc = aa_jwk_thumbprint(&id->key, id->thumbprint)) != AA_OK) {
        rc = VFAIL(s, 8, AA_PERR_SERVER_ERROR, rc, "RFC7638#3", "key copy/thumbprint failed");
        goto out;
    }
    if ((rc = step9(s, id->thumbprint)) != AA_OK)
        goto out;
    id->created = s->created;
    id->dev = id->dev || res->dev;
    id->label = s->label;
    s->label = NULL;
    if (s->has_nonce && (id->nonce = aa_strndup(s->nonce.p, s->nonce.len)) == NULL)
        rc = AA_E_NOMEM;
    if (rc == AA_OK && (id->base = aa_buf_detach(&s->base, &id->base_len)) == NULL)
        rc = AA_E_NOMEM;
    if (rc != AA_OK)
        rc = VFAIL(s, 9, AA_PERR_SERVER_ERROR, rc, "PROFILE#2.11", "out of memory");
out:
    if (rc != AA_OK)
        aa_identity_cleanup(id);
    if (s->base.p != NULL)
        aa_cleanse(s->base.p, s->base.len);
    aa_buf_free(&s->base);
    aa_jwk_cleanup(&s->key);
    aa_sigkey_cleanup(&s->sk);
    aa_sf_dict_free(&s->input);
    free(s->label);
    aa_cleanse(s->sig, sizeof(s->sig));
    free(s);
    return rc;
}

int aa_aauth_diagnose(const struct aa_verify_request *req, const char *authority,
                      const struct aa_jwk *key, struct aa_aauth_result *res)
{
    struct vstate *s;
    struct aa_httpsig_msg m;
    struct aa_httpsig_diagnosis dg;
    struct aa_verify_policy pol;
    struct aa_diag d;
    int rc;

    if (res == NULL)
        return AA_E_INVAL;
    aa_aauth_result_init(res);
    if (req == NULL || authority == NULL || key == NULL || req->method == NULL ||
        req->target == NULL)
        return AA_E_INVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return AA_E_NOMEM;
    memset(&pol, 0, sizeof(pol));
    pol.authority = authority;
    s->pol = &pol;
    s->p = aa_profile_default();
    s->req = req;
    s->res = res;
    s->authority = authority;
    s->input_v = trim(first_value(req->headers, s->p->hdr.signature_input));
    s->sig_v = trim(first_value(req->headers, s->p->hdr.signature));
    rc = make_view(s, &m);
    if (rc == AA_OK) {
        memset(&dg, 0, sizeof(dg));
        aa_diag_clear(&d);
        rc = aa_httpsig_diagnose(&m, s->input_v, s->sig_v, NULL, key, AA_ALG_NONE, &dg, &d);
        if (rc == AA_OK) {
            res->dialect_found = dg.found;
            aa_snprintf(res->dialect, sizeof(res->dialect), "%s", dg.text);
        } else {
            res->diag = d;
        }
    }
    free(s);
    return rc;
}
