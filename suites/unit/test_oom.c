/*
 * Allocation-failure ("OOM") injection for the core parsers and verifiers:
 * structured fields, strict JSON, JWK (JSON, JWKS, PEM), JWS/JWT, RFC 9421
 * Signature-Input / Signature / signature base / verify, Signature-Key,
 * Agent-Auth, the agent-token validator and the AAuth signer and receiver
 * (PROFILE#2.11).
 *
 * What is wrapped, and why: this executable alone is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * (suites/CMakeLists.txt), so every such call made by the harness' static
 * libraries (and this file) lands in the __wrap_*() functions below, while
 * shared libraries (Criterion, libc internals) keep the real allocator.
 * cJSON is a shared library and allocates through cJSON_InitHooks(), which
 * is pointed at the same counter. OpenSSL's own allocations are left alone:
 * its lazy initialisation remembers a failure, so a later undisturbed run
 * would fail for reasons unrelated to the code under test. Under ASan,
 * __real_malloc reaches ASan's interceptor, so LeakSanitizer still sees
 * every block; each test asserts that the counter moved, which proves the
 * wrapping is in the path in both builds.
 *
 * How the loop works (oom_drive): an operation is split into setup
 * (unarmed: fresh inputs), run (armed: library calls only) and checks and
 * release (unarmed). It is run with N = 1, 2, 3, ...: the Nth counted
 * allocation fails (first pass) or the Nth and every later one fails
 * (second pass, which exercises error paths that allocate again). At
 * every N the result must be AA_E_NOMEM with the failed call's output in
 * its documented empty state, or - when the failed allocation was
 * optional - the same known answer as an undisturbed run. The loop ends at
 * the first N that no allocation reaches; that run must succeed and must
 * have made exactly N - 1 allocations (the injection points, > 0). Leaks
 * at any N are LeakSanitizer reports in the ASan build (-DAA_SANITIZE=ON),
 * which fail the test through the CTest sanitizer gate.
 */
#include <stdio.h>
#include <unistd.h>

#include <httpsig/aa_httpsig.h>
#include <jose/aa_jose.h>
#include <json/aa_json.h>
#include <sf/aa_sf.h>

#include "aauth_test_util.h"

/* ---- the counting allocator ---------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t m, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t m, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static struct {
    bool armed;
    bool sticky;          /* every allocation after the target fails too */
    unsigned long target; /* 1-based index of the allocation to fail */
    unsigned long count;  /* allocations seen while armed */
    unsigned long failed; /* failures injected while armed */
} oom;

/* True when this allocation is to fail. */
static bool oom_hit(void)
{
    if (!oom.armed)
        return false;
    oom.count++;
    if (oom.count == oom.target || (oom.sticky && oom.count > oom.target)) {
        oom.failed++;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    return oom_hit() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t m, size_t n)
{
    return oom_hit() ? NULL : __real_calloc(m, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return oom_hit() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return oom_hit() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return oom_hit() ? NULL : __real_strndup(s, n);
}

static void *cjson_malloc(size_t n)
{
    return oom_hit() ? NULL : __real_malloc(n);
}

static void cjson_free(void *p)
{
    free(p);
}

/* cJSON's hooks are per process; Criterion runs each test in its own. */
static void oom_install(void)
{
    cJSON_Hooks h = {cjson_malloc, cjson_free};
    cJSON_InitHooks(&h);
    memset(&oom, 0, sizeof(oom));
}

static void oom_arm(unsigned long target, bool sticky)
{
    oom.count = 0;
    oom.failed = 0;
    oom.target = target;
    oom.sticky = sticky;
    oom.armed = true;
}

static void oom_disarm(void)
{
    oom.armed = false;
}

/* ---- the driver ------------------------------------------------------------ */

#define OOM_MAX_POINTS 100000ul

struct oom_op {
    const char *name;
    void (*setup)(void *ctx);                /* unarmed, may be NULL */
    int (*run)(void *ctx);                   /* armed */
    void (*check_ok)(void *ctx);             /* unarmed: the known answer */
    void (*check_failed)(void *ctx, int rc); /* unarmed: clean fault, empty output */
    void (*release)(void *ctx);              /* unarmed */
};

struct oom_stats {
    unsigned long points;   /* allocations of an undisturbed run */
    unsigned long optional; /* injected failures that still gave AA_OK */
};

static struct oom_stats oom_drive(const struct oom_op *op, void *ctx)
{
    struct oom_stats st = {0, 0};

    for (int pass = 0; pass < 2; pass++) {
        bool sticky = pass == 1;
        for (unsigned long n = 1;; n++) {
            int rc;

            cr_assert_leq(n, OOM_MAX_POINTS, "%s: more than %lu allocations", op->name,
                          OOM_MAX_POINTS);
            if (op->setup != NULL)
                op->setup(ctx);
            oom_arm(n, sticky);
            rc = op->run(ctx);
            oom_disarm();
            if (oom.failed == 0) {
                cr_assert_eq(rc, AA_OK, "%s: undisturbed run returned %d (%s)", op->name, rc,
                             aa_strerror(rc));
                op->check_ok(ctx);
                op->release(ctx);
                cr_assert_eq(oom.count, n - 1, "%s: %lu allocations, expected %lu", op->name,
                             oom.count, n - 1);
                if (pass == 0)
                    st.points = oom.count;
                else
                    cr_assert_eq(oom.count, st.points, "%s: runs differ", op->name);
                break;
            }
            if (rc == AA_OK) {
                /* The failed allocation was optional: the answer must not change. */
                op->check_ok(ctx);
                if (!sticky)
                    st.optional++;
            } else {
                cr_assert_eq(rc, AA_E_NOMEM, "%s: allocation %lu%s failed -> %d (%s), not AA_E_NOMEM",
                             op->name, n, sticky ? "+" : "", rc, aa_strerror(rc));
                op->check_failed(ctx, rc);
            }
            op->release(ctx);
        }
    }
    cr_assert_gt(st.points, 0, "%s: no allocation reached the wrapper", op->name);
    fprintf(stderr, "OOM %s: %lu injection points, %lu optional\n", op->name, st.points,
            st.optional);
    return st;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

#define ZEROED(x) all_zero(&(x), sizeof(x))

/* A buffer whose append failed is freed and stays failed (aa_core.h); one
 * that was never touched is still empty. */
static void expect_buf_empty(const struct aa_buf *b, const char *what)
{
    cr_assert_null(b->p, "%s: buffer not released after a failure", what);
    cr_assert_eq(b->len, 0, "%s", what);
}

static void expect_buf_eq(const struct aa_buf *b, const char *want, const char *what)
{
    cr_assert_not_null(b->p, "%s: empty", what);
    cr_assert_str_eq(b->p, want, "%s", what);
    cr_assert_eq(b->len, strlen(want), "%s", what);
}

/* ---- shared keys and fixed inputs ------------------------------------------- */

#define AUTHORITY_R "127.0.0.1:8002"
#define AUTHORITY_AS "127.0.0.1:8003"
#define ID_AGENT "http://127.0.0.1:8001"
#define ID_R "http://127.0.0.1:8002"
#define ID_AS "http://127.0.0.1:8003"
#define T_A 1768786221
#define T_B 1768786300

struct keys {
    struct aa_jwk agent;     /* RFC 8032 TEST 1, "key-1" (private) */
    struct aa_jwk agent_pub; /* its public half */
    struct aa_jwk dlg;       /* delegate "delegate-key-1" (private) */
    struct aa_jwk ec;        /* P-256 "ec-1" (private) */
    struct aa_jwk as;        /* auth server "auth-key-1" (private) */
    char dlg_jkt[AA_JWK_THUMBPRINT_LEN + 1];
    char ec_jkt[AA_JWK_THUMBPRINT_LEN + 1];
};

static void keys_init(struct keys *k)
{
    memset(k, 0, sizeof(*k));
    cr_assert_eq(aa_jwk_from_ed25519_seed(aauth_test1_seed, "key-1", &k->agent), AA_OK);
    cr_assert_eq(aa_jwk_public(&k->agent_pub, &k->agent), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "delegate-key-1", &k->dlg), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, "ec-1", &k->ec), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "auth-key-1", &k->as), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&k->dlg, k->dlg_jkt), AA_OK);
    cr_assert_eq(aa_jwk_thumbprint(&k->ec, k->ec_jkt), AA_OK);
}

