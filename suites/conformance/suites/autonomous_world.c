/*
 * autonomous_world: participants and judging helpers of the flow suites
 * autonomous, consent, agent-is-resource and exchange (PROFILE#7 F3, F4,
 * F5, F7). See autonomous_world.h.
 *
 * Design choice: local servers share one reference clock set from the
 * harness clock (aa_conf_now), so --clock frozen freezes them with the
 * runner's embedded servers; their discovery caches may fetch the https
 * identifiers of the run's targets, like the runner's own embedded roles.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "autonomous_world.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"

static int64_t aw_now(void *ctx)
{
    (void)ctx;
    return aa_conf_now();
}

int aa_aw_init(struct aa_aw *w)
{
    static const enum aa_role roles[] = {AA_ROLE_AGENT_SERVER, AA_ROLE_RESOURCE,
                                         AA_ROLE_AUTH_SERVER};
    struct aa_disc_opts o;

    memset(w, 0, sizeof(*w));
    w->clock.frozen = aa_conf_clock_frozen();
    w->clock.value = aa_conf_now();
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        const struct aa_conf_target *t = aa_conf_target(roles[i]);
        if (t->present && t->id != NULL && strncmp(t->id, "https://", 8) == 0)
            w->trusted[w->n_trusted++] = t->id;
    }
    memset(&o, 0, sizeof(o));
    o.dev_mode = true; /* the harness's own participants are http loopback */
    o.trusted_origins = w->n_trusted > 0 ? w->trusted : NULL;
    o.n_trusted = w->n_trusted;
    w->disc = aa_disc_new(&o);
    return w->disc != NULL ? AA_OK : AA_E_NOMEM;
}

void aa_aw_cleanup(struct aa_aw *w)
{
    for (size_t i = 0; i < w->n_clients; i++)
        aa_client_free(w->taps[i].c);
    /* servers last: a client never outlives what it talks to */
    for (size_t i = w->n_srv; i > 0; i--)
        aa_ref_stop(w->srv[i - 1]);
    for (size_t i = 0; i < w->n_keys; i++)
        aa_jwk_cleanup(&w->keys[i]);
    aa_disc_free(w->disc);
    memset(w, 0, sizeof(*w));
}

static void peer_from_target(const struct aa_conf_target *t, enum aa_role role, const char *inst,
                             struct aa_aw_peer *out)
{
    out->role = role;
    out->id = t->id;
    /* The client library signs for the authority of the URL it calls
     * (PROFILE#2.5): an embedded role with --public-url is called by its
     * identifier, so the signature names the authority it verifies with
     * (the identifier must resolve from this host - the name the user
     * configured for it). Elsewhere the two are equal. */
    out->url = t->id;
    out->auth_path = t->auth_path != NULL ? t->auth_path : "/data-auth";
    out->inst = inst;
    out->kid = t->kid;
    out->under_test = t->under_test;
    out->embedded = t->embedded;
}

int aa_aw_run_peer(enum aa_role role, struct aa_aw_peer *out, struct aa_diag *d)
{
    const struct aa_conf_target *t = aa_conf_target(role);

    memset(out, 0, sizeof(*out));
    if (t->unavailable != NULL)
        return aa_fail(d, AA_E_NOTFOUND, "README#running", "%s", t->unavailable);
    if (!t->present || t->id == NULL || t->connect_url == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "README#running", "the run has no %s", aa_role_name(role));
    peer_from_target(t, role, NULL, out);
    return AA_OK;
}

int aa_aw_instance_peer(const char *name, struct aa_aw_peer *out, struct aa_diag *d)
{
    const struct aa_conf_target *t = aa_conf_instance(name);

    memset(out, 0, sizeof(*out));
    if (t->unavailable != NULL)
        return aa_fail(d, AA_E_NOTFOUND, "README#instances", "instance %s: %s", name,
                       t->unavailable);
    if (!t->present || t->id == NULL || t->connect_url == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "README#instances", "the run has no instance %s", name);
    peer_from_target(t, t->role, name, out);
    return AA_OK;
}

int aa_aw_peer_key(struct aa_aw *w, struct aa_aw_peer *p, struct aa_diag *d)
{
    struct aa_jwk *k;
    int rc;

    if (p->key != NULL)
        return AA_OK;
    if (p->local) {
        p->key = aa_ref_key(p->srv);
        return p->key != NULL ? AA_OK
                              : aa_fail(d, AA_E_INTERNAL, "README#running", "no key for %s", p->id);
    }
    if (!p->embedded)
        return aa_fail(d, AA_E_NOTFOUND, "PROFILE#2.3",
                       "%s is under test: the harness holds no key of it", p->id);
    if (w->n_keys >= AA_AW_MAX_SERVERS)
        return aa_fail(d, AA_E_LIMIT, "README#running", "too many keys");
    k = &w->keys[w->n_keys];
    rc = p->inst != NULL ? aa_conf_instance_key(p->inst, k, d) : aa_conf_role_key(p->role, k, d);
    if (rc != AA_OK)
        return rc;
    w->n_keys++;
    p->key = k;
    if (p->kid == NULL)
        p->kid = k->kid;
    return AA_OK;
}

