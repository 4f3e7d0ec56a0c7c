/*
 * aauth.c: the module's error names and the PROFILE#6.8 error vocabulary
 * (D-7). The vocabulary is one table so names and statuses cannot drift.
 */
#include "aa_aauth.h"

#include <string.h>

const char *aa_aauth_strerror(int code)
{
    switch (code) {
    case AA_E_SIGKEY_SYNTAX: return "Signature-Key: grammar violation (PROFILE#2.1)";
    case AA_E_SIGKEY_MEMBERS: return "Signature-Key: more than one member";
    case AA_E_SIGKEY_DUP: return "Signature-Key: duplicate parameter";
    case AA_E_SIGKEY_SCHEME: return "Signature-Key: scheme missing, not a token, or unknown";
    case AA_E_SIGKEY_PARAM: return "Signature-Key: scheme parameters invalid (PROFILE#2.3)";
    case AA_E_SIGKEY_UNSUPPORTED: return "Signature-Key: scheme not supported by this receiver";
    case AA_E_CHALLENGE_SYNTAX: return "Agent-Auth: not an RFC 8941 List";
    case AA_E_CHALLENGE_NONE: return "Agent-Auth: no httpsig member";
    case AA_E_CHALLENGE_PARAM: return "Agent-Auth: parameter of the wrong type";
    case AA_E_NONCE_FORMAT: return "Nonce: malformed (PROFILE#2.9)";
    case AA_E_NONCE_REPLAY: return "Nonce: replay detected";
    case AA_E_NONCE_CACHE_FULL: return "Nonce: replay cache full of live entries";
    case AA_E_NONCE_REQUIRED: return "Nonce: required on a signed POST (D-10)";
    case AA_E_AAUTH_NO_SIGNATURE: return "request carries no signature headers";
    case AA_E_AAUTH_HEADERS: return "signature header missing or repeated";
    case AA_E_AAUTH_LABEL: return "signature label selection failed (PROFILE#2.2)";
    case AA_E_AAUTH_SIG_VALUE: return "Signature value is not a valid Byte Sequence";
    case AA_E_AAUTH_COVERAGE: return "covered components violate PROFILE#2.4";
    case AA_E_AAUTH_CREATED: return "created missing, not an Integer, or outside the window";
    case AA_E_AAUTH_EXPIRES: return "expires invalid or in the past";
    case AA_E_AAUTH_ALG: return "alg parameter does not match the key";
    case AA_E_AAUTH_DIGEST: return "Content-Digest mismatch or no supported algorithm";
    case AA_E_AAUTH_SIG_INPUT: return "Signature-Input malformed";
    case AA_E_AAUTH_KEY: return "signing key could not be resolved";
    case AA_E_AAUTH_BADSIG: return "HTTP signature does not verify";
    case AA_E_AAUTH_LIMIT: return "request exceeds a PROFILE#9 RB limit";
    case AA_E_AAUTH_SCHEME_LEVEL: return "credential below the endpoint's level";
    case AA_E_AAUTH_TOKEN: return "token invalid";
    case AA_E_AAUTH_RESOURCE_TOKEN: return "resource token invalid";
    case AA_E_AAUTH_UNTRUSTED: return "token issuer not trusted";
    case AA_E_SIGNER_INPUT: return "signer input invalid";
    default: return NULL;
    }
}

static const struct {
    enum aa_perr e;
    const char *name;
    int status;
} perr_table[] = {
    {AA_PERR_NONE, "", 0},
    {AA_PERR_INVALID_REQUEST, "invalid_request", 400},
    {AA_PERR_UNSUPPORTED_REQUEST_TYPE, "unsupported_request_type", 400},
    {AA_PERR_INVALID_SCOPE, "invalid_scope", 400},
    {AA_PERR_INVALID_RESOURCE_TOKEN, "invalid_resource_token", 400},
    {AA_PERR_INVALID_GRANT, "invalid_grant", 400},
    {AA_PERR_INVALID_SIGNATURE, "invalid_signature", 401},
    {AA_PERR_REPLAY_DETECTED, "replay_detected", 401},
    {AA_PERR_INVALID_KEY, "invalid_key", 401},
    {AA_PERR_INVALID_TOKEN, "invalid_token", 401},
    {AA_PERR_ACCESS_DENIED, "access_denied", 403},
    {AA_PERR_INSUFFICIENT_SCOPE, "insufficient_scope", 403},
    {AA_PERR_TEMPORARILY_UNAVAILABLE, "temporarily_unavailable", 429},
    {AA_PERR_SERVER_ERROR, "server_error", 500},
};

const char *aa_perr_name(enum aa_perr e)
{
    for (size_t i = 0; i < sizeof(perr_table) / sizeof(perr_table[0]); i++)
        if (perr_table[i].e == e)
            return perr_table[i].name;
    return "";
}

int aa_perr_status(enum aa_perr e)
{
    for (size_t i = 0; i < sizeof(perr_table) / sizeof(perr_table[0]); i++)
        if (perr_table[i].e == e)
            return perr_table[i].status;
    return 0;
}

enum aa_perr aa_perr_from_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return AA_PERR_NONE;
    for (size_t i = 1; i < sizeof(perr_table) / sizeof(perr_table[0]); i++)
        if (strcmp(perr_table[i].name, name) == 0)
            return perr_table[i].e;
    return AA_PERR_NONE;
}
