/*
 * test_power.c: the power, energy and cost model (power/power.h), the power sections of
 * chip files (hw/chip.h) and the power and cost sections of topologies (topo/topo.h), the
 * power row of the results database (out/record_power.h) and the run summary's block.
 * - A hand-made step on tests/fixtures/good/power-tiny.yaml (4 chips in 2 hosts, one
 *   switch, round figures): every chip's draw, every part's, IT, facility, the bounds,
 *   energy per step and per token, the power cap, the cost and the run, each summed by hand
 *   in the test's comments.
 * - The sanity check of issue 17: a replayed job on all 16,384 H100 of
 *   topologies/h100-superpod-16k.yaml draws between its idle floor and every chip at its
 *   TDP (both times the PUE, with the other parts), each bound summed here from the chip
 *   file and the parts' counts, and the same figures again on a second call.
 * - Jobs the model does not cover say why: a chip without power, a stopped replay, DiLoCo.
 * - The recorder writes the power row of a replay with the model's figures bit for bit, and
 *   goodput's rows each interval's energy and cost over its mean wall.
 * - Clocks under a power cap (topo/facility.c): on power-tiny-clocks.yaml, caps between the
 *   curve's points give the clock, the chips' training draw, their GEMM efficiency and the
 *   site's peak, each interpolated by hand; a cap the full clock meets, one below the lowest
 *   clock, and chips without a curve leave or floor the clocks; on the 16k-H100 topology the
 *   site's peak sums the parts rel_fleet_count counts for a job of every chip.
 * - Every bad power or cost value, in a chip file or a topology, is refused with its place,
 *   key, expectation and finding.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLUSTERSIM_TEST_PLANS
#define CLUSTERSIM_TEST_CLI
#include "core/units.h"
#include "exec/exec.h"
#include "helpers.h"
#include "hw/chip.h"
#include "out/db.h"
#include "out/record.h"
#include "out/record_rel.h"
#include "power/power.h"
#include "rel/rel_fleet.h"
#include "rel/rel_goodput.h"
#include "topo/topo.h"

#define TINY "tests/fixtures/good/cfg-power-tiny.yaml"
#define TINY_CLOCKS "tests/fixtures/good/cfg-power-tiny-clocks.yaml"

/* Equal to a relative 1e-12 (sums in another order than the hand's). */
static void ck_close(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want) + 1e-300, "%s: got %.17g, want %.17g",
                  what, got, want);
}

/*
 * A step of 2 s on the tiny job's 4 ranks, 1,024 tokens/s (16 sequences of 128 per 2 s):
 *   rank 0: compute 1 s, tp exposed 0.5 s     fc 0.5,  fm 0.25
 *   rank 1: compute 2 s                       fc 1,    fm 0
 *   rank 2: nothing (waits the whole step)    fc 0,    fm 0
 *   rank 3: compute 0.5 s, dp 1 s, pp 0.5 s   fc 0.25, fm 0.75
 */
static void tiny_step(exec_result *r, exec_rank_stats *ranks)
{
    memset(r, 0, sizeof *r);
    memset(ranks, 0, 4 * sizeof *ranks);
    ranks[0].compute_s = 1.0;
    ranks[0].exposed_s[PLAN_TP] = 0.5;
    ranks[1].compute_s = 2.0;
    ranks[3].compute_s = 0.5;
    ranks[3].exposed_s[PLAN_DP] = 1.0;
    ranks[3].exposed_s[PLAN_PP] = 0.5;
    r->steps = 1;
    r->ranks = ranks;
    r->step_time_s = 2.0;
    r->tokens_per_s = 1024.0;
}

static void compute_ok(const plan *p, const exec_result *r, power_result *pw)
{
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(power_compute(p, r, pw, &st) == SIM_OK, "%s", st.msg);
}

