/*
 * The proof behind `aauth-reference --fault NAME` (aa_ref_faults[],
 * reference/lib/ref_faults.c, docs/faults.md): every fault switch makes
 * exactly its listed checks FAIL (WARN for a SHOULD) with the right
 * diagnosis, and breaks nothing that another switch is there to break.
 *
 * For every row of the table (iterated, so a new switch is covered the
 * moment it is added, and one whose ids the suites do not have fails):
 * the built aauth-reference is started with --fault NAME on free ports in
 * the setup each listed check needs, the built aauth-conformance runs
 * against it with --filter restricted to the union U of all rows' ids
 * judged in that setup, and report.json is read:
 *   - each id of the row is FAIL (WARN when the check is SHOULD) with a
 *     non-empty message, expected and actual that differ, and a diagnosis
 *     that names what broke (table `diags`: e.g. actual "JWT" for
 *     wrong-typ, "Agent-Auth" for no-challenge, status 200 for a request
 *     that had to be refused);
 *   - every other id of U still PASSes ("exactly one behaviour"), or is a
 *     cascade the report itself marks ("not evaluated: prerequisite ...
 *     FAIL"), or one of the few documented `cascades` below.
 * A control run per setup without any switch has every id of U PASS.
 *
 * Setups (test_faults_util.h, fx_setup_start): the role under test runs
 * as separate aauth-reference processes with the switch on; every other
 * role is the runner's embedded reference, whose keys let the harness
 * forge the tokens a negative check needs. A check is judged in the setup
 * of its role; the exchange checks neg-auth.ex.* in FX_S_AUTH2, where only
 * AS2 is external and the harness holds AS1's key; F7's checks of R2
 * (exchange.rt2.*, exchange.t2.accepted) in FX_S_RESOURCE2, where only R2
 * is external: in FX_S_RESOURCE the switch is on R1 too, and a switch that
 * breaks R1's part of TEST 1 (wrong-typ, no-challenge, ...) would leave
 * R2's checks "not evaluated".
 *
 * Work files: <build>/suites/test-faults-work/<test>/, removed when the
 * test passes, kept for inspection when it fails.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdarg.h>

#include "aa_ref.h"
#include "test_faults_util.h"

/*
 * The cross matrix ("exactly one behaviour") is a property of the table
 * and the suites, not of memory safety: the sanitizer build runs each
 * switch with its own ids only (the control runs keep the whole union),
 * which keeps the ASan pass of `make test` short; the normal build runs
 * the full matrix.
 */
#ifdef AA_SANITIZE
#define CROSS_MATRIX 0
#else
#define CROSS_MATRIX 1
#endif

enum setup {
    S_AGENT = FX_S_AGENT,
    S_RESOURCE = FX_S_RESOURCE,
    S_AUTH = FX_S_AUTH,
    S_AUTH2 = FX_S_AUTH2,
    S_RESOURCE2 = FX_S_RESOURCE2,
    S_N = FX_S_RESOURCE2 + 1
};
static const char *const setup_name[S_N] = {"agent", "resource", "auth", "auth2", "resource2"};

/* ---- expectations beyond the table ----------------------------------------------------- */

/*
 * The diagnosis each switch's checks must give: |needle| (or |alt|) in the
 * check's actual or hint, i.e. in what the harness says it SAW, not in
 * what it expected. D_THUMBPRINT: actual is an RFC 7638 thumbprint other
 * than the expected one. D_TRAILING_SLASH: actual is the expected
 * identifier plus "/". Every row of aa_ref_faults[] needs an entry.
 */
