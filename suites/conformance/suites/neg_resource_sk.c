/*
 * neg-resource, SK group: Signature-Key refusals of a resource (PROFILE#9
 * SK-01..SK-08; PROFILE#2.1 grammar D-8, PROFILE#2.3 schemes).
 *
 * A conforming resource answers 401 invalid_key. Defects of the hwk and
 * jwks parameters are sent to the signature endpoint (/data-hwk), where
 * every valid signature is enough: there the defect is the only reason to
 * refuse (on the identity endpoint hwk and jwks Mode 1 are refused for
 * lack of identity anyway, D-15). Identity defects (unknown kid, metadata
 * mismatch, jwt credential, grammar of the jwks Mode 2 value) go to the
 * identity endpoint.
 *
 * Design choice: hostile Signature-Key values are written out literally
 * (raw_signature_key) and still signed with a real key over a correct
 * base, so nothing but the value itself is wrong; the header is covered
 * exactly as sent (PROFILE#2.1).
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "json/aa_json.h"
#include "neg_resource_util.h"

#define NR_SK(name, slug, spec_, title_, expect_)                                                  \
    AA_CHECK(name, .id = "neg-resource.sk." slug, .suite = "neg-resource", .title = title_,        \
             .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = spec_, .rfc = NULL,         \
             .expect = expect_)

NR_SK(sk_baseline, "baseline", "PROFILE#2.3",
      "positive control: valid hwk on the signature endpoint, jwks Mode 1 there, jwks Mode 2 "
      "on the identity endpoint",
      "2xx for each: the credentials every SK case spoils are accepted");
NR_SK(sk_scheme_unknown, "scheme-unknown", "PROFILE#2.1",
      "SK-01: scheme=foo, or scheme=\"hwk\" written as an sf-string", "401 invalid_key");
NR_SK(sk_hwk_invalid, "hwk-invalid", "PROFILE#2.3",
      "SK-02: hwk without x, with crv=\"X25519\", with a 31-byte x, or carrying d",
      "401 invalid_key");
NR_SK(sk_jwks_params, "jwks-params", "PROFILE#2.3",
      "SK-03: jwks with both id and jwks, with neither, Mode 1 with well-known, or without kid",
      "401 invalid_key");
NR_SK(sk_unknown_kid, "unknown-kid", "PROFILE#3",
      "SK-04: jwks Mode 2 naming a kid the agent's JWKS does not hold (after the one refetch)",
      "401 invalid_key with Agent-Auth: httpsig; identity=?1");
NR_SK(sk_metadata_id, "metadata-id-mismatch", "PROFILE#3",
      "SK-05: jwks Mode 2 whose agent metadata names another agent, or an http non-loopback id",
      "401 invalid_key (D-13: the identifier member must equal id; D-1: https only)");
NR_SK(sk_jwt_not_jws, "jwt-not-jws", "PROFILE#2.3",
      "SK-06: scheme=jwt without the jwt parameter, or with a jwt that is not a JWS",
      "401 invalid_key (invalid_token also accepted)");
NR_SK(sk_grammar, "grammar", "PROFILE#2.1",
      "SK-07: jwks Mode 2 value with text after ')', a repeated parameter, or no parentheses",
      "401 invalid_key (invalid_signature accepted: PROFILE#2.2 step 2 parses the header "
      "during label selection)");
NR_SK(sk_x509, "x509-unsupported", "PROFILE#2.3",
      "SK-08: scheme=x509 at a resource that does not declare x509",
      "401 invalid_key, never 5xx (SKIP when the resource declares x509)");
NR_SK(sk_challenge, "challenge", "PROFILE#5",
      "every 401 of the SK cases carries the endpoint's challenge",
      "Agent-Auth: httpsig on the signature endpoint, httpsig; identity=?1 on the identity "
      "endpoint (D-16)");

static const struct nr_expect e_hwk = {401,          0, "invalid_key", NULL, NULL, NR_CHAL_BASE,
                                       &sk_challenge};
static const struct nr_expect e_id = {401,          0, "invalid_key", NULL, NULL, NR_CHAL_IDENTITY,
                                      &sk_challenge};

/* Sign with |key| under the literal Signature-Key |raw| and send to |path|. */
static void raw_run(const struct aa_check *c, struct nr_fx *fx, const char *note, const char *path,
                    const struct aa_jwk *key, const char *raw, const struct nr_expect *e)
{
    struct aa_sign_cred cred;
    struct nr_req r = {0};

    memset(&cred, 0, sizeof(cred));
    cred.raw_signature_key = raw;
    r.note = note;
    r.path = path;
    r.key = key;
    r.cred = &cred;
    nr_run(c, fx, &r, e, NULL);
}

