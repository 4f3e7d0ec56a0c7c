/*
 * fuzz_b64: strict base64 / base64url (harness/b64/aa_b64.h).
 * fuzz-libs: aa_b64 aa_core
 *
 * The input is used twice: as text for every decoder configuration and
 * classify, and as bytes to encode. Checks:
 *   1. Decoders never write past |cap|: every output buffer is a heap block
 *      of exactly |cap| bytes (ASan traps a write beyond it), and a valid
 *      input decoded with cap = needed - 1 fails with AA_E_B64_SPACE.
 *   2. A successful decode returns at most aa_b64_decoded_max(n) bytes,
 *      exactly floor(data_chars * 6 / 8).
 *   3. Policy lattice: PAD_OPTIONAL accepts exactly what PAD_REQUIRED or
 *      PAD_FORBIDDEN accepts; STRICT_BITS accepts a subset of non-strict,
 *      with the same bytes.
 *   4. Canonical round trip: a strict decode re-encodes (same variant,
 *      padding as in the input) to the identical text.
 *   5. decode(encode(x)) == x for both alphabets, padded and unpadded;
 *      encode into exactly encoded_len + 1 bytes succeeds, one byte less
 *      fails with AA_E_B64_SPACE; aa_b64_encode_buf gives the same text.
 *   6. aa_b64_classify agrees with the decoders: the validity bits match
 *      PAD_OPTIONAL decodes per alphabet, INVALID iff no validity bit, the
 *      "has chars" bits match the text, and a class name always exists.
 *   7. Rejections carry a citation (fuzz_common.h contract).
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "fuzz_common.h"

AA_FUZZ_LINK_STRERROR(aa_b64_strerror);

struct dec {
    int rc;
    uint8_t *out;
    size_t len;
};

static void decode(const char *in, size_t n, enum aa_b64_variant v, enum aa_b64_pad pad,
                   unsigned flags, struct dec *r)
{
    size_t cap = aa_b64_decoded_max(n);
    struct aa_diag d;

    r->out = malloc(cap ? cap : 1);
    AA_FUZZ_CHECK(r->out != NULL, "malloc");
    aa_diag_clear(&d);
    r->len = (size_t)-1;
    r->rc = aa_b64_decode(in, n, v, pad, flags, r->out, cap, &r->len, &d);
    if (r->rc == AA_OK) {
        AA_FUZZ_CHECK(r->len <= cap, "decode wrote %zu > cap %zu", r->len, cap);
    } else {
        AA_FUZZ_CHECK(r->len == 0, "failed decode set outlen %zu", r->len);
        AA_FUZZ_CHECK(r->rc != AA_E_B64_SPACE, "decoded_max(%zu) = %zu too small", n, cap);
        aa_fuzz_check_rejection("aa_b64_decode", r->rc, &d, true);
    }
}

static bool same(const struct dec *a, const struct dec *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->out, b->out, a->len) == 0);
}

static size_t data_chars(const char *in, size_t n)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    return n;
}

/* Invariant 1 with the tightest capacity. */
static void check_tight_cap(const char *in, size_t n, enum aa_b64_variant v, enum aa_b64_pad pad,
                            unsigned flags, const struct dec *full)
{
    uint8_t *buf;
    size_t len = 0;
    int rc;

    buf = malloc(full->len ? full->len : 1);
    AA_FUZZ_CHECK(buf != NULL, "malloc");
    rc = aa_b64_decode(in, n, v, pad, flags, buf, full->len, &len, NULL);
    AA_FUZZ_CHECK(rc == AA_OK && len == full->len && (len == 0 || !memcmp(buf, full->out, len)),
                  "decode into exactly %zu bytes: rc %d len %zu", full->len, rc, len);
    if (full->len > 0) {
        rc = aa_b64_decode(in, n, v, pad, flags, buf, full->len - 1, &len, NULL);
        AA_FUZZ_CHECK(rc == AA_E_B64_SPACE, "decode into %zu of %zu bytes: rc %d", full->len - 1,
                      full->len, rc);
    }
    free(buf);
}

