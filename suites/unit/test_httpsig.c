/*
 * aa_httpsig unit tests: component values (RFC 9421 §2.1, §2.2 examples),
 * the signature base and its dialect flags, Signature-Input / Signature
 * parsing, signing and verification with every supported algorithm, the
 * dialect diagnosis, Content-Digest, limits and error names.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "b64/aa_b64.h"
#include "httpsig/aa_httpsig.h"

#define F(n, v)                                                                                    \
    {                                                                                              \
        AA_STR_LIT(n), AA_STR_LIT(v)                                                               \
    }

/* ---- helpers ---------------------------------------------------------------- */

static struct aa_httpsig_msg request(const char *method, const char *target,
                                     const struct aa_httpsig_field *f, size_t n)
{
    struct aa_httpsig_msg m = {0};
    m.method = aa_str_c(method);
    m.scheme = AA_STR_LIT("https");
    m.authority = AA_STR_LIT("www.example.com");
    m.target = aa_str_c(target);
    m.fields = f;
    m.n_fields = n;
    return m;
}

/* Value of the component given as Signature-Input text, e.g. "\"@path\"". */
static int value_of(const struct aa_httpsig_msg *m, const char *id, unsigned flags, char *out,
                    size_t cap, struct aa_diag *d)
{
    struct aa_sf_item it = {0};
    struct aa_buf b;
    int rc;

    aa_diag_clear(d);
    cr_assert_eq(aa_sf_parse_item(id, strlen(id), &it, d), AA_OK, "%s: %s", id, d->msg);
    aa_buf_init(&b, 1 << 20);
    rc = aa_httpsig_component_value(m, &it, flags, &b, d);
    if (rc == AA_OK) {
        cr_assert_lt(b.len, cap);
        memcpy(out, b.p ? b.p : "", b.len + 1);
    }
    aa_buf_free(&b);
    aa_sf_item_free(&it);
    return rc;
}

static void expect_value(const struct aa_httpsig_msg *m, const char *id, const char *want)
{
    char got[1024];
    struct aa_diag d;
    int rc = value_of(m, id, 0, got, sizeof(got), &d);

    cr_assert_eq(rc, AA_OK, "%s: %s", id, d.msg);
    cr_assert_str_eq(got, want, "component %s", id);
}

static void expect_error(const struct aa_httpsig_msg *m, const char *id, int code)
{
    char got[1024];
    struct aa_diag d;
    int rc = value_of(m, id, 0, got, sizeof(got), &d);

    cr_assert_eq(rc, code, "%s: got %d (%s)", id, rc, d.msg);
    cr_assert_neq(d.msg[0], '\0', "%s: no message", id);
    cr_assert_not_null(d.ref, "%s: no spec reference", id);
}

static void ed25519_test1(struct aa_jwk *k)
{
    /* RFC 8032 §7.1 TEST 1 secret key. */
    static const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
                                     0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
                                     0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
                                     0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    cr_assert_eq(aa_jwk_from_ed25519_seed(seed, "test1", k), AA_OK);
}

/* ---- RFC 9421 §2.1: HTTP fields ---------------------------------------------- */