int aa_aw_agent(struct aa_aw *w, struct aa_aw_peer *ag, struct aa_diag *d)
{
    struct aa_diag d2;

    aa_diag_clear(&d2);
    if (aa_aw_run_peer(AA_ROLE_AGENT_SERVER, ag, &d2) == AA_OK && ag->embedded &&
        aa_aw_peer_key(w, ag, &d2) == AA_OK) {
        aa_conf_note("agent: the runner's embedded agent server %s (the harness signs with its "
                     "key %s)",
                     ag->id, ag->kid != NULL ? ag->kid : "");
        return AA_OK;
    }
    /* under test, absent or no key: the harness brings its own agent, which
     * the targets must reach to fetch its metadata and JWKS - else they
     * would refuse for that reason: not testable here (SKIP) */
    if (d2.msg[0] != '\0')
        aa_conf_note("agent: %s; using a harness agent server instead", d2.msg);
    if (aa_conf_harness_check(d) != AA_OK)
        return AA_E_UNSUPPORTED;
    return aa_aw_start_agent(w, ag, d);
}

static void aw_common(struct aa_aw *w, struct aa_ref_common *c)
{
    c->bind_addr = aa_conf_harness_host(); /* the targets fetch from it */
    c->clock = &w->clock;
    c->verbosity = 0;
    c->trusted_origins = w->n_trusted > 0 ? w->trusted : NULL;
    c->n_trusted_origins = w->n_trusted;
}

static int aw_started(struct aa_aw *w, enum aa_role role, int rc, struct aa_ref_server *s,
                      struct aa_aw_peer *out, struct aa_diag *d)
{
    memset(out, 0, sizeof(*out));
    if (rc != AA_OK || s == NULL) {
        if (d != NULL)
            aa_diag_prefix(d, "harness %s could not start", aa_role_name(role));
        return rc != AA_OK ? rc : AA_E_INTERNAL;
    }
    w->srv[w->n_srv++] = s;
    out->role = role;
    out->id = aa_ref_id(s);
    out->url = aa_ref_url(s);
    out->auth_path = "/data-auth";
    out->local = true;
    out->srv = s;
    out->key = aa_ref_key(s);
    out->kid = role == AA_ROLE_AGENT_SERVER ? AA_REF_AGENT_KID
               : role == AA_ROLE_RESOURCE   ? AA_REF_RESOURCE_KID
                                            : AA_REF_AUTH_KID;
    aa_conf_note("harness %s started at %s (reference, this case)", aa_role_name(role), out->id);
    return AA_OK;
}

static int aw_room(const struct aa_aw *w, struct aa_diag *d)
{
    if (w->n_srv >= AA_AW_MAX_SERVERS)
        return aa_fail(d, AA_E_LIMIT, "README#running", "more than %d harness servers",
                       AA_AW_MAX_SERVERS);
    return AA_OK;
}

int aa_aw_start_agent(struct aa_aw *w, struct aa_aw_peer *out, struct aa_diag *d)
{
    struct aa_ref_agent_config c;
    struct aa_ref_server *s = NULL;
    int rc;

    if ((rc = aw_room(w, d)) != AA_OK)
        return rc;
    memset(&c, 0, sizeof(c));
    aa_ref_agent_defaults(&c);
    aw_common(w, &c.c);
    rc = aa_ref_agent_start(&c, &s, d);
    return aw_started(w, AA_ROLE_AGENT_SERVER, rc, s, out, d);
}

int aa_aw_start_auth(struct aa_aw *w, bool consent, const char *trusted, struct aa_aw_peer *out,
                     struct aa_diag *d)
{
    struct aa_ref_auth_config c;
    struct aa_ref_server *s = NULL;
    const char *tr[1];
    int rc;

    if ((rc = aw_room(w, d)) != AA_OK)
        return rc;
    memset(&c, 0, sizeof(c));
    aa_ref_auth_defaults(&c);
    aw_common(w, &c.c);
    c.require_user_consent = consent;
    if (trusted != NULL) {
        tr[0] = trusted;
        c.trusted_issuers = tr;
        c.n_trusted_issuers = 1;
    }
    rc = aa_ref_auth_start(&c, &s, d);
    return aw_started(w, AA_ROLE_AUTH_SERVER, rc, s, out, d);
}

