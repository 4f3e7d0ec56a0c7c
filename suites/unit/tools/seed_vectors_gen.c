/*
 * seed_vectors_gen: the seed's agent-delegation flow (PROFILE#7.6 TEST 1-4)
 * recorded as a known-answer vector, vectors/seed-flow/seed-flow.json.
 *
 * What makes the run reproducible byte for byte:
 *   - keys: d = SHA-256(label) for every role (aa_seedvec_keys[]);
 *   - time: one frozen aa_ref_clock shared by the three servers and the
 *     client (T0 = 1768786221 for TEST 1-3, T0 + 60 for TEST 4);
 *   - randomness: aa_random_set_test_stream() (auth token jti, refresh
 *     token, Nonce values); Ed25519 signatures are deterministic;
 *   - transport noise is left out of the record: of the request headers
 *     libcurl adds only Host and Content-Length are kept (User-Agent and
 *     Accept are neither covered nor meaningful), of the response headers
 *     Date, Connection, Keep-Alive and Transfer-Encoding are dropped.
 *
 * Design choice: the record is built from the client library's step log
 * (aa_client_step), i.e. from what actually crossed the wire, and every
 * value is cross-checked while recording (each recorded request header was
 * in libcurl's sent header block, each signature verifies over its base
 * with the key the vector names, each token verifies under its issuer's
 * fixed key); a deviation aborts instead of writing a wrong vector.
 */
#include "seed_vectors_gen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "aa_client.h"
#include "aa_ref.h"
#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"
#include "jose/aa_jose.h"
#include "json/aa_json.h"

#define GEN_REF "PROFILE#7.6"
#define MAX_TOKENS 32
#define LOCK_PATH "/tmp/aauth-seed-vectors.lock"

const struct aa_seedvec_key_def aa_seedvec_keys[AA_SEEDVEC_N_KEYS] = {
    {"agent-server", "agent server http://127.0.0.1:8001: signs agent tokens and its own requests",
     AA_REF_AGENT_KID, "aauth seed vector: agent server"},
    {"delegate-1", "the delegate's first key (sub delegate-1, TEST 1-3)", "delegate-key-1",
     "aauth seed vector: delegate key 1"},
    {"delegate-2", "the delegate's key after the rotation of TEST 4 (same sub delegate-1)",
     "delegate-key-2", "aauth seed vector: delegate key 2"},
    {"resource", "resource http://127.0.0.1:8002: signs resource tokens", AA_REF_RESOURCE_KID,
     "aauth seed vector: resource"},
    {"auth-server", "auth server http://127.0.0.1:8003: signs auth tokens", AA_REF_AUTH_KID,
     "aauth seed vector: auth server"},
    {"other-delegate", "another delegate (sub delegate-2) for the TEST 4 negative step",
     "other-delegate-key-1", "aauth seed vector: other delegate"},
};

static const uint16_t ports[3] = {AA_REF_AGENT_PORT, AA_REF_RESOURCE_PORT, AA_REF_AUTH_PORT};

/* ---- keys ------------------------------------------------------------------- */

int aa_seedvec_key(size_t i, struct aa_jwk *out)
{
    uint8_t seed[32];
    int rc;

    if (out == NULL || i >= AA_SEEDVEC_N_KEYS)
        return AA_E_INVAL;
    aa_sha256(aa_seedvec_keys[i].label, strlen(aa_seedvec_keys[i].label), seed);
    rc = aa_jwk_from_ed25519_seed(seed, aa_seedvec_keys[i].kid, out);
    aa_cleanse(seed, sizeof(seed));
    return rc;
}

int aa_seedvec_key_file(size_t i, struct aa_buf *out)
{
    struct aa_jwk k;
    int rc;

    if ((rc = aa_seedvec_key(i, &k)) != AA_OK)
        return rc;
    rc = aa_jwk_to_json(&k, true, out);
    if (rc == AA_OK)
        rc = aa_buf_addc(out, '\n');
    aa_jwk_cleanup(&k);
    return rc;
}

/* ---- ports and the lock --------------------------------------------------------- */

int aa_seedvec_ports_free(struct aa_diag *d)
{
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        struct sockaddr_in sa;
        int one = 1, fd, rc, err;

        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return aa_fail(d, AA_E_IO, "PROFILE#1", "socket(): %s", strerror(errno));
        /* The servers set SO_REUSEADDR too: connections of an earlier run
         * lingering in TIME_WAIT do not make a port busy. */
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons(ports[i]);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        err = errno;
        close(fd);
        if (rc != 0)
            return aa_fail(d, AA_E_IO, "PROFILE#1",
                           "127.0.0.1:%u cannot be bound (%s): the seed-flow vectors claim the "
                           "default-topology identifiers http://127.0.0.1:8001/8002/8003 and "
                           "must listen on exactly those ports; stop whatever holds it (an "
                           "aauth-reference on its default ports?)",
                           (unsigned)ports[i], strerror(err));
    }
    return AA_OK;
}

/* An exclusive lock across processes: the normal and the sanitizer build
 * run this test at the same time. Blocks until the other run is done;
 * without a usable /tmp the run goes ahead unlocked (the port check still
 * reports a collision clearly). */
