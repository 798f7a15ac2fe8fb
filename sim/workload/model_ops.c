/*
 * model_ops.c: the ops of one transformer layer, of the embedding and of the head for one
 * micro-batch on one rank, priced for the forward and the backward pass (see model.h for
 * the conventions).
 *
 * One list of forward op specs (layer_specs) feeds both the forward and the backward op
 * lists, so these cannot drift apart: the GEMM and attention FLOPs of the ops, summed over
 * ranks and micro-batches, are the hardware FLOPs of model.c (a test checks it). Each op
 * carries its role (wl_op_role), and its name is its role's.
 */
#include <string.h>

#include "workload/model_int.h"

/* ---- ops ----------------------------------------------------------------------------- */

/*
 * What an op does, enough to price its forward and its backward pass. GEMM: an m x k input
 * times a k x n weight (weights: the weight elements read, all local experts for a grouped
 * GEMM). Attention: q_elems query (= output) elements, kv_elems key plus value elements.
 * Elementwise: elems elements, bpe bytes and fpe FLOPs per element in the forward pass.
 */
typedef struct op_spec {
    wl_op_kind kind;
    wl_op_role role;
    const char *name;
    double m, n, k, weights;
    double flops_fwd, q_elems, kv_elems;
    double score_elems; /* attention, unfused: the score matrix the GEMMs write and read */
    double elems, bpe, fpe;
    double bpe_bwd;    /* elementwise: bytes per element backward; 0 = bpe + the gradient */
    double bwd_factor; /* attention: backward FLOPs over forward */
    bool core_attention; /* recomputed with the attention core (selective recomputation) */
    bool fused;          /* attention: a flash kernel */
    bool dropout;        /* attention, fused: dropout on the scores inside the kernel */
} op_spec;

typedef struct op_list {
    wl_op *ops;
    size_t cap, n;
} op_list;

static void push(op_list *l, const wl_op *op)
{
    if (l->n < l->cap)
        l->ops[l->n] = *op;
    l->n++;
}

/* Prices spec for the forward (backward = 0) or backward pass and appends it. */
static void emit(op_list *l, const op_spec *sp, const wl_dims *x, int backward, int recompute)
{
    wl_op op;
    memset(&op, 0, sizeof op);
    op.kind = sp->kind;
    op.role = sp->role;
    op.name = sp->name;
    op.recompute = recompute;
    op.fused = sp->fused;
    op.dropout = sp->dropout;
    double pass = backward ? 2.0 : 1.0;
    switch (sp->kind) {
    case WL_OP_GEMM:
        op.m = sp->m;
        op.n = sp->n;
        op.k = sp->k;
        op.flops = pass * 2.0 * sp->m * sp->n * sp->k;
        if (!backward)
            op.hbm_bytes = sp->m * sp->k * x->wb + sp->weights * x->wb + sp->m * sp->n * x->ab;
        else /* dgrad: dY, W -> dX; wgrad: dY, X -> dW */
            op.hbm_bytes = 2 * sp->m * sp->n * x->ab + sp->m * sp->k * (x->ab + x->wb) +
                           sp->weights * (x->wb + x->ab);
        break;
    case WL_OP_ATTENTION:
        op.m = sp->m;
        op.n = sp->n;
        op.k = sp->k;
        op.flops = (backward ? sp->bwd_factor : 1.0) * sp->flops_fwd;
        /* forward reads Q, K, V and writes O; backward reads Q, K, V, O, dO and writes
         * dQ, dK, dV */
        op.hbm_bytes = x->ab * (backward ? 4 * sp->q_elems + 2 * sp->kv_elems
                                         : 2 * sp->q_elems + sp->kv_elems);
        /* Unfused, the score GEMMs move the score matrix themselves: forward QK^T writes
         * it and AV reads the probabilities; backward the AV GEMMs write dP and read P,
         * and the QK^T GEMMs read dS twice (for dQ and dK). With a head of 64-128 these
         * batched GEMMs do 2 x head FLOPs per 2-byte score, under the ridge point of A100
         * and H100, so the roofline of op_seconds times them by these bytes. */
        op.hbm_bytes += x->ab * (backward ? 4.0 : 2.0) * sp->score_elems;
        break;
    default: /* elementwise: backward also reads the incoming gradient */
        op.flops = pass * sp->elems * sp->fpe;
        op.hbm_bytes = sp->elems * (!backward          ? sp->bpe
                                    : sp->bpe_bwd > 0 ? sp->bpe_bwd
                                                      : sp->bpe + x->ab);
        break;
    }
    push(l, &op);
}

