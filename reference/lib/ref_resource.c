/*
 * ref_resource: the reference resource (PROFILE#3, #4.5, #5, #6.2, D-17).
 *
 *   GET  /.well-known/aauth-resource  metadata: resource, jwks_uri,
 *                                     resource_token_endpoint,
 *                                     supported_scopes, scope_descriptions
 *   GET  /jwks.json                   the public signing key ("resource-key-1")
 *   GET/POST /data-hwk                any valid signature
 *   GET/POST /data-jwks               identity: jwks Mode 2, agent+jwt, or an
 *                                     auth+jwt whose aud is this resource
 *   GET/POST /data-auth               an auth+jwt whose scope covers the
 *                                     operation (GET data.read, POST data.write)
 *   POST /resource/token              resource tokens for identified callers
 *   GET  /data-exchange               F7 trigger, only with a downstream
 *                                     (ref_resource_exchange.c)
 *   GET  /public                      F1.4: unsigned callers rate-limited,
 *                                     signed ones verified like /data-hwk
 *                                     (ref_resource_public.c; absent with
 *                                     public_limit 0)
 *
 * Every protected request runs the receiver procedure of PROFILE#2.11 (the
 * verifier, with this server's configured authority, clock, replay cache
 * and discovery cache), then the endpoint's level (step 10). A 401 always
 * carries the PROFILE#5 challenge for what the request established: the
 * endpoint's base challenge when no valid signature was seen or a presented
 * token was invalid, `httpsig; identity=?1` for a valid pseudonymous
 * signature on an identity or auth endpoint, and an auth-token challenge
 * with a fresh resource token (bound to the caller's agent and to the
 * thumbprint of the key that verified the request) for a valid identity
 * without an auth token.
 *
 * Design choice: the level decision is made from struct aa_identity only
 * (scheme, level, token kind), never by re-reading headers, so the
 * verifier stays the single place where credentials are judged; the one
 * exception is the cnf-unbound fault, which must re-open the credential to
 * break exactly the cnf binding.
 */
#include <stdlib.h>
#include <string.h>

#include "ref_resource_int.h"

/* ---- configuration ---------------------------------------------------------- */

void aa_ref_resource_defaults(struct aa_ref_resource_config *c)
{
    memset(c, 0, sizeof(*c));
    /* The default topology's AS (PROFILE#1); tests and tools override it. */
    c->auth_server = "http://127.0.0.1:8003";
    c->resource_token_ttl = AA_REF_RESOURCE_TOKEN_TTL;
    c->require_nonce_on_post = true;
    c->public_limit = AA_REF_PUBLIC_LIMIT;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static void resource_free(void *p)
{
    struct resource *r = p;

    free(r->auth_server);
    strv_free(r->trusted);
    free(r->scope);
    strv_free(r->supported);
    free(r->downstream);
    aa_nonce_cache_free(r->nonces);
    res_public_free(r->pub);
    free(r);
}

/* RFC6749#3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static bool scope_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/*
 * Split a space-delimited scope string (RFC6749#3.3: tokens separated by
 * exactly one SP, none empty) into a NULL-terminated vector. AA_E_SYNTAX
 * with |why| set for a malformed string, AA_E_LIMIT past |max|,
 * AA_E_NOMEM.
 */
static int scope_split(const char *s, size_t max, char ***out, size_t *n_out, char *why, size_t cap)
{
    char **v;
    size_t n = 0, len = strlen(s);

    *out = NULL;
    *n_out = 0;
    if (len == 0 || len > RES_SCOPE_MAX_LEN) {
        aa_snprintf(why, cap, len == 0 ? "scope is empty" : "scope longer than %d bytes",
                    RES_SCOPE_MAX_LEN);
        return len == 0 ? AA_E_SYNTAX : AA_E_LIMIT;
    }
    if ((v = calloc(max + 1, sizeof(*v))) == NULL)
        return AA_E_NOMEM;
    for (size_t i = 0; i <= len;) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (j == i) {
            aa_snprintf(why, cap, "scope has an empty token at offset %zu (RFC6749#3.3)", i);
            strv_free(v);
            return AA_E_SYNTAX;
        }
        for (size_t k = i; k < j; k++) {
            if (!scope_char((unsigned char)s[k])) {
                aa_snprintf(why, cap, "scope has byte 0x%02x at offset %zu (RFC6749#3.3)",
                            (unsigned char)s[k], k);
                strv_free(v);
                return AA_E_SYNTAX;
            }
        }
        if (n >= max) {
            aa_snprintf(why, cap, "scope has more than %zu tokens", max);
            strv_free(v);
            return AA_E_LIMIT;
        }
        if ((v[n++] = aa_strndup(s + i, j - i)) == NULL) {
            strv_free(v);
            return AA_E_NOMEM;
        }
        i = j + 1;
    }
    *out = v;
    *n_out = n;
    return AA_OK;
}

