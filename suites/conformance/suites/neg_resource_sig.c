/*
 * neg-resource, SIG group: the HTTP Message Signature refusals of a
 * resource (PROFILE#9 SIG-01..SIG-30; PROFILE#2, RFC 9421, RFC 9530).
 *
 * Every request is the valid identity request - GET on the resource's
 * identity endpoint (/data-jwks by default), signed with jwks Mode 2 by
 * an agent whose key the harness holds - with exactly one thing changed. A
 * conforming resource answers 401 invalid_signature with the endpoint's
 * challenge, `Agent-Auth: httpsig; identity=?1` (PROFILE#5, D-16).
 *
 * Design choice: positive controls come first (sig.baseline: the same
 * request unchanged, with a query, with a body). When the plain request
 * is refused, a refusal of its variants proves nothing, so every other
 * check is then reported as not evaluated instead of a hollow PASS.
 */
#include <string.h>

#include "neg_resource_util.h"

#define NR_SIG(name, slug, spec_, rfc_, title_, expect_)                                           \
    AA_CHECK(name, .id = "neg-resource.sig." slug, .suite = "neg-resource", .title = title_,       \
             .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_MUST, .spec = spec_, .rfc = rfc_,         \
             .expect = expect_)

#define E401 "401 invalid_signature with Agent-Auth: httpsig; identity=?1"

NR_SIG(sig_baseline, "baseline", "PROFILE#6.2", "RFC9421#3.2",
       "positive control: the valid jwks Mode 2 request (GET, GET with a query, POST with a body)",
       "2xx for each: the request every SIG case changes is accepted");
NR_SIG(sig_no_signature, "no-signature", "PROFILE#2.11", NULL,
       "SIG-01: GET without Signature-Input, Signature and Signature-Key",
       "401 with the endpoint's challenge Agent-Auth: httpsig; identity=?1 (PROFILE#5)");
NR_SIG(sig_header_missing, "header-missing", "PROFILE#2.2", "RFC9421#4",
       "SIG-02..04: one of Signature-Input, Signature, Signature-Key left out", E401);
NR_SIG(sig_label_mismatch, "label-mismatch", "PROFILE#2.2", "RFC9421#4.1",
       "SIG-05: Signature-Input labelled sig2, Signature and Signature-Key sig1", E401);
NR_SIG(sig_two_members, "two-members", "PROFILE#2.2", "RFC9421#4",
       "SIG-06: a second member in Signature-Input, in Signature, in Signature-Key", E401);
NR_SIG(sig_second_line, "second-field-line", "PROFILE#2.2", "RFC9110#5.3",
       "SIG-07: Signature-Input, Signature or Signature-Key sent on two field lines", E401);
NR_SIG(sig_sigkey_not_covered, "sigkey-not-covered", "PROFILE#2.4", "RFC9421#2.5",
       "SIG-08: signature-key left out of the covered components", E401);
NR_SIG(sig_derived_not_covered, "derived-not-covered", "PROFILE#2.4", "RFC9421#2.2",
       "SIG-09: @method, @authority or @path left out of the covered components", E401);
NR_SIG(sig_query_not_covered, "query-not-covered", "PROFILE#2.4", "RFC9421#2.2.7",
       "SIG-10: a target with a query (?x=1, and the empty query \"?\") without @query covered",
       E401);
NR_SIG(sig_query_no_query, "query-covered-no-query", "PROFILE#2.4", "RFC9421#2.2.7",
       "SIG-11: @query covered on a target without '?'", E401);
NR_SIG(sig_body_not_covered, "body-not-covered", "PROFILE#2.4", "RFC9530#2",
       "SIG-12: POST with a body, content-type or content-digest not covered", E401);
NR_SIG(sig_body_components_no_body, "body-components-no-body", "PROFILE#2.4", NULL,
       "SIG-13: content-type and content-digest covered on a GET without a body", E401);
