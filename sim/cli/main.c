/*
 * main.c: the clustersim executable: dispatches to a subcommand. The only place that
 * decides the process exit status.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct cli_cmd {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} cli_cmd;

static const cli_cmd commands[] = {
    {"run", cli_run_main, "replay training steps: MFU, step time, exposed communication, hot links"},
    {"sweep", cli_sweep_main, "run a grid of points (product or zip) in parallel into one database"},
    {"merge", cli_merge_main, "combine result databases (sweep shards), keeping every run once"},
    {"stragglers", cli_stragglers_main,
     "step times over straggler draws, and what replacing the slowest nodes buys"},
    {"search", cli_search_main,
     "the best tp/pp/dp/cp/ep, stages, micro-batch, ZeRO and recompute for a config's chips"},
    {"goodput", cli_goodput_main,
     "a whole training run under failures: ETTR, days to train, time lost by cause"},
    {"calibrate", cli_calibrate_main, "fit a chip's efficiency parameters to measurements"},
    {"topo", cli_topo_main, "check a topology and summarize it (chips, switches, links, bisection)"},
    {"plan", cli_plan_main, "does a job fit, what a step costs (FLOPs, memory, bytes per dimension)"},
    {"flows", cli_flows_main, "replay point-to-point flows on a topology (max-min sharing)"},
    {"coll", cli_coll_main, "time one collective over a group of chips, as nccl-tests does"},
    {"bench", cli_bench_main, "measure the engine and network model (wall time, events/s)"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clustersim [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "clustersim simulates ML training clusters and their interconnects:\n"
            "a discrete-event engine with flow-level, max-min fair network sharing.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'clustersim COMMAND --help' describes a command.\n"
                 "Exit status: 0 success, 1 failure, 2 bad input or usage, 3 the job does not\n"
                 "fit (plan).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("clustersim %s\n", CLUSTERSIM_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "clustersim: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