/* Op names by role; the optimizer's is its algorithm's (wl_optimizer_op). */
static const char *const role_names[] = {
    [WL_ROLE_ATTN_NORM] = "attn_norm",
    [WL_ROLE_QKV] = "qkv",
    [WL_ROLE_ROTARY] = "rotary",
    [WL_ROLE_ATTENTION] = "attention",
    [WL_ROLE_ATTN_SOFTMAX] = "attn_softmax",
    [WL_ROLE_ATTN_PROJ] = "attn_proj",
    [WL_ROLE_ATTN_RESIDUAL] = "attn_residual",
    [WL_ROLE_MLP_NORM] = "mlp_norm",
    [WL_ROLE_MLP_UP] = "mlp_up",
    [WL_ROLE_MLP_ACT] = "mlp_act",
    [WL_ROLE_MLP_DOWN] = "mlp_down",
    [WL_ROLE_ROUTER] = "router",
    [WL_ROLE_MOE_DISPATCH] = "moe_dispatch",
    [WL_ROLE_EXPERT_UP] = "expert_up",
    [WL_ROLE_EXPERT_ACT] = "expert_act",
    [WL_ROLE_EXPERT_DOWN] = "expert_down",
    [WL_ROLE_MOE_COMBINE] = "moe_combine",
    [WL_ROLE_MLP_RESIDUAL] = "mlp_residual",
    [WL_ROLE_EMBEDDING] = "embedding",
    [WL_ROLE_POSITION_EMBEDDING] = "position_embedding",
    [WL_ROLE_FINAL_NORM] = "final_norm",
    [WL_ROLE_LOGITS] = "logits",
    [WL_ROLE_LOSS] = "loss",
    [WL_ROLE_OPTIMIZER] = "optimizer",
};

static op_spec gemm(wl_op_role role, double m, double n, double k, double weights)
{
    op_spec s;
    memset(&s, 0, sizeof s);
    s.kind = WL_OP_GEMM;
    s.role = role;
    s.name = role_names[role];
    s.m = m;
    s.n = n;
    s.k = k;
    s.weights = weights;
    return s;
}

static op_spec elementwise(wl_op_role role, double elems, double bpe, double fpe)
{
    op_spec s;
    memset(&s, 0, sizeof s);
    s.kind = WL_OP_ELEMENTWISE;
    s.role = role;
    s.name = role_names[role];
    s.elems = elems;
    s.bpe = bpe;
    s.fpe = fpe;
    return s;
}

/* FLOPs per element: RMSNorm (square, sum, scale, weight) and LayerNorm (also the mean,
 * centring and bias); GELU (tanh form) and SwiGLU (SiLU and the product). */
#define FPE_RMSNORM 4.0
#define FPE_LAYERNORM 7.0
#define FPE_GELU 8.0
#define FPE_SWIGLU 5.0
#define FPE_SOFTMAX_XENT 5.0
#define FPE_SOFTMAX 5.0 /* scale, mask, max, exp, normalize */
#define FPE_ROTARY 3.0  /* x cos + rotate(x) sin */
#define LOSS_BPE_FWD 38.0 /* the cross entropy's fp32 passes over the logits (wl_head_ops) */
#define LOSS_BPE_BWD 14.0

/* The forward op specs of layer (dense or MoE) for one micro-batch on one rank, in order.
 * Returns how many were written to specs (at most WL_OPS_MAX). */
