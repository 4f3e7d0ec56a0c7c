/*
 * neg-resource, AT group: agent tokens presented to a resource (PROFILE#9
 * AT-01..AT-15; PROFILE#4.1, #4.3, RFC 7515, RFC 7519, RFC 8037).
 *
 * The credential is Signature-Key scheme=jwt carrying an agent+jwt signed
 * with the key of the run's agent identity (the embedded agent server's,
 * or a harness-run agent server's: see neg_resource_util.h), on the
 * identity endpoint, with the HTTP signature
 * made by the delegate key that the token's cnf.jwk names. Each case
 * spoils one thing in the token; a conforming resource answers 401
 * invalid_token (AT-09, a signature not made with cnf.jwk: 401
 * invalid_signature), with Agent-Auth: httpsig; identity=?1.
 *
 * Design choice: every hostile token is built from the same valid header
 * and claims (nr_agent_header/nr_agent_claims) and signed by the real
 * agent key unless the case is about the signature itself, so the token
 * differs from the accepted control in exactly the member under test.
 * The decoded header and payload of each token are in the transcript.
 */
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "neg_resource_util.h"

#define NR_AT(name, slug, spec_, rfc_, title_, expect_)                                            \
    AA_CHECK(name, .id = "neg-resource.at." slug, .suite = "neg-resource", .title = title_,        \
             .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = spec_, .rfc = rfc_,         \
             .expect = expect_)

#define E401 "401 invalid_token with Agent-Auth: httpsig; identity=?1"

NR_AT(at_baseline, "baseline", "PROFILE#4.3", NULL,
      "positive control: a valid agent token (agent key held by the harness) on the identity "
      "endpoint",
      "2xx: the token every AT case spoils is accepted");
NR_AT(at_typ_wrong, "typ-wrong", "PROFILE#4.3", "RFC7515#4.1.9",
      "AT-01: agent token with typ \"JWT\", or typ \"auth+jwt\"", E401);
NR_AT(at_alg_none, "alg-none", "PROFILE#2.10", "RFC7518#3.6",
      "AT-02: agent token with alg \"none\" and an empty signature", E401);
NR_AT(at_hs256, "hs256", "PROFILE#2.10", "RFC7518#3.2",
      "AT-03: agent token with alg HS256 keyed with the agent key's x bytes", E401);
NR_AT(at_kid_unknown, "kid-unknown", "PROFILE#4.3", "RFC7515#4.1.4",
      "AT-04: agent token whose kid is not in the agent's JWKS", E401);
NR_AT(at_payload_modified, "payload-modified", "PROFILE#4.3", "RFC7515#5.2",
      "AT-05: agent token whose payload was changed after signing (sub)", E401);
NR_AT(at_expired, "expired", "PROFILE#4.1", "RFC7519#4.1.4",
      "AT-06: agent token with exp = now - 120 (beyond the 60 s skew)", E401);
NR_AT(at_claim_missing, "claim-missing", "PROFILE#4.2", "RFC7519#4.1",
      "AT-07: agent token without sub, without cnf, without exp, or without iss", E401);
NR_AT(at_aud_excludes, "aud-excludes-receiver", "PROFILE#4.3", "RFC7519#4.1.3",
      "AT-08: agent token whose aud (a string, and an array) does not include the resource", E401);
NR_AT(at_sig_not_cnf, "sig-not-cnf", "PROFILE#4.3", "RFC7800#3.1",
      "AT-09: valid agent token, HTTP signature made with a key other than cnf.jwk",
      "401 invalid_signature with Agent-Auth: httpsig; identity=?1");
NR_AT(at_attacker_key, "attacker-key", "PROFILE#4.3", "RFC7515#5.2",
      "AT-10: agent token with iss = a real agent and its kid, signed by an attacker key", E401);
NR_AT(at_nbf_future, "nbf-future", "PROFILE#4.1", "RFC7519#4.1.5",
      "AT-11: agent token with nbf = now + 120", E401);
NR_AT(at_cnf_private, "cnf-private", "PROFILE#4.1", "RFC7800#3.2",
      "AT-12: agent token whose cnf.jwk carries the private member d", E401);
NR_AT(at_crit, "crit", "PROFILE#4.1", "RFC7515#4.1.11",
      "AT-13: agent token with a crit header parameter", E401);
NR_AT(at_malformed, "malformed", "PROFILE#4.1", "RFC7515#7.1",
      "AT-14: agent token of two segments, or with a character outside base64url", E401);
