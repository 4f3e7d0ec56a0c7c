/*
 * neg-resource, RB and MD groups: robustness limits (PROFILE#9 RB-01..
 * RB-05, D-24) and the resource's own metadata and JWKS (MD-01, MD-02;
 * PROFILE#3, D-13, D-14).
 *
 * RB requests are the valid identity request (jwks Mode 2, or a valid
 * agent token; both first sent unchanged as the control) with one limit
 * exceeded. A NUL byte cannot travel through libcurl, so that one variant
 * is written on a plain TCP connection (http targets only; over https only
 * the control characters are sent) and recorded in the transcript with
 * the byte escaped.
 *
 * Design choice: the size cases stay close to the limits (a 17 KiB field,
 * a 68 KiB block, 1 MiB + 1 byte, a JWT of about 12 KiB, depth 41, 36
 * parameters, 34 components) so a resource with a much larger limit is
 * caught while the run stays fast.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "json/aa_json.h"
#include "md_common.h"
#include "neg_resource_util.h"

#define NR_RB(name, slug, spec_, title_, expect_)                                                  \
    AA_CHECK(name, .id = "neg-resource.rb." slug, .suite = "neg-resource", .title = title_,        \
             .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = spec_, .rfc = NULL,         \
             .expect = expect_)
#define NR_MD(name, slug, spec_, rfc_, title_, expect_)                                            \
    AA_CHECK(name, .id = "neg-resource.md." slug, .suite = "neg-resource", .title = title_,        \
             .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = spec_, .rfc = rfc_,         \
             .expect = expect_)

NR_RB(rb_baseline, "baseline", "PROFILE#6.2",
      "positive control: the valid identity request (jwks Mode 2) and a valid agent token",
      "2xx for both: what every RB case enlarges is accepted");
NR_RB(rb_header, "header-too-large", "PROFILE#9",
      "RB-01: a 17 KiB header field on the valid identity request",
      "431 (400 accepted), never 5xx");
NR_RB(rb_block, "header-block-too-large", "PROFILE#9",
      "RB-01: a 68 KiB header block (five 13.6 KiB fields) on the valid identity request",
      "431 (400 accepted), never 5xx");
NR_RB(rb_body, "body-too-large", "PROFILE#9", "RB-02: a signed POST with a body of 1 MiB + 1 byte",
      "413, never 5xx");
NR_RB(rb_jwt, "jwt-too-large", "PROFILE#4.1",
      "RB-03: an otherwise valid agent token longer than 8 KiB",
      "401 invalid_token with Agent-Auth: httpsig; identity=?1");
NR_RB(rb_depth, "json-too-deep", "PROFILE#4.1",
      "RB-03: an otherwise valid agent token whose payload nests arrays 40 deep",
      "401 invalid_token with Agent-Auth: httpsig; identity=?1");
NR_RB(rb_params, "too-many-sigkey-params", "PROFILE#9",
      "RB-04: Signature-Key with 36 parameters (33 unknown ones added to jwks Mode 2)",
      "401 with Agent-Auth: httpsig; identity=?1");
NR_RB(rb_components, "too-many-components", "PROFILE#9",
      "RB-04: Signature-Input covering 34 components (30 extra header fields)",
      "401 with Agent-Auth: httpsig; identity=?1");
NR_RB(rb_control, "control-chars", "PROFILE#9",
      "RB-05: a control character (0x01, 0x1f, 0x7f) or NUL inside an AAuth header",
      "4xx, never 5xx, a crash or a hang");
NR_RB(rb_challenge, "challenge", "PROFILE#5",
      "every 401 of the RB cases carries the identity endpoint's challenge",
      "Agent-Auth: httpsig; identity=?1 on each 401");

NR_MD(md_metadata, "metadata", "PROFILE#3", "RFC8615#3",
      "MD-01: GET {resource}/.well-known/aauth-resource",
      "200 application/json, one JSON object (no duplicate members) with resource, jwks_uri "
      "(https, or http loopback in dev mode) and resource_token_endpoint");
NR_MD(md_identifier, "identifier", "PROFILE#3", "RFC8414#3.3",
      "MD-01: the metadata \"resource\" member",
      "equals the identifier the document was fetched for (D-13)");
NR_MD(md_jwks, "jwks", "PROFILE#3", "RFC7517#5", "MD-02: GET the resource's jwks_uri",
      "200 application/json (or jwk-set+json), a JWK Set the harness parses (at most 32 keys, "
      "64 KiB)");
NR_MD(md_jwks_public, "jwks-public-only", "PROFILE#3", "RFC7517#5",
      "MD-02: the resource JWKS holds public keys only",
      "no key carries d, p, q, dp, dq, qi, k or oth");
NR_MD(md_jwks_kid, "jwks-kid", "PROFILE#3", "RFC7517#4.5", "MD-02: kid of every resource JWKS key",
      "present, non-empty and unique (D-14)");

static const struct nr_expect e401_any = {401,          0, NULL, NULL, NULL, NR_CHAL_IDENTITY,
                                          &rb_challenge};

/* ---- control ---------------------------------------------------------------- */

