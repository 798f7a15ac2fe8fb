/*
 * test_multidc.c: training across datacenters (exec/multidc.h).
 *
 * Fixtures: tests/fixtures/good/mdc-*.yaml: two or three sites of 16 H100 joined by 100 Gb/s
 * at 10 ms, a small model (8 layers, hidden 1024) with tp 2 and dp 16 (8 per site).
 * - With an infinitely fast WAN (1 Pb/s, no latency, no gateway latency), sync across two
 *   sites takes the time of the same job in one site of 32 chips.
 * - DiLoCo with H = 1 and bf16 pseudo-gradients (the gradients' own type) moves as many WAN
 *   bytes per round as sync moves per step.
 * - The WAN bytes of an outer sync follow the hierarchical ring: over n sites every group's
 *   S bytes cross the WAN 2 (n - 1) times in all.
 * - Compute utilization rises with H and with the WAN bandwidth.
 * - Streaming hides a fragment's sync that fits in its window, and exposes the rest.
 */
#include <check.h>
#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/multidc.h"

#define GOOD "tests/fixtures/good/"


static void run(plan *p, exec_result *r, mdc_result *m)
{
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(mdc_run(p, NULL, r, m, &st) == SIM_OK, "%s", st.msg);
}

/* Bytes over the WAN links in a round. */
static double wan_bytes(const plan *p, const mdc_result *m)
{
    const net_graph *g = topo_graph(plan_topo(p));
    double b = 0;
    for (size_t l = 0; l < m->n_links; l++)
        if (net_graph_link(g, (net_link_id)l)->kind == NET_LINK_WAN)
            b += m->wan_bytes[l];
    return b;
}

static const char *const fast_wan[] = {"topology.wan.0.bandwidth=1 Pb/s",
                                       "topology.wan.0.latency=0 s",
                                       "topology.gateway.latency=0 s", NULL};

START_TEST(sync_with_an_infinite_wan_is_one_site)
{
    plan *two = th_load(GOOD "mdc-sync.yaml", fast_wan);
    ck_assert_int_eq(plan_cross_dc_of(two)->scheme, PLAN_XDC_SYNC);
    /* dp outermost: a DP group holds 8 ranks of each site */
    ck_assert_int_eq(plan_placement(two, 3), PLAN_DP);
    exec_result r2;
    mdc_result m2;
    run(two, &r2, &m2);
    plan *one = th_load(GOOD "mdc-one-site.yaml", NULL);
    exec_result r1;
    sim_status st;
    ck_assert_int_eq(exec_run(one, NULL, &r1, &st), SIM_OK);
    /* The same traffic by the same hierarchy (member in node, node in site, site); what is
     * left is the cables, switches and NCCL step costs of paths through two gateways, now
     * that the reduction is exposed (overlap_grad_reduce is off by default): tens of
     * microseconds against an 11 ms step. */
    ck_assert_msg(fabs(r2.step_time_s - r1.step_time_s) < 5e-3 * r1.step_time_s,
                  "two sites %.9g s, one site %.9g s", r2.step_time_s, r1.step_time_s);
    ck_assert_double_eq_tol(m2.round_s, r2.step_time_s, 1e-15);
    exec_result_free(&r1);
    exec_result_free(&r2);
    mdc_result_free(&m2);
    plan_destroy(one);
    plan_destroy(two);
}
END_TEST

START_TEST(diloco_every_step_moves_what_sync_moves)
{
    /* bf16 gradients: the sync reduction then carries 2 bytes per parameter, as the bf16
     * outer payload does */
    static const char *const sets[] = {"parallelism.zero=0", "workload.training.grad_dtype=bf16",
                                       NULL};
    plan *s = th_load(GOOD "mdc-sync.yaml", sets);
    static const char *const dsets[] = {"cross_dc.inner_steps=1", NULL};
    plan *d = th_load(GOOD "mdc-diloco.yaml", dsets);
    ck_assert_int_eq(plan_cross_dc_of(d)->scheme, PLAN_XDC_DILOCO);
    ck_assert_double_eq(plan_cross_dc_of(d)->payload_bytes, 2);
    /* the replica: one site's 16 ranks, dp 8, half the batch */
    ck_assert_int_eq(plan_ranks(d), 16);
    ck_assert_int_eq(plan_parallel(d)->dp, 8);
    ck_assert_int_eq(plan_cross_dc_of(d)->total_ranks, 32);
    exec_result rs, rd;
    mdc_result ms, md;
    run(s, &rs, &ms);
    run(d, &rd, &md);
    double bs = wan_bytes(s, &ms), bd = wan_bytes(d, &md);
    ck_assert(bs > 0);
    ck_assert_msg(fabs(bs - bd) <= 1e-9 * bs, "sync %.17g B, diloco %.17g B", bs, bd);
    exec_result_free(&rs);
    exec_result_free(&rd);
    mdc_result_free(&ms);
    mdc_result_free(&md);
    plan_destroy(s);
    plan_destroy(d);
}
END_TEST

