/*
 * The AAuth client library (reference/lib/aa_client.h) against a hostile
 * in-process peer: the CL cases of PROFILE#9 (CL-01 .. CL-06), the agent
 * and auth token checks it makes for its own key, the challenge loop's
 * bounds, manual consent input, the step log and the transcript.
 *
 * The peer is one aa_server on 127.0.0.1 port 0 whose answers a test
 * chooses (struct peer): it plays agent server, resource and auth server
 * at once, signs real tokens with its own Ed25519 key and publishes that
 * key, so every refusal asserted here is for the one defect planted.
 * Happy paths against the real reference servers are in test_flows.c.
 */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aa_client.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"
#include "server/aa_server.h"

/* String assertions that report a NULL instead of crashing on it. */
static const char *nn(const char *s)
{
    return s ? s : "(null)";
}
#define assert_str(got, ...) cr_assert_str_eq(nn(got), __VA_ARGS__)
#define assert_str_neq(got, ...) cr_assert_str_neq(nn(got), __VA_ARGS__)

#define NOW INT64_C(1768786221)

/* What the peer plants. */
enum agent_defect {
    AG_OK = 0,
    AG_ISS,         /* iss of another agent */
    AG_SUB,         /* sub other than requested */
    AG_TYP,         /* typ JWT */
    AG_CNF,         /* cnf.jwk of another key */
    AG_EXPIRED,     /* exp in the past */
    AG_FOREIGN_SIG, /* signed by a key the JWKS does not hold */
    AG_NO_TOKEN,    /* 200 without agent_token */
    AG_STATUS       /* 400 invalid_request */
};

enum at_defect { AT_OK = 0, AT_CNF, AT_AUD, AT_TYP, AT_CONSENT };

struct peer {
    struct aa_server *srv;
    char origin[128];
    struct aa_jwk key;     /* the peer's signing key (published) */
    struct aa_jwk foreign; /* a key it does not publish */
    /* behaviour */
    enum agent_defect agent;
    enum at_defect at;
    const char *challenge;    /* Agent-Auth of /data (printf with origin) */
    const char *challenge2;   /* a second Agent-Auth field line, or NULL */
    bool redirect_metadata;   /* /.well-known/aauth-issuer answers 302 */
    bool big_metadata;        /* 200 KiB issuer metadata */
    bool endless;             /* /data streams forever */
    const char *client_jkt_x; /* the client's public x (for cnf) */
    atomic_uint hits_data, hits_token, hits_target, hits_md;
};

static int64_t fixed_now(void *ctx)
{
    return *(const int64_t *)ctx;
}
static int64_t now_value = NOW;

/* |tmpl| with its first "%s" replaced by |value| (no printf on test data). */
static void subst(char *out, size_t cap, const char *tmpl, const char *value)
{
    const char *m = strstr(tmpl, "%s");

    if (m == NULL)
        aa_snprintf(out, cap, "%s", tmpl);
    else
        aa_snprintf(out, cap, "%.*s%s%s", (int)(m - tmpl), tmpl, value, m + 2);
}

/* ---- the peer ------------------------------------------------------------------------- */

static char *sign(struct peer *p, const char *typ, cJSON *claims, bool foreign)
{
    cJSON *h = cJSON_CreateObject();
    char *out = NULL;

    cJSON_AddStringToObject(h, "typ", typ);
    cJSON_AddStringToObject(h, "kid", "peer-key");
    cr_assert_eq(
        aa_jwt_sign(h, claims, AA_ALG_ED25519, foreign ? &p->foreign : &p->key, NULL, &out), AA_OK);
    cJSON_Delete(h);
    cJSON_Delete(claims);
    return out;
}

static cJSON *cnf_for(const char *x)
{
    cJSON *cnf = cJSON_CreateObject(), *jwk = cJSON_AddObjectToObject(cnf, "jwk");

    cJSON_AddStringToObject(jwk, "kty", "OKP");
    cJSON_AddStringToObject(jwk, "crv", "Ed25519");
    cJSON_AddStringToObject(jwk, "x", x);
    return cnf;
}

static void reply_json(struct aa_server_response *r, int status, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    aa_server_response_json(r, status, s);
    free(s);
    cJSON_Delete(o);
}

static void h_delegate_token(struct peer *p, const struct aa_server_request *req,
                             struct aa_server_response *resp)
{
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len), *claims, *o;
    const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(body, "cnf_jwk");
    const char *sub = aa_json_str(body, "sub");
    char *tok;

    if (p->agent == AG_STATUS || sub == NULL || !cJSON_IsObject(jwk)) {
        aa_server_response_error(resp, 400, "invalid_request", "bad request");
        cJSON_Delete(body);
        return;
    }
    claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "iss", p->agent == AG_ISS ? "http://127.0.0.1:1" : p->origin);
    cJSON_AddStringToObject(claims, "sub", p->agent == AG_SUB ? "someone-else" : sub);
    cJSON_AddNumberToObject(claims, "exp",
                            (double)(p->agent == AG_EXPIRED ? NOW - 10 : NOW + 3600));
    if (p->agent == AG_CNF) {
        struct aa_buf b;
        aa_buf_init(&b, 256);
        cr_assert_eq(aa_jwk_public_member(&p->foreign, "x", &b), AA_OK);
        cJSON_AddItemToObject(claims, "cnf", cnf_for(b.p));
        aa_buf_free(&b);
    } else {
        cJSON *cnf = cJSON_CreateObject();
        cJSON_AddItemToObject(cnf, "jwk", cJSON_Duplicate(jwk, 1));
        cJSON_AddItemToObject(claims, "cnf", cnf);
    }
    tok = sign(p, p->agent == AG_TYP ? "JWT" : "agent+jwt", claims, p->agent == AG_FOREIGN_SIG);
    o = cJSON_CreateObject();
    if (p->agent != AG_NO_TOKEN)
        cJSON_AddStringToObject(o, "agent_token", tok);
    cJSON_AddNumberToObject(o, "expires_in", 3600);
    reply_json(resp, 200, o);
    free(tok);
    cJSON_Delete(body);
}

