/*
 * client_meta.c: what the client fetches to trust what it is given:
 * well-known metadata and JWKS (PROFILE#3), a key resolver over them for
 * the token validators, and the client-side checks of agent tokens
 * (PROFILE#7.6 TEST 1, CL-03) and auth tokens (CL-04).
 *
 * Design choice: the client does not use the shared discovery cache
 * (aa_discovery.h). Every document it reads must appear in its own step
 * log and transcript, so it fetches with its own HTTP client through
 * cl_exchange: GET, never a redirect (CL-06), 64 KiB (CL-05), 200 and a
 * JSON object, the identifier member equal to the identifier (D-13).
 * Documents are cached by URL for the client's life; an unknown kid
 * refetches the JWKS once.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_int.h"

/* aa_strerror() reaches the tables through weak references, which do not
 * pull client.c and errors.c out of their archives; these strong ones do,
 * so a program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_client_strerror,
                                                                             aa_http_strerror};

/* ---- the document cache -------------------------------------------------------- */

void cl_cache_free(struct aa_client *c)
{
    for (size_t i = 0; i < c->n_docs; i++) {
        free(c->docs[i].url);
        cJSON_Delete(c->docs[i].doc);
    }
    c->n_docs = 0;
    for (size_t i = 0; i < c->n_as; i++) {
        free(c->as[i]->id);
        free(c->as[i]->m.issuer);
        free(c->as[i]->m.jwks_uri);
        free(c->as[i]->m.agent_token_endpoint);
        free(c->as[i]->m.agent_auth_endpoint);
        free(c->as[i]);
    }
    c->n_as = 0;
}

static const cJSON *cache_get(const struct aa_client *c, const char *url)
{
    for (size_t i = 0; i < c->n_docs; i++)
        if (strcmp(c->docs[i].url, url) == 0)
            return c->docs[i].doc;
    return NULL;
}

static void cache_drop(struct aa_client *c, const char *url)
{
    for (size_t i = 0; i < c->n_docs; i++) {
        if (strcmp(c->docs[i].url, url) != 0)
            continue;
        free(c->docs[i].url);
        cJSON_Delete(c->docs[i].doc);
        memmove(&c->docs[i], &c->docs[i + 1], (c->n_docs - i - 1) * sizeof(c->docs[0]));
        c->n_docs--;
        return;
    }
}

/* Takes ownership of |doc| (freed on failure). */
static int cache_put(struct aa_client *c, const char *url, cJSON *doc)
{
    char *u = aa_strdup(url);

    if (u == NULL) {
        cJSON_Delete(doc);
        return AA_E_NOMEM;
    }
    cache_drop(c, url);
    if (c->n_docs == AA_CLIENT_MAX_CACHE) {
        free(c->docs[0].url);
        cJSON_Delete(c->docs[0].doc);
        memmove(&c->docs[0], &c->docs[1], (c->n_docs - 1) * sizeof(c->docs[0]));
        c->n_docs--;
    }
    c->docs[c->n_docs].url = u;
    c->docs[c->n_docs].doc = doc;
    c->n_docs++;
    return AA_OK;
}

