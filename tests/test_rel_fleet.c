/*
 * test_rel_fleet.c: a job's failure classes (rel/rel_fleet.h) and its checkpoint
 * (rel/rel_ckpt.h).
 *
 * The fixture tests/fixtures/good/rel-rail.yaml is 16 nodes of 4 H100 (4 NICs each) on a
 * 3-tier rail-optimized fabric: rail groups of 4 nodes, so leaf 4g + r holds NIC r of nodes
 * 4g .. 4g+3 (sim/topo/gen_build.c, leaf_of_nic: node / nics_per_leaf x nics_per_node +
 * rail); pods of 32 NICs (8 leaves, nodes 8p .. 8p+7) under 4 spines; 2 cores per plane.
 * Every expectation below is worked out from that structure by hand, not from the graph.
 * Rates are checked against Llama 3's Table 5 counts, recomputed here.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTERSIM_TEST_PLANS
#include "helpers.h"
#include "rel/rel_ckpt.h"
#include "rel/rel_fleet.h"

#define RAIL "tests/fixtures/good/rel-rail.yaml"
#define CFG "tests/fixtures/good/rel-cfg.yaml"
#define HOUR 3600.0
/* Llama 3, section 3.3.4: a 54-day snapshot of 16,384 H100 in 2,048 hosts. */
#define SPAN_H (54.0 * 24.0)

static topo *load_topo(const char *path)
{
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(topo_load_file(path, &t, &st) == SIM_OK, "%s: %s", path, st.msg);
    return t;
}

static net_node_id node_named(const topo *t, const char *fmt, long k)
{
    char name[64];
    snprintf(name, sizeof name, fmt, k);
    net_node_id n = net_graph_find(topo_graph(t), name);
    ck_assert_msg(n >= 0, "no node %s", name);
    return n;
}

