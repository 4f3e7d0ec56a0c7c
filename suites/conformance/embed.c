/*
 * embed: the harness's reference servers (reference/lib) for every role
 * a selected case needs and the user did not put under test, plus the
 * extra instances cases ask for (instances.c). They run in the runner's
 * own process on loopback (port 0 unless --listen says otherwise); the
 * case processes reach them over HTTP like any target, and reach the
 * runner itself through the control channel (control.c).
 *
 * Every embedded server's private key is written 0600 into the run's
 * temporary directory (keys/<name>.jwk) so cases can forge tokens signed
 * by it (aa_conf_role_key).
 *
 * Design choice: a role or instance that cannot start is not fatal for
 * the run. It is recorded as unavailable with the reason, the cases that
 * need it do not run, and their checks are reported as ERROR naming that
 * reason - the other roles are still tested.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aa_ref.h"
#include "runner_int.h"

#define CLIENT_PORT_AGENT 8001 /* PROFILE#1 topology, for --target-delegate */
#define CLIENT_PORT_RESOURCE 8002
#define CLIENT_PORT_AUTH 8003

struct emb_inst {
    char *name;
    char *case_key;
    struct aa_ref_server *srv;
    struct aa_ref_clock *clock; /* own clock (time travel, client servers) or NULL */
    struct aa_rec *front;       /* recording front (client-*) or hostile server */
    struct aa_rec *sink;        /* client-hostile: the redirect / insecure-URL target */
};

struct aa_embed {
    struct aa_ref_server *srv[AA_CONF_N_ROLES];
    struct aa_ref_clock clock; /* shared by the role servers and shared instances */
    const char *trusted[AA_CONF_N_ROLES];
    size_t n_trusted;
    struct emb_inst *insts;
    size_t n_insts;
    struct aa_ref_clock client_clock; /* client-*: always the real time */
    const char *keys_dir;             /* conf->results_dir/keys, or NULL */
    char keys_path[4096];
    unsigned key_seq;
};

/*
 * What the reference implements of the optional features, so the
 * capability-gated checks run against it (aa_conf_declared). Read from
 * reference/lib/ref_*.c and PROFILE#3/#6:
 *   agent-server  user-authorization   the PROFILE#3 user-authorization metadata
 *                                      members (always published)
 *                 delegate-token       POST /delegate/token (PROFILE#6.1, D-4)
 *                 delegate-token-hwk   an hwk-signed /delegate/token request is
 *                                      verified and bound to cnf_jwk (PROFILE#6.1 MAY)
 *   resource      resource-token       POST /resource/token (PROFILE#6.2)
 *                 scope-descriptions   supported_scopes and scope_descriptions
 *                 public               GET /public rate-limited for unsigned
 *                                      callers (PROFILE#6.2, #7 F1.4; R-12, the
 *                                      default limit of 60/min)
 *                 data-exchange        GET /data-exchange (PROFILE#6.7) - only when
 *                                      a downstream (resource2) is configured
 *   auth-server   request_types_supported:auth|code|exchange|refresh (also in
 *                                      its metadata), scopes_supported,
 *                                      consent-ui (the scripted PROFILE#6.6 contract)
 * Not implemented, so never declared: x509 (PROFILE#2.3),
 * algorithms other than ed25519 (D-12).
 */
static const char *const agent_features[] = {"user-authorization", "delegate-token",
                                             "delegate-token-hwk", NULL};
static const char *const resource_features[] = {"resource-token", "scope-descriptions", "public",
                                                NULL};
static const char *const resource_features_x[] = {"resource-token", "scope-descriptions", "public",
                                                  "data-exchange", NULL};
static const char *const auth_features[] = {"request_types_supported:auth",
                                            "request_types_supported:code",
                                            "request_types_supported:exchange",
                                            "request_types_supported:refresh",
                                            "scopes_supported",
                                            "consent-ui",
                                            NULL};

