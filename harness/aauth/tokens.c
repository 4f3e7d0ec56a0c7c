/*
 * tokens.c: agent, resource and auth token validation, step by step in the
 * order of PROFILE#4.3, #4.4 and #4.5 (common rules PROFILE#4.1).
 *
 * Design choice: one small function per kind of check, each given the step
 * number its section assigns, so the three validators read like the
 * profile's numbered lists and every failure names its step.
 */
#include <stdlib.h>
#include <string.h>

#include "../b64/aa_b64.h"
#include "../json/aa_json.h"
#include "aauth_int.h"

/* aa_strerror() reaches the tables through weak references, which do not
 * pull aauth.c and jose.c out of their archives; these strong ones do,
 * so a program linking only this file still names the codes it returns. */
__attribute__((used)) static const char *(*const strerror_anchors[])(int) = {aa_aauth_strerror,
                                                                             aa_jose_strerror};

struct tctx {
    const struct aa_token_policy *pol;
    const struct aa_profile *p;
    const char *sect;
    enum aa_perr perr;
    struct aa_aauth_result *res;
    int64_t now;
};

#define TFAIL(c, step, code, ref, ...)                                                       \
    aauth_res((c)->res, (c)->sect, (step), (c)->perr, 0, (code), (ref), __VA_ARGS__)

static int tdiag(const struct tctx *c, int step, int code, const struct aa_diag *d,
                 const char *prefix)
{
    return aauth_res_diag(c->res, c->sect, step, c->perr, code, d, prefix);
}

void aa_validated_token_cleanup(struct aa_validated_token *t)
{
    if (t == NULL)
        return;
    free(t->iss);
    free(t->sub);
    free(t->aud_str);
    free(t->agent);
    free(t->agent_delegate);
    free(t->agent_jkt);
    free(t->scope);
    free(t->auth_request_url);
    aa_jwk_cleanup(&t->cnf);
    cJSON_Delete(t->header);
    cJSON_Delete(t->claims);
    memset(t, 0, sizeof(*t));
}

/*
 * alg "none" parsing, used only under AA_FAULT_ACCEPT_ALG_NONE: aa_jwt_parse
 * refuses such tokens outright (correctly), so the fault needs its own
 * minimal reader: three segments, header and payload strict JSON objects.
 */
static int parse_unsecured(const char *tok, size_t len, struct aa_jwt *t, struct aa_diag *d)
{
    const char *dot1 = memchr(tok, '.', len), *dot2;
    uint8_t *buf = NULL;
    size_t n = 0, cap;
    int rc;

    memset(t, 0, sizeof(*t));
    if (dot1 == NULL || (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok))) == NULL)
        return aa_fail(d, AA_E_JWS_FORMAT, "RFC7515#7.1", "unsecured JWT: not three segments");
    cap = len;
    buf = malloc(cap + 1);
    if (buf == NULL)
        return AA_E_NOMEM;
    rc = aa_b64_decode(tok, (size_t)(dot1 - tok), AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, buf, cap,
                       &n, d);
    if (rc == AA_OK)
        rc = aa_json_parse((const char *)buf, n, NULL, &t->header, d);
    if (rc == AA_OK)
        rc = aa_b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), AA_B64_URL, AA_B64_PAD_FORBIDDEN,
                           0, buf, cap, &n, d);
    if (rc == AA_OK)
        rc = aa_json_parse((const char *)buf, n, NULL, &t->claims, d);
    free(buf);
    if (rc != AA_OK) {
        aa_jwt_cleanup(t);
        return rc;
    }
    t->alg = AA_ALG_NONE;
    t->alg_name = aa_json_str(t->header, "alg");
    t->typ = aa_json_str(t->header, "typ");
    t->kid = aa_json_str(t->header, "kid");
    return AA_OK;
}

