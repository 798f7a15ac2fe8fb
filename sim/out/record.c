/*
 * record.c: a replay as rows of the results database (see record.h for the contract).
 *
 * A row is written as one array of fields, each a column name beside its value, so the
 * column list is the one the compiler counts of that array (REC_PUT) and a name cannot drift
 * away from its value. The INSERT of a table is prepared from the names of its first row
 * (rec_put); every later row of that table comes from the same array literal, so it names the
 * same columns in the same order (checked by an assert).
 *
 * A run is recorded in one transaction (run, step, rank, link, link_stats, collective,
 * multidc, wan, multidc_site, multidc_sync, power and sweep_param rows), so an interrupted run
 * leaves nothing behind. Figures of
 * the measured steps only: warm-up steps and their collectives are left out and the measured
 * ones are numbered from 0.
 */
#include "out/record.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "coll/coll.h"
#include "core/vec.h"
#include "out/db_topo.h"
#include "out/record_power.h"
#include "topo/topo.h"

typedef enum rec_kind { REC_NULL, REC_INT, REC_REAL, REC_TEXT } rec_kind;

/* One column of a row: its name and its value (text borrowed until the row is inserted). */
typedef struct rec_field {
    const char *col;
    rec_kind kind;
    int64_t i;
    double x;
    const char *text; /* NULL binds NULL */
} rec_field;

#define F_INT(c, v) {(c), REC_INT, (v), 0, NULL}
#define F_REAL(c, v) {(c), REC_REAL, 0, (v), NULL}
#define F_TEXT(c, v) {(c), REC_TEXT, 0, 0, (v)}
#define F_NULL(c) {(c), REC_NULL, 0, 0, NULL}

/* The widest row of the schema has fewer columns (multidc: 22). */
#define REC_MAX_COLS 32

/* The INSERT into one table, prepared at its first row. */
typedef struct rec_insert {
    db *d;
    const char *table;
    db_stmt *s;                    /* NULL until the first row */
    const char *cols[REC_MAX_COLS]; /* the first row's names (borrowed literals) */
    size_t n;
} rec_insert;

#define REC_INSERT(d, table) {(d), (table), NULL, {NULL}, 0}

#ifndef NDEBUG
/* Whether f[0..n) names the columns in's statement was prepared with. */
static int rec_same_columns(const rec_insert *in, const rec_field *f, size_t n)
{
    if (n != in->n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].col, in->cols[i]) != 0)
            return 0;
    return 1;
}
#endif

/* Inserts the row f[0..n) into in's table, preparing the INSERT from f's names first. */
static sim_code rec_put(rec_insert *in, const rec_field *f, size_t n, sim_status *st)
{
    if (!in->s) {
        if (n > REC_MAX_COLS)
            return sim_status_set(st, SIM_ERR_INTERNAL, NULL, 0, 0,
                                  "a row of %zu columns for table %s, at most %d", n,
                                  in->table, REC_MAX_COLS);
        for (size_t i = 0; i < n; i++)
            in->cols[i] = f[i].col;
        in->n = n;
        sim_code rc = db_insert_prepare(in->d, in->table, in->cols, n, &in->s, st);
        if (rc != SIM_OK)
            return rc;
    }
    assert(rec_same_columns(in, f, n));
    for (size_t i = 0; i < n; i++) {
        switch (f[i].kind) {
        case REC_INT:
            db_insert_bind_int(in->s, i, f[i].i);
            break;
        case REC_REAL:
            db_insert_bind_double(in->s, i, f[i].x);
            break;
        case REC_TEXT:
            db_insert_bind_text(in->s, i, f[i].text);
            break;
        case REC_NULL:
            db_insert_bind_null(in->s, i);
            break;
        }
    }
    return db_insert_exec(in->s, st);
}

/* Inserts the row array row (an array, not a pointer: its length is the column count). */
#define REC_PUT(in, row, st) rec_put((in), (row), sizeof(row) / sizeof((row)[0]), (st))

/* Frees in's statement; the next row prepares it again. */
static void rec_done(rec_insert *in)
{
    db_insert_finish(in->s);
    in->s = NULL;
    in->n = 0;
}

typedef SIM_VEC(char) text_vec;

/* Appends the n bytes of s to t; 0, or -1 when memory runs out. */
static int text_add(text_vec *t, const char *s, size_t n)
{
    if (sim_vec_reserve(t, t->n + n) != 0)
        return -1;
    memcpy(t->v + t->n, s, n);
    t->n += n;
    return 0;
}

/* The config file's text with the overrides appended, for run.config_yaml; NULL when the file
 * cannot be read or memory runs out. Malloc'ed, owned by the caller. */
