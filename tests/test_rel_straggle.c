/*
 * test_rel_straggle.c: stragglers across a run (rel/rel_straggle.h) and `clustersim
 * stragglers`.
 *
 * - Hand computation: data-parallel only, gradients reduced after the backward pass, so each
 *   rank computes (C before the all-reduce), all-reduces (A, the same for all), then steps
 *   its optimizer (C' after); the baseline step is C + C' + A (the ranks alike). A chip slowed
 *   by f takes f C to reach the all-reduce, which waits for it, and f C' after, so the step
 *   is the baseline + (f - 1)(C + C') = baseline + (f - 1) x its baseline compute_s. Two slow
 *   chips on two nodes (f = 1.5, 2): the slower gates (+ 1 x compute_s), replacing the slowest
 *   node leaves the other's (+ 0.5 x compute_s), replacing both the baseline. exec rounds
 *   each op's slowed time to the picosecond (exec.c), half a picosecond at most per op, some
 *   tens of picoseconds over the step here: the comparisons hold to 1e-9 s.
 * - Draws: draw i's factors are plan_load's for run.seed + i; the same seed gives the same
 *   distribution; the statistics are ordered and the mean is the draws'.
 * - Dropping k >= the slowed nodes gives the baseline, checked by replaying the factors
 *   rel_straggle_drop leaves, and fewer leaves exactly the other nodes slowed.
 * - The CLI's refusals, with their messages.
 * Fixtures: tests/fixtures/good/rel-strag-dp.yaml (dp 16 on two nodes, dc0/n1/c3 1.5x slow),
 * rel-strag-draw.yaml (dp 64 on 8 nodes, 10% of the chips drawn slow).
 */
#include <check.h>
#define CLUSTERSIM_TEST_PLANS
#define CLUSTERSIM_TEST_CLI
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "rel/rel_straggle.h"
#include "workload/plan.h"

#define DP "tests/fixtures/good/rel-strag-dp.yaml"
#define DRAW "tests/fixtures/good/rel-strag-draw.yaml"

/* One replay of p with factors f (NULL: the plan's own). */
static exec_result replay(plan *p, const double *f)
{
    exec_opts o = {.slowdown = f};
    exec_result r;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(exec_run(p, &o, &r, &st) == SIM_OK, "%s", st.msg);
    return r;
}

static rel_straggle_result strag(plan *p, int64_t seeds, const int64_t *drop, size_t n_drop)
{
    rel_straggle_opts o = {.seeds = seeds, .drop = drop, .n_drop = n_drop};
    rel_straggle_result r;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(rel_straggle_run(p, &o, &r, &st) == SIM_OK, "%s", st.msg);
    return r;
}

