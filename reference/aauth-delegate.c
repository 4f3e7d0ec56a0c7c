/*
 * aauth-delegate: "curl for AAuth" (PROTOCOL.md). Sends one request to a
 * resource as an agent delegate (agent token from an agent server, scheme
 * jwt), as an agent with a jwks identity, or pseudonymously (hwk), and
 * follows the resource's Agent-Auth challenges through the auth server
 * (PROFILE#5, #6.3) unless told not to. The final response body goes to
 * stdout; -v writes the seed-style transcript (PROFILE#8) to stderr.
 *
 * Exit status: 0 final 2xx, 1 final 4xx/5xx or a protocol failure (a
 * token that fails validation, consent denied, an insecure auth server),
 * 2 usage error, 3 transport error (connect, timeout, oversized answer).
 *
 * Design choice: the tool is a thin shell over aa_client.h; everything it
 * does on the wire is a client step, so -v shows exactly the exchanges a
 * conformance run of the same scenario would record.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aa_client.h"

#define EXIT_OK 0
#define EXIT_HTTP 1
#define EXIT_USAGE 2
#define EXIT_TRANSPORT 3
#define MAX_HEADERS 64
#define MAX_VARIANTS 32
#define DATA_MAX ((size_t)1024 * 1024) /* PROFILE#9 RB-02 */

struct cli {
    const char *agent_server;
    const char *agent_id;
    const char *kid;
    const char *agent_key;
    const char *well_known;
    const char *sub;
    const char *key_file;
    const char *scheme;
    const char *data;
    const char *content_type;
    const char *consent;
    const char *user;
    const char *password;
    const char *headers[MAX_HEADERS];
    size_t n_headers;
    const char *variants[MAX_VARIANTS];
    size_t n_variants;
    const char *method;
    const char *url;
    bool agent_token_only;
    bool agent_server_given;
    bool no_follow, refresh, rotate, deny, include, strict, sign_delegate;
    bool frozen;
    int64_t frozen_clock;
    long timeout_ms;
    int verbose;
    bool quiet;
};

