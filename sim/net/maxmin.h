/*
 * maxmin.h: weighted max-min fair sharing of link capacities (the flow-level model).
 *
 * Data model after SimGrid's lmm: a constraint per directed link (capacity in B/s), a
 * variable per transfer (its rate), an element per (variable, link) usage with a weight w:
 * a transfer at rate r loads the link with w * r. A point-to-point flow has w = 1 on each
 * link of its path; a coupled transfer (a ring of n lock-step flows) has w = the number of
 * member flows that cross the link, or fractional weights when sprayed.
 *
 * Solution (progressive filling): all unfixed rates rise together from 0; when a link
 * saturates (sum w * r = capacity) every variable crossing it is fixed at the current
 * level; a variable whose bound (rate cap) is reached is fixed at its bound. The result
 * is the unique weighted max-min fair allocation: no rate can grow without shrinking one
 * that is no larger.
 *
 * Incremental solving: enabling or disabling a variable marks its links modified.
 * net_mm_solve re-solves only the connected components (variables linked through shared
 * links) that contain a modified link, and reports only the variables whose rate changed
 * (beyond a relative 1e-12, so re-solving an untouched part never perturbs it). A large
 * component that only lost variables resumes its last fill from the first departed
 * variable's step instead of re-filling from zero (maxmin.c). The naive
 * solver re-solves everything from scratch by repeated scans; it is kept as the reference
 * the tests compare against.
 *
 * Ownership: the system owns its constraint table and scratch space. Variables and their
 * element arrays belong to the caller (embedded in transfers) and must stay put while
 * enabled.
 */
#ifndef SIM_NET_MAXMIN_H
#define SIM_NET_MAXMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct net_mm_var net_mm_var;

typedef struct net_mm_elem {
    net_mm_var *var;
    int32_t cnst; /* link id */
    uint32_t pos; /* solver scratch: position in the link's user array */
    double w;     /* weight > 0 */
} net_mm_elem;

/* The caller sets elems, n_elems and bound before enabling and leaves them (and the
 * weights) unchanged while enabled: the solver keeps copies. Hot fields first. */
struct net_mm_var {
    double rate;         /* current rate (B/s); +inf for a variable with no link and no cap */
    double prev_rate;    /* rate before the last solve that reported this variable */
    int64_t key;         /* the caller's: see net_mm_component_fn */
    net_mm_elem *elems;  /* caller-owned array; set cnst and w before enabling */
    uint32_t n_elems;
    uint32_t active_idx; /* solver scratch: index in the enabled list */
    uint32_t slot;       /* solver scratch: its record in the solver */
    double bound;        /* rate cap in B/s; 0 = none */
    double next_rate;    /* naive solver scratch */
    int fixed;           /* naive solver scratch: 0 unfixed, 1 fixed, 2 fixed this round */
    bool enabled;
};

typedef struct net_mm_system net_mm_system;

/*
 * Called per solved component with its variables (borrowed array, valid during the call),
 * in consecutive pieces: last != 0 marks a component's final piece (a component with no
 * variable, possible only in the naive solver, is one empty piece). Each variable's rate
 * holds the new rate and prev_rate the rate before this solve (0 for a newly enabled one);
 * they are equal when the rate did not change beyond a relative 1e-12. The naive solver
 * reports all enabled variables as one component.
 *
 * A large component (128 variables or more) that only lost variables since its last solve
 * may be resumed (see maxmin.c) instead: then it is reported as the variables whose share
 * was re-computed, plus the variable of smallest key among the others, whose rates did not
 * change. So the callback must set key (an order among the variables: netsim's finish
 * time) for every variable it is given, and keys may change only then.
 */
typedef void (*net_mm_component_fn)(void *ctx, net_mm_var *const *vars, size_t n, int last);

typedef struct net_mm_stats {
    uint64_t solves;        /* net_mm_solve calls that had work */
    uint64_t components;    /* components solved */
    uint64_t vars_solved;   /* sum over solves of variables in solved components */
    uint64_t elems_solved;  /* sum of elements visited */
    uint64_t rate_changes;  /* rates that changed */
    uint64_t resumes;       /* solves that resumed a logged fill instead of re-filling */
    uint64_t resumes_local; /* those of them taken while no variable had a bound or more
                             * than four links (maxmin.c, resume_fill) */
    uint64_t vars_refilled; /* variables those resumes re-filled */
    uint64_t resumes_pair;  /* local resumes of a log whose members all cross two links at
                             * weight 1 (an all-to-all through one switch: unrolled) */
} net_mm_stats;

/* System over n_cnst links with capacities cap_Bps[0..n_cnst) (copied). naive != 0 makes
 * every solve a full naive solve (the reference). *out owned by caller. */
sim_code net_mm_create(size_t n_cnst, const double *cap_Bps, int naive, net_mm_system **out,
                       sim_status *st);
void net_mm_destroy(net_mm_system *s); /* accepts NULL */

/* Makes room for n enabled variables in the solver's scratch, so that only a link's user
 * array can still grow when one is enabled. NOMEM. */
sim_code net_mm_reserve(net_mm_system *s, size_t n, sim_status *st);
/* Adds var (elements filled in) to the sharing; its rate is undefined until the next solve.
 * Fails only on NOMEM (a link's user array must grow), leaving var disabled. */
sim_code net_mm_var_enable(net_mm_system *s, net_mm_var *var, sim_status *st);
/* Removes var from the sharing; its links are re-solved at the next solve. */
void net_mm_var_disable(net_mm_system *s, net_mm_var *var);
/* Changes a link's capacity (> 0); re-solved at the next solve. */
void net_mm_cnst_set_capacity(net_mm_system *s, int32_t cnst, double cap_Bps);
double net_mm_cnst_capacity(const net_mm_system *s, int32_t cnst);
/* Sum of w * rate over the link's users (as of the last solve). */
double net_mm_cnst_load(const net_mm_system *s, int32_t cnst);
size_t net_mm_cnst_users(const net_mm_system *s, int32_t cnst);

/* Whether a solve has work pending. */
int net_mm_dirty(const net_mm_system *s);
/* Re-solves what changed and calls cb per re-solved component. Never fails (scratch space
 * is reserved by enable). */
void net_mm_solve(net_mm_system *s, net_mm_component_fn cb, void *ctx);
const net_mm_stats *net_mm_get_stats(const net_mm_system *s);

#endif
