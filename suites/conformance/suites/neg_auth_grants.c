/*
 * neg-auth, grants: request parameters of agent_token_endpoint (PROFILE#6.3,
 * catalogue AS-01..09), authorization codes and the consent endpoint
 * (PROFILE#6.4, #6.6, catalogue CD-01..08) and refresh tokens (D-20,
 * catalogue RF-01..06).
 *
 * Codes need user consent. The reference AS asks for it whenever identity
 * scopes are requested (D-23), so the cases ask for scope=openid (the
 * agent as resource, F5) and play the scripted user of PROFILE#6.6; an AS
 * that issues tokens without consent cannot be tested here and the checks
 * are SKIP with that reason. What needs time to pass (a code older than
 * 60 s, an expired request token, a refresh token past 24 h) runs against
 * the runner's "auth-timetravel" instance, whose clock the case moves
 * forward; against an external auth server it cannot run (SKIP).
 */
#include <stdlib.h>
#include <string.h>

#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "neg_auth_util.h"

#define CHECK(name, id_, spec_, title_, expect_)                                                   \
    AA_CHECK(name, .id = id_, .suite = "neg-auth", .title = title_, .role = AA_ROLE_AUTH_SERVER,   \
             .level = AA_LEVEL_MUST, .spec = spec_, .rfc = NULL, .expect = expect_)

/* ---- checks: AS parameters ------------------------------------------------------------ */

CHECK(as_ok, "neg-auth.as.valid-accepted", "PROFILE#6.3",
      "request_type=auth with a resource token and the registered redirect_uri (baseline)",
      "200 with auth_token (or request_token when the AS asks for consent)");
CHECK(as_no_type, "neg-auth.as.no-request-type", "PROFILE#6.3",
      "AS-01 the auth request without request_type", "400 invalid_request");
CHECK(as_bogus, "neg-auth.as.unsupported-request-type", "PROFILE#6.3", "AS-02 request_type=bogus",
      "400 unsupported_request_type");
CHECK(as_count, "neg-auth.as.auth-parameter-count", "PROFILE#6.3",
      "AS-03 none, or two, of resource_token / scope / auth_request_url", "400 invalid_request");
CHECK(as_no_ru, "neg-auth.as.no-redirect-uri", "PROFILE#6.3",
      "AS-04 the auth request without redirect_uri", "400 invalid_request (D-18)");
CHECK(as_ru_unreg, "neg-auth.as.redirect-uri-unregistered", "PROFILE#6.3",
      "AS-05 a redirect_uri the agent's metadata does not list", "400 invalid_request (D-18)");
CHECK(as_json, "neg-auth.as.json-body", "PROFILE#6",
      "AS-06 the auth request as an application/json body", "400 invalid_request");
CHECK(as_repeat, "neg-auth.as.repeated-parameter", "PROFILE#6",
      "AS-07 redirect_uri or request_type given twice", "400 invalid_request");
CHECK(as_cred, "neg-auth.as.credential-not-identity", "PROFILE#6.3",
      "AS-08 the auth request signed with hwk, or with an auth+jwt",
      "400 invalid_request (D-15: an identity is required)");
CHECK(as_get, "neg-auth.as.method-get", "PROFILE#6.3", "AS-09 GET agent_token_endpoint",
      "405 (D-30 step 1)");

/* ---- checks: codes and consent --------------------------------------------------------- */

CHECK(cd_reuse, "neg-auth.cd.code-reused", "PROFILE#6.3",
      "CD-01 an authorization code redeemed twice",
      "the first redemption 200, the second 400 invalid_grant");
CHECK(cd_ru, "neg-auth.cd.redirect-uri-mismatch", "PROFILE#6.3",
      "CD-03 a code redeemed with another redirect_uri", "400 invalid_grant (D-18)");
CHECK(cd_other, "neg-auth.cd.other-requester", "PROFILE#6.3",
      "CD-04 a code redeemed by the same delegate with another key, or by another delegate",
      "400 invalid_grant");
CHECK(cd_unknown, "neg-auth.cd.unknown-code", "PROFILE#6.3", "CD-05 an unknown code",
      "400 invalid_grant");
CHECK(cd_rq_used, "neg-auth.cd.request-token-used", "PROFILE#6.4",
      "CD-06 agent_auth_endpoint with a request_token already consented to, or unknown",
      "400 and no redirect (no Location)");
CHECK(cd_rq_ru, "neg-auth.cd.auth-redirect-mismatch", "PROFILE#6.4",
      "CD-07 agent_auth_endpoint with a redirect_uri other than the auth request's",
      "400 and no redirect (no Location)");
CHECK(cd_denied, "neg-auth.cd.consent-denied", "PROFILE#6.4", "CD-08 the user denies consent",
      "303 to redirect_uri with error=access_denied and the state echoed");

/* ---- checks: refresh ------------------------------------------------------------------- */

