/* Gaussian-process regression (Rasmussen and Williams, GPML 2006, algorithm 2.1) with the
 * Matern 5/2 kernel and one length scale per input (automatic relevance determination):
 *   k(a, b) = sf2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r),  r^2 = sum_c ((a_c - b_c) / l_c)^2
 * Hyperparameters theta = (log l, log sf2, log sn2) are fitted by minimising the negative
 * log marginal likelihood (GPML eq. 5.8, gradient eq. 5.9) plus weak log-normal priors that
 * keep the fit sane with few points. Noise variance = 1e-6 + exp(log sn2): the floor keeps K
 * well conditioned and lets a noisy objective be explained as noise, not as wiggles.
 * Matrices are row-major with the lower triangle filled; LAPACK sees the same memory as the
 * column-major upper triangle (K is symmetric, and U = L^T), which spares LAPACKE's
 * row-major transposing copies. Cholesky with dpotrf, solves with dpotrs and cblas
 * triangular solves. */
#include "tune/tune_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SQRT5 2.23606797749978969641

/* Prior: log l ~ N(log(0.3) + 0.5 log d, 1.2^2) (longer scales in more dimensions, as
 * Hvarfner et al. 2024 argue), log sf2 ~ N(0, 1.5^2) (outputs are standardised),
 * log sn2 ~ N(-6, 3^2). */
static double prior_ls_mean(size_t d)
{
    return log(0.3) + 0.5 * log((double)d);
}
#define PRIOR_LS_SD 1.2
#define PRIOR_SF_SD 1.5
#define PRIOR_SN_MEAN (-6.0)
#define PRIOR_SN_SD 3.0

void lt_tune__gp_theta_default(double *theta, size_t d)
{
    for (size_t c = 0; c < d; c++) theta[c] = prior_ls_mean(d);
    theta[d] = 0.0;
    theta[d + 1] = log(1e-3);
}

void lt_tune__gp_init(lt_tune__gp *gp, size_t d)
{
    memset(gp, 0, sizeof *gp);
    gp->d = d;
    /* Our matrices are finite by construction: skip LAPACKE's O(n^2) NaN scans. */
    LAPACKE_set_nancheck(0);
    gp->theta = lt_xcalloc(d + 2, sizeof(double));
    lt_tune__gp_theta_default(gp->theta, d);
}

void lt_tune__gp_free(lt_tune__gp *gp)
{
    free(gp->theta);
    free(gp->chol);
    free(gp->alpha);
    free(gp->work);
    free(gp->cache);
    memset(gp, 0, sizeof *gp);
}

static void reserve(lt_tune__gp *gp, size_t n)
{
    if (n <= gp->cap_n) return;
    gp->cap_n = n + n / 2 + 8;
    free(gp->chol);
    free(gp->alpha);
    free(gp->work);
    free(gp->cache);
    gp->cache = lt_xmalloc(gp->cap_n * gp->cap_n * sizeof(double));
    gp->chol = lt_xmalloc(gp->cap_n * gp->cap_n * sizeof(double));
    gp->work = lt_xmalloc(gp->cap_n * gp->cap_n * sizeof(double));
    gp->alpha = lt_xmalloc(gp->cap_n * sizeof(double));
}

double lt_tune__matern52(const double *a, const double *b, size_t d, const double *inv_ls,
                         double sf2)
{
    double r2 = 0;
    for (size_t c = 0; c < d; c++) {
        double t = (a[c] - b[c]) * inv_ls[c];
        r2 += t * t;
    }
    double r = sqrt(r2);
    return sf2 * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * exp(-SQRT5 * r);
}

/* K + (sn2 + jitter) I into k (n, n), lower triangle and diagonal. */
static void build_k(const double *x, size_t n, size_t d, const double *theta, double jitter,
                    double *k)
{
    double inv_ls[d + 1];
    for (size_t c = 0; c < d; c++) inv_ls[c] = exp(-theta[c]);
    double sf2 = exp(theta[d]), sn2 = LT_TUNE__NOISE_FLOOR + exp(theta[d + 1]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            k[i * n + j] = lt_tune__matern52(x + i * d, x + j * d, d, inv_ls, sf2);
        k[i * n + i] = sf2 + sn2 + jitter;
    }
}

/* Factorises K(theta) into chol; retries with growing jitter. 0 or -1. */
static int factor(const double *x, size_t n, size_t d, const double *theta, double *chol)
{
    double jitter = 0;
    for (int attempt = 0; attempt < 6; attempt++) {
        build_k(x, n, d, theta, jitter, chol);
        if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, chol, (lapack_int)n) == 0)
            return 0;
        jitter = jitter ? jitter * 100 : 1e-9 * exp(theta[d]);
    }
    return -1;
}

