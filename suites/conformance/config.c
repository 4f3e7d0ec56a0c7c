/*
 * config: the runner's effective configuration. The command line and the
 * run file (docs/run-file.md) share one key set - every long option is a
 * run-file key - and one setter, so a value is validated the same way
 * wherever it comes from. The parent serialises the result to JSON for
 * --print-config and, with a "runtime" member, for the case processes.
 *
 * Design choice: command-line values win over the run file; a repeatable
 * option given on the command line replaces the run file's list rather
 * than extending it, so a saved run file plus `--suite X` runs exactly X.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json/aa_json.h"
#include "runner_int.h"

/* ---- string vectors ---------------------------------------------------- */

int aa_strv_add(struct aa_strv *s, const char *value)
{
    char **nv;
    char *copy;

    if (s->n >= AA_CONF_MAX_LIST)
        return AA_E_LIMIT;
    if ((copy = aa_strdup(value)) == NULL)
        return AA_E_NOMEM;
    if ((nv = realloc(s->v, (s->n + 1) * sizeof(*nv))) == NULL) {
        free(copy);
        return AA_E_NOMEM;
    }
    s->v = nv;
    s->v[s->n++] = copy;
    return AA_OK;
}

bool aa_strv_has(const struct aa_strv *s, const char *value)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], value) == 0)
            return true;
    return false;
}

void aa_strv_clear(struct aa_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* ---- numbers and addresses --------------------------------------------- */

int aa_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 20)
        return AA_E_INVAL;
    for (const char *p = s; *p; p++) {
        unsigned dgt;
        if (*p < '0' || *p > '9')
            return AA_E_INVAL;
        dgt = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return AA_E_INVAL;
        v = v * 10 + dgt;
    }
    *out = v;
    return AA_OK;
}

int aa_parse_listen(const char *s, char *addr, size_t cap, uint16_t *port)
{
    const char *colon, *host = s;
    size_t hlen;
    int64_t p;

    if (s == NULL || *s == '\0')
        return AA_E_INVAL;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':')
            return AA_E_INVAL;
        host = s + 1;
        hlen = (size_t)(end - host);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return AA_E_INVAL;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL) /* an IPv6 literal needs brackets */
            return AA_E_INVAL;
    }
    if (hlen == 0 || hlen >= cap)
        return AA_E_INVAL;
    if (aa_parse_i64(colon + 1, strlen(colon + 1), &p) != AA_OK || p < 0 || p > 65535)
        return AA_E_INVAL;
    memcpy(addr, host, hlen);
    addr[hlen] = '\0';
    *port = (uint16_t)p;
    return AA_OK;
}

/* ---- the option table -------------------------------------------------- */

enum opt_kind {
    K_STR,      /* one value */
    K_LIST,     /* repeatable value */
    K_ROLE,     /* repeatable ROLE=VALUE, one value per role */
    K_ROLELIST, /* repeatable ROLE=VALUE, a list per role */
    K_FLAG
};

enum opt_id {
    O_TARGET_AGENT,
    O_TARGET_RESOURCE,
    O_TARGET_AUTH,
    O_TARGET_DELEGATE,
    O_HWK_PATH,
    O_JWKS_PATH,
    O_AUTH_PATH,
    O_LISTEN,
    O_PUBLIC_URL,
    O_INSTANCE,
    O_DECLARE,
    O_SUITE,
    O_FILTER,
    O_ALLOW_QUIRK,
    O_CLOCK,
    O_SEED,
    O_REPORT_DIR,
    O_VECTORS_DIR,
    O_JOBS,
    O_VERBOSE,
    O_SEED_REPORT,
    O_SEED_TESTS_ONLY,
    O_NO_COLOR,
    O_HARNESS_HOST,
    O_CONSENT
};

static const struct opt {
    const char *key;
    enum opt_id id;
    enum opt_kind kind;
} opts[] = {
    {"target-agent-server", O_TARGET_AGENT, K_STR},
    {"target-resource", O_TARGET_RESOURCE, K_STR},
    {"target-auth-server", O_TARGET_AUTH, K_STR},
    {"target-delegate", O_TARGET_DELEGATE, K_STR},
    {"resource-hwk-path", O_HWK_PATH, K_STR},
    {"resource-jwks-path", O_JWKS_PATH, K_STR},
    {"resource-auth-path", O_AUTH_PATH, K_STR},
    {"listen", O_LISTEN, K_ROLE},
    {"public-url", O_PUBLIC_URL, K_ROLE},
    {"instance", O_INSTANCE, K_ROLE},
    {"declare", O_DECLARE, K_ROLELIST},
    {"suite", O_SUITE, K_LIST},
    {"filter", O_FILTER, K_LIST},
    {"allow-quirk", O_ALLOW_QUIRK, K_LIST},
    {"clock", O_CLOCK, K_STR},
    {"seed", O_SEED, K_STR},
    {"report-dir", O_REPORT_DIR, K_STR},
    {"vectors-dir", O_VECTORS_DIR, K_STR},
    {"jobs", O_JOBS, K_STR},
    {"verbose", O_VERBOSE, K_FLAG},
    {"seed-report", O_SEED_REPORT, K_FLAG},
    {"seed-tests-only", O_SEED_TESTS_ONLY, K_FLAG},
    {"no-color", O_NO_COLOR, K_FLAG},
    {"harness-host", O_HARNESS_HOST, K_STR},
    {"consent", O_CONSENT, K_STR},
};

