/*
 * test_rel.c: one training run under failures (rel/rel.h) against hand computations and
 * Daly's closed form.
 * - With exponential failures that stop the job, a constant restart and synchronous
 *   checkpoints, the mean wall time over seeds converges to Daly's expected time (each
 *   segment M e^{R/M} (e^{L/M} - 1)), within 3 standard errors and 1%.
 * - Every wall second lands in one bucket: wall = work + checkpoints + drain waits + lost +
 *   down + slow.
 * - The same seed gives the same run and log; Weibull of shape 1 is the exponential.
 * - Spares: with enough, a restart takes detect + restart + reload + warm-up exactly;
 *   without, it waits for the repair.
 * - A degradation slows the steps it overlaps by its factor; asynchronous checkpoints cost
 *   only their snapshot while the write keeps up.
 * - A stall pauses training and loses nothing; a stop that waits for its repair restarts no
 *   sooner than the repair, one that does not after detect + restart exactly.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "rel/rel.h"

static rel_class stop_class(const char *name, int64_t count, double mean_s, int64_t nodes)
{
    rel_class c = {.count = count, .life = {REL_EXPONENTIAL, mean_s, 0}, .effect = REL_STOP,
                   .nodes = nodes, .repair = {REL_LOGNORMAL, 3600, 0.5}};
    snprintf(c.name, sizeof c.name, "%s", name);
    return c;
}

static void check_partition(const rel_job *j, const rel_run *r)
{
    double sum = j->step_s * (double)j->steps + r->ckpt_s + r->drain_wait_s;
    for (size_t i = 0; i < r->n_classes; i++)
        sum += r->lost_s[i] + r->down_s[i] + r->slow_s[i];
    ck_assert_msg(fabs(sum - r->wall_s) <= 1e-9 * r->wall_s, "buckets %.12g, wall %.12g", sum,
                  r->wall_s);
}

START_TEST(monte_carlo_converges_to_daly)
{
    /* W = 100 h of steps of 60 s, M = 10 h, checkpoints of 0.2 h every 2 h, restart 0.25 h */
    const double h = 3600;
    rel_job j = {.step_s = 60, .steps = 6000, .ckpt_steps = 120, .ckpt_block_s = 0.2 * h,
                 .detect_s = 0.05 * h, .restart_s = 0.1 * h, .reload_s = 0.07 * h,
                 .warmup_s = 0.03 * h};
    rel_class c = stop_class("software", 4, 40 * h, 0);
    const size_t seeds = 4000;
    double *wall = malloc(seeds * sizeof *wall);
    for (size_t s = 0; s < seeds; s++) {
        rel_run r;
        sim_status st;
        ck_assert_int_eq(rel_simulate(&j, &c, 1, s + 1, 0, &r, &st), SIM_OK);
        check_partition(&j, &r);
        wall[s] = r.wall_s;
        rel_run_free(&r);
    }
    sim_stats m;
    sim_stats_summarize(wall, seeds, 0.95, &m);
    double M = rel_fleet_mtbf_s(&c, 1);
    ck_assert(fabs(M - 10 * h) < 1e-6);
    double want = rel_daly_wall_s(100 * h, 2 * h, 0.2 * h, 0.25 * h, M);
    /* hand: 10 e^0.025 (49 (e^0.22 - 1) + e^0.2 - 1) = 125.90 h */
    ck_assert(fabs(want / h - 10 * exp(0.025) * (49 * expm1(0.22) + expm1(0.2))) < 1e-9);
    double se = m.sd / sqrt((double)seeds);
    ck_assert_msg(fabs(m.mean - want) <= 3 * se && fabs(m.mean / want - 1) < 0.01,
                  "Monte Carlo %.4f h +- %.4f, Daly %.4f h", m.mean / h, se / h, want / h);
    free(wall);
}
END_TEST

START_TEST(intervals_young_and_daly)
{
    /* M = 10 h, delta = 0.2 h: Young sqrt(4) = 2 h; Daly 2 (1 + sqrt(0.01) / 3 + 0.01 / 9)
     * - 0.2 */
    ck_assert(fabs(rel_young_interval_s(10, 0.2) - 2) < 1e-12);
    ck_assert(fabs(rel_daly_interval_s(10, 0.2) - (2 * (1 + 0.1 / 3 + 0.01 / 9) - 0.2)) < 1e-12);
    ck_assert(rel_daly_interval_s(1, 3) == 1); /* delta >= 2M: M */
}
END_TEST

