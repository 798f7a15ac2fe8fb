/*
 * model.h: a training workload (a decoder-only transformer and its batch) and the arithmetic
 * of training it: parameter counts, FLOPs, the ops of one layer with their HBM traffic, and
 * memory per rank under a given parallelism.
 *
 * A workload is read from a YAML mapping, a whole file under workloads/ or a mapping written
 * inline in a config:
 *   name
 *   model: layers, hidden, heads, kv_heads (default heads), ffn (default 4*hidden),
 *          mlp (plain | gated, default plain), norm (rmsnorm | layernorm, default rmsnorm),
 *          bias (linear-layer biases, default false),
 *          position_embedding (none | rotary | learned, default none), vocab,
 *          tied_embeddings (default false),
 *          moe (optional): experts, experts_per_token, expert_ffn (default ffn),
 *                          every (default 1), capacity_factor (default 1.0)
 *   training: sequence, global_batch (sequences) or global_batch_tokens (exactly one),
 *             micro_batch (default 1), dtype (bf16 | fp16 | fp8, default bf16),
 *             optimizer (adam | sgd, default adam), attention (flash | unfused, default
 *             flash), grad_dtype (fp32 | bf16 | fp16: gradients as accumulated, stored and
 *             reduced over data parallelism; default fp32, fp16 when dtype is fp16, as
 *             Megatron-LM), dropout (probability in [0, 1), default 0: no dropout masks)
 * Unknown keys are refused with a did-you-mean hint; sizes are integers in [1, 1e9]
 * (global_batch_tokens up to 1e12).
 *
 * Conventions (each function below says which it uses):
 * - Parameters. No biases unless `bias: true` (Llama style). Attention: q and o are h x h,
 *   k and v are h x (kv_heads * head_dim), head_dim = hidden / heads. MLP: plain 2*h*ffn
 *   (up, down), gated 3*h*ffn (gate, up, down). Two norms per layer and one final norm, each
 *   h weights (RMSNorm) or 2h (LayerNorm: weight and bias). With bias: qkv (h + 2 kv width),
 *   o (h), MLP up (ffn, or 2 ffn gated) and down (h); an expert carries its own biases. MoE
 *   layer: experts * expert MLP + router h * experts (no router bias). Embedding V*h, plus
 *   sequence*h learned positions; the output projection V*h unless tied.
 * - MoE layers are those with 0-based index i where i % every == every - 1 (every = 1: all).
 * - Model FLOPs follow PaLM appendix B / Megatron: 2 FLOPs per multiply-add of every matrix
 *   multiply, backward = 2 x forward, attention counted non-causal (the full s x s score
 *   matrix). Hardware FLOPs (and op time) count what the kernels execute: the same, except
 *   that flash attention computes only the causal half of the scores and its backward
 *   costs 2.5 x its forward (it recomputes them); elementwise work (norms, activations, softmax) left out of model and hardware
 *   FLOPs (the elementwise ops below carry their own arithmetic for the compute model).
 * - Sizes in bytes. Activations and stored weights are 16-bit (fp8 training keeps 16-bit
 *   weights and activations and casts in the GEMMs, as Transformer Engine does); dtype fp8
 *   only makes GEMM operands one byte.
 *
 * wl_workload and wl_parallel are plain values: callers allocate, nothing points elsewhere.
 * Every function here is pure; none allocates.
 */
#ifndef SIM_WORKLOAD_MODEL_H
#define SIM_WORKLOAD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/ydoc.h"

typedef enum wl_mlp { WL_MLP_PLAIN = 0, WL_MLP_GATED } wl_mlp;
typedef enum wl_norm { WL_NORM_RMSNORM = 0, WL_NORM_LAYERNORM } wl_norm;
typedef enum wl_position {
    WL_POSITION_NONE = 0,
    WL_POSITION_ROTARY, /* no parameters, like none */
    WL_POSITION_LEARNED /* sequence x hidden parameters on the first stage */
} wl_position;
typedef enum wl_dtype { WL_DTYPE_BF16 = 0, WL_DTYPE_FP16, WL_DTYPE_FP8 } wl_dtype;
typedef enum wl_attention { WL_ATTENTION_FLASH = 0, WL_ATTENTION_UNFUSED } wl_attention;
typedef enum wl_optimizer { WL_OPT_ADAM = 0, WL_OPT_SGD } wl_optimizer;
typedef enum wl_grad_dtype { WL_GRAD_FP32 = 0, WL_GRAD_BF16, WL_GRAD_FP16 } wl_grad_dtype;

