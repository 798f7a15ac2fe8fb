/*
 * plan.c: configs, rank placement, parallel groups and rank programs (see plan.h).
 *
 * Programs are generated on the fly. A rank's program is its stage's pipeline schedule
 * (workload/sched.h); each pass expands into items in a fixed order:
 *   forward (mb, chunk), virtual stage g = chunk p + s, layers [g L, (g + 1) L):
 *     recv activation from stage g - 1 (g > 0) | embedding ops (g = 0)
 *     per layer: [ZeRO-3 all-gather of the layer's parameters over dp] then the layer's ops
 *       with the collectives of tensor, context and expert parallelism placed between them
 *     send activation to stage g + 1 | head ops (last virtual stage)
 *   backward: the mirror image, with recomputed forward ops first (model.c decides which),
 *     and on the chunk's last backward pass (on every backward pass with ZeRO-2/3 or FSDP,
 *     whose sharded gradients leave no room to accumulate), gradient buckets of
 *     WL_DP_BUCKET_BYTES reduced asynchronously as soon as they fill (and the rest at the
 *     chunk's end): in one collective over the dp x cp replicas (PLAN_GROUP_DP_CP), expert
 *     gradients over the expert data-parallel group (PLAN_GROUP_EXPERT_DP)
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
 * Recomputed forward ops carry their forward collectives again. Byte counts follow the
 * nccl-tests convention: the size of the full (gathered or reduced) buffer of one member.
 * A layer's items depend only on whether it is an MoE layer and on the direction, so they are
 * built once per plan (templates) and shared by every rank.
 */
#include "workload/plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "topo/topo.h"

static const char *const top_keys[] = {"name",   "topology", "workload", "parallelism", "run",
                                       "output", "cross_dc", "scale",    "sweep",       NULL};
static const char *const scale_keys[] = {"flops",        "hbm_bw", "scale_up_bw",
                                         "scale_out_bw", "wan_bw", "latency",     NULL};
static const char *const xdc_keys[] = {"scheme", "inner_steps", "payload", "fragments",
                                       "max_delay", NULL};
static const char *const xdc_names[] = {"none", "sync", "pipeline", "diloco",
                                        "streaming-diloco", NULL};
static const char *const payload_names[] = {"fp32", "bf16", "int8", "fp4", NULL};
static const char *const par_keys[] = {
    "tp", "pp", "dp", "cp", "ep", "chips", "virtual_stages", "schedule", "zero", "fsdp",
    "sequence_parallel", "recompute", "placement", "micro_batch", "global_batch",
    "tp_comm_overlap", "overlap_param_gather", "first_stage_layers", "last_stage_layers", NULL};
static const char *const run_keys[] = {"steps", "warmup", "seed", NULL};
static const char *const out_keys[] = {"db", "trace", NULL};
static const char *const sched_names[] = {"gpipe", "1f1b", "interleaved", NULL};
static const char *const recompute_names[] = {"none", "selective", "full", NULL};
static const char *const dim_names[] = {"tp", "cp", "dp", "pp", "ep", NULL};

/* Per-plan templates: items of one layer (dense/MoE x forward/backward). Stored beside the
 * plan so that plan.h stays free of them. */
#define TMPL_MAX (WL_OPS_MAX * 3)
typedef struct tmpl {
    plan_item items[TMPL_MAX];
    size_t n;
    double grad_bytes; /* the layer's gradient bytes reduced over dp x cp (wl_grad_bytes
                          each), its experts' excepted */
    double expert_grad_bytes; /* its experts' gradient bytes, reduced over the expert dp */
} tmpl;

typedef struct plan_full {
    plan pub;
    tmpl layer[2][2]; /* [moe][backward] */
    plan_item emb[2][12], head[2][12];
    size_t n_emb[2], n_head[2];
    double emb_grad_bytes, head_grad_bytes;
    double act_bytes;          /* pipeline send/recv payload */
    double emb_sync_bytes;     /* tied embeddings with pp > 1: the word embedding gradient */
    double *stage_param_bytes; /* [pp]: bytes of the parameters each stage's ranks hold */
    double *stage_expert_bytes; /* [pp]: of those, the experts' */
} plan_full;

static const plan_full *full(const plan *p)
{
    return (const plan_full *)(const void *)p;
}

const char *plan_xdc_name(int scheme)
{
    return scheme >= 0 && scheme <= PLAN_XDC_STREAMING ? xdc_names[scheme] : "?";
}

const char *plan_payload_name(int payload)
{
    return payload >= 0 && payload <= 3 ? payload_names[payload] : "?";
}

const char *plan_dim_name(int dim)
{
    return dim >= 0 && dim < PLAN_DIM_COUNT ? dim_names[dim] : "?";
}

const char *plan_coll_name(int coll)
{
    static const char *const names[] = {"all-reduce", "reduce-scatter", "all-gather",
                                        "all-to-all"};
    return coll >= 0 && coll < PLAN_COLL_COUNT ? names[coll] : "?";
}

/* ---- loading ---- */

