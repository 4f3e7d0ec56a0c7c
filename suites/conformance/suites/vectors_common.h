/*
 * vectors_common: what the vectors suite files share (vectors.c,
 * vectors_known.c, vectors_negative.c). Not a runner API: only vectors*.c
 * use it.
 *
 *   - loading a vector file, with the SKIP / ERROR policy of the suite;
 *   - a failure list that names each vector that differs and is recorded
 *     once per check (PASS with the count, or FAIL with the list);
 *   - an HTTP message view over a vector's JSON message;
 *   - the AA_E_* code of a name a vector file uses ("AA_E_JWS_FORMAT").
 *
 * Design choice: a missing vectors directory or a missing vector file
 * makes the checks that need it SKIP with the path in the reason (an
 * installed runner may not ship the source tree); a file that exists but
 * cannot be read or is not JSON is ERROR (a broken installation, not a
 * verdict); an entry missing from a readable file is ERROR too.
 */
#ifndef VECTORS_COMMON_H
#define VECTORS_COMMON_H

#include <cJSON.h>

#include "aa_runner.h"
#include "httpsig/aa_httpsig.h"
#include "jwk/aa_jwk.h"

#define VEC_FILE_MAX ((size_t)4 * 1024 * 1024)
#define VEC_MAX_FIELDS 32
#define VEC_LISTED_MAX 6 /* failing vector names quoted in one result */

/*
 * vectors/<rel> parsed as JSON (the caller cJSON_Delete()s it). NULL after
 * recording, for every check in the NULL-terminated |checks|: SKIP (no
 * vectors directory, or no such file) or ERROR (unreadable, not JSON).
 */
cJSON *vec_load(const char *rel, const struct aa_check *const *checks);

/* String member |k| of |o|, or NULL. */
const char *vec_str(const cJSON *o, const char *k);

/*
 * Failure list of one check: vec_fault_add() appends "name: problem"
 * (quoting at most VEC_LISTED_MAX), vec_faults_record() records PASS
 * ("N vectors as expected") or a failure listing them, and frees the
 * list. Initialise with vec_faults_init().
 */
struct vec_faults {
    struct aa_buf text;
    int n;
};
void vec_faults_init(struct vec_faults *f);
void vec_fault_add(struct vec_faults *f, const char *name, const char *fmt, ...) AA_PRINTF(3, 4);
void vec_faults_record(const struct aa_check *c, struct vec_faults *f, int total);

/*
 * Message view over a vector message {"method","scheme","authority",
 * "target","headers":[[n,v],...],"body"} or a response {"status",...}
 * (or "response": true). Strings stay owned by the cJSON tree. false when
 * the message lacks its request line / status or has too many fields.
 */
struct vec_msg {
    struct aa_httpsig_msg m;
    struct aa_httpsig_field f[VEC_MAX_FIELDS];
};
bool vec_load_msg(const cJSON *j, struct vec_msg *v);

/* Key from a JWK object (|flags| AA_JWK_*); AA_E_INVAL when |o| is NULL. */
int vec_jwk(const cJSON *o, unsigned flags, struct aa_jwk *k, struct aa_diag *d);

/* Lowercase or uppercase hex to bytes; false when not exactly hex or more
 * than |cap| bytes. */
bool vec_unhex(const char *hex, uint8_t *out, size_t cap, size_t *n);
/* Bytes to lowercase hex; |out| holds 2 * n + 1. */
void vec_tohex(const uint8_t *in, size_t n, char *out);

/* The AA_E_* code (or AA_OK) a vector names; false when unknown. */
bool vec_code(const char *name, int *out);

/* Byte for byte comparison of a text with the vector's: PASS naming
 * |what| and its length, or a failure naming the first differing byte. */
bool vec_expect_text(const struct aa_check *c, const char *what, const char *want, const char *got,
                     size_t got_len);

/* The covered components of a parsed Signature-Input, to sign the same
 * list again; false when there are more than |cap|. */
bool vec_components(const struct aa_httpsig_input *in, struct aa_httpsig_component *c, size_t cap,
                    size_t *n);

/* A harness call on a vector failed with |rc|: ERROR for a fault
 * (aa_err_is_fault), otherwise a failure of |c| naming |what|, the code
 * and the diagnostic (the harness got an RFC's own example wrong). */
void vec_record_rc(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d);

/* Flip one bit of the Byte Sequence of member |label| of |signature| and
 * write the result ("label=:...:") into |out|. */
int vec_flip_signature(const char *signature, const char *label, struct aa_buf *out);

#endif
