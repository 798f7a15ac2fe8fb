/*
 * chip.c: reading one chip type from YAML (see chip.h for the schema).
 *
 * The loader walks the mapping once, section by section, in a fixed order (top-level keys,
 * then name, vendor, peak, hbm, scale_up, nic, efficiency, collective, failures, power), so the
 * first mistake reported is always the same one for a given file. Each section is checked
 * for unknown keys before its values are read. The result is built in a local hw_chip and
 * copied out only when every check has passed, so a caller's *out never holds half a chip.
 *
 * Every error is SIM_ERR_INPUT located at the node at fault (the mapping itself for a
 * missing key), through ydoc_error and the ydoc getters.
 */
#include "hw/chip.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const top_keys[] = {"name", "vendor", "peak", "hbm", "scale_up", "nic",
                                       "efficiency", "collective", "failures", "power",
                                       NULL};
static const char *const peak_keys[] = {"bf16", "fp8", NULL};
static const char *const hbm_keys[] = {"capacity", "bandwidth", NULL};
static const char *const scale_up_keys[] = {"kind", "bandwidth", NULL};
static const char *const nic_keys[] = {"bandwidth", NULL};
static const char *const efficiency_keys[] = {"gemm",      "memory",           "gemm_half_dim",
                                              "attention", "attention_dropout", "overlap_slowdown",
                                              "matmul_max", NULL};

static const char *const collective_keys[] = {"efficiency", "latency", NULL};
static const char *const power_keys[] = {"tdp", "training", "idle", "communication", "clocks",
                                         NULL};
static const char *const clock_keys[] = {"clock", "training", NULL};
static const char *const coll_eff_keys[] = {"scale_up", "nvls", "scale_out", NULL};
static const char *const coll_lat_keys[] = {"launch", "scale_up_step", "scale_out_step", "nvls",
                                            NULL};

/* Longest collective latency a chip file may give: far above any NCCL step (ps). */
#define COLL_LAT_MAX_PS 1000000000

/* Indexed by hw_scale_up_kind. */
static const char *const scale_up_names[] = {"nvlink", "ici", "infinity-fabric", "ethernet",
                                             NULL};

const char *hw_scale_up_kind_name(int kind)
{
    if (kind < 0 || kind >= (int)(sizeof scale_up_names / sizeof scale_up_names[0]) - 1)
        return "?";
    return scale_up_names[kind];
}

/* Writes "a, b, c" (allowed is NULL-terminated) into buf. */
/*
 * Finds the sub-mapping key of map, requires it to be a mapping with only allowed keys, and
 * sets *out to it. An absent optional section sets *out to 0.
 */

/* Copies the string under key into buf (cap bytes with the NUL), refusing longer text. */
static sim_code get_name(const ydoc *d, ynode map, const char *key, int required, char *buf,
                         size_t cap, sim_status *st)
{
    const char *s = NULL;
    sim_code rc = ydoc_get_str(d, map, key, required, &s, st);
    if (rc != SIM_OK || !s)
        return rc;
    size_t n = strlen(s);
    if (n >= cap)
        return ydoc_error(d, ydoc_map_get(d, map, key), st,
                          "key '%s': expected at most %zu characters, found %zu", key, cap - 1,
                          n);
    memcpy(buf, s, n + 1);
    return SIM_OK;
}

/* The error for key of map: "key 'KEY': expected EXPECTED, found VALUE", EXPECTED
 * printf-formatted from fmt, VALUE the key's value as the file has it. */
