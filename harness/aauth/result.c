/*
 * result.c: struct aa_aauth_result helpers and the fault-switch names shared
 * by the receiver and the token validators.
 */
#include "aa_verifier.h"

#include <stdio.h>
#include <string.h>

#include "aauth_int.h"

void aa_aauth_result_init(struct aa_aauth_result *r)
{
    if (r == NULL)
        return;
    memset(r, 0, sizeof(*r));
    aa_diag_clear(&r->diag);
}

void aa_aauth_result_format(const struct aa_aauth_result *r, char *out, size_t cap)
{
    char diag[AA_DIAG_MSG_MAX + 64];
    if (out == NULL || cap == 0)
        return;
    if (r == NULL || r->code == AA_OK) {
        aa_snprintf(out, cap, "ok");
        return;
    }
    aa_diag_format(&r->diag, diag, sizeof(diag));
    aa_snprintf(out, cap, "%s %s (%d): %s", r->where, aa_perr_name(r->perr), r->status, diag);
}

/* Record a failure: status from the profile table unless |status| != 0;
 * a harness fault always becomes 500 server_error. */
int aauth_vres(struct aa_aauth_result *r, const char *sect, int step, enum aa_perr perr,
               int status, int code, const char *ref, const char *fmt, va_list ap)
{
    if (r == NULL)
        return code;
    r->code = code;
    r->step = step;
    aa_snprintf(r->where, sizeof(r->where), "%s/%d", sect, step);
    if (aa_err_is_fault(code)) {
        perr = AA_PERR_SERVER_ERROR;
        status = 500;
    }
    r->perr = perr;
    r->status = status != 0 ? status : aa_perr_status(perr);
    aa_vfail(&r->diag, code, ref, fmt, ap);
    r->diag.step = NULL;
    return code;
}

int aauth_res(struct aa_aauth_result *r, const char *sect, int step, enum aa_perr perr,
              int status, int code, const char *ref, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    aauth_vres(r, sect, step, perr, status, code, ref, fmt, ap);
    va_end(ap);
    return code;
}

int aauth_res_diag(struct aa_aauth_result *r, const char *sect, int step, enum aa_perr perr,
                   int code, const struct aa_diag *sub, const char *prefix)
{
    const char *ref = sub != NULL && sub->ref != NULL ? sub->ref : "PROFILE#2.11";
    const char *msg = sub != NULL && sub->msg[0] != '\0' ? sub->msg : aa_strerror(code);
    if (prefix != NULL)
        return aauth_res(r, sect, step, perr, 0, code, ref, "%s: %s", prefix, msg);
    return aauth_res(r, sect, step, perr, 0, code, ref, "%s", msg);
}

static const struct {
    unsigned bit;
    const char *name;
} fault_names[] = {
    {AA_FAULT_ACCEPT_EXPIRED_TOKEN, "accept-expired-token"},
    {AA_FAULT_SKIP_SIGKEY_COVERAGE, "skip-sigkey-coverage"},
    {AA_FAULT_IGNORE_AUD, "ignore-aud"},
    {AA_FAULT_ACCEPT_ALG_NONE, "accept-alg-none"},
    {AA_FAULT_AUTHORITY_FROM_HOST, "authority-from-host"},
    {AA_FAULT_ACCEPT_LEGACY_BASE, "accept-legacy-base"},
    {AA_FAULT_SKIP_CREATED_WINDOW, "skip-created-window"},
    {AA_FAULT_SKIP_REPLAY, "skip-replay"},
    {AA_FAULT_SKIP_DIGEST, "skip-digest"},
    {AA_FAULT_SKIP_TYP, "skip-typ"},
};

unsigned aa_fault_from_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
        if (strcmp(fault_names[i].name, name) == 0)
            return fault_names[i].bit;
    return 0;
}

const char *aa_fault_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
        if (fault_names[i].bit == bit)
            return fault_names[i].name;
    return NULL;
}
