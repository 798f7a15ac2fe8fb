/*
 * test_topo_gen.c: generated topologies (topo/topo.h, README "Topology: generated clusters").
 *
 * Every expected figure here is derived by hand from the README's rules, with the arithmetic
 * in a comment beside it, never read back from the generator: switch and link counts per
 * tier and kind, the defaults of nics_per_leaf / pod / spines_per_pod / cores_per_plane under
 * the radix limits, routes (ECMP spread, spraying weights, dimension order on tori, NVSwitch
 * domains, WAN paths and window caps), bisection bandwidth, hop diameter, the size limit and
 * every bad fixture's exact message (tests/fixtures/bad/gen-*.yaml).
 *
 * Conventions used by the hand counts (all from the README):
 *  - H100 (topologies/chips/h100-sxm.yaml): NIC 400 Gb/s = 50e9 B/s, NVLink 450e9 B/s per
 *    direction; B200: NVLink 900e9 B/s; TPU v4: ICI 300e9 B/s per chip (50e9 per link in 3D).
 *  - port_bandwidth defaults to the NIC bandwidth, so one NIC takes one port.
 *  - a full-duplex cable is two directed links; links below are always directed counts.
 *  - latency of a path = cables x link_latency (0.1 us) + switches traversed x switch_latency
 *    (0.5 us), + the scale-up latency (0.25 us) per NVLink / ICI hop.
 *  - torus coordinates: site-local chip i has coordinate k = i / (d0 ... d(k-1)) % dk, i.e.
 *    the first dimension varies fastest (only the 2D link-sequence test depends on it; the
 *    8x8x8 figures are the same under any order of the coordinates).
 *
 * A test marked Regression asserts what the README requires where the implementation once differed.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo.h"

#define GOOD "tests/fixtures/good/"

static topo *load_ok(const char *path)
{
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = topo_load_file(path, &t, &st);
    char msg[2048];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_msg(rc == SIM_OK, "%s: %s", path, msg);
    ck_assert_ptr_nonnull(t);
    ck_assert(topo_is_generated(t));
    return t;
}

/* Relative comparison (exact when want is 0). */
#define CK_NEAR(got, want, rel)                                                                \
    do {                                                                                       \
        double g_ = (double)(got), w_ = (double)(want);                                        \
        ck_assert_msg(fabs(g_ - w_) <= (rel) * fabs(w_), "%s = %.17g, want %.17g", #got, g_,  \
                      w_);                                                                     \
    } while (0)

#define CK_EQ_D(got, want)                                                                     \
    ck_assert_msg((double)(got) == (double)(want), "%s = %.17g, want %.17g", #got,             \
                  (double)(got), (double)(want))

static net_node_id node_of(const net_graph *g, const char *name)
{
    net_node_id n = net_graph_find(g, name);
    ck_assert_msg(n >= 0, "no node '%s'", name);
    return n;
}

static const char *src_name(const net_graph *g, net_link_id l)
{
    return net_graph_node_name(g, net_graph_link(g, l)->src);
}

static const char *dst_name(const net_graph *g, net_link_id l)
{
    return net_graph_node_name(g, net_graph_link(g, l)->dst);
}

/* A route with its usages; uses has topo_route_max_uses entries (freed by the caller). */
typedef struct rt {
    net_usage *u;
    topo_route_info info;
} rt;

static rt route(topo *t, int32_t src, int32_t dst, uint64_t h)
{
    rt r;
    size_t cap = topo_route_max_uses(t);
    r.u = malloc(cap * sizeof *r.u);
    ck_assert_ptr_nonnull(r.u);
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = topo_route(t, src, dst, h, r.u, cap, &r.info, &st);
    ck_assert_msg(rc == SIM_OK, "route %d -> %d: %s", (int)src, (int)dst, st.msg);
    return r;
}

/* Checks that an ECMP route is a chain of weight-1 links from chip src to chip dst. */
static void check_chain(const net_graph *g, const rt *r, int32_t src, int32_t dst)
{
    ck_assert_uint_gt(r->info.n_uses, 0);
    ck_assert_int_eq(net_graph_link(g, r->u[0].link)->src, src);
    ck_assert_int_eq(net_graph_link(g, r->u[r->info.n_uses - 1].link)->dst, dst);
    for (size_t i = 0; i < r->info.n_uses; i++) {
        CK_EQ_D(r->u[i].w, 1.0);
        if (i > 0)
            ck_assert_int_eq(net_graph_link(g, r->u[i - 1].link)->dst,
                             net_graph_link(g, r->u[i].link)->src);
    }
    ck_assert_int_eq(r->info.hops, (int)r->info.n_uses);
}

/* What a generated topology should contain; links are directed counts. */
typedef struct counts {
    size_t chips, graph_nodes;
    size_t leaves, spines, cores;   /* site 0's tiers (single-site topologies) */
    size_t nvswitches, nics, gateways;
    size_t switches;                /* topo_summary.switches */
    size_t nvlink, ici, pcie, nic, ls, sc, gw, wan, links;
} counts;

static void check_counts(topo *t, const counts *w, topo_summary *out)
{
    topo_summary s;
    topo_summarize(t, &s);
    const net_graph *g = topo_graph(t);
    ck_assert_uint_eq(topo_chip_count(t), w->chips);
    ck_assert_uint_eq(s.chips, w->chips);
    ck_assert_uint_eq(net_graph_endpoint_count(g), w->chips);
    ck_assert_uint_eq(net_graph_node_count(g), w->graph_nodes);
    if (topo_site_count(t) == 1) {
        topo_site_summary ss;
        topo_site_summarize(t, 0, &ss);
        ck_assert_uint_eq(ss.switches[0], w->leaves);
        ck_assert_uint_eq(ss.switches[1], w->spines);
        ck_assert_uint_eq(ss.switches[2], w->cores);
    }
    ck_assert_uint_eq(s.nvswitches, w->nvswitches);
    ck_assert_uint_eq(s.nics, w->nics);
    ck_assert_uint_eq(s.gateways, w->gateways);
    ck_assert_uint_eq(s.switches, w->switches);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_NVLINK], w->nvlink);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_ICI], w->ici);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_PCIE], w->pcie);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_NIC], w->nic);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_LEAF_SPINE], w->ls);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_SPINE_CORE], w->sc);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_GATEWAY], w->gw);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_WAN], w->wan);
    ck_assert_uint_eq(s.links_per_kind[NET_LINK_GENERIC], 0);
    ck_assert_uint_eq(s.wan_links, w->wan);
    ck_assert_uint_eq(s.links, w->links);
    ck_assert_uint_eq(net_graph_link_count(g), w->links);
    ck_assert_uint_eq(w->nvlink + w->ici + w->pcie + w->nic + w->ls + w->sc + w->gw + w->wan,
                      w->links);
    if (out)
        *out = s;
}

/* ---- 1. shapes and counts ---- */

