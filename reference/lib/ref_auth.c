/*
 * ref_auth: the reference auth server (PROFILE#3, #4.2, #6.3-#6.8, D-15,
 * D-18-D-23, D-25, D-30).
 *
 *   GET  /.well-known/aauth-issuer  metadata (issuer, jwks_uri, endpoints,
 *                                   ed25519, request types, scopes)
 *   GET  /jwks.json                 the public signing key (kid "auth-key-1")
 *   POST /agent/token               request_type auth | code | refresh |
 *                                   exchange (ref_auth_exchange.c)
 *   GET/POST /agent/auth            scripted consent UI (ref_auth_ui.c)
 *
 * /agent/token follows the D-30 order: method (405, by the dispatcher) ->
 * form body and request_type (400) -> signature and credential (401) ->
 * parameters, resource token, code, refresh token (400) -> policy (403).
 * For auth, code and refresh the credential must be an identity (jwks
 * Mode 2 with an AAuth well-known, or an agent+jwt; D-15, D-20): hwk,
 * Mode 1 and auth+jwt are refused with 400 invalid_request AFTER their
 * signature has been checked, so a bad signature is still a 401.
 *
 * Design choice: an auth+jwt credential cannot pass the receiver procedure
 * here (its aud names a resource, not this AS), yet D-15 wants it refused
 * as a credential type (400), not as a bad token (401). The AS therefore
 * recognises it from the token header, checks the HTTP signature with the
 * token's cnf.jwk through the verifier's fixed-key mode, and only then
 * answers 400; the token itself is never trusted.
 */
#include <stdlib.h>
#include <string.h>

#include "ref_auth_int.h"

#define AUTH_DEFAULT_SCOPES "data.read data.write openid profile email"

static const char *const auth_request_types[] = {"auth", "code", "exchange", "refresh"};

/* ---- lifecycle ------------------------------------------------------------------------ */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

static void auth_free(void *p)
{
    struct auth *a = p;

    free_strv(a->trusted, a->n_trusted);
    free_strv(a->scopes, a->n_scopes);
    for (size_t i = 0; i < a->n_users; i++) {
        free(a->users[i].username);
        if (a->users[i].password != NULL) {
            aa_cleanse(a->users[i].password, strlen(a->users[i].password));
            free(a->users[i].password);
        }
        free(a->users[i].name);
        free(a->users[i].email);
    }
    free(a->users);
    aa_nonce_cache_free(a->nonces);
    auth_table_cleanup(&a->pending);
    auth_table_cleanup(&a->codes);
    auth_table_cleanup(&a->refresh);
    free(a);
}

void aa_ref_auth_defaults(struct aa_ref_auth_config *c)
{
    memset(c, 0, sizeof(*c));
    c->scopes_supported = AUTH_DEFAULT_SCOPES;
    c->auth_token_ttl = AA_REF_AUTH_TOKEN_TTL;
    c->request_token_ttl = AA_REF_REQUEST_TOKEN_TTL;
    c->code_ttl = AA_REF_CODE_TTL;
    c->refresh_token_ttl = AA_REF_REFRESH_TOKEN_TTL;
    c->max_entries = AUTH_TABLE_DEFAULT;
}

/* ---- shared helpers ------------------------------------------------------------------- */

int auth_verify_policy(struct aa_ref_server *s, struct aa_key_resolver *resolver,
                       struct aa_verify_policy *pol, struct aa_diag *d)
{
    struct aa_disc *disc = NULL;
    int rc;

    memset(pol, 0, sizeof(*pol));
    if ((rc = ref_server_disc(s, &disc, d)) != AA_OK)
        return rc;
    aa_key_resolver_disc(resolver, disc);
    pol->profile = s->profile;
    pol->authority = s->authority;
    pol->receiver = s->id;
    pol->clock = ref_aa_clock(s);
    pol->replay = auth_of(s)->nonces;
    pol->resolver = resolver;
    pol->dev_mode = !s->strict_https;
    pol->faults = ref_verifier_faults(s->faults);
    return AA_OK;
}

int auth_token_policy(struct aa_ref_server *s, struct aa_key_resolver *resolver,
                      struct aa_token_policy *pol, struct aa_diag *d)
{
    struct aa_disc *disc = NULL;
    int rc;

    memset(pol, 0, sizeof(*pol));
    if ((rc = ref_server_disc(s, &disc, d)) != AA_OK)
        return rc;
    aa_key_resolver_disc(resolver, disc);
    pol->profile = s->profile;
    pol->clock = ref_aa_clock(s);
    pol->receiver = s->id;
    pol->resolver = resolver;
    pol->dev_mode = !s->strict_https;
    pol->faults = ref_verifier_faults(s->faults);
    return AA_OK;
}

void auth_send_busy(struct aa_server_response *resp, const char *what, int64_t retry_after)
{
    char ra[24];

    if (ref_send_perr(resp, AA_PERR_TEMPORARILY_UNAVAILABLE, REF_NO_STORE,
                      "the %s table is full of live entries; retry in %lld s", what,
                      (long long)retry_after) == AA_OK &&
        aa_snprintf(ra, sizeof(ra), "%lld", (long long)(retry_after > 0 ? retry_after : 1)) ==
            AA_OK)
        (void)aa_server_response_header(resp, "Retry-After", ra);
}

/* RFC6749#3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool scope_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

bool auth_scope_has(const struct aa_str *v, size_t n, struct aa_str tok)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].len == tok.len && memcmp(v[i].p, tok.p, tok.len) == 0)
            return true;
    return false;
}

int auth_scope_split(const char *scope, struct aa_str *v, size_t cap, size_t *n)
{
    const char *p = scope;

    *n = 0;
    if (scope == NULL || strlen(scope) > AUTH_SCOPE_MAX_LEN)
        return scope == NULL ? AA_E_SYNTAX : AA_E_LIMIT;
    for (;;) {
        struct aa_str t = {p, 0};
        while (scope_char((unsigned char)p[t.len]))
            t.len++;
        if (t.len == 0 || (p[t.len] != ' ' && p[t.len] != '\0'))
            return AA_E_SYNTAX;
        if (!auth_scope_has(v, *n, t)) {
            if (*n >= cap)
                return AA_E_LIMIT;
            v[(*n)++] = t;
        }
        if (p[t.len] == '\0')
            return AA_OK;
        p += t.len + 1;
    }
}

static unsigned identity_scope_bit(struct aa_str t)
{
    static const struct {
        const char *name;
        unsigned bit;
    } ids[] = {{"openid", AUTH_IDS_OPENID},
               {"profile", AUTH_IDS_PROFILE},
               {"email", AUTH_IDS_EMAIL},
               {"phone", AUTH_IDS_PHONE},
               {"address", AUTH_IDS_ADDRESS}};

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (aa_str_eq(t, ids[i].name))
            return ids[i].bit;
    return 0;
}

/*
 * Split |in| into identity scopes (D-23: bits in |*ids|) and the rest
 * (|*rest|, space-joined, NULL when empty). With |supported|, every token
 * must be in scopes_supported (AA_E_NOTFOUND, |why| names it).
 * AA_E_SYNTAX / AA_E_LIMIT for a malformed scope.
 */
