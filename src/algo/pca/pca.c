/* SageMaker's PCA (built-in algorithm "pca"): principal components of the training rows.
 *
 * regular: the covariance matrix (dim, dim) accumulated block by block with cblas_ssyrk
 * (float within a block of at most 2048 rows, double across blocks), then its top
 * num_components eigenpairs with LAPACKE_dsyevr.
 * randomized: Halko, Martinsson & Tropp, "Finding structure with randomness" (2011),
 * algorithms 4.4 (randomized subspace iteration) and 5.1 (direct SVD) on
 * num_components + extra_components Gaussian columns, q power iterations, then the SVD of
 * the small B = Q^T.A. Each iteration is one pass over the data (W := orth(A^T.A.W)) and
 * B comes from the last pass without storing the n x l sketch: see randomized_svd.
 * The iteration count follows scikit-learn's randomized_svd: 7 when num_components is
 * under a tenth of min(rows, dim), else 4. extra_components -1 is SageMaker's documented
 * default, max(10, num_components).
 *
 * A is the data minus the column means (subtract_mean true, the default) or the data
 * itself; it is never materialised: each block of rows is centred (and CSR rows
 * densified) in a per-thread scratch as it is used. Explained variance follows
 * scikit-learn: eigenvalues of A^T.A / (n - 1), singular values sqrt(eigenvalue (n - 1));
 * with subtract_mean false the divisor is n. Each axis's sign makes its largest-magnitude
 * entry positive. Inference projects (x - mean) onto the axes, largest first. */
#include "algo/pca/pca.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_choices[] = {"regular", "randomized", NULL};
static const lt_hp_spec pca_hps[] = {
    {"feature_dim", LT_HP_INT, NULL, 1, INT_MAX, NULL, false},
    {"num_components", LT_HP_INT, NULL, 1, INT_MAX, NULL, false},
    {"mini_batch_size", LT_HP_INT, NULL, 1, INT_MAX, NULL, false},
    {"algorithm_mode", LT_HP_CATEGORICAL, "regular", 0, 0, mode_choices, false},
    {"subtract_mean", LT_HP_BOOL, "true", 0, 0, NULL, false},
    {"extra_components", LT_HP_INT, "-1", -1, INT_MAX, NULL, false},
    {"threads", LT_HP_INT, "0", 0, 1024, NULL, false},
    {"seed", LT_HP_INT, "0", 0, INT_MAX, NULL, false},
    {NULL, 0, NULL, 0, 0, NULL, false},
};

/* How the training rows are visited: blocks of `block` rows, centred into scratch. */
typedef struct pca_data {
    const lt_matrix *x;
    size_t n, block, nblk;
    int dim, nth;
    const float *mean; /* (dim), or NULL: use the rows as they are */
    float *scratch;    /* (nth, block, dim) */
} pca_data;

static size_t rows_per_block(int dim)
{
    size_t b = ((size_t)1 << 21) / (size_t)dim;
    return b < 64 ? 64 : b > 2048 ? 2048 : b;
}

/* Rows [r0, r0 + m) minus the mean, dense, in thread t's scratch (or x itself). */
static const float *centered_block(const pca_data *p, int t, size_t r0, size_t m)
{
    float *restrict s = p->scratch + (size_t)t * p->block * p->dim;
    const float *restrict mean = p->mean;
    size_t d = (size_t)p->dim;
    if (p->x->kind != LT_MATRIX_DENSE) {
        lt_algo__dense_rows(p->x, r0, m, s);
        if (mean)
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < d; j++)
                    s[i * d + j] -= mean[j];
        return s;
    }
    const float *restrict b = p->x->values + r0 * d;
    if (!mean) return b;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d; j++)
            s[i * d + j] = b[i * d + j] - mean[j];
    return s;
}

