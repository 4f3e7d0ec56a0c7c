/*
 * neg_resource_util: the fixture, request and judging helpers of the
 * neg-resource suite (see neg_resource_util.h). PROFILE#9 semantics come
 * from the runner (aa_expect_http); this file adds the PROFILE#5
 * challenge judgement and the AAuth signing of hostile requests.
 *
 * Design choice: every request goes through one function that signs over
 * an explicit (method, authority, target) triple and then applies
 * post-signing edits, so each negative case is "the valid request with
 * exactly one thing changed" and the transcript shows the base that was
 * really signed next to what was really sent.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64/aa_b64.h"
#include "json/aa_json.h"
#include "neg_resource_util.h"

/* ---- fixture -------------------------------------------------------------- */

static int64_t harness_now(void *ctx)
{
    (void)ctx;
    return aa_conf_now();
}

static const struct aa_clock nr_clock = {harness_now, NULL};

void nr_error_rest(const char *fmt, ...)
{
    const struct aa_conf_case *cs = aa_conf_current_case();
    struct aa_buf msg;
    va_list ap;

    aa_buf_init(&msg, 1024);
    va_start(ap, fmt);
    aa_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    for (size_t i = 0; cs != NULL && cs->checks[i] != NULL; i++) {
        bool recorded = false;
        (void)aa_check_outcome(cs->checks[i], &recorded);
        if (!recorded)
            aa_check_error(cs->checks[i], "%s", msg.p != NULL ? msg.p : "fixture failure");
    }
    aa_buf_free(&msg);
}

void nr_skip_rest(const char *reason)
{
    const struct aa_conf_case *cs = aa_conf_current_case();

    for (size_t i = 0; cs != NULL && cs->checks[i] != NULL; i++) {
        bool recorded = false;
        (void)aa_check_outcome(cs->checks[i], &recorded);
        if (!recorded)
            aa_check_skip(cs->checks[i], "%s", reason);
    }
}

void nr_not_evaluated_rest(const struct aa_check *prereq)
{
    const struct aa_conf_case *cs = aa_conf_current_case();

    if (cs != NULL)
        aa_check_not_evaluated(prereq, cs->checks);
}

void nr_finish_challenge(const struct aa_check *chal)
{
    const struct aa_conf_case *cs = aa_conf_current_case();
    const struct aa_check *prereq = NULL;
    bool recorded = false;

    (void)aa_check_outcome(chal, &recorded);
    if (recorded || cs == NULL)
        return;
    /* No 401 reached the challenge judgement: every case that expected
     * one got something else; the first such verdict explains why. */
    for (size_t i = 0; prereq == NULL && cs->checks[i] != NULL; i++) {
        bool rec = false;
        enum aa_outcome o = aa_check_outcome(cs->checks[i], &rec);
        if (rec && cs->checks[i] != chal && (o == AA_OUT_FAIL || o == AA_OUT_ERROR))
            prereq = cs->checks[i];
    }
    if (prereq != NULL)
        aa_check_not_evaluated(prereq, (const struct aa_check *const[]){chal, NULL});
    else
        aa_check_error(chal, "no 401 answer reached the challenge judgement");
}

