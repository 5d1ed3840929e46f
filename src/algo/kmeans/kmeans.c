/* SageMaker's K-Means (built-in algorithm "kmeans"): the lt_algo glue — hyperparameters,
 * training (SageMaker's web-scale k-means, kmeans_webscale.c), model file, prediction — and
 * the shared kernels: the sgemm distance block, greedy k-means++, and the full-batch Lloyd
 * that k-NN's IVF coarse quantiser uses.
 *
 * Decisions where SageMaker documents no number: extra_center_factor "auto" is 10 (what
 * SageMaker's container logs: "'extra_center_factor' was set to 'auto', evaluated to 10"),
 * local_lloyd_num_trials "auto" is 10 (its log shows ten "local kmeans attempt" lines), and
 * k' = k * extra_center_factor is capped at the number of training rows. The final
 * train:msd is measured on the training data with the k final centers (one more pass);
 * SageMaker prints the reduction's weighted figure there. seed is Lathe's own. */
#include "algo/algo_internal.h"
#include "algo/kmeans/kmeans.h"

#include <cblas.h>
#include <float.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <omp.h>

struct lt_algo_model {
    int k, dim;
    float *centers; /* (k, dim) */
};

static const char *const init_choices[] = {"kmeans++", "random", NULL};
static const char *const metric_choices[] = {"[\"msd\"]", "[\"ssd\"]", "[\"msd\",\"ssd\"]",
                                             "[\"ssd\",\"msd\"]", "[\"msd\", \"ssd\"]",
                                             "[\"ssd\", \"msd\"]", "msd", "ssd", NULL};
/* SageMaker's k-means hyperparameters ("K-Means Hyperparameters", AWS developer guide), and
 * force_dense, which the SageMaker Python SDK always sends. */
static const lt_hp_spec kmeans_hps[] = {
    {"feature_dim", LT_HP_INT, NULL, 1, INT_MAX, NULL, false},
    {"k", LT_HP_INT, NULL, 2, INT_MAX, NULL, false},
    {"init_method", LT_HP_CATEGORICAL, "random", 0, 0, init_choices, true},
    {"mini_batch_size", LT_HP_INT, "5000", 1, INT_MAX, NULL, true},
    {"epochs", LT_HP_INT, "1", 1, INT_MAX, NULL, true},
    {"extra_center_factor", LT_HP_INT_OR_AUTO, "auto", 1, INT_MAX, NULL, true},
    {"local_lloyd_max_iter", LT_HP_INT, "300", 1, INT_MAX, NULL, false},
    {"local_lloyd_tol", LT_HP_FLOAT, "0.0001", 0, 1, NULL, false},
    {"local_lloyd_init_method", LT_HP_CATEGORICAL, "kmeans++", 0, 0, init_choices, false},
    {"local_lloyd_num_trials", LT_HP_INT_OR_AUTO, "auto", 1, INT_MAX, NULL, false},
    {"half_life_time_size", LT_HP_INT, "0", 0, INT_MAX, NULL, false},
    {"eval_metrics", LT_HP_CATEGORICAL, "[\"msd\"]", 0, 0, metric_choices, false},
    {"force_dense", LT_HP_BOOL, "true", 0, 0, NULL, false},
    {"seed", LT_HP_INT, "0", 0, INT_MAX, NULL, false},
    {NULL, 0, NULL, 0, 0, NULL, false},
};

enum { AUTO_EXTRA_CENTER_FACTOR = 10, AUTO_LOCAL_TRIALS = 10 };

static float sqdist(const float *a, const float *b, int dim)
{
    float d = 0;
    for (int j = 0; j < dim; j++) {
        float t = a[j] - b[j];
        d += t * t;
    }
    return d;
}

