/*
 * ref_cli: the options of aauth-reference (see aa_ref_cli.h): defaults of
 * the seed demo (agent :8001, resource :8002, auth :8003 on 127.0.0.1),
 * an optional JSON config file, the command line on top, validation of
 * every value with a one-line message that names the option, --help,
 * --list-faults, --print-config, and the translation into role configs.
 *
 * Design choice: one option table drives both sources. A config-file value
 * is turned into the same text the command line would carry and goes
 * through the same apply() path, so the two can never validate
 * differently.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "aa_ref_cli.h"
#include "json/aa_json.h"
#include "ref_int.h"

enum opt_id {
    O_CONFIG,
    O_ROLES,
    O_BIND,
    O_AGENT_PORT,
    O_RESOURCE_PORT,
    O_AUTH_PORT,
    O_AGENT_ID,
    O_RESOURCE_ID,
    O_AUTH_ID,
    O_AGENT_ALIAS,
    O_RESOURCE_ALIAS,
    O_AUTH_ALIAS,
    O_SEED_ALIASES,
    O_KEY_DIR,
    O_AGENT_NAME,
    O_AGENT_TTL,
    O_RESOURCE_TTL,
    O_AUTH_TTL,
    O_REQUEST_TTL,
    O_CODE_TTL,
    O_REFRESH_TTL,
    O_SCOPE,
    O_CONSENT,
    O_TRUST,
    O_AUTH_SERVER,
    O_DOWNSTREAM,
    O_PUBLIC_LIMIT,
    O_STRICT_HTTPS,
    O_ALLOW_REMOTE,
    O_FROZEN_CLOCK,
    O_VERBOSITY,
    O_FAULT,
    O_TIMEOUT,
    O_REQUEST_TIMEOUT,
    O_MAX_CONNECTIONS,
    O_MAX_PER_IP,
    O_ALLOW_DEV_REMOTE,
    O_LIST_FAULTS,
    O_PRINT_CONFIG,
    O_HELP,
    O_VERSION
};

struct opt {
    const char *name; /* long name without "--"; also the config key */
    enum opt_id id;
    bool has_arg; /* false: a flag (config value true/false) */
    bool in_config;
};

static const struct opt opts[] = {
    {"config", O_CONFIG, true, false},
    {"roles", O_ROLES, true, true},
    {"bind", O_BIND, true, true},
    {"agent-port", O_AGENT_PORT, true, true},
    {"resource-port", O_RESOURCE_PORT, true, true},
    {"auth-port", O_AUTH_PORT, true, true},
    {"agent-id", O_AGENT_ID, true, true},
    {"resource-id", O_RESOURCE_ID, true, true},
    {"auth-id", O_AUTH_ID, true, true},
    {"agent-alias", O_AGENT_ALIAS, true, true},
    {"resource-alias", O_RESOURCE_ALIAS, true, true},
    {"auth-alias", O_AUTH_ALIAS, true, true},
    {"seed-aliases", O_SEED_ALIASES, false, true},
    {"key-dir", O_KEY_DIR, true, true},
    {"agent-name", O_AGENT_NAME, true, true},
    {"agent-token-ttl", O_AGENT_TTL, true, true},
    {"resource-token-ttl", O_RESOURCE_TTL, true, true},
    {"auth-token-ttl", O_AUTH_TTL, true, true},
    {"request-token-ttl", O_REQUEST_TTL, true, true},
    {"code-ttl", O_CODE_TTL, true, true},
    {"refresh-token-ttl", O_REFRESH_TTL, true, true},
    {"scope", O_SCOPE, true, true},
    {"consent", O_CONSENT, true, true},
    {"trust", O_TRUST, true, true},
    {"auth-server", O_AUTH_SERVER, true, true},
    {"downstream", O_DOWNSTREAM, true, true},
    {"public-limit", O_PUBLIC_LIMIT, true, true},
    {"strict-https", O_STRICT_HTTPS, false, true},
    {"allow-remote-delegates", O_ALLOW_REMOTE, false, true},
    {"frozen-clock", O_FROZEN_CLOCK, true, true},
    {"verbosity", O_VERBOSITY, true, true},
    {"fault", O_FAULT, true, true},
    {"timeout", O_TIMEOUT, true, true},
    {"request-timeout", O_REQUEST_TIMEOUT, true, true},
    {"max-connections", O_MAX_CONNECTIONS, true, true},
    {"max-connections-per-ip", O_MAX_PER_IP, true, true},
    {"allow-dev-remote", O_ALLOW_DEV_REMOTE, false, true},
    {"list-faults", O_LIST_FAULTS, false, false},
    {"print-config", O_PRINT_CONFIG, false, false},
    {"help", O_HELP, false, false},
    {"version", O_VERSION, false, false},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static const struct opt *find_opt(const char *name, size_t n)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(opts[i].name) == n && memcmp(opts[i].name, name, n) == 0)
            return &opts[i];
    return NULL;
}

/* ---- init / cleanup ------------------------------------------------------- */

void aa_ref_cli_init(struct aa_ref_cli *cli)
{
    memset(cli, 0, sizeof(*cli));
    cli->roles = (1u << AA_REF_AGENT) | (1u << AA_REF_RESOURCE) | (1u << AA_REF_AUTH);
    cli->port[AA_REF_AGENT] = AA_REF_AGENT_PORT;
    cli->port[AA_REF_RESOURCE] = AA_REF_RESOURCE_PORT;
    cli->port[AA_REF_AUTH] = AA_REF_AUTH_PORT;
    cli->public_limit = AA_REF_PUBLIC_LIMIT;
    cli->verbosity = 1;
}