bool nr_fx_init(struct nr_fx *fx)
{
    const struct aa_conf_target *ag;
    struct aa_ref_agent_config cfg;
    struct aa_diag d;
    int rc;

    memset(fx, 0, sizeof(*fx));
    aa_diag_clear(&d);
    fx->res = aa_conf_target(AA_ROLE_RESOURCE);
    fx->as = aa_conf_target(AA_ROLE_AUTH_SERVER);
    if (!fx->res->present || fx->res->id == NULL || fx->res->connect_url == NULL) {
        nr_error_rest("no resource in this run%s%s", fx->res->unavailable ? ": " : "",
                      fx->res->unavailable ? fx->res->unavailable : "");
        return false;
    }
    /* D-2: the receiver's canonical authority is that of its identifier;
     * the harness signs for it even when it connects elsewhere. */
    if (aa_url_authority_of(fx->res->id, fx->authority, sizeof(fx->authority), &d) != AA_OK) {
        nr_error_rest("resource identifier %s: %s", fx->res->id, d.msg);
        return false;
    }
    if ((rc = aa_jwk_generate(AA_KTY_OKP, NR_DELEGATE_KID, &fx->dkey)) != AA_OK ||
        (rc = aa_jwk_generate(AA_KTY_OKP, NR_ATTACKER_KID, &fx->other)) != AA_OK) {
        nr_error_rest("cannot generate Ed25519 keys: %s", aa_strerror(rc));
        return false;
    }
    fx->clock.frozen = aa_conf_clock_frozen();
    fx->clock.value = aa_conf_now();
    aa_conf_note("Resource under test: %s (%s; canonical authority %s)", fx->res->id,
                 fx->res->under_test ? "target" : "embedded reference", fx->authority);
    /* The agent identity: the run's embedded agent server when the runner
     * gives us its key (its address is what the user configured with
     * --listen/--public-url), else an agent server of our own. */
    ag = aa_conf_target(AA_ROLE_AGENT_SERVER);
    if (ag->embedded && ag->id != NULL &&
        aa_conf_role_key(AA_ROLE_AGENT_SERVER, &fx->agent_key, &d) == AA_OK &&
        fx->agent_key.is_private) {
        fx->agent_id = ag->id;
        aa_conf_note("Agent identity: the embedded agent server %s, kid %s (key from the runner)",
                     fx->agent_id, fx->agent_key.kid);
    } else {
        aa_jwk_cleanup(&fx->agent_key);
        aa_diag_clear(&d);
        /* the resource fetches this agent's metadata and JWKS */
        if (!aa_conf_harness_reachable(fx->res, &d)) {
            nr_skip_rest(d.msg);
            return false;
        }
        if ((rc = aa_jwk_generate(AA_KTY_OKP, NR_AGENT_KID, &fx->agent_key)) != AA_OK) {
            nr_error_rest("cannot generate an Ed25519 key: %s", aa_strerror(rc));
            return false;
        }
        aa_ref_agent_defaults(&cfg);
        cfg.c.bind_addr = aa_conf_harness_host();
        cfg.c.key = &fx->agent_key;
        cfg.c.clock = &fx->clock;
        cfg.c.verbosity = 0;
        rc = aa_ref_agent_start(&cfg, &fx->agent, &d);
        if (rc != AA_OK) {
            nr_error_rest("the harness's own agent server could not start: %s: %s", aa_strerror(rc),
                          d.msg);
            return false;
        }
        fx->agent_id = aa_ref_id(fx->agent);
        aa_conf_note("Agent identity: the harness's own agent server %s, kid %s (the run's agent "
                     "server is %s)",
                     fx->agent_id, fx->agent_key.kid,
                     ag->under_test ? "under test: its key is not the harness's" : "not embedded");
    }
    fx->jwks_cred.scheme = AA_SIGKEY_JWKS;
    fx->jwks_cred.id = fx->agent_id;
    fx->jwks_cred.kid = fx->agent_key.kid;
    fx->jwks_cred.well_known = NR_WK_AGENT;
    return true;
}

void nr_fx_cleanup(struct nr_fx *fx)
{
    aa_ref_stop(fx->agent);
    fx->agent = NULL;
    aa_jwk_cleanup(&fx->agent_key);
    aa_jwk_cleanup(&fx->dkey);
    aa_jwk_cleanup(&fx->other);
}

const char *nr_jwks_path(const struct nr_fx *fx)
{
    return fx->res->jwks_path != NULL ? fx->res->jwks_path : "/data-jwks";
}

const char *nr_auth_path(const struct nr_fx *fx)
{
    return fx->res->auth_path != NULL ? fx->res->auth_path : "/data-auth";
}

const char *nr_hwk_path(const struct nr_fx *fx)
{
    return fx->res->hwk_path != NULL ? fx->res->hwk_path : "/data-hwk";
}

/* ---- requests ----------------------------------------------------------- */

static int copy_line(struct aa_http_headers *dst, const struct aa_http_header *h)
{
    return h->raw ? aa_http_headers_add_line(dst, h->name)
                  : aa_http_headers_addn(dst, h->name, h->value, h->value_len);
}

/* |sg|'s lines with |r|'s post-signing edits, appended to |all|. */
static int signer_lines(const struct nr_req *r, const struct aa_signed *sg,
                        struct aa_http_headers *all)
{
    bool used[16] = {false};
    int rc = AA_OK;

