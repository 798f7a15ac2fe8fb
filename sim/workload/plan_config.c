/*
 * plan_config.c: an experiment config read into a plan (see plan.h for the file format):
 * the config document with its overrides, the topology and workload it names, the what-if
 * scale, the cross-datacenter scheme, the parallelism checked against all of them, the run
 * and output sections; then the layer templates (plan_tmpl.c) built once for every rank.
 *
 * Sections are read in a fixed order (topology, workload, scale, cross_dc, parallelism, the
 * cross-datacenter checks, run, stragglers), each one's keys checked before its values are read, so
 * the first mistake reported for a config is always the same one. cross_dc comes before the
 * parallelism because it sets the default placement; the DiLoCo schemes then shrink the
 * plan to one site's replica (check_cross_dc).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "core/path.h"
#include "topo/topo.h"
#include "workload/plan_int.h"

static const char *const top_keys[] = {"name",   "topology", "workload", "parallelism", "run",
                                       "output", "cross_dc", "scale",    "sweep", "stragglers",
                                       "reliability", NULL};
static const char *const reliability_keys[] = {
    "tokens", "steps", "save_interval", "async_save", "detect", "restart", "warmup",
    "spare_nodes", "dual_homed", "seeds", "step_time", "degraded_replays", NULL};
static const char *const straggler_keys[] = {"slow", "fraction", "slowdown", "sigma", NULL};
static const char *const scale_keys[] = {"flops",        "hbm_bw", "scale_up_bw",
                                         "scale_out_bw", "wan_bw", "latency",     NULL};
static const char *const xdc_keys[] = {"scheme", "inner_steps", "payload", "fragments",
                                       "max_delay", "replay", "outer_update", "site_batch",
                                       "max_staleness", "round_jitter", "rounds", "regions",
                                       NULL};
static const char *const replay_names[] = {"shortcut", "full", "composed", NULL};
static const char *const outer_update_names[] = {"blocking", "delayed", "eager", "async",
                                                 NULL};
static const char *const xdc_names[] = {"none", "sync", "pipeline", "diloco",
                                        "streaming-diloco", NULL};
static const char *const payload_names[] = {"fp32", "bf16", "int8", "fp4", NULL};
static const char *const par_keys[] = {
    "tp", "pp", "dp", "cp", "ep", "chips", "virtual_stages", "schedule", "zero", "fsdp",
    "sequence_parallel", "recompute", "placement", "micro_batch", "global_batch",
    "tp_comm_overlap", "overlap_param_gather", "first_stage_layers", "last_stage_layers",
    /* plan_sched.c's */
    "decoder_first_pipeline_num_layers", "decoder_last_pipeline_num_layers",
    "pipeline_model_parallel_layout", "microbatch_group_size_per_virtual_pipeline_stage",
    "reshard_after_forward", "fsdp_shard_size", "overlap_grad_reduce", "cp_comm_type", NULL};
static const char *const cp_comm_names[] = {"p2p", "all_gather", NULL};
static const char *const run_keys[] = {"steps", "warmup", "seed", "alltoall", NULL};
static const char *const alltoall_names[] = {"coupled", "direct", NULL};
static const char *const out_keys[] = {"db", "trace", NULL};
static const char *const sched_names[] = {"gpipe", "1f1b", "interleaved", NULL};
static const char *const recompute_names[] = {"none", "selective", "full", NULL};

const char *plan_xdc_name(plan_xdc scheme)
{
    return (int)scheme >= 0 && scheme <= PLAN_XDC_STREAMING ? xdc_names[scheme] : "?";
}

const char *plan_payload_name(plan_payload payload)
{
    return (int)payload >= 0 && payload <= PLAN_PAYLOAD_FP4 ? payload_names[payload] : "?";
}

const char *plan_xdc_replay_name(plan_xdc_replay replay)
{
    return (int)replay >= 0 && replay <= PLAN_REPLAY_COMPOSED ? replay_names[replay] : "?";
}

