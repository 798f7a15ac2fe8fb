/*
 * test_hw.c: chip types (hw/chip.h).
 *
 * Every shipped file under topologies/chips/ loads, and its figures come out exactly as the
 * datasheet values converted to SI units (bytes, B/s, FLOP/s). Each bad fixture in
 * tests/fixtures/bad/chip-*.yaml fails with its exact, complete message. Chips written
 * inline in a larger document are read through hw_chip_from_node, with their defaults and
 * with messages that name their place in that document.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/chip.h"

typedef struct good_chip {
    const char *file; /* under topologies/chips/ */
    const char *name, *vendor;
    double bf16, fp8, hbm_bytes, hbm_Bps;
    int kind;
    double up_Bps, nic_Bps;
} good_chip;

/* The datasheet figures, in SI units: GB/s = 1e9 B/s, Gb/s = 1e9 / 8 B/s. */
static const good_chip good_chips[] = {
    {"a100-sxm-80gb.yaml", "a100-sxm-80gb", "nvidia", 312e12, 0, 80e9, 2039e9,
     HW_SCALE_UP_NVLINK, 300e9, 25e9},
    {"h100-sxm.yaml", "h100-sxm", "nvidia", 989.4e12, 1978.9e12, 80e9, 3.35e12,
     HW_SCALE_UP_NVLINK, 450e9, 50e9},
    {"h200-sxm.yaml", "h200-sxm", "nvidia", 989.4e12, 1978.9e12, 141e9, 4.8e12,
     HW_SCALE_UP_NVLINK, 450e9, 50e9},
    {"b200.yaml", "b200", "nvidia", 2.25e15, 4.5e15, 180e9, 8e12, HW_SCALE_UP_NVLINK, 900e9,
     50e9},
    {"mi300x.yaml", "mi300x", "amd", 1307.4e12, 2614.9e12, 192e9, 5.3e12,
     HW_SCALE_UP_INFINITY_FABRIC, 448e9, 50e9},
    {"tpu-v4.yaml", "tpu-v4", "google", 275e12, 0, 32.0 * 1073741824.0, 1200e9,
     HW_SCALE_UP_ICI, 300e9, 6.25e9},
    {"tpu-v5e.yaml", "tpu-v5e", "google", 197e12, 0, 16e9, 819e9, HW_SCALE_UP_ICI, 200e9,
     3.125e9},
    {"tpu-v5p.yaml", "tpu-v5p", "google", 459e12, 459e12, 95.0 * 1073741824.0, 2765e9,
     HW_SCALE_UP_ICI, 600e9, 6.25e9},
    {"gaudi3.yaml", "gaudi3", "intel", 1835e12, 1835e12, 128e9, 3.7e12, HW_SCALE_UP_ETHERNET,
     525e9, 75e9},
};

#define N_GOOD (sizeof good_chips / sizeof good_chips[0])

/* Exact comparison with both values in the message when it fails. */
#define CK_EQ_D(got, want)                                                                     \
    ck_assert_msg((got) == (want), "%s: %s = %.17g, want %.17g", c->file, #got, (double)(got), \
                  (double)(want))

