/*
 * aa_challenge: the Agent-Auth response header (AAUTH#4; PROFILE#5, D-9).
 *
 * Parsed as an RFC 8941 List; the first member whose value is the token
 * `httpsig` is the challenge, other members are ignored. Parameters:
 * identity (Boolean), auth-token (Boolean; written as a bare key),
 * resource_token, auth_server, user_interaction (sf-strings); unknown
 * parameters are ignored. A known parameter of the wrong type is malformed.
 *
 * The single tolerated deviation (D-9): `algs=("ed25519" "rsa-pss-sha512")`,
 * an Inner List as a parameter value, which RFC 8941 forbids. It is cut out
 * of the text before the strict List parse and reported through
 * |algs_non_rfc8941| so a checker can WARN "non-RFC-8941 algs". Anything else
 * malformed is an error, and a client must not retry on it (CL-02).
 *
 * The builder emits exactly the reference spellings, with "; " between
 * parameters (valid RFC 8941, PROFILE#5):
 *   httpsig
 *   httpsig; identity=?1
 *   httpsig; auth-token; resource_token="..."; auth_server="..."
 *   httpsig; user_interaction="..."[; resource_token="..."; auth_server="..."]
 * It never emits algs (D-9).
 */
#ifndef AA_CHALLENGE_H
#define AA_CHALLENGE_H

#include "../core/aa_core.h"

struct aa_profile;

#define AA_CHALLENGE_MAX_LEN (16 * 1024) /* RB-01 */
#define AA_CHALLENGE_MAX_ALGS 16

/* Zero-initialise; strings owned; free with aa_challenge_cleanup(). */
struct aa_challenge {
    bool identity;            /* identity=?1 */
    bool auth_token;          /* auth-token */
    char *resource_token;     /* NULL when absent */
    char *auth_server;        /* NULL when absent */
    char *user_interaction;   /* NULL when absent */
    char *algs[AA_CHALLENGE_MAX_ALGS]; /* from the D-9 algs Inner List */
    size_t n_algs;
    bool has_algs;            /* an algs parameter was present */
    bool algs_non_rfc8941;    /* algs needed the D-9 leniency (checker WARN) */
    size_t member_index;      /* index of the httpsig member in the List */
    size_t n_members;         /* members in the List */
};

void aa_challenge_cleanup(struct aa_challenge *ch);

/*
 * Parse one Agent-Auth field value. |p| NULL = default profile.
 * Returns AA_OK, AA_E_LIMIT (> AA_CHALLENGE_MAX_LEN, > AA_CHALLENGE_MAX_ALGS),
 * AA_E_NOMEM, or a finding:
 *   AA_E_CHALLENGE_SYNTAX  not an RFC 8941 List after the D-9 leniency
 *                          (|d| carries the RFC 8941 reason), or a malformed
 *                          algs Inner List (not strings only)
 *   AA_E_CHALLENGE_NONE    no member is the token httpsig
 *   AA_E_CHALLENGE_PARAM   identity/auth-token not Boolean, or
 *                          resource_token/auth_server/user_interaction
 *                          not an sf-string
 * On failure |out| is zeroed.
 */
int aa_challenge_parse(const struct aa_profile *p, const char *in, size_t len,
                       struct aa_challenge *out, struct aa_diag *d) AA_WUR;

/*
 * Reference spelling of |ch| (see the file comment), appended to |out|.
 * identity=?1 is written only when set and auth_token is not (an auth-token
 * challenge implies an identified caller). Returns AA_OK, AA_E_NOMEM,
 * AA_E_LIMIT or AA_E_INVAL (a string with a byte outside 0x20..0x7E).
 */
int aa_challenge_serialize(const struct aa_profile *p, const struct aa_challenge *ch,
                           struct aa_buf *out);

/* Convenience builders: the three forms a resource sends (PROFILE#5). */
int aa_challenge_build_base(const struct aa_profile *p, bool identity,
                            struct aa_buf *out);
int aa_challenge_build_auth_token(const struct aa_profile *p,
                                  const char *resource_token,
                                  const char *auth_server, struct aa_buf *out);

#endif