const char *plan_outer_update_name(plan_outer_update u)
{
    return (int)u >= 0 && u <= PLAN_OUTER_ASYNC ? outer_update_names[u] : "?";
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

/* Error at parallelism.key when written there, else at the parallelism mapping; with
 * name_key the message starts "key 'KEY': ". */
static sim_code par_verr(const ydoc *d, ynode par, const char *key, bool name_key,
                         sim_status *st, const char *fmt, va_list ap)
{
    char msg[SIM_STATUS_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    ynode at = ydoc_map_get(d, par, key);
    return name_key ? ydoc_error(d, at ? at : par, st, "key '%s': %s", key, msg)
                    : ydoc_error(d, at ? at : par, st, "%s", msg);
}

static sim_code par_err(const ydoc *d, ynode par, const char *key, sim_status *st,
                        const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static sim_code par_err(const ydoc *d, ynode par, const char *key, sim_status *st,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_code rc = par_verr(d, par, key, false, st, fmt, ap);
    va_end(ap);
    return rc;
}

sim_code plan__key_err(const ydoc *d, ynode par, const char *key, sim_status *st,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_code rc = par_verr(d, par, key, true, st, fmt, ap);
    va_end(ap);
    return rc;
}

static sim_code load_placement(plan *p, const ydoc *d, ynode par, sim_status *st)
{
    static const plan_dim def[4] = {PLAN_TP, PLAN_CP, PLAN_DP, PLAN_PP};
    static const plan_dim dp_out[4] = {PLAN_TP, PLAN_CP, PLAN_PP, PLAN_DP};
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
            if (!strcmp(s, plan_dim_name((plan_dim)j)))
                k = j;
        if (k < 0 || seen[k]) {
            ydoc_describe(d, item, found, sizeof found);
            return ydoc_error(d, item, st,
                              "key 'placement': expected each of tp, cp, dp and pp once, "
                              "found %s%s", found, k >= 0 ? " twice" : "");
        }
        seen[k] = 1;
        p->placement[i] = (plan_dim)k;
    }
    return SIM_OK;
}

/*
 * The rank distance between neighbours of each dimension, from the placement (innermost
 * first) and the degrees; EP shares DP's.
 */
static void set_strides(plan *p)
{
    int64_t size[4] = {p->par.tp, p->par.cp, p->par.dp, p->par.pp}, stride = 1;
    for (int i = 0; i < 4; i++) {
        p->stride[p->placement[i]] = stride;
        stride *= size[p->placement[i]];
    }
    p->stride[PLAN_EP] = p->stride[PLAN_DP];
}

/*
 * Reads the keys of the parallelism mapping par into p->par, p->placement and the TP
 * overlap flags, and the batch overrides into p->wl; *chips and *dp are set only when
 * written (the caller's defaults: every chip, 0 = derived from the chips).
 */
static sim_code read_parallelism(plan *p, const ydoc *d, ynode par, int64_t *chips,
                                 int64_t *dp, sim_status *st)
{
    wl_parallel *w = &p->par;
    int64_t zero = 0, mb = 0, gb = 0;
    int sp = 0, overlap = 0, gather = 0, sched_kind = WL_SCHED_1F1B,
        rec = WL_RECOMPUTE_NONE;
    int64_t lim = INT32_MAX;
    sim_code rc = ydoc_get_int(d, par, "tp", 0, 1, lim, &w->tp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "pp", 0, 1, lim, &w->pp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "cp", 0, 1, lim, &w->cp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "ep", 0, 1, lim, &w->ep, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "dp", 0, 1, lim, dp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "chips", 0, 1, lim, chips, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "virtual_stages", 0, 1, 1024, &w->vp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, par, "schedule", 0, "schedule", sched_names, &sched_kind, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "zero", 0, 0, 3, &zero, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "sequence_parallel", 0, &sp, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "tp_comm_overlap", 0, &overlap, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "overlap_param_gather", 0, &gather, st);
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
    rc = plan_sched_read(p, d, par, st);
    if (rc != SIM_OK)
        return rc;
    w->sequence_parallel = sp;
    p->tp_comm_overlap = overlap;
    p->overlap_param_gather = gather;
    if (mb)
        p->wl.micro_batch = mb;
    if (gb)
        p->wl.global_batch = gb;
    return SIM_OK;
}

/*
 * overlap_grad_reduce, whose default is the ecosystem's: off as in Megatron-LM
 * (DistributedDataParallelConfig.overlap_grad_reduce = False, --overlap-grad-reduce), on
 * with fsdp (PyTorch FSDP reduce-scatters in its backward hooks and has no switch).
 * Megatron-LM refuses --overlap-param-gather without --overlap-grad-reduce
 * (megatron/training/arguments.py); so does this.
 */
static sim_code read_grad_overlap(plan *p, const ydoc *d, ynode par, sim_status *st)
{
    int on = p->par.fsdp;
    sim_code rc = ydoc_get_bool(d, par, "overlap_grad_reduce", 0, &on, st);
    if (rc != SIM_OK)
        return rc;
    p->overlap_grad_reduce = on;
    if (p->overlap_param_gather && !on)
        return par_err(d, par, "overlap_param_gather", st,
                       "key 'overlap_param_gather': overlapping the parameter gather needs "
                       "overlap_grad_reduce: true (as Megatron-LM's --overlap-param-gather "
                       "needs --overlap-grad-reduce), found overlap_grad_reduce: false");
    return SIM_OK;
}

/* The degrees against the chips used: dp derived from them when not given. */
static sim_code check_chips(plan *p, const ydoc *d, ynode par, int64_t chips, int64_t dp,
                            sim_status *st)
{
    wl_parallel *w = &p->par;
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
    return SIM_OK;
}

/* The degrees against the model, the batch and each other; sets p->microbatches. */
static sim_code check_fit(plan *p, const ydoc *d, ynode par, sim_status *st)
{
    const wl_parallel *w = &p->par;
    int64_t dp = w->dp;
    bool sp = w->sequence_parallel;
    const wl_workload *wl = &p->wl;
    if (wl->heads % w->tp != 0 || wl->kv_heads % w->tp != 0)
        return par_err(d, par, "tp", st,
                       "key 'tp': %lld does not divide the model's %lld heads and %lld kv heads",
                       (long long)w->tp, (long long)wl->heads, (long long)wl->kv_heads);
    if (!w->first_stage_layers && !w->last_stage_layers && !w->layout_n &&
        wl->layers % (w->pp * w->vp) != 0)
        return par_err(d, par, w->vp > 1 ? "virtual_stages" : "pp", st,
                       "pp x virtual_stages = %lld x %lld does not divide the model's %lld "
                       "layers", (long long)w->pp, (long long)w->vp, (long long)wl->layers);
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
    /* Uneven stages, the interleaved schedule's micro-batch groups, FSDP (plan_sched.c) */
    sim_code rc = plan_sched_check(p, d, par, st);
    if (rc != SIM_OK)
        return rc;
    /* The model's own checks, as a backstop, located at the parallelism mapping. */
    sim_status ws;
    if (wl_parallel_check(wl, w, &ws) != SIM_OK)
        return ydoc_error(d, par, st, "%s", ws.msg);
    return SIM_OK;
}

static sim_code load_parallelism(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    ynode par = ydoc_map_get(d, root, "parallelism");
    wl_parallel_default(&p->par);
    if (!par)
        return ydoc_error(d, root, st,
                          "missing key 'parallelism' in the document: expected a mapping "
                          "such as {tp: 8, pp: 1}");
    sim_code rc = ydoc_expect(d, par, YDOC_MAP, "parallelism", st);
    if (rc == SIM_OK)
        rc = ydoc_check_keys(d, par, "parallelism", par_keys, st);
    int64_t chips = (int64_t)topo_chip_count(p->topo), dp = 0;
    if (rc == SIM_OK)
        rc = read_parallelism(p, d, par, &chips, &dp, st);
    int cp_comm = PLAN_CP_P2P;
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, par, "cp_comm_type", 0, "CP communication type", cp_comm_names,
                           &cp_comm, st);
    p->cp_comm = (plan_cp_comm)cp_comm;
    if (rc == SIM_OK)
        rc = read_grad_overlap(p, d, par, st);
    if (rc == SIM_OK)
        rc = check_chips(p, d, par, chips, dp, st);
    if (rc == SIM_OK) {
        set_strides(p); /* the groups plan_sched_check looks at */
        rc = check_fit(p, d, par, st);
    }
    if (rc != SIM_OK)
        return rc;
    p->ranks = chips;
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

/* Chip c's name is name, or lies under it ("west" holds "west/n3/c2", "west/n3" too). */
static bool name_holds(const char *name, const char *chip)
{
    size_t n = strlen(name);
    return strncmp(chip, name, n) == 0 && (chip[n] == 0 || chip[n] == '/');
}

/*
 * stragglers: chips whose every op takes longer by a factor. `slow` names sites, nodes or
 * chips (SITE, SITE/nN, SITE/nN/cK) with their factors (several that hold a chip multiply);
 * `fraction` of all chips, drawn with run.seed (GSL's MT19937, gsl_ran_choose), take
 * `slowdown`, or with `sigma` a lognormal factor of median `slowdown` (gsl_ran_lognormal),
 * never below 1. The named factors and the law are kept (p->slow_named, p->strag_*) so that
 * plan_draw_slowdown can draw the fraction again for another seed; p->slowdown is its draw
 * for run.seed.
 */
static sim_code load_stragglers(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    ynode x;
    sim_code rc = ydoc_get_section(d, root, "stragglers", 0, straggler_keys, &x, st);
    if (rc != SIM_OK || !x)
        return rc;
    double fraction = 0, slowdown = 1, sigma = 0;
    rc = ydoc_get_double(d, x, "fraction", 0, &fraction, st);
    if (rc == SIM_OK && !(fraction >= 0 && fraction <= 1))
        rc = ydoc_error(d, ydoc_map_get(d, x, "fraction"), st,
                        "key 'fraction': expected a fraction of the chips from 0 to 1, found %g",
                        fraction);
    if (rc == SIM_OK)
        rc = ydoc_get_double(d, x, "slowdown", 0, &slowdown, st);
    if (rc == SIM_OK && !(slowdown >= 1 && slowdown <= 1000))
        rc = ydoc_error(d, ydoc_map_get(d, x, "slowdown"), st,
                        "key 'slowdown': expected a factor from 1 to 1000 (1: as fast as the "
                        "rest), found %g", slowdown);
    if (rc == SIM_OK)
        rc = ydoc_get_double(d, x, "sigma", 0, &sigma, st);
    if (rc == SIM_OK && !(sigma >= 0 && sigma <= 10))
        rc = ydoc_error(d, ydoc_map_get(d, x, "sigma"), st,
                        "key 'sigma': expected the lognormal spread of the factor from 0 to 10, "
                        "found %g", sigma);
    ynode slow = ydoc_map_get(d, x, "slow");
    if (rc == SIM_OK && slow)
        rc = ydoc_expect(d, slow, YDOC_MAP, "slow", st);
    if (rc != SIM_OK)
        return rc;
    const net_graph *g = topo_graph(p->topo);
    size_t n = topo_chip_count(p->topo);
    p->slow_named = malloc((n ? n : 1) * sizeof *p->slow_named);
    p->slowdown = malloc((n ? n : 1) * sizeof *p->slowdown);
    if (!p->slow_named || !p->slowdown)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t c = 0; c < n; c++)
        p->slow_named[c] = 1;
    for (size_t i = 0; slow && i < ydoc_map_len(d, slow); i++) {
        ynode k = ydoc_map_key_at(d, slow, i);
        const char *name = ydoc_scalar(d, k);
        double f = 0;
        rc = ydoc_get_double(d, slow, name, 1, &f, st);
        if (rc == SIM_OK && !(f >= 1 && f <= 1000))
            rc = ydoc_error(d, ydoc_map_value_at(d, slow, i), st,
                            "key '%s': expected a factor from 1 to 1000 (1: as fast as the "
                            "rest), found %g", name, f);
        if (rc != SIM_OK)
            return rc;
        size_t held = 0;
        for (size_t c = 0; c < n; c++)
            if (name_holds(name, net_graph_node_name(g, (net_node_id)c))) {
                p->slow_named[c] *= f;
                held++;
            }
        if (!held)
            return ydoc_error(d, k, st,
                              "key '%s': expected a site, node or chip of topology '%s' (SITE, "
                              "SITE/nN or SITE/nN/cK, such as '%s'), found none so named", name,
                              topo_name(p->topo), n ? net_graph_node_name(g, 0) : "?");
    }
    p->strag_fraction = fraction;
    p->strag_slowdown = slowdown;
    p->strag_sigma = sigma;
    return plan_draw_slowdown(p, p->seed, p->slowdown, st);
}

/* A count such as 15.6T, 405B, 2.5e12: a number, then optionally K, M, B or T (10^3 to
 * 10^12). -1 when the text is none. */
static double parse_count(const char *v)
{
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || !(x >= 0) || !(x < INFINITY))
        return -1;
    static const struct { char c; double f; } sfx[] = {
        {'K', 1e3}, {'M', 1e6}, {'B', 1e9}, {'G', 1e9}, {'T', 1e12}};
    if (*end == ' ')
        end++;
    if (*end) {
        size_t i = 0;
        while (i < sizeof sfx / sizeof sfx[0] && sfx[i].c != *end)
            i++;
        if (i == sizeof sfx / sizeof sfx[0] || end[1])
            return -1;
        x *= sfx[i].f;
    }
    return x;
}

