/*
 * aauth-conformance: point it at an implementation of any AAuth role and
 * get a verdict per requirement, with evidence (PROFILE#9; reports as in
 * docs/report-format.md).
 *
 * main() is a custom Criterion main: it reads the command line and the run
 * file, validates the check catalogue, selects checks, starts the
 * embedded reference servers for the roles not under test, hands the
 * configuration to the case processes through AA_CONFORMANCE_CONFIG,
 * enables exactly the Criterion tests (cases) that record selected checks,
 * runs them with Criterion's own output silenced, and merges the result
 * files into one run for the console, seed-style, JUnit, JSON, Markdown
 * and HTML reports.
 *
 * Design choice: Criterion's crash detection is kept (report hooks record,
 * per case, a signal or an exit status; a case's own timer ends it with
 * SIGALRM), but its logger is replaced by a silent one: the user sees our
 * report, and a crashing or hanging case shows up as ERROR results for
 * its checks.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <criterion/options.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/aa_http.h"
#include "json/aa_json.h"
#include "report/aa_report.h"
#include "runner_int.h"

#ifndef AA_SOURCE_DIR
#define AA_SOURCE_DIR "."
#endif

enum action { ACT_RUN = 0, ACT_HELP, ACT_VERSION, ACT_LIST, ACT_LIST_JSON, ACT_CHECK, ACT_CONFIG };

/*
 * Start-up cost of every process. Criterion 2.4.1 calls git_libgit2_init()
 * in criterion_initialize() - in the runner and again in each case
 * process - only so that a failed cr_assert on strings can print a diff
 * (git_diff_buffers). libgit2 then parses the system CA bundle with
 * mbedTLS: about 3.5 ms of CPU per process, some 40 processes per
 * self-test. The runner never prints such a diff (cases do not use
 * cr_assert and the logger is silent), so these definitions, which the
 * dynamic linker binds before libgit2's, skip that work; git_diff_buffers
 * initialises libgit2 first should anything ever call it.
 */
struct git_diff_options;
struct git_diff_delta;
struct git_diff_binary;
struct git_diff_hunk;
struct git_diff_line;
typedef int (*aa_git_file_cb)(const struct git_diff_delta *, float, void *);
typedef int (*aa_git_binary_cb)(const struct git_diff_delta *, const struct git_diff_binary *,
                                void *);
typedef int (*aa_git_hunk_cb)(const struct git_diff_delta *, const struct git_diff_hunk *, void *);
typedef int (*aa_git_line_cb)(const struct git_diff_delta *, const struct git_diff_hunk *,
                              const struct git_diff_line *, void *);
typedef int (*aa_git_diff_buffers_fn)(const void *, size_t, const char *, const void *, size_t,
                                      const char *, const struct git_diff_options *, aa_git_file_cb,
                                      aa_git_binary_cb, aa_git_hunk_cb, aa_git_line_cb, void *);
int git_libgit2_init(void);
int git_libgit2_shutdown(void);
int git_diff_buffers(const void *old_buffer, size_t old_len, const char *old_as_path,
                     const void *new_buffer, size_t new_len, const char *new_as_path,
                     const struct git_diff_options *options, aa_git_file_cb file_cb,
                     aa_git_binary_cb binary_cb, aa_git_hunk_cb hunk_cb, aa_git_line_cb line_cb,
                     void *payload);

int git_libgit2_init(void)
{
    return 1; /* "initialised once", as libgit2 counts */
}

int git_libgit2_shutdown(void)
{
    return 0;
}

int git_diff_buffers(const void *old_buffer, size_t old_len, const char *old_as_path,
                     const void *new_buffer, size_t new_len, const char *new_as_path,
                     const struct git_diff_options *options, aa_git_file_cb file_cb,
                     aa_git_binary_cb binary_cb, aa_git_hunk_cb hunk_cb, aa_git_line_cb line_cb,
                     void *payload)
{
    int (*init)(void);
    aa_git_diff_buffers_fn real;
    void *sym;

    sym = dlsym(RTLD_NEXT, "git_libgit2_init");
    memcpy(&init, &sym, sizeof(init));
    sym = dlsym(RTLD_NEXT, "git_diff_buffers");
    memcpy(&real, &sym, sizeof(real));
    if (init == NULL || real == NULL)
        return -1;
    init(); /* counted by libgit2: a second call is cheap */
    return real(old_buffer, old_len, old_as_path, new_buffer, new_len, new_as_path, options,
                file_cb, binary_cb, hunk_cb, line_cb, payload);
}

/* The parent's view of the cases while Criterion runs them (report hooks
 * run in this process). */
static const struct aa_cat *g_cat;
static struct aa_case_status *g_status;

static struct aa_case_status *status_of(const struct criterion_test *t)
{
    size_t i;

    if (g_cat == NULL || g_status == NULL || t == NULL)
        return NULL;
    i = aa_cat_find_case(g_cat, t->category, t->name);
    return i == (size_t)-1 ? NULL : &g_status[i];
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *stats)
{
    struct aa_case_status *st = status_of(stats->test);
    if (st == NULL)
        return;
    st->state = AA_CASE_RAN;
    st->crashed = true;
    st->signal = stats->signal;
}

ReportHook(POST_TEST)(struct criterion_test_stats *stats)
{
    struct aa_case_status *st = status_of(stats->test);
    if (st == NULL)
        return;
    st->state = AA_CASE_RAN;
    st->timed_out = stats->timed_out;
    st->exit_code = stats->exit_code;
    if (stats->crashed) {
        st->crashed = true;
        st->signal = stats->signal;
    }
}

/* ---- help -------------------------------------------------------------- */