static int t_parse(const struct tctx *c, const char *tok, size_t len, struct aa_jwt *jwt,
                   int step, int jwe_step)
{
    struct aa_diag d;
    size_t max = c->p->limit.jwt;
    int rc;

    memset(jwt, 0, sizeof(*jwt));
    if (tok == NULL)
        return TFAIL(c, step, AA_E_INVAL, "PROFILE#4.1", "no token");
    if (len > max || len > AA_JWT_MAX_LEN)
        return TFAIL(c, step, AA_E_JWS_TOO_LARGE, "PROFILE#4.1",
                     "token is %zu bytes, more than %zu (RB-03)", len, max);
    aa_diag_clear(&d);
    rc = aa_jwt_parse(tok, len, jwt, &d);
    if (rc == AA_E_JWS_ALG_NONE && (c->pol->faults & AA_FAULT_ACCEPT_ALG_NONE)) {
        aa_diag_clear(&d);
        rc = parse_unsecured(tok, len, jwt, &d);
    }
    if (rc == AA_E_JWE_UNSUPPORTED)
        return tdiag(c, jwe_step, rc, &d, "token is a JWE (out of scope in v1)");
    if (rc != AA_OK)
        return tdiag(c, step, rc, &d, "token");
    return AA_OK;
}

static int t_typ(const struct tctx *c, const struct aa_jwt *jwt, const char *want, int step)
{
    struct aa_diag d;
    int rc;
    if (c->pol->faults & AA_FAULT_SKIP_TYP)
        return AA_OK;
    aa_diag_clear(&d);
    rc = aa_jwt_check_typ(jwt, want, &d);
    return rc == AA_OK ? AA_OK : tdiag(c, step, rc, &d, NULL);
}

static int t_kid(const struct tctx *c, const struct aa_jwt *jwt, int step)
{
    struct aa_diag d;
    int rc;
    aa_diag_clear(&d);
    rc = aa_jwt_require_kid(jwt, &d);
    return rc == AA_OK ? AA_OK : tdiag(c, step, rc, &d, NULL);
}

static int t_iss(const struct tctx *c, const struct aa_jwt *jwt, int step, const char **iss)
{
    struct aa_diag d;
    bool dev = false;
    int rc;
    aa_diag_clear(&d);
    rc = aa_jwt_require_str(jwt, c->p->claim.iss, &d);
    if (rc != AA_OK)
        return tdiag(c, step, rc, &d, NULL);
    *iss = aa_jwt_claim_str(jwt, c->p->claim.iss);
    rc = aa_http_identifier_check(*iss, c->pol->dev_mode, &dev, &d);
    if (rc != AA_OK)
        return tdiag(c, step, rc, &d, "iss");
    if (dev && c->res != NULL)
        c->res->dev = true;
    return AA_OK;
}

static bool kid_unknown(int rc)
{
    return rc == AA_E_DISC_KID_UNKNOWN || rc == AA_E_JWKS_KID_UNKNOWN || rc == AA_E_NOTFOUND;
}

/* Metadata + JWKS (|meta_step|) and kid selection (|sel_step|). */
static int t_key(const struct tctx *c, const struct aa_jwt *jwt, const char *iss, const char *wk,
                 int meta_step, int sel_step, struct aa_jwk *key)
{
    const struct aa_key_resolver *r = c->pol->resolver;
    struct aa_diag d;
    int rc;

    if (r == NULL || r->metadata_key == NULL)
        return TFAIL(c, meta_step, AA_E_INVAL, "PROFILE#3", "token policy has no key resolver");
    aa_diag_clear(&d);
    rc = r->metadata_key(r->ctx, iss, wk, jwt->kid, key, &d);
    if (rc == AA_OK)
        return AA_OK;
    aa_jwk_cleanup(key);
    if (kid_unknown(rc))
        return tdiag(c, sel_step, rc, &d, "kid");
    return tdiag(c, meta_step, rc, &d, "issuer keys");
}

static int t_verify(const struct tctx *c, const struct aa_jwt *jwt, const struct aa_jwk *key,
                    int step)
{
    struct aa_diag d;
    int rc;
    if (jwt->alg == AA_ALG_NONE && (c->pol->faults & AA_FAULT_ACCEPT_ALG_NONE))
        return AA_OK;
    if (jwt->alg != AA_ALG_ED25519)
        return TFAIL(c, step, AA_E_JWS_ALG, "PROFILE#2.10",
                     "JWS alg \"%s\": only EdDSA with an Ed25519 key is accepted (D-12)",
                     jwt->alg_name != NULL ? jwt->alg_name : "?");
    aa_diag_clear(&d);
    rc = aa_jwt_verify(jwt, key, &d);
    return rc == AA_OK ? AA_OK : tdiag(c, step, rc, &d, NULL);
}

