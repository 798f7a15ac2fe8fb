/*
 * model.c: reading a workload from YAML and the arithmetic of training it (see model.h for
 * the schema and every convention).
 *
 * The loader walks the mapping once in a fixed order (top-level keys, name, model and its
 * moe section, training), checking each section's keys before reading its values, so the
 * first mistake reported for a file is always the same one. Cross-key rules (heads divides
 * hidden, ...) are checked right after the later key is read and reported at that key. The
 * result is built in a local wl_workload and copied out only when every check has passed.
 *
 * The arithmetic works in doubles: every count here is an integer below 2^53 (sizes are
 * capped at 1e9 on input), so parameter counts are exact and FLOPs differ from the papers'
 * closed forms only by rounding. One description of a layer's parameters (layer_params)
 * feeds the counts, the FLOPs and the memory model, and one list of forward op specs
 * (layer_specs) feeds both the forward and the backward op lists, so these cannot drift
 * apart: the GEMM and attention FLOPs of the ops, summed over ranks and micro-batches, are
 * the hardware FLOPs (a test checks it).
 */
#include "workload/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- names --------------------------------------------------------------------------- */

static const char *const top_keys[] = {"name", "model", "training", NULL};
static const char *const model_keys[] = {"layers", "hidden", "heads", "kv_heads", "ffn", "mlp",
                                         "norm", "bias", "position_embedding", "vocab",
                                         "tied_embeddings", "moe", NULL};
static const char *const moe_keys[] = {"experts", "experts_per_token", "expert_ffn", "every",
                                       "capacity_factor", NULL};
static const char *const training_keys[] = {"sequence", "global_batch", "global_batch_tokens",
                                            "micro_batch", "dtype", "optimizer", "attention",
                                            "grad_dtype", "dropout", NULL};
static const char *const attention_names[] = {"flash", "unfused", NULL};

/* Indexed by the enums of model.h. */
static const char *const mlp_names[] = {"plain", "gated", NULL};
static const char *const norm_names[] = {"rmsnorm", "layernorm", NULL};
static const char *const position_names[] = {"none", "rotary", "learned", NULL};
static const char *const dtype_names[] = {"bf16", "fp16", "fp8", NULL};
static const char *const optimizer_names[] = {"adam", "sgd", NULL};
static const char *const grad_dtype_names[] = {"fp32", "bf16", "fp16", NULL};

/* Global batch in tokens may exceed WL_SIZE_MAX sequences' worth of a short sequence. */
#define WL_TOKENS_MAX 1000000000000LL

static const char *name_of(const char *const *names, size_t n, int i)
{
    if (i < 0 || (size_t)i >= n - 1)
        return "?";
    return names[i];
}

const char *wl_mlp_name(wl_mlp mlp)
{
    return name_of(mlp_names, sizeof mlp_names / sizeof mlp_names[0], (int)mlp);
}

const char *wl_dtype_name(wl_dtype dtype)
{
    return name_of(dtype_names, sizeof dtype_names / sizeof dtype_names[0], (int)dtype);
}

const char *wl_grad_dtype_name(wl_grad_dtype grad_dtype)
{
    return name_of(grad_dtype_names, sizeof grad_dtype_names / sizeof grad_dtype_names[0],
                   (int)grad_dtype);
}

double wl_grad_bytes(const wl_workload *w)
{
    return w->grad_dtype == WL_GRAD_FP32 ? 4.0 : 2.0;
}

const char *wl_optimizer_name(wl_optimizer optimizer)
{
    return name_of(optimizer_names, sizeof optimizer_names / sizeof optimizer_names[0],
                   (int)optimizer);
}

/* ---- loading ------------------------------------------------------------------------- */

/*
 * Finds the sub-mapping key of map, requires it to be a mapping with only allowed keys, and
 * sets *out to it. An absent optional section sets *out to 0.
 */

