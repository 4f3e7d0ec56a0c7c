/*
 * neg-auth, signatures: the auth server's agent_token_endpoint refuses a
 * request whose HTTP signature (PROFILE#2, catalogue SIG) or Signature-Key
 * (PROFILE#2.3, catalogue SK) is wrong, and stays bounded on oversized or
 * malformed signature headers (RB-04, RB-05).
 *
 * Every variant changes exactly one thing in a valid request: a delegate
 * of the agent server (scheme=jwt with its agent token, PROFILE#7.6 TEST 3)
 * asking for an auth token with a fresh resource token from the resource:
 *   POST {agent_token_endpoint}
 *   request_type=auth&resource_token=RT&redirect_uri={agent}/callback
 * That request unchanged must be accepted (neg-auth.sig.valid-accepted);
 * otherwise no refusal below could be told apart from refusing everything,
 * and the dependent checks are "not evaluated" (D-31).
 *
 * Not applicable at the AS (D-30: the form body and request_type are
 * judged before the signature): SIG-13 (body components covered without a
 * body: an AS request always has a body) and the method change of SIG-24
 * (any method but POST is 405 first). The AS does not send Agent-Auth
 * challenges (PROFILE#2.11 step 2), so none is required.
 */
#include <stdlib.h>
#include <string.h>

#include "neg_auth_util.h"

#define SIG_SPEC "PROFILE#2"
#define T401 "401 invalid_signature"

#define SIGCHECK(name, slug, spec_, rfc_, title_, expect_)                                         \
    AA_CHECK(name, .id = "neg-auth.sig." slug, .suite = "neg-auth", .title = title_,               \
             .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = spec_, .rfc = rfc_,      \
             .expect = expect_)

/* ---- checks: SIG ------------------------------------------------------------------ */

SIGCHECK(sig_ok, "valid-accepted", "PROFILE#6.3", "RFC9421#3.2",
         "the unchanged request (delegate agent token, resource token) to agent_token_endpoint",
         "200: a valid signed auth request is accepted (baseline of every SIG/SK variant)");
SIGCHECK(sig_none, "no-signature", "PROFILE#2.11", NULL,
         "SIG-01 POST agent_token_endpoint without any signature header", T401);
SIGCHECK(sig_missing, "header-missing", "PROFILE#2.2", "RFC9421#4",
         "SIG-02..04 Signature-Input, Signature or Signature-Key left out", T401);
SIGCHECK(sig_label, "label-mismatch", "PROFILE#2.2", "RFC9421#4.3",
         "SIG-05 Signature or Signature-Key under another label than Signature-Input", T401);
SIGCHECK(sig_members, "two-members", "PROFILE#2.2", "RFC9421#4.3",
         "SIG-06 a second member in Signature-Input, Signature or Signature-Key", T401);
SIGCHECK(sig_lines, "second-line", "PROFILE#2.2", "RFC9110#5.3",
         "SIG-07 Signature-Input, Signature or Signature-Key sent on two field lines", T401);
SIGCHECK(sig_sk_cov, "sigkey-not-covered", "PROFILE#2.4", "RFC9421#2.5",
         "SIG-08 \"signature-key\" not among the covered components", T401);
SIGCHECK(sig_req_cov, "required-not-covered", "PROFILE#2.4", "RFC9421#2.5",
         "SIG-09 \"@method\", \"@authority\" or \"@path\" not covered", T401);
SIGCHECK(sig_query_cov, "query-not-covered", "PROFILE#2.4", "RFC9421#2.2.7",
         "SIG-10 a query (also the empty one of \".../token?\") without \"@query\" covered", T401);
SIGCHECK(sig_query_extra, "query-without-query", "PROFILE#2.4", "RFC9421#2.2.7",
         "SIG-11 \"@query\" covered although the target has no query", T401);
SIGCHECK(sig_body_cov, "body-not-covered", "PROFILE#2.4", "RFC9530#2",
         "SIG-12 a body without \"content-type\" or \"content-digest\" covered", T401);
SIGCHECK(sig_digest, "digest-mismatch", "PROFILE#2.8", "RFC9530#2",
         "SIG-14 Content-Digest of other bytes, or only an unknown algorithm (sha-1)", T401);
SIGCHECK(sig_nonce_cov, "nonce-not-covered", "PROFILE#2.9", NULL,
         "SIG-15 a Nonce header that is not covered", T401);
SIGCHECK(sig_created, "created-invalid", "PROFILE#2.6", "RFC9421#2.3",
         "SIG-16 created missing, a Decimal, or a String", T401);
SIGCHECK(sig_past, "created-past", "PROFILE#2.6", "RFC9421#2.3",
         "SIG-17 created = now - 120 s (window 60 s, D-6)", T401);
SIGCHECK(sig_future, "created-future", "PROFILE#2.6", "RFC9421#2.3",
         "SIG-17 created = now + 120 s (window 60 s, D-6)", T401);
SIGCHECK(sig_expires, "expires-past", "PROFILE#2.6", "RFC9421#2.3",
         "SIG-18 an expires parameter in the past", T401);
SIGCHECK(sig_flip, "bit-flipped", "PROFILE#2.7", "RFC9421#3.2",
         "SIG-19 one bit of the Ed25519 signature flipped", T401);