static double *ones(const plan *p)
{
    size_t n = topo_chip_count(plan_topo(p));
    double *f = malloc(n * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (size_t c = 0; c < n; c++)
        f[c] = 1;
    return f;
}

START_TEST(a_straggler_slows_the_step_as_hand_computed)
{
    plan *p = th_load(DP, NULL);
    double *f1 = ones(p);
    exec_result b = replay(p, f1); /* the baseline, no straggler */
    /* the ranks are alike: every rank computes the same */
    for (int i = 1; i < 16; i++)
        ck_assert_double_eq(b.ranks[i].compute_s, b.ranks[0].compute_s);
    double c = b.ranks[11].compute_s; /* dc0/n1/c3 is chip (and rank) 8 + 3 */
    ck_assert(c > 0 && c < b.step_time_s);
    int64_t drop[] = {1, 2, 4};
    rel_straggle_result r = strag(p, 1, drop, 3);
    ck_assert_double_eq(r.baseline_s, b.step_time_s);
    ck_assert_int_eq(r.slow_chips[0], 1);
    ck_assert_int_eq(r.slow_nodes[0], 1);
    ck_assert_int_eq(r.chips, 16);
    ck_assert_int_eq(r.nodes, 2);
    double want = b.step_time_s + (1.5 - 1) * c;
    ck_assert_double_eq_tol(r.step_s[0], want, 1e-9);
    ck_assert(r.step_s[0] > b.step_time_s * 1.1);
    for (int j = 0; j < 3; j++)
        ck_assert_double_eq(r.drop_s[j], b.step_time_s); /* its one node replaced */
    rel_straggle_result_free(&r);
    plan_destroy(p);

    /* two stragglers on two nodes: the slower gates; replacing it leaves the other */
    static const char *const two[] = {"stragglers.slow.dc0/n0/c1=1.5",
                                      "stragglers.slow.dc0/n1/c3=2", NULL};
    p = th_load(DP, two);
    r = strag(p, 1, drop, 3);
    ck_assert_double_eq(r.baseline_s, b.step_time_s);
    ck_assert_int_eq(r.slow_nodes[0], 2);
    ck_assert_double_eq_tol(r.step_s[0], b.step_time_s + (2 - 1) * c, 1e-9);
    ck_assert_double_eq_tol(r.drop_s[0], b.step_time_s + (1.5 - 1) * c, 1e-9);
    ck_assert_double_eq(r.drop_s[1], b.step_time_s);
    ck_assert_double_eq(r.drop_s[2], b.step_time_s);
    /* the replay behind drop 1 is what exec makes of chip 1 alone at 1.5 */
    f1[1] = 1.5;
    exec_result one = replay(p, f1);
    ck_assert_double_eq(r.drop_s[0], one.step_time_s);
    ck_assert_double_eq_tol(one.ranks[1].compute_s, 1.5 * c, 1e-9);
    exec_result_free(&one);
    rel_straggle_result_free(&r);
    exec_result_free(&b);
    free(f1);
    plan_destroy(p);
}
END_TEST

START_TEST(draws_follow_the_seed)
{
    plan *p = th_load(DRAW, NULL);
    int64_t drop[] = {1, 2, 3};
    rel_straggle_result a = strag(p, 6, drop, 3), b = strag(p, 6, drop, 3);
    ck_assert_int_eq((int64_t)a.first_seed, 11);
    ck_assert_int_eq(a.replays, b.replays);
    ck_assert_mem_eq(a.step_s, b.step_s, 6 * sizeof *a.step_s);
    ck_assert_mem_eq(a.drop_step_s, b.drop_step_s, 18 * sizeof *a.drop_step_s);
    ck_assert_mem_eq(a.slow_nodes, b.slow_nodes, 6 * sizeof *a.slow_nodes);
    ck_assert_double_eq(a.mean_s, b.mean_s);
    ck_assert_double_eq(a.p90_s, b.p90_s);
    ck_assert_double_eq(a.p99_s, b.p99_s);
    /* draw 0 is the plan's own (run.seed): a replay with plan_slowdown gives its step */
    exec_result own = replay(p, NULL);
    ck_assert_double_eq(a.step_s[0], own.step_time_s);
    exec_result_free(&own);
    /* draw i is what plan_load draws with run.seed + i, and the draws differ */
    size_t n = topo_chip_count(plan_topo(p));
    double *f = malloc(n * sizeof *f);
    ck_assert_ptr_nonnull(f);
    int differ = 0;
    for (int i = 0; i < 6; i++) {
        char seed[48];
        snprintf(seed, sizeof seed, "run.seed=%d", 11 + i);
        const char *sets[] = {seed, NULL};
        plan *q = th_load(DRAW, sets);
        sim_status st;
        ck_assert_int_eq(plan_draw_slowdown(p, 11 + (uint64_t)i, f, &st), SIM_OK);
        ck_assert_mem_eq(f, plan_slowdown(q), n * sizeof *f);
        int slow = 0;
        for (size_t c = 0; c < n; c++)
            slow += f[c] > 1;
        ck_assert_int_eq(slow, a.slow_chips[i]);
        ck_assert(slow >= 4 && slow <= 6); /* 6 drawn, a factor below 1 counts as 1 */
        exec_result e = replay(q, NULL);
        ck_assert_double_eq(a.step_s[i], e.step_time_s);
        exec_result_free(&e);
        plan_destroy(q);
        differ += a.step_s[i] != a.step_s[0];
        ck_assert(a.step_s[i] > a.baseline_s);
    }
    ck_assert_int_gt(differ, 0);
    /* the statistics: ordered, the mean the draws' */
    double sum = 0;
    for (int i = 0; i < 6; i++)
        sum += a.step_s[i];
    ck_assert_double_eq_tol(a.mean_s, sum / 6, 1e-12 * a.mean_s);
    ck_assert(a.min_s <= a.p50_s && a.p50_s <= a.p90_s && a.p90_s <= a.p99_s &&
              a.p99_s <= a.max_s && a.min_s < a.max_s);
    /* replacing more nodes never slows the step */
    ck_assert(a.drop_s[0] < a.mean_s && a.drop_s[1] <= a.drop_s[0] &&
              a.drop_s[2] <= a.drop_s[1]);
    free(f);
    rel_straggle_result_free(&a);
    rel_straggle_result_free(&b);
    plan_destroy(p);
}
END_TEST

START_TEST(dropping_every_slowed_node_gives_the_baseline)
{
    plan *p = th_load(DRAW, NULL);
    int64_t drop[] = {8, 64, 1000};
    rel_straggle_result r = strag(p, 5, drop, 3);
    for (int j = 0; j < 3; j++)
        ck_assert_double_eq(r.drop_s[j], r.baseline_s);
    size_t n = topo_chip_count(plan_topo(p));
    double *f = malloc(n * sizeof *f), *g = malloc(n * sizeof *g);
    ck_assert(f && g);
    sim_status st;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(plan_draw_slowdown(p, r.first_seed + (uint64_t)i, f, &st), SIM_OK);
        int64_t k = r.slow_nodes[i], done = -1;
        ck_assert_int_ge(k, 1);
        /* k nodes replaced: no chip left slow, and the replay is the baseline's */
        ck_assert_int_eq(rel_straggle_drop(plan_topo(p), r.chips, f, k, g, &done, &st), SIM_OK);
        ck_assert_int_eq(done, k);
        for (size_t c = 0; c < n; c++)
            ck_assert_double_eq(g[c], 1);
        exec_result e = replay(p, g);
        ck_assert_double_eq(e.step_time_s, r.baseline_s);
        exec_result_free(&e);
        /* k - 1: exactly one node left slowed, the one with the least slow chip; and k + 5
         * replaces no more than k */
        ck_assert_int_eq(rel_straggle_drop(plan_topo(p), r.chips, f, k + 5, g, &done, &st),
                         SIM_OK);
        ck_assert_int_eq(done, k);
        ck_assert_int_eq(rel_straggle_drop(plan_topo(p), r.chips, f, k - 1, g, &done, &st),
                         SIM_OK);
        ck_assert_int_eq(done, k - 1);
        double left = 1, least = INFINITY;
        int32_t node = -1;
        for (size_t c = 0; c < n; c++) {
            if (g[c] > 1) {
                ck_assert(node < 0 || topo_chip_node(plan_topo(p), (int32_t)c) == node);
                node = topo_chip_node(plan_topo(p), (int32_t)c);
                ck_assert_double_eq(g[c], f[c]);
                left = fmax(left, g[c]);
            }
        }
        ck_assert_int_ge(node, 0);
        /* every node's slowest chip is at least the one left */
        for (int32_t m = 0; m < 8; m++) {
            double mx = 1;
            for (int c = 8 * m; c < 8 * m + 8; c++)
                mx = fmax(mx, f[c]);
            if (mx > 1)
                least = fmin(least, mx);
        }
        ck_assert_double_eq(left, least);
    }
    free(f);
    free(g);
    rel_straggle_result_free(&r);
    plan_destroy(p);
}
END_TEST

