/*
 * client.c: the AAuth client object (aa_client.h): configuration, the
 * signing credentials of PROFILE#2.3, the one place where requests are
 * signed and sent (cl_exchange), the step log and the transcript.
 *
 * Design choice: a step owns deep copies of everything that crossed the
 * wire (headers as sent, body, signature base, response), so a caller may
 * keep reading a step after the client moved on (until the log drops it)
 * and the transcript can always be regenerated from the log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "client_int.h"

/* aa_strerror() reaches aa_http_strerror() through a weak reference, which
 * does not pull errors.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_http_strerror};

/* ---- errors -------------------------------------------------------------------- */

const char *aa_client_strerror(int code)
{
    switch (code) {
    case AA_E_CLIENT_STATUS:
        return "AA_E_CLIENT_STATUS: unexpected HTTP status";
    case AA_E_CLIENT_RESPONSE:
        return "AA_E_CLIENT_RESPONSE: response lacks required members";
    case AA_E_CLIENT_TOKEN:
        return "AA_E_CLIENT_TOKEN: token received fails validation";
    case AA_E_CLIENT_INSECURE:
        return "AA_E_CLIENT_INSECURE: refused a non-https (or non-loopback http) URL";
    case AA_E_CLIENT_CHALLENGE:
        return "AA_E_CLIENT_CHALLENGE: Agent-Auth challenge cannot be acted on";
    case AA_E_CLIENT_NO_CREDENTIAL:
        return "AA_E_CLIENT_NO_CREDENTIAL: credential not available";
    case AA_E_CLIENT_LOOP:
        return "AA_E_CLIENT_LOOP: too many challenge rounds";
    case AA_E_CLIENT_CONSENT:
        return "AA_E_CLIENT_CONSENT: consent flow failed";
    case AA_E_CLIENT_DENIED:
        return "AA_E_CLIENT_DENIED: consent denied";
    case AA_E_CLIENT_STATE:
        return "AA_E_CLIENT_STATE: state not echoed";
    case AA_E_CLIENT_INPUT:
        return "AA_E_CLIENT_INPUT: no usable consent input";
    default:
        return NULL;
    }
}

const char *aa_client_errstr(int code)
{
    const char *s = aa_client_strerror(code);
    return s ? s : aa_strerror(code);
}

const char *aa_client_step_kind_name(enum aa_client_step_kind k)
{
    switch (k) {
    case AA_CSTEP_REQUEST:
        return "request";
    case AA_CSTEP_AGENT_TOKEN:
        return "agent-token";
    case AA_CSTEP_METADATA:
        return "metadata";
    case AA_CSTEP_JWKS:
        return "jwks";
    case AA_CSTEP_RESOURCE_TOKEN:
        return "resource-token";
    case AA_CSTEP_TOKEN:
        return "token";
    case AA_CSTEP_CONSENT_PAGE:
        return "consent-page";
    case AA_CSTEP_LOGIN:
        return "login";
    case AA_CSTEP_CONSENT:
        return "consent";
    case AA_CSTEP_NOTE:
        return "note";
    }
    return "unknown";
}

const char *aa_client_cred_name(enum aa_client_cred cred)
{
    switch (cred) {
    case AA_CRED_AUTO:
        return "auto";
    case AA_CRED_NONE:
        return "unsigned";
    case AA_CRED_HWK:
        return "hwk";
    case AA_CRED_JWKS:
        return "jwks";
    case AA_CRED_AGENT_TOKEN:
        return "jwt(agent+jwt)";
    case AA_CRED_AUTH_TOKEN:
        return "jwt(auth+jwt)";
    case AA_CRED_IDENTITY:
        return "identity";
    }
    return "unknown";
}

/* ---- small helpers ------------------------------------------------------------- */

int64_t cl_now(const struct aa_client *c)
{
    return aa_clock_now(&c->clock);
}

int cl_origin_of(const char *url, char **out)
{
    struct aa_url u;
    char auth[AA_URL_AUTHORITY_MAX];
    struct aa_buf b;

    *out = NULL;
    if (url == NULL || aa_url_parse(url, strlen(url), AA_URL_ALLOW_FRAGMENT, &u, NULL) != AA_OK)
        return AA_E_HTTP_URL;
    if (aa_url_authority(&u, auth, sizeof(auth)) != AA_OK)
        return AA_E_HTTP_URL;
    aa_buf_init(&b, AA_URL_MAX_LEN);
    aa_buf_printf(&b, "%s://%s", u.https ? "https" : "http", auth);
    if (b.err != AA_OK)
        return b.err;
    *out = aa_buf_detach(&b, NULL);
    return *out ? AA_OK : AA_E_NOMEM;
}