static const struct opt *find_opt(const char *key)
{
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (strcmp(opts[i].key, key) == 0)
            return &opts[i];
    return NULL;
}

bool aa_rconf_known(const char *key)
{
    return find_opt(key) != NULL;
}

bool aa_rconf_is_flag(const char *key)
{
    const struct opt *o = find_opt(key);
    return o != NULL && o->kind == K_FLAG;
}

void aa_rconf_init(struct aa_rconf *c)
{
    memset(c, 0, sizeof(*c));
    for (int r = 0; r < AA_CONF_N_ROLES; r++)
        c->roles[r].declare.from_cli = false;
}

static void role_cleanup(struct aa_rc_role *r)
{
    free(r->url);
    free(r->listen);
    free(r->public_url);
    free(r->hwk_path);
    free(r->jwks_path);
    free(r->auth_path);
    free(r->command);
    aa_strv_clear(&r->declare);
    free(r->id);
    free(r->connect_url);
    free(r->unavailable);
    free(r->kid);
    free(r->key_file);
    memset(r, 0, sizeof(*r));
}

static void inst_cleanup(struct aa_rc_inst *i)
{
    free(i->name);
    free(i->case_key);
    free(i->url);
    free(i->listen);
    free(i->id);
    free(i->connect_url);
    free(i->unavailable);
    free(i->kid);
    free(i->key_file);
    memset(i, 0, sizeof(*i));
}

void aa_rconf_cleanup(struct aa_rconf *c)
{
    for (int r = 0; r < AA_CONF_N_ROLES; r++)
        role_cleanup(&c->roles[r]);
    for (size_t i = 0; i < c->n_insts; i++)
        inst_cleanup(&c->insts[i]);
    free(c->insts);
    free(c->control_url);
    free(c->control_token);
    free(c->harness_host);
    free(c->consent_why);
    aa_strv_clear(&c->suites);
    aa_strv_clear(&c->filters);
    aa_strv_clear(&c->quirks);
    free(c->report_dir);
    free(c->vectors_dir);
    free(c->results_dir);
    free(c->source);
    memset(c, 0, sizeof(*c));
}

static int set_str(char **field, const char *value)
{
    char *copy = aa_strdup(value);
    if (copy == NULL)
        return AA_E_NOMEM;
    free(*field);
    *field = copy;
    return AA_OK;
}

/* Values reach terminals, JSON and file names: keep them printable. */
static bool printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool feature_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AA_CONF_FEATURE_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '_' ||
              *p == '.' || *p == ':'))
            return false;
    return true;
}

/* "ROLE=VALUE" -> role and the value after '='. Only the three server
 * roles take --listen / --public-url; --declare takes any role. */
static int split_role(const char *key, const char *in, bool servers_only, enum aa_role *role,
                      const char **value, struct aa_diag *d)
{
    const char *eq = strchr(in, '=');
    char name[32];
    size_t n;

    if (eq == NULL || eq == in)
        return aa_fail(d, AA_E_INVAL, "README#cli", "--%s %s: expected ROLE=VALUE", key, in);
    n = (size_t)(eq - in);
    if (n >= sizeof(name))
        return aa_fail(d, AA_E_INVAL, "README#cli", "--%s: unknown role in %s", key, in);
    memcpy(name, in, n);
    name[n] = '\0';
    if (aa_role_from_name(name, role) != AA_OK || *role == AA_ROLE_NONE ||
        (servers_only && *role == AA_ROLE_DELEGATE))
        return aa_fail(d, AA_E_INVAL, "README#cli",
                       "--%s %s: unknown role \"%s\" (use agent-server, resource, auth-server%s)",
                       key, in, name, servers_only ? "" : " or delegate");
    *value = eq + 1;
    return AA_OK;
}

static int set_clock(struct aa_rconf *c, const char *v, struct aa_diag *d)
{
    if (strcmp(v, "now") == 0) {
        c->clock_frozen = false;
        c->clock_has_value = false;
        return AA_OK;
    }
    if (strcmp(v, "frozen") == 0) {
        c->clock_frozen = true;
        c->clock_has_value = false;
        return AA_OK;
    }
    if (strncmp(v, "frozen=", 7) == 0) {
        int64_t t;
        if (aa_parse_i64(v + 7, strlen(v + 7), &t) != AA_OK || t < 0 ||
            t > (int64_t)253402300799) /* 9999-12-31T23:59:59Z */
            return aa_fail(d, AA_E_INVAL, "README#cli",
                           "--clock %s: EPOCH must be seconds since 1970 (0..253402300799)", v);
        c->clock_frozen = true;
        c->clock_has_value = true;
        c->clock_value = t;
        return AA_OK;
    }
    return aa_fail(d, AA_E_INVAL, "README#cli", "--clock %s: expected now, frozen or frozen=EPOCH",
                   v);
}

/* --harness-host: an IP literal the case-hosted servers can bind and
 * name in their identifiers; the unspecified address names no host. */
