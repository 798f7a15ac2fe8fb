/*
 * record_power.c: the power row of a run (see record_power.h). The column list and the
 * binds follow one order, the schema's.
 */
#include "out/record_power.h"

#include <math.h>
#include <stddef.h>

/* A figure, or NULL when it is not finite or not applicable (use false). */
static void bind_fig(db_stmt *s, size_t col, double v, int use)
{
    db_insert_bind_double(s, col, use && isfinite(v) ? v : NAN);
}

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
    bind_fig(s, c++, pw->compute_frac, 1);
    bind_fig(s, c++, pw->comm_frac, 1);
    bind_fig(s, c++, pw->idle_frac, 1);
    bind_fig(s, c++, pw->chip_W, 1);
    bind_fig(s, c++, pw->host_W, 1);
    bind_fig(s, c++, pw->nic_W, 1);
    bind_fig(s, c++, pw->switch_W, 1);
    bind_fig(s, c++, pw->optic_W, 1);
    bind_fig(s, c++, pw->it_W, 1);
    bind_fig(s, c++, pw->pue, 1);
    bind_fig(s, c++, pw->facility_W, 1);
    bind_fig(s, c++, pw->idle_floor_W, 1);
    bind_fig(s, c++, pw->tdp_ceiling_W, 1);
    bind_fig(s, c++, pw->step_s, 1);
    bind_fig(s, c++, pw->energy_per_step_J, 1);
    bind_fig(s, c++, pw->tokens_per_step, 1);
    bind_fig(s, c++, pw->J_per_token, 1);
    bind_fig(s, c++, pw->tokens_per_J, 1);
    bind_fig(s, c++, pw->cap_W, cap);
    if (cap)
        db_insert_bind_int(s, c++, pw->cap_chips);
    else
        db_insert_bind_null(s, c++);
    bind_fig(s, c++, pw->capital_usd, pw->priced);
    bind_fig(s, c++, pw->depreciation_s, pw->priced);
    bind_fig(s, c++, pw->depreciation_usd_per_s, pw->priced);
    bind_fig(s, c++, pw->energy_usd_per_s, pw->priced);
    bind_fig(s, c++, pw->usd_per_step, pw->priced);
    bind_fig(s, c++, pw->usd_per_token, pw->priced);
    if (run)
        db_insert_bind_int(s, c++, pw->run_steps);
    else
        db_insert_bind_null(s, c++);
    bind_fig(s, c++, pw->run_tokens, run);
    bind_fig(s, c++, pw->run_wall_s, run);
    bind_fig(s, c++, pw->run_energy_J, run);
    bind_fig(s, c++, pw->run_usd, run && pw->priced);
    rc = db_insert_exec(s, st);
    db_insert_finish(s);
    return rc;
}
