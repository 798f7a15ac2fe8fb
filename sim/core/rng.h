/*
 * rng.h: random streams. One GSL generator (MT19937) per stream, seeded from the run seed
 * and a stream id, so adding a stream never shifts the numbers another stream draws.
 * The only module that includes GSL's random-number and statistics headers.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct sim_rng sim_rng;

/* Stream `stream` of run seed `seed`; *out owned by the caller. SIM_ERR_NOMEM. */
sim_code sim_rng_create(uint64_t seed, uint64_t stream, sim_rng **out, sim_status *st);
void sim_rng_destroy(sim_rng *r); /* accepts NULL */
double sim_rng_uniform(sim_rng *r);                    /* [0, 1) */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);        /* uniform in [0, n), n >= 1 */
double sim_rng_exponential(sim_rng *r, double mean);   /* mean > 0 */
double sim_rng_lognormal(sim_rng *r, double mu, double sigma);
double sim_rng_weibull(sim_rng *r, double scale, double shape); /* scale, shape > 0 */

/* A sample's summary: mean, standard deviation, the half-width of the two-sided confidence
 * interval of the mean at `level` (Student's t with n - 1 degrees of freedom; 0 for n < 2),
 * min, median and max. x is sorted in place. n >= 1. */
typedef struct sim_stats {
    double mean, sd, ci_half, min, p50, max;
} sim_stats;
void sim_stats_summarize(double *x, size_t n, double level, sim_stats *out);
/* Gamma(x), for a Weibull's mean. */
double sim_gamma(double x);

#endif