/* The hosts below sw are exactly lo .. lo+n-1. */
static void expect_below(const topo *t, net_node_id sw, int64_t lo, size_t n)
{
    int64_t *h = NULL;
    size_t got = 0;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(rel_fleet_nodes_below(t, sw, &h, &got, &st), SIM_OK);
    ck_assert_msg(got == n, "%s: %zu hosts, want %zu",
                  net_graph_node_name(topo_graph(t), sw), got, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(h[i], lo + (int64_t)i);
    free(h);
}

/* ---- blast radius ---- */

/* Leaf 4g + r of rel-rail holds rail r of group g: nodes 4g .. 4g+3, and nothing else. */
START_TEST(leaf_failure_takes_exactly_the_nodes_below)
{
    topo *t = load_topo(RAIL);
    for (long k = 0; k < 16; k++)
        expect_below(t, node_named(t, "dc0/leaf%ld", k), 4 * (k / 4), 4);
    /* A spine holds its pod's 8 nodes; a core every node; a chip no switch below it. */
    for (long j = 0; j < 4; j++) {
        char fmt[32];
        snprintf(fmt, sizeof fmt, "dc0/pod%%ld/spine%ld", j);
        expect_below(t, node_named(t, fmt, 0), 0, 8);
        expect_below(t, node_named(t, fmt, 1), 8, 8);
    }
    expect_below(t, node_named(t, "dc0/plane3/core%ld", 1), 0, 16);
    expect_below(t, 0, 0, 0);
    topo_destroy(t);
}
END_TEST

/* The shipped 16k SuperPOD: leaf k holds rail k % 8 of the 32-node scalable unit k / 8. */
START_TEST(superpod_leaf_holds_one_rail_of_its_unit)
{
    topo *t = load_topo("topologies/h100-superpod-16k.yaml");
    static const long leaves[] = {0, 7, 8, 13, 300, 511};
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
        expect_below(t, node_named(t, "dc0/leaf%ld", leaves[i]), 32 * (leaves[i] / 8), 32);
    topo_destroy(t);
}
END_TEST

/* Shared NICs (2 per node of 8, fat tree of 4 NICs per leaf): leaf 0 holds the NICs of
 * nodes 0 and 1, reached through PCIe from their chips. */
START_TEST(shared_nics_are_followed_to_their_hosts)
{
    topo *t = load_topo("tests/fixtures/good/gen-shared-nics.yaml");
    expect_below(t, node_named(t, "dc0/leaf%ld", 0), 0, 2);
    expect_below(t, node_named(t, "dc0/leaf%ld", 1), 2, 2);
    rel_fleet_counts c;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(rel_fleet_count(t, 32, &c, &st), SIM_OK);
    ck_assert_int_eq(c.hosts, 4);
    ck_assert_int_eq(c.nics, 8);
    ck_assert_int_eq(c.nic_cables, 8);
    ck_assert_int_eq(c.leaves, 2);
    ck_assert_int_eq(c.leaf_hosts, 2);
    topo_destroy(t);
}
END_TEST

/* ---- counts ---- */

START_TEST(counts_of_a_whole_job)
{
    topo *t = load_topo(RAIL);
    rel_fleet_counts c;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(rel_fleet_count(t, 64, &c, &st), SIM_OK);
    ck_assert_int_eq(c.chips, 64);
    ck_assert_int_eq(c.hosts, 16);
    ck_assert_int_eq(c.nics, 64);
    ck_assert_int_eq(c.leaves, 16);     /* 4 groups x 4 rails */
    ck_assert_int_eq(c.spines, 8);      /* 2 pods x 4 */
    ck_assert_int_eq(c.cores, 8);       /* 4 planes x 2 */
    ck_assert_int_eq(c.nic_cables, 64); /* one 400 Gb/s port each */
    /* A leaf: 4 x 400 Gb/s up, one 400 Gb/s cable to each of its 4 spines. */
    ck_assert_int_eq(c.leaf_spine_cables, 64);
    ck_assert_int_eq(c.leaf_up_cables, 4);
    ck_assert_int_eq(c.spine_fanout, 4);
    /* A spine: 8 leaves x 400 Gb/s up, split over 2 cores: trunks of 4 cables. */
    ck_assert_int_eq(c.spine_core_cables, 8 * 2 * 4);
    ck_assert_int_eq(c.spine_up_cables, 8);
    ck_assert_int_eq(c.core_fanout, 2);
    ck_assert_int_eq(c.leaf_hosts, 4);
    ck_assert_int_eq(c.spine_hosts, 8);
    ck_assert_int_eq(c.core_hosts, 16);
    topo_destroy(t);
}
END_TEST

/* 40 chips: nodes 0-9, so groups 0 and 1 whole and half of group 2 (nodes 8, 9): its 4
 * leaves count, each with 2 job hosts; both pods' spines count (group 2 is in pod 1). */
START_TEST(counts_of_a_partial_job)
{
    topo *t = load_topo(RAIL);
    rel_fleet_counts c;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(rel_fleet_count(t, 40, &c, &st), SIM_OK);
    ck_assert_int_eq(c.hosts, 10);
    ck_assert_int_eq(c.nics, 40);
    ck_assert_int_eq(c.nic_cables, 40);
    ck_assert_int_eq(c.leaves, 12);
    ck_assert_int_eq(c.leaf_spine_cables, 12 * 4);
    ck_assert_int_eq(c.spines, 8);
    ck_assert_int_eq(c.spine_core_cables, 64);
    ck_assert_int_eq(c.cores, 8);
    ck_assert_int_eq(c.leaf_hosts, 4);
    ck_assert_int_eq(c.spine_hosts, 8);  /* pod 0 whole */
    ck_assert_int_eq(c.core_hosts, 10);  /* the job's hosts only */
    /* A job of 6 chips: hosts 0 and 1 (partly), group 0's 4 leaves, pod 0's spines. */
    ck_assert_int_eq(rel_fleet_count(t, 6, &c, &st), SIM_OK);
    ck_assert_int_eq(c.hosts, 2);
    ck_assert_int_eq(c.nics, 6);
    ck_assert_int_eq(c.leaves, 4);
    ck_assert_int_eq(c.spines, 4);
    ck_assert_int_eq(c.leaf_hosts, 2);
    /* Outside the topology. */
    ck_assert_int_eq(rel_fleet_count(t, 65, &c, &st), SIM_ERR_INPUT);
    ck_assert_str_eq(st.msg, "a job of 65 chips on a topology of 64 chips");
    ck_assert_int_eq(rel_fleet_count(t, 0, &c, &st), SIM_ERR_INPUT);
    topo_destroy(t);
}
END_TEST

/* ---- rates ---- */

static void expect_close(double got, double want)
{
    ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want), "got %.17g, want %.17g", got, want);
}

