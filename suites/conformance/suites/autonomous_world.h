/*
 * autonomous_world: the topology and the judging helpers shared by the
 * flow suites autonomous (F3), consent (F4), agent-is-resource (F5) and
 * exchange (F7) of PROFILE#7.
 *
 * Those flows need participants whose private keys the harness holds: the
 * agent AG signs with jwks Mode 2 (PROFILE#2.3) and, in F7, the resource R1
 * signs as an agent with K_R1. For a role the runner embeds, the harness
 * signs with that role's key (aa_conf_role_key). For a role under test,
 * whose key it cannot have, a case starts a reference server of its own
 * (reference/lib, 127.0.0.1, port 0, inside the case process) that
 * publishes the metadata and JWKS the peers fetch. Such servers are the
 * *harness's* participants: a failure of theirs is an ERROR, never a
 * verdict on the implementation under test.
 *
 * Every client exchange (aa_client.h steps) is copied into the case
 * transcript as it happens, with its signature base, so each verdict
 * carries its evidence.
 *
 * Design choice: tokens are judged twice, as PROFILE#7 asks: claim by
 * claim from the decoded JWT (so a report names the exact claim) and as a
 * whole with the harness's own validators (PROFILE#4.4/#4.5) over keys
 * fetched independently from the issuer's metadata.
 */
#ifndef AUTONOMOUS_WORLD_H
#define AUTONOMOUS_WORLD_H

#include "aa_client.h"
#include "aa_ref.h"
#include "aa_runner.h"

#define AA_AW_MAX_SERVERS 8
#define AA_AW_MAX_CLIENTS 8
#define AA_AW_URL_MAX 2048

/* One participant of a flow: a role of the run (a target or the runner's
 * embedded reference), an extra instance of the run ("resource2",
 * "auth-consent", ...) or a reference server started by this case. */
struct aa_aw_peer {
    enum aa_role role;
    const char *id;            /* identifier (tokens, comparisons) */
    const char *url;           /* where to connect */
    const char *auth_path;     /* resources: the authorization endpoint */
    const char *inst;          /* instance name, NULL for a role of the run */
    const char *kid;           /* signing kid when known */
    bool under_test;           /* the user's implementation */
    bool embedded;             /* the runner's embedded reference */
    bool local;                /* started by this case (harness participant) */
    struct aa_ref_server *srv; /* local only */
    const struct aa_jwk *key;  /* private signing key the harness holds, or NULL */
};

struct aa_aw_tap {
    struct aa_client *c;
    size_t shown; /* bytes of the client transcript already copied */
};

struct aa_aw {
    struct aa_ref_clock clock; /* shared by the local servers */
    struct aa_ref_server *srv[AA_AW_MAX_SERVERS];
    size_t n_srv;
    struct aa_aw_tap taps[AA_AW_MAX_CLIENTS];
    size_t n_clients;
    struct aa_disc *disc;   /* independent key discovery for token checks */
    const char *trusted[4]; /* https run roles local servers may fetch */
    size_t n_trusted;
    struct aa_jwk keys[AA_AW_MAX_SERVERS]; /* keys of embedded servers (aa_conf_role_key) */
    size_t n_keys;
};

/* Set up an empty world (clock = the harness clock). AA_E_NOMEM. */
int aa_aw_init(struct aa_aw *w);
/* Stop the local servers, free the clients. */
void aa_aw_cleanup(struct aa_aw *w);

/* The run's |role| as a peer. AA_E_NOTFOUND (|d| says why) when the role
 * is absent or its embedded reference could not start. */
int aa_aw_run_peer(enum aa_role role, struct aa_aw_peer *out, struct aa_diag *d) AA_WUR;
/* An extra instance of the run (the case lists it in .instances). */
int aa_aw_instance_peer(const char *name, struct aa_aw_peer *out, struct aa_diag *d) AA_WUR;
/* Load the private key of an embedded |p| into |p->key| (aa_conf_role_key,
 * aa_conf_instance_key). AA_E_NOTFOUND for a target: the harness cannot
 * sign for an implementation it does not control. */
int aa_aw_peer_key(struct aa_aw *w, struct aa_aw_peer *p, struct aa_diag *d) AA_WUR;
/*
 * The agent AG of F3-F7, whose key the harness needs (jwks Mode 2): the
 * run's agent server when the runner embeds it, else (it is under test,
 * or absent) a reference agent server started by this case.
 */
int aa_aw_agent(struct aa_aw *w, struct aa_aw_peer *ag, struct aa_diag *d) AA_WUR;

/* Local reference servers (harness participants), bound to
 * aa_conf_harness_host(). The caller checks that the peers which will
 * fetch from them can reach them (aa_conf_harness_reachable; aa_aw_agent
 * does for its agent). */
int aa_aw_start_agent(struct aa_aw *w, struct aa_aw_peer *out, struct aa_diag *d) AA_WUR;
/* An auth server; |consent| = require_user_consent (D-19); |trusted| (may
 * be NULL) the one upstream issuer it trusts for exchange. */
