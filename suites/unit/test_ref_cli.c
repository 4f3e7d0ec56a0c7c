/*
 * aauth-reference option handling (reference/lib/ref_cli.c): defaults of
 * the seed topology, every option's validation and error message, the JSON
 * config file with command-line precedence, --print-config round trip,
 * the translation into role configurations, and one end-to-end run of the
 * built tool (startup line, a request, SIGTERM -> exit 0).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aa_ref.h"
#include "aa_ref_cli.h"
#include "http/aa_http.h"
#include "json/aa_json.h"

#define MAX_ARGS 64

/* Parse a NULL-terminated list of arguments (argv[0] added). */
static int parse_v(struct aa_ref_cli *cli, char *err, size_t cap, const char *const *args)
{
    char *argv[MAX_ARGS];
    int argc = 0;

    argv[argc++] = (char *)"aauth-reference";
    for (size_t i = 0; args[i] != NULL; i++) {
        cr_assert_lt(argc, MAX_ARGS - 1);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    aa_ref_cli_init(cli);
    return aa_ref_cli_parse(cli, argc, argv, err, cap);
}

#define PARSE(cli, err, ...)                                                                       \
    parse_v((cli), (err), sizeof(err), (const char *const[]){__VA_ARGS__, NULL})

/* The arguments must fail with a message that starts with |prefix|. */
#define EXPECT_USAGE(prefix, ...)                                                                  \
    do {                                                                                           \
        struct aa_ref_cli c_;                                                                      \
        char e_[512];                                                                              \
        int rc_ = PARSE(&c_, e_, __VA_ARGS__);                                                     \
        cr_assert_eq(rc_, AA_E_SYNTAX, "accepted: %s", #__VA_ARGS__);                              \
        cr_assert(strncmp(e_, prefix, strlen(prefix)) == 0, "message \"%s\" for %s", e_,           \
                  #__VA_ARGS__);                                                                   \
        cr_assert_null(strchr(e_, '\n'), "message is not one line");                               \
        aa_ref_cli_cleanup(&c_);                                                                   \
    } while (0)

static char *write_tmp(const char *text)
{
    char tmpl[] = "/tmp/test_ref_cli.XXXXXX";
    int fd = mkstemp(tmpl);
    size_t n = strlen(text);

    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return strdup(tmpl);
}

/* ---- defaults ------------------------------------------------------------- */

Test(ref_cli, defaults_are_the_seed_topology)
{
    struct aa_ref_cli cli;
    struct aa_ref_agent_config ag;
    struct aa_ref_auth_config as;
    struct aa_ref_clock clk = {0};
    char err[512];

    aa_ref_cli_init(&cli);
    cr_assert_eq(aa_ref_cli_parse(&cli, 1, (char *const[]){(char *)"x", NULL}, err, sizeof(err)),
                 AA_OK, "%s", err);
    cr_assert_eq(cli.action, AA_REF_CLI_RUN);
    cr_assert_eq(cli.roles, 7u);
    cr_assert_eq(cli.port[AA_REF_AGENT], 8001);
    cr_assert_eq(cli.port[AA_REF_RESOURCE], 8002);
    cr_assert_eq(cli.port[AA_REF_AUTH], 8003);
    cr_assert_eq(cli.verbosity, 1);
    cr_assert_str_eq(cli.default_id[AA_REF_AGENT], "http://127.0.0.1:8001");
    cr_assert_str_eq(cli.default_id[AA_REF_AUTH], "http://127.0.0.1:8003");
    cr_assert_eq(cli.n_aliases, 0);
    cr_assert_eq(cli.faults, 0u);

    aa_ref_cli_agent_config(&cli, &clk, stdout, &ag);
    cr_assert_eq(ag.c.port, 8001);
    cr_assert_null(ag.c.id);
    cr_assert_null(ag.c.key_file);
    cr_assert_null(ag.c.bind_addr); /* the library's default, 127.0.0.1 */
    cr_assert_eq(ag.c.clock, &clk);
    cr_assert_eq(ag.c.verbosity, 1);
    cr_assert_eq(ag.agent_token_ttl, AA_REF_AGENT_TOKEN_TTL);
    cr_assert_str_eq(ag.name, AA_REF_AGENT_NAME);
    cr_assert_not(ag.allow_remote_delegates);
    aa_ref_cli_auth_config(&cli, &clk, stdout, &as);
    cr_assert_eq(as.c.port, 8003);
    cr_assert_not(as.require_user_consent);
    cr_assert_eq(as.n_trusted_issuers, 0);
    aa_ref_cli_cleanup(&cli);
}

/* ---- options ---------------------------------------------------------------- */

Test(ref_cli, roles)
{
    struct aa_ref_cli cli;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--roles", "agent"), AA_OK, "%s", err);
    cr_assert_eq(cli.roles, 1u << AA_REF_AGENT);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "--roles=resource,auth"), AA_OK, "%s", err);
    cr_assert_eq(cli.roles, (1u << AA_REF_RESOURCE) | (1u << AA_REF_AUTH));
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "--roles", "auth-server,agent"), AA_OK, "%s", err);
    cr_assert_eq(cli.roles, (1u << AA_REF_AUTH) | (1u << AA_REF_AGENT));
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "--roles", "all"), AA_OK, "%s", err);
    cr_assert_eq(cli.roles, 7u);
    aa_ref_cli_cleanup(&cli);
    EXPECT_USAGE("--roles: unknown role \"bogus\"", "--roles", "agent,bogus");
    EXPECT_USAGE("--roles: unknown role \"\"", "--roles", "agent,");
    EXPECT_USAGE("--roles: empty value", "--roles=");
    EXPECT_USAGE("--roles: missing value", "--roles");
}