/* The example fragment of RFC9421#2.1 and its component values. */
Test(httpsig_fields, rfc9421_2_1_examples)
{
    static const struct aa_httpsig_field f[] = {
        F("Host", "www.example.com"),
        F("Date", "Tue, 20 Apr 2021 02:07:56 GMT"),
        F("X-OWS-Header", "   Leading and trailing whitespace.   "),
        F("X-Obs-Fold-Header", "Obsolete\r\n    line folding."),
        F("Cache-Control", "max-age=60"),
        F("Cache-Control", "   must-revalidate"),
        F("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
        F("X-Empty-Header", ""),
    };
    static const struct aa_httpsig_sf_hint hint[] = {{"example-dict", AA_HTTPSIG_SF_DICT}};
    struct aa_httpsig_msg m = request("GET", "/", f, sizeof(f) / sizeof(f[0]));

    m.sf_hints = hint;
    m.n_sf_hints = 1;
    expect_value(&m, "\"host\"", "www.example.com");
    expect_value(&m, "\"date\"", "Tue, 20 Apr 2021 02:07:56 GMT");
    expect_value(&m, "\"x-ows-header\"", "Leading and trailing whitespace.");
    expect_value(&m, "\"x-obs-fold-header\"", "Obsolete line folding.");
    expect_value(&m, "\"cache-control\"", "max-age=60, must-revalidate");
    expect_value(&m, "\"example-dict\"", "a=1,    b=2;x=1;y=2,   c=(a   b   c)");
    expect_value(&m, "\"example-dict\";sf", "a=1, b=2;x=1;y=2, c=(a b c)");
    expect_value(&m, "\"x-empty-header\"", "");
}

/* RFC9421#2.1.2 Dictionary members. */
Test(httpsig_fields, rfc9421_2_1_2_key)
{
    static const struct aa_httpsig_field f[] = {
        F("Example-Dict", "  a=1, b=2;x=1;y=2, c=(a   b    c), d"),
    };
    struct aa_httpsig_msg m = request("GET", "/", f, 1);

    expect_value(&m, "\"example-dict\";key=\"a\"", "1");
    expect_value(&m, "\"example-dict\";key=\"d\"", "?1");
    expect_value(&m, "\"example-dict\";key=\"b\"", "2;x=1;y=2");
    expect_value(&m, "\"example-dict\";key=\"c\"", "(a b c)");
    expect_error(&m, "\"example-dict\";key=\"e\"", AA_E_HTTPSIG_SF_FIELD);
}

/* RFC9421#2.1.3: ;bs keeps separate field lines apart. */
Test(httpsig_fields, rfc9421_2_1_3_bs)
{
    static const struct aa_httpsig_field two[] = {F("Example-Header", "value, with, lots"),
                                                  F("Example-Header", "of, commas")};
    static const struct aa_httpsig_field one[] = {
        F("Example-Header", "value, with, lots, of, commas")};
    struct aa_httpsig_msg m2 = request("GET", "/", two, 2), m1 = request("GET", "/", one, 1);

    expect_value(&m2, "\"example-header\"", "value, with, lots, of, commas");
    expect_value(&m1, "\"example-header\"", "value, with, lots, of, commas");
    expect_value(&m2, "\"example-header\";bs", ":dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:");
    expect_value(&m1, "\"example-header\";bs", ":dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:");
}

Test(httpsig_fields, names_values_and_parameters)
{
    static const struct aa_httpsig_field f[] = {
        F("content-type", "text/plain"),
        F("X-Nl", "a\nb"),
        F("X-Cr", "a\rb"),
        F("X-Ctl", "a\x01z"),
        F("X-Tab", "a\tb"),
        F("X-Fold-Lf", "a\n b"),
        F("Priority", "u=1,   i"),
    };
    struct aa_httpsig_msg m = request("GET", "/", f, sizeof(f) / sizeof(f[0]));

    /* Field names are matched case-insensitively but must be covered lowercase. */
    expect_value(&m, "\"content-type\"", "text/plain");
    expect_error(&m, "\"Content-Type\"", AA_E_HTTPSIG_COMPONENT_NAME);
    expect_error(&m, "\"content type\"", AA_E_HTTPSIG_COMPONENT_NAME);
    expect_error(&m, "\"\"", AA_E_HTTPSIG_COMPONENT_NAME);
    expect_error(&m, "\"x-absent\"", AA_E_HTTPSIG_MISSING_FIELD);
    /* A newline or control character would forge a base line. */
    expect_error(&m, "\"x-nl\"", AA_E_HTTPSIG_VALUE_CHARS);
    expect_error(&m, "\"x-cr\"", AA_E_HTTPSIG_VALUE_CHARS);
    expect_error(&m, "\"x-ctl\"", AA_E_HTTPSIG_VALUE_CHARS);
    expect_value(&m, "\"x-tab\"", "a\tb");
    expect_value(&m, "\"x-fold-lf\"", "a b");
    /* Registered structured fields need no hint for ;sf. */
    expect_value(&m, "\"priority\";sf", "u=1, i");
    expect_error(&m, "\"content-type\";sf", AA_E_HTTPSIG_SF_FIELD);
    /* Parameters: unknown, wrong type, incompatible, misplaced. */
    expect_error(&m, "\"content-type\";xyz", AA_E_HTTPSIG_COMPONENT_PARAM);
    expect_error(&m, "\"content-type\";sf=1", AA_E_HTTPSIG_COMPONENT_PARAM);
    expect_error(&m, "\"priority\";key=\"u\";bs", AA_E_HTTPSIG_COMPONENT_PARAM);
    expect_error(&m, "\"content-type\";name=\"a\"", AA_E_HTTPSIG_COMPONENT_PARAM);
    expect_error(&m, "\"content-type\";req", AA_E_HTTPSIG_COMPONENT_CONTEXT);
    expect_error(&m, "\"content-type\";tr", AA_E_HTTPSIG_MISSING_FIELD);
}

Test(httpsig_fields, sf_kind_table_and_hints)
{
    static const struct aa_httpsig_sf_hint h[] = {{"x-mine", AA_HTTPSIG_SF_LIST},
                                                  {"content-digest", AA_HTTPSIG_SF_ITEM}};
    struct aa_httpsig_msg m = {0};

    cr_assert_eq(aa_httpsig_sf_kind_of(NULL, "content-digest"), AA_HTTPSIG_SF_DICT);
    cr_assert_eq(aa_httpsig_sf_kind_of(NULL, "cache-status"), AA_HTTPSIG_SF_LIST);
    cr_assert_eq(aa_httpsig_sf_kind_of(NULL, "client-cert"), AA_HTTPSIG_SF_ITEM);
    cr_assert_eq(aa_httpsig_sf_kind_of(NULL, "x-mine"), AA_HTTPSIG_SF_UNKNOWN);
    m.sf_hints = h;
    m.n_sf_hints = 2;
    cr_assert_eq(aa_httpsig_sf_kind_of(&m, "x-mine"), AA_HTTPSIG_SF_LIST);
    /* A hint overrides the table. */
    cr_assert_eq(aa_httpsig_sf_kind_of(&m, "content-digest"), AA_HTTPSIG_SF_ITEM);
}

/* ;tr reads trailers only (RFC9421#2.1.4). */
Test(httpsig_fields, trailers)
{
    static const struct aa_httpsig_field hdr[] = {F("Trailer", "Expires")};
    static const struct aa_httpsig_field tr[] = {F("Expires", "Wed, 9 Nov 2022 07:28:00 GMT")};
    struct aa_httpsig_msg m = {0};

    m.is_response = true;
    m.status = 200;
    m.fields = hdr;
    m.n_fields = 1;
    m.trailers = tr;
    m.n_trailers = 1;
    expect_value(&m, "\"@status\"", "200");
    expect_value(&m, "\"trailer\"", "Expires");
    expect_value(&m, "\"expires\";tr", "Wed, 9 Nov 2022 07:28:00 GMT");
    expect_error(&m, "\"expires\"", AA_E_HTTPSIG_MISSING_FIELD);
    expect_error(&m, "\"trailer\";tr", AA_E_HTTPSIG_MISSING_FIELD);
}

/* ---- RFC 9421 §2.2: derived components ----------------------------------------- */

Test(httpsig_derived, rfc9421_2_2_examples)
{
    struct aa_httpsig_msg m = request("POST", "/path?param=value", NULL, 0);

    expect_value(&m, "\"@method\"", "POST");
    expect_value(&m, "\"@target-uri\"", "https://www.example.com/path?param=value");
    expect_value(&m, "\"@authority\"", "www.example.com");
    expect_value(&m, "\"@scheme\"", "https");
    expect_value(&m, "\"@request-target\"", "/path?param=value");
    expect_value(&m, "\"@path\"", "/path");
    expect_value(&m, "\"@query\"", "?param=value");
    m.target = AA_STR_LIT("/path?param=value&foo=bar&baz=bat%2Dman");
    expect_value(&m, "\"@query\"", "?param=value&foo=bar&baz=bat%2Dman");
    m.target = AA_STR_LIT("/path?queryString");
    expect_value(&m, "\"@query\"", "?queryString");
    m.target = AA_STR_LIT("/path");
    expect_value(&m, "\"@query\"", "?");
    m.target = AA_STR_LIT("/x?");
    expect_value(&m, "\"@query\"", "?");
    expect_value(&m, "\"@path\"", "/x");
}

Test(httpsig_derived, normalisation_and_target_forms)
{
    struct aa_httpsig_msg m = request("get", "", NULL, 0);
    char got[256];
    struct aa_diag d;

    /* Method is case-sensitive; path of an empty target is "/". */
    expect_value(&m, "\"@method\"", "get");
    expect_value(&m, "\"@path\"", "/");
    m.scheme = AA_STR_LIT("HTTPS");
    m.authority = AA_STR_LIT("WWW.Example.COM:443");
    expect_value(&m, "\"@scheme\"", "https");
    expect_value(&m, "\"@authority\"", "www.example.com");
    m.authority = AA_STR_LIT("127.0.0.1:8443");
    expect_value(&m, "\"@authority\"", "127.0.0.1:8443");
    m.scheme = AA_STR_LIT("http");
    m.authority = AA_STR_LIT("Example.com:80");
    expect_value(&m, "\"@authority\"", "example.com");
    /* Percent-encoding is kept byte for byte. */
    m.target = AA_STR_LIT("/a%2Fb/../c?q=caf%C3%A9");
    expect_value(&m, "\"@path\"", "/a%2Fb/../c");
    expect_value(&m, "\"@query\"", "?q=caf%C3%A9");
    /* The dialect flag drops the "?". */
    cr_assert_eq(value_of(&m, "\"@query\"", AA_HTTPSIG_BASE_QUERY_NO_QMARK, got, sizeof(got), &d),
                 AA_OK);
    cr_assert_str_eq(got, "q=caf%C3%A9");
    /* absolute-form */
    m.target = AA_STR_LIT("https://www.example.com/path?param=value");
    expect_value(&m, "\"@request-target\"", "https://www.example.com/path?param=value");
    expect_value(&m, "\"@target-uri\"", "https://www.example.com/path?param=value");
    expect_value(&m, "\"@path\"", "/path");
    expect_value(&m, "\"@query\"", "?param=value");
    m.target = AA_STR_LIT("https://www.example.com");
    expect_value(&m, "\"@path\"", "/");
    /* asterisk-form and authority-form have no path */
    m.target = AA_STR_LIT("*");
    expect_value(&m, "\"@request-target\"", "*");
    expect_error(&m, "\"@path\"", AA_E_HTTPSIG_TARGET);
    m.target = AA_STR_LIT("www.example.com:80");
    expect_error(&m, "\"@path\"", AA_E_HTTPSIG_TARGET);
    /* Non-printable bytes cannot be derived values. */
    m.target = AA_STR_LIT("/caf\xc3\xa9");
    expect_error(&m, "\"@path\"", AA_E_HTTPSIG_VALUE_CHARS);
}

Test(httpsig_derived, context_and_unknown)
{
    struct aa_httpsig_msg m = request("GET", "/", NULL, 0), resp = {0};

    expect_error(&m, "\"@status\"", AA_E_HTTPSIG_COMPONENT_CONTEXT);
    expect_error(&m, "\"@nope\"", AA_E_HTTPSIG_UNKNOWN_COMPONENT);
    expect_error(&m, "\"@signature-params\"", AA_E_HTTPSIG_UNKNOWN_COMPONENT);
    expect_error(&m, "\"@method\";bs", AA_E_HTTPSIG_COMPONENT_PARAM);
    expect_error(&m, "\"@method\";key=\"a\"", AA_E_HTTPSIG_COMPONENT_PARAM);
    expect_error(&m, "\"@path\";name=\"a\"", AA_E_HTTPSIG_COMPONENT_PARAM);
    resp.is_response = true;
    resp.status = 7;
    expect_error(&resp, "\"@status\"", AA_E_INVAL);
    resp.status = 404;
    expect_value(&resp, "\"@status\"", "404");
    expect_error(&resp, "\"@path\"", AA_E_HTTPSIG_COMPONENT_CONTEXT);
    expect_error(&resp, "\"@authority\";req", AA_E_HTTPSIG_COMPONENT_CONTEXT);
}

/* RFC9421#2.2.8 examples: decode as form data, re-encode with %20 for space. */
Test(httpsig_derived, query_param)
{
    struct aa_httpsig_msg m =
        request("GET",
                "/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace"
                "&fa%C3%A7ade%22%3A%20=something&&qux=&bare",
                NULL, 0);

    expect_value(&m, "\"@query-param\";name=\"var\"", "this%20is%20a%20big%0Amultiline%20value");
    expect_value(&m, "\"@query-param\";name=\"bar\"", "with%20plus%20whitespace");
    expect_value(&m, "\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\"", "something");
    expect_value(&m, "\"@query-param\";name=\"qux\"", "");
    expect_value(&m, "\"@query-param\";name=\"bare\"", "");
    expect_error(&m, "\"@query-param\";name=\"missing\"", AA_E_HTTPSIG_QUERY_PARAM);
    expect_error(&m, "\"@query-param\"", AA_E_HTTPSIG_QUERY_PARAM);
    expect_error(&m, "\"@query-param\";name=var", AA_E_HTTPSIG_COMPONENT_PARAM);
    m.target = AA_STR_LIT("/path?param=value&foo=bar&baz=batman&qux=&a=%zz*-._~");
    expect_value(&m, "\"@query-param\";name=\"baz\"", "batman");
    expect_value(&m, "\"@query-param\";name=\"a\"", "%25zz*-._%7E");
    m.target = AA_STR_LIT("/path?a=1&a=2");
    expect_error(&m, "\"@query-param\";name=\"a\"", AA_E_HTTPSIG_QUERY_PARAM);
    m.target = AA_STR_LIT("/path");
    expect_error(&m, "\"@query-param\";name=\"a\"", AA_E_HTTPSIG_QUERY_PARAM);
}

/* RFC9421#2.4: ;req takes values from the request a response answers. */
Test(httpsig_derived, request_response_binding)
{
    static const struct aa_httpsig_field rf[] = {
        F("Signature", "sig1=:LAH8BjcfcOcLojiuOBFWn0P5keD3xAOuJRGziCLuD8r5MW9S0RoXXLzLSRfGY/3SF8kV"
                       "IkHjE13SEFdTo4Af/fJ/Pu9wheqoLVdwXyY/UkBIS1M8Brc8IODsn5DFIrG0IrburbLi0uCc+E"
                       "2ZIIb6HbUJ+o+jP58JelMTe0QE3IpWINTEzpxjqDf5/Df+InHCAkQCTuKsamjWXUpyOT1Wkxi7"
                       "YPVNOjW4MfNuTZ9HdbD2Tr65+BXeTG9ZS/9SWuXAc+BZ8WyPz0QRz//ec3uWXd7bYYODSjRAxH"
                       "qX+S1ag3LZElYyUKaAIjZ8MGOt4gXEwCSLDv/zqxZeWLj/PDkn6w==:"),
    };
    struct aa_httpsig_msg req = request("POST", "/foo?param=Value&Pet=dog", rf, 1), resp = {0};

    req.authority = AA_STR_LIT("example.com");
    resp.is_response = true;
    resp.status = 503;
    resp.request = &req;
    expect_value(&resp, "\"@authority\";req", "example.com");
    expect_value(&resp, "\"@method\";req", "POST");
    expect_value(&resp, "\"signature\";req;key=\"sig1\"",
                 ":LAH8BjcfcOcLojiuOBFWn0P5keD3xAOuJRGziCLuD8r5MW9S0RoXXLzLSRfGY/3SF8kV"
                 "IkHjE13SEFdTo4Af/fJ/Pu9wheqoLVdwXyY/UkBIS1M8Brc8IODsn5DFIrG0IrburbLi0uCc+E"
                 "2ZIIb6HbUJ+o+jP58JelMTe0QE3IpWINTEzpxjqDf5/Df+InHCAkQCTuKsamjWXUpyOT1Wkxi7"
                 "YPVNOjW4MfNuTZ9HdbD2Tr65+BXeTG9ZS/9SWuXAc+BZ8WyPz0QRz//ec3uWXd7bYYODSjRAxH"
                 "qX+S1ag3LZElYyUKaAIjZ8MGOt4gXEwCSLDv/zqxZeWLj/PDkn6w==:");
    expect_value(&resp, "\"@status\"", "503");
    expect_error(&resp, "\"@status\";req", AA_E_HTTPSIG_COMPONENT_CONTEXT);
    resp.request = NULL;
    expect_error(&resp, "\"@method\";req", AA_E_HTTPSIG_COMPONENT_CONTEXT);
}

/* ---- the signature base ---------------------------------------------------------- */

static int base_of(const struct aa_httpsig_msg *m, const char *inner, unsigned flags,
                   struct aa_buf *out, struct aa_diag *d)
{
    struct aa_sf_list l = {0};
    int rc;

    /* An Inner List is not an Item (RFC 8941 §3.1.1): parse it as a List. */
    aa_diag_clear(d);
    cr_assert_eq(aa_sf_parse_list(inner, strlen(inner), &l, d), AA_OK, "%s", d->msg);
    cr_assert_eq(l.n, 1u);
    aa_buf_init(out, AA_HTTPSIG_MAX_BASE);
    rc = aa_httpsig_build_base(m, &l.v[0], flags, out, d);
    aa_sf_list_free(&l);
    return rc;
}

Test(httpsig_base, layout_and_dialects)
{
    static const struct aa_httpsig_field f[] = {F("X-A", "1")};
    struct aa_httpsig_msg m = request("GET", "/p?q", f, 1);
    struct aa_buf b;
    struct aa_diag d;

    cr_assert_eq(base_of(&m, "(\"@method\" \"@query\" \"x-a\");created=1", 0, &b, &d), AA_OK);
    cr_assert_str_eq(b.p, "\"@method\": GET\n\"@query\": ?q\n\"x-a\": 1\n"
                          "\"@signature-params\": (\"@method\" \"@query\" \"x-a\");created=1");
    aa_buf_free(&b);
    cr_assert_eq(base_of(&m, "(\"@method\" \"@query\" \"x-a\");created=1",
                         AA_HTTPSIG_BASE_LEGACY | AA_HTTPSIG_BASE_QUERY_NO_QMARK, &b, &d),
                 AA_OK);
    cr_assert_str_eq(b.p, "\"@method\": GET\n\"@query\": q\n\"x-a\": 1\n");
    aa_buf_free(&b);
    /* Empty list: only the parameters line (RFC 9421 B.2.1). */
    cr_assert_eq(base_of(&m, "();created=1;nonce=\"n\"", 0, &b, &d), AA_OK);
    cr_assert_str_eq(b.p, "\"@signature-params\": ();created=1;nonce=\"n\"");
    aa_buf_free(&b);
    /* Non-canonical input is re-serialised canonically. */
    cr_assert_eq(base_of(&m, "(  \"@method\"   \"x-a\" );created=1", 0, &b, &d), AA_OK);
    cr_assert_str_eq(b.p, "\"@method\": GET\n\"x-a\": 1\n"
                          "\"@signature-params\": (\"@method\" \"x-a\");created=1");
    aa_buf_free(&b);
}

Test(httpsig_base, duplicates_and_distinct_parameters)
{
    static const struct aa_httpsig_field f[] = {F("Example-Dict", "a=1, b=2")};
    struct aa_httpsig_msg m = request("GET", "/", f, 1);
    struct aa_buf b;
    struct aa_diag d;

    cr_assert_eq(base_of(&m, "(\"@path\" \"@path\")", 0, &b, &d), AA_E_HTTPSIG_DUP_COMPONENT);
    aa_buf_free(&b);
    cr_assert_eq(
        base_of(&m, "(\"example-dict\";key=\"a\";bs \"example-dict\";bs;key=\"a\")", 0, &b, &d),
        AA_E_HTTPSIG_COMPONENT_PARAM);
    aa_buf_free(&b);
    cr_assert_eq(
        base_of(&m, "(\"example-dict\";key=\"a\";req \"example-dict\";req;key=\"a\")", 0, &b, &d),
        AA_E_HTTPSIG_COMPONENT_CONTEXT);
    aa_buf_free(&b);
    /* Same name, different parameters: distinct and allowed. */
    cr_assert_eq(base_of(&m,
                         "(\"example-dict\";key=\"a\" \"example-dict\";key=\"b\" "
                         "\"example-dict\")",
                         0, &b, &d),
                 AA_OK, "%s", d.msg);
    cr_assert_str_eq(b.p,
                     "\"example-dict\";key=\"a\": 1\n\"example-dict\";key=\"b\": 2\n"
                     "\"example-dict\": a=1, b=2\n\"@signature-params\": "
                     "(\"example-dict\";key=\"a\" \"example-dict\";key=\"b\" \"example-dict\")");
    aa_buf_free(&b);
    cr_assert_eq(base_of(&m, "(\"example-dict\";key=\"a\" \"example-dict\";key=\"a\")", 0, &b, &d),
                 AA_E_HTTPSIG_DUP_COMPONENT);
    aa_buf_free(&b);
    cr_assert_eq(base_of(&m, "(\"@path\" 1)", 0, &b, &d), AA_E_HTTPSIG_INPUT_SYNTAX);
    aa_buf_free(&b);
}

Test(httpsig_base, limits)
{
    struct aa_httpsig_field f[1] = {F("x-big", "")};
    struct aa_httpsig_msg m = request("GET", "/", f, 1);
    char *big = malloc(AA_HTTPSIG_MAX_BASE + 10);
    struct aa_buf inner, b;
    struct aa_diag d;

    cr_assert_not_null(big);
    memset(big, 'a', AA_HTTPSIG_MAX_BASE + 9);
    big[AA_HTTPSIG_MAX_BASE + 9] = '\0';
    f[0].name = AA_STR_LIT("x-big");
    f[0].value = aa_str_c(big);
    cr_assert_eq(base_of(&m, "(\"x-big\")", 0, &b, &d), AA_E_LIMIT);
    aa_buf_free(&b);
    f[0].value = AA_STR_LIT("ok");
    /* 65 distinct components (limit 64). */
    aa_buf_init(&inner, 8192);
    aa_buf_addc(&inner, '(');
    for (int i = 0; i <= AA_HTTPSIG_MAX_COMPONENTS; i++)
        aa_buf_printf(&inner, "%s\"x-big\";key=\"k%d\"", i ? " " : "", i);
    aa_buf_addc(&inner, ')');
    cr_assert_eq(base_of(&m, inner.p, 0, &b, &d), AA_E_LIMIT);
    cr_assert(strstr(d.msg, "65") != NULL, "%s", d.msg);
    aa_buf_free(&b);
    aa_buf_free(&inner);
    free(big);
}

/* ---- Signature-Input and Signature ------------------------------------------------- */

Test(httpsig_fields_parse, signature_input_parameters)
{
    struct aa_httpsig_input in;
    struct aa_diag d;
    char long_keyid[AA_HTTPSIG_PARAM_MAX + 40];

    aa_diag_clear(&d);
    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT("a=(\"@path\");tag=\"t\";x-ext=5;"
                                                   "keyid=\"k\";alg=\"ed25519\";created=1;"
                                                   "nonce=\"n\";expires=9"),
                                        NULL, &in, &d),
                 AA_OK, "%s", d.msg);
    cr_assert_str_eq(in.label, "a");
    cr_assert(in.params.has_created && in.params.created == 1);
    cr_assert(in.params.has_expires && in.params.expires == 9);
    cr_assert_str_eq(in.params.nonce, "n");
    cr_assert_str_eq(in.params.alg, "ed25519");
    cr_assert_str_eq(in.params.keyid, "k");
    cr_assert_str_eq(in.params.tag, "t");
    cr_assert_str_eq(in.params.order, "tag,keyid,alg,created,nonce,expires");
    /* The unknown parameter stays in the list (it is part of the base). */
    cr_assert_not_null(aa_sf_params_get(&in.list.params, "x-ext"));
    aa_httpsig_input_cleanup(&in);

    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT("a=();created=1, b=();created=2"), "b", &in, &d),
                 AA_OK);
    cr_assert_eq(in.params.created, 2);
    aa_httpsig_input_cleanup(&in);
    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT("a=(), b=()"), NULL, &in, &d),
                 AA_E_HTTPSIG_LABEL);
    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT("a=()"), "c", &in, &d), AA_E_HTTPSIG_LABEL);
    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT(""), NULL, &in, &d), AA_E_HTTPSIG_INPUT_SYNTAX);
    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT("a=();keyid=1"), NULL, &in, &d),
                 AA_E_HTTPSIG_PARAM_TYPE);
    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT("a=();expires=\"1\""), NULL, &in, &d),
                 AA_E_HTTPSIG_PARAM_TYPE);
    cr_assert_eq(aa_httpsig_parse_input(AA_STR_LIT("a=();created=?1"), NULL, &in, &d),
                 AA_E_HTTPSIG_PARAM_TYPE);
    memset(long_keyid, 'k', sizeof(long_keyid));
    memcpy(long_keyid, "a=();keyid=\"", 12);
    long_keyid[sizeof(long_keyid) - 2] = '"';
    long_keyid[sizeof(long_keyid) - 1] = '\0';
    cr_assert_eq(aa_httpsig_parse_input(aa_str_c(long_keyid), NULL, &in, &d), AA_E_LIMIT);
}