static void free_derived(struct aa_ref_cli *cli)
{
    for (int r = 0; r < AA_REF_N_ROLES; r++) {
        free(cli->key_file[r]);
        free(cli->default_id[r]);
        cli->key_file[r] = NULL;
        cli->default_id[r] = NULL;
    }
    cli->n_aliases = 0;
    cli->n_origins = 0;
}

void aa_ref_cli_cleanup(struct aa_ref_cli *cli)
{
    if (cli == NULL)
        return;
    free_derived(cli);
    for (int r = 0; r < AA_REF_N_ROLES; r++) {
        free(cli->id[r]);
        free(cli->alias[r]);
    }
    for (size_t i = 0; i < cli->n_trust; i++)
        free(cli->trust[i]);
    free(cli->bind);
    free(cli->key_dir);
    free(cli->agent_name);
    free(cli->scope);
    free(cli->auth_server);
    free(cli->downstream);
    free(cli->config_file);
    memset(cli, 0, sizeof(*cli));
}

/* ---- value checks ----------------------------------------------------------- */

/* All apply() errors: "--name: message". */
static int usage(char *err, size_t cap, const struct opt *o, const char *fmt, ...) AA_PRINTF(4, 5);
static int usage(char *err, size_t cap, const struct opt *o, const char *fmt, ...)
{
    struct aa_buf b;
    va_list ap;

    aa_buf_init(&b, 1024);
    if (o != NULL)
        aa_buf_printf(&b, "--%s: ", o->name);
    va_start(ap, fmt);
    aa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.err == AA_OK)
        (void)aa_snprintf(err, cap, "%s", b.p);
    else
        (void)aa_snprintf(err, cap, "invalid option");
    aa_buf_free(&b);
    return AA_E_SYNTAX;
}

static int set_str(char **dst, const char *v)
{
    char *c = aa_strdup(v);

    if (c == NULL)
        return AA_E_NOMEM;
    free(*dst);
    *dst = c;
    return AA_OK;
}

static bool parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t x;

    if (v[0] == '\0' || v[0] == '+' || aa_parse_i64(v, strlen(v), &x) != AA_OK)
        return false;
    if (x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

static bool printable(const char *v, size_t max)
{
    size_t n = strlen(v);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return false;
    return true;
}

/* RFC6749#3.3: scope = scope-token *( SP scope-token ),
 * scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static bool scope_ok(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || v[0] == ' ' || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == ' ') {
            if (v[i + 1] == ' ')
                return false;
            continue;
        }
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static bool bool_value(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else
        return false;
    return true;
}

static int parse_roles(const char *v, unsigned *out)
{
    unsigned r = 0;
    const char *p = v;

    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 5 && memcmp(p, "agent", 5) == 0)
            r |= 1u << AA_REF_AGENT;
        else if (n == 8 && memcmp(p, "resource", 8) == 0)
            r |= 1u << AA_REF_RESOURCE;
        else if ((n == 4 && memcmp(p, "auth", 4) == 0) ||
                 (n == 11 && memcmp(p, "auth-server", 11) == 0))
            r |= 1u << AA_REF_AUTH;
        else if (n == 3 && memcmp(p, "all", 3) == 0)
            r |= (1u << AA_REF_AGENT) | (1u << AA_REF_RESOURCE) | (1u << AA_REF_AUTH);
        else
            return -(int)(p - v) - 1; /* offset of the bad name, negated */
        if (e == NULL)
            break;
        p = e + 1;
    }
    *out = r;
    return 0;
}

/* ---- apply one option ------------------------------------------------------- */

/* The role a per-role option (port, id, alias) belongs to. */
static enum aa_ref_role opt_role(enum opt_id id)
{
    switch (id) {
    case O_AGENT_PORT:
    case O_AGENT_ID:
    case O_AGENT_ALIAS:
        return AA_REF_AGENT;
    case O_RESOURCE_PORT:
    case O_RESOURCE_ID:
    case O_RESOURCE_ALIAS:
        return AA_REF_RESOURCE;
    default:
        return AA_REF_AUTH;
    }
}

struct parse_state {
    bool trust_from_cli, fault_from_cli;
    bool from_cli;
};

