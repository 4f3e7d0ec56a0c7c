/*
 * control: the channel from the case processes to the runner. Cases run
 * in their own processes (Criterion); the embedded servers live in the
 * runner. A loopback-only HTTP server in the runner answers:
 *
 *   GET  /v1/hits?name=N&path=P[&case=S/C]   {"hits":n}  (aa_ref_hits)
 *   POST /v1/clock?name=N&case=S/C&seconds=K {"now":t}   (time travel)
 *   GET  /v1/requests?name=N&since=K         {"next":..,"entries":[..]}
 *   POST /v1/mode?name=N&mode=M              {"mode":M}
 *   POST /v1/consent?name=consent&case=S/C&ask=A&url=U  {"line":L}
 *        --consent manual: the runner owns the terminal (cases have no
 *        stdin); it prints U on stderr and reads the person's answer from
 *        /dev/tty (or, for its own tests, from $AA_CONFORMANCE_CONSENT_INPUT),
 *        one prompt at a time; 404 when nothing was entered
 *
 * Every request must carry "Authorization: Bearer <token>"; the token is
 * 256 random bits written only into the run's configuration file, which
 * lives in the 0700 temporary directory, so no other local user or
 * process can drive the runner's servers.
 *
 * Design choice: plain HTTP on 127.0.0.1 with the harness's own server
 * and client, so a case needs nothing but aa_http to reach it, and a
 * failure is an ordinary transport error (a harness fault: ERROR).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aa_client.h"
#include "aa_ref.h"
#include "b64/aa_b64.h"
#include "http/aa_http.h"
#include "json/aa_json.h"
#include "jwk/aa_jwk.h"
#include "runner_int.h"
#include "server/aa_server.h"

#define CONTROL_TOKEN_BYTES 32
#define CONTROL_MAX_ADVANCE ((int64_t)10 * 365 * 86400)

struct aa_control {
    struct aa_server *srv;
    struct aa_embed *emb;
    char token[64];
    pthread_mutex_t mu; /* serialises clock moves */
    /* manual consent: one prompt at a time on the runner's terminal */
    bool consent_manual;
    pthread_mutex_t consent_mu;
    int consent_fd;  /* the person's input, opened at the first prompt; -1 */
    int stop_fds[2]; /* written by aa_control_stop: a waiting prompt gives up */
};

static void reply(struct aa_server_response *resp, cJSON *o);

/* ---- manual consent ------------------------------------------------------------ */

bool aa_consent_can_ask(char *why, size_t cap)
{
    const char *hook = getenv(AA_CONF_CONSENT_INPUT_ENV);
    int fd;

    if (hook != NULL && *hook != '\0')
        return true; /* the runner's tests: answers come from that file */
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return true;
    }
    aa_snprintf(why, cap,
                "--consent manual needs a terminal to ask a person (the runner reads the answer "
                "from /dev/tty: %s); run aauth-conformance from a terminal, or use --consent "
                "auto",
                strerror(errno));
    return false;
}

static int consent_open(struct aa_control *c)
{
    const char *hook = getenv(AA_CONF_CONSENT_INPUT_ENV);

    if (c->consent_fd >= 0)
        return c->consent_fd;
    /* O_NONBLOCK: opening a FIFO without a writer yet must not block; the
     * reads below wait in poll(), which aa_control_stop can interrupt */
    c->consent_fd = open(hook != NULL && *hook != '\0' ? hook : "/dev/tty",
                         O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    return c->consent_fd;
}

/* One line of at most |cap|-1 bytes into |line|. 1: a line; 0: end of
 * input or stopped before a line; -1: the line was longer than |cap|-1. */
static int consent_read_line(struct aa_control *c, char *line, size_t cap)
{
    size_t n = 0;
    bool too_long = false;

    for (;;) {
        struct pollfd p[2];
        char ch;
        ssize_t k;

        p[0].fd = c->consent_fd;
        p[0].events = POLLIN;
        p[1].fd = c->stop_fds[0];
        p[1].events = POLLIN;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        if (p[1].revents != 0)
            return 0; /* the runner is stopping */
        k = read(c->consent_fd, &ch, 1);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0) {
            line[n] = '\0';
            return too_long ? -1 : n > 0 ? 1 : 0;
        }
        if (ch == '\n') {
            line[n] = '\0';
            return too_long ? -1 : 1;
        }
        if (n + 1 < cap)
            line[n++] = ch;
        else
            too_long = true;
    }
}