START_TEST(test_one_switch)
{
    topo *t = load_ok(GOOD "gen-one-switch.yaml");
    const net_graph *g = topo_graph(t);
    /* 16 chips / 8 per node = 2 nodes = 2 NVSwitch domains (size defaults to a node);
     * one NIC per chip = 16 NICs, all on the single switch dc0/leaf0. */
    const counts w = {
        .chips = 16, .graph_nodes = 19 /* 16 chips + 2 NVSwitches + 1 switch */, .leaves = 1,
        .nvswitches = 2, .switches = 3 /* 1 fabric switch + 2 NVSwitches */,
        .nvlink = 32 /* 16 chips x 1 cable x 2 directions */, .nic = 32 /* 16 NICs x 2 */,
        .links = 64,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_str_eq(ss.name, "dc0");
    ck_assert_str_eq(ss.chip, "h100-sxm");
    ck_assert_str_eq(ss.fabric, "fat-tree");
    ck_assert_str_eq(ss.scale_up, "nvswitch");
    ck_assert_int_eq(ss.tiers, 1);
    ck_assert_uint_eq(ss.nodes, 2);
    ck_assert_uint_eq(ss.domains, 2);
    ck_assert_uint_eq(ss.nics, 16);
    ck_assert_uint_eq(ss.nics_per_leaf, 16);
    CK_EQ_D(ss.nic_Bps, 50e9);
    /* one switch: a balanced cut crosses 8 NIC links of 50e9 B/s, no uplinks */
    CK_EQ_D(s.bisection_Bps, 8 * 50e9);
    /* chip - switch - chip */
    ck_assert_int_eq(s.diameter_hops, 2);
    CK_EQ_D(s.total_peak_bf16_flops, 16 * 989.4e12);
    CK_EQ_D(s.total_hbm_bytes, 16 * 80e9);
    /* chip 0 -> chip 8 (other node): NIC up to the switch, NIC down; 2 cables x 0.1 us +
     * 1 switch x 0.5 us = 0.7 us */
    rt r = route(t, 0, 8, 1);
    ck_assert_uint_eq(r.info.n_uses, 2);
    check_chain(g, &r, 0, 8);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf0");
    ck_assert_int_eq(net_graph_link(g, r.u[0].link)->kind, NET_LINK_NIC);
    ck_assert_int_eq(r.info.lat_ps, 700000);
    CK_EQ_D(r.info.rate_cap_Bps, 0);
    free(r.u);
    /* chip 0 -> chip 7 (same node): through the node's NVSwitch, 2 x 0.25 us */
    r = route(t, 0, 7, 1);
    ck_assert_uint_eq(r.info.n_uses, 2);
    check_chain(g, &r, 0, 7);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/nvs0");
    ck_assert_int_eq(r.info.lat_ps, 500000);
    free(r.u);
    /* src == dst: no usage */
    r = route(t, 5, 5, 1);
    ck_assert_uint_eq(r.info.n_uses, 0);
    ck_assert_int_eq(r.info.hops, 0);
    free(r.u);
    ck_assert_str_eq(net_graph_node_name(g, 9), "dc0/n1/c1"); /* chip 9 = node 1, chip 1 */
    ck_assert_int_eq(topo_chip_node(t, 9), 1);
    ck_assert_int_eq(topo_chip_domain(t, 9), 1);
    topo_destroy(t);
}
END_TEST

START_TEST(test_fat_tree_2)
{
    topo *t = load_ok(GOOD "gen-fat-tree-2.yaml");
    const net_graph *g = topo_graph(t);
    /* radix 16, 64 NICs. nics_per_leaf: the most d with d NIC ports + d uplink ports
     * (d x 50e9 / 1 over 50e9 ports) <= 16, dividing 64: d = 8 -> 64 / 8 = 8 leaves.
     * spines_per_pod: the leaf's 8 uplink ports -> 8 spines, one trunk of 8 x 50e9 / 8 =
     * 50e9 each; a spine takes 8 leaves x 1 port = 8 <= 16. */
    const counts w = {
        .chips = 64, .graph_nodes = 88 /* 64 + 8 NVSwitches + 8 leaves + 8 spines */, .leaves = 8,
        .spines = 8, .nvswitches = 8 /* 64 / 8 */, .switches = 24 /* 8 + 8 + 8 */,
        .nvlink = 128 /* 64 x 2 */, .nic = 128 /* 64 x 2 */,
        .ls = 128 /* 8 leaves x 8 spines x 2 */, .links = 384,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_int_eq(ss.tiers, 2);
    ck_assert_uint_eq(ss.nics_per_leaf, 8);
    ck_assert_uint_eq(ss.spines_per_pod, 8);
    ck_assert_uint_eq(ss.pods, 1);
    CK_EQ_D(ss.trunk_Bps[0], 50e9);
    CK_EQ_D(ss.oversub[0], 1);
    /* full bisection: 64 / 2 NICs x 50e9 = 1.6e12 B/s */
    CK_EQ_D(ss.bisection_Bps, 1.6e12);
    CK_EQ_D(s.bisection_Bps, 1.6e12);
    /* leaf0 chip to leaf7 chip: NIC, leaf-spine, spine-leaf, NIC */
    ck_assert_int_eq(s.diameter_hops, 4);
    node_of(g, "dc0/pod0/spine7");
    ck_assert_int_eq(net_graph_find(g, "dc0/pod0/spine8"), -1);
    ck_assert_int_eq(net_graph_find(g, "dc0/leaf8"), -1);
    /* chip 63 is NIC 63 on leaf 63 / 8 = 7; latency 4 cables x 0.1 + 3 switches x 0.5 =
     * 1.9 us */
    rt r = route(t, 0, 63, 42);
    ck_assert_uint_eq(r.info.n_uses, 4);
    check_chain(g, &r, 0, 63);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf0");
    ck_assert_str_eq(src_name(g, r.u[3].link), "dc0/leaf7");
    ck_assert_int_eq(net_graph_link(g, r.u[1].link)->kind, NET_LINK_LEAF_SPINE);
    ck_assert_int_eq(net_graph_link(g, r.u[2].link)->kind, NET_LINK_LEAF_SPINE);
    ck_assert_int_eq(r.info.lat_ps, 1900000);
    free(r.u);
    /* consecutive NICs share a leaf: chip 7 (NIC 7) is on leaf 0, chip 8 on leaf 1 */
    r = route(t, 7, 8, 3);
    ck_assert_uint_eq(r.info.n_uses, 4);
    check_chain(g, &r, 7, 8);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf0");
    ck_assert_str_eq(src_name(g, r.u[3].link), "dc0/leaf1");
    free(r.u);
    /* chips 8 and 15 share node 1: its NVSwitch, not the fabric */
    r = route(t, 8, 15, 3);
    ck_assert_uint_eq(r.info.n_uses, 2);
    ck_assert_int_eq(net_graph_link(g, r.u[0].link)->kind, NET_LINK_NVLINK);
    free(r.u);
    topo_destroy(t);
}
END_TEST

/* Leaf of chip i in gen-rail-2 by the README's rule: leaf r of each group of 4 nodes takes
 * NIC r of every node of the group; 8 rails per group. */
static int rail2_leaf(int chip)
{
    int node = chip / 8, rail = chip % 8;
    return node / 4 * 8 + rail;
}

START_TEST(test_rail_2)
{
    topo *t = load_ok(GOOD "gen-rail-2.yaml");
    const net_graph *g = topo_graph(t);
    /* 8 nodes in groups of nics_per_leaf = 4 -> 2 groups x 8 rails = 16 leaves of 4 NICs;
     * a leaf has 4 + 4 uplink ports = 8 <= 16; 4 spines (the leaf's uplink ports), each with
     * 16 leaves x 1 port = 16 <= 16. */
    const counts w = {
        .chips = 64, .graph_nodes = 92 /* 64 + 8 NVSwitches + 16 leaves + 4 spines */,
        .leaves = 16, .spines = 4, .nvswitches = 8, .switches = 28, .nvlink = 128, .nic = 128,
        .ls = 128 /* 16 leaves x 4 spines x 2 */, .links = 384,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_str_eq(ss.fabric, "rail-optimized");
    CK_EQ_D(ss.trunk_Bps[0], 50e9); /* 4 x 50e9 / 4 spines */
    ck_assert_int_eq(s.diameter_hops, 4);
    /* every chip's NIC link goes to its rail leaf */
    for (int c = 0; c < 64; c++) {
        size_t n = 0;
        const net_link_id *out = net_graph_out_links(g, c, &n);
        int found = 0;
        for (size_t k = 0; k < n; k++) {
            const net_link *l = net_graph_link(g, out[k]);
            if (l->kind != NET_LINK_NIC)
                continue;
            char want[32];
            snprintf(want, sizeof want, "dc0/leaf%d", rail2_leaf(c));
            ck_assert_str_eq(net_graph_node_name(g, l->dst), want);
            found++;
        }
        ck_assert_int_eq(found, 1);
    }
    /* chips 0 and 8 (NIC 0 of nodes 0 and 1, same group) share leaf 0: up and down there */
    rt r = route(t, 0, 8, 5);
    ck_assert_uint_eq(r.info.n_uses, 2);
    check_chain(g, &r, 0, 8);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf0");
    free(r.u);
    /* chip 1 is on rail leaf 1; chip 9 too */
    r = route(t, 1, 9, 5);
    ck_assert_uint_eq(r.info.n_uses, 2);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf1");
    free(r.u);
    /* chip 1 (group 0, rail 1 -> leaf 1) to chip 32 (node 4: group 1, rail 0 -> leaf 8) */
    r = route(t, 1, 32, 5);
    ck_assert_uint_eq(r.info.n_uses, 4);
    check_chain(g, &r, 1, 32);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf1");
    ck_assert_str_eq(src_name(g, r.u[3].link), "dc0/leaf8");
    free(r.u);
    /* chip 63 (node 7, rail 7) is on leaf 1 x 8 + 7 = 15 */
    r = route(t, 7, 63, 5);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf7");
    ck_assert_str_eq(src_name(g, r.u[r.info.n_uses - 1].link), "dc0/leaf15");
    free(r.u);
    topo_destroy(t);
}
END_TEST

START_TEST(test_fat_tree_3)
{
    topo *t = load_ok(GOOD "gen-fat-tree-3.yaml");
    const net_graph *g = topo_graph(t);
    /* 128 NICs / 8 per leaf = 16 leaves; pod 32 NICs = 4 leaves -> 4 pods; 4 spines per pod
     * = 16 spines; planes = spines_per_pod = 4, 2 cores each = 8 cores.
     * Trunks: leaf-spine 8 x 50e9 / 4 = 100e9 (2 ports); spine-core: 4 leaves x 100e9 / 2
     * cores = 200e9 (4 ports). Ports: leaf 8 + 4 x 2 = 16; spine 4 x 2 + 2 x 4 = 16; core
     * 4 pods x 4 = 16: all fit radix 16. */
    const counts w = {
        .chips = 128, .graph_nodes = 184 /* 128 + 16 NVSwitches + 16 + 16 + 8 */, .leaves = 16,
        .spines = 16, .cores = 8, .nvswitches = 16, .switches = 56 /* 16 + 16 + 8 + 16 */,
        .nvlink = 256, .nic = 256, .ls = 128 /* 16 leaves x 4 spines x 2 */,
        .sc = 64 /* 16 spines x 2 cores x 2 */, .links = 704,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_int_eq(ss.tiers, 3);
    ck_assert_uint_eq(ss.nics_per_leaf, 8);
    ck_assert_uint_eq(ss.pods, 4);
    ck_assert_uint_eq(ss.spines_per_pod, 4);
    ck_assert_uint_eq(ss.cores_per_plane, 2);
    CK_EQ_D(ss.trunk_Bps[0], 100e9);
    CK_EQ_D(ss.trunk_Bps[1], 200e9);
    CK_EQ_D(s.bisection_Bps, 64 * 50e9); /* 128 / 2 NICs x 50e9 */
    /* pod 0 to pod 3: NIC, leaf-spine, spine-core, core-spine, spine-leaf, NIC */
    ck_assert_int_eq(s.diameter_hops, 6);
    node_of(g, "dc0/pod3/spine3");
    node_of(g, "dc0/plane3/core1");
    ck_assert_int_eq(net_graph_find(g, "dc0/plane4/core0"), -1);
    ck_assert_int_eq(net_graph_find(g, "dc0/plane0/core2"), -1);
    /* spine j of every pod connects to the cores of plane j, and only to them: 2 cores */
    int per_spine[4][4] = {{0}};
    for (size_t l = 0; l < net_graph_link_count(g); l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != NET_LINK_SPINE_CORE)
            continue;
        int p, j, plane, c;
        const char *a = net_graph_node_name(g, k->src), *b = net_graph_node_name(g, k->dst);
        if (sscanf(a, "dc0/pod%d/spine%d", &p, &j) != 2) {
            const char *tmp = a;
            a = b;
            b = tmp;
        }
        ck_assert_int_eq(sscanf(a, "dc0/pod%d/spine%d", &p, &j), 2);
        ck_assert_int_eq(sscanf(b, "dc0/plane%d/core%d", &plane, &c), 2);
        ck_assert_int_eq(plane, j);
        ck_assert(p >= 0 && p < 4 && j >= 0 && j < 4 && c >= 0 && c < 2);
        per_spine[p][j]++;
    }
    for (int p = 0; p < 4; p++)
        for (int j = 0; j < 4; j++)
            ck_assert_int_eq(per_spine[p][j], 4); /* 2 cores x 2 directions */
    /* ECMP cross-pod: chip 0 (leaf 0, pod 0) to chip 127 (leaf 15, pod 3); the spine index
     * going up equals the one coming down, and the core is in that plane. Latency: 6 cables
     * x 0.1 + 5 switches x 0.5 = 3.1 us. */
    for (uint64_t h = 0; h < 16; h++) {
        rt r = route(t, 0, 127, h * 7919);
        ck_assert_uint_eq(r.info.n_uses, 6);
        check_chain(g, &r, 0, 127);
        ck_assert_int_eq(r.info.lat_ps, 3100000);
        int p1, j1, p2, j2, plane, c;
        ck_assert_int_eq(sscanf(dst_name(g, r.u[1].link), "dc0/pod%d/spine%d", &p1, &j1), 2);
        ck_assert_int_eq(sscanf(dst_name(g, r.u[2].link), "dc0/plane%d/core%d", &plane, &c), 2);
        ck_assert_int_eq(sscanf(dst_name(g, r.u[3].link), "dc0/pod%d/spine%d", &p2, &j2), 2);
        ck_assert_int_eq(p1, 0);
        ck_assert_int_eq(p2, 3);
        ck_assert_int_eq(j1, j2);
        ck_assert_int_eq(plane, j1);
        ck_assert_str_eq(dst_name(g, r.u[4].link), "dc0/leaf15");
        free(r.u);
    }
    /* same pod (chip 0 leaf 0, chip 24 leaf 3, pod 0): NIC, up, down, NIC */
    rt r = route(t, 0, 24, 9);
    ck_assert_uint_eq(r.info.n_uses, 4);
    check_chain(g, &r, 0, 24);
    free(r.u);
    topo_destroy(t);
}
END_TEST

START_TEST(test_fat_tree_3_defaults)
{
    topo *t = load_ok(GOOD "gen-fat-tree-3-defaults.yaml");
    /* radix 8 everywhere, 64 NICs of one port each.
     *  nics_per_leaf: most d with d + d (uplink ports at 1:1) <= 8, dividing 64 -> 4;
     *    16 leaves.
     *  spines_per_pod: the leaf's uplink ports = 4; trunk 4 x 50e9 / 4 = 50e9 (1 port).
     *  pod: most leaves L with L down + L up ports <= 8, dividing 16 leaves -> L = 4,
     *    pod = 16 NICs, 4 pods, 16 spines.
     *  cores_per_plane: a spine's uplink is 4 x 50e9 = 200e9; with C cores each core takes
     *    4 pods x ceil(4 / C) ports <= 8 -> C = 1: 16 no; C = 2: 8 yes -> 2 cores per plane,
     *    4 planes, 8 cores; trunk 200e9 / 2 = 100e9. */
    const counts w = {
        .chips = 64, .graph_nodes = 112 /* 64 + 8 NVSwitches + 16 + 16 + 8 */, .leaves = 16,
        .spines = 16, .cores = 8, .nvswitches = 8, .switches = 48, .nvlink = 128, .nic = 128,
        .ls = 128 /* 16 x 4 x 2 */, .sc = 64 /* 16 x 2 x 2 */, .links = 448,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.nics_per_leaf, 4);
    ck_assert_uint_eq(ss.spines_per_pod, 4);
    ck_assert_uint_eq(ss.pods, 4);
    ck_assert_uint_eq(ss.cores_per_plane, 2);
    CK_EQ_D(ss.trunk_Bps[0], 50e9);
    CK_EQ_D(ss.trunk_Bps[1], 100e9);
    CK_EQ_D(s.bisection_Bps, 32 * 50e9);
    ck_assert_int_eq(s.diameter_hops, 6);
    topo_destroy(t);
}
END_TEST

START_TEST(test_nvl72)
{
    topo *t = load_ok(GOOD "gen-nvl72.yaml");
    const net_graph *g = topo_graph(t);
    /* 144 B200, nodes of 4 -> 36 nodes, NVSwitch domains of 72 -> 2 domains.
     * Fabric radix 64: nics_per_leaf = most d with 2 d <= 64 dividing 144 -> 24 (32..25 do
     * not divide 144) -> 6 leaves, 24 spines (each 6 ports). */
    const counts w = {
        .chips = 144, .graph_nodes = 176 /* 144 + 2 NVSwitches + 6 + 24 */, .leaves = 6,
        .spines = 24, .nvswitches = 2, .switches = 32, .nvlink = 288 /* 144 x 2 */, .nic = 288,
        .ls = 288 /* 6 x 24 x 2 */, .links = 864,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.nodes, 36);
    ck_assert_uint_eq(ss.domains, 2);
    ck_assert_int_eq(topo_chip_node(t, 71), 17); /* 71 / 4 */
    ck_assert_int_eq(topo_chip_domain(t, 71), 0);
    ck_assert_int_eq(topo_chip_domain(t, 72), 1);
    /* one domain: 72 / 2 chips x 900e9 B/s = 3.24e13 B/s */
    CK_EQ_D(ss.scale_up_bisection_Bps, 36 * 900e9);
    CK_EQ_D(ss.bisection_Bps, 72 * 50e9);
    ck_assert_int_eq(s.diameter_hops, 4);
    /* inside a domain, across trays: 2 usages, NVLink up and down, 2 x 0.3 us */
    for (int mode = 0; mode < 2; mode++) {
        topo_set_routing(t, mode ? TOPO_ROUTE_SPRAY : TOPO_ROUTE_ECMP);
        rt r = route(t, 0, 71, 11);
        ck_assert_uint_eq(r.info.n_uses, 2);
        check_chain(g, &r, 0, 71);
        ck_assert_int_eq(net_graph_link(g, r.u[0].link)->kind, NET_LINK_NVLINK);
        ck_assert_int_eq(net_graph_link(g, r.u[1].link)->kind, NET_LINK_NVLINK);
        ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/nvs0");
        ck_assert_int_eq(r.info.lat_ps, 2 * 300000);
        CK_EQ_D(net_graph_link(g, r.u[0].link)->bw_Bps, 900e9);
        free(r.u);
        r = route(t, 100, 143, 11);
        ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/nvs1");
        ck_assert_uint_eq(r.info.n_uses, 2);
        free(r.u);
    }
    topo_set_routing(t, TOPO_ROUTE_ECMP);
    /* chips 71 and 72 are in different domains: the fabric (leaf 2 then leaf 3, 4 hops) */
    rt r = route(t, 71, 72, 11);
    ck_assert_uint_eq(r.info.n_uses, 4);
    check_chain(g, &r, 71, 72);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/leaf2"); /* 71 / 24 */
    ck_assert_str_eq(src_name(g, r.u[3].link), "dc0/leaf3"); /* 72 / 24 */
    free(r.u);
    topo_destroy(t);
}
END_TEST

/* Hop count of one route, checking its chain and that every link is ICI. */
static int torus_hops(topo *t, int32_t a, int32_t b)
{
    const net_graph *g = topo_graph(t);
    rt r = route(t, a, b, 99);
    if (a != b)
        check_chain(g, &r, a, b);
    for (size_t i = 0; i < r.info.n_uses; i++)
        ck_assert_int_eq(net_graph_link(g, r.u[i].link)->kind, NET_LINK_ICI);
    ck_assert_int_eq(r.info.lat_ps, (int64_t)r.info.hops * 250000);
    free(r.u);
    return r.info.hops;
}

START_TEST(test_torus_wrap)
{
    topo *t = load_ok(GOOD "gen-torus-wrap.yaml");
    const net_graph *g = topo_graph(t);
    /* 8x8x8 = 512 chips, all dims > 2 with wrap: 6 neighbours each, 512 x 6 = 3072 directed
     * ICI links; no switch, no NIC (nics: 0, no fabric). */
    const counts w = {
        .chips = 512, .graph_nodes = 512, .ici = 3072, .links = 3072,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_str_eq(ss.scale_up, "torus");
    ck_assert_str_eq(ss.fabric, "none");
    ck_assert_uint_eq(ss.nodes, 128); /* 512 / 4 */
    ck_assert_uint_eq(ss.domains, 1);
    /* link bandwidth: 300e9 / 6 links */
    CK_EQ_D(net_graph_link(g, 0)->bw_Bps, 50e9);
    /* bisection: a plane cuts 512 / 8 = 64 rings, each twice (wrap): 128 x 50e9 = 6.4e12 */
    CK_EQ_D(ss.scale_up_bisection_Bps, 6.4e12);
    CK_EQ_D(s.bisection_Bps, 6.4e12);
    /* diameter: 4 + 4 + 4 (half of each ring of 8) */
    ck_assert_int_eq(s.diameter_hops, 12);
    /* DOR hops from chip 0 = sum over dims of min(d, 8 - d); index x + 8 y + 64 z */
    ck_assert_int_eq(torus_hops(t, 0, 1), 1);               /* (1,0,0): 1 */
    ck_assert_int_eq(torus_hops(t, 0, 4), 4);               /* (4,0,0): 4 */
    ck_assert_int_eq(torus_hops(t, 0, 5), 3);               /* (5,0,0): 8 - 5 = 3 */
    ck_assert_int_eq(torus_hops(t, 0, 511), 3);             /* (7,7,7): 1 + 1 + 1 */
    ck_assert_int_eq(torus_hops(t, 0, 4 + 32 + 256), 12);   /* (4,4,4): 4 + 4 + 4 */
    ck_assert_int_eq(torus_hops(t, 0, 3 + 40 + 384), 8);    /* (3,5,6): 3 + 3 + 2 */
    ck_assert_int_eq(torus_hops(t, 0, 2 + 48 + 64), 5);     /* (2,6,1): 2 + 2 + 1 */
    ck_assert_int_eq(torus_hops(t, 7, 1), 2);               /* x 7 -> 1 round the wrap */
    ck_assert_int_eq(torus_hops(t, 511, 0), 3);             /* (7,7,7) -> (0,0,0) */
    topo_destroy(t);
}
END_TEST

START_TEST(test_torus_nowrap)
{
    topo *t = load_ok(GOOD "gen-torus-nowrap.yaml");
    const net_graph *g = topo_graph(t);
    /* 4x4x4 mesh: along each dim 3 cables per line x 16 lines = 48 cables; 3 dims = 144
     * cables = 288 directed links. */
    const counts w = {
        .chips = 64, .graph_nodes = 64, .ici = 288, .links = 288,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    /* bisection: one plane cuts 64 / 4 = 16 lines once: 16 x 50e9 = 8e11 */
    CK_EQ_D(s.bisection_Bps, 8e11);
    /* diameter: corner to corner 3 + 3 + 3 */
    ck_assert_int_eq(s.diameter_hops, 9);
    /* hops = |dx| + |dy| + |dz|; index x + 4 y + 16 z */
    ck_assert_int_eq(torus_hops(t, 0, 63), 9);         /* (3,3,3) */
    ck_assert_int_eq(torus_hops(t, 63, 0), 9);
    ck_assert_int_eq(torus_hops(t, 0, 3), 3);          /* (3,0,0): no wrap, not 1 */
    ck_assert_int_eq(torus_hops(t, 0, 1 + 8 + 48), 6); /* (1,2,3) */
    ck_assert_int_eq(torus_hops(t, 3, 12), 6);         /* (3,0,0) -> (0,3,0): 3 + 3 */
    /* chip 3 = (3,0,0) on the mesh's edge has 3 neighbours: (2,0,0), (3,1,0), (3,0,1);
     * in particular not chip 0 */
    size_t n = 0;
    const net_link_id *out = net_graph_out_links(g, 3, &n);
    ck_assert_uint_eq(n, 3);
    for (size_t k = 0; k < n; k++)
        ck_assert_int_ne(net_graph_link(g, out[k])->dst, 0);
    /* chip 21 = (1,1,1) is inside: 6 */
    net_graph_out_links(g, 21, &n);
    ck_assert_uint_eq(n, 6);
    topo_destroy(t);
}
END_TEST

/* The route from nodes[0] to nodes[n - 1] visits exactly nodes[0..n), in order. */
static void check_nodes(topo *t, const int32_t *nodes, size_t n)
{
    const net_graph *g = topo_graph(t);
    rt r = route(t, nodes[0], nodes[n - 1], 0);
    ck_assert_uint_eq(r.info.n_uses, n - 1);
    for (size_t i = 0; i + 1 < n; i++) {
        ck_assert_int_eq(net_graph_link(g, r.u[i].link)->src, nodes[i]);
        ck_assert_int_eq(net_graph_link(g, r.u[i].link)->dst, nodes[i + 1]);
    }
    free(r.u);
}

START_TEST(test_torus_2d)
{
    topo *t = load_ok(GOOD "gen-torus-2d.yaml");
    const net_graph *g = topo_graph(t);
    /* 4x4 with wrap: 4 neighbours each, 16 x 4 = 64 links of 300e9 / 4 = 75e9 */
    const counts w = {.chips = 16, .graph_nodes = 16, .ici = 64, .links = 64};
    topo_summary s;
    check_counts(t, &w, &s);
    CK_EQ_D(net_graph_link(g, 0)->bw_Bps, 75e9);
    /* bisection: 16 / 4 = 4 rings cut twice: 8 x 75e9 */
    CK_EQ_D(s.bisection_Bps, 6e11);
    ck_assert_int_eq(s.diameter_hops, 4); /* 2 + 2 */
    /* chip 0 = (0,0) to chip 14 = (2,3): x first, 2 steps (tie: the + way) 0 -> 1 -> 2,
     * then y 0 -> 3, the shorter way is -1 round the wrap: 2 -> 14. */
    static const int32_t to14[] = {0, 1, 2, 14};
    check_nodes(t, to14, 4);
    /* chip 0 to chip 10 = (2,2): both ties go the + way: 0 -> 1 -> 2 -> 6 -> 10 */
    static const int32_t to10[] = {0, 1, 2, 6, 10};
    check_nodes(t, to10, 5);
    /* chip 5 = (1,1) to chip 3 = (3,0): x 1 -> 3 is a tie (+ way: 5 -> 6 -> 7), then y
     * 1 -> 0 the - way: 7 -> 3 */
    static const int32_t to3[] = {5, 6, 7, 3};
    check_nodes(t, to3, 4);
    topo_destroy(t);
}
END_TEST

START_TEST(test_shared_nics)
{
    topo *t = load_ok(GOOD "gen-shared-nics.yaml");
    const net_graph *g = topo_graph(t);
    /* 32 chips in 4 nodes of 8, 2 NICs per node -> 8 NIC nodes, 4 chips per NIC.
     * radix 8: nics_per_leaf = most d with 2 d <= 8 dividing 8 NICs -> 4 -> 2 leaves;
     * 4 spines (the leaf's 4 uplink ports), each with 2 ports used. */
    const counts w = {
        .chips = 32, .graph_nodes = 50 /* 32 + 4 NVSwitches + 8 NICs + 2 leaves + 4 spines */,
        .leaves = 2, .spines = 4, .nvswitches = 4, .nics = 8,
        .switches = 10 /* 2 + 4 + 4 NVSwitches; NICs are counted apart */,
        .nvlink = 64 /* 32 x 2 */, .pcie = 64 /* 32 chips x 2 */, .nic = 16 /* 8 NICs x 2 */,
        .ls = 16 /* 2 x 4 x 2 */, .links = 160,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.nics, 8);
    CK_EQ_D(s.bisection_Bps, 4 * 50e9); /* 8 / 2 NICs x 50e9 */
    node_of(g, "dc0/n3/nic1");
    ck_assert_int_eq(net_graph_find(g, "dc0/n0/nic2"), -1);
    /* chips 0..3 share n0/nic0, chips 4..7 n0/nic1; PCIe runs at the 64 GB/s default */
    for (int c = 0; c < 32; c++) {
        size_t n = 0;
        const net_link_id *out = net_graph_out_links(g, c, &n);
        int found = 0;
        for (size_t k = 0; k < n; k++) {
            const net_link *l = net_graph_link(g, out[k]);
            ck_assert_int_ne(l->kind, NET_LINK_NIC); /* chips reach the fabric by PCIe only */
            if (l->kind != NET_LINK_PCIE)
                continue;
            char want[32];
            snprintf(want, sizeof want, "dc0/n%d/nic%d", c / 8, c % 8 / 4);
            ck_assert_str_eq(net_graph_node_name(g, l->dst), want);
            CK_EQ_D(l->bw_Bps, 64e9);
            found++;
        }
        ck_assert_int_eq(found, 1);
    }
    /* chip 0 (NIC 0, leaf 0) to chip 31 (node 3 NIC 1 = NIC 7, leaf 7 / 4 = 1):
     * PCIe, NIC, leaf-spine, spine-leaf, NIC, PCIe */
    rt r = route(t, 0, 31, 8);
    ck_assert_uint_eq(r.info.n_uses, 6);
    check_chain(g, &r, 0, 31);
    static const net_link_kind kinds[] = {NET_LINK_PCIE,       NET_LINK_NIC, NET_LINK_LEAF_SPINE,
                                          NET_LINK_LEAF_SPINE, NET_LINK_NIC, NET_LINK_PCIE};
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(net_graph_link(g, r.u[i].link)->kind, kinds[i]);
    ck_assert_str_eq(dst_name(g, r.u[0].link), "dc0/n0/nic0");
    ck_assert_str_eq(dst_name(g, r.u[1].link), "dc0/leaf0");
    ck_assert_str_eq(src_name(g, r.u[5].link), "dc0/n3/nic1");
    ck_assert_int_eq(s.diameter_hops, 6);
    free(r.u);
    /* chip 0 to chip 15 (node 1, NIC 3, leaf 0): PCIe, NIC, NIC, PCIe */
    r = route(t, 0, 15, 8);
    ck_assert_uint_eq(r.info.n_uses, 4);
    check_chain(g, &r, 0, 15);
    free(r.u);
    topo_destroy(t);
}
END_TEST

/* ---- 1(h). shipped topologies ---- */

START_TEST(test_shipped_all_load)
{
    DIR *dh = opendir("topologies");
    ck_assert_ptr_nonnull(dh);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dh))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml"))
            continue; /* also skips ".", ".." and the chips/ folder */
        char path[512];
        snprintf(path, sizeof path, "topologies/%s", e->d_name);
        topo *t = NULL;
        sim_status st;
        sim_status_clear(&st);
        sim_code rc = topo_load_file(path, &t, &st);
        char msg[2048];
        sim_status_format(&st, msg, sizeof msg);
        ck_assert_msg(rc == SIM_OK, "%s", msg);
        ck_assert_uint_gt(topo_chip_count(t), 0);
        topo_destroy(t);
        n++;
    }
    closedir(dh);
    ck_assert_int_ge(n, 11); /* the ten of the README's table and dumbbell.yaml */
}
END_TEST

START_TEST(test_selene)
{
    topo *t = load_ok("topologies/selene-a100.yaml");
    /* 4480 A100 / 8 = 560 nodes, 8 NICs of 200 Gb/s = 25e9 B/s each: 4480 NICs; radix 40.
     *  leaf: 20 NICs (one rail of a 20-node SU) + 20 x 25e9 / 25e9 = 20 uplinks = 40 ports;
     *    4480 / 20 = 224 leaves; 20 spines per pod, trunk 25e9.
     *  pod 320 NICs = 16 leaves (2 SUs x 8 rails); 224 / 16 = 14 pods; 14 x 20 = 280 spines;
     *    a spine: 16 down + 16 up = 32 <= 40 ports.
     *  cores: spine uplink 16 x 25e9 = 400e9 (16 ports); a core takes 14 pods x ceil(16 /
     *    C) ports <= 40 -> C = 8 (2 ports each, 28 ports; C = 6, 7: 3 each, 42 > 40), so
     *    20 planes x 8 = 160 cores, trunk 400e9 / 8 = 50e9. */
    const counts w = {
        .chips = 4480, .graph_nodes = 4480 + 560 + 224 + 280 + 160, .leaves = 224, .spines = 280,
        .cores = 160, .nvswitches = 560, .switches = 224 + 280 + 160 + 560,
        .nvlink = 8960 /* 4480 x 2 */, .nic = 8960, .ls = 8960 /* 224 x 20 x 2 */,
        .sc = 4480 /* 280 x 8 x 2 */, .links = 31360,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.pods, 14);
    ck_assert_uint_eq(ss.cores_per_plane, 8);
    CK_EQ_D(ss.trunk_Bps[1], 50e9);
    CK_EQ_D(s.bisection_Bps, 2240 * 25e9);
    CK_EQ_D(ss.scale_up_bisection_Bps, 4 * 300e9);
    ck_assert_int_eq(s.diameter_hops, 6);
    topo_destroy(t);
}
END_TEST

START_TEST(test_superpod_16k)
{
    topo *t = load_ok("topologies/h100-superpod-16k.yaml");
    /* 16384 H100 / 8 = 2048 nodes, 16384 NICs of 50e9, radix 64.
     *  leaf: 32 NICs + 32 uplinks = 64 ports; 16384 / 32 = 512 leaves; 32 spines per pod.
     *  pod 1024 NICs = 32 leaves; 512 / 32 = 16 pods; 16 x 32 = 512 spines (32 + 32 ports).
     *  cores: spine uplink 32 x 50e9 (32 ports); a core takes 16 x ceil(32 / C) <= 64 ->
     *    C = 8 (4 ports each: 64); 32 planes x 8 = 256 cores; trunk 1.6e12 / 8 = 200e9. */
    const counts w = {
        .chips = 16384, .graph_nodes = 16384 + 2048 + 512 + 512 + 256, .leaves = 512,
        .spines = 512, .cores = 256, .nvswitches = 2048, .switches = 512 + 512 + 256 + 2048,
        .nvlink = 32768, .nic = 32768, .ls = 32768 /* 512 x 32 x 2 */,
        .sc = 8192 /* 512 x 8 x 2 */, .links = 106496,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.pods, 16);
    ck_assert_uint_eq(ss.cores_per_plane, 8);
    CK_EQ_D(ss.trunk_Bps[1], 200e9);
    CK_EQ_D(s.bisection_Bps, 8192 * 50e9);
    ck_assert_int_eq(s.diameter_hops, 6);
    topo_destroy(t);
}
END_TEST

START_TEST(test_llama3)
{
    topo *t = load_ok("topologies/llama3-24k-roce.yaml");
    /* 24576 H100 / 8 = 3072 nodes, 24576 NICs of 50e9; radix leaf 32, spine 256, core 256.
     *  leaf: 16 NICs + 16 uplinks = 32; 24576 / 16 = 1536 leaves; 16 spines per pod.
     *  pod 3072 NICs = 192 leaves; 1536 / 192 = 8 pods; 128 spines; a spine: 192 down +
     *    ceil(192 x 50e9 / 7 / 50e9) = ceil(27.4) = 28 up = 220 <= 256.
     *  cores: 8 pods x ceil(28 / C) <= 256 -> C = 1 (224 ports); 16 planes x 1 = 16 cores;
     *    trunk 192 x 50e9 / 7. */
    const counts w = {
        .chips = 24576, .graph_nodes = 24576 + 3072 + 1536 + 128 + 16, .leaves = 1536,
        .spines = 128, .cores = 16, .nvswitches = 3072, .switches = 1536 + 128 + 16 + 3072,
        .nvlink = 49152, .nic = 49152, .ls = 49152 /* 1536 x 16 x 2 */,
        .sc = 256 /* 128 x 1 x 2 */, .links = 147712,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.pods, 8);
    ck_assert_uint_eq(ss.cores_per_plane, 1);
    CK_NEAR(ss.trunk_Bps[1], 192 * 50e9 / 7, 1e-12);
    CK_EQ_D(ss.oversub[1], 7);
    /* 24576 / 2 x 50e9 / 1 / 7 */
    CK_NEAR(s.bisection_Bps, 12288 * 50e9 / 7, 1e-12);
    ck_assert_int_eq(s.diameter_hops, 6);
    topo_destroy(t);
}
END_TEST

START_TEST(test_tpu_v4_pod)
{
    topo *t = load_ok("topologies/tpu-v4-pod.yaml");
    /* 16^3 = 4096 chips, 1024 hosts of 4, 6 ICI links each with wrap: 24576 directed */
    const counts w = {.chips = 4096, .graph_nodes = 4096, .ici = 24576, .links = 24576};
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.nodes, 1024);
    ck_assert_uint_eq(ss.domains, 1);
    /* 4096 / 16 = 256 rings cut twice x 300e9 / 6 */
    CK_EQ_D(s.bisection_Bps, 512 * 50e9);
    ck_assert_int_eq(s.diameter_hops, 24); /* 8 + 8 + 8 */
    topo_destroy(t);
}
END_TEST

/* ---- 2. routing ---- */

/* topo_route_info.hashed: set exactly when the route chose among equal-cost paths, so a
 * caller may keep a route that is not (coll.c keeps such rings per group). */
START_TEST(test_route_hashed)
{
    topo *t = load_ok(GOOD "gen-nvl72.yaml");
    /* inside one NVSwitch domain: chip -> switch -> chip, whatever the hash */
    rt a = route(t, 0, 1, 1), b = route(t, 0, 1, 0x9e3779b97f4a7c15ull);
    ck_assert(!a.info.hashed && !b.info.hashed);
    ck_assert_uint_eq(a.info.n_uses, b.info.n_uses);
    for (size_t i = 0; i < a.info.n_uses; i++)
        ck_assert_int_eq(a.u[i].link, b.u[i].link);
    free(a.u);
    free(b.u);
    /* across domains and leaves: a spine is picked among 24 */
    rt c = route(t, 0, 100, 1);
    ck_assert(c.info.hashed);
    free(c.u);
    /* spraying takes every spine: nothing is picked */
    topo_set_routing(t, TOPO_ROUTE_SPRAY);
    rt d = route(t, 0, 100, 1);
    ck_assert(!d.info.hashed);
    free(d.u);
    topo_destroy(t);
    /* a torus routes by dimension order */
    t = load_ok(GOOD "gen-torus-wrap.yaml");
    rt e = route(t, 0, 3, 7);
    ck_assert_uint_gt(e.info.n_uses, 0);
    ck_assert(!e.info.hashed);
    free(e.u);
    topo_destroy(t);
}
END_TEST

START_TEST(test_ecmp_spread)
{
    topo *t = load_ok(GOOD "gen-fat-tree-2.yaml");
    const net_graph *g = topo_graph(t);
    ck_assert_int_eq(topo_get_routing(t), TOPO_ROUTE_ECMP);
    /* 4096 flows from the 8 chips of leaf 0 to the 8 chips of leaf 1, hashes 0..4095. Each
     * picks one of leaf 0's 8 uplinks. A uniform hash gives Binomial(4096, 1/8) per uplink:
     * mean 512, sd sqrt(4096 x 1/8 x 7/8) = 21.2, so 2 x mean = 1024 is 24 sd away: an
     * uplink above it (or one unused) means the hash does not spread, not bad luck; the hash
     * is deterministic, so is the test. */
    enum { FLOWS = 4096, UP = 8 };
    int used[UP] = {0};
    net_node_id leaf0 = node_of(g, "dc0/leaf0"), leaf1 = node_of(g, "dc0/leaf1");
    for (int i = 0; i < FLOWS; i++) {
        int32_t src = i % 8, dst = 8 + i / 8 % 8;
        rt r = route(t, src, dst, (uint64_t)i);
        ck_assert_uint_eq(r.info.n_uses, 4);
        const net_link *up = net_graph_link(g, r.u[1].link);
        const net_link *down = net_graph_link(g, r.u[2].link);
        ck_assert_int_eq(up->src, leaf0);
        ck_assert_int_eq(down->dst, leaf1);
        ck_assert_int_eq(up->dst, down->src);
        int j = -1;
        ck_assert_int_eq(sscanf(net_graph_node_name(g, up->dst), "dc0/pod0/spine%d", &j), 1);
        ck_assert(j >= 0 && j < UP);
        used[j]++;
        free(r.u);
    }
    for (int j = 0; j < UP; j++) {
        ck_assert_msg(used[j] > 0, "uplink %d unused", j);
        ck_assert_msg(used[j] <= 2 * FLOWS / UP, "uplink %d: %d flows > 2 x mean", j, used[j]);
    }
    /* the same hash takes the same path */
    for (uint64_t h = 0; h < 64; h++) {
        rt a = route(t, 3, 12, h * 0x9e3779b97f4a7c15ull);
        rt b = route(t, 3, 12, h * 0x9e3779b97f4a7c15ull);
        ck_assert_uint_eq(a.info.n_uses, b.info.n_uses);
        for (size_t i = 0; i < a.info.n_uses; i++)
            ck_assert_int_eq(a.u[i].link, b.u[i].link);
        free(a.u);
        free(b.u);
    }
    topo_destroy(t);
}
END_TEST

START_TEST(test_ecmp_spread_3tier)
{
    topo *t = load_ok(GOOD "gen-three-sites.yaml");
    const net_graph *g = topo_graph(t);
    /* Site a (gen-fat-tree-3's fabric): 4096 flows from leaf 0's chips (0..7, pod 0) to
     * pod 3's chips (96..127) choose a spine j of pod 0 (4 ways) and then a core c of plane
     * j (2 ways): 8 (j, c) pairs, mean 512, Binomial sd sqrt(4096 x 1/8 x 7/8) = 21.2.
     * Every pair used and none above 2 x mean shows the spine's pick does not repeat the
     * leaf's. Then 4096 flows from a to c: c's gateway picks one of c's 8 cores coming
     * down, with the same bound. */
    enum { FLOWS = 4096 };
    int pair[4][2] = {{0}}, down[8] = {0};
    for (int i = 0; i < FLOWS; i++) {
        rt r = route(t, i % 8, 96 + i / 8 % 32, (uint64_t)i);
        ck_assert_uint_eq(r.info.n_uses, 6);
        int p, j, plane, c;
        ck_assert_int_eq(sscanf(dst_name(g, r.u[1].link), "a/pod%d/spine%d", &p, &j), 2);
        ck_assert_int_eq(sscanf(dst_name(g, r.u[2].link), "a/plane%d/core%d", &plane, &c), 2);
        ck_assert_int_eq(plane, j);
        pair[j][c]++;
        free(r.u);
        r = route(t, i % 128, 256 + i / 128 % 64, (uint64_t)i * 31 + 7);
        ck_assert_uint_eq(r.info.n_uses, 9);
        const net_link *gw = net_graph_link(g, r.u[5].link);
        ck_assert_int_eq(gw->kind, NET_LINK_GATEWAY);
        ck_assert_str_eq(net_graph_node_name(g, gw->src), "c/gw");
        ck_assert_int_eq(sscanf(net_graph_node_name(g, gw->dst), "c/plane%d/core%d", &j, &c), 2);
        down[j * 2 + c]++;
        free(r.u);
    }
    for (int k = 0; k < 8; k++) {
        ck_assert_msg(pair[k / 2][k % 2] > 0 && pair[k / 2][k % 2] <= 2 * FLOWS / 8,
                      "spine %d core %d: %d flows", k / 2, k % 2, pair[k / 2][k % 2]);
        ck_assert_msg(down[k] > 0 && down[k] <= 2 * FLOWS / 8, "gateway to core %d: %d flows",
                      k, down[k]);
    }
    topo_destroy(t);
}
END_TEST

/* Sums of usage weights by class (kind and direction, from the node names). */
enum {
    C_NIC_UP, C_NIC_DOWN, C_LS_UP, C_LS_DOWN, C_SC_UP, C_SC_DOWN, C_GW_UP, C_GW_DOWN, C_WAN,
    C_PCIE, C_OTHER, C_COUNT
};

static void classify(const net_graph *g, const rt *r, double sum[C_COUNT], size_t n[C_COUNT])
{
    for (int c = 0; c < C_COUNT; c++) {
        sum[c] = 0;
        n[c] = 0;
    }
    for (size_t i = 0; i < r->info.n_uses; i++) {
        const net_link *l = net_graph_link(g, r->u[i].link);
        const char *a = net_graph_node_name(g, l->src);
        int c = C_OTHER;
        ck_assert(r->u[i].w > 0);
        switch (l->kind) {
        case NET_LINK_NIC:
            c = net_graph_node_kind(g, l->src) == NET_NODE_ENDPOINT ? C_NIC_UP : C_NIC_DOWN;
            break;
        case NET_LINK_LEAF_SPINE:
            c = strstr(a, "/leaf") ? C_LS_UP : C_LS_DOWN;
            break;
        case NET_LINK_SPINE_CORE:
            c = strstr(a, "/spine") ? C_SC_UP : C_SC_DOWN;
            break;
        case NET_LINK_GATEWAY:
            c = strstr(a, "/gw") ? C_GW_DOWN : C_GW_UP;
            break;
        case NET_LINK_WAN:
            c = C_WAN;
            break;
        case NET_LINK_PCIE:
            c = C_PCIE;
            break;
        default:
            break;
        }
        sum[c] += r->u[i].w;
        n[c]++;
    }
}

/* Usage counts per class as wanted, and the weights of every class present sum to 1. */
static void check_classes(const size_t n[C_COUNT], const double sum[C_COUNT],
                          const size_t want_n[C_COUNT])
{
    for (int c = 0; c < C_COUNT; c++) {
        ck_assert_msg(n[c] == want_n[c], "class %d: %zu usages, want %zu", c, n[c], want_n[c]);
        if (want_n[c])
            CK_NEAR(sum[c], 1.0, 1e-12);
    }
}

START_TEST(test_spray_3tier)
{
    topo *t = load_ok(GOOD "gen-fat-tree-3.yaml");
    const net_graph *g = topo_graph(t);
    topo_set_routing(t, TOPO_ROUTE_SPRAY);
    ck_assert_int_eq(topo_get_routing(t), TOPO_ROUTE_SPRAY);
    /* chip 0 (pod 0) to chip 127 (pod 3): S = 4 spines of pod 0 (1/4 each), S x C = 8
     * spine-core links up (1/8 each), 8 down to pod 3's spines, 4 down to leaf 15, plus the
     * two NIC links: 1 + 4 + 8 + 8 + 4 + 1 = 26 usages. */
    rt r = route(t, 0, 127, 0);
    double sum[C_COUNT];
    size_t n[C_COUNT];
    classify(g, &r, sum, n);
    ck_assert_uint_eq(r.info.n_uses, 26);
    ck_assert_uint_le(r.info.n_uses, topo_route_max_uses(t));
    static const size_t want_n[C_COUNT] = {[C_NIC_UP] = 1, [C_NIC_DOWN] = 1, [C_LS_UP] = 4,
                                           [C_LS_DOWN] = 4, [C_SC_UP] = 8, [C_SC_DOWN] = 8};
    check_classes(n, sum, want_n);
    for (size_t i = 0; i < r.info.n_uses; i++) {
        const net_link *l = net_graph_link(g, r.u[i].link);
        if (l->kind == NET_LINK_LEAF_SPINE && strstr(net_graph_node_name(g, l->src), "/leaf"))
            ck_assert_str_eq(net_graph_node_name(g, l->src), "dc0/leaf0");
        else if (l->kind == NET_LINK_LEAF_SPINE)
            ck_assert_str_eq(net_graph_node_name(g, l->dst), "dc0/leaf15");
        /* no link listed twice */
        for (size_t k = 0; k < i; k++)
            ck_assert_int_ne(r.u[k].link, r.u[i].link);
    }
    /* the reported path is one of the sprayed ones: 6 hops, 3.1 us */
    ck_assert_int_eq(r.info.hops, 6);
    ck_assert_int_eq(r.info.lat_ps, 3100000);
    free(r.u);
    /* inside pod 0 (chip 0 leaf 0 -> chip 16 leaf 2): 1 + 4 + 4 + 1 = 10 usages */
    r = route(t, 0, 16, 0);
    classify(g, &r, sum, n);
    ck_assert_uint_eq(r.info.n_uses, 10);
    ck_assert_uint_eq(n[C_LS_UP], 4);
    ck_assert_uint_eq(n[C_LS_DOWN], 4);
    ck_assert_uint_eq(n[C_SC_UP] + n[C_SC_DOWN], 0);
    CK_NEAR(sum[C_LS_UP], 1.0, 1e-12);
    CK_NEAR(sum[C_LS_DOWN], 1.0, 1e-12);
    free(r.u);
    topo_destroy(t);
}
END_TEST

START_TEST(test_spray_sites)
{
    topo *t = load_ok(GOOD "gen-three-sites.yaml");
    const net_graph *g = topo_graph(t);
    topo_set_routing(t, TOPO_ROUTE_SPRAY);
    /* a's chip 0 to c's chip 0 (id 128 + 128 = 256), over the direct a-c link (5 ms < 30 +
     * 10 ms): up 4 leaf-spine (1/4), 8 spine-core (1/8), 8 core-gateway trunks (1/8) - the
     * gateway hangs off every core, 4 planes x 2 -, 1 WAN, 8 gateway-core (1/8), 8
     * core-spine (1/8), 4 spine-leaf (1/4), NICs: 1+4+8+8+1+8+8+4+1 = 43 usages. */
    rt r = route(t, 0, 256, 0);
    double sum[C_COUNT];
    size_t n[C_COUNT];
    classify(g, &r, sum, n);
    static const size_t want_n[C_COUNT] = {
        [C_NIC_UP] = 1, [C_NIC_DOWN] = 1, [C_LS_UP] = 4, [C_LS_DOWN] = 4, [C_SC_UP] = 8,
        [C_SC_DOWN] = 8, [C_GW_UP] = 8,   [C_GW_DOWN] = 8, [C_WAN] = 1};
    ck_assert_uint_eq(r.info.n_uses, 43);
    ck_assert_uint_le(r.info.n_uses, topo_route_max_uses(t));
    check_classes(n, sum, want_n);
    for (size_t i = 0; i < r.info.n_uses; i++) {
        const net_link *l = net_graph_link(g, r.u[i].link);
        if (l->kind == NET_LINK_GATEWAY && !strstr(net_graph_node_name(g, l->src), "/gw"))
            ck_assert_str_eq(net_graph_node_name(g, l->dst), "a/gw");
        if (l->kind == NET_LINK_GATEWAY && strstr(net_graph_node_name(g, l->src), "/gw"))
            ck_assert_str_eq(net_graph_node_name(g, l->src), "c/gw");
        if (l->kind == NET_LINK_LEAF_SPINE && !strstr(net_graph_node_name(g, l->src), "/leaf"))
            ck_assert_str_eq(net_graph_node_name(g, l->dst), "c/leaf0");
    }
    ck_assert_int_eq(r.info.hops, 9);
    free(r.u);
    /* a to b goes through c: two WAN usages of weight 1 */
    r = route(t, 0, 128, 0);
    classify(g, &r, sum, n);
    ck_assert_uint_eq(n[C_WAN], 2);
    CK_NEAR(sum[C_WAN], 2.0, 1e-12);
    CK_NEAR(sum[C_GW_UP], 1.0, 1e-12);
    CK_NEAR(sum[C_GW_DOWN], 1.0, 1e-12);
    ck_assert_uint_eq(r.info.n_uses, 44);
    free(r.u);
    topo_destroy(t);
}
END_TEST

/* The WAN usages of an ECMP route, as "from>to" gateway names joined by spaces. */
static void wan_path(const net_graph *g, const rt *r, char *buf, size_t len)
{
    buf[0] = 0;
    for (size_t i = 0; i < r->info.n_uses; i++) {
        const net_link *l = net_graph_link(g, r->u[i].link);
        if (l->kind != NET_LINK_WAN)
            continue;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s>%s", used ? " " : "",
                 net_graph_node_name(g, l->src), net_graph_node_name(g, l->dst));
    }
}

