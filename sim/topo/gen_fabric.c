/*
 * gen_fabric.c: a site's scale-out Clos fabric (fat tree or rail-optimized, 1 to 3 tiers):
 * its section read in pass 1 of gen.c, its shape derived and checked in pass 2.
 *
 * Fabric shape (tiers t = 1..3, NIC bandwidth b, port bandwidth P, radix k_t, down:up
 * oversubscription o_t):
 *   leaf:  d NICs down (nics_per_leaf, default the most that fit), uplink bandwidth d b / o_1
 *          split evenly over the S spines of its pod (S = spines_per_pod, default the
 *          number of uplink ports ceil(d b / (o_1 P))).
 *   spine: the L_p leaves of its pod down, uplink bandwidth L_p x trunk / o_2 split evenly
 *          over the C cores of its plane (plane j holds the cores every pod's spine j uses).
 *   core:  one trunk to spine j of every pod.
 * Parallel cables between two switches are one link of their summed bandwidth (so ECMP
 * among them is perfect); the radix check counts the ports they take. Rail-optimized fabrics
 * differ only in which leaf a NIC reaches: NIC r of a node goes to rail leaf r of its group
 * of d nodes, so each leaf holds one rail of d nodes.
 */
#include <math.h>
#include <stdio.h>

#include "core/units.h"
#include "topo/gen_int.h"

/* Defaults, documented in README.md. */
#define DEF_RADIX 64
#define DEF_LINK_LAT_PS 100000      /* 0.1 us: about 20 m of fibre */
#define DEF_SWITCH_LAT_PS 500000    /* 0.5 us per switch traversal */

static const char *const fabric_keys[] = {
    "kind",   "tiers",           "radix",           "port_bandwidth", "nics_per_leaf",
    "pod",    "spines_per_pod",  "cores_per_plane", "oversubscription",
    "link_latency", "switch_latency", NULL};
static const char *const tier_keys[] = {"leaf", "spine", "core", NULL};
static const char *const fabric_kinds[] = {"fat-tree", "rail-optimized", NULL};

static size_t ceil_div_bw(double need_Bps, double port_Bps)
{
    /* Ports needed for a bandwidth; a relative slack absorbs rounding of ratios like 1/3. */
    return (size_t)ceil(need_Bps / port_Bps - 1e-9);
}

/* radix: a number for every tier, or {leaf, spine, core}. */
static sim_code load_radix(topo_gen *G, ynode fab, topo_site *s, sim_status *st)
{
    ynode v = ydoc_map_get(G->d, fab, "radix");
    for (int i = 0; i < TOPO_MAX_TIERS; i++)
        s->radix[i] = DEF_RADIX;
    if (!v)
        return SIM_OK;
    int64_t r = DEF_RADIX;
    if (ydoc_node_kind(G->d, v) != YDOC_MAP) {
        sim_code rc = ydoc_get_int(G->d, fab, "radix", 0, 2, 1 << 20, &r, st);
        for (int i = 0; i < TOPO_MAX_TIERS; i++)
            s->radix[i] = (int)r;
        return rc;
    }
    sim_code rc = ydoc_check_keys(G->d, v, "fabric.radix", tier_keys, st);
    for (int i = 0; i < TOPO_MAX_TIERS && rc == SIM_OK; i++) {
        r = DEF_RADIX;
        rc = ydoc_get_int(G->d, v, tier_keys[i], 0, 2, 1 << 20, &r, st);
        s->radix[i] = (int)r;
    }
    return rc;
}

/* oversubscription: a ratio for the leaf tier, or {leaf, spine}; each >= 1. */
static sim_code load_oversub(topo_gen *G, ynode fab, topo_site *s, sim_status *st)
{
    static const char *const os_keys[] = {"leaf", "spine", NULL};
    ynode v = ydoc_map_get(G->d, fab, "oversubscription");
    for (int i = 0; i < TOPO_MAX_TIERS; i++)
        s->oversub[i] = 1;
    if (!v)
        return SIM_OK;
    ynode map = fab;
    const char *const *keys = (const char *const[]){"oversubscription", NULL};
    if (ydoc_node_kind(G->d, v) == YDOC_MAP) {
        sim_code rc = ydoc_check_keys(G->d, v, "fabric.oversubscription", os_keys, st);
        if (rc != SIM_OK)
            return rc;
        map = v;
        keys = os_keys;
    }
    for (int i = 0; keys[i]; i++) {
        ynode at = ydoc_map_get(G->d, map, keys[i]);
        if (!at)
            continue;
        double r = 1;
        sim_code rc = ydoc_get_double(G->d, map, keys[i], 0, &r, st);
        if (rc != SIM_OK)
            return rc;
        if (!(r >= 1) || r > 1e6) {
            char found[96];
            ydoc_describe(G->d, at, found, sizeof found);
            return ydoc_error(G->d, at, st,
                              "key '%s': expected a down:up bandwidth ratio from 1 to 1e6 "
                              "(1 is full bisection, 7 is 1:7), found %s", keys[i], found);
        }
        s->oversub[i] = r;
    }
    return SIM_OK;
}

