/* SageMaker's web-scale k-means ("How K-Means Clustering Works", AWS developer guide):
 *
 *   1. k' = k * extra_center_factor initial centers from the first mini-batch (random rows
 *      or k-means++ over that batch);
 *   2. every epoch the data is read in mini-batches of mini_batch_size rows, in order; each
 *      batch's rows are assigned to their nearest center, and a center c with weight w that
 *      received m rows with mean d moves to (w c + m d) / (w + m) (the guide's
 *      (1 - p) c + p d with p = m / (w + m)), and its weight becomes w + m. With
 *      half_life_time_size h > 0, every weight is first multiplied by 2^(-rows / h) for the
 *      rows of the batch, so a point's pull halves after h later points;
 *   3. the k' weighted centers are reduced to k by weighted Lloyd (the "local Lloyd"), run
 *      local_lloyd_num_trials times from local_lloyd_init_method, keeping the lowest
 *      weighted sum of squared distances.
 *
 * Each batch's assignment and sums run on the threads over fixed static chunks with
 * per-thread sums added in thread order, so the result depends on the thread count only
 * through float rounding. */
#include "algo/algo_internal.h"
#include "algo/kmeans/kmeans.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void norms(const float *c, int k, int dim, float *cnorm)
{
    for (int j = 0; j < k; j++) {
        const float *cj = c + (size_t)j * dim;
        float s = 0;
        for (int q = 0; q < dim; q++) s += cj[q] * cj[q];
        cnorm[j] = s;
    }
}

int lt_kmeans__minibatch_run(const lt_kmeans__minibatch *mb, float *centers, double *weights,
                             lt_err *err)
{
    const float *x = mb->x; /* (n, dim) */
    size_t n = mb->n, batch = mb->batch ? mb->batch : 1;
    int dim = mb->dim, kp = mb->kp;
    int nth = mb->threads > 0 ? mb->threads : omp_get_max_threads();
    size_t kd = (size_t)kp * dim;
    size_t bmax = batch < n ? batch : n;
    /* Carved from one block: per-thread sums and counts, norms, per-thread gemm scratch,
     * labels and distances of one batch, and the init's scratch (its first rows). */
    size_t init_rows = bmax > (size_t)kp ? bmax : (size_t)kp;
    size_t dbl = (size_t)nth * (kd + kp + 1);
    size_t flt = kp + (size_t)nth * LT_KMEANS_BLOCK * kp + bmax + init_rows;
    char *mem = malloc(dbl * sizeof(double) + flt * sizeof(float) + bmax * sizeof(int));
    if (!mem)
        return lt_err_set(err, LT_ENOMEM, "kmeans: out of memory for %d centers of %d features",
                          kp, dim);
    double *psum = (double *)mem;                /* (nth, kp, dim) */
    double *pcnt = psum + (size_t)nth * kd;      /* (nth, kp) */
    double *pssd = pcnt + (size_t)nth * kp;      /* (nth) */
    float *cnorm = (float *)(pssd + nth);        /* (kp) */
    float *dots = cnorm + kp;                    /* (nth, BLOCK, kp) */
    float *d2 = dots + (size_t)nth * LT_KMEANS_BLOCK * kp; /* (bmax) */
    float *scratch = d2 + bmax;                  /* (init_rows) */
    int *label = (int *)(scratch + init_rows);   /* (bmax) */

    /* Step 1: the initial centers come from the first mini-batch (at least kp rows). */
    lt_kmeans__init(x, init_rows, dim, kp, mb->plusplus, mb->seed, nth, centers, scratch);
    for (int j = 0; j < kp; j++) weights[j] = 0;
    /* 2^(-1/h) per point observed. */
    double decay_per_row = mb->half_life > 0 ? exp2(-1.0 / mb->half_life) : 1.0;

    for (int e = 0; e < mb->epochs; e++) {
        double ssd = 0;
        for (size_t r0 = 0; r0 < n; r0 += batch) {
            size_t m = n - r0 < batch ? n - r0 : batch;
            const float *xb = x + r0 * dim; /* (m, dim) */
            norms(centers, kp, dim, cnorm);
            size_t nblk = (m + LT_KMEANS_BLOCK - 1) / LT_KMEANS_BLOCK;
#pragma omp parallel num_threads(nth)
            {
                int t = omp_get_thread_num();
                double *s = psum + (size_t)t * kd, *cn = pcnt + (size_t)t * kp, local = 0;
                memset(s, 0, kd * sizeof(double));
                memset(cn, 0, (size_t)kp * sizeof(double));
                float *dt = dots + (size_t)t * LT_KMEANS_BLOCK * kp;
#pragma omp for schedule(static)
                for (size_t b = 0; b < nblk; b++) {
                    size_t i0 = b * LT_KMEANS_BLOCK;
                    size_t mm = m - i0 < LT_KMEANS_BLOCK ? m - i0 : LT_KMEANS_BLOCK;
                    lt_kmeans__assign_block(xb + i0 * dim, mm, dim, centers, cnorm, kp, dt,
                                            label + i0, d2 + i0);
                    for (size_t i = i0; i < i0 + mm; i++) {
                        int l = label[i];
                        cn[l] += 1;
                        double *sl = s + (size_t)l * dim;
                        const float *xi = xb + i * dim;
                        for (int q = 0; q < dim; q++) sl[q] += xi[q];
                        local += d2[i];
                    }
                }
                pssd[t] = local;
            }
            for (int t = 1; t < nth; t++) {
                for (size_t q = 0; q < kd; q++) psum[q] += psum[(size_t)t * kd + q];
                for (int j = 0; j < kp; j++) pcnt[j] += pcnt[(size_t)t * kp + j];
            }
            for (int t = 0; t < nth; t++) ssd += pssd[t];
            double decay = decay_per_row < 1.0 ? pow(decay_per_row, (double)m) : 1.0;
            for (int j = 0; j < kp; j++) {
                double w = weights[j] * decay, cnt = pcnt[j];
                if (cnt > 0) {
                    float *cj = centers + (size_t)j * dim;
                    const double *sj = psum + (size_t)j * dim;
                    double inv = 1.0 / (w + cnt);
                    for (int q = 0; q < dim; q++) cj[q] = (float)((w * cj[q] + sj[q]) * inv);
                }
                weights[j] = w + cnt;
            }
        }
        if (mb->on_epoch) mb->on_epoch(mb->ctx, e, ssd / (double)n);
    }
    free(mem);
    return 0;
}