/* The built-in rates are Table 5's counts over the components and the 1,296 h. */
START_TEST(default_rates_follow_llama3_table5)
{
    hw_fail_spec s;
    hw_fail_default(HW_FAIL_HOST, &s); /* maintenance, SSD, PSU, chassis, IO board, CPU, RAM */
    expect_close(s.life.mean_s, 2048.0 * SPAN_H / (32 + 3 + 3 + 2 + 2 + 2 + 2) * HOUR);
    ck_assert_int_eq(s.life.dist, HW_FAIL_EXPONENTIAL);
    hw_fail_default(HW_FAIL_NIC, &s);
    expect_close(s.life.mean_s, 16384.0 * SPAN_H / 7 * HOUR);
    hw_fail_default(HW_FAIL_SOFTWARE, &s); /* software bug, dependency, NCCL watchdog */
    expect_close(s.life.mean_s, 2048.0 * SPAN_H / (54 + 2 + 7) * HOUR);
    ck_assert_int_eq(s.repair.dist, HW_FAIL_LOGNORMAL);
    expect_close(s.repair.mean_s, 1 * HOUR);
    hw_fail_default(HW_FAIL_GPU, &s); /* from the chip file only */
    ck_assert(isinf(s.life.mean_s));
    expect_close(s.repair.mean_s, 24 * HOUR);
    /* The chip file: gpu 148 + 19 + 17 + 6 + 6 and HBM3 72 over 16,384 GPUs. */
    hw_chip chip;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(hw_chip_load_file("topologies/chips/h100-sxm.yaml", &chip, &st), SIM_OK);
    ck_assert_int_eq(lround(chip.fail[HW_FAIL_GPU].life.mean_s / HOUR),
                     lround(16384.0 * SPAN_H / (148 + 19 + 17 + 6 + 6)));
    expect_close(chip.fail[HW_FAIL_HBM].life.mean_s, 16384.0 * SPAN_H / 72 * HOUR);
    ck_assert_int_eq(chip.fail[HW_FAIL_GPU].repair.dist, HW_FAIL_LOGNORMAL);
    expect_close(chip.fail[HW_FAIL_GPU].repair.shape, 1.0);
    /* A chip file without failures never fails. */
    ck_assert_int_eq(hw_chip_load_file("topologies/chips/b200.yaml", &chip, &st), SIM_OK);
    ck_assert(isinf(chip.fail[HW_FAIL_GPU].life.mean_s));
    ck_assert(isinf(chip.fail[HW_FAIL_HBM].life.mean_s));
}
END_TEST

/* Switches and cables share Table 5's 35 "network switch/cable" in proportion to their
 * counts: those of a 16,384-GPU job on the RoCE cluster Llama 3 ran on. */
