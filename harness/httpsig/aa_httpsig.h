/*
 * aa_httpsig: HTTP Message Signatures (RFC 9421) and Content-Digest
 * (RFC 9530). Component values (§2.1, §2.2), the signature base (§2.5),
 * Signature-Input / Signature parsing and serialization (§4.1, §4.2),
 * signing and verification (§3.1, §3.2) over aa_crypto_* primitives, and
 * Content-Digest creation and checking (RFC 9530 §2).
 *
 * Design choice: the module works on a caller-built *view* of a message
 * (struct aa_httpsig_msg) and never looks at the network. In particular
 * @authority is whatever authority the caller supplies: a receiver passes
 * its configured canonical authority and never the Host header
 * (PROFILE#2.5). Verification is strict; the non-conformant dialects that
 * real peers send (legacy base, base64url signatures, @query without "?")
 * can be *built* (to send hostile requests) and *recognised* by
 * aa_httpsig_diagnose(), which only ever explains a failure and never
 * turns one into a success.
 *
 * base64 flavours: Signature and Content-Digest members are RFC 8941 Byte
 * Sequences, i.e. standard base64 with padding (RFC8941#3.3.5).
 *
 * hmac-sha256 (RFC9421#3.3.3) is recognised as a name and the signature
 * base for it can be built (RFC 9421 App. B.2.5), but this module neither
 * signs nor verifies with it: the AAuth profile forbids symmetric
 * algorithms (PROFILE#2.10) and aa_jwk has no symmetric keys.
 */
#ifndef AA_HTTPSIG_H
#define AA_HTTPSIG_H

#include "../core/aa_core.h"
#include "../jwk/aa_jwk.h"
#include "../sf/aa_sf.h"

/* ---- error codes (range -400..-499) ---------------------------------- */
enum {
    AA_E_HTTPSIG_INPUT_SYNTAX = -400,      /* Signature-Input not a Dictionary of Inner Lists
                                              of Strings (RFC9421#4.1) */
    AA_E_HTTPSIG_SIG_SYNTAX = -401,        /* Signature not a valid Dictionary (RFC9421#4.2) */
    AA_E_HTTPSIG_SIG_TYPE = -402,          /* Signature member is not a Byte Sequence
                                              (RFC9421#4.2) */
    AA_E_HTTPSIG_SIG_ENCODING = -403,      /* Byte Sequence not standard base64, e.g.
                                              base64url (RFC8941#3.3.5) */
    AA_E_HTTPSIG_LABEL = -404,             /* label absent, ambiguous, or not in both
                                              headers (RFC9421#3.2) */
    AA_E_HTTPSIG_DUP_COMPONENT = -405,     /* component identifier listed twice (RFC9421#2) */
    AA_E_HTTPSIG_UNKNOWN_COMPONENT = -406, /* unknown derived component, or
                                              @signature-params covered (RFC9421#2.2) */
    AA_E_HTTPSIG_COMPONENT_NAME = -407,    /* field name not lowercase / not a token
                                              (RFC9421#2.1) */
    AA_E_HTTPSIG_COMPONENT_PARAM = -408,   /* unknown, misplaced, mistyped or incompatible
                                              component parameter (RFC9421#2.5) */
    AA_E_HTTPSIG_MISSING_FIELD = -409,     /* covered field absent from the message
                                              (RFC9421#2.5) */
    AA_E_HTTPSIG_COMPONENT_CONTEXT = -410, /* component not applicable to this message:
                                              @status on a request, @method on a
                                              response, ;req without a request
                                              (RFC9421#2.2) */
    AA_E_HTTPSIG_VALUE_CHARS = -411,       /* component value holds a newline or other
                                              control character (RFC9421#2) */
    AA_E_HTTPSIG_SF_FIELD = -412,          /* ;sf / ;key: type unknown, field does not
                                              parse, or key absent (RFC9421#2.1.1) */
    AA_E_HTTPSIG_QUERY_PARAM = -413,       /* @query-param name absent, missing from the
                                              query, or repeated (RFC9421#2.2.8) */
    AA_E_HTTPSIG_PARAM_TYPE = -414,        /* signature parameter of the wrong type
                                              (RFC9421#2.3) */
    AA_E_HTTPSIG_CREATED_MISSING = -415,   /* created required but absent */
    AA_E_HTTPSIG_EXPIRED = -416,           /* expires is not after now (RFC9421#3.2.1) */
    AA_E_HTTPSIG_CREATED_SKEW = -417,      /* created too old or in the future */
    AA_E_HTTPSIG_ALG_UNKNOWN = -418,       /* alg not an RFC 9421 algorithm (RFC9421#6.2) */
    AA_E_HTTPSIG_ALG_MISMATCH = -419,      /* alg disagrees with the key or configuration
                                              (RFC9421#3.2) */
    AA_E_HTTPSIG_ALG_UNSUPPORTED = -420,   /* known algorithm this module does not verify
                                              (hmac-sha256) */
    AA_E_HTTPSIG_SIG_LENGTH = -421,        /* signature length wrong for the algorithm
                                              (RFC9421#3.3.6, #3.3.4) */
    AA_E_HTTPSIG_BAD_SIGNATURE = -422,     /* signature does not verify over the base
                                              (RFC9421#3.2) */
    AA_E_HTTPSIG_DIGEST_SYNTAX = -423,     /* Content-Digest not a Dictionary of Byte
                                              Sequences (RFC9530#2) */
    AA_E_HTTPSIG_DIGEST_MISMATCH = -424,   /* a supported digest does not match the
                                              content (RFC9530#2) */
    AA_E_HTTPSIG_DIGEST_NONE = -425,       /* no supported algorithm present (RFC9530#2) */
    AA_E_HTTPSIG_TARGET = -426             /* request target has no path (RFC9421#2.2.6) */
};

