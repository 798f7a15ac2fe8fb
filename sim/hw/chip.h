/*
 * chip.h: one accelerator type (GPU, TPU, Gaudi) as the compute and network models see it.
 *
 * A chip is read from a YAML mapping, either a whole file under topologies/chips/ or a
 * mapping written inline in a topology:
 *   name, vendor (optional),
 *   peak: {bf16, fp8 (optional)}        dense FLOP/s
 *   hbm: {capacity, bandwidth}
 *   scale_up: {kind (optional, default nvlink), bandwidth}   per direction, per chip
 *   nic: {bandwidth}                    default scale-out bandwidth per chip
 *   efficiency: {gemm, memory, gemm_half_dim, attention, attention_dropout,
 *                overlap_slowdown, matmul_max}
 *                                       optional; gemm
 *                                       and memory in (0, 1], defaults 0.7 and 0.8;
 *                                       gemm_half_dim >= 0, default 0; attention in (0, 1],
 *                                       default: none; attention_dropout in (0, 1], default
 *                                       1: the share of that speed a fused kernel keeps
 *                                       when it drops out scores (the random numbers it
 *                                       draws per score); overlap_slowdown >= 0, default 0:
 *                                       compute ops take 1 + overlap_slowdown times longer
 *                                       while a collective of the same rank runs beside them;
 *                                       matmul_max in (0, 1], default: none: the largest
 *                                       fraction of peak a GEMM microbenchmark reaches (MAMF /
 *                                       peak); gemm may not exceed it, and the calibration
 *                                       fits gemm as one factor times it, shared by all chips
 *   collective: {efficiency: {scale_up, nvls, scale_out},   optional: what NCCL's Simple
 *                latency: {launch, scale_up_step,          protocol reaches on this chip's
 *                          scale_out_step, nvls}}          links (see below)
 *   failures: {gpu, hbm}                optional: each {mtbf, dist, shape, repair} as
 *                                       hw/fail.h reads it; a kind left out never fails
 *   power: {tdp, training, idle,        optional (issue 17): the chip's board power in W,
 *           communication}              kW: tdp its limit; training its draw while it
 *                                       computes; idle its draw with nothing to do;
 *                                       communication (optional) its draw while its compute
 *                                       stream waits on a collective, default halfway from
 *                                       idle to training (an assumption, power/power.h).
 *                                       0 < tdp; 0 <= idle <= communication <= training
 *                                       <= tdp. Without it a job on the chip has no power
 *                                       figures
 *           clocks: [{clock, training}, ...]  optional: the training draw at a lowered clock
 *                                       (a fraction of the full clock), what a site's power
 *                                       cap slows the chip to (topo/facility.c): clocks in
 *                                       (0, 1) and trainings in [idle, training), both
 *                                       strictly decreasing; at most HW_POWER_CLOCKS_MAX.
 *                                       Between points the draw is linear in the clock
 * A GEMM whose smallest dimension is n runs at gemm / (1 + gemm_half_dim / n) of peak: small
 * matrices use the tensor cores less well (the calibration fits both per chip type). Fused
 * (flash) attention runs at `attention` of peak on the FLOPs it executes, a figure of the
 * kernel (FlashAttention-2, -3, cuDNN) rather than of a matrix size; a chip without it
 * times attention as a GEMM of the head dimension.
 * The collective section says what the collectives (coll/coll.h) get out of the links:
 * efficiency.scale_up is the payload fraction of line rate that a ring reaches on the
 * chip's scale-up links (NVLink, ICI), nvls the same for in-switch reduction (algbw over
 * line rate), scale_out on NIC, PCIe and fabric links; each in (0, 1], default 1 (line
 * rate). latency.launch is paid once per collective or message (NCCL's baseLat),
 * scale_up_step and scale_out_step once per algorithm step that crosses only scale-up links
 * or some scale-out link (NCCL's hwLat), nvls once per in-switch all-reduce; each from 0 to
 * 1 ms, defaults 0, 2 us, 2 us and 4 us (the per-step overhead the collectives used before
 * chips declared it). Shipped chip files give each value with its physical range and
 * source as `# range LO-HI [UNIT] (source ...)` on the value's line.
 * Every figure carries its unit (core/units.h). Unknown keys are refused with a did-you-mean
 * hint, so a misspelt optional key cannot silently fall back to its default.
 *
 * hw_chip is a plain value: the caller allocates it, the loader fills it, nothing inside
 * points elsewhere, so it may be copied freely.
 */
#ifndef SIM_HW_CHIP_H
#define SIM_HW_CHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/ydoc.h"
#include "hw/fail.h"

/* Scale-up fabric families (hw_chip.scale_up_kind). */
typedef enum hw_scale_up_kind {
    HW_SCALE_UP_NVLINK = 0,
    HW_SCALE_UP_ICI,
    HW_SCALE_UP_INFINITY_FABRIC,
    HW_SCALE_UP_ETHERNET
} hw_scale_up_kind;

#define HW_CHIP_NAME_MAX 64
#define HW_CHIP_VENDOR_MAX 32