NR_SIG(sig_digest_mismatch, "digest-mismatch", "PROFILE#2.8", "RFC9530#2",
       "SIG-14: Content-Digest of other bytes, or only an unknown algorithm (sha-1)",
       E401 " (digest checked against the body)");
NR_SIG(sig_nonce_not_covered, "nonce-not-covered", "PROFILE#2.9", NULL,
       "SIG-15: a Nonce header that the signature does not cover", E401);
NR_SIG(sig_created_invalid, "created-invalid", "PROFILE#2.6", "RFC9421#2.3",
       "SIG-16: created missing, a Decimal, or a String", E401);
NR_SIG(sig_created_past, "created-past", "PROFILE#2.6", "RFC9421#2.3",
       "SIG-17: created = now - 120 s (window is 60 s, D-6)", E401);
NR_SIG(sig_created_future, "created-future", "PROFILE#2.6", "RFC9421#2.3",
       "SIG-17: created = now + 120 s (window is 60 s, D-6)", E401);
NR_SIG(sig_expires_past, "expires-past", "PROFILE#2.6", "RFC9421#2.3",
       "SIG-18: expires parameter 120 s in the past", E401);
NR_SIG(sig_bit_flip, "bit-flip", "PROFILE#2.7", "RFC9421#3.2",
       "SIG-19: one bit of the Signature flipped", E401);
NR_SIG(sig_wrong_key, "wrong-key", "PROFILE#2.11", "RFC9421#3.2",
       "SIG-20: signed with a key other than the one Signature-Key names", E401);
NR_SIG(sig_base64url, "base64url-signature", "PROFILE#2.1", "RFC8941#3.3.5",
       "SIG-21: Signature as unpadded base64url (the seed dialect, vector S1)", E401);
NR_SIG(sig_encoding, "signature-encoding", "PROFILE#2.1", "RFC9421#4.2",
       "SIG-22: Signature as an sf-string, or a 63-byte Byte Sequence", E401);
NR_SIG(sig_alg_mismatch, "alg-mismatch", "PROFILE#2.6", "RFC9421#2.3",
       "SIG-23: alg=\"rsa-pss-sha512\" or \"hmac-sha256\" with an Ed25519 key", E401);
NR_SIG(sig_authority_from_host, "authority-from-host", "PROFILE#2.5", "RFC9421#2.2.3",
       "SIG-24: signed for another authority, with Host set to that authority",
       E401 " (@authority is the configured canonical authority, never Host)");
NR_SIG(sig_other_target, "signed-other-target", "PROFILE#2.5", "RFC9421#2.2",
       "SIG-24: signed for another authority, for another path, or as POST but sent as GET", E401);
NR_SIG(sig_nonce_replay, "nonce-replay", "PROFILE#2.9", NULL,
       "SIG-25: the same signed request with a Nonce sent twice",
       "the first 2xx, the second 401 replay_detected with Agent-Auth: httpsig; identity=?1");
NR_SIG(sig_nonce_format, "nonce-format", "PROFILE#2.9", "RFC4648#5",
       "SIG-26: a covered Nonce of 11 bytes, or containing '=', '+' or '/'", E401);
NR_SIG(sig_component_invalid, "component-invalid", "PROFILE#2.4", "RFC9421#2",
       "SIG-27: a duplicate component, \"signature-key\";sf, \"@status\", or an uppercase name",
       E401);
NR_SIG(sig_legacy_base, "legacy-base", "PROFILE#2.7", "RFC9421#2.5",
       "SIG-28: signature over the legacy base (no @signature-params, trailing LF)", E401);
NR_SIG(sig_input_malformed, "input-malformed", "PROFILE#2.2", "RFC8941#3.2",
       "SIG-29: Signature-Input without label, with an unbalanced '(', or with a non-ASCII byte",
       E401);