static int set_harness_host(struct aa_rconf *c, const char *v, struct aa_diag *d)
{
    struct in_addr a4;
    struct in6_addr a6;
    char tmp[64];
    size_t n = strlen(v);

    /* "[::1]" is accepted for symmetry with --listen */
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
        v++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(tmp))
        return aa_fail(d, AA_E_INVAL, "README#harness-host",
                       "--harness-host: expected an IPv4 or IPv6 address");
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET, tmp, &a4) == 1) {
        if (a4.s_addr == htonl(INADDR_ANY))
            return aa_fail(d, AA_E_INVAL, "README#harness-host",
                           "--harness-host %s: the servers' identifiers name this address, so it "
                           "must be one a target can connect to, not the wildcard",
                           tmp);
    } else if (inet_pton(AF_INET6, tmp, &a6) == 1) {
        if (memcmp(&a6, &in6addr_any, sizeof(a6)) == 0)
            return aa_fail(d, AA_E_INVAL, "README#harness-host",
                           "--harness-host %s: the servers' identifiers name this address, so it "
                           "must be one a target can connect to, not the wildcard",
                           tmp);
    } else {
        return aa_fail(d, AA_E_INVAL, "README#harness-host",
                       "--harness-host %s: expected an IPv4 or IPv6 address of this host (the "
                       "servers bind it and their identifiers name it; no host names)",
                       tmp);
    }
    return set_str(&c->harness_host, tmp);
}

static struct aa_strv *list_of(struct aa_rconf *c, enum opt_id id)
{
    switch (id) {
    case O_SUITE:
        return &c->suites;
    case O_FILTER:
        return &c->filters;
    case O_ALLOW_QUIRK:
        return &c->quirks;
    default:
        return NULL;
    }
}

int aa_rconf_set(struct aa_rconf *c, const char *key, const char *value, bool from_cli,
                 struct aa_diag *d)
{
    const struct opt *o = find_opt(key);
    enum aa_role role;
    const char *rv;
    int rc;

    if (o == NULL)
        return aa_fail(d, AA_E_NOTFOUND, "README#cli", "unknown option \"%s\"", key);
    if (o->kind == K_FLAG) {
        bool on = value == NULL || strcmp(value, "true") == 0;
        if (value != NULL && !on && strcmp(value, "false") != 0)
            return aa_fail(d, AA_E_INVAL, "README#cli", "%s takes no value", key);
        switch (o->id) {
        case O_VERBOSE:
            c->verbose = on;
            break;
        case O_SEED_REPORT:
            c->seed_report = on;
            break;
        case O_SEED_TESTS_ONLY:
            c->seed_tests_only = on;
            break;
        default:
            c->no_color = on;
            break;
        }
        return AA_OK;
    }
    if (value == NULL)
        return aa_fail(d, AA_E_INVAL, "README#cli", "--%s needs a value", key);
    if (strlen(value) > AA_CONF_MAX_VALUE || !printable(value))
        return aa_fail(d, AA_E_INVAL, "README#cli",
                       "--%s: value too long or holds control characters", key);

    switch (o->kind) {
    case K_LIST: {
        struct aa_strv *l = list_of(c, o->id);
        if (*value == '\0')
            return aa_fail(d, AA_E_INVAL, "README#cli", "--%s: empty value", key);
        if (from_cli && !l->from_cli) {
            aa_strv_clear(l);
            l->from_cli = true;
        }
        if (aa_strv_has(l, value))
            return AA_OK;
        rc = aa_strv_add(l, value);
        if (rc == AA_E_LIMIT)
            return aa_fail(d, rc, "README#cli", "--%s given more than %d times", key,
                           AA_CONF_MAX_LIST);
        return rc;
    }
    case K_ROLE: {
        const char *eq = strchr(value, '=');
        char name[64];
        const struct aa_inst_def *def = NULL;

        /* --listen and --instance also take instance names (resource2=...) */
        if (eq != NULL && (size_t)(eq - value) < sizeof(name)) {
            memcpy(name, value, (size_t)(eq - value));
            name[eq - value] = '\0';
            def = aa_inst_find(name);
        }
        if (o->id == O_INSTANCE || (o->id == O_LISTEN && def != NULL)) {
            struct aa_rc_inst *in;
            if (def == NULL)
                return aa_fail(d, AA_E_INVAL, "README#instances",
                               "--%s %s: unknown instance (use resource2, auth2, auth-consent or "
                               "resource-consent)",
                               key, value);
            if (o->id == O_INSTANCE && !def->external_ok)
                return aa_fail(d, AA_E_INVAL, "README#instances",
                               "--instance %s: the harness always plays %s itself", value,
                               def->name);
            if (eq[1] == '\0')
                return aa_fail(d, AA_E_INVAL, "README#cli", "--%s %s: empty value", key, value);
            if ((in = aa_rconf_inst(c, def->name, NULL, true)) == NULL)
                return AA_E_NOMEM;
            return set_str(o->id == O_INSTANCE ? &in->url : &in->listen, eq + 1);
        }
        if ((rc = split_role(key, value, true, &role, &rv, d)) != AA_OK)
            return rc;
        if (*rv == '\0')
            return aa_fail(d, AA_E_INVAL, "README#cli", "--%s %s: empty value", key, value);
        return set_str(o->id == O_LISTEN ? &c->roles[role].listen : &c->roles[role].public_url, rv);
    }
    case K_ROLELIST: {
        struct aa_strv *l;
        if ((rc = split_role(key, value, false, &role, &rv, d)) != AA_OK)
            return rc;
        if (!feature_name_ok(rv))
            return aa_fail(d, AA_E_INVAL, "README#cli",
                           "--declare %s: a feature name is 1-%d characters of a-z 0-9 - _ . :",
                           value, AA_CONF_FEATURE_MAX);
        l = &c->roles[role].declare;
        if (from_cli && !l->from_cli) {
            aa_strv_clear(l);
            l->from_cli = true;
        }
        return aa_strv_has(l, rv) ? AA_OK : aa_strv_add(l, rv);
    }
    default:
        break;
    }