static void check_decoders(const char *in, size_t n)
{
    static const enum aa_b64_variant vs[] = {AA_B64_STD, AA_B64_URL};
    bool ok_opt[2] = {false, false};

    for (size_t vi = 0; vi < 2; vi++) {
        enum aa_b64_variant v = vs[vi];
        struct dec r[3][2];
        bool padded = n > 0 && in[n - 1] == '=';

        for (int p = 0; p < 3; p++)
            for (int s = 0; s < 2; s++)
                decode(in, n, v, (enum aa_b64_pad)p, s ? AA_B64_STRICT_BITS : 0, &r[p][s]);
        for (int s = 0; s < 2; s++) {
            bool req = r[AA_B64_PAD_REQUIRED][s].rc == AA_OK;
            bool forb = r[AA_B64_PAD_FORBIDDEN][s].rc == AA_OK;
            bool opt = r[AA_B64_PAD_OPTIONAL][s].rc == AA_OK;
            AA_FUZZ_CHECK(opt == (req || forb),
                          "variant %d strict %d: optional %d, required %d, "
                          "forbidden %d",
                          (int)v, s, opt, req, forb);
            if (opt && req)
                AA_FUZZ_CHECK(same(&r[AA_B64_PAD_OPTIONAL][s], &r[AA_B64_PAD_REQUIRED][s]),
                              "optional and required decode differently");
            if (opt && forb)
                AA_FUZZ_CHECK(same(&r[AA_B64_PAD_OPTIONAL][s], &r[AA_B64_PAD_FORBIDDEN][s]),
                              "optional and forbidden decode differently");
        }
        for (int p = 0; p < 3; p++) {
            struct dec *strict = &r[p][1], *loose = &r[p][0];
            if (strict->rc == AA_OK)
                AA_FUZZ_CHECK(loose->rc == AA_OK && same(strict, loose),
                              "strict accepts what non-strict rejects or decodes differently");
            if (loose->rc == AA_OK) {
                size_t dc = data_chars(in, n);
                AA_FUZZ_CHECK(loose->len == dc * 6 / 8, "%zu data characters gave %zu bytes", dc,
                              loose->len);
                AA_FUZZ_CHECK(loose->len <= aa_b64_decoded_max(n), "over decoded_max");
                check_tight_cap(in, n, v, (enum aa_b64_pad)p, 0, loose);
            }
            if (strict->rc == AA_OK) {
                /* Invariant 4: canonical text comes back byte for byte. */
                size_t need = aa_b64_encoded_len(strict->len, padded);
                char *enc = malloc(need + 1);
                size_t elen = 0;
                AA_FUZZ_CHECK(enc != NULL, "malloc");
                AA_FUZZ_CHECK(aa_b64_encode(strict->out, strict->len, v, padded, enc, need + 1,
                                            &elen) == AA_OK,
                              "re-encode");
                AA_FUZZ_CHECK(elen == n && memcmp(enc, in, n) == 0,
                              "strict decode does not re-encode to the input");
                free(enc);
            }
        }
        ok_opt[vi] = r[AA_B64_PAD_OPTIONAL][0].rc == AA_OK;
        for (int p = 0; p < 3; p++)
            for (int s = 0; s < 2; s++)
                free(r[p][s].out);
    }

    /* Invariant 6. */
    unsigned cls = aa_b64_classify(in, n);
    bool std_bits = cls & (AA_B64C_STD_PADDED | AA_B64C_STD_UNPADDED);
    bool url_bits = cls & (AA_B64C_URL_PADDED | AA_B64C_URL_UNPADDED);
    AA_FUZZ_CHECK(std_bits == ok_opt[0], "classify std %d, decoder %d", std_bits, ok_opt[0]);
    AA_FUZZ_CHECK(url_bits == ok_opt[1], "classify url %d, decoder %d", url_bits, ok_opt[1]);
    AA_FUZZ_CHECK(!!(cls & AA_B64C_INVALID) == !(std_bits || url_bits), "INVALID bit inconsistent");
    AA_FUZZ_CHECK(!!(cls & AA_B64C_HAS_URL_CHARS) ==
                      (memchr(in, '-', n) != NULL || memchr(in, '_', n) != NULL),
                  "HAS_URL_CHARS inconsistent");
    AA_FUZZ_CHECK(!!(cls & AA_B64C_HAS_STD_CHARS) ==
                      (memchr(in, '+', n) != NULL || memchr(in, '/', n) != NULL),
                  "HAS_STD_CHARS inconsistent");
    if (cls & AA_B64C_HAS_URL_CHARS)
        AA_FUZZ_CHECK(!std_bits, "text with '-'/'_' classified as standard base64");
    if (cls & AA_B64C_HAS_STD_CHARS)
        AA_FUZZ_CHECK(!url_bits, "text with '+'/'/' classified as base64url");
    AA_FUZZ_CHECK(aa_b64_class_name(cls) != NULL && aa_b64_class_name(cls)[0] != '\0',
                  "class without a name");
}

