/*
 * cmd_goodput.c: `clustersim goodput CONFIG`: a whole training run under failures, from the
 * config's reliability section (rel/rel_goodput.h has the model): ETTR, goodput and the
 * time to train with their confidence intervals, interruptions and time lost by cause, an
 * optional sweep of the checkpoint interval against Young/Daly's, into the database.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "out/db.h"
#include "out/record.h"
#include "out/record_rel.h"
#include "rel/rel_goodput.h"
#include "workload/plan.h"

static const char goodput_usage[] =
    "usage: clustersim goodput [--seeds N] [--sweep-interval] [--save-intervals K,K,...]\n"
    "                          [--log-seeds N] [--db FILE] [--no-db] [--set KEY=VALUE]...\n"
    "                          CONFIG.yaml\n"
    "\n"
    "Simulates a whole training run under failures: the step is replayed once (or taken from\n"
    "reliability.step_time), the job's failure classes come from its chips and topology (a\n"
    "degraded fabric's slowdown from one more replay each), and a Monte Carlo over seeds\n"
    "(run.seed, run.seed + 1, ...) draws failures, checkpoints, restarts and repairs on top.\n"
    "Prints ETTR (effective training time ratio), goodput and the days to train with their\n"
    "95% confidence intervals, interruptions per day and the time lost by cause, beside\n"
    "Daly's closed form; writes the goodput, goodput_seed, goodput_cause and\n"
    "goodput_interruption tables (output.db of the config, else results.db).\n"
    "\n"
    "  --seeds N              Monte Carlo runs, from 1 to 100000 (default: reliability.seeds,\n"
    "                         else 100)\n"
    "  --sweep-interval       also simulate Daly's interval x 1/8, 1/4, 1/2, 0.71, 1.41, 2,\n"
    "                         4 and 8, and report the best\n"
    "  --save-intervals K,..  also simulate these intervals (steps, at most 32)\n"
    "  --log-seeds N          keep the interruption log of the first N seeds (default 10)\n"
    "  --db FILE              write to FILE\n"
    "  --no-db                write no database\n"
    "  --set KEY=VALUE        override a config key (reliability.async_save=true)\n";

#define MAX_INTERVALS 32

/* "1.23 h" or "45.6 min" or "7.8 s" */
static const char *dur(double s, char *buf, size_t len)
{
    if (!isfinite(s))
        snprintf(buf, len, "never");
    else if (s >= 86400 * 2)
        snprintf(buf, len, "%.2f d", s / 86400);
    else if (s >= 3600)
        snprintf(buf, len, "%.2f h", s / 3600);
    else if (s >= 60)
        snprintf(buf, len, "%.1f min", s / 60);
    else
        snprintf(buf, len, "%.2f s", s);
    return buf;
}

static void print_point_row(const rel_goodput_result *g, size_t i)
{
    const rel_goodput_point *pt = &g->points[i];
    char b[32];
    printf("  %10lld  %10s  %7.4f +- %.4f  %8.4f  %7.3f +- %.3f  %-6s%s\n",
           (long long)pt->save_interval, dur(pt->interval_s, b, sizeof b), pt->ettr.mean,
           pt->ettr.ci_half, pt->daly_ettr, pt->wall_s.mean / 86400, pt->wall_s.ci_half / 86400,
           pt->source, i == g->best ? "  <- best" : "");
}

