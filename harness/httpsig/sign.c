/*
 * RFC 9421 §3: creating and verifying signatures, plus the dialect
 * diagnosis used by the conformance runner.
 *
 * Design choice: verification is one fixed sequence of named steps
 * (AA_HTTPSIG_STEP_*), so every failure says where it happened; the
 * diagnosis reuses the same base builder with the dialect flags and is
 * kept apart from verification so that it can never make a signature
 * pass.
 */
#include "httpsig_int.h"

#include <string.h>

#include "../b64/aa_b64.h"

/* aa_strerror() reaches aa_httpsig_strerror() through a weak reference, which
 * does not pull components.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_httpsig_strerror};

/* ---- algorithms ----------------------------------------------------------- */

static bool httpsig_alg(enum aa_alg a)
{
    return a == AA_ALG_ED25519 || a == AA_ALG_ES256 || a == AA_ALG_RS256 || a == AA_ALG_PS512;
}

/* RFC 9421 names; hmac-sha256 is known but not supported (see header). */
static int alg_by_name(const char *name, enum aa_alg *out, struct aa_diag *d)
{
    enum aa_alg a;

    if (strcmp(name, "hmac-sha256") == 0)
        return aa_fail(d, AA_E_HTTPSIG_ALG_UNSUPPORTED, "RFC9421#3.3.3",
                       "alg \"hmac-sha256\": symmetric signatures are not supported "
                       "(base construction only)");
    a = aa_alg_from_httpsig(name);
    if (!httpsig_alg(a))
        return aa_fail(d, AA_E_HTTPSIG_ALG_UNKNOWN, "RFC9421#6.2",
                       "alg \"%s\" is not an HTTP Message Signature algorithm", name);
    *out = a;
    return AA_OK;
}

static const char *alg_label(enum aa_alg a)
{
    const char *n = aa_alg_httpsig_name(a);
    return n ? n : "unknown";
}

static const char *key_label(const struct aa_jwk *k)
{
    switch (k->kty) {
    case AA_KTY_OKP:
        return k->crv[0] ? k->crv : "OKP";
    case AA_KTY_EC:
        return k->crv[0] ? k->crv : "EC";
    case AA_KTY_RSA:
        return "RSA";
    default:
        return "unknown";
    }
}

/* Signatures of fixed size (RFC9421#3.3.4, #3.3.6); RSA is left to the
 * primitive, whose length check depends on the modulus. */
static size_t fixed_sig_len(enum aa_alg a)
{
    return (a == AA_ALG_ED25519 || a == AA_ALG_ES256) ? 64 : 0;
}

/* ---- signature parameters -------------------------------------------------- */

static int add_flag(struct aa_sf_params *ps, const char *key)
{
    struct aa_sf_bare b = {0};
    int rc;

    aa_sf_bare_boolean(&b, true);
    rc = aa_sf_params_add(ps, key, &b);
    if (rc != AA_OK)
        aa_sf_bare_free(&b);
    return rc;
}

static int add_string(struct aa_sf_params *ps, const char *key, const char *v)
{
    struct aa_sf_bare b = {0};
    int rc = aa_sf_bare_string(&b, v, strlen(v));

    if (rc == AA_OK)
        rc = aa_sf_params_add(ps, key, &b);
    if (rc != AA_OK)
        aa_sf_bare_free(&b);
    return rc;
}

static int add_integer(struct aa_sf_params *ps, const char *key, int64_t v)
{
    struct aa_sf_bare b = {0};
    int rc;

    aa_sf_bare_integer(&b, v);
    rc = aa_sf_params_add(ps, key, &b);
    if (rc != AA_OK)
        aa_sf_bare_free(&b);
    return rc;
}

