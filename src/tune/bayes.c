/* Bayesian optimisation: a Latin-hypercube design for the first points, then a Gaussian
 * process over the finished trials (features from lt_tune_space_encode: warped unit
 * coordinates, integers at their cell centre, categoricals one-hot) and expected
 * improvement (in log space) maximised by lt_tune__acq_maximize.
 *
 * - Outputs are Yeo-Johnson warped and standardised (warp.c).
 * - The incumbent is the lowest posterior mean at an observed point, not the lowest
 *   observation, so one lucky noisy draw does not freeze the search ("plug-in" EI).
 * - Batches and pending trials: the kriging believer (Ginsbourger et al. 2010). Each pending
 *   trial, and each point already chosen in this batch, joins the data with the posterior
 *   mean as its value; that collapses the variance there, so the next pick goes elsewhere.
 * - Failed trials are left out of the data entirely.
 * - Hyperparameters are refitted on every ask while the data are few (warm start plus
 *   restarts), less often once they are many (see fit_policy), and past FIT_SUBSET points on
 *   a random subset of that size. */
#include "tune/tune_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIT_SUBSET 128

typedef struct {
    lt_tune__gp gp;
    size_t n_init;
    double *design; /* (n_init, n_params) Latin hypercube, unit coordinates */
    size_t n_fits;
    size_t n_last_fit; /* observations at the last hyperparameter fit */
} bayes_state;

typedef struct {
    const lt_tune__gp *gp;
    double best;
    double *work; /* (m or 3, n) */
    double *mean, *var;
    double *dmean, *dvar;
} ei_ctx;

static void ei_batch(void *ctx, const double *features, size_t m, double *out)
{
    ei_ctx *e = ctx;
    size_t n = e->gp->n;
    double *work = lt_xmalloc(m * n * sizeof(double));
    double *mean = lt_xmalloc(2 * m * sizeof(double)), *var = mean + m;
    lt_tune__gp_predict(e->gp, features, m, mean, var, work);
    for (size_t i = 0; i < m; i++) out[i] = lt_tune__log_ei(mean[i], sqrt(var[i]), e->best, NULL, NULL);
    free(mean);
    free(work);
}

static double ei_point(void *ctx, const double *features, double *grad)
{
    ei_ctx *e = ctx;
    size_t d = e->gp->d;
    double mean, var, dm, ds;
    lt_tune__gp_predict_grad(e->gp, features, &mean, &var, e->dmean, e->dvar, e->work);
    double sd = sqrt(var);
    double v = lt_tune__log_ei(mean, sd, e->best, &dm, &ds);
    for (size_t c = 0; c < d; c++) grad[c] = dm * e->dmean[c] + ds * e->dvar[c] / (2 * sd);
    return v;
}

static int init(lt_tune *tune, lt_err *err)
{
    bayes_state *b = lt_xcalloc(1, sizeof *b);
    const lt_tune_space *space = tune->space;
    size_t np = space->n_params;
    lt_tune__gp_init(&b->gp, space->n_features);
    b->n_init = tune->params.n_initial > 0 ? (size_t)tune->params.n_initial
                                           : (np + 2 < 4 ? 4 : np + 2 > 10 ? 10 : np + 2);
    b->design = lt_xmalloc(b->n_init * np * sizeof(double));
    size_t *perm = lt_xmalloc(b->n_init * sizeof(size_t));
    for (size_t p = 0; p < np; p++) {
        for (size_t k = 0; k < b->n_init; k++) perm[k] = k;
        for (size_t k = b->n_init; k > 1; k--) {
            size_t j = (size_t)(lt_tune__rng_uniform(&tune->rng) * (double)k);
            size_t t = perm[k - 1];
            perm[k - 1] = perm[j];
            perm[j] = t;
        }
        for (size_t k = 0; k < b->n_init; k++)
            b->design[k * np + p] =
                ((double)perm[k] + lt_tune__rng_uniform(&tune->rng)) / (double)b->n_init;
    }
    free(perm);
    tune->state = b;
    return 0;
}

static void bayes_free(lt_tune *tune)
{
    bayes_state *b = tune->state;
    if (!b) return;
    lt_tune__gp_free(&b->gp);
    free(b->design);
    free(b);
}