Test(httpsig_fields_parse, signature_member)
{
    uint8_t sig[8];
    size_t n = 99;
    unsigned cls = 0;
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_eq(
        aa_httpsig_parse_signature(AA_STR_LIT("s=:AAEC:"), NULL, sig, sizeof(sig), &n, &cls, &d),
        AA_OK);
    cr_assert_eq(n, 3u);
    cr_assert(sig[0] == 0 && sig[1] == 1 && sig[2] == 2);
    cr_assert(cls & AA_B64C_STD_PADDED);
    cr_assert_eq(aa_httpsig_parse_signature(AA_STR_LIT("s=:AAECAwQFBgcICQ==:"), "s", sig,
                                            sizeof(sig), &n, NULL, &d),
                 AA_E_LIMIT);
    cr_assert_eq(
        aa_httpsig_parse_signature(AA_STR_LIT("s=(:AA==:)"), "s", sig, sizeof(sig), &n, NULL, &d),
        AA_E_HTTPSIG_SIG_TYPE);
    cr_assert_eq(
        aa_httpsig_parse_signature(AA_STR_LIT("s=:A-_B:"), "s", sig, sizeof(sig), &n, &cls, &d),
        AA_E_HTTPSIG_SIG_ENCODING);
    cr_assert(strstr(d.msg, "base64url") != NULL, "%s", d.msg);
    cr_assert_str_eq(d.ref, "RFC8941#3.3.5");
    cr_assert(cls & AA_B64C_HAS_URL_CHARS);
    cr_assert_eq(
        aa_httpsig_parse_signature(AA_STR_LIT("s=:AA$=:"), "s", sig, sizeof(sig), &n, NULL, &d),
        AA_E_HTTPSIG_SIG_ENCODING);
    cr_assert_eq(
        aa_httpsig_parse_signature(AA_STR_LIT("s=:AA==: x"), "s", sig, sizeof(sig), &n, NULL, &d),
        AA_E_HTTPSIG_SIG_SYNTAX);
    cr_assert_eq(
        aa_httpsig_parse_signature(AA_STR_LIT("s=:AA==:"), "t", sig, sizeof(sig), &n, NULL, &d),
        AA_E_HTTPSIG_LABEL);
}