Test(ref_cli, ports_and_bind)
{
    struct aa_ref_cli cli;
    struct aa_ref_agent_config ag;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--agent-port=9001", "--resource-port", "0", "--auth-port",
                       "65535", "--bind", "0.0.0.0"),
                 AA_OK, "%s", err);
    cr_assert_eq(cli.port[AA_REF_AGENT], 9001);
    cr_assert_eq(cli.port[AA_REF_RESOURCE], 0);
    cr_assert_eq(cli.port[AA_REF_AUTH], 65535);
    /* A wildcard bind is reached through loopback; port 0 has no id yet. */
    cr_assert_str_eq(cli.default_id[AA_REF_AGENT], "http://127.0.0.1:9001");
    cr_assert_null(cli.default_id[AA_REF_RESOURCE]);
    aa_ref_cli_agent_config(&cli, NULL, stdout, &ag);
    cr_assert_str_eq(ag.c.bind_addr, "0.0.0.0");
    cr_assert_eq(ag.c.port, 9001);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "--bind", "::1"), AA_OK, "%s", err);
    cr_assert_str_eq(cli.default_id[AA_REF_AGENT], "http://[::1]:8001");
    aa_ref_cli_cleanup(&cli);

    EXPECT_USAGE("--agent-port: \"65536\" is not a port", "--agent-port", "65536");
    EXPECT_USAGE("--agent-port: \"-1\" is not a port", "--agent-port", "-1");
    EXPECT_USAGE("--resource-port: \"80a\" is not a port", "--resource-port", "80a");
    EXPECT_USAGE("--auth-port: \"+80\" is not a port", "--auth-port=+80");
    EXPECT_USAGE("--bind: \"localhost\" is not an IPv4 or IPv6 address", "--bind", "localhost");
    EXPECT_USAGE("--bind: \"127.0.0.1:80\"", "--bind", "127.0.0.1:80");
}

Test(ref_cli, identifiers)
{
    struct aa_ref_cli cli;
    struct aa_ref_agent_config ag;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--agent-id", "https://agent.supply-chain.com", "--resource-id",
                       "http://127.0.0.1:8002", "--auth-id", "https://as.example:8443"),
                 AA_OK, "%s", err);
    aa_ref_cli_agent_config(&cli, NULL, stdout, &ag);
    cr_assert_str_eq(ag.c.id, "https://agent.supply-chain.com");
    cr_assert_eq(ag.c.n_trusted_origins, 2, "https ids are trusted discovery origins");
    cr_assert_str_eq(ag.c.trusted_origins[0], "https://agent.supply-chain.com");
    cr_assert_str_eq(ag.c.trusted_origins[1], "https://as.example:8443");
    aa_ref_cli_cleanup(&cli);

    EXPECT_USAGE("--agent-id: ", "--agent-id", "http://agent.example");
    EXPECT_USAGE("--agent-id: ", "--agent-id", "https://agent.example/");
    EXPECT_USAGE("--auth-id: ", "--auth-id", "https://AS.example");
    EXPECT_USAGE("--auth-server: ", "--auth-server", "ftp://x");
    /* --strict-https applies wherever it appears on the line. */
    EXPECT_USAGE("--resource-id: ", "--resource-id", "http://127.0.0.1:8002", "--strict-https");
    EXPECT_USAGE("--resource-id: ", "--strict-https", "--resource-id", "http://127.0.0.1:8002");
    EXPECT_USAGE("--strict-https: takes no value", "--strict-https=true");
}

