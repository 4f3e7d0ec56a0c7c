/*
 * nonce.c: Nonce format, generator and the bounded replay cache
 * (PROFILE#2.9, D-10).
 *
 * Design choice: fixed-size entries holding SHA-256 of the (authority,
 * thumbprint, nonce) triple, found through an open-addressing index (linear
 * probing, backward-shift deletion, so no tombstones; twice as many slots
 * as entries so probes stay short) and threaded on an expiry wheel of
 * one-second buckets. Every call first empties the buckets of the seconds
 * that passed since the previous call, so expired entries leave in
 * amortised O(1) and a full cache refuses a new nonce in O(1) instead of
 * scanning the table; dropping a live entry would re-open a replay window,
 * so it is never done.
 */
#include "aa_aauth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../b64/aa_b64.h"
#include "../jwk/aa_jwk.h"

/* aa_strerror() reaches aa_aauth_strerror() through a weak reference, which
 * does not pull aauth.c out of the archive; this strong one does, so a
 * program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_aauth_strerror};

int64_t aa_clock_now(const struct aa_clock *c)
{
    if (c != NULL && c->now != NULL)
        return c->now(c->ctx);
    return (int64_t)time(NULL);
}

int aa_nonce_check(const struct aa_profile *p, const char *nonce, size_t len,
                   struct aa_diag *d)
{
    uint8_t raw[AA_NONCE_MAX_CHARS];
    size_t n = 0, min_bytes = AA_NONCE_MIN_BYTES, max_chars = AA_NONCE_MAX_CHARS;
    struct aa_diag bd;

    if (p != NULL) {
        if (p->limit.nonce_min_bytes > 0)
            min_bytes = p->limit.nonce_min_bytes;
        if (p->limit.nonce_max_chars > 0 && p->limit.nonce_max_chars < max_chars)
            max_chars = p->limit.nonce_max_chars;
    }
    if (nonce == NULL)
        return AA_E_INVAL;
    if (len == 0)
        return aa_fail(d, AA_E_NONCE_FORMAT, "PROFILE#2.9", "Nonce: empty value");
    if (len > max_chars)
        return aa_fail(d, AA_E_NONCE_FORMAT, "PROFILE#2.9",
                       "Nonce: %zu characters, more than the %zu allowed (D-10)", len,
                       max_chars);
    for (size_t i = 0; i < len; i++) {
        char c = nonce[i];
        if (c == '=')
            return aa_fail(d, AA_E_NONCE_FORMAT, "PROFILE#2.9",
                           "Nonce: contains '=' at offset %zu; base64url without padding "
                           "is required",
                           i);
        if (c == '+' || c == '/')
            return aa_fail(d, AA_E_NONCE_FORMAT, "PROFILE#2.9",
                           "Nonce: contains '%c' at offset %zu (standard base64); "
                           "base64url is required",
                           c, i);
    }
    aa_diag_clear(&bd);
    if (aa_b64_decode(nonce, len, AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, raw, sizeof(raw), &n,
                      &bd) != AA_OK)
        return aa_fail(d, AA_E_NONCE_FORMAT, "PROFILE#2.9",
                       "Nonce: not base64url without padding: %s", bd.msg);
    if (n < min_bytes)
        return aa_fail(d, AA_E_NONCE_FORMAT, "PROFILE#2.9",
                       "Nonce: decodes to %zu bytes, fewer than %zu (96 bits)", n, min_bytes);
    return AA_OK;
}

int aa_nonce_generate(char out[AA_NONCE_GEN_LEN + 1])
{
    uint8_t raw[AA_NONCE_GEN_BYTES];
    size_t n = 0;
    int rc;

    if (out == NULL)
        return AA_E_INVAL;
    rc = aa_random(raw, sizeof(raw));
    if (rc != AA_OK)
        return rc;
    rc = aa_b64_encode(raw, sizeof(raw), AA_B64_URL, false, out, AA_NONCE_GEN_LEN + 1, &n);
    aa_cleanse(raw, sizeof(raw));
    return rc == AA_OK && n == AA_NONCE_GEN_LEN ? AA_OK : AA_E_INTERNAL;
}

/* ---- replay cache -------------------------------------------------------- */

#define NIL UINT32_MAX
#define AA_NONCE_MAX_CAPACITY ((size_t)1 << 24)
/* Expiry wheel: one bucket per second, at least retention + WHEEL_SLACK
 * seconds around, so only an entry whose created lies more than the slack
 * in the future shares a bucket with earlier laps. */