int aa_aw_start_resource(struct aa_aw *w, const char *as_id, struct aa_aw_peer *out,
                         struct aa_diag *d)
{
    struct aa_ref_resource_config c;
    struct aa_ref_server *s = NULL;
    int rc;

    if ((rc = aw_room(w, d)) != AA_OK)
        return rc;
    memset(&c, 0, sizeof(c));
    aa_ref_resource_defaults(&c);
    aw_common(w, &c.c);
    c.auth_server = as_id;
    rc = aa_ref_resource_start(&c, &s, d);
    return aw_started(w, AA_ROLE_RESOURCE, rc, s, out, d);
}

int aa_aw_url(const struct aa_aw_peer *p, const char *path, char *out, size_t cap)
{
    return aa_snprintf(out, cap, "%s%s", p->url != NULL ? p->url : "", path != NULL ? path : "");
}

/* ---- clients -------------------------------------------------------------- */

/* Copy what the client added to its transcript into the case transcript. */
static void aw_on_step(void *ctx, const struct aa_client_step *st)
{
    struct aa_aw_tap *t = ctx;
    const char *s;
    size_t len = 0;

    (void)st;
    if (t->c == NULL)
        return;
    s = aa_client_transcript(t->c, &len);
    if (len < t->shown)
        t->shown = 0; /* the log was cleared */
    if (len > t->shown)
        aa_conf_note("%.*s", (int)(len - t->shown), s + t->shown);
    t->shown = len;
}

/* What the person is asked to do (aa_aw_run_user sets it per run). */
static const char *aw_ask = "grant consent";

static int aw_prompt(void *ctx, const char *url, char *line, size_t cap)
{
    (void)ctx;
    return aa_conf_consent_prompt((void *)aw_ask, url, line, cap);
}

static struct aa_client *aw_client(struct aa_aw *w, struct aa_client_opts *o, const char *label,
                                   struct aa_diag *d)
{
    struct aa_aw_tap *t;
    struct aa_client *c = NULL;

    if (w->n_clients >= AA_AW_MAX_CLIENTS) {
        aa_fail(d, AA_E_LIMIT, "README#running", "more than %d harness clients", AA_AW_MAX_CLIENTS);
        return NULL;
    }
    t = &w->taps[w->n_clients];
    memset(t, 0, sizeof(*t));
    o->dev_mode = true;
    if (aa_conf_consent_manual()) {
        /* --consent manual: the person answers through the runner */
        o->consent = AA_CLIENT_CONSENT_MANUAL;
        o->prompt = aw_prompt;
    }
    o->clock.now = aw_now;
    o->transcript_flags = AA_HTTP_TR_FULL;
    o->on_step = aw_on_step;
    o->on_step_ctx = t;
    o->role = label;
    if (aa_client_new(o, &c, d) != AA_OK)
        return NULL;
    t->c = c;
    w->n_clients++;
    return c;
}

struct aa_client *aa_aw_agent_client(struct aa_aw *w, const struct aa_aw_peer *ag,
                                     const char *label, struct aa_diag *d)
{
    struct aa_client_opts o;

    if (ag->key == NULL) {
        aa_fail(d, AA_E_NOTFOUND, "PROFILE#2.3", "the harness holds no key of agent %s", ag->id);
        return NULL;
    }
    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.key = ag->key;
    o.agent_id = ag->id;
    o.agent_kid = ag->kid;
    return aw_client(w, &o, label, d);
}

struct aa_client *aa_aw_resource_client(struct aa_aw *w, const struct aa_aw_peer *r,
                                        const char *label, struct aa_diag *d)
{
    struct aa_client_opts o;

    if (r->key == NULL) {
        aa_fail(d, AA_E_NOTFOUND, "PROFILE#6.5", "the harness holds no key of resource %s", r->id);
        return NULL;
    }
    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.key = r->key;
    o.agent_id = r->id;
    o.agent_kid = r->kid;
    o.well_known = "aauth-resource";
    return aw_client(w, &o, label, d);
}

struct aa_client *aa_aw_delegate_client(struct aa_aw *w, const struct aa_aw_peer *ag,
                                        const char *sub, const char *label, struct aa_diag *d)
{
    struct aa_client_opts o;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_DELEGATE;
    o.agent_server = ag->url;
    o.agent_id = ag->id;
    o.sub = sub;
    return aw_client(w, &o, label, d);
}

/* ---- sending ----------------------------------------------------------------- */

