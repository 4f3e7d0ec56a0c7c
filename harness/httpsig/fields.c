/*
 * RFC 9421 §4: the Signature-Input and Signature fields, the signature
 * parameters of §2.3, and label selection.
 *
 * Design choice: besides the strict RFC 8941 parser, a small lenient
 * member scanner reads the *raw* text of a dictionary. It is used only to
 * explain failures (which variant of base64 a non-conformant Signature
 * used, which labels it carries), never to accept a value the strict
 * parser rejected.
 */
#include "httpsig_int.h"

#include <string.h>

#include "../b64/aa_b64.h"

/* aa_strerror() reaches aa_httpsig_strerror() through a weak reference, which
 * does not pull components.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_httpsig_strerror};

/* ---- lenient raw member scanner ------------------------------------------ */

static bool key_start(char c)
{
    return (c >= 'a' && c <= 'z') || c == '*';
}

static bool key_char(char c)
{
    return key_start(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int httpsig_raw_members(struct aa_str v, struct httpsig_raw_member *out, size_t cap, size_t *count)
{
    size_t i = 0, n = 0;

    *count = 0;
    while (i < v.len) {
        struct httpsig_raw_member mem;
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        if (i >= v.len)
            break;
        if (!key_start(v.p[i]))
            return AA_E_SYNTAX;
        mem.key.p = v.p + i;
        while (i < v.len && key_char(v.p[i]))
            i++;
        mem.key.len = (size_t)(v.p + i - mem.key.p);
        mem.value.p = v.p + i;
        mem.value.len = 0;
        if (i < v.len && v.p[i] == '=') {
            int depth = 0;
            bool quoted = false, bytes = false;
            mem.value.p = v.p + ++i;
            for (; i < v.len; i++) {
                char c = v.p[i];
                if (quoted) {
                    if (c == '\\' && i + 1 < v.len)
                        i++;
                    else if (c == '"')
                        quoted = false;
                    continue;
                }
                if (bytes) {
                    if (c == ':')
                        bytes = false;
                    continue;
                }
                if (c == '"')
                    quoted = true;
                else if (c == ':')
                    bytes = true;
                else if (c == '(')
                    depth++;
                else if (c == ')')
                    depth--;
                else if (c == ',' && depth <= 0)
                    break;
            }
            mem.value.len = (size_t)(v.p + i - mem.value.p);
            while (mem.value.len > 0 && (mem.value.p[mem.value.len - 1] == ' ' ||
                                         mem.value.p[mem.value.len - 1] == '\t'))
                mem.value.len--;
        }
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        if (i < v.len) {
            if (v.p[i] != ',')
                return AA_E_SYNTAX;
            i++;
        }
        if (n >= cap)
            return AA_E_LIMIT;
        out[n++] = mem;
    }
    *count = n;
    return AA_OK;
}

/* The raw text of member |label| (or of the only member when NULL). */
static int raw_member(struct aa_str v, const char *label, struct httpsig_raw_member *out)
{
    struct httpsig_raw_member m[HTTPSIG_RAW_MAX];
    size_t n;
    int rc = httpsig_raw_members(v, m, sizeof(m) / sizeof(m[0]), &n);

    if (rc != AA_OK)
        return rc;
    if (label == NULL) {
        if (n != 1)
            return AA_E_NOTFOUND;
        *out = m[0];
        return AA_OK;
    }
    /* Last one wins, as in an RFC 8941 dictionary. */
    for (size_t i = n; i-- > 0;)
        if (aa_str_eq(m[i].key, label)) {
            *out = m[i];
            return AA_OK;
        }
    return AA_E_NOTFOUND;
}

int httpsig_raw_signature_text(struct aa_str v, const char *label, struct aa_str *text,
                               bool *quoted)
{
    struct httpsig_raw_member m;
    int rc = raw_member(v, label, &m);

    if (rc != AA_OK)
        return rc;
    /* Byte Sequence :...: or (a dialect) a quoted String "..."; parameters
     * after the closing delimiter are ignored. */
    if (m.value.len >= 2 && (m.value.p[0] == ':' || m.value.p[0] == '"')) {
        const char *end = memchr(m.value.p + 1, m.value.p[0], m.value.len - 1);
        if (end != NULL) {
            text->p = m.value.p + 1;
            text->len = (size_t)(end - text->p);
            *quoted = m.value.p[0] == '"';
            return AA_OK;
        }
    }
    return AA_E_SYNTAX;
}

bool httpsig_label_ok(const char *label)
{
    size_t n;

    if (label == NULL || !key_start(label[0]))
        return false;
    n = strlen(label);
    if (n > AA_HTTPSIG_LABEL_MAX)
        return false;
    for (size_t i = 1; i < n; i++)
        if (!key_char(label[i]))
            return false;
    return true;
}

/* ---- signature parameters (RFC9421#2.3) ---------------------------------- */

static int copy_param(char *dst, size_t cap, const struct aa_sf_param *p, struct aa_diag *d)
{
    if (p->value.type != AA_SF_STRING)
        return aa_fail(d, AA_E_HTTPSIG_PARAM_TYPE, "RFC9421#2.3",
                       "Signature-Input: ;%s must be a String, not %s", p->key,
                       aa_sf_type_name(p->value.type));
    if (p->value.len >= cap)
        return aa_fail(d, AA_E_LIMIT, "RFC9421#2.3",
                       "Signature-Input: ;%s is %zu characters (limit %zu)", p->key, p->value.len,
                       cap - 1);
    memcpy(dst, p->value.s, p->value.len);
    dst[p->value.len] = '\0';
    return AA_OK;
}

static void order_add(char *order, const char *name)
{
    size_t n = strlen(order), k = strlen(name);

    if (n + k + 2 > AA_HTTPSIG_ORDER_MAX)
        return;
    if (n > 0)
        order[n++] = ',';
    memcpy(order + n, name, k + 1);
}

int httpsig_read_params(const struct aa_sf_params *sp, struct aa_httpsig_params *p,
                        struct aa_diag *d)
{
    int rc = AA_OK;

    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < sp->n && rc == AA_OK; i++) {
        const struct aa_sf_param *q = &sp->v[i];
        bool known = true;

        if (strcmp(q->key, "created") == 0 || strcmp(q->key, "expires") == 0) {
            bool created = q->key[0] == 'c';
            if (q->value.type != AA_SF_INTEGER)
                return aa_fail(d, AA_E_HTTPSIG_PARAM_TYPE, "RFC9421#2.3",
                               "Signature-Input: ;%s must be an Integer, not %s", q->key,
                               aa_sf_type_name(q->value.type));
            if (created) {
                p->has_created = true;
                p->created = q->value.i;
            } else {
                p->has_expires = true;
                p->expires = q->value.i;
            }
        } else if (strcmp(q->key, "nonce") == 0) {
            rc = copy_param(p->nonce, sizeof(p->nonce), q, d);
            p->has_nonce = rc == AA_OK;
        } else if (strcmp(q->key, "alg") == 0) {
            rc = copy_param(p->alg, sizeof(p->alg), q, d);
            p->has_alg = rc == AA_OK;
        } else if (strcmp(q->key, "keyid") == 0) {
            rc = copy_param(p->keyid, sizeof(p->keyid), q, d);
            p->has_keyid = rc == AA_OK;
        } else if (strcmp(q->key, "tag") == 0) {
            rc = copy_param(p->tag, sizeof(p->tag), q, d);
            p->has_tag = rc == AA_OK;
        } else {
            known = false; /* registered elsewhere or private: kept, not read */
        }
        if (known && rc == AA_OK)
            order_add(p->order, q->key);
    }
    return rc;
}

int aa_httpsig_params_set(struct aa_httpsig_params *p, const char *name, const char *value)
{
    char *dst;
    bool *has;
    size_t cap, n;

    if (p == NULL || name == NULL || value == NULL)
        return AA_E_INVAL;
    if (strcmp(name, "nonce") == 0) {
        dst = p->nonce, cap = sizeof(p->nonce), has = &p->has_nonce;
    } else if (strcmp(name, "alg") == 0) {
        dst = p->alg, cap = sizeof(p->alg), has = &p->has_alg;
    } else if (strcmp(name, "keyid") == 0) {
        dst = p->keyid, cap = sizeof(p->keyid), has = &p->has_keyid;
    } else if (strcmp(name, "tag") == 0) {
        dst = p->tag, cap = sizeof(p->tag), has = &p->has_tag;
    } else if (strcmp(name, "order") == 0) {
        dst = p->order, cap = sizeof(p->order), has = NULL;
    } else {
        return AA_E_INVAL;
    }
    n = strlen(value);
    if (n >= cap)
        return AA_E_LIMIT;
    memcpy(dst, value, n + 1);
    if (has != NULL)
        *has = true;
    return AA_OK;
}

/* ---- Signature-Input (RFC9421#4.1) ---------------------------------------- */

/* Turn an SF parser failure into a finding of |code| keeping its detail. */
static int sf_failure(struct aa_diag *d, int rc, int code, const char *field)
{
    if (rc == AA_E_NOMEM || rc == AA_E_LIMIT || aa_err_is_fault(rc))
        return rc;
    if (d != NULL) {
        d->code = code;
        if (d->ref == NULL)
            d->ref = "RFC8941#4.2.2";
    }
    aa_diag_prefix(d, "%s", field);
    return code;
}

static int pick_member(struct aa_sf_dict *dct, const char *label, const char *field, size_t *idx,
                       struct aa_diag *d)
{
    if (label == NULL) {
        if (dct->n != 1)
            return aa_fail(d, AA_E_HTTPSIG_LABEL, "RFC9421#3.2",
                           "%s has %zu members; name the label to use", field, dct->n);
        *idx = 0;
        return AA_OK;
    }
    for (size_t i = 0; i < dct->n; i++)
        if (strcmp(dct->v[i].key, label) == 0) {
            *idx = i;
            return AA_OK;
        }
    return aa_fail(d, AA_E_HTTPSIG_LABEL, "RFC9421#3.2", "%s has no member \"%s\"", field, label);
}

int aa_httpsig_parse_input(struct aa_str value, const char *label, struct aa_httpsig_input *out,
                           struct aa_diag *d)
{
    struct aa_sf_dict dct = {0};
    struct aa_sf_item *it;
    size_t idx = 0;
    int rc;

    if (out == NULL || (value.p == NULL && value.len > 0))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_parse_input: NULL argument");
    memset(out, 0, sizeof(*out));
    rc = aa_sf_parse_dict(value.p ? value.p : "", value.len, &dct, d);
    if (rc != AA_OK)
        return sf_failure(d, rc, AA_E_HTTPSIG_INPUT_SYNTAX, "Signature-Input");
    if (dct.n == 0) {
        rc = aa_fail(d, AA_E_HTTPSIG_INPUT_SYNTAX, "RFC9421#4.1", "Signature-Input is empty");
        goto out;
    }
    if ((rc = pick_member(&dct, label, "Signature-Input", &idx, d)) != AA_OK)
        goto out;
    it = &dct.v[idx].item;
    if (strlen(dct.v[idx].key) > AA_HTTPSIG_LABEL_MAX) {
        rc = aa_fail(d, AA_E_LIMIT, "RFC9421#4.1", "Signature-Input: label longer than %d",
                     AA_HTTPSIG_LABEL_MAX);
        goto out;
    }
    if (it->bare.type != AA_SF_INNER_LIST) {
        rc = aa_fail(d, AA_E_HTTPSIG_INPUT_SYNTAX, "RFC9421#4.1",
                     "Signature-Input %s: member is %s, not an Inner List", dct.v[idx].key,
                     aa_sf_type_name(it->bare.type));
        goto out;
    }
    if (it->n_inner > AA_HTTPSIG_MAX_COMPONENTS) {
        rc = aa_fail(d, AA_E_LIMIT, "RFC9421#4.1",
                     "Signature-Input %s: %zu covered components (limit %d)", dct.v[idx].key,
                     it->n_inner, AA_HTTPSIG_MAX_COMPONENTS);
        goto out;
    }
    for (size_t i = 0; i < it->n_inner; i++)
        if (it->inner[i].bare.type != AA_SF_STRING) {
            rc = aa_fail(d, AA_E_HTTPSIG_INPUT_SYNTAX, "RFC9421#4.1",
                         "Signature-Input %s: covered component %zu is %s, not a String",
                         dct.v[idx].key, i + 1, aa_sf_type_name(it->inner[i].bare.type));
            goto out;
        }
    if ((rc = httpsig_read_params(&it->params, &out->params, d)) != AA_OK)
        goto out;
    memcpy(out->label, dct.v[idx].key, strlen(dct.v[idx].key) + 1);
    /* Move the member out of the dictionary so it outlives it. */
    out->list = *it;
    memset(it, 0, sizeof(*it));
out:
    aa_sf_dict_free(&dct);
    if (rc != AA_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

void aa_httpsig_input_cleanup(struct aa_httpsig_input *in)
{
    if (in == NULL)
        return;
    aa_sf_item_free(&in->list);
    memset(in, 0, sizeof(*in));
}

/* ---- Signature (RFC9421#4.2) ---------------------------------------------- */

int aa_httpsig_parse_signature(struct aa_str value, const char *label, uint8_t *sig, size_t cap,
                               size_t *sig_len, unsigned *sig_class, struct aa_diag *d)
{
    struct aa_sf_dict dct = {0};
    struct aa_str text = {0};
    bool quoted = false, have_text;
    size_t idx = 0;
    int rc;

    if (sig == NULL || sig_len == NULL || (value.p == NULL && value.len > 0))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_parse_signature: NULL argument");
    *sig_len = 0;
    have_text = httpsig_raw_signature_text(value, label, &text, &quoted) == AA_OK;
    if (sig_class != NULL)
        *sig_class = have_text ? aa_b64_classify(text.p, text.len) : AA_B64C_INVALID;

    rc = aa_sf_parse_dict(value.p ? value.p : "", value.len, &dct, d);
    if (rc != AA_OK) {
        /* Say *why* a byte sequence failed: the usual cause is base64url
         * (PROFILE#2.12 S1), which RFC 8941 §3.3.5 does not allow. */
        if (have_text && !quoted && rc != AA_E_NOMEM) {
            unsigned cls = aa_b64_classify(text.p, text.len);
            if ((cls & AA_B64C_HAS_URL_CHARS) ||
                !(cls & (AA_B64C_STD_PADDED | AA_B64C_STD_UNPADDED)))
                return aa_fail(d, AA_E_HTTPSIG_SIG_ENCODING, "RFC8941#3.3.5",
                               "Signature %s: byte sequence uses %s, not standard base64 "
                               "(A-Z a-z 0-9 + / with = padding)",
                               label ? label : "member",
                               (cls & AA_B64C_HAS_URL_CHARS) ? "base64url alphabet"
                                                             : "characters outside base64");
        }
        return sf_failure(d, rc, AA_E_HTTPSIG_SIG_SYNTAX, "Signature");
    }
    if ((rc = pick_member(&dct, label, "Signature", &idx, d)) != AA_OK)
        goto out;
    if (dct.v[idx].item.bare.type != AA_SF_BYTES) {
        rc = aa_fail(d, AA_E_HTTPSIG_SIG_TYPE, "RFC9421#4.2",
                     "Signature %s: member is %s, not a Byte Sequence", dct.v[idx].key,
                     aa_sf_type_name(dct.v[idx].item.bare.type));
        goto out;
    }
    if (dct.v[idx].item.bare.len > cap) {
        rc = aa_fail(d, AA_E_LIMIT, "RFC9421#4.2", "Signature %s: %zu bytes (limit %zu)",
                     dct.v[idx].key, dct.v[idx].item.bare.len, cap);
        goto out;
    }
    if (dct.v[idx].item.bare.len > 0)
        memcpy(sig, dct.v[idx].item.bare.s, dct.v[idx].item.bare.len);
    *sig_len = dct.v[idx].item.bare.len;
out:
    aa_sf_dict_free(&dct);
    return rc;
}

/* ---- label selection (RFC9421#3.2 step 1) --------------------------------- */

int aa_httpsig_choose_label(struct aa_str sig_input, struct aa_str signature, const char *preferred,
                            char out[AA_HTTPSIG_LABEL_MAX + 1], struct aa_diag *d)
{
    struct aa_sf_dict si = {0};
    struct httpsig_raw_member sm[HTTPSIG_RAW_MAX];
    size_t ns = 0, common = 0;
    const char *pick = NULL;
    int rc;

    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_choose_label: NULL argument");
    out[0] = '\0';
    rc = aa_sf_parse_dict(sig_input.p ? sig_input.p : "", sig_input.len, &si, d);
    if (rc != AA_OK)
        return sf_failure(d, rc, AA_E_HTTPSIG_INPUT_SYNTAX, "Signature-Input");
    rc = httpsig_raw_members(signature, sm, sizeof(sm) / sizeof(sm[0]), &ns);
    if (rc != AA_OK) {
        rc = aa_fail(d, rc == AA_E_LIMIT ? AA_E_LIMIT : AA_E_HTTPSIG_SIG_SYNTAX, "RFC9421#4.2",
                     "Signature: cannot find dictionary members in the field value");
        goto out;
    }
    for (size_t i = 0; i < si.n; i++) {
        bool in_sig = false;
        for (size_t j = 0; j < ns; j++)
            in_sig = in_sig || aa_str_eq(sm[j].key, si.v[i].key);
        if (preferred != NULL) {
            if (strcmp(si.v[i].key, preferred) == 0) {
                if (!in_sig) {
                    rc = aa_fail(d, AA_E_HTTPSIG_LABEL, "RFC9421#3.2",
                                 "label \"%s\" is in Signature-Input but not in Signature",
                                 preferred);
                    goto out;
                }
                pick = si.v[i].key;
            }
            continue;
        }
        if (in_sig) {
            common++;
            pick = si.v[i].key;
        }
    }
    if (preferred != NULL && pick == NULL)
        rc = aa_fail(d, AA_E_HTTPSIG_LABEL, "RFC9421#3.2", "label \"%s\" is not in Signature-Input",
                     preferred);
    else if (preferred == NULL && common == 0)
        rc = aa_fail(d, AA_E_HTTPSIG_LABEL, "RFC9421#3.2",
                     "no label is present in both Signature-Input and Signature");
    else if (preferred == NULL && common > 1)
        rc = aa_fail(d, AA_E_HTTPSIG_LABEL, "RFC9421#3.2",
                     "%zu signatures present; name the label to verify", common);
    else if (strlen(pick) > AA_HTTPSIG_LABEL_MAX)
        rc = aa_fail(d, AA_E_LIMIT, "RFC9421#4.1", "label longer than %d", AA_HTTPSIG_LABEL_MAX);
    else
        memcpy(out, pick, strlen(pick) + 1);
out:
    aa_sf_dict_free(&si);
    return rc;
}

const char *aa_httpsig_enc_name(enum aa_httpsig_sig_enc e)
{
    switch (e) {
    case AA_HTTPSIG_ENC_STD_PADDED:
        return "standard base64 with padding";
    case AA_HTTPSIG_ENC_STD_UNPADDED:
        return "standard base64 without padding";
    case AA_HTTPSIG_ENC_URL_UNPADDED:
        return "base64url without padding";
    case AA_HTTPSIG_ENC_URL_PADDED:
        return "base64url with padding";
    }
    return "unknown encoding";
}
