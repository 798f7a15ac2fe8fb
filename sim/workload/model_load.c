/*
 * model_load.c: reading a workload from YAML (see model.h for the schema), and the YAML
 * spellings of its enums.
 *
 * The loader walks the mapping once in a fixed order (top-level keys, name, model and its
 * moe section, training), checking each section's keys before reading its values, so the
 * first mistake reported for a file is always the same one. Cross-key rules (heads divides
 * hidden, ...) are checked right after the later key is read and reported at that key. The
 * result is built in a local wl_workload and copied out only when every check has passed.
 */
#include <stdio.h>
#include <string.h>

#include "workload/model.h"

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

const char *wl_optimizer_name(wl_optimizer optimizer)
{
    return name_of(optimizer_names, sizeof optimizer_names / sizeof optimizer_names[0],
                   (int)optimizer);
}

/* ---- loading ------------------------------------------------------------------------- */

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