static bool baseline(struct nr_fx *fx)
{
    static const struct nr_expect ok = {200, 0, NULL, NULL, NULL, NR_CHAL_NONE, NULL};
    cJSON *h = nr_agent_header(fx), *c = nr_agent_claims(fx);
    struct aa_sign_cred cred;
    struct nr_req r = {0};
    char *tok = NULL;
    bool pass;

    r.note = "control: the valid identity request (jwks Mode 2)";
    pass = nr_run(&rb_baseline, fx, &r, &ok, NULL);
    aa_conf_note("\n### control: a valid agent token");
    if (h == NULL || c == NULL ||
        nr_jwt("agent token (decoded)", h, c, &fx->agent_key, NULL, &tok) != AA_OK) {
        aa_check_error(&rb_baseline, "cannot build the control token");
        pass = false;
    } else {
        cred = nr_jwt_cred(tok);
        memset(&r, 0, sizeof(r));
        r.cred = &cred;
        r.key = &fx->dkey;
        pass = nr_run(&rb_baseline, fx, &r, &ok, NULL) && pass;
    }
    free(tok);
    cJSON_Delete(h);
    cJSON_Delete(c);
    return pass;
}

/* ---- RB-01, RB-02 ----------------------------------------------------------- */

static void sizes(struct nr_fx *fx)
{
    static const struct nr_expect e431 = {431, 400, NULL, NULL, NULL, NR_CHAL_NONE, NULL};
    static const struct nr_expect e413 = {413, 0, NULL, NULL, NULL, NR_CHAL_NONE, NULL};
    struct aa_http_headers h;
    struct nr_req r = {0};
    char *pad = malloc(17 * 1024 + 1);
    char *body = malloc((size_t)1024 * 1024 + 1);

    if (pad == NULL || body == NULL) {
        aa_check_error(&rb_header, "out of memory");
        aa_check_error(&rb_block, "out of memory");
        aa_check_error(&rb_body, "out of memory");
        goto out;
    }
    memset(pad, 'a', 17 * 1024);
    pad[17 * 1024] = '\0';
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "X-Padding", pad);
    r.note = "RB-01: X-Padding of 17408 bytes";
    r.headers = &h;
    nr_run(&rb_header, fx, &r, &e431, NULL);
    aa_http_headers_cleanup(&h);

    aa_http_headers_init(&h);
    pad[13926] = '\0'; /* 5 x 13926 + names > 68 KiB, each field < 16 KiB */
    for (int i = 0; i < 5; i++) {
        char name[32];
        aa_snprintf(name, sizeof(name), "X-Padding-%d", i + 1);
        aa_http_headers_add(&h, name, pad);
    }
    r.note = "RB-01: five 13926-byte fields (a header block over 64 KiB)";
    nr_run(&rb_block, fx, &r, &e431, NULL);
    aa_http_headers_cleanup(&h);

    /* JSON-looking bytes; only the size matters. */
    memset(body, ' ', (size_t)1024 * 1024 + 1);
    body[0] = '[';
    body[(size_t)1024 * 1024] = ']';
    memset(&r, 0, sizeof(r));
    r.note = "RB-02: signed POST, body of 1048577 bytes, Expect: 100-continue";
    r.method = "POST";
    r.ctype = "application/json";
    r.body = body;
    r.body_len = (size_t)1024 * 1024 + 1;
    /* lets the target refuse before the body is sent (RFC 9110 section
     * 10.1.1): an early 413 followed by a close would otherwise reset the
     * connection under the body, and the check could only report ERROR */
    r.expect_continue = true;
    nr_run(&rb_body, fx, &r, &e413, NULL);