    for (size_t i = 0; rc == AA_OK && i < sg->headers.n; i++) {
        const struct aa_http_header *h = &sg->headers.v[i];
        bool done = false;
        for (size_t k = 0; !h->raw && r->replace != NULL && r->replace[k] != NULL && k < 32;
             k += 2) {
            if (!used[k / 2] && strcasecmp(r->replace[k], h->name) == 0) {
                rc = aa_http_headers_add(all, h->name, r->replace[k + 1]);
                used[k / 2] = done = true;
                break;
            }
        }
        if (!done && rc == AA_OK)
            rc = copy_line(all, h);
    }
    for (size_t k = 0; rc == AA_OK && r->replace != NULL && r->replace[k] != NULL && k < 32; k += 2)
        if (!used[k / 2])
            rc = aa_http_headers_add(all, r->replace[k], r->replace[k + 1]);
    return rc;
}

int nr_send(struct nr_fx *fx, const struct nr_req *r, struct aa_http_response *resp,
            struct aa_signed *sg_out, struct aa_diag *d)
{
    const char *method = r->method != NULL ? r->method : "GET";
    const char *path = r->path != NULL ? r->path : nr_jwks_path(fx);
    struct aa_http_headers mine, all;
    struct aa_http_request req = {0};
    struct aa_sign_request sr = {0};
    struct aa_sign_opts o = {0};
    struct aa_signed sg;
    struct aa_buf url, target;
    char other_auth[AA_URL_AUTHORITY_MAX] = "";
    int rc = AA_OK;

    memset(&sg, 0, sizeof(sg));
    aa_http_headers_init(&mine);
    aa_http_headers_init(&all);
    aa_buf_init(&url, AA_URL_MAX_LEN + 1);
    aa_buf_init(&target, AA_URL_MAX_LEN + 1);
    aa_http_response_init(resp);
    if (r->note != NULL)
        aa_conf_note("\n### %s", r->note);
    if (r->url != NULL) {
        struct aa_url u;
        struct aa_buf t;
        aa_buf_init(&t, AA_URL_MAX_LEN + 1);
        /* the other role's canonical authority (its identifier's, D-2) */
        if ((rc = aa_url_parse(r->url, strlen(r->url), 0, &u, d)) != AA_OK ||
            (rc = aa_url_target(&u, &t)) != AA_OK ||
            (rc = aa_conf_sign_authority(r->url, other_auth, sizeof(other_auth))) != AA_OK) {
            aa_buf_free(&t);
            goto out;
        }
        aa_buf_adds(&url, r->url);
        aa_buf_adds(&target, t.p != NULL ? t.p : "/");
        aa_buf_free(&t);
        path = target.p;
    } else {
        aa_buf_printf(&url, "%s%s", fx->res->connect_url, path);
    }
    if (url.err != AA_OK || target.err != AA_OK) {
        rc = aa_fail(d, AA_E_LIMIT, "PROFILE#9", "request URL too long");
        goto out;
    }
    if (r->ctype != NULL)
        rc = aa_http_headers_add(&mine, "Content-Type", r->ctype);
    for (size_t i = 0; rc == AA_OK && r->headers != NULL && i < r->headers->n; i++)
        rc = copy_line(&mine, &r->headers->v[i]);
    if (rc != AA_OK) {
        rc = aa_fail(d, rc, "README#internals", "cannot build the request headers");
        goto out;
    }
    if (!r->unsigned_req) {
        if (r->opts != NULL)
            o = *r->opts;
        if (o.clock == NULL)
            o.clock = &nr_clock;
        sr.method = r->sign_method != NULL ? r->sign_method : method;
        sr.authority = r->sign_authority != NULL ? r->sign_authority
                       : other_auth[0] != '\0'   ? other_auth
                                                 : fx->authority;
        sr.target = r->sign_target != NULL ? r->sign_target : path;
        sr.headers = &mine;
        sr.body = r->body;
        sr.body_len = r->body_len;
        for (int tries = 0;; tries++) {
            rc = aa_aauth_sign(NULL, &sr, r->key != NULL ? r->key : &fx->agent_key,
                               r->cred != NULL ? r->cred : &fx->jwks_cred, &o, &sg, d);
            if (rc != AA_OK || r->sig_filter == NULL || r->sig_filter(&sg))
                break;
            if (tries >= NR_RESIGN_MAX) {
                aa_signed_cleanup(&sg);
                rc = aa_fail(d, AA_E_INTERNAL, "PROFILE#9",
                             "no signature of the required form after %d attempts", tries + 1);
                break;
            }
            aa_signed_cleanup(&sg);
            o.created_offset -= 1;
        }
        if (rc != AA_OK) {
            aa_conf_note("*** could not sign %s %s: %s: %s ***", sr.method, sr.target,
                         aa_strerror(rc), d->msg);
            goto out;
        }
        if (sg.base != NULL)
            aa_conf_note_block("signature base", sg.base, sg.base_len);
    }
    for (size_t i = 0; rc == AA_OK && i < mine.n; i++)
        rc = copy_line(&all, &mine.v[i]);
    if (rc == AA_OK && !r->unsigned_req)
        rc = signer_lines(r, &sg, &all);
    if (rc != AA_OK) {
        rc = aa_fail(d, rc, "README#internals", "cannot assemble the signed request headers");
        goto out;
    }
    req.method = method;
    req.url = url.p;
    req.headers = &all;
    req.body = r->body;
    req.body_len = r->body_len;
    req.flags = (r->raw ? AA_HTTP_REQ_RAW : 0) |
                (r->expect_continue ? AA_HTTP_REQ_EXPECT_CONTINUE : 0);
    rc = aa_conf_send("HARNESS", &req, resp, d);
out:
    if (sg_out != NULL)
        *sg_out = sg;
    else
        aa_signed_cleanup(&sg);
    aa_buf_free(&url);
    aa_buf_free(&target);
    aa_http_headers_cleanup(&mine);
    aa_http_headers_cleanup(&all);
    return rc;
}

