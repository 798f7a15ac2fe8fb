/*
 * test_coll.c: collectives on a real topology against their closed forms.
 *
 * topologies/two-nodes.yaml: 2 DGX H100 nodes, NVSwitch inside (450 GB/s per GPU and
 * direction, 0.25 us per NVLink hop), one 400 Gb/s (50 GB/s) NIC per GPU on a single switch
 * (0.1 us cable up; 0.1 + 0.5 us cable and switch down), with the H100 chip's collective
 * section left out (tests/fixtures/good/chip-h100-line-rate.yaml): links at line rate, a
 * ring step costs its path latency plus 2 us, no launch cost. The shipped chip's protocol
 * efficiencies and latencies have their own cases at the end. Every case runs alone on an idle network, so each
 * phase's time is bytes / bottleneck rate + steps x (path latency + overhead).
 * The algorithm chosen for every (kind, algorithm asked for, size, group shape) is checked
 * against coll.h's rule, written out here once more.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "coll/coll.h"
#include "core/evq.h"
#include "net/netsim.h"
#include "topo/topo.h"

#define NV_BW 450e9
#define NIC_BW 50e9
#define STEP 2e-6
#define NV_LAT 0.5e-6  /* chip -> NVSwitch -> chip */
#define NIC_LAT 0.7e-6 /* chip -> switch -> chip */

typedef struct fixture {
    topo *t;
    ev_engine *e;
    net_sim *ns;
    coll_engine *ce;
} fixture;

/* two-nodes.yaml on the line-rate chip, with in-switch reduction when sharp. */
static void load_two_nodes(topo **t, int sharp)
{
    sim_status st;
    ydoc_override ov[2] = {{"chip", "../tests/fixtures/good/chip-h100-line-rate.yaml",
                            "--set chip"},
                           {"scale_up.in_switch_reduction", "true", "--set sharp"}};
    topo_load_opts o = {.overrides = ov, .n_overrides = sharp ? 2 : 1};
    ck_assert_int_eq(topo_load("topologies/two-nodes.yaml", &o, t, &st), SIM_OK);
}

static void setup(fixture *f)
{
    sim_status st;
    load_two_nodes(&f->t, 0);
    ck_assert_int_eq(ev_engine_create(&f->e, &st), SIM_OK);
    ck_assert_int_eq(net_sim_create(f->e, topo_graph(f->t), 0, &f->ns, &st), SIM_OK);
    ck_assert_int_eq(coll_engine_create(f->ns, f->t, &f->ce, &st), SIM_OK);
}

static void teardown(fixture *f)
{
    coll_engine_destroy(f->ce);
    net_sim_destroy(f->ns);
    ev_engine_destroy(f->e);
    topo_destroy(f->t);
}

typedef struct result {
    double start, end;
    int done;
} result;

static void on_done(void *user, double start_s, double end_s)
{
    result *r = user;
    r->start = start_s;
    r->end = end_s;
    r->done++;
}

/* Runs one collective over chips[0..n) alone with algorithm want (AUTO chooses); returns its
 * duration. sharp turns on in-switch reduction in the NVSwitch domains. */