/* The media type of |ct| is |media| (parameters ignored). */
static bool media_is(const char *ct, const char *media)
{
    size_t n = strlen(media);

    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, media, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

int cl_get_json(struct aa_client *c, enum aa_client_step_kind kind, const char *url, bool jwks,
                bool fresh, const cJSON **doc, struct aa_diag *d)
{
    struct cl_exchange x;
    struct aa_client_step *st = NULL;
    struct aa_diag jd;
    const char *ct;
    cJSON *tree = NULL;
    int rc;

    *doc = NULL;
    if (!fresh && (*doc = cache_get(c, url)) != NULL)
        return AA_OK;
    if ((rc = cl_url_acceptable(c, url, jwks ? "JWKS URL" : "metadata URL", d)) != AA_OK)
        return rc;
    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.method = "GET";
    x.url = url;
    x.meta = true;
    if ((rc = cl_exchange(c, &x, &st, d)) != AA_OK)
        return rc;
    /* PROFILE#3: redirects are not followed (CL-06), only 200 counts. */
    if (st->resp.status >= 300 && st->resp.status < 400)
        return cl_step_fail(st,
                            aa_fail(d, AA_E_DISC_REDIRECT, "PROFILE#3",
                                    "%.200s answered %ld (redirect to %.200s); redirects are "
                                    "not followed (CL-06)",
                                    url, st->resp.status, st->location ? st->location : "?"),
                            d);
    if (st->resp.status != 200)
        return cl_step_fail(st,
                            aa_fail(d, AA_E_DISC_STATUS, "PROFILE#3",
                                    "%.200s answered %ld, 200 required", url, st->resp.status),
                            d);
    ct = aa_http_headers_get(&st->resp.headers, c->p->hdr.content_type);
    if (!media_is(ct, c->p->json_content_type) &&
        !(jwks && media_is(ct, "application/jwk-set+json")))
        return cl_step_fail(st,
                            aa_fail(d, AA_E_DISC_CONTENT_TYPE, "PROFILE#3",
                                    "%.200s: Content-Type \"%.80s\" is not application/json", url,
                                    ct ? ct : "(none)"),
                            d);
    aa_diag_clear(&jd);
    if ((rc = aa_json_parse(st->resp.body, st->resp.body_len, NULL, &tree, &jd)) != AA_OK) {
        char msg[AA_DIAG_MSG_MAX];
        aa_diag_format(&jd, msg, sizeof(msg));
        return cl_step_fail(st,
                            aa_fail(d, AA_E_DISC_JSON, "PROFILE#3",
                                    "%.200s: not a strict JSON object: %s", url, msg),
                            d);
    }
    if ((rc = cache_put(c, url, tree)) != AA_OK)
        return aa_fail(d, rc, "PROFILE#3", "out of memory");
    *doc = cache_get(c, url);
    return AA_OK;
}

/* The identifier member a well-known document carries (PROFILE#3). */
static const char *id_member(const struct aa_profile *p, const char *wk)
{
    if (strcmp(wk, p->wk.agent) == 0)
        return p->md.agent;
    if (strcmp(wk, p->wk.resource) == 0)
        return p->md.resource;
    if (strcmp(wk, p->wk.issuer) == 0)
        return p->md.issuer;
    return NULL;
}

int cl_metadata(struct aa_client *c, const char *id, const char *wk, const cJSON **doc,
                struct aa_diag *d)
{
    const char *member = id_member(c->p, wk), *v;
    struct aa_buf url;
    int rc;

    *doc = NULL;
    if (member == NULL)
        return aa_fail(d, AA_E_DISC_WELL_KNOWN, "PROFILE#3",
                       "\"%.60s\" is not an AAuth well-known name", wk);
    if ((rc = cl_identifier_ok(c, id, "identifier", d)) != AA_OK)
        return rc;
    aa_buf_init(&url, AA_URL_MAX_LEN);
    if ((rc = aa_http_well_known_url(id, wk, &url)) != AA_OK) {
        aa_buf_free(&url);
        return aa_fail(d, rc, "PROFILE#1", "cannot build the metadata URL of %.200s", id);
    }
    rc = cl_get_json(c, AA_CSTEP_METADATA, url.p, false, false, doc, d);
    if (rc == AA_OK) {
        v = aa_json_str(*doc, member);
        /* D-13: the document must name the identifier it was fetched for. */
        if (v == NULL || strcmp(v, id) != 0) {
            rc = aa_fail(d, v ? AA_E_DISC_ID_MISMATCH : AA_E_DISC_MEMBER, "PROFILE#3",
                         "%.200s: \"%s\" is %s%.200s%s, not %.200s (D-13)", url.p, member,
                         v ? "\"" : "", v ? v : "missing", v ? "\"" : "", id);
            cache_drop(c, url.p);
            *doc = NULL;
        } else if (aa_json_str(*doc, c->p->md.jwks_uri) == NULL) {
            rc = aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3", "%.200s: no string \"%s\"", url.p,
                         c->p->md.jwks_uri);
            cache_drop(c, url.p);
            *doc = NULL;
        }
    }
    aa_buf_free(&url);
    return rc;
}

/* ---- key resolver over recorded fetches ----------------------------------------- */

static int find_in_jwks(const cJSON *doc, const char *kid, struct aa_jwk *out, bool *found,
                        struct aa_diag *d)
{
    struct aa_jwks set;
    struct aa_diag jd;
    const struct aa_jwk *k;
    int rc;