static bool strv_has(char *const *v, const char *s)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* The space-delimited |have| contains the token |need|. */
static bool scope_covers(const char *have, const char *need)
{
    size_t n = strlen(need);

    for (const char *p = have; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && memcmp(p, need, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* ---- metadata and JWKS ------------------------------------------------------ */

static const char *scope_description(const char *scope)
{
    if (strcmp(scope, RES_SCOPE_READ) == 0)
        return "Read the protected data";
    if (strcmp(scope, RES_SCOPE_WRITE) == 0)
        return "Write the protected data";
    return NULL;
}

/* PROFILE#3: resource, jwks_uri and resource_token_endpoint are required;
 * supported_scopes and scope_descriptions are published always. No
 * auth_server member: clients must not rely on it (D-13). */
static int render_metadata(struct aa_ref_server *s, struct resource *r)
{
    const struct aa_profile_metadata *md = &s->profile->md;
    cJSON *m = cJSON_CreateObject(), *sc, *desc;
    char *jwks = ref_id_url(s, AA_REF_PATH_JWKS), *tok = ref_id_url(s, RES_PATH_TOKEN);
    struct aa_buf b;
    int rc = AA_E_NOMEM;

    aa_buf_init(&b, AA_DISC_MAX_DOC);
    if (m == NULL || jwks == NULL || tok == NULL ||
        cJSON_AddStringToObject(m, md->resource, s->id) == NULL ||
        cJSON_AddStringToObject(m, md->jwks_uri, jwks) == NULL ||
        cJSON_AddStringToObject(m, md->resource_token_endpoint, tok) == NULL ||
        (sc = cJSON_AddArrayToObject(m, md->supported_scopes)) == NULL ||
        (desc = cJSON_AddObjectToObject(m, md->scope_descriptions)) == NULL)
        goto out;
    for (size_t i = 0; i < r->n_supported; i++) {
        const char *text = scope_description(r->supported[i]);
        char generic[RES_SCOPE_MAX_LEN + 32];
        if (text == NULL) {
            aa_snprintf(generic, sizeof(generic), "Access scope %s", r->supported[i]);
            text = generic;
        }
        if (!cJSON_AddItemToArray(sc, cJSON_CreateString(r->supported[i])) ||
            cJSON_AddStringToObject(desc, r->supported[i], text) == NULL)
            goto out;
    }
    if (cJSON_GetArraySize(sc) != (int)r->n_supported)
        goto out;
    if ((rc = aa_json_print(m, &b)) != AA_OK)
        goto out;
    s->metadata_json = aa_buf_detach(&b, NULL);
    rc = s->metadata_json ? AA_OK : AA_E_NOMEM;
out:
    aa_buf_free(&b);
    free(jwks);
    free(tok);
    cJSON_Delete(m);
    return rc;
}

/* ---- resource tokens (PROFILE#4.2, #6.2, D-5, D-16) --------------------------- */

/*
 * A resource+jwt for |agent| bound to key thumbprint |jkt|, with exactly
 * one of |scope| / |arq|: iss = this resource, aud = the AS, exp = now +
 * ttl, iat = now. Header typ resource+jwt (typ "JWT" under the wrong-typ
 * fault, ref_sign_jwt), alg EdDSA, kid. |*out| is heap.
 */
static int mint_resource_token(struct aa_ref_server *s, const char *agent, const char *jkt,
                               const char *scope, const char *arq, char **out)
{
    const struct aa_profile_claims *cl = &s->profile->claim;
    struct resource *r = res_of(s);
    int64_t now = ref_now(s);
    cJSON *c;
    int rc;

    *out = NULL;
    if (agent == NULL || jkt == NULL || (scope == NULL) == (arq == NULL))
        return AA_E_INVAL;
    if ((c = cJSON_CreateObject()) == NULL)
        return AA_E_NOMEM;
    /* Fault rt-wrong-agent-jkt: bind the token to this resource's own key
     * instead of the caller's (PROFILE#4.2 agent_jkt). */
    if (ref_fault(s, AA_REF_FAULT_RT_WRONG_AGENT_JKT))
        jkt = s->thumbprint;
    if (cJSON_AddStringToObject(c, cl->iss, s->id) == NULL ||
        cJSON_AddStringToObject(c, cl->aud, r->auth_server) == NULL ||
        cJSON_AddStringToObject(c, cl->agent, agent) == NULL ||
        cJSON_AddStringToObject(c, cl->agent_jkt, jkt) == NULL ||
        cJSON_AddNumberToObject(c, cl->exp, (double)(now + r->rt_ttl)) == NULL ||
        cJSON_AddNumberToObject(c, cl->iat, (double)now) == NULL ||
        (scope != NULL && cJSON_AddStringToObject(c, cl->scope, scope) == NULL) ||
        (arq != NULL && cJSON_AddStringToObject(c, cl->auth_request_url, arq) == NULL)) {
        cJSON_Delete(c);
        return AA_E_NOMEM;
    }
    rc = ref_sign_jwt(s, s->profile->typ.resource, c, out);
    cJSON_Delete(c);
    return rc;
}

/* ---- challenges (PROFILE#5) ----------------------------------------------------- */

/* Attach Agent-Auth |value| to an answer already in |resp|. 401 answers
 * lose it under the no-challenge fault (that fault's one behaviour). */
static void add_challenge(const struct aa_ref_server *s, struct aa_server_response *resp,
                          const char *value)
{
    if (resp->status == 401 && ref_fault(s, AA_REF_FAULT_NO_CHALLENGE))
        return;
    if (aa_server_response_header(resp, s->profile->hdr.agent_auth, value) != AA_OK) {
        aa_server_response_cleanup(resp);
        aa_server_response_init(resp);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot attach the Agent-Auth challenge");
    }
}

void res_add_base_challenge(const struct aa_ref_server *s, struct aa_server_response *resp,
                            bool identity)
{
    struct aa_buf b;

    aa_buf_init(&b, 256);
    if (aa_challenge_build_base(s->profile, identity, &b) == AA_OK && b.err == AA_OK) {
        add_challenge(s, resp, b.p);
    } else {
        aa_server_response_cleanup(resp);
        aa_server_response_init(resp);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot build the Agent-Auth challenge");
    }
    aa_buf_free(&b);
}

/*
 * An auth-token challenge with a fresh resource token for the caller's
 * agent and verifying key (PROFILE#5, D-16), attached to the answer in
 * |resp|. On failure |resp| becomes 500 server_error.
 */
static void add_auth_token_challenge(struct aa_ref_server *s, struct aa_server_response *resp,
                                     const struct aa_identity *id)
{
    struct resource *r = res_of(s);
    struct aa_buf b;
    char *rt = NULL;

    aa_buf_init(&b, AA_CHALLENGE_MAX_LEN);
    if (mint_resource_token(s, id->agent, id->thumbprint, r->scope, NULL, &rt) != AA_OK ||
        aa_challenge_build_auth_token(s->profile, rt, r->auth_server, &b) != AA_OK ||
        b.err != AA_OK) {
        aa_server_response_cleanup(resp);
        aa_server_response_init(resp);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot issue the challenge resource token");
    } else {
        add_challenge(s, resp, b.p);
        ref_logf(s, 3, "challenge: resource token for agent %.120s jkt %s", id->agent,
                 id->thumbprint);
    }
    free(rt);
    aa_buf_free(&b);
}

/* ---- the receiver (PROFILE#2.11) ------------------------------------------------ */

static void verify_policy(struct aa_ref_server *s, struct aa_verify_policy *pol)
{
    struct resource *r = res_of(s);

    memset(pol, 0, sizeof(*pol));
    pol->profile = s->profile;
    pol->authority = s->authority; /* configured, never Host (D-2) */
    pol->receiver = s->id;
    pol->clock = ref_aa_clock(s);
    pol->nonce_optional_on_post = !r->require_nonce;
    pol->replay = r->nonces;
    pol->resolver = &r->resolver;
    pol->trusted_issuers = (const char *const *)r->trusted;
    pol->dev_mode = !s->strict_https;
    pol->faults = ref_verifier_faults(s->faults);
}

/*
 * The cnf-unbound fault (aa_ref.h): a scheme=jwt request whose signature
 * did not verify under the token's cnf.jwk is accepted anyway once the
 * token itself validates. Only that binding is broken: the token is still
 * fully validated and the Nonce still goes through the replay cache.
 */
static int cnf_unbound_accept(struct aa_ref_server *s, const struct aa_server_request *req,
                              const struct aa_verify_policy *pol, struct aa_identity *id,
                              struct aa_aauth_result *res)
{
    const struct aa_profile *p = s->profile;
    const char *hv = aa_server_request_header(req, p->hdr.signature_key);
    const char *nonce = aa_server_request_header(req, p->hdr.nonce);
    struct aa_sigkey sk;
    struct aa_token_policy tp;
    struct aa_aauth_result tr;
    struct aa_jwt peek;
    const char *tok;
    bool auth;
    int rc;

    memset(&sk, 0, sizeof(sk));
    memset(id, 0, sizeof(*id));
    if (hv == NULL || p->grammar.sigkey_parse(p, hv, strlen(hv), &sk, NULL) != AA_OK ||
        sk.scheme != AA_SIGKEY_JWT || (tok = aa_sigkey_get(&sk, p->sk.p_jwt)) == NULL) {
        aa_sigkey_cleanup(&sk);
        return AA_E_AAUTH_BADSIG;
    }
    if (aa_jwt_parse(tok, strlen(tok), &peek, NULL) != AA_OK) {
        aa_sigkey_cleanup(&sk);
        return AA_E_AAUTH_BADSIG;
    }
    auth = aa_jwt_check_typ(&peek, p->typ.auth, NULL) == AA_OK;
    aa_jwt_cleanup(&peek);
    memset(&tp, 0, sizeof(tp));
    tp.profile = p;
    tp.clock = pol->clock;
    tp.receiver = pol->receiver;
    tp.resolver = pol->resolver;
    tp.trusted_issuers = pol->trusted_issuers;
    tp.dev_mode = pol->dev_mode;
    tp.faults = pol->faults;
    rc = auth ? aa_aauth_validate_auth_token(&tp, tok, strlen(tok), &id->token, &tr)
              : aa_aauth_validate_agent_token(&tp, tok, strlen(tok), &id->token, &tr);
    aa_sigkey_cleanup(&sk);
    if (rc != AA_OK)
        return AA_E_AAUTH_BADSIG;
    id->scheme = AA_SIGKEY_JWT;
    id->token_kind = auth ? AA_TOKEN_AUTH : AA_TOKEN_AGENT;
    id->token_type = auth ? p->typ.auth : p->typ.agent;
    id->level = auth ? AA_AUTH_AUTHORIZED : AA_AUTH_IDENTIFIED;
    memcpy(id->thumbprint, id->token.cnf_jkt, sizeof(id->thumbprint));
    if (aa_jwk_copy(&id->key, &id->token.cnf) != AA_OK) {
        aa_identity_cleanup(id);
        return AA_E_NOMEM;
    }
    if ((auth ? id->token.agent : id->token.iss) != NULL &&
        (id->agent = aa_strdup(auth ? id->token.agent : id->token.iss)) == NULL) {
        aa_identity_cleanup(id);
        return AA_E_NOMEM;
    }
    if ((auth ? id->token.agent_delegate : id->token.sub) != NULL &&
        (id->delegate = aa_strdup(auth ? id->token.agent_delegate : id->token.sub)) == NULL) {
        aa_identity_cleanup(id);
        return AA_E_NOMEM;
    }
    if (nonce != NULL && !(pol->faults & AA_FAULT_SKIP_REPLAY)) {
        struct aa_diag d;
        aa_diag_clear(&d);
        rc = aa_nonce_cache_check_and_store(pol->replay, pol->authority, id->thumbprint, nonce,
                                            ref_now(s), &d);
        if (rc != AA_OK) {
            /* reported as the receiver's step 9 would have (PROFILE#2.9) */
            aa_aauth_result_init(res);
            res->code = rc;
            res->perr = rc == AA_E_NONCE_REPLAY       ? AA_PERR_REPLAY_DETECTED
                        : rc == AA_E_NONCE_CACHE_FULL ? AA_PERR_TEMPORARILY_UNAVAILABLE
                                                      : AA_PERR_SERVER_ERROR;
            res->status = aa_perr_status(res->perr);
            res->step = 9;
            aa_snprintf(res->where, sizeof(res->where), "2.11/9");
            res->diag = d;
            aa_identity_cleanup(id);
            return rc;
        }
    }
    ref_logf(s, 3, "fault cnf-unbound: accepted a jwt request not signed by cnf.jwk");
    return AA_OK;
}

/* Send the verifier's failure; 401 gets the endpoint's base challenge and
 * 429 (full replay cache) a Retry-After. */
static void send_verify_failure(struct aa_ref_server *s, struct aa_server_response *resp,
                                const struct aa_aauth_result *res, enum res_level level)
{
    char ra[32];

    ref_send_result(resp, res, 0);
    if (res->status == 401) {
        res_add_base_challenge(s, resp, level != RES_LEVEL_SIGNATURE);
    } else if (res->status == 429 && resp->status == 429) {
        aa_snprintf(ra, sizeof(ra), "%lld",
                    (long long)aa_nonce_cache_retry_after(res_of(s)->nonces));
        if (aa_server_response_header(resp, s->profile->hdr.retry_after, ra) != AA_OK) {
            aa_server_response_cleanup(resp);
            aa_server_response_init(resp);
            ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        }
    }
}

/* The scope an operation needs (PROFILE#4.5 step 12): POST writes. */
static const char *needed_scope(const struct aa_server_request *req)
{
    return strcmp(req->method, "POST") == 0 ? RES_SCOPE_WRITE : RES_SCOPE_READ;
}

int res_guard(struct aa_ref_server *s, const struct aa_server_request *req,
              struct aa_server_response *resp, enum res_level level, struct aa_identity *id)
{
    const char *scheme;
    struct aa_verify_policy pol;
    struct aa_http_headers hdrs;
    struct aa_verify_request vr;
    struct aa_aauth_result res;
    enum aa_perr perr;
    bool identified;
    int rc;

    memset(id, 0, sizeof(*id));
    verify_policy(s, &pol);
    aa_http_headers_init(&hdrs);
    aa_aauth_result_init(&res);
    if ((rc = ref_verify_request(req, &hdrs, &vr)) != AA_OK) {
        aa_http_headers_cleanup(&hdrs);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        return rc;
    }
    rc = aa_aauth_verify(&pol, &vr, id, &res);
    if (rc == AA_E_AAUTH_BADSIG && ref_fault(s, AA_REF_FAULT_CNF_UNBOUND)) {
        int rc2 = cnf_unbound_accept(s, req, &pol, id, &res);
        if (rc2 == AA_OK || rc2 != AA_E_AAUTH_BADSIG)
            rc = rc2; /* accepted, or a replay found on the way */
    }
    aa_http_headers_cleanup(&hdrs);
    if (rc != AA_OK) {
        ref_logf(s, 3, "%s %.*s: refused at %s (%s)", req->method, (int)req->path_len, req->path,
                 res.where, aa_perr_name(res.perr));
        send_verify_failure(s, resp, &res, level);
        return rc;
    }

    /* Step 10: the endpoint's level (PROFILE#6.2, D-15). */
    identified = id->level >= AA_AUTH_IDENTIFIED && id->agent != NULL;
    scheme = aa_sigkey_scheme_name(s->profile, id->scheme);
    if (level == RES_LEVEL_SIGNATURE)
        return AA_OK;
    if (!identified) {
        perr = AA_PERR_INVALID_KEY;
        ref_send_perr(resp, perr, 0,
                      "Signature-Key scheme=%s%s establishes no identity; %.*s needs jwks "
                      "Mode 2 (well-known %s or %s) or jwt with an agent or auth token "
                      "(PROFILE#6.2, D-15)",
                      scheme, id->scheme == AA_SIGKEY_JWKS && id->jwks_mode == 1 ? " Mode 1" : "",
                      (int)req->path_len, req->path, s->profile->wk.agent, s->profile->wk.resource);
        res_add_base_challenge(s, resp, true);
        rc = AA_E_AAUTH_SCHEME_LEVEL;
        goto refused;
    }
    if (level == RES_LEVEL_IDENTITY)
        return AA_OK;
    if (id->token_kind != AA_TOKEN_AUTH) {
        /* Fault: an agent token is taken as authorisation (AU-09). */
        if (id->token_kind == AA_TOKEN_AGENT && ref_fault(s, AA_REF_FAULT_GRANT_AGENT_TOKEN))
            return AA_OK;
        perr = AA_PERR_INVALID_TOKEN;
        ref_send_perr(resp, perr, 0,
                      "%.*s needs an auth token (Signature-Key scheme=jwt carrying %s from %s); "
                      "the request identified agent %.200s only (PROFILE#6.2, #5)",
                      (int)req->path_len, req->path, s->profile->typ.auth, res_of(s)->auth_server,
                      id->agent);
        add_auth_token_challenge(s, resp, id);
        rc = AA_E_AAUTH_SCHEME_LEVEL;
        goto refused;
    }
    /* Fault scope-not-enforced: step 12 skipped, any auth token will do. */
    if (!ref_fault(s, AA_REF_FAULT_SCOPE_NOT_ENFORCED) &&
        (id->token.scope == NULL || !scope_covers(id->token.scope, needed_scope(req)))) {
        /* PROFILE#4.5 step 12: 403 with a new auth-token challenge. */
        perr = AA_PERR_INSUFFICIENT_SCOPE;
        ref_send_perr(resp, perr, 0,
                      "%s %.*s needs scope %s; the auth token grants \"%.200s\" (PROFILE#4.5)",
                      req->method, (int)req->path_len, req->path, needed_scope(req),
                      id->token.scope ? id->token.scope : "");
        add_auth_token_challenge(s, resp, id);
        rc = AA_E_AAUTH_SCHEME_LEVEL;
        goto refused;
    }
    return AA_OK;
refused:
    ref_logf(s, 3, "%s %.*s: %d %s (scheme=%s)", req->method, (int)req->path_len, req->path,
             resp->status, aa_perr_name(perr), scheme);
    aa_identity_cleanup(id);
    return rc;
}

/* ---- protected data (PROFILE#6.2 success bodies) ---------------------------------- */

static bool add_str_or_null(cJSON *o, const char *name, const char *v)
{
    return v != NULL ? cJSON_AddStringToObject(o, name, v) != NULL
                     : cJSON_AddNullToObject(o, name) != NULL;
}

/* The success body for the credential in |id| (compared by value; null
 * counts as absent); |data_text|, when not NULL, replaces the "data" text
 * (GET /public). */
static cJSON *grant_body(const struct aa_ref_server *s, const struct aa_server_request *req,
                         const struct aa_identity *id, const char *data_text)
{
    const struct aa_profile_claims *cl = &s->profile->claim;
    cJSON *b = cJSON_CreateObject();
    const char *data = "This is protected data";
    bool ok;

    if (b == NULL)
        return NULL;
    if (id->token_kind == AA_TOKEN_AGENT)
        data = "This is protected data (identified via agent token)";
    else if (id->token_kind == AA_TOKEN_AUTH)
        data = "This is protected data (authorized)";
    if (data_text != NULL)
        data = data_text;
    ok =
        cJSON_AddStringToObject(b, "message", "Access granted") != NULL &&
        cJSON_AddStringToObject(b, "data", data) != NULL &&
        cJSON_AddStringToObject(b, "scheme", aa_sigkey_scheme_name(s->profile, id->scheme)) != NULL;
    if (ok && id->scheme == AA_SIGKEY_JWT)
        ok = cJSON_AddStringToObject(b, "token_type", id->token_type) != NULL;
    if (ok)
        ok = cJSON_AddStringToObject(b, "method", req->method) != NULL;
    if (ok && id->scheme == AA_SIGKEY_JWKS && id->level >= AA_AUTH_IDENTIFIED && id->agent != NULL)
        /* the demo's "agent_id" beside "agent" (PROFILE#6.2) */
        ok = cJSON_AddStringToObject(b, cl->agent, id->agent) != NULL &&
             cJSON_AddStringToObject(b, "agent_id", id->agent) != NULL;
    if (ok && id->token_kind == AA_TOKEN_AGENT)
        ok = add_str_or_null(b, cl->agent, id->agent) &&
             add_str_or_null(b, cl->agent_delegate, id->delegate);
    if (ok && id->token_kind == AA_TOKEN_AUTH) {
        ok = add_str_or_null(b, cl->agent, id->agent) &&
             add_str_or_null(b, cl->agent_delegate, id->token.agent_delegate) &&
             add_str_or_null(b, cl->scope, id->token.scope);
        if (ok && id->token.sub != NULL)
            ok = cJSON_AddStringToObject(b, cl->sub, id->token.sub) != NULL;
    }
    if (!ok) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

void res_serve_data(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp, enum res_level level, const char *data)
{
    struct aa_identity id;
    cJSON *body;

    if (res_guard(s, req, resp, level, &id) != AA_OK)
        return;
    body = grant_body(s, req, &id, data);
    if (body == NULL)
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
    else
        ref_send_json(resp, 200, body, 0);
    ref_logf(s, 3, "%s %.*s: granted (scheme=%s agent=%.120s)", req->method, (int)req->path_len,
             req->path, aa_sigkey_scheme_name(s->profile, id.scheme), id.agent ? id.agent : "-");
    cJSON_Delete(body);
    aa_identity_cleanup(&id);
}

static void h_data_hwk(struct aa_ref_server *s, const struct aa_server_request *req,
                       struct aa_server_response *resp)
{
    res_serve_data(s, req, resp, RES_LEVEL_SIGNATURE, NULL);
}

static void h_data_jwks(struct aa_ref_server *s, const struct aa_server_request *req,
                        struct aa_server_response *resp)
{
    res_serve_data(s, req, resp, RES_LEVEL_IDENTITY, NULL);
}

static void h_data_auth(struct aa_ref_server *s, const struct aa_server_request *req,
                        struct aa_server_response *resp)
{
    res_serve_data(s, req, resp, RES_LEVEL_AUTH, NULL);
}

/* ---- POST /resource/token (PROFILE#6.2) --------------------------------------------- */

#define RES_ARQ_MAX_LEN 2048 /* auth_request_url bytes (opaque, never fetched) */

/*
 * Order: the receiver procedure and the identity level first (PROFILE#2.11
 * puts endpoint authorisation, parameters included, at step 10), then the
 * form (content type, repeated parameters), then exactly one of scope /
 * auth_request_url, then the scope against supported_scopes.
 */
static void h_resource_token(struct aa_ref_server *s, const struct aa_server_request *req,
                             struct aa_server_response *resp)
{
    struct resource *r = res_of(s);
    struct aa_identity id;
    struct aa_form f;
    const char *scope, *arq;
    char **toks = NULL;
    size_t n = 0;
    char why[160];
    char *rt = NULL;
    cJSON *out = NULL;
    struct aa_url u;

    if (res_guard(s, req, resp, RES_LEVEL_IDENTITY, &id) != AA_OK)
        return;
    aa_form_init(&f);
    if (ref_form_body(req, resp, &f) != AA_OK)
        goto out;
    scope = aa_form_get(&f, "scope");
    arq = aa_form_get(&f, s->profile->claim.auth_request_url);
    if ((scope == NULL) == (arq == NULL)) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "the form must carry exactly one of scope / auth_request_url, got %s "
                      "(PROFILE#6.2, D-16)",
                      scope == NULL ? "neither" : "both");
        goto out;
    }
    if (scope != NULL) {
        if (scope_split(scope, RES_MAX_SCOPES, &toks, &n, why, sizeof(why)) != AA_OK) {
            ref_send_perr(resp, AA_PERR_INVALID_SCOPE, 0, "%s (PROFILE#6.2)", why);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (!strv_has(r->supported, toks[i])) {
                ref_send_perr(resp, AA_PERR_INVALID_SCOPE, 0,
                              "scope \"%.100s\" is not in supported_scopes (PROFILE#6.2)", toks[i]);
                goto out;
            }
        }
    } else if (arq[0] == '\0' || strlen(arq) > RES_ARQ_MAX_LEN ||
               aa_url_parse(arq, strlen(arq), 0, &u, NULL) != AA_OK) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "auth_request_url must be an http(s) URL of at most %d bytes "
                      "(PROFILE#6.2)",
                      RES_ARQ_MAX_LEN);
        goto out;
    }
    if (mint_resource_token(s, id.agent, id.thumbprint, scope, arq, &rt) != AA_OK ||
        (out = cJSON_CreateObject()) == NULL ||
        cJSON_AddStringToObject(out, "resource_token", rt) == NULL ||
        cJSON_AddStringToObject(out, "auth_server", r->auth_server) == NULL ||
        cJSON_AddNumberToObject(out, "expires_in", (double)r->rt_ttl) == NULL) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot issue the resource token");
        goto out;
    }
    ref_send_token(resp, out);
    ref_logf(s, 3, "issued resource token for agent %.120s jkt %s", id.agent, id.thumbprint);
