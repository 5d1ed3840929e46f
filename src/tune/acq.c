/* Expected improvement and the optimiser of acquisition functions.
 *
 * EI for minimisation with f ~ N(mu, sd^2) and incumbent best: sd h(z), z = (best - mu)/sd,
 * h(z) = phi(z) + z Phi(z) (Jones, Schonlau and Welch 1998). Far below the incumbent
 * (z << 0) h underflows and its direct evaluation cancels, which flattens the acquisition
 * where the optimiser must still climb; log h is computed there as log phi(z) + log(1 - x R)
 * with x = -z and R(x) = Q(x) / phi(x) the Mills ratio from its continued fraction (the
 * "LogEI" remedy of Ament et al., NeurIPS 2023). */
#include "tune/tune_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_SQRT_2PI 0.91893853320467274178

double lt_tune__ei(double mean, double sd, double best)
{
    double z = (best - mean) / sd;
    double cdf = 0.5 * erfc(-z / M_SQRT2), pdf = exp(-0.5 * z * z - LOG_SQRT_2PI);
    return sd * (z * cdf + pdf);
}

/* Mills ratio Q(x)/phi(x) for x >= 5 by Laplace's continued fraction
 * R = 1/(x + 1/(x + 2/(x + 3/(x + ...)))), evaluated from the tail. */
static double mills(double x)
{
    double t = x;
    for (int k = 80; k >= 1; k--) t = x + k / t;
    return 1.0 / t;
}

double lt_tune__log_ei(double mean, double sd, double best, double *dmean, double *dsd)
{
    double z = (best - mean) / sd;
    double logh, dlogh_dz; /* d log h / dz = Phi(z) / h(z) */
    if (z > -5) {
        double cdf = 0.5 * erfc(-z / M_SQRT2), pdf = exp(-0.5 * z * z - LOG_SQRT_2PI);
        double h = pdf + z * cdf;
        logh = log(h);
        dlogh_dz = cdf / h;
    } else {
        double x = -z, r = mills(x);
        /* 1 - x R = 1/x^2 - 3/x^4 + ...: exact enough from R up to x ~ 1e6, then asymptotic */
        double q = x < 1e6 ? 1.0 - x * r : 1.0 / (x * x);
        logh = -0.5 * z * z - LOG_SQRT_2PI + log(q);
        dlogh_dz = r / q;
    }
    if (dmean) *dmean = -dlogh_dz / sd;
    if (dsd) *dsd = 1.0 / sd - dlogh_dz * z / sd;
    return log(sd) + logh;
}

/* ---- the optimiser ------------------------------------------------------------------------ */

typedef struct {
    const lt_tune_space *space;
    const lt_tune__acq *acq;
    double *u;          /* (n_params) the point being refined */
    size_t *cont;       /* indexes of continuous parameters */
    size_t *cont_feat;  /* their feature offsets */
    size_t n_cont;
    double *values, *features, *grad;
} refine_ctx;

static double refine_objective(void *ctx, const double *z, double *g)
{
    refine_ctx *r = ctx;
    for (size_t k = 0; k < r->n_cont; k++) r->u[r->cont[k]] = z[k];
    lt_tune_space_from_unit(r->space, r->u, r->values);
    lt_tune_space_encode(r->space, r->values, r->features);
    double v = r->acq->point(r->acq->ctx, r->features, r->grad);
    for (size_t k = 0; k < r->n_cont; k++) g[k] = -r->grad[r->cont_feat[k]];
    return isfinite(v) ? -v : INFINITY;
}

static bool repeats(const double *f, size_t nf, const double *avoid, size_t n_avoid)
{
    for (size_t i = 0; i < n_avoid; i++) {
        double d2 = 0;
        for (size_t c = 0; c < nf && d2 < 1e-18; c++) {
            double t = f[c] - avoid[i * nf + c];
            d2 += t * t;
        }
        if (d2 < 1e-18) return true;
    }
    return false;
}

