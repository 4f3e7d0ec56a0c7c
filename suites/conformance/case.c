/*
 * case: the side of the runner that lives inside a Criterion case process.
 * aa_conf_case_run() loads the configuration the parent wrote (path in
 * AA_CONFORMANCE_CONFIG), runs the case body, and every aa_check_* call
 * appends one result as a JSON line to the case's own file in the results
 * directory; a final {"done":true,...} line tells the parent the case
 * finished normally.
 *
 * Design choice: results are written (and flushed) the moment they are
 * recorded, so a case that crashes half-way still delivers what it had
 * established; everything it did not record becomes ERROR in the parent.
 * A result carries the tail of the case transcript at that moment: the
 * exchanges that led to the verdict are its evidence. The transcript goes
 * to a file of its own, appended once; a result line names how far it
 * reached ("tr_end") and the parent cuts each result's tail from the file
 * (collect.c) - rather than every line repeating up to 128 KiB of it,
 * which made the cases write and the runner parse tens of MiB per run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>

#include "aa_client.h"
#include "b64/aa_b64.h"
#include "json/aa_json.h"
#include "runner_int.h"

#define TRANSCRIPT_MAX ((size_t)64 * 1024 * 1024) /* one exchange as rendered */
#define MSG_MAX 400 /* generated one-line messages */

/* Exit statuses of a case process that could not start (the parent turns
 * them into ERROR results naming the cause). */
#define CASE_EXIT_CONFIG 71
#define CASE_EXIT_RESULTS 72

struct last_signed {
    bool valid;
    const struct aa_http_response *resp; /* the caller's object it answered into */
    long status;
    char *who, *method, *url;
    struct aa_http_headers headers;
    char *body;
    size_t body_len;
    unsigned flags;
    struct aa_jwk key;
    struct aa_sign_cred cred;
    char *cred_id, *cred_kid, *cred_wk, *cred_jwks, *cred_token;
    struct aa_sign_opts opts;
    char *base;
    size_t base_len;
};

static struct {
    bool active;
    const struct aa_conf_case *cs;
    struct aa_rconf conf;
    struct aa_conf_target targets[AA_CONF_N_ROLES];
    struct aa_conf_target *inst_targets; /* one per instance visible to this case */
    struct aa_rc_inst **inst_src;        /* the configuration entry of each */
    size_t n_inst;
    int64_t *inst_offsets;        /* clock advanced per instance */
    char case_key[256];           /* "cr_suite/name" */
    struct last_signed last;      /* the last conformantly signed exchange */
    const struct aa_quirk *quirk; /* found by a probe and allowed: in use */
    int64_t quirk_param;
    bool sending_signed;
    FILE *out;
    FILE *tr_out;    /* the transcript file (aa_case_transcript_path) */
    uint64_t tr_len; /* bytes in it */
    bool tr_full;    /* AA_CONF_TRANSCRIPT_FILE_MAX reached: nothing more */
    struct aa_http_client *http;
    uint64_t rng;
    struct timespec t_last;
    bool vectors_checked;
    bool vectors_present;
    size_t n_slots; /* checks the case lists */
    int *worst;     /* per slot: severity of the worst outcome, -1 none */
    enum aa_outcome *worst_o;
} g;

static const struct aa_conf_target no_target;

static void remember(const struct aa_check *c, enum aa_outcome o);
static void last_clear(void);
static void q_add(struct aa_buf *b, const char *k, const char *v);

/* ---- small helpers ------------------------------------------------------ */

