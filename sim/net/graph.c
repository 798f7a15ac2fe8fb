/*
 * graph.c: nodes, directed links, name lookup and CSR adjacency.
 *
 * Invariants: node and link arrays grow by doubling while building; names live in an arena
 * and are indexed by an open-addressing hash table (power-of-two size, load <= 1/2, linear
 * probing, FNV-1a). After finalize, out_off[n]..out_off[n+1] indexes out_ids: the out-links
 * of n in creation order, which is what makes routing deterministic.
 */
#include "net/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/hash.h"

typedef struct graph_node {
    const char *name;
    net_node_kind kind;
} graph_node;

struct net_graph {
    sim_arena *names;
    graph_node *nodes;
    size_t n_nodes, cap_nodes, n_endpoints;
    net_link *links;
    size_t n_links, cap_links;
    int32_t *hash; /* node id or -1 */
    size_t hash_cap;
    size_t *out_off;
    net_link_id *out_ids;
    int finalized;
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
    free(g->nodes);
    free(g->links);
    free(g->hash);
    free(g->out_off);
    free(g->out_ids);
    free(g);
}

static int hash_grow(net_graph *g)
{
    size_t cap = g->hash_cap ? g->hash_cap * 2 : 64;
    int32_t *h = malloc(cap * sizeof *h);
    if (!h)
        return -1;
    for (size_t i = 0; i < cap; i++)
        h[i] = -1;
    for (size_t n = 0; n < g->n_nodes; n++) {
        size_t i = (size_t)sim_hash_str(g->nodes[n].name, 0) & (cap - 1);
        while (h[i] >= 0)
            i = (i + 1) & (cap - 1);
        h[i] = (int32_t)n;
    }
    free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    return 0;
}

net_node_id net_graph_find(const net_graph *g, const char *name)
{
    if (!g->hash_cap)
        return -1;
    size_t i = (size_t)sim_hash_str(name, 0) & (g->hash_cap - 1);
    while (g->hash[i] >= 0) {
        if (strcmp(g->nodes[g->hash[i]].name, name) == 0)
            return g->hash[i];
        i = (i + 1) & (g->hash_cap - 1);
    }
    return -1;
}

sim_code net_graph_add_node(net_graph *g, const char *name, net_node_kind kind,
                            net_node_id *out, sim_status *st)
{
    if (g->finalized)
        return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0, "graph already finalized");
    if (net_graph_find(g, name) >= 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "duplicate node name '%s'", name);
    if (g->n_nodes >= INT32_MAX)
        return sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0, "too many nodes");
    if (g->n_nodes == g->cap_nodes) {
        size_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        graph_node *p = realloc(g->nodes, cap * sizeof *p);
        if (!p)
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory adding a node");
        g->nodes = p;
        g->cap_nodes = cap;
    }
    if ((g->n_nodes + 1) * 2 > g->hash_cap && hash_grow(g) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory adding a node");
    const char *copy = sim_arena_strdup(g->names, name);
    if (!copy)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory adding a node");
    net_node_id id = (net_node_id)g->n_nodes++;
    g->nodes[id].name = copy;
    g->nodes[id].kind = kind;
    if (kind == NET_NODE_ENDPOINT)
        g->n_endpoints++;
    size_t i = (size_t)sim_hash_str(copy, 0) & (g->hash_cap - 1);
    while (g->hash[i] >= 0)
        i = (i + 1) & (g->hash_cap - 1);
    g->hash[i] = id;
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
    if (src < 0 || dst < 0 || (size_t)src >= g->n_nodes || (size_t)dst >= g->n_nodes)
        return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0, "link to a node that is not there");
    if (!(bw_Bps > 0) || bw_Bps > 1e300)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "expected a bandwidth > 0, found %g B/s", bw_Bps);
    if (lat_ps < 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "expected a latency >= 0, found %lld ps", (long long)lat_ps);
    if (g->n_links >= INT32_MAX)
        return sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0, "too many links");
    if (g->n_links == g->cap_links) {
        size_t cap = g->cap_links ? g->cap_links * 2 : 128;
        net_link *p = realloc(g->links, cap * sizeof *p);
        if (!p)
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory adding a link");
        g->links = p;
        g->cap_links = cap;
    }
    net_link_id id = (net_link_id)g->n_links++;
    g->links[id] = (net_link){.src = src, .dst = dst, .bw_Bps = bw_Bps, .lat_ps = lat_ps,
                              .kind = kind};
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
    g->out_off = calloc(g->n_nodes + 1, sizeof *g->out_off);
    g->out_ids = malloc((g->n_links ? g->n_links : 1) * sizeof *g->out_ids);
    if (!g->out_off || !g->out_ids)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory finalizing a graph");
    for (size_t l = 0; l < g->n_links; l++)
        g->out_off[g->links[l].src + 1]++;
    for (size_t n = 0; n < g->n_nodes; n++)
        g->out_off[n + 1] += g->out_off[n];
    size_t *fill = malloc((g->n_nodes + 1) * sizeof *fill);
    if (!fill)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory finalizing a graph");
    memcpy(fill, g->out_off, (g->n_nodes + 1) * sizeof *fill);
    for (size_t l = 0; l < g->n_links; l++)
        g->out_ids[fill[g->links[l].src]++] = (net_link_id)l;
    free(fill);
    g->finalized = 1;
    return SIM_OK;
}

size_t net_graph_node_count(const net_graph *g) { return g->n_nodes; }
size_t net_graph_link_count(const net_graph *g) { return g->n_links; }
size_t net_graph_endpoint_count(const net_graph *g) { return g->n_endpoints; }
const char *net_graph_node_name(const net_graph *g, net_node_id n) { return g->nodes[n].name; }
net_node_kind net_graph_node_kind(const net_graph *g, net_node_id n) { return g->nodes[n].kind; }
const net_link *net_graph_link(const net_graph *g, net_link_id l) { return &g->links[l]; }

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

void net_graph_scale_links(net_graph *g, const double bw_k[NET_LINK_KIND_COUNT], double lat_k)
{
    for (size_t l = 0; l < g->n_links; l++) {
        net_link *k = &g->links[l];
        k->bw_Bps *= bw_k[k->kind];
        k->lat_ps = (int64_t)llround((double)k->lat_ps * lat_k);
    }
}