/* PROFILE#4.1 time rules with the profile's skew; exp always required. */
static int t_time(const struct tctx *c, const struct aa_jwt *jwt, int step)
{
    const struct aa_profile_claims *cl = &c->p->claim;
    int64_t skew = c->p->time.jwt_skew, v;
    const char *names[3] = {cl->exp, cl->nbf, cl->iat};

    for (int i = 0; i < 3; i++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(jwt->claims, names[i]);
        if (it == NULL) {
            if (i == 0)
                return TFAIL(c, step, AA_E_JWT_CLAIM, "PROFILE#4.2",
                             "JWT claim \"%s\" is missing", names[i]);
            continue;
        }
        if (!aa_jwt_claim_int(jwt, names[i], &v))
            return TFAIL(c, step, AA_E_JWT_CLAIM, "PROFILE#4.1",
                         "JWT claim \"%s\" is not an integer NumericDate", names[i]);
        if (i == 0 && c->now >= v + skew && !(c->pol->faults & AA_FAULT_ACCEPT_EXPIRED_TOKEN))
            return TFAIL(c, step, AA_E_JWT_EXPIRED, "PROFILE#4.1",
                         "JWT expired: exp %lld, now %lld (skew %lld s)", (long long)v,
                         (long long)c->now, (long long)skew);
        if (i == 1 && v > c->now + skew)
            return TFAIL(c, step, AA_E_JWT_NBF, "PROFILE#4.1",
                         "JWT not yet valid: nbf %lld, now %lld (skew %lld s)", (long long)v,
                         (long long)c->now, (long long)skew);
        if (i == 2 && v > c->now + skew)
            return TFAIL(c, step, AA_E_JWT_IAT, "PROFILE#4.1",
                         "JWT issued in the future: iat %lld, now %lld (skew %lld s)",
                         (long long)v, (long long)c->now, (long long)skew);
    }
    return AA_OK;
}

static int t_cnf(const struct tctx *c, const struct aa_jwt *jwt, int step,
                 struct aa_validated_token *out)
{
    struct aa_diag d;
    int rc;
    aa_diag_clear(&d);
    rc = aa_jwt_cnf_jwk(jwt, &out->cnf, &d);
    if (rc != AA_OK)
        return tdiag(c, step, rc, &d, NULL);
    if (out->cnf.kty != AA_KTY_OKP || strcmp(out->cnf.crv, "Ed25519") != 0)
        return TFAIL(c, step, AA_E_JWT_CNF, "PROFILE#2.10",
                     "cnf.jwk is not an Ed25519 key; v1 signs and verifies only ed25519 (D-12)");
    rc = aa_jwk_thumbprint(&out->cnf, out->cnf_jkt);
    if (rc != AA_OK)
        return TFAIL(c, step, rc, "RFC7638#3", "cnf.jwk: thumbprint failed");
    out->has_cnf = true;
    return AA_OK;
}

static int dup_claim(const struct aa_jwt *jwt, const char *name, char **dst)
{
    const char *v = aa_jwt_claim_str(jwt, name);
    if (v == NULL)
        return AA_OK;
    *dst = aa_strdup(v);
    return *dst != NULL ? AA_OK : AA_E_NOMEM;
}

static int fill(const struct tctx *c, const struct aa_jwt *jwt, enum aa_token_kind kind,
                struct aa_validated_token *out)
{
    const struct aa_profile_claims *cl = &c->p->claim;
    int rc;
    out->kind = kind;
    if ((rc = dup_claim(jwt, cl->iss, &out->iss)) != AA_OK ||
        (rc = dup_claim(jwt, cl->sub, &out->sub)) != AA_OK ||
        (rc = dup_claim(jwt, cl->aud, &out->aud_str)) != AA_OK ||
        (rc = dup_claim(jwt, cl->agent, &out->agent)) != AA_OK ||
        (rc = dup_claim(jwt, cl->agent_delegate, &out->agent_delegate)) != AA_OK ||
        (rc = dup_claim(jwt, cl->agent_jkt, &out->agent_jkt)) != AA_OK ||
        (rc = dup_claim(jwt, cl->scope, &out->scope)) != AA_OK ||
        (rc = dup_claim(jwt, cl->auth_request_url, &out->auth_request_url)) != AA_OK)
        return TFAIL(c, 0, rc, "PROFILE#4", "out of memory");
    (void)aa_jwt_claim_int(jwt, cl->exp, &out->exp);
    (void)aa_jwt_claim_int(jwt, cl->iat, &out->iat);
    (void)aa_jwt_claim_int(jwt, cl->nbf, &out->nbf);
    out->header = cJSON_Duplicate(jwt->header, true);
    out->claims = cJSON_Duplicate(jwt->claims, true);
    if (out->header == NULL || out->claims == NULL)
        return TFAIL(c, 0, AA_E_NOMEM, "PROFILE#4", "out of memory");
    return AA_OK;
}