static char *config_text(const char *path, const ydoc_override *ov, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    text_vec t = {0};
    char chunk[4096];
    size_t got;
    int rc = 0;
    while (rc == 0 && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = text_add(&t, chunk, got);
    fclose(f);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = text_add(&t, "\n# ", 3);
        if (rc == 0)
            rc = text_add(&t, ov[i].origin, strlen(ov[i].origin));
    }
    if (rc == 0)
        rc = sim_vec_push(&t, '\0');
    if (rc != 0)
        sim_vec_free(&t);
    return t.v;
}

/* A step row per measured step, with the step's MFU. */
static sim_code write_steps(db *d, int64_t run_id, const plan *p, const exec_result *r,
                            sim_status *st)
{
    rec_insert in = REC_INSERT(d, "step");
    double model_flops = wl_model_flops_per_step(plan_workload(p));
    double peak = topo_chip_hw(plan_topo(p), 0)->peak_bf16_flops * (double)plan_ranks(p);
    sim_code rc = SIM_OK;
    for (int64_t k = plan_warmup_steps(p); rc == SIM_OK && k < r->n_step_rows; k++) {
        const exec_step *row = &r->step_rows[k];
        double t = row->end_s - row->start_s;
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_INT("step", k - plan_warmup_steps(p)),
            F_REAL("start_s", row->start_s),
            F_REAL("end_s", row->end_s),
            F_REAL("time_s", t),
            F_INT("tokens", (int64_t)wl_tokens_per_step(plan_workload(p))),
            F_REAL("mfu", model_flops / (t * peak)),
            F_REAL("exposed_tp_s", row->exposed_s[PLAN_TP]),
            F_REAL("exposed_pp_s", row->exposed_s[PLAN_PP]),
            F_REAL("exposed_dp_s", row->exposed_s[PLAN_DP]),
            F_REAL("exposed_cp_s", row->exposed_s[PLAN_CP]),
            F_REAL("exposed_ep_s", row->exposed_s[PLAN_EP]),
            F_REAL("bubble_s", row->bubble_s),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

/* A rank row per rank: where it sits, its coordinates, its time split and memory peak. */
static sim_code write_ranks(db *d, int64_t run_id, const plan *p, const exec_result *r,
                            sim_status *st)
{
    rec_insert in = REC_INSERT(d, "rank");
    const net_graph *g = topo_graph(plan_topo(p));
    sim_code rc = SIM_OK;
    for (int64_t i = 0; rc == SIM_OK && i < plan_ranks(p); i++) {
        const exec_rank_stats *a = &r->ranks[i];
        double exposed = 0;
        for (int dd = 0; dd < PLAN_DIM_COUNT; dd++)
            exposed += a->exposed_s[dd];
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_INT("rank", i),
            F_TEXT("chip", net_graph_node_name(g, (net_node_id)i)),
            F_TEXT("site", topo_site_name(plan_topo(p), topo_chip_site(plan_topo(p), (int32_t)i))),
            F_INT("node", topo_chip_node(plan_topo(p), (int32_t)i)),
            F_INT("tp_idx", plan_coord(p, i, PLAN_TP)),
            F_INT("pp_idx", plan_coord(p, i, PLAN_PP)),
            F_INT("dp_idx", plan_coord(p, i, PLAN_DP)),
            F_INT("cp_idx", plan_coord(p, i, PLAN_CP)),
            F_INT("ep_idx", plan_coord(p, i, PLAN_EP)),
            F_REAL("compute_s", a->compute_s),
            F_REAL("exposed_comm_s", exposed),
            F_REAL("idle_s", a->idle_s),
            F_REAL("bubble_s", a->bubble_s),
            F_REAL("peak_memory_bytes", a->peak_memory_bytes),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

/* A link_stats row per link that carried bytes in the measured steps. */
static sim_code write_link_stats(db *d, int64_t run_id, const plan *p, const exec_result *r,
                                 sim_status *st)
{
    rec_insert in = REC_INSERT(d, "link_stats");
    const net_graph *g = topo_graph(plan_topo(p));
    sim_code rc = SIM_OK;
    for (size_t l = 0; rc == SIM_OK && l < net_graph_link_count(g); l++) {
        if (r->link_bytes[l] <= 0)
            continue;
        double cap = net_graph_link(g, (net_link_id)l)->bw_Bps;
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_INT("link_id", (int64_t)l),
            F_REAL("bytes", r->link_bytes[l]),
            F_NULL("busy_s"),
            F_REAL("mean_util", r->link_bytes[l] / (cap * r->measured_s)),
            F_NULL("peak_util"),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

/* A collective row per measured collective, numbered from 0 in the executor's order. */
static sim_code write_colls(db *d, int64_t run_id, const plan *p, const exec_result *r,
                            sim_status *st)
{
    rec_insert in = REC_INSERT(d, "collective");
    sim_code rc = SIM_OK;
    for (size_t i = 0, id = 0; rc == SIM_OK && i < r->n_colls; i++) {
        const exec_coll_rec *c = &r->colls[i];
        if (c->step < plan_warmup_steps(p))
            continue;
        double t = c->end_s - c->start_s, algbw = t > 0 ? c->bytes / t : 0;
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_INT("coll_id", (int64_t)id++),
            F_INT("step", c->step - plan_warmup_steps(p)),
            F_TEXT("kind", coll_kind_name(c->kind)),
            F_TEXT("dim", plan_dim_name(c->dim)),
            F_INT("group_size", c->group_size),
            F_REAL("bytes", c->bytes),
            F_TEXT("algorithm", coll_algo_name(c->algo)),
            F_REAL("start_s", c->start_s),
            F_REAL("end_s", c->end_s),
            F_REAL("algbw_Bps", algbw),
            F_REAL("busbw_Bps", algbw * coll_busbw_factor(c->kind, (size_t)c->group_size)),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

static int is_diloco(int scheme)
{
    return scheme == PLAN_XDC_DILOCO || scheme == PLAN_XDC_STREAMING;
}

/* The multidc row: the scheme's settings and its figures per round. */
static sim_code write_multidc(db *d, int64_t run_id, const plan *p, const mdc_result *m,
                              sim_status *st)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    const net_graph *g = topo_graph(plan_topo(p));
    int diloco = is_diloco(x->scheme), streaming = x->scheme == PLAN_XDC_STREAMING;
    double wan = 0;
    for (size_t l = 0; l < m->n_links; l++)
        if (net_graph_link(g, (net_link_id)l)->kind == NET_LINK_WAN)
            wan += m->wan_bytes[l];
    rec_insert in = REC_INSERT(d, "multidc");
    const rec_field f[] = {
        F_INT("run_id", run_id),
        F_TEXT("scheme", plan_xdc_name(x->scheme)),
        F_INT("sites", x->sites),
        F_INT("inner_steps", diloco ? x->inner_steps : 1),
        F_TEXT("payload", diloco ? plan_payload_name(x->payload) : NULL),
        streaming ? (rec_field)F_INT("fragments", x->fragments) : (rec_field)F_NULL("fragments"),
        streaming ? (rec_field)F_INT("max_delay", x->max_delay) : (rec_field)F_NULL("max_delay"),
        F_TEXT("replay", plan_xdc_replay_name(m->replay)),
        F_TEXT("outer_update", x->scheme == PLAN_XDC_DILOCO
                                   ? plan_outer_update_name(x->outer_update) : NULL),
        diloco ? (rec_field)F_INT("staleness_steps", m->staleness_steps)
               : (rec_field)F_NULL("staleness_steps"),
        F_REAL("inner_step_s", m->inner_step_s),
        F_REAL("inner_beside_s", m->inner_beside_s),
        F_REAL("outer_sync_s", m->outer_sync_s),
        F_REAL("outer_sync_cosim_s", m->outer_sync_cosim_s),
        F_REAL("outer_opt_s", m->outer_opt_s),
        F_REAL("exposed_s", m->exposed_s),
        F_REAL("hidden_s", m->hidden_s),
        F_REAL("round_s", m->round_s),
        F_REAL("compute_util", m->compute_util),
        F_REAL("mfu", m->mfu),
        F_REAL("tokens_per_s", m->tokens_per_s),
        F_REAL("wan_bytes", wan),
    };
    sim_code rc = REC_PUT(&in, f, st);
    rec_done(&in);
    return rc;
}

/* A multidc_site row per site of a DiLoCo scheme. */
static sim_code write_sites(db *d, int64_t run_id, const plan *p, const mdc_result *m,
                            sim_status *st)
{
    const topo *t = plan_topo(p);
    rec_insert in = REC_INSERT(d, "multidc_site");
    sim_code rc = SIM_OK;
    for (int64_t s = 0; rc == SIM_OK && s < m->n_sites; s++) {
        const hw_chip *c = topo_chip_hw(t, (int32_t)plan_site_base(p, s));
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_TEXT("site", plan_replica_name(p, s)),
            F_TEXT("chip", c ? c->name : "?"),
            F_REAL("inner_step_s", m->site_step_s[s]),
            F_REAL("idle_s", m->site_idle_s[s]),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

/*
 * A multidc_sync row per outer sync of a DiLoCo round (m->syncs: per fragment, one standing
 * for F in the shortcut replay), with the slowdowns it suffers and causes: the inner steps
 * beside it against one alone (NULL when none is beside it), and the sync against itself
 * alone. Written after the multidc row it references.
 */
static sim_code write_syncs(db *d, int64_t run_id, const mdc_result *m, sim_status *st)
{
    rec_insert in = REC_INSERT(d, "multidc_sync");
    sim_code rc = SIM_OK;
    for (int64_t i = 0; rc == SIM_OK && i < m->n_syncs; i++) {
        const mdc_sync *y = &m->syncs[i];
        int beside = y->steps_beside > 0 && m->inner_step_s > 0, alone = y->alone_s > 0;
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_INT("fragment", y->fragment),
            F_INT("count", y->count),
            F_REAL("start_s", y->start_s),
            F_REAL("end_s", y->end_s),
            F_REAL("alone_s", y->alone_s),
            F_REAL("exposed_s", y->exposed_s),
            F_REAL("hidden_s", y->hidden_s),
            F_INT("steps_beside", y->steps_beside),
            beside ? (rec_field)F_REAL("inner_beside_s", y->inner_beside_s)
                   : (rec_field)F_NULL("inner_beside_s"),
            beside ? (rec_field)F_REAL("inner_slowdown", y->inner_beside_s / m->inner_step_s - 1)
                   : (rec_field)F_NULL("inner_slowdown"),
            alone ? (rec_field)F_REAL("sync_slowdown", (y->end_s - y->start_s) / y->alone_s - 1)
                  : (rec_field)F_NULL("sync_slowdown"),
            F_REAL("wan_bytes", y->wan_bytes),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

/* A wan row per directed WAN link: its sites, bytes per round and mean utilization. */
static sim_code write_wan(db *d, int64_t run_id, const plan *p, const mdc_result *m,
                          sim_status *st)
{
    const net_graph *g = topo_graph(plan_topo(p));
    rec_insert in = REC_INSERT(d, "wan");
    sim_code rc = SIM_OK;
    for (size_t l = 0; rc == SIM_OK && l < m->n_links; l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != NET_LINK_WAN)
            continue;
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_INT("link_id", (int64_t)l),
            F_TEXT("src_site", topo_site_name(plan_topo(p), (size_t)topo_node_site(plan_topo(p), k->src))),
            F_TEXT("dst_site", topo_site_name(plan_topo(p), (size_t)topo_node_site(plan_topo(p), k->dst))),
            F_REAL("bytes", m->wan_bytes[l]),
            F_REAL("mean_util", m->wan_bytes[l] / (k->bw_Bps * m->round_s)),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

/* The power row, when the power model covers the replay (power/power.h). */
static sim_code write_power(db *d, int64_t run_id, const plan *p, const exec_result *r,
                            sim_status *st)
{
    power_result pw;
    sim_code rc = power_compute(p, r, &pw, st);
    if (rc == SIM_OK && pw.modeled)
        rc = db_record_power(d, run_id, &pw, st);
    return rc;
}

sim_code db_record_replay(db *d, int64_t run_id, const plan *p, const exec_result *r,
                          const mdc_result *m, sim_status *st)
{
    sim_code rc = write_steps(d, run_id, p, r, st);
    if (rc == SIM_OK)
        rc = write_ranks(d, run_id, p, r, st);
    if (rc == SIM_OK)
        rc = db_links_write(d, run_id, plan_topo(p), st);
    if (rc == SIM_OK)
        rc = write_link_stats(d, run_id, p, r, st);
    if (rc == SIM_OK)
        rc = write_colls(d, run_id, p, r, st);
    if (rc == SIM_OK && m)
        rc = write_multidc(d, run_id, p, m, st);
    if (rc == SIM_OK && m)
        rc = write_wan(d, run_id, p, m, st);
    if (rc == SIM_OK && m)
        rc = write_sites(d, run_id, p, m, st);
    if (rc == SIM_OK && m)
        rc = write_syncs(d, run_id, m, st);
    if (rc == SIM_OK)
        rc = write_power(d, run_id, p, r, st);
    return rc;
}

/* The sweep_param rows of a sweep point: every override and '_point', the point's name. */
static sim_code write_sweep_params(db *d, int64_t run_id, const db_record_src *src,
                                   sim_status *st)
{
    rec_insert in = REC_INSERT(d, "sweep_param");
    sim_code rc = SIM_OK;
    for (size_t i = 0; rc == SIM_OK && i <= src->n_ov; i++) {
        const rec_field f[] = {
            F_INT("run_id", run_id),
            F_TEXT("key", i < src->n_ov ? src->ov[i].path : "_point"),
            F_TEXT("value", i < src->n_ov ? src->ov[i].value : src->point),
        };
        rc = REC_PUT(&in, f, st);
    }
    rec_done(&in);
    return rc;
}

/* The result columns of the run row of a finished replay (row's identity columns are the
 * caller's). */
static void run_results(db_run *row, const plan *p, const exec_result *r, const mdc_result *m)
{
    row->status = r->stopped ? "stopped" : "ok";
    row->status_reason = r->stopped ? "a bound (--max-events or --max-wall) was reached" : NULL;
    row->wall_s = r->wall_s;
    row->steps = r->stopped ? 0 : plan_steps(p);
    if (!r->stopped) {
        row->step_time_s = r->step_time_s;
        row->tokens_per_s = r->tokens_per_s;
        row->mfu = r->mfu;
        row->hfu = r->hfu;
    }
    int diloco = m && is_diloco(plan_cross_dc_of(p)->scheme);
    if (diloco && !r->stopped) { /* over whole rounds: the outer syncs count */
        double H = (double)plan_cross_dc_of(p)->inner_steps;
        row->step_time_s = m->round_s / H;
        row->tokens_per_s = m->tokens_per_s;
        row->mfu = m->mfu;
        row->hfu = r->hfu * m->mfu / r->mfu;
    }
    row->model_flops_per_step = wl_model_flops_per_step(plan_workload(p));
    row->mfu_causal = row->mfu * wl_model_flops_causal_per_step(plan_workload(p)) /
                      row->model_flops_per_step;
    row->hardware_flops_per_step = wl_hardware_flops_per_step(plan_workload(p), plan_parallel(p));
    row->chips = diloco ? plan_cross_dc_of(p)->total_ranks : plan_ranks(p);
    double peak = 0;
    for (int64_t i = 0; i < plan_site_base(p, r->n_replicas > 1 ? r->n_replicas : 1); i++)
        peak = r->ranks[i].peak_memory_bytes > peak ? r->ranks[i].peak_memory_bytes : peak;
    row->peak_memory_bytes = peak;
}

sim_code db_record_run(db *d, const plan *p, const exec_result *r, const mdc_result *m,
                       const db_record_src *src, int64_t *run_id, sim_status *st)
{
    db_run row;
    db_run_init(&row);
    char *text = config_text(src->config_path, src->ov, src->n_ov);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    row.command = src->command;
    row.config_path = src->config_path;
    row.config_yaml = text;
    row.topology = topo_name(plan_topo(p));
    row.workload = plan_workload(p)->name;
    row.seed = plan_seed(p);
    row.peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024;
    if (r) {
        run_results(&row, p, r, m);
    } else {
        row.status = "ok";
        row.chips = plan_ranks(p);
        row.model_flops_per_step = wl_model_flops_per_step(plan_workload(p));
    }
    if (src->wall_s > 0)
        row.wall_s = src->wall_s;
    sim_code rc = db_begin(d, st);
    if (rc == SIM_OK)
        rc = db_run_insert(d, &row, run_id, st);
    if (rc == SIM_OK && r && !r->stopped)
        rc = db_record_replay(d, *run_id, p, r, m, st);
    if (rc == SIM_OK && src->point)
        rc = write_sweep_params(d, *run_id, src, st);
    if (rc == SIM_OK && src->extra)
        rc = src->extra(d, *run_id, src->extra_ctx, st);
    if (rc == SIM_OK)
        rc = db_commit(d, st);
    else
        db_rollback(d, NULL);
    free(text);
    return rc;
}

sim_code db_record_failure(const char *path, const db_record_src *src, const char *reason,
                           int64_t *run_id, sim_status *st)
{
    db *d = NULL;
    db_run row;
    int64_t id = 0;
    db_run_init(&row);
    char *text = config_text(src->config_path, src->ov, src->n_ov);
    row.command = src->command;
    row.config_path = src->config_path;
    row.config_yaml = text;
    row.status = "failed";
    row.status_reason = reason;
    sim_code rc = db_open(path, &d, st);
    if (rc == SIM_OK)
        rc = db_begin(d, st);
    if (rc == SIM_OK)
        rc = db_run_insert(d, &row, &id, st);
    if (rc == SIM_OK && src->point)
        rc = write_sweep_params(d, id, src, st);
    if (rc == SIM_OK)
        rc = db_commit(d, st);
    db_close(d); /* rolls back a transaction left open by a failure */
    free(text);
    if (run_id)
        *run_id = rc == SIM_OK ? id : 0;
    return rc;
}