/* An optional duration (above 0) of at most hi seconds. */
static sim_code get_duration_in(const ydoc *d, ynode x, const char *key, double hi,
                                double *out, sim_status *st)
{
    sim_code rc = ydoc_get_duration(d, x, key, 0, out, st);
    if (rc == SIM_OK && !(*out <= hi))
        rc = ydoc_error(d, ydoc_map_get(d, x, key), st,
                        "key '%s': expected a duration up to %g days, found %g s", key,
                        hi / 86400, *out);
    return rc;
}

/* reliability: see plan.h (plan_reliability). */
static sim_code load_reliability(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    plan_reliability *r = &p->rel;
    *r = (plan_reliability){.detect_s = 120, .restart_s = 480, .warmup_s = 120,
                            .spare_nodes = -1, .seeds = 100, .degraded_replays = true};
    ynode x;
    sim_code rc = ydoc_get_section(d, root, "reliability", 0, reliability_keys, &x, st);
    if (rc != SIM_OK || !x)
        return rc;
    r->present = true;
    ynode tk = ydoc_map_get(d, x, "tokens"), sk = ydoc_map_get(d, x, "steps");
    if (tk && sk)
        return ydoc_error(d, sk, st, "key 'steps': expected either tokens or steps, found both");
    if (tk) {
        const char *v = NULL;
        rc = ydoc_get_str(d, x, "tokens", 1, &v, st);
        if (rc != SIM_OK)
            return rc;
        r->tokens = parse_count(v);
        if (!(r->tokens >= 1 && r->tokens <= 1e18))
            return ydoc_error(d, tk, st,
                              "key 'tokens': expected a count of tokens such as '15.6T' or "
                              "'2e12' (K, M, B, T: 10^3 to 10^12), found '%s'", v);
    }
    rc = ydoc_get_int(d, x, "steps", 0, 1, INT64_C(1000000000000), &r->steps, st);
    ynode si = ydoc_map_get(d, x, "save_interval");
    if (rc == SIM_OK && si) {
        const char *v = ydoc_scalar(d, si);
        if (!v || strcmp(v, "auto") != 0)
            rc = ydoc_get_int(d, x, "save_interval", 1, 1, INT64_C(1000000000000),
                              &r->save_interval, st);
        if (rc != SIM_OK && st->code == SIM_ERR_INPUT)
            rc = ydoc_error(d, si, st,
                            "key 'save_interval': expected steps between checkpoints (an "
                            "integer from 1) or 'auto' (Daly's optimum), found '%s'",
                            v ? v : "a collection");
    }
    int b = 0;
    if (rc == SIM_OK && (rc = ydoc_get_bool(d, x, "async_save", 0, &b, st)) == SIM_OK)
        r->async_save = b;
    b = 0;
    if (rc == SIM_OK && (rc = ydoc_get_bool(d, x, "dual_homed", 0, &b, st)) == SIM_OK)
        r->dual_homed = b;
    b = 1;
    if (rc == SIM_OK && (rc = ydoc_get_bool(d, x, "degraded_replays", 0, &b, st)) == SIM_OK)
        r->degraded_replays = b;
    if (rc == SIM_OK)
        rc = get_duration_in(d, x, "detect", 30 * 86400.0, &r->detect_s, st);
    if (rc == SIM_OK)
        rc = get_duration_in(d, x, "restart", 30 * 86400.0, &r->restart_s, st);
    if (rc == SIM_OK)
        rc = get_duration_in(d, x, "warmup", 30 * 86400.0, &r->warmup_s, st);
    if (rc == SIM_OK)
        rc = get_duration_in(d, x, "step_time", 86400.0, &r->step_time_s, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "spare_nodes", 0, 0, INT64_C(100000000), &r->spare_nodes, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "seeds", 0, 1, PLAN_REL_MAX_SEEDS, &r->seeds, st);
    return rc;
}

