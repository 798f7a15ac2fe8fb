/*
 * estimate.c: a plan's step without the event engine (see estimate.h).
 */
#include "search/estimate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"
#include "exec/exec.h"
#include "net/graph.h"
#include "topo/topo.h"

/* A slot's bus bandwidth and per-collective latency, from rank's group. */
typedef struct slot_bw {
    double busbw, nvls_busbw; /* bytes/s; nvls_busbw 0: no in-switch reduction */
    double launch_s, step_s;  /* once per collective; per algorithm step */
    int done;
} slot_bw;

/* The slowest link (bandwidth over its share of the flow) from chip a to chip b. */
static sim_code route_bw(topo *t, int32_t a, int32_t b, double *bw, sim_status *st)
{
    size_t cap = topo_route_max_uses(t);
    net_usage *u = malloc((cap ? cap : 1) * sizeof *u);
    if (!u)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    topo_route_info info;
    sim_code rc = topo_route(t, a, b, 0, u, cap, &info, st);
    *bw = INFINITY;
    const net_graph *g = topo_graph(t);
    for (size_t i = 0; rc == SIM_OK && i < info.n_uses; i++) {
        double x = net_graph_link(g, u[i].link)->bw_Bps / u[i].w;
        *bw = x < *bw ? x : *bw;
    }
    free(u);
    return rc;
}

static sim_code slot_bandwidth(plan *p, int64_t rank, int slot, const hw_chip *chip,
                               slot_bw *out, sim_status *st)
{
    topo *t = plan_topo(p);
    int64_t n = plan_slot_size(p, slot);
    int32_t c0 = (int32_t)plan_slot_member(p, rank, slot, 0);
    int32_t other = -1, node0 = topo_chip_node(t, c0);
    for (int64_t i = 1; i < n && other < 0; i++) {
        int32_t c = (int32_t)plan_slot_member(p, rank, slot, i);
        if (topo_chip_node(t, c) != node0)
            other = c;
    }
    bool inside = other < 0;
    if (inside)
        other = (int32_t)plan_slot_member(p, rank, slot, 1);
    double bw = INFINITY;
    sim_code rc = route_bw(t, c0, other, &bw, st);
    if (rc != SIM_OK)
        return rc;
    const hw_coll_model *m = &chip->coll;
    out->busbw = bw * (inside ? m->eff_scale_up : m->eff_scale_out);
    out->nvls_busbw = inside && topo_chip_in_switch_reduction(t, c0) ? bw * m->eff_nvls : 0;
    out->launch_s = (double)m->launch_ps * 1e-12;
    out->step_s = (double)(inside ? m->step_up_ps : m->step_out_ps) * 1e-12;
    out->done = 1;
    return SIM_OK;
}

/* A collective's time alone: launch, a step per ring hop, and its bytes at busbw. */
static double coll_seconds(const slot_bw *b, coll_kind kind, int64_t n, double bytes)
{
    double busbw = kind == COLL_ALLREDUCE && b->nvls_busbw > b->busbw ? b->nvls_busbw
                                                                       : b->busbw;
    double steps = kind == COLL_ALLREDUCE ? 2.0 * (double)(n - 1) : (double)(n - 1);
    return b->launch_s + steps * b->step_s + bytes * coll_busbw_factor(kind, (size_t)n) / busbw;
}

/* One rank's program: its compute, the communication it does not hide, its asynchronous
 * reductions, and its backward compute. */
typedef struct rank_walk {
    double compute, exposed, hidden, backward;
} rank_walk;

static sim_code walk_rank(plan *p, int64_t rank, const hw_chip *chip, bool fp8, slot_bw *bw,
                          rank_walk *o, sim_status *st)
{
    memset(o, 0, sizeof *o);
    plan_cursor c;
    plan_item it;
    double beside = 0; /* a collective beside the next op, not yet covered */
    plan_prog_begin(p, rank, &c);
    while (plan_prog_next(p, &c, &it)) {
        if (it.kind == PLAN_ITEM_COMPUTE) {
            double s = exec_op_seconds(chip, &it.op, fp8);
            o->compute += s;
            o->backward += it.backward ? s : 0;
            o->exposed += fmax(0, beside - s);
            beside = 0;
            continue;
        }
        if (it.kind == PLAN_ITEM_WAIT_DP || it.kind == PLAN_ITEM_RECV)
            continue; /* a send's time is counted once, at the sender */
        int slot = it.kind == PLAN_ITEM_COLL ? plan_slot(it.dim, it.group) : PLAN_PP;
        int64_t n = it.kind == PLAN_ITEM_COLL ? plan_slot_size(p, slot) : 2;
        if (n < 2)
            continue;
        if (!bw[slot].done) {
            sim_code rc = slot_bandwidth(p, rank, slot, chip, &bw[slot], st);
            if (rc != SIM_OK)
                return rc;
        }
        double s = it.kind == PLAN_ITEM_COLL ? coll_seconds(&bw[slot], it.coll, n, it.bytes)
                                             : bw[slot].launch_s + it.bytes / bw[slot].busbw;
        if (it.kind == PLAN_ITEM_COLL && it.async == PLAN_ASYNC_STEP)
            o->hidden += s;
        else if (it.kind == PLAN_ITEM_COLL && it.async == PLAN_ASYNC_NEXT_OP)
            beside += s;
        else
            o->exposed += s;
    }
    o->exposed += beside;
    return SIM_OK;
}

sim_code search_estimate_plan(plan *p, search_estimate *out, sim_status *st)
{
    memset(out, 0, sizeof *out);
    const wl_workload *w = plan_workload(p);
    const wl_parallel *par = plan_parallel(p);
    wl_memory mem;
    sim_code rc = wl_memory_per_rank(w, par, &mem, st);
    if (rc != SIM_OK)
        return rc;
    out->memory_bytes = mem.total;
    topo *t = plan_topo(p);
    const hw_chip *chip = topo_chip_hw(t, 0);
    bool fp8 = w->dtype == WL_DTYPE_FP8;
    slot_bw bw[PLAN_SLOT_COUNT];
    memset(bw, 0, sizeof bw);
    /* every stage's first rank: the slowest sets the steady state, their mean the pipeline's
     * fill and drain (a micro-batch crosses every stage) */
    int64_t m = plan_microbatches(p);
    double busy_sum = 0, busy_max = -1, tail = 0;
    for (int64_t s = 0; s < par->pp; s++) {
        rank_walk r;
        rc = walk_rank(p, plan_group_member(p, 0, PLAN_PP, s), chip, fp8, bw, &r, st);
        if (rc != SIM_OK)
            return rc;
        double busy = r.compute + r.exposed;
        busy_sum += busy;
        /* gradient reductions beside the backward passes: the last micro-batch's backward
         * (its share of every chunk) is all that follows the last bucket */
        double window = m > 0 ? r.backward / (double)m : r.backward;
        double tl = fmax(0, r.hidden - window);
        if (busy + tl > busy_max + tail) {
            busy_max = busy;
            tail = tl;
            out->compute_s = r.compute;
            out->exposed_s = r.exposed;
            out->hidden_s = r.hidden;
        }
    }
    out->bubble_s = busy_sum / (double)par->pp * wl_bubble_fraction(par->pp, m, par->vp);
    out->exposed_s += tail;
    out->step_s = busy_max + out->bubble_s + tail;
    double peak = fp8 && chip->peak_fp8_flops > 0 ? chip->peak_fp8_flops : chip->peak_bf16_flops;
    out->mfu = wl_model_flops_per_step(w) / ((double)plan_ranks(p) * peak * out->step_s);
    return SIM_OK;
}
