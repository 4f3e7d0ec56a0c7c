/*
 * aa_jwks: JWK Sets (RFC 7517 §5) under the AAuth profile's rules
 * (PROFILE#3, D-14): public keys only, a unique kid on every key, bounded.
 *
 * Design choice: kid presence, kid uniqueness and the public-only rule are
 * checked on every entry, including entries skipped because their key type
 * or curve is not implemented here, so a set that breaks D-14 is reported
 * whatever keys it holds.
 */
#include "aa_jwk.h"

#include <stdlib.h>
#include <string.h>

#include "../json/aa_json.h"

/* aa_strerror() reaches aa_json_strerror() through a weak reference, which
 * does not pull json.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_json_strerror};

int aa_jwks_from_cjson(const cJSON *obj, struct aa_jwks *out, struct aa_diag *d)
{
    const cJSON *keys, *it;
    const char *kids[AA_JWKS_MAX_KEYS];
    size_t count = 0, idx = 0;
    int rc;

    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwks_from_cjson: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(obj))
        return aa_fail(d, AA_E_JSON_TYPE, "RFC7517#5", "JWKS is not a JSON object");
    keys = cJSON_GetObjectItemCaseSensitive(obj, "keys");
    if (keys == NULL)
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#5.1", "JWKS member \"keys\" is missing");
    if (!cJSON_IsArray(keys))
        return aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#5.1", "JWKS member \"keys\" is not an array");
    cJSON_ArrayForEach(it, keys) count++;
    if (count > AA_JWKS_MAX_KEYS)
        return aa_fail(d, AA_E_JWKS_TOO_MANY, "PROFILE#3",
                       "JWKS holds %zu keys; at most %d are accepted (D-13)", count,
                       AA_JWKS_MAX_KEYS);
    out->keys = calloc(count ? count : 1, sizeof(*out->keys));
    if (out->keys == NULL)
        return aa_fail(d, AA_E_NOMEM, NULL, "out of memory");

    cJSON_ArrayForEach(it, keys)
    {
        const cJSON *kid = cJSON_GetObjectItemCaseSensitive(it, "kid");
        struct aa_jwk k;

        if (!cJSON_IsObject(it)) {
            rc = aa_fail(d, AA_E_JWK_MEMBER, "RFC7517#5.1", "keys[%zu] is not a JSON object", idx);
            goto fail;
        }
        if (!cJSON_IsString(kid) || kid->valuestring[0] == '\0') {
            rc = aa_fail(d, AA_E_JWKS_NO_KID, "PROFILE#3",
                         "keys[%zu] has no non-empty string \"kid\" (D-14)", idx);
            goto fail;
        }
        for (size_t j = 0; j < idx; j++)
            if (strcmp(kids[j], kid->valuestring) == 0) {
                rc = aa_fail(d, AA_E_JWKS_DUP_KID, "PROFILE#3",
                             "keys[%zu] repeats kid \"%.64s\" of keys[%zu] (D-14)", idx,
                             kid->valuestring, j);
                goto fail;
            }
        kids[idx] = kid->valuestring;
        rc = aa_jwk_from_cjson(it, AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID, &k, d);
        if (rc == AA_E_JWK_KTY || rc == AA_E_JWK_CRV) {
            /* RFC7517#5: ignore keys whose type is not understood. */
            out->skipped++;
            idx++;
            continue;
        }
        if (rc != AA_OK) {
            if (d != NULL && rc == AA_E_JWK_PRIVATE)
                d->ref = "PROFILE#3";
            aa_diag_prefix(d, "keys[%zu]", idx);
            goto fail;
        }
        out->keys[out->n++] = k;
        idx++;
    }
    if (d != NULL)
        aa_diag_clear(d);
    return AA_OK;
fail:
    aa_jwks_cleanup(out);
    return rc;
}

