/*
 * cmd_run.c: `clustersim run CONFIG`: replays training steps and reports MFU, step time,
 * exposed communication, the busiest links, and the job's power, energy and cost
 * (power/power.h); writes the run into the results database.
 *
 * The database is written after the replay by out/record.h, in one transaction (run, step,
 * rank, link, link_stats, collective rows), so an interrupted run leaves nothing behind. The
 * summary goes to stdout; a progress line goes to stderr when it is a terminal and the run is
 * long.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coll/coll.h"
#include "core/units.h"
#include "exec/exec.h"
#include "exec/multidc.h"
#include "out/db.h"
#include "out/record.h"
#include "out/trace.h"
#include "workload/plan.h"

static const char run_usage[] =
    "usage: clustersim run [--db FILE] [--no-db] [--set KEY=VALUE]... [--max-events N]\n"
    "                      [--max-wall SECONDS] [--trace FILE] [--trace-ranks LIST] [--quiet]\n"
    "                      [--allow-oversubscribed-memory] CONFIG.yaml\n"
    "\n"
    "Replays the config's training steps (run.warmup unmeasured, then run.steps measured) on\n"
    "the simulated cluster and prints: step time, tokens/s, MFU and HFU, exposed communication\n"
    "per parallel dimension, the pipeline bubble, the busiest links, peak memory per rank,\n"
    "and the job's power (IT and facility), energy per step and per token and, with the\n"
    "topology's cost section, its cost per step and per token (README: Power and cost).\n"
    "The run is appended to the results database (output.db of the config, else results.db).\n"
    "A job whose memory per rank exceeds the chip's HBM is refused (exit status 3, as plan).\n"
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
    "  --quiet            no progress line\n"
    "  --allow-oversubscribed-memory\n"
    "                     replay a job that does not fit in HBM (the summary warns)\n";

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
    if (plan_has_regions(p))
        printf(" in %lld regions (synchronous inside a region, %s across)",
               (long long)x->replicas, plan_xdc_name(x->scheme));
    if (x->scheme == PLAN_XDC_DILOCO || x->scheme == PLAN_XDC_STREAMING) {
        printf(", H = %lld inner steps, %s payload", (long long)x->inner_steps,
               plan_payload_name(x->payload));
        if (x->scheme == PLAN_XDC_STREAMING)
            printf(", %lld fragments, overlap up to %lld steps", (long long)x->fragments,
                   (long long)x->max_delay);
        if (x->scheme == PLAN_XDC_DILOCO && x->outer_update == PLAN_OUTER_ASYNC)
            printf(", async outer updates (sites at their own pace, at most %lld rounds ahead)",
                   (long long)x->max_staleness);
        else if (x->scheme == PLAN_XDC_DILOCO && x->outer_update != PLAN_OUTER_BLOCKING)
            printf(", %s outer update (the sync overlaps the next round)",
                   plan_outer_update_name(x->outer_update));
        printf("; outer gradients %lld inner steps stale", (long long)m->staleness_steps);
        if (plan_sites_unequal(p))
            printf("\n  inner step %.4f s (the slowest site's replica); outer sync %.4f s%s "
                   "alone, optimizer %.4f s\n", m->inner_step_s, m->outer_sync_s,
                   x->scheme == PLAN_XDC_STREAMING ? " per fragment" : "", m->outer_opt_s);
        else
            printf("\n  inner step %.4f s (one %s's replica of %lld ranks); outer sync %.4f "
                   "s%s alone, optimizer %.4f s\n",
               m->inner_step_s, plan_has_regions(p) ? "region" : "site",
               (long long)x->site_ranks, m->outer_sync_s,
               x->scheme == PLAN_XDC_STREAMING ? " per fragment" : "", m->outer_opt_s);
        if (m->replay != PLAN_REPLAY_COMPOSED)
            printf("  co-simulated (%s replay, all %lld sites): %s sync %.4f s beside "
                   "the inner steps (%+.1f%%), an inner step %.4f s beside it (%+.1f%%)\n",
                   plan_xdc_replay_name(m->replay), (long long)x->sites,
                   x->scheme == PLAN_XDC_STREAMING ? "a fragment's" : "the", m->outer_sync_cosim_s,
                   100 * (m->outer_sync_cosim_s / m->outer_sync_s - 1), m->inner_beside_s,
                   100 * (m->inner_beside_s / m->inner_step_s - 1));
        if (m->site_rounds) {
            printf("  async model (%lld rounds of the slowest site, round jitter %g): other "
                   "sites' updates between a site's fetch and its push: mean %.2f, max %lld; "
                   "rounds finished:", (long long)x->rounds, x->round_jitter, m->stale_mean,
                   (long long)m->stale_max);
            for (int64_t s = 0; s < m->n_sites; s++)
                printf(" %s %lld", plan_replica_name(p, s),
                       (long long)m->site_rounds[s]);
            printf("\n");
        }
        if (topo_wan_varies(plan_topo(p))) {
            printf("  note: the WAN load varies in time: this is one round from its time 0");
            if (m->replay == PLAN_REPLAY_SHORTCUT && x->scheme == PLAN_XDC_STREAMING)
                printf(", and the shortcut's first window stands for all %lld "
                       "(cross_dc.replay: full replays each)", (long long)x->fragments);
            printf("\n");
        }
        printf("  per round %.4f s exposed, %.4f s hidden%s\n", m->exposed_s, m->hidden_s,
               m->replay == PLAN_REPLAY_COMPOSED && x->scheme == PLAN_XDC_STREAMING
                   ? " (composed from the parts alone)" : "");
    } else {
        printf("\n");
    }
    for (int64_t s = 0; (m->unlike || plan_has_regions(p)) && s < m->n_sites; s++) {
        const hw_chip *c = topo_chip_hw(plan_topo(p), (int32_t)plan_site_base(p, s));
        const plan *q = plan_site(p, s);
        printf("  %s %s (%lld x %s, dp %lld, batch %lld): inner step %.4f s, waits %.4f s "
               "%s\n", plan_has_regions(p) ? "region" : "site", plan_replica_name(p, s),
               (long long)plan_ranks(q), c ? c->name : "?", (long long)plan_parallel(q)->dp,
               (long long)plan_workload(q)->global_batch, m->site_step_s[s],
               m->site_idle_s[s],
               m->site_rounds ? "between rounds (its pushes, the staleness bound)"
                              : plan_has_regions(p) ? "per round for the slowest region"
                                                    : "per round for the slowest site");
    }
    const wl_workload *w = plan_workload(p);
    printf("  round %.4f s: compute utilization %.1f%%, MFU %.1f%% (causal half: %.1f%%), "
           "%.4g tokens/s\n", m->round_s, 100 * m->compute_util, 100 * m->mfu,
           100 * m->mfu * wl_model_flops_causal_per_step(w) / wl_model_flops_per_step(w),
           m->tokens_per_s);
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

/* The summary's first line when the replayed job does not fit in HBM (it was allowed to
 * run with --allow-oversubscribed-memory): the worst rank's peak against the chip's HBM. */
