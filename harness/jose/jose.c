/*
 * aa_jose: JWS compact serialization (RFC 7515 §7.1), JWT claim checks
 * (RFC 7519 §4.1, RFC 7800 §3) and a builder of deliberately broken tokens
 * for the negative suites, under the AAuth profile's JWT rules (PROFILE#4.1).
 *
 * Design choice: parsing stops at the first defect in wire order (size,
 * segments, header encoding, header JSON, crit, alg, payload, signature)
 * and reports it with its own code, so a checker can tell "alg none" from
 * "bad base64" from "duplicate member" without a signature ever being
 * computed; signature and claim checks are separate calls run in the order
 * of PROFILE#4.3 - #4.5.
 */
#include "aa_jose.h"

#include <stdlib.h>
#include <string.h>

#include "../b64/aa_b64.h"
#include "../json/aa_json.h"

#define TIME_LIMIT ((int64_t)1 << 62)
#define SKEW_LIMIT ((int64_t)1 << 32)

/* A token value made safe for a one-line message: printable ASCII only. */
static const char *clip(const char *s, char *buf, size_t cap)
{
    size_t o = 0, i = 0;
    if (s == NULL)
        return "(null)";
    for (; s[i] != '\0' && o + 1 < cap; i++)
        buf[o++] = ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) ? s[i] : '?';
    buf[o] = '\0';
    if (s[i] != '\0' && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
    return buf;
}

#define CLIP(s, b) clip((s), (b), sizeof(b))

/* ---- parsing ---------------------------------------------------------------- */

static int decode_seg(const char *seg, size_t n, const char *what, uint8_t **out, size_t *outlen,
                      struct aa_diag *d)
{
    struct aa_diag inner;
    size_t cap = aa_b64_decoded_max(n);
    uint8_t *buf = malloc(cap + 1);
    int rc;

    *out = NULL;
    *outlen = 0;
    if (buf == NULL)
        return aa_fail(d, AA_E_NOMEM, NULL, "out of memory");
    aa_diag_clear(&inner);
    /* RFC7515#2: base64url "with all trailing '=' characters omitted". */
    rc = aa_b64_decode(seg, n, AA_B64_URL, AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS, buf, cap,
                       outlen, &inner);
    if (rc != AA_OK) {
        free(buf);
        return aa_fail(d, AA_E_JWS_B64, "RFC7515#2", "JWS %s segment is not unpadded base64url: %s",
                       what, inner.msg);
    }
    buf[*outlen] = '\0';
    *out = buf;
    return AA_OK;
}

static int parse_json_seg(const uint8_t *p, size_t n, const char *what, const char *ref,
                          cJSON **out, struct aa_diag *d)
{
    int rc = aa_json_parse((const char *)p, n, NULL, out, d);
    if (rc == AA_OK)
        return AA_OK;
    /* Grammar and type defects are this module's "not a JSON object";
     * duplicates, depth, UTF-8 and limits keep their own codes. */
    if (rc == AA_E_JSON_SYNTAX || rc == AA_E_JSON_TYPE) {
        if (d != NULL) {
            d->code = AA_E_JWS_JSON;
            d->ref = ref;
        }
        rc = AA_E_JWS_JSON;
    }
    aa_diag_prefix(d, "JWS %s", what);
    return rc;
}