/* The prologue the three validators share: |out|, |res| and |key| start
 * empty, so every exit path may hand them to finish(); a NULL argument is
 * reported under the validator's own section |sect|, cited as |ref|. */
static int tstart(struct tctx *c, const struct aa_token_policy *pol, const char *sect,
                  const char *ref, enum aa_perr perr, struct aa_validated_token *out,
                  struct aa_jwk *key, struct aa_aauth_result *res)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    aa_aauth_result_init(res);
    if (pol == NULL || out == NULL)
        return aauth_res(res, sect, 0, perr, 0, AA_E_INVAL, ref, "NULL argument");
    memset(key, 0, sizeof(*key));
    c->pol = pol;
    c->p = pol->profile != NULL ? pol->profile : aa_profile_default();
    c->sect = sect;
    c->perr = perr;
    c->res = res;
    c->now = aa_clock_now(&pol->clock);
    return AA_OK;
}

static int finish(int rc, struct aa_jwt *jwt, struct aa_jwk *key, struct aa_validated_token *out)
{
    aa_jwt_cleanup(jwt);
    aa_jwk_cleanup(key);
    if (rc != AA_OK)
        aa_validated_token_cleanup(out);
    return rc;
}

/* aud is a string equal to the receiver, or an array containing it. */
static int t_aud_receiver(const struct tctx *c, const struct aa_jwt *jwt, int step, bool required)
{
    struct aa_diag d;
    int rc;
    if (c->pol->faults & AA_FAULT_IGNORE_AUD)
        return AA_OK;
    if (!required && cJSON_GetObjectItemCaseSensitive(jwt->claims, c->p->claim.aud) == NULL)
        return AA_OK;
    if (c->pol->receiver == NULL)
        return TFAIL(c, step, AA_E_INVAL, "PROFILE#4", "token policy has no receiver identifier");
    aa_diag_clear(&d);
    rc = aa_jwt_check_aud(jwt, c->pol->receiver, required, &d);
    return rc == AA_OK ? AA_OK : tdiag(c, step, rc, &d, NULL);
}

int aa_aauth_validate_agent_token(const struct aa_token_policy *pol, const char *token,
                                  size_t len, struct aa_validated_token *out,
                                  struct aa_aauth_result *res)
{
    struct tctx c;
    struct aa_jwt jwt;
    struct aa_jwk key;
    const char *iss = NULL;
    struct aa_diag d;
    int rc;

    if ((rc = tstart(&c, pol, "4.3", "PROFILE#4.3", AA_PERR_INVALID_TOKEN, out, &key, res)) !=
        AA_OK)
        return rc;
    if ((rc = t_parse(&c, token, len, &jwt, 1, 1)) != AA_OK)
        return finish(rc, NULL, &key, out);
    aa_diag_clear(&d);
    if ((rc = t_typ(&c, &jwt, c.p->typ.agent, 2)) != AA_OK ||
        (rc = t_kid(&c, &jwt, 3)) != AA_OK || (rc = t_iss(&c, &jwt, 4, &iss)) != AA_OK ||
        (rc = t_key(&c, &jwt, iss, c.p->wk.agent, 5, 6, &key)) != AA_OK ||
        (rc = t_verify(&c, &jwt, &key, 7)) != AA_OK || (rc = t_time(&c, &jwt, 8)) != AA_OK)
        return finish(rc, &jwt, &key, out);
    rc = aa_jwt_require_str(&jwt, c.p->claim.sub, &d);
    if (rc != AA_OK)
        return finish(tdiag(&c, 9, rc, &d, NULL), &jwt, &key, out);
    if ((rc = t_aud_receiver(&c, &jwt, 10, false)) != AA_OK ||
        (rc = t_cnf(&c, &jwt, 11, out)) != AA_OK || (rc = fill(&c, &jwt, AA_TOKEN_AGENT, out)) != AA_OK)
        return finish(rc, &jwt, &key, out);
    return finish(AA_OK, &jwt, &key, out);
}

