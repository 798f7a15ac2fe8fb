/*
 * record_rel.c: a goodput run's rows (see record_rel.h).
 */
#include "out/record_rel.h"

#include <math.h>
#include <stddef.h>

static sim_code write_points(db *d, int64_t run_id, const rel_goodput_result *g,
                             const power_result *pw, sim_status *st)
{
    static const char *const cols[] = {
        "run_id", "save_interval", "source", "is_main", "interval_s", "seeds", "step_time_s",
        "steps", "tokens", "chips", "hosts", "spare_nodes", "async_save", "ckpt_bytes",
        "ckpt_block_s", "ckpt_drain_s", "recovery_s", "mtbf_s", "young_interval_s",
        "daly_interval_s", "ettr_mean", "ettr_sd", "ettr_ci95", "ettr_p50", "wall_s_mean",
        "wall_s_sd", "wall_s_ci95", "wall_s_min", "wall_s_max", "goodput_tokens_per_s",
        "interruptions_per_day", "degradations_per_day", "stalls_per_day", "checkpoints", "ckpt_s",
        "drain_wait_s", "daly_ettr", "energy_J", "cost_usd"};
    db_stmt *s = NULL;
    sim_code rc = db_insert_prepare(d, "goodput", cols, sizeof cols / sizeof cols[0], &s, st);
    for (size_t i = 0; rc == SIM_OK && i < g->n_points; i++) {
        const rel_goodput_point *pt = &g->points[i];
        size_t c = 0;
        db_insert_bind_int(s, c++, run_id);
        db_insert_bind_int(s, c++, pt->save_interval);
        db_insert_bind_text(s, c++, pt->source);
        db_insert_bind_int(s, c++, i == g->main);
        db_insert_bind_figure(s, c++, pt->interval_s);
        db_insert_bind_int(s, c++, g->seeds);
        db_insert_bind_figure(s, c++, g->step_s);
        db_insert_bind_int(s, c++, g->steps);
        db_insert_bind_figure(s, c++, g->tokens);
        db_insert_bind_int(s, c++, g->chips);
        db_insert_bind_int(s, c++, g->hosts);
        db_insert_bind_int(s, c++, g->spare_nodes);
        db_insert_bind_int(s, c++, g->ckpt_drain_s > 0);
        db_insert_bind_figure(s, c++, g->ckpt_bytes);
        db_insert_bind_figure(s, c++, g->ckpt_block_s);
        db_insert_bind_figure(s, c++, g->ckpt_drain_s);
        db_insert_bind_figure(s, c++, g->recovery_s);
        db_insert_bind_figure(s, c++, g->mtbf_s);
        db_insert_bind_figure(s, c++, g->young_s);
        db_insert_bind_figure(s, c++, g->daly_s);
        db_insert_bind_figure(s, c++, pt->ettr.mean);
        db_insert_bind_figure(s, c++, pt->ettr.sd);
        db_insert_bind_figure(s, c++, pt->ettr.ci_half);
        db_insert_bind_figure(s, c++, pt->ettr.p50);
        db_insert_bind_figure(s, c++, pt->wall_s.mean);
        db_insert_bind_figure(s, c++, pt->wall_s.sd);
        db_insert_bind_figure(s, c++, pt->wall_s.ci_half);
        db_insert_bind_figure(s, c++, pt->wall_s.min);
        db_insert_bind_figure(s, c++, pt->wall_s.max);
        db_insert_bind_figure(s, c++, pt->goodput_tokens_per_s);
        db_insert_bind_figure(s, c++, pt->interruptions_per_day);
        db_insert_bind_figure(s, c++, pt->degradations_per_day);
        db_insert_bind_figure(s, c++, pt->stalls_per_day);
        db_insert_bind_figure(s, c++, pt->checkpoints);
        db_insert_bind_figure(s, c++, pt->ckpt_s);
        db_insert_bind_figure(s, c++, pt->drain_wait_s);
        db_insert_bind_figure(s, c++, pt->daly_ettr);
        double energy = NAN, usd = NAN;
        if (pw && pw->modeled)
            power_run_cost(pw, pt->wall_s.mean, &energy, &usd);
        db_insert_bind_figure(s, c++, energy);
        db_insert_bind_figure(s, c++, usd);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    return rc;
}

static sim_code write_seeds(db *d, int64_t run_id, const rel_goodput_result *g, sim_status *st)
{
    static const char *const cols[] = {
        "run_id", "save_interval", "seed",   "wall_s",       "ettr",   "interruptions",
        "degradations", "stalls",  "checkpoints", "ckpt_s", "drain_wait_s", "lost_s",
        "down_s", "slow_s"};
    db_stmt *s = NULL;
    sim_code rc =
        db_insert_prepare(d, "goodput_seed", cols, sizeof cols / sizeof cols[0], &s, st);
    for (size_t i = 0; rc == SIM_OK && i < g->n_points; i++)
        for (int64_t k = 0; rc == SIM_OK && k < g->points[i].n_runs; k++) {
            const rel_run *r = &g->points[i].runs[k];
            double lost = 0, down = 0, slow = 0;
            for (size_t c = 0; c < r->n_classes; c++) {
                lost += r->lost_s[c];
                down += r->down_s[c];
                slow += r->slow_s[c];
            }
            size_t c = 0;
            db_insert_bind_int(s, c++, run_id);
            db_insert_bind_int(s, c++, g->points[i].save_interval);
            db_insert_bind_int(s, c++, (int64_t)(g->seed0 + (uint64_t)k));
            db_insert_bind_double(s, c++, r->wall_s);
            db_insert_bind_double(s, c++, r->ettr);
            db_insert_bind_int(s, c++, r->interruptions);
            db_insert_bind_int(s, c++, r->degradations);
            db_insert_bind_int(s, c++, r->stalls);
            db_insert_bind_int(s, c++, r->checkpoints);
            db_insert_bind_double(s, c++, r->ckpt_s);
            db_insert_bind_double(s, c++, r->drain_wait_s);
            db_insert_bind_double(s, c++, lost);
            db_insert_bind_double(s, c++, down);
            db_insert_bind_double(s, c++, slow);
            rc = db_insert_exec(s, st);
        }
    db_insert_finish(s);
    return rc;
}

static sim_code write_causes(db *d, int64_t run_id, const rel_goodput_result *g,
                             sim_status *st)
{
    static const char *const cols[] = {
        "run_id",   "save_interval", "cause",   "effect", "wait_repair", "components", "mtbf_s",
        "nodes",    "slowdown",      "failures", "per_day", "lost_s",    "down_s",     "slow_s"};
    static const char *const effects[] = {"stop", "degrade", "stall"};
    db_stmt *s = NULL;
    sim_code rc =
        db_insert_prepare(d, "goodput_cause", cols, sizeof cols / sizeof cols[0], &s, st);
    for (size_t i = 0; rc == SIM_OK && i < g->n_points; i++) {
        const rel_goodput_point *pt = &g->points[i];
        for (size_t k = 0; rc == SIM_OK && k < g->n_classes; k++) {
            const rel_class *cl = &g->classes[k];
            bool stop = cl->effect == REL_STOP;
            size_t c = 0;
            db_insert_bind_int(s, c++, run_id);
            db_insert_bind_int(s, c++, pt->save_interval);
            db_insert_bind_text(s, c++, cl->name);
            db_insert_bind_text(s, c++, effects[cl->effect]);
            db_insert_bind_int(s, c++, cl->wait_repair);
            db_insert_bind_int(s, c++, cl->count);
            db_insert_bind_figure(s, c++, cl->life.mean_s);
            if (stop)
                db_insert_bind_int(s, c++, cl->nodes);
            else
                db_insert_bind_null(s, c++);
            db_insert_bind_figure(s, c++, cl->effect == REL_DEGRADE ? cl->slowdown : NAN);
            db_insert_bind_double(s, c++, pt->failures[k]);
            db_insert_bind_double(s, c++, pt->failures[k] / (pt->wall_s.mean / 86400));
            db_insert_bind_double(s, c++, pt->lost_s[k]);
            db_insert_bind_double(s, c++, pt->down_s[k]);
            db_insert_bind_double(s, c++, pt->slow_s[k]);
            rc = db_insert_exec(s, st);
        }
    }
    db_insert_finish(s);
    return rc;
}

static sim_code write_logs(db *d, int64_t run_id, const rel_goodput_result *g, sim_status *st)
{
    static const char *const cols[] = {"run_id", "seed",   "n",     "t_s",
                                       "cause",  "nodes", "lost_s", "down_s"};
    db_stmt *s = NULL;
    sim_code rc = db_insert_prepare(d, "goodput_interruption", cols,
                                    sizeof cols / sizeof cols[0], &s, st);
    const rel_goodput_point *pt = g->n_points ? &g->points[g->main] : NULL;
    for (int64_t k = 0; rc == SIM_OK && pt && k < pt->n_runs; k++) {
        const rel_run *r = &pt->runs[k];
        for (size_t i = 0; rc == SIM_OK && i < r->n_log; i++) {
            const rel_interruption *e = &r->log[i];
            size_t c = 0;
            db_insert_bind_int(s, c++, run_id);
            db_insert_bind_int(s, c++, (int64_t)(g->seed0 + (uint64_t)k));
            db_insert_bind_int(s, c++, (int64_t)i);
            db_insert_bind_double(s, c++, e->t_s);
            db_insert_bind_text(s, c++, g->classes[e->cls].name);
            db_insert_bind_int(s, c++, e->nodes);
            db_insert_bind_double(s, c++, e->lost_s);
            db_insert_bind_double(s, c++, e->down_s);
            rc = db_insert_exec(s, st);
        }
    }
    db_insert_finish(s);
    return rc;
}

sim_code db_record_goodput(db *d, int64_t run_id, const void *ctx, sim_status *st)
{
    const db_goodput_rows *rows = ctx;
    const rel_goodput_result *g = rows->g;
    sim_code rc = write_points(d, run_id, g, rows->power, st);
    if (rc == SIM_OK)
        rc = write_seeds(d, run_id, g, st);
    if (rc == SIM_OK)
        rc = write_causes(d, run_id, g, st);
    if (rc == SIM_OK)
        rc = write_logs(d, run_id, g, st);
    return rc;
}
