/*
 * calibrate.h: fits a chip type's efficiency.gemm (and optionally efficiency.attention, the
 * fused attention kernel's) to published measurements, by replaying their configs, with
 * nonlinear least squares on the relative errors (core/fit.h); and replays measurements on a
 * grid of GEMM efficiencies for the one-parameter fit and its cross-validation
 * (study/crossval.h). gemm_half_dim is held at 0: no data constrained it.
 *
 * A targets file has one measurement per line, "CONFIG METRIC VALUE [SOURCE]" ('#' starts
 * a comment): the config path, the metric (mfu or hfu in percent, or tflops: hardware TFLOP/s
 * per GPU counting recomputation), the published value and optionally the table it comes
 * from (the cross-validation's folds, study/crossval.h). Every config must run on the same
 * chip type. Each evaluation replays every config for one step (steps are identical in the
 * simulator: a warm-up step changes nothing), so a fit costs about 3 x (iterations + 1)
 * replays of the set.
 */
#ifndef SIM_STUDY_CALIBRATE_H
#define SIM_STUDY_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "hw/chip.h"

typedef struct study_cal study_cal;

/* One measurement, and after study_cal_run the prediction at the fitted point. */
typedef struct study_cal_row {
    const char *config; /* the config path as the targets file gives it */
    double published;   /* in the metric's unit */
    double predicted;   /* 0 before study_cal_run */
    double error;       /* (predicted - published) / published */
    const char *source; /* the line's SOURCE field, "-" without one */
    const char *chip;   /* the chip type it runs on */
    double matmul_max;  /* that chip's efficiency.matmul_max, 0 when it has none */
} study_cal_row;

/*
 * Reads the targets file at path and loads every config it names (as a one-step replay
 * without warm-up), setting *out to the set, owned by the caller until study_cal_destroy.
 * On failure *out is NULL.
 * Errors: SIM_ERR_INPUT for a file that cannot be opened, a line that is not 'CONFIG METRIC
 * VALUE' with metric mfu, hfu or tflops and a positive value (at its line), a config that
 * names no chip or another chip type than the lines before, no measurement at all; those of
 * plan_load for a config; SIM_ERR_NOMEM.
 */
sim_code study_cal_load(const char *path, study_cal **out, sim_status *st);

/* As study_cal_load, but the rows may run on different chip types (each keeps its own):
 * for study_cal_curves, not for study_cal_run. */
sim_code study_cal_load_rows(const char *path, study_cal **out, sim_status *st);

/* Replays every row once with its own chip as its file gives it, setting each row's
 * predicted and error. Errors: those of exec_run. */
sim_code study_cal_evaluate(study_cal *c, sim_status *st);

/*
 * Replays every row at each of the k points of grid (values in (0, 1]), with its own chip's
 * efficiency.gemm set to grid[j] x its efficiency.matmul_max and gemm_half_dim 0, and
 * writes row i's metric at grid[j] to out[i * k + j].
 * Errors: SIM_ERR_INPUT for a chip without matmul_max or a grid point outside (0, 1];
 * those of exec_run.
 */
sim_code study_cal_curves(study_cal *c, const double *grid, size_t k, double *out,
                          sim_status *st);

/* Frees c and its plans; accepts NULL. */
void study_cal_destroy(study_cal *c);

/* The chip the configs run on, as their topology gives it. */
const hw_chip *study_cal_chip(const study_cal *c);

/* The number of measurements (at least 1) and the i-th (a copy; strings live in c). */
size_t study_cal_rows(const study_cal *c);
study_cal_row study_cal_row_at(const study_cal *c, size_t i);

typedef struct study_cal_opts {
    int iterations;        /* the fit's most iterations, >= 1 */
    double start_gemm;     /* starting efficiency.gemm, in (0, 1) */
    int attention;         /* also fit efficiency.attention, starting from the chip's value
                              (0.5 when it has none) */
    /* Called after every evaluation of the set (may be NULL): its number from 1 and the
     * chip it replayed with (borrowed for the call). */
    void (*progress)(int evaluation, const hw_chip *chip, void *user);
    void *user;
} study_cal_opts;

typedef struct study_cal_fit {
    hw_chip chip;    /* the configs' chip with the fitted values */
    int iterations;  /* of the fit */
    int evaluations; /* of the whole set, the final one at the fitted point included */
    double chisq;    /* sum of the squared relative errors at the fitted point */
    bool converged;  /* false: the fit stopped at the iteration limit (its best point) */
} study_cal_fit;

/*
 * Fits the parameters o names to c's measurements and evaluates the set once more at the
 * fitted point, so that every row's predicted and error describe it; *fit gets the result.
 * Efficiencies stay within [4.5e-5, 0.99995] however far the fit steps; gemm_half_dim is 0.
 * c may be fitted again.
 * Errors: those of exec_run for a replay that fails (its status, not the fit's); those of
 * sim_fit_nls (SIM_ERR_INPUT with fewer measurements than parameters); SIM_ERR_NOMEM.
 */
sim_code study_cal_run(study_cal *c, const study_cal_opts *o, study_cal_fit *fit,
                       sim_status *st);

#endif