static int apply(struct aa_ref_cli *cli, struct parse_state *st, const struct opt *o, const char *v,
                 char *err, size_t cap)
{
    int64_t x;
    unsigned bits = 0;
    int rc;
    struct aa_diag d;
    struct aa_url u;

    switch (o->id) {
    case O_CONFIG:
        return set_str(&cli->config_file, v);
    case O_ROLES:
        rc = parse_roles(v, &bits);
        if (rc < 0) {
            const char *bad = v + (-rc - 1);
            return usage(err, cap, o, "unknown role \"%.*s\" (agent, resource, auth, all)",
                         (int)strcspn(bad, ","), bad);
        }
        if (bits == 0)
            return usage(err, cap, o, "no role given");
        cli->roles = bits;
        return AA_OK;
    case O_BIND: {
        unsigned char buf[16];
        if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
            return usage(err, cap, o, "\"%.64s\" is not an IPv4 or IPv6 address", v);
        return set_str(&cli->bind, v);
    }
    case O_AGENT_PORT:
    case O_RESOURCE_PORT:
    case O_AUTH_PORT:
        if (!parse_int(v, 0, 65535, &x))
            return usage(err, cap, o, "\"%.64s\" is not a port (0-65535)", v);
        cli->port[opt_role(o->id)] = (uint16_t)x;
        return AA_OK;
    case O_AGENT_ID:
    case O_RESOURCE_ID:
    case O_AUTH_ID:
        /* Checked against --strict-https once all options are in. */
        return set_str(&cli->id[opt_role(o->id)], v);
    case O_AGENT_ALIAS:
    case O_RESOURCE_ALIAS:
    case O_AUTH_ALIAS:
        if (aa_url_parse(v, strlen(v), 0, &u, NULL) != AA_OK)
            return usage(err, cap, o, "\"%.64s\" is not an http(s) URL", v);
        return set_str(&cli->alias[opt_role(o->id)], v);
    case O_SEED_ALIASES:
        if (!bool_value(v, &cli->seed_aliases))
            return usage(err, cap, o, "expects true or false");
        return AA_OK;
    case O_KEY_DIR:
        if (!printable(v, 4000))
            return usage(err, cap, o, "expects a directory name");
        return set_str(&cli->key_dir, v);
    case O_AGENT_NAME:
        if (!printable(v, 200))
            return usage(err, cap, o, "expects 1-200 printable characters");
        return set_str(&cli->agent_name, v);
    case O_AGENT_TTL:
    case O_RESOURCE_TTL:
    case O_AUTH_TTL:
    case O_REQUEST_TTL:
    case O_CODE_TTL:
    case O_REFRESH_TTL:
        if (!parse_int(v, 1, AA_REF_CLI_TTL_MAX, &x))
            return usage(err, cap, o, "\"%.64s\" is not a lifetime in seconds (1-%lld)", v,
                         (long long)AA_REF_CLI_TTL_MAX);
        switch (o->id) {
        case O_AGENT_TTL:
            cli->agent_token_ttl = x;
            break;
        case O_RESOURCE_TTL:
            cli->resource_token_ttl = x;
            break;
        case O_AUTH_TTL:
            cli->auth_token_ttl = x;
            break;
        case O_REQUEST_TTL:
            cli->request_token_ttl = x;
            break;
        case O_CODE_TTL:
            cli->code_ttl = x;
            break;
        default:
            cli->refresh_token_ttl = x;
            break;
        }
        return AA_OK;
    case O_SCOPE:
        if (!scope_ok(v))
            return usage(err, cap, o, "\"%.64s\" is not a scope (RFC 6749 section 3.3)", v);
        return set_str(&cli->scope, v);
    case O_CONSENT:
        if (strcmp(v, "user") == 0)
            cli->consent_user = true;
        else if (strcmp(v, "autonomous") == 0)
            cli->consent_user = false;
        else
            return usage(err, cap, o, "\"%.64s\" is not autonomous or user", v);
        return AA_OK;
    case O_TRUST:
        if (st->from_cli && !st->trust_from_cli) {
            /* The command line replaces the config file's list. */
            for (size_t i = 0; i < cli->n_trust; i++)
                free(cli->trust[i]);
            cli->n_trust = 0;
            st->trust_from_cli = true;
        }
        if (cli->n_trust >= AA_REF_CLI_MAX_TRUST)
            return usage(err, cap, o, "at most %d trusted issuers", AA_REF_CLI_MAX_TRUST);
        if ((cli->trust[cli->n_trust] = aa_strdup(v)) == NULL)
            return AA_E_NOMEM;
        cli->n_trust++;
        return AA_OK;
    case O_AUTH_SERVER:
        return set_str(&cli->auth_server, v);
    case O_DOWNSTREAM:
        if (aa_url_parse(v, strlen(v), 0, &u, NULL) != AA_OK)
            return usage(err, cap, o, "\"%.64s\" is not an http(s) URL", v);
        return set_str(&cli->downstream, v);
    case O_PUBLIC_LIMIT:
        if (!parse_int(v, 0, AA_REF_PUBLIC_LIMIT_MAX, &x))
            return usage(err, cap, o,
                         "\"%.64s\" is not a number of requests per minute (0-%u; 0 disables "
                         "GET /public)",
                         v, AA_REF_PUBLIC_LIMIT_MAX);
        cli->public_limit = (unsigned)x;
        return AA_OK;
    case O_STRICT_HTTPS:
        if (!bool_value(v, &cli->strict_https))
            return usage(err, cap, o, "expects true or false");
        return AA_OK;
    case O_ALLOW_REMOTE:
        if (!bool_value(v, &cli->allow_remote_delegates))
            return usage(err, cap, o, "expects true or false");
        return AA_OK;
    case O_FROZEN_CLOCK:
        if (!parse_int(v, 0, AA_REF_CLI_CLOCK_MAX, &x))
            return usage(err, cap, o, "\"%.64s\" is not seconds since the epoch (0-%lld)", v,
                         (long long)AA_REF_CLI_CLOCK_MAX);
        cli->frozen = true;
        cli->frozen_clock = x;
        return AA_OK;
    case O_VERBOSITY:
        if (!parse_int(v, 0, 3, &x))
            return usage(err, cap, o, "\"%.64s\" is not a verbosity (0-3)", v);
        cli->verbosity = (int)x;
        return AA_OK;
    case O_FAULT:
        aa_diag_clear(&d);
        if (aa_ref_faults_parse(v, &bits, &d) != AA_OK)
            return usage(err, cap, o, "%s", d.msg);
        if (st->from_cli && !st->fault_from_cli) {
            cli->faults = 0;
            st->fault_from_cli = true;
        }
        cli->faults |= bits;
        return AA_OK;
    case O_TIMEOUT:
    case O_REQUEST_TIMEOUT:
        if (!parse_int(v, 1, AA_SERVER_TIMEOUT_MAX, &x))
            return usage(err, cap, o, "\"%.64s\" is not a number of seconds (1-%u)", v,
                         AA_SERVER_TIMEOUT_MAX);
        if (o->id == O_TIMEOUT)
            cli->timeout_s = (unsigned)x;
        else
            cli->request_timeout_s = (unsigned)x;
        return AA_OK;
    case O_MAX_CONNECTIONS:
    case O_MAX_PER_IP:
        if (!parse_int(v, 1, AA_SERVER_MAX_CONNECTIONS_LIMIT, &x))
            return usage(err, cap, o, "\"%.64s\" is not a connection count (1-%u)", v,
                         AA_SERVER_MAX_CONNECTIONS_LIMIT);
        if (o->id == O_MAX_CONNECTIONS)
            cli->max_connections = (unsigned)x;
        else
            cli->max_connections_per_ip = (unsigned)x;
        return AA_OK;
    case O_ALLOW_DEV_REMOTE:
        if (!bool_value(v, &cli->allow_dev_remote))
            return usage(err, cap, o, "expects true or false");
        return AA_OK;
    case O_LIST_FAULTS:
        cli->action = AA_REF_CLI_LIST_FAULTS;
        return AA_OK;
    case O_PRINT_CONFIG:
        cli->action = AA_REF_CLI_PRINT_CONFIG;
        return AA_OK;
    case O_HELP:
        cli->action = AA_REF_CLI_HELP;
        return AA_OK;
    case O_VERSION:
        cli->action = AA_REF_CLI_VERSION;
        return AA_OK;
    }
    return usage(err, cap, o, "not handled");
}