int cl_url_acceptable(const struct aa_client *c, const char *url, const char *what,
                      struct aa_diag *d)
{
    struct aa_url u;
    int rc;

    if (url == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#1", "%s: no URL", what);
    rc = aa_url_parse(url, strlen(url), 0, &u, d);
    if (rc != AA_OK)
        return aa_diag_prefix(d, "%s", what);
    if (u.https)
        return AA_OK;
    /* PROFILE#9 CL-01, D-1: http only in dev mode and only on loopback. */
    if (!c->dev_mode)
        return aa_fail(d, AA_E_CLIENT_INSECURE, "PROFILE#1",
                       "%s %.200s is http; https is required (http only in dev mode, D-1)", what,
                       url);
    if (!aa_http_host_is_loopback(u.host))
        return aa_fail(d, AA_E_CLIENT_INSECURE, "PROFILE#9",
                       "%s %.200s is http on a non-loopback host; refused even in dev mode "
                       "(CL-01, D-1)",
                       what, url);
    return AA_OK;
}

int cl_identifier_ok(const struct aa_client *c, const char *id, const char *what, struct aa_diag *d)
{
    int rc;

    if (id == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#1", "%s: missing", what);
    /* The scheme rule first, so an http identifier reads as CL-01. */
    if (strncmp(id, "http://", 7) == 0 && (rc = cl_url_acceptable(c, id, what, d)) != AA_OK)
        return rc;
    rc = aa_http_identifier_check(id, c->dev_mode, NULL, d);
    if (rc != AA_OK)
        return aa_diag_prefix(d, "%s", what);
    return AA_OK;
}

void cl_update_redirect(struct aa_client *c)
{
    const char *agent = aa_client_agent_id(c);
    struct aa_buf b;

    free(c->redirect_uri);
    c->redirect_uri = NULL;
    if (c->redirect_uri_cfg != NULL) {
        c->redirect_uri = aa_strdup(c->redirect_uri_cfg);
        return;
    }
    if (agent == NULL)
        return;
    aa_buf_init(&b, AA_URL_MAX_LEN);
    aa_buf_printf(&b, "%s/callback", agent);
    c->redirect_uri = b.err == AA_OK ? aa_buf_detach(&b, NULL) : NULL;
}

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL)
        return AA_OK;
    *out = aa_strdup(s);
    return *out ? AA_OK : AA_E_NOMEM;
}

