/*
 * Key discovery cache (PROFILE#3 [D-13]; see aa_discovery.h).
 *
 * Design choice: one table of entries keyed by URL (metadata documents and
 * JWKS alike). The table mutex is never held during network I/O: a fetch
 * marks its entry "fetching", drops the lock, and on completion bumps the
 * entry's generation and wakes waiters, who take the shared result. Entries
 * with waiters or a fetch in progress are pinned (|refs|) so eviction
 * cannot free them underneath.
 */
#include "aa_discovery.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../json/aa_json.h"

/* aa_strerror() reaches aa_http_strerror() through a weak reference, which
 * does not pull errors.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_http_strerror};

struct ent {
    char *url;
    bool is_meta;
    cJSON *doc;          /* metadata document */
    struct aa_jwks jwks; /* JWKS */
    bool valid;
    int64_t fetched_at;
    int64_t expires_at;
    bool forced_ever; /* a kid/jkt miss triggered a refetch at last_forced */
    int64_t last_forced;
    unsigned fetches;
    bool fetching;
    unsigned gen;
    unsigned refs;
    int last_rc;
    struct aa_diag last_diag;
    int64_t last_used;
};

struct aa_disc {
    struct aa_disc_opts o;
    char **trusted; /* canonical "https://authority" */
    size_t n_trusted;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ent **e;
    size_t n;
    unsigned total;
};

