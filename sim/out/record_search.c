/*
 * record_search.c: a parallelism search's rows (see record_search.h).
 */
#include "out/record_search.h"

#include <math.h>
#include <stddef.h>

static const char *const state_names[] = {"rejected", "estimated", "replayed", "failed"};
static const char *const rec_names[] = {"none", "selective", "full"};

static sim_code write_summary(db *d, int64_t run_id, const search_record *x, sim_status *st)
{
    static const char *const cols[] = {"run_id",     "chips",        "candidates", "rejected",
                                       "estimated",  "replayed",     "spearman",
                                       "spearman_top", "median_error", "max_error",
                                       "best_candidate"};
    int64_t rejected = 0;
    for (size_t i = 0; i < x->r->n; i++)
        rejected += x->r->c[i].state == SEARCH_REJECTED;
    db_stmt *s = NULL;
    sim_code rc = db_insert_prepare(d, "search", cols, sizeof cols / sizeof cols[0], &s, st);
    if (rc == SIM_OK) {
        size_t c = 0;
        db_insert_bind_int(s, c++, run_id);
        db_insert_bind_int(s, c++, x->r->chips);
        db_insert_bind_int(s, c++, (int64_t)x->r->n);
        db_insert_bind_int(s, c++, rejected);
        db_insert_bind_int(s, c++, (int64_t)x->r->n_valid);
        db_insert_bind_int(s, c++, x->f->replayed);
        db_insert_bind_figure(s, c++, x->f->spearman);
        db_insert_bind_figure(s, c++, x->f->spearman_top);
        db_insert_bind_figure(s, c++, x->f->median_err);
        db_insert_bind_figure(s, c++, x->f->max_err);
        if (x->f->best)
            db_insert_bind_int(s, c++, (int64_t)(x->f->best - x->r->c));
        else
            db_insert_bind_null(s, c++);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    return rc;
}

static sim_code write_candidates(db *d, int64_t run_id, const search_result *r, sim_status *st)
{
    static const char *const cols[] = {
        "run_id",        "candidate",     "tp",          "pp",
        "dp",            "cp",            "ep",          "virtual_stages",
        "first_stage_layers", "last_stage_layers", "micro_batch", "zero",
        "fsdp",          "fsdp_shard_size", "schedule",
        "recompute",     "state",         "reason",      "chosen",
        "memory_bytes",  "est_step_time_s", "est_mfu",   "est_compute_s",
        "est_exposed_comm_s", "est_bubble_s", "step_time_s", "mfu",
        "tokens_per_s",  "replay_wall_s"};
    db_stmt *s = NULL;
    sim_code rc =
        db_insert_prepare(d, "search_candidate", cols, sizeof cols / sizeof cols[0], &s, st);
    for (size_t i = 0; rc == SIM_OK && i < r->n; i++) {
        const search_cand *k = &r->c[i];
        bool est = k->state != SEARCH_REJECTED, rep = k->state == SEARCH_REPLAYED;
        size_t c = 0;
        db_insert_bind_int(s, c++, run_id);
        db_insert_bind_int(s, c++, (int64_t)i);
        db_insert_bind_int(s, c++, k->tp);
        db_insert_bind_int(s, c++, k->pp);
        db_insert_bind_int(s, c++, k->dp);
        db_insert_bind_int(s, c++, k->cp);
        db_insert_bind_int(s, c++, k->ep);
        db_insert_bind_int(s, c++, k->vp);
        db_insert_bind_int(s, c++, k->first_layers);
        db_insert_bind_int(s, c++, k->last_layers);
        db_insert_bind_int(s, c++, k->micro_batch);
        db_insert_bind_int(s, c++, k->zero);
        char fsdp[32];
        search_fsdp_value(k->fsdp, fsdp, sizeof fsdp);
        db_insert_bind_text(s, c++, k->fsdp == WL_FSDP_NONE ? NULL : fsdp);
        if (k->fsdp_shard)
            db_insert_bind_int(s, c++, k->fsdp_shard);
        else
            db_insert_bind_null(s, c++);
        db_insert_bind_text(s, c++, k->pp > 1 ? search_schedule_name(k->schedule) : NULL);
        db_insert_bind_text(s, c++, rec_names[k->recompute]);
        db_insert_bind_text(s, c++, state_names[k->state]);
        db_insert_bind_text(s, c++, k->state == SEARCH_REJECTED || k->state == SEARCH_FAILED ||
                                                k->dominated
                                        ? k->reason
                                        : NULL);
        db_insert_bind_text(s, c++, k->top ? "top" : k->sample ? "sample" : NULL);
        db_insert_bind_figure(s, c++, est ? k->est.memory_bytes : NAN);
        db_insert_bind_figure(s, c++, est ? k->est.step_s : NAN);
        db_insert_bind_figure(s, c++, est ? k->est.mfu : NAN);
        db_insert_bind_figure(s, c++, est ? k->est.compute_s : NAN);
        db_insert_bind_figure(s, c++, est ? k->est.exposed_s : NAN);
        db_insert_bind_figure(s, c++, est ? k->est.bubble_s : NAN);
        db_insert_bind_figure(s, c++, rep ? k->replay_step_s : NAN);
        db_insert_bind_figure(s, c++, rep ? k->replay_mfu : NAN);
        db_insert_bind_figure(s, c++, rep ? k->replay_tokens_per_s : NAN);
        db_insert_bind_figure(s, c++, rep ? k->replay_wall_s : NAN);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    return rc;
}

sim_code db_record_search(db *d, int64_t run_id, const void *ctx, sim_status *st)
{
    const search_record *x = ctx;
    sim_code rc = write_summary(d, run_id, x, st);
    if (rc == SIM_OK)
        rc = write_candidates(d, run_id, x->r, st);
    return rc;
}
