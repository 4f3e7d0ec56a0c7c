/*
 * replay_main: run fuzz inputs through a target without libFuzzer, so the
 * normal (and ASan) build replays crash regressions (vectors/regress/) and
 * the seed corpora under CTest.
 *
 *   replay_fuzz_<name> PATH...
 *
 * Each PATH is a file or a directory whose regular files (not dotfiles,
 * not README*) are replayed in name order. A broken invariant aborts the
 * process (fuzz_common.h), a memory error stops it under ASan; otherwise
 * the program prints how many inputs passed and exits 0. Exit 77 (CTest
 * SKIP_RETURN_CODE) when the paths held no input at all, so an empty
 * directory is reported as skipped rather than as a pass.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

#define REPLAY_MAX_INPUT ((size_t)8 * 1024 * 1024)
#define REPLAY_SKIP 77

/* Optional in a target; a weak reference is NULL when it is absent. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path, size_t *count)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = aa_read_file(path, REPLAY_MAX_INPUT, &buf, &len);

    if (rc != AA_OK) {
        fprintf(stderr, "replay: %s: %s\n", path, aa_strerror(rc));
        return 1;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    /* Copy into an exact-size block so ASan sees reads past the end. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;

    if (dp == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (nn == NULL) {
                bad = 1;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if ((names[n] = aa_strdup(e->d_name)) == NULL) {
            bad = 1;
            break;
        }
        n++;
    }
    closedir(dp);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct aa_buf path;
        struct stat st;

        aa_buf_init(&path, 4096);
        if (aa_buf_printf(&path, "%s/%s", dir, names[i]) != AA_OK) {
            bad = 1;
        } else if (stat(path.p, &st) == 0 && S_ISREG(st.st_mode)) {
            bad |= run_file(path.p, count);
        }
        aa_buf_free(&path);
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int bad = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            bad = 1;
        } else if (S_ISDIR(st.st_mode)) {
            bad |= run_dir(argv[i], &count);
        } else {
            bad |= run_file(argv[i], &count);
        }
    }
    if (bad)
        return 1;
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return REPLAY_SKIP;
    }
    printf("replay: %zu inputs passed\n", count);
    return 0;
}