static int add_sig_param(struct aa_sf_params *ps, const struct aa_httpsig_params *p,
                         const char *name, size_t len, unsigned *done, struct aa_diag *d)
{
    static const char *const names[] = {"created", "expires", "nonce", "alg", "keyid", "tag"};
    size_t k;

    for (k = 0; k < 6; k++)
        if (strlen(names[k]) == len && memcmp(names[k], name, len) == 0)
            break;
    if (k == 6)
        return aa_fail(d, AA_E_HTTPSIG_PARAM_TYPE, "RFC9421#2.3",
                       "parameter order names unknown parameter \"%.*s\"", (int)len, name);
    if (*done & (1u << k))
        return AA_OK;
    *done |= 1u << k;
    switch (k) {
    case 0:
        return p->has_created ? add_integer(ps, "created", p->created) : AA_OK;
    case 1:
        return p->has_expires ? add_integer(ps, "expires", p->expires) : AA_OK;
    case 2:
        return p->has_nonce ? add_string(ps, "nonce", p->nonce) : AA_OK;
    case 3:
        return p->has_alg ? add_string(ps, "alg", p->alg) : AA_OK;
    case 4:
        return p->has_keyid ? add_string(ps, "keyid", p->keyid) : AA_OK;
    default:
        return p->has_tag ? add_string(ps, "tag", p->tag) : AA_OK;
    }
}

int aa_httpsig_make_params(const struct aa_httpsig_component *comps, size_t n,
                           const struct aa_httpsig_params *p, struct aa_sf_item *out,
                           struct aa_diag *d)
{
    static const char deflt[] = "created,expires,nonce,alg,keyid,tag";
    unsigned done = 0;
    int rc = AA_OK;

    if (out == NULL || (n > 0 && comps == NULL))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_make_params: NULL argument");
    memset(out, 0, sizeof(*out));
    out->bare.type = AA_SF_INNER_LIST;
    if (n > AA_HTTPSIG_MAX_COMPONENTS)
        return aa_fail(d, AA_E_LIMIT, "RFC9421#2.5", "%zu covered components (limit %d)", n,
                       AA_HTTPSIG_MAX_COMPONENTS);
    for (size_t i = 0; i < n && rc == AA_OK; i++) {
        const struct aa_httpsig_component *c = &comps[i];
        struct aa_sf_item it = {0};

        if (c->name == NULL) {
            rc = aa_fail(d, AA_E_INVAL, NULL, "component %zu has no name", i + 1);
            break;
        }
        rc = aa_sf_bare_string(&it.bare, c->name, strlen(c->name));
        if (rc == AA_OK && (c->flags & AA_HTTPSIG_C_REQ))
            rc = add_flag(&it.params, "req");
        if (rc == AA_OK && c->key != NULL)
            rc = add_string(&it.params, "key", c->key);
        if (rc == AA_OK && c->qname != NULL)
            rc = add_string(&it.params, "name", c->qname);
        if (rc == AA_OK && (c->flags & AA_HTTPSIG_C_SF))
            rc = add_flag(&it.params, "sf");
        if (rc == AA_OK && (c->flags & AA_HTTPSIG_C_BS))
            rc = add_flag(&it.params, "bs");
        if (rc == AA_OK && (c->flags & AA_HTTPSIG_C_TR))
            rc = add_flag(&it.params, "tr");
        if (rc == AA_OK)
            rc = aa_sf_inner_add(out, &it);
        if (rc != AA_OK)
            aa_sf_item_free(&it);
    }
    if (rc == AA_OK && p != NULL) {
        const char *order = p->order[0] ? p->order : deflt;
        /* The requested order first, then any present parameter it left out. */
        for (int pass = 0; pass < 2 && rc == AA_OK; pass++) {
            const char *s = pass == 0 ? order : deflt;
            while (*s && rc == AA_OK) {
                const char *e = strchr(s, ',');
                size_t len = e ? (size_t)(e - s) : strlen(s);
                rc = add_sig_param(&out->params, p, s, len, &done, d);
                s += len + (e ? 1 : 0);
            }
        }
    }
    if (rc != AA_OK) {
        aa_sf_item_free(out);
        memset(out, 0, sizeof(*out));
        if (rc == AA_E_NOMEM)
            aa_fail(d, rc, NULL, "out of memory building signature parameters");
    }
    return rc;
}

