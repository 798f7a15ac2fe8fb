/*
 * route.c: BFS hop distances per destination, cached, and hashed ECMP path walks.
 *
 * Cache: slot[dst] points at an int32 array of n_nodes hop counts (-1 = unreachable) or is
 * NULL. Filled arrays are also kept in a FIFO ring; when the ring is full the oldest array
 * is freed and its slot cleared. The in-link CSR (in_off/in_ids) is built once.
 */
#include "net/route.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

struct net_router {
    const net_graph *g;
    size_t n_nodes;
    size_t *in_off;
    net_link_id *in_ids;
    int32_t **slot;
    net_node_id *ring;
    size_t ring_cap, ring_head, ring_len;
    int32_t *queue;
    double *frac; /* spraying: share of the transfer reaching each node (0 = not reached) */
};

sim_code net_router_create(const net_graph *g, size_t cache_bytes, net_router **out,
                           sim_status *st)
{
    size_t nn = net_graph_node_count(g), nl = net_graph_link_count(g);
    size_t *fill = NULL;
    net_router *r = calloc(1, sizeof *r);
    if (!r)
        goto nomem;
    r->g = g;
    r->n_nodes = nn;
    r->in_off = calloc(nn + 1, sizeof *r->in_off);
    r->in_ids = malloc((nl ? nl : 1) * sizeof *r->in_ids);
    r->slot = calloc(nn ? nn : 1, sizeof *r->slot);
    r->queue = malloc((nn ? nn : 1) * sizeof *r->queue);
    r->frac = calloc(nn ? nn : 1, sizeof *r->frac);
    fill = malloc((nn + 1) * sizeof *fill);
    if (!r->in_off || !r->in_ids || !r->slot || !r->queue || !r->frac || !fill)
        goto nomem;
    for (size_t l = 0; l < nl; l++)
        r->in_off[net_graph_link(g, (net_link_id)l)->dst + 1]++;
    for (size_t n = 0; n < nn; n++)
        r->in_off[n + 1] += r->in_off[n];
    memcpy(fill, r->in_off, (nn + 1) * sizeof *fill);
    for (size_t l = 0; l < nl; l++)
        r->in_ids[fill[net_graph_link(g, (net_link_id)l)->dst]++] = (net_link_id)l;
    free(fill);
    fill = NULL;
    if (!cache_bytes)
        cache_bytes = (size_t)256 << 20;
    r->ring_cap = cache_bytes / ((nn ? nn : 1) * sizeof(int32_t));
    if (r->ring_cap < 1)
        r->ring_cap = 1;
    if (r->ring_cap > nn)
        r->ring_cap = nn ? nn : 1;
    r->ring = malloc(r->ring_cap * sizeof *r->ring);
    if (!r->ring)
        goto nomem;
    *out = r;
    return SIM_OK;
nomem:
    free(fill);
    net_router_destroy(r);
    return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory creating the router");
}

void net_router_destroy(net_router *r)
{
    if (!r)
        return;
    if (r->slot)
        for (size_t i = 0; i < r->n_nodes; i++)
            free(r->slot[i]);
    free(r->slot);
    free(r->in_off);
    free(r->in_ids);
    free(r->ring);
    free(r->queue);
    free(r->frac);
    free(r);
}

/* Hop distances from every node to dst, cached; NULL on NOMEM. */
static const int32_t *dist_to(net_router *r, net_node_id dst)
{
    if (r->slot[dst])
        return r->slot[dst];
    int32_t *d = malloc(r->n_nodes * sizeof *d);
    if (!d)
        return NULL;
    for (size_t i = 0; i < r->n_nodes; i++)
        d[i] = -1;
    size_t qh = 0, qt = 0;
    d[dst] = 0;
    r->queue[qt++] = dst;
    while (qh < qt) {
        int32_t v = r->queue[qh++];
        for (size_t k = r->in_off[v]; k < r->in_off[v + 1]; k++) {
            net_node_id u = net_graph_link(r->g, r->in_ids[k])->src;
            if (d[u] < 0) {
                d[u] = d[v] + 1;
                r->queue[qt++] = u;
            }
        }
    }
    if (r->ring_len == r->ring_cap) {
        net_node_id old = r->ring[r->ring_head];
        free(r->slot[old]);
        r->slot[old] = NULL;
        r->ring_head = (r->ring_head + 1) % r->ring_cap;
        r->ring_len--;
    }
    r->ring[(r->ring_head + r->ring_len++) % r->ring_cap] = dst;
    r->slot[dst] = d;
    return d;
}

