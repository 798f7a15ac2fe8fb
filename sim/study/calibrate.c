/*
 * calibrate.c: fits a chip type's efficiency parameters to published measurements (see
 * calibrate.h).
 *
 * The fit works on unbounded parameters: x[0] is the logit of efficiency.gemm and, when
 * fitting attention, x[1] the logit of efficiency.attention, so
 * every x the solver tries maps to a valid chip. The residuals are relative errors, so a
 * measurement of 40% MFU and one of 400 TFLOP/s weigh alike. Each evaluation replays every
 * config with the candidate chip in place of the topology's (exec_opts.chip); a replay that
 * fails aborts the fit, and its status is kept in the set to be reported instead of the
 * solver's "aborted".
 */
#include "study/calibrate.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fit.h"
#include "core/vec.h"
#include "exec/exec.h"
#include "workload/plan.h"

typedef enum cal_metric { CAL_MFU, CAL_HFU, CAL_TFLOPS } cal_metric;

typedef struct target {
    plan *p;
    cal_metric metric;
    double value, pred, err;
    char name[512];
    char source[64]; /* the line's fourth field, "-" when it has none */
    hw_chip chip;    /* the chip its topology names */
} target;

struct study_cal {
    SIM_VEC(target) t; /* the measurements whose configs loaded */
    bool any_chip;     /* rows may run on different chip types (study_cal_load_rows) */
    hw_chip chip;
    int evals;
    const study_cal_opts *o; /* during study_cal_run */
    sim_status st;           /* a replay's failure during a fit */
};

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v; /* a NaN stays NaN and fails the run */
}

/* x: logit of gemm, and with np == 2 the logit of attention; gemm_half_dim is 0 (the data
 * never constrained it: fits drove it to a bound). A long Levenberg-Marquardt step can throw
 * x far out; the clamps keep every efficiency within [4.5e-5, 0.99995], where the replay's
 * op times stay finite, instead of asking it for an op at an efficiency of zero. */
static void params_of(const double *x, size_t np, hw_chip *c)
{
    c->eff_gemm = 1.0 / (1.0 + exp(-clamp(x[0], -10, 10)));
    c->gemm_half_dim = 0;
    if (np == 2)
        c->eff_attention = 1.0 / (1.0 + exp(-clamp(x[1], -10, 10)));
}

/* Replays t with chip in place of its topology's and sets *v to t's metric. */
static sim_code replay(study_cal *c, target *t, const hw_chip *chip, double *v)
{
    exec_opts opts = {.chip = chip};
    exec_result res;
    sim_code rc = exec_run(t->p, &opts, &res, &c->st);
    if (rc != SIM_OK)
        return rc;
    *v = t->metric == CAL_MFU   ? 100 * res.mfu
         : t->metric == CAL_HFU ? 100 * res.hfu
                                : wl_hardware_flops_per_step(plan_workload(t->p),
                                                             plan_parallel(t->p)) /
                                      res.step_time_s / (double)plan_ranks(t->p) / 1e12;
    exec_result_free(&res);
    return SIM_OK;
}

static int residuals(const double *x, size_t np, double *r, size_t n, void *user)
{
    study_cal *c = user;
    hw_chip chip = c->chip;
    params_of(x, np, &chip);
    for (size_t i = 0; i < n; i++) {
        target *t = &c->t.v[i];
        if (replay(c, t, &chip, &t->pred) != SIM_OK)
            return 1;
        r[i] = (t->pred - t->value) / t->value;
    }
    c->evals++;
    if (c->o && c->o->progress)
        c->o->progress(c->evals, &chip, c->o->user);
    return 0;
}

/* Adds the measurement of config cfg (line lineno of the targets file path) to c. */
static sim_code add_target(study_cal *c, const char *path, int lineno, const char *cfg,
                           cal_metric m, double value, const char *source, sim_status *st)
{
    if (sim_vec_reserve(&c->t, c->t.n + 1) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
    target *t = &c->t.v[c->t.n]; /* counted once its plan is loaded */
    memset(t, 0, sizeof *t);
    t->metric = m;
    t->value = value;
    snprintf(t->name, sizeof t->name, "%s", cfg);
    snprintf(t->source, sizeof t->source, "%s", source);
    sim_code rc = plan_load(cfg, NULL, 0, &t->p, st);
    if (rc != SIM_OK)
        return rc;
    c->t.n++;
    plan_set_steps(t->p, 0, 1);
    const hw_chip *chip = topo_chip_hw(plan_topo(t->p), 0);
    if (!chip)
        return sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0, "'%s' names no chip", cfg);
    t->chip = *chip;
    if (c->t.n == 1)
        c->chip = *chip;
    else if (!c->any_chip && strcmp(chip->name, c->chip.name))
        return sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                              "'%s' runs on %s, the rows before on %s: calibrate one chip "
                              "type at a time", cfg, chip->name, c->chip.name);
    return SIM_OK;
}

