/*
 * ref_auth_ui: the scripted consent UI of the reference auth server
 * (PROFILE#6.4, #6.6, D-19).
 *
 *   GET  /agent/auth?request_token=..&redirect_uri=..[&state=..]
 *        200 login form, or the consent page once a user signed in
 *   POST /agent/auth  action=login, username, password
 *        303 back to the GET URL (user bound to the request token), or
 *        200 login form with an error
 *   POST /agent/auth  consent=grant | deny
 *        303 {redirect_uri}?code=..[&state=..]  or
 *        303 {redirect_uri}?error=access_denied&error_description=..[&state=..]
 *
 * An unknown, expired or used request_token, or a redirect_uri other than
 * the one of the `auth` request, is a 400 WITHOUT redirect (PROFILE#6.4):
 * redirecting would hand an attacker-chosen URI an answer.
 *
 * Design choice: the "session" is the request token itself. Signing in
 * binds the user to the pending request, and the consent POST must carry
 * that same request token; no cookie is set. A scripted browser needs no
 * cookie jar and a stolen request token alone (without the password) can
 * neither sign in nor consent.
 */
#include <stdlib.h>
#include <string.h>

#include "ref_auth_int.h"

#define UI_PAGE_MAX (64 * 1024)

/* ---- request parameters --------------------------------------------------------------- */

struct ui_params {
    const char *request_token, *redirect_uri, *state, *action, *consent, *username, *password;
};

/* A parameter value with no embedded NUL (a %00 would silently shorten it). */
static const char *param(const struct aa_form *f, const char *name, bool *bad)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->v[i].name_len != strlen(name) || memcmp(f->v[i].name, name, f->v[i].name_len) != 0)
            continue;
        if (strlen(f->v[i].value) != f->v[i].value_len)
            *bad = true;
        return f->v[i].value;
    }
    return NULL;
}

static int read_params(const struct aa_form *f, struct ui_params *p,
                       struct aa_server_response *resp)
{
    bool bad = false;

    memset(p, 0, sizeof(*p));
    p->request_token = param(f, "request_token", &bad);
    p->redirect_uri = param(f, "redirect_uri", &bad);
    p->state = param(f, "state", &bad);
    p->action = param(f, "action", &bad);
    p->consent = param(f, "consent", &bad);
    p->username = param(f, "username", &bad);
    p->password = param(f, "password", &bad);
    if (bad) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                      "a parameter contains a NUL byte (PROFILE#6.6)");
        return AA_E_SYNTAX;
    }
    if (p->request_token == NULL || p->request_token[0] == '\0' || p->redirect_uri == NULL ||
        p->redirect_uri[0] == '\0') {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE, "%s is required (PROFILE#6.4)",
                      p->request_token == NULL || p->request_token[0] == '\0' ? "request_token"
                                                                              : "redirect_uri");
        return AA_E_SYNTAX;
    }
    if (p->state != NULL && strlen(p->state) > AUTH_STATE_MAX_LEN) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE, "state is longer than %d bytes",
                      AUTH_STATE_MAX_LEN);
        return AA_E_LIMIT;
    }
    return AA_OK;
}

/*
 * Under the pending-table lock: the request token is live, unused and was
 * issued for |redirect_uri|. On failure the lock is released and the 400
 * (no redirect, PROFILE#6.4) is in |resp|; on success the caller holds the
 * lock and must auth_table_unlock(&a->pending).
 */
static struct auth_entry *pending_locked(struct aa_ref_server *s, const struct ui_params *p,
                                         struct aa_server_response *resp)
{
    struct auth *a = auth_of(s);
    struct auth_entry *e = auth_table_find_locked(&a->pending, p->request_token);
    const char *why = NULL;

    if (e == NULL)
        why = "unknown request_token";
    else if (e->used)
        why = "the request_token was already used";
    else if (ref_now(s) >= e->expires)
        why = "the request_token has expired";
    else if (e->g.redirect_uri == NULL || strcmp(e->g.redirect_uri, p->redirect_uri) != 0)
        why = "redirect_uri differs from the one in the auth request";
    if (why == NULL)
        return e;
    auth_table_unlock(&a->pending);
    ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE, "%s; not redirecting (PROFILE#6.4)",
                  why);
    return NULL;
}