/* Copies the string under key into buf (cap bytes with the NUL), refusing longer text. */
static sim_code get_name(const ydoc *d, ynode map, const char *key, char *buf, size_t cap,
                         sim_status *st)
{
    const char *s = NULL;
    sim_code rc = ydoc_get_str(d, map, key, 1, &s, st);
    if (rc != SIM_OK)
        return rc;
    size_t n = strlen(s);
    if (n >= cap)
        return ydoc_error(d, ydoc_map_get(d, map, key), st,
                          "key '%s': expected at most %zu characters, found %zu", key, cap - 1,
                          n);
    memcpy(buf, s, n + 1);
    return SIM_OK;
}

/* A size: an integer in [1, WL_SIZE_MAX]; *out keeps its default when absent. */
static sim_code get_size(const ydoc *d, ynode map, const char *key, int required, int64_t *out,
                         sim_status *st)
{
    return ydoc_get_int(d, map, key, required, 1, WL_SIZE_MAX, out, st);
}

/* Reports, at key's node, that its value does not divide whole (named what). */
static sim_code not_divisor(const ydoc *d, ynode map, const char *key, const char *what,
                            int64_t whole, sim_status *st)
{
    char found[96];
    ynode v = ydoc_map_get(d, map, key);
    ydoc_describe(d, v, found, sizeof found);
    return ydoc_error(d, v, st, "key '%s': expected a divisor of %s = %lld, found %s", key,
                      what, (long long)whole, found);
}

/* Reports, at key's node, that its value exceeds limit (named what). */
static sim_code above(const ydoc *d, ynode map, const char *key, const char *what,
                      int64_t limit, sim_status *st)
{
    char found[96];
    ynode v = ydoc_map_get(d, map, key);
    ydoc_describe(d, v, found, sizeof found);
    return ydoc_error(d, v, st, "key '%s': expected at most %s = %lld, found %s", key, what,
                      (long long)limit, found);
}

static sim_code read_moe(const ydoc *d, ynode moe, wl_workload *w, sim_status *st)
{
    sim_code rc = get_size(d, moe, "experts", 1, &w->experts, st);
    if (rc == SIM_OK)
        rc = get_size(d, moe, "experts_per_token", 1, &w->experts_per_token, st);
    if (rc == SIM_OK && w->experts_per_token > w->experts)
        rc = above(d, moe, "experts_per_token", "experts", w->experts, st);
    w->expert_ffn = w->ffn;
    if (rc == SIM_OK)
        rc = get_size(d, moe, "expert_ffn", 0, &w->expert_ffn, st);
    w->moe_every = 1;
    if (rc == SIM_OK)
        rc = get_size(d, moe, "every", 0, &w->moe_every, st);
    if (rc == SIM_OK && w->moe_every > w->layers)
        rc = above(d, moe, "every", "layers", w->layers, st);
    w->capacity_factor = 1.0;
    if (rc == SIM_OK)
        rc = ydoc_get_double(d, moe, "capacity_factor", 0, &w->capacity_factor, st);
    if (rc == SIM_OK && !(w->capacity_factor > 0)) {
        char found[96];
        ynode v = ydoc_map_get(d, moe, "capacity_factor");
        ydoc_describe(d, v, found, sizeof found);
        rc = ydoc_error(d, v, st, "key 'capacity_factor': expected a number > 0, found %s",
                        found);
    }
    return rc;
}

