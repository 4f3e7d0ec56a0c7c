/*
 * RFC 9530 §2: the Content-Digest field. Creation emits the requested
 * algorithms; verification checks every member the caller supports,
 * ignores unknown algorithms (RFC9530#2: a recipient MAY ignore members)
 * and insists that at least one supported member be present
 * (PROFILE#2.8).
 */
#include "aa_httpsig.h"

#include <stdio.h>
#include <string.h>

#include "../b64/aa_b64.h"

/* aa_strerror() reaches aa_httpsig_strerror() through a weak reference, which
 * does not pull components.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_httpsig_strerror};

static const struct {
    unsigned bit;
    const char *key;
    size_t len;
} algs[] = {
    {AA_DIGEST_SHA256, "sha-256", 32},
    {AA_DIGEST_SHA512, "sha-512", 64},
};

static void digest_of(unsigned bit, const void *body, size_t n, uint8_t out[64])
{
    if (bit == AA_DIGEST_SHA256)
        aa_sha256(body, n, out);
    else
        aa_sha512(body, n, out);
}

int aa_httpsig_create_digest(const void *body, size_t n, unsigned which, struct aa_buf *out)
{
    bool first = true;

    if (out == NULL || (body == NULL && n > 0) || which == 0 ||
        (which & ~(AA_DIGEST_SHA256 | AA_DIGEST_SHA512)) != 0)
        return AA_E_INVAL;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        uint8_t md[64];
        if (!(which & algs[i].bit))
            continue;
        digest_of(algs[i].bit, body ? body : "", n, md);
        if (!first)
            aa_buf_adds(out, ", ");
        first = false;
        aa_buf_adds(out, algs[i].key);
        aa_buf_adds(out, "=:");
        aa_b64_encode_buf(md, algs[i].len, AA_B64_STD, true, out);
        aa_buf_addc(out, ':');
    }
    return out->err;
}

int aa_httpsig_verify_digest(struct aa_str value, const void *body, size_t n, unsigned accept,
                             unsigned *matched, struct aa_diag *d)
{
    struct aa_sf_dict dct = {0};
    unsigned seen = 0;
    int rc;

    if (matched != NULL)
        *matched = 0;
    if ((body == NULL && n > 0) || (value.p == NULL && value.len > 0))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_httpsig_verify_digest: NULL argument");
    rc = aa_sf_parse_dict(value.p ? value.p : "", value.len, &dct, d);
    if (rc != AA_OK) {
        if (rc == AA_E_NOMEM || rc == AA_E_LIMIT)
            return rc;
        if (d != NULL) {
            d->code = AA_E_HTTPSIG_DIGEST_SYNTAX;
            if (d->ref == NULL)
                d->ref = "RFC9530#2";
        }
        aa_diag_prefix(d, "Content-Digest is not a Dictionary");
        return AA_E_HTTPSIG_DIGEST_SYNTAX;
    }
    for (size_t i = 0; i < dct.n && rc == AA_OK; i++) {
        const struct aa_sf_bare *b = &dct.v[i].item.bare;
        for (size_t k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
            uint8_t md[64];
            if (strcmp(dct.v[i].key, algs[k].key) != 0 || !(accept & algs[k].bit))
                continue;
            if (b->type != AA_SF_BYTES) {
                rc = aa_fail(d, AA_E_HTTPSIG_DIGEST_SYNTAX, "RFC9530#2",
                             "Content-Digest %s: value is %s, not a Byte Sequence", algs[k].key,
                             aa_sf_type_name(b->type));
                break;
            }
            digest_of(algs[k].bit, body ? body : "", n, md);
            if (b->len != algs[k].len || !aa_ct_equal(b->s, md, algs[k].len)) {
                rc = aa_fail(d, AA_E_HTTPSIG_DIGEST_MISMATCH, "RFC9530#2",
                             "Content-Digest %s does not match the %zu-byte content", algs[k].key,
                             n);
                break;
            }
            seen |= algs[k].bit;
        }
    }
    if (rc == AA_OK && seen == 0) {
        char found[128] = "";
        size_t used = 0;
        for (size_t i = 0; i < dct.n && used + 2 < sizeof(found); i++) {
            int w =
                snprintf(found + used, sizeof(found) - used, "%s%s", i ? ", " : "", dct.v[i].key);
            if (w < 0)
                break;
            used += (size_t)w < sizeof(found) - used ? (size_t)w : sizeof(found) - used - 1;
        }
        rc = aa_fail(d, AA_E_HTTPSIG_DIGEST_NONE, "RFC9530#2",
                     "Content-Digest has no supported algorithm (%s%s%s); found: %s",
                     (accept & AA_DIGEST_SHA256) ? "sha-256" : "",
                     (accept & AA_DIGEST_SHA256) && (accept & AA_DIGEST_SHA512) ? ", " : "",
                     (accept & AA_DIGEST_SHA512) ? "sha-512" : "", found[0] ? found : "nothing");
    }
    if (rc == AA_OK && matched != NULL)
        *matched = seen;
    aa_sf_dict_free(&dct);
    return rc;
}