Test(httpsig_fields_parse, choose_label)
{
    char out[AA_HTTPSIG_LABEL_MAX + 1];
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_eq(
        aa_httpsig_choose_label(AA_STR_LIT("a=(), b=()"), AA_STR_LIT("b=:AA==:"), NULL, out, &d),
        AA_OK);
    cr_assert_str_eq(out, "b");
    /* Works when Signature is not RFC 8941 (seed dialect). */
    cr_assert_eq(
        aa_httpsig_choose_label(AA_STR_LIT("sig1=()"), AA_STR_LIT("sig1=:a_b-:"), NULL, out, &d),
        AA_OK);
    cr_assert_str_eq(out, "sig1");
    cr_assert_eq(aa_httpsig_choose_label(AA_STR_LIT("a=(), b=()"), AA_STR_LIT("a=:AA==:, b=:AA==:"),
                                         NULL, out, &d),
                 AA_E_HTTPSIG_LABEL);
    cr_assert_eq(aa_httpsig_choose_label(AA_STR_LIT("a=(), b=()"), AA_STR_LIT("a=:AA==:, b=:AA==:"),
                                         "a", out, &d),
                 AA_OK);
    cr_assert_str_eq(out, "a");
    cr_assert_eq(aa_httpsig_choose_label(AA_STR_LIT("a=()"), AA_STR_LIT("b=:AA==:"), "b", out, &d),
                 AA_E_HTTPSIG_LABEL);
    cr_assert_eq(aa_httpsig_choose_label(AA_STR_LIT("a=()"), AA_STR_LIT("b=:AA==:"), "a", out, &d),
                 AA_E_HTTPSIG_LABEL);
    cr_assert_eq(aa_httpsig_choose_label(AA_STR_LIT("a=("), AA_STR_LIT("a=:AA==:"), NULL, out, &d),
                 AA_E_HTTPSIG_INPUT_SYNTAX);
}