/* ---- judging ------------------------------------------------------------ */

char *nr_agent_auth(const struct aa_http_response *resp)
{
    struct aa_buf b;

    aa_buf_init(&b, 64 * 1024);
    for (size_t i = 0; i < resp->headers.n; i++) {
        const struct aa_http_header *h = &resp->headers.v[i];
        if (h->lname == NULL || strcmp(h->lname, "agent-auth") != 0)
            continue;
        if (b.len > 0)
            aa_buf_adds(&b, ", ");
        aa_buf_add(&b, h->value, h->value_len);
    }
    if (b.err != AA_OK || b.len == 0) {
        aa_buf_free(&b);
        return NULL;
    }
    return aa_buf_detach(&b, NULL);
}

static const char *chal_text(enum nr_chal want)
{
    switch (want) {
    case NR_CHAL_BASE:
        return "Agent-Auth: httpsig (no identity=?1, no auth-token) (PROFILE#5)";
    case NR_CHAL_IDENTITY:
        return "Agent-Auth: httpsig; identity=?1 (PROFILE#5, D-16)";
    case NR_CHAL_AUTH_TOKEN:
        return "Agent-Auth: httpsig; auth-token; resource_token=\"...\"; auth_server=\"...\" "
               "(PROFILE#5, D-16)";
    default:
        return "";
    }
}

void nr_judge_challenge(const struct aa_check *c, const struct aa_http_response *resp,
                        enum nr_chal want)
{
    struct aa_challenge ch;
    struct aa_diag d;
    char *v;
    const char *bad = NULL;
    char why[AA_DIAG_MSG_MAX + 64];

    if (want == NR_CHAL_NONE)
        return;
    memset(&ch, 0, sizeof(ch));
    if ((v = nr_agent_auth(resp)) == NULL) {
        aa_check_fail(c, chal_text(want), "(no Agent-Auth header)",
                      "PROFILE#5: every 401 from a resource carries the challenge for what "
                      "the request established");
        return;
    }
    aa_diag_clear(&d);
    if (aa_challenge_parse(NULL, v, strlen(v), &ch, &d) != AA_OK) {
        aa_diag_format(&d, why, sizeof(why));
        aa_check_fail(c, chal_text(want), v, "malformed challenge: %s", why);
        free(v);
        return;
    }
    switch (want) {
    case NR_CHAL_BASE:
        if (ch.identity || ch.auth_token)
            bad = "a signature endpoint's base challenge asks for no identity or auth token";
        break;
    case NR_CHAL_IDENTITY:
        if (ch.auth_token)
            bad = "an auth-token challenge answers a valid identity without an auth token, "
                  "not this request";
        else if (!ch.identity)
            bad = "identity=?1 is missing: the endpoint needs an identity";
        break;
    case NR_CHAL_AUTH_TOKEN:
        if (!ch.auth_token)
            bad = "auth-token is missing";
        else if (ch.resource_token == NULL || ch.resource_token[0] == '\0')
            bad = "resource_token is missing";
        else if (ch.auth_server == NULL || ch.auth_server[0] == '\0')
            bad = "auth_server is missing";
        break;
    default:
        break;
    }
    if (bad != NULL)
        aa_check_fail(c, chal_text(want), v, "%s", bad);
    else
        aa_check_pass(c, "Agent-Auth: %s", v);
    aa_challenge_cleanup(&ch);
    free(v);
}