START_TEST(options_out_of_range_are_refused)
{
    plan *p = th_load(DP, NULL);
    rel_straggle_result r;
    sim_status st;
    rel_straggle_opts o = {.seeds = 0};
    ck_assert_int_eq(rel_straggle_run(p, &o, &r, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "stragglers: expected from 1 to 100000 draws, found 0");
    rel_straggle_result_free(&r);
    int64_t zero = 0;
    o = (rel_straggle_opts){.seeds = 1, .drop = &zero, .n_drop = 1};
    ck_assert_int_eq(rel_straggle_run(p, &o, &r, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "stragglers: expected node counts to drop of 1 or more, found 0");
    rel_straggle_result_free(&r);
    plan_destroy(p);
}
END_TEST

typedef struct bad_case {
    const char *args;
    const char *err; /* exact stderr, or its start when usage follows */
    int usage;       /* the usage follows the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"stragglers --seeds 0 " DP,
     "clustersim stragglers: option '--seeds': expected a number of draws from 1 to 100000, "
     "found '0'\n", 0},
    {"stragglers --seeds 100001 " DP,
     "clustersim stragglers: option '--seeds': expected a number of draws from 1 to 100000, "
     "found '100001'\n", 0},
    {"stragglers --seeds -3 " DP,
     "clustersim stragglers: option '--seeds': expected a number of draws from 1 to 100000, "
     "found '-3'\n", 0},
    {"stragglers --drop 1,,2 " DP,
     "clustersim stragglers: option '--drop': expected node counts from 1 to 1000000 "
     "separated by commas (at most 32), found '1,,2'\n", 0},
    {"stragglers --drop 0 " DP,
     "clustersim stragglers: option '--drop': expected node counts from 1 to 1000000 "
     "separated by commas (at most 32), found '0'\n", 0},
    {"stragglers --drop 1,2, " DP,
     "clustersim stragglers: option '--drop': expected node counts from 1 to 1000000 "
     "separated by commas (at most 32), found '1,2,'\n", 0},
    {"stragglers --drop 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,"
     "27,28,29,30,31,32,33 " DP,
     "clustersim stragglers: option '--drop': expected node counts from 1 to 1000000 "
     "separated by commas (at most 32), found '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,"
     "19,20,21,22,23,24,25,26,27,28,29,30,31,32,33'\n", 0},
    {"stragglers " DP " --seeds",
     "clustersim stragglers: option '--seeds' expects N, found nothing\nusage: ", 1},
    {"stragglers --drop '' " DP,
     "clustersim stragglers: option '--drop' expects K,K,..., found an empty string\nusage: ",
     1},
    {"stragglers --set x " DP, "clustersim stragglers: --set expects KEY=VALUE, found 'x'\n", 0},
    {"stragglers --bogus " DP, "clustersim stragglers: unknown option '--bogus'\nusage: ", 1},
    {"stragglers", "clustersim stragglers: expected CONFIG.yaml\nusage: ", 1},
    {"stragglers " DP " " DRAW,
     "clustersim stragglers: unexpected argument '" DRAW "'\nusage: ", 1},
    {"stragglers --set stragglers.fraction=2 " DP,
     "clustersim: --set stragglers.fraction=2: error: key 'fraction': expected a fraction of "
     "the chips from 0 to 1, found 2\n", 0},
};

START_TEST(cli_refuses_bad_arguments)
{
    const bad_case *bc = &bad_cases[_i];
    char *out, *err;
    ck_assert_int_eq(th_run(bc->args, &out, &err), 2);
    ck_assert_str_eq(out, "");
    if (bc->usage)
        ck_assert_msg(strncmp(err, bc->err, strlen(bc->err)) == 0 &&
                          strstr(err, "usage: clustersim stragglers") != NULL,
                      "got: %s", err);
    else
        ck_assert_str_eq(err, bc->err);
    free(out);
    free(err);
}
END_TEST

/* The command prints the library's figures. */
START_TEST(cli_prints_the_distribution)
{
    plan *p = th_load(DP, NULL);
    int64_t drop[] = {1};
    rel_straggle_result r = strag(p, 2, drop, 1);
    char *out, *err, want[256];
    ck_assert_int_eq(th_run("stragglers --seeds 2 --drop 1 " DP, &out, &err), 0);
    ck_assert_str_eq(err, "");
    snprintf(want, sizeof want, "step with no stragglers: %.4f us\n", 1e6 * r.baseline_s);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof want, "step over the draws: mean %.4f us (%+.2f%%), min %.4f,",
             1e6 * r.mean_s, 100 * (r.mean_s / r.baseline_s - 1), 1e6 * r.min_s);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "stragglers rel-strag-dp: tiny on two-nodes, 16 chips on 2 nodes; "
                              "2 draws (seeds 7 to 8)\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "slowed per draw (mean): 1.00 chips on 1.00 nodes\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "100.0%\n") != NULL, "%s", out);
    free(out);
    free(err);
    rel_straggle_result_free(&r);
    plan_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rel_straggle");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_straggler_slows_the_step_as_hand_computed);
    tcase_add_test(tc, draws_follow_the_seed);
    tcase_add_test(tc, dropping_every_slowed_node_gives_the_baseline);
    tcase_add_test(tc, options_out_of_range_are_refused);
    tcase_add_loop_test(tc, cli_refuses_bad_arguments, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, cli_prints_the_distribution);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
