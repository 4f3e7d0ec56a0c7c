/*
 * record: the servers the delegate client suite talks to (README "The
 * delegate client"). Three kinds share one recorder:
 *
 *   FRONT    listens on the public port (8001/8002/8003 for
 *            --target-delegate), records every request and forwards it to
 *            the reference server behind it, whose identifier is the
 *            front's origin. Mode "token-type" adds "token_type":"Bearer"
 *            to /agent/token answers (PROFILE#6 D-26: clients ignore it).
 *   HOSTILE  one origin that can play agent server, resource and auth
 *            server badly on purpose, by mode (PROFILE#9 CL-01..CL-06).
 *   SINK     answers 404 to everything; it is where redirects and
 *            insecure auth_server URLs point, so any request it receives
 *            is a client that followed one.
 *
 * Cases read the recording through the control channel (control.c):
 * method, target, header lines, body and the response, in order, with the
 * real time of receipt.
 *
 * Design choice: a front forwards over HTTP instead of hooking into the
 * reference server, so it records exactly the bytes the client sent (as
 * libmicrohttpd hands them over) and can rewrite answers without any
 * reference code knowing about the conformance runner.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "b64/aa_b64.h"
#include "http/aa_http.h"
#include "jose/aa_jose.h"
#include "jwk/aa_jwk.h"
#include "json/aa_json.h"
#include "runner_int.h"
#include "server/aa_server.h"

#define REC_BODY_MAX ((size_t)1024 * 1024)    /* recorded body bytes (RB-02) */
#define REC_ENDLESS_CAP ((uint64_t)256 << 20) /* CL-05: a stream stops here */
#define REC_CHUNK 16384
#define FORWARD_TIMEOUT_MS 15000L

struct rec_stream {
    atomic_uint_fast64_t sent;
    atomic_int refs;
};

struct rec_hdr {
    char *name;
    char *value;
};

struct rec_entry {
    uint64_t seq;
    int64_t at;
    char *method, *target;
    struct rec_hdr *h;
    size_t nh;
    char *body;
    size_t body_len;
    long status;
    struct rec_hdr *rh;
    size_t nrh;
    char *rbody;
    size_t rbody_len;
    struct rec_stream *stream;
};

struct aa_rec {
    char *name;
    enum aa_rec_kind kind;
    struct aa_server *srv;
    char origin[128];
    pthread_mutex_t mu;
    struct rec_entry *ring[AA_CONF_REC_MAX];
    uint64_t next_seq; /* sequence numbers start at 1 */
    char *upstream;
    char *peer;
    char mode[64];
    struct aa_jwk key;
    char *jwks_json;
};

/* ---- entries ------------------------------------------------------------------ */

static void stream_unref(struct rec_stream *st)
{
    if (st != NULL && atomic_fetch_sub(&st->refs, 1) == 1)
        free(st);
}