/* The scalar twin of assign_block: nearest center by direct squared distance. */
void lt_kmeans__assign_scalar(const float *x, size_t n, int dim, const float *c, int k,
                              int *label, float *d2)
{
    for (size_t i = 0; i < n; i++) {
        float best = FLT_MAX;
        int bi = 0;
        for (int j = 0; j < k; j++) {
            float d = sqdist(x + i * dim, c + (size_t)j * dim, dim);
            if (d < best) best = d, bi = j;
        }
        label[i] = bi;
        d2[i] = best;
    }
}

#define BLOCK LT_KMEANS_BLOCK
/* Nearest center for rows x (n <= BLOCK, dim) via ||x||^2 - 2 x.c + ||c||^2; dots is
 * scratch (BLOCK, k), cnorm (k). */
void lt_kmeans__assign_block(const float *x, size_t n, int dim, const float *c, const float *cnorm,
                             int k, float *dots, int *label, float *d2)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, k, dim, 1.0f, x, dim, c, dim,
                0.0f, dots, k);
    for (size_t i = 0; i < n; i++) {
        float xn = 0;
        for (int j = 0; j < dim; j++) xn += x[i * dim + j] * x[i * dim + j];
        float best = FLT_MAX;
        int bi = 0;
        for (int j = 0; j < k; j++) {
            float d = cnorm[j] - 2.0f * dots[i * k + j];
            if (d < best) best = d, bi = j;
        }
        label[i] = bi;
        d2[i] = fmaxf(best + xn, 0.0f); /* cancellation may dip below zero */
    }
}

static void center_norms(const float *c, int k, int dim, float *cnorm)
{
    for (int j = 0; j < k; j++)
        cnorm[j] = cblas_sdot(dim, c + (size_t)j * dim, 1, c + (size_t)j * dim, 1);
}

/* Assigns every row in parallel; returns the sum of squared distances. */
static double assign_all(const float *x, size_t n, int dim, const float *c, const float *cnorm,
                         int k, float *dots_all, int nth, int *label, float *d2)
{
    double ssd = 0;
    size_t nblk = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for num_threads(nth) schedule(static) reduction(+ : ssd)
    for (size_t b = 0; b < nblk; b++) {
        size_t r0 = b * BLOCK, m = n - r0 < BLOCK ? n - r0 : BLOCK;
        float *dots = dots_all + (size_t)omp_get_thread_num() * BLOCK * k; /* (BLOCK, k) */
        lt_kmeans__assign_block(x + r0 * dim, m, dim, c, cnorm, k, dots, label + r0, d2 + r0);
        for (size_t i = 0; i < m; i++) ssd += d2[r0 + i];
    }
    return ssd;
}

/* Greedy k-means++ (Arthur & Vassilvitskii 2007, with the greedy trials sklearn uses): each
 * next center is the best, by the potential it leaves, of 2 + ln(k) candidates drawn with
 * probability proportional to the squared distance to the nearest chosen center. One draw
 * per center (plain k-means++) lands two centers in one cluster often enough to matter. */