static void h_metadata(struct peer *p, const char *member, struct aa_server_response *resp)
{
    cJSON *o = cJSON_CreateObject();
    char u[256];

    cJSON_AddStringToObject(o, member, p->origin);
    aa_snprintf(u, sizeof(u), "%s/jwks.json", p->origin);
    cJSON_AddStringToObject(o, "jwks_uri", u);
    if (strcmp(member, "issuer") == 0) {
        aa_snprintf(u, sizeof(u), "%s/agent/token", p->origin);
        cJSON_AddStringToObject(o, "agent_token_endpoint", u);
        aa_snprintf(u, sizeof(u), "%s/agent/auth", p->origin);
        cJSON_AddStringToObject(o, "agent_auth_endpoint", u);
        if (p->big_metadata) {
            char *pad = malloc(200 * 1024 + 1);
            memset(pad, 'a', 200 * 1024);
            pad[200 * 1024] = '\0';
            cJSON_AddStringToObject(o, "padding", pad);
            free(pad);
        }
    }
    reply_json(resp, 200, o);
}

/* RT of this "resource" for the client; AT of this "AS" per |p->at|. */
static void h_agent_token(struct peer *p, const struct aa_server_request *req,
                          struct aa_server_response *resp)
{
    cJSON *claims, *o;
    char *tok;

    atomic_fetch_add(&p->hits_token, 1);
    if (strstr(req->body, "request_type=code") != NULL) {
        aa_server_response_error(resp, 400, "invalid_grant", "unknown code");
        return;
    }
    if (p->at == AT_CONSENT) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "request_token", "rq-1");
        cJSON_AddNumberToObject(o, "expires_in", 600);
        reply_json(resp, 200, o);
        return;
    }
    claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "iss", p->origin);
    cJSON_AddStringToObject(claims, "aud", p->at == AT_AUD ? "http://127.0.0.1:2" : p->origin);
    cJSON_AddStringToObject(claims, "agent", "http://127.0.0.1:3");
    cJSON_AddNumberToObject(claims, "exp", (double)(NOW + 3600));
    cJSON_AddStringToObject(claims, "scope", "data.read");
    if (p->at == AT_CNF) {
        struct aa_buf b;
        aa_buf_init(&b, 256);
        cr_assert_eq(aa_jwk_public_member(&p->foreign, "x", &b), AA_OK);
        cJSON_AddItemToObject(claims, "cnf", cnf_for(b.p));
        aa_buf_free(&b);
    } else {
        cJSON_AddItemToObject(claims, "cnf", cnf_for(p->client_jkt_x));
    }
    tok = sign(p, p->at == AT_TYP ? "agent+jwt" : "auth+jwt", claims, false);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "auth_token", tok);
    cJSON_AddNumberToObject(o, "expires_in", 3600);
    cJSON_AddStringToObject(o, "refresh_token", "rf-1");
    reply_json(resp, 200, o);
    free(tok);
}

static long endless_body(void *ctx, uint64_t pos, char *buf, size_t max)
{
    (void)ctx;
    (void)pos;
    memset(buf, 'x', max);
    return (long)max;
}

static void handler(void *ctx, const struct aa_server_request *req, struct aa_server_response *resp)
{
    struct peer *p = ctx;

    if (aa_server_request_path_is(req, "/delegate/token")) {
        h_delegate_token(p, req, resp);
    } else if (aa_server_request_path_is(req, "/.well-known/aauth-agent")) {
        h_metadata(p, "agent", resp);
    } else if (aa_server_request_path_is(req, "/.well-known/aauth-resource")) {
        h_metadata(p, "resource", resp);
    } else if (aa_server_request_path_is(req, "/.well-known/aauth-issuer")) {
        atomic_fetch_add(&p->hits_md, 1);
        if (p->redirect_metadata) {
            char loc[256];
            aa_snprintf(loc, sizeof(loc), "%s/target", p->origin);
            resp->status = 302;
            aa_server_response_header(resp, "Location", loc);
        } else {
            h_metadata(p, "issuer", resp);
        }
    } else if (aa_server_request_path_is(req, "/target")) {
        atomic_fetch_add(&p->hits_target, 1);
        h_metadata(p, "issuer", resp);
    } else if (aa_server_request_path_is(req, "/jwks.json")) {
        struct aa_buf b;
        struct aa_jwks set = {0};
        aa_buf_init(&b, 4096);
        cr_assert_eq(aa_jwks_add(&set, &p->key), AA_OK);
        cr_assert_eq(aa_jwks_to_json(&set, &b), AA_OK);
        aa_server_response_json(resp, 200, b.p);
        aa_jwks_cleanup(&set);
        aa_buf_free(&b);
    } else if (aa_server_request_path_is(req, "/agent/token")) {
        h_agent_token(p, req, resp);
    } else if (aa_server_request_path_is(req, "/data")) {
        atomic_fetch_add(&p->hits_data, 1);
        if (p->endless) {
            resp->status = 200;
            aa_server_response_stream(resp, UINT64_MAX, endless_body, NULL, NULL);
            return;
        }
        if (p->challenge == NULL) {
            aa_server_response_json(resp, 200, "{\"ok\":true}");
            return;
        }
        /* every request is refused with the planted challenge */
        {
            char v[4096];
            subst(v, sizeof(v), p->challenge, p->origin);
            aa_server_response_error(resp, 401, "invalid_signature", "planted");
            aa_server_response_header(resp, "Agent-Auth", v);
            if (p->challenge2 != NULL)
                aa_server_response_header(resp, "Agent-Auth", p->challenge2);
        }
    } else {
        aa_server_response_not_found(resp, req);
    }
}