static void print_result(const plan *p, const rel_goodput_result *g)
{
    const plan_reliability *rel = plan_reliability_of(p);
    char b1[32], b2[32], b3[32], b4[32];
    const rel_goodput_point *m = &g->points[g->main];
    printf("goodput %s: %s on %s, %lld chips on %lld nodes, %lld spare nodes\n", plan_name(p),
           plan_workload(p)->name, topo_name(plan_topo(p)), (long long)g->chips,
           (long long)g->hosts, (long long)g->spare_nodes);
    printf("step %.4f s (%s), %.4g tokens per step; %lld steps, %.4g tokens: %.2f days of "
           "steps\n",
           g->step_s, g->replayed ? "replayed" : "reliability.step_time", g->tokens_per_step,
           (long long)g->steps, g->tokens, g->work_s / 86400);
    printf("checkpoint %.4g GB: write %s, snapshot %s, reload %s; %s\n", g->ckpt_bytes / 1e9,
           dur(g->ckpt_write_s, b1, sizeof b1), dur(g->ckpt_snapshot_s, b2, sizeof b2),
           dur(g->reload_s, b3, sizeof b3),
           rel->async_save ? "async_save: training waits for the snapshot"
                           : "synchronous: training waits for the write");
    printf("recovery with a spare: detect %s + restart %s + reload + warm-up %s = %s\n",
           dur(rel->detect_s, b1, sizeof b1), dur(rel->restart_s, b2, sizeof b2),
           dur(rel->warmup_s, b3, sizeof b3), dur(g->recovery_s, b4, sizeof b4));
    printf("fleet MTBF (stopping failures) %s; Young %s, Daly %s = %lld steps\n",
           dur(g->mtbf_s, b1, sizeof b1), dur(g->young_s, b2, sizeof b2),
           dur(g->daly_s, b3, sizeof b3), (long long)g->daly_steps);
    printf("\n%lld seeds (%llu to %llu), checkpoint every %lld steps (%s, %s):\n",
           (long long)g->seeds, (unsigned long long)g->seed0,
           (unsigned long long)(g->seed0 + (uint64_t)g->seeds - 1), (long long)m->save_interval,
           dur(m->interval_s, b1, sizeof b1),
           !strcmp(m->source, "daly") ? "Daly's, save_interval: auto" : "save_interval");
    printf("  ETTR          %.4f +- %.4f (95%% CI; sd %.4f, min %.4f, max %.4f); work over the "
           "mean wall %.4f, Daly's closed form %.4f\n",
           m->ettr.mean, m->ettr.ci_half, m->ettr.sd, m->ettr.min, m->ettr.max,
           g->work_s / m->wall_s.mean, m->daly_ettr);
    printf("  time to train %.3f +- %.3f days (95%% CI; min %.3f, max %.3f)\n",
           m->wall_s.mean / 86400, m->wall_s.ci_half / 86400, m->wall_s.min / 86400,
           m->wall_s.max / 86400);
    printf("  goodput       %.4g tokens/s (%.4g tokens/s while training)\n",
           m->goodput_tokens_per_s, g->tokens_per_step / g->step_s);
    printf("  interruptions %.3f per day, degradations %.3f per day, stalls %.3f per day; %.1f "
           "checkpoints, %s stopped for them, %s waiting on writes\n",
           m->interruptions_per_day, m->degradations_per_day, m->stalls_per_day,
           m->checkpoints, dur(m->ckpt_s, b1, sizeof b1), dur(m->drain_wait_s, b2, sizeof b2));
    printf("\nby cause (means per run):\n");
    printf("  %-18s %8s %9s %12s %8s %9s %10s %10s %10s\n", "cause", "effect", "count",
           "mtbf h", "per day", "failures", "lost h", "down h", "slow h");
    double days = m->wall_s.mean / 86400;
    for (size_t k = 0; k < g->n_classes; k++) {
        const rel_class *c = &g->classes[k];
        char eff[16];
        if (c->effect == REL_STOP && c->wait_repair)
            snprintf(eff, sizeof eff, "stop+rep");
        else if (c->effect == REL_STOP)
            snprintf(eff, sizeof eff, "stop %lld", (long long)c->nodes);
        else if (c->effect == REL_STALL)
            snprintf(eff, sizeof eff, "stall");
        else
            snprintf(eff, sizeof eff, "+%.1f%%", 100 * c->slowdown);
        printf("  %-18s %8s %9lld %12.4g %8.3f %9.2f %10.2f %10.2f %10.2f\n", c->name, eff,
               (long long)c->count, c->life.mean_s / 3600, m->failures[k] / days,
               m->failures[k], m->lost_s[k] / 3600, m->down_s[k] / 3600, m->slow_s[k] / 3600);
    }
    if (g->n_points > 1) {
        printf("\ncheckpoint interval (every interval on the same seeds):\n");
        printf("  %10s  %10s  %-16s  %8s  %-17s  %s\n", "steps", "every", "ETTR (95% CI)",
               "Daly", "days (95% CI)", "source");
        for (size_t i = 0; i < g->n_points; i++)
            print_point_row(g, i);
        const rel_goodput_point *bp = &g->points[g->best];
        printf("simulated optimum %lld steps (%s) = %.2f x Daly's; ETTR %.4f against Daly's "
               "interval's %.4f\n",
               (long long)bp->save_interval, dur(bp->interval_s, b1, sizeof b1),
               bp->interval_s / g->daly_s, bp->ettr.mean, m->ettr.mean);
    }
    printf("\nwall: replay %.2f s, failure classes (counts, degraded replays) %.2f s, Monte "
           "Carlo %.2f s (%lld runs)\n",
           g->replay_wall_s, g->fleet_wall_s, g->mc_wall_s,
           (long long)g->seeds * (long long)g->n_points);
}

/* The step's power and each interval's energy and cost over its mean wall (power/power.h). */
static void print_power(const plan *p, const rel_goodput_result *g, const power_result *pw)
{
    char a[64], b[64];
    printf("\n");
    if (!g->replayed) {
        printf("power: not modeled: the step was not replayed (reliability.step_time)\n");
        return;
    }
    cli_print_power(p, pw);
    if (!pw->modeled)
        return;
    printf("with failures, at the step's facility draw throughout (an upper bound: a job that "
           "is down draws less):\n");
    for (size_t i = 0; i < g->n_points; i++) {
        const rel_goodput_point *pt = &g->points[i];
        double energy, usd;
        power_run_cost(pw, pt->wall_s.mean, &energy, &usd);
        printf("  checkpoint every %lld steps: mean wall %.3f days, %s",
               (long long)pt->save_interval, pt->wall_s.mean / 86400,
               cli_fmt_energy(energy, a, sizeof a));
        if (pw->priced)
            printf(", %s", cli_fmt_usd(usd, b, sizeof b));
        printf("%s\n", i == g->main ? " (the config's interval)" : "");
    }
}

