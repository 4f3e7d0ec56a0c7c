/*
 * resolver_disc.c: the verifier's key resolver over the discovery cache
 * (PROFILE#3). A file of its own so programs that never use discovery do
 * not link it.
 */
#include "aauth_int.h"

/* ---- discovery cache ----------------------------------------------------- */

static int disc_metadata_key(void *ctx, const char *id, const char *wk, const char *kid,
                             struct aa_jwk *out, struct aa_diag *d)
{
    return aa_disc_key(ctx, id, wk, kid, out, d);
}

static int disc_url_key(void *ctx, const char *url, const char *kid, struct aa_jwk *out,
                        struct aa_diag *d)
{
    return aa_disc_jwks_url_key(ctx, url, kid, out, d);
}

void aa_key_resolver_disc(struct aa_key_resolver *r, struct aa_disc *disc)
{
    if (r == NULL)
        return;
    r->metadata_key = disc_metadata_key;
    r->jwks_url_key = disc_url_key;
    r->ctx = disc;
}