static void usage(FILE *o)
{
    fputs(
        "usage: aauth-delegate [options] METHOD URL\n"
        "       aauth-delegate [options] agent-token\n"
        "\n"
        "Send one AAuth-signed request (PROTOCOL.md) and follow the resource's\n"
        "Agent-Auth challenges: sign, identify, obtain an auth token from the auth\n"
        "server (with user consent when it asks), retry. The final response body is\n"
        "printed on stdout. METHOD is get, post, put, patch, delete or head. A URL that\n"
        "starts with '/' is taken relative to $AAUTH_RESOURCE; without URL,\n"
        "$AAUTH_RESOURCE itself is requested. 'agent-token' only obtains the agent\n"
        "token and prints the agent server's answer.\n"
        "\n"
        "Identity (PROFILE#2.3):\n"
        "  --agent-server URL   act as a delegate of this agent server: POST\n"
        "                       URL/delegate/token, then sign with scheme=jwt\n"
        "                       (default $AAUTH_AGENT_SERVER)\n"
        "  --sub ID             delegate id asked for (default delegate-1)\n"
        "  --key FILE           the delegate's private key (JWK or PEM); generated\n"
        "                       (Ed25519, kid delegate-key-1) and saved when missing;\n"
        "                       default: a fresh key for this run only\n"
        "  --agent-id ID        act as this agent, signing with scheme=jwks\n"
        "  --kid KID            ... with the key of this kid\n"
        "  --agent-key FILE     ... whose private key is in FILE\n"
        "  --well-known NAME    ... published under this well-known (aauth-agent)\n"
        "  --sign-delegate-request  hwk-sign POST /delegate/token (PROFILE#6.1 MAY)\n"
        "  (neither: pseudonymous, scheme=hwk with --key or a fresh key)\n"
        "\n"
        "Request:\n"
        "  --scheme S           first attempt: none (unsigned), hwk, jwks or jwt\n"
        "                       (default: the strongest credential available)\n"
        "  -d, --data DATA      request body; @FILE reads a file (default method POST)\n"
        "  --content-type TYPE  (default application/json when DATA starts with { or\n"
        "                       [, else application/x-www-form-urlencoded)\n"
        "  -H, --header 'N: V'  extra request header (repeatable)\n"
        "  --variant NAME       signer diagnostic variant, e.g. sig-flip-bit,\n"
        "                       legacy-base (repeatable; see aa_signer.h)\n"
        "  --no-follow          one exchange only; do not answer challenges\n"
        "\n"
        "Authorisation:\n"
        "  --consent MODE       auto (scripted user, PROFILE#6.6; default) or manual\n"
        "                       (print the URL to open, read the code from stdin)\n"
        "  --user NAME --password PW   scripted user (default testuser/testpass)\n"
        "  --deny               the scripted user denies consent\n"
        "  --refresh            after the request, refresh the auth token\n"
        "                       (request_type=refresh) and repeat the request\n"
        "  --rotate-key         then rotate the delegate key (new agent token, same\n"
        "                       sub; saved to --key FILE), refresh, repeat\n"
        "\n"
        "Output and behaviour:\n"
        "  -v                   seed-style transcript on stderr (long values cut,\n"
        "                       PROFILE#8); -vv uncut\n"
        "  -i, --include        print the final status line and headers before the body\n"
        "  -q, --quiet          no messages on stderr\n"
        "  --strict-https       refuse http identifiers even on loopback (default:\n"
        "                       dev mode, http allowed on 127.0.0.1/::1/localhost, D-1)\n"
        "  --frozen-clock EPOCH sign and check tokens at this time\n"
        "  --timeout SECONDS    per exchange (default 5)\n"
        "  --help, --version\n"
        "\n"
        "Exit status: 0 final 2xx; 1 final 4xx/5xx or a protocol failure; 2 usage;\n"
        "3 transport error.\n"
        "\n"
        "Examples (aauth-reference running on 8001-8003):\n"
        "  aauth-delegate --agent-server http://127.0.0.1:8001 agent-token\n"
        "  aauth-delegate --agent-server http://127.0.0.1:8001 get "
        "http://127.0.0.1:8002/data-jwks\n"
        "  aauth-delegate --agent-server http://127.0.0.1:8001 -v get "
        "http://127.0.0.1:8002/data-auth\n"
        "  aauth-delegate --scheme hwk post http://127.0.0.1:8002/data-hwk --data '{\"a\":1}' \\\n"
        "      --content-type application/json\n"
        "  aauth-delegate --agent-server http://127.0.0.1:8001 --key dg.jwk --refresh \\\n"
        "      --rotate-key get http://127.0.0.1:8002/data-auth\n"
        "  AAUTH_AGENT_SERVER=http://127.0.0.1:8001 AAUTH_RESOURCE=http://127.0.0.1:8002 \\\n"
        "      aauth-delegate get /data-auth\n",
        o);
}

/* ---- option parsing ------------------------------------------------------------ */

static int bad_usage(const char *fmt, ...) AA_PRINTF(1, 2);
static int bad_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("aauth-delegate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'aauth-delegate --help'.\n", stderr);
    return EXIT_USAGE;
}

