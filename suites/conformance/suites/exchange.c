/*
 * exchange: flow F7 of PROFILE#7, token exchange - resource R1, holding an
 * auth token T1 from AS1, calls resource R2 and exchanges T1 at AS2 for
 * T2 (the profile of PROFILE#6.5: T1 travels in Signature-Key scheme=jwt,
 * the request is signed with R1's own key K_R1, D-21).
 *
 * Topology (PROFILE#1): AG the agent, R1 the run's resource, AS1 the run's
 * auth server, R2 and AS2 the run's instances "resource2" and "auth2"
 * (AS2 trusts AS1; embedded by the runner, or given with --instance).
 * The harness plays R1's outgoing side (R1 -> R2, the exchange) with K_R1
 * (aa_conf_role_key). When the resource is under test, whose key it does
 * not hold, TEST 1 still runs against it and the harness plays the
 * outgoing side with a reference resource R1' of its own trusting AS1.
 *
 * Judged: AS1 issuing T1 (auth-server), R1 accepting it (resource), R2's
 * challenge to R1 and its acceptance of T2 (resource), AS2's exchange
 * answer and every claim of T2 (auth-server), and the EX negatives:
 * an untrusted upstream issuer (EX-01), no refresh_token (EX-08), act,
 * iat and nbf in T2 (EX-08).
 *
 * R1's own trigger (PROFILE#6.7, optional feature "data-exchange"): GET
 * R1/data-exchange with T1 makes R1 do TEST 2 itself. The embedded R1
 * declares it when resource2 is in the run; a resource under test that
 * declares it (--declare resource=data-exchange) is driven the same way,
 * its downstream being the harness's embedded resource2 and auth2 (which
 * the runner then starts; README "The F7 trigger" says how to configure
 * R1 for them). That embedded R2 is not the implementation under test:
 * the checks about R2 are then SKIP, not verdicts on the harness's own
 * reference.
 *
 * Design choice: the untrusted upstream of EX-01 is a reference auth
 * server the case starts itself (with a resource R1u that trusts it), so
 * its token is valid in every respect but one: AS2 was never told to
 * trust its issuer. A rejection then can only be for that reason.
 */
#include <string.h>

#include "autonomous_world.h"
#include "json/aa_json.h"

static const char *const f7_lines[] = {
    "This demo shows token exchange between two resources:",
    "1. Agent 1 obtains an auth token (T1) for Resource 1 from Auth Server 1",
    "2. Resource 1 calls Resource 2 and receives a resource token for Auth Server 2",
    "3. Resource 1 exchanges T1 at Auth Server 2 (which trusts Auth Server 1) for T2",
    "4. Resource 1 calls Resource 2 with T2; T2's act claim names Agent 1",
    NULL};

AA_FLOW(exchange, .suite = "exchange", .banner = "Token Exchange Demo",
        .description_lines = f7_lines, .seed_tests = 0,
        AA_FLOW_TESTS({1, "Agent 1 Obtains Auth Token for Resource 1", "Agent 1 Obtains Auth Token",
                       "Agent 1 obtains an auth token for Resource 1 and uses it.",
                       "Auth token T1 obtained and accepted"},
                      {2, "Resource 1 Calls Resource 2 via Token Exchange",
                       "Resource 1 Calls Resource 2",
                       "Resource 1 exchanges T1 at Auth Server 2 and calls Resource 2.",
                       "Token exchanged and accepted by Resource 2"},
                      {3, "Verify 'act' Claim in Exchanged Token", "Verify 'act' Claim",
                       "The exchanged token T2 records who acted upstream.",
                       "act claim and T2 claims verified"}));

/* ---- TEST 1 ------------------------------------------------------------------------ */

AA_CHECK(f7_t1_challenge, .id = "exchange.t1.challenge", .suite = "exchange",
         .title = "R1's authorization endpoint, signed(jwks) by the agent",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#5",
         .expect = "401 with an auth-token challenge (PROFILE#7 F7.1 = F3.1)", .test_no = 1,
         .line = "Resource 1 challenged for an auth token");
AA_CHECK(f7_t1_issued, .id = "exchange.t1.issued", .suite = "exchange",
         .title = "AS1 issues T1 for R1 (request_type=auth)", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "200 with an auth token whose aud is the single string R1 and agent is the "
                   "agent (what PROFILE#6.5 step 2 needs of T1)",
         .test_no = 1, .line = "T1 issued for Resource 1");
AA_CHECK(f7_t1_accepted, .id = "exchange.t1.accepted", .suite = "exchange",
         .title = "R1's authorization endpoint signed(jwt T1)", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#7", .expect = "200 (PROFILE#7 F7.1 = F3.4)",
         .test_no = 1, .line = "Resource 1 accepted T1");

/* ---- TEST 2 ------------------------------------------------------------------------ */

AA_CHECK(f7_rt2_challenge, .id = "exchange.rt2.challenge", .suite = "exchange",
         .title = "R2's authorization endpoint signed(jwks id=R1 well-known=aauth-resource)",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#5",
         .expect = "401 with an auth-token challenge carrying RT2 and auth_server (a resource "
                   "acting as an agent is identified through aauth-resource, D-15)",
         .test_no = 2, .line = "Resource 2 challenged Resource 1");
