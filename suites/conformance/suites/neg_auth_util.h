/*
 * neg_auth_util: what the negative suites "neg-auth" and "neg-agent" share
 * (PROFILE#9): a delegate of the agent server as the requesting identity,
 * one signed request with full control over what is signed and what is
 * sent, identities hosted by the harness with keys it holds, hostile
 * tokens, and recording helpers.
 *
 * Keys: a hostile token is only a fair test when everything but the one
 * defect is right, so it is signed with the key of the identity it names:
 * the embedded roles' keys come from the runner (aa_conf_role_key, via
 * na_role_key); a target's key the harness cannot have (SKIP). Identities
 * the run does not contain - an agent or resource whose metadata names
 * someone else, a second agent, an untrusted upstream issuer - are hosted
 * by the case itself (na_ident): a tiny loopback server publishing the
 * metadata and JWKS of a key the case generated. Loopback http identifiers
 * exist only in dev mode (PROFILE#1 D-1): against an https target those
 * checks are SKIP with the reason (na_hosting_usable).
 *
 * Design choice: setup exchanges made by the reference client library
 * (agent token, resource token, consent) go into the case transcript
 * through na_flush() right before every verdict, so each result carries
 * the exchanges it rests on, in order, next to the exchanges the suite
 * sends itself with na_send() (signature base included).
 */
#ifndef NEG_AUTH_UTIL_H
#define NEG_AUTH_UTIL_H

#include <cJSON.h>

#include "aa_client.h"
#include "aa_runner.h"
#include "jose/aa_jose.h"
#include "jwk/aa_jwk.h"

#define NA_FORM_CT "application/x-www-form-urlencoded"
#define NA_JSON_CT "application/json"

/* ---- time ------------------------------------------------------------------ */

/* An aa_clock reading aa_conf_now() (honours --clock frozen). */
const struct aa_clock *na_clock(void);

/* ---- recording over the current case ------------------------------------------ */

/* Record ERROR (|na_error_rest|) or SKIP (|na_skip_rest|) with the reason
 * for every check of the current case that has no result yet. */
void na_error_rest(const char *fmt, ...) AA_PRINTF(1, 2);
void na_skip_rest(const char *fmt, ...) AA_PRINTF(1, 2);
/* The same for the NULL-terminated list |checks| only. */
void na_skip_list(const struct aa_check *const *checks, const char *fmt, ...) AA_PRINTF(2, 3);
void na_error_list(const struct aa_check *const *checks, const char *fmt, ...) AA_PRINTF(2, 3);
/* true when |c| has a result already. */
bool na_recorded(const struct aa_check *c);

/*
 * PROFILE#9 judgement of one exchange (aa_expect_http) with a second
 * accepted status / error. A note naming |what| (the variant sent) goes
 * into the transcript first. Returns true when the status was right.
 */
bool na_expect(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d,
               const struct aa_http_response *resp, long status, long alt_status, const char *error,
               const char *alt_error);
/* RB-02: POST |body| (built by the caller past 1 MiB; its err flag set
 * means it could not be) to |url| as |who| with "Expect: 100-continue",
 * so the target may refuse before the body is sent (RFC 9110 section
 * 10.1.1) - an early 413 followed by a close would otherwise reset the
 * connection under the body and the check could only be ERROR - and
 * expect 413. |resp| receives the answer. */
void na_expect_body_too_large(const struct aa_check *c, const char *who, const char *url,
                              const char *content_type, const struct aa_buf *body,
                              struct aa_http_response *resp);
/* Any 4xx is right (RB-05); 5xx, crash, hang and other statuses fail. */
bool na_expect_4xx(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d,
                   const struct aa_http_response *resp);
/*
 * MD-01: GET {t}/.well-known/|name| (PROFILE#3) into |resp| (the caller's,
 * initialised and cleaned up there), judged by |doc|: status 200
 * (na_expect, |what| names the document), Content-Type application/json
 * and one strict JSON object, stored in |*out| (the caller cJSON_Delete()s
 * it, NULL or not). false when nothing more can be judged: the case's
 * unrecorded checks are then not evaluated (ERROR when the URL cannot even
 * be built).
 */
bool na_metadata_get(const struct aa_conf_target *t, const char *name, const char *what,
                     const struct aa_check *doc, struct aa_http_response *resp, cJSON **out);

/* ---- the reference client as a setup tool -------------------------------------- */

struct na_client {
    struct aa_client *c;
    size_t tr_off; /* transcript bytes already copied into the case transcript */
};