/* ---- limits (exceeding one is AA_E_LIMIT) ------------------------------ */
#define AA_HTTPSIG_MAX_COMPONENTS 64     /* covered components in one signature */
#define AA_HTTPSIG_MAX_BASE (256 * 1024) /* bytes of one signature base */
#define AA_HTTPSIG_LABEL_MAX 64          /* characters of a signature label */
#define AA_HTTPSIG_PARAM_MAX 512         /* characters of nonce / keyid / tag */
#define AA_HTTPSIG_ALG_MAX 32            /* characters of the alg parameter */
#define AA_HTTPSIG_ORDER_MAX 64          /* see struct aa_httpsig_params.order */
#define AA_HTTPSIG_MAX_QUERY_PARAMS 256  /* name=value pairs examined by @query-param */

/* ---- the message view ------------------------------------------------- */

/* One field line as received or to be sent; names compare case-insensitively. */
struct aa_httpsig_field {
    struct aa_str name;
    struct aa_str value;
};

/* Structured type of a field, needed by the ;sf parameter (RFC9421#2.1.1). */
enum aa_httpsig_sf_kind {
    AA_HTTPSIG_SF_UNKNOWN = 0,
    AA_HTTPSIG_SF_ITEM,
    AA_HTTPSIG_SF_LIST,
    AA_HTTPSIG_SF_DICT
};

struct aa_httpsig_sf_hint {
    const char *name; /* lowercase field name */
    enum aa_httpsig_sf_kind kind;
};

/*
 * A request or response. Every pointer is borrowed and must outlive the
 * call that receives the view; nothing is copied or kept.
 *
 *  |method|     request method exactly as sent (case-sensitive).
 *  |scheme|     "http" / "https" (normalised to lowercase in @scheme).
 *  |authority|  canonical authority supplied by the caller: host[:port].
 *               A receiver passes its configured value, never Host
 *               (PROFILE#2.5). Lowercased, default port dropped for @authority.
 *  |target|     request target exactly as sent: origin-form path plus optional
 *               "?query", byte for byte (absolute-form and "*" also accepted).
 *  |status|     response status code (responses only).
 *  |fields|     header field lines in order; duplicates allowed.
 *  |trailers|   trailer field lines (for the ;tr parameter); may be empty.
 *  |body|       content bytes (Content-Digest); may be NULL when empty.
 *  |request|    for a response: the request that triggered it (;req), or NULL.
 *  |sf_hints|   extra structured-field types on top of the built-in table
 *               (aa_httpsig_sf_kind_of()).
 */
