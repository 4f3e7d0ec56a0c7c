/*
 * ref_common: what every reference role shares (PROFILE#1, #3, #6, #8,
 * #10): the clock, key setup, identifier/authority derivation, the route
 * table with generic 404/405, per-path hit counters, one-line logs and
 * seed-style transcripts, and the JSON / PROFILE#6.8 error responders.
 *
 * Design choice: display aliases (D-3) are applied to the rendered
 * transcript text only, after the adapter has produced it, so no alias can
 * ever leak into a token, a signature base or a response.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "case/aa_case.h"
#include "ref_int.h"

/* ---- clock --------------------------------------------------------------- */

int64_t aa_ref_clock_now(const struct aa_ref_clock *c)
{
    if (c == NULL)
        return (int64_t)time(NULL);
    if (__atomic_load_n(&c->frozen, __ATOMIC_ACQUIRE))
        return __atomic_load_n(&c->value, __ATOMIC_ACQUIRE);
    return (int64_t)time(NULL) + __atomic_load_n(&c->offset, __ATOMIC_ACQUIRE);
}

void aa_ref_clock_advance(struct aa_ref_clock *c, int64_t secs)
{
    if (c == NULL)
        return;
    if (__atomic_load_n(&c->frozen, __ATOMIC_ACQUIRE))
        __atomic_fetch_add(&c->value, secs, __ATOMIC_ACQ_REL);
    else
        __atomic_fetch_add(&c->offset, secs, __ATOMIC_ACQ_REL);
}

int64_t ref_now(const struct aa_ref_server *s)
{
    return aa_ref_clock_now(s->clock);
}

static int64_t clock_cb(void *ctx)
{
    return aa_ref_clock_now(ctx);
}

struct aa_clock ref_aa_clock(const struct aa_ref_server *s)
{
    struct aa_clock c = {clock_cb, s->clock};
    return c;
}

unsigned ref_verifier_faults(unsigned f)
{
    static const struct {
        unsigned ref, ver;
    } map[] = {
        {AA_REF_FAULT_ACCEPT_EXPIRED, AA_FAULT_ACCEPT_EXPIRED_TOKEN},
        {AA_REF_FAULT_SKIP_SIGKEY_COVERAGE, AA_FAULT_SKIP_SIGKEY_COVERAGE},
        {AA_REF_FAULT_IGNORE_AUD, AA_FAULT_IGNORE_AUD},
        {AA_REF_FAULT_ACCEPT_ALG_NONE, AA_FAULT_ACCEPT_ALG_NONE},
        {AA_REF_FAULT_AUTHORITY_FROM_HOST, AA_FAULT_AUTHORITY_FROM_HOST},
        {AA_REF_FAULT_ACCEPT_LEGACY_BASE, AA_FAULT_ACCEPT_LEGACY_BASE},
        {AA_REF_FAULT_SKIP_CREATED_WINDOW, AA_FAULT_SKIP_CREATED_WINDOW},
        {AA_REF_FAULT_SKIP_REPLAY, AA_FAULT_SKIP_REPLAY},
        {AA_REF_FAULT_SKIP_DIGEST, AA_FAULT_SKIP_DIGEST},
        {AA_REF_FAULT_SKIP_TYP, AA_FAULT_SKIP_TYP},
    };
    unsigned out = 0;

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (f & map[i].ref)
            out |= map[i].ver;
    return out;
}

/* ---- roles --------------------------------------------------------------- */

const char *aa_ref_role_name(enum aa_ref_role role)
{
    switch (role) {
    case AA_REF_AGENT:
        return "agent";
    case AA_REF_RESOURCE:
        return "resource";
    case AA_REF_AUTH:
        return "auth";
    }
    return "?";
}

static const char *role_label(enum aa_ref_role role)
{
    switch (role) {
    case AA_REF_AGENT:
        return "agent server";
    case AA_REF_RESOURCE:
        return "resource";
    case AA_REF_AUTH:
        return "auth server";
    }
    return "?";
}

/* The ROLE of the seed's ">>> ROLE REQUEST received" blocks (PROFILE#8). */
static const char *role_tr(enum aa_ref_role role)
{
    switch (role) {
    case AA_REF_AGENT:
        return "AGENT SERVER";
    case AA_REF_RESOURCE:
        return "RESOURCE";
    case AA_REF_AUTH:
        return "AUTH SERVER";
    }
    return "?";
}

static const char *role_kid(enum aa_ref_role role)
{
    switch (role) {
    case AA_REF_AGENT:
        return AA_REF_AGENT_KID;
    case AA_REF_RESOURCE:
        return AA_REF_RESOURCE_KID;
    case AA_REF_AUTH:
        return AA_REF_AUTH_KID;
    }
    return "key-1";
}

/* ---- keys ---------------------------------------------------------------- */