static bool key_usable(const struct aa_jwk *k)
{
    return k != NULL && k->pkey != NULL && k->is_private && k->kty == AA_KTY_OKP &&
           strcmp(k->crv, "Ed25519") == 0;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void step_free(struct aa_client_step *st)
{
    if (st == NULL)
        return;
    free(st->what);
    free(st->method);
    free(st->url);
    aa_http_headers_cleanup(&st->req_headers);
    free(st->req_body);
    free(st->signature_input);
    free(st->signature);
    free(st->signature_key);
    free(st->nonce);
    free(st->content_digest);
    if (st->base != NULL) {
        aa_cleanse(st->base, st->base_len);
        free(st->base);
    }
    aa_http_response_cleanup(&st->resp);
    cJSON_Delete(st->json);
    free(st->error);
    free(st->error_description);
    aa_challenge_cleanup(&st->challenge);
    free(st->location);
    free(st);
}

int aa_client_new(const struct aa_client_opts *o, struct aa_client **out, struct aa_diag *d)
{
    struct aa_client *c;
    struct aa_http_client_opts ho;
    int rc = AA_E_NOMEM;

    if (out == NULL || o == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#7", "client: NULL argument");
    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#7", "client: out of memory");
    c->p = o->profile ? o->profile : aa_profile_default();
    c->identity = o->identity;
    c->dev_mode = o->dev_mode;
    c->no_sig_check = o->no_token_signature_check;
    c->consent = o->consent;
    c->deny = o->user.deny;
    c->prompt = o->prompt;
    c->prompt_ctx = o->prompt_ctx;
    c->clock = o->clock;
    c->sign = o->sign;
    c->max_rounds = o->max_rounds > 0 ? o->max_rounds : AA_CLIENT_MAX_ROUNDS_DEFAULT;
    c->tr_flags = o->transcript_flags;
    c->no_transcript = o->no_transcript;
    c->on_step = o->on_step;
    c->on_step_ctx = o->on_step_ctx;
    c->sign_delegate_request = o->sign_delegate_request;
    aa_buf_init(&c->tr, AA_CLIENT_MAX_TRANSCRIPT);

    if (o->identity != AA_CLIENT_PSEUDONYMOUS && o->identity != AA_CLIENT_AGENT &&
        o->identity != AA_CLIENT_DELEGATE) {
        rc = aa_fail(d, AA_E_INVAL, "PROFILE#1", "client: unknown identity kind %d",
                     (int)o->identity);
        goto fail;
    }
    /* The key: given (private Ed25519, D-12) or generated. */
    if (o->key != NULL) {
        if (!key_usable(o->key)) {
            rc = aa_fail(d, AA_E_INVAL, "PROFILE#2.10",
                         "client: the signing key must be a private Ed25519 key (D-12)");
            goto fail;
        }
        if ((rc = aa_jwk_copy(&c->key, o->key)) != AA_OK)
            goto fail;
        if (o->kid != NULL)
            aa_snprintf(c->key.kid, sizeof(c->key.kid), "%s", o->kid);
        else if (c->key.kid[0] == '\0')
            aa_snprintf(c->key.kid, sizeof(c->key.kid), "%s", AA_CLIENT_DEFAULT_KID);
    } else if ((rc = aa_jwk_generate(AA_KTY_OKP, o->kid ? o->kid : AA_CLIENT_DEFAULT_KID,
                                     &c->key)) != AA_OK) {
        aa_fail(d, rc, "PROFILE#7.6", "client: cannot generate an Ed25519 key");
        goto fail;
    }
    if ((rc = aa_jwk_thumbprint(&c->key, c->jkt)) != AA_OK)
        goto fail;

    rc = AA_E_NOMEM;
    if (dup_opt(o->sub ? o->sub : AA_CLIENT_DEFAULT_SUB, &c->sub) != AA_OK ||
        dup_opt(o->agent_token_aud, &c->agent_token_aud) != AA_OK ||
        dup_opt(o->redirect_uri, &c->redirect_uri_cfg) != AA_OK ||
        dup_opt(o->user.username ? o->user.username : AA_CLIENT_DEFAULT_USER, &c->username) !=
            AA_OK ||
        dup_opt(o->user.password ? o->user.password : AA_CLIENT_DEFAULT_PASSWORD, &c->password) !=
            AA_OK ||
        dup_opt(o->role ? o->role : AA_CLIENT_DEFAULT_ROLE, &c->role) != AA_OK)
        goto fail;

    if (o->identity == AA_CLIENT_AGENT) {
        const char *kid = o->agent_kid ? o->agent_kid : c->key.kid;
        if (o->agent_id == NULL || kid[0] == '\0') {
            rc = aa_fail(d, AA_E_INVAL, "PROFILE#2.3",
                         "client: a jwks identity needs an id and a kid");
            goto fail;
        }
        if ((rc = cl_identifier_ok(c, o->agent_id, "agent id", d)) != AA_OK)
            goto fail;
        rc = AA_E_NOMEM;
        if (dup_opt(o->agent_id, &c->agent_id) != AA_OK || dup_opt(kid, &c->agent_kid) != AA_OK ||
            dup_opt(o->well_known ? o->well_known : c->p->wk.agent, &c->well_known) != AA_OK)
            goto fail;
    } else if (o->identity == AA_CLIENT_DELEGATE) {
        size_t n;
        if (o->agent_server == NULL) {
            rc = aa_fail(d, AA_E_INVAL, "PROFILE#6.1", "client: a delegate needs an agent server");
            goto fail;
        }
        if ((rc = cl_url_acceptable(c, o->agent_server, "agent server", d)) != AA_OK)
            goto fail;
        rc = AA_E_NOMEM;
        if (dup_opt(o->agent_server, &c->agent_server) != AA_OK)
            goto fail;
        n = strlen(c->agent_server);
        while (n > 0 && c->agent_server[n - 1] == '/')
            c->agent_server[--n] = '\0';
        if (o->agent_id != NULL) {
            if ((rc = cl_identifier_ok(c, o->agent_id, "agent id", d)) != AA_OK)
                goto fail;
            rc = AA_E_NOMEM;
            if (dup_opt(o->agent_id, &c->agent_id) != AA_OK)
                goto fail;
        } else if ((rc = cl_origin_of(c->agent_server, &c->agent_id)) != AA_OK) {
            aa_fail(d, rc, "RFC3986#3", "agent server %.200s: not a URL", o->agent_server);
            goto fail;
        }
    }
    if (o->consent == AA_CLIENT_CONSENT_MANUAL && o->prompt == NULL) {
        rc = aa_fail(d, AA_E_INVAL, "PROFILE#6.6", "client: manual consent needs a prompt");
        goto fail;
    }
    cl_update_redirect(c);

    memset(&ho, 0, sizeof(ho));
    ho.connect_timeout_ms = o->connect_timeout_ms;
    ho.timeout_ms = o->timeout_ms;
    ho.max_body = o->max_body;
    ho.loopback_only = o->loopback_only;
    ho.user_agent = o->user_agent;
    c->http = aa_http_client_new(&ho);
    /* PROFILE#3: metadata and JWKS documents are at most 64 KiB (CL-05). */
    ho.max_body = AA_DISC_MAX_DOC;
    c->http_meta = aa_http_client_new(&ho);
    if (c->http == NULL || c->http_meta == NULL) {
        rc = aa_fail(d, AA_E_HTTP_CURL, "PROFILE#7", "client: cannot create the HTTP client");
        goto fail;
    }
    *out = c;
    return AA_OK;
fail:
    if (rc == AA_E_NOMEM && (d == NULL || d->code == AA_OK))
        aa_fail(d, AA_E_NOMEM, "PROFILE#7", "client: out of memory");
    aa_client_free(c);
    return rc;
}

void aa_client_log_clear(struct aa_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_steps; i++)
        step_free(c->steps[i]);
    c->n_steps = 0;
    c->dropped = 0;
    aa_buf_free(&c->tr);
}

void aa_client_free(struct aa_client *c)
{
    if (c == NULL)
        return;
    aa_client_log_clear(c);
    free(c->steps);
    for (size_t i = 0; i < c->n_grants; i++)
        cl_grant_free(c->grants[i]);
    cl_cache_free(c);
    aa_http_client_free(c->http);
    aa_http_client_free(c->http_meta);
    aa_jwk_cleanup(&c->key);
    free(c->agent_id);
    free(c->agent_kid);
    free(c->well_known);
    free(c->agent_server);
    free(c->sub);
    free(c->agent_token_aud);
    free(c->agent_token);
    if (c->has_agent_claims)
        aa_validated_token_cleanup(&c->agent_claims);
    free(c->redirect_uri_cfg);
    free(c->redirect_uri);
    free(c->username);
    if (c->password != NULL) {
        aa_cleanse(c->password, strlen(c->password));
        free(c->password);
    }
    free(c->role);
    free(c);
}

void aa_client_set_sign_opts(struct aa_client *c, const struct aa_sign_opts *sign)
{
    if (c != NULL)
        c->sign = sign;
}

/* ---- accessors ----------------------------------------------------------------- */

const struct aa_profile *aa_client_profile(const struct aa_client *c)
{
    return c->p;
}

const struct aa_jwk *aa_client_key(const struct aa_client *c)
{
    return &c->key;
}

const char *aa_client_thumbprint(const struct aa_client *c)
{
    return c->jkt;
}

const char *aa_client_agent_id(const struct aa_client *c)
{
    if (c->identity == AA_CLIENT_DELEGATE && c->has_agent_claims && c->agent_claims.iss != NULL)
        return c->agent_claims.iss;
    return c->agent_id;
}

const char *aa_client_redirect_uri(const struct aa_client *c)
{
    return c->redirect_uri;
}

const char *aa_client_agent_token(const struct aa_client *c)
{
    return c->agent_token;
}

const struct aa_validated_token *aa_client_agent_token_claims(const struct aa_client *c)
{
    return c->has_agent_claims ? &c->agent_claims : NULL;
}

const char *aa_client_sub(const struct aa_client *c)
{
    return c->sub;
}

bool cl_has_identity(const struct aa_client *c)
{
    return c->identity == AA_CLIENT_AGENT || c->identity == AA_CLIENT_DELEGATE;
}

/* ---- log ------------------------------------------------------------------------- */

size_t aa_client_step_count(const struct aa_client *c)
{
    return c->n_steps;
}

const struct aa_client_step *aa_client_step_at(const struct aa_client *c, size_t i)
{
    return i < c->n_steps ? c->steps[i] : NULL;
}

const struct aa_client_step *aa_client_step_last(const struct aa_client *c)
{
    return c->n_steps ? c->steps[c->n_steps - 1] : NULL;
}

size_t aa_client_steps_dropped(const struct aa_client *c)
{
    return c->dropped;
}

const char *aa_client_transcript(const struct aa_client *c, size_t *len)
{
    if (len != NULL)
        *len = c->tr.p ? c->tr.len : 0;
    return c->tr.p ? c->tr.p : "";
}

/* Takes ownership of |st|; the oldest step leaves a full log. */
static int log_push(struct aa_client *c, struct aa_client_step *st)
{
    if (c->n_steps == AA_CLIENT_MAX_STEPS) {
        step_free(c->steps[0]);
        memmove(c->steps, c->steps + 1, (c->n_steps - 1) * sizeof(*c->steps));
        c->n_steps--;
        c->dropped++;
    }
    if (c->n_steps == c->cap_steps) {
        size_t nc = c->cap_steps ? c->cap_steps * 2 : 16;
        struct aa_client_step **v = realloc(c->steps, nc * sizeof(*v));
        if (v == NULL) {
            step_free(st);
            return AA_E_NOMEM;
        }
        c->steps = v;
        c->cap_steps = nc;
    }
    st->seq = c->next_seq++;
    c->steps[c->n_steps++] = st;
    if (c->on_step != NULL)
        c->on_step(c->on_step_ctx, st);
    return AA_OK;
}

void cl_note(struct aa_client *c, const char *fmt, ...)
{
    struct aa_client_step *st = calloc(1, sizeof(*st));
    struct aa_buf b;
    va_list ap;

    aa_buf_init(&b, 4096);
    va_start(ap, fmt);
    aa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!c->no_transcript && b.err == AA_OK)
        aa_buf_printf(&c->tr, "# %s\n", b.p ? b.p : "");
    if (st == NULL) {
        aa_buf_free(&b);
        return;
    }
    st->kind = AA_CSTEP_NOTE;
    aa_http_response_init(&st->resp);
    aa_http_headers_init(&st->req_headers);
    st->what = b.err == AA_OK ? aa_buf_detach(&b, NULL) : NULL;
    aa_buf_free(&b);
    (void)log_push(c, st);
}