/* ---- config file ------------------------------------------------------------- */

static int apply_json(struct aa_ref_cli *cli, struct parse_state *st, const struct opt *o,
                      const cJSON *v, char *err, size_t cap)
{
    char num[32];
    const cJSON *it;
    int rc;

    if (cJSON_IsString(v))
        return apply(cli, st, o, v->valuestring, err, cap);
    if (cJSON_IsBool(v)) {
        if (o->has_arg)
            return usage(err, cap, o, "expects a %s, not a boolean",
                         o->id == O_VERBOSITY || o->id == O_FROZEN_CLOCK || o->id == O_TIMEOUT ||
                                 o->id == O_REQUEST_TIMEOUT || o->id == O_MAX_CONNECTIONS ||
                                 o->id == O_MAX_PER_IP || o->id == O_PUBLIC_LIMIT
                             ? "number"
                             : "string");
        return apply(cli, st, o, cJSON_IsTrue(v) ? "true" : "false", err, cap);
    }
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (!o->has_arg || x != x || x < -9007199254740991.0 || x > 9007199254740991.0 ||
            x != (double)(int64_t)x)
            return usage(err, cap, o, "unexpected number");
        (void)aa_snprintf(num, sizeof(num), "%lld", (long long)(int64_t)x);
        return apply(cli, st, o, num, err, cap);
    }
    if (cJSON_IsArray(v) && (o->id == O_TRUST || o->id == O_FAULT || o->id == O_ROLES)) {
        struct aa_buf joined;
        if (o->id == O_TRUST) {
            cJSON_ArrayForEach(it, v)
            {
                if (!cJSON_IsString(it))
                    return usage(err, cap, o, "array entries must be strings");
                if ((rc = apply(cli, st, o, it->valuestring, err, cap)) != AA_OK)
                    return rc;
            }
            return AA_OK;
        }
        aa_buf_init(&joined, 64 * 1024);
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsString(it)) {
                aa_buf_free(&joined);
                return usage(err, cap, o, "array entries must be strings");
            }
            if (joined.len > 0)
                aa_buf_addc(&joined, ',');
            aa_buf_adds(&joined, it->valuestring);
        }
        if (joined.err != AA_OK) {
            aa_buf_free(&joined);
            return usage(err, cap, o, "array too long");
        }
        if (joined.len == 0) {
            aa_buf_free(&joined);
            if (o->id == O_FAULT) {
                cli->faults = 0;
                return AA_OK;
            }
            return usage(err, cap, o, "no role given");
        }
        rc = apply(cli, st, o, joined.p, err, cap);
        aa_buf_free(&joined);
        return rc;
    }
    return usage(err, cap, o, "unexpected JSON %s",
                 cJSON_IsNull(v)     ? "null"
                 : cJSON_IsObject(v) ? "object"
                                     : "array");
}

static int load_config(struct aa_ref_cli *cli, struct parse_state *st, const char *path, char *err,
                       size_t cap)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    const cJSON *it;
    struct aa_diag d;
    int rc;

    rc = aa_read_file(path, AA_REF_CLI_CONFIG_MAX, &text, &len);
    if (rc != AA_OK) {
        (void)aa_snprintf(err, cap, "--config: cannot read %.200s (%s)", path, aa_strerror(rc));
        return rc == AA_E_NOMEM ? rc : AA_E_IO;
    }
    aa_diag_clear(&d);
    rc = aa_json_parse(text, len, NULL, &root, &d);
    free(text);
    if (rc != AA_OK) {
        (void)aa_snprintf(err, cap, "--config %.200s: not a JSON object: %s", path, d.msg);
        return AA_E_SYNTAX;
    }
    cJSON_ArrayForEach(it, root)
    {
        const struct opt *o = find_opt(it->string, strlen(it->string));
        if (o == NULL || !o->in_config) {
            (void)aa_snprintf(err, cap, "--config %.200s: unknown key \"%.64s\"", path, it->string);
            cJSON_Delete(root);
            return AA_E_SYNTAX;
        }
        if ((rc = apply_json(cli, st, o, it, err, cap)) != AA_OK) {
            char inner[512];
            (void)aa_snprintf(inner, sizeof(inner), "%s", err);
            (void)aa_snprintf(err, cap, "--config %.200s: %s", path, inner);
            cJSON_Delete(root);
            return rc;
        }
    }
    cJSON_Delete(root);
    return AA_OK;
}

/* ---- finalize --------------------------------------------------------------- */