static void hdrs_free(struct rec_hdr *h, size_t n)
{
    for (size_t i = 0; h != NULL && i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

static void entry_free(struct rec_entry *e)
{
    if (e == NULL)
        return;
    free(e->method);
    free(e->target);
    hdrs_free(e->h, e->nh);
    free(e->body);
    hdrs_free(e->rh, e->nrh);
    free(e->rbody);
    stream_unref(e->stream);
    free(e);
}

static char *dupn(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static struct rec_entry *entry_from_request(const struct aa_server_request *req)
{
    struct rec_entry *e = calloc(1, sizeof(*e));
    size_t blen = req->body_len > REC_BODY_MAX ? REC_BODY_MAX : req->body_len;

    if (e == NULL)
        return NULL;
    e->at = (int64_t)time(NULL);
    e->method = aa_strdup(req->method);
    e->target = dupn(req->target, req->target_len);
    e->body = dupn(req->body, blen);
    e->body_len = blen;
    e->h = calloc(req->n_headers + 1, sizeof(*e->h));
    if (e->method == NULL || e->target == NULL || e->body == NULL || e->h == NULL) {
        entry_free(e);
        return NULL;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        e->h[i].name = aa_strdup(req->headers[i].name);
        e->h[i].value = dupn(req->headers[i].value, req->headers[i].value_len);
        e->nh++;
        if (e->h[i].name == NULL || e->h[i].value == NULL) {
            entry_free(e);
            return NULL;
        }
    }
    return e;
}

static void entry_set_response(struct rec_entry *e, const struct aa_server_response *r)
{
    size_t blen = r->body.len > REC_BODY_MAX ? REC_BODY_MAX : r->body.len;

    e->status = r->status;
    e->rh = calloc(r->n_headers + 1, sizeof(*e->rh));
    for (size_t i = 0; e->rh != NULL && i < r->n_headers; i++) {
        e->rh[i].name = aa_strdup(r->headers[i].name);
        e->rh[i].value = aa_strdup(r->headers[i].value);
        e->nrh++;
    }
    if (r->stream == NULL && r->body.p != NULL) {
        e->rbody = dupn(r->body.p, blen);
        e->rbody_len = e->rbody ? blen : 0;
    }
}

static void rec_store(struct aa_rec *r, struct rec_entry *e)
{
    size_t slot;

    pthread_mutex_lock(&r->mu);
    e->seq = ++r->next_seq;
    slot = (size_t)(e->seq % AA_CONF_REC_MAX);
    entry_free(r->ring[slot]);
    r->ring[slot] = e;
    pthread_mutex_unlock(&r->mu);
}

static cJSON *hdrs_json(const struct rec_hdr *h, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a != NULL && i < n; i++) {
        cJSON *pair = cJSON_CreateArray();
        if (pair == NULL)
            break;
        cJSON_AddItemToArray(pair, cJSON_CreateString(h[i].name ? h[i].name : ""));
        cJSON_AddItemToArray(pair, cJSON_CreateString(h[i].value ? h[i].value : ""));
        cJSON_AddItemToArray(a, pair);
    }
    return a;
}

static cJSON *b64_json(const char *p, size_t n)
{
    struct aa_buf b;
    cJSON *s;

    if (n == 0) /* aa_b64_encode_buf writes through a NULL buffer for 0 bytes */
        return cJSON_CreateString("");
    aa_buf_init(&b, 2 * REC_BODY_MAX);
    aa_b64_encode_buf((const uint8_t *)p, n, AA_B64_STD, true, &b);
    s = cJSON_CreateString(b.p != NULL ? b.p : "");
    aa_buf_free(&b);
    return s;
}

cJSON *aa_rec_json(struct aa_rec *r, uint64_t since)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    uint64_t first;

    if (o == NULL)
        return NULL;
    arr = cJSON_AddArrayToObject(o, "entries");
    pthread_mutex_lock(&r->mu);
    first = r->next_seq >= AA_CONF_REC_MAX ? r->next_seq - AA_CONF_REC_MAX + 1 : 1;
    if (since > first)
        first = since;
    for (uint64_t s = first; arr != NULL && s <= r->next_seq; s++) {
        const struct rec_entry *e = r->ring[s % AA_CONF_REC_MAX];
        cJSON *j;
        if (e == NULL || e->seq != s || (j = cJSON_CreateObject()) == NULL)
            continue;
        cJSON_AddNumberToObject(j, "seq", (double)e->seq);
        cJSON_AddNumberToObject(j, "at", (double)e->at);
        cJSON_AddStringToObject(j, "method", e->method);
        cJSON_AddStringToObject(j, "target", e->target);
        cJSON_AddItemToObject(j, "headers", hdrs_json(e->h, e->nh));
        cJSON_AddItemToObject(j, "body", b64_json(e->body, e->body_len));
        cJSON_AddNumberToObject(j, "status", (double)e->status);
        cJSON_AddItemToObject(j, "resp_headers", hdrs_json(e->rh, e->nrh));
        cJSON_AddItemToObject(j, "resp_body", b64_json(e->rbody ? e->rbody : "", e->rbody_len));
        cJSON_AddNumberToObject(j, "streamed",
                                e->stream ? (double)atomic_load(&e->stream->sent) : 0.0);
        cJSON_AddItemToArray(arr, j);
    }
    cJSON_AddNumberToObject(o, "next", (double)(r->next_seq + 1));
    pthread_mutex_unlock(&r->mu);
    return o;
}

/* ---- forwarding (FRONT) ---------------------------------------------------------- */

static bool hop_by_hop(const char *name)
{
    static const char *const skip[] = {
        "host", "content-length", "transfer-encoding", "connection", "expect", "keep-alive",
        "te",   "upgrade",        "proxy-connection",  "date"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcasecmp(name, skip[i]) == 0)
            return true;
    return false;
}

/* D-26 rehearsal: the answer carries a token_type the client must ignore. */
static void add_token_type(struct aa_http_response *hr)
{
    cJSON *o = NULL;
    char *text;

    if (hr->status != 200 || aa_json_parse(hr->body, hr->body_len, NULL, &o, NULL) != AA_OK)
        return;
    if (cJSON_IsObject(o) && cJSON_GetObjectItemCaseSensitive(o, "auth_token") != NULL &&
        cJSON_GetObjectItemCaseSensitive(o, "token_type") == NULL &&
        cJSON_AddStringToObject(o, "token_type", "Bearer") != NULL &&
        (text = cJSON_PrintUnformatted(o)) != NULL) {
        free(hr->body);
        hr->body = text;
        hr->body_len = strlen(text);
    }
    cJSON_Delete(o);
}

static void forward(struct aa_rec *r, const struct aa_server_request *req,
                    struct aa_server_response *resp)
{
    struct aa_http_client_opts co = {0};
    struct aa_http_client *hc;
    struct aa_http_request hq = {0};
    struct aa_http_response hr;
    struct aa_http_headers h;
    struct aa_buf url;
    struct aa_diag d;
    char *up, mode[64];
    int rc;

    pthread_mutex_lock(&r->mu);
    up = r->upstream ? aa_strdup(r->upstream) : NULL;
    memcpy(mode, r->mode, sizeof(mode));
    pthread_mutex_unlock(&r->mu);
    if (up == NULL) {
        aa_server_response_error(resp, 503, "temporarily_unavailable", "%s is starting", r->name);
        return;
    }
    aa_http_headers_init(&h);
    aa_http_response_init(&hr);
    aa_buf_init(&url, AA_URL_MAX_LEN + 256);
    aa_diag_clear(&d);
    aa_buf_adds(&url, up);
    aa_buf_add(&url, req->target, req->target_len);
    for (size_t i = 0; i < req->n_headers; i++)
        if (!hop_by_hop(req->headers[i].name))
            aa_http_headers_addn(&h, req->headers[i].name, req->headers[i].value,
                                 req->headers[i].value_len);
    co.timeout_ms = FORWARD_TIMEOUT_MS;
    co.max_body = REC_BODY_MAX;
    co.loopback_only = true;
    hq.method = req->method;
    hq.url = url.p;
    hq.target = NULL;
    hq.headers = &h;
    hq.body = req->body_len > 0 ? req->body : NULL;
    hq.body_len = req->body_len;
    hq.flags = AA_HTTP_REQ_RAW;
    if (url.err || (hc = aa_http_client_new(&co)) == NULL) {
        aa_server_response_error(resp, 502, "server_error", "%s: cannot forward", r->name);
        goto out;
    }
    rc = aa_http_send(hc, &hq, &hr, &d);
    aa_http_client_free(hc);
    if (rc != AA_OK) {
        aa_server_response_error(resp, 502, "server_error", "%s: upstream: %s", r->name, d.msg);
        goto out;
    }
    if (strcmp(mode, "token-type") == 0 && aa_server_request_path_is(req, "/agent/token"))
        add_token_type(&hr);
    resp->status = (int)hr.status;
    for (size_t i = 0; i < hr.headers.n; i++)
        if (!hop_by_hop(hr.headers.v[i].name))
            (void)aa_server_response_header(resp, hr.headers.v[i].name, hr.headers.v[i].value);
    if (hr.body_len > 0)
        (void)aa_server_response_body(resp, hr.body, hr.body_len);
out:
    free(up);
    aa_buf_free(&url);
    aa_http_headers_cleanup(&h);
    aa_http_response_cleanup(&hr);
}

/* ---- the hostile server (PROFILE#9 CL) ------------------------------------------- */

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static char *url_of(const struct aa_rec *r, const char *path)
{
    struct aa_buf b;
    aa_buf_init(&b, 1024);
    aa_buf_printf(&b, "%s%s", r->origin, path);
    return b.err ? NULL : aa_buf_detach(&b, NULL);
}

static void send_obj(struct aa_server_response *resp, int status, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;

    if (text == NULL)
        aa_server_response_error(resp, 500, "server_error", "out of memory");
    else
        aa_server_response_json(resp, status, text);
    free(text);
    cJSON_Delete(o);
}

static void add_url(cJSON *o, const char *name, const struct aa_rec *r, const char *path)
{
    char *u = url_of(r, path);
    if (u != NULL)
        cJSON_AddStringToObject(o, name, u);
    free(u);
}

static char *sign_token(struct aa_rec *r, const char *typ, cJSON *claims)
{
    cJSON *h = cJSON_CreateObject();
    char *out = NULL;

    if (h != NULL && cJSON_AddStringToObject(h, "typ", typ) != NULL &&
        cJSON_AddStringToObject(h, "kid", r->key.kid) != NULL &&
        aa_jwt_sign(h, claims, AA_ALG_ED25519, &r->key, NULL, &out) != AA_OK)
        out = NULL;
    cJSON_Delete(h);
    cJSON_Delete(claims);
    return out;
}

/* What the request's Signature-Key jwt says: agent (iss) and delegate (sub)
 * and the thumbprint of its cnf key, when there is such a token. */
static void presented_token(const struct aa_server_request *req, char *agent, size_t acap,
                            char *sub, size_t scap, char *jkt)
{
    const char *sk = aa_server_request_header(req, "Signature-Key");
    const char *p = sk ? strstr(sk, "jwt=\"") : NULL;
    struct aa_jwt t;
    struct aa_jwk k = {0};

    agent[0] = sub[0] = jkt[0] = '\0';
    if (p == NULL)
        return;
    p += 5;
    if (aa_jwt_parse(p, strcspn(p, "\""), &t, NULL) != AA_OK)
        return;
    if (aa_jwt_claim_str(&t, "iss") != NULL)
        aa_snprintf(agent, acap, "%s", aa_jwt_claim_str(&t, "iss"));
    if (aa_jwt_claim_str(&t, "sub") != NULL)
        aa_snprintf(sub, scap, "%s", aa_jwt_claim_str(&t, "sub"));
    if (aa_jwt_cnf_jwk(&t, &k, NULL) == AA_OK)
        (void)aa_jwk_thumbprint(&k, jkt);
    aa_jwk_cleanup(&k);
    aa_jwt_cleanup(&t);
}

static char *resource_token(struct aa_rec *r, const struct aa_server_request *req)
{
    char agent[512], sub[512], jkt[AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *c = cJSON_CreateObject();

    presented_token(req, agent, sizeof(agent), sub, sizeof(sub), jkt);
    if (c == NULL)
        return NULL;
    cJSON_AddStringToObject(c, "iss", r->origin);
    cJSON_AddStringToObject(c, "aud", r->origin);
    cJSON_AddStringToObject(c, "agent", agent[0] ? agent : r->origin);
    cJSON_AddStringToObject(c, "agent_jkt", jkt[0] ? jkt : "unknown");
    cJSON_AddNumberToObject(c, "iat", (double)now_s());
    cJSON_AddNumberToObject(c, "exp", (double)(now_s() + 300));
    cJSON_AddStringToObject(c, "scope", "data.read data.write");
    return sign_token(r, "resource+jwt", c);
}

static void challenge(struct aa_rec *r, const struct aa_server_request *req,
                      struct aa_server_response *resp, const char *auth_server)
{
    char *rt = resource_token(r, req);
    struct aa_buf b;

    aa_buf_init(&b, 16384);
    aa_buf_printf(&b, "httpsig; auth-token; resource_token=\"%s\"; auth_server=\"%s\"",
                  rt ? rt : "x", auth_server);
    aa_server_response_error(resp, 401, "invalid_token", "an auth token is required");
    if (!b.err)
        (void)aa_server_response_header(resp, "Agent-Auth", b.p);
    aa_buf_free(&b);
    free(rt);
}

static long endless(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct rec_stream *st = ctx;
    size_t n = max > REC_CHUNK ? REC_CHUNK : max;

    (void)pos;
    if (atomic_load(&st->sent) >= REC_ENDLESS_CAP)
        return -1; /* the client never stopped reading: end it here */
    memset(buf, 'a', n);
    atomic_fetch_add(&st->sent, n);
    return (long)n;
}

static void endless_free(void *ctx)
{
    stream_unref(ctx);
}

static void h_delegate_token(struct aa_rec *r, const char *mode,
                             const struct aa_server_request *req, struct aa_server_response *resp)
{
    cJSON *body = NULL, *c, *cnf, *out;
    const cJSON *jwk;
    const char *sub;
    struct aa_jwk other = {0};
    char *tok;

    if (aa_json_parse(req->body, req->body_len, NULL, &body, NULL) != AA_OK ||
        (sub = aa_json_str(body, "sub")) == NULL ||
        !cJSON_IsObject(jwk = cJSON_GetObjectItemCaseSensitive(body, "cnf_jwk"))) {
        cJSON_Delete(body);
        aa_server_response_error(resp, 400, "invalid_request", "sub and cnf_jwk are required");
        return;
    }
    c = cJSON_CreateObject();
    cnf = cJSON_CreateObject();
    if (c == NULL || cnf == NULL) {
        cJSON_Delete(c);
        cJSON_Delete(cnf);
        cJSON_Delete(body);
        aa_server_response_error(resp, 500, "server_error", "out of memory");
        return;
    }
    /* CL-03: exactly one thing wrong with the token per mode */
    cJSON_AddStringToObject(c, "iss",
                            strcmp(mode, "cl03-iss") == 0 && r->peer ? r->peer : r->origin);
    cJSON_AddStringToObject(c, "sub", strcmp(mode, "cl03-sub") == 0 ? "intruder" : sub);
    cJSON_AddNumberToObject(c, "iat", (double)now_s());
    cJSON_AddNumberToObject(c, "exp", (double)(now_s() + 3600));
    if (strcmp(mode, "cl03-cnf") == 0 && aa_jwk_generate(AA_KTY_OKP, "other-key", &other) == AA_OK)
        cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&other, false));
    else
        cJSON_AddItemToObject(cnf, "jwk", cJSON_Duplicate(jwk, true));
    cJSON_AddItemToObject(c, "cnf", cnf);
    aa_jwk_cleanup(&other);
    tok = sign_token(r, strcmp(mode, "cl03-typ") == 0 ? "JWT" : "agent+jwt", c);
    cJSON_Delete(body);
    out = cJSON_CreateObject();
    if (tok != NULL && out != NULL) {
        cJSON_AddStringToObject(out, "agent_token", tok);
        cJSON_AddNumberToObject(out, "expires_in", 3600);
    }
    free(tok);
    send_obj(resp, 200, out);
}