/* Column sums and sums of squares in double; LT_EINVAL on the first non-finite value. */
static int column_moments(const lt_matrix *x, int nth, double *sum /* (dim) */,
                          double *sumsq /* (dim) */, lt_err *err)
{
    size_t n = x->n_rows, d = x->n_cols;
    double *part = lt_xcalloc((size_t)nth * 2 * d, sizeof(double)); /* (nth, 2, d) */
    size_t bad = SIZE_MAX;
#pragma omp parallel num_threads(nth) reduction(min : bad)
    {
        double *s = part + (size_t)omp_get_thread_num() * 2 * d, *s2 = s + d;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            if (x->kind == LT_MATRIX_DENSE) {
                const float *r = x->values + i * d;
                for (size_t j = 0; j < d; j++) {
                    if (!isfinite(r[j]) && i < bad) bad = i;
                    s[j] += r[j];
                    s2[j] += (double)r[j] * r[j];
                }
            } else {
                for (size_t p = x->row_ptr[i]; p < x->row_ptr[i + 1]; p++) {
                    float v = x->values[p];
                    if (!isfinite(v) && i < bad) bad = i;
                    if (x->col_idx[p] >= d) continue;
                    s[x->col_idx[p]] += v;
                    s2[x->col_idx[p]] += (double)v * v;
                }
            }
        }
    }
    memset(sum, 0, d * sizeof(double));
    memset(sumsq, 0, d * sizeof(double));
    for (int t = 0; t < nth; t++)
        for (size_t j = 0; j < d; j++) {
            sum[j] += part[(size_t)t * 2 * d + j];
            sumsq[j] += part[(size_t)t * 2 * d + d + j];
        }
    free(part);
    if (bad != SIZE_MAX)
        return lt_err_set(err, LT_EINVAL, "pca: train row %zu has a missing or non-finite value",
                          bad + 1);
    return 0;
}

/* cov (dim, dim) = A^T.A, full (both triangles). */
static int gram(const pca_data *p, double *cov, lt_err *err)
{
    size_t dd = (size_t)p->dim * p->dim;
    double *acc = calloc((size_t)p->nth * dd, sizeof(double)); /* (nth, dim, dim) */
    float *g = malloc((size_t)p->nth * dd * sizeof(float));    /* (nth, dim, dim) */
    if (!acc || !g) {
        free(acc), free(g);
        return lt_err_set(err, LT_ENOMEM, "pca: out of memory for a %d x %d covariance", p->dim,
                          p->dim);
    }
    int d = p->dim;
    /* Static schedule: each thread's blocks are fixed, so the sum depends only on nth. */
#pragma omp parallel num_threads(p->nth)
    {
        int t = omp_get_thread_num();
        double *a = acc + (size_t)t * dd;
        float *gt = g + (size_t)t * dd;
#pragma omp for schedule(static)
        for (size_t b = 0; b < p->nblk; b++) {
            size_t r0 = b * p->block, m = p->n - r0 < p->block ? p->n - r0 : p->block;
            const float *blk = centered_block(p, t, r0, m);
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)m, 1.0f, blk, d, 0.0f, gt,
                        d);
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++)
                    a[(size_t)i * d + j] += gt[(size_t)i * d + j];
        }
    }
    memcpy(cov, acc, dd * sizeof(double));
    for (int t = 1; t < p->nth; t++)
        for (size_t q = 0; q < dd; q++)
            cov[q] += acc[(size_t)t * dd + q];
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++)
            cov[(size_t)i * d + j] = cov[(size_t)j * d + i];
    free(acc), free(g);
    return 0;
}

/* The randomized path keeps its matrices column-major, as LAPACK wants them; a row-major
 * block (m, dim) is a column-major (dim, m). */

/* z (dim, l) = A^T.A.w, w (dim, l), in one pass over the rows: each block is centred once
 * and used twice while it is in cache (y_b = A_b.w, then A_b^T.y_b), so the n x l sketch
 * A.w is never stored. Float within a block, double across blocks, in a fixed block order
 * per thread, so the sum depends only on the thread count. */
static void gram_times(const pca_data *p, const float *w, int l, double *z, double *acc,
                       float *ybuf /* (nth, block, l) */, float *tmp /* (nth, dim, l) */)
{
    size_t dl = (size_t)p->dim * l;
    memset(acc, 0, (size_t)p->nth * dl * sizeof(double));
#pragma omp parallel num_threads(p->nth)
    {
        int t = omp_get_thread_num();
        double *a = acc + (size_t)t * dl;
        float *tt = tmp + (size_t)t * dl, *y = ybuf + (size_t)t * p->block * l;
#pragma omp for schedule(static)
        for (size_t b = 0; b < p->nblk; b++) {
            size_t r0 = b * p->block, m = p->n - r0 < p->block ? p->n - r0 : p->block;
            const float *blk = centered_block(p, t, r0, m);
            cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)m, l, p->dim, 1.0f, blk,
                        p->dim, w, p->dim, 0.0f, y, (int)m);
            cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, p->dim, l, (int)m, 1.0f, blk,
                        p->dim, y, (int)m, 0.0f, tt, p->dim);
            for (size_t i = 0; i < dl; i++)
                a[i] += tt[i];
        }
    }
    memcpy(z, acc, dl * sizeof(double));
    for (int t = 1; t < p->nth; t++)
        for (size_t i = 0; i < dl; i++)
            z[i] += acc[(size_t)t * dl + i];
}

