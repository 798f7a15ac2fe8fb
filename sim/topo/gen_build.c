/*
 * gen_build.c: pass 3 of gen.c: the size estimate, checked against the memory limit before
 * anything is allocated, then the graph itself. Nodes and links are added in the fixed
 * order and blocks that topo_int.h describes (chips first, so chip ids are node ids), which
 * is what lets routing compute any link id without tables.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/units.h"
#include "topo/gen_int.h"

/* Estimated bytes per graph node and per directed link (graph arrays, name, hash slot,
 * adjacency, and the network model's per-link state at run time). */
#define EST_NODE_BYTES 96.0
#define EST_LINK_BYTES 160.0

typedef struct counts {
    double nodes, links;
} counts;

static counts count_site(const topo_site *s, int gateway)
{
    counts c = {(double)s->chips, 0};
    if (s->su_kind == TOPO_SU_NVSWITCH) {
        c.nodes += (double)s->domains;
        c.links += 2.0 * (double)s->chips;
    } else if (s->su_kind == TOPO_SU_TORUS) {
        for (int k = 0; k < s->nd; k++)
            if (s->dims[k] > 1)
                c.links += 2.0 * (double)s->chips *
                           (s->wrap ? 1.0 : (double)(s->dims[k] - 1) / s->dims[k]);
    }
    if (s->tiers) {
        if (s->shared_nics) {
            c.nodes += (double)s->nics;
            c.links += 2.0 * (double)s->chips;
        }
        c.links += 2.0 * (double)s->nics;
        c.nodes += (double)s->leaves;
        if (s->tiers >= 2) {
            c.nodes += (double)(s->pods * s->spines_per_pod);
            c.links += 2.0 * (double)s->leaves * (double)s->spines_per_pod;
        }
        if (s->tiers == 3) {
            c.nodes += (double)(s->spines_per_pod * s->cores_per_plane);
            c.links += 2.0 * (double)(s->pods * s->spines_per_pod) * (double)s->cores_per_plane;
        }
        if (gateway) {
            c.nodes += 1;
            c.links += 2.0 * (double)s->n_top;
        }
    }
    return c;
}

sim_code topo_gen_check_size(topo_gen *G, sim_status *st)
{
    topo *t = G->t;
    counts all = {0, 2.0 * (double)t->n_wans};
    size_t big = 0;
    double big_nodes = -1;
    for (size_t i = 0; i < t->n_sites; i++) {
        counts c = count_site(&t->sites[i], t->n_sites > 1);
        all.nodes += c.nodes;
        all.links += c.links;
        if (c.nodes > big_nodes) {
            big_nodes = c.nodes;
            big = i;
        }
    }
    double limit = G->opts && G->opts->mem_limit_bytes > 0 ? G->opts->mem_limit_bytes : 0;
    if (limit <= 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        limit = pages > 0 && psize > 0 ? (double)pages * (double)psize : 16e9;
    }
    double need = all.nodes * EST_NODE_BYTES + all.links * EST_LINK_BYTES;
    ynode at = G->src[big].chips;
    char a[32], b[32];
    if (all.nodes >= INT32_MAX || all.links >= INT32_MAX || need > limit)
        return sim_status_set(st, SIM_ERR_LIMIT, G->path, ydoc_line(G->d, at), ydoc_col(G->d, at),
                              "key 'chips': this topology needs about %.1f GiB for its graph "
                              "(%s nodes, %s links), more than the %.1f GiB available",
                              need / 1073741824.0, sim_units_fmt_count(all.nodes, a, sizeof a),
                              sim_units_fmt_count(all.links, b, sizeof b), limit / 1073741824.0);
    return SIM_OK;
}