START_TEST(test_shipped_chip)
{
    const good_chip *c = &good_chips[_i];
    char path[256];
    snprintf(path, sizeof path, "topologies/chips/%s", c->file);
    hw_chip chip;
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = hw_chip_load_file(path, &chip, &st);
    char msg[2048];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_msg(rc == SIM_OK, "%s", msg);
    ck_assert_str_eq(chip.name, c->name);
    ck_assert_str_eq(chip.vendor, c->vendor);
    CK_EQ_D(chip.peak_bf16_flops, c->bf16);
    CK_EQ_D(chip.peak_fp8_flops, c->fp8);
    CK_EQ_D(chip.hbm_bytes, c->hbm_bytes);
    CK_EQ_D(chip.hbm_Bps, c->hbm_Bps);
    ck_assert_int_eq(chip.scale_up_kind, c->kind);
    CK_EQ_D(chip.scale_up_Bps, c->up_Bps);
    CK_EQ_D(chip.nic_Bps, c->nic_Bps);
    /* A100 and H100 carry the fitted efficiencies of analysis/calibrate.sh; the others, with
     * no measurement to fit, state the uncalibrated defaults. */
    int a100 = !strcmp(c->name, "a100-sxm-80gb"), h100 = !strcmp(c->name, "h100-sxm");
    int next = !strcmp(c->name, "next-gen"); /* borrows the H100 fit */
    CK_EQ_D(chip.eff_gemm, a100 ? 0.6789 : h100 || next ? 0.6331 : 0.7); /* calibrate.sh */
    CK_EQ_D(chip.gemm_half_dim, 0.0); /* no longer fitted, nor shipped */
    CK_EQ_D(chip.eff_mem, 0.8);
    /* fused attention: published kernel figures for the two calibrated chips, none (attention
     * as a GEMM of the head dimension) for the others */
    CK_EQ_D(chip.eff_attention, a100 ? 0.6 : h100 || next ? 0.40 : 0.0);
    /* the share of it a kernel keeps when it drops out scores: derived from published
     * dropout costs (h100-sxm.yaml), 1 (no cost stated) for the chips without a figure */
    CK_EQ_D(chip.eff_attention_dropout, a100 ? 0.86 : h100 || next ? 0.91 : 1.0);
    /* the microbenchmarked GEMM ceiling the fit scales from (MAMF / peak) */
    CK_EQ_D(chip.matmul_max, a100 ? 0.859 : h100 ? 0.801 : 0.0);
    CK_EQ_D(chip.overlap_slowdown, a100 || h100 ? 0.189 : 0.0);
    /* collectives: NCCL's published efficiencies and tuner latencies for the NVIDIA chips
     * with measurements (H200 shares the H100's NVLink 4 and NDR); line rate and 2 us per
     * step (the defaults) for the others */
    int nv4 = h100 || !strcmp(c->name, "h200-sxm"), nccl = nv4 || a100;
    CK_EQ_D(chip.coll.eff_scale_up, nv4 ? 0.822 : a100 ? 0.80 : 1.0);
    CK_EQ_D(chip.coll.eff_nvls, nv4 ? 0.611 : 1.0);
    CK_EQ_D(chip.coll.eff_scale_out, nv4 ? 0.94 : a100 ? 0.96 : 1.0);
    ck_assert_int_eq(chip.coll.launch_ps, nccl ? 8400000 : 0);
    ck_assert_int_eq(chip.coll.step_up_ps, nccl ? 3400000 : 2000000);
    ck_assert_int_eq(chip.coll.step_out_ps, nccl ? 14000000 : 2000000);
    ck_assert_int_eq(chip.coll.nvls_ps, nv4 ? 25000000 : 4000000);
}
END_TEST

typedef struct bad_chip {
    const char *file; /* under tests/fixtures/bad/ */
    const char *msg;  /* after "path:" */
} bad_chip;

