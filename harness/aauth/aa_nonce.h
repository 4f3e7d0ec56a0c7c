/*
 * aa_nonce: the AAuth `Nonce` request header and the receiver's replay
 * cache (AAUTH#10.5; PROFILE#2.9, D-10).
 *
 * Format: base64url without padding, decoding to at least 12 bytes, at most
 * 128 characters. (Unrelated to the RFC 9421 `nonce` signature parameter.)
 *
 * Replay cache: keyed by (canonical authority, RFC 7638 thumbprint of the
 * verifying key, nonce); an entry lives until max(created, now) + retention
 * (default 120 s), which covers the created window of PROFILE#2.6 with room
 * to spare. Keys are stored as SHA-256 digests of the triple, so an entry
 * has a fixed size whatever the input lengths.
 *
 * Memory is bounded: the table holds at most |capacity| entries (about 56
 * bytes each, 104 with a per-key quota). Expired entries are evicted first
 * (amortised O(1) per call: an expiry wheel, see nonce.c); when every entry
 * is still live, the NEW nonce is refused (AA_E_NONCE_CACHE_FULL) rather
 * than forgetting a live one, because forgetting would let that nonce be
 * replayed. Servers answer that with 429 temporarily_unavailable and
 * Retry-After (see aa_nonce_cache_retry_after), never by accepting the
 * request. A caller holding many keys can fill the cache (docs/security.md
 * section 5); |per_key_max| stops any single (authority, thumbprint) from
 * holding more than its quota.
 *
 * Thread-safe: one mutex per cache. Time comes from an injectable clock.
 */
#ifndef AA_NONCE_H
#define AA_NONCE_H

#include "../core/aa_core.h"

struct aa_profile;

#define AA_NONCE_MIN_BYTES 12      /* PROFILE#2.9 */
#define AA_NONCE_MAX_CHARS 128     /* D-10 */
#define AA_NONCE_GEN_BYTES 16      /* generator: 128 bits -> 22 characters */
#define AA_NONCE_GEN_LEN 22
#define AA_NONCE_DEFAULT_RETENTION 120
#define AA_NONCE_DEFAULT_CAPACITY 65536

/* Injectable clock: seconds since the epoch. NULL fn = time(NULL). */
struct aa_clock {
    int64_t (*now)(void *ctx);
    void *ctx;
};
int64_t aa_clock_now(const struct aa_clock *c); /* c or c->now NULL: wall clock */

/*
 * Check the format of a Nonce header value (|len| bytes). |p| NULL =
 * default limits. Returns AA_OK or AA_E_NONCE_FORMAT with |d| citing
 * PROFILE#2.9 and naming the problem ("contains '='", "decodes to 11
 * bytes", "129 characters", "character '+' ...").
 */
int aa_nonce_check(const struct aa_profile *p, const char *nonce, size_t len,
                   struct aa_diag *d) AA_WUR;

/* A fresh nonce: 16 random bytes, base64url, 22 chars + NUL into |out|. */
int aa_nonce_generate(char out[AA_NONCE_GEN_LEN + 1]) AA_WUR;

struct aa_nonce_cache;

struct aa_nonce_cache_opts {
    size_t capacity;       /* 0 = AA_NONCE_DEFAULT_CAPACITY; max 1<<24 */
    int64_t retention;     /* 0 = AA_NONCE_DEFAULT_RETENTION (seconds) */
    struct aa_clock clock; /* zero = wall clock */
    size_t per_key_max;    /* live entries one (authority, thumbprint) may hold;
                              0 (or >= capacity) = no quota */
};

/* |opts| may be NULL (defaults). Returns NULL on allocation failure. */
struct aa_nonce_cache *aa_nonce_cache_new(const struct aa_nonce_cache_opts *opts);
void aa_nonce_cache_free(struct aa_nonce_cache *c);

/*
 * Atomically: if (authority, thumbprint, nonce) is live in the cache ->
 * AA_E_NONCE_REPLAY (401 replay_detected); otherwise store it until
 * max(created, now) + retention and return AA_OK. When the cache is full of
 * live entries, or the key already holds |per_key_max| of them ->
 * AA_E_NONCE_CACHE_FULL and nothing is stored. Call only
 * after the signature verified (PROFILE#2.11 step 9). All strings are
 * NUL-terminated; AA_E_INVAL if one is NULL.
 */
int aa_nonce_cache_check_and_store(struct aa_nonce_cache *c, const char *authority,
                                   const char *thumbprint, const char *nonce,
                                   int64_t created, struct aa_diag *d) AA_WUR;

/* Live entries (expired ones not yet swept may be counted). */
size_t aa_nonce_cache_size(struct aa_nonce_cache *c);
/* Index slots, wheel buckets and entries visited so far: a measure of the
 * work done under the lock, so tests can check the cost of an operation
 * without timing it. */
uint64_t aa_nonce_cache_work(struct aa_nonce_cache *c);
/* Seconds until the earliest entry of the whole cache expires (>= 1): a
 * Retry-After value (after a per-key refusal too, which it may undercut). */
int64_t aa_nonce_cache_retry_after(struct aa_nonce_cache *c);

#endif
