/*
 * fail.c: failure and repair laws (see fail.h): the built-in defaults and the reader of a
 * `failures` section.
 *
 * Defaults. The failure rates of the topology kinds come from the one published breakdown
 * of a large H100 training job's interruptions: Dubey et al. 2024, "The Llama 3 Herd of
 * Models" (arXiv 2407.21783), section 3.3.4, Table 5: a 54-day snapshot (1,296 h) of the
 * 405B pre-training on 16,384 H100 in 2,048 hosts of 8, with 419 unexpected interruptions.
 * Each kind's MTBF is (components x 1,296 h) / (its interruptions):
 *   host      host maintenance 32 + SSD 3 + power supply 3 + server chassis 2 + IO expansion
 *             board 2 + CPU 2 + system memory 2 = 46 over 2,048 hosts: 57,700 h
 *   nic       NIC 7 over 16,384 NICs (one per GPU): 3,033,381 h
 *   software  software bug 54 + dependency 2 + NCCL watchdog timeouts 7 = 63 over 2,048
 *             nodes (counted per node): 42,130 h
 *   leaf, spine, core, cable
 *             network switch/cable 35. The paper does not split switches from cables; the
 *             35 are shared in proportion to their counts, every switch and every cable with
 *             the same MTBF. The counts are those a 16,384-GPU job has on
 *             topologies/llama3-24k-roce.yaml (the RoCE cluster the 405B ran on; rel_fleet
 *             counts them, test_rel_fleet checks this figure): 1,024 leaves, 96 spines of
 *             six pods, 16 cores, 16,384 NIC cables, 16,384 leaf-spine cables and 2,688
 *             spine-core cables (each trunk counted in 400 Gb/s ports): 36,592 elements,
 *             so 36,592 x 1,296 h / 35 = 1,354,950 h.
 * The gpu and hbm rates live in the chip file (topologies/chips/h100-sxm.yaml), with their
 * derivation; a chip file without them never fails (no data).
 * Every default law is exponential. Schroeder and Gibson (DSN 2006, "A large-scale study of
 * failures in high-performance computing systems") find times between failures of a node
 * better fitted by a Weibull law of decreasing hazard (shape 0.7-0.8) and repair times by a
 * lognormal law; a file may choose `dist: weibull, shape: 0.78`.
 * Repair laws are lognormal after them, sigma 1.0 (an assumption), with means that are
 * assumptions too: a GPU, its HBM, a host or a NIC replaced within a day (24 h: the node
 * goes back to the spare pool), a switch within a shift (8 h), a cable or optic reseated or
 * swapped in 4 h, a software failure cleared in 1 h (it takes no node out), a WAN link
 * (a long-haul fiber cut spliced by a field crew) in 12 h. A WAN link never fails by
 * default: fiber-cut rates depend on route length and burial, and no fleet study gives one
 * to default to; a topology states its own (`failures: {wan: {mtbf: 2000 h}}`).
 */
#include "hw/fail.h"

#include <math.h>
#include <string.h>

#include "core/units.h"

#define HOUR_S 3600.0

/* The 54-day snapshot and the cluster of Table 5. */
#define L3_SPAN_H (54.0 * 24.0)
#define L3_GPUS 16384.0
#define L3_HOSTS 2048.0
#define L3_NET_ELEMENTS 36592.0 /* switches and cables of the job on llama3-24k-roce */

/* Indexed by hw_fail_kind. */
static const char *const kind_names[] = {"gpu",  "hbm",   "host",     "nic", "leaf", "spine",
                                         "core", "cable", "software", "wan", NULL};
static const char *const dist_names[] = {"exponential", "weibull", "lognormal", NULL};
static const char *const spec_keys[] = {"mtbf", "dist", "shape", "repair", NULL};
static const char *const repair_keys[] = {"mean", "dist", "shape", NULL};

#define SHAPE_MAX 10.0

const char *hw_fail_kind_name(hw_fail_kind kind)
{
    return (int)kind >= 0 && kind < HW_FAIL_KIND_COUNT ? kind_names[kind] : "?";
}

const char *hw_fail_dist_name(hw_fail_dist dist)
{
    return (int)dist >= 0 && dist <= HW_FAIL_LOGNORMAL ? dist_names[dist] : "?";
}

void hw_fail_default(hw_fail_kind kind, hw_fail_spec *out)
{
    double life_h = INFINITY, repair_h = 24.0;
    switch (kind) {
    case HW_FAIL_HOST:
        life_h = L3_HOSTS * L3_SPAN_H / 46.0;
        break;
    case HW_FAIL_NIC:
        life_h = L3_GPUS * L3_SPAN_H / 7.0;
        break;
    case HW_FAIL_LEAF:
    case HW_FAIL_SPINE:
    case HW_FAIL_CORE:
        life_h = L3_NET_ELEMENTS * L3_SPAN_H / 35.0;
        repair_h = 8.0;
        break;
    case HW_FAIL_CABLE:
        life_h = L3_NET_ELEMENTS * L3_SPAN_H / 35.0;
        repair_h = 4.0;
        break;
    case HW_FAIL_SOFTWARE:
        life_h = L3_HOSTS * L3_SPAN_H / 63.0;
        repair_h = 1.0;
        break;
    case HW_FAIL_WAN: /* no published rate to default to: never, unless the file says */
        repair_h = 12.0;
        break;
    default: /* gpu, hbm: from the chip file */
        break;
    }
    out->life = (hw_fail_law){HW_FAIL_EXPONENTIAL, life_h * HOUR_S, 0.0};
    out->repair = (hw_fail_law){HW_FAIL_LOGNORMAL, repair_h * HOUR_S, 1.0};
}