AA_CHECK(sig_host_not_canonical, .id = "neg-resource.sig.host-not-canonical",
         .suite = "neg-resource",
         .title = "SIG-30: Host differs from the canonical authority; the "
                  "signature covers the canonical one",
         .role = AA_ROLE_RESOURCE, .level = AA_LEVEL_INFO, .spec = "PROFILE#2.5",
         .rfc = "RFC9421#2.2.3",
         .expect = "2xx or 4xx are both acceptable (a resource MAY refuse what routing shows "
                   "arrived under another authority); never 5xx");
NR_SIG(sig_challenge, "challenge", "PROFILE#5", NULL,
       "every 401 of the SIG cases carries the identity endpoint's challenge",
       "Agent-Auth: httpsig; identity=?1 on each 401 (no valid signature, D-16)");

static const struct nr_expect e401 = {
    401, 0, "invalid_signature", NULL, NULL, NR_CHAL_IDENTITY, &sig_challenge};

static const char *const body_json = "{\"hello\":\"world\"}";

/* A case request: the defaults of struct nr_req plus what the case sets. */
static void run(const struct aa_check *c, struct nr_fx *fx, const char *note,
                const struct aa_sign_opts *o)
{
    struct nr_req r = {0};

    r.note = note;
    r.opts = o;
    nr_run(c, fx, &r, &e401, NULL);
}

static void run_post(const struct aa_check *c, struct nr_fx *fx, const char *note,
                     const struct aa_sign_opts *o, const struct nr_expect *e)
{
    struct nr_req r = {0};

    r.note = note;
    r.method = "POST";
    r.ctype = "application/json";
    r.body = body_json;
    r.body_len = strlen(body_json);
    r.opts = o;
    nr_run(c, fx, &r, e != NULL ? e : &e401, NULL);
}

/* ---- positive controls -------------------------------------------------- */

static bool baseline(struct nr_fx *fx)
{
    static const struct nr_expect ok = {200, 0, NULL, NULL, NULL, NR_CHAL_NONE, NULL};
    struct nr_req r = {0};
    struct aa_buf path;
    bool ok_plain;

    r.note = "control: the valid identity request (jwks Mode 2)";
    ok_plain = nr_run(&sig_baseline, fx, &r, &ok, NULL);
    aa_buf_init(&path, 4096);
    aa_buf_printf(&path, "%s?x=1", nr_jwks_path(fx));
    r.note = "control: the valid request with a query, @query covered";
    r.path = path.p;
    nr_run(&sig_baseline, fx, &r, &ok, NULL);
    aa_buf_free(&path);
    run_post(&sig_baseline, fx, "control: the valid POST with a JSON body", NULL, &ok);
    return ok_plain;
}

/* ---- SIG-01..07: presence and label selection ------------------------------ */

static void headers_and_labels(struct nr_fx *fx)
{
    static const struct nr_expect e01 = {401, 0, NULL, NULL, NULL, NR_CHAL_IDENTITY, NULL};
    static const struct {
        const struct aa_check *c;
        unsigned v;
        const char *note;
    } vs[] = {
        {&sig_header_missing, AA_SIGN_V_OMIT_INPUT, "SIG-02: Signature-Input left out"},
        {&sig_header_missing, AA_SIGN_V_OMIT_SIG, "SIG-03: Signature left out"},
        {&sig_header_missing, AA_SIGN_V_OMIT_KEY, "SIG-04: Signature-Key left out"},
        {&sig_two_members, AA_SIGN_V_TWO_MEMBERS_INPUT, "SIG-06: two Signature-Input members"},
        {&sig_two_members, AA_SIGN_V_TWO_MEMBERS_SIG, "SIG-06: two Signature members"},
        {&sig_two_members, AA_SIGN_V_TWO_MEMBERS_KEY, "SIG-06: two Signature-Key members"},
        {&sig_second_line, AA_SIGN_V_DUP_LINE_INPUT, "SIG-07: Signature-Input on two lines"},
        {&sig_second_line, AA_SIGN_V_DUP_LINE_SIG, "SIG-07: Signature on two lines"},
        {&sig_second_line, AA_SIGN_V_DUP_LINE_KEY, "SIG-07: Signature-Key on two lines"},
    };
    struct nr_expect e05 = e401;
    struct aa_sign_opts o;
    struct nr_req r = {0};

    /* SIG-01 judges its challenge itself: the 401 without a signature is
     * the one PROFILE#5 names first (the no-challenge fault). */
    r.note = "SIG-01: no signature headers at all";
    r.unsigned_req = true;
    nr_run(&sig_no_signature, fx, &r, &e01, NULL);

    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.variants = vs[i].v;
        run(vs[i].c, fx, vs[i].note, &o);
    }
    memset(&o, 0, sizeof(o));
    o.input_label = "sig2";
    e05.quirk = "label";
    memset(&r, 0, sizeof(r));
    r.note = "SIG-05: Signature-Input label sig2, the others sig1";
    r.opts = &o;
    nr_run(&sig_label_mismatch, fx, &r, &e05, NULL);
}