START_TEST(tiny_step_by_hand)
{
    plan *p = th_load(TINY, NULL);
    exec_result r;
    exec_rank_stats ranks[4];
    tiny_step(&r, ranks);
    power_result pw;
    compute_ok(p, &r, &pw);
    ck_assert(pw.modeled);
    /* parts: 4 chips, 2 hosts, 4 NICs, 1 leaf, 4 NIC cables, 8 optics */
    ck_assert_int_eq(pw.chips, 4);
    ck_assert_int_eq(pw.hosts, 2);
    ck_assert_int_eq(pw.nics, 4);
    ck_assert_int_eq(pw.leaves, 1);
    ck_assert_int_eq(pw.spines + pw.cores, 0);
    ck_assert_int_eq(pw.cables, 4);
    ck_assert_int_eq(pw.optics, 8);
    /* chips: idle + (training - idle) fc + (communication - idle) fm, in W:
     *   100 + 300 x 0.5  + 150 x 0.25 = 287.5
     *   100 + 300 x 1                 = 400
     *   100                           = 100
     *   100 + 300 x 0.25 + 150 x 0.75 = 287.5     sum 1,075 W */
    ck_close(pw.chip_W, 1075.0, "chip_W");
    ck_close(pw.compute_frac, (0.5 + 1 + 0 + 0.25) / 4, "compute_frac");
    ck_close(pw.comm_frac, (0.25 + 0 + 0 + 0.75) / 4, "comm_frac");
    ck_close(pw.idle_frac, 1 - 0.4375 - 0.25, "idle_frac");
    /* hosts 2 x 1 kW, NICs 4 x 20 W, 1 switch x 300 W, 8 optics x 5 W: 2,420 W */
    ck_close(pw.host_W, 2000.0, "host_W");
    ck_close(pw.nic_W, 80.0, "nic_W");
    ck_close(pw.switch_W, 300.0, "switch_W");
    ck_close(pw.optic_W, 40.0, "optic_W");
    /* IT 3,495 W; facility x 1.5 = 5,242.5 W; idle floor (4 x 100 + 2,420) x 1.5 = 4,230 W;
     * TDP ceiling (4 x 500 + 2,420) x 1.5 = 6,630 W */
    ck_close(pw.it_W, 3495.0, "it_W");
    ck_close(pw.pue, 1.5, "pue");
    ck_close(pw.facility_W, 5242.5, "facility_W");
    ck_close(pw.idle_floor_W, 4230.0, "idle_floor_W");
    ck_close(pw.tdp_ceiling_W, 6630.0, "tdp_ceiling_W");
    /* energy 5,242.5 W x 2 s = 10,485 J per step of 2,048 tokens: 5.1196... J per token */
    ck_close(pw.energy_per_step_J, 10485.0, "energy_per_step_J");
    ck_close(pw.tokens_per_step, 2048.0, "tokens_per_step");
    ck_close(pw.J_per_token, 10485.0 / 2048.0, "J_per_token");
    ck_close(pw.tokens_per_J, 2048.0 / 10485.0, "tokens_per_J");
    /* cap 3 kW < 5,242.5 W: floor(4 x 3,000 / 5,242.5) = floor(2.29) = 2 chips, one host */
    ck_close(pw.cap_W, 3000.0, "cap_W");
    ck_assert_int_eq(pw.cap_chips, 2);
    plan_destroy(p);
}
END_TEST

START_TEST(tiny_cost_and_run_by_hand)
{
    plan *p = th_load(TINY, NULL);
    exec_result r;
    exec_rank_stats ranks[4];
    tiny_step(&r, ranks);
    power_result pw;
    compute_ok(p, &r, &pw);
    ck_assert(pw.priced);
    /* capital: 4 chips x 10,000 + 2 hosts x 20,000 + 4 NICs x 1,000 + 1 switch x 50,000 +
     * 8 optics x 100 = 134,800 USD over a year of 365 days (31,536,000 s) */
    ck_close(pw.capital_usd, 134800.0, "capital_usd");
    ck_close(pw.depreciation_s, 31536000.0, "depreciation_s");
    double dep = 134800.0 / 31536000.0;
    /* electricity: 5,242.5 W at 0.1 USD per 3.6e6 J */
    double energy = 5242.5 * 0.1 / 3.6e6;
    ck_close(pw.depreciation_usd_per_s, dep, "depreciation_usd_per_s");
    ck_close(pw.energy_usd_per_s, energy, "energy_usd_per_s");
    ck_close(pw.usd_per_step, (dep + energy) * 2.0, "usd_per_step");
    ck_close(pw.usd_per_token, (dep + energy) * 2.0 / 2048.0, "usd_per_token");
    /* the reliability section's 2,048,000 tokens: 1,000 steps of 2,048 without failures,
     * 2,000 s */
    ck_assert_int_eq(pw.run_steps, 1000);
    ck_close(pw.run_tokens, 2048000.0, "run_tokens");
    ck_close(pw.run_wall_s, 2000.0, "run_wall_s");
    ck_close(pw.run_energy_J, 5242.5 * 2000.0, "run_energy_J");
    ck_close(pw.run_usd, (dep + energy) * 2000.0, "run_usd");
    /* any wall: a day */
    double e, usd;
    power_run_cost(&pw, 86400.0, &e, &usd);
    ck_close(e, 5242.5 * 86400.0, "energy over a day");
    ck_close(usd, (dep + energy) * 86400.0, "cost over a day");
    plan_destroy(p);

    /* tokens instead of steps: ceil(1e6 / 2,048) = 489 steps of 2 s */
    static const char *const sets[] = {"reliability.tokens=1e6", NULL};
    p = th_load(TINY, sets);
    compute_ok(p, &r, &pw);
    ck_assert_int_eq(pw.run_steps, 489);
    ck_close(pw.run_wall_s, 978.0, "run_wall_s from tokens");
    plan_destroy(p);
}
END_TEST

