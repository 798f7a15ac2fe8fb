/*
 * fail.h: failure and repair laws of a cluster's components, as chip and topology files
 * write them (issue 16). The goodput model (rel/rel_fleet.h) turns them into failure
 * classes; this module only reads and holds them, so that hw and topo need not know rel.
 *
 * A `failures` section maps component kinds to laws:
 *   failures:
 *     gpu: {mtbf: 108335 h, dist: weibull, shape: 0.78,
 *           repair: {mean: 24 h, dist: lognormal, shape: 1.0}}
 * mtbf (required): one component's mean time to failure, a duration with a unit (s, min, h,
 * d, ...) or `never`; dist: exponential (default) | weibull (shape k > 0) | lognormal
 * (shape sigma > 0), the shape required for the last two and refused for the first, in
 * (0, 10]. repair (optional): {mean (required), dist, shape} in the same form; without it,
 * the kind's default repair law (hw_fail_default). Chip files hold gpu and hbm; topology
 * files host, nic, leaf, spine, core, cable, software (per node) and wan (per WAN link).
 *
 * Everything here is a plain value: callers allocate, nothing points elsewhere.
 */
#ifndef SIM_HW_FAIL_H
#define SIM_HW_FAIL_H

#include <stddef.h>

#include "core/status.h"
#include "core/ydoc.h"

/* Laws, by their mean (the same order as rel/rel.h's rel_dist). */
typedef enum hw_fail_dist {
    HW_FAIL_EXPONENTIAL = 0,
    HW_FAIL_WEIBULL,
    HW_FAIL_LOGNORMAL
} hw_fail_dist;

typedef struct hw_fail_law {
    hw_fail_dist dist;
    double mean_s; /* > 0; INFINITY: never */
    double shape;  /* Weibull's k or lognormal's sigma, in (0, 10]; 0 for exponential */
} hw_fail_law;

/* One component kind: its time to failure and its time to repair. */
typedef struct hw_fail_spec {
    hw_fail_law life, repair;
} hw_fail_spec;

/* The kinds, chip ones first (hw_chip.fail), then topology ones (topo_failure). */
typedef enum hw_fail_kind {
    HW_FAIL_GPU = 0,
    HW_FAIL_HBM,
    HW_FAIL_HOST,
    HW_FAIL_NIC,
    HW_FAIL_LEAF,
    HW_FAIL_SPINE,
    HW_FAIL_CORE,
    HW_FAIL_CABLE,
    HW_FAIL_SOFTWARE, /* job-level failures (software bugs, NCCL timeouts), per node */
    HW_FAIL_WAN,      /* a WAN link between sites (a fiber cut, a carrier outage) */
    HW_FAIL_KIND_COUNT
} hw_fail_kind;

#define HW_FAIL_CHIP_KINDS 2 /* gpu, hbm: hw_chip.fail[] */

/* YAML spelling of a kind ("gpu", ...) and of a law ("weibull"); "?" out of range. */
const char *hw_fail_kind_name(hw_fail_kind kind);
const char *hw_fail_dist_name(hw_fail_dist dist);

/*
 * The built-in law of a kind, used where a file gives none: topology kinds (host to
 * software) get the failure rates derived from the Llama 3 paper (fail.c gives the
 * derivation); gpu and hbm never fail unless the chip file says so (the shipped H100 file
 * does). Every kind gets a default repair law (lognormal, fail.c).
 */
void hw_fail_default(hw_fail_kind kind, hw_fail_spec *out);

/*
 * Reads the optional `failures` section of mapping map, whose keys must be the kinds
 * [first, last] (inclusive). specs is indexed by kind (hw_fail_kind) and holds the defaults
 * on entry; a kind the section gives replaces its entry, the others keep theirs. On an
 * error specs may be partly written (callers read into a copy). Errors: SIM_ERR_INPUT at
 * the offending node, naming the key, what was expected and what was found.
 */
sim_code hw_fail_read(const ydoc *d, ynode map, hw_fail_kind first, hw_fail_kind last,
                      hw_fail_spec *specs, sim_status *st);

#endif
