/*
 * aa_conf_hostile: a tiny agent server that only publishes metadata and a
 * JWKS - either conforming ("good") or broken on purpose ("bad") - and runs
 * one command against itself:
 *
 *   aa_conf_hostile good|bad -- COMMAND [ARGS...]
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
#include <unistd.h>

#include "core/aa_core.h"
#include "server/aa_server.h"

/* RFC 8037 A.2 public key; A.1's private half "d" for the bad JWKS. */
#define X_RFC8037 "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define D_RFC8037 "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"

struct hostile {
    bool bad;
    char origin[128];
};

static void handler(void *ctx, const struct aa_server_request *req, struct aa_server_response *resp)
{
    const struct hostile *h = ctx;
    char body[1024];

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

    if (argc < 4 || (strcmp(argv[1], "good") != 0 && strcmp(argv[1], "bad") != 0) ||
        strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: %s good|bad -- COMMAND [ARGS...]  ({URL} = this server)\n",
                argv[0]);
        return 125;
    }
    h.bad = strcmp(argv[1], "bad") == 0;
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
