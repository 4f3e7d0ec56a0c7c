/*
 * ref_resource_int: state and helpers the reference resource's source files
 * share (ref_resource.c: metadata, protected endpoints, challenges,
 * /resource/token; ref_resource_exchange.c: the F7 /data-exchange trigger;
 * ref_resource_public.c: the F1.4 GET /public rate limit). Private to
 * reference/lib/.
 */
#ifndef REF_RESOURCE_INT_H
#define REF_RESOURCE_INT_H

#include "ref_int.h"

/* Reference paths (PROFILE#3, #6.2, #6.7). */
#define RES_PATH_HWK "/data-hwk"
#define RES_PATH_JWKS "/data-jwks"
#define RES_PATH_AUTH "/data-auth"
#define RES_PATH_EXCHANGE "/data-exchange"
#define RES_PATH_TOKEN "/resource/token"
#define RES_PATH_PUBLIC "/public"

/* Operation scopes of the reference endpoints (PROFILE#4.5 step 12). */
#define RES_SCOPE_READ "data.read"
#define RES_SCOPE_WRITE "data.write"

#define RES_MAX_SCOPES 64        /* configured supported scopes */
#define RES_SCOPE_MAX_LEN 1024   /* one scope parameter / claim, bytes */
#define RES_NONCE_CAPACITY 65536 /* replay cache entries (PROFILE#2.9) */
#define RES_PUBLIC_CAPACITY 1024 /* client addresses counted at once */
#define RES_PUBLIC_WINDOW 60     /* seconds of one fixed rate-limit window */

/* What an endpoint requires (PROFILE#6.2 "Level"). */
enum res_level {
    RES_LEVEL_SIGNATURE = 0, /* any valid signature */
    RES_LEVEL_IDENTITY,      /* jwks Mode 2 or jwt (agent+jwt / auth+jwt) */
    RES_LEVEL_AUTH           /* jwt carrying an auth+jwt covering the operation */
};

struct res_public; /* the /public counters (ref_resource_public.c) */

struct resource {
    char *auth_server; /* AS named in challenges and resource tokens */
    char **trusted;    /* NULL-terminated trusted auth servers (PROFILE#4.5 step 4) */
    char *scope;       /* challenge scope (D-5) */
    char **supported;  /* NULL-terminated supported scopes */
    size_t n_supported;
    int64_t rt_ttl;      /* resource token lifetime (D-5) */
    char *downstream;    /* F7: URL of R2's /data-auth, or NULL */
    bool require_nonce;  /* D-10 */
    char well_known[64]; /* "/.well-known/aauth-resource" */
    struct aa_nonce_cache *nonces;
    struct aa_disc *disc; /* the server's discovery cache (borrowed) */
    struct aa_key_resolver resolver;
    struct res_public *pub; /* NULL when /public is disabled (limit 0) */
};

static inline struct resource *res_of(const struct aa_ref_server *s)
{
    return s->role_ctx;
}

/*
 * PROFILE#2.11 steps 1-9 and the endpoint's level (step 10) for |req|. On
 * AA_OK |id| describes the caller (the caller cleans it up). Otherwise the
 * whole answer is already in |resp|: the PROFILE#6.8 error JSON with the
 * verifier's status and, for 401, the PROFILE#5 challenge for what could
 * be established (403 insufficient_scope also carries an auth-token
 * challenge); |id| is then empty.
 */
int res_guard(struct aa_ref_server *s, const struct aa_server_request *req,
              struct aa_server_response *resp, enum res_level level, struct aa_identity *id);

/*
 * res_guard at |level|, then 200 with the PROFILE#6.2 success body for the
 * caller's credential; |data| replaces the body's "data" text when
 * not NULL (GET /public). On refusal the guard's answer stays in |resp|.
 */
void res_serve_data(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp, enum res_level level, const char *data);

/* Attach the endpoint's base challenge (`httpsig`, or `httpsig;
 * identity=?1` when |identity|) to the answer in |resp| (PROFILE#5); on
 * failure |resp| becomes 500 server_error. */
void res_add_base_challenge(const struct aa_ref_server *s, struct aa_server_response *resp,
                            bool identity);

/* F1.4 (PROFILE#6.2, #7 F1.4, R-12, R-13): the per-address counters of
 * unsigned GET /public requests (ref_resource_public.c). res_public_new
 * returns NULL on allocation failure; res_public_free accepts NULL. */
struct res_public *res_public_new(unsigned limit);
void res_public_free(struct res_public *p);
/*
 * Count one unsigned request from |addr| at |now|. true: under the limit,
 * serve it. false: refused; |*retry_after| is the number of seconds until
 * the current window ends (1..RES_PUBLIC_WINDOW). Thread-safe.
 */
bool res_public_take(struct res_public *p, const char *addr, int64_t now, int64_t *retry_after);
/* GET /public (HEAD too): unsigned callers rate-limited, signed callers
 * verified like /data-hwk and never limited. */
void res_h_public(struct aa_ref_server *s, const struct aa_server_request *req,
                  struct aa_server_response *resp);

/* F7 (PROFILE#6.5, #6.7): GET /data-exchange (ref_resource_exchange.c). */
void res_h_exchange(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp);

#endif