void aa_client_note(struct aa_client *c, const char *fmt, ...)
{
    struct aa_buf b;
    va_list ap;

    aa_buf_init(&b, 4096);
    va_start(ap, fmt);
    aa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.err == AA_OK)
        cl_note(c, "%s", b.p ? b.p : "");
    aa_buf_free(&b);
}

int cl_step_fail(struct aa_client_step *st, int rc, const struct aa_diag *d)
{
    if (st == NULL)
        return rc;
    st->rc = rc;
    if (d != NULL)
        st->diag = *d;
    return rc;
}

/* ---- credentials ------------------------------------------------------------------ */

int cl_cred_build(struct aa_client *c, enum aa_client_cred cred, const char *token, const char *url,
                  struct aa_sign_cred *out, const char **typ, enum aa_client_cred *used,
                  struct aa_diag *d)
{
    int rc;

    memset(out, 0, sizeof(*out));
    *typ = NULL;
    if (cred == AA_CRED_AUTO)
        cred = cl_has_identity(c) ? AA_CRED_IDENTITY : AA_CRED_HWK;
    if (cred == AA_CRED_IDENTITY) {
        if (c->identity == AA_CLIENT_AGENT)
            cred = AA_CRED_JWKS;
        else if (c->identity == AA_CLIENT_DELEGATE)
            cred = AA_CRED_AGENT_TOKEN;
        else
            return aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#2.3",
                           "a pseudonymous client has no identity credential (D-15)");
    }
    if (used != NULL)
        *used = cred;
    switch (cred) {
    case AA_CRED_HWK:
        out->scheme = AA_SIGKEY_HWK;
        return AA_OK;
    case AA_CRED_JWKS:
        if (c->identity != AA_CLIENT_AGENT)
            return aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#2.3",
                           "scheme=jwks needs an agent identity (id, kid, well-known)");
        out->scheme = AA_SIGKEY_JWKS;
        out->id = c->agent_id;
        out->kid = c->agent_kid;
        out->well_known = c->well_known;
        return AA_OK;
    case AA_CRED_AGENT_TOKEN:
        if (token == NULL) {
            /* none yet, or expired (PROFILE#4.1): ask the agent server */
            if (c->agent_token == NULL ||
                (c->has_agent_claims && c->agent_claims.exp <= cl_now(c))) {
                if (c->identity != AA_CLIENT_DELEGATE)
                    return aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#7.6",
                                   "scheme=jwt with an agent token: the client is not a "
                                   "delegate and was given no token");
                if ((rc = aa_client_agent_token_obtain(c, d)) != AA_OK)
                    return rc;
            }
            token = c->agent_token;
        }
        out->scheme = AA_SIGKEY_JWT;
        out->token = token;
        *typ = c->p->typ.agent;
        return AA_OK;
    case AA_CRED_AUTH_TOKEN:
        if (token == NULL) {
            const struct aa_client_grant *g = aa_client_grant_for_url(c, url);
            if (g == NULL)
                return aa_fail(d, AA_E_CLIENT_NO_CREDENTIAL, "PROFILE#4.5",
                               "no auth token for %.200s", url ? url : "(no URL)");
            token = g->auth_token;
        }
        out->scheme = AA_SIGKEY_JWT;
        out->token = token;
        *typ = c->p->typ.auth;
        return AA_OK;
    default:
        return aa_fail(d, AA_E_INVAL, "PROFILE#2.3", "credential %s cannot sign",
                       aa_client_cred_name(cred));
    }
}