static int lock_take(void)
{
    int fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);

    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void lock_release(int fd)
{
    if (fd >= 0) {
        (void)flock(fd, LOCK_UN);
        close(fd);
    }
}

/* ---- pretty printer ------------------------------------------------------------ */

static void indent(struct aa_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        aa_buf_adds(b, "  ");
}

static bool all_scalars(const cJSON *v)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, v)
    {
        if (cJSON_IsArray(e) || cJSON_IsObject(e))
            return false;
    }
    return true;
}

static int pp(const cJSON *v, struct aa_buf *b, int depth)
{
    const cJSON *e;
    int rc;

    if (depth > 32)
        return AA_E_LIMIT;
    if (cJSON_IsNull(v))
        return aa_buf_adds(b, "null");
    if (cJSON_IsTrue(v))
        return aa_buf_adds(b, "true");
    if (cJSON_IsFalse(v))
        return aa_buf_adds(b, "false");
    if (cJSON_IsString(v))
        return aa_json_quote(b, v->valuestring, strlen(v->valuestring));
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        /* Only integers occur (times, lengths, statuses); anything else
         * would need a float format and is refused. */
        if (!(x >= -9007199254740991.0 && x <= 9007199254740991.0) || x != (double)(int64_t)x)
            return AA_E_INVAL;
        return aa_buf_printf(b, "%lld", (long long)(int64_t)x);
    }
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        bool obj = cJSON_IsObject(v);
        bool inl = !obj && all_scalars(v);
        bool first = true;

        aa_buf_addc(b, obj ? '{' : '[');
        cJSON_ArrayForEach(e, v)
        {
            if (!first)
                aa_buf_adds(b, inl ? ", " : ",");
            if (!inl) {
                aa_buf_addc(b, '\n');
                indent(b, depth + 1);
            }
            if (obj) {
                if ((rc = aa_json_quote(b, e->string, strlen(e->string))) != AA_OK)
                    return rc;
                aa_buf_adds(b, ": ");
            }
            if ((rc = pp(e, b, depth + 1)) != AA_OK)
                return rc;
            first = false;
        }
        if (!first && !inl) {
            aa_buf_addc(b, '\n');
            indent(b, depth);
        }
        return aa_buf_addc(b, obj ? '}' : ']');
    }
    return AA_E_INVAL;
}

int aa_seedvec_print(const cJSON *v, struct aa_buf *out)
{
    int rc;

    if (v == NULL || out == NULL)
        return AA_E_INVAL;
    if ((rc = pp(v, out, 0)) != AA_OK)
        return rc;
    aa_buf_addc(out, '\n');
    return out->err;
}

/* ---- the recorder --------------------------------------------------------------- */

struct tok {
    char *compact;
    char name[32];
};

struct gen {
    struct aa_ref_clock clock;
    struct aa_ref_server *ag, *rs, *as;
    struct aa_jwk keys[AA_SEEDVEC_N_KEYS];
    char jkt[AA_SEEDVEC_N_KEYS][AA_JWK_THUMBPRINT_LEN + 1];
    cJSON *root, *tokens, *steps;
    struct tok tok[MAX_TOKENS];
    size_t n_tok;
    int n_agent, n_resource, n_auth;
    int n_steps;
    struct aa_diag *d;
};

/* Memory failures while building the cJSON tree set |build_failed| (one
 * generation runs at a time: aa_seedvec_generate holds the lock), so the
 * recording code stays linear and the result is checked once. */
static bool build_failed;

static cJSON *put(cJSON *o, const char *name, cJSON *item)
{
    bool ok = o != NULL && item != NULL &&
              (name ? cJSON_AddItemToObject(o, name, item) : cJSON_AddItemToArray(o, item));

    if (!ok) {
        cJSON_Delete(item);
        build_failed = true;
        return NULL;
    }
    return item;
}