CHECK(rf_ok, "neg-auth.rf.valid-accepted", "PROFILE#6.3",
      "request_type=refresh by the delegate the grant was issued to (baseline)",
      "200 with auth_token and expires_in");
AA_CHECK(rf_rot, .id = "neg-auth.rf.no-rotation", .suite = "neg-auth",
         .title = "RF-06 the refresh answer carries no new refresh_token",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_SHOULD, .spec = "PROFILE#6.3", .rfc = NULL,
         .expect = "{auth_token, expires_in} only (D-20: not rotated)");
CHECK(rf_unknown, "neg-auth.rf.unknown", "PROFILE#6.3", "RF-01 an unknown refresh token",
      "400 invalid_grant");
CHECK(rf_agent, "neg-auth.rf.other-agent", "PROFILE#6.3",
      "RF-02 a refresh token presented by another agent", "400 invalid_grant (D-20)");
CHECK(rf_sub, "neg-auth.rf.other-sub", "PROFILE#6.3",
      "RF-03 a refresh token presented by another delegate (sub) of the same agent",
      "400 invalid_grant (D-20)");
CHECK(rf_cred, "neg-auth.rf.credential-not-identity", "PROFILE#6.3",
      "RF-05 refresh signed with hwk, or with an auth+jwt", "400 invalid_request (D-20)");

/* ---- checks: time (auth-timetravel) --------------------------------------------------- */

CHECK(cd_old, "neg-auth.cd.code-expired", "PROFILE#6.3",
      "CD-02 a code redeemed 61 s after it was issued (lifetime 60 s, D-5)", "400 invalid_grant");
CHECK(cd_rq_old, "neg-auth.cd.request-token-expired", "PROFILE#6.4",
      "CD-06 agent_auth_endpoint with a request_token 601 s old (lifetime 600 s)",
      "400 and no redirect (no Location)");
CHECK(rf_old, "neg-auth.rf.expired", "PROFILE#6.3",
      "RF-04 a refresh token used 24 h + 1 s after it was issued (D-5)", "400 invalid_grant");

/* ---- helpers ---------------------------------------------------------------------------- */

/* An auth token typed auth+jwt (D-28): only then does presenting it test
 * the "auth+jwt is no identity" rule; an AS that types its tokens wrongly
 * fails that in the flow suites, not here. */
static bool typed_auth_jwt(const char *tok)
{
    struct aa_jwt j;
    bool yes;

    if (tok == NULL || aa_jwt_parse(tok, strlen(tok), &j, NULL) != AA_OK)
        return false;
    yes = aa_jwt_check_typ(&j, "auth+jwt", NULL) == AA_OK;
    aa_jwt_cleanup(&j);
    return yes;
}

/* POST |body| for client |nc| (its key and agent token, or |cred|/|key|)
 * to |url|, judged for |c|. */
static bool post_as(struct na_env *e, struct na_client *nc, const struct aa_check *c,
                    const char *what, const char *url, const char *body,
                    const struct aa_sign_cred *cred, const struct aa_jwk *key,
                    const struct aa_sign_opts *o, long status, const char *error,
                    struct aa_http_response *out)
{
    struct aa_sign_cred own;
    struct na_req r;

    if (body == NULL) {
        aa_check_error(c, "%s: out of memory", what);
        return false;
    }
    memset(&r, 0, sizeof(r));
    na_flush(nc);
    if (cred == NULL) {
        own = na_cred_jwt(aa_client_agent_token(nc->c));
        cred = &own;
    }
    r.url = url;
    r.body = body;
    r.cred = cred;
    r.key = key != NULL ? key : aa_client_key(nc->c);
    r.opts = o;
    return na_env_check(e, c, what, &r, status, 0, error, NULL, out);
}

/* ---- AS parameters ---------------------------------------------------------------------- */