SIGCHECK(sig_other_key, "other-key", "PROFILE#2.3", "RFC9421#3.2",
         "SIG-20 Signature-Key (hwk) declares one key, another key signed", T401);
SIGCHECK(sig_b64url, "base64url", "PROFILE#2.1", "RFC8941#3.3.5",
         "SIG-21 Signature as unpadded base64url (the seed's spelling, vector S1)", T401);
SIGCHECK(sig_encoding, "bad-encoding", "PROFILE#2.1", "RFC9421#4.2",
         "SIG-22 Signature as an sf-string, or 63 bytes long", T401);
SIGCHECK(sig_alg, "alg-mismatch", "PROFILE#2.6", "RFC9421#2.3",
         "SIG-23 alg=\"rsa-pss-sha512\" or \"hmac-sha256\" with an Ed25519 key", T401);
SIGCHECK(sig_other_auth, "signed-elsewhere", "PROFILE#2.5", "RFC9421#2.2.3",
         "SIG-24 signed for another @authority, or for another @path than the one sent", T401);
SIGCHECK(sig_host, "authority-from-host", "PROFILE#2.5", "RFC9421#2.2.3",
         "SIG-24 signed for a foreign @authority and sent with Host: that authority",
         "401 invalid_signature: @authority is the AS's configured authority, never Host "
         "(AAuth 2026-01 §10.3.1)");
SIGCHECK(sig_replay, "nonce-replay", "PROFILE#2.9", NULL,
         "SIG-25 the same signed request (same Nonce) sent twice",
         "the first 200, the second 401 replay_detected");
SIGCHECK(sig_nonce_fmt, "nonce-malformed", "PROFILE#2.9", "RFC4648#5",
         "SIG-26 a Nonce of 11 bytes, or with \"=\", \"+\" or \"/\"", T401);
SIGCHECK(sig_component, "bad-component", "PROFILE#2.4", "RFC9421#2.5",
         "SIG-27 a duplicate component, \";sf\", \"@status\", an uppercase name, "
         "or \"@target-uri\"",
         T401);
SIGCHECK(sig_legacy, "legacy-base", "PROFILE#2.7", "RFC9421#2.5",
         "SIG-28 signed over the legacy base (no @signature-params, trailing LF)", T401);
SIGCHECK(sig_input, "input-malformed", "PROFILE#2.1", "RFC9421#4.1",
         "SIG-29 Signature-Input without a label, with unbalanced parentheses, or non-ASCII", T401);

AA_CHECK(sig_host_info, .id = "neg-auth.sig.host-differs", .suite = "neg-auth",
         .title = "SIG-30 Host differs from the canonical authority, the signature is over the "
                  "canonical one",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_INFO, .spec = "PROFILE#2.5",
         .rfc = "RFC9421#2.2.3",
         .expect = "2xx or 4xx are both acceptable (PROFILE#9 SIG-30); never 5xx");

/* ---- checks: SK ------------------------------------------------------------------- */

#define SKCHECK(name, slug, title_, expect_)                                                       \
    AA_CHECK(name, .id = "neg-auth.sk." slug, .suite = "neg-auth", .title = title_,                \
             .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#2.3",           \
             .rfc = NULL, .expect = expect_)

SKCHECK(sk_scheme, "scheme-invalid", "SK-01 scheme=foo, or scheme=\"hwk\" written as a string",
        "401 invalid_key");
SKCHECK(sk_hwk, "hwk-invalid",
        "SK-02 hwk without x, with crv X25519, with a 31-byte x, or with a private d",
        "401 invalid_key");
SKCHECK(sk_jwks, "jwks-params",
        "SK-03 jwks with both id and jwks, with neither, or Mode 1 with well-known",
        "401 invalid_key");
SKCHECK(sk_kid, "unknown-kid", "SK-04 jwks id=<the agent> with a kid its JWKS does not have",
        "401 invalid_key (after at most one refetch)");
SKCHECK(sk_meta, "identifier-mismatch",
        "SK-05 jwks id that is http and not loopback, or whose metadata names another agent",
        "401 invalid_key (D-13)");
SKCHECK(sk_jwt, "jwt-malformed", "SK-06 scheme=jwt without jwt, or with a jwt that is not a JWS",
        "401 invalid_key (invalid_token also accepted for the non-JWS)");
SKCHECK(sk_syntax, "syntax", "SK-07 text after \")\", a duplicate parameter, no parentheses",
        "401 invalid_key (D-8 grammar)");
SKCHECK(sk_x509, "x509-unsupported", "SK-08 scheme=x509 (OPTIONAL; an unresolvable x5u)",
        "401 invalid_key, never 5xx");

/* ---- checks: RB on signature headers ------------------------------------------------ */

AA_CHECK(rb_params, .id = "neg-auth.rb.too-many-parameters", .suite = "neg-auth",
         .title = "RB-04 33 Signature-Key parameters, or 37 covered components",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#9", .rfc = NULL,
         .expect = "401 (D-24: at most 32 of each)");
