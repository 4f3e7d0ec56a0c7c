/*
 * neg-resource, AU group: auth tokens at the resource's authorisation
 * endpoint (/data-auth by default; PROFILE#9 AU-01..AU-09, PROFILE#4.5,
 * #5, #6.2, #6.3).
 *
 * The auth tokens come from the run's auth server - the one the resource
 * must be configured to trust (with an external resource: the embedded
 * AS, fixed with --listen auth-server=ADDR:PORT) - through the real flow:
 * the resource's auth-token challenge, then POST agent_token_endpoint
 * request_type=auth signed by the harness's agent (jwks Mode 2). Tokens
 * that only the trusted AS could sign in a broken form (expired, wrong
 * typ, no agent) need that AS's private key; without it those checks are
 * SKIP with the reason. An untrusted issuer is a harness-run AS whose key
 * the harness holds; "aud is another resource" is a real token the AS
 * issued for a second, harness-run resource.
 *
 * Expected: 401 invalid_token with Agent-Auth: httpsig; identity=?1 for
 * an invalid auth token (PROFILE#5), 401 invalid_signature when the HTTP
 * signature is not made with cnf.jwk, 403 insufficient_scope with a new
 * auth-token challenge for a token without the scope, and for an agent
 * token a 401 with an auth-token challenge (the correct answer, AU-09).
 */
#include <stdlib.h>
#include <string.h>

#include "json/aa_json.h"
#include "neg_resource_util.h"

#define NR_AU(name, slug, spec_, rfc_, title_, expect_)                                            \
    AA_CHECK(name, .id = "neg-resource.au." slug, .suite = "neg-resource", .title = title_,        \
             .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = spec_, .rfc = rfc_,         \
             .expect = expect_)

#define E401 "401 invalid_token with Agent-Auth: httpsig; identity=?1"

NR_AU(au_baseline, "baseline", "PROFILE#4.5", NULL,
      "positive control: an auth token from the run's auth server (which the resource must "
      "trust), signed with its cnf key",
      "the auth-token challenge on the identified request, then 2xx with the auth token");
NR_AU(au_aud_other, "aud-other-resource", "PROFILE#4.5", "RFC7519#4.1.3",
      "AU-01: an auth token the trusted AS issued for another resource (aud = a harness-run "
      "resource)",
      E401);
NR_AU(au_untrusted, "untrusted-issuer", "PROFILE#4.5", NULL,
      "AU-02: a well-formed auth token from an auth server the resource does not trust "
      "(harness-run AS)",
      E401);
NR_AU(au_expired, "expired", "PROFILE#4.1", "RFC7519#4.1.4",
      "AU-03: an auth token of the trusted AS with exp = now - 120 (needs the AS's key)", E401);
NR_AU(au_sig_not_cnf, "sig-not-cnf", "PROFILE#4.5", "RFC7800#3.1",
      "AU-04: a valid auth token, HTTP signature made with a key other than cnf.jwk",
      "401 invalid_signature with Agent-Auth: httpsig; identity=?1");
NR_AU(au_typ_wrong, "typ-wrong", "PROFILE#4.5", "RFC7515#4.1.9",
      "AU-05: typ \"JWT\" on the authorisation endpoint: an auth token of the trusted AS (needs "
      "the AS's key), and a token whose claims would make a valid agent token",
      E401 " (a resource that guesses the kind of a token with the wrong typ answers the second "
           "with an auth-token challenge)");
NR_AU(au_agent_missing, "agent-missing", "PROFILE#4.5", NULL,
      "AU-06: an auth token of the trusted AS without the agent claim (needs the AS's key)", E401);
NR_AU(au_scope, "insufficient-scope", "PROFILE#4.5", "RFC6750#3.1",
      "AU-07: POST with an auth token holding only data.read (resource token scope=data.read)",
      "403 insufficient_scope with a new auth-token challenge");
