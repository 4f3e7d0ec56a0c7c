/*
 * Private to harness/sf: character classes of the RFC 8941 / RFC 9651
 * grammar and helpers shared by the parser, the serializer and the tree
 * code. Not installed; other modules use aa_sf.h only.
 */
#ifndef AA_SF_INTERNAL_H
#define AA_SF_INTERNAL_H

#include "aa_sf.h"

/* Largest magnitude an sf-integer (and a date) may have: 15 digits. */
#define SF_INT_MAX INT64_C(999999999999999)
/* Largest decimal in thousandths: 12 integer digits, 3 fraction digits. */
#define SF_DEC_MAX INT64_C(999999999999999)

static inline bool sf_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline bool sf_is_lcalpha(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static inline bool sf_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 8941 §3.1.2: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) */
static inline bool sf_is_key_first(unsigned char c)
{
    return sf_is_lcalpha(c) || c == '*';
}

static inline bool sf_is_key_char(unsigned char c)
{
    return sf_is_lcalpha(c) || sf_is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}

/* RFC 9110 §5.6.2 tchar. */
static inline bool sf_is_tchar(unsigned char c)
{
    if (sf_is_alpha(c) || sf_is_digit(c))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/* RFC 8941 §3.3.4: sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" ) */
static inline bool sf_is_token_first(unsigned char c)
{
    return sf_is_alpha(c) || c == '*';
}

static inline bool sf_is_token_char(unsigned char c)
{
    return sf_is_tchar(c) || c == ':' || c == '/';
}

/*
 * Offset of the first byte that breaks strict UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) in |p|, or |n| when the
 * whole sequence is valid.
 */
size_t aa_sf_utf8_bad_at(const uint8_t *p, size_t n);

/*
 * Describe the byte at |pos| of |in| for a message: "'x'" when printable,
 * "byte 0x1f" otherwise, "end of input" past the end. Returns |buf|.
 */
const char *aa_sf_show(const char *in, size_t len, size_t pos, char *buf, size_t cap);

#endif
