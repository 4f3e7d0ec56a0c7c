/*
 * aa_runner: the API conformance suites are written in (aauth-conformance).
 *
 * A suite file in suites/conformance/suites/ declares
 *   - CHECKS: one required behaviour each, as static data (AA_CHECK) so the
 *     catalogue reads like the spec and `--list` works without running
 *     anything;
 *   - CASES: one scenario each (AA_CASE, one Criterion test) that talks to
 *     the targets and records an outcome for every check it lists;
 *   - optionally a FLOW (AA_FLOW): the banner and TEST titles of a
 *     PROFILE#8 seed-style report for the suite.
 * README.md in this directory is the tutorial ("how to write a check").
 *
 * Outcomes follow PROFILE#9 and docs/report-format.md: PASS, PASS_QUIRK,
 * FAIL (a MUST broken), WARN (a SHOULD broken, or the right status with
 * another error code), INFO, SKIP (feature not declared), ERROR (harness
 * fault, never non-conformance).
 *
 * Design choice: Criterion runs every case in a fresh process, so nothing
 * set up by main() is visible inside a case. The parent writes the
 * effective configuration to a JSON file named by the environment variable
 * AA_CONFORMANCE_CONFIG; a case loads it on entry and appends each result
 * as one JSON line to its own file in the results directory, which the
 * parent merges afterwards. A result written is never lost when the case
 * later crashes, and a check that a case never recorded is reported as
 * ERROR, never silently missing.
 */
#ifndef AA_RUNNER_H
#define AA_RUNNER_H

#include <criterion/criterion.h>

#include <cJSON.h>

#include "aauth/aa_aauth.h"
#include "case/aa_case.h"
#include "core/aa_core.h"
#include "http/aa_http.h"
#include "report/aa_report.h"

/* ====================================================================== */
/* Catalogue                                                              */
/* ====================================================================== */

/*
 * One check: the published catalogue entry (the fields of struct
 * aa_check_def) plus the flow-report placement. All strings are static.
 *
 *   id      stable slug, unique in the catalogue, never reused:
 *           "<suite>.<topic>.<what>", e.g. "delegation.agent-token.typ"
 *   suite   the suite; MUST equal the suite of the case that records the
 *           check (its AA_CASE first argument with '_' written as '-')
 *   title   what is sent or looked at
 *   role    the role whose behaviour is judged (AA_ROLE_NONE: offline)
 *   level   AA_LEVEL_MUST / _SHOULD / _INFO
 *   spec    profile citation "PROFILE#7.6"; rfc optional "RFC7515#4.1.9"
 *   expect  what a conforming peer does (the default "expected" text)
 *   test_no flow TEST number for the seed-style report (0: not a flow check)
 *   line    the flow report's check line; "{actual}" is replaced by the
 *           recorded actual value: "typ claim correct: {actual}"
 */
struct aa_check {
    const char *id;
    const char *suite;
    const char *title;
    enum aa_role role;
    enum aa_level level;
    const char *spec;
    const char *rfc;
    const char *expect;
    int test_no;
    const char *line;
    /* filled in by AA_CHECK */
    const char *cname;
    const char *file;
    int lineno;
};

/*
 * AA_CHECK(name, .id = "...", .suite = "...", ...)
 * Defines `static const struct aa_check name` and registers it in the
 * catalogue (linker section "aa_checks"). Refer to it as &name in
 * AA_CHECKS() and in the recording functions. Duplicate ids, empty
 * required fields, unknown levels/roles and checks that no case lists are
 * reported at startup as a usage error (exit 2).
 */
#define AA_CHECK(name, ...)                                                                        \
    static const struct aa_check name = {__VA_ARGS__, .cname = #name, .file = __FILE__,            \
                                         .lineno = __LINE__};                                      \
    static const struct aa_check *const aa_check_reg_##name                                        \
        __attribute__((used, section("aa_checks"))) = &name

/* Roles a case needs reachable (a target or an embedded reference). */
#define AA_NEED(role) (1u << (unsigned)(role))
#define AA_NEED_ALL                                                                                \
    (AA_NEED(AA_ROLE_AGENT_SERVER) | AA_NEED(AA_ROLE_RESOURCE) | AA_NEED(AA_ROLE_AUTH_SERVER))