NR_AU(au_rt_credential, "resource-token-credential", "PROFILE#4.5", NULL,
      "AU-08: the resource's own resource+jwt presented as the jwt credential", E401);
NR_AU(au_agent_token, "agent-token-on-auth", "PROFILE#5", NULL,
      "AU-09: a valid agent token (identity only) on the authorisation endpoint",
      "401 with Agent-Auth: httpsig; auth-token; resource_token=...; auth_server=... (the "
      "correct answer, not an error)");

static const struct nr_expect e401 = {401, 0, "invalid_token", NULL, NULL, NR_CHAL_IDENTITY, NULL};

/*
 * The identified request to |origin||path| (NULL origin: the resource
 * under test) and its auth-token challenge. On success |*rt| and |*as|
 * are heap copies. With a check |c| the answer is judged (the resource
 * under test); with NULL nothing is recorded (a harness-run resource).
 * false in every failure case.
 */
static bool challenge(const struct aa_check *c, struct nr_fx *fx, const char *url, char **rt,
                      char **as)
{
    static const struct nr_expect want = {401, 0, NULL, NULL, NULL, NR_CHAL_AUTH_TOKEN, NULL};
    struct aa_http_response resp;
    struct aa_challenge ch;
    struct nr_req r = {0};
    char *v = NULL;
    bool ok = false;

    *rt = *as = NULL;
    memset(&ch, 0, sizeof(ch));
    aa_http_response_init(&resp);
    r.note = "the identified request (jwks Mode 2) to the authorisation endpoint: expect the "
             "auth-token challenge";
    if (url != NULL)
        r.url = url;
    else
        r.path = nr_auth_path(fx);
    if (c != NULL) {
        if (!nr_run(c, fx, &r, &want, &resp))
            goto out;
    } else {
        struct aa_diag d;
        aa_diag_clear(&d);
        if (nr_send(fx, &r, &resp, NULL, &d) != AA_OK || resp.status != 401)
            goto out;
    }
    if ((v = nr_agent_auth(&resp)) == NULL ||
        aa_challenge_parse(NULL, v, strlen(v), &ch, NULL) != AA_OK || ch.resource_token == NULL ||
        ch.auth_server == NULL)
        goto out; /* already recorded by the challenge judgement */
    *rt = aa_strdup(ch.resource_token);
    *as = aa_strdup(ch.auth_server);
    ok = *rt != NULL && *as != NULL;
out:
    free(v);
    aa_challenge_cleanup(&ch);
    aa_http_response_cleanup(&resp);
    return ok;
}

/*
 * POST the run's AS agent_token_endpoint: request_type=auth with either
 * |rt|, signed by the agent identity (jwks Mode 2). |*at| heap on
 * success; otherwise |why| says what the AS did, and the result is
 * AA_E_AAUTH_RESOURCE_TOKEN when the embedded (reference) AS refused the
 * resource token itself (400 invalid_resource_token): then the resource
 * that issued it is at fault.
 */