AA_CHECK(f7_rt2_agent, .id = "exchange.rt2.agent", .suite = "exchange", .title = "RT2 agent",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#7",
         .expect = "agent = R1 (PROFILE#7 F7.2)", .test_no = 2, .line = "RT2 agent is Resource 1");
AA_CHECK(f7_rt2_jkt, .id = "exchange.rt2.agent-jkt", .suite = "exchange", .title = "RT2 agent_jkt",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#7", .rfc = "RFC7638#3",
         .expect = "agent_jkt = RFC 7638 thumbprint of K_R1, the key R1 signed with", .test_no = 2,
         .line = "RT2 agent_jkt is K_R1");
AA_CHECK(f7_rt2_aud, .id = "exchange.rt2.aud", .suite = "exchange", .title = "RT2 aud",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#7",
         .expect = "aud = AS2, as named by the challenge's auth_server", .test_no = 2,
         .line = "RT2 aud is Auth Server 2");
AA_CHECK(f7_status, .id = "exchange.response.status", .suite = "exchange",
         .title = "POST AS2 agent_token_endpoint request_type=exchange&resource_token=RT2, "
                  "Signature-Key scheme=jwt with T1, signed with K_R1",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.5",
         .expect = "200 {auth_token, expires_in > 0} (AS2 trusts AS1)", .test_no = 2,
         .line = "Token exchanged at Auth Server 2");
AA_CHECK(f7_norefresh, .id = "exchange.response.no-refresh-token", .suite = "exchange",
         .title = "exchange response refresh_token", .role = AA_ROLE_AUTH_SERVER,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#6.3",
         .expect = "no refresh_token in an exchange response (EX-08)", .test_no = 2,
         .line = "no refresh token issued");
AA_CHECK(f7_t2_accepted, .id = "exchange.t2.accepted", .suite = "exchange",
         .title = "R2's authorization endpoint signed(jwt T2) by R1", .role = AA_ROLE_RESOURCE,
         .level = AA_LEVEL_MUST, .spec = "PROFILE#7",
         .expect = "200 with agent = R1 in the body (PROFILE#7 F7.2)", .test_no = 2,
         .line = "Resource 2 accepted T2 from Resource 1");
AA_CHECK(f7_dx, .id = "exchange.data-exchange.response", .suite = "exchange",
         .title = "GET R1's /data-exchange signed(jwt T1) by the agent: R1 calls R2 itself",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.7",
         .expect = "200 {\"message\":\"Access granted\", \"upstream\":{\"agent\": the agent}, "
                   "\"downstream\": R2's answer naming R1 as its agent} (optional feature "
                   "data-exchange; R1's downstream is the run's resource2, whose AS2 trusts AS1)",
         .test_no = 2, .line = "Resource 1 called Resource 2 through /data-exchange");
AA_CHECK(f7_untrusted, .id = "exchange.untrusted-upstream.rejected", .suite = "exchange",
         .title = "exchange of an upstream token whose issuer AS2 does not trust",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.5",
         .expect = "401 invalid_token (EX-01; the token is otherwise valid)", .test_no = 2,
         .line = "untrusted upstream issuer rejected");

/* ---- TEST 3: T2 ---------------------------------------------------------------------- */

AA_CHECK(f7_t2_valid, .id = "exchange.t2.valid", .suite = "exchange",
         .title = "T2 validated as R2 will", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.5",
         .expect = "valid per PROFILE#4.5 steps 1-10 (typ auth+jwt, JWS under AS2's JWKS, "
                   "aud = R2)",
         .test_no = 3, .line = "T2 signature verified");
AA_CHECK(f7_t2_iss, .id = "exchange.t2.iss", .suite = "exchange", .title = "T2 iss and aud",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.5",
         .expect = "iss = AS2, aud = R2 (RT2's iss)", .test_no = 3,
         .line = "T2 iss and aud correct");
AA_CHECK(f7_t2_agent, .id = "exchange.t2.agent", .suite = "exchange", .title = "T2 agent",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.5",
         .expect = "agent = R1", .test_no = 3, .line = "T2 agent is Resource 1");
AA_CHECK(f7_t2_cnf, .id = "exchange.t2.cnf", .suite = "exchange", .title = "T2 cnf.jwk",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.5",
         .expect = "cnf.jwk thumbprint = K_R1", .test_no = 3, .line = "T2 bound to K_R1");
AA_CHECK(f7_act_agent, .id = "exchange.t2.act-agent", .suite = "exchange", .title = "T2 act.agent",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#4.2",
         .expect = "act is an object whose agent is T1's agent (Agent 1); no nested act when T1 "
                   "had none (EX-08)",
         .test_no = 3, .line = "act.agent: {actual}");
AA_CHECK(f7_act_delegate, .id = "exchange.t2.act-agent-delegate", .suite = "exchange",
         .title = "T2 act.agent_delegate", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2",
         .expect = "act.agent_delegate present iff T1 had agent_delegate, and equal to it "
                   "(checked for an agent's T1 and a delegate's T1)",
         .test_no = 3, .line = "act.agent_delegate present iff T1 had one");
AA_CHECK(f7_t2_sub, .id = "exchange.t2.sub", .suite = "exchange", .title = "T2 sub",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#6.5",
         .expect = "sub = T1's sub when T1 had one, absent otherwise", .test_no = 3,
         .line = "T2 sub follows T1");