static void h_agent_token(struct aa_rec *r, const struct aa_server_request *req,
                          struct aa_server_response *resp)
{
    char agent[512], sub[512], jkt[AA_JWK_THUMBPRINT_LEN + 1];
    struct aa_jwk other = {0};
    cJSON *c = cJSON_CreateObject(), *cnf = cJSON_CreateObject(), *out;
    char *tok = NULL;

    presented_token(req, agent, sizeof(agent), sub, sizeof(sub), jkt);
    if (c != NULL && cnf != NULL && aa_jwk_generate(AA_KTY_OKP, "not-yours", &other) == AA_OK) {
        /* CL-04: a well-formed auth token bound to a key the client lacks */
        cJSON_AddStringToObject(c, "iss", r->origin);
        cJSON_AddStringToObject(c, "aud", r->origin);
        cJSON_AddStringToObject(c, "agent", agent[0] ? agent : r->origin);
        if (sub[0])
            cJSON_AddStringToObject(c, "agent_delegate", sub);
        cJSON_AddStringToObject(c, "scope", "data.read data.write");
        cJSON_AddNumberToObject(c, "iat", (double)now_s());
        cJSON_AddNumberToObject(c, "exp", (double)(now_s() + 3600));
        cJSON_AddItemToObject(cnf, "jwk", aa_jwk_to_cjson(&other, false));
        cJSON_AddItemToObject(c, "cnf", cnf);
        cnf = NULL;
        tok = sign_token(r, "auth+jwt", c);
        c = NULL;
    }
    cJSON_Delete(c);
    cJSON_Delete(cnf);
    aa_jwk_cleanup(&other);
    out = cJSON_CreateObject();
    if (tok != NULL && out != NULL) {
        cJSON_AddStringToObject(out, "auth_token", tok);
        cJSON_AddNumberToObject(out, "expires_in", 3600);
    }
    free(tok);
    send_obj(resp, 200, out);
}