static int as_token(struct nr_fx *fx, const char *rt, char **at, struct aa_buf *why)
{
    struct aa_http_response resp;
    struct aa_buf md_url, form, cb;
    struct nr_req r = {0};
    struct aa_diag d;
    cJSON *md = NULL, *body = NULL;
    char *ep = NULL;
    const char *v;
    int rc = AA_E_INVAL;

    *at = NULL;
    aa_http_response_init(&resp);
    aa_buf_init(&md_url, 4096);
    aa_buf_init(&form, 64 * 1024);
    aa_buf_init(&cb, 4096);
    aa_diag_clear(&d);
    if (aa_http_well_known_url(fx->as->connect_url, NR_WK_ISSUER, &md_url) != AA_OK ||
        nr_get_json(md_url.p, &md, why) != AA_OK)
        goto out;
    if ((v = aa_json_str(md, "agent_token_endpoint")) == NULL) {
        aa_buf_adds(why, "issuer metadata has no agent_token_endpoint");
        goto out;
    }
    if ((ep = aa_strdup(v)) == NULL)
        goto out;
    aa_buf_printf(&cb, "%s%s", fx->agent_id, AA_REF_PATH_CALLBACK);
    aa_form_add(&form, "request_type", "auth");
    aa_form_add(&form, "resource_token", rt);
    aa_form_add(&form, "redirect_uri", cb.p);
    r.note = "POST agent_token_endpoint request_type=auth (the resource token above)";
    r.url = ep;
    r.method = "POST";
    r.ctype = "application/x-www-form-urlencoded";
    r.body = form.p;
    r.body_len = form.len;
    rc = nr_send(fx, &r, &resp, NULL, &d);
    if (rc != AA_OK) {
        aa_buf_printf(why, "POST %s: %s: %s", ep, aa_strerror(rc), d.msg);
        goto out;
    }
    if (aa_json_parse(resp.body, resp.body_len, NULL, &body, &d) != AA_OK)
        body = NULL;
    if (resp.status != 200 || (v = aa_json_str(body, "auth_token")) == NULL) {
        const char *err = aa_json_str(body, "error");
        aa_buf_printf(why, "POST %s: status %ld, no auth_token (%.300s)", ep, resp.status,
                      resp.body != NULL ? resp.body : "");
        /* PROFILE#4.4: the AS judged the resource token; when that AS is
         * the harness's reference, the token is what was wrong. */
        rc = resp.status == 400 && err != NULL && strcmp(err, "invalid_resource_token") == 0 &&
                     fx->as->embedded
                 ? AA_E_AAUTH_RESOURCE_TOKEN
                 : AA_E_INVAL;
        goto out;
    }
    *at = aa_strdup(v);
    rc = *at != NULL ? AA_OK : AA_E_NOMEM;
    if (*at != NULL)
        nr_note_token("auth token issued by the auth server (decoded)", *at);
out:
    cJSON_Delete(md);
    cJSON_Delete(body);
    free(ep);
    aa_buf_free(&md_url);
    aa_buf_free(&form);
    aa_buf_free(&cb);
    aa_http_response_cleanup(&resp);
    return rc;
}

/* Present |token| to the authorisation endpoint signed by |key|. */
static bool present(const struct aa_check *c, struct nr_fx *fx, const char *note,
                    const char *method, const char *token, const struct aa_jwk *key,
                    const struct nr_expect *e, struct aa_http_response *resp_out)
{
    static const char *const body = "{\"write\":\"something\"}";
    struct aa_sign_cred cred = nr_jwt_cred(token);
    struct nr_req r = {0};

    r.note = note;
    r.path = nr_auth_path(fx);
    r.cred = &cred;
    r.key = key;
    if (method != NULL && strcmp(method, "POST") == 0) {
        r.method = "POST";
        r.ctype = "application/json";
        r.body = body;
        r.body_len = strlen(body);
    }
    return nr_run(c, fx, &r, e, resp_out);
}

/* ---- the cases ---------------------------------------------------------- */

struct au_state {
    char *at; /* valid auth token for the resource under test (cnf = agent key) */
    char *rt; /* the resource token of its challenge */
};