const char *const *aa_embedded_features(enum aa_role role)
{
    switch (role) {
    case AA_ROLE_AGENT_SERVER:
        return agent_features;
    case AA_ROLE_RESOURCE:
        return resource_features;
    case AA_ROLE_AUTH_SERVER:
        return auth_features;
    default:
        return NULL;
    }
}

/* The resource declares data-exchange only when it was started with a
 * downstream (case.c asks through this). */
const char *const *aa_embedded_features_x(enum aa_role role, bool downstream)
{
    if (role == AA_ROLE_RESOURCE && downstream)
        return resource_features_x;
    return aa_embedded_features(role);
}

static void set_owned(char **field, const char *v)
{
    free(*field);
    *field = v != NULL ? aa_strdup(v) : NULL;
}

static char *reason(const char *what, int rc, const struct aa_diag *d)
{
    struct aa_buf b;
    char diag[AA_DIAG_MSG_MAX + 128] = "";

    if (d != NULL && d->msg[0] != '\0')
        aa_diag_format(d, diag, sizeof(diag));
    aa_buf_init(&b, 4096);
    if (rc == AA_E_UNSUPPORTED)
        aa_buf_printf(&b, "the embedded reference %s is not available in this build (%s%s%s)", what,
                      aa_conf_strerror(rc), diag[0] ? ": " : "", diag);
    else
        aa_buf_printf(&b, "the embedded reference %s could not start: %s%s%s", what,
                      aa_conf_strerror(rc), diag[0] ? ": " : "", diag);
    return b.err ? aa_strdup("embedded reference could not start") : aa_buf_detach(&b, NULL);
}

static void unavailable(struct aa_rc_role *ro, enum aa_role r, int rc, const struct aa_diag *d)
{
    free(ro->unavailable);
    ro->unavailable = reason(aa_role_name(r), rc, d);
}

/* keys/<name>.jwk, 0600, for aa_conf_role_key. A failure only means the
 * key is not offered to cases (they SKIP/ERROR on AA_E_IO). */
static void save_key(struct aa_embed *e, const char *name, const struct aa_jwk *k, char **path_out,
                     char **kid_out)
{
    char path[4096];

    if (k == NULL)
        return;
    set_owned(kid_out, k->kid);
    if (e->keys_dir == NULL)
        return;
    if (aa_snprintf(path, sizeof(path), "%s/%s-%u.jwk", e->keys_dir, name, e->key_seq++) != AA_OK)
        return;
    if (aa_jwk_save_file(k, path) == AA_OK)
        set_owned(path_out, path);
}

static int common(struct aa_embed *e, const char *listen, const char *public_url,
                  struct aa_ref_common *c, char *addr, size_t cap)
{
    uint16_t port = 0;

    if (listen != NULL) {
        if (aa_parse_listen(listen, addr, cap, &port) != AA_OK)
            return AA_E_INVAL;
        c->bind_addr = addr;
        /* The user asked for this listen address explicitly (--listen):
         * a non-loopback bind is the documented lab setup, so the
         * reference's refusal of remote dev mode does not apply. */
        c->allow_dev_remote = true;
    }
    c->port = port;
    c->id = public_url;
    c->clock = &e->clock;
    c->verbosity = 0;
    c->trusted_origins = e->n_trusted > 0 ? e->trusted : NULL;
    c->n_trusted_origins = e->n_trusted;
    return AA_OK;
}

static void started(struct aa_embed *e, struct aa_rconf *conf, enum aa_role r,
                    struct aa_ref_server *s)
{
    struct aa_rc_role *ro = &conf->roles[r];

    e->srv[r] = s;
    ro->embedded = true;
    set_owned(&ro->id, aa_ref_id(s));
    set_owned(&ro->connect_url, aa_ref_url(s));
    save_key(e, aa_role_name(r), aa_ref_key(s), &ro->key_file, &ro->kid);
    if (ro->id != NULL && strncmp(ro->id, "http:", 5) == 0)
        conf->dev_mode = true;
}

/* The identifier of a role for peers to name: the target's URL or the
 * embedded server's id; NULL when neither. */
