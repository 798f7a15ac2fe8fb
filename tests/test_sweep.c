/*
 * test_sweep.c: `clustersim sweep` and the what-if scale knobs.
 *
 * tests/fixtures/good/sweep-tiny.yaml sweeps parallelism.tp over [2, 3] (with dp 4 and pp 2,
 * tp 3 asks for 24 of the 16 chips: those points fail) and scale.scale_out_bw over [0.5, 1, 2]: a product of
 * 6 points, the last key varying fastest. sweep-zip.yaml zips three lists of 3.
 * - grid expansion: the points of product and zip, in order, and their shards;
 * - nested keys reach the runs (sweep_param rows, and the replay sees them);
 * - failed points are recorded with their reason;
 * - a second sweep into the same database skips every point (resume);
 * - two shards partition the grid exactly, and merging them keeps every run once;
 * - without --shard, a Slurm array task's variables choose the shard (its position in the
 *   array, whatever the first ID and step); --shard wins; every bad value is refused;
 * - scale multiplies the chip and link figures it names, and only those.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLUSTERSIM_TEST_CLI
#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"

#define TINY "tests/fixtures/good/sweep-tiny.yaml"
#define ZIP "tests/fixtures/good/sweep-zip.yaml"

static double q1(const char *db_path, const char *sql)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    double v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

START_TEST(grid_expansion)
{
    char *out;
    ck_assert_int_eq(th_run("sweep --list --shard 1/4 " TINY, &out, NULL), 0);
    ck_assert_str_eq(out,
                     "0 1/4 " TINY "|parallelism.tp=2|scale.scale_out_bw=0.5\n"
                     "1 2/4 " TINY "|parallelism.tp=2|scale.scale_out_bw=1\n"
                     "2 3/4 " TINY "|parallelism.tp=2|scale.scale_out_bw=2\n"
                     "3 4/4 " TINY "|parallelism.tp=3|scale.scale_out_bw=0.5\n"
                     "4 1/4 " TINY "|parallelism.tp=3|scale.scale_out_bw=1\n"
                     "5 2/4 " TINY "|parallelism.tp=3|scale.scale_out_bw=2\n");
    free(out);
    ck_assert_int_eq(th_run("sweep --list " ZIP, &out, NULL), 0);
    ck_assert_str_eq(out,
                     "0 1/1 " ZIP "|parallelism.tp=1|parallelism.dp=8|parallelism.placement=[tp, "
                     "cp, dp, pp]\n"
                     "1 1/1 " ZIP "|parallelism.tp=2|parallelism.dp=4|parallelism.placement=[dp, "
                     "tp, cp, pp]\n"
                     "2 1/1 " ZIP "|parallelism.tp=4|parallelism.dp=2|parallelism.placement=[tp, "
                     "cp, dp, pp]\n");
    free(out);
    char *err;
    ck_assert_int_eq(th_run("sweep --shard 3/2 " TINY, NULL, &err), 2);
    ck_assert_str_eq(err, "clustersim sweep: option '--shard': expected I/N with 1 <= I <= N "
                          "<= 1000000, found '3/2'\n");
    free(err);
}
END_TEST

/* A sweep section's bad shapes, each with its exact message and status 2. */
static const char *const bad_sweeps[][2] = {
    {"sweep-key-list", "7:5: error: key 'sweep': expected dotted keys such as parallelism.tp, "
                       "found a list"},
    {"sweep-value-map", "7:20: error: key 'parallelism.tp': expected a value or a list of "
                        "values, found a mapping"},
    {"sweep-too-many", "7:3: error: key 'sweep': expected at most 1000000 points, found a grid "
                       "of more (split it, or sweep fewer values)"},
};

START_TEST(bad_sweep_sections)
{
    char args[256], want[512], *out, *err;
    snprintf(args, sizeof args, "sweep --list tests/fixtures/bad/%s.yaml", bad_sweeps[_i][0]);
    ck_assert_int_eq(th_run(args, &out, &err), 2);
    ck_assert_str_eq(out, "");
    snprintf(want, sizeof want, "clustersim: tests/fixtures/bad/%s.yaml:%s\n", bad_sweeps[_i][0],
             bad_sweeps[_i][1]);
    ck_assert_str_eq(err, want);
    free(out);
    free(err);
}
END_TEST