sim_code plan_draw_slowdown(const plan *p, uint64_t seed, double *out, sim_status *st)
{
    size_t n = topo_chip_count(p->topo);
    for (size_t c = 0; c < n; c++)
        out[c] = p->slow_named ? p->slow_named[c] : 1;
    if (!p->slow_named)
        return SIM_OK;
    double slowdown = p->strag_slowdown, sigma = p->strag_sigma;
    size_t k = (size_t)llround(p->strag_fraction * (double)n);
    if (k == 0 || !(slowdown > 1 || sigma > 0))
        return SIM_OK;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    size_t *all = malloc(n * sizeof *all), *pick = malloc(k * sizeof *pick);
    sim_code rc = r && all && pick ? SIM_OK
                                   : sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (rc == SIM_OK) {
        gsl_rng_set(r, (unsigned long)seed);
        for (size_t c = 0; c < n; c++)
            all[c] = c;
        gsl_ran_choose(r, pick, k, all, n, sizeof *all);
        for (size_t i = 0; i < k; i++) {
            double f = sigma > 0 ? slowdown * gsl_ran_lognormal(r, 0, sigma) : slowdown;
            out[pick[i]] *= f > 1 ? f : 1;
        }
    }
    gsl_rng_free(r);
    free(all);
    free(pick);
    return rc;
}