void lt_kmeans__init(const float *x, size_t n, int dim, int k, bool plusplus, uint64_t seed,
                     int nth, float *c, float *mind /* (n) */)
{
    uint64_t s = seed * 0x2545F4914F6CDD1DULL + 1;
    size_t first = (size_t)(lt_algo__rng_unit(&s) * (double)n);
    memcpy(c, x + first * dim, sizeof(float) * dim);
    if (!plusplus) {
        for (int j = 1; j < k; j++) {
            size_t r = (size_t)(lt_algo__rng_unit(&s) * (double)n);
            memcpy(c + (size_t)j * dim, x + r * dim, sizeof(float) * dim);
        }
        return;
    }
    enum { MAX_TRIALS = 16 };
    int trials = 2 + (int)log((double)k);
    if (trials > MAX_TRIALS) trials = MAX_TRIALS;
    float *dist = lt_xmalloc((size_t)trials * n * sizeof(float)); /* (n, trials) */
    float *xnorm = lt_xmalloc((n + 1) * sizeof(float));
    double *cum = lt_xmalloc((n + 1) * sizeof(double));
    double *partial = lt_xcalloc((size_t)nth * MAX_TRIALS, sizeof(double));
#pragma omp parallel for schedule(static) num_threads(nth)
    for (size_t i = 0; i < n; i++) xnorm[i] = cblas_sdot(dim, x + i * dim, 1, x + i * dim, 1);
#pragma omp parallel for schedule(static) num_threads(nth)
    for (size_t i = 0; i < n; i++) mind[i] = sqdist(x + i * dim, c, dim);
    for (int j = 1; j < k; j++) {
        /* Draws by binary search in the running sum of the distances: one pass per center
         * however many trials. */
        double acc = 0;
        for (size_t i = 0; i < n; i++) cum[i] = (acc += mind[i]);
        size_t picks[MAX_TRIALS];
        for (int t = 0; t < trials; t++) {
            double u = lt_algo__rng_unit(&s) * acc;
            size_t lo = 0, hi = n - 1;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cum[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            picks[t] = lo;
        }
        /* Distances to all candidates with one sgemm, ||x||^2 - 2 x.c + ||c||^2, as sklearn
         * does: the greedy trials then cost about one Lloyd iteration per center. */
        float cand[MAX_TRIALS * 1024];
        float *cbuf = dim <= 1024 ? cand : lt_xmalloc((size_t)trials * dim * sizeof(float));
        float cnorm[MAX_TRIALS];
        for (int t = 0; t < trials; t++) {
            memcpy(cbuf + (size_t)t * dim, x + picks[t] * dim, sizeof(float) * dim);
            cnorm[t] = cblas_sdot(dim, cbuf + (size_t)t * dim, 1, cbuf + (size_t)t * dim, 1);
        }
        /* dist is (n, trials) row-major here. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, trials, dim, -2.0f, x, dim,
                    cbuf, dim, 0.0f, dist, trials);
        if (cbuf != cand) free(cbuf);
        /* Per-thread partial potentials summed in thread order: the pick does not depend on
         * which thread finished first. */
        double potential[MAX_TRIALS] = {0};
#pragma omp parallel num_threads(nth)
        {
            double *local = partial + (size_t)omp_get_thread_num() * MAX_TRIALS;
            for (int t = 0; t < trials; t++) local[t] = 0;
#pragma omp for schedule(static)
            for (size_t i = 0; i < n; i++) {
                float *di = dist + i * (size_t)trials;
                for (int t = 0; t < trials; t++) {
                    float d = di[t] + xnorm[i] + cnorm[t];
                    d = d > 0 ? d : 0; /* cancellation may dip below zero */
                    di[t] = d;
                    local[t] += d < mind[i] ? d : mind[i];
                }
            }
        }
        for (int th = 0; th < nth; th++)
            for (int t = 0; t < trials; t++) potential[t] += partial[(size_t)th * MAX_TRIALS + t];
        int best = 0;
        for (int t = 1; t < trials; t++)
            if (potential[t] < potential[best]) best = t;
        memcpy(c + (size_t)j * dim, x + picks[best] * dim, sizeof(float) * dim);
#pragma omp parallel for schedule(static) num_threads(nth)
        for (size_t i = 0; i < n; i++) {
            float d = dist[i * (size_t)trials + (size_t)best];
            if (d < mind[i]) mind[i] = d;
        }
    }
    free(partial);
    free(cum);
    free(xnorm);
    free(dist);
}

static int dense_view(const lt_dataset *ds, int dim, const char *what, lt_err *err)
{
    if (ds->x.kind != LT_MATRIX_DENSE)
        return lt_err_set(err, LT_EINVAL, "kmeans: %s data must be dense (densify CSR first)", what);
    if (ds->x.n_cols != (size_t)dim)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter feature_dim=%d does not match the %s data's %zu columns",
                          dim, what, ds->x.n_cols);
    return 0;
}

