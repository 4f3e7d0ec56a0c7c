/*
 * aa_case: the conformance data model — check definitions (the published
 * catalogue), check results, and a run's record. Shared by the runner, the
 * report writers and the Criterion suites.
 *
 * Design choice: results are plain owned strings so a result produced in a
 * Criterion worker process can be serialized to JSON, read back by the
 * parent, and written by any report writer without the definition table.
 */
#ifndef AA_CASE_H
#define AA_CASE_H

#include <cJSON.h>

#include "../core/aa_core.h"

enum {
    AA_E_CASE_SCHEMA = -750 /* a result/report document is malformed */
};

/* Bounds applied when a result is read back from JSON (REPORT#3.3). */
#define AA_CASE_MAX_FIELD ((size_t)64 * 1024)           /* any short text */
#define AA_CASE_MAX_TRANSCRIPT ((size_t)4 * 1024 * 1024) /* transcript */
#define AA_CASE_MAX_TEST_NO 9999
#define AA_RUN_MAX_CHECKS ((size_t)100000)
#define AA_RUN_MAX_TARGETS ((size_t)64)
#define AA_RUN_MAX_QUIRKS ((size_t)256)

enum aa_role {
    AA_ROLE_NONE = 0, /* offline: vectors, no implementation under test */
    AA_ROLE_AGENT_SERVER,
    AA_ROLE_RESOURCE,
    AA_ROLE_AUTH_SERVER,
    AA_ROLE_DELEGATE
};

/* MUST -> FAIL, SHOULD -> WARN, INFO -> informational only. */
enum aa_level { AA_LEVEL_MUST = 0, AA_LEVEL_SHOULD, AA_LEVEL_INFO };

enum aa_outcome {
    AA_OUT_PASS = 0,
    AA_OUT_PASS_QUIRK, /* passed only because --allow-quirk kept a variant */
    AA_OUT_FAIL,
    AA_OUT_WARN,
    AA_OUT_INFO,
    AA_OUT_SKIP,       /* reason in message: optional feature not declared */
    AA_OUT_ERROR       /* harness/network/config fault, never non-conformance */
};

/* One catalogue entry. All strings static. */
struct aa_check_def {
    const char *id;     /* stable slug, never reused: "delegation.agent-token.typ" */
    const char *suite;  /* "delegation", "neg-resource", "vectors" ... */
    const char *title;  /* what we send / look at */
    enum aa_role role;  /* role under test */
    enum aa_level level;
    const char *spec;   /* profile citation: "PROFILE#7.6" */
    const char *rfc;    /* RFC citation or NULL: "RFC9421#2.5" */
    const char *expect; /* what a conforming peer does */
};

struct aa_check_result {
    char *id;
    char *suite;
    char *title;
    enum aa_role role;
    enum aa_level level;
    char *spec;
    char *rfc;
    enum aa_outcome outcome;
    char *expected;   /* may be NULL */
    char *actual;     /* may be NULL */
    char *message;    /* one line; SKIP reason; failure summary */
    char *hint;       /* likely cause / deviation found, may be NULL */
    char *quirk;      /* quirk name for PASS_QUIRK, may be NULL */
    char *transcript; /* HTTP exchanges incl. signature bases, may be NULL */
    double duration_ms;
    /* Seed-style flow report (PROFILE#8): test number (1-based; 0 = not a
     * flow check) and the text after the mark, e.g. "typ claim correct: agent+jwt". */
    int test_no;
    char *line;
};

/*
 * Start a result from a definition (copies strings; |expected| starts as
 * def->expect). The outcome starts as AA_OUT_ERROR so a check that never
 * records one is not counted as passed. AA_E_INVAL when |def| is NULL or
 * its id, suite, title or spec is NULL or empty (rfc and expect may be
 * NULL); AA_E_NOMEM. On failure |r| is left zeroed.
 */
int aa_result_init(struct aa_check_result *r, const struct aa_check_def *def);
void aa_result_cleanup(struct aa_check_result *r);
/* Replace a string field (copies |s|; NULL clears). On AA_E_NOMEM the old
 * value is kept. Works for any owned char * field, including run info. */
int aa_result_set(char **field, const char *s);
int aa_result_setf(char **field, const char *fmt, ...) AA_PRINTF(2, 3);

/*
 * One result as a JSON object (the "checks" item of report.json): every
 * member always present, absent strings as null. Invalid UTF-8 bytes are
 * replaced by U+FFFD so the document is valid JSON text (RFC8259#8.1).
 * NULL on allocation failure or a NULL |r|. The caller cJSON_Delete()s it.
 */