static int check_header(struct aa_jwt *t, struct aa_diag *d)
{
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(t->header, "alg");
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(t->header, "typ");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(t->header, "kid");
    char b[64];
    enum aa_alg a;

    /* PROFILE#4.1: "A crit header -> reject" (RFC7515#4.1.11 would make
     * every listed extension mandatory to understand; none is). */
    if (cJSON_GetObjectItemCaseSensitive(t->header, "crit") != NULL)
        return aa_fail(d, AA_E_JWS_CRIT, "PROFILE#4.1",
                       "JWS header carries \"crit\"; critical extensions are refused");
    if (!cJSON_IsString(alg))
        return aa_fail(d, AA_E_JWS_ALG, "RFC7515#4.1.1", "JWS header \"alg\" is %s",
                       alg ? "not a string" : "missing");
    if (aa_str_eq_ci(aa_str_c(alg->valuestring), "none"))
        return aa_fail(d, AA_E_JWS_ALG_NONE, "RFC7518#3.6",
                       "JWS header alg \"%s\": unsecured JWS is always refused (PROFILE#2.10)",
                       CLIP(alg->valuestring, b));
    a = aa_alg_from_jose(alg->valuestring);
    if (strncmp(alg->valuestring, "HS", 2) == 0)
        return aa_fail(d, AA_E_JWS_ALG, "PROFILE#2.10",
                       "JWS header alg \"%s\": HMAC algorithms are always refused",
                       CLIP(alg->valuestring, b));
    if (a == AA_ALG_NONE || a == AA_ALG_HS256)
        return aa_fail(d, AA_E_JWS_ALG, "RFC7515#4.1.1",
                       "JWS header alg \"%s\" is not supported (EdDSA, ES256, RS256, PS256, "
                       "PS512)",
                       CLIP(alg->valuestring, b));
    if (typ != NULL && !cJSON_IsString(typ))
        return aa_fail(d, AA_E_JWT_TYP, "RFC7515#4.1.9", "JWS header \"typ\" is not a string");
    if (kid != NULL && !cJSON_IsString(kid))
        return aa_fail(d, AA_E_JWS_KID, "RFC7515#4.1.4", "JWS header \"kid\" is not a string");
    t->alg = a;
    t->alg_name = alg->valuestring;
    t->typ = typ ? typ->valuestring : NULL;
    t->kid = kid ? kid->valuestring : NULL;
    return AA_OK;
}

int aa_jws_parse(const char *token, size_t len, unsigned flags, struct aa_jwt *out,
                 struct aa_diag *d)
{
    size_t dots[5], ndots = 0;
    uint8_t *hdr = NULL, *sig = NULL;
    size_t hl, pl, sl;
    struct aa_jwt t;
    int rc;

    if (out == NULL || (token == NULL && len > 0))
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_parse: NULL argument");
    memset(out, 0, sizeof(*out));
    memset(&t, 0, sizeof(t));
    if (len > AA_JWT_MAX_LEN)
        return aa_fail(d, AA_E_JWS_TOO_LARGE, "PROFILE#4.1",
                       "JWT of %zu bytes exceeds the limit of %d bytes (RB-03)", len,
                       AA_JWT_MAX_LEN);
    for (size_t i = 0; i < len; i++)
        if (token[i] == '.') {
            if (ndots < 5)
                dots[ndots] = i;
            ndots++;
        }
    if (ndots == 4)
        return aa_fail(d, AA_E_JWE_UNSUPPORTED, "PROFILE#4.5",
                       "token has five segments: a JWE (RFC7516#7.1), which is out of scope");
    if (ndots != 2)
        return aa_fail(d, AA_E_JWS_FORMAT, "RFC7515#7.1",
                       "token has %zu segment%s; a JWS compact serialization has exactly 3",
                       ndots + 1, ndots ? "s" : "");