    switch (o->id) {
    case O_TARGET_AGENT:
        return set_str(&c->roles[AA_ROLE_AGENT_SERVER].url, value);
    case O_TARGET_RESOURCE:
        return set_str(&c->roles[AA_ROLE_RESOURCE].url, value);
    case O_TARGET_AUTH:
        return set_str(&c->roles[AA_ROLE_AUTH_SERVER].url, value);
    case O_TARGET_DELEGATE:
        if (*value == '\0')
            return aa_fail(d, AA_E_INVAL, "README#cli", "--target-delegate: empty command");
        return set_str(&c->roles[AA_ROLE_DELEGATE].command, value);
    case O_HWK_PATH:
        return set_str(&c->roles[AA_ROLE_RESOURCE].hwk_path, value);
    case O_JWKS_PATH:
        return set_str(&c->roles[AA_ROLE_RESOURCE].jwks_path, value);
    case O_AUTH_PATH:
        return set_str(&c->roles[AA_ROLE_RESOURCE].auth_path, value);
    case O_CLOCK:
        return set_clock(c, value, d);
    case O_SEED:
        if (aa_parse_u64(value, &c->seed) != AA_OK)
            return aa_fail(d, AA_E_INVAL, "README#cli",
                           "--seed %s: expected a decimal number 0..18446744073709551615", value);
        c->seed_set = true;
        return AA_OK;
    case O_REPORT_DIR:
        if (*value == '\0')
            return aa_fail(d, AA_E_INVAL, "README#cli", "--report-dir: empty path");
        return set_str(&c->report_dir, value);
    case O_VECTORS_DIR:
        if (*value == '\0')
            return aa_fail(d, AA_E_INVAL, "README#cli", "--vectors-dir: empty path");
        return set_str(&c->vectors_dir, value);
    case O_HARNESS_HOST:
        return set_harness_host(c, value, d);
    case O_CONSENT:
        if (strcmp(value, "auto") != 0 && strcmp(value, "manual") != 0)
            return aa_fail(d, AA_E_INVAL, "README#consent",
                           "--consent %s: expected auto (the scripted user of PROFILE#6.6) or "
                           "manual (you answer on the terminal)",
                           value);
        c->consent_manual = value[0] == 'm';
        return AA_OK;
    case O_JOBS: {
        int64_t j;
        if (aa_parse_i64(value, strlen(value), &j) != AA_OK || j < 0 || j > 256)
            return aa_fail(d, AA_E_INVAL, "README#cli", "-j/--jobs %s: expected 0..256", value);
        c->jobs = (long)j;
        return AA_OK;
    }
    default:
        return aa_fail(d, AA_E_INTERNAL, "README#cli", "option %s has no handler", key);
    }
}

/* ---- run file ---------------------------------------------------------- */

static int json_value_text(const cJSON *v, const char *key, char *buf, size_t cap, const char **out,
                           struct aa_diag *d)
{
    if (cJSON_IsString(v)) {
        *out = v->valuestring;
        return AA_OK;
    }
    /* seed and jobs may be written as JSON numbers; seed loses precision
     * past 2^53 in most JSON producers, so the string form is documented */
    if (cJSON_IsNumber(v) && (strcmp(key, "seed") == 0 || strcmp(key, "jobs") == 0)) {
        double x = v->valuedouble;
        if (x < 0 || x > 9007199254740991.0 || x != (double)(int64_t)x)
            return aa_fail(d, AA_E_INVAL, "RUNFILE#keys",
                           "\"%s\": a number must be a non-negative integer below 2^53", key);
        if (aa_snprintf(buf, cap, "%lld", (long long)x) != AA_OK)
            return AA_E_LIMIT;
        *out = buf;
        return AA_OK;
    }
    return aa_fail(d, AA_E_INVAL, "RUNFILE#keys", "\"%s\" must be a string", key);
}

