/*
 * plan_prog.c: the rank-program generator (see plan_prog.h for the order of the items).
 *
 * A cursor walks its stage's pipeline schedule pass by pass and expands each pass from the
 * plan's templates (plan_tmpl.c), stamping each item with its place in the step; nothing
 * is stored per rank, so the cursor is the whole state of a program.
 */
#include <math.h>
#include <string.h>

#include "workload/plan_int.h"

/* The rank of virtual stage g (chunk g / pp on stage g mod pp) in rank's pipeline. */
static int64_t stage_rank(const plan *p, int64_t rank, int64_t g)
{
    return plan_group_member(p, rank, PLAN_PP, g % p->par.pp);
}

void plan_prog_begin(const plan *p, int64_t rank, plan_cursor *c)
{
    memset(c, 0, sizeof *c);
    c->rank = rank;
    c->stage = plan_coord(p, rank, PLAN_PP);
    sched_init(&c->sc, p->par.schedule, p->par.pp, p->microbatches, p->par.vp, c->stage);
}

/*
 * Position inside a pass (c->step) counts: 0 = the pass's first part (recv / embedding or
 * head-backward), then 1 + k for the k-th item of the layers in order, then the last part.
 * To keep the cursor small, the layer walk is recomputed from c->step: layer index
 * step / TMPL_MAX, item step % TMPL_MAX.
 */
typedef struct pass_ctx {
    sched_pass ps;
    int64_t g, L, first_layer, last_g;
    int reduce_grads; /* this backward pass reduces its gradients over the replicas */
} pass_ctx;

static void pass_of(const plan *p, const plan_cursor *c, pass_ctx *x)
{
    x->ps = sched_at(&c->sc, c->pass);
    x->g = x->ps.chunk * p->par.pp + c->stage;
    wl_chunk_layers(&p->wl, &p->par, x->g, &x->first_layer, &x->L);
    x->last_g = p->par.pp * p->par.vp - 1;
    /* ZeRO 0/1 accumulate a full gradient buffer and reduce it in the chunk's last backward
     * pass; with sharded gradients (ZeRO-2/3, FSDP) no full buffer is kept, so every
     * micro-batch's gradients are reduce-scattered after its backward (DeepSpeed ZeRO-2,
     * PyTorch FSDP). */
    int sharded = p->par.zero >= 2 || p->par.fsdp;
    x->reduce_grads = x->ps.backward && (sharded || x->ps.mb == p->microbatches - 1);
}

static void stamp(plan_item *it, const pass_ctx *x, int64_t layer)
{
    it->mb = x->ps.mb;
    it->chunk = x->ps.chunk;
    it->layer = layer;
}

/*
 * Flushes the gradient buckets: the dense bytes reduced over the dp x cp replicas in one
 * collective (Megatron-LM's data-parallel group with context parallelism), the expert bytes
 * over the expert data-parallel group; all-reduce, or reduce-scatter with a sharded
 * optimizer. Emits the first into out and keeps the second pending. Returns 1 when it
 * emitted anything.
 */
static int reduce_bucket(const plan *p, plan_cursor *c, double bytes, double expert_bytes,
                         const pass_ctx *x, int64_t layer, plan_item *out)
{
    plan_item items[2];
    int n = 0;
    int coll = p->par.zero >= 1 || p->par.fsdp ? PLAN_REDUCE_SCATTER : PLAN_ALLREDUCE;
    if (bytes > 0 && plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_DP_CP)) > 1)
        items[n++] = plan_group_item(coll, PLAN_DP, PLAN_GROUP_DP_CP, bytes, 1);
    if (expert_bytes > 0 && plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_EXPERT_DP)) > 1)
        items[n++] = plan_group_item(coll, PLAN_DP, PLAN_GROUP_EXPERT_DP, expert_bytes, 1);
    for (int i = 0; i < n; i++) {
        items[i].async = 1;
        stamp(&items[i], x, layer);
    }
    if (n == 2) {
        c->pending = items[1];
        c->pending_n = 1;
    }
    if (n)
        *out = items[0];
    return n > 0;
}