    if ((rc = decode_seg(token, dots[0], "header", &hdr, &hl, d)) != AA_OK)
        goto fail;
    if ((rc = parse_json_seg(hdr, hl, "header", "RFC7515#4", &t.header, d)) != AA_OK)
        goto fail;
    if ((rc = check_header(&t, d)) != AA_OK)
        goto fail;
    if ((rc = decode_seg(token + dots[0] + 1, dots[1] - dots[0] - 1, "payload", &t.payload, &pl,
                         d)) != AA_OK)
        goto fail;
    t.payload_len = pl;
    if (!(flags & AA_JWS_RAW_PAYLOAD) &&
        (rc = parse_json_seg(t.payload, pl, "payload", "RFC7519#7.2", &t.claims, d)) != AA_OK)
        goto fail;
    if ((rc = decode_seg(token + dots[1] + 1, len - dots[1] - 1, "signature", &sig, &sl, d)) !=
        AA_OK)
        goto fail;
    if (sl > AA_CRYPTO_SIG_MAX) {
        rc = aa_fail(d, AA_E_LIMIT, "RFC7515#7.1", "JWS signature of %zu bytes exceeds %d bytes",
                     sl, AA_CRYPTO_SIG_MAX);
        goto fail;
    }
    memcpy(t.sig, sig, sl);
    t.sig_len = sl;
    t.signing_input = aa_strndup(token, dots[1]);
    if (t.signing_input == NULL) {
        rc = aa_fail(d, AA_E_NOMEM, NULL, "out of memory");
        goto fail;
    }
    t.signing_input_len = dots[1];
    free(hdr);
    free(sig);
    *out = t;
    return AA_OK;
fail:
    free(hdr);
    free(sig);
    aa_jwt_cleanup(&t);
    return rc;
}

int aa_jwt_parse(const char *token, size_t len, struct aa_jwt *out, struct aa_diag *d)
{
    return aa_jws_parse(token, len, 0, out, d);
}

void aa_jwt_cleanup(struct aa_jwt *t)
{
    if (t == NULL)
        return;
    cJSON_Delete(t->header);
    cJSON_Delete(t->claims);
    free(t->signing_input);
    if (t->payload != NULL)
        aa_cleanse(t->payload, t->payload_len);
    free(t->payload);
    memset(t, 0, sizeof(*t));
}

/* ---- verification and claims --------------------------------------------------- */

static const char *kty_name(enum aa_kty k)
{
    switch (k) {
    case AA_KTY_OKP:
        return "OKP";
    case AA_KTY_EC:
        return "EC";
    case AA_KTY_RSA:
        return "RSA";
    default:
        return "unknown";
    }
}

