/* The tuner: trial bookkeeping behind ask/tell/report, the strategy table, and the median
 * stopping rule that SageMaker calls TrainingJobEarlyStoppingType=Auto. */
#include "tune/tune_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

lt_tune_params lt_tune_params_default(void)
{
    return (lt_tune_params){.strategy = LT_TUNE_BAYESIAN,
                            .seed = 0,
                            .maximize = false,
                            .grid_points = 5,
                            .n_initial = 0,
                            .min_resource = 1,
                            .max_resource = 81,
                            .eta = 3,
                            .early_stopping = false,
                            .median_min_trials = 3};
}

int lt_tune_strategy_parse(const char *s, lt_tune_strategy *out, lt_err *err)
{
    static const char *names[] = {"random", "grid", "bayesian", "hyperband"};
    for (int i = 0; s && i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (lt_tune_strategy)i;
            return 0;
        }
    return lt_err_set(err, LT_EINVAL, "strategy must be bayesian, random, grid or hyperband (got %s)",
                      s ? s : "nothing");
}

int lt_tune_new(const lt_tune_space *space, const lt_tune_params *params, lt_tune **out,
                lt_err *err)
{
    *out = NULL;
    lt_tune_params p = params ? *params : lt_tune_params_default();
    if (p.strategy == LT_TUNE_HYPERBAND) {
        if (p.early_stopping)
            return lt_err_set(err, LT_EINVAL,
                              "early stopping must be Off with the Hyperband strategy");
        if (p.min_resource < 1 || p.max_resource < p.min_resource)
            return lt_err_set(err, LT_EINVAL,
                              "Hyperband needs 1 <= MinResource <= MaxResource (got %d, %d)",
                              p.min_resource, p.max_resource);
        if (p.eta < 2) return lt_err_set(err, LT_EINVAL, "Hyperband's eta must be >= 2");
    }
    if (p.grid_points < 1) p.grid_points = 1;
    if (p.median_min_trials < 1) p.median_min_trials = 1;
    const lt_tune__strategy_ops *ops[] = {&lt_tune__random_ops, &lt_tune__grid_ops,
                                          &lt_tune__bayes_ops, &lt_tune__hyperband_ops};
    if ((unsigned)p.strategy > LT_TUNE_HYPERBAND)
        return lt_err_set(err, LT_EINVAL, "unknown strategy %d", (int)p.strategy);
    lt_tune *tune = lt_xcalloc(1, sizeof *tune);
    tune->space = space;
    tune->params = p;
    tune->ops = ops[p.strategy];
    lt_tune__rng_seed(&tune->rng, p.seed);
    int rc = tune->ops->init ? tune->ops->init(tune, err) : 0;
    if (rc) {
        lt_tune_free(tune);
        return rc;
    }
    *out = tune;
    return 0;
}

void lt_tune_free(lt_tune *tune)
{
    if (!tune) return;
    if (tune->ops && tune->ops->free) tune->ops->free(tune);
    for (size_t i = 0; i < tune->n_trials; i++) {
        free(tune->trials[i].values);
        free(tune->trials[i].steps);
        free(tune->trials[i].reports);
    }
    free(tune->trials);
    free(tune);
}

static lt_tune__trial *find(const lt_tune *tune, int id)
{
    /* Ids are indexes: trial k has id k. */
    if (id < 0 || (size_t)id >= tune->n_trials) return NULL;
    return &tune->trials[id];
}

int lt_tune_ask(lt_tune *tune, size_t n, int *ids, size_t *n_out, lt_err *err)
{
    *n_out = 0;
    if (n == 0) return 0;
    size_t np = tune->space->n_params;
    double *values = lt_xcalloc(n * np, sizeof(double));
    size_t got = 0;
    int rc = tune->ops->propose(tune, n, values, &got, err);
    if (rc) {
        free(values);
        return rc;
    }
    if (tune->n_trials + got > tune->cap_trials) {
        tune->cap_trials = (tune->n_trials + got) * 2;
        tune->trials = lt_xrealloc(tune->trials, tune->cap_trials * sizeof *tune->trials);
    }
    for (size_t k = 0; k < got; k++) {
        lt_tune__trial *t = &tune->trials[tune->n_trials];
        memset(t, 0, sizeof *t);
        t->id = (int)tune->n_trials++;
        t->state = TRIAL_PENDING;
        t->y = NAN;
        t->values = lt_xmalloc(np * sizeof(double));
        memcpy(t->values, values + k * np, np * sizeof(double));
        if (tune->ops->on_new_trial) tune->ops->on_new_trial(tune, t);
        ids[k] = t->id;
    }
    free(values);
    *n_out = got;
    return 0;
}

const double *lt_tune_trial_values(const lt_tune *tune, int id)
{
    const lt_tune__trial *t = find(tune, id);
    return t ? t->values : NULL;
}

static int pending_or_error(const lt_tune *tune, int id, lt_tune__trial **out, lt_err *err)
{
    lt_tune__trial *t = find(tune, id);
    if (!t) return lt_err_set(err, LT_ENOTFOUND, "no trial %d", id);
    if (t->state != TRIAL_PENDING)
        return lt_err_set(err, LT_ECONFLICT, "trial %d has already ended", id);
    *out = t;
    return 0;
}