NR_AT(at_duplicate_member, "duplicate-member", "PROFILE#4.1", "RFC8259#4",
      "AT-15: agent token whose payload repeats a member name (sub)", E401 " (D-29)");
NR_AT(at_challenge, "challenge", "PROFILE#5", NULL,
      "every 401 of the AT cases carries the identity endpoint's challenge",
      "Agent-Auth: httpsig; identity=?1 on each 401 (an invalid token establishes nothing)");

static const struct nr_expect e401 = {
    401, 0, "invalid_token", NULL, NULL, NR_CHAL_IDENTITY, &at_challenge};

/* Present |token| signed by |key| (NULL: the delegate key, cnf). */
static bool present(const struct aa_check *c, struct nr_fx *fx, const char *note, const char *token,
                    const struct aa_jwk *key, const struct nr_expect *e)
{
    struct aa_sign_cred cred = nr_jwt_cred(token);
    struct nr_req r = {0};

    r.note = note;
    r.cred = &cred;
    r.key = key != NULL ? key : &fx->dkey;
    return nr_run(c, fx, &r, e != NULL ? e : &e401, NULL);
}

/* Build (header, claims edited by the caller) -> sign with |key| -> present. */
static void token_case(const struct aa_check *c, struct nr_fx *fx, const char *note,
                       const cJSON *hdr, const cJSON *claims, const struct aa_jwk *key,
                       const struct aa_jwt_build_opts *o)
{
    char *tok = NULL;
    int rc;

    aa_conf_note("\n### %s", note);
    rc = nr_jwt("agent token (decoded)", hdr, claims, key != NULL ? key : &fx->agent_key, o, &tok);
    if (rc != AA_OK) {
        aa_check_error(c, "cannot build the token for \"%s\": %s", note, aa_strerror(rc));
        return;
    }
    present(c, fx, NULL, tok, NULL, NULL);
    free(tok);
}

/* A fresh valid header/claims pair, or NULL (recorded ERROR on |c|). */
static bool fresh(const struct aa_check *c, struct nr_fx *fx, cJSON **h, cJSON **cl)
{
    *h = nr_agent_header(fx);
    *cl = nr_agent_claims(fx);
    if (*h == NULL || *cl == NULL) {
        cJSON_Delete(*h);
        cJSON_Delete(*cl);
        *h = *cl = NULL;
        aa_check_error(c, "out of memory building a token");
        return false;
    }
    return true;
}

static void set_str(cJSON *o, const char *name, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    cJSON_AddStringToObject(o, name, v);
}

static void set_num(cJSON *o, const char *name, int64_t v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    cJSON_AddNumberToObject(o, name, (double)v);
}

static bool baseline(struct nr_fx *fx)
{
    static const struct nr_expect ok = {200, 0, NULL, NULL, NULL, NR_CHAL_NONE, NULL};
    cJSON *h, *cl;
    char *tok = NULL;
    bool pass = false;

    if (!fresh(&at_baseline, fx, &h, &cl))
        return false;
    if (nr_jwt("control: valid agent token", h, cl, &fx->agent_key, NULL, &tok) != AA_OK)
        aa_check_error(&at_baseline, "cannot sign the control token");
    else
        pass = present(&at_baseline, fx, "control: valid agent token, signed by cnf.jwk", tok, NULL,
                       &ok);
    free(tok);
    cJSON_Delete(h);
    cJSON_Delete(cl);
    return pass;
}