static bool has_origin(const struct aa_ref_cli *cli, const char *o)
{
    for (size_t i = 0; i < cli->n_origins; i++)
        if (strcmp(cli->origins[i], o) == 0)
            return true;
    return false;
}

static void add_origin(struct aa_ref_cli *cli, const char *id)
{
    if (id == NULL || strncmp(id, "https://", 8) != 0 || has_origin(cli, id))
        return;
    if (cli->n_origins < sizeof(cli->origins) / sizeof(cli->origins[0]) - 1)
        cli->origins[cli->n_origins++] = id;
}

static int check_ident(const struct aa_ref_cli *cli, const char *opt, const char *v, char *err,
                       size_t cap)
{
    struct aa_diag d;

    aa_diag_clear(&d);
    if (aa_http_identifier_check(v, !cli->strict_https, NULL, &d) != AA_OK) {
        (void)aa_snprintf(err, cap, "--%s: %s", opt, d.msg);
        return AA_E_SYNTAX;
    }
    return AA_OK;
}

static int finalize(struct aa_ref_cli *cli, char *err, size_t cap)
{
    static const char *const id_opt[] = {"agent-id", "resource-id", "auth-id"};
    static const char *const key_name[] = {"agent.jwk", "resource.jwk", "auth.jwk"};
    char buf[128];
    int rc;

    free_derived(cli);
    for (int r = 0; r < AA_REF_N_ROLES; r++) {
        if (cli->id[r] != NULL && (rc = check_ident(cli, id_opt[r], cli->id[r], err, cap)) != AA_OK)
            return rc;
        if (cli->port[r] != 0) {
            if (aa_ref_default_id(cli->bind, cli->port[r], buf, sizeof(buf)) != AA_OK ||
                (cli->default_id[r] = aa_strdup(buf)) == NULL)
                return AA_E_NOMEM;
        }
        if (cli->key_dir != NULL) {
            struct aa_buf b;
            aa_buf_init(&b, 8192);
            aa_buf_printf(&b, "%s/%s", cli->key_dir, key_name[r]);
            if (b.err != AA_OK)
                return AA_E_NOMEM;
            cli->key_file[r] = aa_buf_detach(&b, NULL);
        }
    }
    if (cli->auth_server != NULL &&
        (rc = check_ident(cli, "auth-server", cli->auth_server, err, cap)) != AA_OK)
        return rc;
    for (size_t i = 0; i < cli->n_trust; i++) {
        if ((rc = check_ident(cli, "trust", cli->trust[i], err, cap)) != AA_OK)
            return rc;
        cli->trust_v[i] = cli->trust[i];
    }
    if (cli->seed_aliases) {
        /* PROFILE#1: the seed's display names (D-3). */
        if (cli->alias[AA_REF_AGENT] == NULL &&
            set_str(&cli->alias[AA_REF_AGENT], AA_REF_AGENT_ALIAS) != AA_OK)
            return AA_E_NOMEM;
        if (cli->alias[AA_REF_RESOURCE] == NULL &&
            set_str(&cli->alias[AA_REF_RESOURCE], AA_REF_RESOURCE_ALIAS) != AA_OK)
            return AA_E_NOMEM;
    }
    /* Every role's transcripts show every other role's alias too (the
     * resource transcript names the agent), for ids known in advance. */
    for (int r = 0; r < AA_REF_N_ROLES; r++) {
        const char *id = cli->id[r] ? cli->id[r] : cli->default_id[r];
        if (cli->alias[r] != NULL && id != NULL) {
            cli->aliases[cli->n_aliases].id = id;
            cli->aliases[cli->n_aliases].alias = cli->alias[r];
            cli->n_aliases++;
        }
    }
    /* https peers the discovery caches may contact (loopback http is
     * allowed in dev mode anyway). */
    for (int r = 0; r < AA_REF_N_ROLES; r++)
        add_origin(cli, cli->id[r]);
    add_origin(cli, cli->auth_server);
    for (size_t i = 0; i < cli->n_trust; i++)
        add_origin(cli, cli->trust[i]);
    return AA_OK;
}

/* ---- command line ------------------------------------------------------------ */

int aa_ref_cli_parse(struct aa_ref_cli *cli, int argc, char *const argv[], char *err, size_t errcap)
{
    struct parse_state st = {false, false, false};
    const char *config = NULL;
    int rc;

    if (cli == NULL || err == NULL || errcap == 0 || argc < 0 || (argc > 0 && argv == NULL))
        return AA_E_INVAL;
    err[0] = '\0';
    /* The config file first, wherever --config appears: the command line
     * then overrides it. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return usage(err, errcap, &opts[0], "missing value");
            config = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config = argv[i] + 9;
        }
    }
    if (config != NULL) {
        if (config[0] == '\0')
            return usage(err, errcap, &opts[0], "missing value");
        if ((rc = load_config(cli, &st, config, err, errcap)) != AA_OK)
            return rc;
    }
    st.from_cli = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *val = NULL;
        const struct opt *o;

        if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {
            /* Short options: -q, -h, -v, -vv (any number of v). */
            if (strcmp(a, "-q") == 0) {
                cli->verbosity = 0;
            } else if (strcmp(a, "-h") == 0) {
                cli->action = AA_REF_CLI_HELP;
            } else if (a[1] == 'v' && a[strspn(a + 1, "v") + 1] == '\0') {
                size_t n = strlen(a + 1);
                cli->verbosity = n >= 2 ? 3 : 2;
            } else {
                return usage(err, errcap, NULL, "%.64s: unknown option", a);
            }
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return usage(err, errcap, NULL, "%.64s: unexpected argument", a);
        eq = strchr(a + 2, '=');
        o = find_opt(a + 2, eq ? (size_t)(eq - (a + 2)) : strlen(a + 2));
        if (o == NULL)
            return usage(err, errcap, NULL, "%.*s: unknown option (see --help)",
                         (int)(eq && eq - a < 64 ? eq - a : (ptrdiff_t)strnlen(a, 64)), a);
        if (o->has_arg) {
            if (eq != NULL) {
                val = eq + 1;
            } else {
                if (i + 1 >= argc)
                    return usage(err, errcap, o, "missing value");
                val = argv[++i];
            }
            if (val[0] == '\0')
                return usage(err, errcap, o, "empty value");
        } else {
            if (eq != NULL)
                return usage(err, errcap, o, "takes no value");
            val = "true";
        }
        if (o->id == O_CONFIG)
            continue; /* already loaded */
        if ((rc = apply(cli, &st, o, val, err, errcap)) != AA_OK)
            return rc;
    }
    return finalize(cli, err, errcap);
}

