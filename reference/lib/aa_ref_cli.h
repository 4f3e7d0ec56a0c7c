/*
 * aa_ref_cli: option handling of the aauth-reference tool, kept in the
 * library so it can be unit-tested without starting a process.
 *
 * Options come from an optional JSON config file (--config FILE, an object
 * whose keys are the long option names without "--": {"roles":"agent",
 * "agent-port":9001, "trust":["https://as.example"], "strict-https":true})
 * and from the command line, which wins: a command-line --trust or --fault
 * replaces the file's list instead of adding to it.
 *
 * Design choice: parsing only fills struct aa_ref_cli and validates every
 * value; turning it into role configurations is a separate, equally pure
 * step (aa_ref_cli_*_config), so tests check both without sockets.
 */
#ifndef AA_REF_CLI_H
#define AA_REF_CLI_H

#include <stdio.h>

#include "aa_ref.h"

#define AA_REF_CLI_MAX_TRUST 32
#define AA_REF_CLI_CONFIG_MAX ((size_t)256 * 1024)   /* --config file size */
#define AA_REF_CLI_TTL_MAX ((int64_t)315360000)      /* ten years */
#define AA_REF_CLI_CLOCK_MAX ((int64_t)253402300799) /* 9999-12-31T23:59:59Z */
#define AA_REF_N_ROLES 3

enum aa_ref_cli_action {
    AA_REF_CLI_RUN = 0,
    AA_REF_CLI_HELP,
    AA_REF_CLI_VERSION,
    AA_REF_CLI_LIST_FAULTS,
    AA_REF_CLI_PRINT_CONFIG
};

/* Everything indexed [AA_REF_N_ROLES] is by enum aa_ref_role. Strings are
 * owned (heap) and freed by aa_ref_cli_cleanup. */
struct aa_ref_cli {
    enum aa_ref_cli_action action;
    unsigned roles;                /* bit (1u << role); default all three */
    char *bind;                    /* default "127.0.0.1" */
    uint16_t port[AA_REF_N_ROLES]; /* default 8001, 8002, 8003 */
    char *id[AA_REF_N_ROLES];      /* NULL: listen origin */
    char *alias[AA_REF_N_ROLES];   /* display aliases (D-3), transcripts only */
    bool seed_aliases;             /* agent/resource aliases of the seed */
    char *key_dir;                 /* agent.jwk, resource.jwk, auth.jwk */
    char *agent_name;
    int64_t agent_token_ttl, resource_token_ttl, auth_token_ttl; /* 0: D-5 */
    int64_t request_token_ttl, code_ttl, refresh_token_ttl;
    char *scope;                       /* resource challenge scope */
    bool consent_user;                 /* --consent user (D-19) */
    char *trust[AA_REF_CLI_MAX_TRUST]; /* upstream issuers the AS trusts (D-21) */
    size_t n_trust;
    char *auth_server; /* the resource's AS; NULL: the auth role's id */
    char *downstream;  /* F7 R2 URL for /data-exchange */
    /* GET /public: unsigned requests per minute and address; 0 disables */
    unsigned public_limit;
    bool strict_https;
    bool allow_remote_delegates;
    bool frozen;
    int64_t frozen_clock;
    int verbosity; /* 0 -q, 1 default, 2 -v, 3 -vv */
    unsigned faults;
    char *config_file;
    /* connection hardening (aa_ref_common); 0: the adapter's default */
    unsigned timeout_s, request_timeout_s;
    unsigned max_connections, max_connections_per_ip;
    bool allow_dev_remote;

    /* Filled by aa_ref_cli_parse from the above (pointers into this struct). */
    char *key_file[AA_REF_N_ROLES];
    char *default_id[AA_REF_N_ROLES]; /* listen origin for a fixed port, else NULL */
    struct aa_ref_alias aliases[AA_REF_N_ROLES];
    size_t n_aliases;
    const char *origins[AA_REF_CLI_MAX_TRUST + AA_REF_N_ROLES + 1]; /* https allowlist */
    size_t n_origins;
    const char *trust_v[AA_REF_CLI_MAX_TRUST];
};

void aa_ref_cli_init(struct aa_ref_cli *cli);
void aa_ref_cli_cleanup(struct aa_ref_cli *cli);

/*
 * Parse |argv| (argv[0] is the program name) over the defaults and the
 * config file. Returns AA_OK (see cli->action), AA_E_SYNTAX for a usage
 * error with |err| holding one line that names the option ("--agent-port:
 * \"99999\" is not a port (0-65535)"), AA_E_IO when --config cannot be
 * read (|err| names the file), AA_E_NOMEM. |cli| must be initialised and
 * is cleaned up by the caller in every case.
 */
int aa_ref_cli_parse(struct aa_ref_cli *cli, int argc, char *const argv[], char *err,
                     size_t errcap) AA_WUR;

/* --help text, --list-faults table, --print-config JSON (same keys as a
 * config file, so its output can be fed back with --config). */
void aa_ref_cli_help(FILE *out);
void aa_ref_cli_list_faults(FILE *out);
int aa_ref_cli_config_json(const struct aa_ref_cli *cli, struct aa_buf *out);

/*
 * Role configurations from |cli| (which must outlive them). |clock| is
 * shared by all roles (frozen when --frozen-clock), |log| receives logs.
 * |auth_id| names the resource's auth server when --auth-server is not
 * given (the running AS's identifier); NULL falls back to the AS's
 * configured or default identifier.
 */
void aa_ref_cli_agent_config(const struct aa_ref_cli *cli, struct aa_ref_clock *clock, FILE *log,
                             struct aa_ref_agent_config *out);
void aa_ref_cli_resource_config(const struct aa_ref_cli *cli, struct aa_ref_clock *clock, FILE *log,
                                const char *auth_id, struct aa_ref_resource_config *out);
void aa_ref_cli_auth_config(const struct aa_ref_cli *cli, struct aa_ref_clock *clock, FILE *log,
                            struct aa_ref_auth_config *out);

#endif