/* ---- signing (RFC9421#3.1) -------------------------------------------------- */

void aa_httpsig_signed_init(struct aa_httpsig_signed *s)
{
    aa_buf_init(&s->input, AA_BUF_DEFAULT_MAX);
    aa_buf_init(&s->signature, AA_BUF_DEFAULT_MAX);
    aa_buf_init(&s->base, AA_HTTPSIG_MAX_BASE);
}

void aa_httpsig_signed_cleanup(struct aa_httpsig_signed *s)
{
    if (s == NULL)
        return;
    if (s->base.p != NULL)
        aa_cleanse(s->base.p, s->base.cap);
    aa_buf_free(&s->base);
    aa_buf_free(&s->signature);
    aa_buf_free(&s->input);
}

static int encode_sig(const uint8_t *sig, size_t n, enum aa_httpsig_sig_enc enc, struct aa_buf *out)
{
    enum aa_b64_variant v = (enc == AA_HTTPSIG_ENC_URL_PADDED || enc == AA_HTTPSIG_ENC_URL_UNPADDED)
                                ? AA_B64_URL
                                : AA_B64_STD;
    bool pad = enc == AA_HTTPSIG_ENC_STD_PADDED || enc == AA_HTTPSIG_ENC_URL_PADDED;
    return aa_b64_encode_buf(sig, n, v, pad, out);
}

static int sign_impl(const struct aa_httpsig_msg *m, const char *label,
                     const struct aa_httpsig_component *comps, size_t n,
                     const struct aa_httpsig_params *p, enum aa_alg alg, const struct aa_jwk *key,
                     unsigned base_flags, enum aa_httpsig_sig_enc enc, bool strict,
                     struct aa_httpsig_signed *out, struct aa_diag *d)
{
    struct aa_sf_item list = {0};
    uint8_t sig[AA_CRYPTO_SIG_MAX];
    size_t siglen = 0;
    int rc;

    if (m == NULL || key == NULL || out == NULL || (n > 0 && comps == NULL))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_sign: NULL argument");
    if (!httpsig_label_ok(label))
        return aa_fail(d, AA_E_HTTPSIG_LABEL, "RFC8941#3.2",
                       "label \"%s\" is not a valid dictionary key", label ? label : "(null)");
    if (!key->is_private)
        return aa_fail(d, AA_E_INVAL, NULL, "signing needs a private key");
    if (p != NULL && p->has_alg && (strict || alg == AA_ALG_NONE)) {
        enum aa_alg named = AA_ALG_NONE;
        if ((rc = alg_by_name(p->alg, &named, d)) != AA_OK)
            return rc;
        if (alg != AA_ALG_NONE && named != alg)
            return aa_fail(d, AA_E_HTTPSIG_ALG_MISMATCH, "RFC9421#3.2",
                           "alg parameter \"%s\" but signing with %s", p->alg, alg_label(alg));
        alg = named;
    }
    if (alg == AA_ALG_NONE)
        alg = aa_alg_default_for(key, true);
    if (!httpsig_alg(alg))
        return aa_fail(d, AA_E_HTTPSIG_ALG_UNSUPPORTED, "RFC9421#3.3",
                       "algorithm %d cannot sign HTTP messages here", (int)alg);
    if (!aa_alg_matches_key(alg, key))
        return aa_fail(d, AA_E_HTTPSIG_ALG_MISMATCH, "RFC9421#3.1", "%s does not match the %s key",
                       alg_label(alg), key_label(key));