/* ---- options, clock, policy --------------------------------------------- */
static int64_t mono_now(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t now_of(const struct aa_disc *c)
{
    return c->o.clock(c->o.clock_ctx);
}

/* "scheme://canonical-authority" of |url|, or AA_E_HTTP_URL. */
static int origin_of(const char *url, char *out, size_t cap)
{
    struct aa_url u;
    char auth[AA_URL_AUTHORITY_MAX];
    int rc;

    rc = aa_url_parse(url, strlen(url), AA_URL_ALLOW_FRAGMENT, &u, NULL);
    if (rc != AA_OK)
        return rc;
    rc = aa_url_authority(&u, auth, sizeof(auth));
    if (rc != AA_OK)
        return rc;
    return aa_snprintf(out, cap, "%s://%s", u.https ? "https" : "http", auth);
}

bool aa_disc_default_allow(const struct aa_disc *c, const char *url)
{
    struct aa_url u;
    char origin[AA_URL_AUTHORITY_MAX + 16];

    if (c == NULL || url == NULL ||
        aa_url_parse(url, strlen(url), AA_URL_ALLOW_FRAGMENT, &u, NULL) != AA_OK)
        return false;
    if (c->o.dev_mode && aa_http_host_is_loopback(u.host))
        return true;
    if (!u.https || origin_of(url, origin, sizeof(origin)) != AA_OK)
        return false;
    for (size_t i = 0; i < c->n_trusted; i++)
        if (strcmp(c->trusted[i], origin) == 0)
            return true;
    return false;
}

static bool allowed(struct aa_disc *c, const char *url)
{
    if (c->o.allow != NULL)
        return c->o.allow(c->o.allow_ctx, url);
    return aa_disc_default_allow(c, url);
}

const char *aa_disc_id_member(const char *well_known)
{
    if (well_known == NULL)
        return NULL;
    if (strcmp(well_known, "aauth-agent") == 0)
        return "agent";
    if (strcmp(well_known, "aauth-resource") == 0)
        return "resource";
    if (strcmp(well_known, "aauth-issuer") == 0)
        return "issuer";
    return NULL;
}

struct aa_disc *aa_disc_new(const struct aa_disc_opts *o)
{
    struct aa_disc *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if (o != NULL)
        c->o = *o;
    if (c->o.clock == NULL) {
        c->o.clock = mono_now;
        c->o.clock_ctx = NULL;
    }
    if (c->o.default_ttl_s <= 0)
        c->o.default_ttl_s = AA_DISC_TTL_DEFAULT;
    if (c->o.max_ttl_s <= 0)
        c->o.max_ttl_s = AA_DISC_TTL_MAX;
    if (c->o.refetch_interval_s <= 0)
        c->o.refetch_interval_s = AA_DISC_REFETCH_INTERVAL;
    if (c->o.connect_timeout_ms <= 0)
        c->o.connect_timeout_ms = AA_HTTP_CONNECT_TIMEOUT_MS_DEFAULT;
    if (c->o.timeout_ms <= 0)
        c->o.timeout_ms = AA_HTTP_TIMEOUT_MS_DEFAULT;
    if (c->o.max_doc == 0)
        c->o.max_doc = AA_DISC_MAX_DOC;
    if (c->o.max_entries == 0)
        c->o.max_entries = AA_DISC_MAX_ENTRIES;
    c->o.trusted_origins = NULL;
    if (o != NULL && o->n_trusted > 0) {
        if (o->trusted_origins == NULL)
            goto fail;
        c->trusted = calloc(o->n_trusted, sizeof(char *));
        if (c->trusted == NULL)
            goto fail;
        for (size_t i = 0; i < o->n_trusted; i++) {
            char origin[AA_URL_AUTHORITY_MAX + 16];
            if (o->trusted_origins[i] == NULL ||
                origin_of(o->trusted_origins[i], origin, sizeof(origin)) != AA_OK)
                goto fail;
            c->trusted[i] = aa_strdup(origin);
            c->n_trusted = i + 1;
            if (c->trusted[i] == NULL)
                goto fail;
        }
    }
    c->e = calloc(c->o.max_entries, sizeof(*c->e));
    if (c->e == NULL)
        goto fail;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return c;
fail:
    for (size_t i = 0; i < c->n_trusted; i++)
        free(c->trusted[i]);
    free(c->trusted);
    free(c);
    return NULL;
}

static void ent_drop_data(struct ent *e)
{
    if (e->doc != NULL)
        cJSON_Delete(e->doc);
    e->doc = NULL;
    aa_jwks_cleanup(&e->jwks);
    memset(&e->jwks, 0, sizeof(e->jwks));
    e->valid = false;
}

static void ent_free(struct ent *e)
{
    ent_drop_data(e);
    free(e->url);
    free(e);
}

void aa_disc_free(struct aa_disc *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        ent_free(c->e[i]);
    free(c->e);
    for (size_t i = 0; i < c->n_trusted; i++)
        free(c->trusted[i]);
    free(c->trusted);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void aa_disc_flush(struct aa_disc *c)
{
    size_t k = 0;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i]->refs > 0 || c->e[i]->fetching)
            c->e[k++] = c->e[i]; /* in use: dropped when it is next idle */
        else
            ent_free(c->e[i]);
    }
    c->n = k;
    pthread_mutex_unlock(&c->mu);
}

unsigned aa_disc_fetch_count(struct aa_disc *c, const char *url)
{
    unsigned n = 0;

    if (c == NULL || url == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i]->url, url) == 0)
            n = c->e[i]->fetches;
    pthread_mutex_unlock(&c->mu);
    return n;
}

