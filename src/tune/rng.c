/* The tuner's random source: xoshiro256** (Blackman and Vigna, 2018) seeded through
 * splitmix64, so a seed gives the same sequence on every machine. */
#include "tune/tune_internal.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void lt_tune__rng_seed(lt_tune__rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t lt_tune__rng_next(lt_tune__rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double lt_tune__rng_uniform(lt_tune__rng *rng)
{
    return (double)(lt_tune__rng_next(rng) >> 11) * 0x1.0p-53;
}

double lt_tune__rng_normal(lt_tune__rng *rng)
{
    double u1 = lt_tune__rng_uniform(rng), u2 = lt_tune__rng_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

void lt_tune__random_unit(const lt_tune_space *space, lt_tune__rng *rng, double *u)
{
    for (size_t i = 0; i < space->n_params; i++) u[i] = lt_tune__rng_uniform(rng);
}