    *found = false;
    memset(&set, 0, sizeof(set));
    aa_diag_clear(&jd);
    if ((rc = aa_jwks_from_cjson(doc, &set, &jd)) != AA_OK) {
        char msg[AA_DIAG_MSG_MAX];
        aa_diag_format(&jd, msg, sizeof(msg));
        return aa_fail(d, AA_E_DISC_JWKS, "PROFILE#3", "JWKS rejected: %s", msg);
    }
    k = aa_jwks_find(&set, kid);
    if (k != NULL) {
        *found = true;
        rc = aa_jwk_copy(out, k);
    }
    aa_jwks_cleanup(&set);
    return rc;
}

static int resolve_metadata_key(void *ctx, const char *id, const char *wk, const char *kid,
                                struct aa_jwk *out, struct aa_diag *d)
{
    struct aa_client *c = ctx;
    const cJSON *meta = NULL, *jwks = NULL;
    const char *uri;
    bool found = false;
    bool was_cached;
    char *jwks_url;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = cl_metadata(c, id, wk, &meta, d)) != AA_OK)
        return rc;
    uri = aa_json_str(meta, c->p->md.jwks_uri);
    if ((jwks_url = aa_strdup(uri)) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#3", "out of memory");
    was_cached = cache_get(c, jwks_url) != NULL;
    rc = cl_get_json(c, AA_CSTEP_JWKS, jwks_url, true, false, &jwks, d);
    if (rc == AA_OK)
        rc = find_in_jwks(jwks, kid, out, &found, d);
    /* PROFILE#3: an unknown kid triggers one refetch. */
    if (rc == AA_OK && !found && was_cached) {
        rc = cl_get_json(c, AA_CSTEP_JWKS, jwks_url, true, true, &jwks, d);
        if (rc == AA_OK)
            rc = find_in_jwks(jwks, kid, out, &found, d);
    }
    if (rc == AA_OK && !found)
        rc = aa_fail(d, AA_E_DISC_KID_UNKNOWN, "PROFILE#3", "JWKS %.200s has no kid \"%.80s\"",
                     jwks_url, kid);
    free(jwks_url);
    return rc;
}

static int resolve_jwks_url_key(void *ctx, const char *url, const char *kid, struct aa_jwk *out,
                                struct aa_diag *d)
{
    struct aa_client *c = ctx;
    const cJSON *jwks = NULL;
    bool found = false;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = cl_get_json(c, AA_CSTEP_JWKS, url, true, false, &jwks, d);
    if (rc == AA_OK)
        rc = find_in_jwks(jwks, kid, out, &found, d);
    if (rc == AA_OK && !found)
        rc = aa_fail(d, AA_E_DISC_KID_UNKNOWN, "PROFILE#3", "JWKS %.200s has no kid \"%.80s\"", url,
                     kid);
    return rc;
}

void cl_resolver(struct aa_client *c, struct aa_key_resolver *r)
{
    r->metadata_key = resolve_metadata_key;
    r->jwks_url_key = resolve_jwks_url_key;
    r->ctx = c;
}

/* ---- token checks ------------------------------------------------------------------ */

static char *dup_claim(const struct aa_jwt *t, const char *name)
{
    const char *v = aa_jwt_claim_str(t, name);
    return v ? aa_strdup(v) : NULL;
}

/* |out| from an already-checked token (claims copied, cnf key referenced). */
static int fill_token(const struct aa_client *c, const struct aa_jwt *t, enum aa_token_kind kind,
                      const struct aa_jwk *cnf, struct aa_validated_token *out)
{
    const struct aa_profile_claims *cl = &c->p->claim;
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(t->claims, cl->aud);

    memset(out, 0, sizeof(*out));
    out->kind = kind;
    out->iss = dup_claim(t, cl->iss);
    out->sub = dup_claim(t, cl->sub);
    out->aud_str = cJSON_IsString(aud) ? aa_strdup(aud->valuestring) : NULL;
    out->agent = dup_claim(t, cl->agent);
    out->agent_delegate = dup_claim(t, cl->agent_delegate);
    out->agent_jkt = dup_claim(t, cl->agent_jkt);
    out->scope = dup_claim(t, cl->scope);
    out->auth_request_url = dup_claim(t, cl->auth_request_url);
    (void)aa_jwt_claim_int(t, cl->exp, &out->exp);
    (void)aa_jwt_claim_int(t, cl->iat, &out->iat);
    (void)aa_jwt_claim_int(t, cl->nbf, &out->nbf);
    out->header = cJSON_Duplicate(t->header, 1);
    out->claims = cJSON_Duplicate(t->claims, 1);
    if (cnf != NULL) {
        out->has_cnf = true;
        if (aa_jwk_copy(&out->cnf, cnf) != AA_OK || aa_jwk_thumbprint(cnf, out->cnf_jkt) != AA_OK) {
            aa_validated_token_cleanup(out);
            return AA_E_NOMEM;
        }
    }
    if (out->header == NULL || out->claims == NULL) {
        aa_validated_token_cleanup(out);
        return AA_E_NOMEM;
    }
    return AA_OK;
}

