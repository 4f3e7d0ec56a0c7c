/*
 * catalogue: the checks, cases and flows that suites declare with
 * AA_CHECK / AA_CASE / AA_FLOW, found through the linker sections
 * "aa_checks", "aa_cases" and "aa_flows" (the __start_/__stop_ symbols GNU
 * ld and lld define for sections whose names are C identifiers).
 *
 * Design choice: the catalogue is validated as a whole at startup, before
 * anything runs, so a suite bug (duplicate id, a check no case records, a
 * check listed by two cases, a suite name mismatch) is a usage error with
 * file:line, never a silently missing result. Entries are sorted by suite,
 * file and line, so lists and reports do not depend on link order.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "runner_int.h"

/* One NULL entry per section so the sections (and their __start_/__stop_
 * symbols) exist even before any suite declares a flow. */
static const struct aa_check *const sentinel_check __attribute__((used, section("aa_checks"))) =
    NULL;
static const struct aa_conf_case *const sentinel_case __attribute__((used, section("aa_cases"))) =
    NULL;
static const struct aa_conf_flow *const sentinel_flow __attribute__((used, section("aa_flows"))) =
    NULL;

extern const struct aa_check *const __start_aa_checks[];
extern const struct aa_check *const __stop_aa_checks[];
extern const struct aa_conf_case *const __start_aa_cases[];
extern const struct aa_conf_case *const __stop_aa_cases[];
extern const struct aa_conf_flow *const __start_aa_flows[];
extern const struct aa_conf_flow *const __stop_aa_flows[];

#define NPOS ((size_t)-1)

void aa_cat_kebab(const char *in, char *out, size_t cap)
{
    size_t i = 0;

    if (cap == 0)
        return;
    for (; in != NULL && in[i] != '\0' && i + 1 < cap; i++)
        out[i] = in[i] == '_' ? '-' : in[i];
    out[i] = '\0';
}

void aa_check_to_def(const struct aa_check *c, struct aa_check_def *def)
{
    def->id = c->id;
    def->suite = c->suite;
    def->title = c->title;
    def->role = c->role;
    def->level = c->level;
    def->spec = c->spec;
    def->rfc = c->rfc;
    def->expect = c->expect;
}

static int cmp_loc(const char *sa, const char *fa, int la, const char *sb, const char *fb, int lb)
{
    int r = strcmp(sa, sb);
    if (r == 0)
        r = strcmp(fa, fb);
    if (r == 0)
        r = (la > lb) - (la < lb);
    return r;
}

static int cmp_check(const void *a, const void *b)
{
    const struct aa_check *x = *(const struct aa_check *const *)a;
    const struct aa_check *y = *(const struct aa_check *const *)b;
    return cmp_loc(x->suite, x->file, x->lineno, y->suite, y->file, y->lineno);
}

static int cmp_case(const void *a, const void *b)
{
    const struct aa_conf_case *x = *(const struct aa_conf_case *const *)a;
    const struct aa_conf_case *y = *(const struct aa_conf_case *const *)b;
    return cmp_loc(x->cr_suite, x->file, x->lineno, y->cr_suite, y->file, y->lineno);
}

/* Ids and suite names: lowercase slugs, so they are safe in file names,
 * JUnit names and shell globs. */
static bool slug_ok(const char *s, bool dots)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 256)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              (dots && (*p == '.' || *p == '_'))))
            return false;
    return true;
}

static bool nonempty(const char *s)
{
    return s != NULL && *s != '\0';
}

#define ERR(...)                                                                                   \
    do {                                                                                           \
        aa_buf_printf(errors, __VA_ARGS__);                                                        \
        aa_buf_addc(errors, '\n');                                                                 \
        bad = true;                                                                                \
    } while (0)