static void header_cases(struct nr_fx *fx)
{
    struct aa_jwt_build_opts o;
    cJSON *h, *cl, *crit;
    struct aa_buf x;
    uint8_t xb[32];
    size_t xn = 0;

    if (!fresh(&at_typ_wrong, fx, &h, &cl))
        return;
    set_str(h, "typ", "JWT");
    token_case(&at_typ_wrong, fx, "AT-01: typ \"JWT\"", h, cl, NULL, NULL);
    set_str(h, "typ", "auth+jwt");
    token_case(&at_typ_wrong, fx, "AT-01: typ \"auth+jwt\"", h, cl, NULL, NULL);
    set_str(h, "typ", "agent+jwt");

    memset(&o, 0, sizeof(o));
    o.mutations = AA_JWT_MUT_ALG_NONE;
    token_case(&at_alg_none, fx, "AT-02: alg \"none\", empty signature", h, cl, NULL, &o);

    /* AT-03: the classic confusion - a verifier that feeds the public key
     * bytes to HMAC would accept this. */
    aa_buf_init(&x, 256);
    if (aa_jwk_public_member(&fx->agent_key, "x", &x) != AA_OK ||
        aa_b64_decode(x.p, x.len, AA_B64_URL, AA_B64_PAD_FORBIDDEN, 0, xb, sizeof(xb), &xn, NULL) !=
            AA_OK) {
        aa_check_error(&at_hs256, "cannot read the agent key's x");
    } else {
        memset(&o, 0, sizeof(o));
        o.mutations = AA_JWT_MUT_HS256;
        o.hmac_key = xb;
        o.hmac_key_len = xn;
        token_case(&at_hs256, fx, "AT-03: alg HS256 keyed with the 32 x bytes", h, cl, NULL, &o);
    }
    aa_buf_free(&x);

    set_str(h, "kid", "key-unknown");
    token_case(&at_kid_unknown, fx, "AT-04: kid \"key-unknown\"", h, cl, NULL, NULL);
    set_str(h, "kid", fx->agent_key.kid);

    /* AT-10: the attacker knows the agent's id and kid, not its key. */
    token_case(&at_attacker_key, fx, "AT-10: iss and kid of the real agent, attacker's key", h, cl,
               &fx->other, NULL);

    crit = cJSON_AddArrayToObject(h, "crit");
    cJSON_AddItemToArray(crit, cJSON_CreateString("x-nr"));
    cJSON_AddNumberToObject(h, "x-nr", 1);
    token_case(&at_crit, fx, "AT-13: crit [\"x-nr\"] with x-nr present", h, cl, NULL, NULL);
    cJSON_Delete(h);
    cJSON_Delete(cl);
}

static void claim_cases(struct nr_fx *fx)
{
    static const char *const gone[] = {"sub", "cnf", "exp", "iss"};
    struct aa_jwt_build_opts o;
    cJSON *h, *cl, *swap, *aud, *cnf;
    int64_t now = aa_conf_now();

    if (!fresh(&at_expired, fx, &h, &cl))
        return;
    /* AT-05: signed over sub delegate-1, shipped with sub admin. */
    swap = cJSON_Duplicate(cl, true);
    set_str(swap, "sub", "admin");
    memset(&o, 0, sizeof(o));
    o.mutations = AA_JWT_MUT_PAYLOAD;
    o.swap_claims = swap;
    token_case(&at_payload_modified, fx, "AT-05: signed with sub delegate-1, sent with sub admin",
               h, cl, NULL, &o);
    cJSON_Delete(swap);

    set_num(cl, "iat", now - 3600 - NR_SKEW_CASE);
    set_num(cl, "exp", now - NR_SKEW_CASE);
    token_case(&at_expired, fx, "AT-06: exp = now - 120", h, cl, NULL, NULL);
    set_num(cl, "iat", now);
    set_num(cl, "exp", now + 3600);

    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        cJSON *m = cJSON_Duplicate(cl, true);
        char note[64];
        cJSON_DeleteItemFromObjectCaseSensitive(m, gone[i]);
        aa_snprintf(note, sizeof(note), "AT-07: no %s claim", gone[i]);
        token_case(&at_claim_missing, fx, note, h, m, NULL, NULL);
        cJSON_Delete(m);
    }

    cJSON_AddStringToObject(cl, "aud", "https://other-resource.example");
    token_case(&at_aud_excludes, fx, "AT-08: aud \"https://other-resource.example\"", h, cl, NULL,
               NULL);
    cJSON_DeleteItemFromObjectCaseSensitive(cl, "aud");
    aud = cJSON_AddArrayToObject(cl, "aud");
    cJSON_AddItemToArray(aud, cJSON_CreateString("https://other-resource.example"));
    cJSON_AddItemToArray(aud, cJSON_CreateString(fx->agent_id));
    token_case(&at_aud_excludes, fx, "AT-08: aud array without the resource", h, cl, NULL, NULL);
    cJSON_DeleteItemFromObjectCaseSensitive(cl, "aud");

    cJSON_AddNumberToObject(cl, "nbf", (double)(now + NR_SKEW_CASE));
    token_case(&at_nbf_future, fx, "AT-11: nbf = now + 120", h, cl, NULL, NULL);
    cJSON_DeleteItemFromObjectCaseSensitive(cl, "nbf");

    /* AT-12: cnf.jwk is the delegate key with its private half. */
    cnf = cJSON_GetObjectItemCaseSensitive(cl, "cnf");
    cJSON_ReplaceItemInObjectCaseSensitive(cnf, "jwk", aa_jwk_to_cjson(&fx->dkey, true));
    token_case(&at_cnf_private, fx, "AT-12: cnf.jwk with d", h, cl, NULL, NULL);
    cJSON_Delete(h);
    cJSON_Delete(cl);
}