START_TEST(switch_and_cable_rate_from_the_llama3_cluster)
{
    topo *t = load_topo("topologies/llama3-24k-roce.yaml");
    rel_fleet_counts c;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(rel_fleet_count(t, 16384, &c, &st), SIM_OK);
    ck_assert_int_eq(c.hosts, 2048);
    ck_assert_int_eq(c.leaves, 1024);  /* 16 NICs per leaf */
    ck_assert_int_eq(c.spines, 6 * 16); /* 16,384 / 3,072 per pod: 6 pods touched */
    ck_assert_int_eq(c.cores, 16);
    ck_assert_int_eq(c.nic_cables, 16384);
    ck_assert_int_eq(c.leaf_spine_cables, 16384);
    /* A spine's uplink: 192 leaves x 400 Gb/s / 7 = 10.97 Tb/s, 28 ports of 400 Gb/s. */
    ck_assert_int_eq(c.spine_core_cables, 96 * 28);
    int64_t elements = c.leaves + c.spines + c.cores + c.nic_cables + c.leaf_spine_cables +
                       c.spine_core_cables;
    ck_assert_int_eq(elements, 36592);
    hw_fail_kind kinds[] = {HW_FAIL_LEAF, HW_FAIL_SPINE, HW_FAIL_CORE, HW_FAIL_CABLE};
    for (size_t i = 0; i < 4; i++) {
        hw_fail_spec s;
        hw_fail_default(kinds[i], &s);
        expect_close(s.life.mean_s, (double)elements * SPAN_H / 35 * HOUR);
        /* A topology without a failures section gets them. */
        expect_close(topo_failure(t, kinds[i])->life.mean_s, s.life.mean_s);
    }
    topo_destroy(t);
}
END_TEST

/* ---- classes ---- */

static rel_class *build(plan *p, const rel_fleet_opts *o, size_t *n)
{
    rel_class *c = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(rel_fleet_build(p, o, &c, n, &st) == SIM_OK, "%s", st.msg);
    return c;
}

static const rel_class *find(const rel_class *c, size_t n, const char *name)
{
    const rel_class *k = rel_fleet_find(c, n, name);
    ck_assert_msg(k != NULL, "no class %s", name);
    return k;
}

static void expect_class(const rel_class *c, size_t n, const char *name, int64_t count,
                         rel_effect effect, int64_t nodes)
{
    const rel_class *k = find(c, n, name);
    ck_assert_msg(k->count == count, "%s: count %lld, want %lld", name, (long long)k->count,
                  (long long)count);
    ck_assert_msg(k->effect == effect, "%s: effect %d", name, (int)k->effect);
    ck_assert_msg(k->nodes == nodes, "%s: nodes %lld, want %lld", name, (long long)k->nodes,
                  (long long)nodes);
}

START_TEST(classes_of_a_plan)
{
    plan *p = th_load(CFG, NULL);
    size_t n = 0;
    rel_class *c = build(p, NULL, &n);
    ck_assert_uint_eq(n, 11);
    static const char *const order[] = {"gpu",  "hbm",  "host",  "nic",
                                        "nic-cable", "leaf", "spine", "core",
                                        "leaf-spine-cable", "spine-core-cable", "software"};
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(c[i].name, order[i]);
    expect_class(c, n, "gpu", 64, REL_STOP, 1);
    expect_class(c, n, "hbm", 64, REL_STOP, 1);
    expect_class(c, n, "host", 16, REL_STOP, 1);
    expect_class(c, n, "nic", 64, REL_STOP, 1);
    expect_class(c, n, "nic-cable", 64, REL_STOP, 1);
    expect_class(c, n, "leaf", 16, REL_STOP, 4); /* the 4 nodes of its rail group */
    expect_class(c, n, "spine", 8, REL_DEGRADE, 0);
    expect_class(c, n, "core", 8, REL_DEGRADE, 0);
    expect_class(c, n, "leaf-spine-cable", 64, REL_DEGRADE, 0);
    expect_class(c, n, "spine-core-cable", 64, REL_DEGRADE, 0);
    expect_class(c, n, "software", 16, REL_STOP, 0);
    /* Laws: the chip file's and the defaults; no replay, no slowdown. */
    const rel_class *g = find(c, n, "gpu");
    ck_assert_int_eq(g->life.dist, REL_EXPONENTIAL);
    expect_close(g->life.mean_s, 108335 * HOUR);
    ck_assert_int_eq(g->repair.dist, REL_LOGNORMAL);
    expect_close(g->repair.mean_s, 24 * HOUR);
    const rel_class *h = find(c, n, "host");
    expect_close(h->life.mean_s, 2048.0 * SPAN_H / 46 * HOUR);
    for (size_t i = 0; i < n; i++)
        ck_assert(c[i].slowdown == 0.0);
    free(c);
    plan_destroy(p);
}
END_TEST