static const char *role_id(const struct aa_rconf *conf, enum aa_role r)
{
    return conf->roles[r].url != NULL ? conf->roles[r].url : conf->roles[r].id;
}

/* ---- instances -------------------------------------------------------------- */

/* Instance |name| needed: listed, or implied by a listed one. */
static bool inst_needed(const char *const *names, const char *name)
{
    for (const char *const *p = names; p != NULL && *p != NULL; p++)
        for (const struct aa_inst_def *def = aa_inst_find(*p); def != NULL;
             def = def->implies ? aa_inst_find(def->implies) : NULL)
            if (strcmp(def->name, name) == 0)
                return true;
    return false;
}

static struct emb_inst *emb_add(struct aa_embed *e, const char *name, const char *case_key)
{
    struct emb_inst *nv = realloc(e->insts, (e->n_insts + 1) * sizeof(*nv));

    if (nv == NULL)
        return NULL;
    e->insts = nv;
    memset(&nv[e->n_insts], 0, sizeof(nv[0]));
    nv[e->n_insts].name = aa_strdup(name);
    nv[e->n_insts].case_key = case_key ? aa_strdup(case_key) : NULL;
    return &e->insts[e->n_insts++];
}

static struct emb_inst *emb_find(struct aa_embed *e, const char *name, const char *case_key)
{
    struct emb_inst *shared = NULL;

    for (size_t i = 0; e != NULL && i < e->n_insts; i++) {
        struct emb_inst *x = &e->insts[i];
        if (x->name == NULL || strcmp(x->name, name) != 0)
            continue;
        if (x->case_key == NULL)
            shared = x;
        else if (case_key != NULL && strcmp(x->case_key, case_key) == 0)
            return x;
    }
    return shared;
}

/* The identifier other servers name for instance |name|: the external
 * URL, the embedded id, or NULL. */
static const char *inst_id(struct aa_rconf *conf, const char *name)
{
    struct aa_rc_inst *in = aa_rconf_inst(conf, name, NULL, false);

    if (in == NULL)
        return NULL;
    return in->url != NULL ? in->url : in->id;
}

static void inst_started(struct aa_embed *e, struct aa_rconf *conf, struct aa_rc_inst *in,
                         struct emb_inst *x, struct aa_ref_server *s, const char *public_id)
{
    x->srv = s;
    in->embedded = true;
    set_owned(&in->id, public_id != NULL ? public_id : aa_ref_id(s));
    set_owned(&in->connect_url, public_id != NULL ? public_id : aa_ref_url(s));
    save_key(e, in->name, aa_ref_key(s), &in->key_file, &in->kid);
    if (in->id != NULL && strncmp(in->id, "http:", 5) == 0)
        conf->dev_mode = true;
}

static void inst_unavailable(struct aa_rc_inst *in, const char *what, int rc,
                             const struct aa_diag *d)
{
    free(in->unavailable);
    in->unavailable = reason(what, rc, d);
}

/* How a start_* ends: the server is up and recorded, or the instance is
 * marked unavailable with the reason; a start that returned no server
 * and no error is a harness fault. */
static int inst_outcome(struct aa_embed *e, struct aa_rconf *conf, struct aa_rc_inst *in,
                        struct emb_inst *x, struct aa_ref_server *s, const char *public_id, int rc,
                        const struct aa_diag *d)
{
    if (rc == AA_OK && s != NULL) {
        inst_started(e, conf, in, x, s, public_id);
        return AA_OK;
    }
    if (rc == AA_OK)
        rc = AA_E_INTERNAL;
    inst_unavailable(in, in->name, rc, d);
    return rc;
}