AA_CHECK(rb_ctl, .id = "neg-auth.rb.control-characters", .suite = "neg-auth",
         .title = "RB-05 a control character (0x01) inside Signature-Key or Signature-Input",
         .role = AA_ROLE_AUTH_SERVER, .level = AA_LEVEL_MUST, .spec = "PROFILE#9",
         .rfc = "RFC9110#5.5", .expect = "4xx, never 5xx or a crash");

/* ---- the RFC 8032 TEST 1 key: the fixed hwk values of the SK cases use it --------------- */

static const uint8_t test1_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
#define TEST1_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define TEST1_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"

/* ---- table of one-change variants ------------------------------------------------------ */

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

struct variant {
    const struct aa_check *chk;
    const char *what;
    unsigned v; /* AA_SIGN_V_* */
    const char *const *omit, *const *append, *const *components, *const *sf;
    const char *sig_label, *key_label;
    int64_t created_offset;
    bool expires;
    const char *alg;
    const char *nonce;  /* given Nonce value */
    const char *input;  /* Signature-Input sent instead */
    const char *raw_sk; /* Signature-Key value (signed with the TEST 1 key) */
    const char *alt_error;
    long status;       /* 0: 401 */
    const char *error; /* NULL with status 0: invalid_signature */
};

#define POST_COMPONENTS                                                                            \
    "\"@method\" \"@authority\" \"@path\" \"content-type\" \"content-digest\" \"nonce\" "          \
    "\"signature-key\""