/*
 * cross_dc.site_batch: the sequences each site trains on per inner step, by site name, every
 * site named (DiLoCo; check_cross_dc checks the sum and the split into micro-batches).
 */
static sim_code load_site_batch(plan *p, const ydoc *d, ynode x, sim_status *st)
{
    ynode b = ydoc_map_get(d, x, "site_batch");
    if (!b)
        return SIM_OK;
    sim_code rc = ydoc_expect(d, b, YDOC_MAP, "site_batch", st);
    if (rc != SIM_OK)
        return rc;
    size_t n = topo_site_count(p->topo);
    p->site_batch = calloc(n, sizeof *p->site_batch);
    if (!p->site_batch)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < ydoc_map_len(d, b); i++) {
        const char *name = ydoc_scalar(d, ydoc_map_key_at(d, b, i));
        size_t s = 0;
        while (s < n && strcmp(topo_site_name(p->topo, s), name) != 0)
            s++;
        if (s == n) {
            char names[256] = "";
            for (size_t k = 0, at = 0; k < n && at < sizeof names; k++)
                at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", k ? ", " : "",
                                       topo_site_name(p->topo, k));
            return ydoc_error(d, ydoc_map_key_at(d, b, i), st,
                              "key '%s': expected a site of topology '%s' (%s), found '%s'",
                              name, topo_name(p->topo), names, name);
        }
        rc = ydoc_get_int(d, b, name, 1, 1, INT64_MAX / 2, &p->site_batch[s], st);
        if (rc != SIM_OK)
            return rc;
    }
    for (size_t s = 0; s < n; s++)
        if (!p->site_batch[s])
            return ydoc_error(d, b, st,
                              "key 'site_batch': expected every site's batch, found none for "
                              "site '%s'", topo_site_name(p->topo, s));
    return SIM_OK;
}

/*
 * cross_dc.regions: {REGION: [SITE, ...], ...}, every site in one region, a region's sites
 * consecutive in the topology's order and the regions in that order: each region trains one
 * replica, synchronously over its sites, and DiLoCo runs across the regions.
 */
static sim_code load_regions(plan *p, const ydoc *d, ynode x, sim_status *st)
{
    ynode r = ydoc_map_get(d, x, "regions");
    if (!r)
        return SIM_OK;
    if (p->xdc.scheme != PLAN_XDC_DILOCO && p->xdc.scheme != PLAN_XDC_STREAMING)
        return ydoc_error(d, r, st, "key 'regions': not used by scheme '%s' (regions train "
                          "DiLoCo replicas)", xdc_names[p->xdc.scheme]);
    sim_code rc = ydoc_expect(d, r, YDOC_MAP, "regions", st);
    if (rc != SIM_OK)
        return rc;
    size_t n = ydoc_map_len(d, r), sites = topo_site_count(p->topo), next = 0;
    if (n < 2)
        return ydoc_error(d, r, st, "key 'regions': expected two regions or more (DiLoCo runs "
                          "across them), found %zu", n);
    p->region_first = calloc(n + 1, sizeof *p->region_first);
    p->region_name = calloc(n, sizeof *p->region_name);
    if (!p->region_first || !p->region_name)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = ydoc_scalar(d, ydoc_map_key_at(d, r, i));
        ynode v = ydoc_map_value_at(d, r, i);
        snprintf(p->region_name[i], sizeof p->region_name[i], "%s", name);
        p->region_first[i] = (int64_t)next;
        rc = ydoc_expect(d, v, YDOC_SEQ, name, st);
        if (rc == SIM_OK && ydoc_seq_len(d, v) == 0)
            rc = ydoc_error(d, v, st, "key '%s': expected the region's sites, found none",
                            name);
        for (size_t k = 0; rc == SIM_OK && k < ydoc_seq_len(d, v); k++, next++) {
            ynode e = ydoc_seq_at(d, v, k);
            const char *site = ydoc_scalar(d, e);
            if (next >= sites || !site || strcmp(site, topo_site_name(p->topo, next)) != 0)
                rc = ydoc_error(d, e, st,
                                "key '%s': expected %s%s%s (a region's sites consecutive, the "
                                "regions in the order of the topology's sites), found '%s'",
                                name, next < sites ? "site '" : "no more sites",
                                next < sites ? topo_site_name(p->topo, next) : "",
                                next < sites ? "'" : "", site ? site : "?");
        }
        if (rc != SIM_OK)
            return rc;
    }
    if (next < sites)
        return ydoc_error(d, r, st, "key 'regions': site '%s' is in no region (every site is "
                          "in one)", topo_site_name(p->topo, next));
    p->region_first[n] = (int64_t)next;
    p->xdc.replicas = (int64_t)n;
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
    int scheme = PLAN_XDC_NONE, payload = PLAN_PAYLOAD_FP32, replay = PLAN_REPLAY_SHORTCUT;
    int update = PLAN_OUTER_BLOCKING;
    rc = ydoc_get_enum(d, x, "scheme", 1, "cross-datacenter scheme", xdc_names, &scheme, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "inner_steps", 0, 1, 1000000, &c->inner_steps, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, x, "payload", 0, "payload type", payload_names, &payload, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "fragments", 0, 1, 1000000, &c->fragments, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, x, "replay", 0, "round replay", replay_names, &replay, st);
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, x, "outer_update", 0, "outer update", outer_update_names, &update,
                           st);
    if (rc != SIM_OK)
        return rc;
    c->outer_update = (plan_outer_update)update;
    c->scheme = (plan_xdc)scheme;
    c->payload = (plan_payload)payload;
    c->replay = (plan_xdc_replay)replay;
    c->max_delay = c->inner_steps / c->fragments;
    rc = ydoc_get_int(d, x, "max_delay", 0, 0, 1000000, &c->max_delay, st);
    c->max_staleness = 1;
    c->rounds = 100;
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "max_staleness", 0, 0, 1000000, &c->max_staleness, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, x, "rounds", 0, 1, 100000, &c->rounds, st);
    if (rc == SIM_OK)
        rc = ydoc_get_double(d, x, "round_jitter", 0, &c->round_jitter, st);
    if (rc == SIM_OK && !(c->round_jitter >= 0 && c->round_jitter <= 2))
        rc = ydoc_error(d, ydoc_map_get(d, x, "round_jitter"), st,
                        "key 'round_jitter': expected the lognormal spread of a site's round "
                        "from 0 to 2, found %g", c->round_jitter);
    if (rc != SIM_OK)
        return rc;
    static const double bytes[] = {4, 2, 1, 0.5};
    c->payload_bytes = bytes[c->payload];
    rc = load_site_batch(p, d, x, st);
    c->replicas = c->sites;
    if (rc == SIM_OK)
        rc = load_regions(p, d, x, st);
    if (rc != SIM_OK)
        return rc;
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
    if (!diloco && ydoc_map_get(d, x, "replay"))
        return ydoc_error(d, ydoc_map_get(d, x, "replay"), st,
                          "key 'replay': not used by scheme '%s'", xdc_names[scheme]);
    if (scheme != PLAN_XDC_DILOCO && ydoc_map_get(d, x, "outer_update"))
        return ydoc_error(d, ydoc_map_get(d, x, "outer_update"), st,
                          "key 'outer_update': not used by scheme '%s' (only diloco's outer "
                          "gradients can be applied a round late)", xdc_names[scheme]);
    static const char *const async_keys[] = {"max_staleness", "round_jitter", "rounds", NULL};
    for (size_t i = 0; update != PLAN_OUTER_ASYNC && async_keys[i]; i++)
        if (ydoc_map_get(d, x, async_keys[i]))
            return ydoc_error(d, ydoc_map_get(d, x, async_keys[i]), st,
                              "key '%s': only with outer_update: async (sites at their own "
                              "pace)", async_keys[i]);
    if (update == PLAN_OUTER_ASYNC && ydoc_map_get(d, x, "replay"))
        return ydoc_error(d, ydoc_map_get(d, x, "replay"), st,
                          "key 'replay': not used by an async diloco (a round-level model over "
                          "the parts replayed alone)");
    if (scheme == PLAN_XDC_DILOCO && update == PLAN_OUTER_BLOCKING &&
        ydoc_map_get(d, x, "replay"))
        return ydoc_error(d, ydoc_map_get(d, x, "replay"), st,
                          "key 'replay': not used by a blocking diloco (its sync overlaps "
                          "nothing; outer_update: delayed or eager overlaps it)");
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
    if (scheme == PLAN_XDC_STREAMING && c->max_delay > c->inner_steps / c->fragments)
        return ydoc_error(d, ydoc_map_get(d, x, "max_delay"), st,
                          "key 'max_delay': expected at most H / F = %lld inner steps (a "
                          "fragment's sync ends before the next fragment's begins), found %lld",
                          (long long)(c->inner_steps / c->fragments), (long long)c->max_delay);
    return SIM_OK;
}

