/*
 * coll.h: collectives and point-to-point messages mapped onto the links of a topology.
 *
 * A collective over a group of chips becomes phases of transfers on the network model
 * (net/netsim.h); a phase starts when the previous one has finished, and the collective is
 * done when its last phase is. Algorithms:
 *   ring          one coupled transfer for the whole ring: it uses the path of every
 *                 neighbour pair (weights add up where paths share links), carries each
 *                 member's bytes (2 (n-1)/n S for all-reduce, (n-1)/n S for reduce-scatter
 *                 and all-gather) at one rate, and waits one step latency per ring step.
 *                 A flow-level model of NCCL's lock-step ring: the ring's rate is set by its
 *                 most loaded link, as in the real ring. A group of D >= 2 scale-up domains
 *                 with g >= 2 members each (in runs, domain by domain) runs NCCL's g
 *                 channels: g rings on S / g each, channel c crossing between domains on
 *                 member c's NIC (PXN), so every NIC carries one channel and the scale-up
 *                 and scale-out steps are pipelined as in NCCL.
 *   hierarchical  members seen as a box [member in its scale-up domain][domain in its
 *                 site][site], when every domain holds as many members and every site as
 *                 many domains (and two levels at least have more than one): reduce-scatter
 *                 along the rings of each level from the innermost, on S, then S / g, then
 *                 S / (g d), and all-gathers back: NCCL's intra-node, inter-node per rail,
 *                 intra-node hierarchy, and across datacenters the hierarchical all-reduce of
 *                 synchronous multi-site training (inside each site, across the WAN, inside
 *                 again). The parallel rings of a phase are alike and end with the slowest:
 *                 they form one coupled transfer (a 1,024-rail phase is one transfer).
 *   coupled       all-to-all: every member sends S/n to every other member at once, the
 *                 n(n - 1) messages as one coupled transfer at one rate. Weighted max-min
 *                 gives it, on a link that k of its messages cross, what k messages would
 *                 get there; so it ends when direct's last message does wherever the same
 *                 messages are the slowest throughout (alone on a fabric, or beside traffic
 *                 that loads one bottleneck), and later where cross traffic moves the
 *                 bottleneck from some messages to others (it takes the slowest message's
 *                 rate at every instant). One step latency, over scale-out if any message
 *                 crosses it.
 *   direct        all-to-all: the same messages, each its own transfer (asked for by
 *                 name, or by a replay's run.alltoall: direct).
 *   p2p           one transfer along the route.
 *   tree          NCCL's double binary tree for all-reduce: two trees (heap order over the
 *                 members, and over them reversed), each reducing up and broadcasting down
 *                 half the data, pipelined: one coupled transfer per tree over its edges both
 *                 ways, S/2 per member, 2 x depth step latencies.
 *   nvls          all-reduce inside one NVSwitch domain whose switch reduces (NVLink SHARP,
 *                 scale_up in_switch_reduction): every member sends S up and receives S down,
 *                 two step latencies: half the bytes of a ring.
 *   rhd           recursive halving (reduce-scatter) and doubling (all-gather), for groups of
 *                 a power of two: log2 n lock-step exchanges each way, the k-th of S / 2^k.
 *   torus         groups that fill a box of a torus (every combination of their coordinates
 *                 is a member): a reduce-scatter along the rings of dimension x, then of y on
 *                 S / d_x, then of z, and the all-gathers back in reverse (the multi-
 *                 dimensional rings of TPU collectives), each dimension's rings in parallel.
 *   chain         broadcast: the data flows down the members in order, pipelined: one
 *                 coupled transfer over the n - 1 hops carrying S, n - 1 step latencies.
 * `auto`: coupled for all-to-all and chain for broadcast; otherwise torus for a box of a
 * torus, whatever the size (the torus rings are tried first); else as NCCL's tuner would at
 * the sizes where each wins: nvls for an all-reduce inside one in-switch-reduction domain;
 * for messages up to COLL_SMALL_BYTES, tree (all-reduce over several domains) or rhd
 * (reduce-scatter and all-gather over a power of two); otherwise hierarchical when it
 * applies, else ring (NCCL would take the channel rings for large messages inside a site;
 * auto keeps the hierarchy there until it compares their costs).
 * Protocol and latency, from the chip of each transfer's source (hw_chip.coll, NCCL's
 * Simple protocol): every link carries payload at its class's efficiency of line rate
 * (scale-up, in-switch reduction, scale-out; WAN links at line rate), so a transfer uses
 * a link with weight w / eff; each algorithm step waits its slowest path's latency plus
 * the chip's per-step cost (scale-out for steps whose edge crosses a scale-out link,
 * scale-up otherwise; an in-switch all-reduce its nvls cost once), and a collective's first
 * phase, or a message, its launch cost. Chips without these figures (and explicit graphs
 * without a chip) run at line rate with 2 us per step, as before they were declared.
 *
 * Flow hashes come from the collective's id and the edge, so runs are reproducible and
 * different collectives spread over equal-cost paths.
 */