struct aa_httpsig_msg {
    bool is_response;
    struct aa_str method;
    struct aa_str scheme;
    struct aa_str authority;
    struct aa_str target;
    int status;
    const struct aa_httpsig_field *fields;
    size_t n_fields;
    const struct aa_httpsig_field *trailers;
    size_t n_trailers;
    const uint8_t *body;
    size_t body_len;
    const struct aa_httpsig_msg *request;
    const struct aa_httpsig_sf_hint *sf_hints;
    size_t n_sf_hints;
};

/* Structured type of |name| (lowercase) from |m|'s hints, else the built-in
 * table of registered structured fields; AA_HTTPSIG_SF_UNKNOWN if neither. */
enum aa_httpsig_sf_kind aa_httpsig_sf_kind_of(const struct aa_httpsig_msg *m, const char *name);

/* ---- component values and the signature base (RFC 9421 §2) ------------ */

/* Base-building flags. 0 is RFC 9421. The others build the broken dialects
 * that the conformance runner sends and diagnoses (PROFILE#2.12 S1). */
/* Every component line ends in LF and there is no @signature-params line. */
#define AA_HTTPSIG_BASE_LEGACY 0x1u
/* @query without its leading "?". */
#define AA_HTTPSIG_BASE_QUERY_NO_QMARK 0x2u

/*
 * Append the component value of one component identifier |id| (an sf-string
 * Item with its parameters, as found in a Signature-Input Inner List) to
 * |out|. Implements the field rules of RFC9421#2.1 (trim, ", " join,
 * obs-fold, ;sf ;key ;bs ;req ;tr) and the derived components of
 * RFC9421#2.2. |flags| takes AA_HTTPSIG_BASE_QUERY_NO_QMARK.
 * Errors: AA_E_HTTPSIG_UNKNOWN_COMPONENT, _COMPONENT_NAME, _COMPONENT_PARAM,
 * _MISSING_FIELD, _COMPONENT_CONTEXT, _VALUE_CHARS, _SF_FIELD, _QUERY_PARAM,
 * _TARGET, AA_E_LIMIT, AA_E_NOMEM; AA_E_HTTPSIG_INPUT_SYNTAX if |id| is not
 * a String; AA_E_INVAL on NULL arguments or an incomplete view.
 */
int aa_httpsig_component_value(const struct aa_httpsig_msg *m, const struct aa_sf_item *id,
                               unsigned flags, struct aa_buf *out, struct aa_diag *d) AA_WUR;

/*
 * Build the signature base (RFC9421#2.5) for the covered components and
 * parameters in |sig_params| (an AA_SF_INNER_LIST item, e.g. a parsed
 * Signature-Input member) and append it to |out|. Rejects duplicate
 * identifiers (order of their parameters does not matter, RFC9421#2) and a
 * covered "@signature-params". The last line is "@signature-params" with
 * the canonical re-serialisation of |sig_params| and no trailing LF, unless
 * |flags| has AA_HTTPSIG_BASE_LEGACY. Errors: those of
 * aa_httpsig_component_value(), AA_E_HTTPSIG_DUP_COMPONENT, AA_E_LIMIT
 * (more than AA_HTTPSIG_MAX_COMPONENTS, base over AA_HTTPSIG_MAX_BASE).
 * The base is assembled in a private buffer (cleansed after use) and
 * appended to |out| only on success; on failure |out| is unchanged.
 */
int aa_httpsig_build_base(const struct aa_httpsig_msg *m, const struct aa_sf_item *sig_params,
                          unsigned flags, struct aa_buf *out, struct aa_diag *d) AA_WUR;

/* ---- signature parameters (RFC 9421 §2.3) ----------------------------- */

/*
 * The defined signature parameters. Strings are bounded copies. |order|
 * lists the names of the present defined parameters, comma-separated, in
 * their serialisation order ("created,keyid,nonce"); empty means the order
 * of RFC9421#2.3: created, expires, nonce, alg, keyid, tag. Parsing fills
 * |order| from the received order; signing uses it to emit parameters.
 */
struct aa_httpsig_params {
    bool has_created, has_expires, has_nonce, has_alg, has_keyid, has_tag;
    int64_t created;
    int64_t expires;
    char nonce[AA_HTTPSIG_PARAM_MAX + 1];
    char alg[AA_HTTPSIG_ALG_MAX + 1];
    char keyid[AA_HTTPSIG_PARAM_MAX + 1];
    char tag[AA_HTTPSIG_PARAM_MAX + 1];
    char order[AA_HTTPSIG_ORDER_MAX];
};

