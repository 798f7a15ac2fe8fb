/*
 * rel_ckpt.c: checkpoint size and save times (formulas and sources in rel_ckpt.h).
 */
#include "rel/rel_ckpt.h"

#include "rel/rel_fleet.h"

double rel_checkpoint_bytes(const plan *p)
{
    const wl_workload *w = plan_workload(p);
    wl_params pc;
    wl_params_count(w, &pc);
    double per = w->optimizer == WL_OPT_SGD ? REL_CKPT_SGD_BYTES : REL_CKPT_ADAM_BYTES;
    return pc.total * per;
}

int64_t rel_checkpoint_hosts(const plan *p)
{
    const topo *t = plan_topo(p);
    int64_t chips = rel_job_chips(p);
    if (chips < 1)
        return 1;
    if (chips > (int64_t)topo_chip_count(t))
        chips = (int64_t)topo_chip_count(t);
    return topo_chip_host(t, (int32_t)(chips - 1)) + 1;
}

double rel_checkpoint_write_s(const plan *p)
{
    const topo_storage *s = topo_storage_of(plan_topo(p));
    double nodes_Bps = (double)rel_checkpoint_hosts(p) * s->per_node_Bps;
    double bw = nodes_Bps < s->aggregate_Bps ? nodes_Bps : s->aggregate_Bps;
    return rel_checkpoint_bytes(p) / bw;
}

double rel_checkpoint_snapshot_s(const plan *p)
{
    const topo_storage *s = topo_storage_of(plan_topo(p));
    return rel_checkpoint_bytes(p) / (double)rel_checkpoint_hosts(p) / s->host_copy_Bps;
}