/* A topology's failures section replaces the defaults of the kinds it names, the others
 * keep theirs; `never` turns a kind off; a repair left out keeps the kind's default. */
START_TEST(topology_failures_override_defaults)
{
    static const char *const sets[] = {
        "topology.failures.host.mtbf=1000 h",
        "topology.failures.spine.mtbf=2 d",
        "topology.failures.spine.dist=weibull",
        "topology.failures.spine.shape=0.78",
        "topology.failures.spine.repair.mean=30 min",
        "topology.failures.software.mtbf=never",
        NULL};
    plan *p = th_load(CFG, sets);
    size_t n = 0;
    rel_class *c = build(p, NULL, &n);
    const rel_class *h = find(c, n, "host");
    expect_close(h->life.mean_s, 1000 * HOUR);
    ck_assert_int_eq(h->repair.dist, REL_LOGNORMAL); /* default repair */
    expect_close(h->repair.mean_s, 24 * HOUR);
    const rel_class *s = find(c, n, "spine");
    ck_assert_int_eq(s->life.dist, REL_WEIBULL);
    expect_close(s->life.mean_s, 2 * 86400.0);
    expect_close(s->life.shape, 0.78);
    ck_assert_int_eq(s->repair.dist, REL_EXPONENTIAL); /* a repair mapping's own law */
    expect_close(s->repair.mean_s, 1800.0);
    ck_assert(isinf(find(c, n, "software")->life.mean_s));
    expect_close(find(c, n, "nic")->life.mean_s, 16384.0 * SPAN_H / 7 * HOUR); /* untouched */
    free(c);
    plan_destroy(p);
}
END_TEST

/* Replays: a spine down leaves its pod's 3 of 4 spines (leaf-spine and spine-core links at
 * 3/4), a core 1 of 2 in its plane (spine-core at 1/2), a leaf-spine cable 3 of a leaf's 4
 * uplinks, a spine-core cable 7 of a spine's 8. Each slowdown is what a replay of the plan
 * with those capacities gives, done here by hand; the topology comes back bit for bit. */
static double step_with(plan *p, const net_link_kind *kinds, size_t nk, double f)
{
    topo *t = plan_topo(p);
    const net_graph *g = topo_graph(t);
    size_t nl = net_graph_link_count(g);
    double *saved = malloc(nl * sizeof *saved);
    ck_assert_ptr_nonnull(saved);
    for (size_t l = 0; l < nl; l++)
        saved[l] = net_graph_link(g, (net_link_id)l)->bw_Bps;
    for (size_t i = 0; i < nk; i++)
        topo_scale_link_kind(t, kinds[i], f);
    exec_opts eo;
    memset(&eo, 0, sizeof eo);
    exec_result r;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(exec_run(p, &eo, &r, &st) == SIM_OK, "%s", st.msg);
    double s = r.step_time_s;
    exec_result_free(&r);
    topo_links_restore(t, saved);
    free(saved);
    return s;
}

