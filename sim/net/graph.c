/*
 * graph.c: nodes, directed links, name lookup and CSR adjacency.
 *
 * Invariants: node and link arrays are SIM_VEC vectors (doubling while building); names live
 * in an arena and are indexed by a sim_hmap from each name's hash (sim_hash_str) to its node
 * id, with several ids under one hash when names collide. After finalize,
 * out_off[n]..out_off[n+1] indexes out_ids: the out-links of n in creation order, which is
 * what makes routing deterministic.
 */
#include "net/graph.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/hash.h"
#include "core/hmap.h"
#include "core/vec.h"

typedef struct graph_node {
    const char *name;
    net_node_kind kind;
} graph_node;

struct net_graph {
    sim_arena *names;
    SIM_VEC(graph_node) nodes;
    size_t n_endpoints;
    SIM_VEC(net_link) links;
    sim_hmap by_name; /* sim_hash_str(name, 0) -> node id */
    size_t *out_off;
    net_link_id *out_ids;
    bool finalized;
};

sim_code net_graph_create(net_graph **out, sim_status *st)
{
    net_graph *g = calloc(1, sizeof *g);
    if (!g || !(g->names = sim_arena_create())) {
        free(g);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory creating a graph");
    }
    *out = g;
    return SIM_OK;
}

void net_graph_destroy(net_graph *g)
{
    if (!g)
        return;
    sim_arena_destroy(g->names);
    sim_vec_free(&g->nodes);
    sim_vec_free(&g->links);
    sim_hmap_free(&g->by_name);
    free(g->out_off);
    free(g->out_ids);
    free(g);
}

/* What net_graph_find looks for among the nodes whose names share a hash. */
typedef struct name_query {
    const net_graph *g;
    const char *name;
} name_query;

static int name_matches(const void *ctx, uint64_t id)
{
    const name_query *q = ctx;
    return strcmp(q->g->nodes.v[id].name, q->name) == 0;
}

net_node_id net_graph_find(const net_graph *g, const char *name)
{
    name_query q = {g, name};
    uint64_t id = sim_hmap_find_if(&g->by_name, sim_hash_str(name, 0), name_matches, &q);
    return id == SIM_HMAP_NONE ? -1 : (net_node_id)id;
}

sim_code net_graph_add_node(net_graph *g, const char *name, net_node_kind kind,
                            net_node_id *out, sim_status *st)
{
    if (g->finalized)
        return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0, "graph already finalized");
    if (net_graph_find(g, name) >= 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "duplicate node name '%s'", name);
    if (g->nodes.n >= INT32_MAX)
        return sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0, "too many nodes");
    /* Room in the vector first, so that once the name is indexed the push cannot fail. */
    const char *copy = NULL;
    if (sim_vec_reserve(&g->nodes, g->nodes.n + 1) != 0 ||
        !(copy = sim_arena_strdup(g->names, name)) ||
        sim_hmap_add(&g->by_name, sim_hash_str(copy, 0), g->nodes.n) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory adding a node");
    net_node_id id = (net_node_id)g->nodes.n;
    g->nodes.v[g->nodes.n++] = (graph_node){.name = copy, .kind = kind};
    if (kind == NET_NODE_ENDPOINT)
        g->n_endpoints++;
    if (out)
        *out = id;
    return SIM_OK;
}

sim_code net_graph_add_link(net_graph *g, net_node_id src, net_node_id dst, double bw_Bps,
                            int64_t lat_ps, net_link_kind kind, net_link_id *out,
                            sim_status *st)
{
    if (g->finalized)
        return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0, "graph already finalized");
    if (src < 0 || dst < 0 || (size_t)src >= g->nodes.n || (size_t)dst >= g->nodes.n)
        return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0, "link to a node that is not there");
    if (!(bw_Bps > 0) || bw_Bps > 1e300)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "expected a bandwidth > 0, found %g B/s", bw_Bps);
    if (lat_ps < 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "expected a latency >= 0, found %lld ps", (long long)lat_ps);
    if (g->links.n >= INT32_MAX)
        return sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0, "too many links");
    net_link_id id = (net_link_id)g->links.n;
    net_link l = {.src = src, .dst = dst, .bw_Bps = bw_Bps, .lat_ps = lat_ps, .kind = kind};
    if (sim_vec_push(&g->links, l) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory adding a link");
    if (out)
        *out = id;
    return SIM_OK;
}