/* An instance of a role under test is the user's to provide. */
static bool inst_external_only(struct aa_rconf *conf, struct aa_rc_inst *in,
                               const struct aa_inst_def *def)
{
    struct aa_buf b;

    if (in->url != NULL) {
        set_owned(&in->id, in->url);
        set_owned(&in->connect_url, in->url);
        in->embedded = false;
        return true;
    }
    if (def->role < AA_ROLE_AGENT_SERVER || def->role > AA_ROLE_AUTH_SERVER ||
        conf->roles[def->role].url == NULL)
        return false;
    /* PROFILE#6.7: a resource under test that declares the F7 trigger calls
     * R2 itself; the harness plays that downstream (R2, and AS2 through
     * the auth2 it names) for the target to call */
    if (strcmp(def->name, "resource2") == 0 &&
        aa_strv_has(&conf->roles[AA_ROLE_RESOURCE].declare, "data-exchange"))
        return false;
    aa_buf_init(&b, 4096);
    if (def->external_ok)
        aa_buf_printf(&b,
                      "%s is under test (%s), so the harness does not embed %s (%s); provide "
                      "one with --instance %s=URL (run file: \"instance\": {\"%s\": URL})",
                      aa_role_name(def->role), conf->roles[def->role].url, def->name, def->what,
                      def->name, def->name);
    else
        aa_buf_printf(&b,
                      "%s is under test (%s) and the harness cannot provide %s (%s) for an "
                      "external implementation",
                      aa_role_name(def->role), conf->roles[def->role].url, def->name, def->what);
    set_owned(&in->unavailable, b.p != NULL ? b.p : "instance not available");
    in->skip = true;
    aa_buf_free(&b);
    return true;
}

static int start_auth(struct aa_embed *e, struct aa_rconf *conf, struct aa_rc_inst *in,
                      struct emb_inst *x, bool consent, const char *const *trusted_issuers,
                      size_t n_trusted_issuers, struct aa_ref_clock *clock, const char *public_id)
{
    struct aa_ref_auth_config cfg;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;
    char addr[64];
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    aa_diag_clear(&d);
    aa_ref_auth_defaults(&cfg);
    rc = common(e, in->listen, public_id, &cfg.c, addr, sizeof(addr));
    if (clock != NULL)
        cfg.c.clock = clock;
    cfg.require_user_consent = consent;
    cfg.trusted_issuers = trusted_issuers;
    cfg.n_trusted_issuers = n_trusted_issuers;
    if (rc == AA_OK)
        rc = aa_ref_auth_start(&cfg, &s, &d);
    return inst_outcome(e, conf, in, x, s, public_id, rc, &d);
}

static int start_resource(struct aa_embed *e, struct aa_rconf *conf, struct aa_rc_inst *in,
                          struct emb_inst *x, const char *auth_server, struct aa_ref_clock *clock,
                          const char *public_id)
{
    struct aa_ref_resource_config cfg;
    struct aa_ref_server *s = NULL;
    struct aa_diag d;
    char addr[64];
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    aa_diag_clear(&d);
    aa_ref_resource_defaults(&cfg);
    rc = common(e, in->listen, public_id, &cfg.c, addr, sizeof(addr));
    if (clock != NULL)
        cfg.c.clock = clock;
    cfg.auth_server = auth_server;
    if (rc == AA_OK)
        rc = aa_ref_resource_start(&cfg, &s, &d);
    return inst_outcome(e, conf, in, x, s, public_id, rc, &d);
}

/* ---- the delegate client's servers (client-*) -------------------------------- */

/* Where a client-* front listens: --listen NAME, else with the delegate
 * under test the role's --listen or the PROFILE#1 port (8001-8003), else
 * any free port. */
static const char *client_listen(struct aa_rconf *conf, struct aa_rc_inst *in, enum aa_role r,
                                 int fixed, char *buf, size_t cap)
{
    if (in->listen != NULL)
        return in->listen;
    if (conf->roles[AA_ROLE_DELEGATE].command == NULL)
        return NULL;
    if (conf->roles[r].listen != NULL && !conf->roles[r].embedded)
        return conf->roles[r].listen;
    aa_snprintf(buf, cap, "127.0.0.1:%d", fixed);
    return buf;
}