static void format_cases(struct nr_fx *fx)
{
    struct aa_jwt_build_opts o;
    struct aa_buf payload;
    cJSON *h, *cl;
    char *tok = NULL;
    char hdr_json[AA_JWK_KID_MAX + 64];
    int rc;

    if (!fresh(&at_malformed, fx, &h, &cl))
        return;
    aa_snprintf(hdr_json, sizeof(hdr_json),
                "{\"alg\":\"EdDSA\",\"typ\":\"agent+jwt\",\"kid\":\"%s\"}", fx->agent_key.kid);
    memset(&o, 0, sizeof(o));
    o.mutations = AA_JWT_MUT_TWO_SEGS;
    token_case(&at_malformed, fx, "AT-14: two segments (no signature part)", h, cl, NULL, &o);
    o.mutations = AA_JWT_MUT_BAD_B64;
    token_case(&at_malformed, fx, "AT-14: '+' in the payload segment", h, cl, NULL, &o);

    /* AT-15: exact bytes, so the duplicate survives serialization. */
    aa_buf_init(&payload, 8192);
    {
        char *jwk = cJSON_PrintUnformatted(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cl, "cnf"), "jwk"));
        int64_t now = aa_conf_now();
        aa_buf_printf(&payload,
                      "{\"iss\":\"%s\",\"sub\":\"%s\",\"sub\":\"admin\",\"iat\":%lld,"
                      "\"exp\":%lld,\"cnf\":{\"jwk\":%s}}",
                      fx->agent_id, NR_SUB, (long long)now, (long long)(now + 3600),
                      jwk != NULL ? jwk : "{}");
        free(jwk);
    }
    rc = payload.err != AA_OK
             ? payload.err
             : aa_jws_sign_raw(hdr_json, strlen(hdr_json), (const uint8_t *)payload.p, payload.len,
                               AA_ALG_ED25519, &fx->agent_key, &tok);
    if (rc != AA_OK) {
        aa_check_error(&at_duplicate_member, "cannot sign the token: %s", aa_strerror(rc));
    } else {
        nr_note_token("AT-15: payload with \"sub\" twice", tok);
        present(&at_duplicate_member, fx, "AT-15: payload with \"sub\" twice", tok, NULL, NULL);
    }
    free(tok);
    aa_buf_free(&payload);
    cJSON_Delete(h);
    cJSON_Delete(cl);
}

static void binding_case(struct nr_fx *fx)
{
    static const struct nr_expect e09 = {
        401, 0, "invalid_signature", NULL, NULL, NR_CHAL_IDENTITY, &at_challenge};
    cJSON *h, *cl;
    char *tok = NULL;

    if (!fresh(&at_sig_not_cnf, fx, &h, &cl))
        return;
    if (nr_jwt("AT-09: valid agent token (cnf = delegate key)", h, cl, &fx->agent_key, NULL,
               &tok) != AA_OK)
        aa_check_error(&at_sig_not_cnf, "cannot sign the token");
    else
        present(&at_sig_not_cnf, fx, "AT-09: HTTP signature by another key than cnf.jwk", tok,
                &fx->other, &e09);
    free(tok);
    cJSON_Delete(h);
    cJSON_Delete(cl);
}

AA_CASE(neg_resource, at, .title = "AT-01..AT-15: agent tokens at the identity endpoint",
        .needs = NR_NEEDS,
        .checks = AA_CHECKS(&at_baseline, &at_typ_wrong, &at_alg_none, &at_hs256, &at_kid_unknown,
                            &at_payload_modified, &at_expired, &at_claim_missing, &at_aud_excludes,
                            &at_sig_not_cnf, &at_attacker_key, &at_nbf_future, &at_cnf_private,
                            &at_crit, &at_malformed, &at_duplicate_member, &at_challenge))
{
    struct nr_fx fx;

    if (!nr_fx_init(&fx))
        goto out;
    if (!baseline(&fx)) {
        nr_not_evaluated_rest(&at_baseline);
        goto out;
    }
    header_cases(&fx);
    claim_cases(&fx);
    format_cases(&fx);
    binding_case(&fx);
    nr_finish_challenge(&at_challenge);
out:
    nr_fx_cleanup(&fx);
}