static int scope_classify(const struct auth *a, const char *in, bool supported, char **rest,
                          unsigned *ids, char *why, size_t cap)
{
    struct aa_str v[AUTH_SCOPE_MAX_TOKENS];
    struct aa_buf b;
    size_t n = 0;
    int rc;

    *rest = NULL;
    *ids = 0;
    rc = auth_scope_split(in, v, AUTH_SCOPE_MAX_TOKENS, &n);
    if (rc != AA_OK) {
        aa_snprintf(why, cap, "%s",
                    rc == AA_E_LIMIT ? "more than 64 scope tokens or longer than 1024 bytes"
                                     : "not a list of scope tokens separated by single spaces "
                                       "(RFC6749#3.3)");
        return rc;
    }
    aa_buf_init(&b, AUTH_SCOPE_MAX_LEN + 1);
    for (size_t i = 0; i < n; i++) {
        bool known = !supported;
        for (size_t k = 0; !known && k < a->n_scopes; k++)
            known = aa_str_eq(v[i], a->scopes[k]);
        if (!known) {
            aa_snprintf(why, cap, "scope \"%.*s\" is not in scopes_supported",
                        (int)(v[i].len > 64 ? 64 : v[i].len), v[i].p);
            aa_buf_free(&b);
            return AA_E_NOTFOUND;
        }
        if (identity_scope_bit(v[i]) != 0) {
            *ids |= identity_scope_bit(v[i]);
            continue;
        }
        if (b.len > 0)
            aa_buf_addc(&b, ' ');
        aa_buf_add(&b, v[i].p, v[i].len);
    }
    if (b.err != AA_OK)
        return AA_E_NOMEM;
    if (b.len > 0 && (*rest = aa_buf_detach(&b, NULL)) == NULL)
        return AA_E_NOMEM;
    aa_buf_free(&b);
    return AA_OK;
}

/* ---- issuing -------------------------------------------------------------------------- */

int auth_add_str(cJSON *o, const char *name, const char *v)
{
    return cJSON_AddStringToObject(o, name, v) != NULL ? AA_OK : AA_E_NOMEM;
}

int auth_add_int(cJSON *o, const char *name, int64_t v)
{
    return cJSON_AddNumberToObject(o, name, (double)v) != NULL ? AA_OK : AA_E_NOMEM;
}

int auth_issue_token(struct aa_ref_server *s, const struct auth_grant *g, const char *sub,
                     const cJSON *act, bool with_nbf, int64_t exp_cap, char **out, int64_t *exp_in)
{
    const struct aa_profile_claims *cl = &s->profile->claim;
    const struct auth *a = auth_of(s);
    const struct auth_user *u =
        g->user >= 0 && (size_t)g->user < a->n_users ? &a->users[g->user] : NULL;
    cJSON *c = cJSON_CreateObject(), *cnf = NULL, *jwk = NULL;
    char jti[2 * AUTH_JTI_BYTES + 1];
    int64_t now = ref_now(s), exp = now + a->at_ttl;
    int rc = AA_E_NOMEM;

    *out = NULL;
    if (exp_cap > now && exp_cap < exp)
        exp = exp_cap;
    if (sub == NULL && u != NULL)
        sub = u->username;
    if (c == NULL)
        goto out;
    if ((rc = aa_json_parse(g->cnf_json, strlen(g->cnf_json), NULL, &jwk, NULL)) != AA_OK)
        goto out;
    if ((rc = auth_random_b64(AUTH_JTI_BYTES, jti, sizeof(jti))) != AA_OK)
        goto out;
    rc = AA_E_NOMEM;
    if (auth_add_str(c, cl->iss, s->id) != AA_OK ||
        (sub != NULL && auth_add_str(c, cl->sub, sub) != AA_OK))
        goto out;
    /* D-23: identity claims only for a signed-in user and the scopes asked. */
    if (u != NULL && (g->id_scopes & AUTH_IDS_PROFILE) && u->name != NULL &&
        auth_add_str(c, "name", u->name) != AA_OK)
        goto out;
    if (u != NULL && (g->id_scopes & AUTH_IDS_EMAIL) && u->email != NULL &&
        (auth_add_str(c, "email", u->email) != AA_OK ||
         cJSON_AddTrueToObject(c, "email_verified") == NULL))
        goto out;
    if (auth_add_str(c, cl->aud, g->aud) != AA_OK ||
        (g->agent_claim && auth_add_str(c, cl->agent, g->agent) != AA_OK) ||
        (g->delegate != NULL && auth_add_str(c, cl->agent_delegate, g->delegate) != AA_OK) ||
        (g->scope != NULL && auth_add_str(c, cl->scope, g->scope) != AA_OK))
        goto out;
    if (act != NULL && !cJSON_AddItemToObject(c, cl->act, cJSON_Duplicate(act, 1)))
        goto out;
    if ((cnf = cJSON_AddObjectToObject(c, cl->cnf)) == NULL ||
        !cJSON_AddItemToObject(cnf, "jwk", jwk))
        goto out;
    jwk = NULL;
    if (auth_add_int(c, cl->iat, now) != AA_OK ||
        (with_nbf && auth_add_int(c, cl->nbf, now) != AA_OK) ||
        auth_add_int(c, cl->exp, exp) != AA_OK || auth_add_str(c, cl->jti, jti) != AA_OK)
        goto out;
    if ((rc = ref_sign_jwt(s, s->profile->typ.auth, c, out)) != AA_OK)
        goto out;
    /* Receivers refuse tokens over 8 KiB (PROFILE#4.1): never issue one. */
    if (strlen(*out) > AA_JWT_MAX_LEN) {
        free(*out);
        *out = NULL;
        rc = AA_E_LIMIT;
        goto out;
    }
    *exp_in = exp - now;
    rc = AA_OK;
out:
    cJSON_Delete(jwk);
    cJSON_Delete(c);
    return rc;
}

/* A failed auth_issue_token: an oversized token is the client's doing. */
void auth_send_issue_error(struct aa_server_response *resp, int rc)
{
    if (rc == AA_E_LIMIT)
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                      "the auth token would exceed %d bytes (PROFILE#4.1)", AA_JWT_MAX_LEN);
    else
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "cannot issue the auth token (%s)",
                      aa_strerror(rc));
}

/* ---- metadata ------------------------------------------------------------------------- */