/* ---- SIG-08..15, 27: covered components ----------------------------------- */

static void coverage(struct nr_fx *fx)
{
    static const char *const o_sigkey[] = {"signature-key", NULL};
    static const char *const o_method[] = {"@method", NULL};
    static const char *const o_authority[] = {"@authority", NULL};
    static const char *const o_path[] = {"@path", NULL};
    static const char *const o_query[] = {"@query", NULL};
    static const char *const o_ctype[] = {"content-type", NULL};
    static const char *const o_digest[] = {"content-digest", NULL};
    static const char *const o_nonce[] = {"nonce", NULL};
    static const char *const a_query[] = {"@query", NULL};
    static const char *const a_body[] = {"content-type", "content-digest", NULL};
    static const char *const c_dup[] = {"@method", "@authority",    "@path",
                                        "@path",   "signature-key", NULL};
    static const char *const c_status[] = {"@method", "@authority",    "@path",
                                           "@status", "signature-key", NULL};
    static const char *const c_upper[] = {"@method", "@authority", "@path", "Signature-Key", NULL};
    static const char *const sf_sigkey[] = {"signature-key", NULL};
    struct aa_sign_opts o;
    struct aa_http_headers h;
    struct nr_req r = {0};
    struct aa_buf path;

    memset(&o, 0, sizeof(o));
    o.omit = o_sigkey;
    run(&sig_sigkey_not_covered, fx, "SIG-08: signature-key not covered", &o);
    o.omit = o_method;
    run(&sig_derived_not_covered, fx, "SIG-09: @method not covered", &o);
    o.omit = o_authority;
    run(&sig_derived_not_covered, fx, "SIG-09: @authority not covered", &o);
    o.omit = o_path;
    run(&sig_derived_not_covered, fx, "SIG-09: @path not covered", &o);

    /* SIG-10: the query is part of the target; both spellings of it. */
    aa_buf_init(&path, 4096);
    o.omit = o_query;
    r.opts = &o;
    aa_buf_printf(&path, "%s?x=1", nr_jwks_path(fx));
    r.path = path.p;
    r.note = "SIG-10: query ?x=1 present, @query not covered";
    nr_run(&sig_query_not_covered, fx, &r, &e401, NULL);
    aa_buf_reset(&path);
    aa_buf_printf(&path, "%s?", nr_jwks_path(fx));
    r.path = path.p;
    r.note = "SIG-10: empty query (target ends in '?'), @query not covered";
    nr_run(&sig_query_not_covered, fx, &r, &e401, NULL);
    aa_buf_free(&path);

    memset(&o, 0, sizeof(o));
    o.append = a_query;
    o.variants = AA_SIGN_V_UNSIGNABLE_OK;
    run(&sig_query_no_query, fx, "SIG-11: @query covered, no '?' in the target", &o);

    memset(&o, 0, sizeof(o));
    o.omit = o_ctype;
    run_post(&sig_body_not_covered, fx, "SIG-12: body present, content-type not covered", &o, NULL);
    o.omit = o_digest;
    run_post(&sig_body_not_covered, fx, "SIG-12: body present, content-digest not covered", &o,
             NULL);

    /* SIG-13: the two body headers are sent and covered, but no body. */
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Content-Type", "application/json");
    aa_http_headers_add(&h, "Content-Digest",
                        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
    memset(&o, 0, sizeof(o));
    o.append = a_body;
    memset(&r, 0, sizeof(r));
    r.note = "SIG-13: content-type and content-digest covered on a GET without a body";
    r.headers = &h;
    r.opts = &o;
    nr_run(&sig_body_components_no_body, fx, &r, &e401, NULL);
    aa_http_headers_cleanup(&h);

    memset(&o, 0, sizeof(o));
    o.variants = AA_SIGN_V_BAD_DIGEST;
    run_post(&sig_digest_mismatch, fx, "SIG-14: Content-Digest of other bytes", &o, NULL);
    o.variants = AA_SIGN_V_UNKNOWN_DIGEST;
    run_post(&sig_digest_mismatch, fx, "SIG-14: Content-Digest with only sha-1", &o, NULL);

    memset(&o, 0, sizeof(o));
    o.nonce_mode = AA_SIGN_NONCE_ALWAYS;
    o.omit = o_nonce;
    run(&sig_nonce_not_covered, fx, "SIG-15: Nonce sent but not covered", &o);

    /* SIG-27: such lists cannot be signed over a valid base; the signer
     * then signs the Signature-Input text, and the receiver must refuse
     * the list before it verifies anything. */
    memset(&o, 0, sizeof(o));
    o.variants = AA_SIGN_V_UNSIGNABLE_OK;
    o.components = c_dup;
    run(&sig_component_invalid, fx, "SIG-27: @path covered twice", &o);
    o.components = NULL;
    o.sf_components = sf_sigkey;
    run(&sig_component_invalid, fx, "SIG-27: \"signature-key\";sf", &o);
    o.sf_components = NULL;
    o.components = c_status;
    run(&sig_component_invalid, fx, "SIG-27: \"@status\" covered on a request", &o);
    o.components = c_upper;
    run(&sig_component_invalid, fx, "SIG-27: \"Signature-Key\" in uppercase", &o);
}

/* ---- SIG-16..18, 23: signature parameters --------------------------------- */

static void parameters(struct nr_fx *fx)
{
    static const struct {
        const struct aa_check *c;
        unsigned v;
        const char *note;
    } vs[] = {
        {&sig_created_invalid, AA_SIGN_V_NO_CREATED, "SIG-16: no created parameter"},
        {&sig_created_invalid, AA_SIGN_V_CREATED_DECIMAL, "SIG-16: created as a Decimal"},
        {&sig_created_invalid, AA_SIGN_V_CREATED_STRING, "SIG-16: created as a String"},
    };
    struct aa_sign_opts o;

    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.variants = vs[i].v;
        run(vs[i].c, fx, vs[i].note, &o);
    }
    memset(&o, 0, sizeof(o));
    o.created_offset = -NR_SKEW_CASE;
    run(&sig_created_past, fx, "SIG-17: created = now - 120", &o);
    o.created_offset = NR_SKEW_CASE;
    run(&sig_created_future, fx, "SIG-17: created = now + 120", &o);
    memset(&o, 0, sizeof(o));
    o.has_expires = true;
    o.expires_offset = -NR_SKEW_CASE;
    run(&sig_expires_past, fx, "SIG-18: expires = created - 120", &o);
    memset(&o, 0, sizeof(o));
    o.alg = "rsa-pss-sha512";
    run(&sig_alg_mismatch, fx, "SIG-23: alg=\"rsa-pss-sha512\" with an Ed25519 key", &o);
    o.alg = "hmac-sha256";
    run(&sig_alg_mismatch, fx, "SIG-23: alg=\"hmac-sha256\" with an Ed25519 key", &o);
}

