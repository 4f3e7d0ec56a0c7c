/*
 * A fixed, deterministic run used by the report golden tests
 * (suites/unit/test_report.c) and by aa_sample_report, which writes the
 * same run's reports for validate_reports.sh. Frozen clock, fixed seed,
 * fixed durations: nothing here reads the clock.
 *
 * It covers every outcome, four roles, a seed-style flow (PROFILE#7.6 F6)
 * with a failed TEST 3 and an unrun TEST 4, and hostile text (markup,
 * quotes, C0 controls, an ANSI escape, CRLF, invalid UTF-8) that every
 * writer must neutralise.
 */
#ifndef AA_SAMPLE_RUN_H
#define AA_SAMPLE_RUN_H

#include "case/aa_case.h"
#include "report/aa_report.h"

struct sample_check {
    struct aa_check_def def;
    enum aa_outcome outcome;
    int test_no;
    const char *line;
    const char *expected; /* NULL keeps def.expect */
    const char *actual;
    const char *message;
    const char *hint;
    const char *quirk;
    const char *transcript;
    double ms;
};

#define SAMPLE_SIGBASE                                                                             \
    ">>> DELEGATE REQUEST to http://127.0.0.1:8002/data-auth\r\n"                                  \
    "GET /data-auth HTTP/1.1\r\n"                                                                  \
    "Signature-Input: sig1=(\"@method\" \"@authority\" \"@path\" \"signature-key\")"               \
    ";created=1768786221\r\n"                                                                      \
    "Signature-Key: sig1=(scheme=jwt jwt=\"eyJhbGciOiJFZERTQSJ9.e30.sig\")\r\n"                    \
    "\r\n"                                                                                         \
    "<<< RESOURCE RESPONSE\r\n"                                                                    \
    "HTTP/1.1 401 Unauthorized\r\n"                                                                \
    "Agent-Auth: httpsig; auth-token; resource_token=\"eyJ...\"; "                                 \
    "auth_server=\"http://127.0.0.1:8003\"\r\n"                                                    \
    "\r\n"                                                                                         \
    "--- signature base ---\n"                                                                     \
    "\"@method\": GET\n"                                                                           \
    "\"@authority\": 127.0.0.1:8002\n"                                                             \
    "\"@path\": /data-auth\n"                                                                      \
    "\"signature-key\": sig1=(scheme=jwt jwt=\"eyJhbGciOiJFZERTQSJ9.e30.sig\")\n"                  \
    "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"signature-key\")"              \
    ";created=1768786221"