static int add_url(cJSON *o, const char *name, const struct aa_ref_server *s, const char *path)
{
    char *u = ref_id_url(s, path);
    int rc = u != NULL ? auth_add_str(o, name, u) : AA_E_NOMEM;

    free(u);
    return rc;
}

static int add_str_array(cJSON *o, const char *name, const char *const *v, size_t n)
{
    cJSON *arr = cJSON_AddArrayToObject(o, name);

    if (arr == NULL)
        return AA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        cJSON *it = cJSON_CreateString(v[i]);
        if (it == NULL || !cJSON_AddItemToArray(arr, it)) {
            cJSON_Delete(it);
            return AA_E_NOMEM;
        }
    }
    return AA_OK;
}

/* PROFILE#3: the six REQUIRED members plus scopes_supported. */
static int render_metadata(struct aa_ref_server *s, struct auth *a)
{
    const struct aa_profile_metadata *md = &s->profile->md;
    const char *algs[1] = {s->profile->httpsig_alg};
    cJSON *m = cJSON_CreateObject();
    struct aa_buf b;
    int rc = AA_E_NOMEM;

    aa_buf_init(&b, AA_DISC_MAX_DOC);
    if (m == NULL || auth_add_str(m, md->issuer, s->id) != AA_OK ||
        add_url(m, md->jwks_uri, s, AA_REF_PATH_JWKS) != AA_OK ||
        add_url(m, md->agent_token_endpoint, s, AUTH_PATH_TOKEN) != AA_OK ||
        add_url(m, md->agent_auth_endpoint, s, AUTH_PATH_AUTH) != AA_OK ||
        add_str_array(m, md->agent_signing_algs_supported, algs, 1) != AA_OK ||
        add_str_array(m, md->request_types_supported, auth_request_types,
                      sizeof(auth_request_types) / sizeof(auth_request_types[0])) != AA_OK ||
        add_str_array(m, md->scopes_supported, (const char *const *)a->scopes, a->n_scopes) !=
            AA_OK)
        goto out;
    if ((rc = aa_json_print(m, &b)) != AA_OK)
        goto out;
    s->metadata_json = aa_buf_detach(&b, NULL);
    rc = s->metadata_json != NULL ? AA_OK : AA_E_NOMEM;
out:
    aa_buf_free(&b);
    cJSON_Delete(m);
    return rc;
}

/* ---- the requesting agent (PROFILE#6.3) ----------------------------------------------- */

struct requester {
    char *agent;                         /* jwks id, or agent+jwt iss */
    char *delegate;                      /* agent+jwt sub, or NULL */
    const char *well_known;              /* metadata naming the agent (redirect_uris, D-18) */
    char jkt[AA_JWK_THUMBPRINT_LEN + 1]; /* the key that verified the request */
    cJSON *cnf;                          /* cnf.jwk for issued tokens */
};

static void requester_cleanup(struct requester *rq)
{
    free(rq->agent);
    free(rq->delegate);
    cJSON_Delete(rq->cnf);
    memset(rq, 0, sizeof(*rq));
}

static int send_oom(struct aa_server_response *resp)
{
    ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
    return AA_E_NOMEM;
}

/* The Signature-Key credential, parsed only to pick the path; the verifier
 * does the real parse and reports its errors. */
bool auth_peek_sigkey(const struct aa_ref_server *s, const struct aa_server_request *req,
                      struct aa_sigkey *sk)
{
    const char *v;

    memset(sk, 0, sizeof(*sk));
    if (aa_server_request_header_count(req, s->profile->hdr.signature_key) != 1)
        return false;
    v = aa_server_request_header(req, s->profile->hdr.signature_key);
    return s->profile->grammar.sigkey_parse(s->profile, v, strlen(v), sk, NULL) == AA_OK;
}

static bool jwt_is_typ(const char *tok, const char *typ)
{
    struct aa_jwt j;
    bool yes;

    if (tok == NULL || aa_jwt_parse(tok, strlen(tok), &j, NULL) != AA_OK)
        return false;
    yes = aa_jwt_check_typ(&j, typ, NULL) == AA_OK;
    aa_jwt_cleanup(&j);
    return yes;
}

/* Verify the request; on failure the answer is in |resp|. */
int auth_run_verifier(struct aa_ref_server *s, const struct aa_server_request *req,
                      struct aa_server_response *resp, const struct aa_jwk *fixed_key,
                      struct aa_identity *id, struct aa_aauth_result *res)
{
    struct aa_key_resolver resolver;
    struct aa_verify_policy pol;
    struct aa_http_headers hdrs;
    struct aa_verify_request vr;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    aa_aauth_result_init(res);
    memset(id, 0, sizeof(*id));
    if ((rc = auth_verify_policy(s, &resolver, &pol, &d)) != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "%s", d.msg);
        return rc;
    }
    pol.fixed_key = fixed_key;
    aa_http_headers_init(&hdrs);
    if ((rc = ref_verify_request(req, &hdrs, &vr)) != AA_OK) {
        aa_http_headers_cleanup(&hdrs);
        return send_oom(resp);
    }
    rc = aa_aauth_verify(&pol, &vr, id, res);
    aa_http_headers_cleanup(&hdrs);
    return rc;
}

/*
 * D-15: an auth+jwt is not an identity at the AS. The HTTP signature is
 * still checked (with the token's cnf.jwk, token unverified) so the D-30
 * order holds: a bad signature is 401, a good one gets the 400.
 */
static void refuse_auth_token(struct aa_ref_server *s, const struct aa_server_request *req,
                              struct aa_server_response *resp, const char *tok, const char *type)
{
    struct aa_jwt j;
    struct aa_jwk cnf;
    struct aa_identity id;
    struct aa_aauth_result res;
    struct aa_diag d;
    char msg[AA_DIAG_MSG_MAX + 64];

    memset(&cnf, 0, sizeof(cnf));
    aa_diag_clear(&d);
    if (aa_jwt_parse(tok, strlen(tok), &j, &d) != AA_OK || aa_jwt_cnf_jwk(&j, &cnf, &d) != AA_OK) {
        aa_diag_format(&d, msg, sizeof(msg));
        ref_send_perr(resp, AA_PERR_INVALID_TOKEN, 0, "Signature-Key jwt (auth+jwt): %s", msg);
        aa_jwt_cleanup(&j);
        return;
    }
    aa_jwt_cleanup(&j);
    if (auth_run_verifier(s, req, resp, &cnf, &id, &res) != AA_OK) {
        if (res.perr != AA_PERR_NONE)
            ref_send_result(resp, &res, 0);
    } else {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "request_type=%s needs an identity credential (jwks Mode 2 or an agent "
                      "token); an auth+jwt is not accepted here (PROFILE#6.3, D-15)",
                      type);
    }
    aa_identity_cleanup(&id);
    aa_jwk_cleanup(&cnf);
}

