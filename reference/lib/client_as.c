/*
 * client_as.c: the client's conversations with agent servers and auth
 * servers: agent tokens (PROFILE#6.1) and key rotation (PROFILE#7.6
 * TEST 4), the auth server's metadata and agent_token_endpoint
 * (PROFILE#6.3: auth, code, refresh, exchange), the scripted or manual
 * user of PROFILE#6.4/#6.6, resource tokens (PROFILE#6.2) and the grants
 * that result.
 *
 * Design choice: every token handed to the client is validated for the
 * client's own key before it is stored (CL-03, CL-04), and a failed step
 * is marked on the step itself (rc + diag), so a report shows which
 * exchange broke and why without re-deriving it.
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "client_int.h"

/* aa_strerror() reaches the tables through weak references, which do not
 * pull client.c and errors.c out of their archives; these strong ones do,
 * so a program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_client_strerror,
                                                                             aa_http_strerror};

#define PATH_DELEGATE_TOKEN "/delegate/token" /* PROFILE#6.1 */

/* ---- grants ------------------------------------------------------------------------ */

void cl_grant_free(struct aa_client_grant *g)
{
    if (g == NULL)
        return;
    free(g->resource);
    free(g->origin);
    free(g->auth_server);
    free(g->auth_token);
    free(g->refresh_token);
    free(g->scope);
    aa_validated_token_cleanup(&g->claims);
    free(g);
}

struct aa_client_grant *cl_grant_mut(struct aa_client *c, const struct aa_client_grant *g)
{
    for (size_t i = 0; i < c->n_grants; i++)
        if (c->grants[i] == g)
            return c->grants[i];
    return NULL;
}

const struct aa_client_grant *aa_client_grant_find(const struct aa_client *c, const char *resource)
{
    if (c == NULL || resource == NULL)
        return NULL;
    for (size_t i = 0; i < c->n_grants; i++)
        if (strcmp(c->grants[i]->resource, resource) == 0)
            return c->grants[i];
    return NULL;
}

const struct aa_client_grant *aa_client_grant_for_url(const struct aa_client *c, const char *url)
{
    const struct aa_client_grant *hit = NULL;
    char *origin = NULL;

    if (c == NULL || url == NULL || cl_origin_of(url, &origin) != AA_OK)
        return NULL;
    for (size_t i = 0; i < c->n_grants && hit == NULL; i++) {
        const struct aa_client_grant *g = c->grants[i];
        if ((g->origin != NULL && strcmp(g->origin, origin) == 0) ||
            strcmp(g->resource, origin) == 0)
            hit = g;
    }
    free(origin);
    return hit;
}

size_t aa_client_grant_count(const struct aa_client *c)
{
    return c->n_grants;
}

const struct aa_client_grant *aa_client_grant_at(const struct aa_client *c, size_t i)
{
    return i < c->n_grants ? c->grants[i] : NULL;
}

void aa_client_grant_drop(struct aa_client *c, const struct aa_client_grant *g)
{
    for (size_t i = 0; c != NULL && i < c->n_grants; i++) {
        if (c->grants[i] != g)
            continue;
        cl_grant_free(c->grants[i]);
        memmove(&c->grants[i], &c->grants[i + 1], (c->n_grants - i - 1) * sizeof(c->grants[0]));
        c->n_grants--;
        return;
    }
}

/* Replace string |*dst| by a copy of |src| (NULL allowed). */
static int set_str(char **dst, const char *src)
{
    char *n = NULL;

    if (src != NULL && (n = aa_strdup(src)) == NULL)
        return AA_E_NOMEM;
    free(*dst);
    *dst = n;
    return AA_OK;
}

/*
 * Store a validated auth token: update the grant for the same resource in
 * place (pointers to it stay valid), else add one. |vt| is moved in.
 * |refresh| NULL keeps an existing refresh token only when |keep_refresh|.
 */
static int grant_store(struct aa_client *c, const char *as_id, const char *origin,
                       const char *token, const char *refresh, bool keep_refresh,
                       int64_t expires_in, struct aa_validated_token *vt,
                       const struct aa_client_grant **out, struct aa_diag *d)
{
    const char *resource = vt->aud_str;
    struct aa_client_grant *g = NULL;
    bool fresh = false;
    int rc = AA_OK;

    if (resource == NULL) {
        /* aud as an array: the grant is keyed on the audience we asked for */
        aa_validated_token_cleanup(vt);
        return aa_fail(d, AA_E_CLIENT_TOKEN, "PROFILE#4.2", "auth token aud is not one string");
    }
    g = (struct aa_client_grant *)aa_client_grant_find(c, resource);
    if (g == NULL) {
        if (c->n_grants == AA_CLIENT_MAX_GRANTS) {
            aa_validated_token_cleanup(vt);
            return aa_fail(d, AA_E_LIMIT, "PROFILE#7", "more than %d grants", AA_CLIENT_MAX_GRANTS);
        }
        if ((g = calloc(1, sizeof(*g))) == NULL || (g->resource = aa_strdup(resource)) == NULL) {
            free(g);
            aa_validated_token_cleanup(vt);
            return aa_fail(d, AA_E_NOMEM, "PROFILE#7", "out of memory");
        }
        fresh = true;
    }
    if (set_str(&g->auth_server, as_id) != AA_OK || set_str(&g->auth_token, token) != AA_OK ||
        set_str(&g->scope, vt->scope) != AA_OK ||
        (origin != NULL && set_str(&g->origin, origin) != AA_OK) ||
        ((refresh != NULL || !keep_refresh) && set_str(&g->refresh_token, refresh) != AA_OK))
        rc = AA_E_NOMEM;
    g->exp = vt->exp;
    g->expires_in = expires_in;
    memcpy(g->cnf_jkt, vt->cnf_jkt, sizeof(g->cnf_jkt));
    aa_validated_token_cleanup(&g->claims);
    g->claims = *vt;
    memset(vt, 0, sizeof(*vt));
    if (fresh) {
        if (rc != AA_OK) {
            cl_grant_free(g);
            return aa_fail(d, rc, "PROFILE#7", "out of memory");
        }
        c->grants[c->n_grants++] = g;
    }
    if (rc != AA_OK)
        return aa_fail(d, rc, "PROFILE#7", "out of memory");
    if (out != NULL)
        *out = g;
    return AA_OK;
}