static bool baseline(struct nr_fx *fx, struct au_state *st)
{
    static const struct nr_expect ok = {200, 0, NULL, NULL, NULL, NR_CHAL_NONE, NULL};
    struct aa_buf why;
    char *as = NULL;
    bool pass = false;
    int rc;

    aa_buf_init(&why, 4096);
    if (!fx->as->present || fx->as->id == NULL) {
        aa_check_error(&au_baseline, "no auth server in this run%s%s",
                       fx->as->unavailable ? ": " : "",
                       fx->as->unavailable ? fx->as->unavailable : "");
        goto out;
    }
    if (!challenge(&au_baseline, fx, NULL, &st->rt, &as))
        goto out;
    if (strcmp(as, fx->as->id) != 0) {
        aa_check_error(&au_baseline,
                       "the resource names auth server %s, the run's auth server is %s: "
                       "configure the resource to trust %s (fix its address with --listen "
                       "auth-server=ADDR:PORT)",
                       as, fx->as->id, fx->as->id);
        goto out;
    }
    if ((rc = as_token(fx, st->rt, &st->at, &why)) != AA_OK) {
        if (rc == AA_E_AAUTH_RESOURCE_TOKEN)
            aa_check_fail(&au_baseline, "a resource token the trusted auth server accepts",
                          why.p != NULL ? why.p : "refused",
                          "PROFILE#4.4: the reference auth server refused the resource token "
                          "of the challenge");
        else
            aa_check_error(&au_baseline, "the auth server did not issue an auth token: %s",
                           why.p != NULL ? why.p : "");
        goto out;
    }
    pass = present(&au_baseline, fx, "control: GET with the auth token, signed with cnf.jwk", NULL,
                   st->at, &fx->agent_key, &ok, NULL);
out:
    free(as);
    aa_buf_free(&why);
    return pass;
}

/* AU-01: a second resource run by the harness, trusting the same AS. */
static void aud_other(struct nr_fx *fx)
{
    struct aa_ref_resource_config cfg;
    struct aa_ref_server *r2 = NULL;
    struct aa_buf url, why;
    struct aa_diag d;
    char *rt = NULL, *as = NULL, *at = NULL;
    int rc;

    aa_buf_init(&url, 4096);
    aa_buf_init(&why, 4096);
    aa_ref_resource_defaults(&cfg);
    cfg.auth_server = fx->as->id;
    cfg.c.bind_addr = aa_conf_harness_host(); /* the auth server fetches its metadata */
    cfg.c.clock = &fx->clock;
    aa_diag_clear(&d);
    if (!aa_check_require_reachable(fx->as, AA_CHECKS(&au_aud_other)))
        goto out;
    if ((rc = aa_ref_resource_start(&cfg, &r2, &d)) != AA_OK) {
        aa_check_error(&au_aud_other, "the harness's second resource could not start: %s", d.msg);
        goto out;
    }
    aa_conf_note("\n### AU-01: harness-run resource %s obtains a token from the same AS",
                 aa_ref_id(r2));
    aa_buf_printf(&url, "%s/data-auth", aa_ref_url(r2));
    /* The second resource is the harness's: its answers are not judged,
     * and a failure to get its token is ERROR, not FAIL. */
    if (!challenge(NULL, fx, url.p, &rt, &as)) {
        aa_check_error(&au_aud_other, "no auth-token challenge from the harness's resource %s",
                       aa_ref_id(r2));
        goto out;
    }
    if (as_token(fx, rt, &at, &why) != AA_OK) {
        aa_check_error(&au_aud_other, "the auth server did not issue a token for %s: %s",
                       aa_ref_id(r2), why.p != NULL ? why.p : "");
        goto out;
    }
    present(&au_aud_other, fx, "AU-01: auth token with aud = the other resource", NULL, at,
            &fx->agent_key, &e401, NULL);
out:
    free(rt);
    free(as);
    free(at);
    aa_ref_stop(r2);
    aa_buf_free(&url);
    aa_buf_free(&why);
}

/* A valid auth token's claims for the resource under test, issued by |iss|. */
static cJSON *auth_claims(const struct nr_fx *fx, const char *iss, const char *scope)
{
    cJSON *c = cJSON_CreateObject(), *cnf;
    cJSON *jwk = aa_jwk_to_cjson(&fx->agent_key, false);
    int64_t now = aa_conf_now();

    if (c == NULL || jwk == NULL || cJSON_AddStringToObject(c, "iss", iss) == NULL ||
        cJSON_AddStringToObject(c, "aud", fx->res->id) == NULL ||
        cJSON_AddStringToObject(c, "agent", fx->agent_id) == NULL ||
        cJSON_AddStringToObject(c, "scope", scope) == NULL ||
        cJSON_AddNumberToObject(c, "iat", (double)now) == NULL ||
        cJSON_AddNumberToObject(c, "exp", (double)(now + 3600)) == NULL ||
        (cnf = cJSON_AddObjectToObject(c, "cnf")) == NULL) {
        cJSON_Delete(c);
        cJSON_Delete(jwk);
        return NULL;
    }
    cJSON_AddItemToObject(cnf, "jwk", jwk);
    return c;
}