/* ---- help, faults, config dump --------------------------------------------- */

void aa_ref_cli_help(FILE *out)
{
    fputs("Usage: aauth-reference [OPTIONS]\n"
          "\n"
          "Runs the AAuth reference agent server, resource and auth server (PROTOCOL.md)\n"
          "in one process, by default exactly like the seed demo:\n"
          "  agent server  http://127.0.0.1:8001\n"
          "  resource      http://127.0.0.1:8002\n"
          "  auth server   http://127.0.0.1:8003\n"
          "Stops cleanly on SIGINT or SIGTERM (exit status 0).\n"
          "\n"
          "Servers:\n"
          "  --roles LIST            agent,resource,auth (or all); default all three\n"
          "  --bind ADDR             IPv4/IPv6 address to listen on (default 127.0.0.1)\n"
          "  --agent-port N          agent server port (default 8001; 0 = any free port)\n"
          "  --resource-port N       resource port (default 8002)\n"
          "  --auth-port N           auth server port (default 8003)\n"
          "  --agent-id URL          public identifier of the agent server (default: its\n"
          "                          listen origin, e.g. http://127.0.0.1:8001; http is\n"
          "                          accepted only for loopback, PROFILE#1)\n"
          "  --resource-id URL       public identifier of the resource\n"
          "  --auth-id URL           public identifier of the auth server\n"
          "  --strict-https          refuse http identifiers (no dev mode)\n"
          "  --allow-dev-remote      start in dev mode on a non-loopback --bind address\n"
          "                          (refused otherwise: dev mode fetches any loopback URL\n"
          "                          a request names, so remote clients could probe this\n"
          "                          host's loopback services; docs/security.md)\n"
          "\n"
          "Connections (each server; docs/security.md):\n"
          "  --timeout N             close a connection idle for N s (default 10)\n"
          "  --request-timeout N     close a connection whose request has not fully\n"
          "                          arrived N s after it began (default 30)\n"
          "  --max-connections N     open connections at once (default 512)\n"
          "  --max-connections-per-ip N\n"
          "                          open connections from one address (default 64);\n"
          "                          more are closed at once without an answer\n"
          "\n"
          "Keys:\n"
          "  --key-dir DIR           per-role signing keys DIR/agent.jwk, DIR/resource.jwk,\n"
          "                          DIR/auth.jwk (JWK or PEM); missing files are generated\n"
          "                          (Ed25519, mode 0600) so kids and JWKS survive restarts.\n"
          "                          Without --key-dir, keys are ephemeral.\n"
          "\n"
          "Policy:\n"
          "  --agent-name TEXT       agent metadata \"name\"\n"
          "  --scope SCOPE           scope of the resource's challenges\n"
          "                          (default \"data.read data.write\")\n"
          "  --consent MODE          autonomous (default) or user: the auth server asks\n"
          "                          the user before issuing auth tokens (D-19)\n"
          "  --trust ISSUER          upstream auth server trusted for token exchange\n"
          "                          (repeatable; PROFILE#6.5)\n"
          "  --auth-server ID        auth server named in the resource's challenges\n"
          "                          (default: the auth role's identifier)\n"
          "  --downstream URL        resource: R2 URL called by GET /data-exchange (F7)\n"
          "  --public-limit N        resource: unsigned GET /public requests per client\n"
          "                          address per minute before 429 with Retry-After\n"
          "                          (F1.4; signed requests are not limited); default 60,\n"
          "                          0 = no /public (404)\n"
          "  --allow-remote-delegates\n"
          "                          issue delegate tokens to non-loopback clients\n"
          "                          (PROFILE#6.1 allows unauthenticated issuance on\n"
          "                          loopback only)\n"
          "\n"
          "Lifetimes in seconds (D-5):\n"
          "  --agent-token-ttl N     default 3600\n"
          "  --resource-token-ttl N  default 300\n"
          "  --auth-token-ttl N      default 3600\n"
          "  --request-token-ttl N   default 600\n"
          "  --code-ttl N            default 60\n"
          "  --refresh-token-ttl N   default 86400\n"
          "  --frozen-clock EPOCH    freeze time at EPOCH seconds (reproducible tokens)\n"
          "\n"
          "Output:\n"
          "  -q                      quiet: startup lines only\n"
          "                          (default: one line per request)\n"
          "  -v                      also seed-style transcripts of every request\n"
          "  -vv                     transcripts without cutting long values\n"
          "  --agent-alias URL       display alias for the agent in transcripts only (D-3)\n"
          "  --resource-alias URL    display alias for the resource\n"
          "  --auth-alias URL        display alias for the auth server\n"
          "  --seed-aliases          the seed's aliases (https://agent.supply-chain.com,\n"
          "                          https://important.resource.com)\n"
          "  --print-config          print the effective configuration as JSON and exit\n"
          "\n"
          "Testing the harness itself:\n"
          "  --fault NAME[,NAME...]  deliberately break one behaviour per NAME so the\n"
          "                          conformance suite can be shown to catch it\n"
          "                          (repeatable; never use against real peers)\n"
          "  --list-faults           list the fault switches and the checks each must fail\n"
          "\n"
          "Other:\n"
          "  --config FILE           JSON object with the long option names as keys,\n"
          "                          e.g. {\"roles\":\"agent\",\"agent-port\":9001,\n"
          "                          \"trust\":[\"https://as1.example\"]}; the command line wins\n"
          "  -h, --help              this text\n"
          "  --version               print the version\n"
          "\n"
          "Examples:\n"
          "  aauth-reference                          # the seed topology on :8001-:8003\n"
          "  aauth-reference --roles agent -v         # agent server only, with transcripts\n"
          "  aauth-reference --key-dir ./keys --frozen-clock 1768786221\n"
          "  aauth-reference --roles resource,auth --resource-port 8004 --auth-port 8005 \\\n"
          "                  --trust http://127.0.0.1:8003    # R2 and AS2 of flow F7\n"
          "  aauth-reference --agent-id https://agent.example --bind 0.0.0.0 --strict-https\n"
          "  aauth-reference --fault wrong-typ --roles agent   # a broken agent for the suite\n"
          "\n"
          "Exit status: 0 after a clean shutdown, 1 if a server cannot start, 2 on a usage\n"
          "error.\n",
          out);
}