/* ---- agent tokens ------------------------------------------------------------------- */

/* {"kty":"OKP","crv":"Ed25519","x":...,"kid":...}: the seed's member order. */
static cJSON *cnf_jwk_json(const struct aa_client *c)
{
    struct aa_buf x;
    cJSON *o;

    if (c->key.kty != AA_KTY_OKP)
        return aa_jwk_to_cjson(&c->key, false);
    aa_buf_init(&x, 256);
    o = cJSON_CreateObject();
    if (o == NULL || aa_jwk_public_member(&c->key, "x", &x) != AA_OK || x.p == NULL ||
        cJSON_AddStringToObject(o, "kty", "OKP") == NULL ||
        cJSON_AddStringToObject(o, "crv", c->key.crv) == NULL ||
        cJSON_AddStringToObject(o, "x", x.p) == NULL ||
        (c->key.kid[0] != '\0' && cJSON_AddStringToObject(o, "kid", c->key.kid) == NULL)) {
        cJSON_Delete(o);
        o = NULL;
    }
    aa_buf_free(&x);
    return o;
}

int aa_client_agent_token_obtain(struct aa_client *c, struct aa_diag *d)
{
    const char *ref = "PROFILE#6.1";
    struct aa_client_step *st = NULL;
    struct aa_validated_token vt;
    struct aa_sign_cred hwk;
    struct cl_exchange x;
    struct aa_buf url, body;
    cJSON *req = NULL, *jwk;
    const char *tok;
    char *tok_copy = NULL;
    int64_t expires_in = 0;
    int rc;

    if (c == NULL || c->identity != AA_CLIENT_DELEGATE)
        return aa_fail(d, AA_E_INVAL, ref, "agent tokens are for delegates");
    aa_buf_init(&url, AA_URL_MAX_LEN);
    aa_buf_init(&body, 64 * 1024);
    memset(&vt, 0, sizeof(vt));
    rc = AA_E_NOMEM;
    req = cJSON_CreateObject();
    jwk = cnf_jwk_json(c);
    if (req == NULL || jwk == NULL || cJSON_AddStringToObject(req, "sub", c->sub) == NULL ||
        !cJSON_AddItemToObject(req, "cnf_jwk", jwk)) {
        cJSON_Delete(jwk);
        aa_fail(d, rc, ref, "out of memory");
        goto out;
    }
    if (c->agent_token_aud != NULL &&
        cJSON_AddStringToObject(req, "aud", c->agent_token_aud) == NULL) {
        aa_fail(d, rc, ref, "out of memory");
        goto out;
    }
    aa_buf_printf(&url, "%s%s", c->agent_server, PATH_DELEGATE_TOKEN);
    if ((rc = aa_json_print(req, &body)) != AA_OK || url.err != AA_OK) {
        aa_fail(d, AA_E_NOMEM, ref, "out of memory");
        goto out;
    }
    memset(&x, 0, sizeof(x));
    x.kind = AA_CSTEP_AGENT_TOKEN;
    x.method = "POST";
    x.url = url.p;
    x.content_type = c->p->json_content_type;
    x.body = body.p;
    x.body_len = body.len;
    if (c->sign_delegate_request) {
        /* PROFILE#6.1: the delegate MAY sign with hwk; the key must be cnf_jwk. */
        memset(&hwk, 0, sizeof(hwk));
        hwk.scheme = AA_SIGKEY_HWK;
        x.cred = &hwk;
    }
    if ((rc = cl_exchange(c, &x, &st, d)) != AA_OK)
        goto out;
    if (st->resp.status != 200) {
        rc = cl_step_fail(st,
                          aa_fail(d, AA_E_CLIENT_STATUS, ref, "POST %s answered %ld%s%s%s%.200s",
                                  url.p, st->resp.status, st->error ? " " : "",
                                  st->error ? st->error : "", st->error_description ? ": " : "",
                                  st->error_description ? st->error_description : ""),
                          d);
        goto out;
    }
    tok = aa_json_str(st->json, "agent_token");
    if (tok == NULL || !aa_json_int(st->json, "expires_in", &expires_in) || expires_in <= 0) {
        rc = cl_step_fail(st,
                          aa_fail(d, AA_E_CLIENT_RESPONSE, ref,
                                  "POST %s: 200 without a JSON object holding agent_token and a "
                                  "positive integer expires_in",
                                  url.p),
                          d);
        goto out;
    }
    if ((rc = aa_client_check_agent_token(c, tok, &vt, d)) != AA_OK) {
        cl_step_fail(st, rc, d);
        goto out;
    }
    if ((tok_copy = aa_strdup(tok)) == NULL) {
        aa_validated_token_cleanup(&vt);
        rc = aa_fail(d, AA_E_NOMEM, ref, "out of memory");
        goto out;
    }
    free(c->agent_token);
    c->agent_token = tok_copy;
    if (c->has_agent_claims)
        aa_validated_token_cleanup(&c->agent_claims);
    c->agent_claims = vt;
    c->has_agent_claims = true;
    cl_update_redirect(c);
    rc = AA_OK;
out:
    cJSON_Delete(req);
    aa_buf_free(&url);
    aa_buf_free(&body);
    return rc;
}

/* The kid after |kid|: "delegate-key-1" -> "delegate-key-2", "k" -> "k-2". */
static void next_kid(const char *kid, char *out, size_t cap)
{
    size_t n = strlen(kid), i = n;
    int64_t v = 0;

    while (i > 0 && kid[i - 1] >= '0' && kid[i - 1] <= '9')
        i--;
    if (i < n && i > 0 && kid[i - 1] == '-' && n - i < 12 &&
        aa_parse_i64(kid + i, n - i, &v) == AA_OK &&
        aa_snprintf(out, cap, "%.*s%lld", (int)i, kid, (long long)(v + 1)) == AA_OK)
        return;
    if (aa_snprintf(out, cap, "%s-2", kid[0] ? kid : "delegate-key") != AA_OK)
        aa_snprintf(out, cap, "delegate-key-2");
}