AA_CASE(neg_auth, parameters,
        .title = "agent_token_endpoint refuses malformed requests (PROFILE#9 AS-01..09)",
        .needs = AA_NEED_ALL,
        .checks = AA_CHECKS(&as_ok, &as_no_type, &as_bogus, &as_count, &as_no_ru, &as_ru_unreg,
                            &as_json, &as_repeat, &as_cred, &as_get))
{
    struct na_env e;
    struct aa_http_response ok;
    struct aa_sign_cred cred;
    struct na_req r;
    char *b = NULL, *at = NULL, *hwk = NULL;

    aa_http_response_init(&ok);
    if (!na_env_init(&e, NA_ENV_RT))
        goto out;
    memset(&r, 0, sizeof(r));
    if (!na_env_check(&e, &as_ok, "baseline: the valid auth request", &r, 200, 0, NULL, NULL,
                      &ok)) {
        aa_check_not_evaluated(&as_ok, aa_conf_current_case()->checks);
        goto out;
    }
    at = na_json_member(&ok, "auth_token");
    if (at == NULL) {
        /* The AS asked for consent: get an auth token the long way. */
        struct aa_buf why;
        aa_buf_init(&why, 2048);
        if (!na_env_grant(&e, &at, NULL, &why))
            aa_conf_note("%s", why.p ? why.p : "no auth token");
        aa_buf_free(&why);
    }

#define SEND(chk, what, pairs, st, err)                                                            \
    do {                                                                                           \
        b = na_form(pairs);                                                                        \
        post_as(&e, &e.dg, chk, what, e.as.token_url, b, NULL, NULL, NULL, st, err, NULL);         \
        free(b);                                                                                   \
        b = NULL;                                                                                  \
    } while (0)

    SEND(&as_no_type, "AS-01 no request_type",
         ((const char *const[]){"resource_token", e.rt, "redirect_uri", e.ru, NULL}), 400,
         "invalid_request");
    SEND(&as_bogus, "AS-02 request_type=bogus",
         ((const char *const[]){"request_type", "bogus", "resource_token", e.rt, "redirect_uri",
                                e.ru, NULL}),
         400, "unsupported_request_type");
    SEND(&as_count, "AS-03 none of the three",
         ((const char *const[]){"request_type", "auth", "redirect_uri", e.ru, NULL}), 400,
         "invalid_request");
    SEND(&as_count, "AS-03 resource_token and scope",
         ((const char *const[]){"request_type", "auth", "resource_token", e.rt, "scope",
                                "data.read", "redirect_uri", e.ru, NULL}),
         400, "invalid_request");
    SEND(&as_no_ru, "AS-04 no redirect_uri",
         ((const char *const[]){"request_type", "auth", "resource_token", e.rt, NULL}), 400,
         "invalid_request");
    /* D-18 checks redirect_uri only against a published redirect_uris list. */
    if (aa_check_require_feature(&as_ru_unreg, AA_ROLE_AGENT_SERVER, "user-authorization"))
        SEND(&as_ru_unreg, "AS-05 redirect_uri not registered",
             ((const char *const[]){"request_type", "auth", "resource_token", e.rt, "redirect_uri",
                                    "https://client.aauth-conformance.invalid/callback", NULL}),
             400, "invalid_request");

    /* AS-06: the same parameters as JSON. */
    {
        cJSON *j = cJSON_CreateObject();
        struct aa_buf jb;

        aa_buf_init(&jb, 64 * 1024);
        cJSON_AddStringToObject(j, "request_type", "auth");
        cJSON_AddStringToObject(j, "resource_token", e.rt);
        cJSON_AddStringToObject(j, "redirect_uri", e.ru);
        if (j == NULL || aa_json_print(j, &jb) != AA_OK) {
            aa_check_error(&as_json, "cannot build the JSON body");
        } else {
            memset(&r, 0, sizeof(r));
            r.body = jb.p;
            r.body_len = jb.len;
            r.content_type = NA_JSON_CT;
            na_env_check(&e, &as_json, "AS-06 JSON body", &r, 400, 0, "invalid_request", NULL,
                         NULL);
        }
        cJSON_Delete(j);
        aa_buf_free(&jb);
    }

    SEND(&as_repeat, "AS-07 redirect_uri twice",
         ((const char *const[]){"request_type", "auth", "resource_token", e.rt, "redirect_uri",
                                e.ru, "redirect_uri", e.ru, NULL}),
         400, "invalid_request");
    SEND(&as_repeat, "AS-07 request_type twice",
         ((const char *const[]){"request_type", "auth", "request_type", "auth", "resource_token",
                                e.rt, "redirect_uri", e.ru, NULL}),
         400, "invalid_request");

    /* AS-08: a valid signature, but a credential that is no identity. */
    hwk = na_hwk_value(aa_client_key(e.dg.c));
    if (hwk == NULL) {
        aa_check_error(&as_cred, "cannot build the hwk credential");
    } else {
        cred = na_cred_raw(hwk);
        post_as(&e, &e.dg, &as_cred, "AS-08 hwk credential", e.as.token_url, e.body, &cred, NULL,
                NULL, 400, "invalid_request", NULL);
    }
    if (!typed_auth_jwt(at)) {
        aa_conf_note("AS-08 auth+jwt variant not sent: the baseline answer had no auth_token "
                     "typed auth+jwt");
    } else {
        cred = na_cred_jwt(at);
        post_as(&e, &e.dg, &as_cred, "AS-08 auth+jwt credential", e.as.token_url, e.body, &cred,
                NULL, NULL, 400, "invalid_request", NULL);
    }

    /* AS-09 */
    {
        struct aa_http_response resp;
        struct aa_diag d;
        int rc;

        aa_http_response_init(&resp);
        aa_diag_clear(&d);
        na_flush(&e.dg);
        na_step("AS-09 GET agent_token_endpoint");
        rc = aa_conf_get("DELEGATE", e.as.token_url, &resp, &d);
        na_expect(&as_get, "AS-09 GET", rc, &d, &resp, 405, 0, NULL, NULL);
        aa_http_response_cleanup(&resp);
    }
#undef SEND
out:
    free(at);
    free(hwk);
    aa_http_response_cleanup(&ok);
    na_env_cleanup(&e);
}

