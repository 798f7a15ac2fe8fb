/*
 * plan.h: an experiment config bound into a parallel plan: which chip each rank runs on,
 * which ranks form each parallel group, and what each rank does in one training step.
 *
 * Config file (YAML; paths resolve relative to the config file):
 *   name: quickstart
 *   topology: ../topologies/h100-64.yaml
 *   workload: ../workloads/llama3-8b.yaml
 *   parallelism:
 *     tp: 8, pp: 1, cp: 1, ep: 1      # default 1
 *     dp: 8                           # default: the chips used / (tp pp cp)
 *     chips: 64                       # chips used, from chip 0 (default: all)
 *     virtual_stages: 1               # model chunks per pipeline rank (interleaved)
 *     first_stage_layers: 7           # uneven pipelines: layers of the first and last
 *     last_stage_layers: 7            # stages, the rest shared equally (also named
 *                                     # decoder_first/last_pipeline_num_layers)
 *     pipeline_model_parallel_layout: "Et|(tt|)*62tL"   # Megatron-LM's layout string
 *     microbatch_group_size_per_virtual_pipeline_stage: 16   # interleaved (default pp)
 *     schedule: 1f1b                  # gpipe | 1f1b | interleaved
 *     zero: 1                         # 0..3; or fsdp: true | PyTorch strategy name,
 *     reshard_after_forward: true     # with FSDP2's switch and the hybrid strategies'
 *     fsdp_shard_size: 8              # shard group (plan_sched.c)
 *     sequence_parallel: true
 *     cp_comm_type: p2p               # p2p (ring attention, overlapped) | all_gather
 *     tp_comm_overlap: false          # TP all-gathers / reduce-scatters pipelined with their
 *                                     # GEMMs (Transformer Engine userbuffers; needs SP)
 *     overlap_param_gather: false     # ZeRO-1/2: gather updated parameters behind the next
 *                                     # step's forward instead of waiting for them (needs
 *                                     # overlap_grad_reduce)
 *     overlap_grad_reduce: false      # reduce gradient buckets during the backward pass;
 *                                     # off: after the last micro-batch, exposed (Megatron-LM's
 *                                     # default); default true with fsdp
 *     recompute: selective            # none | selective | full
 *     placement: [tp, cp, dp, pp]     # innermost (fastest varying over chips) first
 *     micro_batch: 1                  # overrides the workload's
 *     global_batch: 512               # overrides the workload's (sequences)
 *   cross_dc:                         # several sites only
 *     scheme: sync                    # sync | pipeline | diloco | streaming-diloco
 *     inner_steps: 100                # H (diloco, streaming-diloco)
 *     payload: fp32                   # outer sync payload: fp32 | bf16 | int8 | fp4
 *     fragments: 4                    # streaming-diloco
 *     max_delay: 5                    # streaming: inner steps a fragment sync may overlap
 *   scale: {flops: 2, hbm_bw: 1.5, scale_up_bw: 1, scale_out_bw: 1, wan_bw: 1, latency: 1}
 *                                     # what-if multipliers (default 1)
 *   sweep: {...}                      # read by `clustersim sweep` only (study/sweep.c)
 *   run: {steps: 1, warmup: 1, seed: 1, alltoall: coupled}   # alltoall: coupled | direct
 *   output: {db: results.db, trace: trace.json}
 * Overrides (`--set key.path=value`) apply to the config document; those under `topology.`
 * and `workload.` apply to the topology and workload documents (key paths relative to their
 * roots) when those are given as paths.
 *
 * With cross_dc, the default placement puts dp outermost for sync (DP groups span the sites)
 * and pp outermost otherwise. For diloco and streaming-diloco the plan describes one site's
 * replica (dp, chips and batch divided by the sites), which the executor runs for the inner
 * steps, and cross_dc.total_ranks the whole job for the outer syncs.
 *
 * A plan is opaque: callers read it through the getters below. Its parts have their own
 * headers, included here so that one include serves a caller of the whole plan:
 * plan_place.h (rank placement and groups), plan_prog.h (rank programs) and plan_totals.h
 * (step totals); its layout is private to sim/workload (plan_int.h).
 */
#ifndef SIM_WORKLOAD_PLAN_H
#define SIM_WORKLOAD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/ydoc.h"
#include "topo/topo.h"
#include "workload/model.h"
#include "workload/plan_place.h"
#include "workload/plan_prog.h"
#include "workload/plan_totals.h"

/* How context parallelism moves K and V (a config's parallelism.cp_comm_type, named after
 * Megatron-LM's --cp-comm-type). */
typedef enum plan_cp_comm {
    PLAN_CP_P2P = 0,     /* ring attention: K and V pass around the cp ring while the
                            attention blocks compute, their gradients the same way backward
                            (Megatron-LM's default, Transformer Engine's p2p) */
    PLAN_CP_ALL_GATHER   /* K and V all-gathered before attention, their gradients
                            reduce-scattered after it, not overlapped (Llama 3, sec. 3.3.2) */
} plan_cp_comm;

