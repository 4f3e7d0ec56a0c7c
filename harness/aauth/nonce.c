/*
 * nonce.c: Nonce format, generator and the bounded replay cache
 * (PROFILE#2.9, D-10).
 *
 * Design choice: an open-addressing table (linear probing, backward-shift
 * deletion, so no tombstones) of fixed-size entries holding SHA-256 of the
 * (authority, thumbprint, nonce) triple. Capacity is fixed at creation; the
 * table has twice as many slots so probes stay short. When the table is at
 * capacity it is swept of expired entries; if none expired the new nonce is
 * refused, because dropping a live entry would re-open a replay window.
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

struct entry {
    uint8_t key[32];
    int64_t expires;
    bool used;
};

struct aa_nonce_cache {
    pthread_mutex_t mu;
    struct entry *slots;
    size_t nslots; /* power of two, >= 2 * capacity */
    size_t count;
    size_t capacity;
    int64_t retention;
    struct aa_clock clock;
};

#define AA_NONCE_MAX_CAPACITY ((size_t)1 << 24)

struct aa_nonce_cache *aa_nonce_cache_new(const struct aa_nonce_cache_opts *opts)
{
    struct aa_nonce_cache *c;
    size_t cap = AA_NONCE_DEFAULT_CAPACITY, nslots = 2;

    if (opts != NULL && opts->capacity > 0)
        cap = opts->capacity > AA_NONCE_MAX_CAPACITY ? AA_NONCE_MAX_CAPACITY : opts->capacity;
    while (nslots < 2 * cap)
        nslots <<= 1;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->slots = calloc(nslots, sizeof(*c->slots));
    if (c->slots == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->slots);
        free(c);
        return NULL;
    }
    c->nslots = nslots;
    c->capacity = cap;
    c->retention = AA_NONCE_DEFAULT_RETENTION;
    if (opts != NULL) {
        if (opts->retention > 0)
            c->retention = opts->retention;
        c->clock = opts->clock;
    }
    return c;
}

void aa_nonce_cache_free(struct aa_nonce_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c);
}

static size_t slot_of(const struct aa_nonce_cache *c, const uint8_t key[32])
{
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = (h << 8) | key[i];
    return (size_t)(h & (c->nslots - 1));
}

/* Index of |key| or of the empty slot where it would go. */
static size_t probe(const struct aa_nonce_cache *c, const uint8_t key[32], bool *found)
{
    size_t i = slot_of(c, key);
    for (;;) {
        if (!c->slots[i].used) {
            *found = false;
            return i;
        }
        if (memcmp(c->slots[i].key, key, 32) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & (c->nslots - 1);
    }
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void remove_at(struct aa_nonce_cache *c, size_t i)
{
    size_t mask = c->nslots - 1, j = i;
    c->slots[i].used = false;
    c->count--;
    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (!c->slots[j].used)
            return;
        k = slot_of(c, c->slots[j].key);
        /* move j back to i unless its home k lies cyclically in (i, j] */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        c->slots[i] = c->slots[j];
        c->slots[j].used = false;
        i = j;
    }
}

static void sweep(struct aa_nonce_cache *c, int64_t now)
{
    size_t i = 0;
    while (i < c->nslots) {
        if (c->slots[i].used && c->slots[i].expires <= now) {
            remove_at(c, i);
            /* a later entry may have shifted into i: look at it again */
            continue;
        }
        i++;
    }
}

/* SHA-256 over the three parts' own digests: unambiguous (fixed-width
 * fields) and allocation-free. */
static void make_key(const char *authority, const char *thumbprint, const char *nonce,
                     uint8_t out[32])
{
    uint8_t parts[96];
    aa_sha256(authority, strlen(authority), parts);
    aa_sha256(thumbprint, strlen(thumbprint), parts + 32);
    aa_sha256(nonce, strlen(nonce), parts + 64);
    aa_sha256(parts, sizeof(parts), out);
}

int aa_nonce_cache_check_and_store(struct aa_nonce_cache *c, const char *authority,
                                   const char *thumbprint, const char *nonce,
                                   int64_t created, struct aa_diag *d)
{
    uint8_t key[32];
    int64_t now, expires;
    bool found;
    size_t i;
    int rc = AA_OK;

    if (c == NULL || authority == NULL || thumbprint == NULL || nonce == NULL)
        return AA_E_INVAL;
    make_key(authority, thumbprint, nonce, key);
    pthread_mutex_lock(&c->mu);
    now = aa_clock_now(&c->clock);
    expires = (created > now ? created : now) + c->retention;
    i = probe(c, key, &found);
    if (found) {
        if (c->slots[i].expires > now) {
            rc = aa_fail(d, AA_E_NONCE_REPLAY, "PROFILE#2.9",
                         "Nonce %.40s: already used with this key at %s within the "
                         "replay window",
                         nonce, authority);
        } else {
            c->slots[i].expires = expires;
        }
        goto out;
    }
    if (c->count >= c->capacity) {
        sweep(c, now);
        if (c->count >= c->capacity) {
            rc = aa_fail(d, AA_E_NONCE_CACHE_FULL, "PROFILE#2.9",
                         "Nonce: replay cache holds %zu live entries (its capacity); "
                         "refusing a new nonce rather than forgetting a live one",
                         c->count);
            goto out;
        }
        i = probe(c, key, &found);
    }
    memcpy(c->slots[i].key, key, 32);
    c->slots[i].expires = expires;
    c->slots[i].used = true;
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

int64_t aa_nonce_cache_retry_after(struct aa_nonce_cache *c)
{
    int64_t now, best = INT64_MAX;
    if (c == NULL)
        return 1;
    pthread_mutex_lock(&c->mu);
    now = aa_clock_now(&c->clock);
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slots[i].used && c->slots[i].expires < best)
            best = c->slots[i].expires;
    pthread_mutex_unlock(&c->mu);
    if (best == INT64_MAX || best - now < 1)
        return 1;
    return best - now;
}