START_TEST(test_sites)
{
    topo *t = load_ok(GOOD "gen-three-sites.yaml");
    const net_graph *g = topo_graph(t);
    /* sites a (128 chips), b (128), c (64), each the 3-tier fabric of gen-fat-tree-3 (c with
     * 2 pods) plus a gateway on its 4 x 2 = 8 cores. */
    const counts w = {
        .chips = 320,
        .graph_nodes = 320 + 40 + 104 + 3 /* + NVSwitches 16+16+8, fabric 40+40+24, gws */,
        .nvswitches = 40, .gateways = 3, .switches = 104 + 40 + 3, .nvlink = 640 /* 320 x 2 */,
        .nic = 640, .ls = 320 /* (16 + 16 + 8 leaves) x 4 spines x 2 */,
        .sc = 160 /* (16 + 16 + 8 spines) x 2 cores x 2 */, .gw = 48 /* 3 sites x 8 cores x 2 */,
        .wan = 6 /* 3 cables x 2 */, .links = 1814,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    ck_assert_uint_eq(s.sites, 3);
    ck_assert_str_eq(topo_site_name(t, 2), "c");
    ck_assert_uint_eq(topo_site_first_chip(t, 1), 128);
    ck_assert_uint_eq(topo_site_first_chip(t, 2), 256);
    ck_assert_uint_eq(topo_site_chip_count(t, 2), 64);
    ck_assert_uint_eq(topo_chip_site(t, 300), 2);
    ck_assert_str_eq(net_graph_node_name(g, 256), "c/n0/c0");
    /* gateway trunks: the site's WAN bandwidth over its 8 cores.
     * a: 10 + 4 Tb/s = 1.75e12 B/s / 8; b: 10 + 8 = 2.25e12 / 8; c: 4 + 8 = 1.5e12 / 8 */
    static const double trunk[3] = {1.75e12 / 8, 2.25e12 / 8, 1.5e12 / 8};
    for (size_t i = 0; i < 3; i++) {
        topo_site_summary ss;
        topo_site_summarize(t, i, &ss);
        CK_NEAR(ss.trunk_Bps[2], trunk[i], 1e-12);
    }
    /* bisection: sites split {a} | {b, c} (128 vs 192) or {b} | {a, c} (128 vs 192) are the
     * most balanced ({c} | {a, b} is 64 vs 256); their cuts: a-b + a-c = 14 Tb/s, a-b +
     * c-b = 18 Tb/s; the least is 14 Tb/s = 1.75e12 B/s. */
    CK_NEAR(s.bisection_Bps, 1.75e12, 1e-12);
    /* diameter: a to b via c: NIC, leaf-spine, spine-core, core-gw, 2 WAN, gw-core,
     * core-spine, spine-leaf, NIC = 10 */
    ck_assert_int_eq(s.diameter_hops, 10);

    /* the a-c link from 1000 km: 1000 x 5 us = 5 ms exactly, plus the traversal of the
     * gateway it leaves (default 1 us) */
    net_link_id ac = -1;
    for (size_t l = 0; l < net_graph_link_count(g); l++)
        if (net_graph_link(g, (net_link_id)l)->kind == NET_LINK_WAN &&
            !strcmp(src_name(g, (net_link_id)l), "a/gw") &&
            !strcmp(dst_name(g, (net_link_id)l), "c/gw"))
            ac = (net_link_id)l;
    ck_assert_int_ge(ac, 0);
    ck_assert_int_eq(net_graph_link(g, ac)->lat_ps, 5000000000LL + 1000000LL);
    ck_assert_int_eq(topo_link_site(t, ac), -1);
    ck_assert_int_eq(topo_link_site(t, 0), 0);
    CK_EQ_D(net_graph_link(g, ac)->bw_Bps, 4e12 / 8);

    /* a -> c: 9 hops over the direct link. Latency (switch_latency 0): 8 fabric cables x
     * 0.1 us + 2 gateways x 1 us + 5 ms = 5,002,800,000 ps. Cap: 8 streams x 64 MiB over
     * an RTT of twice that. */
    char buf[256];
    rt r = route(t, 0, 256, 17);
    check_chain(g, &r, 0, 256);
    ck_assert_int_eq(r.info.hops, 9);
    wan_path(g, &r, buf, sizeof buf);
    ck_assert_str_eq(buf, "a/gw>c/gw");
    ck_assert_int_eq(r.info.lat_ps, 5002800000LL);
    CK_NEAR(r.info.rate_cap_Bps, 8 * 67108864.0 / (2 * 5.0028e-3), 1e-12);
    CK_NEAR(r.info.rate_cap_Bps, 8 * 67108864.0 / (2 * (double)r.info.lat_ps * 1e-12), 1e-12);
    free(r.u);
    /* c -> a: the same link backwards, the same cap */
    r = route(t, 300, 5, 17);
    check_chain(g, &r, 300, 5);
    wan_path(g, &r, buf, sizeof buf);
    ck_assert_str_eq(buf, "c/gw>a/gw");
    CK_NEAR(r.info.rate_cap_Bps, 8 * 67108864.0 / (2 * 5.0028e-3), 1e-12);
    free(r.u);
    /* b -> c: direct 10 ms (via a: 30 + 5 = 35 ms); no window: no cap */
    r = route(t, 128, 256, 17);
    check_chain(g, &r, 128, 256);
    ck_assert_int_eq(r.info.hops, 9);
    wan_path(g, &r, buf, sizeof buf);
    ck_assert_str_eq(buf, "b/gw>c/gw");
    ck_assert_int_eq(r.info.lat_ps, 10002800000LL);
    CK_EQ_D(r.info.rate_cap_Bps, 0);
    free(r.u);
    /* a -> b: direct 30 ms, via c 5 + 10 = 15 ms: two WAN hops, 10 hops in all; the a-c
     * window caps it over the whole path's RTT (15 ms + 2.8 us one way, plus 1 us for
     * crossing gateway c, charged on the WAN link that leaves it) */
    r = route(t, 7, 200, 17);
    check_chain(g, &r, 7, 200);
    ck_assert_int_eq(r.info.hops, 10);
    wan_path(g, &r, buf, sizeof buf);
    ck_assert_str_eq(buf, "a/gw>c/gw c/gw>b/gw");
    ck_assert_int_eq(r.info.lat_ps, 15003800000LL);
    CK_NEAR(r.info.rate_cap_Bps, 8 * 67108864.0 / (2 * 15.0038e-3), 1e-12);
    free(r.u);
    r = route(t, 200, 7, 17);
    wan_path(g, &r, buf, sizeof buf);
    ck_assert_str_eq(buf, "b/gw>c/gw c/gw>a/gw");
    free(r.u);
    /* inside site c (chip 256 pod 0 -> chip 319 pod 1): 6 hops, no WAN, no cap */
    r = route(t, 256, 319, 17);
    check_chain(g, &r, 256, 319);
    ck_assert_int_eq(r.info.hops, 6);
    CK_EQ_D(r.info.rate_cap_Bps, 0);
    free(r.u);
    topo_destroy(t);
}
END_TEST

START_TEST(test_oversub_bisection)
{
    topo *t = load_ok(GOOD "gen-oversub.yaml");
    /* 128 NICs, 8 per leaf -> 16 leaves; leaf uplink 8 x 50e9 / 2 = 200e9 = 4 ports ->
     * 4 spines per pod, trunk 50e9; leaf ports 8 + 4 = 12 <= 16.
     * pod: most leaves L with L + ceil(L x 50e9 / 4 / 50e9) <= 16, dividing 16: L = 16 needs
     * 20, L = 12 fits (15) but does not divide 16, L = 8 needs 10 -> 2 pods, 8 spines.
     * cores: spine uplink 8 x 50e9 / 4 = 100e9; 2 pods x ceil(2 / C) <= 16 -> C = 1;
     * 4 planes x 1 = 4 cores, trunk 100e9. */
    const counts w = {
        .chips = 128, .graph_nodes = 128 + 16 + 16 + 8 + 4, .leaves = 16, .spines = 8, .cores = 4,
        .nvswitches = 16, .switches = 44, .nvlink = 256, .nic = 256, .ls = 128 /* 16 x 4 x 2 */,
        .sc = 16 /* 8 x 1 x 2 */, .links = 656,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    ck_assert_uint_eq(ss.pods, 2);
    CK_EQ_D(ss.oversub[0], 2);
    CK_EQ_D(ss.oversub[1], 4);
    CK_EQ_D(ss.trunk_Bps[0], 50e9);
    CK_EQ_D(ss.trunk_Bps[1], 100e9);
    /* 128 / 2 x 50e9 / (2 x 4) = 4e11 */
    CK_EQ_D(s.bisection_Bps, 64 * 50e9 / 8);
    ck_assert_int_eq(s.diameter_hops, 6);
    topo_destroy(t);
}
END_TEST

START_TEST(test_wan_tie)
{
    topo *t = load_ok(GOOD "gen-wan-tie.yaml");
    const net_graph *g = topo_graph(t);
    /* three one-switch sites of 16 chips: per site 2 NVSwitches, 1 leaf, 1 gateway;
     * links per site: 32 NVLink + 32 NIC + 1 trunk x 2 gateway; WAN 3 x 2 */
    const counts w = {
        .chips = 48, .graph_nodes = 48 + 6 + 3 + 3, .nvswitches = 6, .gateways = 3,
        .switches = 12 /* 3 leaves + 6 NVSwitches + 3 gateways */, .nvlink = 96, .nic = 96,
        .gw = 6, .wan = 6, .links = 204,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    /* trunks: a's WAN links 1 + 1 Tb/s = 2.5e11 B/s on its single switch; c's is given:
     * 3 Tb/s = 3.75e11 */
    topo_site_summary ss;
    topo_site_summarize(t, 0, &ss);
    CK_EQ_D(ss.trunk_Bps[2], 2.5e11);
    topo_site_summarize(t, 2, &ss);
    CK_EQ_D(ss.trunk_Bps[2], 3.75e11);
    /* every balanced split ({x} | the other two, 16 vs 32) cuts two 1 Tb/s links */
    CK_EQ_D(s.bisection_Bps, 2 * 1.25e11);
    /* a - b: 20 ms direct = 10 + 10 ms via c; the tie goes to fewer hops: direct.
     * NIC, trunk, WAN, trunk, NIC = 5 hops, which is also the diameter. */
    char buf[256];
    rt r = route(t, 0, 16, 1);
    check_chain(g, &r, 0, 16);
    ck_assert_int_eq(r.info.hops, 5);
    wan_path(g, &r, buf, sizeof buf);
    ck_assert_str_eq(buf, "a/gw>b/gw");
    free(r.u);
    r = route(t, 20, 15, 1);
    wan_path(g, &r, buf, sizeof buf);
    ck_assert_str_eq(buf, "b/gw>a/gw");
    free(r.u);
    ck_assert_int_eq(s.diameter_hops, 5);
    topo_destroy(t);
}
END_TEST

/*
 * Regression (found by this suite, now fixed): a route between sites is charged switch_latency at the far gateway but not at the
 * near one. gen-wan-tie, chip a/n0/c0 -> b/n0/c0 (defaults: cable 0.1 us, switch 0.5 us,
 * gateway 1 us): the path is chip, leaf_a, gw_a, gw_b, leaf_b, chip, with 4 fabric cables
 * (0.4 us), 2 leaves (1.0 us), 2 gateways (1 us each) and the 20 ms WAN link. Either the
 * gateways are switches ("SITE/gw" is listed among the switches) and each is charged
 * switch_latency too: 20 ms + 4.4 us; or only their own gateway latency: 20 ms + 3.4 us.
 * The generator gives 20 ms + 3.9 us: its trunk links carry link + switch + gateway
 * latency in both directions (so gw_b's traversal is charged when leaving it), while the
 * WAN link leaving gw_a carries no switch latency.
 */
START_TEST(test_bug_gateway_latency)
{
    topo *t = load_ok(GOOD "gen-wan-tie.yaml");
    rt r = route(t, 0, 16, 1);
    int64_t got = r.info.lat_ps;
    free(r.u);
    topo_destroy(t);
    ck_assert_msg(got == 20003400000LL || got == 20004400000LL,
                  "a -> b latency %lld ps: the two gateways are charged unequally "
                  "(want 20003400000 or 20004400000)",
                  (long long)got);
}
END_TEST

/*
 * Regression (found by this suite, now fixed): bisection of a torus whose longest dimension is 2, with wrap-around. The README:
 * "a torus, the links cut by a plane across its longest dimension (twice as many with
 * wrap-around)". A 2x2x2 wrap torus is built with two cables between each pair of a ring
 * of 2 (48 = 8 x 6 directed links), so the plane x = 0 | x = 1 cuts 4 rings twice: 8
 * cables of 300e9 / 6 = 50e9 B/s = 4e11 B/s. The summary reports half (2e11): it counts a
 * ring of 2 once although both of its cables exist and carry traffic.
 */
START_TEST(test_bug_torus_ring_of_two)
{
    topo *t = load_ok(GOOD "gen-torus-222.yaml");
    const net_graph *g = topo_graph(t);
    const counts w = {.chips = 8, .graph_nodes = 8, .ici = 48, .links = 48};
    topo_summary s;
    check_counts(t, &w, &s);
    /* the cut, counted on the graph: directed links from x = 0 (even chips) to x = 1 */
    size_t cut = 0;
    for (size_t l = 0; l < net_graph_link_count(g); l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->src % 2 == 0 && k->dst % 2 == 1) {
            cut++;
            CK_EQ_D(k->bw_Bps, 50e9);
        }
    }
    ck_assert_uint_eq(cut, 8); /* 4 rings x 2 cables */
    ck_assert_int_eq(s.diameter_hops, 3);
    topo_destroy(t);
    ck_assert_msg(s.bisection_Bps == 8 * 50e9, "2x2x2 wrap torus bisection %.17g, want %.17g",
                  s.bisection_Bps, 8 * 50e9);
}
END_TEST

START_TEST(test_site_override)
{
    topo *t = load_ok(GOOD "gen-site-override.yaml");
    const net_graph *g = topo_graph(t);
    /* x: 16 chips, the default fabric (2 tiers, radix 8): 4 NICs per leaf (2 x 4 <= 8,
     * dividing 16) -> 4 leaves, 4 spines. y: 32 chips, its own fabric (1 tier, radix 64 by
     * default: 32 ports fit) -> 1 switch. Gateways on the top tier: x's 4 spines, y's
     * switch. Links: NVLink 48 x 2, NIC 48 x 2, leaf-spine 4 x 4 x 2, trunks (4 + 1) x 2,
     * WAN 2. */
    const counts w = {
        .chips = 48, .graph_nodes = 48 + 6 + 5 + 4 + 2, .nvswitches = 6, .gateways = 2,
        .switches = 17 /* 5 leaves + 4 spines + 6 NVSwitches + 2 gateways */, .nvlink = 96,
        .nic = 96, .ls = 32, .gw = 10, .wan = 2, .links = 236,
    };
    topo_summary s;
    check_counts(t, &w, &s);
    topo_site_summary x, y;
    topo_site_summarize(t, 0, &x);
    topo_site_summarize(t, 1, &y);
    ck_assert_int_eq(x.tiers, 2);
    ck_assert_uint_eq(x.switches[0], 4);
    ck_assert_uint_eq(x.switches[1], 4);
    ck_assert_int_eq(y.tiers, 1);
    ck_assert_uint_eq(y.chips, 32);
    ck_assert_uint_eq(y.switches[0], 1);
    CK_EQ_D(x.trunk_Bps[2], 1.25e11 / 4); /* 1 Tb/s over 4 spines */
    CK_EQ_D(y.trunk_Bps[2], 1.25e11);
    /* x to y: NIC, leaf-spine, spine-gw, WAN, gw-switch, NIC = 6 hops */
    ck_assert_int_eq(s.diameter_hops, 6);
    /* sprayed: 4 leaf-spine (1/4), 4 spine-gateway (1/4), WAN, one trunk down, NICs */
    topo_set_routing(t, TOPO_ROUTE_SPRAY);
    rt r = route(t, 0, 40, 0);
    double sum[C_COUNT];
    size_t n[C_COUNT];
    classify(g, &r, sum, n);
    static const size_t want_n[C_COUNT] = {[C_NIC_UP] = 1, [C_NIC_DOWN] = 1, [C_LS_UP] = 4,
                                           [C_GW_UP] = 4,  [C_WAN] = 1,      [C_GW_DOWN] = 1};
    ck_assert_uint_eq(r.info.n_uses, 12);
    check_classes(n, sum, want_n);
    free(r.u);
    topo_destroy(t);
}
END_TEST

/* ---- 5. size limit ---- */

START_TEST(test_size_limit)
{
    const char *path = GOOD "gen-huge.yaml";
    topo_load_opts opts = {.mem_limit_bytes = 1e6, .chips_dir = NULL};
    topo *t = (topo *)&opts;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load(path, &opts, &t, &st), SIM_ERR_LIMIT);
    ck_assert_ptr_null(t);
    /* 100,000 chips in 12,500 nodes of 8 = 12,500 NVSwitches; 2 tiers of radix {64, 4096}:
     * nics_per_leaf 32 (most d with 2 d <= 64 dividing 100,000) -> 3,125 leaves, 32 spines.
     * nodes: 100,000 + 12,500 + 3,125 + 32 = 115,657;
     * links: 200,000 NVLink + 200,000 NIC + 3,125 x 32 x 2 = 200,000 leaf-spine = 600,000.
     * Estimate (gen_build.c: 96 B a node, 160 B a link): 11,103,072 + 96,000,000 = 107,103,072 B
     * = 0.0997 GiB -> "0.1"; the limit 1e6 B = 0.00093 GiB -> "0.0". */
    char got[1024];
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, "tests/fixtures/good/gen-huge.yaml:4:8: error: key 'chips': this "
                          "topology needs about 0.1 GiB for its graph (115,657 nodes, 600,000 "
                          "links), more than the 0.0 GiB available");
    /* with room it loads, with those counts */
    opts.mem_limit_bytes = 1e9;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load(path, &opts, &t, &st), SIM_OK);
    ck_assert_uint_eq(net_graph_node_count(topo_graph(t)), 115657);
    ck_assert_uint_eq(net_graph_link_count(topo_graph(t)), 600000);
    topo_destroy(t);
}
END_TEST

