/*
 * runner_int: what the runner's own files share (not for suites).
 *
 *   catalogue.c  the linker-section catalogue: load, validate, select, list
 *   config.c     effective configuration: command line and run file (one
 *                key set), validation, JSON for --print-config and for the
 *                case processes
 *   case.c       the case side: context, recording, transcripts
 *   expect.c     comparison helpers and the PROFILE#9 HTTP classifier
 *   embed.c      embedded reference servers for roles not under test
 *   collect.c    merging case result files into a struct aa_run
 *   instances.c  the table of extra instances (resource2, auth2, ...)
 *   record.c     recording fronts and the hostile server of the client suite
 *   control.c    the loopback control channel between cases and the runner
 *   main.c       the command line and the run itself
 */
#ifndef RUNNER_INT_H
#define RUNNER_INT_H

#include <stdio.h>

#include "aa_runner.h"

#define AA_CONF_ENV "AA_CONFORMANCE_CONFIG"
#define AA_CONF_PROFILE "aauth-2026-01"
#define AA_CONF_N_ROLES 5      /* enum aa_role values 0..4 */
#define AA_CONF_MAX_LIST 256   /* entries in one repeatable option */
#define AA_CONF_MAX_VALUE 4096 /* bytes in one option value */
#define AA_CONF_RUNFILE_MAX ((size_t)1024 * 1024)
#define AA_CONF_RESULTS_MAX ((size_t)512 * 1024 * 1024) /* one case's result file */
#define AA_CONF_FEATURE_MAX 128

/* Exit statuses (docs: --help, README). */
enum {
    AA_EXIT_OK = 0,
    AA_EXIT_FAILURES = 1,
    AA_EXIT_USAGE = 2,
    AA_EXIT_UNREACHABLE = 3,
    AA_EXIT_NOTHING = 4
};
/* Interrupted by SIGINT / SIGTERM: 128 + the signal (130 / 143), as shells
 * report a job killed by it; the temporary directory is removed and the
 * embedded servers stopped first (main.c). */
#define AA_EXIT_SIGNAL_BASE 128

/* ---- string vectors ---------------------------------------------------- */
struct aa_strv {
    char **v;
    size_t n;
    bool from_cli; /* the command line has started replacing the run file's list */
};
int aa_strv_add(struct aa_strv *s, const char *value);
bool aa_strv_has(const struct aa_strv *s, const char *value);
void aa_strv_clear(struct aa_strv *s);

/* ---- configuration ----------------------------------------------------- */
struct aa_rc_role {
    /* from the user */
    char *url;                              /* --target-<role>: the implementation under test */
    char *listen;                           /* --listen ROLE=ADDR:PORT (embedded) */
    char *public_url;                       /* --public-url ROLE=URL (embedded) */
    char *hwk_path, *jwks_path, *auth_path; /* resource */
    char *command;                          /* --target-delegate */
    struct aa_strv declare;                 /* --declare ROLE=FEATURE */
    /* decided at run time */
    bool embedded;
    char *id;          /* identifier in use */
    char *connect_url; /* where the harness connects */
    char *unavailable; /* why an embedded role could not start */
    char *kid;         /* embedded: signing kid */
    char *key_file;    /* embedded: the private JWK, 0600 in the results dir */
};

/* An extra instance (instances.c): from --instance NAME=URL / --listen
 * NAME=ADDR:PORT, or added at run time by the runner. */
struct aa_rc_inst {
    char *name;     /* "resource2" */
    char *case_key; /* per-case instances: "cr_suite/name", else NULL */
    char *url;      /* --instance NAME=URL: an external implementation */
    char *listen;   /* --listen NAME=ADDR:PORT */
    /* decided at run time */
    bool embedded;
    bool skip; /* unavailable because the user did not provide it (SKIP) */
    char *id, *connect_url, *unavailable, *kid, *key_file;
};

/* Static description of an instance name. */
struct aa_inst_def {
    const char *name;
    enum aa_role role;
    bool per_case;       /* one instance for every case that lists it */
    bool external_ok;    /* --instance NAME=URL is accepted */
    const char *implies; /* another instance it needs, or NULL */
    unsigned role_needs; /* AA_NEED bits of roles it needs started */
    const char *what;    /* one line for messages and docs */
};
const struct aa_inst_def *aa_inst_find(const char *name);
extern const struct aa_inst_def aa_inst_defs[];
extern const size_t aa_n_inst_defs;

