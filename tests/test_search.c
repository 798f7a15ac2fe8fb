/*
 * test_search.c: the parallelism search (search/search.h, search/estimate.h) and
 * `clustersim search`.
 * - The space of a small case, counted by hand: the tiny workload (4 layers, 4 heads,
 *   sequence 128, 16 sequences) on 16 H100 in nodes of 8.
 * - Invalid candidates are rejected with the planner's reason and never chosen for a replay.
 * - Llama 3 405B over 16 stages gets Meta's layout, 7 + 14 x 8 + 7.
 * - A plan on the shared topology estimates as one loaded alone; FSDP strategies, hybrid
 *   shard groups and GPipe reach the plan.
 * - Spearman's rank correlation, by hand.
 * - The estimate of a plan with no communication is its compute; with a pipeline, the
 *   slowest stage's busy time and a bubble of (pp - 1) / m of the stages' mean.
 * - A search gives the same rows whatever --jobs.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTERSIM_TEST_CLI
#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"
#include "search/search.h"

#define TINY "tests/fixtures/good/cfg-tiny.yaml"

START_TEST(tiny_space_counted_by_hand)
{
    /* N = 16, 8 chips per node, L = 4, sequence 128 (cp 1 only). Shardings: zero 0, 1, 2,
     * full_shard, shard_grad_op and, when the node's replicas g = 8 / tp are more than one
     * and fewer than dp, hybrid_shard and _hybrid_shard_zero2: 7 without a pipeline, 4 with
     * one (no zero 2), 1 with dp 1. Schedules: gpipe and 1f1b at vp 1, interleaved at vp 2.
     *   tp 1: pp 1 (dp 16, g 8: 7), pp 2 (dp 8, g 8 = dp: vp 1 2 x 4, vp 2 4),
     *         pp 4 (dp 4: vp 1 2 x 4): 7 + 12 + 8 = 27
     *   tp 2: pp 1 (dp 8, g 4: 7), pp 2 (dp 4, g 4: 12), pp 4 (dp 2: 8): 27
     *   tp 4: pp 1 (dp 4, g 2: 7), pp 2 (dp 2: 12), pp 4 (dp 1: vp 1 2 x 1): 21
     *   tp 8: pp 1 (dp 2, g 1: 5), pp 2 (dp 1: vp 1 2 x 1, vp 2 1): 8
     * 83 combinations x 3 micro-batches x 3 recomputation modes = 747 */
    search_result r;
    sim_status st;
    ck_assert_int_eq(search_enumerate(TINY, NULL, 0, &r, &st), SIM_OK);
    ck_assert_uint_eq(r.n, 747);
    ck_assert_int_eq(r.chips, 16);
    size_t valid = 0, tp8 = 0;
    for (size_t i = 0; i < r.n; i++) {
        const search_cand *c = &r.c[i];
        ck_assert_int_eq(c->tp * c->pp * c->dp * c->cp, 16);
        valid += c->state == SEARCH_ESTIMATED;
        if (c->tp == 8) { /* 4 heads over 8 ranks: refused by the planner */
            tp8++;
            ck_assert_int_eq(c->state, SEARCH_REJECTED);
            ck_assert_msg(strstr(c->reason, "heads") != NULL, "%s", c->reason);
        }
        if (c->dp * c->micro_batch > 16) /* 16 sequences */
            ck_assert_int_eq(c->state, SEARCH_REJECTED);
        if (c->state == SEARCH_ESTIMATED)
            ck_assert(c->est.step_s > 0 && c->est.mfu > 0 && c->est.mfu < 1);
    }
    ck_assert_uint_eq(tp8, 8 * 9);
    ck_assert_uint_eq(valid, r.n_valid);
    /* GPipe ties 1F1B in the estimate with more memory held: dominated, never chosen */
    size_t dominated = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.c[i].dominated) {
            ck_assert_int_eq(r.c[i].schedule, WL_SCHED_GPIPE);
            ck_assert_msg(strstr(r.c[i].reason, "1F1B") != NULL, "%s", r.c[i].reason);
            dominated++;
        }
    ck_assert(dominated > 0);
    /* only estimated candidates are chosen */
    size_t marked = search_select(&r, 5, 0.0, 5, 10);
    ck_assert_uint_eq(marked, 15);
    for (size_t i = 0; i < r.n; i++)
        if (r.c[i].top || r.c[i].sample) {
            ck_assert_int_eq(r.c[i].state, SEARCH_ESTIMATED);
            ck_assert(!r.c[i].dominated);
        }
    /* the top ones are the best estimates */
    double worst_top = 0, best_other = INFINITY;
    for (size_t i = 0; i < r.n; i++) {
        if (r.c[i].state != SEARCH_ESTIMATED || r.c[i].dominated)
            continue;
        if (r.c[i].top)
            worst_top = fmax(worst_top, r.c[i].est.step_s);
        else
            best_other = fmin(best_other, r.c[i].est.step_s);
    }
    ck_assert(worst_top <= best_other);
    search_result_free(&r);
}
END_TEST