/* ---- SIG-19..22, 24, 28: the signature value and what it covers ---------- */

/* About one signature in 15 has neither '-' nor '_' in base64url: it is
 * then just unpadded standard base64, which a parser SHOULD tolerate
 * (PROFILE#2.1), and would prove nothing about the alphabet. */
static bool has_url_chars(const struct aa_signed *sg)
{
    return sg->signature != NULL && strpbrk(sg->signature, "-_") != NULL;
}

static void values(struct nr_fx *fx)
{
    static const char *const foreign = "other-resource.example";
    struct nr_expect eq = e401;
    struct aa_sign_opts o;
    struct aa_http_headers h;
    struct nr_req r = {0};

    memset(&o, 0, sizeof(o));
    o.variants = AA_SIGN_V_SIG_FLIP_BIT;
    run(&sig_bit_flip, fx, "SIG-19: one signature bit flipped", &o);

    r.note = "SIG-20: Signature-Key names the agent's key, signed with another key";
    r.key = &fx->other;
    nr_run(&sig_wrong_key, fx, &r, &e401, NULL);

    memset(&o, 0, sizeof(o));
    o.variants = AA_SIGN_V_SIG_B64URL;
    eq.quirk = "signature-base64url";
    memset(&r, 0, sizeof(r));
    r.note = "SIG-21: Signature as :base64url-unpadded: (vector S1 spelling)";
    r.opts = &o;
    r.sig_filter = has_url_chars;
    nr_run(&sig_base64url, fx, &r, &eq, NULL);

    o.variants = AA_SIGN_V_SIG_STRING;
    run(&sig_encoding, fx, "SIG-22: Signature as an sf-string", &o);
    o.variants = AA_SIGN_V_SIG_TRUNCATE;
    run(&sig_encoding, fx, "SIG-22: Signature of 63 bytes", &o);

    /* SIG-24 with Host agreeing with the signed authority: only a
     * receiver that reads Host would accept it. */
    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Host", foreign);
    eq = e401;
    eq.quirk = "authority-from-host";
    memset(&r, 0, sizeof(r));
    r.note = "SIG-24: signed for other-resource.example, Host: other-resource.example";
    r.sign_authority = foreign;
    r.headers = &h;
    nr_run(&sig_authority_from_host, fx, &r, &eq, NULL);
    aa_http_headers_cleanup(&h);

    memset(&r, 0, sizeof(r));
    r.note = "SIG-24: signed for other-resource.example, sent to the resource";
    r.sign_authority = foreign;
    nr_run(&sig_other_target, fx, &r, &e401, NULL);
    memset(&r, 0, sizeof(r));
    r.note = "SIG-24: signed for the signature endpoint's path, sent to the identity endpoint";
    r.sign_target = nr_hwk_path(fx);
    nr_run(&sig_other_target, fx, &r, &e401, NULL);
    memset(&r, 0, sizeof(r));
    r.note = "SIG-24: signed as POST (with its Nonce), sent as GET";
    r.sign_method = "POST";
    nr_run(&sig_other_target, fx, &r, &e401, NULL);

    memset(&o, 0, sizeof(o));
    o.variants = AA_SIGN_V_LEGACY_BASE;
    eq = e401;
    eq.quirk = "legacy-base";
    memset(&r, 0, sizeof(r));
    r.note = "SIG-28: legacy base (no @signature-params line, every line LF-terminated)";
    r.opts = &o;
    nr_run(&sig_legacy_base, fx, &r, &eq, NULL);
}

