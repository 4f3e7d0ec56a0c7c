/*
 * Internal helpers shared by the report writers: text sanitising and
 * escaping for each output format, grouping of results by (role, suite),
 * and number formatting that does not depend on the C locale.
 */
#ifndef AA_REPORT_INT_H
#define AA_REPORT_INT_H

#include "aa_report.h"

/* Hard maximum of one generated document (reports are built in memory). */
#define RP_MAX_DOC ((size_t)512 * 1024 * 1024)

/*
 * Escaping flags for rp_text(). Whatever the flags, the text is made safe:
 * invalid UTF-8 bytes, C1 controls and U+FFFE/U+FFFF become U+FFFD; C0
 * controls other than TAB/LF and DEL become their Unicode Control Picture
 * (U+2400 + code, U+2421); CR before LF is dropped and a lone CR becomes
 * U+240D. That keeps XML 1.0 well-formed (XML#2.2), HTML free of control
 * character parse errors, and terminals safe from escape sequences.
 */
enum {
    RP_XML = 1u << 0,      /* escape & < > (XML character data) */
    RP_ATTR = 1u << 4,     /* with RP_XML: also " (attribute values) */
    RP_HTML = 1u << 1,     /* escape & < > " ' */
    RP_ONE_LINE = 1u << 2, /* LF and TAB become a space */
    RP_MD = 1u << 3        /* backslash-escape Markdown punctuation (with RP_HTML) */
};

void rp_text(struct aa_buf *b, const char *s, unsigned flags);
void rp_textn(struct aa_buf *b, const char *s, size_t n, unsigned flags);
/* At most |max| bytes of |s|, cut on a UTF-8 boundary; returns bytes shown. */
size_t rp_prefix_len(const char *s, size_t max);

/* Seconds with three decimals from milliseconds ("1.234"), locale-free. */
void rp_seconds(char *out, size_t cap, double ms);
/* Milliseconds with one decimal ("12.5"), locale-free. */
void rp_millis(char *out, size_t cap, double ms);

/* Results of one (role, suite), in run order. */
struct rp_group {
    enum aa_role role;
    const char *suite;
    size_t *idx;
    size_t n;
    struct aa_totals t;
    double ms;
};

struct rp_groups {
    struct rp_group *g;
    size_t n;
};

/* Groups in order of first appearance. AA_E_NOMEM. */
int rp_groups_build(const struct aa_run *run, struct rp_groups *out);
void rp_groups_free(struct rp_groups *gs);

/*
 * The common start of a document writer: AA_E_INVAL for a NULL |run| or
 * |out|, then the results grouped (AA_E_NOMEM), the run's totals and an
 * empty |b| bounded by RP_MAX_DOC. On success the caller owns |gs| (free
 * with rp_groups_free) and |b| (rp_flush); on failure nothing is held.
 */
int rp_doc_begin(const struct aa_run *run, FILE *out, struct rp_groups *gs, struct aa_totals *t,
                 struct aa_buf *b);

/* Outcomes in the column order of the totals and matrix tables. */
extern const enum aa_outcome rp_outcome_order[];
#define RP_N_OUTCOMES ((size_t)7)
/* The count of outcome |o| in |t| (out-of-range: the error count). */
size_t rp_outcome_count(const struct aa_totals *t, enum aa_outcome o);
/* The one-line verdict for an aa_run_exit_code() value, e.g.
 * "conformance failures". */
const char *rp_result_text(int exit_code);
/* "auth-server" style suite key, or "(none)" for a NULL suite. */
const char *rp_suite(const char *s);

/* Console mark for an outcome ("✓", "✓*", "✗", "!", "i", "-", "E"). */
const char *rp_mark(enum aa_outcome o);
/* Lower-case CSS class / anchor-safe outcome name ("pass-quirk"). */
const char *rp_outcome_class(enum aa_outcome o);

/* Write the buffer to |out|; AA_E_NOMEM/AA_E_LIMIT from a failed build,
 * AA_E_IO when the stream fails. The buffer is freed. */
int rp_flush(struct aa_buf *b, FILE *out);

#endif
