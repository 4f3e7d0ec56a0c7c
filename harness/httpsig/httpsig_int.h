/*
 * Internal declarations shared by the httpsig source files (not installed,
 * not part of the API).
 */
#ifndef AA_HTTPSIG_INT_H
#define AA_HTTPSIG_INT_H

#include "aa_httpsig.h"

/* Members examined by the lenient raw scanner. */
#define HTTPSIG_RAW_MAX 64

/* A dictionary member as raw text: key and the unparsed value after "=". */
struct httpsig_raw_member {
    struct aa_str key;
    struct aa_str value;
};

/* Split a dictionary-shaped field value into raw members (quotes, byte
 * sequences and parentheses respected). AA_E_SYNTAX / AA_E_LIMIT. */
int httpsig_raw_members(struct aa_str v, struct httpsig_raw_member *out, size_t cap, size_t *count);

/* The text between the delimiters of Signature member |label| (NULL: the
 * only member): ":...:" or, as a dialect, "\"...\"" (|quoted| set). */
int httpsig_raw_signature_text(struct aa_str v, const char *label, struct aa_str *text,
                               bool *quoted);

/* sf-key syntax and AA_HTTPSIG_LABEL_MAX (RFC8941#3.2). */
bool httpsig_label_ok(const char *label);

/* Read the defined signature parameters from |sp| into |p|. */
int httpsig_read_params(const struct aa_sf_params *sp, struct aa_httpsig_params *p,
                        struct aa_diag *d);

#endif