static struct aa_rec *start_front(struct aa_rc_inst *in, const char *listen, enum aa_rec_kind kind,
                                  const struct aa_jwk *key, struct aa_diag *d, int *rcp)
{
    struct aa_rec_opts ro = {0};
    struct aa_rec *rec = NULL;
    char addr[64];
    uint16_t port = 0;

    ro.name = in->name;
    ro.kind = kind;
    ro.key = key;
    if (listen != NULL) {
        if (aa_parse_listen(listen, addr, sizeof(addr), &port) != AA_OK) {
            *rcp = aa_fail(d, AA_E_INVAL, "README#cli", "--listen %s: bad address", listen);
            return NULL;
        }
        ro.bind = addr;
        ro.port = port;
    }
    *rcp = aa_rec_start(&ro, &rec, d);
    return *rcp == AA_OK ? rec : NULL;
}

static void start_client_set(struct aa_embed *e, struct aa_rconf *conf)
{
    static const struct {
        const char *name;
        enum aa_role role;
        int port;
    } set[] = {{"client-agent", AA_ROLE_AGENT_SERVER, CLIENT_PORT_AGENT},
               {"client-auth", AA_ROLE_AUTH_SERVER, CLIENT_PORT_AUTH},
               {"client-resource", AA_ROLE_RESOURCE, CLIENT_PORT_RESOURCE}};
    struct aa_ref_clock *clock = &e->client_clock;
    const char *failed = NULL;

    /* The delegate under test reads the real clock: these servers do too,
     * whatever --clock says. */
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
        struct aa_rc_inst *in = aa_rconf_inst(conf, set[i].name, NULL, true);
        struct emb_inst *x = in ? emb_add(e, set[i].name, NULL) : NULL;
        struct aa_ref_server *s = NULL;
        struct aa_diag d;
        char lbuf[64];
        const char *listen;
        int rc = AA_OK;

        if (in == NULL || x == NULL)
            break;
        aa_diag_clear(&d);
        if (failed != NULL) {
            set_owned(&in->unavailable, failed);
            continue;
        }
        listen = client_listen(conf, in, set[i].role, set[i].port, lbuf, sizeof(lbuf));
        x->front = start_front(in, listen, AA_REC_FRONT, NULL, &d, &rc);
        if (x->front != NULL) {
            const char *id = aa_rec_origin(x->front);
            char addr[64];
            if (set[i].role == AA_ROLE_AGENT_SERVER) {
                struct aa_ref_agent_config cfg;
                memset(&cfg, 0, sizeof(cfg));
                aa_ref_agent_defaults(&cfg);
                rc = common(e, NULL, id, &cfg.c, addr, sizeof(addr));
                cfg.c.clock = clock;
                if (rc == AA_OK)
                    rc = aa_ref_agent_start(&cfg, &s, &d);
            } else if (set[i].role == AA_ROLE_AUTH_SERVER) {
                struct aa_ref_auth_config cfg;
                memset(&cfg, 0, sizeof(cfg));
                aa_ref_auth_defaults(&cfg);
                rc = common(e, NULL, id, &cfg.c, addr, sizeof(addr));
                cfg.c.clock = clock;
                if (rc == AA_OK)
                    rc = aa_ref_auth_start(&cfg, &s, &d);
            } else {
                struct aa_ref_resource_config cfg;
                memset(&cfg, 0, sizeof(cfg));
                aa_ref_resource_defaults(&cfg);
                rc = common(e, NULL, id, &cfg.c, addr, sizeof(addr));
                cfg.c.clock = clock;
                cfg.auth_server = inst_id(conf, "client-auth");
                if (rc == AA_OK)
                    rc = aa_ref_resource_start(&cfg, &s, &d);
            }
        }
        if (rc == AA_OK && s != NULL) {
            aa_rec_set_upstream(x->front, aa_ref_url(s));
            inst_started(e, conf, in, x, s, aa_rec_origin(x->front));
        } else {
            if (rc == AA_OK)
                rc = AA_E_INTERNAL;
            inst_unavailable(in, in->name, rc, &d);
            if (listen != NULL && conf->roles[AA_ROLE_DELEGATE].command != NULL) {
                char *r2 = in->unavailable;
                struct aa_buf b;
                aa_buf_init(&b, 8192);
                aa_buf_printf(&b,
                              "%s (the delegate's servers listen on %s; choose another "
                              "address with --listen %s=ADDR:PORT)",
                              r2, listen, in->name);
                if (!b.err) {
                    in->unavailable = aa_buf_detach(&b, NULL);
                    free(r2);
                } else {
                    aa_buf_free(&b);
                }
            }
            failed = in->unavailable;
        }
    }
}