START_TEST(cap_admits_whole_hosts)
{
    exec_result r;
    exec_rank_stats ranks[4];
    tiny_step(&r, ranks);
    power_result pw;
    /* 10 kW holds the job's 5,242.5 W: every chip */
    static const char *const big[] = {"topology.power.cap=10 kW", NULL};
    plan *p = th_load(TINY, big);
    compute_ok(p, &r, &pw);
    ck_assert_int_eq(pw.cap_chips, 4);
    plan_destroy(p);
    /* 4.5 kW: floor(4 x 4,500 / 5,242.5) = 3 chips, down to whole hosts of 2: 2 */
    static const char *const mid[] = {"topology.power.cap=4.5 kW", NULL};
    p = th_load(TINY, mid);
    compute_ok(p, &r, &pw);
    ck_assert_int_eq(pw.cap_chips, 2);
    plan_destroy(p);
    /* 1 kW: floor(0.76) = 0 */
    static const char *const small[] = {"topology.power.cap=1 kW", NULL};
    p = th_load(TINY, small);
    compute_ok(p, &r, &pw);
    ck_assert_int_eq(pw.cap_chips, 0);
    plan_destroy(p);
}
END_TEST

/* The tiny chips' figures after a cap of cap (a --set value) on power-tiny-clocks.yaml. */
static plan *clocked(const char *cap, power_result *pw)
{
    char set[64];
    snprintf(set, sizeof set, "topology.power.cap=%s", cap);
    const char *const sets[] = {set, NULL};
    plan *p = th_load(TINY_CLOCKS, sets);
    exec_result r;
    exec_rank_stats ranks[4];
    tiny_step(&r, ranks);
    compute_ok(p, &r, pw);
    return p;
}

/*
 * The site's peak: 4 chips at training + 2,420 W of other parts (power-tiny's hosts, NICs,
 * switch, optics), times PUE 1.5:
 *   full clock: (4 x 400 + 2,420) x 1.5 = 6,030 W
 *   clock 0.75: (4 x 300 + 2,420) x 1.5 = 5,430 W
 *   clock 0.5:  (4 x 200 + 2,420) x 1.5 = 4,830 W
 */
START_TEST(cap_scales_clocks_by_hand)
{
    power_result pw;
    /* 7 kW holds 6,030 W: full clock, nothing changed */
    plan *p = clocked("7 kW", &pw);
    ck_close(pw.clock, 1.0, "clock at 7 kW");
    ck_close(pw.site_train_full_W, 6030.0, "site_train_full_W");
    ck_close(pw.site_train_W, 6030.0, "site_train_W at 7 kW");
    const hw_chip *c = topo_chip_hw(plan_topo(p), 0);
    ck_close(c->power.train_W, 400.0, "train_W at 7 kW");
    ck_close(c->eff_gemm, 0.7, "eff_gemm at 7 kW");
    plan_destroy(p);
    /* 5.73 kW: between 1 and 0.75, f = 0.75 + 0.25 x (5,730 - 5,430) / (6,030 - 5,430) =
     * 0.875; a chip computing draws 300 + 100 x 0.5 = 350 W; GEMMs at 0.7 x 0.875 = 0.6125 of
     * the nominal peak; HBM untouched; communication 250 W stays under 350 W */
    p = clocked("5.73 kW", &pw);
    ck_close(pw.clock, 0.875, "clock at 5.73 kW");
    ck_assert(!pw.clock_floor);
    ck_close(pw.site_train_full_W, 6030.0, "site_train_full_W at 5.73 kW");
    ck_close(pw.site_train_W, 5730.0, "site_train_W at 5.73 kW");
    c = topo_chip_hw(plan_topo(p), 0);
    ck_close(c->power.train_W, 350.0, "train_W at 5.73 kW");
    ck_close(c->power.comm_W, 250.0, "comm_W at 5.73 kW");
    ck_close(c->power.idle_W, 100.0, "idle_W at 5.73 kW");
    ck_close(c->eff_gemm, 0.6125, "eff_gemm at 5.73 kW");
    ck_close(c->eff_mem, 0.8, "eff_mem at 5.73 kW");
    ck_close(c->peak_bf16_flops, 100e12, "peak (nominal) at 5.73 kW");
    ck_close(c->hbm_Bps, 2e12, "hbm at 5.73 kW");
    /* the step's chips at the lowered draw: 100 + 250 x 0.5 + 150 x 0.25 = 262.5,
     * 100 + 250 = 350, 100, 100 + 250 x 0.25 + 150 x 0.75 = 275: 987.5 W */
    ck_close(pw.chip_W, 987.5, "chip_W at 5.73 kW");
    plan_destroy(p);
    /* 5.13 kW: between 0.75 and 0.5, f = 0.5 + 0.25 x (5,130 - 4,830) / 600 = 0.625;
     * 200 + 100 x 0.5 = 250 W; communication min(250, 250) */
    p = clocked("5.13 kW", &pw);
    ck_close(pw.clock, 0.625, "clock at 5.13 kW");
    ck_close(pw.site_train_W, 5130.0, "site_train_W at 5.13 kW");
    c = topo_chip_hw(plan_topo(p), 0);
    ck_close(c->power.train_W, 250.0, "train_W at 5.13 kW");
    ck_close(c->eff_gemm, 0.7 * 0.625, "eff_gemm at 5.13 kW");
    plan_destroy(p);
    /* 4 kW: below the 4,830 W of the lowest clock: held there, flagged; communication
     * drops to the 200 W training draw; the cap then admits floor(4 x 4,000 / facility) */
    p = clocked("4 kW", &pw);
    ck_close(pw.clock, 0.5, "clock at 4 kW");
    ck_assert(pw.clock_floor);
    ck_close(pw.site_train_W, 4830.0, "site_train_W at 4 kW");
    c = topo_chip_hw(plan_topo(p), 0);
    ck_close(c->power.train_W, 200.0, "train_W at 4 kW");
    ck_close(c->power.comm_W, 200.0, "comm_W at 4 kW");
    ck_close(c->eff_gemm, 0.35, "eff_gemm at 4 kW");
    /* chips 100 + 100 x 0.5 + 100 x 0.25 = 175, 200, 100, 100 + 25 + 75 = 200: 675 W;
     * facility (675 + 2,420) x 1.5 = 4,642.5 W > 4 kW: floor(16,000 / 4,642.5) = 3, whole
     * hosts of 2: 2 chips */
    ck_close(pw.facility_W, 4642.5, "facility_W at 4 kW");
    ck_assert_int_eq(pw.cap_chips, 2);
    plan_destroy(p);
}
END_TEST

