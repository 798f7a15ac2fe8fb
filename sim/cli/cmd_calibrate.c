/*
 * cmd_calibrate.c: `clustersim calibrate TARGETS`: fits a chip type's efficiency parameters
 * (efficiency.gemm and efficiency.gemm_half_dim, and with --attention efficiency.attention,
 * the fused attention kernel's) to published measurements by replaying
 * their configs, with nonlinear least squares on the relative errors (core/fit.h).
 *
 * TARGETS has one measurement per line, "CONFIG METRIC VALUE" ('#' starts a comment): the
 * config path, the metric (mfu or hfu in percent, or tflops: hardware TFLOP/s per GPU counting
 * recomputation) and the published value. Every config must run on the same chip type. Each
 * evaluation replays every config for one step (steps are identical in the simulator: a
 * warm-up step changes nothing), so a fit costs about 3 x (iterations + 1) replays of the set.
 * The fitted values are printed in the chip file's syntax, with the error of every row; they
 * are not written anywhere: copy them into topologies/chips/ with the command that made them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/fit.h"
#include "exec/exec.h"
#include "workload/plan.h"

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

typedef struct target {
    plan *p;
    int metric; /* 0 mfu, 1 hfu, 2 tflops */
    double value, pred;
    char name[512];
} target;

typedef struct cal {
    target *t;
    size_t n;
    hw_chip chip;
    int evals;
    sim_status st;
} cal;

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v; /* a NaN stays NaN and fails the run */
}

/* x: logit of gemm, log of gemm_half_dim, and with np == 3 the logit of attention. A long
 * Levenberg-Marquardt step can throw x far out; the clamps keep every efficiency within
 * [4.5e-5, 0.99995] and gemm_half_dim within [4.5e-5, 1e6] (what a chip file accepts), where
 * the replay's op times stay finite, instead of asking it for an op at an efficiency of
 * zero. */
static void params_of(const double *x, size_t np, hw_chip *c)
{
    c->eff_gemm = 1.0 / (1.0 + exp(-clamp(x[0], -10, 10)));
    c->gemm_half_dim = fmin(exp(clamp(x[1], -10, log(1e6))), 1e6);
    if (np == 3)
        c->eff_attention = 1.0 / (1.0 + exp(-clamp(x[2], -10, 10)));
}

static int residuals(const double *x, size_t np, double *r, size_t n, void *user)
{
    cal *c = user;
    hw_chip chip = c->chip;
    params_of(x, np, &chip);
    exec_opts opts = {.chip = &chip};
    for (size_t i = 0; i < n; i++) {
        target *t = &c->t[i];
        exec_result res;
        if (exec_run(t->p, &opts, &res, &c->st) != SIM_OK)
            return 1;
        double v = t->metric == 0   ? 100 * res.mfu
                   : t->metric == 1 ? 100 * res.hfu
                                    : wl_hardware_flops_per_step(plan_workload(t->p),
                                                                 plan_parallel(t->p)) /
                                          res.step_time_s / (double)plan_ranks(t->p) / 1e12;
        exec_result_free(&res);
        t->pred = v;
        r[i] = (v - t->value) / t->value;
    }
    c->evals++;
    fprintf(stderr, "clustersim calibrate: evaluation %d: gemm %.4f, gemm_half_dim %.1f, "
                    "attention %.4f\n", c->evals, chip.eff_gemm, chip.gemm_half_dim,
            chip.eff_attention);
    return 0;
}