static cJSON *jstr(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void add_str(cJSON *o, const char *name, const char *s)
{
    (void)put(o, name, jstr(s));
}

static void add_int(cJSON *o, const char *name, int64_t v)
{
    (void)put(o, name, cJSON_CreateNumber((double)v));
}

static void add_bool(cJSON *o, const char *name, bool v)
{
    (void)put(o, name, cJSON_CreateBool(v));
}

static cJSON *add_obj(cJSON *o, const char *name)
{
    return put(o, name, cJSON_CreateObject());
}

static cJSON *add_arr(cJSON *o, const char *name)
{
    return put(o, name, cJSON_CreateArray());
}

static const char *key_name_by_jkt(const struct gen *g, const char *jkt)
{
    for (size_t i = 0; jkt != NULL && i < AA_SEEDVEC_N_KEYS; i++)
        if (strcmp(g->jkt[i], jkt) == 0)
            return aa_seedvec_keys[i].name;
    return NULL;
}

static const struct aa_jwk *key_by_name(const struct gen *g, const char *name)
{
    for (size_t i = 0; name != NULL && i < AA_SEEDVEC_N_KEYS; i++)
        if (strcmp(aa_seedvec_keys[i].name, name) == 0)
            return &g->keys[i];
    return NULL;
}

/* The key that signs tokens of issuer |iss| with |kid|. */
static const char *issuer_key(const struct gen *g, const char *iss, const char *kid)
{
    size_t i;

    if (iss == NULL || kid == NULL)
        return NULL;
    if (strcmp(iss, aa_ref_id(g->ag)) == 0)
        i = AA_SEEDVEC_KEY_AGENT;
    else if (strcmp(iss, aa_ref_id(g->rs)) == 0)
        i = AA_SEEDVEC_KEY_RESOURCE;
    else if (strcmp(iss, aa_ref_id(g->as)) == 0)
        i = AA_SEEDVEC_KEY_AUTH;
    else
        return NULL;
    return strcmp(kid, aa_seedvec_keys[i].kid) == 0 ? aa_seedvec_keys[i].name : NULL;
}

static const char *tok_name(const struct gen *g, const char *compact)
{
    for (size_t i = 0; i < g->n_tok; i++)
        if (strcmp(g->tok[i].compact, compact) == 0)
            return g->tok[i].name;
    return NULL;
}

/* Decoded bytes of one base64url JWS segment as text. */
static cJSON *segment_text(const char *seg, size_t n)
{
    uint8_t *raw = malloc(n + 1);
    size_t len = 0;
    cJSON *s = NULL;

    if (raw == NULL)
        return NULL;
    if (aa_b64_decode(seg, n, AA_B64_URL, AA_B64_PAD_FORBIDDEN, AA_B64_STRICT_BITS, raw, n, &len,
                      NULL) == AA_OK) {
        raw[len] = '\0';
        s = cJSON_CreateString((const char *)raw);
    }
    free(raw);
    return s;
}

/* A token seen for the first time: decode, verify under its issuer's fixed
 * key, and add it to "tokens". Returns its name in |name_out|. */
static int token_register(struct gen *g, const char *compact, const char *step_id,
                          const char **name_out)
{
    struct aa_jwt j;
    struct aa_diag jd;
    const char *typ, *iss, *signer, *dot1, *dot2, *bound = NULL;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];
    struct tok *t;
    cJSON *e;
    int rc;

    if ((*name_out = tok_name(g, compact)) != NULL)
        return AA_OK;
    if (g->n_tok >= MAX_TOKENS)
        return aa_fail(g->d, AA_E_LIMIT, GEN_REF, "more than %d tokens", MAX_TOKENS);
    aa_diag_clear(&jd);
    if ((rc = aa_jwt_parse(compact, strlen(compact), &j, &jd)) != AA_OK)
        return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: token does not parse: %s", step_id,
                       jd.msg);
    typ = j.typ ? j.typ : "";
    iss = aa_jwt_claim_str(&j, "iss");
    signer = issuer_key(g, iss, j.kid);
    if (signer == NULL || aa_jwt_verify(&j, key_by_name(g, signer), &jd) != AA_OK) {
        aa_jwt_cleanup(&j);
        return aa_fail(g->d, AA_E_INTERNAL, GEN_REF,
                       "%s: %s token of %s (kid %s) does not verify under a fixed key", step_id,
                       typ, iss ? iss : "?", j.kid ? j.kid : "?");
    }
    t = &g->tok[g->n_tok];
    if (strcmp(typ, "agent+jwt") == 0)
        rc = aa_snprintf(t->name, sizeof(t->name), "agent_token_%d", ++g->n_agent);
    else if (strcmp(typ, "resource+jwt") == 0)
        rc = aa_snprintf(t->name, sizeof(t->name), "resource_token_%d", ++g->n_resource);
    else if (strcmp(typ, "auth+jwt") == 0)
        rc = aa_snprintf(t->name, sizeof(t->name), "auth_token_%d", ++g->n_auth);
    else
        rc = aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: unexpected token typ %s", step_id, typ);
    if (rc != AA_OK) {
        aa_jwt_cleanup(&j);
        return rc;
    }
    /* The key the token binds: cnf.jwk (agent, auth) or agent_jkt (resource). */
    {
        struct aa_jwk cnf;
        memset(&cnf, 0, sizeof(cnf));
        if (aa_jwt_cnf_jwk(&j, &cnf, NULL) == AA_OK) {
            if (aa_jwk_thumbprint(&cnf, jkt) == AA_OK)
                bound = key_name_by_jkt(g, jkt);
            aa_jwk_cleanup(&cnf);
        } else {
            bound = key_name_by_jkt(g, aa_jwt_claim_str(&j, "agent_jkt"));
        }
    }
    if ((t->compact = aa_strdup(compact)) == NULL) {
        aa_jwt_cleanup(&j);
        return AA_E_NOMEM;
    }
    g->n_tok++;
    dot1 = strchr(compact, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    e = add_obj(g->tokens, t->name);
    add_str(e, "type", typ);
    add_str(e, "issued_in", step_id);
    add_str(e, "signing_key", signer);
    add_str(e, "bound_key", bound);
    add_str(e, "compact", compact);
    if (dot1 != NULL && dot2 != NULL) {
        (void)put(e, "header_text", segment_text(compact, (size_t)(dot1 - compact)));
        (void)put(e, "claims_text", segment_text(dot1 + 1, (size_t)(dot2 - dot1 - 1)));
    }
    (void)put(e, "header", cJSON_Duplicate(j.header, true));
    (void)put(e, "claims", cJSON_Duplicate(j.claims, true));
    aa_jwt_cleanup(&j);
    *name_out = t->name;
    return AA_OK;
}

