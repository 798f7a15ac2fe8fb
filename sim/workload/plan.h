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
 *     last_stage_layers: 7            # stages, the rest shared equally (no virtual stages)
 *     schedule: 1f1b                  # gpipe | 1f1b | interleaved
 *     zero: 1                         # 0..3; or fsdp: true (= ZeRO-3)
 *     sequence_parallel: true
 *     tp_comm_overlap: false          # TP all-gathers / reduce-scatters pipelined with their
 *                                     # GEMMs (Transformer Engine userbuffers; needs SP)
 *     overlap_param_gather: false     # ZeRO-1/2: gather updated parameters behind the next
 *                                     # step's forward instead of waiting for them
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
 *   sweep: {...}                      # read by `clustersim sweep` only (cli/cmd_sweep.c)
 *   run: {steps: 1, warmup: 1, seed: 1}
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
 * Ranks: rank r runs on chip r. Its coordinates come from r by the placement order, the
 * first dimension varying fastest; with the default, TP groups are consecutive chips (one
 * NVSwitch domain), then CP, DP, and PP outermost. EP groups are ep consecutive DP indices
 * (experts are spread over data-parallel ranks, as Megatron-LM's expert parallelism does).
 */
#ifndef SIM_WORKLOAD_PLAN_H
#define SIM_WORKLOAD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/ydoc.h"
#include "topo/topo.h"
#include "workload/model.h"
#include "workload/sched.h"

/* Cross-datacenter schemes (a config's cross_dc section). */
typedef enum plan_xdc {
    PLAN_XDC_NONE = 0,
    PLAN_XDC_SYNC,      /* one DP job over the sites; gradients reduced every step */
    PLAN_XDC_PIPELINE,  /* pipeline stages split across the sites */
    PLAN_XDC_DILOCO,    /* a replica per site; every H steps an outer sync */
    PLAN_XDC_STREAMING  /* DiLoCo with F fragments synced in turn, overlapped */
} plan_xdc;

typedef struct plan_cross_dc {
    int scheme;            /* plan_xdc */
    int64_t sites;         /* sites of the topology */
    int64_t inner_steps;   /* H */
    int payload;           /* 0 fp32, 1 bf16, 2 int8, 3 fp4 */
    double payload_bytes;  /* per parameter: 4, 2, 1, 0.5 */
    int64_t fragments;     /* F (streaming) */
    int64_t max_delay;     /* inner steps a fragment's sync may overlap (streaming) */
    int64_t site_ranks;    /* DiLoCo: ranks of one site's replica */
    int64_t total_ranks;   /* DiLoCo: ranks of all sites */
} plan_cross_dc;

const char *plan_xdc_name(int scheme);
const char *plan_payload_name(int payload);

typedef enum plan_dim { PLAN_TP = 0, PLAN_CP, PLAN_DP, PLAN_PP, PLAN_EP, PLAN_DIM_COUNT } plan_dim;

/* Short name of a dimension: "tp", "cp", "dp", "pp", "ep". */
const char *plan_dim_name(int dim);

#define PLAN_PATH_MAX 1024

typedef struct plan {
    char name[64];
    char config_path[PLAN_PATH_MAX], topology_path[PLAN_PATH_MAX],
        workload_path[PLAN_PATH_MAX];
    char db_path[PLAN_PATH_MAX], trace_path[PLAN_PATH_MAX]; /* "" when not set */
    topo *topo;                                             /* owned */
    wl_workload wl;
    wl_parallel par;
    int64_t ranks;       /* tp pp dp cp */
    int64_t microbatches;
    int placement[4];    /* PLAN_TP.. PLAN_PP, innermost first */
    int64_t stride[PLAN_DIM_COUNT]; /* rank distance between neighbours of a dimension */
    int tp_comm_overlap, overlap_param_gather;
    plan_cross_dc xdc;
    int64_t steps, warmup_steps;
    uint64_t seed;
} plan;

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
void plan_destroy(plan *p); /* accepts NULL */

/* Parameters rank r holds (its stage's layers, embedding or head, its tp / ep share). */
double plan_rank_params(const plan *p, int64_t rank);

/* Coordinate of rank r along dim (ep: dp index mod ep). */
int64_t plan_coord(const plan *p, int64_t rank, int dim);
/* Size of dim's groups. */
int64_t plan_dim_size(const plan *p, int dim);
/* The i-th member of rank r's group along dim (i in [0, plan_dim_size)). */
int64_t plan_group_member(const plan *p, int64_t rank, int dim, int64_t i);
/* A number naming rank r's group along dim: equal for ranks of the same group. */
int64_t plan_group_id(const plan *p, int64_t rank, int dim);

/*
 * Groups that are not one dimension's, for collectives (plan_item.group); an item still
 * names the dimension its traffic and exposed time are reported under (plan_item.dim).
 */
typedef enum plan_group {
    PLAN_GROUP_DIM = 0,   /* the group of the item's dimension */
    PLAN_GROUP_DP_CP,     /* the dp x cp replicas of a model shard (cp fastest): gradient
                             reduction and ZeRO gathers, Megatron-LM's data-parallel group
                             with context parallelism */
    PLAN_GROUP_EXPERT_DP, /* the dp x cp / ep replicas of an expert shard: the ranks of the
                             same ep coordinate (dp index mod ep), over cp and dp / ep */
    PLAN_GROUP_EMBEDDING, /* the first and the last pipeline stage (2 ranks; 1 with pp 1):
                             the two copies of tied embeddings */
    PLAN_GROUP_COUNT
} plan_group;

/* Group slots: the dimensions' groups (slot = dim), then the other groups. */
#define PLAN_SLOT_COUNT (PLAN_DIM_COUNT + PLAN_GROUP_COUNT - 1)
/* The slot of a collective over group (plan_group) of dimension dim. */
int plan_slot(int dim, int group);
/* As plan_dim_size, plan_group_member and plan_group_id, for a slot. */
int64_t plan_slot_size(const plan *p, int slot);
int64_t plan_slot_member(const plan *p, int64_t rank, int slot, int64_t i);
int64_t plan_slot_id(const plan *p, int64_t rank, int slot);

/* ---- rank programs ---- */

typedef enum plan_coll {
    PLAN_ALLREDUCE = 0,
    PLAN_REDUCE_SCATTER,
    PLAN_ALLGATHER,
    PLAN_ALLTOALL,
    PLAN_COLL_COUNT
} plan_coll;
const char *plan_coll_name(int coll);

typedef enum plan_item_kind {
    PLAN_ITEM_COMPUTE = 0, /* an op on the compute stream */
    PLAN_ITEM_COLL,        /* a collective over a group */
    PLAN_ITEM_SEND,        /* pipeline send to peer */
    PLAN_ITEM_RECV,        /* pipeline receive from peer */
    PLAN_ITEM_WAIT_DP      /* wait for every asynchronous collective issued so far */
} plan_item_kind;

typedef struct plan_item {
    int kind;        /* plan_item_kind */
    wl_op op;        /* compute */
    int coll;        /* plan_coll */
    int dim;         /* the group's dimension (plan_dim): traffic and exposure are its */
    int group;       /* coll: plan_group (PLAN_GROUP_DIM: dim's own group) */
    double bytes;    /* coll: each member's buffer (nccl-tests "size"); send/recv: payload */
    int async;       /* coll: 1 overlaps the compute stream (gradient reductions, waited
                        for at the end of the step); 2 runs beside the next compute op and
                        is waited for right after it (TP overlap with its GEMM); ZeRO-3
                        parameter gathers are synchronous (no prefetch is modelled) */
    int64_t peer;    /* send/recv: the other rank */
    int backward;    /* part of a backward pass */
    int64_t mb, chunk, layer; /* where in the step (-1 when not applicable) */
} plan_item;

/* Cursor over one rank's program; plan_prog_begin sets it to the first item. */
typedef struct plan_cursor {
    /* the scalars every item reads first, the pending item last */
    int64_t rank, stage;
    int64_t pass;     /* schedule index; sched_len = the tail (DP wait, optimizer) */
    int64_t step;     /* position inside the current pass */
    int64_t tail;     /* position inside the tail */
    int pending_n;
    int64_t buckets_done; /* gradient bytes waiting in the current bucket */
    int64_t expert_buckets_done; /* expert gradient bytes waiting (reduced over expert dp) */
    sched sc;
    plan_item pending;    /* an item owed before anything else (pending_n = 1) */
} plan_cursor;

void plan_prog_begin(const plan *p, int64_t rank, plan_cursor *c);
/* Next item of the program into *out; 0 when the program is over. */
int plan_prog_next(const plan *p, plan_cursor *c, plan_item *out);

/* ---- step totals ---- */

typedef struct plan_totals {
    double params, model_flops, hardware_flops, tokens;
    wl_memory memory; /* worst rank */
    double hbm_bytes; /* of the chip */
    int fits;
    double bubble_fraction;
    /* Bytes each rank sends per step on each dimension (its buffers, summed over the step's
     * collectives and sends, per nccl-tests size convention). */
    double bytes_per_dim[PLAN_DIM_COUNT];
    double items_per_rank; /* program length of the last stage's first rank */
} plan_totals;

/* Walks rank 0's program (and the last stage's) to total its traffic; memory from the model. */
sim_code plan_totals_compute(const plan *p, plan_totals *out, sim_status *st);

#endif