static int cmp_by_y(const void *a, const void *b)
{
    const lt_tune__trial *x = *(lt_tune__trial *const *)a, *y = *(lt_tune__trial *const *)b;
    return x->y < y->y ? -1 : x->y > y->y;
}

/* Restarts and iterations for the hyperparameter fit: thorough while the data are few and
 * every fit is cheap; once n makes each likelihood evaluation cost O(n^3), warm-started,
 * and past 100 points refitted only when the data have grown by a tenth since the last fit
 * (between fits the GP is only re-conditioned on the new points: one Cholesky). Returns
 * false when this ask keeps the current hyperparameters. */
static bool fit_policy(size_t n, size_t n_fits, size_t n_last_fit, int *n_random, int *max_iter)
{
    if (n <= 40) {
        *n_random = 2;
        *max_iter = 60;
    } else if (n <= 100) {
        *n_random = n_fits % 3 == 0 ? 1 : 0;
        *max_iter = 40;
    } else {
        *n_random = n_fits % 4 == 0 ? 0 : -1;
        *max_iter = 20;
        return n >= n_last_fit + n_last_fit / 10;
    }
    return true;
}

static int propose_model(lt_tune *tune, bayes_state *b, size_t n, double *values,
                         size_t first, lt_err *err)
{
    const lt_tune_space *space = tune->space;
    size_t np = space->n_params, nf = space->n_features;
    lt_tune__trial **obs = lt_xmalloc((tune->n_trials + 1) * sizeof *obs);
    size_t n_obs = 0, n_pending = 0;
    for (size_t i = 0; i < tune->n_trials; i++) {
        lt_tune__trial *t = &tune->trials[i];
        if ((t->state == TRIAL_COMPLETED || t->state == TRIAL_STOPPED) && isfinite(t->y))
            obs[n_obs++] = t;
        else if (t->state == TRIAL_PENDING) n_pending++;
    }
    size_t cap = n_obs + n_pending + n + first;
    double *x = lt_xmalloc((cap + 1) * nf * sizeof(double)); /* (cap, nf) */
    double *y = lt_xmalloc((cap + 1) * sizeof(double));
    double *mean = lt_xmalloc((cap + 1) * sizeof(double));
    double *work = lt_xmalloc((cap + 1) * (cap + 1) * sizeof(double));
    double *centres = lt_xmalloc(5 * np * sizeof(double));
    qsort(obs, n_obs, sizeof *obs, cmp_by_y);
    for (size_t i = 0; i < n_obs; i++) {
        lt_tune_space_encode(space, obs[i]->values, x + i * nf);
        y[i] = obs[i]->y;
    }
    lt_tune__warp_outputs(y, n_obs);
    int n_random, max_iter, rc;
    if (fit_policy(n_obs, b->n_fits, b->n_last_fit, &n_random, &max_iter)) {
        b->n_fits++;
        b->n_last_fit = n_obs;
        if (n_obs <= FIT_SUBSET) {
            rc = lt_tune__gp_fit(&b->gp, x, y, n_obs, n_random, max_iter, &tune->rng, err);
        } else {
            /* Past FIT_SUBSET points the hyperparameters come from a random subset of that
             * size (the subset-of-data approximation: each likelihood evaluation costs
             * O(FIT_SUBSET^3), not O(n^3)); the posterior below uses every point. */
            double *xs = lt_xmalloc(FIT_SUBSET * nf * sizeof(double));
            double *ys = lt_xmalloc(FIT_SUBSET * sizeof(double));
            size_t *idx = lt_xmalloc(n_obs * sizeof(size_t));
            for (size_t i = 0; i < n_obs; i++) idx[i] = i;
            for (size_t i = 0; i < FIT_SUBSET; i++) {
                size_t j = i + (size_t)(lt_tune__rng_uniform(&tune->rng) * (double)(n_obs - i));
                size_t t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
                memcpy(xs + i * nf, x + idx[i] * nf, nf * sizeof(double));
                ys[i] = y[idx[i]];
            }
            rc = lt_tune__gp_fit(&b->gp, xs, ys, FIT_SUBSET, n_random, max_iter, &tune->rng, err);
            if (!rc) rc = lt_tune__gp_condition(&b->gp, x, y, n_obs, err);
            free(idx);
            free(ys);
            free(xs);
        }
    } else {
        rc = lt_tune__gp_condition(&b->gp, x, y, n_obs, err);
    }
    if (rc) goto done;
    lt_tune__gp_predict(&b->gp, x, n_obs, mean, NULL, work);
    double best = INFINITY;
    for (size_t i = 0; i < n_obs; i++) best = fmin(best, mean[i]);
    for (size_t i = 0; i < n_obs && i < 5; i++)
        lt_tune_space_to_unit(space, obs[i]->values, centres + i * np);
    size_t n_centres = n_obs < 5 ? n_obs : 5;

    /* Believers: pending trials, then this batch's design points (values[0..first)). */
    size_t n_all = n_obs;
    for (size_t i = 0; i < tune->n_trials; i++)
        if (tune->trials[i].state == TRIAL_PENDING)
            lt_tune_space_encode(space, tune->trials[i].values, x + nf * n_all++);
    for (size_t k = 0; k < first; k++) lt_tune_space_encode(space, values + k * np, x + nf * n_all++);
    if (n_all > n_obs) {
        lt_tune__gp_predict(&b->gp, x + n_obs * nf, n_all - n_obs, y + n_obs, NULL, work);
        if ((rc = lt_tune__gp_condition(&b->gp, x, y, n_all, err))) goto done;
    }
    ei_ctx ctx = {.gp = &b->gp, .best = best};
    ctx.work = lt_xmalloc(3 * (cap + 1) * sizeof(double));
    ctx.dmean = lt_xmalloc(2 * nf * sizeof(double));
    ctx.dvar = ctx.dmean + nf;
    lt_tune__acq acq = {&ctx, ei_batch, ei_point};
    for (size_t k = first; k < n; k++) {
        double *v = values + k * np;
        double score = lt_tune__acq_maximize(space, &acq, centres, n_centres, x, n_all,
                                             &tune->rng, v);
        if (!(score > -INFINITY)) { /* every candidate repeats a known point */
            double *u = centres; /* scratch: the centres are no longer needed after this */
            lt_tune__random_unit(space, &tune->rng, u);
            lt_tune_space_from_unit(space, u, v);
            n_centres = 0;
        }
        if (k + 1 == n) break;
        lt_tune_space_encode(space, v, x + nf * n_all);
        lt_tune__gp_predict(&b->gp, x + nf * n_all, 1, y + n_all, NULL, work);
        n_all++;
        if ((rc = lt_tune__gp_condition(&b->gp, x, y, n_all, err))) break;
    }
    free(ctx.work);
    free(ctx.dmean);
done:
    free(centres);
    free(work);
    free(mean);
    free(y);
    free(x);
    free(obs);
    return rc;
}