static void peer_start(struct peer *p)
{
    struct aa_server_opts o;
    struct aa_diag d;

    memset(&o, 0, sizeof(o));
    o.handler = handler;
    o.ctx = p;
    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "peer-key", &p->key), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "peer-key", &p->foreign), AA_OK);
    cr_assert_eq(aa_server_start(&o, &p->srv, &d), AA_OK, "%s", d.msg);
    aa_snprintf(p->origin, sizeof(p->origin), "%s", aa_server_origin(p->srv));
}

static void peer_stop(struct peer *p)
{
    aa_server_stop(p->srv);
    aa_jwk_cleanup(&p->key);
    aa_jwk_cleanup(&p->foreign);
}

static const char *at(const struct peer *p, const char *path)
{
    static char ring[8][256];
    static unsigned n;
    char *b = ring[n++ % 8];

    aa_snprintf(b, 256, "%s%s", p->origin, path);
    return b;
}

/* ---- clients --------------------------------------------------------------------------- */

static struct aa_client *mk(struct aa_client_opts *o)
{
    struct aa_client *c = NULL;
    struct aa_diag d;

    o->clock.now = fixed_now;
    o->clock.ctx = &now_value;
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_new(o, &c, &d), AA_OK, "%s", d.msg);
    return c;
}

static struct aa_client *delegate_of(struct peer *p)
{
    struct aa_client_opts o;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_DELEGATE;
    o.agent_server = p->origin;
    o.dev_mode = true;
    return mk(&o);
}

/* An agent (jwks) whose key the peer will bind tokens to. */
static struct aa_client *agent_of(struct peer *p, bool dev)
{
    struct aa_client_opts o;
    struct aa_client *c;
    static char x[64];
    struct aa_buf b;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.agent_id = "https://agent.example";
    o.agent_kid = "k";
    o.dev_mode = dev;
    c = mk(&o);
    aa_buf_init(&b, 256);
    cr_assert_eq(aa_jwk_public_member(aa_client_key(c), "x", &b), AA_OK);
    aa_snprintf(x, sizeof(x), "%s", b.p);
    aa_buf_free(&b);
    p->client_jkt_x = x;
    return c;
}

static int last_token_rc(const struct aa_client *c)
{
    for (size_t i = aa_client_step_count(c); i > 0; i--)
        if (aa_client_step_at(c, i - 1)->kind == AA_CSTEP_TOKEN)
            return aa_client_step_at(c, i - 1)->rc;
    return 1;
}

static int fetch(struct aa_client *c, const char *url, struct aa_client_result *res,
                 struct aa_diag *d)
{
    struct aa_client_request r = {.url = url};
    aa_diag_clear(d);
    return aa_client_fetch(c, &r, NULL, res, d);
}

/* ======================================================================== */
/* configuration                                                            */
/* ======================================================================== */

Test(client, new_rejects_bad_configurations)
{
    struct aa_client_opts o;
    struct aa_client *c = NULL;
    struct aa_jwk ec;
    struct aa_diag d;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT; /* no id */
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_INVAL);
    cr_assert_null(c);

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_DELEGATE; /* no agent server */
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_INVAL);

    /* CL-01 at setup: http is dev mode only, and loopback only */
    o.agent_server = "http://127.0.0.1:8001";
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_CLIENT_INSECURE);
    o.dev_mode = true;
    o.agent_server = "http://agent.example";
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_CLIENT_INSECURE);
    cr_assert_not_null(strstr(nn(d.msg), "non-loopback"), "%s", d.msg);
    o.agent_server = "ftp://127.0.0.1";
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_HTTP_URL);

    memset(&o, 0, sizeof(o));
    o.consent = AA_CLIENT_CONSENT_MANUAL; /* no prompt */
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_INVAL);

    memset(&o, 0, sizeof(o));
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, "ec", &ec), AA_OK);
    o.key = &ec; /* D-12: Ed25519 only */
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_INVAL);
    aa_jwk_cleanup(&ec);

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.agent_id = "https://agent.example/"; /* not an identifier: a path */
    o.agent_kid = "k";
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_E_HTTP_IDENTIFIER);

    /* a good one: a fresh key named delegate-key-1, redirect_uri from the agent */
    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_DELEGATE;
    o.agent_server = "https://agent.example/";
    cr_assert_eq(aa_client_new(&o, &c, &d), AA_OK, "%s", d.msg);
    assert_str(aa_client_key(c)->kid, "delegate-key-1");
    assert_str(aa_client_sub(c), "delegate-1");
    assert_str(aa_client_agent_id(c), "https://agent.example");
    assert_str(aa_client_redirect_uri(c), "https://agent.example/callback");
    cr_assert_eq(strlen(aa_client_thumbprint(c)), AA_JWK_THUMBPRINT_LEN);
    cr_assert_null(aa_client_agent_token(c));
    cr_assert_eq(aa_client_step_count(c), 0, "nothing is sent at creation");
    aa_client_free(c);
}