int aa_aauth_validate_resource_token(const struct aa_token_policy *pol, const char *token,
                                     size_t len, struct aa_validated_token *out,
                                     struct aa_aauth_result *res)
{
    struct tctx c;
    struct aa_jwt jwt;
    struct aa_jwk key;
    const char *iss = NULL, *v, *scope, *arq;
    const cJSON *aud;
    int rc;

    if ((rc = tstart(&c, pol, "4.4", "PROFILE#4.4", AA_PERR_INVALID_RESOURCE_TOKEN, out, &key,
                     res)) != AA_OK)
        return rc;
    if ((rc = t_parse(&c, token, len, &jwt, 1, 1)) != AA_OK)
        return finish(rc, NULL, &key, out);
    if ((rc = t_typ(&c, &jwt, c.p->typ.resource, 2)) != AA_OK ||
        (rc = t_kid(&c, &jwt, 3)) != AA_OK || (rc = t_iss(&c, &jwt, 4, &iss)) != AA_OK ||
        (rc = t_key(&c, &jwt, iss, c.p->wk.resource, 5, 6, &key)) != AA_OK ||
        (rc = t_verify(&c, &jwt, &key, 7)) != AA_OK)
        return finish(rc, &jwt, &key, out);
    /* 8: aud = this AS, a string (PROFILE#4.2) */
    aud = cJSON_GetObjectItemCaseSensitive(jwt.claims, c.p->claim.aud);
    if (!(pol->faults & AA_FAULT_IGNORE_AUD)) {
        if (pol->receiver == NULL)
            rc = TFAIL(&c, 8, AA_E_INVAL, "PROFILE#4.4", "token policy has no receiver (AS id)");
        else if (!cJSON_IsString(aud))
            rc = TFAIL(&c, 8, AA_E_JWT_AUD, "PROFILE#4.2",
                       "resource token aud must be a string naming the AS");
        else if (strcmp(aud->valuestring, pol->receiver) != 0)
            rc = TFAIL(&c, 8, AA_E_JWT_AUD, "PROFILE#4.4",
                       "resource token aud \"%.120s\" is not this AS (%.120s)", aud->valuestring,
                       pol->receiver);
        if (rc != AA_OK)
            return finish(rc, &jwt, &key, out);
    }
    /* 9: agent = the requesting agent */
    v = aa_jwt_claim_str(&jwt, c.p->claim.agent);
    if (pol->expected_agent == NULL)
        rc = TFAIL(&c, 9, AA_E_INVAL, "PROFILE#4.4", "policy has no expected agent");
    else if (v == NULL)
        rc = TFAIL(&c, 9, AA_E_JWT_CLAIM, "PROFILE#4.2", "resource token has no agent claim");
    else if (strcmp(v, pol->expected_agent) != 0)
        rc = TFAIL(&c, 9, AA_E_JWT_CLAIM, "PROFILE#4.4",
                   "resource token agent \"%.120s\" is not the requesting agent \"%.120s\"", v,
                   pol->expected_agent);
    if (rc != AA_OK)
        return finish(rc, &jwt, &key, out);
    /* 10: agent_jkt = thumbprint of the key that verified this request */
    v = aa_jwt_claim_str(&jwt, c.p->claim.agent_jkt);
    if (pol->expected_agent_jkt == NULL)
        rc = TFAIL(&c, 10, AA_E_INVAL, "PROFILE#4.4", "policy has no expected agent_jkt");
    else if (v == NULL)
        rc = TFAIL(&c, 10, AA_E_JWT_CLAIM, "PROFILE#4.2", "resource token has no agent_jkt");
    else if (strcmp(v, pol->expected_agent_jkt) != 0)
        rc = TFAIL(&c, 10, AA_E_JWT_CLAIM, "PROFILE#4.4",
                   "resource token agent_jkt %.60s is not the thumbprint of the signing key %.60s",
                   v, pol->expected_agent_jkt);
    if (rc != AA_OK || (rc = t_time(&c, &jwt, 11)) != AA_OK)
        return finish(rc, &jwt, &key, out);
    /* 12: exactly one of scope / auth_request_url (D-16) */
    scope = aa_jwt_claim_str(&jwt, c.p->claim.scope);
    arq = aa_jwt_claim_str(&jwt, c.p->claim.auth_request_url);
    if ((scope == NULL) == (arq == NULL))
        rc = TFAIL(&c, 12, AA_E_JWT_CLAIM, "PROFILE#4.2",
                   "resource token must carry exactly one of scope / auth_request_url (%s)",
                   scope == NULL ? "neither" : "both");
    if (rc == AA_OK)
        rc = fill(&c, &jwt, AA_TOKEN_RESOURCE, out);
    return finish(rc, &jwt, &key, out);
}