int ref_key_setup(const struct aa_ref_common *c, const char *default_kid, struct aa_jwk *out,
                  struct aa_diag *d)
{
    const char *kid = (c->kid != NULL && c->kid[0] != '\0') ? c->kid : NULL;
    const char *src = "generated key";
    struct stat st;
    int rc;

    memset(out, 0, sizeof(*out));
    if (default_kid == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#3", "key setup: no default kid");
    if (c->key != NULL) {
        src = "explicit key";
        if (!c->key->is_private)
            return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#4.1",
                           "explicit key: a signing key needs its private half");
        if ((rc = aa_jwk_copy(out, c->key)) != AA_OK)
            return aa_fail(d, rc, "PROFILE#3", "explicit key: cannot copy (%s)", aa_strerror(rc));
    } else if (c->key_file != NULL) {
        src = c->key_file;
        if (stat(c->key_file, &st) == 0) {
            rc = aa_jwk_load_file(c->key_file, kid, out, d);
            if (rc != AA_OK)
                return aa_diag_prefix(d, "key file %s", c->key_file);
        } else if (errno == ENOENT) {
            /* Generated once and kept so the kid and the JWKS survive a
             * restart (peers cache JWKS for 300 s, PROFILE#3). */
            rc = aa_jwk_generate(AA_KTY_OKP, kid ? kid : default_kid, out);
            if (rc != AA_OK)
                return aa_fail(d, rc, "PROFILE#2.10", "cannot generate an Ed25519 key (%s)",
                               aa_strerror(rc));
            rc = aa_jwk_save_file(out, c->key_file);
            if (rc != AA_OK) {
                aa_jwk_cleanup(out);
                return aa_fail(d, AA_E_IO, "PROFILE#3", "key file %s: cannot save (%s)",
                               c->key_file, aa_strerror(rc));
            }
        } else {
            return aa_fail(d, AA_E_IO, "PROFILE#3", "key file %s: %s", c->key_file,
                           strerror(errno));
        }
    } else {
        rc = aa_jwk_generate(AA_KTY_OKP, kid ? kid : default_kid, out);
        if (rc != AA_OK)
            return aa_fail(d, rc, "PROFILE#2.10", "cannot generate an Ed25519 key (%s)",
                           aa_strerror(rc));
    }
    if (kid != NULL || out->kid[0] == '\0') {
        rc = aa_snprintf(out->kid, sizeof(out->kid), "%s", kid ? kid : default_kid);
        if (rc != AA_OK) {
            aa_jwk_cleanup(out);
            return aa_fail(d, AA_E_LIMIT, "PROFILE#3", "kid longer than %d bytes",
                           AA_JWK_KID_MAX - 1);
        }
    }
    /* D-12: v1 signs with Ed25519 only. */
    if (out->kty != AA_KTY_OKP || strcmp(out->crv, "Ed25519") != 0) {
        aa_jwk_cleanup(out);
        return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#2.10",
                       "%s: signing key must be OKP/Ed25519 (D-12)", src);
    }
    if (!out->is_private) {
        aa_jwk_cleanup(out);
        return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#4.1",
                       "%s: holds a public key only; a signing key needs \"d\"", src);
    }
    return AA_OK;
}

/* ---- identifiers ----------------------------------------------------------- */

int aa_ref_default_id(const char *bind, uint16_t port, char *out, size_t cap)
{
    if (out == NULL)
        return AA_E_INVAL;
    if (bind == NULL || strcmp(bind, "0.0.0.0") == 0)
        bind = "127.0.0.1";
    else if (strcmp(bind, "::") == 0)
        bind = "::1";
    if (strchr(bind, ':') != NULL)
        return aa_snprintf(out, cap, "http://[%s]:%u", bind, (unsigned)port);
    return aa_snprintf(out, cap, "http://%s:%u", bind, (unsigned)port);
}

/* An explicit canonical authority: lowercase host[:port] as PROFILE#2.5
 * writes it; anything else is a configuration error, not a guess. */
static bool authority_ok(const char *a)
{
    size_t n = strlen(a);

    if (n == 0 || n >= AA_URL_AUTHORITY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = a[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
              ch == ':' || ch == '[' || ch == ']'))
            return false;
    }
    return true;
}

static int check_id(struct aa_ref_server *s, const char *what, struct aa_diag *d)
{
    int rc = aa_http_identifier_check(s->id, !s->strict_https, &s->dev, d);

    if (rc != AA_OK)
        return aa_diag_prefix(d, "%s %s", s->label, what);
    return AA_OK;
}

static int derive_authority(struct aa_ref_server *s, const char *configured, struct aa_diag *d)
{
    if (configured != NULL) {
        if (!authority_ok(configured))
            return aa_fail(d, AA_E_INVAL, "PROFILE#2.5",
                           "%s: authority \"%.80s\" is not a lowercase host[:port]", s->label,
                           configured);
        return aa_snprintf(s->authority, sizeof(s->authority), "%s", configured);
    }
    return aa_url_authority_of(s->id, s->authority, sizeof(s->authority), d);
}

