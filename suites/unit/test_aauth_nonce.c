/* Nonce format, generator and replay cache (PROFILE#2.9, D-10). */
#include <pthread.h>

#include "aauth_test_util.h"

static int check(const char *s, struct aa_diag *d)
{
    return aa_nonce_check(NULL, s, strlen(s), d);
}

Test(aauth_nonce, format_vectors)
{
    cJSON *root = aauth_load_vectors("nonce.json");
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
    {
        const char *name = aauth_jstr(c, "name");
        const char *v = aauth_jstr(c, "nonce");
        const char *word = aauth_jstr(c, "message_contains");
        struct aa_diag d;
        char *rep = NULL;
        const cJSON *rp = cJSON_GetObjectItem(c, "repeat");

        if (cJSON_IsObject(rp)) { /* {"char":"A","count":129} */
            int cnt = aauth_jint(rp, "count", 0);
            rep = calloc((size_t)cnt + 1, 1);
            cr_assert_not_null(rep);
            memset(rep, aauth_jstr(rp, "char")[0], (size_t)cnt);
            v = rep;
        }
        aa_diag_clear(&d);
        if (cJSON_IsTrue(cJSON_GetObjectItem(c, "valid"))) {
            cr_assert_eq(check(v, &d), AA_OK, "%s: %s", name, d.msg);
        } else {
            cr_assert_eq(check(v, &d), AA_E_NONCE_FORMAT, "%s", name);
            cr_assert_str_eq(d.ref, "PROFILE#2.9");
            if (word != NULL)
                cr_assert(strstr(d.msg, word) != NULL, "%s: '%s' not in '%s'", name, word, d.msg);
        }
        free(rep);
        n++;
    }
    cr_assert_geq(n, 8);
    cJSON_Delete(root);
}

Test(aauth_nonce, generator)
{
    char a[AA_NONCE_GEN_LEN + 1], b[AA_NONCE_GEN_LEN + 1];
    cr_assert_eq(aa_nonce_generate(a), AA_OK);
    cr_assert_eq(aa_nonce_generate(b), AA_OK);
    cr_assert_eq(strlen(a), 22);
    cr_assert_eq(check(a, NULL), AA_OK);
    cr_assert_eq(check(b, NULL), AA_OK);
    cr_assert_str_neq(a, b, "two 128-bit nonces collided");
}

static struct aa_nonce_cache *mk(struct aauth_test_clock *clk, size_t cap)
{
    struct aa_nonce_cache_opts o = {0};
    o.capacity = cap;
    o.clock.now = aauth_test_clock_now;
    o.clock.ctx = clk;
    return aa_nonce_cache_new(&o);
}

Test(aauth_nonce, replay_detected_within_window_only)
{
    struct aauth_test_clock clk = {1768786300};
    struct aa_nonce_cache *c = mk(&clk, 16);
    const char *a = "127.0.0.1:8003", *t = AAUTH_TEST1_JKT, *n = "YWF1dGgtbm9uY2UtMDAwMQ";
    struct aa_diag d;

    cr_assert_not_null(c);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, a, t, n, clk.now, NULL), AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, a, t, n, clk.now, &d), AA_E_NONCE_REPLAY);
    cr_assert_str_eq(d.ref, "PROFILE#2.9");
    /* the key is the triple: any other component makes a new entry */
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "127.0.0.1:8002", t, n, clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, a, "other-thumbprint", n, clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, a, t, "YWF1dGgtbm9uY2UtMDAwMg", clk.now, NULL),
                 AA_OK);
    cr_assert_eq(aa_nonce_cache_size(c), 4);
    /* kept until created + 120: still a replay at +119, forgotten at +120 */
    clk.now += 119;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, a, t, n, clk.now - 119, NULL), AA_E_NONCE_REPLAY);
    cr_assert_eq(aa_nonce_cache_retry_after(c), 1);
    clk.now += 1;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, a, t, n, clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, a, t, n, clk.now, NULL), AA_E_NONCE_REPLAY);
    aa_nonce_cache_free(c);
}

/* An old created (e.g. a receiver with the created check disabled) still
 * gets a full retention from now. */
