/*
 * neg_resource_util: what the neg-resource suite files share (PROFILE#9
 * against a resource). Not a runner API: only neg_resource*.c use it.
 *
 *   - a per-case fixture: the resource under test, an agent identity whose
 *     key the harness holds (so every agent token the cases need - valid
 *     or hostile - can be minted), a delegate key and an unrelated
 *     "attacker" key;
 *   - one call that signs a request (every signer variant, post-signing
 *     edits), sends it with the transcript and the signature base, and
 *     judges the answer under PROFILE#9 plus the PROFILE#5 challenge;
 *   - token builders over harness/jose (hostile agent and auth tokens).
 *
 * Design choice: the agent identity is the run's embedded agent server,
 * whose private key the runner hands to the case (aa_conf_role_key); when
 * the agent server is an implementation under test (no key), the case
 * starts a reference agent server of its own with a generated key, so the
 * AT cases never depend on which agent server is in the run.
 */
#ifndef NEG_RESOURCE_UTIL_H
#define NEG_RESOURCE_UTIL_H

#include <cJSON.h>

#include "aa_ref.h"
#include "aa_runner.h"
#include "jose/aa_jose.h"
#include "jwk/aa_jwk.h"

/* The reference paths that are not configurable in the runner (PROFILE#3). */
#define NR_WK_RESOURCE "aauth-resource"
#define NR_WK_AGENT "aauth-agent"
#define NR_WK_ISSUER "aauth-issuer"
#define NR_AGENT_KID "key-1"
#define NR_DELEGATE_KID "delegate-key-1"
#define NR_ATTACKER_KID "attacker-key-1"
#define NR_SUB "delegate-1"
/* Every case needs the auth server as well as the resource (an embedded
 * reference resource cannot start without the AS it names in challenges,
 * and the AU cases obtain auth tokens from it) and the agent server whose
 * identity signs the requests (an agent of the harness's own when the
 * run's agent server is under test). */
#define NR_NEEDS AA_NEED_ALL
/* PROFILE#9: time cases use +-120 s (twice the D-6 skew). */
#define NR_SKEW_CASE 120

struct nr_fx {
    const struct aa_conf_target *res;     /* the resource (target or embedded) */
    const struct aa_conf_target *as;      /* the run's auth server (may be absent) */
    char authority[AA_URL_AUTHORITY_MAX]; /* canonical authority of res->id (D-2) */
    struct aa_ref_clock clock;            /* harness time for the local servers */
    struct aa_ref_server *agent;          /* case-local agent server, or NULL */
    const char *agent_id;                 /* the agent identity the requests use */
    struct aa_jwk agent_key;              /* its signing key (private) and kid */
    struct aa_jwk dkey;                   /* a delegate key (private): cnf of agent tokens */
    struct aa_jwk other;                  /* an unrelated key (wrong key, attacker) */
    struct aa_sign_cred jwks_cred;        /* jwks Mode 2 of that agent identity */
};

/*
 * Start the fixture: resolve the resource and the agent identity (the
 * embedded agent server's key, or a case-local agent server), generate
 * the delegate and attacker keys. On failure every check of the current
 * case is recorded ERROR with the reason (SKIP when the resource cannot
 * reach the agent server the case would host, --harness-host) and false
 * is returned (the case then only calls nr_fx_cleanup).
 */
bool nr_fx_init(struct nr_fx *fx);
void nr_fx_cleanup(struct nr_fx *fx);

/* Record ERROR for every not yet recorded check of the current case. */
void nr_error_rest(const char *fmt, ...) AA_PRINTF(1, 2);
/* Record SKIP with |reason| for every not yet recorded check. */
void nr_skip_rest(const char *reason);
/* aa_check_not_evaluated(prereq, <every check of the current case>). */
void nr_not_evaluated_rest(const struct aa_check *prereq);
/* At the end of a case: when |chal| (a group's challenge check) was never
 * recorded because no 401 came back, record it not evaluated after the
 * first FAIL/ERROR of the case (D-31). */
void nr_finish_challenge(const struct aa_check *chal);

/* ---- requests ----------------------------------------------------------- */

/*
 * One request to the resource. Zero members take the defaults noted.
 * The request is signed (unless |unsigned_req|) over |sign_method|,
 * |sign_authority| and |sign_target| - which default to what is sent -
 * so a member set here changes exactly one thing (SIG-24). After signing,
 * |replace| (name, value pairs, NULL-terminated) replaces the value of
 * the first signer-emitted header of that name (or adds it).
 */
struct nr_req {
    const char *note;   /* catalogue reference for the transcript ("SIG-19 ...") */
    const char *method; /* sent; NULL: GET */
    const char *path;   /* request target; NULL: the resource's jwks path */
    /* Absolute URL to connect to instead of the resource's connect_url +
     * |path| (another role, e.g. the AS); the signed authority and target
     * then default to this URL's. */
    const char *url;
    const char *ctype; /* Content-Type of |body| */
    const void *body;
    size_t body_len;
    const struct aa_http_headers *headers; /* more request headers (signed as sent) */
    bool raw;                              /* AA_HTTP_REQ_RAW */
    bool expect_continue;                  /* AA_HTTP_REQ_EXPECT_CONTINUE */
    bool unsigned_req;
    const char *sign_method, *sign_authority, *sign_target;
    const struct aa_jwk *key;        /* NULL: the agent identity's key */
    const struct aa_sign_cred *cred; /* NULL: jwks Mode 2 of the agent identity */
    const struct aa_sign_opts *opts; /* NULL: the reference signer */
    const char *const *replace;
    /* When set, a signature |sig_filter| refuses is made again with
     * created one second earlier (at most NR_RESIGN_MAX times, all inside
     * the 60 s window): for a case whose defect must show in the bytes of
     * the signature itself (SIG-21: a base64url value with '-' or '_'). */
    bool (*sig_filter)(const struct aa_signed *sg);
};