START_TEST(llama3_405b_gets_metas_layout)
{
    search_result r;
    sim_status st;
    /* On 2,048 of the 16,384 chips: the same layouts, an eighth of the plans to build. */
    const ydoc_override ov[] = {{"parallelism.chips", "2048", "test"},
                                {"parallelism.dp", "16", "test"}};
    ck_assert_int_eq(search_enumerate("configs/bench/llama3-405b-16k.yaml", ov, 2, &r, &st),
                     SIM_OK);
    int found = 0;
    for (size_t i = 0; i < r.n; i++) {
        const search_cand *c = &r.c[i];
        if (c->pp == 16 && c->vp == 1) {
            ck_assert_int_eq(c->first_layers, 7); /* 7 + 14 x 8 + 7 = 126 */
            ck_assert_int_eq(c->last_layers, 7);
        }
        if (c->tp == 8 && c->pp == 16 && c->cp == 1 && c->vp == 1 && c->micro_batch == 1 &&
            c->zero == 1 && c->fsdp == WL_FSDP_NONE && c->schedule == WL_SCHED_1F1B &&
            c->recompute == WL_RECOMPUTE_FULL) { /* the shipped config's */
            ck_assert_int_eq(c->state, SEARCH_ESTIMATED);
            found++;
        }
        if (c->pp == 16 && c->vp == 2) { /* 32 chunks: 4 per middle chunk, 14 + 14 */
            ck_assert_int_eq(c->first_layers, 7);
            ck_assert_int_eq(c->last_layers, 7);
        }
    }
    ck_assert_int_eq(found, 1);
    search_result_free(&r);
}
END_TEST

/* plan_load_shared (the search's loads, on the base plan's topology) estimates every
 * candidate exactly as a plan loaded on its own, topology and all; and the sharding and
 * schedule reach the plan. */
START_TEST(shared_topology_same_estimates)
{
    search_result r;
    sim_status st;
    ck_assert_int_eq(search_enumerate(TINY, NULL, 0, &r, &st), SIM_OK);
    size_t checked = 0, hybrid = 0, gpipe = 0;
    for (size_t i = 0; i < r.n; i++) {
        const search_cand *c = &r.c[i];
        if (c->state != SEARCH_ESTIMATED)
            continue;
        search_ovbuf b;
        ydoc_override ov[SEARCH_OV_MAX];
        size_t n = 0;
        search_overrides(c, &b, ov, &n);
        plan *p = NULL;
        ck_assert_int_eq(plan_load(TINY, ov, n, &p, &st), SIM_OK);
        search_estimate e;
        ck_assert_int_eq(search_estimate_plan(p, &e, &st), SIM_OK);
        ck_assert(e.step_s == c->est.step_s && e.memory_bytes == c->est.memory_bytes);
        const wl_parallel *par = plan_parallel(p);
        ck_assert_int_eq(wl_fsdp_of(par), c->fsdp);
        ck_assert_int_eq(par->schedule, c->schedule);
        if (c->fsdp_shard) {
            ck_assert_int_eq(wl_shard_size(par), c->fsdp_shard);
            hybrid++;
        }
        gpipe += par->schedule == WL_SCHED_GPIPE;
        plan_destroy(p);
        checked++;
    }
    ck_assert_uint_eq(checked, r.n_valid);
    ck_assert(hybrid > 0 && gpipe > 0);
    search_result_free(&r);
}
END_TEST

START_TEST(spearman_by_hand)
{
    double x[] = {1, 2, 3, 4, 5}, y[] = {2, 1, 4, 3, 5};
    /* d = (1, -1, 1, -1, 0): 1 - 6 x 4 / (5 x 24) = 0.8 */
    ck_assert(fabs(search_spearman(x, y, 5) - 0.8) < 1e-12);
    double z[] = {5, 4, 3, 2, 1};
    ck_assert(fabs(search_spearman(x, z, 5) + 1) < 1e-12);
    double t[] = {1, 1, 2, 2}, u[] = {1, 2, 3, 4}; /* ties: ranks 1.5 1.5 3.5 3.5 */
    ck_assert(fabs(search_spearman(t, u, 4) - 2 / sqrt(5)) < 1e-12);
    ck_assert(isnan(search_spearman(x, y, 1)));
}
END_TEST

