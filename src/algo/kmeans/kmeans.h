/* Private to kmeans: the distance kernel and its scalar twin, exposed for the unit test. */
#ifndef LT_KMEANS_H
#define LT_KMEANS_H

#include <stddef.h>

/* Nearest center per row of x (n, dim) among c (k, dim): label (n), squared distance d2 (n). */
void lt_kmeans__assign_scalar(const float *x, size_t n, int dim, const float *c, int k,
                              int *label, float *d2);
/* The same through sgemm; n <= 256 rows, cnorm (k) = ||c_j||^2, dots scratch (n, k). */
void lt_kmeans__assign_block(const float *x, size_t n, int dim, const float *c, const float *cnorm,
                             int k, float *dots, int *label, float *d2);

#endif