out:
    free(pad);
    free(body);
}

/* ---- RB-03, RB-04 ----------------------------------------------------------- */

static void token_limits(struct nr_fx *fx)
{
    static const struct nr_expect e_tok = {
        401, 0, "invalid_token", NULL, NULL, NR_CHAL_IDENTITY, &rb_challenge};
    cJSON *h = nr_agent_header(fx), *c = nr_agent_claims(fx), *deep = NULL;
    struct aa_sign_cred cred;
    struct nr_req r = {0};
    char *tok = NULL, *pad = calloc(1, 9 * 1024 + 1);

    if (h == NULL || c == NULL || pad == NULL) {
        aa_check_error(&rb_jwt, "out of memory");
        aa_check_error(&rb_depth, "out of memory");
        goto out;
    }
    memset(pad, 'p', 9 * 1024);
    cJSON_AddStringToObject(c, "pad", pad);
    aa_conf_note("\n### RB-03: agent token with a 9 KiB claim");
    if (nr_jwt("agent token (decoded)", h, c, &fx->agent_key, NULL, &tok) != AA_OK) {
        aa_check_error(&rb_jwt, "cannot sign the token");
    } else {
        cred = nr_jwt_cred(tok);
        r.cred = &cred;
        r.key = &fx->dkey;
        nr_run(&rb_jwt, fx, &r, &e_tok, NULL);
    }
    free(tok);
    tok = NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(c, "pad");

    /* 40 nested arrays under the claims object: depth 41 > 32. */
    for (int i = 0; i < 40; i++) {
        cJSON *a = cJSON_CreateArray();
        if (a == NULL)
            break;
        if (deep != NULL)
            cJSON_AddItemToArray(a, deep);
        deep = a;
    }
    cJSON_AddItemToObject(c, "deep", deep);
    aa_conf_note("\n### RB-03: agent token whose payload nests 40 arrays");
    if (nr_jwt("agent token (decoded)", h, c, &fx->agent_key, NULL, &tok) != AA_OK) {
        aa_check_error(&rb_depth, "cannot sign the token");
    } else {
        cred = nr_jwt_cred(tok);
        memset(&r, 0, sizeof(r));
        r.cred = &cred;
        r.key = &fx->dkey;
        nr_run(&rb_depth, fx, &r, &e_tok, NULL);
    }
out:
    free(tok);
    free(pad);
    cJSON_Delete(h);
    cJSON_Delete(c);
}

static void many(struct nr_fx *fx)
{
    const char *names[31];
    char storage[30][16];
    struct aa_sign_cred cred;
    struct aa_sign_opts o;
    struct aa_http_headers h;
    struct nr_req r = {0};
    struct aa_buf v;

    aa_buf_init(&v, 16 * 1024);
    aa_buf_printf(&v, "sig1=(scheme=jwks id=\"%s\" kid=\"%s\" well-known=\"%s\"", fx->agent_id,
                  fx->agent_key.kid, NR_WK_AGENT);
    for (int i = 1; i <= 33; i++)
        aa_buf_printf(&v, " p%d=\"x\"", i);
    aa_buf_addc(&v, ')');
    memset(&cred, 0, sizeof(cred));
    cred.raw_signature_key = v.p;
    r.note = "RB-04: Signature-Key with 36 parameters";
    r.cred = &cred;
    nr_run(&rb_params, fx, &r, &e401_any, NULL);
    aa_buf_free(&v);

    aa_http_headers_init(&h);
    for (int i = 0; i < 30; i++) {
        aa_snprintf(storage[i], sizeof(storage[i]), "x-c%d", i + 1);
        names[i] = storage[i];
        aa_http_headers_add(&h, storage[i], "1");
    }
    names[30] = NULL;
    memset(&o, 0, sizeof(o));
    o.extra_covered = names;
    memset(&r, 0, sizeof(r));
    r.note = "RB-04: Signature-Input covering 34 components";
    r.headers = &h;
    r.opts = &o;
    nr_run(&rb_components, fx, &r, &e401_any, NULL);
    aa_http_headers_cleanup(&h);
}

/* ---- RB-05 ------------------------------------------------------------------ */