/* ---- SIG-25, 26: Nonce ------------------------------------------------------ */

static void nonces(struct nr_fx *fx)
{
    static const struct {
        const char *nonce, *note;
    } bad[] = {
        {"AAECAwQFBgcICQo", "SIG-26: Nonce of 11 bytes (15 characters)"},
        {"YWF1dGgtbm9uY2UtMDAwMQ==", "SIG-26: Nonce with '=' padding"},
        {"YWF1dGgtbm9u+2UtMDAwMQ", "SIG-26: Nonce with '+'"},
        {"YWF1dGgtbm9u/2UtMDAwMQ", "SIG-26: Nonce with '/'"},
    };
    static const struct nr_expect replay = {
        401, 0, "replay_detected", NULL, NULL, NR_CHAL_IDENTITY, &sig_challenge};
    struct aa_http_response resp;
    struct aa_http_request req = {0};
    struct aa_sign_opts o;
    struct aa_signed sg;
    struct nr_req r = {0};
    struct aa_buf url;
    struct aa_diag d;
    int rc;

    /* SIG-25: send once, then the identical bytes again. */
    memset(&o, 0, sizeof(o));
    o.nonce_mode = AA_SIGN_NONCE_ALWAYS;
    r.note = "SIG-25: signed GET with a fresh Nonce (must be accepted)";
    r.opts = &o;
    aa_diag_clear(&d);
    aa_http_response_init(&resp);
    rc = nr_send(fx, &r, &resp, &sg, &d);
    if (rc != AA_OK && resp.status == 0 && sg.headers.n == 0) {
        aa_check_fault(&sig_nonce_replay, "sign the request", rc, &d);
    } else if (rc != AA_OK || resp.status < 200 || resp.status > 299) {
        struct aa_http_expect first = {200, 0, NULL, NULL};
        if (aa_expect_http(&sig_nonce_replay, rc, &d, &resp, &first))
            aa_check_fail(&sig_nonce_replay, "the first request 2xx", "refused", NULL);
    } else {
        struct aa_http_headers all;
        aa_http_headers_init(&all);
        aa_buf_init(&url, AA_URL_MAX_LEN + 1);
        aa_buf_printf(&url, "%s%s", fx->res->connect_url, nr_jwks_path(fx));
        for (size_t i = 0; i < sg.headers.n; i++)
            aa_http_headers_addn(&all, sg.headers.v[i].name, sg.headers.v[i].value,
                                 sg.headers.v[i].value_len);
        req.method = "GET";
        req.url = url.p;
        req.headers = &all;
        aa_conf_note("\n### SIG-25: the same request again (Nonce %s)", sg.nonce ? sg.nonce : "");
        aa_http_response_cleanup(&resp);
        aa_http_response_init(&resp);
        rc = aa_conf_send("HARNESS", &req, &resp, &d);
        nr_judge(&sig_nonce_replay, rc, &d, &resp, &replay);
        aa_http_headers_cleanup(&all);
        aa_buf_free(&url);
    }
    aa_signed_cleanup(&sg);
    aa_http_response_cleanup(&resp);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.nonce_mode = AA_SIGN_NONCE_GIVEN;
        o.nonce = bad[i].nonce;
        run(&sig_nonce_format, fx, bad[i].note, &o);
    }
}