/* ---- HTML ----------------------------------------------------------------------------- */

static void hidden(struct aa_buf *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    aa_buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    ref_html_text(b, value);
    aa_buf_adds(b, "\">\n");
}

static void form_open(struct aa_buf *b, const struct ui_params *p)
{
    aa_buf_adds(b, "<form method=\"post\" action=\"" AUTH_PATH_AUTH "\">\n");
    hidden(b, "request_token", p->request_token);
    hidden(b, "redirect_uri", p->redirect_uri);
    hidden(b, "state", p->state);
}

static void send_page(struct aa_server_response *resp, int status, struct aa_buf *b)
{
    aa_buf_adds(b, "</body></html>\n");
    if (b->err != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "cannot render the page");
    } else if (ref_send_html(resp, status, b->p) == AA_OK) {
        /* A consent page must not be framed by another site (clickjacking). */
        (void)aa_server_response_header(resp, "X-Frame-Options", "DENY");
        (void)aa_server_response_header(resp, "Content-Security-Policy",
                                        "default-src 'none'; frame-ancestors 'none'");
    }
    aa_buf_free(b);
}

/* Who asks for what, from the grant. */
static void describe(struct aa_buf *b, const struct auth_grant *g)
{
    static const struct {
        unsigned bit;
        const char *name;
    } ids[] = {{AUTH_IDS_OPENID, "openid"},
               {AUTH_IDS_PROFILE, "profile"},
               {AUTH_IDS_EMAIL, "email"},
               {AUTH_IDS_PHONE, "phone"},
               {AUTH_IDS_ADDRESS, "address"}};

    aa_buf_adds(b, "<p>Agent <code id=\"agent\">");
    ref_html_text(b, g->agent);
    aa_buf_adds(b, "</code>");
    if (g->delegate != NULL) {
        aa_buf_adds(b, " (delegate <code id=\"delegate\">");
        ref_html_text(b, g->delegate);
        aa_buf_adds(b, "</code>)");
    }
    aa_buf_adds(b, " asks for access to <code id=\"audience\">");
    ref_html_text(b, g->aud);
    aa_buf_adds(b, "</code>.</p>\n<ul id=\"scopes\">\n");
    if (g->scope != NULL) {
        aa_buf_adds(b, "<li>");
        ref_html_text(b, g->scope);
        aa_buf_adds(b, "</li>\n");
    }
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (g->id_scopes & ids[i].bit)
            aa_buf_printf(b, "<li>%s (your identity)</li>\n", ids[i].name);
    aa_buf_adds(b, "</ul>\n");
}

static void login_page(struct aa_server_response *resp, const struct ui_params *p,
                       const struct auth_grant *g, bool failed)
{
    struct aa_buf b;

    aa_buf_init(&b, UI_PAGE_MAX);
    ref_html_open(&b, "Sign in");
    describe(&b, g);
    if (failed)
        aa_buf_adds(&b, "<p id=\"error\">Invalid username or password.</p>\n");
    form_open(&b, p);
    hidden(&b, "action", "login");
    aa_buf_adds(&b, "<label>Username <input name=\"username\" autocomplete=\"username\"></label>\n"
                    "<label>Password <input type=\"password\" name=\"password\" "
                    "autocomplete=\"current-password\"></label>\n"
                    "<button type=\"submit\">Sign in</button>\n</form>\n");
    send_page(resp, 200, &b);
}

static void consent_page(struct aa_ref_server *s, struct aa_server_response *resp,
                         const struct ui_params *p, const struct auth_grant *g)
{
    const struct auth *a = auth_of(s);
    const struct auth_user *u = &a->users[g->user];
    struct aa_buf b;

    aa_buf_init(&b, UI_PAGE_MAX);
    ref_html_open(&b, "Authorize access");
    aa_buf_adds(&b, "<p>Signed in as <span id=\"user\">");
    ref_html_text(&b, u->name != NULL ? u->name : u->username);
    aa_buf_adds(&b, "</span>.</p>\n");
    describe(&b, g);
    form_open(&b, p);
    aa_buf_adds(&b, "<button type=\"submit\" name=\"consent\" value=\"grant\">Allow</button>\n"
                    "<button type=\"submit\" name=\"consent\" value=\"deny\">Deny</button>\n"
                    "</form>\n");
    send_page(resp, 200, &b);
}