unsigned aa_disc_fetch_total(struct aa_disc *c)
{
    unsigned n;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    n = c->total;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- table (lock held) -------------------------------------------------- */
static struct ent *ent_get(struct aa_disc *c, const char *url, bool is_meta, int64_t now)
{
    struct ent *e;

    for (size_t i = 0; i < c->n; i++)
        if (c->e[i]->is_meta == is_meta && strcmp(c->e[i]->url, url) == 0)
            return c->e[i];
    if (c->n == c->o.max_entries) {
        /* evict expired idle entries first, then the least recently used */
        size_t k = 0, lru = SIZE_MAX;
        for (size_t i = 0; i < c->n; i++) {
            struct ent *x = c->e[i];
            bool idle = x->refs == 0 && !x->fetching;
            if (idle && (!x->valid || x->expires_at <= now))
                ent_free(x);
            else
                c->e[k++] = x;
        }
        c->n = k;
        if (c->n == c->o.max_entries) {
            for (size_t i = 0; i < c->n; i++)
                if (c->e[i]->refs == 0 && !c->e[i]->fetching &&
                    (lru == SIZE_MAX || c->e[i]->last_used < c->e[lru]->last_used))
                    lru = i;
            if (lru == SIZE_MAX)
                return NULL;
            ent_free(c->e[lru]);
            c->e[lru] = c->e[--c->n];
        }
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->url = aa_strdup(url);
    if (e->url == NULL) {
        free(e);
        return NULL;
    }
    e->is_meta = is_meta;
    c->e[c->n++] = e;
    return e;
}

/* ---- one network fetch (no lock) ----------------------------------------- */
struct fetched {
    cJSON *doc;
    struct aa_jwks jwks;
    int64_t ttl;
};

/* Cache-Control (RFC9111#5.2.2): max-age, no-store / no-cache -> 0. */
static int64_t ttl_from(const struct aa_disc *c, const struct aa_http_headers *h)
{
    int64_t ttl = c->o.default_ttl_s;

    for (size_t i = 0; i < h->n; i++) {
        const char *p = h->v[i].value;
        if (strcmp(h->v[i].lname, "cache-control") != 0)
            continue;
        while (*p) {
            const char *s, *e;
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            s = p;
            while (*p && *p != ',')
                p++;
            e = p;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (aa_str_eq_ci((struct aa_str){s, (size_t)(e - s)}, "no-store") ||
                aa_str_eq_ci((struct aa_str){s, (size_t)(e - s)}, "no-cache"))
                return 0;
            if ((size_t)(e - s) > 8 && aa_str_eq_ci((struct aa_str){s, 8}, "max-age=")) {
                const char *v = s + 8;
                size_t vn = (size_t)(e - v);
                int64_t n;
                if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
                    v++;
                    vn -= 2;
                }
                if (vn > 0 && v[0] != '-' && aa_parse_i64(v, vn, &n) == AA_OK)
                    ttl = n;
                else if (vn > 0 && v[0] != '-')
                    ttl = c->o.max_ttl_s; /* too large to parse: cap */
            }
        }
    }
    if (ttl > c->o.max_ttl_s)
        ttl = c->o.max_ttl_s;
    return ttl < 0 ? 0 : ttl;
}

static bool json_media_type(const char *ct, bool jwks)
{
    size_t n = 0;

    if (ct == NULL)
        return false;
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
        n++;
    if (aa_str_eq_ci((struct aa_str){ct, n}, "application/json"))
        return true;
    return jwks && aa_str_eq_ci((struct aa_str){ct, n}, "application/jwk-set+json");
}

static int fetch_doc(struct aa_disc *c, const char *url, bool is_meta, const char *expect_id,
                     const char *member, struct fetched *out, struct aa_diag *d)
{
    const char *what = is_meta ? "metadata" : "JWKS";
    struct aa_http_client_opts ho;
    struct aa_http_client *hc;
    struct aa_http_headers rq_h;
    struct aa_http_response rs;
    struct aa_diag sub;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&ho, 0, sizeof(ho));
    ho.connect_timeout_ms = c->o.connect_timeout_ms;
    ho.timeout_ms = c->o.timeout_ms;
    ho.max_body = c->o.max_doc;
    hc = aa_http_client_new(&ho);
    if (hc == NULL)
        return aa_fail(d, AA_E_NOMEM, NULL, "%s at %s: cannot create an HTTP client", what, url);
    aa_http_headers_init(&rq_h);
    aa_http_response_init(&rs);
    rc = aa_http_headers_add(&rq_h, "Accept", "application/json");
    if (rc != AA_OK)
        goto out;
    aa_diag_clear(&sub);
    rc = aa_http_get(hc, url, &rq_h, &rs, &sub);
    if (rc != AA_OK) {
        if (rc == AA_E_HTTP_TOO_LARGE)
            rc = aa_fail(d, rc, "PROFILE#3", "%s at %s: larger than %zu bytes (PROFILE#3)", what,
                         url, c->o.max_doc);
        else
            rc = aa_fail(d, rc, sub.ref, "%s fetch failed: %s", what, sub.msg);
        goto out;
    }
    if (rs.status >= 300 && rs.status < 400) {
        const char *loc = aa_http_headers_get(&rs.headers, "location");
        rc = aa_fail(d, AA_E_DISC_REDIRECT, "PROFILE#3",
                     "%s at %s: status %ld redirect%s%.200s not followed (PROFILE#3)", what, url,
                     rs.status, loc ? " to " : "", loc ? loc : "");
        goto out;
    }
    if (rs.status != 200) {
        rc = aa_fail(d, AA_E_DISC_STATUS, "PROFILE#3", "%s at %s: status %ld, expected 200", what,
                     url, rs.status);
        goto out;
    }
    if (!json_media_type(aa_http_headers_get(&rs.headers, "content-type"), !is_meta)) {
        const char *ct = aa_http_headers_get(&rs.headers, "content-type");
        rc = aa_fail(d, AA_E_DISC_CONTENT_TYPE, "PROFILE#3",
                     "%s at %s: Content-Type \"%.80s\", expected application/json", what, url,
                     ct ? ct : "(none)");
        goto out;
    }
    out->ttl = ttl_from(c, &rs.headers);
    if (is_meta) {
        struct aa_json_opts jo;
        const cJSON *m, *j;
        struct aa_url ju;

        memset(&jo, 0, sizeof(jo));
        jo.max_len = c->o.max_doc;
        rc = aa_json_parse(rs.body, rs.body_len, &jo, &out->doc, &sub);
        if (rc != AA_OK) {
            rc = aa_fail(d, rc == AA_E_NOMEM ? AA_E_NOMEM : AA_E_DISC_JSON, "PROFILE#3",
                         "metadata at %s: not a JSON object: %s", url, sub.msg);
            goto out;
        }
        m = cJSON_GetObjectItemCaseSensitive(out->doc, member);
        if (!cJSON_IsString(m) || m->valuestring == NULL) {
            rc = aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3",
                         "metadata at %s: member '%s' missing or not a string (PROFILE#3)", url,
                         member);
            goto out;
        }
        /* D-13: the document names the identifier it was fetched for,
         * compared as exact strings (PROFILE#1) */
        if (strcmp(m->valuestring, expect_id) != 0) {
            rc = aa_fail(d, AA_E_DISC_ID_MISMATCH, "PROFILE#3",
                         "metadata at %s: member '%s' is \"%.200s\", expected \"%s\" (PROFILE#3)",
                         url, member, m->valuestring, expect_id);
            goto out;
        }
        j = cJSON_GetObjectItemCaseSensitive(out->doc, "jwks_uri");
        if (!cJSON_IsString(j) || j->valuestring == NULL) {
            rc = aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3",
                         "metadata at %s: member 'jwks_uri' missing or not a string (PROFILE#3)",
                         url);
            goto out;
        }
        if (aa_url_parse(j->valuestring, strlen(j->valuestring), 0, &ju, &sub) != AA_OK) {
            rc = aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3", "metadata at %s: 'jwks_uri': %s", url,
                         sub.msg);
            goto out;
        }
    } else {
        rc = aa_jwks_parse(rs.body, rs.body_len, &out->jwks, &sub);
        if (rc != AA_OK) {
            rc = aa_fail(d, rc == AA_E_NOMEM ? AA_E_NOMEM : AA_E_DISC_JWKS, "PROFILE#3",
                         "JWKS at %s: %s (%s)", url, sub.msg, aa_strerror(rc));
            goto out;
        }
    }
    rc = AA_OK;
