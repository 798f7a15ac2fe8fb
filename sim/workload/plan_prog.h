/*
 * plan_prog.h: rank programs: what each rank of a plan (workload/plan.h) does in one
 * training step, as a sequence of items (compute ops, collectives, pipeline sends and
 * receives, waits) read one at a time through a cursor.
 *
 * Programs are generated on the fly. A rank's program is its stage's pipeline schedule
 * (workload/sched.h); each pass expands into items in a fixed order:
 *   forward (mb, chunk), virtual stage g = chunk p + s, layers [g L, (g + 1) L):
 *     recv activation from stage g - 1 (g > 0) | embedding ops (g = 0)
 *     per layer: [ZeRO-3 all-gather of the layer's parameters over dp] then the layer's ops
 *       with the collectives of tensor, context and expert parallelism placed between them
 *     send activation to stage g + 1 | head ops (last virtual stage)
 *   backward: the mirror image, with recomputed forward ops first (model_ops.c decides which),
 *     and on the chunk's last backward pass (on every backward pass with ZeRO-2/3 or FSDP,
 *     whose sharded gradients leave no room to accumulate), gradient buckets of
 *     WL_DP_BUCKET_BYTES reduced asynchronously as soon as they fill (and the rest at the
 *     chunk's end): in one collective over the dp x cp replicas (PLAN_GROUP_DP_CP), expert
 *     gradients over the expert data-parallel group (PLAN_GROUP_EXPERT_DP)
 *   with overlap_grad_reduce off (Megatron-LM's default), no bucket is reduced during the
 *     backward passes: with ZeRO 0/1 each chunk's gradients are reduced in the tail, after
 *     the last micro-batch, in one synchronous collective per chunk (dense, then expert), as
 *     Megatron-LM's DDP does without it (bucket_size None, so one bucket per buffer;
 *     finish_grad_sync starts and waits for them); with sharded gradients (ZeRO-2/3, FSDP)
 *     the buckets are reduced where they fill, but synchronously
 *   tail: wait for the asynchronous gradient reductions, with tied embeddings over several
 *     stages the all-reduce of the word-embedding gradient between the first and last
 *     stage (PLAN_GROUP_EMBEDDING), optimizer step, and with a sharded optimizer (ZeRO-1/2)
 *     the all-gathers of the updated parameters over the same groups.
 * Collectives inside a layer, per Megatron-LM (Shoeybi et al. 2019; Korthikanti et al.
 * 2022 for sequence parallelism):
 *   tp, no SP: all-reduce after attn_proj and after the MLP (mlp_down or moe_combine);
 *              backward: all-reduce after qkv and after the MLP's first op (mlp_up, router)
 *   tp, SP:    all-gather before qkv and before the MLP, reduce-scatter after attn_proj and
 *              after the MLP; backward: the reverse (reduce-scatter where forward gathered)
 *              and the input all-gathered again before qkv, mlp_up and router, whose weight
 *              gradients need the whole input (only its sequence shard is kept); the same
 *              for the logits GEMM; the embedding's forward reduce-scatter has its
 *              all-gather backward
 *   cp:        all-gather of K and V before attention; backward: K and V all-gathered again
 *              before it (ring attention circulates them again) and their gradients
 *              reduce-scattered after it
 *   ep:        all-to-all after moe_dispatch and before moe_combine, both ways (with SP of
 *              the rank's 1/tp of the tokens)
 * The logits GEMM is column-parallel like qkv, the embedding leaves partial sums like
 * attn_proj; ops are told apart by role (wl_op_role), not by name.
 * Recomputed forward ops carry their forward collectives again. Byte counts follow the
 * nccl-tests convention: the size of the full (gathered or reduced) buffer of one member.
 * A layer's items depend only on whether it is an MoE layer and on the direction, so they are
 * built once per plan (templates, plan_tmpl.c) and shared by every rank.
 */
#ifndef SIM_WORKLOAD_PLAN_PROG_H
#define SIM_WORKLOAD_PLAN_PROG_H

#include <stdbool.h>
#include <stdint.h>

#include "coll/coll_kind.h"
#include "workload/model.h"
#include "workload/plan_place.h"
#include "workload/sched.h"

typedef enum plan_item_kind {
    PLAN_ITEM_COMPUTE = 0, /* an op on the compute stream */
    PLAN_ITEM_COLL,        /* a collective over a group */
    PLAN_ITEM_SEND,        /* pipeline send to peer */
    PLAN_ITEM_RECV,        /* pipeline receive from peer */
    PLAN_ITEM_WAIT_DP      /* wait for every asynchronous collective issued so far */
} plan_item_kind;

/* How a collective runs beside the compute stream (plan_item.async). */
typedef enum plan_async {
    PLAN_SYNC = 0,     /* the compute stream waits for it; ZeRO-3 parameter gathers too
                          (no prefetch is modelled) */
    PLAN_ASYNC_STEP,   /* overlaps the compute stream (gradient reductions), waited for by
                          the next PLAN_ITEM_WAIT_DP at the end of the step */
    PLAN_ASYNC_NEXT_OP /* runs beside the next compute op and is waited for right after it
                          (TP overlap with its GEMM) */
} plan_async;