static double ms_since(struct timespec *t)
{
    struct timespec now;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
    *t = now;
    return ms < 0 ? 0 : ms;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s != NULL && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void suite_bug(const char *fmt, ...) AA_PRINTF(1, 2);
/* A suite broke the API contract: say so loudly and crash the case, so
 * its checks are reported as ERROR with this text nearby. */
static void suite_bug(const char *fmt, ...)
{
    va_list ap;

    fputs("aauth-conformance: suite bug: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* Append to the transcript file. Bounded: past AA_CONF_TRANSCRIPT_FILE_MAX
 * the rest of the case is left out (with a note), never the evidence
 * already written. */
static void transcript_add(const char *p, size_t n)
{
    static const char cut[] = "\n[... the rest of this case's transcript is left out: over "
                              "the size bound ...]\n";

    if (g.tr_out == NULL || g.tr_full || n == 0)
        return;
    if (g.tr_len + n + sizeof(cut) > AA_CONF_TRANSCRIPT_FILE_MAX) {
        g.tr_full = true;
        p = cut;
        n = sizeof(cut) - 1;
    }
    if (fwrite(p, 1, n, g.tr_out) != n) {
        g.tr_full = true; /* a disk problem: results still carry tr_end */
        return;
    }
    g.tr_len += n;
}

/* One line: newlines become spaces, cut at |cap| with "...". */
static void one_line(struct aa_buf *out, const char *s, size_t cap)
{
    size_t n = 0;

    for (; s != NULL && *s; s++, n++) {
        if (n >= cap) {
            aa_buf_adds(out, "...");
            return;
        }
        aa_buf_addc(out, (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s);
    }
}

static char *vfmt(const char *fmt, va_list ap) AA_PRINTF(1, 0);
static char *vfmt(const char *fmt, va_list ap)
{
    struct aa_buf b;

    if (fmt == NULL)
        return NULL;
    aa_buf_init(&b, AA_CASE_MAX_FIELD);
    aa_buf_vprintf(&b, fmt, ap);
    if (b.err)
        return aa_strdup("(message too long)");
    return aa_buf_detach(&b, NULL);
}

/* ---- context ------------------------------------------------------------ */

const struct aa_conf_target *aa_conf_target(enum aa_role role)
{
    if (!g.active || role <= AA_ROLE_NONE || role >= AA_CONF_N_ROLES)
        return &no_target;
    return &g.targets[role];
}

int64_t aa_conf_now(void)
{
    if (g.active && g.conf.clock_frozen)
        return g.conf.clock_value;
    return (int64_t)time(NULL);
}

bool aa_conf_clock_frozen(void)
{
    return g.active && g.conf.clock_frozen;
}

uint64_t aa_conf_seed(void)
{
    return g.conf.seed;
}

uint64_t aa_conf_rand64(void)
{
    return splitmix64(&g.rng);
}

bool aa_conf_dev_mode(void)
{
    return g.conf.dev_mode;
}

int aa_conf_verbosity(void)
{
    return g.conf.verbose ? 1 : 0;
}

const char *aa_conf_vectors_dir(void)
{
    if (!g.vectors_checked) {
        struct stat st;
        g.vectors_checked = true;
        g.vectors_present =
            g.conf.vectors_dir != NULL && stat(g.conf.vectors_dir, &st) == 0 && S_ISDIR(st.st_mode);
    }
    return g.vectors_present ? g.conf.vectors_dir : NULL;
}

const char *aa_conf_vectors_dir_configured(void)
{
    return g.conf.vectors_dir != NULL ? g.conf.vectors_dir : "(none)";
}

bool aa_conf_quirk_allowed(const char *name)
{
    if (aa_quirk_find(name) == NULL)
        suite_bug("quirk \"%s\" is not in the quirk catalogue (suites/conformance/quirks.c)",
                  name ? name : "(null)");
    return aa_strv_has(&g.conf.quirks, name);
}

bool aa_conf_declared(enum aa_role role, const char *feature)
{
    const char *const *emb;

    if (feature == NULL || role <= AA_ROLE_NONE || role >= AA_CONF_N_ROLES)
        return false;
    if (aa_strv_has(&g.conf.roles[role].declare, feature))
        return true;
    if (g.conf.roles[role].embedded &&
        (emb = aa_embedded_features_x(role, aa_conf_instance("resource2")->present)) != NULL)
        for (; *emb != NULL; emb++)
            if (strcmp(*emb, feature) == 0)
                return true;
    return false;
}

const struct aa_conf_case *aa_conf_current_case(void)
{
    return g.active ? g.cs : NULL;
}

/* ---- servers the case hosts (--harness-host) ----------------------------- */

const char *aa_conf_harness_host(void)
{
    return g.conf.harness_host != NULL ? g.conf.harness_host : "127.0.0.1";
}

static bool ip_is_loopback(const char *h)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, h, &a6) == 1 && memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
}

bool aa_conf_harness_reachable(const struct aa_conf_target *t, struct aa_diag *d)
{
    const char *hh = aa_conf_harness_host();

    /* The delegate command runs on this host. */
    if (t == NULL || !t->present || t->role == AA_ROLE_DELEGATE)
        return true;
    /* Embedded servers live in the runner on this host and reach any
     * address of it - but, as dev-mode references, they accept http
     * identifiers only on loopback (PROFILE#1 D-1). */
    if (t->embedded) {
        if (ip_is_loopback(hh))
            return true;
        aa_fail(d, AA_E_UNSUPPORTED, AA_CONF_REF_HARNESS_HOST,
                "not testable in this topology: the embedded %s accepts http identifiers only on "
                "loopback (PROFILE#1 D-1), and the servers this case hosts are named "
                "http://%s:PORT (--harness-host)",
                t->name != NULL ? t->name : aa_role_name(t->role), hh);
        return false;
    }
    /* A non-loopback harness host is the user's statement that the targets
     * can reach it (and accept http identifiers on it: a lab setting). */
    if (!ip_is_loopback(hh))
        return true;
    if (t->connect_url != NULL && aa_url_is_loopback(t->connect_url))
        return true;
    aa_fail(d, AA_E_UNSUPPORTED, AA_CONF_REF_HARNESS_HOST,
            "not testable in this topology: %s %s is not on this host's loopback, so it cannot "
            "reach the servers this case hosts on %s; run with --harness-host ADDR (an address "
            "of this host that %s can connect to) to evaluate it",
            t->name != NULL ? t->name : aa_role_name(t->role),
            t->id != NULL ? t->id : "(no identifier)", hh,
            t->name != NULL ? t->name : aa_role_name(t->role));
    return false;
}

int aa_conf_harness_check(struct aa_diag *d)
{
    for (int r = AA_ROLE_AGENT_SERVER; r <= AA_ROLE_AUTH_SERVER; r++)
        if (g.targets[r].under_test && !aa_conf_harness_reachable(&g.targets[r], d))
            return AA_E_UNSUPPORTED;
    for (size_t i = 0; i < g.n_inst; i++)
        if (g.inst_targets[i].under_test && !aa_conf_harness_reachable(&g.inst_targets[i], d))
            return AA_E_UNSUPPORTED;
    return AA_OK;
}

bool aa_conf_diag_unreachable(const struct aa_diag *d)
{
    return d != NULL && d->code == AA_E_UNSUPPORTED && d->ref != NULL &&
           strcmp(d->ref, AA_CONF_REF_HARNESS_HOST) == 0;
}

bool aa_check_require_reachable(const struct aa_conf_target *t,
                                const struct aa_check *const *checks)
{
    struct aa_diag d;

    aa_diag_clear(&d);
    if (aa_conf_harness_reachable(t, &d))
        return true;
    for (const struct aa_check *const *p = checks; p != NULL && *p != NULL; p++) {
        bool done = false;
        aa_check_outcome(*p, &done);
        if (!done)
            aa_check_skip(*p, "%s", d.msg);
    }
    return false;
}

/* ---- identifiers and connect URLs ----------------------------------------- */

/* |url| is |origin| or starts with it followed by a path, query or
 * fragment; |*n| gets the origin's length. */
static bool on_origin(const char *url, const char *origin, size_t *n)
{
    size_t k;

    if (url == NULL || origin == NULL || *origin == '\0')
        return false;
    k = strlen(origin);
    if (strncmp(url, origin, k) != 0 ||
        (url[k] != '\0' && url[k] != '/' && url[k] != '?' && url[k] != '#'))
        return false;
    *n = k;
    return true;
}

/* The participant (a role of the run or an instance this case sees) whose
 * identifier (*on_id) or else connect URL |url| is on; NULL if none. */
static const struct aa_conf_target *participant(const char *url, bool *on_id, size_t *n)
{
    const struct aa_conf_target *by_connect = NULL;
    size_t nc = 0;

    for (size_t k = 0; g.active && k < AA_CONF_N_ROLES + g.n_inst; k++) {
        const struct aa_conf_target *t =
            k < AA_CONF_N_ROLES ? &g.targets[k] : &g.inst_targets[k - AA_CONF_N_ROLES];
        if (!t->present || t->id == NULL)
            continue;
        if (on_origin(url, t->id, n)) {
            *on_id = true;
            return t;
        }
        if (by_connect == NULL && on_origin(url, t->connect_url, &nc))
            by_connect = t;
    }
    *on_id = false;
    *n = nc;
    return by_connect;
}

int aa_conf_connect_url(const char *url, struct aa_buf *out)
{
    const struct aa_conf_target *t;
    bool on_id = false;
    size_t n = 0;

    if (url == NULL || out == NULL)
        return AA_E_INVAL;
    t = participant(url, &on_id, &n);
    if (t != NULL && on_id && t->connect_url != NULL && strcmp(t->id, t->connect_url) != 0)
        aa_buf_printf(out, "%s%s", t->connect_url, url + n);
    else
        aa_buf_adds(out, url);
    return out->err != AA_OK ? AA_E_LIMIT : AA_OK;
}

int aa_conf_sign_authority(const char *url, char *out, size_t cap)
{
    const struct aa_conf_target *t;
    bool on_id = false;
    size_t n = 0;

    if (url == NULL || out == NULL || cap == 0)
        return AA_E_INVAL;
    t = participant(url, &on_id, &n);
    /* PROFILE#2.5 D-2: the receiver's canonical authority is its
     * identifier's, wherever the harness connects */
    if (t != NULL && aa_url_authority_of(t->id, out, cap, NULL) == AA_OK)
        return AA_OK;
    return aa_url_authority_of(url, out, cap, NULL) == AA_OK ? AA_OK : AA_E_INVAL;
}

/* ---- manual consent --------------------------------------------------------- */

bool aa_conf_consent_manual(void)
{
    return g.active && g.conf.consent_manual;
}

bool aa_conf_consent_available(char *why, size_t cap)
{
    const char *reason = NULL;

    if (!g.active || !g.conf.consent_manual)
        reason = "--consent manual is not set: the scripted user of PROFILE#6.6 decides";
    else if (!g.conf.consent_tty)
        reason = g.conf.consent_why != NULL
                     ? g.conf.consent_why
                     : "manual consent needs a terminal to ask a person, and this run has none";
    else if (g.conf.control_url == NULL)
        reason = "manual consent goes through the runner's control channel, which is not running";
    if (reason == NULL)
        return true;
    if (why != NULL && cap > 0)
        aa_snprintf(why, cap, "%s", reason);
    return false;
}

int aa_conf_consent_prompt(void *ctx, const char *url, char *line, size_t cap)
{
    const char *ask = ctx != NULL ? (const char *)ctx : "decide";
    struct itimerval saved, off;
    struct aa_buf q;
    struct aa_diag d;
    char why[512];
    cJSON *o = NULL;
    const char *got;
    int rc;

    if (!g.active)
        suite_bug("aa_conf_consent_prompt() called outside a case");
    if (url == NULL || line == NULL || cap < 2)
        return AA_E_INVAL;
    line[0] = '\0';
    if (!aa_conf_consent_available(why, sizeof(why))) {
        aa_conf_note("*** manual consent not possible: %s ***", why);
        return AA_E_CLIENT_INPUT;
    }
    aa_diag_clear(&d);
    aa_buf_init(&q, 3 * AA_URL_MAX_LEN);
    aa_buf_adds(&q, "/v1/consent?");
    q_add(&q, "name", "consent");
    q_add(&q, "case", g.case_key);
    q_add(&q, "ask", ask);
    q_add(&q, "url", url);
    aa_conf_note("--- manual consent: the runner shows %s on the terminal and asks the person to "
                 "%s ---",
                 url, ask);
    /* a person takes their time: the case's deadline waits for them */
    memset(&off, 0, sizeof(off));
    getitimer(ITIMER_REAL, &saved);
    setitimer(ITIMER_REAL, &off, NULL);
    rc = q.err ? AA_E_NOMEM
               : aa_control_call_wait(&g.conf, "POST", q.p, AA_CONF_CONSENT_WAIT_MS, &o, &d);
    if (saved.it_value.tv_sec != 0 || saved.it_value.tv_usec != 0)
        setitimer(ITIMER_REAL, &saved, NULL);
    aa_buf_free(&q);
    if (rc != AA_OK) {
        aa_conf_note("*** manual consent: %s: %s ***", aa_conf_strerror(rc), d.msg);
        cJSON_Delete(o);
        /* the runner answered "nothing entered" (end of input) */
        return rc == AA_E_NOTFOUND ? AA_E_CLIENT_INPUT : rc;
    }
    got = aa_json_str(o, "line");
    if (got == NULL || *got == '\0' || strlen(got) >= cap) {
        aa_conf_note("*** manual consent: %s ***", got == NULL || *got == '\0'
                                                       ? "nothing was entered"
                                                       : "the answer is too long");
        cJSON_Delete(o);
        return AA_E_CLIENT_INPUT;
    }
    aa_snprintf(line, cap, "%s", got);
    aa_conf_note("--- manual consent: the person answered %s ---", line);
    cJSON_Delete(o);
    return AA_OK;
}

/* ---- keys, instances and the control channel ----------------------------- */

static long inst_index(const char *name)
{
    for (size_t i = 0; name != NULL && i < g.n_inst; i++)
        if (strcmp(g.inst_targets[i].name, name) == 0)
            return (long)i;
    return -1;
}

const struct aa_conf_target *aa_conf_instance(const char *name)
{
    long i = g.active ? inst_index(name) : -1;
    return i < 0 ? &no_target : &g.inst_targets[i];
}

static int load_key(const char *what, const char *file, const char *kid, bool embedded,
                    struct aa_jwk *out, struct aa_diag *d)
{
    memset(out, 0, sizeof(*out));
    if (!embedded || file == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "README#keys",
                       "%s is not embedded in this run: the harness holds no private key for it",
                       what);
    return aa_jwk_load_file(file, kid, out, d);
}

int aa_conf_role_key(enum aa_role role, struct aa_jwk *out, struct aa_diag *d)
{
    const struct aa_rc_role *ro;

    if (!g.active || role < AA_ROLE_AGENT_SERVER || role > AA_ROLE_AUTH_SERVER) {
        memset(out, 0, sizeof(*out));
        return aa_fail(d, AA_E_NOTFOUND, "README#keys", "%s has no signing key in this run",
                       aa_role_name(role));
    }
    ro = &g.conf.roles[role];
    return load_key(aa_role_name(role), ro->key_file, ro->kid, ro->embedded && ro->url == NULL, out,
                    d);
}

int aa_conf_instance_key(const char *name, struct aa_jwk *out, struct aa_diag *d)
{
    long i = g.active ? inst_index(name) : -1;

    if (i < 0) {
        memset(out, 0, sizeof(*out));
        return aa_fail(d, AA_E_NOTFOUND, "README#keys", "instance %s is not in this run",
                       name ? name : "(null)");
    }
    return load_key(name, g.inst_src[i]->key_file, g.inst_src[i]->kid, g.inst_src[i]->embedded, out,
                    d);
}

/* "name=N&case=..." query pieces, form-encoded. */
static void q_add(struct aa_buf *b, const char *k, const char *v)
{
    aa_form_add(b, k, v);
}

static bool is_per_case(const char *name)
{
    const struct aa_inst_def *def = aa_inst_find(name);
    return def != NULL && def->per_case;
}

int aa_conf_embedded_hits(const char *instance_or_role, const char *path, uint64_t *out)
{
    struct aa_buf q;
    struct aa_diag d;
    cJSON *o = NULL;
    const cJSON *h;
    int rc;

    *out = 0;
    if (!g.active)
        suite_bug("aa_conf_embedded_hits() called outside a case");
    if (instance_or_role == NULL || path == NULL)
        return AA_E_INVAL;
    aa_diag_clear(&d);
    aa_buf_init(&q, 8192);
    aa_buf_adds(&q, "/v1/hits?");
    q_add(&q, "name", instance_or_role);
    q_add(&q, "path", path);
    if (is_per_case(instance_or_role))
        q_add(&q, "case", g.case_key);
    rc = q.err ? AA_E_NOMEM : aa_control_call(&g.conf, "GET", q.p, &o, &d);
    aa_buf_free(&q);
    if (rc != AA_OK) {
        aa_conf_note("*** control channel: hits of %s %s: %s: %s ***", instance_or_role, path,
                     aa_conf_strerror(rc), d.msg);
        return rc;
    }
    h = cJSON_GetObjectItemCaseSensitive(o, "hits");
    if (cJSON_IsNumber(h) && h->valuedouble >= 0)
        *out = (uint64_t)h->valuedouble;
    else
        rc = AA_E_INTERNAL;
    cJSON_Delete(o);
    return rc;
}

int aa_conf_advance_clock(const char *instance, int64_t seconds)
{
    struct aa_buf q;
    struct aa_diag d;
    char num[32];
    cJSON *o = NULL;
    long i;
    int rc;

    if (!g.active)
        suite_bug("aa_conf_advance_clock() called outside a case");
    if (seconds <= 0)
        return AA_E_INVAL;
    if ((i = inst_index(instance)) < 0 || !g.inst_targets[i].embedded || !is_per_case(instance))
        return AA_E_NOTFOUND;
    aa_diag_clear(&d);
    aa_snprintf(num, sizeof(num), "%lld", (long long)seconds);
    aa_buf_init(&q, 8192);
    aa_buf_adds(&q, "/v1/clock?");
    q_add(&q, "name", instance);
    q_add(&q, "case", g.case_key);
    q_add(&q, "seconds", num);
    rc = q.err ? AA_E_NOMEM : aa_control_call(&g.conf, "POST", q.p, &o, &d);
    aa_buf_free(&q);
    if (rc == AA_OK) {
        g.inst_offsets[i] += seconds;
        aa_conf_note("--- clock of %s advanced by %lld s (now %lld s ahead of the harness) ---",
                     instance, (long long)seconds, (long long)g.inst_offsets[i]);
    } else {
        aa_conf_note("*** control channel: advancing the clock of %s: %s: %s ***", instance,
                     aa_conf_strerror(rc), d.msg);
    }
    cJSON_Delete(o);
    return rc;
}

int64_t aa_conf_instance_clock_offset(const char *instance)
{
    long i = g.active ? inst_index(instance) : -1;
    return i < 0 ? 0 : g.inst_offsets[i];
}

static int headers_from_json(const cJSON *arr, struct aa_http_headers *h)
{
    const cJSON *pair;
    int rc = AA_OK;

    cJSON_ArrayForEach(pair, arr)
    {
        const cJSON *n = cJSON_GetArrayItem(pair, 0), *v = cJSON_GetArrayItem(pair, 1);
        if (!cJSON_IsString(n) || !cJSON_IsString(v))
            return AA_E_INTERNAL;
        if ((rc = aa_http_headers_add(h, n->valuestring, v->valuestring)) != AA_OK)
            return rc;
    }
    return rc;
}

static int b64_field(const cJSON *o, const char *name, char **out, size_t *len)
{
    const char *s = aa_json_str(o, name);
    size_t n = s ? strlen(s) : 0, cap = aa_b64_decoded_max(n) + 1;
    char *p;

    *out = NULL;
    *len = 0;
    if (s == NULL || (p = malloc(cap)) == NULL)
        return AA_E_INTERNAL;
    if (aa_b64_decode(s, n, AA_B64_STD, AA_B64_PAD_REQUIRED, 0, (uint8_t *)p, cap - 1, len, NULL) !=
        AA_OK) {
        free(p);
        return AA_E_INTERNAL;
    }
    p[*len] = '\0';
    *out = p;
    return AA_OK;
}

int aa_conf_recorded(const char *instance, uint64_t since, struct aa_conf_recording *out,
                     struct aa_diag *d)
{
    struct aa_buf q;
    char num[32];
    cJSON *o = NULL;
    const cJSON *e, *arr;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!g.active)
        suite_bug("aa_conf_recorded() called outside a case");
    aa_snprintf(num, sizeof(num), "%llu", (unsigned long long)since);
    aa_buf_init(&q, 8192);
    aa_buf_adds(&q, "/v1/requests?");
    q_add(&q, "name", instance ? instance : "");
    q_add(&q, "since", num);
    rc = q.err ? AA_E_NOMEM : aa_control_call(&g.conf, "GET", q.p, &o, d);
    aa_buf_free(&q);
    if (rc != AA_OK)
        return rc;
    arr = cJSON_GetObjectItemCaseSensitive(o, "entries");
    out->v = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*out->v));
    if (out->v == NULL) {
        cJSON_Delete(o);
        return aa_fail(d, AA_E_NOMEM, "README#internals", "out of memory");
    }
    cJSON_ArrayForEach(e, arr)
    {
        struct aa_conf_rec_entry *x = &out->v[out->n++];
        const cJSON *num_v;
        aa_http_headers_init(&x->headers);
        aa_http_headers_init(&x->resp_headers);
        num_v = cJSON_GetObjectItemCaseSensitive(e, "seq");
        x->seq = cJSON_IsNumber(num_v) ? (uint64_t)num_v->valuedouble : 0;
        num_v = cJSON_GetObjectItemCaseSensitive(e, "at");
        x->received_at = cJSON_IsNumber(num_v) ? (int64_t)num_v->valuedouble : 0;
        num_v = cJSON_GetObjectItemCaseSensitive(e, "status");
        x->status = cJSON_IsNumber(num_v) ? (long)num_v->valuedouble : 0;
        num_v = cJSON_GetObjectItemCaseSensitive(e, "streamed");
        x->resp_streamed = cJSON_IsNumber(num_v) ? (uint64_t)num_v->valuedouble : 0;
        x->method = aa_strdup(aa_json_str(e, "method") ? aa_json_str(e, "method") : "");
        x->target = aa_strdup(aa_json_str(e, "target") ? aa_json_str(e, "target") : "");
        if (x->method == NULL || x->target == NULL ||
            headers_from_json(cJSON_GetObjectItemCaseSensitive(e, "headers"), &x->headers) !=
                AA_OK ||
            headers_from_json(cJSON_GetObjectItemCaseSensitive(e, "resp_headers"),
                              &x->resp_headers) != AA_OK ||
            b64_field(e, "body", &x->body, &x->body_len) != AA_OK ||
            b64_field(e, "resp_body", &x->resp_body, &x->resp_body_len) != AA_OK) {
            cJSON_Delete(o);
            aa_conf_recording_cleanup(out);
            return aa_fail(d, AA_E_INTERNAL, "README#internals",
                           "control channel: malformed recording of %s", instance);
        }
    }
    {
        const cJSON *nx = cJSON_GetObjectItemCaseSensitive(o, "next");
        out->next = cJSON_IsNumber(nx) ? (uint64_t)nx->valuedouble : since;
    }
    cJSON_Delete(o);
    return AA_OK;
}

