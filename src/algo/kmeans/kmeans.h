/* Private to the algo module: the k-means distance kernel and its scalar twin (exposed for
 * the unit test), the Lloyd core that k-NN's IVF coarse quantiser reuses (kmeans.c), and
 * SageMaker's web-scale k-means: mini-batch training over k' = k * extra_center_factor
 * weighted centers, then the local Lloyd reduction of those to k (kmeans_webscale.c). */
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

/* Rows this many at a time go through lt_kmeans__assign_block. */
#define LT_KMEANS_BLOCK 256

/* Initial centers c (k, dim) from x (n, dim), n >= 1: greedy k-means++ or k uniform draws;
 * mind (n) is scratch. */
void lt_kmeans__init(const float *x, size_t n, int dim, int k, bool plusplus, uint64_t seed,
                     int nth, float *c, float *mind);

/* ---- web-scale k-means (kmeans_webscale.c) ---- */

/* Mini-batch k-means over x (n, dim) with kp centers (Sculley, "Web-scale k-means
 * clustering", WWW 2010, as SageMaker's "How K-Means Clustering Works" describes it). */
typedef struct lt_kmeans__minibatch {
    const float *x;
    size_t n;
    int dim, kp;          /* kp <= n */
    size_t batch;         /* mini_batch_size */
    int epochs;
    bool plusplus;        /* init_method kmeans++, else random */
    double half_life;     /* half_life_time_size in points; 0: no decay */
    uint64_t seed;
    int threads;          /* 0: all */
    /* After each epoch: the mean squared distance of that epoch's points to the center
     * each was assigned to when its mini-batch was read. */
    void (*on_epoch)(void *ctx, int epoch, double msd);
    void *ctx;
} lt_kmeans__minibatch;

/* Writes the centers (kp, dim) and their weights (kp): the (decayed) number of points each
 * absorbed. LT_ENOMEM when the scratch does not fit. */
int lt_kmeans__minibatch_run(const lt_kmeans__minibatch *mb, float *centers, double *weights,
                             lt_err *err);

/* Weighted Lloyd ("local Lloyd") reducing n weighted points to k centers: `trials` runs
 * from independent initialisations, each until the relative drop of the weighted sum of
 * squared distances is at most tol or max_iter iterations; the run with the lowest
 * weighted SSD is kept. */
typedef struct lt_kmeans__reduce {
    const float *x;   /* (n, dim) */
    const double *w;  /* (n), >= 0 */
    size_t n;
    int dim, k;       /* k <= n */
    bool plusplus;    /* local_lloyd_init_method */
    int trials, max_iter;
    double tol;
    uint64_t seed;
    int threads;      /* trials run in parallel; 0: all */
    /* Each trial's final weighted mean squared distance, as SageMaker logs "local kmeans
     * attempt #t", called in trial order after all have run. May be NULL. */
    void (*on_trial)(void *ctx, int trial, double wmsd);
    void *ctx;
} lt_kmeans__reduce;

/* Writes the k centers (k, dim) and the kept run's weighted SSD (may be NULL). */
int lt_kmeans__reduce_run(const lt_kmeans__reduce *r, float *centers, double *wssd, lt_err *err);

#endif
