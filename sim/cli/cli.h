/*
 * cli.h: the subcommands of the clustersim executable. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status: 0 success, 1
 * internal or i/o failure, 2 bad input or usage. Only main() calls exit.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <stdio.h>

#include "core/status.h"
#include "core/ydoc.h"

int cli_flows_main(int argc, char **argv);
int cli_bench_main(int argc, char **argv);
int cli_topo_main(int argc, char **argv);
int cli_plan_main(int argc, char **argv);
int cli_run_main(int argc, char **argv);
int cli_calibrate_main(int argc, char **argv);

/* --set KEY=VALUE arguments: appends one override to *ov (grown; strings owned by it).
 * Returns 0, or the exit status after printing an error naming cmd. */
int cli_overrides_add(const char *arg, ydoc_override **ov, size_t *n, const char *cmd);
void cli_overrides_free(ydoc_override *ov, size_t n); /* accepts NULL */

/* Prints "clustersim: <formatted status>" to stderr and returns the exit status. */
int cli_report(const sim_status *st);

#endif
