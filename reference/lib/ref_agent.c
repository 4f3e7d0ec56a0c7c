/*
 * ref_agent: the reference agent server (PROFILE#1, #3, #6.1).
 *
 *   GET  /.well-known/aauth-agent  metadata: agent, jwks_uri and, always,
 *                                  redirect_uris [{agent}/callback], name,
 *                                  logo_uri, policy_uri, tos_uri, homepage
 *   GET  /jwks.json                the public signing key (kid "key-1")
 *   POST /delegate/token           agent+jwt for a delegate key (D-4)
 *   GET  /callback                 page showing code / state / error
 *   GET  /, /policy, /tos, /logo.svg  the pages the metadata points to
 *
 * /delegate/token processing order (the D-30 pattern of the AS, since
 * PROFILE#6.1 gives none): method (405) -> loopback policy (403) ->
 * Content-Type and a strict JSON object (400) -> the optional hwk
 * signature (401) -> sub, cnf_jwk, aud (400) -> hwk key == cnf_jwk (401)
 * -> issue.
 *
 * Design choice: cnf.jwk in the token is the submitted JSON object itself,
 * duplicated member by member (PROFILE#6.1), never a re-serialisation of
 * the parsed key, so the delegate gets back exactly what it sent
 * (including kid and any other member).
 */
#include <stdlib.h>
#include <string.h>

#include "ref_int.h"

#define AGENT_MAX_AUD 16                   /* aud array entries accepted */
#define AGENT_SUB_MAX_CHARS 255            /* PROFILE#6.1 */
#define AGENT_NONCE_CAPACITY 4096          /* replay cache for hwk-signed requests */
#define AGENT_TTL_MAX ((int64_t)315360000) /* ten years */

struct agent {
    int64_t ttl;
    char *name;
    bool allow_remote;
    char well_known[64]; /* "/.well-known/aauth-agent" (route path) */
    struct aa_nonce_cache *nonces;
};

static struct agent *agent_of(struct aa_ref_server *s)
{
    return s->role_ctx;
}

static void agent_free(void *p)
{
    struct agent *a = p;

    free(a->name);
    aa_nonce_cache_free(a->nonces);
    free(a);
}

void aa_ref_agent_defaults(struct aa_ref_agent_config *c)
{
    memset(c, 0, sizeof(*c));
    c->agent_token_ttl = AA_REF_AGENT_TOKEN_TTL;
    c->name = AA_REF_AGENT_NAME;
}

/* ---- metadata and JWKS ------------------------------------------------------ */

static int add_url(cJSON *o, const char *name, const struct aa_ref_server *s, const char *path)
{
    char *u = ref_id_url(s, path);
    cJSON *v = u ? cJSON_AddStringToObject(o, name, u) : NULL;

    free(u);
    return v ? AA_OK : AA_E_NOMEM;
}

/* PROFILE#3: agent and jwks_uri are required; the user-authorisation
 * members are published always, so F4/F5 work against this agent. */
static int render_metadata(struct aa_ref_server *s, struct agent *a)
{
    const struct aa_profile_metadata *md = &s->profile->md;
    cJSON *m = cJSON_CreateObject(), *ru;
    char *self = NULL, *cb = NULL;
    int rc = AA_E_NOMEM;

    if (m == NULL)
        goto out;
    /* Fault: an identifier member that differs from the origin (MD-01). */
    self = ref_fault(s, AA_REF_FAULT_METADATA_ID_MISMATCH) ? ref_id_url(s, "/") : aa_strdup(s->id);
    cb = ref_id_url(s, AA_REF_PATH_CALLBACK);
    if (self == NULL || cb == NULL || cJSON_AddStringToObject(m, md->agent, self) == NULL ||
        add_url(m, md->jwks_uri, s, AA_REF_PATH_JWKS) != AA_OK)
        goto out;
    if ((ru = cJSON_AddArrayToObject(m, md->redirect_uris)) == NULL ||
        !cJSON_AddItemToArray(ru, cJSON_CreateString(cb)) || cJSON_GetArraySize(ru) != 1)
        goto out;
    if (cJSON_AddStringToObject(m, md->name, a->name) == NULL ||
        add_url(m, md->logo_uri, s, "/logo.svg") != AA_OK ||
        add_url(m, md->policy_uri, s, "/policy") != AA_OK ||
        add_url(m, md->tos_uri, s, "/tos") != AA_OK || add_url(m, md->homepage, s, "/") != AA_OK)
        goto out;
    rc = ref_render_json(m, &s->metadata_json);
out:
    free(self);
    free(cb);
    cJSON_Delete(m);
    return rc;
}