/* ---- the exchange ------------------------------------------------------------------ */

static int copy_headers(struct aa_http_headers *dst, const struct aa_http_headers *src, bool *raw)
{
    int rc = AA_OK;

    for (size_t i = 0; src != NULL && i < src->n && rc == AA_OK; i++) {
        if (src->v[i].raw) {
            *raw = true;
            rc = aa_http_headers_add_line(dst, src->v[i].name);
        } else {
            rc = aa_http_headers_addn(dst, src->v[i].name, src->v[i].value, src->v[i].value_len);
        }
    }
    return rc;
}

/* "GET /data-auth signed(jwt auth+jwt)" */
static char *describe(const struct aa_client *c, const char *method, const char *url,
                      const struct aa_sign_cred *cred, const char *typ)
{
    struct aa_url u;
    struct aa_buf b;

    aa_buf_init(&b, 4096);
    aa_buf_printf(&b, "%s ", method);
    if (aa_url_parse(url, strlen(url), AA_URL_ALLOW_FRAGMENT, &u, NULL) == AA_OK) {
        aa_url_target(&u, &b);
    } else {
        aa_buf_adds(&b, url);
    }
    if (cred == NULL)
        aa_buf_adds(&b, " unsigned");
    else if (cred->raw_signature_key != NULL)
        aa_buf_adds(&b, " signed(raw Signature-Key)");
    else
        aa_buf_printf(&b, " signed(%s%s%s)", aa_sigkey_scheme_name(c->p, cred->scheme),
                      typ ? " " : "", typ ? typ : "");
    if (b.err != AA_OK)
        return NULL;
    return aa_buf_detach(&b, NULL);
}