void aa_ref_cli_list_faults(FILE *out)
{
    fputs("Fault switches (a tool for testing the harness itself: each breaks one\n"
          "behaviour, and the listed checks are expected to FAIL):\n\n",
          out);
    for (size_t i = 0; i < aa_ref_n_faults; i++) {
        const struct aa_ref_fault_info *f = &aa_ref_faults[i];
        fprintf(out, "%-24s [%s]\n    %s\n    expected to FAIL: %s\n", f->name, f->roles, f->breaks,
                f->failing_checks);
    }
}

static int add_opt_str(cJSON *o, const char *k, const char *v)
{
    if (v == NULL)
        return AA_OK;
    return cJSON_AddStringToObject(o, k, v) ? AA_OK : AA_E_NOMEM;
}

static int add_num(cJSON *o, const char *k, int64_t v)
{
    return cJSON_AddNumberToObject(o, k, (double)v) ? AA_OK : AA_E_NOMEM;
}

static int64_t or_default(int64_t v, int64_t dflt)
{
    return v ? v : dflt;
}

int aa_ref_cli_config_json(const struct aa_ref_cli *cli, struct aa_buf *out)
{
    cJSON *o = cJSON_CreateObject(), *a;
    int rc = AA_E_NOMEM;

    if (o == NULL)
        return AA_E_NOMEM;
    if ((a = cJSON_AddArrayToObject(o, "roles")) == NULL)
        goto out;
    for (int r = 0; r < AA_REF_N_ROLES; r++)
        if ((cli->roles & (1u << r)) &&
            !cJSON_AddItemToArray(a, cJSON_CreateString(aa_ref_role_name((enum aa_ref_role)r))))
            goto out;
    if (add_opt_str(o, "bind", cli->bind ? cli->bind : "127.0.0.1") != AA_OK ||
        add_num(o, "agent-port", cli->port[AA_REF_AGENT]) != AA_OK ||
        add_num(o, "resource-port", cli->port[AA_REF_RESOURCE]) != AA_OK ||
        add_num(o, "auth-port", cli->port[AA_REF_AUTH]) != AA_OK ||
        add_opt_str(o, "agent-id", cli->id[AA_REF_AGENT]) != AA_OK ||
        add_opt_str(o, "resource-id", cli->id[AA_REF_RESOURCE]) != AA_OK ||
        add_opt_str(o, "auth-id", cli->id[AA_REF_AUTH]) != AA_OK ||
        add_opt_str(o, "agent-alias", cli->alias[AA_REF_AGENT]) != AA_OK ||
        add_opt_str(o, "resource-alias", cli->alias[AA_REF_RESOURCE]) != AA_OK ||
        add_opt_str(o, "auth-alias", cli->alias[AA_REF_AUTH]) != AA_OK ||
        add_opt_str(o, "key-dir", cli->key_dir) != AA_OK ||
        add_opt_str(o, "agent-name", cli->agent_name) != AA_OK ||
        add_num(o, "agent-token-ttl", or_default(cli->agent_token_ttl, AA_REF_AGENT_TOKEN_TTL)) !=
            AA_OK ||
        add_num(o, "resource-token-ttl",
                or_default(cli->resource_token_ttl, AA_REF_RESOURCE_TOKEN_TTL)) != AA_OK ||
        add_num(o, "auth-token-ttl", or_default(cli->auth_token_ttl, AA_REF_AUTH_TOKEN_TTL)) !=
            AA_OK ||
        add_num(o, "request-token-ttl",
                or_default(cli->request_token_ttl, AA_REF_REQUEST_TOKEN_TTL)) != AA_OK ||
        add_num(o, "code-ttl", or_default(cli->code_ttl, AA_REF_CODE_TTL)) != AA_OK ||
        add_num(o, "refresh-token-ttl",
                or_default(cli->refresh_token_ttl, AA_REF_REFRESH_TOKEN_TTL)) != AA_OK ||
        add_opt_str(o, "scope", cli->scope) != AA_OK ||
        add_opt_str(o, "consent", cli->consent_user ? "user" : "autonomous") != AA_OK)
        goto out;
    if ((a = cJSON_AddArrayToObject(o, "trust")) == NULL)
        goto out;
    for (size_t i = 0; i < cli->n_trust; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(cli->trust[i])))
            goto out;
    if (add_opt_str(o, "auth-server", cli->auth_server) != AA_OK ||
        add_opt_str(o, "downstream", cli->downstream) != AA_OK ||
        add_num(o, "public-limit", cli->public_limit) != AA_OK ||
        !cJSON_AddBoolToObject(o, "seed-aliases", cli->seed_aliases) ||
        !cJSON_AddBoolToObject(o, "strict-https", cli->strict_https) ||
        !cJSON_AddBoolToObject(o, "allow-remote-delegates", cli->allow_remote_delegates) ||
        (cli->frozen && add_num(o, "frozen-clock", cli->frozen_clock) != AA_OK) ||
        add_num(o, "verbosity", cli->verbosity) != AA_OK ||
        add_num(o, "timeout", or_default(cli->timeout_s, AA_SERVER_TIMEOUT_DEFAULT)) != AA_OK ||
        add_num(o, "request-timeout",
                or_default(cli->request_timeout_s, AA_SERVER_REQUEST_TIMEOUT_DEFAULT)) != AA_OK ||
        add_num(o, "max-connections",
                or_default(cli->max_connections, AA_SERVER_MAX_CONNECTIONS_DEFAULT)) != AA_OK ||
        add_num(o, "max-connections-per-ip",
                or_default(cli->max_connections_per_ip, AA_SERVER_MAX_PER_IP_DEFAULT)) != AA_OK ||
        !cJSON_AddBoolToObject(o, "allow-dev-remote", cli->allow_dev_remote))
        goto out;
    if ((a = cJSON_AddArrayToObject(o, "fault")) == NULL)
        goto out;
    for (size_t i = 0; i < aa_ref_n_faults; i++)
        if ((cli->faults & aa_ref_faults[i].bit) &&
            !cJSON_AddItemToArray(a, cJSON_CreateString(aa_ref_faults[i].name)))
            goto out;
    {
        char *text = cJSON_Print(o);
        if (text == NULL)
            goto out;
        aa_buf_adds(out, text);
        aa_buf_addc(out, '\n');
        cJSON_free(text);
        rc = out->err;
    }