/* path relative to the config's directory (absolute paths unchanged). */
static void resolve(const char *config, const char *rel, char *out, size_t n)
{
    sim_path_join(config, rel, out, n);
}

/* Overrides under prefix ("topology."), with the prefix removed, into sub; others stay. */
static size_t split_overrides(const ydoc_override *ov, size_t n, const char *prefix,
                              ydoc_override *sub)
{
    size_t k = 0, len = strlen(prefix);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(ov[i].path, prefix, len)) {
            sub[k] = ov[i];
            sub[k].path = ov[i].path + len;
            k++;
        }
    return k;
}

static sim_code load_topology(plan *p, const ydoc *d, ynode root, const ydoc_override *ov,
                              size_t n, sim_status *st)
{
    const char *rel = NULL;
    sim_code rc = ydoc_get_str(d, root, "topology", 1, &rel, st);
    if (rc != SIM_OK)
        return rc;
    resolve(p->config_path, rel, p->topology_path, sizeof p->topology_path);
    ydoc_override *sub = malloc((n ? n : 1) * sizeof *sub);
    if (!sub)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    topo_load_opts opts = {0};
    opts.overrides = sub;
    opts.n_overrides = split_overrides(ov, n, "topology.", sub);
    FILE *f = fopen(p->topology_path, "r");
    if (!f) {
        free(sub);
        return ydoc_error(d, ydoc_map_get(d, root, "topology"), st,
                          "key 'topology': cannot read '%s'", p->topology_path);
    }
    fclose(f);
    rc = topo_load(p->topology_path, &opts, &p->topo, st);
    free(sub);
    return rc;
}

static sim_code load_workload(plan *p, ydoc *d, ynode root, const ydoc_override *ov, size_t n,
                              sim_status *st)
{
    ynode v = ydoc_map_get(d, root, "workload");
    if (v && ydoc_node_kind(d, v) == YDOC_MAP) { /* inline: its overrides are the config's */
        snprintf(p->workload_path, sizeof p->workload_path, "%s", p->config_path);
        return wl_workload_from_node(d, v, &p->wl, st);
    }
    const char *rel = NULL;
    sim_code rc = ydoc_get_str(d, root, "workload", 1, &rel, st);
    if (rc != SIM_OK)
        return rc;
    resolve(p->config_path, rel, p->workload_path, sizeof p->workload_path);
    FILE *f = fopen(p->workload_path, "r");
    if (!f)
        return ydoc_error(d, v, st, "key 'workload': cannot read '%s'", p->workload_path);
    fclose(f);
    ydoc_override *sub = malloc((n ? n : 1) * sizeof *sub);
    ydoc *wd = NULL;
    if (!sub)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    size_t k = split_overrides(ov, n, "workload.", sub);
    rc = ydoc_load_file(p->workload_path, &wd, st);
    if (rc == SIM_OK)
        rc = ydoc_apply(wd, sub, k, st);
    if (rc == SIM_OK)
        rc = wl_workload_from_node(wd, ydoc_root(wd), &p->wl, st);
    ydoc_destroy(wd);
    free(sub);
    return rc;
}

