/*
 * topo.h: a cluster description (YAML) loaded into a network graph, its chips and routes.
 *
 * Two forms share this interface.
 *  - Explicit: `graph:` with endpoint, switch and link lists, for small custom networks.
 *    Every endpoint is a chip; routes are shortest paths (net/route.h).
 *  - Generated: chips, nodes, a scale-up domain (NVSwitch or ICI torus), an optional
 *    scale-out Clos fabric (fat tree or rail-optimized, 2 or 3 tiers) and, for several
 *    datacenters, a list of sites joined by WAN links between site gateways. The file
 *    format is documented in README.md ("Topology files"); gen.c and gen_*.c read it.
 *
 * Chip ids: chips are the first graph nodes, numbered 0..topo_chip_count()-1, site by site
 * in file order, node by node inside a site. A chip id is therefore also its graph node id.
 *
 * Routing (topo_route) turns a chip pair and a flow hash into link usages for the network
 * model: ECMP (one path chosen by hashing the flow at each switch) or spraying (the transfer
 * spread over every equal-cost path with fractional weights that sum to one at each tier).
 * Generated topologies route structurally (up to the lowest common tier, then down; dimension
 * order on tori; through both gateways between sites) with O(1) memory per chip, so a
 * 100,000-chip campus routes without per-destination tables.
 */
#ifndef SIM_TOPO_H
#define SIM_TOPO_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/ydoc.h"
#include "hw/chip.h"
#include "hw/fail.h"
#include "net/graph.h"
#include "net/usage.h"

typedef struct topo topo;

typedef enum topo_routing { TOPO_ROUTE_ECMP = 0, TOPO_ROUTE_SPRAY = 1 } topo_routing;

typedef struct topo_load_opts {
    /* Refuse a topology whose graph would need more than this many bytes, before building
     * it (0: the machine's physical memory). */
    double mem_limit_bytes;
    /* Directory searched for chips named by a bare name (`chip: h100-sxm`) after the
     * topology's own chips/ folder; NULL: the source tree's topologies/chips. */
    const char *chips_dir;
    /* Overrides applied to the document before it is read (paths relative to its root, such
     * as "fabric.oversubscription"); borrowed. */
    const ydoc_override *overrides;
    size_t n_overrides;
} topo_load_opts;

/*
 * Loads path. opts may be NULL (defaults). On success *out is owned by the caller
 * (topo_destroy). Errors: SIM_ERR_INPUT for a missing file and for anything wrong in it,
 * located at file:line:col and naming the key, the expected and the found value;
 * SIM_ERR_LIMIT for a topology too large for opts->mem_limit_bytes, with the estimate.
 */
sim_code topo_load(const char *path, const topo_load_opts *opts, topo **out, sim_status *st);
/* topo_load with default options. */
sim_code topo_load_file(const char *path, topo **out, sim_status *st);
void topo_destroy(topo *t); /* accepts NULL */

const char *topo_name(const topo *t);       /* borrowed */
const net_graph *topo_graph(const topo *t); /* borrowed, finalized */
int topo_is_generated(const topo *t);

/* Chips and their place. */
size_t topo_chip_count(const topo *t);
size_t topo_site_count(const topo *t); /* 1 for explicit graphs */
const char *topo_site_name(const topo *t, size_t site);
size_t topo_site_first_chip(const topo *t, size_t site);
size_t topo_site_chip_count(const topo *t, size_t site);
size_t topo_chip_site(const topo *t, int32_t chip);
/* Node (host) index within its site; for explicit graphs, the chip id. */
int32_t topo_chip_node(const topo *t, int32_t chip);
/* Global scale-up domain index (chips with the same index share NVSwitch / an ICI torus);
 * -1 when the chip has no scale-up domain. */
int32_t topo_chip_domain(const topo *t, int32_t chip);
/* Torus coordinates of a chip inside its torus domain into coords[0..nd) (x fastest) and
 * the torus shape into dims; returns nd, or 0 when the chip is not on a torus. */
int topo_chip_torus_coord(const topo *t, int32_t chip, int coords[3], int dims[3]);
/* Whether the chip's scale-up domain reduces in the switch (NVLink SHARP: scale_up
 * in_switch_reduction: true). */
int topo_chip_in_switch_reduction(const topo *t, int32_t chip);
/* Chip model of a chip; NULL for explicit graphs without a chip. Borrowed. */
const hw_chip *topo_chip_hw(const topo *t, int32_t chip);

/* Routing mode set by the file (`routing:`), changeable before use. */
topo_routing topo_get_routing(const topo *t);
void topo_set_routing(topo *t, topo_routing mode);

/* What a route gives a transfer. */
typedef struct topo_route_info {
    size_t n_uses;        /* usages written */
    int64_t lat_ps;       /* sum of link latencies along the (hashed) path */
    double rate_cap_Bps;  /* streams x window / RTT over WAN links; 0 = none */
    int hops;             /* links on the (hashed) path */
    bool hashed;          /* the usages or the latency depend on h (an ECMP choice among
                             several was made, or an explicit graph's router was asked):
                             when false, every h gives this route */
} topo_route_info;

