/*
 * model.c: the arithmetic of training a workload: parameter counts, the parallelism's
 * checks, FLOPs, memory per rank and the optimizer step (see model.h for every convention).
 * The YAML loader is model_load.c, the op lists model_ops.c.
 *
 * The arithmetic works in doubles: every count here is an integer below 2^53 (sizes are
 * capped at 1e9 on input), so parameter counts are exact and FLOPs differ from the papers'
 * closed forms only by rounding. One description of a layer's parameters (layer_params)
 * feeds the counts, the FLOPs and the memory model, so these cannot drift apart.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "workload/model_int.h"
#include "workload/sched.h"

double wl_grad_bytes(const wl_workload *w)
{
    return w->grad_dtype == WL_GRAD_FP32 ? 4.0 : 2.0;
}

/* ---- dimensions ---------------------------------------------------------------------- */

void wl_dims_of(const wl_workload *w, const wl_parallel *p, wl_dims *x)
{
    x->L = (double)w->layers;
    x->h = (double)w->hidden;
    x->a = (double)w->heads;
    x->kvw = (double)(w->kv_heads * w->head_dim);
    x->hd = (double)w->head_dim;
    x->f = (double)w->ffn;
    x->V = (double)w->vocab;
    x->s = (double)w->sequence;
    x->b = (double)w->micro_batch;
    x->E = (double)w->experts;
    x->k = (double)w->experts_per_token;
    x->fe = (double)w->expert_ffn;
    x->cf = w->capacity_factor;
    x->t = p ? (double)p->tp : 1.0;
    x->c = p ? (double)p->cp : 1.0;
    x->ep = p ? (double)p->ep : 1.0;
    x->sp = p && p->sequence_parallel;
    x->sl = x->s / x->c;
    x->T = x->b * x->sl;
    x->Tn = x->sp ? x->T / x->t : x->T;
    x->ab = 2.0;
    x->wb = w->dtype == WL_DTYPE_FP8 ? 1.0 : 2.0;
    x->gated = w->mlp == WL_MLP_GATED;
    x->flash = w->attention == WL_ATTENTION_FLASH;
    x->drop = w->dropout > 0;
}

bool wl_layer_is_moe(const wl_workload *w, int64_t layer)
{
    return w->experts > 0 && layer % w->moe_every == w->moe_every - 1;
}

/* ---- parameters ---------------------------------------------------------------------- */

/* One layer's parameters, by how they are laid out over tp and what they cost in FLOPs. */
typedef struct layer_params {
    double split;      /* weights and column-parallel biases: divided over tp */
    double replicated; /* norms, row-parallel biases, router: on every tp rank */
    double experts;    /* every expert's weights and biases: over ep * tp */
    double active;     /* used by one token (k experts) */
    double matmul;     /* matmul weights one token goes through (k experts) */
    double matmul_hw;  /* the same with experts at k * capacity_factor */
} layer_params;

static double norm_params(const wl_workload *w)
{
    double h = (double)w->hidden;
    return w->norm == WL_NORM_LAYERNORM ? 2 * h : h;
}

static double mlp_weights(const wl_dims *x, double ff)
{
    return (x->gated ? 3.0 : 2.0) * x->h * ff;
}

/* Column-parallel (split) MLP biases: up, and gate when gated. */
static double mlp_bias_split(const wl_workload *w, const wl_dims *x, double ff)
{
    return w->bias ? (x->gated ? 2.0 : 1.0) * ff : 0.0;
}