static void keys_free(struct keys *k)
{
    aa_jwk_cleanup(&k->agent);
    aa_jwk_cleanup(&k->agent_pub);
    aa_jwk_cleanup(&k->dlg);
    aa_jwk_cleanup(&k->ec);
    aa_jwk_cleanup(&k->as);
}

static void expect_jkt(const struct aa_jwk *k, const char *want, const char *what)
{
    char got[AA_JWK_THUMBPRINT_LEN + 1];
    cr_assert_not_null(k->pkey, "%s: no key", what);
    cr_assert_eq(aa_jwk_thumbprint(k, got), AA_OK, "%s", what);
    cr_assert_str_eq(got, want, "%s", what);
}

/* An agent+jwt (PROFILE#4.3) by TEST 1 for the delegate key, at T_A. */
static char *mint_agent_token(const struct keys *k)
{
    cJSON *h = cJSON_CreateObject(), *c = cJSON_CreateObject(), *cnf = cJSON_CreateObject();
    char *tok = NULL;

    cr_assert(h != NULL && c != NULL && cnf != NULL);
    cJSON_AddStringToObject(h, "typ", "agent+jwt");
    cJSON_AddStringToObject(h, "kid", "key-1");
    cJSON_AddStringToObject(c, "iss", ID_AGENT);
    cJSON_AddStringToObject(c, "sub", "delegate-1");
    cJSON_AddNumberToObject(c, "exp", (double)(T_A + 3600));
    cJSON_AddNumberToObject(c, "iat", (double)T_A);
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&k->dlg, false));
    cJSON_AddItemToObject(c, "cnf", cnf);
    cr_assert_eq(aa_jwt_sign(h, c, AA_ALG_ED25519, &k->agent, NULL, &tok), AA_OK);
    cJSON_Delete(h);
    cJSON_Delete(c);
    return tok;
}

/* An auth+jwt (PROFILE#4.5) by the auth server for ID_R, bound to the
 * delegate key, at T_A. */
static char *mint_auth_token(const struct keys *k)
{
    cJSON *h = cJSON_CreateObject(), *c = cJSON_CreateObject(), *cnf = cJSON_CreateObject();
    char *tok = NULL;

    cr_assert(h != NULL && c != NULL && cnf != NULL);
    cJSON_AddStringToObject(h, "typ", "auth+jwt");
    cJSON_AddStringToObject(h, "kid", "auth-key-1");
    cJSON_AddStringToObject(c, "iss", ID_AS);
    cJSON_AddStringToObject(c, "aud", ID_R);
    cJSON_AddStringToObject(c, "agent", ID_AGENT);
    cJSON_AddStringToObject(c, "agent_delegate", "delegate-1");
    cJSON_AddStringToObject(c, "scope", "data.read");
    cJSON_AddNumberToObject(c, "exp", (double)(T_A + 3600));
    cJSON_AddNumberToObject(c, "iat", (double)T_A);
    cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&k->dlg, false));
    cJSON_AddItemToObject(c, "cnf", cnf);
    cr_assert_eq(aa_jwt_sign(h, c, AA_ALG_ED25519, &k->as, NULL, &tok), AA_OK);
    cJSON_Delete(h);
    cJSON_Delete(c);
    return tok;
}

/* ---- aa_sf: Dictionary parse + serialize ------------------------------------ */

/* Canonical already (RFC 8941 §4.1), so serialize(parse(x)) == x: Inner
 * Lists with parameters on items and on the list, every bare type. */
static const char *SF_DICT =
    "a=(1 42;p=?0 \"s\\\"x\" tok:/x);q=-1.5;r=:aGVsbG8=:, b=@1659578233;d=%\"f%c3%bc\", c, "
    "e=();n=1, z=abc;k";

struct sf_ctx {
    struct aa_sf_dict dict;
    struct aa_buf out;
    int stage; /* 0 parse, 1 serialize */
};

static void sf_setup(void *vc)
{
    struct sf_ctx *c = vc;
    memset(&c->dict, 0, sizeof(c->dict));
    aa_buf_init(&c->out, 0);
    c->stage = -1;
}

static int sf_run(void *vc)
{
    struct sf_ctx *c = vc;
    int rc;
    c->stage = 0;
    if ((rc = aa_sf_parse_dict(SF_DICT, strlen(SF_DICT), &c->dict, NULL)) != AA_OK)
        return rc;
    c->stage = 1;
    return aa_sf_serialize_dict(&c->dict, &c->out, NULL);
}

static void sf_check_ok(void *vc)
{
    struct sf_ctx *c = vc;
    const struct aa_sf_item *a;
    cr_assert_eq(c->dict.n, 5);
    a = aa_sf_dict_get(&c->dict, "a");
    cr_assert_not_null(a);
    cr_assert_eq(a->bare.type, AA_SF_INNER_LIST);
    cr_assert_eq(a->n_inner, 4);
    cr_assert_eq(a->params.n, 2);
    expect_buf_eq(&c->out, SF_DICT, "sf dict");
}

static void sf_check_failed(void *vc, int rc)
{
    struct sf_ctx *c = vc;
    (void)rc;
    if (c->stage == 0)
        cr_assert(ZEROED(c->dict), "sf: dictionary not left empty after a failed parse");
    expect_buf_empty(&c->out, "sf serialize");
}

static void sf_release(void *vc)
{
    struct sf_ctx *c = vc;
    aa_sf_dict_free(&c->dict);
    aa_buf_free(&c->out);
}

Test(oom, sf_dict_parse_serialize)
{
    struct sf_ctx c;
    struct oom_op op = {"sf dict parse+serialize", sf_setup, sf_run, sf_check_ok, sf_check_failed,
                        sf_release};
    oom_install();
    oom_drive(&op, &c);
}

/* ---- aa_json: strict parse + print ------------------------------------------ */

static const char *JSON_DOC = "{\"a\":[1,2.5,-3e2,true,false,null,{\"b\":\"c\\u00e9\\n\"}],"
                              "\"d\":{\"e\":{\"f\":[]}},\"g\":\"x\"}";
static const char *JSON_PRINTED = "{\"a\":[1,2.5,-300,true,false,null,{\"b\":\"c\xc3\xa9\\n\"}],"
                                  "\"d\":{\"e\":{\"f\":[]}},\"g\":\"x\"}";

struct json_ctx {
    cJSON *root;
    struct aa_buf out;
    int stage;
};

static void json_setup(void *vc)
{
    struct json_ctx *c = vc;
    c->root = NULL;
    aa_buf_init(&c->out, 0);
    c->stage = -1;
}