static sim_code key_error(const ydoc *d, ynode map, const char *key, sim_status *st,
                          const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static sim_code key_error(const ydoc *d, ynode map, const char *key, sim_status *st,
                          const char *fmt, ...)
{
    char expected[192], found[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof expected, fmt, ap);
    va_end(ap);
    ynode v = ydoc_map_get(d, map, key);
    ydoc_describe(d, v, found, sizeof found);
    return ydoc_error(d, v, st, "key '%s': expected %s, found %s", key, expected, found);
}

/* Reads an optional efficiency factor in (0, 1] under key; *out keeps its default if absent. */
static sim_code get_efficiency(const ydoc *d, ynode map, const char *key, double *out,
                               sim_status *st)
{
    double x = *out;
    sim_code rc = ydoc_get_double(d, map, key, 0, &x, st);
    if (rc != SIM_OK)
        return rc;
    if (!(x > 0.0 && x <= 1.0))
        return key_error(d, map, key, st, "a number in (0, 1]");
    *out = x;
    return SIM_OK;
}

void hw_coll_model_default(hw_coll_model *m)
{
    m->eff_scale_up = 1.0;
    m->eff_nvls = 1.0;
    m->eff_scale_out = 1.0;
    m->launch_ps = 0;
    m->step_up_ps = HW_CHIP_COLL_STEP_DEFAULT_PS;
    m->step_out_ps = HW_CHIP_COLL_STEP_DEFAULT_PS;
    m->nvls_ps = HW_CHIP_COLL_NVLS_DEFAULT_PS;
}

/* Reads an optional latency from 0 to 1 ms under key; *out keeps its default if absent. */
static sim_code get_coll_latency(const ydoc *d, ynode map, const char *key, int64_t *out,
                                 sim_status *st)
{
    int64_t x = *out;
    sim_code rc = ydoc_get_time(d, map, key, 0, &x, st);
    if (rc != SIM_OK)
        return rc;
    if (x < 0 || x > COLL_LAT_MAX_PS)
        return key_error(d, map, key, st, "a time from 0 to 1 ms");
    *out = x;
    return SIM_OK;
}

/* Reads the optional collective section (see chip.h) into *m, which holds the defaults. */
static sim_code get_collective(const ydoc *d, ynode map, hw_coll_model *m, sim_status *st)
{
    ynode sec = 0, eff = 0, lat = 0;
    sim_code rc = ydoc_get_section(d, map, "collective", 0, collective_keys, &sec, st);
    if (rc != SIM_OK || !sec)
        return rc;
    rc = ydoc_get_section(d, sec, "efficiency", 0, coll_eff_keys, &eff, st);
    if (rc == SIM_OK && eff)
        rc = get_efficiency(d, eff, "scale_up", &m->eff_scale_up, st);
    if (rc == SIM_OK && eff)
        rc = get_efficiency(d, eff, "nvls", &m->eff_nvls, st);
    if (rc == SIM_OK && eff)
        rc = get_efficiency(d, eff, "scale_out", &m->eff_scale_out, st);
    if (rc == SIM_OK)
        rc = ydoc_get_section(d, sec, "latency", 0, coll_lat_keys, &lat, st);
    if (rc == SIM_OK && lat)
        rc = get_coll_latency(d, lat, "launch", &m->launch_ps, st);
    if (rc == SIM_OK && lat)
        rc = get_coll_latency(d, lat, "scale_up_step", &m->step_up_ps, st);
    if (rc == SIM_OK && lat)
        rc = get_coll_latency(d, lat, "scale_out_step", &m->step_out_ps, st);
    if (rc == SIM_OK && lat)
        rc = get_coll_latency(d, lat, "nvls", &m->nvls_ps, st);
    return rc;
}

/* Refuses the power under key of map unless lo <= *x <= hi: "key 'idle': expected a power
 * from 0 to training (650 W), found '700 W'" (lo_name, hi_name name the bounds). */
static sim_code check_power(const ydoc *d, ynode map, const char *key, double x, double lo,
                            const char *lo_name, double hi, const char *hi_name,
                            sim_status *st)
{
    if (x >= lo && x <= hi)
        return SIM_OK;
    char from[64];
    if (lo_name)
        snprintf(from, sizeof from, "%s (%g W)", lo_name, lo);
    else
        snprintf(from, sizeof from, "%g W", lo);
    return key_error(d, map, key, st, "a power from %s to %s (%g W)", from, hi_name, hi);
}

/* Reads power.clocks (see chip.h), when present, into *w (its training and idle known). */
static sim_code get_clocks(const ydoc *d, ynode sec, hw_power *w, sim_status *st)
{
    ynode seq = ydoc_map_get(d, sec, "clocks");
    if (!seq)
        return SIM_OK;
    sim_code rc = ydoc_expect(d, seq, YDOC_SEQ, "clocks", st);
    if (rc != SIM_OK)
        return rc;
    size_t n = ydoc_seq_len(d, seq);
    if (n < 1 || n > HW_POWER_CLOCKS_MAX)
        return ydoc_error(d, seq, st,
                          "key 'clocks': expected 1 to %d points {clock, training}, found %zu",
                          HW_POWER_CLOCKS_MAX, n);
    double prev_f = 1, prev_W = w->train_W;
    for (size_t i = 0; i < n; i++) {
        ynode pt = ydoc_seq_at(d, seq, i);
        double f = 0, W = 0;
        rc = ydoc_expect(d, pt, YDOC_MAP, "clocks", st);
        if (rc == SIM_OK)
            rc = ydoc_check_keys(d, pt, "a clocks point", clock_keys, st);
        if (rc == SIM_OK)
            rc = ydoc_get_double(d, pt, "clock", 1, &f, st);
        if (rc == SIM_OK)
            rc = ydoc_get_power(d, pt, "training", 1, &W, st);
        if (rc != SIM_OK)
            return rc;
        if (!(f > 0 && f < prev_f))
            return key_error(d, pt, "clock", st,
                             "a fraction of the full clock above 0 and below %g (the clocks "
                             "decrease)", prev_f);
        if (!(W >= w->idle_W && W < prev_W))
            return key_error(d, pt, "training", st,
                             "a power from idle (%g W) to below %g W (the draw decreases with "
                             "the clock)", w->idle_W, prev_W);
        w->clock[i] = f;
        w->clock_train_W[i] = W;
        prev_f = f;
        prev_W = W;
    }
    w->n_clocks = n;
    return SIM_OK;
}

double hw_power_train_at(const hw_power *w, double f)
{
    double hi_f = 1, hi_W = w->train_W;
    if (f >= 1)
        return w->train_W;
    for (size_t i = 0; i < w->n_clocks; i++) {
        double lo_f = w->clock[i], lo_W = w->clock_train_W[i];
        if (f >= lo_f)
            return lo_W + (hi_W - lo_W) * (f - lo_f) / (hi_f - lo_f);
        hi_f = lo_f;
        hi_W = lo_W;
    }
    return hi_W; /* below the curve: its lowest point */
}

/* Reads the optional power section (see chip.h) into *pw. */
static sim_code get_power(const ydoc *d, ynode map, hw_power *pw, sim_status *st)
{
    ynode sec = 0;
    hw_power w = {0};
    sim_code rc = ydoc_get_section(d, map, "power", 0, power_keys, &sec, st);
    if (rc != SIM_OK || !sec)
        return rc;
    rc = ydoc_get_power(d, sec, "tdp", 1, &w.tdp_W, st);
    if (rc == SIM_OK && !(w.tdp_W > 0))
        rc = key_error(d, sec, "tdp", st, "a power > 0");
    if (rc == SIM_OK)
        rc = ydoc_get_power(d, sec, "training", 1, &w.train_W, st);
    if (rc == SIM_OK)
        rc = check_power(d, sec, "training", w.train_W, 0, NULL, w.tdp_W, "tdp", st);
    if (rc == SIM_OK)
        rc = ydoc_get_power(d, sec, "idle", 1, &w.idle_W, st);
    if (rc == SIM_OK)
        rc = check_power(d, sec, "idle", w.idle_W, 0, NULL, w.train_W, "training", st);
    w.comm_W = w.idle_W + HW_POWER_COMM_FRACTION * (w.train_W - w.idle_W);
    if (rc == SIM_OK)
        rc = ydoc_get_power(d, sec, "communication", 0, &w.comm_W, st);
    if (rc == SIM_OK)
        rc = check_power(d, sec, "communication", w.comm_W, w.idle_W, "idle", w.train_W,
                         "training", st);
    if (rc == SIM_OK)
        rc = get_clocks(d, sec, &w, st);
    if (rc == SIM_OK) {
        w.present = true;
        *pw = w;
    }
    return rc;
}

/* Reads scale_up.kind, when present, into *out. */
static sim_code get_scale_up_kind(const ydoc *d, ynode map, hw_scale_up_kind *out,
                                  sim_status *st)
{
    int k = (int)*out;
    sim_code rc = ydoc_get_enum(d, map, "kind", 0, "scale-up kind", scale_up_names, &k, st);
    *out = (hw_scale_up_kind)k;
    return rc;
}

sim_code hw_chip_from_node(const ydoc *d, ynode map, hw_chip *out, sim_status *st)
{
    hw_chip c;
    memset(&c, 0, sizeof c);
    c.scale_up_kind = HW_SCALE_UP_NVLINK;
    c.eff_gemm = HW_CHIP_EFF_GEMM_DEFAULT;
    c.eff_mem = HW_CHIP_EFF_MEM_DEFAULT;
    c.eff_attention_dropout = 1.0;
    hw_coll_model_default(&c.coll);
    for (int k = 0; k < HW_FAIL_CHIP_KINDS; k++)
        hw_fail_default((hw_fail_kind)k, &c.fail[k]);
    ynode peak = 0, hbm = 0, up = 0, nic = 0, eff = 0;
    char place[256];

    sim_code rc = ydoc_expect(d, map, YDOC_MAP, NULL, st);
    if (rc == SIM_OK) {
        ydoc_place(d, map, place, sizeof place);
        rc = ydoc_check_keys(d, map, place, top_keys, st);
    }
    if (rc == SIM_OK)
        rc = get_name(d, map, "name", 1, c.name, sizeof c.name, st);
    if (rc == SIM_OK)
        rc = get_name(d, map, "vendor", 0, c.vendor, sizeof c.vendor, st);

    if (rc == SIM_OK)
        rc = ydoc_get_section(d, map, "peak", 1, peak_keys, &peak, st);
    if (rc == SIM_OK)
        rc = ydoc_get_flops(d, peak, "bf16", 1, &c.peak_bf16_flops, st);
    if (rc == SIM_OK)
        rc = ydoc_get_flops(d, peak, "fp8", 0, &c.peak_fp8_flops, st);

    if (rc == SIM_OK)
        rc = ydoc_get_section(d, map, "hbm", 1, hbm_keys, &hbm, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bytes(d, hbm, "capacity", 1, &c.hbm_bytes, st);
    if (rc == SIM_OK && !(c.hbm_bytes > 0))
        rc = key_error(d, hbm, "capacity", st, "a size > 0");
    if (rc == SIM_OK)
        rc = ydoc_get_bw(d, hbm, "bandwidth", 1, &c.hbm_Bps, st);

    if (rc == SIM_OK)
        rc = ydoc_get_section(d, map, "scale_up", 1, scale_up_keys, &up, st);
    if (rc == SIM_OK)
        rc = get_scale_up_kind(d, up, &c.scale_up_kind, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bw(d, up, "bandwidth", 1, &c.scale_up_Bps, st);

    if (rc == SIM_OK)
        rc = ydoc_get_section(d, map, "nic", 1, nic_keys, &nic, st);
    if (rc == SIM_OK)
        rc = ydoc_get_bw(d, nic, "bandwidth", 1, &c.nic_Bps, st);

    if (rc == SIM_OK)
        rc = ydoc_get_section(d, map, "efficiency", 0, efficiency_keys, &eff, st);
    if (rc == SIM_OK && eff)
        rc = get_efficiency(d, eff, "gemm", &c.eff_gemm, st);
    if (rc == SIM_OK && eff)
        rc = get_efficiency(d, eff, "memory", &c.eff_mem, st);
    if (rc == SIM_OK && eff)
        rc = ydoc_get_double(d, eff, "gemm_half_dim", 0, &c.gemm_half_dim, st);
    if (rc == SIM_OK && eff && ydoc_map_get(d, eff, "attention"))
        rc = get_efficiency(d, eff, "attention", &c.eff_attention, st);
    if (rc == SIM_OK && eff && ydoc_map_get(d, eff, "attention_dropout"))
        rc = get_efficiency(d, eff, "attention_dropout", &c.eff_attention_dropout, st);
    if (rc == SIM_OK && eff)
        rc = ydoc_get_double(d, eff, "overlap_slowdown", 0, &c.overlap_slowdown, st);
    if (rc == SIM_OK && eff && !(c.overlap_slowdown >= 0 && c.overlap_slowdown <= 10))
        rc = ydoc_error(d, ydoc_map_get(d, eff, "overlap_slowdown"), st,
                        "key 'overlap_slowdown': expected a fraction from 0 to 10, found %g",
                        c.overlap_slowdown);
    if (rc == SIM_OK && eff && ydoc_map_get(d, eff, "matmul_max"))
        rc = get_efficiency(d, eff, "matmul_max", &c.matmul_max, st);
    if (rc == SIM_OK && c.matmul_max > 0 && c.eff_gemm > c.matmul_max)
        rc = ydoc_error(d, ydoc_map_get(d, eff, "gemm"), st,
                        "key 'gemm': expected at most matmul_max (%g), the chip's best "
                        "microbenchmarked GEMM, found %g", c.matmul_max, c.eff_gemm);
    if (rc == SIM_OK && eff && !(c.gemm_half_dim >= 0 && c.gemm_half_dim <= 1e6))
        rc = ydoc_error(d, ydoc_map_get(d, eff, "gemm_half_dim"), st,
                        "key 'gemm_half_dim': expected a matrix dimension from 0 to 1e6, "
                        "found %g", c.gemm_half_dim);
    if (rc == SIM_OK)
        rc = get_collective(d, map, &c.coll, st);
    if (rc == SIM_OK)
        rc = hw_fail_read(d, map, HW_FAIL_GPU, HW_FAIL_HBM, c.fail, st);
    if (rc == SIM_OK)
        rc = get_power(d, map, &c.power, st);

    if (rc == SIM_OK)
        *out = c;
    return rc;
}

sim_code hw_chip_load_file(const char *path, hw_chip *out, sim_status *st)
{
    ydoc *d = NULL;
    sim_code rc = ydoc_load_file(path, &d, st);
    if (rc == SIM_OK)
        rc = hw_chip_from_node(d, ydoc_root(d), out, st);
    ydoc_destroy(d);
    return rc;
}

double hw_chip_gemm_eff(const hw_chip *c, double min_dim)
{
    if (min_dim <= 0 || c->gemm_half_dim <= 0)
        return c->eff_gemm;
    return c->eff_gemm / (1.0 + c->gemm_half_dim / min_dim);
}