/* ---- pages ------------------------------------------------------------------ */

static void send_page(struct aa_server_response *resp, int status, struct aa_buf *b)
{
    aa_buf_adds(b, "</body></html>\n");
    if (b->err != AA_OK)
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot render the page");
    else
        ref_send_html(resp, status, b->p);
    aa_buf_free(b);
}

/* The end of a consent flow (PROFILE#6.4): the AS redirects the user here
 * with code and state, or error. The page only shows them; the harness
 * reads them from Location and never follows the redirect. */
static void h_callback(struct aa_ref_server *s, const struct aa_server_request *req,
                       struct aa_server_response *resp)
{
    static const char *const shown[] = {"code", "state", "error", "error_description", "error_uri"};
    struct aa_form f;
    struct aa_buf b;
    bool any = false;

    (void)s;
    aa_form_init(&f);
    aa_buf_init(&b, 64 * 1024);
    if (req->query != NULL && aa_form_parse(req->query, req->query_len, 0, &f, NULL) != AA_OK) {
        ref_html_open(&b, "Authorization response");
        aa_buf_adds(&b, "<p>The query string could not be read.</p>\n");
        send_page(resp, 400, &b);
        aa_form_cleanup(&f);
        return;
    }
    ref_html_open(&b, "Authorization response");
    aa_buf_adds(&b, "<dl>\n");
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        for (size_t k = 0; k < f.n; k++) {
            if (f.v[k].name_len != strlen(shown[i]) ||
                memcmp(f.v[k].name, shown[i], f.v[k].name_len) != 0)
                continue;
            aa_buf_printf(&b, "<dt>%s</dt><dd id=\"%s\">", shown[i], shown[i]);
            ref_html_textn(&b, f.v[k].value, f.v[k].value_len);
            aa_buf_adds(&b, "</dd>\n");
            any = true;
            break; /* the first occurrence, as aa_form_get */
        }
    }
    aa_buf_adds(&b, "</dl>\n");
    if (!any)
        aa_buf_adds(&b, "<p>No authorization response parameters.</p>\n");
    send_page(resp, 200, &b);
    aa_form_cleanup(&f);
}

static void h_home(struct aa_ref_server *s, const struct aa_server_request *req,
                   struct aa_server_response *resp)
{
    struct aa_buf b;

    (void)req;
    aa_buf_init(&b, 64 * 1024);
    ref_html_open(&b, agent_of(s)->name);
    aa_buf_adds(&b, "<p>AAuth reference agent server. Identifier: <code>");
    ref_html_text(&b, s->id);
    aa_buf_adds(&b, "</code>.</p>\n");
    send_page(resp, 200, &b);
}

static void h_policy(struct aa_ref_server *s, const struct aa_server_request *req,
                     struct aa_server_response *resp)
{
    struct aa_buf b;

    (void)s;
    (void)req;
    aa_buf_init(&b, 4096);
    ref_html_open(&b, "Privacy policy");
    aa_buf_adds(&b, "<p>This test agent stores no personal data.</p>\n");
    send_page(resp, 200, &b);
}

static void h_tos(struct aa_ref_server *s, const struct aa_server_request *req,
                  struct aa_server_response *resp)
{
    struct aa_buf b;

    (void)s;
    (void)req;
    aa_buf_init(&b, 4096);
    ref_html_open(&b, "Terms of service");
    aa_buf_adds(&b, "<p>For conformance testing only.</p>\n");
    send_page(resp, 200, &b);
}

