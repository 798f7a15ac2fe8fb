/*
 * fit.h: nonlinear least squares (GSL's trust-region Levenberg-Marquardt), for calibrating
 * model parameters against measurements, and cubic splines to interpolate between replays.
 * The only module besides the RNG that includes GSL.
 */
#ifndef SIM_FIT_H
#define SIM_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

/* Writes the n residuals at parameters x[0..p) into r; returns 0, or nonzero to abort. */
typedef int (*sim_fit_fn)(const double *x, size_t p, double *r, size_t n, void *user);

/*
 * Minimizes the sum of squared residuals of fn over x (p parameters, n >= p residuals),
 * starting from x, which receives the best point. The Jacobian is taken by forward
 * differences. *chisq (may be NULL) gets the final sum of squares, *iters the iterations,
 * *converged (may be NULL) whether the tolerances were met before max_iter ran out (a fit
 * that stopped at the limit still returns its best point: the caller must say so).
 * Errors: SIM_ERR_INPUT for n < p; SIM_ERR_INTERNAL when fn aborts or GSL fails (the
 * message says which).
 */
sim_code sim_fit_nls(sim_fit_fn fn, void *user, size_t n, size_t p, double *x, int max_iter,
                     double *chisq, int *iters, bool *converged, sim_status *st);

/*
 * A natural cubic spline through n >= 3 points (x strictly increasing): GSL's cspline.
 * sim_spline_new copies the points; NULL when out of memory or the points are invalid.
 * sim_spline_eval is exact at the points and clamps xq to [x[0], x[n-1]].
 */
typedef struct sim_spline sim_spline;
sim_spline *sim_spline_new(const double *x, const double *y, size_t n);
double sim_spline_eval(const sim_spline *s, double xq);
void sim_spline_free(sim_spline *s);

#endif
