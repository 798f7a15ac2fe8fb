/*
 * cmd_calibrate.c: `clustersim calibrate TARGETS`: fits a chip type's efficiency parameters
 * (efficiency.gemm, and with --attention efficiency.attention,
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
#include "study/crossval.h"

/* What the command does: the classic fit, replays on a grid, or the cross-validation. */
typedef enum cal_mode { CAL_FIT, CAL_CURVES, CAL_CROSSVAL } cal_mode;

typedef struct cal_args {
    const char *file;
    cal_mode mode;
    double grid[64];
    size_t k;
} cal_args;

static const char cal_usage[] =
    "usage: clustersim calibrate [--iterations N] [--start GEMM] [--attention]\n"
    "                            TARGETS\n"
    "       clustersim calibrate --curves ETA,ETA,... TARGETS\n"
    "       clustersim calibrate --cross-validate CURVES\n"
    "\n"
    "Fits efficiency.gemm (gemm_half_dim held at 0) of the chip type used by every config\n"
    "listed in TARGETS (lines 'CONFIG METRIC VALUE', metric mfu | hfu | tflops) by replaying\n"
    "them and minimizing the squared relative errors (GSL, Levenberg-Marquardt). Prints the\n"
    "fitted values and each row's error.\n"
    "\n"
    "  --attention   also fit efficiency.attention (fused attention), starting from the chip\n"
    "                file's value (0.5 without one); the configs must use flash attention\n"
    "\n"
    "--curves replays every row of TARGETS (lines 'CONFIG METRIC VALUE SOURCE', on any chip\n"
    "types) with efficiency.gemm = ETA x the chip's efficiency.matmul_max for each ETA, and\n"
    "prints a curves file. --cross-validate reads one and fits ETA, the one parameter all\n"
    "chips share, on every row (in-sample), on every row but one (leave one row out) and on\n"
    "every source but one (leave one source out), and prints each row's errors and the\n"
    "summary lines in_sample_*, loro_* and oos_* (the leave-one-source-out error).\n";

/* What parse_args returns when the calibration goes on (any other value is the exit
 * status). */
#define CAL_GO_ON (-1)

/* Parses argv into *file and *o. Returns CAL_GO_ON, or the exit status (0 after --help, else
 * after printing the error). */
/* Parses --curves' comma-separated grid into a. 0, or the exit status after the error. */
static int parse_grid(const char *arg, cal_args *a)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    int ok = strlen(arg) < sizeof buf;
    a->k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(tok, &end);
        ok = !*end && v > 0 && v <= 1 && a->k < 64 && (!a->k || v > a->grid[a->k - 1]);
        if (ok)
            a->grid[a->k++] = v;
    }
    return ok && a->k >= 3 ? 0 : cli_bad_value("calibrate", "--curves", "3 to 64 increasing "
                                               "values in (0, 1]", arg);
}

static int parse_args(int argc, char **argv, cal_args *a, study_cal_opts *o)
{
    static const char *const valued[] = {"--iterations N", "--start GEMM",
                                         "--curves ETA,ETA,...", NULL};
    const char **file = &a->file;
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
            char *end;
            o->start_gemm = strtod(argv[++i], &end);
            if (*end || !(o->start_gemm > 0) || !(o->start_gemm < 1)) {
                return cli_bad_value("calibrate", "--start", "an efficiency GEMM with "
                                     "0 < GEMM < 1", argv[i]);
            }
        } else if (!strcmp(argv[i], "--attention")) {
            o->attention = 1;
        } else if (!strcmp(argv[i], "--curves")) {
            if (parse_grid(argv[++i], a) != 0)
                return 2;
            a->mode = CAL_CURVES;
        } else if (!strcmp(argv[i], "--cross-validate")) {
            a->mode = CAL_CROSSVAL;
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
        fprintf(stderr, "clustersim calibrate: expected %s\n%s",
                a->mode == CAL_CROSSVAL ? "CURVES" : "TARGETS", cal_usage);
        return 2;
    }
    return CAL_GO_ON;
}

static void progress(int evaluation, const hw_chip *chip, void *user)
{
    (void)user;
    fprintf(stderr, "clustersim calibrate: evaluation %d: gemm %.4f, attention %.4f\n",
            evaluation, chip->eff_gemm,
            chip->eff_attention);
}

/* The fitted values in the chip file's syntax, then every row's error. */
static void print_fit(const study_cal *c, const study_cal_opts *o, const study_cal_fit *fit)
{
    size_t n = study_cal_rows(c);
    printf("chip %s: %zu measurements, %d iterations, %d evaluations, rms relative error "
           "%.2f%%\n", study_cal_chip(c)->name, n, fit->iterations, fit->evaluations,
           100 * sqrt(fit->chisq / (double)n));
    if (!fit->converged)
        printf("warning: the fit stopped at its limit of %d iterations before converging: "
               "the values below are its best point so far (raise --iterations)\n",
               o->iterations);
    printf("efficiency:\n  gemm: %.4f\n", fit->chip.eff_gemm);
    if (o->attention)
        printf("  attention: %.4f\n", fit->chip.eff_attention);
    for (size_t i = 0; i < n; i++) {
        study_cal_row r = study_cal_row_at(c, i);
        printf("  %-50s published %8.2f predicted %8.2f error %+6.2f%%\n", r.config,
               r.published, r.predicted, 100 * r.error);
    }
}

