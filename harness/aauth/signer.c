/*
 * signer.c: AAuth request signing (PROFILE#2.4-#2.8) over aa_httpsig.
 *
 * Design choice: the signer owns the pipeline (components -> parameters
 * Inner List -> base -> raw signature -> header text) instead of calling
 * aa_httpsig_sign(), so each diagnostic variant is one small edit at the
 * stage it concerns and the rest of the request stays valid.
 */
#include "aa_signer.h"

#include <stdlib.h>
#include <string.h>

#include "../b64/aa_b64.h"
#include "../httpsig/aa_httpsig.h"
#include "../sf/aa_sf.h"
#include "aa_aauth.h"

/* aa_strerror() reaches aa_aauth_strerror() through a weak reference, which
 * does not pull aauth.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_aauth_strerror};

#define MAX_COMPONENTS 64
#define MAX_FIELDS 256
#define REF_SIGNER "PROFILE#2.4"

void aa_signed_cleanup(struct aa_signed *s)
{
    if (s == NULL)
        return;
    aa_http_headers_cleanup(&s->headers);
    if (s->base != NULL) {
        aa_cleanse(s->base, s->base_len);
        free(s->base);
    }
    free(s->signature_input);
    free(s->signature);
    free(s->signature_key);
    free(s->nonce);
    free(s->content_digest);
    memset(s, 0, sizeof(*s));
}

static const struct {
    const char *name;
    unsigned bit;
} variant_names[] = {
    {"legacy-base", AA_SIGN_V_LEGACY_BASE},
    {"query-no-qmark", AA_SIGN_V_QUERY_NO_QMARK},
    {"sig-b64url", AA_SIGN_V_SIG_B64URL},
    {"sig-string", AA_SIGN_V_SIG_STRING},
    {"sig-truncate", AA_SIGN_V_SIG_TRUNCATE},
    {"sig-flip-bit", AA_SIGN_V_SIG_FLIP_BIT},
    {"no-created", AA_SIGN_V_NO_CREATED},
    {"created-decimal", AA_SIGN_V_CREATED_DECIMAL},
    {"created-string", AA_SIGN_V_CREATED_STRING},
    {"bad-digest", AA_SIGN_V_BAD_DIGEST},
    {"unknown-digest", AA_SIGN_V_UNKNOWN_DIGEST},
    {"two-members-input", AA_SIGN_V_TWO_MEMBERS_INPUT},
    {"two-members-sig", AA_SIGN_V_TWO_MEMBERS_SIG},
    {"two-members-key", AA_SIGN_V_TWO_MEMBERS_KEY},
    {"dup-line-input", AA_SIGN_V_DUP_LINE_INPUT},
    {"dup-line-sig", AA_SIGN_V_DUP_LINE_SIG},
    {"dup-line-key", AA_SIGN_V_DUP_LINE_KEY},
    {"omit-input", AA_SIGN_V_OMIT_INPUT},
    {"omit-sig", AA_SIGN_V_OMIT_SIG},
    {"omit-key", AA_SIGN_V_OMIT_KEY},
    {"unsignable-ok", AA_SIGN_V_UNSIGNABLE_OK},
};

unsigned aa_sign_variant_from_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(variant_names) / sizeof(variant_names[0]); i++)
        if (strcmp(variant_names[i].name, name) == 0)
            return variant_names[i].bit;
    return 0;
}

static bool in_list(const char *const *list, const char *name)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static bool header_present(const struct aa_http_headers *h, const char *name)
{
    return h != NULL && aa_http_headers_get(h, name) != NULL;
}

/* A label other than |label| for the second member of SIG-06 variants. */
static const char *other_label(const char *label)
{
    return strcmp(label, "sig2") == 0 ? "sig3" : "sig2";
}

/* Build the Signature-Key value (canonical, or the raw override). */
static int sigkey_value(const struct aa_profile *p, const struct aa_sign_cred *cred,
                        const struct aa_jwk *key, const char *label, unsigned variants,
                        struct aa_buf *out, struct aa_diag *d)
{
    struct aa_sigkey sk;
    int rc;

