/*
 * rel_goodput.h: a whole training run of a plan under failures, from its config's
 * reliability section (workload/plan.h: plan_reliability): what `clustersim goodput` runs
 * (issue 16).
 *
 * The step is replayed once (exec_run; or the section's step_time), the fleet's failure
 * classes are built from the plan's chips and topology (rel_fleet_build: a degraded
 * fabric's slowdown from one more replay each), the checkpoint's size and costs come from
 * the model and the storage tier (rel_ckpt.h), and then, for each checkpoint interval, the
 * Monte Carlo of rel_simulate runs once per seed on top of that one step time. Every
 * interval draws with the same seeds (common random numbers), so intervals compare on the
 * same failures.
 *
 * The checkpoint interval is the section's save_interval or, with 'auto', Daly's optimum
 * (rel_daly_interval_s) for the fleet's MTBF (stopping classes) and the checkpoint's cost:
 * the synchronous write, or with async_save the snapshot that training waits for. A sweep
 * adds intervals around it (Daly's x 1/8 ... 8) and reports which simulates best.
 *
 * Figures per interval: ETTR (work / wall) and the wall time to train, each with its mean,
 * spread and 95% confidence interval over seeds (Student's t, core/rng.h sim_stats),
 * goodput in tokens per second (the tokens over the mean wall), interruptions and
 * degradations per day, and per class the failures and the time lost (work thrown away,
 * down time, slow time). Daly's closed form at the same interval (exponential stopping
 * failures, constant restart: detect + restart + reload + warm-up) is the analytical
 * cross-check; its assumptions hold for exponential stopping classes, synchronous
 * checkpoints and enough spares.
 */
#ifndef SIM_REL_REL_GOODPUT_H
#define SIM_REL_REL_GOODPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"
#include "exec/exec.h"
#include "exec/multidc.h"
#include "rel/rel.h"
#include "workload/plan.h"

/* Daly's interval times these factors, in the interval sweep (rel_goodput_opts.sweep). */
#define REL_SWEEP_FACTORS 9

typedef struct rel_goodput_opts {
    int64_t seeds;             /* > 0: instead of the section's */
    const int64_t *intervals;  /* save intervals (steps) to simulate besides the main one */
    size_t n_intervals;
    bool sweep;                /* add Daly's interval x 1/8, 1/4, 1/2, 1/sqrt2, 1, sqrt2, 2,
                                  4, 8 (the distinct ones of 1 step or more) */
    int64_t log_seeds;         /* keep the interruption log of the first log_seeds seeds of
                                  the main interval (0: none) */
    const exec_opts *exec;     /* options of the replays (borrowed); NULL: defaults */
} rel_goodput_opts;

/* One checkpoint interval over every seed. */
typedef struct rel_goodput_point {
    int64_t save_interval;     /* steps between checkpoints */
    const char *source;        /* "set" (the section's), "daly" (auto), "sweep", "option" */
    double interval_s;         /* save_interval x step */
    sim_stats ettr, wall_s;    /* over seeds */
    double goodput_tokens_per_s; /* tokens / mean wall */
    double interruptions_per_day, degradations_per_day, stalls_per_day; /* means over mean
                                                                            wall days */
    double checkpoints, ckpt_s, drain_wait_s; /* means per run */
    double daly_ettr;          /* Daly's closed form at this interval */
    /* per class, means per run: */
    double *failures, *lost_s, *down_s, *slow_s; /* [n_classes] */
    rel_run *runs;             /* [seeds], the first log_seeds with their logs (main only) */
    int64_t n_runs;
} rel_goodput_point;

typedef struct rel_goodput_result {
    double step_s;             /* the replayed (or given) step */
    bool replayed;             /* false: the section's step_time */
    exec_result replay;        /* the replay (when replayed), for the database */
    mdc_result mdc;            /* its cross-datacenter figures (cross_dc plans) */
    bool cross_dc;             /* the plan has a cross_dc scheme (mdc_run replayed it) */
    double tokens_per_step, tokens;
    int64_t steps;
    double work_s;             /* steps x step */
    int64_t chips, hosts, spare_nodes; /* the job's chips and nodes, its hot spares */
    double ckpt_bytes, ckpt_write_s, ckpt_snapshot_s, reload_s;
    double ckpt_block_s, ckpt_drain_s; /* as the job pays them (sync or async) */
    double recovery_s;         /* detect + restart + reload + warm-up, with a spare */
    rel_class *classes;
    size_t n_classes;
    double mtbf_s;             /* the fleet's, stopping classes (rel_fleet_mtbf_s) */
    double young_s, daly_s;    /* the intervals in seconds, for the checkpoint's block */
    int64_t daly_steps;        /* Daly's in steps (1 or more) */
    int64_t seeds;
    uint64_t seed0;            /* run.seed: seeds seed0 .. seed0 + seeds - 1 */
    rel_goodput_point *points;
    size_t n_points;
    size_t main;               /* the section's interval (or Daly's): points[main] */
    size_t best;               /* the point of the highest mean ETTR */
    double replay_wall_s, fleet_wall_s, mc_wall_s; /* wall seconds of each part */
} rel_goodput_result;

/*
 * Runs p's reliability section (defaults without one) into *out (caller-owned; free with
 * rel_goodput_free, also after an error). A cross-datacenter plan is replayed by mdc_run:
 * its step is a whole round over H for the DiLoCo schemes (the outer syncs count), and its
 * WAN links fail as the wan class (rel_fleet.h); with a given step_time, a DiLoCo step
 * trains every replica's batch. Errors: those of exec_run, mdc_run, rel_fleet_build and
 * rel_simulate; SIM_ERR_LIMIT when a replay stops at a bound of o->exec; SIM_ERR_NOMEM.
 */
sim_code rel_goodput_run(plan *p, const rel_goodput_opts *o, rel_goodput_result *out,
                         sim_status *st);
void rel_goodput_free(rel_goodput_result *g);

#endif