void aa_conf_recording_cleanup(struct aa_conf_recording *r)
{
    for (size_t i = 0; r != NULL && r->v != NULL && i < r->n; i++) {
        struct aa_conf_rec_entry *x = &r->v[i];
        free(x->method);
        free(x->target);
        aa_http_headers_cleanup(&x->headers);
        free(x->body);
        aa_http_headers_cleanup(&x->resp_headers);
        free(x->resp_body);
    }
    if (r != NULL) {
        free(r->v);
        memset(r, 0, sizeof(*r));
    }
}

int aa_conf_instance_mode(const char *instance, const char *mode, struct aa_diag *d)
{
    struct aa_buf q;
    cJSON *o = NULL;
    int rc;

    if (!g.active)
        suite_bug("aa_conf_instance_mode() called outside a case");
    aa_buf_init(&q, 8192);
    aa_buf_adds(&q, "/v1/mode?");
    q_add(&q, "name", instance ? instance : "");
    q_add(&q, "mode", mode ? mode : "");
    rc = q.err ? AA_E_NOMEM : aa_control_call(&g.conf, "POST", q.p, &o, d);
    aa_buf_free(&q);
    cJSON_Delete(o);
    if (rc == AA_OK)
        aa_conf_note("--- %s switched to mode %s ---", instance, mode);
    return rc;
}

