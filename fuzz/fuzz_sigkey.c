/*
 * fuzz_sigkey: the Signature-Key header grammar (PROFILE#2.1, D-8) and the
 * per-scheme rules (PROFILE#2.3), harness/aauth/aa_sigkey.h.
 * fuzz-libs: aa_aauth aa_httpsig aa_jose aa_jwk aa_sf aa_http aa_json aa_b64 aa_core
 *
 * The input is one Signature-Key field value. Checks:
 *   1. Rejections carry a citation (aa_sigkey_parse, _validate,
 *      _hwk_key); hostile bytes never give a fault.
 *   2. A parsed value is well-formed: a label that is an sf-key, at most
 *      AA_SIGKEY_MAX_PARAMS parameters with unique sf-key names, values of
 *      visible ASCII and space only (sf-token / sf-string), the scheme enum
 *      matching the scheme parameter, aa_sigkey_get() finding each value.
 *   3. aa_sigkey_peek_label() agrees with the full parse on the label.
 *   4. Surrounding OWS is not part of the value: " value\t" parses exactly
 *      as "value" does (same result code, same parameters).
 *   5. Round trip: the canonical serialization parses to the same label,
 *      scheme and parameter set (name, value, token-ness), and serializing
 *      that again gives identical bytes; the legal non-canonical spellings
 *      (extra spaces, stored order) parse to the same set; scheme written
 *      as a string is refused with AA_E_SIGKEY_SCHEME (SK-01).
 *   6. Validation: jwks_mode is 1 or 2 exactly for an accepted jwks value;
 *      an hwk key that converts is public and carries the x / y / n / e
 *      the header sent.
 */
#include <stdlib.h>
#include <string.h>

#include "aauth/aa_aauth.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "json/aa_json.h"
#include "fuzz_common.h"
#include "sf/aa_sf.h"

AA_FUZZ_LINK_STRERROR(aa_aauth_strerror, aa_httpsig_strerror, aa_jose_strerror, aa_jwk_strerror,
                      aa_json_strerror, aa_sf_strerror, aa_b64_strerror, aa_http_strerror);

static void rejected(const char *what, int rc, const struct aa_diag *d)
{
    aa_fuzz_check_rejection(what, rc, d, true);
}

static const struct aa_sigkey_param *find(const struct aa_sigkey *sk, const char *name)
{
    for (size_t i = 0; i < sk->n; i++)
        if (strcmp(sk->params[i].name, name) == 0)
            return &sk->params[i];
    return NULL;
}

static void check_parsed(const struct aa_sigkey *sk)
{
    const char *scheme;

    AA_FUZZ_CHECK(sk->label && aa_sf_key_check(sk->label, strlen(sk->label), NULL) == AA_OK,
                  "label is not an sf-key");
    AA_FUZZ_CHECK(sk->n >= 1 && sk->n <= AA_SIGKEY_MAX_PARAMS, "%zu parameters accepted", sk->n);
    for (size_t i = 0; i < sk->n; i++) {
        const struct aa_sigkey_param *p = &sk->params[i];
        AA_FUZZ_CHECK(aa_sf_key_check(p->name, strlen(p->name), NULL) == AA_OK,
                      "parameter name \"%s\" is not an sf-key", p->name);
        AA_FUZZ_CHECK(strlen(p->value) == p->len, "value length mismatch");
        for (size_t j = 0; j < p->len; j++)
            AA_FUZZ_CHECK(p->value[j] >= 0x20 && p->value[j] < 0x7f,
                          "value of %s holds byte 0x%02x", p->name, (unsigned char)p->value[j]);
        for (size_t j = 0; j < i; j++)
            AA_FUZZ_CHECK(strcmp(p->name, sk->params[j].name) != 0, "parameter %s twice", p->name);
        AA_FUZZ_CHECK(aa_sigkey_get(sk, p->name) == p->value, "aa_sigkey_get(%s) missed", p->name);
    }
    scheme = aa_sigkey_get(sk, "scheme");
    AA_FUZZ_CHECK(scheme != NULL && find(sk, "scheme")->token, "accepted without a token scheme");
    enum aa_sigkey_scheme want = strcmp(scheme, "hwk") == 0    ? AA_SIGKEY_HWK
                                 : strcmp(scheme, "jwks") == 0 ? AA_SIGKEY_JWKS
                                 : strcmp(scheme, "jwt") == 0  ? AA_SIGKEY_JWT
                                 : strcmp(scheme, "x509") == 0 ? AA_SIGKEY_X509
                                                               : AA_SIGKEY_OTHER;
    AA_FUZZ_CHECK(sk->scheme == want, "scheme \"%s\" parsed as %d", scheme, (int)sk->scheme);
}

static bool same_set(const struct aa_sigkey *a, const struct aa_sigkey *b)
{
    if (strcmp(a->label, b->label) != 0 || a->n != b->n || a->scheme != b->scheme)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct aa_sigkey_param *q = find(b, a->params[i].name);
        if (q == NULL || q->len != a->params[i].len ||
            memcmp(q->value, a->params[i].value, q->len) != 0 || q->token != a->params[i].token)
            return false;
    }
    return true;
}