/* Replaces a (rows, l), column-major, by an orthonormal basis of its columns. */
static int householder_qr(double *a, size_t rows, int l, double *tau, lt_err *err)
{
    lapack_int r = (lapack_int)rows;
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, r, l, a, r, tau);
    if (!info) info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, r, l, l, a, r, tau);
    return info ? lt_err_set(err, LT_EINTERNAL, "pca: QR factorisation failed (info %d)", (int)info)
                : 0;
}

static double rng_unit(uint64_t *s)
{
    return ((double)(lt_algo__rng_next(s) >> 11) + 0.5) * 0x1.0p-53; /* (0, 1): Box-Muller logs it */
}

/* Eigenvalues of the sketch's Gram matrix below this share of the largest carry no
 * direction that float sums can resolve. */
#define SKETCH_RANK_TOL 1e-10

/* The final step of Halko et al.'s algorithm 5.1 without the n x l sketch. With Y = A.W,
 * Q = orth(Y) and B = Q^T.A: Y^T.Y = W^T.A^T.A.W = W^T.Z, so with W^T.Z = V.L.V^T,
 * Q = Y.V.L^-1/2 and B^T = A^T.Q = Z.V.L^-1/2 (dim, r), whose SVD gives B's singular values
 * and right singular vectors. Writes the top nc into m. Returns 1 when Y has rank below
 * nc (the data has fewer directions than asked for), 0 when done. */
static int project_and_svd(const double *z, const float *w, size_t d, int l, int nc,
                           lt_algo_model *m, lt_err *err)
{
    double *g = malloc((size_t)l * l * sizeof(double));   /* (l, l) */
    double *ev = malloc((size_t)l * sizeof(double));
    double *v = malloc((size_t)l * l * sizeof(double));   /* (l, l) */
    double *bt = malloc(d * l * sizeof(double));          /* (dim, r) */
    double *u = malloc(d * l * sizeof(double));           /* (dim, r) */
    double *s = malloc((size_t)l * sizeof(double));
    double *vt = malloc((size_t)l * l * sizeof(double));
    lapack_int *isuppz = malloc(2 * (size_t)l * sizeof(lapack_int));
    int rc = 0;
    if (!g || !ev || !v || !bt || !u || !s || !vt || !isuppz) {
        rc = lt_err_set(err, LT_ENOMEM, "pca: out of memory for the projected data");
        goto done;
    }
    for (int i = 0; i < l; i++) /* g = W^T.Z, made exactly symmetric */
        for (int j = 0; j <= i; j++) {
            double a = 0, b = 0;
            for (size_t q = 0; q < d; q++) {
                a += (double)w[(size_t)i * d + q] * z[(size_t)j * d + q];
                b += (double)w[(size_t)j * d + q] * z[(size_t)i * d + q];
            }
            g[(size_t)i * l + j] = g[(size_t)j * l + i] = (a + b) / 2;
        }
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'A', 'U', l, g, l, 0, 0, 0, 0, 0.0,
                                     &found, ev, v, l, isuppz);
    if (info || found != l) {
        rc = lt_err_set(err, LT_EINTERNAL, "pca: eigendecomposition of the sketch failed (info %d)",
                        (int)info);
        goto done;
    }
    int r = 0; /* dsyevr's eigenvalues ascend: keep the top r */
    while (r < l && ev[l - 1 - r] > ev[l - 1] * SKETCH_RANK_TOL) r++;
    if (r < nc || ev[l - 1] <= 0) {
        rc = 1;
        goto done;
    }
    for (int k = 0; k < r; k++) { /* column k of B^T: Z.v / sqrt(lambda), largest first */
        const double *vk = v + (size_t)(l - 1 - k) * l;
        double scale = 1 / sqrt(ev[l - 1 - k]);
        for (size_t q = 0; q < d; q++) {
            double acc = 0;
            for (int j = 0; j < l; j++)
                acc += z[(size_t)j * d + q] * vk[j];
            bt[(size_t)k * d + q] = acc * scale;
        }
    }
    info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)d, r, bt, (lapack_int)d, s, u,
                          (lapack_int)d, vt, r);
    if (info) {
        rc = lt_err_set(err, LT_EINTERNAL, "pca: SVD of the projected data failed (info %d)",
                        (int)info);
        goto done;
    }
    for (int j = 0; j < nc; j++) {
        for (size_t q = 0; q < d; q++)
            m->components[(size_t)j * d + q] = (float)u[(size_t)j * d + q];
        m->singular_values[j] = s[j];
    }
