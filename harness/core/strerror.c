/*
 * aa_strerror: one entry point over every module's code table. Each module
 * owns a range (see aa_core.h) and its own aa_<module>_strerror(); add one
 * dispatch line here when a module gains codes.
 */
#include "aa_core.h"

#include "../b64/aa_b64.h"

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
    const char *s = NULL;
    int c = -code;

    if (c < 100)
        s = core_strerror(code);
    else if (c < 150)
        s = aa_b64_strerror(code);
    return s ? s : "unknown error";
}
