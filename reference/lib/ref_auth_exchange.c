/*
 * ref_auth_exchange: request_type=exchange, the token exchange profile of
 * PROFILE#6.5 (D-21, D-22; checker assertions PROFILE#7 F7, #9 EX).
 *
 * R1 holds T1 (an auth+jwt whose aud is R1) and wants T2 for R2. It sends
 * RT2 (R2's resource token naming agent=R1, agent_jkt=K_R1) in the form,
 * puts T1 in `Signature-Key: sig1=(scheme=jwt jwt="<T1>")` and signs with
 * its OWN key K_R1, not T1's cnf key. The AS2 procedure, in order:
 *   1 credential scheme=jwt                       else 400 invalid_request
 *   2 T1: auth+jwt, JWS via its issuer metadata,
 *     times, iss trusted, agent, aud one string   else 401 invalid_token
 *     (resource_token missing                     then 400 invalid_request)
 *   3 RT2 (PROFILE#4.4) with agent = T1.aud       else 400 invalid_resource_token
 *   4 K_R1 = key of R1 (aauth-resource, else
 *     aauth-agent metadata) with thumbprint
 *     RT2.agent_jkt                               else 401 invalid_key
 *   5 HTTP signature under K_R1, nonce            else 401 (verifier)
 *   6 RT2 scope within T1 scope, act depth <= 4   else 403 access_denied
 *   7 T2: iss, aud=RT2.iss, agent=R1, cnf=K_R1, scope, sub (from T1), act,
 *     iat, nbf, exp, jti; no refresh token.
 *
 * Design choice: the receiver procedure runs in its fixed-key mode (the
 * verifier skips step 7, key resolution) because the key is found here by
 * thumbprint; T1 is validated separately with the auth-token validator in
 * its single-string aud mode. Steps 4 and 10 of PROFILE#4.4 (the RT2
 * agent_jkt against "the key that verified the request") are closed by
 * construction: K_R1 is chosen by that thumbprint and must verify.
 */
#include <stdlib.h>
#include <string.h>

#include "ref_auth_int.h"

/* Levels of a nested act claim (PROFILE#4.2): 0 when absent, -1 when a
 * level is not an object naming its agent. */
static int act_depth(const cJSON *act)
{
    int n = 0;

    while (act != NULL) {
        if (!cJSON_IsObject(act) || aa_json_str(act, "agent") == NULL || n > 64)
            return -1;
        n++;
        act = cJSON_GetObjectItemCaseSensitive(act, "act");
    }
    return n;
}

/* act for T2 (PROFILE#4.2): who acted upstream, with T1's own chain. */
static cJSON *build_act(const struct aa_profile_claims *cl, const struct aa_validated_token *t1)
{
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(t1->claims, cl->act);
    cJSON *act = cJSON_CreateObject();

    if (act == NULL || auth_add_str(act, cl->agent, t1->agent) != AA_OK ||
        (t1->agent_delegate != NULL &&
         auth_add_str(act, cl->agent_delegate, t1->agent_delegate) != AA_OK) ||
        (t1->sub != NULL && auth_add_str(act, cl->sub, t1->sub) != AA_OK) ||
        (up != NULL && !cJSON_AddItemToObject(act, cl->act, cJSON_Duplicate(up, 1)))) {
        cJSON_Delete(act);
        return NULL;
    }
    return act;
}

/* Step 6: every RT2 scope token is one T1 carries. |why| names the first
 * that is not. */