static bool baseline(struct nr_fx *fx)
{
    static const struct nr_expect ok = {200, 0, NULL, NULL, NULL, NR_CHAL_NONE, NULL};
    struct aa_sign_cred cred;
    struct nr_req r = {0};
    struct aa_buf v;
    bool all = true;

    aa_buf_init(&v, 4096);
    memset(&cred, 0, sizeof(cred));
    cred.scheme = AA_SIGKEY_HWK;
    r.note = "control: hwk with the delegate key on the signature endpoint";
    r.path = nr_hwk_path(fx);
    r.key = &fx->dkey;
    r.cred = &cred;
    all = nr_run(&sk_baseline, fx, &r, &ok, NULL) && all;
    aa_buf_printf(&v, "sig1=(scheme=jwks jwks=\"%s%s\" kid=\"%s\")", fx->agent_id, AA_REF_PATH_JWKS,
                  fx->agent_key.kid);
    raw_run(&sk_baseline, fx, "control: jwks Mode 1 on the signature endpoint", nr_hwk_path(fx),
            &fx->agent_key, v.p, &ok);
    memset(&r, 0, sizeof(r));
    r.note = "control: jwks Mode 2 on the identity endpoint";
    all = nr_run(&sk_baseline, fx, &r, &ok, NULL) && all;
    aa_buf_free(&v);
    return all;
}

static void schemes_and_hwk(struct nr_fx *fx, const char *x, const char *d)
{
    struct aa_sign_cred cred;
    struct nr_req r = {0};
    struct aa_buf v;
    uint8_t raw[32];
    char x31[64];
    size_t n = 0;

    aa_buf_init(&v, 8192);
    aa_buf_printf(&v, "sig1=(scheme=foo kty=\"OKP\" crv=\"Ed25519\" x=\"%s\")", x);
    raw_run(&sk_scheme_unknown, fx, "SK-01: scheme=foo", nr_hwk_path(fx), &fx->dkey, v.p, &e_hwk);
    memset(&cred, 0, sizeof(cred));
    cred.scheme = AA_SIGKEY_HWK;
    cred.sigkey_ser_flags = AA_SIGKEY_SER_SCHEME_STRING;
    r.note = "SK-01: scheme=\"hwk\" (an sf-string, not a token)";
    r.path = nr_hwk_path(fx);
    r.key = &fx->dkey;
    r.cred = &cred;
    nr_run(&sk_scheme_unknown, fx, &r, &e_hwk, NULL);

    aa_buf_reset(&v);
    aa_buf_adds(&v, "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\")");
    raw_run(&sk_hwk_invalid, fx, "SK-02: hwk without x", nr_hwk_path(fx), &fx->dkey, v.p, &e_hwk);
    aa_buf_reset(&v);
    aa_buf_printf(&v, "sig1=(scheme=hwk kty=\"OKP\" crv=\"X25519\" x=\"%s\")", x);
    raw_run(&sk_hwk_invalid, fx, "SK-02: hwk with crv=\"X25519\"", nr_hwk_path(fx), &fx->dkey, v.p,
            &e_hwk);
    /* The first 31 of the key's 32 bytes: a well-formed base64url value
     * of the wrong length (PROFILE#2.3: x decodes to 32 bytes). */
    if (aa_b64_decode(x, strlen(x), AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, raw, sizeof(raw), &n,
                      NULL) == AA_OK &&
        n == 32 && aa_b64_encode(raw, 31, AA_B64_URL, false, x31, sizeof(x31), NULL) == AA_OK) {
        aa_buf_reset(&v);
        aa_buf_printf(&v, "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"%s\")", x31);
        raw_run(&sk_hwk_invalid, fx, "SK-02: hwk with a 31-byte x", nr_hwk_path(fx), &fx->dkey, v.p,
                &e_hwk);
    } else {
        aa_check_error(&sk_hwk_invalid, "cannot decode the harness key's x (%s)", x);
    }
    aa_buf_reset(&v);
    aa_buf_printf(&v, "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"%s\" d=\"%s\")", x, d);
    raw_run(&sk_hwk_invalid, fx, "SK-02: hwk carrying the private member d", nr_hwk_path(fx),
            &fx->dkey, v.p, &e_hwk);
    aa_cleanse(v.p, v.len);
    aa_buf_free(&v);
}

