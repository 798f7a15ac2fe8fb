/*
 * test_multidc_shared.c: streaming DiLoCo's fragment sync and the inner steps on one
 * bottleneck link, against a hand computation (exec/multidc.h, co-simulated replay).
 *
 * Fixtures: tests/fixtures/good/multidc-shared-streaming.yaml on multidc-shared-2sites.yaml and
 * multidc-shared-wl.yaml. Two sites of one node of 2 chips behind one NVSwitch; every latency
 * zero (NVSwitch, fabric, gateway, WAN) and an inline chip whose collectives run at line rate
 * with no launch or per-step cost, so every duration below is bytes / rate. Links, per
 * direction: NVLink Bn = 10 GB/s per chip, one NIC of 50 GB/s per chip, gateway trunk and WAN
 * 1 Tb/s = 125 GB/s. tp = pp = 1, dp 2 per site, ZeRO 0: each rank holds all N parameters.
 * Streaming DiLoCo, H = 8, F = 2 fragments, max_delay 2, bf16 payload.
 *
 * The parts alone.
 * - Inner step: forward and backward (compute C1), the gradient all-reduce over the node's
 *   2 chips (synchronous: overlap_grad_reduce is off), the optimizer (C2). A ring of 2 moves
 *   2 (n - 1) / n G = G bytes per member, G = 4 N (fp32 gradients); each direction of each
 *   chip's NVLink carries one of its two flows: rate Bn. t = C1 + G / Bn + C2.
 * - Fragment sync: one all-reduce of Sf = 2 N / F bytes over the 4 chips, hierarchical by
 *   site: reduce-scatter inside the node (Sf / 2 at Bn), reduce-scatter across the sites per
 *   rail (Sf / 4), all-gather across the sites (Sf / 4), all-gather inside the node (Sf / 2).
 *   The cross-site phases run both rails' rings as one transfer: one flow on each NIC, two
 *   on the trunk and the WAN, rate rw = min(Bnic, 125 / 2 GB/s) = 50 GB/s; they use no link
 *   of the inner steps. s = Sf / Bn + 2 (Sf / 4) / rw.
 * Beside each other (the fragment's sync starts with the first step of its window, at 0):
 *   [0, C1)     the sync's first phase alone on NVLink, at Bn;
 *   [C1, ta)    the gradient all-reduce starts on the same links: two transfers of weight 1
 *               on each, max-min gives each Bn / 2, until the sync's phase ends;
 *   [ta, tb)    the sync crosses the WAN (2 (Sf / 4) / rw); the all-reduce alone, at Bn;
 *   [tb, tc)    the sync's last phase beside the all-reduce again, Bn / 2 each: the sync
 *               ends at tc, before the all-reduce (checked below), so within the step.
 * NVLink is busy at Bn from C1 until the all-reduce ends, carrying its G bytes and the
 * sync's Sf - Bn C1 bytes left on NVLink at C1: both the step and the sync take
 *   delta = Sf / Bn - C1
 * longer than alone (the sync: its first phase a0 / Bn - C1 longer, a0 = Sf / 2, its last
 * a0 / Bn). The regime needs C1 < a0 / Bn (the first phase still runs when the all-reduce
 * starts) and G > Sf - Bn C1 + 2 Bn (Sf / 4) / rw (the all-reduce outlives the sync).
 * Only the window's first step starts before the sync ends, so the window ends early and
 * the round is F (beside + (max_delay - 1) t) + (H - F max_delay) t + optimizer
 *   = F beside + (H - F) t + the outer optimizer, nothing exposed.
 * With the fixture: N = 7,342,592, G = 29,370,368 B, Sf = 7,342,592 B; C1 = 223.496356 us,
 * C2 = 222.27776 us (exec's op times, walked from rank 0's program); t = 223.496356 +
 * 2937.0368 + 222.27776 = 3382.810916 us; s = 734.2592 + 2 x 36.71296 = 807.68512 us;
 * delta = 734.2592 - 223.496356 = 510.762844 us: a step beside the sync 3893.57376 us, the
 * sync beside the steps 1318.447964 us; round 2 x 3893.57376 + 6 x 3382.810916 + 163.537024
 * (the outer optimizer, SGD) = 28247.55004 us. The test computes all of it from the plan and
 * the constants below, which it checks against the built topology.
 */
#include <check.h>
#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "exec/multidc.h"

#define FIXTURE "tests/fixtures/good/multidc-shared-streaming.yaml"

/* The fixture's links, per direction (B/s). */
#define B_NVLINK 10e9
#define B_NIC 50e9
#define B_WAN 125e9 /* the WAN link and each site's gateway trunk */

/* Relative agreement: the simulator's clock is in picoseconds, each op and each transfer
 * rounded to one; 1e-9 of a 3 ms step is 3 ps. */
#define REL_TOL 1e-9
#define NEAR(a, b, tol) ck_assert_msg(fabs((a) - (b)) <= (tol), "%s = %.12g, %s = %.12g", \
                                      #a, (double)(a), #b, (double)(b))
