/*
 * test_goodput.c: a plan's whole training run under failures (rel/rel_goodput.h), its
 * reliability section (workload/plan.h) and its database rows (out/record_rel.h).
 * - Where Daly's assumptions hold (exponential stopping failures, synchronous checkpoints,
 *   spares for every failed node, degradations that cost nothing), the Monte Carlo mean
 *   wall time of `goodput` matches Daly's expected wall within 3 standard errors, at the
 *   auto interval and across an interval sweep, and the simulated optimum lies next to
 *   Daly's interval.
 * - The run's length, checkpoint costs and intervals follow from the section by hand:
 *   steps = ceil(tokens / tokens per step), block = write (sync) or snapshot (async), Daly's
 *   interval in steps; the figures are the means of the seeds' runs.
 * - Every figure reaches its table bit for bit; the row counts are the points, seeds,
 *   classes and logged interruptions.
 * - A WAN link's failure stops a synchronous job until the link is repaired and stalls a
 *   DiLoCo one without losing work; it never fails unless the topology says so.
 * - Every bad value of the section is refused with its place, key, expectation and finding.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"
#include "out/db.h"
#include "out/record.h"
#include "out/record_rel.h"
#include "rel/rel_ckpt.h"
#include "rel/rel_fleet.h"
#include "rel/rel_goodput.h"

#define CFG "tests/fixtures/good/rel-cfg.yaml"

static void run_goodput(const char *const *sets, const rel_goodput_opts *o,
                        rel_goodput_result *g, plan **pp)
{
    plan *p = th_load(CFG, sets);
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(rel_goodput_run(p, o, g, &st) == SIM_OK, "%s", st.msg);
    *pp = p;
}

START_TEST(monte_carlo_matches_daly_where_it_holds)
{
    /* a step of 60 s fixed, 2,000 steps (33.3 h of work); no degraded replays; spares for
     * every failure; a checkpoint of ~0.1 s, so make failures frequent: software failures
     * every 100 h per node (8 nodes: the fleet's MTBF is set by the classes below) */
    static const char *const sets[] = {"reliability.step_time=60 s",
                                       "reliability.steps=2000",
                                       "reliability.degraded_replays=false",
                                       "reliability.spare_nodes=100000",
                                       "reliability.seeds=2000",
                                       "topology.failures.software.mtbf=40 h",
                                       "topology.storage.aggregate=1 GB/s",
                                       "topology.storage.per_node=0.1 GB/s",
                                       NULL};
    rel_goodput_opts o = {.sweep = true};
    rel_goodput_result g;
    plan *p;
    run_goodput(sets, &o, &g, &p);
    ck_assert(!g.replayed);
    ck_assert(g.step_s == 60);
    ck_assert_int_eq(g.steps, 2000);
    ck_assert_uint_eq(g.n_points, REL_SWEEP_FACTORS);
    for (size_t i = 0; i < g.n_points; i++) {
        /* Daly's is the expected wall time (ETTR = work over it): the mean of the seeds'
         * ETTR is above work over their mean wall (Jensen), so walls are compared */
        const rel_goodput_point *pt = &g.points[i];
        double se = pt->wall_s.sd / sqrt((double)pt->n_runs), want = g.work_s / pt->daly_ettr;
        ck_assert_msg(fabs(pt->wall_s.mean - want) <= 3 * se,
                      "interval %lld: Monte Carlo %.1f s +- %.1f, Daly %.1f s",
                      (long long)pt->save_interval, pt->wall_s.mean, se, want);
        if (i)
            ck_assert(pt->save_interval > g.points[i - 1].save_interval);
    }
    /* the simulated optimum is Daly's interval or one of its neighbours in the sweep */
    const rel_goodput_point *m = &g.points[g.main], *b = &g.points[g.best];
    ck_assert_str_eq(m->source, "daly");
    ck_assert_int_eq(m->save_interval, g.daly_steps);
    ck_assert(b->interval_s >= 0.5 * g.daly_s && b->interval_s <= 2 * g.daly_s);
    rel_goodput_free(&g);
    plan_destroy(p);
}
END_TEST