static void validate_check(const struct aa_check *c, struct aa_buf *errors, bool *badp)
{
    bool bad = false;
    const char *where = c->file ? c->file : "?";

    if (!slug_ok(c->id, true))
        ERR("%s:%d: check %s: id \"%s\" must be 1-256 characters of a-z 0-9 . _ -", where,
            c->lineno, c->cname ? c->cname : "?", c->id ? c->id : "(null)");
    if (!slug_ok(c->suite, false))
        ERR("%s:%d: check %s: suite \"%s\" must be 1-256 characters of a-z 0-9 -", where, c->lineno,
            c->id ? c->id : "?", c->suite ? c->suite : "(null)");
    if (!nonempty(c->title))
        ERR("%s:%d: check %s: title is required", where, c->lineno, c->id ? c->id : "?");
    if (!nonempty(c->spec))
        ERR("%s:%d: check %s: spec is required (\"PROFILE#<section>\")", where, c->lineno,
            c->id ? c->id : "?");
    if ((unsigned)c->role > (unsigned)AA_ROLE_DELEGATE)
        ERR("%s:%d: check %s: role out of range", where, c->lineno, c->id ? c->id : "?");
    if ((unsigned)c->level > (unsigned)AA_LEVEL_INFO)
        ERR("%s:%d: check %s: level out of range", where, c->lineno, c->id ? c->id : "?");
    if (c->test_no < 0 || c->test_no > AA_CASE_MAX_TEST_NO)
        ERR("%s:%d: check %s: test_no must be 0..%d", where, c->lineno, c->id ? c->id : "?",
            AA_CASE_MAX_TEST_NO);
    if (bad)
        *badp = true;
}

