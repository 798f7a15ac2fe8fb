/*
 * power.c: the power model of power.h over one replayed step.
 *
 * One pass over the job's ranks sums each chip's draw in its three states and, for the
 * bounds, its idle power and TDP; the parts beside the chips come from rel_fleet_count,
 * which walks the network graph once. Nothing is kept: the result is a plain value.
 */
#include "power/power.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rel/rel_fleet.h"
#include "topo/topo.h"

static sim_code not_modeled(power_result *out, const char *why)
{
    out->modeled = false;
    snprintf(out->reason, sizeof out->reason, "%s", why);
    return SIM_OK;
}

/* The chip figures: draws by state summed over the job's chips, and the mean fractions. */
static sim_code sum_chips(const plan *p, const exec_result *r, power_result *out,
                          double *idle_W, double *tdp_W, double *capital_usd)
{
    const topo *t = plan_topo(p);
    const topo_cost *cost = topo_cost_of(t);
    double step = r->step_time_s;
    for (int64_t i = 0; i < out->chips; i++) {
        const hw_chip *c = topo_chip_hw(t, (int32_t)i);
        if (!c || !c->power.present) {
            char why[POWER_REASON_MAX];
            snprintf(why, sizeof why, "chip '%s' has no power section in its chip file",
                     c ? c->name : "(none)");
            return not_modeled(out, why);
        }
        const exec_rank_stats *s = &r->ranks[i];
        double comm = 0;
        for (int d = 0; d < PLAN_DIM_COUNT; d++)
            comm += s->exposed_s[d];
        double fc = step > 0 ? s->compute_s / step : 0, fm = step > 0 ? comm / step : 0;
        if (fc + fm > 1) { /* rounding at the step's end: never more than the whole step */
            double k = 1 / (fc + fm);
            fc *= k;
            fm *= k;
        }
        const hw_power *w = &c->power;
        out->chip_W += w->idle_W + (w->train_W - w->idle_W) * fc + (w->comm_W - w->idle_W) * fm;
        out->compute_frac += fc / (double)out->chips;
        out->comm_frac += fm / (double)out->chips;
        *idle_W += w->idle_W;
        *tdp_W += w->tdp_W;
        *capital_usd += topo_cost_chip_usd(cost, c->name);
    }
    out->idle_frac = 1 - out->compute_frac - out->comm_frac;
    out->idle_frac = out->idle_frac > 0 ? out->idle_frac : 0; /* -1e-17 from rounding */
    out->modeled = true;
    return SIM_OK;
}

/* The reliability section's run without failures (rel_goodput.c's length rules). */
static void full_run(const plan *p, power_result *out)
{
    const plan_reliability *rel = plan_reliability_of(p);
    if (!rel->present || !(out->tokens_per_step > 0))
        return;
    int64_t steps = rel->steps;
    if (steps <= 0) {
        double tokens = rel->tokens;
        if (!(tokens > 0)) { /* Chinchilla: 20 tokens per parameter, as goodput */
            wl_params pc;
            wl_params_count(plan_workload(p), &pc);
            tokens = 20 * pc.total;
        }
        steps = (int64_t)ceil(tokens / out->tokens_per_step - 1e-9);
        steps = steps > 0 ? steps : 1;
    }
    out->run_steps = steps;
    out->run_tokens = (double)steps * out->tokens_per_step;
    out->run_wall_s = (double)steps * out->step_s;
    power_run_cost(out, out->run_wall_s, &out->run_energy_J, &out->run_usd);
}

sim_code power_compute(const plan *p, const exec_result *r, power_result *out,
                       sim_status *st)
{
    memset(out, 0, sizeof *out);
    out->run_usd = NAN;
    out->usd_per_step = NAN;
    out->usd_per_token = NAN;
    if (r->stopped || !(r->step_time_s > 0))
        return not_modeled(out, "the replay stopped before a whole step");
    out->chips = rel_job_chips(p);
    if (out->chips != plan_ranks(p))
        return not_modeled(out, "DiLoCo rounds (each replica's chips) are not modeled");
    const topo *t = plan_topo(p);
    const topo_power *tp = topo_power_of(t);
    const topo_cost *cost = topo_cost_of(t);
    double idle_W = 0, tdp_W = 0, capital = 0;
    out->step_s = r->step_time_s;
    sim_code rc = sum_chips(p, r, out, &idle_W, &tdp_W, &capital);
    if (rc != SIM_OK || !out->modeled)
        return rc;
    rel_fleet_counts c;
    rc = rel_fleet_count(t, out->chips, &c, st);
    if (rc != SIM_OK)
        return rc;
    out->hosts = c.hosts;
    out->nics = c.nics;
    out->leaves = c.leaves;
    out->spines = c.spines;
    out->cores = c.cores;
    out->cables = c.nic_cables + c.leaf_spine_cables + c.spine_core_cables;
    out->optics = 2 * out->cables;
    int64_t switches = c.leaves + c.spines + c.cores;
    out->host_W = (double)c.hosts * tp->host_W;
    out->nic_W = (double)c.nics * tp->nic_W;
    out->switch_W = (double)switches * tp->switch_W;
    out->optic_W = (double)out->optics * tp->optic_W;
    double others = out->host_W + out->nic_W + out->switch_W + out->optic_W;
    out->pue = tp->pue;
    out->it_W = out->chip_W + others;
    out->facility_W = out->it_W * tp->pue;
    out->idle_floor_W = (idle_W + others) * tp->pue;
    out->tdp_ceiling_W = (tdp_W + others) * tp->pue;
    out->tokens_per_s = r->tokens_per_s;
    out->tokens_per_step = r->tokens_per_s * r->step_time_s;
    out->energy_per_step_J = out->facility_W * out->step_s;
    out->J_per_token = r->tokens_per_s > 0 ? out->facility_W / r->tokens_per_s : NAN;
    out->tokens_per_J = out->facility_W > 0 ? r->tokens_per_s / out->facility_W : NAN;
    out->cap_W = tp->cap_W;
    out->cap_chips = out->chips;
    out->clock = tp->clock;
    out->clock_floor = tp->clock_floor;
    out->site_train_full_W = tp->site_train_full_W;
    out->site_train_W = tp->site_train_W;
    if (tp->cap_W > 0 && out->facility_W > tp->cap_W) {
        int64_t per_host = c.hosts > 0 && out->chips % c.hosts == 0 ? out->chips / c.hosts : 1;
        double fit = floor((double)out->chips * tp->cap_W / out->facility_W);
        out->cap_chips = (int64_t)fit / per_host * per_host;
    }
    if (cost->present) {
        out->priced = true;
        capital += (double)c.hosts * cost->host_usd + (double)c.nics * cost->nic_usd +
                   (double)switches * cost->switch_usd + (double)out->optics * cost->optic_usd;
        out->capital_usd = capital;
        out->depreciation_s = cost->depreciation_s;
        out->depreciation_usd_per_s = capital / cost->depreciation_s;
        out->energy_usd_per_s = out->facility_W * cost->energy_usd_per_J;
        out->usd_per_step = (out->depreciation_usd_per_s + out->energy_usd_per_s) * out->step_s;
        out->usd_per_token =
            out->tokens_per_step > 0 ? out->usd_per_step / out->tokens_per_step : NAN;
    }
    full_run(p, out);
    return SIM_OK;
}

void power_run_cost(const power_result *pw, double wall_s, double *energy_J, double *usd)
{
    *energy_J = pw->facility_W * wall_s;
    *usd = pw->priced ? (pw->depreciation_usd_per_s + pw->energy_usd_per_s) * wall_s : NAN;
}