/* Does |st|'s signature verify over its recorded base with the key the
 * client signed with? (false for the deliberate negative steps) */
static bool sig_verifies(const struct gen *g, const struct aa_client_step *st)
{
    const struct aa_jwk *k = key_by_name(g, key_name_by_jkt(g, st->key_jkt));
    uint8_t sig[128];
    size_t sl = 0;

    if (k == NULL || st->signature == NULL || st->base == NULL)
        return false;
    if (aa_httpsig_parse_signature(aa_str_c(st->signature), "sig1", sig, sizeof(sig), &sl, NULL,
                                   NULL) != AA_OK)
        return false;
    return aa_crypto_verify(AA_ALG_ED25519, k, (const uint8_t *)st->base, st->base_len, sig, sl) ==
           AA_OK;
}

/* "Name: value\r\n" appears in libcurl's sent header block. */
static bool was_sent(const struct aa_client_step *st, const char *name, const char *value)
{
    struct aa_buf line;
    bool found;

    if (st->resp.sent_head.p == NULL)
        return false;
    aa_buf_init(&line, 64 * 1024);
    aa_buf_printf(&line, "\r\n%s: %s\r\n", name, value);
    found = line.err == AA_OK && strstr(st->resp.sent_head.p, line.p) != NULL;
    aa_buf_free(&line);
    return found;
}

static bool transport_header(const char *lname)
{
    static const char *const drop[] = {"date", "connection", "keep-alive", "transfer-encoding"};

    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strcmp(lname, drop[i]) == 0)
            return true;
    return false;
}

static cJSON *header_pair(const char *name, const char *value)
{
    cJSON *p = cJSON_CreateArray();

    (void)put(p, NULL, jstr(name));
    (void)put(p, NULL, jstr(value));
    return p;
}

/* One recorded exchange -> one entry of "steps". */
static int record_step(struct gen *g, const char *client, const char *test,
                       const struct aa_client_step *st, const char *expect)
{
    char id[16], auth[AA_URL_AUTHORITY_MAX];
    struct aa_url u;
    struct aa_buf target;
    cJSON *s, *rq, *hs, *sg, *rs, *rh, *tk, *issued, *in_body;
    const char *presented = NULL;
    int rc;

    if (st->kind == AA_CSTEP_NOTE)
        return AA_OK;
    /* AA_E_CLIENT_STATUS: the peer answered with a refusal the flow asked
     * for (TEST 4 negative); anything else is a broken run. */
    if ((st->rc != AA_OK && st->rc != AA_E_CLIENT_STATUS) || !st->has_response)
        return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: %s failed: %s", test,
                       st->what ? st->what : "?", st->diag.msg);
    g->n_steps++;
    if ((rc = aa_snprintf(id, sizeof(id), "step-%02d", g->n_steps)) != AA_OK)
        return rc;
    if (aa_url_parse(st->url, strlen(st->url), 0, &u, g->d) != AA_OK ||
        aa_url_authority(&u, auth, sizeof(auth)) != AA_OK)
        return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: bad URL %s", id, st->url);
    aa_buf_init(&target, AA_URL_MAX_LEN + 1);
    (void)aa_url_target(&u, &target);
    if (target.err != AA_OK) {
        aa_buf_free(&target);
        return AA_E_NOMEM;
    }

    s = put(g->steps, NULL, cJSON_CreateObject());
    add_str(s, "id", id);
    add_str(s, "test", test);
    add_str(s, "client", client);
    add_str(s, "kind", aa_client_step_kind_name(st->kind));
    add_str(s, "what", st->what);
    add_int(s, "clock", aa_ref_clock_now(&g->clock));
    add_str(s, "expect", expect);

    /* the request */
    rq = add_obj(s, "request");
    add_str(rq, "method", st->method);
    add_str(rq, "url", st->url);
    add_str(rq, "authority", auth);
    add_str(rq, "target", target.p);
    hs = add_arr(rq, "headers");
    if (!was_sent(st, "Host", auth)) {
        aa_buf_free(&target);
        return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: Host %s not on the wire", id, auth);
    }
    (void)put(hs, NULL, header_pair("Host", auth));
    for (size_t i = 0; i < st->req_headers.n; i++) {
        const struct aa_http_header *h = &st->req_headers.v[i];
        if (!was_sent(st, h->name, h->value)) {
            aa_buf_free(&target);
            return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: header %s not on the wire", id,
                           h->name);
        }
        (void)put(hs, NULL, header_pair(h->name, h->value));
    }
    if (st->req_body_len > 0) {
        char cl[32];
        (void)aa_snprintf(cl, sizeof(cl), "%zu", st->req_body_len);
        if (!was_sent(st, "Content-Length", cl)) {
            aa_buf_free(&target);
            return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: Content-Length not on the wire", id);
        }
        (void)put(hs, NULL, header_pair("Content-Length", cl));
    }
    aa_buf_free(&target);
    add_str(rq, "body", st->req_body_len > 0 ? st->req_body : NULL);

    /* the signature */
    if (st->is_signed) {
        const char *kname = key_name_by_jkt(g, st->key_jkt);
        if (kname == NULL)
            return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: signed with an unknown key", id);
        for (size_t i = 0; i < g->n_tok && st->scheme == AA_SIGKEY_JWT; i++)
            if (strstr(st->signature_key, g->tok[i].compact) != NULL)
                presented = g->tok[i].name;
        if (st->scheme == AA_SIGKEY_JWT && presented == NULL)
            return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: presents an unknown token", id);
        sg = add_obj(s, "signature");
        add_str(sg, "key", kname);
        add_str(sg, "key_thumbprint", st->key_jkt);
        add_str(sg, "scheme", aa_sigkey_scheme_name(NULL, st->scheme));
        add_str(sg, "token", presented);
        add_str(sg, "label", "sig1");
        add_int(sg, "created", st->created);
        add_str(sg, "signature_input", st->signature_input);
        add_str(sg, "signature", st->signature);
        add_str(sg, "signature_key", st->signature_key);
        add_str(sg, "content_digest", st->content_digest);
        add_str(sg, "nonce", st->nonce);
        add_str(sg, "base", st->base);
        add_bool(sg, "verifies", sig_verifies(g, st));
    } else {
        add_str(s, "signature", NULL);
    }

    /* the response */
    rs = add_obj(s, "response");
    add_int(rs, "status", st->resp.status);
    rh = add_arr(rs, "headers");
    for (size_t i = 0; i < st->resp.headers.n; i++) {
        const struct aa_http_header *h = &st->resp.headers.v[i];
        if (!transport_header(h->lname))
            (void)put(rh, NULL, header_pair(h->name, h->value));
    }
    add_str(rs, "body", st->resp.body_len > 0 ? st->resp.body : NULL);
    (void)put(rs, "json", st->json ? cJSON_Duplicate(st->json, true) : cJSON_CreateNull());

    /* tokens issued here (response body or challenge), presented, carried in the body */
    tk = add_obj(s, "tokens");
    issued = add_arr(tk, "issued");
    {
        const char *found[4];
        size_t nf = 0;
        static const char *const members[] = {"agent_token", "auth_token", "resource_token"};
        for (size_t i = 0; i < 3 && st->json != NULL; i++) {
            const char *v = aa_json_str(st->json, members[i]);
            if (v != NULL)
                found[nf++] = v;
        }
        if (st->has_challenge && st->challenge.resource_token != NULL)
            found[nf++] = st->challenge.resource_token;
        for (size_t i = 0; i < nf; i++) {
            const char *name;
            if ((rc = token_register(g, found[i], id, &name)) != AA_OK)
                return rc;
            (void)put(issued, NULL, cJSON_CreateString(name));
        }
    }
    add_str(tk, "presented", presented);
    in_body = add_arr(tk, "in_body");
    for (size_t i = 0; i < g->n_tok && st->req_body != NULL; i++)
        if (strstr(st->req_body, g->tok[i].compact) != NULL)
            (void)put(in_body, NULL, cJSON_CreateString(g->tok[i].name));
    return AA_OK;
}

