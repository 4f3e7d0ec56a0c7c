/*
 * fuzz_common: what every fuzz target shares - the libFuzzer entry points,
 * an invariant check that aborts (libFuzzer and the replay program both
 * treat abort() as a crash and keep the input), the contract every
 * rejection must meet, and small helpers.
 *
 * Design choice: a broken invariant is a crash. The targets check far more
 * than "no memory error": round trips, output bounds, and that every
 * rejected input comes back as a finding with a spec citation and a
 * message - never as a fault (AA_E_INVAL, AA_E_INTERNAL, AA_E_NOMEM),
 * which the harness would report as its own ERROR instead of the peer's
 * non-conformance.
 */
#ifndef AA_FUZZ_COMMON_H
#define AA_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/aa_core.h"

/*
 * aa_strerror() reaches each module's table through a weak reference, and
 * a weak reference does not pull an object file out of a static library:
 * a program that calls aa_sigkey_parse() but nothing else of aauth.c gets
 * "unknown error" for AA_E_SIGKEY_*. Each target names the tables of the
 * modules whose codes it checks so they are linked (reported upstream; see
 * README.md "Known issues").
 */
#define AA_FUZZ_LINK_STRERROR(...)                                                                 \
    __attribute__((used)) static const char *(*const aa_fuzz_strerror_tables[])(int) = {__VA_ARGS__}

/* libFuzzer entry points (LLVMFuzzerInitialize is optional). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Report a broken invariant and abort. Never returns. */
void aa_fuzz_fail(const char *file, int line, const char *fmt, ...) __attribute__((noreturn))
AA_PRINTF(3, 4);

#define AA_FUZZ_CHECK(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            aa_fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);                                         \
    } while (0)

/*
 * The rejection contract: |rc| (a failure returned by a parser given
 * hostile bytes) is a finding, not a fault, has a name in aa_strerror(),
 * and |d| (when the function fills one) carries the same code, a
 * non-empty spec reference and a non-empty message. |what| names the call
 * in the abort message. Returns |rc| so callers can chain.
 */
int aa_fuzz_check_rejection(const char *what, int rc, const struct aa_diag *d, bool has_diag);

/* NUL-terminated heap copy of a view (aborts on allocation failure: the
 * fuzzer runs with a malloc limit, so NULL here is a harness problem). */
char *aa_fuzz_cstr(struct aa_str s);

/* true when |s| contains a NUL byte (such a value cannot reach a header). */
bool aa_fuzz_has_nul(struct aa_str s);

/* true when the environment sets AA_FUZZ_DEBUG (non-empty): targets then
 * print what they decided for each input, for triage and seed checks. */
bool aa_fuzz_debug(void);

/*
 * true when |id| is listed in the environment variable AA_FUZZ_KNOWN_ISSUES
 * (comma or space separated). A check tied to a bug that is reported but
 * not fixed yet is skipped then, so a campaign can keep looking for other
 * bugs; nothing sets it by default (README.md "Known issues").
 */
bool aa_fuzz_known(const char *id);

/* true when |p|,|n| is valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * at most U+10FFFF). */
bool aa_fuzz_utf8_valid(const uint8_t *p, size_t n);

#endif