static int fill_from_token(struct requester *rq, const struct aa_validated_token *t)
{
    const cJSON *cnf = cJSON_GetObjectItemCaseSensitive(t->claims, "cnf");
    const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(cnf, "jwk");

    rq->agent = aa_strdup(t->iss);
    rq->delegate = t->sub != NULL ? aa_strdup(t->sub) : NULL;
    /* PROFILE#6.3: for a delegate, cnf.jwk is its agent token's cnf.jwk,
     * member by member. */
    rq->cnf = cJSON_Duplicate(jwk, 1);
    memcpy(rq->jkt, t->cnf_jkt, sizeof(rq->jkt));
    if (rq->agent == NULL || (t->sub != NULL && rq->delegate == NULL) || rq->cnf == NULL)
        return AA_E_NOMEM;
    return AA_OK;
}

/*
 * Fault cnf-unbound: an agent token whose HTTP signature did not verify
 * under its cnf.jwk is accepted once the token itself validates.
 */
static int unbound_agent_token(struct aa_ref_server *s, struct aa_server_response *resp,
                               const char *tok, struct requester *rq)
{
    struct aa_key_resolver resolver;
    struct aa_token_policy tp;
    struct aa_validated_token vt;
    struct aa_aauth_result res;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    if ((rc = auth_token_policy(s, &resolver, &tp, &d)) != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "%s", d.msg);
        return rc;
    }
    rc = aa_aauth_validate_agent_token(&tp, tok, strlen(tok), &vt, &res);
    if (rc != AA_OK) {
        ref_send_result(resp, &res, 0);
        return rc;
    }
    rq->well_known = s->profile->wk.agent;
    rc = fill_from_token(rq, &vt);
    aa_validated_token_cleanup(&vt);
    if (rc != AA_OK)
        return send_oom(resp);
    ref_logf(s, 1, "FAULT cnf-unbound: accepted an agent token without its cnf signature");
    return AA_OK;
}

static const char *pseudonymous_reason(const struct aa_identity *id)
{
    if (id->scheme == AA_SIGKEY_HWK)
        return "scheme=hwk is pseudonymous";
    if (id->scheme == AA_SIGKEY_JWKS && id->jwks_mode == 1)
        return "scheme=jwks Mode 1 is pseudonymous";
    if (id->scheme == AA_SIGKEY_JWKS)
        return "scheme=jwks without well-known=aauth-agent/aauth-resource is pseudonymous";
    if (id->scheme == AA_SIGKEY_JWT && id->token_kind != AA_TOKEN_AGENT)
        return "an auth+jwt is not an identity";
    return "the credential is not an identity";
}

/*
 * Step 3 of D-30 for auth/code/refresh: the signature (401), then the
 * credential type (400). On failure the answer is in |resp|.
 */
static int identify(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp, const char *type, struct requester *rq)
{
    struct aa_sigkey sk;
    struct aa_identity id;
    struct aa_aauth_result res;
    const char *tok = NULL;
    bool have_sk;
    int rc;

    memset(rq, 0, sizeof(*rq));
    have_sk = auth_peek_sigkey(s, req, &sk);
    if (have_sk && sk.scheme == AA_SIGKEY_JWT)
        tok = aa_sigkey_get(&sk, s->profile->sk.p_jwt);
    if (tok != NULL && jwt_is_typ(tok, s->profile->typ.auth)) {
        refuse_auth_token(s, req, resp, tok, type);
        aa_sigkey_cleanup(&sk);
        return AA_E_AAUTH_SCHEME_LEVEL;
    }
    rc = auth_run_verifier(s, req, resp, NULL, &id, &res);
    if (rc != AA_OK) {
        if (res.perr == AA_PERR_NONE) {
            /* run_verifier answered already (setup failure). */
        } else if (ref_fault(s, AA_REF_FAULT_CNF_UNBOUND) && tok != NULL && res.step == 8 &&
                   res.perr == AA_PERR_INVALID_SIGNATURE) {
            rc = unbound_agent_token(s, resp, tok, rq);
        } else {
            ref_logf(s, 3, "agent/token: signature rejected at %s", res.where);
            ref_send_result(resp, &res, 0);
        }
        aa_sigkey_cleanup(&sk);
        aa_identity_cleanup(&id);
        return rc;
    }
    aa_sigkey_cleanup(&sk);
    if (id.level != AA_AUTH_IDENTIFIED || id.agent == NULL ||
        (id.scheme == AA_SIGKEY_JWT && id.token_kind != AA_TOKEN_AGENT)) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "request_type=%s needs an identity credential (jwks Mode 2 with "
                      "well-known=aauth-agent, or an agent token): %s (PROFILE#6.3, D-15, D-20)",
                      type, pseudonymous_reason(&id));
        aa_identity_cleanup(&id);
        return AA_E_AAUTH_SCHEME_LEVEL;
    }
    if (id.scheme == AA_SIGKEY_JWT) {
        rq->well_known = s->profile->wk.agent;
        rc = fill_from_token(rq, &id.token);
    } else {
        rq->well_known = strcmp(id.well_known, s->profile->wk.resource) == 0
                             ? s->profile->wk.resource
                             : s->profile->wk.agent;
        rq->agent = aa_strdup(id.agent);
        rq->cnf = aa_jwk_to_cjson(&id.key, false);
        memcpy(rq->jkt, id.thumbprint, sizeof(rq->jkt));
        rc = rq->agent != NULL && rq->cnf != NULL ? AA_OK : AA_E_NOMEM;
    }
    aa_identity_cleanup(&id);
    if (rc != AA_OK) {
        requester_cleanup(rq);
        return send_oom(resp);
    }
    return AA_OK;
}

/* ---- request_type=auth (PROFILE#6.3, D-18, D-19, D-23) -------------------------------- */

/*
 * Fault rt-no-sig-check: the resource token's JWS is not verified. The
 * token is re-signed with a throwaway key of the same kid and validated
 * again through a resolver that still fetches the issuer's metadata (so
 * the identifier rule RT-08 keeps working) but hands back the throwaway
 * key; every other check of PROFILE#4.4 runs unchanged.
 */
struct nosig_ctx {
    const struct aa_key_resolver *real;
    const struct aa_jwk *fake;
};

static int nosig_metadata_key(void *ctx, const char *id, const char *wk, const char *kid,
                              struct aa_jwk *out, struct aa_diag *d)
{
    struct nosig_ctx *c = ctx;
    struct aa_jwk real;
    int rc;

    memset(&real, 0, sizeof(real));
    rc = c->real->metadata_key(c->real->ctx, id, wk, kid, &real, d);
    aa_jwk_cleanup(&real);
    if (rc != AA_OK && rc != AA_E_DISC_KID_UNKNOWN && rc != AA_E_JWKS_KID_UNKNOWN)
        return rc;
    return aa_jwk_copy(out, c->fake);
}