static sim_code read_model(const ydoc *d, ynode model, wl_workload *w, sim_status *st)
{
    sim_code rc = get_size(d, model, "layers", 1, &w->layers, st);
    if (rc == SIM_OK)
        rc = get_size(d, model, "hidden", 1, &w->hidden, st);
    if (rc == SIM_OK)
        rc = get_size(d, model, "heads", 1, &w->heads, st);
    if (rc == SIM_OK && w->hidden % w->heads != 0)
        rc = not_divisor(d, model, "heads", "hidden", w->hidden, st);
    if (rc == SIM_OK) {
        w->head_dim = w->hidden / w->heads;
        w->kv_heads = w->heads;
        rc = get_size(d, model, "kv_heads", 0, &w->kv_heads, st);
    }
    if (rc == SIM_OK && w->heads % w->kv_heads != 0)
        rc = not_divisor(d, model, "kv_heads", "heads", w->heads, st);
    w->ffn = 4 * w->hidden;
    if (rc == SIM_OK)
        rc = get_size(d, model, "ffn", 0, &w->ffn, st);
    int mlp = w->mlp, norm = w->norm, position = w->position, bias = 0, tied = 0;
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, model, "mlp", 0, "MLP kind", mlp_names, &mlp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, model, "norm", 0, "norm kind", norm_names, &norm, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, model, "bias", 0, &bias, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, model, "position_embedding", 0, "position embedding",
                           position_names, &position, st);
    if (rc == SIM_OK)
        rc = get_size(d, model, "vocab", 1, &w->vocab, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, model, "tied_embeddings", 0, &tied, st);
    w->mlp = (wl_mlp)mlp;
    w->norm = (wl_norm)norm;
    w->position = (wl_position)position;
    w->bias = bias;
    w->tied_embeddings = tied;
    ynode moe = 0;
    if (rc == SIM_OK)
        rc = ydoc_get_section(d, model, "moe", 0, moe_keys, &moe, st);
    if (rc == SIM_OK && moe)
        rc = read_moe(d, moe, w, st);
    return rc;
}

static sim_code read_training(const ydoc *d, ynode tr, wl_workload *w, sim_status *st)
{
    sim_code rc = get_size(d, tr, "sequence", 1, &w->sequence, st);
    if (rc != SIM_OK)
        return rc;
    ynode gb = ydoc_map_get(d, tr, "global_batch");
    ynode gbt = ydoc_map_get(d, tr, "global_batch_tokens");
    char place[256], found[96];
    if (gb && gbt)
        return ydoc_error(d, gbt, st, "key 'global_batch_tokens': expected either "
                          "global_batch or global_batch_tokens, found both");
    if (!gb && !gbt) {
        ydoc_place(d, tr, place, sizeof place);
        return ydoc_error(d, tr, st, "missing key 'global_batch' in %s: expected an integer "
                          "such as '1024' (or global_batch_tokens)", place);
    }
    if (gb) {
        rc = get_size(d, tr, "global_batch", 1, &w->global_batch, st);
    } else {
        int64_t tokens = 0;
        rc = ydoc_get_int(d, tr, "global_batch_tokens", 1, 1, WL_TOKENS_MAX, &tokens, st);
        if (rc == SIM_OK && tokens % w->sequence != 0) {
            ydoc_describe(d, gbt, found, sizeof found);
            return ydoc_error(d, gbt, st, "key 'global_batch_tokens': expected a multiple of "
                              "sequence = %lld, found %s", (long long)w->sequence, found);
        }
        w->global_batch = tokens / w->sequence;
    }
    w->micro_batch = 1;
    if (rc == SIM_OK)
        rc = get_size(d, tr, "micro_batch", 0, &w->micro_batch, st);
    if (rc == SIM_OK && w->global_batch % w->micro_batch != 0) {
        ynode v = ydoc_map_get(d, tr, "micro_batch");
        ydoc_describe(d, v, found, sizeof found);
        return ydoc_error(d, v, st, "key 'micro_batch': expected a divisor of the global "
                          "batch (%lld sequences), found %s", (long long)w->global_batch, found);
    }
    int dtype = w->dtype, attention = w->attention, optimizer = w->optimizer, grad_dtype;
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, tr, "dtype", 0, "data type", dtype_names, &dtype, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, tr, "attention", 0, "attention kernel", attention_names,
                           &attention, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, tr, "optimizer", 0, "optimizer", optimizer_names, &optimizer,
                           st);
    /* Megatron-LM accumulates and reduces gradients in fp32 when training in bf16
     * (accumulate_allreduce_grads_in_fp32), in the 16-bit type with fp16. */
    grad_dtype = dtype == WL_DTYPE_FP16 ? WL_GRAD_FP16 : WL_GRAD_FP32;
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, tr, "grad_dtype", 0, "gradient data type", grad_dtype_names,
                           &grad_dtype, st);
    w->dtype = (wl_dtype)dtype;
    w->attention = (wl_attention)attention;
    w->optimizer = (wl_optimizer)optimizer;
    w->grad_dtype = (wl_grad_dtype)grad_dtype;
    w->dropout = 0.0;
    if (rc == SIM_OK)
        rc = ydoc_get_double(d, tr, "dropout", 0, &w->dropout, st);
    if (rc == SIM_OK && !(w->dropout >= 0 && w->dropout < 1)) {
        ynode v = ydoc_map_get(d, tr, "dropout");
        ydoc_describe(d, v, found, sizeof found);
        rc = ydoc_error(d, v, st, "key 'dropout': expected a probability in [0, 1), found %s",
                        found);
    }
    return rc;
}

