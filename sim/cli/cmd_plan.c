/*
 * cmd_plan.c: `clustersim plan CONFIG`: does the job fit, what does a step cost, how much
 * does each parallel dimension move. No simulation: model math and the rank programs only.
 * Exit status 3 when the job does not fit in HBM (the breakdown is printed all the same).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/units.h"
#include "out/trace.h"
#include "workload/plan.h"

static const char plan_usage[] =
    "usage: clustersim plan [--json] [--set KEY=VALUE]... CONFIG.yaml\n"
    "\n"
    "Binds a config's topology, workload and parallelism and prints: parameters, model and\n"
    "hardware FLOPs per step, the memory per rank itemized against the chip's HBM, the bytes\n"
    "each rank moves per step on every parallel dimension, the pipeline bubble, and whether\n"
    "the job fits. Exit status 3 when it does not fit.\n"
    "\n"
    "  --json             one JSON object (keys params, model_flops_per_step,\n"
    "                     hardware_flops_per_step, memory_bytes_per_rank, hbm_bytes, fits,\n"
    "                     bubble_fraction, bytes_per_step, microbatches, ranks, tokens_per_step)\n"
    "  --set KEY=VALUE    override a config key (parallelism.tp=4); topology.* and workload.*\n"
    "                     keys reach the topology and workload files (topology.fabric.radix=128)\n";

static const char *gib(double b, char *buf, size_t n)
{
    snprintf(buf, n, "%.2f GiB", b / 1073741824.0);
    return buf;
}

static void print_text(const plan *p, const plan_totals *t)
{
    const wl_parallel *w = plan_parallel(p);
    const hw_chip *chip = topo_chip_hw(plan_topo(p), 0);
    char a[64], b[64];
    static const char *const sched_names[] = {"gpipe", "1f1b", "interleaved"};
    static const char *const rec[] = {"none", "selective", "full"};
    printf("plan %s: %s on %s (%lld ranks of %s)\n", plan_name(p), plan_workload(p)->name,
           topo_name(plan_topo(p)), (long long)plan_ranks(p), chip ? chip->name : "chip");
    printf("parallelism: tp %lld, pp %lld, dp %lld, cp %lld, ep %lld, virtual stages %lld, "
           "schedule %s, zero %d%s, sequence parallel %s, recompute %s\n",
           (long long)w->tp, (long long)w->pp, (long long)w->dp, (long long)w->cp,
           (long long)w->ep, (long long)w->vp, sched_names[w->schedule], w->zero,
           w->fsdp ? " (fsdp)" : "", w->sequence_parallel ? "on" : "off", rec[w->recompute]);
    printf("batch: %lld sequences of %lld tokens (%.4g tokens), micro-batch %lld, %lld "
           "micro-batches per pipeline\n",
           (long long)plan_workload(p)->global_batch, (long long)plan_workload(p)->sequence,
           t->tokens, (long long)plan_workload(p)->micro_batch, (long long)plan_microbatches(p));
    if (plan_sites_unequal(p) || plan_has_regions(p)) { /* the figures here are replica 0's */
        printf("%s, each its own replica (the figures here are %s's):",
               plan_has_regions(p) ? "regions" : "sites", plan_replica_name(p, 0));
        for (int64_t s = 0; s < plan_cross_dc_of(p)->replicas; s++) {
            const plan *q = plan_site(p, s);
            printf("%s %s %lld ranks (dp %lld, batch %lld)", s ? "," : "",
                   plan_replica_name(p, s), (long long)plan_ranks(q),
                   (long long)plan_parallel(q)->dp, (long long)plan_workload(q)->global_batch);
        }
        printf("\n");
    }
    printf("parameters: %.4g\n", t->params);
    printf("FLOPs per step: model %.4g, hardware %.4g\n", t->model_flops, t->hardware_flops);
    const wl_memory *m = &t->memory;
    printf("memory per rank (worst stage %lld): weights %s, gradients %s, optimizer %s,\n",
           (long long)m->stage, gib(m->weights, a, sizeof a), gib(m->grads, b, sizeof b),
           gib(m->optimizer, a + 32, 32));
    printf("  activations %s, communication buffers %s, total %s of %s HBM: %s\n",
           gib(m->activations, a, sizeof a), gib(m->comm_buffers, b, sizeof b),
           gib(m->total, a + 32, 32), gib(t->hbm_bytes, b + 32, 32),
           t->fits ? "fits" : "DOES NOT FIT");
    printf("bytes per step per rank:");
    for (int d = 0; d < PLAN_DIM_COUNT; d++) {
        sim_units_fmt_bytes(t->bytes_per_dim[d], a, sizeof a);
        printf(" %s %s", plan_dim_name(d), a);
    }
    printf("\npipeline bubble: %.4f of the ideal step ((pp - 1) / (m v))\n", t->bubble_fraction);
    printf("program: %.0f items per rank (last stage)\n", t->items_per_rank);
}

