/*
 * aa_ref: the reference agent server, resource and auth server, embeddable
 * in-process (the conformance runner and the tests start any subset on
 * loopback) and wrapped by the aauth-reference tool.
 *
 * Each role follows PROTOCOL.md (PROFILE#3, #4, #5, #6, #10) exactly. All
 * three share one configuration shape (struct aa_ref_common): where to
 * listen, which public identifier to claim, which key to sign with, which
 * clock to read, which fault switches to enable. Servers are started with
 * aa_ref_*_start() and stopped with aa_ref_stop(); every handler is
 * thread-safe and never trusts the network: size limits, strict parsers and
 * PROFILE#6.8 error JSON on every failure path.
 *
 * Design choice: the public identifier and the listen address are separate.
 * By default the identifier is the listen origin ("http://127.0.0.1:8001",
 * dev mode, PROFILE#1 D-1); an external deployment can claim another one.
 * The seed's https names are display aliases only (D-3): they appear in -v
 * transcripts, never in tokens, bases or requests.
 */
#ifndef AA_REF_H
#define AA_REF_H

#include <stdio.h>

#include "aauth/aa_aauth.h"
#include "http/aa_discovery.h"
#include "jwk/aa_jwk.h"
#include "server/aa_server.h"

enum aa_ref_role { AA_REF_AGENT = 0, AA_REF_RESOURCE, AA_REF_AUTH };

/* Default topology (PROFILE#1). */
#define AA_REF_AGENT_PORT 8001
#define AA_REF_RESOURCE_PORT 8002
#define AA_REF_AUTH_PORT 8003
#define AA_REF_AGENT_KID "key-1"
#define AA_REF_RESOURCE_KID "resource-key-1"
#define AA_REF_AUTH_KID "auth-key-1"
#define AA_REF_AGENT_ALIAS "https://agent.supply-chain.com"
#define AA_REF_RESOURCE_ALIAS "https://important.resource.com"
#define AA_REF_AGENT_NAME "AAuth Reference Agent"

/* Reference paths (PROFILE#3, #6.1). Metadata lives at
 * "/.well-known/" + the profile's well-known name. */
#define AA_REF_PATH_JWKS "/jwks.json"
#define AA_REF_PATH_DELEGATE_TOKEN "/delegate/token"
#define AA_REF_PATH_CALLBACK "/callback"

/* Lifetimes in seconds (D-5). */
#define AA_REF_AGENT_TOKEN_TTL 3600
#define AA_REF_RESOURCE_TOKEN_TTL 300
#define AA_REF_AUTH_TOKEN_TTL 3600
#define AA_REF_REQUEST_TOKEN_TTL 600
#define AA_REF_CODE_TTL 60
#define AA_REF_REFRESH_TOKEN_TTL 86400

/* GET /public (PROFILE#6.2, F1.4): unsigned requests per client address in
 * one fixed minute before 429. 0 disables the endpoint. */
#define AA_REF_PUBLIC_LIMIT 60u
#define AA_REF_PUBLIC_LIMIT_MAX 1000000u

/*
 * Clock: frozen (reproducible runs, vectors) or the real time. A frozen
 * clock may be advanced by tests through aa_ref_clock_advance().
 */
struct aa_ref_clock {
    bool frozen;
    int64_t value; /* frozen time (seconds since the epoch) */
    int64_t offset; /* added to the real time when not frozen */
};
/* NULL |c| reads the real time. Safe to call from handler threads while a
 * test advances the clock (the fields are accessed atomically). */
int64_t aa_ref_clock_now(const struct aa_ref_clock *c);
/* Frozen: value += |secs|; otherwise offset += |secs|. */
void aa_ref_clock_advance(struct aa_ref_clock *c, int64_t secs);

/*
 * Fault switches: each breaks exactly ONE behaviour so that the
 * conformance suite can be proven able to fail (aauth-reference --fault).
 * Never enabled unless explicitly requested. aa_ref_faults[] documents
 * them (name, roles, what breaks, the check ids expected to FAIL), and
 * docs/faults.md is that table; suites/unit/test_faults.c proves every
 * row against the conformance runner.
 */