static const bad_chip bad_chips[] = {
    {"chip-missing-peak.yaml",
     "2:1: error: missing key 'peak' in the document: expected a mapping with keys bf16, fp8"},
    {"chip-missing-bf16.yaml",
     "5:3: error: missing key 'bf16' in peak: expected a compute rate such as "
     "'989.4 TFLOP/s'"},
    {"chip-unknown-key.yaml",
     "5:3: error: unknown key 'bf61' in peak (did you mean 'bf16'?); expected one of: bf16, "
     "fp8"},
    {"chip-unknown-section.yaml",
     "15:1: error: unknown key 'efficency' in the document (did you mean 'efficiency'?); "
     "expected one of: name, vendor, peak, hbm, scale_up, nic, efficiency, collective, "
     "failures, power"},
    {"chip-coll-efficiency-range.yaml",
     "18:16: error: key 'scale_out': expected a number in (0, 1], found '1.2'"},
    {"chip-coll-latency-negative.yaml",
     "17:13: error: key 'launch': expected a time >= 0, found '-1 us'"},
    {"chip-coll-latency-range.yaml",
     "17:21: error: key 'scale_out_step': expected a time from 0 to 1 ms, found '2 ms'"},
    {"chip-coll-latency-unit.yaml",
     "17:20: error: key 'scale_up_step': expected a time with a unit (such as '1.5 us'), "
     "found '3.4'"},
    {"chip-coll-unknown-key.yaml",
     "17:5: error: unknown key 'nvlink' in collective.efficiency; expected one of: scale_up, "
     "nvls, scale_out"},
    {"chip-efficiency-range.yaml",
     "16:9: error: key 'gemm': expected a number in (0, 1], found '1.5'"},
    {"chip-efficiency-zero.yaml",
     "17:11: error: key 'memory': expected a number in (0, 1], found '0'"},
    {"chip-attention-range.yaml",
     "18:14: error: key 'attention': expected a number in (0, 1], found '1.2'"},
    {"chip-attention-dropout-range.yaml",
     "19:22: error: key 'attention_dropout': expected a number in (0, 1], found '0'"},
    {"chip-efficiency-text.yaml",
     "16:9: error: key 'gemm': expected a number, found 'fast'"},
    {"chip-missing-unit.yaml",
     "9:14: error: key 'bandwidth': expected a bandwidth with a unit (such as '100 Gb/s'), "
     "found '3350'"},
    {"chip-wrong-type.yaml",
     "4:7: error: key 'peak': expected a mapping, found '989.4 TFLOP/s'"},
    {"chip-unknown-kind.yaml",
     "11:9: error: key 'kind': unknown scale-up kind 'nvlnk' (did you mean 'nvlink'?); "
     "expected one of: nvlink, ici, infinity-fabric, ethernet"},
    {"chip-zero-capacity.yaml",
     "8:13: error: key 'capacity': expected a size > 0, found '0 GB'"},
    /* failures (hw/fail.h) */
    {"chip-failures-unit.yaml",
     "16:15: error: key 'mtbf': expected a duration with a unit (such as '100000 h') or "
     "'never', found '108335'"},
    {"chip-failures-kind.yaml",
     "16:3: error: unknown key 'gpus' in failures (did you mean 'gpu'?); expected one of: gpu, "
     "hbm"},
    {"chip-failures-not-map.yaml",
     "16:8: error: key 'gpu': expected a mapping, found '108335 h'"},
    {"chip-failures-zero.yaml",
     "16:15: error: key 'mtbf': expected a duration > 0, found '0 h'"},
    {"chip-failures-dist.yaml",
     "16:31: error: key 'dist': unknown law 'weibul' (did you mean 'weibull'?); expected one "
     "of: exponential, weibull, lognormal"},
    {"chip-failures-shape-exp.yaml",
     "16:32: error: key 'shape': not used by an exponential law (give dist: weibull or "
     "lognormal)"},
    {"chip-failures-weibull-shape.yaml",
     "16:8: error: missing key 'shape' in failures.gpu: expected a number such as '0.5'"},
    {"chip-failures-shape-range.yaml",
     "16:49: error: key 'shape': expected a number in (0, 10], found '0'"},
    {"chip-failures-repair-mean.yaml",
     "18:13: error: missing key 'mean' in failures.gpu.repair: expected a duration such as "
     "'24 h'"},
    {"chip-failures-repair-key.yaml",
     "18:14: error: unknown key 'mttr' in failures.gpu.repair; expected one of: mean, dist, "
     "shape"},
    {"no-such-chip.yaml",
     " error: cannot open 'tests/fixtures/bad/no-such-chip.yaml': No such file or directory"},
};

#define N_BAD (sizeof bad_chips / sizeof bad_chips[0])

START_TEST(test_bad_fixture)
{
    const bad_chip *c = &bad_chips[_i];
    char path[256], want[1024], got[2048];
    snprintf(path, sizeof path, "tests/fixtures/bad/%s", c->file);
    snprintf(want, sizeof want, "%s:%s", path, c->msg);
    hw_chip chip;
    memset(&chip, 0x5a, sizeof chip);
    hw_chip before = chip;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(hw_chip_load_file(path, &chip, &st), SIM_ERR_INPUT);
    ck_assert_int_eq(st.code, SIM_ERR_INPUT);
    ck_assert_str_eq(st.file, path);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);
    /* A failed load leaves the caller's chip as it was. */
    ck_assert(memcmp(&chip, &before, sizeof chip) == 0);
}
END_TEST

/* A topology-like document with chips written inline. fp16 is as close to bf16 as to fp8:
 * the did-you-mean tie goes to the earlier key. */