    if (cred->raw_signature_key != NULL) {
        aa_buf_adds(out, cred->raw_signature_key);
        return out->err;
    }
    memset(&sk, 0, sizeof(sk));
    switch (cred->scheme) {
    case AA_SIGKEY_HWK:
        rc = aa_sigkey_init_hwk(&sk, p, label, key);
        break;
    case AA_SIGKEY_JWKS:
        if (cred->kid == NULL || (cred->id == NULL) == (cred->jwks_url == NULL))
            return aa_fail(d, AA_E_SIGNER_INPUT, "PROFILE#2.3",
                           "signer: jwks needs kid and exactly one of id / jwks_url");
        rc = cred->id != NULL
                 ? aa_sigkey_init_jwks(&sk, p, label, cred->id, cred->kid, cred->well_known)
                 : aa_sigkey_init_jwks_uri(&sk, p, label, cred->jwks_url, cred->kid);
        break;
    case AA_SIGKEY_JWT:
        if (cred->token == NULL)
            return aa_fail(d, AA_E_SIGNER_INPUT, "PROFILE#2.3", "signer: jwt needs a token");
        rc = aa_sigkey_init_jwt(&sk, p, label, cred->token);
        break;
    case AA_SIGKEY_X509:
        if (cred->x5u == NULL || cred->x5t == NULL)
            return aa_fail(d, AA_E_SIGNER_INPUT, "PROFILE#2.3", "signer: x509 needs x5u, x5t");
        rc = aa_sigkey_init_x509(&sk, p, label, cred->x5u, cred->x5t);
        break;
    default:
        return aa_fail(d, AA_E_SIGNER_INPUT, "PROFILE#2.3", "signer: no Signature-Key scheme");
    }
    if (rc != AA_OK)
        return rc == AA_E_INVAL ? aa_fail(d, AA_E_SIGNER_INPUT, "PROFILE#2.3",
                                          "signer: credential cannot be expressed")
                                : rc;
    rc = aa_sigkey_serialize_ex(p, &sk, cred->sigkey_ser_flags, out);
    if (rc == AA_OK && (variants & AA_SIGN_V_TWO_MEMBERS_KEY)) {
        size_t start = out->len, eq;
        aa_buf_adds(out, ", ");
        rc = aa_sigkey_serialize_ex(p, &sk, cred->sigkey_ser_flags, out);
        /* rename the copy's label */
        if (rc == AA_OK) {
            struct aa_buf t;
            const char *copy = out->p + start + 2;
            eq = strcspn(copy, "=");
            aa_buf_init(&t, out->max);
            aa_buf_add(&t, out->p, start + 2);
            aa_buf_adds(&t, other_label(label));
            aa_buf_adds(&t, copy + eq);
            aa_buf_free(out);
            *out = t;
            rc = out->err;
        }
    }
    aa_sigkey_cleanup(&sk);
    if (rc == AA_E_INVAL)
        return aa_fail(d, AA_E_SIGNER_INPUT, "PROFILE#2.1",
                       "signer: Signature-Key value has bytes no sf-string can carry");
    return rc;
}

/* Content-Digest for the signer, or a deliberately wrong one. */
static int digest_value(const void *body, size_t n, unsigned variants, struct aa_buf *out)
{
    if (variants & AA_SIGN_V_UNKNOWN_DIGEST) {
        /* sha-1 is not a digest receivers support (RFC 9530 deprecates it) */
        uint8_t z[20];
        memset(z, 0, sizeof(z));
        aa_buf_adds(out, "sha-1=:");
        aa_b64_encode_buf(z, sizeof(z), AA_B64_STD, true, out);
        aa_buf_addc(out, ':');
        return out->err;
    }
    if (variants & AA_SIGN_V_BAD_DIGEST) {
        struct aa_buf other;
        int rc;
        aa_buf_init(&other, n + 2);
        aa_buf_add(&other, body, n);
        aa_buf_addc(&other, 'x');
        rc = other.err != 0 ? other.err
                            : aa_httpsig_create_digest(other.p, other.len, AA_DIGEST_SHA256, out);
        aa_buf_free(&other);
        return rc;
    }
    return aa_httpsig_create_digest(body, n, AA_DIGEST_SHA256, out);
}