/* mtbf: a duration or `never`. */
static sim_code read_mean(const ydoc *d, ynode map, const char *key, int allow_never,
                          double *out, sim_status *st)
{
    ynode v = ydoc_map_get(d, map, key);
    const char *s = v ? ydoc_scalar(d, v) : NULL;
    if (!allow_never || !s)
        return ydoc_get_duration(d, map, key, 1, out, st);
    if (strcmp(s, "never") == 0) {
        *out = INFINITY;
        return SIM_OK;
    }
    char why[SIM_STATUS_MSG_MAX / 2];
    static const char no_unit[] = "expected a duration with a unit";
    if (sim_units_parse_duration(s, out, why, sizeof why) == SIM_OK)
        return SIM_OK;
    if (strncmp(why, no_unit, sizeof no_unit - 1) == 0) /* name the other choice too */
        return ydoc_error(d, v, st,
                          "key '%s': expected a duration with a unit (such as '100000 h') or "
                          "'never', found '%s'", key, s);
    return ydoc_error(d, v, st, "key '%s': %s", key, why);
}

/* dist and shape of a law in mapping map, after its mean. */
static sim_code read_shape(const ydoc *d, ynode map, hw_fail_law *law, sim_status *st)
{
    int dist = HW_FAIL_EXPONENTIAL;
    sim_code rc = ydoc_get_enum(d, map, "dist", 0, "law", dist_names, &dist, st);
    if (rc != SIM_OK)
        return rc;
    law->dist = (hw_fail_dist)dist;
    law->shape = 0.0;
    ynode v = ydoc_map_get(d, map, "shape");
    if (law->dist == HW_FAIL_EXPONENTIAL) {
        if (v)
            return ydoc_error(d, v, st,
                              "key 'shape': not used by an exponential law (give dist: "
                              "weibull or lognormal)");
        return SIM_OK;
    }
    rc = ydoc_get_double(d, map, "shape", 1, &law->shape, st);
    if (rc == SIM_OK && !(law->shape > 0.0 && law->shape <= SHAPE_MAX)) {
        char found[96];
        ydoc_describe(d, v, found, sizeof found);
        rc = ydoc_error(d, v, st, "key 'shape': expected a number in (0, %g], found %s",
                        SHAPE_MAX, found);
    }
    return rc;
}

/* One kind's mapping: {mtbf, dist, shape, repair: {mean, dist, shape}}. */
static sim_code read_spec(const ydoc *d, ynode map, const char *kind, hw_fail_spec *spec,
                          sim_status *st)
{
    char place[256];
    ynode v = ydoc_map_get(d, map, kind), rep = 0;
    sim_code rc = ydoc_expect(d, v, YDOC_MAP, kind, st);
    if (rc == SIM_OK) {
        ydoc_place(d, v, place, sizeof place);
        rc = ydoc_check_keys(d, v, place, spec_keys, st);
    }
    if (rc == SIM_OK)
        rc = read_mean(d, v, "mtbf", 1, &spec->life.mean_s, st);
    if (rc == SIM_OK)
        rc = read_shape(d, v, &spec->life, st);
    if (rc == SIM_OK)
        rc = ydoc_get_section(d, v, "repair", 0, repair_keys, &rep, st);
    if (rc == SIM_OK && rep)
        rc = read_mean(d, rep, "mean", 0, &spec->repair.mean_s, st);
    if (rc == SIM_OK && rep)
        rc = read_shape(d, rep, &spec->repair, st);
    return rc;
}

sim_code hw_fail_read(const ydoc *d, ynode map, hw_fail_kind first, hw_fail_kind last,
                      hw_fail_spec *specs, sim_status *st)
{
    const char *allowed[HW_FAIL_KIND_COUNT + 1];
    size_t n = 0;
    for (int k = (int)first; k <= (int)last; k++)
        allowed[n++] = kind_names[k];
    allowed[n] = NULL;
    ynode sec = 0;
    sim_code rc = ydoc_get_section(d, map, "failures", 0, allowed, &sec, st);
    for (int k = (int)first; rc == SIM_OK && sec && k <= (int)last; k++)
        if (ydoc_map_get(d, sec, kind_names[k]))
            rc = read_spec(d, sec, kind_names[k], &specs[k], st);
    return rc;
}