#define WL_NAME_MAX 64
#define WL_SIZE_MAX 1000000000 /* largest accepted layers, hidden, vocab, batch, ... */

typedef struct wl_workload {
    char name[WL_NAME_MAX]; /* non-empty */
    /* model */
    int64_t layers, hidden, heads, kv_heads, head_dim, ffn, vocab; /* head_dim = hidden/heads */
    wl_mlp mlp;
    wl_norm norm;
    wl_position position;
    bool bias;            /* linear layers carry biases */
    bool tied_embeddings; /* the output projection is the input embedding */
    /* mixture of experts: experts == 0 for a dense model, then the other fields are 0 */
    int64_t experts, experts_per_token, expert_ffn, moe_every;
    double capacity_factor; /* routed token slots per token and expert choice, > 0 */
    /* training */
    int64_t sequence;
    int64_t global_batch; /* sequences per optimizer step (also when given in tokens) */
    int64_t micro_batch;  /* sequences per micro-batch, divides global_batch */
    wl_dtype dtype;
    wl_attention attention;   /* flash (default) or unfused (scores in HBM) */
    wl_optimizer optimizer;
    wl_grad_dtype grad_dtype; /* gradient buffers and their DP reduction */
    double dropout;       /* in [0, 1); 0: no dropout, no masks kept */
} wl_workload;

/*
 * Loads the workload file at path into *out (caller-owned). On failure *out is left
 * unchanged. Errors: SIM_ERR_INPUT for a file that cannot be opened or parsed and for every
 * mistake in its content, located at file:line:col, naming the key, what was expected and
 * what was found.
 */
sim_code wl_workload_load_file(const char *path, wl_workload *out, sim_status *st);

/*
 * Reads the workload described by mapping map of document d (borrowed; nothing is kept)
 * into *out, for workloads written inline in a config. Errors as wl_workload_load_file.
 */
sim_code wl_workload_from_node(const ydoc *d, ynode map, wl_workload *out, sim_status *st);

/* YAML spellings; "?" for a value outside the enum. */
const char *wl_mlp_name(wl_mlp mlp);
const char *wl_dtype_name(wl_dtype dtype);
const char *wl_optimizer_name(wl_optimizer optimizer);
const char *wl_grad_dtype_name(wl_grad_dtype grad_dtype);

/* Bytes per gradient element: 4 (fp32) or 2 (bf16, fp16). */
double wl_grad_bytes(const wl_workload *w);

/* Whether 0-based layer i is an MoE layer (see the convention above). */
bool wl_layer_is_moe(const wl_workload *w, int64_t layer);

/* ---- parameters -------------------------------------------------------------------- */

typedef struct wl_params {
    double embedding;        /* token embedding V*h, plus sequence*h learned positions */
    double output;           /* output projection V*h; 0 when tied */
    double final_norm;       /* h (RMSNorm) or 2h (LayerNorm) */
    double dense_layer;      /* every parameter of one dense layer */
    double moe_layer;        /* every parameter of one MoE layer (all experts, router) */
    double moe_layer_active; /* of one MoE layer, those one token uses (k experts) */
    int64_t dense_layers, moe_layers;
    double total;  /* everything stored */
    double active; /* per token: total with only experts_per_token experts per MoE layer */
    /*
     * Per token, the weights of the matrix multiplies a token goes through: attention,
     * MLP or k experts, router, and the output projection (counted also when tied: the
     * logits GEMM runs either way); not the embedding lookup, positions, norms or biases.
     * The FLOPs basis: 6 * matmul_active FLOPs per token for forward and backward.
     */
    double matmul_active;
} wl_params;

/* Counts the parameters of w (exact integers held in doubles). */
void wl_params_count(const wl_workload *w, wl_params *out);

/* ---- parallelism ------------------------------------------------------------------- */

typedef enum wl_schedule { WL_SCHED_GPIPE, WL_SCHED_1F1B, WL_SCHED_INTERLEAVED } wl_schedule;
typedef enum wl_recompute {
    WL_RECOMPUTE_NONE,
    WL_RECOMPUTE_SELECTIVE,
    WL_RECOMPUTE_FULL
} wl_recompute;