int cli_goodput_main(int argc, char **argv)
{
    double t0 = cli_now_s();
    const char *file = NULL, *db_path = NULL;
    bool no_db = false;
    ydoc_override *ov = NULL;
    size_t n_ov = 0, n_int = 0;
    int64_t intervals[MAX_INTERVALS];
    long long seeds = 0, log_seeds = 10;
    rel_goodput_opts o = {0};
    static const char *const valued[] = {"--seeds N", "--save-intervals K,K,...",
                                         "--log-seeds N", "--db FILE", "--set KEY=VALUE",
                                         NULL};
    int rc = cli_check_values(argc, argv, "goodput", valued, goodput_usage);
    for (int i = 1; rc == 0 && i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(goodput_usage, stdout);
            cli_overrides_free(ov, n_ov);
            return 0;
        } else if (!strcmp(argv[i], "--seeds")) {
            if (cli_parse_int(argv[i + 1], 1, PLAN_REL_MAX_SEEDS, &seeds) != 0)
                rc = cli_bad_value("goodput", argv[i], "a number of runs from 1 to 100000",
                                   argv[i + 1]);
            i++;
        } else if (!strcmp(argv[i], "--log-seeds")) {
            if (cli_parse_int(argv[i + 1], 0, PLAN_REL_MAX_SEEDS, &log_seeds) != 0)
                rc = cli_bad_value("goodput", argv[i], "a number of seeds from 0 to 100000",
                                   argv[i + 1]);
            i++;
        } else if (!strcmp(argv[i], "--save-intervals")) {
            if (cli_parse_int_list(argv[i + 1], 1, 1000000000000LL, MAX_INTERVALS, intervals,
                                   &n_int) != 0)
                rc = cli_bad_value("goodput", argv[i],
                                   "steps from 1 separated by commas (at most 32)",
                                   argv[i + 1]);
            i++;
        } else if (!strcmp(argv[i], "--sweep-interval")) {
            o.sweep = true;
        } else if (!strcmp(argv[i], "--db")) {
            db_path = argv[++i];
        } else if (!strcmp(argv[i], "--no-db")) {
            no_db = true;
        } else if (!strcmp(argv[i], "--set")) {
            rc = cli_overrides_add(argv[++i], &ov, &n_ov, "goodput");
        } else {
            rc = cli_operand("goodput", goodput_usage, argv[i], &file);
        }
    }
    if (rc == 0)
        rc = cli_config_given("goodput", goodput_usage, file, no_db, db_path);
    if (rc != 0) {
        cli_overrides_free(ov, n_ov);
        return rc;
    }
    o.seeds = seeds;
    o.log_seeds = log_seeds;
    o.intervals = intervals;
    o.n_intervals = n_int;
    sim_status st;
    sim_status_clear(&st);
    plan *p = NULL;
    db *d = NULL;
    rel_goodput_result g;
    memset(&g, 0, sizeof g);
    power_result pw;
    memset(&pw, 0, sizeof pw);
    if (plan_load(file, ov, n_ov, &p, &st) != SIM_OK)
        goto fail;
    if (!no_db) { /* opened first: a database that cannot be opened costs no replay */
        db_path = db_path ? db_path : plan_db_path(p)[0] ? plan_db_path(p) : "results.db";
        if (db_open(db_path, &d, &st) != SIM_OK)
            goto fail;
    }
    if (rel_goodput_run(p, &o, &g, &st) != SIM_OK)
        goto fail;
    print_result(p, &g);
    if (g.replayed && power_compute(p, &g.replay, &pw, &st) != SIM_OK)
        goto fail;
    print_power(p, &g, &pw);
    if (d) {
        int64_t run_id = 0;
        db_goodput_rows rows = {&g, &pw};
        db_record_src src = {"goodput", plan_config_path(p), ov, n_ov, NULL,
                             db_record_goodput, &rows, cli_now_s() - t0};
        if (db_record_run(d, p, g.replayed ? &g.replay : NULL,
                          g.replayed && g.cross_dc ? &g.mdc : NULL, &src, &run_id, &st) != SIM_OK)
            goto fail;
        printf("wrote run %lld to %s\n", (long long)run_id, db_path);
    }
    goto done;
fail:
    rc = cli_report(&st);
done:
    db_close(d);
    rel_goodput_free(&g);
    plan_destroy(p);
    cli_overrides_free(ov, n_ov);
    return rc;
}