#define REL_EQ(a, b) NEAR(a, b, REL_TOL * fabs(b))

/* What rank 0's step does: compute before its one collective (c1_s), the collective's bytes
 * per member, compute after it (c2_s). Every compute op is timed as exec times it. */
typedef struct step_parts {
    double c1_s, grad_bytes, c2_s;
    int colls;
} step_parts;

static step_parts step_parts_of(const plan *p)
{
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    bool fp8 = plan_workload(p)->dtype == WL_DTYPE_FP8;
    step_parts s = {0, 0, 0, 0};
    plan_cursor c;
    plan_item it;
    plan_prog_begin(p, 0, &c);
    while (plan_prog_next(p, &c, &it)) {
        if (it.kind == PLAN_ITEM_COMPUTE) {
            double t = exec_op_seconds(chip, &it.op, fp8);
            if (s.colls)
                s.c2_s += t;
            else
                s.c1_s += t;
        } else if (it.kind == PLAN_ITEM_COLL) {
            /* the gradient all-reduce, on the compute stream */
            ck_assert_int_eq(it.coll, COLL_ALLREDUCE);
            ck_assert_int_eq(it.async, PLAN_SYNC);
            s.grad_bytes = it.bytes;
            s.colls++;
        } else {
            /* the wait for asynchronous reductions: there are none */
            ck_assert_int_eq(it.kind, PLAN_ITEM_WAIT_DP);
        }
    }
    ck_assert_int_eq(s.colls, 1);
    return s;
}

/* The premises of the hand computation: every link's latency zero, the capacities above,
 * collectives at line rate with no fixed cost, no slowdown of compute beside communication. */
static void check_fixture(const plan *p)
{
    const net_graph *g = topo_graph(plan_topo(p));
    size_t per_kind[NET_LINK_KIND_COUNT] = {0};
    for (size_t l = 0; l < net_graph_link_count(g); l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        ck_assert_int_eq(k->lat_ps, 0);
        ck_assert_msg(k->kind == NET_LINK_NVLINK || k->kind == NET_LINK_NIC ||
                      k->kind == NET_LINK_GATEWAY || k->kind == NET_LINK_WAN,
                      "link %zu of kind %d", l, (int)k->kind);
        double want = k->kind == NET_LINK_NVLINK ? B_NVLINK : k->kind == NET_LINK_NIC ? B_NIC
                                                                                     : B_WAN;
        ck_assert_double_eq(k->bw_Bps, want);
        per_kind[k->kind]++;
    }
    /* per site: 2 chips to and from the NVSwitch, 2 NICs up and down, 1 trunk each way */
    ck_assert_uint_eq(per_kind[NET_LINK_NVLINK], 8);
    ck_assert_uint_eq(per_kind[NET_LINK_NIC], 8);
    ck_assert_uint_eq(per_kind[NET_LINK_GATEWAY], 4);
    ck_assert_uint_eq(per_kind[NET_LINK_WAN], 2);
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    ck_assert_double_eq(chip->coll.eff_scale_up, 1);
    ck_assert_double_eq(chip->coll.eff_scale_out, 1);
    ck_assert_int_eq(chip->coll.launch_ps, 0);
    ck_assert_int_eq(chip->coll.step_up_ps, 0);
    ck_assert_int_eq(chip->coll.step_out_ps, 0);
    ck_assert_double_eq(chip->overlap_slowdown, 0);
    const plan_cross_dc *x = plan_cross_dc_of(p);
    ck_assert_int_eq(x->scheme, PLAN_XDC_STREAMING);
    ck_assert_int_eq(x->sites, 2);
    ck_assert_int_eq(plan_ranks(p), 2);
    ck_assert_int_eq(plan_parallel(p)->dp, 2);
}

/* The hand computation (see the top of the file). */
typedef struct hand {
    double step_s, sync_s, delta_s, beside_s, sync_beside_s;
    double outer_opt_s; /* the outer optimizer (SGD) over a rank's parameters, as exec times it */
} hand;

static hand hand_of(const plan *p, const step_parts *sp)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    double N = plan_rank_params(p, 0);
    double G = sp->grad_bytes, Sf = N * x->payload_bytes / (double)x->fragments;
    /* the gradients are fp32, and auto takes the hierarchy (not the tree) for the sync */
    ck_assert_double_eq(G, 4 * N);
    ck_assert(Sf > COLL_SMALL_BYTES);
    double rw = fmin(B_NIC, B_WAN / 2); /* a cross-site phase: both rails' rings */
    double wan_phase_s = Sf / 4 / rw, a0 = Sf / 2;
    hand h;
    h.step_s = sp->c1_s + G / B_NVLINK + sp->c2_s;
    h.sync_s = 2 * a0 / B_NVLINK + 2 * wan_phase_s;
    h.delta_s = Sf / B_NVLINK - sp->c1_s;
    h.beside_s = h.step_s + h.delta_s;
    h.sync_beside_s = h.sync_s + h.delta_s;
    wl_workload w = *plan_workload(p);
    w.optimizer = WL_OPT_SGD;
    wl_op op;
    wl_optimizer_op(&w, plan_parallel(p), 0, &op);
    h.outer_opt_s = exec_op_seconds(topo_chip_hw(plan_topo(p), 0), &op, false);
    /* the regime: the sync's first phase still runs when the all-reduce starts, and the
     * all-reduce still runs when the sync's last phase ends */
    ck_assert_msg(sp->c1_s < a0 / B_NVLINK, "C1 %.9g s, first phase %.9g s", sp->c1_s,
                  a0 / B_NVLINK);
    ck_assert_msg(G > Sf - B_NVLINK * sp->c1_s + 2 * B_NVLINK * wan_phase_s,
                  "the all-reduce (%.9g B) ends before the sync", G);
    return h;
}

