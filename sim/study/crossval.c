/*
 * crossval.c: the one-parameter fit on replayed curves and its cross-validation (see
 * crossval.h). Each row's curve becomes a cubic spline of 1/prediction over 1/eta, built
 * once per call; a fit scans the grid's range finely and refines the best cell by golden
 * section, so an objective with a flat stretch or a minimum at the edge never misleads it.
 */
#include "study/crossval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fit.h"
#include "core/vec.h"

#define SCAN_POINTS 400
#define GOLDEN_TOL 1e-7

typedef struct cv {
    const study_cv_row *rows;
    size_t n;
    const double *grid;
    size_t k;
    sim_spline **sp; /* per row */
} cv;

static sim_code check_grid(const double *grid, size_t k, sim_status *st)
{
    if (k < 3)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "the grid needs at least 3 points, found %zu", k);
    for (size_t j = 0; j < k; j++)
        if (!(grid[j] > 0 && grid[j] <= 1) || (j && !(grid[j] > grid[j - 1])))
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                  "the grid must increase within (0, 1]: point %zu is %g", j + 1,
                                  grid[j]);
    return SIM_OK;
}

/* The spline of row r: 1/prediction over 1/eta, abscissae increasing. */
static sim_code spline_of(const study_cv_row *r, const double *grid, size_t k, sim_spline **out,
                          sim_status *st)
{
    double x[64], y[64];
    if (k > 64)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "the grid has %zu points, at most 64 are supported", k);
    for (size_t j = 0; j < k; j++) {
        if (!(r->curve[j] > 0))
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                  "row '%s': prediction %g at eta %g is not > 0", r->name,
                                  r->curve[j], grid[j]);
        x[k - 1 - j] = 1 / grid[j];
        y[k - 1 - j] = 1 / r->curve[j];
    }
    *out = sim_spline_new(x, y, k);
    return *out ? SIM_OK : sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

static void cv_free(cv *c)
{
    for (size_t i = 0; c->sp && i < c->n; i++)
        sim_spline_free(c->sp[i]);
    free(c->sp);
    c->sp = NULL;
}

static sim_code cv_init(cv *c, const study_cv_row *rows, size_t n, const double *grid, size_t k,
                        sim_status *st)
{
    *c = (cv){rows, n, grid, k, NULL};
    sim_code rc = check_grid(grid, k, st);
    if (rc != SIM_OK)
        return rc;
    if (!(c->sp = calloc(n ? n : 1, sizeof *c->sp)))
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; rc == SIM_OK && i < n; i++)
        rc = spline_of(&rows[i], grid, k, &c->sp[i], st);
    if (rc != SIM_OK)
        cv_free(c);
    return rc;
}

static double pred_at(const cv *c, size_t i, double eta)
{
    return 1 / sim_spline_eval(c->sp[i], 1 / eta);
}

static double objective(const cv *c, const bool *use, double eta)
{
    double sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (use && !use[i])
            continue;
        double e = (pred_at(c, i, eta) - c->rows[i].published) / c->rows[i].published;
        sum += e * e;
    }
    return sum;
}

/* The eta in [grid[0], grid[k-1]] that minimizes the objective over the used rows. */
static double best_eta(const cv *c, const bool *use, bool *edge)
{
    double lo = c->grid[0], hi = c->grid[c->k - 1], step = (hi - lo) / SCAN_POINTS;
    int best = 0;
    double fbest = INFINITY;
    for (int j = 0; j <= SCAN_POINTS; j++) {
        double f = objective(c, use, lo + j * step);
        if (f < fbest) {
            fbest = f;
            best = j;
        }
    }
    double a = lo + (best > 0 ? best - 1 : 0) * step;
    double b = lo + (best < SCAN_POINTS ? best + 1 : SCAN_POINTS) * step;
    const double g = (sqrt(5) - 1) / 2;
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = objective(c, use, x1), f2 = objective(c, use, x2);
    while (b - a > GOLDEN_TOL) {
        if (f1 <= f2) {
            b = x2, x2 = x1, f2 = f1;
            x1 = b - g * (b - a), f1 = objective(c, use, x1);
        } else {
            a = x1, x1 = x2, f1 = f2;
            x2 = a + g * (b - a), f2 = objective(c, use, x2);
        }
    }
    double eta = (a + b) / 2;
    if (objective(c, use, lo) <= objective(c, use, eta))
        eta = lo;
    if (objective(c, use, hi) < objective(c, use, eta))
        eta = hi;
    if (edge)
        *edge = eta - lo < 2 * GOLDEN_TOL || hi - eta < 2 * GOLDEN_TOL;
    return eta;
}

