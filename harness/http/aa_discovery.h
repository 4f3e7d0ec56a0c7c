/*
 * aa_discovery: the key discovery cache (PROFILE#3 [D-13]).
 *
 * Given an identifier and a well-known name it fetches
 * "{id}/.well-known/{name}" (GET, no redirects, 5 s, 64 KiB,
 * application/json), checks the document's identifier member against the
 * identifier (RFC8414#3.3 style), fetches "jwks_uri" (64 KiB, at most 32
 * keys, aa_jwks_parse rules) and caches both. Keys are found by "kid" or by
 * RFC 7638 thumbprint; an unknown key triggers at most one refetch of the
 * JWKS per 30 s per URL.
 *
 * SSRF policy (docs/security.md): before ANY network request the URL is put
 * to the allow callback. The default policy allows
 *   - https URLs whose origin (scheme://canonical-authority) is one of the
 *     configured trusted origins, and
 *   - in dev mode only, http or https URLs whose host is loopback
 *     (localhost, 127.0.0.0/8, ::1);
 * everything else is refused with AA_E_DISC_NOT_ALLOWED and no packet is
 * sent. A refused URL still counts nothing in the fetch counters.
 *
 * Design choice: time comes from an injectable clock (seconds), so tests
 * and benchmarks advance a fake clock instead of sleeping. The cache is
 * thread-safe: one mutex guards the table, a fetch runs without it, and a
 * second thread asking for a URL that is being fetched waits for that fetch
 * and shares its result (success or error) instead of fetching again.
 * Each fetch uses a fresh HTTP client, so a slow peer never blocks lookups
 * of other URLs.
 *
 * Errors: transport failures are returned as the AA_E_HTTP_* code
 * (CONNECT, TIMEOUT, TOO_LARGE, PROTOCOL, ...) with the message prefixed by
 * "metadata at <url>: " or "JWKS at <url>: "; content problems use the
 * AA_E_DISC_* codes below (range -650..-699), ref "PROFILE#3".
 */
#ifndef AA_DISCOVERY_H
#define AA_DISCOVERY_H

#include <cJSON.h>

#include "../jwk/aa_jwk.h"
#include "aa_http.h"

enum {
    AA_E_DISC_NOT_ALLOWED = -650,  /* allow policy refused the URL; nothing was sent */
    AA_E_DISC_REDIRECT = -651,     /* 3xx: redirects are not followed (PROFILE#3) */
    AA_E_DISC_STATUS = -652,       /* status other than 200 */
    AA_E_DISC_CONTENT_TYPE = -653, /* not application/json (JWKS: also jwk-set+json) */
    AA_E_DISC_JSON = -654,         /* not a strict JSON object (aa_json rules, D-29) */
    AA_E_DISC_MEMBER = -655,       /* required member missing or of the wrong type */
    AA_E_DISC_ID_MISMATCH = -656,  /* identifier member != identifier (D-13) */
    AA_E_DISC_JWKS = -657,         /* JWKS rejected by aa_jwks_parse (message has why) */
    AA_E_DISC_KID_UNKNOWN = -658,  /* no key with that kid, after the allowed refetch */
    AA_E_DISC_JKT_UNKNOWN = -659,  /* no key with that thumbprint, after the refetch */
    AA_E_DISC_WELL_KNOWN = -660    /* well-known name not one of the three AAuth names */
};

#define AA_DISC_TTL_DEFAULT 300             /* s, PROFILE#3 */
#define AA_DISC_TTL_MAX 86400               /* s, cap on Cache-Control: max-age */
#define AA_DISC_REFETCH_INTERVAL 30         /* s, PROFILE#3 */
#define AA_DISC_MAX_DOC ((size_t)64 * 1024) /* PROFILE#3 */
#define AA_DISC_MAX_ENTRIES 256

/* Seconds on any monotonic scale. Called with the cache lock held: it must
 * not call back into the cache. */
typedef int64_t (*aa_disc_clock_fn)(void *ctx);
/*
 * Return true to allow a GET of |url|. Called without the cache lock, from
 * whichever thread fetches; must be thread-safe. Replaces the default policy
 * (call aa_disc_default_allow() from it to extend rather than replace).
 */
typedef bool (*aa_disc_allow_fn)(void *ctx, const char *url);

