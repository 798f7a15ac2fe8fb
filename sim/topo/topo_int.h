/*
 * topo_int.h: the topology's private layout, shared by topo.c (explicit graphs and the
 * public getters), gen.c and gen_*.c (generated fabrics, with their own gen_int.h),
 * troute.c (routing) and summary.c.
 *
 * The files depend one way, each only on this header and the files before it: gen.c and
 * gen_*.c build a generated topology into struct topo; troute.c routes on a built one;
 * summary.c describes one (routing for its diameter); topo.c is the facade that loads
 * (calling gen.c), answers the public getters and destroys. So the gen files and summary.c
 * never call the getters of topo.c, and what they share (tier names) lives here.
 *
 * A generated site keeps no per-link tables: its links were created in fixed blocks, each
 * block one cable (two directed links, a->b at an even offset, b->a right after) per item
 * in a fixed order, so the id of any link is its block's base plus twice the item index:
 *   nvlink  chip i (site-local) <-> its domain's NVSwitch     su_base + 2 i
 *   ici     chip i -> its + neighbour along dim k              torus_cable[i * nd + k]
 *   pcie    chip i <-> its NIC (only when NICs are shared)     pcie_base + 2 i
 *   nic     NIC g <-> its leaf (g = chip i when not shared)    nic_base + 2 g
 *   leaf-spine  leaf l <-> spine j of its pod                  ls_base + 2 (l S + j)
 *   spine-core  spine s = p S + j <-> core c of plane j        sc_base + 2 (s C + c)
 *   gateway     top switch k <-> the site's gateway            gw_base + 2 k
 * and nodes likewise: leaves from leaf_node, spines (p S + j) from spine_node, cores
 * (j C + c) from core_node. Only the torus keeps a table (absent neighbours without wrap).
 */
#ifndef SIM_TOPO_INT_H
#define SIM_TOPO_INT_H

#include <stdbool.h>

#include "core/vec.h"
#include "net/route.h"
#include "topo/topo.h"

typedef enum topo_su_kind { TOPO_SU_NONE = 0, TOPO_SU_NVSWITCH, TOPO_SU_TORUS } topo_su_kind;
typedef enum topo_fabric_kind { TOPO_FAB_FAT_TREE = 0, TOPO_FAB_RAIL } topo_fabric_kind;

#define TOPO_SITE_NAME_MAX 64
#define TOPO_TORUS_MAX_DIMS 3

typedef struct topo_site {
    char name[TOPO_SITE_NAME_MAX];
    hw_chip chip;
    size_t first_chip, chips;  /* global chip ids [first_chip, first_chip + chips) */
    size_t chips_per_node, nodes;
    net_node_id node_begin, node_end; /* every graph node of the site, chips excluded */

    /* Scale-up. */
    topo_su_kind su_kind;
    size_t domain_size, first_domain, domains;
    double su_Bps; /* nvswitch: per chip per direction; torus: per link per direction */
    int64_t su_lat_ps;
    net_node_id nvsw_node;  /* domain k's switch is nvsw_node + k */
    net_link_id su_base;
    int nd;
    bool wrap;
    bool sharp; /* NVSwitch domains reduce in the switch (NVLink SHARP) */
    int dims[TOPO_TORUS_MAX_DIMS];
    net_link_id *torus_cable; /* [chips * nd], -1 where no neighbour */

    /* NICs. */
    size_t nics_per_node, nics; /* nics = nodes * nics_per_node */
    double nic_Bps, pcie_Bps;
    bool shared_nics;           /* nics_per_node < chips_per_node: NIC nodes exist */
    net_node_id nic_node;
    net_link_id pcie_base, nic_base;

    /* Scale-out fabric; tiers == 0: none. */
    int tiers;
    topo_fabric_kind fabric_kind;
    int radix[TOPO_MAX_TIERS];
    double oversub[TOPO_MAX_TIERS];
    double port_Bps;
    size_t per_leaf, leaves, leaves_per_pod, pods, spines_per_pod, cores_per_plane;
    double ls_Bps, sc_Bps, gw_Bps; /* one trunk each */
    int64_t link_lat_ps, switch_lat_ps;
    net_node_id leaf_node, spine_node, core_node, gw_node; /* gw_node -1: none */
    net_link_id ls_base, sc_base, gw_base;
    size_t n_top; /* switches of the top tier (linked to the gateway) */
    uint32_t *chip_leaf; /* [chips]: each chip's leaf when tiers > 0 (NULL otherwise),
                            tabled as the fabric is cabled (gen_build.c) for routing */
} topo_site;

typedef struct topo_bg_point {
    int64_t t_ps;
    double load;
} topo_bg_point;

typedef struct topo_wan {
    size_t a, b;        /* sites */
    net_link_id link;   /* gateway a -> gateway b; b -> a is link + 1 */
    double bw_Bps;      /* what the job gets: nominal_Bps less a steady background */
    double nominal_Bps; /* the link's own bandwidth (sizes the gateway trunks) */
    int64_t lat_ps;
    double window_bytes; /* 0: no window cap */
    int64_t streams;
    double loss;         /* packet loss probability for the Mathis cap; 0: no cap */
    double mss_bytes;    /* TCP maximum segment size (Mathis cap) */
    /* A background load that varies: from bg.v[i].t_ps on, bg.v[i].load of the link is
     * taken (1: the link is down); before the first point none. Empty: steady (already off
     * bw_Bps). */
    SIM_VEC(topo_bg_point) bg;
} topo_wan;

struct topo {
    char *name;
    net_graph *graph;
    bool generated;
    topo_routing routing;
    size_t n_chips;

    /* Explicit graphs. */
    net_router *router;
    hw_chip *explicit_chip; /* optional `chip:` of an explicit graph */
    net_link_id *path_buf;  /* scratch of node-count entries */
    double *spray_frac;     /* scratch for spraying: fraction reaching each node */
    net_node_id *spray_order;

    /* Generated topologies. */
    topo_site *sites;
    size_t n_sites;
    topo_wan *wans;
    size_t n_wans;
    int32_t *wan_next; /* [a * n_sites + b]: 2 * wan index + direction of the first WAN hop
                          from site a towards b; -1 when a == b or unreachable */

    /* Both forms (fleet.c). */
    hw_fail_spec fail[HW_FAIL_KIND_COUNT]; /* [HW_FAIL_HOST..HW_FAIL_WAN] used */
    topo_storage storage;
    topo_power power; /* facility.c */
    topo_cost cost;
};

/* Name of a fabric tier: "leaf", "spine", "core" (topo_tier_name), "?" for another. */
static inline const char *topo_tier_str(int tier)
{
    static const char *const names[TOPO_MAX_TIERS] = {"leaf", "spine", "core"};
    return tier >= 0 && tier < TOPO_MAX_TIERS ? names[tier] : "?";
}

/* Builds a generated topology from the loaded document into t (gen.c, with gen_*.c). */
struct ydoc;
sim_code topo_gen_load(topo *t, const struct ydoc *d, const char *path,
                       const topo_load_opts *opts, sim_status *st);
/* Frees what topo_gen_load allocated in t. */
void topo_gen_free(topo *t);

/* Reads the top-level `failures` and `storage` sections of d into t, defaults first
 * (fleet.c); both forms call it after their own keys were checked. */
sim_code topo_fleet_load(topo *t, const struct ydoc *d, sim_status *st);

/* Reads the top-level `power` and `cost` sections of d into t, defaults first (facility.c),
 * after the chips are known (a cost section's chip prices are checked against them). */
sim_code topo_facility_load(topo *t, const struct ydoc *d, sim_status *st);

#endif