int aa_aw_send(struct aa_client *c, const char *method, const char *url, enum aa_client_cred cred,
               const char *token, const char *ctype, const char *body,
               const struct aa_client_step **st, struct aa_diag *d)
{
    struct aa_client_request r;
    struct aa_client_send_opts o;

    memset(&r, 0, sizeof(r));
    memset(&o, 0, sizeof(o));
    r.method = method;
    r.url = url;
    r.content_type = ctype;
    r.body = body;
    r.body_len = body != NULL ? strlen(body) : 0;
    o.cred = cred;
    o.token = token;
    *st = NULL;
    return aa_client_send(c, &r, &o, st, d);
}

size_t aa_aw_next_seq(struct aa_client *c)
{
    const struct aa_client_step *st = aa_client_step_last(c);
    return st != NULL ? st->seq + 1 : 0;
}

const struct aa_client_step *aa_aw_last_step(struct aa_client *c, enum aa_client_step_kind kind,
                                             size_t from)
{
    for (size_t i = aa_client_step_count(c); i > 0; i--) {
        const struct aa_client_step *st = aa_client_step_at(c, i - 1);
        if (st->seq < from)
            break;
        if (st->kind == kind)
            return st;
    }
    return NULL;
}

/* ---- judging ------------------------------------------------------------------- */

bool aa_aw_expect_step(const struct aa_check *c, int rc, const struct aa_diag *d,
                       const struct aa_client_step *st, long status, const char *error)
{
    if (st == NULL) {
        aa_check_fault(c, "the harness could not send the request", rc, d);
        return false;
    }
    return aa_expect_status(c, st->has_response ? AA_OK : st->rc, &st->diag, &st->resp, status,
                            error);
}

bool aa_aw_step_ok(const struct aa_check *c, int rc, const struct aa_diag *d,
                   const struct aa_client_step *st, long status, const char *error)
{
    struct aa_http_expect e = {.status = status, .error = error};

    if (st != NULL && aa_conf_http_classify(st->has_response ? AA_OK : st->rc, &st->diag, &st->resp,
                                            &e, NULL, NULL, NULL) == AA_OUT_PASS)
        return true;
    /* not as expected: record it (and say why) the usual way */
    aa_aw_expect_step(c, rc, d, st, status, error);
    return false;
}

bool aa_aw_expect_auth_challenge(const struct aa_check *c, const struct aa_client_step *st)
{
    const char *v;
    char diag[AA_DIAG_MSG_MAX + 64];

    if (st == NULL) {
        aa_check_error(c, "the harness sent no request");
        return false;
    }
    if (!st->has_response || st->resp.status != 401) {
        aa_aw_expect_step(c, st->rc, &st->diag, st, 401, NULL);
        return false;
    }
    v = aa_http_headers_get(&st->resp.headers, "Agent-Auth");
    if (st->n_challenge_lines == 0 || v == NULL) {
        aa_check_fail(c, c->expect, "401 without an Agent-Auth header",
                      "every 401 from a resource carries the challenge (PROFILE#5)");
        return false;
    }
    if (st->n_challenge_lines > 1) {
        aa_check_fail(c, c->expect, "Agent-Auth sent as several field lines",
                      "AAuth headers are a single field line (PROFILE#2.5)");
        return false;
    }
    if (st->challenge_rc != AA_OK || !st->has_challenge) {
        aa_diag_format(&st->challenge_diag, diag, sizeof(diag));
        aa_check_fail(c, c->expect, v, "Agent-Auth does not parse: %s", diag);
        return false;
    }
    if (!st->challenge.auth_token || st->challenge.resource_token == NULL ||
        st->challenge.auth_server == NULL) {
        aa_check_fail(c, c->expect, v, "%s",
                      !st->challenge.auth_token              ? "no auth-token parameter"
                      : st->challenge.resource_token == NULL ? "no resource_token parameter"
                                                             : "no auth_server parameter");
        return false;
    }
    aa_check_pass(c, "401 Agent-Auth: httpsig; auth-token; resource_token=...; auth_server=\"%s\"",
                  st->challenge.auth_server);
    return true;
}

int aa_aw_peek(const char *jwt, cJSON **header, cJSON **claims, struct aa_diag *d)
{
    struct aa_jwt j;
    int rc;

    *header = NULL;
    *claims = NULL;
    if (jwt == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "PROFILE#4.1", "no token");
    rc = aa_jwt_parse(jwt, strlen(jwt), &j, d);
    if (rc != AA_OK)
        return rc;
    *header = j.header;
    *claims = j.claims;
    j.header = NULL;
    j.claims = NULL;
    aa_jwt_cleanup(&j);
    return AA_OK;
}