Test(httpsig_fields_parse, make_params_order)
{
    struct aa_httpsig_component c[] = {{"@query-param", AA_HTTPSIG_C_REQ, NULL, "Pet"},
                                       {"example-dict", AA_HTTPSIG_C_SF, "a", NULL},
                                       {"x", AA_HTTPSIG_C_BS | AA_HTTPSIG_C_TR, NULL, NULL}};
    struct aa_httpsig_params p = {0};
    struct aa_sf_item il;
    struct aa_buf b;
    struct aa_diag d;

    aa_diag_clear(&d);
    p.has_created = true;
    p.created = 5;
    p.has_expires = true;
    p.expires = 6;
    cr_assert_eq(aa_httpsig_params_set(&p, "keyid", "k"), AA_OK);
    cr_assert_eq(aa_httpsig_params_set(&p, "tag", "t"), AA_OK);
    cr_assert_eq(aa_httpsig_params_set(&p, "order", "keyid,created"), AA_OK);
    cr_assert_eq(aa_httpsig_make_params(c, 3, &p, &il, &d), AA_OK, "%s", d.msg);
    aa_buf_init(&b, 1024);
    cr_assert_eq(aa_sf_serialize_inner_list(&il, &b, &d), AA_OK);
    /* The requested order, then the rest in RFC 9421 §2.3 order. */
    cr_assert_str_eq(b.p, "(\"@query-param\";req;name=\"Pet\" \"example-dict\";key=\"a\";sf "
                          "\"x\";bs;tr);keyid=\"k\";created=5;expires=6;tag=\"t\"");
    aa_buf_free(&b);
    aa_sf_item_free(&il);
    cr_assert_eq(aa_httpsig_params_set(&p, "order", "created,bogus"), AA_OK);
    cr_assert_eq(aa_httpsig_make_params(c, 3, &p, &il, &d), AA_E_HTTPSIG_PARAM_TYPE);
    cr_assert_eq(aa_httpsig_params_set(&p, "color", "x"), AA_E_INVAL);
    {
        char huge[AA_HTTPSIG_PARAM_MAX + 2];
        memset(huge, 'n', sizeof(huge) - 1);
        huge[sizeof(huge) - 1] = '\0';
        cr_assert_eq(aa_httpsig_params_set(&p, "nonce", huge), AA_E_LIMIT);
    }
}