Test(aauth_nonce, retention_counts_from_later_of_created_and_now)
{
    struct aauth_test_clock clk = {10000};
    struct aa_nonce_cache *c = mk(&clk, 4);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "n", 1, NULL), AA_OK);
    clk.now += 100;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "n", 1, NULL), AA_E_NONCE_REPLAY);
    aa_nonce_cache_free(c);
}

Test(aauth_nonce, full_cache_refuses_new_rather_than_forgetting)
{
    struct aauth_test_clock clk = {5000};
    struct aa_nonce_cache *c = mk(&clk, 8);
    char n[32];
    struct aa_diag d;

    for (int i = 0; i < 8; i++) {
        aa_snprintf(n, sizeof(n), "nonce-%d", i);
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", n, clk.now + i, NULL), AA_OK);
    }
    aa_diag_clear(&d);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "nonce-new", clk.now, &d),
                 AA_E_NONCE_CACHE_FULL);
    cr_assert(strstr(d.msg, "refusing") != NULL, "%s", d.msg);
    /* every live entry is still remembered */
    for (int i = 0; i < 8; i++) {
        aa_snprintf(n, sizeof(n), "nonce-%d", i);
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", n, clk.now, NULL),
                     AA_E_NONCE_REPLAY, "%s forgotten", n);
    }
    cr_assert_eq(aa_nonce_cache_retry_after(c), 120);
    /* when the oldest expires, exactly that slot frees up */
    clk.now += 120;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "nonce-new", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "nonce-new2", clk.now, NULL),
                 AA_E_NONCE_CACHE_FULL);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "nonce-1", clk.now, NULL),
                 AA_E_NONCE_REPLAY);
    aa_nonce_cache_free(c);
}

/* Many inserts with staggered expiry through a small table: sweeps with
 * backward-shift deletion must never lose a live entry. */
Test(aauth_nonce, churn_keeps_live_entries)
{
    struct aauth_test_clock clk = {0};
    struct aa_nonce_cache_opts o = {0};
    struct aa_nonce_cache *c;
    char n[32];

    o.capacity = 64;
    o.retention = 10;
    o.clock.now = aauth_test_clock_now;
    o.clock.ctx = &clk;
    c = aa_nonce_cache_new(&o);
    cr_assert_not_null(c);
    for (int i = 0; i < 2000; i++) {
        clk.now = i / 6; /* 6 inserts per second, 10 s retention: ~60 live */
        aa_snprintf(n, sizeof(n), "n%d", i);
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", n, clk.now, NULL), AA_OK,
                     "insert %d", i);
        /* all nonces of the last 9 seconds are still replays */
        for (int j = i; j >= 0 && j > i - 54; j -= 7) {
            aa_snprintf(n, sizeof(n), "n%d", j);
            cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", n, j / 6, NULL),
                         AA_E_NONCE_REPLAY, "n%d lost at step %d", j, i);
        }
    }
    cr_assert_leq(aa_nonce_cache_size(c), 64);
    aa_nonce_cache_free(c);
}

struct race {
    struct aa_nonce_cache *c;
    int ok;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    r->ok = aa_nonce_cache_check_and_store(r->c, "a", "t", "same-nonce", 100, NULL) == AA_OK;
    return NULL;
}