/* Over n sites, each rail ring of an outer sync has n members, one per site, and every edge
 * crosses the WAN: a member sends 2 (n - 1) / n of its S / g, so a ring moves 2 (n - 1) S / g
 * over the WAN and a group's g rings 2 (n - 1) S, S the bytes of its parameters. */
START_TEST(outer_sync_bytes_follow_the_ring)
{
    for (int sites = 2; sites <= 3; sites++) {
        char tset[64];
        snprintf(tset, sizeof tset, "topology=mdc-%dsites.yaml", sites);
        char dp[64];
        snprintf(dp, sizeof dp, "parallelism.dp=%d", 8 * sites);
        const char *const sets[] = {tset, dp, "parallelism.global_batch=48", NULL};
        plan *p = th_load(GOOD "mdc-diloco.yaml", sets);
        ck_assert_int_eq(plan_cross_dc_of(p)->sites, sites);
        double sync_s, S = 0;
        size_t nl = net_graph_link_count(topo_graph(plan_topo(p)));
        double *bytes = calloc(nl, sizeof *bytes);
        sim_status st;
        ck_assert_int_eq(mdc_outer_sync(p, 1.0, &sync_s, bytes, &st), SIM_OK);
        for (int64_t r = 0; r < plan_ranks(p); r++)
            if (plan_coord(p, r, PLAN_DP) == 0)
                S += plan_rank_params(p, r) * plan_cross_dc_of(p)->payload_bytes;
        double wan = 0;
        for (size_t l = 0; l < nl; l++)
            if (net_graph_link(topo_graph(plan_topo(p)), (net_link_id)l)->kind == NET_LINK_WAN)
                wan += bytes[l];
        double want = 2.0 * (sites - 1) * S;
        ck_assert_msg(fabs(wan - want) <= 1e-9 * want, "%d sites: %.17g B over the WAN, want "
                      "%.17g", sites, wan, want);
        ck_assert(sync_s > 0);
        free(bytes);
        plan_destroy(p);
    }
}
END_TEST

static double util(const char *path, const char *const *sets)
{
    plan *p = th_load(path, sets);
    exec_result r;
    mdc_result m;
    run(p, &r, &m);
    double u = m.compute_util;
    ck_assert(u > 0 && u <= 1);
    exec_result_free(&r);
    mdc_result_free(&m);
    plan_destroy(p);
    return u;
}

START_TEST(utilization_rises_with_h_and_bandwidth)
{
    static const char *const hs[] = {"cross_dc.inner_steps=1", "cross_dc.inner_steps=4",
                                     "cross_dc.inner_steps=16", "cross_dc.inner_steps=64"};
    double last = 0;
    for (size_t i = 0; i < 4; i++) {
        const char *const sets[] = {hs[i], NULL};
        double u = util(GOOD "mdc-diloco.yaml", sets);
        ck_assert_msg(u > last, "H step %zu: utilization %.6f after %.6f", i, u, last);
        last = u;
    }
    static const char *const bws[] = {"topology.wan.0.bandwidth=1 Gb/s",
                                      "topology.wan.0.bandwidth=10 Gb/s",
                                      "topology.wan.0.bandwidth=100 Gb/s",
                                      "topology.wan.0.bandwidth=1 Tb/s"};
    for (int scheme = 0; scheme < 2; scheme++) {
        last = 0;
        for (size_t i = 0; i < 4; i++) {
            const char *const sets[] = {bws[i], NULL};
            double u = util(scheme ? GOOD "mdc-sync.yaml" : GOOD "mdc-diloco.yaml", sets);
            ck_assert_msg(u > last, "scheme %d, bandwidth step %zu: %.6f after %.6f", scheme, i,
                          u, last);
            last = u;
        }
    }
}
END_TEST