static void h_logo(struct aa_ref_server *s, const struct aa_server_request *req,
                   struct aa_server_response *resp)
{
    static const char svg[] =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\">"
        "<rect width=\"64\" height=\"64\" rx=\"8\" fill=\"#2b5797\"/>"
        "<text x=\"32\" y=\"42\" font-size=\"28\" text-anchor=\"middle\" fill=\"#fff\">A</text>"
        "</svg>\n";

    (void)s;
    (void)req;
    resp->status = 200;
    if (aa_server_response_header(resp, "Content-Type", "image/svg+xml") != AA_OK ||
        aa_server_response_body(resp, svg, sizeof(svg) - 1) != AA_OK) {
        aa_server_response_cleanup(resp);
        aa_server_response_init(resp);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
    }
}

/* ---- POST /delegate/token ---------------------------------------------------- */

/* Characters, not bytes: the JSON intake guarantees valid UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static bool aud_ok(const cJSON *aud, char *why, size_t cap)
{
    const cJSON *it;
    int n;

    if (cJSON_IsString(aud)) {
        if (aud->valuestring[0] == '\0') {
            aa_snprintf(why, cap, "aud is an empty string");
            return false;
        }
        return true;
    }
    if (!cJSON_IsArray(aud)) {
        aa_snprintf(why, cap, "aud must be a string or an array of strings");
        return false;
    }
    n = cJSON_GetArraySize(aud);
    if (n < 1 || n > AGENT_MAX_AUD) {
        aa_snprintf(why, cap, "aud array has %d entries (1..%d accepted)", n, AGENT_MAX_AUD);
        return false;
    }
    cJSON_ArrayForEach(it, aud)
    {
        if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
            aa_snprintf(why, cap, "aud array entries must be non-empty strings");
            return false;
        }
    }
    return true;
}

/*
 * PROFILE#6.1: a signed request must be signed with scheme=hwk; it is run
 * through the receiver procedure (PROFILE#2.11) with this server's
 * authority. Only hwk can succeed: the resolver refuses every key lookup,
 * so jwks and jwt credentials end as invalid_key / invalid_token.
 */
static int refuse_metadata_key(void *ctx, const char *id, const char *wk, const char *kid,
                               struct aa_jwk *out, struct aa_diag *d)
{
    (void)ctx;
    (void)wk;
    (void)kid;
    (void)out;
    return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#6.1",
                   "Signature-Key: /delegate/token accepts scheme=hwk only (not keys of %.80s)",
                   id);
}

static int refuse_jwks_url_key(void *ctx, const char *url, const char *kid, struct aa_jwk *out,
                               struct aa_diag *d)
{
    (void)ctx;
    (void)kid;
    (void)out;
    return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#6.1",
                   "Signature-Key: /delegate/token accepts scheme=hwk only (not %.80s)", url);
}

static int verify_hwk(struct aa_ref_server *s, const struct aa_server_request *req,
                      struct aa_server_response *resp, char jkt[AA_JWK_THUMBPRINT_LEN + 1])
{
    struct aa_key_resolver resolver = {refuse_metadata_key, refuse_jwks_url_key, NULL};
    struct aa_verify_policy pol;
    struct aa_http_headers hdrs;
    struct aa_verify_request vr;
    struct aa_identity id;
    struct aa_aauth_result res;
    int rc;