sim_code wl_workload_from_node(const ydoc *d, ynode map, wl_workload *out, sim_status *st)
{
    wl_workload w;
    memset(&w, 0, sizeof w);
    w.mlp = WL_MLP_PLAIN;
    w.norm = WL_NORM_RMSNORM;
    w.position = WL_POSITION_NONE;
    w.dtype = WL_DTYPE_BF16;
    w.optimizer = WL_OPT_ADAM;
    ynode model = 0, tr = 0;
    char place[256];

    sim_code rc = ydoc_expect(d, map, YDOC_MAP, NULL, st);
    if (rc == SIM_OK) {
        ydoc_place(d, map, place, sizeof place);
        rc = ydoc_check_keys(d, map, place, top_keys, st);
    }
    if (rc == SIM_OK)
        rc = get_name(d, map, "name", w.name, sizeof w.name, st);
    if (rc == SIM_OK)
        rc = ydoc_get_section(d, map, "model", 1, model_keys, &model, st);
    if (rc == SIM_OK)
        rc = read_model(d, model, &w, st);
    if (rc == SIM_OK)
        rc = ydoc_get_section(d, map, "training", 1, training_keys, &tr, st);
    if (rc == SIM_OK)
        rc = read_training(d, tr, &w, st);
    if (rc == SIM_OK)
        *out = w;
    return rc;
}

sim_code wl_workload_load_file(const char *path, wl_workload *out, sim_status *st)
{
    ydoc *d = NULL;
    sim_code rc = ydoc_load_file(path, &d, st);
    if (rc == SIM_OK)
        rc = wl_workload_from_node(d, ydoc_root(d), out, st);
    ydoc_destroy(d);
    return rc;
}

/* ---- dimensions ---------------------------------------------------------------------- */

/* The workload's and the parallelism's figures as doubles, named as in the papers. */
typedef struct dims {
    double L, h, a, kvw, hd, f, V, s, b;  /* layers, hidden, heads, kv width, head dim, ffn,
                                             vocab, sequence, micro-batch */
    double E, k, fe, cf;                  /* experts, per token, expert ffn, capacity */
    double t, c, ep, sl, T, Tn;           /* tp, cp, ep, sequence / cp, tokens of a micro-
                                             batch on a rank, the same / tp with SP */
    double ab, wb;                        /* activation and GEMM operand bytes */
    int sp, gated;
    int flash;                            /* fused (flash) attention: no score matrix */
    int drop;                             /* dropout > 0: masks are kept */
} dims;

static void dims_of(const wl_workload *w, const wl_parallel *p, dims *x)
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
    x->sp = p ? p->sequence_parallel != 0 : 0;
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

static double mlp_weights(const dims *x, double ff)
{
    return (x->gated ? 3.0 : 2.0) * x->h * ff;
}

/* Column-parallel (split) MLP biases: up, and gate when gated. */
static double mlp_bias_split(const wl_workload *w, const dims *x, double ff)
{
    return w->bias ? (x->gated ? 2.0 : 1.0) * ff : 0.0;
}