static const struct variant variants[] = {
    {&sig_missing, "SIG-02 no Signature-Input", .v = AA_SIGN_V_OMIT_INPUT},
    {&sig_missing, "SIG-03 no Signature", .v = AA_SIGN_V_OMIT_SIG},
    {&sig_missing, "SIG-04 no Signature-Key", .v = AA_SIGN_V_OMIT_KEY},
    {&sig_label, "SIG-05 Signature labelled sig2", .sig_label = "sig2"},
    {&sig_label, "SIG-05 Signature-Key labelled other", .key_label = "other"},
    {&sig_members, "SIG-06 two Signature-Input members", .v = AA_SIGN_V_TWO_MEMBERS_INPUT},
    {&sig_members, "SIG-06 two Signature members", .v = AA_SIGN_V_TWO_MEMBERS_SIG},
    {&sig_members, "SIG-06 two Signature-Key members", .v = AA_SIGN_V_TWO_MEMBERS_KEY},
    {&sig_lines, "SIG-07 Signature-Input on two lines", .v = AA_SIGN_V_DUP_LINE_INPUT},
    {&sig_lines, "SIG-07 Signature on two lines", .v = AA_SIGN_V_DUP_LINE_SIG},
    {&sig_lines, "SIG-07 Signature-Key on two lines", .v = AA_SIGN_V_DUP_LINE_KEY},
    {&sig_sk_cov, "SIG-08 signature-key not covered", .omit = L("signature-key")},
    {&sig_req_cov, "SIG-09 @method not covered", .omit = L("@method")},
    {&sig_req_cov, "SIG-09 @authority not covered", .omit = L("@authority")},
    {&sig_req_cov, "SIG-09 @path not covered", .omit = L("@path")},
    {&sig_query_extra, "SIG-11 @query covered, no query", .append = L("@query")},
    {&sig_body_cov, "SIG-12 content-digest not covered", .omit = L("content-digest")},
    {&sig_body_cov, "SIG-12 content-type not covered", .omit = L("content-type")},
    {&sig_digest, "SIG-14 digest of other bytes", .v = AA_SIGN_V_BAD_DIGEST},
    {&sig_digest, "SIG-14 only sha-1", .v = AA_SIGN_V_UNKNOWN_DIGEST},
    {&sig_created, "SIG-16 no created", .v = AA_SIGN_V_NO_CREATED},
    {&sig_created, "SIG-16 created as a Decimal", .v = AA_SIGN_V_CREATED_DECIMAL},
    {&sig_created, "SIG-16 created as a String", .v = AA_SIGN_V_CREATED_STRING},
    {&sig_past, "SIG-17 created = now - 120", .created_offset = -120},
    {&sig_future, "SIG-17 created = now + 120", .created_offset = 120},
    {&sig_expires, "SIG-18 expires = created - 10", .expires = true},
    {&sig_flip, "SIG-19 signature bit flipped", .v = AA_SIGN_V_SIG_FLIP_BIT},
    {&sig_b64url, "SIG-21 Signature base64url unpadded", .v = AA_SIGN_V_SIG_B64URL},
    {&sig_encoding, "SIG-22 Signature as an sf-string", .v = AA_SIGN_V_SIG_STRING},
    {&sig_encoding, "SIG-22 Signature of 63 bytes", .v = AA_SIGN_V_SIG_TRUNCATE},
    {&sig_alg, "SIG-23 alg=rsa-pss-sha512", .alg = "rsa-pss-sha512"},
    {&sig_alg, "SIG-23 alg=hmac-sha256", .alg = "hmac-sha256"},
    {&sig_nonce_fmt, "SIG-26 Nonce of 11 bytes", .nonce = "AAAAAAAAAAAAAAA"},
    {&sig_nonce_fmt, "SIG-26 Nonce with padding", .nonce = "YWF1dGgtbm9uY2UtMDAwMQ=="},
    {&sig_nonce_fmt, "SIG-26 Nonce with '+'", .nonce = "YWF1dGgtbm9uY2Ut+DAwMQ"},
    {&sig_nonce_fmt, "SIG-26 Nonce with '/'", .nonce = "YWF1dGgtbm9uY2Ut/DAwMQ"},
    {&sig_component, "SIG-27 @method covered twice", .append = L("@method"),
     .v = AA_SIGN_V_UNSIGNABLE_OK},
    {&sig_component, "SIG-27 signature-key;sf", .sf = L("signature-key"),
     .v = AA_SIGN_V_UNSIGNABLE_OK},
    {&sig_component, "SIG-27 @status covered", .append = L("@status"),
     .v = AA_SIGN_V_UNSIGNABLE_OK},
    {&sig_component, "SIG-27 Signature-Key in uppercase",
     .components = L("@method", "@authority", "@path", "content-type", "content-digest", "nonce",
                     "Signature-Key"),
     .v = AA_SIGN_V_UNSIGNABLE_OK},
    {&sig_component, "SIG-27 @target-uri covered", .append = L("@target-uri")},
    {&sig_legacy, "SIG-28 legacy base", .v = AA_SIGN_V_LEGACY_BASE},
    {&sig_input, "SIG-29 Signature-Input without a label",
     .input = "(" POST_COMPONENTS ");created=%CREATED%"},
    {&sig_input, "SIG-29 unbalanced parentheses",
     .input = "sig1=(" POST_COMPONENTS ";created=%CREATED%"},
    {&sig_input, "SIG-29 non-ASCII component name",
     .input = "sig1=(\"@m\xc3\xa9thod\" \"@authority\" \"@path\");created=%CREATED%"},
    /* SK: the Signature-Key value as given, signed with the TEST 1 key. */
    {&sk_scheme, "SK-01 scheme=foo", .raw_sk = "sig1=(scheme=foo kid=\"k\")",
     .error = "invalid_key"},
    {&sk_scheme, "SK-01 scheme as a string",
     .raw_sk = "sig1=(scheme=\"hwk\" kty=\"OKP\" crv=\"Ed25519\" x=\"" TEST1_X "\")",
     .error = "invalid_key"},
    {&sk_hwk, "SK-02 hwk without x", .raw_sk = "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\")",
     .error = "invalid_key"},
    {&sk_hwk, "SK-02 hwk crv X25519",
     .raw_sk = "sig1=(scheme=hwk kty=\"OKP\" crv=\"X25519\" x=\"" TEST1_X "\")",
     .error = "invalid_key"},
    {&sk_hwk, "SK-02 hwk x of 31 bytes",
     .raw_sk = "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" "
               "x=\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUQ\")",
     .error = "invalid_key"},
    {&sk_hwk, "SK-02 hwk with d",
     .raw_sk = "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"" TEST1_X "\" d=\"" TEST1_D "\")",
     .error = "invalid_key"},
    {&sk_jwks, "SK-03 jwks with id and jwks",
     .raw_sk = "sig1=(scheme=jwks id=\"http://127.0.0.1:8001\" "
               "jwks=\"http://127.0.0.1:8001/jwks.json\" kid=\"key-1\")",
     .error = "invalid_key"},
    {&sk_jwks, "SK-03 jwks with neither", .raw_sk = "sig1=(scheme=jwks kid=\"key-1\")",
     .error = "invalid_key"},
    {&sk_jwks, "SK-03 jwks Mode 1 with well-known",
     .raw_sk = "sig1=(scheme=jwks jwks=\"http://127.0.0.1:8001/jwks.json\" kid=\"key-1\" "
               "well-known=\"aauth-agent\")",
     .error = "invalid_key"},
    {&sk_meta, "SK-05 http id that is not loopback",
     .raw_sk = "sig1=(scheme=jwks id=\"http://agent.example\" kid=\"key-1\" "
               "well-known=\"aauth-agent\")",
     .error = "invalid_key"},
    {&sk_jwt, "SK-06 scheme=jwt without jwt", .raw_sk = "sig1=(scheme=jwt)",
     .error = "invalid_key"},
    {&sk_jwt, "SK-06 jwt that is not a JWS", .raw_sk = "sig1=(scheme=jwt jwt=\"not-a-jws\")",
     .error = "invalid_key", .alt_error = "invalid_token"},
    {&sk_syntax, "SK-07 text after the parenthesis",
     .raw_sk = "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"" TEST1_X "\");x=1",
     .error = "invalid_key"},
    {&sk_syntax, "SK-07 duplicate parameter",
     .raw_sk = "sig1=(scheme=hwk kty=\"OKP\" crv=\"Ed25519\" x=\"" TEST1_X "\" x=\"" TEST1_X "\")",
     .error = "invalid_key"},
    {&sk_syntax, "SK-07 no parentheses", .raw_sk = "sig1=scheme=hwk", .error = "invalid_key"},
    {&sk_x509, "SK-08 scheme=x509",
     .raw_sk = "sig1=(scheme=x509 x5u=\"https://a.example/c.pem\" "
               "x5t=\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\")",
     .error = "invalid_key"},
};

/* ---- helpers ------------------------------------------------------------------------ */