/* Record every step of |c| with seq >= |*from| and move |*from| past them. */
static int record_since(struct gen *g, struct aa_client *c, const char *client, size_t *from,
                        const char *test, const char *expect)
{
    size_t n = aa_client_step_count(c);
    int rc;

    for (size_t i = 0; i < n; i++) {
        const struct aa_client_step *st = aa_client_step_at(c, i);
        if (st->seq < *from)
            continue;
        if ((rc = record_step(g, client, test, st, expect)) != AA_OK)
            return rc;
        *from = st->seq + 1;
    }
    return AA_OK;
}

/* ---- the flow ----------------------------------------------------------------- */

static int64_t gen_now(void *ctx)
{
    return aa_ref_clock_now(ctx);
}

static int start_servers(struct gen *g)
{
    struct aa_ref_agent_config ac;
    struct aa_ref_resource_config rc;
    struct aa_ref_auth_config uc;
    int r;

    aa_ref_agent_defaults(&ac);
    ac.c.port = AA_REF_AGENT_PORT;
    ac.c.key = &g->keys[AA_SEEDVEC_KEY_AGENT];
    ac.c.clock = &g->clock;
    if ((r = aa_ref_agent_start(&ac, &g->ag, g->d)) != AA_OK)
        return r;
    aa_ref_auth_defaults(&uc);
    uc.c.port = AA_REF_AUTH_PORT;
    uc.c.key = &g->keys[AA_SEEDVEC_KEY_AUTH];
    uc.c.clock = &g->clock;
    uc.require_user_consent = false;
    if ((r = aa_ref_auth_start(&uc, &g->as, g->d)) != AA_OK)
        return r;
    aa_ref_resource_defaults(&rc);
    rc.c.port = AA_REF_RESOURCE_PORT;
    rc.c.key = &g->keys[AA_SEEDVEC_KEY_RESOURCE];
    rc.c.clock = &g->clock;
    rc.auth_server = aa_ref_id(g->as);
    if ((r = aa_ref_resource_start(&rc, &g->rs, g->d)) != AA_OK)
        return r;
    if (strcmp(aa_ref_id(g->ag), "http://127.0.0.1:8001") != 0 ||
        strcmp(aa_ref_id(g->rs), "http://127.0.0.1:8002") != 0 ||
        strcmp(aa_ref_id(g->as), "http://127.0.0.1:8003") != 0)
        return aa_fail(g->d, AA_E_INTERNAL, "PROFILE#1",
                       "servers did not claim the default-topology identifiers");
    return AA_OK;
}