int aa_client_rotate_key(struct aa_client *c, const struct aa_jwk *new_key, struct aa_diag *d)
{
    struct aa_jwk old;
    char old_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char kid[AA_JWK_KID_MAX];
    int rc;

    if (c == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#7.6", "NULL client");
    old = c->key;
    memcpy(old_jkt, c->jkt, sizeof(old_jkt));
    memset(&c->key, 0, sizeof(c->key));
    if (new_key != NULL) {
        if (!new_key->is_private || new_key->kty != AA_KTY_OKP ||
            strcmp(new_key->crv, "Ed25519") != 0)
            rc = aa_fail(d, AA_E_INVAL, "PROFILE#2.10",
                         "the new key must be a private Ed25519 key (D-12)");
        else
            rc = aa_jwk_copy(&c->key, new_key);
    } else {
        next_kid(old.kid, kid, sizeof(kid));
        rc = aa_jwk_generate(AA_KTY_OKP, kid, &c->key);
    }
    if (rc == AA_OK)
        rc = aa_jwk_thumbprint(&c->key, c->jkt);
    if (rc == AA_OK) {
        cl_note(c, "key rotation: %s -> %s", old_jkt, c->jkt);
        /* PROFILE#7.6 TEST 4: a new agent token with the same sub. */
        if (c->identity == AA_CLIENT_DELEGATE)
            rc = aa_client_agent_token_obtain(c, d);
    } else if (d != NULL && d->code == AA_OK) {
        aa_fail(d, rc, "PROFILE#7.6", "cannot set up the new key");
    }
    if (rc != AA_OK) {
        aa_jwk_cleanup(&c->key);
        c->key = old;
        memcpy(c->jkt, old_jkt, sizeof(old_jkt));
        return rc;
    }
    aa_jwk_cleanup(&old);
    return AA_OK;
}

/* ---- the auth server ------------------------------------------------------------------- */

int aa_client_as_metadata(struct aa_client *c, const char *as_id,
                          const struct aa_client_as_meta **out, struct aa_diag *d)
{
    const struct aa_profile_metadata *md = &c->p->md;
    const cJSON *doc = NULL;
    const char *tep, *aep;
    struct cl_as *as;
    int rc;

    *out = NULL;
    for (size_t i = 0; i < c->n_as; i++) {
        if (strcmp(c->as[i]->id, as_id) == 0) {
            *out = &c->as[i]->m;
            return AA_OK;
        }
    }
    if ((rc = cl_identifier_ok(c, as_id, "auth server", d)) != AA_OK)
        return rc;
    if ((rc = cl_metadata(c, as_id, c->p->wk.issuer, &doc, d)) != AA_OK)
        return rc;
    tep = aa_json_str(doc, md->agent_token_endpoint);
    aep = aa_json_str(doc, md->agent_auth_endpoint);
    if (tep == NULL)
        return aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3", "%.200s metadata: no string \"%s\"", as_id,
                       md->agent_token_endpoint);
    if ((rc = cl_url_acceptable(c, tep, md->agent_token_endpoint, d)) != AA_OK ||
        (aep != NULL && (rc = cl_url_acceptable(c, aep, md->agent_auth_endpoint, d)) != AA_OK))
        return rc;
    if (c->n_as == AA_CLIENT_MAX_CACHE)
        return aa_fail(d, AA_E_LIMIT, "PROFILE#3", "more than %d auth servers",
                       AA_CLIENT_MAX_CACHE);
    if ((as = calloc(1, sizeof(*as))) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#3", "out of memory");
    as->id = aa_strdup(as_id);
    as->m.issuer = aa_strdup(as_id);
    as->m.jwks_uri = aa_strdup(aa_json_str(doc, md->jwks_uri));
    as->m.agent_token_endpoint = aa_strdup(tep);
    as->m.agent_auth_endpoint = aep ? aa_strdup(aep) : NULL;
    if (as->id == NULL || as->m.issuer == NULL || as->m.jwks_uri == NULL ||
        as->m.agent_token_endpoint == NULL || (aep != NULL && as->m.agent_auth_endpoint == NULL)) {
        free(as->id);
        free(as->m.issuer);
        free(as->m.jwks_uri);
        free(as->m.agent_token_endpoint);
        free(as->m.agent_auth_endpoint);
        free(as);
        return aa_fail(d, AA_E_NOMEM, "PROFILE#3", "out of memory");
    }
    c->as[c->n_as++] = as;
    *out = &as->m;
    return AA_OK;
}

void aa_client_token_response_cleanup(struct aa_client_token_response *r)
{
    if (r == NULL)
        return;
    free(r->auth_token);
    free(r->refresh_token);
    free(r->request_token);
    free(r->error);
    free(r->error_description);
    memset(r, 0, sizeof(*r));
}

static char *jdup(const cJSON *o, const char *name)
{
    const char *v = aa_json_str(o, name);
    return v ? aa_strdup(v) : NULL;
}

/* "... answered 400 invalid_grant: description" as AA_E_CLIENT_STATUS. */
static int status_fail(struct aa_client_step *st, const char *ref, const char *what,
                       struct aa_diag *d)
{
    return cl_step_fail(st,
                        aa_fail(d, AA_E_CLIENT_STATUS, ref, "%s answered %ld%s%.80s%s%.200s", what,
                                st->resp.status, st->error ? " " : "", st->error ? st->error : "",
                                st->error_description ? ": " : "",
                                st->error_description ? st->error_description : ""),
                        d);
}

/* A form-encoded POST to a token endpoint (the AS's, PROFILE#6.3, or a
 * resource's, PROFILE#6.2): |x| is reset, so the caller adds the
 * credential and signing options afterwards. |form| must outlive |x|. */
static void form_post(struct cl_exchange *x, const struct aa_client *c,
                      enum aa_client_step_kind kind, const char *url, const struct aa_buf *form)
{
    memset(x, 0, sizeof(*x));
    x->kind = kind;
    x->method = "POST";
    x->url = url;
    x->content_type = c->p->form_content_type;
    x->body = form->p ? form->p : "";
    x->body_len = form->len;
}

int aa_client_token_request(struct aa_client *c, const char *as_id,
                            const struct aa_client_token_params *tp,
                            const struct aa_client_send_opts *so,
                            struct aa_client_token_response *out, struct aa_diag *d)
{
    const char *ref = "PROFILE#6.3";
    const struct aa_client_as_meta *m = NULL;
    struct aa_client_step *st = NULL;
    struct aa_sign_cred cred;
    struct cl_exchange x;
    struct aa_buf form;
    const char *typ = NULL;
    enum aa_client_cred which;
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL || as_id == NULL || tp == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, ref, "aa_client_token_request: NULL argument");
    if ((rc = aa_client_as_metadata(c, as_id, &m, d)) != AA_OK)
        return rc;
    aa_buf_init(&form, AA_FORM_MAX_LEN);
    if (tp->request_type != NULL)
        aa_form_add(&form, "request_type", tp->request_type);
    if (tp->resource_token != NULL)
        aa_form_add(&form, "resource_token", tp->resource_token);
    if (tp->scope != NULL)
        aa_form_add(&form, "scope", tp->scope);
    if (tp->auth_request_url != NULL)
        aa_form_add(&form, "auth_request_url", tp->auth_request_url);
    if (tp->code != NULL)
        aa_form_add(&form, "code", tp->code);
    if (tp->refresh_token != NULL)
        aa_form_add(&form, "refresh_token", tp->refresh_token);
    if (tp->redirect_uri != NULL)
        aa_form_add(&form, "redirect_uri", tp->redirect_uri);
    for (size_t i = 0; tp->extra != NULL && tp->extra[i] != NULL && tp->extra[i + 1] != NULL;
         i += 2)
        aa_form_add(&form, tp->extra[i], tp->extra[i + 1]);
    if (form.err != AA_OK) {
        rc = aa_fail(d, form.err, ref, "cannot build the form body");
        goto out;
    }
    form_post(&x, c, AA_CSTEP_TOKEN, m->agent_token_endpoint, &form);
    x.key = so ? so->key : NULL;
    x.sopts = so ? so->sign : NULL;
    x.http_flags = so ? so->http_flags : 0;
    if (so != NULL && so->cred_override != NULL) {
        x.cred = so->cred_override;
    } else if (so == NULL || so->cred != AA_CRED_NONE) {
        /* D-15, D-20: the AS wants the identity credential by default. */
        which = so && so->cred != AA_CRED_AUTO ? so->cred : AA_CRED_IDENTITY;
        if ((rc = cl_cred_build(c, which, so ? so->token : NULL, x.url, &cred, &typ, NULL, d)) !=
            AA_OK)
            goto out;
        x.cred = &cred;
        x.token_typ = typ;
    }
    if ((rc = cl_exchange(c, &x, &st, d)) != AA_OK)
        goto out;
    out->step = st;
    out->status = st->resp.status;
    out->error = jdup(st->json, "error");
    out->error_description = jdup(st->json, "error_description");
    if (st->resp.status != 200) {
        rc = status_fail(st, ref, "agent_token_endpoint", d);
        goto out;
    }
    out->auth_token = jdup(st->json, "auth_token");
    out->refresh_token = jdup(st->json, "refresh_token");
    out->request_token = jdup(st->json, "request_token");
    if (cJSON_GetObjectItemCaseSensitive(st->json, "expires_in") != NULL &&
        !aa_json_int(st->json, "expires_in", &out->expires_in)) {
        rc = cl_step_fail(st,
                          aa_fail(d, AA_E_CLIENT_RESPONSE, ref,
                                  "agent_token_endpoint: expires_in is not an integer"),
                          d);
        goto out;
    }
    if (out->auth_token == NULL && out->request_token == NULL) {
        rc = cl_step_fail(st,
                          aa_fail(d, AA_E_CLIENT_RESPONSE, ref,
                                  "agent_token_endpoint: 200 without auth_token or "
                                  "request_token"),
                          d);
        goto out;
    }
    rc = AA_OK;
out:
    aa_buf_free(&form);
    return rc;
}