#define NR_RESIGN_MAX 30

/* The request target of the resource's identity / auth / signature
 * endpoint (runner configuration: --resource-*-path). */
const char *nr_jwks_path(const struct nr_fx *fx);
const char *nr_auth_path(const struct nr_fx *fx);
const char *nr_hwk_path(const struct nr_fx *fx);

/*
 * Sign (see struct nr_req) and send; the signature base and the exchange
 * go to the transcript. Returns the send code, or the signer's code with
 * resp->status 0 (a harness fault). |sg| (may be NULL) receives the
 * signer output (aa_signed_cleanup).
 */
int nr_send(struct nr_fx *fx, const struct nr_req *r, struct aa_http_response *resp,
            struct aa_signed *sg, struct aa_diag *d);

/* ---- judging ------------------------------------------------------------ */

/* Which Agent-Auth challenge a refusal must carry (PROFILE#5, D-16). */
enum nr_chal {
    NR_CHAL_NONE = 0,  /* not judged */
    NR_CHAL_BASE,      /* "httpsig" (signature endpoint, no valid signature) */
    NR_CHAL_IDENTITY,  /* "httpsig; identity=?1" */
    NR_CHAL_AUTH_TOKEN /* "httpsig; auth-token; resource_token=...; auth_server=..." */
};

struct nr_expect {
    long status;                   /* strict (FAIL) */
    long alt_status;               /* a second accepted status, 0 none */
    const char *error, *alt_error; /* PROFILE#6.8 code (WARN); NULL: not judged */
    /* A 2xx answer is this known deviation (quirks.c): PASS_QUIRK when the
     * user allows it, otherwise the failure names the quirk. */
    const char *quirk;
    enum nr_chal chal;                 /* challenge on a |status| answer */
    const struct aa_check *chal_check; /* records the challenge; NULL: the check itself */
};

/*
 * Judge one exchange for |c|: PROFILE#9 (aa_expect_http: status strict,
 * code WARN, 5xx/crash/hang FAIL, transport ERROR), then the challenge.
 * A signer failure (resp->status 0 and a non-transport code) is ERROR.
 * Returns true when the status was the expected one.
 */
bool nr_judge(const struct aa_check *c, int rc, const struct aa_diag *d,
              const struct aa_http_response *resp, const struct nr_expect *e);
/* nr_send + nr_judge; |resp_out| (may be NULL) keeps the answer. */
bool nr_run(const struct aa_check *c, struct nr_fx *fx, const struct nr_req *r,
            const struct nr_expect *e, struct aa_http_response *resp_out);
/* Judge only the challenge of |resp| (records on |c|). */
void nr_judge_challenge(const struct aa_check *c, const struct aa_http_response *resp,
                        enum nr_chal want);
/* All Agent-Auth field lines of |resp| joined with ", " (RFC 9110 §5.3),
 * heap, NULL when there is none. */
char *nr_agent_auth(const struct aa_http_response *resp);

/* GET |url| (transcript) and parse a strict JSON object into |*out|
 * (cJSON_Delete); otherwise |why| says what went wrong. */
int nr_get_json(const char *url, cJSON **out, struct aa_buf *why);

/* ---- tokens ------------------------------------------------------------- */

/*
 * A valid agent token's parts (PROFILE#4.2): header {typ agent+jwt, kid
 * of the agent key}, claims {iss = local agent, sub delegate-1, iat = now, exp =
 * now + 3600, cnf.jwk = the delegate key's public JWK}. New objects the
 * caller mutates and frees. NULL on allocation failure.
 */
cJSON *nr_agent_header(const struct nr_fx *fx);
cJSON *nr_agent_claims(const struct nr_fx *fx);
/* Sign |hdr|.|claims| with |key| (alg EdDSA unless a mutation overrides),
 * note the decoded token in the transcript under |what|. |*out| heap. */
int nr_jwt(const char *what, const cJSON *hdr, const cJSON *claims, const struct aa_jwk *key,
           const struct aa_jwt_build_opts *o, char **out);
/* A jwt credential carrying |token| (borrowed). */
struct aa_sign_cred nr_jwt_cred(const char *token);

/*
 * The private signing key of an embedded role (aa_conf_role_key), with its
 * kid. AA_OK; AA_E_UNSUPPORTED when the role is not embedded (the harness
 * cannot sign for a target: the caller SKIPs); another code when the
 * runner failed to provide it (a harness fault: ERROR). |*why| says why.
 */
int nr_embedded_key(enum aa_role role, struct aa_jwk *out, const char **why);

/* The decoded header and payload of a compact JWS, for the transcript. */
void nr_note_token(const char *what, const char *token);

#endif