    if ((rc = aa_httpsig_make_params(comps, n, p, &list, d)) != AA_OK)
        return rc;
    if ((rc = aa_httpsig_build_base(m, &list, base_flags, &out->base, d)) != AA_OK)
        goto out;
    rc = aa_crypto_sign(alg, key, (const uint8_t *)out->base.p, out->base.len, sig, sizeof(sig),
                        &siglen);
    if (rc != AA_OK) {
        rc = aa_fail(d, aa_err_is_fault(rc) ? rc : AA_E_INTERNAL, NULL, "%s signing failed (%s)",
                     alg_label(alg), aa_strerror(rc));
        goto out;
    }
    aa_buf_adds(&out->input, label);
    aa_buf_addc(&out->input, '=');
    if ((rc = aa_sf_serialize_inner_list(&list, &out->input, d)) != AA_OK)
        goto out;
    aa_buf_adds(&out->signature, label);
    aa_buf_adds(&out->signature, "=:");
    encode_sig(sig, siglen, enc, &out->signature);
    aa_buf_addc(&out->signature, ':');
    rc = out->input.err ? out->input.err : out->signature.err;
out:
    aa_cleanse(sig, sizeof(sig));
    aa_sf_item_free(&list);
    return rc;
}

int aa_httpsig_sign(const struct aa_httpsig_msg *m, const char *label,
                    const struct aa_httpsig_component *comps, size_t n,
                    const struct aa_httpsig_params *p, enum aa_alg alg, const struct aa_jwk *key,
                    struct aa_httpsig_signed *out, struct aa_diag *d)
{
    return sign_impl(m, label, comps, n, p, alg, key, 0, AA_HTTPSIG_ENC_STD_PADDED, true, out, d);
}

int aa_httpsig_sign_ex(const struct aa_httpsig_msg *m, const char *label,
                       const struct aa_httpsig_component *comps, size_t n,
                       const struct aa_httpsig_params *p, enum aa_alg alg, const struct aa_jwk *key,
                       unsigned base_flags, enum aa_httpsig_sig_enc enc,
                       struct aa_httpsig_signed *out, struct aa_diag *d)
{
    return sign_impl(m, label, comps, n, p, alg, key, base_flags, enc, false, out, d);
}

/* ---- verification (RFC9421#3.2) --------------------------------------------- */

void aa_httpsig_result_init(struct aa_httpsig_result *r)
{
    memset(r, 0, sizeof(*r));
    aa_buf_init(&r->base, AA_HTTPSIG_MAX_BASE);
}

void aa_httpsig_result_cleanup(struct aa_httpsig_result *r)
{
    if (r == NULL)
        return;
    if (r->base.p != NULL)
        aa_cleanse(r->base.p, r->base.cap);
    aa_buf_free(&r->base);
}

static int at_step(struct aa_diag *d, struct aa_httpsig_result *r, const char *step, int rc)
{
    if (d != NULL)
        d->step = step;
    r->step = step;
    return rc;
}

/* Which algorithm verifies: configuration, alg parameter and key must agree
 * (RFC9421#3.2 step 6). */
static int resolve_alg(const struct aa_httpsig_params *p, enum aa_alg configured,
                       const struct aa_jwk *key, enum aa_alg *out, struct aa_diag *d)
{
    enum aa_alg a = configured;
    int rc;

    if (p->has_alg) {
        enum aa_alg named = AA_ALG_NONE;
        if ((rc = alg_by_name(p->alg, &named, d)) != AA_OK)
            return rc;
        if (a != AA_ALG_NONE && a != named)
            return aa_fail(d, AA_E_HTTPSIG_ALG_MISMATCH, "RFC9421#3.2",
                           "Signature-Input alg \"%s\" but the verifier expects %s", p->alg,
                           alg_label(a));
        a = named;
    }
    if (a == AA_ALG_NONE)
        a = aa_alg_default_for(key, true);
    if (!httpsig_alg(a))
        return aa_fail(d, AA_E_HTTPSIG_ALG_UNSUPPORTED, "RFC9421#3.3",
                       "no HTTP signature algorithm for the %s key", key_label(key));
    if (!aa_alg_matches_key(a, key))
        return aa_fail(d, AA_E_HTTPSIG_ALG_MISMATCH, "RFC9421#3.2",
                       "alg %s does not match the %s key", alg_label(a), key_label(key));
    *out = a;
    return AA_OK;
}