Test(client, error_names)
{
    for (int code = AA_E_CLIENT_INPUT; code <= AA_E_CLIENT_STATUS; code++) {
        cr_assert_not_null(aa_client_strerror(code), "%d", code);
        cr_assert_eq(strncmp(aa_client_errstr(code), "AA_E_CLIENT_", 12), 0);
    }
    cr_assert_null(aa_client_strerror(AA_E_CLIENT_INPUT - 1));
    cr_assert_null(aa_client_strerror(AA_E_NOMEM));
    assert_str(aa_client_errstr(AA_E_NOMEM), aa_strerror(AA_E_NOMEM));
    assert_str(aa_client_step_kind_name(AA_CSTEP_AGENT_TOKEN), "agent-token");
    assert_str(aa_client_cred_name(AA_CRED_AUTH_TOKEN), "jwt(auth+jwt)");
}

Test(client, key_file_generated_then_reloaded)
{
    char dir[] = "/tmp/aa-client-XXXXXX";
    char path[128];
    struct aa_jwk a, b;
    struct stat st;
    bool gen = false;
    struct aa_diag d;
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    aa_snprintf(path, sizeof(path), "%s/dg.jwk", dir);
    cr_assert_eq(aa_client_key_load_or_generate(path, NULL, &a, &gen, &d), AA_OK, "%s", d.msg);
    cr_assert(gen);
    assert_str(a.kid, "delegate-key-1");
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(aa_client_key_load_or_generate(path, NULL, &b, &gen, &d), AA_OK, "%s", d.msg);
    cr_assert_not(gen);
    cr_assert(aa_jwk_same_key(&a, &b));
    cr_assert(b.is_private);
    aa_jwk_cleanup(&a);
    aa_jwk_cleanup(&b);
    /* a public key is not a signing key */
    cr_assert_not_null(f = fopen(path, "w"));
    fputs("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
          "7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
          f);
    fclose(f);
    cr_assert_eq(aa_client_key_load_or_generate(path, NULL, &a, &gen, &d), AA_E_UNSUPPORTED);
    unlink(path);
    rmdir(dir);
}

Test(client, step_log_is_bounded)
{
    struct aa_client_opts o;
    struct aa_client *c;

    memset(&o, 0, sizeof(o));
    c = mk(&o);
    for (int i = 0; i < AA_CLIENT_MAX_STEPS + 6; i++)
        aa_client_note(c, "note %d", i);
    cr_assert_eq(aa_client_step_count(c), AA_CLIENT_MAX_STEPS);
    cr_assert_eq(aa_client_steps_dropped(c), 6);
    cr_assert_eq(aa_client_step_at(c, 0)->seq, 6);
    assert_str(aa_client_step_at(c, 0)->what, "note 6");
    cr_assert_eq(aa_client_step_last(c)->kind, AA_CSTEP_NOTE);
    cr_assert_null(aa_client_step_at(c, AA_CLIENT_MAX_STEPS));
    cr_assert_not_null(strstr(aa_client_transcript(c, NULL), "# note 0\n"));
    aa_client_log_clear(c);
    cr_assert_eq(aa_client_step_count(c), 0);
    assert_str(aa_client_transcript(c, NULL), "");
    aa_client_free(c);
}

/* ======================================================================== */
/* sending, step contents, transcript                                       */
/* ======================================================================== */