static bool scope_within(const char *want, const char *have, char *why, size_t cap)
{
    struct aa_str w[AUTH_SCOPE_MAX_TOKENS], h[AUTH_SCOPE_MAX_TOKENS];
    size_t nw = 0, nh = 0;

    if (want == NULL) {
        aa_snprintf(why, cap, "RT2 has no scope (an auth_request_url cannot be exchanged)");
        return false;
    }
    if (auth_scope_split(want, w, AUTH_SCOPE_MAX_TOKENS, &nw) != AA_OK) {
        aa_snprintf(why, cap, "RT2 scope is not a scope list (RFC6749#3.3)");
        return false;
    }
    if (have == NULL || auth_scope_split(have, h, AUTH_SCOPE_MAX_TOKENS, &nh) != AA_OK)
        nh = 0;
    for (size_t i = 0; i < nw; i++) {
        if (!auth_scope_has(h, nh, w[i])) {
            aa_snprintf(why, cap, "scope \"%.*s\" is not granted by the upstream token",
                        (int)(w[i].len > 64 ? 64 : w[i].len), w[i].p);
            return false;
        }
    }
    return true;
}

/* Step 4: K_R1 through R1's metadata, the resource document first. */
static int find_k_r1(struct aa_ref_server *s, const char *r1, const char *jkt, struct aa_jwk *out,
                     struct aa_diag *d)
{
    struct aa_disc *disc = NULL;
    struct aa_diag d2;
    int rc;

    if ((rc = ref_server_disc(s, &disc, d)) != AA_OK)
        return rc;
    rc = aa_disc_key_by_thumbprint(disc, r1, s->profile->wk.resource, jkt, out, d);
    if (rc == AA_OK || aa_err_is_fault(rc))
        return rc;
    /* PROFILE#6.5 step 4: aauth-agent when there is no resource document
     * (or it does not hold the key). The first reason is kept when the
     * second lookup fails too. */
    aa_diag_clear(&d2);
    aa_jwk_cleanup(out);
    if (aa_disc_key_by_thumbprint(disc, r1, s->profile->wk.agent, jkt, out, &d2) == AA_OK)
        return AA_OK;
    aa_jwk_cleanup(out);
    return rc;
}

/* Answer a failed verifier/validator result, or its setup fault. */
static void send_res(struct aa_server_response *resp, const struct aa_aauth_result *res,
                     const struct aa_diag *d)
{
    if (res->perr != AA_PERR_NONE)
        ref_send_result(resp, res, 0);
    else
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "%s", d->msg);
}