static void layer_params_of(const wl_workload *w, int moe, layer_params *lp)
{
    wl_dims x;
    wl_dims_of(w, NULL, &x);
    double attn = 2 * x.h * x.h + 2 * x.h * x.kvw;
    double row_bias = w->bias ? x.h : 0.0; /* o projection, MLP down */
    lp->split = attn + (w->bias ? x.h + 2 * x.kvw : 0.0);
    lp->replicated = 2 * norm_params(w) + row_bias;
    lp->matmul = attn;
    if (!moe) {
        lp->split += mlp_weights(&x, x.f) + mlp_bias_split(w, &x, x.f);
        lp->replicated += row_bias;
        lp->experts = 0;
        lp->active = lp->split + lp->replicated;
        lp->matmul += mlp_weights(&x, x.f);
        lp->matmul_hw = lp->matmul;
        return;
    }
    double router = x.h * x.E;
    double expert = mlp_weights(&x, x.fe) + mlp_bias_split(w, &x, x.fe) + row_bias;
    lp->replicated += router;
    lp->experts = x.E * expert;
    lp->active = lp->split + lp->replicated + x.k * expert;
    lp->matmul_hw = lp->matmul + router + x.k * x.cf * mlp_weights(&x, x.fe);
    lp->matmul += router + x.k * mlp_weights(&x, x.fe);
}

void wl_params_count(const wl_workload *w, wl_params *out)
{
    layer_params dl, ml;
    memset(out, 0, sizeof *out);
    double h = (double)w->hidden, V = (double)w->vocab;
    layer_params_of(w, 0, &dl);
    layer_params_of(w, 1, &ml);
    out->moe_layers = w->experts > 0 ? w->layers / w->moe_every : 0;
    out->dense_layers = w->layers - out->moe_layers;
    double nd = (double)out->dense_layers, nm = (double)out->moe_layers;
    out->embedding = V * h + (w->position == WL_POSITION_LEARNED ? (double)w->sequence * h : 0);
    out->output = w->tied_embeddings ? 0.0 : V * h;
    out->final_norm = norm_params(w);
    out->dense_layer = dl.split + dl.replicated;
    if (w->experts > 0) {
        out->moe_layer = ml.split + ml.replicated + ml.experts;
        out->moe_layer_active = ml.active;
    }
    double edges = out->embedding + out->output + out->final_norm;
    out->total = edges + nd * out->dense_layer + nm * out->moe_layer;
    out->active = edges + nd * out->dense_layer + nm * out->moe_layer_active;
    out->matmul_active = nd * dl.matmul + nm * ml.matmul + V * h;
}

/* ---- parallelism --------------------------------------------------------------------- */

void wl_parallel_default(wl_parallel *p)
{
    memset(p, 0, sizeof *p);
    p->tp = p->pp = p->dp = p->cp = p->ep = p->vp = 1;
    p->recompute = WL_RECOMPUTE_NONE;
    p->schedule = WL_SCHED_1F1B;
}

/* An unlocated input error about a degree of parallelism; fmt completes "expected ...". */
static sim_code par_error(sim_status *st, const char *what, long long value, const char *fmt,
                          ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static sim_code par_error(sim_status *st, const char *what, long long value, const char *fmt,
                          ...)
{
    char expect[SIM_STATUS_MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expect, sizeof expect, fmt, ap);
    va_end(ap);
    return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "%s = %lld: expected %s", what, value,
                          expect);
}

sim_code wl_microbatches(const wl_workload *w, const wl_parallel *p, int64_t *m, sim_status *st)
{
    if (p->dp < 1)
        return par_error(st, "dp", (long long)p->dp, "an integer >= 1");
    int64_t per = w->micro_batch * p->dp;
    if (w->global_batch % per != 0)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "global batch = %lld sequences: expected a multiple of "
                              "micro_batch x dp = %lld x %lld = %lld",
                              (long long)w->global_batch, (long long)w->micro_batch,
                              (long long)p->dp, (long long)per);
    *m = w->global_batch / per;
    return SIM_OK;
}

