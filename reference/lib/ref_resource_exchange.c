/*
 * ref_resource_exchange: the F7 downstream trigger GET /data-exchange
 * (PROFILE#6.5, #6.7, D-21, D-22).
 *
 * Protected exactly like /data-auth. Once the caller is authorised with its
 * auth token T1, this resource acts as an agent towards R2:
 *
 *   1 challenge        GET R2/data-auth signed(jwks id=R1 kid well-known=
 *                      aauth-resource) -> 401 auth-token challenge carrying
 *                      RT2 and the auth server AS2
 *   2 issuer-metadata  {AS2}/.well-known/aauth-issuer -> agent_token_endpoint
 *   3 exchange         POST request_type=exchange&resource_token=RT2 with
 *                      Signature-Key scheme=jwt jwt=T1, signed with THIS
 *                      resource's key (PROFILE#6.5) -> 200 {auth_token T2}
 *   4 downstream-access GET R2/data-auth signed(jwt T2) -> 200 body
 *
 * and answers {"message":"Access granted","upstream":{"agent","sub"},
 * "downstream":<R2 body>}. A failure of any step is the downstream's, not
 * the caller's: 502 with {"error":"downstream_error","error_description",
 * "step"} naming the step.
 *
 * Design choice: each exchange uses its own HTTP client (clients are not
 * thread-safe) and the server's discovery cache, whose allow policy also
 * vets the agent_token_endpoint URL before anything is posted to it, so a
 * hostile R2 cannot steer this server to an arbitrary host.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ref_resource_int.h"

#define X_ERROR "downstream_error"

/* Steps named in 502 answers. */
#define X_STEP_CHALLENGE "challenge"
#define X_STEP_METADATA "issuer-metadata"
#define X_STEP_EXCHANGE "exchange"
#define X_STEP_ACCESS "downstream-access"

static void send_502(struct aa_server_response *resp, const char *step, const char *fmt, ...)
    AA_PRINTF(3, 4);

static void send_502(struct aa_server_response *resp, const char *step, const char *fmt, ...)
{
    struct aa_buf m;
    cJSON *b = cJSON_CreateObject();
    va_list ap;

    aa_buf_init(&m, 2048);
    va_start(ap, fmt);
    aa_buf_vprintf(&m, fmt, ap);
    va_end(ap);
    if (b == NULL || m.err != AA_OK || cJSON_AddStringToObject(b, "error", X_ERROR) == NULL ||
        cJSON_AddStringToObject(b, "error_description", m.p ? m.p : "") == NULL ||
        cJSON_AddStringToObject(b, "step", step) == NULL)
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
    else
        ref_send_json(resp, 502, b, 0);
    cJSON_Delete(b);
    aa_buf_free(&m);
}

/* -v transcripts of the outgoing exchanges (PROFILE#8 ">>> RESOURCE REQUEST to"). */
static void log_exchange(const struct aa_ref_server *s, const struct aa_http_request *hr,
                         const struct aa_http_response *hp)
{
    struct aa_buf b;

    ref_logf(s, 1, "exchange: %s %.200s -> %ld", hr->method, hr->url, hp->status);
    if (s->verbosity < 2)
        return;
    aa_buf_init(&b, 8u * 1024 * 1024);
    if (aa_http_transcript(&b, s->tr_role, hr, hp, s->verbosity >= 3 ? AA_HTTP_TR_FULL : 0) ==
            AA_OK &&
        b.err == AA_OK && b.p != NULL) {
        flockfile(s->log);
        fwrite(b.p, 1, b.len, s->log);
        fflush(s->log);
        funlockfile(s->log);
    }
    aa_buf_free(&b);
}

/*
 * Sign and send one request as this resource (its key, its clock; a Nonce
 * on POST, D-10). |content_type| NULL: no body. |hp| must be initialised.
 * Returns the aa_http_send / aa_aauth_sign code; |d| says why.
 */
static int send_signed(struct aa_ref_server *s, struct aa_http_client *client, const char *method,
                       const char *url, const char *content_type, const char *body,
                       const struct aa_sign_cred *cred, struct aa_http_response *hp,
                       struct aa_diag *d)
{
    struct aa_clock clk = ref_aa_clock(s);
    struct aa_http_headers own, all;
    struct aa_sign_request sr;
    struct aa_sign_opts so;
    struct aa_signed sg;
    struct aa_http_request hr;
    size_t blen = body ? strlen(body) : 0;
    int rc;

