/*
 * record_rel.h: a goodput run (rel/rel_goodput.h) as rows of the results database: the
 * goodput, goodput_seed, goodput_cause and goodput_interruption tables (sim/out/schema.sql,
 * analysis/SCHEMA.md). Written through db.h, so nothing here sees <sqlite3.h>.
 */
#ifndef SIM_OUT_RECORD_REL_H
#define SIM_OUT_RECORD_REL_H

#include <stdint.h>

#include "core/status.h"
#include "out/db.h"
#include "power/power.h"
#include "rel/rel_goodput.h"

/* What db_record_goodput writes: a goodput run and, when the power model covers its replay,
 * the step's power (each interval's energy and cost over its mean wall). Both borrowed. */
typedef struct db_goodput_rows {
    const rel_goodput_result *g;
    const power_result *power; /* NULL, or not modeled: energy_J and cost_usd NULL */
} db_goodput_rows;

/*
 * Writes the rows of ctx (a db_goodput_rows, borrowed) under the existing run run_id,
 * inside the caller's transaction: a goodput row per interval (with energy_J and cost_usd
 * over its mean wall, power_run_cost), a goodput_seed row per seed and interval, a
 * goodput_cause row per failure class and interval, and the interruption logs kept (the
 * main interval's first seeds). The shape of db_record_src.extra.
 * Errors: those of db_insert_prepare and db_insert_exec.
 */
sim_code db_record_goodput(db *d, int64_t run_id, const void *ctx, sim_status *st);

#endif