bool aa_aw_expect_typ(const struct aa_check *c, const cJSON *header, const char *want)
{
    const char *typ = aa_json_str(header, "typ");
    const char *t = typ;

    /* D-28: case-insensitive, an application/ prefix is accepted */
    if (t != NULL && strncasecmp(t, "application/", 12) == 0)
        t += 12;
    if (t != NULL && strcasecmp(t, want) == 0) {
        aa_check_pass(c, "%s", typ);
        return true;
    }
    aa_check_fail(c, want, typ != NULL ? typ : "(no typ)", NULL);
    return false;
}

bool aa_aw_expect_claim(const struct aa_check *c, const cJSON *claims, const char *name,
                        const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    char what[64];

    if (want == NULL) {
        /* the value to compare with came from an earlier token that lacked it */
        aa_check_error(c, "no expected value for claim %s (an earlier token lacked it)", name);
        return false;
    }
    if (v != NULL && !cJSON_IsString(v)) {
        aa_check_fail(c, want, "(not a string)", "claim %s must be a string", name);
        return false;
    }
    aa_snprintf(what, sizeof(what), "claim %s", name);
    return aa_expect_str(c, what, want, v != NULL ? v->valuestring : NULL);
}

bool aa_aw_expect_absent(const struct aa_check *c, const cJSON *claims, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    char *text;

    if (v == NULL) {
        aa_check_pass(c, "no %s claim", name);
        return true;
    }
    text = cJSON_PrintUnformatted(v);
    aa_check_fail(c, c->expect, text != NULL ? text : "(present)", "claim %s must be absent", name);
    cJSON_free(text);
    return false;
}

bool aa_aw_expect_cnf(const struct aa_check *c, const cJSON *claims, const char *jkt)
{
    const cJSON *cnf = cJSON_GetObjectItemCaseSensitive(claims, "cnf");
    const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(cnf, "jwk");
    char got[AA_JWK_THUMBPRINT_LEN + 1];
    char why[AA_DIAG_MSG_MAX + 64];
    struct aa_jwk k;
    struct aa_diag d;
    int rc;

    if (!cJSON_IsObject(jwk)) {
        aa_check_fail(c, jkt, "(no cnf.jwk)", "cnf.jwk is REQUIRED (PROFILE#4.2)");
        return false;
    }
    aa_diag_clear(&d);
    rc = aa_jwk_from_cjson(jwk, AA_JWK_PUBLIC_ONLY, &k, &d);
    if (rc != AA_OK) {
        aa_diag_format(&d, why, sizeof(why));
        if (aa_err_is_fault(rc))
            aa_check_fault(c, "reading cnf.jwk", rc, &d);
        else
            aa_check_fail(c, jkt, "(cnf.jwk is not a valid public JWK)", "%s", why);
        return false;
    }
    rc = aa_jwk_thumbprint(&k, got);
    aa_jwk_cleanup(&k);
    if (rc != AA_OK) {
        aa_check_fault(c, "thumbprint of cnf.jwk", rc, NULL);
        return false;
    }
    return aa_expect_str(c, "cnf.jwk thumbprint (RFC 7638)", jkt, got);
}

bool aa_aw_expect_future(const struct aa_check *c, const cJSON *claims, const char *name)
{
    int64_t v = 0, now = aa_conf_now();

    if (!aa_json_int(claims, name, &v)) {
        aa_check_fail(c, c->expect, "(absent or not an integer)", "claim %s", name);
        return false;
    }
    return aa_expect_true(c, v > now, c->expect, "%s=%lld, now=%lld", name, (long long)v,
                          (long long)now);
}

bool aa_aw_scope_has(const char *scope, const char *tok)
{
    size_t n = strlen(tok);

    for (const char *p = scope; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ' ');
        size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, tok, n) == 0)
            return true;
        p = e != NULL ? e + 1 : NULL;
    }
    return false;
}

static void aw_policy(struct aa_aw *w, struct aa_token_policy *pol, struct aa_key_resolver *r)
{
    memset(pol, 0, sizeof(*pol));
    aa_key_resolver_disc(r, w->disc);
    pol->clock.now = aw_now;
    pol->resolver = r;
    pol->dev_mode = true;
}

static bool aw_record_valid(const struct aa_check *c, int rc, const struct aa_aauth_result *res,
                            const char *what)
{
    char text[AA_DIAG_MSG_MAX + 128];

    if (rc == AA_OK) {
        aa_check_pass(c, "%s valid", what);
        return true;
    }
    aa_aauth_result_format(res, text, sizeof(text));
    if (aa_err_is_fault(rc) || aa_err_is_fault(res->code))
        aa_check_error(c, "validating the %s: %s", what, text);
    else
        aa_check_fail(c, c->expect, text, "the %s fails validation at step %s", what, res->where);
    return false;
}

