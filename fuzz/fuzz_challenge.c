/*
 * fuzz_challenge: the Agent-Auth challenge (PROFILE#5, D-9;
 * harness/aauth/aa_challenge.h) and, on the same bytes, the Nonce header
 * format (PROFILE#2.9, D-10; aa_nonce_check in aa_nonce.h) - the two
 * AAuth header parsers besides Signature-Key.
 * fuzz-libs: aa_aauth aa_httpsig aa_jose aa_jwk aa_sf aa_http aa_json aa_b64 aa_core
 *
 * Checks:
 *   1. Rejections carry a citation; a failed parse leaves |out| zeroed.
 *   2. An accepted challenge is coherent: the httpsig member index is
 *      inside the List, at most AA_CHALLENGE_MAX_ALGS algs (each a
 *      non-empty string), algs_non_rfc8941 only with algs.
 *   3. Round trip: the reference spelling (aa_challenge_serialize) parses
 *      to the same identity (when auth-token is not set, see the header),
 *      auth-token, resource_token, auth_server and user_interaction, as a
 *      one-member List without algs; serializing that gives the same bytes.
 *   4. Nonce: aa_nonce_check accepts only values of at most 128
 *      characters that decode as unpadded base64url to at least 12 bytes,
 *      and accepts every canonical such value.
 */
#include <stdlib.h>
#include <string.h>

#include "aauth/aa_aauth.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "json/aa_json.h"
#include "fuzz_common.h"

AA_FUZZ_LINK_STRERROR(aa_aauth_strerror, aa_httpsig_strerror, aa_jose_strerror, aa_jwk_strerror,
                      aa_json_strerror, aa_sf_strerror, aa_b64_strerror, aa_http_strerror);

static bool str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_challenge(const char *in, size_t size)
{
    struct aa_challenge ch, again;
    struct aa_buf out, out2;
    struct aa_diag d;
    int rc;

    memset(&ch, 0, sizeof(ch));
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, in, size, &ch, &d);
    if (rc != AA_OK) {
        aa_fuzz_check_rejection("aa_challenge_parse", rc, &d, true);
        AA_FUZZ_CHECK(ch.resource_token == NULL && ch.auth_server == NULL &&
                          ch.user_interaction == NULL && ch.n_algs == 0,
                      "failed parse left data in |out|");
        return;
    }
    AA_FUZZ_CHECK(ch.n_members >= 1 && ch.member_index < ch.n_members, "member %zu of %zu",
                  ch.member_index, ch.n_members);
    AA_FUZZ_CHECK(ch.n_algs <= AA_CHALLENGE_MAX_ALGS, "%zu algs", ch.n_algs);
    AA_FUZZ_CHECK(ch.has_algs || (ch.n_algs == 0 && !ch.algs_non_rfc8941),
                  "algs data without an algs parameter");
    for (size_t i = 0; i < ch.n_algs; i++)
        AA_FUZZ_CHECK(ch.algs[i] != NULL, "alg %zu missing", i);

    aa_buf_init(&out, AA_BUF_DEFAULT_MAX);
    rc = aa_challenge_serialize(NULL, &ch, &out);
    AA_FUZZ_CHECK(rc == AA_OK, "accepted challenge does not serialize: %d", rc);
    memset(&again, 0, sizeof(again));
    aa_diag_clear(&d);
    rc = aa_challenge_parse(NULL, out.p, out.len, &again, &d);
    AA_FUZZ_CHECK(rc == AA_OK, "reference spelling \"%s\" does not parse: %s", out.p, d.msg);
    AA_FUZZ_CHECK(again.auth_token == ch.auth_token &&
                      (ch.auth_token || again.identity == ch.identity) &&
                      str_eq(again.resource_token, ch.resource_token) &&
                      str_eq(again.auth_server, ch.auth_server) &&
                      str_eq(again.user_interaction, ch.user_interaction),
                  "reference spelling \"%s\" parses to other values", out.p);
    AA_FUZZ_CHECK(again.n_members == 1 && again.member_index == 0 && !again.has_algs,
                  "reference spelling is not one member without algs: %s", out.p);
    aa_buf_init(&out2, AA_BUF_DEFAULT_MAX);
    AA_FUZZ_CHECK(aa_challenge_serialize(NULL, &again, &out2) == AA_OK && out2.len == out.len &&
                      memcmp(out.p, out2.p, out.len) == 0,
                  "reference spelling is not a fixed point: %s", out.p);
    aa_buf_free(&out2);
    aa_buf_free(&out);
    aa_challenge_cleanup(&again);
    aa_challenge_cleanup(&ch);
}

static void check_nonce(const char *in, size_t size)
{
    struct aa_diag d;
    uint8_t raw[256];
    size_t n = 0;
    int rc, strict;

    aa_diag_clear(&d);
    rc = aa_nonce_check(NULL, in, size, &d);
    if (rc != AA_OK)
        aa_fuzz_check_rejection("aa_nonce_check", rc, &d, true);
    if (size > AA_NONCE_MAX_CHARS) {
        AA_FUZZ_CHECK(rc != AA_OK, "Nonce of %zu characters accepted", size);
        return;
    }
    if (rc == AA_OK) {
        AA_FUZZ_CHECK(memchr(in, '=', size) == NULL, "Nonce with '=' accepted");
        AA_FUZZ_CHECK(aa_b64_decode(in, size, AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, raw, sizeof(raw),
                                    &n, NULL) == AA_OK &&
                          n >= AA_NONCE_MIN_BYTES,
                      "accepted Nonce is not >= 12 bytes of base64url");
    }
    strict = aa_b64_decode(in, size, AA_B64_URL, AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS, raw,
                           sizeof(raw), &n, NULL);
    if (strict == AA_OK && n >= AA_NONCE_MIN_BYTES)
        AA_FUZZ_CHECK(rc == AA_OK, "canonical %zu-byte Nonce refused: %s", n, d.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = size ? (const char *)data : "";

    check_challenge(in, size);
    check_nonce(in, size);
    return 0;
}