int32_t net_route_hops(net_router *r, net_node_id src, net_node_id dst)
{
    const int32_t *d = dist_to(r, dst);
    return d ? d[src] : -1;
}

sim_code net_route_path(net_router *r, net_node_id src, net_node_id dst, uint64_t flow_hash,
                        net_link_id *path, size_t cap, size_t *len, sim_status *st)
{
    const int32_t *d = dist_to(r, dst);
    if (!d)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory routing");
    if (d[src] < 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "no path from '%s' to '%s'",
                              net_graph_node_name(r->g, src), net_graph_node_name(r->g, dst));
    if ((size_t)d[src] > cap)
        return sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0,
                              "path of %d hops exceeds the buffer of %zu", d[src], cap);
    size_t n = 0;
    net_node_id u = src;
    while (u != dst) {
        size_t cnt;
        const net_link_id *out = net_graph_out_links(r->g, u, &cnt);
        int32_t want = d[u] - 1;
        size_t k = 0;
        for (size_t i = 0; i < cnt; i++)
            if (d[net_graph_link(r->g, out[i])->dst] == want)
                k++;
        size_t pick = 0;
        if (k > 1) {
            uint64_t h = sim_hash_mix(flow_hash ^ ((uint64_t)(uint32_t)u * 0x9e3779b97f4a7c15ull));
            pick = (size_t)(h % k);
        }
        for (size_t i = 0; i < cnt; i++) {
            if (d[net_graph_link(r->g, out[i])->dst] != want)
                continue;
            if (pick-- == 0) {
                path[n++] = out[i];
                u = net_graph_link(r->g, out[i])->dst;
                break;
            }
        }
    }
    *len = n;
    return SIM_OK;
}

sim_code net_route_spray(net_router *r, net_node_id src, net_node_id dst, net_link_id *links,
                         double *weights, size_t cap, size_t *len, sim_status *st)
{
    const int32_t *d = dist_to(r, dst);
    if (!d)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory routing");
    if (d[src] < 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "no path from '%s' to '%s'",
                              net_graph_node_name(r->g, src), net_graph_node_name(r->g, dst));
    /* Level by level from src: every node of a level is d[src] - level hops from dst, so
     * each equal-cost next hop lies in the next level. queue holds the current level's
     * nodes, then the next one's, in order of first reach: deterministic. */
    size_t n = 0, head = 0, tail = 0;
    sim_code rc = SIM_OK;
    r->queue[tail++] = src;
    r->frac[src] = 1;
    while (head < tail) {
        net_node_id u = r->queue[head++];
        double f = r->frac[u];
        r->frac[u] = 0;
        if (u == dst)
            continue;
        size_t cnt, k = 0;
        const net_link_id *out = net_graph_out_links(r->g, u, &cnt);
        for (size_t i = 0; i < cnt; i++)
            if (d[net_graph_link(r->g, out[i])->dst] == d[u] - 1)
                k++;
        for (size_t i = 0; i < cnt; i++) {
            net_node_id v = net_graph_link(r->g, out[i])->dst;
            if (d[v] != d[u] - 1)
                continue;
            if (n < cap) {
                links[n] = out[i];
                weights[n] = f / (double)k;
            }
            n++;
            if (r->frac[v] == 0)
                r->queue[tail++] = v;
            r->frac[v] += f / (double)k;
        }
    }
    if (n > cap)
        rc = sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0,
                            "spraying over %zu links exceeds the buffer of %zu", n, cap);
    *len = n < cap ? n : cap;
    return rc;
}

int64_t net_path_latency_ps(const net_graph *g, const net_link_id *path, size_t len)
{
    int64_t lat = 0;
    for (size_t i = 0; i < len; i++)
        lat += net_graph_link(g, path[i])->lat_ps;
    return lat;
}