int aa_cat_build(struct aa_cat *cat, const struct aa_check *const *checks, size_t nc,
                 const struct aa_conf_case *const *cases, size_t ncase,
                 const struct aa_conf_flow *const *flows, size_t nflow, struct aa_buf *errors)
{
    bool bad = false;

    memset(cat, 0, sizeof(*cat));
    cat->checks = calloc(nc + 1, sizeof(*cat->checks));
    cat->check_case = calloc(nc + 1, sizeof(*cat->check_case));
    cat->cases = calloc(ncase + 1, sizeof(*cat->cases));
    cat->case_suite = calloc(ncase + 1, sizeof(*cat->case_suite));
    cat->case_needs = calloc(ncase + 1, sizeof(*cat->case_needs));
    cat->flows = calloc(nflow + 1, sizeof(*cat->flows));
    if (!cat->checks || !cat->check_case || !cat->cases || !cat->case_suite || !cat->case_needs ||
        !cat->flows) {
        aa_cat_cleanup(cat);
        return AA_E_NOMEM;
    }
    for (size_t i = 0; i < nc; i++)
        if (checks[i] != NULL)
            cat->checks[cat->n++] = checks[i];
    for (size_t i = 0; i < ncase; i++)
        if (cases[i] != NULL)
            cat->cases[cat->n_cases++] = cases[i];
    for (size_t i = 0; i < nflow; i++)
        if (flows[i] != NULL)
            cat->flows[cat->n_flows++] = flows[i];

    for (size_t i = 0; i < cat->n; i++) {
        validate_check(cat->checks[i], errors, &bad);
        cat->check_case[i] = NPOS;
    }
    if (bad)
        return AA_E_INVAL; /* sorting needs the strings */
    qsort(cat->checks, cat->n, sizeof(*cat->checks), cmp_check);
    for (size_t i = 0; i < cat->n_cases; i++)
        if (!nonempty(cat->cases[i]->cr_suite) || !nonempty(cat->cases[i]->name))
            ERR("%s:%d: case without suite or name", cat->cases[i]->file, cat->cases[i]->lineno);
    if (bad)
        return AA_E_INVAL;
    qsort(cat->cases, cat->n_cases, sizeof(*cat->cases), cmp_case);

    for (size_t i = 0; i < cat->n; i++)
        for (size_t j = i + 1; j < cat->n; j++)
            if (strcmp(cat->checks[i]->id, cat->checks[j]->id) == 0)
                ERR("duplicate check id \"%s\": %s:%d and %s:%d", cat->checks[i]->id,
                    cat->checks[i]->file, cat->checks[i]->lineno, cat->checks[j]->file,
                    cat->checks[j]->lineno);

    for (size_t ci = 0; ci < cat->n_cases; ci++) {
        const struct aa_conf_case *cs = cat->cases[ci];
        char suite[260];
        unsigned needs = 0;
        size_t listed = 0;

        aa_cat_kebab(cs->cr_suite, suite, sizeof(suite));
        if ((cat->case_suite[ci] = aa_strdup(suite)) == NULL) {
            aa_cat_cleanup(cat);
            return AA_E_NOMEM;
        }
        for (size_t cj = 0; cj < ci; cj++)
            if (strcmp(cat->cases[cj]->cr_suite, cs->cr_suite) == 0 &&
                strcmp(cat->cases[cj]->name, cs->name) == 0)
                ERR("%s:%d: case %s/%s declared twice", cs->file, cs->lineno, cs->cr_suite,
                    cs->name);
        if (!slug_ok(suite, false))
            ERR("%s:%d: case %s/%s: suite must be lowercase letters, digits and '_'", cs->file,
                cs->lineno, cs->cr_suite, cs->name);
        if (cs->timeout < 0)
            ERR("%s:%d: case %s/%s: timeout must be >= 0", cs->file, cs->lineno, cs->cr_suite,
                cs->name);
        for (const struct aa_check *const *p = cs->checks; p != NULL && *p != NULL; p++) {
            size_t k = NPOS;
            for (size_t i = 0; i < cat->n; i++)
                if (cat->checks[i] == *p)
                    k = i;
            listed++;
            if (k == NPOS) {
                ERR("%s:%d: case %s/%s lists a check that is not declared with AA_CHECK", cs->file,
                    cs->lineno, cs->cr_suite, cs->name);
                continue;
            }
            if (cat->check_case[k] != NPOS && cat->check_case[k] != ci) {
                const struct aa_conf_case *other = cat->cases[cat->check_case[k]];
                ERR("%s:%d: check %s is listed by two cases: %s/%s and %s/%s", cs->file, cs->lineno,
                    (*p)->id, other->cr_suite, other->name, cs->cr_suite, cs->name);
            } else if (cat->check_case[k] == ci) {
                ERR("%s:%d: case %s/%s lists check %s twice", cs->file, cs->lineno, cs->cr_suite,
                    cs->name, (*p)->id);
            }
            cat->check_case[k] = ci;
            if (strcmp((*p)->suite, suite) != 0)
                ERR("%s:%d: check %s has suite \"%s\" but is recorded by case %s/%s (suite "
                    "\"%s\")",
                    (*p)->file, (*p)->lineno, (*p)->id, (*p)->suite, cs->cr_suite, cs->name, suite);
            if ((*p)->role >= AA_ROLE_AGENT_SERVER && (*p)->role <= AA_ROLE_AUTH_SERVER)
                needs |= AA_NEED((*p)->role);
        }
        if (listed == 0)
            ERR("%s:%d: case %s/%s lists no checks (.checks = AA_CHECKS(&a, ...))", cs->file,
                cs->lineno, cs->cr_suite, cs->name);
        for (const char *const *in = cs->instances; in != NULL && *in != NULL; in++)
            if (aa_inst_find(*in) == NULL)
                ERR("%s:%d: case %s/%s: unknown instance \"%s\" in .instances (README "
                    "\"Instances\" lists the names)",
                    cs->file, cs->lineno, cs->cr_suite, cs->name, *in);
        cat->case_needs[ci] = cs->needs != 0 ? cs->needs : needs;
        if (cat->case_needs[ci] & ~(unsigned)AA_NEED_ALL)
            ERR("%s:%d: case %s/%s: needs takes AA_NEED(agent-server/resource/auth-server) bits",
                cs->file, cs->lineno, cs->cr_suite, cs->name);
    }
    for (size_t i = 0; i < cat->n; i++)
        if (cat->check_case[i] == NPOS)
            ERR("%s:%d: check %s is not listed by any case, so nothing would record it",
                cat->checks[i]->file, cat->checks[i]->lineno, cat->checks[i]->id);

    for (size_t fi = 0; fi < cat->n_flows; fi++) {
        const struct aa_conf_flow *f = cat->flows[fi];
        if (!slug_ok(f->suite, false) || !nonempty(f->banner) || f->tests == NULL ||
            f->n_tests == 0 || f->n_tests > AA_CASE_MAX_TEST_NO || f->seed_tests < 0 ||
            (size_t)f->seed_tests > f->n_tests) {
            ERR("flow for suite \"%s\": suite, banner and tests are required; seed_tests <= "
                "n_tests",
                f->suite ? f->suite : "(null)");
            continue;
        }
        for (size_t fj = 0; fj < fi; fj++)
            if (strcmp(cat->flows[fj]->suite, f->suite) == 0)
                ERR("two flows for suite \"%s\"", f->suite);
        for (size_t t = 0; t < f->n_tests; t++)
            if (f->tests[t].no != (int)t + 1 || !nonempty(f->tests[t].title))
                ERR("flow %s: test %zu must have no = %zu and a title", f->suite, t + 1, t + 1);
        for (size_t i = 0; i < cat->n; i++)
            if (strcmp(cat->checks[i]->suite, f->suite) == 0 &&
                (size_t)cat->checks[i]->test_no > f->n_tests)
                ERR("%s:%d: check %s: test_no %d but flow %s has %zu tests", cat->checks[i]->file,
                    cat->checks[i]->lineno, cat->checks[i]->id, cat->checks[i]->test_no, f->suite,
                    f->n_tests);
    }
    if (errors->err)
        return AA_E_NOMEM;
    return bad ? AA_E_INVAL : AA_OK;
}