static sim_code load_targets(const char *path, cal *c, sim_status *st)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "cannot open '%s'", path);
    char line[1024];
    int lineno = 0;
    sim_code rc = SIM_OK;
    while (rc == SIM_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char cfg[512], metric[32];
        double value;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        int got = sscanf(line, "%511s %31s %lf", cfg, metric, &value);
        if (got <= 0)
            continue;
        int m = !strcmp(metric, "mfu") ? 0 : !strcmp(metric, "hfu") ? 1
                : !strcmp(metric, "tflops") ? 2 : -1;
        if (got != 3 || m < 0 || !(value > 0)) {
            rc = sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                                "expected 'CONFIG METRIC VALUE' with metric mfu, hfu or "
                                "tflops and a positive value");
            break;
        }
        target *nt = realloc(c->t, (c->n + 1) * sizeof *nt);
        if (!nt) {
            rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
            break;
        }
        c->t = nt;
        target *t = &c->t[c->n];
        memset(t, 0, sizeof *t);
        t->metric = m;
        t->value = value;
        snprintf(t->name, sizeof t->name, "%s", cfg);
        rc = plan_load(cfg, NULL, 0, &t->p, st);
        if (rc != SIM_OK)
            break;
        c->n++;
        plan_set_steps(t->p, 0, 1);
        const hw_chip *chip = topo_chip_hw(plan_topo(t->p), 0);
        if (!chip) {
            rc = sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0, "'%s' names no chip", cfg);
        } else if (c->n == 1) {
            c->chip = *chip;
        } else if (strcmp(chip->name, c->chip.name)) {
            rc = sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                                "'%s' runs on %s, the rows before on %s: calibrate one chip "
                                "type at a time", cfg, chip->name, c->chip.name);
        }
    }
    fclose(f);
    if (rc == SIM_OK && c->n == 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "no measurements in '%s'", path);
    return rc;
}

int cli_calibrate_main(int argc, char **argv)
{
    const char *file = NULL;
    int iters = 15, fit_attention = 0;
    double start[2] = {0.7, 100};
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
            iters = (int)v;
            i++;
        } else if (!strcmp(argv[i], "--start")) {
            if (sscanf(argv[++i], "%lf,%lf", &start[0], &start[1]) != 2 || !(start[0] > 0) ||
                !(start[0] < 1) || !(start[1] > 0)) {
                fprintf(stderr, "clustersim calibrate: --start expects GEMM,HALF_DIM with "
                                "0 < GEMM < 1 and HALF_DIM > 0\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--attention")) {
            fit_attention = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim calibrate: unknown option '%s'\n%s", argv[i], cal_usage);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "clustersim calibrate: unexpected argument '%s'\n%s", argv[i],
                    cal_usage);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "clustersim calibrate: expected TARGETS\n%s", cal_usage);
        return 2;
    }
    cal c;
    memset(&c, 0, sizeof c);
    sim_status st;
    sim_status_clear(&st);
    int rc = 0;
    double x[3] = {log(start[0] / (1 - start[0])), log(start[1]), 0}, chisq = 0, *r = NULL;
    size_t np = fit_attention ? 3 : 2;
    int it = 0;
    sim_code lrc = load_targets(file, &c, &st);
    if (lrc == SIM_OK && fit_attention) {
        double a = c.chip.eff_attention > 0 && c.chip.eff_attention < 1 ? c.chip.eff_attention
                                                                        : 0.5;
        x[2] = log(a / (1 - a));
    }
    if (lrc != SIM_OK || sim_fit_nls(residuals, &c, c.n, np, x, iters, &chisq, &it, &st) != SIM_OK) {
        if (st.code == SIM_ERR_INTERNAL && c.st.code != SIM_OK)
            st = c.st;
        rc = cli_report(&st);
    } else if (!(r = malloc(c.n * sizeof *r)) || residuals(x, np, r, c.n, &c) != 0) {
        /* the predictions at the fitted point */
        if (!r)
            sim_status_set(&c.st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        rc = cli_report(&c.st);
    } else {
        hw_chip fit = c.chip;
        params_of(x, np, &fit);
        printf("chip %s: %zu measurements, %d iterations, %d evaluations, rms relative error "
               "%.2f%%\n", c.chip.name, c.n, it, c.evals, 100 * sqrt(chisq / (double)c.n));
        printf("efficiency:\n  gemm: %.4f\n  gemm_half_dim: %.1f\n", fit.eff_gemm,
               fit.gemm_half_dim);
        if (fit_attention)
            printf("  attention: %.4f\n", fit.eff_attention);
        for (size_t i = 0; i < c.n; i++)
            printf("  %-50s published %8.2f predicted %8.2f error %+6.2f%%\n", c.t[i].name,
                   c.t[i].value, c.t[i].pred, 100 * r[i]);
    }
    for (size_t i = 0; i < c.n; i++)
        plan_destroy(c.t[i].p);
    free(c.t);
    free(r);
    return rc;
}
