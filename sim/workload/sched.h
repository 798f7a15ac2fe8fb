/*
 * sched.h: pipeline schedules: the order in which one pipeline stage runs the forward and
 * backward passes of its micro-batches and model chunks.
 *
 * A schedule is computed on the fly from (stages p, micro-batches m, chunks per stage v,
 * stage s): sched_at(i) gives the i-th pass of stage s, for i in [0, sched_len). Nothing is
 * stored, so a 16,384-rank job costs nothing here.
 *   GPipe:       all m forwards, then all m backwards (micro-batch order).
 *   1F1B:        Megatron-LM's non-interleaved schedule: min(p - s - 1, m) warm-up forwards,
 *                then one forward and one backward alternately, then the remaining
 *                backwards (Narayanan et al. 2021, figure 4 top).
 *   Interleaved: Megatron-LM's interleaved 1F1B with v model chunks per stage (figure 4
 *                bottom), in its tunable form (schedules.py, get_schedule_table and
 *                get_pp_rank_microbatches): micro-batches are taken in groups of N (the
 *                micro-batch group per virtual stage, default p); a group runs chunk 0 for
 *                its N micro-batches, then chunk 1, ..., chunk v - 1, and the last group
 *                holds the micro-batches left (1 to N of them). Virtual micro-batch k
 *                is entry k of that table forward; backward, the same micro-batch with the
 *                chunk counted from the last. Warm-up of (p - s - 1) 2 + (v - 1) N passes,
 *                capped at m v (also when m == p: Megatron-LM ran every forward first then
 *                until its commit 4295be1 of Nov 2024). Megatron-LM requires p <= N <= m and
 *                m mod N either 0 or at least p (model.c checks it); with N = p, m is a
 *                multiple of p, and k maps to chunk (k / p) mod v of micro-batch
 *                (k / (p v)) p + k mod p.
 */
#ifndef SIM_WORKLOAD_SCHED_H
#define SIM_WORKLOAD_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "workload/model.h"

typedef struct sched_pass {
    bool backward;
    int64_t mb;    /* micro-batch, 0..m-1 */
    int64_t chunk; /* model chunk of the stage, 0..v-1 (global virtual stage chunk*p + s) */
} sched_pass;

typedef struct sched {
    wl_schedule kind;
    int64_t p, m, v, s;
    int64_t group;  /* interleaved: micro-batches per chunk in a row (N) */
    int64_t warmup; /* forward passes before the first backward */
} sched;

/* The schedule of stage s. v must be 1 unless kind is interleaved. */
void sched_init(sched *sc, wl_schedule kind, int64_t p, int64_t m, int64_t v, int64_t s);
/* The same with a micro-batch group of n for the interleaved schedule (n <= 0: p). */
void sched_init_group(sched *sc, wl_schedule kind, int64_t p, int64_t m, int64_t v, int64_t s,
                      int64_t n);
/* Number of passes: 2 m v. */
int64_t sched_len(const sched *sc);
/* The i-th pass, 0 <= i < sched_len. */
sched_pass sched_at(const sched *sc, int64_t i);
/* Most forward passes whose activations are held at once on this stage. */
int64_t sched_peak_inflight(const sched *sc);

#endif
