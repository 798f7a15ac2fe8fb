/*
 * plan_prog.c: the rank-program generator (see plan_prog.h for the order of the items).
 *
 * A cursor walks its stage's pipeline schedule pass by pass and expands each pass from the
 * plan's templates (plan_tmpl.c), stamping each item with its place in the step; nothing
 * is stored per rank, so the cursor is the whole state of a program.
 *
 * The walk is a state machine (plan_prog_state): one function per state, each emitting at
 * most one item per call and moving the cursor on, and plan_prog_next dispatching until a
 * state emits. Every state of a pass runs on every pass and decides from the pass alone
 * (direction, virtual stage, whether it reduces gradients) whether it has anything to emit,
 * so that the order of the items is the order of the states. The one exception to "one item
 * per call" is a gradient flush with expert gradients: the expert bucket's collective is
 * kept in the cursor (pending) and returned by the next call before anything else.
 * What a pass's states read about it (plan_pass_ctx) is computed when the pass changes and
 * kept in the cursor: the items of a pass, hundreds, read it without recomputing it.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "workload/plan_int.h"

#if defined(__GNUC__)
/* A state without its case in plan_prog_next is an error, default label or not. */
#pragma GCC diagnostic error "-Wswitch"
#pragma GCC diagnostic error "-Wswitch-enum"
#endif

/* The rank of virtual stage g (chunk g / pp on stage g mod pp) in rank's pipeline. */
static int64_t stage_rank(const plan *p, int64_t rank, int64_t g)
{
    return plan_group_member(p, rank, PLAN_PP, g % p->par.pp);
}

/* The pipeline schedule of c's stage. */
static void sched_of(const plan *p, const plan_cursor *c, sched *sc)
{
    sched_init_group(sc, p->par.schedule, p->par.pp, p->microbatches, p->par.vp, c->stage,
                     wl_mb_group(&p->par));
}

void plan_prog_begin(const plan *p, int64_t rank, plan_cursor *c)
{
    memset(c, 0, sizeof *c);
    c->rank = (int32_t)rank;
    c->stage = (int32_t)plan_coord(p, rank, PLAN_PP);
    c->ctx_pass = -1;
    sched sc;
    sched_of(p, c, &sc);
    c->n_pass = (int32_t)sched_len(&sc);
    c->state = c->n_pass > 0 ? PLAN_PROG_RECV : PLAN_PROG_WAIT;
}

/* Moves c to state s, at its first position. */
static void go(plan_cursor *c, plan_prog_state s)
{
    c->state = s;
    c->step = 0;
    c->layer_i = 0;
}

typedef plan_pass_ctx pass_ctx;

/* What every state of c's current pass reads about it. */
static void pass_of(const plan *p, const plan_cursor *c, pass_ctx *x)
{
    sched sc;
    sched_of(p, c, &sc);
    sched_pass ps = sched_at(&sc, c->pass);
    int64_t first, L;
    x->mb = (int32_t)ps.mb;
    x->chunk = (int32_t)ps.chunk;
    x->backward = ps.backward;
    x->g = (int32_t)(ps.chunk * p->par.pp + c->stage);
    wl_chunk_layers(&p->wl, &p->par, x->g, &first, &L);
    x->first_layer = (int32_t)first;
    x->L = (int32_t)L;
    x->last_g = (int32_t)(p->par.pp * p->par.vp - 1);
    /* ZeRO 0/1 accumulate a full gradient buffer and reduce it in the chunk's last backward
     * pass; with sharded gradients (ZeRO-2/3, FSDP) no full buffer is kept, so every
     * micro-batch's gradients are reduce-scattered after its backward (DeepSpeed ZeRO-2,
     * PyTorch FSDP). */
    bool sharded = p->par.zero >= 2 || p->par.fsdp;
    x->reduce_grads = x->backward && (sharded || x->mb == p->microbatches - 1);
}

static void stamp(plan_item *it, const pass_ctx *x, int64_t layer)
{
    it->mb = x->mb;
    it->chunk = x->chunk;
    it->layer = layer;
}

/* With overlap_grad_reduce off and ZeRO 0/1, the gradients wait for the tail
 * (PLAN_PROG_GRAD_SYNC) instead of being reduced during the backward passes. */