/* ---- lifecycle ------------------------------------------------------------- */

static char **dup_strv(const char *const *v, size_t n, size_t *out_n)
{
    char **r;
    size_t k = 0;

    *out_n = 0;
    if (v == NULL || n == 0)
        return NULL;
    r = calloc(n, sizeof(*r));
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL)
            continue;
        if ((r[k] = aa_strdup(v[i])) == NULL) {
            for (size_t j = 0; j < k; j++)
                free(r[j]);
            free(r);
            return NULL;
        }
        k++;
    }
    *out_n = k;
    return r;
}

/* |id| NULL: this server's own alias, bound to the id once it is known
 * (ref_server_listen). */
static int add_alias(struct aa_ref_server *s, const char *id, const char *alias)
{
    struct ref_alias *a;

    if (alias == NULL || (id != NULL && id[0] == '\0'))
        return AA_OK;
    a = realloc(s->aliases, (s->n_aliases + 1) * sizeof(*a));
    if (a == NULL)
        return AA_E_NOMEM;
    s->aliases = a;
    a[s->n_aliases].id = id ? aa_strdup(id) : NULL;
    a[s->n_aliases].alias = aa_strdup(alias);
    if ((id != NULL && a[s->n_aliases].id == NULL) || a[s->n_aliases].alias == NULL) {
        free(a[s->n_aliases].id);
        free(a[s->n_aliases].alias);
        return AA_E_NOMEM;
    }
    s->n_aliases++;
    return AA_OK;
}

static int render_jwks(struct aa_ref_server *s)
{
    struct aa_buf b;
    struct aa_jwks set = {0};
    int rc;

    aa_buf_init(&b, AA_JWKS_MAX_LEN);
    if (ref_fault(s, AA_REF_FAULT_JWKS_PRIVATE)) {
        /* Fault: publish the private half (MD-02 must notice). */
        aa_buf_adds(&b, "{\"keys\":[");
        rc = aa_jwk_to_json(&s->key, true, &b);
        aa_buf_adds(&b, "]}");
    } else {
        rc = aa_jwks_add(&set, &s->key);
        if (rc == AA_OK)
            rc = aa_jwks_to_json(&set, &b);
        aa_jwks_cleanup(&set);
    }
    if (rc == AA_OK)
        rc = b.err;
    if (rc != AA_OK) {
        aa_buf_free(&b);
        return rc;
    }
    s->jwks_json = aa_buf_detach(&b, NULL);
    return s->jwks_json ? AA_OK : AA_E_NOMEM;
}

int ref_server_new(enum aa_ref_role role, const struct aa_ref_common *c, struct aa_ref_server **out,
                   struct aa_diag *d)
{
    struct aa_ref_server *s;
    int rc;