static void start_client_hostile(struct aa_embed *e, struct aa_rconf *conf)
{
    struct aa_rc_inst *in = aa_rconf_inst(conf, "client-hostile", NULL, true);
    struct emb_inst *x = in ? emb_add(e, "client-hostile", NULL) : NULL;
    struct aa_rc_inst *peer = aa_rconf_inst(conf, "client-resource", NULL, false);
    struct aa_jwk key = {0};
    struct aa_diag d;
    int rc = AA_OK;

    if (in == NULL || x == NULL)
        return;
    aa_diag_clear(&d);
    if (peer != NULL && peer->unavailable != NULL) {
        set_owned(&in->unavailable, peer->unavailable);
        return;
    }
    if ((rc = aa_jwk_generate(AA_KTY_OKP, "hostile-key-1", &key)) == AA_OK &&
        (x->sink = start_front(in, NULL, AA_REC_SINK, NULL, &d, &rc)) != NULL &&
        (x->front = start_front(in, in->listen, AA_REC_HOSTILE, &key, &d, &rc)) != NULL) {
        aa_rec_set_peer(x->front, aa_rec_origin(x->sink));
        in->embedded = true;
        set_owned(&in->id, aa_rec_origin(x->front));
        set_owned(&in->connect_url, aa_rec_origin(x->front));
        save_key(e, in->name, &key, &in->key_file, &in->kid);
    } else {
        inst_unavailable(in, in->name, rc == AA_OK ? AA_E_INTERNAL : rc, &d);
    }
    aa_jwk_cleanup(&key);
}

static void start_instances(struct aa_embed *e, struct aa_rconf *conf, const char *const *names,
                            const char *const *case_keys)
{
    const char *as1 = role_id(conf, AA_ROLE_AUTH_SERVER);
    size_t n = 0;

    for (const char *const *p = names; p != NULL && *p != NULL; p++)
        n++;
    /* auth2 (trusts AS1), resource2 (names auth2) first: the main resource
     * is started after them with resource2 as its downstream. */
    static const char *const shared_order[] = {"auth2", "resource2", "auth-consent",
                                               "resource-consent"};
    for (size_t k = 0; k < sizeof(shared_order) / sizeof(shared_order[0]); k++) {
        const char *name = shared_order[k];
        const struct aa_inst_def *def = aa_inst_find(name);
        struct aa_rc_inst *in;
        struct emb_inst *x;

        if (!inst_needed(names, name))
            continue; /* not needed (even when configured) */
        if ((in = aa_rconf_inst(conf, name, NULL, true)) == NULL)
            continue;
        if (inst_external_only(conf, in, def))
            continue;
        if ((x = emb_add(e, name, NULL)) == NULL)
            continue;
        if (strcmp(name, "auth2") == 0) {
            const char *trusted[1] = {as1};
            (void)start_auth(e, conf, in, x, false, as1 ? trusted : NULL, as1 ? 1 : 0, NULL, NULL);
        } else if (strcmp(name, "auth-consent") == 0) {
            (void)start_auth(e, conf, in, x, true, NULL, 0, NULL, NULL);
        } else {
            const char *as =
                inst_id(conf, strcmp(name, "resource2") == 0 ? "auth2" : "auth-consent");
            if (as == NULL) {
                struct aa_rc_inst *dep = aa_rconf_inst(
                    conf, strcmp(name, "resource2") == 0 ? "auth2" : "auth-consent", NULL, false);
                set_owned(&in->unavailable, dep && dep->unavailable
                                                ? dep->unavailable
                                                : "the auth server it names is not available");
                in->skip = dep != NULL && dep->skip;
                continue;
            }
            (void)start_resource(e, conf, in, x, as, NULL, NULL);
        }
    }
    /* per-case time-travel auth servers: own clock each */
    for (size_t i = 0; i < n; i++) {
        const struct aa_inst_def *def = aa_inst_find(names[i]);
        struct aa_rc_inst *in;
        struct emb_inst *x;

        if (def == NULL || !def->per_case || case_keys == NULL || case_keys[i] == NULL)
            continue;
        if ((in = aa_rconf_inst(conf, names[i], case_keys[i], true)) == NULL)
            continue;
        if (inst_external_only(conf, in, def))
            continue;
        if ((x = emb_add(e, names[i], case_keys[i])) == NULL ||
            (x->clock = calloc(1, sizeof(*x->clock))) == NULL)
            continue;
        x->clock->frozen = conf->clock_frozen;
        x->clock->value = conf->clock_value;
        (void)start_auth(e, conf, in, x, true, NULL, 0, x->clock, NULL);
    }
}

