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
 * The threads stay in one parallel region for the whole run: each takes a fixed contiguous
 * share of every batch's rows (assignment through the sgemm kernel, sums into its own
 * slab), then after one barrier every thread applies the same update, slabs added in
 * thread order, to its own copy of the centers. One barrier per batch, not a fork and two
 * joins: on a shared machine a barrier can cost a scheduler slice. The result depends on
 * the thread count only through float rounding. */
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

/* One thread's share of a batch: rows [i0, i1) of xb assigned to the centers c (its own
 * copy), their sums and counts written to slab (kd sums, then kp counts), the squared
 * distances added to *ssd. */
static void accumulate(const float *xb, size_t i0, size_t i1, int dim, const float *c,
                       const float *cnorm, int kp, float *dots, int *label, float *d2,
                       double *slab, double *ssd)
{
    size_t kd = (size_t)kp * dim;
    double *cn = slab + kd, local = 0;
    memset(slab, 0, (kd + kp) * sizeof(double));
    for (size_t r = i0; r < i1; r += LT_KMEANS_BLOCK) {
        size_t m = i1 - r < LT_KMEANS_BLOCK ? i1 - r : LT_KMEANS_BLOCK;
        lt_kmeans__assign_block(xb + r * dim, m, dim, c, cnorm, kp, dots, label, d2);
        for (size_t i = 0; i < m; i++) {
            int l = label[i];
            cn[l] += 1;
            double *sl = slab + (size_t)l * dim;
            const float *xi = xb + (r + i) * dim;
            for (int q = 0; q < dim; q++) sl[q] += xi[q];
            local += d2[i];
        }
    }
    *ssd += local;
}

/* The mini-batch step on one copy of the centers and weights from every thread's slab,
 * added in thread order. */
static void update(float *c, double *w, float *cnorm, int kp, int dim, const double *slabs,
                   int nth, double decay)
{
    size_t kd = (size_t)kp * dim, stride = kd + kp;
    for (int j = 0; j < kp; j++) {
        double cnt = 0;
        for (int t = 0; t < nth; t++) cnt += slabs[(size_t)t * stride + kd + j];
        double wj = w[j] * decay;
        if (cnt > 0) {
            float *cj = c + (size_t)j * dim;
            double inv = 1.0 / (wj + cnt);
            for (int q = 0; q < dim; q++) {
                double sum = 0;
                for (int t = 0; t < nth; t++) sum += slabs[(size_t)t * stride + (size_t)j * dim + q];
                cj[q] = (float)((wj * cj[q] + sum) * inv);
            }
        }
        w[j] = wj + cnt;
    }
    norms(c, kp, dim, cnorm);
}

