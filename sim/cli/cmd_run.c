/*
 * cmd_run.c: `clustersim run CONFIG`: replays training steps and reports MFU, step time,
 * exposed communication and the busiest links; writes the run into the results database.
 *
 * The database is written after the replay, in one transaction (run, step, rank, link,
 * link_stats, collective rows), so an interrupted run leaves nothing behind. The summary
 * goes to stdout; a progress line goes to stderr when it is a terminal and the run is long.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coll/coll.h"
#include "core/units.h"
#include "exec/exec.h"
#include "exec/multidc.h"
#include "out/db.h"
#include "out/db_topo.h"
#include "out/trace.h"
#include "workload/plan.h"

static const char run_usage[] =
    "usage: clustersim run [--db FILE] [--no-db] [--set KEY=VALUE]... [--max-events N]\n"
    "                      [--max-wall SECONDS] [--trace FILE] [--trace-ranks LIST] [--quiet]\n"
    "                      CONFIG.yaml\n"
    "\n"
    "Replays the config's training steps (run.warmup unmeasured, then run.steps measured) on\n"
    "the simulated cluster and prints: step time, tokens/s, MFU and HFU, exposed communication\n"
    "per parallel dimension, the pipeline bubble, the busiest links and peak memory per rank.\n"
    "The run is appended to the results database (output.db of the config, else results.db).\n"
    "\n"
    "  --db FILE          write the run to FILE\n"
    "  --no-db            write no database\n"
    "  --set KEY=VALUE    override a config key (see clustersim plan --help)\n"
    "  --max-events N     stop after N events (the run is recorded as 'stopped')\n"
    "  --max-wall S       stop after S seconds of wall time (recorded as 'stopped')\n"
    "  --trace FILE       write a Chrome/Perfetto trace (JSON): ranks as processes, streams\n"
    "                     as threads (default: output.trace of the config)\n"
    "  --trace-ranks L    ranks to trace: 'all' or a list such as '0-7,64' (default: all\n"
    "                     ranks up to 64, else 0-7)\n"
    "  --quiet            no progress line\n";

typedef struct busy {
    size_t link;
    double util;
} busy;

static int by_util(const void *a, const void *b)
{
    const busy *x = a, *y = b;
    if (x->util != y->util)
        return x->util < y->util ? 1 : -1;
    return x->link < y->link ? -1 : x->link > y->link;
}

/* The busiest links of the measured steps (mean utilization), the top n into top. */
static size_t busiest(const plan *p, const exec_result *r, busy *top, size_t n)
{
    const net_graph *g = topo_graph(plan_topo(p));
    size_t nl = net_graph_link_count(g), k = 0;
    for (size_t l = 0; l < nl; l++) {
        double u = r->measured_s > 0
                       ? r->link_bytes[l] / (net_graph_link(g, (net_link_id)l)->bw_Bps *
                                             r->measured_s)
                       : 0;
        busy b = {l, u};
        if (k < n) {
            top[k++] = b;
            qsort(top, k, sizeof *top, by_util);
        } else if (by_util(&b, &top[n - 1]) < 0) {
            top[n - 1] = b;
            qsort(top, k, sizeof *top, by_util);
        }
    }
    return k;
}

static void print_multidc(const plan *p, const mdc_result *m)
{
    const plan_cross_dc *x = plan_cross_dc_of(p);
    const net_graph *g = topo_graph(plan_topo(p));
    char a[64], b[64];
    printf("cross-datacenter: %s over %lld sites", plan_xdc_name(x->scheme),
           (long long)x->sites);
    if (x->scheme == PLAN_XDC_DILOCO || x->scheme == PLAN_XDC_STREAMING) {
        printf(", H = %lld inner steps, %s payload", (long long)x->inner_steps,
               plan_payload_name(x->payload));
        if (x->scheme == PLAN_XDC_STREAMING)
            printf(", %lld fragments, overlap up to %lld steps", (long long)x->fragments,
                   (long long)x->max_delay);
        printf("\n  inner step %.4f s (one site's replica of %lld ranks); outer sync %.4f s%s "
               "alone, optimizer %.4f s; per round %.4f s exposed, %.4f s hidden\n",
               m->inner_step_s, (long long)x->site_ranks, m->outer_sync_s,
               x->scheme == PLAN_XDC_STREAMING ? " per fragment" : "", m->outer_opt_s,
               m->exposed_s, m->hidden_s);
    } else {
        printf("\n");
    }
    printf("  round %.4f s: compute utilization %.1f%%, MFU %.1f%%, %.4g tokens/s\n",
           m->round_s, 100 * m->compute_util, 100 * m->mfu, m->tokens_per_s);
    for (size_t l = 0; l < m->n_links; l += 2) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != NET_LINK_WAN)
            continue;
        sim_units_fmt_bytes(m->wan_bytes[l] + m->wan_bytes[l + 1], a, sizeof a);
        sim_units_fmt_bw(k->bw_Bps, b, sizeof b);
        double u = (m->wan_bytes[l] > m->wan_bytes[l + 1] ? m->wan_bytes[l] : m->wan_bytes[l + 1]) /
                   (k->bw_Bps * m->round_s);
        printf("  wan %s <-> %s (%s each way): %s per round, busier direction %.1f%% used\n",
               net_graph_node_name(g, k->src), net_graph_node_name(g, k->dst), b, a, 100 * u);
    }
}

