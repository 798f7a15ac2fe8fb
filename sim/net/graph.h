/*
 * graph.h: the network as a directed graph of nodes (endpoints and switches) and links.
 *
 * A full-duplex cable is two directed links, added by net_graph_add_cable. Ids are dense
 * integers from 0 in creation order; they become database row ids. Building is two-phase:
 * add nodes and links, then net_graph_finalize builds the out-link adjacency (CSR) that
 * routing reads; after finalize the graph is read-only. Names are copied into the graph.
 */
#ifndef SIM_NET_GRAPH_H
#define SIM_NET_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef int32_t net_node_id;
typedef int32_t net_link_id;

typedef enum net_node_kind { NET_NODE_ENDPOINT = 0, NET_NODE_SWITCH = 1 } net_node_kind;

typedef enum net_link_kind {
    NET_LINK_GENERIC = 0,
    NET_LINK_NVLINK,
    NET_LINK_NIC,
    NET_LINK_LEAF_SPINE,
    NET_LINK_SPINE_CORE,
    NET_LINK_ICI,
    NET_LINK_WAN,
    NET_LINK_GATEWAY, /* a site's top-tier switches to its WAN gateway */
    NET_LINK_PCIE,    /* a chip to a NIC it shares with other chips */
    NET_LINK_KIND_COUNT
} net_link_kind;

typedef struct net_link {
    net_node_id src, dst;
    double bw_Bps;  /* capacity, > 0 */
    int64_t lat_ps; /* propagation + switching latency, >= 0 */
    net_link_kind kind;
} net_link;

typedef struct net_graph net_graph;

/* Empty graph; *out owned by the caller (net_graph_destroy). SIM_ERR_NOMEM. */
sim_code net_graph_create(net_graph **out, sim_status *st);
void net_graph_destroy(net_graph *g); /* accepts NULL */

/* Adds a node named name (copied). A duplicate name is SIM_ERR_INPUT (callers that know the
 * location check net_graph_find first to report it). */
sim_code net_graph_add_node(net_graph *g, const char *name, net_node_kind kind,
                            net_node_id *out, sim_status *st);
/* Node id of name, or -1. */
net_node_id net_graph_find(const net_graph *g, const char *name);
/* One directed link src -> dst; bw must be > 0 and lat >= 0 (SIM_ERR_INPUT otherwise). */
sim_code net_graph_add_link(net_graph *g, net_node_id src, net_node_id dst, double bw_Bps,
                            int64_t lat_ps, net_link_kind kind, net_link_id *out,
                            sim_status *st);
/* Two directed links a -> b and b -> a; *out_ab (may be NULL) gets the first id, the
 * second is *out_ab + 1. */
sim_code net_graph_add_cable(net_graph *g, net_node_id a, net_node_id b, double bw_Bps,
                             int64_t lat_ps, net_link_kind kind, net_link_id *out_ab,
                             sim_status *st);
/* Multiplies the capacity of every link by bw_k[its kind] and its latency by lat_k: what-if
 * knobs, applied before any router or network model reads the graph. */
void net_graph_scale_links(net_graph *g, const double bw_k[NET_LINK_KIND_COUNT], double lat_k);
/* Sets the capacity of link l (bw_Bps > 0): to put back capacities saved before a what-if
 * scaling exactly, as no inverse factor would. Same rule: before a network model reads it. */
void net_graph_set_link_bw(net_graph *g, net_link_id l, double bw_Bps);

/* Builds the adjacency; call once after the last add. */
sim_code net_graph_finalize(net_graph *g, sim_status *st);

size_t net_graph_node_count(const net_graph *g);
size_t net_graph_link_count(const net_graph *g);
size_t net_graph_endpoint_count(const net_graph *g);
const char *net_graph_node_name(const net_graph *g, net_node_id n); /* borrowed */
net_node_kind net_graph_node_kind(const net_graph *g, net_node_id n);
const net_link *net_graph_link(const net_graph *g, net_link_id l); /* borrowed */
/* Out-links of n (after finalize): *count entries, borrowed. */
const net_link_id *net_graph_out_links(const net_graph *g, net_node_id n, size_t *count);
/* Short lowercase name of a link kind ("nvlink", "leaf-spine", ...). */
const char *net_link_kind_str(net_link_kind kind);

#endif
