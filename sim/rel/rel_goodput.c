/*
 * rel_goodput.c: a plan's whole training run under failures (see rel_goodput.h).
 */
#include "rel/rel_goodput.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "rel/rel_ckpt.h"
#include "rel/rel_fleet.h"
#include "topo/topo.h"

static sim_code nomem(sim_status *st)
{
    return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

static bool diloco(const plan *p)
{
    int s = plan_cross_dc_of(p)->scheme;
    return s == PLAN_XDC_DILOCO || s == PLAN_XDC_STREAMING;
}

/* The step: the section's step_time, or one replay of the plan. */
static sim_code step_time(plan *p, const rel_goodput_opts *o, rel_goodput_result *g,
                          sim_status *st)
{
    const plan_reliability *rel = plan_reliability_of(p);
    if (rel->step_time_s > 0) {
        g->step_s = rel->step_time_s;
        return SIM_OK;
    }
    exec_opts none;
    memset(&none, 0, sizeof none);
    const exec_opts *eo = o && o->exec ? o->exec : &none;
    const plan_cross_dc *x = plan_cross_dc_of(p);
    g->cross_dc = x->scheme != PLAN_XDC_NONE;
    sim_code rc = g->cross_dc ? mdc_run(p, eo, &g->replay, &g->mdc, st)
                              : exec_run(p, eo, &g->replay, st);
    if (rc == SIM_OK && g->replay.stopped)
        rc = sim_status_set(st, SIM_ERR_LIMIT, NULL, 0, 0,
                            "the step's replay stopped at a bound of its options (events or "
                            "wall time): no step time to build the run on");
    if (rc == SIM_OK) {
        g->replayed = true;
        g->step_s = g->replay.step_time_s;
        if (diloco(p)) /* over whole rounds: the outer syncs count */
            g->step_s = g->mdc.round_s / (double)x->inner_steps;
    }
    return rc;
}

/* The run's length, hosts, spares and checkpoint costs. */
static void job_figures(const plan *p, rel_goodput_result *g)
{
    const plan_reliability *rel = plan_reliability_of(p);
    const wl_workload *w = plan_workload(p);
    g->tokens_per_step = (double)w->sequence * (double)w->global_batch;
    if (g->replayed && g->cross_dc)
        g->tokens_per_step = g->mdc.tokens_per_s * g->step_s;
    else if (diloco(p))
        g->tokens_per_step *= (double)plan_cross_dc_of(p)->replicas;
    if (rel->steps > 0) {
        g->steps = rel->steps;
    } else {
        double tokens = rel->tokens;
        if (!(tokens > 0)) { /* Chinchilla: 20 tokens per parameter */
            wl_params pc;
            wl_params_count(w, &pc);
            tokens = 20 * pc.total;
        }
        g->steps = (int64_t)ceil(tokens / g->tokens_per_step - 1e-9);
        g->steps = g->steps > 0 ? g->steps : 1;
    }
    g->tokens = (double)g->steps * g->tokens_per_step;
    g->work_s = (double)g->steps * g->step_s;
    g->chips = rel_job_chips(p);
    g->hosts = rel_checkpoint_hosts(p);
    int64_t free_hosts = topo_host_count(plan_topo(p)) - g->hosts;
    g->spare_nodes = rel->spare_nodes >= 0 ? rel->spare_nodes : (free_hosts > 0 ? free_hosts : 0);
    g->ckpt_bytes = rel_checkpoint_bytes(p);
    g->ckpt_write_s = rel_checkpoint_write_s(p);
    g->ckpt_snapshot_s = rel_checkpoint_snapshot_s(p);
    g->reload_s = g->ckpt_write_s; /* read back at the tier's bandwidth (assumed symmetric) */
    g->ckpt_block_s = rel->async_save ? g->ckpt_snapshot_s : g->ckpt_write_s;
    g->ckpt_drain_s = rel->async_save ? g->ckpt_write_s : 0;
    g->recovery_s = rel->detect_s + rel->restart_s + g->reload_s + rel->warmup_s;
}

static rel_job make_job(const plan *p, const rel_goodput_result *g, int64_t interval)
{
    const plan_reliability *rel = plan_reliability_of(p);
    return (rel_job){.step_s = g->step_s,
                     .steps = g->steps,
                     .ckpt_steps = interval,
                     .ckpt_block_s = g->ckpt_block_s,
                     .ckpt_drain_s = g->ckpt_drain_s,
                     .detect_s = rel->detect_s,
                     .restart_s = rel->restart_s,
                     .reload_s = g->reload_s,
                     .warmup_s = rel->warmup_s,
                     .spare_nodes = g->spare_nodes};
}

/* Appends interval k (steps, >= 1) from source unless already there; returns its index. */
static sim_code add_point(rel_goodput_result *g, int64_t k, const char *source, size_t *at,
                          sim_status *st)
{
    k = k > 0 ? k : 1;
    k = k < g->steps ? k : g->steps;
    for (size_t i = 0; i < g->n_points; i++)
        if (g->points[i].save_interval == k) {
            if (at)
                *at = i;
            return SIM_OK;
        }
    rel_goodput_point *np = realloc(g->points, (g->n_points + 1) * sizeof *np);
    if (!np)
        return nomem(st);
    g->points = np;
    rel_goodput_point *pt = &g->points[g->n_points];
    memset(pt, 0, sizeof *pt);
    pt->save_interval = k;
    pt->source = source;
    pt->interval_s = (double)k * g->step_s;
    if (at)
        *at = g->n_points;
    g->n_points++;
    return SIM_OK;
}

static int cmp_points(const void *a, const void *b)
{
    int64_t x = ((const rel_goodput_point *)a)->save_interval;
    int64_t y = ((const rel_goodput_point *)b)->save_interval;
    return (x > y) - (x < y);
}

/* Every seed of one interval, and its figures. */
static sim_code simulate_point(const plan *p, rel_goodput_result *g, rel_goodput_point *pt,
                               int64_t log_seeds, sim_status *st)
{
    rel_job j = make_job(p, g, pt->save_interval);
    size_t n = g->n_classes;
    pt->runs = calloc((size_t)g->seeds, sizeof *pt->runs);
    pt->failures = calloc(n ? n : 1, sizeof *pt->failures);
    pt->lost_s = calloc(n ? n : 1, sizeof *pt->lost_s);
    pt->down_s = calloc(n ? n : 1, sizeof *pt->down_s);
    pt->slow_s = calloc(n ? n : 1, sizeof *pt->slow_s);
    double *ettr = malloc((size_t)g->seeds * sizeof *ettr);
    double *wall = malloc((size_t)g->seeds * sizeof *wall);
    sim_code rc = SIM_OK;
    if (!pt->runs || !pt->failures || !pt->lost_s || !pt->down_s || !pt->slow_s || !ettr ||
        !wall)
        rc = nomem(st);
    double intr = 0, degr = 0, stall = 0;
    for (int64_t s = 0; rc == SIM_OK && s < g->seeds; s++) {
        rel_run *r = &pt->runs[s];
        rc = rel_simulate(&j, g->classes, n, g->seed0 + (uint64_t)s, s < log_seeds, r, st);
        if (rc != SIM_OK)
            break;
        pt->n_runs++;
        ettr[s] = r->ettr;
        wall[s] = r->wall_s;
        intr += (double)r->interruptions;
        degr += (double)r->degradations;
        stall += (double)r->stalls;
        pt->checkpoints += (double)r->checkpoints;
        pt->ckpt_s += r->ckpt_s;
        pt->drain_wait_s += r->drain_wait_s;
        for (size_t c = 0; c < n; c++) {
            pt->failures[c] += (double)r->failures[c];
            pt->lost_s[c] += r->lost_s[c];
            pt->down_s[c] += r->down_s[c];
            pt->slow_s[c] += r->slow_s[c];
        }
    }
    if (rc == SIM_OK) {
        double k = (double)g->seeds;
        sim_stats_summarize(ettr, (size_t)g->seeds, 0.95, &pt->ettr);
        sim_stats_summarize(wall, (size_t)g->seeds, 0.95, &pt->wall_s);
        double days = pt->wall_s.mean / 86400;
        pt->interruptions_per_day = intr / k / days;
        pt->degradations_per_day = degr / k / days;
        pt->stalls_per_day = stall / k / days;
        pt->goodput_tokens_per_s = g->tokens / pt->wall_s.mean;
        pt->checkpoints /= k;
        pt->ckpt_s /= k;
        pt->drain_wait_s /= k;
        for (size_t c = 0; c < n; c++) {
            pt->failures[c] /= k;
            pt->lost_s[c] /= k;
            pt->down_s[c] /= k;
            pt->slow_s[c] /= k;
        }
        pt->daly_ettr = g->work_s / rel_daly_wall_s(g->work_s, pt->interval_s, g->ckpt_block_s,
                                                     g->recovery_s, g->mtbf_s);
        if (!(g->mtbf_s < INFINITY))
            pt->daly_ettr = g->work_s / (g->work_s + g->ckpt_block_s *
                                                         floor((double)(g->steps - 1) /
                                                               (double)pt->save_interval));
    }
    free(ettr);
    free(wall);
    return rc;
}

sim_code rel_goodput_run(plan *p, const rel_goodput_opts *o, rel_goodput_result *out,
                         sim_status *st)
{
    memset(out, 0, sizeof *out);
    rel_goodput_result *g = out;
    const plan_reliability *rel = plan_reliability_of(p);
    double t0 = sim_wall_s();
    sim_code rc = step_time(p, o, g, st);
    g->replay_wall_s = sim_wall_s() - t0;
    if (rc != SIM_OK)
        return rc;
    job_figures(p, g);
    t0 = sim_wall_s();
    rel_fleet_opts fo = {.dual_homed = rel->dual_homed,
                         .replay = rel->degraded_replays,
                         .exec = o ? o->exec : NULL,
                         .base_step_s = g->replayed ? g->replay.step_time_s : 0};
    rc = rel_fleet_build(p, &fo, &g->classes, &g->n_classes, st);
    g->fleet_wall_s = sim_wall_s() - t0;
    if (rc != SIM_OK)
        return rc;
    g->mtbf_s = rel_fleet_mtbf_s(g->classes, g->n_classes);
    g->young_s = rel_young_interval_s(g->mtbf_s, g->ckpt_block_s);
    g->daly_s = rel_daly_interval_s(g->mtbf_s, g->ckpt_block_s);
    double ds = g->daly_s / g->step_s;
    g->daly_steps = ds < 1 ? 1 : ds < (double)g->steps ? (int64_t)llround(ds) : g->steps;
    g->seeds = o && o->seeds > 0 ? o->seeds : rel->seeds;
    g->seed0 = plan_seed(p);

    /* the intervals: the main one, the option's, the sweep's */
    rc = add_point(g, rel->save_interval > 0 ? rel->save_interval : g->daly_steps,
                   rel->save_interval > 0 ? "set" : "daly", NULL, st);
    for (size_t i = 0; rc == SIM_OK && o && i < o->n_intervals; i++)
        rc = add_point(g, o->intervals[i], "option", NULL, st);
    static const double f[REL_SWEEP_FACTORS] = {0.125, 0.25, 0.5, 0.70710678118654752, 1,
                                                1.41421356237309505, 2, 4, 8};
    for (size_t i = 0; rc == SIM_OK && o && o->sweep && i < REL_SWEEP_FACTORS; i++)
        rc = add_point(g, (int64_t)llround(f[i] * g->daly_s / g->step_s), "sweep", NULL, st);
    if (rc != SIM_OK)
        return rc;
    int64_t main_k = g->points[0].save_interval;
    qsort(g->points, g->n_points, sizeof *g->points, cmp_points);
    t0 = sim_wall_s();
    for (size_t i = 0; rc == SIM_OK && i < g->n_points; i++) {
        bool is_main = g->points[i].save_interval == main_k;
        if (is_main)
            g->main = i;
        rc = simulate_point(p, g, &g->points[i], is_main && o ? o->log_seeds : 0, st);
    }
    g->mc_wall_s = sim_wall_s() - t0;
    for (size_t i = 0; rc == SIM_OK && i < g->n_points; i++)
        if (g->points[i].ettr.mean > g->points[g->best].ettr.mean)
            g->best = i;
    return rc;
}

void rel_goodput_free(rel_goodput_result *g)
{
    if (!g)
        return;
    exec_result_free(&g->replay);
    mdc_result_free(&g->mdc);
    free(g->classes);
    for (size_t i = 0; i < g->n_points; i++) {
        rel_goodput_point *pt = &g->points[i];
        for (int64_t s = 0; s < pt->n_runs; s++)
            rel_run_free(&pt->runs[s]);
        free(pt->runs);
        free(pt->failures);
        free(pt->lost_s);
        free(pt->down_s);
        free(pt->slow_s);
    }
    free(g->points);
    memset(g, 0, sizeof *g);
}