/* Without a curve (power-tiny.yaml) a cap below the peak leaves the clocks: the peak is
 * still stated, and the cap's chips counted as before. */
START_TEST(cap_without_curve_keeps_clocks)
{
    exec_result r;
    exec_rank_stats ranks[4];
    tiny_step(&r, ranks);
    power_result pw;
    plan *p = th_load(TINY, NULL); /* cap 3 kW */
    compute_ok(p, &r, &pw);
    ck_close(pw.clock, 1.0, "clock");
    ck_assert(!pw.clock_floor);
    ck_close(pw.site_train_full_W, 6030.0, "site_train_full_W");
    ck_close(topo_chip_hw(plan_topo(p), 0)->eff_gemm, 0.7, "eff_gemm");
    plan_destroy(p);
    /* no cap: no peak figures */
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load_file("topologies/h100-superpod-16k.yaml", &t, &st), SIM_OK);
    ck_assert(topo_power_of(t)->clock == 1 && topo_power_of(t)->site_train_full_W == 0);
    topo_destroy(t);
}
END_TEST

/* On 16,384 H100 the cap's peak counts the parts a job of every chip depends on. */
START_TEST(cap_peak_counts_every_part)
{
    static const char *const sets[] = {"topology.power.cap=100 MW", NULL};
    plan *p = th_load("tests/fixtures/good/cfg-power-16k.yaml", sets);
    const topo *t = plan_topo(p);
    rel_fleet_counts c;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(rel_fleet_count(t, 16384, &c, &st), SIM_OK);
    const topo_power *w = topo_power_of(t);
    double others = (double)c.hosts * w->host_W + (double)c.nics * w->nic_W +
                    (double)(c.leaves + c.spines + c.cores) * w->switch_W +
                    2.0 * (double)(c.nic_cables + c.leaf_spine_cables + c.spine_core_cables) *
                        w->optic_W;
    double want = (16384 * 650.0 + others) * w->pue;
    ck_close(w->site_train_full_W, want, "site_train_full_W on 16k H100");
    ck_assert(w->clock == 1); /* 100 MW holds it */
    plan_destroy(p);
    /* 15 MW does not: the H100 curve slows it to exactly the cap */
    static const char *const capped[] = {"topology.power.cap=15 MW", NULL};
    p = th_load("tests/fixtures/good/cfg-power-16k.yaml", capped);
    w = topo_power_of(plan_topo(p));
    ck_assert(w->clock > 0.5 && w->clock < 1);
    ck_close(w->site_train_W, 15e6, "site_train_W at 15 MW");
    const hw_chip *k = topo_chip_hw(plan_topo(p), 0);
    ck_close(k->power.train_W, hw_power_train_at(&(hw_power){.train_W = 650, .idle_W = 75,
        .n_clocks = 5, .clock = {0.9, 0.8, 0.7, 0.6, 0.5},
        .clock_train_W = {556.9, 472.9, 397.4, 330.2, 270.7}}, w->clock), "H100 train_W");
    plan_destroy(p);
}
END_TEST