/* ---- 6. bad inputs ---- */

typedef struct bad_gen {
    const char *file; /* under tests/fixtures/bad/ */
    const char *msg;  /* after "path:" */
} bad_gen;

static const bad_gen bad_gens[] = {
    {"gen-unknown-chip.yaml",
     "2:7: error: key 'chip': unknown chip 'h100-smx' (did you mean 'h100-sxm'?); expected one "
     "of: a100-sxm-80gb, b200, gaudi3, h100-sxm, h200-sxm, mi300x, next-gen, tpu-v4, "
     "tpu-v5e, tpu-v5p, "
     "or a path to a chip file"},
    {"gen-chip-file-missing.yaml",
     "2:7: error: key 'chip': cannot read chip file "
     "'tests/fixtures/bad/chips/no-such-chip.yaml'"},
    /* 256 NICs / 8 per leaf = 32 leaves, one port each on a 16-port spine */
    {"gen-radix-two-tier.yaml",
     "10:10: error: key 'radix': spine switches of radix 16 are too small for this site: "
     "reaching its 32 leaves in 2 tiers needs 32 ports (256 chips, 256 NICs)"},
    /* 16 NICs + 16 uplinks */
    {"gen-radix-leaf.yaml",
     "10:10: error: key 'radix': leaf switches of radix 16 are too small for this site: 16 "
     "NICs with their uplinks to 16 spines needs 32 ports (64 chips, 64 NICs)"},
    /* 64 leaves of 4 in pods of 4 leaves = 16 pods: a core needs a port to each */
    {"gen-radix-core.yaml",
     "7:43: error: key 'radix': core switches of radix 8 are too small for this site: "
     "reaching 16 pods needs 16 ports (256 chips, 256 NICs)"},
    {"gen-torus-tile.yaml", "3:8: error: key 'chips': 100 chips do not tile into tori of 64 chips"},
    {"gen-torus-nodes.yaml",
     "5:31: error: key 'dims': a 3x3 torus (9 chips) cannot hold whole nodes of 4 chips"},
    {"gen-nvswitch-size.yaml",
     "5:34: error: key 'size': an NVSwitch domain of 70 chips cannot hold whole nodes of 4 "
     "chips"},
    {"gen-chips-nodes.yaml", "3:8: error: key 'chips': 20 chips do not tile into nodes of 8 chips"},
    {"gen-wan-unknown-site.yaml",
     "10:19: error: key 'ends': unknown site 'wets' (did you mean 'west'?); expected one of: "
     "east, west"},
    {"gen-wan-self.yaml", "10:19: error: key 'ends': a WAN link from site 'east' to itself"},
    {"gen-wan-duplicate.yaml",
     "11:12: error: key 'ends': a second WAN link between 'west' and 'east' (give one link "
     "their summed bandwidth)"},
    {"gen-wan-latency-distance.yaml",
     "10:72: error: key 'distance': give either 'latency' or 'distance' (at 5 us per km), not "
     "both"},
    {"gen-wan-no-latency.yaml",
     "10:5: error: missing key 'latency' in wan[0]: expected a time such as '20 ms', or a "
     "'distance' such as '3000 km'"},
    {"gen-wan-negative-latency.yaml",
     "10:55: error: key 'latency': expected a time >= 0, found '-20 ms'"},
    {"gen-wan-window-zero.yaml",
     "10:70: error: key 'window': expected a positive size such as '64 MiB', found '0 MiB'"},
    {"gen-oversub-number.yaml",
     "10:21: error: key 'oversubscription': expected a down:up bandwidth ratio from 1 to 1e6 "
     "(1 is full bisection, 7 is 1:7), found '0.5'"},
    {"gen-oversub-mapping.yaml",
     "10:28: error: key 'leaf': expected a down:up bandwidth ratio from 1 to 1e6 (1 is full "
     "bisection, 7 is 1:7), found '0.5'"},
    {"gen-fabric-unknown-key.yaml",
     "10:3: error: unknown key 'nics_per_lef' in fabric (did you mean 'nics_per_leaf'?); "
     "expected one of: kind, tiers, radix, port_bandwidth, nics_per_leaf, pod, "
     "spines_per_pod, cores_per_plane, oversubscription, link_latency, switch_latency"},
    {"gen-fabric-kind.yaml",
     "7:9: error: key 'kind': unknown fabric kind 'fat-tre' (did you mean 'fat-tree'?); "
     "expected one of: fat-tree, rail-optimized"},
    {"gen-scale-up-kind.yaml",
     "5:18: error: key 'kind': unknown scale-up kind 'nvswtich' (did you mean 'nvswitch'?); "
     "expected one of: none, nvswitch, torus"},
    {"gen-tiers-four.yaml", "6:33: error: key 'tiers': expected an integer in [1, 3], found '4'"},
    /* 48 = 6 leaves of 8, but 128 / 48 is not whole */
    {"gen-pod-divide.yaml",
     "12:8: error: key 'pod': a pod of 48 NICs must be a multiple of 8 (the NICs of one leaf) "
     "and divide the site's 128 NICs"},
    {"gen-nics-per-leaf-divide.yaml",
     "10:18: error: key 'nics_per_leaf': 6 NICs per leaf does not divide the site's 64 NICs"},
    {"gen-nics-divisor.yaml",
     "4:24: error: key 'nics': expected a divisor of the node's 8 chips (NICs are shared "
     "evenly; give one NIC of the summed bandwidth per chip instead of several), found 3"},
    {"gen-torus-dims-four.yaml",
     "5:31: error: key 'dims': expected a list of 1 to 3 sizes, such as [16, 16, 16], found a "
     "list"},
    {"gen-domains-no-fabric.yaml",
     "1:1: error: the document: 32 chips in 4 separate scale-up domains need a scale-out "
     "fabric to reach each other; add a 'fabric' section"},
    {"gen-sites-empty.yaml",
     "6:8: error: key 'sites': expected at least one site, found an empty list"},
    {"gen-site-duplicate.yaml",
     "9:11: error: key 'name': duplicate site 'east' (first defined at line 7)"},
    {"gen-wan-missing.yaml",
     "1:1: error: missing key 'wan' in the document: 2 sites need WAN links such as {ends: "
     "[a, b], bandwidth: 10 Tb/s, latency: 20 ms}"},
    {"gen-spine-oversub-two-tier.yaml",
     "10:21: error: key 'spine': a fabric of 2 tiers has no spine uplinks to oversubscribe"},
    {"gen-dims-nvswitch.yaml", "7:9: error: key 'dims': not used by scale-up kind 'nvswitch'"},
    /* 10 nodes in rail groups of 4 */
    {"gen-rail-group.yaml",
     "11:18: error: key 'nics_per_leaf': a rail-optimized leaf holds one rail of 4 nodes, "
     "which does not divide the site's 10 nodes"},
    {"gen-site-unknown-key.yaml",
     "8:5: error: unknown key 'chps' in sites[0] (did you mean 'chips'?); expected one of: "
     "name, chip, chips, node, scale_up, fabric, gateway"},
    {"gen-pod-two-tier.yaml", "6:52: error: key 'pod': not used by a fabric of 2 tiers"},
    /* Regression: passed in Release, but under UBSan gen_wan.c's topo_gen_wan_routes
     * overflowed a signed int: unreachable pairs hold hops = 1 << 30 and the relaxation adds
     * two of them (1073741824 + 1073741824) before it checks that the latency is infinite. */
    {"gen-wan-unreachable.yaml",
     "11:3: error: key 'wan': site 'east' cannot reach site 'north' over the WAN links"},
    {"gen-wan-no-fabric.yaml",
     "13:19: error: key 'ends': site 'west' has no scale-out fabric to reach its gateway; add "
     "a 'fabric' section to it"},    /* failures and storage (sim/topo/fleet.c, hw/fail.h): top level only */
    {"gen-failures-chip-kind.yaml",
     "10:3: error: unknown key 'gpu' in failures; expected one of: host, nic, leaf, spine, "
     "core, cable, software, wan"},
    {"gen-failures-never.yaml",
     "9:20: error: key 'mtbf': expected a duration with a unit (such as '100000 h') or "
     "'never', found 'nevr'"},
    {"gen-failures-repair-unit.yaml",
     "9:42: error: key 'mean': expected a duration with a unit (such as '24 h'), found '8'"},
    {"gen-failures-site.yaml",
     "10:5: error: unknown key 'failures' in sites[0]; expected one of: name, chip, chips, "
     "node, scale_up, fabric, gateway"},
    {"gen-storage-key.yaml",
     "10:3: error: unknown key 'pernode' in storage (did you mean 'per_node'?); expected one "
     "of: aggregate, per_node, host_copy"},
    {"gen-storage-unit.yaml",
     "8:22: error: key 'aggregate': expected a bandwidth with a unit (such as '100 Gb/s'), "
     "found '2 TB' (unknown unit 'TB')"},
};