static void print_help(FILE *out)
{
    fputs("Usage: aauth-conformance [OPTIONS]\n"
          "\n"
          "Test an implementation of an AAuth role (agent server, resource, auth server,\n"
          "delegate client) against the AAuth 2026-01 profile and report a verdict for\n"
          "every requirement, with the HTTP exchanges as evidence. Roles that are not\n"
          "under test are played by the harness's embedded reference on loopback.\n"
          "Without any --target option every suite runs against the embedded reference\n"
          "(a self-test) plus the offline vector checks.\n"
          "\n"
          "Targets (the implementation under test; an identifier is an origin such as\n"
          "https://agent.example, no path; http only for 127.0.0.1, ::1, localhost):\n"
          "  --target-agent-server URL   agent server under test\n"
          "  --target-resource URL       resource under test, with its endpoints:\n"
          "      --resource-hwk-path P    signature-level endpoint  (default /data-hwk)\n"
          "      --resource-jwks-path P   identity-level endpoint   (default /data-jwks)\n"
          "      --resource-auth-path P   authorization endpoint    (default /data-auth)\n"
          "  --target-auth-server URL    auth server under test\n"
          "  --target-delegate \"CMD\"     delegate client command line under test (below)\n"
          "\n"
          "The delegate client (--target-delegate; without targets the reference\n"
          "aauth-delegate is tested): the runner plays the agent server, resource and\n"
          "auth server on 127.0.0.1:8001/8002/8003 (change with --listen\n"
          "client-agent|client-resource|client-auth=ADDR:PORT) plus a hostile server, and\n"
          "runs CMD with /bin/sh -c once per scenario, stdin /dev/null, and:\n"
          "  AAUTH_AGENT_SERVER  agent server to get an agent token from (POST /delegate/token)\n"
          "  AAUTH_RESOURCE      the resource's identifier (origin)\n"
          "  AAUTH_RESOURCE_URL  the URL to GET, e.g. $AAUTH_RESOURCE/data-auth\n"
          "  AAUTH_AUTH_SERVER   the auth server (clients learn it from the challenge)\n"
          "  AAUTH_SCENARIO      the scenario name (informational)\n"
          "CMD must GET $AAUTH_RESOURCE_URL as a delegate (scheme=jwt), follow the\n"
          "Agent-Auth challenges, print the final body on stdout and exit 0 on a 2xx,\n"
          "non-zero otherwise, within 20 s. Every request it sends is checked.\n"
          "\n"
          "Embedded roles (those not under test):\n"
          "  --listen ROLE=ADDR:PORT     where the embedded ROLE listens (default\n"
          "                              127.0.0.1:0, any free port; IPv6: [::1]:PORT)\n"
          "  --public-url ROLE=URL       identifier the embedded ROLE claims (default: its\n"
          "                              listen origin); ROLE is agent-server, resource or\n"
          "                              auth-server\n"
          "  --instance NAME=URL         an external second instance (resource2, auth2,\n"
          "                              auth-consent, resource-consent) when its role is\n"
          "                              under test; --listen also takes instance names\n"
          "  --declare ROLE=FEATURE      the target implements an optional FEATURE, which\n"
          "                              makes its checks mandatory (undeclared: SKIP)\n"
          "  --harness-host ADDR         address (of this host) that the servers some cases\n"
          "                              start themselves bind and name in their identifiers\n"
          "                              (default 127.0.0.1); a target that is not on\n"
          "                              loopback needs one it can reach, else those checks\n"
          "                              SKIP\n"
          "  --consent auto|manual       who consents when an auth server asks a user\n"
          "                              (PROFILE#6.6): the scripted user (auto, default) or\n"
          "                              you: the runner prints the consent URL on stderr and\n"
          "                              reads the code or redirect URL from the terminal\n"
          "                              (no terminal: those checks SKIP)\n"
          "\n"
          "Selection:\n"
          "  --suite NAME                run only this suite (repeatable)\n"
          "  --filter GLOB               run only checks whose id matches (fnmatch,\n"
          "                              repeatable): --filter 'metadata.agent.*'\n"
          "  --seed-tests-only           flows: only the tests the seed transcript has\n"
          "  --allow-quirk NAME          accept a known deviation as PASS_QUIRK (repeatable)\n"
          "  --list                      list the selected checks (id, level, role, title,\n"
          "                              spec) and exit\n"
          "  --list=json                 the catalogue as JSON on stdout and exit\n"
          "\n"
          "Run:\n"
          "  --run-file FILE             read options from a JSON file whose keys are the\n"
          "                              long option names (docs/run-file.md); command-line\n"
          "                              options override it\n"
          "  --clock now|frozen[=EPOCH]  the harness clock (and the embedded reference's);\n"
          "                              frozen without EPOCH freezes the start time\n"
          "  --seed N                    seed for the harness's random choices (recorded\n"
          "                              in every report; default: random)\n"
          "  -j N, --jobs N              cases run in parallel (default: number of CPUs)\n"
          "  --vectors-dir DIR           fixed test vectors (default: the source tree's)\n"
          "  --check                     validate the configuration and fetch each\n"
          "                              target's metadata, then exit\n"
          "  --print-config              print the effective settings as JSON and exit\n"
          "\n"
          "Output (human text on stdout/stderr, machine formats only in files):\n"
          "  --report-dir DIR            write junit.xml, report.json, report.md and\n"
          "                              report.html into DIR\n"
          "  --verbose, -v               print every case's HTTP transcript (seed style,\n"
          "                              with signature bases)\n"
          "  --seed-report               print the seed-style flow report (PROFILE#8) for\n"
          "                              the flow suites that ran instead of the summary\n"
          "  --no-color                  no ANSI colours (default: colours on a terminal)\n"
          "  --help, -h                  this text\n"
          "  --version                   the version\n"
          "\n"
          "Outcomes: PASS, PASS_QUIRK (passed only through --allow-quirk), FAIL (a MUST\n"
          "broken), WARN (a SHOULD broken, or the right status with another error code),\n"
          "INFO (left open by the spec), SKIP (optional feature not declared), ERROR\n"
          "(harness or network fault - never a conformance failure).\n"
          "\n"
          "Exit status:\n"
          "  0  at least one check ran and no MUST failed\n"
          "  1  conformance failures (at least one FAIL)\n"
          "  2  usage or configuration error\n"
          "  3  could not test: the target is unreachable, every check is ERROR\n"
          "  4  nothing ran: the selection is empty or every check was skipped\n"
          "  130, 143  interrupted by SIGINT (Ctrl-C) / SIGTERM: 128 + the signal, as a\n"
          "     shell reports it; the cases and embedded servers are stopped and the\n"
          "     temporary directory (with the servers' keys) removed; no reports\n"
          "\n"
          "Examples:\n"
          "  aauth-conformance                          # self-test: embedded reference\n"
          "  aauth-conformance --suite delegation --seed-report\n"
          "  aauth-conformance --target-agent-server https://agent.example \\\n"
          "      --report-dir out/\n"
          "  aauth-conformance --target-resource http://127.0.0.1:9002 \\\n"
          "      --resource-jwks-path /api/identified --suite metadata --check\n"
          "  aauth-conformance --list --suite vectors\n"
          "  aauth-conformance --run-file lab.json --filter 'metadata.*' -j 4\n",
          out);
    fputs("\nQuirks (--allow-quirk; docs/quirks.md). When a target refuses a request the\n"
          "harness signed conformantly, the runner re-sends it the ways below and names the\n"
          "deviation the target accepted; with --allow-quirk NAME the case goes on that\n"
          "way and its checks are PASS_QUIRK, never PASS:\n",
          out);
    for (size_t i = 0; i < aa_n_quirks; i++)
        fprintf(out, "  %-22s %s (%s)\n", aa_quirks[i].name, aa_quirks[i].spec,
                aa_quirks[i].rfc ? aa_quirks[i].rfc : "");
}