int aa_jwks_parse(const char *json, size_t len, struct aa_jwks *out, struct aa_diag *d)
{
    struct aa_json_opts o = {0, AA_JWKS_MAX_LEN, false};
    cJSON *root = NULL;
    int rc;

    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwks_parse: out is NULL");
    memset(out, 0, sizeof(*out));
    if ((rc = aa_json_parse(json, len, &o, &root, d)) != AA_OK) {
        aa_diag_prefix(d, "JWKS");
        return rc;
    }
    rc = aa_jwks_from_cjson(root, out, d);
    cJSON_Delete(root);
    return rc;
}

const struct aa_jwk *aa_jwks_find(const struct aa_jwks *s, const char *kid)
{
    if (s == NULL || kid == NULL)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].kid, kid) == 0)
            return &s->keys[i];
    return NULL;
}

const struct aa_jwk *aa_jwks_find_thumbprint(const struct aa_jwks *s, const char *jkt)
{
    char t[AA_JWK_THUMBPRINT_LEN + 1];
    if (s == NULL || jkt == NULL)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (aa_jwk_thumbprint(&s->keys[i], t) == AA_OK && strcmp(t, jkt) == 0)
            return &s->keys[i];
    return NULL;
}

int aa_jwks_add(struct aa_jwks *s, const struct aa_jwk *k)
{
    struct aa_jwk *nk;
    int rc;

    if (s == NULL || k == NULL || k->pkey == NULL)
        return AA_E_INVAL;
    if (s->n >= AA_JWKS_MAX_KEYS)
        return AA_E_JWKS_TOO_MANY;
    if (k->kid[0] != '\0' && aa_jwks_find(s, k->kid) != NULL)
        return AA_E_JWKS_DUP_KID;
    nk = realloc(s->keys, (s->n + 1) * sizeof(*nk));
    if (nk == NULL)
        return AA_E_NOMEM;
    s->keys = nk;
    if ((rc = aa_jwk_copy(&s->keys[s->n], k)) != AA_OK)
        return rc;
    s->n++;
    return AA_OK;
}

int aa_jwks_to_json(const struct aa_jwks *s, struct aa_buf *out)
{
    int rc = AA_OK;
    if (s == NULL || out == NULL)
        return AA_E_INVAL;
    aa_buf_adds(out, "{\"keys\":[");
    for (size_t i = 0; i < s->n && rc == AA_OK; i++) {
        if (i)
            aa_buf_addc(out, ',');
        rc = aa_jwk_to_json(&s->keys[i], false, out);
    }
    if (rc != AA_OK)
        return rc;
    return aa_buf_adds(out, "]}");
}

void aa_jwks_cleanup(struct aa_jwks *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        aa_jwk_cleanup(&s->keys[i]);
    free(s->keys);
    memset(s, 0, sizeof(*s));
}

const char *aa_jwk_strerror(int code)
{
    switch (code) {
    case AA_E_JWK_KTY:
        return "unsupported JWK key type";
    case AA_E_JWK_CRV:
        return "unsupported JWK curve";
    case AA_E_JWK_MEMBER:
        return "JWK member missing or malformed";
    case AA_E_JWK_LENGTH:
        return "JWK key material of the wrong length";
    case AA_E_JWK_PRIVATE:
        return "private key member where a public key is required";
    case AA_E_JWK_INVALID:
        return "JWK key material rejected (not on curve, inconsistent)";
    case AA_E_JWKS_DUP_KID:
        return "duplicate kid in JWKS";
    case AA_E_JWKS_NO_KID:
        return "JWKS key without kid";
    case AA_E_JWKS_KID_UNKNOWN:
        return "no JWKS key with that kid";
    case AA_E_CRYPTO_BADSIG:
        return "signature does not verify";
    case AA_E_CRYPTO_ALG:
        return "algorithm does not match the key";
    case AA_E_PEM:
        return "PEM could not be parsed";
    case AA_E_JWKS_TOO_MANY:
        return "too many keys in JWKS";
    default:
        return NULL;
    }
}