START_TEST(estimate_of_compute_alone)
{
    /* one chip: no collective; its step is its compute */
    static const char *const one[] = {"parallelism.tp=1", "parallelism.pp=1",
                                      "parallelism.dp=1", "parallelism.chips=1", NULL};
    plan *p = th_load(TINY, one);
    search_estimate e;
    sim_status st;
    ck_assert_int_eq(search_estimate_plan(p, &e, &st), SIM_OK);
    ck_assert(e.exposed_s == 0 && e.hidden_s == 0 && e.bubble_s == 0);
    ck_assert(e.step_s == e.compute_s && e.compute_s > 0);
    plan_destroy(p);
    /* pp 2 and 4 micro-batches: the bubble is 1/4 of the busy time */
    /* pp 2 and 16 micro-batches (dp 1: no gradient reduction): the bubble is (pp - 1) / m =
     * 1/16 of the busy time */
    static const char *const pipe[] = {"parallelism.tp=1", "parallelism.pp=2",
                                       "parallelism.dp=1", "parallelism.chips=2", NULL};
    p = th_load(TINY, pipe);
    ck_assert_int_eq(plan_microbatches(p), 16);
    ck_assert_int_eq(search_estimate_plan(p, &e, &st), SIM_OK);
    ck_assert(e.hidden_s == 0 && e.exposed_s > 0); /* the pipeline's sends */
    /* the step is the slowest stage's busy time (the last: it holds the head) and the fill
     * and drain, 1/16 of the stages' mean busy time, which is below the slowest's */
    double busy = e.compute_s + e.exposed_s;
    ck_assert(fabs(e.step_s - busy - e.bubble_s) <= 1e-12 * busy);
    ck_assert(e.bubble_s > 0 && e.bubble_s <= busy / 16);
    plan_destroy(p);
}
END_TEST

static char *candidates_of(const char *db)
{
    sqlite3 *c;
    ck_assert_int_eq(sqlite3_open(db, &c), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(c,
                                        "SELECT group_concat(candidate || ':' || state || ':' "
                                        "|| coalesce(chosen, '') || ':' || "
                                        "coalesce(est_step_time_s, '') || ':' || "
                                        "coalesce(step_time_s, ''), ';') FROM "
                                        "(SELECT * FROM search_candidate ORDER BY candidate)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    char *out = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(c);
    return out;
}

START_TEST(same_rows_whatever_the_jobs)
{
    char dir[] = "/tmp/clustersim-search-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char a[128], b[128], args[512];
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(b, sizeof b, "%s/b.db", dir);
    snprintf(args, sizeof args, "search --jobs 1 --top 3 --sample 3 --db %s %s", a, TINY);
    char *out = NULL;
    ck_assert_int_eq(th_run(args, &out, NULL), 0);
    ck_assert(strstr(out, "estimate against the 6 replays") != NULL);
    free(out);
    snprintf(args, sizeof args, "search --jobs 3 --top 3 --sample 3 --db %s %s", b, TINY);
    ck_assert_int_eq(th_run(args, NULL, NULL), 0);
    /* the sharding and schedule columns (schema 8): FSDP's strategies by their config names,
     * a shard group with the hybrid ones only, no schedule without a pipeline */
    sqlite3 *c;
    ck_assert_int_eq(sqlite3_open(a, &c), SQLITE_OK);
    static const char *const counts[][2] = {
        {"SELECT count(*) FROM search_candidate WHERE fsdp = 'hybrid_shard' AND "
         "fsdp_shard_size > 1 AND zero = 0", "pos"},
        {"SELECT count(*) FROM search_candidate WHERE (fsdp_shard_size IS NULL) != (fsdp IS "
         "NULL OR fsdp NOT LIKE '%hybrid%')", "0"},
        {"SELECT count(*) FROM search_candidate WHERE schedule = 'gpipe' AND state = "
         "'estimated' AND reason LIKE 'dominated by candidate %'", "pos"},
        {"SELECT count(*) FROM search_candidate WHERE (schedule IS NULL) != (pp = 1)", "0"},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        sqlite3_stmt *q;
        ck_assert_int_eq(sqlite3_prepare_v2(c, counts[i][0], -1, &q, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        long long n = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        if (!strcmp(counts[i][1], "0"))
            ck_assert_msg(n == 0, "%s: %lld", counts[i][0], n);
        else
            ck_assert_msg(n > 0, "%s: %lld", counts[i][0], n);
    }
    sqlite3_close(c);
    char *x = candidates_of(a), *y = candidates_of(b);
    ck_assert_str_eq(x, y);
    ck_assert(strstr(x, ":replayed:top:") != NULL);
    free(x);
    free(y);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("search");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, tiny_space_counted_by_hand);
    tcase_add_test(tc, llama3_405b_gets_metas_layout);
    tcase_add_test(tc, shared_topology_same_estimates);
    tcase_add_test(tc, spearman_by_hand);
    tcase_add_test(tc, estimate_of_compute_alone);
    tcase_add_test(tc, same_rows_whatever_the_jobs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
