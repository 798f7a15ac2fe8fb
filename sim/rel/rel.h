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

#include <stdint.h>
#include <stddef.h>

#include "core/status.h"

/* A law of durations, by its mean: exponential; Weibull of shape k (k < 1: infant
 * mortality, k > 1: wear-out); lognormal of log-spread sigma (repair times). */
typedef enum rel_dist { REL_EXPONENTIAL = 0, REL_WEIBULL, REL_LOGNORMAL } rel_dist;

typedef struct rel_law {
    rel_dist dist;
    double mean_s; /* > 0; INFINITY: never */
    double shape;  /* Weibull's k, lognormal's sigma; unused for exponential */
} rel_law;

/* What a failure of a class does to the job. */
typedef enum rel_effect { REL_STOP = 0, REL_DEGRADE } rel_effect;

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
} rel_class;

#endif