static void consent_handler(struct aa_control *c, const struct aa_form *f,
                            struct aa_server_response *resp)
{
    const char *url = aa_form_get(f, "url"), *ask = aa_form_get(f, "ask"),
               *ckey = aa_form_get(f, "case");
    char *line = NULL;
    size_t n;
    int got;
    cJSON *o;

    if (!c->consent_manual || url == NULL) {
        aa_server_response_error(resp, 404, "invalid_request",
                                 "manual consent is not enabled in this run");
        return;
    }
    if ((line = calloc(1, AA_CLIENT_CODE_MAX)) == NULL) {
        aa_server_response_error(resp, 500, "server_error", "out of memory");
        return;
    }
    pthread_mutex_lock(&c->consent_mu);
    if (consent_open(c) < 0) {
        pthread_mutex_unlock(&c->consent_mu);
        aa_server_response_error(resp, 404, "invalid_request", "no terminal to ask: %s",
                                 strerror(errno));
        free(line);
        return;
    }
    fprintf(stderr,
            "\naauth-conformance: consent needed (case %s). Open this URL in a browser, sign "
            "in and %s:\n\n  %s\n\nThen paste the code, or the whole URL you were redirected "
            "to, and press Enter:\n> ",
            ckey != NULL ? ckey : "?", ask != NULL ? ask : "decide", url);
    fflush(stderr);
    got = consent_read_line(c, line, AA_CLIENT_CODE_MAX);
    pthread_mutex_unlock(&c->consent_mu);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        line[--n] = '\0';
    if (got < 0) {
        fputs("\naauth-conformance: that answer is too long; the case goes on without it\n",
              stderr);
        aa_server_response_error(resp, 400, "invalid_request", "the answer is longer than %d bytes",
                                 AA_CLIENT_CODE_MAX - 1);
    } else if (got == 0 || n == 0) {
        fputs(got == 0 ? "\naauth-conformance: nothing entered; the case goes on without consent\n"
                       : "aauth-conformance: nothing entered; the case goes on without consent\n",
              stderr);
        aa_server_response_error(resp, 404, "invalid_request", "nothing was entered");
    } else {
        o = cJSON_CreateObject();
        if (o != NULL)
            cJSON_AddStringToObject(o, "line", line);
        reply(resp, o);
    }
    aa_cleanse(line, AA_CLIENT_CODE_MAX);
    free(line);
}

static bool authorized(const struct aa_control *c, const struct aa_server_request *req)
{
    const char *h = aa_server_request_header(req, "Authorization");
    size_t n = strlen(c->token);

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != n)
        return false;
    return aa_ct_equal(h + 7, c->token, n);
}

static int form_of(const struct aa_server_request *req, struct aa_form *f)
{
    if (req->query == NULL)
        return AA_OK;
    return aa_form_parse(req->query, req->query_len, AA_FORM_REJECT_DUPLICATES, f, NULL);
}

static void reply(struct aa_server_response *resp, cJSON *o)
{
    char *t = o ? cJSON_PrintUnformatted(o) : NULL;

    if (t == NULL)
        aa_server_response_error(resp, 500, "server_error", "out of memory");
    else
        aa_server_response_json(resp, 200, t);
    free(t);
    cJSON_Delete(o);
}