static bool parse_int64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;

    if (s == NULL || aa_parse_i64(s, strlen(s), &v) != AA_OK || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static const char *method_of(const char *word)
{
    static const char *const m[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (strcasecmp(word, m[i]) == 0)
            return m[i];
    return NULL;
}

/* Returns -1 to continue, else an exit status (help/version/usage). */
static int parse_args(struct cli *o, int argc, char **argv)
{
    const char *pos[3];
    size_t npos = 0;

    memset(o, 0, sizeof(*o));
    o->agent_server = getenv("AAUTH_AGENT_SERVER");
    if (o->agent_server != NULL && o->agent_server[0] == '\0')
        o->agent_server = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(field)                                                                                \
    do {                                                                                           \
        if (v == NULL)                                                                             \
            return bad_usage("%s needs a value", a);                                               \
        o->field = v;                                                                              \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("aauth-delegate %s (AAuth profile %s)\n", AA_VERSION, AA_PROFILE_DEFAULT_NAME);
            return EXIT_OK;
        } else if (strcmp(a, "--agent-server") == 0) {
            TAKE(agent_server);
            o->agent_server_given = true;
        } else if (strcmp(a, "--agent-id") == 0) {
            TAKE(agent_id);
        } else if (strcmp(a, "--kid") == 0) {
            TAKE(kid);
        } else if (strcmp(a, "--agent-key") == 0) {
            TAKE(agent_key);
        } else if (strcmp(a, "--well-known") == 0) {
            TAKE(well_known);
        } else if (strcmp(a, "--sub") == 0) {
            TAKE(sub);
        } else if (strcmp(a, "--key") == 0) {
            TAKE(key_file);
        } else if (strcmp(a, "--scheme") == 0) {
            TAKE(scheme);
        } else if (strcmp(a, "-d") == 0 || strcmp(a, "--data") == 0) {
            TAKE(data);
        } else if (strcmp(a, "--content-type") == 0) {
            TAKE(content_type);
        } else if (strcmp(a, "--consent") == 0) {
            TAKE(consent);
        } else if (strcmp(a, "--user") == 0) {
            TAKE(user);
        } else if (strcmp(a, "--password") == 0) {
            TAKE(password);
        } else if (strcmp(a, "-H") == 0 || strcmp(a, "--header") == 0) {
            if (v == NULL)
                return bad_usage("%s needs a value", a);
            if (o->n_headers == MAX_HEADERS)
                return bad_usage("too many %s options", a);
            o->headers[o->n_headers++] = v;
            i++;
        } else if (strcmp(a, "--variant") == 0) {
            if (v == NULL)
                return bad_usage("%s needs a value", a);
            if (aa_sign_variant_from_name(v) == 0)
                return bad_usage("--variant: unknown variant \"%s\"", v);
            if (o->n_variants == MAX_VARIANTS)
                return bad_usage("too many %s options", a);
            o->variants[o->n_variants++] = v;
            i++;
        } else if (strcmp(a, "--frozen-clock") == 0) {
            if (!parse_int64(v, 0, (int64_t)253402300799, &o->frozen_clock))
                return bad_usage("--frozen-clock needs seconds since the epoch, got \"%s\"", v);
            o->frozen = true;
            i++;
        } else if (strcmp(a, "--timeout") == 0) {
            int64_t s;
            if (!parse_int64(v, 1, 3600, &s))
                return bad_usage("--timeout needs 1..3600 seconds, got \"%s\"", v);
            o->timeout_ms = (long)(s * 1000);
            i++;
        } else if (strcmp(a, "--no-follow") == 0) {
            o->no_follow = true;
        } else if (strcmp(a, "--refresh") == 0) {
            o->refresh = true;
        } else if (strcmp(a, "--rotate-key") == 0) {
            o->rotate = true;
        } else if (strcmp(a, "--deny") == 0) {
            o->deny = true;
        } else if (strcmp(a, "--strict-https") == 0) {
            o->strict = true;
        } else if (strcmp(a, "--sign-delegate-request") == 0) {
            o->sign_delegate = true;
        } else if (strcmp(a, "-i") == 0 || strcmp(a, "--include") == 0) {
            o->include = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "-v") == 0) {
            o->verbose++;
        } else if (strcmp(a, "-vv") == 0) {
            o->verbose += 2;
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (npos == 3)
                    return bad_usage("too many arguments");
                pos[npos++] = argv[i];
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return bad_usage("unknown option %s", a);
        } else {
            if (npos == 3)
                return bad_usage("too many arguments");
            pos[npos++] = a;
        }
#undef TAKE
    }
    if (npos == 0)
        return bad_usage("no METHOD given");
    if (strcmp(pos[0], "agent-token") == 0) {
        if (npos != 1)
            return bad_usage("agent-token takes no URL");
        o->agent_token_only = true;
    } else {
        if ((o->method = method_of(pos[0])) == NULL)
            return bad_usage("unknown METHOD \"%s\" (get, post, put, patch, delete, head)", pos[0]);
        if (npos > 2)
            return bad_usage("too many arguments");
        o->url = npos == 2 ? pos[1] : NULL;
    }
    if (o->scheme != NULL && strcmp(o->scheme, "none") != 0 && strcmp(o->scheme, "hwk") != 0 &&
        strcmp(o->scheme, "jwks") != 0 && strcmp(o->scheme, "jwt") != 0)
        return bad_usage("--scheme must be none, hwk, jwks or jwt, not \"%s\"", o->scheme);
    if (o->consent != NULL && strcmp(o->consent, "auto") != 0 && strcmp(o->consent, "manual") != 0)
        return bad_usage("--consent must be auto or manual, not \"%s\"", o->consent);
    if (o->agent_id != NULL && o->agent_server_given)
        return bad_usage("--agent-id and --agent-server exclude each other");
    if (o->agent_id != NULL)
        o->agent_server = NULL; /* the jwks identity wins over $AAUTH_AGENT_SERVER */
    if (o->agent_id != NULL && (o->kid == NULL || o->agent_key == NULL))
        return bad_usage("--agent-id needs --kid and --agent-key");
    if (o->scheme != NULL && strcmp(o->scheme, "jwks") == 0 && o->agent_id == NULL)
        return bad_usage("--scheme jwks needs --agent-id, --kid and --agent-key");
    if (o->scheme != NULL && strcmp(o->scheme, "jwt") == 0 && o->agent_server == NULL)
        return bad_usage("--scheme jwt needs --agent-server (or $AAUTH_AGENT_SERVER)");
    if (o->agent_token_only && o->agent_server == NULL)
        return bad_usage("agent-token needs --agent-server (or $AAUTH_AGENT_SERVER)");
    if (o->rotate && o->agent_id != NULL)
        return bad_usage("--rotate-key is for delegates (--agent-server)");
    return -1;
}