static void print_oversubscribed(const plan *p, const exec_result *r)
{
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    double peak = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < plan_ranks(p); i++)
        if (r->ranks[i].peak_memory_bytes > peak) {
            peak = r->ranks[i].peak_memory_bytes;
            at = i;
        }
    if (!chip || peak <= chip->hbm_bytes)
        return;
    char a[64], b[64];
    sim_units_fmt_bytes(peak, a, sizeof a);
    sim_units_fmt_bytes(chip->hbm_bytes, b, sizeof b);
    printf("WARNING: peak memory per rank %s exceeds the chip's %s HBM (rank %lld, pipeline "
           "stage %lld): this job does not fit; replayed only because of "
           "--allow-oversubscribed-memory\n", a, b, (long long)at,
           (long long)plan_coord(p, at, PLAN_PP));
}

static void print_summary(const plan *p, const exec_result *r)
{
    const net_graph *g = topo_graph(plan_topo(p));
    char a[64], b[64];
    print_oversubscribed(p, r);
    printf("run %s: %s on %s, %lld ranks (tp %lld, pp %lld, dp %lld, cp %lld, ep %lld), "
           "%lld warm-up + %lld measured step%s\n",
           plan_name(p), plan_workload(p)->name, topo_name(plan_topo(p)), (long long)plan_ranks(p), (long long)plan_parallel(p)->tp,
           (long long)plan_parallel(p)->pp, (long long)plan_parallel(p)->dp, (long long)plan_parallel(p)->cp,
           (long long)plan_parallel(p)->ep, (long long)plan_warmup_steps(p), (long long)plan_steps(p),
           plan_steps(p) == 1 ? "" : "s");
    const wl_workload *w = plan_workload(p);
    double causal = r->mfu * wl_model_flops_causal_per_step(w) / wl_model_flops_per_step(w);
    printf("step time %.4f s, %.4g tokens/s, MFU %.1f%% (PaLM: attention scores in full; "
           "causal half: %.1f%%), HFU %.1f%%\n", r->step_time_s, r->tokens_per_s,
           100 * r->mfu, 100 * causal, 100 * r->hfu);
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

/* The options of `run`. ov is owned, freed by the caller with cli_overrides_free also when
 * parsing fails. */
typedef struct run_args {
    const char *file, *db_path, *trace_path, *trace_ranks;
    int no_db, quiet, allow_oversubscribed;
    ydoc_override *ov;
    size_t n_ov;
    uint64_t max_events;
    double max_wall_s;
} run_args;

/* What parse_args returns when the run goes on (any other value is the exit status). */
#define RUN_GO_ON (-1)

/* Parses argv into *a. Returns RUN_GO_ON, or the exit status (0 after --help, else after
 * printing the error). */
static int parse_args(int argc, char **argv, run_args *a)
{
    static const char *const valued[] = {"--db FILE",       "--trace FILE",
                                         "--trace-ranks LIST", "--set KEY=VALUE",
                                         "--max-events N",  "--max-wall SECONDS", NULL};
    int rc = cli_check_values(argc, argv, "run", valued, run_usage);
    for (int i = 1; rc == 0 && i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(run_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--db")) {
            a->db_path = argv[++i];
        } else if (!strcmp(argv[i], "--trace")) {
            a->trace_path = argv[++i];
        } else if (!strcmp(argv[i], "--trace-ranks")) {
            a->trace_ranks = argv[++i];
        } else if (!strcmp(argv[i], "--no-db")) {
            a->no_db = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (!strcmp(argv[i], "--allow-oversubscribed-memory")) {
            a->allow_oversubscribed = 1;
        } else if (!strcmp(argv[i], "--set")) {
            rc = cli_overrides_add(argv[++i], &a->ov, &a->n_ov, "run");
        } else if (!strcmp(argv[i], "--max-events")) {
            long long v;
            if (cli_parse_int(argv[i + 1], 1, LLONG_MAX, &v) != 0)
                return cli_bad_value("run", argv[i], "a positive integer", argv[i + 1]);
            a->max_events = (uint64_t)v;
            i++;
        } else if (!strcmp(argv[i], "--max-wall")) {
            double v = strtod(argv[i + 1], &end);
            if (*end || !(v > 0) || isinf(v))
                return cli_bad_value("run", argv[i], "a positive number of seconds",
                                     argv[i + 1]);
            a->max_wall_s = v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim run: unknown option '%s'\n%s", argv[i], run_usage);
            return 2;
        } else if (!a->file) {
            a->file = argv[i];
        } else {
            fprintf(stderr, "clustersim run: unexpected argument '%s'\n%s", argv[i], run_usage);
            return 2;
        }
    }
    if (rc == 0 && !a->file) {
        fprintf(stderr, "clustersim run: expected CONFIG.yaml\n%s", run_usage);
        return 2;
    }
    return rc != 0 ? rc : RUN_GO_ON;
}

int cli_run_main(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc == RUN_GO_ON) {
        cli_run_opts o = {.db_path = a.no_db ? "" : a.db_path, .print = 1,
                          .progress = !a.quiet && isatty(STDERR_FILENO),
                          .trace_path = a.trace_path, .trace_ranks = a.trace_ranks,
                          .max_events = a.max_events, .max_wall_s = a.max_wall_s,
                          .command = "run", .allow_oversubscribed = a.allow_oversubscribed};
        rc = cli_run_config(a.file, a.ov, a.n_ov, &o);
    }
    cli_overrides_free(a.ov, a.n_ov);
    return rc;
}

/* Records the run that could not be replayed as failed, with reason. Returns 3, or the exit
 * status of the recording's failure. */
static int record_failed(const char *file, const ydoc_override *ov, size_t n_ov,
                         const cli_run_opts *o, const char *reason)
{
    db_record_src src = {o->command, file, ov, n_ov, o->point, NULL, NULL, 0};
    sim_status st;
    return db_record_failure(o->db_path, &src, reason, NULL, &st) == SIM_OK ? 3
                                                                          : cli_report(&st);
}

/* Loads file into *out. With o->record_failures, a config with an input error or a job that
 * does not fit is recorded as failed (a result, not a replay) and *out stays NULL. Returns 0,
 * or the exit status. */
static int load_plan(const char *file, const ydoc_override *ov, size_t n_ov,
                     const cli_run_opts *o, plan **out)
{
    sim_status st;
    sim_status_clear(&st);
    char reason[SIM_STATUS_MSG_MAX + SIM_STATUS_FILE_MAX + 64];
    plan *p = NULL;
    int rc = 0;
    if (plan_load(file, ov, n_ov, &p, &st) != SIM_OK) {
        if (o->record_failures && st.code == SIM_ERR_INPUT) {
            sim_status_format(&st, reason, sizeof reason);
            rc = record_failed(file, ov, n_ov, o, reason);
        } else {
            rc = cli_report(&st);
        }
        goto done;
    }
    if (o->record_failures || !o->allow_oversubscribed) { /* the job must fit in HBM */
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
            if (o->record_failures) { /* a job that does not fit is a result, not a replay */
                rc = record_failed(file, ov, n_ov, o, reason);
                goto done;
            }
            fprintf(stderr, "clustersim %s: %s: %s (see clustersim plan for the breakdown; "
                            "--allow-oversubscribed-memory replays it anyway)\n",
                    o->command, file, reason);
            rc = 3;
            goto done;
        }
    }
    *out = p;
    p = NULL;
done:
    plan_destroy(p);
    return rc;
}

