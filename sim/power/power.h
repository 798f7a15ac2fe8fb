/*
 * power.h: the power, energy and cost of a replayed training step (issue 17).
 *
 * The model. Each chip of the job spends a replayed step in three states, from its rank's
 * figures (exec/exec.h): computing (compute_s), waiting on its own communication (the
 * exposed time of every parallel dimension), and idle (the rest of the step: waiting for
 * peers, pipeline bubbles, the wait for the slowest rank at the step's end). It draws its
 * chip file's power in each (hw/chip.h):
 *   P_chip = idle + (training - idle) x compute_s / step + (communication - idle) x comm_s / step
 * so a chip that computes the whole step draws `training`, and one that waits draws `idle`.
 * The communication level is a chip figure; where a chip file gives none it is halfway from
 * idle to training, an assumption: while a collective is exposed the chip runs only NCCL's
 * kernels (a few SMs, HBM copies) and the link, well below a GEMM's draw and above idle
 * (Microsoft's production traces show the swing from compute to communication phases,
 * Choukse et al. 2025, "Power Stabilization for AI Training Datacenters", arXiv 2508.14318;
 * they give no level to adopt). Communication overlapped with compute is inside compute_s.
 *
 * The rest of the job draws a constant power per part, from the topology's power section
 * (topo/topo.h: topo_power): its hosts, NICs, fabric switches (leaves, spines, cores) and
 * transceivers, two per fabric cable, as rel_fleet_count counts what the job depends on
 * (rel/rel_fleet.h; gateways and WAN links are not counted). IT power is their sum with the
 * chips'; facility power is IT power x PUE. Energy per step is facility power x step time;
 * energy per token, facility power / tokens per second.
 *
 * Bounds (the sanity check of issue 17): the idle floor is the facility power with every
 * chip idle; the TDP ceiling, with every chip at its TDP. A step lies between them.
 *
 * A power cap (power.cap) holds the site at its peak: every chip of the topology computing,
 * every other part on, times the PUE. Where that does not fit and the chip files have a
 * clock/power curve, topo/facility.c lowers the clocks at load (the chips' training draw and
 * their compute-bound ops' speed with them) before any replay: the replay and the figures
 * here are those of the slowed chips, and clock says by how much. A cap still below the
 * job's facility power admits fewer chips: each brings its share of the job's facility
 * power (its host, NIC, fabric and transceivers in proportion), rounded down to whole hosts.
 *
 * Cost (the topology's cost section): capital = the job's chips, hosts, NICs, switches and
 * transceivers at their prices, spread straight-line over the depreciation period, plus
 * facility energy at the electricity price: $/step = (capital / depreciation + facility W x
 * $/J) x step; $/token = $/step / tokens per step. A whole run costs the same rate over its
 * wall time (power_run_cost): the config's reliability section's length without failures
 * here (steps x step), the goodput model's mean wall with them (cmd_goodput). Over a wall
 * with failures the facility is charged its training draw throughout, an upper bound: a job
 * that is down draws nearer its idle floor.
 */
#ifndef SIM_POWER_POWER_H
#define SIM_POWER_POWER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "exec/exec.h"
#include "workload/plan.h"

#define POWER_REASON_MAX 160

typedef struct power_result {
    bool modeled;                  /* false: reason says why (no figure below is set) */
    char reason[POWER_REASON_MAX];
    double step_s, tokens_per_step, tokens_per_s;
    /* the job's parts (rel_fleet_count), optics = 2 per fabric cable */
    int64_t chips, hosts, nics, leaves, spines, cores, cables, optics;
    /* mean over the chips of the fraction of the step in each state */
    double compute_frac, comm_frac, idle_frac;
    /* mean draw over a step, W, by part kind */
    double chip_W, host_W, nic_W, switch_W, optic_W;
    double it_W, pue, facility_W;
    double idle_floor_W;           /* facility, every chip idle */
    double tdp_ceiling_W;          /* facility, every chip at its TDP */
    double energy_per_step_J, J_per_token, tokens_per_J;
    /* power cap: cap_W 0 when none; cap_chips the chips it admits (whole hosts), or the job's
     * chips when the facility power fits under it */
    double cap_W;
    int64_t cap_chips;
    /* clocks under the cap (topo_power): clock 1 unless lowered; site_train_* the site's
     * facility draw with every chip computing at the full clock and at clock (0: no cap) */
    double clock, site_train_full_W, site_train_W;
    bool clock_floor;
    /* cost: priced false when the topology has no cost section */
    bool priced;
    double capital_usd, depreciation_s;
    double depreciation_usd_per_s, energy_usd_per_s;
    double usd_per_step, usd_per_token;
    /* the reliability section's run without failures: run_steps 0 when the config has none */
    int64_t run_steps;
    double run_tokens, run_wall_s, run_energy_J, run_usd; /* run_usd NaN unless priced */
} power_result;

/*
 * The power of plan p's job over one step of replay r (both borrowed) into *out. A job the
 * model does not cover returns SIM_OK with out->modeled false and the reason: a stopped
 * replay, a DiLoCo plan (its chips train whole rounds per replica), a chip whose file has
 * no power section. Errors: those of rel_fleet_count (SIM_ERR_NOMEM).
 */
sim_code power_compute(const plan *p, const exec_result *r, power_result *out,
                       sim_status *st);

/* The facility energy (J) and the cost (USD; NaN unless pw->priced) of wall_s seconds at
 * pw's draw and rates (pw->modeled). */
void power_run_cost(const power_result *pw, double wall_s, double *energy_J, double *usd);

#endif
