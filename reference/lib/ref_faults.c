/*
 * The fault table of the reference servers (aa_ref.h enum aa_ref_fault).
 *
 * A fault switch breaks exactly one behaviour so that the conformance
 * suite can be shown to notice it: with `aauth-reference --fault NAME` the
 * checks listed in |failing_checks| must FAIL and nothing else may change.
 * This is a tool for testing the harness itself; no switch is ever on
 * unless named explicitly.
 *
 * Check ids have the form "<suite>.<topic>.<check>": the suite is the
 * role under test ("neg-agent", "neg-resource", "neg-auth") or a flow
 * ("flow-f1" ... "flow-f7"), the topic the PROFILE#9 catalogue group
 * (sig, sk, at, au, rt, as, cd, rf, ex, dg, md, rb) or the flow's test
 * ("test1"), the check a short slug. The catalogue number each id covers is
 * in the comment beside it.
 */
#include <string.h>

#include "ref_int.h"

const struct aa_ref_fault_info aa_ref_faults[] = {
    {"accept-expired", AA_REF_FAULT_ACCEPT_EXPIRED, "resource,auth",
     "Tokens whose exp is past (beyond the 60 s skew) are accepted.",
     /* AT-06, AU-03, RT-04 */
     "neg-resource.at.expired,neg-resource.au.expired,neg-auth.at.expired,"
     "neg-auth.rt.expired"},
    {"skip-sigkey-coverage", AA_REF_FAULT_SKIP_SIGKEY_COVERAGE, "resource,auth",
     "A signature that does not cover signature-key is accepted.",
     /* SIG-08 */
     "neg-resource.sig.sigkey-not-covered,neg-auth.sig.sigkey-not-covered"},
    {"ignore-aud", AA_REF_FAULT_IGNORE_AUD, "resource,auth",
     "The aud claim of presented tokens is not checked.",
     /* AT-08, AU-01, RT-03 */
     "neg-resource.at.aud-excludes-receiver,neg-resource.au.aud-other-resource,"
     "neg-auth.rt.aud-other-as"},
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
     /* AU-09 */
     "neg-resource.au.agent-token-on-auth"},
    {"rt-no-sig-check", AA_REF_FAULT_RT_NO_SIG_CHECK, "auth",
     "The AS accepts a resource token without verifying its JWS signature.",
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
     /* PROFILE#7 F6 TEST 1, F3.1, F3.3 */
     "flow-f6.test1.typ,flow-f3.test1.rt-typ,flow-f3.test1.at-typ"},
    {"no-challenge", AA_REF_FAULT_NO_CHALLENGE, "resource",
     "401 answers carry no Agent-Auth challenge.",
     /* SIG-01, F1.1, F2.2 */
     "neg-resource.sig.no-signature,flow-f1.test1.challenge,flow-f2.test2.challenge"},
    {"cnf-unbound", AA_REF_FAULT_CNF_UNBOUND, "resource,auth",
     "The HTTP signature key is not compared with the token's cnf.jwk.",
     /* AT-09, AU-04 */
     "neg-resource.at.sig-not-cnf,neg-resource.au.sig-not-cnf,neg-auth.at.sig-not-cnf"},
    {"code-reuse", AA_REF_FAULT_CODE_REUSE, "auth",
     "An authorization code can be redeemed more than once.",
     /* CD-01, F4.5 */
     "neg-auth.cd.code-reused,flow-f4.test1.code-reuse"},
    {"refresh-any-agent", AA_REF_FAULT_REFRESH_ANY_AGENT, "auth",
     "A refresh token is honoured for any agent and delegate.",
     /* RF-02, RF-03, F6 TEST 4.3 */
     "neg-auth.rf.other-agent,neg-auth.rf.other-sub,flow-f6.test4.other-sub"},
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
     "neg-resource.at.typ-wrong,neg-resource.au.typ-wrong,neg-auth.rt.typ-wrong"},
    {"ignore-hwk-binding", AA_REF_FAULT_IGNORE_HWK_BINDING, "agent",
     "An hwk-signed /delegate/token request is accepted when the hwk key differs from cnf_jwk.",
     /* DG-06 */
     "neg-agent.dg.hwk-mismatch"},
    {"metadata-id-mismatch", AA_REF_FAULT_METADATA_ID_MISMATCH, "agent",
     "The metadata identifier member is the identifier plus a trailing \"/\".",
     /* MD-01, F2.1 */
     "neg-agent.md.id-mismatch,flow-f2.test1.metadata"},
    {"jwks-private", AA_REF_FAULT_JWKS_PRIVATE, "agent",
     "The JWKS publishes the private member d of the signing key.",
     /* MD-02, F2.1 */
     "neg-agent.md.jwks-private,flow-f2.test1.jwks"},
    {"exp-beyond-expires-in", AA_REF_FAULT_EXP_BEYOND_EXPIRES_IN, "agent",
     "Agent tokens get exp = now + ttl + 3600 while expires_in still says ttl.",
     /* F6 TEST 1: exp - now <= expires_in + 60 */
     "flow-f6.test1.exp"},
    {"cnf-mismatch", AA_REF_FAULT_CNF_MISMATCH, "agent",
     "The agent token's cnf.jwk is a fresh key instead of the submitted cnf_jwk.",
     /* F6 TEST 1 cnf check, CL-03 */
     "flow-f6.test1.cnf-jwk"},
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