static void handler(void *ctx, const struct aa_server_request *req, struct aa_server_response *resp)
{
    struct aa_control *c = ctx;
    struct aa_form f;
    const char *name, *ckey;

    aa_form_init(&f);
    if (!authorized(c, req)) {
        aa_server_response_error(resp, 401, "invalid_request", "control token required");
        return;
    }
    if (form_of(req, &f) != AA_OK || (name = aa_form_get(&f, "name")) == NULL) {
        aa_server_response_error(resp, 400, "invalid_request", "name is required");
        goto out;
    }
    ckey = aa_form_get(&f, "case");
    if (aa_server_request_path_is(req, "/v1/hits") && strcmp(req->method, "GET") == 0) {
        struct aa_ref_server *s = aa_embed_server(c->emb, name, ckey);
        const char *path = aa_form_get(&f, "path");
        cJSON *o;
        if (s == NULL || path == NULL) {
            aa_server_response_error(resp, 404, "invalid_request", "%s is not embedded", name);
            goto out;
        }
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "hits", (double)aa_ref_hits(s, path));
        reply(resp, o);
    } else if (aa_server_request_path_is(req, "/v1/clock") && strcmp(req->method, "POST") == 0) {
        struct aa_ref_clock *clk = aa_embed_clock(c->emb, name, ckey);
        const char *sv = aa_form_get(&f, "seconds");
        int64_t secs;
        cJSON *o;
        if (clk == NULL) {
            aa_server_response_error(resp, 404, "invalid_request",
                                     "%s has no clock of its own for this case", name);
            goto out;
        }
        if (sv == NULL || aa_parse_i64(sv, strlen(sv), &secs) != AA_OK || secs <= 0 ||
            secs > CONTROL_MAX_ADVANCE) {
            aa_server_response_error(resp, 400, "invalid_request", "seconds must be 1..%lld",
                                     (long long)CONTROL_MAX_ADVANCE);
            goto out;
        }
        pthread_mutex_lock(&c->mu);
        aa_ref_clock_advance(clk, secs);
        pthread_mutex_unlock(&c->mu);
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "now", (double)aa_ref_clock_now(clk));
        reply(resp, o);
    } else if (aa_server_request_path_is(req, "/v1/requests") && strcmp(req->method, "GET") == 0) {
        struct aa_rec *r = aa_embed_recorder(c->emb, name);
        const char *sv = aa_form_get(&f, "since");
        int64_t since = 0;
        if (r == NULL) {
            aa_server_response_error(resp, 404, "invalid_request", "%s records nothing", name);
            goto out;
        }
        if (sv != NULL && (aa_parse_i64(sv, strlen(sv), &since) != AA_OK || since < 0)) {
            aa_server_response_error(resp, 400, "invalid_request", "since must be >= 0");
            goto out;
        }
        reply(resp, aa_rec_json(r, (uint64_t)since));
    } else if (aa_server_request_path_is(req, "/v1/consent") && strcmp(req->method, "POST") == 0) {
        consent_handler(c, &f, resp);
    } else if (aa_server_request_path_is(req, "/v1/mode") && strcmp(req->method, "POST") == 0) {
        struct aa_rec *r = aa_embed_recorder(c->emb, name);
        const char *mode = aa_form_get(&f, "mode");
        struct aa_diag d;
        cJSON *o;
        aa_diag_clear(&d);
        if (r == NULL || mode == NULL) {
            aa_server_response_error(resp, 404, "invalid_request", "%s has no modes", name);
            goto out;
        }
        if (aa_rec_set_mode(r, mode, &d) != AA_OK) {
            aa_server_response_error(resp, 400, "invalid_request", "%s", d.msg);
            goto out;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "mode", mode);
        reply(resp, o);
    } else {
        aa_server_response_not_found(resp, req);
    }
out:
    aa_form_cleanup(&f);
}

int aa_control_start(struct aa_embed *e, struct aa_rconf *conf, struct aa_control **out,
                     struct aa_diag *d)
{
    struct aa_server_opts so = {0};
    struct aa_control *c = calloc(1, sizeof(*c));
    uint8_t raw[CONTROL_TOKEN_BYTES];
    size_t n = 0;
    int rc;

