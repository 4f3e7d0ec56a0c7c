/*
 * aa_report_write_dir: junit.xml, report.json, report.md and report.html
 * into one directory, created with mkdir -p semantics.
 *
 * Design choice: each file is written to "<name>.tmp" and renamed, so a
 * reader (CI artifact upload, a browser) never sees a half-written report.
 */
#include "report_int.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define REF_DIR "REPORT#5"
#define DIR_PATH_MAX 4096

static int mkdir_p(const char *dir, struct aa_diag *d)
{
    char path[DIR_PATH_MAX];
    size_t n = strlen(dir);
    struct stat st;

    if (n == 0 || n >= sizeof(path))
        return aa_fail(d, AA_E_INVAL, REF_DIR,
                       "report directory: path is empty or longer than %d bytes", DIR_PATH_MAX - 1);
    memcpy(path, dir, n + 1);
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && path[i] != '/')
            continue;
        if (i < n && path[i - 1] == '/')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            return aa_fail(d, AA_E_IO, REF_DIR, "report directory %s: cannot create: %s", path,
                           strerror(e));
        }
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            return aa_fail(d, AA_E_IO, REF_DIR,
                           "report directory %s: exists and is not a directory", path);
        if (i < n)
            path[i] = '/';
    }
    return AA_OK;
}

static int write_one(const struct aa_run *run, const char *dir, const char *name,
                     int (*fn)(const struct aa_run *, FILE *), struct aa_diag *d)
{
    char path[DIR_PATH_MAX + 32], tmp[DIR_PATH_MAX + 40];
    FILE *f;
    int rc, e;

    if (aa_snprintf(path, sizeof(path), "%s/%s", dir, name) != AA_OK ||
        aa_snprintf(tmp, sizeof(tmp), "%s.tmp", path) != AA_OK)
        return aa_fail(d, AA_E_INVAL, REF_DIR, "report file %s: path too long", name);
    if ((f = fopen(tmp, "wb")) == NULL) {
        e = errno;
        return aa_fail(d, AA_E_IO, REF_DIR, "report file %s: cannot open: %s", tmp, strerror(e));
    }
    rc = fn(run, f);
    e = errno;
    if (fclose(f) != 0 && rc == AA_OK) {
        e = errno;
        rc = AA_E_IO;
    }
    if (rc == AA_OK && rename(tmp, path) != 0) {
        e = errno;
        rc = AA_E_IO;
    }
    if (rc != AA_OK) {
        remove(tmp);
        if (rc == AA_E_IO)
            return aa_fail(d, rc, REF_DIR, "report file %s: write failed: %s", path, strerror(e));
        return aa_fail(d, rc, REF_DIR, "report file %s: %s", path, aa_strerror(rc));
    }
    return AA_OK;
}

int aa_report_write_dir(const struct aa_run *run, const char *dir, struct aa_diag *d)
{
    static const struct {
        const char *name;
        int (*fn)(const struct aa_run *, FILE *);
    } files[] = {
        {"junit.xml", aa_report_write_junit},
        {"report.json", aa_report_write_json},
        {"report.md", aa_report_write_markdown},
        {"report.html", aa_report_write_html},
    };
    int rc;

    if (run == NULL || dir == NULL)
        return aa_fail(d, AA_E_INVAL, REF_DIR, "report directory: no run or no path");
    if ((rc = mkdir_p(dir, d)) != AA_OK)
        return rc;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if ((rc = write_one(run, dir, files[i].name, files[i].fn, d)) != AA_OK)
            return rc;
    return AA_OK;
}
