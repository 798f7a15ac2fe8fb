/*
 * cmd_calibrate.c: `clustersim calibrate TARGETS`: fits a chip type's efficiency parameters
 * (efficiency.gemm and efficiency.gemm_half_dim, and with --attention efficiency.attention,
 * the fused attention kernel's) to published measurements; the targets file and the fit are
 * study/calibrate.h's.
 *
 * The fitted values are printed in the chip file's syntax, with the error of every row; they
 * are not written anywhere: copy them into topologies/chips/ with the command that made them.
 * Every evaluation prints a progress line on stderr.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "study/calibrate.h"

static const char cal_usage[] =
    "usage: clustersim calibrate [--iterations N] [--start GEMM,HALF_DIM] [--attention]\n"
    "                            TARGETS\n"
    "\n"
    "Fits efficiency.gemm and efficiency.gemm_half_dim of the chip type used by every config\n"
    "listed in TARGETS (lines 'CONFIG METRIC VALUE', metric mfu | hfu | tflops) by replaying\n"
    "them and minimizing the squared relative errors (GSL, Levenberg-Marquardt). Prints the\n"
    "fitted values and each row's error.\n"
    "\n"
    "  --attention   also fit efficiency.attention (fused attention), starting from the chip\n"
    "                file's value (0.5 without one); the configs must use flash attention\n";

/* What parse_args returns when the calibration goes on (any other value is the exit
 * status). */
#define CAL_GO_ON (-1)

/* Parses argv into *file and *o. Returns CAL_GO_ON, or the exit status (0 after --help, else
 * after printing the error). */
static int parse_args(int argc, char **argv, const char **file, study_cal_opts *o)
{
    static const char *const valued[] = {"--iterations N", "--start GEMM,HALF_DIM", NULL};
    if (cli_check_values(argc, argv, "calibrate", valued, cal_usage) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(cal_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--iterations")) {
            long long v;
            if (cli_parse_int(argv[i + 1], 1, 1000, &v) != 0)
                return cli_bad_value("calibrate", argv[i], "a number of iterations from 1 to "
                                     "1000", argv[i + 1]);
            o->iterations = (int)v;
            i++;
        } else if (!strcmp(argv[i], "--start")) {
            if (sscanf(argv[++i], "%lf,%lf", &o->start_gemm, &o->start_half_dim) != 2 ||
                !(o->start_gemm > 0) || !(o->start_gemm < 1) || !(o->start_half_dim > 0)) {
                fprintf(stderr, "clustersim calibrate: --start expects GEMM,HALF_DIM with "
                                "0 < GEMM < 1 and HALF_DIM > 0\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--attention")) {
            o->attention = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim calibrate: unknown option '%s'\n%s", argv[i], cal_usage);
            return 2;
        } else if (!*file) {
            *file = argv[i];
        } else {
            fprintf(stderr, "clustersim calibrate: unexpected argument '%s'\n%s", argv[i],
                    cal_usage);
            return 2;
        }
    }
    if (!*file) {
        fprintf(stderr, "clustersim calibrate: expected TARGETS\n%s", cal_usage);
        return 2;
    }
    return CAL_GO_ON;
}

static void progress(int evaluation, const hw_chip *chip, void *user)
{
    (void)user;
    fprintf(stderr, "clustersim calibrate: evaluation %d: gemm %.4f, gemm_half_dim %.1f, "
                    "attention %.4f\n", evaluation, chip->eff_gemm, chip->gemm_half_dim,
            chip->eff_attention);
}

/* The fitted values in the chip file's syntax, then every row's error. */
static void print_fit(const study_cal *c, const study_cal_opts *o, const study_cal_fit *fit)
{
    size_t n = study_cal_rows(c);
    printf("chip %s: %zu measurements, %d iterations, %d evaluations, rms relative error "
           "%.2f%%\n", study_cal_chip(c)->name, n, fit->iterations, fit->evaluations,
           100 * sqrt(fit->chisq / (double)n));
    printf("efficiency:\n  gemm: %.4f\n  gemm_half_dim: %.1f\n", fit->chip.eff_gemm,
           fit->chip.gemm_half_dim);
    if (o->attention)
        printf("  attention: %.4f\n", fit->chip.eff_attention);
    for (size_t i = 0; i < n; i++) {
        study_cal_row r = study_cal_row_at(c, i);
        printf("  %-50s published %8.2f predicted %8.2f error %+6.2f%%\n", r.config,
               r.published, r.predicted, 100 * r.error);
    }
}

int cli_calibrate_main(int argc, char **argv)
{
    const char *file = NULL;
    study_cal_opts o = {.iterations = 15, .start_gemm = 0.7, .start_half_dim = 100,
                        .progress = progress};
    study_cal *c = NULL;
    study_cal_fit fit;
    sim_status st;
    sim_status_clear(&st);
    int rc = parse_args(argc, argv, &file, &o);
    if (rc != CAL_GO_ON)
        return rc;
    if (study_cal_load(file, &c, &st) != SIM_OK || study_cal_run(c, &o, &fit, &st) != SIM_OK) {
        rc = cli_report(&st);
    } else {
        print_fit(c, &o, &fit);
        rc = 0;
    }
    study_cal_destroy(c);
    return rc;
}
