/*
 * aa_b64: strict base64 (RFC 4648 §4) and base64url (RFC 4648 §5).
 *
 * Name the flavour at every call site: RFC 8941 byte sequences are padded
 * standard base64; JOSE (RFC 7515 §2) is unpadded base64url. Decoders are
 * strict: a character of the other alphabet, misplaced or wrong padding,
 * whitespace and trailing garbage are all errors. aa_b64_classify() tells a
 * checker which variant some input really is, so it can say "this Signature
 * is base64url" instead of only "invalid".
 */
#ifndef AA_B64_H
#define AA_B64_H

#include "../core/aa_core.h"

enum {
    AA_E_B64_ALPHABET = -100, /* character outside the selected alphabet */
    AA_E_B64_PADDING = -101,  /* padding missing, misplaced or forbidden */
    AA_E_B64_LENGTH = -102,   /* length impossible for base64 (len % 4 == 1) */
    AA_E_B64_BITS = -103,     /* non-zero trailing bits (non-canonical) */
    AA_E_B64_SPACE = -104     /* output buffer too small */
};

enum aa_b64_variant { AA_B64_STD = 0, AA_B64_URL = 1 };

/* Padding policy for decoders. */
enum aa_b64_pad {
    AA_B64_PAD_REQUIRED = 0, /* "=" padding must be present and correct */
    AA_B64_PAD_FORBIDDEN = 1, /* no "=" allowed (JOSE) */
    AA_B64_PAD_OPTIONAL = 2   /* either correct padding or none */
};

/* Flags for aa_b64_decode. */
#define AA_B64_STRICT_BITS 0x1u /* reject non-zero unused trailing bits */

/* Encoded length without NUL. */
size_t aa_b64_encoded_len(size_t n, bool pad);
/* Upper bound of decoded length for |n| input characters. */
size_t aa_b64_decoded_max(size_t n);

/*
 * Encode |n| bytes into |out| (capacity |cap| including the NUL written).
 * Returns AA_OK or AA_E_B64_SPACE.
 */
int aa_b64_encode(const uint8_t *in, size_t n, enum aa_b64_variant v, bool pad,
                  char *out, size_t cap, size_t *outlen);
/* Encode into a growable buffer (appends). */
int aa_b64_encode_buf(const uint8_t *in, size_t n, enum aa_b64_variant v,
                      bool pad, struct aa_buf *out);

/*
 * Decode |n| characters. Writes at most |cap| bytes to |out| and sets
 * |*outlen|. |d| (optional) receives e.g. "RFC4648#5: character '_' at
 * offset 6 is outside base64" with code AA_E_B64_ALPHABET.
 */
int aa_b64_decode(const char *in, size_t n, enum aa_b64_variant v,
                  enum aa_b64_pad pad, unsigned flags, uint8_t *out, size_t cap,
                  size_t *outlen, struct aa_diag *d) AA_WUR;

/* What an input string looks like (bit set). */
#define AA_B64C_STD_PADDED 0x01u   /* valid standard base64 with padding */
#define AA_B64C_STD_UNPADDED 0x02u /* valid standard base64, padding omitted */
#define AA_B64C_URL_PADDED 0x04u   /* valid base64url with padding */
#define AA_B64C_URL_UNPADDED 0x08u /* valid base64url without padding */
#define AA_B64C_HAS_URL_CHARS 0x10u /* contains '-' or '_' */
#define AA_B64C_HAS_STD_CHARS 0x20u /* contains '+' or '/' */
#define AA_B64C_INVALID 0x80u      /* valid in no variant */
unsigned aa_b64_classify(const char *in, size_t n);
/* Short English description of a classification ("base64url without padding"). */
const char *aa_b64_class_name(unsigned cls);

const char *aa_b64_strerror(int code);

#endif