    *out = NULL;
    if (c == NULL)
        return aa_fail(d, AA_E_NOMEM, "README#internals", "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->consent_mu, NULL);
    c->consent_fd = -1;
    c->stop_fds[0] = c->stop_fds[1] = -1;
    c->consent_manual = conf->consent_manual;
    c->emb = e;
    if (pipe2(c->stop_fds, O_CLOEXEC) != 0) {
        c->stop_fds[0] = c->stop_fds[1] = -1;
        aa_control_stop(c);
        return aa_fail(d, AA_E_IO, "README#internals", "control channel: pipe: %s",
                       strerror(errno));
    }
    if (aa_random(raw, sizeof(raw)) != AA_OK ||
        aa_b64_encode(raw, sizeof(raw), AA_B64_URL, false, c->token, sizeof(c->token), &n) !=
            AA_OK) {
        aa_cleanse(raw, sizeof(raw));
        aa_control_stop(c);
        return aa_fail(d, AA_E_INTERNAL, "README#internals", "control channel: no randomness");
    }
    aa_cleanse(raw, sizeof(raw));
    so.bind_addr = "127.0.0.1";
    so.port = 0;
    so.threads = 2;
    if (conf->consent_manual) {
        /* a prompt holds its thread until the person answers: one per
         * case that may wait, plus the other calls */
        long j = conf->jobs > 0 ? conf->jobs : sysconf(_SC_NPROCESSORS_ONLN);
        so.threads = (unsigned)(j < 1 ? 1 : j > 60 ? 60 : j) + 2;
    }
    so.handler = handler;
    so.ctx = c;
    if ((rc = aa_server_start(&so, &c->srv, d)) != AA_OK) {
        aa_control_stop(c);
        return rc;
    }
    free(conf->control_url);
    free(conf->control_token);
    conf->control_url = aa_strdup(aa_server_origin(c->srv));
    conf->control_token = aa_strdup(c->token);
    *out = c;
    return AA_OK;
}

void aa_control_stop(struct aa_control *c)
{
    if (c == NULL)
        return;
    if (c->stop_fds[1] >= 0 && write(c->stop_fds[1], "x", 1) < 0)
        fputs("aauth-conformance: cannot interrupt a consent prompt\n", stderr);
    aa_server_stop(c->srv);
    aa_cleanse(c->token, sizeof(c->token));
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->consent_mu);
    if (c->consent_fd >= 0)
        close(c->consent_fd);
    if (c->stop_fds[0] >= 0)
        close(c->stop_fds[0]);
    if (c->stop_fds[1] >= 0)
        close(c->stop_fds[1]);
    free(c);
}

int aa_control_call(const struct aa_rconf *conf, const char *method, const char *path_query,
                    cJSON **out, struct aa_diag *d)
{
    return aa_control_call_wait(conf, method, path_query, 10000, out, d);
}

int aa_control_call_wait(const struct aa_rconf *conf, const char *method, const char *path_query,
                         long timeout_ms, cJSON **out, struct aa_diag *d)
{
    struct aa_http_client_opts co = {0};
    struct aa_http_client *hc;
    struct aa_http_request req = {0};
    struct aa_http_response resp;
    struct aa_http_headers h;
    struct aa_buf url, auth;
    struct aa_json_opts jo = {0};
    int rc;

    *out = NULL;
    if (conf->control_url == NULL || conf->control_token == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "README#internals", "no control channel in this run");
    co.loopback_only = true;
    co.max_body = (size_t)64 * 1024 * 1024;
    co.timeout_ms = timeout_ms;
    aa_http_headers_init(&h);
    aa_http_response_init(&resp);
    aa_buf_init(&url, 16384);
    aa_buf_init(&auth, 256);
    aa_buf_printf(&url, "%s%s", conf->control_url, path_query);
    aa_buf_printf(&auth, "Bearer %s", conf->control_token);
    if (url.err || auth.err || aa_http_headers_add(&h, "Authorization", auth.p) != AA_OK ||
        (hc = aa_http_client_new(&co)) == NULL) {
        rc = aa_fail(d, AA_E_NOMEM, "README#internals", "control channel: out of memory");
        goto out;
    }
    req.method = method;
    req.url = url.p;
    req.headers = &h;
    rc = aa_http_send(hc, &req, &resp, d);
    aa_http_client_free(hc);
    if (rc != AA_OK)
        goto out;
    if (resp.status == 404) {
        rc = aa_fail(d, AA_E_NOTFOUND, "README#internals", "control channel: %.*s",
                     (int)(resp.body_len > 300 ? 300 : resp.body_len), resp.body);
        goto out;
    }
    if (resp.status != 200) {
        rc = aa_fail(d, AA_E_INVAL, "README#internals", "control channel: %ld %.*s", resp.status,
                     (int)(resp.body_len > 300 ? 300 : resp.body_len), resp.body);
        goto out;
    }
    jo.max_len = co.max_body;
    if (aa_json_parse(resp.body, resp.body_len, &jo, out, d) != AA_OK) {
        rc = aa_fail(d, AA_E_INTERNAL, "README#internals", "control channel: not JSON");
        goto out;
    }
    rc = AA_OK;
out:
    if (auth.p != NULL)
        aa_cleanse(auth.p, auth.len);
    aa_buf_free(&auth);
    aa_buf_free(&url);
    aa_http_headers_cleanup(&h);
    aa_http_response_cleanup(&resp);
    return rc;
}
