/*
 * fit.c: a thin wrapper of gsl_multifit_nlinear (trust region, Levenberg-Marquardt steps,
 * finite-difference Jacobian). The residual callback's failure is carried out through the
 * context, since GSL only sees an error code.
 */
#include "core/fit.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_spline.h>
#include <stdlib.h>

typedef struct fit_ctx {
    sim_fit_fn fn;
    void *user;
    double *xbuf, *rbuf;
    int failed;
} fit_ctx;

static int residuals(const gsl_vector *x, void *params, gsl_vector *f)
{
    fit_ctx *c = params;
    for (size_t i = 0; i < x->size; i++)
        c->xbuf[i] = gsl_vector_get(x, i);
    if (c->fn(c->xbuf, x->size, c->rbuf, f->size, c->user) != 0) {
        c->failed = 1;
        return GSL_EBADFUNC;
    }
    for (size_t i = 0; i < f->size; i++)
        gsl_vector_set(f, i, c->rbuf[i]);
    return GSL_SUCCESS;
}

sim_code sim_fit_nls(sim_fit_fn fn, void *user, size_t n, size_t p, double *x, int max_iter,
                     double *chisq, int *iters, bool *converged, sim_status *st)
{
    if (n < p || p == 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "a fit of %zu parameters needs at least as many measurements, "
                              "found %zu", p, n);
    fit_ctx c = {fn, user, malloc(p * sizeof(double)), malloc(n * sizeof(double)), 0};
    gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
    /* Finite differences of 1e-4 relative, not GSL's sqrt(DBL_EPSILON): a simulator's
     * answer is a step function at the resolution of its clock (integer picoseconds per
     * op), so a step of 1e-8 moves a short op by less than a picosecond and its derivative
     * reads 0. */
    fp.h_df = 1e-4;
    gsl_multifit_nlinear_workspace *w =
        c.xbuf && c.rbuf ? gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, n, p)
                         : NULL;
    gsl_vector *x0 = gsl_vector_alloc(p);
    sim_code rc = SIM_OK;
    if (!w || !x0) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for a fit");
        goto done;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    for (size_t i = 0; i < p; i++)
        gsl_vector_set(x0, i, x[i]);
    gsl_multifit_nlinear_fdf fdf = {.f = residuals, .df = NULL, .fvv = NULL, .n = n, .p = p,
                                    .params = &c};
    int info = 0;
    int status = gsl_multifit_nlinear_init(x0, &fdf, w);
    if (status == GSL_SUCCESS)
        status = gsl_multifit_nlinear_driver((size_t)max_iter, 1e-4, 1e-6, 1e-6, NULL, NULL,
                                             &info, w);
    gsl_set_error_handler(old);
    if (c.failed) {
        rc = sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0,
                            "the residual function failed during the fit");
        goto done;
    }
    if (status != GSL_SUCCESS && status != GSL_EMAXITER) {
        rc = sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0, "the fit failed: %s",
                            gsl_strerror(status));
        goto done;
    }
    gsl_vector *best = gsl_multifit_nlinear_position(w);
    for (size_t i = 0; i < p; i++)
        x[i] = gsl_vector_get(best, i);
    if (chisq) {
        double d = 0;
        gsl_blas_ddot(gsl_multifit_nlinear_residual(w), gsl_multifit_nlinear_residual(w), &d);
        *chisq = d;
    }
    if (iters)
        *iters = (int)gsl_multifit_nlinear_niter(w);
    if (converged)
        *converged = status == GSL_SUCCESS;
done:
    gsl_vector_free(x0);
    if (w)
        gsl_multifit_nlinear_free(w);
    free(c.xbuf);
    free(c.rbuf);
    return rc;
}

struct sim_spline {
    gsl_spline *sp;
    double lo, hi;
};

sim_spline *sim_spline_new(const double *x, const double *y, size_t n)
{
    if (n < 3)
        return NULL;
    for (size_t i = 1; i < n; i++)
        if (!(x[i] > x[i - 1]))
            return NULL;
    sim_spline *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    s->sp = gsl_spline_alloc(gsl_interp_cspline, n);
    if (!s->sp || gsl_spline_init(s->sp, x, y, n) != GSL_SUCCESS) {
        gsl_set_error_handler(old);
        sim_spline_free(s);
        return NULL;
    }
    gsl_set_error_handler(old);
    s->lo = x[0];
    s->hi = x[n - 1];
    return s;
}

double sim_spline_eval(const sim_spline *s, double xq)
{
    xq = xq < s->lo ? s->lo : xq > s->hi ? s->hi : xq;
    return gsl_spline_eval(s->sp, xq, NULL);
}

void sim_spline_free(sim_spline *s)
{
    if (!s)
        return;
    if (s->sp)
        gsl_spline_free(s->sp);
    free(s);
}
