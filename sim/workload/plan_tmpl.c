/*
 * plan_tmpl.c: the layer templates of a plan: the items of one layer (dense or MoE,
 * forward or backward) with the collectives of tensor, context and expert parallelism
 * placed between its ops, the embedding's and the head's items, and the byte counts the
 * program generator (plan_prog.c) reads. Built once per plan at load time; the layout
 * rules are plan_prog.h's.
 *
 * Collectives are placed by op role (wl_op_role, model.h), never by op name: colls_of says
 * for every role which collectives go around an op of that role, and the compiler refuses
 * a role missing from it, so that a new op has to decide its collectives.
 *
 * Also the item constructors every part of the plan module uses, so that an item not
 * stamped with a place in the step always reads mb = chunk = layer = -1.
 */
#include <stdbool.h>
#include <string.h>

#include "workload/plan_int.h"

#if defined(__GNUC__)
/* An op role without its case in colls_of is an error, default label or not. */
#pragma GCC diagnostic error "-Wswitch"
#pragma GCC diagnostic error "-Wswitch-enum"
#endif

plan_item plan_coll_item(coll_kind coll, plan_dim dim, double bytes, bool backward)
{
    plan_item it;
    memset(&it, 0, sizeof it);
    it.kind = PLAN_ITEM_COLL;
    it.coll = coll;
    it.dim = dim;
    it.bytes = bytes;
    it.backward = backward;
    it.mb = it.chunk = it.layer = -1;
    return it;
}

plan_item plan_group_item(coll_kind coll, plan_dim dim, plan_group group, double bytes,
                          bool backward)
{
    plan_item it = plan_coll_item(coll, dim, bytes, backward);
    it.group = group;
    return it;
}

plan_item plan_op_item(const wl_op *op, bool backward)
{
    plan_item it;
    memset(&it, 0, sizeof it);
    it.kind = PLAN_ITEM_COMPUTE;
    it.op = *op;
    it.backward = backward;
    it.mb = it.chunk = it.layer = -1;
    return it;
}

/* Items being built: a layer template's or an edge's, with room for cap. */
typedef struct item_list {
    plan_item *items;
    size_t n, cap;
} item_list;

static void push(item_list *l, plan_item it)
{
    if (l->n < l->cap)
        l->items[l->n++] = it;
}

/* The degrees that place collectives inside a layer and their sizes: one member's buffer. */
typedef struct coll_ctx {
    bool tp, sp, cp, ep;
    double act; /* a micro-batch's activations (TP) */
    double kv;  /* K and V of the whole sequence (CP) */
    double a2a; /* the routed tokens' activations (EP) */
} coll_ctx;

static void coll_ctx_of(const plan *p, coll_ctx *k)
{
    const wl_workload *w = &p->wl;
    const wl_parallel *par = &p->par;
    double ab = 2.0; /* bf16 activations and gradients */
    double tokens = (double)w->micro_batch * (double)w->sequence / (double)par->cp;
    k->act = tokens * (double)w->hidden * ab;
    k->kv = 2.0 * tokens * (double)(w->kv_heads * w->head_dim) / (double)par->tp * ab *
            (double)par->cp;
    /* With SP each tp rank routes its own 1/tp of the tokens. */
    k->a2a = tokens * (double)w->experts_per_token * w->capacity_factor * (double)w->hidden *
             ab / (par->sequence_parallel ? (double)par->tp : 1.0);
    k->tp = par->tp > 1;
    k->sp = par->sequence_parallel;
    k->cp = par->cp > 1;
    k->ep = par->ep > 1;
}

/* Which collectives go around an op (the rules of plan_prog.h's file comment). */
typedef struct op_colls {
    bool tp_in;       /* reads the whole input: gathered over tp before it with SP (both
                         ways), its input gradient reduced after it backward */
    bool tp_out;      /* leaves partial sums over tp: reduced after it forward; with SP its
                         output gradient gathered before it backward */
    bool cp_kv;       /* attends to every key: K and V gathered over cp before it (both
                         ways), their gradients reduce-scattered after it backward */
    bool ep_dispatch; /* all-to-all after it forward, before it backward */
    bool ep_combine;  /* all-to-all before it forward, after it backward */
} op_colls;