/*
 * A delegate of the agent server in the run (target or embedded): own
 * Ed25519 key (|key| NULL: generated), |sub| (NULL: "delegate-1"), |label|
 * its name in transcripts (NULL: "DELEGATE"). The agent token is obtained
 * at once. AA_OK, or a client error code with |why|.
 */
int na_delegate_new(struct na_client *out, const char *sub, const struct aa_jwk *key,
                    const char *label, struct aa_buf *why);
void na_client_free(struct na_client *nc);
/* Copy the client's new transcript text into the case transcript. */
void na_flush(struct na_client *nc);
/* Describe a failed client call: "what: <code>: <diag>" into |why|. */
void na_client_why(struct aa_buf *why, const char *what, int rc, const struct aa_diag *d);

/* ---- the auth server in the run --------------------------------------------- */

struct na_as {
    const struct aa_conf_target *t;
    char *token_url; /* agent_token_endpoint */
    char *auth_url;  /* agent_auth_endpoint, or NULL */
    cJSON *meta;     /* the issuer metadata document */
};

/* Fetch {AS}/.well-known/aauth-issuer of |t| (NULL: the auth server role)
 * (recorded) and keep the endpoints. */
int na_as_init(struct na_as *as, const struct aa_conf_target *t, struct aa_buf *why);
void na_as_cleanup(struct na_as *as);

/* "{agent}/callback": the redirect_uri the reference agent registers. */
char *na_redirect_uri(void);

/* POST {R}/resource/token for |nc| (scope data.read): a resource token
 * naming |nc|'s agent and key. */
int na_resource_token(struct na_client *nc, char **rt, struct aa_buf *why);

/* ---- one request, fully controlled ---------------------------------------------- */

/*
 * A request signed one way and possibly sent another (PROFILE#9 SIG-24).
 * Unset members take the obvious default: POST, signed for |url| with the
 * same method, Content-Type |content_type| when there is a body.
 */
struct na_req {
    const char *method;
    const char *url;
    const char *target;         /* raw request-target to send (sets RAW) */
    const char *sign_method;    /* method that is signed */
    const char *sign_authority; /* @authority that is signed */
    const char *sign_target;    /* @path[?query] that is signed */
    const char *content_type;
    const char *body;
    size_t body_len;
    const char *const *headers; /* extra "Name", "value" pairs, NULL-terminated */
    const struct aa_jwk *key;   /* NULL: unsigned */
    const struct aa_sign_cred *cred;
    const struct aa_sign_opts *opts;
    /* After signing, the first header line named |after_name| is sent with
     * |after_value| instead ("%CREATED%" becomes the created value): a
     * malformed Signature-Input (SIG-29) or a control byte the signer
     * refuses to sign (RB-05). */
    const char *after_name;
    const char *after_value;
    unsigned flags; /* AA_HTTP_REQ_RAW, AA_HTTP_REQ_EXPECT_CONTINUE */
    bool nosign;    /* send unsigned even when a key is set */
};

/*
 * Sign (aa_aauth_sign with the harness clock), put the signature base in
 * the transcript, send with aa_conf_send under |who|. |keep| (optional,
 * initialised) receives every header line sent, so the exact request can
 * be replayed. A signer failure returns its code with nothing sent
 * (resp->status 0): record it with aa_check_fault().
 */
int na_send(const char *who, const struct na_req *r, struct aa_http_response *resp,
            struct aa_http_headers *keep, struct aa_diag *d);

/* Signature-Key credential helpers. */
struct aa_sign_cred na_cred_jwt(const char *token);
struct aa_sign_cred na_cred_raw(const char *raw);
/* "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"...\")" for |k|. */
char *na_hwk_value(const struct aa_jwk *k);

/* ---- identities hosted by the harness ------------------------------------------ */

struct na_host;

/* Whether peer |t| can fetch harness-hosted loopback http identities;
 * when not, |why| says so (the checks are SKIP). */
bool na_hosting_usable(const struct aa_conf_target *t, struct aa_buf *why);

/* An embedded role's private key (aa_conf_role_key); false with |why| when
 * the runner cannot give it (a target: the harness cannot sign for it). */
bool na_role_key(enum aa_role role, struct aa_jwk *out, struct aa_buf *why);