/*
 * Degrees of parallelism. ranks = tp * pp * dp * cp; ep is carved out of dp * cp (expert
 * weights of a layer are spread over ep ranks, each expert tensor-parallel over tp). vp:
 * virtual stages (model chunks) per pipeline rank, 1 = none, > 1 only with the interleaved
 * schedule. zero: ZeRO stage 0..3 over the dp * cp replicas (the data-parallel group
 * with context parallelism, as Megatron's distributed optimizer); fsdp: full sharding, the
 * same as zero 3 for memory. sequence_parallel: Megatron sequence parallelism in the TP group.
 */
/*
 * PyTorch FSDP's sharding strategies (torch.distributed.fsdp.ShardingStrategy; FSDP2's
 * fully_shard with a 1-D or 2-D mesh and reshard_after_forward maps onto the same four):
 *   FULL_SHARD     parameters, gradients and optimizer state sharded over the dp x cp
 *                  replicas; parameters all-gathered before each layer's forward, freed
 *                  after it and gathered again before its backward; gradients
 *                  reduce-scattered (ZeRO-3).
 *   SHARD_GRAD_OP  the same, but parameters stay unsharded from the forward to the end of
 *                  the backward (reshard_after_forward false): no gather before backward.
 *   HYBRID_SHARD   FULL_SHARD inside a shard group of fsdp_shard replicas, replicated
 *                  across the groups: gradients reduce-scattered in the group, then the
 *                  shard all-reduced across the groups (HSDP).
 *   _HYBRID_SHARD_ZERO2  HYBRID_SHARD without resharding after forward.
 *   NO_SHARD       nothing sharded, gradients all-reduced (DDP; the same as zero 0).
 */
typedef enum wl_fsdp {
    WL_FSDP_NONE = 0, /* not FSDP: the zero stage decides */
    WL_FSDP_FULL_SHARD,
    WL_FSDP_SHARD_GRAD_OP,
    WL_FSDP_HYBRID_SHARD,
    WL_FSDP_HYBRID_SHARD_ZERO2,
    WL_FSDP_NO_SHARD
} wl_fsdp;

/* The most virtual pipeline stages an explicit layout may give (pp x vp). */
#define WL_LAYOUT_MAX 1024

typedef struct wl_parallel {
    int64_t tp, pp, dp, cp, ep, vp;
    /* Layers of the first and of the last pipeline stage when they differ from the rest
     * (Megatron-LM's decoder-first/last-pipeline-num-layers; Llama 3 405B: 7 and 7 of 126
     * over 16 stages); 0: not given (either may be given alone). With virtual stages each
     * is split equally over the stage's vp chunks, as Megatron-LM does. */
    int64_t first_stage_layers, last_stage_layers;
    /* An explicit layout (Megatron-LM's pipeline-model-parallel-layout): the decoder layers
     * of virtual stage g = chunk pp + stage in layout[g], g < layout_n = pp vp; layout_n 0:
     * none. The embedding is on virtual stage 0 and the head on the last, as always. */
    int64_t layout_n;
    int32_t layout[WL_LAYOUT_MAX];
    /* Consecutive micro-batches per model chunk in the interleaved schedule (Megatron-LM's
     * microbatch-group-size-per-virtual-pipeline-stage); 0: pp, Megatron-LM's default. */
    int64_t mb_group;
    int zero;               /* ZeRO stage, 0..3 */
    bool fsdp;              /* parameters sharded by FSDP (FULL_SHARD unless fsdp_strategy
                               says otherwise) */
    wl_fsdp fsdp_strategy;  /* NONE: FULL_SHARD when fsdp, else not FSDP */
    int64_t fsdp_shard;     /* HYBRID strategies: replicas per shard group; else unused */
    bool sequence_parallel;
    wl_recompute recompute;
    wl_schedule schedule;
} wl_parallel;

/* All degrees 1, no ZeRO, no sequence parallelism, no recomputation, 1F1B. */
void wl_parallel_default(wl_parallel *p);

/* The FSDP strategy p runs (NONE when p does not use FSDP; fsdp alone is FULL_SHARD). */
wl_fsdp wl_fsdp_of(const wl_parallel *p);
/* PyTorch's spelling of a strategy ("FULL_SHARD", ...); "?" outside the enum. */
const char *wl_fsdp_name(wl_fsdp s);
/* Replicas one parameter, gradient and optimizer shard is spread over: dp x cp for ZeRO and
 * FULL_SHARD / SHARD_GRAD_OP, fsdp_shard for the hybrid strategies. */