/* q becomes a copy of p that owns none of p's arrays and borrows its topology. */
static void make_clone(plan *q, const plan *p)
{
    *q = *p;
    q->site_clone = true;
    q->site_plan = NULL;
    q->site_batch = NULL;
    q->region_first = NULL;
    q->region_name = NULL;
    q->slowdown = NULL;
    q->slow_named = NULL;
}

/* p becomes a site's replica: its chips, dp and batch. */
static void set_site(plan *p, int64_t chips, int64_t dp, int64_t batch)
{
    p->ranks = chips;
    p->par.dp = dp;
    p->wl.global_batch = batch;
    set_strides(p);
    p->microbatches = batch / (p->wl.micro_batch * dp);
}

/*
 * DiLoCo over sites that may differ in chips or batch: each site trains a whole replica (tp,
 * cp, pp and ep as the job's, dp its chips over tp x cp x pp) on its batch: site_batch's, or
 * the global batch in proportion to its chips. Sites alike make p one site's replica; else
 * p becomes site 0's and p->site_plan holds clones for the others (finished by
 * finish_site_plans once the config is read).
 */
static sim_code split_sites(plan *p, const ydoc *d, ynode root, ynode at, sim_status *st)
{
    const plan_cross_dc *c = &p->xdc;
    size_t n = (size_t)c->replicas;
    ynode par = ydoc_map_get(d, root, "parallelism");
    ynode sb = p->site_batch ? ydoc_map_get(d, ydoc_map_get(d, root, "cross_dc"), "site_batch")
                             : 0;
    int64_t mp = p->par.tp * p->par.cp * p->par.pp, total = p->ranks, sum = 0;
    int64_t *dp = calloc(n, sizeof *dp), *gb = calloc(n, sizeof *gb);
    sim_code rc = dp && gb ? SIM_OK : sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    bool alike = true;
    for (size_t s = 0; rc == SIM_OK && s < n; s++) {
        /* replica s: a site, or a region's sites [first, last) */
        const char *name = plan_replica_name(p, (int64_t)s), *what = p->region_first ? "region"
                                                                                    : "site";
        size_t first = p->region_first ? (size_t)p->region_first[s] : s;
        size_t last = p->region_first ? (size_t)p->region_first[s + 1] : s + 1;
        int64_t chips = 0, batch = 0;
        for (size_t k = first; k < last; k++) {
            chips += (int64_t)topo_site_chip_count(p->topo, k);
            batch += p->site_batch ? p->site_batch[k] : 0;
        }
        if (chips % mp != 0) {
            rc = ydoc_error(d, at, st,
                            "key 'scheme': %s '%s' has %lld chips, not a multiple of tp x cp "
                            "x pp = %lld (each %s trains a whole replica)", what, name,
                            (long long)chips, (long long)mp, what);
            break;
        }
        dp[s] = chips / mp;
        /* the proportional share is whole micro-batches: the global batch splits into
         * micro-batches over the job's dp (load_parallelism), a multiple of the replica's */
        gb[s] = p->site_batch ? batch : p->wl.global_batch * chips / total;
        sum += gb[s];
        if (gb[s] % (p->wl.micro_batch * dp[s]) != 0)
            rc = ydoc_error(d, sb ? sb : at, st,
                            "key '%s': %s '%s' trains %lld sequences per step, which do not "
                            "split into micro-batches of %lld on its %lld data-parallel ranks",
                            sb ? "site_batch" : "scheme", what, name, (long long)gb[s],
                            (long long)p->wl.micro_batch, (long long)dp[s]);
        else if (dp[s] % p->par.ep != 0)
            rc = ydoc_error(d, at, st, "key 'scheme': ep = %lld does not divide dp = %lld at "
                            "%s '%s'", (long long)p->par.ep, (long long)dp[s], what, name);
        alike = alike && dp[s] == dp[0] && gb[s] == gb[0];
    }
    if (rc == SIM_OK && p->site_batch && sum != p->wl.global_batch)
        rc = ydoc_error(d, sb, st,
                        "key 'site_batch': expected the sites' batches to sum to the global "
                        "batch of %lld sequences, found %lld", (long long)p->wl.global_batch,
                        (long long)sum);
    if (rc == SIM_OK && !alike) {
        p->site_plan = calloc(n, sizeof *p->site_plan);
        if (!p->site_plan)
            rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        for (size_t s = 1; rc == SIM_OK && s < n; s++) {
            plan *q = malloc(sizeof *q);
            if (!q) {
                rc = sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
                break;
            }
            make_clone(q, p);
            q->stage_param_bytes = q->stage_expert_bytes = NULL;
            p->site_plan[s] = q;
            set_site(q, dp[s] * mp, dp[s], gb[s]);
            /* the schedule's checks against the site's micro-batches */
            rc = plan_sched_check(q, d, par, st);
        }
        if (rc == SIM_OK)
            p->site_plan[0] = p;
    }
    if (rc == SIM_OK) {
        set_site(p, dp[0] * mp, dp[0], gb[0]);
        rc = plan_sched_check(p, d, par, st);
    }
    free(dp);
    free(gb);
    return rc;
}