/* ---- consent (PROFILE#6.4, #6.6) --------------------------------------------------------- */

void aa_client_consent_result_cleanup(struct aa_client_consent_result *r)
{
    if (r == NULL)
        return;
    free(r->url);
    free(r->state);
    free(r->location);
    free(r->code);
    free(r->error);
    free(r->error_description);
    free(r->returned_state);
    memset(r, 0, sizeof(*r));
}

/* code, state, error from a query string or a pasted line. */
static int read_redirect_params(const char *q, size_t n, struct aa_client_consent_result *out,
                                struct aa_diag *d)
{
    struct aa_form f;
    const char *v;
    int rc;

    aa_form_init(&f);
    if ((rc = aa_form_parse(q, n, AA_FORM_REJECT_DUPLICATES, &f, d)) != AA_OK)
        return rc;
    rc = AA_E_NOMEM;
    if (((v = aa_form_get(&f, "code")) != NULL && (out->code = aa_strdup(v)) == NULL) ||
        ((v = aa_form_get(&f, "state")) != NULL && (out->returned_state = aa_strdup(v)) == NULL) ||
        ((v = aa_form_get(&f, "error")) != NULL && (out->error = aa_strdup(v)) == NULL) ||
        ((v = aa_form_get(&f, "error_description")) != NULL &&
         (out->error_description = aa_strdup(v)) == NULL))
        goto out;
    rc = AA_OK;
out:
    aa_form_cleanup(&f);
    return rc;
}