int64_t wl_shard_size(const wl_parallel *p);
/* Whether parameters are gathered again before each layer's backward (ZeRO-3, FULL_SHARD,
 * HYBRID_SHARD): false for the strategies that keep them from the forward on. */
bool wl_reshard_after_forward(const wl_parallel *p);
/* The interleaved schedule's micro-batch group (mb_group, or pp when 0). */
int64_t wl_mb_group(const wl_parallel *p);

/*
 * Checks that p fits w: degrees >= 1, zero in 0..3; heads and kv_heads divisible by tp;
 * layers by pp * vp; sequence by cp (and sequence / cp by tp with sequence parallelism);
 * experts by ep and dp * cp by ep (ep > 1 only for MoE); vp > 1 only interleaved; the
 * micro-batch count integral, and a multiple of pp for the interleaved schedule. Errors:
 * SIM_ERR_INPUT, unlocated, naming the figures ("dp = 3: expected ...").
 */
sim_code wl_parallel_check(const wl_workload *w, const wl_parallel *p, sim_status *st);

/*
 * Micro-batches per step on each pipeline: m = global_batch / (micro_batch * dp).
 * Errors: SIM_ERR_INPUT when it is not a positive integer.
 */
sim_code wl_microbatches(const wl_workload *w, const wl_parallel *p, int64_t *m,
                         sim_status *st);

/* The layers of virtual stage g (chunk * pp + stage): *first and *count (model_pipe.c). */
void wl_chunk_layers(const wl_workload *w, const wl_parallel *p, int64_t g, int64_t *first,
                     int64_t *count);

/* What is wrong with p's first and last stages' layers (first_stage_layers,
 * last_stage_layers) for w, written into msg[0..n) as a sentence; "" when nothing is. */
void wl_uneven_problem(const wl_workload *w, const wl_parallel *p, char *msg, size_t n);

/*
 * Parses Megatron-LM's --pipeline-model-parallel-layout string str (PipelineParallelLayerLayout
 * .parse_str_to_list and validate_layer_layout): stages separated by '|' in virtual-stage
 * order, E the embedding, t a transformer layer, L the loss (and the output layer before
 * it), commas ignored, "(...)*n" and "x*n" repeated. Checks: a number of stages divisible
 * by pp, E once and first (in the first stage), L once and last (in the last stage), as
 * many t as layers; 'm' (multi-token prediction) is refused. On success fills
 * out->layout and out->layout_n and returns true; otherwise writes what was expected
 * ("exactly one E and one L, found 2 and 1") into msg[0..n) and returns false.
 */
bool wl_layout_parse(const char *str, int64_t pp, int64_t layers, wl_parallel *out, char *msg,
                     size_t n);

/*
 * Pipeline bubble over ideal time, Narayanan et al. 2021 (arXiv 2104.04473) section 2.2:
 * (pp - 1) / (m * vp). 0 for pp = 1.
 */
double wl_bubble_fraction(int64_t pp, int64_t m, int64_t vp);

/* ---- FLOPs ------------------------------------------------------------------------- */

/* global_batch * sequence. */
double wl_tokens_per_step(const wl_workload *w);

/*
 * Model FLOPs per optimizer step (the MFU numerator), PaLM (arXiv 2204.02311) appendix B:
 * per token 6 * N + 12 * L * H * Q * T with N = wl_params.matmul_active, L layers, H heads,
 * Q head_dim (H * Q = hidden), T sequence. Independent of parallelism and recomputation;
 * MoE capacity padding is not useful work and not counted. For a GPT (ffn 4h, plain) it
 * equals 72 B s l h^2 (1 + s/(6h) + V/(12 l h)), Korthikanti et al. 2022 eq. (8).
 */
double wl_model_flops_per_step(const wl_workload *w);

/*
 * Model FLOPs per step under the causal convention: the attention scores counted for the
 * unmasked half of a causal score matrix only, as flash kernels compute them: per token
 * 6 * N + 6 * L * H * Q * T. (wl_model_flops_per_step counts them in full, as PaLM appendix
 * B, Narayanan et al. 2021 eq. 3, Korthikanti et al. 2022 and Megatron-LM's
 * num_floating_point_operations of 2024 do.) The MFU of one over the other's is their ratio.
 */
double wl_model_flops_causal_per_step(const wl_workload *w);