/* ---- the local Lloyd reduction ---------------------------------------------------------- */

/* Nearest of c (k, dim) for each of the n points: label (n), squared distance d2 (n). The
 * points are few (k' = k * extra_center_factor), so the sgemm kernel runs single-threaded. */
static void assign(const float *x, size_t n, int dim, const float *c, int k, float *cnorm,
                   float *dots, int *label, float *d2)
{
    norms(c, k, dim, cnorm);
    for (size_t i0 = 0; i0 < n; i0 += LT_KMEANS_BLOCK) {
        size_t m = n - i0 < LT_KMEANS_BLOCK ? n - i0 : LT_KMEANS_BLOCK;
        lt_kmeans__assign_block(x + i0 * dim, m, dim, c, cnorm, k, dots, label + i0, d2 + i0);
    }
}

/* An index drawn with probability proportional to p (n); total = sum of p > 0. */
static size_t draw(const double *p, size_t n, double total, uint64_t *rng)
{
    double u = lt_algo__rng_unit(rng) * total, acc = 0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0) continue;
        acc += p[i];
        last = i;
        if (u < acc) return i;
    }
    return last;
}

/* Weighted k-means++ (each point counts w times): the first center drawn by weight, each
 * next by w * D^2. Random: k distinct points drawn by weight. */
static void reduce_init(const lt_kmeans__reduce *r, uint64_t *rng, float *c, double *p, float *mind)
{
    size_t n = r->n;
    int dim = r->dim, k = r->k;
    double total = 0;
    for (size_t i = 0; i < n; i++) total += (p[i] = r->w[i]);
    if (total <= 0) /* no weight anywhere: every point counts the same */
        for (size_t i = 0; i < n; i++) total += (p[i] = 1);
    size_t first = draw(p, n, total, rng);
    memcpy(c, r->x + first * dim, sizeof(float) * dim);
    for (size_t i = 0; i < n; i++) {
        const float *xi = r->x + i * dim;
        float d = 0;
        for (int q = 0; q < dim; q++) d += (xi[q] - c[q]) * (xi[q] - c[q]);
        mind[i] = d;
    }
    p[first] = 0;
    for (int j = 1; j < k; j++) {
        double tot = 0;
        if (r->plusplus) {
            for (size_t i = 0; i < n; i++) tot += (p[i] = (r->w[i] > 0 ? r->w[i] : 0) * mind[i]);
        } else {
            for (size_t i = 0; i < n; i++) tot += p[i];
        }
        size_t pick;
        if (tot > 0) {
            pick = draw(p, n, tot, rng);
        } else { /* every weighted point is already a center: take the farthest other */
            pick = 0;
            for (size_t i = 1; i < n; i++)
                if (mind[i] > mind[pick]) pick = i;
        }
        float *cj = c + (size_t)j * dim;
        memcpy(cj, r->x + pick * dim, sizeof(float) * dim);
        if (!r->plusplus) p[pick] = 0;
        for (size_t i = 0; i < n; i++) {
            const float *xi = r->x + i * dim;
            float d = 0;
            for (int q = 0; q < dim; q++) d += (xi[q] - cj[q]) * (xi[q] - cj[q]);
            if (d < mind[i]) mind[i] = d;
        }
    }
}