/* ---- codes and consent ------------------------------------------------------------------ */

/* request_type=auth scope=openid for |nc| at |as|: a request_token.
 * AA_E_UNSUPPORTED when the AS granted without consent. */
static int request_token(struct na_client *nc, const struct na_as *as, const char *ru, char **rq,
                         struct aa_buf *why)
{
    struct aa_client_token_params tp;
    struct aa_client_token_response out;
    struct aa_diag d;
    int rc;

    *rq = NULL;
    memset(&tp, 0, sizeof(tp));
    memset(&out, 0, sizeof(out));
    aa_diag_clear(&d);
    tp.request_type = "auth";
    tp.scope = "openid";
    tp.redirect_uri = ru;
    rc = aa_client_token_request(nc->c, as->t->id, &tp, NULL, &out, &d);
    na_flush(nc);
    if (rc == AA_OK && out.request_token != NULL) {
        *rq = aa_strdup(out.request_token);
        rc = *rq != NULL ? AA_OK : AA_E_NOMEM;
    } else if (rc == AA_OK) {
        aa_buf_printf(why,
                      "the AS (%s) answered request_type=auth scope=openid with an auth "
                      "token, without asking for user consent: codes cannot be obtained",
                      as->t->id);
        rc = AA_E_UNSUPPORTED;
    } else {
        na_client_why(why, "request_type=auth scope=openid", rc, &d);
    }
    aa_client_token_response_cleanup(&out);
    return rc;
}

/* A fresh code for |nc| (request token, scripted login and consent). */
static int fresh_code(struct na_client *nc, const struct na_as *as, const char *ru, char **code,
                      char **rq_out, struct aa_buf *why)
{
    struct aa_client_consent_result cr;
    struct aa_diag d;
    char *rq = NULL;
    int rc;

    *code = NULL;
    memset(&cr, 0, sizeof(cr));
    aa_diag_clear(&d);
    if ((rc = request_token(nc, as, ru, &rq, why)) != AA_OK)
        return rc;
    rc = aa_client_consent(nc->c, as->t->id, rq, ru, NULL, &cr, &d);
    na_flush(nc);
    if (rc == AA_OK && cr.code != NULL) {
        *code = aa_strdup(cr.code);
        rc = *code != NULL ? AA_OK : AA_E_NOMEM;
    } else {
        na_client_why(why, "scripted consent", rc != AA_OK ? rc : AA_E_CLIENT_CONSENT, &d);
        /* The checks that need a code cannot be evaluated (ERROR), but the
         * cause is the AS's: say which check judges it as a FAIL. */
        if (rc == AA_E_CLIENT_STATE)
            aa_buf_adds(why, " (the auth server's non-conformance; judged by "
                             "consent.redirect.state-echoed in the consent suite)");
        rc = rc != AA_OK ? rc : AA_E_CLIENT_CONSENT;
    }
    if (rq_out != NULL) {
        *rq_out = rq;
        rq = NULL;
    }
    free(rq);
    aa_client_consent_result_cleanup(&cr);
    return rc;
}

static char *code_body(const char *code, const char *ru)
{
    const char *const pairs[] = {"request_type", "code", "code", code, "redirect_uri", ru, NULL};
    return na_form(pairs);
}

/* GET agent_auth_endpoint?request_token&redirect_uri&state: 400, no Location. */
static void auth_endpoint_refuses(const struct na_as *as, const struct aa_check *c,
                                  const char *what, const char *rq, const char *ru)
{
    struct aa_http_response resp;
    struct aa_buf q;
    struct aa_diag d;
    char *url;
    int rc;

    aa_http_response_init(&resp);
    aa_buf_init(&q, 64 * 1024);
    aa_diag_clear(&d);
    aa_form_add(&q, "request_token", rq);
    aa_form_add(&q, "redirect_uri", ru);
    aa_form_add(&q, "state", "aauth-conformance-state");
    url = q.p != NULL ? na_url_with_query(as->auth_url, q.p) : NULL;
    if (url == NULL) {
        aa_check_error(c, "%s: cannot build the URL", what);
        goto out;
    }
    na_step("%s", what);
    rc = aa_conf_get("BROWSER", url, &resp, &d);
    if (na_expect(c, what, rc, &d, &resp, 400, 0, NULL, NULL) &&
        aa_http_headers_get(&resp.headers, "Location") != NULL)
        aa_check_fail(c, "400 without a redirect", "a Location header",
                      "%s: answering with Location hands the request to an unverified "
                      "redirect_uri (PROFILE#6.4)",
                      what);
out:
    free(url);
    aa_buf_free(&q);
    aa_http_response_cleanup(&resp);
}