/* ---- command line ------------------------------------------------------- */

struct cli {
    enum action action;
    const char *run_file;
    const char **keys;
    const char **vals;
    size_t n;
};

static int usage_error(const char *fmt, ...) AA_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("aauth-conformance: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    return AA_EXIT_USAGE;
}

static int parse_cli(int argc, char **argv, struct cli *cl)
{
    cl->keys = calloc((size_t)argc + 1, sizeof(*cl->keys));
    cl->vals = calloc((size_t)argc + 1, sizeof(*cl->vals));
    if (cl->keys == NULL || cl->vals == NULL)
        return AA_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char key[64];
        const char *val = NULL, *eq;
        size_t klen;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cl->action = ACT_HELP;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            if (cl->action != ACT_HELP)
                cl->action = ACT_VERSION;
            continue;
        }
        if (strcmp(a, "-v") == 0) {
            if ((cl->keys[cl->n] = aa_strdup("verbose")) == NULL)
                return AA_EXIT_USAGE;
            cl->vals[cl->n++] = NULL;
            continue;
        }
        if (strncmp(a, "-j", 2) == 0) {
            const char *n = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (n == NULL)
                return usage_error("%s needs a number", "-j");
            if ((cl->keys[cl->n] = aa_strdup("jobs")) == NULL)
                return AA_EXIT_USAGE;
            cl->vals[cl->n++] = n;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return usage_error("unexpected argument \"%s\"", a);
        eq = strchr(a + 2, '=');
        klen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (klen >= sizeof(key))
            return usage_error("unknown option %s", a);
        memcpy(key, a + 2, klen);
        key[klen] = '\0';
        if (strcmp(key, "list") == 0) {
            if (eq == NULL || strcmp(eq + 1, "text") == 0)
                cl->action = cl->action == ACT_HELP ? ACT_HELP : ACT_LIST;
            else if (strcmp(eq + 1, "json") == 0)
                cl->action = cl->action == ACT_HELP ? ACT_HELP : ACT_LIST_JSON;
            else
                return usage_error("--list takes no value or =json, not \"%s\"", eq + 1);
            continue;
        }
        if (strcmp(key, "check") == 0 || strcmp(key, "print-config") == 0) {
            if (eq != NULL)
                return usage_error("%s takes no value", a);
            if (cl->action != ACT_HELP)
                cl->action = key[0] == 'c' ? ACT_CHECK : ACT_CONFIG;
            continue;
        }
        if (strcmp(key, "run-file") != 0 && !aa_rconf_known(key))
            return usage_error("unknown option --%s", key);
        if (strcmp(key, "run-file") == 0 || !aa_rconf_is_flag(key)) {
            if (eq != NULL)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error("%s needs a value", a);
        } else if (eq != NULL) {
            return usage_error("%s takes no value", a);
        }
        if (strcmp(key, "run-file") == 0) {
            cl->run_file = val;
            continue;
        }
        /* a NUL-terminated copy of the key: argv may hold "--key=value" */
        cl->keys[cl->n] = aa_strndup(a + 2, klen);
        if (cl->keys[cl->n] == NULL)
            return AA_EXIT_USAGE;
        cl->vals[cl->n++] = val;
    }
    return AA_EXIT_OK;
}

static void cli_cleanup(struct cli *cl)
{
    for (size_t i = 0; cl->keys != NULL && i < cl->n; i++)
        free((char *)cl->keys[i]);
    free(cl->keys);
    free(cl->vals);
}

/* ---- results directory --------------------------------------------------- */

static char *make_results_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if (aa_snprintf(path, sizeof(path), "%s/aauth-conformance.XXXXXX", tmp) != AA_OK)
        return NULL;
    if (mkdtemp(path) == NULL)
        return NULL;
    return aa_strdup(path);
}

/* The results directory holds files and one level of subdirectories
 * (keys/); nothing else is ever created there. */
static void remove_tree(const char *dir, int depth)
{
    DIR *dp;
    struct dirent *de;
    char path[4096];

    if (dir == NULL || depth > 2 || (dp = opendir(dir)) == NULL)
        return;
    while ((de = readdir(dp)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (aa_snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) != AA_OK)
            continue;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path, depth + 1);
        else
            unlink(path);
    }
    closedir(dp);
    rmdir(dir);
}

static void remove_results_dir(const char *dir)
{
    remove_tree(dir, 0);
}

/* ---- interruption (SIGINT, SIGTERM) -------------------------------------- */

/*
 * SIGINT and SIGTERM are blocked in every thread of the runner (set before
 * any thread exists) and taken by one watcher thread with sigwait(), so
 * neither Criterion's own handlers nor an MHD thread ever sees them. The
 * watcher stops the case processes, the embedded servers and the control
 * channel, removes the temporary directory (which holds the servers'
 * private keys), and exits with 128 + the signal. Case processes inherit
 * the blocked mask through fork and exec; aa_conf_case_run unblocks it, so
 * a case still dies of SIGTERM / Ctrl-C.
 */
