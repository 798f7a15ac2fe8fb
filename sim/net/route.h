/*
 * route.h: shortest-path routing with ECMP on an explicit graph.
 *
 * Paths are shortest in hops. At each hop, the equal-cost next hops (out-links whose far
 * end is one hop closer to the destination, in out-link creation order) are chosen by a
 * deterministic hash of the flow mixed with the current node, as switches hash a flow's
 * 5-tuple with a per-switch seed: a flow keeps one path, different flows spread, and two
 * flows can collide on one link exactly as real ECMP does.
 *
 * Flow hashes come from core/hash.h. Hop distances to a destination come from a breadth-
 * first search over in-links, computed on first use and cached (up to a memory budget; beyond it the oldest are recomputed when
 * needed again). The router borrows the graph, which must be finalized and outlive it.
 */
#ifndef SIM_NET_ROUTE_H
#define SIM_NET_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "net/graph.h"

typedef struct net_router net_router;

/* Router over g; cache_bytes bounds the distance cache (0 = 256 MiB). *out owned by caller. */
sim_code net_router_create(const net_graph *g, size_t cache_bytes, net_router **out,
                           sim_status *st);
void net_router_destroy(net_router *r); /* accepts NULL */

/*
 * Writes the links of the path src -> dst chosen for flow_hash into path[0..*len) (at most
 * cap entries; the hop diameter of any graph is < node count). src == dst gives an empty
 * path. Errors: SIM_ERR_INPUT "no path from 'a' to 'b'" when dst is unreachable;
 * SIM_ERR_LIMIT when cap is too small; SIM_ERR_NOMEM.
 */
sim_code net_route_path(net_router *r, net_node_id src, net_node_id dst, uint64_t flow_hash,
                        net_link_id *path, size_t cap, size_t *len, sim_status *st);

/*
 * Spraying: the transfer src -> dst split over every shortest path, each node dividing what
 * reaches it evenly among its equal-cost next hops. Writes each used link once with the
 * share of the transfer it carries into links/weights[0..*len) (at most cap; the link count
 * of the graph is always enough); the shares leaving src, or crossing any cut between src
 * and dst, sum to 1. Errors as net_route_path.
 */
sim_code net_route_spray(net_router *r, net_node_id src, net_node_id dst, net_link_id *links,
                         double *weights, size_t cap, size_t *len, sim_status *st);

/* Hop count src -> dst, or -1 when unreachable (or on NOMEM). */
int32_t net_route_hops(net_router *r, net_node_id src, net_node_id dst);

/* Sum of the link latencies of a path. */
int64_t net_path_latency_ps(const net_graph *g, const net_link_id *path, size_t len);

#endif