int aa_aw_start_auth(struct aa_aw *w, bool consent, const char *trusted, struct aa_aw_peer *out,
                     struct aa_diag *d) AA_WUR;
/* A resource whose challenges name (and which trusts) |as_id|. */
int aa_aw_start_resource(struct aa_aw *w, const char *as_id, struct aa_aw_peer *out,
                         struct aa_diag *d) AA_WUR;

/* Clients; owned by the world. |label| names its blocks in the transcript. */
/* AG: jwks Mode 2 with the agent's key (|ag->key|, well-known aauth-agent). */
struct aa_client *aa_aw_agent_client(struct aa_aw *w, const struct aa_aw_peer *ag,
                                     const char *label, struct aa_diag *d);
/* A resource acting as an agent (F7): jwks id=R, well-known=aauth-resource. */
struct aa_client *aa_aw_resource_client(struct aa_aw *w, const struct aa_aw_peer *r,
                                        const char *label, struct aa_diag *d);
/* A delegate of agent server |ag| (agent token over /delegate/token). */
struct aa_client *aa_aw_delegate_client(struct aa_aw *w, const struct aa_aw_peer *ag,
                                        const char *sub, const char *label, struct aa_diag *d);

/* "{peer url}{path}" into |out| (AA_AW_URL_MAX). AA_E_LIMIT. */
int aa_aw_url(const struct aa_aw_peer *p, const char *path, char *out, size_t cap);

/* ---- sending ------------------------------------------------------------ */

/* One request through |c| with credential |cred| (|token| for the jwt
 * credentials), no challenge following. |*st| gets the step (NULL when
 * nothing was sent). Returns aa_client_send()'s code. */
int aa_aw_send(struct aa_client *c, const char *method, const char *url, enum aa_client_cred cred,
               const char *token, const char *ctype, const char *body,
               const struct aa_client_step **st, struct aa_diag *d);

/* The last step of |kind| recorded by |c| at or after sequence |from|. */
const struct aa_client_step *aa_aw_last_step(struct aa_client *c, enum aa_client_step_kind kind,
                                             size_t from);
/* The sequence number the next step of |c| will get. */
size_t aa_aw_next_seq(struct aa_client *c);

/* ---- judging ------------------------------------------------------------ */

/* aa_expect_status() over a client step: nothing sent (|st| NULL) ->
 * ERROR naming |rc| and |d|; a transport failure -> ERROR; otherwise the
 * PROFILE#9 classification of the response. */
bool aa_aw_expect_step(const struct aa_check *c, int rc, const struct aa_diag *d,
                       const struct aa_client_step *st, long status, const char *error);

/* Like aa_aw_expect_step() but silent when the step is as expected: for
 * steps whose PASS is decided later (a check that spans several steps).
 * Returns true when the status was |status| (and |error| matched). */
bool aa_aw_step_ok(const struct aa_check *c, int rc, const struct aa_diag *d,
                   const struct aa_client_step *st, long status, const char *error);

/* PROFILE#5: |st| is 401 with exactly one Agent-Auth line that parses and
 * whose httpsig member carries auth-token, resource_token and auth_server.
 * Records PASS/failure for |c|; true on PASS. */
bool aa_aw_expect_auth_challenge(const struct aa_check *c, const struct aa_client_step *st);

/* Decode |jwt| without verifying it (header and claims, new objects). */
int aa_aw_peek(const char *jwt, cJSON **header, cJSON **claims, struct aa_diag *d) AA_WUR;

/* typ equals |want| under D-28 (case-insensitive, optional application/). */
bool aa_aw_expect_typ(const struct aa_check *c, const cJSON *header, const char *want);
/* String claim |name| equals |want|. */
bool aa_aw_expect_claim(const struct aa_check *c, const cJSON *claims, const char *name,
                        const char *want);
/* Claim |name| is absent. */
bool aa_aw_expect_absent(const struct aa_check *c, const cJSON *claims, const char *name);
/* cnf.jwk is a public key whose RFC 7638 thumbprint is |jkt| (D-27). */
bool aa_aw_expect_cnf(const struct aa_check *c, const cJSON *claims, const char *jkt);
/* Integer claim |name| (exp) lies after the harness clock. */
bool aa_aw_expect_future(const struct aa_check *c, const cJSON *claims, const char *name);
/* |scope| (space-separated, may be NULL) contains the token |tok|. */
bool aa_aw_scope_has(const char *scope, const char *tok);

/* Validate as the recipient would, with keys found independently through
 * the issuer's metadata (PROFILE#4.4 / #4.5); records PASS, a failure with
 * the validator's step and reason, or ERROR for a harness fault. */
bool aa_aw_expect_valid_rt(struct aa_aw *w, const struct aa_check *c, const char *rt,
                           const char *as_id, const char *agent, const char *agent_jkt);
