/*
 * aa_strerror() over a program that links only part of a module.
 *
 * aa_strerror() (core) reaches each module's table through a weak
 * reference, and a weak reference does not pull an object out of a static
 * library. This executable calls only aa_sigkey_parse (aauth/sigkey.c),
 * aa_httpsig_verify_digest (httpsig/digest.c) and aa_url_parse
 * (http/url.c) - nothing in aauth.c, components.c or errors.c, where the
 * tables live - so the tables are here only because the objects that
 * return the codes hold strong references to them. Do not call any
 * aa_*_strerror() or other function of those three files here: that would
 * link the table directly and the test would prove nothing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "aauth/aa_aauth.h"
#include "http/aa_http.h"
#include "httpsig/aa_httpsig.h"

static void named(int code)
{
    const char *s = aa_strerror(code);
    cr_assert(s != NULL && s[0] != '\0', "code %d", code);
    cr_assert_str_neq(s, "unknown error", "code %d has no name in this program", code);
}

Test(aauth_strerror, sigkey_codes_named_when_only_sigkey_is_linked)
{
    static const char *const bad[] = {"sig=", "sig=hwk", "sig=(hwk)"};
    struct aa_sigkey sk;
    struct aa_diag d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        memset(&sk, 0, sizeof(sk));
        aa_diag_clear(&d);
        rc = aa_sigkey_parse(NULL, bad[i], strlen(bad[i]), &sk, &d);
        cr_assert_lt(rc, 0, "%s accepted", bad[i]);
        cr_assert_eq(d.code, rc);
        cr_assert(rc <= -500 && rc > -600, "%s: %d is not an aauth code (%s)", bad[i], rc, d.msg);
        named(rc);
        aa_sigkey_cleanup(&sk);
    }
    for (int c = AA_E_SIGKEY_SYNTAX; c >= AA_E_SIGKEY_UNSUPPORTED; c--)
        named(c);
    /* the dispatch still separates named from unnamed codes */
    cr_assert_str_eq(aa_strerror(-599), "unknown error");
}

Test(aauth_strerror, digest_codes_named_when_only_digest_is_linked)
{
    static const char body[] = "{\"hello\": \"world\"}";
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    rc = aa_httpsig_verify_digest(
        AA_STR_LIT("sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"), body,
        sizeof(body) - 1, AA_DIGEST_SHA256, NULL, &d);
    cr_assert_eq(rc, AA_E_HTTPSIG_DIGEST_MISMATCH, "%d: %s", rc, d.msg);
    named(rc);
    named(AA_E_HTTPSIG_DIGEST_SYNTAX);
    named(AA_E_HTTPSIG_DIGEST_NONE);
}

Test(aauth_strerror, url_codes_named_when_only_url_is_linked)
{
    struct aa_url u;
    struct aa_diag d;
    int rc;

    aa_diag_clear(&d);
    rc = aa_url_parse("ftp://example.com/", 18, 0, &u, &d);
    cr_assert_eq(rc, AA_E_HTTP_URL, "%d: %s", rc, d.msg);
    named(rc);
}