bool aa_aw_expect_valid_rt(struct aa_aw *w, const struct aa_check *c, const char *rt,
                           const char *as_id, const char *agent, const char *agent_jkt)
{
    struct aa_token_policy pol;
    struct aa_key_resolver r;
    struct aa_validated_token vt;
    struct aa_aauth_result res;
    int rc;

    aw_policy(w, &pol, &r);
    pol.receiver = as_id;
    pol.expected_agent = agent;
    pol.expected_agent_jkt = agent_jkt;
    aa_aauth_result_init(&res);
    memset(&vt, 0, sizeof(vt));
    rc = aa_aauth_validate_resource_token(&pol, rt != NULL ? rt : "", rt != NULL ? strlen(rt) : 0,
                                          &vt, &res);
    aa_validated_token_cleanup(&vt);
    return aw_record_valid(c, rc, &res, "resource token");
}

bool aa_aw_expect_valid_at(struct aa_aw *w, const struct aa_check *c, const char *at,
                           const char *issuer, const char *receiver, bool self_is_agent,
                           struct aa_validated_token *out)
{
    const char *trusted[2] = {issuer, NULL};
    struct aa_token_policy pol;
    struct aa_key_resolver r;
    struct aa_validated_token vt;
    struct aa_aauth_result res;
    bool ok;
    int rc;

    aw_policy(w, &pol, &r);
    pol.receiver = receiver;
    pol.trusted_issuers = trusted;
    pol.self_is_agent = self_is_agent;
    aa_aauth_result_init(&res);
    memset(&vt, 0, sizeof(vt));
    rc = aa_aauth_validate_auth_token(&pol, at != NULL ? at : "", at != NULL ? strlen(at) : 0, &vt,
                                      &res);
    ok = aw_record_valid(c, rc, &res, "auth token");
    if (ok && out != NULL)
        *out = vt;
    else
        aa_validated_token_cleanup(&vt);
    return ok;
}

/* ---- token endpoint helpers ------------------------------------------------------ */

/* A JSON response member that must be a string. */
const char *aa_aw_resp_str(const struct aa_client_step *st, const char *name)
{
    return st != NULL ? aa_json_str(st->json, name) : NULL;
}

/* The body of a token response (auth, code, refresh): |want_refresh| says
 * whether refresh_token is REQUIRED. Records |c|. */
bool aa_aw_expect_token_members(const struct aa_check *c, const struct aa_client_step *st,
                                bool want_refresh)
{
    int64_t ei = 0;
    struct aa_buf bad;
    bool ok;

    aa_buf_init(&bad, 1024);
    if (st == NULL || st->json == NULL) {
        aa_check_fail(c, c->expect, "(not a JSON object)", NULL);
        aa_buf_free(&bad);
        return false;
    }
    if (aa_aw_resp_str(st, "auth_token") == NULL)
        aa_buf_adds(&bad, "auth_token missing; ");
    if (!aa_json_int(st->json, "expires_in", &ei) || ei <= 0)
        aa_buf_adds(&bad, "expires_in missing, not an integer or not > 0; ");
    if (want_refresh && aa_aw_resp_str(st, "refresh_token") == NULL)
        aa_buf_adds(&bad, "refresh_token missing; ");
    ok = bad.len == 0;
    if (ok)
        aa_check_pass(c, "expires_in=%lld", (long long)ei);
    else
        aa_check_fail(c, c->expect, bad.p, NULL);
    aa_buf_free(&bad);
    return ok;
}

void aa_aw_expect_no_store(const struct aa_check *c, const struct aa_client_step *st)
{
    const char *cc = aa_http_headers_get(&st->resp.headers, "Cache-Control");
    bool ok = false;

    for (const char *p = cc; p != NULL && *p != '\0';) {
        size_t n;
        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, ", ");
        if (n == 8 && strncasecmp(p, "no-store", 8) == 0)
            ok = true;
        p += n;
    }
    aa_expect_true(c, ok, c->expect, "Cache-Control: %s", cc != NULL ? cc : "(absent)");
}

/* |at| scope against the resource token's |rt_scope|: equal sets PASS, a
 * non-empty subset INFO (policy may narrow, PROFILE#6.3), else a failure. */