out:
    if (rc != AA_OK) {
        if (out->doc != NULL)
            cJSON_Delete(out->doc);
        out->doc = NULL;
        aa_jwks_cleanup(&out->jwks);
        memset(&out->jwks, 0, sizeof(out->jwks));
    }
    aa_http_response_cleanup(&rs);
    aa_http_headers_cleanup(&rq_h);
    aa_http_client_free(hc);
    return rc;
}

/*
 * Make |url| present in the cache. On AA_OK the table lock is HELD and
 * |*ep| is usable until the caller unlocks; |*fresh| tells whether the
 * data was fetched during this call (by us or by a fetch we waited for).
 * On error the lock is released.
 */
static int ensure(struct aa_disc *c, const char *url, bool is_meta, const char *expect_id,
                  const char *member, bool force, struct ent **ep, bool *fresh, struct aa_diag *d)
{
    struct ent *e;
    struct fetched f;
    struct aa_diag fd;
    int64_t now;
    int rc;

    *fresh = false;
    pthread_mutex_lock(&c->mu);
    now = now_of(c);
    e = ent_get(c, url, is_meta, now);
    if (e == NULL) {
        pthread_mutex_unlock(&c->mu);
        return aa_fail(d, AA_E_NOMEM, NULL, "discovery cache: no room for %s", url);
    }
    e->refs++;
    e->last_used = now;
    if (e->fetching) {
        unsigned gen = e->gen;
        while (e->gen == gen)
            pthread_cond_wait(&c->cv, &c->mu);
        e->refs--;
        if (e->last_rc != AA_OK) {
            rc = e->last_rc;
            if (d != NULL)
                *d = e->last_diag;
            pthread_mutex_unlock(&c->mu);
            return rc;
        }
        if (!e->valid) {
            pthread_mutex_unlock(&c->mu);
            return aa_fail(d, AA_E_INTERNAL, NULL, "discovery cache: %s vanished", url);
        }
        *fresh = true;
        *ep = e;
        return AA_OK;
    }
    if (!force && e->valid && now < e->expires_at) {
        e->refs--;
        *ep = e;
        return AA_OK;
    }
    e->fetching = true;
    pthread_mutex_unlock(&c->mu);

    aa_diag_clear(&fd);
    if (!allowed(c, url)) {
        rc = aa_fail(&fd, AA_E_DISC_NOT_ALLOWED, "PROFILE#3",
                     "%s at %s: fetch refused by the discovery allow policy (SSRF defence; "
                     "see docs/security.md)",
                     is_meta ? "metadata" : "JWKS", url);
        memset(&f, 0, sizeof(f));
    } else {
        pthread_mutex_lock(&c->mu);
        e->fetches++;
        c->total++;
        pthread_mutex_unlock(&c->mu);
        rc = fetch_doc(c, url, is_meta, expect_id, member, &f, &fd);
    }

    pthread_mutex_lock(&c->mu);
    now = now_of(c);
    e->fetching = false;
    e->gen++;
    e->refs--;
    e->last_rc = rc;
    e->last_diag = fd;
    if (rc == AA_OK) {
        ent_drop_data(e);
        e->doc = f.doc;
        e->jwks = f.jwks;
        e->valid = true;
        e->fetched_at = now;
        e->expires_at = now + f.ttl;
    } else if (!(force && e->valid && now < e->expires_at)) {
        /* a failed forced refetch keeps unexpired data; anything else drops it */
        ent_drop_data(e);
    }
    pthread_cond_broadcast(&c->cv);
    if (rc != AA_OK) {
        pthread_mutex_unlock(&c->mu);
        if (d != NULL)
            *d = fd;
        return rc;
    }
    *fresh = true;
    *ep = e;
    return AA_OK;
}