static int nosig_url_key(void *ctx, const char *url, const char *kid, struct aa_jwk *out,
                         struct aa_diag *d)
{
    (void)ctx;
    (void)kid;
    (void)out;
    return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#4.4", "no JWKS URL for %.100s", url);
}

static int validate_rt_nosig(struct aa_token_policy *tp, const char *tok,
                             struct aa_validated_token *vt, struct aa_aauth_result *res)
{
    struct aa_jwt j;
    struct aa_jwk fake;
    struct aa_key_resolver r;
    struct nosig_ctx c;
    char *resigned = NULL;
    int rc;

    memset(&fake, 0, sizeof(fake));
    if (aa_jwt_parse(tok, strlen(tok), &j, NULL) != AA_OK)
        return res->code;
    rc = aa_jwk_generate(AA_KTY_OKP, j.kid != NULL ? j.kid : "", &fake);
    if (rc == AA_OK)
        rc = aa_jwt_sign(j.header, j.claims, AA_ALG_ED25519, &fake, NULL, &resigned);
    aa_jwt_cleanup(&j);
    if (rc == AA_OK) {
        c.real = tp->resolver;
        c.fake = &fake;
        r.metadata_key = nosig_metadata_key;
        r.jwks_url_key = nosig_url_key;
        r.ctx = &c;
        tp->resolver = &r;
        rc = aa_aauth_validate_resource_token(tp, resigned, strlen(resigned), vt, res);
        tp->resolver = c.real;
    }
    free(resigned);
    aa_jwk_cleanup(&fake);
    return rc;
}

int auth_validate_rt(struct aa_ref_server *s, const char *agent, const char *jkt, const char *tok,
                     struct aa_validated_token *vt, struct aa_aauth_result *res, struct aa_diag *d)
{
    struct aa_key_resolver resolver;
    struct aa_token_policy tp;
    int rc;

    if ((rc = auth_token_policy(s, &resolver, &tp, d)) != AA_OK)
        return rc;
    tp.expected_agent = agent;
    tp.expected_agent_jkt = jkt;
    rc = aa_aauth_validate_resource_token(&tp, tok, strlen(tok), vt, res);
    if (rc != AA_OK && ref_fault(s, AA_REF_FAULT_RT_NO_SIG_CHECK) &&
        (strcmp(res->where, "4.4/6") == 0 || strcmp(res->where, "4.4/7") == 0)) {
        ref_logf(s, 1, "FAULT rt-no-sig-check: resource token JWS not verified");
        rc = validate_rt_nosig(&tp, tok, vt, res);
    }
    return rc;
}

/*
 * D-18: redirect_uri must be one of the agent's registered redirect_uris
 * when its metadata lists them; consent needs such a list. On failure the
 * answer is in |resp|.
 */
static int check_redirect(struct aa_ref_server *s, const struct requester *rq, const char *ru,
                          bool consent, struct aa_server_response *resp)
{
    const char *member = s->profile->md.redirect_uris;
    struct aa_disc *disc = NULL;
    cJSON *doc = NULL;
    const cJSON *list, *it;
    struct aa_diag d;
    bool found = false;
    int rc;

    aa_diag_clear(&d);
    rc = ref_server_disc(s, &disc, &d);
    if (rc == AA_OK)
        rc = aa_disc_metadata(disc, rq->agent, rq->well_known, &doc, &d);
    if (rc != AA_OK) {
        char msg[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, msg, sizeof(msg));
        if (!ref_is_discovery_outcome(rc)) {
            ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                          "redirect_uri cannot be checked: metadata of %.200s unavailable (%s, "
                          "D-18)",
                          rq->agent, msg);
            return rc;
        }
        /* What happened at the URL stays in the log (docs/security.md). */
        ref_logf(s, 1, "redirect_uri check: metadata of %.200s: %s", rq->agent, msg);
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "redirect_uri cannot be checked: metadata of %.200s unavailable (D-18); "
                      "the reason is in this server's log",
                      rq->agent);
        return rc;
    }
    list = cJSON_GetObjectItemCaseSensitive(doc, member);
    if (list == NULL) {
        cJSON_Delete(doc);
        if (!consent)
            return AA_OK;
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "user consent is needed but the metadata of %.200s has no %s (D-18)",
                      rq->agent, member);
        return AA_E_NOTFOUND;
    }
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(doc);
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "the metadata of %.200s has a %s that is not an array (PROFILE#3)", rq->agent,
                      member);
        return AA_E_SYNTAX;
    }
    cJSON_ArrayForEach(it, list)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, ru) == 0)
            found = true;
    }
    cJSON_Delete(doc);
    if (found)
        return AA_OK;
    ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                  "redirect_uri \"%.200s\" is not one of the %s of %.200s (D-18)", ru, member,
                  rq->agent);
    return AA_E_NOTFOUND;
}

char *auth_json_text(const cJSON *cnf)
{
    struct aa_buf b;

    aa_buf_init(&b, AA_JWT_MAX_LEN);
    if (aa_json_print(cnf, &b) != AA_OK || b.err != AA_OK) {
        aa_buf_free(&b);
        return NULL;
    }
    return aa_buf_detach(&b, NULL);
}

static int grant_from(const struct requester *rq, struct auth_grant *g)
{
    memset(g, 0, sizeof(*g));
    g->user = -1;
    g->agent = aa_strdup(rq->agent);
    g->delegate = rq->delegate != NULL ? aa_strdup(rq->delegate) : NULL;
    g->cnf_json = auth_json_text(rq->cnf);
    memcpy(g->jkt, rq->jkt, sizeof(g->jkt));
    if (g->agent == NULL || (rq->delegate != NULL && g->delegate == NULL) || g->cnf_json == NULL) {
        auth_grant_cleanup(g);
        return AA_E_NOMEM;
    }
    return AA_OK;
}

/* 200 {auth_token, expires_in[, refresh_token]} (D-25: no-store). */
void auth_send_tokens(struct aa_server_response *resp, const char *at, int64_t exp_in,
                      const char *refresh)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || auth_add_str(o, "auth_token", at) != AA_OK ||
        auth_add_int(o, "expires_in", exp_in) != AA_OK ||
        (refresh != NULL && auth_add_str(o, "refresh_token", refresh) != AA_OK))
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "out of memory");
    else
        ref_send_token(resp, o);
    cJSON_Delete(o);
}

/* Issue an auth token for |g| plus a refresh token bound to it (D-20). */
static void grant_tokens(struct aa_ref_server *s, struct aa_server_response *resp,
                         struct auth_grant *g)
{
    struct auth *a = auth_of(s);
    char refresh[AUTH_SECRET_LEN + 1];
    char *at = NULL;
    int64_t exp_in = 0, retry = 0;
    int rc;

