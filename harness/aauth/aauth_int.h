/*
 * Internal helpers shared by the aauth source files (not part of the API).
 */
#ifndef AAUTH_INT_H
#define AAUTH_INT_H

#include <stdarg.h>

#include "aa_verifier.h"

int aauth_vres(struct aa_aauth_result *r, const char *sect, int step, enum aa_perr perr,
               int status, int code, const char *ref, const char *fmt, va_list ap)
    AA_PRINTF(8, 0);
int aauth_res(struct aa_aauth_result *r, const char *sect, int step, enum aa_perr perr,
              int status, int code, const char *ref, const char *fmt, ...) AA_PRINTF(8, 9);
/* Copy a callee's diagnostic (ref + message, optional prefix) into |r|. */
int aauth_res_diag(struct aa_aauth_result *r, const char *sect, int step, enum aa_perr perr,
                   int code, const struct aa_diag *sub, const char *prefix);

#endif