/*
 * Hardware FLOPs per step (the HFU numerator): what the chips execute, summed over ranks.
 * Model FLOPs with expert GEMMs scaled by capacity_factor (padded or dropped slots), plus
 * recomputation: selective re-runs the attention core (QK^T and attention over V, 4 s h
 * FLOPs per token and layer); full re-runs the forward of every layer (2 * layer matmul
 * weights + 4 s h per token and layer; the embedding and output layer are not recomputed).
 * With full recomputation of a GPT (ffn 4h, plain, kv_heads = heads) this is exactly
 * Narayanan et al. 2021 eq. (3): 96 B s l h^2 (1 + s/(6h) + V/(16 l h)).
 * Korthikanti et al. 2022 print 72 B s l h^2 (1 + s/(3h) + V/(12 l h)) for selective
 * recomputation, 8 B s^2 l h more than the re-run attention core; their HFU column uses it.
 * Tensor-parallel replication (the router without sequence parallelism) is not counted.
 * p may be NULL: no recomputation.
 */
double wl_hardware_flops_per_step(const wl_workload *w, const wl_parallel *p);

/* ---- ops --------------------------------------------------------------------------- */

typedef enum wl_op_kind {
    WL_OP_GEMM = 0,
    WL_OP_ATTENTION,
    WL_OP_ELEMENTWISE,
    WL_OP_OPTIMIZER
} wl_op_kind;

/*
 * What an op is: one role per op that the functions below create, its name the role's
 * (the optimizer's: its algorithm's). The program generator (plan_tmpl.c) places the
 * collectives of tensor, context and expert parallelism by role, in a switch that lists
 * every role (a missing one is a compile error there), so a new op decides its collectives
 * and renaming an op changes none.
 */
typedef enum wl_op_role {
    WL_ROLE_ATTN_NORM = 0,      /* "attn_norm" */
    WL_ROLE_QKV,                /* "qkv": column-parallel */
    WL_ROLE_ROTARY,             /* "rotary": rotary position embedding of q and k */
    WL_ROLE_ATTENTION,          /* "attention": the core, over all keys with cp */
    WL_ROLE_ATTN_SOFTMAX,       /* "attn_softmax": unfused attention's score traffic */
    WL_ROLE_ATTN_PROJ,          /* "attn_proj": row-parallel, partial sums over tp */
    WL_ROLE_ATTN_RESIDUAL,      /* "attn_residual" */
    WL_ROLE_MLP_NORM,           /* "mlp_norm" */
    WL_ROLE_MLP_UP,             /* "mlp_up": column-parallel */
    WL_ROLE_MLP_ACT,            /* "mlp_act" */
    WL_ROLE_MLP_DOWN,           /* "mlp_down": row-parallel, partial sums over tp */
    WL_ROLE_ROUTER,             /* "router": reads the whole (gathered) input */
    WL_ROLE_MOE_DISPATCH,       /* "moe_dispatch": tokens to their experts' ranks */
    WL_ROLE_EXPERT_UP,          /* "expert_up" */
    WL_ROLE_EXPERT_ACT,         /* "expert_act" */
    WL_ROLE_EXPERT_DOWN,        /* "expert_down": partial sums over tp */
    WL_ROLE_MOE_COMBINE,        /* "moe_combine": tokens back, the MoE block's output */
    WL_ROLE_MLP_RESIDUAL,       /* "mlp_residual" */
    WL_ROLE_EMBEDDING,          /* "embedding": vocabulary-parallel, partial sums over tp */
    WL_ROLE_POSITION_EMBEDDING, /* "position_embedding" (learned) */
    WL_ROLE_FINAL_NORM,         /* "final_norm" */
    WL_ROLE_LOGITS,             /* "logits": column-parallel (vocabulary) */
    WL_ROLE_LOSS,               /* "loss" */
    WL_ROLE_OPTIMIZER           /* "adam" or "sgd" */
} wl_op_role;

typedef struct wl_op {
    wl_op_kind kind;
    wl_op_role role;
    const char *name; /* static string: "qkv", "attention", "mlp_down", ... */
    double flops;     /* per the conventions above; elementwise ops count their arithmetic */
    double hbm_bytes; /* bytes read plus written in HBM */
    /* GEMM: forward shape per rank, m x k times k x n (m = tokens); attention: m = query
     * positions, n = key positions, k = head_dim. 0 for other kinds. */
    double m, n, k;
    bool recompute; /* a forward op re-run in the backward pass for recomputation */
    bool fused;     /* attention: a fused (flash) kernel, timed at the chip's
                       efficiency.attention when it has one */
    bool dropout;   /* fused attention: it drops out scores (workload dropout > 0), timed
                       at efficiency.attention x efficiency.attention_dropout */
} wl_op;

