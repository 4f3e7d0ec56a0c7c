/*
 * aa_conf_hostile: a tiny third-party server that runs one command against
 * itself:
 *
 *   aa_conf_hostile MODE -- COMMAND [ARGS...]
 *
 * As an agent server it only publishes metadata and a JWKS - either
 * conforming ("good") or broken on purpose ("bad"). As a resource (the
 * quirk modes) it answers GET/POST /data-hwk for hwk-signed requests, but
 * verifies them with one known implementation deviation each, so the
 * runner's quirk probes (quirks.c, docs/quirks.md) can be shown to name it:
 *   legacy-base     accepts only a base without @signature-params (seed)
 *   sig-base64url   accepts only a base64url (unpadded) Signature
 *   host-authority  takes @authority from Host, behind an emulated proxy
 *                   that rewrites Host 127.0.0.1:P to localhost:P
 *   window-10s      accepts created only within 10 s of its clock
 *   strict          the profile's rules (a control: everything passes)
 *
 * Every "{URL}" in ARGS is replaced by the server's origin
 * (http://127.0.0.1:PORT). The exit status is the command's, or 125 when
 * the server or the command cannot be started (126/127 from the shell
 * conventions are left to the command).
 *
 * "bad" breaks PROFILE#3 twice: the "agent" member names another origin
 * (MD-01) and the JWKS publishes the private "d" (MD-02), so the
 * conformance runner must report metadata.agent.identifier and
 * metadata.agent-jwks.public-only as FAIL. "good" is the same document done
 * right, so the same runner must pass it: the tests prove both directions
 * against an implementation that is not the harness's reference.
 *
 * Design choice: the server is listening before the command starts, so
 * the caller never waits or polls for readiness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aauth/aa_sigkey.h"
#include "b64/aa_b64.h"
#include "core/aa_core.h"
#include "http/aa_http.h"
#include "httpsig/aa_httpsig.h"
#include "jwk/aa_jwk.h"
#include "server/aa_server.h"

/* RFC 8037 A.2 public key; A.1's private half "d" for the bad JWKS. */
#define X_RFC8037 "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define D_RFC8037 "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"

enum mode { M_GOOD = 0, M_BAD, M_LEGACY, M_B64URL, M_HOST, M_WINDOW, M_STRICT };

static const char *const mode_names[] = {
    "good", "bad", "legacy-base", "sig-base64url", "host-authority", "window-10s", "strict"};

struct hostile {
    bool bad;
    enum mode mode;
    char origin[128];
};

/* The Signature member's text is valid base64url without padding (an
 * implementation that decodes it as base64url accepts it, whether or not
 * the random bytes happened to produce a '-' or '_'). */
