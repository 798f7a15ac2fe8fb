/*
 * rng.h: random streams. One GSL generator (MT19937) per stream, seeded from the run seed
 * and a stream id, so adding a stream never shifts the numbers another stream draws.
 * The only module that includes GSL's random-number headers.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

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

#endif