/*
 * Usages of a transfer from chip src to chip dst for flow hash h, in the topology's routing
 * mode, written to uses[0..info->n_uses) (at most cap). src == dst gives no usage. Errors:
 * SIM_ERR_LIMIT when cap is too small (topo_route_max_uses is always enough); SIM_ERR_INPUT
 * when dst is unreachable (explicit graphs only); SIM_ERR_NOMEM.
 */
sim_code topo_route(topo *t, int32_t src, int32_t dst, uint64_t h, net_usage *uses, size_t cap,
                    topo_route_info *info, sim_status *st);
/* An upper bound on the usages of any route in the current mode. */
size_t topo_route_max_uses(const topo *t);

/* What-if multipliers (a config's `scale` section); 1 leaves a figure as it is. */
typedef struct topo_scale {
    double flops;        /* chips' peak FLOP/s */
    double hbm_bw;       /* chips' HBM bandwidth */
    double scale_up_bw;  /* NVLink and ICI links (and the chips' scale-up figure) */
    double scale_out_bw; /* NIC, PCIe, fabric and gateway links (and the chips' NIC figure) */
    double wan_bw;       /* WAN links */
    double latency;      /* every link's latency */
} topo_scale;

/* Schedules on ns the WAN links' varying background loads (a `background` list or trace):
 * from each point's time on, the link keeps 1 - load of its bandwidth (a load of 1: down;
 * what crosses it waits). Times count from the start of ns's engine. Errors:
 * SIM_ERR_NOMEM. */
struct net_sim;
sim_code topo_wan_apply_background(const topo *t, struct net_sim *ns, sim_status *st);
/* Whether a WAN link's background load varies in time (a list or a trace). */
bool topo_wan_varies(const topo *t);

/* Applies s to t's chips and links (before any replay uses t). */
void topo_apply_scale(topo *t, const topo_scale *s);

/* ---- Failures, storage and the counting a goodput model needs (fleet.c) ---- */

/*
 * Failure laws of the topology's component kinds, kind in [HW_FAIL_HOST, HW_FAIL_WAN]
 * (hw/fail.h): the `failures` section's (top level only), the built-in defaults
 * (hw_fail_default: Llama 3's rates) for every kind it leaves out or when there is none.
 * Borrowed.
 */
const hw_fail_spec *topo_failure(const topo *t, hw_fail_kind kind);

/* Where checkpoints go: the `storage` section (top level only), each figure a bandwidth;
 * defaults in fleet.c (Llama 3's 2 TB/s sustained Tectonic throughput, and assumptions). */
typedef struct topo_storage {
    double aggregate_Bps; /* of the parallel file system or object store, all clients */
    double per_node_Bps;  /* one node (host) to it */
    double host_copy_Bps; /* device to host memory within a node (asynchronous snapshot) */
} topo_storage;
const topo_storage *topo_storage_of(const topo *t); /* borrowed */

/* Hosts (nodes) of the whole topology, and a chip's host as a global index: the hosts of
 * the sites before its own, then topo_chip_node. Explicit graphs: one host per chip. */
int64_t topo_host_count(const topo *t);
int64_t topo_chip_host(const topo *t, int32_t chip);

/* Physical cables that link l stands for: a generated fabric's NIC, leaf-spine and
 * spine-core links are trunks of parallel cables, one per switch port of the fabric's
 * port_bandwidth (the ports its radix check counts); 1 for any other link. */
int64_t topo_link_cables(const topo *t, net_link_id l);

/* Multiplies the capacity of every link of kind by f (> 0): a what-if on a loaded
 * topology, before a replay builds its network model (a failed switch's share of a tier).
 * topo_links_restore puts back capacities saved before it (bw_Bps[link], every link of
 * the graph), bit for bit. */
void topo_scale_link_kind(topo *t, net_link_kind kind, double f);
void topo_links_restore(topo *t, const double *bw_Bps);

/* ---- Power and prices of the site (facility.c, issue 17) ---- */

/*
 * What the parts of a job other than its chips draw, and the site's overhead: the `power`
 * section (top level only, both forms), every key optional, each default cited in
 * facility.c (they describe an HGX/DGX H100 node on an NDR InfiniBand fabric):
 *   power: {host: 2.6 kW, nic: 25 W, switch: 750 W, optic: 8.5 W, pue: 1.2, cap: 30 MW}
 * Chips draw what their chip file's power section says (hw/chip.h).
 */