static void print_summary(const plan *p, const exec_result *r)
{
    const net_graph *g = topo_graph(plan_topo(p));
    char a[64], b[64];
    printf("run %s: %s on %s, %lld ranks (tp %lld, pp %lld, dp %lld, cp %lld, ep %lld), "
           "%lld warm-up + %lld measured step%s\n",
           plan_name(p), plan_workload(p)->name, topo_name(plan_topo(p)), (long long)plan_ranks(p),
           (long long)plan_parallel(p)->tp, (long long)plan_parallel(p)->pp,
           (long long)plan_parallel(p)->dp, (long long)plan_parallel(p)->cp,
           (long long)plan_parallel(p)->ep, (long long)plan_warmup_steps(p),
           (long long)plan_steps(p), plan_steps(p) == 1 ? "" : "s");
    printf("step time %.4f s, %.4g tokens/s, MFU %.1f%%, HFU %.1f%%\n", r->step_time_s,
           r->tokens_per_s, 100 * r->mfu, 100 * r->hfu);
    double exp[PLAN_DIM_COUNT] = {0}, bubble = 0, compute = 0, idle = 0;
    for (int64_t i = 0; i < plan_ranks(p); i++) {
        for (int d = 0; d < PLAN_DIM_COUNT; d++)
            exp[d] += r->ranks[i].exposed_s[d] / (double)plan_ranks(p);
        bubble += r->ranks[i].bubble_s / (double)plan_ranks(p);
        compute += r->ranks[i].compute_s / (double)plan_ranks(p);
        idle += r->ranks[i].idle_s / (double)plan_ranks(p);
    }
    printf("per step, mean over ranks: compute %.4f s; exposed communication", compute);
    for (int d = 0; d < PLAN_DIM_COUNT; d++)
        printf(" %s %.4f s", plan_dim_name(d), exp[d]);
    printf("; pipeline bubble %.4f s; waiting for peers %.4f s\n", bubble, idle);
    busy top[5];
    size_t n = busiest(p, r, top, 5);
    printf("busiest links (mean utilization over the measured steps):\n");
    for (size_t i = 0; i < n; i++) {
        const net_link *l = net_graph_link(g, (net_link_id)top[i].link);
        sim_units_fmt_bw(l->bw_Bps, a, sizeof a);
        printf("  %-28s -> %-28s %-10s %10s %5.1f%%\n", net_graph_node_name(g, l->src),
               net_graph_node_name(g, l->dst), net_link_kind_str(l->kind), a,
               100 * top[i].util);
    }
    double peak = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < plan_ranks(p); i++)
        if (r->ranks[i].peak_memory_bytes > peak) {
            peak = r->ranks[i].peak_memory_bytes;
            at = i;
        }
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    sim_units_fmt_bytes(peak, a, sizeof a);
    sim_units_fmt_bytes(chip ? chip->hbm_bytes : 0, b, sizeof b);
    printf("peak memory per rank: %s of %s HBM (rank %lld, pipeline stage %lld)\n", a, b,
           (long long)at, (long long)plan_coord(p, at, PLAN_PP));
    printf("simulated in %.2f s wall, %llu events\n", r->wall_s,
           (unsigned long long)r->events);
}