#define WHEEL_SLACK 1024
#define WHEEL_MAX ((size_t)1 << 20)

struct entry {
    uint8_t key[32];  /* SHA-256 of the triple; first member (see itab) */
    int64_t expires;
    uint32_t next;    /* next in its expiry bucket, or in the free list */
    uint32_t owner;   /* index into owners, NIL without a per-key quota */
};

/* One (authority, thumbprint) pair with live entries (per-key quota). */
struct owner {
    uint8_t key[32];
    uint32_t count;
    uint32_t next_free;
};

/*
 * Open-addressing index (linear probing, backward-shift deletion, no
 * tombstones) of records that start with a 32-byte key: slot values are
 * record index + 1, 0 is empty.
 */
struct itab {
    uint32_t *slot;
    size_t mask;
    const uint8_t *base;
    size_t stride;
};

struct aa_nonce_cache {
    pthread_mutex_t mu;
    struct entry *e; /* |capacity| records */
    uint32_t e_free;
    struct itab idx;
    uint32_t *bucket; /* head entry per (expires mod nbuckets), NIL when empty */
    size_t nbuckets;  /* power of two */
    int64_t swept;    /* every entry with expires <= swept has been removed */
    bool started;
    size_t count;
    size_t capacity;
    int64_t retention;
    size_t per_key_max;
    struct owner *o; /* |capacity| records when per_key_max > 0 */
    uint32_t o_free;
    struct itab oidx;
    uint64_t work;
    struct aa_clock clock;
};

static size_t pow2_at_least(size_t n)
{
    size_t p = 2;
    while (p < n)
        p <<= 1;
    return p;
}

static const uint8_t *itab_key(const struct itab *t, uint32_t i)
{
    return t->base + (size_t)i * t->stride;
}

static size_t itab_home(const struct itab *t, const uint8_t key[32])
{
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = (h << 8) | key[i];
    return (size_t)(h & t->mask);
}

/* Record index of |key| (NIL if absent); |*pos| is its slot or the empty
 * slot where it would go. */
static uint32_t itab_find(struct aa_nonce_cache *c, const struct itab *t, const uint8_t key[32],
                          size_t *pos)
{
    size_t i = itab_home(t, key);
    for (;;) {
        uint32_t v = t->slot[i];
        c->work++;
        if (v == 0) {
            *pos = i;
            return NIL;
        }
        if (memcmp(itab_key(t, v - 1), key, 32) == 0) {
            *pos = i;
            return v - 1;
        }
        i = (i + 1) & t->mask;
    }
}

/* Remove record |r| from the index. Backward-shift deletion keeps every
 * probe chain unbroken. */
static void itab_remove(struct aa_nonce_cache *c, struct itab *t, uint32_t r)
{
    size_t i, j;

    (void)itab_find(c, t, itab_key(t, r), &i);
    t->slot[i] = 0;
    j = i;
    for (;;) {
        size_t k;
        j = (j + 1) & t->mask;
        c->work++;
        if (t->slot[j] == 0)
            return;
        k = itab_home(t, itab_key(t, t->slot[j] - 1));
        /* move j back to i unless its home k lies cyclically in (i, j] */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        t->slot[i] = t->slot[j];
        t->slot[j] = 0;
        i = j;
    }
}

static int itab_init(struct itab *t, size_t records, const void *base, size_t stride)
{
    size_t n = pow2_at_least(2 * records);

    t->slot = calloc(n, sizeof(*t->slot));
    t->mask = n - 1;
    t->base = base;
    t->stride = stride;
    return t->slot ? AA_OK : AA_E_NOMEM;
}

struct aa_nonce_cache *aa_nonce_cache_new(const struct aa_nonce_cache_opts *opts)
{
    struct aa_nonce_cache *c;
    size_t cap = AA_NONCE_DEFAULT_CAPACITY;
    int64_t wheel;