enum aa_ref_fault {
    AA_REF_FAULT_ACCEPT_EXPIRED = 1u << 0,       /* tokens past exp accepted */
    AA_REF_FAULT_SKIP_SIGKEY_COVERAGE = 1u << 1, /* signature-key need not be covered */
    AA_REF_FAULT_IGNORE_AUD = 1u << 2,           /* aud of presented tokens not checked */
    AA_REF_FAULT_ACCEPT_ALG_NONE = 1u << 3,      /* alg:none tokens accepted */
    AA_REF_FAULT_AUTHORITY_FROM_HOST = 1u << 4,  /* @authority taken from Host */
    AA_REF_FAULT_ACCEPT_LEGACY_BASE = 1u << 5,   /* base without @signature-params */
    AA_REF_FAULT_GRANT_AGENT_TOKEN = 1u << 6,    /* /data-auth granted to an agent token */
    AA_REF_FAULT_RT_NO_SIG_CHECK = 1u << 7,      /* AS accepts resource tokens with a bad JWS */
    AA_REF_FAULT_SKIP_CREATED_WINDOW = 1u << 8,  /* created window not checked */
    AA_REF_FAULT_SKIP_REPLAY = 1u << 9,          /* nonce replay not detected */
    AA_REF_FAULT_WRONG_TYP = 1u << 10,           /* issues tokens with typ "JWT" */
    AA_REF_FAULT_NO_CHALLENGE = 1u << 11,        /* 401 without Agent-Auth */
    AA_REF_FAULT_CNF_UNBOUND = 1u << 12,         /* scheme=jwt signature not checked against cnf */
    AA_REF_FAULT_CODE_REUSE = 1u << 13,          /* authorization codes reusable */
    AA_REF_FAULT_REFRESH_ANY_AGENT = 1u << 14,   /* refresh token not bound to agent/delegate */
    AA_REF_FAULT_ACCEPT_PRIVATE_CNF = 1u << 15,  /* /delegate/token accepts a private JWK */
    AA_REF_FAULT_SKIP_DIGEST = 1u << 16,         /* Content-Digest not compared with the body */
    AA_REF_FAULT_SKIP_TYP = 1u << 17,            /* JWT typ of presented tokens not checked */
    AA_REF_FAULT_IGNORE_HWK_BINDING = 1u << 18, /* hwk key != cnf_jwk accepted at /delegate/token */
    AA_REF_FAULT_METADATA_ID_MISMATCH = 1u << 19,  /* metadata identifier member != id */
    AA_REF_FAULT_JWKS_PRIVATE = 1u << 20,          /* every role's JWKS publishes the private d */
    AA_REF_FAULT_EXP_BEYOND_EXPIRES_IN = 1u << 21, /* agent token exp = now + ttl + 3600 */
    AA_REF_FAULT_CNF_MISMATCH = 1u << 22, /* agent token cnf.jwk is not the submitted key */
    AA_REF_FAULT_EXCHANGE_UNTRUSTED_UPSTREAM = 1u << 23, /* exchange trusts any upstream iss */
    AA_REF_FAULT_EXCHANGE_REFRESH_TOKEN = 1u << 24, /* exchange answer carries a refresh_token */
    AA_REF_FAULT_EXCHANGE_NO_ACT = 1u << 25,        /* exchanged token (T2) without act */
    AA_REF_FAULT_REFRESH_ROTATES = 1u << 26,        /* refresh answer carries a new refresh_token */
    AA_REF_FAULT_STATE_NOT_ECHOED = 1u << 27,       /* consent redirects drop state */
    AA_REF_FAULT_F5_AGENT_CLAIM = 1u << 28,         /* auth token with aud = the agent has agent */
    AA_REF_FAULT_SCOPE_NOT_ENFORCED = 1u << 29, /* auth token scope not compared with the need */
    AA_REF_FAULT_RT_WRONG_AGENT_JKT = 1u << 30  /* resource token agent_jkt = the resource's key */
    /* Bit 31 is the last one an unsigned mask holds (and it is outside the
     * int range C11 guarantees for enumerators): a 32nd fault needs a wider
     * aa_ref_common.faults. */
};