struct aa_disc_opts {
    bool dev_mode;                      /* http loopback identifiers (D-1), loopback fetches */
    const char *const *trusted_origins; /* "https://as.example"; copied */
    size_t n_trusted;
    aa_disc_allow_fn allow; /* NULL -> default policy */
    void *allow_ctx;
    aa_disc_clock_fn clock; /* NULL -> CLOCK_MONOTONIC seconds */
    void *clock_ctx;
    int64_t default_ttl_s;      /* 0 -> 300; used without max-age */
    int64_t max_ttl_s;          /* 0 -> 86400 */
    int64_t refetch_interval_s; /* 0 -> 30 */
    long connect_timeout_ms;    /* 0 -> 2000 */
    long timeout_ms;            /* 0 -> 5000 */
    size_t max_doc;             /* 0 -> 64 KiB; documents and JWKS */
    size_t max_entries;         /* 0 -> 256 URLs */
};

struct aa_disc;

/* New cache; |o| may be NULL (defaults, no trusted origins, not dev mode).
 * NULL on allocation failure or bad options. */
struct aa_disc *aa_disc_new(const struct aa_disc_opts *o);
/* Frees everything. No other thread may be using |c|. */
void aa_disc_free(struct aa_disc *c);

/* The default policy described above, for allow callbacks that extend it. */
bool aa_disc_default_allow(const struct aa_disc *c, const char *url);

/*
 * The identifier member a well-known document must carry: "aauth-agent" ->
 * "agent", "aauth-resource" -> "resource", "aauth-issuer" -> "issuer";
 * NULL for any other name.
 */
const char *aa_disc_id_member(const char *well_known);

/*
 * Metadata for |id| (must pass aa_http_identifier_check with the cache's
 * dev_mode: AA_E_HTTP_IDENTIFIER otherwise) and |well_known| (one of the
 * three names: AA_E_DISC_WELL_KNOWN otherwise), from cache or network.
 * The document must be a JSON object whose identifier member equals |id|
 * and which has a string "jwks_uri" that is an http(s) URL.
 * |*out| receives a deep copy the caller frees with cJSON_Delete.
 */
int aa_disc_metadata(struct aa_disc *c, const char *id, const char *well_known, cJSON **out,
                     struct aa_diag *d) AA_WUR;

/* One string member of the metadata, copied (free()). AA_E_DISC_MEMBER if
 * absent or not a string. */
int aa_disc_metadata_str(struct aa_disc *c, const char *id, const char *well_known,
                         const char *member, char **out, struct aa_diag *d) AA_WUR;

/*
 * The key |kid| from the JWKS named by the metadata's jwks_uri. On success
 * |out| holds a reference (aa_jwk_copy) the caller releases with
 * aa_jwk_cleanup. When the kid is absent from a cached JWKS, the JWKS is
 * refetched once, unless a kid/thumbprint-triggered refetch of that URL
 * happened less than refetch_interval_s ago or the JWKS was fetched by this
 * very call; then AA_E_DISC_KID_UNKNOWN. A failed refetch keeps the cached
 * JWKS.
 */
int aa_disc_key(struct aa_disc *c, const char *id, const char *well_known, const char *kid,
                struct aa_jwk *out, struct aa_diag *d) AA_WUR;

/* As aa_disc_key, selecting the key whose RFC 7638 thumbprint is |jkt|
 * (PROFILE#6.5 step 4). AA_E_DISC_JKT_UNKNOWN when absent. */
int aa_disc_key_by_thumbprint(struct aa_disc *c, const char *id, const char *well_known,
                              const char *jkt, struct aa_jwk *out, struct aa_diag *d) AA_WUR;

/*
 * A key from a JWKS at |jwks_url| directly (Signature-Key jwks Mode 1, or
 * Mode 2 without well-known: PROFILE#2.3). Same caching, allow policy and
 * refetch rule; no identifier check (there is no metadata).
 */
int aa_disc_jwks_url_key(struct aa_disc *c, const char *jwks_url, const char *kid,
                         struct aa_jwk *out, struct aa_diag *d) AA_WUR;

/* A copy of the whole JWKS behind (id, well_known), e.g. for metadata checks
 * (PROFILE#7 F2.1). Release with aa_jwks_cleanup. */
int aa_disc_jwks(struct aa_disc *c, const char *id, const char *well_known, struct aa_jwks *out,
                 struct aa_diag *d) AA_WUR;

/* Network fetches made for |url| since its cache entry was created (0 if
 * unknown), and since aa_disc_new. Refused URLs never count. */
unsigned aa_disc_fetch_count(struct aa_disc *c, const char *url);
unsigned aa_disc_fetch_total(struct aa_disc *c);

/* Drop every cached document (counters too). */
void aa_disc_flush(struct aa_disc *c);

#endif