static void check_spelling(const struct aa_sigkey *sk, unsigned flags)
{
    struct aa_buf out;
    struct aa_sigkey again;
    struct aa_diag d;
    int rc;

    aa_buf_init(&out, AA_BUF_DEFAULT_MAX);
    rc = aa_sigkey_serialize_ex(NULL, sk, flags, &out);
    AA_FUZZ_CHECK(rc == AA_OK, "parsed Signature-Key does not serialize (flags 0x%x): %d", flags,
                  rc);
    memset(&again, 0, sizeof(again));
    aa_diag_clear(&d);
    rc = aa_sigkey_parse(NULL, out.p, out.len, &again, &d);
    if (flags & AA_SIGKEY_SER_SCHEME_STRING) {
        AA_FUZZ_CHECK(rc == AA_E_SIGKEY_SCHEME, "scheme as a string gave %d: %s", rc, out.p);
    } else {
        AA_FUZZ_CHECK(rc == AA_OK, "own spelling (flags 0x%x) \"%s\" does not parse: %s", flags,
                      out.p, d.msg);
        AA_FUZZ_CHECK(same_set(sk, &again), "spelling (flags 0x%x) \"%s\" parses differently",
                      flags, out.p);
        if (flags == 0) {
            struct aa_buf out2;
            aa_buf_init(&out2, AA_BUF_DEFAULT_MAX);
            AA_FUZZ_CHECK(aa_sigkey_serialize(NULL, &again, &out2) == AA_OK &&
                              out2.len == out.len && memcmp(out2.p, out.p, out.len) == 0,
                          "canonical form is not a fixed point: %s", out.p);
            aa_buf_free(&out2);
        }
        aa_sigkey_cleanup(&again);
    }
    aa_buf_free(&out);
}

static void check_validate(struct aa_sigkey *sk)
{
    struct aa_diag d;
    struct aa_jwk key;
    int rc;

    aa_diag_clear(&d);
    rc = aa_sigkey_validate(NULL, sk, &d);
    if (rc != AA_OK) {
        rejected("aa_sigkey_validate", rc, &d);
        return;
    }
    AA_FUZZ_CHECK((sk->scheme == AA_SIGKEY_JWKS) == (sk->jwks_mode == 1 || sk->jwks_mode == 2),
                  "scheme %d with jwks_mode %d", (int)sk->scheme, sk->jwks_mode);
    if (sk->scheme != AA_SIGKEY_HWK)
        return;
    aa_diag_clear(&d);
    rc = aa_sigkey_hwk_key(NULL, sk, &key, &d);
    if (rc != AA_OK) {
        rejected("aa_sigkey_hwk_key", rc, &d);
        return;
    }
    AA_FUZZ_CHECK(!key.is_private, "hwk produced a private key");
    static const char *const members[] = {"x", "y", "n", "e"};
    for (size_t i = 0; i < 4; i++) {
        const char *sent = aa_sigkey_get(sk, members[i]);
        struct aa_buf m;
        aa_buf_init(&m, AA_BUF_DEFAULT_MAX);
        if (sent != NULL && aa_jwk_public_member(&key, members[i], &m) == AA_OK)
            AA_FUZZ_CHECK(strcmp(m.p, sent) == 0, "hwk %s \"%s\" became \"%s\"", members[i], sent,
                          m.p);
        aa_buf_free(&m);
    }
    aa_jwk_cleanup(&key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = size ? (const char *)data : "";
    struct aa_sigkey sk, padded_sk;
    struct aa_str label;
    struct aa_diag d;
    int rc, prc;

    memset(&sk, 0, sizeof(sk));
    aa_diag_clear(&d);
    rc = aa_sigkey_parse(NULL, in, size, &sk, &d);
    if (rc != AA_OK) {
        rejected("aa_sigkey_parse", rc, &d);
        AA_FUZZ_CHECK(sk.label == NULL && sk.params == NULL && sk.n == 0,
                      "failed parse left data in |out|");
    }

    /* Invariant 4 (inputs that do not already carry OWS at an edge). */
    if (size > 0 && size + 2 <= AA_SIGKEY_MAX_LEN && in[0] != ' ' && in[0] != '\t' &&
        in[size - 1] != ' ' && in[size - 1] != '\t') {
        char *p = malloc(size + 2);
        AA_FUZZ_CHECK(p != NULL, "malloc");
        p[0] = ' ';
        memcpy(p + 1, in, size);
        p[size + 1] = '\t';
        memset(&padded_sk, 0, sizeof(padded_sk));
        prc = aa_sigkey_parse(NULL, p, size + 2, &padded_sk, NULL);
        AA_FUZZ_CHECK(prc == rc, "surrounding OWS changes the result: %d vs %d", prc, rc);
        if (prc == AA_OK) {
            AA_FUZZ_CHECK(same_set(&sk, &padded_sk), "surrounding OWS changes the parse");
            aa_sigkey_cleanup(&padded_sk);
        }
        free(p);
    }
    if (rc != AA_OK)
        return 0;

    check_parsed(&sk);
    aa_diag_clear(&d);
    AA_FUZZ_CHECK(aa_sigkey_peek_label(in, size, &label, &d) == AA_OK && aa_str_eq(label, sk.label),
                  "peek_label disagrees with the parse: %s", d.msg);
    check_spelling(&sk, 0);
    check_spelling(&sk, AA_SIGKEY_SER_EXTRA_SPACES);
    check_spelling(&sk, AA_SIGKEY_SER_STORED_ORDER);
    check_spelling(&sk, AA_SIGKEY_SER_SCHEME_STRING);
    AA_FUZZ_CHECK(aa_sigkey_scheme_name(NULL, sk.scheme) != NULL, "scheme without a name");
    check_validate(&sk);
    aa_sigkey_cleanup(&sk);
    return 0;
}