/* ---- SIG-29: malformed Signature-Input ------------------------------------- */

static void malformed_input(struct nr_fx *fx)
{
    static const char *const comps = "(\"@method\" \"@authority\" \"@path\" \"signature-key\")";
    char v1[256], v2[256], v3[256];
    const char *rep[3];
    struct nr_req r = {0};
    long long now = (long long)aa_conf_now();

    aa_snprintf(v1, sizeof(v1), "%s;created=%lld", comps, now);
    aa_snprintf(v2, sizeof(v2),
                "sig1=(\"@method\" \"@authority\" \"@path\" \"signature-key\""
                ";created=%lld",
                now);
    aa_snprintf(v3, sizeof(v3), "sig1=%s;created=%lld;tag=\"caf\xc3\xa9\"", comps, now);
    rep[0] = "Signature-Input";
    rep[2] = NULL;
    r.replace = rep;
    r.raw = true;
    rep[1] = v1;
    r.note = "SIG-29: Signature-Input without a label";
    nr_run(&sig_input_malformed, fx, &r, &e401, NULL);
    rep[1] = v2;
    r.note = "SIG-29: Signature-Input with an unbalanced '('";
    nr_run(&sig_input_malformed, fx, &r, &e401, NULL);
    rep[1] = v3;
    r.note = "SIG-29: Signature-Input with a non-ASCII byte (UTF-8 in a parameter)";
    nr_run(&sig_input_malformed, fx, &r, &e401, NULL);
}