static bool grads_at_tail(const plan *p)
{
    return !p->overlap_grad_reduce && p->par.zero < 2 && !p->par.fsdp;
}

/*
 * Flushes the gradient buckets: the dense bytes reduced over the dp x cp replicas in one
 * collective (Megatron-LM's data-parallel group with context parallelism), the expert bytes
 * over the expert data-parallel group; all-reduce, or reduce-scatter with a sharded
 * optimizer. Emits the first into out and keeps the second pending. True when it emitted
 * anything.
 */
static bool reduce_bucket(const plan *p, plan_cursor *c, double bytes, double expert_bytes,
                          const pass_ctx *x, int64_t layer, plan_item *out)
{
    plan_item items[2 + 1]; /* dense, expert or HSDP's all-reduce: two at most (plan_config.c
                               refuses hybrid sharding for MoE models) */
    int n = 0;
    coll_kind coll = p->par.zero >= 1 || p->par.fsdp ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE;
    plan_group group = plan_shard_group(p);
    if (bytes > 0 && plan_slot_size(p, plan_slot(PLAN_DP, group)) > 1)
        items[n++] = plan_group_item(coll, PLAN_DP, group, bytes, 1);
    /* HSDP: the shard's gradients all-reduced across the shard groups (model.h) */
    if (bytes > 0 && plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_FSDP_REPLICA)) > 1)
        items[n++] = plan_group_item(COLL_ALLREDUCE, PLAN_DP, PLAN_GROUP_FSDP_REPLICA,
                                     bytes / (double)wl_shard_size(&p->par), 1);
    if (expert_bytes > 0 && plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_EXPERT_DP)) > 1)
        items[n++] = plan_group_item(coll, PLAN_DP, PLAN_GROUP_EXPERT_DP, expert_bytes, 1);
    for (int i = 0; i < n; i++) {
        items[i].async = p->overlap_grad_reduce ? PLAN_ASYNC_STEP : PLAN_SYNC;
        stamp(&items[i], x, layer);
    }
    assert(n <= 2);
    if (n == 2) { /* owed: plan_prog_next makes it again from these */
        c->pending_coll = items[1].coll;
        c->pending_group = items[1].group;
        c->pending_bytes = items[1].bytes;
        c->pending_layer = (int32_t)layer;
        c->pending_n = 1;
    }
    if (n)
        *out = items[0];
    return n > 0;
}

/* A pipeline send or receive of kind with the rank of virtual stage g. */
static void p2p_item(const plan *p, const plan_cursor *c, const pass_ctx *x,
                     plan_item_kind kind, int64_t g, plan_item *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->backward = x->backward;
    out->peer = stage_rank(p, c->rank, g);
    out->bytes = p->act_bytes;
    stamp(out, x, -1);
}

/* The items of the pass's edge before the layers (in) or after them (!in): the embedding
 * on the first virtual stage, the head on the last; *n = 0 when the pass has none. */
static const plan_item *edge_of(const plan *p, const pass_ctx *x, bool in, size_t *n)
{
    bool b = x->backward;
    if (b != in && x->g == 0) { /* forward in, backward out */
        *n = p->n_emb[b];
        return p->emb[b];
    }
    if (b == in && x->g == x->last_g) { /* backward in, forward out */
        *n = p->n_head[b];
        return p->head[b];
    }
    *n = 0;
    return NULL;
}

/* Emits the next of the edge's items, stamped into out, or unstamped into *ref when ref is
 * not NULL (plan_prog_next_ref); false when they are done. */
static bool edge_next(const plan *p, plan_cursor *c, const pass_ctx *x, bool in,
                      plan_item *out, const plan_item **ref)
{
    size_t n;
    const plan_item *items = edge_of(p, x, in, &n);
    if (c->step >= (int64_t)n)
        return false;
    if (ref) {
        *ref = &items[c->step++];
        return true;
    }
    *out = items[c->step++];
    stamp(out, x, -1);
    return true;
}

static bool st_recv(const plan *p, plan_cursor *c, const pass_ctx *x, plan_item *out)
{
    int64_t from = x->backward ? x->g + 1 : x->g - 1;
    go(c, PLAN_PROG_EDGE_IN);
    if (from < 0 || from > x->last_g)
        return false;
    p2p_item(p, c, x, PLAN_ITEM_RECV, from, out);
    return true;
}