/* ---- transcript and HTTP ------------------------------------------------ */

void aa_conf_note(const char *fmt, ...)
{
    va_list ap;
    char *s;
    size_t n;

    va_start(ap, fmt);
    s = vfmt(fmt, ap);
    va_end(ap);
    if (s == NULL)
        return;
    n = strlen(s);
    transcript_add(s, n);
    if (n == 0 || s[n - 1] != '\n')
        transcript_add("\n", 1);
    free(s);
}

void aa_conf_note_block(const char *what, const char *text, size_t len)
{
    aa_conf_note("--- %s ---", what ? what : "");
    if (text != NULL)
        transcript_add(text, len);
    aa_conf_note("\n--- end of %s ---", what ? what : "");
}

int aa_conf_send(const char *who, const struct aa_http_request *req, struct aa_http_response *resp,
                 struct aa_diag *d)
{
    struct aa_http_request routed;
    struct aa_buf tr, cu;
    int rc;

    if (!g.active)
        suite_bug("aa_conf_send() called outside a case");
    if (!g.sending_signed && g.last.resp == resp)
        last_clear(); /* this response object no longer answers the signed request */
    if (g.http == NULL) {
        struct aa_http_client_opts o = {0};
        o.user_agent = "aauth-conformance/" AA_VERSION;
        if ((g.http = aa_http_client_new(&o)) == NULL)
            return aa_fail(d, AA_E_NOMEM, "README#internals", "cannot create an HTTP client");
    }
    /* a URL on an identifier the harness reaches elsewhere (--public-url) */
    aa_buf_init(&cu, AA_URL_MAX_LEN + 1);
    if (req->url != NULL && aa_conf_connect_url(req->url, &cu) == AA_OK &&
        strcmp(cu.p, req->url) != 0) {
        aa_conf_note("--- %s is an identifier; the harness connects to %s ---", req->url, cu.p);
        routed = *req;
        routed.url = cu.p;
        req = &routed;
    }
    rc = aa_http_send(g.http, req, resp, d);
    aa_buf_init(&tr, TRANSCRIPT_MAX / 4);
    aa_http_transcript_request(&tr, who ? who : "HARNESS", req, resp,
                               AA_HTTP_TR_FULL | AA_HTTP_TR_WIRE);
    if (rc == AA_OK || resp->status_line != NULL)
        aa_http_transcript_response(&tr, who ? who : "HARNESS", resp, AA_HTTP_TR_FULL);
    if (rc != AA_OK)
        aa_buf_printf(&tr, "*** no usable response: %s: %s ***\n\n", aa_conf_strerror(rc),
                      d != NULL ? d->msg : "");
    if (!tr.err)
        transcript_add(tr.p, tr.len);
    else
        aa_conf_note("*** exchange with %s too large for the transcript ***", req->url);
    aa_buf_free(&tr);
    aa_buf_free(&cu);
    return rc;
}

static int64_t conf_clock(void *ctx)
{
    (void)ctx;
    return aa_conf_now();
}

/* ---- signed requests and the quirk probes ------------------------------- */

/*
 * A request signed the profile's way (no diagnostic option at all): when
 * the target refuses it where the case expected success, the runner probes
 * the known deviations (quirks.c) by re-sending it signed each quirk's way.
 */
static bool conformant_opts(const struct aa_sign_opts *o, const struct aa_sign_cred *cred)
{
    if (cred != NULL && cred->raw_signature_key != NULL)
        return false;
    if (o == NULL)
        return true;
    return o->variants == 0 && o->components == NULL && o->omit == NULL && o->append == NULL &&
           o->sf_components == NULL && !o->has_expires && o->alg == NULL &&
           o->created_offset == 0 && o->input_label == NULL && o->signature_label == NULL &&
           o->key_label == NULL && (o->label == NULL || strcmp(o->label, "sig1") == 0) &&
           o->nonce_mode != AA_SIGN_NONCE_GIVEN;
}

static void last_clear(void)
{
    struct last_signed *l = &g.last;

    free(l->who);
    free(l->method);
    free(l->url);
    aa_http_headers_cleanup(&l->headers);
    free(l->body);
    aa_jwk_cleanup(&l->key);
    free(l->cred_id);
    free(l->cred_kid);
    free(l->cred_wk);
    free(l->cred_jwks);
    free(l->cred_token);
    if (l->base != NULL)
        aa_cleanse(l->base, l->base_len);
    free(l->base);
    memset(l, 0, sizeof(*l));
}

static char *dup0(const char *s)
{
    return s != NULL ? aa_strdup(s) : NULL;
}

/* Remember a conformantly signed exchange for the probes. */
static void last_store(const char *who, const struct aa_http_request *req, const struct aa_jwk *key,
                       const struct aa_sign_cred *cred, const struct aa_sign_opts *opts,
                       const struct aa_http_response *resp, const struct aa_signed *sg)
{
    struct last_signed *l = &g.last;
    const struct aa_http_headers *h = req->headers;
    int rc = AA_OK;

    last_clear();
    aa_http_headers_init(&l->headers);
    l->who = dup0(who ? who : "HARNESS");
    l->method = dup0(req->method);
    l->url = dup0(req->url);
    for (size_t i = 0; rc == AA_OK && h != NULL && i < h->n; i++)
        rc = h->v[i].raw ? aa_http_headers_add_line(&l->headers, h->v[i].name)
                         : aa_http_headers_addn(&l->headers, h->v[i].name, h->v[i].value,
                                                h->v[i].value_len);
    if (req->body_len > 0 && (l->body = malloc(req->body_len)) != NULL) {
        memcpy(l->body, req->body, req->body_len);
        l->body_len = req->body_len;
    }
    l->flags = req->flags;
    if (aa_jwk_copy(&l->key, key) != AA_OK)
        rc = AA_E_NOMEM;
    if (cred != NULL) {
        l->cred = *cred;
        l->cred_id = dup0(cred->id);
        l->cred_kid = dup0(cred->kid);
        l->cred_wk = dup0(cred->well_known);
        l->cred_jwks = dup0(cred->jwks_url);
        l->cred_token = dup0(cred->token);
        l->cred.id = l->cred_id;
        l->cred.kid = l->cred_kid;
        l->cred.well_known = l->cred_wk;
        l->cred.jwks_url = l->cred_jwks;
        l->cred.token = l->cred_token;
        l->cred.x5u = l->cred.x5t = NULL;
    }
    if (opts != NULL) {
        l->opts = *opts;
        l->opts.clock = NULL; /* only the harness clock: conformant opts carry nothing else */
        l->opts.extra_covered = NULL;
    }
    if (sg->base != NULL && (l->base = malloc(sg->base_len + 1)) != NULL) {
        memcpy(l->base, sg->base, sg->base_len);
        l->base[sg->base_len] = '\0';
        l->base_len = sg->base_len;
    }
    if (rc != AA_OK || l->who == NULL || l->method == NULL || l->url == NULL ||
        (req->body_len > 0 && l->body == NULL)) {
        last_clear();
        return;
    }
    l->resp = resp;
    l->status = resp->status;
    l->valid = true;
}

/* The profile's covered components for |req| (PROFILE#2.4), reversed. */
static void reversed_components(const struct aa_http_request *req, const struct aa_sign_opts *o,
                                const char **out, size_t cap)
{
    const char *v[8];
    size_t n = 0;
    bool nonce = o->nonce_mode == AA_SIGN_NONCE_ALWAYS ||
                 (o->nonce_mode == AA_SIGN_NONCE_AUTO && req->method != NULL &&
                  strcmp(req->method, "POST") == 0);

    v[n++] = "@method";
    v[n++] = "@authority";
    v[n++] = "@path";
    if (req->url != NULL && strchr(req->url, '?') != NULL)
        v[n++] = "@query";
    if (req->body_len > 0) {
        v[n++] = "content-type";
        v[n++] = "content-digest";
    }
    if (nonce)
        v[n++] = "nonce";
    v[n++] = "signature-key";
    for (size_t i = 0; i < n && i + 1 < cap; i++)
        out[i] = v[n - 1 - i];
    out[n < cap ? n : cap - 1] = NULL;
}

