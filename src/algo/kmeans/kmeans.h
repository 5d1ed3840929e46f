/* Private to the algo module: the k-means distance kernel and its scalar twin (exposed for
 * the unit test), and the Lloyd core that k-NN's IVF coarse quantiser reuses. */
#ifndef LT_KMEANS_H
#define LT_KMEANS_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nearest center per row of x (n, dim) among c (k, dim): label (n), squared distance d2 (n). */
void lt_kmeans__assign_scalar(const float *x, size_t n, int dim, const float *c, int k,
                              int *label, float *d2);
/* The same through sgemm; n <= 256 rows, cnorm (k) = ||c_j||^2, dots scratch (n, k). */
void lt_kmeans__assign_block(const float *x, size_t n, int dim, const float *c, const float *cnorm,
                             int k, float *dots, int *label, float *d2);

/* Lloyd's k-means over x (n, dim), n >= k, finite values. */
typedef struct lt_kmeans__fit {
    const float *x;
    size_t n;
    int dim, k;
    int max_iter;
    double tol;    /* stop when the centers move less than this (L2 over all of them) */
    uint64_t seed;
    bool plusplus; /* k-means++ init, else k random rows */
    int threads;   /* 0: all */
    /* Called before each iteration's update with the current sum of squared distances. */
    void (*on_iter)(void *ctx, int iteration, double ssd);
    void *ctx;
} lt_kmeans__fit;

/* Writes the centers (k, dim); iterations and ssd (of the final centers) may be NULL.
 * LT_ENOMEM when the scratch does not fit. */
int lt_kmeans__lloyd(const lt_kmeans__fit *f, float *centers, int *iterations, double *ssd,
                     lt_err *err);
/* Sum of squared distances of x (n, dim) to its nearest of c (k, dim). */
double lt_kmeans__ssd(const float *x, size_t n, int dim, const float *c, int k, int threads);

#endif