done:
    free(g), free(ev), free(v), free(bt), free(u), free(s), free(vt), free(isuppz);
    return rc;
}

/* Writes the top nc right singular vectors of A into m (components, singular values).
 * Randomized subspace iteration (Halko et al., algorithm 4.4) run on the row space: W
 * starts Gaussian (dim, l) and each iteration is W := orth(A^T.A.W), one pass over the
 * data, with the small QR on the dim x l side. After q iterations A.W spans
 * (A.A^T)^q.A.Omega, the range algorithm 4.4 and scikit-learn's randomized_svd find with
 * 2q + 2 passes; here it takes q + 1. Returns 1 as project_and_svd does. */
static int randomized_svd(const pca_data *p, int nc, int l, int power_iters, uint64_t seed,
                          lt_algo_model *m, lt_err *err)
{
    size_t d = (size_t)p->dim;
    double *z = malloc(d * l * sizeof(double));                    /* (dim, l) */
    double *acc = malloc((size_t)p->nth * d * l * sizeof(double)); /* (nth, dim, l) */
    float *tmp = malloc((size_t)p->nth * d * l * sizeof(float));   /* (nth, dim, l) */
    float *ybuf = malloc((size_t)p->nth * p->block * l * sizeof(float));
    float *w = malloc(d * l * sizeof(float)); /* (dim, l) */
    double *tau = malloc((size_t)l * sizeof(double));
    int rc = 0;
    if (!z || !acc || !tmp || !ybuf || !w || !tau) {
        rc = lt_err_set(err, LT_ENOMEM,
                        "pca: out of memory for a randomized SVD of %zu x %zu, %d columns", p->n,
                        d, l);
        goto done;
    }
    uint64_t st = seed * 0x2545F4914F6CDD1DULL + 7;
    for (size_t i = 0; i < d * l; i += 2) { /* Box-Muller, two normals per draw */
        double r = sqrt(-2 * log(rng_unit(&st))), a = 2 * M_PI * rng_unit(&st);
        w[i] = (float)(r * cos(a));
        if (i + 1 < d * l) w[i + 1] = (float)(r * sin(a));
    }
    for (int it = 0; it < power_iters; it++) {
        gram_times(p, w, l, z, acc, ybuf, tmp);
        if ((rc = householder_qr(z, d, l, tau, err))) goto done;
        for (size_t i = 0; i < d * l; i++)
            w[i] = (float)z[i];
    }
    gram_times(p, w, l, z, acc, ybuf, tmp);
    rc = project_and_svd(z, w, d, l, nc, m, err);
done:
    free(z), free(acc), free(tmp), free(ybuf), free(w), free(tau);
    return rc;
}

/* Top nc eigenpairs of the covariance; returns its trace in *total. */
static int regular_eig(const pca_data *p, int nc, double denom, lt_algo_model *m, double *total,
                       lt_err *err)
{
    int d = p->dim;
    double *cov = malloc((size_t)d * d * sizeof(double)); /* (dim, dim) */
    double *w = malloc((size_t)d * sizeof(double));
    double *z = malloc((size_t)d * nc * sizeof(double)); /* (dim, nc) */
    lapack_int *isuppz = malloc(2 * (size_t)nc * sizeof(lapack_int));
    int rc = 0;
    if (!cov || !w || !z || !isuppz) {
        rc = lt_err_set(err, LT_ENOMEM, "pca: out of memory for a %d x %d covariance", d, d);
        goto done;
    }
    if ((rc = gram(p, cov, err))) goto done;
    double tr = 0;
    for (int i = 0; i < d; i++)
        tr += cov[(size_t)i * d + i];
    *total = tr / denom;
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', d, cov, d, 0, 0, d - nc + 1,
                                     d, 0.0, &found, w, z, nc, isuppz);
    if (info || found != nc) {
        rc = lt_err_set(err, LT_EINTERNAL, "pca: eigendecomposition failed (info %d)", (int)info);
        goto done;
    }
    for (int j = 0; j < nc; j++) { /* dsyevr gives ascending eigenvalues */
        int src = nc - 1 - j;
        for (int q = 0; q < d; q++)
            m->components[(size_t)j * d + q] = (float)z[(size_t)q * nc + src];
        m->singular_values[j] = sqrt(fmax(w[src], 0)); /* eigenvalue of A^T.A */
    }