/* ---- output ------------------------------------------------------------------------ */

struct view {
    struct aa_client *c;
    size_t shown;
    int verbose;
};

/* -v: print what the transcript gained since the last step. */
static void on_step(void *ctx, const struct aa_client_step *st)
{
    struct view *v = ctx;
    size_t len = 0;
    const char *t;

    (void)st;
    if (v->c == NULL || v->verbose == 0)
        return;
    t = aa_client_transcript(v->c, &len);
    if (len > v->shown) {
        fwrite(t + v->shown, 1, len - v->shown, stderr);
        fflush(stderr);
    }
    v->shown = len;
}

static void print_error(const struct cli *o, const char *what, int rc, const struct aa_diag *d)
{
    char msg[AA_DIAG_MSG_MAX + 64];

    if (o->quiet)
        return;
    aa_diag_format(d, msg, sizeof(msg));
    fprintf(stderr, "aauth-delegate: %s: %s%s%s\n", what, aa_client_errstr(rc),
            d->code != AA_OK ? ": " : "", d->code != AA_OK ? msg : "");
}

static int exit_for(int rc, long status)
{
    if (rc != AA_OK)
        return aa_http_err_is_transport(rc) ? EXIT_TRANSPORT : EXIT_HTTP;
    return status >= 200 && status < 300 ? EXIT_OK : EXIT_HTTP;
}

static void print_response(const struct cli *o, const struct aa_client_step *st)
{
    if (st == NULL || !st->has_response)
        return;
    if (o->include) {
        printf("%s\r\n", st->resp.status_line ? st->resp.status_line : "");
        for (size_t i = 0; i < st->resp.headers.n; i++)
            printf("%s: %s\r\n", st->resp.headers.v[i].name, st->resp.headers.v[i].value);
        printf("\r\n");
    }
    if (st->resp.body_len > 0) {
        fwrite(st->resp.body, 1, st->resp.body_len, stdout);
        if (st->resp.body[st->resp.body_len - 1] != '\n')
            putchar('\n');
    }
    fflush(stdout);
}

static int64_t frozen_now(void *ctx)
{
    return *(const int64_t *)ctx;
}

/* ---- main --------------------------------------------------------------------------- */

static int load_data(const struct cli *o, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (o->data == NULL)
        return AA_OK;
    if (o->data[0] == '@')
        return aa_read_file(o->data + 1, DATA_MAX, out, len);
    *len = strlen(o->data);
    *out = aa_strndup(o->data, *len);
    return *out ? AA_OK : AA_E_NOMEM;
}

/* A URL starting with '/' is relative to $AAUTH_RESOURCE. */
static char *target_url(const struct cli *o)
{
    const char *base = getenv("AAUTH_RESOURCE");
    struct aa_buf b;
    size_t n;

    if (o->url != NULL && o->url[0] != '/')
        return aa_strdup(o->url);
    if (base == NULL || base[0] == '\0')
        return NULL;
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    aa_buf_init(&b, AA_URL_MAX_LEN);
    aa_buf_add(&b, base, n);
    aa_buf_adds(&b, o->url ? o->url : "");
    return b.err == AA_OK ? aa_buf_detach(&b, NULL) : NULL;
}