static struct {
    pthread_mutex_t mu;
    bool cleaned;           /* the run's own cleanup already happened */
    char *results_dir;      /* borrowed from the configuration */
    struct aa_embed *emb;   /* borrowed */
    struct aa_control *ctl; /* borrowed */
} sig_state = {PTHREAD_MUTEX_INITIALIZER, false, NULL, NULL, NULL};

/* Children of every thread of this process (the Criterion workers). */
static void stop_children(void)
{
    DIR *tasks = opendir("/proc/self/task");
    struct dirent *de;

    if (tasks == NULL)
        return;
    while ((de = readdir(tasks)) != NULL) {
        char path[300], buf[4096];
        FILE *f;
        size_t n;
        if (de->d_name[0] == '.')
            continue;
        if (aa_snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name) != AA_OK ||
            (f = fopen(path, "r")) == NULL)
            continue;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        for (char *p = buf; *p;) {
            int64_t pid;
            size_t len = strspn(p, "0123456789");
            if (len > 0 && aa_parse_i64(p, len, &pid) == AA_OK && pid > 1)
                kill((pid_t)pid, SIGTERM);
            p += len;
            p += strspn(p, " \n");
            if (len == 0 && *p != '\0')
                p++;
        }
    }
    closedir(tasks);
}

static void *sig_watcher(void *arg)
{
    const sigset_t *set = arg;
    int sig = 0;

    if (sigwait(set, &sig) != 0)
        return NULL;
    pthread_mutex_lock(&sig_state.mu);
    fprintf(stderr,
            "\naauth-conformance: interrupted by %s: stopping the cases and the embedded "
            "servers, removing the temporary directory; no reports are written (exit "
            "%d)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", AA_EXIT_SIGNAL_BASE + sig);
    if (!sig_state.cleaned) {
        stop_children();
        aa_control_stop(sig_state.ctl);
        aa_embed_stop(sig_state.emb);
        remove_results_dir(sig_state.results_dir);
        sig_state.cleaned = true;
    }
    fflush(NULL);
    _exit(AA_EXIT_SIGNAL_BASE + sig);
    return NULL;
}

static void install_signals(void)
{
    static sigset_t set;
    pthread_t th;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return;
    if (pthread_create(&th, NULL, sig_watcher, &set) != 0) {
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        return;
    }
    pthread_detach(th);
}

/* Publish what the watcher must clean up (NULLs withdraw it). */
static void sig_publish(char *dir, struct aa_embed *emb, struct aa_control *ctl)
{
    pthread_mutex_lock(&sig_state.mu);
    sig_state.results_dir = dir;
    sig_state.emb = emb;
    sig_state.ctl = ctl;
    pthread_mutex_unlock(&sig_state.mu);
}

static int write_json_file(const char *path, const cJSON *o)
{
    char *text = cJSON_Print(o);
    FILE *f;
    int rc = AA_OK;

    if (text == NULL)
        return AA_E_NOMEM;
    if ((f = fopen(path, "w")) == NULL) {
        free(text);
        return AA_E_IO;
    }
    if (fputs(text, f) == EOF || fputc('\n', f) == EOF)
        rc = AA_E_IO;
    if (fclose(f) != 0)
        rc = AA_E_IO;
    free(text);
    return rc;
}

/* ---- --check ------------------------------------------------------------ */

static const char *well_known_of(enum aa_role r, const char **member)
{
    switch (r) {
    case AA_ROLE_AGENT_SERVER:
        *member = "agent";
        return "aauth-agent";
    case AA_ROLE_RESOURCE:
        *member = "resource";
        return "aauth-resource";
    default:
        *member = "issuer";
        return "aauth-issuer";
    }
}

static int run_check(const struct aa_rconf *conf)
{
    struct aa_http_client_opts o = {0};
    struct aa_http_client *http;
    int unreachable = 0, targets = 0;

    o.user_agent = "aauth-conformance/" AA_VERSION;
    if ((http = aa_http_client_new(&o)) == NULL) {
        fputs("aauth-conformance: cannot create an HTTP client\n", stderr);
        return AA_EXIT_USAGE;
    }
    if (conf->source != NULL)
        printf("Configuration is valid (run file %s).\n", conf->source);
    else
        printf("Configuration is valid.\n");
    for (int r = AA_ROLE_AGENT_SERVER; r <= AA_ROLE_AUTH_SERVER; r++) {
        const char *url = conf->roles[r].url, *member, *name;
        struct aa_http_response resp;
        struct aa_buf wk;
        struct aa_diag d;
        int rc;

        if (url == NULL)
            continue;
        targets++;
        name = well_known_of((enum aa_role)r, &member);
        aa_buf_init(&wk, 8192);
        aa_http_well_known_url(url, name, &wk);
        aa_http_response_init(&resp);
        aa_diag_clear(&d);
        rc = wk.err ? AA_E_INVAL : aa_http_get(http, wk.p, NULL, &resp, &d);
        printf("%-13s %s\n  GET %s: ", aa_role_name((enum aa_role)r), url, wk.p ? wk.p : "");
        if (rc != AA_OK) {
            printf("UNREACHABLE (%s%s%s)\n", aa_conf_strerror(rc), d.msg[0] ? ": " : "", d.msg);
            unreachable++;
        } else {
            cJSON *doc = NULL;
            const char *idv;
            printf("%ld", resp.status);
            if (resp.status == 200 &&
                aa_json_parse(resp.body, resp.body_len, NULL, &doc, NULL) == AA_OK) {
                idv = aa_json_str(doc, member);
                if (idv != NULL && strcmp(idv, url) == 0)
                    printf(", metadata \"%s\" = %s: reachable\n", member, idv);
                else
                    printf(", reachable, but metadata \"%s\" is %s%s%s (a conformance run will "
                           "judge it)\n",
                           member, idv ? "\"" : "", idv ? idv : "missing", idv ? "\"" : "");
            } else {
                printf(", reachable, but not a 200 JSON metadata document (a conformance run "
                       "will judge it)\n");
            }
            cJSON_Delete(doc);
        }
        aa_http_response_cleanup(&resp);
        aa_buf_free(&wk);
    }
    if (conf->roles[AA_ROLE_DELEGATE].command != NULL) {
        targets++;
        printf("%-13s command: %s (not executed by --check)\n", "delegate",
               conf->roles[AA_ROLE_DELEGATE].command);
    }
    if (targets == 0)
        printf("No targets: a run tests the embedded reference (self-test).\n");
    aa_http_client_free(http);
    return unreachable > 0 ? AA_EXIT_UNREACHABLE : AA_EXIT_OK;
}