/* "localhost:PORT" for a loopback-literal URL, else false. */
static bool host_alias(const char *url, char *out, size_t cap)
{
    struct aa_url u;

    if (url == NULL || aa_url_parse(url, strlen(url), 0, &u, NULL) != AA_OK)
        return false;
    if (!((u.host.len == 9 && memcmp(u.host.p, "127.0.0.1", 9) == 0) ||
          (u.ipv6 && u.host.len == 3 && memcmp(u.host.p, "::1", 3) == 0)))
        return false;
    if (u.has_port)
        return aa_snprintf(out, cap, "localhost:%u", (unsigned)u.port) == AA_OK;
    return aa_snprintf(out, cap, "localhost") == AA_OK;
}

/*
 * Sign and send, applying |q| (a signer quirk, or NULL) with |param| (the
 * created offset for AA_QUIRK_PROBE_CREATED). AA_E_UNSUPPORTED when the
 * quirk does not apply to this request (no query, no loopback host).
 */
static int send_signed_as(const char *who, const struct aa_http_request *req,
                          const struct aa_jwk *key, const struct aa_sign_cred *cred,
                          const struct aa_sign_opts *opts, const struct aa_quirk *q, int64_t param,
                          struct aa_http_response *resp, struct aa_signed *signed_out,
                          struct aa_diag *d)
{
    static const struct aa_clock harness_clock = {conf_clock, NULL};
    struct aa_sign_request sr = {0};
    struct aa_sign_opts o = {0};
    struct aa_http_request sent;
    struct aa_http_headers all;
    struct aa_signed sg;
    const struct aa_http_headers *h = req->headers;
    const char *rev[12];
    char alias[AA_URL_AUTHORITY_MAX], canon[AA_URL_AUTHORITY_MAX], conn[AA_URL_AUTHORITY_MAX];
    struct aa_buf cu;
    int rc;

    memset(&sg, 0, sizeof(sg));
    aa_http_headers_init(&all);
    aa_buf_init(&cu, AA_URL_MAX_LEN + 1);
    if (opts != NULL)
        o = *opts;
    if (o.clock == NULL)
        o.clock = &harness_clock;
    /* PROFILE#2.5 D-2: sign for the receiver's canonical authority (its
     * identifier's), send to where the harness reaches it */
    if (req->url == NULL || aa_conf_connect_url(req->url, &cu) != AA_OK ||
        aa_conf_sign_authority(req->url, canon, sizeof(canon)) != AA_OK ||
        aa_url_authority_of(cu.p, conn, sizeof(conn), NULL) != AA_OK) {
        rc = aa_fail(d, AA_E_INVAL, "PROFILE#2.5", "cannot sign for URL %.200s",
                     req->url != NULL ? req->url : "(none)");
        aa_buf_free(&cu);
        return rc;
    }
    sr.method = req->method;
    sr.url = cu.p;
    if (strcmp(canon, conn) != 0) {
        sr.authority = canon;
        aa_conf_note("--- signed for @authority %s, the canonical authority of the receiver's "
                     "identifier (PROFILE#2.5 D-2); sent to %s ---",
                     canon, cu.p);
    }
    sr.headers = req->headers;
    sr.body = req->body;
    sr.body_len = req->body_len;
    alias[0] = '\0';
    if (q != NULL) {
        switch (q->probe) {
        case AA_QUIRK_PROBE_VARIANT:
            if ((q->sign_variants & AA_SIGN_V_QUERY_NO_QMARK) &&
                (req->url == NULL || strchr(req->url, '?') == NULL)) {
                aa_buf_free(&cu);
                return AA_E_UNSUPPORTED;
            }
            o.variants |= q->sign_variants;
            break;
        case AA_QUIRK_PROBE_HOST:
            if (!host_alias(cu.p, alias, sizeof(alias))) {
                aa_buf_free(&cu);
                return AA_E_UNSUPPORTED;
            }
            sr.authority = alias; /* the target takes it from Host: sign for that */
            break;
        case AA_QUIRK_PROBE_CREATED:
            o.created_offset += param;
            break;
        case AA_QUIRK_PROBE_ORDER:
            reversed_components(req, &o, rev, sizeof(rev) / sizeof(rev[0]));
            o.components = rev;
            break;
        case AA_QUIRK_PROBE_LABEL:
            o.label = "sig";
            break;
        default:
            break;
        }
    }
    rc = aa_aauth_sign(NULL, &sr, key, cred, &o, &sg, d);
    if (rc != AA_OK) {
        aa_conf_note("*** could not sign %s %s: %s: %s ***", req->method ? req->method : "",
                     req->url ? req->url : "", aa_conf_strerror(rc), d != NULL ? d->msg : "");
        goto out;
    }
    for (size_t i = 0; rc == AA_OK && h != NULL && i < h->n; i++)
        rc = h->v[i].raw
                 ? aa_http_headers_add_line(&all, h->v[i].name)
                 : aa_http_headers_addn(&all, h->v[i].name, h->v[i].value, h->v[i].value_len);
    if (rc == AA_OK && alias[0] != '\0')
        rc = aa_http_headers_add(&all, "Host", alias);
    for (size_t i = 0; rc == AA_OK && i < sg.headers.n; i++) {
        const struct aa_http_header *x = &sg.headers.v[i];
        if (q != NULL && q->probe == AA_QUIRK_PROBE_UNPADDED && !x->raw &&
            strcasecmp(x->name, "Signature") == 0) {
            /* the same bytes, '=' padding dropped: "sig1=:...==:" -> "sig1=:...:" */
            struct aa_buf v;
            size_t last = x->value_len, pad;
            while (last > 0 && x->value[last - 1] != ':')
                last--;
            pad = last > 0 ? last - 1 : 0; /* index of the closing ':' */
            while (pad > 0 && x->value[pad - 1] == '=')
                pad--;
            aa_buf_init(&v, x->value_len + 1);
            if (last > 0) {
                aa_buf_add(&v, x->value, pad);
                aa_buf_add(&v, x->value + last - 1, x->value_len - (last - 1));
            } else {
                aa_buf_add(&v, x->value, x->value_len);
            }
            rc = v.err ? AA_E_NOMEM : aa_http_headers_addn(&all, x->name, v.p, v.len);
            aa_buf_free(&v);
            continue;
        }
        rc = x->raw ? aa_http_headers_add_line(&all, x->name)
                    : aa_http_headers_addn(&all, x->name, x->value, x->value_len);
    }
    if (rc != AA_OK) {
        rc = aa_fail(d, rc, "README#internals", "cannot assemble the signed request headers");
        goto out;
    }
    if (sg.base != NULL)
        aa_conf_note_block("signature base", sg.base, sg.base_len);
    sent = *req;
    sent.url = cu.p;
    sent.headers = &all;
    g.sending_signed = true;
    rc = aa_conf_send(who, &sent, resp, d);
    g.sending_signed = false;
out:
    aa_buf_free(&cu);
    aa_http_headers_cleanup(&all);
    if (signed_out != NULL)
        *signed_out = sg;
    else
        aa_signed_cleanup(&sg);
    return rc;
}

int aa_conf_send_signed(const char *who, const struct aa_http_request *req,
                        const struct aa_jwk *key, const struct aa_sign_cred *cred,
                        const struct aa_sign_opts *opts, struct aa_http_response *resp,
                        struct aa_signed *signed_out, struct aa_diag *d)
{
    bool conformant;
    struct aa_signed sg;
    int rc;

    if (!g.active)
        suite_bug("aa_conf_send_signed() called outside a case");
    conformant = conformant_opts(opts, cred);
    memset(&sg, 0, sizeof(sg));
    if (conformant && g.quirk != NULL) {
        /* --allow-quirk: the case goes on the way the target accepts */
        aa_conf_note("--- signed with quirk %s (--allow-quirk) ---", g.quirk->name);
        rc = send_signed_as(who, req, key, cred, opts, g.quirk, g.quirk_param, resp, &sg, d);
    } else {
        rc = send_signed_as(who, req, key, cred, opts, NULL, 0, resp, &sg, d);
    }
    if (rc == AA_OK && conformant && g.quirk == NULL)
        last_store(who, req, key, cred, opts, resp, &sg);
    else if (g.last.resp == resp)
        last_clear();
    if (signed_out != NULL)
        *signed_out = sg;
    else
        aa_signed_cleanup(&sg);
    return rc;
}

static enum aa_outcome violated(const struct aa_check *c);

static void note_rejection(const struct aa_http_response *resp)
{
    struct aa_buf b;

    aa_buf_init(&b, 4u * 1024 * 1024);
    aa_buf_printf(&b, "the target refused a request the harness signed conformantly "
                      "(PROFILE#2); what was signed and what came back:\n");
    aa_buf_printf(&b, "signature base (every line, LF-separated, no LF after the last):\n%s\n",
                  g.last.base ? g.last.base : "(none)");
    aa_buf_printf(&b, "status: %s\n", resp->status_line ? resp->status_line : "(none)");
    for (size_t i = 0; i < resp->headers.n; i++)
        aa_buf_printf(&b, "%s: %s\n", resp->headers.v[i].name, resp->headers.v[i].value);
    aa_buf_printf(&b, "body (%zu bytes):\n", resp->body_len);
    aa_buf_add(&b, resp->body ? resp->body : "", resp->body_len > 65536 ? 65536 : resp->body_len);
    if (!b.err)
        aa_conf_note_block("rejected conformant request", b.p, b.len);
    aa_buf_free(&b);
}