/* Set strings in |p| (bounded; AA_E_LIMIT when too long). */
int aa_httpsig_params_set(struct aa_httpsig_params *p, const char *name, const char *value);

/* A covered component for signing: name plus optional parameters. */
#define AA_HTTPSIG_C_SF 0x1u  /* ;sf */
#define AA_HTTPSIG_C_BS 0x2u  /* ;bs */
#define AA_HTTPSIG_C_REQ 0x4u /* ;req */
#define AA_HTTPSIG_C_TR 0x8u  /* ;tr */
struct aa_httpsig_component {
    const char *name;  /* "@method", "content-digest", ... */
    unsigned flags;    /* AA_HTTPSIG_C_* */
    const char *key;   /* ;key="..." or NULL */
    const char *qname; /* ;name="..." (@query-param) or NULL */
};

/*
 * Build the Inner List with parameters ("@signature-params" value) from
 * |comps| and |p| into |out| (zeroed by the caller; release with
 * aa_sf_item_free()). Component parameters are emitted as ;req, ;key,
 * ;name, ;sf, ;bs, ;tr (in that order, when set). Errors: AA_E_LIMIT, AA_E_NOMEM,
 * AA_E_HTTPSIG_PARAM_TYPE (unknown name in p->order), AA_E_INVAL.
 */
int aa_httpsig_make_params(const struct aa_httpsig_component *comps, size_t n,
                           const struct aa_httpsig_params *p, struct aa_sf_item *out,
                           struct aa_diag *d) AA_WUR;

/* ---- Signature-Input and Signature (RFC 9421 §4) ----------------------- */

/* One parsed Signature-Input member. */
struct aa_httpsig_input {
    char label[AA_HTTPSIG_LABEL_MAX + 1];
    struct aa_sf_item list; /* owned Inner List: covered components + parameters */
    struct aa_httpsig_params params;
};

/*
 * Parse the Signature-Input field value |value| and extract member |label|
 * (NULL: the only member). The member must be an Inner List of Strings;
 * created/expires must be Integers and nonce/alg/keyid/tag Strings.
 * Unknown parameters are kept in |out->list| (they are part of the base)
 * but not interpreted. Errors: AA_E_HTTPSIG_INPUT_SYNTAX (with the SF
 * parser's detail), AA_E_HTTPSIG_LABEL, AA_E_HTTPSIG_PARAM_TYPE,
 * AA_E_LIMIT, AA_E_NOMEM. On failure |out| needs no cleanup.
 */
int aa_httpsig_parse_input(struct aa_str value, const char *label, struct aa_httpsig_input *out,
                           struct aa_diag *d) AA_WUR;
void aa_httpsig_input_cleanup(struct aa_httpsig_input *in);

/*
 * Parse the Signature field value and copy the bytes of member |label|
 * (NULL: the only member) into |sig| (capacity |cap|). The member must be
 * a Byte Sequence. When the value does not parse because the member is
 * base64url (or otherwise not standard base64) the error is
 * AA_E_HTTPSIG_SIG_ENCODING and the message names the variant found
 * ("base64url without padding"). |sig_class| (optional) receives the
 * aa_b64_classify() bits of the member's text as sent.
 * Errors: AA_E_HTTPSIG_SIG_SYNTAX, _SIG_TYPE, _SIG_ENCODING, _LABEL,
 * AA_E_LIMIT (signature longer than |cap|), AA_E_NOMEM.
 */
int aa_httpsig_parse_signature(struct aa_str value, const char *label, uint8_t *sig, size_t cap,
                               size_t *sig_len, unsigned *sig_class, struct aa_diag *d) AA_WUR;

/*
 * Choose the label to verify: |preferred| if given (it must be a member of
 * both dictionaries), else the single label common to both. Works on the
 * raw text of the two fields (so it still answers when Signature is not
 * valid RFC 8941). |out| gets the label. Errors: AA_E_HTTPSIG_LABEL
 * (none common, several common and none preferred, preferred missing),
 * AA_E_HTTPSIG_INPUT_SYNTAX.
 */