int aa_rconf_apply_json(struct aa_rconf *c, const cJSON *o, struct aa_diag *d)
{
    const cJSON *m;
    char num[32];
    int rc;

    if (!cJSON_IsObject(o))
        return aa_fail(d, AA_E_INVAL, "RUNFILE#format", "the run file must hold a JSON object");
    cJSON_ArrayForEach(m, o)
    {
        const struct opt *op = find_opt(m->string);
        const char *text = NULL;

        if (op == NULL) {
            if (strcmp(m->string, "runtime") == 0)
                continue; /* written by the parent for the cases; read separately */
            return aa_fail(d, AA_E_INVAL, "RUNFILE#keys",
                           "unknown key \"%s\" (keys are the long option names, see "
                           "docs/run-file.md)",
                           m->string);
        }
        switch (op->kind) {
        case K_FLAG:
            if (!cJSON_IsBool(m))
                return aa_fail(d, AA_E_INVAL, "RUNFILE#keys", "\"%s\" must be true or false",
                               m->string);
            rc = aa_rconf_set(c, m->string, cJSON_IsTrue(m) ? "true" : "false", false, d);
            break;
        case K_STR:
            if (cJSON_IsNull(m))
                continue;
            if ((rc = json_value_text(m, m->string, num, sizeof(num), &text, d)) == AA_OK)
                rc = aa_rconf_set(c, m->string, text, false, d);
            break;
        case K_LIST: {
            const cJSON *e;
            if (cJSON_IsString(m)) {
                rc = aa_rconf_set(c, m->string, m->valuestring, false, d);
                break;
            }
            if (!cJSON_IsArray(m))
                return aa_fail(d, AA_E_INVAL, "RUNFILE#keys", "\"%s\" must be an array of strings",
                               m->string);
            rc = AA_OK;
            cJSON_ArrayForEach(e, m)
            {
                if (!cJSON_IsString(e))
                    return aa_fail(d, AA_E_INVAL, "RUNFILE#keys",
                                   "\"%s\" must be an array of strings", m->string);
                if ((rc = aa_rconf_set(c, m->string, e->valuestring, false, d)) != AA_OK)
                    break;
            }
            break;
        }
        default: { /* K_ROLE, K_ROLELIST: {"agent-server": value} */
            const cJSON *r;
            if (!cJSON_IsObject(m))
                return aa_fail(d, AA_E_INVAL, "RUNFILE#keys",
                               "\"%s\" must be an object keyed by role", m->string);
            rc = AA_OK;
            cJSON_ArrayForEach(r, m)
            {
                struct aa_buf b;
                const cJSON *e;
                const cJSON *vals = r;
                bool one = op->kind == K_ROLE;

                if (one ? !cJSON_IsString(r) : !cJSON_IsArray(r))
                    return aa_fail(d, AA_E_INVAL, "RUNFILE#keys", "\"%s\".\"%s\" must be %s",
                                   m->string, r->string, one ? "a string" : "an array of strings");
                for (e = one ? r : vals->child; e != NULL; e = one ? NULL : e->next) {
                    if (!cJSON_IsString(e))
                        return aa_fail(d, AA_E_INVAL, "RUNFILE#keys",
                                       "\"%s\".\"%s\" must hold strings", m->string, r->string);
                    aa_buf_init(&b, 2 * AA_CONF_MAX_VALUE);
                    aa_buf_printf(&b, "%s=%s", r->string, e->valuestring);
                    if (b.err) {
                        aa_buf_free(&b);
                        return aa_fail(d, AA_E_INVAL, "RUNFILE#keys", "\"%s\": value too long",
                                       m->string);
                    }
                    rc = aa_rconf_set(c, m->string, b.p, false, d);
                    aa_buf_free(&b);
                    if (rc != AA_OK)
                        break;
                }
                if (rc != AA_OK)
                    break;
            }
            break;
        }
        }
        if (rc != AA_OK)
            return rc;
    }
    return AA_OK;
}

int aa_rconf_load_file(struct aa_rconf *c, const char *path, struct aa_diag *d)
{
    struct aa_json_opts jo = {0};
    char *text = NULL;
    size_t len = 0;
    cJSON *o = NULL;
    int rc;

    rc = aa_read_file(path, AA_CONF_RUNFILE_MAX, &text, &len);
    if (rc == AA_E_LIMIT)
        return aa_fail(d, AA_E_INVAL, "RUNFILE#format", "run file %s is larger than %zu bytes",
                       path, AA_CONF_RUNFILE_MAX);
    if (rc != AA_OK)
        return aa_fail(d, AA_E_INVAL, "RUNFILE#format", "cannot read run file %s: %s", path,
                       strerror(errno));
    jo.max_len = AA_CONF_RUNFILE_MAX;
    rc = aa_json_parse(text, len, &jo, &o, d);
    free(text);
    if (rc != AA_OK) {
        aa_diag_prefix(d, "run file %s", path);
        return AA_E_INVAL;
    }
    if (cJSON_GetObjectItemCaseSensitive(o, "runtime") != NULL) {
        cJSON_Delete(o);
        return aa_fail(d, AA_E_INVAL, "RUNFILE#keys",
                       "run file %s: \"runtime\" is written by the runner for its cases, not "
                       "a run-file key",
                       path);
    }
    rc = aa_rconf_apply_json(c, o, d);
    cJSON_Delete(o);
    if (rc != AA_OK) {
        aa_diag_prefix(d, "run file %s", path);
        return AA_E_INVAL;
    }
    return set_str(&c->source, path);
}

/* ---- validation -------------------------------------------------------- */

static const char *role_option(enum aa_role r)
{
    switch (r) {
    case AA_ROLE_AGENT_SERVER:
        return "--target-agent-server";
    case AA_ROLE_RESOURCE:
        return "--target-resource";
    case AA_ROLE_AUTH_SERVER:
        return "--target-auth-server";
    default:
        return "--target-delegate";
    }
}