    if ((rc = auth_issue_token(s, g, NULL, NULL, false, 0, &at, &exp_in)) != AA_OK) {
        auth_send_issue_error(resp, rc);
        return;
    }
    rc = auth_table_put(&a->refresh, ref_now(s), a->rf_ttl, g, refresh, &retry);
    if (rc == AA_E_LIMIT)
        auth_send_busy(resp, "refresh token", retry);
    else if (rc != AA_OK)
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "cannot store the refresh token");
    else
        auth_send_tokens(resp, at, exp_in, refresh);
    aa_cleanse(refresh, sizeof(refresh));
    free(at);
}

static void do_auth(struct aa_ref_server *s, const struct aa_form *f, const struct requester *rq,
                    struct aa_server_response *resp)
{
    struct auth *a = auth_of(s);
    const char *rt = aa_form_get(f, "resource_token"), *sc = aa_form_get(f, "scope");
    const char *arq = aa_form_get(f, "auth_request_url"), *ru = aa_form_get(f, "redirect_uri");
    int n = (rt != NULL) + (sc != NULL) + (arq != NULL);
    struct aa_validated_token vt;
    struct aa_aauth_result res;
    struct auth_grant g;
    struct aa_url url;
    struct aa_diag d;
    bool consent = a->consent;
    char why[160], secret[AUTH_SECRET_LEN + 1];
    int64_t retry = 0;
    int rc;

    memset(&vt, 0, sizeof(vt));
    aa_diag_clear(&d);
    if (n != 1) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "exactly one of resource_token, scope, auth_request_url is required; "
                      "got %s (PROFILE#6.3)",
                      n == 0   ? "none"
                      : n == 2 ? "two"
                               : "three");
        return;
    }
    if (ru == NULL || ru[0] == '\0') {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "redirect_uri is required (D-18)");
        return;
    }
    if (strlen(ru) > AUTH_REDIRECT_MAX_LEN || aa_url_parse(ru, strlen(ru), 0, &url, &d) != AA_OK) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "redirect_uri is not an absolute http(s) URL without fragment (D-18): %s",
                      d.msg[0] ? d.msg : "too long");
        return;
    }
    if (grant_from(rq, &g) != AA_OK) {
        send_oom(resp);
        return;
    }
    if (rt != NULL) {
        rc = auth_validate_rt(s, rq->agent, rq->jkt, rt, &vt, &res, &d);
        if (rc != AA_OK) {
            if (res.perr != AA_PERR_NONE)
                ref_send_result(resp, &res, 0);
            else
                ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "%s", d.msg);
            goto out;
        }
        g.agent_claim = true;
        g.aud = aa_strdup(vt.iss);
        if (g.aud == NULL) {
            send_oom(resp);
            goto out;
        }
        if (vt.scope != NULL) {
            rc = scope_classify(a, vt.scope, false, &g.scope, &g.id_scopes, why, sizeof(why));
            if (rc == AA_E_NOMEM) {
                send_oom(resp);
                goto out;
            }
            if (rc != AA_OK) {
                ref_send_perr(resp, AA_PERR_INVALID_RESOURCE_TOKEN, 0,
                              "resource token scope: %s (PROFILE#4.2)", why);
                goto out;
            }
        } else {
            /* auth_request_url is opaque in v1 (PROFILE#11.9): only the user
             * can judge it, so it always goes through consent. */
            consent = true;
        }
    } else {
        /* F5: the agent is the resource; aud = the agent, no agent claim
         * (unless the f5-agent-claim fault adds one). */
        g.agent_claim = ref_fault(s, AA_REF_FAULT_F5_AGENT_CLAIM);
        g.aud = aa_strdup(rq->agent);
        if (g.aud == NULL) {
            send_oom(resp);
            goto out;
        }
        if (sc != NULL) {
            rc = scope_classify(a, sc, true, &g.scope, &g.id_scopes, why, sizeof(why));
            if (rc == AA_E_NOMEM) {
                send_oom(resp);
                goto out;
            }
            if (rc != AA_OK) {
                ref_send_perr(resp, AA_PERR_INVALID_SCOPE, 0, "scope: %s (PROFILE#6.3)", why);
                goto out;
            }
        } else if (arq[0] == '\0') {
            ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "auth_request_url is empty");
            goto out;
        } else {
            consent = true;
        }
    }
    /* D-23: identity claims describe a user, so only the user can release them. */
    if (g.id_scopes != 0)
        consent = true;
    if (check_redirect(s, rq, ru, consent, resp) != AA_OK)
        goto out;
    if ((g.redirect_uri = aa_strdup(ru)) == NULL) {
        send_oom(resp);
        goto out;
    }
    if (!consent) {
        grant_tokens(s, resp, &g);
        goto out;
    }
    rc = auth_table_put(&a->pending, ref_now(s), a->rq_ttl, &g, secret, &retry);
    if (rc == AA_E_LIMIT) {
        auth_send_busy(resp, "request token", retry);
    } else if (rc != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "cannot store the request");
    } else {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || auth_add_str(o, "request_token", secret) != AA_OK ||
            auth_add_int(o, "expires_in", a->rq_ttl) != AA_OK)
            ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "out of memory");
        else
            ref_send_token(resp, o);
        cJSON_Delete(o);
    }
    aa_cleanse(secret, sizeof(secret));
out:
    aa_validated_token_cleanup(&vt);
    auth_grant_cleanup(&g);
}

/* ---- request_type=code (PROFILE#6.3, D-18) -------------------------------------------- */

static bool same_opt(const char *x, const char *y)
{
    return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static void do_code(struct aa_ref_server *s, const struct aa_form *f, const struct requester *rq,
                    struct aa_server_response *resp)
{
    struct auth *a = auth_of(s);
    const char *code = aa_form_get(f, "code"), *ru = aa_form_get(f, "redirect_uri");
    struct auth_entry *e;
    struct auth_grant g;
    bool used;
    int64_t created, now = ref_now(s);
    const char *why = NULL;

    if (code == NULL || code[0] == '\0' || ru == NULL || ru[0] == '\0') {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "%s is required (PROFILE#6.3, D-18)",
                      code == NULL || code[0] == '\0' ? "code" : "redirect_uri");
        return;
    }
    e = auth_table_find_locked(&a->codes, code);
    if (e == NULL) {
        auth_table_unlock(&a->codes);
        ref_send_perr(resp, AA_PERR_INVALID_GRANT, 0, "unknown code (PROFILE#6.3)");
        return;
    }
    used = e->used;
    created = e->created;
    /* PROFILE#6.3: the code is consumed even when redemption fails. */
    if (!ref_fault(s, AA_REF_FAULT_CODE_REUSE))
        e->used = true;
    if (auth_grant_copy(&g, &e->g) != AA_OK) {
        auth_table_unlock(&a->codes);
        send_oom(resp);
        return;
    }
    auth_table_unlock(&a->codes);
    if (used && !ref_fault(s, AA_REF_FAULT_CODE_REUSE))
        why = "the code was already redeemed";
    else if (now - created > a->code_ttl)
        why = "the code is older than its lifetime";
    else if (strcmp(g.agent, rq->agent) != 0)
        why = "the code was issued to another agent";
    else if (!same_opt(g.delegate, rq->delegate))
        why = "the code was issued to another delegate";
    else if (strcmp(g.jkt, rq->jkt) != 0)
        why = "the code is bound to another key";
    else if (g.redirect_uri == NULL || strcmp(g.redirect_uri, ru) != 0)
        why = "redirect_uri differs from the one in the auth request";
    if (why != NULL) {
        ref_send_perr(resp, AA_PERR_INVALID_GRANT, 0, "%s (PROFILE#6.3)", why);
        auth_grant_cleanup(&g);
        return;
    }
    grant_tokens(s, resp, &g);
    auth_grant_cleanup(&g);
}