    memset(&pol, 0, sizeof(pol));
    memset(&id, 0, sizeof(id));
    pol.profile = s->profile;
    pol.authority = s->authority;
    pol.receiver = s->id;
    pol.clock = ref_aa_clock(s);
    pol.replay = agent_of(s)->nonces;
    pol.resolver = &resolver;
    pol.dev_mode = !s->strict_https;
    /* The verifier's fault switches (accept-expired, skip-replay, ...) are
     * the resource's and the auth server's (their aa_ref_faults roles):
     * the agent server's hwk check of /delegate/token stays strict. */
    pol.faults = 0;
    aa_http_headers_init(&hdrs);
    aa_aauth_result_init(&res);
    rc = ref_verify_request(req, &hdrs, &vr);
    if (rc != AA_OK) {
        aa_http_headers_cleanup(&hdrs);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        return rc;
    }
    rc = aa_aauth_verify(&pol, &vr, &id, &res);
    aa_http_headers_cleanup(&hdrs);
    if (rc != AA_OK) {
        ref_logf(s, 3, "delegate token: signature rejected at %s", res.where);
        ref_send_result(resp, &res, 0);
        return rc;
    }
    if (id.scheme != AA_SIGKEY_HWK) {
        /* Unreachable with the refusing resolver; kept as a guard. */
        aa_identity_cleanup(&id);
        ref_send_perr(resp, AA_PERR_INVALID_KEY, 0,
                      "Signature-Key: /delegate/token accepts scheme=hwk only (PROFILE#6.1)");
        return AA_E_AAUTH_KEY;
    }
    memcpy(jkt, id.thumbprint, AA_JWK_THUMBPRINT_LEN + 1);
    aa_identity_cleanup(&id);
    return AA_OK;
}

/* cnf.jwk of the token: the submitted object, member by member. */
static cJSON *cnf_member(struct aa_ref_server *s, const cJSON *submitted, const char *kid)
{
    cJSON *cnf = cJSON_CreateObject(), *jwk;

    if (cnf == NULL)
        return NULL;
    if (ref_fault(s, AA_REF_FAULT_CNF_MISMATCH)) {
        /* Fault: bind the token to a key nobody holds (TEST 1 cnf check). */
        struct aa_jwk other;
        if (aa_jwk_generate(AA_KTY_OKP, kid ? kid : "", &other) != AA_OK) {
            cJSON_Delete(cnf);
            return NULL;
        }
        jwk = aa_jwk_to_cjson(&other, false);
        aa_jwk_cleanup(&other);
    } else {
        jwk = cJSON_Duplicate(submitted, 1);
    }
    if (jwk == NULL || !cJSON_AddItemToObject(cnf, "jwk", jwk)) {
        cJSON_Delete(jwk);
        cJSON_Delete(cnf);
        return NULL;
    }
    return cnf;
}

static void h_delegate_token(struct aa_ref_server *s, const struct aa_server_request *req,
                             struct aa_server_response *resp)
{
    const struct aa_profile_claims *cl = &s->profile->claim;
    struct agent *a = agent_of(s);
    cJSON *body = NULL, *claims = NULL, *out = NULL, *cnf;
    const cJSON *sub, *jwk_in, *aud;
    struct aa_jwk key = {0};
    struct aa_diag d;
    char hwk_jkt[AA_JWK_THUMBPRINT_LEN + 1] = "";
    char cnf_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char why[160], msg[AA_DIAG_MSG_MAX + 64];
    char *token = NULL;
    bool is_signed;
    int64_t now, exp;
    size_t nsub;
    unsigned flags;

    aa_diag_clear(&d);
    /* PROFILE#6.1: unauthenticated issuance only on loopback. */
    if (!a->allow_remote && !ref_client_is_loopback(req)) {
        ref_send_perr(resp, AA_PERR_ACCESS_DENIED, 0,
                      "delegate tokens are issued to loopback clients only (PROFILE#6.1); "
                      "client %.64s",
                      req->client_addr);
        return;
    }
    if (ref_json_body(req, resp, "PROFILE#6.1", &body) != AA_OK)
        return;
    is_signed = ref_request_is_signed(req);
    if (is_signed && verify_hwk(s, req, resp, hwk_jkt) != AA_OK)
        goto out;