START_TEST(test_bad_fixture)
{
    const bad_gen *c = &bad_gens[_i];
    char path[256], want[2048], got[2048];
    snprintf(path, sizeof path, "tests/fixtures/bad/%s", c->file);
    snprintf(want, sizeof want, "%s:%s", path, c->msg);
    topo *t = (topo *)&t; /* must come back NULL */
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load_file(path, &t, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(st.code, SIM_ERR_INPUT);
    ck_assert_str_eq(st.file, path);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);
}
END_TEST

/*
 * Regression (found by this suite, now fixed): the radix check counts a switch's uplink ports as ceil(uplink bandwidth / port
 * bandwidth) and ignores how many trunks the uplink is split into. The README: "Every switch
 * must have enough ports (radix, counted in port_bandwidth ports) for what it connects";
 * each trunk to a distinct switch needs at least one whole port.
 *  - gen-radix-spines.yaml: a 16-port leaf with 8 NICs and spines_per_pod 16: 8 + 16 x
 *    ceil(8 x 50e9 / 16 / 50e9) = 8 + 16 = 24 ports > 16. The generator accepts it (it
 *    counts 8 + ceil(8) = 16).
 *  - gen-radix-cores.yaml: radix 8, 4 leaves per pod (4 spine down-ports of 50e9), 8 cores
 *    per plane: 4 + 8 x ceil(200e9 / 8 / 50e9) = 12 ports > 8. The generator accepts it
 *    (it counts 4 + ceil(4) = 8).
 * The exact wording is the generator's radix error format; only its substance is checked.
 */