Test(client, step_and_transcript_of_a_signed_request)
{
    struct peer p = {0};
    struct aa_client_opts o;
    struct aa_client *c;
    struct aa_client_request r;
    struct aa_client_send_opts so = {.cred = AA_CRED_HWK};
    const struct aa_client_step *st = NULL;
    const char *tr;
    char line[512];

    peer_start(&p);
    memset(&o, 0, sizeof(o));
    o.role = "HARNESS";
    c = mk(&o);
    memset(&r, 0, sizeof(r));
    r.url = at(&p, "/data?x=1");
    r.content_type = "application/json";
    r.body = "{\"a\":1}";
    r.body_len = 7;
    cr_assert_eq(aa_client_send(c, &r, &so, &st, NULL), AA_OK);
    cr_assert_eq(st->resp.status, 200);
    assert_str(st->method, "POST", "a body without a method is a POST");
    assert_str(st->what, "POST /data?x=1 signed(hwk)");
    cr_assert(st->is_signed);
    cr_assert_eq(st->scheme, AA_SIGKEY_HWK);
    cr_assert_eq(st->created, NOW);
    assert_str(st->key_jkt, aa_client_thumbprint(c));
    assert_str(st->signature_input,
               "sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\" "
               "\"content-digest\" \"nonce\" \"signature-key\");created=1768786221");
    cr_assert_not_null(st->nonce);
    assert_str(st->req_body, "{\"a\":1}");
    /* headers as sent: the caller's first, then the signer's */
    assert_str(st->req_headers.v[0].name, "Content-Type");
    assert_str(aa_http_headers_get(&st->req_headers, "Signature-Input"), st->signature_input);
    cr_assert(st->json != NULL && cJSON_IsTrue(cJSON_GetObjectItem(st->json, "ok")));

    tr = aa_client_transcript(c, NULL);
    aa_snprintf(line, sizeof(line), ">>> HARNESS REQUEST to %s/data?x=1\n", p.origin);
    cr_assert_not_null(strstr(nn(tr), line), "%s", tr);
    aa_snprintf(line, sizeof(line), "<<< HARNESS RESPONSE from %s/data?x=1\n", p.origin);
    cr_assert_not_null(strstr(nn(tr), line));
    aa_snprintf(line, sizeof(line), "--- signature base (%s) ---\n\"@method\": POST\n",
                aa_client_thumbprint(c));
    cr_assert_not_null(strstr(nn(tr), line));
    cr_assert_not_null(strstr(nn(tr), "\"@signature-params\": (\"@method\""));
    cr_assert_not_null(strstr(nn(tr), "\n--- end ---\n"));
    cr_assert_not_null(strstr(nn(tr), "[Body (7 bytes)]\n{\"a\":1}\n"));
    /* PROFILE#8: values over 100 characters cut to 97 + "..." */
    cr_assert_gt(strlen(st->signature_input), 100);
    aa_snprintf(line, sizeof(line), "Signature-Input: %s\n", st->signature_input);
    cr_assert_null(strstr(nn(tr), line));
    aa_snprintf(line, sizeof(line), "Signature-Input: %.97s...\n", st->signature_input);
    cr_assert_not_null(strstr(nn(tr), line));
    aa_client_free(c);
    peer_stop(&p);
}

Test(client, transport_error_is_recorded)
{
    struct aa_client_opts o;
    struct aa_client *c;
    struct aa_client_request r = {.url = "http://127.0.0.1:1/x"};
    struct aa_client_send_opts so = {.cred = AA_CRED_NONE};
    const struct aa_client_step *st = NULL;
    struct aa_diag d;
    int rc;

    memset(&o, 0, sizeof(o));
    c = mk(&o);
    aa_diag_clear(&d);
    rc = aa_client_send(c, &r, &so, &st, &d);
    cr_assert_eq(rc, AA_E_HTTP_CONNECT, "%s", aa_client_errstr(rc));
    cr_assert(aa_http_err_is_transport(rc));
    cr_assert_not_null(st);
    cr_assert_eq(st->rc, AA_E_HTTP_CONNECT);
    cr_assert_not(st->has_response);
    cr_assert_not_null(strstr(aa_client_transcript(c, NULL), "!!! GET http://127.0.0.1:1/x"));
    /* a pseudonymous client has no identity credential: nothing is sent */
    so.cred = AA_CRED_IDENTITY;
    cr_assert_eq(aa_client_send(c, &r, &so, &st, &d), AA_E_CLIENT_NO_CREDENTIAL);
    cr_assert_eq(aa_client_step_count(c), 1);
    aa_client_free(c);
}

/* ======================================================================== */
/* CL-01 .. CL-06                                                           */
/* ======================================================================== */

/* CL-01: auth_server http on a non-loopback host is refused, dev mode or not. */
Test(client, cl01_refuses_http_auth_server)
{
    struct peer p = {0};
    struct aa_client *c;
    struct aa_client_result res;
    struct aa_diag d;
    int rc;

    p.challenge =
        "httpsig; auth-token; resource_token=\"x.y.z\"; auth_server=\"http://as.example\"";
    peer_start(&p);
    c = agent_of(&p, true);
    rc = fetch(c, at(&p, "/data"), &res, &d);
    cr_assert_eq(rc, AA_E_CLIENT_INSECURE, "%s", aa_client_errstr(rc));
    cr_assert_eq(res.rounds, 1);
    cr_assert_eq(aa_client_step_count(c), 1, "nothing was sent towards the auth server");
    cr_assert_eq(atomic_load(&p.hits_data), 1);
    aa_client_free(c);

    /* without dev mode even a loopback http auth server is refused */
    p.challenge = "httpsig; auth-token; resource_token=\"x.y.z\"; auth_server=\"%s\"";
    c = agent_of(&p, false);
    rc = fetch(c, at(&p, "/data"), &res, &d);
    cr_assert_eq(rc, AA_E_CLIENT_INSECURE, "%s", aa_client_errstr(rc));
    cr_assert_eq(atomic_load(&p.hits_md), 0);
    aa_client_free(c);
    peer_stop(&p);
}

