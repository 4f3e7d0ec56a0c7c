/*
 * test_faults_util: what the fault-matrix and external-target tests
 * (test_faults.c, test_faults_external.c) share: starting the built
 * aauth-reference as a separate process and reading its startup lines,
 * running the built aauth-conformance, and reading its report.json.
 *
 * Design choice: the tools are driven exactly as a user drives them (the
 * binaries, their options, the files they write), not through the
 * libraries, so the tests prove the documented command lines. Readiness is
 * the reference's own startup line ("<role> <url> id=<id>", printed once
 * the server listens), read from a pipe: no sleeps, no polling. Children
 * get PR_SET_PDEATHSIG so a test that dies leaves no server behind.
 *
 * Only static inline functions: each test program includes this once.
 */
#ifndef TEST_FAULTS_UTIL_H
#define TEST_FAULTS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/aa_core.h"

#define FX_REF_BIN AA_BUILD_DIR "/reference/aauth-reference"
#define FX_RUNNER_BIN AA_BUILD_DIR "/suites/conformance/aauth-conformance"
#define FX_DELEGATE_BIN AA_BUILD_DIR "/reference/aauth-delegate"
#define FX_WORK_ROOT AA_BUILD_DIR "/suites/test-faults-work"

#define FX_MAX_ARGS 512
#define FX_MAX_FILE ((size_t)64 * 1024 * 1024) /* report.json, --list=json */
#define FX_LINE_MAX 4096

/* ---- small helpers ------------------------------------------------------------------- */

struct fx_argv {
    const char *v[FX_MAX_ARGS + 1];
    size_t n;
    bool overflow;
};

