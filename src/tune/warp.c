/* Output warping before the GP: a Yeo-Johnson power transform (Yeo and Johnson 2000) with
 * lambda chosen by maximum likelihood, then standardisation, close to what HEBO does
 * (Cowen-Rivers et al. 2022). Objectives such as Rosenbrock span orders of magnitude; without it the GP
 * spends its variance on the worst points and sees the basin as flat. */
#include "tune/tune_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double yj(double y, double lambda)
{
    if (y >= 0) return fabs(lambda) < 1e-12 ? log1p(y) : (pow(y + 1, lambda) - 1) / lambda;
    return fabs(lambda - 2) < 1e-12 ? -log1p(-y) : -(pow(1 - y, 2 - lambda) - 1) / (2 - lambda);
}

static void standardise(double *y, size_t n)
{
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += y[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += (y[i] - mean) * (y[i] - mean);
    double sd = n > 1 ? sqrt(var / (double)(n - 1)) : 0;
    for (size_t i = 0; i < n; i++) y[i] = sd > 1e-300 ? (y[i] - mean) / sd : 0;
}

/* Profile log-likelihood of lambda (up to a constant). */
static double yj_loglik(const double *y, size_t n, double lambda)
{
    double mean = 0, var = 0, jac = 0;
    for (size_t i = 0; i < n; i++) mean += yj(y[i], lambda);
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double t = yj(y[i], lambda) - mean;
        var += t * t;
        jac += (y[i] >= 0 ? 1.0 : -1.0) * log1p(fabs(y[i]));
    }
    var /= (double)n;
    if (!(var > 1e-300) || !isfinite(var)) return -INFINITY;
    return -0.5 * (double)n * log(var) + (lambda - 1) * jac;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void lt_tune__warp_outputs(double *y, size_t n)
{
    if (n < 3) {
        standardise(y, n);
        return;
    }
    /* Shift to min 0 and scale by the median's distance from the minimum before the
     * transform: standardising first (as HEBO does) leaves every point but the outliers
     * crowded near -0.4, where no lambda can spread them. */
    double *sorted = lt_xmalloc(n * sizeof(double));
    memcpy(sorted, y, n * sizeof(double));
    qsort(sorted, n, sizeof(double), cmp_double);
    double lo = sorted[0], scale = sorted[n / 2] - lo;
    if (!(scale > 0)) scale = sorted[n - 1] - lo;
    free(sorted);
    if (!(scale > 0)) {
        standardise(y, n);
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = (y[i] - lo) / scale;
    /* Golden-section search for lambda in [-2, 2]. */
    double a = -2, b = 2, g = 0.61803398874989484820;
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = yj_loglik(y, n, c), fd = yj_loglik(y, n, d);
    for (int it = 0; it < 40; it++) {
        if (fc > fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = yj_loglik(y, n, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = yj_loglik(y, n, d);
        }
    }
    double lambda = 0.5 * (a + b);
    for (size_t i = 0; i < n; i++) y[i] = yj(y[i], lambda);
    standardise(y, n);
}