static bool st_edge_in(const plan *p, plan_cursor *c, const pass_ctx *x, plan_item *out,
                       const plan_item **ref)
{
    if (edge_next(p, c, x, true, out, ref))
        return true;
    /* The last stage's backward starts its first bucket with the head's gradients. */
    go(c, PLAN_PROG_LAYERS);
    c->buckets_done = x->reduce_grads && x->g == x->last_g
                          ? (int64_t)llround(p->head_grad_bytes)
                          : 0;
    return false;
}

/*
 * The end of a layer of a pass that reduces gradients: they join the buckets, reduced over
 * the replicas when they are full, and at the chunk's last layer (the first virtual stage
 * flushes after its embedding instead, in PLAN_PROG_FLUSH). True when a flush emitted.
 */
static bool layer_grads(const plan *p, plan_cursor *c, const pass_ctx *x, const tmpl *t,
                        int64_t li, int64_t layer, plan_item *out)
{
    if (!x->reduce_grads || !(p->par.dp > 1 || p->par.cp > 1) || grads_at_tail(p))
        return false;
    c->buckets_done += (int64_t)llround(t->grad_bytes);
    c->expert_buckets_done += (int64_t)llround(t->expert_grad_bytes);
    bool last_layer = li + 1 == x->L && x->g != 0;
    if (c->buckets_done + c->expert_buckets_done < (int64_t)WL_DP_BUCKET_BYTES && !last_layer)
        return false;
    double bytes = (double)c->buckets_done, ex = (double)c->expert_buckets_done;
    c->buckets_done = c->expert_buckets_done = 0;
    return reduce_bucket(p, c, bytes, ex, x, layer, out);
}

/* Layers in pass order (backward from the chunk's last); layer_i = the layer's index in
 * the pass and step = the item in its template, so that the walk needs no more than the
 * position. A template's item goes, as in
 * edge_next, stamped into out or unstamped into *ref. */
/* The template of the pass's li-th layer (li < x->L), and that layer's index in *layer. */
static inline const tmpl *layer_tmpl(const plan *p, const pass_ctx *x, int64_t li,
                                     int64_t *layer)
{
    int b = x->backward;
    *layer = b ? x->first_layer + x->L - 1 - li : x->first_layer + li;
    return &p->layer[p->wl.experts > 0 && wl_layer_is_moe(&p->wl, *layer)][b];
}

static bool st_layers(const plan *p, plan_cursor *c, const pass_ctx *x, plan_item *out,
                      const plan_item **ref)
{
    int64_t li = c->layer_i, item = c->step, layer;
    if (li >= x->L) {
        go(c, PLAN_PROG_EDGE_OUT);
        return false;
    }
    const tmpl *t = layer_tmpl(p, x, li, &layer);
    if (item < (int64_t)t->n) {
        c->step++;
        if (ref) {
            *ref = &t->items[item];
            return true;
        }
        *out = t->items[item];
        stamp(out, x, layer);
        return true;
    }
    c->layer_i++;
    c->step = 0;
    return layer_grads(p, c, x, t, li, layer, out);
}

static bool st_edge_out(const plan *p, plan_cursor *c, const pass_ctx *x, plan_item *out,
                        const plan_item **ref)
{
    if (edge_next(p, c, x, false, out, ref))
        return true;
    go(c, PLAN_PROG_FLUSH);
    return false;
}

static bool st_flush(const plan *p, plan_cursor *c, const pass_ctx *x, plan_item *out)
{
    go(c, PLAN_PROG_SEND);
    /* the first virtual stage, and a chunk without layers (an explicit layout's "L" stage)
     * whose head gradients no layer flushed */
    if (!x->backward || (x->g != 0 && x->L > 0) || !x->reduce_grads || grads_at_tail(p))
        return false;
    double bytes = (double)c->buckets_done + (x->g == 0 ? p->emb_grad_bytes : 0.0);
    double ex = (double)c->expert_buckets_done;
    c->buckets_done = c->expert_buckets_done = 0;
    return reduce_bucket(p, c, bytes, ex, x, -1, out);
}