    sub = cJSON_GetObjectItemCaseSensitive(body, "sub");
    if (!cJSON_IsString(sub)) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "sub is %s; a string is required "
                      "(PROFILE#6.1)",
                      sub ? "not a string" : "missing");
        goto out;
    }
    nsub = utf8_chars(sub->valuestring);
    if (nsub < 1 || nsub > AGENT_SUB_MAX_CHARS) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "sub has %zu characters; 1..%d required (PROFILE#6.1)", nsub,
                      AGENT_SUB_MAX_CHARS);
        goto out;
    }
    jwk_in = cJSON_GetObjectItemCaseSensitive(body, "cnf_jwk");
    if (!cJSON_IsObject(jwk_in)) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "cnf_jwk is %s (PROFILE#6.1)",
                      jwk_in ? "not a JSON object" : "missing");
        goto out;
    }
    /* Fault: accept private members (DG-03 must notice). */
    flags = ref_fault(s, AA_REF_FAULT_ACCEPT_PRIVATE_CNF) ? 0 : AA_JWK_PUBLIC_ONLY;
    if (aa_jwk_from_cjson(jwk_in, flags, &key, &d) != AA_OK) {
        aa_diag_format(&d, msg, sizeof(msg));
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "cnf_jwk: %s", msg);
        goto out;
    }
    if (key.kty != AA_KTY_OKP || strcmp(key.crv, "Ed25519") != 0) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "cnf_jwk: only OKP/Ed25519 keys are supported, got %s%s%s (PROFILE#6.1, "
                      "D-12)",
                      key.kty == AA_KTY_EC    ? "EC"
                      : key.kty == AA_KTY_RSA ? "RSA"
                                              : "OKP",
                      key.crv[0] ? "/" : "", key.crv);
        goto out;
    }
    aud = cJSON_GetObjectItemCaseSensitive(body, "aud");
    if (aud != NULL && !aud_ok(aud, why, sizeof(why))) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "%s (PROFILE#6.1)", why);
        goto out;
    }
    if (aa_jwk_thumbprint(&key, cnf_jkt) != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot compute the cnf_jwk thumbprint");
        goto out;
    }
    /* PROFILE#6.1, D-27: the hwk key must be the key being certified. */
    if (is_signed && strcmp(hwk_jkt, cnf_jkt) != 0 &&
        !ref_fault(s, AA_REF_FAULT_IGNORE_HWK_BINDING)) {
        ref_send_perr(resp, AA_PERR_INVALID_SIGNATURE, 0,
                      "hwk key %s is not cnf_jwk %s (PROFILE#6.1)", hwk_jkt, cnf_jkt);
        goto out;
    }

    now = ref_now(s);
    exp = now + a->ttl;
    if (ref_fault(s, AA_REF_FAULT_EXP_BEYOND_EXPIRES_IN))
        exp += 3600;
    claims = cJSON_CreateObject();
    cnf = cnf_member(s, jwk_in, key.kid[0] ? key.kid : NULL);
    if (claims == NULL || cnf == NULL || cJSON_AddStringToObject(claims, cl->iss, s->id) == NULL ||
        cJSON_AddStringToObject(claims, cl->sub, sub->valuestring) == NULL ||
        (aud != NULL && !cJSON_AddItemToObject(claims, cl->aud, cJSON_Duplicate(aud, 1))) ||
        cJSON_AddNumberToObject(claims, cl->exp, (double)exp) == NULL ||
        cJSON_AddNumberToObject(claims, cl->iat, (double)now) == NULL ||
        !cJSON_AddItemToObject(claims, cl->cnf, cnf)) {
        if (cnf != NULL && cJSON_GetObjectItemCaseSensitive(claims, cl->cnf) != cnf)
            cJSON_Delete(cnf);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        goto out;
    }
    if (ref_sign_jwt(s, s->profile->typ.agent, claims, &token) != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "cannot sign the agent token");
        goto out;
    }
    /* Receivers reject tokens over 8 KiB (PROFILE#4.1): refuse to issue one. */
    if (strlen(token) > AA_JWT_MAX_LEN) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "the agent token would be %zu bytes, over %d (PROFILE#4.1); shorten "
                      "cnf_jwk or aud",
                      strlen(token), AA_JWT_MAX_LEN);
        goto out;
    }
    if ((out = cJSON_CreateObject()) == NULL ||
        cJSON_AddStringToObject(out, "agent_token", token) == NULL ||
        cJSON_AddNumberToObject(out, "expires_in", (double)a->ttl) == NULL) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        goto out;
    }
    ref_send_token(resp, out);
    ref_logf(s, 3, "issued agent token sub=\"%.64s\" cnf=%s exp=%lld", sub->valuestring, cnf_jkt,
             (long long)exp);
