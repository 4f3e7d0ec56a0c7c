/*
 * delegation_common: what the flow suites delegation (F6, PROFILE#7.6),
 * pseudonymous (F1) and identity (F2) share: recording with seed-style
 * flow lines, requests on a role's identifier, JWT inspection with the
 * harness's own key discovery (every fetch in the transcript), and a
 * private agent server the harness controls.
 *
 * Design choice: a check's catalogue `line` reads like the seed ("typ claim
 * correct: {actual}") and is only true when the check passed. Every
 * non-passing observation recorded through these helpers therefore shows
 * the check's title instead, so a flow report never prints "✗ typ claim
 * correct: JWT"; expected and actual follow on their own lines.
 */
#ifndef DELEGATION_COMMON_H
#define DELEGATION_COMMON_H

#include "aa_ref.h"
#include "aa_runner.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"

/* ---- recording with flow lines ------------------------------------------ */

/* The outcome a broken requirement of |c| gets: FAIL, WARN or INFO by level. */
enum aa_outcome dlg_violation(const struct aa_check *c);
/* A level-mapped failure whose flow line is the check's title. */
void dlg_fail(const struct aa_check *c, const char *expected, const char *actual,
              const char *hint_fmt, ...) AA_PRINTF(4, 5);
/* WARN (a SHOULD broken inside a MUST check) with the title as flow line. */
void dlg_warn(const struct aa_check *c, const char *expected, const char *actual,
              const char *hint_fmt, ...) AA_PRINTF(4, 5);
/* SKIP with |reason| (the topology does not allow the check). */
void dlg_skip(const struct aa_check *c, const char *reason);
/* ERROR (a harness fault) with the title as flow line. */
void dlg_error(const struct aa_check *c, const char *fault_fmt, ...) AA_PRINTF(2, 3);
/* PASS with |actual| when |cond|, else dlg_fail(expected = c->expect). */
bool dlg_expect(const struct aa_check *c, bool cond, const char *actual_fmt, ...) AA_PRINTF(3, 4);
/* |actual| (NULL = absent) equals |expected| byte for byte. */
bool dlg_expect_str(const struct aa_check *c, const char *what, const char *expected,
                    const char *actual);
/* A harness validation call: AA_OK -> PASS with |pass_actual|; a fault code
 * (aa_err_is_fault) -> ERROR; any other code -> failure with |d|. */
bool dlg_expect_ok(const struct aa_check *c, int rc, const struct aa_diag *d,
                   const char *pass_actual);
/* PROFILE#9 semantics of aa_expect_http (aa_conf_http_classify), with the
 * title as the line of every non-passing outcome. Returns true when the
 * status was the expected one (PASS or WARN). */
bool dlg_expect_http(const struct aa_check *c, int rc, const struct aa_diag *d,
                     const struct aa_http_response *resp, long status, const char *error);
/* The same judgement, but a PASS is not recorded (the caller records its
 * own PASS with a better actual value after further checks). Returns
 * true when the status was the expected one. */
bool dlg_http_ok(const struct aa_check *c, int rc, const struct aa_diag *d,
                 const struct aa_http_response *resp, long status, const char *error);
/* As aa_check_not_evaluated (ERROR after an ERROR, SKIP after a SKIP,
 * otherwise a level-mapped failure, D-31), with the title as line. */
void dlg_not_evaluated(const struct aa_check *prereq, const struct aa_check *const *checks);
/* |c| was recorded and its worst outcome lets a flow go on: PASS,
 * PASS_QUIRK, WARN or INFO. */
bool dlg_held(const struct aa_check *c);
/* The first check of the NULL-terminated |checks| that does not hold. */
const struct aa_check *dlg_first_broken(const struct aa_check *const *checks);

/* ---- requests on identifiers ---------------------------------------------- */

struct dlg_req {
    const char *method;       /* "GET", "POST" */
    const char *url;          /* on the peer's identifier */
    const char *content_type; /* with a body */
    const void *body;
    size_t body_len;
};

/* Unsigned request, recorded in the transcript under |who|. */
int dlg_send(const char *who, const struct dlg_req *rq, struct aa_http_response *resp,
             struct aa_diag *d) AA_WUR;
/*
 * Signed request through aa_conf_send_signed (the harness clock, the
 * signature base in the transcript, the quirk probes): @authority is the
 * canonical authority of the identifier |rq->url| is on (PROFILE#2.5 D-2)
 * even when the harness connects elsewhere. A signer failure returns its
 * code before anything is sent (|resp| status 0).
 */
int dlg_send_signed(const char *who, const struct dlg_req *rq, const struct aa_jwk *key,
                    const struct aa_sign_cred *cred, const struct aa_sign_opts *opts,
                    struct aa_http_response *resp, struct aa_diag *d) AA_WUR;

