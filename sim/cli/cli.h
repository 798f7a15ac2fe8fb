/*
 * cli.h: the subcommands of the clustersim executable. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status: 0 success, 1
 * internal or i/o failure, 2 bad input or usage. Only main() calls exit.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <stdio.h>

#include "core/status.h"

int cli_flows_main(int argc, char **argv);
int cli_bench_main(int argc, char **argv);
int cli_topo_main(int argc, char **argv);

/* Prints "clustersim: <formatted status>" to stderr and returns the exit status. */
int cli_report(const sim_status *st);

#endif
