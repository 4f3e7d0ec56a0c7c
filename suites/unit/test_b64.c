/* Strict base64 / base64url codec (RFC 4648 §4, §5; RFC 8941 §3.3.5). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64/aa_b64.h"

static int dec(const char *s, enum aa_b64_variant v, enum aa_b64_pad p, char *out,
               size_t *n, struct aa_diag *d)
{
    return aa_b64_decode(s, strlen(s), v, p, AA_B64_STRICT_BITS, (uint8_t *)out, 64, n, d);
}

/* RFC 4648 §10 test vectors, both alphabets, with and without padding. */
Test(b64, rfc4648_section10_vectors)
{
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[64];
        size_t n;
        cr_assert_eq(aa_b64_encode((const uint8_t *)plain[i], strlen(plain[i]), AA_B64_STD, true,
                                   out, sizeof(out), &n), AA_OK);
        cr_assert_str_eq(out, enc[i]);
        cr_assert_eq(dec(enc[i], AA_B64_STD, AA_B64_PAD_REQUIRED, out, &n, NULL), AA_OK);
        cr_assert_eq(n, strlen(plain[i]));
        cr_assert(memcmp(out, plain[i], n) == 0);
    }
}

Test(b64, url_alphabet_rejected_in_std)
{
    struct aa_diag d;
    char out[64];
    size_t n;
    aa_diag_clear(&d);
    cr_assert_eq(dec("ab-_", AA_B64_STD, AA_B64_PAD_OPTIONAL, out, &n, &d), AA_E_B64_ALPHABET);
    cr_assert(strstr(d.msg, "'-'") != NULL, "message names the character: %s", d.msg);
    cr_assert_str_eq(d.ref, "RFC4648#4");
    cr_assert_eq(dec("ab+/", AA_B64_URL, AA_B64_PAD_FORBIDDEN, out, &n, NULL), AA_E_B64_ALPHABET);
}

Test(b64, padding_rules)
{
    char out[64];
    size_t n;
    cr_assert_eq(dec("Zg", AA_B64_STD, AA_B64_PAD_REQUIRED, out, &n, NULL), AA_E_B64_PADDING);
    cr_assert_eq(dec("Zg", AA_B64_STD, AA_B64_PAD_OPTIONAL, out, &n, NULL), AA_OK);
    cr_assert_eq(dec("Zg==", AA_B64_URL, AA_B64_PAD_FORBIDDEN, out, &n, NULL), AA_E_B64_PADDING);
    cr_assert_eq(dec("Zg=", AA_B64_STD, AA_B64_PAD_REQUIRED, out, &n, NULL), AA_E_B64_PADDING);
    cr_assert_eq(dec("Z===", AA_B64_STD, AA_B64_PAD_REQUIRED, out, &n, NULL), AA_E_B64_PADDING);
    cr_assert_eq(dec("Zg==Zg==", AA_B64_STD, AA_B64_PAD_REQUIRED, out, &n, NULL), AA_E_B64_PADDING);
    cr_assert_eq(dec("Z", AA_B64_STD, AA_B64_PAD_OPTIONAL, out, &n, NULL), AA_E_B64_LENGTH);
    cr_assert_eq(dec("Zh==", AA_B64_STD, AA_B64_PAD_REQUIRED, out, &n, NULL), AA_E_B64_BITS);
    cr_assert_eq(dec("Zm9v ", AA_B64_STD, AA_B64_PAD_REQUIRED, out, &n, NULL), AA_E_B64_ALPHABET);
}

Test(b64, output_capacity_is_enforced)
{
    uint8_t out[2];
    size_t n;
    cr_assert_eq(aa_b64_decode("Zm9v", 4, AA_B64_STD, AA_B64_PAD_REQUIRED, 0, out, sizeof(out), &n,
                               NULL), AA_E_B64_SPACE);
}