static void layer_params_of(const wl_workload *w, int moe, layer_params *lp)
{
    dims x;
    dims_of(w, NULL, &x);
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
    int64_t f = p->first_stage_layers, l = p->last_stage_layers;
    if (f || l) {
        int64_t mid = w->layers - f - l;
        if (f < 1 || l < 1 || p->pp < 2 || p->vp != 1)
            return par_error(st, "first_stage_layers", (long long)f,
                             "with last_stage_layers, both at least 1, pp of 2 or more and "
                             "no virtual stages");
        if (p->pp == 2 ? mid != 0 : mid < p->pp - 2 || mid % (p->pp - 2) != 0)
            return par_error(st, "first_stage_layers", (long long)f,
                             "first and last stage layers that leave the other %lld stages an "
                             "equal share of %lld layers", (long long)(p->pp - 2),
                             (long long)mid);
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
    if (p->schedule == WL_SCHED_INTERLEAVED && p->pp > 1 && m % p->pp != 0)
        return par_error(st, "micro-batches", (long long)m,
                         "a multiple of pp = %lld for the interleaved schedule",
                         (long long)p->pp);
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
    double elems, bpe, fpe;
    double bpe_bwd;    /* elementwise: bytes per element backward; 0 = bpe + the gradient */
    double bwd_factor; /* attention: backward FLOPs over forward */
    bool core_attention; /* recomputed with the attention core (selective recomputation) */
    bool fused;          /* attention: a flash kernel */
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
static void emit(op_list *l, const op_spec *sp, const dims *x, int backward, int recompute)
{
    wl_op op;
    memset(&op, 0, sizeof op);
    op.kind = sp->kind;
    op.role = sp->role;
    op.name = sp->name;
    op.recompute = recompute;
    op.fused = sp->fused;
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

/* The forward op specs of layer (dense or MoE) for one micro-batch on one rank, in order.
 * Returns how many were written to specs (at most WL_OPS_MAX). */
static size_t layer_specs(const wl_workload *w, const dims *x, int moe, const wl_parallel *p,
                          op_spec *specs)
{
    size_t n = 0;
    double t = x->t, h = x->h, T = x->T;
    double norm_fpe = w->norm == WL_NORM_LAYERNORM ? FPE_LAYERNORM : FPE_RMSNORM;
    double act_fpe = x->gated ? FPE_SWIGLU : FPE_GELU;
    double act_bpe = (x->gated ? 3.0 : 2.0) * x->ab; /* gated reads gate and up */
    double up = x->gated ? 2.0 : 1.0;

    specs[n++] = elementwise(WL_ROLE_ATTN_NORM, x->Tn * h, 2 * x->ab, norm_fpe);
    double qkv_n = (h + 2 * x->kvw) / t;
    specs[n++] = gemm(WL_ROLE_QKV, T, qkv_n, h, h * qkv_n);
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
    at.q_elems = T * h / t;
    at.kv_elems = 2 * x->b * x->s * x->kvw / t;
    specs[n++] = at;
    if (w->attention == WL_ATTENTION_UNFUSED) {
        /* The score matrix is materialized (before FlashAttention, 2022): the QK^T GEMM
         * writes it, the fused scale-mask-softmax kernel reads it and writes probabilities,
         * dropout reads those and writes its output and mask, the AV GEMM reads that: 13
         * bytes per score element forward (16-bit values, 8-bit mask), twice backward. */
        op_spec sm = elementwise(WL_ROLE_ATTN_SOFTMAX, x->b * (x->a / t) * x->sl * x->s, 13.0,
                                 FPE_SOFTMAX);
        sm.bpe_bwd = 26.0;
        sm.core_attention = true;
        specs[n++] = sm;
    }
    specs[n++] = gemm(WL_ROLE_ATTN_PROJ, T, h, h / t, h * h / t);
    specs[n++] = elementwise(WL_ROLE_ATTN_RESIDUAL, x->Tn * h, 3 * x->ab, 2);
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
    specs[n++] = elementwise(WL_ROLE_MLP_RESIDUAL, x->Tn * h, 3 * x->ab, 2);
    return n;
}

size_t wl_layer_ops_at(const wl_workload *w, const wl_parallel *p, int64_t layer, int backward,
                       wl_op *ops, size_t cap)
{
    dims x;
    dims_of(w, p, &x);
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
    dims x;
    dims_of(w, p, &x);
    op_list l = {ops, cap, 0};
    /* Each tp rank looks up the rows of its vocabulary shard into a full-size partial
     * output (reduced over tp afterwards); backward scatter-adds into the rows. */
    op_spec emb = elementwise(WL_ROLE_EMBEDDING, x.T * x.h, 2 * x.ab, 0);
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
    dims x;
    dims_of(w, p, &x);
    op_list l = {ops, cap, 0};
    double norm_fpe = w->norm == WL_NORM_LAYERNORM ? FPE_LAYERNORM : FPE_RMSNORM;
    op_spec specs[3];
    specs[0] = elementwise(WL_ROLE_FINAL_NORM, x.Tn * x.h, 2 * x.ab, norm_fpe);
    specs[1] = gemm(WL_ROLE_LOGITS, x.T, x.V / x.t, x.h, x.h * x.V / x.t);
    /* reads 16-bit logits, keeps fp32 softmax for the backward pass */
    specs[2] = elementwise(WL_ROLE_LOSS, x.T * x.V / x.t, x.ab + 4.0, FPE_SOFTMAX_XENT);
    if (!backward)
        for (size_t i = 0; i < 3; i++)
            emit(&l, &specs[i], &x, 0, 0);
    else
        for (size_t i = 3; i-- > 0;)
            emit(&l, &specs[i], &x, 1, 0);
    return l.n;
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

void wl_chunk_layers(const wl_workload *w, const wl_parallel *p, int64_t g, int64_t *first,
                     int64_t *count)
{
    int64_t f = p->first_stage_layers, l = p->last_stage_layers;
    if (!f && !l) {
        int64_t per = w->layers / (p->pp * p->vp);
        *first = g * per;
        *count = per;
        return;
    }
    int64_t mid = p->pp > 2 ? (w->layers - f - l) / (p->pp - 2) : 0;
    if (g == 0) {
        *first = 0;
        *count = f;
    } else if (g == p->pp - 1) {
        *first = w->layers - l;
        *count = l;
    } else {
        *first = f + (g - 1) * mid;
        *count = mid;
    }
}

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
    dims x;
    dims_of(w, p, &x);
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
        /* Megatron-LM: with as many micro-batches as stages, every forward is warm-up. */
        int64_t chunks = m == p->pp ? m * p->vp
                                    : 2 * (p->pp - stage - 1) + (p->vp - 1) * p->pp + 1;
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
    dims x;
    dims_of(w, p, &x);

    stage_params sp;
    stage_params_of(w, p, stage, &sp);
    double dpc = (double)(p->dp * p->cp);
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
    mem.activations = acts.total * inflight;
    if (stage == 0 && x.drop) /* embedding dropout mask */
        mem.activations += inflight * sbh / rep_div;
    if (stage == p->pp - 1) /* final norm and logits inputs, fp32 logits */
        mem.activations += inflight * (4 * sbh / rep_div + 4 * x.sl * x.b * x.V / x.t);
    if (p->recompute == WL_RECOMPUTE_FULL)
        mem.activations += acts.largest_unrecomputed;

    if (dpc > 1)
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
    int shard = p->zero >= 1 || p->fsdp;
    double dpc = (double)(p->dp * p->cp);
    double params = sp.dense / (shard ? dpc : 1.0) +
                    sp.experts / (shard ? dpc / (double)p->ep : 1.0);
    int adam = w->optimizer == WL_OPT_ADAM;
    memset(out, 0, sizeof *out);
    out->kind = WL_OP_OPTIMIZER;
    out->role = WL_ROLE_OPTIMIZER;
    out->name = adam ? "adam" : "sgd";
    out->flops = params * (adam ? 12.0 : 4.0);
    /* reads master (and m, v) and the gradient, writes them back and the 16-bit weight */
    out->hbm_bytes = params * ((adam ? 26.0 : 18.0) + wl_grad_bytes(w));
}