/* |self_is_agent|: F5, aud is the agent and agent may be absent.
 * |out| (may be NULL) gets the validated token on PASS. */
bool aa_aw_expect_valid_at(struct aa_aw *w, const struct aa_check *c, const char *at,
                           const char *issuer, const char *receiver, bool self_is_agent,
                           struct aa_validated_token *out);

/* ---- token endpoint ------------------------------------------------------- */

/* A string member of the step's JSON body, or NULL. */
const char *aa_aw_resp_str(const struct aa_client_step *st, const char *name);
/* POST agent_token_endpoint with |tp| (aa_client_token_request); |*st|
 * gets the token step of this call, NULL when the client never reached
 * the endpoint (metadata or signing failed). */
int aa_aw_token_request(struct aa_client *c, const char *as_id,
                        const struct aa_client_token_params *tp,
                        const struct aa_client_send_opts *so, struct aa_client_token_response *tr,
                        const struct aa_client_step **st, struct aa_diag *d);
/* A token response body (auth, code, refresh): auth_token string,
 * expires_in integer > 0 and, with |want_refresh|, refresh_token. */
bool aa_aw_expect_token_members(const struct aa_check *c, const struct aa_client_step *st,
                                bool want_refresh);
/* Cache-Control has the no-store directive (D-25, RFC 6749 §5.1). */
void aa_aw_expect_no_store(const struct aa_check *c, const struct aa_client_step *st);
/* An auth token's scope against the resource token's: equal sets PASS, a
 * non-empty subset INFO (policy may narrow, PROFILE#6.3), else a failure. */
void aa_aw_expect_scope_within(const struct aa_check *c, const char *at_scope,
                               const char *rt_scope);

/* GET {p}/.well-known/{name} into |*out| (a JSON object) with the exchange
 * in the transcript. AA_OK; transport codes; AA_E_NOTFOUND for a status
 * other than 200 and AA_E_SYNTAX for a body that is not a JSON object
 * (|d| says which; |*status| has the status). */
int aa_aw_fetch_metadata(const struct aa_aw_peer *p, const char *name, long *status, cJSON **out,
                         struct aa_diag *d) AA_WUR;

/* ---- the scripted user (PROFILE#6.6) ------------------------------------ */

/* Outcome of one run of the scripted user. */
enum aa_aw_user {
    AA_AW_USER_REDIRECTED = 0, /* the consent POST was made: judge its answer */
    AA_AW_USER_NOT_SCRIPTABLE, /* no PROFILE#6.6 login form, or no person to ask: SKIP */
    AA_AW_USER_NO_LOGIN,       /* the scripted user could not sign in: ERROR */
    AA_AW_USER_BROKEN,         /* the page could not be requested: ERROR */
    AA_AW_USER_MANUAL          /* --consent manual: a person decided in their browser;
                                  |cr| holds what they pasted (code or error, state),
                                  the consent POST was not seen (*consent_st NULL) */
};
/* The login form of PROFILE#6.6: 200 text/html with username and password
 * inputs. */
bool aa_aw_form_recognised(const struct aa_client_step *st);
/* Run the scripted user (testuser/testpass) for |request_token|, granting
 * or (|deny|) denying - or, with --consent manual, ask the person through
 * the runner (aa_conf_consent_prompt; AA_AW_USER_MANUAL, or SKIP when no
 * one can be asked). |*consent_st| gets the consent POST step; |why|
 * explains any other outcome. */
enum aa_aw_user aa_aw_run_user(struct aa_client *c, const char *as_id, const char *request_token,
                               bool deny, struct aa_client_consent_result *cr,
                               const struct aa_client_step **consent_st, char *why, size_t cap);
/* Record every check of |checks| for a user run that did not reach the
 * decision: SKIP when not scriptable, else ERROR, with |why|. */
void aa_aw_user_not_run(enum aa_aw_user u, const char *why, const struct aa_check *const *checks);
/* The flow could not be set up (|what|: |d|): every check of |checks| not
 * recorded yet is ERROR - or SKIP when a target cannot reach the servers
 * this case hosts (aa_conf_harness_reachable): not testable there. */
void aa_aw_setup_failed(const struct aa_check *const *checks, const char *what,
                        const struct aa_diag *d);
/* What the harness cannot see of a manual consent: the consent POST's
 * status (303) happened in the person's browser. */
#define AA_AW_MANUAL_UNSEEN                                                                        \
    "manual consent (--consent manual): the consent answer was seen by the person's browser, "     \
    "not by the harness; judged from what they pasted"
/* PROFILE#6.4: |loc| is |redirect_uri| followed by '?' ('&' when it already
 * has a query). */
bool aa_aw_location_under(const char *loc, const char *redirect_uri);

/* Record the (shortened) token in the transcript with a caption. */
void aa_aw_note_token(const char *what, const char *jwt);

#endif