sim_code wl_parallel_check(const wl_workload *w, const wl_parallel *p, sim_status *st)
{
    const struct {
        const char *what;
        int64_t v;
    } deg[] = {{"tp", p->tp}, {"pp", p->pp}, {"dp", p->dp},
               {"cp", p->cp}, {"ep", p->ep}, {"vp", p->vp}};
    for (size_t i = 0; i < sizeof deg / sizeof deg[0]; i++)
        if (deg[i].v < 1)
            return par_error(st, deg[i].what, (long long)deg[i].v, "an integer >= 1");
    if (p->zero < 0 || p->zero > 3)
        return par_error(st, "zero", p->zero, "a ZeRO stage from 0 to 3");
    if (w->heads % p->tp != 0)
        return par_error(st, "tp", (long long)p->tp, "a divisor of heads = %lld",
                         (long long)w->heads);
    if (w->kv_heads % p->tp != 0)
        return par_error(st, "tp", (long long)p->tp, "a divisor of kv_heads = %lld",
                         (long long)w->kv_heads);
    if (p->layout_n > 0) {
        int64_t sum = 0;
        for (int64_t g = 0; g < p->layout_n; g++)
            sum += p->layout[g];
        if (p->layout_n != p->pp * p->vp || sum != w->layers)
            return par_error(st, "layout stages", (long long)p->layout_n,
                             "pp x vp = %lld stages holding layers = %lld, found %lld layers",
                             (long long)(p->pp * p->vp), (long long)w->layers, (long long)sum);
    } else if (p->first_stage_layers || p->last_stage_layers) {
        char why[SIM_STATUS_MSG_MAX / 2];
        wl_uneven_problem(w, p, why, sizeof why);
        if (why[0])
            return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0, "first_stage_layers = %lld, "
                                  "last_stage_layers = %lld: %s",
                                  (long long)p->first_stage_layers,
                                  (long long)p->last_stage_layers, why);
    } else if (w->layers % (p->pp * p->vp) != 0) {
        return par_error(st, "pp x vp", (long long)(p->pp * p->vp),
                         "a divisor of layers = %lld", (long long)w->layers);
    }
    if (w->sequence % p->cp != 0)
        return par_error(st, "cp", (long long)p->cp, "a divisor of sequence = %lld",
                         (long long)w->sequence);
    if (p->sequence_parallel && (w->sequence / p->cp) % p->tp != 0)
        return par_error(st, "tp", (long long)p->tp,
                         "a divisor of sequence / cp = %lld with sequence parallelism",
                         (long long)(w->sequence / p->cp));
    if (p->ep > 1 && w->experts == 0)
        return par_error(st, "ep", (long long)p->ep, "1 for a dense model");
    if (w->experts > 0 && w->experts % p->ep != 0)
        return par_error(st, "ep", (long long)p->ep, "a divisor of experts = %lld",
                         (long long)w->experts);
    if ((p->dp * p->cp) % p->ep != 0)
        return par_error(st, "ep", (long long)p->ep, "a divisor of dp x cp = %lld",
                         (long long)(p->dp * p->cp));
    if (p->vp > 1 && p->schedule != WL_SCHED_INTERLEAVED)
        return par_error(st, "vp", (long long)p->vp, "1 outside the interleaved schedule");
    int64_t m = 0;
    sim_code rc = wl_microbatches(w, p, &m, st);
    if (rc != SIM_OK)
        return rc;
    /* Megatron-LM's forward_backward_pipelining_with_interleaving: a group of pp to m
     * micro-batches, and a last group of none or of pp at least (with the default group of
     * pp: m a multiple of pp). */
    int64_t grp = wl_mb_group(p);
    if (p->schedule == WL_SCHED_INTERLEAVED && p->pp > 1 &&
        (grp < p->pp || grp > m || (m % grp > 0 && m % grp < p->pp)))
        return par_error(st, "micro-batches", (long long)m,
                         "a group of pp = %lld to m micro-batches per chunk, and m mod the "
                         "group of %lld either 0 or pp at least, for the interleaved schedule",
                         (long long)p->pp, (long long)grp);
    return SIM_OK;
}

double wl_bubble_fraction(int64_t pp, int64_t m, int64_t vp)
{
    if (pp <= 1 || m < 1 || vp < 1)
        return 0.0;
    return (double)(pp - 1) / ((double)m * (double)vp);
}

/* ---- FLOPs --------------------------------------------------------------------------- */

double wl_tokens_per_step(const wl_workload *w)
{
    return (double)w->global_batch * (double)w->sequence;
}

double wl_model_flops_per_step(const wl_workload *w)
{
    wl_params pc;
    wl_params_count(w, &pc);
    double attention = 12.0 * (double)w->layers * (double)w->hidden * (double)w->sequence;
    return wl_tokens_per_step(w) * (6.0 * pc.matmul_active + attention);
}