/* ---- redirects ------------------------------------------------------------------------ */

static void send_303(struct aa_server_response *resp, struct aa_buf *loc)
{
    if (loc->err != AA_OK) {
        aa_buf_free(loc);
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                      "the redirect location would be too long");
        return;
    }
    resp->status = 303;
    if (aa_server_response_header(resp, "Location", loc->p) != AA_OK ||
        aa_server_response_header(resp, "Cache-Control", "no-store") != AA_OK) {
        aa_server_response_cleanup(resp);
        aa_server_response_init(resp);
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                      "the redirect location cannot be sent as a header");
    }
    aa_buf_free(loc);
}

/* PROFILE#6.4: "&" when redirect_uri already has a query, values encoded. */
static void redirect_base(struct aa_buf *loc, const char *ru)
{
    size_t n = strlen(ru);

    aa_buf_adds(loc, ru);
    if (strchr(ru, '?') == NULL)
        aa_buf_addc(loc, '?');
    else if (n > 0 && ru[n - 1] != '?' && ru[n - 1] != '&')
        aa_buf_addc(loc, '&');
}

static void add_state(struct aa_buf *loc, const char *state)
{
    if (state != NULL) {
        aa_buf_adds(loc, "&state=");
        aa_form_encode(loc, state, strlen(state));
    }
}

/* The consent page: the GET URL the user came from. */
static void redirect_to_consent(struct aa_ref_server *s, struct aa_server_response *resp,
                                const struct ui_params *p)
{
    struct aa_buf loc;

    aa_buf_init(&loc, AA_URL_MAX_LEN);
    aa_buf_printf(&loc, "%s%s?", s->id, AUTH_PATH_AUTH);
    aa_form_add(&loc, "request_token", p->request_token);
    aa_form_add(&loc, "redirect_uri", p->redirect_uri);
    if (p->state != NULL)
        aa_form_add(&loc, "state", p->state);
    send_303(resp, &loc);
}

/* ---- handlers ------------------------------------------------------------------------- */

void auth_h_ui_get(struct aa_ref_server *s, const struct aa_server_request *req,
                   struct aa_server_response *resp)
{
    struct auth *a = auth_of(s);
    struct aa_form f;
    struct ui_params p;
    struct auth_entry *e;
    struct auth_grant g;
    struct aa_diag d;
    int rc;

    aa_form_init(&f);
    aa_diag_clear(&d);
    rc = aa_form_parse(req->query != NULL ? req->query : "", req->query_len,
                       AA_FORM_REJECT_DUPLICATES, &f, &d);
    if (rc != AA_OK) {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE, "query: %s", d.msg);
        goto out;
    }
    if (read_params(&f, &p, resp) != AA_OK || (e = pending_locked(s, &p, resp)) == NULL)
        goto out;
    rc = auth_grant_copy(&g, &e->g);
    auth_table_unlock(&a->pending);
    if (rc != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "out of memory");
        goto out;
    }
    if (g.user >= 0)
        consent_page(s, resp, &p, &g);
    else
        login_page(resp, &p, &g, false);
    auth_grant_cleanup(&g);
out:
    aa_form_cleanup(&f);
}

/* The user whose username and password both match; every entry is
 * compared in full so timing does not tell which part was wrong. */
static int find_user(const struct auth *a, const char *user, const char *pass)
{
    int found = -1;

    for (size_t i = 0; i < a->n_users; i++) {
        bool u = aa_ct_streq(a->users[i].username, user != NULL ? user : "");
        bool pw = aa_ct_streq(a->users[i].password, pass != NULL ? pass : "");
        if (u && pw && found < 0)
            found = (int)i;
    }
    return found;
}

