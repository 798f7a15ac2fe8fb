/*
 * plan_tmpl.c: the layer templates of a plan: the items of one layer (dense or MoE,
 * forward or backward) with the collectives of tensor, context and expert parallelism
 * placed between its ops, the embedding's and the head's items, and the byte counts the
 * program generator (plan_prog.c) reads. Built once per plan at load time; the layout
 * rules are plan_prog.h's.
 *
 * Also the item constructors every part of the plan module uses, so that an item not
 * stamped with a place in the step always reads mb = chunk = layer = -1.
 */
#include <string.h>

#include "workload/plan_int.h"

const char *plan_coll_name(int coll)
{
    static const char *const names[] = {"all-reduce", "reduce-scatter", "all-gather",
                                        "all-to-all"};
    return coll >= 0 && coll < PLAN_COLL_COUNT ? names[coll] : "?";
}

plan_item plan_coll_item(int coll, int dim, double bytes, int backward)
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

plan_item plan_group_item(int coll, int dim, int group, double bytes, int backward)
{
    plan_item it = plan_coll_item(coll, dim, bytes, backward);
    it.group = group;
    return it;
}

plan_item plan_op_item(const wl_op *op, int backward)
{
    plan_item it;
    memset(&it, 0, sizeof it);
    it.kind = PLAN_ITEM_COMPUTE;
    it.op = *op;
    it.backward = backward;
    it.mb = it.chunk = it.layer = -1;
    return it;
}

static void push(tmpl *t, plan_item it)
{
    if (t->n < TMPL_MAX)
        t->items[t->n++] = it;
}

static int is(const wl_op *op, const char *name)
{
    return op->name && !strcmp(op->name, name);
}