struct scene {
    struct na_env e;
    struct aa_jwk test1;
};

/* Sign and send the valid body with one variant; judge it. */
static void run_variant(struct scene *s, const struct variant *v)
{
    struct aa_sign_opts o;
    struct aa_sign_cred cred;
    struct na_req r;

    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    o.variants = v->v;
    o.omit = v->omit;
    o.append = v->append;
    o.components = v->components;
    o.sf_components = v->sf;
    o.signature_label = v->sig_label;
    o.key_label = v->key_label;
    o.created_offset = v->created_offset;
    o.has_expires = v->expires;
    o.expires_offset = -10;
    o.alg = v->alg;
    if (v->nonce != NULL) {
        o.nonce_mode = AA_SIGN_NONCE_GIVEN;
        o.nonce = v->nonce;
    }
    if (v->raw_sk != NULL) {
        cred = na_cred_raw(v->raw_sk);
        r.key = &s->test1;
        r.cred = &cred;
    }
    r.opts = &o;
    if (v->input != NULL) {
        r.after_name = "Signature-Input";
        r.after_value = v->input;
    }
    /* Non-ASCII and control bytes are what some variants are about. */
    r.flags = AA_HTTP_REQ_RAW;
    na_env_check(&s->e, v->chk, v->what, &r, v->status ? v->status : 401, 0,
                 v->error ? v->error : "invalid_signature", v->alt_error, NULL);
}

/* One request described by |r| (defaults filled from the scene). */
static bool run_req(struct scene *s, const struct aa_check *c, const char *what, struct na_req *r,
                    const struct aa_sign_opts *o, long status, const char *error,
                    const char *alt_error)
{
    r->opts = o;
    return na_env_check(&s->e, c, what, r, status, 0, error, alt_error, NULL);
}

/* The path (and query) of |url|. */
static char *target_of(const char *url)
{
    struct aa_url u;
    struct aa_buf b;

    aa_buf_init(&b, AA_URL_MAX_LEN);
    if (aa_url_parse(url, strlen(url), 0, &u, NULL) != AA_OK || aa_url_target(&u, &b) != AA_OK) {
        aa_buf_free(&b);
        return NULL;
    }
    return aa_buf_detach(&b, NULL);
}

/* ---- the cases that need more than one change --------------------------------------------- */

static void sig01_unsigned(struct scene *s)
{
    struct na_req r;

    memset(&r, 0, sizeof(r));
    r.nosign = true;
    na_env_check(&s->e, &sig_none, "SIG-01 unsigned", &r, 401, 0, "invalid_signature", NULL, NULL);
}

static void sig10_query(struct scene *s)
{
    static const char *const omit_q[] = {"@query", NULL};
    struct aa_sign_opts o;
    struct na_req r;
    char *url = na_url_with_query(s->e.as.token_url, "harness=1");
    char *tgt = target_of(s->e.as.token_url);
    struct aa_buf empty;

    memset(&o, 0, sizeof(o));
    o.omit = omit_q;
    aa_buf_init(&empty, AA_URL_MAX_LEN);
    if (url == NULL || tgt == NULL) {
        aa_check_error(&sig_query_cov, "cannot build the URL from %s", s->e.as.token_url);
        goto out;
    }
    memset(&r, 0, sizeof(r));
    r.url = url;
    run_req(s, &sig_query_cov, "SIG-10 ?harness=1 without @query", &r, &o, 401, "invalid_signature",
            NULL);
    /* "/x?": the query is empty but present (PROFILE#2.4); sent raw so
     * libcurl keeps the lone '?'. */
    aa_buf_printf(&empty, "%s?", tgt);
    memset(&r, 0, sizeof(r));
    r.target = empty.p;
    r.sign_target = empty.p;
    run_req(s, &sig_query_cov, "SIG-10 empty query \"?\" without @query", &r, &o, 401,
            "invalid_signature", NULL);
out:
    aa_buf_free(&empty);
    free(url);
    free(tgt);
}

static void sig15_nonce(struct scene *s)
{
    static const char *const omit_n[] = {"nonce", NULL};
    char *nonce = na_random_b64(16);
    struct aa_sign_opts o;
    struct na_req r;

    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    o.nonce_mode = AA_SIGN_NONCE_GIVEN;
    o.nonce = nonce;
    o.omit = omit_n;
    if (nonce == NULL)
        aa_check_error(&sig_nonce_cov, "cannot generate a nonce");
    else
        run_req(s, &sig_nonce_cov, "SIG-15 Nonce not covered", &r, &o, 401, "invalid_signature",
                NULL);
    free(nonce);
}

static void sig20_other_key(struct scene *s)
{
    struct aa_jwk other;
    struct aa_sign_cred cred;
    struct na_req r;
    char *hwk;

    memset(&other, 0, sizeof(other));
    /* Declares the delegate's key, signs with a fresh one: a verifier that
     * skipped the signature would answer 400 (hwk is pseudonymous, D-15). */
    hwk = na_hwk_value(aa_client_key(s->e.dg.c));
    if (hwk == NULL || aa_jwk_generate(AA_KTY_OKP, "other", &other) != AA_OK) {
        aa_check_error(&sig_other_key, "cannot build the hwk credential or generate a key");
        goto out;
    }
    cred = na_cred_raw(hwk);
    memset(&r, 0, sizeof(r));
    r.key = &other;
    r.cred = &cred;
    run_req(s, &sig_other_key, "SIG-20 hwk declares key A, key B signs", &r, NULL, 401,
            "invalid_signature", NULL);
out:
    aa_jwk_cleanup(&other);
    free(hwk);
}