static void print_json(const plan *p, const plan_totals *t)
{
    const wl_memory *m = &t->memory;
    fputs("{\"name\": ", stdout);
    trace_json_str(stdout, plan_name(p));
    printf(", \"ranks\": %lld, \"params\": %.17g, \"model_flops_per_step\": %.17g, "
           "\"hardware_flops_per_step\": %.17g, \"tokens_per_step\": %.17g",
           (long long)plan_ranks(p), t->params, t->model_flops, t->hardware_flops, t->tokens);
    printf(", \"memory_bytes_per_rank\": {\"stage\": %lld, \"weights\": %.17g, \"gradients\": "
           "%.17g, \"optimizer\": %.17g, \"activations\": %.17g, \"comm_buffers\": %.17g, "
           "\"total\": %.17g}",
           (long long)m->stage, m->weights, m->grads, m->optimizer, m->activations,
           m->comm_buffers, m->total);
    printf(", \"hbm_bytes\": %.17g, \"fits\": %s, \"bubble_fraction\": %.17g, \"microbatches\": "
           "%lld, \"bytes_per_step\": {",
           t->hbm_bytes, t->fits ? "true" : "false", t->bubble_fraction,
           (long long)plan_microbatches(p));
    for (int d = 0; d < PLAN_DIM_COUNT; d++)
        printf("%s\"%s\": %.17g", d ? ", " : "", plan_dim_name(d), t->bytes_per_dim[d]);
    printf("}}\n");
}

int cli_plan_main(int argc, char **argv)
{
    int json = 0, rc = 0;
    const char *file = NULL;
    ydoc_override *ov = NULL;
    size_t n_ov = 0;
    static const char *const valued[] = {"--set KEY=VALUE", NULL};
    if ((rc = cli_check_values(argc, argv, "plan", valued, plan_usage)) != 0)
        return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(plan_usage, stdout);
            cli_overrides_free(ov, n_ov);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--set")) {
            if ((rc = cli_overrides_add(argv[++i], &ov, &n_ov, "plan")) != 0) {
                cli_overrides_free(ov, n_ov);
                return rc;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim plan: unknown option '%s'\n%s", argv[i], plan_usage);
            cli_overrides_free(ov, n_ov);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "clustersim plan: unexpected argument '%s'\n%s", argv[i], plan_usage);
            cli_overrides_free(ov, n_ov);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "clustersim plan: expected CONFIG.yaml\n%s", plan_usage);
        cli_overrides_free(ov, n_ov);
        return 2;
    }
    sim_status st;
    sim_status_clear(&st);
    plan *p = NULL;
    plan_totals t;
    if (plan_load(file, ov, n_ov, &p, &st) != SIM_OK ||
        plan_totals_compute(p, &t, &st) != SIM_OK) {
        rc = cli_report(&st);
    } else {
        if (json)
            print_json(p, &t);
        else
            print_text(p, &t);
        rc = t.fits ? 0 : 3;
    }
    plan_destroy(p);
    cli_overrides_free(ov, n_ov);
    return rc;
}