int aa_jwt_verify(const struct aa_jwt *t, const struct aa_jwk *key, struct aa_diag *d)
{
    char b[64];
    int rc;

    if (t == NULL || key == NULL || key->pkey == NULL || t->signing_input == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_verify: NULL argument or unparsed token");
    if (t->alg == AA_ALG_NONE)
        return aa_fail(d, AA_E_JWS_ALG_NONE, "RFC7518#3.6",
                       "JWS has no usable alg; unsecured JWS is always refused");
    if (t->alg == AA_ALG_HS256)
        return aa_fail(d, AA_E_JWS_ALG, "PROFILE#2.10", "JWS alg HS256 is always refused");
    if (!aa_alg_matches_key(t->alg, key))
        return aa_fail(d, AA_E_JWS_ALG, "PROFILE#2.10",
                       "JWS alg \"%s\" does not match the %s%s%s key \"%s\"",
                       aa_alg_jose_name(t->alg), kty_name(key->kty), key->crv[0] ? "/" : "",
                       key->crv, CLIP(key->kid, b));
    rc = aa_crypto_verify(t->alg, key, (const uint8_t *)t->signing_input, t->signing_input_len,
                          t->sig, t->sig_len);
    if (rc == AA_E_CRYPTO_BADSIG)
        return aa_fail(d, AA_E_JWS_SIGNATURE, "RFC7515#5.2",
                       "JWS signature (%s, %zu bytes) does not verify with key \"%s\"",
                       aa_alg_jose_name(t->alg), t->sig_len, CLIP(key->kid, b));
    if (rc == AA_E_CRYPTO_ALG)
        return aa_fail(d, AA_E_JWS_ALG, "PROFILE#2.10", "JWS alg \"%s\" does not match the key",
                       aa_alg_jose_name(t->alg));
    if (rc != AA_OK)
        return aa_fail(d, rc, NULL, "JWS verification: %s", aa_strerror(rc));
    return AA_OK;
}

int aa_jwt_require_kid(const struct aa_jwt *t, struct aa_diag *d)
{
    if (t == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_require_kid: NULL token");
    if (t->kid == NULL || t->kid[0] == '\0')
        return aa_fail(d, AA_E_JWS_KID, "PROFILE#4.1",
                       "JWS header \"kid\" is %s; typ, alg and kid are required",
                       t->kid ? "empty" : "missing");
    return AA_OK;
}

/* "application/agent+jwt" -> "agent+jwt" (RFC7515#4.1.9: the prefix may be
 * omitted when no other '/' appears). */
static struct aa_str media_short(const char *s)
{
    struct aa_str v = aa_str_c(s);
    static const char pfx[] = "application/";
    if (v.len > sizeof(pfx) - 1 && aa_str_eq_ci((struct aa_str){v.p, sizeof(pfx) - 1}, pfx) &&
        memchr(v.p + sizeof(pfx) - 1, '/', v.len - (sizeof(pfx) - 1)) == NULL) {
        v.p += sizeof(pfx) - 1;
        v.len -= sizeof(pfx) - 1;
    }
    return v;
}

int aa_jwt_check_typ(const struct aa_jwt *t, const char *expected, struct aa_diag *d)
{
    struct aa_str got, want;
    char b[64], e[64];

    if (t == NULL || expected == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_check_typ: NULL argument");
    if (t->typ == NULL)
        return aa_fail(d, AA_E_JWT_TYP, "PROFILE#4.1",
                       "JWT header \"typ\" is missing; expected \"%s\"", CLIP(expected, e));
    got = media_short(t->typ);
    want = media_short(expected);
    if (got.len == want.len) {
        bool same = true;
        for (size_t i = 0; i < got.len && same; i++) {
            char x = got.p[i], y = want.p[i];
            if (x >= 'A' && x <= 'Z')
                x = (char)(x + 32);
            if (y >= 'A' && y <= 'Z')
                y = (char)(y + 32);
            same = x == y;
        }
        if (same)
            return AA_OK;
    }
    return aa_fail(d, AA_E_JWT_TYP, "PROFILE#4.1",
                   "JWT header typ \"%s\" is not \"%s\" (compared case-insensitively, "
                   "\"application/\" prefix optional; D-28)",
                   CLIP(t->typ, b), CLIP(expected, e));
}

static int time_claim(const struct aa_jwt *t, const char *name, bool required, bool *present,
                      int64_t *v, struct aa_diag *d)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(t->claims, name);
    *present = false;
    if (it == NULL) {
        if (required)
            return aa_fail(d, AA_E_JWT_CLAIM, "PROFILE#4.2", "JWT claim \"%s\" is missing", name);
        return AA_OK;
    }
    if (!aa_json_int(t->claims, name, v))
        return aa_fail(d, AA_E_JWT_CLAIM, "PROFILE#4.1",
                       "JWT claim \"%s\" is not an integer NumericDate (issuers emit integer "
                       "times; RFC7519#2)",
                       name);
    *present = true;
    return AA_OK;
}

int aa_jwt_check_time(const struct aa_jwt *t, int64_t now, int64_t skew, unsigned flags,
                      struct aa_diag *d)
{
    int64_t exp = 0, nbf = 0, iat = 0;
    bool has;
    int rc;

    if (t == NULL || t->claims == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_check_time: no claims");
    if (skew < 0 || skew > SKEW_LIMIT || now < -TIME_LIMIT || now > TIME_LIMIT)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_check_time: now or skew out of range");
    if ((rc = time_claim(t, "exp", flags & AA_JWT_REQUIRE_EXP, &has, &exp, d)) != AA_OK)
        return rc;
    /* PROFILE#4.1 (D-6): reject if now >= exp + skew (RFC7519#4.1.4). */
    if (has && now >= exp + skew)
        return aa_fail(d, AA_E_JWT_EXPIRED, "RFC7519#4.1.4",
                       "JWT claim exp %lld: expired (now %lld >= exp + skew %lld)", (long long)exp,
                       (long long)now, (long long)skew);
    if ((rc = time_claim(t, "nbf", flags & AA_JWT_REQUIRE_NBF, &has, &nbf, d)) != AA_OK)
        return rc;
    if (has && nbf > now + skew)
        return aa_fail(d, AA_E_JWT_NBF, "RFC7519#4.1.5",
                       "JWT claim nbf %lld: not yet valid (nbf > now %lld + skew %lld)",
                       (long long)nbf, (long long)now, (long long)skew);
    if ((rc = time_claim(t, "iat", flags & AA_JWT_REQUIRE_IAT, &has, &iat, d)) != AA_OK)
        return rc;
    if (has && iat > now + skew)
        return aa_fail(d, AA_E_JWT_IAT, "PROFILE#4.1",
                       "JWT claim iat %lld: issued in the future (iat > now %lld + skew %lld)",
                       (long long)iat, (long long)now, (long long)skew);
    return AA_OK;
}

int aa_jwt_check_iss(const struct aa_jwt *t, const char *expected, struct aa_diag *d)
{
    const char *iss;
    char b[96], e[96];

    if (t == NULL || t->claims == NULL || expected == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_check_iss: NULL argument");
    iss = aa_json_str(t->claims, "iss");
    if (iss == NULL)
        return aa_fail(d, AA_E_JWT_ISS, "RFC7519#4.1.1", "JWT claim \"iss\" is %s",
                       cJSON_GetObjectItemCaseSensitive(t->claims, "iss") ? "not a string"
                                                                          : "missing");
    if (strcmp(iss, expected) != 0)
        return aa_fail(d, AA_E_JWT_ISS, "RFC7519#4.1.1",
                       "JWT claim iss \"%s\" is not the expected issuer \"%s\"", CLIP(iss, b),
                       CLIP(expected, e));
    return AA_OK;
}

int aa_jwt_check_aud(const struct aa_jwt *t, const char *receiver, bool required, struct aa_diag *d)
{
    const cJSON *aud, *it;
    char b[96], r[96];

    if (t == NULL || t->claims == NULL || receiver == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_check_aud: NULL argument");
    aud = cJSON_GetObjectItemCaseSensitive(t->claims, "aud");
    if (aud == NULL) {
        if (required)
            return aa_fail(d, AA_E_JWT_AUD, "RFC7519#4.1.3", "JWT claim \"aud\" is missing");
        return AA_OK;
    }
    if (cJSON_IsString(aud)) {
        if (strcmp(aud->valuestring, receiver) == 0)
            return AA_OK;
        return aa_fail(d, AA_E_JWT_AUD, "RFC7519#4.1.3",
                       "JWT claim aud \"%s\" does not name this receiver \"%s\"",
                       CLIP(aud->valuestring, b), CLIP(receiver, r));
    }
    if (!cJSON_IsArray(aud))
        return aa_fail(d, AA_E_JWT_AUD, "RFC7519#4.1.3",
                       "JWT claim \"aud\" is neither a string nor an array of strings");
    cJSON_ArrayForEach(it, aud) if (!cJSON_IsString(it)) return aa_fail(
        d, AA_E_JWT_AUD, "RFC7519#4.1.3", "JWT claim \"aud\" array holds a non-string value");
    cJSON_ArrayForEach(it, aud) if (strcmp(it->valuestring, receiver) == 0) return AA_OK;
    return aa_fail(d, AA_E_JWT_AUD, "RFC7519#4.1.3",
                   "JWT claim \"aud\" array (%d entries) does not contain this receiver \"%s\"",
                   cJSON_GetArraySize(aud), CLIP(receiver, r));
}

int aa_jwt_require_str(const struct aa_jwt *t, const char *name, struct aa_diag *d)
{
    const cJSON *it;
    int code = AA_E_JWT_CLAIM;
    const char *ref = "PROFILE#4.2";

    if (t == NULL || t->claims == NULL || name == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_require_str: NULL argument");
    if (strcmp(name, "sub") == 0) {
        code = AA_E_JWT_SUB;
        ref = "RFC7519#4.1.2";
    } else if (strcmp(name, "iss") == 0) {
        code = AA_E_JWT_ISS;
        ref = "RFC7519#4.1.1";
    }
    it = cJSON_GetObjectItemCaseSensitive(t->claims, name);
    if (it == NULL)
        return aa_fail(d, code, ref, "JWT claim \"%s\" is missing", name);
    if (!cJSON_IsString(it))
        return aa_fail(d, code, ref, "JWT claim \"%s\" is not a string", name);
    if (it->valuestring[0] == '\0')
        return aa_fail(d, code, ref, "JWT claim \"%s\" is an empty string", name);
    return AA_OK;
}

int aa_jwt_cnf_jwk(const struct aa_jwt *t, struct aa_jwk *out, struct aa_diag *d)
{
    const cJSON *cnf, *jwk;
    int rc;

    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_cnf_jwk: out is NULL");
    memset(out, 0, sizeof(*out));
    if (t == NULL || t->claims == NULL)
        return aa_fail(d, AA_E_INVAL, NULL, "aa_jwt_cnf_jwk: no claims");
    cnf = cJSON_GetObjectItemCaseSensitive(t->claims, "cnf");
    if (cnf == NULL)
        return aa_fail(d, AA_E_JWT_CNF, "RFC7800#3.1", "JWT claim \"cnf\" is missing");
    if (!cJSON_IsObject(cnf))
        return aa_fail(d, AA_E_JWT_CNF, "RFC7800#3.1", "JWT claim \"cnf\" is not an object");
    jwk = cJSON_GetObjectItemCaseSensitive(cnf, "jwk");
    if (jwk == NULL)
        return aa_fail(d, AA_E_JWT_CNF, "RFC7800#3.2", "JWT claim \"cnf\" has no \"jwk\"");
    if (!cJSON_IsObject(jwk))
        return aa_fail(d, AA_E_JWT_CNF, "RFC7800#3.2", "JWT claim cnf.jwk is not an object");
    rc = aa_jwk_from_cjson(jwk, AA_JWK_PUBLIC_ONLY, out, d);
    if (rc != AA_OK) {
        if (d != NULL && rc == AA_E_JWK_PRIVATE)
            d->ref = "PROFILE#4.1";
        aa_diag_prefix(d, "cnf.jwk");
    }
    return rc;
}

const char *aa_jwt_claim_str(const struct aa_jwt *t, const char *name)
{
    return t ? aa_json_str(t->claims, name) : NULL;
}

bool aa_jwt_claim_int(const struct aa_jwt *t, const char *name, int64_t *out)
{
    return t ? aa_json_int(t->claims, name, out) : false;
}

/* ---- building ----------------------------------------------------------------- */

struct build {
    const char *hdr;
    size_t hl;
    const uint8_t *pl;
    size_t pll;
    const uint8_t *swap; /* AA_JWT_MUT_PAYLOAD */
    size_t swapl;
    enum aa_alg alg; /* AA_ALG_NONE for the "none" mutation */
    const struct aa_jwk *key;
    unsigned mut;
    const uint8_t *hmac_key;
    size_t hmac_len;
};

/* Base64url of |p| appended to |tok|; with |pad|, '=' up to a multiple of 4. */
static size_t add_seg(struct aa_buf *tok, const uint8_t *p, size_t n, bool pad)
{
    size_t start = tok->len, added = 0;
    aa_b64_encode_buf(p, n, AA_B64_URL, false, tok);
    if (pad && !tok->err)
        while ((tok->len - start) % 4 != 0) {
            aa_buf_addc(tok, '=');
            added++;
        }
    return added;
}

static int build_token(const struct build *b, char **out)
{
    struct aa_buf tok;
    uint8_t sig[AA_CRYPTO_SIG_MAX];
    size_t siglen = 0, hdr_end, padded = 0;
    bool pad = b->mut & AA_JWT_MUT_PADDED;
    int rc = AA_OK;

    aa_buf_init(&tok, 0);
    padded += add_seg(&tok, (const uint8_t *)b->hdr, b->hl, pad);
    hdr_end = tok.len;
    aa_buf_addc(&tok, '.');
    padded += add_seg(&tok, b->pl, b->pll, pad);
    if (tok.err) {
        rc = tok.err;
        goto out;
    }
    /* RFC7515#5.1: the signature covers ASCII(header '.' payload) as sent. */
    if (b->alg == AA_ALG_NONE) {
        siglen = 0;
    } else if (b->alg == AA_ALG_HS256) {
        rc = aa_crypto_hmac_sha256(b->hmac_key, b->hmac_len, (const uint8_t *)tok.p, tok.len, sig);
        siglen = 32;
    } else {
        rc = aa_crypto_sign(b->alg, b->key, (const uint8_t *)tok.p, tok.len, sig, sizeof(sig),
                            &siglen);
    }
    if (rc != AA_OK)
        goto out;
    if ((b->mut & AA_JWT_MUT_BAD_SIG) && siglen > 0)
        sig[0] ^= 0x01;
    if (b->mut & AA_JWT_MUT_PAYLOAD) {
        tok.len = hdr_end + 1;
        tok.p[tok.len] = '\0';
        add_seg(&tok, b->swap, b->swapl, pad);
        if (tok.err) {
            rc = tok.err;
            goto out;
        }
    }
    if (b->mut & AA_JWT_MUT_BAD_B64) {
        size_t ps = hdr_end + 1, pe = tok.len;
        if (pe > ps)
            tok.p[ps + (pe - ps) / 2] = '+';
        else
            aa_buf_addc(&tok, '+');
    }
    if (!(b->mut & AA_JWT_MUT_TWO_SEGS)) {
        aa_buf_addc(&tok, '.');
        padded += add_seg(&tok, sig, siglen, pad);
    }
    if (tok.err) {
        rc = tok.err;
        goto out;
    }
    if (pad && padded == 0) {
        rc = AA_E_INVAL; /* the mutation would be invisible */
        goto out;
    }
    *out = aa_buf_detach(&tok, NULL);
    rc = *out ? AA_OK : AA_E_NOMEM;
out:
    aa_cleanse(sig, sizeof(sig));
    aa_buf_free(&tok);
    return rc;
}

int aa_jws_sign_raw(const char *header_json, size_t hlen, const uint8_t *payload, size_t plen,
                    enum aa_alg alg, const struct aa_jwk *key, char **out)
{
    struct build b;

    if (out == NULL)
        return AA_E_INVAL;
    *out = NULL;
    if (header_json == NULL || (payload == NULL && plen > 0) || key == NULL || alg == AA_ALG_NONE ||
        alg == AA_ALG_HS256)
        return AA_E_INVAL;
    memset(&b, 0, sizeof(b));
    b.hdr = header_json;
    b.hl = hlen;
    b.pl = payload;
    b.pll = plen;
    b.alg = alg;
    b.key = key;
    return build_token(&b, out);
}

int aa_jwt_sign(const cJSON *header, const cJSON *claims, enum aa_alg alg, const struct aa_jwk *key,
                const struct aa_jwt_build_opts *opts, char **out)
{
    static const struct aa_jwt_build_opts none = {0, NULL, 0, NULL};
    struct aa_buf hb, cb, sb;
    struct build b;
    cJSON *h = NULL;
    const cJSON *it;
    const char *alg_name;
    int rc;

    if (out == NULL)
        return AA_E_INVAL;
    *out = NULL;
    if (opts == NULL)
        opts = &none;
    if (claims == NULL || (header != NULL && !cJSON_IsObject(header)))
        return AA_E_INVAL;
    memset(&b, 0, sizeof(b));
    b.mut = opts->mutations;
    if (alg == AA_ALG_HS256)
        b.mut |= AA_JWT_MUT_HS256;
    if (b.mut & AA_JWT_MUT_ALG_NONE) {
        b.alg = AA_ALG_NONE;
        alg_name = "none";
    } else if (b.mut & AA_JWT_MUT_HS256) {
        if (opts->hmac_key == NULL && opts->hmac_key_len > 0)
            return AA_E_INVAL;
        b.alg = AA_ALG_HS256;
        alg_name = "HS256";
        b.hmac_key = opts->hmac_key;
        b.hmac_len = opts->hmac_key_len;
    } else {
        alg_name = aa_alg_jose_name(alg);
        if (alg_name == NULL || key == NULL)
            return AA_E_INVAL;
        b.alg = alg;
        b.key = key;
    }
    if ((b.mut & AA_JWT_MUT_PAYLOAD) && opts->swap_claims == NULL)
        return AA_E_INVAL;

    /* "alg" first, then the caller's members in their order. */
    h = cJSON_CreateObject();
    if (h == NULL || cJSON_AddStringToObject(h, "alg", alg_name) == NULL) {
        cJSON_Delete(h);
        return AA_E_NOMEM;
    }
    if (header != NULL)
        cJSON_ArrayForEach(it, header)
        {
            cJSON *dup;
            if (it->string == NULL || strcmp(it->string, "alg") == 0)
                continue;
            dup = cJSON_Duplicate(it, 1);
            if (dup == NULL || !cJSON_AddItemToObject(h, it->string, dup)) {
                cJSON_Delete(dup);
                cJSON_Delete(h);
                return AA_E_NOMEM;
            }
        }
    aa_buf_init(&hb, 0);
    aa_buf_init(&cb, 0);
    aa_buf_init(&sb, 0);
    if ((rc = aa_json_print(h, &hb)) != AA_OK || (rc = aa_json_print(claims, &cb)) != AA_OK)
        goto out;
    if ((b.mut & AA_JWT_MUT_PAYLOAD) && (rc = aa_json_print(opts->swap_claims, &sb)) != AA_OK)
        goto out;
    b.hdr = hb.p;
    b.hl = hb.len;
    b.pl = (const uint8_t *)cb.p;
    b.pll = cb.len;
    b.swap = (const uint8_t *)sb.p;
    b.swapl = sb.len;
    rc = build_token(&b, out);
out:
    aa_buf_free(&sb);
    aa_buf_free(&cb);
    aa_buf_free(&hb);
    cJSON_Delete(h);
    return rc;
}

const char *aa_jose_strerror(int code)
{
    switch (code) {
    case AA_E_JWS_FORMAT:
        return "JWS is not three base64url segments";
    case AA_E_JWS_B64:
        return "JWS segment is not unpadded base64url";
    case AA_E_JWS_JSON:
        return "JWS header or payload is not a JSON object";
    case AA_E_JWS_ALG_NONE:
        return "JWS alg \"none\" refused";
    case AA_E_JWS_ALG:
        return "JWS alg unsupported or not matching the key";
    case AA_E_JWS_SIGNATURE:
        return "JWS signature invalid";
    case AA_E_JWS_TOO_LARGE:
        return "JWT exceeds the size limit";
    case AA_E_JWS_CRIT:
        return "JWS crit header refused";
    case AA_E_JWS_KID:
        return "JWS kid missing or not a string";
    case AA_E_JWT_TYP:
        return "JWT typ missing or wrong";
    case AA_E_JWT_EXPIRED:
        return "JWT expired";
    case AA_E_JWT_NBF:
        return "JWT not yet valid (nbf)";
    case AA_E_JWT_IAT:
        return "JWT issued in the future (iat)";
    case AA_E_JWT_ISS:
        return "JWT iss missing or wrong";
    case AA_E_JWT_AUD:
        return "JWT aud missing or excludes the receiver";
    case AA_E_JWT_CLAIM:
        return "JWT claim missing or of the wrong type";
    case AA_E_JWT_CNF:
        return "JWT cnf.jwk missing or invalid";
    case AA_E_JWT_SUB:
        return "JWT sub missing or wrong";
    case AA_E_JWE_UNSUPPORTED:
        return "JWE (five segments) is not supported";
    default:
        return NULL;
    }
}