static int check_identifier(const char *what, const char *url, bool *dev, struct aa_diag *d)
{
    struct aa_diag id;
    bool is_dev = false;

    aa_diag_clear(&id);
    if (aa_http_identifier_check(url, true, &is_dev, &id) != AA_OK) {
        const char *hint = "";
        size_t n = strlen(url);
        if (n > 0 && url[n - 1] == '/')
            hint = " (an identifier has no path, not even \"/\")";
        else if (strncmp(url, "http://", 7) == 0 && !aa_url_is_loopback(url))
            hint = " (http is allowed only for 127.0.0.1, ::1 and localhost: dev mode)";
        return aa_fail(d, AA_E_INVAL, "PROFILE#1", "%s %s: %s%s", what, url, id.msg, hint);
    }
    if (is_dev)
        *dev = true;
    return AA_OK;
}

static int check_path(const char *what, char **path, const char *def, struct aa_diag *d)
{
    const char *p;

    if (*path == NULL)
        return set_str(path, def);
    p = *path;
    if (p[0] != '/' || strlen(p) > 1024)
        return aa_fail(d, AA_E_INVAL, "README#cli", "%s %s: a path starts with \"/\"", what, p);
    for (; *p; p++)
        if (*p == ' ' || *p == '#' || (unsigned char)*p > 0x7e)
            return aa_fail(d, AA_E_INVAL, "README#cli",
                           "%s %s: a path holds no spaces, '#' or non-ASCII (percent-encode)", what,
                           *path);
    return AA_OK;
}

int aa_rconf_validate(struct aa_rconf *c, struct aa_diag *d)
{
    int rc;

    c->any_target = false;
    for (int r = AA_ROLE_AGENT_SERVER; r <= AA_ROLE_AUTH_SERVER; r++) {
        struct aa_rc_role *ro = &c->roles[r];
        if (ro->url != NULL) {
            c->any_target = true;
            if ((rc = check_identifier(role_option((enum aa_role)r), ro->url, &c->dev_mode, d)) !=
                AA_OK)
                return rc;
            if (ro->listen != NULL || ro->public_url != NULL)
                return aa_fail(d, AA_E_INVAL, "README#cli",
                               "%s is under test (%s); --listen and --public-url apply only to "
                               "roles the harness embeds",
                               aa_role_name((enum aa_role)r), ro->url);
        }
        if (ro->listen != NULL) {
            char addr[64];
            uint16_t port;
            if (aa_parse_listen(ro->listen, addr, sizeof(addr), &port) != AA_OK)
                return aa_fail(d, AA_E_INVAL, "README#cli",
                               "--listen %s=%s: expected ADDR:PORT (IPv6 as [ADDR]:PORT, port "
                               "0..65535, 0 = any free port)",
                               aa_role_name((enum aa_role)r), ro->listen);
        }
        if (ro->public_url != NULL) {
            char what[64];
            aa_snprintf(what, sizeof(what), "--public-url %s=", aa_role_name((enum aa_role)r));
            if ((rc = check_identifier(what, ro->public_url, &c->dev_mode, d)) != AA_OK)
                return rc;
        }
    }
    if (c->roles[AA_ROLE_DELEGATE].command != NULL)
        c->any_target = true;
    if ((rc = check_path("--resource-hwk-path", &c->roles[AA_ROLE_RESOURCE].hwk_path, "/data-hwk",
                         d)) != AA_OK ||
        (rc = check_path("--resource-jwks-path", &c->roles[AA_ROLE_RESOURCE].jwks_path,
                         "/data-jwks", d)) != AA_OK ||
        (rc = check_path("--resource-auth-path", &c->roles[AA_ROLE_RESOURCE].auth_path,
                         "/data-auth", d)) != AA_OK)
        return rc;
    for (size_t i = 0; i < c->n_insts; i++) {
        struct aa_rc_inst *in = &c->insts[i];
        if (in->url != NULL) {
            char what[64];
            aa_snprintf(what, sizeof(what), "--instance %s=", in->name);
            if ((rc = check_identifier(what, in->url, &c->dev_mode, d)) != AA_OK)
                return rc;
            if (in->listen != NULL)
                return aa_fail(d, AA_E_INVAL, "README#instances",
                               "instance %s is external (%s); --listen applies only to "
                               "instances the harness embeds",
                               in->name, in->url);
        }
        if (in->listen != NULL) {
            char addr[64];
            uint16_t port;
            if (aa_parse_listen(in->listen, addr, sizeof(addr), &port) != AA_OK)
                return aa_fail(d, AA_E_INVAL, "README#cli",
                               "--listen %s=%s: expected ADDR:PORT (IPv6 as [ADDR]:PORT, port "
                               "0..65535, 0 = any free port)",
                               in->name, in->listen);
        }
    }
    for (size_t i = 0; i < c->quirks.n; i++) {
        if (aa_quirk_find(c->quirks.v[i]) == NULL) {
            struct aa_buf names;
            aa_buf_init(&names, 4096);
            for (size_t q = 0; q < aa_n_quirks; q++)
                aa_buf_printf(&names, "%s%s", q ? ", " : "", aa_quirks[q].name);
            aa_fail(d, AA_E_INVAL, "README#quirks", "--allow-quirk %s: unknown quirk (known: %s)",
                    c->quirks.v[i], names.p ? names.p : "");
            aa_buf_free(&names);
            return AA_E_INVAL;
        }
    }
    return AA_OK;
}