Test(ref_cli, key_dir_and_ttls)
{
    struct aa_ref_cli cli;
    struct aa_ref_agent_config ag;
    struct aa_ref_auth_config as;
    struct aa_ref_resource_config rs;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--key-dir", "/var/lib/aauth", "--agent-token-ttl", "120",
                       "--auth-token-ttl", "1800", "--request-token-ttl", "30", "--code-ttl", "5",
                       "--refresh-token-ttl", "7200", "--resource-token-ttl", "90"),
                 AA_OK, "%s", err);
    aa_ref_cli_agent_config(&cli, NULL, stdout, &ag);
    cr_assert_str_eq(ag.c.key_file, "/var/lib/aauth/agent.jwk");
    cr_assert_eq(ag.agent_token_ttl, 120);
    aa_ref_cli_auth_config(&cli, NULL, stdout, &as);
    cr_assert_str_eq(as.c.key_file, "/var/lib/aauth/auth.jwk");
    cr_assert_eq(as.auth_token_ttl, 1800);
    cr_assert_eq(as.request_token_ttl, 30);
    cr_assert_eq(as.code_ttl, 5);
    cr_assert_eq(as.refresh_token_ttl, 7200);
    aa_ref_cli_resource_config(&cli, NULL, stdout, NULL, &rs);
    cr_assert_str_eq(rs.c.key_file, "/var/lib/aauth/resource.jwk");
    cr_assert_eq(rs.resource_token_ttl, 90);
    aa_ref_cli_cleanup(&cli);

    EXPECT_USAGE("--agent-token-ttl: \"0\" is not a lifetime", "--agent-token-ttl", "0");
    EXPECT_USAGE("--code-ttl: \"315360001\"", "--code-ttl", "315360001");
    EXPECT_USAGE("--refresh-token-ttl: \"1h\"", "--refresh-token-ttl", "1h");
    EXPECT_USAGE("--key-dir: empty value", "--key-dir", "");
}

Test(ref_cli, policy_options)
{
    struct aa_ref_cli cli;
    struct aa_ref_auth_config as;
    struct aa_ref_resource_config rs;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--consent", "user", "--trust", "https://as1.example", "--trust",
                       "http://127.0.0.1:8003", "--scope", "data.read", "--downstream",
                       "http://127.0.0.1:8004/data-auth", "--agent-name", "My Agent"),
                 AA_OK, "%s", err);
    aa_ref_cli_auth_config(&cli, NULL, stdout, &as);
    cr_assert(as.require_user_consent);
    cr_assert_eq(as.n_trusted_issuers, 2);
    cr_assert_str_eq(as.trusted_issuers[0], "https://as1.example");
    cr_assert_str_eq(as.trusted_issuers[1], "http://127.0.0.1:8003");
    cr_assert_eq(as.c.n_trusted_origins, 1);
    cr_assert_str_eq(as.c.trusted_origins[0], "https://as1.example");
    aa_ref_cli_resource_config(&cli, NULL, stdout, NULL, &rs);
    cr_assert_str_eq(rs.scope, "data.read");
    cr_assert_str_eq(rs.downstream, "http://127.0.0.1:8004/data-auth");
    cr_assert_str_eq(cli.agent_name, "My Agent");
    aa_ref_cli_cleanup(&cli);

    cr_assert_eq(PARSE(&cli, err, "--consent", "autonomous"), AA_OK);
    cr_assert_not(cli.consent_user);
    aa_ref_cli_cleanup(&cli);
    EXPECT_USAGE("--consent: \"maybe\"", "--consent", "maybe");
    EXPECT_USAGE("--trust: ", "--trust", "as1.example");
    EXPECT_USAGE("--scope: ", "--scope", "data.read  data.write");
    EXPECT_USAGE("--scope: ", "--scope", "data\"read");
    EXPECT_USAGE("--scope: ", "--scope", " data.read");
    EXPECT_USAGE("--downstream: ", "--downstream", "not a url");
    EXPECT_USAGE("--agent-name: ", "--agent-name", "bad\tname");
}

Test(ref_cli, resource_auth_server)
{
    struct aa_ref_cli cli;
    struct aa_ref_resource_config rs;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--auth-port", "9003"), AA_OK, "%s", err);
    /* No running AS known: the AS's default identifier. */
    aa_ref_cli_resource_config(&cli, NULL, stdout, NULL, &rs);
    cr_assert_str_eq(rs.auth_server, "http://127.0.0.1:9003");
    /* The running AS's identifier wins over the default. */
    aa_ref_cli_resource_config(&cli, NULL, stdout, "http://127.0.0.1:40000", &rs);
    cr_assert_str_eq(rs.auth_server, "http://127.0.0.1:40000");
    aa_ref_cli_cleanup(&cli);
    /* --auth-server wins over both. */
    cr_assert_eq(PARSE(&cli, err, "--auth-server", "https://as.example"), AA_OK, "%s", err);
    aa_ref_cli_resource_config(&cli, NULL, stdout, "http://127.0.0.1:40000", &rs);
    cr_assert_str_eq(rs.auth_server, "https://as.example");
    aa_ref_cli_cleanup(&cli);
}