/* Enough room for any list below. */
#define WL_OPS_MAX 32

/*
 * The ops of one transformer layer for one micro-batch on one rank, in issue order, given
 * tp, cp and sequence parallelism (elementwise work on sequence / tp tokens with it, on the
 * whole sequence without). backward = 0: forward; 1: backward, led by the recomputed forward
 * ops (recompute = 1) when p->recompute asks for them. GEMMs: backward 2 x forward FLOPs
 * (input gradient and weight gradient). Attention, flash: FLOPs 2 b s_q s h / tp forward
 * (the causal half of the scores), 2.5 x that backward (scores recomputed); bytes of Q, K,
 * V, O (the score matrix stays on chip); unfused: 4 b s_q s h / tp forward (the whole
 * matrix), 2 x backward, plus an attn_softmax op for the scores' HBM traffic. With cp, s_q = sequence / cp queries attend to all keys.
 * MoE layers: router GEMM, dispatch, expert GEMMs on micro_batch * s_q * k * capacity
 * tokens (balanced over the ep ranks) with the rank's experts / ep weights, combine.
 * Writes at most cap ops and returns how many there are (so cap 0 counts them).
 * wl_layer_ops describes an MoE layer for an MoE model, a dense one otherwise;
 * wl_layer_ops_at the layer with 0-based index layer.
 */
size_t wl_layer_ops(const wl_workload *w, const wl_parallel *p, int backward, wl_op *ops,
                    size_t cap);
size_t wl_layer_ops_at(const wl_workload *w, const wl_parallel *p, int64_t layer, int backward,
                       wl_op *ops, size_t cap);

/* First stage: embedding lookup (vocab-parallel over tp) and learned positions. */
size_t wl_embedding_ops(const wl_workload *w, const wl_parallel *p, int backward, wl_op *ops,
                        size_t cap);

/* Last stage: final norm, logits GEMM (vocab-parallel), softmax cross-entropy in fp32. */
size_t wl_head_ops(const wl_workload *w, const wl_parallel *p, int backward, wl_op *ops,
                   size_t cap);

/*
 * The optimizer step of one rank of pipeline stage stage (0-based): one WL_OP_OPTIMIZER op
 * over the parameters that rank updates (its ZeRO shard from stage 1 on). Bytes per
 * parameter: Adam reads fp32 master, m, v and the gradient (wl_grad_bytes) and writes
 * master, m, v and the 16-bit weight (26 bytes plus the gradient's); SGD with momentum 18
 * plus the gradient's; both read the gradient once more for its norm (gradient clipping).
 * Plus the zeroing of the rank's gradient buffer for the next step: the gradient's bytes
 * for every gradient the rank keeps (its stage's, or its shard under ZeRO-2 and FSDP).
 * FLOPs: 12 (Adam), 4 (SGD).
 */
void wl_optimizer_op(const wl_workload *w, const wl_parallel *p, int64_t stage, wl_op *out);

/* ---- memory ------------------------------------------------------------------------ */

/* PyTorch DDP's default gradient bucket (bucket_cap_mb = 25, MiB); two are in flight. */
#define WL_DP_BUCKET_BYTES (25.0 * 1048576.0)

typedef struct wl_memory {
    double weights, grads, optimizer, activations, comm_buffers, total; /* bytes per rank */
    int64_t stage; /* the pipeline stage described (the worst one for wl_memory_per_rank) */
} wl_memory;

/* Parameters one rank holds of layer (its tp share of split weights, replicated norms,
 * row-parallel biases and router, its tp x ep share of the experts). */
double wl_layer_params_per_rank(const wl_workload *w, const wl_parallel *p, int64_t layer);
/* Of those, the expert parameters (its tp x ep share of the experts; 0 for a dense layer). */
double wl_layer_expert_params_per_rank(const wl_workload *w, const wl_parallel *p,
                                       int64_t layer);