AA_CHECK(f7_t2_times, .id = "exchange.t2.times", .suite = "exchange",
         .title = "T2 iat, nbf and exp", .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST,
         .spec = "PROFILE#4.2", .expect = "integer iat, nbf and exp, exp in the future (EX-08)",
         .test_no = 3, .line = "T2 iat, nbf and exp present");

/* ---- the flow ------------------------------------------------------------------------- */

struct f7 {
    struct aa_aw w;
    struct aa_aw_peer ag, r1, as1, r2, as2;
    struct aa_aw_peer r1x; /* R1's outgoing side: r1, or the harness's R1 */
    struct aa_client *agc, *r1c;
    char kr1[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *as2_md;
    bool r2_judged; /* R2 is a resource under test, not the harness's */
};

/* The checks that judge R2 (role resource). */
#define F7_R2_CHECKS                                                                               \
    AA_CHECKS(&f7_rt2_challenge, &f7_rt2_agent, &f7_rt2_jkt, &f7_rt2_aud, &f7_t2_accepted)

/* Servers this case hosts for R2 and AS2 to call (R1', EX-01's upstream)
 * must be reachable from them (--harness-host). */
static bool f7_r2_as2_reach(struct aa_diag *d)
{
    return aa_conf_harness_reachable(aa_conf_instance("resource2"), d) &&
           aa_conf_harness_reachable(aa_conf_instance("auth2"), d);
}

/* The R1 that calls R2 and exchanges: the run's resource when the harness
 * holds its key, else a reference resource of the harness's that trusts
 * AS1 (the resource under test is still R1 of TEST 1). */
static int f7_exchanger(struct f7 *f, struct aa_diag *d)
{
    struct aa_diag d2;

    aa_diag_clear(&d2);
    if (aa_aw_peer_key(&f->w, &f->r1, &d2) == AA_OK) {
        f->r1x = f->r1;
        return AA_OK;
    }
    aa_conf_note("R1 -> R2: %s; the harness calls R2 as its own resource R1' trusting %s", d2.msg,
                 f->as1.id);
    if (!f7_r2_as2_reach(d))
        return AA_E_UNSUPPORTED;
    return aa_aw_start_resource(&f->w, f->as1.id, &f->r1x, d);
}

/*
 * TEST 1 for |c| (the agent or a delegate, identity credential |cred|):
 * challenge at |r1|, T1 from AS1. With |record| the TEST 1 checks are
 * recorded; otherwise any failure is an ERROR of |on_fail| (the step was
 * judged elsewhere). |*t1| gets T1 or NULL.
 */
static void f7_get_t1(struct f7 *f, struct aa_client *c, enum aa_client_cred cred,
                      const struct aa_aw_peer *r1, bool record, const struct aa_check *on_fail,
                      char **t1)
{
    const struct aa_client_step *st = NULL;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_diag d;
    char url[AA_AW_URL_MAX];
    char *rt = NULL;
    cJSON *h = NULL, *cl = NULL;
    int rc;

    *t1 = NULL;
    memset(&tr, 0, sizeof(tr));
    aa_diag_clear(&d);
    aa_aw_url(r1, r1->auth_path, url, sizeof(url));
    rc = aa_aw_send(c, "GET", url, cred, NULL, NULL, NULL, &st, &d);
    if (record) {
        if (st == NULL)
            aa_check_fault(&f7_t1_challenge, "GET R1", rc, &d);
        if (!aa_aw_expect_auth_challenge(&f7_t1_challenge, st)) {
            aa_check_not_evaluated(&f7_t1_challenge, AA_CHECKS(&f7_t1_issued, &f7_t1_accepted));
            goto out;
        }
    } else if (st == NULL || !st->has_challenge || st->challenge.resource_token == NULL) {
        /* R1's behaviour is judged by exchange.t1.challenge */
        aa_check_error(on_fail, "R1 gave this client no resource token (see the transcript)");
        goto out;
    }
    rt = aa_strdup(st->challenge.resource_token);
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = rt;
    tp.redirect_uri = aa_client_redirect_uri(c);
    rc = aa_aw_token_request(c, f->as1.id, &tp, NULL, &tr, &st, &d);
    if (!record) {
        if (aa_aw_resp_str(st, "auth_token") == NULL)
            aa_check_error(on_fail, "AS1 issued no T1 for %s (%s; judged by exchange.t1.issued)",
                           r1->id, st == NULL ? aa_client_errstr(rc) : "see the transcript");
        else
            *t1 = aa_strdup(aa_aw_resp_str(st, "auth_token"));
        goto out;
    }
    if (st == NULL) {
        aa_check_fault(&f7_t1_issued, "reaching AS1's agent_token_endpoint", rc, &d);
        aa_check_not_evaluated(&f7_t1_issued, AA_CHECKS(&f7_t1_accepted));
        goto out;
    }
    if (st->has_response && st->resp.status == 200 && aa_aw_resp_str(st, "auth_token") == NULL &&
        aa_aw_resp_str(st, "request_token") != NULL) {
        /* conforming in consent mode, but F7 needs T1 without a user */
        aa_check_skip(&f7_t1_issued, "AS1 asks for user consent (request_token): the exchange "
                                     "flow needs an auth server that grants directly");
        aa_check_not_evaluated(&f7_t1_issued, AA_CHECKS(&f7_t1_accepted));
        goto out;
    }
    if (!aa_aw_expect_step(&f7_t1_issued, rc, &d, st, 200, NULL) ||
        aa_aw_resp_str(st, "auth_token") == NULL) {
        if (st->has_response && st->resp.status == 200)
            aa_check_fail(&f7_t1_issued, f7_t1_issued.expect, "200 without auth_token", NULL);
        aa_check_not_evaluated(&f7_t1_issued, AA_CHECKS(&f7_t1_accepted));
        goto out;
    }
    *t1 = aa_strdup(aa_aw_resp_str(st, "auth_token"));
    aa_aw_note_token("T1", *t1);
    if (aa_aw_peek(*t1, &h, &cl, &d) != AA_OK) {
        aa_check_fail(&f7_t1_issued, f7_t1_issued.expect, d.msg, "T1 is not a JWS");
    } else {
        aa_aw_expect_claim(&f7_t1_issued, cl, "aud", r1->id);
        aa_aw_expect_claim(&f7_t1_issued, cl, "agent", f->ag.id);
        aa_aw_expect_valid_at(&f->w, &f7_t1_issued, *t1, f->as1.id, r1->id, false, NULL);
    }
    rc = aa_aw_send(c, "GET", url, AA_CRED_AUTH_TOKEN, *t1, NULL, NULL, &st, &d);
    aa_aw_expect_step(&f7_t1_accepted, rc, &d, st, 200, NULL);
out:
    aa_client_token_response_cleanup(&tr);
    cJSON_Delete(h);
    cJSON_Delete(cl);
    free(rt);
}

/* R1 (client |r1c|) asks R2 for a resource token: the challenge's RT2,
 * or NULL. The challenge is judged for |c| unless |c| is NULL. */
static char *f7_rt2(struct f7 *f, struct aa_client *r1c, const struct aa_check *c)
{
    const struct aa_client_step *st = NULL;
    struct aa_diag d;
    char url[AA_AW_URL_MAX];
    int rc;

    aa_diag_clear(&d);
    aa_aw_url(&f->r2, f->r2.auth_path, url, sizeof(url));
    rc = aa_aw_send(r1c, "GET", url, AA_CRED_JWKS, NULL, NULL, NULL, &st, &d);
    if (c == NULL)
        return st != NULL && st->has_challenge && st->challenge.resource_token != NULL
                   ? aa_strdup(st->challenge.resource_token)
                   : NULL;
    if (st == NULL) {
        aa_check_fault(c, "GET R2", rc, &d);
        return NULL;
    }
    if (!aa_aw_expect_auth_challenge(c, st))
        return NULL;
    return aa_strdup(st->challenge.resource_token);
}

/* A later step needed RT2 again and R2 gave none: the failure is R2's,
 * already judged by exchange.rt2.challenge when that failed; otherwise the
 * harness cannot tell why (ERROR). */
static void f7_no_rt2(const struct aa_check *c, bool r2_judged)
{
    bool rec = false;
    enum aa_outcome o = aa_check_outcome(&f7_rt2_challenge, &rec);

    if (r2_judged && rec && o != AA_OUT_PASS)
        aa_check_not_evaluated(&f7_rt2_challenge, AA_CHECKS(c));
    else
        aa_check_error(c, "R2 gave no resource token to this request (see the transcript)");
}

/* The harness's own R2 failed a step: what depends on it cannot be
 * evaluated, and that is no verdict on anyone (ERROR). */
static void f7_harness_r2_failed(const struct aa_check *const *checks)
{
    for (const struct aa_check *const *p = checks; *p != NULL; p++) {
        bool rec = false;
        aa_check_outcome(*p, &rec);
        if (!rec)
            aa_check_error(*p, "the harness's R2 (embedded resource2) gave R1 no usable resource "
                               "token (see the transcript)");
    }
}

/* PROFILE#6.7: GET R1/data-exchange with the agent's T1 for R1. R1 then
 * does TEST 2 itself and answers with what R2 gave it. */
static void f7_data_exchange(struct f7 *f, const char *t1)
{
    const struct aa_client_step *st = NULL;
    const cJSON *up, *down;
    struct aa_diag d;
    char url[AA_AW_URL_MAX];
    const char *msg, *agent, *dagent;
    int rc;

    if (!aa_check_require_feature(&f7_dx, AA_ROLE_RESOURCE, "data-exchange"))
        return;
    aa_diag_clear(&d);
    aa_aw_url(&f->r1, "/data-exchange", url, sizeof(url));
    rc = aa_aw_send(f->agc, "GET", url, AA_CRED_AUTH_TOKEN, t1, NULL, NULL, &st, &d);
    if (!aa_aw_step_ok(&f7_dx, rc, &d, st, 200, NULL))
        return;
    if (!cJSON_IsObject(st->json)) {
        aa_check_fail(&f7_dx, f7_dx.expect, "200 without a JSON object", NULL);
        return;
    }
    msg = aa_json_str(st->json, "message");
    up = cJSON_GetObjectItemCaseSensitive(st->json, "upstream");
    down = cJSON_GetObjectItemCaseSensitive(st->json, "downstream");
    agent = aa_json_str(up, "agent");
    dagent = aa_json_str(down, "agent");
    aa_expect_true(&f7_dx,
                   msg != NULL && strcmp(msg, "Access granted") == 0 && agent != NULL &&
                       strcmp(agent, f->ag.id) == 0 && cJSON_IsObject(down) && dagent != NULL &&
                       strcmp(dagent, f->r1.id) == 0,
                   f7_dx.expect, "message %s, upstream.agent %s, downstream.agent %s",
                   msg ? msg : "(absent)", agent ? agent : "(absent)",
                   dagent                 ? dagent
                   : cJSON_IsObject(down) ? "(absent)"
                                          : "(no downstream object)");
}

/* The exchange (PROFILE#6.5) by |r1c| with upstream |t1| and |rt2|. */
static int f7_exchange(struct f7 *f, struct aa_client *r1c, const char *t1, const char *rt2,
                       struct aa_client_token_response *tr, const struct aa_client_step **st,
                       struct aa_diag *d)
{
    struct aa_client_token_params tp;
    struct aa_client_send_opts so;