/* Error at parallelism.key when written there, else at the parallelism mapping. */
static sim_code par_err(const ydoc *d, ynode par, const char *key, sim_status *st,
                        const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static sim_code par_err(const ydoc *d, ynode par, const char *key, sim_status *st,
                        const char *fmt, ...)
{
    char msg[SIM_STATUS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ynode at = ydoc_map_get(d, par, key);
    return ydoc_error(d, at ? at : par, st, "%s", msg);
}

static sim_code load_placement(plan *p, const ydoc *d, ynode par, sim_status *st)
{
    static const int def[4] = {PLAN_TP, PLAN_CP, PLAN_DP, PLAN_PP};
    static const int dp_out[4] = {PLAN_TP, PLAN_CP, PLAN_PP, PLAN_DP};
    memcpy(p->placement, p->xdc.scheme == PLAN_XDC_SYNC ? dp_out : def, sizeof def);
    ynode v = ydoc_map_get(d, par, "placement");
    if (!v)
        return SIM_OK;
    char found[96];
    ydoc_describe(d, v, found, sizeof found);
    if (ydoc_node_kind(d, v) != YDOC_SEQ || ydoc_seq_len(d, v) != 4)
        return ydoc_error(d, v, st,
                          "key 'placement': expected a list of tp, cp, dp and pp in some "
                          "order (innermost first), found %s", found);
    int seen[4] = {0};
    for (size_t i = 0; i < 4; i++) {
        ynode item = ydoc_seq_at(d, v, i);
        const char *s = ydoc_scalar(d, item);
        int k = -1;
        for (int j = 0; j < 4 && s; j++)
            if (!strcmp(s, dim_names[j]))
                k = j;
        if (k < 0 || seen[k]) {
            ydoc_describe(d, item, found, sizeof found);
            return ydoc_error(d, item, st,
                              "key 'placement': expected each of tp, cp, dp and pp once, "
                              "found %s%s", found, k >= 0 ? " twice" : "");
        }
        seen[k] = 1;
        p->placement[i] = k;
    }
    return SIM_OK;
}

static sim_code load_parallelism(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    ynode par = ydoc_map_get(d, root, "parallelism");
    wl_parallel *w = &p->par;
    wl_parallel_default(w);
    if (!par)
        return ydoc_error(d, root, st,
                          "missing key 'parallelism' in the document: expected a mapping "
                          "such as {tp: 8, pp: 1}");
    sim_code rc = ydoc_expect(d, par, YDOC_MAP, "parallelism", st);
    if (rc == SIM_OK)
        rc = ydoc_check_keys(d, par, "parallelism", par_keys, st);
    int64_t chips = (int64_t)topo_chip_count(p->topo), dp = 0, zero = 0, mb = 0, gb = 0;
    int fsdp = 0, sp = 0, sched_kind = WL_SCHED_1F1B, rec = WL_RECOMPUTE_NONE;
    int64_t lim = INT32_MAX;
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "tp", 0, 1, lim, &w->tp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "pp", 0, 1, lim, &w->pp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "cp", 0, 1, lim, &w->cp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "ep", 0, 1, lim, &w->ep, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "dp", 0, 1, lim, &dp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "chips", 0, 1, lim, &chips, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "virtual_stages", 0, 1, 1024, &w->vp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "first_stage_layers", 0, 1, lim, &w->first_stage_layers, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "last_stage_layers", 0, 1, lim, &w->last_stage_layers, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, par, "schedule", 0, "schedule", sched_names, &sched_kind, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "zero", 0, 0, 3, &zero, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "fsdp", 0, &fsdp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "sequence_parallel", 0, &sp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "tp_comm_overlap", 0, &p->tp_comm_overlap, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "overlap_param_gather", 0, &p->overlap_param_gather, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, par, "recompute", 0, "recompute mode", recompute_names, &rec, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "micro_batch", 0, 1, lim, &mb, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "global_batch", 0, 1, lim, &gb, st);
    if (rc == SIM_OK)
        rc = load_placement(p, d, par, st);
    if (rc != SIM_OK)
        return rc;
    w->schedule = (wl_schedule)sched_kind;
    w->recompute = (wl_recompute)rec;
    w->zero = (int)zero;
    w->fsdp = fsdp;
    w->sequence_parallel = sp;
    if (mb)
        p->wl.micro_batch = mb;
    if (gb)
        p->wl.global_batch = gb;
    int64_t have = (int64_t)topo_chip_count(p->topo);
    if (chips > have)
        return par_err(d, par, "chips", st,
                       "key 'chips': the job uses %lld chips but topology '%s' has %lld",
                       (long long)chips, topo_name(p->topo), (long long)have);
    int64_t model = w->tp * w->pp * w->cp;
    if (!dp) {
        if (chips % model != 0)
            return par_err(d, par, "tp", st,
                           "tp x pp x cp = %lld x %lld x %lld = %lld does not divide the %lld "
                           "chips used", (long long)w->tp, (long long)w->pp, (long long)w->cp,
                           (long long)model, (long long)chips);
        dp = chips / model;
    }
    w->dp = dp;
    if (dp * model != chips)
        return par_err(d, par, "dp", st,
                       "dp x tp x pp x cp = %lld x %lld x %lld x %lld = %lld, but the job uses "
                       "%lld chips", (long long)dp, (long long)w->tp, (long long)w->pp,
                       (long long)w->cp, (long long)(dp * model), (long long)chips);
    const wl_workload *wl = &p->wl;
    if (wl->heads % w->tp != 0 || wl->kv_heads % w->tp != 0)
        return par_err(d, par, "tp", st,
                       "key 'tp': %lld does not divide the model's %lld heads and %lld kv heads",
                       (long long)w->tp, (long long)wl->heads, (long long)wl->kv_heads);
    int uneven = w->first_stage_layers || w->last_stage_layers;
    if (uneven && (!w->first_stage_layers || !w->last_stage_layers || w->vp > 1 || w->pp < 2))
        return par_err(d, par, "first_stage_layers", st,
                       "key 'first_stage_layers': give first_stage_layers and last_stage_layers "
                       "together, with pp of 2 or more and no virtual stages");
    if (uneven) {
        int64_t mid = wl->layers - w->first_stage_layers - w->last_stage_layers;
        if (w->pp == 2 ? mid != 0 : mid < w->pp - 2 || mid % (w->pp - 2) != 0)
            return par_err(d, par, "first_stage_layers", st,
                           "key 'first_stage_layers': %lld + %lld layers on the first and last "
                           "stages leave %lld for the other %lld stages: not an equal share",
                           (long long)w->first_stage_layers, (long long)w->last_stage_layers,
                           (long long)mid, (long long)(w->pp - 2));
    } else if (wl->layers % (w->pp * w->vp) != 0) {
        return par_err(d, par, w->vp > 1 ? "virtual_stages" : "pp", st,
                       "pp x virtual_stages = %lld x %lld does not divide the model's %lld "
                       "layers", (long long)w->pp, (long long)w->vp, (long long)wl->layers);
    }
    if (p->tp_comm_overlap && !sp)
        return par_err(d, par, "tp_comm_overlap", st,
                       "key 'tp_comm_overlap': overlapping TP communication with GEMMs needs "
                       "sequence_parallel: true");
    if (w->vp > 1 && w->schedule != WL_SCHED_INTERLEAVED)
        return par_err(d, par, "virtual_stages", st,
                       "key 'virtual_stages': %lld virtual stages need schedule 'interleaved'",
                       (long long)w->vp);
    if (w->schedule == WL_SCHED_INTERLEAVED && w->vp < 2)
        return par_err(d, par, "schedule", st,
                       "key 'schedule': 'interleaved' needs virtual_stages of 2 or more");
    if (wl->sequence % w->cp != 0)
        return par_err(d, par, "cp", st, "key 'cp': %lld does not divide the sequence of %lld",
                       (long long)w->cp, (long long)wl->sequence);
    if (w->ep > 1 && wl->experts == 0)
        return par_err(d, par, "ep", st, "key 'ep': expert parallelism needs an MoE model; "
                       "'%s' is dense", wl->name);
    if (wl->experts && wl->experts % w->ep != 0)
        return par_err(d, par, "ep", st, "key 'ep': %lld does not divide the model's %lld "
                       "experts", (long long)w->ep, (long long)wl->experts);
    if (dp % w->ep != 0)
        return par_err(d, par, "ep", st, "key 'ep': %lld does not divide dp = %lld (experts "
                       "are spread over data-parallel ranks)", (long long)w->ep, (long long)dp);
    if (wl->global_batch % (wl->micro_batch * dp) != 0)
        return par_err(d, par, "global_batch", st,
                       "the global batch of %lld sequences does not split into micro-batches "
                       "of %lld on %lld data-parallel ranks", (long long)wl->global_batch,
                       (long long)wl->micro_batch, (long long)dp);
    p->microbatches = wl->global_batch / (wl->micro_batch * dp);
    if (w->schedule == WL_SCHED_INTERLEAVED && p->microbatches % w->pp != 0)
        return par_err(d, par, "schedule", st,
                       "key 'schedule': the interleaved schedule needs the %lld micro-batches "
                       "to be a multiple of pp = %lld", (long long)p->microbatches,
                       (long long)w->pp);
    /* The model's own checks, as a backstop, located at the parallelism mapping. */
    sim_status ws;
    if (wl_parallel_check(wl, w, &ws) != SIM_OK)
        return ydoc_error(d, par, st, "%s", ws.msg);
    p->ranks = chips;
    int64_t size[4] = {w->tp, w->cp, w->dp, w->pp}, stride = 1;
    for (int i = 0; i < 4; i++) {
        p->stride[p->placement[i]] = stride;
        stride *= size[p->placement[i]];
    }
    p->stride[PLAN_EP] = p->stride[PLAN_DP];
    return SIM_OK;
}

/* scale: what-if multipliers on the chips and links, applied to the topology at once. */
static sim_code load_scale(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    ynode x;
    sim_code rc = ydoc_get_section(d, root, "scale", 0, scale_keys, &x, st);
    if (rc != SIM_OK || !x)
        return rc;
    double v[6] = {1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 6 && rc == SIM_OK; i++) {
        rc = ydoc_get_double(d, x, scale_keys[i], 0, &v[i], st);
        if (rc == SIM_OK && !(v[i] > 0 && v[i] <= 1e6))
            rc = ydoc_error(d, ydoc_map_get(d, x, scale_keys[i]), st,
                            "key '%s': expected a multiplier above 0 (1 leaves it as it is), "
                            "found %g", scale_keys[i], v[i]);
    }
    if (rc != SIM_OK)
        return rc;
    topo_scale sc = {v[0], v[1], v[2], v[3], v[4], v[5]};
    topo_apply_scale(p->topo, &sc);
    return SIM_OK;
}

/* cross_dc: read before the parallelism (it sets the default placement). */
static sim_code load_cross_dc(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    ynode x;
    plan_cross_dc *c = &p->xdc;
    memset(c, 0, sizeof *c);
    c->sites = (int64_t)topo_site_count(p->topo);
    c->inner_steps = 1;
    c->payload_bytes = 4;
    c->fragments = 1;
    sim_code rc = ydoc_get_section(d, root, "cross_dc", 0, xdc_keys, &x, st);
    if (rc != SIM_OK || !x)
        return rc;
    int scheme = PLAN_XDC_NONE;
    rc = ydoc_get_enum(d, x, "scheme", 1, "cross-datacenter scheme", xdc_names, &scheme, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "inner_steps", 0, 1, 1000000, &c->inner_steps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, x, "payload", 0, "payload type", payload_names, &c->payload, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "fragments", 0, 1, 1000000, &c->fragments, st);
    if (rc != SIM_OK)
        return rc;
    c->scheme = scheme;
    c->max_delay = c->inner_steps / c->fragments;
    rc = ydoc_get_int(d, x, "max_delay", 0, 0, 1000000, &c->max_delay, st);
    if (rc != SIM_OK)
        return rc;
    static const double bytes[] = {4, 2, 1, 0.5};
    c->payload_bytes = bytes[c->payload];
    if (scheme == PLAN_XDC_NONE)
        return ydoc_error(d, ydoc_map_get(d, x, "scheme"), st,
                          "key 'scheme': expected sync, pipeline, diloco or streaming-diloco, "
                          "found 'none' (leave the cross_dc section out instead)");
    if (c->sites < 2)
        return ydoc_error(d, ydoc_map_get(d, x, "scheme"), st,
                          "key 'scheme': topology '%s' has one site; a cross-datacenter scheme "
                          "needs two or more", topo_name(p->topo));
    int diloco = scheme == PLAN_XDC_DILOCO || scheme == PLAN_XDC_STREAMING;
    static const char *const diloco_keys[] = {"inner_steps", "payload", NULL};
    for (size_t i = 0; !diloco && diloco_keys[i]; i++)
        if (ydoc_map_get(d, x, diloco_keys[i]))
            return ydoc_error(d, ydoc_map_get(d, x, diloco_keys[i]), st,
                              "key '%s': not used by scheme '%s'", diloco_keys[i],
                              xdc_names[scheme]);
    static const char *const streaming_keys[] = {"fragments", "max_delay", NULL};
    for (size_t i = 0; scheme != PLAN_XDC_STREAMING && streaming_keys[i]; i++)
        if (ydoc_map_get(d, x, streaming_keys[i]))
            return ydoc_error(d, ydoc_map_get(d, x, streaming_keys[i]), st,
                              "key '%s': not used by scheme '%s'", streaming_keys[i],
                              xdc_names[scheme]);
    if (scheme == PLAN_XDC_STREAMING && c->inner_steps % c->fragments != 0)
        return ydoc_error(d, ydoc_map_get(d, x, "fragments"), st,
                          "key 'fragments': %lld fragments do not divide the %lld inner steps "
                          "(one fragment is synchronized every H / F steps)",
                          (long long)c->fragments, (long long)c->inner_steps);
    return SIM_OK;
}

/* The scheme against the parallelism and the sites; DiLoCo plans become one site's replica. */
static sim_code check_cross_dc(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    plan_cross_dc *c = &p->xdc;
    if (c->scheme == PLAN_XDC_NONE)
        return SIM_OK;
    ynode x = ydoc_map_get(d, root, "cross_dc"), at = ydoc_map_get(d, x, "scheme");
    size_t n = (size_t)c->sites, per = topo_site_chip_count(p->topo, 0);
    for (size_t s = 1; s < n; s++)
        if (topo_site_chip_count(p->topo, s) != per)
            return ydoc_error(d, at, st,
                              "key 'scheme': the sites of topology '%s' differ in size (%zu and "
                              "%zu chips); the schemes need equal sites", topo_name(p->topo), per,
                              topo_site_chip_count(p->topo, s));
    if ((size_t)p->ranks != per * n)
        return ydoc_error(d, at, st,
                          "key 'scheme': the job uses %lld chips, but a cross-datacenter job "
                          "uses all %zu chips of its %zu sites", (long long)p->ranks, per * n, n);
    int64_t sites = c->sites;
    if (c->scheme == PLAN_XDC_PIPELINE) {
        if (p->par.pp % sites != 0 || p->placement[3] != PLAN_PP)
            return ydoc_error(d, at, st,
                              "key 'scheme': 'pipeline' needs pp outermost in the placement and "
                              "a multiple of the %lld sites, found pp = %lld",
                              (long long)sites, (long long)p->par.pp);
        return SIM_OK;
    }
    if (p->par.dp % sites != 0)
        return ydoc_error(d, at, st,
                          "key 'scheme': '%s' needs dp to be a multiple of the %lld sites, "
                          "found dp = %lld", xdc_names[c->scheme], (long long)sites,
                          (long long)p->par.dp);
    if (c->scheme == PLAN_XDC_SYNC) {
        if (p->placement[3] != PLAN_DP)
            return ydoc_error(d, at, st,
                              "key 'scheme': 'sync' needs dp outermost in the placement, so "
                              "that every site holds the same data-parallel replicas");
        return SIM_OK;
    }
    /* DiLoCo: every site trains its own replica on its share of the batch. */
    if (p->placement[3] != PLAN_PP && p->placement[3] != PLAN_DP)
        return ydoc_error(d, at, st, "key 'scheme': the placement must keep each site's ranks "
                          "together (dp or pp outermost)");
    if (p->wl.global_batch % sites != 0)
        return ydoc_error(d, at, st,
                          "key 'scheme': the global batch of %lld sequences does not split over "
                          "the %lld sites", (long long)p->wl.global_batch, (long long)sites);
    c->total_ranks = p->ranks;
    c->site_ranks = p->ranks / sites;
    p->ranks = c->site_ranks;
    p->par.dp /= sites;
    p->wl.global_batch /= sites;
    int64_t size[4] = {p->par.tp, p->par.cp, p->par.dp, p->par.pp}, stride = 1;
    for (int i = 0; i < 4; i++) {
        p->stride[p->placement[i]] = stride;
        stride *= size[p->placement[i]];
    }
    p->stride[PLAN_EP] = p->stride[PLAN_DP];
    if (p->par.dp % p->par.ep != 0)
        return ydoc_error(d, at, st, "key 'scheme': ep = %lld does not divide a site's dp = %lld",
                          (long long)p->par.ep, (long long)p->par.dp);
    p->microbatches = p->wl.global_batch / (p->wl.micro_batch * p->par.dp);
    return SIM_OK;
}

static sim_code load_run(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    ynode run = ydoc_map_get(d, root, "run"), out = ydoc_map_get(d, root, "output");
    int64_t seed = 1;
    p->steps = 1;
    p->warmup_steps = 1;
    sim_code rc = SIM_OK;
    if (run) {
        rc = ydoc_check_keys(d, run, "run", run_keys, st);
        if (rc == SIM_OK)
            rc = ydoc_get_int(d, run, "steps", 0, 1, 1000000, &p->steps, st);
        if (rc == SIM_OK)
            rc = ydoc_get_int(d, run, "warmup", 0, 0, 1000000, &p->warmup_steps, st);
        if (rc == SIM_OK)
            rc = ydoc_get_int(d, run, "seed", 0, 0, INT64_MAX, &seed, st);
    }
    p->seed = (uint64_t)seed;
    if (rc == SIM_OK && out) {
        const char *db = NULL, *trace = NULL;
        rc = ydoc_check_keys(d, out, "output", out_keys, st);
        if (rc == SIM_OK)
            rc = ydoc_get_str(d, out, "db", 0, &db, st);
        if (rc == SIM_OK)
            rc = ydoc_get_str(d, out, "trace", 0, &trace, st);
        if (db)
            resolve(p->config_path, db, p->db_path, sizeof p->db_path);
        if (trace)
            resolve(p->config_path, trace, p->trace_path, sizeof p->trace_path);
    }
    return rc;
}

/* ---- templates ---- */

static plan_item coll_item(int coll, int dim, double bytes, int backward)
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

/* A collective over group (plan_group), reported under dim. */
static plan_item group_item(int coll, int dim, int group, double bytes, int backward)
{
    plan_item it = coll_item(coll, dim, bytes, backward);
    it.group = group;
    return it;
}

static plan_item op_item(const wl_op *op, int backward)
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
        push(t, group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_DP_CP, (shard - experts) * ab,
                           backward));
        if (experts > 0)
            push(t, group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_EXPERT_DP, experts * ab,
                               backward));
    }
    for (size_t i = 0; i < n; i++) {
        const wl_op *op = &ops[i];
        int fwd = !backward || op->recompute; /* a forward op, possibly recomputed */
        if (fwd) {
            if (tp && sp && (is(op, "qkv") || is(op, "mlp_up") || is(op, "router")))
                push(t, coll_item(PLAN_ALLGATHER, PLAN_TP, act, backward));
            if (cp && is(op, "attention"))
                push(t, coll_item(PLAN_ALLGATHER, PLAN_CP, kv, backward));
            if (ep && is(op, "moe_combine"))
                push(t, coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
            push(t, op_item(op, backward));
            if (tp && (is(op, "attn_proj") || is(op, "mlp_down") || is(op, "moe_combine")))
                push(t, coll_item(sp ? PLAN_REDUCE_SCATTER : PLAN_ALLREDUCE, PLAN_TP, act,
                                  backward));
            if (ep && is(op, "moe_dispatch"))
                push(t, coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
        } else {
            if (tp && sp && (is(op, "attn_proj") || is(op, "mlp_down") || is(op, "moe_combine")))
                push(t, coll_item(PLAN_ALLGATHER, PLAN_TP, act, backward));
            /* The weight gradient of a column-parallel GEMM needs its whole input, of which
             * only the sequence shard was kept: gathered again (Megatron-LM's
             * LinearWithGradAccumulationAndAsyncCommunication). */
            if (tp && sp && (is(op, "qkv") || is(op, "mlp_up") || is(op, "router")))
                push(t, coll_item(PLAN_ALLGATHER, PLAN_TP, act, backward));
            /* Ring attention's backward circulates K and V again. */
            if (cp && is(op, "attention"))
                push(t, coll_item(PLAN_ALLGATHER, PLAN_CP, kv, backward));
            if (ep && is(op, "moe_dispatch"))
                push(t, coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
            push(t, op_item(op, backward));
            if (tp && (is(op, "qkv") || is(op, "mlp_up") || is(op, "router")))
                push(t, coll_item(sp ? PLAN_REDUCE_SCATTER : PLAN_ALLREDUCE, PLAN_TP, act,
                                  backward));
            if (cp && is(op, "attention"))
                push(t, coll_item(PLAN_REDUCE_SCATTER, PLAN_CP, kv, backward));
            if (ep && is(op, "moe_combine"))
                push(t, coll_item(PLAN_ALLTOALL, PLAN_EP, a2a, backward));
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
            dst[(*n)++] = coll_item(coll_before, PLAN_TP, bytes, b);
        dst[(*n)++] = op_item(&ops[i], b);
        if (tp && after && is(&ops[i], after) && coll_after >= 0)
            dst[(*n)++] = coll_item(coll_after, PLAN_TP, bytes, b);
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

static void build_templates(plan_full *F)
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

sim_code plan_load(const char *path, const ydoc_override *ov, size_t n, plan **out,
                   sim_status *st)
{
    ydoc *d = NULL;
    plan_full *F = calloc(1, sizeof *F);
    plan *p = F ? &F->pub : NULL;
    const char *name = NULL;
    *out = NULL;
    if (!F)
        return sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
    snprintf(p->config_path, sizeof p->config_path, "%s", path);
    ydoc_override *own = malloc((n ? n : 1) * sizeof *own);
    size_t k = 0;
    for (size_t i = 0; own && i < n; i++)
        if (strncmp(ov[i].path, "topology.", 9) && strncmp(ov[i].path, "workload.", 9))
            own[k++] = ov[i];
    sim_code rc = own ? ydoc_load_file(path, &d, st)
                      : sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
    ynode root = d ? ydoc_root(d) : 0;
    if (rc == SIM_OK) {
        /* An inline workload takes its overrides in the config document. */
        ynode wv = ydoc_map_get(d, root, "workload");
        if (wv && ydoc_node_kind(d, wv) == YDOC_MAP)
            for (size_t i = 0; i < n; i++)
                if (!strncmp(ov[i].path, "workload.", 9))
                    own[k++] = ov[i];
        rc = ydoc_apply(d, own, k, st);
    }
    if (rc == SIM_OK)
        rc = ydoc_expect(d, root, YDOC_MAP, NULL, st);
    if (rc == SIM_OK)
        rc = ydoc_check_keys(d, root, "the document", top_keys, st);
    if (rc == SIM_OK)
        rc = ydoc_get_str(d, root, "name", 1, &name, st);
    if (rc == SIM_OK) {
        snprintf(p->name, sizeof p->name, "%s", name);
        rc = load_topology(p, d, root, ov, n, st);
    }
    if (rc == SIM_OK)
        rc = load_workload(p, d, root, ov, n, st);
    if (rc == SIM_OK)
        rc = load_scale(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_cross_dc(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_parallelism(p, d, root, st);
    if (rc == SIM_OK)
        rc = check_cross_dc(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_run(p, d, root, st);
    if (rc == SIM_OK) {
        F->stage_param_bytes = calloc((size_t)p->par.pp, sizeof *F->stage_param_bytes);
        F->stage_expert_bytes = calloc((size_t)p->par.pp, sizeof *F->stage_expert_bytes);
        if (!F->stage_param_bytes || !F->stage_expert_bytes)
            rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    if (rc == SIM_OK)
        build_templates(F);
    free(own);
    ydoc_destroy(d);
    if (rc != SIM_OK) {
        plan_destroy(p);
        return rc;
    }
    *out = p;
    return SIM_OK;
}

void plan_destroy(plan *p)
{
    if (!p)
        return;
    topo_destroy(p->topo);
    free(((plan_full *)(void *)p)->stage_param_bytes);
    free(((plan_full *)(void *)p)->stage_expert_bytes);
    free(p); /* the plan is the first member of its plan_full */
}

/* ---- placement ---- */

double plan_rank_params(const plan *p, int64_t rank)
{
    return full(p)->stage_param_bytes[plan_coord(p, rank, PLAN_PP)] / 2.0;
}

int64_t plan_dim_size(const plan *p, int dim)
{
    switch (dim) {
    case PLAN_TP: return p->par.tp;
    case PLAN_CP: return p->par.cp;
    case PLAN_DP: return p->par.dp;
    case PLAN_PP: return p->par.pp;
    case PLAN_EP: return p->par.ep;
    default: return 1;
    }
}

int64_t plan_coord(const plan *p, int64_t rank, int dim)
{
    if (dim == PLAN_EP)
        return plan_coord(p, rank, PLAN_DP) % p->par.ep;
    return rank / p->stride[dim] % plan_dim_size(p, dim);
}

int64_t plan_group_member(const plan *p, int64_t rank, int dim, int64_t i)
{
    return rank + (i - plan_coord(p, rank, dim)) * p->stride[dim];
}

int64_t plan_group_id(const plan *p, int64_t rank, int dim)
{
    return plan_group_member(p, rank, dim, 0);
}

int plan_slot(int dim, int group)
{
    return group == PLAN_GROUP_DIM ? dim : PLAN_DIM_COUNT + group - 1;
}

int64_t plan_slot_size(const plan *p, int slot)
{
    if (slot < PLAN_DIM_COUNT)
        return plan_dim_size(p, slot);
    switch (slot - PLAN_DIM_COUNT + 1) {
    case PLAN_GROUP_DP_CP: return p->par.dp * p->par.cp;
    case PLAN_GROUP_EXPERT_DP: return p->par.dp / p->par.ep * p->par.cp;
    case PLAN_GROUP_EMBEDDING: return p->par.pp > 1 ? 2 : 1;
    default: return 1;
    }
}

int64_t plan_slot_member(const plan *p, int64_t rank, int slot, int64_t i)
{
    if (slot < PLAN_DIM_COUNT)
        return plan_group_member(p, rank, slot, i);
    int64_t cp = p->par.cp, ep = p->par.ep;
    /* rank moved to cp index ci and dp index di, its other coordinates kept */
    int64_t ci = i % cp, j = i / cp, di;
    switch (slot - PLAN_DIM_COUNT + 1) {
    case PLAN_GROUP_DP_CP:
        di = j;
        break;
    case PLAN_GROUP_EXPERT_DP:
        di = plan_coord(p, rank, PLAN_DP) % ep + j * ep;
        break;
    case PLAN_GROUP_EMBEDDING:
        return plan_group_member(p, rank, PLAN_PP, i == 0 ? 0 : p->par.pp - 1);
    default:
        return rank;
    }
    return rank + (ci - plan_coord(p, rank, PLAN_CP)) * p->stride[PLAN_CP] +
           (di - plan_coord(p, rank, PLAN_DP)) * p->stride[PLAN_DP];
}

int64_t plan_slot_id(const plan *p, int64_t rank, int slot)
{
    return plan_slot_member(p, rank, slot, 0);
}

/* ---- programs ---- */

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
        items[n++] = group_item(coll, PLAN_DP, PLAN_GROUP_DP_CP, bytes, 1);
    if (expert_bytes > 0 && plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_EXPERT_DP)) > 1)
        items[n++] = group_item(coll, PLAN_DP, PLAN_GROUP_EXPERT_DP, expert_bytes, 1);
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
    const plan_full *F = full(p);
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
                *out = group_item(PLAN_ALLREDUCE, PLAN_PP, PLAN_GROUP_EMBEDDING,
                                  F->emb_sync_bytes, 1);
                return 1;
            }
            break;
        case 2: {
            wl_op op;
            wl_optimizer_op(&p->wl, &p->par, c->stage, &op);
            *out = op_item(&op, 0);
            return 1;
        }
        case 3:
            if (gather && plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_DP_CP)) > 1) {
                *out = group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_DP_CP,
                                  F->stage_param_bytes[c->stage] - experts, 0);
                out->async = async;
                return 1;
            }
            break;
        case 4:
            if (gather && experts > 0 &&
                plan_slot_size(p, plan_slot(PLAN_DP, PLAN_GROUP_EXPERT_DP)) > 1) {
                *out = group_item(PLAN_ALLGATHER, PLAN_DP, PLAN_GROUP_EXPERT_DP, experts, 0);
                out->async = async;
                return 1;
            }
            break;
        default:
            return 0;
        }
    }
}