static int check_time(const struct aa_httpsig_params *p, const struct aa_httpsig_verify_opts *o,
                      struct aa_diag *d)
{
    if (!o->check_time)
        return AA_OK;
    if (o->require_created && !p->has_created)
        return aa_fail(d, AA_E_HTTPSIG_CREATED_MISSING, "RFC9421#2.3",
                       "Signature-Input: created is required");
    if (p->has_created && o->max_skew >= 0) {
        if (p->created > o->now && p->created - o->now > o->max_skew)
            return aa_fail(d, AA_E_HTTPSIG_CREATED_SKEW, "RFC9421#3.2.1",
                           "created=%lld is %llds in the future (allowed %llds)",
                           (long long)p->created, (long long)(p->created - o->now),
                           (long long)o->max_skew);
        if (p->created <= o->now && o->now - p->created > o->max_skew)
            return aa_fail(d, AA_E_HTTPSIG_CREATED_SKEW, "RFC9421#3.2.1",
                           "created=%lld is %llds old (allowed %llds)", (long long)p->created,
                           (long long)(o->now - p->created), (long long)o->max_skew);
    }
    if (p->has_expires && p->expires <= o->now)
        return aa_fail(d, AA_E_HTTPSIG_EXPIRED, "RFC9421#3.2.1",
                       "signature expired: expires=%lld, now=%lld", (long long)p->expires,
                       (long long)o->now);
    return AA_OK;
}

int aa_httpsig_verify(const struct aa_httpsig_msg *m, struct aa_str sig_input,
                      struct aa_str signature, const char *label, const struct aa_jwk *key,
                      const struct aa_httpsig_verify_opts *o, struct aa_httpsig_result *r,
                      struct aa_diag *d)
{
    static const struct aa_httpsig_verify_opts none = {0};
    struct aa_httpsig_result local;
    struct aa_httpsig_input in;
    uint8_t sig[AA_CRYPTO_SIG_MAX];
    size_t siglen = 0, want;
    struct aa_buf base;
    char chosen[AA_HTTPSIG_LABEL_MAX + 1];
    enum aa_alg alg = AA_ALG_NONE;
    int rc;

    if (r == NULL) {
        aa_httpsig_result_init(&local);
        r = &local;
    }
    if (o == NULL)
        o = &none;
    memset(&in, 0, sizeof(in));
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    /* A result may be reused: start from a clean slate every call. */
    r->step = NULL;
    r->label[0] = '\0';
    memset(&r->params, 0, sizeof(r->params));
    r->alg = AA_ALG_NONE;
    r->sig_class = 0;
    aa_buf_reset(&r->base);
    if (m == NULL || key == NULL) {
        rc = aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_verify: NULL argument");
        goto out;
    }