static const struct sample_check sample_checks[] = {
    {{"delegation.agent-token.typ", "delegation", "Agent token header typ", AA_ROLE_AGENT_SERVER,
      AA_LEVEL_MUST, "PROFILE#7.6", "RFC7515#4.1.9", "typ is agent+jwt"},
     AA_OUT_PASS,
     1,
     "typ claim correct: agent+jwt",
     NULL,
     "agent+jwt",
     NULL,
     NULL,
     NULL,
     NULL,
     3.25},
    {{"delegation.agent-token.iss", "delegation", "Agent token iss", AA_ROLE_AGENT_SERVER,
      AA_LEVEL_MUST, "PROFILE#7.6", NULL, "iss is the agent server id"},
     AA_OUT_PASS,
     1,
     "iss claim correct: http://127.0.0.1:8001",
     NULL,
     "http://127.0.0.1:8001",
     NULL,
     NULL,
     NULL,
     NULL,
     0.5},
    {{"delegation.agent-token.cnf-members", "delegation", "cnf.jwk is the submitted key",
      AA_ROLE_AGENT_SERVER, AA_LEVEL_SHOULD, "PROFILE#7.6", "RFC7638#3",
      "cnf.jwk equals the submitted key"},
     AA_OUT_WARN,
     1,
     "cnf.jwk thumbprint matches the submitted key",
     NULL,
     "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"F3qa...\"}",
     "cnf.jwk members differ from the submitted key (kid dropped)",
     NULL,
     NULL,
     NULL,
     1},
    {{"delegation.resource.agent-token", "delegation", "Resource accepts the agent token",
      AA_ROLE_RESOURCE, AA_LEVEL_MUST, "PROFILE#7.6", "RFC9421#3.2",
      "200 with scheme=jwt and agent_delegate"},
     AA_OUT_PASS_QUIRK,
     2,
     "Resource recognized agent token",
     NULL,
     "200 {\"scheme\":\"jwt\",\"agent_delegate\":\"delegate-1\"}",
     "accepted only with the seed's base64url Signature (vector S1)",
     "the resource emits an unpadded base64url signature",
     "seed-base64url-signature",
     NULL,
     12.5},
    {{"delegation.auth-token.agent-jkt", "delegation", "Resource token agent_jkt", AA_ROLE_RESOURCE,
      AA_LEVEL_MUST, "PROFILE#7.6", "RFC7638#3", "agent_jkt = thumbprint(delegate key)"},
     AA_OUT_FAIL,
     3,
     "resource token agent_jkt = thumbprint(delegate key)",
     "8VLLB0WRBDu70WxdOy3zFh34-n-fGRqCNcggLg7XLCQ",
     "Yl0vB7Kq3cJ2cD7b8xQ0m3a2vJ3Zr0xk1n4fW9uQ5hE",
     "resource token agent_jkt is the agent server key thumbprint, not the delegate's",
     "the resource bound the token to the agent server key instead of the signing key",
     NULL,
     SAMPLE_SIGBASE,
     20},
    {{"neg-resource.sig-19.bit-flip", "neg-resource", "One signature bit flipped", AA_ROLE_RESOURCE,
      AA_LEVEL_MUST, "PROFILE#9", "RFC9421#3.2", "401 invalid_signature"},
     AA_OUT_PASS,
     0,
     NULL,
     NULL,
     "401 invalid_signature",
     NULL,
     NULL,
     NULL,
     NULL,
     4},
    {{"neg-resource.sig-05.label-mismatch", "neg-resource", "Label mismatch <sig1> & \"sig2\"",
      AA_ROLE_RESOURCE, AA_LEVEL_MUST, "PROFILE#9", "RFC9421#4.3", "401 invalid_signature"},
     AA_OUT_FAIL,
     0,
     NULL,
     NULL,
     "200 <script>alert('x')</script>",
     "status 200, expected 401: label \"sig2\" accepted \x01 \x1b[31mred\x1b[0m \xff end",
     "compare the Signature and Signature-Input labels\nbefore verifying",
     NULL,
     "GET /data-jwks HTTP/1.1\r\nSignature: sig2=:AAAA:\r\nX-Ctl: a\x7f"
     "b\x02"
     "c\r\n",
     7},
    {{"neg-resource.sk-08.x509", "neg-resource", "scheme=x509 at a receiver that lacks it",
      AA_ROLE_RESOURCE, AA_LEVEL_MUST, "PROFILE#9", NULL, "401 invalid_key"},
     AA_OUT_SKIP,
     0,
     NULL,
     NULL,
     NULL,
     "x509 scheme not declared by the target",
     NULL,
     NULL,
     NULL,
     0},
    {{"neg-resource.sig-30.host", "neg-resource", "Host differs from the canonical authority",
      AA_ROLE_RESOURCE, AA_LEVEL_INFO, "PROFILE#9", NULL, "2xx or 4xx"},
     AA_OUT_INFO,
     0,
     NULL,
     NULL,
     "401 invalid_signature",
     "resource compared against the Host header (4xx)",
     NULL,
     NULL,
     NULL,
     2},
    {{"metadata.issuer.required", "metadata", "Issuer metadata members", AA_ROLE_AUTH_SERVER,
      AA_LEVEL_MUST, "PROFILE#3", "RFC8414#3.3", "all required members present"},
     AA_OUT_PASS,
     0,
     NULL,
     NULL,
     "all present",
     NULL,
     NULL,
     NULL,
     NULL,
     1.75},
    {{"metadata.issuer.jwks", "metadata", "Issuer JWKS fetch", AA_ROLE_AUTH_SERVER, AA_LEVEL_MUST,
      "PROFILE#3", NULL, "200 application/json JWKS"},
     AA_OUT_ERROR,
     0,
     NULL,
     NULL,
     NULL,
     "connection refused fetching http://127.0.0.1:8003/jwks.json",
     NULL,
     NULL,
     NULL,
     0.25},
    {{"vectors.sf.dictionary", "vectors", "RFC 8941 dictionary vectors", AA_ROLE_NONE,
      AA_LEVEL_MUST, "RFC8941#3.2", NULL, "every vector parses as published"},
     AA_OUT_PASS,
     0,
     NULL,
     NULL,
     "48/48",
     NULL,
     NULL,
     NULL,
     NULL,
     0.125},
};