int lt_kmeans__reduce_run(const lt_kmeans__reduce *r, float *centers, double *wssd_out,
                          lt_err *err)
{
    size_t n = r->n;
    int dim = r->dim, k = r->k;
    size_t kd = (size_t)k * dim;
    size_t flt = 2 * kd + k + (size_t)LT_KMEANS_BLOCK * k + 2 * n;
    char *mem = malloc(flt * sizeof(float) + (kd + k + n) * sizeof(double) + n * sizeof(int));
    if (!mem)
        return lt_err_set(err, LT_ENOMEM, "kmeans: out of memory reducing %zu centers to %d", n, k);
    double *sum = (double *)mem;      /* (k, dim) */
    double *wsum = sum + kd;          /* (k) */
    double *p = wsum + k;             /* (n) */
    float *c = (float *)(p + n);      /* (k, dim): this trial */
    float *best = c + kd;             /* (k, dim) */
    float *cnorm = best + kd;         /* (k) */
    float *dots = cnorm + k;          /* (BLOCK, k) */
    float *d2 = dots + (size_t)LT_KMEANS_BLOCK * k; /* (n) */
    float *mind = d2 + n;             /* (n) */
    int *label = (int *)(mind + n);   /* (n) */
    double total_w = 0;
    for (size_t i = 0; i < n; i++) total_w += r->w[i];
    uint64_t rng = r->seed * 0x9E3779B97F4A7C15ULL + 0x5851F42D4C957F2DULL;
    double best_ssd = INFINITY;
    for (int t = 0; t < r->trials; t++) {
        reduce_init(r, &rng, c, p, mind);
        double prev = INFINITY, ssd = 0;
        for (int it = 0; it <= r->max_iter; it++) {
            assign(r->x, n, dim, c, k, cnorm, dots, label, d2);
            ssd = 0;
            for (size_t i = 0; i < n; i++) ssd += r->w[i] * d2[i];
            /* SageMaker's local_lloyd_tol: the tolerance for the change in ssd. */
            if (it == r->max_iter || (isfinite(prev) && prev - ssd <= r->tol * prev)) break;
            prev = ssd;
            memset(sum, 0, (kd + k) * sizeof(double));
            for (size_t i = 0; i < n; i++) {
                int l = label[i];
                double wi = r->w[i];
                wsum[l] += wi;
                const float *xi = r->x + i * dim;
                for (int q = 0; q < dim; q++) sum[(size_t)l * dim + q] += wi * xi[q];
            }
            for (int j = 0; j < k; j++) {
                float *cj = c + (size_t)j * dim;
                if (wsum[j] > 0) {
                    for (int q = 0; q < dim; q++) cj[q] = (float)(sum[(size_t)j * dim + q] / wsum[j]);
                } else {
                    /* An empty cluster moves to the point that costs most (w * d^2), whose
                     * cost then drops to zero so a second empty one goes elsewhere. */
                    size_t far = 0;
                    double fc = -1;
                    for (size_t i = 0; i < n; i++) {
                        double ci = r->w[i] * d2[i];
                        if (ci > fc) fc = ci, far = i;
                    }
                    memcpy(cj, r->x + far * dim, sizeof(float) * dim);
                    d2[far] = 0;
                }
            }
        }
        if (r->on_trial) r->on_trial(r->ctx, t, total_w > 0 ? ssd / total_w : 0);
        if (ssd < best_ssd) {
            best_ssd = ssd;
            memcpy(best, c, kd * sizeof(float));
        }
    }
    memcpy(centers, best, kd * sizeof(float));
    if (wssd_out) *wssd_out = best_ssd;
    free(mem);
    return 0;
}