static size_t layer_specs(const wl_workload *w, const wl_dims *x, int moe, const wl_parallel *p,
                          op_spec *specs)
{
    size_t n = 0;
    double t = x->t, h = x->h, T = x->T;
    double norm_fpe = w->norm == WL_NORM_LAYERNORM ? FPE_LAYERNORM : FPE_RMSNORM;
    double act_fpe = x->gated ? FPE_SWIGLU : FPE_GELU;
    double act_bpe = (x->gated ? 3.0 : 2.0) * x->ab; /* gated reads gate and up */
    double up = x->gated ? 2.0 : 1.0;
    /* bias-dropout-add: reads the branch and the residual, writes the sum and, with
     * dropout, its 1-byte mask (read again backward) */
    double residual_bpe = 3 * x->ab + (w->dropout > 0 ? 1.0 : 0.0);

    specs[n++] = elementwise(WL_ROLE_ATTN_NORM, x->Tn * h, 2 * x->ab, norm_fpe);
    double qkv_n = (h + 2 * x->kvw) / t;
    specs[n++] = gemm(WL_ROLE_QKV, T, qkv_n, h, h * qkv_n);
    if (w->position == WL_POSITION_ROTARY) {
        /* Rotary embedding of q and k: a separate kernel in Megatron-LM and Transformer
         * Engine (fused_apply_rotary_pos_emb), reading and writing both; backward the same
         * on their gradients (Su et al. 2021, RoFormer). */
        op_spec rope = elementwise(WL_ROLE_ROTARY, T * (h + x->kvw) / t, 2 * x->ab, FPE_ROTARY);
        rope.bpe_bwd = 2 * x->ab;
        specs[n++] = rope;
    }
    op_spec at;
    memset(&at, 0, sizeof at);
    at.kind = WL_OP_ATTENTION;
    at.role = WL_ROLE_ATTENTION;
    at.name = role_names[WL_ROLE_ATTENTION];
    at.m = x->sl;
    at.n = x->s;
    at.k = x->hd;
    /* QK^T and AV: the whole score matrix unfused, its causal half with flash, which also
     * recomputes the scores backward (attention_core_flops) */
    at.flops_fwd = (x->flash ? 2.0 : 4.0) * x->b * x->sl * x->s * h / t;
    at.bwd_factor = x->flash ? 2.5 : 2.0;
    at.fused = x->flash;
    at.dropout = x->flash && x->drop;
    at.q_elems = T * h / t;
    at.kv_elems = 2 * x->b * x->s * x->kvw / t;
    double scores = x->b * (x->a / t) * x->sl * x->s; /* this rank's score matrix */
    at.score_elems = x->flash ? 0 : scores;
    specs[n++] = at;
    if (!x->flash) {
        /* The score matrix is materialized (before FlashAttention, 2022). The score GEMMs'
         * own reads and writes of it are the attention op's (above); between them, the fused
         * scale-mask-softmax kernel reads the scores and writes probabilities (4 bytes per
         * score, 16-bit), and dropout reads those and writes its output and 1-byte mask (5).
         * Backward: dropout's reads the gradient and mask and writes (5), softmax's reads
         * the gradient and its output and writes (6). Megatron-LM's CoreAttention
         * (megatron/model/transformer.py, 2021-2022). */
        double drop_fwd = x->drop ? 2 * x->ab + 1.0 : 0.0;
        op_spec sm = elementwise(WL_ROLE_ATTN_SOFTMAX, scores, 2 * x->ab + drop_fwd, FPE_SOFTMAX);
        sm.bpe_bwd = 3 * x->ab + drop_fwd;
        sm.core_attention = true;
        specs[n++] = sm;
    }
    specs[n++] = gemm(WL_ROLE_ATTN_PROJ, T, h, h / t, h * h / t);
    specs[n++] = elementwise(WL_ROLE_ATTN_RESIDUAL, x->Tn * h, residual_bpe, 2);
    specs[n++] = elementwise(WL_ROLE_MLP_NORM, x->Tn * h, 2 * x->ab, norm_fpe);
    if (!moe) {
        specs[n++] = gemm(WL_ROLE_MLP_UP, T, up * x->f / t, h, h * up * x->f / t);
        specs[n++] = elementwise(WL_ROLE_MLP_ACT, T * x->f / t, act_bpe, act_fpe);
        specs[n++] = gemm(WL_ROLE_MLP_DOWN, T, h, x->f / t, x->f / t * h);
    } else {
        /* Routed slots on this rank: balanced over the ep ranks, which exchange tokens. */
        double R = T * x->k * x->cf;
        double local = x->E / (double)p->ep;
        specs[n++] = gemm(WL_ROLE_ROUTER, x->Tn, x->E, h, h * x->E);
        specs[n++] = elementwise(WL_ROLE_MOE_DISPATCH, R * h, 2 * x->ab, 0);
        specs[n++] = gemm(WL_ROLE_EXPERT_UP, R, up * x->fe / t, h, local * h * up * x->fe / t);
        specs[n++] = elementwise(WL_ROLE_EXPERT_ACT, R * x->fe / t, act_bpe, act_fpe);
        specs[n++] = gemm(WL_ROLE_EXPERT_DOWN, R, h, x->fe / t, local * x->fe / t * h);
        specs[n++] = elementwise(WL_ROLE_MOE_COMBINE, R * h, 2 * x->ab, 2);
    }
    specs[n++] = elementwise(WL_ROLE_MLP_RESIDUAL, x->Tn * h, residual_bpe, 2);
    return n;
}

