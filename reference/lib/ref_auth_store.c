/*
 * ref_auth_store: the auth server's bounded secret tables (request tokens,
 * authorization codes, refresh tokens; PROFILE#6.3, #6.4, D-5, D-20).
 *
 * Each table is a fixed array of |cap| slots behind one mutex. A secret is
 * 32 random bytes in base64url (256 bits, over the 128 the profile asks
 * for). Lookups compare the presented value with every live slot in
 * constant time (aa_ct_streq), so neither the value nor its position leaks
 * through timing beyond "how many slots exist".
 *
 * Design choice: a full table refuses the NEW entry (429 with Retry-After)
 * instead of evicting a live one. Evicting would silently invalidate a
 * code or refresh token some client still holds; refusing keeps memory
 * bounded under load and tells the client when to come back. Expired
 * entries are reclaimed lazily whenever a put finds no free slot.
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "ref_auth_int.h"

void auth_grant_cleanup(struct auth_grant *g)
{
    if (g == NULL)
        return;
    free(g->agent);
    free(g->delegate);
    free(g->cnf_json);
    free(g->aud);
    free(g->scope);
    free(g->redirect_uri);
    memset(g, 0, sizeof(*g));
    g->user = -1;
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return AA_OK;
    *dst = aa_strdup(src);
    return *dst != NULL ? AA_OK : AA_E_NOMEM;
}

int auth_grant_copy(struct auth_grant *dst, const struct auth_grant *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->user = -1;
    if (dup_opt(&dst->agent, src->agent) != AA_OK ||
        dup_opt(&dst->delegate, src->delegate) != AA_OK ||
        dup_opt(&dst->cnf_json, src->cnf_json) != AA_OK || dup_opt(&dst->aud, src->aud) != AA_OK ||
        dup_opt(&dst->scope, src->scope) != AA_OK ||
        dup_opt(&dst->redirect_uri, src->redirect_uri) != AA_OK) {
        auth_grant_cleanup(dst);
        return AA_E_NOMEM;
    }
    memcpy(dst->jkt, src->jkt, sizeof(dst->jkt));
    dst->agent_claim = src->agent_claim;
    dst->id_scopes = src->id_scopes;
    dst->user = src->user;
    return AA_OK;
}

int auth_random_b64(size_t nbytes, char *out, size_t cap)
{
    uint8_t raw[64];
    size_t n = 0;
    int rc;

    if (nbytes == 0 || nbytes > sizeof(raw))
        return AA_E_INVAL;
    if ((rc = aa_random(raw, nbytes)) != AA_OK)
        return rc;
    rc = aa_b64_encode(raw, nbytes, AA_B64_URL, false, out, cap, &n);
    aa_cleanse(raw, sizeof(raw));
    return rc == AA_OK ? AA_OK : AA_E_LIMIT;
}

int auth_table_init(struct auth_table *t, size_t cap)
{
    memset(t, 0, sizeof(*t));
    if (cap == 0 || cap > AUTH_TABLE_MAX)
        return AA_E_INVAL;
    t->v = calloc(cap, sizeof(*t->v));
    if (t->v == NULL)
        return AA_E_NOMEM;
    t->cap = cap;
    for (size_t i = 0; i < cap; i++)
        t->v[i].g.user = -1;
    pthread_mutex_init(&t->mu, NULL);
    return AA_OK;
}

static void entry_clear(struct auth_entry *e)
{
    auth_grant_cleanup(&e->g);
    aa_cleanse(e->secret, sizeof(e->secret));
    e->live = false;
    e->used = false;
    e->created = e->expires = 0;
}

void auth_table_cleanup(struct auth_table *t)
{
    if (t == NULL || t->v == NULL)
        return;
    for (size_t i = 0; i < t->cap; i++)
        entry_clear(&t->v[i]);
    free(t->v);
    t->v = NULL;
    pthread_mutex_destroy(&t->mu);
}

int auth_table_put(struct auth_table *t, int64_t now, int64_t ttl, struct auth_grant *g,
                   char secret[AUTH_SECRET_LEN + 1], int64_t *retry_after)
{
    struct auth_entry *slot = NULL;
    int64_t earliest = INT64_MAX;
    int rc;

    *retry_after = 0;
    rc = auth_random_b64(AUTH_SECRET_BYTES, secret, AUTH_SECRET_LEN + 1);
    if (rc != AA_OK)
        return rc;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->cap && slot == NULL; i++)
        if (!t->v[i].live)
            slot = &t->v[i];
    if (slot == NULL) {
        /* Reclaim every expired slot, not just one, so a burst of puts
         * after a quiet period pays for the sweep once. */
        for (size_t i = 0; i < t->cap; i++) {
            struct auth_entry *e = &t->v[i];
            if (e->expires <= now) {
                entry_clear(e);
                if (slot == NULL)
                    slot = e;
            } else if (e->expires < earliest) {
                earliest = e->expires;
            }
        }
    }
    if (slot == NULL) {
        pthread_mutex_unlock(&t->mu);
        aa_cleanse(secret, AUTH_SECRET_LEN + 1);
        *retry_after = earliest > now ? earliest - now : 1;
        return AA_E_LIMIT;
    }
    slot->live = true;
    slot->used = false;
    slot->created = now;
    slot->expires = now + ttl;
    memcpy(slot->secret, secret, AUTH_SECRET_LEN + 1);
    slot->g = *g;
    pthread_mutex_unlock(&t->mu);
    memset(g, 0, sizeof(*g));
    g->user = -1;
    return AA_OK;
}

struct auth_entry *auth_table_find_locked(struct auth_table *t, const char *secret)
{
    struct auth_entry *hit = NULL;

    pthread_mutex_lock(&t->mu);
    /* A presented value of the wrong length cannot match; checking that
     * first leaks only the (public) length of our secrets. */
    if (secret == NULL || strlen(secret) != AUTH_SECRET_LEN)
        return NULL;
    for (size_t i = 0; i < t->cap; i++) {
        bool eq = aa_ct_streq(t->v[i].secret, secret);
        if (t->v[i].live && eq && hit == NULL)
            hit = &t->v[i];
    }
    return hit;
}

void auth_table_unlock(struct auth_table *t)
{
    pthread_mutex_unlock(&t->mu);
}

size_t auth_table_live(struct auth_table *t, int64_t now)
{
    size_t n = 0;

    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i].live && t->v[i].expires > now)
            n++;
    pthread_mutex_unlock(&t->mu);
    return n;
}