/* Replays p (exec_run, or mdc_run for a cross-datacenter plan) into r and m, writing the trace
 * of the ranks sel to trace_path when it is not NULL. */
static sim_code replay(plan *p, exec_opts *opts, const char *trace_path, const char *sel,
                       exec_result *r, mdc_result *m, sim_status *st)
{
    trace *tr = NULL;
    if (trace_path) {
        if (trace_open(trace_path, sel, plan_ranks(p), &tr, st) != SIM_OK)
            return st->code;
        opts->trace = tr;
    }
    sim_code erc = plan_cross_dc_of(p)->scheme != PLAN_XDC_NONE ? mdc_run(p, opts, r, m, st)
                                                 : exec_run(p, opts, r, st);
    sim_status tst;
    if (trace_close(tr, erc == SIM_OK, &tst) != SIM_OK && erc == SIM_OK) {
        *st = tst;
        erc = tst.code;
    }
    return erc;
}

/* The summary of a finished replay on stdout. */
static void print_run(const plan *p, const exec_result *r, const mdc_result *m,
                      const char *trace_path, const char *trace_ranks)
{
    if (trace_path)
        printf("wrote trace of %s to %s\n", trace_ranks ? trace_ranks
                                                        : plan_ranks(p) <= 64 ? "all ranks"
                                                                         : "ranks 0-7",
               trace_path);
    if (r->stopped)
        printf("run %s stopped at a bound after %llu events and %.2f s wall: no step "
               "figures\n", plan_name(p), (unsigned long long)r->events, r->wall_s);
    else
        print_summary(p, r);
    if (plan_cross_dc_of(p)->scheme != PLAN_XDC_NONE && !r->stopped)
        print_multidc(p, m);
    if (!r->stopped) {
        power_result pw;
        sim_status st;
        if (power_compute(p, r, &pw, &st) == SIM_OK)
            cli_print_power(p, &pw);
        else
            printf("power: not modeled: %s\n", st.msg);
    }
}

