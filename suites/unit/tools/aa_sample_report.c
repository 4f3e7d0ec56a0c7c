/*
 * aa_sample_report DIR: writes the fixed sample run's reports (junit.xml,
 * report.json, report.md, report.html, plus console.txt and flow.txt) into
 * DIR, for suites/unit/validate_reports.sh to check against the published
 * schemas. Exit 0 on success, 1 on any failure (with a message on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aa_sample_run.h"

static int write_text(const struct aa_run *run, const char *dir, const char *name, bool flow)
{
    char path[4096];
    FILE *f;
    int rc = 0;

    if (aa_snprintf(path, sizeof(path), "%s/%s", dir, name) != AA_OK)
        return -1;
    if ((f = fopen(path, "wb")) == NULL) {
        fprintf(stderr, "aa_sample_report: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flow) {
        rc = aa_report_print_flow(run, &sample_f6, f, false) < 0 ? -1 : 0;
    } else {
        const struct aa_console_opts o = {false, true};
        aa_report_print_console(run, f, &o);
    }
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    struct aa_run run;
    struct aa_diag d;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: aa_sample_report DIR\n");
        return 2;
    }
    aa_diag_clear(&d);
    rc = sample_run(&run);
    if (rc == AA_OK)
        rc = aa_report_write_dir(&run, argv[1], &d);
    if (rc != AA_OK) {
        char msg[512];
        aa_diag_format(&d, msg, sizeof(msg));
        fprintf(stderr, "aa_sample_report: %s (%s)\n", msg, aa_strerror(rc));
        aa_run_cleanup(&run);
        return 1;
    }
    if (write_text(&run, argv[1], "console.txt", false) != 0 ||
        write_text(&run, argv[1], "flow.txt", true) != 0) {
        aa_run_cleanup(&run);
        return 1;
    }
    aa_run_cleanup(&run);
    return 0;
}