START_TEST(not_modeled_says_why)
{
    exec_result r;
    exec_rank_stats ranks[4];
    tiny_step(&r, ranks);
    power_result pw;
    /* a chip file without a power section */
    static const char *const nopower[] = {"topology.chip=next-gen", NULL};
    plan *p = th_load(TINY, nopower);
    compute_ok(p, &r, &pw);
    ck_assert(!pw.modeled);
    ck_assert_str_eq(pw.reason, "chip 'next-gen' has no power section in its chip file");
    plan_destroy(p);
    /* a stopped replay */
    p = th_load(TINY, NULL);
    r.stopped = true;
    compute_ok(p, &r, &pw);
    ck_assert(!pw.modeled);
    ck_assert_str_eq(pw.reason, "the replay stopped before a whole step");
    plan_destroy(p);
    /* DiLoCo: each site's replica trains its own steps */
    r.stopped = false;
    p = th_load("tests/fixtures/good/mdc-diloco.yaml", NULL);
    compute_ok(p, &r, &pw);
    ck_assert(!pw.modeled);
    ck_assert_str_eq(pw.reason, "DiLoCo rounds (each replica's chips) are not modeled");
    plan_destroy(p);
}
END_TEST

/* The sanity check of issue 17 on a replay of 16,384 H100. */
START_TEST(h100_16k_between_idle_floor_and_tdp)
{
    plan *p = th_load("tests/fixtures/good/cfg-power-16k.yaml", NULL);
    exec_result r;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(exec_run(p, NULL, &r, &st) == SIM_OK, "%s", st.msg);
    power_result pw, again;
    compute_ok(p, &r, &pw);
    ck_assert(pw.modeled);
    /* 2,048 DGX nodes, one NIC per GPU, 512 rail leaves + 512 spines + 256 cores (a full
     * three-tier fat tree of 64-port switches) */
    ck_assert_int_eq(pw.chips, 16384);
    ck_assert_int_eq(pw.hosts, 2048);
    ck_assert_int_eq(pw.nics, 16384);
    ck_assert_int_eq(pw.leaves + pw.spines + pw.cores, 1280);
    ck_assert_int_eq(pw.optics, 2 * pw.cables);
    const hw_chip *c = topo_chip_hw(plan_topo(p), 0);
    const topo_power *tp = topo_power_of(plan_topo(p));
    double others = (double)pw.hosts * tp->host_W + (double)pw.nics * tp->nic_W +
                    (double)(pw.leaves + pw.spines + pw.cores) * tp->switch_W +
                    (double)pw.optics * tp->optic_W;
    double floor_W = (16384.0 * c->power.idle_W + others) * tp->pue;
    double ceiling_W = (16384.0 * c->power.tdp_W + others) * tp->pue;
    ck_close(pw.idle_floor_W, floor_W, "idle floor");
    ck_close(pw.tdp_ceiling_W, ceiling_W, "TDP ceiling");
    ck_assert_msg(pw.facility_W > floor_W && pw.facility_W < ceiling_W,
                  "facility %.6g W outside [%.6g, %.6g]", pw.facility_W, floor_W, ceiling_W);
    /* the chips alone sit between their idle and TDP sums */
    ck_assert(pw.chip_W > 16384.0 * c->power.idle_W && pw.chip_W < 16384.0 * c->power.tdp_W);
    ck_close(pw.facility_W, pw.it_W * tp->pue, "facility = IT x PUE");
    ck_close(pw.J_per_token, pw.facility_W / r.tokens_per_s, "J per token");
    /* the same figures on a second call */
    compute_ok(p, &r, &again);
    ck_assert(memcmp(&pw, &again, sizeof pw) == 0);
    exec_result_free(&r);
    plan_destroy(p);
}
END_TEST

