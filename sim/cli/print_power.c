/*
 * print_power.c: the power, energy and cost block of a summary (power/power.h), shared by
 * `run` and `goodput`.
 */
#include <math.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/units.h"
#include "topo/topo.h"

/* v with four significant digits and the largest of the four thousand-fold names it
 * reaches (names[0] for units): before the number, after, then the name. */
static const char *fmt_scaled(double v, const char *before, const char *after,
                              const char *const names[4], char *buf, size_t n)
{
    double unit = 1;
    size_t k = 0;
    while (k + 1 < 4 && fabs(v) >= unit * 1e3) {
        unit *= 1e3;
        k++;
    }
    snprintf(buf, n, "%s%.4g%s%s", before, v / unit, after, names[k]);
    return buf;
}

/* "$612.3M", "$3.88", "$0.000123": k/M/B above a thousand. */
static const char *fmt_usd(double v, char *buf, size_t n)
{
    static const char *const sfx[] = {"", "k", "M", "B"};
    return fmt_scaled(v, "$", "", sfx, buf, n);
}

/* Energy: joules with a prefix below 1 MWh, else MWh or GWh. */
static const char *fmt_energy(double J, char *buf, size_t n)
{
    if (J >= 3.6e12)
        snprintf(buf, n, "%.4g GWh", J / 3.6e12);
    else if (J >= 3.6e9)
        snprintf(buf, n, "%.4g MWh", J / 3.6e9);
    else if (J >= 1e6)
        snprintf(buf, n, "%.4g MJ", J / 1e6);
    else if (J >= 1e3)
        snprintf(buf, n, "%.4g kJ", J / 1e3);
    else
        snprintf(buf, n, "%.4g J", J);
    return buf;
}

/* Power: "18.93 MW". */
static const char *fmt_W(double W, char *buf, size_t n)
{
    static const char *const names[] = {"W", "kW", "MW", "GW"};
    return fmt_scaled(W, "", " ", names, buf, n);
}

void cli_print_power(const plan *p, const power_result *pw)
{
    char a[64], b[64], c[64], e[64], f[64], g[64];
    if (!pw->modeled) {
        printf("power: not modeled: %s\n", pw->reason);
        return;
    }
    printf("power over the step (power/power.h): %s chips computing %.1f%%, waiting on "
           "communication %.1f%%, idle %.1f%% of it\n",
           sim_units_fmt_count((double)pw->chips, a, sizeof a), 100 * pw->compute_frac,
           100 * pw->comm_frac, 100 * pw->idle_frac);
    printf("  IT %s: chips %s, hosts (%lld) %s, NICs (%lld) %s, switches (%lld) %s, "
           "optics (%lld) %s\n",
           fmt_W(pw->it_W, a, sizeof a), fmt_W(pw->chip_W, b, sizeof b), (long long)pw->hosts,
           fmt_W(pw->host_W, c, sizeof c), (long long)pw->nics, fmt_W(pw->nic_W, e, sizeof e),
           (long long)(pw->leaves + pw->spines + pw->cores), fmt_W(pw->switch_W, f, sizeof f),
           (long long)pw->optics, fmt_W(pw->optic_W, g, sizeof g));
    printf("  facility %s at PUE %.3g (every chip idle: %s; every chip at TDP: %s)\n",
           fmt_W(pw->facility_W, a, sizeof a), pw->pue, fmt_W(pw->idle_floor_W, b, sizeof b),
           fmt_W(pw->tdp_ceiling_W, c, sizeof c));
    printf("  energy %s per step, %.4g J per token, %.4g tokens per J\n",
           fmt_energy(pw->energy_per_step_J, a, sizeof a), pw->J_per_token, pw->tokens_per_J);
    if (pw->cap_W > 0 && pw->site_train_full_W > 0) {
        const hw_chip *k = topo_chip_hw(plan_topo(p), 0);
        if (pw->clock < 1)
            printf("  power cap %s: the site's peak (every chip computing) %s at the full "
                   "clock; clocks at %.1f%% of full (%s a chip computing): peak %s%s\n",
                   fmt_W(pw->cap_W, a, sizeof a), fmt_W(pw->site_train_full_W, b, sizeof b),
                   100 * pw->clock, fmt_W(k ? k->power.train_W : 0, c, sizeof c),
                   fmt_W(pw->site_train_W, e, sizeof e),
                   pw->clock_floor ? ", still over the cap at the curve's lowest clock" : "");
        else
            printf("  power cap %s: the site's peak (every chip computing) %s%s\n",
                   fmt_W(pw->cap_W, a, sizeof a), fmt_W(pw->site_train_full_W, b, sizeof b),
                   pw->site_train_full_W > pw->cap_W
                       ? " is over it, and its chips have no clocks curve to slow them"
                       : " fits under it at the full clock");
    }
    if (pw->cap_W > 0 && pw->cap_chips < pw->chips)
        printf("  power cap %s is below the facility power: it admits %s chips (each with "
               "its share of hosts, fabric and optics; whole hosts)\n",
               fmt_W(pw->cap_W, a, sizeof a),
               sim_units_fmt_count((double)pw->cap_chips, b, sizeof b));
    else if (pw->cap_W > 0 && !(pw->site_train_full_W > 0))
        printf("  power cap %s: the job fits under it\n", fmt_W(pw->cap_W, a, sizeof a));
    const topo_cost *cost = topo_cost_of(plan_topo(p));
    if (pw->priced) {
        printf("cost: capital %s over %.3g years (%s/h) + electricity at $%.4g/kWh (%s/h): "
               "%s per step, %s per million tokens\n",
               fmt_usd(pw->capital_usd, a, sizeof a), pw->depreciation_s / (365.0 * 86400.0),
               fmt_usd(pw->depreciation_usd_per_s * 3600, b, sizeof b),
               cost->energy_usd_per_J * 3.6e6,
               fmt_usd(pw->energy_usd_per_s * 3600, c, sizeof c),
               fmt_usd(pw->usd_per_step, e, sizeof e),
               fmt_usd(pw->usd_per_token * 1e6, f, sizeof f));
    }
    if (pw->run_steps > 0) {
        printf("full run (the reliability section's length) without failures: %.4g tokens, "
               "%lld steps, %.4g days: %s",
               pw->run_tokens, (long long)pw->run_steps, pw->run_wall_s / 86400.0,
               fmt_energy(pw->run_energy_J, a, sizeof a));
        if (pw->priced)
            printf(", %s", fmt_usd(pw->run_usd, b, sizeof b));
        printf("\n");
    }
}

const char *cli_fmt_usd(double v, char *buf, size_t n)
{
    return fmt_usd(v, buf, n);
}

const char *cli_fmt_energy(double J, char *buf, size_t n)
{
    return fmt_energy(J, buf, n);
}