    if (out == NULL || c == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#1", "reference server: NULL argument");
    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
    s->role = role;
    s->label = role_label(role);
    s->tr_role = role_tr(role);
    s->profile = aa_profile_default();
    pthread_mutex_init(&s->disc_mu, NULL);
    atomic_init(&s->ready, false);
    for (size_t i = 0; i < REF_MAX_ROUTES; i++)
        atomic_init(&s->hits[i], 0);
    *out = s; /* from here on aa_ref_stop() undoes everything */

    s->port_req = c->port;
    s->threads = c->threads ? c->threads : AA_SERVER_THREADS_DEFAULT;
    s->timeout_s = c->timeout_s;
    s->request_timeout_s = c->request_timeout_s;
    s->max_connections = c->max_connections;
    s->max_connections_per_ip = c->max_connections_per_ip;
    s->clock = c->clock ? c->clock : &s->own_clock;
    s->faults = c->faults;
    s->verbosity = c->verbosity < 0 ? 0 : c->verbosity > 3 ? 3 : c->verbosity;
    s->log = c->log ? c->log : stderr;
    s->strict_https = c->strict_https;
    s->disc = c->disc;
    s->bind = aa_strdup(c->bind_addr ? c->bind_addr : "127.0.0.1");
    if (s->bind == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
    /* Dev mode fetches any loopback URL a request names (D-1); reachable
     * from other hosts, the server would probe its own loopback services
     * for them. */
    if (!c->strict_https && !c->allow_dev_remote &&
        !aa_http_host_is_loopback(aa_str_c(s->bind)))
        return aa_fail(d, AA_E_INVAL, "PROFILE#1",
                       "%s: bind address %.64s is not loopback, and dev mode (no --strict-https) "
                       "would let remote clients make this server fetch any loopback URL; bind "
                       "127.0.0.1, use --strict-https, or accept that with --allow-dev-remote",
                       s->label, s->bind);
    for (size_t i = 0; i < c->n_aliases && c->aliases != NULL; i++)
        if (c->aliases[i].id != NULL &&
            add_alias(s, c->aliases[i].id, c->aliases[i].alias) != AA_OK)
            return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
    if (c->n_trusted_origins > 0) {
        s->trusted_origins =
            dup_strv(c->trusted_origins, c->n_trusted_origins, &s->n_trusted_origins);
        if (s->trusted_origins == NULL)
            return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
    }
    if ((rc = ref_key_setup(c, role_kid(role), &s->key, d)) != AA_OK)
        return aa_diag_prefix(d, "%s", s->label);
    if ((rc = aa_jwk_thumbprint(&s->key, s->thumbprint)) != AA_OK)
        return aa_fail(d, rc, "RFC7638#3", "%s: cannot compute the key thumbprint", s->label);
    if ((rc = render_jwks(s)) != AA_OK)
        return aa_fail(d, rc, "PROFILE#3", "%s: cannot render the JWKS", s->label);
    if (c->id != NULL) {
        if ((s->id = aa_strdup(c->id)) == NULL)
            return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
        if ((rc = check_id(s, "identifier", d)) != AA_OK)
            return rc;
        if ((rc = derive_authority(s, c->authority, d)) != AA_OK)
            return rc;
    } else if (c->authority != NULL) {
        if ((rc = derive_authority(s, c->authority, d)) != AA_OK)
            return rc;
    }
    if (c->display_alias != NULL && add_alias(s, s->id, c->display_alias) != AA_OK)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
    return AA_OK;
}

int ref_server_route(struct aa_ref_server *s, const char *method, const char *path, ref_handler fn,
                     const char *note)
{
    if (s == NULL || method == NULL || path == NULL || fn == NULL || path[0] != '/')
        return AA_E_INVAL;
    if (s->n_routes >= REF_MAX_ROUTES)
        return AA_E_LIMIT;
    if (aa_snprintf(s->routes[s->n_routes].method, sizeof(s->routes[0].method), "%s", method) !=
        AA_OK)
        return AA_E_INVAL;
    s->routes[s->n_routes].path = path;
    s->routes[s->n_routes].fn = fn;
    s->routes[s->n_routes].note = note;
    s->n_routes++;
    return AA_OK;
}

static void dispatch(void *ctx, const struct aa_server_request *req,
                     struct aa_server_response *resp);
static void on_log(void *ctx, const char *line);
static void on_transcript(void *ctx, const struct aa_server_request *req,
                          const struct aa_server_response *resp);

int ref_server_listen(struct aa_ref_server *s, struct aa_diag *d)
{
    struct aa_server_opts o;
    char url[128];
    uint16_t port;
    int rc;

    if (s == NULL || s->srv != NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#1", "reference server: bad state");
    memset(&o, 0, sizeof(o));
    o.bind_addr = s->bind;
    o.port = s->port_req;
    o.threads = s->threads;
    o.timeout_s = s->timeout_s;
    o.request_timeout_s = s->request_timeout_s;
    o.max_connections = s->max_connections;
    o.max_connections_per_ip = s->max_connections_per_ip;
    o.handler = dispatch;
    o.ctx = s;
    o.log = s->verbosity >= 1 ? on_log : NULL;
    o.log_ctx = s;
    o.transcript = s->verbosity >= 2 ? on_transcript : NULL;
    o.transcript_ctx = s;
    if ((rc = aa_server_start(&o, &s->srv, d)) != AA_OK)
        return aa_diag_prefix(d, "%s", s->label);
    port = aa_server_port(s->srv);
    /* A wildcard bind is reached through loopback by default; the dev-mode
     * identifier must be a loopback origin (D-1). */
    rc = aa_ref_default_id(s->bind, port, url, sizeof(url));
    if (rc != AA_OK || (s->url = aa_strdup(url)) == NULL)
        return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
    if (s->id == NULL) {
        if ((s->id = aa_strdup(url)) == NULL)
            return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
        if ((rc = check_id(s, "identifier (the listen origin; configure a public id)", d)) != AA_OK)
            return rc;
    }
    if (s->authority[0] == '\0' && (rc = derive_authority(s, NULL, d)) != AA_OK)
        return rc;
    for (size_t i = 0; i < s->n_aliases; i++)
        if (s->aliases[i].id == NULL && s->aliases[i].alias != NULL &&
            (s->aliases[i].id = aa_strdup(s->id)) == NULL)
            return aa_fail(d, AA_E_NOMEM, "PROFILE#1", "out of memory");
    return AA_OK;
}

void ref_server_ready(struct aa_ref_server *s)
{
    atomic_store_explicit(&s->ready, true, memory_order_release);
}

void aa_ref_stop(struct aa_ref_server *s)
{
    if (s == NULL)
        return;
    atomic_store_explicit(&s->ready, false, memory_order_release);
    /* No handler runs after aa_server_stop returns, so role state and the
     * key can go afterwards. */
    aa_server_stop(s->srv);
    if (s->role_free != NULL && s->role_ctx != NULL)
        s->role_free(s->role_ctx);
    if (s->own_disc && s->disc_free != NULL && s->disc != NULL)
        s->disc_free(s->disc);
    for (size_t i = 0; i < s->n_aliases; i++) {
        free(s->aliases[i].id);
        free(s->aliases[i].alias);
    }
    free(s->aliases);
    for (size_t i = 0; i < s->n_trusted_origins; i++)
        free(s->trusted_origins[i]);
    free(s->trusted_origins);
    free(s->jwks_json);
    free(s->metadata_json);
    aa_jwk_cleanup(&s->key);
    free(s->id);
    free(s->url);
    free(s->bind);
    pthread_mutex_destroy(&s->disc_mu);
    free(s);
}

/* ---- accessors -------------------------------------------------------------- */

enum aa_ref_role aa_ref_role_of(const struct aa_ref_server *s)
{
    return s->role;
}

const char *aa_ref_url(const struct aa_ref_server *s)
{
    return s ? s->url : NULL;
}

const char *aa_ref_id(const struct aa_ref_server *s)
{
    return s ? s->id : NULL;
}

const struct aa_jwk *aa_ref_key(const struct aa_ref_server *s)
{
    return s ? &s->key : NULL;
}

uint16_t aa_ref_port(const struct aa_ref_server *s)
{
    return s && s->srv ? aa_server_port(s->srv) : 0;
}

uint64_t aa_ref_hits(const struct aa_ref_server *s, const char *path)
{
    if (s == NULL || path == NULL)
        return 0;
    for (size_t i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            return atomic_load(&((struct aa_ref_server *)s)->hits[i]);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

static bool path_is(const struct aa_server_request *req, const char *path)
{
    return aa_server_request_path_is(req, path);
}

/* The server whose handler runs on this thread, so that ref_send_result
 * can log what it keeps from the client without a server argument (its
 * callers predate the need). Set only around a route handler. */
static _Thread_local const struct aa_ref_server *tl_server;

static void dispatch(void *ctx, const struct aa_server_request *req,
                     struct aa_server_response *resp)
{
    struct aa_ref_server *s = ctx;
    size_t first = SIZE_MAX;
    const struct ref_route *match = NULL;
    bool head = strcmp(req->method, "HEAD") == 0;
    char allow[96];
    size_t alen = 0;

    if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
        ref_send_error(resp, 503, "temporarily_unavailable", 0, "%s is starting", s->label);
        return;
    }
    for (size_t i = 0; i < s->n_routes; i++) {
        const struct ref_route *rt = &s->routes[i];
        if (!path_is(req, rt->path))
            continue;
        if (first == SIZE_MAX)
            first = i;
        if (strcmp(rt->method, req->method) == 0 || (head && strcmp(rt->method, "GET") == 0)) {
            match = rt;
            break;
        }
    }
    if (first == SIZE_MAX) {
        aa_server_response_not_found(resp, req);
        return;
    }
    atomic_fetch_add(&s->hits[first], 1);
    if (match != NULL) {
        tl_server = s;
        match->fn(s, req, resp);
        tl_server = NULL;
        return;
    }
    allow[0] = '\0';
    for (size_t i = first; i < s->n_routes; i++) {
        const struct ref_route *rt = &s->routes[i];
        const char *m = rt->method;
        if (strcmp(rt->path, s->routes[first].path) != 0)
            continue;
        for (int pass = 0; pass < 2; pass++) {
            if (aa_snprintf(allow + alen, sizeof(allow) - alen, "%s%s", alen ? ", " : "", m) ==
                AA_OK)
                alen = strlen(allow);
            if (strcmp(rt->method, "GET") != 0)
                break;
            m = "HEAD"; /* a GET route also answers HEAD */
        }
    }
    aa_server_response_method_not_allowed(resp, req, allow);
}

/* ---- logging ------------------------------------------------------------- */

static void emit(const struct aa_ref_server *s, const char *text, size_t n)
{
    flockfile(s->log);
    fwrite(text, 1, n, s->log);
    fflush(s->log);
    funlockfile(s->log);
}

static void on_log(void *ctx, const char *line)
{
    struct aa_ref_server *s = ctx;
    struct aa_buf b;

    aa_buf_init(&b, 4096);
    aa_buf_printf(&b, "%-12s  %s\n", s->label, line);
    if (b.err == AA_OK)
        emit(s, b.p, b.len);
    aa_buf_free(&b);
}

void ref_logf(const struct aa_ref_server *s, int min, const char *fmt, ...)
{
    struct aa_buf b;
    va_list ap;

    if (s == NULL || s->verbosity < min)
        return;
    aa_buf_init(&b, 8192);
    aa_buf_printf(&b, "%-12s  ", s->label);
    va_start(ap, fmt);
    aa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    aa_buf_addc(&b, '\n');
    if (b.err == AA_OK)
        emit(s, b.p, b.len);
    aa_buf_free(&b);
}

/* An origin ends where a character that could continue its host or port
 * ends: "http://127.0.0.1:8001" must not match inside "...:80012". */
static bool origin_boundary(char c)
{
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-' || c == ':' || c == '_' || c == '~');
}

/* D-3: display aliases replace whole origins in transcript text only. */
static void apply_aliases(const struct aa_ref_server *s, const char *in, size_t n,
                          struct aa_buf *out)
{
    size_t i = 0;

    while (i < n) {
        bool done = false;
        for (size_t k = 0; k < s->n_aliases && !done; k++) {
            const struct ref_alias *a = &s->aliases[k];
            size_t l;
            if (a->id == NULL || a->alias == NULL || a->id[0] == '\0')
                continue;
            l = strlen(a->id);
            if (l <= n - i && memcmp(in + i, a->id, l) == 0 &&
                (i + l == n || origin_boundary(in[i + l])) &&
                (i == 0 || origin_boundary(in[i - 1]))) {
                aa_buf_adds(out, a->alias);
                i += l;
                done = true;
            }
        }
        if (!done)
            aa_buf_addc(out, in[i++]);
    }
}

static const char *route_note(const struct aa_ref_server *s, const struct aa_server_request *req)
{
    for (size_t i = 0; i < s->n_routes; i++)
        if (s->routes[i].note != NULL && path_is(req, s->routes[i].path))
            return s->routes[i].note;
    return NULL;
}

static void on_transcript(void *ctx, const struct aa_server_request *req,
                          const struct aa_server_response *resp)
{
    struct aa_ref_server *s = ctx;
    struct aa_buf raw, out;

    if (s->verbosity < 2)
        return;
    aa_buf_init(&raw, 8u * 1024 * 1024);
    aa_buf_init(&out, 16u * 1024 * 1024);
    if (aa_server_transcript(&raw, s->tr_role, route_note(s, req), req, resp,
                             s->verbosity >= 3 ? AA_SERVER_TR_FULL : 0) == AA_OK &&
        raw.err == AA_OK) {
        apply_aliases(s, raw.p, raw.len, &out);
        if (out.err == AA_OK && out.p != NULL)
            emit(s, out.p, out.len);
    }
    aa_buf_free(&raw);
    aa_buf_free(&out);
}

/* ---- responses ----------------------------------------------------------- */

static void server_error(struct aa_server_response *r)
{
    aa_server_response_cleanup(r);
    aa_server_response_init(r);
    (void)aa_server_response_error(r, 500, "server_error", "out of memory");
}

static int finish(struct aa_server_response *r, int rc, unsigned flags)
{
    if (rc == AA_OK && (flags & REF_NO_STORE))
        rc = aa_server_response_header(r, "Cache-Control", "no-store");
    if (rc != AA_OK)
        server_error(r);
    return rc;
}

int ref_send_json_text(struct aa_server_response *r, int status, const char *json, unsigned flags)
{
    return finish(r, aa_server_response_json(r, status, json), flags);
}

int ref_send_json(struct aa_server_response *r, int status, const cJSON *body, unsigned flags)
{
    struct aa_buf b;
    int rc;

    aa_buf_init(&b, AA_BUF_DEFAULT_MAX);
    rc = aa_json_print(body, &b);
    if (rc == AA_OK)
        rc = ref_send_json_text(r, status, b.p, flags);
    else
        server_error(r);
    aa_buf_free(&b);
    return rc;
}

int ref_send_token(struct aa_server_response *r, const cJSON *body)
{
    return ref_send_json(r, 200, body, REF_NO_STORE);
}

static int send_errorv(struct aa_server_response *r, int status, const char *code, unsigned flags,
                       const char *fmt, va_list ap) AA_PRINTF(5, 0);
static int send_errorv(struct aa_server_response *r, int status, const char *code, unsigned flags,
                       const char *fmt, va_list ap)
{
    struct aa_buf m;
    int rc;

    aa_buf_init(&m, 2048);
    aa_buf_vprintf(&m, fmt, ap);
    rc = aa_server_response_error(r, status, code, "%s", m.err == AA_OK && m.p ? m.p : "");
    aa_buf_free(&m);
    return finish(r, rc, flags);
}

int ref_send_error(struct aa_server_response *r, int status, const char *code, unsigned flags,
                   const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_errorv(r, status, code, flags, fmt, ap);
    va_end(ap);
    return rc;
}

int ref_send_perr(struct aa_server_response *r, enum aa_perr e, unsigned flags, const char *fmt,
                  ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_errorv(r, aa_perr_status(e), aa_perr_name(e), flags, fmt, ap);
    va_end(ap);
    return rc;
}

bool ref_is_discovery_outcome(int code)
{
    switch (code) {
    case AA_E_HTTP_CONNECT:
    case AA_E_HTTP_TIMEOUT:
    case AA_E_HTTP_TOO_LARGE:
    case AA_E_HTTP_NOT_ALLOWED: /* the name resolved to a refused address */
    case AA_E_HTTP_RESOLVE:
    case AA_E_HTTP_PROTOCOL:
    case AA_E_HTTP_SEND:
    case AA_E_HTTP_TLS:
    case AA_E_DISC_REDIRECT:
    case AA_E_DISC_STATUS:
    case AA_E_DISC_CONTENT_TYPE:
    case AA_E_DISC_JSON:
    case AA_E_DISC_MEMBER:
    case AA_E_DISC_ID_MISMATCH:
    case AA_E_DISC_JWKS:
    case AA_E_DISC_KID_UNKNOWN:
    case AA_E_DISC_JKT_UNKNOWN:
    case AA_E_JWKS_KID_UNKNOWN:
        return true;
    default:
        return false;
    }
}

int ref_send_result(struct aa_server_response *r, const struct aa_aauth_result *res, unsigned flags)
{
    char msg[AA_DIAG_MSG_MAX + 64];

    if (res == NULL || res->perr == AA_PERR_NONE || res->status < 400)
        return ref_send_error(r, 500, "server_error", flags, "verifier gave no verdict");
    aa_diag_format(&res->diag, msg, sizeof(msg));
    if (ref_is_discovery_outcome(res->code)) {
        /* The same text whatever happened at the URL; not even the step,
         * which tells an unknown kid from an unreachable document. */
        if (tl_server != NULL)
            ref_logf(tl_server, 1, "%s %s: key discovery failed (the client sees a generic "
                                   "description): %s",
                     res->where, aa_perr_name(res->perr), msg);
        return ref_send_error(r, res->status, aa_perr_name(res->perr), flags, "%s",
                              REF_DISCOVERY_FAILED_TEXT);
    }
    if (res->where[0] != '\0')
        return ref_send_error(r, res->status, aa_perr_name(res->perr), flags, "%s: %s", res->where,
                              msg);
    return ref_send_error(r, res->status, aa_perr_name(res->perr), flags, "%s", msg);
}

int ref_send_jwks(const struct aa_ref_server *s, struct aa_server_response *r)
{
    return ref_send_json_text(r, 200, s->jwks_json, 0);
}

void ref_h_metadata(struct aa_ref_server *s, const struct aa_server_request *req,
                    struct aa_server_response *resp)
{
    (void)req;
    ref_send_json_text(resp, 200, s->metadata_json, 0);
}

void ref_h_jwks(struct aa_ref_server *s, const struct aa_server_request *req,
                struct aa_server_response *resp)
{
    (void)req;
    ref_send_jwks(s, resp);
}

int ref_send_html(struct aa_server_response *r, int status, const char *html)
{
    int rc;

    r->status = status;
    rc = aa_server_response_header(r, "Content-Type", "text/html; charset=utf-8");
    if (rc == AA_OK)
        rc = aa_server_response_body(r, html, strlen(html));
    return finish(r, rc, REF_NO_STORE);
}

void ref_html_textn(struct aa_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    if (s == NULL)
        return;
    while (i < n) {
        uint32_t cp = 0;
        size_t l = aa_case_utf8_next(p + i, n - i, &cp);
        if (l == 0 || (l == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
            aa_buf_adds(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (l > 1) {
            aa_buf_add(b, p + i, l);
        } else {
            switch (p[i]) {
            case '&':
                aa_buf_adds(b, "&amp;");
                break;
            case '<':
                aa_buf_adds(b, "&lt;");
                break;
            case '>':
                aa_buf_adds(b, "&gt;");
                break;
            case '"':
                aa_buf_adds(b, "&quot;");
                break;
            case '\'':
                aa_buf_adds(b, "&#39;");
                break;
            default:
                aa_buf_addc(b, (char)p[i]);
                break;
            }
        }
        i += l;
    }
}

void ref_html_text(struct aa_buf *b, const char *s)
{
    if (s != NULL)
        ref_html_textn(b, s, strlen(s));
}

void ref_html_open(struct aa_buf *b, const char *title)
{
    aa_buf_adds(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    ref_html_text(b, title);
    aa_buf_adds(b, "</title></head><body>\n<h1>");
    ref_html_text(b, title);
    aa_buf_adds(b, "</h1>\n");
}

/* ---- request helpers ------------------------------------------------------ */

bool ref_content_type_is(const struct aa_server_request *req, const char *media)
{
    const char *v;
    size_t n, m = strlen(media);

    if (aa_server_request_header_count(req, "Content-Type") != 1)
        return false;
    v = aa_server_request_header(req, "Content-Type");
    while (*v == ' ' || *v == '\t')
        v++;
    n = strcspn(v, ";");
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == m && aa_str_eq_ci((struct aa_str){v, n}, media);
}

bool ref_request_is_signed(const struct aa_server_request *req)
{
    const struct aa_profile *p = aa_profile_default();

    return aa_server_request_header(req, p->hdr.signature) != NULL ||
           aa_server_request_header(req, p->hdr.signature_input) != NULL ||
           aa_server_request_header(req, p->hdr.signature_key) != NULL;
}

bool ref_client_is_loopback(const struct aa_server_request *req)
{
    return aa_http_host_is_loopback(aa_str_c(req->client_addr));
}

int ref_json_body(const struct aa_server_request *req, struct aa_server_response *resp,
                  const char *ref, cJSON **out)
{
    struct aa_diag d;
    int rc;

    *out = NULL;
    aa_diag_clear(&d);
    if (!ref_content_type_is(req, "application/json")) {
        const char *ct = aa_server_request_header(req, "Content-Type");
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "Content-Type must be application/json, got \"%.64s\" (%s)",
                      ct ? ct : "(none)", ref);
        return AA_E_SYNTAX;
    }
    rc = aa_json_parse(req->body, req->body_len, NULL, out, &d);
    if (rc != AA_OK) {
        char msg[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, msg, sizeof(msg));
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "body is not a JSON object (%s): %s", ref,
                      msg);
        return rc;
    }
    return AA_OK;
}

int ref_form_body(const struct aa_server_request *req, struct aa_server_response *resp,
                  struct aa_form *out)
{
    const struct aa_profile *p = aa_profile_default();
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    if (!ref_content_type_is(req, p->form_content_type)) {
        const char *ct = aa_server_request_header(req, "Content-Type");
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0,
                      "Content-Type must be %s, got \"%.64s\" (PROFILE#6)", p->form_content_type,
                      ct ? ct : "(none)");
        return AA_E_SYNTAX;
    }
    rc = aa_form_parse(req->body, req->body_len, AA_FORM_REJECT_DUPLICATES, out, &d);
    if (rc != AA_OK) {
        char msg[AA_DIAG_MSG_MAX + 64];
        aa_diag_format(&d, msg, sizeof(msg));
        ref_send_perr(resp, AA_PERR_INVALID_REQUEST, 0, "form body: %s", msg);
        return rc;
    }
    return AA_OK;
}

int ref_verify_request(const struct aa_server_request *req, struct aa_http_headers *hdrs,
                       struct aa_verify_request *vr)
{
    int rc;

    for (size_t i = 0; i < req->n_headers; i++) {
        rc = aa_http_headers_addn(hdrs, req->headers[i].name, req->headers[i].value,
                                  req->headers[i].value_len);
        if (rc != AA_OK)
            return rc;
    }
    memset(vr, 0, sizeof(*vr));
    vr->method = req->method;
    vr->target = req->target;
    vr->headers = hdrs;
    vr->body = req->body;
    vr->body_len = req->body_len;
    return AA_OK;
}

/* ---- building ------------------------------------------------------------- */

int ref_render_json(const cJSON *v, char **out)
{
    struct aa_buf b;
    int rc;

    if (out == NULL)
        return AA_E_INVAL;
    *out = NULL;
    aa_buf_init(&b, AA_BUF_DEFAULT_MAX);
    if ((rc = aa_json_print(v, &b)) != AA_OK) {
        aa_buf_free(&b);
        return rc;
    }
    *out = aa_buf_detach(&b, NULL);
    return *out ? AA_OK : AA_E_NOMEM;
}

char *ref_id_url(const struct aa_ref_server *s, const char *path)
{
    struct aa_buf b;

    aa_buf_init(&b, AA_URL_MAX_LEN);
    aa_buf_printf(&b, "%s%s", s->id, path);
    if (b.err != AA_OK)
        return NULL;
    return aa_buf_detach(&b, NULL);
}

int ref_sign_jwt(const struct aa_ref_server *s, const char *typ, const cJSON *claims, char **out)
{
    cJSON *h = cJSON_CreateObject();
    int rc;

    *out = NULL;
    if (h == NULL || cJSON_AddStringToObject(h, "kid", s->key.kid) == NULL ||
        cJSON_AddStringToObject(h, "typ", ref_fault(s, AA_REF_FAULT_WRONG_TYP) ? "JWT" : typ) ==
            NULL) {
        cJSON_Delete(h);
        return AA_E_NOMEM;
    }
    rc = aa_jwt_sign(h, claims, AA_ALG_ED25519, &s->key, NULL, out);
    cJSON_Delete(h);
    return rc;
}