static void check_encoders(const uint8_t *in, size_t n)
{
    static const enum aa_b64_variant vs[] = {AA_B64_STD, AA_B64_URL};

    for (size_t vi = 0; vi < 2; vi++) {
        for (int pad = 0; pad < 2; pad++) {
            size_t need = aa_b64_encoded_len(n, pad);
            char *enc = malloc(need + 1);
            uint8_t *back;
            size_t elen = 0, blen = 0;
            struct aa_buf buf;
            struct aa_diag d;
            int rc;

            AA_FUZZ_CHECK(enc != NULL, "malloc");
            /* One byte short of the NUL: refused, nothing written. */
            rc = aa_b64_encode(in, n, vs[vi], pad, enc, need, &elen);
            AA_FUZZ_CHECK(rc == AA_E_B64_SPACE, "encode into %zu of %zu bytes: rc %d", need,
                          need + 1, rc);
            rc = aa_b64_encode(in, n, vs[vi], pad, enc, need + 1, &elen);
            AA_FUZZ_CHECK(rc == AA_OK && elen == need && enc[need] == '\0',
                          "encode: rc %d len %zu need %zu", rc, elen, need);
            AA_FUZZ_CHECK(aa_b64_classify(enc, elen) &
                              (vs[vi] == AA_B64_STD ? (AA_B64C_STD_PADDED | AA_B64C_STD_UNPADDED)
                                                    : (AA_B64C_URL_PADDED | AA_B64C_URL_UNPADDED)),
                          "encoder output not classified as its own variant");

            back = malloc(n ? n : 1);
            AA_FUZZ_CHECK(back != NULL, "malloc");
            aa_diag_clear(&d);
            rc = aa_b64_decode(enc, elen, vs[vi], pad ? AA_B64_PAD_REQUIRED : AA_B64_PAD_FORBIDDEN,
                               AA_B64_STRICT_BITS, back, n, &blen, &d);
            AA_FUZZ_CHECK(rc == AA_OK, "decode(encode(x)) failed: %s", d.msg);
            AA_FUZZ_CHECK(blen == n && (n == 0 || memcmp(back, in, n) == 0),
                          "decode(encode(x)) != x");

            aa_buf_init(&buf, AA_BUF_DEFAULT_MAX);
            AA_FUZZ_CHECK(aa_buf_adds(&buf, "x") == AA_OK, "buf");
            rc = aa_b64_encode_buf(in, n, vs[vi], pad, &buf);
            AA_FUZZ_CHECK(rc == AA_OK && buf.len == need + 1 && memcmp(buf.p + 1, enc, need) == 0 &&
                              buf.p[buf.len] == '\0',
                          "encode_buf differs from encode");
            aa_buf_free(&buf);
            free(back);
            free(enc);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy: the text has no NUL terminator to lean on. */
    char *text = malloc(size ? size : 1);

    AA_FUZZ_CHECK(text != NULL, "malloc");
    if (size)
        memcpy(text, data, size);
    check_decoders(text, size);
    check_encoders(data, size);
    free(text);
    return 0;
}