static int replace_created(struct aa_sf_item *il, unsigned variants, int64_t created)
{
    char txt[32];
    for (size_t i = 0; i < il->params.n; i++) {
        struct aa_sf_bare *b = &il->params.v[i].value;
        if (strcmp(il->params.v[i].key, "created") != 0)
            continue;
        aa_sf_bare_free(b);
        if (variants & AA_SIGN_V_CREATED_DECIMAL) {
            memset(b, 0, sizeof(*b));
            b->type = AA_SF_DECIMAL;
            b->i = created * 1000;
            return AA_OK;
        }
        if (aa_snprintf(txt, sizeof(txt), "%lld", (long long)created) != AA_OK)
            return AA_E_INTERNAL;
        return aa_sf_bare_string(b, txt, strlen(txt));
    }
    return AA_E_INTERNAL;
}

/* "label=" + encoded signature bytes per the variants. */
static int signature_value(const char *label, const uint8_t *sig, size_t n, unsigned variants,
                           struct aa_buf *out)
{
    aa_buf_adds(out, label);
    aa_buf_addc(out, '=');
    if (variants & AA_SIGN_V_SIG_STRING) {
        aa_buf_addc(out, '"');
        aa_b64_encode_buf(sig, n, AA_B64_STD, true, out);
        aa_buf_addc(out, '"');
    } else if (variants & AA_SIGN_V_SIG_B64URL) {
        aa_buf_addc(out, ':');
        aa_b64_encode_buf(sig, n, AA_B64_URL, false, out);
        aa_buf_addc(out, ':');
    } else {
        aa_buf_addc(out, ':');
        aa_b64_encode_buf(sig, n, AA_B64_STD, true, out);
        aa_buf_addc(out, ':');
    }
    return out->err;
}

static int emit(struct aa_signed *out, const char *name, const char *value, bool twice)
{
    int rc = aa_http_headers_add(&out->headers, name, value);
    if (rc == AA_OK && twice)
        rc = aa_http_headers_add(&out->headers, name, value);
    return rc;
}

static int keep(char **dst, const char *src)
{
    if (src == NULL)
        return AA_OK;
    *dst = aa_strdup(src);
    return *dst != NULL ? AA_OK : AA_E_NOMEM;
}