static int json_run(void *vc)
{
    struct json_ctx *c = vc;
    int rc;
    c->stage = 0;
    if ((rc = aa_json_parse(JSON_DOC, strlen(JSON_DOC), NULL, &c->root, NULL)) != AA_OK)
        return rc;
    c->stage = 1;
    return aa_json_print(c->root, &c->out);
}

static void json_check_ok(void *vc)
{
    struct json_ctx *c = vc;
    cr_assert_not_null(c->root);
    cr_assert_str_eq(aa_json_str(c->root, "g"), "x");
    expect_buf_eq(&c->out, JSON_PRINTED, "json print");
}

static void json_check_failed(void *vc, int rc)
{
    struct json_ctx *c = vc;
    (void)rc;
    if (c->stage == 0)
        cr_assert_null(c->root, "json: *out not NULL after a failed parse");
    expect_buf_empty(&c->out, "json print");
}

static void json_release(void *vc)
{
    struct json_ctx *c = vc;
    cJSON_Delete(c->root);
    c->root = NULL;
    aa_buf_free(&c->out);
}

Test(oom, json_strict_parse)
{
    struct json_ctx c;
    struct oom_op op = {"json strict parse+print", json_setup, json_run, json_check_ok,
                        json_check_failed, json_release};
    oom_install();
    oom_drive(&op, &c);
}

/* ---- aa_jwk: JWK and JWKS from JSON ------------------------------------------ */

struct jwk_ctx {
    const struct keys *k;
    char *ed_json, *ec_json, *jwks_json; /* inputs, made once */
    struct aa_jwk ed, ec;
    struct aa_jwks set;
    int stage;
};

static void jwk_setup(void *vc)
{
    struct jwk_ctx *c = vc;
    memset(&c->ed, 0, sizeof(c->ed));
    memset(&c->ec, 0, sizeof(c->ec));
    memset(&c->set, 0, sizeof(c->set));
    c->stage = -1;
}

static int jwk_run(void *vc)
{
    struct jwk_ctx *c = vc;
    int rc;
    c->stage = 0;
    rc = aa_jwk_parse(c->ed_json, strlen(c->ed_json), AA_JWK_PUBLIC_ONLY | AA_JWK_REQUIRE_KID,
                      &c->ed, NULL);
    if (rc != AA_OK)
        return rc;
    c->stage = 1;
    if ((rc = aa_jwk_parse(c->ec_json, strlen(c->ec_json), 0, &c->ec, NULL)) != AA_OK)
        return rc;
    c->stage = 2;
    return aa_jwks_parse(c->jwks_json, strlen(c->jwks_json), &c->set, NULL);
}

static void jwk_check_ok(void *vc)
{
    struct jwk_ctx *c = vc;
    cr_assert_str_eq(c->ed.kid, "key-1");
    cr_assert_not(c->ed.is_private);
    expect_jkt(&c->ed, AAUTH_TEST1_JKT, "Ed25519 JWK");
    cr_assert_str_eq(c->ec.kid, "ec-1");
    cr_assert(c->ec.is_private);
    expect_jkt(&c->ec, c->k->ec_jkt, "EC JWK");
    cr_assert_eq(c->set.n, 2);
    expect_jkt(aa_jwks_find(&c->set, "key-1"), AAUTH_TEST1_JKT, "JWKS key-1");
    expect_jkt(aa_jwks_find(&c->set, "ec-1"), c->k->ec_jkt, "JWKS ec-1");
}

static void jwk_check_failed(void *vc, int rc)
{
    struct jwk_ctx *c = vc;
    (void)rc;
    cr_assert(c->stage >= 0 && c->stage <= 2);
    if (c->stage == 0)
        cr_assert(ZEROED(c->ed), "jwk: Ed25519 output not zeroed");
    if (c->stage <= 1)
        cr_assert(ZEROED(c->ec), "jwk: EC output not zeroed");
    cr_assert(ZEROED(c->set), "jwks: output not zeroed");
}

static void jwk_release(void *vc)
{
    struct jwk_ctx *c = vc;
    aa_jwk_cleanup(&c->ed);
    aa_jwk_cleanup(&c->ec);
    aa_jwks_cleanup(&c->set);
}

Test(oom, jwk_parse_json)
{
    struct keys k;
    struct jwk_ctx c;
    struct aa_jwks s = {0};
    struct aa_buf b;
    struct oom_op op = {"jwk/jwks parse", jwk_setup, jwk_run, jwk_check_ok, jwk_check_failed,
                        jwk_release};

    oom_install();
    keys_init(&k);
    memset(&c, 0, sizeof(c));
    c.k = &k;
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_jwk_to_json(&k.agent_pub, false, &b), AA_OK);
    c.ed_json = aa_buf_detach(&b, NULL);
    cr_assert_eq(aa_jwk_to_json(&k.ec, true, &b), AA_OK);
    c.ec_json = aa_buf_detach(&b, NULL);
    cr_assert_eq(aa_jwks_add(&s, &k.agent_pub), AA_OK);
    cr_assert_eq(aa_jwks_add(&s, &k.ec), AA_OK);
    cr_assert_eq(aa_jwks_to_json(&s, &b), AA_OK);
    c.jwks_json = aa_buf_detach(&b, NULL);
    aa_jwks_cleanup(&s);

    oom_drive(&op, &c);
    free(c.ed_json);
    free(c.ec_json);
    free(c.jwks_json);
    keys_free(&k);
}

/* ---- aa_jwk: PEM text and key files ------------------------------------------ */

struct pem_ctx {
    char *pem;
    char path[512];
    struct aa_jwk from_text, from_file;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    int stage;
};

static void pem_setup(void *vc)
{
    struct pem_ctx *c = vc;
    memset(&c->from_text, 0, sizeof(c->from_text));
    memset(&c->from_file, 0, sizeof(c->from_file));
    memset(c->jkt, 0, sizeof(c->jkt));
    c->stage = -1;
}

static int pem_run(void *vc)
{
    struct pem_ctx *c = vc;
    int rc;
    c->stage = 0;
    if ((rc = aa_jwk_from_pem(c->pem, strlen(c->pem), "pem-1", &c->from_text, NULL)) != AA_OK)
        return rc;
    c->stage = 1;
    if ((rc = aa_jwk_thumbprint(&c->from_text, c->jkt)) != AA_OK)
        return rc;
    c->stage = 2;
    return aa_jwk_load_file(c->path, "file-1", &c->from_file, NULL);
}

static void pem_check_ok(void *vc)
{
    struct pem_ctx *c = vc;
    cr_assert_str_eq(c->jkt, AAUTH_TEST1_JKT);
    cr_assert_str_eq(c->from_text.kid, "pem-1");
    cr_assert(c->from_text.is_private);
    cr_assert_str_eq(c->from_file.kid, "file-1");
    cr_assert(c->from_file.is_private);
    expect_jkt(&c->from_file, AAUTH_TEST1_JKT, "PEM file");
}

static void pem_check_failed(void *vc, int rc)
{
    struct pem_ctx *c = vc;
    (void)rc;
    cr_assert(c->stage >= 0 && c->stage <= 2);
    if (c->stage == 0)
        cr_assert(ZEROED(c->from_text), "pem: output not zeroed");
    cr_assert(ZEROED(c->from_file), "pem file: output not zeroed");
}

static void pem_release(void *vc)
{
    struct pem_ctx *c = vc;
    aa_jwk_cleanup(&c->from_text);
    aa_jwk_cleanup(&c->from_file);
}

