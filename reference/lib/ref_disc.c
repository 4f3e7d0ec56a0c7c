/*
 * ref_disc: the discovery cache of a reference server (PROFILE#3, D-13).
 *
 * Kept in its own object file: only the roles that resolve peers' keys
 * (resource, auth server) call ref_server_disc(), so a program that runs
 * just the agent server never links the discovery client. The cache is
 * freed through s->disc_free for the same reason.
 */
#include "ref_int.h"

static int64_t disc_clock(void *ctx)
{
    return aa_ref_clock_now(ctx);
}

int ref_server_disc(struct aa_ref_server *s, struct aa_disc **out, struct aa_diag *d)
{
    struct aa_disc_opts o = {0};
    int rc = AA_OK;

    if (s == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#3", "discovery: NULL argument");
    pthread_mutex_lock(&s->disc_mu);
    if (s->disc == NULL) {
        /* D-1: http loopback identifiers only in dev mode; https peers only
         * when their origin is trusted (SSRF policy of aa_discovery.h). The
         * cache runs on the server's clock, so a frozen clock also freezes
         * cache expiry and tests advance both together. */
        o.dev_mode = !s->strict_https;
        o.trusted_origins = (const char *const *)s->trusted_origins;
        o.n_trusted = s->n_trusted_origins;
        o.clock = disc_clock;
        o.clock_ctx = s->clock;
        s->disc = aa_disc_new(&o);
        if (s->disc == NULL) {
            rc = aa_fail(d, AA_E_NOMEM, "PROFILE#3", "%s: cannot create the discovery cache",
                         s->label);
        } else {
            s->own_disc = true;
            s->disc_free = aa_disc_free;
        }
    }
    *out = s->disc;
    pthread_mutex_unlock(&s->disc_mu);
    return rc;
}