/* The outcome once code/state/error are known. */
static int judge_redirect(struct aa_client_step *st, struct aa_client_consent_result *out,
                          struct aa_diag *d)
{
    if (out->returned_state == NULL || strcmp(out->returned_state, out->state) != 0)
        return cl_step_fail(st,
                            aa_fail(d, AA_E_CLIENT_STATE, "PROFILE#6.4",
                                    "state %s%.80s%s returned, %s sent",
                                    out->returned_state ? "\"" : "",
                                    out->returned_state ? out->returned_state : "missing",
                                    out->returned_state ? "\"" : "", out->state),
                            d);
    if (out->error != NULL)
        return cl_step_fail(st,
                            aa_fail(d,
                                    strcmp(out->error, "access_denied") == 0 ? AA_E_CLIENT_DENIED
                                                                             : AA_E_CLIENT_CONSENT,
                                    "PROFILE#6.4", "authorization response error=%.80s%s%.200s",
                                    out->error, out->error_description ? ": " : "",
                                    out->error_description ? out->error_description : ""),
                            d);
    if (out->code == NULL || out->code[0] == '\0')
        return cl_step_fail(
            st,
            aa_fail(d, AA_E_CLIENT_CONSENT, "PROFILE#6.4", "authorization response without code"),
            d);
    return AA_OK;
}

/* Location must be redirect_uri followed by its query (PROFILE#6.4). */
static int location_params(struct aa_client_step *st, const char *redirect_uri,
                           struct aa_client_consent_result *out, struct aa_diag *d)
{
    const char *loc = st->location;
    size_t n = strlen(redirect_uri);
    char sep = strchr(redirect_uri, '?') ? '&' : '?';
    const char *q;
    int rc;

    if (loc == NULL)
        return cl_step_fail(st,
                            aa_fail(d, AA_E_CLIENT_CONSENT, "PROFILE#6.4",
                                    "consent answered %ld without Location", st->resp.status),
                            d);
    if ((out->location = aa_strdup(loc)) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.4", "out of memory");
    if (strncmp(loc, redirect_uri, n) != 0 || loc[n] != sep)
        return cl_step_fail(st,
                            aa_fail(d, AA_E_CLIENT_CONSENT, "PROFILE#6.4",
                                    "Location %.200s is not under redirect_uri %.200s", loc,
                                    redirect_uri),
                            d);
    q = loc + n + 1;
    if ((rc = read_redirect_params(q, strcspn(q, "#"), out, d)) != AA_OK)
        return cl_step_fail(st, rc, d);
    return judge_redirect(st, out, d);
}

/* A relative or absolute Location resolved against |base| when it stays on
 * the same origin; NULL otherwise (the scripted browser goes nowhere else). */
static char *same_origin_location(const char *base, const char *loc)
{
    char *bo = NULL, *lo = NULL, *r = NULL;
    struct aa_buf b;

    if (loc == NULL || cl_origin_of(base, &bo) != AA_OK)
        return NULL;
    if (loc[0] == '/' && loc[1] != '/') {
        aa_buf_init(&b, AA_URL_MAX_LEN);
        aa_buf_printf(&b, "%s%s", bo, loc);
        r = b.err == AA_OK ? aa_buf_detach(&b, NULL) : NULL;
    } else if (cl_origin_of(loc, &lo) == AA_OK && strcmp(lo, bo) == 0) {
        r = aa_strdup(loc);
    }
    free(bo);
    free(lo);
    return r;
}

/* The name=value of the first Set-Cookie of |st|, or NULL. */
static char *cookie_of(const struct aa_client_step *st)
{
    const char *sc = aa_http_headers_get(&st->resp.headers, "Set-Cookie");
    return sc ? aa_strndup(sc, strcspn(sc, ";")) : NULL;
}

static int browser_form(struct aa_client *c, enum aa_client_step_kind kind, const char *url,
                        const char *what, const struct aa_buf *form, const char *cookie,
                        struct aa_client_step **st, struct aa_diag *d)
{
    struct cl_exchange x;

    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.what = what;
    x.role = AA_CLIENT_BROWSER_ROLE;
    x.method = form ? "POST" : "GET";
    x.url = url;
    x.cookie = cookie;
    if (form != NULL) {
        x.content_type = c->p->form_content_type;
        x.body = form->p ? form->p : "";
        x.body_len = form->len;
    }
    return cl_exchange(c, &x, st, d);
}

static void form_base(struct aa_buf *f, const char *request_token, const char *redirect_uri,
                      const char *state)
{
    aa_form_add(f, "request_token", request_token);
    aa_form_add(f, "redirect_uri", redirect_uri);
    aa_form_add(f, "state", state);
}

static int consent_auto(struct aa_client *c, const char *endpoint, const char *request_token,
                        const char *redirect_uri, const struct aa_client_user *user,
                        struct aa_client_consent_result *out, struct aa_diag *d)
{
    const char *ref = "PROFILE#6.6";
    const char *username = user && user->username ? user->username : c->username;
    const char *password = user && user->password ? user->password : c->password;
    bool deny = user ? user->deny : c->deny;
    struct aa_client_step *st = NULL;
    struct aa_buf f, what;
    char *cookie = NULL, *next = NULL;
    int rc;

