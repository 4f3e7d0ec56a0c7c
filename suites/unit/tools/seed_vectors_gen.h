/*
 * seed_vectors_gen: builds vectors/seed-flow/ (PROFILE#7.6, F6 "Agent
 * Delegation", TEST 1-4) by running the seed's flow between in-process
 * reference servers and the reference delegate client, with fixed keys, a
 * frozen clock and the known-answer random stream of aa_jwk.h.
 *
 * Used by the aa_seed_vectors tool (writes the files) and by
 * suites/unit/test_seed_vectors.c (regenerates in-process and compares
 * byte for byte).
 *
 * Design choice: the servers listen on the default-topology ports
 * 127.0.0.1:8001/8002/8003 themselves instead of claiming those
 * identifiers from ephemeral ports: every identifier is also a URL that
 * peers fetch metadata from (PROFILE#1, #3), and neither the reference
 * servers nor the client can send a request to one address while naming
 * another. aa_seedvec_ports_free() says, before anything starts, whether
 * the ports can be bound.
 */
#ifndef SEED_VECTORS_GEN_H
#define SEED_VECTORS_GEN_H

#include <stddef.h>

#include <cJSON.h>

#include "core/aa_core.h"
#include "jwk/aa_jwk.h"

#define AA_SEEDVEC_T0 INT64_C(1768786221) /* PROFILE#2.12: the seed's created */
#define AA_SEEDVEC_TEST4_ADVANCE 60       /* TEST 4 runs 60 s after TEST 1-3 */
#define AA_SEEDVEC_STREAM_SEED "aauth seed vector: random stream"
#define AA_SEEDVEC_JSON "seed-flow.json"
#define AA_SEEDVEC_MAX_JSON ((size_t)4 * 1024 * 1024)

/* One fixed key: the Ed25519 private key d = SHA-256(label) (RFC 8032
 * secret, RFC 8037 "d"), with kid |kid|. */
struct aa_seedvec_key_def {
    const char *name; /* "agent-server" (also keys/<name>.jwk) */
    const char *role; /* one line: who holds it */
    const char *kid;
    const char *label; /* the SHA-256 input, ASCII, no NUL */
};

enum {
    AA_SEEDVEC_KEY_AGENT = 0,
    AA_SEEDVEC_KEY_DELEGATE1,
    AA_SEEDVEC_KEY_DELEGATE2,
    AA_SEEDVEC_KEY_RESOURCE,
    AA_SEEDVEC_KEY_AUTH,
    AA_SEEDVEC_KEY_OTHER,
    AA_SEEDVEC_N_KEYS
};

extern const struct aa_seedvec_key_def aa_seedvec_keys[AA_SEEDVEC_N_KEYS];

/* The private key |i| (caller frees with aa_jwk_cleanup). AA_E_INVAL for a
 * bad index. */
int aa_seedvec_key(size_t i, struct aa_jwk *out) AA_WUR;
/* Text of keys/<name>.jwk: the private JWK (aa_jwk_to_json) and LF. */
int aa_seedvec_key_file(size_t i, struct aa_buf *out) AA_WUR;

/* AA_OK when 127.0.0.1:8001, 8002 and 8003 can all be bound now, else
 * AA_E_IO with |d| naming the busy port. */
int aa_seedvec_ports_free(struct aa_diag *d) AA_WUR;

/*
 * Run the flow and append the text of seed-flow.json to |out|. Takes a
 * process-wide file lock (so two builds' tests do not race for the ports),
 * switches the known-answer random stream on for the duration and off
 * again. Every step is checked against PROFILE#7.6 while it runs: a flow
 * that deviates (a status, a claim, a signature that does not verify)
 * fails with AA_E_INTERNAL and a message instead of writing a vector.
 * Errors: AA_E_IO (ports busy), AA_E_INTERNAL, AA_E_NOMEM, and the codes of
 * the reference pieces.
 */
int aa_seedvec_generate(struct aa_buf *out, struct aa_diag *d) AA_WUR;

/* The pretty printer of the vector files: two-space indentation, arrays of
 * scalars on one line, integers only (AA_E_INVAL for other numbers), strings
 * through aa_json_quote. Appends to |out|, then LF. */
int aa_seedvec_print(const cJSON *v, struct aa_buf *out) AA_WUR;

#endif