sim_code net_graph_add_cable(net_graph *g, net_node_id a, net_node_id b, double bw_Bps,
                             int64_t lat_ps, net_link_kind kind, net_link_id *out_ab,
                             sim_status *st)
{
    sim_code rc = net_graph_add_link(g, a, b, bw_Bps, lat_ps, kind, out_ab, st);
    if (rc == SIM_OK)
        rc = net_graph_add_link(g, b, a, bw_Bps, lat_ps, kind, NULL, st);
    return rc;
}

sim_code net_graph_finalize(net_graph *g, sim_status *st)
{
    if (g->finalized)
        return SIM_OK;
    free(g->out_off);
    free(g->out_ids);
    g->out_off = calloc(g->nodes.n + 1, sizeof *g->out_off);
    g->out_ids = malloc((g->links.n ? g->links.n : 1) * sizeof *g->out_ids);
    if (!g->out_off || !g->out_ids)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory finalizing a graph");
    for (size_t l = 0; l < g->links.n; l++)
        g->out_off[g->links.v[l].src + 1]++;
    for (size_t n = 0; n < g->nodes.n; n++)
        g->out_off[n + 1] += g->out_off[n];
    size_t *fill = malloc((g->nodes.n + 1) * sizeof *fill);
    if (!fill)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory finalizing a graph");
    memcpy(fill, g->out_off, (g->nodes.n + 1) * sizeof *fill);
    for (size_t l = 0; l < g->links.n; l++)
        g->out_ids[fill[g->links.v[l].src]++] = (net_link_id)l;
    free(fill);
    g->finalized = true;
    return SIM_OK;
}

size_t net_graph_node_count(const net_graph *g) { return g->nodes.n; }
size_t net_graph_link_count(const net_graph *g) { return g->links.n; }
size_t net_graph_endpoint_count(const net_graph *g) { return g->n_endpoints; }
const char *net_graph_node_name(const net_graph *g, net_node_id n) { return g->nodes.v[n].name; }
net_node_kind net_graph_node_kind(const net_graph *g, net_node_id n) { return g->nodes.v[n].kind; }
const net_link *net_graph_link(const net_graph *g, net_link_id l) { return &g->links.v[l]; }

const net_link_id *net_graph_out_links(const net_graph *g, net_node_id n, size_t *count)
{
    *count = g->out_off[n + 1] - g->out_off[n];
    return g->out_ids + g->out_off[n];
}

const char *net_link_kind_str(net_link_kind kind)
{
    static const char *const names[NET_LINK_KIND_COUNT] = {
        "generic", "nvlink", "nic", "leaf-spine", "spine-core", "ici", "wan", "gateway", "pcie"};
    return (unsigned)kind < NET_LINK_KIND_COUNT ? names[kind] : "unknown";
}

void net_graph_set_link_bw(net_graph *g, net_link_id l, double bw_Bps)
{
    assert(l >= 0 && (size_t)l < g->links.n && bw_Bps > 0);
    g->links.v[l].bw_Bps = bw_Bps;
}

void net_graph_scale_links(net_graph *g, const double bw_k[NET_LINK_KIND_COUNT], double lat_k)
{
    for (size_t l = 0; l < g->links.n; l++) {
        net_link *k = &g->links.v[l];
        k->bw_Bps *= bw_k[k->kind];
        k->lat_ps = (int64_t)llround((double)k->lat_ps * lat_k);
    }
}
