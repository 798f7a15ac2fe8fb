/*
 * plan_int.h: the plan's private layout, shared by the files of the plan module:
 * plan_config.c (loading), plan_place.c (placement and groups), plan_tmpl.c (layer
 * templates and item constructors), plan_prog.c (rank programs) and plan_totals.c.
 *
 * A plan (opaque outside these files: callers use plan.h's getters) holds what the config
 * says, then what the program generator precomputes at load time and every rank shares: the
 * items of one layer for each (dense or MoE) x (forward or backward), the embedding's and
 * the head's items, the byte counts of gradients and activations, and the parameter bytes
 * of each stage. The templates are filled once by plan_tmpl_build and read-only afterwards,
 * so any number of cursors may walk one plan at the same time.
 */
#ifndef SIM_WORKLOAD_PLAN_INT_H
#define SIM_WORKLOAD_PLAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workload/plan.h"

/* Per-plan templates: items of one layer (dense/MoE x forward/backward). */
#define TMPL_MAX (WL_OPS_MAX * 3)
typedef struct tmpl {
    plan_item items[TMPL_MAX];
    size_t n;
    double grad_bytes; /* the layer's gradient bytes reduced over dp x cp (wl_grad_bytes
                          each), its experts' excepted */
    double expert_grad_bytes; /* its experts' gradient bytes, reduced over the expert dp */
} tmpl;

#define PLAN_PATH_MAX 1024

struct plan {
    /* as loaded (the getters of plan.h) */
    char name[64];
    char config_path[PLAN_PATH_MAX], topology_path[PLAN_PATH_MAX],
        workload_path[PLAN_PATH_MAX];
    char db_path[PLAN_PATH_MAX], trace_path[PLAN_PATH_MAX]; /* "" when not set */
    topo *topo;                                             /* owned */
    wl_workload wl;
    wl_parallel par;
    int64_t ranks;       /* tp pp dp cp */
    int64_t microbatches;
    plan_dim placement[4]; /* PLAN_TP.. PLAN_PP, innermost first */
    int64_t stride[PLAN_DIM_COUNT]; /* rank distance between neighbours of a dimension */
    bool tp_comm_overlap, overlap_param_gather;
    bool overlap_grad_reduce; /* off: gradients reduced after the backward passes, exposed */
    plan_cp_comm cp_comm;
    plan_cross_dc xdc;
    int64_t steps, warmup_steps;
    uint64_t seed;
    plan_alltoall alltoall; /* run.alltoall */
    double *slowdown; /* [topology chips]: stragglers' factors (>= 1) for run.seed; NULL: none */
    double *slow_named; /* [topology chips]: stragglers.slow's factors alone (>= 1); NULL: no
                           stragglers section */
    double strag_fraction, strag_slowdown, strag_sigma; /* the drawn chips' share and law */
    plan_reliability rel; /* the reliability section (plan_reliability_of) */
    int64_t *site_batch; /* [sites]: cross_dc.site_batch (sequences per inner step); NULL:
                            not written */
    struct plan **site_plan; /* [sites]: DiLoCo over sites unequal in chips or batch, each
                                site's replica ([0] is the plan itself, the others clones that
                                borrow its topology); NULL: the sites are alike */
    bool site_clone;         /* one of those clones */
    bool topo_borrowed;      /* plan_load_shared: the topology is the caller's */
    int64_t *region_first;   /* [replicas + 1]: cross_dc.regions as ranges of consecutive
                                sites; NULL: none (a replica per site) */
    char (*region_name)[64]; /* [replicas] */
    /* built by plan_tmpl_build for the program generator */
    tmpl layer[2][2]; /* [moe][backward] */
    plan_item emb[2][12], head[2][12];
    size_t n_emb[2], n_head[2];
    double emb_grad_bytes, head_grad_bytes;
    double act_bytes;          /* pipeline send/recv payload */
    double emb_sync_bytes;     /* tied embeddings with pp > 1: the word embedding gradient */
    double *stage_param_bytes; /* [pp]: bytes of the parameters each stage's ranks hold */
    double *stage_expert_bytes; /* [pp]: of those, the experts' */
};

/*
 * Fills p's templates, edge items and byte counts from what plan_load has read and checked;
 * p->stage_param_bytes and p->stage_expert_bytes must be allocated ([pp]).
 */
void plan_tmpl_build(plan *p);

/* The parallelism keys of pipeline splits, interleaving groups and FSDP (plan_sched.c):
 * read from the parallelism mapping par after the degrees (plan_sched_read), and checked
 * once the micro-batches are known and the strides set (plan_sched_check). Errors:
 * SIM_ERR_INPUT located at the key. */
sim_code plan_sched_read(plan *p, const ydoc *d, ynode par, sim_status *st);
sim_code plan_sched_check(plan *p, const ydoc *d, ynode par, sim_status *st);

/* An input error "key 'KEY': ..." at parallelism.key when written there, else at the
 * parallelism mapping par (plan_config.c). Returns SIM_ERR_INPUT. */
sim_code plan__key_err(const ydoc *d, ynode par, const char *key, sim_status *st,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* The group that shards parameters and gradients: dp x cp, or hybrid FSDP's shard group
 * when it is smaller (plan_place.c). */
plan_group plan_shard_group(const plan *p);

/* Items with mb, chunk and layer -1 (the program generator stamps them): a collective over
 * dimension dim's own group; one over group, reported under dim; a compute op (copied). */
plan_item plan_coll_item(coll_kind coll, plan_dim dim, double bytes, bool backward);
plan_item plan_group_item(coll_kind coll, plan_dim dim, plan_group group, double bytes,
                          bool backward);
plan_item plan_op_item(const wl_op *op, bool backward);

#endif