int aa_embed_start(struct aa_rconf *conf, unsigned needs, const char *const *inst_names,
                   const char *const *case_keys, struct aa_embed **out)
{
    static const enum aa_role order[] = {AA_ROLE_AGENT_SERVER, AA_ROLE_AUTH_SERVER,
                                         AA_ROLE_RESOURCE};
    struct aa_embed *e = calloc(1, sizeof(*e));

    *out = NULL;
    if (e == NULL)
        return AA_E_NOMEM;
    e->clock.frozen = conf->clock_frozen;
    e->clock.value = conf->clock_value;
    if (conf->results_dir != NULL &&
        aa_snprintf(e->keys_path, sizeof(e->keys_path), "%s/keys", conf->results_dir) == AA_OK &&
        (mkdir(e->keys_path, 0700) == 0 || errno == EEXIST))
        e->keys_dir = e->keys_path;
    /* Identities under test are https in production: the embedded roles
     * must be allowed to fetch their metadata (discovery allowlist). */
    for (int r = AA_ROLE_AGENT_SERVER; r <= AA_ROLE_AUTH_SERVER; r++)
        if (conf->roles[r].url != NULL && strncmp(conf->roles[r].url, "https://", 8) == 0)
            e->trusted[e->n_trusted++] = conf->roles[r].url;
    /* instances that need roles started */
    for (const char *const *p = inst_names; p != NULL && *p != NULL; p++)
        for (const struct aa_inst_def *def = aa_inst_find(*p); def != NULL;
             def = def->implies ? aa_inst_find(def->implies) : NULL)
            needs |= def->role_needs;

    /* the resource names an auth server in its challenges */
    if ((needs & AA_NEED(AA_ROLE_RESOURCE)) && conf->roles[AA_ROLE_RESOURCE].url == NULL)
        needs |= AA_NEED(AA_ROLE_AUTH_SERVER);

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        enum aa_role r = order[i];
        struct aa_rc_role *ro = &conf->roles[r];
        struct aa_ref_server *s = NULL;
        struct aa_diag d;
        char addr[64];
        int rc;

        if (r == AA_ROLE_RESOURCE)
            start_instances(e, conf, inst_names, case_keys);
        if ((needs & AA_NEED(r)) == 0 || ro->url != NULL)
            continue;
        aa_diag_clear(&d);
        if (r == AA_ROLE_AGENT_SERVER) {
            struct aa_ref_agent_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            aa_ref_agent_defaults(&cfg);
            rc = common(e, ro->listen, ro->public_url, &cfg.c, addr, sizeof(addr));
            if (rc == AA_OK)
                rc = aa_ref_agent_start(&cfg, &s, &d);
        } else if (r == AA_ROLE_AUTH_SERVER) {
            struct aa_ref_auth_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            aa_ref_auth_defaults(&cfg);
            rc = common(e, ro->listen, ro->public_url, &cfg.c, addr, sizeof(addr));
            if (rc == AA_OK)
                rc = aa_ref_auth_start(&cfg, &s, &d);
        } else {
            struct aa_ref_resource_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            aa_ref_resource_defaults(&cfg);
            rc = common(e, ro->listen, ro->public_url, &cfg.c, addr, sizeof(addr));
            cfg.auth_server = role_id(conf, AA_ROLE_AUTH_SERVER);
            if (cfg.auth_server == NULL) {
                struct aa_buf b;
                aa_buf_init(&b, 8192);
                aa_buf_printf(&b,
                              "the embedded reference resource names the auth server in its "
                              "challenges, and the auth server is not available: %s",
                              conf->roles[AA_ROLE_AUTH_SERVER].unavailable
                                  ? conf->roles[AA_ROLE_AUTH_SERVER].unavailable
                                  : "not started");
                set_owned(&ro->unavailable, b.p != NULL ? b.p : "auth server not available");
                aa_buf_free(&b);
                continue;
            }
            /* F7: R1's GET /data-exchange calls R2 (PROFILE#6.7) */
            cfg.downstream = inst_id(conf, "resource2");
            if (rc == AA_OK)
                rc = aa_ref_resource_start(&cfg, &s, &d);
        }
        if (rc == AA_OK && s != NULL)
            started(e, conf, r, s);
        else
            unavailable(ro, r, rc == AA_OK ? AA_E_INTERNAL : rc, &d);
    }
    if (inst_needed(inst_names, "client-agent"))
        start_client_set(e, conf);
    if (inst_needed(inst_names, "client-hostile"))
        start_client_hostile(e, conf);
    *out = e;
    return AA_OK;
}

