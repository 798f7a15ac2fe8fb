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
#include "rel/rel_goodput.h"

/*
 * Writes g's rows (ctx: the rel_goodput_result, borrowed) under the existing run run_id,
 * inside the caller's transaction: a goodput row per interval, a goodput_seed row per seed
 * and interval, a goodput_cause row per failure class and interval, and the interruption
 * logs kept (the main interval's first seeds). The shape of db_record_src.extra.
 * Errors: those of db_insert_prepare and db_insert_exec.
 */
sim_code db_record_goodput(db *d, int64_t run_id, const void *ctx, sim_status *st);

#endif