static void do_login(struct aa_ref_server *s, struct aa_server_response *resp,
                     const struct ui_params *p)
{
    struct auth *a = auth_of(s);
    int user = find_user(a, p->username, p->password);
    struct auth_entry *e = pending_locked(s, p, resp);
    struct auth_grant g;
    int rc;

    if (e == NULL)
        return;
    if (user >= 0) {
        e->g.user = user;
        auth_table_unlock(&a->pending);
        ref_logf(s, 3, "consent: user %s signed in", a->users[user].username);
        redirect_to_consent(s, resp, p);
        return;
    }
    rc = auth_grant_copy(&g, &e->g);
    auth_table_unlock(&a->pending);
    if (rc != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "out of memory");
        return;
    }
    login_page(resp, p, &g, true);
    auth_grant_cleanup(&g);
}

static void do_consent(struct aa_ref_server *s, struct aa_server_response *resp,
                       const struct ui_params *p, bool grant)
{
    struct auth *a = auth_of(s);
    struct auth_entry *e;
    struct auth_grant g;
    struct aa_buf loc;
    char code[AUTH_SECRET_LEN + 1];
    int64_t retry = 0;
    int rc;

    if ((e = pending_locked(s, p, resp)) == NULL)
        return;
    if (e->g.user < 0) {
        auth_table_unlock(&a->pending);
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                      "no user has signed in for this request_token (PROFILE#6.6)");
        return;
    }
    /* A request token is answered once, whatever the answer (PROFILE#6.4). */
    e->used = true;
    rc = auth_grant_copy(&g, &e->g);
    auth_table_unlock(&a->pending);
    if (rc != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "out of memory");
        return;
    }
    aa_buf_init(&loc, AA_URL_MAX_LEN);
    redirect_base(&loc, p->redirect_uri);
    if (!grant) {
        ref_logf(s, 3, "consent: denied");
        aa_buf_adds(&loc, "error=access_denied&error_description=");
        aa_form_encode(&loc, "The user denied the request", 27);
        add_state(&loc, ref_fault(s, AA_REF_FAULT_STATE_NOT_ECHOED) ? NULL : p->state);
        send_303(resp, &loc);
        auth_grant_cleanup(&g);
        return;
    }
    rc = auth_table_put(&a->codes, ref_now(s), a->code_ttl, &g, code, &retry);
    if (rc == AA_E_LIMIT) {
        auth_send_busy(resp, "authorization code", retry);
    } else if (rc != AA_OK) {
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, REF_NO_STORE, "cannot store the code");
    } else {
        aa_buf_adds(&loc, "code=");
        aa_form_encode(&loc, code, strlen(code));
        /* Fault state-not-echoed: the client cannot match the answer. */
        add_state(&loc, ref_fault(s, AA_REF_FAULT_STATE_NOT_ECHOED) ? NULL : p->state);
        send_303(resp, &loc);
    }
    aa_buf_free(&loc);
    aa_cleanse(code, sizeof(code));
    auth_grant_cleanup(&g);
}

void auth_h_ui_post(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp)
{
    struct aa_form f;
    struct ui_params p;

    aa_form_init(&f);
    if (ref_form_body(req, resp, &f) != AA_OK || read_params(&f, &p, resp) != AA_OK)
        goto out;
    if (p.action != NULL) {
        if (strcmp(p.action, "login") != 0)
            ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                          "action \"%.32s\" is not \"login\" (PROFILE#6.6)", p.action);
        else
            do_login(s, resp, &p);
    } else if (p.consent != NULL) {
        if (strcmp(p.consent, "grant") != 0 && strcmp(p.consent, "deny") != 0)
            ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                          "consent \"%.32s\" is neither grant nor deny (PROFILE#6.6)", p.consent);
        else
            do_consent(s, resp, &p, strcmp(p.consent, "grant") == 0);
    } else {
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, REF_NO_STORE,
                      "the form needs action=login or consent=grant|deny (PROFILE#6.6)");
    }
out:
    aa_form_cleanup(&f);
}