    rc = aa_httpsig_choose_label(sig_input, signature, label, chosen, d);
    if (rc != AA_OK) {
        at_step(d, r,
                rc == AA_E_HTTPSIG_INPUT_SYNTAX ? AA_HTTPSIG_STEP_INPUT
                : rc == AA_E_HTTPSIG_SIG_SYNTAX ? AA_HTTPSIG_STEP_SIGNATURE
                                                : AA_HTTPSIG_STEP_LABEL,
                rc);
        goto out;
    }
    memcpy(r->label, chosen, sizeof(chosen));
    rc = aa_httpsig_parse_input(sig_input, chosen, &in, d);
    if (rc != AA_OK) {
        at_step(d, r,
                rc == AA_E_HTTPSIG_PARAM_TYPE ? AA_HTTPSIG_STEP_PARAMS : AA_HTTPSIG_STEP_INPUT, rc);
        goto out;
    }
    r->params = in.params;
    rc = aa_httpsig_parse_signature(signature, chosen, sig, sizeof(sig), &siglen, &r->sig_class, d);
    if (rc != AA_OK) {
        at_step(d, r, AA_HTTPSIG_STEP_SIGNATURE, rc);
        goto out;
    }
    if ((rc = resolve_alg(&in.params, o->alg, key, &alg, d)) != AA_OK) {
        at_step(d, r, AA_HTTPSIG_STEP_ALG, rc);
        goto out;
    }
    r->alg = alg;
    if ((rc = check_time(&in.params, o, d)) != AA_OK) {
        at_step(d, r, AA_HTTPSIG_STEP_TIME, rc);
        goto out;
    }
    if ((rc = aa_httpsig_build_base(m, &in.list, 0, &base, d)) != AA_OK) {
        at_step(d, r, AA_HTTPSIG_STEP_BASE, rc);
        goto out;
    }
    /* The copy can fail (allocation); ignoring that returned AA_OK with an
     * empty r->base although the caller asked for it (test_oom.c). */
    if (o->keep_base && (rc = aa_buf_add(&r->base, base.p, base.len)) != AA_OK) {
        rc = aa_fail(d, rc, NULL, "signature base copy: %s", aa_strerror(rc));
        at_step(d, r, AA_HTTPSIG_STEP_BASE, rc);
        goto out;
    }
    want = fixed_sig_len(alg);
    if (want != 0 && siglen != want) {
        rc = aa_fail(d, AA_E_HTTPSIG_SIG_LENGTH,
                     alg == AA_ALG_ED25519 ? "RFC9421#3.3.6" : "RFC9421#3.3.4",
                     "Signature %s: %zu bytes, %s signatures are %zu bytes", chosen, siglen,
                     alg_label(alg), want);
        at_step(d, r, AA_HTTPSIG_STEP_VERIFY, rc);
        goto out;
    }
    rc = aa_crypto_verify(alg, key, (const uint8_t *)base.p, base.len, sig, siglen);
    if (rc == AA_E_CRYPTO_BADSIG)
        rc = aa_fail(d, AA_E_HTTPSIG_BAD_SIGNATURE, "RFC9421#3.2",
                     "Signature %s: %s signature is not valid over the RFC 9421 signature base",
                     chosen, alg_label(alg));
    else if (rc == AA_E_CRYPTO_ALG)
        rc = aa_fail(d, AA_E_HTTPSIG_ALG_MISMATCH, "RFC9421#3.2",
                     "%s cannot be used with the %s key", alg_label(alg), key_label(key));
    else if (rc != AA_OK)
        rc = aa_fail(d, rc, NULL, "signature check failed: %s", aa_strerror(rc));
    if (rc != AA_OK)
        at_step(d, r, AA_HTTPSIG_STEP_VERIFY, rc);
out:
    if (base.p != NULL)
        aa_cleanse(base.p, base.cap);
    aa_buf_free(&base);
    aa_httpsig_input_cleanup(&in);
    aa_cleanse(sig, sizeof(sig));
    if (r == &local)
        aa_httpsig_result_cleanup(&local);
    return rc;
}

/* ---- dialect diagnosis ------------------------------------------------------- */

static const char *base_text(unsigned flags)
{
    switch (flags) {
    case 0:
        return "valid over the RFC 9421 base";
    case AA_HTTPSIG_BASE_LEGACY:
        return "valid over legacy base without @signature-params (seed dialect)";
    case AA_HTTPSIG_BASE_QUERY_NO_QMARK:
        return "valid over a base whose @query lacks the \"?\"";
    default:
        return "valid over legacy base without @signature-params and with @query lacking \"?\"";
    }
}