static op_colls colls_of(wl_op_role role)
{
    op_colls c = {false, false, false, false, false};
    switch (role) {
    case WL_ROLE_QKV: /* column-parallel GEMMs */
    case WL_ROLE_MLP_UP:
    case WL_ROLE_LOGITS:
    case WL_ROLE_ROUTER: /* replicated, on the whole input */
        c.tp_in = true;
        break;
    case WL_ROLE_ATTN_PROJ: /* row-parallel GEMMs */
    case WL_ROLE_MLP_DOWN:
    case WL_ROLE_EMBEDDING: /* vocabulary-parallel: each rank looks up its rows */
        c.tp_out = true;
        break;
    case WL_ROLE_MOE_COMBINE: /* brings the experts' outputs (partial over tp) back */
        c.tp_out = true;
        c.ep_combine = true;
        break;
    case WL_ROLE_MOE_DISPATCH:
        c.ep_dispatch = true;
        break;
    case WL_ROLE_ATTENTION:
        c.cp_kv = true;
        break;
    case WL_ROLE_ATTN_NORM: /* on local data: no collective of their own */
    case WL_ROLE_ROTARY:
    case WL_ROLE_ATTN_SOFTMAX:
    case WL_ROLE_ATTN_RESIDUAL:
    case WL_ROLE_MLP_NORM:
    case WL_ROLE_MLP_ACT:
    case WL_ROLE_MLP_RESIDUAL:
    case WL_ROLE_EXPERT_UP: /* the experts' partial sums are moe_combine's */
    case WL_ROLE_EXPERT_ACT:
    case WL_ROLE_EXPERT_DOWN:
    case WL_ROLE_POSITION_EMBEDDING:
    case WL_ROLE_FINAL_NORM:
    case WL_ROLE_LOSS:
    case WL_ROLE_OPTIMIZER: /* the tail's gathers are plan_prog.c's */
        break;
    }
    return c;
}

/* A forward op (backward: recomputed for the backward pass) and its collectives. */
static void place_forward(item_list *l, const wl_op *op, int backward, const coll_ctx *k)
{
    op_colls c = colls_of(op->role);
    if (k->tp && k->sp && c.tp_in)
        push(l, plan_coll_item(COLL_ALLGATHER, PLAN_TP, k->act, backward));
    if (k->cp && c.cp_kv)
        push(l, plan_coll_item(COLL_ALLGATHER, PLAN_CP, k->kv, backward));
    if (k->ep && c.ep_combine)
        push(l, plan_coll_item(COLL_ALLTOALL, PLAN_EP, k->a2a, backward));
    push(l, plan_op_item(op, backward));
    if (k->tp && c.tp_out)
        push(l, plan_coll_item(k->sp ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE, PLAN_TP, k->act,
                               backward));
    if (k->ep && c.ep_dispatch)
        push(l, plan_coll_item(COLL_ALLTOALL, PLAN_EP, k->a2a, backward));
}

/* A backward op and its collectives. */
static void place_backward(item_list *l, const wl_op *op, const coll_ctx *k)
{
    op_colls c = colls_of(op->role);
    if (k->tp && k->sp && c.tp_out)
        push(l, plan_coll_item(COLL_ALLGATHER, PLAN_TP, k->act, 1));
    /* The weight gradient of a column-parallel GEMM needs its whole input, of which
     * only the sequence shard was kept: gathered again (Megatron-LM's
     * LinearWithGradAccumulationAndAsyncCommunication). */
    if (k->tp && k->sp && c.tp_in)
        push(l, plan_coll_item(COLL_ALLGATHER, PLAN_TP, k->act, 1));
    /* Ring attention's backward circulates K and V again. */
    if (k->cp && c.cp_kv)
        push(l, plan_coll_item(COLL_ALLGATHER, PLAN_CP, k->kv, 1));
    if (k->ep && c.ep_dispatch)
        push(l, plan_coll_item(COLL_ALLTOALL, PLAN_EP, k->a2a, 1));
    push(l, plan_op_item(op, 1));
    if (k->tp && c.tp_in)
        push(l, plan_coll_item(k->sp ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE, PLAN_TP, k->act,
                               1));
    if (k->cp && c.cp_kv)
        push(l, plan_coll_item(COLL_REDUCE_SCATTER, PLAN_CP, k->kv, 1));
    if (k->ep && c.ep_combine)
        push(l, plan_coll_item(COLL_ALLTOALL, PLAN_EP, k->a2a, 1));
}

/* Appends ops[0..n) of a pass in direction backward with their collectives. */
static void place_ops(item_list *l, const wl_op *ops, size_t n, int backward,
                      const coll_ctx *k)
{
    for (size_t i = 0; i < n; i++) {
        if (!backward || ops[i].recompute) /* a forward op, possibly recomputed */
            place_forward(l, &ops[i], backward, k);
        else
            place_backward(l, &ops[i], k);
    }
}