/* CL-02: a malformed Agent-Auth is an error and is not retried. */
Test(client, cl02_malformed_challenge_no_retry)
{
    static const struct {
        const char *v, *v2;
        int rc;
    } cases[] = {
        {"httpsig; identity=?2", NULL, AA_E_CHALLENGE_SYNTAX},
        {"httpsig; identity=maybe", NULL, AA_E_CHALLENGE_PARAM},
        {"httpsig; identity=\"yes\"", NULL, AA_E_CHALLENGE_PARAM},
        {"\"httpsig\"", NULL, AA_E_CHALLENGE_NONE},
        {"httpsig;;", NULL, AA_E_CHALLENGE_SYNTAX},
        {"httpsig; auth-token; auth_server=\"%s\"", NULL, AA_E_CLIENT_CHALLENGE},
        {"bearer", "httpsig; identity=(", AA_E_CHALLENGE_SYNTAX}, /* two field lines */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct peer p = {0};
        struct aa_client *c;
        struct aa_client_result res;
        struct aa_diag d;
        int rc;

        p.challenge = cases[i].v;
        p.challenge2 = cases[i].v2;
        peer_start(&p);
        c = agent_of(&p, true);
        rc = fetch(c, at(&p, "/data"), &res, &d);
        cr_assert_eq(rc, cases[i].rc, "%s: %s", cases[i].v, aa_client_errstr(rc));
        cr_assert_eq(atomic_load(&p.hits_data), 1, "%s: retried", cases[i].v);
        cr_assert_eq(res.status, 401);
        cr_assert_not_null(res.failed);
        cr_assert_eq(res.failed->rc, cases[i].rc);
        aa_client_free(c);
        peer_stop(&p);
    }
}

/* The loop stops when the peer refuses the same level again. */
Test(client, challenge_loop_is_bounded)
{
    struct peer p = {0};
    struct aa_client *c;
    struct aa_client_result res;
    struct aa_client_request r;
    struct aa_client_fetch_opts fo = {.first = AA_CRED_NONE};
    struct aa_diag d;

    p.challenge = "httpsig; identity=?1";
    peer_start(&p);
    c = agent_of(&p, true);
    memset(&r, 0, sizeof(r));
    r.url = at(&p, "/data");
    /* unsigned -> identity -> refused again: the peer's answer stands */
    cr_assert_eq(aa_client_fetch(c, &r, &fo, &res, &d), AA_OK);
    cr_assert_eq(res.rounds, 2);
    cr_assert_eq(res.status, 401);
    cr_assert_eq(res.cred, AA_CRED_JWKS);
    /* max_rounds = 1: the second attempt would exceed it */
    fo.max_rounds = 1;
    cr_assert_eq(aa_client_fetch(c, &r, &fo, &res, &d), AA_E_CLIENT_LOOP);
    cr_assert_eq(res.rounds, 1);
    /* --no-follow */
    fo.max_rounds = 0;
    fo.no_follow = true;
    cr_assert_eq(aa_client_fetch(c, &r, &fo, &res, &d), AA_OK);
    cr_assert_eq(res.rounds, 1);
    cr_assert_eq(atomic_load(&p.hits_data), 4);
    aa_client_free(c);
    peer_stop(&p);
}