int lt_kmeans__minibatch_run(const lt_kmeans__minibatch *mb, float *centers, double *weights,
                             lt_err *err)
{
    const float *x = mb->x; /* (n, dim) */
    size_t n = mb->n, batch = mb->batch ? mb->batch : 1;
    int dim = mb->dim, kp = mb->kp;
    int nth = mb->threads > 0 ? mb->threads : omp_get_max_threads();
    size_t kd = (size_t)kp * dim, stride = kd + kp;
    size_t init_rows = batch < n ? batch : n;
    if (init_rows < (size_t)kp) init_rows = (size_t)kp;
    float *scratch = malloc(init_rows * sizeof(float));
    /* Per thread: its own copy of the centers, weights and norms (every thread applies the
     * same update, so the copies stay equal and a batch needs one barrier, not two), gemm
     * scratch, labels and distances of one block; and two generations of slabs (sums and
     * counts), so a thread may start the next batch while another still reads this one's. */
    size_t per_thread = kd + kp + (size_t)LT_KMEANS_BLOCK * (kp + 2);
    float *fmem = malloc((size_t)nth * per_thread * sizeof(float));
    double *dmem = malloc(((size_t)nth * (2 * stride + kp + 1)) * sizeof(double));
    int *labels = malloc((size_t)nth * LT_KMEANS_BLOCK * sizeof(int));
    if (!scratch || !fmem || !dmem || !labels) {
        free(scratch), free(fmem), free(dmem), free(labels);
        return lt_err_set(err, LT_ENOMEM, "kmeans: out of memory for %d centers of %d features",
                          kp, dim);
    }
    /* Step 1: the initial centers come from the first mini-batch (at least kp rows). */
    lt_kmeans__init(x, init_rows, dim, kp, mb->plusplus, mb->seed, nth, centers, scratch);
    free(scratch);
    double *slabs = dmem;                              /* (2, nth, kd + kp) */
    double *wts = dmem + 2 * (size_t)nth * stride;     /* (nth, kp) */
    double *ssd = wts + (size_t)nth * kp;              /* (nth) */
    /* 2^(-1/h) per point observed. */
    double decay_per_row = mb->half_life > 0 ? exp2(-1.0 / mb->half_life) : 1.0;
    size_t nbatch = (n + batch - 1) / batch;

#pragma omp parallel num_threads(nth)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *c = fmem + (size_t)t * per_thread;      /* (kp, dim) */
        float *cnorm = c + kd;                         /* (kp) */
        float *dots = cnorm + kp;                      /* (BLOCK, kp) */
        float *d2 = dots + (size_t)LT_KMEANS_BLOCK * kp; /* (BLOCK) */
        int *label = labels + (size_t)t * LT_KMEANS_BLOCK;
        double *w = wts + (size_t)t * kp;
        memcpy(c, centers, kd * sizeof(float));
        for (int j = 0; j < kp; j++) w[j] = 0;
        norms(c, kp, dim, cnorm);
        for (int e = 0; e < mb->epochs; e++) {
            ssd[t] = 0;
            for (size_t b = 0; b < nbatch; b++) {
                size_t r0 = b * batch, m = n - r0 < batch ? n - r0 : batch;
                /* Whole blocks per thread, contiguous, so the split depends only on nt. */
                size_t nblk = (m + LT_KMEANS_BLOCK - 1) / LT_KMEANS_BLOCK;
                size_t i0 = (nblk * t / nt) * LT_KMEANS_BLOCK;
                size_t i1 = (nblk * (t + 1) / nt) * LT_KMEANS_BLOCK;
                if (i1 > m) i1 = m;
                if (i0 > m) i0 = m;
                double *gen = slabs + (b & 1) * (size_t)nt * stride;
                accumulate(x + r0 * dim, i0, i1, dim, c, cnorm, kp, dots, label, d2,
                           gen + (size_t)t * stride, &ssd[t]);
#pragma omp barrier
                double decay = decay_per_row < 1.0 ? pow(decay_per_row, (double)m) : 1.0;
                update(c, w, cnorm, kp, dim, gen, nt, decay);
            }
#pragma omp barrier
#pragma omp master
            {
                double total = 0;
                for (int q = 0; q < nt; q++) total += ssd[q];
                if (mb->on_epoch) mb->on_epoch(mb->ctx, e, total / (double)n);
            }
#pragma omp barrier
        }
        if (t == 0) {
            memcpy(centers, c, kd * sizeof(float));
            memcpy(weights, w, (size_t)kp * sizeof(double));
        }
    }
    free(fmem), free(dmem), free(labels);
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

/* One local Lloyd run into c (k, dim) from its own generator; returns the weighted SSD.
 * Scratch: sum (k, dim) and wsum (k) doubles, p (n) doubles, cnorm (k), dots (BLOCK, k),
 * d2 (n), mind (n) floats, label (n). */
typedef struct trial_scratch {
    double *sum, *wsum, *p;
    float *cnorm, *dots, *d2, *mind;
    int *label;
} trial_scratch;

static double run_trial(const lt_kmeans__reduce *r, uint64_t rng, float *c, trial_scratch *s)
{
    size_t n = r->n, kd = (size_t)r->k * r->dim;
    int dim = r->dim, k = r->k;
    reduce_init(r, &rng, c, s->p, s->mind);
    double prev = INFINITY, ssd = 0;
    for (int it = 0; it <= r->max_iter; it++) {
        assign(r->x, n, dim, c, k, s->cnorm, s->dots, s->label, s->d2);
        ssd = 0;
        for (size_t i = 0; i < n; i++) ssd += r->w[i] * s->d2[i];
        /* SageMaker's local_lloyd_tol: the tolerance for the change in ssd. */
        if (it == r->max_iter || (isfinite(prev) && prev - ssd <= r->tol * prev)) break;
        prev = ssd;
        memset(s->sum, 0, kd * sizeof(double));
        memset(s->wsum, 0, (size_t)k * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            int l = s->label[i];
            double wi = r->w[i];
            s->wsum[l] += wi;
            const float *xi = r->x + i * dim;
            for (int q = 0; q < dim; q++) s->sum[(size_t)l * dim + q] += wi * xi[q];
        }
        for (int j = 0; j < k; j++) {
            float *cj = c + (size_t)j * dim;
            if (s->wsum[j] > 0) {
                for (int q = 0; q < dim; q++) cj[q] = (float)(s->sum[(size_t)j * dim + q] / s->wsum[j]);
            } else {
                /* An empty cluster moves to the point that costs most (w * d^2), whose cost
                 * then drops to zero so a second empty one goes elsewhere. */
                size_t far = 0;
                double fc = -1;
                for (size_t i = 0; i < n; i++) {
                    double ci = r->w[i] * s->d2[i];
                    if (ci > fc) fc = ci, far = i;
                }
                memcpy(cj, r->x + far * dim, sizeof(float) * dim);
                s->d2[far] = 0;
            }
        }
    }
    return ssd;
}