static sim_code load_targets(const char *path, study_cal *c, sim_status *st)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "cannot open '%s'", path);
    char line[1024];
    int lineno = 0;
    sim_code rc = SIM_OK;
    while (rc == SIM_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char cfg[512], metric[32], source[64] = "-", extra[2];
        double value;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        int got = sscanf(line, "%511s %31s %lf %63s %1s", cfg, metric, &value, source, extra);
        if (got <= 0)
            continue;
        int m = !strcmp(metric, "mfu") ? CAL_MFU : !strcmp(metric, "hfu") ? CAL_HFU
                : !strcmp(metric, "tflops") ? CAL_TFLOPS : -1;
        if ((got != 3 && got != 4) || m < 0 || !(value > 0))
            rc = sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                                "expected 'CONFIG METRIC VALUE [SOURCE]' with metric mfu, hfu "
                                "or tflops and a positive value");
        else
            rc = add_target(c, path, lineno, cfg, (cal_metric)m, value, source, st);
    }
    fclose(f);
    if (rc == SIM_OK && c->t.n == 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "no measurements in '%s'", path);
    return rc;
}

static sim_code load(const char *path, bool any_chip, study_cal **out, sim_status *st)
{
    *out = NULL;
    study_cal *c = calloc(1, sizeof *c);
    if (!c)
        return sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
    c->any_chip = any_chip;
    sim_code rc = load_targets(path, c, st);
    if (rc != SIM_OK)
        study_cal_destroy(c);
    else
        *out = c;
    return rc;
}

sim_code study_cal_load(const char *path, study_cal **out, sim_status *st)
{
    return load(path, false, out, st);
}

sim_code study_cal_load_rows(const char *path, study_cal **out, sim_status *st)
{
    return load(path, true, out, st);
}

void study_cal_destroy(study_cal *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->t.n; i++)
        plan_destroy(c->t.v[i].p);
    sim_vec_free(&c->t);
    free(c);
}

const hw_chip *study_cal_chip(const study_cal *c)
{
    return &c->chip;
}

size_t study_cal_rows(const study_cal *c)
{
    return c->t.n;
}

study_cal_row study_cal_row_at(const study_cal *c, size_t i)
{
    const target *t = &c->t.v[i];
    return (study_cal_row){t->name, t->value, t->pred, t->err, t->source, t->chip.name,
                           t->chip.matmul_max};
}

sim_code study_cal_evaluate(study_cal *c, sim_status *st)
{
    sim_status_clear(&c->st);
    for (size_t i = 0; i < c->t.n; i++) {
        target *t = &c->t.v[i];
        if (replay(c, t, &t->chip, &t->pred) != SIM_OK) {
            *st = c->st;
            return st->code;
        }
        t->err = (t->pred - t->value) / t->value;
    }
    return SIM_OK;
}

sim_code study_cal_curves(study_cal *c, const double *grid, size_t k, double *out,
                          sim_status *st)
{
    sim_status_clear(&c->st);
    for (size_t j = 0; j < k; j++)
        if (!(grid[j] > 0 && grid[j] <= 1))
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                  "grid point %g is not in (0, 1]", grid[j]);
    for (size_t i = 0; i < c->t.n; i++) {
        target *t = &c->t.v[i];
        if (!(t->chip.matmul_max > 0))
            return sim_status_set(st, SIM_ERR_INPUT, t->name, 0, 0,
                                  "chip '%s' has no efficiency.matmul_max: the fit scales "
                                  "efficiency.gemm from it", t->chip.name);
        for (size_t j = 0; j < k; j++) {
            hw_chip chip = t->chip;
            chip.eff_gemm = grid[j] * chip.matmul_max;
            chip.gemm_half_dim = 0;
            if (replay(c, t, &chip, &out[i * k + j]) != SIM_OK) {
                *st = c->st;
                return st->code;
            }
        }
    }
    return SIM_OK;
}

sim_code study_cal_run(study_cal *c, const study_cal_opts *o, study_cal_fit *fit,
                       sim_status *st)
{
    for (size_t i = 1; i < c->t.n; i++)
        if (strcmp(c->t.v[i].chip.name, c->chip.name))
            return sim_status_set(st, SIM_ERR_INPUT, c->t.v[i].name, 0, 0,
                                  "runs on %s, the rows before on %s: calibrate one chip type "
                                  "at a time", c->t.v[i].chip.name, c->chip.name);
    double x[2] = {log(o->start_gemm / (1 - o->start_gemm)), 0};
    size_t np = o->attention ? 2 : 1;
    double *r = NULL;
    memset(fit, 0, sizeof *fit);
    sim_status_clear(&c->st);
    c->evals = 0;
    c->o = o;
    if (o->attention) {
        double a = c->chip.eff_attention > 0 && c->chip.eff_attention < 1 ? c->chip.eff_attention
                                                                          : 0.5;
        x[1] = log(a / (1 - a));
    }
    sim_code rc = sim_fit_nls(residuals, c, c->t.n, np, x, o->iterations, &fit->chisq,
                              &fit->iterations, &fit->converged, st);
    if (rc != SIM_OK) {
        if (st->code == SIM_ERR_INTERNAL && c->st.code != SIM_OK)
            *st = c->st; /* a replay failed: its reason, not the solver's */
        goto done;
    }
    /* the predictions at the fitted point */
    if (!(r = malloc(c->t.n * sizeof *r))) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    if (residuals(x, np, r, c->t.n, c) != 0) {
        *st = c->st;
        rc = st->code;
        goto done;
    }
    for (size_t i = 0; i < c->t.n; i++)
        c->t.v[i].err = r[i];
    fit->chip = c->chip;
    params_of(x, np, &fit->chip);
    fit->evaluations = c->evals;
done:
    c->o = NULL;
    free(r);
    return rc;
}