/* Validate (id, well_known) and build the metadata URL. */
static int meta_url(struct aa_disc *c, const char *id, const char *wk, struct aa_buf *url,
                    const char **member, struct aa_diag *d)
{
    int rc;

    if (c == NULL || id == NULL || wk == NULL)
        return AA_E_INVAL;
    *member = aa_disc_id_member(wk);
    if (*member == NULL)
        return aa_fail(d, AA_E_DISC_WELL_KNOWN, "PROFILE#3",
                       "well-known name \"%.64s\" is not aauth-agent, aauth-resource or "
                       "aauth-issuer",
                       wk);
    rc = aa_http_identifier_check(id, c->o.dev_mode, NULL, d);
    if (rc != AA_OK)
        return rc;
    rc = aa_http_well_known_url(id, wk, url);
    return rc == AA_E_INVAL ? aa_fail(d, AA_E_HTTP_IDENTIFIER, "PROFILE#1",
                                      "identifier \"%.120s\": cannot build a metadata URL", id)
                            : rc;
}

int aa_disc_metadata(struct aa_disc *c, const char *id, const char *well_known, cJSON **out,
                     struct aa_diag *d)
{
    struct aa_buf url;
    const char *member;
    struct ent *e;
    bool fresh;
    int rc;

    if (out == NULL)
        return AA_E_INVAL;
    *out = NULL;
    aa_buf_init(&url, AA_URL_MAX_LEN);
    rc = meta_url(c, id, well_known, &url, &member, d);
    if (rc == AA_OK)
        rc = ensure(c, url.p, true, id, member, false, &e, &fresh, d);
    if (rc == AA_OK) {
        *out = cJSON_Duplicate(e->doc, true);
        pthread_mutex_unlock(&c->mu);
        if (*out == NULL)
            rc = AA_E_NOMEM;
    }
    aa_buf_free(&url);
    return rc;
}