typedef struct topo_power {
    double host_W;   /* one host (node): CPUs, memory, fans, scale-up switches on its board,
                        power supply losses; its chips and scale-out NICs excluded */
    double nic_W;    /* one scale-out NIC */
    double switch_W; /* one fabric switch (leaf, spine, core), its transceivers excluded */
    double optic_W;  /* one transceiver: each fabric cable (a 400G port's) has two */
    double pue;      /* facility power / IT power, in [1, 3] */
    double cap_W;    /* the site's power cap (facility power); 0: none */
    /* Clocks under the cap (facility.c): the facility draw with every chip of the topology
     * computing (training draw) and every other part on must fit under cap_W. Where it does
     * not at the full clock and every chip's file has a clocks curve, the chips run at the
     * highest clock fraction that fits (their GEMM and attention efficiencies, so their
     * compute-bound ops, scaled by it; memory-bound ops unchanged), never below the curves'
     * lowest point (clock_floor then). */
    double clock;             /* (0, 1]: 1 unless the cap lowered the clocks */
    bool clock_floor;         /* the cap is below the draw even at the lowest clock */
    double site_train_full_W; /* that facility draw at the full clock (0: no cap) */
    double site_train_W;      /* ... and at `clock` */
} topo_power;
const topo_power *topo_power_of(const topo *t); /* borrowed */

#define TOPO_CHIP_PRICES_MAX 8

/* One chip type's price, when the cost section prices chip types apart. */
typedef struct topo_chip_price {
    char chip[HW_CHIP_NAME_MAX];
    double usd;
} topo_chip_price;

/*
 * Capital and energy prices: the optional `cost` section (top level only, both forms):
 *   cost: {chip: 25000 USD | {h100-sxm: 25000 USD, b200: 35000 USD}, host: 70000 USD,
 *          nic: 0 USD, switch: 25000 USD, optic: 500 USD, depreciation: 5 y,
 *          electricity: 0.08 USD/kWh}
 * Every price is optional (absent: 0, not counted); depreciation defaults to 5 years
 * (facility.c). A chip mapping names every chip type of the topology.
 */
typedef struct topo_cost {
    bool present;          /* the topology has a cost section */
    double chip_usd;       /* one chip, when n_chip_prices is 0 */
    topo_chip_price chip_prices[TOPO_CHIP_PRICES_MAX];
    size_t n_chip_prices;  /* > 0: by chip type */
    double host_usd, nic_usd, switch_usd, optic_usd; /* one each: the parts topo_power counts */
    double depreciation_s; /* straight-line over this, > 0 */
    double energy_usd_per_J; /* electricity: 0.08 USD/kWh is 0.08 / 3.6e6 per joule */
} topo_cost;
const topo_cost *topo_cost_of(const topo *t); /* borrowed; present false: no section */
/* The price of one chip of type chip_name (its own, or the single chip price). */
double topo_cost_chip_usd(const topo_cost *c, const char *chip_name);

/* ---- Summary (summary.c) ---- */

#define TOPO_MAX_TIERS 3

typedef struct topo_site_summary {
    const char *name; /* borrowed */
    const char *chip; /* chip model name, borrowed */
    size_t chips, nodes, domains;
    const char *scale_up;                /* "nvswitch", "torus" or "none" */
    const char *fabric;                  /* "fat-tree", "rail-optimized" or "none" */
    int tiers;                           /* scale-out tiers, 0 = none */
    size_t nics;                         /* NICs on the fabric */
    double nic_Bps;
    size_t nics_per_leaf, pods, spines_per_pod, cores_per_plane;
    double trunk_Bps[TOPO_MAX_TIERS];    /* one uplink trunk: leaf-spine, spine-core, to gateway */
    size_t switches[TOPO_MAX_TIERS];     /* per tier: leaf, spine, core */
    double oversub[TOPO_MAX_TIERS];      /* down:up bandwidth ratio at each tier's uplinks */
    double bisection_Bps;                /* scale-out bisection, one direction; 0 = none */
    double scale_up_bisection_Bps;       /* of one scale-up domain, one direction */
    double peak_bf16_flops, hbm_bytes;
} topo_site_summary;

typedef struct topo_summary {
    size_t chips, switches, links; /* links are directed */
    size_t links_per_kind[NET_LINK_KIND_COUNT];
    size_t nvswitches, nics, gateways; /* switch-kind nodes that are not fabric tiers */
    size_t sites, wan_links;           /* wan_links directed */
    double total_peak_bf16_flops, total_hbm_bytes;
    double bisection_Bps; /* whole topology, one direction; 0 when not computable */
    int diameter_hops;
} topo_summary;

/* Fills *s; site summaries through topo_site_summarize. */
void topo_summarize(topo *t, topo_summary *s);
void topo_site_summarize(const topo *t, size_t site, topo_site_summary *s);
/* Tier name ("leaf", "spine", "core"). */
const char *topo_tier_name(int tier);

/* Site of a graph node (chips, switches, gateways); -1 for explicit graphs. */
int32_t topo_node_site(const topo *t, net_node_id n);

/* Site id of each end of link l (-1 for WAN links and explicit graphs), its tier (0 chip
 * side, 1 leaf, 2 spine, 3 core, 4 gateway/WAN), for the link table. */
int32_t topo_link_site(const topo *t, net_link_id l);

#endif
