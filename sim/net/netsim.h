/*
 * netsim.h: transfers on the network, driven by the event engine.
 *
 * A transfer moves `bytes` with a set of (link, weight) usages. Its life:
 *   start --(latency)--> active: shares bandwidth (net/maxmin) --(bytes sent)--> done.
 * The latency is given by the caller (the sum of its path's link latencies plus any
 * software overhead). While active, the transfer's rate is its weighted max-min fair share,
 * optionally capped. Progress is lazy: remaining bytes are brought up to date only when the
 * rate changes, and the completion event is rescheduled only then. Starts and ends that fall
 * in the same instant are solved together by one late-class event, so n transfers finishing
 * at once cost one solve, not n.
 *
 * Memory: transfers and their usage arrays come from pools owned by the net_sim; after
 * warm-up nothing is allocated. The done callback runs when the last byte arrives; the
 * transfer is recycled right after the callback returns, so callers must not keep the
 * pointer. The callback may start new transfers.
 */
#ifndef SIM_NET_NETSIM_H
#define SIM_NET_NETSIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/evq.h"
#include "core/status.h"
#include "net/graph.h"
#include "net/maxmin.h"
#include "net/usage.h"

typedef struct net_sim net_sim;
typedef struct net_transfer net_transfer;

/* Called at the instant the transfer finishes. user is what was passed to start. */
typedef void (*net_done_fn)(net_sim *ns, net_transfer *t, void *user);

typedef struct net_transfer_spec {
    const net_usage *uses; /* copied; may repeat a link (weights add up) */
    size_t n_uses;
    double bytes;          /* >= 0 */
    int64_t lat_ps;        /* >= 0 */
    double rate_cap_Bps;   /* 0 = none */
    net_done_fn done;
    void *user;
} net_transfer_spec;

typedef struct net_sim_stats {
    uint64_t started, finished;
    uint64_t solve_events;
    double solve_wall_s; /* wall time spent in the solver, when timing is on */
} net_sim_stats;

/*
 * Network over graph g (borrowed, must outlive the net_sim) driven by engine e (borrowed).
 * naive != 0 uses the reference solver for every solve. *out owned by the caller.
 */
sim_code net_sim_create(ev_engine *e, const net_graph *g, int naive, net_sim **out,
                        sim_status *st);
void net_sim_destroy(net_sim *ns); /* accepts NULL; pending transfers are dropped */

/* Measure wall time spent solving (costs two clock reads per solve). */
void net_sim_set_timing(net_sim *ns, int on);

/* Starts a transfer now. *out (may be NULL) is valid until its done callback returns.
 * Errors: SIM_ERR_NOMEM. */
sim_code net_transfer_start(net_sim *ns, const net_transfer_spec *spec, net_transfer **out,
                            sim_status *st);

/* Current rate in B/s (0 while in latency, +inf for a transfer with no link and no cap). */
double net_transfer_rate(const net_transfer *t);
/* Finish time in seconds computed exactly from the last rate change (t_last + remaining /
 * rate), free of the picosecond rounding of event times; meaningful in the done callback. */
double net_transfer_finish_s(const net_transfer *t);
/* Bytes left as of now (progress is brought up to date for the answer). */
double net_transfer_remaining(const net_sim *ns, const net_transfer *t);

const net_sim_stats *net_sim_get_stats(const net_sim *ns);
/* The first error met inside the event loop (only SIM_ERR_NOMEM can happen there: the
 * loop is then stopped), or NULL. Callers check it after ev_run. */
const sim_status *net_sim_error(const net_sim *ns);
const net_mm_stats *net_sim_solver_stats(const net_sim *ns);
/* Sum of w * rate on link l right now. */
double net_sim_link_load(const net_sim *ns, net_link_id l);
/* Bytes that crossed link l in finished transfers (weight x bytes). */
double net_sim_link_bytes(const net_sim *ns, net_link_id l);
/* Link l's capacity becomes cap_Bps (> 0) at at_ps (now, when at_ps is not in the future):
 * the transfers crossing it are re-solved then. Errors: SIM_ERR_NOMEM. */
sim_code net_sim_schedule_capacity(net_sim *ns, net_link_id l, int64_t at_ps, double cap_Bps,
                                   sim_status *st);
ev_engine *net_sim_engine(net_sim *ns);
/* Number of transfers not yet finished. */
size_t net_sim_live(const net_sim *ns);

#endif