struct aa_rconf {
    struct aa_rc_role roles[AA_CONF_N_ROLES];
    struct aa_strv suites, filters, quirks;
    bool clock_frozen;
    bool clock_has_value;
    int64_t clock_value;
    bool seed_set;
    uint64_t seed;
    char *report_dir;
    char *vectors_dir;
    long jobs; /* 0 = Criterion's default (number of CPUs) */
    bool verbose;
    bool seed_report;
    bool seed_tests_only;
    bool no_color;
    char *harness_host;  /* --harness-host: servers the cases host bind here (NULL: 127.0.0.1) */
    bool consent_manual; /* --consent manual */
    /* decided at run time */
    bool dev_mode;
    bool any_target;
    char *results_dir;
    char *source; /* run file path, for messages */
    struct aa_rc_inst *insts;
    size_t n_insts;
    char *control_url;   /* runtime: the runner's control channel */
    char *control_token; /* runtime: its bearer token */
    bool consent_tty;    /* runtime: manual consent can be asked (a terminal or the test hook) */
    char *consent_why;   /* runtime: why it cannot, for the SKIP reason */
};
/* The entry for |name| (and |case_key| for per-case ones; NULL: shared),
 * optionally created. NULL when absent (or out of memory). */
struct aa_rc_inst *aa_rconf_inst(struct aa_rconf *c, const char *name, const char *case_key,
                                 bool create);

void aa_rconf_init(struct aa_rconf *c);
void aa_rconf_cleanup(struct aa_rconf *c);
/*
 * Apply one option by its long name without "--" (the run file's key):
 * |value| is the option argument, NULL for a flag. Repeatable options
 * append (a first command-line use replaces the run file's list when
 * |from_cli|). AA_E_NOTFOUND for an unknown key, AA_E_INVAL for a bad
 * value; |d| has the message.
 */
int aa_rconf_set(struct aa_rconf *c, const char *key, const char *value, bool from_cli,
                 struct aa_diag *d);
/* true when |key| is a run-file key / long option. */
bool aa_rconf_known(const char *key);
/* true when |key| is an option that takes no argument. */
bool aa_rconf_is_flag(const char *key);
/* Apply a run file (docs/run-file.md): a JSON object whose keys are the
 * long option names. Strict: unknown keys and wrong types are errors. */
int aa_rconf_load_file(struct aa_rconf *c, const char *path, struct aa_diag *d);
int aa_rconf_apply_json(struct aa_rconf *c, const cJSON *o, struct aa_diag *d);
/* Check the whole configuration and fill defaults (paths, dev mode).
 * AA_E_INVAL with |d| naming the option. */
int aa_rconf_validate(struct aa_rconf *c, struct aa_diag *d);
/* The configuration as a run file (round-trips through apply_json); with
 * |runtime| an extra "runtime" member holds what the cases need. */
cJSON *aa_rconf_to_json(const struct aa_rconf *c, bool runtime);
/* Case side: read the file written by the parent. */
int aa_rconf_load_runtime(struct aa_rconf *c, const char *path, struct aa_diag *d);
/* Names of the features the embedded reference declares for |role|. */
const char *const *aa_embedded_features(enum aa_role role);
/* The same; the resource adds "data-exchange" when it has a downstream. */
const char *const *aa_embedded_features_x(enum aa_role role, bool downstream);

/* ---- catalogue --------------------------------------------------------- */
struct aa_cat {
    const struct aa_check **checks; /* sorted: suite, file, line */
    size_t n;
    size_t *check_case;                /* index into cases for each check */
    const struct aa_conf_case **cases; /* sorted: suite, file, line */
    size_t n_cases;
    char **case_suite;    /* kebab-case suite of each case */
    unsigned *case_needs; /* effective AA_NEED bits */
    const struct aa_conf_flow **flows;
    size_t n_flows;
};

/* Load and validate the sections. Every problem is appended to |errors|
 * (one line each) and the result is AA_E_INVAL; AA_E_NOMEM. */
int aa_cat_load(struct aa_cat *cat, struct aa_buf *errors);
/* The same over explicit arrays (NULL entries are skipped): the sections
 * in aa_cat_load, hand-made catalogues in the runner's self-tests. */
int aa_cat_build(struct aa_cat *cat, const struct aa_check *const *checks, size_t nc,
                 const struct aa_conf_case *const *cases, size_t ncase,
                 const struct aa_conf_flow *const *flows, size_t nflow, struct aa_buf *errors);