    aa_buf_init(&f, AA_FORM_MAX_LEN);
    aa_buf_init(&what, 512);
    /* 1. the login page */
    if ((rc = browser_form(c, AA_CSTEP_CONSENT_PAGE, out->url, "open the consent page", NULL, NULL,
                           &st, d)) != AA_OK)
        goto out;
    if (st->resp.status != 200) {
        rc = st->resp.status == 400 ? status_fail(st, "PROFILE#6.4", "agent_auth_endpoint", d)
                                    : cl_step_fail(st,
                                                   aa_fail(d, AA_E_CLIENT_CONSENT, ref,
                                                           "agent_auth_endpoint answered %ld, "
                                                           "200 expected",
                                                           st->resp.status),
                                                   d);
        goto out;
    }
    cookie = cookie_of(st);
    /* 2. log in */
    form_base(&f, request_token, redirect_uri, out->state);
    aa_form_add(&f, "action", "login");
    aa_form_add(&f, "username", username);
    aa_form_add(&f, "password", password);
    aa_buf_printf(&what, "log in as %s", username);
    if (f.err != AA_OK || what.err != AA_OK) {
        rc = aa_fail(d, AA_E_NOMEM, ref, "out of memory");
        goto out;
    }
    rc = browser_form(c, AA_CSTEP_LOGIN, endpoint, what.p, &f, cookie, &st, d);
    if (f.p != NULL)
        aa_cleanse(f.p, f.len);
    if (rc != AA_OK)
        goto out;
    if (st->resp.status == 200) {
        rc = cl_step_fail(st,
                          aa_fail(d, AA_E_CLIENT_CONSENT, ref,
                                  "login as %.80s refused (200 with the form again)", username),
                          d);
        goto out;
    }
    if (st->resp.status != 303 && st->resp.status != 302) {
        rc = st->resp.status >= 400
                 ? status_fail(st, ref, "login", d)
                 : cl_step_fail(st,
                                aa_fail(d, AA_E_CLIENT_CONSENT, ref,
                                        "login answered %ld, 303 expected", st->resp.status),
                                d);
        goto out;
    }
    if (cookie == NULL)
        cookie = cookie_of(st);
    /* 3. the consent page the login redirected to (same origin only) */
    next = same_origin_location(endpoint, st->location);
    if (next != NULL) {
        if ((rc = browser_form(c, AA_CSTEP_CONSENT_PAGE, next, "open the consent page", NULL,
                               cookie, &st, d)) != AA_OK)
            goto out;
        if (st->resp.status != 200) {
            rc = cl_step_fail(st,
                              aa_fail(d, AA_E_CLIENT_CONSENT, ref,
                                      "consent page answered %ld, 200 expected", st->resp.status),
                              d);
            goto out;
        }
    }
    /* 4. decide */
    aa_buf_reset(&f);
    form_base(&f, request_token, redirect_uri, out->state);
    aa_form_add(&f, "consent", deny ? "deny" : "grant");
    if (f.err != AA_OK) {
        rc = aa_fail(d, AA_E_NOMEM, ref, "out of memory");
        goto out;
    }
    if ((rc = browser_form(c, AA_CSTEP_CONSENT, endpoint, deny ? "deny consent" : "grant consent",
                           &f, cookie, &st, d)) != AA_OK)
        goto out;
    out->status = st->resp.status;
    if (st->resp.status != 303) {
        rc = st->resp.status >= 400
                 ? status_fail(st, "PROFILE#6.4", "consent", d)
                 : cl_step_fail(st,
                                aa_fail(d, AA_E_CLIENT_CONSENT, "PROFILE#6.4",
                                        "consent answered %ld, 303 expected", st->resp.status),
                                d);
        goto out;
    }
    /* Read code/state/error from Location; never follow it (PROFILE#6.6). */
    rc = location_params(st, redirect_uri, out, d);
out:
    aa_buf_free(&f);
    aa_buf_free(&what);
    free(cookie);
    free(next);
    return rc;
}

static int consent_manual(struct aa_client *c, struct aa_client_consent_result *out,
                          struct aa_diag *d)
{
    char *line = calloc(1, AA_CLIENT_CODE_MAX);
    const char *q;
    int rc;

    if (line == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.6", "out of memory");
    cl_note(c, "manual consent: %s", out->url);
    rc = c->prompt(c->prompt_ctx, out->url, line, AA_CLIENT_CODE_MAX);
    if (rc != AA_OK) {
        free(line);
        return aa_fail(d, rc, "PROFILE#6.6", "manual consent: no input");
    }
    q = strchr(line, '?');
    if (q != NULL || strchr(line, '=') != NULL) {
        /* a callback URL or its query: code, state, error as redirected */
        q = q ? q + 1 : line;
        rc = read_redirect_params(q, strcspn(q, "#"), out, d);
        if (rc == AA_OK && out->returned_state == NULL && out->code != NULL && out->error == NULL)
            out->returned_state = aa_strdup(out->state); /* pasted without state */
        if (rc == AA_OK)
            rc = judge_redirect(NULL, out, d);
    } else {
        /* the bare code: the person vouches for the state */
        out->code = aa_strdup(line);
        out->returned_state = aa_strdup(out->state);
        rc = out->code && out->returned_state
                 ? AA_OK
                 : aa_fail(d, AA_E_NOMEM, "PROFILE#6.6", "out of memory");
    }
    aa_cleanse(line, AA_CLIENT_CODE_MAX);
    free(line);
    return rc;
}

int aa_client_consent(struct aa_client *c, const char *as_id, const char *request_token,
                      const char *redirect_uri, const struct aa_client_user *user,
                      struct aa_client_consent_result *out, struct aa_diag *d)
{
    const char *ref = "PROFILE#6.6";
    const struct aa_client_as_meta *m = NULL;
    uint8_t rnd[16];
    char state[AA_CLIENT_STATE_LEN + 8];
    struct aa_buf url;
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL || as_id == NULL || request_token == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, ref, "aa_client_consent: NULL argument");
    if (redirect_uri == NULL && (redirect_uri = c->redirect_uri) == NULL)
        return aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#6.3",
                       "consent needs a redirect_uri (no agent identity)");
    if ((rc = aa_client_as_metadata(c, as_id, &m, d)) != AA_OK)
        return rc;
    if (m->agent_auth_endpoint == NULL)
        return aa_fail(d, AA_E_CLIENT_CONSENT, "PROFILE#3",
                       "%.200s metadata has no agent_auth_endpoint", as_id);
    if ((rc = aa_random(rnd, sizeof(rnd))) != AA_OK ||
        (rc = aa_b64_encode(rnd, sizeof(rnd), AA_B64_URL, false, state, sizeof(state), NULL)) !=
            AA_OK)
        return aa_fail(d, AA_E_INTERNAL, ref, "cannot make a state value");
    /* PROFILE#6.4: GET agent_auth_endpoint?request_token&redirect_uri&state */
    aa_buf_init(&url, AA_URL_MAX_LEN);
    aa_buf_adds(&url, m->agent_auth_endpoint);
    aa_buf_addc(&url, strchr(m->agent_auth_endpoint, '?') ? '&' : '?');
    {
        struct aa_buf q;
        aa_buf_init(&q, AA_URL_MAX_LEN);
        aa_form_add(&q, "request_token", request_token);
        aa_form_add(&q, "redirect_uri", redirect_uri);
        aa_form_add(&q, "state", state);
        if (q.err == AA_OK)
            aa_buf_add(&url, q.p, q.len);
        else
            url.err = q.err;
        aa_buf_free(&q);
    }
    if (url.err != AA_OK) {
        aa_buf_free(&url);
        return aa_fail(d, AA_E_LIMIT, ref, "the consent URL is too long");
    }
    out->url = aa_buf_detach(&url, NULL);
    out->state = aa_strdup(state);
    if (out->url == NULL || out->state == NULL)
        return aa_fail(d, AA_E_NOMEM, ref, "out of memory");
    if (c->consent == AA_CLIENT_CONSENT_MANUAL)
        return consent_manual(c, out, d);
    return consent_auto(c, m->agent_auth_endpoint, request_token, redirect_uri, user, out, d);
}

