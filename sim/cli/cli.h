/*
 * cli.h: the subcommands of the clustersim executable. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status: 0 success, 1
 * internal or i/o failure, 2 bad input or usage. Only main() calls exit.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "core/status.h"
#include "core/ydoc.h"
#include "power/power.h"

int cli_flows_main(int argc, char **argv);
int cli_bench_main(int argc, char **argv);
int cli_topo_main(int argc, char **argv);
int cli_plan_main(int argc, char **argv);
int cli_run_main(int argc, char **argv);
int cli_calibrate_main(int argc, char **argv);
int cli_merge_main(int argc, char **argv);
int cli_sweep_main(int argc, char **argv);
int cli_coll_main(int argc, char **argv);
int cli_stragglers_main(int argc, char **argv);
int cli_goodput_main(int argc, char **argv);
int cli_search_main(int argc, char **argv);

/* --set KEY=VALUE arguments: appends one override to *ov (grown; strings owned by it).
 * Returns 0, or the exit status after printing an error naming cmd. */
int cli_overrides_add(const char *arg, ydoc_override **ov, size_t *n, const char *cmd);
void cli_overrides_free(ydoc_override *ov, size_t n); /* accepts NULL */

/* One replay of a config, as `run` does it and as `sweep` does it for each point. */
typedef struct cli_run_opts {
    const char *db_path;     /* NULL: the config's output.db, else results.db; "": none */
    int print;               /* print the summary to stdout */
    int progress;            /* progress line on stderr */
    const char *trace_path, *trace_ranks;
    int no_trace;            /* ignore the config's output.trace (sweep points: every point
                                would write the same file) */
    uint64_t max_events;
    double max_wall_s;
    const char *command;     /* run.command: "run" or "sweep" */
    const char *point;       /* a sweep point's name: written with the overrides to
                                sweep_param (key '_point'); NULL: none */
    int record_failures;     /* an input error or a job that does not fit becomes a run row
                                with status 'failed' and its reason (exit status 3) */
    int allow_oversubscribed; /* replay a job whose memory per rank exceeds HBM (the
                                 summary's first line warns); else it is refused, exit 3 */
} cli_run_opts;

/* Replays config with overrides; returns the exit status (0 ok, 2 bad input, 3 recorded as
 * failed, 1 other failures), having reported errors on stderr. */
int cli_run_config(const char *config, const ydoc_override *ov, size_t n_ov,
                   const cli_run_opts *o);

/* Prints "clustersim: <formatted status>" to stderr and returns the exit status. */
int cli_report(const sim_status *st);

/* Checks, before the options are parsed, that each option of opts ("--db FILE", the name
 * and what its value is; NULL-terminated) in argv is followed by a non-empty value (which
 * may start with '-'). Returns 0, or 2 after printing "clustersim CMD: option '--db'
 * expects FILE, found nothing" (or "an empty string") and usage. */
int cli_check_values(int argc, char **argv, const char *cmd, const char *const *opts,
                     const char *usage);

/* An argument of a command that takes one file (CMD FILE): an unknown option, the file
 * (*file, when not yet given) or an unexpected second one. Returns 0, or 2 after printing
 * "clustersim CMD: unknown option 'A'" (or "unexpected argument 'A'") and usage. */
int cli_operand(const char *cmd, const char *usage, const char *a, const char **file);

/* After the options of a command on a config: 0, or 2 after printing "clustersim CMD:
 * expected CONFIG.yaml" (no file) or "--db and --no-db together" (both) and usage. */
int cli_config_given(const char *cmd, const char *usage, const char *file, int no_db,
                     const char *db_path);

/* Parses s, decimal digits only (no sign, no space), as an integer from lo to hi (lo >= 0).
 * Returns 0, or -1 when s is not one or lies outside (overflow included). */
int cli_parse_int(const char *s, long long lo, long long hi, long long *out);

/* Parses "1,2,4": at most max integers from lo to hi (cli_parse_int) separated by commas,
 * into out[0..*n). Returns 0, or -1 when s is not such a list. */
int cli_parse_int_list(const char *s, long long lo, long long hi, size_t max, int64_t *out,
                       size_t *n);

/* Prints "clustersim CMD: option 'OPT': expected EXPECTED, found 'FOUND'"; returns 2. */
int cli_bad_value(const char *cmd, const char *opt, const char *expected, const char *found);

/* Seconds on the monotonic clock. */
double cli_now_s(void);

/* The power, energy and cost block of a summary (print_power.c): pw from power_compute on
 * p's replay; a job the model does not cover prints why. */
void cli_print_power(const plan *p, const power_result *pw);
/* "$612.3M"; "208 MJ", "57.3 GWh": into buf, returned. */
const char *cli_fmt_usd(double v, char *buf, size_t n);
const char *cli_fmt_energy(double J, char *buf, size_t n);

#endif