struct aa_ref_fault_info {
    const char *name;            /* "accept-expired" */
    unsigned bit;
    const char *roles;           /* the roles whose behaviour the switch changes, "resource,auth"
                                    (role names: agent, resource, auth) */
    const char *breaks;          /* one sentence */
    const char *failing_checks;  /* comma-separated aauth-conformance check ids that must FAIL
                                    (WARN for SHOULD-level checks) against a server with the
                                    switch on; each is judged on one of |roles| */
};
extern const struct aa_ref_fault_info aa_ref_faults[];
extern const size_t aa_ref_n_faults;
/* Parse "a,b,c" into a bitmask; AA_E_NOTFOUND (message names it) if unknown,
 * AA_E_SYNTAX for an empty name ("a,,b"). |*out| is written only on success. */
int aa_ref_faults_parse(const char *list, unsigned *out, struct aa_diag *d);
/* The table entry for exactly one bit, NULL if none. */
const struct aa_ref_fault_info *aa_ref_fault_find(unsigned bit);

/*
 * The dev-mode identifier a server listening on |bind| (NULL ->
 * "127.0.0.1") and |port| claims by default: "http://<bind>:<port>", with
 * a wildcard bind reached through loopback ("0.0.0.0" -> 127.0.0.1,
 * "::" -> [::1]) and IPv6 literals in brackets. AA_E_LIMIT if |cap| is too
 * small. The result is not validated (a non-loopback bind gives an http
 * origin that PROFILE#1 refuses: such servers need a configured id).
 */
int aa_ref_default_id(const char *bind, uint16_t port, char *out, size_t cap);

/* "agent", "resource", "auth" (the --roles names). */
const char *aa_ref_role_name(enum aa_ref_role role);

/* A display alias for transcripts (D-3): |id| is replaced by |alias| in
 * -v output only, wherever it appears as a whole origin. */
struct aa_ref_alias {
    const char *id;
    const char *alias;
};

/* Settings every role shares. Zero-initialise, then set what you need. */
struct aa_ref_common {
    const char *bind_addr;     /* NULL -> "127.0.0.1" */
    uint16_t port;             /* 0 -> ephemeral */
    const char *id;            /* public identifier; NULL -> listen origin */
    const char *authority;     /* canonical @authority; NULL -> from id (D-2) */
    const char *display_alias; /* transcripts only (D-3): replaces this server's id */
    const struct aa_ref_alias *aliases; /* more (id, alias) pairs for transcripts */
    size_t n_aliases;
    const char *key_file;      /* JWK or PEM; generated + saved when missing */
    const struct aa_jwk *key;  /* explicit private key (wins over key_file) */
    const char *kid;           /* NULL -> role default */
    struct aa_ref_clock *clock; /* NULL -> real time; shared, not copied */
    bool strict_https;         /* refuse http identifiers (default: dev mode) */
    unsigned faults;           /* enum aa_ref_fault bits */
    int verbosity;             /* 0 quiet, 1 one line per request, 2 + transcripts
                                  (header values cut per PROFILE#8), 3 uncut */
    FILE *log;                 /* NULL -> stderr */
    const char *const *trusted_origins; /* discovery allowlist (https) */
    size_t n_trusted_origins;
    unsigned threads;          /* MHD threads; 0 -> 2 */
    struct aa_disc *disc;      /* shared discovery cache; NULL -> own cache */
    /* Connection hardening (aa_server_opts, docs/security.md section 2);
     * 0 -> the adapter's default. */
    unsigned timeout_s;              /* inactivity cut-off; 10 */
    unsigned request_timeout_s;      /* a whole request must arrive within; 30 */
    unsigned max_connections;        /* open at once; 512 */
    unsigned max_connections_per_ip; /* open at once from one address; 64 */
    /* Dev mode (strict_https off) lets a request make this server fetch
     * discovery documents from any loopback URL (PROFILE#1 D-1). Bound to a
     * non-loopback address, that would let remote clients probe this
     * host's loopback services, so such a server refuses to start unless
     * this is set (docs/security.md section 1). */
    bool allow_dev_remote;
};