int aa_cat_load(struct aa_cat *cat, struct aa_buf *errors)
{
    return aa_cat_build(cat, __start_aa_checks, (size_t)(__stop_aa_checks - __start_aa_checks),
                        __start_aa_cases, (size_t)(__stop_aa_cases - __start_aa_cases),
                        __start_aa_flows, (size_t)(__stop_aa_flows - __start_aa_flows), errors);
}

void aa_cat_cleanup(struct aa_cat *cat)
{
    if (cat->case_suite != NULL)
        for (size_t i = 0; i < cat->n_cases; i++)
            free(cat->case_suite[i]);
    free(cat->case_suite);
    free(cat->case_needs);
    free(cat->checks);
    free(cat->check_case);
    free(cat->cases);
    free(cat->flows);
    memset(cat, 0, sizeof(*cat));
}

size_t aa_cat_find_check(const struct aa_cat *cat, const char *id)
{
    for (size_t i = 0; id != NULL && i < cat->n; i++)
        if (strcmp(cat->checks[i]->id, id) == 0)
            return i;
    return NPOS;
}

size_t aa_cat_find_case(const struct aa_cat *cat, const char *cr_suite, const char *name)
{
    for (size_t i = 0; i < cat->n_cases; i++)
        if (strcmp(cat->cases[i]->cr_suite, cr_suite) == 0 &&
            strcmp(cat->cases[i]->name, name) == 0)
            return i;
    return NPOS;
}

size_t aa_cat_case_index(const struct aa_cat *cat, const struct aa_conf_case *cs)
{
    for (size_t i = 0; i < cat->n_cases; i++)
        if (cat->cases[i] == cs)
            return i;
    return NPOS;
}

bool aa_cat_case_lists(const struct aa_conf_case *cs, const struct aa_check *c)
{
    for (const struct aa_check *const *p = cs->checks; p != NULL && *p != NULL; p++)
        if (*p == c)
            return true;
    return false;
}

const struct aa_conf_flow *aa_cat_flow(const struct aa_cat *cat, const char *suite)
{
    for (size_t i = 0; i < cat->n_flows; i++)
        if (strcmp(cat->flows[i]->suite, suite) == 0)
            return cat->flows[i];
    return NULL;
}

static bool role_under_test(const struct aa_rconf *conf, enum aa_role r)
{
    if (r == AA_ROLE_DELEGATE)
        return conf->roles[r].command != NULL;
    if (r >= AA_ROLE_AGENT_SERVER && r <= AA_ROLE_AUTH_SERVER)
        return conf->roles[r].url != NULL;
    return false;
}