int plan_prog_next(const plan *p, plan_cursor *c, plan_item *out)
{
    const plan_full *F = plan_full_of(p);
    if (c->pending_n) {
        *out = c->pending;
        c->pending_n = 0;
        return 1;
    }
    int64_t len = sched_len(&c->sc);
    while (c->pass < len) {
        pass_ctx x;
        pass_of(p, c, &x);
        int b = x.ps.backward;
        /* Part 0: the pass's head. c->step counts items within it. */
        if (c->tail == 0) {
            int64_t k = c->step++;
            if (!b && x.g > 0 && k == 0) {
                memset(out, 0, sizeof *out);
                out->kind = PLAN_ITEM_RECV;
                out->peer = stage_rank(p, c->rank, x.g - 1);
                out->bytes = F->act_bytes;
                stamp(out, &x, -1);
                return 1;
            }
            if (!b && x.g == 0 && k < (int64_t)F->n_emb[0]) {
                *out = F->emb[0][k];
                stamp(out, &x, -1);
                return 1;
            }
            if (b && x.g < x.last_g && k == 0) {
                memset(out, 0, sizeof *out);
                out->kind = PLAN_ITEM_RECV;
                out->backward = 1;
                out->peer = stage_rank(p, c->rank, x.g + 1);
                out->bytes = F->act_bytes;
                stamp(out, &x, -1);
                return 1;
            }
            if (b && x.g == x.last_g && k < (int64_t)F->n_head[1]) {
                *out = F->head[1][k];
                stamp(out, &x, -1);
                return 1;
            }
            c->tail = 1; /* on to the layers */
            c->step = 0;
            c->buckets_done = x.reduce_grads && x.g == x.last_g
                                  ? (int64_t)llround(F->head_grad_bytes)
                                  : 0;
        }
        /* Part 1: layers; step = layer_index * TMPL_MAX + item, plus bucket flushes. */
        if (c->tail == 1) {
            int64_t li = c->step / TMPL_MAX, item = c->step % TMPL_MAX;
            if (li < x.L) {
                int64_t layer = b ? x.first_layer + x.L - 1 - li : x.first_layer + li;
                const tmpl *t = &F->layer[wl_layer_is_moe(&p->wl, layer)][b];
                if (item < (int64_t)t->n) {
                    c->step++;
                    *out = t->items[item];
                    stamp(out, &x, layer);
                    return 1;
                }
                /* End of the layer: on the chunk's last backward, its gradients join the
                 * bucket, reduced over dp when it is full (and at the chunk's end). */
                c->step = (li + 1) * TMPL_MAX;
                if (x.reduce_grads && (p->par.dp > 1 || p->par.cp > 1)) {
                    c->buckets_done += (int64_t)llround(t->grad_bytes);
                    c->expert_buckets_done += (int64_t)llround(t->expert_grad_bytes);
                    int last_layer = li + 1 == x.L && x.g != 0; /* embedding flushes later */
                    if (c->buckets_done + c->expert_buckets_done >=
                            (int64_t)WL_DP_BUCKET_BYTES || last_layer) {
                        double bytes = (double)c->buckets_done;
                        double ex = (double)c->expert_buckets_done;
                        c->buckets_done = c->expert_buckets_done = 0;
                        if (reduce_bucket(p, c, bytes, ex, &x, layer, out))
                            return 1;
                    }
                }
                continue;
            }
            c->tail = 2;
            c->step = 0;
        }
        /* Part 2: the pass's end. */
        int64_t k = c->step++;
        if (!b && x.g == x.last_g && k < (int64_t)F->n_head[0]) {
            *out = F->head[0][k];
            stamp(out, &x, -1);
            return 1;
        }
        if (!b && x.g < x.last_g && k == 0) {
            memset(out, 0, sizeof *out);
            out->kind = PLAN_ITEM_SEND;
            out->peer = stage_rank(p, c->rank, x.g + 1);
            out->bytes = F->act_bytes;
            stamp(out, &x, -1);
            return 1;
        }
        if (b && x.g == 0 && k < (int64_t)F->n_emb[1]) {
            *out = F->emb[1][k];
            stamp(out, &x, -1);
            return 1;
        }
        if (b && x.g == 0 && k == (int64_t)F->n_emb[1] && x.reduce_grads) {
            double bytes = (double)c->buckets_done + F->emb_grad_bytes;
            double ex = (double)c->expert_buckets_done;
            c->buckets_done = c->expert_buckets_done = 0;
            if (reduce_bucket(p, c, bytes, ex, &x, -1, out))
                return 1;
        }
        if (b && x.g > 0 && k == 0) {
            memset(out, 0, sizeof *out);
            out->kind = PLAN_ITEM_SEND;
            out->backward = 1;
            out->peer = stage_rank(p, c->rank, x.g - 1);
            out->bytes = F->act_bytes;
            stamp(out, &x, -1);
            return 1;
        }
        if (k < 8) /* nothing more at this k; the end part has at most 8 positions */
            continue;
        c->pass++;
        c->tail = 0;
        c->step = 0;
    }
    /* The step's tail: wait for the gradients, the tied embeddings' gradient sum, the
     * optimizer, the parameter all-gathers. */
    for (;;) {
        int64_t k = c->step++;
        /* A sharded optimizer (ZeRO-1/2) updated a shard: gather the parameters back, over
         * the same replicas whose gradients were reduced. With overlap_param_gather the
         * gathers run behind the next step's forward: asynchronous, and the next step's
         * gradient wait covers them. */
        int gather = (p->par.zero == 1 || p->par.zero == 2) && !p->par.fsdp;
        int async = p->overlap_param_gather ? 1 : 0;
        double experts = F->stage_expert_bytes[c->stage];
        switch (k) {
        case 0:
            memset(out, 0, sizeof *out);
            out->kind = PLAN_ITEM_WAIT_DP;
            out->mb = out->chunk = out->layer = -1;
            return 1;
        case 1: /* the first and last stages hold the two copies of tied embeddings */
            if (F->emb_sync_bytes > 0 && (c->stage == 0 || c->stage == p->par.pp - 1)) {
                *out = plan_group_item(PLAN_ALLREDUCE, PLAN_PP, PLAN_GROUP_EMBEDDING,
                                  F->emb_sync_bytes, 1);
                return 1;
            }
            break;
        case 2: {
            wl_op op;
            wl_optimizer_op(&p->wl, &p->par, c->stage, &op);
            *out = plan_op_item(&op, 0);
            return 1;
        }
        case 3:
            if (gather && plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_DP_CP)) > 1) {
                *out = plan_group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_DP_CP,
                                  F->stage_param_bytes[c->stage] - experts, 0);
                out->async = async;
                return 1;
            }
            break;
        case 4:
            if (gather && experts > 0 &&
                plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_EXPERT_DP)) > 1) {
                *out = plan_group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_EXPERT_DP, experts, 0);
                out->async = async;
                return 1;
            }
            break;
        default:
            return 0;
        }
    }
}