/* 4xx passes; 5xx, a crash or a hang fail; transport faults are ERROR. */
static void judge_4xx(const struct aa_check *c, int rc, const struct aa_diag *d,
                      const struct aa_http_response *resp)
{
    if (rc == AA_OK && resp->status >= 400 && resp->status < 500) {
        aa_check_pass(c, "%ld", resp->status);
        if (resp->status == 401)
            nr_judge_challenge(&rb_challenge, resp, NR_CHAL_IDENTITY);
        return;
    }
    if (rc == AA_OK && resp->status < 500) {
        char actual[32];
        aa_snprintf(actual, sizeof(actual), "%ld", resp->status);
        aa_check_fail(c, "4xx", actual,
                      "PROFILE#9 RB-05: a control character in an AAuth header "
                      "must be refused");
        return;
    }
    {
        struct aa_http_expect e = {400, 0, NULL, NULL};
        if (rc != AA_OK && resp->status == 0 && !(rc <= -600 && rc >= -649))
            aa_check_fault(c, "build or sign the request", rc, d);
        else
            aa_expect_http(c, rc, d, resp, &e);
    }
}

/*
 * Write |n| bytes to the http origin |origin| on a plain TCP connection
 * and read the answer (at most 64 KiB, 5 s). AA_OK with |out| holding
 * what came back (possibly nothing); AA_E_UNSUPPORTED for https;
 * AA_E_HTTP_CONNECT / _SEND / _TIMEOUT like the client.
 */
static int raw_exchange(const char *origin, const char *bytes, size_t n, struct aa_buf *out,
                        struct aa_diag *d)
{
    struct addrinfo hints, *ai = NULL;
    struct timeval tv = {5, 0};
    struct aa_url u;
    char host[AA_URL_HOST_MAX + 1], port[8];
    int fd = -1, rc;
    size_t off = 0;