/* The config file's text with the overrides appended, for run.config_yaml. */
static char *config_text(const char *path, const ydoc_override *ov, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 1024) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    for (size_t i = 0; buf && i < n; i++) {
        size_t need = len + strlen(ov[i].origin) + 8;
        if (need >= cap) {
            char *nb = realloc(buf, cap = need * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        len += (size_t)snprintf(buf + len, cap - len, "\n# %s", ov[i].origin);
    }
    if (buf)
        buf[len] = 0;
    return buf;
}

static sim_code write_rows(db *d, int64_t run_id, const plan *p, const exec_result *r,
                           sim_status *st)
{
    static const char *const step_cols[] = {"run_id", "step", "start_s", "end_s", "time_s",
                                            "tokens", "mfu", "exposed_tp_s", "exposed_pp_s",
                                            "exposed_dp_s", "exposed_cp_s", "exposed_ep_s",
                                            "bubble_s"};
    static const char *const rank_cols[] = {"run_id", "rank", "chip", "site", "node", "tp_idx",
                                            "pp_idx", "dp_idx", "cp_idx", "ep_idx",
                                            "compute_s", "exposed_comm_s", "idle_s",
                                            "bubble_s", "peak_memory_bytes"};
    static const char *const ls_cols[] = {"run_id", "link_id", "bytes", "busy_s", "mean_util",
                                          "peak_util"};
    static const char *const coll_cols[] = {"run_id", "coll_id", "step", "kind", "dim",
                                            "group_size", "bytes", "algorithm", "start_s",
                                            "end_s", "algbw_Bps", "busbw_Bps"};
    db_stmt *s = NULL;
    const net_graph *g = topo_graph(plan_topo(p));
    double model_flops = wl_model_flops_per_step(plan_workload(p));
    double peak = topo_chip_hw(plan_topo(p), 0)->peak_bf16_flops * (double)plan_ranks(p);
    sim_code rc = db_insert_prepare(d, "step", step_cols, 13, &s, st);
    for (int64_t k = plan_warmup_steps(p); rc == SIM_OK && k < r->n_step_rows; k++) {
        const exec_step *row = &r->step_rows[k];
        double t = row->end_s - row->start_s;
        db_insert_bind_int(s, 0, run_id);
        db_insert_bind_int(s, 1, k - plan_warmup_steps(p));
        db_insert_bind_double(s, 2, row->start_s);
        db_insert_bind_double(s, 3, row->end_s);
        db_insert_bind_double(s, 4, t);
        db_insert_bind_int(s, 5, (int64_t)wl_tokens_per_step(plan_workload(p)));
        db_insert_bind_double(s, 6, model_flops / (t * peak));
        for (int dd = 0; dd < 5; dd++) {
            static const int order[5] = {PLAN_TP, PLAN_PP, PLAN_DP, PLAN_CP, PLAN_EP};
            db_insert_bind_double(s, 7 + (size_t)dd, row->exposed_s[order[dd]]);
        }
        db_insert_bind_double(s, 12, row->bubble_s);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    s = NULL;
    if (rc == SIM_OK)
        rc = db_insert_prepare(d, "rank", rank_cols, 15, &s, st);
    for (int64_t i = 0; rc == SIM_OK && i < plan_ranks(p); i++) {
        const exec_rank_stats *a = &r->ranks[i];
        double exposed = 0;
        for (int dd = 0; dd < PLAN_DIM_COUNT; dd++)
            exposed += a->exposed_s[dd];
        db_insert_bind_int(s, 0, run_id);
        db_insert_bind_int(s, 1, i);
        db_insert_bind_text(s, 2, net_graph_node_name(g, (net_node_id)i));
        db_insert_bind_text(s, 3, topo_site_name(plan_topo(p),
                                                 topo_chip_site(plan_topo(p), (int32_t)i)));
        db_insert_bind_int(s, 4, topo_chip_node(plan_topo(p), (int32_t)i));
        db_insert_bind_int(s, 5, plan_coord(p, i, PLAN_TP));
        db_insert_bind_int(s, 6, plan_coord(p, i, PLAN_PP));
        db_insert_bind_int(s, 7, plan_coord(p, i, PLAN_DP));
        db_insert_bind_int(s, 8, plan_coord(p, i, PLAN_CP));
        db_insert_bind_int(s, 9, plan_coord(p, i, PLAN_EP));
        db_insert_bind_double(s, 10, a->compute_s);
        db_insert_bind_double(s, 11, exposed);
        db_insert_bind_double(s, 12, a->idle_s);
        db_insert_bind_double(s, 13, a->bubble_s);
        db_insert_bind_double(s, 14, a->peak_memory_bytes);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    s = NULL;
    if (rc == SIM_OK)
        rc = db_links_write(d, run_id, plan_topo(p), st);
    if (rc == SIM_OK)
        rc = db_insert_prepare(d, "link_stats", ls_cols, 6, &s, st);
    for (size_t l = 0; rc == SIM_OK && l < net_graph_link_count(g); l++) {
        if (r->link_bytes[l] <= 0)
            continue;
        double cap = net_graph_link(g, (net_link_id)l)->bw_Bps;
        db_insert_bind_int(s, 0, run_id);
        db_insert_bind_int(s, 1, (int64_t)l);
        db_insert_bind_double(s, 2, r->link_bytes[l]);
        db_insert_bind_null(s, 3);
        db_insert_bind_double(s, 4, r->link_bytes[l] / (cap * r->measured_s));
        db_insert_bind_null(s, 5);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    s = NULL;
    if (rc == SIM_OK)
        rc = db_insert_prepare(d, "collective", coll_cols, 12, &s, st);
    for (size_t i = 0, id = 0; rc == SIM_OK && i < r->n_colls; i++) {
        const exec_coll_rec *c = &r->colls[i];
        if (c->step < plan_warmup_steps(p))
            continue;
        double t = c->end_s - c->start_s, algbw = t > 0 ? c->bytes / t : 0;
        db_insert_bind_int(s, 0, run_id);
        db_insert_bind_int(s, 1, (int64_t)id++);
        db_insert_bind_int(s, 2, c->step - plan_warmup_steps(p));
        db_insert_bind_text(s, 3, coll_kind_name(c->kind));
        db_insert_bind_text(s, 4, plan_dim_name(c->dim));
        db_insert_bind_int(s, 5, c->group_size);
        db_insert_bind_double(s, 6, c->bytes);
        db_insert_bind_text(s, 7, coll_algo_name(c->algo));
        db_insert_bind_double(s, 8, c->start_s);
        db_insert_bind_double(s, 9, c->end_s);
        db_insert_bind_double(s, 10, algbw);
        db_insert_bind_double(s, 11, algbw * coll_busbw_factor(c->kind, (size_t)c->group_size));
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    return rc;
}

/* The multidc row and one wan row per directed WAN link. */
static sim_code write_multidc(db *d, int64_t run_id, const plan *p, const mdc_result *m,
                              sim_status *st)
{
    static const char *const cols[] = {"run_id", "scheme", "sites", "inner_steps", "payload",
                                       "fragments", "max_delay", "inner_step_s",
                                       "outer_sync_s", "outer_opt_s", "exposed_s", "hidden_s",
                                       "round_s", "compute_util", "mfu", "tokens_per_s",
                                       "wan_bytes"};
    static const char *const wcols[] = {"run_id", "link_id", "src_site", "dst_site", "bytes",
                                        "mean_util"};
    const plan_cross_dc *x = plan_cross_dc_of(p);
    const net_graph *g = topo_graph(plan_topo(p));
    int diloco = x->scheme == PLAN_XDC_DILOCO || x->scheme == PLAN_XDC_STREAMING;
    double wan = 0;
    for (size_t l = 0; l < m->n_links; l++)
        if (net_graph_link(g, (net_link_id)l)->kind == NET_LINK_WAN)
            wan += m->wan_bytes[l];
    db_stmt *s = NULL;
    sim_code rc = db_insert_prepare(d, "multidc", cols, 17, &s, st);
    if (rc == SIM_OK) {
        db_insert_bind_int(s, 0, run_id);
        db_insert_bind_text(s, 1, plan_xdc_name(x->scheme));
        db_insert_bind_int(s, 2, x->sites);
        db_insert_bind_int(s, 3, diloco ? x->inner_steps : 1);
        db_insert_bind_text(s, 4, diloco ? plan_payload_name(x->payload) : NULL);
        if (x->scheme == PLAN_XDC_STREAMING) {
            db_insert_bind_int(s, 5, x->fragments);
            db_insert_bind_int(s, 6, x->max_delay);
        } else {
            db_insert_bind_null(s, 5);
            db_insert_bind_null(s, 6);
        }
        double v[] = {m->inner_step_s, m->outer_sync_s, m->outer_opt_s, m->exposed_s,
                      m->hidden_s, m->round_s, m->compute_util, m->mfu, m->tokens_per_s, wan};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            db_insert_bind_double(s, 7 + i, v[i]);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    s = NULL;
    if (rc == SIM_OK)
        rc = db_insert_prepare(d, "wan", wcols, 6, &s, st);
    for (size_t l = 0; rc == SIM_OK && l < m->n_links; l++) {
        const net_link *k = net_graph_link(g, (net_link_id)l);
        if (k->kind != NET_LINK_WAN)
            continue;
        db_insert_bind_int(s, 0, run_id);
        db_insert_bind_int(s, 1, (int64_t)l);
        db_insert_bind_text(s, 2, topo_site_name(plan_topo(p),
                                                 (size_t)topo_node_site(plan_topo(p), k->src)));
        db_insert_bind_text(s, 3, topo_site_name(plan_topo(p),
                                                 (size_t)topo_node_site(plan_topo(p), k->dst)));
        db_insert_bind_double(s, 4, m->wan_bytes[l]);
        db_insert_bind_double(s, 5, m->wan_bytes[l] / (k->bw_Bps * m->round_s));
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    return rc;
}

/* The sweep_param rows of a sweep point: every override and '_point', the point's name. */
static sim_code write_sweep_params(db *d, int64_t run_id, const ydoc_override *ov, size_t n_ov,
                                   const char *point, sim_status *st)
{
    static const char *const cols[] = {"run_id", "key", "value"};
    db_stmt *s = NULL;
    sim_code rc = db_insert_prepare(d, "sweep_param", cols, 3, &s, st);
    for (size_t i = 0; rc == SIM_OK && i <= n_ov; i++) {
        db_insert_bind_int(s, 0, run_id);
        db_insert_bind_text(s, 1, i < n_ov ? ov[i].path : "_point");
        db_insert_bind_text(s, 2, i < n_ov ? ov[i].value : point);
        rc = db_insert_exec(s, st);
    }
    db_insert_finish(s);
    return rc;
}

sim_code cli_record_failure(const char *path, const char *config, const ydoc_override *ov,
                            size_t n_ov, const char *point, const char *command,
                            const char *reason, sim_status *st)
{
    db *d = NULL;
    db_run row;
    int64_t run_id = 0;
    db_run_init(&row);
    char *text = config_text(config, ov, n_ov);
    row.command = command;
    row.config_path = config;
    row.config_yaml = text;
    row.status = "failed";
    row.status_reason = reason;
    sim_code rc = db_open(path, &d, st);
    if (rc == SIM_OK)
        rc = db_begin(d, st);
    if (rc == SIM_OK)
        rc = db_run_insert(d, &row, &run_id, st);
    if (rc == SIM_OK && point)
        rc = write_sweep_params(d, run_id, ov, n_ov, point, st);
    if (rc == SIM_OK)
        rc = db_commit(d, st);
    db_close(d);
    free(text);
    return rc;
}

/* The run and all its rows in one transaction of d (opened before the replay, so that a
 * database that cannot be opened is found before the replay's time is spent). */
static sim_code write_db(db *d, const plan *p, const exec_result *r, const mdc_result *m,
                         const ydoc_override *ov, size_t n_ov, const char *point,
                         const char *command, int64_t *run_id, sim_status *st)
{
    db_run row;
    db_run_init(&row);
    char *text = config_text(plan_config_path(p), ov, n_ov);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    row.command = command;
    row.config_path = plan_config_path(p);
    row.config_yaml = text;
    row.topology = topo_name(plan_topo(p));
    row.workload = plan_workload(p)->name;
    row.seed = plan_seed(p);
    row.status = r->stopped ? "stopped" : "ok";
    row.status_reason = r->stopped ? "a bound (--max-events or --max-wall) was reached" : NULL;
    row.wall_s = r->wall_s;
    row.peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024;
    row.steps = r->stopped ? 0 : plan_steps(p);
    if (!r->stopped) {
        row.step_time_s = r->step_time_s;
        row.tokens_per_s = r->tokens_per_s;
        row.mfu = r->mfu;
        row.hfu = r->hfu;
    }
    int diloco = m && (plan_cross_dc_of(p)->scheme == PLAN_XDC_DILOCO ||
                       plan_cross_dc_of(p)->scheme == PLAN_XDC_STREAMING);
    if (diloco && !r->stopped) { /* over whole rounds: the outer syncs count */
        double H = (double)plan_cross_dc_of(p)->inner_steps;
        row.step_time_s = m->round_s / H;
        row.tokens_per_s = m->tokens_per_s;
        row.mfu = m->mfu;
        row.hfu = r->hfu * m->mfu / r->mfu;
    }
    row.model_flops_per_step = wl_model_flops_per_step(plan_workload(p));
    row.hardware_flops_per_step = wl_hardware_flops_per_step(plan_workload(p), plan_parallel(p));
    row.chips = diloco ? plan_cross_dc_of(p)->total_ranks : plan_ranks(p);
    double peak = 0;
    for (int64_t i = 0; i < plan_ranks(p); i++)
        peak = r->ranks[i].peak_memory_bytes > peak ? r->ranks[i].peak_memory_bytes : peak;
    row.peak_memory_bytes = peak;
    sim_code rc = db_begin(d, st);
    if (rc == SIM_OK)
        rc = db_run_insert(d, &row, run_id, st);
    if (rc == SIM_OK && !r->stopped)
        rc = write_rows(d, *run_id, p, r, st);
    if (rc == SIM_OK && !r->stopped && m)
        rc = write_multidc(d, *run_id, p, m, st);
    if (rc == SIM_OK && point)
        rc = write_sweep_params(d, *run_id, ov, n_ov, point, st);
    if (rc == SIM_OK)
        rc = db_commit(d, st);
    else
        db_rollback(d, NULL);
    free(text);
    return rc;
}

int cli_run_main(int argc, char **argv)
{
    const char *file = NULL, *db_path = NULL, *trace_path = NULL, *trace_ranks = NULL;
    int no_db = 0, quiet = 0, rc = 0;
    ydoc_override *ov = NULL;
    size_t n_ov = 0;
    exec_opts opts = {0};
    static const char *const valued[] = {"--db FILE",       "--trace FILE",
                                         "--trace-ranks LIST", "--set KEY=VALUE",
                                         "--max-events N",  "--max-wall SECONDS", NULL};
    if ((rc = cli_check_values(argc, argv, "run", valued, run_usage)) != 0)
        return rc;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(run_usage, stdout);
            cli_overrides_free(ov, n_ov);
            return 0;
        } else if (!strcmp(argv[i], "--db")) {
            db_path = argv[++i];
        } else if (!strcmp(argv[i], "--trace")) {
            trace_path = argv[++i];
        } else if (!strcmp(argv[i], "--trace-ranks")) {
            trace_ranks = argv[++i];
        } else if (!strcmp(argv[i], "--no-db")) {
            no_db = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--set")) {
            if ((rc = cli_overrides_add(argv[++i], &ov, &n_ov, "run")) != 0) {
                cli_overrides_free(ov, n_ov);
                return rc;
            }
        } else if (!strcmp(argv[i], "--max-events")) {
            long long v;
            if (cli_parse_int(argv[i + 1], 1, LLONG_MAX, &v) != 0) {
                cli_overrides_free(ov, n_ov);
                return cli_bad_value("run", argv[i], "a positive integer", argv[i + 1]);
            }
            opts.max_events = (uint64_t)v;
            i++;
        } else if (!strcmp(argv[i], "--max-wall")) {
            double v = strtod(argv[i + 1], &end);
            if (*end || !(v > 0) || isinf(v)) {
                cli_overrides_free(ov, n_ov);
                return cli_bad_value("run", argv[i], "a positive number of seconds",
                                     argv[i + 1]);
            }
            opts.max_wall_s = v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim run: unknown option '%s'\n%s", argv[i], run_usage);
            cli_overrides_free(ov, n_ov);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "clustersim run: unexpected argument '%s'\n%s", argv[i], run_usage);
            cli_overrides_free(ov, n_ov);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "clustersim run: expected CONFIG.yaml\n%s", run_usage);
        cli_overrides_free(ov, n_ov);
        return 2;
    }
    cli_run_opts o = {.db_path = no_db ? "" : db_path, .print = 1,
                      .progress = !quiet && isatty(STDERR_FILENO), .trace_path = trace_path,
                      .trace_ranks = trace_ranks, .max_events = opts.max_events,
                      .max_wall_s = opts.max_wall_s, .command = "run"};
    rc = cli_run_config(file, ov, n_ov, &o);
    cli_overrides_free(ov, n_ov);
    return rc;
}

int cli_run_config(const char *file, const ydoc_override *ov, size_t n_ov, const cli_run_opts *o)
{
    int rc = 0;
    exec_opts opts = {.max_events = o->max_events, .max_wall_s = o->max_wall_s,
                      .progress = o->progress};
    const char *trace_path = o->trace_path, *trace_ranks = o->trace_ranks;
    sim_status st;
    sim_status_clear(&st);
    plan *p = NULL;
    exec_result r;
    memset(&r, 0, sizeof r);
    mdc_result m;
    memset(&m, 0, sizeof m);
    trace *tr = NULL;
    db *d = NULL;
    const char *db_path = NULL; /* where the run goes; NULL: nowhere */
    char reason[SIM_STATUS_MSG_MAX + SIM_STATUS_FILE_MAX + 64];
    if (plan_load(file, ov, n_ov, &p, &st) != SIM_OK) {
        if (o->record_failures && st.code == SIM_ERR_INPUT) {
            sim_status_format(&st, reason, sizeof reason);
            sim_status fst;
            if (cli_record_failure(o->db_path, file, ov, n_ov, o->point, o->command, reason,
                                   &fst) != SIM_OK)
                st = fst;
            else
                rc = 3;
        }
        if (rc != 3)
            rc = cli_report(&st);
        goto done;
    }
    if (o->record_failures) { /* a job that does not fit is a result, not a replay */
        plan_totals t;
        if (plan_totals_compute(p, &t, &st) != SIM_OK) {
            rc = cli_report(&st);
            goto done;
        }
        if (!t.fits) {
            snprintf(reason, sizeof reason,
                     "does not fit: %.2f GiB per rank (stage %lld) of %.2f GiB HBM",
                     t.memory.total / 1073741824.0, (long long)t.memory.stage,
                     t.hbm_bytes / 1073741824.0);
            sim_status fst;
            rc = cli_record_failure(o->db_path, file, ov, n_ov, o->point, o->command, reason,
                                    &fst) == SIM_OK ? 3 : cli_report(&fst);
            goto done;
        }
    }
    if (!trace_path && plan_trace_path(p)[0] && !o->no_trace)
        trace_path = plan_trace_path(p);
    if (trace_ranks && !trace_path) {
        fprintf(stderr, "clustersim %s: --trace-ranks needs a trace (--trace FILE or the "
                        "config's output.trace)\n", o->command);
        rc = 2;
        goto done;
    }
    if (!o->db_path || o->db_path[0]) {
        db_path = o->db_path ? o->db_path : plan_db_path(p)[0] ? plan_db_path(p) : "results.db";
        if (db_open(db_path, &d, &st) != SIM_OK) {
            rc = cli_report(&st);
            goto done;
        }
    }
    if (trace_path) {
        const char *sel = trace_ranks ? trace_ranks : plan_ranks(p) <= 64 ? "all" : "0-7";
        if (trace_open(trace_path, sel, plan_ranks(p), &tr, &st) != SIM_OK) {
            rc = cli_report(&st);
            goto done;
        }
        opts.trace = tr;
    }
    int xdc = plan_cross_dc_of(p)->scheme != PLAN_XDC_NONE;
    sim_code erc = xdc ? mdc_run(p, &opts, &r, &m, &st) : exec_run(p, &opts, &r, &st);
    sim_status tst;
    if (trace_close(tr, erc == SIM_OK, &tst) != SIM_OK && erc == SIM_OK) {
        st = tst;
        erc = tst.code;
    }
    if (erc != SIM_OK) {
        rc = cli_report(&st);
        goto done;
    }
    if (o->print) {
        if (trace_path)
            printf("wrote trace of %s to %s\n", trace_ranks ? trace_ranks
                                                            : plan_ranks(p) <= 64 ? "all ranks"
                                                                             : "ranks 0-7",
                   trace_path);
        if (r.stopped)
            printf("run %s stopped at a bound after %llu events and %.2f s wall: no step "
                   "figures\n", plan_name(p), (unsigned long long)r.events, r.wall_s);
        else
            print_summary(p, &r);
        if (xdc && !r.stopped)
            print_multidc(p, &m);
    }
    if (d) {
        int64_t run_id = 0;
        if (write_db(d, p, &r, xdc ? &m : NULL, ov, n_ov, o->point, o->command, &run_id,
                     &st) != SIM_OK) {
            rc = cli_report(&st);
            goto done;
        }
        if (o->print)
            printf("wrote run %lld to %s\n", (long long)run_id, db_path);
    }
done:
    db_close(d);
    mdc_result_free(&m);
    exec_result_free(&r);
    plan_destroy(p);
    return rc;
}