START_TEST(figures_follow_from_the_section)
{
    static const char *const sets[] = {"reliability.step_time=2 s",
                                       "reliability.tokens=1.5M",
                                       "reliability.save_interval=40",
                                       "reliability.async_save=true",
                                       "reliability.seeds=50",
                                       "reliability.degraded_replays=false",
                                       "topology.failures.software.mtbf=2 h",
                                       NULL};
    rel_goodput_opts o = {.intervals = (int64_t[]){10, 40}, .n_intervals = 2, .log_seeds = 3};
    rel_goodput_result g;
    plan *p;
    run_goodput(sets, &o, &g, &p);
    /* 16 sequences of 1,024 tokens per step: 1.5M / 16,384 = 91.55 -> 92 steps */
    ck_assert(g.tokens_per_step == 16384);
    ck_assert_int_eq(g.steps, 92);
    ck_assert(g.tokens == 92 * 16384.0);
    ck_assert(g.ckpt_bytes == rel_checkpoint_bytes(p));
    ck_assert(g.ckpt_block_s == rel_checkpoint_snapshot_s(p)); /* async: the snapshot */
    ck_assert(g.ckpt_drain_s == rel_checkpoint_write_s(p));
    ck_assert(g.recovery_s == 120 + 480 + g.reload_s + 120);
    /* 40 (the section's) and 10 (the option's): two points, sorted; 40 is the main one */
    ck_assert_uint_eq(g.n_points, 2);
    ck_assert_int_eq(g.points[0].save_interval, 10);
    ck_assert_int_eq(g.points[1].save_interval, 40);
    ck_assert_uint_eq(g.main, 1);
    ck_assert_str_eq(g.points[1].source, "set");
    ck_assert_str_eq(g.points[0].source, "option");
    for (size_t i = 0; i < g.n_points; i++) {
        const rel_goodput_point *pt = &g.points[i];
        double e = 0, w = 0, f = 0, intr = 0;
        for (int64_t s = 0; s < pt->n_runs; s++) {
            e += pt->runs[s].ettr;
            w += pt->runs[s].wall_s;
            intr += (double)(pt->runs[s].interruptions + pt->runs[s].degradations);
            ck_assert(fabs(pt->runs[s].ettr * pt->runs[s].wall_s - 184) < 1e-9);
            /* the log is kept for the main interval's first 3 seeds only */
            ck_assert_int_eq(pt->runs[s].log != NULL, i == g.main && s < 3 &&
                                                          pt->runs[s].interruptions > 0);
        }
        for (size_t c = 0; c < g.n_classes; c++)
            f += pt->failures[c];
        ck_assert(fabs(pt->ettr.mean - e / 50) < 1e-12);
        ck_assert(fabs(pt->wall_s.mean - w / 50) < 1e-9);
        ck_assert(fabs(f - intr / 50) < 1e-9);
        ck_assert(fabs(pt->goodput_tokens_per_s - g.tokens / pt->wall_s.mean) < 1e-9);
    }
    rel_goodput_free(&g);
    plan_destroy(p);
}
END_TEST