enum diag_kind { D_NEEDLE, D_THUMBPRINT, D_TRAILING_SLASH };
struct diag {
    const char *fault;
    enum diag_kind kind;
    const char *needle, *alt;
};
static const struct diag diags[] = {
    {"accept-expired", D_NEEDLE, "200", NULL},
    {"skip-sigkey-coverage", D_NEEDLE, "200", NULL},
    {"ignore-aud", D_NEEDLE, "200", NULL},
    {"accept-alg-none", D_NEEDLE, "200", NULL},
    {"authority-from-host", D_NEEDLE, "200", NULL},
    {"accept-legacy-base", D_NEEDLE, "200", NULL},
    {"grant-agent-token", D_NEEDLE, "200", NULL},
    {"rt-no-sig-check", D_NEEDLE, "200", NULL},
    {"skip-created-window", D_NEEDLE, "200", NULL},
    {"skip-replay", D_NEEDLE, "200", NULL},
    {"wrong-typ", D_NEEDLE, "JWT", NULL},
    {"no-challenge", D_NEEDLE, "Agent-Auth", NULL},
    {"cnf-unbound", D_NEEDLE, "200", NULL},
    {"code-reuse", D_NEEDLE, "200", NULL},
    {"refresh-any-agent", D_NEEDLE, "200", NULL},
    {"accept-private-cnf", D_NEEDLE, "200", NULL},
    {"skip-digest", D_NEEDLE, "200", NULL},
    /* AU-05: the JWT-typed auth token is not refused as a token at all:
     * the answer is the auth-token challenge instead of identity=?1. */
    {"skip-typ", D_NEEDLE, "200", "auth-token"},
    {"ignore-hwk-binding", D_NEEDLE, "200", NULL},
    {"metadata-id-mismatch", D_TRAILING_SLASH, NULL, NULL},
    {"jwks-private", D_NEEDLE, "\"d\"", NULL},
    {"exp-beyond-expires-in", D_NEEDLE, "exp", NULL},
    {"cnf-mismatch", D_THUMBPRINT, NULL, NULL},
    {"exchange-untrusted-upstream", D_NEEDLE, "200", NULL},
    {"exchange-refresh-token", D_NEEDLE, "refresh_token", NULL},
    {"exchange-no-act", D_NEEDLE, "act", "absent"},
    {"refresh-rotates", D_NEEDLE, "refresh_token", NULL},
    {"state-not-echoed", D_NEEDLE, "state", NULL},
    {"f5-agent-claim", D_NEEDLE, "agent", NULL},
    {"scope-not-enforced", D_NEEDLE, "200", NULL},
    {"rt-wrong-agent-jkt", D_THUMBPRINT, NULL, NULL},
};
#define N_DIAGS (sizeof(diags) / sizeof(diags[0]))

/*
 * Known cascades the report does not mark as "not evaluated": with
 * |fault| on, the checks matching |glob| (other rows' ids) may be FAIL or
 * ERROR. Each is a limit of a suite, named here so it stays visible.
 */
struct cascade {
    const char *fault, *glob, *why;
};
static const struct cascade cascades[] = {
    {"state-not-echoed", "neg-auth.cd.*",
     "the neg-auth scripted consent stops at the missing state and records ERROR "
     "(AA_E_CLIENT_STATE) for the code checks that need a code"},
};
#define N_CASCADES (sizeof(cascades) / sizeof(cascades[0]))

static const struct diag *diag_of(const char *fault)
{
    for (size_t i = 0; i < N_DIAGS; i++)
        if (strcmp(diags[i].fault, fault) == 0)
            return &diags[i];
    return NULL;
}

static const struct cascade *cascade_of(const char *fault, const char *id)
{
    for (size_t i = 0; i < N_CASCADES; i++)
        if (strcmp(cascades[i].fault, fault) == 0 && fnmatch(cascades[i].glob, id, 0) == 0)
            return &cascades[i];
    return NULL;
}

/* ---- the table, resolved against the catalogue ------------------------------------------ */

#define MAX_IDS 1024

struct plan {
    struct fx_report cat; /* aauth-conformance --list=json */
    /* every row's ids with their setup, in table order */
    struct {
        char id[128];
        size_t row;
        enum setup setup;
        bool should; /* level SHOULD: the check WARNs */
    } ids[MAX_IDS];
    size_t n;
    const char *u[S_N][MAX_IDS]; /* union per setup (deduplicated) */
    size_t nu[S_N];
    char problems[8192]; /* rows that cannot be resolved */
};

static const char *role_of_setup_name(enum setup s)
{
    return s == S_AGENT ? "agent" : s == S_RESOURCE || s == S_RESOURCE2 ? "resource" : "auth";
}

static void problem(struct plan *p, const char *fmt, ...) AA_PRINTF(2, 3);
static void problem(struct plan *p, const char *fmt, ...)
{
    size_t used = strlen(p->problems);
    va_list ap;

    if (used + 1 >= sizeof(p->problems))
        return;
    va_start(ap, fmt);
    (void)vsnprintf(p->problems + used, sizeof(p->problems) - used, fmt, ap);
    va_end(ap);
}

/* The setup that judges |c| (a catalogue entry). -1 when no fault can
 * target its role. */