double wl_model_flops_causal_per_step(const wl_workload *w)
{
    double half_scores = 6.0 * (double)w->layers * (double)w->hidden * (double)w->sequence;
    return wl_model_flops_per_step(w) - wl_tokens_per_step(w) * half_scores;
}

/*
 * Attention core FLOPs per token and layer as executed: forward *fwd, backward *bwd. Unfused
 * kernels multiply the whole s x s score matrix (4 s h forward, 2x backward); flash kernels
 * skip the masked half of a causal score matrix (2 s h forward) and recompute the scores in
 * the backward pass (2.5x forward: FlashAttention-2, Dao 2023, section 3.1).
 */
static void attention_core_flops(const wl_workload *w, double *fwd, double *bwd)
{
    double full = 4.0 * (double)w->hidden * (double)w->sequence;
    int flash = w->attention == WL_ATTENTION_FLASH;
    *fwd = flash ? 0.5 * full : full;
    *bwd = (flash ? 2.5 : 2.0) * *fwd;
}

double wl_hardware_flops_per_step(const wl_workload *w, const wl_parallel *p)
{
    layer_params dl, ml;
    layer_params_of(w, 0, &dl);
    layer_params_of(w, 1, &ml);
    wl_params pc;
    wl_params_count(w, &pc);
    double layers_hw = (double)pc.dense_layers * dl.matmul_hw +
                       (double)pc.moe_layers * ml.matmul_hw;
    double core_fwd, core_bwd;
    attention_core_flops(w, &core_fwd, &core_bwd);
    double core = (double)w->layers * core_fwd;
    double per_token = 6.0 * (layers_hw + (double)w->vocab * (double)w->hidden) +
                       (double)w->layers * (core_fwd + core_bwd);
    if (p && p->recompute == WL_RECOMPUTE_SELECTIVE)
        per_token += core;
    else if (p && p->recompute == WL_RECOMPUTE_FULL)
        per_token += 2.0 * layers_hw + core;
    return wl_tokens_per_step(w) * per_token;
}

/* ---- memory -------------------------------------------------------------------------- */

/* Bytes per parameter of optimizer state (before sharding): see model.h. */
static double optimizer_bytes(const wl_workload *w)
{
    return w->optimizer == WL_OPT_SGD ? 8.0 : 12.0;
}

/* Parameters one rank of stage holds before ZeRO sharding: dense part (over tp) and experts
 * (over ep * tp); *largest gets the largest layer's share (for all-gather buffers). */
typedef struct stage_params {
    double dense, experts, largest_layer;
} stage_params;

/*
 * Calls fn for every 0-based layer index of stage: chunks c = 0 .. vp-1 of layers / (pp vp)
 * layers each, chunk c of stage i holding model chunk c * pp + i (Megatron's interleaving).
 */
typedef void (*layer_fn)(const wl_workload *w, const wl_parallel *p, int64_t layer, void *ctx);

static void for_stage_layers(const wl_workload *w, const wl_parallel *p, int64_t stage,
                             layer_fn fn, void *ctx)
{
    for (int64_t c = 0; c < p->vp; c++) {
        int64_t first, count;
        wl_chunk_layers(w, p, c * p->pp + stage, &first, &count);
        for (int64_t i = 0; i < count; i++)
            fn(w, p, first + i, ctx);
    }
}

static void add_layer_params(const wl_workload *w, const wl_parallel *p, int64_t layer,
                             void *ctx)
{
    stage_params *sp = ctx;
    layer_params lp;
    layer_params_of(w, wl_layer_is_moe(w, layer), &lp);
    double t = (double)p->tp;
    double dense = lp.split / t + lp.replicated;
    double experts = lp.experts / ((double)p->ep * t);
    sp->dense += dense;
    sp->experts += experts;
    if (dense + experts > sp->largest_layer)
        sp->largest_layer = dense + experts;
}