int aa_case_probe(const struct aa_check *c, const struct aa_http_expect *e,
                  const struct aa_http_response *resp, const char *expected_text,
                  const char *actual_text, const char *why)
{
    static const int64_t created_offsets[] = {-10, 10, -30, 30};
    const struct aa_quirk *found = NULL;
    struct aa_http_response pr;
    int64_t found_param = 0;
    struct aa_buf tried, hint;
    struct aa_obs obs = {0};
    int ret;

    if (!g.active || !g.last.valid || resp == NULL || g.last.resp != resp ||
        resp->status != g.last.status || resp->status < 400 || resp->status > 499 || e == NULL ||
        e->status >= 400)
        return 0;
    note_rejection(resp);
    aa_http_response_init(&pr);
    aa_buf_init(&tried, 4096);
    aa_buf_init(&hint, AA_CASE_MAX_FIELD);
    {
        struct aa_http_request req = {0};
        req.method = g.last.method;
        req.url = g.last.url;
        req.headers = &g.last.headers;
        req.body = g.last.body;
        req.body_len = g.last.body_len;
        req.flags = g.last.flags;
        for (size_t qi = 0; qi < aa_n_quirks && found == NULL; qi++) {
            const struct aa_quirk *q = &aa_quirks[qi];
            size_t n_param = q->probe == AA_QUIRK_PROBE_CREATED
                                 ? sizeof(created_offsets) / sizeof(created_offsets[0])
                                 : 1;
            if (q->probe == AA_QUIRK_PROBE_NONE)
                continue;
            for (size_t pi = 0; pi < n_param && found == NULL; pi++) {
                int64_t param = q->probe == AA_QUIRK_PROBE_CREATED ? created_offsets[pi] : 0;
                struct aa_diag d;
                enum aa_outcome po;
                int rc;
                aa_diag_clear(&d);
                aa_http_response_cleanup(&pr);
                aa_http_response_init(&pr);
                aa_conf_note("--- quirk probe %s%s: %s ---", q->name,
                             q->probe == AA_QUIRK_PROBE_CREATED ? " (created moved)" : "",
                             q->description);
                rc = send_signed_as(g.last.who, &req, &g.last.key, &g.last.cred, &g.last.opts, q,
                                    param, &pr, NULL, &d);
                if (rc == AA_E_UNSUPPORTED) {
                    aa_conf_note("(not applicable to this request)");
                    continue;
                }
                po = aa_conf_http_classify(rc, &d, &pr, e, NULL, NULL, NULL);
                aa_buf_printf(&tried, "%s%s", tried.len ? ", " : "", q->name);
                if (q->probe == AA_QUIRK_PROBE_CREATED)
                    aa_buf_printf(&tried, "(%+lld s)", (long long)param);
                if (rc == AA_OK && (po == AA_OUT_PASS || po == AA_OUT_WARN)) {
                    found = q;
                    found_param = param;
                }
            }
        }
    }
    g.last.valid = false;
    obs.expected = expected_text;
    if (found != NULL) {
        bool allowed = aa_strv_has(&g.conf.quirks, found->name);
        aa_buf_printf(&hint, "%s (%s)", found->finding, found->rfc);
        if (found->probe == AA_QUIRK_PROBE_CREATED)
            aa_buf_printf(&hint, "; accepted with created moved by %+lld s",
                          (long long)found_param);
        aa_conf_note("--- quirk probe result: %s ---", hint.p ? hint.p : found->name);
        if (allowed) {
            struct aa_buf act;
            aa_buf_init(&act, AA_CASE_MAX_FIELD);
            aa_buf_printf(&act, "%ld with quirk %s (conformant request: %s)", pr.status,
                          found->name, actual_text ? actual_text : "");
            aa_buf_printf(&hint,
                          "; accepted only because of --allow-quirk=%s: the rest of "
                          "this case signs that way",
                          found->name);
            obs.actual = act.p;
            obs.hint = hint.p;
            obs.quirk = found->name;
            aa_check_record(c, AA_OUT_PASS_QUIRK, &obs);
            aa_buf_free(&act);
            g.quirk = found;
            g.quirk_param = found_param;
            /* the flow goes on with the answer to the variant: the caller's
             * response object is its own (non-const) storage */
            {
                struct aa_http_response *w = (struct aa_http_response *)resp;
                aa_http_response_cleanup(w);
                *w = pr;
                aa_http_response_init(&pr);
            }
            ret = 1;
        } else {
            aa_buf_printf(&hint,
                          "; known deviation \"%s\": --allow-quirk=%s continues the case "
                          "with this variant (PASS_QUIRK)",
                          found->name, found->name);
            obs.actual = actual_text;
            obs.hint = hint.p;
            aa_check_record(c, violated(c), &obs);
            ret = 2;
        }
    } else {
        aa_buf_printf(&hint, "%s; no known deviation explains the refusal (probed: %s)",
                      why ? why : "refused", tried.p ? tried.p : "none");
        aa_conf_note("--- quirk probes: none accepted ---");
        obs.actual = actual_text;
        obs.hint = hint.p;
        aa_check_record(c, violated(c), &obs);
        ret = 2;
    }
    aa_http_response_cleanup(&pr);
    aa_buf_free(&tried);
    aa_buf_free(&hint);
    return ret;
}

int aa_conf_get(const char *who, const char *url, struct aa_http_response *resp, struct aa_diag *d)
{
    struct aa_http_request req = {0};

    req.method = "GET";
    req.url = url;
    return aa_conf_send(who, &req, resp, d);
}

/* ---- recording ---------------------------------------------------------- */

/* "{actual}" in the catalogue line is replaced by the first line of
 * |actual| (or nothing). */
static char *flow_line(const char *tmpl, const char *actual)
{
    struct aa_buf b;
    const char *p;

    if (tmpl == NULL)
        return NULL;
    aa_buf_init(&b, AA_CASE_MAX_FIELD);
    while ((p = strstr(tmpl, "{actual}")) != NULL) {
        aa_buf_add(&b, tmpl, (size_t)(p - tmpl));
        for (const char *a = actual; a != NULL && *a && *a != '\n'; a++)
            aa_buf_addc(&b, *a);
        tmpl = p + 8;
    }
    aa_buf_adds(&b, tmpl);
    return b.err ? aa_strdup(tmpl) : aa_buf_detach(&b, NULL);
}

static char *failure_message(const char *expected, const char *actual)
{
    struct aa_buf b;

    aa_buf_init(&b, 4 * MSG_MAX);
    aa_buf_adds(&b, "expected ");
    one_line(&b, expected ? expected : "(see requirement)", MSG_MAX / 2);
    aa_buf_adds(&b, "; got ");
    one_line(&b, actual ? actual : "(nothing)", MSG_MAX / 2);
    return b.err ? NULL : aa_buf_detach(&b, NULL);
}

static void write_line(cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);

    if (text == NULL || fputs(text, g.out) == EOF || fputc('\n', g.out) == EOF ||
        fflush(g.out) != 0) {
        fprintf(stderr, "aauth-conformance: cannot write the result file of case %s/%s\n",
                g.cs->cr_suite, g.cs->name);
        free(text);
        exit(CASE_EXIT_RESULTS);
    }
    free(text);
}

void aa_check_record(const struct aa_check *c, enum aa_outcome o, const struct aa_obs *obs)
{
    static const struct aa_obs none;
    struct aa_obs quirk_obs;
    struct aa_check_result r;
    struct aa_check_def def;
    cJSON *line, *jr;
    char *msg = NULL, *fl = NULL;
    int rc;

    if (!g.active)
        suite_bug("a check was recorded outside a case");
    if (c == NULL || !aa_cat_case_lists(g.cs, c))
        suite_bug("case %s/%s recorded check %s, which it does not list in .checks", g.cs->cr_suite,
                  g.cs->name, c && c->id ? c->id : "(null)");
    if (obs == NULL)
        obs = &none;
    if ((unsigned)o > (unsigned)AA_OUT_ERROR)
        suite_bug("check %s: outcome %d is out of range", c->id, (int)o);
    aa_check_to_def(c, &def);
    if ((rc = aa_result_init(&r, &def)) != AA_OK) {
        fprintf(stderr, "aauth-conformance: check %s: %s\n", c->id, aa_conf_strerror(rc));
        exit(CASE_EXIT_RESULTS);
    }
    if (o == AA_OUT_PASS && g.quirk != NULL) {
        /* every check after a quirk was taken relies on it (README) */
        o = AA_OUT_PASS_QUIRK;
        quirk_obs = *obs;
        quirk_obs.quirk = g.quirk->name;
        if (quirk_obs.hint == NULL)
            quirk_obs.hint = "recorded after the case switched to an allowed quirk";
        obs = &quirk_obs;
    }
    r.outcome = o;
    r.test_no = c->test_no;
    r.duration_ms = ms_since(&g.t_last);
    if (o == AA_OUT_PASS_QUIRK) {
        if (obs->quirk == NULL || aa_quirk_find(obs->quirk) == NULL) {
            r.outcome = AA_OUT_ERROR;
            aa_result_setf(&r.message, "suite bug: PASS_QUIRK for %s without a catalogued quirk",
                           c->id);
        } else {
            aa_result_set(&r.quirk, obs->quirk);
        }
    }
    if (obs->expected != NULL)
        aa_result_set(&r.expected, obs->expected);
    aa_result_set(&r.actual, obs->actual);
    aa_result_set(&r.hint, obs->hint);
    if (obs->message != NULL)
        aa_result_set(&r.message, obs->message);
    else if ((r.outcome == AA_OUT_FAIL || r.outcome == AA_OUT_WARN) && r.message == NULL &&
             (msg = failure_message(r.expected, obs->actual)) != NULL)
        aa_result_set(&r.message, msg);
    fl = flow_line(obs->line != NULL ? obs->line : c->line, obs->actual);
    aa_result_set(&r.line, fl != NULL ? fl : (c->test_no > 0 ? c->title : NULL));

    jr = aa_result_to_cjson(&r);
    line = cJSON_CreateObject();
    if (jr == NULL || line == NULL) {
        cJSON_Delete(jr);
        cJSON_Delete(line);
        fprintf(stderr, "aauth-conformance: out of memory recording %s\n", c->id);
        exit(CASE_EXIT_RESULTS);
    }
    cJSON_AddItemToObject(line, "result", jr);
    /* the evidence: the transcript up to here, on disk before the line
     * that points into it */
    if (g.tr_out != NULL)
        fflush(g.tr_out);
    cJSON_AddNumberToObject(line, "tr_end", (double)g.tr_len);
    write_line(line);
    remember(c, r.outcome);
    cJSON_Delete(line);
    aa_result_cleanup(&r);
    free(msg);
    free(fl);
}