/* The seed's Signature value (PROTOCOL.md §2.12 vector S1) is base64url. */
Test(b64, classify_seed_signature)
{
    const char *seed = "g1VmPaHtG7B1_vZ0FmmegnAtf804jio4EpC866wHyuPeQM07ikVZmAWxc5hjxR1SiveSq3ib9lgzDf7GwRL9AA";
    const char *good = "g1VmPaHtG7B1/vZ0FmmegnAtf804jio4EpC866wHyuPeQM07ikVZmAWxc5hjxR1SiveSq3ib9lgzDf7GwRL9AA==";
    unsigned c = aa_b64_classify(seed, strlen(seed));
    cr_assert(c & AA_B64C_URL_UNPADDED);
    cr_assert(!(c & (AA_B64C_STD_PADDED | AA_B64C_STD_UNPADDED)));
    cr_assert_str_eq(aa_b64_class_name(c), "base64url without padding");
    c = aa_b64_classify(good, strlen(good));
    cr_assert(c & AA_B64C_STD_PADDED);
    cr_assert_str_eq(aa_b64_class_name(c), "standard base64 with padding");
    cr_assert(aa_b64_classify("!!", 2) & AA_B64C_INVALID);
}

Test(core, diag_format_cites_spec)
{
    struct aa_diag d;
    char out[256];
    aa_fail(&d, AA_E_B64_ALPHABET, "RFC8941#4.2.7", "byte sequence contains '%c'", '_');
    aa_diag_format(&d, out, sizeof(out));
    cr_assert_str_eq(out, "RFC 8941 §4.2.7: byte sequence contains '_'");
    aa_diag_prefix(&d, "Signature %s", "sig1");
    cr_assert_str_eq(d.msg, "Signature sig1: byte sequence contains '_'");
    cr_assert_str_eq(aa_strerror(AA_E_B64_PADDING), "bad base64 padding");
}

Test(core, buf_limit_is_sticky)
{
    struct aa_buf b;
    aa_buf_init(&b, 8);
    cr_assert_eq(aa_buf_adds(&b, "12345678"), AA_OK);
    cr_assert_eq(aa_buf_addc(&b, 'x'), AA_E_LIMIT);
    cr_assert_eq(aa_buf_adds(&b, ""), AA_E_LIMIT);
    cr_assert_null(aa_buf_detach(&b, NULL));
    aa_buf_free(&b);
}

Test(core, parse_i64_bounds)
{
    int64_t v;
    cr_assert_eq(aa_parse_i64("9223372036854775807", 19, &v), AA_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(aa_parse_i64("-9223372036854775808", 20, &v), AA_OK);
    cr_assert_eq(aa_parse_i64("9223372036854775808", 19, &v), AA_E_LIMIT);
    cr_assert_eq(aa_parse_i64("12a", 3, &v), AA_E_SYNTAX);
    cr_assert_eq(aa_parse_i64("-", 1, &v), AA_E_SYNTAX);
}

Test(core, read_file_limits)
{
    char path[] = "/tmp/aa_core_read_XXXXXX";
    int fd = mkstemp(path);
    char *data = NULL;
    size_t n = 0;
    cr_assert(fd >= 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(write(fd, "0123456789", 10), 10);
    close(fd);
    cr_assert_eq(aa_read_file(path, 10000, &data, &n), AA_OK);
    cr_assert_eq(n, 10000);
    cr_assert_eq(data[n], '\0');
    cr_assert(memcmp(data + 9990, "0123456789", 10) == 0);
    free(data);
    cr_assert_eq(aa_read_file(path, 9999, &data, &n), AA_E_LIMIT);
    cr_assert_null(data);
    unlink(path);
    cr_assert_eq(aa_read_file(path, 10, &data, &n), AA_E_NOTFOUND);
}

Test(b64, encode_buf_empty_input)
{
    struct aa_buf b;
    aa_buf_init(&b, 64);
    cr_assert_eq(aa_b64_encode_buf((const uint8_t *)"", 0, AA_B64_STD, true, &b), AA_OK);
    cr_assert_not_null(b.p);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(aa_b64_encode_buf((const uint8_t *)"f", 1, AA_B64_URL, false, &b), AA_OK);
    cr_assert_str_eq(b.p, "Zg");
    aa_buf_free(&b);
}