static int setup_of(const struct fx_result *c)
{
    if (strcmp(fx_nn(c->role), "agent-server") == 0)
        return S_AGENT;
    /* F7's checks of R2 (exchange.c F7_R2_CHECKS): with R1 under test a
     * switch on R1 stops the flow before R2 is reached */
    if (strcmp(fx_nn(c->role), "resource") == 0)
        return strncmp(c->id, "exchange.rt2.", 13) == 0 ||
                       strcmp(c->id, "exchange.t2.accepted") == 0
                   ? S_RESOURCE2
                   : S_RESOURCE;
    if (strcmp(fx_nn(c->role), "auth-server") == 0)
        return strncmp(c->id, "neg-auth.ex.", 12) == 0 ? S_AUTH2 : S_AUTH;
    return -1;
}

static bool roles_list_has(const char *roles, const char *role)
{
    size_t n = strlen(role);

    for (const char *p = roles; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && memcmp(p, role, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

static void plan_build(struct plan *p, const char *dir)
{
    memset(p, 0, sizeof(*p));
    cr_assert(fx_fresh_dir(dir), "cannot create %s", dir);
    cr_assert(fx_catalogue(dir, &p->cat),
              "aauth-conformance --list=json failed (%s); is the tree built? (%s/list.err)",
              FX_RUNNER_BIN, dir);
    for (size_t row = 0; row < aa_ref_n_faults; row++) {
        const struct aa_ref_fault_info *f = &aa_ref_faults[row];
        bool role_seen[3] = {false, false, false};

        for (const char *q = f->failing_checks; q != NULL && *q != '\0';) {
            const char *e = strchr(q, ',');
            size_t l = e ? (size_t)(e - q) : strlen(q);
            const struct fx_result *c;
            char id[128];
            int s;

            if (l == 0 || l >= sizeof(id)) {
                problem(p, "%s: empty or overlong id\n", f->name);
                break;
            }
            memcpy(id, q, l);
            id[l] = '\0';
            q = e ? e + 1 : NULL;
            if ((c = fx_report_find(&p->cat, id)) == NULL) {
                problem(p, "%s: \"%s\" is not a check of aauth-conformance --list\n", f->name, id);
                continue;
            }
            if ((s = setup_of(c)) < 0) {
                problem(p, "%s: %s judges no server role\n", f->name, id);
                continue;
            }
            role_seen[s == S_AGENT ? 0 : s == S_RESOURCE || s == S_RESOURCE2 ? 1 : 2] = true;
            if (!roles_list_has(f->roles, role_of_setup_name((enum setup)s)))
                problem(p, "%s: %s judges a role the row does not name\n", f->name, id);
            for (size_t k = 0; k < p->n; k++)
                if (p->ids[k].row == row && strcmp(p->ids[k].id, id) == 0)
                    problem(p, "%s: %s listed twice\n", f->name, id);
            cr_assert_lt(p->n, MAX_IDS);
            (void)aa_snprintf(p->ids[p->n].id, sizeof(p->ids[p->n].id), "%s", id);
            p->ids[p->n].row = row;
            p->ids[p->n].setup = (enum setup)s;
            p->ids[p->n].should = strcmp(fx_nn(c->level), "SHOULD") == 0;
            p->n++;
        }
        /* Every named role has a check that proves the switch there. */
        if (roles_list_has(f->roles, "agent") && !role_seen[0])
            problem(p, "%s: role %s has no failing check\n", f->name, "agent");
        if (roles_list_has(f->roles, "resource") && !role_seen[1])
            problem(p, "%s: role %s has no failing check\n", f->name, "resource");
        if (roles_list_has(f->roles, "auth") && !role_seen[2])
            problem(p, "%s: role %s has no failing check\n", f->name, "auth");
        if (diag_of(f->name) == NULL)
            problem(p, "%s: no diagnosis entry in test_faults.c diags[]\n", f->name);
    }
    for (size_t k = 0; k < p->n; k++) {
        enum setup s = p->ids[k].setup;
        bool dup = false;
        for (size_t j = 0; j < p->nu[s]; j++)
            dup = dup || strcmp(p->u[s][j], p->ids[k].id) == 0;
        if (!dup)
            p->u[s][p->nu[s]++] = p->ids[k].id;
    }
}

static void plan_free(struct plan *p)
{
    fx_report_free(&p->cat);
}

/* ---- one run of a setup --------------------------------------------------------------- */

struct run {
    struct fx_setup st;
    int exit;
    struct fx_report rep;
    char why[4096];
    char err_path[600];
};

/* Start the setup's aauth-reference processes (with |fault|), run the
 * runner restricted to |ids|, stop the processes, load the report. false
 * with r->why when the harness (not the server under test) failed. A
 * pinned port taken meanwhile by another process is retried elsewhere. */
static bool run_setup(enum setup s, const char *fault, const char *const *ids, size_t nids,
                      const char *dir, struct run *r)
{
    for (int attempt = 0;; attempt++) {
        struct fx_argv a = {0};
        char rdir[600], path[700];

        memset(r, 0, sizeof(*r));
        r->exit = -1;
        if (!fx_setup_start((enum fx_setup_kind)s, fault, dir, &r->st, &a, r->why, sizeof(r->why)))
            return false;
        (void)aa_snprintf(rdir, sizeof(rdir), "%s/report", dir);
        fx_arg(&a, "--seed");
        fx_arg(&a, "7");
        fx_arg(&a, "--no-color");
        fx_arg(&a, "--report-dir");
        fx_arg(&a, rdir);
        for (size_t i = 0; i < nids; i++) {
            fx_arg(&a, "--filter");
            fx_arg(&a, ids[i]);
        }
        r->exit = fx_run_runner(&a, dir, "runner");
        fx_setup_stop(&r->st);
        (void)aa_snprintf(r->err_path, sizeof(r->err_path), "%s/runner.err", dir);
        (void)aa_snprintf(path, sizeof(path), "%s/report.json", rdir);
        if (r->exit < 0 || !fx_report_load(path, &r->rep)) {
            char *err = fx_read_file(r->err_path, NULL);
            (void)aa_snprintf(r->why, sizeof(r->why),
                              "aauth-conformance exit %d, no report.json: %.800s", r->exit,
                              err ? err : "");
            free(err);
            return false;
        }
        if (!fx_port_clash(&r->rep) || attempt == 2)
            return true;
        fx_report_free(&r->rep);
    }
}

/* ---- assertions ------------------------------------------------------------------------- */

static bool is_b64url43(const char *s)
{
    if (strlen(s) != 43)
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

/* "the right diagnosis" for |x| under |d| (see diags[]). */
static void assert_diagnosis(const char *fault, const struct diag *d, const struct fx_result *x)
{
    const char *act = fx_nn(x->actual), *exp = fx_nn(x->expected), *hint = fx_nn(x->hint);
    size_t la = strlen(act), le = strlen(exp);

    cr_assert(x->message != NULL && x->message[0] != '\0', "%s: %s has no message", fault, x->id);
    cr_assert(le > 0, "%s: %s has no expected", fault, x->id);
    cr_assert(la > 0, "%s: %s has no actual", fault, x->id);
    cr_assert_str_neq(act, exp, "%s: %s: actual equals expected (%s)", fault, x->id, act);
    cr_assert(strncmp(x->message, "not evaluated", 13) != 0,
              "%s: %s is only a cascade (%s); the switch must break it directly", fault, x->id,
              x->message);
    switch (d->kind) {
    case D_NEEDLE:
        cr_assert(strstr(act, d->needle) != NULL || strstr(hint, d->needle) != NULL ||
                      (d->alt != NULL && (strstr(act, d->alt) != NULL || strstr(hint, d->alt))),
                  "%s: %s: the diagnosis does not name \"%s\"%s%s: actual \"%s\", hint \"%s\"",
                  fault, x->id, d->needle, d->alt ? " or " : "", d->alt ? d->alt : "", act, hint);
        break;
    case D_THUMBPRINT:
        cr_assert(is_b64url43(act) && le >= 43 && is_b64url43(exp + le - 43) &&
                      strcmp(act, exp + le - 43) != 0,
                  "%s: %s: expected one RFC 7638 thumbprint, got another: expected \"%s\", "
                  "actual \"%s\"",
                  fault, x->id, exp, act);
        break;
    case D_TRAILING_SLASH:
        cr_assert(act[la - 1] == '/' && le >= la - 1 &&
                      memcmp(exp + le - (la - 1), act, la - 1) == 0,
                  "%s: %s: actual should be the expected identifier plus \"/\": expected \"%s\", "
                  "actual \"%s\"",
                  fault, x->id, exp, act);
        break;
    }
}

static void assert_processes_clean(const char *what, const struct run *r)
{
    cr_assert(!fx_sanitizer_report(r->err_path), "%s: sanitizer report in %s", what, r->err_path);
    for (size_t i = 0; i < r->st.nrefs; i++) {
        cr_assert(!fx_sanitizer_report(r->st.refs[i].err_path), "%s: sanitizer report in %s", what,
                  r->st.refs[i].err_path);
        cr_assert_eq(r->st.refs[i].exit_status, 0,
                     "%s: aauth-reference did not shut down cleanly (exit %d, %s)", what,
                     r->st.refs[i].exit_status, r->st.refs[i].err_path);
    }
}

/* ---- tests ------------------------------------------------------------------------------- */

/* Parameters: the five control runs, then one per table row. */
struct fparam {
    int control; /* 1: control run of setup |idx| */
    size_t idx;
};

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(faults, matrix)
{
    size_t n = S_N + aa_ref_n_faults;
    struct fparam *v = cr_malloc(n * sizeof(*v));

    for (size_t i = 0; i < n; i++) {
        v[i].control = i < S_N;
        v[i].idx = i < S_N ? i : i - S_N;
    }
    return cr_make_param_array(struct fparam, v, n, free_params);
}

ParameterizedTest(struct fparam *fp, faults, matrix)
{
    struct plan *p = calloc(1, sizeof(*p));
    char dir[512], sub[600];
    const char *name;
    size_t n_listed = 0, n_pass = 0, n_cascade = 0;

    cr_assert_not_null(p);
    name = fp->control ? setup_name[fp->idx] : aa_ref_faults[fp->idx].name;
    (void)aa_snprintf(dir, sizeof(dir), "%s/%s-%s", FX_WORK_ROOT, fp->control ? "control" : "fault",
                      name);
    plan_build(p, dir);
    cr_assert(p->problems[0] == '\0', "the fault table does not resolve:\n%s", p->problems);

    if (fp->control) {
        enum setup s = (enum setup)fp->idx;
        struct run r;

        (void)aa_snprintf(sub, sizeof(sub), "%s/run", dir);
        cr_assert(fx_fresh_dir(sub));
        cr_assert(run_setup(s, NULL, p->u[s], p->nu[s], sub, &r), "control %s: %s", name, r.why);
        assert_processes_clean(name, &r);
        for (size_t j = 0; j < p->nu[s]; j++) {
            const struct fx_result *x = fx_report_find(&r.rep, p->u[s][j]);
            cr_assert_not_null(x, "control %s: %s not in report.json", name, p->u[s][j]);
            cr_assert_str_eq(fx_nn(x->outcome), "PASS",
                             "control %s: %s is %s without any fault switch: %s (%s)", name, x->id,
                             fx_nn(x->outcome), fx_nn(x->message), sub);
            n_pass++;
        }
        cr_assert_eq(r.exit, 0, "control %s: aauth-conformance exit %d", name, r.exit);
        cr_assert_eq(r.rep.exit_code, 0);
        fprintf(stderr, "control %-8s %zu checks PASS\n", name, n_pass);
        fx_report_free(&r.rep);
    } else {
        const struct aa_ref_fault_info *f = &aa_ref_faults[fp->idx];
        const struct diag *d = diag_of(f->name);

        for (int s = 0; s < S_N; s++) {
            const char *mine[MAX_IDS];
            size_t nmine = 0;
            bool any_fail = false;
            struct run r;

            for (size_t k = 0; k < p->n; k++)
                if (p->ids[k].row == fp->idx && p->ids[k].setup == (enum setup)s)
                    mine[nmine++] = p->ids[k].id;
            if (nmine == 0)
                continue;
            (void)aa_snprintf(sub, sizeof(sub), "%s/%s", dir, setup_name[s]);
            cr_assert(fx_fresh_dir(sub));
            cr_assert(run_setup((enum setup)s, f->name, CROSS_MATRIX ? p->u[s] : mine,
                                CROSS_MATRIX ? p->nu[s] : nmine, sub, &r),
                      "%s in setup %s: %s", f->name, setup_name[s], r.why);
            assert_processes_clean(f->name, &r);
            cr_assert(fx_file_has(r.st.refs[0].err_path, "deliberately non-conformant"),
                      "%s: aauth-reference did not announce the switch", f->name);

            /* Its own checks: FAIL (WARN for a SHOULD) with the diagnosis. */
            for (size_t k = 0; k < p->n; k++) {
                const struct fx_result *x;
                if (p->ids[k].row != fp->idx || p->ids[k].setup != (enum setup)s)
                    continue;
                x = fx_report_find(&r.rep, p->ids[k].id);
                cr_assert_not_null(x, "%s: %s not in report.json (%s)", f->name, p->ids[k].id, sub);
                cr_assert_str_eq(fx_nn(x->outcome), p->ids[k].should ? "WARN" : "FAIL",
                                 "%s: %s is %s, expected %s: %s (%s)", f->name, x->id,
                                 fx_nn(x->outcome), p->ids[k].should ? "WARN" : "FAIL",
                                 fx_nn(x->message), sub);
                assert_diagnosis(f->name, d, x);
                n_listed++;
            }
            /* Every other row's check in this setup: untouched, or a cascade. */
            for (size_t j = 0; CROSS_MATRIX && j < p->nu[s]; j++) {
                const char *id = p->u[s][j];
                const struct fx_result *x = fx_report_find(&r.rep, id);
                bool own = false;
                for (size_t m = 0; m < nmine; m++)
                    own = own || strcmp(mine[m], id) == 0;
                cr_assert_not_null(x, "%s: %s not in report.json (%s)", f->name, id, sub);
                if (strcmp(fx_nn(x->outcome), "FAIL") == 0)
                    any_fail = true;
                if (own)
                    continue;
                if (strcmp(fx_nn(x->outcome), "PASS") == 0) {
                    n_pass++;
                } else if (strncmp(fx_nn(x->message), "not evaluated", 13) == 0 ||
                           cascade_of(f->name, id) != NULL) {
                    n_cascade++;
                } else {
                    cr_assert_fail(
                        "%s breaks more than one behaviour: %s (listed for another switch) "
                        "is %s: %s (%s)",
                        f->name, id, fx_nn(x->outcome), fx_nn(x->message), sub);
                }
            }
            for (size_t m = 0; !CROSS_MATRIX && m < nmine; m++) {
                const struct fx_result *x = fx_report_find(&r.rep, mine[m]);
                any_fail = any_fail || (x != NULL && strcmp(fx_nn(x->outcome), "FAIL") == 0);
            }
            cr_assert_eq(r.exit, any_fail ? 1 : 0, "%s in setup %s: aauth-conformance exit %d",
                         f->name, setup_name[s], r.exit);
            cr_assert_eq(r.rep.exit_code, r.exit);
            fx_report_free(&r.rep);
        }
        fprintf(stderr, "fault %-28s %zu listed checks FAIL/WARN, %zu others PASS, %zu cascades\n",
                f->name, n_listed, n_pass, n_cascade);
        cr_assert_gt(n_listed, 0);
    }
    plan_free(p);
    free(p);
    fx_rm_rf(dir);
}

/* The table itself: rows resolve, one sentence each, the expectations in
 * this file name only rows that exist. */
Test(faults, table_resolves)
{
    struct plan *p = calloc(1, sizeof(*p));
    char dir[512];

    cr_assert_not_null(p);
    (void)aa_snprintf(dir, sizeof(dir), "%s/table", FX_WORK_ROOT);
    plan_build(p, dir);
    cr_assert(p->problems[0] == '\0', "the fault table does not resolve:\n%s", p->problems);
    for (size_t i = 0; i < aa_ref_n_faults; i++) {
        const char *b = aa_ref_faults[i].breaks;
        size_t n = strlen(b);
        cr_assert(n > 1 && b[n - 1] == '.', "%s: effect is not a sentence", aa_ref_faults[i].name);
        cr_assert(strstr(b, ". ") == NULL, "%s: effect is more than one sentence: %s",
                  aa_ref_faults[i].name, b);
    }
    for (size_t i = 0; i < N_DIAGS; i++) {
        unsigned bit = 0;
        struct aa_diag dg;
        aa_diag_clear(&dg);
        cr_assert_eq(aa_ref_faults_parse(diags[i].fault, &bit, &dg), AA_OK,
                     "diags[] names no fault \"%s\"", diags[i].fault);
    }
    for (size_t i = 0; i < N_CASCADES; i++) {
        unsigned bit = 0;
        struct aa_diag dg;
        aa_diag_clear(&dg);
        cr_assert_eq(aa_ref_faults_parse(cascades[i].fault, &bit, &dg), AA_OK,
                     "cascades[] names no fault \"%s\"", cascades[i].fault);
    }
    /* A placeholder id is caught: the resolver rejects what the suites lack. */
    {
        const struct fx_result *c = fx_report_find(&p->cat, "flow-f6.test1.typ");
        cr_assert_null(c);
        cr_assert_not_null(fx_report_find(&p->cat, "delegation.agent-token.typ"));
    }
    plan_free(p);
    free(p);
    fx_rm_rf(dir);
}