Test(oom, jwk_parse_pem)
{
    struct keys k;
    struct pem_ctx c;
    struct aa_buf b;
    FILE *f;
    struct oom_op op = {"jwk from PEM text and file", pem_setup, pem_run, pem_check_ok,
                        pem_check_failed, pem_release};

    oom_install();
    keys_init(&k);
    memset(&c, 0, sizeof(c));
    aa_buf_init(&b, 0);
    cr_assert_eq(aa_jwk_to_pem(&k.agent, true, &b), AA_OK);
    c.pem = aa_buf_detach(&b, NULL);
    cr_assert_eq(aa_snprintf(c.path, sizeof(c.path), "%s/test_oom.%ld.pem", AA_BUILD_DIR,
                             (long)getpid()),
                 AA_OK);
    f = fopen(c.path, "w");
    cr_assert_not_null(f, "cannot create %s", c.path);
    cr_assert_eq(fputs(c.pem, f) >= 0, true);
    cr_assert_eq(fclose(f), 0);

    oom_drive(&op, &c);
    cr_assert_eq(remove(c.path), 0);
    aa_cleanse(c.pem, strlen(c.pem));
    free(c.pem);
    keys_free(&k);
}

/* ---- aa_jose: JWT parse + verify + cnf.jwk ------------------------------------ */

struct jwt_ctx {
    const struct keys *k;
    char *tok;
    struct aa_jwt t;
    struct aa_jwk cnf;
    int stage;
};

static void jwt_setup(void *vc)
{
    struct jwt_ctx *c = vc;
    memset(&c->t, 0, sizeof(c->t));
    memset(&c->cnf, 0, sizeof(c->cnf));
    c->stage = -1;
}

static int jwt_run(void *vc)
{
    struct jwt_ctx *c = vc;
    int rc;
    c->stage = 0;
    if ((rc = aa_jwt_parse(c->tok, strlen(c->tok), &c->t, NULL)) != AA_OK)
        return rc;
    c->stage = 1;
    if ((rc = aa_jwt_verify(&c->t, &c->k->agent_pub, NULL)) != AA_OK)
        return rc;
    c->stage = 2;
    return aa_jwt_cnf_jwk(&c->t, &c->cnf, NULL);
}

static void jwt_check_ok(void *vc)
{
    struct jwt_ctx *c = vc;
    cr_assert_eq(c->t.alg, AA_ALG_ED25519);
    cr_assert_str_eq(c->t.typ, "agent+jwt");
    cr_assert_str_eq(c->t.kid, "key-1");
    cr_assert_str_eq(aa_jwt_claim_str(&c->t, "iss"), ID_AGENT);
    cr_assert_str_eq(aa_jwt_claim_str(&c->t, "sub"), "delegate-1");
    cr_assert_eq(c->t.sig_len, 64);
    expect_jkt(&c->cnf, c->k->dlg_jkt, "cnf.jwk");
}

static void jwt_check_failed(void *vc, int rc)
{
    struct jwt_ctx *c = vc;
    (void)rc;
    cr_assert(c->stage == 0 || c->stage == 2, "jwt: verify failed under OOM (stage %d)", c->stage);
    if (c->stage == 0)
        cr_assert(ZEROED(c->t), "jwt: output not zeroed after a failed parse");
    cr_assert(ZEROED(c->cnf), "jwt: cnf.jwk output not zeroed");
}

static void jwt_release(void *vc)
{
    struct jwt_ctx *c = vc;
    aa_jwt_cleanup(&c->t);
    aa_jwk_cleanup(&c->cnf);
}

Test(oom, jwt_parse_verify)
{
    struct keys k;
    struct jwt_ctx c;
    struct oom_op op = {"jwt parse+verify+cnf", jwt_setup, jwt_run, jwt_check_ok, jwt_check_failed,
                        jwt_release};
    oom_install();
    keys_init(&k);
    memset(&c, 0, sizeof(c));
    c.k = &k;
    c.tok = mint_agent_token(&k);
    oom_drive(&op, &c);
    free(c.tok);
    keys_free(&k);
}

/* ---- aa_httpsig: Signature-Input, Signature, base, verify (Example A) --------- */

struct hs_ctx {
    const struct keys *k;
    struct aa_httpsig_field fields[1];
    struct aa_httpsig_msg m;
    struct aa_httpsig_input in;
    uint8_t sig[128];
    size_t sig_len;
    struct aa_buf base;
    struct aa_httpsig_result res;
    int stage;
};

static void hs_setup(void *vc)
{
    struct hs_ctx *c = vc;
    memset(&c->in, 0, sizeof(c->in));
    c->sig_len = 0;
    aa_buf_init(&c->base, 0);
    aa_httpsig_result_init(&c->res);
    c->stage = -1;
}

static int hs_run(void *vc)
{
    struct hs_ctx *c = vc;
    struct aa_httpsig_verify_opts o = {0};
    int rc;

    c->stage = 0;
    if ((rc = aa_httpsig_parse_input(aa_str_c(EX_A_INPUT), "sig1", &c->in, NULL)) != AA_OK)
        return rc;
    c->stage = 1;
    rc = aa_httpsig_parse_signature(aa_str_c(EX_A_SIG), "sig1", c->sig, sizeof(c->sig), &c->sig_len,
                                    NULL, NULL);
    if (rc != AA_OK)
        return rc;
    c->stage = 2;
    if ((rc = aa_httpsig_build_base(&c->m, &c->in.list, 0, &c->base, NULL)) != AA_OK)
        return rc;
    c->stage = 3;
    o.now = T_A;
    o.check_time = true;
    o.require_created = true;
    o.max_skew = 60;
    o.keep_base = true;
    return aa_httpsig_verify(&c->m, aa_str_c(EX_A_INPUT), aa_str_c(EX_A_SIG), NULL,
                             &c->k->agent_pub, &o, &c->res, NULL);
}

static void hs_check_ok(void *vc)
{
    struct hs_ctx *c = vc;
    cr_assert_str_eq(c->in.label, "sig1");
    cr_assert(c->in.params.has_created);
    cr_assert_eq(c->in.params.created, T_A);
    cr_assert_eq(c->in.list.n_inner, 5);
    cr_assert_eq(c->sig_len, 64);
    expect_buf_eq(&c->base, EX_A_BASE, "signature base");
    cr_assert_str_eq(c->res.label, "sig1");
    cr_assert_eq(c->res.alg, AA_ALG_ED25519);
    cr_assert_null(c->res.step);
    expect_buf_eq(&c->res.base, EX_A_BASE, "verified base");
}

static void hs_check_failed(void *vc, int rc)
{
    struct hs_ctx *c = vc;
    (void)rc;
    cr_assert(c->stage >= 0 && c->stage <= 3);
    if (c->stage == 0) {
        cr_assert_null(c->in.list.inner, "Signature-Input: inner list left behind");
        cr_assert_null(c->in.list.params.v, "Signature-Input: parameters left behind");
        cr_assert_eq(c->in.list.n_inner, 0);
    }
    if (c->stage == 1)
        cr_assert_eq(c->sig_len, 0, "Signature: length set on failure");
    /* build_base: "on failure |out| is unchanged" (it was empty) */
    if (c->stage == 2)
        expect_buf_empty(&c->base, "signature base");
    if (c->stage == 3) {
        cr_assert_not_null(c->res.step, "verify: failing step not named");
        expect_buf_empty(&c->res.base, "verify result base");
    }
}

