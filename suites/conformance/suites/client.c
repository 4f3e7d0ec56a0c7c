/*
 * client: the delegate client under test (--target-delegate "CMD";
 * without targets the reference aauth-delegate). The runner plays the
 * agent server, resource and auth server (the recorded client-* instances:
 * 127.0.0.1:8001/8002/8003 with --target-delegate) and a hostile server,
 * runs CMD once per scenario and judges every request the client sent.
 *
 * The contract for CMD (README "The delegate client", --help): it runs
 * under /bin/sh -c with stdin from /dev/null and these variables:
 *   AAUTH_AGENT_SERVER  the agent server to get an agent token from
 *                       (POST {it}/delegate/token, PROFILE#6.1)
 *   AAUTH_RESOURCE      the resource's identifier (an origin)
 *   AAUTH_RESOURCE_URL  the URL to GET (e.g. {AAUTH_RESOURCE}/data-auth)
 *   AAUTH_AUTH_SERVER   the auth server (clients learn it from the challenge)
 *   AAUTH_SCENARIO      the scenario name (informational)
 * It must fetch AAUTH_RESOURCE_URL as a delegate (scheme=jwt with its agent
 * token), follow the Agent-Auth challenges (PROFILE#5), print the final
 * response body on stdout and exit 0 on a 2xx, non-zero otherwise, within
 * CLIENT_DEADLINE_S seconds.
 *
 * Scenarios: "happy" and "token-type" (the auth server adds
 * "token_type":"Bearer", D-26) against the reference servers; CL-01..CL-06
 * (PROFILE#9) against the hostile server, one run each. All run in one case,
 * one after the other: the recordings of a scenario are exactly its own.
 *
 * Design choice: the client is judged only from what reached the servers
 * (and its exit status and stdout), never from its own logs, so any
 * implementation in any language can be tested.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aa_runner.h"
#include "aauth/aa_nonce.h"
#include "aauth/aa_sigkey.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"

#define CLIENT_DEADLINE_S 20
#define CLIENT_OUT_MAX ((size_t)1024 * 1024)
#define CLIENT_ERR_MAX ((size_t)64 * 1024)
#define CREATED_WINDOW 60 /* PROFILE#2.6, D-6 */
/* CL-05: a client still reading after this many bytes of an endless body
 * does not bound its reads (bodies are capped at 1 MiB, RB-02; socket
 * buffers account for a few MiB more). The hostile server stops at 256 MiB. */
#define CL05_UNBOUNDED ((uint64_t)64 << 20)

#define CL_CHECK(name, idv, titlev, specv, rfcv, levelv, expectv)                                  \
    AA_CHECK(name, .id = idv, .suite = "client", .title = titlev, .role = AA_ROLE_DELEGATE,        \
             .level = levelv, .spec = specv, .rfc = rfcv, .expect = expectv)

/* ---- checks ------------------------------------------------------------------------ */

CL_CHECK(c_run, "client.run.fetch", "the command fetches AAUTH_RESOURCE_URL and prints the body",
         "PROFILE#7.6", NULL, AA_LEVEL_MUST,
         "exit status 0 and the final 200 body of the resource on stdout");
CL_CHECK(c_dg_body, "client.agent-token.request",
         "POST /delegate/token: JSON body {sub, cnf_jwk[, aud]}", "PROFILE#6.1", NULL,
         AA_LEVEL_MUST,
         "application/json object; sub a string of 1-255 characters; cnf_jwk a public Ed25519 "
         "JWK; aud absent, a string or an array of strings");
CL_CHECK(c_labels, "client.sig.labels", "one member, one label in the three signature headers",
         "PROFILE#2.2", "RFC9421#4", AA_LEVEL_MUST,
         "Signature-Input, Signature and Signature-Key each once, with one member, same label");
CL_CHECK(c_label1, "client.sig.label-sig1", "the signature label is sig1", "PROFILE#2 D-11", NULL,
         AA_LEVEL_INFO, "label sig1 (verifiers accept any label)");
CL_CHECK(c_enc, "client.sig.encoding", "Signature is a padded standard-base64 Byte Sequence",
         "PROFILE#2.1", "RFC8941#3.3.5", AA_LEVEL_MUST,
         "sig1=:<88 characters of base64 ending in ==>: (64 bytes)");
CL_CHECK(c_comp, "client.sig.components", "covered components", "PROFILE#2.4", "RFC9421#2",
         AA_LEVEL_MUST,
         "@method @authority @path signature-key; @query iff a '?'; content-type and "
         "content-digest iff a body; nonce iff a Nonce header; lowercase, no parameters, no "
         "duplicates");
CL_CHECK(c_order, "client.sig.order", "covered components in the signer order", "PROFILE#2.4", NULL,
         AA_LEVEL_SHOULD,
         "@method @authority @path [@query] [content-type content-digest] [nonce] signature-key");
CL_CHECK(c_created, "client.sig.created", "created is an Integer within 60 s of receipt",
         "PROFILE#2.6", "RFC9421#2.3", AA_LEVEL_MUST, "|created - time of receipt| <= 60 s");
CL_CHECK(c_verify, "client.sig.verifies", "the signature verifies over the RFC 9421 base",
         "PROFILE#2.7", "RFC9421#3.2", AA_LEVEL_MUST,
         "ed25519 over the base ending in \"@signature-params\", with the key of Signature-Key");
CL_CHECK(c_sk_canon, "client.sigkey.canonical", "Signature-Key in the canonical form",
         "PROFILE#2.1 D-8", NULL, AA_LEVEL_MUST,
         "label=(scheme=jwt jwt=\"...\"): single spaces, scheme first");
CL_CHECK(c_sk_jwt, "client.sigkey.jwt", "scheme=jwt carrying the tokens the servers issued",
         "PROFILE#7.6", "PROFILE#2.3", AA_LEVEL_MUST,
         "the agent token from /delegate/token, or the auth token from the auth server");
CL_CHECK(c_nonce, "client.nonce.post", "every signed POST carries a fresh, covered Nonce",
         "PROFILE#2.9 D-10", NULL, AA_LEVEL_MUST,
         "one Nonce line, base64url without padding, 16-128 characters (>= 12 bytes), covered, "
         "never repeated");
CL_CHECK(c_digest, "client.digest", "Content-Digest matches the body", "PROFILE#2.8", "RFC9530#2",
         AA_LEVEL_MUST, "sha-256 (or sha-512) of the exact body bytes");
CL_CHECK(c_challenge, "client.flow.challenge", "follows the auth-token challenge", "PROFILE#5",
         "PROFILE#6.3", AA_LEVEL_MUST,
         "401 auth-token -> POST agent_token_endpoint request_type=auth with that resource_token "
         "and a redirect_uri -> retry with the auth token -> 200");
CL_CHECK(c_token_type, "client.flow.token-type-ignored",
         "a token response with \"token_type\":\"Bearer\" is still used", "PROFILE#6 D-26", NULL,
         AA_LEVEL_MUST, "token_type ignored: the flow completes, exit 0");
CL_CHECK(c_cl01, "client.cl01.insecure-auth-server",
         "challenge naming an http, non-loopback auth_server", "PROFILE#9 CL-01", "PROFILE#1",
         AA_LEVEL_MUST, "the client refuses: no request to that auth server, exit status != 0");