#ifndef SIM_COLL_H
#define SIM_COLL_H

#include <stddef.h>
#include <stdint.h>

#include "coll/coll_kind.h"
#include "core/status.h"
#include "net/netsim.h"
#include "topo/topo.h"

/* Messages up to this size are latency-bound: auto prefers tree and rhd, where a torus box
 * does not apply (bytes). */
#define COLL_SMALL_BYTES 1048576.0

typedef enum coll_algo {
    COLL_ALGO_AUTO = 0,
    COLL_ALGO_RING,
    COLL_ALGO_HIERARCHICAL,
    COLL_ALGO_DIRECT,
    COLL_ALGO_P2P,
    COLL_ALGO_TREE, /* double binary tree (all-reduce) */
    COLL_ALGO_NVLS, /* in-switch reduction inside one NVSwitch domain (all-reduce) */
    COLL_ALGO_RHD,  /* recursive halving-doubling (power-of-two groups) */
    COLL_ALGO_TORUS, /* one ring phase per torus dimension */
    COLL_ALGO_CHAIN, /* broadcast down a pipelined chain */
    COLL_ALGO_COUPLED, /* all-to-all: every message at one rate, one transfer */
    COLL_ALGO_COUNT
} coll_algo;

/* The algorithm's name ("ring", ...); "?" for a value out of range. */
const char *coll_algo_name(coll_algo algo);
/* nccl-tests bus bandwidth factor: 2(n-1)/n all-reduce, 1 broadcast, (n-1)/n the others. */
double coll_busbw_factor(coll_kind kind, size_t n);

typedef struct coll_engine coll_engine;
typedef struct coll_group coll_group;

/* Called when a collective or message is done; start_s/end_s are its simulated times. */
typedef void (*coll_done_fn)(void *user, double start_s, double end_s);

typedef struct coll_req {
    coll_kind kind;
    coll_algo algo;       /* AUTO chooses */
    coll_group *group;    /* the members as a group (coll_group_create); NULL: chips, n */
    const int32_t *chips; /* the members, in ring order; copied (ignored with a group) */
    size_t n;
    double bytes;         /* each member's buffer (nccl-tests size) */
    uint64_t id;          /* seeds the flow hashes */
    coll_done_fn done;
    void *user;
} coll_req;

/* Engine over network ns (borrowed) and topology t (borrowed, routes are taken from it). */
sim_code coll_engine_create(net_sim *ns, topo *t, coll_engine **out, sim_status *st);
void coll_engine_destroy(coll_engine *ce); /* accepts NULL */

/* What a group's membership decides (the member list, its torus box, its hierarchy, its
 * scale-up domain), computed once for chips[0..n) (copied, in ring order) so that
 * collectives over the same members, passed the group in coll_req.group, cost no
 * allocation and no analysis. Owned by ce: freed by coll_engine_destroy. Errors:
 * SIM_ERR_NOMEM. */
sim_code coll_group_create(coll_engine *ce, const int32_t *chips, size_t n, coll_group **out,
                           sim_status *st);

/* Starts a collective now. The algorithm actually used is written to *algo_used (may be
 * NULL). A group of fewer than two members, or zero bytes, is done at the current instant:
 * the callback runs from an event scheduled now, never inside the call (for fewer than two
 * members the algorithm reported is ring, coupled for all-to-all, chain for broadcast).
 * Errors: SIM_ERR_NOMEM, routing errors; on an error the callback never runs. */
sim_code coll_start(coll_engine *ce, const coll_req *rq, coll_algo *algo_used, sim_status *st);

/* Starts a point-to-point message src -> dst of bytes now. */
sim_code coll_send(coll_engine *ce, int32_t src, int32_t dst, double bytes, uint64_t id,
                   coll_done_fn done, void *user, sim_status *st);

/* Collectives and messages started and not yet done. */
size_t coll_live(const coll_engine *ce);

/* The first error met starting a phase (a route that fails, SIM_ERR_NOMEM), or NULL.
 * Phases after the first start inside the event loop: a failure there stops the engine
 * (ev_stop), and the collective never finishes: its callback never runs and it stays live
 * until coll_engine_destroy. Callers check this (and net_sim_error) after ev_run, before
 * concluding that something never finished. After a failure coll_start and coll_send
 * start nothing and return this error. */
const sim_status *coll_engine_error(const coll_engine *ce);

/* Records st as the engine's error (the first one stays) and stops the event loop: for a
 * caller composing collectives from their callbacks, where nothing returns an error. */
void coll_engine_fail(coll_engine *ce, const sim_status *st);

#endif