START_TEST(slowdowns_measured_by_replay)
{
    plan *p = th_load(CFG, NULL);
    const net_graph *g = topo_graph(plan_topo(p));
    size_t nl = net_graph_link_count(g);
    double *before = malloc(nl * sizeof *before);
    ck_assert_ptr_nonnull(before);
    for (size_t l = 0; l < nl; l++)
        before[l] = net_graph_link(g, (net_link_id)l)->bw_Bps;
    rel_fleet_opts o = {.replay = true};
    size_t n = 0;
    rel_class *c = build(p, &o, &n);
    for (size_t l = 0; l < nl; l++)
        ck_assert(net_graph_link(g, (net_link_id)l)->bw_Bps == before[l]);
    double base = step_with(p, NULL, 0, 1.0);
    static const net_link_kind ls_sc[] = {NET_LINK_LEAF_SPINE, NET_LINK_SPINE_CORE};
    static const net_link_kind sc[] = {NET_LINK_SPINE_CORE};
    double spine = step_with(p, ls_sc, 2, 0.75) / base - 1;
    double core = step_with(p, sc, 1, 0.5) / base - 1;
    double ls_cable = step_with(p, ls_sc, 1, 0.75) / base - 1;
    double sc_cable = step_with(p, sc, 1, 0.875) / base - 1;
    ck_assert(find(c, n, "spine")->slowdown == (spine > 0 ? spine : 0));
    ck_assert(find(c, n, "core")->slowdown == (core > 0 ? core : 0));
    ck_assert(find(c, n, "leaf-spine-cable")->slowdown == (ls_cable > 0 ? ls_cable : 0));
    ck_assert(find(c, n, "spine-core-cable")->slowdown == (sc_cable > 0 ? sc_cable : 0));
    /* Gradients cross the spines of each pod: a quarter less bandwidth shows. */
    ck_assert_msg(spine > 0.01, "spine slowdown %g", spine);
    ck_assert_msg(spine >= ls_cable, "spine %g < its cable %g", spine, ls_cable);
    for (size_t i = 0; i < n; i++)
        if (c[i].effect == REL_STOP)
            ck_assert(c[i].slowdown == 0.0);
    /* Deterministic: the same classes again. */
    size_t n2 = 0;
    rel_class *c2 = build(p, &o, &n2);
    ck_assert_uint_eq(n, n2);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(c[i].name, c2[i].name);
        ck_assert(c[i].count == c2[i].count && c[i].effect == c2[i].effect &&
                  c[i].nodes == c2[i].nodes && c[i].slowdown == c2[i].slowdown);
        ck_assert(c[i].life.dist == c2[i].life.dist && c[i].life.mean_s == c2[i].life.mean_s &&
                  c[i].life.shape == c2[i].life.shape);
        ck_assert(c[i].repair.dist == c2[i].repair.dist &&
                  c[i].repair.mean_s == c2[i].repair.mean_s &&
                  c[i].repair.shape == c2[i].repair.shape);
    }
    free(c2);
    free(c);
    free(before);
    plan_destroy(p);
}
END_TEST

/* Dual-homed NICs: a leaf or a NIC cable down halves the NICs below it instead of stopping
 * their nodes: the step with every NIC link at half. */
START_TEST(dual_homed_leaf_degrades)
{
    plan *p = th_load(CFG, NULL);
    rel_fleet_opts o = {.dual_homed = true, .replay = true};
    size_t n = 0;
    rel_class *c = build(p, &o, &n);
    const rel_class *leaf = find(c, n, "leaf"), *cable = find(c, n, "nic-cable");
    ck_assert_int_eq(leaf->effect, REL_DEGRADE);
    ck_assert_int_eq(leaf->nodes, 0);
    ck_assert_int_eq(cable->effect, REL_DEGRADE);
    static const net_link_kind nic[] = {NET_LINK_NIC};
    double want = step_with(p, nic, 1, 0.5) / step_with(p, NULL, 0, 1.0) - 1;
    ck_assert_msg(want > 0.05, "half NICs slow the step by %g", want);
    ck_assert(leaf->slowdown == want);
    ck_assert(cable->slowdown == want);
    expect_class(c, n, "host", 16, REL_STOP, 1);
    free(c);
    plan_destroy(p);
}
END_TEST

/* A fabric without parallel paths: one spine per pod. A spine cuts its pod off (REL_STOP,
 * its pod's nodes), and so does a leaf's only uplink cable (the leaf's nodes). */