static double q_double(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(c, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    double v = sqlite3_column_type(s, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* A replay recorded by db_record_run carries its power row, the model's figures bit for
 * bit; a topology without a cost section leaves the cost columns NULL. */
START_TEST(recorder_writes_the_power_row)
{
    char dir[] = "/tmp/test_power.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.db", dir);
    db *d = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(db_open(path, &d, &st), SIM_OK);
    power_result pw[2];
    for (int k = 0; k < 2; k++) {
        /* the second: two-nodes.yaml, the default power, no cost, no cap; 3 steps */
        static const char *const steps[] = {"reliability.steps=3", NULL};
        plan *p = k ? th_load("tests/fixtures/good/cfg-tiny.yaml", steps) : th_load(TINY, NULL);
        exec_result r;
        ck_assert_msg(exec_run(p, NULL, &r, &st) == SIM_OK, "%s", st.msg);
        compute_ok(p, &r, &pw[k]);
        db_record_src src = {"run", plan_config_path(p), NULL, 0, NULL, NULL, NULL, 0};
        int64_t id = 0;
        ck_assert_msg(db_record_run(d, p, &r, NULL, &src, &id, &st) == SIM_OK, "%s", st.msg);
        ck_assert_int_eq(id, k + 1);
        exec_result_free(&r);
        plan_destroy(p);
    }
    db_close(d);
    sqlite3 *c = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert(q_double(c, "SELECT count(*) FROM power") == 2);
    ck_assert(q_double(c, "SELECT facility_W FROM power WHERE run_id = 1") == pw[0].facility_W);
    ck_assert(q_double(c, "SELECT chip_W FROM power WHERE run_id = 1") == pw[0].chip_W);
    ck_assert(q_double(c, "SELECT J_per_token FROM power WHERE run_id = 1") == pw[0].J_per_token);
    ck_assert(q_double(c, "SELECT usd_per_token FROM power WHERE run_id = 1") ==
              pw[0].usd_per_token);
    ck_assert(q_double(c, "SELECT run_usd FROM power WHERE run_id = 1") == pw[0].run_usd);
    ck_assert(q_double(c, "SELECT cap_chips FROM power WHERE run_id = 1") == 2);
    ck_assert(q_double(c, "SELECT optics FROM power WHERE run_id = 1") == 8);
    ck_assert(q_double(c, "SELECT facility_W FROM power WHERE run_id = 2") == pw[1].facility_W);
    ck_assert(isnan(q_double(c, "SELECT capital_usd FROM power WHERE run_id = 2")));
    ck_assert(isnan(q_double(c, "SELECT run_usd FROM power WHERE run_id = 2")));
    ck_assert(isnan(q_double(c, "SELECT cap_W FROM power WHERE run_id = 2")));
    ck_assert(q_double(c, "SELECT run_steps FROM power WHERE run_id = 2") == 3);
    ck_assert(q_double(c, "SELECT run_wall_s FROM power WHERE run_id = 2") == pw[1].run_wall_s);
    ck_assert(pw[1].run_wall_s == 3 * pw[1].step_s);
    sqlite3_close(c);
    unlink(path);
    char wal[96];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
}
END_TEST

/* goodput's rows: each interval's energy and cost over its mean wall at the step's draw. */
START_TEST(goodput_rows_price_each_interval)
{
    static const char *const sets[] = {"reliability.step_time=2 s", "reliability.seeds=5",
                                       NULL};
    plan *p = th_load(TINY, sets);
    exec_result r;
    exec_rank_stats ranks[4];
    tiny_step(&r, ranks);
    power_result pw;
    compute_ok(p, &r, &pw);
    rel_goodput_opts o = {.sweep = true};
    rel_goodput_result g;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(rel_goodput_run(p, &o, &g, &st) == SIM_OK, "%s", st.msg);
    char dir[] = "/tmp/test_power.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/g.db", dir);
    db *d = NULL;
    ck_assert_int_eq(db_open(path, &d, &st), SIM_OK);
    db_goodput_rows rows = {&g, &pw};
    db_record_src src = {"goodput", plan_config_path(p), NULL, 0, NULL, db_record_goodput,
                         &rows, 0};
    int64_t id = 0;
    ck_assert_msg(db_record_run(d, p, NULL, NULL, &src, &id, &st) == SIM_OK, "%s", st.msg);
    db_close(d);
    sqlite3 *c = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert(g.n_points > 1);
    double dep = 134800.0 / 31536000.0, energy = 5242.5 * 0.1 / 3.6e6;
    for (size_t i = 0; i < g.n_points; i++) {
        char sql[160];
        double wall = g.points[i].wall_s.mean;
        snprintf(sql, sizeof sql, "SELECT energy_J FROM goodput WHERE save_interval = %lld",
                 (long long)g.points[i].save_interval);
        ck_assert(q_double(c, sql) == 5242.5 * wall);
        snprintf(sql, sizeof sql, "SELECT cost_usd FROM goodput WHERE save_interval = %lld",
                 (long long)g.points[i].save_interval);
        ck_close(q_double(c, sql), (dep + energy) * wall, "cost_usd");
    }
    sqlite3_close(c);
    rel_goodput_free(&g);
    plan_destroy(p);
    char f[96];
    const char *const sfx[] = {"", "-wal", "-shm"};
    for (int k = 0; k < 3; k++) {
        snprintf(f, sizeof f, "%s%s", path, sfx[k]);
        unlink(f);
    }
    rmdir(dir);
}
END_TEST

/* `clustersim run` prints the block. */
START_TEST(run_prints_the_power_block)
{
    char *out = NULL;
    ck_assert_int_eq(th_run("run --no-db --quiet " TINY, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "power over the step (power/power.h): 4 chips"));
    ck_assert_ptr_nonnull(strstr(out, "  IT "));
    ck_assert_ptr_nonnull(strstr(out, "at PUE 1.5 (every chip idle: 4.23 kW; every chip at "
                                      "TDP: 6.63 kW)"));
    ck_assert_ptr_nonnull(strstr(out, "power cap 3 kW is below the facility power: it admits 2 "
                                      "chips"));
    ck_assert_ptr_nonnull(strstr(out, "cost: capital $134.8k over 1 years"));
    ck_assert_ptr_nonnull(strstr(out, "full run (the reliability section's length) without "
                                      "failures: 2.048e+06 tokens, 1000 steps"));
    free(out);
}
END_TEST

START_TEST(units_of_power_and_price)
{
    double v = 0;
    char why[256];
    ck_assert_int_eq(sim_units_parse_power("2.5 MW", &v, why, sizeof why), SIM_OK);
    ck_assert(v == 2.5e6);
    ck_assert_int_eq(sim_units_parse_power("8.5 W", &v, why, sizeof why), SIM_OK);
    ck_assert(v == 8.5);
    ck_assert_int_eq(sim_units_parse_money("25000 USD", &v, why, sizeof why), SIM_OK);
    ck_assert(v == 25000);
    ck_assert_int_eq(sim_units_parse_energy_price("0.1 USD/kWh", &v, why, sizeof why), SIM_OK);
    ck_assert(v == 0.1 / 3.6e6);
    ck_assert_int_eq(sim_units_parse_energy_price("80 USD/MWh", &v, why, sizeof why), SIM_OK);
    ck_assert(v == 80 / 3.6e9);
    ck_assert_int_eq(sim_units_parse_duration("5 y", &v, why, sizeof why), SIM_OK);
    ck_assert(v == 5 * 31536000.0);
    ck_assert_int_eq(sim_units_parse_money("-1 USD", &v, why, sizeof why), SIM_ERR_INPUT);
    ck_assert_str_eq(why, "expected a price >= 0, found '-1 USD'");
    ck_assert_int_eq(sim_units_parse_power("700 w", &v, why, sizeof why), SIM_ERR_INPUT);
    ck_assert_str_eq(why, "expected a power with a unit (such as '700 W'), found '700 w' "
                          "(unknown unit 'w')");
    ck_assert_int_eq(sim_units_parse_energy_price("0.08", &v, why, sizeof why), SIM_ERR_INPUT);
    ck_assert_str_eq(why, "expected an energy price with a unit (such as '0.08 USD/kWh'), "
                          "found '0.08'");
}
END_TEST

typedef struct bad_case {
    const char *file, *msg;
} bad_case;

static const bad_case bad_chips[] = {
    {"chip-power-unit.yaml",
     "7:14: error: key 'tdp': expected a power with a unit (such as '700 W'), found '700'"},
    {"chip-power-unknown-unit.yaml",
     "7:14: error: key 'tdp': expected a power with a unit (such as '700 W'), found '700 Watt' "
     "(unknown unit 'Watt')"},
    {"chip-power-tdp-zero.yaml", "7:14: error: key 'tdp': expected a power > 0, found '0 W'"},
    {"chip-power-negative.yaml", "7:44: error: key 'idle': expected a power >= 0, found '-5 W'"},
    {"chip-power-training.yaml",
     "7:31: error: key 'training': expected a power from 0 W to tdp (700 W), found '750 W'"},
    {"chip-power-idle.yaml",
     "7:44: error: key 'idle': expected a power from 0 W to training (650 W), found '700 W'"},
    {"chip-power-comm.yaml",
     "7:65: error: key 'communication': expected a power from idle (75 W) to training (650 W), "
     "found '50 W'"},
    {"chip-power-missing.yaml",
     "7:8: error: missing key 'idle' in power: expected a power such as '700 W'"},
    {"chip-power-key.yaml",
     "7:9: error: unknown key 'tpd' in power (did you mean 'tdp'?); expected one of: tdp, "
     "training, idle, communication, clocks"},
    {"chip-clocks-order.yaml",
     "7:99: error: key 'clock': expected a fraction of the full clock above 0 and below 0.8 "
     "(the clocks decrease), found '0.9'"},
    {"chip-clocks-full.yaml",
     "7:68: error: key 'clock': expected a fraction of the full clock above 0 and below 1 "
     "(the clocks decrease), found '1'"},
    {"chip-clocks-draw.yaml",
     "7:83: error: key 'training': expected a power from idle (100 W) to below 400 W (the "
     "draw decreases with the clock), found '450 W'"},
    {"chip-clocks-idle.yaml",
     "7:83: error: key 'training': expected a power from idle (100 W) to below 400 W (the "
     "draw decreases with the clock), found '50 W'"},
    {"chip-clocks-key.yaml",
     "7:61: error: unknown key 'clok' in a clocks point (did you mean 'clock'?); expected "
     "one of: clock, training"},
    {"chip-clocks-empty.yaml",
     "7:59: error: key 'clocks': expected 1 to 8 points {clock, training}, found 0"},
    {"chip-clocks-not-list.yaml",
     "7:59: error: key 'clocks': expected a list, found '0.8'"},
    {"chip-clocks-unit.yaml",
     "7:83: error: key 'training': expected a power with a unit (such as '700 W'), found "
     "'300'"},
    {"chip-power-not-map.yaml", "7:8: error: key 'power': expected a mapping, found '700 W'"},
};

START_TEST(bad_chip_power)
{
    const bad_case *c = &bad_chips[_i];
    char path[256], want[1024], got[2048];
    snprintf(path, sizeof path, "tests/fixtures/bad/%s", c->file);
    snprintf(want, sizeof want, "%s:%s", path, c->msg);
    hw_chip chip;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(hw_chip_load_file(path, &chip, &st), SIM_ERR_INPUT);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);
}
END_TEST