done:
    free(cov), free(w), free(z), free(isuppz);
    return rc;
}

static void fix_signs(lt_algo_model *m)
{
    for (int j = 0; j < m->nc; j++) {
        float *v = m->components + (size_t)j * m->dim;
        int big = 0;
        for (int q = 1; q < m->dim; q++)
            if (fabsf(v[q]) > fabsf(v[big])) big = q;
        if (v[big] < 0)
            for (int q = 0; q < m->dim; q++)
                v[q] = -v[q];
    }
}

static int pca_train(const lt_algo_train_args *args, lt_algo_model **out, lt_err *err)
{
    const json_t *hp = args->hyperparameters;
    int rc = lt_algo_hp_check(pca_hps, hp, err);
    if (rc) return rc;
    int dim = (int)lt_algo_hp_number(pca_hps, hp, "feature_dim");
    int nc = (int)lt_algo_hp_number(pca_hps, hp, "num_components");
    int extra = (int)lt_algo_hp_number(pca_hps, hp, "extra_components");
    int hp_threads = (int)lt_algo_hp_number(pca_hps, hp, "threads");
    bool randomized = strcmp(lt_algo_hp_string(pca_hps, hp, "algorithm_mode"), "randomized") == 0;
    bool center = lt_algo_hp_number(pca_hps, hp, "subtract_mean") != 0;
    uint64_t seed = (uint64_t)lt_algo_hp_number(pca_hps, hp, "seed");
    const lt_matrix *x = &args->train->x;
    size_t n = x->n_rows;
    if (x->n_cols != (size_t)dim)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter feature_dim=%d does not match the train data's %zu "
                          "columns",
                          dim, x->n_cols);
    if (nc > dim)
        return lt_err_set(err, LT_EINVAL, "hyperparameter num_components=%d exceeds feature_dim=%d",
                          nc, dim);
    if ((size_t)nc > n || n < 2)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter num_components=%d needs at least that many training "
                          "rows (and two), got %zu",
                          nc, n);
    int nth = hp_threads > 0      ? hp_threads
              : args->threads > 0 ? args->threads
                                  : omp_get_max_threads();

    double *sum = lt_xmalloc((size_t)dim * sizeof(double)),
           *sumsq = lt_xmalloc((size_t)dim * sizeof(double));
    if ((rc = column_moments(x, nth, sum, sumsq, err))) {
        free(sum), free(sumsq);
        return rc;
    }
    lt_algo_model *m = lt_pca__model_new(dim, nc);
    m->subtract_mean = center;
    m->randomized = randomized;
    double denom = center ? (double)(n - 1) : (double)n, total = 0;
    for (int j = 0; j < dim; j++) {
        double mu = sum[j] / (double)n;
        if (center) m->mean[j] = (float)mu;
        total += center ? (sumsq[j] - (double)n * mu * mu) / denom : sumsq[j] / denom;
    }
    free(sum), free(sumsq);

    pca_data p = {.x = x,
                  .n = n,
                  .dim = dim,
                  .nth = nth,
                  .block = rows_per_block(dim),
                  .mean = center ? m->mean : NULL};
    p.nblk = (n + p.block - 1) / p.block;
    p.scratch = malloc((size_t)nth * p.block * dim * sizeof(float));
    if (!p.scratch) {
        lt_pca__model_free(m);
        return lt_err_set(err, LT_ENOMEM, "pca: out of memory for row blocks");
    }
    if (randomized) {
        int over = extra >= 0 ? extra : (nc > 10 ? nc : 10);
        size_t lim = n < (size_t)dim ? n : (size_t)dim;
        int l = (size_t)nc + over > lim ? (int)lim : nc + over;
        int iters = (double)nc < 0.1 * (double)lim ? 7 : 4;
        rc = randomized_svd(&p, nc, l, iters, seed, m, err);
        /* Data of lower rank than num_components: the sketch cannot name the missing
         * axes, and the covariance's eigenvectors can. */
        if (rc == 1) rc = regular_eig(&p, nc, denom, m, &total, err);
    } else {
        rc = regular_eig(&p, nc, denom, m, &total, err);
    }
    free(p.scratch);
    if (rc) {
        lt_pca__model_free(m);
        return rc;
    }
    double ratio_sum = 0;
    for (int j = 0; j < nc; j++) {
        double ev = m->singular_values[j] * m->singular_values[j] / denom;
        m->explained_variance[j] = ev;
        m->explained_variance_ratio[j] = total > 0 ? ev / total : 0;
        ratio_sum += m->explained_variance_ratio[j];
    }
    fix_signs(m);
    lt_pca__model_derive(m);
    if (args->on_metric)
        args->on_metric(args->metric_ctx, "train:explained_variance_ratio", ratio_sum, -1);
    *out = m;
    return 0;
}

