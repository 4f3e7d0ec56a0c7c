/*
 * embed: the harness's reference servers (reference/lib) for every role
 * a selected case needs and the user did not put under test. They run in
 * the runner's own process on loopback (port 0 unless --listen says
 * otherwise); the case processes reach them over HTTP like any target.
 *
 * Design choice: a role that cannot start is not fatal for the run. It is
 * recorded as unavailable with the reason, the cases that need it do not
 * run, and their checks are reported as ERROR naming that reason - the
 * other roles are still tested.
 */
#include <stdlib.h>
#include <string.h>

#include "aa_ref.h"
#include "runner_int.h"

struct aa_embed {
    struct aa_ref_server *srv[AA_CONF_N_ROLES];
    struct aa_ref_clock clock; /* shared by every embedded server */
    const char *trusted[AA_CONF_N_ROLES];
    size_t n_trusted;
};

/* What the reference implements of the optional features, so the
 * capability-gated checks run against it (aa_conf_declared). */
static const char *const agent_features[] = {"user-authorization", "delegate-token", NULL};
static const char *const resource_features[] = {NULL};
static const char *const auth_features[] = {NULL};

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

static void set_owned(char **field, const char *v)
{
    free(*field);
    *field = v != NULL ? aa_strdup(v) : NULL;
}

static void unavailable(struct aa_rc_role *ro, enum aa_role r, int rc, const struct aa_diag *d)
{
    struct aa_buf b;
    char diag[AA_DIAG_MSG_MAX + 128] = "";

    if (d != NULL && d->msg[0] != '\0')
        aa_diag_format(d, diag, sizeof(diag));
    aa_buf_init(&b, 4096);
    if (rc == AA_E_UNSUPPORTED)
        aa_buf_printf(&b, "the embedded reference %s is not available in this build (%s%s%s)",
                      aa_role_name(r), aa_conf_strerror(rc), diag[0] ? ": " : "", diag);
    else
        aa_buf_printf(&b, "the embedded reference %s could not start: %s%s%s", aa_role_name(r),
                      aa_conf_strerror(rc), diag[0] ? ": " : "", diag);
    set_owned(&ro->unavailable, b.p != NULL ? b.p : "embedded reference could not start");
    aa_buf_free(&b);
}

static int common(struct aa_embed *e, const struct aa_rc_role *ro, struct aa_ref_common *c,
                  char *addr, size_t cap)
{
    uint16_t port = 0;

    if (ro->listen != NULL) {
        if (aa_parse_listen(ro->listen, addr, cap, &port) != AA_OK)
            return AA_E_INVAL;
        c->bind_addr = addr;
    }
    c->port = port;
    c->id = ro->public_url;
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
    if (ro->id != NULL && strncmp(ro->id, "http:", 5) == 0)
        conf->dev_mode = true;
}

int aa_embed_start(struct aa_rconf *conf, unsigned needs, struct aa_embed **out)
{
    static const enum aa_role order[] = {AA_ROLE_AGENT_SERVER, AA_ROLE_AUTH_SERVER,
                                         AA_ROLE_RESOURCE};
    struct aa_embed *e = calloc(1, sizeof(*e));

    *out = NULL;
    if (e == NULL)
        return AA_E_NOMEM;
    e->clock.frozen = conf->clock_frozen;
    e->clock.value = conf->clock_value;
    /* Identities under test are https in production: the embedded roles
     * must be allowed to fetch their metadata (discovery allowlist). */
    for (int r = AA_ROLE_AGENT_SERVER; r <= AA_ROLE_AUTH_SERVER; r++)
        if (conf->roles[r].url != NULL && strncmp(conf->roles[r].url, "https://", 8) == 0)
            e->trusted[e->n_trusted++] = conf->roles[r].url;

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        enum aa_role r = order[i];
        struct aa_rc_role *ro = &conf->roles[r];
        struct aa_ref_server *s = NULL;
        struct aa_diag d;
        char addr[64];
        int rc;

        if ((needs & AA_NEED(r)) == 0 || ro->url != NULL)
            continue;
        aa_diag_clear(&d);
        if (r == AA_ROLE_AGENT_SERVER) {
            struct aa_ref_agent_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            aa_ref_agent_defaults(&cfg);
            rc = common(e, ro, &cfg.c, addr, sizeof(addr));
            if (rc == AA_OK)
                rc = aa_ref_agent_start(&cfg, &s, &d);
        } else if (r == AA_ROLE_AUTH_SERVER) {
            struct aa_ref_auth_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            aa_ref_auth_defaults(&cfg);
            rc = common(e, ro, &cfg.c, addr, sizeof(addr));
            if (rc == AA_OK)
                rc = aa_ref_auth_start(&cfg, &s, &d);
        } else {
            struct aa_ref_resource_config cfg;
            const struct aa_rc_role *as = &conf->roles[AA_ROLE_AUTH_SERVER];
            memset(&cfg, 0, sizeof(cfg));
            aa_ref_resource_defaults(&cfg);
            rc = common(e, ro, &cfg.c, addr, sizeof(addr));
            cfg.auth_server = as->url != NULL ? as->url : as->id;
            if (rc == AA_OK)
                rc = aa_ref_resource_start(&cfg, &s, &d);
        }
        if (rc == AA_OK && s != NULL)
            started(e, conf, r, s);
        else
            unavailable(ro, r, rc == AA_OK ? AA_E_INTERNAL : rc, &d);
    }
    *out = e;
    return AA_OK;
}

void aa_embed_stop(struct aa_embed *e)
{
    if (e == NULL)
        return;
    for (int r = AA_CONF_N_ROLES - 1; r >= 0; r--)
        aa_ref_stop(e->srv[r]);
    free(e);
}