static const bad_case bad_topos[] = {
    {"topo-power-pue.yaml",
     "7:28: error: key 'pue': expected a number from 1 to 3 (facility power over IT power), "
     "found '0.9'"},
    {"topo-power-explicit.yaml",
     "7:14: error: key 'pue': expected a number from 1 to 3 (facility power over IT power), "
     "found '4'"},
    {"topo-power-cap.yaml", "7:24: error: key 'cap': expected a power > 0, found '0 MW'"},
    {"topo-power-unit.yaml",
     "7:15: error: key 'host': expected a power with a unit (such as '700 W'), found '2600'"},
    {"topo-power-key.yaml",
     "7:9: error: unknown key 'swich' in power (did you mean 'switch'?); expected one of: host, "
     "nic, switch, optic, pue, cap"},
    {"topo-cost-chip-type.yaml",
     "7:15: error: key 'h100-sx': no chip of that type in the topology (did you mean "
     "'h100-sxm'?); expected one of: h100-sxm"},
    {"topo-cost-chip-missing.yaml",
     "13:9: error: key 'chip': no price for chip type 'b200'; expected a price for each of: "
     "h100-sxm, b200"},
    {"topo-cost-money.yaml",
     "7:33: error: key 'switch': expected a price with a unit (such as '25000 USD'), found "
     "'25000'"},
    {"topo-cost-energy.yaml",
     "7:21: error: key 'electricity': expected an energy price with a unit (such as '0.08 "
     "USD/kWh'), found '0.08 $/kWh' (unknown unit '$/kWh')"},
    {"topo-cost-depreciation.yaml",
     "7:22: error: key 'depreciation': expected a duration with a unit (such as '24 h'), found "
     "'5'"},
    {"topo-cost-key.yaml",
     "7:8: error: unknown key 'electricty' in cost (did you mean 'electricity'?); expected one "
     "of: chip, host, nic, switch, optic, depreciation, electricity"},
};