/* The sweep-wide --set overrides are part of a point's name: a sweep with other --set
 * values is other points, not the same ones resumed. */
START_TEST(set_values_name_the_points)
{
    char *out;
    ck_assert_int_eq(th_run("sweep --list --set run.seed=5 --shard 1/3 " TINY, &out, NULL), 0);
    ck_assert_str_eq(out,
                     "0 1/3 " TINY "|run.seed=5|parallelism.tp=2|scale.scale_out_bw=0.5\n"
                     "1 2/3 " TINY "|run.seed=5|parallelism.tp=2|scale.scale_out_bw=1\n"
                     "2 3/3 " TINY "|run.seed=5|parallelism.tp=2|scale.scale_out_bw=2\n"
                     "3 1/3 " TINY "|run.seed=5|parallelism.tp=3|scale.scale_out_bw=0.5\n"
                     "4 2/3 " TINY "|run.seed=5|parallelism.tp=3|scale.scale_out_bw=1\n"
                     "5 3/3 " TINY "|run.seed=5|parallelism.tp=3|scale.scale_out_bw=2\n");
    free(out);
}
END_TEST

/* Sweep points write no trace, although the config asks for one: every worker would write
 * the same file. */
START_TEST(points_write_no_trace)
{
    char dir[] = "/tmp/clustersim-sweep-trace-XXXXXX", cwd[256], cfg[320], args[400], path[320];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(cfg, sizeof cfg, "%s/c.yaml", dir);
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "name: traced\ntopology: %s/topologies/two-nodes.yaml\n"
               "workload: %s/tests/fixtures/good/cfg-tiny-wl.yaml\n"
               "parallelism: {tp: 2, pp: 2, dp: 4}\nsweep: {scale.flops: [1, 2]}\n"
               "run: {steps: 1, warmup: 0}\noutput: {db: s.db, trace: t.json}\n", cwd, cwd);
    fclose(f);
    snprintf(args, sizeof args, "sweep --quiet --jobs 2 %s", cfg);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    snprintf(path, sizeof path, "%s/s.db", dir);
    ck_assert_double_eq(q1(path, "SELECT count(*) FROM run WHERE status = 'ok'"), 2);
    snprintf(path, sizeof path, "%s/t.json", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

START_TEST(runs_resume_shards_and_merge)
{
    char dir[] = "/tmp/clustersim-sweep-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char all[256], s1[256], s2[256], merged[256], args[1200], sql[512], *out;
    snprintf(all, sizeof all, "%s/all.db", dir);
    snprintf(s1, sizeof s1, "%s/s1.db", dir);
    snprintf(s2, sizeof s2, "%s/s2.db", dir);
    snprintf(merged, sizeof merged, "%s/merged.db", dir);

    snprintf(args, sizeof args, "sweep --quiet --jobs 2 --db %s " TINY, all);
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    char want[512];
    snprintf(want, sizeof want, "sweep " TINY ": 6 points in this shard, 6 run (3 failed), 0 "
             "already in %s\n", all);
    ck_assert_str_eq(out, want);
    free(out);
    /* two workers wrote at once: the database is whole */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(all, &db), SQLITE_OK);
    sqlite3_stmt *ic;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &ic, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(ic), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(ic, 0), "ok");
    sqlite3_finalize(ic);
    sqlite3_close(db);
    /* every point once, three done, three failed with their reason */
    ck_assert_double_eq(q1(all, "SELECT count(*) FROM run"), 6);
    ck_assert_double_eq(q1(all, "SELECT count(DISTINCT value) FROM sweep_param WHERE key = "
                                "'_point'"), 6);
    ck_assert_double_eq(q1(all, "SELECT count(*) FROM run WHERE status = 'ok' AND command = "
                                "'sweep'"), 3);
    ck_assert_double_eq(q1(all, "SELECT count(*) FROM run r JOIN sweep_param p USING (run_id) "
                                "WHERE r.status = 'failed' AND p.key = 'parallelism.tp' AND "
                                "p.value = '3' AND r.status_reason LIKE '%dp x tp x pp x cp = 4 "
                                "x 3 x 2 x 1 = 24, but the job uses 16 chips'"), 3);
    /* the nested key reached the replay: a faster scale-out fabric, a shorter step */
    double slow = q1(all, "SELECT r.step_time_s FROM run r JOIN sweep_param p USING (run_id) "
                          "WHERE r.status = 'ok' AND p.key = 'scale.scale_out_bw' AND p.value "
                          "= '0.5'");
    double fast = q1(all, "SELECT r.step_time_s FROM run r JOIN sweep_param p USING (run_id) "
                          "WHERE r.status = 'ok' AND p.key = 'scale.scale_out_bw' AND p.value "
                          "= '2'");
    ck_assert_msg(fast < slow, "scale_out_bw 2: %.9g s, 0.5: %.9g s", fast, slow);

    /* the same points with one worker give the same rows (wall-clock columns aside) */
    char one[256];
    snprintf(one, sizeof one, "%s/one.db", dir);
    snprintf(args, sizeof args, "sweep --quiet --jobs 1 --db %s " TINY, one);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    {
        sqlite3 *a;
        ck_assert_int_eq(sqlite3_open(all, &a), SQLITE_OK);
        snprintf(sql, sizeof sql, "ATTACH '%s' AS one", one);
        ck_assert_int_eq(sqlite3_exec(a, sql, NULL, NULL, NULL), SQLITE_OK);
        static const char *const same =
            "SELECT count(*) FROM (SELECT p.value, r.status, r.status_reason, r.step_time_s, "
            "r.mfu, r.hfu, r.tokens_per_s FROM main.run r JOIN main.sweep_param p ON "
            "p.run_id = r.run_id AND p.key = '_point' EXCEPT SELECT p.value, r.status, "
            "r.status_reason, r.step_time_s, r.mfu, r.hfu, r.tokens_per_s FROM one.run r JOIN "
            "one.sweep_param p ON p.run_id = r.run_id AND p.key = '_point')";
        sqlite3_stmt *q;
        ck_assert_int_eq(sqlite3_prepare_v2(a, same, -1, &q, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(q, 0), 0);
        sqlite3_finalize(q);
        sqlite3_close(a);
    }

    /* resume: nothing left to run */
    snprintf(args, sizeof args, "sweep --quiet --db %s " TINY, all);
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    snprintf(want, sizeof want, "sweep " TINY ": 6 points in this shard, 0 run (0 failed), 6 "
             "already in %s\n", all);
    ck_assert_str_eq(out, want);
    free(out);
    ck_assert_double_eq(q1(all, "SELECT count(*) FROM run"), 6);

    /* shards partition the grid, and merging them keeps every run once */
    snprintf(args, sizeof args, "sweep --quiet --shard 1/2 --db %s " TINY, s1);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "sweep --quiet --shard 2/2 --db %s " TINY, s2);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    ck_assert_double_eq(q1(s1, "SELECT count(*) FROM run"), 3);
    ck_assert_double_eq(q1(s2, "SELECT count(*) FROM run"), 3);
    snprintf(args, sizeof args, "merge %s %s %s %s", merged, s1, s2, s1);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    ck_assert_double_eq(q1(merged, "SELECT count(*) FROM run"), 6);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sweep_param WHERE key = '_point' AND value "
             "IN (SELECT value FROM sweep_param WHERE key = '_point')");
    ck_assert_double_eq(q1(merged, "SELECT count(DISTINCT value) FROM sweep_param WHERE key = "
                                   "'_point'"), 6);
    ck_assert_double_eq(q1(merged, sql), 6);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* The Slurm array variables as a task of --array sees them; NULL: unset. */
