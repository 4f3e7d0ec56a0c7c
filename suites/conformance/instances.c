/*
 * instances: the extra servers a case may need besides the three roles
 * (AA_CASE .instances = AA_INSTANCES(...)): the second resource and auth
 * server of the PROFILE#1 F7 topology, a consent pair for F4, a
 * time-travel auth server, and the recorded servers of the delegate
 * client suite. embed.c starts them; this file names them.
 *
 * Design choice: an instance belongs to a role. When the user puts that
 * role under test the harness does not embed the instance next to the
 * implementation (it would judge nothing of it): the user provides it with
 * --instance NAME=URL, or the cases that need it are SKIP with the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "runner_int.h"

#define NEED_AS AA_NEED(AA_ROLE_AUTH_SERVER)

const struct aa_inst_def aa_inst_defs[] = {
    {"resource2", AA_ROLE_RESOURCE, false, true, "auth2", 0,
     "the second resource R2 of the F7 topology (PROFILE#1: its challenges name auth2; the "
     "resource's GET /data-exchange calls it)"},
    {"auth2", AA_ROLE_AUTH_SERVER, false, true, NULL, NEED_AS,
     "the second auth server AS2 of the F7 topology (PROFILE#1: trusts the auth server AS1 "
     "for token exchange)"},
    {"auth-consent", AA_ROLE_AUTH_SERVER, false, true, NULL, 0,
     "an auth server with require_user_consent=true (PROFILE#7 F4, D-19)"},
    {"resource-consent", AA_ROLE_RESOURCE, false, true, "auth-consent", 0,
     "a resource whose challenges name auth-consent (PROFILE#7 F4)"},
    {"auth-timetravel", AA_ROLE_AUTH_SERVER, true, false, NULL, 0,
     "an auth server with require_user_consent=true and its own clock, one per case, moved "
     "forward with aa_conf_advance_clock (codes, refresh and request tokens that expire)"},
    {"client-agent", AA_ROLE_AGENT_SERVER, false, false, NULL, 0,
     "the agent server the delegate client under test talks to (recorded)"},
    {"client-auth", AA_ROLE_AUTH_SERVER, false, false, "client-agent", 0,
     "the auth server the delegate client under test talks to (recorded)"},
    {"client-resource", AA_ROLE_RESOURCE, false, false, "client-auth", 0,
     "the resource the delegate client under test fetches (recorded)"},
    {"client-hostile", AA_ROLE_NONE, false, false, "client-resource", 0,
     "a hostile agent server / resource / auth server for the PROFILE#9 CL cases"},
};

const size_t aa_n_inst_defs = sizeof(aa_inst_defs) / sizeof(aa_inst_defs[0]);

const struct aa_inst_def *aa_inst_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < aa_n_inst_defs; i++)
        if (strcmp(aa_inst_defs[i].name, name) == 0)
            return &aa_inst_defs[i];
    return NULL;
}

static bool same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

struct aa_rc_inst *aa_rconf_inst(struct aa_rconf *c, const char *name, const char *case_key,
                                 bool create)
{
    struct aa_rc_inst *nv;

    for (size_t i = 0; i < c->n_insts; i++)
        if (strcmp(c->insts[i].name, name) == 0 && same(c->insts[i].case_key, case_key))
            return &c->insts[i];
    if (!create || c->n_insts >= AA_CONF_MAX_LIST * 4)
        return NULL;
    if ((nv = realloc(c->insts, (c->n_insts + 1) * sizeof(*nv))) == NULL)
        return NULL;
    c->insts = nv;
    memset(&nv[c->n_insts], 0, sizeof(nv[0]));
    nv[c->n_insts].name = aa_strdup(name);
    nv[c->n_insts].case_key = case_key != NULL ? aa_strdup(case_key) : NULL;
    if (nv[c->n_insts].name == NULL || (case_key != NULL && nv[c->n_insts].case_key == NULL)) {
        free(nv[c->n_insts].name);
        free(nv[c->n_insts].case_key);
        return NULL;
    }
    return &c->insts[c->n_insts++];
}
