/* The Gaussian process against closed-form posteriors, its gradients against finite
 * differences, expected improvement on known values, and the acquisition optimiser on a
 * smooth function with a known maximum. */
#include "test.h"
#include "tune/tune_internal.h"

#include <math.h>

/* 1-D, points x = 0 and 1 with y = 1 and 2, length scale 1, sf2 = 1, noise 0.01.
 * Matern 5/2: k(r) = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r), so
 *   k(1)   = (1 + 2.2360680 + 1.6666667) * 0.1068779 = 0.5239941088
 *   k(0.5) = (1 + 1.1180340 + 0.4166667) * 0.3269219 = 0.8286491424
 * K = [[1.01, k1], [k1, 1.01]]. At x* = 0.5, k* = (k.5, k.5) lies along (1, 1), an
 * eigenvector of K with eigenvalue 1.01 + k1, so
 *   mean = k.5 (y1 + y2) / (1.01 + k1)     = 0.8286491424 * 3 / 1.5339941088 = 1.6205716912
 *   var  = 1 - 2 k.5^2 / (1.01 + k1)       = 1 - 1.3732...  / 1.5339941088 = 0.1047431052
 * At x* = 0, k* = (1, k1):  K^-1 = [[1.01, -k1], [-k1, 1.01]] / (1.01^2 - k1^2)
 *   mean = (1.01 y1 - k1 y2 + k1 (1.01 y2 - k1 y1)) / det ... = 1.0005095463
 *   var  = 1 - (1.01 - 2 k1^2 + 1.01 k1^2) / det ...          = 0.0098645259 */
static void gp_posterior_matches_closed_form(void)
{
    lt_tune__gp gp;
    lt_tune__gp_init(&gp, 1);
    gp.theta[0] = 0;                              /* l = 1 */
    gp.theta[1] = 0;                              /* sf2 = 1 */
    gp.theta[2] = log(0.01 - LT_TUNE__NOISE_FLOOR); /* sn2 = 0.01 */
    double x[2] = {0, 1}, y[2] = {1, 2};
    lt_err err = {0};
    LT_CHECK_INT(lt_tune__gp_condition(&gp, x, y, 2, &err), ==, 0);
    LT_CHECK_NEAR(lt_tune__matern52(&x[0], &x[1], 1, (double[]){1}, 1), 0.5239941088318203, 1e-14);
    double xs[3] = {0.5, 0.0, 0.25}, mean[3], var[3], work[6];
    lt_tune__gp_predict(&gp, xs, 3, mean, var, work);
    LT_CHECK_NEAR(mean[0], 1.6205716912090977, 1e-12);
    LT_CHECK_NEAR(var[0], 0.10474310523499342, 1e-12);
    LT_CHECK_NEAR(mean[1], 1.000509546346923, 1e-12);
    LT_CHECK_NEAR(var[1], 0.009864525939345503, 1e-12);
    LT_CHECK_NEAR(mean[2], 1.307321756780914, 1e-12);
    LT_CHECK_NEAR(var[2], 0.05961433298936969, 1e-12);
    /* The single-point path agrees with the batch path. */
    double m1, v1, dm, dv, w3[6];
    lt_tune__gp_predict_grad(&gp, &xs[2], &m1, &v1, &dm, &dv, w3);
    LT_CHECK_NEAR(m1, mean[2], 1e-12);
    LT_CHECK_NEAR(v1, var[2], 1e-12);
    lt_tune__gp_free(&gp);
}

static void fill_data(double *x, double *y, size_t n, size_t d, uint64_t seed)
{
    lt_tune__rng rng;
    lt_tune__rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t c = 0; c < d; c++) {
            x[i * d + c] = lt_tune__rng_uniform(&rng);
            s += (c + 1) * sin(3 * x[i * d + c]);
        }
        y[i] = s + 0.05 * lt_tune__rng_normal(&rng);
    }
}

static void gp_likelihood_gradient_matches_finite_differences(void)
{
    enum { N = 12, D = 3 };
    double x[N * D], y[N];
    fill_data(x, y, N, D, 7);
    lt_tune__gp gp;
    lt_tune__gp_init(&gp, D);
    lt_err err = {0};
    LT_CHECK_INT(lt_tune__gp_condition(&gp, x, y, N, &err), ==, 0);
    double theta[D + 2] = {-0.7, 0.2, -1.1, 0.3, log(0.02)}, grad[D + 2], t2[D + 2];
    for (int prior = 0; prior < 2; prior++) {
        lt_tune__gp_nlml(&gp, theta, grad, prior);
        for (size_t k = 0; k < D + 2; k++) {
            double h = 1e-5;
            memcpy(t2, theta, sizeof t2);
            t2[k] += h;
            double fp = lt_tune__gp_nlml(&gp, t2, NULL, prior);
            t2[k] -= 2 * h;
            double fm = lt_tune__gp_nlml(&gp, t2, NULL, prior);
            LT_CHECK_NEAR(grad[k], (fp - fm) / (2 * h), 1e-5 * (1 + fabs(grad[k])));
        }
    }
    lt_tune__gp_free(&gp);
}