cJSON *aa_result_to_cjson(const struct aa_check_result *r);
/*
 * Strict inverse: |o| must be an object with exactly the members written
 * by aa_result_to_cjson (no unknown or duplicate names, right types, known
 * role/level/outcome names, a quirk for PASS_QUIRK, bounded lengths).
 * AA_E_CASE_SCHEMA with |d| naming the member; AA_E_NOMEM. On failure |r|
 * is left zeroed; on success the caller owns it (aa_result_cleanup).
 */
int aa_result_from_cjson(const cJSON *o, struct aa_check_result *r, struct aa_diag *d);

const char *aa_role_name(enum aa_role r);     /* "agent-server", "resource", ... ("core" for NONE) */
/* Name lookups return "unknown" for a value outside the enum. The
 * *_from_name functions match exactly (case-sensitive): AA_E_NOTFOUND for
 * an unknown name, AA_E_INVAL for NULL arguments. */
const char *aa_role_title(enum aa_role r);    /* "Agent server" ... */
int aa_role_from_name(const char *s, enum aa_role *out);
const char *aa_level_name(enum aa_level l);   /* "MUST", "SHOULD", "INFO" */
const char *aa_outcome_name(enum aa_outcome o); /* "PASS", "PASS_QUIRK", "FAIL", ... */
int aa_outcome_from_name(const char *s, enum aa_outcome *out);
int aa_level_from_name(const char *s, enum aa_level *out);
/* PASS and PASS_QUIRK count as passed; nothing else does. */
bool aa_outcome_passed(enum aa_outcome o);

const char *aa_case_strerror(int code);

/*
 * Decode one UTF-8 scalar value at |s| (|n| bytes available): returns its
 * length 1..4 and stores it in |*cp|, or 0 for an invalid, overlong,
 * surrogate or truncated sequence. Shared by the report writers.
 */
size_t aa_case_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Copy of |s| with each invalid UTF-8 byte replaced by U+FFFD; NULL for
 * NULL or on allocation failure. */
char *aa_case_utf8_clean(const char *s);

/* A whole run. */
struct aa_target_info {
    enum aa_role role;
    char *url;
    bool embedded; /* played by the embedded reference */
};

struct aa_run_info {
    char *tool_version;  /* AA_VERSION */
    char *profile;       /* "aauth-2026-01" */
    struct aa_target_info *targets;
    size_t n_targets;
    char *clock_mode;    /* "frozen" or "now" */
    int64_t clock;       /* the clock value used (frozen value or start time) */
    uint64_t seed;
    char *started_at;    /* RFC 3339 UTC */
    double duration_ms;
    char **quirks;       /* --allow-quirk names */
    size_t n_quirks;
    bool dev_mode;       /* http loopback identifiers (PROFILE#1 "DEV") */
};

struct aa_totals {
    size_t total, pass, pass_quirk, fail, warn, info, skip, error;
};

struct aa_run {
    struct aa_run_info info;
    struct aa_check_result *v;
    size_t n, cap;
};

void aa_run_init(struct aa_run *run);
/* Frees every result and every owned info string; leaves |run| initialised. */
void aa_run_cleanup(struct aa_run *run);
/*
 * Move |r| into the run (r is zeroed). Check ids are unique in a run (they
 * are the JUnit test names): a second result with the same id, or one
 * without an id, is AA_E_INVAL and |r| is left untouched. AA_E_LIMIT past
 * AA_RUN_MAX_CHECKS, AA_E_NOMEM.
 */
int aa_run_add(struct aa_run *run, struct aa_check_result *r);
/* Copies |url| (may be NULL). AA_E_LIMIT past AA_RUN_MAX_TARGETS. */
int aa_run_add_target(struct aa_run *run, enum aa_role role, const char *url, bool embedded);
/* Record an --allow-quirk name (copied). AA_E_LIMIT past AA_RUN_MAX_QUIRKS. */
int aa_run_add_quirk(struct aa_run *run, const char *name);
void aa_run_totals(const struct aa_run *run, struct aa_totals *t);
/* Count one result of outcome |o| into |t| (total and its outcome; an
 * out-of-range outcome counts as an error). aa_run_totals does this for
 * each result; the report writers do it per (role, suite) group. */
void aa_totals_add(struct aa_totals *t, enum aa_outcome o);

/*
 * Exit status (documented in --help/README):
 *   0 at least one check ran and no MUST failed; 1 conformance failures;
 *   3 could not test (every check ERROR); 4 nothing ran (empty or all SKIP).
 *   (2 = usage/config error is decided by the runner before any check.)
 * Precisely (docs/report-format.md): any FAIL -> 1; else no check other
 * than SKIP -> 4; else every non-SKIP check ERROR -> 3; else 0. WARN, INFO
 * and PASS_QUIRK never make the status non-zero.
 */
int aa_run_exit_code(const struct aa_run *run);

#endif
