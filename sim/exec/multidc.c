/*
 * multidc.c: cross-datacenter schemes (see multidc.h). The outer sync has its own engine and
 * network over the whole topology: it starts every group's all-reduce at time zero and runs
 * until the last ends.
 */
#include "exec/multidc.h"

#include <stdlib.h>
#include <string.h>

#include "coll/coll.h"
#include "core/evq.h"
#include "core/hash.h"
#include "net/netsim.h"

typedef struct sync_ctx {
    size_t live;
    double end_s;
} sync_ctx;

static void on_group_done(void *user, double start_s, double end_s)
{
    sync_ctx *c = user;
    (void)start_s;
    c->live--;
    if (end_s > c->end_s)
        c->end_s = end_s;
}

sim_code mdc_outer_sync(plan *p, double fraction, double *sync_s, double *link_bytes,
                        sim_status *st)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    const net_graph *g = topo_graph(plan_topo(p));
    ev_engine *e = NULL;
    net_sim *ns = NULL;
    coll_engine *ce = NULL;
    sync_ctx ctx = {0, 0};
    int64_t members = plan_parallel(p)->dp * x->sites;
    int32_t *chips = malloc((size_t)members * sizeof *chips);
    sim_code rc = chips ? ev_engine_create(&e, st)
                        : sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (rc == SIM_OK)
        rc = net_sim_create(e, g, 0, &ns, st);
    if (rc == SIM_OK)
        rc = coll_engine_create(ns, plan_topo(p), &ce, st);
    /* One group per rank of a site's replica with dp coordinate 0: the ranks holding the same
     * parameters in every dp replica of every site, site by site (hierarchical by site). */
    for (int64_t r = 0; rc == SIM_OK && r < plan_ranks(p); r++) {
        if (plan_coord(p, r, PLAN_DP) != 0)
            continue;
        int64_t k = 0;
        for (int64_t s = 0; s < x->sites; s++)
            for (int64_t d = 0; d < plan_parallel(p)->dp; d++)
                chips[k++] = (int32_t)(s * x->site_ranks + plan_group_member(p, r, PLAN_DP, d));
        coll_req rq = {.kind = COLL_ALLREDUCE, .algo = COLL_ALGO_AUTO, .chips = chips,
                       .n = (size_t)members,
                       .bytes = plan_rank_params(p, r) * x->payload_bytes * fraction,
                       .id = sim_hash_mix((uint64_t)r ^ 0x6f75746572ull), .done = on_group_done,
                       .user = &ctx};
        ctx.live++;
        rc = coll_start(ce, &rq, NULL, st);
    }
    if (rc == SIM_OK) {
        ev_run(e, INT64_MAX);
        if (net_sim_error(ns)) {
            *st = *net_sim_error(ns);
            rc = st->code;
        } else if (coll_engine_error(ce)) {
            *st = *coll_engine_error(ce);
            rc = st->code;
        } else if (ctx.live) {
            rc = sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0,
                                "%zu outer-sync collectives never finished", ctx.live);
        }
    }
    if (rc == SIM_OK) {
        *sync_s = ctx.end_s;
        for (size_t l = 0; link_bytes && l < net_graph_link_count(g); l++)
            link_bytes[l] = net_sim_link_bytes(ns, (net_link_id)l);
    }
    if (e)
        ev_clear(e);
    coll_engine_destroy(ce);
    net_sim_destroy(ns);
    ev_engine_destroy(e);
    free(chips);
    return rc;
}

/* Mean compute per rank per step of a replay. */
static double mean_compute(const plan *p, const exec_result *r)
{
    double c = 0;
    for (int64_t i = 0; i < plan_ranks(p); i++)
        c += r->ranks[i].compute_s;
    return c / (double)plan_ranks(p);
}

sim_code mdc_run(plan *p, const exec_opts *opts, exec_result *r, mdc_result *m, sim_status *st)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    memset(m, 0, sizeof *m);
    m->scheme = x->scheme;
    m->n_links = net_graph_link_count(topo_graph(plan_topo(p)));
    m->wan_bytes = calloc(m->n_links ? m->n_links : 1, sizeof *m->wan_bytes);
    if (!m->wan_bytes)
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
    sim_code rc = exec_run(p, opts, r, st);
    if (rc != SIM_OK || r->stopped)
        return rc;
    m->inner_step_s = r->step_time_s;
    m->compute_s = mean_compute(p, r);
    const hw_chip *chip = opts && opts->chip ? opts->chip : topo_chip_hw(plan_topo(p), 0);
    if (x->scheme == PLAN_XDC_SYNC || x->scheme == PLAN_XDC_PIPELINE) {
        m->round_s = r->step_time_s;
        for (size_t l = 0; l < m->n_links; l++)
            m->wan_bytes[l] = r->link_bytes[l] / (double)plan_steps(p);
        m->compute_util = m->compute_s / m->round_s;
        m->mfu = r->mfu;
        m->tokens_per_s = r->tokens_per_s;
        return SIM_OK;
    }
    /* DiLoCo: the outer sync (or one fragment of it) on the whole topology. */
    int64_t F = x->scheme == PLAN_XDC_STREAMING ? x->fragments : 1;
    rc = mdc_outer_sync(p, 1.0 / (double)F, &m->outer_sync_s, m->wan_bytes, st);
    if (rc != SIM_OK)
        return rc;
    for (size_t l = 0; l < m->n_links; l++)
        m->wan_bytes[l] *= (double)F;
    /* The outer optimizer (SGD with Nesterov momentum) over each rank's parameters. */
    wl_workload w = *plan_workload(p);
    w.optimizer = WL_OPT_SGD;
    wl_op op;
    wl_optimizer_op(&w, plan_parallel(p), 0, &op);
    m->outer_opt_s = exec_op_seconds(chip, &op, false);
    double H = (double)x->inner_steps;
    if (x->scheme == PLAN_XDC_DILOCO) {
        m->exposed_s = m->outer_sync_s;
    } else {
        double window = (double)x->max_delay * m->inner_step_s;
        double per = m->outer_sync_s > window ? m->outer_sync_s - window : 0;
        m->exposed_s = (double)F * per;
    }
    m->hidden_s = (double)F * m->outer_sync_s - m->exposed_s;
    m->round_s = H * m->inner_step_s + m->exposed_s + m->outer_opt_s;
    m->compute_util = H * m->compute_s / m->round_s;
    double sites = (double)x->sites;
    m->mfu = H * wl_model_flops_per_step(plan_workload(p)) * sites /
             (m->round_s * (double)x->total_ranks * chip->peak_bf16_flops);
    m->tokens_per_s = H * wl_tokens_per_step(plan_workload(p)) * sites / m->round_s;
    return SIM_OK;
}

void mdc_result_free(mdc_result *m)
{
    if (!m)
        return;
    free(m->wan_bytes);
    memset(m, 0, sizeof *m);
}