int aa_httpsig_choose_label(struct aa_str sig_input, struct aa_str signature, const char *preferred,
                            char out[AA_HTTPSIG_LABEL_MAX + 1], struct aa_diag *d) AA_WUR;

/* Signature encodings. STD_PADDED is RFC 8941; the rest are dialects. */
enum aa_httpsig_sig_enc {
    AA_HTTPSIG_ENC_STD_PADDED = 0,
    AA_HTTPSIG_ENC_STD_UNPADDED,
    AA_HTTPSIG_ENC_URL_UNPADDED,
    AA_HTTPSIG_ENC_URL_PADDED
};
const char *aa_httpsig_enc_name(enum aa_httpsig_sig_enc e);

/* ---- signing (RFC 9421 §3.1) ------------------------------------------ */

/* Header values produced by a signer. aa_httpsig_signed_cleanup() cleanses
 * the base before freeing it. */
struct aa_httpsig_signed {
    struct aa_buf input;     /* Signature-Input value: label=(...);params */
    struct aa_buf signature; /* Signature value: label=:base64: */
    struct aa_buf base;      /* the signature base that was signed */
};
void aa_httpsig_signed_init(struct aa_httpsig_signed *s);
void aa_httpsig_signed_cleanup(struct aa_httpsig_signed *s);

/*
 * Sign |m| under |label| covering |comps| with parameters |p| (NULL: none),
 * algorithm |alg| (AA_ALG_NONE: the key's default, aa_alg_default_for())
 * and private key |key|. If p->has_alg the alg parameter must name |alg|.
 * Fills |out| (initialised by the caller). Errors: those of
 * aa_httpsig_build_base(), AA_E_HTTPSIG_LABEL (not an sf-key),
 * AA_E_HTTPSIG_ALG_MISMATCH (alg vs key or vs p->alg),
 * AA_E_HTTPSIG_ALG_UNSUPPORTED, AA_E_INTERNAL (crypto failure).
 */
int aa_httpsig_sign(const struct aa_httpsig_msg *m, const char *label,
                    const struct aa_httpsig_component *comps, size_t n,
                    const struct aa_httpsig_params *p, enum aa_alg alg, const struct aa_jwk *key,
                    struct aa_httpsig_signed *out, struct aa_diag *d) AA_WUR;

/* The same, building a broken dialect on purpose: |base_flags| are
 * AA_HTTPSIG_BASE_* and |enc| the Signature encoding. For hostile clients
 * and negative vectors only. */
int aa_httpsig_sign_ex(const struct aa_httpsig_msg *m, const char *label,
                       const struct aa_httpsig_component *comps, size_t n,
                       const struct aa_httpsig_params *p, enum aa_alg alg, const struct aa_jwk *key,
                       unsigned base_flags, enum aa_httpsig_sig_enc enc,
                       struct aa_httpsig_signed *out, struct aa_diag *d) AA_WUR;

/* ---- verification (RFC 9421 §3.2) ------------------------------------- */

struct aa_httpsig_verify_opts {
    int64_t now;          /* Unix seconds, injected (never read from the clock) */
    bool check_time;      /* apply the created / expires rules below */
    bool require_created; /* created must be present (PROFILE#2.6) */
    int64_t max_skew;     /* |now - created| bound in seconds; < 0: no bound */
    enum aa_alg alg;      /* algorithm fixed by configuration, or AA_ALG_NONE */
    bool keep_base;       /* copy the base into the result */
};

/* Verification steps, named in aa_diag.step and aa_httpsig_result.step. */
#define AA_HTTPSIG_STEP_INPUT "signature-input"
#define AA_HTTPSIG_STEP_SIGNATURE "signature"
#define AA_HTTPSIG_STEP_LABEL "label"
#define AA_HTTPSIG_STEP_PARAMS "params"
#define AA_HTTPSIG_STEP_ALG "alg"
#define AA_HTTPSIG_STEP_TIME "time"
#define AA_HTTPSIG_STEP_BASE "base"
#define AA_HTTPSIG_STEP_VERIFY "verify"