/* ---- auth, code, refresh, exchange -------------------------------------------------------- */

/* The resource token's iss, unverified (the AS verifies it): the aud the
 * auth token must carry. NULL when it cannot be read. */
static char *rt_issuer(const char *rt)
{
    cJSON *claims = NULL;
    char *iss = NULL;

    if (aa_client_peek_claims(rt, &claims, NULL) == AA_OK) {
        const char *v = aa_json_str(claims, "iss");
        iss = v ? aa_strdup(v) : NULL;
    }
    cJSON_Delete(claims);
    return iss;
}

/* Validate and keep the auth token of |tr|. */
static int accept_auth_token(struct aa_client *c, const char *as_id, const char *origin,
                             const char *expected_aud, struct aa_client_token_response *tr,
                             bool keep_refresh, const struct aa_client_grant **out,
                             struct aa_diag *d)
{
    struct aa_validated_token vt;
    int rc;

    if (tr->auth_token == NULL)
        return cl_step_fail((struct aa_client_step *)tr->step,
                            aa_fail(d, AA_E_CLIENT_RESPONSE, "PROFILE#6.3",
                                    "agent_token_endpoint: 200 without auth_token"),
                            d);
    rc = aa_client_check_auth_token(c, tr->auth_token, as_id, expected_aud, &vt, d);
    if (rc != AA_OK)
        return cl_step_fail((struct aa_client_step *)tr->step, rc, d);
    return grant_store(c, as_id, origin, tr->auth_token, tr->refresh_token, keep_refresh,
                       tr->expires_in, &vt, out, d);
}

int aa_client_redeem_code(struct aa_client *c, const char *as_id, const char *code,
                          const char *redirect_uri, const char *expected_aud,
                          const struct aa_client_grant **out, struct aa_diag *d)
{
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (c == NULL || code == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.3", "aa_client_redeem_code: NULL argument");
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "code";
    tp.code = code;
    tp.redirect_uri = redirect_uri ? redirect_uri : c->redirect_uri;
    rc = aa_client_token_request(c, as_id, &tp, NULL, &tr, d);
    if (rc == AA_OK)
        rc = accept_auth_token(c, as_id, NULL, expected_aud, &tr, false, out, d);
    aa_client_token_response_cleanup(&tr);
    return rc;
}

int aa_client_authorize(struct aa_client *c, const char *as_id,
                        const struct aa_client_auth_params *ap, const struct aa_client_grant **out,
                        struct aa_diag *d)
{
    const char *ref = "PROFILE#6.3";
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_client_consent_result cr;
    const struct aa_client_grant *g = NULL;
    char *expected = NULL;
    int n, rc;

    if (out != NULL)
        *out = NULL;
    if (c == NULL || as_id == NULL || ap == NULL)
        return aa_fail(d, AA_E_INVAL, ref, "aa_client_authorize: NULL argument");
    n = (ap->resource_token != NULL) + (ap->scope != NULL) + (ap->auth_request_url != NULL);
    if (n != 1)
        return aa_fail(d, AA_E_INVAL, ref,
                       "exactly one of resource_token, scope, auth_request_url (%d given)", n);
    if (!cl_has_identity(c))
        return aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#6.3",
                       "the AS accepts only identity credentials (D-15); this client is "
                       "pseudonymous");
    if ((rc = cl_identifier_ok(c, as_id, "auth_server", d)) != AA_OK)
        return rc;
    /* The delegate's agent id (redirect_uri) comes from its agent token. */
    if (c->identity == AA_CLIENT_DELEGATE && c->agent_token == NULL &&
        (rc = aa_client_agent_token_obtain(c, d)) != AA_OK)
        return rc;
    if (ap->resource_token != NULL)
        expected = rt_issuer(ap->resource_token);
    else if (aa_client_agent_id(c) != NULL)
        expected = aa_strdup(aa_client_agent_id(c)); /* F5: aud = the agent */
    memset(&tp, 0, sizeof(tp));
    memset(&cr, 0, sizeof(cr));
    tp.request_type = "auth";
    tp.resource_token = ap->resource_token;
    tp.scope = ap->scope;
    tp.auth_request_url = ap->auth_request_url;
    tp.redirect_uri = c->redirect_uri;
    rc = aa_client_token_request(c, as_id, &tp, NULL, &tr, d);
    if (rc != AA_OK)
        goto out;
    if (tr.auth_token != NULL) {
        rc = accept_auth_token(c, as_id, ap->origin, expected, &tr, false, &g, d);
        goto out;
    }
    /* PROFILE#6.3: consent needed -> the user, then request_type=code. */
    if ((rc = aa_client_consent(c, as_id, tr.request_token, NULL, NULL, &cr, d)) != AA_OK)
        goto out;
    if ((rc = aa_client_redeem_code(c, as_id, cr.code, NULL, expected, &g, d)) != AA_OK)
        goto out;
    if (ap->origin != NULL) {
        struct aa_client_grant *mg = cl_grant_mut(c, g);
        if (mg != NULL && set_str(&mg->origin, ap->origin) != AA_OK)
            rc = aa_fail(d, AA_E_NOMEM, ref, "out of memory");
    }
out:
    if (rc == AA_OK && out != NULL)
        *out = g;
    aa_client_consent_result_cleanup(&cr);
    aa_client_token_response_cleanup(&tr);
    free(expected);
    return rc;
}