void aa_cat_cleanup(struct aa_cat *cat);
/* Index of the check with |id| or of the case, (size_t)-1 if none. */
size_t aa_cat_find_check(const struct aa_cat *cat, const char *id);
size_t aa_cat_find_case(const struct aa_cat *cat, const char *cr_suite, const char *name);
size_t aa_cat_case_index(const struct aa_cat *cat, const struct aa_conf_case *cs);
bool aa_cat_case_lists(const struct aa_conf_case *cs, const struct aa_check *c);
const struct aa_conf_flow *aa_cat_flow(const struct aa_cat *cat, const char *suite);
/*
 * Mark the selected checks in |sel| (cat->n entries) from --suite,
 * --filter, the roles under test and --seed-tests-only (see README,
 * "Selection"). Returns the number selected; |unknown| (may be NULL) gets
 * the first --suite name that matches no check.
 */
size_t aa_cat_select(const struct aa_cat *cat, const struct aa_rconf *conf, bool *sel,
                     const char **unknown);
void aa_cat_print_list(const struct aa_cat *cat, const bool *sel, FILE *out);
cJSON *aa_cat_list_json(const struct aa_cat *cat, const bool *sel);
/* Copy a check into the catalogue shape aa_result_init() takes. */
void aa_check_to_def(const struct aa_check *c, struct aa_check_def *def);
/* "neg_resource" -> "neg-resource" into |out| (cap bytes). */
void aa_cat_kebab(const char *in, char *out, size_t cap);

/* ---- embedded reference servers --------------------------------------- */
struct aa_embed;
struct aa_rec;
/*
 * Start the reference for every role in |needs| (AA_NEED bits) that is not
 * under test, and the instances listed in |inst_names| (NULL-terminated;
 * per-case ones once per entry of |case_keys|, same length, NULL for
 * shared), recording id/connect_url/kid/key file or the reason it is
 * unavailable in |conf|. Keys go to |conf->results_dir|/keys. Never fails
 * as a whole: what does not start is reported per role / instance.
 */
int aa_embed_start(struct aa_rconf *conf, unsigned needs, const char *const *inst_names,
                   const char *const *case_keys, struct aa_embed **out);
void aa_embed_stop(struct aa_embed *e);
/* Lookups for the control channel (thread-safe after start). |name| is a
 * role or instance name; |case_key| selects a per-case instance. */
struct aa_ref_server *aa_embed_server(struct aa_embed *e, const char *name, const char *case_key);
struct aa_ref_clock *aa_embed_clock(struct aa_embed *e, const char *name, const char *case_key);
struct aa_rec *aa_embed_recorder(struct aa_embed *e, const char *name);

/* ---- recording fronts and the hostile server (record.c) ---------------- */
enum aa_rec_kind {
    AA_REC_FRONT = 0, /* forward to an upstream reference server */
    AA_REC_HOSTILE,   /* answer by mode (client suite, PROFILE#9 CL) */
    AA_REC_SINK       /* answer 404 (redirect and insecure-URL targets) */
};
struct aa_rec_opts {
    const char *name;
    enum aa_rec_kind kind;
    const char *bind; /* NULL: 127.0.0.1 */
    uint16_t port;
    const struct aa_jwk *key; /* HOSTILE: its signing key */
};
int aa_rec_start(const struct aa_rec_opts *o, struct aa_rec **out, struct aa_diag *d) AA_WUR;
const char *aa_rec_origin(const struct aa_rec *r);
void aa_rec_set_upstream(struct aa_rec *r, const char *url);
void aa_rec_set_peer(struct aa_rec *r, const char *sink_origin);
int aa_rec_set_mode(struct aa_rec *r, const char *mode, struct aa_diag *d);
/* {"next":N,"entries":[...]} for entries with seq >= since. */
cJSON *aa_rec_json(struct aa_rec *r, uint64_t since);
void aa_rec_stop(struct aa_rec *r);

/* ---- control channel (control.c) --------------------------------------- */
struct aa_control;
/* Start the loopback control server; sets conf->control_url/_token. */
int aa_control_start(struct aa_embed *e, struct aa_rconf *conf, struct aa_control **out,
                     struct aa_diag *d) AA_WUR;