static bool presents_auth_token(const struct aa_server_request *req)
{
    const char *sk = aa_server_request_header(req, "Signature-Key");
    const char *p = sk ? strstr(sk, "jwt=\"") : NULL;
    struct aa_jwt t;
    bool yes = false;

    if (p == NULL)
        return false;
    p += 5;
    if (aa_jwt_parse(p, strcspn(p, "\""), &t, NULL) == AA_OK) {
        yes = t.typ != NULL && strcasecmp(t.typ, "auth+jwt") == 0;
        aa_jwt_cleanup(&t);
    }
    return yes;
}

static void hostile(struct aa_rec *r, const struct aa_server_request *req,
                    struct aa_server_response *resp, struct rec_entry *e)
{
    char mode[64];

    pthread_mutex_lock(&r->mu);
    memcpy(mode, r->mode, sizeof(mode));
    pthread_mutex_unlock(&r->mu);

    if (aa_server_request_path_is(req, "/jwks.json")) {
        aa_server_response_json(resp, 200, r->jwks_json ? r->jwks_json : "{\"keys\":[]}");
    } else if (aa_server_request_path_is(req, "/.well-known/aauth-agent")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "agent", r->origin);
        add_url(o, "jwks_uri", r, "/jwks.json");
        send_obj(resp, 200, o);
    } else if (aa_server_request_path_is(req, "/.well-known/aauth-resource")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "resource", r->origin);
        add_url(o, "jwks_uri", r, "/jwks.json");
        add_url(o, "resource_token_endpoint", r, "/resource/token");
        send_obj(resp, 200, o);
    } else if (aa_server_request_path_is(req, "/.well-known/aauth-issuer")) {
        if (strcmp(mode, "cl06-redirect") == 0 && r->peer != NULL) {
            struct aa_buf loc;
            aa_buf_init(&loc, 1024);
            aa_buf_printf(&loc, "%s/.well-known/aauth-issuer", r->peer);
            aa_server_response_json(resp, 302, "{}");
            if (!loc.err)
                (void)aa_server_response_header(resp, "Location", loc.p);
            aa_buf_free(&loc);
        } else {
            cJSON *o = cJSON_CreateObject(), *a;
            cJSON_AddStringToObject(o, "issuer", r->origin);
            add_url(o, "jwks_uri", r, "/jwks.json");
            add_url(o, "agent_token_endpoint", r, "/agent/token");
            add_url(o, "agent_auth_endpoint", r, "/agent/auth");
            a = cJSON_AddArrayToObject(o, "agent_signing_algs_supported");
            cJSON_AddItemToArray(a, cJSON_CreateString("ed25519"));
            a = cJSON_AddArrayToObject(o, "request_types_supported");
            cJSON_AddItemToArray(a, cJSON_CreateString("auth"));
            send_obj(resp, 200, o);
        }
    } else if (aa_server_request_path_is(req, "/delegate/token")) {
        h_delegate_token(r, mode, req, resp);
    } else if (aa_server_request_path_is(req, "/agent/token")) {
        h_agent_token(r, req, resp);
    } else if (strcmp(mode, "cl01-insecure-as") == 0) {
        /* http and not loopback (PROFILE#1 D-1): 0.0.0.0 reaches this host,
         * so a client that ignores the rule lands on the sink */
        char as[160] = "http://0.0.0.0:1";
        const char *colon = r->peer ? strrchr(r->peer, ':') : NULL;
        if (colon != NULL)
            aa_snprintf(as, sizeof(as), "http://0.0.0.0%s", colon);
        challenge(r, req, resp, as);
    } else if (strcmp(mode, "cl02-malformed") == 0) {
        aa_server_response_error(resp, 401, "invalid_token", "an auth token is required");
        (void)aa_server_response_header(resp, "Agent-Auth",
                                        "httpsig; auth-token; resource_token=\"unterminated");
    } else if (strncmp(mode, "cl03-", 5) == 0) {
        aa_server_response_error(resp, 401, "invalid_signature", "identity required");
        (void)aa_server_response_header(resp, "Agent-Auth", "httpsig; identity=?1");
    } else if (strcmp(mode, "cl04-cnf") == 0 || strcmp(mode, "cl06-redirect") == 0) {
        if (presents_auth_token(req))
            aa_server_response_json(resp, 200,
                                    "{\"message\":\"Access granted\",\"data\":\"hostile\"}");
        else
            challenge(r, req, resp, r->origin);
    } else if (strcmp(mode, "cl05-endless") == 0) {
        struct rec_stream *st = calloc(1, sizeof(*st));
        if (st == NULL) {
            aa_server_response_error(resp, 500, "server_error", "out of memory");
            return;
        }
        atomic_init(&st->refs, 2);
        atomic_init(&st->sent, 0);
        resp->status = 200;
        (void)aa_server_response_header(resp, "Content-Type", "application/json");
        if (aa_server_response_stream(resp, UINT64_MAX, endless, st, endless_free) != AA_OK) {
            free(st);
            aa_server_response_error(resp, 500, "server_error", "cannot stream");
            return;
        }
        e->stream = st;
    } else {
        aa_server_response_not_found(resp, req);
    }
}