static void hs_release(void *vc)
{
    struct hs_ctx *c = vc;
    aa_httpsig_input_cleanup(&c->in);
    aa_buf_free(&c->base);
    aa_httpsig_result_cleanup(&c->res);
}

Test(oom, httpsig_parse_base_verify)
{
    struct keys k;
    struct hs_ctx c;
    struct oom_op op = {"httpsig input+signature+base+verify", hs_setup, hs_run, hs_check_ok,
                        hs_check_failed, hs_release};
    oom_install();
    keys_init(&k);
    memset(&c, 0, sizeof(c));
    c.k = &k;
    c.fields[0].name = AA_STR_LIT("Signature-Key");
    c.fields[0].value = aa_str_c(EX_A_KEY);
    c.m.method = AA_STR_LIT("GET");
    c.m.scheme = AA_STR_LIT("http");
    c.m.authority = AA_STR_LIT(AUTHORITY_R);
    c.m.target = aa_str_c(EX_A_TARGET);
    c.m.fields = c.fields;
    c.m.n_fields = 1;
    oom_drive(&op, &c);
    keys_free(&k);
}

/* ---- aa_sigkey: parse + validate + serialize, every scheme --------------------- */

#define SK_N 6

struct sk_ctx {
    const struct keys *k;
    const char *in[SK_N];   /* canonical spellings */
    enum aa_sigkey_scheme scheme[SK_N];
    int mode[SK_N];         /* jwks_mode after validation */
    const char *jkt[SK_N];  /* hwk: thumbprint of the carried key */
    char *ec_hwk;           /* built once */
    struct aa_sigkey sk[SK_N];
    struct aa_buf out[SK_N];
    struct aa_jwk key[SK_N];
    int fail_i, fail_stage; /* 0 parse, 1 validate, 2 serialize, 3 hwk key */
};

static void sk_setup(void *vc)
{
    struct sk_ctx *c = vc;
    for (int i = 0; i < SK_N; i++) {
        memset(&c->sk[i], 0, sizeof(c->sk[i]));
        memset(&c->key[i], 0, sizeof(c->key[i]));
        aa_buf_init(&c->out[i], 0);
    }
    c->fail_i = -1;
    c->fail_stage = -1;
}

static int sk_run(void *vc)
{
    struct sk_ctx *c = vc;
    int rc;
    for (int i = 0; i < SK_N; i++) {
        c->fail_i = i;
        c->fail_stage = 0;
        if ((rc = aa_sigkey_parse(NULL, c->in[i], strlen(c->in[i]), &c->sk[i], NULL)) != AA_OK)
            return rc;
        c->fail_stage = 1;
        if ((rc = aa_sigkey_validate(NULL, &c->sk[i], NULL)) != AA_OK)
            return rc;
        c->fail_stage = 2;
        if ((rc = aa_sigkey_serialize(NULL, &c->sk[i], &c->out[i])) != AA_OK)
            return rc;
        if (c->scheme[i] == AA_SIGKEY_HWK) {
            c->fail_stage = 3;
            if ((rc = aa_sigkey_hwk_key(NULL, &c->sk[i], &c->key[i], NULL)) != AA_OK)
                return rc;
        }
    }
    return AA_OK;
}

static void sk_check_ok(void *vc)
{
    struct sk_ctx *c = vc;
    for (int i = 0; i < SK_N; i++) {
        cr_assert_eq(c->sk[i].scheme, c->scheme[i], "%s", c->in[i]);
        cr_assert_str_eq(c->sk[i].label, "sig1");
        cr_assert_eq(c->sk[i].jwks_mode, c->mode[i], "%s", c->in[i]);
        expect_buf_eq(&c->out[i], c->in[i], "Signature-Key round trip");
        if (c->jkt[i] != NULL)
            expect_jkt(&c->key[i], c->jkt[i], c->in[i]);
    }
}

static void sk_check_failed(void *vc, int rc)
{
    struct sk_ctx *c = vc;
    int i = c->fail_i;
    (void)rc;
    cr_assert(i >= 0 && i < SK_N);
    cr_assert_neq(c->fail_stage, 1, "validate failed under OOM: %s", c->in[i]);
    if (c->fail_stage == 0)
        cr_assert(ZEROED(c->sk[i]), "Signature-Key not left zeroed: %s", c->in[i]);
    if (c->fail_stage == 2)
        expect_buf_empty(&c->out[i], c->in[i]);
    if (c->fail_stage == 3)
        cr_assert(ZEROED(c->key[i]), "hwk key output not zeroed: %s", c->in[i]);
}

static void sk_release(void *vc)
{
    struct sk_ctx *c = vc;
    for (int i = 0; i < SK_N; i++) {
        aa_sigkey_cleanup(&c->sk[i]);
        aa_buf_free(&c->out[i]);
        aa_jwk_cleanup(&c->key[i]);
    }
}

Test(oom, sigkey_parse_all_schemes)
{
    struct keys k;
    struct sk_ctx c;
    struct aa_sigkey b = {0};
    struct aa_buf buf;
    struct oom_op op = {"Signature-Key parse+validate+serialize", sk_setup, sk_run, sk_check_ok,
                        sk_check_failed, sk_release};

    oom_install();
    keys_init(&k);
    memset(&c, 0, sizeof(c));
    c.k = &k;
    aa_buf_init(&buf, 0);
    cr_assert_eq(aa_sigkey_init_hwk(&b, NULL, NULL, &k.ec), AA_OK);
    cr_assert_eq(aa_sigkey_serialize(NULL, &b, &buf), AA_OK);
    aa_sigkey_cleanup(&b);
    c.ec_hwk = aa_buf_detach(&buf, NULL);

    c.in[0] = EX_A_KEY;
    c.scheme[0] = AA_SIGKEY_HWK;
    c.jkt[0] = AAUTH_TEST1_JKT;
    c.in[1] = c.ec_hwk;
    c.scheme[1] = AA_SIGKEY_HWK;
    c.jkt[1] = k.ec_jkt;
    c.in[2] = EX_B_KEY;
    c.scheme[2] = AA_SIGKEY_JWKS;
    c.mode[2] = 2;
    c.in[3] = "sig1=(scheme=jwks jwks=\"https://agent.example/jwks.json\" kid=\"key-1\" "
              "ext=\"kept\")";
    c.scheme[3] = AA_SIGKEY_JWKS;
    c.mode[3] = 1;
    c.in[4] = "sig1=(scheme=jwt jwt=\"eyJhbGciOiJFZERTQSJ9.e30.c2ln\")";
    c.scheme[4] = AA_SIGKEY_JWT;
    c.in[5] = "sig1=(scheme=x509 x5u=\"https://agent.example/leaf.pem\" "
              "x5t=\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\")";
    c.scheme[5] = AA_SIGKEY_X509;

    oom_drive(&op, &c);
    free(c.ec_hwk);
    keys_free(&k);
}

/* ---- aa_challenge: Agent-Auth parse + serialize -------------------------------- */

static const char *CH_IN = "httpsig; auth-token; resource_token=\"rt-1\"; "
                           "auth_server=\"http://127.0.0.1:8003\"; "
                           "algs=(\"ed25519\" \"rsa-pss-sha512\"), other;x=1";
static const char *CH_OUT = "httpsig; auth-token; resource_token=\"rt-1\"; "
                            "auth_server=\"http://127.0.0.1:8003\"";
static const char *CH2_IN = "basic, httpsig; user_interaction=\"http://127.0.0.1:8003/ui?c=1\"";

