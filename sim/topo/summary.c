/*
 * summary.c: what a topology contains, for `clustersim topo` and the database.
 *
 * Bisection bandwidth is the capacity, in one direction, of the narrowest cut that splits
 * the chips into two equal halves:
 *  - a Clos site: half its NICs times their bandwidth, divided by the oversubscription of
 *    every tier whose uplinks a balanced cut must cross (the leaf tier when there are two
 *    leaves or more, the spine tier too when there are two pods or more);
 *  - a scale-up domain: NVSwitch, half its chips times their bandwidth; a torus, the links
 *    cut by a plane across its longest dimension (twice as many with wrap-around);
 *  - several sites: the least WAN capacity crossing any split of the sites into two groups
 *    whose chip counts are as equal as they can be (exhaustive over up to 20 sites).
 * The hop diameter is taken from routes between the chips that are farthest apart by
 * construction: first and last chip of each site and of each pair of sites, and a torus's
 * opposite corner. Explicit graphs compute it from all endpoint pairs (up to 2,000
 * endpoints) and report no bisection.
 *
 * This file reads the built topology (topo_int.h) and routes on it (troute.c); it calls
 * nothing in topo.c or gen*.c, so that summaries sit above what builds the topology.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo_int.h"

const char *topo_tier_name(int tier)
{
    return topo_tier_str(tier);
}

static double site_bisection(const topo_site *s)
{
    if (!s->tiers)
        return 0;
    double half = (double)s->nics / 2.0 * s->nic_Bps;
    if (s->leaves >= 2)
        half /= s->oversub[0];
    if (s->tiers == 3 && s->pods >= 2)
        half /= s->oversub[1];
    return half;
}

static double domain_bisection(const topo_site *s)
{
    if (s->su_kind == TOPO_SU_NVSWITCH)
        return (double)(s->domain_size / 2) * s->su_Bps;
    if (s->su_kind != TOPO_SU_TORUS)
        return 0;
    int longest = 0;
    for (int k = 1; k < s->nd; k++)
        if (s->dims[k] > s->dims[longest])
            longest = k;
    if (s->dims[longest] < 2)
        return 0;
    double across = (double)s->domain_size / s->dims[longest];
    int both_ways = s->wrap; /* with wrap-around a plane cuts every ring twice (for a ring of
                                 two, its two parallel cables) */
    return across * (both_ways ? 2 : 1) * s->su_Bps;
}

void topo_site_summarize(const topo *t, size_t site, topo_site_summary *o)
{
    memset(o, 0, sizeof *o);
    if (!t->generated) {
        o->name = t->name;
        o->chip = t->explicit_chip ? t->explicit_chip->name : "";
        o->chips = t->n_chips;
        o->nodes = t->n_chips;
        if (t->explicit_chip) {
            o->peak_bf16_flops = (double)t->n_chips * t->explicit_chip->peak_bf16_flops;
            o->hbm_bytes = (double)t->n_chips * t->explicit_chip->hbm_bytes;
        }
        return;
    }
    const topo_site *s = &t->sites[site];
    o->name = s->name;
    o->chip = s->chip.name;
    o->chips = s->chips;
    o->nodes = s->nodes;
    o->domains = s->domains;
    o->tiers = s->tiers;
    static const char *const su[] = {"none", "nvswitch", "torus"};
    o->scale_up = su[s->su_kind];
    o->fabric = !s->tiers ? "none" : s->fabric_kind == TOPO_FAB_RAIL ? "rail-optimized"
                                                                     : "fat-tree";
    o->nics = s->tiers ? s->nics : 0;
    o->nic_Bps = s->nic_Bps;
    o->nics_per_leaf = s->per_leaf;
    o->pods = s->pods;
    o->spines_per_pod = s->tiers >= 2 ? s->spines_per_pod : 0;
    o->cores_per_plane = s->tiers == 3 ? s->cores_per_plane : 0;
    o->trunk_Bps[0] = s->tiers >= 2 ? s->ls_Bps : 0;
    o->trunk_Bps[1] = s->tiers == 3 ? s->sc_Bps : 0;
    o->trunk_Bps[2] = s->gw_node >= 0 ? s->gw_Bps : 0;
    if (s->tiers >= 1)
        o->switches[0] = s->leaves;
    if (s->tiers >= 2)
        o->switches[1] = s->pods * s->spines_per_pod;
    if (s->tiers == 3)
        o->switches[2] = s->spines_per_pod * s->cores_per_plane;
    for (int k = 0; k < TOPO_MAX_TIERS; k++)
        o->oversub[k] = k + 1 < s->tiers ? s->oversub[k] : 1;
    o->bisection_Bps = site_bisection(s);
    o->scale_up_bisection_Bps = domain_bisection(s);
    o->peak_bf16_flops = (double)s->chips * s->chip.peak_bf16_flops;
    o->hbm_bytes = (double)s->chips * s->chip.hbm_bytes;
}