#define AA_CASE_TIMEOUT_DEFAULT 120.0 /* s; a case is a whole scenario */

/*
 * Extra embedded instances a case needs besides the three roles
 * (README "Instances"): .instances = AA_INSTANCES("resource2", "auth2").
 * Known names: "resource2", "auth2" (PROFILE#1 F7 topology), "auth-consent",
 * "resource-consent" (F4), "auth-timetravel" (a clock the case advances;
 * one instance per case), "client-agent", "client-resource", "client-auth",
 * "client-hostile" (the servers the delegate client suite records).
 * A case whose instance is not available does not run: its checks are
 * SKIP (the user did not provide an external instance) or ERROR (an
 * embedded one could not start), with the reason.
 */
#define AA_INSTANCES(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * One case = one Criterion test. |checks| is the NULL-terminated list of
 * the checks it records (AA_CHECKS). |needs| is the set of roles that must
 * be reachable before it runs (AA_NEED bits; 0 = the roles of its checks).
 * |timeout| in seconds (0 = AA_CASE_TIMEOUT_DEFAULT); a case that runs
 * longer is killed and its unrecorded checks are ERROR.
 */
struct aa_conf_case {
    const char *cr_suite; /* Criterion suite identifier ("neg_resource"); the
                             report suite is "neg-resource" */
    const char *name;     /* Criterion test name */
    const char *title;
    const struct aa_check *const *checks;
    unsigned needs;
    double timeout;
    const char *const *instances; /* AA_INSTANCES(...) or NULL */
    void (*body)(void);
    const char *file;
    int lineno;
};

#define AA_CHECKS(...) ((const struct aa_check *const[]){__VA_ARGS__, NULL})

/* Entry point of every case (defined by the runner). */
void aa_conf_case_run(const struct aa_conf_case *c);

/*
 * AA_CASE(suite, name, .checks = AA_CHECKS(&a, &b), .title = "...")
 * {
 *     ... scenario: requests, aa_expect_*, aa_check_* ...
 * }
 * |suite| and |name| are C identifiers (Criterion's); the suite's report
 * name is |suite| with '_' replaced by '-'.
 */