/* CD-08: the Location of the deny answer. */
static void judge_denied(const struct aa_client_consent_result *cr, const char *ru)
{
    const char *loc = cr->location, *qm;
    struct aa_form f;
    const char *err, *state;

    aa_form_init(&f);
    if (cr->status != 303 || loc == NULL) {
        aa_check_fail(&cd_denied, "303 with Location", cr->location ? cr->location : "no Location",
                      "the consent POST (consent=deny) answered %ld", cr->status);
        goto out;
    }
    qm = strchr(loc, '?');
    if (strncmp(loc, ru, strlen(ru)) != 0 || qm == NULL ||
        aa_form_parse(qm + 1, strlen(qm + 1), 0, &f, NULL) != AA_OK) {
        aa_check_fail(&cd_denied, "Location = redirect_uri?error=access_denied&state=...", loc,
                      NULL);
        goto out;
    }
    err = aa_form_get(&f, "error");
    state = aa_form_get(&f, "state");
    if (err == NULL || strcmp(err, "access_denied") != 0)
        aa_check_fail(&cd_denied, "error=access_denied", loc, "error is %s", err ? err : "missing");
    else if (state == NULL || cr->state == NULL || strcmp(state, cr->state) != 0)
        aa_check_fail(&cd_denied, "the state sent, echoed exactly", loc, "state sent %s",
                      cr->state ? cr->state : "(none)");
    else
        aa_check_pass(&cd_denied, "303 %s", loc);
out:
    aa_form_cleanup(&f);
}

AA_CASE(neg_auth, code,
        .title = "authorization codes and agent_auth_endpoint (PROFILE#9 CD-01, CD-03..08)",
        .needs = AA_NEED_ALL,
        .checks = AA_CHECKS(&cd_reuse, &cd_ru, &cd_other, &cd_unknown, &cd_rq_used, &cd_rq_ru,
                            &cd_denied))
{
    struct na_env e;
    struct na_client k2, d2;
    struct aa_buf why;
    struct aa_client_consent_result cr;
    struct aa_client_user deny;
    struct aa_diag d;
    char *code = NULL, *rq = NULL, *b = NULL;
    int rc;

    memset(&k2, 0, sizeof(k2));
    memset(&d2, 0, sizeof(d2));
    memset(&cr, 0, sizeof(cr));
    aa_buf_init(&why, 4096);
    if (!na_env_init(&e, 0))
        goto out;
    if (e.as.auth_url == NULL) {
        na_error_rest("the issuer metadata has no agent_auth_endpoint");
        goto out;
    }

    /* CD-01 and CD-06 (used). */
    rc = fresh_code(&e.dg, &e.as, e.ru, &code, &rq, &why);
    if (rc == AA_E_UNSUPPORTED) {
        na_skip_rest("%s", why.p);
        goto out;
    }
    if (rc != AA_OK) {
        na_error_rest("%s", why.p);
        goto out;
    }
    b = code_body(code, e.ru);
    if (post_as(&e, &e.dg, &cd_reuse, "CD-01 first redemption", e.as.token_url, b, NULL, NULL, NULL,
                200, NULL, NULL))
        post_as(&e, &e.dg, &cd_reuse, "CD-01 second redemption", e.as.token_url, b, NULL, NULL,
                NULL, 400, "invalid_grant", NULL);
    auth_endpoint_refuses(&e.as, &cd_rq_used, "CD-06 request_token already used", rq, e.ru);
    auth_endpoint_refuses(&e.as, &cd_rq_used, "CD-06 unknown request_token",
                          "aauth-conformance-unknown-request-token", e.ru);
    free(b);
    free(code);
    free(rq);
    b = code = rq = NULL;

    /* CD-03 */
    aa_buf_reset(&why);
    if (fresh_code(&e.dg, &e.as, e.ru, &code, NULL, &why) != AA_OK) {
        aa_check_error(&cd_ru, "%s", why.p);
    } else {
        b = code_body(code, "https://client.aauth-conformance.invalid/callback");
        post_as(&e, &e.dg, &cd_ru, "CD-03 redeemed with another redirect_uri", e.as.token_url, b,
                NULL, NULL, NULL, 400, "invalid_grant", NULL);
    }
    free(b);
    free(code);
    b = code = NULL;

    /* CD-04: the same sub with a new key, then another sub. */
    aa_buf_reset(&why);
    if (na_delegate_new(&k2, NULL, NULL, "DELEGATE (second key)", &why) != AA_OK ||
        na_delegate_new(&d2, "delegate-2", NULL, "DELEGATE delegate-2", &why) != AA_OK) {
        aa_check_error(&cd_other, "%s", why.p);
    } else {
        if (fresh_code(&e.dg, &e.as, e.ru, &code, NULL, &why) == AA_OK) {
            b = code_body(code, e.ru);
            post_as(&e, &k2, &cd_other, "CD-04 redeemed by the same sub with another key",
                    e.as.token_url, b, NULL, NULL, NULL, 400, "invalid_grant", NULL);
        } else {
            aa_check_error(&cd_other, "%s", why.p);
        }
        free(b);
        free(code);
        b = code = NULL;
        aa_buf_reset(&why);
        if (fresh_code(&e.dg, &e.as, e.ru, &code, NULL, &why) == AA_OK) {
            b = code_body(code, e.ru);
            post_as(&e, &d2, &cd_other, "CD-04 redeemed by delegate-2", e.as.token_url, b, NULL,
                    NULL, NULL, 400, "invalid_grant", NULL);
        } else {
            aa_check_error(&cd_other, "%s", why.p);
        }
        free(b);
        free(code);
        b = code = NULL;
    }

    /* CD-05 */
    code = na_random_b64(16);
    b = code != NULL ? code_body(code, e.ru) : NULL;
    post_as(&e, &e.dg, &cd_unknown, "CD-05 unknown code", e.as.token_url, b, NULL, NULL, NULL, 400,
            "invalid_grant", NULL);
    free(b);
    free(code);
    b = code = NULL;

    /* CD-07 */
    aa_buf_reset(&why);
    if (request_token(&e.dg, &e.as, e.ru, &rq, &why) != AA_OK)
        aa_check_error(&cd_rq_ru, "%s", why.p);
    else
        auth_endpoint_refuses(&e.as, &cd_rq_ru, "CD-07 redirect_uri differs from the auth request",
                              rq, "https://client.aauth-conformance.invalid/callback");
    free(rq);
    rq = NULL;

    /* CD-08 */
    aa_buf_reset(&why);
    if (request_token(&e.dg, &e.as, e.ru, &rq, &why) != AA_OK) {
        aa_check_error(&cd_denied, "%s", why.p);
    } else {
        memset(&deny, 0, sizeof(deny));
        deny.deny = true;
        aa_diag_clear(&d);
        na_step("CD-08 the scripted user denies consent");
        rc = aa_client_consent(e.dg.c, e.as.t->id, rq, e.ru, &deny, &cr, &d);
        na_flush(&e.dg);
        if (rc != AA_OK && rc != AA_E_CLIENT_DENIED && rc != AA_E_CLIENT_STATE &&
            rc != AA_E_CLIENT_CONSENT) {
            aa_buf_reset(&why);
            na_client_why(&why, "scripted consent", rc, &d);
            aa_check_error(&cd_denied, "%s", why.p);
        } else if (cr.status == 0) {
            aa_buf_reset(&why);
            na_client_why(&why, "scripted consent (no consent answer)", rc, &d);
            aa_check_error(&cd_denied, "%s", why.p);
        } else {
            judge_denied(&cr, e.ru);
        }
    }
    free(rq);
    rq = NULL;
out:
    free(b);
    free(code);
    free(rq);
    aa_client_consent_result_cleanup(&cr);
    na_client_free(&k2);
    na_client_free(&d2);
    aa_buf_free(&why);
    na_env_cleanup(&e);
}

