/* Private to the algo module: the algorithm descriptors the registry lists, and the
 * helpers shared by readers and algorithms. */
#ifndef LT_ALGO_INTERNAL_H
#define LT_ALGO_INTERNAL_H

#include "algo/algo.h"

extern const lt_algo lt_algo__kmeans;
extern const lt_algo lt_algo__pca;
extern const lt_algo lt_algo__knn;

/* Rows [r0, r0 + m) of x as a dense (m, x->n_cols) block: a pointer into x when it is
 * dense, else the rows written into scratch (m * n_cols floats; absent CSR entries are 0,
 * column indices past n_cols are dropped). Lets an algorithm take CSR a block at a time
 * without densifying the whole matrix. */
const float *lt_algo__dense_rows(const lt_matrix *x, size_t r0, size_t m, float *scratch);
extern const lt_algo lt_algo__xgboost;

#endif