static void gp_fit_raises_the_likelihood_and_learns_relevance(void)
{
    /* y depends on x0 only: the fitted length scale of x1 must grow well past x0's. */
    enum { N = 30, D = 2 };
    double x[N * D], y[N];
    lt_tune__rng rng;
    lt_tune__rng_seed(&rng, 3);
    for (size_t i = 0; i < N; i++) {
        x[i * D] = lt_tune__rng_uniform(&rng);
        x[i * D + 1] = lt_tune__rng_uniform(&rng);
        y[i] = sin(6 * x[i * D]);
    }
    lt_tune__gp gp;
    lt_tune__gp_init(&gp, D);
    lt_err err = {0};
    LT_CHECK_INT(lt_tune__gp_condition(&gp, x, y, N, &err), ==, 0);
    double before = lt_tune__gp_nlml(&gp, gp.theta, NULL, true);
    LT_CHECK_INT(lt_tune__gp_fit(&gp, x, y, N, 2, 60, &rng, &err), ==, 0);
    double after = lt_tune__gp_nlml(&gp, gp.theta, NULL, true);
    LT_CHECK(after < before);
    LT_CHECK(gp.theta[1] > gp.theta[0] + 1.0);
    lt_tune__gp_free(&gp);
}

static void gp_prediction_gradient_matches_finite_differences(void)
{
    enum { N = 10, D = 2 };
    double x[N * D], y[N];
    fill_data(x, y, N, D, 11);
    lt_tune__gp gp;
    lt_tune__gp_init(&gp, D);
    gp.theta[0] = log(0.4);
    gp.theta[1] = log(0.7);
    lt_err err = {0};
    LT_CHECK_INT(lt_tune__gp_condition(&gp, x, y, N, &err), ==, 0);
    double p[D] = {0.31, 0.62}, m, v, dm[D], dv[D], work[3 * N];
    lt_tune__gp_predict_grad(&gp, p, &m, &v, dm, dv, work);
    for (size_t c = 0; c < D; c++) {
        double h = 1e-6, q[D], mp, vp, mm, vm, t1[D], t2[D];
        memcpy(q, p, sizeof q);
        q[c] += h;
        lt_tune__gp_predict_grad(&gp, q, &mp, &vp, t1, t2, work);
        q[c] -= 2 * h;
        lt_tune__gp_predict_grad(&gp, q, &mm, &vm, t1, t2, work);
        LT_CHECK_NEAR(dm[c], (mp - mm) / (2 * h), 1e-6 * (1 + fabs(dm[c])));
        LT_CHECK_NEAR(dv[c], (vp - vm) / (2 * h), 1e-6 * (1 + fabs(dv[c])));
    }
    lt_tune__gp_free(&gp);
}

static void ei_matches_known_values(void)
{
    /* z = 0: EI = sd phi(0) = 0.398942280401; mean 1, sd 2, best 0: z = -1/2,
     * EI = 2 (phi(0.5) - 0.5 Phi(-0.5)) = 2 (0.352065327 - 0.5 * 0.308537539) = 0.395593115 */
    LT_CHECK_NEAR(lt_tune__ei(0, 1, 0), 0.3989422804014327, 1e-14);
    LT_CHECK_NEAR(lt_tune__ei(1, 2, 0), 0.39559311480261206, 1e-12);
    LT_CHECK_NEAR(lt_tune__ei(-3, 1, 0), 3.0003821543, 1e-9); /* z = 3: ~ best - mean */
    for (double z = -12; z <= 4; z += 0.25) {
        double e = lt_tune__ei(-z, 1, 0);
        LT_CHECK_NEAR(lt_tune__log_ei(-z, 1, 0, NULL, NULL), log(e), 1e-9 * (1 + fabs(log(e))));
    }
}