static long slot_of(const struct aa_check *c)
{
    long i = 0;
    for (const struct aa_check *const *p = g.cs->checks; p != NULL && *p != NULL; p++, i++)
        if (*p == c)
            return i;
    return -1;
}

static void remember(const struct aa_check *c, enum aa_outcome o)
{
    long k = slot_of(c);
    int sev = aa_outcome_severity(o);

    if (k >= 0 && (size_t)k < g.n_slots && sev > g.worst[k]) {
        g.worst[k] = sev;
        g.worst_o[k] = o;
    }
}

enum aa_outcome aa_check_outcome(const struct aa_check *c, bool *recorded)
{
    long k = g.active ? slot_of(c) : -1;

    if (k < 0 || (size_t)k >= g.n_slots || g.worst[k] < 0) {
        if (recorded != NULL)
            *recorded = false;
        return AA_OUT_SKIP;
    }
    if (recorded != NULL)
        *recorded = true;
    return g.worst_o[k];
}

static void not_evaluated(const struct aa_check *prereq, const struct aa_check *const *checks,
                          bool titled)
{
    bool rec = false;
    enum aa_outcome po = aa_check_outcome(prereq, &rec);

    for (const struct aa_check *const *p = checks; p != NULL && *p != NULL; p++) {
        struct aa_obs obs = {0};
        char msg[600];
        bool done = false;
        enum aa_outcome o;

        aa_check_outcome(*p, &done);
        if (done || *p == prereq)
            continue;
        if (!rec || po == AA_OUT_ERROR)
            o = AA_OUT_ERROR;
        else if (po == AA_OUT_SKIP)
            o = AA_OUT_SKIP;
        else
            o = violated(*p);
        if (prereq == NULL)
            aa_snprintf(msg, sizeof(msg), "not evaluated: the case never reached this check");
        else
            aa_snprintf(msg, sizeof(msg), "not evaluated: prerequisite %s %s", prereq->id,
                        !rec ? "was not recorded" : aa_outcome_name(po));
        obs.message = msg;
        obs.actual = o == AA_OUT_ERROR || o == AA_OUT_SKIP ? NULL : "not evaluated";
        obs.line = titled ? (*p)->title : NULL;
        aa_check_record(*p, o, &obs);
    }
}

void aa_check_not_evaluated(const struct aa_check *prereq, const struct aa_check *const *checks)
{
    not_evaluated(prereq, checks, false);
}

void aa_check_not_evaluated_titled(const struct aa_check *prereq,
                                   const struct aa_check *const *checks)
{
    not_evaluated(prereq, checks, true);
}

static enum aa_outcome violated(const struct aa_check *c)
{
    switch (c->level) {
    case AA_LEVEL_SHOULD:
        return AA_OUT_WARN;
    case AA_LEVEL_INFO:
        return AA_OUT_INFO;
    default:
        return AA_OUT_FAIL;
    }
}

void aa_check_pass(const struct aa_check *c, const char *actual_fmt, ...)
{
    struct aa_obs obs = {0};
    va_list ap;
    char *a;

    va_start(ap, actual_fmt);
    a = vfmt(actual_fmt, ap);
    va_end(ap);
    obs.actual = a;
    aa_check_record(c, AA_OUT_PASS, &obs);
    free(a);
}

/* The recorders below differ only in the outcome and in where their
 * formatted text goes: the hint (fail, warn: what to fix) or the message
 * (info, skip, error). A failed format records the outcome without it. */
static void record_vtext(const struct aa_check *c, enum aa_outcome o, const char *expected,
                         const char *actual, bool as_hint, const char *fmt, va_list ap)
    AA_PRINTF(6, 0);
static void record_vtext(const struct aa_check *c, enum aa_outcome o, const char *expected,
                         const char *actual, bool as_hint, const char *fmt, va_list ap)
{
    struct aa_obs obs = {0};
    char *text = vfmt(fmt, ap);

    obs.expected = expected;
    obs.actual = actual;
    if (as_hint)
        obs.hint = text;
    else
        obs.message = text;
    aa_check_record(c, o, &obs);
    free(text);
}

void aa_check_fail(const struct aa_check *c, const char *expected, const char *actual,
                   const char *hint_fmt, ...)
{
    va_list ap;

    va_start(ap, hint_fmt);
    record_vtext(c, violated(c), expected, actual, true, hint_fmt, ap);
    va_end(ap);
}

void aa_check_warn(const struct aa_check *c, const char *expected, const char *actual,
                   const char *hint_fmt, ...)
{
    va_list ap;

    va_start(ap, hint_fmt);
    record_vtext(c, AA_OUT_WARN, expected, actual, true, hint_fmt, ap);
    va_end(ap);
}

void aa_check_info(const struct aa_check *c, const char *actual, const char *msg_fmt, ...)
{
    va_list ap;

    va_start(ap, msg_fmt);
    record_vtext(c, AA_OUT_INFO, NULL, actual, false, msg_fmt, ap);
    va_end(ap);
}

void aa_check_skip(const struct aa_check *c, const char *reason_fmt, ...)
{
    va_list ap;

    va_start(ap, reason_fmt);
    record_vtext(c, AA_OUT_SKIP, c->expect, NULL, false, reason_fmt, ap);
    va_end(ap);
}

void aa_check_error(const struct aa_check *c, const char *fault_fmt, ...)
{
    va_list ap;

    va_start(ap, fault_fmt);
    record_vtext(c, AA_OUT_ERROR, NULL, NULL, false, fault_fmt, ap);
    va_end(ap);
}

void aa_check_fault(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d)
{
    char diag[AA_DIAG_MSG_MAX + 128] = "";

    if (aa_conf_diag_unreachable(d)) {
        /* the topology, not the harness: the check cannot be evaluated */
        aa_check_skip(c, "%s: %s", what ? what : "not evaluated", d->msg);
        return;
    }

    if (d != NULL && d->msg[0] != '\0')
        aa_diag_format(d, diag, sizeof(diag));
    aa_check_error(c, "%s: %s%s%s", what ? what : "harness call failed", aa_conf_strerror(rc),
                   diag[0] ? ": " : "", diag);
}

void aa_check_pass_quirk(const struct aa_check *c, const char *quirk, const char *actual_fmt, ...)
{
    struct aa_obs obs = {0};
    va_list ap;
    char *a;

    va_start(ap, actual_fmt);
    a = vfmt(actual_fmt, ap);
    va_end(ap);
    obs.actual = a;
    if (!aa_conf_quirk_allowed(quirk)) {
        obs.message = "suite bug: PASS_QUIRK recorded although the quirk is not allowed";
        aa_check_record(c, AA_OUT_ERROR, &obs);
    } else {
        obs.quirk = quirk;
        aa_check_record(c, AA_OUT_PASS_QUIRK, &obs);
    }
    free(a);
}

bool aa_check_deviation(const struct aa_check *c, const char *quirk, const char *expected,
                        const char *actual, const char *hint_fmt, ...)
{
    struct aa_obs obs = {0};
    struct aa_buf hint;
    va_list ap;
    char *h;
    bool allowed = aa_conf_quirk_allowed(quirk);

    va_start(ap, hint_fmt);
    h = vfmt(hint_fmt, ap);
    va_end(ap);
    aa_buf_init(&hint, AA_CASE_MAX_FIELD);
    if (h != NULL)
        aa_buf_printf(&hint, "%s; ", h);
    if (allowed)
        aa_buf_printf(&hint, "accepted only because of --allow-quirk=%s", quirk);
    else
        aa_buf_printf(&hint, "known deviation \"%s\" (--allow-quirk=%s would record PASS_QUIRK)",
                      quirk, quirk);
    obs.expected = expected;
    obs.actual = actual;
    obs.hint = hint.err ? h : hint.p;
    obs.quirk = allowed ? quirk : NULL;
    aa_check_record(c, allowed ? AA_OUT_PASS_QUIRK : violated(c), &obs);
    aa_buf_free(&hint);
    free(h);
    return allowed;
}