/* ---- sign / verify ---------------------------------------------------------------------- */

static const struct aa_httpsig_field sk_fields[] = {
    F("Host", "127.0.0.1:8002"),
    F("Signature-Key", "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" "
                       "x=\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\")"),
};
static const struct aa_httpsig_component c5[] = {{"@method", 0, NULL, NULL},
                                                 {"@authority", 0, NULL, NULL},
                                                 {"@path", 0, NULL, NULL},
                                                 {"@query", 0, NULL, NULL},
                                                 {"signature-key", 0, NULL, NULL}};

/* PROTOCOL.md §2.12 Example A as a message view. */
static struct aa_httpsig_msg example_a(void)
{
    struct aa_httpsig_msg m = {0};
    m.method = AA_STR_LIT("GET");
    m.scheme = AA_STR_LIT("http");
    m.authority = AA_STR_LIT("127.0.0.1:8002");
    m.target = AA_STR_LIT("/data-hwk?page=2&q=caf%C3%A9");
    m.fields = sk_fields;
    m.n_fields = 2;
    return m;
}

static void round_trip(enum aa_kty kty, enum aa_alg alg)
{
    struct aa_httpsig_msg m = example_a(), other = example_a();
    struct aa_httpsig_params p = {0};
    struct aa_httpsig_signed s;
    struct aa_httpsig_result r;
    struct aa_jwk k = {0}, pub = {0};
    struct aa_diag d;

    aa_diag_clear(&d);
    cr_assert_eq(aa_jwk_generate(kty, "k", &k), AA_OK);
    cr_assert_eq(aa_jwk_public(&pub, &k), AA_OK);
    p.has_created = true;
    p.created = 1000;
    cr_assert_eq(aa_httpsig_params_set(&p, "alg", aa_alg_httpsig_name(alg)), AA_OK);
    aa_httpsig_signed_init(&s);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, &p, alg, &k, &s, &d), AA_OK, "%s: %s",
                 aa_alg_httpsig_name(alg), d.msg);
    aa_httpsig_result_init(&r);
    cr_assert_eq(aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), "sig1", &pub,
                                   NULL, &r, &d),
                 AA_OK, "%s: %s", aa_alg_httpsig_name(alg), d.msg);
    cr_assert_eq(r.alg, alg);
    cr_assert_str_eq(r.label, "sig1");
    cr_assert_eq(r.params.created, 1000);
    aa_httpsig_result_cleanup(&r);
    /* Changing any covered component breaks it. */
    other.target = AA_STR_LIT("/data-hwk?page=3&q=caf%C3%A9");
    cr_assert_eq(aa_httpsig_verify(&other, aa_str_c(s.input.p), aa_str_c(s.signature.p), "sig1",
                                   &pub, NULL, NULL, &d),
                 AA_E_HTTPSIG_BAD_SIGNATURE, "%s", aa_alg_httpsig_name(alg));
    other = example_a();
    other.authority = AA_STR_LIT("127.0.0.1:8003");
    cr_assert_eq(aa_httpsig_verify(&other, aa_str_c(s.input.p), aa_str_c(s.signature.p), "sig1",
                                   &pub, NULL, NULL, &d),
                 AA_E_HTTPSIG_BAD_SIGNATURE);
    aa_httpsig_signed_cleanup(&s);
    aa_jwk_cleanup(&pub);
    aa_jwk_cleanup(&k);
}

Test(httpsig_sign, round_trip_every_algorithm)
{
    round_trip(AA_KTY_OKP, AA_ALG_ED25519);
    round_trip(AA_KTY_EC, AA_ALG_ES256);
    round_trip(AA_KTY_RSA, AA_ALG_PS512);
    round_trip(AA_KTY_RSA, AA_ALG_RS256);
}