    memset(&tp, 0, sizeof(tp));
    memset(&so, 0, sizeof(so));
    tp.request_type = "exchange";
    tp.resource_token = rt2;
    so.cred = AA_CRED_AUTH_TOKEN; /* T1 in Signature-Key, signed with K_R1 (D-21) */
    so.token = t1;
    return aa_aw_token_request(r1c, f->as2.id, &tp, &so, tr, st, d);
}

/* act.agent_delegate of |t2| against |t1|'s agent_delegate. */
static void f7_expect_act_delegate(const char *t1, const char *t2)
{
    cJSON *h1 = NULL, *c1 = NULL, *h2 = NULL, *c2 = NULL;
    const char *want;

    if (aa_aw_peek(t1, &h1, &c1, NULL) != AA_OK || aa_aw_peek(t2, &h2, &c2, NULL) != AA_OK) {
        aa_check_fail(&f7_act_delegate, f7_act_delegate.expect, "(T1 or T2 does not decode)", NULL);
        goto out;
    }
    want = aa_json_str(c1, "agent_delegate");
    if (want == NULL)
        aa_aw_expect_absent(&f7_act_delegate, cJSON_GetObjectItemCaseSensitive(c2, "act"),
                            "agent_delegate");
    else
        aa_expect_str(&f7_act_delegate, "act.agent_delegate", want,
                      aa_json_str(cJSON_GetObjectItemCaseSensitive(c2, "act"), "agent_delegate"));
out:
    cJSON_Delete(h1);
    cJSON_Delete(c1);
    cJSON_Delete(h2);
    cJSON_Delete(c2);
}

/* TEST 3 on T2 obtained from T1. */
static void f7_judge_t2(struct f7 *f, const char *t1, const char *t2)
{
    cJSON *h = NULL, *cl = NULL, *h1 = NULL, *c1 = NULL;
    const cJSON *act;
    int64_t iat = 0, nbf = 0, exp = 0;
    bool times;
    struct aa_diag d;

    aa_aw_note_token("T2", t2);
    if (aa_aw_peek(t2, &h, &cl, &d) != AA_OK || aa_aw_peek(t1, &h1, &c1, NULL) != AA_OK) {
        aa_check_fail(&f7_t2_valid, f7_t2_valid.expect, d.msg, "T2 is not a JWS");
        aa_check_not_evaluated(&f7_t2_valid,
                               AA_CHECKS(&f7_t2_iss, &f7_t2_agent, &f7_t2_cnf, &f7_act_agent,
                                         &f7_act_delegate, &f7_t2_sub, &f7_t2_times));
        goto out;
    }
    aa_aw_expect_valid_at(&f->w, &f7_t2_valid, t2, f->as2.id, f->r2.id, false, NULL);
    aa_aw_expect_claim(&f7_t2_iss, cl, "iss", f->as2.id);
    aa_aw_expect_claim(&f7_t2_iss, cl, "aud", f->r2.id);
    aa_aw_expect_claim(&f7_t2_agent, cl, "agent", f->r1x.id);
    aa_aw_expect_cnf(&f7_t2_cnf, cl, f->kr1);
    act = cJSON_GetObjectItemCaseSensitive(cl, "act");
    if (!cJSON_IsObject(act)) {
        aa_check_fail(&f7_act_agent, f7_act_agent.expect, act ? "act is not an object" : "no act",
                      "an exchanged token records the upstream actor (PROFILE#6.5 step 7)");
    } else if (aa_aw_expect_claim(&f7_act_agent, act, "agent", aa_json_str(c1, "agent")) &&
               cJSON_GetObjectItemCaseSensitive(c1, "act") == NULL) {
        aa_aw_expect_absent(&f7_act_agent, act, "act");
    }
    f7_expect_act_delegate(t1, t2);
    if (aa_json_str(c1, "sub") != NULL)
        aa_aw_expect_claim(&f7_t2_sub, cl, "sub", aa_json_str(c1, "sub"));
    else
        aa_aw_expect_absent(&f7_t2_sub, cl, "sub");
    times = aa_json_int(cl, "iat", &iat) && aa_json_int(cl, "nbf", &nbf) &&
            aa_json_int(cl, "exp", &exp) && exp > aa_conf_now();
    aa_expect_true(&f7_t2_times, times, f7_t2_times.expect, "iat=%lld nbf=%lld exp=%lld now=%lld",
                   (long long)iat, (long long)nbf, (long long)exp, (long long)aa_conf_now());
out:
    cJSON_Delete(h);
    cJSON_Delete(cl);
    cJSON_Delete(h1);
    cJSON_Delete(c1);
}

/* EX-01: a T1 from an auth server AS2 was never told to trust. */
static void f7_run_untrusted(struct f7 *f)
{
    struct aa_aw_peer u, r1u;
    struct aa_client *r1uc;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    const struct aa_client_step *st = NULL;
    struct aa_diag d;
    char url[AA_AW_URL_MAX];
    char *rt = NULL, *t1u = NULL, *rt2u = NULL;
    int rc;

    memset(&tr, 0, sizeof(tr));
    aa_diag_clear(&d);
    /* AS2 fetches the untrusted issuer's metadata and JWKS */
    if (!aa_conf_harness_reachable(aa_conf_instance("auth2"), &d) ||
        aa_aw_start_auth(&f->w, false, NULL, &u, &d) != AA_OK ||
        aa_aw_start_resource(&f->w, u.id, &r1u, &d) != AA_OK ||
        (r1uc = aa_aw_resource_client(&f->w, &r1u, "RESOURCE 1u", &d)) == NULL) {
        aa_aw_setup_failed(AA_CHECKS(&f7_untrusted), "harness upstream servers", &d);
        goto out;
    }
    aa_conf_note("EX-01: upstream auth server %s (harness, trusted by nobody), resource %s", u.id,
                 r1u.id);
    /* T1u: the agent's token for R1u from U (harness pieces: faults are ERROR) */
    aa_aw_url(&r1u, r1u.auth_path, url, sizeof(url));
    rc = aa_aw_send(f->agc, "GET", url, AA_CRED_JWKS, NULL, NULL, NULL, &st, &d);
    if (st == NULL || !st->has_challenge || st->challenge.resource_token == NULL) {
        aa_check_error(&f7_untrusted, "harness resource R1u gave no resource token: %s",
                       st == NULL ? aa_client_errstr(rc) : "see the transcript");
        goto out;
    }
    rt = aa_strdup(st->challenge.resource_token);
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "auth";
    tp.resource_token = rt;
    tp.redirect_uri = aa_client_redirect_uri(f->agc);
    rc = aa_aw_token_request(f->agc, u.id, &tp, NULL, &tr, &st, &d);
    if (rc != AA_OK || tr.auth_token == NULL) {
        aa_check_error(&f7_untrusted, "harness auth server U issued no T1u: %s: %s",
                       aa_client_errstr(rc), d.msg);
        goto out;
    }
    t1u = aa_strdup(tr.auth_token);
    aa_client_token_response_cleanup(&tr);
    /* RT2u from R2 for R1u, then the exchange at AS2 */
    if ((rt2u = f7_rt2(f, r1uc, NULL)) == NULL) {
        f7_no_rt2(&f7_untrusted, f->r2_judged);
        goto out;
    }
    rc = f7_exchange(f, r1uc, t1u, rt2u, &tr, &st, &d);
    if (st == NULL)
        aa_check_fault(&f7_untrusted, "reaching AS2's agent_token_endpoint", rc, &d);
    else
        aa_aw_expect_step(&f7_untrusted, rc, &d, st, 401, "invalid_token");
out:
    aa_client_token_response_cleanup(&tr);
    free(rt);
    free(t1u);
    free(rt2u);
}

AA_CASE(exchange, flow, .title = "F7: T1 at R1, exchange at AS2 for R2, T2 claims, EX-01/EX-08",
        .checks = AA_CHECKS(&f7_t1_challenge, &f7_t1_issued, &f7_t1_accepted, &f7_rt2_challenge,
                            &f7_rt2_agent, &f7_rt2_jkt, &f7_rt2_aud, &f7_status, &f7_norefresh,
                            &f7_t2_accepted, &f7_dx, &f7_untrusted, &f7_t2_valid, &f7_t2_iss,
                            &f7_t2_agent, &f7_t2_cnf, &f7_act_agent, &f7_act_delegate, &f7_t2_sub,
                            &f7_t2_times),
        .needs = AA_NEED(AA_ROLE_RESOURCE) | AA_NEED(AA_ROLE_AUTH_SERVER),
        .instances = AA_INSTANCES("resource2", "auth2"))
{
    static const struct aa_check *const all[] = {
        &f7_t1_challenge,  &f7_t1_issued,    &f7_t1_accepted,
        &f7_rt2_challenge, &f7_rt2_agent,    &f7_rt2_jkt,
        &f7_rt2_aud,       &f7_status,       &f7_norefresh,
        &f7_t2_accepted,   &f7_untrusted,    &f7_t2_valid,
        &f7_t2_iss,        &f7_t2_agent,     &f7_t2_cnf,
        &f7_act_agent,     &f7_act_delegate, &f7_t2_sub,
        &f7_t2_times,      &f7_dx,           NULL};
    static const struct aa_check *const after_t1[] = {
        &f7_dx,        &f7_rt2_challenge, &f7_rt2_agent, &f7_rt2_jkt,  &f7_rt2_aud,  &f7_status,
        &f7_norefresh, &f7_t2_accepted,   &f7_t2_valid,  &f7_t2_iss,   &f7_t2_agent, &f7_t2_cnf,
        &f7_act_agent, &f7_act_delegate,  &f7_t2_sub,    &f7_t2_times, NULL};
    static const struct aa_check *const after_rt2[] = {
        &f7_rt2_agent,   &f7_rt2_jkt,      &f7_rt2_aud, &f7_status,   &f7_norefresh,
        &f7_t2_accepted, &f7_t2_valid,     &f7_t2_iss,  &f7_t2_agent, &f7_t2_cnf,
        &f7_act_agent,   &f7_act_delegate, &f7_t2_sub,  &f7_t2_times, NULL};
    static const struct aa_check *const after_status[] = {
        &f7_norefresh, &f7_t2_accepted,  &f7_t2_valid, &f7_t2_iss,   &f7_t2_agent, &f7_t2_cnf,
        &f7_act_agent, &f7_act_delegate, &f7_t2_sub,   &f7_t2_times, NULL};
    struct f7 f;
    struct aa_client *dg = NULL;
    struct aa_client_token_response tr;
    const struct aa_client_step *st = NULL;
    struct aa_diag d;
    char url[AA_AW_URL_MAX];
    cJSON *h = NULL, *cl = NULL;
    char *t1 = NULL, *rt2 = NULL, *t2 = NULL, *t1d = NULL, *rt2d = NULL;
    long status = 0;
    int rc;

    memset(&f, 0, sizeof(f));
    memset(&tr, 0, sizeof(tr));
    aa_diag_clear(&d);
    if (aa_aw_init(&f.w) != AA_OK || aa_aw_run_peer(AA_ROLE_AUTH_SERVER, &f.as1, &d) != AA_OK ||
        aa_aw_instance_peer("resource2", &f.r2, &d) != AA_OK ||
        aa_aw_instance_peer("auth2", &f.as2, &d) != AA_OK ||
        aa_aw_agent(&f.w, &f.ag, &d) != AA_OK ||
        aa_aw_run_peer(AA_ROLE_RESOURCE, &f.r1, &d) != AA_OK || f7_exchanger(&f, &d) != AA_OK ||
        (f.agc = aa_aw_agent_client(&f.w, &f.ag, "AGENT 1", &d)) == NULL ||
        (f.r1c = aa_aw_resource_client(&f.w, &f.r1x, "RESOURCE 1", &d)) == NULL ||
        aa_jwk_thumbprint(aa_client_key(f.r1c), f.kr1) != AA_OK) {
        aa_aw_setup_failed(all, "setting up the F7 topology", &d);
        goto out;
    }
    aa_conf_note("F7: AG1 %s, R1 %s (calling R2 as %s), AS1 %s, R2 %s, AS2 %s", f.ag.id, f.r1.id,
                 f.r1x.id, f.as1.id, f.r2.id, f.as2.id);
    /* R1 under test with the harness's R2 as its downstream (PROFILE#6.7):
     * R2's behaviour is the reference's, not a verdict on the target */
    f.r2_judged = !(f.r2.embedded && aa_conf_target(AA_ROLE_RESOURCE)->under_test);
    if (!f.r2_judged)
        for (const struct aa_check *const *p = F7_R2_CHECKS; *p != NULL; p++)
            aa_check_skip(*p, "R2 is the harness's embedded resource2, the downstream of the R1 "
                              "under test (data-exchange): not judged; give --instance "
                              "resource2=URL to test your own R2");

    /* TEST 1 */
    f7_get_t1(&f, f.agc, AA_CRED_JWKS, &f.r1, true, NULL, &t1);
    if (t1 == NULL) {
        bool rec = false;
        aa_check_outcome(&f7_t1_issued, &rec);
        aa_check_not_evaluated(rec ? &f7_t1_issued : &f7_t1_challenge, after_t1);
        f7_run_untrusted(&f);
        goto out;
    }

    /* R1's own trigger (PROFILE#6.7) */
    f7_data_exchange(&f, t1);

    /* TEST 2: R1 -> R2, RT2 */
    if ((rt2 = f7_rt2(&f, f.r1c, f.r2_judged ? &f7_rt2_challenge : NULL)) == NULL) {
        if (f.r2_judged)
            aa_check_not_evaluated(&f7_rt2_challenge, after_rt2);
        else
            f7_harness_r2_failed(after_rt2);
        f7_run_untrusted(&f);
        goto out;
    }
    aa_aw_note_token("RT2", rt2);
    if (aa_aw_peek(rt2, &h, &cl, &d) != AA_OK) {
        if (f.r2_judged) {
            aa_check_fail(&f7_rt2_agent, f7_rt2_agent.expect, d.msg, "RT2 is not a JWS");
            aa_check_not_evaluated(&f7_rt2_agent, after_rt2);
        } else {
            f7_harness_r2_failed(after_rt2);
        }
        f7_run_untrusted(&f);
        goto out;
    }
    if (f.r2_judged) {
        aa_aw_expect_claim(&f7_rt2_agent, cl, "agent", f.r1x.id);
        aa_aw_expect_claim(&f7_rt2_jkt, cl, "agent_jkt", f.kr1);
        aa_aw_expect_claim(&f7_rt2_aud, cl, "aud", f.as2.id);
    }

    /* the exchange (capability: request_types_supported of AS2) */
    rc = aa_aw_fetch_metadata(&f.as2, "aauth-issuer", &status, &f.as2_md, &d);
    if (rc != AA_OK && (status == 0 || aa_err_is_fault(rc))) {
        aa_check_fault(&f7_status, "fetching AS2's metadata", rc, &d);
        aa_check_not_evaluated(&f7_status, after_status);
        aa_check_not_evaluated(&f7_status, AA_CHECKS(&f7_untrusted));
        goto out;
    }
    if (f.as2_md == NULL) {
        aa_check_fail(&f7_status, "AS2's issuer metadata (PROFILE#3)", d.msg,
                      "agent_token_endpoint is found through the metadata");
        aa_check_not_evaluated(&f7_status, after_status);
        aa_check_not_evaluated(&f7_status, AA_CHECKS(&f7_untrusted));
        goto out;
    }
    if (!aa_check_require_listed(&f7_status, AA_ROLE_AUTH_SERVER, f.as2_md,
                                 "request_types_supported", "exchange")) {
        aa_check_not_evaluated(&f7_status, after_status);
        aa_check_not_evaluated(&f7_status, AA_CHECKS(&f7_untrusted));
        goto out;
    }
    if (f.r1x.local) {
        /* the harness's R1' needs its own T1 (AS1 already judged in TEST 1) */
        free(t1);
        f7_get_t1(&f, f.agc, AA_CRED_JWKS, &f.r1x, false, &f7_status, &t1);
        if (t1 == NULL) {
            aa_check_not_evaluated(&f7_status, after_status);
            f7_run_untrusted(&f);
            goto out;
        }
    }
    rc = f7_exchange(&f, f.r1c, t1, rt2, &tr, &st, &d);
    if (st == NULL) {
        aa_check_fault(&f7_status, "reaching AS2's agent_token_endpoint", rc, &d);
        aa_check_not_evaluated(&f7_status, after_status);
        f7_run_untrusted(&f);
        goto out;
    }
    if (!aa_aw_expect_step(&f7_status, rc, &d, st, 200, NULL) ||
        !aa_aw_expect_token_members(&f7_status, st, false)) {
        if (st->has_response && st->resp.status == 401)
            aa_conf_note("hint: AS2 (%s) must trust AS1 (%s) as an upstream issuer", f.as2.id,
                         f.as1.id);
        aa_check_not_evaluated(&f7_status, after_status);
        f7_run_untrusted(&f);
        goto out;
    }
    if (aa_aw_resp_str(st, "refresh_token") == NULL &&
        cJSON_GetObjectItemCaseSensitive(st->json, "refresh_token") == NULL)
        aa_check_pass(&f7_norefresh, "no refresh_token");
    else
        aa_check_fail(&f7_norefresh, f7_norefresh.expect, "refresh_token present",
                      "an exchanged token is never refreshed (PROFILE#6.3, EX-08)");
    t2 = aa_strdup(aa_aw_resp_str(st, "auth_token"));
    aa_aw_url(&f.r2, f.r2.auth_path, url, sizeof(url));
    rc = aa_aw_send(f.r1c, "GET", url, AA_CRED_AUTH_TOKEN, t2, NULL, NULL, &st, &d);
    if (f.r2_judged && aa_aw_step_ok(&f7_t2_accepted, rc, &d, st, 200, NULL)) {
        const char *agent = aa_aw_resp_str(st, "agent");
        aa_expect_true(&f7_t2_accepted, agent != NULL && strcmp(agent, f.r1x.id) == 0,
                       f7_t2_accepted.expect, "agent %s", agent ? agent : "(absent)");
    }

    /* TEST 3 */
    f7_judge_t2(&f, t1, t2);

    /* act.agent_delegate for a delegate's T1 */
    dg = aa_aw_delegate_client(&f.w, &f.ag, AA_CLIENT_DEFAULT_SUB, "DELEGATE", &d);
    if (dg == NULL || aa_client_agent_token_obtain(dg, &d) != AA_OK) {
        aa_check_error(&f7_act_delegate, "the harness delegate has no agent token: %s", d.msg);
    } else {
        f7_get_t1(&f, dg, AA_CRED_AGENT_TOKEN, &f.r1x, false, &f7_act_delegate, &t1d);
        if (t1d != NULL && (rt2d = f7_rt2(&f, f.r1c, NULL)) == NULL)
            f7_no_rt2(&f7_act_delegate, f.r2_judged);
        if (t1d != NULL && rt2d != NULL) {
            aa_client_token_response_cleanup(&tr);
            rc = f7_exchange(&f, f.r1c, t1d, rt2d, &tr, &st, &d);
            if (st == NULL)
                aa_check_fault(&f7_act_delegate, "reaching AS2", rc, &d);
            else if (aa_aw_expect_step(&f7_act_delegate, rc, &d, st, 200, NULL) &&
                     aa_aw_resp_str(st, "auth_token") != NULL)
                f7_expect_act_delegate(t1d, aa_aw_resp_str(st, "auth_token"));
        }
    }

    /* EX-01 */
    f7_run_untrusted(&f);
out:
    aa_client_token_response_cleanup(&tr);
    cJSON_Delete(h);
    cJSON_Delete(cl);
    cJSON_Delete(f.as2_md);
    free(t1);
    free(rt2);
    free(t2);
    free(t1d);
    free(rt2d);
    aa_aw_cleanup(&f.w);
}