/* Thread safety: of many concurrent uses of one nonce exactly one wins. */
Test(aauth_nonce, concurrent_single_winner)
{
    struct aauth_test_clock clk = {100};
    struct aa_nonce_cache *c = mk(&clk, 128);
    pthread_t th[16];
    struct race r[16];
    int winners = 0;

    for (int i = 0; i < 16; i++) {
        r[i].c = c;
        r[i].ok = 0;
        cr_assert_eq(pthread_create(&th[i], NULL, racer, &r[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        winners += r[i].ok;
    }
    cr_assert_eq(winners, 1);
    aa_nonce_cache_free(c);
}

Test(aauth_nonce, bad_arguments)
{
    struct aa_nonce_cache *c = aa_nonce_cache_new(NULL);
    cr_assert_not_null(c);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, NULL, "t", "n", 0, NULL), AA_E_INVAL);
    cr_assert_eq(aa_nonce_check(NULL, NULL, 0, NULL), AA_E_INVAL);
    aa_nonce_cache_free(c);
    aa_nonce_cache_free(NULL);
}

/* ---- cost and quotas of the replay cache (docs/security.md section 5) ---- */

static struct aa_nonce_cache *mk_quota(struct aauth_test_clock *clk, size_t cap, size_t quota)
{
    struct aa_nonce_cache_opts o = {0};
    o.capacity = cap;
    o.per_key_max = quota;
    o.clock.now = aauth_test_clock_now;
    o.clock.ctx = clk;
    return aa_nonce_cache_new(&o);
}

/* Fill a cache of |cap| live entries, then count the work of |tries|
 * refused inserts. */
static uint64_t refusal_work(size_t cap, int tries)
{
    struct aauth_test_clock clk = {7000};
    struct aa_nonce_cache *c = mk(&clk, cap);
    char n[32];
    uint64_t w0;

    cr_assert_not_null(c);
    for (size_t i = 0; i < cap; i++) {
        aa_snprintf(n, sizeof(n), "fill-%zu", i);
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", n, clk.now, NULL), AA_OK);
    }
    cr_assert_eq(aa_nonce_cache_size(c), cap);
    w0 = aa_nonce_cache_work(c);
    for (int i = 0; i < tries; i++) {
        aa_snprintf(n, sizeof(n), "flood-%d", i);
        if (i % 10 == 0)
            clk.now++; /* time passes, nothing expires yet */
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", n, clk.now, NULL),
                     AA_E_NONCE_CACHE_FULL, "flood %d", i);
    }
    w0 = aa_nonce_cache_work(c) - w0;
    aa_nonce_cache_free(c);
    return w0;
}

/* A full cache refuses in constant work: the cost of a refusal does not
 * grow with the number of live entries (a sweep of the whole table on
 * every insert would cost about 2 * capacity slots each time). */
Test(aauth_nonce, full_cache_refusal_cost_does_not_grow_with_size)
{
    uint64_t small = refusal_work(64, 500), big = refusal_work(16384, 500);

    /* a probe of the index plus one bucket per second that passed */
    cr_assert_leq(small, 500u * 8, "64 entries: %llu units", (unsigned long long)small);
    cr_assert_leq(big, 500u * 8, "16384 entries: %llu units", (unsigned long long)big);
}

/* Expiry is amortised: every entry is visited a bounded number of times
 * over its life, however the inserts and the seconds interleave. */
Test(aauth_nonce, expiry_work_is_amortised)
{
    struct aauth_test_clock clk = {100000};
    struct aa_nonce_cache_opts o = {0};
    struct aa_nonce_cache *c;
    const int inserts = 20000;
    char n[32];
    uint64_t w;

    o.capacity = 4096;
    o.retention = 30;
    o.clock.now = aauth_test_clock_now;
    o.clock.ctx = &clk;
    c = aa_nonce_cache_new(&o);
    cr_assert_not_null(c);
    for (int i = 0; i < inserts; i++) {
        if (i % 100 == 0)
            clk.now++; /* 100 per second, 30 s retention: about 3000 live */
        aa_snprintf(n, sizeof(n), "n%d", i);
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", n, clk.now, NULL), AA_OK,
                     "insert %d", i);
    }
    cr_assert_leq(aa_nonce_cache_size(c), 3100);
    clk.now += 31; /* everything expires */
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "last", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_size(c), 1);
    w = aa_nonce_cache_work(c);
    cr_assert_leq(w, (uint64_t)inserts * 16, "%llu units for %d inserts", (unsigned long long)w,
                  inserts);
    aa_nonce_cache_free(c);
}

/* One key cannot take the whole cache when a quota is set; other keys and
 * other authorities keep their room, and the quota frees up on expiry. */
