/*
 * crossval.h: the one-parameter calibration and its cross-validation, on replayed curves.
 *
 * The model has one fitted parameter, eta: every chip's efficiency.gemm is eta times its
 * efficiency.matmul_max (the best GEMM a microbenchmark reaches on that chip, a cited
 * figure), so one number, shared by all chips, says how close a training step's GEMMs come
 * to the microbenchmark. Everything else is physical and fixed beforehand.
 *
 * A row is one published measurement with its prediction replayed at each eta of a grid
 * (study_cal_curves). Between grid points the prediction is interpolated: step time is
 * close to linear in 1/eta (compute time scales with it, the rest does not), so a cubic
 * spline of 1/prediction over 1/eta is accurate to far below the errors that matter; the
 * shipped values are checked by exact replays (analysis/validate.sh), never by the spline.
 *
 * The fit minimizes the sum of squared relative errors over the rows it is given, for eta
 * within the grid. Cross-validation refits without the held-out rows and predicts them:
 * leave one row out, and leave one source (a published table) out. The leave-one-source-out
 * error is the honest out-of-sample figure: the held-out table shaped nothing the model
 * predicts it with.
 */
#ifndef SIM_STUDY_CROSSVAL_H
#define SIM_STUDY_CROSSVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

typedef struct study_cv_row {
    const char *name;    /* the config */
    const char *source;  /* the published table it comes from: the leave-one-source-out fold */
    double published;    /* in the metric's unit */
    const double *curve; /* the prediction at each grid point (k values, > 0) */
    /* filled by study_cv_run: predictions and relative errors (pred - pub) / pub */
    double fit_pred, fit_err;   /* fitted on every row (in-sample) */
    double loro_pred, loro_err; /* fitted on every other row */
    double loso_pred, loso_err; /* fitted on the other sources' rows */
    double loso_eta;            /* the eta its source's fold found */
} study_cv_row;

typedef struct study_cv_result {
    double eta;     /* fitted on every row */
    bool eta_edge;  /* that fit stopped at an end of the grid: widen it */
    size_t n_sources;
    int edge_folds; /* cross-validation folds whose fit stopped at an end of the grid */
} study_cv_result;

/*
 * Fits eta on the rows with use[i] (all rows when use is NULL) and sets *eta; *edge (may be
 * NULL) says whether the best eta lies at an end of the grid. grid holds k >= 3 increasing
 * values in (0, 1]. Errors: SIM_ERR_INPUT for fewer than 3 grid points, a grid not
 * increasing, no row to fit, a curve value not > 0; SIM_ERR_NOMEM.
 */
sim_code study_cv_fit(const study_cv_row *rows, size_t n, const bool *use, const double *grid,
                      size_t k, double *eta, bool *edge, sim_status *st);

/* Row r's interpolated prediction at eta (clamped to the grid). Same errors as above. */
sim_code study_cv_predict(const study_cv_row *r, const double *grid, size_t k, double eta,
                          double *pred, sim_status *st);

/* The full fit and both cross-validations; fills every row's predictions and *res. A
 * source that holds every row cannot be left out: SIM_ERR_INPUT. */
sim_code study_cv_run(study_cv_row *rows, size_t n, const double *grid, size_t k,
                      study_cv_result *res, sim_status *st);

/* The median and the largest of |v[i]|, in v's unit. SIM_ERR_INPUT for n == 0;
 * SIM_ERR_NOMEM. */
sim_code study_cv_summary(const double *v, size_t n, double *median, double *max,
                          sim_status *st);

/*
 * A curves file, as `clustersim calibrate --curves` writes it: '#' starts a comment; one or
 * more identical lines "grid ETA..." (k >= 3 increasing values), and one line per row:
 * "row CONFIG SOURCE CHIP MATMUL_MAX PUBLISHED V1 ... Vk".
 */
typedef struct study_cv_set {
    size_t n, k;
    double *grid;      /* k */
    study_cv_row *rows; /* n; names, sources and curves point into the set */
    char **chip;       /* n: the chip each row runs on */
    double *matmul_max; /* n */
    size_t cap;         /* rows allocated in each of the three arrays */
} study_cv_set;

/* Reads path into *out (freed by study_cv_set_free). Errors: SIM_ERR_INPUT naming the line
 * for a file that cannot be read, a line of another kind, grid lines that differ, a row
 * before the grid or with another number of values than the grid, no row; SIM_ERR_NOMEM. */
sim_code study_cv_load(const char *path, study_cv_set *out, sim_status *st);
void study_cv_set_free(study_cv_set *s);

#endif
