/*
 * rel.h: goodput of a whole training run under failures (issue 16).
 *
 * A fleet is a list of failure classes (rel_class): a kind of component (GPU, HBM, host,
 * NIC, leaf, spine or core switch, cable, software), how many the job uses, the law of one
 * component's time to failure, and what a failure does: stop the job (it restarts from the
 * last checkpoint, without the nodes the failure took out) or slow it while the part is
 * repaired (a spine switch: the fabric keeps running at less bandwidth). rel_fleet.h builds
 * the classes from a plan's chips and topology; rel_simulate draws one training run's
 * failures and recoveries on top of a replayed step time (Monte Carlo, one seed per run);
 * the closed forms (Young 1974, Daly 2006) are the analytical cross-check.
 */
#ifndef SIM_REL_REL_H
#define SIM_REL_REL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* A law of durations, by its mean: exponential; Weibull of shape k (k < 1: infant
 * mortality, k > 1: wear-out); lognormal of log-spread sigma (repair times). */
typedef enum rel_dist { REL_EXPONENTIAL = 0, REL_WEIBULL, REL_LOGNORMAL } rel_dist;

typedef struct rel_law {
    rel_dist dist;
    double mean_s; /* > 0; INFINITY: never */
    double shape;  /* Weibull's k, lognormal's sigma; unused for exponential */
} rel_law;

/* What a failure of a class does to the job: stop it (back to the last checkpoint, then a
 * restart), slow it while the part is repaired, or pause it until the part is repaired
 * with no work lost (a WAN link under DiLoCo: the next outer sync waits for it). */
typedef enum rel_effect { REL_STOP = 0, REL_DEGRADE, REL_STALL } rel_effect;

#define REL_NAME_MAX 32

typedef struct rel_class {
    char name[REL_NAME_MAX]; /* "gpu", "hbm", "host", "nic", "leaf", "spine", "core",
                                "cable", "software", ... */
    int64_t count;           /* components of the kind the job depends on */
    rel_law life;            /* one component's time to failure */
    rel_effect effect;
    int64_t nodes;           /* REL_STOP: nodes a failure takes out of the job (1 for a GPU,
                                its host, its NIC; the nodes below a leaf switch; 0 for a
                                software failure, which takes none) */
    double slowdown;         /* REL_DEGRADE: the step takes 1 + slowdown times as long while
                                the part is down (from a replay without it) */
    rel_law repair;          /* time to repair a failed part (its nodes back in the spare
                                pool; a degraded fabric whole again) */
    bool wait_repair;        /* REL_STOP: the restart waits for this part's repair (no spare
                                stands in: a site's only WAN link) */
} rel_class;

/* A training run: its work and how it checkpoints and recovers. */
typedef struct rel_job {
    double step_s;        /* one training step, replayed */
    int64_t steps;        /* steps to train */
    int64_t ckpt_steps;   /* steps between checkpoints; 0: none */
    double ckpt_block_s;  /* training stops this long per checkpoint: the synchronous write, or
                             an asynchronous checkpoint's snapshot to host memory */
    double ckpt_drain_s;  /* asynchronous: the snapshot's write in the background, after which
                             the checkpoint is usable; 0: synchronous */
    double detect_s;      /* from a failure to the job noticing it */
    double restart_s;     /* rescheduling, process start, communicator set-up */
    double reload_s;      /* reading the checkpoint back */
    double warmup_s;      /* until the first step runs at speed again */
    int64_t spare_nodes;  /* hot spares that replace failed nodes at once (they return to the
                             pool when repaired); 0: a restart waits for the repair */
} rel_job;

/* One interruption of a run (a stopping failure). */
typedef struct rel_interruption {
    double t_s;     /* when it struck */
    int32_t cls;    /* its class */
    int64_t nodes;  /* nodes it took out */
    double lost_s;  /* training thrown away: back to the last usable checkpoint */
    double down_s;  /* from the failure to training again, as planned at the failure (a
                       later failure may cut it short and start its own) */
} rel_interruption;

/* One simulated run (one seed). Arrays [n_classes] and the log owned (rel_run_free). */
typedef struct rel_run {
    double wall_s;          /* to train every step */
    double ettr;            /* work (steps x step) / wall */
    int64_t interruptions;  /* stopping failures */
    int64_t degradations;   /* failures that slowed the job */
    int64_t stalls;         /* failures that paused it (REL_STALL) */
    int64_t checkpoints;    /* checkpoints taken (usable or not) */
    double ckpt_s;          /* training stopped for checkpoints */
    double drain_wait_s;    /* waiting for the previous asynchronous checkpoint's write */
    size_t n_classes;
    int64_t *failures;      /* per class: failures while training (stops and degradations) */
    double *lost_s;         /* per class: training thrown away */
    double *down_s;         /* per class: time down (detection to warm-up, repair waits) */
    double *slow_s;         /* per class: time lost to running slower while degraded */
    rel_interruption *log;  /* the interruptions in order, when asked for */
    size_t n_log;
} rel_run;

/*
 * Simulates one training run of job j on a fleet of n classes, seed `seed` (its own random
 * streams: the same seed gives the same run, log and all). Time runs from a fresh fleet at
 * 0 until every step is done. Each class fails as a whole fleet: exponential lifetimes as a
 * Poisson process of rate count / mean; Weibull lifetimes as a non-homogeneous Poisson
 * process of intensity count x the Weibull hazard (each component fails at most once,
 * which holds while the run is short next to a component's mean life). Failures strike in
 * any phase: training, checkpoint, recovery. A stopping failure throws away the work since
 * the last usable checkpoint and takes the job down for detect + restart (or until its
 * nodes are replaced, whichever is later; with wait_repair, not before the part is
 * repaired) + reload + warm-up; a degrading one slows every step by 1 + slowdown until
 * repaired; a stalling one pauses training until repaired, losing nothing. keep_log: fill
 * out->log. Errors: SIM_ERR_INPUT for a lifetime law other than exponential or Weibull, or
 * a run that has not finished after 1,000 times its work (failures faster than
 * recoveries); SIM_ERR_NOMEM.
 */
sim_code rel_simulate(const rel_job *j, const rel_class *c, size_t n, uint64_t seed,
                      int keep_log, rel_run *out, sim_status *st);
void rel_run_free(rel_run *r);

/* The fleet's mean time between stopping failures, exponential classes only (a Weibull
 * class counts its mean life): 1 / sum(count / mean). INFINITY when none stop. */
double rel_fleet_mtbf_s(const rel_class *c, size_t n);

/* Young (1974): the checkpoint interval sqrt(2 delta M) for checkpoint cost delta and MTBF M.
 * Daly (2006, "A higher order estimate of the optimum checkpoint interval for restart
 * dumps", FGCS 22): sqrt(2 delta M) (1 + sqrt(delta / 2M) / 3 + delta / 18M) - delta for
 * delta < 2M, else M. */
double rel_young_interval_s(double mtbf_s, double ckpt_s);
double rel_daly_interval_s(double mtbf_s, double ckpt_s);

/*
 * Daly's expected wall time for work_s of work, checkpoints of ckpt_s every tau_s of work,
 * restarts of restart_s, exponential failures of mean mtbf_s striking at any time (a
 * failure in a restart starts it again): each segment of length L (work and its
 * checkpoint; the last has no checkpoint) takes M e^{R/M} (e^{L/M} - 1) on average. ETTR is
 * work_s over it.
 */
double rel_daly_wall_s(double work_s, double tau_s, double ckpt_s, double restart_s,
                       double mtbf_s);

#endif