struct aa_httpsig_result {
    char label[AA_HTTPSIG_LABEL_MAX + 1];
    struct aa_httpsig_params params;
    enum aa_alg alg;    /* algorithm used */
    unsigned sig_class; /* aa_b64_classify() of the Signature member text */
    const char *step;   /* failing step (AA_HTTPSIG_STEP_*), NULL on success */
    struct aa_buf base; /* the base when opts->keep_base (also on BAD_SIGNATURE) */
};
void aa_httpsig_result_init(struct aa_httpsig_result *r);
void aa_httpsig_result_cleanup(struct aa_httpsig_result *r);

/*
 * Verify one signature of |m| with |key|: parse both fields, choose the
 * label (|label| or the single common one), check parameters, resolve the
 * algorithm (configured / alg parameter / key must agree), check time,
 * rebuild the RFC 9421 base and verify. Returns AA_OK only when the
 * signature verifies. On failure |d| holds the finding with d->step set to
 * the failing step and |r| (optional) the step and what was parsed so far.
 * |r| (initialised with aa_httpsig_result_init()) is reset at the start of
 * each call, so one result can serve several verifications.
 * Errors: every AA_E_HTTPSIG_* code above except the digest ones,
 * AA_E_LIMIT, AA_E_NOMEM, AA_E_INVAL.
 */
int aa_httpsig_verify(const struct aa_httpsig_msg *m, struct aa_str sig_input,
                      struct aa_str signature, const char *label, const struct aa_jwk *key,
                      const struct aa_httpsig_verify_opts *o, struct aa_httpsig_result *r,
                      struct aa_diag *d) AA_WUR;

/* What aa_httpsig_diagnose() found. */
struct aa_httpsig_diagnosis {
    bool found;                  /* some dialect verifies */
    unsigned base_flags;         /* AA_HTTPSIG_BASE_* of that dialect */
    enum aa_httpsig_sig_enc enc; /* Signature encoding of that dialect */
    bool as_string;              /* the value was an sf-string, not a Byte Sequence */
    char text[192];              /* "valid over legacy base without @signature-params
                                    (seed dialect); Signature is base64url without
                                    padding" or "no known dialect verifies" */
};

/*
 * For a diagnostic only: find which dialect a failing signature was made
 * in. Reads the Signature member leniently (any of the four encodings),
 * then tries every encoding that decodes x every base variant (RFC 9421,
 * legacy, @query without "?", both) with |key| and |alg| (AA_ALG_NONE:
 * alg parameter, else key default). Time is not checked. Returns AA_OK
 * when the analysis ran (|out->found| says whether something verified);
 * AA_E_HTTPSIG_INPUT_SYNTAX / _LABEL / _SIG_SYNTAX when the fields cannot
 * be read at all. Never a substitute for aa_httpsig_verify().
 */
int aa_httpsig_diagnose(const struct aa_httpsig_msg *m, struct aa_str sig_input,
                        struct aa_str signature, const char *label, const struct aa_jwk *key,
                        enum aa_alg alg, struct aa_httpsig_diagnosis *out,
                        struct aa_diag *d) AA_WUR;

/* ---- Content-Digest (RFC 9530) ---------------------------------------- */
#define AA_DIGEST_SHA256 0x1u
#define AA_DIGEST_SHA512 0x2u

/* Append "sha-256=:…:" and/or "sha-512=:…:" (", " between) for |body| to
 * |out|. |algs| is a non-empty set of AA_DIGEST_*; AA_E_INVAL otherwise. */
int aa_httpsig_create_digest(const void *body, size_t n, unsigned algs, struct aa_buf *out);

/*
 * Check a Content-Digest field value against |body|. Every member whose
 * algorithm is in |accept| (AA_DIGEST_*) must be a Byte Sequence equal to
 * the digest of |body|; unknown algorithms are ignored; at least one
 * accepted algorithm must be present. |matched| (optional) gets the set
 * checked. Errors: AA_E_HTTPSIG_DIGEST_SYNTAX (not a Dictionary, member not
 * a Byte Sequence), AA_E_HTTPSIG_DIGEST_MISMATCH (names the algorithm),
 * AA_E_HTTPSIG_DIGEST_NONE, AA_E_NOMEM.
 */
int aa_httpsig_verify_digest(struct aa_str value, const void *body, size_t n, unsigned accept,
                             unsigned *matched, struct aa_diag *d) AA_WUR;

const char *aa_httpsig_strerror(int code);

#endif
