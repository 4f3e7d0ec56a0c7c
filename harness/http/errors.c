/*
 * aa_http_strerror: names for the http client (-600..-649) and discovery
 * (-650..-699) codes; aa_strerror() reaches it through a weak reference.
 */
#include "aa_discovery.h"
#include "aa_http.h"

const char *aa_http_strerror(int code)
{
    switch (code) {
    case AA_E_HTTP_URL:
        return "URL malformed or not http(s)";
    case AA_E_HTTP_CONNECT:
        return "cannot connect";
    case AA_E_HTTP_TIMEOUT:
        return "timed out";
    case AA_E_HTTP_TOO_LARGE:
        return "response over the size cap";
    case AA_E_HTTP_NOT_ALLOWED:
        return "non-loopback host refused";
    case AA_E_HTTP_RESOLVE:
        return "host did not resolve";
    case AA_E_HTTP_PROTOCOL:
        return "bad or incomplete HTTP response";
    case AA_E_HTTP_SEND:
        return "sending the request failed";
    case AA_E_HTTP_TLS:
        return "TLS failure";
    case AA_E_HTTP_HEADER:
        return "request header refused";
    case AA_E_HTTP_IDENTIFIER:
        return "not a valid identifier";
    case AA_E_HTTP_FORM:
        return "form body over a limit";
    case AA_E_HTTP_FORM_DUP:
        return "form parameter repeated";
    case AA_E_HTTP_CURL:
        return "libcurl failure";
    case AA_E_DISC_NOT_ALLOWED:
        return "fetch refused by allow policy";
    case AA_E_DISC_REDIRECT:
        return "redirect not followed";
    case AA_E_DISC_STATUS:
        return "unexpected HTTP status";
    case AA_E_DISC_CONTENT_TYPE:
        return "not application/json";
    case AA_E_DISC_JSON:
        return "not a valid JSON object";
    case AA_E_DISC_MEMBER:
        return "required member missing or mistyped";
    case AA_E_DISC_ID_MISMATCH:
        return "identifier member mismatch";
    case AA_E_DISC_JWKS:
        return "JWKS rejected";
    case AA_E_DISC_KID_UNKNOWN:
        return "no key with that kid";
    case AA_E_DISC_JKT_UNKNOWN:
        return "no key with that thumbprint";
    case AA_E_DISC_WELL_KNOWN:
        return "unknown well-known name";
    default:
        return NULL;
    }
}