static sim_code add_node(topo_gen *G, net_node_kind kind, net_node_id *id, sim_status *st,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static sim_code add_node(topo_gen *G, net_node_kind kind, net_node_id *id, sim_status *st,
                         const char *fmt, ...)
{
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return net_graph_add_node(G->t->graph, name, kind, id, st);
}

static sim_code cable(topo_gen *G, net_node_id a, net_node_id b, double bw, int64_t lat,
                      net_link_kind kind, net_link_id *first, sim_status *st)
{
    net_link_id id;
    sim_code rc = net_graph_add_cable(G->t->graph, a, b, bw, lat, kind, &id, st);
    if (rc == SIM_OK && first && *first < 0)
        *first = id;
    return rc;
}

/* Leaf of NIC g of a site (formulas in gen_fabric.c's comment). */
static size_t leaf_of_nic(const topo_site *s, size_t g)
{
    if (s->fabric_kind != TOPO_FAB_RAIL)
        return g / s->per_leaf;
    size_t node = g / s->nics_per_node, rail = g % s->nics_per_node;
    return node / s->per_leaf * s->nics_per_node + rail;
}

static sim_code build_site_nodes(topo_gen *G, size_t si, sim_status *st)
{
    topo_site *s = &G->t->sites[si];
    sim_code rc = SIM_OK;
    net_node_id id;
    s->node_begin = (net_node_id)net_graph_node_count(G->t->graph);
    s->nvsw_node = s->nic_node = s->leaf_node = s->spine_node = s->core_node = -1;
    for (size_t k = 0; k < s->domains && s->su_kind == TOPO_SU_NVSWITCH && rc == SIM_OK; k++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/nvs%zu", s->name, k);
        if (k == 0)
            s->nvsw_node = id;
    }
    for (size_t g = 0; s->tiers && s->shared_nics && g < s->nics && rc == SIM_OK; g++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/n%zu/nic%zu", s->name,
                      g / s->nics_per_node, g % s->nics_per_node);
        if (g == 0)
            s->nic_node = id;
    }
    for (size_t l = 0; l < s->leaves && rc == SIM_OK; l++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/leaf%zu", s->name, l);
        if (l == 0)
            s->leaf_node = id;
    }
    for (size_t k = 0; s->tiers >= 2 && k < s->pods * s->spines_per_pod && rc == SIM_OK; k++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/pod%zu/spine%zu", s->name,
                      k / s->spines_per_pod, k % s->spines_per_pod);
        if (k == 0)
            s->spine_node = id;
    }
    for (size_t k = 0; s->tiers == 3 && k < s->spines_per_pod * s->cores_per_plane && rc == SIM_OK;
         k++) {
        rc = add_node(G, NET_NODE_SWITCH, &id, st, "%s/plane%zu/core%zu", s->name,
                      k / s->cores_per_plane, k % s->cores_per_plane);
        if (k == 0)
            s->core_node = id;
    }
    if (rc == SIM_OK && s->tiers && G->t->n_sites > 1)
        rc = add_node(G, NET_NODE_SWITCH, &s->gw_node, st, "%s/gw", s->name);
    s->node_end = (net_node_id)net_graph_node_count(G->t->graph);
    return rc;
}

static sim_code build_torus(topo_gen *G, topo_site *s, sim_status *st)
{
    size_t nd = (size_t)s->nd;
    s->torus_cable = malloc(s->chips * nd * sizeof *s->torus_cable);
    if (!s->torus_cable)
        return topo_gen_nomem(G, st);
    sim_code rc = SIM_OK;
    for (size_t i = 0; i < s->chips && rc == SIM_OK; i++) {
        size_t base = i - i % s->domain_size, idx = i % s->domain_size, stride = 1;
        for (size_t k = 0; k < nd && rc == SIM_OK; k++) {
            size_t dk = (size_t)s->dims[k], x = idx / stride % dk;
            net_link_id *slot = &s->torus_cable[i * nd + k];
            *slot = -1;
            if (dk > 1 && (s->wrap || x + 1 < dk)) {
                size_t nx = (x + 1) % dk;
                size_t j = base + idx - x * stride + nx * stride;
                rc = cable(G, (net_node_id)(s->first_chip + i), (net_node_id)(s->first_chip + j),
                           s->su_Bps, s->su_lat_ps, NET_LINK_ICI, slot, st);
            }
            stride *= dk;
        }
    }
    return rc;
}

