/*
 * evq.h: the discrete-event engine: simulated clock and event queue.
 *
 * Events are intrusive: an ev_node is embedded in the object it concerns (a transfer, a
 * rank) and handed back to its callback; scheduling allocates only while the queue grows
 * past its peak. Events run in the order (t_ps, klass, seq): seq is an ever-increasing
 * insertion counter, so ties break identically on every run and machine (evq.c keeps one
 * FIFO per instant and a heap of instants). klass orders work
 * inside one instant: EV_CLASS_NORMAL events run before EV_CLASS_LATE ones scheduled for the
 * same time (the network re-solves once, after every start and end of that instant).
 * Time never goes backwards: scheduling before now is an internal error (asserted).
 */
#ifndef SIM_EVQ_H
#define SIM_EVQ_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct ev_engine ev_engine;
typedef struct ev_node ev_node;
typedef void (*ev_fn)(ev_engine *e, ev_node *n);

/* The class of an event: the second key of the order (t_ps, klass, seq). */
typedef enum ev_class { EV_CLASS_NORMAL = 0, EV_CLASS_LATE = 1 } ev_class;

/* Embed in the owner; zero-initialise (or ev_node_init) before first use. */
struct ev_node {
    int64_t t_ps;
    uint64_t seq;
    ev_node *prev, *next; /* in the FIFO of its instant */
    uint32_t where;       /* bucket + 1; 0 = not scheduled */
    ev_class klass;
    ev_fn fn;
};

/* Engine with an empty queue at time 0. *out owned by the caller (ev_engine_destroy). */
sim_code ev_engine_create(ev_engine **out, sim_status *st);
/* Accepts NULL. Scheduled nodes are marked unscheduled, so they must still be alive: owners
 * that free their nodes first call ev_clear before. */
void ev_engine_destroy(ev_engine *e);
/* Unschedules every pending node (they must be alive); the clock stays where it is. */
void ev_clear(ev_engine *e);

int64_t ev_now(const ev_engine *e);

/* A time in picoseconds (as a double) onto the clock's grid: llround(v), the nearest
 * integer with halves away from zero, without the library call where the conversion is
 * exact (|v| < 2^62: v - trunc(v) is exact, and so is the comparison). The replay's and
 * the network's event times both round through it. */
static inline int64_t ev_round_ps(double v)
{
    if (!(v > -0x1p62 && v < 0x1p62))
        return llround(v);
    int64_t t = (int64_t)v;
    double f = v - (double)t;
    /* the fraction's side is a coin toss: comparisons added as numbers, not branches that
       no predictor guesses (a third of `clustersim flows` on a dense all-to-all was this) */
    return t + (int64_t)(f >= 0.5) - (int64_t)(f <= -0.5);
}
/* Events run so far. */
uint64_t ev_count(const ev_engine *e);
size_t ev_pending(const ev_engine *e);

/* Prepares n to call fn; n is not scheduled. */
void ev_node_init(ev_node *n, ev_fn fn);
static inline int ev_node_scheduled(const ev_node *n) { return n->where != 0; }

/*
 * Schedules n at t_ps (>= now) in klass. If n is already scheduled it is moved (keeping
 * its place among equal keys is not promised: it gets a fresh seq). Fails with
 * SIM_ERR_NOMEM only when the heap must grow and cannot.
 */
sim_code ev_schedule(ev_engine *e, ev_node *n, int64_t t_ps, ev_class klass);
/* Removes n from the queue if scheduled. */
void ev_cancel(ev_engine *e, ev_node *n);

/*
 * Runs events in order until the queue is empty, time would pass until_ps (events at
 * until_ps still run; pass INT64_MAX for no bound), or ev_stop is called. Returns the
 * number of events run.
 */
uint64_t ev_run(ev_engine *e, int64_t until_ps);
void ev_stop(ev_engine *e);

/* Grows the heap ahead of time so a run of n pending events never reallocates. */
sim_code ev_reserve(ev_engine *e, size_t n, sim_status *st);

#endif
