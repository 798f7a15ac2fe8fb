/*
 * test_study.c: the study library (study/sweep.h, study/calibrate.h), called directly.
 *
 * Sweep grid: product points in order (the last key fastest) with their names, overrides and
 * origins after the sweep-wide overrides; zip points take the i-th value of every list and
 * pass a list value as one; the config's output.db is resolved against the config; n shards
 * partition the grid exactly; the points whose names a database holds as '_point' are
 * skipped, the others of the shard are pending; malformed sections give their messages.
 * Calibration: a targets file whose values are what the configs reach on their own chip is
 * fitted to errors near zero, with the progress callback called once per evaluation; a bad
 * line, configs on two chip types and an empty file are refused with their messages.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"
#include "out/db.h"
#include "study/calibrate.h"
#include "study/crossval.h"
#include "study/sweep.h"
#include "workload/plan.h"

#define TINY "tests/fixtures/good/sweep-tiny.yaml"
#define ZIP "tests/fixtures/good/sweep-zip.yaml"

#define CK_OK(rc, st) ck_assert_msg((rc) == SIM_OK, "%s: %s", #rc, (st).msg)

static study_grid *grid_ok(const char *config, const ydoc_override *base, size_t n_base)
{
    study_grid *g = NULL;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(study_grid_load(config, base, n_base, &g, &st), st);
    ck_assert_ptr_nonnull(g);
    return g;
}

/* Writes text to a fresh file under dir and returns its path in buf. */
static const char *write_file(const char *dir, const char *name, const char *text, char *buf,
                              size_t n)
{
    snprintf(buf, n, "%s/%s", dir, name);
    FILE *f = fopen(buf, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return buf;
}

START_TEST(grid_product_points)
{
    ydoc_override base[] = {{"run.seed", "3", "--set run.seed=3"}};
    study_grid *g = grid_ok(TINY, base, 1);
    ck_assert_uint_eq(study_grid_points(g), 6);
    ck_assert_str_eq(study_grid_db(g), "");
    const ydoc_override *ov;
    size_t n;
    const char *name = study_grid_point(g, 4, &ov, &n);
    ck_assert_str_eq(name, TINY "|run.seed=3|parallelism.tp=3|scale.scale_out_bw=1");
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(ov[0].path, "run.seed");
    ck_assert_str_eq(ov[0].origin, "--set run.seed=3");
    ck_assert_str_eq(ov[1].path, "parallelism.tp");
    ck_assert_str_eq(ov[1].value, "3");
    ck_assert_str_eq(ov[1].origin, "sweep parallelism.tp=3");
    ck_assert_str_eq(ov[2].path, "scale.scale_out_bw");
    ck_assert_str_eq(ov[2].value, "1");
    ck_assert_str_eq(ov[2].origin, "sweep scale.scale_out_bw=1");
    /* the last key varies fastest */
    static const char *const want[] = {"2|0.5", "2|1", "2|2", "3|0.5", "3|1", "3|2"};
    for (size_t p = 0; p < 6; p++) {
        study_grid_point(g, p, &ov, &n);
        char got[64];
        snprintf(got, sizeof got, "%s|%s", ov[1].value, ov[2].value);
        ck_assert_str_eq(got, want[p]);
    }
    study_grid_destroy(g);
}
END_TEST

START_TEST(grid_zip_points)
{
    char dir[] = "/tmp/test_study.XXXXXX", path[256], cfg[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    study_grid *g = grid_ok(ZIP, NULL, 0);
    ck_assert_uint_eq(study_grid_points(g), 3);
    const ydoc_override *ov;
    size_t n;
    const char *name = study_grid_point(g, 1, &ov, &n);
    ck_assert_str_eq(name, ZIP "|parallelism.tp=2|parallelism.dp=4|parallelism.placement=[dp, "
                           "tp, cp, pp]");
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(ov[2].value, "[dp, tp, cp, pp]");
    study_grid_destroy(g);

    /* output.db is resolved against the config's directory */
    write_file(dir, "s.yaml", "output: {db: out/r.db}\nsweep: {a.b: [1, 2]}\n", cfg, sizeof cfg);
    g = grid_ok(cfg, NULL, 0);
    snprintf(path, sizeof path, "%s/out/r.db", dir);
    ck_assert_str_eq(study_grid_db(g), path);
    study_grid_destroy(g);
    unlink(cfg);
    rmdir(dir);
}
END_TEST

START_TEST(grid_shards_partition)
{
    for (size_t n = 1; n <= 7; n++)
        for (size_t p = 0; p < 50; p++) {
            int in = 0;
            for (size_t i = 1; i <= n; i++)
                in += study_grid_in_shard(p, i, n);
            ck_assert_int_eq(in, 1);
            ck_assert(study_grid_in_shard(p, p % n + 1, n));
        }
}
END_TEST

/* Points 1 and 4 are in the database: shard 1/2 (points 0, 2, 4) has 0 and 2 pending. */
START_TEST(grid_pending_skips_done_points)
{
    char dir[] = "/tmp/test_study.XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.db", dir);
    study_grid *g = grid_ok(TINY, NULL, 0);
    sim_status st;
    sim_status_clear(&st);
    db *d = NULL;
    CK_OK(db_open(path, &d, &st), st);
    static const char *const cols[] = {"run_id", "key", "value"};
    for (size_t p = 1; p <= 4; p += 3) {
        db_run row;
        db_run_init(&row);
        row.command = "sweep";
        int64_t id = 0;
        CK_OK(db_run_insert(d, &row, &id, &st), st);
        const ydoc_override *ov;
        size_t n;
        db_stmt *s = NULL;
        CK_OK(db_insert_prepare(d, "sweep_param", cols, 3, &s, &st), st);
        db_insert_bind_int(s, 0, id);
        db_insert_bind_text(s, 1, "_point");
        db_insert_bind_text(s, 2, study_grid_point(g, p, &ov, &n));
        CK_OK(db_insert_exec(s, &st), st);
        db_insert_finish(s);
    }
    db_close(d);
    unsigned char todo[6];
    size_t pending = 99, skipped = 99;
    CK_OK(study_grid_pending(g, path, 1, 2, todo, &pending, &skipped, &st), st);
    ck_assert_uint_eq(pending, 2);
    ck_assert_uint_eq(skipped, 1);
    static const unsigned char want[6] = {1, 0, 1, 0, 0, 0};
    ck_assert_mem_eq(todo, want, 6);
    CK_OK(study_grid_pending(g, path, 2, 2, todo, &pending, &skipped, &st), st);
    ck_assert_uint_eq(pending, 2); /* 3 and 5; 1 is done */
    ck_assert_uint_eq(skipped, 1);
    /* a path that cannot be a database */
    ck_assert_int_eq(study_grid_pending(g, dir, 1, 1, todo, &pending, &skipped, &st),
                     SIM_ERR_IO);
    study_grid_destroy(g);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(grid_bad_sections)
{
    char dir[] = "/tmp/test_study.XXXXXX", cfg[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"name: x\n", "missing key 'sweep' in the document"},
        {"sweep: {a.b: []}\n", "key 'a.b': expected a non-empty list of values, found"},
        {"sweep: {mode: zip, a: [1, 2], b: [1]}\n",
         "key 'b': zip needs lists of equal length: 1 values here, 2 for 'a'"},
        {"sweep: {mode: zip}\n", "key 'sweep': expected at least one key with a list of values"},
        {"sweep: {a: [{x: 1}]}\n", "key 'a': expected a value or a list of values, found"},
        {"sweep: {a: [1, 2], b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], c: [1, 2, 3, 4, 5, 6, 7, 8, 9, "
         "10], d: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], e: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "
         "f: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], g: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n",
         "expected at most 1000000 points"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(dir, "s.yaml", cases[i].text, cfg, sizeof cfg);
        study_grid *g = (study_grid *)1;
        sim_status st;
        sim_status_clear(&st);
        ck_assert_int_eq(study_grid_load(cfg, NULL, 0, &g, &st), SIM_ERR_INPUT);
        ck_assert_ptr_null(g);
        ck_assert_msg(strstr(st.msg, cases[i].msg), "case %zu: %s", i, st.msg);
    }
    unlink(cfg);
    rmdir(dir);
}
END_TEST

static void count_evaluations(int evaluation, const hw_chip *chip, void *user)
{
    int *n = user;
    ck_assert_int_eq(evaluation, *n + 1);
    ck_assert(chip->eff_gemm > 0 && chip->eff_gemm < 1);
    (*n)++;
}

/* The MFU (percent) and hardware TFLOP/s per chip of one step of config on its own chip. */
static void measure(const char *config, double *mfu, double *tflops)
{
    plan *p = NULL;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(plan_load(config, NULL, 0, &p, &st), st);
    plan_set_steps(p, 0, 1);
    exec_opts opts = {0};
    exec_result r;
    CK_OK(exec_run(p, &opts, &r, &st), st);
    *mfu = 100 * r.mfu;
    *tflops = wl_hardware_flops_per_step(plan_workload(p), plan_parallel(p)) / r.step_time_s /
              (double)plan_ranks(p) / 1e12;
    exec_result_free(&r);
    plan_destroy(p);
}

START_TEST(calibrate_fits_own_figures)
{
    char dir[] = "/tmp/test_study.XXXXXX", path[256], text[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    double mfu[2], tflops[2];
    static const char *const cfg[2] = {"tests/fixtures/good/cfg-tiny.yaml",
                                       "tests/fixtures/good/sweep-tiny.yaml"};
    for (int i = 0; i < 2; i++)
        measure(cfg[i], &mfu[i], &tflops[i]);
    snprintf(text, sizeof text, "# config metric value\n%s mfu %.17g\n%s tflops %.17g\n", cfg[0],
             mfu[0], cfg[1], tflops[1]);
    write_file(dir, "targets", text, path, sizeof path);
    study_cal *c = NULL;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(study_cal_load(path, &c, &st), st);
    ck_assert_uint_eq(study_cal_rows(c), 2);
    ck_assert_str_eq(study_cal_chip(c)->name, "h100-sxm");
    int evals = 0;
    study_cal_opts o = {.iterations = 20, .start_gemm = 0.5,
                        .progress = count_evaluations, .user = &evals};
    study_cal_fit fit;
    CK_OK(study_cal_run(c, &o, &fit, &st), st);
    ck_assert_int_eq(fit.evaluations, evals);
    ck_assert_int_gt(fit.evaluations, fit.iterations);
    ck_assert_str_eq(fit.chip.name, "h100-sxm");
    ck_assert_double_eq(fit.chip.gemm_half_dim, 0);
    for (size_t i = 0; i < 2; i++) {
        study_cal_row r = study_cal_row_at(c, i);
        ck_assert_str_eq(r.config, cfg[i]);
        ck_assert_double_eq_tol(r.published, i == 0 ? mfu[0] : tflops[1], 1e-9);
        ck_assert_msg(fabs(r.error) < 1e-3, "row %zu: error %g", i, r.error);
        ck_assert_double_eq_tol(r.error, (r.predicted - r.published) / r.published, 1e-12);
    }
    ck_assert(fit.chisq < 2e-6);
    study_cal_destroy(c);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Rows whose step time is exactly A / eta + B (prediction 1 / that): the spline of
 * 1/prediction over 1/eta is then exact, so every fit recovers the eta that made the
 * published figures. */
#define CV_K 5
static const double cv_grid[CV_K] = {0.6, 0.7, 0.8, 0.9, 1.0};

static double cv_model(double a, double b, double eta)
{
    return 1 / (a / eta + b);
}

static void cv_rows(study_cv_row *rows, double curves[][CV_K], size_t n, double eta)
{
    static const char *const src[] = {"paper-a", "paper-a", "paper-b", "paper-b", "paper-c"};
    for (size_t i = 0; i < n; i++) {
        double a = 1.0 + 0.5 * (double)i, b = 0.2 * (double)i;
        for (int j = 0; j < CV_K; j++)
            curves[i][j] = cv_model(a, b, cv_grid[j]);
        rows[i] = (study_cv_row){.name = "row", .source = src[i % 5],
                                 .published = cv_model(a, b, eta), .curve = curves[i]};
    }
}

START_TEST(crossval_recovers_the_true_eta)
{
    study_cv_row rows[5];
    double curves[5][CV_K];
    cv_rows(rows, curves, 5, 0.75);
    study_cv_result res;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(study_cv_run(rows, 5, cv_grid, CV_K, &res, &st), st);
    ck_assert_double_eq_tol(res.eta, 0.75, 1e-6);
    ck_assert(!res.eta_edge);
    ck_assert_uint_eq(res.n_sources, 3);
    ck_assert_int_eq(res.edge_folds, 0);
    for (int i = 0; i < 5; i++) {
        ck_assert_double_eq_tol(rows[i].fit_err, 0, 1e-6);
        ck_assert_double_eq_tol(rows[i].loro_err, 0, 1e-6);
        ck_assert_double_eq_tol(rows[i].loso_err, 0, 1e-6);
        ck_assert_double_eq_tol(rows[i].loso_eta, 0.75, 1e-6);
    }
    /* Row 4 alone in its source, published 10% high: held out (row or source), the others
     * still say 0.75, so its out-of-sample error is exactly 1/1.1 - 1. */
    rows[4].published *= 1.1;
    CK_OK(study_cv_run(rows, 5, cv_grid, CV_K, &res, &st), st);
    ck_assert_double_eq_tol(rows[4].loro_err, 1 / 1.1 - 1, 1e-6);
    ck_assert_double_eq_tol(rows[4].loso_err, 1 / 1.1 - 1, 1e-6);
    ck_assert(res.eta > 0.75); /* the in-sample fit leans towards it */
    ck_assert(fabs(rows[4].fit_err) < fabs(rows[4].loro_err));
    double e[5] = {-0.03, 0.01, 0.02, -0.05, 0.04}, med, max;
    CK_OK(study_cv_summary(e, 5, &med, &max, &st), st);
    ck_assert_double_eq_tol(med, 0.03, 1e-15);
    ck_assert_double_eq_tol(max, 0.05, 1e-15);
    CK_OK(study_cv_summary(e, 4, &med, &max, &st), st);
    ck_assert_double_eq_tol(med, 0.025, 1e-15);
}
END_TEST

START_TEST(crossval_says_when_the_grid_is_too_narrow)
{
    study_cv_row rows[3];
    double curves[3][CV_K];
    cv_rows(rows, curves, 3, 1.3); /* published above anything the grid reaches */
    double eta, pred;
    bool edge;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(study_cv_fit(rows, 3, NULL, cv_grid, CV_K, &eta, &edge, &st), st);
    ck_assert_double_eq(eta, 1.0);
    ck_assert(edge);
    CK_OK(study_cv_predict(&rows[1], cv_grid, CV_K, 0.65, &pred, &st), st);
    ck_assert_double_eq_tol(pred, cv_model(1.5, 0.2, 0.65), 1e-9);
    bool none[3] = {false, false, false};
    ck_assert_int_eq(study_cv_fit(rows, 3, none, cv_grid, CV_K, &eta, &edge, &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "no row to fit");
    static const double bad[3] = {0.5, 0.4, 0.9};
    ck_assert_int_eq(study_cv_fit(rows, 3, NULL, bad, 3, &eta, &edge, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "the grid must increase within (0, 1]: point 2 is 0.4");
    study_cv_result res;
    for (int i = 0; i < 3; i++)
        rows[i].source = "only";
    ck_assert_int_eq(study_cv_run(rows, 3, cv_grid, CV_K, &res, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "every row comes from source 'only': nothing is left to fit "
                             "when it is left out");
}
END_TEST

START_TEST(crossval_reads_curves_and_refuses_bad_ones)
{
    char dir[] = "/tmp/test_study.XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_file(dir, "curves",
               "# comment\ngrid 0.6 0.8 1\ngrid 0.6 0.8 1\n"
               "row a.yaml paper-a h100-sxm 0.801 40 30 35 40\n"
               "row b.yaml paper-b a100-sxm-80gb 0.859 140 100 120 130 # tail\n",
               path, sizeof path);
    study_cv_set s;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(study_cv_load(path, &s, &st), st);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_uint_eq(s.k, 3);
    ck_assert_str_eq(s.rows[1].name, "b.yaml");
    ck_assert_str_eq(s.rows[1].source, "paper-b");
    ck_assert_str_eq(s.chip[1], "a100-sxm-80gb");
    ck_assert_double_eq(s.matmul_max[0], 0.801);
    ck_assert_double_eq(s.rows[1].published, 140);
    ck_assert_double_eq(s.rows[1].curve[2], 130);
    study_cv_set_free(&s);
    static const struct {
        const char *text, *msg;
        int line;
    } cases[] = {
        {"row a.yaml p c 0.8 40 1 2 3\n", "a row before the grid line", 1},
        {"grid 0.6 0.8 1\nrow a.yaml p c 0.8 40 1 2\n",
         "expected 'row CONFIG SOURCE CHIP MATMUL_MAX PUBLISHED' and 3 values, one per grid "
         "point", 2},
        {"grid 0.6 0.8 1\ngrid 0.6 0.9 1\n", "a grid line that differs from the first", 2},
        {"grid 0.6 0.8\n", "expected 'grid' and 3 to 64 numbers", 1},
        {"grid 0.6 0.8 1\nrows a\n", "expected a 'grid' or a 'row' line, found 'rows'", 2},
        {"grid 0.6 0.8 1\n", "no row in", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(dir, "curves", cases[i].text, path, sizeof path);
        ck_assert_int_eq(study_cv_load(path, &s, &st), SIM_ERR_INPUT);
        ck_assert_msg(strstr(st.msg, cases[i].msg), "case %zu: %s", i, st.msg);
        ck_assert_int_eq(st.line, cases[i].line);
        ck_assert_uint_eq(s.n, 0);
    }
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Checks one chip file: every "KEY: VALUE  # range LO-HI ..." line holds LO <= VALUE <= HI,
 * and each key of must[] carries such a range. */
static void check_ranges(const char *path, const char *const *must)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[512], seen[16][32];
    int n_seen = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char key[32];
        double v, lo, hi;
        const char *r = strstr(line, "# range ");
        if (!r || sscanf(line, " %31[a-z_0-9]: %lf", key, &v) != 2)
            continue;
        ck_assert_msg(sscanf(r, "# range %lf-%lf", &lo, &hi) == 2 && lo <= hi,
                      "%s:%d: expected '# range LO-HI'", path, lineno);
        ck_assert_msg(v >= lo && v <= hi, "%s:%d: %s %g outside its range %g-%g", path, lineno,
                      key, v, lo, hi);
        if (n_seen < 16)
            snprintf(seen[n_seen++], sizeof seen[0], "%s", key);
    }
    fclose(f);
    for (int i = 0; must[i]; i++) {
        int found = 0;
        for (int j = 0; j < n_seen && !found; j++)
            found = !strcmp(seen[j], must[i]);
        ck_assert_msg(found, "%s: %s has no '# range LO-HI' with its source", path, must[i]);
    }
}

/* The calibrated chips' efficiencies (the fitted gemm and the fixed ones beside it) sit
 * inside the physical ranges their files cite. */
START_TEST(chip_efficiencies_within_cited_ranges)
{
    static const char *const calibrated[] = {"gemm",   "matmul_max",       "attention",
                                             "attention_dropout", "memory", "overlap_slowdown",
                                             NULL};
    check_ranges("topologies/chips/a100-sxm-80gb.yaml", calibrated);
    check_ranges("topologies/chips/h100-sxm.yaml", calibrated);
    static const char *const none[] = {NULL};
    static const char *const others[] = {"b200.yaml", "gaudi3.yaml", "h200-sxm.yaml",
                                         "mi300x.yaml", "next-gen.yaml", "tpu-v4.yaml",
                                         "tpu-v5e.yaml", "tpu-v5p.yaml"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "topologies/chips/%s", others[i]);
        check_ranges(path, none);
    }
}
END_TEST

/* The accuracy guard: five small published runs (analysis/data/validation-quick.txt),
 * replayed at the shipped chip files. Each row's error is pinned to what the calibration
 * left (analysis/validate.sh, README Calibration) within VALIDATION_QUICK_BOUND either way:
 * a change to the model that moves accuracy, better or worse, fails here until the
 * calibration is redone and these values with it. */
#define VALIDATION_QUICK_BOUND 0.03

START_TEST(validation_quick_within_bound)
{
    static const double calibrated_error[5] = {+0.0532, +0.0494, -0.0010, +0.1093, +0.0972};
    study_cal *c = NULL;
    sim_status st;
    sim_status_clear(&st);
    CK_OK(study_cal_load_rows("analysis/data/validation-quick.txt", &c, &st), st);
    ck_assert_uint_eq(study_cal_rows(c), 5);
    CK_OK(study_cal_evaluate(c, &st), st);
    for (size_t i = 0; i < study_cal_rows(c); i++) {
        study_cal_row r = study_cal_row_at(c, i);
        printf("validation-quick: %-48s published %7.2f predicted %7.2f error %+6.2f%%\n",
               r.config, r.published, r.predicted, 100 * r.error);
        ck_assert_msg(fabs(r.error - calibrated_error[i]) <= VALIDATION_QUICK_BOUND,
                      "%s: predicted %.2f against the published %.2f (%+.2f%%), more than %.0f "
                      "points from the calibrated %+.2f%%", r.config, r.predicted, r.published,
                      100 * r.error, 100 * VALIDATION_QUICK_BOUND, 100 * calibrated_error[i]);
    }
    study_cal_destroy(c);
}
END_TEST

START_TEST(calibrate_refuses_bad_targets)
{
    char dir[] = "/tmp/test_study.XXXXXX", path[256], want[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const struct {
        const char *text, *msg; /* msg: %s is the targets path */
    } cases[] = {
        {"tests/fixtures/good/cfg-tiny.yaml mfu 40\n\ntests/fixtures/good/cfg-tiny.yaml mfu\n",
         "expected 'CONFIG METRIC VALUE [SOURCE]' with metric mfu, hfu or tflops and a "
         "positive value"},
        {"tests/fixtures/good/cfg-tiny.yaml mfu 40 paper extra\n", "expected 'CONFIG METRIC VALUE"},
        {"tests/fixtures/good/cfg-tiny.yaml speed 40\n", "expected 'CONFIG METRIC VALUE [SOURCE]'"},
        {"tests/fixtures/good/cfg-tiny.yaml mfu -1\n", "expected 'CONFIG METRIC VALUE [SOURCE]'"},
        {"# nothing\n", "no measurements in '%s'"},
        {"tests/fixtures/good/cfg-tiny.yaml mfu 40\n"
         "configs/validation/megatron2021-gpt-1.7b.yaml mfu 40\n",
         "'configs/validation/megatron2021-gpt-1.7b.yaml' runs on a100-sxm-80gb, the rows "
         "before on h100-sxm: calibrate one chip type at a time"},
    };
    static const int line[] = {3, 1, 1, 1, 0, 2};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(dir, "targets", cases[i].text, path, sizeof path);
        study_cal *c = (study_cal *)1;
        sim_status st;
        sim_status_clear(&st);
        ck_assert_int_eq(study_cal_load(path, &c, &st), SIM_ERR_INPUT);
        ck_assert_ptr_null(c);
        snprintf(want, sizeof want, cases[i].msg, path);
        ck_assert_msg(strstr(st.msg, want), "case %zu: %s", i, st.msg);
        ck_assert_int_eq(st.line, line[i]);
    }
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *study_suite(void)
{
    Suite *s = suite_create("study");
    TCase *tg = tcase_create("sweep");
    tcase_add_test(tg, grid_product_points);
    tcase_add_test(tg, grid_zip_points);
    tcase_add_test(tg, grid_shards_partition);
    tcase_add_test(tg, grid_pending_skips_done_points);
    tcase_add_test(tg, grid_bad_sections);
    suite_add_tcase(s, tg);
    TCase *tc = tcase_create("calibrate");
    tcase_add_test(tc, calibrate_fits_own_figures);
    tcase_add_test(tc, calibrate_refuses_bad_targets);
    tcase_add_test(tc, crossval_recovers_the_true_eta);
    tcase_add_test(tc, chip_efficiencies_within_cited_ranges);
    tcase_add_test(tc, validation_quick_within_bound);
    tcase_add_test(tc, crossval_says_when_the_grid_is_too_narrow);
    tcase_add_test(tc, crossval_reads_curves_and_refuses_bad_ones);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(study_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