sim_code topo_gen_load_fabric(topo_gen *G, ynode site, topo_site *s, topo_site_src *src,
                              sim_status *st)
{
    ynode fab;
    sim_code rc = topo_gen_section(G, site, "fabric", fabric_keys, &fab, st);
    src->fabric = fab;
    s->tiers = 0;
    if (rc != SIM_OK || !fab)
        return rc;
    int kind = TOPO_FAB_FAT_TREE;
    int64_t tiers = 2;
    rc = ydoc_get_enum(G->d, fab, "kind", 0, "fabric kind", fabric_kinds, &kind, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "tiers", 0, 1, 3, &tiers, st);
    if (rc == SIM_OK)
        rc = load_radix(G, fab, s, st);
    if (rc == SIM_OK)
        rc = load_oversub(G, fab, s, st);
    s->port_Bps = s->nic_Bps;
    s->link_lat_ps = DEF_LINK_LAT_PS;
    s->switch_lat_ps = DEF_SWITCH_LAT_PS;
    if (rc == SIM_OK)
        rc = ydoc_get_bw(G->d, fab, "port_bandwidth", 0, &s->port_Bps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_time(G->d, fab, "link_latency", 0, &s->link_lat_ps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_time(G->d, fab, "switch_latency", 0, &s->switch_lat_ps, st);
    int64_t per_leaf = 0, pod = 0, spines = 0, cores = 0;
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "nics_per_leaf", 0, 1, 1 << 20, &per_leaf, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "pod", 0, 1, INT32_MAX, &pod, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "spines_per_pod", 0, 1, 1 << 20, &spines, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(G->d, fab, "cores_per_plane", 0, 1, 1 << 20, &cores, st);
    if (rc != SIM_OK)
        return rc;
    s->fabric_kind = (topo_fabric_kind)kind;
    s->tiers = (int)tiers;
    s->per_leaf = (size_t)per_leaf;
    s->leaves_per_pod = (size_t)pod; /* NICs per pod for now: topo_gen_shape makes it leaves */
    s->spines_per_pod = (size_t)spines;
    s->cores_per_plane = (size_t)cores;
    src->radix = ydoc_map_get(G->d, fab, "radix");
    src->pod = ydoc_map_get(G->d, fab, "pod");
    src->per_leaf = ydoc_map_get(G->d, fab, "nics_per_leaf");
    src->spines = ydoc_map_get(G->d, fab, "spines_per_pod");
    src->cores = ydoc_map_get(G->d, fab, "cores_per_plane");
    if (s->nics_per_node == 0)
        return ydoc_error(G->d, fab, st,
                          "%s: a scale-out fabric needs NICs, but node.nics is 0",
                          topo_gen_place(G, fab));
    static const char *const one_tier[] = {"spines_per_pod", "pod", "cores_per_plane", NULL};
    static const char *const two_tier[] = {"pod", "cores_per_plane", NULL};
    const char *const *unused = tiers == 1 ? one_tier : tiers == 2 ? two_tier : NULL;
    for (size_t i = 0; unused && unused[i]; i++)
        if (ydoc_map_get(G->d, fab, unused[i]))
            return ydoc_error(G->d, ydoc_map_get(G->d, fab, unused[i]), st,
                              "key '%s': not used by a fabric of %lld tier%s", unused[i],
                              (long long)tiers, tiers > 1 ? "s" : "");
    if (tiers < 3 && s->oversub[1] != 1)
        return ydoc_error(G->d, ydoc_map_get(G->d, fab, "oversubscription"), st,
                          "key 'spine': a fabric of %lld tier%s has no spine uplinks to "
                          "oversubscribe", (long long)tiers, tiers > 1 ? "s" : "");
    if (tiers == 1 && s->oversub[0] != 1)
        return ydoc_error(G->d, ydoc_map_get(G->d, fab, "oversubscription"), st,
                          "key 'oversubscription': a fabric of 1 tier has no uplinks to "
                          "oversubscribe");
    return SIM_OK;
}

/* The radix error, naming the tier and what would be needed. */
static sim_code radix_error(topo_gen *G, const topo_site_src *src, const topo_site *s, int tier,
                            size_t need, const char *what, sim_status *st)
{
    char a[32], b[32];
    ynode at = src->radix ? src->radix : src->fabric;
    return ydoc_error(G->d, at, st,
                      "key 'radix': %s switches of radix %d are too small for this site: %s "
                      "needs %s ports (%s chips, %s NICs)",
                      topo_tier_str(tier), s->radix[tier], what,
                      sim_units_fmt_count((double)need, a, 16),
                      sim_units_fmt_count((double)s->chips, b, sizeof b),
                      sim_units_fmt_count((double)s->nics, a + 16, sizeof a - 16));
}

/* One tier: a single switch holds every NIC. */
static sim_code shape_one_tier(topo_gen *G, const topo_site_src *src, topo_site *s,
                               sim_status *st)
{
    const size_t nics = s->nics;
    char n1[32];
    s->per_leaf = s->per_leaf ? s->per_leaf : nics;
    if (s->per_leaf != nics)
        return ydoc_error(G->d, src->per_leaf, st,
                          "key 'nics_per_leaf': a fabric of 1 tier is one switch holding "
                          "all %s NICs, found %zu",
                          sim_units_fmt_count((double)nics, n1, sizeof n1), s->per_leaf);
    size_t ports = nics * ceil_div_bw(s->nic_Bps, s->port_Bps);
    if (ports > (size_t)s->radix[0])
        return radix_error(G, src, s, 0, ports, "one switch for all NICs", st);
    s->leaves = 1;
    s->leaves_per_pod = 1;
    s->pods = 1;
    s->n_top = 1;
    return SIM_OK;
}

/* The leaves of a fabric of 2 or 3 tiers: NICs per leaf d, leaves, spines per pod S and the
 * leaf-spine trunk bandwidth. */
static sim_code shape_leaves(topo_gen *G, const topo_site_src *src, topo_site *s,
                             sim_status *st)
{
    const double b = s->nic_Bps, P = s->port_Bps;
    const size_t nics = s->nics;
    char n1[32];
    size_t nic_ports = ceil_div_bw(b, P);
    size_t d = s->per_leaf;
    size_t rails = s->fabric_kind == TOPO_FAB_RAIL ? s->nics_per_node : 1;
    if (!d) /* the most NICs that fit beside their uplinks and divide the site evenly */
        for (size_t c = (size_t)s->radix[0]; c >= 1 && !d; c--)
            if (c * nic_ports + ceil_div_bw((double)c * b / s->oversub[0], P) <=
                    (size_t)s->radix[0] &&
                nics % (c * rails) == 0)
                d = c;
    if (!d)
        d = 1;
    size_t up_ports = ceil_div_bw((double)d * b / s->oversub[0], P);
    /* Every trunk to a distinct spine takes at least one whole port. */
    size_t S = s->spines_per_pod ? s->spines_per_pod : up_ports;
    size_t leaf_up = S * ceil_div_bw((double)d * b / s->oversub[0] / (double)S, P);
    if (d * nic_ports + leaf_up > (size_t)s->radix[0]) {
        char what[96];
        snprintf(what, sizeof what, "%zu NICs with their uplinks to %zu spines", d, S);
        return radix_error(G, src, s, 0, d * nic_ports + leaf_up, what, st);
    }
    if (nics % (d * rails) != 0) {
        ynode at = src->per_leaf ? src->per_leaf : src->fabric;
        if (s->fabric_kind == TOPO_FAB_RAIL)
            return ydoc_error(G->d, at, st,
                              "key 'nics_per_leaf': a rail-optimized leaf holds one rail of "
                              "%zu nodes, which does not divide the site's %s nodes", d,
                              sim_units_fmt_count((double)s->nodes, n1, sizeof n1));
        return ydoc_error(G->d, at, st,
                          "key 'nics_per_leaf': %zu NICs per leaf does not divide the site's %s "
                          "NICs", d, sim_units_fmt_count((double)nics, n1, sizeof n1));
    }
    s->per_leaf = d;
    s->leaves = nics / d;
    s->spines_per_pod = S;
    s->ls_Bps = (double)d * b / s->oversub[0] / (double)S;
    return SIM_OK;
}

/* Three tiers, the pods: L_p leaves each (ptl ports per leaf-spine trunk). */
static sim_code shape_pods(topo_gen *G, const topo_site_src *src, topo_site *s, size_t ptl,
                           sim_status *st)
{
    const double P = s->port_Bps;
    const size_t d = s->per_leaf, nics = s->nics;
    size_t leaf_unit = s->fabric_kind == TOPO_FAB_RAIL ? s->nics_per_node : 1;
    char n1[32], n2[32];
    size_t Lp = 0;
    if (s->leaves_per_pod) {
        size_t pod = s->leaves_per_pod;
        if (pod % (d * leaf_unit) != 0 || nics % pod != 0)
            return ydoc_error(G->d, src->pod, st,
                              "key 'pod': a pod of %s NICs must be a multiple of %zu (the NICs "
                              "of %s) and divide the site's %s NICs",
                              sim_units_fmt_count((double)pod, n1, sizeof n1), d * leaf_unit,
                              leaf_unit > 1 ? "one rail group" : "one leaf",
                              sim_units_fmt_count((double)nics, n2, sizeof n2));
        Lp = pod / d;
    } else {
        for (size_t c = (size_t)s->radix[1] / (ptl ? ptl : 1); c >= 1 && !Lp; c--)
            if (c * ptl + ceil_div_bw((double)c * s->ls_Bps / s->oversub[1], P) <=
                    (size_t)s->radix[1] &&
                s->leaves % c == 0 && c % leaf_unit == 0)
                Lp = c;
        if (!Lp)
            Lp = leaf_unit;
    }
    size_t up2 = ceil_div_bw((double)Lp * s->ls_Bps / s->oversub[1], P);
    if (Lp * ptl + up2 > (size_t)s->radix[1]) {
        char what[96];
        snprintf(what, sizeof what, "a pod of %zu leaves with its uplinks", Lp);
        return radix_error(G, src, s, 1, Lp * ptl + up2, what, st);
    }
    s->leaves_per_pod = Lp;
    s->pods = s->leaves / Lp;
    return SIM_OK;
}

/* Three tiers, the cores: C per plane and the spine-core trunk, after shape_pods. */
static sim_code shape_cores(topo_gen *G, const topo_site_src *src, topo_site *s, size_t ptl,
                            sim_status *st)
{
    const double P = s->port_Bps;
    const size_t Lp = s->leaves_per_pod;
    size_t up2 = ceil_div_bw((double)Lp * s->ls_Bps / s->oversub[1], P);
    double spine_up = (double)Lp * s->ls_Bps / s->oversub[1];
    size_t C = s->cores_per_plane;
    if (!C) { /* the fewest cores that fit, preferring an even split of the uplinks */
        size_t lo = (s->pods * up2 + (size_t)s->radix[2] - 1) / (size_t)s->radix[2];
        for (size_t c = lo ? lo : 1; c <= up2 && !C; c++)
            if (up2 % c == 0 && s->pods * ceil_div_bw(spine_up / (double)c, P) <=
                                    (size_t)s->radix[2])
                C = c;
        for (size_t c = lo ? lo : 1; c <= up2 && !C; c++)
            if (s->pods * ceil_div_bw(spine_up / (double)c, P) <= (size_t)s->radix[2])
                C = c;
        if (!C)
            C = up2;
    }
    s->cores_per_plane = C;
    s->sc_Bps = spine_up / (double)C;
    size_t spine_ports = Lp * ptl + C * ceil_div_bw(s->sc_Bps, P);
    if (spine_ports > (size_t)s->radix[1]) {
        char what[96];
        snprintf(what, sizeof what, "a pod of %zu leaves with uplinks to %zu cores", Lp, C);
        return radix_error(G, src, s, 1, spine_ports, what, st);
    }
    size_t core_ports = s->pods * ceil_div_bw(s->sc_Bps, P);
    if (core_ports > (size_t)s->radix[2]) {
        char what[96];
        snprintf(what, sizeof what, "reaching %zu pods", s->pods);
        return radix_error(G, src, s, 2, core_ports, what, st);
    }
    s->n_top = s->spines_per_pod * C;
    return SIM_OK;
}

/* Formulas in the file comment. */
sim_code topo_gen_shape(topo_gen *G, const topo_site_src *src, topo_site *s, sim_status *st)
{
    if (s->tiers == 1)
        return shape_one_tier(G, src, s, st);
    sim_code rc = shape_leaves(G, src, s, st);
    if (rc != SIM_OK)
        return rc;
    size_t ptl = ceil_div_bw(s->ls_Bps, s->port_Bps);
    if (s->tiers == 2) {
        s->leaves_per_pod = s->leaves;
        s->pods = 1;
        s->n_top = s->spines_per_pod;
        if (s->leaves * ptl > (size_t)s->radix[1]) {
            char n1[32], what[96];
            snprintf(what, sizeof what, "reaching its %s leaves in 2 tiers",
                     sim_units_fmt_count((double)s->leaves, n1, sizeof n1));
            return radix_error(G, src, s, 1, s->leaves * ptl, what, st);
        }
        return SIM_OK;
    }
    rc = shape_pods(G, src, s, ptl, st);
    if (rc == SIM_OK)
        rc = shape_cores(G, src, s, ptl, st);
    return rc;
}