/* ---- SIG-30 (INFO) -------------------------------------------------------- */

static void host_not_canonical(struct nr_fx *fx)
{
    static const struct aa_http_expect any = {200, 0, NULL, NULL};
    struct aa_http_response resp;
    struct aa_http_headers h;
    struct nr_req r = {0};
    struct aa_diag d;
    struct aa_buf why, actual;
    bool always = false;
    int rc;

    aa_http_headers_init(&h);
    aa_http_headers_add(&h, "Host", "alias-of-the-resource.example");
    r.note = "SIG-30: Host: alias-of-the-resource.example, signed for the canonical authority";
    r.headers = &h;
    aa_diag_clear(&d);
    rc = nr_send(fx, &r, &resp, NULL, &d);
    aa_buf_init(&why, 4096);
    aa_buf_init(&actual, 4096);
    (void)aa_conf_http_classify(rc, &d, &resp, &any, &always, &why, &actual);
    if (rc != AA_OK || always || resp.status >= 500 || resp.status < 200) {
        /* 5xx, crash, hang or a harness fault: PROFILE#9 judges those. */
        struct aa_http_expect e = {200, 0, NULL, NULL};
        if (rc != AA_OK && resp.status == 0 && !always && !(rc <= -600 && rc >= -649))
            aa_check_fault(&sig_host_not_canonical, "build or sign the request", rc, &d);
        else
            aa_expect_http(&sig_host_not_canonical, rc, &d, &resp, &e);
    } else {
        aa_check_info(&sig_host_not_canonical, actual.p,
                      resp.status < 300 ? "accepted: @authority taken from configuration"
                                        : "refused: the resource rejects requests whose Host is "
                                          "not its canonical authority (allowed, PROFILE#2.5)");
    }
    aa_buf_free(&why);
    aa_buf_free(&actual);
    aa_http_response_cleanup(&resp);
    aa_http_headers_cleanup(&h);
}

AA_CASE(neg_resource, sig,
        .title = "SIG-01..SIG-30: HTTP signature refusals at the identity endpoint",
        .needs = NR_NEEDS,
        .checks = AA_CHECKS(&sig_baseline, &sig_no_signature, &sig_header_missing,
                            &sig_label_mismatch, &sig_two_members, &sig_second_line,
                            &sig_sigkey_not_covered, &sig_derived_not_covered,
                            &sig_query_not_covered, &sig_query_no_query, &sig_body_not_covered,
                            &sig_body_components_no_body, &sig_digest_mismatch,
                            &sig_nonce_not_covered, &sig_created_invalid, &sig_created_past,
                            &sig_created_future, &sig_expires_past, &sig_bit_flip, &sig_wrong_key,
                            &sig_base64url, &sig_encoding, &sig_alg_mismatch,
                            &sig_authority_from_host, &sig_other_target, &sig_nonce_replay,
                            &sig_nonce_format, &sig_component_invalid, &sig_legacy_base,
                            &sig_input_malformed, &sig_host_not_canonical, &sig_challenge))
{
    struct nr_fx fx;

    if (!nr_fx_init(&fx)) {
        nr_fx_cleanup(&fx);
        return;
    }
    if (!baseline(&fx)) {
        nr_not_evaluated_rest(&sig_baseline);
        nr_fx_cleanup(&fx);
        return;
    }
    headers_and_labels(&fx);
    coverage(&fx);
    parameters(&fx);
    values(&fx);
    nonces(&fx);
    malformed_input(&fx);
    host_not_canonical(&fx);
    nr_finish_challenge(&sig_challenge);
    nr_fx_cleanup(&fx);
}