Test(ref_cli, verbosity_clock_faults)
{
    struct aa_ref_cli cli;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "-v"), AA_OK);
    cr_assert_eq(cli.verbosity, 2);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "-vv"), AA_OK);
    cr_assert_eq(cli.verbosity, 3);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "-v", "-q"), AA_OK);
    cr_assert_eq(cli.verbosity, 0);
    aa_ref_cli_cleanup(&cli);
    EXPECT_USAGE("-x: unknown option", "-x");
    EXPECT_USAGE("-vq: unknown option", "-vq");

    cr_assert_eq(PARSE(&cli, err, "--frozen-clock", "1768786221"), AA_OK);
    cr_assert(cli.frozen);
    cr_assert_eq(cli.frozen_clock, 1768786221);
    aa_ref_cli_cleanup(&cli);
    EXPECT_USAGE("--frozen-clock: \"-5\"", "--frozen-clock", "-5");
    EXPECT_USAGE("--frozen-clock: \"1e9\"", "--frozen-clock", "1e9");

    cr_assert_eq(PARSE(&cli, err, "--fault", "wrong-typ,skip-replay", "--fault=code-reuse"), AA_OK,
                 "%s", err);
    cr_assert_eq(cli.faults,
                 AA_REF_FAULT_WRONG_TYP | AA_REF_FAULT_SKIP_REPLAY | AA_REF_FAULT_CODE_REUSE);
    aa_ref_cli_cleanup(&cli);
    EXPECT_USAGE("--fault: unknown fault \"nope\"", "--fault", "wrong-typ,nope");
}

Test(ref_cli, actions_and_bad_arguments)
{
    struct aa_ref_cli cli;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--help"), AA_OK);
    cr_assert_eq(cli.action, AA_REF_CLI_HELP);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "-h"), AA_OK);
    cr_assert_eq(cli.action, AA_REF_CLI_HELP);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "--version"), AA_OK);
    cr_assert_eq(cli.action, AA_REF_CLI_VERSION);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "--list-faults"), AA_OK);
    cr_assert_eq(cli.action, AA_REF_CLI_LIST_FAULTS);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, "--print-config"), AA_OK);
    cr_assert_eq(cli.action, AA_REF_CLI_PRINT_CONFIG);
    aa_ref_cli_cleanup(&cli);

    EXPECT_USAGE("--bogus: unknown option", "--bogus");
    EXPECT_USAGE("--agent-portx: unknown option", "--agent-portx=1");
    EXPECT_USAGE("agent: unexpected argument", "agent");
    EXPECT_USAGE("--: unexpected argument", "--");
    EXPECT_USAGE("--help: takes no value", "--help=1");
    EXPECT_USAGE("--auth-port: missing value", "--auth-port");
}

/* ---- config file ----------------------------------------------------------------- */

Test(ref_cli, config_file_and_precedence)
{
    struct aa_ref_cli cli;
    struct aa_ref_auth_config as;
    char err[512];
    char *f =
        write_tmp("{\"roles\":[\"agent\",\"auth\"],\"agent-port\":9001,\"auth-port\":\"9003\","
                  "\"trust\":[\"https://a.example\",\"https://b.example\"],"
                  "\"strict-https\":false,\"verbosity\":2,\"fault\":[\"wrong-typ\"],"
                  "\"consent\":\"user\",\"agent-id\":\"https://agent.example\"}");
    char arg[600];

    snprintf(arg, sizeof(arg), "--config=%s", f);
    cr_assert_eq(PARSE(&cli, err, arg), AA_OK, "%s", err);
    cr_assert_eq(cli.roles, (1u << AA_REF_AGENT) | (1u << AA_REF_AUTH));
    cr_assert_eq(cli.port[AA_REF_AGENT], 9001);
    cr_assert_eq(cli.port[AA_REF_AUTH], 9003);
    cr_assert_eq(cli.n_trust, 2);
    cr_assert_eq(cli.verbosity, 2);
    cr_assert_eq(cli.faults, AA_REF_FAULT_WRONG_TYP);
    cr_assert(cli.consent_user);
    cr_assert_str_eq(cli.id[AA_REF_AGENT], "https://agent.example");
    aa_ref_cli_cleanup(&cli);

    /* The command line wins, wherever --config sits; lists are replaced. */
    cr_assert_eq(PARSE(&cli, err, "--agent-port", "7001", "--config", f, "--trust",
                       "https://c.example", "--fault", "skip-replay", "-q"),
                 AA_OK, "%s", err);
    cr_assert_eq(cli.port[AA_REF_AGENT], 7001);
    cr_assert_eq(cli.port[AA_REF_AUTH], 9003);
    cr_assert_eq(cli.n_trust, 1);
    cr_assert_str_eq(cli.trust[0], "https://c.example");
    cr_assert_eq(cli.faults, AA_REF_FAULT_SKIP_REPLAY);
    cr_assert_eq(cli.verbosity, 0);
    aa_ref_cli_auth_config(&cli, NULL, stdout, &as);
    cr_assert_eq(as.n_trusted_issuers, 1);
    aa_ref_cli_cleanup(&cli);
    unlink(f);
    free(f);
}