double lt_tune__acq_maximize(const lt_tune_space *space, const lt_tune__acq *acq,
                             const double *centres, size_t n_centres, const double *avoid,
                             size_t n_avoid, lt_tune__rng *rng, double *values)
{
    size_t np = space->n_params, nf = space->n_features;
    if (n_centres > 5) n_centres = 5;
    size_t m = LT_TUNE__ACQ_RANDOM + n_centres * LT_TUNE__ACQ_LOCAL;
    double *u = lt_xmalloc(m * np * sizeof(double));   /* (m, np) */
    double *val = lt_xmalloc(m * np * sizeof(double)); /* (m, np) */
    double *feat = lt_xmalloc(m * nf * sizeof(double)); /* (m, nf) */
    double *score = lt_xmalloc(m * sizeof(double));
    for (size_t i = 0; i < m; i++) {
        double *ui = u + i * np;
        if (i < LT_TUNE__ACQ_RANDOM) {
            lt_tune__random_unit(space, rng, ui);
        } else {
            const double *c = centres + ((i - LT_TUNE__ACQ_RANDOM) / LT_TUNE__ACQ_LOCAL) * np;
            for (size_t p = 0; p < np; p++) {
                if (space->params[p].kind == LT_TUNE_CATEGORICAL) {
                    ui[p] = lt_tune__rng_uniform(rng) < 0.3 ? lt_tune__rng_uniform(rng) : c[p];
                } else {
                    double x = c[p] + 0.1 * lt_tune__rng_normal(rng);
                    ui[p] = x < 0 ? 0 : x > 1 ? 1 : x;
                }
            }
        }
        lt_tune_space_from_unit(space, ui, val + i * np);
        lt_tune_space_encode(space, val + i * np, feat + i * nf);
    }
    acq->batch(acq->ctx, feat, m, score);
    for (size_t i = 0; i < m; i++)
        if (!isfinite(score[i]) || repeats(feat + i * nf, nf, avoid, n_avoid)) score[i] = -INFINITY;

    /* The best few distinct candidates, refined. */
    size_t top[LT_TUNE__ACQ_REFINE];
    size_t n_top = 0;
    for (size_t k = 0; k < LT_TUNE__ACQ_REFINE; k++) {
        size_t arg = m;
        for (size_t i = 0; i < m; i++) {
            bool taken = false;
            for (size_t j = 0; j < n_top; j++) taken = taken || top[j] == i;
            if (!taken && score[i] > -INFINITY && (arg == m || score[i] > score[arg])) arg = i;
        }
        if (arg == m) break;
        top[n_top++] = arg;
    }
    double best = -INFINITY;
    size_t n_cont = 0;
    size_t *cont = lt_xmalloc((np + 1) * sizeof(size_t));
    size_t *cont_feat = lt_xmalloc((np + 1) * sizeof(size_t));
    for (size_t p = 0, f = 0; p < np; p++) {
        if (space->params[p].kind == LT_TUNE_CONTINUOUS) {
            cont[n_cont] = p;
            cont_feat[n_cont++] = f;
        }
        f += space->params[p].kind == LT_TUNE_CATEGORICAL ? space->params[p].n_values : 1;
    }
    double *ur = lt_xmalloc(np * sizeof(double));
    double *vr = lt_xmalloc(np * sizeof(double));
    double *fr = lt_xmalloc(2 * nf * sizeof(double));
    double *z = lt_xmalloc((n_cont + 1) * 3 * sizeof(double));
    double *lo = z + n_cont + 1, *hi = z + 2 * (n_cont + 1);
    for (size_t k = 0; k < n_cont; k++) {
        lo[k] = 0;
        hi[k] = 1;
    }
    if (n_top) {
        memcpy(values, val + top[0] * np, np * sizeof(double));
        best = score[top[0]];
    }
    for (size_t k = 0; k < n_top && n_cont; k++) {
        memcpy(ur, u + top[k] * np, np * sizeof(double));
        for (size_t j = 0; j < n_cont; j++) z[j] = ur[cont[j]];
        refine_ctx rc = {space, acq, ur, cont, cont_feat, n_cont, vr, fr, fr + nf};
        double f = lt_tune__lbfgs(refine_objective, &rc, z, n_cont, lo, hi, 40);
        for (size_t j = 0; j < n_cont; j++) ur[cont[j]] = z[j];
        lt_tune_space_from_unit(space, ur, vr);
        lt_tune_space_encode(space, vr, fr);
        if (isfinite(f) && -f > best && !repeats(fr, nf, avoid, n_avoid)) {
            best = -f;
            memcpy(values, vr, np * sizeof(double));
        }
    }
    free(z);
    free(fr);
    free(vr);
    free(ur);
    free(cont);
    free(cont_feat);
    free(score);
    free(feat);
    free(val);
    free(u);
    return best;
}