/* ---- request_type=refresh (PROFILE#6.3, D-20) ----------------------------------------- */

static void do_refresh(struct aa_ref_server *s, const struct aa_form *f, const struct requester *rq,
                       struct aa_server_response *resp)
{
    struct auth *a = auth_of(s);
    const char *rt = aa_form_get(f, "refresh_token");
    struct auth_entry *e;
    struct auth_grant g;
    int64_t expires, now = ref_now(s), exp_in = 0;
    const char *why = NULL;
    char *at = NULL, *cnf;
    int rc;

    if (rt == NULL || rt[0] == '\0') {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "refresh_token is required (PROFILE#6.3)");
        return;
    }
    e = auth_table_find_locked(&a->refresh, rt);
    if (e == NULL) {
        auth_table_unlock(&a->refresh);
        ref_send_perr(resp, AA_PERR_INVALID_GRANT, 0, "unknown refresh token (D-20)");
        return;
    }
    expires = e->expires;
    rc = auth_grant_copy(&g, &e->g);
    auth_table_unlock(&a->refresh);
    if (rc != AA_OK) {
        send_oom(resp);
        return;
    }
    if (now >= expires)
        why = "the refresh token has expired";
    else if (!ref_fault(s, AA_REF_FAULT_REFRESH_ANY_AGENT) && strcmp(g.agent, rq->agent) != 0)
        why = "the refresh token was issued to another agent";
    else if (!ref_fault(s, AA_REF_FAULT_REFRESH_ANY_AGENT) && !same_opt(g.delegate, rq->delegate))
        why = "the refresh token was issued to another delegate";
    if (why != NULL) {
        ref_send_perr(resp, AA_PERR_INVALID_GRANT, 0, "%s (D-20)", why);
        auth_grant_cleanup(&g);
        return;
    }
    /* D-20: the key may have rotated; the new token is bound to the key
     * that signed this request. */
    if ((cnf = auth_json_text(rq->cnf)) == NULL) {
        auth_grant_cleanup(&g);
        send_oom(resp);
        return;
    }
    free(g.cnf_json);
    g.cnf_json = cnf;
    memcpy(g.jkt, rq->jkt, sizeof(g.jkt));
    if (ref_fault(s, AA_REF_FAULT_REFRESH_ROTATES)) {
        /* Fault: answer with a new refresh token as well (PROFILE#6.3 says
         * refresh tokens are not rotated; RF-06). */
        grant_tokens(s, resp, &g);
        auth_grant_cleanup(&g);
        return;
    }
    rc = auth_issue_token(s, &g, NULL, NULL, false, 0, &at, &exp_in);
    if (rc != AA_OK)
        auth_send_issue_error(resp, rc);
    else
        auth_send_tokens(resp, at, exp_in, NULL);
    free(at);
    auth_grant_cleanup(&g);
}

/* ---- POST /agent/token ---------------------------------------------------------------- */

static void h_token(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp)
{
    struct aa_form f;
    struct requester rq;
    const char *type;
    bool known = false;

    aa_form_init(&f);
    memset(&rq, 0, sizeof(rq));
    /* D-30 step 2: a form body with a request_type the AS knows. */
    if (ref_form_body(req, resp, &f) != AA_OK)
        goto out;
    /* A %00 would shorten a value when it is read as a C string (a
     * redirect_uri could then match a registered prefix). */
    for (size_t i = 0; i < f.n; i++) {
        if (strlen(f.v[i].name) != f.v[i].name_len || strlen(f.v[i].value) != f.v[i].value_len) {
            ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                          "form parameter %zu contains a NUL byte (PROFILE#6)", i);
            goto out;
        }
    }
    type = aa_form_get(&f, "request_type");
    if (type == NULL) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "request_type is required (PROFILE#6.3)");
        goto out;
    }
    for (size_t i = 0; i < sizeof(auth_request_types) / sizeof(auth_request_types[0]); i++)
        known = known || strcmp(type, auth_request_types[i]) == 0;
    if (!known) {
        ref_send_perr(resp, AA_PERR_UNSUPPORTED_REQUEST_TYPE, 0,
                      "request_type \"%.40s\" is not one of auth, code, exchange, refresh "
                      "(PROFILE#6.3)",
                      type);
        goto out;
    }
    if (strcmp(type, "exchange") == 0) {
        auth_exchange(s, req, &f, resp);
        goto out;
    }
    /* D-30 steps 3-5. */
    if (identify(s, req, resp, type, &rq) != AA_OK)
        goto out;
    if (strcmp(type, "auth") == 0)
        do_auth(s, &f, &rq, resp);
    else if (strcmp(type, "code") == 0)
        do_code(s, &f, &rq, resp);
    else
        do_refresh(s, &f, &rq, resp);
out:
    requester_cleanup(&rq);
    aa_form_cleanup(&f);
}

/* ---- start ---------------------------------------------------------------------------- */

static char **split_words(const char *in, size_t *n)
{
    struct aa_str v[AUTH_SCOPE_MAX_TOKENS];
    char **out;

    *n = 0;
    if (auth_scope_split(in, v, AUTH_SCOPE_MAX_TOKENS, n) != AA_OK)
        return NULL;
    if ((out = calloc(*n + 1, sizeof(*out))) == NULL)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        if ((out[i] = aa_strndup(v[i].p, v[i].len)) == NULL) {
            free_strv(out, i);
            return NULL;
        }
    }
    return out;
}

