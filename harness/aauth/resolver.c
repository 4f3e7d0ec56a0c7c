/*
 * resolver.c: key resolvers for the verifier: one over the discovery cache
 * (PROFILE#3) and one over a fixed in-memory table (tests, in-process peers).
 */
#include <stdlib.h>
#include <string.h>

#include "aauth_int.h"

/* aa_strerror() reaches the tables through weak references, which do not
 * pull jwks.c and errors.c out of their archives; these strong ones do,
 * so a program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_jwk_strerror,
                                                                             aa_http_strerror};

/* ---- static table -------------------------------------------------------- */

struct static_entry {
    char *id;  /* identifier, or JWKS URL */
    char *wk;  /* well-known name; NULL for URL entries */
    struct aa_jwk key;
};

struct aa_static_keys {
    struct static_entry *v;
    size_t n;
};

struct aa_static_keys *aa_static_keys_new(void)
{
    return calloc(1, sizeof(struct aa_static_keys));
}

void aa_static_keys_free(struct aa_static_keys *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].wk);
        aa_jwk_cleanup(&s->v[i].key);
    }
    free(s->v);
    free(s);
}

static int add(struct aa_static_keys *s, const char *id, const char *wk, const struct aa_jwk *key)
{
    struct static_entry *nv, *e;
    int rc;
    if (s == NULL || id == NULL || key == NULL)
        return AA_E_INVAL;
    nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return AA_E_NOMEM;
    s->v = nv;
    e = &s->v[s->n];
    memset(e, 0, sizeof(*e));
    e->id = aa_strdup(id);
    e->wk = wk != NULL ? aa_strdup(wk) : NULL;
    rc = (e->id == NULL || (wk != NULL && e->wk == NULL)) ? AA_E_NOMEM
                                                           : aa_jwk_public(&e->key, key);
    if (rc != AA_OK) {
        free(e->id);
        free(e->wk);
        return rc;
    }
    /* aa_jwk_public may not carry the kid over: keep the caller's. */
    memcpy(e->key.kid, key->kid, sizeof(e->key.kid));
    s->n++;
    return AA_OK;
}

int aa_static_keys_add(struct aa_static_keys *s, const char *id, const char *well_known,
                       const struct aa_jwk *key)
{
    return add(s, id, well_known, key);
}

int aa_static_keys_add_url(struct aa_static_keys *s, const char *jwks_url,
                           const struct aa_jwk *key)
{
    return add(s, jwks_url, NULL, key);
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int lookup(struct aa_static_keys *s, const char *id, const char *wk, const char *kid,
                  struct aa_jwk *out, struct aa_diag *d)
{
    bool known = false;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].id, id) != 0 || !same(s->v[i].wk, wk))
            continue;
        known = true;
        if (kid != NULL && strcmp(s->v[i].key.kid, kid) == 0)
            return aa_jwk_copy(out, &s->v[i].key);
    }
    if (known)
        return aa_fail(d, AA_E_JWKS_KID_UNKNOWN, "PROFILE#2.3", "no key with kid \"%.100s\" for %.200s",
                       kid != NULL ? kid : "", id);
    return aa_fail(d, AA_E_DISC_STATUS, "PROFILE#3", "no keys are known for %.200s%s%.60s", id,
                   wk != NULL ? " /.well-known/" : "", wk != NULL ? wk : "");
}

static int static_metadata_key(void *ctx, const char *id, const char *wk, const char *kid,
                               struct aa_jwk *out, struct aa_diag *d)
{
    return lookup(ctx, id, wk, kid, out, d);
}

static int static_url_key(void *ctx, const char *url, const char *kid, struct aa_jwk *out,
                          struct aa_diag *d)
{
    return lookup(ctx, url, NULL, kid, out, d);
}

void aa_key_resolver_static(struct aa_key_resolver *r, struct aa_static_keys *s)
{
    if (r == NULL)
        return;
    r->metadata_key = static_metadata_key;
    r->jwks_url_key = static_url_key;
    r->ctx = s;
}