double wl_layer_params_per_rank(const wl_workload *w, const wl_parallel *p, int64_t layer)
{
    stage_params sp;
    memset(&sp, 0, sizeof sp);
    add_layer_params(w, p, layer, &sp);
    return sp.dense + sp.experts;
}

double wl_layer_expert_params_per_rank(const wl_workload *w, const wl_parallel *p,
                                       int64_t layer)
{
    stage_params sp;
    memset(&sp, 0, sizeof sp);
    add_layer_params(w, p, layer, &sp);
    return sp.experts;
}

typedef struct act_sum {
    double total, largest_unrecomputed;
} act_sum;

static void add_layer_acts(const wl_workload *w, const wl_parallel *p, int64_t layer, void *ctx)
{
    act_sum *a = ctx;
    a->total += wl_activation_bytes_per_layer(w, p, layer);
    wl_parallel q = *p;
    q.recompute = WL_RECOMPUTE_NONE;
    double full = wl_activation_bytes_per_layer(w, &q, layer);
    if (full > a->largest_unrecomputed)
        a->largest_unrecomputed = full;
}

static void stage_params_of(const wl_workload *w, const wl_parallel *p, int64_t stage,
                            stage_params *out)
{
    memset(out, 0, sizeof *out);
    for_stage_layers(w, p, stage, add_layer_params, out);
    double h = (double)w->hidden, V = (double)w->vocab, t = (double)p->tp;
    if (stage == 0)
        out->dense += V * h / t + (w->position == WL_POSITION_LEARNED
                                       ? (double)w->sequence * h : 0.0);
    if (stage == p->pp - 1) {
        out->dense += norm_params(w);
        if (!w->tied_embeddings || p->pp > 1)
            out->dense += V * h / t;
    }
}

double wl_edge_params_per_rank(const wl_workload *w, const wl_parallel *p, int64_t stage,
                               int head)
{
    double h = (double)w->hidden, V = (double)w->vocab, t = (double)p->tp;
    if (!head)
        return stage == 0 ? V * h / t + (w->position == WL_POSITION_LEARNED
                                             ? (double)w->sequence * h
                                             : 0.0)
                          : 0.0;
    if (stage != p->pp - 1)
        return 0.0;
    return norm_params(w) + (!w->tied_embeddings || p->pp > 1 ? V * h / t : 0.0);
}

double wl_activation_bytes_per_layer(const wl_workload *w, const wl_parallel *p, int64_t layer)
{
    wl_dims x;
    wl_dims_of(w, p, &x);
    double s = x.sl, b = x.b, h = x.h, t = x.t;
    double rep_div = x.sp ? t : 1.0;
    double sbh = s * b * h;
    if (p->recompute == WL_RECOMPUTE_FULL)
        return 2 * sbh / rep_div;
    double mask = x.drop ? sbh : 0.0; /* a residual dropout mask, 1 byte per element */
    /* attention: norm input, qkv input, dropout mask | Q, K, V, projection input */
    double rep = 2 * sbh + 2 * sbh + mask;
    double split = 2 * sbh + 4 * s * b * x.kvw + 2 * sbh;
    /* Unfused: the score matrix (s queries by all x.s keys) as softmax output, and with
     * dropout its mask and output. Flash keeps no scores (the backward recomputes them, and
     * regenerates the dropout mask from the RNG state), only the softmax statistics: one fp32
     * logsumexp per query and head. */
    double scores = x.flash ? 4.0 * x.a * s * b
                            : (x.drop ? 5.0 : 2.0) * x.a * s * x.s * b;
    double act_in = x.gated ? 4.0 : 2.0; /* gated keeps gate and up */
    if (!wl_layer_is_moe(w, layer)) {
        /* norm input, up input, dropout mask | activation input, down input */
        rep += 2 * sbh + 2 * sbh + mask;
        split += act_in * s * b * x.f + 2 * s * b * x.f;
    } else {
        /* norm input, router input, dropout mask, dispatched copies | per routed copy:
         * expert activation input, expert down input */
        double slots = x.k * x.cf;
        rep += 2 * sbh + 2 * sbh + mask + slots * 2 * sbh;
        split += slots * (act_in * s * b * x.fe + 2 * s * b * x.fe);
    }
    double bytes = rep / rep_div + split / t;
    if (p->recompute == WL_RECOMPUTE_NONE)
        bytes += scores / t;
    return bytes;
}