Test(httpsig_sign, signer_checks)
{
    struct aa_httpsig_msg m = example_a();
    struct aa_httpsig_params p = {0};
    struct aa_httpsig_signed s;
    struct aa_jwk k = {0}, pub = {0}, ec = {0};
    struct aa_diag d;

    aa_diag_clear(&d);
    ed25519_test1(&k);
    cr_assert_eq(aa_jwk_public(&pub, &k), AA_OK);
    cr_assert_eq(aa_jwk_generate(AA_KTY_EC, "ec", &ec), AA_OK);
    aa_httpsig_signed_init(&s);
    cr_assert_eq(aa_httpsig_sign(&m, "Sig1", c5, 5, NULL, AA_ALG_NONE, &k, &s, &d),
                 AA_E_HTTPSIG_LABEL);
    cr_assert_eq(aa_httpsig_sign(&m, "", c5, 5, NULL, AA_ALG_NONE, &k, &s, &d), AA_E_HTTPSIG_LABEL);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, NULL, AA_ALG_NONE, &pub, &s, &d), AA_E_INVAL);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, NULL, AA_ALG_ES256, &k, &s, &d),
                 AA_E_HTTPSIG_ALG_MISMATCH);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, NULL, AA_ALG_PS256, &k, &s, &d),
                 AA_E_HTTPSIG_ALG_UNSUPPORTED);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, NULL, AA_ALG_HS256, &k, &s, &d),
                 AA_E_HTTPSIG_ALG_UNSUPPORTED);
    cr_assert_eq(aa_httpsig_params_set(&p, "alg", "ecdsa-p256-sha256"), AA_OK);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, &p, AA_ALG_ED25519, &k, &s, &d),
                 AA_E_HTTPSIG_ALG_MISMATCH);
    /* The alg parameter alone selects the algorithm, and must fit the key. */
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, &p, AA_ALG_NONE, &k, &s, &d),
                 AA_E_HTTPSIG_ALG_MISMATCH);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, &p, AA_ALG_NONE, &ec, &s, &d), AA_OK, "%s",
                 d.msg);
    aa_httpsig_signed_cleanup(&s);
    aa_httpsig_signed_init(&s);
    /* A hostile signer may lie in the alg parameter (negative vectors). */
    cr_assert_eq(aa_httpsig_sign_ex(&m, "sig1", c5, 5, &p, AA_ALG_ED25519, &k, 0,
                                    AA_HTTPSIG_ENC_STD_PADDED, &s, &d),
                 AA_OK, "%s", d.msg);
    cr_assert(strstr(s.input.p, "alg=\"ecdsa-p256-sha256\"") != NULL);
    cr_assert_eq(aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &pub,
                                   NULL, NULL, &d),
                 AA_E_HTTPSIG_ALG_MISMATCH);
    cr_assert_str_eq(d.step, AA_HTTPSIG_STEP_ALG);
    aa_httpsig_signed_cleanup(&s);
    /* A covered field that is missing fails before anything is signed. */
    {
        struct aa_httpsig_component c[] = {{"content-digest", 0, NULL, NULL}};
        aa_httpsig_signed_init(&s);
        cr_assert_eq(aa_httpsig_sign(&m, "sig1", c, 1, NULL, AA_ALG_NONE, &k, &s, &d),
                     AA_E_HTTPSIG_MISSING_FIELD);
        cr_assert_eq(s.signature.len, 0u);
        aa_httpsig_signed_cleanup(&s);
    }
    aa_jwk_cleanup(&ec);
    aa_jwk_cleanup(&pub);
    aa_jwk_cleanup(&k);
}

/* Example A (deterministic Ed25519) in all four Signature encodings: only
 * padded standard base64 — and tolerated unpadded — verifies strictly; the
 * diagnosis names the encoding of each. */
Test(httpsig_sign, encodings_and_diagnosis)
{
    static const char *want_sig =
        "sig1=:0mz4JS77INzv98Czh/R9EFwFeA8anodu1YAfT1h6BILsR8x2U3iO5WK3zzzcvnVMVT7nKAL2c4ICT2/"
        "iTJOlAw==:";
    struct aa_httpsig_msg m = example_a();
    struct aa_httpsig_params p = {0};
    struct aa_jwk k = {0};
    struct aa_diag d;

    aa_diag_clear(&d);
    ed25519_test1(&k);
    p.has_created = true;
    p.created = 1768786221;
    for (int e = AA_HTTPSIG_ENC_STD_PADDED; e <= AA_HTTPSIG_ENC_URL_PADDED; e++) {
        struct aa_httpsig_signed s;
        struct aa_httpsig_diagnosis dg;
        struct aa_httpsig_result r;
        int rc;

        aa_httpsig_signed_init(&s);
        cr_assert_eq(aa_httpsig_sign_ex(&m, "sig1", c5, 5, &p, AA_ALG_NONE, &k, 0,
                                        (enum aa_httpsig_sig_enc)e, &s, &d),
                     AA_OK);
        if (e == AA_HTTPSIG_ENC_STD_PADDED)
            cr_assert_str_eq(s.signature.p, want_sig);
        aa_httpsig_result_init(&r);
        rc = aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, NULL, &r,
                               &d);
        if (e == AA_HTTPSIG_ENC_STD_PADDED) {
            cr_assert_eq(rc, AA_OK);
            cr_assert(r.sig_class & AA_B64C_STD_PADDED);
        } else if (e == AA_HTTPSIG_ENC_STD_UNPADDED) {
            cr_assert_eq(rc, AA_OK, "RFC 8941 §4.2.7 tolerates missing padding: %s", d.msg);
            cr_assert(r.sig_class & AA_B64C_STD_UNPADDED);
        } else {
            cr_assert_eq(rc, AA_E_HTTPSIG_SIG_ENCODING, "%s: %s",
                         aa_httpsig_enc_name((enum aa_httpsig_sig_enc)e), d.msg);
            cr_assert_str_eq(r.step, AA_HTTPSIG_STEP_SIGNATURE);
        }
        aa_httpsig_result_cleanup(&r);
        cr_assert_eq(aa_httpsig_diagnose(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k,
                                         AA_ALG_NONE, &dg, &d),
                     AA_OK);
        cr_assert(dg.found);
        cr_assert_eq((int)dg.enc, (int)e, "%s", dg.text);
        cr_assert_eq(dg.base_flags, 0u);
        aa_httpsig_signed_cleanup(&s);
    }
    /* Legacy + no-"?" base: strict fails, diagnosis finds both flags. */
    {
        struct aa_httpsig_signed s;
        struct aa_httpsig_diagnosis dg;
        aa_httpsig_signed_init(&s);
        cr_assert_eq(aa_httpsig_sign_ex(&m, "sig1", c5, 5, &p, AA_ALG_NONE, &k,
                                        AA_HTTPSIG_BASE_LEGACY | AA_HTTPSIG_BASE_QUERY_NO_QMARK,
                                        AA_HTTPSIG_ENC_STD_PADDED, &s, &d),
                     AA_OK);
        cr_assert(strstr(s.base.p, "\"@query\": page=2") != NULL);
        cr_assert_eq(s.base.p[s.base.len - 1], '\n');
        cr_assert_null(strstr(s.base.p, "@signature-params"));
        cr_assert_eq(aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k,
                                       NULL, NULL, &d),
                     AA_E_HTTPSIG_BAD_SIGNATURE);
        cr_assert_eq(aa_httpsig_diagnose(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k,
                                         AA_ALG_NONE, &dg, &d),
                     AA_OK);
        cr_assert(dg.found);
        cr_assert_eq(dg.base_flags, AA_HTTPSIG_BASE_LEGACY | AA_HTTPSIG_BASE_QUERY_NO_QMARK);
        /* Another key: nothing verifies, and the diagnosis says so. */
        struct aa_jwk other = {0};
        cr_assert_eq(aa_jwk_generate(AA_KTY_OKP, "o", &other), AA_OK);
        cr_assert_eq(aa_httpsig_diagnose(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL,
                                         &other, AA_ALG_NONE, &dg, &d),
                     AA_OK);
        cr_assert(!dg.found);
        cr_assert(strstr(dg.text, "no known dialect") != NULL);
        cr_assert_eq(aa_httpsig_diagnose(&m, aa_str_c(s.input.p), AA_STR_LIT("sig1=?1"), NULL, &k,
                                         AA_ALG_NONE, &dg, &d),
                     AA_E_HTTPSIG_SIG_SYNTAX);
        aa_jwk_cleanup(&other);
        aa_httpsig_signed_cleanup(&s);
    }
    aa_jwk_cleanup(&k);
}

