/*
 * record.h: a replay as rows of the results database (sim/out/schema.sql, analysis/SCHEMA.md).
 *
 * This is the one place that knows which table a figure of a replay goes to, under which
 * column, in which order of the parallel dimensions, and how the derived columns (a step's
 * MFU, a link's utilization, a collective's bus bandwidth, the run row's figures over whole
 * DiLoCo rounds) are computed from the executor's results. The subcommands that replay
 * (run, sweep) call it and print; they know no table.
 *
 * Everything is written through the db.h API, so nothing here sees <sqlite3.h>.
 */
#ifndef SIM_OUT_RECORD_H
#define SIM_OUT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/ydoc.h"
#include "exec/exec.h"
#include "exec/multidc.h"
#include "out/db.h"
#include "workload/plan.h"

/* Where a recorded run came from. Every pointer is borrowed for the duration of the call. */
typedef struct db_record_src {
    const char *command;     /* run.command: 'run', 'sweep'; required */
    const char *config_path; /* run.config_path; the file's text, then the overrides'
                                origins as comments, becomes run.config_yaml */
    const ydoc_override *ov; /* the overrides applied to the config */
    size_t n_ov;
    const char *point;       /* a sweep point's name: every override and ('_point', point)
                                become sweep_param rows; NULL: no sweep_param row */
    /* More rows of the same run, written inside its transaction after the replay's (a
     * goodput run's tables); NULL: none. */
    sim_code (*extra)(db *d, int64_t run_id, const void *ctx, sim_status *st);
    const void *extra_ctx;
    double wall_s; /* > 0: run.wall_s, the whole invocation's (a goodput or search run does
                      more than its replay); 0: the replay's */
} db_record_src;

/*
 * Writes the rows of one finished replay of p (r from exec_run or mdc_run; m from mdc_run
 * for a cross-datacenter plan, else NULL; all borrowed) under the existing run run_id, inside
 * the caller's transaction: a step row per measured step (warm-up steps left out, steps
 * numbered from 0) with its MFU, a rank row per rank with its coordinates in every parallel
 * dimension, the topology's link rows, a link_stats row per link that carried bytes in the
 * measured steps, a collective row per measured collective of rank 0's groups (numbered from
 * 0), and with m the multidc row, a wan row per directed WAN link and, for the DiLoCo
 * schemes, a multidc_site row per site and a multidc_sync row per outer sync of the round
 * (m->syncs); and the power row when the power model covers the replay (power/power.h,
 * out/record_power.h). r must not be stopped.
 * Errors: those of db_insert_prepare and db_insert_exec (SIM_ERR_INTERNAL for a row the
 * schema refuses, such as a run_id with no run row; SIM_ERR_IO; SIM_ERR_NOMEM); the rows
 * written before the failure stay in the transaction, for the caller to roll back.
 */
sim_code db_record_replay(db *d, int64_t run_id, const plan *p, const exec_result *r,
                          const mdc_result *m, sim_status *st);

/*
 * Records a replay in one transaction of d (which must have none open): the run row (status
 * 'ok', or 'stopped' with no figures when r stopped at a bound; for DiLoCo and streaming
 * plans the figures are over whole rounds, so the outer syncs count; the process's peak RSS
 * at the time of the call), then db_record_replay's rows unless r stopped, then src's
 * sweep_param rows, then src->extra's. r NULL: nothing was replayed (a step time given): a
 * run row 'ok' without step figures and no replay rows. p, r, m (NULL unless a
 * cross-datacenter plan) and src are borrowed. Sets
 * *run_id to the new run's id. On failure the transaction is rolled back and d holds nothing
 * of the run. A config file that cannot be read leaves run.config_yaml NULL.
 * Errors: those of db_begin, db_run_insert, db_record_replay and db_commit.
 */
sim_code db_record_run(db *d, const plan *p, const exec_result *r, const mdc_result *m,
                       const db_record_src *src, int64_t *run_id, sim_status *st);

/*
 * Records a run that could not be replayed (a config with an input error, a job that does
 * not fit): a run row with status 'failed' and reason (borrowed), and src's sweep_param rows,
 * in one transaction of the database at path (opened and closed here). Sets *run_id (may be
 * NULL) to the new run's id. A config file that cannot be read leaves run.config_yaml NULL.
 * Errors: those of db_open, db_begin, db_run_insert, db_insert_exec and db_commit; the
 * database then holds nothing of the run.
 */
sim_code db_record_failure(const char *path, const db_record_src *src, const char *reason,
                           int64_t *run_id, sim_status *st);

#endif
