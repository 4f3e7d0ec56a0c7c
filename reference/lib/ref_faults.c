/*
 * The fault table of the reference servers (aa_ref.h enum aa_ref_fault).
 *
 * A fault switch breaks exactly one behaviour so that the conformance
 * suite can be shown to notice it: with `aauth-reference --fault NAME` the
 * checks listed in |failing_checks| must FAIL (WARN when the check is a
 * SHOULD) and the checks listed for the other switches must not. This is a
 * tool for testing the harness itself; no switch is ever on unless named
 * explicitly.
 *
 * |roles| are the roles whose behaviour the switch changes; every listed
 * check judges one of them. The ids are aauth-conformance check ids
 * (`aauth-conformance --list`); only the primary ones are listed: a flow
 * check that is "not evaluated" because an earlier step failed is a
 * cascade, not a finding. suites/unit/test_faults.c runs every row
 * against a separately started aauth-reference and proves the list, and
 * docs/faults.md is this table as documentation (a test keeps the two
 * equal). The PROFILE#9 catalogue number each row covers is in the
 * comment beside it.
 */
#include <string.h>

#include "ref_int.h"

const struct aa_ref_fault_info aa_ref_faults[] = {
    {"accept-expired", AA_REF_FAULT_ACCEPT_EXPIRED, "resource,auth",
     "Tokens whose exp is past (beyond the 60 s skew) are accepted.",
     /* AT-06, AU-03, RT-04, EX-06 */
     "neg-resource.at.expired,neg-resource.au.expired,neg-auth.at.expired,"
     "neg-auth.rt.expired,neg-auth.ex.upstream-expired"},
    {"skip-sigkey-coverage", AA_REF_FAULT_SKIP_SIGKEY_COVERAGE, "resource,auth",
     "A signature that does not cover signature-key is accepted.",
     /* SIG-08 */
     "neg-resource.sig.sigkey-not-covered,neg-auth.sig.sigkey-not-covered"},
    {"ignore-aud", AA_REF_FAULT_IGNORE_AUD, "resource,auth",
     "The aud claim of presented tokens is not checked.",
     /* AT-08, AU-01, RT-03 */
     "neg-resource.at.aud-excludes-receiver,neg-resource.au.aud-other-resource,"
     "neg-auth.at.aud-excludes-receiver,neg-auth.rt.aud-other-as"},
    {"accept-alg-none", AA_REF_FAULT_ACCEPT_ALG_NONE, "resource,auth",
     "A token with alg \"none\" is accepted without a signature check.",
     /* AT-02 */
     "neg-resource.at.alg-none,neg-auth.at.alg-none"},
    {"authority-from-host", AA_REF_FAULT_AUTHORITY_FROM_HOST, "resource,auth",
     "@authority is taken from the Host header instead of the configured authority.",
     /* SIG-24 with Host set to the foreign authority */
     "neg-resource.sig.authority-from-host,neg-auth.sig.authority-from-host"},
    {"accept-legacy-base", AA_REF_FAULT_ACCEPT_LEGACY_BASE, "resource,auth",
     "A signature over the legacy base (no @signature-params, trailing LF) is accepted.",
     /* SIG-28 */
     "neg-resource.sig.legacy-base,neg-auth.sig.legacy-base"},
    {"grant-agent-token", AA_REF_FAULT_GRANT_AGENT_TOKEN, "resource",
     "/data-auth grants access to an agent token instead of challenging for an auth token.",
     /* AU-09, F6 TEST 3 */
     "neg-resource.au.agent-token-on-auth,delegation.resource.auth-required"},
    {"rt-no-sig-check", AA_REF_FAULT_RT_NO_SIG_CHECK, "auth",
     "The auth server accepts a resource token whose JWS signature does not verify.",
     /* RT-06 */
     "neg-auth.rt.bad-signature"},
    {"skip-created-window", AA_REF_FAULT_SKIP_CREATED_WINDOW, "resource,auth",
     "created is still required but its 60 s window is not checked.",
     /* SIG-17 */
     "neg-resource.sig.created-past,neg-resource.sig.created-future,"
     "neg-auth.sig.created-past,neg-auth.sig.created-future"},
    {"skip-replay", AA_REF_FAULT_SKIP_REPLAY, "resource,auth", "A replayed Nonce is not detected.",
     /* SIG-25 */
     "neg-resource.sig.nonce-replay,neg-auth.sig.nonce-replay"},
    {"wrong-typ", AA_REF_FAULT_WRONG_TYP, "agent,resource,auth",
     "Issued tokens carry typ \"JWT\" instead of agent+jwt / resource+jwt / auth+jwt.",
     /* F6 TEST 1-3, F3.1, F3.3 */
     "delegation.agent-token.typ,delegation.resource-token.typ,autonomous.resource-token.typ,"
     "delegation.auth-token.typ,autonomous.auth-token.typ"},
    {"no-challenge", AA_REF_FAULT_NO_CHALLENGE, "resource",
     "401 answers carry no Agent-Auth challenge.",
     /* SIG-01, F1.1, F2.2, F6 TEST 3, F3.1, F4.1, F7.1, F7.2 (R2) */
     "neg-resource.sig.no-signature,pseudonymous.unsigned.challenge,"
     "identity.pseudonymous.challenge,delegation.resource.auth-challenge,"
     "autonomous.challenge.auth-token,consent.challenge.resource-token,exchange.t1.challenge,"
     "exchange.rt2.challenge"},
    {"cnf-unbound", AA_REF_FAULT_CNF_UNBOUND, "resource,auth",
     "A scheme=jwt request whose HTTP signature does not verify under the token's cnf.jwk is "
     "accepted once the token itself validates.",
     /* AT-09, AU-04, F6 TEST 2/4; at the auth server every signature check of
      * neg-auth (agent-token requests) meets the same unchecked signature:
      * SIG-19, SIG-22, SIG-24, SIG-28 */
     "neg-resource.at.sig-not-cnf,neg-resource.au.sig-not-cnf,"
     "delegation.resource.bad-signature-rejected,delegation.rotation.old-token-rejected,"
     "neg-auth.at.sig-not-cnf,neg-auth.sig.bit-flipped,neg-auth.sig.bad-encoding,"
     "neg-auth.sig.signed-elsewhere,neg-auth.sig.authority-from-host,neg-auth.sig.legacy-base"},
    {"code-reuse", AA_REF_FAULT_CODE_REUSE, "auth",
     "An authorization code can be redeemed more than once.",
     /* CD-01, F4.5 */
     "neg-auth.cd.code-reused,consent.code.reuse-rejected"},
    {"refresh-any-agent", AA_REF_FAULT_REFRESH_ANY_AGENT, "auth",
     "A refresh token is honoured for any agent and delegate.",
     /* RF-02, RF-03, F6 TEST 4 */
     "neg-auth.rf.other-agent,neg-auth.rf.other-sub,delegation.refresh.other-sub"},
    {"accept-private-cnf", AA_REF_FAULT_ACCEPT_PRIVATE_CNF, "agent",
     "/delegate/token accepts a cnf_jwk with private members and copies them into the token.",
     /* DG-03 */
     "neg-agent.dg.private-cnf"},
    {"skip-digest", AA_REF_FAULT_SKIP_DIGEST, "resource,auth",
     "Content-Digest is not compared with the body.",
     /* SIG-14 */
     "neg-resource.sig.digest-mismatch,neg-auth.sig.digest-mismatch"},
    {"skip-typ", AA_REF_FAULT_SKIP_TYP, "resource,auth",
     "The typ header of presented tokens is not checked.",
     /* AT-01, AU-05, RT-05 */
     "neg-resource.at.typ-wrong,neg-resource.au.typ-wrong,neg-auth.at.typ-wrong,"
     "neg-auth.rt.typ-wrong"},
    {"ignore-hwk-binding", AA_REF_FAULT_IGNORE_HWK_BINDING, "agent",
     "An hwk-signed /delegate/token request is accepted when the hwk key differs from cnf_jwk.",
     /* DG-06 */
     "neg-agent.dg.hwk-mismatch"},
    {"metadata-id-mismatch", AA_REF_FAULT_METADATA_ID_MISMATCH, "agent",
     "The metadata identifier member is the identifier plus a trailing \"/\".",
     /* MD-01, F2.1 */
     "identity.agent-metadata.identifier,neg-agent.md.id-mismatch,metadata.agent.identifier"},
    {"jwks-private", AA_REF_FAULT_JWKS_PRIVATE, "agent,resource,auth",
     "The JWKS of every role publishes the private member d of its signing key.",
     /* MD-02, F2.1 */
     "identity.agent-jwks.public-only,neg-agent.md.jwks-private,metadata.agent-jwks.public-only,"
     "neg-resource.md.jwks-public-only,neg-auth.md.jwks-public-only"},
    {"exp-beyond-expires-in", AA_REF_FAULT_EXP_BEYOND_EXPIRES_IN, "agent",
     "Agent tokens get exp = now + ttl + 3600 while expires_in still says ttl.",
     /* F6 TEST 1: exp - now <= expires_in + 60 */
     "delegation.agent-token.exp-lifetime"},
    {"cnf-mismatch", AA_REF_FAULT_CNF_MISMATCH, "agent",
     "The agent token's cnf.jwk is a fresh key instead of the submitted cnf_jwk.",
     /* F6 TEST 1 cnf check, CL-03 */
     "delegation.agent-token.cnf"},
    {"exchange-untrusted-upstream", AA_REF_FAULT_EXCHANGE_UNTRUSTED_UPSTREAM, "auth",
     "Token exchange accepts an upstream auth token from an issuer that is not on the trusted "
     "list.",
     /* EX-01, F7 */
     "exchange.untrusted-upstream.rejected,neg-auth.ex.untrusted-issuer"},
    {"exchange-refresh-token", AA_REF_FAULT_EXCHANGE_REFRESH_TOKEN, "auth",
     "The token exchange answer carries a refresh_token.",
     /* EX-08, F7 TEST 2 */
     "exchange.response.no-refresh-token,neg-auth.ex.response"},
    {"exchange-no-act", AA_REF_FAULT_EXCHANGE_NO_ACT, "auth",
     "The exchanged auth token (T2) carries no act claim.",
     /* EX-08, F7 TEST 3 */
     "exchange.t2.act-agent,exchange.t2.act-agent-delegate,neg-auth.ex.response"},
    {"refresh-rotates", AA_REF_FAULT_REFRESH_ROTATES, "auth",
     "The refresh answer carries a new refresh_token (a SHOULD: the checks WARN).",
     /* RF-06, F3 TEST 2, F6 TEST 4 */
     "autonomous.refresh.no-new-refresh-token,delegation.refresh.no-new-refresh-token,"
     "neg-auth.rf.no-rotation"},
    {"state-not-echoed", AA_REF_FAULT_STATE_NOT_ECHOED, "auth",
     "The consent redirects (code and access_denied) do not echo state.",
     /* CD-08, F4.2, F5.2, D-19 */
     "consent.redirect.state-echoed,consent.deny.state-echoed,agent-is-resource.consent.code"},
    {"f5-agent-claim", AA_REF_FAULT_F5_AGENT_CLAIM, "auth",
     "An auth token whose aud is the agent itself (F5) carries an agent claim.",
     /* F5.3 */
     "agent-is-resource.auth-token.no-agent-claim,agent-is-resource.delegate.aud"},
    {"scope-not-enforced", AA_REF_FAULT_SCOPE_NOT_ENFORCED, "resource",
     "The resource does not compare the auth token's scope with what the request needs.",
     /* AU-07, F3 */
     "autonomous.insufficient-scope.status,neg-resource.au.insufficient-scope"},
    {"rt-wrong-agent-jkt", AA_REF_FAULT_RT_WRONG_AGENT_JKT, "resource",
     "Resource tokens carry the thumbprint of the resource's own key as agent_jkt instead of the "
     "caller's.",
     /* F6 TEST 3, F3.1, F7.2 (R2) */
     "delegation.resource-token.agent-jkt,autonomous.resource-token.agent-jkt,"
     "exchange.rt2.agent-jkt"},
};