struct aa_ref_server *aa_embed_server(struct aa_embed *e, const char *name, const char *case_key)
{
    enum aa_role r;
    struct emb_inst *x;

    if (e == NULL || name == NULL)
        return NULL;
    if (aa_role_from_name(name, &r) == AA_OK && r >= AA_ROLE_AGENT_SERVER &&
        r <= AA_ROLE_AUTH_SERVER)
        return e->srv[r];
    x = emb_find(e, name, case_key);
    return x != NULL ? x->srv : NULL;
}

struct aa_ref_clock *aa_embed_clock(struct aa_embed *e, const char *name, const char *case_key)
{
    struct emb_inst *x = emb_find(e, name, case_key);

    /* only instances with their own clock can travel: moving the shared
     * clock would disturb every other case */
    if (x == NULL || x->srv == NULL || x->case_key == NULL)
        return NULL;
    return x->clock;
}

struct aa_rec *aa_embed_recorder(struct aa_embed *e, const char *name)
{
    struct emb_inst *x;

    /* the hostile server's sink has no instance entry of its own */
    if (name != NULL && strcmp(name, "client-sink") == 0) {
        x = emb_find(e, "client-hostile", NULL);
        return x != NULL ? x->sink : NULL;
    }
    x = emb_find(e, name, NULL);
    return x != NULL ? x->front : NULL;
}

void aa_embed_stop(struct aa_embed *e)
{
    if (e == NULL)
        return;
    /* fronts first: they forward to the servers behind them */
    for (size_t i = e->n_insts; i > 0; i--) {
        aa_rec_stop(e->insts[i - 1].front);
        aa_rec_stop(e->insts[i - 1].sink);
    }
    for (size_t i = e->n_insts; i > 0; i--)
        aa_ref_stop(e->insts[i - 1].srv);
    for (int r = AA_CONF_N_ROLES - 1; r >= 0; r--)
        aa_ref_stop(e->srv[r]);
    for (size_t i = 0; i < e->n_insts; i++) {
        free(e->insts[i].clock);
        free(e->insts[i].name);
        free(e->insts[i].case_key);
    }
    free(e->insts);
    free(e);
}
