/*
 * cmd_stragglers.c: `clustersim stragglers CONFIG`: the step-time distribution over draws of
 * the config's stragglers section, and what replacing the k slowest nodes buys
 * (rel/rel_straggle.h has the model). Prints only; nothing is written to a database.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "rel/rel_straggle.h"
#include "workload/plan.h"

static const char strag_usage[] =
    "usage: clustersim stragglers [--seeds N] [--drop K,K,...] [--set KEY=VALUE]...\n"
    "                             CONFIG.yaml\n"
    "\n"
    "Replays one step of a config with no stragglers, then once per draw of its stragglers\n"
    "section (slow, fraction, slowdown, sigma; seeds run.seed, run.seed + 1, ...), and prints\n"
    "the step-time distribution over the draws (mean, min, p50, p90, p99, max) and, for each\n"
    "K, the mean step with the K slowest nodes replaced by healthy ones. Factors are static\n"
    "over a run; every collective waits for its slowest member.\n"
    "\n"
    "  --seeds N          draws, from 1 to 100000 (default 32)\n"
    "  --drop K,K,...     node counts to replace, each from 1 to 1000000, at most 32\n"
    "                     (default 1,2,4,8,16)\n"
    "  --set KEY=VALUE    override a config key (stragglers.fraction=0.05); topology.* and\n"
    "                     workload.* keys reach the topology and workload files\n";

static const char drop_expected[] =
    "node counts from 1 to 1000000 separated by commas (at most 32)";

static void print_result(const plan *p, const rel_straggle_result *r)
{
    /* one unit for every figure, chosen by the baseline: s, ms or us, 4 decimals */
    double u = r->baseline_s >= 1 ? 1 : r->baseline_s >= 1e-3 ? 1e3 : 1e6;
    const char *un = u == 1 ? "s" : u == 1e3 ? "ms" : "us";
    printf("stragglers %s: %s on %s, %lld chips on %lld nodes; %lld draws (seeds %llu to "
           "%llu)\n",
           plan_name(p), plan_workload(p)->name, topo_name(plan_topo(p)), (long long)r->chips,
           (long long)r->nodes, (long long)r->draws, (unsigned long long)r->first_seed,
           (unsigned long long)(r->first_seed + (uint64_t)r->draws - 1));
    double chips = 0, nodes = 0;
    for (int64_t i = 0; i < r->draws; i++)
        chips += (double)r->slow_chips[i], nodes += (double)r->slow_nodes[i];
    printf("slowed per draw (mean): %.2f chips on %.2f nodes\n", chips / (double)r->draws,
           nodes / (double)r->draws);
    printf("step with no stragglers: %.4f %s\n", u * r->baseline_s, un);
    printf("step over the draws: mean %.4f %s (%+.2f%%), min %.4f, p50 %.4f, p90 %.4f, "
           "p99 %.4f, max %.4f %s\n",
           u * r->mean_s, un, 100 * (r->mean_s / r->baseline_s - 1), u * r->min_s,
           u * r->p50_s, u * r->p90_s, u * r->p99_s, u * r->max_s, un);
    if (r->n_drop) {
        char h1[16], h2[16];
        snprintf(h1, sizeof h1, "step %s", un);
        snprintf(h2, sizeof h2, "gain %s", un);
        printf("replacing the k slowest nodes (mean over the draws):\n");
        printf("  %8s  %10s  %10s  %s\n", "k", h1, h2, "of the loss");
    }
    double loss = r->mean_s - r->baseline_s;
    for (size_t j = 0; j < r->n_drop; j++) {
        double gain = r->mean_s - r->drop_s[j];
        printf("  %8lld  %10.4f  %10.4f  ", (long long)r->drop_k[j], u * r->drop_s[j],
               u * gain);
        if (loss > 0)
            printf("%.1f%%\n", 100 * gain / loss);
        else
            printf("-\n");
    }
    printf("%lld replays (factors met before are not replayed again)\n", (long long)r->replays);
}

int cli_stragglers_main(int argc, char **argv)
{
    const char *file = NULL;
    ydoc_override *ov = NULL;
    size_t n_ov = 0, n_drop = 5;
    int64_t drop[REL_STRAGGLE_MAX_DROP] = {1, 2, 4, 8, 16};
    long long seeds = 32;
    static const char *const valued[] = {"--seeds N", "--drop K,K,...", "--set KEY=VALUE",
                                         NULL};
    int rc = cli_check_values(argc, argv, "stragglers", valued, strag_usage);
    for (int i = 1; rc == 0 && i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(strag_usage, stdout);
            cli_overrides_free(ov, n_ov);
            return 0;
        } else if (!strcmp(argv[i], "--seeds")) {
            if (cli_parse_int(argv[i + 1], 1, REL_STRAGGLE_MAX_SEEDS, &seeds) != 0)
                rc = cli_bad_value("stragglers", argv[i], "a number of draws from 1 to 100000",
                                   argv[i + 1]);
            i++;
        } else if (!strcmp(argv[i], "--drop")) {
            if (cli_parse_int_list(argv[i + 1], 1, 1000000, REL_STRAGGLE_MAX_DROP, drop,
                                   &n_drop) != 0)
                rc = cli_bad_value("stragglers", argv[i], drop_expected, argv[i + 1]);
            i++;
        } else if (!strcmp(argv[i], "--set")) {
            rc = cli_overrides_add(argv[++i], &ov, &n_ov, "stragglers");
        } else {
            rc = cli_operand("stragglers", strag_usage, argv[i], &file);
        }
    }
    if (rc == 0)
        rc = cli_config_given("stragglers", strag_usage, file, 0, NULL);
    if (rc != 0) {
        cli_overrides_free(ov, n_ov);
        return rc;
    }
    sim_status st;
    sim_status_clear(&st);
    plan *p = NULL;
    rel_straggle_result r = {0};
    rel_straggle_opts o = {.seeds = seeds, .drop = drop, .n_drop = n_drop};
    if (plan_load(file, ov, n_ov, &p, &st) != SIM_OK || rel_straggle_run(p, &o, &r, &st) != SIM_OK)
        rc = cli_report(&st);
    else
        print_result(p, &r);
    rel_straggle_result_free(&r);
    plan_destroy(p);
    cli_overrides_free(ov, n_ov);
    return rc;
}