START_TEST(same_seed_same_log)
{
    rel_job j = {.step_s = 10, .steps = 100000, .ckpt_steps = 500, .ckpt_block_s = 30,
                 .detect_s = 60, .restart_s = 120, .reload_s = 60, .warmup_s = 30,
                 .spare_nodes = 4};
    rel_class c[2] = {stop_class("gpu", 1000, 4e6, 1), stop_class("leaf", 20, 2e6, 8)};
    rel_run a, b, d;
    sim_status st;
    ck_assert_int_eq(rel_simulate(&j, c, 2, 7, 1, &a, &st), SIM_OK);
    ck_assert_int_eq(rel_simulate(&j, c, 2, 7, 1, &b, &st), SIM_OK);
    ck_assert_int_eq(rel_simulate(&j, c, 2, 8, 1, &d, &st), SIM_OK);
    ck_assert(a.n_log > 10);
    ck_assert_uint_eq(a.n_log, b.n_log);
    for (size_t i = 0; i < a.n_log; i++) {
        ck_assert(a.log[i].t_s == b.log[i].t_s && a.log[i].cls == b.log[i].cls);
        ck_assert(a.log[i].lost_s == b.log[i].lost_s && a.log[i].down_s == b.log[i].down_s);
    }
    ck_assert(a.wall_s == b.wall_s);
    ck_assert(a.wall_s != d.wall_s);
    check_partition(&j, &a);
    rel_run_free(&a);
    rel_run_free(&b);
    rel_run_free(&d);
}
END_TEST

