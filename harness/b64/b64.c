/*
 * aa_b64: strict RFC 4648 base64/base64url codec (see aa_b64.h).
 * One decode loop serves both alphabets; the alphabet-specific table maps
 * foreign characters to "invalid" so a '-' in standard base64 is reported
 * precisely rather than silently accepted.
 */
#include "aa_b64.h"

#include <stdlib.h>
#include <string.h>

static const char ENC_STD[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char ENC_URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int dec_char(char c, enum aa_b64_variant v)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (v == AA_B64_STD) {
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
    } else {
        if (c == '-')
            return 62;
        if (c == '_')
            return 63;
    }
    return -1;
}

size_t aa_b64_encoded_len(size_t n, bool pad)
{
    if (pad)
        return (n + 2) / 3 * 4;
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t aa_b64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

int aa_b64_encode(const uint8_t *in, size_t n, enum aa_b64_variant v, bool pad,
                  char *out, size_t cap, size_t *outlen)
{
    const char *t = v == AA_B64_URL ? ENC_URL : ENC_STD;
    size_t need = aa_b64_encoded_len(n, pad);
    size_t i, o = 0;

    if (cap < need + 1)
        return AA_E_B64_SPACE;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[w >> 18 & 63];
        out[o++] = t[w >> 12 & 63];
        out[o++] = t[w >> 6 & 63];
        out[o++] = t[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        out[o++] = t[w >> 18 & 63];
        out[o++] = t[w >> 12 & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = t[w >> 18 & 63];
        out[o++] = t[w >> 12 & 63];
        out[o++] = t[w >> 6 & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return AA_OK;
}

int aa_b64_encode_buf(const uint8_t *in, size_t n, enum aa_b64_variant v,
                      bool pad, struct aa_buf *out)
{
    size_t need = aa_b64_encoded_len(n, pad);
    size_t start = out->len;
    int rc;

    /* Reserve by appending placeholder bytes, then encode in place; the
     * empty append makes sure the buffer exists even when need == 0. */
    if ((rc = aa_buf_add(out, "", 0)) != AA_OK)
        return rc;
    for (size_t i = 0; i < need; i++)
        if ((rc = aa_buf_addc(out, '\0')) != AA_OK)
            return rc;
    rc = aa_b64_encode(in, n, v, pad, out->p + start, need + 1, NULL);
    return rc;
}

static const char *alpha_name(enum aa_b64_variant v)
{
    return v == AA_B64_URL ? "base64url (RFC 4648 §5)" : "base64 (RFC 4648 §4)";
}

int aa_b64_decode(const char *in, size_t n, enum aa_b64_variant v,
                  enum aa_b64_pad pad, unsigned flags, uint8_t *out, size_t cap,
                  size_t *outlen, struct aa_diag *d)
{
    const char *ref = v == AA_B64_URL ? "RFC4648#5" : "RFC4648#4";
    size_t data = n, npad = 0, i, o = 0, rem;
    uint32_t acc = 0;
    int bits = 0;

    if (outlen)
        *outlen = 0;
    /* Count trailing '=' (at most 2) and reject '=' anywhere else. */
    while (data > 0 && in[data - 1] == '=' && npad < 3) {
        data--;
        npad++;
    }
    for (i = 0; i < data; i++) {
        char c = in[i];
        if (c == '=')
            return aa_fail(d, AA_E_B64_PADDING, ref,
                           "padding '=' at offset %zu before the end", i);
        if (dec_char(c, v) < 0) {
            if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e)
                return aa_fail(d, AA_E_B64_ALPHABET, ref,
                               "byte 0x%02x at offset %zu is outside %s",
                               (unsigned char)c, i, alpha_name(v));
            return aa_fail(d, AA_E_B64_ALPHABET, ref,
                           "character '%c' at offset %zu is outside %s%s", c, i,
                           alpha_name(v),
                           dec_char(c, v == AA_B64_URL ? AA_B64_STD : AA_B64_URL) >= 0
                               ? (v == AA_B64_URL ? " (it belongs to standard base64)"
                                                  : " (it belongs to base64url)")
                               : "");
        }
    }
    if (npad > 2)
        return aa_fail(d, AA_E_B64_PADDING, ref, "%zu padding characters (at most 2)", npad);
    rem = data % 4;
    if (rem == 1)
        return aa_fail(d, AA_E_B64_LENGTH, ref,
                       "%zu data characters is not a valid base64 length", data);
    if (npad > 0) {
        if (pad == AA_B64_PAD_FORBIDDEN)
            return aa_fail(d, AA_E_B64_PADDING, ref,
                           "padding '=' is not allowed here (unpadded %s expected)",
                           alpha_name(v));
        if (rem == 0 || npad != 4 - rem)
            return aa_fail(d, AA_E_B64_PADDING, ref,
                           "%zu padding characters do not fit %zu data characters",
                           npad, data);
    } else if (rem != 0 && pad == AA_B64_PAD_REQUIRED) {
        return aa_fail(d, AA_E_B64_PADDING, ref,
                       "padding missing: %zu characters is not a multiple of 4",
                       data);
    }
    if (data / 4 * 3 + (rem ? rem - 1 : 0) > cap)
        return aa_fail(d, AA_E_B64_SPACE, ref, "decoded value exceeds %zu bytes",
                       cap);
    for (i = 0; i < data; i++) {
        acc = acc << 6 | (uint32_t)dec_char(in[i], v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits & 0xff);
        }
    }
    if ((flags & AA_B64_STRICT_BITS) && bits > 0 && (acc & ((1u << bits) - 1)))
        return aa_fail(d, AA_E_B64_BITS, ref,
                       "non-zero unused trailing bits (non-canonical encoding)");
    if (outlen)
        *outlen = o;
    return AA_OK;
}

unsigned aa_b64_classify(const char *in, size_t n)
{
    unsigned c = 0;
    size_t i, ol, cap = aa_b64_decoded_max(n);
    uint8_t stackbuf[512];
    uint8_t *tmp = stackbuf;

    for (i = 0; i < n; i++) {
        if (in[i] == '-' || in[i] == '_')
            c |= AA_B64C_HAS_URL_CHARS;
        if (in[i] == '+' || in[i] == '/')
            c |= AA_B64C_HAS_STD_CHARS;
    }
    if (cap > sizeof(stackbuf) && (tmp = malloc(cap)) == NULL)
        return c | AA_B64C_INVALID;
    if (aa_b64_decode(in, n, AA_B64_STD, AA_B64_PAD_REQUIRED, 0, tmp, cap, &ol, NULL) == AA_OK)
        c |= AA_B64C_STD_PADDED;
    else if (aa_b64_decode(in, n, AA_B64_STD, AA_B64_PAD_FORBIDDEN, 0, tmp, cap, &ol, NULL) == AA_OK)
        c |= AA_B64C_STD_UNPADDED;
    if (memchr(in, '=', n) &&
        aa_b64_decode(in, n, AA_B64_URL, AA_B64_PAD_REQUIRED, 0, tmp, cap, &ol, NULL) == AA_OK)
        c |= AA_B64C_URL_PADDED;
    else if (aa_b64_decode(in, n, AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, tmp, cap, &ol, NULL) == AA_OK)
        c |= AA_B64C_URL_UNPADDED;
    if (tmp != stackbuf)
        free(tmp);
    if (!(c & (AA_B64C_STD_PADDED | AA_B64C_STD_UNPADDED | AA_B64C_URL_PADDED |
               AA_B64C_URL_UNPADDED)))
        c |= AA_B64C_INVALID;
    return c;
}

const char *aa_b64_class_name(unsigned cls)
{
    if (cls & AA_B64C_INVALID)
        return "not valid base64 in any variant";
    if ((cls & AA_B64C_HAS_URL_CHARS) && (cls & AA_B64C_URL_UNPADDED))
        return "base64url without padding";
    if ((cls & AA_B64C_HAS_URL_CHARS) && (cls & AA_B64C_URL_PADDED))
        return "base64url with padding";
    if (cls & AA_B64C_STD_PADDED)
        return "standard base64 with padding";
    if (cls & AA_B64C_STD_UNPADDED)
        return "standard base64 without padding";
    if (cls & AA_B64C_URL_UNPADDED)
        return "base64url without padding";
    return "base64url with padding";
}

const char *aa_b64_strerror(int code)
{
    switch (code) {
    case AA_E_B64_ALPHABET: return "character outside the base64 alphabet";
    case AA_E_B64_PADDING: return "bad base64 padding";
    case AA_E_B64_LENGTH: return "impossible base64 length";
    case AA_E_B64_BITS: return "non-canonical base64 (non-zero trailing bits)";
    case AA_E_B64_SPACE: return "base64 output buffer too small";
    default: return NULL;
    }
}