static sim_code fit_with(const cv *c, const bool *use, double *eta, bool *edge, sim_status *st)
{
    size_t used = 0;
    for (size_t i = 0; i < c->n; i++)
        used += !use || use[i];
    if (!used)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "no row to fit");
    *eta = best_eta(c, use, edge);
    return SIM_OK;
}

sim_code study_cv_fit(const study_cv_row *rows, size_t n, const bool *use, const double *grid,
                      size_t k, double *eta, bool *edge, sim_status *st)
{
    cv c;
    sim_code rc = cv_init(&c, rows, n, grid, k, st);
    if (rc == SIM_OK)
        rc = fit_with(&c, use, eta, edge, st);
    cv_free(&c);
    return rc;
}

sim_code study_cv_predict(const study_cv_row *r, const double *grid, size_t k, double eta,
                          double *pred, sim_status *st)
{
    cv c;
    sim_code rc = cv_init(&c, r, 1, grid, k, st);
    if (rc == SIM_OK)
        *pred = pred_at(&c, 0, eta);
    cv_free(&c);
    return rc;
}

static void predict_row(const cv *c, size_t i, double eta, double *pred, double *err)
{
    *pred = pred_at(c, i, eta);
    *err = (*pred - c->rows[i].published) / c->rows[i].published;
}

/* Leave-one-source-out: one fold per distinct source, in order of first appearance. */
static sim_code by_source(cv *c, study_cv_row *rows, bool *use, study_cv_result *res,
                          sim_status *st)
{
    for (size_t i = 0; i < c->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(rows[j].source, rows[i].source);
        if (seen)
            continue;
        res->n_sources++;
        size_t left = 0;
        for (size_t j = 0; j < c->n; j++)
            left += (use[j] = strcmp(rows[j].source, rows[i].source) != 0);
        if (!left)
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                                  "every row comes from source '%s': nothing is left to fit "
                                  "when it is left out", rows[i].source);
        double eta;
        bool edge;
        sim_code rc = fit_with(c, use, &eta, &edge, st);
        if (rc != SIM_OK)
            return rc;
        res->edge_folds += edge;
        for (size_t j = 0; j < c->n; j++)
            if (!use[j]) {
                predict_row(c, j, eta, &rows[j].loso_pred, &rows[j].loso_err);
                rows[j].loso_eta = eta;
            }
    }
    return SIM_OK;
}

sim_code study_cv_run(study_cv_row *rows, size_t n, const double *grid, size_t k,
                      study_cv_result *res, sim_status *st)
{
    memset(res, 0, sizeof *res);
    cv c;
    sim_code rc = cv_init(&c, rows, n, grid, k, st);
    if (rc != SIM_OK)
        return rc;
    bool *use = malloc((n ? n : 1) * sizeof *use);
    if (!use)
        rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (rc == SIM_OK)
        rc = fit_with(&c, NULL, &res->eta, &res->eta_edge, st);
    for (size_t i = 0; rc == SIM_OK && i < n; i++)
        predict_row(&c, i, res->eta, &rows[i].fit_pred, &rows[i].fit_err);
    for (size_t i = 0; rc == SIM_OK && i < n && n > 1; i++) { /* leave row i out */
        for (size_t j = 0; j < n; j++)
            use[j] = j != i;
        double eta;
        bool edge;
        rc = fit_with(&c, use, &eta, &edge, st);
        if (rc == SIM_OK) {
            res->edge_folds += edge;
            predict_row(&c, i, eta, &rows[i].loro_pred, &rows[i].loro_err);
        }
    }
    if (rc == SIM_OK)
        rc = by_source(&c, rows, use, res, st);
    free(use);
    cv_free(&c);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

sim_code study_cv_summary(const double *v, size_t n, double *median, double *max,
                          sim_status *st)
{
    if (!n)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "no value to summarize");
    double *a = malloc(n * sizeof *a);
    if (!a)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        a[i] = fabs(v[i]);
    qsort(a, n, sizeof *a, cmp_double);
    *median = n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    *max = a[n - 1];
    free(a);
    return SIM_OK;
}

void study_cv_set_free(study_cv_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free((char *)s->rows[i].name);
        free((char *)s->rows[i].source);
        free((double *)s->rows[i].curve);
        free(s->chip[i]);
    }
    free(s->grid);
    free(s->rows);
    free(s->chip);
    free(s->matmul_max);
    memset(s, 0, sizeof *s);
}