/* ---- refresh ---------------------------------------------------------------------------- */

static char *refresh_body(const char *rt)
{
    const char *const pairs[] = {"request_type", "refresh", "refresh_token", rt, NULL};
    return na_form(pairs);
}

/* RF-02: another agent, a harness-hosted one with its own jwks identity. */
static void rf_other_agent(struct na_env *e, const char *body)
{
    struct na_ident other;
    struct aa_sign_cred cred;
    struct aa_buf why, sk;

    memset(&other, 0, sizeof(other));
    aa_buf_init(&why, 2048);
    aa_buf_init(&sk, 4096);
    if (!na_hosting_usable(e->as.t, &why)) {
        aa_check_skip(&rf_agent, "%s", why.p);
        goto out;
    }
    if (na_ident_start(&other, "aauth-agent", NULL, &why) != AA_OK) {
        aa_check_error(&rf_agent, "%s", why.p);
        goto out;
    }
    aa_buf_printf(&sk, "sig1=(scheme=jwks id=\"%s\" kid=\"%s\" well-known=\"aauth-agent\")",
                  other.id, other.key.kid);
    cred = na_cred_raw(sk.p);
    post_as(e, &e->dg, &rf_agent, "RF-02 refresh by another agent (jwks identity)", e->as.token_url,
            body, &cred, &other.key, NULL, 400, "invalid_grant", NULL);
out:
    na_ident_stop(&other);
    aa_buf_free(&why);
    aa_buf_free(&sk);
}