static double q_double(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(c, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    double v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
}

START_TEST(rows_reach_the_database)
{
    static const char *const sets[] = {"reliability.step_time=2 s",
                                       "reliability.steps=5000",
                                       "reliability.seeds=7",
                                       "reliability.degraded_replays=false",
                                       "topology.failures.software.mtbf=20 h",
                                       "topology.failures.nic.mtbf=never",
                                       NULL};
    rel_goodput_opts o = {.sweep = true, .log_seeds = 2};
    rel_goodput_result g;
    plan *p;
    run_goodput(sets, &o, &g, &p);
    char dir[] = "/tmp/test_goodput.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.db", dir);
    db *d = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(db_open(path, &d, &st), SIM_OK);
    db_goodput_rows rows = {&g, NULL};
    db_record_src src = {"goodput", plan_config_path(p), NULL, 0, NULL, db_record_goodput,
                         &rows, 0};
    int64_t id = 0;
    ck_assert_msg(db_record_run(d, p, NULL, NULL, &src, &id, &st) == SIM_OK, "%s", st.msg);
    db_close(d);
    sqlite3 *c = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert(q_double(c, "SELECT count(*) FROM goodput") == (double)g.n_points);
    ck_assert(q_double(c, "SELECT count(*) FROM goodput_seed") == (double)(g.n_points * 7));
    ck_assert(q_double(c, "SELECT count(*) FROM goodput_cause") ==
              (double)(g.n_points * g.n_classes));
    double logged = (double)(g.points[g.main].runs[0].n_log + g.points[g.main].runs[1].n_log);
    ck_assert(logged > 0);
    ck_assert(q_double(c, "SELECT count(*) FROM goodput_interruption") == logged);
    ck_assert(q_double(c, "SELECT sum(is_main) FROM goodput") == 1);
    /* a part that never fails: its mean life is NULL, not an infinity */
    ck_assert(q_double(c, "SELECT count(*) FROM goodput_cause WHERE cause = 'nic' AND "
                          "mtbf_s IS NULL") == (double)g.n_points);
    char sql[256];
    for (size_t i = 0; i < g.n_points; i++) {
        const rel_goodput_point *pt = &g.points[i];
        snprintf(sql, sizeof sql, "SELECT ettr_mean FROM goodput WHERE save_interval = %lld",
                 (long long)pt->save_interval);
        ck_assert(q_double(c, sql) == pt->ettr.mean);
        snprintf(sql, sizeof sql,
                 "SELECT wall_s_ci95 FROM goodput WHERE save_interval = %lld",
                 (long long)pt->save_interval);
        ck_assert(q_double(c, sql) == pt->wall_s.ci_half);
        snprintf(sql, sizeof sql,
                 "SELECT avg(ettr) FROM goodput_seed WHERE save_interval = %lld",
                 (long long)pt->save_interval);
        ck_assert(fabs(q_double(c, sql) - pt->ettr.mean) < 1e-12);
    }
    /* a run without a replay: no step rows, the run row 'ok' */
    ck_assert(q_double(c, "SELECT count(*) FROM step") == 0);
    ck_assert(q_double(c, "SELECT count(*) FROM run WHERE status = 'ok' AND "
                          "command = 'goodput'") == 1);
    sqlite3_close(c);
    unlink(path);
    char wal[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    rel_goodput_free(&g);
    plan_destroy(p);
}
END_TEST

START_TEST(wan_links_fail_by_scheme)
{
    /* the two sites' one WAN link: a sync job stops until it is repaired; DiLoCo's sites
     * train on and stall; a job inside one site has no wan class */
    static const struct {
        const char *cfg;
        rel_effect effect;
        bool wait;
    } cases[] = {{"tests/fixtures/good/mdc-sync.yaml", REL_STOP, true},
                 {"tests/fixtures/good/mdc-diloco.yaml", REL_STALL, false}};
    static const char *const sets[] = {"reliability.step_time=1 s",
                                       "reliability.steps=100000",
                                       "reliability.seeds=20",
                                       "reliability.degraded_replays=false",
                                       "topology.failures.wan.mtbf=10 h",
                                       NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plan *p = th_load(cases[i].cfg, sets);
        rel_goodput_result g;
        sim_status st;
        ck_assert_msg(rel_goodput_run(p, NULL, &g, &st) == SIM_OK, "%s", st.msg);
        const rel_class *w = rel_fleet_find(g.classes, g.n_classes, "wan");
        ck_assert_ptr_nonnull(w);
        ck_assert_int_eq(w->count, 1);
        ck_assert_int_eq(w->effect, cases[i].effect);
        ck_assert_int_eq(w->wait_repair, cases[i].wait);
        ck_assert(w->life.mean_s == 36000);
        ck_assert(w->repair.mean_s == 12 * 3600.0); /* the default repair: 12 h */
        const rel_goodput_point *m = &g.points[g.main];
        size_t k = (size_t)(w - g.classes);
        ck_assert(m->failures[k] > 0);
        if (cases[i].effect == REL_STALL)
            ck_assert(m->stalls_per_day > 0 && m->lost_s[k] == 0);
        else
            ck_assert(m->lost_s[k] > 0 && m->stalls_per_day == 0);
        rel_goodput_free(&g);
        plan_destroy(p);
    }
    /* never by default */
    static const char *const one[] = {"reliability.step_time=1 s", NULL};
    plan *p = th_load("tests/fixtures/good/mdc-sync.yaml", one);
    rel_goodput_result g;
    sim_status st;
    ck_assert_int_eq(rel_goodput_run(p, NULL, &g, &st), SIM_OK);
    const rel_class *w = rel_fleet_find(g.classes, g.n_classes, "wan");
    ck_assert_ptr_nonnull(w);
    ck_assert(isinf(w->life.mean_s));
    rel_goodput_free(&g);
    plan_destroy(p);
    p = th_load(CFG, one);
    ck_assert_int_eq(rel_goodput_run(p, NULL, &g, &st), SIM_OK);
    ck_assert_ptr_null(rel_fleet_find(g.classes, g.n_classes, "wan"));
    rel_goodput_free(&g);
    plan_destroy(p);
}
END_TEST

START_TEST(bad_sections_are_refused)
{
    static const struct {
        const char *set, *want;
    } bad[] = {
        {"reliability.tokens=lots", "key 'tokens': expected a count of tokens such as '15.6T' "
                                    "or '2e12' (K, M, B, T: 10^3 to 10^12), found 'lots'"},
        {"reliability.tokens=15.6X", "key 'tokens': expected a count of tokens such as "
                                     "'15.6T' or '2e12' (K, M, B, T: 10^3 to 10^12), found "
                                     "'15.6X'"},
        {"reliability.save_interval=often", "key 'save_interval': expected steps between "
                                            "checkpoints (an integer from 1) or 'auto' "
                                            "(Daly's optimum), found 'often'"},
        {"reliability.save_interval=0", "key 'save_interval': expected steps between "
                                        "checkpoints (an integer from 1) or 'auto' (Daly's "
                                        "optimum), found '0'"},
        {"reliability.detect=-1 s", "key 'detect': expected a duration > 0, found '-1 s'"},
        {"reliability.restart=40 d", "key 'restart': expected a duration up to 30 days, found "
                                     "3.456e+06 s"},
        {"reliability.step_time=0 s", "key 'step_time': expected a duration > 0, found '0 s'"},
        {"reliability.seeds=0", "key 'seeds': expected an integer in [1, 100000], found '0'"},
        {"reliability.async_save=maybe", "key 'async_save': expected true or false, found "
                                         "'maybe'"},
        {"reliability.warmpu=1 min", "unknown key 'warmpu' in reliability (did you mean "
                                     "'warmup'?); expected one of: tokens, steps, "
                                     "save_interval, async_save, detect, restart, warmup, "
                                     "spare_nodes, dual_homed, seeds, step_time, "
                                     "degraded_replays"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char key[64], origin[128], want[512], msg[512];
        const char *eq = strchr(bad[i].set, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - bad[i].set), bad[i].set);
        snprintf(origin, sizeof origin, "--set %s", bad[i].set);
        ydoc_override ov = {key, eq + 1, origin};
        plan *p = NULL;
        sim_status st;
        sim_status_clear(&st);
        ck_assert_int_eq(plan_load(CFG, &ov, 1, &p, &st), SIM_ERR_INPUT);
        sim_status_format(&st, msg, sizeof msg);
        snprintf(want, sizeof want, "%s: error: %s", origin, bad[i].want);
        ck_assert_str_eq(msg, want);
    }
    /* tokens and steps together: refused at steps */
    ydoc_override two[2] = {{"reliability.tokens", "1T", "--set reliability.tokens=1T"},
                            {"reliability.steps", "10", "--set reliability.steps=10"}};
    plan *p = NULL;
    sim_status st;
    char msg[512];
    sim_status_clear(&st);
    ck_assert_int_eq(plan_load(CFG, two, 2, &p, &st), SIM_ERR_INPUT);
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set reliability.steps=10: error: key 'steps': expected either "
                          "tokens or steps, found both");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("goodput");
    TCase *tc = tcase_create("goodput");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, monte_carlo_matches_daly_where_it_holds);
    tcase_add_test(tc, figures_follow_from_the_section);
    tcase_add_test(tc, rows_reach_the_database);
    tcase_add_test(tc, wan_links_fail_by_scheme);
    tcase_add_test(tc, bad_sections_are_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