    if (opts != NULL && opts->capacity > 0)
        cap = opts->capacity > AA_NONCE_MAX_CAPACITY ? AA_NONCE_MAX_CAPACITY : opts->capacity;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->capacity = cap;
    c->retention = AA_NONCE_DEFAULT_RETENTION;
    if (opts != NULL) {
        if (opts->retention > 0)
            c->retention = opts->retention;
        c->clock = opts->clock;
        c->per_key_max = opts->per_key_max < cap ? opts->per_key_max : 0;
    }
    wheel = c->retention < (int64_t)WHEEL_MAX ? c->retention + WHEEL_SLACK : (int64_t)WHEEL_MAX;
    c->nbuckets = pow2_at_least((size_t)wheel);
    if (c->nbuckets > WHEEL_MAX)
        c->nbuckets = WHEEL_MAX;
    c->e = calloc(cap, sizeof(*c->e));
    c->bucket = malloc(c->nbuckets * sizeof(*c->bucket));
    if (c->e == NULL || c->bucket == NULL ||
        itab_init(&c->idx, cap, c->e, sizeof(*c->e)) != AA_OK)
        goto fail;
    if (c->per_key_max > 0) {
        c->o = calloc(cap, sizeof(*c->o));
        if (c->o == NULL || itab_init(&c->oidx, cap, c->o, sizeof(*c->o)) != AA_OK)
            goto fail;
        for (size_t i = 0; i < cap; i++)
            c->o[i].next_free = i + 1 < cap ? (uint32_t)(i + 1) : NIL;
        c->o_free = 0;
    }
    for (size_t i = 0; i < cap; i++) {
        c->e[i].next = i + 1 < cap ? (uint32_t)(i + 1) : NIL;
        c->e[i].owner = NIL;
    }
    c->e_free = 0;
    for (size_t i = 0; i < c->nbuckets; i++)
        c->bucket[i] = NIL;
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail;
    return c;
fail:
    free(c->e);
    free(c->bucket);
    free(c->idx.slot);
    free(c->o);
    free(c->oidx.slot);
    free(c);
    return NULL;
}

void aa_nonce_cache_free(struct aa_nonce_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->e);
    free(c->bucket);
    free(c->idx.slot);
    free(c->o);
    free(c->oidx.slot);
    free(c);
}

static size_t bucket_of(const struct aa_nonce_cache *c, int64_t expires)
{
    return (size_t)((uint64_t)expires & (c->nbuckets - 1));
}

/* Drop entry |r| (already unlinked from its bucket). */
static void release(struct aa_nonce_cache *c, uint32_t r)
{
    struct entry *e = &c->e[r];

    itab_remove(c, &c->idx, r);
    if (e->owner != NIL) {
        struct owner *o = &c->o[e->owner];
        if (--o->count == 0) {
            itab_remove(c, &c->oidx, e->owner);
            o->next_free = c->o_free;
            c->o_free = e->owner;
        }
        e->owner = NIL;
    }
    e->next = c->e_free;
    c->e_free = r;
    c->count--;
}

/* Remove the entries of bucket |b| that expired by |now|; entries of later
 * laps of the wheel stay. */
static void sweep_bucket(struct aa_nonce_cache *c, size_t b, int64_t now)
{
    uint32_t r = c->bucket[b], keep = NIL;

    while (r != NIL) {
        uint32_t next = c->e[r].next;
        c->work++;
        if (c->e[r].expires <= now) {
            release(c, r);
        } else {
            c->e[r].next = keep;
            keep = r;
        }
        r = next;
    }
    c->bucket[b] = keep;
}

/*
 * Bring the invariant "no entry with expires <= swept remains" up to |now|
 * by visiting the buckets of the seconds in between (each at most once, so
 * the cost is amortised over the seconds that passed). A clock that went
 * backwards only lowers |swept|: every remaining entry expires after the
 * old value, so the invariant still holds.
 */
static void advance(struct aa_nonce_cache *c, int64_t now)
{
    int64_t from, steps;

    if (!c->started || now < c->swept) {
        c->started = true;
        c->swept = now;
        return;
    }
    if (now == c->swept)
        return;
    from = c->swept + 1;
    steps = now - c->swept;
    if (steps > (int64_t)c->nbuckets)
        steps = (int64_t)c->nbuckets;
    for (int64_t t = from; t < from + steps; t++)
        sweep_bucket(c, bucket_of(c, t), now);
    c->swept = now;
}

/* SHA-256 over the parts' own digests: unambiguous (fixed-width fields)
 * and allocation-free. |owner| is the (authority, thumbprint) pair alone. */
static void make_keys(const char *authority, const char *thumbprint, const char *nonce,
                      uint8_t key[32], uint8_t owner[32])
{
    uint8_t parts[96];
    aa_sha256(authority, strlen(authority), parts);
    aa_sha256(thumbprint, strlen(thumbprint), parts + 32);
    aa_sha256(nonce, strlen(nonce), parts + 64);
    aa_sha256(parts, sizeof(parts), key);
    aa_sha256(parts, 64, owner);
}