/* Parse what a caller wants from any response: JSON, error members,
 * Agent-Auth (field lines joined as RFC 9110 §5.3 allows), Location. */
static void parse_response(struct aa_client *c, struct aa_client_step *st)
{
    const struct aa_http_response *r = &st->resp;
    const char *ct = aa_http_headers_get(&r->headers, "Content-Type");
    const char *loc = aa_http_headers_get(&r->headers, "Location");
    struct aa_buf joined;

    if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0 && r->body_len > 0 &&
        aa_json_parse(r->body, r->body_len, NULL, &st->json, NULL) == AA_OK) {
        const char *e = aa_json_str(st->json, "error");
        const char *ed = aa_json_str(st->json, "error_description");
        st->error = e ? aa_strdup(e) : NULL;
        st->error_description = ed ? aa_strdup(ed) : NULL;
    }
    if (loc != NULL)
        st->location = aa_strdup(loc);
    st->n_challenge_lines = aa_http_headers_count(&r->headers, c->p->hdr.agent_auth);
    if (st->n_challenge_lines == 0)
        return;
    aa_buf_init(&joined, AA_CHALLENGE_MAX_LEN + 1);
    for (size_t i = 0; i < r->headers.n; i++) {
        if (strcasecmp(r->headers.v[i].name, c->p->hdr.agent_auth) != 0)
            continue;
        if (joined.len > 0)
            aa_buf_adds(&joined, ", ");
        aa_buf_add(&joined, r->headers.v[i].value, r->headers.v[i].value_len);
    }
    if (joined.err != AA_OK) {
        st->challenge_rc = aa_fail(&st->challenge_diag, AA_E_LIMIT, "PROFILE#9",
                                   "Agent-Auth: over %d bytes (RB-01)", AA_CHALLENGE_MAX_LEN);
    } else {
        st->challenge_rc =
            aa_challenge_parse(c->p, joined.p, joined.len, &st->challenge, &st->challenge_diag);
        st->has_challenge = st->challenge_rc == AA_OK;
    }
    aa_buf_free(&joined);
}