static void sig24_elsewhere(struct scene *s)
{
    static const char *const host[] = {"Host", "aauth-conformance.invalid", NULL};
    char *tgt = target_of(s->e.as.token_url);
    struct aa_buf other;
    struct na_req r;

    aa_buf_init(&other, AA_URL_MAX_LEN);
    if (tgt == NULL) {
        aa_check_error(&sig_other_auth, "cannot parse %s", s->e.as.token_url);
        aa_check_error(&sig_host, "cannot parse %s", s->e.as.token_url);
        goto out;
    }
    memset(&r, 0, sizeof(r));
    /* RFC 6761 .invalid: an authority that can be nobody's. */
    r.sign_authority = "aauth-conformance.invalid";
    run_req(s, &sig_other_auth, "SIG-24 signed for @authority aauth-conformance.invalid", &r, NULL,
            401, "invalid_signature", NULL);
    aa_buf_printf(&other, "%s-elsewhere", tgt);
    memset(&r, 0, sizeof(r));
    r.sign_target = other.p;
    run_req(s, &sig_other_auth, "SIG-24 signed for another @path", &r, NULL, 401,
            "invalid_signature", NULL);
    /* The same foreign authority, now also in Host: only a receiver that
     * (wrongly) derives @authority from Host accepts it. */
    memset(&r, 0, sizeof(r));
    r.sign_authority = "aauth-conformance.invalid";
    r.headers = host;
    run_req(s, &sig_host, "SIG-24 foreign @authority with Host: aauth-conformance.invalid", &r,
            NULL, 401, "invalid_signature", NULL);
out:
    aa_buf_free(&other);
    free(tgt);
}

/* SIG-25: the exact header lines of an accepted request, sent again. */
static void sig25_replay(struct scene *s)
{
    struct aa_sign_cred cred = na_cred_jwt(aa_client_agent_token(s->e.dg.c));
    struct aa_http_headers keep;
    struct aa_http_response r1, r2;
    struct aa_http_request again;
    struct aa_diag d;
    struct na_req r;
    int rc;

    aa_http_headers_init(&keep);
    aa_http_response_init(&r1);
    aa_http_response_init(&r2);
    aa_diag_clear(&d);
    memset(&r, 0, sizeof(r));
    na_flush(&s->e.dg);
    na_step("SIG-25 a valid request (first use of its Nonce)");
    r.url = s->e.as.token_url;
    r.content_type = NA_FORM_CT;
    r.body = s->e.body;
    r.body_len = s->e.body_len;
    r.key = aa_client_key(s->e.dg.c);
    r.cred = &cred;
    rc = na_send("DELEGATE", &r, &r1, &keep, &d);
    if (rc != AA_OK || r1.status < 200 || r1.status > 299) {
        /* The first use must succeed, or the replay proves nothing. */
        na_expect(&sig_replay, "SIG-25 first use", rc, &d, &r1, 200, 0, NULL, NULL);
        goto out;
    }
    na_step("SIG-25 the same request again (same Nonce, same signature)");
    memset(&again, 0, sizeof(again));
    again.method = "POST";
    again.url = s->e.as.token_url;
    again.headers = &keep;
    again.body = s->e.body;
    again.body_len = s->e.body_len;
    aa_diag_clear(&d);
    rc = aa_conf_send("DELEGATE", &again, &r2, &d);
    na_expect(&sig_replay, "SIG-25 replay", rc, &d, &r2, 401, 0, "replay_detected", NULL);
out:
    aa_http_response_cleanup(&r1);
    aa_http_response_cleanup(&r2);
    aa_http_headers_cleanup(&keep);
}

static void sig30_host(struct scene *s)
{
    static const char *const host[] = {"Host", "aauth-conformance.invalid", NULL};
    struct aa_sign_cred cred = na_cred_jwt(aa_client_agent_token(s->e.dg.c));
    struct aa_http_response resp;
    struct aa_diag d;
    struct na_req r;
    int rc;

    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    memset(&r, 0, sizeof(r));
    na_flush(&s->e.dg);
    na_step("SIG-30 Host: aauth-conformance.invalid, signed over the canonical authority");
    r.url = s->e.as.token_url;
    r.content_type = NA_FORM_CT;
    r.body = s->e.body;
    r.body_len = s->e.body_len;
    r.key = aa_client_key(s->e.dg.c);
    r.cred = &cred;
    r.headers = host;
    rc = na_send("DELEGATE", &r, &resp, NULL, &d);
    if (rc == AA_OK && resp.status >= 200 && resp.status < 500)
        aa_check_info(&sig_host_info, "status", "status %ld (the profile accepts 2xx or 4xx)",
                      resp.status);
    else
        na_expect(&sig_host_info, "SIG-30", rc, &d, &resp, 200, 0, NULL, NULL);
    aa_http_response_cleanup(&resp);
}