bool aa_check_require_feature(const struct aa_check *c, enum aa_role role, const char *feature)
{
    if (aa_conf_declared(role, feature))
        return true;
    aa_check_skip(c,
                  "%s does not declare the optional feature \"%s\" (declare it with --declare "
                  "%s=%s or in the run file to make this check mandatory)",
                  aa_role_name(role), feature ? feature : "", aa_role_name(role),
                  feature ? feature : "");
    return false;
}

bool aa_check_require_listed(const struct aa_check *c, enum aa_role role, const cJSON *metadata,
                             const char *member, const char *value)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(metadata, member), *e;
    char feature[AA_CONF_FEATURE_MAX + 2];

    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && value != NULL && strcmp(e->valuestring, value) == 0)
            return true;
    }
    if (aa_snprintf(feature, sizeof(feature), "%s:%s", member ? member : "", value ? value : "") ==
            AA_OK &&
        aa_conf_declared(role, feature))
        return true;
    aa_check_skip(c,
                  "%s metadata \"%s\" does not list \"%s\": optional feature not declared (or "
                  "declare %s=%s)",
                  aa_role_name(role), member ? member : "", value ? value : "", aa_role_name(role),
                  feature);
    return false;
}

/* ---- the case entry point ----------------------------------------------- */

static void fill_targets(void)
{
    for (int r = AA_ROLE_AGENT_SERVER; r < AA_CONF_N_ROLES; r++) {
        struct aa_conf_target *t = &g.targets[r];
        const struct aa_rc_role *ro = &g.conf.roles[r];

        t->role = (enum aa_role)r;
        t->under_test = r == AA_ROLE_DELEGATE ? ro->command != NULL : ro->url != NULL;
        t->embedded = !t->under_test && ro->embedded;
        t->id = ro->id != NULL ? ro->id : ro->url;
        t->connect_url = ro->connect_url != NULL ? ro->connect_url : t->id;
        t->unavailable = ro->unavailable;
        t->present = t->under_test || t->embedded;
        t->command = ro->command;
        t->kid = t->embedded ? ro->kid : NULL;
        t->name = aa_role_name((enum aa_role)r);
        if (r == AA_ROLE_RESOURCE) {
            t->hwk_path = ro->hwk_path;
            t->jwks_path = ro->jwks_path;
            t->auth_path = ro->auth_path;
        }
    }
}

/* The instances this case sees: the shared ones and its own per-case
 * ones (which win over a shared entry of the same name). */
static int fill_instances(void)
{
    size_t n = g.conf.n_insts;

    g.inst_targets = calloc(n + 1, sizeof(*g.inst_targets));
    g.inst_src = calloc(n + 1, sizeof(*g.inst_src));
    g.inst_offsets = calloc(n + 1, sizeof(*g.inst_offsets));
    if (g.inst_targets == NULL || g.inst_src == NULL || g.inst_offsets == NULL)
        return AA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct aa_rc_inst *in = &g.conf.insts[i];
        const struct aa_inst_def *def = aa_inst_find(in->name);
        struct aa_conf_target *t;
        long k;

        if (def == NULL || (in->case_key != NULL && strcmp(in->case_key, g.case_key) != 0))
            continue;
        k = inst_index(in->name);
        if (k >= 0 && in->case_key == NULL)
            continue; /* the per-case entry came first */
        if (k < 0)
            k = (long)g.n_inst++;
        t = &g.inst_targets[k];
        memset(t, 0, sizeof(*t));
        g.inst_src[k] = in;
        t->role = def->role;
        t->name = in->name;
        t->embedded = in->embedded && in->url == NULL;
        t->under_test = in->url != NULL;
        t->present = (t->embedded || t->under_test) && in->unavailable == NULL;
        t->id = in->url != NULL ? in->url : in->id;
        t->connect_url = in->connect_url != NULL ? in->connect_url : t->id;
        t->unavailable = in->unavailable;
        t->kid = t->embedded ? in->kid : NULL;
        if (def->role == AA_ROLE_RESOURCE) {
            t->hwk_path = "/data-hwk";
            t->jwks_path = "/data-jwks";
            t->auth_path = "/data-auth";
        }
    }
    return AA_OK;
}

/* The case's own deadline: SIGALRM with its default action ends the
 * process, which the parent sees as a crash by SIGALRM and reports as a
 * timeout (the HTTP client uses CURLOPT_NOSIGNAL, so nothing else in the
 * case touches the real-time timer). */
static void arm_timeout(const struct aa_conf_case *cs)
{
    double t = cs->timeout > 0 ? cs->timeout : AA_CASE_TIMEOUT_DEFAULT;
    struct itimerval it;

    memset(&it, 0, sizeof(it));
    it.it_value.tv_sec = (time_t)t;
    it.it_value.tv_usec = (suseconds_t)((t - (double)(time_t)t) * 1e6);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
        it.it_value.tv_usec = 1;
    signal(SIGALRM, SIG_DFL);
    setitimer(ITIMER_REAL, &it, NULL);
}

void aa_conf_case_run(const struct aa_conf_case *cs)
{
    const char *path = getenv(AA_CONF_ENV);
    char rpath[4096];
    struct aa_diag d;
    cJSON *done;

    memset(&g, 0, sizeof(g));
    aa_diag_clear(&d);
    aa_rconf_init(&g.conf);
    {
        /* the runner blocks these for its watcher thread; a case (and the
         * commands it runs) must die of them as usual */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
    }
    if (path == NULL) {
        fprintf(stderr,
                "aauth-conformance: case %s/%s: %s is not set; cases run only under the "
                "aauth-conformance runner\n",
                cs->cr_suite, cs->name, AA_CONF_ENV);
        exit(CASE_EXIT_CONFIG);
    }
    if (aa_rconf_load_runtime(&g.conf, path, &d) != AA_OK || g.conf.results_dir == NULL) {
        fprintf(stderr, "aauth-conformance: case %s/%s: bad run configuration: %s\n", cs->cr_suite,
                cs->name, d.msg);
        exit(CASE_EXIT_CONFIG);
    }
    if (aa_case_results_path(g.conf.results_dir, cs, rpath, sizeof(rpath)) != AA_OK ||
        (g.out = fopen(rpath, "a")) == NULL) {
        fprintf(stderr, "aauth-conformance: case %s/%s: cannot open %s\n", cs->cr_suite, cs->name,
                rpath);
        exit(CASE_EXIT_RESULTS);
    }
    for (const struct aa_check *const *p = cs->checks; p != NULL && *p != NULL; p++)
        g.n_slots++;
    g.worst = malloc((g.n_slots + 1) * sizeof(*g.worst));
    g.worst_o = calloc(g.n_slots + 1, sizeof(*g.worst_o));
    if (g.worst == NULL || g.worst_o == NULL) {
        fprintf(stderr, "aauth-conformance: case %s/%s: out of memory\n", cs->cr_suite, cs->name);
        exit(CASE_EXIT_RESULTS);
    }
    for (size_t i = 0; i < g.n_slots; i++)
        g.worst[i] = -1;
    g.cs = cs;
    g.active = true;
    aa_snprintf(g.case_key, sizeof(g.case_key), "%s/%s", cs->cr_suite, cs->name);
    fill_targets();
    if (fill_instances() != AA_OK) {
        fprintf(stderr, "aauth-conformance: case %s/%s: out of memory\n", cs->cr_suite, cs->name);
        exit(CASE_EXIT_RESULTS);
    }
    if (aa_case_transcript_path(g.conf.results_dir, cs, rpath, sizeof(rpath)) != AA_OK ||
        (g.tr_out = fopen(rpath, "w")) == NULL) {
        fprintf(stderr, "aauth-conformance: case %s/%s: cannot open %s\n", cs->cr_suite, cs->name,
                rpath);
        exit(CASE_EXIT_RESULTS);
    }
    g.rng = fnv1a(fnv1a(0xcbf29ce484222325ULL ^ g.conf.seed, cs->cr_suite), cs->name);
    clock_gettime(CLOCK_MONOTONIC, &g.t_last);
    arm_timeout(cs);

    cs->body();

    {
        struct itimerval off;
        memset(&off, 0, sizeof(off));
        setitimer(ITIMER_REAL, &off, NULL);
    }

    /* The case finished normally: say so (its transcript, for --verbose,
     * is the file). */
    fflush(g.tr_out);
    done = cJSON_CreateObject();
    if (done != NULL) {
        cJSON_AddBoolToObject(done, "done", true);
        cJSON_AddNumberToObject(done, "tr_end", (double)g.tr_len);
        write_line(done);
    }
    cJSON_Delete(done);
    fclose(g.out);
    fclose(g.tr_out);
    g.active = false;
    aa_http_client_free(g.http);
    aa_rconf_cleanup(&g.conf);
    free(g.worst);
    free(g.worst_o);
    free(g.inst_targets);
    free(g.inst_src);
    free(g.inst_offsets);
    last_clear();
    memset(&g, 0, sizeof(g));
}