int aa_disc_metadata_str(struct aa_disc *c, const char *id, const char *well_known,
                         const char *member, char **out, struct aa_diag *d)
{
    cJSON *doc = NULL;
    const cJSON *m;
    int rc;

    if (out == NULL || member == NULL)
        return AA_E_INVAL;
    *out = NULL;
    rc = aa_disc_metadata(c, id, well_known, &doc, d);
    if (rc != AA_OK)
        return rc;
    m = cJSON_GetObjectItemCaseSensitive(doc, member);
    if (!cJSON_IsString(m) || m->valuestring == NULL) {
        rc = aa_fail(d, AA_E_DISC_MEMBER, "PROFILE#3",
                     "metadata of %s (%s): member '%s' missing or not a string", id, well_known,
                     member);
    } else {
        *out = aa_strdup(m->valuestring);
        rc = *out ? AA_OK : AA_E_NOMEM;
    }
    cJSON_Delete(doc);
    return rc;
}

/* The jwks_uri of (id, wk), copied. */
static int jwks_uri_of(struct aa_disc *c, const char *id, const char *wk, char **out,
                       struct aa_diag *d)
{
    struct aa_buf url;
    const char *member;
    struct ent *e;
    bool fresh;
    int rc;

    *out = NULL;
    aa_buf_init(&url, AA_URL_MAX_LEN);
    rc = meta_url(c, id, wk, &url, &member, d);
    if (rc == AA_OK)
        rc = ensure(c, url.p, true, id, member, false, &e, &fresh, d);
    if (rc == AA_OK) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(e->doc, "jwks_uri");
        *out = aa_strdup(j->valuestring); /* validated at fetch time */
        pthread_mutex_unlock(&c->mu);
        if (*out == NULL)
            rc = AA_E_NOMEM;
    }
    aa_buf_free(&url);
    return rc;
}

/* Find by kid (|jkt| NULL) or thumbprint; the PROFILE#3 refetch rule. */
static int key_from_jwks(struct aa_disc *c, const char *jwks_url, const char *kid, const char *jkt,
                         struct aa_jwk *out, struct aa_diag *d)
{
    const struct aa_jwk *k;
    struct ent *e;
    struct aa_diag rd;
    bool fresh;
    int64_t now, ago = 0;
    bool throttled;
    int rc, miss = jkt ? AA_E_DISC_JKT_UNKNOWN : AA_E_DISC_KID_UNKNOWN;
    const char *what = jkt ? "thumbprint" : "kid";
    const char *val = jkt ? jkt : kid;

