/*
 * quirks: the catalogue of known deviations that --allow-quirk=NAME turns
 * from a failure into PASS_QUIRK (docs/report-format.md section 1). Every
 * name used by a suite (aa_conf_quirk_allowed, aa_check_deviation) must be
 * here; the command line accepts only these names.
 *
 * Design choice: one table in one file, so the set of tolerated dialects
 * is reviewed in one place and printed by --help. Each entry names the
 * rule it bends; a quirk never turns a failure into a plain PASS.
 */
#include <string.h>

#include "aa_runner.h"

const struct aa_quirk aa_quirks[] = {
    {"legacy-base", "RFC9421#2.5",
     "signature base without the @signature-params line, every line ending in LF (the seed "
     "dialect, PROFILE#2.12 S1; created is then unsigned)"},
    {"query-no-qmark", "RFC9421#2.2.7", "@query component value without its leading \"?\""},
    {"signature-base64url", "RFC8941#3.3.5",
     "Signature byte sequence written in the base64url alphabet (the seed's '-'/'_', "
     "PROFILE#2.1)"},
    {"signature-unpadded", "RFC8941#3.3.5", "Signature byte sequence without '=' padding"},
    {"authority-from-host", "PROFILE#2.5",
     "@authority taken from the Host header instead of the configured canonical authority"},
    {"narrow-created-window", "PROFILE#2.6",
     "created accepted only within a window narrower than the profile's 60 s"},
    {"component-order", "PROFILE#2.4",
     "covered components in an order other than the profile's signer order"},
    {"label", "PROFILE#2.2",
     "a signature label other than the seed's sig1, or labels that differ between the three "
     "headers where a peer tolerated it"},
};

const size_t aa_n_quirks = sizeof(aa_quirks) / sizeof(aa_quirks[0]);

const struct aa_quirk *aa_quirk_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < aa_n_quirks; i++)
        if (strcmp(aa_quirks[i].name, name) == 0)
            return &aa_quirks[i];
    return NULL;
}