static void expect_config_error(const char *json, const char *needle, int want_rc)
{
    struct aa_ref_cli cli;
    char err[512];
    char *f = write_tmp(json);

    cr_assert_eq(PARSE(&cli, err, "--config", f), want_rc, "%s accepted", json);
    cr_assert(strncmp(err, "--config", 8) == 0, "%s", err);
    cr_assert_not_null(strstr(err, needle), "\"%s\" lacks \"%s\"", err, needle);
    aa_ref_cli_cleanup(&cli);
    unlink(f);
    free(f);
}

Test(ref_cli, config_file_errors)
{
    struct aa_ref_cli cli;
    char err[512];

    expect_config_error("{\"agent-prot\":1}", "unknown key \"agent-prot\"", AA_E_SYNTAX);
    expect_config_error("{\"help\":true}", "unknown key \"help\"", AA_E_SYNTAX);
    expect_config_error("{\"agent-port\":70000}", "--agent-port: \"70000\"", AA_E_SYNTAX);
    expect_config_error("{\"agent-port\":1.5}", "--agent-port: unexpected number", AA_E_SYNTAX);
    expect_config_error("{\"agent-id\":true}", "--agent-id: expects a string", AA_E_SYNTAX);
    expect_config_error("{\"strict-https\":\"yes\"}", "--strict-https: expects true or false",
                        AA_E_SYNTAX);
    expect_config_error("{\"bind\":null}", "--bind: unexpected JSON null", AA_E_SYNTAX);
    expect_config_error("{\"trust\":[1]}", "--trust: array entries must be strings", AA_E_SYNTAX);
    expect_config_error("{\"roles\":\"agent\",\"roles\":\"auth\"}", "D-29", AA_E_SYNTAX);
    expect_config_error("[\"agent\"]", "not a JSON object", AA_E_SYNTAX);
    expect_config_error("{\"roles\":", "not a JSON object", AA_E_SYNTAX);

    cr_assert_eq(PARSE(&cli, err, "--config", "/nonexistent/aauth.json"), AA_E_IO);
    cr_assert_not_null(strstr(err, "/nonexistent/aauth.json"), "%s", err);
    aa_ref_cli_cleanup(&cli);
    EXPECT_USAGE("--config: missing value", "--config");
}

Test(ref_cli, print_config_round_trip)
{
    struct aa_ref_cli cli;
    struct aa_buf a, b;
    char err[512], arg[600];
    char *f;
    cJSON *j;

    cr_assert_eq(PARSE(&cli, err, "--roles", "agent,resource", "--agent-port", "9001", "--agent-id",
                       "https://agent.example", "--seed-aliases", "--trust", "https://as1.example",
                       "--fault", "wrong-typ,cnf-mismatch", "--frozen-clock", "1768786221", "-vv",
                       "--key-dir", "/tmp/k", "--consent", "user", "--code-ttl", "30"),
                 AA_OK, "%s", err);
    aa_buf_init(&a, 1 << 20);
    cr_assert_eq(aa_ref_cli_config_json(&cli, &a), AA_OK);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(aa_json_parse(a.p, a.len, NULL, &j, NULL), AA_OK, "%s", a.p);
    cr_assert_str_eq(aa_json_str(j, "agent-alias"), AA_REF_AGENT_ALIAS);
    cr_assert_str_eq(aa_json_str(j, "consent"), "user");
    cJSON_Delete(j);

    f = write_tmp(a.p);
    snprintf(arg, sizeof(arg), "--config=%s", f);
    cr_assert_eq(PARSE(&cli, err, arg), AA_OK, "%s", err);
    aa_buf_init(&b, 1 << 20);
    cr_assert_eq(aa_ref_cli_config_json(&cli, &b), AA_OK);
    cr_assert_str_eq(a.p, b.p);
    cr_assert_eq(cli.faults, AA_REF_FAULT_WRONG_TYP | AA_REF_FAULT_CNF_MISMATCH);
    cr_assert_eq(cli.code_ttl, 30);
    aa_ref_cli_cleanup(&cli);
    aa_buf_free(&a);
    aa_buf_free(&b);
    unlink(f);
    free(f);
}

