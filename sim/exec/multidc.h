/*
 * multidc.h: training across datacenters (a config's cross_dc section).
 *
 *   sync, pipeline   one job over all the sites, replayed as it is: DP groups span the sites
 *                    (gradients reduced hierarchically: inside each site, across the WAN,
 *                    inside again), or pipeline stages do (activations cross the WAN).
 *   diloco           every site trains its own replica for H inner steps, then an outer
 *                    sync all-reduces the pseudo-gradients (every parameter, in the payload
 *                    type) across the sites, and the outer optimizer runs. outer_update:
 *                    blocking (the round waits), delayed or eager (the sync overlaps the
 *                    next round's H steps; Kale et al. 2025), async (sites at their own
 *                    pace, at most max_staleness rounds ahead: a round-level model).
 *   streaming-diloco the model in F fragments synchronized in turn, one every H / F inner
 *                    steps; each fragment's sync overlaps the next max_delay inner steps.
 * Every site's replica is replayed side by side in one engine when the sites differ (chip
 * model, size, batch, stragglers; the step waits for the slowest), else one site's stands
 * for all. The outer sync runs on the whole topology: every group of ranks holding the same
 * parameters (equal tp, cp and pp coordinates, every dp rank of every site) all-reduces its
 * share hierarchically by site, all groups at once, so they share the WAN and the site
 * fabrics as they would. A sync that overlaps inner steps (streaming, delayed, eager) is
 * co-simulated by default (replay: shortcut or full): it runs beside the inner steps of
 * every site in exec's engine, so both slow each other on the links they share; the
 * shortcut replays one fragment's window and counts the steps that overlap nothing as
 * multiples of one step alone (exact, since steps are identical between barriers). replay:
 * composed adds the parts alone instead:
 *   blocking:  exposed = outer sync + outer optimizer step
 *   overlapped: exposed = F x max(0, sync - max_delay x inner step) + optimizer
 */
#ifndef SIM_EXEC_MULTIDC_H
#define SIM_EXEC_MULTIDC_H

#include "exec/exec.h"

/* One outer sync (a fragment's for streaming) in a round, as replayed. Rounds are alike in
 * the simulator (steps are identical), so one round's syncs stand for every round's. */
typedef struct mdc_sync {
    int64_t fragment;       /* its index in the round (0: diloco's whole sync) */
    int64_t count;          /* syncs per round it stands for: F for the shortcut's one
                               replayed fragment (the others are alike), else 1 */
    double start_s, end_s;  /* from the start of the round's first inner step */
    double alone_s;         /* the same sync alone on an idle network */
    double exposed_s;       /* of it, the time an inner step waited for it */
    double hidden_s;        /* of it, the time behind inner steps */
    int64_t steps_beside;   /* inner steps that started before it ended */
    double inner_beside_s;  /* their mean duration (0: none) */
    double wan_bytes;       /* over all WAN links */
} mdc_sync;

typedef struct mdc_result {
    plan_xdc scheme;
    plan_xdc_replay replay;     /* how the round was found (composed when nothing overlaps the
                                   outer sync) */
    int64_t staleness_steps;    /* inner steps between computing an outer gradient and applying
                                   it: 0 blocking, max_delay streaming, H delayed or eager (whose
                                   local part is applied at once) */
    double inner_step_s;        /* one (inner) step alone */
    double inner_beside_s;      /* one inner step beside a fragment's sync (streaming,
                                   co-simulated; else inner_step_s) */
    double compute_s;           /* mean compute per rank per (inner) step */
    double outer_sync_s;        /* one full outer sync alone (diloco); one fragment's
                                   (streaming); 0 for sync and pipeline */
    double outer_sync_cosim_s;  /* a fragment's sync beside the inner steps (streaming,
                                   co-simulated; else outer_sync_s) */
    double outer_opt_s;         /* the outer optimizer step */
    double exposed_s, hidden_s; /* outer sync time per round exposed and hidden */
    double round_s;             /* H inner steps and the outer sync (one step for sync) */
    double compute_util;        /* compute time / wall time */
    double mfu, tokens_per_s;   /* over whole rounds */
    double *wan_bytes;          /* [links]: bytes per round on each link (WAN links matter) */
    size_t n_links;
    /* DiLoCo schemes: per site, its inner step (from its last rank's end) and the time per
     * round it waits for the slowest site (H x the difference); NULL for sync and pipeline.
     * Alike sites (same chip model, no stragglers) are replayed as one: equal figures. */
    double *site_step_s, *site_idle_s;
    mdc_sync *syncs; /* [n_syncs]: the round's outer syncs, in order; none for sync and
                        pipeline */
    /* async (sites at their own pace): per update, the other sites' updates applied between
     * the site's fetch (its round's start) and its own push, mean and max; rounds each site
     * finished in the model's time (the slowest finishes plan rounds) */
    double stale_mean;
    int64_t stale_max;
    int64_t *site_rounds;
    int64_t n_syncs;
    int64_t n_sites;
    bool unlike; /* the sites differ: every site was replayed */
} mdc_result;

/*
 * Runs p's scheme: the replay r (filled as exec_run does, for the inner step of DiLoCo or the
 * whole job otherwise) and the cross-datacenter figures m. Both owned by the caller
 * (exec_result_free, mdc_result_free). Errors as exec_run; on error nothing stays allocated
 * in either.
 */
sim_code mdc_run(plan *p, const exec_opts *opts, exec_result *r, mdc_result *m, sim_status *st);
void mdc_result_free(mdc_result *m);

/*
 * The outer sync alone on p's whole topology: every parameter group all-reduces fraction of
 * its parameters in the payload type. *sync_s gets its duration; link_bytes[links] (may be
 * NULL) gets the bytes each link carried. p must be a DiLoCo plan.
 */
sim_code mdc_outer_sync(plan *p, double fraction, double *sync_s, double *link_bytes,
                        sim_status *st);

#endif