static const struct {
    const char *file, *tier, *need;
} radix_bugs[] = {
    {"tests/fixtures/bad/gen-radix-spines.yaml", "leaf switches of radix 16", "needs 24 ports"},
    {"tests/fixtures/bad/gen-radix-cores.yaml", "spine switches of radix 8", "needs 12 ports"},
};

START_TEST(test_bug_radix_counts_trunks)
{
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = topo_load_file(radix_bugs[_i].file, &t, &st);
    topo_destroy(t);
    ck_assert_msg(rc == SIM_ERR_INPUT, "%s loads although a switch exceeds its radix",
                  radix_bugs[_i].file);
    ck_assert_msg(strstr(st.msg, radix_bugs[_i].tier) && strstr(st.msg, radix_bugs[_i].need),
                  "%s: %s", radix_bugs[_i].file, st.msg);
}
END_TEST

static Suite *topo_gen_suite(void)
{
    Suite *s = suite_create("topo_gen");
    TCase *tc = tcase_create("shapes");
    tcase_add_test(tc, test_one_switch);
    tcase_add_test(tc, test_fat_tree_2);
    tcase_add_test(tc, test_rail_2);
    tcase_add_test(tc, test_fat_tree_3);
    tcase_add_test(tc, test_fat_tree_3_defaults);
    tcase_add_test(tc, test_oversub_bisection);
    tcase_add_test(tc, test_nvl72);
    tcase_add_test(tc, test_torus_wrap);
    tcase_add_test(tc, test_torus_nowrap);
    tcase_add_test(tc, test_torus_2d);
    tcase_add_test(tc, test_shared_nics);
    tcase_add_test(tc, test_bug_torus_ring_of_two);
    suite_add_tcase(s, tc);
    TCase *tsh = tcase_create("shipped");
    tcase_add_test(tsh, test_shipped_all_load);
    tcase_add_test(tsh, test_selene);
    tcase_add_test(tsh, test_superpod_16k);
    tcase_add_test(tsh, test_llama3);
    tcase_add_test(tsh, test_tpu_v4_pod);
    suite_add_tcase(s, tsh);
    TCase *tr = tcase_create("routing");
    tcase_add_test(tr, test_ecmp_spread);
    tcase_add_test(tr, test_route_hashed);
    tcase_add_test(tr, test_ecmp_spread_3tier);
    tcase_add_test(tr, test_spray_3tier);
    tcase_add_test(tr, test_spray_sites);
    tcase_add_test(tr, test_sites);
    tcase_add_test(tr, test_wan_tie);
    tcase_add_test(tr, test_site_override);
    tcase_add_test(tr, test_bug_gateway_latency);
    suite_add_tcase(s, tr);
    TCase *tl = tcase_create("limits");
    tcase_add_test(tl, test_size_limit);
    suite_add_tcase(s, tl);
    TCase *tb = tcase_create("bad");
    tcase_add_loop_test(tb, test_bad_fixture, 0, (int)(sizeof bad_gens / sizeof bad_gens[0]));
    tcase_add_loop_test(tb, test_bug_radix_counts_trunks, 0,
                        (int)(sizeof radix_bugs / sizeof radix_bugs[0]));
    suite_add_tcase(s, tb);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(topo_gen_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