/* The layer's items, collectives placed per the rules in plan_prog.h's file comment. */
static void build_layer(plan *p, int moe, int backward, const coll_ctx *k)
{
    const wl_workload *w = &p->wl;
    const wl_parallel *par = &p->par;
    tmpl *t = &p->layer[moe][backward];
    item_list l = {t->items, 0, TMPL_MAX};
    wl_op ops[WL_OPS_MAX];
    int64_t layer = 0;
    while (layer < w->layers && wl_layer_is_moe(w, layer) != moe)
        layer++;
    size_t n = wl_layer_ops_at(w, par, layer, backward, ops, WL_OPS_MAX);
    double ab = 2.0; /* bf16 weights */
    /* Everything the rank holds of the layer is reduced: its tp share of the split weights,
     * the replicated norms, biases and router, its tp x ep share of the experts. */
    double shard = wl_layer_params_per_rank(w, par, layer);
    double experts = wl_layer_expert_params_per_rank(w, par, layer);
    t->grad_bytes = (shard - experts) * wl_grad_bytes(w);
    t->expert_grad_bytes = experts * wl_grad_bytes(w);
    /* ZeRO-3 and FSDP: the layer's parameters gathered from the replicas that shard them
     * (dp x cp, or hybrid FSDP's shard group) for the dense part, the expert data-parallel
     * group for the experts; before the backward again unless they were kept unsharded
     * since the forward (FSDP's SHARD_GRAD_OP, reshard_after_forward false) */
    if ((par->zero == 3 || par->fsdp) && (!backward || wl_reshard_after_forward(par))) {
        push(&l, plan_group_item(COLL_ALLGATHER, PLAN_DP, plan_shard_group(p),
                                 (shard - experts) * ab, backward));
        if (experts > 0)
            push(&l, plan_group_item(COLL_ALLGATHER, PLAN_DP, PLAN_GROUP_EXPERT_DP,
                                     experts * ab, backward));
    }
    place_ops(&l, ops, n, backward, k);
    t->n = l.n;
}

/*
 * TP communication overlap: every TP all-gather or reduce-scatter runs beside the GEMM it
 * feeds or follows (pipelined in chunks, as Transformer Engine's userbuffers do), so it is
 * issued just before that GEMM with async = PLAN_ASYNC_NEXT_OP and joined right after it. A
 * gather already precedes its GEMM; a reduce-scatter that follows its GEMM moves in front of
 * it.
 */
static void overlap_tp(tmpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        plan_item *it = &t->items[i];
        if (it->kind != PLAN_ITEM_COLL || it->dim != PLAN_TP ||
            (it->coll != COLL_ALLGATHER && it->coll != COLL_REDUCE_SCATTER))
            continue;
        it->async = PLAN_ASYNC_NEXT_OP;
        if (i > 0 && t->items[i - 1].kind == PLAN_ITEM_COMPUTE &&
            t->items[i - 1].op.kind == WL_OP_GEMM &&
            (i + 1 >= t->n || t->items[i + 1].kind != PLAN_ITEM_COMPUTE ||
             t->items[i + 1].op.kind != WL_OP_GEMM)) {
            plan_item c = *it;
            t->items[i] = t->items[i - 1];
            t->items[i - 1] = c;
        }
    }
}

/*
 * Ring attention (cp_comm_type p2p): K and V pass around the cp ring one block at a time
 * while attention computes on the block it holds (Liu et al. 2023, Ring Attention;
 * Megatron-LM / Transformer Engine's p2p context parallelism, whose load-balanced causal
 * chunks give every rank the same work), and backward their gradients travel the ring the
 * same way. So the CP collectives around an attention op run beside it (PLAN_ASYNC_NEXT_OP)
 * and are joined right after it: the step sees max(attention, ring), not their sum. A
 * reduce-scatter that follows the op moves in front of it.
 */
static void overlap_cp(tmpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        plan_item *it = &t->items[i];
        if (it->kind != PLAN_ITEM_COLL || it->dim != PLAN_CP)
            continue;
        it->async = PLAN_ASYNC_NEXT_OP;
        if (it->coll == COLL_REDUCE_SCATTER && i > 0 &&
            t->items[i - 1].kind == PLAN_ITEM_COMPUTE &&
            t->items[i - 1].op.kind == WL_OP_ATTENTION) {
            plan_item c = *it;
            t->items[i] = t->items[i - 1];
            t->items[i - 1] = c;
        }
    }
}

