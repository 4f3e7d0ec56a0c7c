/*
 * aa_aauth: the AAuth signing profile layer (PROFILE#2, #4, #5, #10) that the
 * reference servers, the delegate client and the conformance runner share.
 *
 * This umbrella header defines the module's error codes (-500..-599), the
 * profile error vocabulary of PROFILE#6.8 (invalid_signature, invalid_key,
 * ...) with its HTTP status mapping, and includes every sub-header:
 *
 *   aa_profile.h   dialect table: every header/typ/well-known/metadata name,
 *                  grammar hooks, default lifetimes and limits (D-5, D-6,
 *                  D-24). Flow code takes names from here, never literals.
 *   aa_sigkey.h    the Signature-Key header (PROFILE#2.1 grammar, D-8; the
 *                  scheme rules of PROFILE#2.3).
 *   aa_challenge.h the Agent-Auth challenge (PROFILE#5, D-9).
 *   aa_nonce.h     the AAuth Nonce header and the replay cache (PROFILE#2.9).
 *   aa_signer.h    request signing (PROFILE#2.4-#2.8) incl. the diagnostic
 *                  variants the conformance runner needs.
 *   aa_verifier.h  the receiver procedure (PROFILE#2.11), key resolution,
 *                  token validators (PROFILE#4.3-#4.5), fault switches.
 *
 * Design choice: findings carry the profile error name and HTTP status next
 * to the internal code, so a server answers exactly what the profile table
 * says and a checker compares the same values without a second mapping.
 */
#ifndef AA_AAUTH_H
#define AA_AAUTH_H

#include "../core/aa_core.h"

/* ---- error codes (aauth range -500..-599; append-only) ---------------- */
enum {
    /* Signature-Key (PROFILE#2.1, #2.3) */
    AA_E_SIGKEY_SYNTAX = -500,   /* grammar of PROFILE#2.1 broken */
    AA_E_SIGKEY_MEMBERS = -501,  /* more than one member (PROFILE#2.2 step 2) */
    AA_E_SIGKEY_DUP = -502,      /* a parameter name repeats */
    AA_E_SIGKEY_SCHEME = -503,   /* scheme missing, not a token, or unknown */
    AA_E_SIGKEY_PARAM = -504,    /* scheme parameters invalid (PROFILE#2.3) */
    AA_E_SIGKEY_UNSUPPORTED = -505, /* valid but not supported here (x509) */
    /* Agent-Auth (PROFILE#5) */
    AA_E_CHALLENGE_SYNTAX = -510, /* not an RFC 8941 List (after D-9) */
    AA_E_CHALLENGE_NONE = -511,   /* no member with the token httpsig */
    AA_E_CHALLENGE_PARAM = -512,  /* a known parameter has the wrong type */
    /* Nonce (PROFILE#2.9) */
    AA_E_NONCE_FORMAT = -520, /* not base64url/unpadded, <12 bytes, >128 chars */
    AA_E_NONCE_REPLAY = -521, /* seen before within the window */
    AA_E_NONCE_CACHE_FULL = -522, /* replay cache full of live entries */
    AA_E_NONCE_REQUIRED = -523,   /* signed POST without a Nonce (D-10) */
    /* Receiver procedure (PROFILE#2.11) */
    AA_E_AAUTH_NO_SIGNATURE = -530, /* none of the three headers (step 2) */
    AA_E_AAUTH_HEADERS = -531,  /* a header missing or repeated (step 3) */
    AA_E_AAUTH_LABEL = -532,    /* member count / label mismatch (step 3) */
    AA_E_AAUTH_SIG_VALUE = -533, /* Signature not a Byte Sequence (step 3) */
    AA_E_AAUTH_COVERAGE = -534, /* covered components (PROFILE#2.4) */
    AA_E_AAUTH_CREATED = -535,  /* created missing/not integer/out of window */
    AA_E_AAUTH_EXPIRES = -536,  /* expires not integer or in the past */
    AA_E_AAUTH_ALG = -537,      /* alg parameter does not match the key */
    AA_E_AAUTH_DIGEST = -538,   /* Content-Digest mismatch/unsupported */
    AA_E_AAUTH_SIG_INPUT = -539, /* Signature-Input malformed */
    AA_E_AAUTH_KEY = -540,      /* key could not be resolved (invalid_key) */
    AA_E_AAUTH_BADSIG = -541,   /* signature does not verify */
    AA_E_AAUTH_LIMIT = -542,    /* a PROFILE#9 RB limit exceeded */
    AA_E_AAUTH_SCHEME_LEVEL = -543, /* credential below the endpoint level */
    /* Tokens (PROFILE#4) */
    AA_E_AAUTH_TOKEN = -550,    /* agent/auth token invalid (invalid_token) */
    AA_E_AAUTH_RESOURCE_TOKEN = -551, /* resource token invalid (400) */
    AA_E_AAUTH_UNTRUSTED = -552, /* issuer not on the trusted list */
    /* Signer */
    AA_E_SIGNER_INPUT = -570    /* signer inputs inconsistent (bad URL...) */
};

const char *aa_aauth_strerror(int code);

/* ---- profile error vocabulary (PROFILE#6.8, D-7) ----------------------- */
enum aa_perr {
    AA_PERR_NONE = 0,
    AA_PERR_INVALID_REQUEST,       /* 400 */
    AA_PERR_UNSUPPORTED_REQUEST_TYPE, /* 400 */
    AA_PERR_INVALID_SCOPE,         /* 400 */
    AA_PERR_INVALID_RESOURCE_TOKEN, /* 400 */
    AA_PERR_INVALID_GRANT,         /* 400 */
    AA_PERR_INVALID_SIGNATURE,     /* 401 */
    AA_PERR_REPLAY_DETECTED,       /* 401 */
    AA_PERR_INVALID_KEY,           /* 401 */
    AA_PERR_INVALID_TOKEN,         /* 401 */
    AA_PERR_ACCESS_DENIED,         /* 403 */
    AA_PERR_INSUFFICIENT_SCOPE,    /* 403 */
    AA_PERR_TEMPORARILY_UNAVAILABLE, /* 429: replay cache full (RFC6749#4.1.2.1) */
    AA_PERR_SERVER_ERROR           /* 500: a harness fault, never a finding */
};

/* "invalid_signature", ... ; "" for AA_PERR_NONE. Never NULL. */
const char *aa_perr_name(enum aa_perr e);
/* The PROFILE#6.8 status for |e| (0 for AA_PERR_NONE). */
int aa_perr_status(enum aa_perr e);
/* Inverse of aa_perr_name (exact match); AA_PERR_NONE if unknown. */
enum aa_perr aa_perr_from_name(const char *name);

#include "aa_profile.h"
#include "aa_sigkey.h"
#include "aa_challenge.h"
#include "aa_nonce.h"
#include "aa_signer.h"
#include "aa_verifier.h"

#endif