/* The trials are independent (each from its own generator, seeded by the trial's index), so
 * they run on the threads; the lowest SSD wins, ties to the earlier trial, and the log
 * lines come out in trial order: the result does not depend on the thread count. */
int lt_kmeans__reduce_run(const lt_kmeans__reduce *r, float *centers, double *wssd_out,
                          lt_err *err)
{
    size_t n = r->n;
    int dim = r->dim, k = r->k, trials = r->trials;
    int nth = r->threads > 0 ? r->threads : omp_get_max_threads();
    if (nth > trials) nth = trials;
    size_t kd = (size_t)k * dim;
    size_t dbl = kd + k + n, flt = kd + k + (size_t)LT_KMEANS_BLOCK * k + 2 * n;
    size_t per_thread = dbl * sizeof(double) + flt * sizeof(float) + n * sizeof(int);
    per_thread = (per_thread + 63) & ~(size_t)63; /* each thread's doubles stay aligned */
    char *mem = malloc((size_t)nth * per_thread);
    float *best = malloc((size_t)nth * kd * sizeof(float)); /* (nth, k, dim) */
    double *ssd = malloc((size_t)trials * sizeof(double));
    if (!mem || !best || !ssd) {
        free(mem), free(best), free(ssd);
        return lt_err_set(err, LT_ENOMEM, "kmeans: out of memory reducing %zu centers to %d", n, k);
    }
    int *best_trial = lt_xcalloc((size_t)nth, sizeof(int));
#pragma omp parallel num_threads(nth)
    {
        int t = omp_get_thread_num();
        char *base = mem + (size_t)t * per_thread;
        trial_scratch s = {.sum = (double *)base};
        s.wsum = s.sum + kd;
        s.p = s.wsum + k;
        float *c = (float *)(s.p + n);
        s.cnorm = c + kd;
        s.dots = s.cnorm + k;
        s.d2 = s.dots + (size_t)LT_KMEANS_BLOCK * k;
        s.mind = s.d2 + n;
        s.label = (int *)(s.mind + n);
        float *mine = best + (size_t)t * kd;
        best_trial[t] = -1;
#pragma omp for schedule(static)
        for (int trial = 0; trial < trials; trial++) {
            uint64_t rng = (r->seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)trial * 0x5851F42D4C957F2DULL;
            ssd[trial] = run_trial(r, rng, c, &s);
            if (best_trial[t] < 0 || ssd[trial] < ssd[best_trial[t]]) {
                best_trial[t] = trial;
                memcpy(mine, c, kd * sizeof(float));
            }
        }
    }
    double total_w = 0;
    for (size_t i = 0; i < n; i++) total_w += r->w[i];
    if (r->on_trial)
        for (int trial = 0; trial < trials; trial++)
            r->on_trial(r->ctx, trial, total_w > 0 ? ssd[trial] / total_w : 0);
    int win = -1;
    for (int t = 0; t < nth; t++) {
        int bt = best_trial[t];
        if (bt >= 0 && (win < 0 || ssd[bt] < ssd[best_trial[win]] ||
                        (ssd[bt] == ssd[best_trial[win]] && bt < best_trial[win])))
            win = t;
    }
    memcpy(centers, best + (size_t)win * kd, kd * sizeof(float));
    if (wssd_out) *wssd_out = ssd[best_trial[win]];
    free(best_trial), free(mem), free(best), free(ssd);
    return 0;
}