/* ---- the run ------------------------------------------------------------- */

static bool use_color(const struct aa_rconf *conf)
{
    const char *term = getenv("TERM");
    return !conf->no_color && getenv("NO_COLOR") == NULL && isatty(STDOUT_FILENO) &&
           (term == NULL || strcmp(term, "dumb") != 0);
}

static void rfc3339_now(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    aa_snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fill_run_info(struct aa_run *run, const struct aa_rconf *conf)
{
    char started[40], seed[32];
    int rc;

    rfc3339_now(started, sizeof(started));
    aa_snprintf(seed, sizeof(seed), "%llu", (unsigned long long)conf->seed);
    if ((rc = aa_result_set(&run->info.tool_version, AA_VERSION)) != AA_OK ||
        (rc = aa_result_set(&run->info.profile, AA_CONF_PROFILE)) != AA_OK ||
        (rc = aa_result_set(&run->info.clock_mode, conf->clock_frozen ? "frozen" : "now")) !=
            AA_OK ||
        (rc = aa_result_set(&run->info.started_at, started)) != AA_OK)
        return rc;
    run->info.clock = conf->clock_value;
    run->info.seed = conf->seed;
    run->info.dev_mode = conf->dev_mode;
    for (size_t i = 0; i < conf->quirks.n; i++)
        if ((rc = aa_run_add_quirk(run, conf->quirks.v[i])) != AA_OK)
            return rc;
    for (int r = AA_ROLE_AGENT_SERVER; r < AA_CONF_N_ROLES; r++) {
        const struct aa_rc_role *ro = &conf->roles[r];
        if (r == AA_ROLE_DELEGATE && ro->command != NULL)
            rc = aa_run_add_target(run, (enum aa_role)r, NULL, false);
        else if (ro->url != NULL)
            rc = aa_run_add_target(run, (enum aa_role)r, ro->url, false);
        else if (ro->embedded)
            rc = aa_run_add_target(run, (enum aa_role)r, ro->id, true);
        else
            continue;
        if (rc != AA_OK)
            return rc;
    }
    return AA_OK;
}

static void print_preamble(const struct aa_rconf *conf, size_t n_sel, size_t n_cases)
{
    printf("aauth-conformance %s - profile %s%s\n", AA_VERSION, AA_CONF_PROFILE,
           conf->dev_mode ? " (DEV: http loopback identifiers)" : "");
    for (int r = AA_ROLE_AGENT_SERVER; r < AA_CONF_N_ROLES; r++) {
        const struct aa_rc_role *ro = &conf->roles[r];
        if (r == AA_ROLE_DELEGATE && ro->command != NULL)
            printf("  %-13s under test: %s\n", aa_role_name((enum aa_role)r), ro->command);
        else if (ro->url != NULL)
            printf("  %-13s under test: %s\n", aa_role_name((enum aa_role)r), ro->url);
        else if (ro->embedded)
            printf("  %-13s embedded reference: %s\n", aa_role_name((enum aa_role)r), ro->id);
        else if (ro->unavailable != NULL)
            printf("  %-13s unavailable: %s\n", aa_role_name((enum aa_role)r), ro->unavailable);
    }
    for (size_t i = 0; i < conf->n_insts; i++) {
        const struct aa_rc_inst *in = &conf->insts[i];
        if (in->case_key != NULL)
            continue;
        if (in->url != NULL)
            printf("  %-16s external: %s\n", in->name, in->url);
        else if (in->embedded && in->unavailable == NULL)
            printf("  %-16s embedded: %s\n", in->name, in->id ? in->id : "");
        else if (in->unavailable != NULL)
            printf("  %-16s unavailable: %s\n", in->name, in->unavailable);
    }
    if (conf->harness_host != NULL)
        printf("  servers the cases host bind %s (--harness-host)\n", conf->harness_host);
    if (conf->consent_manual)
        printf("  consent: manual, %s\n",
               conf->consent_tty ? "you are asked on this terminal (stderr / /dev/tty)"
                                 : "but no terminal: the checks that need a person SKIP");
    printf("  clock %s %lld, seed %llu, %zu check%s in %zu case%s\n\n",
           conf->clock_frozen ? "frozen at" : "now,", (long long)conf->clock_value,
           (unsigned long long)conf->seed, n_sel, n_sel == 1 ? "" : "s", n_cases,
           n_cases == 1 ? "" : "s");
}

static struct criterion_logger silent_logger; /* every hook NULL: Criterion prints nothing */

/* Enable exactly the selected, runnable cases; returns how many. */
static size_t configure_tests(struct criterion_test_set *set, const struct aa_cat *cat,
                              const bool *case_run)
{
    struct criterion_suite_set *ss;
    size_t enabled = 0;

    FOREACH_SET(ss, set->suites)
    {
        struct criterion_test *t;
        FOREACH_SET(t, ss->tests)
        {
            size_t ci = aa_cat_find_case(cat, t->category, t->name);
            if (ci == (size_t)-1) {
                fprintf(stderr,
                        "aauth-conformance: Criterion test %s/%s is not an AA_CASE; not run\n",
                        t->category, t->name);
                t->data->disabled = true;
                continue;
            }
            t->data->disabled = !case_run[ci];
            /* No Criterion timeout: BoxFort's timeout list (Criterion 2.4.1)
             * races when several tests with timeouts run in parallel - it
             * loses requests (a 48-byte leak) and can corrupt the runner's
             * heap. Each case arms its own timer instead (case.c), and a case
             * killed by it is reported as timed out (collect.c). */
            t->data->timeout = 0;
            enabled += case_run[ci];
        }
    }
    return enabled;
}

static int run_all(struct aa_rconf *conf, const struct aa_cat *cat, const bool *sel, size_t n_sel,
                   struct aa_run *run)
{
    bool *case_sel = calloc(cat->n_cases + 1, sizeof(bool));
    bool *case_run = calloc(cat->n_cases + 1, sizeof(bool));
    char **transcripts = calloc(cat->n_cases + 1, sizeof(char *));
    struct aa_case_status *status = calloc(cat->n_cases + 1, sizeof(*status));
    struct aa_embed *emb = NULL;
    struct aa_control *ctl = NULL;
    const char **inames = NULL;
    char **ikeys = NULL;
    size_t n_inst = 0, inst_cap = 1;
    unsigned needs = 0;
    size_t n_cases = 0;
    char cfgpath[4096];
    cJSON *cfg = NULL;
    double t0 = mono_ms();
    int rc = AA_EXIT_OK;

    if (!case_sel || !case_run || !transcripts || !status) {
        rc = AA_EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < cat->n; i++)
        if (sel[i])
            case_sel[cat->check_case[i]] = true;
    for (size_t ci = 0; ci < cat->n_cases; ci++)
        if (case_sel[ci]) {
            needs |= cat->case_needs[ci];
            n_cases++;
            for (const char *const *in = cat->cases[ci]->instances; in && *in; in++)
                inst_cap++;
        }
    inames = calloc(inst_cap, sizeof(*inames));
    ikeys = calloc(inst_cap, sizeof(*ikeys));
    if (inames == NULL || ikeys == NULL) {
        rc = AA_EXIT_USAGE;
        goto out;
    }
    /* shared instances once, per-case ones once per case (with its key) */
    for (size_t ci = 0; ci < cat->n_cases; ci++) {
        const struct aa_conf_case *cs = cat->cases[ci];
        if (!case_sel[ci])
            continue;
        for (const char *const *in = cs->instances; in && *in; in++) {
            const struct aa_inst_def *def = aa_inst_find(*in);
            bool dup = false;
            if (def == NULL)
                continue;
            if (def->per_case) {
                char key[256];
                aa_snprintf(key, sizeof(key), "%s/%s", cs->cr_suite, cs->name);
                if ((ikeys[n_inst] = aa_strdup(key)) == NULL) {
                    rc = AA_EXIT_USAGE;
                    goto out;
                }
            } else {
                for (size_t k = 0; k < n_inst && !dup; k++)
                    dup = ikeys[k] == NULL && strcmp(inames[k], def->name) == 0;
                if (dup)
                    continue;
            }
            inames[n_inst++] = def->name;
        }
    }

    if ((conf->results_dir = make_results_dir()) == NULL) {
        fprintf(stderr, "aauth-conformance: cannot create a results directory in %s: %s\n",
                getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
        rc = AA_EXIT_USAGE;
        goto out;
    }
    sig_publish(conf->results_dir, NULL, NULL);
    aa_embed_start(conf, needs, inames, (const char *const *)ikeys, &emb);
    sig_publish(conf->results_dir, emb, NULL);
    {
        struct aa_diag d;
        aa_diag_clear(&d);
        if (aa_control_start(emb, conf, &ctl, &d) != AA_OK)
            fprintf(stderr,
                    "aauth-conformance: no control channel (%s); cases that read the "
                    "embedded servers' state will report ERROR\n",
                    d.msg);
    }
    sig_publish(conf->results_dir, emb, ctl);
    for (size_t ci = 0; ci < cat->n_cases; ci++) {
        const struct aa_conf_case *cs = cat->cases[ci];
        if (!case_sel[ci])
            continue;
        case_run[ci] = true;
        for (int r = AA_ROLE_AGENT_SERVER; r <= AA_ROLE_AUTH_SERVER; r++) {
            const struct aa_rc_role *ro = &conf->roles[r];
            if ((cat->case_needs[ci] & AA_NEED(r)) && ro->url == NULL && !ro->embedded) {
                status[ci].state = AA_CASE_BLOCKED;
                status[ci].blocked_reason = aa_strdup(
                    ro->unavailable ? ro->unavailable : "a role this case needs is not available");
                case_run[ci] = false;
                break;
            }
        }
        for (const char *const *in = cs->instances; case_run[ci] && in && *in; in++) {
            const struct aa_inst_def *def = aa_inst_find(*in);
            char key[256];
            struct aa_rc_inst *ri;
            aa_snprintf(key, sizeof(key), "%s/%s", cs->cr_suite, cs->name);
            ri = def ? aa_rconf_inst(conf, def->name, def->per_case ? key : NULL, false) : NULL;
            if (ri != NULL && ri->unavailable == NULL && (ri->url != NULL || ri->embedded))
                continue;
            status[ci].state = AA_CASE_BLOCKED;
            status[ci].blocked_skip = ri != NULL && ri->skip;
            status[ci].blocked_reason =
                aa_strdup(ri && ri->unavailable ? ri->unavailable
                                                : "an instance this case needs is not "
                                                  "available");
            case_run[ci] = false;
        }
    }
    if (conf->consent_manual) {
        char why[1024];
        conf->consent_tty = aa_consent_can_ask(why, sizeof(why));
        free(conf->consent_why);
        conf->consent_why = conf->consent_tty ? NULL : aa_strdup(why);
    }
    if (fill_run_info(run, conf) != AA_OK) {
        fputs("aauth-conformance: out of memory\n", stderr);
        rc = AA_EXIT_USAGE;
        goto out;
    }
    if (!conf->seed_report)
        print_preamble(conf, n_sel, n_cases);
    fflush(stdout);

    if (aa_snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", conf->results_dir) != AA_OK ||
        (cfg = aa_rconf_to_json(conf, true)) == NULL || write_json_file(cfgpath, cfg) != AA_OK ||
        setenv(AA_CONF_ENV, cfgpath, 1) != 0) {
        fprintf(stderr, "aauth-conformance: cannot write %s\n", cfgpath);
        rc = AA_EXIT_USAGE;
        goto out;
    }

    {
        struct criterion_test_set *set = criterion_initialize();
        g_cat = cat;
        g_status = status;
        if (configure_tests(set, cat, case_run) > 0) {
            criterion_options.logger = &silent_logger;
            criterion_options.jobs = (size_t)conf->jobs;
            criterion_options.always_succeed = true;
            criterion_run_all_tests(set);
        }
        criterion_finalize(set);
        g_cat = NULL;
        g_status = NULL;
    }

    for (size_t ci = 0; ci < cat->n_cases; ci++) {
        struct aa_diag d;
        if (!case_sel[ci])
            continue;
        aa_diag_clear(&d);
        if (aa_collect_case(cat, sel, ci, &status[ci], conf->results_dir, run,
                            conf->verbose ? &transcripts[ci] : NULL, &d) != AA_OK) {
            fprintf(stderr, "aauth-conformance: collecting results: %s\n", d.msg);
            rc = AA_EXIT_USAGE;
            goto out;
        }
    }
    aa_collect_sort(cat, run);
    run->info.duration_ms = mono_ms() - t0;

    if (conf->verbose)
        for (size_t ci = 0; ci < cat->n_cases; ci++)
            if (transcripts[ci] != NULL)
                printf("\n######## case %s/%s: transcript ########\n%s", cat->cases[ci]->cr_suite,
                       cat->cases[ci]->name, transcripts[ci]);
out:
    pthread_mutex_lock(&sig_state.mu);
    if (!sig_state.cleaned) {
        aa_control_stop(ctl);
        aa_embed_stop(emb);
        if (conf->results_dir != NULL)
            remove_results_dir(conf->results_dir);
        sig_state.cleaned = true;
    }
    sig_state.results_dir = NULL;
    sig_state.emb = NULL;
    sig_state.ctl = NULL;
    pthread_mutex_unlock(&sig_state.mu);
    for (size_t k = 0; ikeys != NULL && k < n_inst; k++)
        free(ikeys[k]);
    free(ikeys);
    free(inames);
    cJSON_Delete(cfg);
    for (size_t ci = 0; status != NULL && ci < cat->n_cases; ci++)
        free(status[ci].blocked_reason);
    for (size_t ci = 0; transcripts != NULL && ci < cat->n_cases; ci++)
        free(transcripts[ci]);
    free(transcripts);
    free(status);
    free(case_sel);
    free(case_run);
    return rc;
}

/*
 * Why none of the checks of flow test |no| is selected, or NULL when one
 * is (or the test has none: then the report says "not run"). With targets
 * the usual reason is the roles: their checks judge roles the harness
 * embeds (README "Selection").
 */
static char *test_deselected(const struct aa_cat *cat, const struct aa_rconf *conf, const bool *sel,
                             const char *suite, int no)
{
    unsigned roles = 0;
    bool any = false, by_role = true;
    struct aa_buf b;

    for (size_t i = 0; i < cat->n; i++) {
        const struct aa_check *c = cat->checks[i];
        if (c->test_no != no || strcmp(c->suite, suite) != 0)
            continue;
        if (sel[i])
            return NULL;
        any = true;
        if (c->role > AA_ROLE_NONE && c->role < AA_CONF_N_ROLES &&
            (c->role == AA_ROLE_DELEGATE ? conf->roles[c->role].command == NULL
                                         : conf->roles[c->role].url == NULL))
            roles |= 1u << (unsigned)c->role;
        else
            by_role = false;
    }
    if (!any)
        return NULL;
    aa_buf_init(&b, 1024);
    if (conf->any_target && by_role && roles != 0) {
        aa_buf_adds(&b, "not selected: its checks judge the ");
        for (int r = AA_ROLE_AGENT_SERVER, k = 0; r < AA_CONF_N_ROLES; r++)
            if (roles & (1u << (unsigned)r))
                aa_buf_printf(&b, "%s%s", k++ ? " and the " : "", aa_role_name((enum aa_role)r));
        aa_buf_adds(&b, ", not under test in this run");
    } else {
        aa_buf_adds(&b, "not selected by --suite/--filter");
    }
    return aa_buf_detach(&b, NULL);
}

/* The seed-style reports for the flow suites that ran; false if none. */
static bool print_flows(const struct aa_cat *cat, const struct aa_rconf *conf, const bool *sel,
                        const struct aa_run *run, bool color)
{
    bool any = false;

    for (size_t fi = 0; fi < cat->n_flows; fi++) {
        const struct aa_conf_flow *f = cat->flows[fi];
        struct aa_flow_def def;
        char **skipped;
        bool ran = false;

        for (size_t i = 0; i < cat->n && !ran; i++)
            ran = sel[i] && strcmp(cat->checks[i]->suite, f->suite) == 0;
        if (!ran)
            continue;
        def.suite = f->suite;
        def.banner = f->banner;
        def.description_lines = f->description_lines;
        def.tests = f->tests;
        def.n_tests = f->n_tests;
        if (conf->seed_tests_only && f->seed_tests > 0)
            def.n_tests = (size_t)f->seed_tests;
        if (any)
            fputc('\n', stdout);
        skipped = calloc(def.n_tests + 1, sizeof(*skipped));
        for (size_t t = 0; skipped != NULL && t < def.n_tests; t++)
            skipped[t] = test_deselected(cat, conf, sel, f->suite, def.tests[t].no);
        if (aa_report_print_flow_sel(run, &def, (const char *const *)skipped, stdout, color) < 0)
            fprintf(stderr, "aauth-conformance: could not print the flow report for %s\n",
                    f->suite);
        for (size_t t = 0; skipped != NULL && t < def.n_tests; t++)
            free(skipped[t]);
        free(skipped);
        any = true;
    }
    return any;
}

static uint64_t random_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
        s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    return s;
}

int main(int argc, char **argv)
{
    struct cli cl = {0};
    struct aa_rconf conf;
    struct aa_cat cat = {0};
    struct aa_buf errors;
    struct aa_run run;
    struct aa_diag d;
    bool *sel = NULL;
    const char *unknown = NULL;
    size_t n_sel;
    int ex, rc;

    aa_rconf_init(&conf);
    aa_run_init(&run);
    aa_buf_init(&errors, 1024 * 1024);
    aa_diag_clear(&d);
    install_signals();

    if ((ex = parse_cli(argc, argv, &cl)) != AA_EXIT_OK)
        goto done;
    if (cl.action == ACT_HELP) {
        print_help(stdout);
        goto done;
    }
    if (cl.action == ACT_VERSION) {
        printf("aauth-conformance %s (profile %s)\n", AA_VERSION, AA_CONF_PROFILE);
        goto done;
    }

    if ((rc = aa_cat_load(&cat, &errors)) != AA_OK) {
        fprintf(stderr, "aauth-conformance: the check catalogue is invalid:\n%s",
                errors.p ? errors.p : "out of memory\n");
        ex = AA_EXIT_USAGE;
        goto done;
    }

    if (cl.run_file != NULL && aa_rconf_load_file(&conf, cl.run_file, &d) != AA_OK) {
        fprintf(stderr, "aauth-conformance: %s\n", d.msg);
        ex = AA_EXIT_USAGE;
        goto done;
    }
    for (size_t i = 0; i < cl.n; i++) {
        if (aa_rconf_set(&conf, cl.keys[i], cl.vals[i], true, &d) != AA_OK) {
            if (d.code == AA_E_NOTFOUND)
                fprintf(stderr, "aauth-conformance: unknown option --%s (see --help)\n",
                        cl.keys[i]);
            else
                fprintf(stderr, "aauth-conformance: %s\n", d.msg);
            ex = AA_EXIT_USAGE;
            goto done;
        }
    }
    if (aa_rconf_validate(&conf, &d) != AA_OK) {
        fprintf(stderr, "aauth-conformance: %s\n", d.msg);
        ex = AA_EXIT_USAGE;
        goto done;
    }
    if (conf.vectors_dir == NULL &&
        aa_rconf_set(&conf, "vectors-dir", AA_SOURCE_DIR "/vectors", false, &d) != AA_OK) {
        ex = AA_EXIT_USAGE;
        goto done;
    }
    if (!conf.seed_set) {
        conf.seed = random_seed();
        conf.seed_set = true;
    }
    if (!conf.clock_has_value)
        conf.clock_value = (int64_t)time(NULL);
    if (conf.dev_mode && cl.action == ACT_RUN)
        fputs("aauth-conformance: dev mode: http loopback identifiers accepted; results are "
              "labelled DEV (PROFILE#1)\n",
              stderr);

    if (cl.action == ACT_CONFIG) {
        cJSON *o = aa_rconf_to_json(&conf, false);
        char *text = o ? cJSON_Print(o) : NULL;
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
        ex = text != NULL ? AA_EXIT_OK : AA_EXIT_USAGE;
        goto done;
    }
    if (cl.action == ACT_CHECK) {
        ex = run_check(&conf);
        goto done;
    }

    if ((sel = calloc(cat.n + 1, sizeof(bool))) == NULL) {
        ex = AA_EXIT_USAGE;
        goto done;
    }
    n_sel = aa_cat_select(&cat, &conf, sel, &unknown);
    if (cl.action == ACT_LIST || cl.action == ACT_LIST_JSON) {
        if (cl.action == ACT_LIST) {
            aa_cat_print_list(&cat, sel, stdout);
        } else {
            cJSON *o = aa_cat_list_json(&cat, sel);
            char *text = o ? cJSON_Print(o) : NULL;
            if (text != NULL)
                printf("%s\n", text);
            free(text);
            cJSON_Delete(o);
        }
        if (unknown != NULL)
            fprintf(stderr, "aauth-conformance: no suite named \"%s\"\n", unknown);
        ex = AA_EXIT_OK;
        goto done;
    }
    if (unknown != NULL || n_sel == 0) {
        struct aa_buf suites;
        aa_buf_init(&suites, 64 * 1024);
        for (size_t i = 0; i < cat.n; i++) {
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(cat.checks[j]->suite, cat.checks[i]->suite) == 0;
            if (!seen)
                aa_buf_printf(&suites, "%s%s", suites.len ? ", " : "", cat.checks[i]->suite);
        }
        if (unknown != NULL)
            fprintf(stderr,
                    "aauth-conformance: nothing to run: no suite named \"%s\" (suites: %s)\n",
                    unknown, suites.p ? suites.p : "");
        else
            fprintf(stderr, "aauth-conformance: nothing to run: no check matches the selection "
                            "(--suite/--filter and the roles under test)\n");
        aa_buf_free(&suites);
        n_sel = 0;
        memset(sel, 0, cat.n * sizeof(bool));
        if (fill_run_info(&run, &conf) != AA_OK) {
            ex = AA_EXIT_USAGE;
            goto done;
        }
    } else if ((ex = run_all(&conf, &cat, sel, n_sel, &run)) != AA_EXIT_OK) {
        goto done;
    }

    {
        struct aa_console_opts co = {use_color(&conf), conf.verbose};
        bool flows = false;
        if (n_sel > 0 && conf.seed_report) {
            flows = print_flows(&cat, &conf, sel, &run, co.color);
            if (!flows)
                fputs("aauth-conformance: --seed-report: no flow suite ran; printing the "
                      "summary\n",
                      stderr);
        }
        if (n_sel > 0 && !flows)
            aa_report_print_console(&run, stdout, &co);
    }
    ex = aa_run_exit_code(&run);
    if (conf.report_dir != NULL) {
        aa_diag_clear(&d);
        if (aa_report_write_dir(&run, conf.report_dir, &d) != AA_OK) {
            fprintf(stderr, "aauth-conformance: could not write the reports: %s\n", d.msg);
            ex = AA_EXIT_USAGE;
        } else {
            printf("Reports: %s/{junit.xml,report.json,report.md,report.html}\n", conf.report_dir);
        }
    }
done:
    fflush(stdout);
    free(sel);
    aa_cat_cleanup(&cat);
    aa_run_cleanup(&run);
    aa_rconf_cleanup(&conf);
    aa_buf_free(&errors);
    cli_cleanup(&cl);
    return ex;
}