#define AA_CASE(suite_, name_, ...)                                                                \
    static void aa_case_body_##suite_##_##name_(void);                                             \
    static const struct aa_conf_case aa_case_##suite_##_##name_ = {                                \
        .cr_suite = #suite_,                                                                       \
        .name = #name_,                                                                            \
        __VA_ARGS__,                                                                               \
        .body = aa_case_body_##suite_##_##name_,                                                   \
        .file = __FILE__,                                                                          \
        .lineno = __LINE__};                                                                       \
    static const struct aa_conf_case *const aa_case_reg_##suite_##_##name_                         \
        __attribute__((used, section("aa_cases"))) = &aa_case_##suite_##_##name_;                  \
    Test(suite_, name_)                                                                            \
    {                                                                                              \
        aa_conf_case_run(&aa_case_##suite_##_##name_);                                             \
    }                                                                                              \
    static void aa_case_body_##suite_##_##name_(void)

/*
 * A seed-style flow report (PROFILE#8) for one suite, printed by
 * `--seed-report` when the suite ran. The fields are those of struct
 * aa_flow_def (harness/report/aa_report.h); |seed_tests| is how many tests
 * the seed transcript has (`--seed-tests-only` keeps TESTS 1..seed_tests
 * and deselects checks with a higher test_no; 0 = all).
 */
struct aa_conf_flow {
    const char *suite;
    const char *banner;
    const char *const *description_lines; /* NULL-terminated */
    const struct aa_flow_test *tests;
    size_t n_tests;
    int seed_tests;
};

#define AA_FLOW_TESTS(...)                                                                         \
    .tests = (const struct aa_flow_test[]){__VA_ARGS__},                                           \
    .n_tests = sizeof((const struct aa_flow_test[]){__VA_ARGS__}) / sizeof(struct aa_flow_test)

#define AA_FLOW(name, ...)                                                                         \
    static const struct aa_conf_flow aa_flow_##name = {__VA_ARGS__};                               \
    static const struct aa_conf_flow *const aa_flow_reg_##name                                     \
        __attribute__((used, section("aa_flows"))) = &aa_flow_##name

/* ====================================================================== */
/* Context (valid inside a case)                                          */
/* ====================================================================== */

/*
 * A role as the case sees it. |present| is false when the role takes no
 * part in this run. Exactly one of |under_test| (the user's
 * implementation) and |embedded| (the harness's reference) is true for a
 * present role. |unavailable| is non-NULL when an embedded role could not
 * be started (cases that need it do not run; this is for diagnostics).
 *
 *   id           the role's identifier (PROFILE#1), e.g. "http://127.0.0.1:8001"
 *   connect_url  where the harness connects (the listen origin of an
 *                embedded server; equal to |id| for targets)
 *   *_path       resource endpoints (default /data-hwk, /data-jwks, /data-auth)
 *   command      delegate client command line (--target-delegate)
 */
struct aa_conf_target {
    enum aa_role role;
    bool present;
    bool under_test;
    bool embedded;
    const char *id;
    const char *connect_url;
    const char *unavailable;
    const char *hwk_path;
    const char *jwks_path;
    const char *auth_path;
    const char *command;
    /* added: the signing kid of an embedded server (NULL for targets), and
     * the name this entry answers to ("resource", "resource2", ...) */
    const char *kid;
    const char *name;
};

/* The role's entry; never NULL (a role not in the run has present=false).
 * AA_ROLE_NONE and out-of-range values return an empty entry. */
const struct aa_conf_target *aa_conf_target(enum aa_role role);
/* The harness clock: the frozen value (--clock frozen[=EPOCH]) or the real
 * time. Use it for every "now" in a check (token exp, created, ...). */
int64_t aa_conf_now(void);
bool aa_conf_clock_frozen(void);
/* The run's seed (--seed), and a PRNG seeded from it and the case name
 * (splitmix64): the same seed gives the same values in the same case. */
uint64_t aa_conf_seed(void);
uint64_t aa_conf_rand64(void);
/* http loopback identifiers are in use (PROFILE#1 D-1: results are DEV). */
bool aa_conf_dev_mode(void);
/* 0 quiet, 1 --verbose. */
int aa_conf_verbosity(void);
/* The vectors directory, or NULL when it does not exist (checks SKIP);
 * aa_conf_vectors_dir_configured() is the path looked at, for the reason. */
const char *aa_conf_vectors_dir(void);
const char *aa_conf_vectors_dir_configured(void);
/* --allow-quirk NAME was given. |name| must be in the quirk catalogue
 * (quirks.c); an unknown name aborts the case (a suite bug). */
bool aa_conf_quirk_allowed(const char *name);
/* The user declared |feature| for |role| (--declare ROLE=FEATURE or the
 * run file's "declare"). Embedded roles declare what the reference does. */
bool aa_conf_declared(enum aa_role role, const char *feature);
/* The case being run (NULL outside a case). */
const struct aa_conf_case *aa_conf_current_case(void);

/* ---- embedded keys, instances and the control channel ----------------- */

/*
 * The private signing key of an embedded role (written 0600 into the
 * run's temporary directory by the runner), to forge tokens "signed by"
 * that role: agent tokens with the agent server's key, auth tokens with
 * the auth server's, resource tokens with the resource's. |out| gets a
 * key with its kid (aa_conf_target()->kid); release it with
 * aa_jwk_cleanup. AA_E_NOTFOUND when the role is a target or not in the
 * run (record SKIP with the reason: the harness cannot sign for an
 * implementation it does not control), AA_E_IO when the file is gone.
 */
int aa_conf_role_key(enum aa_role role, struct aa_jwk *out, struct aa_diag *d) AA_WUR;
/* The same for an instance ("resource2", "auth-timetravel", ...). */
int aa_conf_instance_key(const char *name, struct aa_jwk *out, struct aa_diag *d) AA_WUR;

/*
 * An extra instance the case listed in .instances (or any other started
 * for the run). Never NULL: an unknown or absent instance has
 * present=false and |unavailable| says why. |role| is the instance's
 * role; resource instances have the default *_path values.
 */
const struct aa_conf_target *aa_conf_instance(const char *name);

/*
 * Requests an embedded server answered for |path| (exact path, e.g.
 * "/.well-known/aauth-agent"), through the runner's control channel: the
 * servers live in the runner process, the case in its own. |name| is a
 * role name ("agent-server", "resource", "auth-server") or an instance
 * name. AA_E_NOTFOUND when that server is not embedded; transport codes
 * when the channel fails (a harness fault: record ERROR).
 */
int aa_conf_embedded_hits(const char *instance_or_role, const char *path, uint64_t *out) AA_WUR;
/*
 * Move the clock of the case's own "auth-timetravel" instance forward by
 * |seconds| (> 0; other cases are not affected: each case that lists the
 * instance gets its own). The auth server then sees time as
 * aa_conf_now() + aa_conf_instance_clock_offset(): sign later requests to
 * it with aa_sign_opts.created_offset set to that offset, or their
 * created is outside its 60 s window. AA_E_NOTFOUND when the instance is
 * not embedded for this case, AA_E_INVAL for seconds <= 0.
 */
int aa_conf_advance_clock(const char *instance, int64_t seconds) AA_WUR;
/* Seconds this case has advanced |instance|'s clock so far (0 if none). */
int64_t aa_conf_instance_clock_offset(const char *instance);

/*
 * Requests received by a recording instance (the client-* servers of the
 * delegate suite), oldest first, starting at sequence number |since|
 * (0: all). Each entry holds the request exactly as received (method,
 * target, header lines, body) with the real time of receipt, and the
 * response the client got. Bounded: the runner keeps the last
 * AA_CONF_REC_MAX requests per instance.
 */
#define AA_CONF_REC_MAX 512
struct aa_conf_rec_entry {
    uint64_t seq;
    int64_t received_at; /* real time, seconds */
    char *method;
    char *target;
    struct aa_http_headers headers; /* field lines as received */
    char *body;                     /* NUL-terminated copy */
    size_t body_len;
    long status;
    struct aa_http_headers resp_headers;
    char *resp_body;
    size_t resp_body_len;
    uint64_t resp_streamed; /* bytes of a streamed (hostile) body sent */
};
struct aa_conf_recording {
    struct aa_conf_rec_entry *v;
    size_t n;
    uint64_t next; /* pass as |since| to get only newer requests */
};
int aa_conf_recorded(const char *instance, uint64_t since, struct aa_conf_recording *out,
                     struct aa_diag *d) AA_WUR;
void aa_conf_recording_cleanup(struct aa_conf_recording *r);
/* Switch the behaviour of a recording or hostile instance ("forward",
 * "token-type", "cl01-insecure-as", ...; client.c documents them). */
int aa_conf_instance_mode(const char *instance, const char *mode, struct aa_diag *d) AA_WUR;

/* ---- servers a case hosts (--harness-host) ---------------------------- */

/*
 * Some cases start small reference servers of their own inside the case
 * process (a lying agent, an untrusted auth server, a second resource, an
 * agent identity whose key the harness holds). A target must reach them:
 * they bind aa_conf_harness_host() and their identifiers name it
 * (http://HOST:PORT). Default 127.0.0.1; --harness-host ADDR (run file
 * "harness-host") sets an address of this host that a remote target can
 * connect to. Pass it as bind_addr (aa_ref_common, aa_server_opts).
 */
const char *aa_conf_harness_host(void);
/* The reference a diagnostic carries when |t| cannot reach those
 * servers; aa_check_fault() records such a diagnostic as SKIP. */
#define AA_CONF_REF_HARNESS_HOST "README#harness-host"
/*
 * Can |t| use servers the case hosts? With the default loopback harness
 * host: embedded roles and instances (the runner, on this host) and
 * targets on loopback yes; a target elsewhere no. With a non-loopback
 * --harness-host: targets yes (the user's lab: they must also accept http
 * identifiers on that host, which PROFILE#1 D-1 reserves for loopback);
 * embedded roles no, since as dev-mode references they accept http
 * identifiers only on loopback. When not, |d| (may be NULL) gets
 * AA_E_UNSUPPORTED with ref AA_CONF_REF_HARNESS_HOST and a message naming
 * the peer and --harness-host. The checks that need it are then SKIP with
 * that reason (aa_check_require_reachable, aa_check_fault), never PASS: a
 * peer that cannot use the server refuses for that reason, not for the
 * one the check is about.
 */
bool aa_conf_harness_reachable(const struct aa_conf_target *t, struct aa_diag *d);
/* The same for every role under test (the targets that fetch from those
 * servers); AA_OK or AA_E_UNSUPPORTED with |d| as above. */
int aa_conf_harness_check(struct aa_diag *d) AA_WUR;
/* true when |d| is aa_conf_harness_reachable()'s "cannot reach". */
bool aa_conf_diag_unreachable(const struct aa_diag *d);

/* ---- manual consent (--consent manual) ---------------------------------- */

/*
 * PROFILE#6.6: with --consent auto (default) the harness's scripted user
 * signs in and decides. With --consent manual a person does: the runner
 * (which owns the terminal; cases run without stdin) prints the consent
 * URL on stderr and reads what the person pastes from /dev/tty - the code
 * or the whole redirect URL. aa_conf_consent_prompt() has the shape of
 * aa_client_prompt_fn (reference/lib/aa_client.h): set
 * aa_client_opts.consent = AA_CLIENT_CONSENT_MANUAL, .prompt =
 * aa_conf_consent_prompt and .prompt_ctx = a one-line instruction
 * ("grant", "deny") or NULL. The case's deadline is paused while the
 * person answers.
 */
bool aa_conf_consent_manual(void);
/* A person can be asked (manual mode with a terminal): true. Otherwise
 * false with the reason in |why| (may be NULL): record SKIP with it. */
bool aa_conf_consent_available(char *why, size_t cap);
/* AA_OK with the line in |line| (NUL-terminated, trimmed);
 * AA_E_CLIENT_INPUT (reference/lib/aa_client.h) when nothing was entered
 * or no person can be asked; transport codes when the control channel
 * fails (a harness fault). */
int aa_conf_consent_prompt(void *ctx, const char *url, char *line, size_t cap);

/* ---- HTTP with transcripts -------------------------------------------- */

/*
 * Send |req| with the case's HTTP client (5 s timeout, no redirects,
 * bounded response) and append the exchange, seed-style and unabridged
 * (aa_http_transcript, full), to the case transcript under the label
 * |who| ("DELEGATE", "HARNESS"). Returns aa_http_send()'s code; on a
 * transport error the partial exchange and the error are in the
 * transcript. |resp| must be initialised (aa_http_response_init).
 * Pass the result straight to aa_expect_http().
 */
int aa_conf_send(const char *who, const struct aa_http_request *req, struct aa_http_response *resp,
                 struct aa_diag *d) AA_WUR;
int aa_conf_get(const char *who, const char *url, struct aa_http_response *resp,
                struct aa_diag *d) AA_WUR;
/*
 * Sign |req| the AAuth way and send it: aa_aauth_sign() over |req|'s
 * method, URL, headers and body with private |key| and credential |cred|
 * (|opts| may be NULL: the profile's reference behaviour; a NULL
 * opts->clock means aa_conf_now()), then the signer's header lines are
 * appended to |req|'s and the request is sent as aa_conf_send() does. The
 * signature base is written to the transcript just before the exchange.
 * |signed_out| (may be NULL) receives the signer's output (headers, base,
 * nonce...; release with aa_signed_cleanup) - e.g. to replay the nonce.
 * A signer failure returns its code before anything is sent (|resp| then
 * has status 0): the caller usually records that as aa_check_fault().
 */
int aa_conf_send_signed(const char *who, const struct aa_http_request *req,
                        const struct aa_jwk *key, const struct aa_sign_cred *cred,
                        const struct aa_sign_opts *opts, struct aa_http_response *resp,
                        struct aa_signed *signed_out, struct aa_diag *d) AA_WUR;
/*
 * Identifiers and connect URLs. An embedded role started with
 * --public-url has an identifier (PROFILE#1) other than the address the
 * harness connects to; its canonical authority is its identifier's
 * (PROFILE#2.5 D-2). aa_conf_send() and aa_conf_send_signed() take URLs on
 * either: a URL on a participant's identifier is sent to its connect URL,
 * and a signed request is signed for the identifier's authority (the
 * transcript says so when the two differ). For suites that sign
 * themselves:
 *   aa_conf_connect_url   where the harness connects for |url| (|url|
 *                         itself unless it is on an identifier that is
 *                         not its connect URL); appended to |out|
 *   aa_conf_sign_authority the @authority a conformant signer uses for
 *                         |url|: the identifier's authority when |url| is
 *                         on a participant's identifier or connect URL,
 *                         else |url|'s own
 * Participants: the roles of the run and the instances this case sees.
 * AA_E_INVAL for a URL that does not parse, AA_E_LIMIT when it does not
 * fit.
 */
int aa_conf_connect_url(const char *url, struct aa_buf *out) AA_WUR;
int aa_conf_sign_authority(const char *url, char *out, size_t cap) AA_WUR;
/* Append free text to the transcript (a signature base, a decoded token,
 * a step description). A line feed is added when missing. */
void aa_conf_note(const char *fmt, ...) AA_PRINTF(1, 2);
/* Append "--- <what> ---\n<len bytes>\n--- end ---" (signature bases). */
void aa_conf_note_block(const char *what, const char *text, size_t len);

/* ====================================================================== */
/* Recording results                                                      */
/* ====================================================================== */

/*
 * Every function below records one observation for check |c|, which must
 * be listed in the current case (anything else is a suite bug: the case
 * aborts and its checks become ERROR). A check may be recorded several
 * times; the parent keeps the worst observation:
 *   FAIL > ERROR > WARN > PASS_QUIRK > INFO > PASS > SKIP.
 * Each result carries the case transcript so far (the last
 * AA_CONF_TRANSCRIPT_TAIL bytes) as evidence.
 *
 * Level mapping: aa_check_fail() (and every helper's failure) records FAIL
 * for a MUST check, WARN for a SHOULD check and INFO for an INFO check
 * (then it only records what happened). aa_check_warn(), aa_check_info(),
 * aa_check_skip() and aa_check_error() record exactly that outcome.
 */
#define AA_CONF_TRANSCRIPT_TAIL ((size_t)128 * 1024)

/* Full control. NULL members fall back to: expected = the catalogue's
 * expect, line = the catalogue's line; message is generated for FAIL/WARN
 * from expected and actual when NULL. |quirk| is required for PASS_QUIRK. */
struct aa_obs {
    const char *expected;
    const char *actual;
    const char *message;
    const char *hint;
    const char *quirk;
    const char *line;
};
void aa_check_record(const struct aa_check *c, enum aa_outcome o, const struct aa_obs *obs);

/* PASS; |actual_fmt| (may be NULL) describes what was seen ("agent+jwt"). */
void aa_check_pass(const struct aa_check *c, const char *actual_fmt, ...) AA_PRINTF(2, 3);
/* The requirement was broken (level-mapped, see above). |hint_fmt| may be NULL. */
void aa_check_fail(const struct aa_check *c, const char *expected, const char *actual,
                   const char *hint_fmt, ...) AA_PRINTF(4, 5);
/* WARN regardless of level (e.g. right status, other error code). */
void aa_check_warn(const struct aa_check *c, const char *expected, const char *actual,
                   const char *hint_fmt, ...) AA_PRINTF(4, 5);
/* INFO: the spec leaves it open; record what happened. */
void aa_check_info(const struct aa_check *c, const char *actual, const char *msg_fmt, ...)
    AA_PRINTF(3, 4);
/* SKIP with the reason (an optional feature the target did not declare). */
void aa_check_skip(const struct aa_check *c, const char *reason_fmt, ...) AA_PRINTF(2, 3);
/* ERROR: a harness, network or configuration fault. Never non-conformance. */
void aa_check_error(const struct aa_check *c, const char *fault_fmt, ...) AA_PRINTF(2, 3);
/* ERROR from a failed harness call: "<what>: <aa_conf_strerror(rc)>: <diag>".
 * A diagnostic of aa_conf_harness_reachable() (the target cannot reach a
 * server the case hosts) is recorded as SKIP with its message instead. */
void aa_check_fault(const struct aa_check *c, const char *what, int rc, const struct aa_diag *d);
/* aa_conf_harness_reachable(t) or SKIP for every check of the
 * NULL-terminated |checks| not recorded yet, with the reason. */
bool aa_check_require_reachable(const struct aa_conf_target *t,
                                const struct aa_check *const *checks);
/* The name of any error code of the harness: the core's, every module's
 * (aa_strerror), the HTTP client's and the reference client library's
 * (AA_E_CLIENT_*). Never NULL. */
const char *aa_conf_strerror(int code);
/* PASS_QUIRK: passed only because --allow-quirk=|quirk| accepts a known
 * variant. The quirk must be allowed (else this records FAIL, since
 * claiming a quirk pass without the option is a suite bug). */
void aa_check_pass_quirk(const struct aa_check *c, const char *quirk, const char *actual_fmt, ...)
    AA_PRINTF(3, 4);
/* A known deviation was seen: PASS_QUIRK when |quirk| is allowed, else a
 * failure (level-mapped) whose hint says that --allow-quirk=|quirk| would
 * accept it. Returns true when it was accepted as a quirk. */
bool aa_check_deviation(const struct aa_check *c, const char *quirk, const char *expected,
                        const char *actual, const char *hint_fmt, ...) AA_PRINTF(5, 6);

/*
 * Dependencies inside a case. aa_check_outcome() is the worst outcome
 * recorded so far for |c| in this case (AA_OUT_SKIP with *recorded false
 * when nothing was). aa_check_not_evaluated() records, for every check in
 * the NULL-terminated |checks| (AA_CHECKS(...)) not recorded yet, that it
 * could not be evaluated because |prereq| did not pass: ERROR when the
 * prerequisite was ERROR (the harness could not test), SKIP when it was
 * SKIP (feature not declared), otherwise a failure (level-mapped; D-31:
 * a step that cannot run because an earlier one failed counts as failed).
 */
enum aa_outcome aa_check_outcome(const struct aa_check *c, bool *recorded);
void aa_check_not_evaluated(const struct aa_check *prereq, const struct aa_check *const *checks);
/* The same with the check's title as the flow line of each record instead
 * of its .line template (the flow suites name every step of a TEST by its
 * title in the seed-style report, PROFILE#8). */
void aa_check_not_evaluated_titled(const struct aa_check *prereq,
                                   const struct aa_check *const *checks);

/*
 * Capability gating (PROFILE#9 SKIP): what a target declares is mandatory,
 * what it does not declare is SKIP, never PASS.
 *   aa_check_require_feature: declared with --declare ROLE=FEATURE / the
 *     run file (embedded roles: what the reference implements).
 *   aa_check_require_listed: |metadata|'s array |member| lists |value|
 *     (e.g. request_types_supported contains "exchange"), or the feature
 *     "<member>:<value>" is declared for |role|.
 * Each returns true when the check must run; otherwise it has recorded
 * SKIP with the reason and the case should move on.
 */
bool aa_check_require_feature(const struct aa_check *c, enum aa_role role, const char *feature);
bool aa_check_require_listed(const struct aa_check *c, enum aa_role role, const cJSON *metadata,
                             const char *member, const char *value);

/* ---- comparison helpers (record PASS or a level-mapped failure) -------- */

/* |actual| (NULL = absent) equals |expected| byte for byte. |what| names
 * the value ("header typ"). Returns true on PASS. */
bool aa_expect_str(const struct aa_check *c, const char *what, const char *expected,
                   const char *actual);
bool aa_expect_int(const struct aa_check *c, const char *what, int64_t expected, int64_t actual);
/* |cond| must hold; |expected| says what should be, |actual_fmt| what is. */
bool aa_expect_true(const struct aa_check *c, bool cond, const char *expected,
                    const char *actual_fmt, ...) AA_PRINTF(4, 5);
/* A harness call that judges the peer's data (token validation, JWKS
 * parse): AA_OK -> PASS; a fault code (aa_err_is_fault) -> ERROR; any
 * other code is a finding -> failure with the diagnostic as actual. */
bool aa_expect_ok(const struct aa_check *c, int rc, const struct aa_diag *d);

/* JSON comparison by value (PROFILE#1: "Checkers compare JSON by value").
 * Numbers compare as numbers, objects ignore member order. */
#define AA_JSON_CMP_SUBSET 0x1u      /* actual may have members expected lacks */
#define AA_JSON_CMP_NULL_ABSENT 0x2u /* a null member counts as absent (PROFILE#6.2) */
/* true when equal; otherwise |diff| (may be NULL) gets the first
 * difference as "$.path: expected X, got Y". */
bool aa_conf_json_equal(const cJSON *expected, const cJSON *actual, unsigned flags,
                        struct aa_buf *diff);
bool aa_expect_json(const struct aa_check *c, const char *what, const cJSON *expected,
                    const cJSON *actual, unsigned flags);

/* ---- HTTP expectation (PROFILE#9 semantics) --------------------------- */

/*
 * What a conforming peer answers. |status| is required; |alt_status| is a
 * second accepted status (RB-01: 431, 400 accepted) or 0. |error| is the
 * expected PROFILE#6.8 "error" code in a JSON body (NULL: not checked),
 * |alt_error| a second accepted code or NULL.
 */
struct aa_http_expect {
    long status;
    long alt_status;
    const char *error;
    const char *alt_error;
};

/*
 * Judge one exchange (|rc|, |d| and |resp| from aa_conf_send) under
 * PROFILE#9 and record it for |c|:
 *   transport failure reaching the target (connect, resolve, TLS, send,
 *     URL, local libcurl fault)                       -> ERROR
 *   no answer within the timeout (5 s)                -> FAIL ("hang")
 *   connection closed without a valid HTTP response   -> FAIL ("crash")
 *   response over the size bounds                      -> FAIL
 *   any 5xx                                           -> FAIL
 *   (those FAILs hold whatever the check's level)
 *   a status other than expected                       -> failure (level-mapped)
 *   right status, "error" missing or another code      -> WARN
 *   otherwise                                          -> PASS
 * Returns true when the status was as expected (PASS or WARN), so a flow
 * can go on.
 */
bool aa_expect_http(const struct aa_check *c, int rc, const struct aa_diag *d,
                    const struct aa_http_response *resp, const struct aa_http_expect *e);
/* Shorthand: one status, one optional error code. */
bool aa_expect_status(const struct aa_check *c, int rc, const struct aa_diag *d,
                      const struct aa_http_response *resp, long status, const char *error);

/*
 * The classification behind aa_expect_http, without recording (for suites
 * that need to combine several exchanges, and for tests). Writes a one-line
 * explanation to |why| (may be NULL) and the actual text to |actual| (may
 * be NULL). The outcome is not level-mapped: FAIL means "requirement
 * broken"; |always_fail| (may be NULL) is set when the failure is one of
 * the PROFILE#9 always-FAIL kinds (5xx, crash, hang).
 */
enum aa_outcome aa_conf_http_classify(int rc, const struct aa_diag *d,
                                      const struct aa_http_response *resp,
                                      const struct aa_http_expect *e, bool *always_fail,
                                      struct aa_buf *why, struct aa_buf *actual);

/* ====================================================================== */
/* Quirks (quirks.c)                                                      */
/* ====================================================================== */

/*
 * A known, named deviation that --allow-quirk=NAME accepts as PASS_QUIRK.
 * Signer quirks (|probe| != AA_QUIRK_PROBE_NONE) are also probed by the
 * runner: when a target rejects with a 4xx a request the harness signed
 * conformantly and expected to succeed, the runner re-sends it signed the
 * quirk's way; the first variant the target accepts is named in the
 * check's hint (|finding| + |rfc|), and with --allow-quirk=NAME the case
 * goes on signing that way (docs/quirks.md).
 */
enum aa_quirk_probe {
    AA_QUIRK_PROBE_NONE = 0, /* not a signer quirk: suites report it themselves */
    AA_QUIRK_PROBE_VARIANT,  /* sign with the aa_sign_opts.variants in |sign_variants| */
    AA_QUIRK_PROBE_UNPADDED, /* Signature byte sequence without '=' padding */
    AA_QUIRK_PROBE_HOST,     /* Host: localhost:PORT, signed for that authority */
    AA_QUIRK_PROBE_CREATED,  /* created moved by -10/+10/-30/+30 s */
    AA_QUIRK_PROBE_ORDER,    /* covered components in reverse order */
    AA_QUIRK_PROBE_LABEL     /* label "sig" instead of "sig1" */
};
struct aa_quirk {
    const char *name;
    const char *spec; /* the rule it bends */
    const char *description;
    /* added for the probes */
    const char *rfc;     /* "RFC 9421 §2.5" */
    const char *finding; /* "target verifies only over a base without @signature-params" */
    enum aa_quirk_probe probe;
    unsigned sign_variants; /* AA_SIGN_V_* for AA_QUIRK_PROBE_VARIANT */
};
extern const struct aa_quirk aa_quirks[];
extern const size_t aa_n_quirks;
const struct aa_quirk *aa_quirk_find(const char *name);

#endif