void auth_exchange(struct aa_ref_server *s, const struct aa_server_request *req,
                   const struct aa_form *f, struct aa_server_response *resp)
{
    const struct aa_profile_claims *cl = &s->profile->claim;
    struct auth *a = auth_of(s);
    struct aa_sigkey sk;
    struct aa_key_resolver resolver;
    struct aa_token_policy tp;
    struct aa_validated_token t1, rt2;
    struct aa_aauth_result res;
    struct aa_identity id;
    struct aa_jwk kr1;
    struct auth_grant g;
    struct aa_jwt peek, up;
    struct aa_diag d;
    const char *any_issuer[2] = {NULL, NULL};
    bool have_up = false;
    char refresh[AUTH_SECRET_LEN + 1];
    int64_t retry = 0;
    cJSON *act = NULL, *kjson = NULL;
    const char *tok, *rt, *jkt = NULL;
    char why[160], msg[AA_DIAG_MSG_MAX + 64];
    char *t2 = NULL, *jkt_copy = NULL;
    int64_t exp_in = 0;
    int depth, rc;

    memset(&t1, 0, sizeof(t1));
    memset(&rt2, 0, sizeof(rt2));
    memset(&id, 0, sizeof(id));
    memset(&kr1, 0, sizeof(kr1));
    memset(&g, 0, sizeof(g));
    g.user = -1;
    aa_diag_clear(&d);
    aa_aauth_result_init(&res);

    /* 1: no usable Signature-Key at all is the receiver's 401; another
     * scheme is a request the profile does not define (400). */
    if (!auth_peek_sigkey(s, req, &sk)) {
        if (auth_run_verifier(s, req, resp, NULL, &id, &res) != AA_OK) {
            if (res.perr != AA_PERR_NONE)
                ref_send_result(resp, &res, 0);
        } else {
            ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                          "exchange: the credential must be scheme=jwt (PROFILE#6.5 step 1)");
        }
        goto out;
    }
    if (sk.scheme != AA_SIGKEY_JWT) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "exchange: the credential is scheme=%s; it must be scheme=jwt carrying the "
                      "upstream auth token (PROFILE#6.5 step 1, D-21)",
                      aa_sigkey_scheme_name(s->profile, sk.scheme));
        aa_sigkey_cleanup(&sk);
        goto out;
    }
    tok = aa_sigkey_get(&sk, s->profile->sk.p_jwt);

    /* 2: T1 */
    if ((rc = auth_token_policy(s, &resolver, &tp, &d)) != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "%s", d.msg);
        aa_sigkey_cleanup(&sk);
        goto out;
    }
    tp.trusted_issuers = (const char *const *)a->trusted;
    /* Fault exchange-untrusted-upstream: whoever issued T1 is trusted. */
    if (ref_fault(s, AA_REF_FAULT_EXCHANGE_UNTRUSTED_UPSTREAM) && tok != NULL &&
        aa_jwt_parse(tok, strlen(tok), &up, NULL) == AA_OK) {
        have_up = true;
        if ((any_issuer[0] = aa_jwt_claim_str(&up, cl->iss)) != NULL)
            tp.trusted_issuers = any_issuer;
    }
    tp.aud_mode = AA_AUD_SINGLE_STRING;
    rc = aa_aauth_validate_auth_token(&tp, tok != NULL ? tok : "", tok != NULL ? strlen(tok) : 0,
                                      &t1, &res);
    if (have_up)
        aa_jwt_cleanup(&up);
    aa_sigkey_cleanup(&sk);
    if (rc != AA_OK) {
        ref_logf(s, 3, "exchange: upstream token rejected at %s", res.where);
        ref_send_result(resp, &res, 0);
        goto out;
    }
    if (t1.aud_str == NULL || t1.agent == NULL) {
        ref_send_perr(resp, AA_PERR_INVALID_TOKEN, 0,
                      "exchange: the upstream token needs agent and a single-string aud "
                      "(PROFILE#6.5 step 2)");
        goto out;
    }
    if ((depth = act_depth(cJSON_GetObjectItemCaseSensitive(t1.claims, cl->act))) < 0) {
        ref_send_perr(resp, AA_PERR_INVALID_TOKEN, 0,
                      "exchange: the upstream token's act is not a chain of objects naming "
                      "their agent (PROFILE#4.2)");
        goto out;
    }

    /* 3: RT2, for the agent T1 was issued to (R1). */
    rt = aa_form_get(f, "resource_token");
    if (rt == NULL || rt[0] == '\0') {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "exchange: resource_token is required (PROFILE#6.3)");
        goto out;
    }
    if (aa_jwt_parse(rt, strlen(rt), &peek, NULL) == AA_OK) {
        jkt = aa_jwt_claim_str(&peek, cl->agent_jkt);
        jkt_copy = jkt != NULL ? aa_strdup(jkt) : NULL;
        aa_jwt_cleanup(&peek);
    }
    /* Without a readable agent_jkt the validator reports RT2's own defect. */
    rc = auth_validate_rt(s, t1.aud_str, jkt_copy != NULL ? jkt_copy : "-", rt, &rt2, &res, &d);
    if (rc != AA_OK) {
        send_res(resp, &res, &d);
        goto out;
    }

    /* 4: K_R1 by thumbprint. */
    rc = find_k_r1(s, t1.aud_str, rt2.agent_jkt, &kr1, &d);
    if (rc != AA_OK) {
        aa_diag_format(&d, msg, sizeof(msg));
        if (aa_err_is_fault(rc)) {
            ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "exchange: %s", msg);
        } else if (ref_is_discovery_outcome(rc)) {
            /* What happened at R1's URLs stays in the log (docs/security.md). */
            ref_logf(s, 1, "exchange: key %s of %.200s: %s", rt2.agent_jkt, t1.aud_str, msg);
            ref_send_perr(resp, AA_PERR_INVALID_KEY, 0,
                          "exchange: no key of %.200s with thumbprint %s could be obtained "
                          "(PROFILE#6.5 step 4); the reason is in this server's log",
                          t1.aud_str, rt2.agent_jkt);
        } else {
            ref_send_perr(resp, AA_PERR_INVALID_KEY, 0,
                          "exchange: no key of %.200s has thumbprint %s (PROFILE#6.5 step 4): %s",
                          t1.aud_str, rt2.agent_jkt, msg);
        }
        goto out;
    }

    /* 5: the request is signed by K_R1 (nonce checked and stored). */
    if (auth_run_verifier(s, req, resp, &kr1, &id, &res) != AA_OK) {
        if (res.perr != AA_PERR_NONE)
            ref_send_result(resp, &res, 0);
        goto out;
    }

    /* 6: policy. */
    if (!scope_within(rt2.scope, t1.scope, why, sizeof(why))) {
        ref_send_perr(resp, AA_PERR_ACCESS_DENIED, 0, "exchange: %s (PROFILE#6.5 step 6)", why);
        goto out;
    }
    if (depth + 1 > s->profile->limit.act_depth) {
        ref_send_perr(resp, AA_PERR_ACCESS_DENIED, 0,
                      "exchange: the act chain would be %d deep; at most %d (D-22)", depth + 1,
                      s->profile->limit.act_depth);
        goto out;
    }

    /* 7: T2. */
    if ((act = build_act(cl, &t1)) == NULL || (kjson = aa_jwk_to_cjson(&kr1, false)) == NULL ||
        (g.agent = aa_strdup(t1.aud_str)) == NULL || (g.aud = aa_strdup(rt2.iss)) == NULL ||
        (g.scope = aa_strdup(rt2.scope)) == NULL || (g.cnf_json = auth_json_text(kjson)) == NULL) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        goto out;
    }
    g.agent_claim = true;
    memcpy(g.jkt, id.thumbprint, sizeof(g.jkt));
    /* T2 never outlives the authorisation it was derived from. The
     * exchange-no-act fault leaves out who acted upstream. */
    rc = auth_issue_token(s, &g, t1.sub, ref_fault(s, AA_REF_FAULT_EXCHANGE_NO_ACT) ? NULL : act,
                          true, t1.exp, &t2, &exp_in);
    if (rc != AA_OK) {
        auth_send_issue_error(resp, rc);
        goto out;
    }
    if (ref_fault(s, AA_REF_FAULT_EXCHANGE_REFRESH_TOKEN)) {
        /* Fault: a refresh grant for T2, which PROFILE#6.5 forbids (EX-08). */
        rc = auth_table_put(&a->refresh, ref_now(s), a->rf_ttl, &g, refresh, &retry);
        if (rc == AA_E_LIMIT)
            auth_send_busy(resp, "refresh token", retry);
        else if (rc != AA_OK)
            ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE,
                          "cannot store the refresh token");
        else
            auth_send_tokens(resp, t2, exp_in, refresh);
        aa_cleanse(refresh, sizeof(refresh));
        goto out;
    }
    auth_send_tokens(resp, t2, exp_in, NULL);
    ref_logf(s, 3, "exchange: T2 for %s at %s, act depth %d", g.agent, g.aud, depth + 1);
out:
    free(t2);
    free(jkt_copy);
    cJSON_Delete(act);
    cJSON_Delete(kjson);
    auth_grant_cleanup(&g);
    aa_identity_cleanup(&id);
    aa_jwk_cleanup(&kr1);
    aa_validated_token_cleanup(&t1);
    aa_validated_token_cleanup(&rt2);
}