out:
    cJSON_Delete(o);
    return rc;
}

/* ---- role configurations ------------------------------------------------------ */

static void common(const struct aa_ref_cli *cli, enum aa_ref_role r, struct aa_ref_clock *clock,
                   FILE *log, struct aa_ref_common *c)
{
    c->bind_addr = cli->bind;
    c->port = cli->port[r];
    c->id = cli->id[r];
    c->display_alias = cli->alias[r];
    c->aliases = cli->aliases;
    c->n_aliases = cli->n_aliases;
    c->key_file = cli->key_file[r];
    c->clock = clock;
    c->strict_https = cli->strict_https;
    c->faults = cli->faults;
    c->verbosity = cli->verbosity;
    c->log = log;
    c->trusted_origins = cli->n_origins ? cli->origins : NULL;
    c->n_trusted_origins = cli->n_origins;
    c->timeout_s = cli->timeout_s;
    c->request_timeout_s = cli->request_timeout_s;
    c->max_connections = cli->max_connections;
    c->max_connections_per_ip = cli->max_connections_per_ip;
    c->allow_dev_remote = cli->allow_dev_remote;
}

void aa_ref_cli_agent_config(const struct aa_ref_cli *cli, struct aa_ref_clock *clock, FILE *log,
                             struct aa_ref_agent_config *out)
{
    aa_ref_agent_defaults(out);
    common(cli, AA_REF_AGENT, clock, log, &out->c);
    if (cli->agent_token_ttl)
        out->agent_token_ttl = cli->agent_token_ttl;
    if (cli->agent_name)
        out->name = cli->agent_name;
    out->allow_remote_delegates = cli->allow_remote_delegates;
}

void aa_ref_cli_resource_config(const struct aa_ref_cli *cli, struct aa_ref_clock *clock, FILE *log,
                                const char *auth_id, struct aa_ref_resource_config *out)
{
    aa_ref_resource_defaults(out);
    common(cli, AA_REF_RESOURCE, clock, log, &out->c);
    if (cli->auth_server)
        out->auth_server = cli->auth_server;
    else if (auth_id)
        out->auth_server = auth_id;
    else
        out->auth_server =
            cli->id[AA_REF_AUTH] ? cli->id[AA_REF_AUTH] : cli->default_id[AA_REF_AUTH];
    if (cli->scope)
        out->scope = cli->scope;
    if (cli->resource_token_ttl)
        out->resource_token_ttl = cli->resource_token_ttl;
    if (cli->downstream)
        out->downstream = cli->downstream;
    out->public_limit = cli->public_limit;
}

void aa_ref_cli_auth_config(const struct aa_ref_cli *cli, struct aa_ref_clock *clock, FILE *log,
                            struct aa_ref_auth_config *out)
{
    aa_ref_auth_defaults(out);
    common(cli, AA_REF_AUTH, clock, log, &out->c);
    out->require_user_consent = cli->consent_user;
    if (cli->n_trust) {
        out->trusted_issuers = cli->trust_v;
        out->n_trusted_issuers = cli->n_trust;
    }
    if (cli->auth_token_ttl)
        out->auth_token_ttl = cli->auth_token_ttl;
    if (cli->request_token_ttl)
        out->request_token_ttl = cli->request_token_ttl;
    if (cli->code_ttl)
        out->code_ttl = cli->code_ttl;
    if (cli->refresh_token_ttl)
        out->refresh_token_ttl = cli->refresh_token_ttl;
}