static void run(const char *replay, plan **pp, exec_result *r, mdc_result *m)
{
    char set[64];
    snprintf(set, sizeof set, "cross_dc.replay=%s", replay);
    const char *const sets[] = {set, NULL};
    *pp = th_load(FIXTURE, sets);
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(mdc_run(*pp, NULL, r, m, &st) == SIM_OK, "%s", st.msg);
}

/* The parts alone: the inner step and the fragment's sync take bytes / rate, and the
 * replay's gradient all-reduce is a ring of G bytes per member starting after C1. */
START_TEST(parts_alone_match_the_hand_computation)
{
    plan *p;
    exec_result r;
    mdc_result m;
    run("composed", &p, &r, &m);
    check_fixture(p);
    step_parts sp = step_parts_of(p);
    hand h = hand_of(p, &sp);
    REL_EQ(m.inner_step_s, h.step_s);
    REL_EQ(m.outer_sync_s, h.sync_s);
    /* the measured step's all-reduce (rank 0's collectives: warm-up step, then measured) */
    ck_assert_uint_eq(r.n_colls, 2);
    const exec_coll_rec *c = &r.colls[1];
    ck_assert_int_eq(c->algo, COLL_ALGO_RING);
    ck_assert_double_eq(c->bytes, sp.grad_bytes);
    REL_EQ(c->end_s - c->start_s, sp.grad_bytes / B_NVLINK);
    REL_EQ(c->start_s - r.step_rows[1].start_s, sp.c1_s);
    /* composed: nothing shared, the sync fits its window of max_delay steps */
    const plan_cross_dc *x = plan_cross_dc_of(p);
    ck_assert(h.sync_s < (double)x->max_delay * h.step_s);
    ck_assert_double_eq(m.exposed_s, 0);
    REL_EQ(m.outer_opt_s, h.outer_opt_s);
    REL_EQ(m.round_s, (double)x->inner_steps * h.step_s + h.outer_opt_s);
    exec_result_free(&r);
    mdc_result_free(&m);
    plan_destroy(p);
}
END_TEST

/* Co-simulated, in one window (shortcut) and over the whole round (full, where each of the
 * two fragments meets one step alike): both the step and the sync take delta longer. */
START_TEST(shared_nvlink_slows_both_by_the_hand_computation)
{
    static const char *const replays[] = {"shortcut", "full"};
    for (size_t i = 0; i < 2; i++) {
        plan *p;
        exec_result r;
        mdc_result m;
        run(replays[i], &p, &r, &m);
        check_fixture(p);
        step_parts sp = step_parts_of(p);
        hand h = hand_of(p, &sp);
        const plan_cross_dc *x = plan_cross_dc_of(p);
        double F = (double)x->fragments, H = (double)x->inner_steps;
        ck_assert_int_eq(m.replay, i ? PLAN_REPLAY_FULL : PLAN_REPLAY_SHORTCUT);
        ck_assert(h.delta_s > 0.1 * h.sync_s);
        REL_EQ(m.inner_step_s, h.step_s);
        REL_EQ(m.outer_sync_s, h.sync_s);
        REL_EQ(m.inner_beside_s, h.beside_s);
        REL_EQ(m.outer_sync_cosim_s, h.sync_beside_s);
        /* the slowdowns themselves, to the step's tolerance (a few picoseconds) */
        NEAR(m.inner_beside_s - m.inner_step_s, h.delta_s, REL_TOL * h.step_s);
        NEAR(m.outer_sync_cosim_s - m.outer_sync_s, h.delta_s, REL_TOL * h.step_s);
        ck_assert_double_eq(m.exposed_s, 0);
        REL_EQ(m.hidden_s, F * h.sync_beside_s);
        REL_EQ(m.outer_opt_s, h.outer_opt_s);
        REL_EQ(m.round_s, F * h.beside_s + (H - F) * h.step_s + h.outer_opt_s);
        exec_result_free(&r);
        mdc_result_free(&m);
        plan_destroy(p);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("multidc_shared");
    TCase *tc = tcase_create("multidc_shared");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parts_alone_match_the_hand_computation);
    tcase_add_test(tc, shared_nvlink_slows_both_by_the_hand_computation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