static int new_delegate(struct gen *g, const char *sub, size_t key, struct aa_client **out)
{
    struct aa_client_opts o;

    memset(&o, 0, sizeof(o));
    o.identity = AA_CLIENT_DELEGATE;
    o.agent_server = aa_ref_url(g->ag);
    o.sub = sub;
    o.key = &g->keys[key];
    o.dev_mode = true;
    o.clock.now = gen_now;
    o.clock.ctx = &g->clock;
    o.no_transcript = true;
    o.user_agent = "aauth-seed-vectors";
    o.loopback_only = true;
    return aa_client_new(&o, out, g->d);
}

static int send_get(struct gen *g, struct aa_client *c, const char *path, enum aa_client_cred cred,
                    const char *token, const struct aa_sign_opts *so, long want_status,
                    const char *want_error)
{
    struct aa_client_request r;
    struct aa_client_send_opts o;
    const struct aa_client_step *st = NULL;
    char url[256];
    int rc;

    memset(&r, 0, sizeof(r));
    memset(&o, 0, sizeof(o));
    if ((rc = aa_snprintf(url, sizeof(url), "%s%s", aa_ref_url(g->rs), path)) != AA_OK)
        return rc;
    r.method = "GET";
    r.url = url;
    o.cred = cred;
    o.token = token;
    o.sign = so;
    if ((rc = aa_client_send(c, &r, &o, &st, g->d)) != AA_OK)
        return rc;
    if (st->resp.status != want_status ||
        (want_error != NULL && (st->error == NULL || strcmp(st->error, want_error) != 0)))
        return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "GET %s: status %ld (%s), want %ld (%s)", path,
                       st->resp.status, st->error ? st->error : "-", want_status,
                       want_error ? want_error : "-");
    return AA_OK;
}

static int expect_last(struct gen *g, struct aa_client *c, long status, const char *what)
{
    const struct aa_client_step *st = aa_client_step_last(c);

    if (st == NULL || st->resp.status != status)
        return aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "%s: status %ld, want %ld", what,
                       st ? st->resp.status : 0L, status);
    return AA_OK;
}