static void jwks_params(struct nr_fx *fx)
{
    struct aa_buf v;
    const char *a = fx->agent_id;

    aa_buf_init(&v, 8192);
    aa_buf_printf(&v, "sig1=(scheme=jwks id=\"%s\" jwks=\"%s%s\" kid=\"%s\")", a, a,
                  AA_REF_PATH_JWKS, fx->agent_key.kid);
    raw_run(&sk_jwks_params, fx, "SK-03: jwks with both id and jwks", nr_hwk_path(fx),
            &fx->agent_key, v.p, &e_hwk);
    aa_buf_reset(&v);
    aa_buf_printf(&v, "sig1=(scheme=jwks kid=\"%s\")", fx->agent_key.kid);
    raw_run(&sk_jwks_params, fx, "SK-03: jwks with neither id nor jwks", nr_hwk_path(fx),
            &fx->agent_key, v.p, &e_hwk);
    aa_buf_reset(&v);
    aa_buf_printf(&v, "sig1=(scheme=jwks jwks=\"%s%s\" kid=\"%s\" well-known=\"%s\")", a,
                  AA_REF_PATH_JWKS, fx->agent_key.kid, NR_WK_AGENT);
    raw_run(&sk_jwks_params, fx, "SK-03: jwks Mode 1 with well-known", nr_hwk_path(fx),
            &fx->agent_key, v.p, &e_hwk);
    aa_buf_reset(&v);
    aa_buf_printf(&v, "sig1=(scheme=jwks id=\"%s\" well-known=\"%s\")", a, NR_WK_AGENT);
    raw_run(&sk_jwks_params, fx, "SK-03: jwks Mode 2 without kid", nr_hwk_path(fx), &fx->agent_key,
            v.p, &e_hwk);
    aa_buf_free(&v);
}

static void identity_keys(struct nr_fx *fx)
{
    struct aa_ref_agent_config cfg;
    struct aa_ref_server *liar = NULL;
    struct aa_sign_cred cred;
    struct nr_req r = {0};
    struct aa_diag d;
    int rc;

    cred = fx->jwks_cred;
    cred.kid = "key-unknown";
    r.note = "SK-04: jwks Mode 2 with kid=\"key-unknown\"";
    r.cred = &cred;
    nr_run(&sk_unknown_kid, fx, &r, &e_id, NULL);

    /* SK-05: an agent server whose metadata names id + "/" (the
     * reference's metadata-id-mismatch switch), with a key we hold. */
    aa_ref_agent_defaults(&cfg);
    cfg.c.bind_addr = aa_conf_harness_host(); /* the resource fetches its metadata */
    cfg.c.key = &fx->agent_key;
    cfg.c.clock = &fx->clock;
    cfg.c.faults = AA_REF_FAULT_METADATA_ID_MISMATCH;
    aa_diag_clear(&d);
    rc = aa_conf_harness_reachable(fx->res, &d) ? aa_ref_agent_start(&cfg, &liar, &d)
                                                : AA_E_UNSUPPORTED;
    if (rc == AA_E_UNSUPPORTED && aa_conf_diag_unreachable(&d)) {
        /* only the http-identifier variant below can judge SK-05 then */
        aa_check_skip(&sk_metadata_id, "SK-05 lying agent: %s", d.msg);
    } else if (rc != AA_OK) {
        aa_check_error(&sk_metadata_id, "the harness's second agent server could not start: %s",
                       d.msg);
    } else {
        aa_conf_note("Harness agent %s publishes metadata with \"agent\": \"%s/\"", aa_ref_id(liar),
                     aa_ref_id(liar));
        cred = fx->jwks_cred;
        cred.id = aa_ref_id(liar);
        memset(&r, 0, sizeof(r));
        r.note = "SK-05: jwks Mode 2 id whose metadata \"agent\" is not the id";
        r.cred = &cred;
        nr_run(&sk_metadata_id, fx, &r, &e_id, NULL);
    }
    aa_ref_stop(liar);
    cred = fx->jwks_cred;
    cred.id = "http://agent.example";
    memset(&r, 0, sizeof(r));
    r.note = "SK-05: jwks Mode 2 with the http non-loopback id http://agent.example";
    r.cred = &cred;
    nr_run(&sk_metadata_id, fx, &r, &e_id, NULL);
}

