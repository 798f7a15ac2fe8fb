/*
 * plan_sched.c: the parallelism keys that choose how the model is split over the pipeline
 * and how FSDP shards it (see plan.h for the file format), read and checked against the
 * model after plan_config.c has read the degrees:
 *   decoder_first_pipeline_num_layers / decoder_last_pipeline_num_layers (Megatron-LM's
 *     flags; first_stage_layers / last_stage_layers are the same keys by their older names)
 *   pipeline_model_parallel_layout (Megatron-LM's layout string, model_pipe.c parses it)
 *   microbatch_group_size_per_virtual_pipeline_stage (Megatron-LM's flag)
 *   fsdp (true, false or a PyTorch sharding strategy), reshard_after_forward (FSDP2's),
 *   fsdp_shard_size (the hybrid strategies' shard group)
 * Every refusal is located at the key it is about, in the house format.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "workload/plan_int.h"

/* One of two spellings of a count of layers: *out and *which (the key written). */
static sim_code read_alias(const ydoc *d, ynode par, const char *name, const char *old,
                           int64_t *out, const char **which, sim_status *st)
{
    bool a = ydoc_map_get(d, par, name) != 0, b = ydoc_map_get(d, par, old) != 0;
    *which = a ? name : old;
    if (a && b)
        return plan__key_err(d, par, old, st, "the same as '%s'; give one of them", name);
    /* 0: none, as Megatron-LM's None (so an override can take a config's value back) */
    return ydoc_get_int(d, par, *which, 0, 0, INT32_MAX, out, st);
}

/* fsdp: a YAML boolean (true is FULL_SHARD) or a strategy, PyTorch's names in any case. */
static sim_code read_fsdp(plan *p, const ydoc *d, ynode par, sim_status *st)
{
    static const char *const names[] = {"full_shard", "shard_grad_op", "hybrid_shard",
                                        "_hybrid_shard_zero2", "no_shard", NULL};
    static const wl_fsdp strategies[] = {WL_FSDP_FULL_SHARD, WL_FSDP_SHARD_GRAD_OP,
                                         WL_FSDP_HYBRID_SHARD, WL_FSDP_HYBRID_SHARD_ZERO2,
                                         WL_FSDP_NO_SHARD};
    const char *text = NULL;
    sim_code rc = ydoc_get_str(d, par, "fsdp", 0, &text, st);
    if (rc != SIM_OK || !text)
        return rc;
    char low[32];
    size_t n = strlen(text);
    for (size_t i = 0; i < n && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)text[i]);
    low[n < sizeof low ? n : sizeof low - 1] = '\0';
    for (int i = 0; names[i]; i++)
        if (n < sizeof low && !strcmp(low, names[i])) {
            p->par.fsdp_strategy = strategies[i];
            p->par.fsdp = strategies[i] != WL_FSDP_NO_SHARD;
            return SIM_OK;
        }
    int on = 0;
    sim_status ignored;
    if (ydoc_get_bool(d, par, "fsdp", 0, &on, &ignored) == SIM_OK) {
        p->par.fsdp = on;
        p->par.fsdp_strategy = on ? WL_FSDP_FULL_SHARD : WL_FSDP_NONE;
        return SIM_OK;
    }
    return plan__key_err(d, par, "fsdp", st,
                         "expected true, false or a sharding strategy (full_shard, shard_grad_op, "
                         "hybrid_shard, _hybrid_shard_zero2, no_shard), found '%s'", text);
}