static bool http_code(int rc)
{
    return rc <= -600 && rc >= -649;
}

static void expected_text(const struct nr_expect *e, struct aa_buf *b)
{
    aa_buf_printf(b, "%ld", e->status);
    if (e->alt_status != 0)
        aa_buf_printf(b, " (or %ld)", e->alt_status);
    if (e->error != NULL)
        aa_buf_printf(b, " %s%s%s", e->error, e->alt_error ? " or " : "",
                      e->alt_error ? e->alt_error : "");
}

bool nr_judge(const struct aa_check *c, int rc, const struct aa_diag *d,
              const struct aa_http_response *resp, const struct nr_expect *e)
{
    struct aa_http_expect he = {0};
    bool ok;

    if (rc != AA_OK && !http_code(rc)) {
        aa_check_fault(c, "build or sign the request", rc, d);
        return false;
    }
    if (rc == AA_OK && e->quirk != NULL && resp->status >= 200 && resp->status < 300) {
        struct aa_buf exp;
        char actual[64];
        aa_buf_init(&exp, 1024);
        expected_text(e, &exp);
        aa_snprintf(actual, sizeof(actual), "%ld (accepted)", resp->status);
        aa_check_deviation(c, e->quirk, exp.p, actual,
                           "the resource accepted a request in a known non-conformant dialect");
        aa_buf_free(&exp);
        return false;
    }
    he.status = e->status;
    he.alt_status = e->alt_status;
    he.error = e->error;
    he.alt_error = e->alt_error;
    ok = aa_expect_http(c, rc, d, resp, &he);
    if (ok && e->chal != NR_CHAL_NONE && resp->status == e->status)
        nr_judge_challenge(e->chal_check != NULL ? e->chal_check : c, resp, e->chal);
    return ok;
}

bool nr_run(const struct aa_check *c, struct nr_fx *fx, const struct nr_req *r,
            const struct nr_expect *e, struct aa_http_response *resp_out)
{
    struct aa_http_response resp;
    struct aa_diag d;
    bool ok;
    int rc;

    aa_diag_clear(&d);
    aa_http_response_init(&resp);
    rc = nr_send(fx, r, &resp, NULL, &d);
    ok = nr_judge(c, rc, &d, &resp, e);
    if (resp_out != NULL) {
        aa_http_response_cleanup(resp_out);
        *resp_out = resp;
    } else {
        aa_http_response_cleanup(&resp);
    }
    return ok;
}

/* GET a JSON object (metadata); |*out| cJSON or NULL with |why|. */
int nr_get_json(const char *url, cJSON **out, struct aa_buf *why)
{
    struct aa_http_response resp;
    struct aa_diag d;
    int rc;

    *out = NULL;
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    rc = aa_conf_get("HARNESS", url, &resp, &d);
    if (rc != AA_OK)
        aa_buf_printf(why, "GET %s: %s: %s", url, aa_strerror(rc), d.msg);
    else if (resp.status != 200)
        aa_buf_printf(why, "GET %s: status %ld", url, resp.status);
    else if ((rc = aa_json_parse(resp.body, resp.body_len, NULL, out, &d)) != AA_OK)
        aa_buf_printf(why, "GET %s: %s", url, d.msg);
    aa_http_response_cleanup(&resp);
    return *out != NULL ? AA_OK : (rc != AA_OK ? rc : AA_E_INVAL);
}

/* ---- tokens ------------------------------------------------------------- */

