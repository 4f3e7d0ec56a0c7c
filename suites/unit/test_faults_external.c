/*
 * "Against a separately started aauth-reference the same suites pass":
 * the built aauth-reference runs as external targets on loopback ports and
 * the built aauth-conformance judges it with --target-agent-server,
 * --target-resource, --target-auth-server (and --target-delegate with the
 * reference aauth-delegate), every suite, exactly as docs/ci.md tells a
 * user to run it against their own server.
 *
 * Four runs (setups of test_faults_util.h):
 *   all       every role external at once (FX_S_ALL), every suite
 *   resource  only the resource external, every suite
 *   auth      only the auth server external, every suite
 *   auth2     only AS2 external, the exchange checks neg-auth.ex.*
 * Each must exit 0 with every check it selects in report.json (the
 * catalogue's checks of the roles under test) PASS, INFO where the check
 * is informational by design, and SKIP only where `skips` below names the
 * check and the report gives that reason. A SKIP that is a limit of one
 * run (the harness holds a role's signing key only when it embeds that
 * role) must be covered by another run in which the check PASSes; only
 * the `never` entries (an auth server clock only an embedded one lets the
 * harness move) are SKIP everywhere. docs/ci.md lists the same SKIPs.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "test_faults_util.h"

enum xrun { X_ALL = 0, X_RESOURCE, X_AUTH, X_AUTH2, X_N };
static const char *const xrun_name[X_N] = {"all", "resource", "auth", "auth2"};
static const enum fx_setup_kind xrun_setup[X_N] = {FX_S_ALL, FX_S_RESOURCE, FX_S_AUTH, FX_S_AUTH2};
#define IN(r) (1u << (r))

/* Where a SKIP is acceptable, with the reason report.json must give. */
struct skip {
    const char *glob;
    unsigned runs;      /* IN(X_...) */
    bool never;         /* SKIP in every run: not coverable externally */
    const char *reason; /* substring of the check's message */
};
static const struct skip skips[] = {
    /* Codes, request tokens and refresh tokens that expire need an auth
     * server whose clock the harness moves: auth-timetravel, embedded only. */
    {"neg-auth.cd.code-expired", IN(X_ALL) | IN(X_AUTH), true, "auth-timetravel"},
    {"neg-auth.cd.request-token-expired", IN(X_ALL) | IN(X_AUTH), true, "auth-timetravel"},
    {"neg-auth.rf.expired", IN(X_ALL) | IN(X_AUTH), true, "auth-timetravel"},
    /* Forged tokens signed with a role's key: only for an embedded role. */
    {"neg-auth.at.*", IN(X_ALL), false, "agent-server's key"},
    {"neg-auth.rb.jwt-limits", IN(X_ALL), false, "agent-server's key"},
    {"neg-auth.rt.*", IN(X_ALL), false, "resource's key"},
    {"neg-auth.ex.upstream-expired", IN(X_ALL) | IN(X_AUTH), false, "key"},
    {"neg-auth.ex.chain-depth", IN(X_ALL) | IN(X_AUTH), false, "key"},
    {"neg-auth.ex.*", IN(X_ALL), false, "resource's key"},
    {"neg-resource.au.expired", IN(X_ALL), false, "under test"},
    {"neg-resource.au.agent-missing", IN(X_ALL), false, "under test"},
};
#define N_SKIPS (sizeof(skips) / sizeof(skips[0]))

static const struct skip *skip_of(enum xrun r, const char *id)
{
    for (size_t i = 0; i < N_SKIPS; i++)
        if ((skips[i].runs & IN(r)) && fnmatch(skips[i].glob, id, 0) == 0)
            return &skips[i];
    return NULL;
}

/* The catalogue checks run |r| must report: those of the roles under test,
 * plus the offline ones (role core: the suites are named). */
static bool in_scope(enum xrun r, const struct fx_result *c)
{
    bool core = strcmp(fx_nn(c->role), "core") == 0;

    switch (r) {
    case X_ALL:
        return true;
    case X_RESOURCE:
        return core || strcmp(fx_nn(c->role), "resource") == 0;
    case X_AUTH:
        return core || strcmp(fx_nn(c->role), "auth-server") == 0;
    case X_AUTH2:
        return strncmp(c->id, "neg-auth.ex.", 12) == 0;
    case X_N:
        break;
    }
    return false;
}

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(external, reference_passes)
{
    int *v = cr_malloc(X_N * sizeof(*v));

    for (int i = 0; i < X_N; i++)
        v[i] = i;
    return cr_make_param_array(int, v, X_N, free_params);
}