int lt_tune__gp_condition(lt_tune__gp *gp, double *x, double *y, size_t n, lt_err *err)
{
    reserve(gp, n);
    gp->x = x;
    gp->y = y;
    gp->n = n;
    if (factor(x, n, gp->d, gp->theta, gp->chol) != 0)
        return lt_err_set(err, LT_EINTERNAL, "the GP covariance is not positive definite");
    memcpy(gp->alpha, y, n * sizeof(double));
    LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, gp->chol, (lapack_int)n, gp->alpha,
                   (lapack_int)n);
    return 0;
}

double lt_tune__gp_nlml(lt_tune__gp *gp, const double *theta, double *grad, bool with_prior)
{
    size_t n = gp->n, d = gp->d;
    double *chol = gp->chol, *alpha = gp->alpha, *w = gp->work, *cache = gp->cache;
    double inv_ls[d + 1];
    for (size_t c = 0; c < d; c++) inv_ls[c] = exp(-theta[c]);
    double sf2 = exp(theta[d]), sn2 = LT_TUNE__NOISE_FLOOR + exp(theta[d + 1]);
    /* One exp per pair: the kernel goes below the diagonal of cache, the factor its
     * length-scale derivatives share, sf2 5/3 (1 + sqrt5 r) exp(-sqrt5 r), above it. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            double r2 = 0;
            for (size_t c = 0; c < d; c++) {
                double t = (gp->x[i * d + c] - gp->x[j * d + c]) * inv_ls[c];
                r2 += t * t;
            }
            double r = sqrt(r2), e = exp(-SQRT5 * r);
            cache[i * n + j] = sf2 * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e;
            cache[j * n + i] = sf2 * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e;
        }
    double jitter = 0;
    int attempt = 0;
    for (; attempt < 6; attempt++) {
        for (size_t i = 0; i < n; i++) {
            memcpy(chol + i * n, cache + i * n, i * sizeof(double));
            chol[i * n + i] = sf2 + sn2 + jitter;
        }
        if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, chol, (lapack_int)n) == 0) break;
        jitter = jitter ? jitter * 100 : 1e-9 * sf2;
    }
    if (attempt == 6) return INFINITY;
    memcpy(alpha, gp->y, n * sizeof(double));
    LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, chol, (lapack_int)n, alpha,
                   (lapack_int)n);
    double nlml = 0.5 * (double)n * log(2 * M_PI);
    for (size_t i = 0; i < n; i++) nlml += 0.5 * gp->y[i] * alpha[i] + log(chol[i * n + i]);
    double lsm = prior_ls_mean(d);
    if (with_prior) {
        for (size_t c = 0; c < d; c++)
            nlml += 0.5 * (theta[c] - lsm) * (theta[c] - lsm) / (PRIOR_LS_SD * PRIOR_LS_SD);
        nlml += 0.5 * theta[d] * theta[d] / (PRIOR_SF_SD * PRIOR_SF_SD);
        nlml += 0.5 * (theta[d + 1] - PRIOR_SN_MEAN) * (theta[d + 1] - PRIOR_SN_MEAN) /
                (PRIOR_SN_SD * PRIOR_SN_SD);
    }
    if (!grad) return nlml;
    /* dNLML/dtheta = 1/2 tr(W dK/dtheta), W = K^-1 - alpha alpha^T (lower triangle). */
    memcpy(w, chol, n * n * sizeof(double));
    if (LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)n, w, (lapack_int)n) != 0)
        return INFINITY;
    memset(grad, 0, (d + 2) * sizeof(double));
    double trace = 0;
    for (size_t i = 0; i < n; i++) {
        const double *xi = gp->x + i * d;
        for (size_t j = 0; j < i; j++) {
            const double *xj = gp->x + j * d;
            double wij = w[i * n + j] - alpha[i] * alpha[j];
            /* dk/dlog l_c = sf2 5/3 (1 + sqrt5 r) exp(-sqrt5 r) ((a_c - b_c) / l_c)^2 */
            double g = wij * cache[j * n + i];
            for (size_t c = 0; c < d; c++) {
                double t = (xi[c] - xj[c]) * inv_ls[c];
                grad[c] += g * t * t; /* both (i, j) and (j, i): the 1/2 cancels */
            }
            grad[d] += wij * cache[i * n + j];
        }
        double wii = w[i * n + i] - alpha[i] * alpha[i];
        grad[d] += 0.5 * wii * sf2;
        trace += wii;
    }
    grad[d + 1] = 0.5 * trace * exp(theta[d + 1]);
    if (with_prior) {
        for (size_t c = 0; c < d; c++) grad[c] += (theta[c] - lsm) / (PRIOR_LS_SD * PRIOR_LS_SD);
        grad[d] += theta[d] / (PRIOR_SF_SD * PRIOR_SF_SD);
        grad[d + 1] += (theta[d + 1] - PRIOR_SN_MEAN) / (PRIOR_SN_SD * PRIOR_SN_SD);
    }
    return nlml;
}

static double nlml_objective(void *ctx, const double *theta, double *grad)
{
    return lt_tune__gp_nlml(ctx, theta, grad, true);
}