START_TEST(weibull_of_shape_one_is_exponential)
{
    rel_job j = {.step_s = 10, .steps = 50000, .ckpt_steps = 300, .ckpt_block_s = 20,
                 .detect_s = 60, .restart_s = 60};
    rel_class e = stop_class("gpu", 500, 3e6, 0), w = e;
    w.life = (rel_law){REL_WEIBULL, 3e6, 1.0};
    rel_run a, b;
    sim_status st;
    ck_assert_int_eq(rel_simulate(&j, &e, 1, 3, 0, &a, &st), SIM_OK);
    ck_assert_int_eq(rel_simulate(&j, &w, 1, 3, 0, &b, &st), SIM_OK);
    ck_assert(a.interruptions > 5);
    ck_assert_int_eq(a.interruptions, b.interruptions);
    ck_assert(fabs(a.wall_s - b.wall_s) <= 1e-9 * a.wall_s);
    /* a shape below 1 front-loads the failures of a fresh fleet: more of them early */
    w.life.shape = 0.5;
    rel_run c;
    ck_assert_int_eq(rel_simulate(&j, &w, 1, 3, 0, &c, &st), SIM_OK);
    ck_assert(c.interruptions > a.interruptions);
    rel_run_free(&a);
    rel_run_free(&b);
    rel_run_free(&c);
    /* lognormal lifetimes are refused */
    w.life.dist = REL_LOGNORMAL;
    ck_assert_int_eq(rel_simulate(&j, &w, 1, 3, 0, &c, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "failures of 'gpu': expected an exponential or a Weibull lifetime "
                             "(shape above 0); lognormal is for repair times");
}
END_TEST

START_TEST(spares_and_repairs)
{
    rel_job j = {.step_s = 10, .steps = 50000, .ckpt_steps = 300, .ckpt_block_s = 20,
                 .detect_s = 60, .restart_s = 120, .reload_s = 45, .warmup_s = 15,
                 .spare_nodes = 1000};
    rel_class c = stop_class("gpu", 200, 2e6, 1);
    c.repair = (rel_law){REL_LOGNORMAL, 3600, 1.0};
    rel_run r;
    sim_status st;
    ck_assert_int_eq(rel_simulate(&j, &c, 1, 11, 1, &r, &st), SIM_OK);
    ck_assert(r.n_log > 5);
    for (size_t i = 0; i < r.n_log; i++) /* plenty of spares: never waits for a repair */
        ck_assert(fabs(r.log[i].down_s - 240) < 1e-9);
    double with_spares = r.wall_s;
    rel_run_free(&r);
    j.spare_nodes = 0; /* every restart waits for its node's repair, an hour on average */
    ck_assert_int_eq(rel_simulate(&j, &c, 1, 11, 1, &r, &st), SIM_OK);
    for (size_t i = 0; i < r.n_log; i++)
        ck_assert(r.log[i].down_s >= 240);
    ck_assert(r.wall_s > with_spares + 3600);
    check_partition(&j, &r);
    rel_run_free(&r);
    /* repairs of a day while a node fails every 10^4 s: never finishes, an error */
    c.count = 2000;
    c.repair.mean_s = 86400;
    ck_assert_int_eq(rel_simulate(&j, &c, 1, 11, 0, &r, &st), SIM_ERR_INPUT);
    ck_assert_msg(strstr(st.msg, "training never finishes: after ") == st.msg, "%s", st.msg);
}
END_TEST

START_TEST(degradation_and_async_checkpoints)
{
    /* no failures: async checkpoints cost their snapshots only, while the write keeps up */
    rel_job j = {.step_s = 1, .steps = 10000, .ckpt_steps = 1000, .ckpt_block_s = 5,
                 .ckpt_drain_s = 400};
    rel_run r;
    sim_status st;
    ck_assert_int_eq(rel_simulate(&j, NULL, 0, 1, 0, &r, &st), SIM_OK);
    ck_assert_int_eq(r.checkpoints, 9);
    ck_assert(fabs(r.wall_s - (10000 + 9 * 5)) < 1e-9);
    rel_run_free(&r);
    /* a write slower than the interval: each checkpoint waits for the previous one's */
    j.ckpt_drain_s = 1500;
    ck_assert_int_eq(rel_simulate(&j, NULL, 0, 1, 0, &r, &st), SIM_OK);
    ck_assert(fabs(r.drain_wait_s - 8 * (1500 - 1000)) < 1e-9); /* the snapshot follows the wait */
    check_partition(&j, &r);
    rel_run_free(&r);
    /* degradations that double the steps until repaired (an hour and a half on average) */
    rel_job k = {.step_s = 1, .steps = 100000};
    rel_class d = {.count = 1, .life = {REL_EXPONENTIAL, 20000, 0}, .effect = REL_DEGRADE,
                   .slowdown = 1, .repair = {REL_EXPONENTIAL, 5400, 0}};
    snprintf(d.name, sizeof d.name, "spine");
    ck_assert_int_eq(rel_simulate(&k, &d, 1, 5, 0, &r, &st), SIM_OK);
    ck_assert_int_eq(r.degradations, r.failures[0]);
    ck_assert(r.degradations >= 1);
    ck_assert_int_eq(r.interruptions, 0);
    check_partition(&k, &r);
    ck_assert(r.slow_s[0] > 0);
    rel_run_free(&r);
}
END_TEST

START_TEST(stalls_and_repair_waits)
{
    /* a stall pauses training and loses nothing: every wall second beyond the work and the
     * checkpoints is the stalling class's down time */
    rel_job j = {.step_s = 10, .steps = 20000, .ckpt_steps = 100, .ckpt_block_s = 5,
                 .detect_s = 60, .restart_s = 120};
    rel_class w = stop_class("wan", 1, 20 * 3600.0, 0);
    w.effect = REL_STALL;
    w.repair = (rel_law){REL_LOGNORMAL, 12 * 3600.0, 1.0};
    rel_run r;
    sim_status st;
    ck_assert_int_eq(rel_simulate(&j, &w, 1, 2, 0, &r, &st), SIM_OK);
    ck_assert(r.stalls >= 1);
    ck_assert_int_eq(r.interruptions, 0);
    ck_assert(r.lost_s[0] == 0);
    ck_assert(r.down_s[0] > 0);
    ck_assert_int_eq(r.checkpoints, 199);
    ck_assert(fabs(r.wall_s - (200000 + 199 * 5 + r.down_s[0])) <= 1e-9 * r.wall_s);
    check_partition(&j, &r);
    rel_run_free(&r);
    /* a stop that waits for its part's repair: down = max(detect + restart, repair) */
    rel_class s = stop_class("wan", 1, 20 * 3600.0, 0);
    s.repair = (rel_law){REL_LOGNORMAL, 3600, 1.0};
    ck_assert_int_eq(rel_simulate(&j, &s, 1, 2, 1, &r, &st), SIM_OK);
    ck_assert(r.n_log >= 1);
    for (size_t i = 0; i < r.n_log; i++)
        ck_assert(fabs(r.log[i].down_s - 180) < 1e-9); /* no wait: restarts in 180 s */
    rel_run_free(&r);
    s.wait_repair = true;
    ck_assert_int_eq(rel_simulate(&j, &s, 1, 2, 1, &r, &st), SIM_OK);
    int longer = 0;
    for (size_t i = 0; i < r.n_log; i++) {
        ck_assert(r.log[i].down_s >= 180 - 1e-9);
        longer += r.log[i].down_s > 180 + 1e-9;
    }
    ck_assert(longer >= 1); /* repairs of an hour on average outlast 3 minutes */
    check_partition(&j, &r);
    rel_run_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rel");
    TCase *tc = tcase_create("rel");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, monte_carlo_converges_to_daly);
    tcase_add_test(tc, intervals_young_and_daly);
    tcase_add_test(tc, same_seed_same_log);
    tcase_add_test(tc, weibull_of_shape_one_is_exponential);
    tcase_add_test(tc, spares_and_repairs);
    tcase_add_test(tc, degradation_and_async_checkpoints);
    tcase_add_test(tc, stalls_and_repair_waits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
