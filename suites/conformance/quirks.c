/*
 * quirks: the catalogue of known deviations that --allow-quirk=NAME turns
 * from a failure into PASS_QUIRK (docs/report-format.md section 1,
 * docs/quirks.md). Every name used by a suite (aa_conf_quirk_allowed,
 * aa_check_deviation) must be here; the command line accepts only these
 * names.
 *
 * The signer quirks (probe != NONE) are also what the runner tries when a
 * target refuses a request the harness signed conformantly (case.c,
 * "quirk probes"): each re-sends the request signed the quirk's way, in
 * this order, and the first one the target accepts is the deviation named
 * in the check's hint.
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
     "dialect, PROFILE#2.12 S1; created is then unsigned)",
     "RFC 9421 §2.5", "target verifies only over a base without @signature-params",
     AA_QUIRK_PROBE_VARIANT, AA_SIGN_V_LEGACY_BASE},
    {"query-no-qmark", "RFC9421#2.2.7", "@query component value without its leading \"?\"",
     "RFC 9421 §2.2.7", "target verifies @query without its leading \"?\"", AA_QUIRK_PROBE_VARIANT,
     AA_SIGN_V_QUERY_NO_QMARK},
    {"signature-base64url", "RFC8941#3.3.5",
     "Signature byte sequence written in the base64url alphabet (the seed's '-'/'_', "
     "PROFILE#2.1)",
     "RFC 8941 §3.3.5",
     "target accepts the Signature byte sequence only in base64url (unpadded), not RFC 8941 "
     "base64",
     AA_QUIRK_PROBE_VARIANT, AA_SIGN_V_SIG_B64URL},
    {"signature-unpadded", "RFC8941#3.3.5", "Signature byte sequence without '=' padding",
     "RFC 8941 §3.3.5", "target accepts the Signature byte sequence only without '=' padding",
     AA_QUIRK_PROBE_UNPADDED, 0},
    {"authority-from-host", "PROFILE#2.5",
     "@authority taken from the Host header instead of the configured canonical authority",
     "RFC 9421 §2.2.3",
     "target takes @authority from the Host header instead of its configured canonical "
     "authority, which PROFILE#2.5 forbids",
     AA_QUIRK_PROBE_HOST, 0},
    {"narrow-created-window", "PROFILE#2.6",
     "created accepted only within a window narrower than the profile's 60 s", "RFC 9421 §2.3",
     "target accepts created only within a window narrower than the 60 s of PROFILE#2.6",
     AA_QUIRK_PROBE_CREATED, 0},
    {"component-order", "PROFILE#2.4",
     "covered components in an order other than the profile's signer order", "RFC 9421 §2.5",
     "target verifies only another order of the covered components, though PROFILE#2.4 has "
     "verifiers accept any order",
     AA_QUIRK_PROBE_ORDER, 0},
    {"label", "PROFILE#2.2",
     "a signature label other than the seed's sig1, or labels that differ between the three "
     "headers where a peer tolerated it",
     "RFC 9421 §4.1",
     "target accepts only the label \"sig\", not sig1, though PROFILE#2.2 has verifiers accept "
     "any label",
     AA_QUIRK_PROBE_LABEL, 0},
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