/* The token policy both checks start from: the client's profile, clock,
 * dev mode and key discovery (|r| is the caller's and must outlive |pol|). */
static void token_policy(struct aa_client *c, struct aa_token_policy *pol,
                         struct aa_key_resolver *r)
{
    memset(pol, 0, sizeof(*pol));
    cl_resolver(c, r);
    pol->profile = c->p;
    pol->clock = c->clock;
    pol->resolver = r;
    pol->dev_mode = c->dev_mode;
}

/* "<what>: <inner message>" as an AA_E_CLIENT_TOKEN finding. */
static int token_fail(struct aa_diag *d, const char *ref, const char *what,
                      const struct aa_diag *inner)
{
    char msg[AA_DIAG_MSG_MAX];

    aa_diag_format(inner, msg, sizeof(msg));
    return aa_fail(d, AA_E_CLIENT_TOKEN, ref, "%s: %s", what, msg);
}

/* aud is |want| or an array holding it. */
static bool aud_has(const cJSON *aud, const char *want)
{
    const cJSON *it;

    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    if (!cJSON_IsArray(aud))
        return false;
    cJSON_ArrayForEach(it, aud)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
            return true;
    }
    return false;
}

/* Shared front part: parse, typ, exp in the future, cnf = our key. */
static int check_common(struct aa_client *c, const char *token, const char *typ, const char *what,
                        const char *ref, struct aa_jwt *t, struct aa_jwk *cnf, struct aa_diag *d)
{
    struct aa_diag in;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    int64_t exp, now = cl_now(c);
    int rc;

    aa_diag_clear(&in);
    memset(cnf, 0, sizeof(*cnf));
    if (token == NULL)
        return aa_fail(d, AA_E_CLIENT_TOKEN, ref, "%s: missing", what);
    if ((rc = aa_jwt_parse(token, strlen(token), t, &in)) != AA_OK)
        return token_fail(d, ref, what, &in);
    if ((rc = aa_jwt_check_typ(t, typ, &in)) != AA_OK) {
        rc = token_fail(d, ref, what, &in);
        goto fail;
    }
    if (!aa_jwt_claim_int(t, c->p->claim.exp, &exp)) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, "PROFILE#4.2", "%s: no integer exp", what);
        goto fail;
    }
    if (exp <= now) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, "PROFILE#4.1",
                     "%s: exp %lld is not in the future (now %lld)", what, (long long)exp,
                     (long long)now);
        goto fail;
    }
    if ((rc = aa_jwt_cnf_jwk(t, cnf, &in)) != AA_OK) {
        rc = token_fail(d, ref, what, &in);
        goto fail;
    }
    if ((rc = aa_jwk_thumbprint(cnf, jkt)) != AA_OK) {
        rc = aa_fail(d, rc, ref, "%s: cannot compute the cnf.jwk thumbprint", what);
        goto fail;
    }
    /* D-27: keys are the same iff their RFC 7638 thumbprints are. */
    if (strcmp(jkt, c->jkt) != 0) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, ref,
                     "%s: cnf.jwk thumbprint %s is not this client's key %s", what, jkt, c->jkt);
        goto fail;
    }
    return AA_OK;
fail:
    aa_jwk_cleanup(cnf);
    aa_jwt_cleanup(t);
    return rc;
}