/* CL-03: the delegate validates the agent token it is given. */
Test(client, cl03_agent_token_checks)
{
    static const struct {
        enum agent_defect defect;
        int rc;
        const char *needle;
    } cases[] = {
        {AG_OK, AA_OK, NULL},
        {AG_ISS, AA_E_CLIENT_TOKEN, "iss"},
        {AG_SUB, AA_E_CLIENT_TOKEN, "sub"},
        {AG_TYP, AA_E_CLIENT_TOKEN, "typ"},
        {AG_CNF, AA_E_CLIENT_TOKEN, "cnf.jwk thumbprint"},
        {AG_EXPIRED, AA_E_CLIENT_TOKEN, "exp"},
        {AG_FOREIGN_SIG, AA_E_CLIENT_TOKEN, "does not verify"},
        {AG_NO_TOKEN, AA_E_CLIENT_RESPONSE, "agent_token"},
        {AG_STATUS, AA_E_CLIENT_STATUS, "400"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct peer p = {0};
        struct aa_client *c;
        struct aa_diag d;
        int rc;

        p.agent = cases[i].defect;
        peer_start(&p);
        c = delegate_of(&p);
        aa_diag_clear(&d);
        rc = aa_client_agent_token_obtain(c, &d);
        cr_assert_eq(rc, cases[i].rc, "case %zu: %s: %s", i, aa_client_errstr(rc), d.msg);
        if (rc == AA_OK) {
            cr_assert_not_null(aa_client_agent_token(c));
            assert_str(aa_client_agent_token_claims(c)->sub, "delegate-1");
            assert_str(aa_client_agent_id(c), p.origin);
        } else {
            cr_assert_null(aa_client_agent_token(c), "case %zu: kept a refused token", i);
            cr_assert_not_null(strstr(nn(d.msg), cases[i].needle), "case %zu: %s", i, d.msg);
        }
        aa_client_free(c);
        peer_stop(&p);
    }
}

/* CL-04: an auth token bound to another key (or for another audience, or
 * of the wrong type) is refused and not kept. */
Test(client, cl04_auth_token_checks)
{
    static const struct {
        enum at_defect defect;
        int rc;
        const char *needle;
    } cases[] = {
        {AT_OK, AA_OK, NULL},
        {AT_CNF, AA_E_CLIENT_TOKEN, "cnf.jwk thumbprint"},
        {AT_AUD, AA_E_CLIENT_TOKEN, "aud"},
        {AT_TYP, AA_E_CLIENT_TOKEN, "typ"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct peer p = {0};
        struct aa_client *c;
        struct aa_client_auth_params ap;
        const struct aa_client_grant *g = NULL;
        char rt[1024];
        struct aa_diag d;
        int rc;

        p.at = cases[i].defect;
        peer_start(&p);
        c = agent_of(&p, true);
        /* an unsigned RT whose iss is the peer (the client only reads iss) */
        {
            cJSON *cl = cJSON_CreateObject();
            char *tok;
            cJSON_AddStringToObject(cl, "iss", p.origin);
            tok = sign(&p, "resource+jwt", cl, false);
            aa_snprintf(rt, sizeof(rt), "%s", tok);
            free(tok);
        }
        memset(&ap, 0, sizeof(ap));
        ap.resource_token = rt;
        aa_diag_clear(&d);
        rc = aa_client_authorize(c, p.origin, &ap, &g, &d);
        cr_assert_eq(rc, cases[i].rc, "case %zu: %s: %s", i, aa_client_errstr(rc), d.msg);
        if (rc == AA_OK) {
            cr_assert_not_null(g);
            assert_str(g->resource, p.origin);
            assert_str(g->refresh_token, "rf-1");
            assert_str(g->cnf_jkt, aa_client_thumbprint(c));
            cr_assert_eq(aa_client_grant_for_url(c, at(&p, "/data")), g);
        } else {
            cr_assert_null(g);
            cr_assert_eq(aa_client_grant_count(c), 0);
            cr_assert_not_null(strstr(nn(d.msg), cases[i].needle), "case %zu: %s", i, d.msg);
            cr_assert_eq(last_token_rc(c), rc);
        }
        aa_client_free(c);
        peer_stop(&p);
    }
}

/* CL-05: bounded reads. */
Test(client, cl05_bounded_reads)
{
    struct peer p = {0};
    struct aa_client_opts o;
    struct aa_client *c;
    struct aa_client_request r;
    struct aa_client_send_opts so = {.cred = AA_CRED_NONE};
    const struct aa_client_step *st = NULL;
    const struct aa_client_as_meta *m;
    struct aa_diag d;

    p.endless = true;
    p.big_metadata = true;
    peer_start(&p);
    memset(&o, 0, sizeof(o));
    o.max_body = 4096;
    o.dev_mode = true;
    o.identity = AA_CLIENT_AGENT;
    o.agent_id = "https://agent.example";
    o.agent_kid = "k";
    c = mk(&o);
    memset(&r, 0, sizeof(r));
    r.url = at(&p, "/data");
    cr_assert_eq(aa_client_send(c, &r, &so, &st, &d), AA_E_HTTP_TOO_LARGE);
    cr_assert_eq(st->rc, AA_E_HTTP_TOO_LARGE);
    /* metadata is capped at 64 KiB whatever max_body says (PROFILE#3) */
    cr_assert_eq(aa_client_as_metadata(c, p.origin, &m, &d), AA_E_HTTP_TOO_LARGE);
    aa_client_free(c);
    peer_stop(&p);
}

/* CL-06: a redirect on a metadata fetch is not followed. */
Test(client, cl06_metadata_redirect_not_followed)
{
    struct peer p = {0};
    struct aa_client *c;
    const struct aa_client_as_meta *m;
    struct aa_diag d;

    p.redirect_metadata = true;
    peer_start(&p);
    c = agent_of(&p, true);
    aa_diag_clear(&d);
    cr_assert_eq(aa_client_as_metadata(c, p.origin, &m, &d), AA_E_DISC_REDIRECT);
    cr_assert_eq(atomic_load(&p.hits_md), 1);
    cr_assert_eq(atomic_load(&p.hits_target), 0);
    cr_assert_eq(aa_client_step_last(c)->resp.status, 302);
    cr_assert_eq(aa_client_step_last(c)->rc, AA_E_DISC_REDIRECT);
    /* and a plain fetch of the same works once the peer stops redirecting */
    p.redirect_metadata = false;
    cr_assert_eq(aa_client_as_metadata(c, p.origin, &m, &d), AA_OK, "%s", d.msg);
    assert_str(m->issuer, p.origin);
    aa_client_free(c);
    peer_stop(&p);
}

/* ======================================================================== */
/* manual consent                                                           */
/* ======================================================================== */

struct canned {
    const char *reply; /* "%s" is replaced by the state found in the URL */
    char url[2048];
};

static int canned_prompt(void *ctx, const char *url, char *line, size_t cap)
{
    struct canned *k = ctx;
    const char *s = strstr(url, "state=");
    char state[64] = "";

    aa_snprintf(k->url, sizeof(k->url), "%s", url);
    if (k->reply == NULL)
        return AA_E_CLIENT_INPUT;
    if (s != NULL)
        aa_snprintf(state, sizeof(state), "%.*s", (int)strcspn(s + 6, "&"), s + 6);
    subst(line, cap, k->reply, state);
    return AA_OK;
}

Test(client, manual_consent)
{
    static const struct {
        const char *reply;
        int rc;
    } cases[] = {
        {"http://127.0.0.1:9/callback?code=c-1&state=%s", AA_OK},
        {"code=c-1&state=wrong", AA_E_CLIENT_STATE},
        {"error=access_denied&state=%s", AA_E_CLIENT_DENIED},
        {"c-1", AA_OK},
        {NULL, AA_E_CLIENT_INPUT},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct peer p = {0};
        struct canned k = {.reply = cases[i].reply};
        struct aa_client_opts o;
        struct aa_client *c;
        struct aa_client_consent_result cr;
        struct aa_diag d;
        char want[512];
        int rc;

        peer_start(&p);
        memset(&o, 0, sizeof(o));
        o.identity = AA_CLIENT_AGENT;
        o.agent_id = "https://agent.example";
        o.agent_kid = "k";
        o.dev_mode = true;
        o.consent = AA_CLIENT_CONSENT_MANUAL;
        o.prompt = canned_prompt;
        o.prompt_ctx = &k;
        c = mk(&o);
        aa_diag_clear(&d);
        rc = aa_client_consent(c, p.origin, "rq 1", NULL, NULL, &cr, &d);
        cr_assert_eq(rc, cases[i].rc, "case %zu: %s: %s", i, aa_client_errstr(rc), d.msg);
        aa_snprintf(
            want, sizeof(want),
            "%s/agent/auth?request_token=rq+1&redirect_uri=https%%3A%%2F%%2Fagent.example%%2F"
            "callback&state=",
            p.origin);
        cr_assert_eq(strncmp(nn(k.url), want, strlen(want)), 0, "%s", k.url);
        assert_str(cr.url, k.url);
        if (rc == AA_OK)
            assert_str(cr.code, "c-1");
        if (rc == AA_E_CLIENT_DENIED)
            assert_str(cr.error, "access_denied");
        aa_client_consent_result_cleanup(&cr);
        aa_client_free(c);
        peer_stop(&p);
    }
}

/* The AS asks for consent; the pasted code is unknown to it: 400 invalid_grant. */
Test(client, authorize_with_manual_consent_bad_code)
{
    struct peer p = {0};
    struct canned k = {.reply = "code=nope&state=%s"};
    struct aa_client_opts o;
    struct aa_client *c;
    struct aa_client_auth_params ap = {.scope = "openid"};
    const struct aa_client_step *st;
    struct aa_diag d;
    int rc;

    p.at = AT_CONSENT;
    peer_start(&p);
    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_AGENT;
    o.agent_id = "https://agent.example";
    o.agent_kid = "k";
    o.dev_mode = true;
    o.consent = AA_CLIENT_CONSENT_MANUAL;
    o.prompt = canned_prompt;
    o.prompt_ctx = &k;
    c = mk(&o);
    aa_diag_clear(&d);
    rc = aa_client_authorize(c, p.origin, &ap, NULL, &d);
    cr_assert_eq(rc, AA_E_CLIENT_STATUS, "%s: %s", aa_client_errstr(rc), d.msg);
    cr_assert_eq(atomic_load(&p.hits_token), 2);
    st = aa_client_step_last(c);
    cr_assert_eq(st->kind, AA_CSTEP_TOKEN);
    cr_assert_eq(st->resp.status, 400);
    assert_str(st->error, "invalid_grant");
    assert_str(st->req_body,
               "request_type=code&code=nope&redirect_uri=https%3A%2F%2Fagent.example%2Fcallback");
    cr_assert_eq(aa_client_grant_count(c), 0);
    aa_client_free(c);
    peer_stop(&p);
}

/* An expired agent token is replaced before it signs (and the replacement
 * is validated like the first one: this peer's is expired too). */
Test(client, expired_agent_token_is_renewed)
{
    struct peer p = {0};
    struct aa_client *c;
    struct aa_client_request r;
    struct aa_client_send_opts so = {.cred = AA_CRED_AGENT_TOKEN};
    const struct aa_client_step *st = NULL;
    struct aa_diag d;
    size_t n = 0;
    int rc;

    peer_start(&p);
    c = delegate_of(&p);
    memset(&r, 0, sizeof(r));
    r.url = at(&p, "/data");
    cr_assert_eq(aa_client_send(c, &r, &so, &st, &d), AA_OK, "%s", d.msg);
    cr_assert_eq(st->resp.status, 200);
    now_value = NOW + 3601; /* the peer's tokens expire at NOW + 3600 */
    aa_diag_clear(&d);
    rc = aa_client_send(c, &r, &so, &st, &d);
    cr_assert_eq(rc, AA_E_CLIENT_TOKEN, "%s", aa_client_errstr(rc));
    cr_assert_not_null(strstr(nn(d.msg), "exp"), "%s", d.msg);
    for (size_t i = 0; i < aa_client_step_count(c); i++)
        n += aa_client_step_at(c, i)->kind == AA_CSTEP_AGENT_TOKEN;
    cr_assert_eq(n, 2);
    cr_assert_eq(atomic_load(&p.hits_data), 1, "nothing signed with the expired token");
    aa_client_free(c);
    peer_stop(&p);
}