/* The body as a strict JSON object (aa_json_parse), or NULL. */
cJSON *dlg_json_body(const struct aa_http_response *resp);
/* Cache-Control carries the no-store directive (RFC9111#5.2.2.5). */
bool dlg_no_store(const struct aa_http_response *resp);
/* Parse the first Agent-Auth field of |resp| (PROFILE#5). AA_OK, or the
 * parser's finding; AA_E_NOTFOUND (with |d|) when there is none. */
int dlg_challenge(const struct aa_http_response *resp, struct aa_challenge *out,
                  struct aa_diag *d) AA_WUR;

/* ---- tokens ------------------------------------------------------------------ */

/* Decode |token| (aa_jwt_parse) and write its header and claims to the
 * transcript as the seed does ("Token header: {...}"). */
int dlg_token_decode(const char *label, const char *token, struct aa_jwt *out,
                     struct aa_diag *d) AA_WUR;
/* First |n| characters of |token| plus "..." (the seed's display). */
void dlg_token_prefix(const char *token, size_t n, char *out, size_t cap);
/* RFC 7638 thumbprint of |k| into |out| ("" on failure). */
void dlg_thumbprint(const struct aa_jwk *k, char out[AA_JWK_THUMBPRINT_LEN + 1]);

/*
 * The key that verifies a token of issuer |iss|, found the way its
 * recipient would (PROFILE#4.3-#4.5 steps 4-6): GET
 * {iss}/.well-known/{well_known}, the identifier member equals |iss|,
 * GET its jwks_uri, JWKS parsed (PROFILE#3 rules), the key with |kid|.
 * Every exchange is in the transcript. |jwks_url| (may be NULL) gets the
 * jwks_uri. Returns AA_OK with |out| (public key; aa_jwk_cleanup), a
 * finding (AA_E_DISC_*, AA_E_JWK*, AA_E_JWKS_*) or a fault (AA_E_IO when
 * the peer could not be reached, AA_E_NOMEM...).
 */
int dlg_issuer_key(const char *iss, const char *well_known, const char *kid, struct aa_jwk *out,
                   struct aa_buf *jwks_url, struct aa_diag *d) AA_WUR;

/*
 * The checks every issued token gets. dlg_check_typ: the header typ is
 * |want| (the short form issuers emit PASSes; another D-28 spelling such as
 * "application/agent+jwt" is accepted by verifiers, so it is a WARN;
 * anything else fails). dlg_check_jws: the JWS verifies under the key
 * |iss| publishes (dlg_issuer_key + aa_jwt_verify). Each records |c| and
 * returns true when it held.
 */
bool dlg_check_typ(const struct aa_check *c, const struct aa_jwt *t, const char *want);
bool dlg_check_jws(const struct aa_check *c, const struct aa_jwt *t, const char *iss,
                   const char *well_known);

/* A fresh Ed25519 key with |kid| (a harness fault is returned as is). */
int dlg_keygen(const char *kid, struct aa_jwk *out) AA_WUR;

/* ---- the harness's own agent server ---------------------------------------- */

/*
 * A reference agent server started inside the case process on
 * 127.0.0.1 (any port) with a key the harness holds: an agent identity
 * the harness can sign for with jwks Mode 2, whose metadata and JWKS
 * fetches it can count (PROFILE#7 F2.3: "when the harness hosts AG, it
 * confirms that R fetched the metadata and JWKS"). Each one has a new
 * identifier and a random kid, so no resource can answer from a cache.
 */
struct dlg_agent {
    struct aa_ref_server *srv;
    struct aa_ref_clock clock;
    struct aa_jwk key; /* private; kid "harness-<hex>" */
    const char *id;    /* aa_ref_id */
};
int dlg_agent_start(struct dlg_agent *a, struct aa_diag *d) AA_WUR;
void dlg_agent_stop(struct dlg_agent *a);
/* Requests answered for {id}/.well-known/aauth-agent and for its JWKS. */
uint64_t dlg_agent_metadata_hits(const struct dlg_agent *a);
uint64_t dlg_agent_jwks_hits(const struct dlg_agent *a);

/* ---- small helpers ------------------------------------------------------------ */

/* "{base}{path}" into |out| (reset first). */
int dlg_url(struct aa_buf *out, const char *base, const char *path);
/* A JSON object {"k":"v",...} of the NULL-terminated name/value pairs
 * (values NULL are skipped) for aa_conf_json_equal. */
cJSON *dlg_json_object(const char *const *pairs);
/* |c| PASSes when the JSON body of |resp| holds |want| (NULL-terminated
 * name/value pairs) by value; the resource may add members, null counts
 * as absent (PROFILE#6.2). FAIL with the difference otherwise. */
void dlg_expect_body(const struct aa_check *c, const struct aa_http_response *resp,
                     const char *const *want);

#endif