/*
 * An identity the harness hosts: a loopback server publishing
 * /.well-known/<wk> and /jwks.json with |key| (generated, kid random), with
 * "Cache-Control: no-store" so no peer keeps them beyond the case.
 * |kind|: "aauth-agent", "aauth-resource" or "aauth-issuer". |claimed_id|
 * (NULL: the origin) is the identifier member the metadata states, for
 * MD/SK-05/RT-08 cases.
 */
struct na_ident {
    struct na_host *host;
    char *id; /* the origin, "http://127.0.0.1:PORT" */
    struct aa_jwk key;
    char *metadata; /* as served */
};
int na_ident_start(struct na_ident *out, const char *kind, const char *claimed_id,
                   struct aa_buf *why);
void na_ident_stop(struct na_ident *id);

/* ---- tokens ------------------------------------------------------------------ */

/* {"typ":typ,"kid":kid} (NULL members left out). */
cJSON *na_jwt_header(const char *typ, const char *kid);
/* Sign with Ed25519 |key| (and |opts| mutations); NULL on failure. */
char *na_jwt(const cJSON *header, const cJSON *claims, const struct aa_jwk *key,
             const struct aa_jwt_build_opts *opts);
/* A JSON copy of |k|'s public members (kid included). */
cJSON *na_jwk_json(const struct aa_jwk *k, bool priv);
/* An agent+jwt for delegate key |cnf| issued by |agent| with |key|. */
cJSON *na_agent_claims(const char *agent, const char *sub, const struct aa_jwk *cnf);
/* A resource+jwt's claims: iss, aud, agent, agent_jkt, exp, iat, scope. */
cJSON *na_resource_claims(const char *iss, const char *aud, const char *agent,
                          const char *agent_jkt, const char *scope);

/* Random base64url text of |nbytes| bytes (ids, codes, nonces). */
char *na_random_b64(size_t nbytes);
/* |a| with "?"/"&" + |q| appended (q already encoded). */
char *na_url_with_query(const char *url, const char *q);

/* ---- the standard scene of the neg-auth cases --------------------------------- */

/*
 * The AS in the run, a delegate of the agent server (scheme=jwt with its
 * agent token, PROFILE#7.6) and, with NA_ENV_RT, a resource token for it
 * from the resource, plus the valid auth request built from them:
 *   request_type=auth&resource_token=RT&redirect_uri={agent}/callback
 * na_env_init() records ERROR for every check of the case when the scene
 * cannot be set up (the harness could not test) and returns false.
 */
struct na_env {
    struct na_as as;
    struct na_client dg;
    char *ru;
    char *rt;
    char *body;
    size_t body_len;
};
#define NA_ENV_RT 0x1u
bool na_env_init(struct na_env *e, unsigned flags);
void na_env_cleanup(struct na_env *e);
/* A form body "a=b&c=d" from NULL-terminated name, value pairs (a NULL
 * value leaves the pair out). */
char *na_form(const char *const *pairs);
/* Send |body| (form) to the token endpoint signed by the delegate
 * (scheme=jwt, agent token) with |opts| (may be NULL); |label| goes into
 * the transcript first. */
int na_env_post(struct na_env *e, const char *label, const char *body,
                const struct aa_sign_opts *opts, struct aa_http_response *resp, struct aa_diag *d);
/*
 * One judged request in the scene: unset members of |r| are filled (url:
 * the token endpoint; body: the valid auth request as a form; key and
 * credential: the delegate with its agent token unless |r->key| or
 * |r->cred| is set), |what| heads it in the transcript, then na_send and
 * na_expect (|status| 0: any 4xx). A harness failure to build the request
 * is ERROR. |out| (optional, initialised) keeps the response. Returns true
 * when the status was the expected one.
 */
bool na_env_check(struct na_env *e, const struct aa_check *c, const char *what, struct na_req *r,
                  long status, long alt_status, const char *error, const char *alt_error,
                  struct aa_http_response *out);
/* A top-level string member of a JSON response body (copied), or NULL. */
char *na_json_member(const struct aa_http_response *resp, const char *name);
/*
 * A grant for the scene's delegate (setup, not judged): the valid auth
 * request; when the AS asks for consent (a request_token), the scripted
 * user of PROFILE#6.6 consents and the code is redeemed. |at| and |rt|
 * (may be NULL) get the auth and refresh tokens (*rt NULL when none came).
 * false with |why| when no auth token could be obtained.
 */
bool na_env_grant(struct na_env *e, char **at, char **rt, struct aa_buf *why);
/* A transcript heading for the next exchange. */
void na_step(const char *fmt, ...) AA_PRINTF(1, 2);

#endif
