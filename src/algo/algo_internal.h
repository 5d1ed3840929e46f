/* Private to the algo module: the algorithm descriptors the registry lists, and the
 * helpers shared by readers and algorithms. */
#ifndef LT_ALGO_INTERNAL_H
#define LT_ALGO_INTERNAL_H

#include "algo/algo.h"

#include <stdint.h>

extern const lt_algo lt_algo__kmeans;
extern const lt_algo lt_algo__pca;
extern const lt_algo lt_algo__knn;
extern const lt_algo lt_algo__linear;

/* splitmix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014):
 * a small seedable generator, so a seed gives the same draws on every machine. */
static inline uint64_t lt_algo__rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Uniform in [0, 1). */
static inline double lt_algo__rng_unit(uint64_t *s)
{
    return (double)(lt_algo__rng_next(s) >> 11) * 0x1.0p-53;
}
/* Uniform in [0, n) (n > 0; the modulo bias is below 2^-40 for the sizes used here). */
static inline size_t lt_algo__rng_below(uint64_t *s, size_t n)
{
    return (size_t)(lt_algo__rng_next(s) % n);
}

/* Rows [r0, r0 + m) of x as a dense (m, x->n_cols) block: a pointer into x when it is
 * dense, else the rows written into scratch (m * n_cols floats; absent CSR entries are 0,
 * column indices past n_cols are dropped). Lets an algorithm take CSR a block at a time
 * without densifying the whole matrix. */
const float *lt_algo__dense_rows(const lt_matrix *x, size_t r0, size_t m, float *scratch);
extern const lt_algo lt_algo__xgboost;

#endif