/* The clones of a DiLoCo plan over unequal sites take what was read after split_sites made
 * them (run, stragglers) and their own templates. */
static sim_code finish_site_plans(plan *p, sim_status *st)
{
    for (int64_t s = 1; p->site_plan && s < p->xdc.replicas; s++) {
        plan *q = p->site_plan[s];
        plan own = *q;
        make_clone(q, p);
        q->ranks = own.ranks;
        q->par = own.par;
        q->wl.global_batch = own.wl.global_batch;
        q->microbatches = own.microbatches;
        memcpy(q->stride, own.stride, sizeof q->stride);
        q->stage_param_bytes = calloc((size_t)q->par.pp, sizeof *q->stage_param_bytes);
        q->stage_expert_bytes = calloc((size_t)q->par.pp, sizeof *q->stage_expert_bytes);
        if (!q->stage_param_bytes || !q->stage_expert_bytes)
            return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        plan_tmpl_build(q);
    }
    return SIM_OK;
}

/* The scheme against the parallelism and the sites; DiLoCo plans become one site's replica. */
static sim_code check_cross_dc(plan *p, const ydoc *d, ynode root, sim_status *st)
{
    plan_cross_dc *c = &p->xdc;
    if (c->scheme == PLAN_XDC_NONE)
        return SIM_OK;
    ynode x = ydoc_map_get(d, root, "cross_dc"), at = ydoc_map_get(d, x, "scheme");
    bool diloco = c->scheme == PLAN_XDC_DILOCO || c->scheme == PLAN_XDC_STREAMING;
    size_t n = (size_t)c->sites, per = topo_site_chip_count(p->topo, 0), total = per;
    for (size_t s = 1; s < n; s++) {
        total += topo_site_chip_count(p->topo, s);
        if (!diloco && topo_site_chip_count(p->topo, s) != per)
            return ydoc_error(d, at, st,
                              "key 'scheme': the sites of topology '%s' differ in size (%zu and "
                              "%zu chips); '%s' needs equal sites (the diloco schemes take "
                              "unequal ones)", topo_name(p->topo), per,
                              topo_site_chip_count(p->topo, s), xdc_names[c->scheme]);
    }
    if (p->site_batch && !diloco)
        return ydoc_error(d, ydoc_map_get(d, x, "site_batch"), st,
                          "key 'site_batch': not used by scheme '%s' (only the diloco schemes "
                          "train a batch per site)", xdc_names[c->scheme]);
    if ((size_t)p->ranks != total)
        return ydoc_error(d, at, st,
                          "key 'scheme': the job uses %lld chips, but a cross-datacenter job "
                          "uses all %zu chips of its %zu sites", (long long)p->ranks, total, n);
    int64_t sites = c->sites;
    if (c->scheme == PLAN_XDC_PIPELINE) {
        if (p->par.pp % sites != 0 || p->placement[3] != PLAN_PP)
            return ydoc_error(d, at, st,
                              "key 'scheme': 'pipeline' needs pp outermost in the placement and "
                              "a multiple of the %lld sites, found pp = %lld",
                              (long long)sites, (long long)p->par.pp);
        return SIM_OK;
    }
    if (c->scheme == PLAN_XDC_SYNC) {
        if (p->par.dp % sites != 0)
            return ydoc_error(d, at, st,
                              "key 'scheme': 'sync' needs dp to be a multiple of the %lld sites, "
                              "found dp = %lld", (long long)sites, (long long)p->par.dp);
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
    c->total_ranks = p->ranks;
    sim_code rc = split_sites(p, d, root, at, st);
    c->site_ranks = p->ranks;
    return rc;
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
        int a2a = PLAN_A2A_COUPLED;
        if (rc == SIM_OK)
            rc = ydoc_get_enum(d, run, "alltoall", 0, "all-to-all model", alltoall_names, &a2a,
                               st);
        p->alltoall = (plan_alltoall)a2a;
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

sim_code plan_load(const char *path, const ydoc_override *ov, size_t n, plan **out,
                   sim_status *st)
{
    return plan_load_shared(path, ov, n, NULL, out, st);
}

sim_code plan_load_shared(const char *path, const ydoc_override *ov, size_t n, topo *shared,
                          plan **out, sim_status *st)
{
    ydoc *d = NULL;
    plan *p = calloc(1, sizeof *p);
    const char *name = NULL;
    *out = NULL;
    if (!p)
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
        if (shared) { /* the topology of a plan of this config: its scale applied */
            const char *rel = NULL;
            rc = ydoc_get_str(d, root, "topology", 1, &rel, st);
            if (rc == SIM_OK)
                resolve(p->config_path, rel, p->topology_path, sizeof p->topology_path);
            p->topo = shared;
            p->topo_borrowed = true;
        } else {
            rc = load_topology(p, d, root, ov, n, st);
        }
    }
    if (rc == SIM_OK)
        rc = load_workload(p, d, root, ov, n, st);
    if (rc == SIM_OK && !shared)
        rc = load_scale(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_cross_dc(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_parallelism(p, d, root, st);
    if (rc == SIM_OK)
        rc = check_cross_dc(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_run(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_stragglers(p, d, root, st);
    if (rc == SIM_OK)
        rc = load_reliability(p, d, root, st);
    if (rc == SIM_OK) {
        p->stage_param_bytes = calloc((size_t)p->par.pp, sizeof *p->stage_param_bytes);
        p->stage_expert_bytes = calloc((size_t)p->par.pp, sizeof *p->stage_expert_bytes);
        if (!p->stage_param_bytes || !p->stage_expert_bytes)
            rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    if (rc == SIM_OK)
        plan_tmpl_build(p);
    if (rc == SIM_OK)
        rc = finish_site_plans(p, st);
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
    for (int64_t s = 1; p->site_plan && s < p->xdc.replicas; s++)
        plan_destroy(p->site_plan[s]);
    free(p->site_plan);
    free(p->site_batch);
    free(p->region_first);
    free(p->region_name);
    if (!p->site_clone && !p->topo_borrowed)
        topo_destroy(p->topo);
    free(p->stage_param_bytes);
    free(p->slowdown);
    free(p->slow_named);
    free(p->stage_expert_bytes);
    free(p);
}

/* ---- getters ---- */

const char *plan_name(const plan *p)
{
    return p->name;
}

const char *plan_config_path(const plan *p)
{
    return p->config_path;
}

const char *plan_topology_path(const plan *p)
{
    return p->topology_path;
}

const char *plan_workload_path(const plan *p)
{
    return p->workload_path;
}

const char *plan_db_path(const plan *p)
{
    return p->db_path;
}

const char *plan_trace_path(const plan *p)
{
    return p->trace_path;
}

topo *plan_topo(const plan *p)
{
    return p->topo;
}

const wl_workload *plan_workload(const plan *p)
{
    return &p->wl;
}

const wl_parallel *plan_parallel(const plan *p)
{
    return &p->par;
}

int64_t plan_ranks(const plan *p)
{
    return p->ranks;
}

int64_t plan_microbatches(const plan *p)
{
    return p->microbatches;
}

plan_dim plan_placement(const plan *p, int i)
{
    return p->placement[i];
}

const plan_cross_dc *plan_cross_dc_of(const plan *p)
{
    return &p->xdc;
}

int64_t plan_steps(const plan *p)
{
    return p->steps;
}

int64_t plan_warmup_steps(const plan *p)
{
    return p->warmup_steps;
}

const plan_reliability *plan_reliability_of(const plan *p)
{
    return &p->rel;
}

uint64_t plan_seed(const plan *p)
{
    return p->seed;
}

plan_alltoall plan_alltoall_model(const plan *p)
{
    return p->alltoall;
}

const plan *plan_site(const plan *p, int64_t s)
{
    return p->site_plan && s > 0 && s < p->xdc.replicas ? p->site_plan[s] : p;
}

const char *plan_replica_name(const plan *p, int64_t s)
{
    return p->region_first ? p->region_name[s] : topo_site_name(p->topo, (size_t)s);
}

bool plan_has_regions(const plan *p)
{
    return p->region_first != NULL;
}

bool plan_sites_unequal(const plan *p)
{
    return p->site_plan != NULL;
}

int64_t plan_site_base(const plan *p, int64_t s)
{
    int64_t base = 0;
    for (int64_t i = 0; i < s; i++)
        base += plan_site(p, i)->ranks;
    return base;
}

const double *plan_slowdown(const plan *p)
{
    return p->slowdown;
}

void plan_set_steps(plan *p, int64_t warmup_steps, int64_t steps)
{
    p->warmup_steps = warmup_steps;
    p->steps = steps;
}
