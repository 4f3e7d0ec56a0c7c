/*
 * aa_seed_vectors: (re)generate vectors/seed-flow/ (PROFILE#7.6) - the
 * seed's agent-delegation flow between in-process reference servers on
 * 127.0.0.1:8001/8002/8003 with fixed keys, a frozen clock and the
 * known-answer random stream (seed_vectors_gen.h).
 *
 *   aa_seed_vectors [--check] [DIR]
 *
 * DIR defaults to the source tree's vectors/seed-flow. Writes
 * DIR/seed-flow.json and DIR/keys/<name>.jwk; with --check writes nothing
 * and exits 1 when a file differs from what the generator produces now.
 * Exit codes: 0 ok, 1 differs (--check), 2 usage or generation failure.
 *
 * Design choice: this tool is the only program that switches the
 * known-answer random stream on; it does so for its own in-process servers
 * and never listens on anything but loopback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seed_vectors_gen.h"

#ifndef AA_VECTORS_DIR
#define AA_VECTORS_DIR "vectors"
#endif

static int write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL) {
        fprintf(stderr, "aa_seed_vectors: %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "aa_seed_vectors: %s: write failed\n", path);
        return 2;
    }
    return 0;
}

/* 0 same, 1 differs or missing. */
static int compare_file(const char *path, const char *text, size_t len)
{
    char *old = NULL;
    size_t n = 0;
    int same;

    if (aa_read_file(path, AA_SEEDVEC_MAX_JSON, &old, &n) != AA_OK) {
        fprintf(stderr, "aa_seed_vectors: %s: missing or unreadable\n", path);
        return 1;
    }
    same = n == len && memcmp(old, text, len) == 0;
    free(old);
    if (!same)
        fprintf(stderr, "aa_seed_vectors: %s differs from a fresh generation\n", path);
    return same ? 0 : 1;
}

static int emit(bool check, const char *path, const struct aa_buf *b)
{
    if (b->err != AA_OK || b->p == NULL) {
        fprintf(stderr, "aa_seed_vectors: %s: cannot build (%s)\n", path, aa_strerror(b->err));
        return 2;
    }
    return check ? compare_file(path, b->p, b->len) : write_file(path, b->p, b->len);
}

int main(int argc, char **argv)
{
    const char *dir = AA_VECTORS_DIR "/seed-flow";
    char path[4096];
    struct aa_buf b;
    struct aa_diag d;
    bool check = false;
    int status = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: aa_seed_vectors [--check] [DIR]\n"
                   "  regenerates DIR/seed-flow.json and DIR/keys/*.jwk (PROFILE#7.6);\n"
                   "  needs 127.0.0.1:8001-8003 free. DIR defaults to %s/seed-flow.\n",
                   AA_VECTORS_DIR);
            return 0;
        } else if (argv[i][0] == '-' || i != argc - 1) {
            fprintf(stderr, "usage: aa_seed_vectors [--check] [DIR]\n");
            return 2;
        } else {
            dir = argv[i];
        }
    }

    aa_diag_clear(&d);
    aa_buf_init(&b, AA_SEEDVEC_MAX_JSON);
    rc = aa_seedvec_generate(&b, &d);
    if (rc != AA_OK) {
        char msg[1024];
        aa_diag_format(&d, msg, sizeof(msg));
        fprintf(stderr, "aa_seed_vectors: %s (%s)\n", msg, aa_strerror(rc));
        aa_buf_free(&b);
        return 2;
    }
    if (!check) {
        if (aa_snprintf(path, sizeof(path), "%s/keys", dir) != AA_OK ||
            (mkdir(dir, 0755) != 0 && errno != EEXIST) ||
            (mkdir(path, 0755) != 0 && errno != EEXIST)) {
            fprintf(stderr, "aa_seed_vectors: cannot create %s: %s\n", path, strerror(errno));
            aa_buf_free(&b);
            return 2;
        }
    }
    if (aa_snprintf(path, sizeof(path), "%s/%s", dir, AA_SEEDVEC_JSON) != AA_OK) {
        aa_buf_free(&b);
        return 2;
    }
    status = emit(check, path, &b);
    aa_buf_free(&b);
    for (size_t i = 0; i < AA_SEEDVEC_N_KEYS && status != 2; i++) {
        int s;
        aa_buf_init(&b, 4096);
        if (aa_seedvec_key_file(i, &b) != AA_OK ||
            aa_snprintf(path, sizeof(path), "%s/keys/%s.jwk", dir, aa_seedvec_keys[i].name) !=
                AA_OK) {
            aa_buf_free(&b);
            return 2;
        }
        s = emit(check, path, &b);
        aa_cleanse(b.p, b.len);
        aa_buf_free(&b);
        if (s > status)
            status = s;
    }
    if (status == 0)
        fprintf(stderr, "aa_seed_vectors: %s %s\n", dir, check ? "is up to date" : "written");
    return status;
}