/* Cross-datacenter schemes (a config's cross_dc section). */
typedef enum plan_xdc {
    PLAN_XDC_NONE = 0,
    PLAN_XDC_SYNC,      /* one DP job over the sites; gradients reduced every step */
    PLAN_XDC_PIPELINE,  /* pipeline stages split across the sites */
    PLAN_XDC_DILOCO,    /* a replica per site; every H steps an outer sync */
    PLAN_XDC_STREAMING  /* DiLoCo with F fragments synced in turn, overlapped */
} plan_xdc;

/* The type of DiLoCo's outer sync payload (a config's cross_dc.payload). */
typedef enum plan_payload {
    PLAN_PAYLOAD_FP32 = 0,
    PLAN_PAYLOAD_BF16,
    PLAN_PAYLOAD_INT8,
    PLAN_PAYLOAD_FP4
} plan_payload;

/* How streaming DiLoCo's round is found (multidc.h): its fragment syncs co-simulated with
 * the inner steps they overlap, one window standing for all F (shortcut) or the whole round
 * replayed (full), or composed from parts simulated alone (composed). */
/* When DiLoCo's outer gradients are applied (Kale et al. 2025, "Eager Updates For Overlapped
 * Communication and Computation in DiLoCo", arXiv 2502.12996): at once, after a blocking sync
 * (blocking); one round late, the sync overlapping the next round's inner steps (delayed);
 * or the local outer gradient at once and the all-reduced one a round late, with the same
 * communication as delayed (eager). */
typedef enum plan_outer_update {
    PLAN_OUTER_BLOCKING = 0,
    PLAN_OUTER_DELAYED,
    PLAN_OUTER_EAGER,
    PLAN_OUTER_ASYNC /* sites at their own pace, staleness bounded (a round-level model) */
} plan_outer_update;

typedef enum plan_xdc_replay {
    PLAN_REPLAY_SHORTCUT = 0,
    PLAN_REPLAY_FULL,
    PLAN_REPLAY_COMPOSED
} plan_xdc_replay;

typedef struct plan_cross_dc {
    plan_xdc scheme;
    int64_t sites;         /* sites of the topology */
    int64_t inner_steps;   /* H */
    plan_payload payload;
    double payload_bytes;  /* per parameter: 4, 2, 1, 0.5 */
    int64_t fragments;     /* F (streaming) */
    int64_t max_delay;     /* inner steps a fragment's sync may overlap (streaming) */
    plan_xdc_replay replay; /* streaming, diloco that is not blocking */
    plan_outer_update outer_update; /* diloco */
    int64_t max_staleness;  /* async: rounds a site may run ahead of the slowest's pushes */
    double round_jitter;    /* async: lognormal sigma of a site's round, drawn per round */
    int64_t rounds;         /* async: rounds of the slowest site the model runs */
    int64_t replicas;      /* DiLoCo: replicas trained apart, one per region (cross_dc.regions:
                              sync inside a region, DiLoCo across), else one per site */
    int64_t site_ranks;    /* DiLoCo: ranks of replica 0 (of every replica when alike) */
    int64_t total_ranks;   /* DiLoCo: ranks of all sites */
} plan_cross_dc;

/* YAML spellings ("streaming-diloco", "int8"); "?" for a value outside the enum. */
const char *plan_xdc_name(plan_xdc scheme);
const char *plan_payload_name(plan_payload payload);
const char *plan_xdc_replay_name(plan_xdc_replay replay);
const char *plan_outer_update_name(plan_outer_update u);

/*
 * Loads config path with overrides ov[0..n) ("parallelism.tp" = "4", origin for messages).
 * *out owned by the caller (plan_destroy). Errors: SIM_ERR_INPUT with file:line:col for
 * anything wrong in the config, topology or workload, and for a parallelism that does not
 * fit them (product of the dimensions against the chips, heads or kv heads not divisible by
 * tp, layers not divisible by pp x virtual stages, batch not divisible into micro-batches
 * of dp, experts not divisible by ep, sequence not divisible by cp, ...); SIM_ERR_LIMIT for
 * a topology too large.
 */
sim_code plan_load(const char *path, const ydoc_override *ov, size_t n, plan **out,
                   sim_status *st);
/*
 * plan_load with the topology shared: a plan of the same config with the same topology.*
 * overrides (and scale section) built it, and the new plan borrows it unchanged (shared
 * outlives the plan; the scale is not applied again). A search loads thousands of plans
 * that differ in parallelism.* alone; at 16,384 chips the topology was half of each load.
 * shared NULL: plan_load.
 */
sim_code plan_load_shared(const char *path, const ydoc_override *ov, size_t n, topo *shared,
                          plan **out, sim_status *st);
void plan_destroy(plan *p); /* accepts NULL */

/*
 * Getters. Everything returned is borrowed from the plan, valid until plan_destroy: the
 * strings and the structures are the plan's own (not copies). The topology is returned
 * without const because the collective engine routes through it (topo_route takes it
 * mutable); the plan still owns it.
 */