/* The owner record of |okey|, created when absent (there is always a free
 * one: owners never outnumber entries, and a free entry exists). */
static uint32_t owner_get(struct aa_nonce_cache *c, const uint8_t okey[32])
{
    size_t pos;
    uint32_t r = itab_find(c, &c->oidx, okey, &pos);

    if (r != NIL)
        return r;
    r = c->o_free;
    c->o_free = c->o[r].next_free;
    memcpy(c->o[r].key, okey, 32);
    c->o[r].count = 0;
    c->oidx.slot[pos] = r + 1;
    return r;
}

int aa_nonce_cache_check_and_store(struct aa_nonce_cache *c, const char *authority,
                                   const char *thumbprint, const char *nonce,
                                   int64_t created, struct aa_diag *d)
{
    uint8_t key[32], okey[32];
    int64_t now, expires;
    size_t pos;
    uint32_t r, owner = NIL;
    int rc = AA_OK;

    if (c == NULL || authority == NULL || thumbprint == NULL || nonce == NULL)
        return AA_E_INVAL;
    make_keys(authority, thumbprint, nonce, key, okey);
    pthread_mutex_lock(&c->mu);
    now = aa_clock_now(&c->clock);
    advance(c, now);
    expires = created > now ? created : now;
    expires = expires > INT64_MAX - c->retention ? INT64_MAX : expires + c->retention;
    if (itab_find(c, &c->idx, key, &pos) != NIL) {
        /* live by the invariant of advance() */
        rc = aa_fail(d, AA_E_NONCE_REPLAY, "PROFILE#2.9",
                     "Nonce %.40s: already used with this key at %s within the "
                     "replay window",
                     nonce, authority);
        goto out;
    }
    if (c->count >= c->capacity) {
        rc = aa_fail(d, AA_E_NONCE_CACHE_FULL, "PROFILE#2.9",
                     "Nonce: replay cache holds %zu live entries (its capacity); "
                     "refusing a new nonce rather than forgetting a live one",
                     c->count);
        goto out;
    }
    if (c->per_key_max > 0) {
        owner = owner_get(c, okey);
        if (c->o[owner].count >= c->per_key_max) {
            rc = aa_fail(d, AA_E_NONCE_CACHE_FULL, "PROFILE#2.9",
                         "Nonce: this key holds %zu live entries in the replay cache (its "
                         "per-key quota); refusing a new nonce rather than forgetting a live one",
                         c->per_key_max);
            goto out;
        }
        c->o[owner].count++;
    }
    r = c->e_free;
    c->e_free = c->e[r].next;
    memcpy(c->e[r].key, key, 32);
    c->e[r].expires = expires;
    c->e[r].owner = owner;
    c->e[r].next = c->bucket[bucket_of(c, expires)];
    c->bucket[bucket_of(c, expires)] = r;
    c->idx.slot[pos] = r + 1;
    c->count++;
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

size_t aa_nonce_cache_size(struct aa_nonce_cache *c)
{
    size_t n;
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

uint64_t aa_nonce_cache_work(struct aa_nonce_cache *c)
{
    uint64_t n;
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    n = c->work;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int64_t aa_nonce_cache_retry_after(struct aa_nonce_cache *c)
{
    int64_t now, best = INT64_MAX;

    if (c == NULL)
        return 1;
    pthread_mutex_lock(&c->mu);
    now = aa_clock_now(&c->clock);
    advance(c, now);
    /* The first second after now whose bucket holds an entry of this lap
     * is the earliest expiry: at most one turn of the wheel. */
    for (int64_t t = now + 1; c->count > 0 && t <= now + (int64_t)c->nbuckets && best == INT64_MAX;
         t++) {
        for (uint32_t r = c->bucket[bucket_of(c, t)]; r != NIL; r = c->e[r].next) {
            c->work++;
            if (c->e[r].expires == t) {
                best = t;
                break;
            }
        }
    }
    if (best == INT64_MAX && c->count > 0) {
        /* only entries beyond one turn (created far in the future) */
        for (size_t b = 0; b < c->nbuckets; b++)
            for (uint32_t r = c->bucket[b]; r != NIL; r = c->e[r].next)
                if (c->e[r].expires < best)
                    best = c->e[r].expires;
    }
    pthread_mutex_unlock(&c->mu);
    if (best == INT64_MAX || best - now < 1)
        return 1;
    return best - now;
}