/* Efficiencies used when a chip file gives none: placeholders until calibrated. */
#define HW_CHIP_EFF_GEMM_DEFAULT 0.7
#define HW_CHIP_EFF_MEM_DEFAULT 0.8
/* Collective figures used when a chip file gives none: line rate, and the 2 us per step
 * the collectives charged before chips declared their own. */
#define HW_CHIP_COLL_STEP_DEFAULT_PS 2000000
#define HW_CHIP_COLL_NVLS_DEFAULT_PS 4000000

/* Where a chip file gives no communication power: this fraction of the way from idle to
 * training (an assumption: see power/power.h). */
#define HW_POWER_COMM_FRACTION 0.5

#define HW_POWER_CLOCKS_MAX 8

/* A chip's power (its `power` section): watts. */
typedef struct hw_power {
    bool present;   /* false: the chip file has no power section */
    double tdp_W;   /* > 0: the board's power limit */
    double train_W; /* (0, tdp_W]: while computing */
    double comm_W;  /* [idle_W, train_W]: while the compute stream waits on communication */
    double idle_W;  /* [0, train_W]: with nothing to do */
    /* the clock/power curve below the full clock (n_clocks 0: none): clock[i] fractions of
     * the full clock, clock_train_W[i] the training draw there, both decreasing */
    size_t n_clocks;
    double clock[HW_POWER_CLOCKS_MAX], clock_train_W[HW_POWER_CLOCKS_MAX];
} hw_power;

/* The training draw of w at clock fraction f (in [the lowest clock of w's curve, 1]):
 * linear between the curve's points and (1, train_W). */
double hw_power_train_at(const hw_power *w, double f);

/* What NCCL-style collectives get out of a chip's links (hw_chip.coll). */
typedef struct hw_coll_model {
    double eff_scale_up;  /* in (0, 1]: ring payload rate / line rate on NVLink, ICI */
    double eff_nvls;      /* in (0, 1]: in-switch all-reduce algbw / line rate */
    double eff_scale_out; /* in (0, 1]: on NIC, PCIe and fabric links */
    int64_t launch_ps;    /* once per collective or message */
    int64_t step_up_ps;   /* per step over scale-up links only */
    int64_t step_out_ps;  /* per step that crosses a scale-out link */
    int64_t nvls_ps;      /* per in-switch all-reduce */
} hw_coll_model;

typedef struct hw_chip {
    char name[HW_CHIP_NAME_MAX];     /* non-empty */
    char vendor[HW_CHIP_VENDOR_MAX]; /* "" when not given */
    double peak_bf16_flops;          /* dense FLOP/s, > 0 */
    double peak_fp8_flops;           /* dense FLOP/s; 0 when the chip file gives none */
    double hbm_bytes;                /* > 0 */
    double hbm_Bps;                  /* > 0 */
    hw_scale_up_kind scale_up_kind;
    double scale_up_Bps;             /* per direction, per chip, > 0 */
    double nic_Bps;                  /* per direction, per chip, > 0 */
    double eff_gemm;                 /* in (0, 1] */
    double eff_mem;                  /* in (0, 1] */
    double gemm_half_dim;            /* >= 0: GEMM size at which efficiency halves */
    double eff_attention;            /* in (0, 1]; 0: none (attention as a GEMM) */
    double eff_attention_dropout;    /* in (0, 1]: eff_attention's share kept with dropout */
    double overlap_slowdown;         /* >= 0: compute slowdown beside own communication */
    double matmul_max;               /* in (0, 1]: best microbenchmarked GEMM; 0: unknown */
    hw_coll_model coll;              /* collective protocol efficiency and latencies */
    hw_fail_spec fail[HW_FAIL_CHIP_KINDS]; /* [HW_FAIL_GPU], [HW_FAIL_HBM]: one chip's laws;
                                              life.mean_s INFINITY when the file has none */
    hw_power power;                  /* present false when the file has no power section */
} hw_chip;

/*
 * Loads the chip file at path into *out (caller-owned). On failure *out is left unchanged.
 * Errors: SIM_ERR_INPUT for a file that cannot be opened or parsed and for every mistake
 * in its content, located at file:line:col and naming the key, what was expected and what
 * was found.
 */
/* Efficiency of a GEMM (or attention) whose smallest dimension is min_dim: eff_gemm /
 * (1 + gemm_half_dim / min_dim); eff_gemm when min_dim <= 0 is unknown. */
double hw_chip_gemm_eff(const hw_chip *c, double min_dim);

sim_code hw_chip_load_file(const char *path, hw_chip *out, sim_status *st);

/*
 * Reads the chip described by mapping map of document d (borrowed; nothing is kept) into
 * *out, for chips written inline in a topology. On failure *out is left unchanged. Errors
 * as hw_chip_load_file.
 */
sim_code hw_chip_from_node(const ydoc *d, ynode map, hw_chip *out, sim_status *st);

/* The collective model of a chip file without a collective section (line rate, the old
 * per-step overhead); also what chipless explicit graphs use. */
void hw_coll_model_default(hw_coll_model *m);

/* YAML spelling of a scale-up kind ("nvlink", ...); "?" for a value outside the enum. */
const char *hw_scale_up_kind_name(int kind);

#endif
