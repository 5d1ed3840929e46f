/* Limited-memory BFGS (Nocedal and Wright, Numerical Optimization, algorithm 7.4: the
 * two-loop recursion) with a backtracking Armijo line search and, for box constraints,
 * projection of each trial point onto the box (a projected quasi-Newton step: simple, and
 * enough for the small smooth problems here: GP hyperparameters and the acquisition). */
#include "tune/tune_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MEM 6

static void project(double *x, size_t n, const double *lo, const double *hi)
{
    if (!lo) return;
    for (size_t i = 0; i < n; i++) x[i] = x[i] < lo[i] ? lo[i] : x[i] > hi[i] ? hi[i] : x[i];
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

double lt_tune__lbfgs(lt_tune__objective f, void *ctx, double *x, size_t n, const double *lo,
                      const double *hi, int max_iter)
{
    /* Buffers: g, gn, d, xn, then MEM pairs (s, y). */
    double *buf = lt_xcalloc((4 + 2 * MEM) * n, sizeof(double));
    double *g = buf, *gn = buf + n, *d = buf + 2 * n, *xn = buf + 3 * n;
    double *s = buf + 4 * n, *y = buf + (4 + MEM) * n;
    double rho[MEM], a[MEM];
    int head = 0, count = 0;
    project(x, n, lo, hi);
    double fx = f(ctx, x, g);
    if (!isfinite(fx)) {
        free(buf);
        return fx;
    }
    int stall = 0;
    for (int it = 0; it < max_iter; it++) {
        /* d = -H g by the two-loop recursion. */
        for (size_t i = 0; i < n; i++) d[i] = -g[i];
        for (int k = 0; k < count; k++) {
            int j = (head - 1 - k + MEM) % MEM;
            a[j] = rho[j] * dot(s + j * n, d, n);
            for (size_t i = 0; i < n; i++) d[i] -= a[j] * y[j * n + i];
        }
        if (count) {
            int j = (head - 1 + MEM) % MEM;
            double gamma = dot(s + j * n, y + j * n, n) / dot(y + j * n, y + j * n, n);
            for (size_t i = 0; i < n; i++) d[i] *= gamma;
        }
        for (int k = count - 1; k >= 0; k--) {
            int j = (head - 1 - k + MEM) % MEM;
            double b = rho[j] * dot(y + j * n, d, n);
            for (size_t i = 0; i < n; i++) d[i] += (a[j] - b) * s[j * n + i];
        }
        if (dot(d, g, n) >= 0) { /* not a descent direction: restart from steepest descent */
            for (size_t i = 0; i < n; i++) d[i] = -g[i];
            count = 0;
        }
        double step = 1.0;
        if (!count) {
            double gnorm = sqrt(dot(g, g, n));
            if (gnorm < 1e-12) break;
            step = fmin(1.0, 0.1 / gnorm * sqrt((double)n));
        }
        double fn = INFINITY;
        bool accepted = false;
        for (int ls = 0; ls < 25; ls++) {
            for (size_t i = 0; i < n; i++) xn[i] = x[i] + step * d[i];
            project(xn, n, lo, hi);
            double decrease = 0;
            for (size_t i = 0; i < n; i++) decrease += g[i] * (xn[i] - x[i]);
            if (decrease >= 0) break; /* the projection left no descent */
            fn = f(ctx, xn, gn);
            if (isfinite(fn) && fn <= fx + 1e-4 * decrease) {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if (!accepted) break;
        double *sj = s + head * n, *yj = y + head * n;
        for (size_t i = 0; i < n; i++) {
            sj[i] = xn[i] - x[i];
            yj[i] = gn[i] - g[i];
        }
        double sy = dot(sj, yj, n);
        if (sy > 1e-12) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % MEM;
            if (count < MEM) count++;
        }
        double df = fx - fn;
        memcpy(x, xn, n * sizeof(double));
        memcpy(g, gn, n * sizeof(double));
        fx = fn;
        stall = df < 1e-9 * (1.0 + fabs(fx)) ? stall + 1 : 0;
        if (stall >= 2) break;
    }
    free(buf);
    return fx;
}