static double run_algo(coll_kind kind, coll_algo want, const int32_t *chips, size_t n,
                       double bytes, coll_algo *algo, int sharp)
{
    fixture f;
    sim_status st;
    if (sharp) {
        load_two_nodes(&f.t, 1);
        ck_assert_int_eq(ev_engine_create(&f.e, &st), SIM_OK);
        ck_assert_int_eq(net_sim_create(f.e, topo_graph(f.t), 0, &f.ns, &st), SIM_OK);
        ck_assert_int_eq(coll_engine_create(f.ns, f.t, &f.ce, &st), SIM_OK);
    } else {
        setup(&f);
    }
    result r = {0};
    coll_req rq = {.kind = kind, .algo = want, .chips = chips, .n = n,
                   .bytes = bytes, .id = 7, .done = on_done, .user = &r};
    ck_assert_int_eq(coll_start(f.ce, &rq, algo, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(r.done, 1);
    ck_assert_uint_eq(coll_live(f.ce), 0);
    teardown(&f);
    return r.end - r.start;
}

/* Runs one collective over chips[0..n) alone, algorithm chosen by auto; returns its
 * duration. */
static double run_coll(coll_kind kind, const int32_t *chips, size_t n, double bytes,
                       coll_algo *algo)
{
    return run_algo(kind, COLL_ALGO_AUTO, chips, n, bytes, algo, 0);
}

/* Ring all-reduce of 8 GPUs of one node: 2 (n-1)/n S at 450 GB/s, 14 steps. */
START_TEST(ring_allreduce_in_a_node)
{
    int32_t chips[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double S = 1e9;
    coll_algo algo;
    double t = run_coll(COLL_ALLREDUCE, chips, 8, S, &algo);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
    double want = 2.0 * 7 / 8 * S / NV_BW + 14 * (NV_LAT + STEP);
    ck_assert_double_eq_tol(t, want, 1e-12);
    /* reduce-scatter and all-gather: half of it */
    want = 7.0 / 8 * S / NV_BW + 7 * (NV_LAT + STEP);
    ck_assert_double_eq_tol(run_coll(COLL_REDUCE_SCATTER, chips, 8, S, NULL), want, 1e-12);
    ck_assert_double_eq_tol(run_coll(COLL_ALLGATHER, chips, 8, S, NULL), want, 1e-12);
}
END_TEST

/* 16 GPUs over the two nodes, hierarchical (auto's pick). RS inside each node (7/8 S, 7 steps), then 8
 * rings of 2 over the NICs, one per rail, on S/8 each (2 (1/2) S/8 bytes at 50 GB/s,
 * 2 steps), then AG inside each node. */
START_TEST(hierarchical_allreduce_over_two_nodes)
{
    int32_t chips[16];
    for (int i = 0; i < 16; i++)
        chips[i] = i;
    double S = 1e9;
    coll_algo algo;
    double t = run_algo(COLL_ALLREDUCE, COLL_ALGO_HIERARCHICAL, chips, 16, S, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_HIERARCHICAL);
    double intra = 7.0 / 8 * S / NV_BW + 7 * (NV_LAT + STEP);
    double inter = S / 8 / NIC_BW + 2 * (NIC_LAT + STEP);
    ck_assert_double_eq_tol(t, 2 * intra + inter, 1e-12);
    /* bytes of the same all-reduce: every NVLink up and down link carries 7/8 S in the
     * reduce-scatter and in the all-gather; each of the 8 rails' two paths (2 links each)
     * carries S/8 */
    fixture f;
    sim_status st;
    setup(&f);
    result r = {0};
    coll_req rq = {.kind = COLL_ALLREDUCE, .algo = COLL_ALGO_HIERARCHICAL, .chips = chips,
                   .n = 16, .bytes = S, .id = 7, .done = on_done, .user = &r};
    ck_assert_int_eq(coll_start(f.ce, &rq, NULL, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    size_t n_nv = 0, n_nic = 0, nl = net_graph_link_count(topo_graph(f.t));
    double total = 0;
    for (size_t l = 0; l < nl; l++) {
        double b = net_sim_link_bytes(f.ns, (net_link_id)l);
        total += b;
        n_nv += fabs(b - 1.75 * S) < 1;
        n_nic += fabs(b - S / 8) < 1;
    }
    ck_assert_uint_eq(n_nv, 32);
    ck_assert_uint_eq(n_nic, 32);
    ck_assert_double_eq_tol(total, 32 * 1.75 * S + 32 * S / 8, 1);
    teardown(&f);
    /* reduce-scatter: intra RS then the per-rail RS of S/8 over 2 (1/2 of it, 1 step) */
    double rs = intra + S / 16 / NIC_BW + (NIC_LAT + STEP);
    ck_assert_double_eq_tol(
        run_algo(COLL_REDUCE_SCATTER, COLL_ALGO_HIERARCHICAL, chips, 16, S, NULL, 0), rs, 1e-12);
    ck_assert_double_eq_tol(
        run_algo(COLL_ALLGATHER, COLL_ALGO_HIERARCHICAL, chips, 16, S, NULL, 0), rs, 1e-12);
}
END_TEST

/* One GPU per node: a flat ring over the NICs. */
START_TEST(ring_over_nics)
{
    int32_t chips[2] = {3, 11};
    double S = 1e8;
    coll_algo algo;
    double t = run_coll(COLL_ALLREDUCE, chips, 2, S, &algo);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
    ck_assert_double_eq_tol(t, S / NIC_BW + 2 * (NIC_LAT + STEP), 1e-12);
}
END_TEST

/* All-to-all among the 8 GPUs of a node: each GPU's NVLink uplink carries 7 of its 8
 * parts, each of S/8, shared by 7 messages: (7/8) S / 450 GB/s after one latency, coupled
 * (auto's choice: one transfer, weight 7 on each uplink) and direct (56 messages) alike. */
START_TEST(alltoall_in_a_node)
{
    int32_t chips[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double S = 8e8, want = 7.0 / 8 * S / NV_BW + NV_LAT + STEP;
    coll_algo algo;
    ck_assert_double_eq_tol(run_coll(COLL_ALLTOALL, chips, 8, S, &algo), want, 1e-12);
    ck_assert_int_eq(algo, COLL_ALGO_COUPLED);
    ck_assert_double_eq_tol(run_algo(COLL_ALLTOALL, COLL_ALGO_DIRECT, chips, 8, S, &algo, 0),
                            want, 1e-12);
    ck_assert_int_eq(algo, COLL_ALGO_DIRECT);
}
END_TEST

/* All-to-all of S between chip 0 and chip 8 (one message of S/2 each way, over the NICs)
 * under cross traffic that moves its bottleneck: two messages 0 -> 8 of y B (Y) and one
 * 8 -> 0 of x B (X, outlasting everything), all started at once, so everything starts
 * after the same latency L.
 *   direct: 0 -> 8 shares 0's uplink with Y (NIC/3) until Y ends at 3y/NIC, then runs
 *   alone; 8 -> 0 shares 8's uplink with X at NIC/2 throughout and ends last, at S/NIC.
 *   coupled: one rate for both messages: NIC/3 while Y runs (0's uplink), then NIC/2 (8's
 *   uplink beside X): y + (t - 3y/NIC) NIC/2 = S/2, so t = (S + y)/NIC.
 * Coupled ends later by y/NIC: it takes the slower message's rate at every instant, where
 * direct lets each message progress at its own. Without Y the bottleneck stays put (8's
 * uplink) and the two agree: S/NIC. */
static double alltoall_beside(coll_algo want, double S, double y, double x)
{
    fixture f;
    sim_status st;
    setup(&f);
    int32_t pair[2] = {0, 8};
    result r = {0}, rb[3] = {{0}};
    if (y > 0) {
        ck_assert_int_eq(coll_send(f.ce, 0, 8, y, 1, on_done, &rb[0], &st), SIM_OK);
        ck_assert_int_eq(coll_send(f.ce, 0, 8, y, 2, on_done, &rb[1], &st), SIM_OK);
    }
    ck_assert_int_eq(coll_send(f.ce, 8, 0, x, 3, on_done, &rb[2], &st), SIM_OK);
    coll_req rq = {.kind = COLL_ALLTOALL, .algo = want, .chips = pair, .n = 2, .bytes = S,
                   .id = 4, .done = on_done, .user = &r};
    coll_algo algo;
    ck_assert_int_eq(coll_start(f.ce, &rq, &algo, &st), SIM_OK);
    ck_assert_int_eq(algo, want);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(r.done, 1);
    ck_assert_int_eq(rb[2].done, 1);
    ck_assert(rb[2].end > r.end); /* X outlasts the all-to-all */
    teardown(&f);
    return r.end - r.start;
}

START_TEST(coupled_alltoall_against_direct)
{
    double S = 1e9, y = 1e8, x = 1e10, L = NIC_LAT + STEP;
    ck_assert_double_eq_tol(alltoall_beside(COLL_ALGO_DIRECT, S, y, x), L + S / NIC_BW,
                            1e-12);
    ck_assert_double_eq_tol(alltoall_beside(COLL_ALGO_COUPLED, S, y, x),
                            L + (S + y) / NIC_BW, 1e-12);
    ck_assert_double_eq_tol(alltoall_beside(COLL_ALGO_DIRECT, S, 0, x), L + S / NIC_BW,
                            1e-12);
    ck_assert_double_eq_tol(alltoall_beside(COLL_ALGO_COUPLED, S, 0, x), L + S / NIC_BW,
                            1e-12);
}
END_TEST

/* A message between nodes; groups of one or no member, and zero bytes, finish at once. */
START_TEST(messages_and_trivial_groups)
{
    fixture f;
    setup(&f);
    result r = {0}, r1 = {0}, r0 = {0};
    sim_status st;
    ck_assert_int_eq(coll_send(f.ce, 0, 8, 5e9, 1, on_done, &r, &st), SIM_OK);
    int32_t one = 4;
    coll_req rq = {.kind = COLL_ALLREDUCE, .chips = &one, .n = 1, .bytes = 1e9, .id = 2,
                   .done = on_done, .user = &r1};
    ck_assert_int_eq(coll_start(f.ce, &rq, NULL, &st), SIM_OK);
    int32_t two[2] = {1, 2};
    coll_req rz = {.kind = COLL_ALLGATHER, .chips = two, .n = 2, .bytes = 0, .id = 3,
                   .done = on_done, .user = &r0};
    ck_assert_int_eq(coll_start(f.ce, &rz, NULL, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(r.done + r1.done + r0.done, 3);
    ck_assert_double_eq_tol(r.end - r.start, 5e9 / NIC_BW + NIC_LAT + STEP, 1e-12);
    ck_assert_double_eq(r1.end, 0);
    ck_assert_double_eq(r0.end, 0);
    /* no member at all: done at once too, through an event (never inside the call) */
    result rn = {0};
    coll_algo algo = COLL_ALGO_COUNT;
    coll_req rq0 = {.kind = COLL_ALLREDUCE, .chips = NULL, .n = 0, .bytes = 1e9, .id = 4,
                    .done = on_done, .user = &rn};
    ck_assert_int_eq(coll_start(f.ce, &rq0, &algo, &st), SIM_OK);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
    ck_assert_int_eq(rn.done, 0);
    ck_assert_uint_eq(coll_live(f.ce), 1);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(rn.done, 1);
    ck_assert_double_eq(rn.end, rn.start);
    ck_assert_uint_eq(coll_live(f.ce), 0);
    teardown(&f);
}
END_TEST

/* Two rings sharing the NVSwitch uplinks of GPUs 0-3 get half the bandwidth each. */
START_TEST(concurrent_rings_share_links)
{
    fixture f;
    setup(&f);
    int32_t chips[4] = {0, 1, 2, 3};
    result a = {0}, b = {0};
    sim_status st;
    double S = 1e9;
    coll_req ra = {.kind = COLL_ALLGATHER, .chips = chips, .n = 4, .bytes = S, .id = 10,
                   .done = on_done, .user = &a};
    coll_req rb = ra;
    rb.id = 11;
    rb.user = &b;
    ck_assert_int_eq(coll_start(f.ce, &ra, NULL, &st), SIM_OK);
    ck_assert_int_eq(coll_start(f.ce, &rb, NULL, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    double want = 3.0 / 4 * S / (NV_BW / 2) + 3 * (NV_LAT + STEP);
    ck_assert_double_eq_tol(a.end - a.start, want, 1e-12);
    ck_assert_double_eq_tol(b.end - b.start, want, 1e-12);
    teardown(&f);
}
END_TEST

/* A ring over the two nodes runs as NCCL's 8 channels, each a ring of 16 on S/8: channel c
 * walks each node from member c and leaves it as PXN does, over NVLink to member c and on
 * member c's NIC to the other node's member c. Each NIC carries one channel each way, each
 * chip's NVLink uplink 8 (7 ring hops and the PXN hop): 450 / 8 = 56.25 GB/s, so the NIC
 * (50 GB/s) sets the rate; 30 lock-step steps each wait for the slowest hop, the
 * node-crossing one. busbw = 8 x 50 GB/s; at this size the hierarchy, whose phases add up
 * where the channels pipeline them, is slower. */
START_TEST(channel_rings_beat_the_hierarchy)
{
    int32_t chips[16];
    for (int i = 0; i < 16; i++)
        chips[i] = i;
    double S = 1e9;
    coll_algo algo;
    double ring = run_algo(COLL_ALLREDUCE, COLL_ALGO_RING, chips, 16, S, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
    double want = 2.0 * 15 / 16 * S / 8 / NIC_BW + 30 * (NIC_LAT + STEP);
    ck_assert_double_eq_tol(ring, want, 1e-12);
    double hier = run_algo(COLL_ALLREDUCE, COLL_ALGO_HIERARCHICAL, chips, 16, S, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_HIERARCHICAL);
    ck_assert(ring < hier * 0.8);
    /* a group whose domains hold unequal counts (6 + 5) is one plain ring: one NIC path */
    int32_t odd[11] = {0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12};
    double t = run_algo(COLL_ALLGATHER, COLL_ALGO_RING, odd, 11, S, &algo, 0);
    ck_assert_double_eq_tol(t, 10.0 / 11 * S / NIC_BW + 10 * (NIC_LAT + STEP), 1e-12);
}
END_TEST

/* In-switch reduction inside a node: each GPU sends S up and receives S down, two steps:
 * half a ring's bytes. Chosen by auto when the domain has it. */
START_TEST(nvls_allreduce)
{
    int32_t chips[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double S = 1e9;
    coll_algo algo;
    double t = run_algo(COLL_ALLREDUCE, COLL_ALGO_AUTO, chips, 8, S, &algo, 1);
    ck_assert_int_eq(algo, COLL_ALGO_NVLS);
    ck_assert_double_eq_tol(t, S / NV_BW + 2 * (NV_LAT + STEP), 1e-12);
    /* without the switch's help: a ring */
    run_algo(COLL_ALLREDUCE, COLL_ALGO_AUTO, chips, 8, S, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
}
END_TEST

/* Recursive halving among 8 GPUs of a node: exchanges of S/2, S/4, S/8, each pair over its
 * two NVLink hops alone: (7/8) S / B and 3 step latencies; all-reduce twice that. */
START_TEST(halving_doubling)
{
    int32_t chips[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double S = 1e9;
    coll_algo algo;
    double rs = 7.0 / 8 * S / NV_BW + 3 * (NV_LAT + STEP);
    ck_assert_double_eq_tol(run_algo(COLL_REDUCE_SCATTER, COLL_ALGO_RHD, chips, 8, S, &algo, 0),
                            rs, 1e-12);
    ck_assert_int_eq(algo, COLL_ALGO_RHD);
    ck_assert_double_eq_tol(run_algo(COLL_ALLGATHER, COLL_ALGO_RHD, chips, 8, S, &algo, 0), rs,
                            1e-12);
    ck_assert_double_eq_tol(run_algo(COLL_ALLREDUCE, COLL_ALGO_RHD, chips, 8, S, &algo, 0),
                            2 * rs, 1e-11); /* six phases, each ending on the ps grid */
    /* a small message: auto takes it (3 steps against the ring's 7) */
    run_algo(COLL_REDUCE_SCATTER, COLL_ALGO_AUTO, chips, 8, 65536, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_RHD);
    /* not a power of two: falls back to the ring */
    run_algo(COLL_REDUCE_SCATTER, COLL_ALGO_RHD, chips, 6, S, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
}
END_TEST

/* Double binary tree for a small all-reduce over both nodes: 2 x depth steps instead of the
 * hierarchy's 7 + 2 + 7, so it is faster; a large one stays hierarchical. */
START_TEST(tree_for_small_allreduce)
{
    int32_t chips[16];
    for (int i = 0; i < 16; i++)
        chips[i] = i;
    coll_algo algo;
    double tree = run_algo(COLL_ALLREDUCE, COLL_ALGO_AUTO, chips, 16, 65536, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_TREE);
    double hier = run_algo(COLL_ALLREDUCE, COLL_ALGO_HIERARCHICAL, chips, 16, 65536, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_HIERARCHICAL);
    ck_assert(tree < hier);
    /* depth 3 (16 members): 6 steps, at least each crossing's latency */
    ck_assert(tree >= 6 * (NV_LAT + STEP));
    run_algo(COLL_ALLREDUCE, COLL_ALGO_AUTO, chips, 16, 1e9, &algo, 0);
    ck_assert_int_eq(algo, COLL_ALGO_HIERARCHICAL);
}
END_TEST

/* Multi-dimensional rings on a 4x4 TPU v4 torus with wrap (75 GB/s per link: the chip's
 * 300 GB/s over its four links; 0.25 us per hop): a reduce-scatter along the four x rings
 * (3/4 S, 3 steps), then along the y rings on S/4 (3/16 S, 3 steps), and the all-gathers
 * back. Every ring uses the + links of its own row or column, once. */
START_TEST(torus_rings)
{
    fixture f;
    sim_status st;
    ck_assert_int_eq(topo_load_file("tests/fixtures/good/gen-torus-2d.yaml", &f.t, &st), SIM_OK);
    ck_assert_int_eq(ev_engine_create(&f.e, &st), SIM_OK);
    ck_assert_int_eq(net_sim_create(f.e, topo_graph(f.t), 0, &f.ns, &st), SIM_OK);
    ck_assert_int_eq(coll_engine_create(f.ns, f.t, &f.ce, &st), SIM_OK);
    int32_t chips[16];
    for (int i = 0; i < 16; i++)
        chips[i] = 15 - i; /* any order: rings follow the coordinates */
    double S = 1.6e9, B = 75e9, step = 0.25e-6 + STEP;
    result r = {0};
    coll_algo algo;
    coll_req rq = {.kind = COLL_ALLREDUCE, .chips = chips, .n = 16, .bytes = S, .id = 3,
                   .done = on_done, .user = &r};
    ck_assert_int_eq(coll_start(f.ce, &rq, &algo, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(algo, COLL_ALGO_TORUS);
    double want = 2 * (0.75 * S / B + 3 * step) + 2 * (0.75 * S / 4 / B + 3 * step);
    ck_assert_double_eq_tol(r.end - r.start, want, 1e-11);
    /* bytes: each of the 16 x+ links carries 3/4 S in the reduce-scatter and again in the
     * all-gather, each of the 16 y+ links 3/4 S/4 twice; no other link is used */
    size_t nx = 0, ny = 0, nl = net_graph_link_count(topo_graph(f.t));
    for (size_t l = 0; l < nl; l++) {
        double b = net_sim_link_bytes(f.ns, (net_link_id)l);
        if (fabs(b - 1.5 * S) < 1)
            nx++;
        else if (fabs(b - 0.375 * S) < 1)
            ny++;
        else
            ck_assert_double_eq(b, 0);
    }
    ck_assert_uint_eq(nx, 16);
    ck_assert_uint_eq(ny, 16);
    /* a row of the torus (4 members along x): one dimension */
    result r2 = {0};
    int32_t row[4] = {4, 5, 6, 7};
    coll_req rr = {.kind = COLL_ALLGATHER, .chips = row, .n = 4, .bytes = S, .id = 4,
                   .done = on_done, .user = &r2};
    ck_assert_int_eq(coll_start(f.ce, &rr, &algo, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(algo, COLL_ALGO_TORUS);
    ck_assert_double_eq_tol(r2.end - r2.start, 0.75 * S / B + 3 * step, 1e-11);
    /* an L-shaped group is not a box: a plain ring */
    int32_t ell[4] = {0, 1, 2, 4};
    result r3 = {0};
    coll_req rl = {.kind = COLL_ALLGATHER, .chips = ell, .n = 4, .bytes = S, .id = 5,
                   .done = on_done, .user = &r3};
    ck_assert_int_eq(coll_start(f.ce, &rl, &algo, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
    /* torus asked for a group that is not a box ((0,0) (1,0) (2,0) (0,1) (1,1) (3,1): its x
     * and y values span 4 x 2 = 8 > 6): falls back to a ring of the 6, 5 steps of 1/6 S */
    int32_t odd[6] = {0, 1, 2, 4, 5, 7};
    result r4 = {0};
    coll_req ro = {.kind = COLL_ALLGATHER, .algo = COLL_ALGO_TORUS, .chips = odd, .n = 6,
                   .bytes = S, .id = 6, .done = on_done, .user = &r4};
    ck_assert_int_eq(coll_start(f.ce, &ro, &algo, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(algo, COLL_ALGO_RING);
    ck_assert_int_eq(r4.done, 1);
    ck_assert_double_gt(r4.end - r4.start, 5.0 / 6 * S / B);
    teardown(&f);
}
END_TEST

/* A phase after the first that cannot be routed (islands.yaml: h0, h2 | h1, h3): the
 * halving at distance 2 starts, the one at distance 1 finds no path. The engine stops with
 * that error, and the collective is not reported done. */
START_TEST(a_failing_later_phase_is_an_error)
{
    fixture f;
    sim_status st;
    ck_assert_int_eq(topo_load_file("tests/fixtures/good/islands.yaml", &f.t, &st), SIM_OK);
    ck_assert_int_eq(ev_engine_create(&f.e, &st), SIM_OK);
    ck_assert_int_eq(net_sim_create(f.e, topo_graph(f.t), 0, &f.ns, &st), SIM_OK);
    ck_assert_int_eq(coll_engine_create(f.ns, f.t, &f.ce, &st), SIM_OK);
    int32_t chips[4] = {0, 1, 2, 3};
    result r = {0};
    coll_algo algo;
    coll_req rq = {.kind = COLL_REDUCE_SCATTER, .chips = chips, .n = 4, .bytes = 1e6, .id = 1,
                   .done = on_done, .user = &r};
    ck_assert_int_eq(coll_start(f.ce, &rq, &algo, &st), SIM_OK);
    ck_assert_int_eq(algo, COLL_ALGO_RHD);
    ck_assert_ptr_null(coll_engine_error(f.ce));
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(r.done, 0);
    ck_assert_uint_eq(coll_live(f.ce), 1);
    const sim_status *err = coll_engine_error(f.ce);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->code, SIM_ERR_INPUT);
    ck_assert_str_eq(err->msg, "no path from 'h0' to 'h1'");
    /* the engine stays failed: a later start is refused with the same error */
    ck_assert_int_eq(coll_send(f.ce, 0, 2, 1e6, 2, on_done, &r, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "no path from 'h0' to 'h1'");
    ck_assert_uint_eq(coll_live(f.ce), 1);
    ev_clear(f.e); /* a stopped run leaves events */
    teardown(&f);
}
END_TEST

/* Broadcast from GPU 0 down a chain of the node's 8 GPUs, pipelined: S at 450 GB/s after
 * 7 step latencies. */
START_TEST(broadcast_chain)
{
    int32_t chips[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double S = 1e9;
    coll_algo algo;
    double t = run_coll(COLL_BROADCAST, chips, 8, S, &algo);
    ck_assert_int_eq(algo, COLL_ALGO_CHAIN);
    ck_assert_double_eq_tol(t, S / NV_BW + 7 * (NV_LAT + STEP), 1e-12);
    ck_assert_double_eq(coll_busbw_factor(COLL_BROADCAST, 8), 1.0);
}
END_TEST

/* What a group's membership decides, as coll.h describes it, for the rule below. */
typedef struct shape {
    const char *name;
    const int32_t *chips;
    size_t n;
    int one_domain, sharp, torus, levels; /* torus: a box of a torus; levels: hierarchical */
} shape;

/* The algorithm coll.h documents for kind over g when want is asked for: all-to-all
 * coupled, or direct when asked for (a group of one: coupled), and broadcast chain whatever
 * was asked; a torus box gets torus when asked or auto; auto
 * prefers nvls, then tree (all-reduce over several domains, small) or rhd (reduce-scatter,
 * all-gather over a power of two, small); an algorithm asked for that cannot run (nvls
 * outside a reducing domain or not an all-reduce, tree not an all-reduce, rhd not a power
 * of two, torus not a box) falls back, as auto does last, to hierarchical when the members
 * form one, else ring. Groups of one: direct, chain or ring. */
static coll_algo rule(const shape *g, coll_kind kind, coll_algo want, double bytes)
{
    int ar = kind == COLL_ALLREDUCE, pow2 = g->n >= 2 && (g->n & (g->n - 1)) == 0;
    int small = bytes <= COLL_SMALL_BYTES;
    if (kind == COLL_ALLTOALL)
        return want == COLL_ALGO_DIRECT && g->n >= 2 ? COLL_ALGO_DIRECT : COLL_ALGO_COUPLED;
    if (kind == COLL_BROADCAST)
        return COLL_ALGO_CHAIN;
    if (g->n < 2)
        return COLL_ALGO_RING;
    if ((want == COLL_ALGO_AUTO || want == COLL_ALGO_TORUS) && g->torus)
        return COLL_ALGO_TORUS;
    if (want == COLL_ALGO_AUTO && ar && g->one_domain && g->sharp)
        return COLL_ALGO_NVLS;
    if (want == COLL_ALGO_AUTO && ar && !g->one_domain && g->n >= 4 && small)
        return COLL_ALGO_TREE;
    if (want == COLL_ALGO_AUTO && !ar && g->n >= 4 && pow2 && small)
        return COLL_ALGO_RHD;
    int runs = want == COLL_ALGO_RING || want == COLL_ALGO_DIRECT || want == COLL_ALGO_P2P ||
               want == COLL_ALGO_CHAIN || (want == COLL_ALGO_NVLS && ar && g->one_domain &&
                                           g->sharp) ||
               (want == COLL_ALGO_TREE && ar) || (want == COLL_ALGO_RHD && pow2);
    if (runs)
        return want;
    return g->levels ? COLL_ALGO_HIERARCHICAL : COLL_ALGO_RING;
}

/* Every kind, every algorithm asked for (and auto), small and large, over groups of every
 * shape (in one node, over two, a torus box and not, with and without in-switch
 * reduction, of one member): the algorithm used is the rule's, and the collective ends.
 * Each request runs three times: over its chips (a private group), then twice over a group
 * kept by the engine (which remembers auto's pick). */
START_TEST(algorithm_choice_follows_the_rule)
{
    static const int32_t node[8] = {0, 1, 2, 3, 4, 5, 6, 7}, six[6] = {0, 1, 2, 3, 4, 5},
                         two_nodes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
                         twelve[12] = {0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13}, pair[2] = {3, 11},
                         one[1] = {5}, row[4] = {4, 5, 6, 7}, ell[4] = {0, 1, 2, 4},
                         box[16] = {15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    static const struct {
        const char *topology;
        int sharp;
        shape g;
    } cases[] = {
        {"topologies/two-nodes.yaml", 0, {"node", node, 8, 1, 0, 0, 0}},
        {"topologies/two-nodes.yaml", 0, {"six", six, 6, 1, 0, 0, 0}},
        {"topologies/two-nodes.yaml", 0, {"two nodes", two_nodes, 16, 0, 0, 0, 1}},
        {"topologies/two-nodes.yaml", 0, {"6 + 6", twelve, 12, 0, 0, 0, 1}},
        {"topologies/two-nodes.yaml", 0, {"pair", pair, 2, 0, 0, 0, 0}},
        {"topologies/two-nodes.yaml", 0, {"one", one, 1, 1, 0, 0, 0}},
        {"topologies/two-nodes.yaml", 1, {"node, sharp", node, 8, 1, 1, 0, 0}},
        {"topologies/two-nodes.yaml", 1, {"two nodes, sharp", two_nodes, 16, 0, 1, 0, 1}},
        {"tests/fixtures/good/gen-torus-2d.yaml", 0, {"torus", box, 16, 1, 0, 1, 0}},
        {"tests/fixtures/good/gen-torus-2d.yaml", 0, {"row", row, 4, 1, 0, 1, 0}},
        {"tests/fixtures/good/gen-torus-2d.yaml", 0, {"ell", ell, 4, 1, 0, 0, 0}},
    };
    static const double sizes[] = {65536, 1e9};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fixture f;
        sim_status st;
        ydoc_override ov = {"scale_up.in_switch_reduction", "true", "--set sharp"};
        topo_load_opts o = {.overrides = &ov, .n_overrides = cases[c].sharp ? 1 : 0};
        ck_assert_int_eq(topo_load(cases[c].topology, &o, &f.t, &st), SIM_OK);
        ck_assert_int_eq(ev_engine_create(&f.e, &st), SIM_OK);
        ck_assert_int_eq(net_sim_create(f.e, topo_graph(f.t), 0, &f.ns, &st), SIM_OK);
        ck_assert_int_eq(coll_engine_create(f.ns, f.t, &f.ce, &st), SIM_OK);
        const shape *g = &cases[c].g;
        coll_group *kept;
        ck_assert_int_eq(coll_group_create(f.ce, g->chips, g->n, &kept, &st), SIM_OK);
        for (int kind = 0; kind < COLL_KIND_COUNT; kind++)
            for (int want = 0; want < COLL_ALGO_COUNT; want++)
                for (size_t b = 0; b < 6; b++) {
                    result r = {0};
                    coll_algo algo = COLL_ALGO_COUNT;
                    coll_req rq = {.kind = kind, .algo = want, .chips = g->chips, .n = g->n,
                                   .group = b < 2 ? NULL : kept, .bytes = sizes[b % 2],
                                   .id = (uint64_t)(kind * 100 + want), .done = on_done,
                                   .user = &r};
                    ck_assert_int_eq(coll_start(f.ce, &rq, &algo, &st), SIM_OK);
                    ev_run(f.e, INT64_MAX);
                    ck_assert_msg(algo == rule(g, kind, want, sizes[b % 2]),
                                  "%s, %s asked %s, %g bytes%s: %s, the rule says %s", g->name,
                                  coll_kind_name(kind), coll_algo_name(want), sizes[b % 2],
                                  b < 2 ? "" : " (kept group)", coll_algo_name(algo),
                                  coll_algo_name(rule(g, kind, want, sizes[b % 2])));
                    ck_assert_int_eq(r.done, 1);
                }
        ck_assert_uint_eq(coll_live(f.ce), 0);
        teardown(&f);
    }
}
END_TEST

START_TEST(busbw_factors)
{
    ck_assert_double_eq(coll_busbw_factor(COLL_ALLREDUCE, 8), 2.0 * 7 / 8);
    ck_assert_double_eq(coll_busbw_factor(COLL_ALLGATHER, 8), 7.0 / 8);
    ck_assert_double_eq(coll_busbw_factor(COLL_REDUCE_SCATTER, 4), 3.0 / 4);
    ck_assert_double_eq(coll_busbw_factor(COLL_ALLREDUCE, 1), 0);
}
END_TEST

/* The shipped H100 chip (topologies/chips/h100-sxm.yaml): links carry payload at the
 * chip's protocol efficiency (NVLink 0.822, NVLS 0.611, NIC 0.94) and each collective pays
 * NCCL's launch (8.4 us) and per-step costs (3.4 us over NVLink, 14 us across the fabric,
 * 25 us once for NVLS). */
static double run_shipped(coll_kind kind, coll_algo want, const int32_t *chips, size_t n,
                          double bytes, int sharp)
{
    fixture f;
    sim_status st;
    ydoc_override ov = {"scale_up.in_switch_reduction", "true", "--set sharp"};
    topo_load_opts o = {.overrides = &ov, .n_overrides = sharp ? 1 : 0};
    ck_assert_int_eq(topo_load("topologies/two-nodes.yaml", &o, &f.t, &st), SIM_OK);
    ck_assert_int_eq(ev_engine_create(&f.e, &st), SIM_OK);
    ck_assert_int_eq(net_sim_create(f.e, topo_graph(f.t), 0, &f.ns, &st), SIM_OK);
    ck_assert_int_eq(coll_engine_create(f.ns, f.t, &f.ce, &st), SIM_OK);
    result r = {0};
    coll_req rq = {.kind = kind, .algo = want, .chips = chips, .n = n, .bytes = bytes,
                   .id = 3, .done = on_done, .user = &r};
    ck_assert_int_eq(coll_start(f.ce, &rq, NULL, &st), SIM_OK);
    ev_run(f.e, INT64_MAX);
    ck_assert_int_eq(r.done, 1);
    teardown(&f);
    return r.end - r.start;
}

START_TEST(protocol_efficiency_and_latency)
{
    int32_t chips[16];
    for (int i = 0; i < 16; i++)
        chips[i] = i;
    double S = 1e9, nv = NV_BW * 0.822, launch = 8.4e-6, up = 3.4e-6, out = 14e-6;
    /* ring of one node: busbw 450 x 0.822 = 369.9 GB/s; 14 steps over NVLink */
    double t = run_shipped(COLL_ALLREDUCE, COLL_ALGO_RING, chips, 8, S, 0);
    ck_assert_double_eq_tol(t, 2.0 * 7 / 8 * S / nv + launch + 14 * (NV_LAT + up), 1e-12);
    /* NVLS: S up and down at 450 x 0.611, the launch and NVLS's own 25 us once */
    t = run_shipped(COLL_ALLREDUCE, COLL_ALGO_AUTO, chips, 8, S, 1);
    ck_assert_double_eq_tol(t, S / (NV_BW * 0.611) + launch + 2 * NV_LAT + 25e-6, 1e-12);
    /* channels over two nodes: each chip's NVLink uplink carries 8 channels (450 x 0.822 /
     * 8 = 46.24 GB/s), its NIC one (50 x 0.94 = 47 GB/s): NVLink sets the rate. Of the
     * 128 step edges 16 cross the fabric: 30 x 16 / 128 = 3.75, so 4 of the 30 steps pay
     * the fabric's step cost, 26 NVLink's; every step waits the slowest path (the NIC's). */
    t = run_shipped(COLL_ALLREDUCE, COLL_ALGO_RING, chips, 16, S, 0);
    double want = 2.0 * 15 / 16 * S / 8 / (nv / 8) + launch + 30 * NIC_LAT + 4 * out + 26 * up;
    ck_assert_double_eq_tol(t, want, 1e-12);
    /* one chip per node: a ring of two over the NICs at 0.94 of 50 GB/s, 2 fabric steps */
    int32_t pair[2] = {3, 11};
    t = run_shipped(COLL_ALLGATHER, COLL_ALGO_RING, pair, 2, S, 0);
    ck_assert_double_eq_tol(t, S / 2 / (NIC_BW * 0.94) + launch + NIC_LAT + out, 1e-12);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("coll");
    TCase *tc = tcase_create("coll");
    tcase_add_test(tc, ring_allreduce_in_a_node);
    tcase_add_test(tc, hierarchical_allreduce_over_two_nodes);
    tcase_add_test(tc, ring_over_nics);
    tcase_add_test(tc, alltoall_in_a_node);
    tcase_add_test(tc, coupled_alltoall_against_direct);
    tcase_add_test(tc, messages_and_trivial_groups);
    tcase_add_test(tc, concurrent_rings_share_links);
    tcase_add_test(tc, channel_rings_beat_the_hierarchy);
    tcase_add_test(tc, protocol_efficiency_and_latency);
    tcase_add_test(tc, nvls_allreduce);
    tcase_add_test(tc, halving_doubling);
    tcase_add_test(tc, tree_for_small_allreduce);
    tcase_add_test(tc, torus_rings);
    tcase_add_test(tc, a_failing_later_phase_is_an_error);
    tcase_add_test(tc, broadcast_chain);
    tcase_add_test(tc, algorithm_choice_follows_the_rule);
    tcase_add_test(tc, busbw_factors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