CL_CHECK(c_cl02, "client.cl02.malformed-challenge", "malformed Agent-Auth challenge",
         "PROFILE#9 CL-02", "PROFILE#5", AA_LEVEL_MUST,
         "an error without retrying: one request, exit status != 0");
CL_CHECK(c_cl03_cnf, "client.cl03.agent-token-cnf", "agent token whose cnf.jwk is another key",
         "PROFILE#9 CL-03", "PROFILE#7.6", AA_LEVEL_MUST, "the token is rejected, never presented");
CL_CHECK(c_cl03_typ, "client.cl03.agent-token-typ", "agent token with typ JWT", "PROFILE#9 CL-03",
         "PROFILE#7.6", AA_LEVEL_MUST, "the token is rejected, never presented");
CL_CHECK(c_cl03_iss, "client.cl03.agent-token-iss", "agent token whose iss is another origin",
         "PROFILE#9 CL-03", "PROFILE#7.6", AA_LEVEL_MUST, "the token is rejected, never presented");
CL_CHECK(c_cl03_sub, "client.cl03.agent-token-sub", "agent token with another sub",
         "PROFILE#9 CL-03", "PROFILE#7.6", AA_LEVEL_MUST, "the token is rejected, never presented");
CL_CHECK(c_cl04, "client.cl04.auth-token-cnf", "auth token whose cnf.jwk is not the client's key",
         "PROFILE#9 CL-04", "PROFILE#4.5", AA_LEVEL_MUST,
         "the token is rejected, never presented, exit status != 0");
CL_CHECK(c_cl05, "client.cl05.endless-response", "an endless response body", "PROFILE#9 CL-05",
         "PROFILE#9 RB-02", AA_LEVEL_MUST,
         "a bounded read, then an error: the command ends by itself with a non-zero status");
CL_CHECK(c_cl06, "client.cl06.metadata-redirect", "a redirect answering the metadata fetch",
         "PROFILE#9 CL-06", "PROFILE#3", AA_LEVEL_MUST,
         "not followed: nothing reaches the redirect target, exit status != 0");

/* ---- running the command ------------------------------------------------------------- */

struct run {
    bool started;
    bool killed;   /* past the deadline */
    int exit_code; /* -1 when killed by a signal */
    int sig;
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
    double ms;
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

struct env {
    const char *agent, *resource, *resource_url, *auth, *scenario;
};

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static pid_t g_child_pgid;

/* A case stopped by the runner (SIGTERM after Ctrl-C) takes the client
 * with it. */
static void on_term(int sig)
{
    if (g_child_pgid > 0)
        kill(-g_child_pgid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void drain(int fd, char **buf, size_t *len, size_t cap, bool *open_)
{
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof(tmp));

    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            *open_ = false;
        return;
    }
    if (*len < cap) {
        size_t take = (size_t)n;
        char *nb;
        if (take > cap - *len)
            take = cap - *len;
        if ((nb = realloc(*buf, *len + take + 1)) != NULL) {
            memcpy(nb + *len, tmp, take);
            *len += take;
            nb[*len] = '\0';
            *buf = nb;
        }
    }
}

static int run_command(const char *cmd, const struct env *e, struct run *r)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, status = 0;
    bool oo = true, eo = true;
    double t0 = mono_ms();
    pid_t pid;