int aa_aauth_sign(const struct aa_profile *p, const struct aa_sign_request *req,
                  const struct aa_jwk *key, const struct aa_sign_cred *cred,
                  const struct aa_sign_opts *opts_in, struct aa_signed *out, struct aa_diag *d)
{
    static const struct aa_sign_opts zero_opts;
    const struct aa_sign_opts *o = opts_in != NULL ? opts_in : &zero_opts;
    struct aa_url u;
    struct aa_buf target, skv, cdv, inv, sigv, base;
    struct aa_httpsig_field fields[MAX_FIELDS];
    struct aa_httpsig_component comps[MAX_COMPONENTS];
    const char *names[MAX_COMPONENTS];
    size_t nf = 0, nc = 0;
    struct aa_httpsig_params params;
    struct aa_httpsig_msg m;
    struct aa_sf_item il;
    uint8_t sig[AA_CRYPTO_SIG_MAX];
    size_t siglen = 0;
    const char *label, *in_label, *sig_label, *key_label, *nonce = NULL;
    char nonce_gen[AA_NONCE_GEN_LEN + 1];
    bool is_post, has_query, https = false, own_digest = false;
    int64_t created;
    unsigned v = o->variants;
    enum aa_alg alg;
    int rc = AA_OK;

    if (out == NULL)
        return AA_E_INVAL;
    memset(out, 0, sizeof(*out));
    aa_http_headers_init(&out->headers);
    if (req == NULL || key == NULL || cred == NULL || req->method == NULL ||
        (req->body == NULL && req->body_len > 0))
        return AA_E_INVAL;
    if (!key->is_private)
        return aa_fail(d, AA_E_INVAL, REF_SIGNER, "signer: key %s has no private half", key->kid);
    p = p != NULL ? p : aa_profile_default();
    label = o->label != NULL ? o->label : p->default_label;
    in_label = o->input_label != NULL ? o->input_label : label;
    sig_label = o->signature_label != NULL ? o->signature_label : label;
    key_label = o->key_label != NULL ? o->key_label : label;

    aa_buf_init(&target, AA_URL_MAX_LEN + 1);
    aa_buf_init(&skv, 64 * 1024);
    aa_buf_init(&cdv, 4096);
    aa_buf_init(&inv, 64 * 1024);
    aa_buf_init(&sigv, 8192);
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    memset(&il, 0, sizeof(il));
    memset(&params, 0, sizeof(params));
    memset(&m, 0, sizeof(m));

    /* ---- where: authority and target -------------------------------- */
    if (req->url != NULL) {
        rc = aa_url_parse(req->url, strlen(req->url), 0, &u, d);
        if (rc != AA_OK) {
            /* keep the URL parser's citation and message, reclassify */
            if (d != NULL)
                d->code = AA_E_SIGNER_INPUT;
            rc = AA_E_SIGNER_INPUT;
            goto out;
        }
        https = u.https;
        if ((rc = aa_url_authority(&u, out->authority, sizeof(out->authority))) != AA_OK ||
            (rc = aa_url_target(&u, &target)) != AA_OK)
            goto out;
    } else if (req->authority == NULL || req->target == NULL) {
        rc = aa_fail(d, AA_E_SIGNER_INPUT, REF_SIGNER,
                     "signer: give a URL or an authority and a target");
        goto out;
    }
    if (req->authority != NULL &&
        (rc = aa_snprintf(out->authority, sizeof(out->authority), "%s", req->authority)) != AA_OK)
        goto out;
    if (req->target != NULL) {
        aa_buf_reset(&target);
        aa_buf_adds(&target, req->target);
    }
    if (target.err != 0 || target.p == NULL || target.p[0] == '\0') {
        rc = target.err != 0 ? target.err
                             : aa_fail(d, AA_E_SIGNER_INPUT, REF_SIGNER, "signer: empty target");
        goto out;
    }
    has_query = strchr(target.p, '?') != NULL;
    is_post = strcmp(req->method, "POST") == 0;

    /* ---- headers the signer adds ------------------------------------ */
    if (req->body_len > 0 && !header_present(req->headers, p->hdr.content_type) &&
        !in_list(o->omit, p->comp.content_type) && o->components == NULL) {
        rc = aa_fail(d, AA_E_SIGNER_INPUT, REF_SIGNER,
                     "signer: a request with a body needs a Content-Type header");
        goto out;
    }
    if (req->body_len > 0 && !header_present(req->headers, p->hdr.content_digest)) {
        if ((rc = digest_value(req->body, req->body_len, v, &cdv)) != AA_OK)
            goto out;
        own_digest = true;
    }
    switch (o->nonce_mode) {
    case AA_SIGN_NONCE_AUTO:
    case AA_SIGN_NONCE_ALWAYS:
        if (o->nonce_mode == AA_SIGN_NONCE_ALWAYS || is_post) {
            if ((rc = aa_nonce_generate(nonce_gen)) != AA_OK)
                goto out;
            nonce = nonce_gen;
        }
        break;
    case AA_SIGN_NONCE_GIVEN:
        if (o->nonce == NULL) {
            rc = aa_fail(d, AA_E_SIGNER_INPUT, "PROFILE#2.9", "signer: nonce mode GIVEN, no nonce");
            goto out;
        }
        nonce = o->nonce;
        break;
    case AA_SIGN_NONCE_NONE:
        break;
    }
    if ((rc = sigkey_value(p, cred, key, key_label, v, &skv, d)) != AA_OK)
        goto out;

    /* ---- the message view ------------------------------------------- */
    for (size_t i = 0; req->headers != NULL && i < req->headers->n; i++) {
        const struct aa_http_header *h = &req->headers->v[i];
        if (h->raw)
            continue;
        if (nf >= MAX_FIELDS - 6) {
            rc = aa_fail(d, AA_E_LIMIT, REF_SIGNER, "signer: too many headers");
            goto out;
        }
        fields[nf].name = aa_str_c(h->name);
        fields[nf].value.p = h->value;
        fields[nf].value.len = h->value_len;
        nf++;
    }
    if (own_digest) {
        fields[nf].name = aa_str_c(p->hdr.content_digest);
        fields[nf++].value = (struct aa_str){cdv.p, cdv.len};
    }
    if (nonce != NULL) {
        fields[nf].name = aa_str_c(p->hdr.nonce);
        fields[nf++].value = aa_str_c(nonce);
    }
    /* signed as if sent even with AA_SIGN_V_OMIT_KEY: only emission differs */
    fields[nf].name = aa_str_c(p->hdr.signature_key);
    fields[nf++].value = (struct aa_str){skv.p, skv.len};
    if (v & AA_SIGN_V_DUP_LINE_KEY) {
        fields[nf].name = aa_str_c(p->hdr.signature_key);
        fields[nf++].value = (struct aa_str){skv.p, skv.len};
    }
    m.method = aa_str_c(req->method);
    m.scheme = aa_str_c(https ? "https" : "http");
    m.authority = aa_str_c(out->authority);
    m.target = (struct aa_str){target.p, target.len};
    m.fields = fields;
    m.n_fields = nf;
    m.body = req->body;
    m.body_len = req->body_len;

    /* ---- covered components (PROFILE#2.4 signer order) --------------- */
    if (o->components != NULL) {
        for (size_t i = 0; o->components[i] != NULL && nc < MAX_COMPONENTS; i++)
            names[nc++] = o->components[i];
    } else {
        const char *computed[MAX_COMPONENTS];
        size_t n = 0;
        computed[n++] = p->comp.method;
        computed[n++] = p->comp.authority;
        computed[n++] = p->comp.path;
        if (has_query)
            computed[n++] = p->comp.query;
        if (req->body_len > 0) {
            computed[n++] = p->comp.content_type;
            computed[n++] = p->comp.content_digest;
        }
        if (nonce != NULL)
            computed[n++] = p->comp.nonce;
        for (size_t i = 0; o->extra_covered != NULL && o->extra_covered[i] != NULL; i++) {
            if (!header_present(req->headers, o->extra_covered[i])) {
                rc = aa_fail(d, AA_E_SIGNER_INPUT, REF_SIGNER,
                             "signer: extra covered header %s is not in the request",
                             o->extra_covered[i]);
                goto out;
            }
            if (n < MAX_COMPONENTS - 2)
                computed[n++] = o->extra_covered[i];
        }
        computed[n++] = p->comp.signature_key;
        for (size_t i = 0; i < n; i++)
            if (!in_list(o->omit, computed[i]))
                names[nc++] = computed[i];
        for (size_t i = 0; o->append != NULL && o->append[i] != NULL && nc < MAX_COMPONENTS; i++)
            names[nc++] = o->append[i];
    }
    for (size_t i = 0; i < nc; i++) {
        memset(&comps[i], 0, sizeof(comps[i]));
        comps[i].name = names[i];
        if (in_list(o->sf_components, names[i]))
            comps[i].flags = AA_HTTPSIG_C_SF;
    }

    /* ---- parameters --------------------------------------------------- */
    created = aa_clock_now(o->clock) + o->created_offset;
    out->created = created;
    if (!(v & AA_SIGN_V_NO_CREATED)) {
        params.has_created = true;
        params.created = created;
    }
    if (o->has_expires) {
        params.has_expires = true;
        params.expires = created + o->expires_offset;
    }
    if (o->alg != NULL) {
        if ((rc = aa_httpsig_params_set(&params, "alg", o->alg)) != AA_OK)
            goto out;
        params.has_alg = true;
    }
    if ((rc = aa_httpsig_make_params(comps, nc, &params, &il, d)) != AA_OK)
        goto out;
    if ((v & (AA_SIGN_V_CREATED_DECIMAL | AA_SIGN_V_CREATED_STRING)) && params.has_created &&
        (rc = replace_created(&il, v, created)) != AA_OK)
        goto out;
    aa_buf_adds(&inv, in_label);
    aa_buf_addc(&inv, '=');
    if ((rc = aa_sf_serialize_inner_list(&il, &inv, d)) != AA_OK)
        goto out;

    /* ---- base and signature ------------------------------------------ */
    {
        unsigned bf = 0;
        if (v & AA_SIGN_V_LEGACY_BASE)
            bf |= AA_HTTPSIG_BASE_LEGACY;
        if (v & AA_SIGN_V_QUERY_NO_QMARK)
            bf |= AA_HTTPSIG_BASE_QUERY_NO_QMARK;
        rc = aa_httpsig_build_base(&m, &il, bf, &base, d);
        if (rc != AA_OK && rc != AA_E_NOMEM && (v & AA_SIGN_V_UNSIGNABLE_OK)) {
            aa_buf_free(&base);
            aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
            aa_buf_add(&base, inv.p, inv.len);
            rc = base.err;
        }
        if (rc != AA_OK)
            goto out;
    }
    alg = aa_alg_default_for(key, true);
    rc = aa_crypto_sign(alg, key, (const uint8_t *)base.p, base.len, sig, sizeof(sig), &siglen);
    if (rc != AA_OK)
        goto out;
    if ((v & AA_SIGN_V_SIG_FLIP_BIT) && siglen > 0)
        sig[siglen / 2] ^= 0x01;
    if ((v & AA_SIGN_V_SIG_TRUNCATE) && siglen > 0)
        siglen--;
    if ((rc = signature_value(sig_label, sig, siglen, v, &sigv)) != AA_OK)
        goto out;
    if (v & AA_SIGN_V_TWO_MEMBERS_SIG) {
        aa_buf_adds(&sigv, ", ");
        if ((rc = signature_value(other_label(sig_label), sig, siglen, v, &sigv)) != AA_OK)
            goto out;
    }
    if (v & AA_SIGN_V_TWO_MEMBERS_INPUT) {
        aa_buf_adds(&inv, ", ");
        aa_buf_adds(&inv, other_label(in_label));
        aa_buf_addc(&inv, '=');
        if ((rc = aa_sf_serialize_inner_list(&il, &inv, d)) != AA_OK)
            goto out;
    }
    if (inv.err != 0 || sigv.err != 0) {
        rc = inv.err != 0 ? inv.err : sigv.err;
        goto out;
    }

    /* ---- output ------------------------------------------------------- */
    if ((own_digest && (rc = emit(out, p->hdr.content_digest, cdv.p, false)) != AA_OK) ||
        (nonce != NULL && (rc = emit(out, p->hdr.nonce, nonce, false)) != AA_OK) ||
        (!(v & AA_SIGN_V_OMIT_INPUT) &&
         (rc = emit(out, p->hdr.signature_input, inv.p, v & AA_SIGN_V_DUP_LINE_INPUT)) != AA_OK) ||
        (!(v & AA_SIGN_V_OMIT_SIG) &&
         (rc = emit(out, p->hdr.signature, sigv.p, v & AA_SIGN_V_DUP_LINE_SIG)) != AA_OK) ||
        (!(v & AA_SIGN_V_OMIT_KEY) &&
         (rc = emit(out, p->hdr.signature_key, skv.p, v & AA_SIGN_V_DUP_LINE_KEY)) != AA_OK))
        goto out;
    if ((rc = keep(&out->signature_input, inv.p)) != AA_OK ||
        (rc = keep(&out->signature, sigv.p)) != AA_OK ||
        (rc = keep(&out->signature_key, skv.p)) != AA_OK || (rc = keep(&out->nonce, nonce)) != AA_OK ||
        (rc = keep(&out->content_digest, own_digest ? cdv.p : NULL)) != AA_OK)
        goto out;
    out->base = aa_buf_detach(&base, &out->base_len);
    if (out->base == NULL)
        rc = AA_E_NOMEM;
out:
    aa_cleanse(sig, sizeof(sig));
    if (base.p != NULL)
        aa_cleanse(base.p, base.len);
    aa_buf_free(&base);
    aa_buf_free(&target);
    aa_buf_free(&skv);
    aa_buf_free(&cdv);
    aa_buf_free(&inv);
    aa_buf_free(&sigv);
    aa_sf_item_free(&il);
    if (rc != AA_OK) {
        int64_t keep_created = out->created;
        aa_signed_cleanup(out);
        aa_http_headers_init(&out->headers);
        out->created = keep_created;
    }
    return rc;
}
