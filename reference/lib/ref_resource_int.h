/*
 * ref_resource_int: state and helpers the reference resource's two source
 * files share (ref_resource.c: metadata, protected endpoints, challenges,
 * /resource/token; ref_resource_exchange.c: the F7 /data-exchange trigger).
 * Private to reference/lib/.
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

/* Operation scopes of the reference endpoints (PROFILE#4.5 step 12). */
#define RES_SCOPE_READ "data.read"
#define RES_SCOPE_WRITE "data.write"

#define RES_MAX_SCOPES 64        /* configured supported scopes */
#define RES_SCOPE_MAX_LEN 1024   /* one scope parameter / claim, bytes */
#define RES_NONCE_CAPACITY 65536 /* replay cache entries (PROFILE#2.9) */

/* What an endpoint requires (PROFILE#6.2 "Level"). */
enum res_level {
    RES_LEVEL_SIGNATURE = 0, /* any valid signature */
    RES_LEVEL_IDENTITY,      /* jwks Mode 2 or jwt (agent+jwt / auth+jwt) */
    RES_LEVEL_AUTH           /* jwt carrying an auth+jwt covering the operation */
};

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

/* F7 (PROFILE#6.5, #6.7): GET /data-exchange (ref_resource_exchange.c). */
void res_h_exchange(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp);

#endif