static sim_code build_site_links(topo_gen *G, topo_site *s, double gw_Bps, int64_t gw_lat,
                                 sim_status *st)
{
    sim_code rc = SIM_OK;
    net_node_id chip0 = (net_node_id)s->first_chip;
    s->su_base = s->pcie_base = s->nic_base = s->ls_base = s->sc_base = s->gw_base = -1;
    if (s->su_kind == TOPO_SU_NVSWITCH)
        for (size_t i = 0; i < s->chips && rc == SIM_OK; i++)
            rc = cable(G, chip0 + (net_node_id)i,
                       s->nvsw_node + (net_node_id)(i / s->domain_size), s->su_Bps,
                       s->su_lat_ps, NET_LINK_NVLINK, &s->su_base, st);
    if (rc == SIM_OK && s->su_kind == TOPO_SU_TORUS)
        rc = build_torus(G, s, st);
    if (!s->tiers || rc != SIM_OK)
        return rc;
    /* Hop latencies: the cable plus, when it leaves a switch, the switch's traversal. */
    int64_t up = s->link_lat_ps, sw = s->link_lat_ps + s->switch_lat_ps;
    /* each chip's NIC (its own, or its share of the node's) and that NIC's leaf, which
     * routing reads from the table instead of dividing again */
    s->chip_leaf = malloc((s->chips ? s->chips : 1) * sizeof *s->chip_leaf);
    if (!s->chip_leaf)
        return topo_gen_nomem(G, st);
    size_t share = s->shared_nics ? s->chips_per_node / s->nics_per_node : 1;
    for (size_t i = 0; i < s->chips && rc == SIM_OK; i++) {
        size_t g = s->shared_nics ? i / s->chips_per_node * s->nics_per_node +
                                        i % s->chips_per_node / share
                                  : i;
        s->chip_leaf[i] = (uint32_t)leaf_of_nic(s, g);
        if (s->shared_nics)
            rc = cable(G, chip0 + (net_node_id)i, s->nic_node + (net_node_id)g, s->pcie_Bps, 0,
                       NET_LINK_PCIE, &s->pcie_base, st);
    }
    for (size_t g = 0; g < s->nics && rc == SIM_OK; g++) {
        net_node_id from = s->shared_nics ? s->nic_node + (net_node_id)g : chip0 + (net_node_id)g;
        net_link_id id;
        rc = net_graph_add_link(G->t->graph, from,
                                s->leaf_node + (net_node_id)leaf_of_nic(s, g), s->nic_Bps, up,
                                NET_LINK_NIC, &id, st);
        if (rc == SIM_OK)
            rc = net_graph_add_link(G->t->graph, s->leaf_node + (net_node_id)leaf_of_nic(s, g),
                                    from, s->nic_Bps, sw, NET_LINK_NIC, NULL, st);
        if (g == 0)
            s->nic_base = id;
    }
    size_t S = s->spines_per_pod, C = s->cores_per_plane;
    for (size_t l = 0; s->tiers >= 2 && l < s->leaves && rc == SIM_OK; l++)
        for (size_t j = 0; j < S && rc == SIM_OK; j++)
            rc = cable(G, s->leaf_node + (net_node_id)l,
                       s->spine_node + (net_node_id)(l / s->leaves_per_pod * S + j), s->ls_Bps, sw,
                       NET_LINK_LEAF_SPINE, &s->ls_base, st);
    for (size_t k = 0; s->tiers == 3 && k < s->pods * S && rc == SIM_OK; k++)
        for (size_t c = 0; c < C && rc == SIM_OK; c++)
            rc = cable(G, s->spine_node + (net_node_id)k,
                       s->core_node + (net_node_id)(k % S * C + c), s->sc_Bps, sw,
                       NET_LINK_SPINE_CORE, &s->sc_base, st);
    if (s->gw_node >= 0) {
        net_node_id top = s->tiers == 3 ? s->core_node : s->tiers == 2 ? s->spine_node
                                                                      : s->leaf_node;
        s->gw_Bps = gw_Bps / (double)s->n_top;
        /* Up: the cable and the top switch's traversal; down: the cable and the gateway's. */
        for (size_t k = 0; k < s->n_top && rc == SIM_OK; k++) {
            net_link_id id;
            rc = net_graph_add_link(G->t->graph, top + (net_node_id)k, s->gw_node, s->gw_Bps,
                                    sw, NET_LINK_GATEWAY, &id, st);
            if (rc == SIM_OK)
                rc = net_graph_add_link(G->t->graph, s->gw_node, top + (net_node_id)k,
                                        s->gw_Bps, s->link_lat_ps + gw_lat, NET_LINK_GATEWAY,
                                        NULL, st);
            if (k == 0)
                s->gw_base = id;
        }
    }
    return rc;
}

sim_code topo_gen_build(topo_gen *G, sim_status *st)
{
    topo *t = G->t;
    sim_code rc = SIM_OK;
    /* Chips first, so that chip ids are node ids. */
    for (size_t si = 0; si < t->n_sites && rc == SIM_OK; si++) {
        const topo_site *s = &t->sites[si];
        for (size_t i = 0; i < s->chips && rc == SIM_OK; i++) {
            net_node_id id;
            rc = add_node(G, NET_NODE_ENDPOINT, &id, st, "%s/n%zu/c%zu", s->name,
                          i / s->chips_per_node, i % s->chips_per_node);
        }
    }
    for (size_t si = 0; si < t->n_sites && rc == SIM_OK; si++)
        rc = build_site_nodes(G, si, st);
    for (size_t si = 0; si < t->n_sites && rc == SIM_OK; si++) {
        topo_site *s = &t->sites[si];
        double gw = G->src[si].gw_Bps;
        if (gw <= 0) /* default: the site's WAN bandwidth */
            for (size_t k = 0; k < t->n_wans; k++)
                if (t->wans[k].a == si || t->wans[k].b == si)
                    gw += t->wans[k].nominal_Bps;
        rc = build_site_links(G, s, gw > 0 ? gw : 1, G->src[si].gw_lat_ps, st);
    }
    /* A WAN link carries its own latency and the traversal of the gateway it leaves. */
    for (size_t k = 0; k < t->n_wans && rc == SIM_OK; k++) {
        topo_wan *w = &t->wans[k];
        net_node_id ga = t->sites[w->a].gw_node, gb = t->sites[w->b].gw_node;
        rc = net_graph_add_link(G->t->graph, ga, gb, w->bw_Bps, w->lat_ps + G->src[w->a].gw_lat_ps,
                                NET_LINK_WAN, &w->link, st);
        if (rc == SIM_OK)
            rc = net_graph_add_link(G->t->graph, gb, ga, w->bw_Bps,
                                    w->lat_ps + G->src[w->b].gw_lat_ps, NET_LINK_WAN, NULL, st);
    }
    return rc;
}