int lt_tune_add(lt_tune *tune, const double *values, int *id)
{
    size_t np = tune->space->n_params;
    if (tune->n_trials + 1 > tune->cap_trials) {
        tune->cap_trials = (tune->n_trials + 1) * 2;
        tune->trials = lt_xrealloc(tune->trials, tune->cap_trials * sizeof *tune->trials);
    }
    lt_tune__trial *t = &tune->trials[tune->n_trials];
    memset(t, 0, sizeof *t);
    t->id = (int)tune->n_trials++;
    t->state = TRIAL_PENDING;
    t->y = NAN;
    t->values = lt_xmalloc((np ? np : 1) * sizeof(double));
    memcpy(t->values, values, np * sizeof(double));
    if (tune->ops->on_new_trial) tune->ops->on_new_trial(tune, t);
    *id = t->id;
    return 0;
}

int lt_tune_tell(lt_tune *tune, int id, lt_tune_outcome outcome, double value, lt_err *err)
{
    lt_tune__trial *t = NULL;
    int rc = pending_or_error(tune, id, &t, err);
    if (rc) return rc;
    double sign = tune->params.maximize ? -1.0 : 1.0;
    switch (outcome) {
    case LT_TUNE_COMPLETED:
        if (!isfinite(value))
            return lt_err_set(err, LT_EINVAL, "trial %d: the objective is not a finite number", id);
        t->state = TRIAL_COMPLETED;
        t->y = sign * value;
        break;
    case LT_TUNE_STOPPED:
        if (isfinite(value)) t->y = sign * value;
        else if (t->n_reports) t->y = t->reports[t->n_reports - 1];
        t->state = isfinite(t->y) ? TRIAL_STOPPED : TRIAL_FAILED;
        break;
    default:
        t->state = TRIAL_FAILED;
        break;
    }
    return 0;
}

int lt_tune_report(lt_tune *tune, int id, int step, double value, lt_err *err)
{
    lt_tune__trial *t = NULL;
    int rc = pending_or_error(tune, id, &t, err);
    if (rc) return rc;
    if (!isfinite(value))
        return lt_err_set(err, LT_EINVAL, "trial %d: intermediate value is not finite", id);
    if (t->n_reports == t->cap_reports) {
        t->cap_reports = t->cap_reports ? t->cap_reports * 2 : 16;
        t->steps = lt_xrealloc(t->steps, t->cap_reports * sizeof *t->steps);
        t->reports = lt_xrealloc(t->reports, t->cap_reports * sizeof *t->reports);
    }
    t->steps[t->n_reports] = step;
    t->reports[t->n_reports++] = tune->params.maximize ? -value : value;
    if (tune->ops->on_report) t->stop = tune->ops->on_report(tune, t);
    else if (tune->params.early_stopping)
        t->stop = lt_tune__median_should_stop(tune, t, tune->params.median_min_trials);
    return 0;
}

bool lt_tune_should_stop(const lt_tune *tune, int id)
{
    const lt_tune__trial *t = find(tune, id);
    return t && t->state == TRIAL_PENDING && t->stop;
}

int lt_tune_best(const lt_tune *tune, int *id, double *value)
{
    const lt_tune__trial *best = NULL;
    for (size_t i = 0; i < tune->n_trials; i++) {
        const lt_tune__trial *t = &tune->trials[i];
        if ((t->state == TRIAL_COMPLETED || t->state == TRIAL_STOPPED) &&
            (!best || t->y < best->y))
            best = t;
    }
    if (!best) return LT_ENOTFOUND;
    *id = best->id;
    *value = tune->params.maximize ? -best->y : best->y;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* SageMaker: "stops a training job if the value of the objective metric is worse than the
 * median of the running averages of the objective metric for previous training jobs up to
 * the same epoch" (Google Vizier's median stopping rule, Golovin et al. 2017). Previous
 * jobs are the finished ones that reported at the same step or later. */
bool lt_tune__median_should_stop(const lt_tune *tune, const lt_tune__trial *trial,
                                 int min_trials)
{
    if (!trial->n_reports) return false;
    int step = trial->steps[trial->n_reports - 1];
    double value = trial->reports[trial->n_reports - 1];
    double *avgs = lt_xmalloc((tune->n_trials + 1) * sizeof(double));
    size_t n = 0;
    for (size_t i = 0; i < tune->n_trials; i++) {
        const lt_tune__trial *t = &tune->trials[i];
        if (t == trial || (t->state != TRIAL_COMPLETED && t->state != TRIAL_STOPPED)) continue;
        double sum = 0;
        size_t cnt = 0;
        bool reached = false;
        for (size_t k = 0; k < t->n_reports; k++) {
            if (t->steps[k] <= step) {
                sum += t->reports[k];
                cnt++;
            }
            if (t->steps[k] >= step) reached = true;
        }
        if (reached && cnt) avgs[n++] = sum / (double)cnt;
    }
    bool stop = false;
    if (n >= (size_t)min_trials) {
        qsort(avgs, n, sizeof(double), cmp_double);
        double median = n % 2 ? avgs[n / 2] : 0.5 * (avgs[n / 2 - 1] + avgs[n / 2]);
        stop = value > median;
    }
    free(avgs);
    return stop;
}