struct aa_ref_agent_config {
    struct aa_ref_common c;
    int64_t agent_token_ttl;   /* 0 -> 3600 */
    const char *name;          /* metadata "name" (PROFILE#3); NULL -> default */
    /* PROFILE#6.1: unauthenticated issuance is allowed only on loopback; a
     * /delegate/token request from another address gets 403 access_denied
     * unless this is set (lab setups across containers). */
    bool allow_remote_delegates;
};

struct aa_ref_resource_config {
    struct aa_ref_common c;
    const char *auth_server;               /* AS identifier named in challenges */
    const char *const *trusted_auth_servers; /* NULL -> { auth_server } */
    size_t n_trusted_auth_servers;
    const char *scope;                     /* challenge scope; NULL -> "data.read data.write" */
    const char *supported_scopes;          /* NULL -> "data.read data.write" */
    int64_t resource_token_ttl;            /* 0 -> 300 */
    const char *downstream;                /* F7: R2 URL for GET /data-exchange, or NULL */
    bool require_nonce_on_post;            /* default true via aa_ref_resource_defaults */
    /* GET /public: unsigned requests per client address per minute
     * 0 -> no /public route (404). Default AA_REF_PUBLIC_LIMIT
     * via aa_ref_resource_defaults; at most AA_REF_PUBLIC_LIMIT_MAX. */
    unsigned public_limit;
};

struct aa_ref_user {
    const char *username, *password, *name, *email;
};

struct aa_ref_auth_config {
    struct aa_ref_common c;
    bool require_user_consent;             /* D-19 */
    const char *const *trusted_issuers;    /* upstream AS ids trusted for exchange */
    size_t n_trusted_issuers;
    const char *scopes_supported;          /* NULL -> "data.read data.write openid profile email" */
    int64_t auth_token_ttl, request_token_ttl, code_ttl, refresh_token_ttl; /* 0 -> D-5 */
    const struct aa_ref_user *users;       /* NULL -> testuser/testpass (PROFILE#6.6) */
    size_t n_users;
    /* Capacity of each grant table (request tokens, codes, refresh
     * tokens); a full table answers 429 with Retry-After. 0 -> 4096. */
    size_t max_entries;
};

/* Fill defaults (ports 8001/8002/8003 are NOT implied: port stays 0). */
void aa_ref_agent_defaults(struct aa_ref_agent_config *c);
void aa_ref_resource_defaults(struct aa_ref_resource_config *c);
void aa_ref_auth_defaults(struct aa_ref_auth_config *c);

struct aa_ref_server;

int aa_ref_agent_start(const struct aa_ref_agent_config *cfg, struct aa_ref_server **out,
                       struct aa_diag *d) AA_WUR;
int aa_ref_resource_start(const struct aa_ref_resource_config *cfg, struct aa_ref_server **out,
                          struct aa_diag *d) AA_WUR;
int aa_ref_auth_start(const struct aa_ref_auth_config *cfg, struct aa_ref_server **out,
                      struct aa_diag *d) AA_WUR;

enum aa_ref_role aa_ref_role_of(const struct aa_ref_server *s);
const char *aa_ref_url(const struct aa_ref_server *s); /* listen origin */
const char *aa_ref_id(const struct aa_ref_server *s);  /* public identifier */
const struct aa_jwk *aa_ref_key(const struct aa_ref_server *s); /* signing key (private) */
uint16_t aa_ref_port(const struct aa_ref_server *s);
/* Requests answered per path, for tests that check what a peer fetched
 * (e.g. "R fetched the agent metadata and JWKS", PROFILE#7 F2.3). */
uint64_t aa_ref_hits(const struct aa_ref_server *s, const char *path);
void aa_ref_stop(struct aa_ref_server *s);

#endif