int aa_client_refresh(struct aa_client *c, const struct aa_client_grant *g, struct aa_diag *d)
{
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_client_grant *mg;
    char *resource = NULL, *as_id = NULL;
    int rc;

    if (c == NULL || (mg = cl_grant_mut(c, g)) == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.3",
                       "aa_client_refresh: not a grant of this client");
    if (mg->refresh_token == NULL)
        return aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#6.3",
                       "the grant for %.200s has no refresh token", mg->resource);
    /* Copies: the grant is rewritten in place on success. */
    resource = aa_strdup(mg->resource);
    as_id = aa_strdup(mg->auth_server);
    if (resource == NULL || as_id == NULL) {
        free(resource);
        free(as_id);
        return aa_fail(d, AA_E_NOMEM, "PROFILE#6.3", "out of memory");
    }
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "refresh";
    tp.refresh_token = mg->refresh_token;
    /* D-20: signed with the identity credential (the default). */
    rc = aa_client_token_request(c, as_id, &tp, NULL, &tr, d);
    if (rc == AA_OK)
        rc = accept_auth_token(c, as_id, NULL, resource, &tr, true, NULL, d);
    aa_client_token_response_cleanup(&tr);
    free(resource);
    free(as_id);
    return rc;
}

int aa_client_exchange(struct aa_client *c, const char *as_id, const char *resource_token,
                       const char *upstream_token, const struct aa_client_grant **out,
                       struct aa_diag *d)
{
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    struct aa_client_send_opts so;
    char *expected;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (c == NULL || as_id == NULL || resource_token == NULL || upstream_token == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.5", "aa_client_exchange: NULL argument");
    memset(&tp, 0, sizeof(tp));
    memset(&so, 0, sizeof(so));
    tp.request_type = "exchange";
    tp.resource_token = resource_token;
    /* PROFILE#6.5 (D-21): T1 in Signature-Key, signed with our own key. */
    so.cred = AA_CRED_AUTH_TOKEN;
    so.token = upstream_token;
    expected = rt_issuer(resource_token);
    rc = aa_client_token_request(c, as_id, &tp, &so, &tr, d);
    if (rc == AA_OK)
        rc = accept_auth_token(c, as_id, NULL, expected, &tr, false, out, d);
    aa_client_token_response_cleanup(&tr);
    free(expected);
    return rc;
}

/* ---- resource tokens (PROFILE#6.2) --------------------------------------------------------- */

void aa_client_resource_token_cleanup(struct aa_client_resource_token *r)
{
    if (r == NULL)
        return;
    free(r->resource_token);
    free(r->auth_server);
    free(r->error);
    free(r->error_description);
    memset(r, 0, sizeof(*r));
}

int aa_client_resource_token_request(struct aa_client *c, const char *resource_id,
                                     const char *scope, const char *auth_request_url,
                                     struct aa_client_resource_token *out, struct aa_diag *d)
{
    const char *ref = "PROFILE#6.2";
    const cJSON *meta = NULL;
    const char *ep;
    struct aa_client_step *st = NULL;
    struct aa_sign_cred cred;
    struct cl_exchange x;
    struct aa_buf form;
    const char *typ = NULL;
    char *ep_copy = NULL;
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL || resource_id == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, ref, "aa_client_resource_token_request: NULL argument");
    if ((rc = cl_metadata(c, resource_id, c->p->wk.resource, &meta, d)) != AA_OK)
        return rc;
    ep = aa_json_str(meta, c->p->md.resource_token_endpoint);
    if (ep == NULL)
        return aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3", "%.200s metadata: no string \"%s\"",
                       resource_id, c->p->md.resource_token_endpoint);
    if ((rc = cl_url_acceptable(c, ep, c->p->md.resource_token_endpoint, d)) != AA_OK)
        return rc;
    /* the cache may be rewritten by the exchange below */
    if ((ep_copy = aa_strdup(ep)) == NULL)
        return aa_fail(d, AA_E_NOMEM, ref, "out of memory");
    aa_buf_init(&form, AA_FORM_MAX_LEN);
    if (scope != NULL)
        aa_form_add(&form, "scope", scope);
    if (auth_request_url != NULL)
        aa_form_add(&form, "auth_request_url", auth_request_url);
    if (form.err != AA_OK) {
        rc = aa_fail(d, form.err, ref, "cannot build the form body");
        goto out;
    }
    if ((rc = cl_cred_build(c, AA_CRED_IDENTITY, NULL, ep_copy, &cred, &typ, NULL, d)) != AA_OK)
        goto out;
    form_post(&x, c, AA_CSTEP_RESOURCE_TOKEN, ep_copy, &form);
    x.cred = &cred;
    x.token_typ = typ;
    if ((rc = cl_exchange(c, &x, &st, d)) != AA_OK)
        goto out;
    out->step = st;
    out->status = st->resp.status;
    out->error = jdup(st->json, "error");
    out->error_description = jdup(st->json, "error_description");
    if (st->resp.status != 200) {
        rc = status_fail(st, ref, "resource_token_endpoint", d);
        goto out;
    }
    out->resource_token = jdup(st->json, "resource_token");
    out->auth_server = jdup(st->json, "auth_server");
    (void)aa_json_int(st->json, "expires_in", &out->expires_in);
    if (out->resource_token == NULL || out->auth_server == NULL)
        rc = cl_step_fail(st,
                          aa_fail(d, AA_E_CLIENT_RESPONSE, ref,
                                  "resource_token_endpoint: 200 without resource_token and "
                                  "auth_server"),
                          d);
out:
    aa_buf_free(&form);
    free(ep_copy);
    return rc;
}