/* ---- JSON -------------------------------------------------------------- */

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v != NULL)
        cJSON_AddStringToObject(o, k, v);
}

static cJSON *strv_json(const struct aa_strv *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a != NULL && i < s->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(s->v[i]));
    return a;
}

cJSON *aa_rconf_to_json(const struct aa_rconf *c, bool runtime)
{
    cJSON *o = cJSON_CreateObject(), *listen, *pub, *decl, *inst;
    char num[32];
    const struct aa_rc_role *res = &c->roles[AA_ROLE_RESOURCE];

    if (o == NULL)
        return NULL;
    add_str(o, "target-agent-server", c->roles[AA_ROLE_AGENT_SERVER].url);
    add_str(o, "target-resource", res->url);
    add_str(o, "target-auth-server", c->roles[AA_ROLE_AUTH_SERVER].url);
    add_str(o, "target-delegate", c->roles[AA_ROLE_DELEGATE].command);
    add_str(o, "resource-hwk-path", res->hwk_path);
    add_str(o, "resource-jwks-path", res->jwks_path);
    add_str(o, "resource-auth-path", res->auth_path);
    listen = cJSON_AddObjectToObject(o, "listen");
    pub = cJSON_AddObjectToObject(o, "public-url");
    inst = cJSON_AddObjectToObject(o, "instance");
    decl = cJSON_AddObjectToObject(o, "declare");
    for (int r = AA_ROLE_AGENT_SERVER; r < AA_CONF_N_ROLES; r++) {
        const struct aa_rc_role *ro = &c->roles[r];
        const char *name = aa_role_name((enum aa_role)r);
        add_str(listen, name, ro->listen);
        add_str(pub, name, ro->public_url);
        if (ro->declare.n > 0)
            cJSON_AddItemToObject(decl, name, strv_json(&ro->declare));
    }
    for (size_t i = 0; i < c->n_insts; i++) {
        if (c->insts[i].case_key != NULL)
            continue;
        add_str(listen, c->insts[i].name, c->insts[i].listen);
        add_str(inst, c->insts[i].name, c->insts[i].url);
    }
    cJSON_AddItemToObject(o, "suite", strv_json(&c->suites));
    cJSON_AddItemToObject(o, "filter", strv_json(&c->filters));
    cJSON_AddItemToObject(o, "allow-quirk", strv_json(&c->quirks));
    if (!c->clock_frozen) {
        cJSON_AddStringToObject(o, "clock", "now");
    } else if (c->clock_has_value) {
        aa_snprintf(num, sizeof(num), "frozen=%lld", (long long)c->clock_value);
        cJSON_AddStringToObject(o, "clock", num);
    } else {
        cJSON_AddStringToObject(o, "clock", "frozen");
    }
    if (c->seed_set) {
        aa_snprintf(num, sizeof(num), "%llu", (unsigned long long)c->seed);
        cJSON_AddStringToObject(o, "seed", num);
    }
    add_str(o, "report-dir", c->report_dir);
    add_str(o, "vectors-dir", c->vectors_dir);
    aa_snprintf(num, sizeof(num), "%ld", c->jobs);
    cJSON_AddStringToObject(o, "jobs", num);
    cJSON_AddBoolToObject(o, "verbose", c->verbose);
    cJSON_AddBoolToObject(o, "seed-report", c->seed_report);
    cJSON_AddBoolToObject(o, "seed-tests-only", c->seed_tests_only);
    cJSON_AddBoolToObject(o, "no-color", c->no_color);
    add_str(o, "harness-host", c->harness_host);
    cJSON_AddStringToObject(o, "consent", c->consent_manual ? "manual" : "auto");

    if (runtime) {
        cJSON *rt = cJSON_AddObjectToObject(o, "runtime"), *roles;
        add_str(rt, "results_dir", c->results_dir);
        cJSON_AddBoolToObject(rt, "dev_mode", c->dev_mode);
        aa_snprintf(num, sizeof(num), "%lld", (long long)c->clock_value);
        cJSON_AddStringToObject(rt, "clock_value", num);
        roles = cJSON_AddObjectToObject(rt, "roles");
        for (int r = AA_ROLE_AGENT_SERVER; roles != NULL && r < AA_CONF_N_ROLES; r++) {
            const struct aa_rc_role *ro = &c->roles[r];
            cJSON *e;
            if (ro->id == NULL && ro->unavailable == NULL && ro->command == NULL)
                continue;
            e = cJSON_AddObjectToObject(roles, aa_role_name((enum aa_role)r));
            add_str(e, "id", ro->id);
            add_str(e, "connect_url", ro->connect_url);
            add_str(e, "unavailable", ro->unavailable);
            add_str(e, "kid", ro->kid);
            add_str(e, "key_file", ro->key_file);
            cJSON_AddBoolToObject(e, "embedded", ro->embedded);
        }
        roles = cJSON_AddArrayToObject(rt, "instances");
        for (size_t i = 0; roles != NULL && i < c->n_insts; i++) {
            const struct aa_rc_inst *in = &c->insts[i];
            cJSON *e = cJSON_CreateObject();
            if (e == NULL)
                break;
            add_str(e, "name", in->name);
            add_str(e, "case", in->case_key);
            add_str(e, "id", in->id);
            add_str(e, "connect_url", in->connect_url);
            add_str(e, "unavailable", in->unavailable);
            add_str(e, "kid", in->kid);
            add_str(e, "key_file", in->key_file);
            cJSON_AddBoolToObject(e, "embedded", in->embedded);
            cJSON_AddBoolToObject(e, "skip", in->skip);
            cJSON_AddItemToArray(roles, e);
        }
        add_str(rt, "control_url", c->control_url);
        add_str(rt, "control_token", c->control_token);
        cJSON_AddBoolToObject(rt, "consent_tty", c->consent_tty);
        add_str(rt, "consent_why", c->consent_why);
    }
    return o;
}