static int propose(lt_tune *tune, size_t n, double *values, size_t *n_out, lt_err *err)
{
    bayes_state *b = tune->state;
    size_t np = tune->space->n_params;
    size_t k = 0, n_obs = 0;
    /* The design first, by trial index. */
    for (; k < n && tune->n_trials + k < b->n_init; k++)
        lt_tune_space_from_unit(tune->space, b->design + (tune->n_trials + k) * np, values + k * np);
    for (size_t i = 0; i < tune->n_trials; i++)
        n_obs += (tune->trials[i].state == TRIAL_COMPLETED ||
                  tune->trials[i].state == TRIAL_STOPPED) && isfinite(tune->trials[i].y);
    *n_out = n;
    if (k == n) return 0;
    if (n_obs < 2) { /* nothing to model yet (failures, or all pending): random */
        double *u = lt_xmalloc(np * sizeof(double));
        for (; k < n; k++) {
            lt_tune__random_unit(tune->space, &tune->rng, u);
            lt_tune_space_from_unit(tune->space, u, values + k * np);
        }
        free(u);
        return 0;
    }
    int rc = propose_model(tune, b, n, values, k, err);
    if (rc) *n_out = 0;
    return rc;
}

const lt_tune__strategy_ops lt_tune__bayes_ops = {
    .name = "Bayesian", .init = init, .propose = propose, .free = bayes_free};