static const char *const sample_f6_description[] = {
    "This demo shows the agent delegation flow:",
    "1. Agent server starts and publishes JWKS",
    "2. Agent delegate requests agent token from agent server",
    "3. Agent delegate accesses resource using agent token",
    "4. Resource validates agent token and grants access",
    "5. Agent delegate requests auth token using agent token",
    "6. Auth server validates agent token and issues auth token with agent_delegate claim",
    "",
    "Debug output is enabled by default.",
    NULL};

static const struct aa_flow_test sample_f6_tests[] = {
    {1, "Delegate Requests Agent Token", "Delegate Requests Agent Token",
     "Agent delegate requests agent token from agent server.",
     "Agent token obtained and validated"},
    {2, "Delegate Accesses Resource Using Agent Token", "Delegate Accesses Resource",
     "Agent delegate makes signed request to resource using agent token.",
     "Resource recognized agent token"},
    {3, "Delegate Requests Auth Token Using Agent Token", "Delegate Requests Auth Token",
     "Agent delegate requests auth token from auth server using agent token.",
     "Auth token obtained and used"},
    {4, "Delegate Refreshes Auth Token", "Delegate Refreshes Auth Token",
     "Agent delegate refreshes the auth token and rotates its key.", "Auth token refreshed"},
};

static const struct aa_flow_def sample_f6 = {"delegation", "Agent Delegation Demo",
                                             sample_f6_description, sample_f6_tests, 4};

/* Add one sample check; AA_OK or the first failing call's code. */
static inline int sample_add(struct aa_run *run, const struct sample_check *c)
{
    struct aa_check_result r;
    int rc = aa_result_init(&r, &c->def);

    if (rc != AA_OK)
        return rc;
    r.outcome = c->outcome;
    r.test_no = c->test_no;
    r.duration_ms = c->ms;
    if ((c->expected && (rc = aa_result_set(&r.expected, c->expected)) != AA_OK) ||
        (rc = aa_result_set(&r.actual, c->actual)) != AA_OK ||
        (rc = aa_result_set(&r.message, c->message)) != AA_OK ||
        (rc = aa_result_set(&r.hint, c->hint)) != AA_OK ||
        (rc = aa_result_set(&r.quirk, c->quirk)) != AA_OK ||
        (rc = aa_result_set(&r.transcript, c->transcript)) != AA_OK ||
        (rc = aa_result_set(&r.line, c->line)) != AA_OK || (rc = aa_run_add(run, &r)) != AA_OK) {
        aa_result_cleanup(&r);
        return rc;
    }
    return AA_OK;
}

/* Run info only (no checks). */
static inline int sample_info(struct aa_run *run)
{
    int rc;

    aa_run_init(run);
    if ((rc = aa_result_set(&run->info.tool_version, "0.1.0-test")) != AA_OK ||
        (rc = aa_result_set(&run->info.profile, "aauth-2026-01")) != AA_OK ||
        (rc = aa_result_set(&run->info.clock_mode, "frozen")) != AA_OK ||
        (rc = aa_result_set(&run->info.started_at, "2026-01-19T01:30:21Z")) != AA_OK ||
        (rc = aa_run_add_target(run, AA_ROLE_AGENT_SERVER, "http://127.0.0.1:8001", true)) !=
            AA_OK ||
        (rc = aa_run_add_target(run, AA_ROLE_RESOURCE, "https://resource.example/?a=1&b=<2>",
                                false)) != AA_OK ||
        (rc = aa_run_add_target(run, AA_ROLE_AUTH_SERVER, "http://127.0.0.1:8003", true)) !=
            AA_OK ||
        (rc = aa_run_add_quirk(run, "seed-base64url-signature")) != AA_OK)
        return rc;
    run->info.clock = 1768786221;
    /* Above 2^53 on purpose: report.json must keep every digit. */
    run->info.seed = UINT64_C(12345678901234567890);
    run->info.duration_ms = 1234.5;
    run->info.dev_mode = true;
    return AA_OK;
}

/* The whole sample run. The caller aa_run_cleanup()s it either way. */
static inline int sample_run(struct aa_run *run)
{
    int rc = sample_info(run);

    for (size_t i = 0; rc == AA_OK && i < sizeof(sample_checks) / sizeof(sample_checks[0]); i++)
        rc = sample_add(run, &sample_checks[i]);
    return rc;
}

#endif