struct ch_ctx {
    struct aa_challenge ch, ch2;
    struct aa_buf out;
    int stage;
};

static void ch_setup(void *vc)
{
    struct ch_ctx *c = vc;
    memset(&c->ch, 0, sizeof(c->ch));
    memset(&c->ch2, 0, sizeof(c->ch2));
    aa_buf_init(&c->out, 0);
    c->stage = -1;
}

static int ch_run(void *vc)
{
    struct ch_ctx *c = vc;
    int rc;
    c->stage = 0;
    if ((rc = aa_challenge_parse(NULL, CH_IN, strlen(CH_IN), &c->ch, NULL)) != AA_OK)
        return rc;
    c->stage = 1;
    if ((rc = aa_challenge_serialize(NULL, &c->ch, &c->out)) != AA_OK)
        return rc;
    c->stage = 2;
    return aa_challenge_parse(NULL, CH2_IN, strlen(CH2_IN), &c->ch2, NULL);
}

static void ch_check_ok(void *vc)
{
    struct ch_ctx *c = vc;
    cr_assert(c->ch.auth_token);
    cr_assert_str_eq(c->ch.resource_token, "rt-1");
    cr_assert_str_eq(c->ch.auth_server, "http://127.0.0.1:8003");
    cr_assert(c->ch.has_algs);
    cr_assert(c->ch.algs_non_rfc8941);
    cr_assert_eq(c->ch.n_algs, 2);
    cr_assert_str_eq(c->ch.algs[0], "ed25519");
    cr_assert_str_eq(c->ch.algs[1], "rsa-pss-sha512");
    cr_assert_eq(c->ch.n_members, 2);
    expect_buf_eq(&c->out, CH_OUT, "Agent-Auth serialize");
    cr_assert_str_eq(c->ch2.user_interaction, "http://127.0.0.1:8003/ui?c=1");
    cr_assert_eq(c->ch2.member_index, 1);
}

static void ch_check_failed(void *vc, int rc)
{
    struct ch_ctx *c = vc;
    (void)rc;
    cr_assert(c->stage >= 0 && c->stage <= 2);
    if (c->stage == 0)
        cr_assert(ZEROED(c->ch), "Agent-Auth: output not zeroed");
    if (c->stage == 1)
        expect_buf_empty(&c->out, "Agent-Auth serialize");
    cr_assert(ZEROED(c->ch2), "Agent-Auth (2): output not zeroed");
}

static void ch_release(void *vc)
{
    struct ch_ctx *c = vc;
    aa_challenge_cleanup(&c->ch);
    aa_challenge_cleanup(&c->ch2);
    aa_buf_free(&c->out);
}

Test(oom, challenge_parse)
{
    struct ch_ctx c;
    struct oom_op op = {"Agent-Auth parse+serialize", ch_setup, ch_run, ch_check_ok,
                        ch_check_failed, ch_release};
    oom_install();
    memset(&c, 0, sizeof(c));
    oom_drive(&op, &c);
}

/* ---- aa_aauth_sign: Examples A (hwk) and B (jwks Mode 2) ----------------------- */

struct sign_ctx {
    const struct keys *k;
    struct aauth_test_clock clk_a, clk_b;
    struct aa_http_headers ct; /* Content-Type for B */
    struct aa_signed a, b;
    int stage;
};

static void sign_setup(void *vc)
{
    struct sign_ctx *c = vc;
    memset(&c->a, 0, sizeof(c->a));
    memset(&c->b, 0, sizeof(c->b));
    c->stage = -1;
}

static int sign_run(void *vc)
{
    struct sign_ctx *c = vc;
    struct aa_sign_request ra = {0}, rb = {0};
    struct aa_sign_cred ca = {0}, cb = {0};
    struct aa_sign_opts oa = {0}, ob = {0};
    struct aa_clock clk_a = {aauth_test_clock_now, &c->clk_a};
    struct aa_clock clk_b = {aauth_test_clock_now, &c->clk_b};
    int rc;

    ra.method = "GET";
    ra.url = "http://127.0.0.1:8002/data-hwk?page=2&q=caf%C3%A9";
    ca.scheme = AA_SIGKEY_HWK;
    oa.clock = &clk_a;
    c->stage = 0;
    if ((rc = aa_aauth_sign(NULL, &ra, &c->k->agent, &ca, &oa, &c->a, NULL)) != AA_OK)
        return rc;

    rb.method = "POST";
    rb.url = "http://127.0.0.1:8003/agent/token";
    rb.headers = &c->ct;
    rb.body = EX_B_BODY;
    rb.body_len = strlen(EX_B_BODY);
    cb.scheme = AA_SIGKEY_JWKS;
    cb.id = ID_AGENT;
    cb.kid = "key-1";
    cb.well_known = "aauth-agent";
    ob.clock = &clk_b;
    ob.nonce_mode = AA_SIGN_NONCE_GIVEN;
    ob.nonce = EX_B_NONCE;
    c->stage = 1;
    return aa_aauth_sign(NULL, &rb, &c->k->agent, &cb, &ob, &c->b, NULL);
}

static void sign_check_ok(void *vc)
{
    struct sign_ctx *c = vc;
    cr_assert_eq(c->a.headers.n, 3);
    cr_assert_str_eq(c->a.headers.v[0].value, EX_A_INPUT);
    cr_assert_str_eq(c->a.headers.v[1].value, EX_A_SIG);
    cr_assert_str_eq(c->a.headers.v[2].value, EX_A_KEY);
    cr_assert_str_eq(c->a.base, EX_A_BASE);
    cr_assert_eq(c->b.headers.n, 5);
    cr_assert_str_eq(c->b.headers.v[0].value, EX_B_DIGEST);
    cr_assert_str_eq(c->b.headers.v[1].value, EX_B_NONCE);
    cr_assert_str_eq(c->b.headers.v[2].value, EX_B_INPUT);
    cr_assert_str_eq(c->b.headers.v[3].value, EX_B_SIG);
    cr_assert_str_eq(c->b.headers.v[4].value, EX_B_KEY);
    cr_assert_str_eq(c->b.base, EX_B_BASE);
    cr_assert_str_eq(c->b.content_digest, EX_B_DIGEST);
}

/* "on failure it is empty" (aa_signer.h) */
static void expect_signed_empty(const struct aa_signed *s, const char *what)
{
    cr_assert_null(s->headers.v, "%s: headers left behind", what);
    cr_assert_eq(s->headers.n, 0, "%s", what);
    cr_assert_null(s->base, "%s: base left behind", what);
    cr_assert_null(s->signature_input, "%s", what);
    cr_assert_null(s->signature, "%s", what);
    cr_assert_null(s->signature_key, "%s", what);
    cr_assert_null(s->nonce, "%s", what);
    cr_assert_null(s->content_digest, "%s", what);
}

static void sign_check_failed(void *vc, int rc)
{
    struct sign_ctx *c = vc;
    (void)rc;
    cr_assert(c->stage == 0 || c->stage == 1);
    if (c->stage == 0)
        expect_signed_empty(&c->a, "sign A");
    expect_signed_empty(&c->b, "sign B");
}

static void sign_release(void *vc)
{
    struct sign_ctx *c = vc;
    aa_signed_cleanup(&c->a);
    aa_signed_cleanup(&c->b);
}

