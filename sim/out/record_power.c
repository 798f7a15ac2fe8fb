/*
 * record_power.c: the power row of a run (see record_power.h). The column list and the
 * binds follow one order, the schema's.
 */
#include "out/record_power.h"

#include <math.h>
#include <stddef.h>

sim_code db_record_power(db *d, int64_t run_id, const power_result *pw, sim_status *st)
{
    static const char *const cols[] = {
        "run_id", "chips", "hosts", "nics", "leaves", "spines", "cores", "cables", "optics",
        "compute_frac", "comm_frac", "idle_frac", "chip_W", "host_W", "nic_W", "switch_W",
        "optic_W", "it_W", "pue", "facility_W", "idle_floor_W", "tdp_ceiling_W",
        "step_time_s", "energy_per_step_J", "tokens_per_step", "J_per_token", "tokens_per_J",
        "cap_W", "cap_chips", "capital_usd", "depreciation_s", "depreciation_usd_per_s",
        "energy_usd_per_s", "usd_per_step", "usd_per_token", "run_steps", "run_tokens",
        "run_wall_s", "run_energy_J", "run_usd"};
    db_stmt *s = NULL;
    sim_code rc = db_insert_prepare(d, "power", cols, sizeof cols / sizeof cols[0], &s, st);
    if (rc != SIM_OK)
        return rc;
    size_t c = 0;
    int cap = pw->cap_W > 0, run = pw->run_steps > 0;
    db_insert_bind_int(s, c++, run_id);
    db_insert_bind_int(s, c++, pw->chips);
    db_insert_bind_int(s, c++, pw->hosts);
    db_insert_bind_int(s, c++, pw->nics);
    db_insert_bind_int(s, c++, pw->leaves);
    db_insert_bind_int(s, c++, pw->spines);
    db_insert_bind_int(s, c++, pw->cores);
    db_insert_bind_int(s, c++, pw->cables);
    db_insert_bind_int(s, c++, pw->optics);
    db_insert_bind_figure(s, c++, pw->compute_frac);
    db_insert_bind_figure(s, c++, pw->comm_frac);
    db_insert_bind_figure(s, c++, pw->idle_frac);
    db_insert_bind_figure(s, c++, pw->chip_W);
    db_insert_bind_figure(s, c++, pw->host_W);
    db_insert_bind_figure(s, c++, pw->nic_W);
    db_insert_bind_figure(s, c++, pw->switch_W);
    db_insert_bind_figure(s, c++, pw->optic_W);
    db_insert_bind_figure(s, c++, pw->it_W);
    db_insert_bind_figure(s, c++, pw->pue);
    db_insert_bind_figure(s, c++, pw->facility_W);
    db_insert_bind_figure(s, c++, pw->idle_floor_W);
    db_insert_bind_figure(s, c++, pw->tdp_ceiling_W);
    db_insert_bind_figure(s, c++, pw->step_s);
    db_insert_bind_figure(s, c++, pw->energy_per_step_J);
    db_insert_bind_figure(s, c++, pw->tokens_per_step);
    db_insert_bind_figure(s, c++, pw->J_per_token);
    db_insert_bind_figure(s, c++, pw->tokens_per_J);
    db_insert_bind_figure(s, c++, cap ? pw->cap_W : NAN);
    if (cap)
        db_insert_bind_int(s, c++, pw->cap_chips);
    else
        db_insert_bind_null(s, c++);
    db_insert_bind_figure(s, c++, pw->priced ? pw->capital_usd : NAN);
    db_insert_bind_figure(s, c++, pw->priced ? pw->depreciation_s : NAN);
    db_insert_bind_figure(s, c++, pw->priced ? pw->depreciation_usd_per_s : NAN);
    db_insert_bind_figure(s, c++, pw->priced ? pw->energy_usd_per_s : NAN);
    db_insert_bind_figure(s, c++, pw->priced ? pw->usd_per_step : NAN);
    db_insert_bind_figure(s, c++, pw->priced ? pw->usd_per_token : NAN);
    if (run)
        db_insert_bind_int(s, c++, pw->run_steps);
    else
        db_insert_bind_null(s, c++);
    db_insert_bind_figure(s, c++, run ? pw->run_tokens : NAN);
    db_insert_bind_figure(s, c++, run ? pw->run_wall_s : NAN);
    db_insert_bind_figure(s, c++, run ? pw->run_energy_J : NAN);
    db_insert_bind_figure(s, c++, run && pw->priced ? pw->run_usd : NAN);
    rc = db_insert_exec(s, st);
    db_insert_finish(s);
    return rc;
}