int aa_httpsig_diagnose(const struct aa_httpsig_msg *m, struct aa_str sig_input,
                        struct aa_str signature, const char *label, const struct aa_jwk *key,
                        enum aa_alg alg, struct aa_httpsig_diagnosis *out, struct aa_diag *d)
{
    static const unsigned variants[] = {0, AA_HTTPSIG_BASE_LEGACY, AA_HTTPSIG_BASE_QUERY_NO_QMARK,
                                        AA_HTTPSIG_BASE_LEGACY | AA_HTTPSIG_BASE_QUERY_NO_QMARK};
    struct aa_httpsig_input in;
    char chosen[AA_HTTPSIG_LABEL_MAX + 1];
    uint8_t sig[AA_CRYPTO_SIG_MAX];
    struct aa_buf base;
    struct aa_str text;
    bool quoted = false;
    int rc;

    if (m == NULL || key == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_diagnose: NULL argument");
    memset(out, 0, sizeof(*out));
    memset(&in, 0, sizeof(in));
    if ((rc = aa_httpsig_choose_label(sig_input, signature, label, chosen, d)) != AA_OK)
        return rc;
    if ((rc = aa_httpsig_parse_input(sig_input, chosen, &in, d)) != AA_OK)
        return rc;
    if (httpsig_raw_signature_text(signature, chosen, &text, &quoted) != AA_OK) {
        aa_httpsig_input_cleanup(&in);
        return aa_fail(d, AA_E_HTTPSIG_SIG_SYNTAX, "RFC9421#4.2",
                       "Signature %s: no :...: or \"...\" value to examine", chosen);
    }
    if (alg == AA_ALG_NONE) {
        enum aa_alg named = AA_ALG_NONE;
        if (in.params.has_alg && alg_by_name(in.params.alg, &named, NULL) == AA_OK &&
            aa_alg_matches_key(named, key))
            alg = named;
        else
            alg = aa_alg_default_for(key, true);
    }
    aa_buf_init(&base, AA_HTTPSIG_MAX_BASE);
    for (int e = AA_HTTPSIG_ENC_STD_PADDED; e <= AA_HTTPSIG_ENC_URL_PADDED && !out->found; e++) {
        bool url = e == AA_HTTPSIG_ENC_URL_UNPADDED || e == AA_HTTPSIG_ENC_URL_PADDED;
        bool pad = e == AA_HTTPSIG_ENC_STD_PADDED || e == AA_HTTPSIG_ENC_URL_PADDED;
        size_t siglen;

        if (aa_b64_decode(text.p, text.len, url ? AA_B64_URL : AA_B64_STD,
                          pad ? AA_B64_PAD_REQUIRED : AA_B64_PAD_FORBIDDEN, 0, sig, sizeof(sig),
                          &siglen, NULL) != AA_OK)
            continue;
        for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]) && !out->found; v++) {
            aa_buf_reset(&base);
            if (aa_httpsig_build_base(m, &in.list, variants[v], &base, NULL) != AA_OK)
                continue;
            if (aa_crypto_verify(alg, key, (const uint8_t *)base.p, base.len, sig, siglen) ==
                AA_OK) {
                out->found = true;
                out->base_flags = variants[v];
                out->enc = (enum aa_httpsig_sig_enc)e;
                out->as_string = quoted;
            }
        }
    }
    if (!out->found)
        aa_snprintf(out->text, sizeof(out->text),
                    "no known dialect verifies (tried 4 encodings x 4 base variants)");
    else if (out->enc == AA_HTTPSIG_ENC_STD_PADDED && !quoted)
        aa_snprintf(out->text, sizeof(out->text), "%s", base_text(out->base_flags));
    else
        aa_snprintf(out->text, sizeof(out->text), "%s; Signature is %s%s",
                    base_text(out->base_flags), aa_httpsig_enc_name(out->enc),
                    quoted ? " inside an sf-string" : "");
    if (base.p != NULL)
        aa_cleanse(base.p, base.cap);
    aa_buf_free(&base);
    aa_cleanse(sig, sizeof(sig));
    aa_httpsig_input_cleanup(&in);
    return AA_OK;
}