int lt_kmeans__lloyd(const lt_kmeans__fit *f, float *centers, int *iterations, double *ssd_out,
                     lt_err *err)
{
    const float *x = f->x; /* (n, dim) */
    size_t n = f->n;
    int dim = f->dim, k = f->k;
    int nth = f->threads > 0 ? f->threads : omp_get_max_threads();
    /* One allocation, carved: new centers, norms, per-thread sums and counts, per-thread
     * gemm scratch, labels and distances. */
    size_t kd = (size_t)k * dim;
    size_t floats = kd + k + (size_t)nth * BLOCK * k + n;
    size_t doubles = (size_t)nth * (kd + k);
    char *mem = malloc(doubles * sizeof(double) + floats * sizeof(float) + n * sizeof(int));
    if (!mem) return lt_err_set(err, LT_ENOMEM, "kmeans: out of memory for k=%d, %zu rows", k, n);
    double *psum = (double *)mem;                    /* (nth, k, dim) */
    double *pcnt = psum + (size_t)nth * kd;          /* (nth, k) */
    float *c = centers;                              /* (k, dim) */
    float *cnew = (float *)(pcnt + (size_t)nth * k); /* (k, dim) */
    float *cnorm = cnew + kd;                        /* (k) */
    float *dots = cnorm + k;                         /* (nth, BLOCK, k) */
    float *d2 = dots + (size_t)nth * BLOCK * k;      /* (n) */
    int *label = (int *)(d2 + n);                    /* (n) */

    lt_kmeans__init(x, n, dim, k, f->plusplus, f->seed, nth, c, d2);
    double ssd = 0;
    int it;
    for (it = 0; it < f->max_iter; it++) {
        center_norms(c, k, dim, cnorm);
        ssd = assign_all(x, n, dim, c, cnorm, k, dots, nth, label, d2);
        if (f->on_iter) f->on_iter(f->ctx, it, ssd);
        memset(psum, 0, (size_t)nth * (kd + k) * sizeof(double));
        /* Each thread sums a fixed static chunk into its own slab, then slabs are added in
         * thread order: no atomics, and the result depends only on nth. */
#pragma omp parallel num_threads(nth)
        {
            int t = omp_get_thread_num();
            double *s = psum + (size_t)t * kd, *cn = pcnt + (size_t)t * k;
#pragma omp for schedule(static)
            for (size_t i = 0; i < n; i++) {
                int l = label[i];
                cn[l] += 1;
                for (int j = 0; j < dim; j++) s[(size_t)l * dim + j] += x[i * dim + j];
            }
        }
        for (int t = 1; t < nth; t++) {
            for (size_t q = 0; q < kd; q++) psum[q] += psum[(size_t)t * kd + q];
            for (int j = 0; j < k; j++) pcnt[j] += pcnt[(size_t)t * k + j];
        }
        double shift = 0;
        for (int j = 0; j < k; j++) {
            float *cj = cnew + (size_t)j * dim;
            if (pcnt[j] > 0) {
                for (int q = 0; q < dim; q++) cj[q] = (float)(psum[(size_t)j * dim + q] / pcnt[j]);
            } else {
                /* Empty cluster: re-seed it at the point farthest from its center, and
                 * zero that point's distance so two empties do not take the same point. */
                size_t far = 0;
                for (size_t i = 1; i < n; i++)
                    if (d2[i] > d2[far]) far = i;
                memcpy(cj, x + far * dim, sizeof(float) * dim);
                d2[far] = 0;
            }
            shift += sqdist(cj, c + (size_t)j * dim, dim);
        }
        memcpy(c, cnew, kd * sizeof(float));
        if (sqrt(shift) < f->tol) { it++; break; }
    }
    center_norms(c, k, dim, cnorm);
    ssd = assign_all(x, n, dim, c, cnorm, k, dots, nth, label, d2);
    free(mem);
    if (iterations) *iterations = it;
    if (ssd_out) *ssd_out = ssd;
    return 0;
}