static cJSON *auth_header(const char *typ, const char *kid)
{
    cJSON *h = cJSON_CreateObject();

    if (h == NULL || cJSON_AddStringToObject(h, "typ", typ) == NULL ||
        cJSON_AddStringToObject(h, "kid", kid) == NULL) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

/* Sign |h|.|c| with |key| and present it (GET, signed by the agent key). */
static void minted(const struct aa_check *ck, struct nr_fx *fx, const char *note, cJSON *h,
                   cJSON *c, const struct aa_jwk *key)
{
    char *tok = NULL;

    aa_conf_note("\n### %s", note);
    if (h == NULL || c == NULL || nr_jwt("auth token (decoded)", h, c, key, NULL, &tok) != AA_OK) {
        aa_check_error(ck, "cannot build the auth token");
    } else {
        present(ck, fx, NULL, NULL, tok, &fx->agent_key, &e401, NULL);
    }
    free(tok);
    cJSON_Delete(h);
    cJSON_Delete(c);
}

/* AU-02: an AS run by the harness, with a key the harness holds. */
static void untrusted(struct nr_fx *fx)
{
    struct aa_ref_auth_config cfg;
    struct aa_ref_server *as2 = NULL;
    struct aa_jwk k;
    struct aa_diag d;
    int rc;

    memset(&k, 0, sizeof(k));
    aa_diag_clear(&d);
    if ((rc = aa_jwk_generate(AA_KTY_OKP, AA_REF_AUTH_KID, &k)) != AA_OK) {
        aa_check_error(&au_untrusted, "cannot generate a key: %s", aa_strerror(rc));
        return;
    }
    aa_ref_auth_defaults(&cfg);
    cfg.c.bind_addr = aa_conf_harness_host(); /* the resource may fetch its JWKS */
    cfg.c.key = &k;
    cfg.c.clock = &fx->clock;
    if (!aa_check_require_reachable(fx->res, AA_CHECKS(&au_untrusted))) {
        aa_jwk_cleanup(&k);
        return;
    }
    if ((rc = aa_ref_auth_start(&cfg, &as2, &d)) != AA_OK) {
        aa_check_error(&au_untrusted, "the harness's own auth server could not start: %s", d.msg);
    } else {
        aa_conf_note("Harness auth server (not trusted by the resource): %s", aa_ref_id(as2));
        minted(&au_untrusted, fx, "AU-02: auth token from an untrusted (harness-run) auth server",
               auth_header("auth+jwt", AA_REF_AUTH_KID),
               auth_claims(fx, aa_ref_id(as2), "data.read data.write"), &k);
    }
    aa_ref_stop(as2);
    aa_jwk_cleanup(&k);
}

/* AU-05 without the AS key: typ "JWT" on claims that would be a valid
 * agent token. Only a resource that ignores typ and guesses "agent token"
 * establishes an identity from it (and then challenges for an auth token
 * instead of refusing the token). */
static void typ_guess(struct nr_fx *fx)
{
    cJSON *h = nr_agent_header(fx), *c = nr_agent_claims(fx);
    char *tok = NULL;

    aa_conf_note("\n### AU-05: typ \"JWT\" on valid agent-token claims");
    if (h != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(h, "typ", cJSON_CreateString("JWT"));
    if (h == NULL || c == NULL ||
        nr_jwt("token (decoded)", h, c, &fx->agent_key, NULL, &tok) != AA_OK)
        aa_check_error(&au_typ_wrong, "cannot build the token");
    else
        present(&au_typ_wrong, fx, NULL, NULL, tok, &fx->dkey, &e401, NULL);
    free(tok);
    cJSON_Delete(h);
    cJSON_Delete(c);
}

/* AU-03, AU-05, AU-06: tokens only the trusted AS's key can make. */
static void forged(struct nr_fx *fx)
{
    static const struct aa_check *const need[] = {&au_expired, &au_typ_wrong, &au_agent_missing};
    struct aa_jwk k;
    const char *why = NULL;
    cJSON *c;
    int64_t now = aa_conf_now();

    int rc = nr_embedded_key(AA_ROLE_AUTH_SERVER, &k, &why);

    typ_guess(fx);
    if (rc != AA_OK) {
        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
            if (need[i] == &au_typ_wrong && rc == AA_E_UNSUPPORTED) {
                aa_conf_note("AU-05 with the trusted AS's own token not sent: %s", why);
                continue;
            }
            if (rc == AA_E_UNSUPPORTED)
                aa_check_skip(need[i],
                              "needs a token signed by the trusted auth server %s in a broken "
                              "form: %s",
                              fx->as->id, why);
            else
                aa_check_error(need[i], "%s", why);
        }
        return;
    }
    c = auth_claims(fx, fx->as->id, "data.read data.write");
    if (c != NULL) {
        cJSON_ReplaceItemInObjectCaseSensitive(c, "iat", cJSON_CreateNumber((double)(now - 3720)));
        cJSON_ReplaceItemInObjectCaseSensitive(c, "exp",
                                               cJSON_CreateNumber((double)(now - NR_SKEW_CASE)));
    }
    minted(&au_expired, fx, "AU-03: auth token with exp = now - 120",
           auth_header("auth+jwt", k.kid), c, &k);
    minted(&au_typ_wrong, fx, "AU-05: auth token with typ \"JWT\"", auth_header("JWT", k.kid),
           auth_claims(fx, fx->as->id, "data.read data.write"), &k);
    c = auth_claims(fx, fx->as->id, "data.read data.write");
    if (c != NULL)
        cJSON_DeleteItemFromObjectCaseSensitive(c, "agent");
    minted(&au_agent_missing, fx, "AU-06: auth token without agent", auth_header("auth+jwt", k.kid),
           c, &k);
    aa_jwk_cleanup(&k);
}

/* AU-07: a resource token for data.read only, then a POST. */
static void insufficient_scope(struct nr_fx *fx)
{
    static const struct nr_expect e403 = {
        403, 0, "insufficient_scope", NULL, NULL, NR_CHAL_AUTH_TOKEN, NULL};
    struct aa_http_response resp;
    struct aa_buf md_url, why, form;
    struct nr_req r = {0};
    struct aa_diag d;
    cJSON *md = NULL, *body = NULL;
    char *ep = NULL, *at = NULL;
    const char *v, *rt;
    int rc;

    aa_http_response_init(&resp);
    aa_buf_init(&md_url, 4096);
    aa_buf_init(&why, 4096);
    aa_buf_init(&form, 1024);
    aa_diag_clear(&d);
    aa_conf_note("\n### AU-07: a resource token for scope=data.read (resource_token_endpoint)");
    if (aa_http_well_known_url(fx->res->connect_url, NR_WK_RESOURCE, &md_url) != AA_OK ||
        nr_get_json(md_url.p, &md, &why) != AA_OK ||
        (v = aa_json_str(md, "resource_token_endpoint")) == NULL || (ep = aa_strdup(v)) == NULL) {
        aa_check_fail(&au_scope, "resource metadata with resource_token_endpoint",
                      why.len ? why.p : "no resource_token_endpoint",
                      "PROFILE#3: resource_token_endpoint is REQUIRED");
        goto out;
    }
    aa_form_add(&form, "scope", "data.read");
    r.url = ep;
    r.method = "POST";
    r.ctype = "application/x-www-form-urlencoded";
    r.body = form.p;
    r.body_len = form.len;
    rc = nr_send(fx, &r, &resp, NULL, &d);
    if (rc != AA_OK || resp.status != 200 ||
        aa_json_parse(resp.body, resp.body_len, NULL, &body, &d) != AA_OK ||
        (rt = aa_json_str(body, "resource_token")) == NULL) {
        struct aa_http_expect ok = {200, 0, NULL, NULL};
        if (aa_expect_http(&au_scope, rc, &d, &resp, &ok))
            aa_check_fail(&au_scope, "200 {resource_token, auth_server, expires_in}",
                          "no resource_token", "PROFILE#6.2 POST /resource/token");
        goto out;
    }
    aa_buf_reset(&why);
    if ((rc = as_token(fx, rt, &at, &why)) != AA_OK) {
        if (rc == AA_E_AAUTH_RESOURCE_TOKEN)
            aa_check_fail(&au_scope, "a data.read resource token the trusted auth server accepts",
                          why.p != NULL ? why.p : "refused", "PROFILE#4.4");
        else
            aa_check_error(&au_scope, "the auth server did not issue a data.read token: %s",
                           why.p != NULL ? why.p : "");
        goto out;
    }
    present(&au_scope, fx, "AU-07: POST with the data.read auth token", "POST", at, &fx->agent_key,
            &e403, NULL);
out:
    cJSON_Delete(md);
    cJSON_Delete(body);
    free(ep);
    free(at);
    aa_buf_free(&md_url);
    aa_buf_free(&why);
    aa_buf_free(&form);
    aa_http_response_cleanup(&resp);
}

static void agent_token(struct nr_fx *fx)
{
    static const struct nr_expect e09 = {401, 0, NULL, NULL, NULL, NR_CHAL_AUTH_TOKEN, NULL};
    cJSON *h = nr_agent_header(fx), *c = nr_agent_claims(fx);
    char *tok = NULL;

    aa_conf_note("\n### AU-09: a valid agent token on the authorisation endpoint");
    if (h == NULL || c == NULL ||
        nr_jwt("agent token (decoded)", h, c, &fx->agent_key, NULL, &tok) != AA_OK)
        aa_check_error(&au_agent_token, "cannot build the agent token");
    else
        present(&au_agent_token, fx, NULL, NULL, tok, &fx->dkey, &e09, NULL);
    free(tok);
    cJSON_Delete(h);
    cJSON_Delete(c);
}

AA_CASE(neg_resource, au, .title = "AU-01..AU-09: auth tokens at the authorisation endpoint",
        .needs = NR_NEEDS,
        .checks = AA_CHECKS(&au_baseline, &au_aud_other, &au_untrusted, &au_expired,
                            &au_sig_not_cnf, &au_typ_wrong, &au_agent_missing, &au_scope,
                            &au_rt_credential, &au_agent_token))
{
    static const struct nr_expect e04 = {401, 0, "invalid_signature", NULL, NULL, NR_CHAL_IDENTITY,
                                         NULL};
    struct au_state st = {0};
    struct nr_fx fx;

    if (!nr_fx_init(&fx))
        goto out;
    if (!baseline(&fx, &st)) {
        nr_not_evaluated_rest(&au_baseline);
        goto out;
    }
    aud_other(&fx);
    untrusted(&fx);
    forged(&fx);
    present(&au_sig_not_cnf, &fx, "AU-04: the valid auth token, HTTP signature by another key",
            NULL, st.at, &fx.other, &e04, NULL);
    insufficient_scope(&fx);
    nr_note_token("the resource token of the challenge (decoded)", st.rt);
    present(&au_rt_credential, &fx, "AU-08: the resource+jwt as the jwt credential", NULL, st.rt,
            &fx.agent_key, &e401, NULL);
    agent_token(&fx);
out:
    free(st.at);
    free(st.rt);
    nr_fx_cleanup(&fx);
}
