/*
 * rel_fleet.h: the failure classes of a training job (rel/rel.h), built from its plan's
 * chips and topology (issue 16).
 *
 * What the job depends on. Its chips are the plan's (chips 0 .. n-1: plan_ranks, or the
 * ranks of every DiLoCo replica); its hosts are their nodes (topo_chip_host); its NICs are
 * those its chips reach (one per chip, or the shared NICs behind their PCIe links); its
 * leaves are the switches those NICs are cabled to, its spines those its leaves have
 * uplinks to, its cores those its spines have uplinks to; its cables are the NIC cables of
 * its NICs, the leaf-spine cables of its leaves and the spine-core cables of its spines.
 * All of it is counted on the network graph (links come in directed pairs: the upward one
 * is counted), a trunk as the physical cables it stands for (topo_link_cables: one per
 * switch port). Gateways and WAN links are not counted.
 *
 * One class per component kind, the laws from the chip file (gpu, hbm) and the topology
 * (hw/fail.h: its `failures` section or the built-in defaults), and what a failure does:
 *   gpu, hbm, host, nic        REL_STOP, 1 node (the host goes to repair)
 *   nic-cable                  REL_STOP, 1 node; REL_DEGRADE when dual-homed
 *   leaf                       REL_STOP, the most job hosts cabled to one job leaf (with a
 *                              rail-optimized fabric, a leaf holds one NIC of each of its
 *                              group's nodes, and all of them stop); REL_DEGRADE when the
 *                              NICs are dual-homed (each NIC keeps its other leaf)
 *   spine, core,               REL_DEGRADE: the fabric keeps running without the part. ECMP
 *   leaf-spine-cable,          spreads the traffic over the surviving parallel paths, so
 *   spine-core-cable           the tier a part belongs to keeps (1 - 1/n) of its capacity,
 *                              n the parallel paths the part is one of: for a spine the
 *                              spines a leaf reaches (its pod's), for a leaf-spine cable a
 *                              leaf's uplink cables, for a spine-core cable a spine's, for
 *                              a core the cores a spine reaches (or, one core per plane,
 *                              the cores of every plane: the spine withdraws its routes and
 *                              the leaves spread over the other planes). A spine's failure
 *                              also takes its share of its pod's spine-core links. The
 *                              slowdown is measured by replaying the plan (exec_run) with
 *                              every link of the tier scaled so (the synchronous step waits
 *                              for the slowest collective: an upper bound, as if every pod
 *                              or plane had lost one). A part with no parallel path (n < 2)
 *                              cuts hosts off: REL_STOP with the most job hosts below one
 *                              switch of its tier.
 *   software                   REL_STOP, 0 nodes (the job restarts on the same nodes);
 *                              count = the job's hosts (rates are per node)
 *   wan                        cross-datacenter plans only, count = the WAN links: sync and
 *                              pipeline schemes REL_STOP, 0 nodes, waiting for the link's
 *                              repair (one link joins two sites); DiLoCo schemes REL_STALL
 *                              (the sites train on; the next outer sync waits for it)
 * Kinds the job has none of (no fabric tier) give no class. With several chip types, gpu
 * and hbm give one class per type, named "gpu:TYPE".
 */
#ifndef SIM_REL_REL_FLEET_H
#define SIM_REL_REL_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "exec/exec.h"
#include "rel/rel.h"
#include "topo/topo.h"
#include "workload/plan.h"

typedef struct rel_fleet_opts {
    bool dual_homed;       /* every NIC cabled to two leaves: a leaf or NIC cable failure
                              halves the NIC bandwidth of the nodes below (REL_DEGRADE,
                              measured with every NIC link at half) instead of stopping them */
    bool replay;           /* measure the slowdowns by replay; false: slowdown 0, nothing
                              replayed (counts and laws only) */
    const exec_opts *exec; /* options of those replays (borrowed); NULL: exec's defaults */
    double base_step_s;    /* > 0: the step time of the plan as it is, already replayed by
                              the caller (not replayed again); 0: replayed here */
} rel_fleet_opts;

/* What a job of the first `chips` chips of a topology depends on (see the file comment). */
typedef struct rel_fleet_counts {
    int64_t chips, hosts, nics;
    int64_t leaves, spines, cores;
    int64_t nic_cables, leaf_spine_cables, spine_core_cables; /* physical cables */
    int64_t leaf_hosts, spine_hosts, core_hosts; /* the most job hosts below one job switch
                                                    of the tier */
    int64_t spine_fanout;    /* the fewest spines a job leaf has uplinks to */
    int64_t core_fanout;     /* the fewest cores a job spine has uplinks to */
    int64_t leaf_up_cables;  /* the fewest uplink cables of a job leaf */
    int64_t spine_up_cables; /* the fewest uplink cables of a job spine */
} rel_fleet_counts;

/* The chips a plan's job runs on: plan_ranks, or every DiLoCo replica's ranks. */
int64_t rel_job_chips(const plan *p);

/*
 * Counts what a job of chips 0 .. chips-1 of t depends on into *out. Errors: SIM_ERR_INPUT
 * when chips is not in [1, topo_chip_count]; SIM_ERR_NOMEM.
 */
sim_code rel_fleet_count(const topo *t, int64_t chips, rel_fleet_counts *out, sim_status *st);

/*
 * The hosts (global host indices, topo_chip_host) below fabric switch sw of t: cabled to it
 * when sw is a leaf (through their shared NICs, if any), below its leaves when a spine,
 * below its spines when a core. Distinct and ascending in *hosts (malloc'ed, the caller
 * frees it; NULL when *n is 0). A node that is no fabric switch has none. Errors:
 * SIM_ERR_NOMEM.
 */
sim_code rel_fleet_nodes_below(const topo *t, net_node_id sw, int64_t **hosts, size_t *n,
                               sim_status *st);

/*
 * Builds the job's failure classes (file comment) into *out (malloc'ed, *n entries; the
 * caller frees it). o may be NULL: not dual-homed, no replay. With o->replay, the plan is
 * replayed once as it is (unless o->base_step_s gives that step) and once per distinct
 * degraded fabric (at most one per kind); the topology's link capacities are put back
 * exactly after each. Errors: those of
 * rel_fleet_count and exec_run; SIM_ERR_LIMIT when a replay stops at a bound of o->exec.
 */
sim_code rel_fleet_build(plan *p, const rel_fleet_opts *o, rel_class **out, size_t *n,
                         sim_status *st);

/* The class named name among c[0..n), or NULL. */
const rel_class *rel_fleet_find(const rel_class *c, size_t n, const char *name);

#endif