static size_t pca_output_width(const lt_algo_model *m)
{
    return (size_t)m->nc;
}

/* (x - mean).components^T = x.components^T - mean_proj: dense rows go through sgemm a
 * block at a time; CSR rows touch only their nonzeros' rows of components_t. */
static int pca_predict(const lt_algo_model *m, const lt_matrix *x, int threads, double *out,
                       lt_err *err)
{
    /* libsvm rows may end before the last column: trailing absent columns are zeros */
    if (x->kind == LT_MATRIX_DENSE ? x->n_cols != (size_t)m->dim : x->n_cols > (size_t)m->dim)
        return lt_err_set(err, LT_EINVAL, "pca: input has %zu columns, the model expects %d",
                          x->n_cols, m->dim);
    int nth = threads > 0 ? threads : omp_get_max_threads();
    int d = m->dim, nc = m->nc;
    size_t n = x->n_rows, block = 256, nblk = (n + block - 1) / block;
    float *tmp = malloc((size_t)nth * block * nc * sizeof(float)); /* (nth, block, nc) */
    if (!tmp) return lt_err_set(err, LT_ENOMEM, "pca: out of memory for predictions");
#pragma omp parallel for num_threads(nth) schedule(static)
    for (size_t b = 0; b < nblk; b++) {
        size_t r0 = b * block, rows = n - r0 < block ? n - r0 : block;
        float *t = tmp + (size_t)omp_get_thread_num() * block * nc;
        if (x->kind == LT_MATRIX_DENSE) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, nc, d, 1.0f,
                        x->values + r0 * d, d, m->components, d, 0.0f, t, nc);
        } else {
            memset(t, 0, rows * nc * sizeof(float));
            for (size_t i = 0; i < rows; i++)
                for (size_t p = x->row_ptr[r0 + i]; p < x->row_ptr[r0 + i + 1]; p++) {
                    if (x->col_idx[p] >= (uint32_t)d) continue;
                    const float *c = m->components_t + (size_t)x->col_idx[p] * nc;
                    for (int j = 0; j < nc; j++)
                        t[i * nc + j] += x->values[p] * c[j];
                }
        }
        for (size_t i = 0; i < rows; i++)
            for (int j = 0; j < nc; j++)
                out[(r0 + i) * nc + j] = (double)t[i * nc + j] - m->mean_proj[j];
    }
    free(tmp);
    for (size_t i = 0; i < n * nc; i++)
        if (!isfinite(out[i]))
            return lt_err_set(err, LT_EINVAL,
                              "pca: input row %zu has a missing or non-finite "
                              "value",
                              i / nc + 1);
    return 0;
}

static const char *const pca_images[] = {"PCA", NULL};
static const char *const pca_content_types[] = {"text/csv", "text/libsvm", "application/jsonlines",
                                                "application/x-recordio-protobuf", NULL};
static const char *const pca_metrics[] = {"train:explained_variance_ratio", NULL};

const lt_algo lt_algo__pca = {
    .name = "pca",
    .image_names = pca_images,
    .hyperparameters = pca_hps,
    .content_types = pca_content_types,
    .metrics = pca_metrics,
    .train = pca_train,
    .save = lt_pca__save,
    .load = lt_pca__load,
    .output_width = pca_output_width,
    .predict = pca_predict,
    .format_json = lt_pca__format_json,
    .free = lt_pca__model_free,
    .json_list_key = "projections",
};