static int run_flow(struct gen *g)
{
    static const struct aa_sign_opts flip = {.variants = AA_SIGN_V_SIG_FLIP_BIT};
    struct aa_client *c = NULL, *other = NULL;
    const struct aa_client_grant *gr = NULL;
    const struct aa_client_step *st;
    struct aa_client_auth_params ap;
    struct aa_client_token_params tp;
    struct aa_client_token_response tr;
    char *rt = NULL, *at1 = NULL, *refresh1 = NULL;
    size_t seq = 0, oseq = 0;
    int rc;

    memset(&tr, 0, sizeof(tr));
    if ((rc = new_delegate(g, "delegate-1", AA_SEEDVEC_KEY_DELEGATE1, &c)) != AA_OK)
        goto out;

    /* TEST 1: POST /delegate/token (unsigned, as in the seed); the client
     * checks the token under the agent's metadata and JWKS. */
    if ((rc = aa_client_agent_token_obtain(c, g->d)) != AA_OK)
        goto out;
    if ((rc = record_since(g, c, "delegate-1", &seq, "TEST 1",
                           "200 {agent_token, expires_in: 3600}; agent+jwt signed by key-1, "
                           "iss = agent server, sub = delegate-1, exp = now + 3600, cnf.jwk = "
                           "delegate-key-1")) != AA_OK)
        goto out;

    /* TEST 2: GET /data-jwks signed(jwt agent token) -> 200, and one bit flipped -> 401 */
    if ((rc = send_get(g, c, "/data-jwks", AA_CRED_AGENT_TOKEN, NULL, NULL, 200, NULL)) != AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 2",
                           "200; body scheme jwt, token_type agent+jwt, agent = agent server, "
                           "agent_delegate = delegate-1")) != AA_OK)
        goto out;
    if ((rc = send_get(g, c, "/data-jwks", AA_CRED_AGENT_TOKEN, NULL, &flip, 401,
                       "invalid_signature")) != AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 2 negative",
                           "one bit of the signature flipped: 401 invalid_signature with "
                           "Agent-Auth: httpsig; identity=?1")) != AA_OK)
        goto out;

    /* TEST 3: the auth-token challenge, the auth request, the authorised GET */
    if ((rc = send_get(g, c, "/data-auth", AA_CRED_AGENT_TOKEN, NULL, NULL, 401, NULL)) != AA_OK)
        goto out;
    st = aa_client_step_last(c);
    if (!st->has_challenge || st->challenge.resource_token == NULL ||
        (rt = aa_strdup(st->challenge.resource_token)) == NULL) {
        rc = aa_fail(g->d, AA_E_INTERNAL, GEN_REF, "TEST 3: no resource token in the challenge");
        goto out;
    }
    if ((rc = record_since(g, c, "delegate-1", &seq, "TEST 3",
                           "401 with Agent-Auth: httpsig; auth-token; resource_token; "
                           "auth_server; resource+jwt with agent = agent server, agent_jkt = "
                           "thumbprint(delegate-key-1), aud = auth server")) != AA_OK)
        goto out;
    memset(&ap, 0, sizeof(ap));
    ap.resource_token = rt;
    if ((rc = aa_client_authorize(c, aa_ref_id(g->as), &ap, &gr, g->d)) != AA_OK)
        goto out;
    if ((rc = record_since(g, c, "delegate-1", &seq, "TEST 3",
                           "POST /agent/token request_type=auth: 200 {auth_token, expires_in: "
                           "3600, refresh_token}; auth+jwt with aud = resource, agent = agent "
                           "server, agent_delegate = delegate-1, cnf.jwk = delegate-key-1, "
                           "scope = the resource token's")) != AA_OK)
        goto out;
    if ((at1 = aa_strdup(gr->auth_token)) == NULL ||
        (refresh1 = aa_strdup(gr->refresh_token)) == NULL) {
        rc = aa_fail(g->d, AA_E_NOMEM, GEN_REF, "out of memory");
        goto out;
    }
    if ((rc = send_get(g, c, "/data-auth", AA_CRED_AUTH_TOKEN, gr->auth_token, NULL, 200, NULL)) !=
            AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 3",
                           "200; body token_type auth+jwt, agent, agent_delegate = delegate-1, "
                           "scope")) != AA_OK)
        goto out;

    /* TEST 4, 60 s later: refresh, rotation, refresh with the new agent token */
    aa_ref_clock_advance(&g->clock, AA_SEEDVEC_TEST4_ADVANCE);
    if ((rc = aa_client_refresh(c, gr, g->d)) != AA_OK ||
        (rc = expect_last(g, c, 200, "TEST 4 refresh")) != AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 4",
                           "request_type=refresh signed with the agent token: 200 {auth_token, "
                           "expires_in}, no refresh_token; agent, agent_delegate, aud, scope "
                           "unchanged; exp = now + 3600")) != AA_OK)
        goto out;
    if ((rc = aa_client_rotate_key(c, &g->keys[AA_SEEDVEC_KEY_DELEGATE2], g->d)) != AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 4 rotation",
                           "POST /delegate/token with delegate-key-2, same sub: 200; a new "
                           "agent token with cnf.jwk = delegate-key-2")) != AA_OK)
        goto out;
    if ((rc = aa_client_refresh(c, gr, g->d)) != AA_OK ||
        (rc = expect_last(g, c, 200, "TEST 4 refresh after rotation")) != AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 4 rotation",
                           "refresh signed with the new agent token (delegate-key-2): 200; the "
                           "auth token's cnf.jwk = delegate-key-2")) != AA_OK)
        goto out;
    if ((rc = send_get(g, c, "/data-auth", AA_CRED_AUTH_TOKEN, gr->auth_token, NULL, 200, NULL)) !=
            AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 4 rotation",
                           "the new auth token, signed by delegate-key-2: 200")) != AA_OK)
        goto out;
    if ((rc = send_get(g, c, "/data-auth", AA_CRED_AUTH_TOKEN, at1, NULL, 401,
                       "invalid_signature")) != AA_OK ||
        (rc = record_since(g, c, "delegate-1", &seq, "TEST 4 negative",
                           "the OLD auth token (cnf = delegate-key-1) with a delegate-key-2 "
                           "signature: 401 invalid_signature")) != AA_OK)
        goto out;

    /* TEST 4 negative: an agent token with another sub cannot use the refresh token */
    if ((rc = new_delegate(g, "delegate-2", AA_SEEDVEC_KEY_OTHER, &other)) != AA_OK)
        goto out;
    memset(&tp, 0, sizeof(tp));
    tp.request_type = "refresh";
    tp.refresh_token = refresh1;
    rc = aa_client_token_request(other, aa_ref_id(g->as), &tp, NULL, &tr, g->d);
    if (rc != AA_E_CLIENT_STATUS || tr.status != 400 || tr.error == NULL ||
        strcmp(tr.error, "invalid_grant") != 0) {
        rc = aa_fail(g->d, AA_E_INTERNAL, GEN_REF,
                     "TEST 4: refresh with another sub: %s, status %ld, want 400 invalid_grant",
                     aa_client_errstr(rc), tr.status);
        goto out;
    }
    aa_diag_clear(g->d);
    rc = record_since(g, other, "delegate-2", &oseq, "TEST 4 negative",
                      "delegate-2 (its own agent token) presents delegate-1's refresh token: "
                      "400 invalid_grant");
out:
    aa_client_token_response_cleanup(&tr);
    free(rt);
    free(at1);
    free(refresh1);
    aa_client_free(other);
    aa_client_free(c);
    return rc;
}

/* ---- the document ------------------------------------------------------------- */