static void slurm_env(const char *id, const char *count, const char *min, const char *max,
                      const char *step)
{
    const char *const names[] = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
                                 "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                                 "SLURM_ARRAY_TASK_STEP"};
    const char *const values[] = {id, count, min, max, step};
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(values[k] ? setenv(names[k], values[k], 1) : unsetenv(names[k]), 0);
}

/* Array tasks and the shard each runs: (ID - MIN) / STEP + 1 of COUNT. TINY's 6 points in 3
 * shards: shard 1 holds points 0 and 3, shard 2 points 1 and 4, shard 3 points 2 and 5. */
static const struct {
    const char *array, *id, *count, *min, *max, *step, *shard_opt;
    int shard;
} slurm_tasks[] = {
    {"--array=1-3", "2", "3", "1", "3", "1", "", 2},
    {"--array=0-2", "0", "3", "0", "2", "1", "", 1},
    {"--array=0-6:3", "6", "3", "0", "6", "3", "", 3},
    {"STEP unset", "6", "3", "4", "6", NULL, "", 3},
    {"--shard wins", "2", "3", "1", "3", "1", "--shard 1/3 ", 1},
    {"--shard wins over bad values", "x", NULL, NULL, NULL, NULL, "--shard 3/3 ", 3},
};

START_TEST(slurm_array_shard)
{
    char dir[] = "/tmp/clustersim-sweep-slurm-XXXXXX", db[256], args[512], want[512], *out;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/s.db", dir);
    slurm_env(slurm_tasks[_i].id, slurm_tasks[_i].count, slurm_tasks[_i].min,
              slurm_tasks[_i].max, slurm_tasks[_i].step);
    snprintf(args, sizeof args, "sweep --quiet --jobs 2 %s--db %s " TINY,
             slurm_tasks[_i].shard_opt, db);
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    snprintf(want, sizeof want, "sweep " TINY ": 2 points in this shard, 2 run (1 failed), 0 "
             "already in %s\n", db);
    ck_assert_str_eq(out, want);
    free(out);
    slurm_env(NULL, NULL, NULL, NULL, NULL);
    /* the shard's two points, by their values: tp 2 then 3 at the shard's scale_out_bw */
    static const char *const bw[] = {"0.5", "1", "2"};
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open(db, &d), SQLITE_OK);
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT value FROM sweep_param WHERE key = '_point' "
                                           "ORDER BY value", -1, &q, NULL), SQLITE_OK);
    for (int tp = 2; tp <= 3; tp++) {
        snprintf(want, sizeof want, TINY "|parallelism.tp=%d|scale.scale_out_bw=%s", tp,
                 bw[slurm_tasks[_i].shard - 1]);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        ck_assert_msg(!strcmp((const char *)sqlite3_column_text(q, 0), want), "%s: %s, not %s",
                      slurm_tasks[_i].array, sqlite3_column_text(q, 0), want);
    }
    ck_assert_int_eq(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(d);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* --list shows the array's count as N; a one-task array is the whole grid. */
START_TEST(slurm_array_list)
{
    char *out;
    slurm_env("4", "2", "3", "4", "1");
    ck_assert_int_eq(th_run("sweep --list " TINY, &out, NULL), 0);
    ck_assert_str_eq(out, "0 1/2 " TINY "|parallelism.tp=2|scale.scale_out_bw=0.5\n"
                          "1 2/2 " TINY "|parallelism.tp=2|scale.scale_out_bw=1\n"
                          "2 1/2 " TINY "|parallelism.tp=2|scale.scale_out_bw=2\n"
                          "3 2/2 " TINY "|parallelism.tp=3|scale.scale_out_bw=0.5\n"
                          "4 1/2 " TINY "|parallelism.tp=3|scale.scale_out_bw=1\n"
                          "5 2/2 " TINY "|parallelism.tp=3|scale.scale_out_bw=2\n");
    free(out);
    slurm_env("5", "1", "5", "5", "1");
    ck_assert_int_eq(th_run("sweep --list " ZIP, &out, NULL), 0);
    ck_assert_int_eq(strncmp(out, "0 1/1 ", 6), 0);
    free(out);
    slurm_env(NULL, NULL, NULL, NULL, NULL);
}
END_TEST

#define SLURM_HINT " (an explicit --shard I/N takes precedence)"

/* Bad Slurm variables: ID, COUNT, MIN, MAX, STEP (NULL: unset) and the exact message. */
static const struct {
    const char *id, *count, *min, *max, *step, *msg;
} slurm_bad[] = {
    {"x", "3", "1", "3", "1", "SLURM_ARRAY_TASK_ID: expected an array task ID from 0 to "
                              "4000000, found 'x'"},
    {"", "3", "1", "3", "1", "SLURM_ARRAY_TASK_ID: expected an array task ID from 0 to "
                             "4000000, found ''"},
    {"-1", "3", "1", "3", "1", "SLURM_ARRAY_TASK_ID: expected an array task ID from 0 to "
                               "4000000, found '-1'"},
    {"4000001", "3", "1", "3", "1", "SLURM_ARRAY_TASK_ID: expected an array task ID from 0 to "
                                    "4000000, found '4000001'"},
    {"2", NULL, "1", "3", "1", "SLURM_ARRAY_TASK_COUNT: expected the number of array tasks "
                               "from 1 to 1000000 (SLURM_ARRAY_TASK_ID is set), found it unset"},
    {"2", "0", "1", "3", "1", "SLURM_ARRAY_TASK_COUNT: expected the number of array tasks from "
                              "1 to 1000000, found '0'"},
    {"2", "1000001", "1", "3", "1", "SLURM_ARRAY_TASK_COUNT: expected the number of array "
                                    "tasks from 1 to 1000000, found '1000001'"},
    {"2", "3", NULL, "3", "1", "SLURM_ARRAY_TASK_MIN: expected the first array task ID from 0 "
                               "to 4000000 (SLURM_ARRAY_TASK_ID is set), found it unset"},
    {"2", "3", "1 ", "3", "1", "SLURM_ARRAY_TASK_MIN: expected the first array task ID from 0 "
                               "to 4000000, found '1 '"},
    {"2", "3", "1", NULL, "1", "SLURM_ARRAY_TASK_MAX: expected the last array task ID from 0 "
                               "to 4000000 (SLURM_ARRAY_TASK_ID is set), found it unset"},
    {"2", "3", "1", "3", "0", "SLURM_ARRAY_TASK_STEP: expected the step between array task "
                              "IDs from 1 to 4000000, found '0'"},
    /* --array=1,3,7: not evenly spaced */
    {"3", "3", "1", "7", "1", "SLURM_ARRAY_TASK_MAX: expected 3 (SLURM_ARRAY_TASK_MIN + "
                              "(SLURM_ARRAY_TASK_COUNT - 1) x SLURM_ARRAY_TASK_STEP = 1 + (3 - "
                              "1) x 1: shards need evenly spaced task IDs, --array=A-B or "
                              "A-B:S), found '7'"},
    {"0", "3", "1", "3", "1", "SLURM_ARRAY_TASK_ID: expected one of the array's task IDs, 1 to "
                              "3 by 1 (SLURM_ARRAY_TASK_MIN to SLURM_ARRAY_TASK_MAX by "
                              "SLURM_ARRAY_TASK_STEP), found '0'"},
    {"4", "3", "1", "3", "1", "SLURM_ARRAY_TASK_ID: expected one of the array's task IDs, 1 to "
                              "3 by 1 (SLURM_ARRAY_TASK_MIN to SLURM_ARRAY_TASK_MAX by "
                              "SLURM_ARRAY_TASK_STEP), found '4'"},
    {"4", "3", "0", "6", "3", "SLURM_ARRAY_TASK_ID: expected one of the array's task IDs, 0 to "
                              "6 by 3 (SLURM_ARRAY_TASK_MIN to SLURM_ARRAY_TASK_MAX by "
                              "SLURM_ARRAY_TASK_STEP), found '4'"},
};

START_TEST(slurm_array_bad_values)
{
    char dir[] = "/tmp/clustersim-sweep-slurm-bad-XXXXXX", args[512], want[1024], db[256];
    char *out, *err;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/s.db", dir);
    slurm_env(slurm_bad[_i].id, slurm_bad[_i].count, slurm_bad[_i].min, slurm_bad[_i].max,
              slurm_bad[_i].step);
    snprintf(args, sizeof args, "sweep --quiet --db %s " TINY, db);
    ck_assert_int_eq(th_run(args, &out, &err), 2);
    slurm_env(NULL, NULL, NULL, NULL, NULL);
    ck_assert_str_eq(out, "");
    snprintf(want, sizeof want, "clustersim sweep: environment variable %s" SLURM_HINT "\n",
             slurm_bad[_i].msg);
    ck_assert_str_eq(err, want);
    ck_assert_int_ne(access(db, F_OK), 0); /* nothing ran */
    free(out);
    free(err);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* scale multiplies what it names: chip peak and HBM bandwidth, NVLink, fabric and NIC links,
 * latencies; 1 leaves a figure as it is. */
START_TEST(scale_knobs)
{
    plan *a = th_load("configs/quickstart.yaml", NULL);
    static const char *const sets[] = {"scale.flops=3", "scale.hbm_bw=1.5",
                                       "scale.scale_up_bw=2", "scale.scale_out_bw=0.5",
                                       "scale.latency=4", NULL};
    plan *b = th_load("configs/quickstart.yaml", sets);
    const hw_chip *ca = topo_chip_hw(plan_topo(a), 0), *cb = topo_chip_hw(plan_topo(b), 0);
    ck_assert_double_eq(cb->peak_bf16_flops, 3 * ca->peak_bf16_flops);
    ck_assert_double_eq(cb->peak_fp8_flops, 3 * ca->peak_fp8_flops);
    ck_assert_double_eq(cb->hbm_Bps, 1.5 * ca->hbm_Bps);
    ck_assert_double_eq(cb->hbm_bytes, ca->hbm_bytes);
    const net_graph *ga = topo_graph(plan_topo(a)), *gb = topo_graph(plan_topo(b));
    for (size_t l = 0; l < net_graph_link_count(ga); l++) {
        const net_link *x = net_graph_link(ga, (net_link_id)l), *y = net_graph_link(gb, (net_link_id)l);
        double k = x->kind == NET_LINK_NVLINK ? 2 : 0.5;
        ck_assert_double_eq(y->bw_Bps, k * x->bw_Bps);
        ck_assert_int_eq(y->lat_ps, 4 * x->lat_ps);
    }
    plan_destroy(a);
    plan_destroy(b);
    /* a multiplier must be positive */
    plan *p = NULL;
    sim_status st;
    ydoc_override ov = {"scale.flops", "0", "--set scale.flops=0"};
    ck_assert_int_eq(plan_load("configs/quickstart.yaml", &ov, 1, &p, &st), SIM_ERR_INPUT);
    char msg[512];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set scale.flops=0: error: key 'flops': expected a multiplier above "
                          "0 (1 leaves it as it is), found 0");
}
END_TEST

int main(void)
{
    /* run inside a Slurm array task, every sweep here would take its shard */
    unsetenv("SLURM_ARRAY_TASK_ID");
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grid_expansion);
    tcase_add_loop_test(tc, bad_sweep_sections, 0,
                        (int)(sizeof bad_sweeps / sizeof bad_sweeps[0]));
    tcase_add_test(tc, set_values_name_the_points);
    tcase_add_test(tc, points_write_no_trace);
    tcase_add_test(tc, runs_resume_shards_and_merge);
    tcase_add_loop_test(tc, slurm_array_shard, 0,
                        (int)(sizeof slurm_tasks / sizeof slurm_tasks[0]));
    tcase_add_test(tc, slurm_array_list);
    tcase_add_loop_test(tc, slurm_array_bad_values, 0,
                        (int)(sizeof slurm_bad / sizeof slurm_bad[0]));
    tcase_add_test(tc, scale_knobs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