static void transcribe(struct aa_client *c, const struct aa_client_step *st, const char *role,
                       const struct aa_http_request *hreq, int rc, const struct aa_diag *sd)
{
    struct aa_buf *t = &c->tr;

    if (c->no_transcript)
        return;
    aa_http_transcript_request(t, role, hreq, st->has_response ? &st->resp : NULL, c->tr_flags);
    if (st->base != NULL) {
        /* The base is what the signature covers; it ends without LF
         * (PROFILE#2.7), so the closing line is added here. */
        aa_buf_printf(t, "--- signature base (%s) ---\n", st->key_jkt);
        aa_buf_add(t, st->base, st->base_len);
        aa_buf_adds(t, "\n--- end ---\n");
    }
    if (rc == AA_OK || st->has_response) {
        aa_http_transcript_response(t, role, &st->resp, c->tr_flags);
    }
    if (rc != AA_OK) {
        char msg[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(sd, msg, sizeof(msg));
        aa_buf_printf(t, "!!! %s %s: %s: %s\n\n", hreq->method, hreq->url, aa_client_errstr(rc),
                      msg);
    }
}

int cl_exchange(struct aa_client *c, const struct cl_exchange *x, struct aa_client_step **out,
                struct aa_diag *d)
{
    struct aa_client_step *st = NULL;
    struct aa_http_headers hdrs;
    struct aa_signed sg;
    struct aa_http_request hreq;
    struct aa_diag sd;
    const char *method;
    const char *role = x->role ? x->role : c->role;
    bool raw = (x->http_flags & AA_HTTP_REQ_RAW) != 0;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (x->url == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#7", "request without URL");
    method = x->method ? x->method : (x->body_len > 0 ? "POST" : "GET");
    memset(&sg, 0, sizeof(sg));
    aa_http_headers_init(&sg.headers);
    aa_http_headers_init(&hdrs);
    aa_diag_clear(&sd);
    rc = AA_OK;
    if (x->content_type != NULL)
        rc = aa_http_headers_add(&hdrs, c->p->hdr.content_type, x->content_type);
    if (rc == AA_OK)
        rc = copy_headers(&hdrs, x->headers, &raw);
    if (rc == AA_OK && x->cookie != NULL)
        rc = aa_http_headers_add(&hdrs, "Cookie", x->cookie);
    if (rc != AA_OK) {
        aa_http_headers_cleanup(&hdrs);
        return aa_fail(d, rc, "PROFILE#7", "cannot build the request headers");
    }
    if (x->cred != NULL) {
        struct aa_sign_request sr;
        struct aa_sign_opts eff;
        memset(&sr, 0, sizeof(sr));
        sr.method = method;
        sr.url = x->url;
        sr.headers = &hdrs;
        sr.body = x->body;
        sr.body_len = x->body_len;
        /* The client's clock signs unless the caller's options name one. */
        if (x->sopts != NULL)
            eff = *x->sopts;
        else if (c->sign != NULL)
            eff = *c->sign;
        else
            memset(&eff, 0, sizeof(eff));
        if (eff.clock == NULL)
            eff.clock = &c->clock;
        rc = aa_aauth_sign(c->p, &sr, x->key ? x->key : &c->key, x->cred, &eff, &sg, d);
        if (rc == AA_OK)
            rc = copy_headers(&hdrs, &sg.headers, &raw);
        if (rc != AA_OK) {
            aa_signed_cleanup(&sg);
            aa_http_headers_cleanup(&hdrs);
            if (d != NULL && d->code == AA_OK)
                aa_fail(d, rc, "PROFILE#2", "cannot sign %s %.200s", method, x->url);
            return rc;
        }
    }
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        aa_signed_cleanup(&sg);
        aa_http_headers_cleanup(&hdrs);
        return aa_fail(d, AA_E_NOMEM, "PROFILE#7", "out of memory");
    }
    aa_http_response_init(&st->resp);
    st->kind = x->kind;
    st->req_headers = hdrs; /* moved */
    st->method = aa_strdup(method);
    st->url = aa_strdup(x->url);
    st->what = x->what ? aa_strdup(x->what) : describe(c, method, x->url, x->cred, x->token_typ);
    if (x->body_len > 0) {
        st->req_body = aa_strndup(x->body, x->body_len);
        st->req_body_len = x->body_len;
    }
    if (x->cred != NULL) {
        const struct aa_jwk *k = x->key ? x->key : &c->key;
        st->is_signed = true;
        st->scheme = x->cred->raw_signature_key ? AA_SIGKEY_OTHER : x->cred->scheme;
        st->token_typ = x->token_typ;
        st->signature_input = sg.signature_input, sg.signature_input = NULL;
        st->signature = sg.signature, sg.signature = NULL;
        st->signature_key = sg.signature_key, sg.signature_key = NULL;
        st->nonce = sg.nonce, sg.nonce = NULL;
        st->content_digest = sg.content_digest, sg.content_digest = NULL;
        st->base = sg.base, sg.base = NULL;
        st->base_len = sg.base_len;
        st->created = sg.created;
        if (aa_jwk_thumbprint(k, st->key_jkt) != AA_OK)
            st->key_jkt[0] = '\0';
    }
    aa_signed_cleanup(&sg);
    if (st->method == NULL || st->url == NULL || (x->body_len > 0 && st->req_body == NULL)) {
        step_free(st);
        return aa_fail(d, AA_E_NOMEM, "PROFILE#7", "out of memory");
    }

    memset(&hreq, 0, sizeof(hreq));
    hreq.method = st->method;
    hreq.url = st->url;
    hreq.headers = &st->req_headers;
    hreq.body = x->body;
    hreq.body_len = x->body_len;
    hreq.flags = x->http_flags | (raw ? AA_HTTP_REQ_RAW : 0u);
    rc = aa_http_send(x->meta ? c->http_meta : c->http, &hreq, &st->resp, &sd);
    st->has_response = st->resp.status != 0;
    if (rc == AA_OK)
        parse_response(c, st);
    else
        cl_step_fail(st, rc, &sd);
    transcribe(c, st, role, &hreq, rc, &sd);
    if (rc != AA_OK && d != NULL)
        *d = sd;
    {
        int prc = log_push(c, st);
        if (prc != AA_OK)
            return aa_fail(d, prc, "PROFILE#7", "out of memory");
    }
    if (out != NULL)
        *out = st;
    return rc;
}

/* ---- aa_client_send -------------------------------------------------------------- */

int aa_client_send(struct aa_client *c, const struct aa_client_request *req,
                   const struct aa_client_send_opts *so, const struct aa_client_step **out,
                   struct aa_diag *d)
{
    static const struct aa_client_send_opts none;
    struct aa_sign_cred cred;
    struct cl_exchange x;
    struct aa_client_step *st = NULL;
    const char *typ = NULL;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (c == NULL || req == NULL || req->url == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#7", "aa_client_send: NULL argument");
    if (so == NULL)
        so = &none;
    memset(&x, 0, sizeof(x));
    x.kind = so->kind;
    x.method = req->method;
    x.url = req->url;
    x.headers = req->headers;
    x.content_type = req->content_type;
    x.body = req->body;
    x.body_len = req->body_len;
    x.key = so->key;
    x.sopts = so->sign;
    x.http_flags = so->http_flags;
    if (so->cred_override != NULL) {
        x.cred = so->cred_override;
    } else if (so->cred != AA_CRED_NONE) {
        rc = cl_cred_build(c, so->cred, so->token, req->url, &cred, &typ, NULL, d);
        if (rc != AA_OK)
            return rc;
        x.cred = &cred;
        x.token_typ = typ;
    }
    rc = cl_exchange(c, &x, &st, d);
    if (out != NULL)
        *out = st;
    return rc;
}

/* ---- helpers for tools ------------------------------------------------------------ */

int aa_client_key_load_or_generate(const char *path, const char *kid, struct aa_jwk *out,
                                   bool *generated, struct aa_diag *d)
{
    struct stat sb;
    int rc;

    if (generated != NULL)
        *generated = false;
    memset(out, 0, sizeof(*out));
    if (path == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#7.6", "key file: no path");
    if (lstat(path, &sb) != 0) {
        if (errno != ENOENT)
            return aa_fail(d, AA_E_IO, "PROFILE#7.6", "key file %.200s: %s", path, strerror(errno));
        if ((rc = aa_jwk_generate(AA_KTY_OKP, kid ? kid : AA_CLIENT_DEFAULT_KID, out)) != AA_OK)
            return aa_fail(d, rc, "PROFILE#7.6", "cannot generate an Ed25519 key");
        if ((rc = aa_jwk_save_file(out, path)) != AA_OK) {
            aa_jwk_cleanup(out);
            return aa_fail(d, rc, "PROFILE#7.6", "key file %.200s: cannot write it", path);
        }
        if (generated != NULL)
            *generated = true;
        return AA_OK;
    }
    if ((rc = aa_jwk_load_file(path, NULL, out, d)) != AA_OK)
        return rc;
    if (!key_usable(out)) {
        aa_jwk_cleanup(out);
        return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#2.10",
                       "key file %.200s: not a private Ed25519 key (D-12)", path);
    }
    if (out->kid[0] == '\0')
        aa_snprintf(out->kid, sizeof(out->kid), "%s", kid ? kid : AA_CLIENT_DEFAULT_KID);
    return AA_OK;
}

int aa_client_prompt_stdio(void *ctx, const char *url, char *line, size_t cap)
{
    FILE *o = ctx ? (FILE *)ctx : stderr;
    size_t n;

    if (line == NULL || cap < 2)
        return AA_E_INVAL;
    fprintf(o,
            "\nConsent needed. Open this URL in a browser, sign in and decide:\n\n  %s\n\n"
            "Then paste the code, or the whole callback URL, and press Enter:\n> ",
            url);
    fflush(o);
    if (fgets(line, (int)(cap > 0x7fffffff ? 0x7fffffff : cap), stdin) == NULL)
        return AA_E_CLIENT_INPUT;
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    return n > 0 ? AA_OK : AA_E_CLIENT_INPUT;
}

int aa_client_peek_claims(const char *jwt, cJSON **out, struct aa_diag *d)
{
    struct aa_jwt t;
    int rc;

    *out = NULL;
    if (jwt == NULL)
        return aa_fail(d, AA_E_INVAL, "RFC7519#7.2", "no token");
    if ((rc = aa_jwt_parse(jwt, strlen(jwt), &t, d)) != AA_OK)
        return rc;
    *out = t.claims;
    t.claims = NULL;
    aa_jwt_cleanup(&t);
    return AA_OK;
}