static const char inline_doc[] =
    "chips:\n"
    "  - name: tiny\n"
    "    peak: {bf16: 1 TFLOP/s}\n"
    "    hbm: {capacity: 1 GiB, bandwidth: 1 GB/s}\n"
    "    scale_up: {bandwidth: 10 GB/s}\n"
    "    nic: {bandwidth: 100 Gb/s}\n"
    "  - name: typo\n"
    "    peak: {bf16: 1 TFLOP/s, fp16: 2 TFLOP/s}\n"
    "  - h100\n"
    "  - name: " /* 64 characters: one too many */
    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234\n";

static ydoc *load_inline(void)
{
    ydoc *d = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_load_string("inline.yaml", inline_doc, strlen(inline_doc), &d, &st),
                     SIM_OK);
    return d;
}

START_TEST(test_inline_defaults)
{
    ydoc *d = load_inline();
    ynode list = ydoc_map_get(d, ydoc_root(d), "chips");
    hw_chip chip;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(hw_chip_from_node(d, ydoc_seq_at(d, list, 0), &chip, &st), SIM_OK);
    ck_assert_str_eq(chip.name, "tiny");
    ck_assert_str_eq(chip.vendor, "");
    ck_assert(chip.peak_bf16_flops == 1e12);
    ck_assert(chip.peak_fp8_flops == 0);
    ck_assert(chip.hbm_bytes == 1073741824.0);
    ck_assert(chip.hbm_Bps == 1e9);
    ck_assert_int_eq(chip.scale_up_kind, HW_SCALE_UP_NVLINK);
    ck_assert(chip.scale_up_Bps == 10e9);
    ck_assert(chip.nic_Bps == 12.5e9);
    ck_assert(chip.eff_gemm == HW_CHIP_EFF_GEMM_DEFAULT);
    ck_assert(chip.eff_mem == HW_CHIP_EFF_MEM_DEFAULT);
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_inline_errors)
{
    static const char *const want[] = {
        NULL,
        "inline.yaml:8:29: error: unknown key 'fp16' in chips[1].peak (did you mean 'bf16'?); "
        "expected one of: bf16, fp8",
        "inline.yaml:9:5: error: chips[2]: expected a mapping, found 'h100'",
        "inline.yaml:10:11: error: key 'name': expected at most 63 characters, found 64",
    };
    ydoc *d = load_inline();
    ynode list = ydoc_map_get(d, ydoc_root(d), "chips");
    ck_assert_uint_eq(ydoc_seq_len(d, list), 4);
    for (size_t i = 1; i < 4; i++) {
        hw_chip chip;
        sim_status st;
        char got[2048];
        sim_status_clear(&st);
        ck_assert_int_eq(hw_chip_from_node(d, ydoc_seq_at(d, list, i), &chip, &st),
                         SIM_ERR_INPUT);
        sim_status_format(&st, got, sizeof got);
        ck_assert_str_eq(got, want[i]);
    }
    /* Callers may pass no status: the code alone comes back. */
    hw_chip chip;
    ck_assert_int_eq(hw_chip_from_node(d, ydoc_seq_at(d, list, 1), &chip, NULL),
                     SIM_ERR_INPUT);
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_kind_names)
{
    ck_assert_str_eq(hw_scale_up_kind_name(HW_SCALE_UP_NVLINK), "nvlink");
    ck_assert_str_eq(hw_scale_up_kind_name(HW_SCALE_UP_ICI), "ici");
    ck_assert_str_eq(hw_scale_up_kind_name(HW_SCALE_UP_INFINITY_FABRIC), "infinity-fabric");
    ck_assert_str_eq(hw_scale_up_kind_name(HW_SCALE_UP_ETHERNET), "ethernet");
    ck_assert_str_eq(hw_scale_up_kind_name(-1), "?");
    ck_assert_str_eq(hw_scale_up_kind_name(4), "?");
}
END_TEST

static Suite *hw_suite(void)
{
    Suite *s = suite_create("hw");
    TCase *tg = tcase_create("shipped");
    tcase_add_loop_test(tg, test_shipped_chip, 0, (int)N_GOOD);
    suite_add_tcase(s, tg);
    TCase *tb = tcase_create("bad");
    tcase_add_loop_test(tb, test_bad_fixture, 0, (int)N_BAD);
    suite_add_tcase(s, tb);
    TCase *ti = tcase_create("inline");
    tcase_add_test(ti, test_inline_defaults);
    tcase_add_test(ti, test_inline_errors);
    tcase_add_test(ti, test_kind_names);
    suite_add_tcase(s, ti);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hw_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