    if ((rc = aa_url_parse(origin, strlen(origin), 0, &u, d)) != AA_OK)
        return rc;
    if (u.https || u.host.len >= sizeof(host))
        return aa_fail(d, AA_E_UNSUPPORTED, "PROFILE#9", "raw TCP is only used for http targets");
    memcpy(host, u.host.p, u.host.len);
    host[u.host.len] = '\0';
    aa_snprintf(port, sizeof(port), "%u", (unsigned)u.port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
        return aa_fail(d, AA_E_HTTP_RESOLVE, "PROFILE#9", "cannot resolve %s", host);
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = aa_fail(d, AA_E_HTTP_CONNECT, "PROFILE#9", "cannot connect to %s: %s", origin,
                     strerror(errno));
        goto out;
    }
    while (off < n) {
        ssize_t w = send(fd, bytes + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) {
            rc = aa_fail(d, AA_E_HTTP_SEND, "PROFILE#9", "send to %s: %s", origin, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    for (;;) {
        char buf[4096];
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got == 0)
            break;
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                rc = out->len > 0 ? AA_OK
                                  : aa_fail(d, AA_E_HTTP_TIMEOUT, "PROFILE#9",
                                            "no answer from %s within 5 s", origin);
                goto out;
            }
            break;
        }
        if (aa_buf_add(out, buf, (size_t)got) != AA_OK)
            break;
    }
    rc = AA_OK;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

/* The request line and headers of a valid signed GET, with a NUL written
 * into the Signature-Key value; the exchange goes to the transcript. */
static void nul_case(struct nr_fx *fx)
{
    struct aa_sign_request sr = {0};
    struct aa_sign_opts o;
    struct aa_http_response resp;
    struct aa_signed sg;
    struct aa_buf wire, shown, back;
    struct aa_diag d;
    int rc;

    memset(&o, 0, sizeof(o));
    memset(&sg, 0, sizeof(sg));
    aa_buf_init(&wire, 64 * 1024);
    aa_buf_init(&shown, 128 * 1024);
    aa_buf_init(&back, 64 * 1024);
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    if (strncmp(fx->res->connect_url, "https:", 6) == 0) {
        aa_conf_note("\n### RB-05: NUL variant not sent: libcurl cannot send a NUL byte and the "
                     "raw TCP writer speaks only http");
        goto out;
    }
    sr.method = "GET";
    sr.authority = fx->authority;
    sr.target = nr_jwks_path(fx);
    rc = aa_aauth_sign(NULL, &sr, &fx->agent_key, &fx->jwks_cred, &o, &sg, &d);
    if (rc != AA_OK) {
        aa_check_fault(&rb_control, "sign the request", rc, &d);
        goto out;
    }
    aa_conf_note("\n### RB-05: NUL inside the Signature-Key value (raw TCP)");
    aa_conf_note_block("signature base", sg.base, sg.base_len);
    aa_buf_printf(&wire, "GET %s HTTP/1.1\r\nHost: %s\r\n", sr.target,
                  fx->res->connect_url + strlen("http://"));
    for (size_t i = 0; i < sg.headers.n; i++) {
        const struct aa_http_header *h = &sg.headers.v[i];
        aa_buf_printf(&wire, "%s: ", h->name);
        if (strcasecmp(h->name, "Signature-Key") == 0 && h->value_len > 12) {
            aa_buf_add(&wire, h->value, 12);
            aa_buf_addc(&wire, '\0');
            aa_buf_add(&wire, h->value + 12, h->value_len - 12);
        } else {
            aa_buf_add(&wire, h->value, h->value_len);
        }
        aa_buf_adds(&wire, "\r\n");
    }
    aa_buf_adds(&wire, "Connection: close\r\n\r\n");
    for (size_t i = 0; i < wire.len; i++) {
        unsigned char ch = (unsigned char)wire.p[i];
        if (ch == '\r')
            continue;
        if (ch == '\n' || (ch >= 0x20 && ch < 0x7f))
            aa_buf_addc(&shown, (char)ch);
        else
            aa_buf_printf(&shown, "\\x%02x", ch);
    }
    aa_conf_note_block("HARNESS raw request (\\x00 is the NUL byte)", shown.p, shown.len);
    rc = raw_exchange(fx->res->connect_url, wire.p, wire.len, &back, &d);
    if (rc == AA_OK && back.len > 0)
        aa_conf_note_block("raw response", back.p, back.len);
    if (rc == AA_OK) {
        long st = 0;
        if (back.len >= 12 && strncmp(back.p, "HTTP/1.", 7) == 0)
            st = strtol(back.p + 9, NULL, 10);
        if (st == 0) {
            /* closed without an HTTP answer: PROFILE#9 counts it a crash */
            rc = AA_E_HTTP_PROTOCOL;
            aa_fail(&d, rc, "PROFILE#9", "connection closed without an HTTP response");
        } else {
            resp.status = st;
        }
    }
    if (rc == AA_OK && resp.status >= 400 && resp.status < 500) {
        aa_check_pass(&rb_control, "%ld (NUL)", resp.status);
        /* The challenge of a raw answer is not parsed: the judgement of
         * the libcurl variants covers it. */
    } else {
        judge_4xx(&rb_control, rc, &d, &resp);
    }
out:
    aa_signed_cleanup(&sg);
    aa_http_response_cleanup(&resp);
    aa_buf_free(&wire);
    aa_buf_free(&shown);
    aa_buf_free(&back);
}

static void control_chars(struct nr_fx *fx)
{
    static const struct {
        const char *name, *note;
        unsigned char ch;
    } vs[] = {
        {"Signature-Key", "RB-05: 0x01 inside the Signature-Key value", 0x01},
        {"Signature-Input", "RB-05: 0x1f inside the Signature-Input value", 0x1f},
        {"Signature", "RB-05: 0x7f inside the Signature value", 0x7f},
    };
    struct aa_http_response resp;
    struct aa_signed sg;
    struct nr_req r = {0};
    struct aa_diag d;
    int rc;

    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        char v[16 * 1024];
        const char *rep[3] = {vs[i].name, v, NULL};
        const char *orig = NULL;

        /* Sign first to learn the value, then send it with the byte in. */
        memset(&sg, 0, sizeof(sg));
        aa_diag_clear(&d);
        {
            struct aa_sign_request sr = {0};
            struct aa_sign_opts o;
            memset(&o, 0, sizeof(o));
            sr.method = "GET";
            sr.authority = fx->authority;
            sr.target = nr_jwks_path(fx);
            rc = aa_aauth_sign(NULL, &sr, &fx->agent_key, &fx->jwks_cred, &o, &sg, &d);
        }
        if (rc == AA_OK)
            orig = strcasecmp(vs[i].name, "Signature-Key") == 0     ? sg.signature_key
                   : strcasecmp(vs[i].name, "Signature-Input") == 0 ? sg.signature_input
                                                                    : sg.signature;
        if (orig == NULL || strlen(orig) < 8 || strlen(orig) + 2 > sizeof(v)) {
            aa_check_fault(&rb_control, "sign the request", rc != AA_OK ? rc : AA_E_INTERNAL, &d);
            aa_signed_cleanup(&sg);
            continue;
        }
        memcpy(v, orig, 6);
        v[6] = (char)vs[i].ch;
        memcpy(v + 7, orig + 6, strlen(orig + 6) + 1);
        aa_signed_cleanup(&sg);
        memset(&r, 0, sizeof(r));
        r.note = vs[i].note;
        r.raw = true;
        r.replace = rep;
        aa_http_response_init(&resp);
        rc = nr_send(fx, &r, &resp, NULL, &d);
        judge_4xx(&rb_control, rc, &d, &resp);
        aa_http_response_cleanup(&resp);
    }
    nul_case(fx);
}