static int rt_str(const cJSON *o, const char *k, char **out, struct aa_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (v == NULL || cJSON_IsNull(v))
        return AA_OK;
    if (!cJSON_IsString(v))
        return aa_fail(d, AA_E_INVAL, "RUNFILE#runtime", "runtime.%s must be a string", k);
    return set_str(out, v->valuestring);
}

int aa_rconf_load_runtime(struct aa_rconf *c, const char *path, struct aa_diag *d)
{
    struct aa_json_opts jo = {0};
    const cJSON *rt, *roles, *v;
    char *text = NULL;
    size_t len = 0;
    cJSON *o = NULL;
    int rc;

    if (aa_read_file(path, AA_CONF_RUNFILE_MAX, &text, &len) != AA_OK)
        return aa_fail(d, AA_E_IO, "README#internals", "cannot read the run configuration %s",
                       path);
    jo.max_len = AA_CONF_RUNFILE_MAX;
    rc = aa_json_parse(text, len, &jo, &o, d);
    free(text);
    if (rc != AA_OK)
        return rc;
    if ((rc = aa_rconf_apply_json(c, o, d)) != AA_OK)
        goto out;
    rt = cJSON_GetObjectItemCaseSensitive(o, "runtime");
    if (!cJSON_IsObject(rt)) {
        rc = aa_fail(d, AA_E_INVAL, "README#internals", "%s has no runtime member", path);
        goto out;
    }
    if ((rc = rt_str(rt, "results_dir", &c->results_dir, d)) != AA_OK)
        goto out;
    c->dev_mode = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rt, "dev_mode"));
    v = cJSON_GetObjectItemCaseSensitive(rt, "clock_value");
    if (cJSON_IsString(v) &&
        aa_parse_i64(v->valuestring, strlen(v->valuestring), &c->clock_value) == AA_OK)
        c->clock_has_value = true;
    roles = cJSON_GetObjectItemCaseSensitive(rt, "roles");
    cJSON_ArrayForEach(v, roles)
    {
        enum aa_role r;
        if (aa_role_from_name(v->string, &r) != AA_OK || r == AA_ROLE_NONE)
            continue;
        if ((rc = rt_str(v, "id", &c->roles[r].id, d)) != AA_OK ||
            (rc = rt_str(v, "connect_url", &c->roles[r].connect_url, d)) != AA_OK ||
            (rc = rt_str(v, "unavailable", &c->roles[r].unavailable, d)) != AA_OK ||
            (rc = rt_str(v, "kid", &c->roles[r].kid, d)) != AA_OK ||
            (rc = rt_str(v, "key_file", &c->roles[r].key_file, d)) != AA_OK)
            goto out;
        c->roles[r].embedded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "embedded"));
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(rt, "instances"))
    {
        const char *name = aa_json_str(v, "name");
        struct aa_rc_inst *in;
        if (name == NULL || aa_inst_find(name) == NULL)
            continue;
        if ((in = aa_rconf_inst(c, name, aa_json_str(v, "case"), true)) == NULL) {
            rc = aa_fail(d, AA_E_NOMEM, "README#internals", "out of memory");
            goto out;
        }
        if ((rc = rt_str(v, "id", &in->id, d)) != AA_OK ||
            (rc = rt_str(v, "connect_url", &in->connect_url, d)) != AA_OK ||
            (rc = rt_str(v, "unavailable", &in->unavailable, d)) != AA_OK ||
            (rc = rt_str(v, "kid", &in->kid, d)) != AA_OK ||
            (rc = rt_str(v, "key_file", &in->key_file, d)) != AA_OK)
            goto out;
        in->embedded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "embedded"));
        in->skip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "skip"));
    }
    if ((rc = rt_str(rt, "control_url", &c->control_url, d)) != AA_OK ||
        (rc = rt_str(rt, "control_token", &c->control_token, d)) != AA_OK ||
        (rc = rt_str(rt, "consent_why", &c->consent_why, d)) != AA_OK)
        goto out;
    c->consent_tty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rt, "consent_tty"));
    rc = aa_rconf_validate(c, d);
out:
    cJSON_Delete(o);
    return rc;
}