    aa_http_headers_init(&own);
    aa_http_headers_init(&all);
    memset(&sg, 0, sizeof(sg));
    if (content_type != NULL &&
        (rc = aa_http_headers_add(&own, s->profile->hdr.content_type, content_type)) != AA_OK)
        goto out;
    memset(&sr, 0, sizeof(sr));
    sr.method = method;
    sr.url = url;
    sr.headers = &own;
    sr.body = body;
    sr.body_len = blen;
    memset(&so, 0, sizeof(so));
    so.clock = &clk;
    so.nonce_mode = AA_SIGN_NONCE_AUTO;
    if ((rc = aa_aauth_sign(s->profile, &sr, &s->key, cred, &so, &sg, d)) != AA_OK)
        goto out;
    for (size_t i = 0; rc == AA_OK && i < own.n; i++)
        rc = aa_http_headers_addn(&all, own.v[i].name, own.v[i].value, own.v[i].value_len);
    for (size_t i = 0; rc == AA_OK && i < sg.headers.n; i++)
        rc = aa_http_headers_addn(&all, sg.headers.v[i].name, sg.headers.v[i].value,
                                  sg.headers.v[i].value_len);
    if (rc != AA_OK) {
        rc = aa_fail(d, rc, "PROFILE#2", "cannot assemble the request headers");
        goto out;
    }
    memset(&hr, 0, sizeof(hr));
    hr.method = method;
    hr.url = url;
    hr.headers = &all;
    hr.body = body;
    hr.body_len = blen;
    rc = aa_http_send(client, &hr, hp, d);
    log_exchange(s, &hr, hp);
out:
    aa_signed_cleanup(&sg);
    aa_http_headers_cleanup(&all);
    aa_http_headers_cleanup(&own);
    return rc;
}

/* The "error" member of a JSON error body, for 502 descriptions. */
static void peer_error(const struct aa_http_response *hp, char *out, size_t cap)
{
    cJSON *j = NULL;
    const char *e;

    out[0] = '\0';
    if (hp->body_len > 0 && aa_json_parse(hp->body, hp->body_len, NULL, &j, NULL) == AA_OK &&
        (e = aa_json_str(j, "error")) != NULL)
        aa_snprintf(out, cap, " (%.64s)", e);
    cJSON_Delete(j);
}

/* T1: the jwt parameter of the caller's Signature-Key (already validated
 * by the receiver procedure). |*out| heap. */
static int caller_token(const struct aa_ref_server *s, const struct aa_server_request *req,
                        char **out)
{
    const struct aa_profile *p = s->profile;
    const char *hv = aa_server_request_header(req, p->hdr.signature_key);
    struct aa_sigkey sk;
    const char *tok;
    int rc;

    *out = NULL;
    memset(&sk, 0, sizeof(sk));
    if (hv == NULL)
        return AA_E_INVAL;
    if ((rc = p->grammar.sigkey_parse(p, hv, strlen(hv), &sk, NULL)) != AA_OK)
        return rc;
    tok = aa_sigkey_get(&sk, p->sk.p_jwt);
    *out = tok ? aa_strdup(tok) : NULL;
    rc = tok == NULL ? AA_E_INVAL : *out == NULL ? AA_E_NOMEM : AA_OK;
    aa_sigkey_cleanup(&sk);
    return rc;
}

struct xstate {
    struct aa_http_client *client;
    struct aa_http_response hp;
    struct aa_challenge ch;
    char *t1;
    char *tep; /* AS2 agent_token_endpoint */
    char *t2;
    cJSON *downstream;
    char form[AA_CHALLENGE_MAX_LEN + 64];
};

/* Step 1: R2 challenges this resource for an auth token. */
static int step_challenge(struct aa_ref_server *s, struct xstate *x,
                          struct aa_server_response *resp)
{
    const struct aa_profile *p = s->profile;
    struct aa_sign_cred cred;
    struct aa_diag d;
    const char *aa;
    int rc;

