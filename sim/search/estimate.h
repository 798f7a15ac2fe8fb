/*
 * estimate.h: a fast analytical step time for a plan, without the event engine: what
 * `clustersim search` ranks its candidates by before it replays the best (issue 17).
 *
 * One rank's program is walked (the last stage's first rank, as plan_totals does): every
 * compute op timed alone by exec_op_seconds (the replay's own formula), every collective by
 * the alpha-beta form of nccl-tests: launch + size x busbw_factor(kind, n) / busbw, where
 * busbw is the slowest link on the route from a member of the rank's group to a member on
 * another node (or to its neighbour, when the group is inside one node) times the chip's
 * protocol efficiency for that kind of link (scale_up, nvls for an all-reduce where the
 * switch reduces, scale_out). Nothing contends: links are the group's alone.
 *
 * Exposure follows each item's placement in the program: a synchronous collective or a
 * pipeline send adds its time; a collective beside the next op (TP overlap) adds what the
 * op does not cover; gradient reductions that run beside the backward passes (overlap
 * grad reduce) add what the last micro-batch's backward (its share of the chunk) does not
 * cover. The pipeline bubble scales the rank's busy time by 1 + (pp - 1) / (m vp).
 */
#ifndef SIM_SEARCH_ESTIMATE_H
#define SIM_SEARCH_ESTIMATE_H

#include "core/status.h"
#include "workload/plan.h"

typedef struct search_estimate {
    double step_s;        /* estimated step */
    double mfu;           /* model FLOPs / (chips x peak x step) */
    double compute_s;     /* the rank's compute ops */
    double exposed_s;     /* its communication the compute does not hide */
    double hidden_s;      /* its asynchronous gradient reductions in all */
    double bubble_s;      /* the pipeline's idle share of the step */
    double memory_bytes;  /* the worst rank's memory (wl_memory_per_rank) */
} search_estimate;

/*
 * Estimates p's step into *out. Errors: SIM_ERR_INPUT when a route between two of the
 * rank's group members fails (an explicit graph that does not connect them); SIM_ERR_NOMEM.
 */
sim_code search_estimate_plan(plan *p, search_estimate *out, sim_status *st);

#endif
