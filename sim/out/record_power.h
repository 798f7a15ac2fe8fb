/*
 * record_power.h: a replay's power, energy and cost (power/power.h) as the row of the power
 * table of the results database (sim/out/schema.sql, analysis/SCHEMA.md). Written through
 * db.h, so nothing here sees <sqlite3.h>.
 */
#ifndef SIM_OUT_RECORD_POWER_H
#define SIM_OUT_RECORD_POWER_H

#include <stdint.h>

#include "core/status.h"
#include "out/db.h"
#include "power/power.h"

/*
 * Writes pw (borrowed; pw->modeled) as the power row of the existing run run_id, inside the
 * caller's transaction: the cost columns NULL unless pw->priced, the run_* columns NULL
 * unless pw->run_steps > 0, the cap columns NULL without a cap. Errors: those of
 * db_insert_prepare and db_insert_exec.
 */
sim_code db_record_power(db *d, int64_t run_id, const power_result *pw, sim_status *st);

#endif
