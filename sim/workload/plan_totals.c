/*
 * plan_totals.c: a plan's step totals (see plan_totals.h): the model's figures, and the
 * traffic of one rank counted by walking its program.
 */
#include <string.h>

#include "workload/plan_int.h"

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
