/*
 * usage.h: one link's share of a transfer, the currency between routing and the network
 * model: topo_route writes them, a transfer (netsim.h) and the collectives carry them. A
 * transfer at rate r loads each of its links with w * r, so a point-to-point path has w = 1
 * per link and a sprayed transfer fractions that sum to 1 at each tier. This header is on
 * its own so that topologies and routing need not include the transfer simulator.
 */
#ifndef SIM_NET_USAGE_H
#define SIM_NET_USAGE_H

#include "net/graph.h"

typedef struct net_usage {
    net_link_id link;
    double w; /* > 0 */
} net_usage;

#endif