    rc = ensure(c, jwks_url, false, NULL, NULL, false, &e, &fresh, d);
    if (rc != AA_OK)
        return rc;
    k = jkt ? aa_jwks_find_thumbprint(&e->jwks, jkt) : aa_jwks_find(&e->jwks, kid);
    if (k != NULL) {
        rc = aa_jwk_copy(out, k);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    now = now_of(c);
    throttled = e->forced_ever && now - e->last_forced < c->o.refetch_interval_s;
    if (throttled)
        ago = now - e->last_forced;
    if (fresh || throttled) {
        pthread_mutex_unlock(&c->mu);
        if (fresh)
            return aa_fail(d, miss, "PROFILE#3", "JWKS at %s: no key with %s \"%.128s\"", jwks_url,
                           what, val);
        return aa_fail(d, miss, "PROFILE#3",
                       "JWKS at %s: no key with %s \"%.128s\" (refetch suppressed: the last "
                       "one was %lld s ago, at most one per %lld s, PROFILE#3)",
                       jwks_url, what, val, (long long)ago, (long long)c->o.refetch_interval_s);
    }
    e->forced_ever = true;
    e->last_forced = now;
    pthread_mutex_unlock(&c->mu);

    aa_diag_clear(&rd);
    rc = ensure(c, jwks_url, false, NULL, NULL, true, &e, &fresh, &rd);
    if (rc != AA_OK)
        return aa_fail(d, miss, "PROFILE#3",
                       "JWKS at %s: no key with %s \"%.128s\"; the refetch failed: %s", jwks_url,
                       what, val, rd.msg);
    k = jkt ? aa_jwks_find_thumbprint(&e->jwks, jkt) : aa_jwks_find(&e->jwks, kid);
    if (k != NULL) {
        rc = aa_jwk_copy(out, k);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    pthread_mutex_unlock(&c->mu);
    return aa_fail(d, miss, "PROFILE#3",
                   "JWKS at %s: no key with %s \"%.128s\", even after a refetch", jwks_url, what,
                   val);
}

int aa_disc_key(struct aa_disc *c, const char *id, const char *well_known, const char *kid,
                struct aa_jwk *out, struct aa_diag *d)
{
    char *ju;
    int rc;

    if (c == NULL || kid == NULL || out == NULL)
        return AA_E_INVAL;
    rc = jwks_uri_of(c, id, well_known, &ju, d);
    if (rc != AA_OK)
        return rc;
    rc = key_from_jwks(c, ju, kid, NULL, out, d);
    free(ju);
    return rc;
}

int aa_disc_key_by_thumbprint(struct aa_disc *c, const char *id, const char *well_known,
                              const char *jkt, struct aa_jwk *out, struct aa_diag *d)
{
    char *ju;
    int rc;

    if (c == NULL || jkt == NULL || out == NULL)
        return AA_E_INVAL;
    rc = jwks_uri_of(c, id, well_known, &ju, d);
    if (rc != AA_OK)
        return rc;
    rc = key_from_jwks(c, ju, NULL, jkt, out, d);
    free(ju);
    return rc;
}

int aa_disc_jwks_url_key(struct aa_disc *c, const char *jwks_url, const char *kid,
                         struct aa_jwk *out, struct aa_diag *d)
{
    struct aa_url u;
    int rc;

    if (c == NULL || jwks_url == NULL || kid == NULL || out == NULL)
        return AA_E_INVAL;
    rc = aa_url_parse(jwks_url, strlen(jwks_url), 0, &u, d);
    if (rc != AA_OK)
        return rc;
    return key_from_jwks(c, jwks_url, kid, NULL, out, d);
}

int aa_disc_jwks(struct aa_disc *c, const char *id, const char *well_known, struct aa_jwks *out,
                 struct aa_diag *d)
{
    struct ent *e;
    bool fresh;
    char *ju;
    int rc;

    if (c == NULL || out == NULL)
        return AA_E_INVAL;
    memset(out, 0, sizeof(*out));
    rc = jwks_uri_of(c, id, well_known, &ju, d);
    if (rc != AA_OK)
        return rc;
    rc = ensure(c, ju, false, NULL, NULL, false, &e, &fresh, d);
    free(ju);
    if (rc != AA_OK)
        return rc;
    for (size_t i = 0; i < e->jwks.n && rc == AA_OK; i++)
        rc = aa_jwks_add(out, &e->jwks.keys[i]);
    pthread_mutex_unlock(&c->mu);
    if (rc != AA_OK) {
        aa_jwks_cleanup(out);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