Test(oom, aauth_sign_examples)
{
    struct keys k;
    struct sign_ctx c;
    struct oom_op op = {"aa_aauth_sign hwk+jwks", sign_setup, sign_run, sign_check_ok,
                        sign_check_failed, sign_release};
    oom_install();
    keys_init(&k);
    memset(&c, 0, sizeof(c));
    c.k = &k;
    c.clk_a.now = T_A;
    c.clk_b.now = T_B;
    aa_http_headers_init(&c.ct);
    cr_assert_eq(aa_http_headers_add(&c.ct, "Content-Type", "application/x-www-form-urlencoded"),
                 AA_OK);
    oom_drive(&op, &c);
    aa_http_headers_cleanup(&c.ct);
    keys_free(&k);
}

/* ---- aa_aauth_verify: jwks Mode 2 (B), hwk (A), jwt (agent token) ------------- */

struct vf_ctx {
    const struct keys *k;
    struct aauth_test_clock clk;
    struct aa_static_keys *static_keys;
    struct aa_key_resolver resolver;
    struct aa_nonce_cache *cache; /* fresh per attempt: B's Nonce would replay */
    const char *authority;
    struct aa_http_headers h;
    struct aa_verify_request vr;
    struct aa_identity id;
    struct aa_aauth_result res;
    /* the known answer */
    enum aa_sigkey_scheme scheme;
    enum aa_auth_level level;
    const char *agent, *delegate, *base;
    const char *jkt;
};

static const char *const trusted_as[] = {ID_AS, NULL};

static void vf_setup(void *vc)
{
    struct vf_ctx *c = vc;
    struct aa_nonce_cache_opts no = {0};
    no.capacity = 64;
    no.clock.now = aauth_test_clock_now;
    no.clock.ctx = &c->clk;
    c->cache = aa_nonce_cache_new(&no);
    cr_assert_not_null(c->cache);
    memset(&c->id, 0, sizeof(c->id));
    aa_aauth_result_init(&c->res);
}

static int vf_run(void *vc)
{
    struct vf_ctx *c = vc;
    struct aa_verify_policy pol;

    memset(&pol, 0, sizeof(pol));
    pol.authority = c->authority;
    pol.receiver = ID_R;
    pol.clock.now = aauth_test_clock_now;
    pol.clock.ctx = &c->clk;
    pol.replay = c->cache;
    pol.resolver = &c->resolver;
    pol.trusted_issuers = trusted_as;
    pol.dev_mode = true;
    return aa_aauth_verify(&pol, &c->vr, &c->id, &c->res);
}

static void vf_check_ok(void *vc)
{
    struct vf_ctx *c = vc;
    char txt[600];
    aa_aauth_result_format(&c->res, txt, sizeof(txt));
    cr_assert_eq(c->res.code, AA_OK, "%s", txt);
    cr_assert_eq(c->id.scheme, c->scheme);
    cr_assert_eq(c->id.level, c->level);
    if (c->agent != NULL)
        cr_assert_str_eq(c->id.agent, c->agent);
    else
        cr_assert_null(c->id.agent);
    if (c->delegate != NULL)
        cr_assert_str_eq(c->id.delegate, c->delegate);
    cr_assert_str_eq(c->id.thumbprint, c->jkt);
    cr_assert_not_null(c->id.base);
    if (c->base != NULL)
        cr_assert_str_eq(c->id.base, c->base);
    cr_assert_str_eq(c->id.label, "sig1");
}

static void vf_check_failed(void *vc, int rc)
{
    struct vf_ctx *c = vc;
    char txt[600];
    aa_aauth_result_format(&c->res, txt, sizeof(txt));
    cr_assert_eq(c->res.code, rc, "return value and res.code differ: %s", txt);
    cr_assert_eq(c->res.status, 500, "a fault must be 500: %s", txt);
    cr_assert_eq(c->res.perr, AA_PERR_SERVER_ERROR, "a fault must be server_error: %s", txt);
    cr_assert(ZEROED(c->id), "identity not empty after a failure: %s", txt);
}

static void vf_release(void *vc)
{
    struct vf_ctx *c = vc;
    aa_identity_cleanup(&c->id);
    aa_nonce_cache_free(c->cache);
    c->cache = NULL;
}

static void vf_env(struct vf_ctx *c, const struct keys *k, int64_t now)
{
    memset(c, 0, sizeof(*c));
    c->k = k;
    c->clk.now = now;
    c->static_keys = aa_static_keys_new();
    cr_assert_not_null(c->static_keys);
    cr_assert_eq(aa_static_keys_add(c->static_keys, ID_AGENT, "aauth-agent", &k->agent_pub), AA_OK);
    cr_assert_eq(aa_static_keys_add(c->static_keys, ID_AS, "aauth-issuer", &k->as), AA_OK);
    aa_key_resolver_static(&c->resolver, c->static_keys);
    aa_http_headers_init(&c->h);
    c->vr.headers = &c->h;
}

static void vf_env_free(struct vf_ctx *c)
{
    aa_http_headers_cleanup(&c->h);
    aa_static_keys_free(c->static_keys);
}

static void add_h(struct aa_http_headers *h, const char *n, const char *v)
{
    cr_assert_eq(aa_http_headers_add(h, n, v), AA_OK);
}

Test(oom, aauth_verify_jwks_mode2)
{
    struct keys k;
    struct vf_ctx c;
    struct oom_op op = {"aa_aauth_verify jwks Mode 2 (Example B)", vf_setup, vf_run, vf_check_ok,
                        vf_check_failed, vf_release};
    oom_install();
    keys_init(&k);
    vf_env(&c, &k, T_B);
    add_h(&c.h, "Content-Type", "application/x-www-form-urlencoded");
    add_h(&c.h, "Content-Digest", EX_B_DIGEST);
    add_h(&c.h, "Nonce", EX_B_NONCE);
    add_h(&c.h, "Signature-Input", EX_B_INPUT);
    add_h(&c.h, "Signature", EX_B_SIG);
    add_h(&c.h, "Signature-Key", EX_B_KEY);
    c.vr.method = "POST";
    c.vr.target = "/agent/token";
    c.vr.body = EX_B_BODY;
    c.vr.body_len = strlen(EX_B_BODY);
    c.authority = AUTHORITY_AS;
    c.scheme = AA_SIGKEY_JWKS;
    c.level = AA_AUTH_IDENTIFIED;
    c.agent = ID_AGENT;
    c.base = EX_B_BASE;
    c.jkt = AAUTH_TEST1_JKT;
    oom_drive(&op, &c);
    vf_env_free(&c);
    keys_free(&k);
}

Test(oom, aauth_verify_hwk)
{
    struct keys k;
    struct vf_ctx c;
    struct oom_op op = {"aa_aauth_verify hwk (Example A)", vf_setup, vf_run, vf_check_ok,
                        vf_check_failed, vf_release};
    oom_install();
    keys_init(&k);
    vf_env(&c, &k, T_A);
    add_h(&c.h, "Signature-Input", EX_A_INPUT);
    add_h(&c.h, "Signature", EX_A_SIG);
    add_h(&c.h, "Signature-Key", EX_A_KEY);
    c.vr.method = "GET";
    c.vr.target = EX_A_TARGET;
    c.authority = AUTHORITY_R;
    c.scheme = AA_SIGKEY_HWK;
    c.level = AA_AUTH_PSEUDONYMOUS;
    c.base = EX_A_BASE;
    c.jkt = AAUTH_TEST1_JKT;
    oom_drive(&op, &c);
    vf_env_free(&c);
    keys_free(&k);
}

/* A delegate request with scheme=jwt carrying |tok| (PROFILE#2.3), signed
 * with the delegate key, through the receiver. */
