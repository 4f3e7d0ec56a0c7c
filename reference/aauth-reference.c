/*
 * aauth-reference: runs the reference agent server, resource and auth
 * server (PROTOCOL.md) in one process, by default on 127.0.0.1:8001-8003
 * exactly like the seed demo. Options: aa_ref_cli.h / --help.
 *
 * Design choice: SIGINT and SIGTERM are blocked before any server thread
 * exists, so every MHD thread inherits the mask and the signals reach only
 * the main thread, which waits for them in sigsuspend(); the handler does
 * nothing but set a flag, and all shutdown work happens in main.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aa_ref.h"
#include "aa_ref_cli.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void print_diag(const char *what, const struct aa_diag *d)
{
    char msg[AA_DIAG_MSG_MAX + 64];

    aa_diag_format(d, msg, sizeof(msg));
    fprintf(stderr, "aauth-reference: %s: %s\n", what, msg);
}

static int ensure_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -1;
    if (errno != ENOENT)
        return -1;
    /* Keys are secrets: the directory is private to its owner. */
    return mkdir(dir, 0700);
}

static void print_faults_warning(unsigned faults)
{
    bool first = true;

    if (faults == 0)
        return;
    fputs("aauth-reference: WARNING: deliberately non-conformant; fault switches on:", stderr);
    for (size_t i = 0; i < aa_ref_n_faults; i++) {
        if (faults & aa_ref_faults[i].bit) {
            fprintf(stderr, "%s%s", first ? " " : ",", aa_ref_faults[i].name);
            first = false;
        }
    }
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    struct aa_ref_cli cli;
    struct aa_ref_clock clock = {0};
    struct aa_ref_server *srv[AA_REF_N_ROLES] = {NULL, NULL, NULL};
    struct sigaction sa;
    sigset_t block, old;
    struct aa_diag d;
    char err[512];
    int rc, status = 0;

    aa_ref_cli_init(&cli);
    rc = aa_ref_cli_parse(&cli, argc, argv, err, sizeof(err));
    if (rc != AA_OK) {
        fprintf(stderr, "aauth-reference: %s\n", rc == AA_E_NOMEM ? "out of memory" : err);
        aa_ref_cli_cleanup(&cli);
        return rc == AA_E_NOMEM ? 1 : 2;
    }
    switch (cli.action) {
    case AA_REF_CLI_HELP:
        aa_ref_cli_help(stdout);
        aa_ref_cli_cleanup(&cli);
        return 0;
    case AA_REF_CLI_VERSION:
        printf("aauth-reference %s (AAuth profile %s)\n", AA_VERSION, AA_PROFILE_DEFAULT_NAME);
        aa_ref_cli_cleanup(&cli);
        return 0;
    case AA_REF_CLI_LIST_FAULTS:
        aa_ref_cli_list_faults(stdout);
        aa_ref_cli_cleanup(&cli);
        return 0;
    case AA_REF_CLI_PRINT_CONFIG: {
        struct aa_buf b;
        aa_buf_init(&b, 1024 * 1024);
        rc = aa_ref_cli_config_json(&cli, &b);
        if (rc == AA_OK)
            fputs(b.p, stdout);
        aa_buf_free(&b);
        aa_ref_cli_cleanup(&cli);
        return rc == AA_OK ? 0 : 1;
    }
    case AA_REF_CLI_RUN:
        break;
    }

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cli.key_dir != NULL && ensure_dir(cli.key_dir) != 0) {
        fprintf(stderr, "aauth-reference: --key-dir: cannot use %s: %s\n", cli.key_dir,
                strerror(errno ? errno : ENOTDIR));
        aa_ref_cli_cleanup(&cli);
        return 1;
    }
    if (cli.frozen) {
        clock.frozen = true;
        clock.value = cli.frozen_clock;
    }

    /* Block the stop signals before any thread starts (see top comment). */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    print_faults_warning(cli.faults);
    if (cli.allow_dev_remote && !cli.strict_https && cli.bind != NULL &&
        !aa_http_host_is_loopback(aa_str_c(cli.bind)))
        fprintf(stderr,
                "aauth-reference: WARNING: dev mode on %s (--allow-dev-remote): remote clients "
                "can make these servers fetch any loopback URL of this host\n",
                cli.bind);
    aa_diag_clear(&d);
    /* The AS before the resource: its identifier goes into the resource's
     * challenges (auth_server), and with port 0 it is known only now. */
    if (cli.roles & (1u << AA_REF_AGENT)) {
        struct aa_ref_agent_config cfg;
        aa_ref_cli_agent_config(&cli, &clock, stdout, &cfg);
        if (aa_ref_agent_start(&cfg, &srv[AA_REF_AGENT], &d) != AA_OK) {
            print_diag("agent server", &d);
            status = 1;
        }
    }
    if (status == 0 && (cli.roles & (1u << AA_REF_AUTH))) {
        struct aa_ref_auth_config cfg;
        aa_ref_cli_auth_config(&cli, &clock, stdout, &cfg);
        if (aa_ref_auth_start(&cfg, &srv[AA_REF_AUTH], &d) != AA_OK) {
            print_diag("auth server", &d);
            status = 1;
        }
    }
    if (status == 0 && (cli.roles & (1u << AA_REF_RESOURCE))) {
        struct aa_ref_resource_config cfg;
        aa_ref_cli_resource_config(&cli, &clock, stdout,
                                   srv[AA_REF_AUTH] ? aa_ref_id(srv[AA_REF_AUTH]) : NULL, &cfg);
        if (aa_ref_resource_start(&cfg, &srv[AA_REF_RESOURCE], &d) != AA_OK) {
            print_diag("resource", &d);
            status = 1;
        }
    }

    if (status == 0) {
        static const char *const label[] = {"agent server", "resource", "auth server"};
        for (int r = 0; r < AA_REF_N_ROLES; r++)
            if (srv[r] != NULL)
                printf("%-12s  %s  id=%s\n", label[r], aa_ref_url(srv[r]), aa_ref_id(srv[r]));
        fflush(stdout);
        /* sigsuspend unblocks SIGINT/SIGTERM atomically, so a signal that
         * arrived before this point is not lost. */
        while (!stop_requested)
            sigsuspend(&old);
    }

    for (int r = AA_REF_N_ROLES - 1; r >= 0; r--)
        aa_ref_stop(srv[r]);
    aa_ref_cli_cleanup(&cli);
    return status;
}