const size_t aa_ref_n_faults = sizeof(aa_ref_faults) / sizeof(aa_ref_faults[0]);

const struct aa_ref_fault_info *aa_ref_fault_find(unsigned bit)
{
    for (size_t i = 0; i < aa_ref_n_faults; i++)
        if (aa_ref_faults[i].bit == bit)
            return &aa_ref_faults[i];
    return NULL;
}

int aa_ref_faults_parse(const char *list, unsigned *out, struct aa_diag *d)
{
    unsigned bits = 0;
    const char *p;

    if (list == NULL || out == NULL)
        return aa_fail(d, AA_E_INVAL, "PROFILE#9", "fault list: NULL argument");
    p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool found = false;

        if (n == 0)
            return aa_fail(d, AA_E_SYNTAX, "PROFILE#9", "fault list \"%.64s\": empty fault name",
                           list);
        for (size_t i = 0; i < aa_ref_n_faults; i++) {
            if (strlen(aa_ref_faults[i].name) == n && memcmp(aa_ref_faults[i].name, p, n) == 0) {
                bits |= aa_ref_faults[i].bit;
                found = true;
                break;
            }
        }
        if (!found)
            return aa_fail(d, AA_E_NOTFOUND, "PROFILE#9",
                           "unknown fault \"%.*s\" (see --list-faults)", (int)(n > 64 ? 64 : n), p);
        if (end == NULL)
            break;
        p = end + 1;
    }
    *out = bits;
    return AA_OK;
}