    memset(r, 0, sizeof(*r));
    if (pipe(po) != 0 || pipe(pe) != 0) {
        if (po[0] >= 0) {
            close(po[0]);
            close(po[1]);
        }
        return AA_E_IO;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        return AA_E_IO;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        struct itimerval off;
        memset(&off, 0, sizeof(off));
        setitimer(ITIMER_REAL, &off, NULL);
        setpgid(0, 0);
        if (null >= 0)
            dup2(null, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        setenv("AAUTH_AGENT_SERVER", e->agent, 1);
        setenv("AAUTH_RESOURCE", e->resource, 1);
        setenv("AAUTH_RESOURCE_URL", e->resource_url, 1);
        setenv("AAUTH_AUTH_SERVER", e->auth, 1);
        setenv("AAUTH_SCENARIO", e->scenario, 1);
        unsetenv("AA_CONFORMANCE_CONFIG");
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    g_child_pgid = pid;
    signal(SIGTERM, on_term);
    r->started = true;
    close(po[1]);
    close(pe[1]);
    while (oo || eo) {
        struct pollfd fds[2];
        int nf = 0, left = (int)(CLIENT_DEADLINE_S * 1000 - (mono_ms() - t0));
        if (left <= 0) {
            kill(-pid, SIGKILL);
            r->killed = true;
            break;
        }
        if (oo)
            fds[nf++] = (struct pollfd){po[0], POLLIN, 0};
        if (eo)
            fds[nf++] = (struct pollfd){pe[0], POLLIN, 0};
        if (poll(fds, (nfds_t)nf, left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < nf; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (fds[i].fd == po[0])
                drain(po[0], &r->out, &r->out_len, CLIENT_OUT_MAX, &oo);
            else
                drain(pe[0], &r->err, &r->err_len, CLIENT_ERR_MAX, &eo);
        }
    }
    close(po[0]);
    close(pe[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    kill(-pid, SIGKILL); /* leftovers of the command's process group */
    g_child_pgid = 0;
    signal(SIGTERM, SIG_DFL);
    r->ms = mono_ms() - t0;
    if (WIFEXITED(status)) {
        r->exit_code = WEXITSTATUS(status);
    } else {
        r->exit_code = -1;
        r->sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    return AA_OK;
}

/* ---- the servers --------------------------------------------------------------------- */

struct srv {
    const char *name;
    const char *id;
    char authority[AA_URL_AUTHORITY_MAX];
    uint64_t mark; /* first sequence number of the current scenario */
};

/* client-sink: where the hostile server's redirects and its insecure
 * auth_server URL lead; anything it receives is a client that followed. */
enum { S_AGENT = 0, S_AUTH, S_RESOURCE, S_HOSTILE, S_SINK, S_N };

struct world {
    struct srv s[S_N];
    const char *cmd;
    bool harness_broken;
    char broken[512];
    /* per scenario */
    struct aa_conf_recording rec[S_N];
    struct run run;
    char scenario[32];
};

static int mark_all(struct world *w)
{
    for (int i = 0; i < S_N; i++) {
        struct aa_conf_recording r;
        struct aa_diag d;
        aa_diag_clear(&d);
        if (aa_conf_recorded(w->s[i].name, UINT64_MAX / 2, &r, &d) != AA_OK) {
            aa_snprintf(w->broken, sizeof(w->broken), "control channel: %s", d.msg);
            return AA_E_IO;
        }
        w->s[i].mark = r.next;
        aa_conf_recording_cleanup(&r);
    }
    return AA_OK;
}

static void note_recording(const char *name, const struct aa_conf_recording *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct aa_conf_rec_entry *x = &r->v[i];
        struct aa_buf b;
        aa_buf_init(&b, 4u * 1024 * 1024);
        aa_buf_printf(&b, "--- %s received #%llu (t=%lld) ---\n%s %s HTTP/1.1\n", name,
                      (unsigned long long)x->seq, (long long)x->received_at, x->method, x->target);
        for (size_t h = 0; h < x->headers.n; h++)
            aa_buf_printf(&b, "%s: %s\n", x->headers.v[h].name, x->headers.v[h].value);
        if (x->body_len > 0) {
            aa_buf_adds(&b, "\n");
            aa_buf_add(&b, x->body, x->body_len > 8192 ? 8192 : x->body_len);
            aa_buf_adds(&b, "\n");
        }
        aa_buf_printf(&b, "--> answered %ld", x->status);
        if (x->resp_streamed > 0)
            aa_buf_printf(&b, " (streamed %llu bytes)", (unsigned long long)x->resp_streamed);
        aa_buf_adds(&b, "\n");
        if (x->resp_body_len > 0) {
            aa_buf_add(&b, x->resp_body, x->resp_body_len > 4096 ? 4096 : x->resp_body_len);
            aa_buf_adds(&b, "\n");
        }
        if (!b.err)
            aa_conf_note("%s", b.p);
        aa_buf_free(&b);
    }
}

static void scenario_clear(struct world *w)
{
    for (int i = 0; i < S_N; i++)
        aa_conf_recording_cleanup(&w->rec[i]);
    run_free(&w->run);
}

/* Run one scenario: set modes, run the command, fetch what each server
 * recorded. Harness trouble marks the world broken (checks ERROR). */
static bool scenario(struct world *w, const char *name, int agent, int resource,
                     const char *auth_mode, const char *hostile_mode)
{
    struct env e;
    char url[1024];
    struct aa_diag d;

    scenario_clear(w);
    aa_snprintf(w->scenario, sizeof(w->scenario), "%s", name);
    aa_diag_clear(&d);
    if (aa_conf_instance_mode(w->s[S_AUTH].name, auth_mode, &d) != AA_OK ||
        aa_conf_instance_mode(w->s[S_HOSTILE].name, hostile_mode, &d) != AA_OK) {
        aa_snprintf(w->broken, sizeof(w->broken), "cannot set the servers' modes: %s", d.msg);
        w->harness_broken = true;
        return false;
    }
    if (mark_all(w) != AA_OK) {
        w->harness_broken = true;
        return false;
    }
    aa_snprintf(url, sizeof(url), "%s/data-auth", w->s[resource].id);
    e.agent = w->s[agent].id;
    e.resource = w->s[resource].id;
    e.resource_url = url;
    e.auth = w->s[S_AUTH].id;
    e.scenario = name;
    aa_conf_note("=== scenario %s: AAUTH_AGENT_SERVER=%s AAUTH_RESOURCE=%s AAUTH_RESOURCE_URL=%s "
                 "AAUTH_AUTH_SERVER=%s ===\n$ %s",
                 name, e.agent, e.resource, e.resource_url, e.auth, w->cmd);
    if (run_command(w->cmd, &e, &w->run) != AA_OK) {
        aa_snprintf(w->broken, sizeof(w->broken), "cannot run the command: %s", strerror(errno));
        w->harness_broken = true;
        return false;
    }
    aa_conf_note("--- exit %d%s%s after %.0f ms; stdout %zu bytes, stderr %zu bytes ---",
                 w->run.exit_code, w->run.killed ? " (killed at the deadline)" : "",
                 w->run.sig ? " (signal)" : "", w->run.ms, w->run.out_len, w->run.err_len);
    if (w->run.out_len > 0)
        aa_conf_note_block("stdout", w->run.out, w->run.out_len > 4096 ? 4096 : w->run.out_len);
    if (w->run.err_len > 0)
        aa_conf_note_block("stderr", w->run.err, w->run.err_len > 4096 ? 4096 : w->run.err_len);
    for (int i = 0; i < S_N; i++) {
        if (aa_conf_recorded(w->s[i].name, w->s[i].mark, &w->rec[i], &d) != AA_OK) {
            aa_snprintf(w->broken, sizeof(w->broken), "control channel: %s", d.msg);
            w->harness_broken = true;
            return false;
        }
        note_recording(w->s[i].name, &w->rec[i]);
    }
    return true;
}

/* ---- helpers on recorded requests ------------------------------------------------------ */

static const char *hget(const struct aa_conf_rec_entry *x, const char *name)
{
    return aa_http_headers_get(&x->headers, name);
}

static bool is_signed(const struct aa_conf_rec_entry *x)
{
    return hget(x, "Signature-Input") || hget(x, "Signature") || hget(x, "Signature-Key");
}

static bool path_is(const struct aa_conf_rec_entry *x, const char *path)
{
    size_t n = strlen(path);
    return strncmp(x->target, path, n) == 0 && (x->target[n] == '\0' || x->target[n] == '?');
}

/* The jwt= value of a Signature-Key (heap), NULL when none. */
static char *sk_token(const struct aa_conf_rec_entry *x)
{
    const char *sk = hget(x, "Signature-Key");
    struct aa_sigkey k;
    char *out = NULL;

    memset(&k, 0, sizeof(k));
    if (sk != NULL && aa_sigkey_parse(NULL, sk, strlen(sk), &k, NULL) == AA_OK) {
        const char *t = aa_sigkey_get(&k, "jwt");
        out = t ? aa_strdup(t) : NULL;
        aa_sigkey_cleanup(&k);
    }
    return out;
}

/* Does any recorded request (in any server) present |token|? */
static bool presented(const struct world *w, const char *token)
{
    for (int i = 0; token != NULL && i < S_N; i++)
        for (size_t k = 0; k < w->rec[i].n; k++) {
            const char *sk = hget(&w->rec[i].v[k], "Signature-Key");
            if (sk != NULL && strstr(sk, token) != NULL)
                return true;
        }
    return false;
}

/* The string member |name| of a recorded JSON response body (heap). */
static char *resp_member(const struct aa_conf_rec_entry *x, const char *name)
{
    cJSON *o = NULL;
    char *out = NULL;

    if (aa_json_parse(x->resp_body, x->resp_body_len, NULL, &o, NULL) == AA_OK &&
        aa_json_str(o, name) != NULL)
        out = aa_strdup(aa_json_str(o, name));
    cJSON_Delete(o);
    return out;
}

/* A verdict gathered over many requests: the first violation wins. */
struct verdict {
    size_t n;
    bool bad;
    char actual[700];
    char hint[700];
};

static void v_bad(struct verdict *v, const struct aa_conf_rec_entry *x, const char *hint,
                  const char *fmt, ...) AA_PRINTF(4, 5);
static void v_bad(struct verdict *v, const struct aa_conf_rec_entry *x, const char *hint,
                  const char *fmt, ...)
{
    char msg[500];
    va_list ap;

    if (v->bad)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->bad = true;
    if (x != NULL)
        aa_snprintf(v->actual, sizeof(v->actual), "%s %s: %s", x->method, x->target, msg);
    else
        aa_snprintf(v->actual, sizeof(v->actual), "%s", msg);
    aa_snprintf(v->hint, sizeof(v->hint), "%s", hint ? hint : "");
}

static void v_record(const struct aa_check *c, const struct verdict *v, const char *what)
{
    if (v->n == 0)
        aa_check_fail(c, c->expect, "nothing to judge",
                      "the client sent no %s to the harness's servers", what);
    else if (v->bad)
        aa_check_fail(c, c->expect, v->actual, "%s", v->hint[0] ? v->hint : what);
    else
        aa_check_pass(c, "%s: %zu, all as required", what, v->n);
}

/* ---- the checks on one signed request ------------------------------------------------- */

static const char *const signer_order[] = {"@method", "@authority",   "@path",
                                           "@query",  "content-type", "content-digest",
                                           "nonce",   "signature-key"};

static int order_rank(const char *name)
{
    for (size_t i = 0; i < sizeof(signer_order) / sizeof(signer_order[0]); i++)
        if (strcmp(signer_order[i], name) == 0)
            return (int)i;
    return -1;
}

struct ctx {
    struct verdict labels, label1, enc, comp, order, created, verify, canon, nonce, digest;
    char *nonces[256];
    size_t n_nonces;
};

/* Label of the Signature dictionary: its single key (manual: the member
 * may not be valid RFC 8941, e.g. base64url). */
static bool sig_label(const char *v, char *label, size_t cap, size_t *members)
{
    size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-.*");

    *members = 1;
    for (const char *p = v; *p; p++)
        if (*p == ',')
            (*members)++;
    if (n == 0 || n >= cap || v[n] != '=')
        return false;
    memcpy(label, v, n);
    label[n] = '\0';
    return true;
}

static void judge_signed(struct ctx *cx, const struct srv *s, const struct aa_conf_rec_entry *x)
{
    const char *si = hget(x, "Signature-Input"), *sg = hget(x, "Signature"),
               *sk = hget(x, "Signature-Key");
    struct aa_httpsig_input in;
    struct aa_sigkey key;
    struct aa_jwk pub = {0};
    struct aa_diag d;
    char lsig[80] = "", members_note[64] = "";
    size_t msig = 0;
    bool have_in = false, have_key = false, have_pub = false;
    const char *colon1, *colon2;

    memset(&in, 0, sizeof(in));
    memset(&key, 0, sizeof(key));
    aa_diag_clear(&d);
    cx->labels.n++;
    cx->label1.n++;
    cx->enc.n++;
    cx->comp.n++;
    cx->order.n++;
    cx->created.n++;
    cx->verify.n++;
    cx->canon.n++;

    /* labels (PROFILE#2.2) */
    if (aa_http_headers_count(&x->headers, "Signature-Input") != 1 ||
        aa_http_headers_count(&x->headers, "Signature") != 1 ||
        aa_http_headers_count(&x->headers, "Signature-Key") != 1) {
        v_bad(&cx->labels, x, "PROFILE#2.2 step 1: each header exactly once",
              "Signature-Input x%zu, Signature x%zu, Signature-Key x%zu",
              aa_http_headers_count(&x->headers, "Signature-Input"),
              aa_http_headers_count(&x->headers, "Signature"),
              aa_http_headers_count(&x->headers, "Signature-Key"));
    }
    if (si != NULL && aa_httpsig_parse_input(aa_str_c(si), NULL, &in, &d) == AA_OK)
        have_in = true;
    else
        v_bad(&cx->labels, x, "RFC 9421 §4.1: Signature-Input is a Dictionary of one Inner List",
              "Signature-Input %s: %s", si ? si : "(absent)", d.msg);
    aa_diag_clear(&d);
    if (sk != NULL && aa_sigkey_parse(NULL, sk, strlen(sk), &key, &d) == AA_OK)
        have_key = true;
    else
        v_bad(&cx->canon, x, "PROFILE#2.1: the Signature-Key grammar (D-8)", "Signature-Key %s: %s",
              sk ? sk : "(absent)", d.msg);
    if (sg == NULL || !sig_label(sg, lsig, sizeof(lsig), &msig) || msig != 1)
        v_bad(&cx->labels, x, "RFC 9421 §4.2: Signature is a Dictionary with one member",
              "Signature %s", sg ? sg : "(absent)");
    if (have_in && have_key && lsig[0] &&
        (strcmp(in.label, lsig) != 0 || strcmp(key.label, lsig) != 0))
        v_bad(&cx->labels, x, "PROFILE#2.2 step 5: Lk = Ls = Lsig",
              "labels Signature-Input %s, Signature %s, Signature-Key %s", in.label, lsig,
              key.label);
    if (lsig[0] && strcmp(lsig, "sig1") != 0)
        v_bad(&cx->label1, x, "D-11: reference signers use sig1; any label is valid", "label %s",
              lsig);
    (void)members_note;

    /* encoding (RFC 8941 §3.3.5) */
    colon1 = sg ? strchr(sg, ':') : NULL;
    colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;
    if (colon1 == NULL || colon2 == NULL) {
        v_bad(&cx->enc, x, "RFC 8941 §3.3.5: a Byte Sequence is delimited by ':'",
              "Signature %s is not a Byte Sequence", sg ? sg : "(absent)");
    } else {
        size_t n = (size_t)(colon2 - colon1 - 1);
        unsigned cls = aa_b64_classify(colon1 + 1, n);
        if (!(cls & AA_B64C_STD_PADDED))
            v_bad(&cx->enc, x,
                  "RFC 8941 §3.3.5: a Byte Sequence is standard base64 (RFC 4648 §4) with '=' "
                  "padding; base64url '-' '_' is not allowed (the seed's defect, PROFILE#2.12 S1)",
                  "Signature :%.*s: is %s", (int)(n > 100 ? 100 : n), colon1 + 1,
                  (cls & AA_B64C_HAS_URL_CHARS)  ? "base64url ('-' or '_')"
                  : (cls & AA_B64C_STD_UNPADDED) ? "without '=' padding (base64url or base64)"
                                                 : aa_b64_class_name(cls));
        else if (n != 88)
            v_bad(&cx->enc, x, "PROFILE#2.1: an Ed25519 signature is 64 bytes (88 characters)",
                  "Signature has %zu characters", n);
    }

    /* components, order, created */
    if (have_in) {
        bool query = strchr(x->target, '?') != NULL, body = x->body_len > 0,
             nonce = hget(x, "Nonce") != NULL;
        bool seen[8] = {0};
        int last = -1;
        for (size_t i = 0; i < in.list.n_inner; i++) {
            const struct aa_sf_item *it = &in.list.inner[i];
            const char *nm = it->bare.s ? it->bare.s : "";
            int rank = order_rank(nm);
            if (it->params.n > 0)
                v_bad(&cx->comp, x, "PROFILE#2.4 D-11: components carry no parameters",
                      "component \"%s\" has a parameter", nm);
            for (const char *p = nm; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    v_bad(&cx->comp, x, "PROFILE#2.4: names are lowercase", "component \"%s\"", nm);
            if (nm[0] == '@' && rank < 0)
                v_bad(&cx->comp, x,
                      "PROFILE#2.4: only @method @authority @path @query are derived components",
                      "component \"%s\"", nm);
            if (rank >= 0) {
                if (seen[rank])
                    v_bad(&cx->comp, x, "PROFILE#2.4: no duplicate components",
                          "\"%s\" covered twice", nm);
                seen[rank] = true;
                if (rank < last)
                    v_bad(&cx->order, x, "PROFILE#2.4 D-11: the signer order",
                          "\"%s\" after \"%s\"", nm, signer_order[last]);
                last = rank;
            } else if (aa_http_headers_get(&x->headers, nm) == NULL) {
                v_bad(&cx->comp, x, "PROFILE#2.4: a covered header must be present",
                      "covered header \"%s\" is not in the request", nm);
            }
        }
        if (!seen[0] || !seen[1] || !seen[2] || !seen[7])
            v_bad(&cx->comp, x,
                  "PROFILE#2.4: @method @authority @path signature-key are always covered",
                  "covered %s", si);
        if (seen[3] != query)
            v_bad(&cx->comp, x, "PROFILE#2.4: @query iff the target contains '?'",
                  "@query %s, target %s", seen[3] ? "covered" : "not covered", x->target);
        if ((seen[4] && seen[5]) != body || (seen[4] != seen[5]))
            v_bad(&cx->comp, x,
                  "PROFILE#2.4: content-type and content-digest iff the body is not empty",
                  "body %zu bytes, covered %s", x->body_len, si);
        if (seen[6] != nonce)
            v_bad(&cx->comp, x, "PROFILE#2.4: nonce covered iff a Nonce header is sent",
                  "Nonce %s, nonce %s", nonce ? "sent" : "absent",
                  seen[6] ? "covered" : "not covered");
        if (!in.params.has_created)
            v_bad(&cx->created, x, "PROFILE#2.6: created is REQUIRED", "no created in %s", si);
        else if (in.params.created - x->received_at > CREATED_WINDOW ||
                 x->received_at - in.params.created > CREATED_WINDOW)
            v_bad(&cx->created, x, "PROFILE#2.6 D-6: |now - created| <= 60 s",
                  "created %lld, received at %lld", (long long)in.params.created,
                  (long long)x->received_at);
    }

    /* canonical Signature-Key (PROFILE#2.1) and the key to verify with */
    if (have_key) {
        struct aa_buf canon;
        aa_buf_init(&canon, 64 * 1024);
        if (aa_sigkey_serialize(NULL, &key, &canon) != AA_OK || canon.p == NULL ||
            strcmp(canon.p, sk) != 0)
            v_bad(&cx->canon, x, "PROFILE#2.1: signers emit the canonical form",
                  "sent %.200s; canonical %.200s", sk, canon.p ? canon.p : "(none)");
        aa_buf_free(&canon);
        aa_diag_clear(&d);
        if (key.scheme == AA_SIGKEY_JWT && aa_sigkey_get(&key, "jwt") != NULL) {
            struct aa_jwt t;
            const char *tok = aa_sigkey_get(&key, "jwt");
            if (aa_jwt_parse(tok, strlen(tok), &t, &d) == AA_OK) {
                have_pub = aa_jwt_cnf_jwk(&t, &pub, &d) == AA_OK;
                aa_jwt_cleanup(&t);
            }
        } else if (key.scheme == AA_SIGKEY_HWK) {
            have_pub = aa_sigkey_validate(NULL, &key, &d) == AA_OK &&
                       aa_sigkey_hwk_key(NULL, &key, &pub, &d) == AA_OK;
        }
    }

    /* verification over the RFC 9421 base, with the dialect when it fails */
    if (!have_pub) {
        v_bad(&cx->verify, x, "PROFILE#2.3: the key comes from Signature-Key",
              "no usable key in Signature-Key: %s", d.msg[0] ? d.msg : "(unsupported scheme)");
    } else if (si != NULL && sg != NULL) {
        struct aa_httpsig_field *f = calloc(x->headers.n + 1, sizeof(*f));
        struct aa_httpsig_msg m;
        struct aa_httpsig_verify_opts vo = {0};
        struct aa_httpsig_result res;

        memset(&m, 0, sizeof(m));
        for (size_t i = 0; f != NULL && i < x->headers.n; i++) {
            f[i].name = aa_str_c(x->headers.v[i].name);
            f[i].value = (struct aa_str){x->headers.v[i].value, x->headers.v[i].value_len};
        }
        m.method = aa_str_c(x->method);
        m.scheme = aa_str_c("http");
        m.authority = aa_str_c(s->authority);
        m.target = aa_str_c(x->target);
        m.fields = f;
        m.n_fields = f ? x->headers.n : 0;
        m.body = (const uint8_t *)x->body;
        m.body_len = x->body_len;
        vo.check_time = false;
        vo.max_skew = -1;
        aa_httpsig_result_init(&res);
        aa_diag_clear(&d);
        if (f == NULL ||
            aa_httpsig_verify(&m, aa_str_c(si), aa_str_c(sg), NULL, &pub, &vo, &res, &d) != AA_OK) {
            struct aa_httpsig_diagnosis dg;
            struct aa_diag d2;
            aa_diag_clear(&d2);
            memset(&dg, 0, sizeof(dg));
            if (f != NULL &&
                aa_httpsig_diagnose(&m, aa_str_c(si), aa_str_c(sg), NULL, &pub, AA_ALG_NONE, &dg,
                                    &d2) == AA_OK &&
                dg.found && dg.base_flags == 0) {
                /* the bytes verify over the RFC 9421 base; only the
                 * encoding is wrong, which client.sig.encoding reports */
            } else {
                v_bad(&cx->verify, x,
                      dg.found ? "RFC 9421 §2.5: the base ends with the @signature-params line "
                                 "(which signs created)"
                               : "RFC 9421 §3.2",
                      "%s%s%s", d.msg, dg.found ? "; " : "", dg.found ? dg.text : "");
            }
        }
        aa_httpsig_result_cleanup(&res);
        free(f);
    }

    /* Content-Digest (PROFILE#2.8) */
    if (x->body_len > 0) {
        const char *cd = hget(x, "Content-Digest");
        cx->digest.n++;
        aa_diag_clear(&d);
        if (cd == NULL)
            v_bad(&cx->digest, x, "PROFILE#2.8: a body carries Content-Digest",
                  "no Content-Digest for %zu body bytes", x->body_len);
        else if (aa_httpsig_verify_digest(aa_str_c(cd), x->body, x->body_len,
                                          AA_DIGEST_SHA256 | AA_DIGEST_SHA512, NULL, &d) != AA_OK)
            v_bad(&cx->digest, x, "RFC 9530 §2", "Content-Digest %s: %s", cd, d.msg);
    }

    /* Nonce on POST (PROFILE#2.9, D-10) */
    if (strcmp(x->method, "POST") == 0) {
        const char *nc = hget(x, "Nonce");
        cx->nonce.n++;
        aa_diag_clear(&d);
        if (nc == NULL || aa_http_headers_count(&x->headers, "Nonce") != 1)
            v_bad(&cx->nonce, x, "D-10: clients send a fresh Nonce on every signed POST",
                  "%s Nonce line(s)", nc ? "several" : "no");
        else if (aa_nonce_check(NULL, nc, strlen(nc), &d) != AA_OK)
            v_bad(&cx->nonce, x, "PROFILE#2.9", "Nonce %s: %s", nc, d.msg);
        else if (have_in && strstr(si, "\"nonce\"") == NULL)
            v_bad(&cx->nonce, x, "PROFILE#2.9: a Nonce present MUST be covered", "nonce not in %s",
                  si);
        else {
            for (size_t i = 0; i < cx->n_nonces; i++)
                if (strcmp(cx->nonces[i], nc) == 0)
                    v_bad(&cx->nonce, x, "PROFILE#2.9: a nonce is fresh (replay cache)",
                          "Nonce %s sent twice", nc);
            if (cx->n_nonces < sizeof(cx->nonces) / sizeof(cx->nonces[0]))
                cx->nonces[cx->n_nonces++] = aa_strdup(nc);
        }
    }
    if (have_in)
        aa_httpsig_input_cleanup(&in);
    aa_sigkey_cleanup(&key);
    aa_jwk_cleanup(&pub);
}

/* ---- the happy path -------------------------------------------------------------------- */

static bool same_json(const char *a, size_t alen, const char *b, size_t blen)
{
    cJSON *x = NULL, *y = NULL;
    bool eq = false;

    if (aa_json_parse(a, alen, NULL, &x, NULL) == AA_OK &&
        aa_json_parse(b, blen, NULL, &y, NULL) == AA_OK)
        eq = aa_conf_json_equal(x, y, 0, NULL);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

/* The last 200 answer of the resource; NULL when none. */
static const struct aa_conf_rec_entry *final_200(const struct aa_conf_recording *r)
{
    for (size_t i = r->n; i > 0; i--)
        if (r->v[i - 1].status == 200 && path_is(&r->v[i - 1], "/data-auth"))
            return &r->v[i - 1];
    return NULL;
}

static bool fetched_ok(const struct world *w, char *actual, size_t cap)
{
    const struct aa_conf_rec_entry *f = final_200(&w->rec[S_RESOURCE]);

    if (w->run.killed) {
        aa_snprintf(actual, cap, "killed after %d s", CLIENT_DEADLINE_S);
        return false;
    }
    if (w->run.exit_code != 0) {
        aa_snprintf(actual, cap, "exit status %d", w->run.exit_code);
        return false;
    }
    if (f == NULL) {
        aa_snprintf(actual, cap, "exit 0, but the resource never answered 200");
        return false;
    }
    if (w->run.out == NULL ||
        !same_json(w->run.out, w->run.out_len, f->resp_body, f->resp_body_len)) {
        aa_snprintf(actual, cap, "exit 0, stdout is not the resource's body (%zu bytes)",
                    w->run.out_len);
        return false;
    }
    aa_snprintf(actual, cap, "exit 0, printed the 200 body (%zu bytes)", f->resp_body_len);
    return true;
}

static void judge_agent_token_request(struct world *w, struct verdict *v, char **agent_token)
{
    for (size_t i = 0; i < w->rec[S_AGENT].n; i++) {
        const struct aa_conf_rec_entry *x = &w->rec[S_AGENT].v[i];
        const char *ct = hget(x, "Content-Type");
        cJSON *o = NULL;
        const cJSON *sub, *jwk, *aud;
        struct aa_jwk k = {0};
        struct aa_diag d;

        if (!path_is(x, "/delegate/token") || strcmp(x->method, "POST") != 0)
            continue;
        v->n++;
        aa_diag_clear(&d);
        if (x->status == 200 && *agent_token == NULL)
            *agent_token = resp_member(x, "agent_token");
        if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
            (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
            v_bad(v, x, "PROFILE#6.1: Content-Type: application/json", "Content-Type %s",
                  ct ? ct : "(absent)");
        else if (aa_json_parse(x->body, x->body_len, NULL, &o, &d) != AA_OK || !cJSON_IsObject(o))
            v_bad(v, x, "PROFILE#6.1: the body is a JSON object", "%s", d.msg);
        else if (!cJSON_IsString(sub = cJSON_GetObjectItemCaseSensitive(o, "sub")) ||
                 sub->valuestring[0] == '\0' || strlen(sub->valuestring) > 255 * 4)
            v_bad(v, x, "PROFILE#6.1: sub is a string of 1-255 characters", "sub %s",
                  cJSON_IsString(sub) ? sub->valuestring : "missing or not a string");
        else if (!cJSON_IsObject(jwk = cJSON_GetObjectItemCaseSensitive(o, "cnf_jwk")) ||
                 aa_jwk_from_cjson(jwk, AA_JWK_PUBLIC_ONLY, &k, &d) != AA_OK ||
                 strcmp(k.crv, "Ed25519") != 0)
            v_bad(v, x, "PROFILE#6.1: cnf_jwk is a public Ed25519 JWK", "cnf_jwk: %s",
                  d.msg[0] ? d.msg : "not an Ed25519 key");
        else if ((aud = cJSON_GetObjectItemCaseSensitive(o, "aud")) != NULL &&
                 !cJSON_IsString(aud) && !cJSON_IsArray(aud))
            v_bad(v, x, "PROFILE#6.1: aud is a string or an array", "aud of another type");
        aa_jwk_cleanup(&k);
        cJSON_Delete(o);
    }
}

static void judge_flow(struct world *w, struct ctx *cx, struct verdict *skj, struct verdict *ch,
                       struct verdict *dg, bool first)
{
    char *agent_token = NULL, *rt = NULL, *at = NULL;
    bool got_challenge = false, asked = false, retried = false;

    (void)first;
    judge_agent_token_request(w, dg, &agent_token);
    /* the auth server: the token request carrying the challenge's RT */
    for (size_t i = 0; i < w->rec[S_RESOURCE].n; i++) {
        const struct aa_conf_rec_entry *x = &w->rec[S_RESOURCE].v[i];
        const char *aa = aa_http_headers_get(&x->resp_headers, "Agent-Auth");
        const char *p = aa ? strstr(aa, "resource_token=\"") : NULL;
        if (x->status == 401 && p != NULL && rt == NULL) {
            p += 16;
            rt = aa_strndup(p, strcspn(p, "\""));
            got_challenge = true;
        }
    }
    for (size_t i = 0; i < w->rec[S_AUTH].n; i++) {
        const struct aa_conf_rec_entry *x = &w->rec[S_AUTH].v[i];
        struct aa_form f;
        if (!path_is(x, "/agent/token") || strcmp(x->method, "POST") != 0)
            continue;
        aa_form_init(&f);
        if (aa_form_parse(x->body, x->body_len, 0, &f, NULL) == AA_OK &&
            aa_form_get(&f, "request_type") != NULL &&
            strcmp(aa_form_get(&f, "request_type"), "auth") == 0 && rt != NULL &&
            aa_form_get(&f, "resource_token") != NULL &&
            strcmp(aa_form_get(&f, "resource_token"), rt) == 0) {
            asked = true;
            if (aa_form_get(&f, "redirect_uri") == NULL)
                v_bad(ch, x, "PROFILE#6.3 D-18: redirect_uri is REQUIRED", "no redirect_uri");
            if (x->status == 200 && at == NULL)
                at = resp_member(x, "auth_token");
        }
        aa_form_cleanup(&f);
    }
    /* every signed request: the generic checks, and the token it carries */
    for (int si = 0; si < S_N; si++) {
        if (si == S_HOSTILE || si == S_AGENT || si == S_SINK)
            continue;
        for (size_t i = 0; i < w->rec[si].n; i++) {
            const struct aa_conf_rec_entry *x = &w->rec[si].v[i];
            char *tok;
            if (!is_signed(x))
                continue;
            judge_signed(cx, &w->s[si], x);
            skj->n++;
            tok = sk_token(x);
            if (tok == NULL)
                v_bad(skj, x, "PROFILE#7.6: a delegate signs with scheme=jwt", "Signature-Key %s",
                      hget(x, "Signature-Key"));
            else if ((agent_token == NULL || strcmp(tok, agent_token) != 0) &&
                     (at == NULL || strcmp(tok, at) != 0))
                v_bad(skj, x,
                      "PROFILE#7.6: the jwt is the agent token the agent server issued "
                      "(or the auth token the auth server issued)",
                      "a token that none of the servers issued in this run");
            if (si == S_RESOURCE && at != NULL && tok != NULL && strcmp(tok, at) == 0 &&
                x->status == 200)
                retried = true;
            free(tok);
        }
    }
    ch->n++;
    if (!got_challenge)
        v_bad(ch, NULL, "PROFILE#5", "the resource never answered with an auth-token challenge");
    else if (!asked)
        v_bad(ch, NULL, "PROFILE#6.3",
              "no POST /agent/token with request_type=auth and the challenge's resource_token");
    else if (at == NULL)
        v_bad(ch, NULL, "PROFILE#6.3", "the auth server issued no auth token");
    else if (!retried)
        v_bad(ch, NULL, "PROFILE#5: retry with scheme=jwt and the auth token",
              "the auth token was never presented to the resource");
    free(agent_token);
    free(rt);
    free(at);
}

/* ---- CL scenarios --------------------------------------------------------------------- */

static size_t count_path(const struct aa_conf_recording *r, const char *path)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += path_is(&r->v[i], path);
    return n;
}

static void exit_text(const struct world *w, char *buf, size_t cap)
{
    if (w->run.killed)
        aa_snprintf(buf, cap, "killed after %d s", CLIENT_DEADLINE_S);
    else if (w->run.exit_code < 0)
        aa_snprintf(buf, cap, "ended by signal %d", w->run.sig);
    else
        aa_snprintf(buf, cap, "exit %d", w->run.exit_code);
}

static void cl_token_check(struct world *w, const struct aa_check *c, const char *path,
                           const char *member)
{
    const struct aa_conf_recording *h = &w->rec[S_HOSTILE];
    char *tok = NULL, ex[64];

    for (size_t i = 0; i < h->n && tok == NULL; i++)
        if (path_is(&h->v[i], path) && h->v[i].status == 200)
            tok = resp_member(&h->v[i], member);
    exit_text(w, ex, sizeof(ex));
    if (tok == NULL)
        aa_check_fail(c, c->expect, "the client never asked for the token",
                      "the scenario needs the client to request %s (contract: README)", path);
    else if (presented(w, tok))
        aa_check_fail(c, c->expect, "the bad token was presented in Signature-Key",
                      "%s; the client must validate a token it is given", ex);
    else if (w->run.exit_code == 0)
        aa_check_fail(c, c->expect, ex,
                      "the token was not presented, but the command "
                      "reported success");
    else
        aa_check_pass(c, "token refused, %s", ex);
    free(tok);
}

/* ---- the case -------------------------------------------------------------------------- */

static char *default_command(void)
{
#ifdef AA_DELEGATE_BIN
    struct aa_buf b;
    struct stat st;
    if (stat(AA_DELEGATE_BIN, &st) != 0 || !(st.st_mode & S_IXUSR))
        return NULL;
    aa_buf_init(&b, 8192);
    aa_buf_adds(&b, "'");
    for (const char *p = AA_DELEGATE_BIN; *p; p++) {
        if (*p == '\'')
            aa_buf_adds(&b, "'\\''");
        else
            aa_buf_addc(&b, *p);
    }
    aa_buf_adds(&b, "' -q get \"$AAUTH_RESOURCE_URL\"");
    return b.err ? NULL : aa_buf_detach(&b, NULL);
#else
    return NULL;
#endif
}

#define ALL_CHECKS                                                                                 \
    &c_run, &c_dg_body, &c_labels, &c_label1, &c_enc, &c_comp, &c_order, &c_created, &c_verify,    \
        &c_sk_canon, &c_sk_jwt, &c_nonce, &c_digest, &c_challenge, &c_token_type, &c_cl01,         \
        &c_cl02, &c_cl03_cnf, &c_cl03_typ, &c_cl03_iss, &c_cl03_sub, &c_cl04, &c_cl05, &c_cl06

AA_CASE(client, scenarios, .title = "the delegate client under test, scenario by scenario",
        .instances = AA_INSTANCES("client-agent", "client-auth", "client-resource",
                                  "client-hostile"),
        .timeout = 13 * CLIENT_DEADLINE_S + 30, .checks = AA_CHECKS(ALL_CHECKS))
{
    static const struct aa_check *const all[] = {ALL_CHECKS, NULL};
    static const char *const names[S_N] = {"client-agent", "client-auth", "client-resource",
                                           "client-hostile", "client-sink"};
    const struct aa_conf_target *dg = aa_conf_target(AA_ROLE_DELEGATE);
    struct world w;
    struct ctx cx;
    struct verdict skj = {0}, ch = {0}, dgv = {0};
    char *owned_cmd = NULL, actual[256], ex[64];

    memset(&w, 0, sizeof(w));
    memset(&cx, 0, sizeof(cx));
    if (dg->under_test && dg->command != NULL) {
        w.cmd = dg->command;
    } else if ((owned_cmd = default_command()) != NULL) {
        w.cmd = owned_cmd;
    } else {
        for (size_t i = 0; all[i] != NULL; i++)
            aa_check_skip(all[i], "no --target-delegate, and the reference aauth-delegate is not "
                                  "built at its compile-time path: nothing to test");
        return;
    }
    w.s[S_SINK].name = names[S_SINK];
    for (int i = 0; i < S_SINK; i++) {
        const struct aa_conf_target *t = aa_conf_instance(names[i]);
        struct aa_diag d;
        w.s[i].name = names[i];
        w.s[i].id = t->id;
        aa_diag_clear(&d);
        if (!t->present || t->id == NULL ||
            aa_url_authority_of(t->id, w.s[i].authority, sizeof(w.s[i].authority), &d) != AA_OK) {
            for (size_t k = 0; all[k] != NULL; k++)
                aa_check_error(all[k], "%s is not available: %s", names[i],
                               t->unavailable ? t->unavailable : d.msg);
            free(owned_cmd);
            return;
        }
    }

    /* 1. the happy path, then the same with token_type in the token response */
    if (!scenario(&w, "happy", S_AGENT, S_RESOURCE, "forward", "off"))
        goto broken;
    if (fetched_ok(&w, actual, sizeof(actual)))
        aa_check_pass(&c_run, "%s", actual);
    else
        aa_check_fail(&c_run, c_run.expect, actual,
                      "the command must GET AAUTH_RESOURCE_URL as "
                      "a delegate and print the body (README)");
    judge_flow(&w, &cx, &skj, &ch, &dgv, true);
    v_record(&c_challenge, &ch, "challenge flows");

    if (!scenario(&w, "token-type", S_AGENT, S_RESOURCE, "token-type", "off"))
        goto broken;
    {
        struct verdict ch2 = {0};
        bool injected = false;
        for (size_t i = 0; i < w.rec[S_AUTH].n; i++)
            if (w.rec[S_AUTH].v[i].resp_body != NULL &&
                strstr(w.rec[S_AUTH].v[i].resp_body, "\"token_type\"") != NULL)
                injected = true;
        judge_flow(&w, &cx, &skj, &ch2, &dgv, false);
        if (!injected)
            aa_check_fail(&c_token_type, c_token_type.expect, "no token response was received",
                          "the client never reached the auth server");
        else if (fetched_ok(&w, actual, sizeof(actual)) && !ch2.bad)
            aa_check_pass(&c_token_type, "%s with token_type \"Bearer\" in the token response",
                          actual);
        else
            aa_check_fail(&c_token_type, c_token_type.expect, ch2.bad ? ch2.actual : actual,
                          "D-26: clients tolerate and ignore token_type");
    }
    if (aa_conf_instance_mode(w.s[S_AUTH].name, "forward", NULL) != AA_OK)
        aa_conf_note("*** could not reset %s ***", w.s[S_AUTH].name);
    v_record(&c_dg_body, &dgv, "agent token requests");
    v_record(&c_labels, &cx.labels, "signed requests");
    if (cx.label1.bad)
        aa_check_info(&c_label1, cx.label1.actual, "%s", cx.label1.hint);
    else
        v_record(&c_label1, &cx.label1, "signed requests");
    v_record(&c_enc, &cx.enc, "signed requests");
    v_record(&c_comp, &cx.comp, "signed requests");
    v_record(&c_order, &cx.order, "signed requests");
    v_record(&c_created, &cx.created, "signed requests");
    v_record(&c_verify, &cx.verify, "signed requests");
    v_record(&c_sk_canon, &cx.canon, "signed requests");
    v_record(&c_sk_jwt, &skj, "signed requests");
    v_record(&c_nonce, &cx.nonce, "signed POSTs");
    v_record(&c_digest, &cx.digest, "requests with a body");

    /* 2. CL-01: an http auth_server that is not loopback */
    if (!scenario(&w, "cl01", S_AGENT, S_HOSTILE, "forward", "cl01-insecure-as"))
        goto broken;
    {
        /* http://0.0.0.0:PORT reaches this host: a client that ignores
         * the rule lands on the sink */
        size_t to_sink = w.rec[S_SINK].n;
        exit_text(&w, ex, sizeof(ex));
        if (count_path(&w.rec[S_HOSTILE], "/data-auth") == 0)
            aa_check_fail(&c_cl01, c_cl01.expect, "the resource was never requested",
                          "the client did not fetch AAUTH_RESOURCE_URL");
        else if (to_sink > 0 || w.run.exit_code == 0)
            aa_check_fail(&c_cl01, c_cl01.expect, ex,
                          "PROFILE#1 D-1: http is accepted only for 127.0.0.1, ::1, localhost");
        else
            aa_check_pass(&c_cl01, "refused the insecure auth server, %s", ex);
    }

    /* 3. CL-02: a malformed challenge */
    if (!scenario(&w, "cl02", S_AGENT, S_HOSTILE, "forward", "cl02-malformed"))
        goto broken;
    {
        size_t n = count_path(&w.rec[S_HOSTILE], "/data-auth");
        exit_text(&w, ex, sizeof(ex));
        if (n == 0)
            aa_check_fail(&c_cl02, c_cl02.expect, "the resource was never requested",
                          "the client did not fetch AAUTH_RESOURCE_URL");
        else if (n > 1 || w.run.exit_code == 0)
            aa_check_fail(&c_cl02, c_cl02.expect, "retried or reported success",
                          "%zu requests after a malformed Agent-Auth, %s", n, ex);
        else
            aa_check_pass(&c_cl02, "one request, then an error (%s)", ex);
    }

    /* 4. CL-03: agent tokens that are wrong in one way each */
    {
        static const struct {
            const char *mode;
            const struct aa_check *c;
        } cl03[] = {{"cl03-cnf", &c_cl03_cnf},
                    {"cl03-typ", &c_cl03_typ},
                    {"cl03-iss", &c_cl03_iss},
                    {"cl03-sub", &c_cl03_sub}};
        for (size_t i = 0; i < sizeof(cl03) / sizeof(cl03[0]); i++) {
            if (!scenario(&w, cl03[i].mode, S_HOSTILE, S_HOSTILE, "forward", cl03[i].mode))
                goto broken;
            cl_token_check(&w, cl03[i].c, "/delegate/token", "agent_token");
        }
    }

    /* 5. CL-04: an auth token bound to another key */
    if (!scenario(&w, "cl04", S_AGENT, S_HOSTILE, "forward", "cl04-cnf"))
        goto broken;
    cl_token_check(&w, &c_cl04, "/agent/token", "auth_token");

    /* 6. CL-05: an endless body */
    if (!scenario(&w, "cl05", S_AGENT, S_HOSTILE, "forward", "cl05-endless"))
        goto broken;
    {
        uint64_t streamed = 0;
        for (size_t i = 0; i < w.rec[S_HOSTILE].n; i++)
            if (w.rec[S_HOSTILE].v[i].resp_streamed > streamed)
                streamed = w.rec[S_HOSTILE].v[i].resp_streamed;
        exit_text(&w, ex, sizeof(ex));
        if (count_path(&w.rec[S_HOSTILE], "/data-auth") == 0)
            aa_check_fail(&c_cl05, c_cl05.expect, "the resource was never requested",
                          "the client did not fetch AAUTH_RESOURCE_URL");
        else if (w.run.killed || w.run.exit_code == 0 || streamed >= CL05_UNBOUNDED)
            aa_check_fail(&c_cl05, c_cl05.expect, ex, "%llu bytes were read from an endless body%s",
                          (unsigned long long)streamed,
                          streamed >= CL05_UNBOUNDED ? " (the server had to stop it)" : "");
        else
            aa_check_pass(&c_cl05, "stopped after about %llu bytes, %s",
                          (unsigned long long)streamed, ex);
    }

    /* 7. CL-06: the auth server's metadata answers with a redirect */
    if (!scenario(&w, "cl06", S_AGENT, S_HOSTILE, "forward", "cl06-redirect"))
        goto broken;
    {
        size_t md = count_path(&w.rec[S_HOSTILE], "/.well-known/aauth-issuer");
        size_t after = count_path(&w.rec[S_HOSTILE], "/agent/token");
        exit_text(&w, ex, sizeof(ex));
        if (md == 0)
            aa_check_fail(&c_cl06, c_cl06.expect, "the auth server metadata was never fetched",
                          "the client did not follow the auth-token challenge");
        else if (after > 0 || w.rec[S_SINK].n > 0 || w.run.exit_code == 0)
            aa_check_fail(&c_cl06, c_cl06.expect, ex, "PROFILE#3: redirects are not followed");
        else
            aa_check_pass(&c_cl06, "redirect not followed, %s", ex);
    }
    if (aa_conf_instance_mode(w.s[S_HOSTILE].name, "off", NULL) != AA_OK)
        aa_conf_note("*** could not reset %s ***", w.s[S_HOSTILE].name);
    goto out;

broken:
    for (size_t i = 0; all[i] != NULL; i++) {
        bool rec = false;
        aa_check_outcome(all[i], &rec);
        if (!rec)
            aa_check_error(all[i], "harness: %s", w.broken);
    }
out:
    scenario_clear(&w);
    for (size_t i = 0; i < cx.n_nonces; i++)
        free(cx.nonces[i]);
    free(owned_cmd);
}