START_TEST(streaming_hides_what_fits)
{
    /* each fragment's sync (a quarter of the model) against max_delay inner steps; a WAN
     * step costs its latency, so the wide case has a short link (1 ms) */
    static const char *const wide[] = {"cross_dc.max_delay=2",
                                       "topology.wan.0.bandwidth=1 Tb/s",
                                       "topology.wan.0.latency=1 ms", NULL};
    plan *p = th_load(GOOD "mdc-streaming.yaml", wide);
    exec_result r;
    mdc_result m;
    run(p, &r, &m);
    ck_assert_msg(m.outer_sync_s <= 2 * m.inner_step_s, "fragment %.9g s, window %.9g s",
                  m.outer_sync_s, 2 * m.inner_step_s);
    ck_assert_double_eq(m.exposed_s, 0);
    ck_assert_double_eq_tol(m.hidden_s, 4 * m.outer_sync_s, 1e-15);
    ck_assert_double_eq_tol(m.round_s, 8 * m.inner_step_s + m.outer_opt_s, 1e-12);
    exec_result_free(&r);
    mdc_result_free(&m);
    plan_destroy(p);
    /* a slow WAN: each fragment exposes what its window does not cover */
    static const char *const narrow[] = {"cross_dc.max_delay=1",
                                         "topology.wan.0.bandwidth=10 Gb/s", NULL};
    p = th_load(GOOD "mdc-streaming.yaml", narrow);
    run(p, &r, &m);
    double per = m.outer_sync_s - m.inner_step_s;
    ck_assert(per > 0);
    ck_assert_double_eq_tol(m.exposed_s, 4 * per, 1e-12);
    ck_assert_double_eq_tol(m.hidden_s, 4 * m.inner_step_s, 1e-12);
    exec_result_free(&r);
    mdc_result_free(&m);
    plan_destroy(p);
}
END_TEST

/* A background load of half the WAN link leaves the job half its capacity: the link's
 * capacity halves and the outer sync, bound by it, takes longer. A load of 1 or more is
 * refused. */
START_TEST(background_load)
{
    static const char *const half[] = {"topology.wan.0.background=0.5", NULL};
    plan *p = th_load(GOOD "mdc-diloco.yaml", NULL), *q = th_load(GOOD "mdc-diloco.yaml", half);
    const net_graph *g = topo_graph(plan_topo(q));
    for (size_t l = 0; l < net_graph_link_count(g); l++)
        if (net_graph_link(g, (net_link_id)l)->kind == NET_LINK_WAN)
            ck_assert_double_eq(net_graph_link(g, (net_link_id)l)->bw_Bps, 100e9 / 8 / 2);
    double a, b;
    sim_status st;
    ck_assert_int_eq(mdc_outer_sync(p, 1.0, &a, NULL, &st), SIM_OK);
    ck_assert_int_eq(mdc_outer_sync(q, 1.0, &b, NULL, &st), SIM_OK);
    ck_assert(b > a);
    plan_destroy(p);
    plan_destroy(q);
    ydoc_override ov = {"wan.0.background", "1", "--set topology.wan.0.background=1"};
    topo_load_opts o = {.overrides = &ov, .n_overrides = 1};
    topo *t = NULL;
    ck_assert_int_eq(topo_load(GOOD "mdc-2sites.yaml", &o, &t, &st), SIM_ERR_INPUT);
    char msg[512];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set topology.wan.0.background=1: error: key 'background': "
                          "expected the fraction of the link other traffic uses, from 0 to "
                          "below 1, found '1'");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("multidc");
    TCase *tc = tcase_create("multidc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sync_with_an_infinite_wan_is_one_site);
    tcase_add_test(tc, diloco_every_step_moves_what_sync_moves);
    tcase_add_test(tc, outer_sync_bytes_follow_the_ring);
    tcase_add_test(tc, utilization_rises_with_h_and_bandwidth);
    tcase_add_test(tc, streaming_hides_what_fits);
    tcase_add_test(tc, background_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