typedef struct plan_item {
    plan_item_kind kind;
    int32_t op_id;    /* compute items of the plan's templates: one number per template op,
                         1 .. PLAN_OP_IDS - 1, that the executor may key a memo of the op's
                         time on (the op and its chip decide it); 0: not a template's */
    wl_op op;         /* compute */
    coll_kind coll;   /* coll */
    plan_dim dim;     /* the group's dimension: traffic and exposure are its */
    plan_group group; /* coll: PLAN_GROUP_DIM for dim's own group */
    double bytes;     /* coll: each member's buffer (nccl-tests "size"); send/recv: payload */
    plan_async async; /* coll */
    int64_t peer;     /* send/recv: the other rank */
    bool backward;    /* part of a backward pass */
    int64_t mb, chunk, layer; /* where in the step (-1 when not applicable) */
} plan_item;

/*
 * Where a cursor is in its program (plan_prog.c reads and writes it; callers only allocate
 * the cursor). A pass goes through the first six states in order, each emitting nothing
 * when it has nothing for that pass; after the last pass come the step's tail states.
 */
typedef enum plan_prog_state {
    PLAN_PROG_RECV = 0,       /* the activation (forward, from g - 1) or its gradient
                                 (backward, from g + 1) */
    PLAN_PROG_EDGE_IN,        /* the embedding's forward items (g = 0) or the head's backward
                                 items (last virtual stage) */
    PLAN_PROG_LAYERS,         /* the chunk's layers, gradient buckets flushed as they fill */
    PLAN_PROG_EDGE_OUT,       /* the head's forward items or the embedding's backward items */
    PLAN_PROG_FLUSH,          /* backward on g = 0: the last bucket, the embedding's included */
    PLAN_PROG_SEND,           /* the activation (forward, to g + 1) or its gradient (backward,
                                 to g - 1); then the next pass, or the tail */
    PLAN_PROG_WAIT,           /* the tail: wait for the asynchronous gradient reductions */
    PLAN_PROG_GRAD_SYNC,      /* overlap_grad_reduce off, ZeRO 0/1: each chunk's gradients
                                 reduced now, synchronously (dense, then expert) */
    PLAN_PROG_EMBEDDING_SYNC, /* tied embeddings over several stages: their gradient sum */
    PLAN_PROG_OPTIMIZER,      /* the optimizer step */
    PLAN_PROG_GATHER,         /* ZeRO-1/2: the updated parameters gathered back */
    PLAN_PROG_GATHER_EXPERTS, /* ZeRO-1/2: the same for the experts, over the expert dp */
    PLAN_PROG_DONE            /* the program is over */
} plan_prog_state;

/* What every state of a pass reads about it: computed once per pass (plan_prog.c). 32-bit
 * fields, as in the cursor: micro-batches, chunks and layers are far below 2^31. */
typedef struct plan_pass_ctx {
    int32_t mb, chunk; /* the pass (sched_pass) */
    int32_t g, L, first_layer, last_g; /* virtual stage, its layers, the last virtual stage */
    bool backward;     /* the pass (sched_pass) */
    bool reduce_grads; /* this backward pass reduces its gradients over the replicas */
} plan_pass_ctx;

/* Cursor over one rank's program; plan_prog_begin sets it to the first item. It is the
 * whole state of a program and the executor keeps one per rank, so it is kept small (32-bit
 * positions: a plan's ranks, passes and layers are far below 2^31; 104 bytes): the
 * schedule is rebuilt from the plan when the pass changes, and the one item a cursor may
 * owe (the second collective of a gradient flush) is kept as what makes it. */
typedef struct plan_cursor {
    /* the scalars every item reads first */
    int32_t rank, stage;
    int32_t pass;          /* schedule index; n_pass = the tail (DP wait, optimizer) */
    int32_t n_pass;        /* the schedule's passes (sched_len) */
    int32_t step;          /* position inside the current state; PLAN_PROG_LAYERS: the item
                              in the layer's template */
    plan_prog_state state;
    int32_t ctx_pass;     /* the pass ctx describes; -1: none yet */
    bool pending_n;       /* a collective owed before anything else (the pending_ fields) */
    plan_pass_ctx ctx;
    int32_t layer_i;      /* PLAN_PROG_LAYERS: the layer's index in the pass */
    int64_t buckets_done; /* gradient bytes waiting in the current bucket */
    int64_t expert_buckets_done; /* expert gradient bytes waiting (reduced over expert dp) */
    coll_kind pending_coll; /* the owed collective: over group, reported under PLAN_DP */
    plan_group pending_group;
    double pending_bytes;
    int32_t pending_layer;
} plan_cursor;

/* Bound of plan_item.op_id: the layer templates' items (plan_int.h: 4 x 3 x WL_OPS_MAX),
 * then the embedding's and the head's (2 x 2 x 12), and 0. */
#define PLAN_OP_IDS (4 * 3 * WL_OPS_MAX + 48 + 1)

/* Sets *c (the caller's) to the start of rank's program; p is borrowed and must outlive it. */
void plan_prog_begin(const plan *p, int64_t rank, plan_cursor *c);
/* Next item of the program into *out; 0 when the program is over. Never fails. */
int plan_prog_next(const plan *p, plan_cursor *c, plan_item *out);
/* The same item without the copy, for the executor's loop: a pointer into p's templates
 * (read-only, shared by every cursor; its mb, chunk and layer are -1, not stamped) for the
 * layers', embedding's and head's items, else buf, filled and stamped as plan_prog_next
 * does; NULL when the program is over. The pointer is good until the next call with buf. */
const plan_item *plan_prog_next_ref(const plan *p, plan_cursor *c, plan_item *buf);

#endif