void aa_aw_expect_scope_within(const struct aa_check *c, const char *at_scope, const char *rt_scope)
{
    size_t n_at = 0, n_rt = 0, inside = 0;

    for (const char *p = at_scope; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ' ');
        size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
        char tok[256];
        if (l > 0)
            n_at++;
        /* a token too long to copy is never "inside": it fails below */
        if (l > 0 && l < sizeof(tok)) {
            memcpy(tok, p, l);
            tok[l] = '\0';
            if (aa_aw_scope_has(rt_scope, tok))
                inside++;
        }
        p = e != NULL ? e + 1 : NULL;
    }
    for (const char *p = rt_scope; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ' ');
        n_rt++;
        p = e != NULL ? e + 1 : NULL;
    }
    if (at_scope == NULL || n_at == 0 || inside != n_at)
        aa_check_fail(c, rt_scope != NULL ? rt_scope : "(none)",
                      at_scope != NULL ? at_scope : "(absent)",
                      "the auth token grants scope the resource token did not ask for");
    else if (n_at == n_rt)
        aa_check_pass(c, "%s", at_scope);
    else
        aa_check_info(c, at_scope, "narrowed by policy to a subset of \"%s\"", rt_scope);
}

/* POST agent_token_endpoint with |tp|; |*st| gets the token step of this
 * call (NULL when the client never reached the endpoint). */
int aa_aw_token_request(struct aa_client *c, const char *as_id,
                        const struct aa_client_token_params *tp,
                        const struct aa_client_send_opts *so, struct aa_client_token_response *tr,
                        const struct aa_client_step **st, struct aa_diag *d)
{
    size_t from = aa_aw_next_seq(c);
    int rc;

    memset(tr, 0, sizeof(*tr));
    aa_diag_clear(d);
    rc = aa_client_token_request(c, as_id, tp, so, tr, d);
    *st = aa_aw_last_step(c, AA_CSTEP_TOKEN, from);
    return rc;
}

int aa_aw_fetch_metadata(const struct aa_aw_peer *p, const char *name, long *status, cJSON **out,
                         struct aa_diag *d)
{
    struct aa_http_response resp;
    struct aa_buf url;
    int rc;

    *out = NULL;
    *status = 0;
    aa_http_response_init(&resp);
    aa_buf_init(&url, AA_AW_URL_MAX);
    if (aa_http_well_known_url(p->url, name, &url) != AA_OK) {
        rc = aa_fail(d, AA_E_INVAL, "PROFILE#3", "cannot build the metadata URL from %s", p->url);
        goto out;
    }
    rc = aa_conf_get("HARNESS", url.p, &resp, d);
    if (rc != AA_OK)
        goto out;
    *status = resp.status;
    if (resp.status != 200) {
        rc = aa_fail(d, AA_E_NOTFOUND, "PROFILE#3", "GET %s answered %ld", url.p, resp.status);
        goto out;
    }
    rc = aa_json_parse(resp.body, resp.body_len, NULL, out, d);
    if (rc == AA_OK && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        rc = aa_fail(d, AA_E_SYNTAX, "PROFILE#3", "%s is not a JSON object", url.p);
    } else if (rc != AA_OK && !aa_err_is_fault(rc)) {
        rc = AA_E_SYNTAX;
    }
out:
    aa_buf_free(&url);
    aa_http_response_cleanup(&resp);
    return rc;
}

/* ---- the scripted user -------------------------------------------------------- */

/* The login form of PROFILE#6.6: an HTML page with username and password
 * inputs. Anything else is a UI the scripted user does not understand. */
bool aa_aw_form_recognised(const struct aa_client_step *st)
{
    const char *ct;

    if (st == NULL || !st->has_response || st->resp.status != 200 || st->resp.body == NULL)
        return false;
    ct = aa_http_headers_get(&st->resp.headers, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "text/html", 9) != 0)
        return false;
    return (strstr(st->resp.body, "name=\"username\"") != NULL ||
            strstr(st->resp.body, "name='username'") != NULL) &&
           (strstr(st->resp.body, "name=\"password\"") != NULL ||
            strstr(st->resp.body, "name='password'") != NULL);
}

/*
 * Run the scripted user for |request_token| (grant or deny) and classify
 * what happened. |*consent_st| gets the consent POST step, when one was
 * made. |why| explains the non-redirect outcomes.
 */