static int add_headers(const struct cli *o, struct aa_http_headers *h)
{
    for (size_t i = 0; i < o->n_headers; i++) {
        const char *colon = strchr(o->headers[i], ':');
        const char *v;
        char *name;
        int rc;

        if (colon == NULL || colon == o->headers[i])
            return AA_E_SYNTAX;
        name = aa_strndup(o->headers[i], (size_t)(colon - o->headers[i]));
        if (name == NULL)
            return AA_E_NOMEM;
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        rc = aa_http_headers_add(h, name, v);
        free(name);
        if (rc != AA_OK)
            return rc;
    }
    return AA_OK;
}

static enum aa_client_cred first_cred(const struct cli *o)
{
    if (o->scheme == NULL)
        return AA_CRED_AUTO;
    if (strcmp(o->scheme, "none") == 0)
        return AA_CRED_NONE;
    if (strcmp(o->scheme, "hwk") == 0)
        return AA_CRED_HWK;
    if (strcmp(o->scheme, "jwks") == 0)
        return AA_CRED_JWKS;
    return AA_CRED_AGENT_TOKEN;
}

int main(int argc, char **argv)
{
    struct cli o;
    struct view view = {0};
    struct aa_client_opts co;
    struct aa_client *c = NULL;
    struct aa_jwk key = {0}, agent_key = {0};
    struct aa_sign_opts sopts;
    struct aa_http_headers hdrs;
    struct aa_client_request req;
    struct aa_client_fetch_opts fo;
    struct aa_client_result res;
    struct aa_diag d;
    char *url = NULL, *body = NULL;
    size_t body_len = 0;
    bool generated = false;
    int rc, status = EXIT_OK;

    if ((rc = parse_args(&o, argc, argv)) >= 0)
        return rc;
    aa_diag_clear(&d);
    aa_http_headers_init(&hdrs);
    memset(&sopts, 0, sizeof(sopts));
    for (size_t i = 0; i < o.n_variants; i++)
        sopts.variants |= aa_sign_variant_from_name(o.variants[i]);

    if (!o.agent_token_only) {
        if ((url = target_url(&o)) == NULL) {
            status = bad_usage("no URL (give one, or set $AAUTH_RESOURCE)");
            goto out;
        }
        if (add_headers(&o, &hdrs) != AA_OK) {
            status = bad_usage("-H needs \"Name: value\"");
            goto out;
        }
        if ((rc = load_data(&o, &body, &body_len)) != AA_OK) {
            if (!o.quiet)
                fprintf(stderr, "aauth-delegate: --data %s: %s\n", o.data, aa_strerror(rc));
            status = EXIT_USAGE;
            goto out;
        }
    }

    /* Keys: the delegate's own (or the pseudonymous caller's), and the
     * agent's for --agent-id. */
    if (o.key_file != NULL) {
        if ((rc = aa_client_key_load_or_generate(o.key_file, NULL, &key, &generated, &d)) !=
            AA_OK) {
            print_error(&o, "--key", rc, &d);
            status = EXIT_USAGE;
            goto out;
        }
        if (generated && !o.quiet)
            fprintf(stderr, "aauth-delegate: generated a new Ed25519 key in %s\n", o.key_file);
    }
    if (o.agent_key != NULL &&
        (rc = aa_jwk_load_file(o.agent_key, o.kid, &agent_key, &d)) != AA_OK) {
        print_error(&o, "--agent-key", rc, &d);
        status = EXIT_USAGE;
        goto out;
    }

    memset(&co, 0, sizeof(co));
    if (o.agent_id != NULL) {
        co.identity = AA_CLIENT_AGENT;
        co.key = &agent_key;
        co.agent_id = o.agent_id;
        co.agent_kid = o.kid;
        co.well_known = o.well_known;
    } else if (o.agent_server != NULL) {
        co.identity = AA_CLIENT_DELEGATE;
        co.key = o.key_file ? &key : NULL;
        co.agent_server = o.agent_server;
        co.sub = o.sub;
        co.sign_delegate_request = o.sign_delegate;
    } else {
        co.identity = AA_CLIENT_PSEUDONYMOUS;
        co.key = o.key_file ? &key : NULL;
    }
    co.dev_mode = !o.strict;
    co.consent = o.consent && strcmp(o.consent, "manual") == 0 ? AA_CLIENT_CONSENT_MANUAL
                                                               : AA_CLIENT_CONSENT_AUTO;
    co.prompt = aa_client_prompt_stdio;
    co.prompt_ctx = stderr;
    co.user.username = o.user;
    co.user.password = o.password;
    co.user.deny = o.deny;
    if (o.frozen) {
        co.clock.now = frozen_now;
        co.clock.ctx = &o.frozen_clock;
        sopts.clock = &co.clock;
    }
    co.sign = &sopts;
    co.timeout_ms = o.timeout_ms;
    co.transcript_flags = o.verbose >= 2 ? AA_HTTP_TR_FULL : 0;
    co.no_transcript = o.verbose == 0;
    co.on_step = on_step;
    co.on_step_ctx = &view;
    view.verbose = o.verbose;
    if ((rc = aa_client_new(&co, &c, &d)) != AA_OK) {
        print_error(&o, "setup", rc, &d);
        status = rc == AA_E_INVAL || rc == AA_E_HTTP_URL || rc == AA_E_CLIENT_INSECURE ||
                         rc == AA_E_HTTP_IDENTIFIER
                     ? EXIT_USAGE
                     : EXIT_HTTP;
        goto out;
    }
    view.c = c;
    if (o.verbose > 0 && !o.strict)
        aa_client_note(c, "dev mode: http identifiers accepted on loopback only (PROFILE#1 D-1)");

    if (o.agent_token_only) {
        const struct aa_client_step *st = NULL;
        rc = aa_client_agent_token_obtain(c, &d);
        /* only the agent server's answer is printed, not the JWKS fetches */
        for (size_t i = aa_client_step_count(c); st == NULL && i > 0; i--)
            if (aa_client_step_at(c, i - 1)->kind == AA_CSTEP_AGENT_TOKEN)
                st = aa_client_step_at(c, i - 1);
        if (rc != AA_OK)
            print_error(&o, "agent token", rc, &d);
        print_response(&o, st);
        status = exit_for(rc, st ? st->resp.status : 0);
        goto out;
    }

    memset(&req, 0, sizeof(req));
    req.method = o.method;
    if (o.data != NULL && strcmp(o.method, "GET") == 0)
        req.method = "POST"; /* curl's -d convention */
    req.url = url;
    req.headers = &hdrs;
    req.body = body;
    req.body_len = body_len;
    if (body != NULL)
        req.content_type = o.content_type ? o.content_type
                           : (body_len > 0 && (body[0] == '{' || body[0] == '['))
                               ? "application/json"
                               : "application/x-www-form-urlencoded";
    memset(&fo, 0, sizeof(fo));
    fo.first = first_cred(&o);
    fo.no_follow = o.no_follow;

    rc = aa_client_fetch(c, &req, &fo, &res, &d);
    if (rc == AA_OK && (o.refresh || o.rotate)) {
        const struct aa_client_grant *g = aa_client_grant_for_url(c, url);
        if (o.refresh) {
            if (g == NULL) {
                if (!o.quiet)
                    fprintf(stderr,
                            "aauth-delegate: --refresh: no auth token was issued for "
                            "%s; nothing to refresh\n",
                            url);
            } else if ((rc = aa_client_refresh(c, g, &d)) == AA_OK) {
                fo.first = AA_CRED_AUTO;
                rc = aa_client_fetch(c, &req, &fo, &res, &d);
            }
        }
        if (rc == AA_OK && o.rotate) {
            if ((rc = aa_client_rotate_key(c, NULL, &d)) == AA_OK) {
                if (o.key_file != NULL && aa_jwk_save_file(aa_client_key(c), o.key_file) != AA_OK &&
                    !o.quiet)
                    fprintf(stderr, "aauth-delegate: --rotate-key: cannot save the new key to %s\n",
                            o.key_file);
                /* The fetch refreshes a grant bound to the old key first. */
                fo.first = AA_CRED_AUTO;
                rc = aa_client_fetch(c, &req, &fo, &res, &d);
            }
        }
    }
    if (rc != AA_OK)
        print_error(&o, url, rc, &d);
    print_response(&o, rc == AA_OK ? res.final : (res.failed ? res.failed : res.final));
    status = exit_for(rc, res.status);
out:
    aa_client_free(c);
    aa_jwk_cleanup(&key);
    aa_jwk_cleanup(&agent_key);
    aa_http_headers_cleanup(&hdrs);
    if (body != NULL) {
        aa_cleanse(body, body_len);
        free(body);
    }
    free(url);
    return status;
}