const char *plan_name(const plan *p);
const char *plan_config_path(const plan *p);
const char *plan_topology_path(const plan *p);
const char *plan_workload_path(const plan *p); /* the config's own path when inline */
const char *plan_db_path(const plan *p);       /* output.db resolved; "" when not set */
const char *plan_trace_path(const plan *p);    /* output.trace resolved; "" when not set */
topo *plan_topo(const plan *p);
/* The workload with the config's batch overrides; a DiLoCo plan's is one site's share. */
const wl_workload *plan_workload(const plan *p);
const wl_parallel *plan_parallel(const plan *p);
int64_t plan_ranks(const plan *p);        /* tp pp dp cp: the ranks the executor runs */
int64_t plan_microbatches(const plan *p); /* per pipeline and step */
/* The i-th dimension of the placement, innermost first (i in [0, 4)). */
plan_dim plan_placement(const plan *p, int i);
const plan_cross_dc *plan_cross_dc_of(const plan *p); /* scheme PLAN_XDC_NONE: none */
int64_t plan_steps(const plan *p);        /* measured steps (run.steps) */
int64_t plan_warmup_steps(const plan *p); /* steps run before them (run.warmup) */
uint64_t plan_seed(const plan *p);
/* How the replay models an all-to-all (run.alltoall): coupled (default), every message of
 * it at one rate as one transfer; direct, every message its own transfer (coll.h). */
typedef enum plan_alltoall { PLAN_A2A_COUPLED = 0, PLAN_A2A_DIRECT } plan_alltoall;
plan_alltoall plan_alltoall_model(const plan *p);
/*
 * The config's reliability section: the whole training run that `clustersim goodput`
 * simulates under failures (rel/). Without the section every field holds its default.
 *   tokens         tokens to train (a count: 15.6e12, or with K/M/B/T: 15.6T); default,
 *                  without steps, 20 per parameter (Hoffmann et al. 2022, Chinchilla)
 *   steps          steps to train instead (exactly one of tokens and steps)
 *   save_interval  steps between checkpoints (Megatron-LM's --save-interval) or 'auto'
 *                  (default): Daly's optimum for the fleet's MTBF and the checkpoint's cost
 *   async_save     Megatron-LM's --async-save (default false): training stops only for the
 *                  snapshot to host memory, the write drains behind the steps
 *   detect, restart, warmup   durations of a recovery (defaults 2 min, 8 min, 2 min)
 *   spare_nodes    hot spares that stand in for failed nodes at once; default: the
 *                  topology's hosts the job leaves free
 *   dual_homed     every NIC cabled to two leaves (default false)
 *   seeds          Monte Carlo runs (default 100), seeds run.seed, run.seed + 1, ...
 *   step_time      a step time to use instead of replaying one (a duration); 0: replay
 *   degraded_replays  measure each degraded fabric's slowdown by a replay (default true;
 *                  false: degradations cost nothing, counted only)
 */
typedef struct plan_reliability {
    bool present;
    double tokens;          /* 0: steps gives the length */
    int64_t steps;          /* 0: from tokens */
    int64_t save_interval;  /* 0: auto */
    bool async_save, dual_homed, degraded_replays;
    double detect_s, restart_s, warmup_s;
    int64_t spare_nodes;    /* -1: the topology's free hosts */
    int64_t seeds;
    double step_time_s;     /* 0: replayed */
} plan_reliability;
const plan_reliability *plan_reliability_of(const plan *p);
#define PLAN_REL_MAX_SEEDS 100000

/* The config's stragglers: per chip of the topology, the factor its ops take longer (>= 1);
 * NULL without a stragglers section. Borrowed. */
const double *plan_slowdown(const plan *p);
/*
 * The stragglers section's factors drawn with another seed, as plan_load draws them with
 * run.seed (plan_draw_slowdown(p, plan_seed(p), ...) gives plan_slowdown(p)): into out
 * [topo_chip_count(plan_topo(p))], caller-owned, the `slow` factors times the drawn
 * fraction's (redrawn for this seed). Without a stragglers section every factor is 1.
 * Errors: SIM_ERR_NOMEM.
 */
sim_code plan_draw_slowdown(const plan *p, uint64_t seed, double *out, sim_status *st);

/*
 * DiLoCo: replica s (of plan_cross_dc.replicas: a site's, or a region's over its sites) with
 * its own dp, ranks and batch (plan_workload's global_batch is the replica's). Replicas alike
 * in chips and batch are p itself (so is replica 0 always); replica s's ranks run on the
 * chips from plan_site_base(p, s) on.
 */
const plan *plan_site(const plan *p, int64_t s);
bool plan_sites_unequal(const plan *p); /* the replicas differ in size or batch */
/* The first chip of replica s: the ranks of the replicas before it. */
int64_t plan_site_base(const plan *p, int64_t s);
/* Replica s's name: its region's (cross_dc.regions), else its site's. */
const char *plan_replica_name(const plan *p, int64_t s);
/* Whether the replicas are regions of several sites (cross_dc.regions). */
bool plan_has_regions(const plan *p);

/* Replaces the run's step counts (calibration runs a plan for one step, no warm-up). */
void plan_set_steps(plan *p, int64_t warmup_steps, int64_t steps);

#endif