size_t wl_layer_ops_at(const wl_workload *w, const wl_parallel *p, int64_t layer, int backward,
                       wl_op *ops, size_t cap)
{
    wl_dims x;
    wl_dims_of(w, p, &x);
    op_spec specs[WL_OPS_MAX];
    size_t n = layer_specs(w, &x, wl_layer_is_moe(w, layer), p, specs);
    op_list l = {ops, cap, 0};
    if (!backward) {
        for (size_t i = 0; i < n; i++)
            emit(&l, &specs[i], &x, 0, 0);
        return l.n;
    }
    if (p->recompute == WL_RECOMPUTE_FULL)
        for (size_t i = 0; i < n; i++)
            emit(&l, &specs[i], &x, 0, 1);
    else if (p->recompute == WL_RECOMPUTE_SELECTIVE)
        for (size_t i = 0; i < n; i++)
            if (specs[i].kind == WL_OP_ATTENTION || specs[i].core_attention)
                emit(&l, &specs[i], &x, 0, 1);
    for (size_t i = n; i-- > 0;)
        emit(&l, &specs[i], &x, 1, 0);
    return l.n;
}

size_t wl_layer_ops(const wl_workload *w, const wl_parallel *p, int backward, wl_op *ops,
                    size_t cap)
{
    int64_t layer = w->experts > 0 ? w->moe_every - 1 : 0;
    return wl_layer_ops_at(w, p, layer, backward, ops, cap);
}

size_t wl_embedding_ops(const wl_workload *w, const wl_parallel *p, int backward, wl_op *ops,
                        size_t cap)
{
    wl_dims x;
    wl_dims_of(w, p, &x);
    op_list l = {ops, cap, 0};
    /* Each tp rank looks up the rows of its vocabulary shard into a full-size partial
     * output (reduced over tp afterwards). Backward reads the incoming gradient and
     * scatter-adds it into a dense gradient of the whole shard, V / tp rows of h, which
     * PyTorch's embedding backward (embedding_dense_backward, sparse=False as Megatron-LM's
     * VocabParallelEmbedding calls it) zero-fills first; the data-parallel wrapper then adds
     * that into the weight's gradient buffer (Megatron-LM's DistributedDataParallel grad
     * hook, main_grad.add_): per micro-batch, per element of the shard, the fill's write,
     * the add's read of it and the buffer's read and write. */
    op_spec emb = elementwise(WL_ROLE_EMBEDDING, x.T * x.h, 2 * x.ab, 0);
    emb.bpe_bwd = 3 * x.ab + x.V / x.t * (2 * x.ab + 2 * wl_grad_bytes(w)) / x.T;
    op_spec pos = elementwise(WL_ROLE_POSITION_EMBEDDING, x.Tn * x.h, 3 * x.ab, 1);
    int learned = w->position == WL_POSITION_LEARNED;
    if (!backward) {
        emit(&l, &emb, &x, 0, 0);
        if (learned)
            emit(&l, &pos, &x, 0, 0);
    } else {
        if (learned)
            emit(&l, &pos, &x, 1, 0);
        emit(&l, &emb, &x, 1, 0);
    }
    return l.n;
}

size_t wl_head_ops(const wl_workload *w, const wl_parallel *p, int backward, wl_op *ops,
                   size_t cap)
{
    wl_dims x;
    wl_dims_of(w, p, &x);
    op_list l = {ops, cap, 0};
    double norm_fpe = w->norm == WL_NORM_LAYERNORM ? FPE_LAYERNORM : FPE_RMSNORM;
    op_spec specs[3];
    specs[0] = elementwise(WL_ROLE_FINAL_NORM, x.Tn * x.h, 2 * x.ab, norm_fpe);
    specs[1] = gemm(WL_ROLE_LOGITS, x.T, x.V / x.t, x.h, x.h * x.V / x.t);
    /* Megatron-LM's vocabulary-parallel cross entropy (core/tensor_parallel/cross_entropy.py,
     * unfused, its default) makes several fp32 passes over the logits: forward the cast to
     * fp32 (read 2, write 4 bytes), the max (read 4), subtracting it in place (8), exp in
     * place (8), the sum (4) and the division in place (8): 38 bytes per logit, keeping the
     * fp32 softmax; backward the in-place scaling by the incoming gradient (8) and the cast
     * back to 16 bits (4 + 2): 14. */
    specs[2] = elementwise(WL_ROLE_LOSS, x.T * x.V / x.t, LOSS_BPE_FWD, FPE_SOFTMAX_XENT);
    specs[2].bpe_bwd = LOSS_BPE_BWD;
    if (!backward)
        for (size_t i = 0; i < 3; i++)
            emit(&l, &specs[i], &x, 0, 0);
    else
        for (size_t i = 3; i-- > 0;)
            emit(&l, &specs[i], &x, 1, 0);
    return l.n;
}
