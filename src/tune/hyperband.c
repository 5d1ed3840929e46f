/* Hyperband (Li et al., JMLR 2018) run asynchronously: each trial gets a random
 * configuration and one of the classic brackets, in proportion to the bracket's size
 * (smooth weighted round robin); within a bracket, successive halving stops a trial at each
 * rung it reaches unless its value there is in the top 1/eta of the values the bracket's
 * trials reported at that rung (ASHA's rule, Li et al. 2020, as Optuna's pruner applies it:
 * with fewer than eta values, only the best so far goes on). The resource is the step of
 * the intermediate values: epochs, or the count of values reported. */
#include "tune/tune_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int s_max;
    double *weight;  /* (s_max + 1) bracket sizes */
    double *current; /* (s_max + 1) round-robin credit */
} hb_state;

int lt_tune__hb_s_max(int min_r, int max_r, int eta)
{
    return (int)floor(log((double)max_r / (double)min_r) / log((double)eta) + 1e-9);
}

int lt_tune__hb_bracket_n(int s, int s_max, int eta)
{
    return (int)ceil((double)(s_max + 1) / (double)(s + 1) * pow(eta, s) - 1e-9);
}

double lt_tune__hb_bracket_r(int s, int max_r, int eta)
{
    return (double)max_r * pow(eta, -s);
}

static int init(lt_tune *tune, lt_err *err)
{
    hb_state *h = lt_xcalloc(1, sizeof *h);
    const lt_tune_params *p = &tune->params;
    h->s_max = lt_tune__hb_s_max(p->min_resource, p->max_resource, p->eta);
    h->weight = lt_xcalloc((size_t)h->s_max + 1, sizeof(double));
    h->current = lt_xcalloc((size_t)h->s_max + 1, sizeof(double));
    for (int s = 0; s <= h->s_max; s++) h->weight[s] = lt_tune__hb_bracket_n(s, h->s_max, p->eta);
    tune->state = h;
    return 0;
}

static void on_new_trial(lt_tune *tune, lt_tune__trial *trial)
{
    hb_state *h = tune->state;
    double total = 0;
    int pick = h->s_max;
    for (int s = h->s_max; s >= 0; s--) {
        h->current[s] += h->weight[s];
        total += h->weight[s];
        if (h->current[s] > h->current[pick]) pick = s;
    }
    h->current[pick] -= total;
    trial->bracket = pick;
}

/* The value a trial reported when it first reached `resource`; NAN if it has not. */
static double value_at(const lt_tune__trial *t, double resource)
{
    for (size_t k = 0; k < t->n_reports; k++)
        if (t->steps[k] >= resource - 1e-9) return t->reports[k];
    return NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool on_report(lt_tune *tune, lt_tune__trial *trial)
{
    if (trial->stop) return true;
    const lt_tune_params *p = &tune->params;
    int s = trial->bracket;
    int step = trial->steps[trial->n_reports - 1];
    int prev = trial->n_reports > 1 ? trial->steps[trial->n_reports - 2] : 0;
    double *vals = lt_xmalloc((tune->n_trials + 1) * sizeof(double));
    bool stop = false;
    /* Rungs r_0 * eta^k below max_resource; reaching max_resource is the end of a trial. */
    for (int k = 0; k < s && !stop; k++) {
        double r = lt_tune__hb_bracket_r(s, p->max_resource, p->eta) * pow(p->eta, k);
        if (!(prev < r - 1e-9 && step >= r - 1e-9)) continue;
        double mine = value_at(trial, r);
        size_t n = 0;
        for (size_t i = 0; i < tune->n_trials; i++) {
            const lt_tune__trial *t = &tune->trials[i];
            if (t->bracket != s || t->state == TRIAL_FAILED) continue;
            double v = value_at(t, r);
            if (!isnan(v)) vals[n++] = v;
        }
        qsort(vals, n, sizeof(double), cmp_double);
        size_t keep = n / (size_t)p->eta;
        if (keep == 0) keep = 1;
        stop = mine > vals[keep - 1];
    }
    free(vals);
    return stop;
}

static int propose(lt_tune *tune, size_t n, double *values, size_t *n_out, lt_err *err)
{
    return lt_tune__random_ops.propose(tune, n, values, n_out, err);
}

static void hb_free(lt_tune *tune)
{
    hb_state *h = tune->state;
    if (!h) return;
    free(h->weight);
    free(h->current);
    free(h);
}

const lt_tune__strategy_ops lt_tune__hyperband_ops = {.name = "Hyperband",
                                                      .init = init,
                                                      .propose = propose,
                                                      .on_report = on_report,
                                                      .on_new_trial = on_new_trial,
                                                      .free = hb_free};