AA_CASE(neg_auth, refresh,
        .title = "refresh tokens at agent_token_endpoint (PROFILE#9 RF-01..03, RF-05, RF-06)",
        .needs = AA_NEED_ALL,
        .checks = AA_CHECKS(&rf_ok, &rf_rot, &rf_unknown, &rf_agent, &rf_sub, &rf_cred))
{
    struct na_env e;
    struct na_client d2;
    struct aa_http_response ref;
    struct aa_sign_cred cred;
    struct aa_buf why;
    char *rt = NULL, *at = NULL, *b = NULL, *hwk = NULL, *rnd = NULL;

    memset(&d2, 0, sizeof(d2));
    aa_http_response_init(&ref);
    aa_buf_init(&why, 4096);
    if (!na_env_init(&e, NA_ENV_RT))
        goto out;
    if (!na_env_grant(&e, &at, &rt, &why)) {
        na_error_rest("%s (neg-auth.as.valid-accepted judges that request)", why.p);
        goto out;
    }
    if (rt == NULL) {
        na_skip_rest("the auth answer carries no refresh_token, so there is nothing to refresh");
        goto out;
    }
    b = refresh_body(rt);

    rnd = na_random_b64(16);
    {
        char *ub = rnd != NULL ? refresh_body(rnd) : NULL;
        post_as(&e, &e.dg, &rf_unknown, "RF-01 unknown refresh token", e.as.token_url, ub, NULL,
                NULL, NULL, 400, "invalid_grant", NULL);
        free(ub);
    }
    rf_other_agent(&e, b);
    if (na_delegate_new(&d2, "delegate-2", NULL, "DELEGATE delegate-2", &why) != AA_OK)
        aa_check_error(&rf_sub, "%s", why.p);
    else
        post_as(&e, &d2, &rf_sub, "RF-03 refresh by delegate-2", e.as.token_url, b, NULL, NULL,
                NULL, 400, "invalid_grant", NULL);

    hwk = na_hwk_value(aa_client_key(e.dg.c));
    if (hwk == NULL) {
        aa_check_error(&rf_cred, "cannot build the hwk credential");
    } else {
        cred = na_cred_raw(hwk);
        post_as(&e, &e.dg, &rf_cred, "RF-05 hwk credential", e.as.token_url, b, &cred, NULL, NULL,
                400, "invalid_request", NULL);
    }
    if (!typed_auth_jwt(at)) {
        aa_conf_note("RF-05 auth+jwt variant not sent: no auth_token typed auth+jwt");
    } else {
        cred = na_cred_jwt(at);
        post_as(&e, &e.dg, &rf_cred, "RF-05 auth+jwt credential", e.as.token_url, b, &cred, NULL,
                NULL, 400, "invalid_request", NULL);
    }

    if (post_as(&e, &e.dg, &rf_ok, "refresh by the grant's delegate", e.as.token_url, b, NULL, NULL,
                NULL, 200, NULL, &ref) &&
        ref.status == 200) {
        char *again = na_json_member(&ref, "refresh_token");
        char *nat = na_json_member(&ref, "auth_token");
        if (nat == NULL)
            aa_check_fail(&rf_ok, "200 with auth_token", "no auth_token in the answer", NULL);
        if (again == NULL)
            aa_check_pass(&rf_rot, "no refresh_token in the refresh answer");
        else
            aa_check_fail(&rf_rot, rf_rot.expect, "a new refresh_token",
                          "D-20: refresh tokens are not rotated");
        free(again);
        free(nat);
    } else {
        aa_check_not_evaluated(&rf_ok, AA_CHECKS(&rf_rot));
    }
out:
    free(rt);
    free(at);
    free(b);
    free(hwk);
    free(rnd);
    na_client_free(&d2);
    aa_buf_free(&why);
    aa_http_response_cleanup(&ref);
    na_env_cleanup(&e);
}

/* ---- time: the auth-timetravel instance ------------------------------------------------- */

#define TT "auth-timetravel"

/* Sign later requests at the instance's time (its clock is ahead). */
static struct aa_sign_opts tt_opts(void)
{
    struct aa_sign_opts o;

    memset(&o, 0, sizeof(o));
    o.created_offset = aa_conf_instance_clock_offset(TT);
    return o;
}

static bool advance(const struct aa_check *const *checks, int64_t to)
{
    int64_t now = aa_conf_instance_clock_offset(TT);
    int rc;

    if (to <= now)
        return true;
    na_step("advance the clock of %s by %lld s (to +%lld s)", TT, (long long)(to - now),
            (long long)to);
    rc = aa_conf_advance_clock(TT, to - now);
    if (rc != AA_OK) {
        na_error_list(checks, "cannot advance the clock of %s: %s", TT, aa_strerror(rc));
        return false;
    }
    return true;
}