START_TEST(no_parallel_path_stops)
{
    /* rel-rail's nodes, 2 tiers with one spine, written out (an override cannot remove
     * rel-rail's `pod`). */
    static const char doc[] =
        "name: one-spine\nchip: h100-sxm\nchips: 32\nnode: {chips: 4, nics: 4}\n"
        "scale_up: {kind: nvswitch}\n"
        "fabric: {kind: rail-optimized, tiers: 2, radix: {leaf: 8, spine: 64}, "
        "nics_per_leaf: 4, spines_per_pod: 1}\n";
    char path[] = "/tmp/clustersim-rel-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(path));
    char topo_path[128], cfg_path[128];
    snprintf(topo_path, sizeof topo_path, "%s/t.yaml", path);
    snprintf(cfg_path, sizeof cfg_path, "%s/c.yaml", path);
    FILE *f = fopen(topo_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(doc, f);
    fclose(f);
    f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    char cwd[256];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    fprintf(f, "name: c\ntopology: t.yaml\nworkload: %s/tests/fixtures/good/cfg-tiny-wl.yaml\n"
               "parallelism: {tp: 4, pp: 1, dp: 8}\n", cwd);
    fclose(f);
    plan *p = th_load(cfg_path, NULL);
    size_t n = 0;
    rel_class *c = build(p, NULL, &n);
    /* 8 nodes in 2 rail groups: 8 leaves of 4 nodes under one spine. */
    expect_class(c, n, "leaf", 8, REL_STOP, 4);
    expect_class(c, n, "spine", 1, REL_STOP, 8);
    expect_class(c, n, "leaf-spine-cable", 8 * 4, REL_DEGRADE, 0);
    ck_assert_ptr_null(rel_fleet_find(c, n, "core"));
    ck_assert_ptr_null(rel_fleet_find(c, n, "spine-core-cable"));
    free(c);
    plan_destroy(p);
    remove(cfg_path);
    remove(topo_path);
    rmdir(path);
}
END_TEST

/* ---- checkpoint ---- */

/* 813,535,232 parameters (the config's comment) x 14 bytes (bf16 weight, fp32 master,
 * Adam's two fp32 moments), spread over 16 hosts. */
START_TEST(checkpoint_size_and_times)
{
    const double params = 4 * (12.0 * 4096 * 4096 + 2 * 4096) + 2 * 1000.0 * 4096 + 4096;
    ck_assert(params == 813535232.0);
    plan *p = th_load(CFG, NULL);
    double bytes = rel_checkpoint_bytes(p);
    ck_assert(bytes == params * 14);
    ck_assert_int_eq(rel_checkpoint_hosts(p), 16);
    /* Defaults: 2 TB/s aggregate, 25 GB/s per node (16 nodes: 400 GB/s, the smaller). */
    expect_close(rel_checkpoint_write_s(p), bytes / (16 * 25e9));
    expect_close(rel_checkpoint_snapshot_s(p), bytes / 16 / 50e9);
    plan_destroy(p);
    /* The storage section: the aggregate the smaller now; SGD keeps 10 bytes. */
    static const char *const sets[] = {"topology.storage.aggregate=100 GB/s",
                                       "topology.storage.host_copy=20 GB/s",
                                       "workload.training.optimizer=sgd", NULL};
    p = th_load(CFG, sets);
    bytes = rel_checkpoint_bytes(p);
    ck_assert(bytes == params * 10);
    expect_close(rel_checkpoint_write_s(p), bytes / 100e9);
    expect_close(rel_checkpoint_snapshot_s(p), bytes / 16 / 20e9);
    plan_destroy(p);
}
END_TEST

/* A topology without a storage section: Tectonic's 2 TB/s sustained (Llama 3, section
 * 3.3.1), 25 GB/s per node and 50 GB/s device to host (assumptions). */
START_TEST(topology_storage_defaults)
{
    topo *t = load_topo("topologies/llama3-24k-roce.yaml");
    const topo_storage *s = topo_storage_of(t);
    ck_assert(s->aggregate_Bps == 2e12);
    ck_assert(s->per_node_Bps == 25e9);
    ck_assert(s->host_copy_Bps == 50e9);
    topo_destroy(t);
}
END_TEST

/* An explicit graph takes the same sections; each chip is its own host. */
START_TEST(explicit_graph_reads_failures_and_storage)
{
    static const char doc[] =
        "name: pair\n"
        "graph:\n"
        "  endpoints: [a, b]\n"
        "  switches: [s]\n"
        "  links:\n"
        "    - {ends: [a, s], bandwidth: 100 Gb/s, latency: 1 us, kind: nic}\n"
        "    - {ends: [b, s], bandwidth: 100 Gb/s, latency: 1 us, kind: nic}\n"
        "failures: {nic: {mtbf: 10 h, dist: lognormal, shape: 0.5}}\n"
        "storage: {per_node: 1 GB/s}\n";
    char path[] = "/tmp/clustersim-rel-graph-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, doc, sizeof doc - 1) == (ssize_t)(sizeof doc - 1));
    close(fd);
    topo *t = load_topo(path);
    const hw_fail_spec *nic = topo_failure(t, HW_FAIL_NIC);
    ck_assert_int_eq(nic->life.dist, HW_FAIL_LOGNORMAL);
    expect_close(nic->life.mean_s, 10 * HOUR);
    expect_close(nic->life.shape, 0.5);
    hw_fail_spec host;
    hw_fail_default(HW_FAIL_HOST, &host);
    expect_close(topo_failure(t, HW_FAIL_HOST)->life.mean_s, host.life.mean_s);
    ck_assert(topo_storage_of(t)->per_node_Bps == 1e9);
    ck_assert(topo_storage_of(t)->aggregate_Bps == 2e12);
    ck_assert_int_eq(topo_host_count(t), 2);
    ck_assert_int_eq(topo_chip_host(t, 1), 1);
    rel_fleet_counts c;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(rel_fleet_count(t, 2, &c, &st), SIM_OK);
    ck_assert_int_eq(c.nics, 2);
    ck_assert_int_eq(c.leaves, 1);
    ck_assert_int_eq(c.leaf_hosts, 2);
    expect_below(t, net_graph_find(topo_graph(t), "s"), 0, 2);
    topo_destroy(t);
    remove(path);
}
END_TEST

static Suite *rel_fleet_suite(void)
{
    Suite *s = suite_create("rel_fleet");
    TCase *tb = tcase_create("blast");
    tcase_add_test(tb, leaf_failure_takes_exactly_the_nodes_below);
    tcase_add_test(tb, superpod_leaf_holds_one_rail_of_its_unit);
    tcase_add_test(tb, shared_nics_are_followed_to_their_hosts);
    suite_add_tcase(s, tb);
    TCase *tc = tcase_create("counts");
    tcase_add_test(tc, counts_of_a_whole_job);
    tcase_add_test(tc, counts_of_a_partial_job);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("rates");
    tcase_add_test(tr, default_rates_follow_llama3_table5);
    tcase_add_test(tr, switch_and_cable_rate_from_the_llama3_cluster);
    tcase_add_test(tr, explicit_graph_reads_failures_and_storage);
    suite_add_tcase(s, tr);
    TCase *tk = tcase_create("classes");
    tcase_add_test(tk, classes_of_a_plan);
    tcase_add_test(tk, topology_failures_override_defaults);
    tcase_add_test(tk, slowdowns_measured_by_replay);
    tcase_add_test(tk, dual_homed_leaf_degrades);
    tcase_add_test(tk, no_parallel_path_stops);
    suite_add_tcase(s, tk);
    TCase *tp = tcase_create("checkpoint");
    tcase_add_test(tp, checkpoint_size_and_times);
    tcase_add_test(tp, topology_storage_defaults);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rel_fleet_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