static int copy_users(struct auth *a, const struct aa_ref_auth_config *cfg, struct aa_diag *d)
{
    static const struct aa_ref_user dflt = {"testuser", "testpass", "Test User",
                                            "testuser@example.com"};
    const struct aa_ref_user *src = cfg->users != NULL ? cfg->users : &dflt;
    size_t n = cfg->users != NULL ? cfg->n_users : 1;

    if (n == 0)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.6", "auth server: users given but n_users is 0");
    if ((a->users = calloc(n, sizeof(*a->users))) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.6", "out of memory");
    a->n_users = n;
    for (size_t i = 0; i < n; i++) {
        struct auth_user *u = &a->users[i];
        if (src[i].username == NULL || src[i].username[0] == '\0' || src[i].password == NULL)
            return aa_fail(d, AA_E_INVAL, "PROFILE#6.6",
                           "auth server: user %zu needs a username and a password", i);
        u->username = aa_strdup(src[i].username);
        u->password = aa_strdup(src[i].password);
        u->name = src[i].name != NULL ? aa_strdup(src[i].name) : NULL;
        u->email = src[i].email != NULL ? aa_strdup(src[i].email) : NULL;
        if (u->username == NULL || u->password == NULL ||
            (src[i].name != NULL && u->name == NULL) || (src[i].email != NULL && u->email == NULL))
            return aa_fail(d, AA_E_NOMEM, "PROFILE#6.6", "out of memory");
    }
    return AA_OK;
}

static int copy_trusted(struct auth *a, const struct aa_ref_auth_config *cfg, struct aa_diag *d)
{
    size_t k = 0;

    if ((a->trusted = calloc(cfg->n_trusted_issuers + 1, sizeof(*a->trusted))) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.5", "out of memory");
    for (size_t i = 0; cfg->trusted_issuers != NULL && i < cfg->n_trusted_issuers; i++) {
        if (cfg->trusted_issuers[i] == NULL)
            continue;
        if (aa_http_identifier_check(cfg->trusted_issuers[i], !cfg->c.strict_https, NULL, d) !=
            AA_OK)
            return aa_diag_prefix(d, "auth server trusted issuer %zu", i);
        if ((a->trusted[k] = aa_strdup(cfg->trusted_issuers[i])) == NULL)
            return aa_fail(d, AA_E_NOMEM, "PROFILE#6.5", "out of memory");
        k++;
    }
    a->n_trusted = k;
    return AA_OK;
}

static int check_ttl(int64_t v, const char *what, struct aa_diag *d)
{
    if (v < 0 || v > 10 * 365 * 86400LL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#10", "%s lifetime %lld out of range (D-5)", what,
                       (long long)v);
    return AA_OK;
}

int aa_ref_auth_start(const struct aa_ref_auth_config *cfg, struct aa_ref_server **out,
                      struct aa_diag *d)
{
    struct aa_ref_server *s = NULL;
    struct aa_nonce_cache_opts no;
    struct auth *a;
    size_t cap;
    int rc;

    if (cfg == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.3", "auth server: NULL argument");
    *out = NULL;
    if ((rc = check_ttl(cfg->auth_token_ttl, "auth token", d)) != AA_OK ||
        (rc = check_ttl(cfg->request_token_ttl, "request token", d)) != AA_OK ||
        (rc = check_ttl(cfg->code_ttl, "code", d)) != AA_OK ||
        (rc = check_ttl(cfg->refresh_token_ttl, "refresh token", d)) != AA_OK)
        return rc;
    cap = cfg->max_entries ? cfg->max_entries : AUTH_TABLE_DEFAULT;
    if (cap > AUTH_TABLE_MAX)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.3", "auth server: max_entries %zu > %u", cap,
                       AUTH_TABLE_MAX);
    if ((rc = ref_server_new(AA_REF_AUTH, &cfg->c, &s, d)) != AA_OK)
        goto fail;
    if ((a = calloc(1, sizeof(*a))) == NULL) {
        rc = aa_fail(d, AA_E_NOMEM, "PROFILE#6.3", "out of memory");
        goto fail;
    }
    s->role_ctx = a;
    s->role_free = auth_free;
    a->consent = cfg->require_user_consent;
    a->at_ttl = cfg->auth_token_ttl ? cfg->auth_token_ttl : AA_REF_AUTH_TOKEN_TTL;
    a->rq_ttl = cfg->request_token_ttl ? cfg->request_token_ttl : AA_REF_REQUEST_TOKEN_TTL;
    a->code_ttl = cfg->code_ttl ? cfg->code_ttl : AA_REF_CODE_TTL;
    a->rf_ttl = cfg->refresh_token_ttl ? cfg->refresh_token_ttl : AA_REF_REFRESH_TOKEN_TTL;
    if ((rc = auth_table_init(&a->pending, cap)) != AA_OK ||
        (rc = auth_table_init(&a->codes, cap)) != AA_OK ||
        (rc = auth_table_init(&a->refresh, cap)) != AA_OK) {
        rc = aa_fail(d, rc, "PROFILE#6.3", "auth server: cannot allocate the grant tables");
        goto fail;
    }
    a->scopes = split_words(cfg->scopes_supported ? cfg->scopes_supported : AUTH_DEFAULT_SCOPES,
                            &a->n_scopes);
    if (a->scopes == NULL) {
        rc = aa_fail(d, AA_E_INVAL, "PROFILE#3",
                     "auth server: scopes_supported is not a space-separated scope list");
        goto fail;
    }
    if ((rc = copy_users(a, cfg, d)) != AA_OK || (rc = copy_trusted(a, cfg, d)) != AA_OK)
        goto fail;
    memset(&no, 0, sizeof(no));
    no.capacity = AUTH_NONCE_CAPACITY;
    no.clock = ref_aa_clock(s);
    if ((a->nonces = aa_nonce_cache_new(&no)) == NULL ||
        aa_snprintf(a->well_known, sizeof(a->well_known), "/.well-known/%s",
                    s->profile->wk.issuer) != AA_OK) {
        rc = aa_fail(d, AA_E_NOMEM, "PROFILE#6.3", "out of memory");
        goto fail;
    }
    if ((rc = ref_server_route(s, "GET", a->well_known, ref_h_metadata, "metadata")) != AA_OK ||
        (rc = ref_server_route(s, "GET", AA_REF_PATH_JWKS, ref_h_jwks, "jwks")) != AA_OK ||
        (rc = ref_server_route(s, "POST", AUTH_PATH_TOKEN, h_token, "agent token endpoint")) !=
            AA_OK ||
        (rc = ref_server_route(s, "GET", AUTH_PATH_AUTH, auth_h_ui_get, "consent")) != AA_OK ||
        (rc = ref_server_route(s, "POST", AUTH_PATH_AUTH, auth_h_ui_post, "consent")) != AA_OK) {
        rc = aa_fail(d, rc, "PROFILE#6.3", "auth server: cannot register routes");
        goto fail;
    }
    if ((rc = ref_server_listen(s, d)) != AA_OK)
        goto fail;
    if ((rc = render_metadata(s, a)) != AA_OK) {
        rc = aa_fail(d, rc, "PROFILE#3", "auth server: cannot render metadata");
        goto fail;
    }
    ref_server_ready(s);
    *out = s;
    return AA_OK;
fail:
    aa_ref_stop(s);
    return rc;
}
