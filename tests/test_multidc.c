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
 * - Streaming hides a fragment's sync that fits in its window, and exposes the rest
 *   (composed from parts simulated alone).
 * - Co-simulated streaming: the shortcut (one fragment's window) equals the replay of the
 *   whole round; with no link shared between the syncs and the inner steps it equals the
 *   composition; with shared links both the sync and the inner steps beside it slow down.
 */
#include <check.h>
#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/multidc.h"
#include "out/trace.h"
#include <unistd.h>

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
    static const char *const wide[] = {"cross_dc.max_delay=2", "cross_dc.replay=composed",
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
    static const char *const narrow[] = {"cross_dc.max_delay=1", "cross_dc.replay=composed",
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

static void run_sets(const char *path, const char *const *sets, mdc_result *m)
{
    plan *p = th_load(path, sets);
    exec_result r;
    run(p, &r, m);
    exec_result_free(&r);
    plan_destroy(p);
}

#define REL_EQ(a, b) ck_assert_msg(fabs((a) - (b)) <= 1e-9 * fabs(b), "%s = %.12g, %s = %.12g", \
                                   #a, (double)(a), #b, (double)(b))

/* The shortcut replays one fragment's window and counts the other steps as multiples of one
 * step alone; the full replay runs all H steps with every fragment. Steps start at a barrier
 * and fragments never overlap (max_delay <= H / F), so the two agree: with the window hiding
 * the sync, with it exposed, and with max_delay 0 (the sync blocks) and H / F. */
START_TEST(streaming_shortcut_equals_full_round)
{
    static const char *const cases[][4] = {
        {"cross_dc.max_delay=2", "topology.wan.0.bandwidth=1 Tb/s", "topology.wan.0.latency=1 ms"},
        {"cross_dc.max_delay=1", "topology.wan.0.bandwidth=10 Gb/s", NULL},
        {"cross_dc.max_delay=0", NULL, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *sets[6] = {0};
        size_t k = 0;
        for (size_t i = 0; i < 3 && cases[c][i]; i++)
            sets[k++] = cases[c][i];
        mdc_result a, b;
        sets[k] = "cross_dc.replay=shortcut";
        run_sets(GOOD "mdc-streaming.yaml", sets, &a);
        sets[k] = "cross_dc.replay=full";
        run_sets(GOOD "mdc-streaming.yaml", sets, &b);
        ck_assert_int_eq(a.replay, PLAN_REPLAY_SHORTCUT);
        ck_assert_int_eq(b.replay, PLAN_REPLAY_FULL);
        REL_EQ(a.round_s, b.round_s);
        REL_EQ(a.exposed_s, b.exposed_s);
        REL_EQ(a.outer_sync_cosim_s, b.outer_sync_cosim_s);
        REL_EQ(a.inner_beside_s, b.inner_beside_s);
        REL_EQ(a.mfu, b.mfu);
        if (c == 1)
            ck_assert(a.exposed_s > 0);
        /* the syncs add up to the round's figures: the shortcut's one fragment stands for
         * F, and the full round's fragments are each like it */
        const mdc_result *both[] = {&a, &b};
        double wans[2] = {0, 0};
        for (int j = 0; j < 2; j++) {
            const mdc_result *m = both[j];
            ck_assert_int_eq(m->n_syncs, j ? 4 : 1); /* F = 4 */
            double exposed = 0, sync = 0, wan = 0;
            for (int64_t i = 0; i < m->n_syncs; i++) {
                const mdc_sync *y = &m->syncs[i];
                ck_assert_int_eq(y->count, j ? 1 : 4);
                ck_assert_int_eq(y->fragment, i);
                REL_EQ(y->exposed_s + y->hidden_s, y->end_s - y->start_s);
                REL_EQ(y->alone_s, m->outer_sync_s);
                exposed += (double)y->count * y->exposed_s;
                sync += (double)y->count * (y->end_s - y->start_s);
                wan += (double)y->count * y->wan_bytes;
                REL_EQ(y->end_s - y->start_s, a.syncs[0].end_s - a.syncs[0].start_s);
                ck_assert(y->steps_beside >= 1 || c == 2);
            }
            REL_EQ(exposed, m->exposed_s);
            REL_EQ(sync, 4 * m->outer_sync_cosim_s);
            ck_assert(wan > 0);
            wans[j] = wan;
        }
        REL_EQ(wans[0], wans[1]);
        mdc_result_free(&a);
        mdc_result_free(&b);
    }
}
END_TEST

/* tp 8 inside one node per site: the inner steps use NVLink only, the outer sync NICs, the
 * leaf, the gateways and the WAN. Nothing is shared, so co-simulation finds the composed
 * figures: the sync takes its time alone, and exposes what its window does not cover. */
START_TEST(streaming_without_shared_links_equals_composition)
{
    for (int narrow = 0; narrow < 2; narrow++) {
        const char *sets[] = {"topology=mdc-2sites-1node.yaml", "parallelism.tp=8",
                              "parallelism.dp=2", "parallelism.global_batch=16",
                              narrow ? "cross_dc.max_delay=1" : "cross_dc.max_delay=2",
                              narrow ? "topology.wan.0.bandwidth=10 Gb/s" : NULL, NULL, NULL};
        size_t k = narrow ? 6 : 5;
        mdc_result a, b;
        sets[k] = "cross_dc.replay=composed";
        run_sets(GOOD "mdc-streaming.yaml", sets, &a);
        sets[k] = "cross_dc.replay=shortcut";
        run_sets(GOOD "mdc-streaming.yaml", sets, &b);
        REL_EQ(b.outer_sync_cosim_s, a.outer_sync_s);
        REL_EQ(b.inner_beside_s, a.inner_step_s);
        REL_EQ(b.round_s, a.round_s);
        if (narrow)
            REL_EQ(b.exposed_s, a.exposed_s);
        else
            ck_assert(fabs(b.exposed_s) <= 1e-12 && a.exposed_s == 0);
        ck_assert(!narrow || a.exposed_s > 0);
        mdc_result_free(&a);
        mdc_result_free(&b);
    }
}
END_TEST

/* tp 2, 8 data-parallel replicas per site over two nodes: the inner steps' gradient
 * all-reduces cross the NICs and the leaf that the sync's intra-site phases use. With a fast
 * WAN the sync is mostly intra-site, and both sides slow each other: the sync beside the
 * steps takes longer than alone, the steps beside it longer than alone, and the round longer
 * than the composition says. */
START_TEST(streaming_shared_links_slow_both)
{
    static const char *const base[] = {"topology.wan.0.bandwidth=1 Tb/s",
                                       "topology.wan.0.latency=1 ms", "cross_dc.max_delay=2",
                                       NULL, NULL};
    const char *sets[5];
    memcpy(sets, base, sizeof sets);
    mdc_result a, b;
    sets[3] = "cross_dc.replay=composed";
    run_sets(GOOD "mdc-streaming.yaml", sets, &a);
    sets[3] = "cross_dc.replay=shortcut";
    run_sets(GOOD "mdc-streaming.yaml", sets, &b);
    ck_assert_msg(b.outer_sync_cosim_s > 1.001 * b.outer_sync_s, "sync %.9g beside, %.9g alone",
                  b.outer_sync_cosim_s, b.outer_sync_s);
    ck_assert_msg(b.inner_beside_s > 1.0001 * b.inner_step_s, "step %.9g beside, %.9g alone",
                  b.inner_beside_s, b.inner_step_s);
    ck_assert(b.round_s > a.round_s);
    REL_EQ(b.outer_sync_s, a.outer_sync_s);
    mdc_result_free(&a);
    mdc_result_free(&b);
}
END_TEST

/* Site b runs A100, site a H100: both replicas replay side by side, the step waits for the
 * slower, which takes what the job takes on two A100 sites (the sites share no link during
 * inner steps); the H100 site waits H x the difference per round. MFU counts both chips'
 * peaks. */
START_TEST(unlike_sites_wait_for_the_slowest)
{
    static const char *const mixed[] = {"topology=mdc-2sites-mixed.yaml", NULL};
    static const char *const a100[] = {"topology=mdc-2sites-a100.yaml", NULL};
    mdc_result m, a;
    run_sets(GOOD "mdc-diloco.yaml", mixed, &m);
    run_sets(GOOD "mdc-diloco.yaml", a100, &a);
    ck_assert(m.unlike && !a.unlike);
    ck_assert_int_eq(m.n_sites, 2);
    ck_assert(m.site_step_s[0] < m.site_step_s[1]);
    REL_EQ(m.site_step_s[1], a.inner_step_s);
    REL_EQ(m.inner_step_s, a.inner_step_s);
    ck_assert_double_eq(m.site_idle_s[1], 0);
    REL_EQ(m.site_idle_s[0], 10 * (m.site_step_s[1] - m.site_step_s[0]));
    ck_assert(a.site_idle_s[0] == 0 && a.site_idle_s[1] == 0);
    /* the same round on the A100 pair (the WAN and the sync's fabric alike in both) */
    REL_EQ(m.round_s - m.outer_sync_s, a.round_s - a.outer_sync_s);
    /* MFU over the mixed peak: 16 x 989.4 + 16 x 312 TFLOP/s against 32 x 312 */
    REL_EQ(m.mfu * (16 * 989.4 + 16 * 312.0) * m.round_s, a.mfu * (32 * 312.0) * a.round_s);
    mdc_result_free(&m);
    mdc_result_free(&a);
}
END_TEST

/* Sites of 24 and 8 chips (dp 12 and 4, batches 36 and 12, in proportion to the chips): each
 * trains its own replica, the outer sync moves over the WAN what equal sites move (every
 * group's S twice over two sites: the leaders' all-reduces of S / 4 carry it all), MFU and
 * tokens count both sites' batches, and the smaller site, whose ranks work alike, waits. */
START_TEST(unequal_sites_train_their_own_replicas)
{
    plan *p = th_load(GOOD "mdc-diloco-unequal.yaml", NULL);
    ck_assert(plan_sites_unequal(p));
    const plan *b = plan_site(p, 1);
    ck_assert_int_eq(plan_ranks(p), 24);
    ck_assert_int_eq(plan_parallel(p)->dp, 12);
    ck_assert_int_eq(plan_workload(p)->global_batch, 36);
    ck_assert_int_eq(plan_ranks(b), 8);
    ck_assert_int_eq(plan_parallel(b)->dp, 4);
    ck_assert_int_eq(plan_workload(b)->global_batch, 12);
    ck_assert_int_eq(plan_site_base(p, 1), 24);
    ck_assert_int_eq(plan_microbatches(b), plan_microbatches(p));
    double S = 0;
    for (int64_t r = 0; r < plan_ranks(p); r++)
        if (plan_coord(p, r, PLAN_DP) == 0)
            S += plan_rank_params(p, r) * plan_cross_dc_of(p)->payload_bytes;
    exec_result r;
    mdc_result m;
    run(p, &r, &m);
    ck_assert(m.unlike);
    REL_EQ(wan_bytes(p, &m), 2 * S);
    ck_assert(m.outer_sync_s > 0);
    /* the step is the slower site's; each site's ranks do the same work per micro-batch */
    REL_EQ(m.inner_step_s, fmax(m.site_step_s[0], m.site_step_s[1]));
    ck_assert(m.site_step_s[1] <= m.site_step_s[0]);
    REL_EQ(m.site_idle_s[1], 10 * (m.site_step_s[0] - m.site_step_s[1]));
    /* throughput over both batches: 48 sequences of 1,024 tokens per inner step */
    REL_EQ(m.tokens_per_s * m.round_s, 10 * 48 * 1024.0);
    REL_EQ(m.mfu * m.round_s * 32 * topo_chip_hw(plan_topo(p), 0)->peak_bf16_flops,
           10 * (wl_model_flops_per_step(plan_workload(p)) +
                 wl_model_flops_per_step(plan_workload(b))));
    exec_result_free(&r);
    mdc_result_free(&m);
    plan_destroy(p);
}
END_TEST

/* Streaming over unequal sites, co-simulated: the shortcut equals the full round. */
START_TEST(unequal_sites_streaming_shortcut_equals_full)
{
    static const char *const sc[] = {"cross_dc.scheme=streaming-diloco", "cross_dc.fragments=2",
                                     "cross_dc.replay=shortcut", NULL};
    static const char *const full[] = {"cross_dc.scheme=streaming-diloco",
                                       "cross_dc.fragments=2", "cross_dc.replay=full", NULL};
    mdc_result a, b;
    run_sets(GOOD "mdc-diloco-unequal.yaml", sc, &a);
    run_sets(GOOD "mdc-diloco-unequal.yaml", full, &b);
    ck_assert(a.replay == PLAN_REPLAY_SHORTCUT && b.replay == PLAN_REPLAY_FULL);
    REL_EQ(a.round_s, b.round_s);
    REL_EQ(a.outer_sync_cosim_s, b.outer_sync_cosim_s);
    REL_EQ(a.exposed_s, b.exposed_s);
    mdc_result_free(&a);
    mdc_result_free(&b);
}
END_TEST

/* The trace of a co-simulated round shows each fragment's sync on its own thread of every
 * traced rank, beside the inner steps, as long as the replay measured it. */
START_TEST(the_trace_shows_fragment_syncs)
{
    char path[] = "/tmp/clustersim-mdc-trace-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    static const char *const full[] = {"cross_dc.replay=full", NULL};
    plan *p = th_load(GOOD "mdc-streaming.yaml", full);
    sim_status st;
    sim_status_clear(&st);
    trace *t = NULL;
    ck_assert_int_eq(trace_open(path, "0", plan_ranks(p), &t, &st), SIM_OK);
    exec_opts o = {.trace = t};
    exec_result r;
    mdc_result m;
    ck_assert_msg(mdc_run(p, &o, &r, &m, &st) == SIM_OK, "%s", st.msg);
    ck_assert_int_eq(trace_close(t, 1, &st), SIM_OK);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int frags = 0, named = 0, steps = 0;
    while (fgets(line, sizeof line, f)) {
        double ts, dur;
        int k;
        const char *e = strstr(line, "\"name\":\"outer sync, fragment ");
        if (e && sscanf(e, "\"name\":\"outer sync, fragment %d of 4\"", &k) == 1) {
            const char *tt = strstr(line, "\"tid\":4,\"ts\":");
            ck_assert_ptr_nonnull(tt);
            ck_assert_int_eq(sscanf(tt, "\"tid\":4,\"ts\":%lf,\"dur\":%lf", &ts, &dur), 2);
            ck_assert_int_eq(k, frags + 1);
            const mdc_sync *y = &m.syncs[frags];
            ck_assert(fabs(dur * 1e-6 - (y->end_s - y->start_s)) <= 1e-9);
            frags++;
        }
        if (strstr(line, "\"tid\":4,\"args\":{\"name\":\"cross-datacenter outer sync\"}"))
            named++;
        if (strstr(line, "\"pid\":0,\"tid\":0,"))
            steps++;
    }
    fclose(f);
    unlink(path);
    ck_assert_int_eq(frags, 4);
    ck_assert_int_eq(named, 1);
    ck_assert(steps > 0);
    exec_result_free(&r);
    mdc_result_free(&m);
    plan_destroy(p);
}
END_TEST

/* Async DiLoCo (sites at their own pace, a round-level model): K = 0 times like blocking;
 * K = 1 hides the exchange c (sync and optimizer) behind the next round, whose period is
 * then max(H x step, c) plus what the last push adds over R rounds: with c < H x step,
 * T = R H step + c; with c > H x step the pushes queue, T = H step + R c. */
START_TEST(async_rounds_follow_the_hand_computation)
{
    static const char *const blocking[] = {NULL};
    static const char *const k0[] = {"cross_dc.outer_update=async", "cross_dc.max_staleness=0",
                                     NULL};
    static const char *const k1[] = {"cross_dc.outer_update=async", "cross_dc.rounds=50", NULL};
    static const char *const k1slow[] = {"cross_dc.outer_update=async", "cross_dc.rounds=50",
                                         "cross_dc.inner_steps=2", NULL};
    mdc_result b, a0, a1, a2;
    run_sets(GOOD "mdc-diloco.yaml", blocking, &b);
    run_sets(GOOD "mdc-diloco.yaml", k0, &a0);
    run_sets(GOOD "mdc-diloco.yaml", k1, &a1);
    run_sets(GOOD "mdc-diloco.yaml", k1slow, &a2);
    REL_EQ(a0.round_s, b.round_s);
    REL_EQ(a0.mfu, b.mfu);
    ck_assert_int_eq(a0.site_rounds[0], 100);
    double c = a1.outer_sync_s + a1.outer_opt_s, hs = 10 * a1.inner_step_s;
    ck_assert(c < hs);
    REL_EQ(a1.round_s, (50 * hs + c) / 50);
    ck_assert_double_eq(a1.exposed_s, 0);
    /* each push lands while the other site's round runs: one update between fetch and push,
     * two for the rounds whose fetch precedes the other's previous push */
    ck_assert(a1.stale_mean >= 1 && a1.stale_max <= 2);
    c = a2.outer_sync_s + a2.outer_opt_s;
    hs = 2 * a2.inner_step_s;
    ck_assert(c > hs);
    REL_EQ(a2.round_s, (hs + 50 * c) / 50);
    mdc_result_free(&b);
    mdc_result_free(&a0);
    mdc_result_free(&a1);
    mdc_result_free(&a2);
}
END_TEST

/* Unequal sites: the faster site leads by at most max_staleness + 1 rounds; jitter (drawn
 * with run.seed) slows a bounded round, the same seed gives the same figures, another seed
 * others. */
START_TEST(async_staleness_bounds_the_lead)
{
    for (int k = 0; k <= 4; k += 2) {
        char ks[64];
        snprintf(ks, sizeof ks, "cross_dc.max_staleness=%d", k);
        const char *const sets[] = {"cross_dc.outer_update=async", ks, NULL};
        mdc_result m;
        run_sets(GOOD "mdc-diloco-unequal.yaml", sets, &m);
        ck_assert(m.site_step_s[1] < m.site_step_s[0]); /* b is faster */
        ck_assert_int_eq(m.site_rounds[0], 100);
        ck_assert_int_ge(m.site_rounds[1], 100);
        ck_assert_int_le(m.site_rounds[1], 100 + k + 1);
        if (k == 4)
            ck_assert_int_gt(m.site_rounds[1], 100);
        mdc_result_free(&m);
    }
    static const char *const j1[] = {"cross_dc.outer_update=async", "cross_dc.max_staleness=0",
                                     "cross_dc.round_jitter=0.2", NULL};
    static const char *const j2[] = {"cross_dc.outer_update=async", "cross_dc.max_staleness=0",
                                     "cross_dc.round_jitter=0.2", "run.seed=7", NULL};
    static const char *const j0[] = {"cross_dc.outer_update=async", "cross_dc.max_staleness=0",
                                     NULL};
    mdc_result a, a_again, other, calm;
    run_sets(GOOD "mdc-diloco-unequal.yaml", j1, &a);
    run_sets(GOOD "mdc-diloco-unequal.yaml", j1, &a_again);
    run_sets(GOOD "mdc-diloco-unequal.yaml", j2, &other);
    run_sets(GOOD "mdc-diloco-unequal.yaml", j0, &calm);
    ck_assert_double_eq(a.round_s, a_again.round_s);
    ck_assert(a.round_s != other.round_s);
    ck_assert(a.round_s > calm.round_s); /* a round waits for the slower of two draws */
    mdc_result_free(&a);
    mdc_result_free(&a_again);
    mdc_result_free(&other);
    mdc_result_free(&calm);
}
END_TEST

/* Regions (sync inside, DiLoCo across): two regions of two 8-chip sites train a replica each
 * (16 ranks, dp 8, data parallelism over the metro link); the outer sync moves every group's
 * S between the regions twice in all (the leaders' all-reduces of S / 8 over the two
 * long-haul links), and the metro links carry the regions' inner steps besides. */
START_TEST(regions_sync_inside_and_diloco_across)
{
    plan *p = th_load(GOOD "mdc-regions.yaml", NULL);
    ck_assert(plan_has_regions(p));
    ck_assert_int_eq(plan_cross_dc_of(p)->replicas, 2);
    ck_assert_int_eq(plan_cross_dc_of(p)->sites, 4);
    ck_assert_int_eq(plan_ranks(p), 16);
    ck_assert_int_eq(plan_parallel(p)->dp, 8);
    ck_assert_str_eq(plan_replica_name(p, 1), "eu");
    ck_assert_int_eq(plan_site_base(p, 1), 16);
    double S = 0;
    for (int64_t r = 0; r < plan_ranks(p); r++)
        if (plan_coord(p, r, PLAN_DP) == 0)
            S += plan_rank_params(p, r) * plan_cross_dc_of(p)->payload_bytes;
    exec_result r;
    mdc_result m;
    run(p, &r, &m);
    const net_graph *g = topo_graph(plan_topo(p));
    double haul = 0, metro = 0, inner = 0;
    for (size_t l = 0; l < m.n_links; l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != NET_LINK_WAN)
            continue;
        if (k->bw_Bps < 1e11) { /* 100 Gb/s long-haul (12.5 GB/s), 1 Tb/s metro */
            haul += m.wan_bytes[l];
            ck_assert_double_eq(r.link_bytes[l], 0);
        } else {
            metro += m.wan_bytes[l];
            inner += r.link_bytes[l] / (double)r.steps;
        }
    }
    REL_EQ(haul, 2 * S);
    /* a round over the metro links: the sync's share there (its intra-region stages) and H
     * inner steps' data parallelism */
    ck_assert(inner > 0);
    REL_EQ(metro, m.syncs[0].wan_bytes - haul + 10 * inner);
    /* the region's step crosses the metro link: slower than one site's 8 chips alone */
    ck_assert_int_eq(m.n_sites, 2);
    REL_EQ(m.site_step_s[0], m.site_step_s[1]);
    exec_result_free(&r);
    mdc_result_free(&m);
    plan_destroy(p);
}
END_TEST

/* Equal sites with unequal batches take the explicit three-stage sync (every site's
 * reduce-scatter, the cross-site all-reduces, the all-gathers; no leader messages, L = n):
 * the same WAN bytes as the hierarchical all-reduce of alike sites, and the same duration up
 * to the three collectives' own launch and step latencies (within 1%). */
START_TEST(unequal_batches_sync_as_alike_sites)
{
    static const char *const split[] = {"cross_dc.site_batch.a=16", "cross_dc.site_batch.b=48",
                                        NULL};
    plan *u = th_load(GOOD "mdc-diloco.yaml", split), *a = th_load(GOOD "mdc-diloco.yaml", NULL);
    ck_assert(plan_sites_unequal(u) && !plan_sites_unequal(a));
    size_t nl = net_graph_link_count(topo_graph(plan_topo(a)));
    double *bu = calloc(nl, sizeof *bu), *ba = calloc(nl, sizeof *ba), su, sa;
    sim_status st;
    ck_assert_int_eq(mdc_outer_sync(u, 1.0, &su, bu, &st), SIM_OK);
    ck_assert_int_eq(mdc_outer_sync(a, 1.0, &sa, ba, &st), SIM_OK);
    double wu = 0, wa = 0;
    for (size_t l = 0; l < nl; l++)
        if (net_graph_link(topo_graph(plan_topo(a)), (net_link_id)l)->kind == NET_LINK_WAN) {
            wu += bu[l];
            wa += ba[l];
        }
    REL_EQ(wu, wa);
    ck_assert_msg(fabs(su - sa) <= 0.01 * sa, "sync %.9g s, alike %.9g s", su, sa);
    free(bu);
    free(ba);
    plan_destroy(u);
    plan_destroy(a);
}
END_TEST

/* Site b's chips 1.25x slower (stragglers.slow): site a waits H x the difference per round,
 * and the step is b's; with the sync overlapped (streaming, full replay) the same gating. */
START_TEST(a_straggler_site_idles_the_others)
{
    static const char *const sets[] = {"stragglers.slow.b=1.25", NULL};
    mdc_result m, a;
    run_sets(GOOD "mdc-diloco.yaml", sets, &m);
    run_sets(GOOD "mdc-diloco.yaml", NULL, &a);
    ck_assert(m.unlike);
    REL_EQ(m.site_step_s[0], a.inner_step_s);
    ck_assert(m.site_step_s[1] > 1.1 * m.site_step_s[0]);
    REL_EQ(m.site_idle_s[0], 10 * (m.site_step_s[1] - m.site_step_s[0]));
    REL_EQ(m.round_s, a.round_s + 10 * (m.site_step_s[1] - m.site_step_s[0]));
    mdc_result_free(&m);
    mdc_result_free(&a);
    static const char *const st[] = {"stragglers.slow.b=1.25", "cross_dc.replay=full", NULL};
    static const char *const sc[] = {"stragglers.slow.b=1.25", NULL};
    run_sets(GOOD "mdc-streaming.yaml", st, &m);
    run_sets(GOOD "mdc-streaming.yaml", sc, &a);
    ck_assert(m.unlike && m.site_idle_s[0] > 0);
    REL_EQ(m.round_s, a.round_s);
    mdc_result_free(&m);
    mdc_result_free(&a);
}
END_TEST

/* A delayed outer update: the whole sync beside the next round's H inner steps. On the
 * one-node sites (nothing shared) the round is max(H t, sync) + the optimizer, exactly the
 * composition; the shortcut (which ends once the sync is over) equals the full round on the
 * shared fabric; eager moves what delayed moves; staleness is H steps. */
START_TEST(delayed_outer_update_overlaps_a_round)
{
    for (int slow = 0; slow < 2; slow++) {
        const char *sets[] = {"topology=mdc-2sites-1node.yaml", "parallelism.tp=8",
                              "parallelism.dp=2", "parallelism.global_batch=16",
                              "cross_dc.outer_update=delayed",
                              slow ? "topology.wan.0.bandwidth=1 Gb/s" : NULL, NULL, NULL};
        size_t k = slow ? 6 : 5;
        mdc_result a, b;
        sets[k] = "cross_dc.replay=composed";
        run_sets(GOOD "mdc-diloco.yaml", sets, &a);
        sets[k] = "cross_dc.replay=shortcut";
        run_sets(GOOD "mdc-diloco.yaml", sets, &b);
        ck_assert_int_eq(b.staleness_steps, 10);
        double h = 10 * a.inner_step_s;
        REL_EQ(a.round_s, (a.outer_sync_s > h ? a.outer_sync_s : h) + a.outer_opt_s);
        REL_EQ(b.round_s, a.round_s);
        ck_assert(slow ? b.exposed_s > 0 : b.exposed_s <= 1e-12);
        mdc_result_free(&a);
        mdc_result_free(&b);
    }
    static const char *const sh[] = {"cross_dc.outer_update=delayed", "cross_dc.replay=shortcut",
                                     NULL};
    static const char *const fu[] = {"cross_dc.outer_update=eager", "cross_dc.replay=full",
                                     NULL};
    mdc_result a, b;
    run_sets(GOOD "mdc-diloco.yaml", sh, &a);
    run_sets(GOOD "mdc-diloco.yaml", fu, &b);
    REL_EQ(a.round_s, b.round_s);
    REL_EQ(a.exposed_s, b.exposed_s);
    mdc_result_free(&a);
    mdc_result_free(&b);
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
                          "below 1, a list of [time, load] points, or {trace: FILE.csv}, "
                          "found '1'");
}
END_TEST

/* Varying WAN load. The blocking sync alone, 100 Gb/s at 10 ms: a load of 0.5 from time 0
 * is the steady 0.5; a link down from 0 to 0.2 s (then free) holds the sync's WAN phase
 * until 0.2 s (its transfers wait); a trace file the same way.
 * Mathis: loss 1e-4 and the default MSS of 1460 B cap each stream at 1460 B / RTT x
 * sqrt(1.5) / 0.01; the sync slows, and a loss of 1e-12 (a cap far above the link) does
 * not change it. */
START_TEST(wan_load_varies_and_links_fail)
{
    mdc_result base, m;
    run_sets(GOOD "mdc-diloco.yaml", NULL, &base);
    static const char *const half[] = {"topology.wan.0.background=0.5", NULL};
    static const char *const half_t[] = {"topology=mdc-2sites-bg-half.yaml", NULL};
    mdc_result a, b;
    run_sets(GOOD "mdc-diloco.yaml", half, &a);
    run_sets(GOOD "mdc-diloco.yaml", half_t, &b);
    REL_EQ(b.outer_sync_s, a.outer_sync_s);
    ck_assert(a.outer_sync_s > base.outer_sync_s * 1.2);
    mdc_result_free(&a);
    mdc_result_free(&b);
    static const char *const down[] = {"topology=mdc-2sites-bg-down.yaml", NULL};
    run_sets(GOOD "mdc-diloco.yaml", down, &m);
    /* the sync's first intra-site phase runs while the link is down: the WAN phase waits for
     * 0.2 s, and the sync ends less than 0.2 s later than alone, but at 0.2 s at least */
    ck_assert(m.outer_sync_s > 0.2 + 0.5 * base.outer_sync_s &&
              m.outer_sync_s < 0.2 + base.outer_sync_s);
    mdc_result_free(&m);
    /* down for good: the sync never ends, which is an error, not a sync of 0 s */
    static const char *const forever[] = {"topology=mdc-2sites-bg-forever.yaml",
                                          NULL};
    {
        plan *p = th_load(GOOD "mdc-diloco.yaml", forever);
        exec_result r;
        sim_status st;
        sim_status_clear(&st);
        ck_assert_int_eq(mdc_run(p, NULL, &r, &m, &st), SIM_ERR_INPUT);
        ck_assert_msg(strstr(st.msg, "never ends: a link it crosses stays down") != NULL, "%s",
                      st.msg);
        mdc_result_free(&m);
        plan_destroy(p);
    }
    static const char *const traced[] = {"topology.wan.0.background.trace=mdc-wan-trace.csv",
                                        NULL};
    run_sets(GOOD "mdc-diloco.yaml", traced, &m);
    ck_assert(m.outer_sync_s > 0.21); /* down from 10 to 210 ms, mid-sync */
    mdc_result_free(&m);
    static const char *const lossy[] = {"topology.wan.0.loss=1e-4", NULL};
    static const char *const clean[] = {"topology.wan.0.loss=1e-12", NULL};
    run_sets(GOOD "mdc-diloco.yaml", lossy, &m);
    ck_assert(m.outer_sync_s > 2 * base.outer_sync_s);
    mdc_result_free(&m);
    run_sets(GOOD "mdc-diloco.yaml", clean, &m);
    REL_EQ(m.outer_sync_s, base.outer_sync_s);
    mdc_result_free(&m);
    mdc_result_free(&base);
    /* refusals, with their places */
    static const struct { const char *file, *want; } badf[] = {
        {"tests/fixtures/bad/topo-bg-order.yaml",
         "tests/fixtures/bad/topo-bg-order.yaml:12:82: error: key 'background': expected times "
         "in increasing order, found '0.5 s' after 1 s"},
        {"tests/fixtures/bad/topo-bg-load.yaml",
         "tests/fixtures/bad/topo-bg-load.yaml:12:70: error: key 'background': expected points "
         "[time, load] such as [30 s, 0.5] with a load from 0 to 1 (1: down), found a list"},
    };
    for (size_t i = 0; i < sizeof badf / sizeof badf[0]; i++) {
        topo *t = NULL;
        sim_status st;
        char msg[512];
        sim_status_clear(&st);
        ck_assert_int_eq(topo_load(badf[i].file, NULL, &t, &st), SIM_ERR_INPUT);
        sim_status_format(&st, msg, sizeof msg);
        ck_assert_str_eq(msg, badf[i].want);
    }
    static const struct { const char *set, *want; } bad[] = {
        {"wan.0.loss=1", "key 'loss': expected a packet loss probability from 0 to below 1, "
                         "found 1"},
        {"wan.0.mss=1000 B", "key 'mss': only with 'loss' (the Mathis cap), found no loss"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char origin[128], want[512], msg[512];
        snprintf(origin, sizeof origin, "--set topology.%s", bad[i].set);
        char key[64];
        const char *eq = strchr(bad[i].set, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - bad[i].set), bad[i].set);
        ydoc_override ov = {key, eq + 1, origin};
        topo_load_opts o = {.overrides = &ov, .n_overrides = 1};
        topo *t = NULL;
        sim_status st;
        sim_status_clear(&st);
        ck_assert_int_eq(topo_load(GOOD "mdc-2sites.yaml", &o, &t, &st), SIM_ERR_INPUT);
        sim_status_format(&st, msg, sizeof msg);
        snprintf(want, sizeof want, "%s: error: %s", origin, bad[i].want);
        ck_assert_str_eq(msg, want);
    }
    ydoc_override ov = {"wan.0.background.trace", "../bad/wan-trace-load.csv", "file"};
    topo_load_opts o = {.overrides = &ov, .n_overrides = 1};
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load(GOOD "mdc-2sites.yaml", &o, &t, &st), SIM_ERR_INPUT);
    char msg[512];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "tests/fixtures/bad/wan-trace-load.csv:3:1: error: expected "
                          "'time_s,load' with a time of 0 s or more and a load from 0 to 1, "
                          "found '1,1.5'");
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
    tcase_add_test(tc, streaming_shortcut_equals_full_round);
    tcase_add_test(tc, streaming_without_shared_links_equals_composition);
    tcase_add_test(tc, streaming_shared_links_slow_both);
    tcase_add_test(tc, unlike_sites_wait_for_the_slowest);
    tcase_add_test(tc, unequal_sites_train_their_own_replicas);
    tcase_add_test(tc, unequal_batches_sync_as_alike_sites);
    tcase_add_test(tc, unequal_sites_streaming_shortcut_equals_full);
    tcase_add_test(tc, the_trace_shows_fragment_syncs);
    tcase_add_test(tc, async_rounds_follow_the_hand_computation);
    tcase_add_test(tc, async_staleness_bounds_the_lead);
    tcase_add_test(tc, regions_sync_inside_and_diloco_across);
    tcase_add_test(tc, delayed_outer_update_overlaps_a_round);
    tcase_add_test(tc, wan_load_varies_and_links_fail);
    tcase_add_test(tc, a_straggler_site_idles_the_others);
    tcase_add_test(tc, background_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