Test(ref_cli, seed_aliases)
{
    struct aa_ref_cli cli;
    struct aa_ref_agent_config ag;
    char err[512];

    cr_assert_eq(PARSE(&cli, err, "--seed-aliases", "--auth-alias", "https://as.example"), AA_OK,
                 "%s", err);
    aa_ref_cli_agent_config(&cli, NULL, stdout, &ag);
    cr_assert_str_eq(ag.c.display_alias, AA_REF_AGENT_ALIAS);
    cr_assert_eq(ag.c.n_aliases, 3);
    cr_assert_str_eq(ag.c.aliases[0].id, "http://127.0.0.1:8001");
    cr_assert_str_eq(ag.c.aliases[1].id, "http://127.0.0.1:8002");
    cr_assert_str_eq(ag.c.aliases[1].alias, AA_REF_RESOURCE_ALIAS);
    cr_assert_str_eq(ag.c.aliases[2].alias, "https://as.example");
    aa_ref_cli_cleanup(&cli);
    /* Without the flag: no aliases at all (D-3 aliases are opt-in). */
    cr_assert_eq(PARSE(&cli, err, "--agent-port", "9000"), AA_OK);
    aa_ref_cli_agent_config(&cli, NULL, stdout, &ag);
    cr_assert_null(ag.c.display_alias);
    cr_assert_eq(ag.c.n_aliases, 0);
    aa_ref_cli_cleanup(&cli);
    EXPECT_USAGE("--agent-alias: ", "--agent-alias", "agent.example");
}

/* ---- help and fault list ----------------------------------------------------------- */

