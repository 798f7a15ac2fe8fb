/*
 * plan_totals.h: the step totals of a plan (workload/plan.h): parameters, FLOPs, tokens,
 * the worst rank's memory, the pipeline bubble, and each dimension's bytes per rank,
 * counted by walking a rank's program (workload/plan_prog.h), as `clustersim plan` and the
 * run summary print them.
 */
#ifndef SIM_WORKLOAD_PLAN_TOTALS_H
#define SIM_WORKLOAD_PLAN_TOTALS_H

#include <stdbool.h>

#include "core/status.h"
#include "workload/model.h"
#include "workload/plan_place.h"

typedef struct plan_totals {
    double params, model_flops, hardware_flops, tokens;
    wl_memory memory; /* worst rank */
    double hbm_bytes; /* of the chip */
    bool fits; /* the worst rank's memory fits the chip's HBM (or the chip is unknown) */
    double bubble_fraction;
    /* Bytes each rank sends per step on each dimension (its buffers, summed over the step's
     * collectives and sends, per nccl-tests size convention). */
    double bytes_per_dim[PLAN_DIM_COUNT];
    double items_per_rank; /* program length of the last stage's first rank */
} plan_totals;

/* Walks the program of the last stage's first rank (rank 0 with pp 1) to total its traffic;
 * memory from the model. *out is the caller's. Errors: those of wl_memory_per_rank. */
sim_code plan_totals_compute(const plan *p, plan_totals *out, sim_status *st);

#endif