void aa_control_stop(struct aa_control *c);
/* Case side: one request to the control channel; |*out| the JSON answer.
 * AA_E_NOTFOUND for a 404 answer. aa_control_call waits 10 s,
 * aa_control_call_wait |timeout_ms| (manual consent waits for a person). */
int aa_control_call(const struct aa_rconf *conf, const char *method, const char *path_query,
                    cJSON **out, struct aa_diag *d) AA_WUR;
int aa_control_call_wait(const struct aa_rconf *conf, const char *method, const char *path_query,
                         long timeout_ms, cJSON **out, struct aa_diag *d) AA_WUR;

/*
 * Manual consent (--consent manual): the runner asks the person on its
 * terminal (/dev/tty), or - for the runner's own tests only - reads the
 * answers line by line from the file or FIFO named by this variable.
 */
#define AA_CONF_CONSENT_INPUT_ENV "AA_CONFORMANCE_CONSENT_INPUT"
#define AA_CONF_CONSENT_WAIT_MS (15L * 60 * 1000) /* a person's answer */
/* Whether a person can be asked in this run; |why| (cap bytes) says why
 * not. Called by main() before the cases start. */
bool aa_consent_can_ask(char *why, size_t cap);

/* ---- quirk probes (case.c) -------------------------------------------- */
/*
 * Called by aa_expect_http when |c| fails because |resp| has a 4xx status
 * while |e| expected success: if |resp| answered the last request the case
 * signed conformantly, probe the signer quirks (quirks.c) and record the
 * outcome for |c| (returns 1: rescued by an allowed quirk, PASS_QUIRK and
 * *resp replaced by the accepted answer; 2: recorded a failure naming the
 * deviation or the probes tried). 0: not applicable, nothing recorded.
 */
int aa_case_probe(const struct aa_check *c, const struct aa_http_expect *e,
                  const struct aa_http_response *resp, const char *expected_text,
                  const char *actual_text, const char *why);

/* ---- collecting results ------------------------------------------------ */
enum aa_case_state {
    AA_CASE_NOT_RUN = 0,
    AA_CASE_BLOCKED, /* a needed role is unavailable */
    AA_CASE_RAN      /* Criterion ran it (status below) */
};
struct aa_case_status {
    enum aa_case_state state;
    bool blocked_skip; /* BLOCKED by an instance the user did not provide: SKIP */
    bool crashed;
    int signal;
    int exit_code;
    bool timed_out;
    char *blocked_reason;
};
/* Parse "<results_dir>/<cr_suite>.<name>.jsonl" lines into |run| for the
 * selected checks of case |ci|, then add ERROR results for every selected
 * check of the case that has none. |case_transcript| (may be NULL) gets a
 * copy of the whole case transcript when the case finished normally. */
int aa_collect_case(const struct aa_cat *cat, const bool *sel, size_t ci,
                    const struct aa_case_status *st, const char *results_dir, struct aa_run *run,
                    char **case_transcript, struct aa_diag *d);
/* Worst of two outcomes in the merge order of aa_runner.h. */
int aa_outcome_severity(enum aa_outcome o);
/* Path of a case's result file into |out|. */
int aa_case_results_path(const char *dir, const struct aa_conf_case *cs, char *out, size_t cap);
/* Path of a case's transcript file ("<cr_suite>.<name>.transcript"): the
 * case appends every note and exchange; a result line's "tr_end" says how
 * many bytes of it existed when the result was recorded. */
int aa_case_transcript_path(const char *dir, const struct aa_conf_case *cs, char *out, size_t cap);
#define AA_CONF_TRANSCRIPT_FILE_MAX ((uint64_t)256 * 1024 * 1024)
/* The evidence of a result: the last AA_CONF_TRANSCRIPT_TAIL bytes of
 * |text|[0, |end|) starting at a line boundary, with a note of how many
 * bytes before it were left out. NULL when there is nothing (or no
 * memory). */
char *aa_transcript_tail(const char *text, size_t end);
/* Sort run->v by catalogue order. */
void aa_collect_sort(const struct aa_cat *cat, struct aa_run *run);

/* ---- small helpers ------------------------------------------------------ */
/* aa_conf_strerror() is public (aa_runner.h; expect.c). */

/* Parse a decimal uint64 (whole string). */
int aa_parse_u64(const char *s, uint64_t *out);
/* "ADDR:PORT" or "[v6]:PORT" into |addr| (cap bytes) and |port|. */
int aa_parse_listen(const char *s, char *addr, size_t cap, uint16_t *port);

#endif
