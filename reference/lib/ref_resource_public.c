/*
 * ref_resource_public: the reference resource's optional GET /public
 * (PROFILE#6.2 "none; unsigned callers get 429 after N/min", #7 F1.4, #5
 * "429: rate-limited at the current level; a higher level gets more").
 *
 *   unsigned (no Signature, Signature-Input or Signature-Key)
 *       200 {"message":"Access granted","data":"This is public data",
 *            "method":<method>} for the first N requests of a client
 *       address in the current fixed minute, then 429
 *       temporarily_unavailable with Agent-Auth: httpsig and Retry-After
 *       (the seconds left in that minute) until the minute ends
 *   signed
 *       the /data-hwk receiver procedure (PROFILE#2.11, level signature):
 *       a valid signature gets the credential's success body with data
 *       "This is public data", a bad one the same 401 as /data-hwk; signed
 *       callers are never counted or limited
 *
 * Design choice: one bounded table of RES_PUBLIC_CAPACITY addresses with
 * fixed windows aligned to whole minutes of the server clock. Because
 * every live entry belongs to the same window, an entry from an earlier
 * window is simply free again, so nothing grows and nothing needs a sweep;
 * when all entries are live, an address not in the table is refused until
 * the minute ends rather than evicting a counted one, so cycling
 * source addresses cannot reset anyone's count.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ref_resource_int.h"

#define PUBLIC_DATA "This is public data"

struct res_public_slot {
    bool used;
    int64_t window; /* start of the minute |count| belongs to */
    unsigned count; /* unsigned requests served in it, at most the limit */
    char addr[sizeof(((struct aa_server_request *)0)->client_addr)];
};

struct res_public {
    pthread_mutex_t mu; /* handlers run on several MHD threads */
    unsigned limit;
    struct res_public_slot slot[RES_PUBLIC_CAPACITY];
};

struct res_public *res_public_new(unsigned limit)
{
    struct res_public *p;

    if (limit == 0 || (p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->limit = limit;
    return p;
}

void res_public_free(struct res_public *p)
{
    if (p == NULL)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Start of the whole minute holding |now| (floor, also before 1970). */
static int64_t window_of(int64_t now)
{
    int64_t m = now % RES_PUBLIC_WINDOW;

    return now - (m < 0 ? m + RES_PUBLIC_WINDOW : m);
}

bool res_public_take(struct res_public *p, const char *addr, int64_t now, int64_t *retry_after)
{
    int64_t win = window_of(now);
    struct res_public_slot *hit = NULL, *spare = NULL;
    bool ok;

    /* 1..RES_PUBLIC_WINDOW: the window is [win, win + WINDOW). */
    *retry_after = win + RES_PUBLIC_WINDOW - now;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < RES_PUBLIC_CAPACITY; i++) {
        struct res_public_slot *sl = &p->slot[i];
        if (sl->used && sl->window == win) {
            if (strcmp(sl->addr, addr) == 0) {
                hit = sl;
                break;
            }
        } else if (spare == NULL) {
            /* free, or counted in another minute (earlier, or later when
             * a test clock went back): either way no longer in force */
            spare = sl;
        }
    }
    if (hit == NULL && spare != NULL) {
        hit = spare;
        hit->used = true;
        hit->window = win;
        hit->count = 0;
        (void)aa_snprintf(hit->addr, sizeof(hit->addr), "%s", addr);
    }
    ok = hit != NULL && hit->count < p->limit;
    if (ok)
        hit->count++;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* 429: the unsigned level is used up; the base challenge says a
 * signature (a higher level) is served, Retry-After when the count resets. */
static void send_limited(struct aa_ref_server *s, const struct aa_server_request *req,
                         struct aa_server_response *resp, int64_t retry_after)
{
    char ra[32];

    ref_send_perr(resp, AA_PERR_TEMPORARILY_UNAVAILABLE, 0,
                  "more than %u unsigned requests to %s from %.64s in this minute; retry after "
                  "%lld s, or sign the request (any Signature-Key scheme), which is not limited "
                  "(PROFILE#5, #6.2)",
                  res_of(s)->pub->limit, RES_PATH_PUBLIC, req->client_addr, (long long)retry_after);
    (void)aa_snprintf(ra, sizeof(ra), "%lld", (long long)retry_after);
    if (aa_server_response_header(resp, s->profile->hdr.retry_after, ra) != AA_OK) {
        aa_server_response_cleanup(resp);
        aa_server_response_init(resp);
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
        return;
    }
    res_add_base_challenge(s, resp, false);
}

void res_h_public(struct aa_ref_server *s, const struct aa_server_request *req,
                  struct aa_server_response *resp)
{
    struct resource *r = res_of(s);
    int64_t retry_after = 0;
    cJSON *body;

    if (ref_request_is_signed(req)) {
        /* PROFILE#5: a higher level gets more - judged exactly as on
         * /data-hwk, and never counted. */
        res_serve_data(s, req, resp, RES_LEVEL_SIGNATURE, PUBLIC_DATA);
        return;
    }
    if (!res_public_take(r->pub, req->client_addr, ref_now(s), &retry_after)) {
        ref_logf(s, 3, "%s %s: 429, unsigned limit %u/min reached for %.64s", req->method,
                 RES_PATH_PUBLIC, r->pub->limit, req->client_addr);
        send_limited(s, req, resp, retry_after);
        return;
    }
    if ((body = cJSON_CreateObject()) == NULL ||
        cJSON_AddStringToObject(body, "message", "Access granted") == NULL ||
        cJSON_AddStringToObject(body, "data", PUBLIC_DATA) == NULL ||
        cJSON_AddStringToObject(body, "method", req->method) == NULL)
        ref_send_perr(resp, AA_PERR_SERVER_ERROR, 0, "out of memory");
    else
        ref_send_json(resp, 200, body, 0);
    cJSON_Delete(body);
}