enum aa_aw_user aa_aw_run_user(struct aa_client *c, const char *as_id, const char *request_token,
                               bool deny, struct aa_client_consent_result *cr,
                               const struct aa_client_step **consent_st, char *why, size_t cap)
{
    struct aa_client_user user = {.deny = deny};
    const struct aa_client_step *page, *login;
    struct aa_diag d;
    size_t from = aa_aw_next_seq(c);
    int rc;

    memset(cr, 0, sizeof(*cr));
    aa_diag_clear(&d);
    *consent_st = NULL;
    if (aa_conf_consent_manual()) {
        if (!aa_conf_consent_available(why, cap))
            return AA_AW_USER_NOT_SCRIPTABLE;
        aw_ask = deny ? "DENY consent (this step tests the denial)" : "grant consent";
        rc = aa_client_consent(c, as_id, request_token, NULL, &user, cr, &d);
        aw_ask = "grant consent";
        /* a wrong state is the auth server's to answer for: judged by the
         * caller from |cr| like every other manual answer */
        if (rc == AA_OK || rc == AA_E_CLIENT_DENIED || rc == AA_E_CLIENT_STATE)
            return AA_AW_USER_MANUAL;
        if (rc == AA_E_CLIENT_INPUT) {
            aa_snprintf(why, cap, "manual consent: nothing usable was entered at the prompt (%s)",
                        d.msg);
            return AA_AW_USER_NOT_SCRIPTABLE;
        }
        aa_snprintf(why, cap, "manual consent: %s: %s", aa_client_errstr(rc), d.msg);
        return AA_AW_USER_BROKEN;
    }
    rc = aa_client_consent(c, as_id, request_token, NULL, &user, cr, &d);
    page = NULL;
    for (size_t i = 0; i < aa_client_step_count(c); i++) {
        const struct aa_client_step *st = aa_client_step_at(c, i);
        if (st->seq >= from && st->kind == AA_CSTEP_CONSENT_PAGE) {
            page = st;
            break;
        }
    }
    login = aa_aw_last_step(c, AA_CSTEP_LOGIN, from);
    *consent_st = aa_aw_last_step(c, AA_CSTEP_CONSENT, from);
    if (page == NULL) {
        aa_snprintf(why, cap, "the consent page could not be requested: %s: %s",
                    aa_client_errstr(rc), d.msg);
        return AA_AW_USER_BROKEN;
    }
    if (!aa_aw_form_recognised(page)) {
        aa_snprintf(why, cap,
                    "consent UI not scriptable; use --consent manual (GET %s answered %ld "
                    "without the PROFILE#6.6 login form)",
                    page->url, page->has_response ? page->resp.status : 0L);
        return AA_AW_USER_NOT_SCRIPTABLE;
    }
    if (login == NULL || !login->has_response ||
        (login->resp.status != 303 && login->resp.status != 302)) {
        aa_snprintf(why, cap,
                    "the scripted user (%s) could not sign in: %s: %s; configure that user or "
                    "use --consent manual",
                    AA_CLIENT_DEFAULT_USER, aa_client_errstr(rc), d.msg);
        return AA_AW_USER_NO_LOGIN;
    }
    if (*consent_st == NULL) {
        aa_snprintf(why, cap, "no consent page after signing in: %s: %s", aa_client_errstr(rc),
                    d.msg);
        return AA_AW_USER_BROKEN;
    }
    return AA_AW_USER_REDIRECTED;
}

/* Record |what| for every check in |checks| according to a user run that
 * did not reach the consent decision. */
void aa_aw_user_not_run(enum aa_aw_user u, const char *why, const struct aa_check *const *checks)
{
    for (size_t i = 0; checks[i] != NULL; i++) {
        if (u == AA_AW_USER_NOT_SCRIPTABLE)
            aa_check_skip(checks[i], "%s", why);
        else
            aa_check_error(checks[i], "%s", why);
    }
}

void aa_aw_setup_failed(const struct aa_check *const *checks, const char *what,
                        const struct aa_diag *d)
{
    for (size_t i = 0; checks[i] != NULL; i++) {
        bool done = false;
        aa_check_outcome(checks[i], &done);
        if (done)
            continue;
        if (aa_conf_diag_unreachable(d))
            aa_check_skip(checks[i], "%s: %s", what, d->msg);
        else
            aa_check_error(checks[i], "%s: %s", what, d != NULL ? d->msg : "");
    }
}

/* PROFILE#6.4: Location = redirect_uri, then '?' ('&' when it has a query). */
bool aa_aw_location_under(const char *loc, const char *redirect_uri)
{
    size_t n = strlen(redirect_uri);
    char sep = strchr(redirect_uri, '?') != NULL ? '&' : '?';

    return loc != NULL && strncmp(loc, redirect_uri, n) == 0 && loc[n] == sep;
}

void aa_aw_note_token(const char *what, const char *jwt)
{
    cJSON *h = NULL, *cl = NULL;
    char *hs = NULL, *cs = NULL;

    if (jwt == NULL)
        return;
    if (aa_aw_peek(jwt, &h, &cl, NULL) == AA_OK) {
        hs = cJSON_PrintUnformatted(h);
        cs = cJSON_PrintUnformatted(cl);
    }
    aa_conf_note("%s: %s\n  header %s\n  claims %s", what, jwt, hs != NULL ? hs : "(undecodable)",
                 cs != NULL ? cs : "(undecodable)");
    cJSON_free(hs);
    cJSON_free(cs);
    cJSON_Delete(h);
    cJSON_Delete(cl);
}
