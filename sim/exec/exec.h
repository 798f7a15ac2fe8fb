/*
 * exec.h: the replay executor: runs every rank's step program on the simulated cluster.
 *
 * Each rank executes its program (workload/plan.h) in order on one compute stream. Compute
 * ops take the chip model's time: max(FLOPs / (peak x eff), HBM bytes / (HBM bandwidth x
 * eff_mem)) + EXEC_LAUNCH_PS, with the fp8 peak for GEMMs of fp8 workloads; eff is
 * hw_chip_gemm_eff of the op's smallest dimension for GEMMs and unfused attention, the
 * chip's eff_attention for fused (flash) attention when it has one (else as a GEMM), times
 * its eff_attention_dropout when the kernel drops out scores (wl_op.dropout), and
 * eff_gemm for the arithmetic of other ops. A collective
 * starts when every member of its group has reached it (the slowest member gates the group)
 * and runs on the network (coll/coll.h); synchronous collectives (tp, cp, ep, ZeRO-3
 * parameter gathers) hold the compute stream until they end; data-parallel gradient
 * reductions are asynchronous: the stream goes on and a WAIT item (before the optimizer)
 * waits for them. Pipeline sends start at once (buffered); a receive waits for its message.
 *
 * Time a rank's compute stream spends waiting is split by cause:
 *   exposed[dim]  a collective of that dimension running (from its start to its end), a
 *                 pipeline message in flight (pp), the wait for gradient reductions (dp)
 *   idle          waiting for the other members of a collective to arrive
 *   bubble        waiting for a pipeline message that has not been sent yet
 * Steps: `warmup` steps then `steps` measured steps, each starting when the previous one has
 * finished on every rank. Figures are averages over the measured steps.
 */
#ifndef SIM_EXEC_H
#define SIM_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coll/coll.h"
#include "core/status.h"
#include "workload/plan.h"

/* Launch overhead added to every compute op. */
#define EXEC_LAUNCH_PS 2000000
/* The longest one op may take (a day): longer means an efficiency or peak near zero. */
#define EXEC_MAX_OP_S 86400.0

typedef struct exec_rank_stats {
    double compute_s, idle_s, bubble_s, exposed_s[PLAN_DIM_COUNT]; /* per measured step */
    double peak_memory_bytes;
} exec_rank_stats;

typedef struct exec_step {
    double start_s, end_s; /* end of the previous step (the barrier), end of this one */
    double held_s;         /* of which the start was held by exec_opts.side */
    double exposed_s[PLAN_DIM_COUNT], bubble_s; /* mean over ranks */
} exec_step;

typedef struct exec_coll_rec {
    int64_t step;
    coll_kind kind;
    plan_dim dim; /* reported under */
    coll_algo algo;
    int64_t group_size;
    double bytes, start_s, end_s;
} exec_coll_rec;

typedef struct exec_result {
    int64_t steps;        /* measured */
    exec_step *step_rows; /* [warmup + steps], warm-up rows first */
    int64_t n_step_rows;
    exec_rank_stats *ranks; /* [plan ranks] */
    double step_time_s, tokens_per_s, mfu, hfu;
    double *link_bytes;   /* [links]: bytes during the measured steps */
    double *replica_s;    /* [n_replicas]: mean over the measured steps of the time from a
                             step's start (after a hold) to the end of the replica's last rank */
    int64_t n_replicas;
    double measured_s;    /* wall of the measured steps in simulated seconds */
    exec_coll_rec *colls; /* collectives whose group holds rank 0, all steps */
    size_t n_colls;
    uint64_t events;
    double wall_s;
    bool stopped;         /* the run hit a bound (max events / wall) */
} exec_result;

/* The run in progress, as exec_opts.side sees it. */
typedef struct exec_run_ctl exec_run_ctl;

/*
 * Work beside the training steps, in the same engine and on the same network (the outer
 * syncs of streaming DiLoCo, multidc.c). At the start of every step, before its ranks go,
 * step_begin may start collectives of its own on ce (with their own callbacks), and then
 * lets the step go, holds it until it calls exec_side_release(run), or ends the run there
 * (the step and those after it never run: step rows end at it, and the per-rank figures
 * stay divided by the planned steps). A failure inside its callbacks goes to exec_side_fail,
 * which stops the run with that status.
 */
typedef enum exec_side_go { EXEC_SIDE_GO = 0, EXEC_SIDE_HOLD, EXEC_SIDE_END } exec_side_go;

typedef struct exec_side {
    void *user;
    exec_side_go (*step_begin)(void *user, exec_run_ctl *run, coll_engine *ce, int64_t step);
} exec_side;

void exec_side_release(exec_run_ctl *run);
void exec_side_fail(exec_run_ctl *run, const sim_status *st);
double exec_side_now(const exec_run_ctl *run); /* simulated seconds */

typedef struct exec_opts {
    uint64_t max_events; /* 0 = none */
    double max_wall_s;   /* 0 = none */
    bool progress;       /* print a progress line on stderr */
    const hw_chip *chip; /* replaces the topology's chip model (calibration); NULL = none */
    struct trace *trace; /* out/trace.h: events of the selected ranks; NULL = none */
    double mem_limit_bytes; /* refuse a replay whose estimate exceeds it; 0 = physical memory */
    bool naive_solver;      /* every network solve by the reference solver (tests) */
    /* Replicas of the plan's ranks replayed side by side, each its own job (DiLoCo's sites):
     * replica s's rank i runs on chip s x plan_ranks + i. 0 or 1: the plan alone. Results
     * cover all replicas (ranks[] has replicas x plan_ranks entries; tokens/s counts every
     * replica's batch); collective records keep replica 0's. */
    int64_t replicas;
    /* steps > 0 replaces the plan's run section: warmup unmeasured steps, then steps. */
    int64_t warmup, steps;
    const exec_side *side; /* NULL: none */
    /* The last step ends as it starts (after the side's hold, if any): it runs nothing and
     * only measures the hold; its rank figures are zero. */
    bool end_at_last_start;
    /* [replicas x plan_ranks]: every op of rank i takes slowdown[i] x its time (stragglers,
     * >= 1); NULL: the plan's (plan_slowdown: the config's stragglers section), if any. */
    const double *slowdown;
} exec_opts;

/* Estimated bytes a replay of p needs (ranks' state, the network model's per-link state,
 * collectives and messages in flight): what exec_run compares with the memory limit.
 * replicas as exec_opts (0 or 1: the plan alone). */
double exec_memory_estimate(const plan *p, int64_t replicas);

/* Seconds a compute op takes on chip alone (the formula above, launch included). */
double exec_op_seconds(const hw_chip *chip, const wl_op *op, bool fp8);

/* Replays p (borrowed; its topology is used). On SIM_OK (a stopped run included) *out is
 * filled and owned by the caller (exec_result_free). On an error *out holds nothing: it is
 * left zeroed, with nothing allocated (calling exec_result_free on it is harmless). Errors:
 * SIM_ERR_LIMIT, before anything is allocated, when exec_memory_estimate exceeds the limit
 * (the message gives the estimate); SIM_ERR_NOMEM; a collective's routing error (a phase
 * that cannot be routed stops the run with it); SIM_ERR_INTERNAL (a deadlock: ranks left
 * waiting with no event pending). */
sim_code exec_run(plan *p, const exec_opts *opts, exec_result *out, sim_status *st);
void exec_result_free(exec_result *r); /* accepts NULL; zeroes *r */

#endif