/* ---- the server ------------------------------------------------------------------- */

static void handler(void *ctx, const struct aa_server_request *req, struct aa_server_response *resp)
{
    struct aa_rec *r = ctx;
    struct rec_entry *e = entry_from_request(req);

    switch (r->kind) {
    case AA_REC_FRONT:
        forward(r, req, resp);
        break;
    case AA_REC_HOSTILE:
        if (e != NULL)
            hostile(r, req, resp, e);
        else
            aa_server_response_error(resp, 500, "server_error", "out of memory");
        break;
    default:
        aa_server_response_not_found(resp, req);
        break;
    }
    if (e != NULL) {
        entry_set_response(e, resp);
        rec_store(r, e);
    }
}

int aa_rec_start(const struct aa_rec_opts *o, struct aa_rec **out, struct aa_diag *d)
{
    struct aa_server_opts so = {0};
    struct aa_rec *r = calloc(1, sizeof(*r));
    int rc;

    *out = NULL;
    if (r == NULL)
        return aa_fail(d, AA_E_NOMEM, "README#internals", "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    r->kind = o->kind;
    r->name = aa_strdup(o->name ? o->name : "recorder");
    aa_snprintf(r->mode, sizeof(r->mode), "%s", o->kind == AA_REC_FRONT ? "forward" : "off");
    if (o->key != NULL) {
        struct aa_jwks set = {0};
        struct aa_jwk pub = {0};
        struct aa_buf b;
        aa_buf_init(&b, 8192);
        if (aa_jwk_copy(&r->key, o->key) != AA_OK || aa_jwk_public(&pub, o->key) != AA_OK ||
            aa_jwks_add(&set, &pub) != AA_OK || aa_jwks_to_json(&set, &b) != AA_OK || b.err) {
            aa_buf_free(&b);
            aa_jwk_cleanup(&pub);
            aa_jwks_cleanup(&set);
            aa_rec_stop(r);
            return aa_fail(d, AA_E_NOMEM, "README#internals", "hostile server: key setup failed");
        }
        r->jwks_json = aa_buf_detach(&b, NULL);
        aa_jwk_cleanup(&pub);
        aa_jwks_cleanup(&set);
    }
    so.bind_addr = o->bind;
    so.port = o->port;
    so.threads = 4; /* a forwarded request can wait on a peer behind another front */
    so.handler = handler;
    so.ctx = r;
    if ((rc = aa_server_start(&so, &r->srv, d)) != AA_OK) {
        aa_diag_prefix(d, "%s", r->name);
        aa_rec_stop(r);
        return rc;
    }
    aa_snprintf(r->origin, sizeof(r->origin), "%s", aa_server_origin(r->srv));
    *out = r;
    return AA_OK;
}

const char *aa_rec_origin(const struct aa_rec *r)
{
    return r != NULL ? r->origin : NULL;
}

void aa_rec_set_upstream(struct aa_rec *r, const char *url)
{
    pthread_mutex_lock(&r->mu);
    free(r->upstream);
    r->upstream = url ? aa_strdup(url) : NULL;
    pthread_mutex_unlock(&r->mu);
}

void aa_rec_set_peer(struct aa_rec *r, const char *sink_origin)
{
    pthread_mutex_lock(&r->mu);
    free(r->peer);
    r->peer = sink_origin ? aa_strdup(sink_origin) : NULL;
    pthread_mutex_unlock(&r->mu);
}

int aa_rec_set_mode(struct aa_rec *r, const char *mode, struct aa_diag *d)
{
    static const char *const front_modes[] = {"forward", "token-type", NULL};
    static const char *const hostile_modes[] = {
        "off",      "cl01-insecure-as", "cl02-malformed", "cl03-cnf",      "cl03-typ", "cl03-iss",
        "cl03-sub", "cl04-cnf",         "cl05-endless",   "cl06-redirect", NULL};
    const char *const *ok = r->kind == AA_REC_FRONT ? front_modes : hostile_modes;
    bool known = false;

    if (r->kind == AA_REC_SINK)
        return aa_fail(d, AA_E_INVAL, "README#client", "%s has no modes", r->name);
    for (; *ok != NULL && !known; ok++)
        known = strcmp(*ok, mode) == 0;
    if (!known)
        return aa_fail(d, AA_E_NOTFOUND, "README#client", "%s: unknown mode \"%s\"", r->name, mode);
    pthread_mutex_lock(&r->mu);
    aa_snprintf(r->mode, sizeof(r->mode), "%s", mode);
    pthread_mutex_unlock(&r->mu);
    return AA_OK;
}

void aa_rec_stop(struct aa_rec *r)
{
    if (r == NULL)
        return;
    aa_server_stop(r->srv);
    for (size_t i = 0; i < AA_CONF_REC_MAX; i++)
        entry_free(r->ring[i]);
    free(r->name);
    free(r->upstream);
    free(r->peer);
    free(r->jwks_json);
    aa_jwk_cleanup(&r->key);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