out:
    cJSON_Delete(out);
    free(rt);
    strv_free(toks);
    aa_form_cleanup(&f);
    aa_identity_cleanup(&id);
}

/* ---- start -------------------------------------------------------------------------- */

static char **strv_dup(const char *const *v, size_t n)
{
    char **r = calloc(n + 1, sizeof(*r));
    size_t k = 0;

    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL)
            continue;
        if ((r[k++] = aa_strdup(v[i])) == NULL) {
            strv_free(r);
            return NULL;
        }
    }
    return r;
}

static int check_identifier(const struct aa_ref_server *s, const char *what, const char *id,
                            struct aa_diag *d)
{
    if (id == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#1", "resource: %s is not set", what);
    if (aa_http_identifier_check(id, !s->strict_https, NULL, d) != AA_OK)
        return aa_diag_prefix(d, "resource %s", what);
    return AA_OK;
}

/* F7: the downstream is R2's identifier (then "/data-auth" is appended) or
 * the full URL of its protected endpoint. */
static int setup_downstream(struct resource *r, const char *cfg, struct aa_diag *d)
{
    struct aa_url u;
    struct aa_buf b;

    if (aa_url_parse(cfg, strlen(cfg), 0, &u, d) != AA_OK)
        return aa_diag_prefix(d, "resource downstream");
    aa_buf_init(&b, AA_URL_MAX_LEN);
    aa_buf_adds(&b, cfg);
    if (u.path.len == 0 && !u.has_query)
        aa_buf_adds(&b, RES_PATH_AUTH);
    if (b.err != AA_OK) {
        aa_buf_free(&b);
        return aa_fail(d, AA_E_LIMIT, "PROFILE#6.7", "resource downstream URL too long");
    }
    r->downstream = aa_buf_detach(&b, NULL);
    return r->downstream ? AA_OK : aa_fail(d, AA_E_NOMEM, "PROFILE#6.7", "out of memory");
}

static int setup(struct aa_ref_server *s, struct resource *r,
                 const struct aa_ref_resource_config *cfg, struct aa_diag *d)
{
    struct aa_nonce_cache_opts no;
    char why[160];
    char **chal = NULL;
    size_t n_chal = 0;
    int rc;

    if ((rc = check_identifier(s, "auth_server", cfg->auth_server, d)) != AA_OK)
        return rc;
    if ((r->auth_server = aa_strdup(cfg->auth_server)) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.2", "out of memory");
    if (cfg->trusted_auth_servers != NULL && cfg->n_trusted_auth_servers > 0) {
        for (size_t i = 0; i < cfg->n_trusted_auth_servers; i++)
            if (cfg->trusted_auth_servers[i] != NULL &&
                (rc = check_identifier(s, "trusted auth server", cfg->trusted_auth_servers[i],
                                       d)) != AA_OK)
                return rc;
        r->trusted = strv_dup(cfg->trusted_auth_servers, cfg->n_trusted_auth_servers);
    } else {
        r->trusted = strv_dup((const char *const *)&r->auth_server, 1);
    }
    if (r->trusted == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#4.5", "out of memory");
    rc = scope_split(cfg->supported_scopes ? cfg->supported_scopes : s->profile->default_scope,
                     RES_MAX_SCOPES, &r->supported, &r->n_supported, why, sizeof(why));
    if (rc != AA_OK)
        return aa_fail(d, rc == AA_E_NOMEM ? rc : AA_E_INVAL, "PROFILE#3",
                       "resource supported_scopes: %s", rc == AA_E_NOMEM ? "out of memory" : why);
    if ((r->scope = aa_strdup(cfg->scope ? cfg->scope : s->profile->default_scope)) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.2", "out of memory");
    rc = scope_split(r->scope, RES_MAX_SCOPES, &chal, &n_chal, why, sizeof(why));
    for (size_t i = 0; rc == AA_OK && i < n_chal; i++)
        if (!strv_has(r->supported, chal[i])) {
            aa_snprintf(why, sizeof(why), "\"%.64s\" is not in supported_scopes", chal[i]);
            rc = AA_E_INVAL;
        }
    strv_free(chal);
    if (rc != AA_OK)
        return aa_fail(d, rc == AA_E_NOMEM ? rc : AA_E_INVAL, "PROFILE#6.2",
                       "resource challenge scope: %s", why);
    if (cfg->resource_token_ttl < 0)
        return aa_fail(d, AA_E_INVAL, "PROFILE#10", "resource token lifetime %lld < 0 (D-5)",
                       (long long)cfg->resource_token_ttl);
    r->rt_ttl = cfg->resource_token_ttl ? cfg->resource_token_ttl : AA_REF_RESOURCE_TOKEN_TTL;
    r->require_nonce = cfg->require_nonce_on_post;
    if (cfg->downstream != NULL && (rc = setup_downstream(r, cfg->downstream, d)) != AA_OK)
        return rc;
    if (cfg->public_limit > AA_REF_PUBLIC_LIMIT_MAX)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.2",
                       "resource public_limit %u is over %u unsigned requests per minute (R-12)",
                       cfg->public_limit, AA_REF_PUBLIC_LIMIT_MAX);
    if (cfg->public_limit > 0 && (r->pub = res_public_new(cfg->public_limit)) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.2", "cannot create the /public counters");
    memset(&no, 0, sizeof(no));
    no.capacity = RES_NONCE_CAPACITY;
    no.retention = s->profile->time.nonce_retention;
    no.clock = ref_aa_clock(s);
    if ((r->nonces = aa_nonce_cache_new(&no)) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#2.9", "cannot create the replay cache");
    if ((rc = ref_server_disc(s, &r->disc, d)) != AA_OK)
        return rc;
    aa_key_resolver_disc(&r->resolver, r->disc);
    if (aa_snprintf(r->well_known, sizeof(r->well_known), "/.well-known/%s",
                    s->profile->wk.resource) != AA_OK)
        return aa_fail(d, AA_E_LIMIT, "PROFILE#3", "well-known path too long");
    return AA_OK;
}

int aa_ref_resource_start(const struct aa_ref_resource_config *cfg, struct aa_ref_server **out,
                          struct aa_diag *d)
{
    struct aa_ref_server *s = NULL;
    struct aa_ref_common common;
    struct resource *r;
    int rc;

    if (cfg == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.2", "resource: NULL argument");
    *out = NULL;
    common = cfg->c;
    /* F7: a /data-exchange handler waits for R2 and AS2, which may call
     * back into this server for its metadata and JWKS; more threads keep
     * those answers from queueing behind the waiting handler. */
    if (cfg->downstream != NULL && common.threads == 0)
        common.threads = 4;
    if ((rc = ref_server_new(AA_REF_RESOURCE, &common, &s, d)) != AA_OK)
        goto fail;
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        rc = aa_fail(d, AA_E_NOMEM, "PROFILE#6.2", "out of memory");
        goto fail;
    }
    s->role_ctx = r;
    s->role_free = resource_free;
    if ((rc = setup(s, r, cfg, d)) != AA_OK)
        goto fail;
    if ((rc = ref_server_route(s, "GET", r->well_known, ref_h_metadata, "metadata")) != AA_OK ||
        (rc = ref_server_route(s, "GET", AA_REF_PATH_JWKS, ref_h_jwks, "jwks")) != AA_OK ||
        (rc = ref_server_route(s, "GET", RES_PATH_HWK, h_data_hwk, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "POST", RES_PATH_HWK, h_data_hwk, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "GET", RES_PATH_JWKS, h_data_jwks, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "POST", RES_PATH_JWKS, h_data_jwks, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "GET", RES_PATH_AUTH, h_data_auth, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "POST", RES_PATH_AUTH, h_data_auth, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "POST", RES_PATH_TOKEN, h_resource_token, "resource token")) !=
            AA_OK ||
        (r->downstream != NULL && (rc = ref_server_route(s, "GET", RES_PATH_EXCHANGE,
                                                         res_h_exchange, "exchange")) != AA_OK) ||
        (r->pub != NULL &&
         (rc = ref_server_route(s, "GET", RES_PATH_PUBLIC, res_h_public, NULL)) != AA_OK)) {
        rc = aa_fail(d, rc, "PROFILE#6.2", "resource: cannot register routes");
        goto fail;
    }
    if ((rc = ref_server_listen(s, d)) != AA_OK)
        goto fail;
    if ((rc = render_metadata(s, r)) != AA_OK) {
        rc = aa_fail(d, rc, "PROFILE#3", "resource: cannot render metadata");
        goto fail;
    }
    ref_server_ready(s);
    *out = s;
    return AA_OK;
fail:
    aa_ref_stop(s);
    return rc;
}
