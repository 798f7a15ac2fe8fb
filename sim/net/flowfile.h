/*
 * flowfile.h: the CSV list of point-to-point flows read by `clustersim flows`.
 *
 * Header line exactly "id,src,dst,bytes,start_s" (surrounding spaces and a trailing CR are
 * tolerated); then one flow per line: id (any text without comma, unique), src and dst
 * (endpoint names of the graph), bytes (a number >= 0, exponents allowed), start_s
 * (seconds >= 0). Blanks around any field are ignored, a UTF-8 byte-order mark before the
 * header is skipped. A flow from an endpoint to itself has an empty path: it finishes when it starts. Blank lines are
 * skipped. Every problem is SIM_ERR_INPUT located at file:line (and column of the field),
 * e.g.
 *   "flows.csv:4:7: error: field 'dst': unknown endpoint 'h9'".
 */
#ifndef SIM_NET_FLOWFILE_H
#define SIM_NET_FLOWFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "net/graph.h"

typedef struct net_flow_spec {
    const char *id;     /* owned by the flow file */
    net_node_id src, dst;
    double bytes;
    double start_s;     /* as written, for echoing */
    int64_t start_ps;
    int line;           /* 1-based line in the file */
} net_flow_spec;

typedef struct net_flowfile net_flowfile;

/* Reads path against graph g (names must be endpoints of g). *out owned by the caller. */
sim_code net_flowfile_load(const char *path, const net_graph *g, net_flowfile **out,
                           sim_status *st);
void net_flowfile_destroy(net_flowfile *f); /* accepts NULL */
size_t net_flowfile_count(const net_flowfile *f);
const net_flow_spec *net_flowfile_at(const net_flowfile *f, size_t i); /* borrowed */

#endif