static bool st_send(const plan *p, plan_cursor *c, const pass_ctx *x, plan_item *out)
{
    int64_t to = x->backward ? x->g - 1 : x->g + 1;
    c->pass++;
    go(c, c->pass < c->n_pass ? PLAN_PROG_RECV : PLAN_PROG_WAIT);
    if (to < 0 || to > x->last_g)
        return false;
    p2p_item(p, c, x, PLAN_ITEM_SEND, to, out);
    return true;
}

/* ---- the step's tail: wait for the gradients, the tied embeddings' gradient sum, the
 * optimizer, the parameter all-gathers ---- */

static bool st_wait(plan_cursor *c, plan_item *out)
{
    go(c, PLAN_PROG_GRAD_SYNC);
    memset(out, 0, sizeof *out);
    out->kind = PLAN_ITEM_WAIT_DP;
    out->mb = out->chunk = out->layer = -1;
    return true;
}

/* The gradient bytes of the rank's chunk: its layers' (dense and expert), the embedding's
 * on the first virtual stage and the head's on the last. */
static void chunk_grads(const plan *p, const plan_cursor *c, int64_t chunk, double *dense,
                        double *expert)
{
    int64_t g = chunk * p->par.pp + c->stage, first, L;
    wl_chunk_layers(&p->wl, &p->par, g, &first, &L);
    *dense = *expert = 0;
    for (int64_t l = first; l < first + L; l++) {
        const tmpl *t = &p->layer[wl_layer_is_moe(&p->wl, l)][1];
        *dense += t->grad_bytes;
        *expert += t->expert_grad_bytes;
    }
    if (g == 0)
        *dense += p->emb_grad_bytes;
    if (g == p->par.pp * p->par.vp - 1)
        *dense += p->head_grad_bytes;
}

/*
 * overlap_grad_reduce off with ZeRO 0/1: Megatron-LM's finalize_model_grads calls each
 * chunk's finish_grad_sync after the last micro-batch, which (bucket_size None without the
 * overlap: one bucket per buffer) reduces the chunk's dense buffer, then its expert buffer,
 * synchronously. step = chunk * 2 + (expert buffer).
 */
static bool st_grad_sync(const plan *p, plan_cursor *c, plan_item *out)
{
    if (!grads_at_tail(p) || !(p->par.dp > 1 || p->par.cp > 1)) {
        go(c, PLAN_PROG_EMBEDDING_SYNC);
        return false;
    }
    while (c->step < 2 * p->par.vp) {
        int64_t chunk = c->step / 2;
        bool expert = c->step % 2;
        c->step++;
        double dense, ex;
        chunk_grads(p, c, chunk, &dense, &ex);
        plan_group group = expert ? PLAN_GROUP_EXPERT_DP : PLAN_GROUP_DP_CP;
        double bytes = expert ? ex : dense;
        if (!(bytes > 0) || plan_slot_size(p, plan_slot(PLAN_DP, group)) <= 1)
            continue;
        coll_kind coll = p->par.zero >= 1 ? COLL_REDUCE_SCATTER : COLL_ALLREDUCE;
        *out = plan_group_item(coll, PLAN_DP, group, bytes, 1);
        out->async = PLAN_SYNC;
        out->chunk = chunk;
        return true;
    }
    go(c, PLAN_PROG_EMBEDDING_SYNC);
    return false;
}

/* The first and last stages hold the two copies of tied embeddings. */
static bool st_embedding_sync(const plan *p, plan_cursor *c, plan_item *out)
{
    go(c, PLAN_PROG_OPTIMIZER);
    if (!(p->emb_sync_bytes > 0 && (c->stage == 0 || c->stage == p->par.pp - 1)))
        return false;
    *out = plan_group_item(COLL_ALLREDUCE, PLAN_PP, PLAN_GROUP_EMBEDDING, p->emb_sync_bytes, 1);
    return true;
}

static bool st_optimizer(const plan *p, plan_cursor *c, plan_item *out)
{
    wl_op op;
    go(c, PLAN_PROG_GATHER);
    wl_optimizer_op(&p->wl, &p->par, c->stage, &op);
    *out = plan_op_item(&op, 0);
    return true;
}