static void log_ei_stays_finite_and_smooth_far_below_the_incumbent(void)
{
    /* z = -40: EI = phi(40) / 40^2 (1 - 3/40^2 + 15/40^4 ...), which underflows as a double. */
    LT_CHECK(lt_tune__ei(40, 1, 0) == 0);
    double x = 40, q = 1 / (x * x);
    double expected = -0.5 * x * x - 0.5 * log(2 * M_PI) + log(q * (1 - 3 * q + 15 * q * q - 105 * q * q * q));
    LT_CHECK_NEAR(lt_tune__log_ei(40, 1, 0, NULL, NULL), expected, 1e-9);
    LT_CHECK(isfinite(lt_tune__log_ei(1e4, 1, 0, NULL, NULL)));
    /* Gradients against finite differences on both branches (z > -5 and z < -5). */
    static const double pts[][2] = {{0.3, 0.7}, {3.5, 0.5}, {10, 1}, {-1, 0.2}};
    for (size_t k = 0; k < 4; k++) {
        double mu = pts[k][0], sd = pts[k][1], dm, ds, h = 1e-6;
        lt_tune__log_ei(mu, sd, 0, &dm, &ds);
        double fdm = (lt_tune__log_ei(mu + h, sd, 0, NULL, NULL) -
                      lt_tune__log_ei(mu - h, sd, 0, NULL, NULL)) / (2 * h);
        double fds = (lt_tune__log_ei(mu, sd + h, 0, NULL, NULL) -
                      lt_tune__log_ei(mu, sd - h, 0, NULL, NULL)) / (2 * h);
        LT_CHECK_NEAR(dm, fdm, 1e-5 * (1 + fabs(dm)));
        LT_CHECK_NEAR(ds, fds, 1e-5 * (1 + fabs(ds)));
    }
}

/* A smooth acquisition with its maximum at x = 0.3, y = 0.71 and category 2. */
typedef struct {
    const lt_tune_space *space;
} bowl;

static double bowl_point(void *ctx, const double *f, double *grad)
{
    /* features: x, y, one-hot(3) */
    double v = -(f[0] - 0.3) * (f[0] - 0.3) - 2 * (f[1] - 0.71) * (f[1] - 0.71) - (1 - f[4]);
    if (grad) {
        memset(grad, 0, 5 * sizeof(double));
        grad[0] = -2 * (f[0] - 0.3);
        grad[1] = -4 * (f[1] - 0.71);
    }
    return v;
}

static void bowl_batch(void *ctx, const double *f, size_t m, double *out)
{
    for (size_t i = 0; i < m; i++) out[i] = bowl_point(ctx, f + 5 * i, NULL);
}

static void acquisition_optimiser_finds_the_known_maximum(void)
{
    const char *text =
        "{\"ContinuousParameterRanges\":[{\"Name\":\"x\",\"MinValue\":\"0\",\"MaxValue\":\"1\"},"
        "{\"Name\":\"y\",\"MinValue\":\"0\",\"MaxValue\":\"1\"}],"
        "\"CategoricalParameterRanges\":[{\"Name\":\"c\",\"Values\":[\"a\",\"b\",\"c\"]}]}";
    lt_tune_space *space = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_tune_space_parse_text(text, strlen(text), &space, &err), ==, 0);
    if (!space) return;
    lt_tune__rng rng;
    lt_tune__rng_seed(&rng, 5);
    bowl b = {space};
    lt_tune__acq acq = {&b, bowl_batch, bowl_point};
    double v[3];
    double best = lt_tune__acq_maximize(space, &acq, NULL, 0, NULL, 0, &rng, v);
    LT_CHECK_NEAR(v[0], 0.3, 1e-4);
    LT_CHECK_NEAR(v[1], 0.71, 1e-4);
    LT_CHECK_NEAR(v[2], 2, 0);
    LT_CHECK_NEAR(best, 0, 1e-7);
    /* With the optimum's features forbidden (already evaluated), it goes elsewhere. */
    double avoid[5] = {0.3, 0.71, 0, 0, 1};
    best = lt_tune__acq_maximize(space, &acq, NULL, 0, avoid, 1, &rng, v);
    LT_CHECK(best < 0 && best > -1e-3);
    lt_tune_space_free(space);
}

static void output_warp_is_monotone_and_standardised(void)
{
    double y[6] = {1, 2, 5, 40, 1000, 90000}, w[6];
    memcpy(w, y, sizeof w);
    lt_tune__warp_outputs(w, 6);
    double mean = 0, var = 0;
    for (int i = 0; i < 6; i++) mean += w[i];
    mean /= 6;
    for (int i = 0; i < 6; i++) var += (w[i] - mean) * (w[i] - mean);
    LT_CHECK_NEAR(mean, 0, 1e-12);
    LT_CHECK_NEAR(var / 5, 1, 1e-12);
    for (int i = 1; i < 6; i++) LT_CHECK(w[i] > w[i - 1]);
    /* The heavy tail is compressed: the gap between the two best is no longer negligible. */
    LT_CHECK((w[1] - w[0]) / (w[5] - w[0]) > 1e-3);
}

int main(void)
{
    LT_RUN(gp_posterior_matches_closed_form);
    LT_RUN(gp_likelihood_gradient_matches_finite_differences);
    LT_RUN(gp_fit_raises_the_likelihood_and_learns_relevance);
    LT_RUN(gp_prediction_gradient_matches_finite_differences);
    LT_RUN(ei_matches_known_values);
    LT_RUN(log_ei_stays_finite_and_smooth_far_below_the_incumbent);
    LT_RUN(acquisition_optimiser_finds_the_known_maximum);
    LT_RUN(output_warp_is_monotone_and_standardised);
    return lt_test_summary();
}