static void sk_dynamic(struct scene *s)
{
    const struct aa_conf_target *ag = aa_conf_target(AA_ROLE_AGENT_SERVER);
    struct aa_sign_cred cred;
    struct aa_buf raw, why;
    struct na_ident good, bad;
    struct na_req r;

    aa_buf_init(&raw, 8192);
    aa_buf_init(&why, 2048);
    memset(&good, 0, sizeof(good));
    memset(&bad, 0, sizeof(bad));
    /* SK-04: the agent's own id and well-known, a kid it never had. */
    aa_buf_printf(&raw,
                  "sig1=(scheme=jwks id=\"%s\" kid=\"aauth-conformance-no-such-key\" "
                  "well-known=\"aauth-agent\")",
                  ag->id);
    cred = na_cred_raw(raw.p);
    memset(&r, 0, sizeof(r));
    r.key = aa_client_key(s->e.dg.c);
    r.cred = &cred;
    run_req(s, &sk_kid, "SK-04 unknown kid at the agent", &r, NULL, 401, "invalid_key", NULL);

    /* SK-05: an agent whose metadata names someone else (hosted, so the
     * key that signs is the one its JWKS publishes). */
    if (!na_hosting_usable(s->e.as.t, &why)) {
        aa_conf_note("SK-05 metadata variant not sent: %s", why.p);
        goto out;
    }
    if (na_ident_start(&good, "aauth-agent", NULL, &why) != AA_OK ||
        na_ident_start(&bad, "aauth-agent", "http://127.0.0.1:1", &why) != AA_OK) {
        aa_check_error(&sk_meta, "SK-05: %s", why.p);
        goto out;
    }
    /* Control: a correctly published hosted agent gets past the signature
     * stage (its resource token names another agent: 400 at most). Only
     * then is a 401 for the mismatching one about its metadata. */
    aa_buf_reset(&raw);
    aa_buf_printf(&raw, "sig1=(scheme=jwks id=\"%s\" kid=\"%s\" well-known=\"aauth-agent\")",
                  good.id, good.key.kid);
    cred = na_cred_raw(raw.p);
    memset(&r, 0, sizeof(r));
    r.key = &good.key;
    r.cred = &cred;
    {
        struct aa_http_response resp;
        struct aa_diag d;
        int rc;

        aa_http_response_init(&resp);
        aa_diag_clear(&d);
        na_flush(&s->e.dg);
        na_step("SK-05 control: a correctly published hosted agent (jwks identity)");
        r.url = s->e.as.token_url;
        r.content_type = NA_FORM_CT;
        r.body = s->e.body;
        r.body_len = s->e.body_len;
        rc = na_send("HOSTED AGENT", &r, &resp, NULL, &d);
        if (rc != AA_OK || resp.status == 401 || resp.status >= 500) {
            aa_conf_note("SK-05 metadata variant not judged: the AS answered the correctly "
                         "published hosted agent %ld, so a refusal could not be told apart",
                         resp.status);
            aa_http_response_cleanup(&resp);
            goto out;
        }
        aa_http_response_cleanup(&resp);
    }
    aa_buf_reset(&raw);
    aa_buf_printf(&raw, "sig1=(scheme=jwks id=\"%s\" kid=\"%s\" well-known=\"aauth-agent\")",
                  bad.id, bad.key.kid);
    cred = na_cred_raw(raw.p);
    memset(&r, 0, sizeof(r));
    r.key = &bad.key;
    r.cred = &cred;
    run_req(s, &sk_meta, "SK-05 agent metadata says agent=http://127.0.0.1:1", &r, NULL, 401,
            "invalid_key", NULL);
out:
    na_ident_stop(&good);
    na_ident_stop(&bad);
    aa_buf_free(&raw);
    aa_buf_free(&why);
}