cJSON *nr_agent_header(const struct nr_fx *fx)
{
    cJSON *h = cJSON_CreateObject();

    if (h == NULL || cJSON_AddStringToObject(h, "typ", "agent+jwt") == NULL ||
        cJSON_AddStringToObject(h, "kid", fx->agent_key.kid) == NULL) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

cJSON *nr_agent_claims(const struct nr_fx *fx)
{
    cJSON *c = cJSON_CreateObject(), *cnf, *jwk = aa_jwk_to_cjson(&fx->dkey, false);
    int64_t now = aa_conf_now();

    if (c == NULL || jwk == NULL || cJSON_AddStringToObject(c, "iss", fx->agent_id) == NULL ||
        cJSON_AddStringToObject(c, "sub", NR_SUB) == NULL ||
        cJSON_AddNumberToObject(c, "iat", (double)now) == NULL ||
        cJSON_AddNumberToObject(c, "exp", (double)(now + 3600)) == NULL ||
        (cnf = cJSON_AddObjectToObject(c, "cnf")) == NULL) {
        cJSON_Delete(c);
        cJSON_Delete(jwk);
        return NULL;
    }
    cJSON_AddItemToObject(cnf, "jwk", jwk);
    return c;
}

/* Up to 4 KiB of a base64url segment, decoded for display. */
static void note_segment(struct aa_buf *b, const char *label, const char *seg, size_t n)
{
    uint8_t tmp[4096];
    size_t got = 0;

    aa_buf_printf(b, "%s: ", label);
    if (n <= aa_b64_encoded_len(sizeof(tmp), false) &&
        aa_b64_decode(seg, n, AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, tmp, sizeof(tmp), &got, NULL) ==
            AA_OK) {
        for (size_t i = 0; i < got; i++)
            aa_buf_addc(b, (tmp[i] >= 0x20 && tmp[i] < 0x7f) ? (char)tmp[i] : '?');
    } else {
        aa_buf_printf(b, "(not decodable as base64url: %.*s%s)", (int)(n > 200 ? 200 : n), seg,
                      n > 200 ? "..." : "");
    }
    aa_buf_addc(b, '\n');
}

void nr_note_token(const char *what, const char *token)
{
    struct aa_buf b;
    const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;

    aa_buf_init(&b, 32 * 1024);
    aa_buf_printf(&b, "%zu bytes\n", strlen(token));
    if (dot1 == NULL) {
        aa_buf_adds(&b, "(no '.' separator)\n");
    } else {
        note_segment(&b, "header", token, (size_t)(dot1 - token));
        note_segment(&b, "payload", dot1 + 1, dot2 ? (size_t)(dot2 - dot1 - 1) : strlen(dot1 + 1));
        aa_buf_printf(&b, "signature segment: %zu characters%s",
                      dot2 ? strlen(dot2 + 1) : (size_t)0, dot2 ? "" : " (absent)");
    }
    if (b.err == AA_OK)
        aa_conf_note_block(what, b.p, b.len);
    aa_buf_free(&b);
}

int nr_jwt(const char *what, const cJSON *hdr, const cJSON *claims, const struct aa_jwk *key,
           const struct aa_jwt_build_opts *o, char **out)
{
    int rc;

    *out = NULL;
    rc = aa_jwt_sign(hdr, claims, AA_ALG_ED25519, key, o, out);
    if (rc == AA_OK && what != NULL)
        nr_note_token(what, *out);
    return rc;
}

struct aa_sign_cred nr_jwt_cred(const char *token)
{
    struct aa_sign_cred c;

    memset(&c, 0, sizeof(c));
    c.scheme = AA_SIGKEY_JWT;
    c.token = token;
    return c;
}

int nr_embedded_key(enum aa_role role, struct aa_jwk *out, const char **why)
{
    static char msg[AA_DIAG_MSG_MAX + 128];
    const struct aa_conf_target *t = aa_conf_target(role);
    struct aa_diag d;
    int rc;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (!t->embedded) {
        *why = "the role is an implementation under test: the harness cannot sign for it";
        return AA_E_UNSUPPORTED;
    }
    aa_diag_clear(&d);
    rc = aa_conf_role_key(role, out, &d);
    if (rc != AA_OK || !out->is_private) {
        aa_jwk_cleanup(out);
        aa_snprintf(msg, sizeof(msg), "the runner could not provide the embedded %s's key: %s%s%s",
                    aa_role_name(role), aa_strerror(rc), d.msg[0] ? ": " : "", d.msg);
        *why = msg;
        return rc == AA_E_NOTFOUND ? AA_E_UNSUPPORTED : (rc != AA_OK ? rc : AA_E_INTERNAL);
    }
    return AA_OK;
}