static bool url_unpadded(const char *sig)
{
    const char *a = strchr(sig, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    unsigned cls;

    if (b == NULL)
        return false;
    cls = aa_b64_classify(a + 1, (size_t)(b - a - 1));
    return (cls & AA_B64C_URL_UNPADDED) != 0 && memchr(a + 1, '=', (size_t)(b - a - 1)) == NULL;
}

/* The hwk-signed request verified the way |h->mode| deviates. */
static bool verify_quirky(const struct hostile *h, const struct aa_server_request *req, char *why,
                          size_t cap)
{
    const char *si = aa_server_request_header(req, "Signature-Input");
    const char *sg = aa_server_request_header(req, "Signature");
    const char *sk = aa_server_request_header(req, "Signature-Key");
    struct aa_httpsig_field f[64];
    struct aa_httpsig_msg m;
    struct aa_sigkey key;
    struct aa_jwk pub = {0};
    struct aa_diag d;
    char authority[AA_URL_AUTHORITY_MAX];
    const char *host = aa_server_request_header(req, "Host");
    bool ok = false;

    memset(&m, 0, sizeof(m));
    memset(&key, 0, sizeof(key));
    aa_diag_clear(&d);
    if (si == NULL || sg == NULL || sk == NULL || req->n_headers > 64) {
        aa_snprintf(why, cap, "no signature");
        return false;
    }
    if (aa_sigkey_parse(NULL, sk, strlen(sk), &key, &d) != AA_OK ||
        aa_sigkey_validate(NULL, &key, &d) != AA_OK || key.scheme != AA_SIGKEY_HWK ||
        aa_sigkey_hwk_key(NULL, &key, &pub, &d) != AA_OK) {
        aa_snprintf(why, cap, "Signature-Key: %s", d.msg[0] ? d.msg : "not hwk");
        goto out;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        f[i].name = aa_str_c(req->headers[i].name);
        f[i].value = (struct aa_str){req->headers[i].value, req->headers[i].value_len};
    }
    /* the canonical authority is the listen origin's */
    aa_snprintf(authority, sizeof(authority), "%s", h->origin + 7);
    if (h->mode == M_HOST && host != NULL) {
        /* emulated proxy: Host 127.0.0.1:P arrives as localhost:P, and this
         * server (wrongly) derives @authority from it */
        if (strncmp(host, "127.0.0.1:", 10) == 0)
            aa_snprintf(authority, sizeof(authority), "localhost:%s", host + 10);
        else
            aa_snprintf(authority, sizeof(authority), "%s", host);
    }
    m.method = aa_str_c(req->method);
    m.scheme = aa_str_c("http");
    m.authority = aa_str_c(authority);
    m.target = (struct aa_str){req->target, req->target_len};
    m.fields = f;
    m.n_fields = req->n_headers;
    m.body = (const uint8_t *)req->body;
    m.body_len = req->body_len;
    if (h->mode == M_LEGACY || h->mode == M_B64URL) {
        struct aa_httpsig_diagnosis dg;
        memset(&dg, 0, sizeof(dg));
        if (aa_httpsig_diagnose(&m, aa_str_c(si), aa_str_c(sg), NULL, &pub, AA_ALG_NONE, &dg, &d) ==
                AA_OK &&
            dg.found)
            ok = h->mode == M_LEGACY ? dg.base_flags == AA_HTTPSIG_BASE_LEGACY &&
                                           dg.enc == AA_HTTPSIG_ENC_STD_PADDED
                                     : dg.base_flags == 0 && url_unpadded(sg);
        aa_snprintf(why, cap, "%s", ok ? "" : (dg.found ? dg.text : d.msg));
    } else {
        struct aa_httpsig_verify_opts vo = {0};
        struct aa_httpsig_result res;
        vo.now = (int64_t)time(NULL);
        vo.check_time = true;
        vo.require_created = true;
        vo.max_skew = h->mode == M_WINDOW ? 10 : 60;
        aa_httpsig_result_init(&res);
        ok = aa_httpsig_verify(&m, aa_str_c(si), aa_str_c(sg), NULL, &pub, &vo, &res, &d) == AA_OK;
        aa_httpsig_result_cleanup(&res);
        aa_snprintf(why, cap, "%s", ok ? "" : d.msg);
    }
out:
    aa_sigkey_cleanup(&key);
    aa_jwk_cleanup(&pub);
    return ok;
}

static void resource(const struct hostile *h, const struct aa_server_request *req,
                     struct aa_server_response *resp)
{
    char why[512], body[256];

    if (!verify_quirky(h, req, why, sizeof(why))) {
        aa_server_response_error(resp, 401, "invalid_signature", "%s", why);
        aa_server_response_header(resp, "Agent-Auth", "httpsig");
        return;
    }
    aa_snprintf(body, sizeof(body),
                "{\"message\":\"Access granted\",\"data\":\"This is protected data\","
                "\"scheme\":\"hwk\",\"method\":\"%s\"}",
                strcmp(req->method, "POST") == 0 ? "POST" : "GET");
    aa_server_response_json(resp, 200, body);
}

static void handler(void *ctx, const struct aa_server_request *req, struct aa_server_response *resp)
{
    const struct hostile *h = ctx;
    char body[1024];

    if (h->mode >= M_LEGACY) {
        if (aa_server_request_path_is(req, "/data-hwk"))
            resource(h, req, resp);
        else
            aa_server_response_not_found(resp, req);
        return;
    }
    if (aa_server_request_path_is(req, "/.well-known/aauth-agent")) {
        aa_snprintf(body, sizeof(body), "{\"agent\":\"%s\",\"jwks_uri\":\"%s/jwks.json\"}",
                    h->bad ? "https://impostor.example" : h->origin, h->origin);
        aa_server_response_json(resp, 200, body);
    } else if (aa_server_request_path_is(req, "/jwks.json")) {
        if (h->bad)
            aa_snprintf(body, sizeof(body),
                        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" X_RFC8037
                        "\",\"d\":\"" D_RFC8037 "\",\"kid\":\"key-1\"}]}");
        else
            aa_snprintf(body, sizeof(body),
                        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" X_RFC8037
                        "\",\"kid\":\"key-1\"}]}");
        aa_server_response_json(resp, 200, body);
    } else {
        aa_server_response_not_found(resp, req);
    }
}

/* Copy of |arg| with every "{URL}" replaced by |url|. */
static char *substitute(const char *arg, const char *url)
{
    struct aa_buf b;
    const char *p;

    aa_buf_init(&b, 64 * 1024);
    while ((p = strstr(arg, "{URL}")) != NULL) {
        aa_buf_add(&b, arg, (size_t)(p - arg));
        aa_buf_adds(&b, url);
        arg = p + 5;
    }
    aa_buf_adds(&b, arg);
    return b.err ? NULL : aa_buf_detach(&b, NULL);
}

int main(int argc, char **argv)
{
    struct aa_server_opts o = {0};
    struct aa_server *srv = NULL;
    struct hostile h = {0};
    struct aa_diag d;
    char **cargv = NULL;
    int first, status = 0, ex = 125, n;
    pid_t pid;

    h.mode = (enum mode) - 1;
    for (size_t i = 0; argc >= 2 && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (strcmp(argv[1], mode_names[i]) == 0)
            h.mode = (enum mode)i;
    if (argc < 4 || (int)h.mode < 0 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr,
                "usage: %s good|bad|legacy-base|sig-base64url|host-authority|window-10s|strict "
                "-- COMMAND [ARGS...]  ({URL} = this server)\n",
                argv[0]);
        return 125;
    }
    h.bad = h.mode == M_BAD;
    first = 3;
    aa_diag_clear(&d);
    o.handler = handler;
    o.ctx = &h;
    if (aa_server_start(&o, &srv, &d) != AA_OK) {
        fprintf(stderr, "aa_conf_hostile: %s\n", d.msg);
        return 125;
    }
    aa_snprintf(h.origin, sizeof(h.origin), "%s", aa_server_origin(srv));

    n = argc - first;
    if ((cargv = calloc((size_t)n + 1, sizeof(*cargv))) == NULL)
        goto out;
    for (int i = 0; i < n; i++)
        if ((cargv[i] = substitute(argv[first + i], h.origin)) == NULL)
            goto out;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("aa_conf_hostile: fork");
        goto out;
    }
    if (pid == 0) {
        execvp(cargv[0], cargv);
        perror("aa_conf_hostile: exec");
        _exit(125);
    }
    if (waitpid(pid, &status, 0) < 0) {
        perror("aa_conf_hostile: waitpid");
        goto out;
    }
    ex = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
    for (int i = 0; cargv != NULL && i < n; i++)
        free(cargv[i]);
    free(cargv);
    aa_server_stop(srv);
    return ex;
}