Test(ref_cli, help_names_every_option)
{
    static const char *const names[] = {"--roles",
                                        "--bind",
                                        "--agent-port",
                                        "--resource-port",
                                        "--auth-port",
                                        "--agent-id",
                                        "--resource-id",
                                        "--auth-id",
                                        "--strict-https",
                                        "--key-dir",
                                        "--agent-name",
                                        "--scope",
                                        "--consent",
                                        "--trust",
                                        "--auth-server",
                                        "--downstream",
                                        "--public-limit",
                                        "--allow-remote-delegates",
                                        "--agent-token-ttl",
                                        "--resource-token-ttl",
                                        "--auth-token-ttl",
                                        "--request-token-ttl",
                                        "--code-ttl",
                                        "--refresh-token-ttl",
                                        "--frozen-clock",
                                        "-q",
                                        "-v",
                                        "-vv",
                                        "--agent-alias",
                                        "--resource-alias",
                                        "--auth-alias",
                                        "--seed-aliases",
                                        "--allow-dev-remote",
                                        "--timeout",
                                        "--request-timeout",
                                        "--max-connections",
                                        "--max-connections-per-ip",
                                        "--print-config",
                                        "--fault",
                                        "--list-faults",
                                        "--config",
                                        "--help",
                                        "--version",
                                        "Examples:"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    aa_ref_cli_help(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_assert_not_null(strstr(buf, names[i]), "--help does not mention %s", names[i]);
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    aa_ref_cli_list_faults(f);
    fclose(f);
    for (size_t i = 0; i < aa_ref_n_faults; i++) {
        cr_assert_not_null(strstr(buf, aa_ref_faults[i].name));
        cr_assert_not_null(strstr(buf, aa_ref_faults[i].failing_checks));
    }
    free(buf);
}

/* ---- the tool itself ----------------------------------------------------------------- */

Test(ref_cli, tool_starts_serves_and_stops_on_sigterm)
{
    char tool[1024];
    int out[2];
    pid_t pid;
    FILE *r;
    char line[512], url[256];
    struct aa_http_client *c;
    struct aa_http_response resp;
    int status;

    snprintf(tool, sizeof(tool), "%s/reference/aauth-reference", AA_BUILD_DIR);
    if (access(tool, X_OK) != 0)
        cr_skip_test("%s not built", tool);
    cr_assert_eq(pipe(out), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(tool, tool, "--roles", "agent", "--agent-port", "0", "-q", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    r = fdopen(out[0], "r");
    cr_assert_not_null(r);
    /* The startup line is the readiness signal (blocking read, no sleep). */
    cr_assert_not_null(fgets(line, sizeof(line), r), "no startup line");
    cr_assert(strncmp(line, "agent server  http://127.0.0.1:", 31) == 0, "%s", line);
    cr_assert_eq(sscanf(line, "agent server  %255s  id=", url), 1);
    cr_assert_not_null(strstr(line, "  id=http://127.0.0.1:"), "%s", line);
    strncat(url, "/.well-known/aauth-agent", sizeof(url) - strlen(url) - 1);
    c = aa_http_client_new(NULL);
    aa_http_response_init(&resp);
    cr_assert_eq(aa_http_get(c, url, NULL, &resp, NULL), AA_OK);
    cr_assert_eq(resp.status, 200);
    aa_http_response_cleanup(&resp);
    aa_http_client_free(c);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "tool did not exit normally");
    cr_assert_eq(WEXITSTATUS(status), 0);
    fclose(r);
}

Test(ref_cli, tool_usage_error_exit_2)
{
    char tool[1024];
    pid_t pid;
    int status, errp[2];
    char msg[512] = "";
    ssize_t n;

    snprintf(tool, sizeof(tool), "%s/reference/aauth-reference", AA_BUILD_DIR);
    if (access(tool, X_OK) != 0)
        cr_skip_test("%s not built", tool);
    cr_assert_eq(pipe(errp), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(errp[1], 2);
        close(errp[0]);
        close(errp[1]);
        execl(tool, tool, "--agent-port", "99999", (char *)NULL);
        _exit(127);
    }
    close(errp[1]);
    n = read(errp[0], msg, sizeof(msg) - 1);
    cr_assert_gt(n, 0);
    msg[n] = '\0';
    close(errp[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 2);
    cr_assert_str_eq(msg, "aauth-reference: --agent-port: \"99999\" is not a port (0-65535)\n");
}

/* ---- connection hardening and dev-mode exposure (docs/security.md) --------------------- */

Test(ref_cli, connection_options)
{
    struct aa_ref_cli cli;
    struct aa_ref_agent_config ag;
    struct aa_ref_resource_config rs;
    struct aa_ref_auth_config as;
    struct aa_buf b;
    char err[512];
    cJSON *j = NULL;
    int64_t v = -1;

    /* defaults: zero, i.e. the adapter's own */
    cr_assert_eq(PARSE(&cli, err, "--roles", "agent"), AA_OK, "%s", err);
    aa_ref_cli_agent_config(&cli, NULL, stdout, &ag);
    cr_assert_eq(ag.c.timeout_s, 0);
    cr_assert_eq(ag.c.max_connections_per_ip, 0);
    cr_assert(!ag.c.allow_dev_remote);
    aa_buf_init(&b, 1 << 20);
    cr_assert_eq(aa_ref_cli_config_json(&cli, &b), AA_OK);
    cr_assert_eq(aa_json_parse(b.p, b.len, NULL, &j, NULL), AA_OK);
    cr_assert(aa_json_int(j, "timeout", &v) && v == AA_SERVER_TIMEOUT_DEFAULT);
    cr_assert(aa_json_int(j, "request-timeout", &v) && v == AA_SERVER_REQUEST_TIMEOUT_DEFAULT);
    cr_assert(aa_json_int(j, "max-connections", &v) && v == AA_SERVER_MAX_CONNECTIONS_DEFAULT);
    cr_assert(aa_json_int(j, "max-connections-per-ip", &v) && v == AA_SERVER_MAX_PER_IP_DEFAULT);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "allow-dev-remote")));
    cJSON_Delete(j);
    aa_buf_free(&b);
    aa_ref_cli_cleanup(&cli);

    cr_assert_eq(PARSE(&cli, err, "--timeout", "5", "--request-timeout", "20", "--max-connections",
                       "100", "--max-connections-per-ip=8", "--allow-dev-remote", "--bind",
                       "0.0.0.0"),
                 AA_OK, "%s", err);
    aa_ref_cli_agent_config(&cli, NULL, stdout, &ag);
    aa_ref_cli_resource_config(&cli, NULL, stdout, NULL, &rs);
    aa_ref_cli_auth_config(&cli, NULL, stdout, &as);
    cr_assert_eq(ag.c.timeout_s, 5);
    cr_assert_eq(rs.c.request_timeout_s, 20);
    cr_assert_eq(as.c.max_connections, 100);
    cr_assert_eq(rs.c.max_connections_per_ip, 8);
    cr_assert(ag.c.allow_dev_remote && rs.c.allow_dev_remote && as.c.allow_dev_remote);
    aa_ref_cli_cleanup(&cli);

    EXPECT_USAGE("--timeout: \"0\" is not a number of seconds (1-86400)", "--timeout", "0");
    EXPECT_USAGE("--request-timeout: \"86401\"", "--request-timeout", "86401");
    EXPECT_USAGE("--max-connections: \"65537\" is not a connection count (1-65536)",
                 "--max-connections", "65537");
    EXPECT_USAGE("--max-connections-per-ip: \"x\"", "--max-connections-per-ip", "x");
    EXPECT_USAGE("--allow-dev-remote: takes no value", "--allow-dev-remote=yes");
}

Test(ref_cli, connection_options_in_config_file)
{
    struct aa_ref_cli cli;
    char err[512], arg[600];
    char *f = write_tmp("{\"max-connections-per-ip\":3,\"request-timeout\":7,"
                        "\"allow-dev-remote\":true}");

    snprintf(arg, sizeof(arg), "--config=%s", f);
    cr_assert_eq(PARSE(&cli, err, arg), AA_OK, "%s", err);
    cr_assert_eq(cli.max_connections_per_ip, 3);
    cr_assert_eq(cli.request_timeout_s, 7);
    cr_assert(cli.allow_dev_remote);
    aa_ref_cli_cleanup(&cli);
    /* the command line wins */
    cr_assert_eq(PARSE(&cli, err, arg, "--max-connections-per-ip", "9"), AA_OK, "%s", err);
    cr_assert_eq(cli.max_connections_per_ip, 9);
    aa_ref_cli_cleanup(&cli);
    unlink(f);
    free(f);
    f = write_tmp("{\"timeout\":true}");
    snprintf(arg, sizeof(arg), "--config=%s", f);
    cr_assert_eq(PARSE(&cli, err, arg), AA_E_SYNTAX);
    cr_assert_not_null(strstr(err, "--timeout: expects a number"), "%s", err);
    aa_ref_cli_cleanup(&cli);
    unlink(f);
    free(f);
}

/* A dev-mode tool on a wildcard address does not start (exit 1) and says
 * how to proceed; nothing is bound. */
Test(ref_cli, tool_refuses_dev_mode_on_wildcard_bind)
{
    char tool[1024];
    pid_t pid;
    int status, errp[2];
    char msg[2048] = "";
    size_t got = 0;
    ssize_t n;

    snprintf(tool, sizeof(tool), "%s/reference/aauth-reference", AA_BUILD_DIR);
    if (access(tool, X_OK) != 0)
        cr_skip_test("%s not built", tool);
    cr_assert_eq(pipe(errp), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(errp[1], 2);
        close(errp[0]);
        close(errp[1]);
        execl(tool, tool, "--roles", "agent", "--agent-port", "0", "--bind", "0.0.0.0", "-q",
              (char *)NULL);
        _exit(127);
    }
    close(errp[1]);
    while (got < sizeof(msg) - 1 && (n = read(errp[0], msg + got, sizeof(msg) - 1 - got)) > 0)
        got += (size_t)n;
    msg[got] = '\0';
    close(errp[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 1, "%s", msg);
    cr_assert_not_null(strstr(msg, "bind address 0.0.0.0 is not loopback"), "%s", msg);
    cr_assert_not_null(strstr(msg, "--allow-dev-remote"), "%s", msg);
}

/* ---- GET /public (R-12) ------------------------------------------------------------------ */

Test(ref_cli, public_limit)
{
    struct aa_ref_cli cli;
    struct aa_ref_resource_config rs;
    struct aa_buf b;
    char err[512], arg[600];
    char *f;
    cJSON *j = NULL;
    int64_t v = -1;

    /* default 60, in the resource configuration and in --print-config */
    cr_assert_eq(PARSE(&cli, err, "--roles", "resource"), AA_OK, "%s", err);
    cr_assert_eq(cli.public_limit, AA_REF_PUBLIC_LIMIT);
    aa_ref_cli_resource_config(&cli, NULL, stdout, NULL, &rs);
    cr_assert_eq(rs.public_limit, 60);
    aa_buf_init(&b, 1 << 20);
    cr_assert_eq(aa_ref_cli_config_json(&cli, &b), AA_OK);
    cr_assert_eq(aa_json_parse(b.p, b.len, NULL, &j, NULL), AA_OK);
    cr_assert(aa_json_int(j, "public-limit", &v) && v == 60);
    cJSON_Delete(j);
    aa_buf_free(&b);
    aa_ref_cli_cleanup(&cli);

    cr_assert_eq(PARSE(&cli, err, "--public-limit", "5"), AA_OK, "%s", err);
    aa_ref_cli_resource_config(&cli, NULL, stdout, NULL, &rs);
    cr_assert_eq(rs.public_limit, 5);
    aa_ref_cli_cleanup(&cli);
    /* 0 is allowed: the endpoint is removed */
    cr_assert_eq(PARSE(&cli, err, "--public-limit=0"), AA_OK, "%s", err);
    aa_ref_cli_resource_config(&cli, NULL, stdout, NULL, &rs);
    cr_assert_eq(rs.public_limit, 0);
    aa_ref_cli_cleanup(&cli);

    EXPECT_USAGE("--public-limit: \"-1\" is not a number of requests per minute (0-1000000",
                 "--public-limit", "-1");
    EXPECT_USAGE("--public-limit: \"1000001\"", "--public-limit", "1000001");
    EXPECT_USAGE("--public-limit: \"x\"", "--public-limit", "x");
    EXPECT_USAGE("--public-limit: missing value", "--public-limit");

    /* the config-file key of the same name; the command line wins */
    f = write_tmp("{\"public-limit\":7}");
    snprintf(arg, sizeof(arg), "--config=%s", f);
    cr_assert_eq(PARSE(&cli, err, arg), AA_OK, "%s", err);
    cr_assert_eq(cli.public_limit, 7);
    aa_ref_cli_cleanup(&cli);
    cr_assert_eq(PARSE(&cli, err, arg, "--public-limit", "0"), AA_OK, "%s", err);
    cr_assert_eq(cli.public_limit, 0);
    aa_ref_cli_cleanup(&cli);
    unlink(f);
    free(f);
    f = write_tmp("{\"public-limit\":true}");
    snprintf(arg, sizeof(arg), "--config=%s", f);
    cr_assert_eq(PARSE(&cli, err, arg), AA_E_SYNTAX);
    cr_assert_not_null(strstr(err, "--public-limit: expects a number"), "%s", err);
    aa_ref_cli_cleanup(&cli);
    unlink(f);
    free(f);
}