/* ---- MD-01, MD-02 ----------------------------------------------------------- */

static bool url_ok(const char *v, struct aa_buf *why)
{
    struct aa_url u;
    struct aa_diag d;

    aa_diag_clear(&d);
    if (v == NULL) {
        aa_buf_adds(why, "absent");
        return false;
    }
    if (aa_url_parse(v, strlen(v), 0, &u, &d) != AA_OK) {
        aa_buf_adds(why, d.msg);
        return false;
    }
    if (!u.https && !(aa_conf_dev_mode() && aa_http_host_is_loopback(u.host))) {
        aa_buf_printf(why, "%s: http only for loopback in dev mode (PROFILE#1)", v);
        return false;
    }
    return true;
}

static void jwks_checks(const char *jwks_uri)
{
    struct aa_http_response resp;
    struct md_jwks_scan scan;
    struct aa_jwks set = {0};
    struct aa_diag d;
    const cJSON *keys;
    cJSON *doc = NULL;
    char *url = aa_strdup(jwks_uri); /* aa_conf_send connects to the listen address */
    const char *ct;
    int rc;

    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    if (url == NULL) {
        aa_check_error(&md_jwks, "out of memory");
        goto out;
    }
    rc = aa_conf_get("HARNESS", url, &resp, &d);
    if (!aa_expect_status(&md_jwks, rc, &d, &resp, 200, NULL) || resp.status != 200) {
        aa_check_not_evaluated(&md_jwks, AA_CHECKS(&md_jwks_public, &md_jwks_kid));
        goto out;
    }
    ct = aa_http_headers_get(&resp.headers, "Content-Type");
    if (!md_media_type_is(ct, "application/json") &&
        !md_media_type_is(ct, "application/jwk-set+json"))
        aa_check_fail(&md_jwks, "Content-Type application/json or application/jwk-set+json",
                      ct ? ct : "(none)", NULL);
    rc = aa_json_parse(resp.body, resp.body_len, NULL, &doc, &d);
    keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
    if (rc != AA_OK || !cJSON_IsArray(keys)) {
        aa_check_fail(&md_jwks, "{\"keys\":[...]}", rc != AA_OK ? d.msg : "no \"keys\" array",
                      NULL);
        aa_check_not_evaluated(&md_jwks, AA_CHECKS(&md_jwks_public, &md_jwks_kid));
        goto out;
    }
    md_jwks_scan(keys, 0, &scan);
    if (scan.priv.len == 0)
        aa_check_pass(&md_jwks_public, "%d public key%s", scan.n, scan.n == 1 ? "" : "s");
    else
        aa_check_fail(&md_jwks_public, md_jwks_public.expect, scan.priv.p,
                      "a published private key must be considered compromised");
    if (scan.kid.len == 0 && scan.n > 0)
        aa_check_pass(&md_jwks_kid, "%d unique kid%s", scan.n, scan.n == 1 ? "" : "s");
    else
        aa_check_fail(&md_jwks_kid, md_jwks_kid.expect, scan.n == 0 ? "no keys" : scan.kid.p, NULL);
    md_jwks_scan_free(&scan);
    aa_diag_clear(&d);
    rc = aa_jwks_parse(resp.body, resp.body_len, &set, &d);
    aa_expect_ok(&md_jwks, rc, &d);
    aa_jwks_cleanup(&set);
out:
    cJSON_Delete(doc);
    free(url);
    aa_http_response_cleanup(&resp);
}