static void rb_signature_headers(struct scene *s)
{
    static const char *const pads[] = {
        "X-Pad-01", "1", "X-Pad-02", "1", "X-Pad-03", "1", "X-Pad-04", "1", "X-Pad-05", "1",
        "X-Pad-06", "1", "X-Pad-07", "1", "X-Pad-08", "1", "X-Pad-09", "1", "X-Pad-10", "1",
        "X-Pad-11", "1", "X-Pad-12", "1", "X-Pad-13", "1", "X-Pad-14", "1", "X-Pad-15", "1",
        "X-Pad-16", "1", "X-Pad-17", "1", "X-Pad-18", "1", "X-Pad-19", "1", "X-Pad-20", "1",
        "X-Pad-21", "1", "X-Pad-22", "1", "X-Pad-23", "1", "X-Pad-24", "1", "X-Pad-25", "1",
        "X-Pad-26", "1", "X-Pad-27", "1", "X-Pad-28", "1", "X-Pad-29", "1", "X-Pad-30", "1",
        NULL};
    static const char *const covered[] = {
        "x-pad-01", "x-pad-02", "x-pad-03", "x-pad-04", "x-pad-05", "x-pad-06", "x-pad-07",
        "x-pad-08", "x-pad-09", "x-pad-10", "x-pad-11", "x-pad-12", "x-pad-13", "x-pad-14",
        "x-pad-15", "x-pad-16", "x-pad-17", "x-pad-18", "x-pad-19", "x-pad-20", "x-pad-21",
        "x-pad-22", "x-pad-23", "x-pad-24", "x-pad-25", "x-pad-26", "x-pad-27", "x-pad-28",
        "x-pad-29", "x-pad-30", NULL};
    struct aa_sign_cred cred;
    struct aa_sign_opts o;
    struct aa_buf raw;
    struct na_req r;

    aa_buf_init(&raw, 32 * 1024);
    /* 33 parameters: the valid credential plus 32 unknown ones, which a
     * receiver ignores but counts (PROFILE#2.1, D-24). */
    aa_buf_printf(&raw, "sig1=(scheme=jwt jwt=\"%s\"", aa_client_agent_token(s->e.dg.c));
    for (int i = 1; i <= 32; i++)
        aa_buf_printf(&raw, " p%d=\"x\"", i);
    aa_buf_addc(&raw, ')');
    cred = na_cred_raw(raw.p);
    memset(&r, 0, sizeof(r));
    r.key = aa_client_key(s->e.dg.c);
    r.cred = &cred;
    run_req(s, &rb_params, "RB-04 33 Signature-Key parameters", &r, NULL, 401, NULL, NULL);

    /* 7 components of a POST + 30 covered extra headers = 37. */
    memset(&o, 0, sizeof(o));
    o.extra_covered = covered;
    memset(&r, 0, sizeof(r));
    r.headers = pads;
    run_req(s, &rb_params, "RB-04 37 covered components", &r, &o, 401, NULL, NULL);

    /* RB-05: a control byte inside AAuth headers, put in after signing
     * (the harness's signer refuses to cover one) and sent raw. */
    aa_buf_reset(&raw);
    aa_buf_printf(&raw, "sig1=(scheme=jwt jwt=\"%s\x01\")", aa_client_agent_token(s->e.dg.c));
    memset(&r, 0, sizeof(r));
    r.after_name = "Signature-Key";
    r.after_value = raw.p;
    r.flags = AA_HTTP_REQ_RAW;
    run_req(s, &rb_ctl, "RB-05 0x01 inside Signature-Key", &r, NULL, 0, NULL, NULL);
    memset(&r, 0, sizeof(r));
    r.after_name = "Signature-Input";
    r.after_value = "sig1=(\"@method\" \"@authority\"\x01 \"@path\");created=%CREATED%";
    r.flags = AA_HTTP_REQ_RAW;
    run_req(s, &rb_ctl, "RB-05 0x01 inside Signature-Input", &r, NULL, 0, NULL, NULL);
    aa_buf_free(&raw);
}

/* ---- the case ------------------------------------------------------------------------------ */

AA_CASE(neg_auth, signature,
        .title = "agent_token_endpoint refuses bad HTTP signatures and Signature-Key values "
                 "(PROFILE#9 SIG, SK, RB-04/05)",
        .needs = AA_NEED_ALL,
        .checks = AA_CHECKS(&sig_ok, &sig_none, &sig_missing, &sig_label, &sig_members, &sig_lines,
                            &sig_sk_cov, &sig_req_cov, &sig_query_cov, &sig_query_extra,
                            &sig_body_cov, &sig_digest, &sig_nonce_cov, &sig_created, &sig_past,
                            &sig_future, &sig_expires, &sig_flip, &sig_other_key, &sig_b64url,
                            &sig_encoding, &sig_alg, &sig_other_auth, &sig_host, &sig_replay,
                            &sig_nonce_fmt, &sig_component, &sig_legacy, &sig_input, &sig_host_info,
                            &sk_scheme, &sk_hwk, &sk_jwks, &sk_kid, &sk_meta, &sk_jwt, &sk_syntax,
                            &sk_x509, &rb_params, &rb_ctl))
{
    struct scene s;
    struct aa_http_response resp;
    struct aa_diag d;
    int rc;

    memset(&s, 0, sizeof(s));
    aa_http_response_init(&resp);
    aa_diag_clear(&d);
    if (!na_env_init(&s.e, NA_ENV_RT))
        goto out;
    if (aa_jwk_from_ed25519_seed(test1_seed, "test1", &s.test1) != AA_OK) {
        na_error_rest("cannot load the RFC 8032 TEST 1 key");
        goto out;
    }
    rc = na_env_post(&s.e, "baseline: the valid auth request", s.e.body, NULL, &resp, &d);
    if (!na_expect(&sig_ok, "valid request", rc, &d, &resp, 200, 0, NULL, NULL)) {
        const struct aa_conf_case *cc = aa_conf_current_case();
        aa_check_not_evaluated(&sig_ok, cc->checks);
        goto out;
    }
    sig01_unsigned(&s);
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
        run_variant(&s, &variants[i]);
    sig10_query(&s);
    sig15_nonce(&s);
    sig20_other_key(&s);
    sig24_elsewhere(&s);
    sig25_replay(&s);
    sig30_host(&s);
    sk_dynamic(&s);
    rb_signature_headers(&s);
out:
    na_flush(&s.e.dg);
    aa_jwk_cleanup(&s.test1);
    na_env_cleanup(&s.e);
    aa_http_response_cleanup(&resp);
}