int aa_aauth_validate_auth_token(const struct aa_token_policy *pol, const char *token,
                                 size_t len, struct aa_validated_token *out,
                                 struct aa_aauth_result *res)
{
    struct tctx c;
    struct aa_jwt jwt;
    struct aa_jwk key;
    const char *iss = NULL;
    bool trusted = false;
    int rc;

    if ((rc = tstart(&c, pol, "4.5", "PROFILE#4.5", AA_PERR_INVALID_TOKEN, out, &key, res)) !=
        AA_OK)
        return rc;
    if ((rc = t_parse(&c, token, len, &jwt, 1, 2)) != AA_OK)
        return finish(rc, NULL, &key, out);
    if ((rc = t_typ(&c, &jwt, c.p->typ.auth, 2)) != AA_OK || (rc = t_kid(&c, &jwt, 3)) != AA_OK ||
        (rc = t_iss(&c, &jwt, 4, &iss)) != AA_OK)
        return finish(rc, &jwt, &key, out);
    for (size_t i = 0; pol->trusted_issuers != NULL && pol->trusted_issuers[i] != NULL; i++)
        if (strcmp(pol->trusted_issuers[i], iss) == 0)
            trusted = true;
    if (!trusted)
        return finish(TFAIL(&c, 4, AA_E_AAUTH_UNTRUSTED, "PROFILE#4.5",
                            "auth token iss \"%.200s\" is not a trusted auth server", iss),
                      &jwt, &key, out);
    if ((rc = t_key(&c, &jwt, iss, c.p->wk.issuer, 4, 5, &key)) != AA_OK ||
        (rc = t_verify(&c, &jwt, &key, 6)) != AA_OK || (rc = t_time(&c, &jwt, 7)) != AA_OK)
        return finish(rc, &jwt, &key, out);
    /* 8: aud */
    if (pol->aud_mode == AA_AUD_SINGLE_STRING) {
        const cJSON *aud = cJSON_GetObjectItemCaseSensitive(jwt.claims, c.p->claim.aud);
        if (!(pol->faults & AA_FAULT_IGNORE_AUD) && !cJSON_IsString(aud))
            return finish(TFAIL(&c, 8, AA_E_JWT_AUD, "PROFILE#6.5",
                                "upstream auth token aud must be a single string"),
                          &jwt, &key, out);
    } else if ((rc = t_aud_receiver(&c, &jwt, 8, true)) != AA_OK) {
        return finish(rc, &jwt, &key, out);
    }
    /* 9: agent present unless this resource is the agent named in aud (F5) */
    if (aa_jwt_claim_str(&jwt, c.p->claim.agent) == NULL && !pol->self_is_agent)
        return finish(TFAIL(&c, 9, AA_E_JWT_CLAIM, "PROFILE#4.5",
                            "auth token has no agent claim"),
                      &jwt, &key, out);
    if ((rc = t_cnf(&c, &jwt, 10, out)) != AA_OK || (rc = fill(&c, &jwt, AA_TOKEN_AUTH, out)) != AA_OK)
        return finish(rc, &jwt, &key, out);
    return finish(AA_OK, &jwt, &key, out);
}