static void metadata(struct nr_fx *fx)
{
    static const struct aa_check *const rest[] = {&md_identifier, &md_jwks, &md_jwks_public,
                                                  &md_jwks_kid, NULL};
    const struct aa_conf_target *res = fx->res;
    struct aa_http_response resp;
    struct aa_buf url, why;
    struct aa_diag d;
    cJSON *doc = NULL;
    const char *ct, *jwks_uri;
    bool ok = true;
    int rc;

    aa_http_response_init(&resp);
    aa_buf_init(&url, 4096);
    aa_buf_init(&why, 4096);
    aa_diag_clear(&d);
    aa_conf_note("\n### MD-01: the resource's metadata");
    if (aa_http_well_known_url(res->connect_url, NR_WK_RESOURCE, &url) != AA_OK) {
        aa_check_error(&md_metadata, "cannot build the metadata URL");
        aa_check_not_evaluated(&md_metadata, rest);
        goto out;
    }
    rc = aa_conf_get("HARNESS", url.p, &resp, &d);
    if (!aa_expect_status(&md_metadata, rc, &d, &resp, 200, NULL) || resp.status != 200) {
        aa_check_not_evaluated(&md_metadata, rest);
        goto out;
    }
    ct = aa_http_headers_get(&resp.headers, "Content-Type");
    if (!md_media_type_is(ct, "application/json")) {
        aa_check_fail(&md_metadata, "Content-Type application/json", ct ? ct : "(none)", NULL);
        ok = false;
    }
    rc = aa_json_parse(resp.body, resp.body_len, NULL, &doc, &d);
    if (rc != AA_OK) {
        aa_check_fail(&md_metadata, "one JSON object without duplicate members", d.msg, NULL);
        aa_check_not_evaluated(&md_metadata, rest);
        goto out;
    }
    aa_expect_str(&md_identifier, "metadata \"resource\"", res->id, aa_json_str(doc, "resource"));
    jwks_uri = aa_json_str(doc, "jwks_uri");
    if (!url_ok(jwks_uri, &why)) {
        aa_check_fail(&md_metadata, "jwks_uri: an absolute URL", why.p, "PROFILE#3");
        ok = false;
        jwks_uri = NULL;
    }
    aa_buf_reset(&why);
    if (!url_ok(aa_json_str(doc, "resource_token_endpoint"), &why)) {
        aa_check_fail(&md_metadata, "resource_token_endpoint: an absolute URL", why.p, "PROFILE#3");
        ok = false;
    }
    if (ok)
        aa_check_pass(&md_metadata, "resource, jwks_uri, resource_token_endpoint present");
    if (jwks_uri == NULL) {
        aa_check_not_evaluated(&md_metadata, AA_CHECKS(&md_jwks, &md_jwks_public, &md_jwks_kid));
        goto out;
    }
    aa_conf_note("\n### MD-02: the resource's JWKS");
    jwks_checks(jwks_uri);
out:
    cJSON_Delete(doc);
    aa_buf_free(&url);
    aa_buf_free(&why);
    aa_http_response_cleanup(&resp);
}

AA_CASE(neg_resource, rb, .title = "RB-01..RB-05: robustness limits at the identity endpoint",
        .needs = NR_NEEDS,
        .checks = AA_CHECKS(&rb_baseline, &rb_header, &rb_block, &rb_body, &rb_jwt, &rb_depth,
                            &rb_params, &rb_components, &rb_control, &rb_challenge))
{
    struct nr_fx fx;

    if (!nr_fx_init(&fx))
        goto out;
    if (!baseline(&fx)) {
        nr_not_evaluated_rest(&rb_baseline);
        goto out;
    }
    sizes(&fx);
    token_limits(&fx);
    many(&fx);
    control_chars(&fx);
    nr_finish_challenge(&rb_challenge);
out:
    nr_fx_cleanup(&fx);
}

AA_CASE(neg_resource, md, .title = "MD-01, MD-02: the resource's metadata and JWKS",
        .needs = NR_NEEDS,
        .checks = AA_CHECKS(&md_metadata, &md_identifier, &md_jwks, &md_jwks_public, &md_jwks_kid))
{
    struct nr_fx fx;

    memset(&fx, 0, sizeof(fx));
    fx.res = aa_conf_target(AA_ROLE_RESOURCE);
    if (!fx.res->present || fx.res->connect_url == NULL) {
        nr_error_rest("no resource in this run");
        return;
    }
    metadata(&fx);
}