int cli_run_config(const char *file, const ydoc_override *ov, size_t n_ov, const cli_run_opts *o)
{
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
    db *d = NULL;
    const char *db_path = NULL; /* where the run goes; NULL: nowhere */
    int rc = load_plan(file, ov, n_ov, o, &p);
    if (rc != 0)
        goto done;
    if (!trace_path && plan_trace_path(p)[0] && !o->no_trace)
        trace_path = plan_trace_path(p);
    if (trace_ranks && !trace_path) {
        fprintf(stderr, "clustersim %s: --trace-ranks needs a trace (--trace FILE or the "
                        "config's output.trace)\n", o->command);
        rc = 2;
        goto done;
    }
    /* The database is opened before the replay, so that one that cannot be opened is found
     * before the replay's time is spent. */
    if (!o->db_path || o->db_path[0]) {
        db_path = o->db_path ? o->db_path : plan_db_path(p)[0] ? plan_db_path(p) : "results.db";
        if (db_open(db_path, &d, &st) != SIM_OK)
            goto fail;
    }
    const char *sel = trace_ranks ? trace_ranks : plan_ranks(p) <= 64 ? "all" : "0-7";
    if (replay(p, &opts, trace_path, sel, &r, &m, &st) != SIM_OK)
        goto fail;
    if (o->print)
        print_run(p, &r, &m, trace_path, trace_ranks);
    if (d) {
        int64_t run_id = 0;
        db_record_src src = {o->command, plan_config_path(p), ov, n_ov, o->point,
                             NULL,       NULL,                0};
        const mdc_result *mm = plan_cross_dc_of(p)->scheme != PLAN_XDC_NONE ? &m : NULL;
        if (db_record_run(d, p, &r, mm, &src, &run_id, &st) != SIM_OK)
            goto fail;
        if (o->print)
            printf("wrote run %lld to %s\n", (long long)run_id, db_path);
    }
    goto done;
fail:
    rc = cli_report(&st);
done:
    db_close(d);
    mdc_result_free(&m);
    exec_result_free(&r);
    plan_destroy(p);
    return rc;
}
