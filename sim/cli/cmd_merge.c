/*
 * cmd_merge.c: `clustersim merge OUT.db IN.db...`: gathers the runs of several results
 * databases (the shards of a sweep, runs made on other machines) into one.
 *
 * Each input is merged by db_merge_from in its own transaction, in the order given, so a
 * bad input leaves OUT as it was before that input and the inputs after it are still
 * merged; the exit status is that of the first failure. Runs OUT already holds (same sweep
 * point, or same start time, config and seed) are skipped, so merging again is harmless.
 */
#include <string.h>

#include "cli/cli.h"
#include "out/db.h"

static const char merge_usage[] =
    "usage: clustersim merge OUT.db IN.db...\n"
    "\n"
    "Copies every run of each results database IN (opened read-only) into OUT, created when\n"
    "absent, with new run ids and all its rows (steps, ranks, links, collectives, sweep\n"
    "parameters, ...). A run OUT already holds is skipped: the same sweep point (sweep_param\n"
    "'_point'), or for runs outside a sweep the same created_utc, config_path, seed and\n"
    "config_yaml. Each IN is merged in one transaction: an IN that cannot be read, is not a\n"
    "clustersim database or has another schema version leaves OUT unchanged, is reported,\n"
    "and the next IN is still merged. Prints one line per IN:\n"
    "  merged N runs from IN (S already present)\n"
    "Exit status: 0 when every IN merged, else that of the first failure (2 for a bad IN).\n";

int cli_merge_main(int argc, char **argv)
{
    int first = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(merge_usage, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim merge: unknown option '%s'\n%s", argv[i], merge_usage);
            return 2;
        }
        if (!first)
            first = i;
    }
    if (!first || argc - first < 2) {
        fprintf(stderr, "clustersim merge: expected OUT.db and at least one IN.db\n%s",
                merge_usage);
        return 2;
    }
    const char *out = argv[first];
    sim_status st;
    sim_status_clear(&st);
    db *d = NULL;
    if (db_open(out, &d, &st) != SIM_OK)
        return cli_report(&st);
    int rc = 0;
    for (int i = first + 1; i < argc; i++) {
        size_t merged = 0, skipped = 0;
        sim_status_clear(&st);
        if (db_merge_from(d, argv[i], &merged, &skipped, &st) != SIM_OK) {
            int e = cli_report(&st);
            if (!rc)
                rc = e;
            continue;
        }
        printf("merged %zu runs from %s (%zu already present)\n", merged, argv[i], skipped);
    }
    db_close(d);
    return rc;
}