int aa_client_check_agent_token(struct aa_client *c, const char *token,
                                struct aa_validated_token *out, struct aa_diag *d)
{
    const char *ref = "PROFILE#7.6";
    const char *what = "agent token";
    struct aa_jwt t;
    struct aa_jwk cnf;
    const char *v;
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL)
        return aa_fail(d, AA_E_INVAL, ref, "NULL client");
    if ((rc = check_common(c, token, c->p->typ.agent, what, ref, &t, &cnf, d)) != AA_OK)
        return rc;
    v = aa_jwt_claim_str(&t, c->p->claim.iss);
    if (c->agent_id != NULL && (v == NULL || strcmp(v, c->agent_id) != 0)) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, ref, "%s: iss %s%.200s%s is not the agent %.200s", what,
                     v ? "\"" : "", v ? v : "missing", v ? "\"" : "", c->agent_id);
        goto out;
    }
    v = aa_jwt_claim_str(&t, c->p->claim.sub);
    if (v == NULL || strcmp(v, c->sub) != 0) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, ref, "%s: sub %s%.200s%s is not the requested %.200s",
                     what, v ? "\"" : "", v ? v : "missing", v ? "\"" : "", c->sub);
        goto out;
    }
    if (!c->no_sig_check) {
        /* PROFILE#4.3 steps 1-11, for the JWS under the agent's JWKS. aud is
         * the resources' business, not the delegate's: not checked. */
        struct aa_token_policy pol;
        struct aa_key_resolver r;
        struct aa_validated_token vt;
        struct aa_aauth_result res;

        token_policy(c, &pol, &r);
        pol.faults = AA_FAULT_IGNORE_AUD;
        rc = aa_aauth_validate_agent_token(&pol, token, strlen(token), &vt, &res);
        if (rc != AA_OK) {
            rc = token_fail(d, ref, what, &res.diag);
            goto out;
        }
        aa_validated_token_cleanup(&vt);
    }
    if (out != NULL)
        rc = fill_token(c, &t, AA_TOKEN_AGENT, &cnf, out);
out:
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&t);
    return rc;
}

int aa_client_check_auth_token(struct aa_client *c, const char *token, const char *as_id,
                               const char *expected_aud, struct aa_validated_token *out,
                               struct aa_diag *d)
{
    const char *ref = "PROFILE#9";
    const char *what = "auth token";
    const struct aa_profile_claims *cl;
    struct aa_jwt t;
    struct aa_jwk cnf;
    const cJSON *aud;
    const char *iss, *aud_id;
    const char *agent = NULL;
    bool self_is_agent;
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL)
        return aa_fail(d, AA_E_INVAL, ref, "NULL client");
    cl = &c->p->claim;
    if ((rc = check_common(c, token, c->p->typ.auth, what, ref, &t, &cnf, d)) != AA_OK)
        return rc;
    iss = aa_jwt_claim_str(&t, cl->iss);
    if (iss == NULL || (as_id != NULL && strcmp(iss, as_id) != 0)) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, "PROFILE#4.2", "%s: iss %s%.200s%s is not %.200s", what,
                     iss ? "\"" : "", iss ? iss : "missing", iss ? "\"" : "",
                     as_id ? as_id : "an identifier");
        goto out;
    }
    aud = cJSON_GetObjectItemCaseSensitive(t.claims, cl->aud);
    if (expected_aud != NULL ? !aud_has(aud, expected_aud) : !cJSON_IsString(aud)) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, "PROFILE#4.2", "%s: aud does not name %.200s", what,
                     expected_aud ? expected_aud : "one resource");
        goto out;
    }
    aud_id = expected_aud ? expected_aud : aud->valuestring;
    /* F5: a token whose audience is this agent itself has no agent claim. */
    if (aa_client_agent_id(c) != NULL)
        agent = aa_client_agent_id(c);
    self_is_agent = agent != NULL && strcmp(aud_id, agent) == 0;
    if (aa_jwt_claim_str(&t, cl->agent) == NULL && !self_is_agent) {
        rc = aa_fail(d, AA_E_CLIENT_TOKEN, "PROFILE#4.2", "%s: no agent claim", what);
        goto out;
    }
    if (!c->no_sig_check) {
        struct aa_token_policy pol;
        struct aa_key_resolver r;
        struct aa_validated_token vt;
        struct aa_aauth_result res;
        const char *trusted[2] = {iss, NULL};

        token_policy(c, &pol, &r);
        pol.receiver = aud_id;
        pol.trusted_issuers = trusted;
        pol.self_is_agent = self_is_agent;
        rc = aa_aauth_validate_auth_token(&pol, token, strlen(token), &vt, &res);
        if (rc != AA_OK) {
            rc = token_fail(d, ref, what, &res.diag);
            goto out;
        }
        aa_validated_token_cleanup(&vt);
    }
    if (out != NULL)
        rc = fill_token(c, &t, AA_TOKEN_AUTH, &cnf, out);
out:
    aa_jwk_cleanup(&cnf);
    aa_jwt_cleanup(&t);
    return rc;
}