/* --curves: the curves file on stdout, after every row replayed at every grid point. */
static int run_curves(const cal_args *a)
{
    study_cal *c = NULL;
    double *v = NULL;
    sim_status st;
    sim_status_clear(&st);
    int rc = 0;
    if (study_cal_load_rows(a->file, &c, &st) != SIM_OK) {
        rc = cli_report(&st);
    } else if (!(v = malloc(study_cal_rows(c) * a->k * sizeof *v))) {
        fprintf(stderr, "clustersim calibrate: out of memory\n");
        rc = 1;
    } else if (study_cal_curves(c, a->grid, a->k, v, &st) != SIM_OK) {
        rc = cli_report(&st);
    } else {
        printf("# clustersim calibrate --curves: each row's prediction with efficiency.gemm = "
               "eta x efficiency.matmul_max\ngrid");
        for (size_t j = 0; j < a->k; j++)
            printf(" %.6g", a->grid[j]);
        printf("\n");
        for (size_t i = 0; i < study_cal_rows(c); i++) {
            study_cal_row r = study_cal_row_at(c, i);
            printf("row %s %s %s %.6g %.6g", r.config, r.source, r.chip, r.matmul_max,
                   r.published);
            for (size_t j = 0; j < a->k; j++)
                printf(" %.10g", v[i * a->k + j]);
            printf("\n");
        }
    }
    free(v);
    study_cal_destroy(c);
    return rc;
}

/* The summary line of one set of errors: PREFIX_median_abs_err_pct=... rows=N. */
static int print_summary(const char *prefix, const study_cv_set *s, size_t field)
{
    double *e = malloc(s->n * sizeof *e), med, max;
    sim_status st;
    if (!e)
        return 1;
    for (size_t i = 0; i < s->n; i++) {
        const study_cv_row *r = &s->rows[i];
        e[i] = 100 * (field == 0 ? r->fit_err : field == 1 ? r->loro_err : r->loso_err);
    }
    sim_code rc = study_cv_summary(e, s->n, &med, &max, &st);
    free(e);
    if (rc != SIM_OK)
        return cli_report(&st);
    printf("%s_median_abs_err_pct=%.2f %s_max_abs_err_pct=%.2f rows=%zu\n", prefix, med, prefix,
           max, s->n);
    return 0;
}

/* The fitted eta and what it makes of each chip's efficiency.gemm. */
static void print_eta(const study_cv_set *s, const study_cv_result *res)
{
    printf("fit on %zu rows from %zu sources: eta %.4f%s (efficiency.gemm = eta x "
           "matmul_max:", s->n, res->n_sources, res->eta,
           res->eta_edge ? ", AT THE GRID'S EDGE: widen the grid" : "");
    for (size_t i = 0; i < s->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(s->chip[j], s->chip[i]);
        if (!seen)
            printf(" %s %.4f", s->chip[i], res->eta * s->matmul_max[i]);
    }
    printf(")\n");
}

/* --cross-validate: every row's in-sample, leave-row-out and leave-source-out errors. */
static int run_crossval(const cal_args *a)
{
    study_cv_set s;
    study_cv_result res;
    sim_status st;
    sim_status_clear(&st);
    if (study_cv_load(a->file, &s, &st) != SIM_OK)
        return cli_report(&st);
    int rc = 0;
    if (study_cv_run(s.rows, s.n, s.grid, s.k, &res, &st) != SIM_OK) {
        rc = cli_report(&st);
    } else {
        print_eta(&s, &res);
        for (size_t i = 0; i < s.n; i++) {
            const study_cv_row *r = &s.rows[i];
            printf("%-44s %-18s published %8.2f in-sample %8.2f %+6.2f%% leave-row-out "
                   "%+6.2f%% leave-source-out %8.2f %+6.2f%% (eta %.4f)\n", r->name, r->source,
                   r->published, r->fit_pred, 100 * r->fit_err, 100 * r->loro_err, r->loso_pred,
                   100 * r->loso_err, r->loso_eta);
        }
        if (res.edge_folds)
            printf("warning: %d cross-validation folds stopped at an end of the grid\n",
                   res.edge_folds);
        rc = print_summary("in_sample", &s, 0);
        if (!rc)
            rc = print_summary("loro", &s, 1);
        if (!rc)
            rc = print_summary("oos", &s, 2);
    }
    study_cv_set_free(&s);
    return rc;
}

int cli_calibrate_main(int argc, char **argv)
{
    cal_args a = {0};
    study_cal_opts o = {.iterations = 15, .start_gemm = 0.7,
                        .progress = progress};
    study_cal *c = NULL;
    study_cal_fit fit;
    sim_status st;
    sim_status_clear(&st);
    int rc = parse_args(argc, argv, &a, &o);
    if (rc != CAL_GO_ON)
        return rc;
    if (a.mode == CAL_CURVES)
        return run_curves(&a);
    if (a.mode == CAL_CROSSVAL)
        return run_crossval(&a);
    if (study_cal_load(a.file, &c, &st) != SIM_OK || study_cal_run(c, &o, &fit, &st) != SIM_OK) {
        rc = cli_report(&st);
    } else {
        print_fit(c, &o, &fit);
        rc = 0;
    }
    study_cal_destroy(c);
    return rc;
}