/* The least WAN capacity across a balanced split of the sites. */
static double wan_bisection(const topo *t)
{
    size_t n = t->n_sites;
    if (n < 2 || n > 20)
        return 0;
    double total = 0, best_gap = INFINITY, best = INFINITY;
    for (size_t i = 0; i < n; i++)
        total += (double)t->sites[i].chips;
    /* Site 0 stays on one side: each split is seen once. */
    for (uint32_t mask = 0; mask < (1u << (n - 1)); mask++) {
        uint32_t side = mask << 1; /* bit i set: site i on the far side */
        if (!side)
            continue;
        double chips = 0, cut = 0;
        for (size_t i = 0; i < n; i++)
            if (side >> i & 1)
                chips += (double)t->sites[i].chips;
        for (size_t k = 0; k < t->n_wans; k++)
            if ((side >> t->wans[k].a & 1) != (side >> t->wans[k].b & 1))
                cut += t->wans[k].bw_Bps;
        double gap = fabs(2 * chips - total);
        if (gap < best_gap || (gap == best_gap && cut < best)) {
            best_gap = gap;
            best = cut;
        }
    }
    return isinf(best) ? 0 : best;
}

static int hops_between(topo *t, int32_t a, int32_t b, net_usage *buf, size_t cap)
{
    topo_route_info info;
    sim_status st;
    topo_routing mode = t->routing;
    t->routing = TOPO_ROUTE_ECMP;
    sim_code rc = topo_route(t, a, b, 0, buf, cap, &info, &st);
    t->routing = mode;
    return rc == SIM_OK ? info.hops : -1;
}

static int diameter(topo *t)
{
    size_t cap = topo_route_max_uses(t);
    net_usage *buf = malloc(cap * sizeof *buf);
    int best = 0;
    if (!buf)
        return -1;
    if (!t->generated) {
        size_t n = t->n_chips;
        for (size_t a = 0; n <= 2000 && a < n; a++)
            for (size_t b = 0; b < n; b++) {
                int h = net_route_hops(t->router, (net_node_id)a, (net_node_id)b);
                if (h > best)
                    best = h;
            }
        free(buf);
        return n <= 2000 ? best : -1;
    }
    for (size_t i = 0; i < t->n_sites; i++) {
        const topo_site *s = &t->sites[i];
        for (size_t j = 0; j < t->n_sites; j++) {
            const topo_site *r = &t->sites[j];
            int h = hops_between(t, (int32_t)s->first_chip,
                                 (int32_t)(r->first_chip + r->chips - 1), buf, cap);
            if (h > best)
                best = h;
        }
        if (s->su_kind == TOPO_SU_TORUS) {
            size_t far = 0, stride = 1;
            for (int k = 0; k < s->nd; k++) {
                far += (size_t)(s->dims[k] / 2) * stride;
                stride *= (size_t)s->dims[k];
            }
            int h = hops_between(t, (int32_t)s->first_chip, (int32_t)(s->first_chip + far), buf,
                                 cap);
            if (h > best)
                best = h;
        }
    }
    free(buf);
    return best;
}

void topo_summarize(topo *t, topo_summary *o)
{
    memset(o, 0, sizeof *o);
    const net_graph *g = t->graph;
    o->chips = t->n_chips;
    o->links = net_graph_link_count(g);
    for (size_t l = 0; l < o->links; l++)
        o->links_per_kind[net_graph_link(g, (net_link_id)l)->kind]++;
    o->sites = t->generated ? t->n_sites : 1;
    o->wan_links = o->links_per_kind[NET_LINK_WAN];
    for (size_t i = 0; i < o->sites; i++) {
        topo_site_summary ss;
        topo_site_summarize(t, i, &ss);
        o->total_peak_bf16_flops += ss.peak_bf16_flops;
        o->total_hbm_bytes += ss.hbm_bytes;
        if (t->generated) {
            const topo_site *s = &t->sites[i];
            for (int k = 0; k < TOPO_MAX_TIERS; k++)
                o->switches += ss.switches[k];
            o->nvswitches += s->su_kind == TOPO_SU_NVSWITCH ? s->domains : 0;
            o->nics += s->tiers && s->shared_nics ? s->nics : 0;
            o->gateways += s->gw_node >= 0;
            if (o->sites == 1)
                o->bisection_Bps = s->tiers ? ss.bisection_Bps : ss.scale_up_bisection_Bps;
        }
    }
    if (t->generated) {
        o->switches += o->nvswitches + o->gateways;
        if (o->sites > 1)
            o->bisection_Bps = wan_bisection(t);
    } else {
        for (size_t n = 0; n < net_graph_node_count(g); n++)
            o->switches += net_graph_node_kind(g, (net_node_id)n) == NET_NODE_SWITCH;
    }
    o->diameter_hops = diameter(t);
}