double wl_inflight_microbatches(const wl_parallel *p, int64_t m, int64_t stage)
{
    switch (p->schedule) {
    case WL_SCHED_GPIPE:
        return (double)m;
    case WL_SCHED_INTERLEAVED: {
        /* Megatron-LM's get_pp_rank_microbatches: the warm-up and one more (since its
         * commit 4295be1, Nov 2024, also when m == pp). */
        int64_t chunks = 2 * (p->pp - stage - 1) + (p->vp - 1) * wl_mb_group(p) + 1;
        if (chunks > m * p->vp)
            chunks = m * p->vp;
        return (double)chunks / (double)p->vp;
    }
    default: {
        int64_t n = p->pp - stage;
        return (double)(n < m ? n : m);
    }
    }
}

/*
 * An explicit layout's chunks may differ in size: the activations a stage holds are the
 * peak, over its schedule, of the summed activations of the chunk forwards not yet
 * backwarded (the schedule's order, as sched.c gives it).
 */
static double layout_inflight_acts(const wl_workload *w, const wl_parallel *p, int64_t m,
                                   int64_t stage)
{
    double chunk[WL_LAYOUT_MAX];
    int64_t v = p->schedule == WL_SCHED_INTERLEAVED ? p->vp : 1;
    for (int64_t c = 0; c < v && c < WL_LAYOUT_MAX; c++) {
        act_sum a = {0, 0};
        int64_t first, count;
        wl_chunk_layers(w, p, c * p->pp + stage, &first, &count);
        for (int64_t i = 0; i < count; i++)
            add_layer_acts(w, p, first + i, &a);
        chunk[c] = a.total;
    }
    sched sc;
    sched_init_group(&sc, p->schedule, p->pp, m, v, stage, wl_mb_group(p));
    double held = 0, peak = 0;
    for (int64_t i = 0; i < sched_len(&sc); i++) {
        sched_pass ps = sched_at(&sc, i);
        held += ps.backward ? -chunk[ps.chunk] : chunk[ps.chunk];
        peak = held > peak ? held : peak;
    }
    return peak;
}

sim_code wl_memory_stage(const wl_workload *w, const wl_parallel *p, int64_t stage,
                         wl_memory *out, sim_status *st)
{
    sim_code rc = wl_parallel_check(w, p, st);
    if (rc != SIM_OK)
        return rc;
    if (stage < 0 || stage >= p->pp)
        return sim_status_set(st, SIM_ERR_INPUT, NULL, 0, 0,
                              "stage = %lld: expected a pipeline stage from 0 to %lld",
                              (long long)stage, (long long)(p->pp - 1));
    int64_t m = 0;
    rc = wl_microbatches(w, p, &m, st);
    if (rc != SIM_OK)
        return rc;
    wl_dims x;
    wl_dims_of(w, p, &x);

    stage_params sp;
    stage_params_of(w, p, stage, &sp);
    double dpc = (double)wl_shard_size(p);
    double edp = dpc / (double)p->ep;
    int shard_w = p->zero >= 3 || p->fsdp, shard_g = p->zero >= 2 || p->fsdp,
        shard_o = p->zero >= 1 || p->fsdp;
    wl_memory mem;
    memset(&mem, 0, sizeof mem);
    mem.stage = stage;
    mem.weights = 2.0 * (sp.dense / (shard_w ? dpc : 1.0) + sp.experts / (shard_w ? edp : 1.0));
    mem.grads = wl_grad_bytes(w) * (sp.dense / (shard_g ? dpc : 1.0) + sp.experts / (shard_g ? edp : 1.0));
    mem.optimizer = optimizer_bytes(w) * (sp.dense / (shard_o ? dpc : 1.0) +
                                          sp.experts / (shard_o ? edp : 1.0));

    act_sum acts = {0, 0};
    for_stage_layers(w, p, stage, add_layer_acts, &acts);
    double inflight = wl_inflight_microbatches(p, m, stage);
    double rep_div = x.sp ? x.t : 1.0;
    double sbh = x.sl * x.b * x.h;
    mem.activations = p->layout_n > 0 ? layout_inflight_acts(w, p, m, stage)
                                      : acts.total * inflight;
    if (stage == 0 && x.drop) /* embedding dropout mask */
        mem.activations += inflight * sbh / rep_div;
    if (stage == p->pp - 1) /* final norm and logits inputs, fp32 logits */
        mem.activations += inflight * (4 * sbh / rep_div + 4 * x.sl * x.b * x.V / x.t);
    if (p->recompute == WL_RECOMPUTE_FULL)
        mem.activations += acts.largest_unrecomputed;

    /* FSDP without resharding after forward (SHARD_GRAD_OP, _HYBRID_SHARD_ZERO2) keeps
     * every layer's unsharded parameters from its forward to its backward: the stage's
     * whole weights, beside their shard, instead of two layers' gather buffers. */
    bool keep = p->fsdp && !wl_reshard_after_forward(p);
    if (keep)
        mem.weights += 2.0 * (sp.dense + sp.experts);
    if (p->dp * p->cp > 1 && !keep)
        mem.comm_buffers += shard_w ? 2.0 * 2.0 * sp.largest_layer : 2.0 * WL_DP_BUCKET_BYTES;
    if (p->pp > 1)
        mem.comm_buffers += 2.0 * 2.0 * sbh / rep_div;
    mem.total = mem.weights + mem.grads + mem.optimizer + mem.activations + mem.comm_buffers;
    *out = mem;
    return SIM_OK;
}