static inline void fx_arg(struct fx_argv *a, const char *s)
{
    if (a->n >= FX_MAX_ARGS) {
        a->overflow = true;
        return;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* Whole file into a NUL-terminated heap buffer (NULL when missing or
 * larger than FX_MAX_FILE). */
static inline char *fx_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct aa_buf b;
    char chunk[8192];
    size_t n;

    if (f == NULL)
        return NULL;
    aa_buf_init(&b, FX_MAX_FILE);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        aa_buf_add(&b, chunk, n);
    fclose(f);
    if (b.err != AA_OK) {
        aa_buf_free(&b);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return aa_buf_detach(&b, NULL);
}

static inline bool fx_file_has(const char *path, const char *needle)
{
    char *t = fx_read_file(path, NULL);
    bool has = t != NULL && strstr(t, needle) != NULL;

    free(t);
    return has;
}

/* A sanitizer report (ASan builds) in a child's stderr file. */
static inline bool fx_sanitizer_report(const char *path)
{
    return fx_file_has(path, "ERROR: AddressSanitizer") ||
           fx_file_has(path, "ERROR: LeakSanitizer") || fx_file_has(path, "runtime error:");
}

static inline int fx_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* rm -rf |dir|, then mkdir -p it. false on failure. */
static inline bool fx_fresh_dir(const char *dir)
{
    char tmp[1024];

    (void)nftw(dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (aa_snprintf(tmp, sizeof(tmp), "%s", dir) != AA_OK)
        return false;
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return false;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

static inline void fx_rm_rf(const char *dir)
{
    (void)nftw(dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A port for a server the runner embeds and a separately started server
 * must name before the runner starts (--listen auth-server=127.0.0.1:P,
 * aauth-reference --auth-server http://127.0.0.1:P). Chosen at random
 * below the kernel's ephemeral range, so no port-0 server and no outgoing
 * connection can be handed the same number meanwhile, and probed free.
 * 0 when none is found.
 */
static inline uint16_t fx_pinned_port(void)
{
    unsigned lo_eph = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    if (f != NULL) {
        unsigned a = 0, b = 0;
        if (fscanf(f, "%u %u", &a, &b) == 2 && a > 12000 && a <= 65535)
            lo_eph = a;
        fclose(f);
    }
    for (int attempt = 0; attempt < 64; attempt++) {
        uint32_t r = 0;
        struct sockaddr_in sa;
        int fd, ok;
        uint16_t port;

        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return 0;
        port = (uint16_t)(10000 + r % (lo_eph - 10000));
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
            return 0;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        if (ok)
            return port;
    }
    return 0;
}

/* ---- processes ----------------------------------------------------------------------- */

extern char **environ;

/*
 * fork + exec |argv| with stdout to |out_path| (or, when |out_fd| is not
 * NULL, to a pipe whose read end is returned there) and stderr to
 * |err_path|. The child dies with the test (PR_SET_PDEATHSIG). Its
 * environment is the test's minus Criterion's BXFI_* variables: the runner
 * is a Criterion program too and would otherwise take itself for a worker
 * of this test. -1 on failure.
 */
static inline pid_t fx_spawn(const char *const argv[], const char *out_path, int *out_fd,
                             const char *err_path)
{
    static const char *envp[1024];
    size_t ne = 0;
    int pfd[2] = {-1, -1};
    pid_t pid;

    for (char **e = environ; e != NULL && *e != NULL && ne + 1 < 1024; e++)
        if (strncmp(*e, "BXFI_", 5) != 0)
            envp[ne++] = *e;
    envp[ne] = NULL;
    if (out_fd != NULL && pipe(pfd) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        if (out_fd != NULL) {
            close(pfd[0]);
            close(pfd[1]);
        }
        return -1;
    }
    if (pid == 0) {
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int o = out_fd != NULL ? pfd[1] : open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (e < 0 || o < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        if (out_fd != NULL)
            close(pfd[0]);
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    if (out_fd != NULL) {
        close(pfd[1]);
        *out_fd = pfd[0];
    }
    return pid;
}

/* waitpid; the exit status, 128 + signal when killed, -1 on error. */
static inline int fx_wait(pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* ---- aauth-reference ----------------------------------------------------------------- */

/* One separately started aauth-reference process. */
struct fx_ref {
    pid_t pid;
    FILE *out;          /* its stdout (startup lines) */
    char err_path[512]; /* its stderr */
    char id[3][256];    /* by role: agent, resource, auth ("" = not started) */
    int exit_status;    /* after fx_ref_stop: 0 for a clean SIGTERM shutdown */
};

enum { FX_AGENT = 0, FX_RESOURCE = 1, FX_AUTH = 2 };

/*
 * Start aauth-reference with |args| (NULL-terminated, "-q" is added) and
 * read its |nroles| startup lines. stderr goes to |dir|/|name|.err. On
 * failure |why| says what happened (with the tool's stderr) and the
 * process is gone.
 */
static inline bool fx_ref_start(struct fx_ref *r, const char *dir, const char *name,
                                const char *const *args, int nroles, char *why, size_t whycap)
{
    struct fx_argv a = {0};
    char line[FX_LINE_MAX];
    int fd = -1, got = 0;

    memset(r, 0, sizeof(*r));
    r->pid = -1;
    r->exit_status = -1;
    (void)aa_snprintf(r->err_path, sizeof(r->err_path), "%s/%s.err", dir, name);
    fx_arg(&a, FX_REF_BIN);
    for (size_t i = 0; args[i] != NULL; i++)
        fx_arg(&a, args[i]);
    fx_arg(&a, "-q");
    if (a.overflow) {
        (void)aa_snprintf(why, whycap, "%s: too many arguments", name);
        return false;
    }
    if ((r->pid = fx_spawn(a.v, NULL, &fd, r->err_path)) < 0) {
        (void)aa_snprintf(why, whycap, "%s: cannot start %s: %s", name, FX_REF_BIN,
                          strerror(errno));
        return false;
    }
    if ((r->out = fdopen(fd, "r")) == NULL) {
        close(fd);
        kill(r->pid, SIGKILL);
        (void)fx_wait(r->pid);
        r->pid = -1;
        (void)aa_snprintf(why, whycap, "%s: fdopen failed", name);
        return false;
    }
    /* "agent server  http://127.0.0.1:41235  id=http://127.0.0.1:41235" */
    while (got < nroles && fgets(line, sizeof(line), r->out) != NULL) {
        const char *id = strstr(line, "id=");
        int role = strncmp(line, "agent", 5) == 0      ? FX_AGENT
                   : strncmp(line, "resource", 8) == 0 ? FX_RESOURCE
                   : strncmp(line, "auth", 4) == 0     ? FX_AUTH
                                                       : -1;
        if (id == NULL || role < 0)
            continue;
        id += 3;
        (void)aa_snprintf(r->id[role], sizeof(r->id[role]), "%.*s", (int)strcspn(id, " \r\n"), id);
        got++;
    }
    if (got < nroles) {
        char *err;
        fclose(r->out);
        r->out = NULL;
        kill(r->pid, SIGTERM);
        r->exit_status = fx_wait(r->pid);
        r->pid = -1;
        err = fx_read_file(r->err_path, NULL);
        (void)aa_snprintf(why, whycap,
                          "%s: aauth-reference printed %d of %d startup lines "
                          "(exit %d): %.600s",
                          name, got, nroles, r->exit_status, err ? err : "");
        free(err);
        return false;
    }
    return true;
}

/* SIGTERM and wait: aauth-reference exits 0 after a clean shutdown. */
static inline void fx_ref_stop(struct fx_ref *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        r->exit_status = fx_wait(r->pid);
        r->pid = -1;
    }
    if (r->out != NULL) {
        fclose(r->out);
        r->out = NULL;
    }
}

/* ---- aauth-conformance --------------------------------------------------------------- */

/* Run the runner with |a| (argv[0] is added); stdout/stderr into
 * |dir|/<name>.out/.err. The exit status, or -1. */
static inline int fx_run_runner(const struct fx_argv *args, const char *dir, const char *name)
{
    struct fx_argv a = {0};
    char out[512], err[512];
    pid_t pid;

    (void)aa_snprintf(out, sizeof(out), "%s/%s.out", dir, name);
    (void)aa_snprintf(err, sizeof(err), "%s/%s.err", dir, name);
    fx_arg(&a, FX_RUNNER_BIN);
    for (size_t i = 0; i < args->n; i++)
        fx_arg(&a, args->v[i]);
    if (a.overflow || args->overflow)
        return -1;
    if ((pid = fx_spawn(a.v, out, NULL, err)) < 0)
        return -1;
    return fx_wait(pid);
}

/* One check of a report.json (strings point into the parsed document). */
struct fx_result {
    const char *id, *outcome, *message, *expected, *actual, *hint, *role, *level;
};

struct fx_report {
    cJSON *doc;
    struct fx_result *r;
    size_t n;
    int exit_code;
};

static inline const char *fx_jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Load |path| (report.json, or --list=json output: both have "checks"). */
static inline bool fx_report_load(const char *path, struct fx_report *rep)
{
    size_t len = 0;
    char *text = fx_read_file(path, &len);
    const cJSON *checks, *c, *ec;
    size_t i = 0;

    memset(rep, 0, sizeof(*rep));
    if (text == NULL)
        return false;
    rep->doc = cJSON_ParseWithLength(text, len);
    free(text);
    checks = cJSON_GetObjectItemCaseSensitive(rep->doc, "checks");
    if (rep->doc == NULL || !cJSON_IsArray(checks)) {
        cJSON_Delete(rep->doc);
        rep->doc = NULL;
        return false;
    }
    ec = cJSON_GetObjectItemCaseSensitive(rep->doc, "exit_code");
    rep->exit_code = cJSON_IsNumber(ec) ? ec->valueint : -1;
    rep->n = (size_t)cJSON_GetArraySize(checks);
    rep->r = calloc(rep->n ? rep->n : 1, sizeof(*rep->r));
    if (rep->r == NULL) {
        cJSON_Delete(rep->doc);
        rep->doc = NULL;
        return false;
    }
    cJSON_ArrayForEach(c, checks)
    {
        struct fx_result *x = &rep->r[i++];
        x->id = fx_jstr(c, "id");
        x->outcome = fx_jstr(c, "outcome");
        x->message = fx_jstr(c, "message");
        x->expected = fx_jstr(c, "expected");
        x->actual = fx_jstr(c, "actual");
        x->hint = fx_jstr(c, "hint");
        x->role = fx_jstr(c, "role");
        x->level = fx_jstr(c, "level");
    }
    return true;
}

static inline void fx_report_free(struct fx_report *rep)
{
    cJSON_Delete(rep->doc);
    free(rep->r);
    memset(rep, 0, sizeof(*rep));
}

static inline const struct fx_result *fx_report_find(const struct fx_report *rep, const char *id)
{
    for (size_t i = 0; i < rep->n; i++)
        if (rep->r[i].id != NULL && strcmp(rep->r[i].id, id) == 0)
            return &rep->r[i];
    return NULL;
}

static inline const char *fx_nn(const char *s)
{
    return s != NULL ? s : "";
}

/* The catalogue (`aauth-conformance --list=json`) into |dir|/list.json. */
static inline bool fx_catalogue(const char *dir, struct fx_report *cat)
{
    struct fx_argv a = {0};
    char path[512];

    fx_arg(&a, "--list=json");
    if (fx_run_runner(&a, dir, "list") != 0)
        return false;
    (void)aa_snprintf(path, sizeof(path), "%s/list.out", dir);
    return fx_report_load(path, cat);
}

/* ---- the external setups ----------------------------------------------------------------- */

/*
 * Where the server(s) under test run, as separate aauth-reference
 * processes, and which runner options point at them. Every role that is
 * not under test is the runner's embedded reference, whose private keys
 * let the harness forge the tokens negative checks need.
 *   FX_S_AGENT     --target-agent-server; the optional agent features the
 *                  reference implements are declared
 *   FX_S_RESOURCE  --target-resource R1, --instance resource2 and
 *                  resource-consent; each names an embedded auth server
 *                  (auth-server, auth2, auth-consent) on a pinned port; R1
 *                  has R2 as its downstream (GET /data-exchange, declared);
 *                  GET /public (F1.4) is declared
 *   FX_S_AUTH      --target-auth-server AS1, --instance auth2 (trusting
 *                  AS1) and auth-consent (--consent user)
 *   FX_S_AUTH2     no target: only AS2 (--instance auth2) is external,
 *                  trusting the embedded AS1 on a pinned port, so the
 *                  harness holds AS1's key for the upstream tokens of the
 *                  exchange checks
 *   FX_S_RESOURCE2 no target: only R2 (--instance resource2) is
 *                  external, its --auth-server the embedded AS2 (auth2) on a
 *                  pinned port, as the embedded resource2 is configured; the
 *                  embedded R1 (whose key the harness holds, so no R1' is
 *                  needed) calls it, and no switch on R1 can stop the F7
 *                  flow before R2 is judged (exchange.rt2.*)
 *   FX_S_ALL       all three roles in one process (AS1 on a pinned port,
 *                  R1 with R2 as its downstream), R2+AS2 (trusting AS1)
 *                  and the consent pair in two more, the reference
 *                  delegate as --target-delegate: everything external
 * A pinned port another process took between the probe and the bind makes
 * the start fail with "Address already in use"; it is retried elsewhere.
 */
enum fx_setup_kind {
    FX_S_AGENT = 0,
    FX_S_RESOURCE,
    FX_S_AUTH,
    FX_S_AUTH2,
    FX_S_RESOURCE2,
    FX_S_ALL,
    FX_S_N
};

struct fx_setup {
    struct fx_ref refs[3];
    size_t nrefs;
    uint16_t pinned[3];
    char s[16][512]; /* option values the runner argv points into */
};

static inline void fx_setup_stop(struct fx_setup *st)
{
    for (size_t i = 0; i < st->nrefs; i++)
        fx_ref_stop(&st->refs[i]);
}

static inline bool fx_setup_start_once(enum fx_setup_kind kind, const char *fault, const char *dir,
                                       struct fx_setup *st, struct fx_argv *a, char *why,
                                       size_t cap)
{
    const char *fa[3] = {NULL, NULL, NULL};
    size_t k = 0;

    memset(st, 0, sizeof(*st));
    if (fault != NULL) {
        fa[0] = "--fault";
        fa[1] = fault;
    }
#define FX_START(name, n, ...)                                                                     \
    do {                                                                                           \
        const char *args_[] = {__VA_ARGS__, fa[0], fa[1], NULL};                                   \
        if (!fx_ref_start(&st->refs[st->nrefs], dir, name, args_, n, why, cap)) {                  \
            fx_setup_stop(st);                                                                     \
            return false;                                                                          \
        }                                                                                          \
        st->nrefs++;                                                                               \
    } while (0)
#define FX_OPT(opt, ...)                                                                           \
    do {                                                                                           \
        (void)aa_snprintf(st->s[k], sizeof(st->s[k]), __VA_ARGS__);                                \
        fx_arg(a, opt);                                                                            \
        fx_arg(a, st->s[k]);                                                                       \
        k++;                                                                                       \
    } while (0)

    for (int i = 0; i < (kind == FX_S_RESOURCE                     ? 3
                         : kind == FX_S_AGENT || kind == FX_S_AUTH ? 0
                                                                   : 1);
         i++) {
        if ((st->pinned[i] = fx_pinned_port()) == 0) {
            (void)aa_snprintf(why, cap, "no free port to pin");
            return false;
        }
        (void)aa_snprintf(st->s[k++], sizeof(st->s[0]), "http://127.0.0.1:%u", st->pinned[i]);
    }
    switch (kind) {
    case FX_S_AGENT:
        FX_START("agent", 1, "--roles", "agent", "--agent-port", "0");
        FX_OPT("--target-agent-server", "%s", st->refs[0].id[FX_AGENT]);
        break;
    case FX_S_RESOURCE:
        /* R2 first: R1 calls it from GET /data-exchange (--downstream). */
        FX_START("resource2", 1, "--roles", "resource", "--resource-port", "0", "--auth-server",
                 st->s[1]);
        FX_START("resource", 1, "--roles", "resource", "--resource-port", "0", "--auth-server",
                 st->s[0], "--downstream", st->refs[0].id[FX_RESOURCE]);
        FX_START("resource-consent", 1, "--roles", "resource", "--resource-port", "0",
                 "--auth-server", st->s[2]);
        FX_OPT("--target-resource", "%s", st->refs[1].id[FX_RESOURCE]);
        FX_OPT("--instance", "resource2=%s", st->refs[0].id[FX_RESOURCE]);
        FX_OPT("--instance", "resource-consent=%s", st->refs[2].id[FX_RESOURCE]);
        FX_OPT("--listen", "auth-server=127.0.0.1:%u", st->pinned[0]);
        FX_OPT("--listen", "auth2=127.0.0.1:%u", st->pinned[1]);
        FX_OPT("--listen", "auth-consent=127.0.0.1:%u", st->pinned[2]);
        break;
    case FX_S_AUTH:
        FX_START("auth", 1, "--roles", "auth", "--auth-port", "0");
        FX_START("auth2", 1, "--roles", "auth", "--auth-port", "0", "--trust",
                 st->refs[0].id[FX_AUTH]);
        FX_START("auth-consent", 1, "--roles", "auth", "--auth-port", "0", "--consent", "user");
        FX_OPT("--target-auth-server", "%s", st->refs[0].id[FX_AUTH]);
        FX_OPT("--instance", "auth2=%s", st->refs[1].id[FX_AUTH]);
        FX_OPT("--instance", "auth-consent=%s", st->refs[2].id[FX_AUTH]);
        break;
    case FX_S_AUTH2:
        FX_START("auth2", 1, "--roles", "auth", "--auth-port", "0", "--trust", st->s[0]);
        FX_OPT("--instance", "auth2=%s", st->refs[0].id[FX_AUTH]);
        FX_OPT("--listen", "auth-server=127.0.0.1:%u", st->pinned[0]);
        break;
    case FX_S_RESOURCE2:
        /* embed.c start_instances: resource2 = defaults + auth2 as its
         * auth server; auth2 (embedded) trusts AS1 */
        FX_START("resource2", 1, "--roles", "resource", "--resource-port", "0", "--auth-server",
                 st->s[0]);
        FX_OPT("--instance", "resource2=%s", st->refs[0].id[FX_RESOURCE]);
        FX_OPT("--listen", "auth2=127.0.0.1:%u", st->pinned[0]);
        break;
    case FX_S_ALL:
        /* R2+AS2 first, trusting AS1 on a pinned port, so that the process
         * with all three roles can name R2 as R1's --downstream. */
        FX_START("f7", 2, "--roles", "resource,auth", "--resource-port", "0", "--auth-port", "0",
                 "--trust", st->s[0]);
        (void)aa_snprintf(st->s[k++], sizeof(st->s[0]), "%u", st->pinned[0]);
        FX_START("all", 3, "--agent-port", "0", "--resource-port", "0", "--auth-port", st->s[k - 1],
                 "--downstream", st->refs[0].id[FX_RESOURCE]);
        FX_START("consent", 2, "--roles", "resource,auth", "--resource-port", "0", "--auth-port",
                 "0", "--consent", "user");
        FX_OPT("--target-agent-server", "%s", st->refs[1].id[FX_AGENT]);
        FX_OPT("--target-resource", "%s", st->refs[1].id[FX_RESOURCE]);
        FX_OPT("--target-auth-server", "%s", st->refs[1].id[FX_AUTH]);
        FX_OPT("--instance", "resource2=%s", st->refs[0].id[FX_RESOURCE]);
        FX_OPT("--instance", "auth2=%s", st->refs[0].id[FX_AUTH]);
        FX_OPT("--instance", "resource-consent=%s", st->refs[2].id[FX_RESOURCE]);
        FX_OPT("--instance", "auth-consent=%s", st->refs[2].id[FX_AUTH]);
        FX_OPT("--target-delegate", "%s -q get \"$AAUTH_RESOURCE_URL\"", FX_DELEGATE_BIN);
        /* the client suite's recorded servers on free ports, not 8001-8003 */
        FX_OPT("--listen", "%s", "client-agent=127.0.0.1:0");
        FX_OPT("--listen", "%s", "client-resource=127.0.0.1:0");
        FX_OPT("--listen", "%s", "client-auth=127.0.0.1:0");
        break;
    case FX_S_N:
        break;
    }
    if (kind == FX_S_RESOURCE || kind == FX_S_ALL) {
        /* R1 has a downstream: GET /data-exchange (PROFILE#6.7) */
        fx_arg(a, "--declare");
        fx_arg(a, "resource=data-exchange");
        /* and GET /public (F1.4, R-12; default limit 60 a minute) */
        fx_arg(a, "--declare");
        fx_arg(a, "resource=public");
    }
    if (kind == FX_S_AGENT || kind == FX_S_ALL) {
        /* the optional agent features the reference implements (README) */
        fx_arg(a, "--declare");
        fx_arg(a, "agent-server=delegate-token");
        fx_arg(a, "--declare");
        fx_arg(a, "agent-server=delegate-token-hwk");
        fx_arg(a, "--declare");
        fx_arg(a, "agent-server=user-authorization");
    }
#undef FX_START
#undef FX_OPT
    if (a->overflow || k > 16) {
        fx_setup_stop(st);
        (void)aa_snprintf(why, cap, "too many runner arguments");
        return false;
    }
    return true;
}

static inline bool fx_setup_start(enum fx_setup_kind kind, const char *fault, const char *dir,
                                  struct fx_setup *st, struct fx_argv *a, char *why, size_t cap)
{
    for (int attempt = 0;; attempt++) {
        struct fx_argv saved = *a;
        if (fx_setup_start_once(kind, fault, dir, st, a, why, cap))
            return true;
        if (attempt == 2 || strstr(why, "Address already in use") == NULL)
            return false;
        *a = saved;
    }
}

/* An embedded server of the runner could not take its pinned port
 * (another process bound it between the probe and the bind). */
static inline bool fx_port_clash(const struct fx_report *rep)
{
    for (size_t i = 0; i < rep->n; i++)
        if (rep->r[i].outcome != NULL && strcmp(rep->r[i].outcome, "ERROR") == 0 &&
            rep->r[i].message != NULL && strstr(rep->r[i].message, "Address already in use"))
            return true;
    return false;
}

#endif