static void verify_jwt(const char *name, bool auth)
{
    struct keys k;
    struct vf_ctx c;
    struct aa_sign_request sr = {0};
    struct aa_sign_cred cred = {0};
    struct aa_sign_opts o = {0};
    struct aa_signed s;
    struct aa_clock clk;
    char *tok;
    struct oom_op op = {name, vf_setup, vf_run, vf_check_ok, vf_check_failed, vf_release};

    keys_init(&k);
    vf_env(&c, &k, T_A);
    tok = auth ? mint_auth_token(&k) : mint_agent_token(&k);
    clk.now = aauth_test_clock_now;
    clk.ctx = &c.clk;
    sr.method = "GET";
    sr.url = "http://127.0.0.1:8002/data-jwks";
    cred.scheme = AA_SIGKEY_JWT;
    cred.token = tok;
    o.clock = &clk;
    cr_assert_eq(aa_aauth_sign(NULL, &sr, &k.dlg, &cred, &o, &s, NULL), AA_OK);
    for (size_t i = 0; i < s.headers.n; i++)
        add_h(&c.h, s.headers.v[i].name, s.headers.v[i].value);
    c.vr.method = "GET";
    c.vr.target = "/data-jwks";
    c.authority = AUTHORITY_R;
    c.scheme = AA_SIGKEY_JWT;
    c.level = auth ? AA_AUTH_AUTHORIZED : AA_AUTH_IDENTIFIED;
    c.agent = ID_AGENT;
    c.delegate = "delegate-1";
    c.base = s.base;
    c.jkt = k.dlg_jkt;
    oom_drive(&op, &c);
    aa_signed_cleanup(&s);
    free(tok);
    vf_env_free(&c);
    keys_free(&k);
}

Test(oom, aauth_verify_jwt_agent_token)
{
    oom_install();
    verify_jwt("aa_aauth_verify jwt (agent+jwt)", false);
}

Test(oom, aauth_verify_jwt_auth_token)
{
    oom_install();
    verify_jwt("aa_aauth_verify jwt (auth+jwt)", true);
}

/* ---- aa_aauth_validate_agent_token and auth+jwt (PROFILE#4.3, #4.5) ---------- */

struct at_ctx {
    const struct keys *k;
    struct vf_ctx *env; /* resolver and clock */
    enum aa_token_kind kind;
    char *tok;
    struct aa_validated_token vt;
    struct aa_aauth_result res;
};

static void at_setup(void *vc)
{
    struct at_ctx *c = vc;
    memset(&c->vt, 0, sizeof(c->vt));
    aa_aauth_result_init(&c->res);
}

static int at_run(void *vc)
{
    struct at_ctx *c = vc;
    struct aa_token_policy tp;
    memset(&tp, 0, sizeof(tp));
    tp.clock.now = aauth_test_clock_now;
    tp.clock.ctx = &c->env->clk;
    tp.receiver = ID_R;
    tp.resolver = &c->env->resolver;
    tp.trusted_issuers = trusted_as;
    tp.dev_mode = true;
    if (c->kind == AA_TOKEN_AUTH)
        return aa_aauth_validate_auth_token(&tp, c->tok, strlen(c->tok), &c->vt, &c->res);
    return aa_aauth_validate_agent_token(&tp, c->tok, strlen(c->tok), &c->vt, &c->res);
}

static void at_check_ok(void *vc)
{
    struct at_ctx *c = vc;
    cr_assert_eq(c->vt.kind, c->kind);
    if (c->kind == AA_TOKEN_AUTH) {
        cr_assert_str_eq(c->vt.iss, ID_AS);
        cr_assert_str_eq(c->vt.agent, ID_AGENT);
        cr_assert_str_eq(c->vt.agent_delegate, "delegate-1");
        cr_assert_str_eq(c->vt.scope, "data.read");
        cr_assert_str_eq(aa_json_str(c->vt.header, "typ"), "auth+jwt");
    } else {
        cr_assert_str_eq(c->vt.iss, ID_AGENT);
        cr_assert_str_eq(c->vt.sub, "delegate-1");
        cr_assert_str_eq(aa_json_str(c->vt.claims, "sub"), "delegate-1");
        cr_assert_str_eq(aa_json_str(c->vt.header, "typ"), "agent+jwt");
    }
    cr_assert_eq(c->vt.exp, T_A + 3600);
    cr_assert(c->vt.has_cnf);
    cr_assert_str_eq(c->vt.cnf_jkt, c->k->dlg_jkt);
    expect_jkt(&c->vt.cnf, c->k->dlg_jkt, "token cnf");
}

static void at_check_failed(void *vc, int rc)
{
    struct at_ctx *c = vc;
    char txt[600];
    aa_aauth_result_format(&c->res, txt, sizeof(txt));
    cr_assert_eq(c->res.code, rc, "%s", txt);
    cr_assert_eq(c->res.status, 500, "a fault must be 500: %s", txt);
    cr_assert_eq(c->res.perr, AA_PERR_SERVER_ERROR, "%s", txt);
    cr_assert(ZEROED(c->vt), "validated token not empty after a failure: %s", txt);
}

static void at_release(void *vc)
{
    struct at_ctx *c = vc;
    aa_validated_token_cleanup(&c->vt);
}

Test(oom, validate_agent_token)
{
    struct keys k;
    struct vf_ctx env;
    struct at_ctx c;
    struct oom_op op = {"agent+jwt validator", at_setup, at_run, at_check_ok, at_check_failed,
                        at_release};
    oom_install();
    keys_init(&k);
    vf_env(&env, &k, T_A);
    memset(&c, 0, sizeof(c));
    c.k = &k;
    c.env = &env;
    c.kind = AA_TOKEN_AGENT;
    c.tok = mint_agent_token(&k);
    oom_drive(&op, &c);
    free(c.tok);
    vf_env_free(&env);
    keys_free(&k);
}

Test(oom, validate_auth_token)
{
    struct keys k;
    struct vf_ctx env;
    struct at_ctx c;
    struct oom_op op = {"auth+jwt validator", at_setup, at_run, at_check_ok, at_check_failed,
                        at_release};
    oom_install();
    keys_init(&k);
    vf_env(&env, &k, T_A);
    memset(&c, 0, sizeof(c));
    c.k = &k;
    c.env = &env;
    c.kind = AA_TOKEN_AUTH;
    c.tok = mint_auth_token(&k);
    oom_drive(&op, &c);
    free(c.tok);
    vf_env_free(&env);
    keys_free(&k);
}

/* ---- the wrapper itself --------------------------------------------------------- */

/* The injection reaches the library: an armed failure of the first
 * allocation makes a parse that needs memory fail, and the same parse
 * succeeds unarmed (so the driver's NOMEM results are ours, not the input's). */
Test(oom, wrapper_reaches_library)
{
    struct aa_sf_list l = {0};
    oom_install();
    oom_arm(1, false);
    cr_assert_eq(aa_sf_parse_list("a, b", 4, &l, NULL), AA_E_NOMEM);
    oom_disarm();
    cr_assert_eq(oom.failed, 1);
    cr_assert(ZEROED(l));
    cr_assert_eq(aa_sf_parse_list("a, b", 4, &l, NULL), AA_OK);
    cr_assert_eq(l.n, 2);
    aa_sf_list_free(&l);
    /* cJSON through its hooks */
    oom_arm(1, false);
    cr_assert_null(cJSON_Parse("{\"a\":1}"));
    oom_disarm();
    cr_assert_eq(oom.failed, 1);
}