    memset(&cred, 0, sizeof(cred));
    cred.scheme = AA_SIGKEY_JWKS;
    cred.id = s->id;
    cred.kid = s->key.kid;
    cred.well_known = p->wk.resource; /* a resource acting as an agent (D-15) */
    aa_diag_clear(&d);
    rc = send_signed(s, x->client, "GET", res_of(s)->downstream, NULL, NULL, &cred, &x->hp, &d);
    if (rc != AA_OK) {
        send_502(resp, X_STEP_CHALLENGE, "GET %.200s failed: %s", res_of(s)->downstream, d.msg);
        return rc;
    }
    if (x->hp.status != 401) {
        send_502(resp, X_STEP_CHALLENGE,
                 "GET %.200s signed with jwks answered %ld; expected 401 with an auth-token "
                 "challenge (PROFILE#5)",
                 res_of(s)->downstream, x->hp.status);
        return AA_E_AAUTH_TOKEN;
    }
    aa = aa_http_headers_get(&x->hp.headers, p->hdr.agent_auth);
    aa_diag_clear(&d);
    if (aa == NULL || aa_challenge_parse(p, aa, strlen(aa), &x->ch, &d) != AA_OK) {
        send_502(resp, X_STEP_CHALLENGE, "401 from %.200s: %s %s", res_of(s)->downstream,
                 aa == NULL ? "no" : "malformed", aa == NULL ? "Agent-Auth header" : d.msg);
        return AA_E_CHALLENGE_SYNTAX;
    }
    if (!x->ch.auth_token || x->ch.resource_token == NULL || x->ch.auth_server == NULL) {
        send_502(resp, X_STEP_CHALLENGE,
                 "401 from %.200s is not an auth-token challenge with resource_token and "
                 "auth_server (PROFILE#5)",
                 res_of(s)->downstream);
        return AA_E_CHALLENGE_PARAM;
    }
    return AA_OK;
}

/* Step 2: the exchange endpoint of the AS named in the challenge. */
static int step_metadata(struct aa_ref_server *s, struct xstate *x, struct aa_server_response *resp)
{
    const struct aa_profile *p = s->profile;
    struct resource *r = res_of(s);
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    rc = aa_disc_metadata_str(r->disc, x->ch.auth_server, p->wk.issuer, p->md.agent_token_endpoint,
                              &x->tep, &d);
    if (rc != AA_OK) {
        send_502(resp, X_STEP_METADATA, "auth server %.200s: %s", x->ch.auth_server, d.msg);
        return rc;
    }
    if (!aa_disc_default_allow(r->disc, x->tep)) {
        send_502(resp, X_STEP_METADATA,
                 "agent_token_endpoint %.200s of %.200s is not an allowed URL (PROFILE#1 D-1)",
                 x->tep, x->ch.auth_server);
        return AA_E_DISC_NOT_ALLOWED;
    }
    return AA_OK;
}

/* Step 3: RT2 + T1 -> T2, signed with this resource's key (PROFILE#6.5). */
static int step_exchange(struct aa_ref_server *s, struct xstate *x, struct aa_server_response *resp)
{
    const struct aa_profile *p = s->profile;
    struct aa_sign_cred cred;
    struct aa_buf f;
    struct aa_diag d;
    cJSON *j = NULL;
    const char *t2;
    char perr[96];
    int rc;

    aa_buf_init(&f, sizeof(x->form));
    aa_form_add(&f, "request_type", "exchange");
    aa_form_add(&f, "resource_token", x->ch.resource_token);
    if (f.err != AA_OK || aa_snprintf(x->form, sizeof(x->form), "%s", f.p) != AA_OK) {
        aa_buf_free(&f);
        send_502(resp, X_STEP_EXCHANGE, "the resource token from the challenge is too long");
        return AA_E_LIMIT;
    }
    aa_buf_free(&f);
    memset(&cred, 0, sizeof(cred));
    cred.scheme = AA_SIGKEY_JWT;
    cred.token = x->t1;
    aa_diag_clear(&d);
    rc =
        send_signed(s, x->client, "POST", x->tep, p->form_content_type, x->form, &cred, &x->hp, &d);
    if (rc != AA_OK) {
        send_502(resp, X_STEP_EXCHANGE, "POST %.200s failed: %s", x->tep, d.msg);
        return rc;
    }
    if (x->hp.status != 200) {
        peer_error(&x->hp, perr, sizeof(perr));
        send_502(resp, X_STEP_EXCHANGE, "POST %.200s request_type=exchange answered %ld%s", x->tep,
                 x->hp.status, perr);
        return AA_E_AAUTH_TOKEN;
    }
    rc = aa_json_parse(x->hp.body, x->hp.body_len, NULL, &j, NULL);
    t2 = rc == AA_OK ? aa_json_str(j, "auth_token") : NULL;
    if (t2 == NULL || t2[0] == '\0') {
        cJSON_Delete(j);
        send_502(resp, X_STEP_EXCHANGE,
                 "POST %.200s answered 200 without an auth_token string (PROFILE#6.3)", x->tep);
        return AA_E_AAUTH_TOKEN;
    }
    x->t2 = aa_strdup(t2);
    cJSON_Delete(j);
    if (x->t2 == NULL) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        return AA_E_NOMEM;
    }
    return AA_OK;
}