out:
    aa_jwk_cleanup(&key);
    free(token);
    cJSON_Delete(out);
    cJSON_Delete(claims);
    cJSON_Delete(body);
}

/* ---- start ------------------------------------------------------------------ */

int aa_ref_agent_start(const struct aa_ref_agent_config *cfg, struct aa_ref_server **out,
                       struct aa_diag *d)
{
    struct aa_ref_server *s = NULL;
    struct agent *a;
    struct aa_nonce_cache_opts no;
    int rc;

    if (cfg == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#6.1", "agent server: NULL argument");
    *out = NULL;
    /* Bounded so now + ttl cannot overflow and stays an exact JSON integer. */
    if (cfg->agent_token_ttl < 0 || cfg->agent_token_ttl > AGENT_TTL_MAX)
        return aa_fail(d, AA_E_INVAL, "PROFILE#10",
                       "agent token lifetime %lld outside 0..%lld s (D-5)",
                       (long long)cfg->agent_token_ttl, (long long)AGENT_TTL_MAX);
    if ((rc = ref_server_new(AA_REF_AGENT, &cfg->c, &s, d)) != AA_OK)
        goto fail;
    if ((a = calloc(1, sizeof(*a))) == NULL) {
        rc = aa_fail(d, AA_E_NOMEM, "PROFILE#6.1", "out of memory");
        goto fail;
    }
    s->role_ctx = a;
    s->role_free = agent_free;
    a->ttl = cfg->agent_token_ttl ? cfg->agent_token_ttl : AA_REF_AGENT_TOKEN_TTL;
    a->allow_remote = cfg->allow_remote_delegates;
    a->name = aa_strdup(cfg->name ? cfg->name : AA_REF_AGENT_NAME);
    memset(&no, 0, sizeof(no));
    no.capacity = AGENT_NONCE_CAPACITY;
    no.clock = ref_aa_clock(s);
    a->nonces = aa_nonce_cache_new(&no);
    if (a->name == NULL || a->nonces == NULL ||
        aa_snprintf(a->well_known, sizeof(a->well_known), "/.well-known/%s",
                    s->profile->wk.agent) != AA_OK) {
        rc = aa_fail(d, AA_E_NOMEM, "PROFILE#6.1", "out of memory");
        goto fail;
    }
    if ((rc = ref_server_route(s, "GET", a->well_known, ref_h_metadata, "metadata")) != AA_OK ||
        (rc = ref_server_route(s, "GET", AA_REF_PATH_JWKS, ref_h_jwks, "jwks")) != AA_OK ||
        (rc = ref_server_route(s, "POST", AA_REF_PATH_DELEGATE_TOKEN, h_delegate_token,
                               "delegate token")) != AA_OK ||
        (rc = ref_server_route(s, "GET", AA_REF_PATH_CALLBACK, h_callback, "callback")) != AA_OK ||
        (rc = ref_server_route(s, "GET", "/", h_home, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "GET", "/policy", h_policy, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "GET", "/tos", h_tos, NULL)) != AA_OK ||
        (rc = ref_server_route(s, "GET", "/logo.svg", h_logo, NULL)) != AA_OK) {
        rc = aa_fail(d, rc, "PROFILE#6.1", "agent server: cannot register routes");
        goto fail;
    }
    if ((rc = ref_server_listen(s, d)) != AA_OK)
        goto fail;
    if ((rc = render_metadata(s, a)) != AA_OK) {
        rc = aa_fail(d, rc, "PROFILE#3", "agent server: cannot render metadata");
        goto fail;
    }
    ref_server_ready(s);
    *out = s;
    return AA_OK;
fail:
    aa_ref_stop(s);
    return rc;
}