double lt_kmeans__ssd(const float *x, size_t n, int dim, const float *c, int k, int threads)
{
    int nth = threads > 0 ? threads : omp_get_max_threads();
    float *cnorm = lt_xmalloc(((size_t)k + (size_t)nth * BLOCK * k + n) * sizeof(float));
    int *label = lt_xmalloc((n + 1) * sizeof(int));
    float *dots = cnorm + k, *d2 = dots + (size_t)nth * BLOCK * k;
    center_norms(c, k, dim, cnorm);
    double ssd = assign_all(x, n, dim, c, cnorm, k, dots, nth, label, d2);
    free(cnorm);
    free(label);
    return ssd;
}

typedef struct progress_ctx {
    const lt_algo_train_args *args;
    bool msd, ssd;
    double n;
} progress_ctx;

static void log_line(const lt_algo_train_args *args, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_line(const lt_algo_train_args *args, const char *fmt, ...)
{
    if (!args->on_log) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    args->on_log(args->metric_ctx, line);
}

/* One #progress_metric line per epoch: the msd of the epoch's points to the centers they
 * were assigned to as they streamed past. */
static void report_epoch(void *ctx, int epoch, double msd)
{
    progress_ctx *p = ctx;
    if (!p->args->on_metric) return;
    if (p->msd) p->args->on_metric(p->args->metric_ctx, "train:msd", msd, epoch);
    if (p->ssd) p->args->on_metric(p->args->metric_ctx, "train:ssd", msd * p->n, epoch);
}

static void report_trial(void *ctx, int trial, double wmsd)
{
    progress_ctx *p = ctx;
    log_line(p->args, "local kmeans attempt #%d. Current mean square distance %.6f", trial, wmsd);
}

/* A dataset's msd and ssd with the final centers, as SageMaker names them: the metric
 * lines (which the metric regexes and tuning read) and, for the test channel, its
 * "#test_score (algo-1) : ('msd', 0.25)" lines. */
static void report_final(const lt_algo_train_args *args, const progress_ctx *p, const char *phase,
                         double ssd, double n)
{
    char name[32];
    if (p->msd) {
        if (!strcmp(phase, "test")) log_line(args, "#test_score (algo-1) : ('msd', %.17g)", ssd / n);
        snprintf(name, sizeof name, "%s:msd", phase);
        if (args->on_metric) args->on_metric(args->metric_ctx, name, ssd / n, -1);
    }
    if (p->ssd) {
        if (!strcmp(phase, "test")) log_line(args, "#test_score (algo-1) : ('ssd', %.17g)", ssd);
        snprintf(name, sizeof name, "%s:ssd", phase);
        if (args->on_metric) args->on_metric(args->metric_ctx, name, ssd, -1);
    }
}

/* "auto" (NaN from lt_algo_hp_number) or the number. */
static int int_or_auto(const json_t *hp, const char *name, int when_auto)
{
    double v = lt_algo_hp_number(kmeans_hps, hp, name);
    return isnan(v) ? when_auto : (int)v;
}

static int check_finite(const lt_dataset *ds, int dim, const char *what, lt_err *err)
{
    const float *x = ds->x.values;
    size_t n = ds->x.n_rows;
    for (size_t i = 0; i < n * (size_t)dim; i++)
        if (!isfinite(x[i]))
            return lt_err_set(err, LT_EINVAL, "kmeans: %s row %zu has a missing or non-finite value",
                              what, i / dim + 1);
    return 0;
}

static int kmeans_train(const lt_algo_train_args *args, lt_algo_model **out, lt_err *err)
{
    const json_t *hp = args->hyperparameters;
    int rc = lt_algo_hp_check(kmeans_hps, hp, err);
    if (rc) return rc;
    int dim = (int)lt_algo_hp_number(kmeans_hps, hp, "feature_dim");
    int k = (int)lt_algo_hp_number(kmeans_hps, hp, "k");
    const char *metrics = lt_algo_hp_string(kmeans_hps, hp, "eval_metrics");
    progress_ctx pc = {.args = args,
                       .msd = strstr(metrics, "msd") != NULL,
                       .ssd = strstr(metrics, "ssd") != NULL};
    if (args->validation)
        return lt_err_set(err, LT_EINVAL, "kmeans: SageMaker's k-means takes a 'test' channel, "
                                          "not 'validation' (rename the channel)");
    if ((rc = dense_view(args->train, dim, "train", err))) return rc;
    if (args->test && (rc = dense_view(args->test, dim, "test", err))) return rc;
    const float *x = args->train->x.values; /* (n, dim) */
    size_t n = args->train->x.n_rows;
    if (n < (size_t)k)
        return lt_err_set(err, LT_EINVAL, "hyperparameter k=%d exceeds the %zu training rows", k, n);
    if ((rc = check_finite(args->train, dim, "train", err))) return rc;
    if (args->test && (rc = check_finite(args->test, dim, "test", err))) return rc;
    pc.n = (double)n;

    int factor = int_or_auto(hp, "extra_center_factor", AUTO_EXTRA_CENTER_FACTOR);
    if (isnan(lt_algo_hp_number(kmeans_hps, hp, "extra_center_factor")))
        log_line(args, "'extra_center_factor' was set to 'auto', evaluated to %d.", factor);
    /* k' is capped at the row count: a center per row is already exact. */
    double kp_want = fmin((double)k * factor, (double)n);
    /* Each thread keeps a copy of the k' centers and two generations of double sums. */
    int nth = args->threads > 0 ? args->threads : omp_get_max_threads();
    double state_bytes = kp_want * dim * (4.0 + 16.0) * nth;
    if (kp_want > 1e8 || state_bytes > (double)((size_t)16 << 30))
        return lt_err_set(err, LT_ELIMIT,
                          "kmeans: k * extra_center_factor = %.0f centers of %d features need "
                          "%.1f GiB of training state (limit 16 GiB); lower extra_center_factor",
                          kp_want, dim, state_bytes / (double)(1u << 30));
    int kp = (int)kp_want;
    uint64_t seed = (uint64_t)lt_algo_hp_number(kmeans_hps, hp, "seed");
    size_t kd = (size_t)k * dim, kpd = (size_t)kp * dim;
    float *cp = malloc(kpd * sizeof(float) + 1);
    double *wp = malloc((size_t)kp * sizeof(double) + 1);
    float *c = malloc(kd * sizeof(float) + 1);
    if (!cp || !wp || !c) {
        free(cp), free(wp), free(c);
        return lt_err_set(err, LT_ENOMEM, "kmeans: out of memory for %d centers of %d features", kp,
                          dim);
    }
    lt_kmeans__minibatch mb = {
        .x = x,
        .n = n,
        .dim = dim,
        .kp = kp,
        .batch = (size_t)lt_algo_hp_number(kmeans_hps, hp, "mini_batch_size"),
        .epochs = (int)lt_algo_hp_number(kmeans_hps, hp, "epochs"),
        .plusplus = strcmp(lt_algo_hp_string(kmeans_hps, hp, "init_method"), "kmeans++") == 0,
        .half_life = lt_algo_hp_number(kmeans_hps, hp, "half_life_time_size"),
        .seed = seed,
        .threads = args->threads,
        .on_epoch = report_epoch,
        .ctx = &pc,
    };
    rc = lt_kmeans__minibatch_run(&mb, cp, wp, err);
    if (!rc) {
        if (kp > k) log_line(args, "shrinking %d centers into %d", kp, k);
        lt_kmeans__reduce red = {
            .x = cp,
            .w = wp,
            .n = (size_t)kp,
            .dim = dim,
            .k = k,
            .plusplus =
                strcmp(lt_algo_hp_string(kmeans_hps, hp, "local_lloyd_init_method"), "kmeans++") == 0,
            .trials = int_or_auto(hp, "local_lloyd_num_trials", AUTO_LOCAL_TRIALS),
            .max_iter = (int)lt_algo_hp_number(kmeans_hps, hp, "local_lloyd_max_iter"),
            .tol = lt_algo_hp_number(kmeans_hps, hp, "local_lloyd_tol"),
            .seed = seed,
            .threads = args->threads,
            .on_trial = report_trial,
            .ctx = &pc,
        };
        rc = lt_kmeans__reduce_run(&red, c, NULL, err);
    }
    free(cp), free(wp);
    if (rc) {
        free(c);
        return rc;
    }
    /* The final figures as SageMaker prints them at the end of training (iteration -1:
     * "#quality_metric: host=algo-1, train msd <loss>=..."), which the metric regexes and
     * tuning read; then the test channel's. */
    report_final(args, &pc, "train", lt_kmeans__ssd(x, n, dim, c, k, args->threads), (double)n);
    size_t nt = args->test ? args->test->x.n_rows : 0;
    if (nt > 0)
        report_final(args, &pc, "test",
                     lt_kmeans__ssd(args->test->x.values, nt, dim, c, k, args->threads), (double)nt);
    else
        log_line(args, "Test data is not provided.");
    lt_algo_model *m = lt_xmalloc(sizeof *m);
    m->k = k;
    m->dim = dim;
    m->centers = c;
    *out = m;
    return 0;
}

static void kmeans_free(lt_algo_model *m)
{
    if (!m) return;
    free(m->centers);
    free(m);
}

static int kmeans_save(const lt_algo_model *m, const char *dir, lt_err *err)
{
    char *path = lt_xasprintf("%s/kmeans_model.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        int rc = lt_err_set(err, LT_EIO, "%s: cannot create: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    fprintf(f, "{\"algorithm\":\"kmeans\",\"feature_dim\":%d,\"k\":%d,\"centers\":[", m->dim, m->k);
    for (int j = 0; j < m->k; j++) {
        fputs(j ? ",[" : "[", f);
        for (int q = 0; q < m->dim; q++)
            fprintf(f, q ? ",%.9g" : "%.9g", (double)m->centers[(size_t)j * m->dim + q]);
        fputc(']', f);
    }
    fputs("]}\n", f);
    int bad = ferror(f) | (fclose(f) != 0);
    int rc = bad ? lt_err_set(err, LT_EIO, "%s: write failed", path) : 0;
    free(path);
    return rc;
}

static int kmeans_load(const char *dir, lt_algo_model **out, lt_err *err)
{
    char *path = lt_xasprintf("%s/kmeans_model.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    int rc = 0;
    lt_algo_model *m = NULL;
    if (!root) {
        rc = lt_err_set(err, LT_EINVAL, "%s: corrupt kmeans model: %s (line %d)", path, je.text,
                        je.line);
        goto done;
    }
    json_t *jd = json_object_get(root, "feature_dim"), *jk = json_object_get(root, "k");
    json_t *jc = json_object_get(root, "centers");
    if (!json_is_integer(jd) || !json_is_integer(jk) || !json_is_array(jc) ||
        json_integer_value(jd) < 1 || json_integer_value(jd) > INT_MAX ||
        json_integer_value(jk) < 2 || json_integer_value(jk) > INT_MAX ||
        json_array_size(jc) != (size_t)json_integer_value(jk)) {
        rc = lt_err_set(err, LT_EINVAL, "%s: corrupt kmeans model: bad feature_dim, k or centers",
                        path);
        goto done;
    }
    int dim = (int)json_integer_value(jd), k = (int)json_integer_value(jk);
    /* k rows each of dim numbers were present in the file, so k*dim is bounded by its size. */
    m = lt_xmalloc(sizeof *m);
    m->k = k;
    m->dim = dim;
    m->centers = lt_xmalloc((size_t)k * dim * sizeof(float));
    for (int j = 0; j < k; j++) {
        json_t *row = json_array_get(jc, j);
        if (!json_is_array(row) || json_array_size(row) != (size_t)dim) {
            rc = lt_err_set(err, LT_EINVAL, "%s: corrupt kmeans model: center %d is not %d numbers",
                            path, j, dim);
            goto done;
        }
        for (int q = 0; q < dim; q++) {
            json_t *v = json_array_get(row, q);
            double d = json_is_number(v) ? json_number_value(v) : NAN;
            if (!isfinite(d) || fabs(d) > FLT_MAX) {
                rc = lt_err_set(err, LT_EINVAL,
                                "%s: corrupt kmeans model: center %d value %d is not a finite number",
                                path, j, q);
                goto done;
            }
            m->centers[(size_t)j * dim + q] = (float)d;
        }
    }
done:
    if (rc) kmeans_free(m), m = NULL;
    json_decref(root);
    free(path);
    *out = m;
    return rc;
}

static size_t kmeans_output_width(const lt_algo_model *m)
{
    (void)m;
    return 2;
}

/* Exact per-row distances (direct sums, no cancellation) so predictions match the oracle;
 * a row is independent of the others, so rows split over threads freely. */
static int kmeans_predict(const lt_algo_model *m, const lt_matrix *x, int threads, double *out,
                          lt_err *err)
{
    if (x->n_cols != (size_t)m->dim)
        return lt_err_set(err, LT_EINVAL, "kmeans: input has %zu columns, the model expects %d",
                          x->n_cols, m->dim);
    int nth = threads > 0 ? threads : omp_get_max_threads();
    int dim = m->dim, k = m->k;
    const float *c = m->centers;
    if (x->kind == LT_MATRIX_DENSE) {
#pragma omp parallel for num_threads(nth) schedule(static)
        for (size_t i = 0; i < x->n_rows; i++) {
            const float *xi = x->values + i * dim;
            float best = FLT_MAX;
            int bi = 0;
            for (int j = 0; j < k; j++) {
                float d = sqdist(xi, c + (size_t)j * dim, dim);
                if (d < best) best = d, bi = j;
            }
            out[2 * i] = bi;
            out[2 * i + 1] = sqrt((double)best);
        }
        return 0;
    }
    /* CSR: absent entries are zero; ||x-c||^2 = ||c||^2 + sum over nonzeros (x^2 - 2xc). */
#pragma omp parallel for num_threads(nth) schedule(static)
    for (size_t i = 0; i < x->n_rows; i++) {
        double best = INFINITY;
        int bi = 0;
        for (int j = 0; j < k; j++) {
            const float *cj = c + (size_t)j * dim;
            double d = 0;
            for (int q = 0; q < dim; q++) d += (double)cj[q] * cj[q];
            for (size_t p = x->row_ptr[i]; p < x->row_ptr[i + 1]; p++) {
                double v = x->values[p];
                uint32_t q = x->col_idx[p];
                if (q < (uint32_t)dim) d += v * v - 2 * v * cj[q];
            }
            if (d < best) best = d, bi = j;
        }
        out[2 * i] = bi;
        out[2 * i + 1] = sqrt(fmax(best, 0));
    }
    return 0;
}

static int kmeans_format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    (void)m;
    return lt_buf_printf(out, err, "{\"closest_cluster\":%d,\"distance_to_cluster\":%.9g}",
                         (int)row[0], row[1]);
}

static const char *const kmeans_images[] = {"k-means", NULL};
static const char *const kmeans_content_types[] = {
    "text/csv", "text/libsvm", "application/jsonlines", "application/x-recordio-protobuf", NULL};
static const char *const kmeans_metrics[] = {"train:msd", "train:ssd", "test:msd", "test:ssd",
                                             NULL};

const lt_algo lt_algo__kmeans = {
    .name = "kmeans",
    .image_names = kmeans_images,
    .hyperparameters = kmeans_hps,
    .content_types = kmeans_content_types,
    .metrics = kmeans_metrics,
    .train = kmeans_train,
    .save = kmeans_save,
    .load = kmeans_load,
    .output_width = kmeans_output_width,
    .predict = kmeans_predict,
    .format_json = kmeans_format_json,
    .free = kmeans_free,
};