sim_code wl_memory_per_rank(const wl_workload *w, const wl_parallel *p, wl_memory *out,
                            sim_status *st)
{
    wl_memory best;
    sim_code rc = wl_memory_stage(w, p, 0, &best, st);
    for (int64_t s = 1; rc == SIM_OK && s < p->pp; s++) {
        wl_memory mem;
        rc = wl_memory_stage(w, p, s, &mem, st);
        if (rc == SIM_OK && mem.total > best.total)
            best = mem;
    }
    if (rc == SIM_OK)
        *out = best;
    return rc;
}

/* ---- optimizer ----------------------------------------------------------------------- */

void wl_optimizer_op(const wl_workload *w, const wl_parallel *p, int64_t stage, wl_op *out)
{
    stage_params sp;
    stage_params_of(w, p, stage, &sp);
    int shard = p->zero >= 1 || p->fsdp, shard_g = p->zero >= 2 || p->fsdp;
    double dpc = (double)wl_shard_size(p), edp = dpc / (double)p->ep;
    double params = sp.dense / (shard ? dpc : 1.0) + sp.experts / (shard ? edp : 1.0);
    /* the gradients this rank keeps between steps: all its stage's, or its shard (ZeRO-2, FSDP) */
    double grads = sp.dense / (shard_g ? dpc : 1.0) + sp.experts / (shard_g ? edp : 1.0);
    double gb = wl_grad_bytes(w);
    int adam = w->optimizer == WL_OPT_ADAM;
    memset(out, 0, sizeof *out);
    out->kind = WL_OP_OPTIMIZER;
    out->role = WL_ROLE_OPTIMIZER;
    out->name = adam ? "adam" : "sgd";
    out->flops = params * (adam ? 12.0 : 4.0);
    /* The update reads master (and m, v) and the gradient, writes them back and the 16-bit
     * weight. Around it, once a step, the same rank also reads its gradients for their norm
     * (gradient clipping, Megatron-LM's --clip-grad 1.0 by default; the norm is taken over the
     * shard it updates; the in-place scaling when the norm exceeds the limit is left out) and
     * zeroes its whole gradient buffer for the next step (Megatron-LM's
     * DistributedDataParallel.zero_grad_buffer, PyTorch's optimizer.zero_grad). */
    out->hbm_bytes = params * ((adam ? 26.0 : 18.0) + gb) + params * gb + grads * gb;
}