/*
 * A sharded optimizer (ZeRO-1/2) updated a shard: gather the parameters back, over the same
 * replicas whose gradients were reduced (experts: over the expert dp). With
 * overlap_param_gather the gathers run behind the next step's forward: asynchronous, and
 * the next step's gradient wait covers them.
 */
static bool st_gather(const plan *p, plan_cursor *c, bool experts_only, plan_item *out)
{
    double experts = p->stage_expert_bytes[c->stage];
    bool gather = (p->par.zero == 1 || p->par.zero == 2) && !p->par.fsdp;
    plan_group group = experts_only ? PLAN_GROUP_EXPERT_DP : PLAN_GROUP_DP_CP;
    go(c, experts_only ? PLAN_PROG_DONE : PLAN_PROG_GATHER_EXPERTS);
    if (!gather || (experts_only && !(experts > 0)) ||
        plan_slot_size(p, plan_slot(PLAN_DP, group)) <= 1)
        return false;
    double bytes = experts_only ? experts : p->stage_param_bytes[c->stage] - experts;
    *out = plan_group_item(COLL_ALLGATHER, PLAN_DP, group, bytes, 0);
    out->async = p->overlap_param_gather ? PLAN_ASYNC_STEP : PLAN_SYNC;
    return true;
}

/* plan_prog_next, and with ref not NULL plan_prog_next_ref's templates' items into *ref. */
static int next_item(const plan *p, plan_cursor *c, plan_item *out, const plan_item **ref)
{
    const pass_ctx *x = &c->ctx;
    if (c->pending_n) { /* the flush that owes it was in this pass: ctx still describes it */
        *out = plan_group_item(c->pending_coll, PLAN_DP, c->pending_group, c->pending_bytes,
                               1);
        out->async = p->overlap_grad_reduce ? PLAN_ASYNC_STEP : PLAN_SYNC;
        stamp(out, x, c->pending_layer);
        c->pending_n = 0;
        return 1;
    }
    bool emitted = false;
    while (!emitted) {
        if (c->state < PLAN_PROG_WAIT && c->ctx_pass != c->pass) {
            pass_of(p, c, &c->ctx);
            c->ctx_pass = c->pass;
        }
        switch (c->state) {
        case PLAN_PROG_RECV: emitted = st_recv(p, c, x, out); break;
        case PLAN_PROG_EDGE_IN: emitted = st_edge_in(p, c, x, out, ref); break;
        case PLAN_PROG_LAYERS: emitted = st_layers(p, c, x, out, ref); break;
        case PLAN_PROG_EDGE_OUT: emitted = st_edge_out(p, c, x, out, ref); break;
        case PLAN_PROG_FLUSH: emitted = st_flush(p, c, x, out); break;
        case PLAN_PROG_SEND: emitted = st_send(p, c, x, out); break;
        case PLAN_PROG_WAIT: emitted = st_wait(c, out); break;
        case PLAN_PROG_GRAD_SYNC: emitted = st_grad_sync(p, c, out); break;
        case PLAN_PROG_EMBEDDING_SYNC: emitted = st_embedding_sync(p, c, out); break;
        case PLAN_PROG_OPTIMIZER: emitted = st_optimizer(p, c, out); break;
        case PLAN_PROG_GATHER: emitted = st_gather(p, c, false, out); break;
        case PLAN_PROG_GATHER_EXPERTS: emitted = st_gather(p, c, true, out); break;
        case PLAN_PROG_DONE: return 0;
        }
    }
    return 1;
}

int plan_prog_next(const plan *p, plan_cursor *c, plan_item *out)
{
    return next_item(p, c, out, NULL);
}

const plan_item *plan_prog_next_ref(const plan *p, plan_cursor *c, plan_item *buf)
{
    /* The common case first, what st_layers does for an item inside a layer's template
     * of the pass ctx describes: no call into next_item's state machine and its frame. */
    if (c->state == PLAN_PROG_LAYERS && !c->pending_n && c->ctx_pass == c->pass &&
        c->layer_i < c->ctx.L) {
        int64_t layer;
        const tmpl *t = layer_tmpl(p, &c->ctx, c->layer_i, &layer);
        if (c->step < (int64_t)t->n)
            return &t->items[c->step++];
    }
    const plan_item *ref = NULL;
    if (!next_item(p, c, buf, &ref))
        return NULL;
    return ref ? ref : buf;
}
