/*
 * rng.c: GSL's MT19937 behind a small API. The seed of a stream is a 64-bit mix of
 * (seed, stream), folded to the 32 bits MT19937 takes (0 is avoided: GSL maps it to 4357).
 */
#include "core/rng.h"

#include "core/hash.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>

struct sim_rng {
    gsl_rng *g;
};

sim_code sim_rng_create(uint64_t seed, uint64_t stream, sim_rng **out, sim_status *st)
{
    sim_rng *r = calloc(1, sizeof *r);
    if (r)
        r->g = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r || !r->g) {
        free(r);
        return sim_status_set(st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory for a random stream");
    }
    uint64_t h = sim_hash_mix(seed ^ sim_hash_mix(stream + 0x51ed2701ull));
    unsigned long s = (unsigned long)((h ^ (h >> 32)) & 0xffffffffu);
    gsl_rng_set(r->g, s ? s : 1);
    *out = r;
    return SIM_OK;
}

void sim_rng_destroy(sim_rng *r)
{
    if (!r)
        return;
    gsl_rng_free(r->g);
    free(r);
}

double sim_rng_uniform(sim_rng *r) { return gsl_rng_uniform(r->g); }

uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    if (n <= 0xffffffffu)
        return gsl_rng_uniform_int(r->g, (unsigned long)n);
    return (uint64_t)(gsl_rng_uniform(r->g) * (double)n) % n;
}

double sim_rng_exponential(sim_rng *r, double mean) { return gsl_ran_exponential(r->g, mean); }
double sim_rng_lognormal(sim_rng *r, double mu, double sigma)
{
    return gsl_ran_lognormal(r->g, mu, sigma);
}

double sim_rng_weibull(sim_rng *r, double scale, double shape)
{
    return gsl_ran_weibull(r->g, scale, shape);
}

void sim_stats_summarize(double *x, size_t n, double level, sim_stats *out)
{
    gsl_sort(x, 1, n);
    out->mean = gsl_stats_mean(x, 1, n);
    out->sd = n > 1 ? gsl_stats_sd_m(x, 1, n, out->mean) : 0;
    out->ci_half = n > 1 ? gsl_cdf_tdist_Pinv(0.5 + level / 2, (double)(n - 1)) * out->sd /
                               sqrt((double)n)
                         : 0;
    out->min = x[0];
    out->max = x[n - 1];
    out->p50 = gsl_stats_median_from_sorted_data(x, 1, n);
}

double sim_gamma(double x) { return gsl_sf_gamma(x); }