/* Numbers the compute items of n items from first: first + 0, first + 1, ... */
static void number_ops(plan_item *items, size_t n, int32_t first)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == PLAN_ITEM_COMPUTE)
            items[i].op_id = first + (int32_t)i;
}

void plan_tmpl_build(plan *p)
{
    coll_ctx k;
    coll_ctx_of(p, &k);
    for (int moe = 0; moe < 2; moe++)
        for (int b = 0; b < 2; b++) {
            build_layer(p, moe, b, &k);
            if (p->tp_comm_overlap && p->par.tp > 1)
                overlap_tp(&p->layer[moe][b]);
            if (p->cp_comm == PLAN_CP_P2P && p->par.cp > 1)
                overlap_cp(&p->layer[moe][b]);
        }
    wl_op ops[8];
    /* Vocabulary-parallel embedding: its partial output is reduced over tp (reduce-scattered
     * with SP). The logits GEMM is column-parallel: with SP its input is gathered over tp and
     * its input gradient reduce-scattered back; without SP the gradient is all-reduced. */
    for (int b = 0; b < 2; b++) {
        item_list emb = {p->emb[b], 0, sizeof p->emb[b] / sizeof p->emb[b][0]};
        item_list head = {p->head[b], 0, sizeof p->head[b] / sizeof p->head[b][0]};
        place_ops(&emb, ops, wl_embedding_ops(&p->wl, &p->par, b, ops, 8), b, &k);
        p->n_emb[b] = emb.n;
        place_ops(&head, ops, wl_head_ops(&p->wl, &p->par, b, ops, 8), b, &k);
        p->n_head[b] = head.n;
    }
    /* op ids (plan_prog.h), in the order PLAN_OP_IDS counts them */
    _Static_assert(TMPL_MAX == 3 * WL_OPS_MAX && sizeof p->emb[0] / sizeof p->emb[0][0] == 12 &&
                       sizeof p->head[0] / sizeof p->head[0][0] == 12,
                   "PLAN_OP_IDS counts the templates' items");
    for (int moe = 0; moe < 2; moe++)
        for (int b = 0; b < 2; b++)
            number_ops(p->layer[moe][b].items, p->layer[moe][b].n, 1 + (moe * 2 + b) * TMPL_MAX);
    for (int b = 0; b < 2; b++) {
        number_ops(p->emb[b], p->n_emb[b], 1 + 4 * TMPL_MAX + b * 12);
        number_ops(p->head[b], p->n_head[b], 1 + 4 * TMPL_MAX + 24 + b * 12);
    }
    bool sp = p->par.sequence_parallel;
    double act = k.act;
    double gb = wl_grad_bytes(&p->wl);
    p->emb_grad_bytes = wl_edge_params_per_rank(&p->wl, &p->par, 0, 0) * gb;
    p->head_grad_bytes = wl_edge_params_per_rank(&p->wl, &p->par, p->par.pp - 1, 1) * gb;
    p->act_bytes = act / (sp ? (double)p->par.tp : 1.0);
    /* Tied embeddings over several stages: the first stage's embedding and the last stage's
     * output copy sum their word-embedding gradients every step (Megatron-LM's
     * _allreduce_word_embedding_grads), V h / tp gradients. */
    p->emb_sync_bytes = p->wl.tied_embeddings && p->par.pp > 1
                            ? (double)p->wl.vocab * (double)p->wl.hidden / (double)p->par.tp * gb
                            : 0.0;
    /* Per stage: the bytes of every parameter its ranks hold (ZeRO-1/2 gather them back
     * after the optimizer step). */
    for (int64_t st = 0; p->stage_param_bytes && p->stage_expert_bytes && st < p->par.pp; st++) {
        double sum = wl_edge_params_per_rank(&p->wl, &p->par, st, 0) +
                     wl_edge_params_per_rank(&p->wl, &p->par, st, 1), ex = 0;
        for (int64_t c = 0; c < p->par.vp; c++) {
            int64_t first, count;
            wl_chunk_layers(&p->wl, &p->par, c * p->par.pp + st, &first, &count);
            for (int64_t i = 0; i < count; i++) {
                sum += wl_layer_params_per_rank(&p->wl, &p->par, first + i);
                ex += wl_layer_expert_params_per_rank(&p->wl, &p->par, first + i);
            }
        }
        p->stage_param_bytes[st] = sum * 2.0;
        p->stage_expert_bytes[st] = ex * 2.0;
    }
}