Test(aauth_nonce, per_key_quota)
{
    struct aauth_test_clock clk = {9000};
    struct aa_nonce_cache *c = mk_quota(&clk, 16, 3);
    struct aa_diag d;

    cr_assert_not_null(c);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n1", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n2", clk.now, NULL), AA_OK);
    clk.now += 10;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n3", clk.now, NULL), AA_OK);
    aa_diag_clear(&d);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n4", clk.now, &d),
                 AA_E_NONCE_CACHE_FULL);
    cr_assert_str_eq(d.ref, "PROFILE#2.9");
    cr_assert(strstr(d.msg, "quota") != NULL, "%s", d.msg);
    /* a replay is still a replay, not a quota refusal */
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n1", clk.now, NULL),
                 AA_E_NONCE_REPLAY);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-B", "n4", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "b", "key-A", "n4", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_size(c), 5);
    /* n1 and n2 expire at 9120, n3 at 9130: two slots come back */
    clk.now = 9120;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n5", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n6", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n7", clk.now, NULL),
                 AA_E_NONCE_CACHE_FULL);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "n3", clk.now, NULL),
                 AA_E_NONCE_REPLAY);
    /* once every entry of key-A is gone its record is reused: full quota */
    clk.now = 9500;
    for (int i = 0; i < 3; i++) {
        char n[16];
        aa_snprintf(n, sizeof(n), "m%d", i);
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", n, clk.now, NULL), AA_OK);
    }
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", "m3", clk.now, NULL),
                 AA_E_NONCE_CACHE_FULL);
    aa_nonce_cache_free(c);
}

/* Without a quota (the default) one key may fill the cache; the global
 * capacity is then the only bound. */
Test(aauth_nonce, no_quota_by_default)
{
    struct aauth_test_clock clk = {9000};
    struct aa_nonce_cache *c = mk_quota(&clk, 8, 0);
    char n[16];

    for (int i = 0; i < 8; i++) {
        aa_snprintf(n, sizeof(n), "n%d", i);
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-A", n, clk.now, NULL), AA_OK);
    }
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "key-B", "x", clk.now, NULL),
                 AA_E_NONCE_CACHE_FULL);
    aa_nonce_cache_free(c);
}

/* created in the future: kept until created + retention, also when that
 * is more than one turn of the expiry wheel ahead. */
Test(aauth_nonce, future_created_kept_until_created_plus_retention)
{
    struct aauth_test_clock clk = {50000};
    struct aa_nonce_cache *c = mk(&clk, 16);

    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "near", clk.now + 50, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "far", clk.now + 5000, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_retry_after(c), 170);
    clk.now += 169;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "near", 0, NULL), AA_E_NONCE_REPLAY);
    clk.now += 1;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "near", 0, NULL), AA_OK);
    /* walk the clock past two turns of the wheel in uneven steps */
    for (int64_t t = 50170; t < 55119; t += 97) {
        clk.now = t;
        cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "far", 0, NULL),
                     AA_E_NONCE_REPLAY, "far forgotten at %lld", (long long)t);
    }
    clk.now = 55119;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "far", 0, NULL), AA_E_NONCE_REPLAY);
    cr_assert_eq(aa_nonce_cache_retry_after(c), 1);
    clk.now = 55120;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "far", 0, NULL), AA_OK);
    aa_nonce_cache_free(c);
}

/* A clock that steps back never makes a live entry disappear, and entries
 * still expire once it moves on. */
Test(aauth_nonce, clock_stepping_back_keeps_live_entries)
{
    struct aauth_test_clock clk = {20000};
    struct aa_nonce_cache *c = mk(&clk, 16);

    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "first", clk.now, NULL), AA_OK);
    clk.now = 19000;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "first", clk.now, NULL),
                 AA_E_NONCE_REPLAY);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "second", clk.now, NULL), AA_OK);
    clk.now = 19119;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "second", clk.now, NULL),
                 AA_E_NONCE_REPLAY);
    clk.now = 19120; /* second expired; first lives until 20120 */
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "second", clk.now, NULL), AA_OK);
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "first", clk.now, NULL),
                 AA_E_NONCE_REPLAY);
    clk.now = 20120;
    cr_assert_eq(aa_nonce_cache_check_and_store(c, "a", "t", "first", clk.now, NULL), AA_OK);
    aa_nonce_cache_free(c);
}