AA_CASE(neg_auth, expiry,
        .title = "codes, request tokens and refresh tokens past their lifetime (PROFILE#9 CD-02, "
                 "CD-06, RF-04; auth-timetravel)",
        .needs = AA_NEED(AA_ROLE_AGENT_SERVER) | AA_NEED(AA_ROLE_AUTH_SERVER),
        .instances = AA_INSTANCES(TT), .checks = AA_CHECKS(&cd_old, &cd_rq_old, &rf_old))
{
    const struct aa_conf_target *tt = aa_conf_instance(TT);
    struct na_env e;
    struct na_as as;
    struct aa_buf why;
    struct aa_jwk agk;
    struct aa_http_response resp;
    struct aa_sign_opts o;
    struct aa_sign_cred cred;
    char *c1 = NULL, *c2 = NULL, *rq3 = NULL, *b = NULL, *rt = NULL, *longtok = NULL;
    bool have_key;

    memset(&e, 0, sizeof(e));
    memset(&as, 0, sizeof(as));
    memset(&agk, 0, sizeof(agk));
    aa_buf_init(&why, 4096);
    aa_http_response_init(&resp);
    if (!tt->present) {
        na_skip_rest("%s", tt->unavailable ? tt->unavailable : "no auth-timetravel instance");
        goto out;
    }
    if (!na_env_init(&e, 0))
        goto out;
    if (na_as_init(&as, tt, &why) != AA_OK || as.auth_url == NULL) {
        na_error_rest("%s: %s", TT, why.len ? why.p : "no agent_auth_endpoint");
        goto out;
    }

    /* RF-04 outlives the agent server's 3600 s agent tokens: a token for
     * two days, signed with the agent server's own key. */
    have_key = na_role_key(AA_ROLE_AGENT_SERVER, &agk, &why);
    if (have_key) {
        cJSON *c = na_agent_claims(aa_client_agent_id(e.dg.c), aa_client_sub(e.dg.c),
                                   aa_client_key(e.dg.c));
        cJSON *h = na_jwt_header("agent+jwt", agk.kid);
        if (c != NULL)
            cJSON_ReplaceItemInObjectCaseSensitive(
                c, "exp", cJSON_CreateNumber((double)(aa_conf_now() + 2 * 86400)));
        longtok = na_jwt(h, c, &agk, NULL);
        cJSON_Delete(c);
        cJSON_Delete(h);
    } else {
        aa_check_skip(&rf_old, "%s", why.p);
    }

    /* Before any time passes: code 1 redeemed (a refresh token), code 2
     * kept, request token 3 kept (and shown to be live). */
    aa_buf_reset(&why);
    if (fresh_code(&e.dg, &as, e.ru, &c1, NULL, &why) != AA_OK ||
        fresh_code(&e.dg, &as, e.ru, &c2, NULL, &why) != AA_OK ||
        request_token(&e.dg, &as, e.ru, &rq3, &why) != AA_OK) {
        na_error_rest("%s: %s", TT, why.p);
        goto out;
    }
    b = code_body(c1, e.ru);
    if (post_as(&e, &e.dg, &cd_old, "control: code 1 redeemed at once", as.token_url, b, NULL, NULL,
                NULL, 200, NULL, &resp))
        rt = na_json_member(&resp, "refresh_token");
    free(b);
    b = NULL;
    if (!na_recorded(&rf_old) && rt != NULL && longtok != NULL) {
        b = refresh_body(rt);
        cred = na_cred_jwt(longtok);
        post_as(&e, &e.dg, &rf_old, "control: refresh at once, long-lived agent token",
                as.token_url, b, &cred, NULL, NULL, 200, NULL, NULL);
        free(b);
        b = NULL;
    }

    if (advance(AA_CHECKS(&cd_old, &cd_rq_old, &rf_old), 61)) {
        o = tt_opts();
        b = code_body(c2, e.ru);
        post_as(&e, &e.dg, &cd_old, "CD-02 code 2 redeemed 61 s later", as.token_url, b, NULL, NULL,
                &o, 400, "invalid_grant", NULL);
        free(b);
        b = NULL;
    }
    if (advance(AA_CHECKS(&cd_rq_old, &rf_old), 601))
        auth_endpoint_refuses(&as, &cd_rq_old, "CD-06 request token 601 s old", rq3, e.ru);
    {
        bool rec = false;
        enum aa_outcome oc = aa_check_outcome(&rf_old, &rec);

        if (!rec && rt == NULL) {
            aa_check_error(&rf_old, "no refresh token came with code 1");
        } else if (!rec) {
            aa_check_error(&rf_old, "cannot build the long-lived agent token");
        } else if (oc == AA_OUT_PASS && advance(AA_CHECKS(&rf_old), 86400 + 1)) {
            /* Only after the control refresh passed: the refusal is then
             * the lifetime, not the token. */
            o = tt_opts();
            b = refresh_body(rt);
            cred = na_cred_jwt(longtok);
            post_as(&e, &e.dg, &rf_old, "RF-04 refresh 24 h + 1 s later", as.token_url, b, &cred,
                    NULL, &o, 400, "invalid_grant", NULL);
        }
    }
out:
    free(c1);
    free(c2);
    free(rq3);
    free(b);
    free(rt);
    free(longtok);
    aa_jwk_cleanup(&agk);
    aa_buf_free(&why);
    aa_http_response_cleanup(&resp);
    na_as_cleanup(&as);
    na_env_cleanup(&e);
}