/* Parses up to max doubles from the tokens at *p; returns how many. */
static size_t parse_values(char **save, double *v, size_t max, int *bad)
{
    size_t n = 0;
    for (char *tok; (tok = strtok_r(NULL, " \t\r\n", save));) {
        char *end;
        double x = strtod(tok, &end);
        if (*end || n == max) {
            *bad = 1;
            return n;
        }
        v[n++] = x;
    }
    return n;
}

/* Appends a row line's fields (after "row") to s. */
static sim_code add_row(study_cv_set *s, char **save, const char *path, int lineno,
                        sim_status *st)
{
    char *name = strtok_r(NULL, " \t", save), *source = strtok_r(NULL, " \t", save),
         *chip = strtok_r(NULL, " \t", save), *mm = strtok_r(NULL, " \t", save),
         *pub = strtok_r(NULL, " \t", save);
    double v[64];
    int bad = 0;
    size_t got = pub ? parse_values(save, v, 64, &bad) : 0;
    char *end1 = NULL, *end2 = NULL;
    double mmv = mm ? strtod(mm, &end1) : 0, pubv = pub ? strtod(pub, &end2) : 0;
    if (!s->k)
        return sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0, "a row before the grid line");
    if (!pub || bad || got != s->k || *end1 || *end2 || !(pubv > 0))
        return sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                              "expected 'row CONFIG SOURCE CHIP MATMUL_MAX PUBLISHED' and %zu "
                              "values, one per grid point", s->k);
    /* the three arrays grow together: each from the shared capacity */
    size_t c1 = s->cap, c2 = s->cap, c3 = s->cap;
    int grown = sim_vec_reserve_(&s->rows, &c1, s->n + 1, sizeof *s->rows) == 0 &&
                sim_vec_reserve_(&s->chip, &c2, s->n + 1, sizeof *s->chip) == 0 &&
                sim_vec_reserve_(&s->matmul_max, &c3, s->n + 1, sizeof *s->matmul_max) == 0;
    if (grown)
        s->cap = c1;
    double *curve = grown ? malloc(s->k * sizeof *curve) : NULL;
    char *n1 = curve ? strdup(name) : NULL, *n2 = n1 ? strdup(source) : NULL;
    char *n3 = n2 ? strdup(chip) : NULL;
    if (!n3) {
        free(curve), free(n1), free(n2);
        return sim_status_set(st, SIM_ERR_NOMEM, path, lineno, 0, "out of memory");
    }
    memcpy(curve, v, s->k * sizeof *curve);
    s->rows[s->n] = (study_cv_row){.name = n1, .source = n2, .published = pubv, .curve = curve};
    s->chip[s->n] = n3;
    s->matmul_max[s->n] = mmv;
    s->n++;
    return SIM_OK;
}

static sim_code add_grid(study_cv_set *s, char **save, const char *path, int lineno,
                         sim_status *st)
{
    double v[64];
    int bad = 0;
    size_t got = parse_values(save, v, 64, &bad);
    if (bad || got < 3)
        return sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                              "expected 'grid' and 3 to 64 numbers");
    if (s->k)
        return got == s->k && !memcmp(v, s->grid, got * sizeof *v)
                   ? SIM_OK
                   : sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                                    "a grid line that differs from the first");
    if (!(s->grid = malloc(got * sizeof *s->grid)))
        return sim_status_set(st, SIM_ERR_NOMEM, path, lineno, 0, "out of memory");
    memcpy(s->grid, v, got * sizeof *v);
    s->k = got;
    return check_grid(s->grid, s->k, st) == SIM_OK
               ? SIM_OK
               : sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                                "the grid must increase within (0, 1]");
}

sim_code study_cv_load(const char *path, study_cv_set *out, sim_status *st)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "cannot open '%s'", path);
    char line[8192];
    int lineno = 0;
    sim_code rc = SIM_OK;
    while (rc == SIM_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#'), *save = NULL;
        if (hash)
            *hash = 0;
        char *kind = strtok_r(line, " \t\r\n", &save);
        if (!kind)
            continue;
        if (!strcmp(kind, "grid"))
            rc = add_grid(out, &save, path, lineno, st);
        else if (!strcmp(kind, "row"))
            rc = add_row(out, &save, path, lineno, st);
        else
            rc = sim_status_set(st, SIM_ERR_INPUT, path, lineno, 0,
                                "expected a 'grid' or a 'row' line, found '%s'", kind);
    }
    fclose(f);
    if (rc == SIM_OK && !out->n)
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "no row in '%s'", path);
    if (rc != SIM_OK)
        study_cv_set_free(out);
    return rc;
}