START_TEST(bad_topology_power_and_cost)
{
    const bad_case *c = &bad_topos[_i];
    char path[256], want[1024], got[2048];
    snprintf(path, sizeof path, "tests/fixtures/bad/%s", c->file);
    snprintf(want, sizeof want, "%s:%s", path, c->msg);
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load_file(path, &t, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(t);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);
}
END_TEST

/* Without power or cost sections a topology gets the cited defaults and no prices. */
START_TEST(topology_defaults)
{
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load_file("topologies/two-nodes.yaml", &t, &st), SIM_OK);
    const topo_power *w = topo_power_of(t);
    ck_assert(w->host_W == 2600 && w->nic_W == 25 && w->switch_W == 750 && w->optic_W == 8.5);
    ck_assert(w->pue == 1.2 && w->cap_W == 0);
    const topo_cost *c = topo_cost_of(t);
    ck_assert(!c->present);
    ck_assert(c->depreciation_s == 5 * 31536000.0);
    topo_destroy(t);
    ck_assert_int_eq(topo_load_file("topologies/h100-superpod-16k.yaml", &t, &st), SIM_OK);
    c = topo_cost_of(t);
    ck_assert(c->present && c->chip_usd == 25000 && c->energy_usd_per_J == 0.08 / 3.6e6);
    ck_assert(topo_cost_chip_usd(c, "h100-sxm") == 25000);
    topo_destroy(t);
}
END_TEST

static Suite *power_suite(void)
{
    Suite *s = suite_create("power");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, tiny_step_by_hand);
    tcase_add_test(tc, tiny_cost_and_run_by_hand);
    tcase_add_test(tc, cap_admits_whole_hosts);
    tcase_add_test(tc, cap_scales_clocks_by_hand);
    tcase_add_test(tc, cap_without_curve_keeps_clocks);
    tcase_add_test(tc, cap_peak_counts_every_part);
    tcase_add_test(tc, not_modeled_says_why);
    tcase_add_test(tc, h100_16k_between_idle_floor_and_tdp);
    tcase_add_test(tc, recorder_writes_the_power_row);
    tcase_add_test(tc, goodput_rows_price_each_interval);
    tcase_add_test(tc, run_prints_the_power_block);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("inputs");
    tcase_add_test(ti, units_of_power_and_price);
    tcase_add_test(ti, topology_defaults);
    tcase_add_loop_test(ti, bad_chip_power, 0, (int)(sizeof bad_chips / sizeof bad_chips[0]));
    tcase_add_loop_test(ti, bad_topology_power_and_cost, 0,
                        (int)(sizeof bad_topos / sizeof bad_topos[0]));
    suite_add_tcase(s, ti);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(power_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