/* Step 4: R2 with T2. */
static int step_access(struct aa_ref_server *s, struct xstate *x, struct aa_server_response *resp)
{
    struct aa_sign_cred cred;
    struct aa_diag d;
    char perr[96];
    int rc;

    memset(&cred, 0, sizeof(cred));
    cred.scheme = AA_SIGKEY_JWT;
    cred.token = x->t2;
    aa_diag_clear(&d);
    rc = send_signed(s, x->client, "GET", res_of(s)->downstream, NULL, NULL, &cred, &x->hp, &d);
    if (rc != AA_OK) {
        send_502(resp, X_STEP_ACCESS, "GET %.200s failed: %s", res_of(s)->downstream, d.msg);
        return rc;
    }
    if (x->hp.status != 200) {
        peer_error(&x->hp, perr, sizeof(perr));
        send_502(resp, X_STEP_ACCESS, "GET %.200s with the exchanged token answered %ld%s",
                 res_of(s)->downstream, x->hp.status, perr);
        return AA_E_AAUTH_TOKEN;
    }
    if (aa_json_parse(x->hp.body, x->hp.body_len, NULL, &x->downstream, NULL) != AA_OK) {
        send_502(resp, X_STEP_ACCESS, "GET %.200s answered 200 without a JSON object",
                 res_of(s)->downstream);
        return AA_E_SYNTAX;
    }
    return AA_OK;
}

void res_h_exchange(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp)
{
    struct aa_http_client_opts co;
    struct aa_identity id;
    struct xstate *x;
    cJSON *out = NULL, *up;

    if (res_guard(s, req, resp, RES_LEVEL_AUTH, &id) != AA_OK)
        return;
    if ((x = calloc(1, sizeof(*x))) == NULL) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        aa_identity_cleanup(&id);
        return;
    }
    aa_http_response_init(&x->hp);
    memset(&co, 0, sizeof(co));
    if ((x->client = aa_http_client_new(&co)) == NULL || caller_token(s, req, &x->t1) != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot prepare the downstream call");
        goto out;
    }
    if (step_challenge(s, x, resp) != AA_OK || step_metadata(s, x, resp) != AA_OK ||
        step_exchange(s, x, resp) != AA_OK || step_access(s, x, resp) != AA_OK)
        goto out;
    if ((out = cJSON_CreateObject()) == NULL ||
        cJSON_AddStringToObject(out, "message", "Access granted") == NULL ||
        (up = cJSON_AddObjectToObject(out, "upstream")) == NULL ||
        (id.agent ? cJSON_AddStringToObject(up, s->profile->claim.agent, id.agent)
                  : cJSON_AddNullToObject(up, s->profile->claim.agent)) == NULL ||
        (id.token.sub ? cJSON_AddStringToObject(up, s->profile->claim.sub, id.token.sub)
                      : cJSON_AddNullToObject(up, s->profile->claim.sub)) == NULL ||
        !cJSON_AddItemToObject(out, "downstream", x->downstream)) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        goto out;
    }
    x->downstream = NULL; /* owned by |out| now */
    ref_send_json(resp, 200, out, 0);
out:
    cJSON_Delete(out);
    cJSON_Delete(x->downstream);
    free(x->t2);
    free(x->tep);
    free(x->t1);
    aa_challenge_cleanup(&x->ch);
    aa_http_response_cleanup(&x->hp);
    aa_http_client_free(x->client);
    free(x);
    aa_identity_cleanup(&id);
}