/* ---- totals ---- */

sim_code plan_totals_compute(const plan *p, plan_totals *o, sim_status *st)
{
    memset(o, 0, sizeof *o);
    wl_params pc;
    wl_params_count(&p->wl, &pc);
    o->params = pc.total;
    o->model_flops = wl_model_flops_per_step(&p->wl);
    o->hardware_flops = wl_hardware_flops_per_step(&p->wl, &p->par);
    o->tokens = wl_tokens_per_step(&p->wl);
    sim_code rc = wl_memory_per_rank(&p->wl, &p->par, &o->memory, st);
    if (rc != SIM_OK)
        return rc;
    const hw_chip *chip = topo_chip_hw(p->topo, 0);
    o->hbm_bytes = chip ? chip->hbm_bytes : 0;
    o->fits = !chip || o->memory.total <= o->hbm_bytes;
    o->bubble_fraction = wl_bubble_fraction(p->par.pp, p->microbatches, p->par.vp);
    /* Traffic of the first rank of the last stage (it holds the head and the most passes'
     * worth of sends as well as receives). */
    plan_cursor c;
    plan_item it;
    int64_t rank = plan_group_member(p, 0, PLAN_PP, p->par.pp - 1);
    plan_prog_begin(p, rank, &c);
    while (plan_prog_next(p, &c, &it)) {
        o->items_per_rank += 1;
        if (it.kind == PLAN_ITEM_COLL && plan_slot_size(p, plan_slot(it.dim, it.group)) > 1)
            o->bytes_per_dim[it.dim] += it.bytes;
        else if (it.kind == PLAN_ITEM_SEND || it.kind == PLAN_ITEM_RECV)
            o->bytes_per_dim[PLAN_PP] += it.kind == PLAN_ITEM_SEND ? it.bytes : 0;
    }
    return SIM_OK;
}