static void add_head(struct gen *g)
{
    cJSON *r = g->root, *o, *keys;
    char buf[256];

    add_str(r, "description",
            "The seed's Agent Delegation flow (PROTOCOL.md §7.6, F6: TEST 1-4 with TEST 3 done "
            "for real) between the AAuth reference agent server, resource, auth server and "
            "delegate, with fixed keys, a frozen clock and a fixed random stream: every "
            "request, signature base, response and token, byte for byte.");
    add_str(r, "source",
            "suites/unit/tools/seed_vectors_gen.c (tool aa_seed_vectors); checked by "
            "suites/unit/test_seed_vectors.c; see vectors/seed-flow/README.md");
    add_str(r, "profile", "PROFILE#7.6");
    add_int(r, "format", 1);
    o = add_obj(r, "clock");
    add_int(o, "tests_1_to_3", AA_SEEDVEC_T0);
    add_int(o, "test_4", AA_SEEDVEC_T0 + AA_SEEDVEC_TEST4_ADVANCE);
    add_str(o, "note",
            "Every server and the client read one frozen clock; each step records its value as "
            "\"clock\". Token lifetimes: agent 3600 s, resource 300 s, auth 3600 s (D-5).");
    o = add_obj(r, "random_stream");
    add_str(o, "seed", AA_SEEDVEC_STREAM_SEED);
    add_str(o, "algorithm",
            "K = SHA-256(\"aauth known-answer stream v1\" || 0x00 || seed); block i = "
            "SHA-256(K || uint64_be(i)); each draw takes the next ceil(n/32) blocks "
            "(harness/jwk/aa_jwk.h, aa_random_set_test_stream)");
    add_str(o, "used_for",
            "auth token jti, refresh token, Nonce values. Reproducing them needs the same "
            "sequence of draws; implementations in other languages compare them as opaque "
            "values.");
    o = add_obj(r, "topology");
    add_str(o, "agent_server", aa_ref_id(g->ag));
    add_str(o, "resource", aa_ref_id(g->rs));
    add_str(o, "auth_server", aa_ref_id(g->as));
    add_str(o, "delegate_sub", "delegate-1");
    add_str(o, "redirect_uri", "http://127.0.0.1:8001/callback");
    keys = add_obj(r, "keys");
    for (size_t i = 0; i < AA_SEEDVEC_N_KEYS; i++) {
        cJSON *k = add_obj(keys, aa_seedvec_keys[i].name);
        add_str(k, "role", aa_seedvec_keys[i].role);
        add_str(k, "kid", aa_seedvec_keys[i].kid);
        add_str(k, "seed_label", aa_seedvec_keys[i].label);
        (void)aa_snprintf(buf, sizeof(buf), "keys/%s.jwk", aa_seedvec_keys[i].name);
        add_str(k, "file", buf);
        (void)put(k, "public_jwk", aa_jwk_to_cjson(&g->keys[i], false));
        add_str(k, "thumbprint", g->jkt[i]);
    }
    g->tokens = add_obj(r, "tokens");
    g->steps = add_arr(r, "steps");
}

int aa_seedvec_generate(struct aa_buf *out, struct aa_diag *d)
{
    struct gen g;
    struct aa_diag local;
    int lock = -1, rc;
    bool stream = false;

    if (d == NULL) {
        aa_diag_clear(&local);
        d = &local;
    }
    if (out == NULL)
        return aa_fail(d, AA_E_INVAL, GEN_REF, "no output buffer");
    memset(&g, 0, sizeof(g));
    g.d = d;
    g.clock.frozen = true;
    g.clock.value = AA_SEEDVEC_T0;
    lock = lock_take();
    build_failed = false;
    if ((rc = aa_seedvec_ports_free(d)) != AA_OK)
        goto out;
    for (size_t i = 0; i < AA_SEEDVEC_N_KEYS; i++) {
        if ((rc = aa_seedvec_key(i, &g.keys[i])) != AA_OK ||
            (rc = aa_jwk_thumbprint(&g.keys[i], g.jkt[i])) != AA_OK) {
            aa_fail(d, rc, "RFC8037#2", "key %s cannot be derived", aa_seedvec_keys[i].name);
            goto out;
        }
    }
    if ((rc = aa_random_set_test_stream(AA_SEEDVEC_STREAM_SEED, strlen(AA_SEEDVEC_STREAM_SEED))) !=
        AA_OK) {
        aa_fail(d, rc, GEN_REF, "cannot switch the known-answer random stream on");
        goto out;
    }
    stream = true;
    if ((rc = start_servers(&g)) != AA_OK)
        goto out;
    if ((g.root = cJSON_CreateObject()) == NULL) {
        rc = aa_fail(d, AA_E_NOMEM, GEN_REF, "out of memory");
        goto out;
    }
    add_head(&g);
    if ((rc = run_flow(&g)) != AA_OK)
        goto out;
    if (build_failed) {
        rc = aa_fail(d, AA_E_NOMEM, GEN_REF, "out of memory");
        goto out;
    }
    if ((rc = aa_seedvec_print(g.root, out)) != AA_OK)
        aa_fail(d, rc, GEN_REF, "cannot print the vector (%s)", aa_strerror(rc));
out:
    aa_ref_stop(g.rs);
    aa_ref_stop(g.as);
    aa_ref_stop(g.ag);
    if (stream)
        aa_random_clear_test_stream();
    cJSON_Delete(g.root);
    for (size_t i = 0; i < g.n_tok; i++)
        free(g.tok[i].compact);
    for (size_t i = 0; i < AA_SEEDVEC_N_KEYS; i++)
        aa_jwk_cleanup(&g.keys[i]);
    lock_release(lock);
    return rc;
}