/* Parameters one rank of stage holds outside the layers: the embedding (head = 0; stage 0
 * only: vocabulary shard and learned positions) or the head (head = 1; last stage only:
 * final norm and output shard, unless tied on a single stage). */
double wl_edge_params_per_rank(const wl_workload *w, const wl_parallel *p, int64_t stage,
                               int head);


/*
 * Activation bytes that one transformer layer keeps for one micro-batch on one rank,
 * Korthikanti et al. 2022 (arXiv 2205.05198) section 4, 16-bit activations and 1-byte
 * dropout masks, per tensor: replicated over tp unless sequence parallel: the two norm
 * inputs, the qkv and MLP inputs (2 s b h each), with dropout > 0 the two dropout masks
 * (s b h each); split over tp: Q, O-projection input (2 s b h each), K and V (2 s b kv_width
 * each), MLP activation input (2 s b ffn, or 4 s b ffn gated: gate and up) and down input
 * (2 s b ffn), and the attention core's state: unfused, the scores (softmax output 2, with
 * dropout also mask 1 and dropout output 2: 5 a s^2 b, else 2 a s^2 b); flash, the fp32
 * softmax statistics only (logsumexp, 4 a s b).
 * For ffn = 4h, plain, kv_heads = heads, unfused, dropout > 0 this is the paper's
 * sbh(34 + 5as/h) (no parallelism), sbh(10 + 24/t + 5as/(ht)) (TP), sbh/t (34 + 5as/h)
 * (TP + SP); selective drops the scores (or statistics) term; full keeps only the layer
 * input 2 s b h (/t with SP). With cp, s is sequence / cp (scores: s/cp queries by s keys).
 * An MoE layer keeps k * capacity copies of the dispatched input (2 s b h, replicated) and
 * the expert activations instead of the MLP's. layer: 0-based index (dense or MoE).
 */
double wl_activation_bytes_per_layer(const wl_workload *w, const wl_parallel *p,
                                     int64_t layer);

/*
 * Micro-batches whose activations stage holds at the schedule's peak, in units of the
 * stage's layers: GPipe m; 1F1B min(pp - stage, m); interleaved, per Megatron-LM's
 * schedules.py, min(2 (pp - stage - 1) + (vp - 1) pp + 1, m vp) chunks / vp, which for the
 * first stage is pp + (pp - 1)/vp, Korthikanti et al.'s (1 + (p - 1)/(p v)) factor.
 */
double wl_inflight_microbatches(const wl_parallel *p, int64_t m, int64_t stage);

/*
 * Memory of one rank of pipeline stage stage (0-based). Model states: 2 bytes per weight,
 * wl_grad_bytes per gradient (4 by default: fp32 gradient buffers), optimizer 12 (Adam: fp32 master, m, v; 16 in all, ZeRO paper) or 8 (SGD:
 * master, momentum), over the stage's layers (layers / pp, chunks of layers / (pp vp) when
 * interleaved), split over tp (norms, row-parallel biases, router and positions replicated),
 * experts over ep; the first stage also holds the embedding, the last the final norm and the
 * output projection (a copy of the embedding when tied and pp > 1). ZeRO over dp * cp
 * (experts: dp * cp / ep): 1 shards optimizer state, 2 also gradients, 3 or fsdp also
 * weights. Activations: wl_activation_bytes_per_layer over the stage's layers times
 * wl_inflight_microbatches; first stage adds the embedding dropout mask (s b h, /t with SP;
 * with dropout > 0), last stage the output layer (4 s b h, /t with SP, plus fp32 logits 4 s b V / t), each per
 * in-flight micro-batch; full recomputation adds one layer's unrecomputed activations (the
 * layer being recomputed). Communication buffers: two DP buckets (WL_DP_BUCKET_BYTES) when
 * dp * cp > 1 without weight sharding; with ZeRO-3/fsdp two unsharded layers of weights
 * (all-gather prefetch); with pp > 1 a send and a receive buffer of one micro-batch's
 * activations (2 s b h, /t with SP). Errors: those of wl_parallel_check; SIM_ERR_INPUT for
 * a stage outside [0, pp).
 */
sim_code wl_memory_stage(const wl_workload *w, const wl_parallel *p, int64_t stage,
                         wl_memory *out, sim_status *st);

/* The stage with the largest total (the first such stage on ties). Errors as above. */
sim_code wl_memory_per_rank(const wl_workload *w, const wl_parallel *p, wl_memory *out,
                            sim_status *st);

#endif