sim_code plan_sched_read(plan *p, const ydoc *d, ynode par, sim_status *st)
{
    wl_parallel *w = &p->par;
    const char *first_key, *last_key, *layout = NULL;
    int reshard = 1;
    sim_code rc = read_alias(d, par, "decoder_first_pipeline_num_layers", "first_stage_layers",
                             &w->first_stage_layers, &first_key, st);
    if (rc == SIM_OK)
        rc = read_alias(d, par, "decoder_last_pipeline_num_layers", "last_stage_layers",
                        &w->last_stage_layers, &last_key, st);
    if (rc == SIM_OK)
        rc = ydoc_get_str(d, par, "pipeline_model_parallel_layout", 0, &layout, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "microbatch_group_size_per_virtual_pipeline_stage", 0, 1,
                          INT32_MAX, &w->mb_group, st);
    if (rc == SIM_OK)
        rc = read_fsdp(p, d, par, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bool(d, par, "reshard_after_forward", 0, &reshard, st);
    if (rc == SIM_OK)
        rc = ydoc_get_int(d, par, "fsdp_shard_size", 0, 1, INT32_MAX, &w->fsdp_shard, st);
    if (rc != SIM_OK)
        return rc;
    /* FSDP2's reshard_after_forward: false turns FULL_SHARD into SHARD_GRAD_OP and
     * HYBRID_SHARD into _HYBRID_SHARD_ZERO2 (PyTorch documents them as the same). */
    ynode raf = ydoc_map_get(d, par, "reshard_after_forward");
    if (raf) {
        wl_fsdp s = wl_fsdp_of(w);
        if (s == WL_FSDP_NONE || s == WL_FSDP_NO_SHARD)
            return plan__key_err(d, par, "reshard_after_forward", st,
                                 "only with FSDP sharding the parameters (fsdp: true, "
                                 "full_shard or hybrid_shard)");
        if (reshard && (s == WL_FSDP_SHARD_GRAD_OP || s == WL_FSDP_HYBRID_SHARD_ZERO2))
            return plan__key_err(d, par, "reshard_after_forward", st,
                                 "true contradicts fsdp: %s, which keeps the parameters unsharded "
                                 "after the forward", s == WL_FSDP_SHARD_GRAD_OP
                                                          ? "shard_grad_op"
                                                          : "_hybrid_shard_zero2");
        if (!reshard)
            w->fsdp_strategy = s == WL_FSDP_HYBRID_SHARD || s == WL_FSDP_HYBRID_SHARD_ZERO2
                                   ? WL_FSDP_HYBRID_SHARD_ZERO2
                                   : WL_FSDP_SHARD_GRAD_OP;
    }
    if (layout) {
        char why[SIM_STATUS_MSG_MAX / 2];
        if (w->first_stage_layers || w->last_stage_layers)
            return plan__key_err(d, par, "pipeline_model_parallel_layout", st,
                                 "give the layout or '%s', not both",
                                 w->first_stage_layers ? first_key : last_key);
        if (!wl_layout_parse(layout, w->pp, p->wl.layers, w, why, sizeof why))
            return plan__key_err(d, par, "pipeline_model_parallel_layout", st, "expected %s", why);
        int64_t vp = w->layout_n / w->pp;
        if (ydoc_map_get(d, par, "virtual_stages") && w->vp != vp)
            return plan__key_err(d, par, "virtual_stages", st,
                                 "%lld, but the layout's %lld stages over pp = %lld make %lld",
                                 (long long)w->vp, (long long)w->layout_n, (long long)w->pp,
                                 (long long)vp);
        w->vp = vp;
        /* Megatron-LM runs the interleaved schedule whenever there are virtual stages */
        if (vp > 1 && !ydoc_map_get(d, par, "schedule"))
            w->schedule = WL_SCHED_INTERLEAVED;
    }
    return SIM_OK;
}

/* Chips per node around rank 0's group: PyTorch's hybrid sharding shards inside a node
 * (the dp x cp members of rank 0's group on rank 0's node), a divisor of the group. */
static int64_t node_shard(const plan *p)
{
    int64_t n = p->par.dp * p->par.cp, k = 0;
    int slot = plan_slot(PLAN_DP, PLAN_GROUP_DP_CP);
    int32_t node = topo_chip_node(p->topo, 0);
    while (k < n && topo_chip_node(p->topo, (int32_t)plan_slot_member(p, 0, slot, k)) == node)
        k++;
    while (k > 1 && n % k != 0)
        k--;
    return k > 0 ? k : 1;
}

sim_code plan_sched_check(plan *p, const ydoc *d, ynode par, sim_status *st)
{
    wl_parallel *w = &p->par;
    char why[SIM_STATUS_MSG_MAX / 2];
    wl_uneven_problem(&p->wl, w, why, sizeof why);
    if (why[0])
        return plan__key_err(d, par,
                             ydoc_map_get(d, par, "first_stage_layers") ? "first_stage_layers"
                             : ydoc_map_get(d, par, "decoder_first_pipeline_num_layers")
                                 ? "decoder_first_pipeline_num_layers"
                             : ydoc_map_get(d, par, "last_stage_layers")
                                 ? "last_stage_layers"
                                 : "decoder_last_pipeline_num_layers",
                             st, "%s", why);
    const char *grp_key = "microbatch_group_size_per_virtual_pipeline_stage";
    if (ydoc_map_get(d, par, grp_key) && w->schedule != WL_SCHED_INTERLEAVED)
        return plan__key_err(d, par, grp_key, st, "only with schedule 'interleaved'");
    int64_t m = p->microbatches, g = wl_mb_group(w);
    if (w->schedule == WL_SCHED_INTERLEAVED && w->pp > 1) {
        /* Megatron-LM's forward_backward_pipelining_with_interleaving */
        const char *key = ydoc_map_get(d, par, grp_key) ? grp_key : "schedule";
        if (g < w->pp || g > m)
            return plan__key_err(d, par, key, st,
                                 "the interleaved schedule runs groups of pp = %lld to m = %lld "
                                 "micro-batches per chunk, found a group of %lld", (long long)w->pp,
                                 (long long)m, (long long)g);
        if (m % g > 0 && m % g < w->pp)
            return plan__key_err(d, par, key, st,
                                 "the interleaved schedule needs the %lld micro-batches to leave "
                                 "a last group of 0 or pp = %lld at least, found %lld (groups of "
                                 "%lld)", (long long)m, (long long)w->pp, (long long)(m % g),
                                 (long long)g);
    }
    wl_fsdp s = wl_fsdp_of(w);
    bool hybrid = s == WL_FSDP_HYBRID_SHARD || s == WL_FSDP_HYBRID_SHARD_ZERO2;
    if (s != WL_FSDP_NONE && w->zero > 0)
        return plan__key_err(d, par, "zero", st, "leave zero out with fsdp, whose strategy "
                             "says what is sharded (zero 3 is full_shard)");
    if (ydoc_map_get(d, par, "fsdp_shard_size") && !hybrid)
        return plan__key_err(d, par, "fsdp_shard_size", st,
                             "only with fsdp: hybrid_shard or _hybrid_shard_zero2");
    if (hybrid) {
        int64_t n = w->dp * w->cp;
        if (p->wl.experts > 0)
            return plan__key_err(d, par, "fsdp", st, "hybrid sharding of an MoE model is not "
                                 "modelled; '%s' has experts", p->wl.name);
        if (!w->fsdp_shard)
            w->fsdp_shard = node_shard(p);
        if (n % w->fsdp_shard != 0)
            return plan__key_err(d, par, "fsdp_shard_size", st,
                                 "expected a divisor of dp x cp = %lld (the replicas split into "
                                 "shard groups), found %lld", (long long)n,
                                 (long long)w->fsdp_shard);
    }
    return SIM_OK;
}