size_t aa_cat_select(const struct aa_cat *cat, const struct aa_rconf *conf, bool *sel,
                     const char **unknown)
{
    size_t count = 0;
    bool explicit_sel = conf->suites.n > 0 || conf->filters.n > 0;

    if (unknown != NULL)
        *unknown = NULL;
    for (size_t s = 0; s < conf->suites.n; s++) {
        bool known = false;
        for (size_t i = 0; i < cat->n && !known; i++)
            known = strcmp(cat->checks[i]->suite, conf->suites.v[s]) == 0;
        if (!known && unknown != NULL && *unknown == NULL)
            *unknown = conf->suites.v[s];
    }
    for (size_t i = 0; i < cat->n; i++) {
        const struct aa_check *c = cat->checks[i];
        bool ok = true;

        if (conf->suites.n > 0)
            ok = aa_strv_has(&conf->suites, c->suite);
        if (ok && conf->filters.n > 0) {
            bool any = false;
            for (size_t f = 0; f < conf->filters.n && !any; f++)
                any = fnmatch(conf->filters.v[f], c->id, 0) == 0;
            ok = any;
        }
        /* With targets, the verdicts are about them: checks of roles the
         * harness embeds would only judge its own reference, and offline
         * vectors run when asked for by --suite/--filter. */
        if (ok && conf->any_target)
            ok = c->role == AA_ROLE_NONE ? explicit_sel : role_under_test(conf, c->role);
        if (ok && conf->seed_tests_only && c->test_no > 0) {
            const struct aa_conf_flow *f = aa_cat_flow(cat, c->suite);
            if (f != NULL && f->seed_tests > 0 && c->test_no > f->seed_tests)
                ok = false;
        }
        sel[i] = ok;
        count += ok;
    }
    return count;
}

void aa_cat_print_list(const struct aa_cat *cat, const bool *sel, FILE *out)
{
    int wid = 10, wrole = 4;

    for (size_t i = 0; i < cat->n; i++) {
        if (sel != NULL && !sel[i])
            continue;
        if ((int)strlen(cat->checks[i]->id) > wid)
            wid = (int)strlen(cat->checks[i]->id);
        if ((int)strlen(aa_role_name(cat->checks[i]->role)) > wrole)
            wrole = (int)strlen(aa_role_name(cat->checks[i]->role));
    }
    fprintf(out, "%-*s  %-6s  %-*s  %s  [%s]\n", wid, "ID", "LEVEL", wrole, "ROLE", "TITLE",
            "SPEC");
    for (size_t i = 0; i < cat->n; i++) {
        const struct aa_check *c = cat->checks[i];
        if (sel != NULL && !sel[i])
            continue;
        fprintf(out, "%-*s  %-6s  %-*s  %s  [%s%s%s]\n", wid, c->id, aa_level_name(c->level), wrole,
                aa_role_name(c->role), c->title, c->spec, c->rfc ? ", " : "", c->rfc ? c->rfc : "");
    }
}

cJSON *aa_cat_list_json(const struct aa_cat *cat, const bool *sel)
{
    cJSON *o = cJSON_CreateObject(), *arr;

    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "schema_version", "1.0");
    cJSON_AddStringToObject(o, "tool_version", AA_VERSION);
    cJSON_AddStringToObject(o, "profile", AA_CONF_PROFILE);
    arr = cJSON_AddArrayToObject(o, "checks");
    for (size_t i = 0; arr != NULL && i < cat->n; i++) {
        const struct aa_check *c = cat->checks[i];
        cJSON *e;
        if (sel != NULL && !sel[i])
            continue;
        if ((e = cJSON_CreateObject()) == NULL)
            break;
        cJSON_AddStringToObject(e, "id", c->id);
        cJSON_AddStringToObject(e, "suite", c->suite);
        cJSON_AddStringToObject(e, "title", c->title);
        cJSON_AddStringToObject(e, "role", aa_role_name(c->role));
        cJSON_AddStringToObject(e, "level", aa_level_name(c->level));
        cJSON_AddStringToObject(e, "spec", c->spec);
        if (c->rfc != NULL)
            cJSON_AddStringToObject(e, "rfc", c->rfc);
        else
            cJSON_AddNullToObject(e, "rfc");
        if (c->expect != NULL)
            cJSON_AddStringToObject(e, "expect", c->expect);
        else
            cJSON_AddNullToObject(e, "expect");
        cJSON_AddItemToArray(arr, e);
    }
    return o;
}