Test(httpsig_verify, options)
{
    struct aa_httpsig_msg m = example_a();
    struct aa_httpsig_params p = {0};
    struct aa_httpsig_verify_opts o = {0};
    struct aa_httpsig_signed s;
    struct aa_httpsig_result r;
    struct aa_jwk k = {0};
    struct aa_diag d;

    aa_diag_clear(&d);
    ed25519_test1(&k);
    p.has_created = true;
    p.created = 5000;
    p.has_expires = true;
    p.expires = 5010;
    aa_httpsig_signed_init(&s);
    cr_assert_eq(aa_httpsig_sign(&m, "sig1", c5, 5, &p, AA_ALG_NONE, &k, &s, &d), AA_OK);
    /* Time rules only when asked. */
    o.now = 9000;
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, NULL, &d),
        AA_OK);
    o.check_time = true;
    o.max_skew = -1;
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, NULL, &d),
        AA_E_HTTPSIG_EXPIRED);
    o.now = 5009;
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, NULL, &d),
        AA_OK);
    o.now = 5010; /* expires must be after now */
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, NULL, &d),
        AA_E_HTTPSIG_EXPIRED);
    o.now = 5005;
    o.max_skew = 4;
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, NULL, &d),
        AA_E_HTTPSIG_CREATED_SKEW);
    o.max_skew = 5;
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, NULL, &d),
        AA_OK);
    /* Configured algorithm against key and parameter. */
    o.alg = AA_ALG_ES256;
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, NULL, &d),
        AA_E_HTTPSIG_ALG_MISMATCH);
    o.alg = AA_ALG_ED25519;
    /* keep_base returns the base even when the signature fails. */
    o.keep_base = true;
    aa_httpsig_result_init(&r);
    m.target = AA_STR_LIT("/other");
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, &r, &d),
        AA_E_HTTPSIG_BAD_SIGNATURE);
    cr_assert(strstr(r.base.p, "\"@path\": /other\n") != NULL);
    cr_assert_str_eq(r.step, AA_HTTPSIG_STEP_VERIFY);
    /* The same result reused: reset, not appended to. */
    m.target = AA_STR_LIT("/data-hwk?page=2&q=caf%C3%A9");
    cr_assert_eq(
        aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o, &r, &d),
        AA_OK);
    cr_assert_null(r.step);
    cr_assert_null(strstr(r.base.p, "/other"));
    cr_assert_eq(strncmp(r.base.p, "\"@method\": GET\n", 15), 0);
    aa_httpsig_result_cleanup(&r);
    cr_assert_eq(aa_httpsig_verify(NULL, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, &k, &o,
                                   NULL, &d),
                 AA_E_INVAL);
    cr_assert_eq(aa_httpsig_verify(&m, aa_str_c(s.input.p), aa_str_c(s.signature.p), NULL, NULL, &o,
                                   NULL, &d),
                 AA_E_INVAL);
    aa_httpsig_signed_cleanup(&s);
    aa_jwk_cleanup(&k);
}

/* ---- Content-Digest ------------------------------------------------------------------------ */

Test(httpsig_digest, create_and_verify)
{
    struct aa_buf b;
    unsigned matched = 0;
    struct aa_diag d;

    aa_diag_clear(&d);
    aa_buf_init(&b, 1024);
    cr_assert_eq(aa_httpsig_create_digest("", 0, AA_DIGEST_SHA256 | AA_DIGEST_SHA512, &b), AA_OK);
    cr_assert_str_eq(b.p, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, "
                          "sha-512=:z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+"
                          "DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==:");
    cr_assert_eq(aa_httpsig_verify_digest(aa_str_c(b.p), NULL, 0,
                                          AA_DIGEST_SHA256 | AA_DIGEST_SHA512, &matched, &d),
                 AA_OK);
    cr_assert_eq(matched, AA_DIGEST_SHA256 | AA_DIGEST_SHA512);
    cr_assert_eq(aa_httpsig_verify_digest(aa_str_c(b.p), NULL, 0, AA_DIGEST_SHA256, &matched, &d),
                 AA_OK);
    cr_assert_eq(matched, AA_DIGEST_SHA256);
    cr_assert_eq(aa_httpsig_verify_digest(aa_str_c(b.p), "x", 1, AA_DIGEST_SHA512, &matched, &d),
                 AA_E_HTTPSIG_DIGEST_MISMATCH);
    cr_assert(strstr(d.msg, "sha-512") != NULL, "%s", d.msg);
    cr_assert_eq(matched, 0u);
    cr_assert_eq(aa_httpsig_verify_digest(AA_STR_LIT(""), "x", 1, AA_DIGEST_SHA256, NULL, &d),
                 AA_E_HTTPSIG_DIGEST_NONE);
    cr_assert_eq(
        aa_httpsig_verify_digest(AA_STR_LIT("SHA-256=:AA==:"), "x", 1, AA_DIGEST_SHA256, NULL, &d),
        AA_E_HTTPSIG_DIGEST_SYNTAX);
    aa_buf_free(&b);
    aa_buf_init(&b, 1024);
    cr_assert_eq(aa_httpsig_create_digest("x", 1, 0, &b), AA_E_INVAL);
    cr_assert_eq(aa_httpsig_create_digest("x", 1, 4, &b), AA_E_INVAL);
    cr_assert_eq(aa_httpsig_create_digest(NULL, 1, AA_DIGEST_SHA256, &b), AA_E_INVAL);
    aa_buf_free(&b);
}

/* ---- error names ----------------------------------------------------------------------------- */

Test(httpsig_errors, every_code_has_a_name)
{
    for (int c = AA_E_HTTPSIG_TARGET; c <= AA_E_HTTPSIG_INPUT_SYNTAX; c++) {
        const char *s = aa_httpsig_strerror(c);
        cr_assert_not_null(s, "code %d has no name", c);
        cr_assert_str_eq(aa_strerror(c), s, "aa_strerror dispatch for %d", c);
    }
    cr_assert_null(aa_httpsig_strerror(AA_E_HTTPSIG_TARGET - 1));
    cr_assert_null(aa_httpsig_strerror(AA_OK));
    cr_assert_str_eq(aa_strerror(-499), "unknown error");
}