ParameterizedTest(int *which, external, reference_passes)
{
    enum xrun r = (enum xrun) * which;
    struct fx_report cat, rep;
    struct fx_setup st;
    char dir[512], rdir[600], path[700], why[4096];
    const char *suites[64];
    size_t nsuites = 0, n_pass = 0, n_info = 0, n_skip = 0, n_scope = 0;
    int exit_status = -1;

    (void)aa_snprintf(dir, sizeof(dir), "%s/external-%s", FX_WORK_ROOT, xrun_name[r]);
    cr_assert(fx_fresh_dir(dir));
    cr_assert(fx_catalogue(dir, &cat), "aauth-conformance --list=json failed (%s/list.err)", dir);
    for (size_t i = 0; i < cat.n; i++) {
        const char *s =
            fx_jstr(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cat.doc, "checks"), (int)i),
                    "suite");
        bool dup = false;
        cr_assert_not_null(s);
        for (size_t k = 0; k < nsuites; k++)
            dup = dup || strcmp(suites[k], s) == 0;
        if (!dup) {
            cr_assert_lt(nsuites, 64);
            suites[nsuites++] = s;
        }
    }

    for (int attempt = 0;; attempt++) {
        struct fx_argv a = {0};

        cr_assert(fx_setup_start(xrun_setup[r], NULL, dir, &st, &a, why, sizeof(why)), "%s: %s",
                  xrun_name[r], why);
        (void)aa_snprintf(rdir, sizeof(rdir), "%s/report", dir);
        fx_arg(&a, "--no-color");
        fx_arg(&a, "--report-dir");
        fx_arg(&a, rdir);
        if (r == X_AUTH2) {
            fx_arg(&a, "--filter");
            fx_arg(&a, "neg-auth.ex.*");
        } else {
            /* every suite, named: offline ones (vectors) run only when named */
            for (size_t k = 0; k < nsuites; k++) {
                fx_arg(&a, "--suite");
                fx_arg(&a, suites[k]);
            }
        }
        exit_status = fx_run_runner(&a, dir, "runner");
        fx_setup_stop(&st);
        (void)aa_snprintf(path, sizeof(path), "%s/report.json", rdir);
        cr_assert(exit_status >= 0 && fx_report_load(path, &rep),
                  "%s: aauth-conformance exit %d without report.json (%s/runner.err)", xrun_name[r],
                  exit_status, dir);
        if (!fx_port_clash(&rep) || attempt == 2)
            break;
        fx_report_free(&rep);
    }
    (void)aa_snprintf(path, sizeof(path), "%s/runner.err", dir);
    cr_assert(!fx_sanitizer_report(path), "%s: sanitizer report in %s", xrun_name[r], path);
    for (size_t i = 0; i < st.nrefs; i++) {
        cr_assert(!fx_sanitizer_report(st.refs[i].err_path), "sanitizer report in %s",
                  st.refs[i].err_path);
        cr_assert_eq(st.refs[i].exit_status, 0, "aauth-reference exit %d (%s)",
                     st.refs[i].exit_status, st.refs[i].err_path);
    }

    for (size_t i = 0; i < cat.n; i++) {
        const struct fx_result *c = &cat.r[i], *x;
        const struct skip *sk;

        if (!in_scope(r, c))
            continue;
        n_scope++;
        x = fx_report_find(&rep, c->id);
        cr_assert_not_null(x, "%s: %s is not in report.json", xrun_name[r], c->id);
        if (strcmp(fx_nn(x->outcome), "PASS") == 0) {
            n_pass++;
        } else if (strcmp(fx_nn(x->outcome), "INFO") == 0 && strcmp(fx_nn(c->level), "INFO") == 0) {
            n_info++;
        } else if (strcmp(fx_nn(x->outcome), "SKIP") == 0 && (sk = skip_of(r, c->id)) != NULL) {
            cr_assert(strstr(fx_nn(x->message), sk->reason) != NULL,
                      "%s: %s SKIP for another reason than \"%s\": %s", xrun_name[r], c->id,
                      sk->reason, fx_nn(x->message));
            n_skip++;
        } else {
            cr_assert_fail("%s: %s is %s against the separately started reference: %s (%s)",
                           xrun_name[r], c->id, fx_nn(x->outcome), fx_nn(x->message), dir);
        }
    }
    cr_assert_eq(rep.n, n_scope, "%s: report.json has %zu checks, the catalogue %zu in scope",
                 xrun_name[r], rep.n, n_scope);
    cr_assert_eq(exit_status, 0, "%s: aauth-conformance exit %d", xrun_name[r], exit_status);
    cr_assert_eq(rep.exit_code, 0);
    fprintf(stderr, "external %-8s %zu checks: %zu PASS, %zu INFO, %zu SKIP (listed)\n",
            xrun_name[r], n_scope, n_pass, n_info, n_skip);
    fx_report_free(&rep);
    fx_report_free(&cat);
    fx_rm_rf(dir);
}

/* Every SKIP that is not `never` is a check some other run judges, and
 * every check of the catalogue is judged by at least one run. */
Test(external, skips_are_covered_elsewhere)
{
    struct fx_report cat;
    char dir[512];
    size_t never = 0;

    (void)aa_snprintf(dir, sizeof(dir), "%s/external-coverage", FX_WORK_ROOT);
    cr_assert(fx_fresh_dir(dir));
    cr_assert(fx_catalogue(dir, &cat));
    for (size_t i = 0; i < cat.n; i++) {
        const struct fx_result *c = &cat.r[i];
        bool judged = false, is_never = false;
        for (int r = 0; r < X_N; r++) {
            const struct skip *sk = skip_of((enum xrun)r, c->id);
            if (in_scope((enum xrun)r, c) && sk == NULL)
                judged = true;
            if (sk != NULL && sk->never)
                is_never = true;
        }
        if (is_never) {
            never++;
            continue;
        }
        cr_assert(judged, "%s is SKIP in every external run", c->id);
    }
    /* the never-list names real checks, and only a few */
    cr_assert_gt(never, 0);
    cr_assert_leq(never, 5, "%zu checks can never be judged externally", never);
    for (size_t i = 0; i < N_SKIPS; i++) {
        bool matches = false;
        for (size_t k = 0; k < cat.n && !matches; k++)
            matches = fnmatch(skips[i].glob, cat.r[k].id, 0) == 0;
        cr_assert(matches, "skips[] entry %s matches no check", skips[i].glob);
    }
    fx_report_free(&cat);
    fx_rm_rf(dir);
}