int lt_tune__gp_fit(lt_tune__gp *gp, double *x, double *y, size_t n, int n_random,
                    int max_iter, lt_tune__rng *rng, lt_err *err)
{
    size_t d = gp->d, p = d + 2;
    reserve(gp, n);
    gp->x = x;
    gp->y = y;
    gp->n = n;
    double lo[p], hi[p], start[p], best[p];
    for (size_t c = 0; c < d; c++) {
        lo[c] = log(1e-2);
        hi[c] = log(1e2);
    }
    lo[d] = log(1e-2);
    hi[d] = log(1e2);
    lo[d + 1] = log(1e-9);
    hi[d + 1] = log(2.0);
    double best_f = INFINITY;
    memcpy(best, gp->theta, sizeof best);
    /* Starts: the current theta (warm), the default, then draws from the prior; with
     * n_random < 0, the warm start alone. */
    int n_starts = n_random < 0 ? 1 : 2 + n_random;
    for (int k = 0; k < n_starts; k++) {
        if (k == 0) memcpy(start, gp->theta, sizeof start);
        else if (k == 1) lt_tune__gp_theta_default(start, d);
        else {
            lt_tune__gp_theta_default(start, d);
            for (size_t c = 0; c < d; c++) start[c] += PRIOR_LS_SD * lt_tune__rng_normal(rng);
            start[d] += 0.5 * lt_tune__rng_normal(rng);
            start[d + 1] = log(1e-4) + 2.0 * lt_tune__rng_normal(rng);
        }
        double f = lt_tune__lbfgs(nlml_objective, gp, start, p, lo, hi, max_iter);
        if (f < best_f) {
            best_f = f;
            memcpy(best, start, sizeof best);
        }
    }
    memcpy(gp->theta, best, sizeof best);
    return lt_tune__gp_condition(gp, x, y, n, err);
}

void lt_tune__gp_predict(const lt_tune__gp *gp, const double *xs, size_t m, double *mean,
                         double *var, double *work)
{
    size_t n = gp->n, d = gp->d;
    double inv_ls[d + 1];
    for (size_t c = 0; c < d; c++) inv_ls[c] = exp(-gp->theta[c]);
    double sf2 = exp(gp->theta[d]);
    double *ks = work; /* (m, n) */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            ks[i * n + j] = lt_tune__matern52(xs + i * d, gp->x + j * d, d, inv_ls, sf2);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)n, 1.0, ks, (int)n, gp->alpha, 1, 0.0,
                mean, 1);
    if (!var) return;
    /* V = Ks L^-T, so var = sf2 - rowsum(V^2). */
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)m, (int)n,
                1.0, gp->chol, (int)n, ks, (int)n);
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        for (size_t j = 0; j < n; j++) s += ks[i * n + j] * ks[i * n + j];
        var[i] = fmax(sf2 - s, 1e-12 * sf2);
    }
}

void lt_tune__gp_predict_grad(const lt_tune__gp *gp, const double *x, double *mean, double *var,
                              double *dmean, double *dvar, double *work)
{
    size_t n = gp->n, d = gp->d;
    double inv_ls[d + 1];
    for (size_t c = 0; c < d; c++) inv_ls[c] = exp(-gp->theta[c]);
    double sf2 = exp(gp->theta[d]);
    double *k = work, *v = work + n, *g = work + 2 * n;
    for (size_t j = 0; j < n; j++) {
        const double *xj = gp->x + j * d;
        double r2 = 0;
        for (size_t c = 0; c < d; c++) {
            double t = (x[c] - xj[c]) * inv_ls[c];
            r2 += t * t;
        }
        double r = sqrt(r2), e = exp(-SQRT5 * r);
        k[j] = sf2 * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e;
        g[j] = sf2 * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e; /* dk/dx_c = -g (x_c - xj_c) / l_c^2 */
    }
    *mean = cblas_ddot((int)n, k, 1, gp->alpha, 1);
    memcpy(v, k, n * sizeof(double));
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, gp->chol, (int)n, v,
                1);
    double s = cblas_ddot((int)n, v, 1, v, 1);
    *var = fmax(sf2 - s, 1e-12 * sf2);
    /* beta = K^-1 k = L^-T v, reusing k's slot; d var = -2 beta . dk. */
    double *beta = k;
    memcpy(beta, v, n * sizeof(double));
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)n, gp->chol, (int)n, beta,
                1);
    for (size_t c = 0; c < d; c++) {
        dmean[c] = 0;
        dvar[c] = 0;
    }
    for (size_t j = 0; j < n; j++) {
        const double *xj = gp->x + j * d;
        for (size_t c = 0; c < d; c++) {
            double dk = -g[j] * (x[c] - xj[c]) * inv_ls[c] * inv_ls[c];
            dmean[c] += gp->alpha[j] * dk;
            dvar[c] += -2.0 * beta[j] * dk;
        }
    }
}