static void jwt_and_grammar(struct nr_fx *fx)
{
    static const struct nr_expect e06 = {
        401, 0, "invalid_key", "invalid_token", NULL, NR_CHAL_IDENTITY, &sk_challenge};
    static const struct nr_expect e07 = {
        401, 0, "invalid_key", "invalid_signature", NULL, NR_CHAL_IDENTITY, &sk_challenge};
    const char *a = fx->agent_id;
    struct aa_buf v;

    raw_run(&sk_jwt_not_jws, fx, "SK-06: scheme=jwt without a jwt parameter", NULL, &fx->dkey,
            "sig1=(scheme=jwt)", &e06);
    raw_run(&sk_jwt_not_jws, fx, "SK-06: scheme=jwt with jwt=\"not-a-jws\"", NULL, &fx->dkey,
            "sig1=(scheme=jwt jwt=\"not-a-jws\")", &e06);

    aa_buf_init(&v, 8192);
    aa_buf_printf(&v, "sig1=(scheme=jwks id=\"%s\" kid=\"%s\" well-known=\"%s\");x=1", a,
                  fx->agent_key.kid, NR_WK_AGENT);
    raw_run(&sk_grammar, fx, "SK-07: a parameter after ')'", NULL, &fx->agent_key, v.p, &e07);
    aa_buf_reset(&v);
    aa_buf_printf(&v, "sig1=(scheme=jwks id=\"%s\" kid=\"%s\" kid=\"%s\" well-known=\"%s\")", a,
                  fx->agent_key.kid, fx->agent_key.kid, NR_WK_AGENT);
    raw_run(&sk_grammar, fx, "SK-07: kid repeated", NULL, &fx->agent_key, v.p, &e07);
    aa_buf_reset(&v);
    aa_buf_printf(&v, "sig1=scheme=jwks id=\"%s\" kid=\"%s\" well-known=\"%s\"", a,
                  fx->agent_key.kid, NR_WK_AGENT);
    raw_run(&sk_grammar, fx, "SK-07: no parentheses", NULL, &fx->agent_key, v.p, &e07);
    aa_buf_free(&v);
}

static void x509(struct nr_fx *fx)
{
    struct aa_sign_cred cred;
    struct nr_req r = {0};
    struct aa_buf u;
    char jkt[AA_JWK_THUMBPRINT_LEN + 1];

    if (aa_conf_declared(AA_ROLE_RESOURCE, "x509")) {
        aa_check_skip(&sk_x509, "the resource declares x509: SK-08 applies only to a receiver "
                                "without it (PROFILE#2.3: x509 is OPTIONAL)");
        return;
    }
    aa_buf_init(&u, 4096);
    aa_buf_printf(&u, "%s/leaf.pem", fx->agent_id);
    memset(&cred, 0, sizeof(cred));
    cred.scheme = AA_SIGKEY_X509;
    cred.x5u = u.p;
    /* A well-formed x5t (43 base64url characters); no certificate exists. */
    if (aa_jwk_thumbprint(&fx->dkey, jkt) != AA_OK) {
        aa_check_error(&sk_x509, "cannot compute a thumbprint");
        aa_buf_free(&u);
        return;
    }
    cred.x5t = jkt;
    r.note = "SK-08: scheme=x509 (x5u, x5t) at a resource that does not declare x509";
    r.path = nr_hwk_path(fx);
    r.key = &fx->dkey;
    r.cred = &cred;
    nr_run(&sk_x509, fx, &r, &e_hwk, NULL);
    aa_buf_free(&u);
}

AA_CASE(neg_resource, sk, .title = "SK-01..SK-08: Signature-Key refusals", .needs = NR_NEEDS,
        .checks = AA_CHECKS(&sk_baseline, &sk_scheme_unknown, &sk_hwk_invalid, &sk_jwks_params,
                            &sk_unknown_kid, &sk_metadata_id, &sk_jwt_not_jws, &sk_grammar,
                            &sk_x509, &sk_challenge))
{
    struct nr_fx fx;
    struct aa_buf x;
    cJSON *priv = NULL;
    const char *d;

    aa_buf_init(&x, 1024);
    if (!nr_fx_init(&fx))
        goto out;
    priv = aa_jwk_to_cjson(&fx.dkey, true);
    d = priv != NULL ? aa_json_str(priv, "d") : NULL;
    if (aa_jwk_public_member(&fx.dkey, "x", &x) != AA_OK || d == NULL) {
        nr_error_rest("cannot read the harness key's members");
        goto out;
    }
    if (!baseline(&fx)) {
        nr_not_evaluated_rest(&sk_baseline);
        goto out;
    }
    schemes_and_hwk(&fx, x.p, d);
    jwks_params(&fx);
    identity_keys(&fx);
    jwt_and_grammar(&fx);
    x509(&fx);
    nr_finish_challenge(&sk_challenge);
out:
    if (priv != NULL) {
        cJSON *dm = cJSON_GetObjectItemCaseSensitive(priv, "d");
        if (cJSON_IsString(dm))
            aa_cleanse(dm->valuestring, strlen(dm->valuestring));
    }
    cJSON_Delete(priv);
    aa_buf_free(&x);
    nr_fx_cleanup(&fx);
}
