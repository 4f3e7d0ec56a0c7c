/*
 * aa_strerror: one entry point over every module's code table. Each module
 * owns a range (see aa_core.h) and defines aa_<module>_strerror(). The
 * references are weak so core does not depend on the modules: a module
 * that is not linked into a program cannot produce its codes anyway.
 *
 * A weak reference does not pull an object file out of a static library,
 * so a program that links only part of a module (say sigkey.c, not the
 * aauth.c that holds the table) would get "unknown error". Hence the rule:
 * every object file that can return a module's codes holds a strong
 * reference to that module's aa_<module>_strerror (a `strerror_anchors`
 * array marked used), which links the table wherever a code can arise.
 */
#include "aa_core.h"

#define AA_WEAK_STRERROR(fn) extern const char *fn(int code) __attribute__((weak))
AA_WEAK_STRERROR(aa_b64_strerror);
AA_WEAK_STRERROR(aa_sf_strerror);
AA_WEAK_STRERROR(aa_json_strerror);
AA_WEAK_STRERROR(aa_jwk_strerror);
AA_WEAK_STRERROR(aa_jose_strerror);
AA_WEAK_STRERROR(aa_httpsig_strerror);
AA_WEAK_STRERROR(aa_aauth_strerror);
AA_WEAK_STRERROR(aa_http_strerror);
AA_WEAK_STRERROR(aa_server_strerror);
AA_WEAK_STRERROR(aa_case_strerror);
AA_WEAK_STRERROR(aa_client_strerror);

static const char *core_strerror(int code)
{
    switch (code) {
    case AA_OK: return "ok";
    case AA_E_NOMEM: return "out of memory";
    case AA_E_INVAL: return "invalid argument (API misuse)";
    case AA_E_LIMIT: return "input exceeds a size or count limit";
    case AA_E_IO: return "I/O error";
    case AA_E_INTERNAL: return "internal error";
    case AA_E_NOTFOUND: return "not found";
    case AA_E_SYNTAX: return "syntax error";
    case AA_E_UNSUPPORTED: return "unsupported";
    default: return NULL;
    }
}

const char *aa_strerror(int code)
{
    static const struct {
        int lo, hi;
        const char *(*fn)(int);
    } ranges[] = {
        {100, 149, aa_b64_strerror},     {150, 199, aa_sf_strerror},
        {200, 249, aa_json_strerror},    {250, 299, aa_jwk_strerror},
        {300, 399, aa_jose_strerror},    {400, 499, aa_httpsig_strerror},
        {500, 599, aa_aauth_strerror},   {600, 699, aa_http_strerror},
        {700, 749, aa_server_strerror},  {750, 799, aa_case_strerror},
        {800, 849, aa_client_strerror},
    };
    const char *s = NULL;
    int c = -code;

    if (c < 100) {
        s = core_strerror(code);
    } else {
        for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
            if (c >= ranges[i].lo && c <= ranges[i].hi && ranges[i].fn != NULL)
                s = ranges[i].fn(code);
    }
    return s ? s : "unknown error";
}