/* The layer's items, collectives placed per the rules in the file comment. */
static void build_layer(plan_full *F, int moe, int backward)
{
    const plan *p = &F->pub;
    const wl_workload *w = &p->wl;
    const wl_parallel *par = &p->par;
    tmpl *t = &F->layer[moe][backward];
    wl_op ops[WL_OPS_MAX];
    int64_t layer = 0;
    while (layer < w->layers && wl_layer_is_moe(w, layer) != moe)
        layer++;
    size_t n = wl_layer_ops_at(w, par, layer, backward, ops, WL_OPS_MAX);
    double ab = 2.0; /* bf16 activations and gradients */
    double tokens = (double)w->micro_batch * (double)w->sequence / (double)par->cp;
    double act = tokens * (double)w->hidden * ab;
    double kv = 2.0 * tokens * (double)(w->kv_heads * w->head_dim) / (double)par->tp * ab *
                (double)par->cp;
    /* With SP each tp rank routes its own 1/tp of the tokens. */
    double a2a = tokens * (double)w->experts_per_token * w->capacity_factor *
                 (double)w->hidden * ab / (par->sequence_parallel ? (double)par->tp : 1.0);
    int tp = par->tp > 1, sp = par->sequence_parallel, cp = par->cp > 1, ep = par->ep > 1;
    t->n = 0;
    /* Everything the rank holds of the layer is reduced: its tp share of the split weights,
     * the replicated norms, biases and router, its tp x ep share of the experts. */
    double shard = wl_layer_params_per_rank(w, par, layer);
    double experts = wl_layer_expert_params_per_rank(w, par, layer);
    t->grad_bytes = (shard - experts) * wl_grad_bytes(w);
    t->expert_grad_bytes = experts * wl_grad_bytes(w);
    /* ZeRO-3: the layer's parameters gathered from the replicas that shard them: dp x cp
     * for the dense part, the expert data-parallel group for the experts */
    if (par->zero == 3 || par->fsdp) {
        push(t, plan_group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_DP_CP, (shard - experts) * ab,
                           backward));
        if (experts > 0)
            push(t, plan_group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_EXPERT_DP, experts * ab,
                               backward));
    }
    for (size_t i = 0; i < n; i++) {
        const wl_op *op = &ops[i];
        int fwd = !backward || op->recompute; /* a forward op, possibly recomputed */
        if (fwd) {
            if (tp && sp && (is(op, "qkv") || is(op, "mlp_up") || is(op, "router")))
                push(t, plan_coll_item(PLAN_ALLGATHER, PLAN_TP, act, backward));
            if (cp && is(op, "attention"))
                push(t, plan_coll_item(PLAN_ALLGATHER, PLAN_CP, kv, backward));
            if (ep && is(op, "moe_combine"))
                push(t, plan_coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
            push(t, plan_op_item(op, backward));
            if (tp && (is(op, "attn_proj") || is(op, "mlp_down") || is(op, "moe_combine")))
                push(t, plan_coll_item(sp ? PLAN_REDUCE_SCATTER : PLAN_ALLREDUCE, PLAN_TP, act,
                                  backward));
            if (ep && is(op, "moe_dispatch"))
                push(t, plan_coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
        } else {
            if (tp && sp && (is(op, "attn_proj") || is(op, "mlp_down") || is(op, "moe_combine")))
                push(t, plan_coll_item(PLAN_ALLGATHER, PLAN_TP, act, backward));
            /* The weight gradient of a column-parallel GEMM needs its whole input, of which
             * only the sequence shard was kept: gathered again (Megatron-LM's
             * LinearWithGradAccumulationAndAsyncCommunication). */
            if (tp && sp && (is(op, "qkv") || is(op, "mlp_up") || is(op, "router")))
                push(t, plan_coll_item(PLAN_ALLGATHER, PLAN_TP, act, backward));
            /* Ring attention's backward circulates K and V again. */
            if (cp && is(op, "attention"))
                push(t, plan_coll_item(PLAN_ALLGATHER, PLAN_CP, kv, backward));
            if (ep && is(op, "moe_dispatch"))
                push(t, plan_coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
            push(t, plan_op_item(op, backward));
            if (tp && (is(op, "qkv") || is(op, "mlp_up") || is(op, "router")))
                push(t, plan_coll_item(sp ? PLAN_REDUCE_SCATTER : PLAN_ALLREDUCE, PLAN_TP, act,
                                  backward));
            if (cp && is(op, "attention"))
                push(t, plan_coll_item(PLAN_REDUCE_SCATTER, PLAN_CP, kv, backward));
            if (ep && is(op, "moe_combine"))
                push(t, plan_coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
        }
    }
}

/* Appends op items, then a collective after the op named after (or before the op named
 * before) when tp > 1. */
static void edge_items(plan_item *dst, size_t *n, const wl_op *ops, size_t n_ops, int b,
                       const char *after, int coll_after, const char *before, int coll_before,
                       double bytes, int tp)
{
    for (size_t i = 0; i < n_ops; i++) {
        if (tp && before && is(&ops[i], before) && coll_before >= 0)
            dst[(*n)++] = plan_coll_item(coll_before, PLAN_TP, bytes, b);
        dst[(*n)++] = plan_op_item(&ops[i], b);
        if (tp && after && is(&ops[i], after) && coll_after >= 0)
            dst[(*n)++] = plan_coll_item(coll_after, PLAN_TP, bytes, b);
    }
}

/*
 * TP communication overlap: every TP all-gather or reduce-scatter runs beside the GEMM it
 * feeds or follows (pipelined in chunks, as Transformer Engine's userbuffers do), so it is
 * issued just before that GEMM with async = 2 and joined right after it. A gather already
 * precedes its GEMM; a reduce-scatter that follows its GEMM moves in front of it.
 */
static void overlap_tp(tmpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        plan_item *it = &t->items[i];
        if (it->kind != PLAN_ITEM_COLL || it->dim != PLAN_TP ||
            (it->coll != PLAN_ALLGATHER && it->coll != PLAN_REDUCE_SCATTER))
            continue;
        it->async = 2;
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

void plan_tmpl_build(plan_full *F)
{
    plan *p = &F->pub;
    for (int moe = 0; moe < 2; moe++)
        for (int b = 0; b < 2; b++) {
            build_layer(F, moe, b);
            if (p->tp_comm_overlap && p->par.tp > 1)
                overlap_tp(&F->layer[moe][b]);
        }
    wl_op ops[8];
    int tp = p->par.tp > 1, sp = p->par.sequence_parallel;
    double tokens = (double)p->wl.micro_batch * (double)p->wl.sequence / (double)p->par.cp;
    double act = tokens * (double)p->wl.hidden * 2.0;
    /* Vocabulary-parallel embedding: its partial output is reduced over tp (reduce-scattered
     * with SP). The logits GEMM is column-parallel: with SP its input is gathered over tp and
     * its input gradient reduce-scattered back; without SP the gradient is all-reduced. */
    for (int b = 0; b < 2; b++) {
        size_t n = wl_embedding_ops(&p->wl, &p->par, b, ops, 8);
        F->n_emb[b] = 0;
        edge_items(F->emb[b], &F->n_emb[b], ops, n, b, "embedding",
                   b ? -1 : sp ? PLAN_REDUCE_SCATTER : PLAN_ALLREDUCE, "embedding",
                   b && sp ? PLAN_ALLGATHER : -1, act, tp);
        n = wl_head_ops(&p->wl, &p->par, b, ops, 8);
        F->n_head[b] = 0;
        if (!b)
            edge_items(F->head[b], &F->n_head[b], ops, n, b, NULL, -1, "logits",
                       sp ? PLAN_ALLGATHER : -1, act, tp);
        else
            edge_items(F->head[b], &F->n_head[b], ops, n, b, "logits",
                       sp ? PLAN_REDUCE_SCATTER : PLAN_ALLREDUCE, "logits",
                       sp ? PLAN_ALLGATHER : -1, act, tp);
    }
    double gb = wl_grad_bytes(&p->wl);
    F->emb_grad_bytes = wl_edge_params_per_rank(&p->wl, &p->par, 0, 0) * gb;
    F->head_grad_bytes = wl_edge_params_per_rank(&p->wl, &p->par, p->par.pp - 1, 1) * gb;
    F->act_bytes = act / (sp ? (double)p->par.tp : 1.0);
    /* Tied embeddings over several stages: the first stage's embedding and the last stage's
     * output copy sum their word-embedding gradients every step (Megatron-LM's
     * _allreduce_word_embedding_grads), V h / tp gradients. */
    F->emb_sync_bytes = p->wl.tied_embeddings && p->par.pp > 1
                            ? (double)p->wl.vocab * (double)p->wl.hidden / (double)p->par.tp * gb
                            : 0.0;
    /* Per stage: the bytes of every parameter its ranks hold (ZeRO-1/2 gather them back
     * after the optimizer step). */
    for (int64_t st = 0; F->stage_param_bytes && F->stage_expert_bytes && st < p->par.pp; st++) {
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
        F->stage_param_bytes[st] = sum * 2.0;
        F->stage_expert_bytes[st] = ex * 2.0;
    }
}
