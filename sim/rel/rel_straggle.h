/*
 * rel_straggle.h: stragglers across a run (issue 16): what slow chips cost a synchronous
 * job's step, over many draws of which chips are slow, and what replacing the slowest nodes
 * buys.
 *
 * The model. A straggler is a chip whose every compute op takes a factor >= 1 times as long
 * (thermal throttling, a degraded link seen as a slower chip; communication is not slowed):
 * the config's `stragglers` section (workload/plan.h, README "Stragglers"), its `slow`
 * names fixed and its `fraction` of the chips drawn per seed (plan_draw_slowdown). Factors
 * are static over a run: a chip throttled at the start stays so, so one replayed step stands
 * for every step of the run. The replay is synchronous (exec/exec.h): every collective
 * starts when its slowest member reaches it, so a slow chip gates its tp, pp and dp groups,
 * and through the step barrier the whole job.
 *
 * rel_straggle_run replays the plan with no stragglers (the baseline), then once per seed
 * (run.seed, run.seed + 1, ...) with that seed's factors: the step-time distribution over the
 * draws. For each k of opts.drop it replays every draw again with the k slowest nodes
 * replaced by healthy ones (their chips' factors set back to 1; a node is ranked by its
 * slowest chip, ties to the lower chip id): the step a fleet that swaps out its k worst hosts
 * would see. A replay whose factors equal one already made (k beyond the slowed nodes: the
 * baseline's; a k that replaces no more nodes than a smaller k did) is not run again: the
 * replay is deterministic, so it would give the same step.
 *
 * A node is a host: the chips of one site sharing topo_chip_node (an explicit graph's chip
 * is its own node). Only the chips the replay uses count (ranks run on chips 0.. in order;
 * DiLoCo schemes replay every replica's inner step side by side, the outer sync is not
 * replayed).
 */
#ifndef SIM_REL_STRAGGLE_H
#define SIM_REL_STRAGGLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "exec/exec.h"
#include "topo/topo.h"
#include "workload/plan.h"

#define REL_STRAGGLE_MAX_SEEDS 100000
#define REL_STRAGGLE_MAX_DROP 32

typedef struct rel_straggle_opts {
    int64_t seeds;         /* draws, 1 to REL_STRAGGLE_MAX_SEEDS: seeds run.seed, run.seed + 1,
                              ... */
    const int64_t *drop;   /* [n_drop]: node counts k >= 1 to replace; borrowed */
    size_t n_drop;         /* at most REL_STRAGGLE_MAX_DROP */
    const exec_opts *exec; /* bounds, memory limit, solver; borrowed, NULL: defaults. Its
                              slowdown and replicas are replaced; its trace is not used */
} rel_straggle_opts;

typedef struct rel_straggle_result {
    double baseline_s;     /* the step with no stragglers */
    int64_t draws;
    uint64_t first_seed;   /* run.seed: draw i used first_seed + i */
    double *step_s;        /* [draws]: each draw's step, in seed order */
    int64_t *slow_chips;   /* [draws]: used chips with a factor above 1 */
    int64_t *slow_nodes;   /* [draws]: used nodes with such a chip */
    double mean_s, min_s, max_s, p50_s, p90_s, p99_s; /* over the draws (GSL statistics:
                              quantiles interpolated between the sorted steps) */
    size_t n_drop;
    int64_t *drop_k;       /* [n_drop]: opts.drop's k */
    double *drop_s;        /* [n_drop]: mean over the draws of the step with the k slowest
                              nodes replaced */
    double *drop_step_s;   /* [n_drop x draws]: draw i's step with drop_k[j] nodes replaced at
                              [j x draws + i] */
    int64_t chips, nodes;  /* used by the replay */
    int64_t replays;       /* exec_run calls made */
} rel_straggle_result;

/*
 * Replays p (borrowed; its topology is used, nothing in it changes) as described above into
 * *r, zeroed here and owned by the caller (rel_straggle_result_free, also after an error).
 * Errors: SIM_ERR_INPUT for opts out of range (seeds, drop's length or a k below 1);
 * exec_run's (SIM_ERR_LIMIT for a replay above the memory limit, and for one that stopped
 * at opts.exec's bounds); SIM_ERR_NOMEM.
 */
sim_code rel_straggle_run(plan *p, const rel_straggle_opts *o, rel_straggle_result *r,
                          sim_status *st);
void rel_straggle_result_free(rel_straggle_result *r); /* accepts NULL; zeroes *r */

/*
 * f with the k slowest nodes among chips [0, chips) of t replaced: out (caller-owned,
 * [topo_chip_count(t)]) is f, except that every chip of those nodes is 1. Nodes are ranked
 * by their slowest chip's factor, ties to the lower chip id; only nodes with a factor above 1
 * are replaced, so *replaced (may be NULL) is min(k, the slowed nodes). out may be f.
 * Errors: SIM_ERR_NOMEM.
 */
sim_code rel_straggle_drop(const topo *t, int64_t chips, const double *f, int64_t k,
                           double *out, int64_t *replaced, sim_status *st);

/* The chips a replay of p uses: plan_ranks, or every DiLoCo replica's. */
int64_t rel_straggle_chips(const plan *p);

#endif
