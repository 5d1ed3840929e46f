/* Linear Learner's trainer: num_models linear models trained side by side on the same
 * shuffled mini-batches, each with its own learning rate and weight decay (SageMaker's
 * "parallel training of multiple models", AWS developer guide, "How linear learner works").
 *
 * The rows are shuffled once and, when the copy fits (copy_max_bytes), normalised into one
 * contiguous block in that order; each epoch then takes the mini-batches in a new random
 * order. Every thread walks all mini-batches for its own slice of models (forward pass, loss
 * gradient, optimizer step), so threads never wait for each other inside an epoch.
 * Feature statistics come from num_point_for_scaler rows drawn at random. After each epoch
 * every model is scored on the validation data (or its running train loss is used) and
 * keeps a snapshot of its best epoch; early stopping watches the best model's loss with
 * early_stopping_patience / early_stopping_tolerance (relative). At the end the snapshot
 * that is best on the validation data (on train without it) is kept: for binary
 * classifiers by binary_classifier_model_selection_criteria, whose threshold becomes the
 * model's, for the others by objective loss.
 *
 * Grids when left auto: learning_rate {0.1, 0.03, 0.01, 0.003} for adam and rmsprop,
 * {1, 0.3, 0.1, 0.03} for sgd, over models m % 4; wd {0, 1e-5, 1e-3, 1e-2} over (m / 4) % 4;
 * l1 0. */
#include "algo/linear/linear.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct trainer {
    const lt_linear_params *p;
    lt_linear_params lp;             /* p with the regression loss thresholds in normalised units */
    int d, k, nm, cols;              /* features, outputs per model, models, nm * k */
    float *x_mean, *x_scale, *x_inv; /* (d); x_inv = 1 / x_scale */
    double y_mean, y_scale, loss_factor;
    double pos_mult;    /* binary: weight of a positive example */
    double *class_mult; /* multiclass (k), or NULL */
    float *w, *b;       /* (cols, d), (cols) */
    float *best_w, *best_b;
    double *lr, *wd, *l1;       /* (nm) */
    float *m1, *m2, *mb1, *mb2; /* optimizer state like w and b */
} trainer;

/* ---- small kernels ---------------------------------------------------------------------- */

static float dot(const float *a, const float *b, int n)
{
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < n; j++)
        s += a[j] * b[j];
    return s;
}

static void axpy(float *y, float a, const float *x, int n)
{
#pragma omp simd
    for (int j = 0; j < n; j++)
        y[j] += a * x[j];
}

/* Row r of ds normalised into out (d). Returns false on a non-finite value. */
static bool load_row(const trainer *t, const lt_matrix *x, size_t r, float *out, float *tmp)
{
    const float *row = lt_algo__dense_rows(x, r, 1, tmp);
    bool ok = true;
    for (int j = 0; j < t->d; j++) {
        float v = row[j];
        ok &= isfinite(v);
        out[j] = (v - t->x_mean[j]) * t->x_inv[j];
    }
    return ok;
}

/* The label as the loss sees it and the example's weight. */
static double row_label(const trainer *t, const lt_dataset *ds, size_t r, double *weight)
{
    double y = ds->labels[r], w = ds->weights ? ds->weights[r] : 1.0;
    if (t->p->kind == LT_LINEAR_BINARY)
        w *= y > 0.5 ? t->pos_mult : 1.0;
    else if (t->class_mult)
        w *= t->class_mult[(int)y];
    else if (t->p->kind == LT_LINEAR_REGRESSOR)
        y = (y - t->y_mean) / t->y_scale;
    *weight = w;
    return y;
}

/* Scores of model m on one normalised row into s (k), returns the loss; grad (k) gets
 * d loss / d score. */
static double model_loss(const trainer *t, const float *w, const float *b, int m, const float *xi,
                         double y, float *s, float *grad)
{
    int k = t->k;
    for (int c = 0; c < k; c++)
        s[c] = b[m * k + c] + dot(w + (size_t)(m * k + c) * t->d, xi, t->d);
    if (t->p->loss == LT_LINEAR_SOFTMAX) return lt_linear__softmax_loss(s, k, (int)y, grad);
    double g;
    double l = lt_linear__loss(t->p->loss, &t->lp, s[0], y, &g);
    grad[0] = (float)g;
    return l;
}

/* ---- set-up --------------------------------------------------------------------------- */

static int check_labels(const lt_linear_params *p, const lt_dataset *ds, const char *what,
                        lt_err *err)
{
    if (!ds->labels)
        return lt_err_set(err, LT_EINVAL,
                          "linear-learner: the %s data has no labels (text/csv carries the label "
                          "in the first column)",
                          what);
    for (size_t i = 0; i < ds->x.n_rows; i++) {
        float y = ds->labels[i];
        bool ok = isfinite(y);
        if (p->kind == LT_LINEAR_BINARY)
            ok = y == 0 || y == 1;
        else if (p->kind == LT_LINEAR_MULTICLASS)
            ok = y >= 0 && y < p->num_classes && y == floorf(y);
        if (!ok)
            return lt_err_set(err, LT_EINVAL, "linear-learner: %s row %zu has label %g; %s", what,
                              i + 1, (double)y,
                              p->kind == LT_LINEAR_BINARY ? "binary_classifier takes 0 or 1"
                              : p->kind == LT_LINEAR_MULTICLASS
                                  ? "multiclass_classifier takes "
                                    "0 .. num_classes - 1"
                                  : "regressor labels must be finite");
        if (ds->weights && !(ds->weights[i] >= 0 && isfinite(ds->weights[i])))
            return lt_err_set(err, LT_EINVAL, "linear-learner: %s row %zu has a bad weight", what,
                              i + 1);
    }
    return 0;
}

/* Feature and label statistics from up to num_point_for_scaler random rows. */
static void statistics(trainer *t, const lt_dataset *ds, uint64_t *rng)
{
    const lt_linear_params *p = t->p;
    size_t n = ds->x.n_rows, ns = n < p->num_point_for_scaler ? n : p->num_point_for_scaler;
    int d = t->d;
    double *sum = lt_xcalloc(2 * (size_t)d, sizeof(double)), *sq = sum + d;
    float *tmp = lt_xmalloc((size_t)d * sizeof(float) + 1);
    double ys = 0, ysq = 0;
    for (size_t i = 0; i < ns; i++) {
        size_t r = ns == n ? i : lt_algo__rng_below(rng, n);
        const float *row = lt_algo__dense_rows(&ds->x, r, 1, tmp);
        for (int j = 0; j < d; j++) {
            double v = isfinite(row[j]) ? row[j] : 0;
            sum[j] += v, sq[j] += v * v;
        }
        ys += ds->labels[r], ysq += (double)ds->labels[r] * ds->labels[r];
    }
    for (int j = 0; j < d; j++) {
        double mean = ns ? sum[j] / (double)ns : 0, var = ns ? sq[j] / (double)ns - mean * mean : 0;
        double sd = var > 0 ? sqrt(var) : 0;
        t->x_mean[j] = p->center_x ? (float)mean : 0.0f;
        t->x_scale[j] = p->scale_x && sd > 1e-12 * (1 + fabs(mean)) ? (float)sd : 1.0f;
    }
    double ym = ns ? ys / (double)ns : 0, yv = ns ? ysq / (double)ns - ym * ym : 0;
    t->y_mean = p->center_y ? ym : 0;
    t->y_scale = p->scale_y && yv > 0 && sqrt(yv) > 1e-12 * (1 + fabs(ym)) ? sqrt(yv) : 1;
    free(sum), free(tmp);
}

static void setup_models(trainer *t, uint64_t *rng)
{
    const lt_linear_params *p = t->p;
    static const double lr_adam[] = {0.1, 0.03, 0.01, 0.003}, lr_sgd[] = {1, 0.3, 0.1, 0.03};
    static const double wd_grid[] = {0, 1e-5, 1e-3, 1e-2};
    for (int m = 0; m < t->nm; m++) {
        t->lr[m] = p->learning_rate >= 0           ? p->learning_rate
                   : p->optimizer == LT_LINEAR_SGD ? lr_sgd[m % 4]
                                                   : lr_adam[m % 4];
        t->wd[m] = p->wd >= 0 ? p->wd : wd_grid[(m / 4) % 4];
        t->l1[m] = p->l1 >= 0 ? p->l1 : 0;
    }
    size_t nw = (size_t)t->cols * t->d;
    for (size_t i = 0; i < nw; i++) {
        if (p->init_normal) {
            double u1 = lt_algo__rng_unit(rng), u2 = lt_algo__rng_unit(rng);
            t->w[i] = (float)(p->init_sigma * sqrt(-2 * log(1 - u1)) * cos(2 * M_PI * u2));
        } else {
            t->w[i] = (float)(p->init_scale * (2 * lt_algo__rng_unit(rng) - 1));
        }
    }
    for (int c = 0; c < t->cols; c++)
        t->b[c] = p->use_bias ? (float)p->init_bias : 0.0f;
}

/* ---- the optimizer step for one model's parameters -------------------------------------- */

static void step(const trainer *t, int m, float *w, float *m1, float *m2, const float *g, size_t n,
                 double lr, double wd, double l1, long it)
{
    const lt_linear_params *p = t->p;
    float b1 = (float)p->beta_1, b2 = (float)p->beta_2;
    double c1 = 1 - pow(p->beta_1, (double)it), c2 = 1 - pow(p->beta_2, (double)it);
    (void)m;
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] + (float)wd * w[j];
        switch (p->optimizer) {
        case LT_LINEAR_ADAM:
            m1[j] = b1 * m1[j] + (1 - b1) * gj;
            m2[j] = b2 * m2[j] + (1 - b2) * gj * gj;
            w[j] -= (float)(lr * (m1[j] / c1) / (sqrt(m2[j] / c2) + p->eps));
            break;
        case LT_LINEAR_RMSPROP:
            m2[j] = b2 * m2[j] + (1 - b2) * gj * gj;
            w[j] -= (float)(lr * gj / (sqrt(m2[j]) + p->eps));
            break;
        case LT_LINEAR_SGD:
            m1[j] = (float)p->momentum * m1[j] + gj;
            w[j] -= (float)lr * m1[j];
            break;
        }
        if (l1 > 0) { /* proximal step: soft-threshold */
            float th = (float)(lr * l1);
            w[j] = w[j] > th ? w[j] - th : w[j] < -th ? w[j] + th : 0.0f;
        }
    }
}

/* ---- evaluation ------------------------------------------------------------------------- */

/* Weighted mean loss of every model over rows [0, n) of ds (loss[nm], in the loss's
 * training units), and the raw scores (n, cols) when scores is not NULL. LT_EINVAL on a
 * non-finite feature. */
static int evaluate(const trainer *t, const float *w, const float *b, const lt_dataset *ds,
                    size_t n, int nth, double *loss, float *scores, const char *what, lt_err *err)
{
    int d = t->d, k = t->k, nm = t->nm;
    double *acc = lt_xcalloc((size_t)nth * (nm + 1), sizeof(double));
    float *buf = lt_xmalloc((size_t)nth * (3 * (size_t)d + 2 * (size_t)k) * sizeof(float));
    size_t bad = SIZE_MAX;
#pragma omp parallel num_threads(nth) reduction(min : bad)
    {
        int th = omp_get_thread_num();
        double *a = acc + (size_t)th * (nm + 1);
        float *xi = buf + (size_t)th * (3 * (size_t)d + 2 * k), *tmp = xi + d, *s = tmp + 2 * d,
              *g = s + k;
#pragma omp for schedule(static)
        for (size_t r = 0; r < n; r++) {
            if (!load_row(t, &ds->x, r, xi, tmp) && r < bad) bad = r;
            double wt, y = row_label(t, ds, r, &wt);
            a[nm] += wt;
            for (int m = 0; m < nm; m++) {
                a[m] += wt * model_loss(t, w, b, m, xi, y, s, g);
                if (scores)
                    memcpy(scores + r * t->cols + (size_t)m * k, s, (size_t)k * sizeof(float));
            }
        }
    }
    for (int m = 0; m < nm; m++) {
        double l = 0, wsum = 0;
        for (int th = 0; th < nth; th++)
            l += acc[(size_t)th * (nm + 1) + m], wsum += acc[(size_t)th * (nm + 1) + nm];
        loss[m] = wsum > 0 ? l / wsum : 0;
    }
    free(acc), free(buf);
    if (bad != SIZE_MAX)
        return lt_err_set(err, LT_EINVAL,
                          "linear-learner: %s row %zu has a missing or non-finite feature", what,
                          bad + 1);
    return 0;
}

/* ---- training -------------------------------------------------------------------------- */

/* The training rows in a random order fixed at the start: row i of the order is data row
 * perm[i]. When the normalised copy fits (x != NULL: (n, d) features, y (n) labels as the
 * loss sees them, w (n) weights) the epochs read it sequentially; otherwise each thread
 * normalises rows on the fly. */
typedef struct shuffled {
    const size_t *perm;
    float *x, *y, *w;
} shuffled;

/* Copies the shuffled, normalised rows into sh->x/y/w. LT_EINVAL on a non-finite feature. */
static int shuffled_fill(const trainer *t, const lt_dataset *ds, shuffled *sh, int nth,
                         float *scratch, lt_err *err)
{
    size_t n = ds->x.n_rows, d = (size_t)t->d, bad = SIZE_MAX;
#pragma omp parallel for num_threads(nth) schedule(static) reduction(min : bad)
    for (size_t i = 0; i < n; i++) {
        float *tmp = scratch + (size_t)omp_get_thread_num() * (3 * d + 2 * (size_t)t->k);
        size_t r = sh->perm[i];
        if (!load_row(t, &ds->x, r, sh->x + i * d, tmp) && r < bad) bad = r;
        double wt;
        sh->y[i] = (float)row_label(t, ds, r, &wt);
        sh->w[i] = (float)wt;
    }
    if (bad != SIZE_MAX)
        return lt_err_set(err, LT_EINVAL,
                          "linear-learner: train row %zu has a missing or non-finite feature",
                          bad + 1);
    return 0;
}

/* One epoch, the mini-batches taken in the order `order`; loss[m] gets each model's
 * weighted mean training loss. Each thread walks every mini-batch for its own slice of
 * models: the threads share nothing but read-only data, so none waits for another (on
 * shared cores a per-batch barrier cost more than the work it split). */
static int epoch(trainer *t, const lt_dataset *ds, const shuffled *sh, const size_t *order, int nth,
                 long *it, double *loss, float *grad, float *gbias, float *scratch, lt_err *err)
{
    const lt_linear_params *p = t->p;
    size_t n = ds->x.n_rows, bs = p->mini_batch_size;
    int d = t->d, k = t->k, nm = t->nm;
    size_t bad = SIZE_MAX;
    double wtotal = 0;
    for (int m = 0; m < nm; m++)
        loss[m] = 0;
    long it0 = *it, batches = (long)((n + bs - 1) / bs);
    int workers = nth < nm ? nth : nm;
#pragma omp parallel num_threads(workers) reduction(min : bad)
    {
        int th = omp_get_thread_num(), nt = omp_get_num_threads();
        int m0 = (int)((long)nm * th / nt), m1 = (int)((long)nm * (th + 1) / nt);
        float *buf = scratch + (size_t)th * (3 * (size_t)d + 2 * (size_t)k), *tmp = buf + d,
              *s = tmp + 2 * d, *g = s + k;
        double *lsum = lt_xcalloc((size_t)(m1 - m0) + 1, sizeof(double));
        long local_it = it0;
        for (long bi = 0; bi < batches; bi++) {
            size_t b0 = order[bi] * bs, nb = n - b0 < bs ? n - b0 : bs;
            float *gm = grad + (size_t)m0 * k * d, *gb = gbias + (size_t)m0 * k;
            memset(gm, 0, (size_t)(m1 - m0) * k * d * sizeof(float));
            memset(gb, 0, (size_t)(m1 - m0) * k * sizeof(float));
            double wsum = 0;
            for (size_t i = b0; i < b0 + nb; i++) {
                const float *xi;
                double wt, y;
                if (sh->x) {
                    xi = sh->x + i * d, y = sh->y[i], wt = sh->w[i];
                } else {
                    size_t r = sh->perm[i];
                    if (!load_row(t, &ds->x, r, buf, tmp) && r < bad) bad = r;
                    xi = buf, y = row_label(t, ds, r, &wt);
                }
                if (wt == 0) continue;
                wsum += wt;
                for (int m = m0; m < m1; m++) {
                    lsum[m - m0] += wt * model_loss(t, t->w, t->b, m, xi, y, s, g);
                    for (int c = 0; c < k; c++) {
                        float gc = (float)wt * g[c];
                        if (gc == 0) continue;
                        axpy(grad + (size_t)(m * k + c) * d, gc, xi, d);
                        gbias[m * k + c] += gc;
                    }
                }
            }
            local_it++;
            if (th == 0) wtotal += wsum;
            if (wsum <= 0) continue;
            float inv = (float)(1.0 / wsum);
            for (size_t j = 0; j < (size_t)(m1 - m0) * k * d; j++)
                gm[j] *= inv;
            for (size_t j = 0; j < (size_t)(m1 - m0) * k; j++)
                gb[j] *= inv;
            for (int m = m0; m < m1; m++) {
                double lr = t->lr[m];
                if (p->lr_step > 0 && lr > p->lr_min)
                    lr = fmax(p->lr_min,
                              lr * pow(p->lr_step_factor, (double)(local_it / p->lr_step)));
                size_t off = (size_t)m * k * d;
                step(t, m, t->w + off, t->m1 + off, t->m2 + off, grad + off, (size_t)k * d, lr,
                     t->wd[m], t->l1[m], local_it);
                if (p->use_bias)
                    step(t, m, t->b + (size_t)m * k, t->mb1 + (size_t)m * k, t->mb2 + (size_t)m * k,
                         gbias + (size_t)m * k, (size_t)k, lr * p->bias_lr_mult,
                         t->wd[m] * p->bias_wd_mult, 0, local_it);
            }
        }
        for (int m = m0; m < m1; m++)
            loss[m] = lsum[m - m0];
        free(lsum);
    }
    *it = it0 + batches;
    for (int m = 0; m < nm; m++)
        loss[m] = wtotal > 0 ? loss[m] / wtotal : 0;
    if (bad != SIZE_MAX)
        return lt_err_set(err, LT_EINVAL,
                          "linear-learner: train row %zu has a missing or non-finite feature",
                          bad + 1);
    return 0;
}

/* Chooses the model (and threshold) on ds's first n rows: binary by the selection
 * criterion, the others by loss. */
static int select_model(trainer *t, const lt_dataset *ds, size_t n, int nth, double *threshold,
                        int *chosen, lt_err *err)
{
    const lt_linear_params *p = t->p;
    int nm = t->nm;
    double *loss = lt_xcalloc((size_t)nm, sizeof(double));
    float *scores = NULL;
    bool binary = p->kind == LT_LINEAR_BINARY && p->select != LT_LINEAR_SELECT_LOSS;
    if (binary && !(scores = malloc(n * nm * sizeof(float) + 1))) {
        free(loss);
        return lt_err_set(err, LT_ENOMEM, "linear-learner: out of memory scoring %zu rows", n);
    }
    int rc = evaluate(t, t->best_w, t->best_b, ds, n, nth, loss, scores, "selection", err);
    double loss_threshold = p->loss == LT_LINEAR_LOGISTIC ? 0.5 : 0.0;
    *chosen = 0;
    *threshold = loss_threshold;
    for (int m = 1; m < nm; m++)
        if (loss[m] < loss[*chosen]) *chosen = m;
    if (!rc && binary) {
        double *value = lt_xcalloc((size_t)nm, sizeof(double)),
               *thr = lt_xcalloc((size_t)nm, sizeof(double));
        float *buf = malloc((size_t)nth * n * 2 * sizeof(float) + 1);
        uint64_t *keys = malloc((size_t)nth * n * 2 * sizeof(uint64_t) + 1);
        if (!buf || !keys) {
            rc = lt_err_set(err, LT_ENOMEM, "linear-learner: out of memory choosing a threshold");
        } else {
#pragma omp parallel for num_threads(nth) schedule(dynamic)
            for (int m = 0; m < nm; m++) {
                int th = omp_get_thread_num();
                float *sc = buf + (size_t)th * 2 * n, *lab = sc + n;
                for (size_t i = 0; i < n; i++) {
                    sc[i] = (float)lt_linear__binary_score(p->loss, scores[i * nm + m]);
                    lab[i] = ds->labels[i];
                }
                lt_linear__threshold_select(sc, lab, n, p->select, p, loss_threshold,
                                            keys + (size_t)th * 2 * n, &thr[m], &value[m]);
            }
            *chosen = 0;
            for (int m = 1; m < nm; m++)
                if (value[m] > value[*chosen] ||
                    (value[m] == value[*chosen] && loss[m] < loss[*chosen]))
                    *chosen = m;
            *threshold = thr[*chosen];
        }
        free(value), free(thr), free(buf), free(keys);
    }
    free(loss), free(scores);
    return rc;
}

static void report(const lt_algo_train_args *args, const char *phase, const char *name, double v,
                   int iteration)
{
    if (!args->on_metric) return;
    char full[96];
    snprintf(full, sizeof full, "%s:%s", phase, name);
    args->on_metric(args->metric_ctx, full, v, iteration);
}

/* The label SageMaker's Linear Learner gives a final metric in its log lines
 * ("#quality_metric: host=algo-1, test binary_f_1.000 <score>=0.9", "#test_score (algo-1) :
 * ('binary_f_1.000', 0.9)"): the objective carries the loss's name, F-beta its beta and
 * top-k accuracy its k. */
static void metric_label(const lt_linear_params *p, const char *name, char *out, size_t cap)
{
    if (!strcmp(name, "objective_loss")) {
        static const char *const loss_names[] = {
            [LT_LINEAR_LOGISTIC] = "binary_classification_cross_entropy",
            [LT_LINEAR_HINGE] = "hinge_loss",
            [LT_LINEAR_SQUARED] = "mse",
            [LT_LINEAR_ABSOLUTE] = "absolute_loss",
            [LT_LINEAR_EPS_SQUARED] = "eps_insensitive_squared_loss",
            [LT_LINEAR_EPS_ABSOLUTE] = "eps_insensitive_absolute_loss",
            [LT_LINEAR_QUANTILE] = "quantile_loss",
            [LT_LINEAR_HUBER] = "huber_loss",
            [LT_LINEAR_SOFTMAX] = "multiclass_cross_entropy",
        };
        snprintf(out, cap, "%s_objective", loss_names[p->loss]);
    } else if (!strcmp(name, "binary_f_beta")) {
        snprintf(out, cap, "binary_f_%.3f", p->f_beta);
    } else if (!strcmp(name, "macro_f_beta")) {
        snprintf(out, cap, "macro_f_%.3f", p->f_beta);
    } else if (!strcmp(name, "multiclass_top_k_accuracy")) {
        snprintf(out, cap, "multiclass_top_k_accuracy_%d", p->accuracy_top_k);
    } else {
        snprintf(out, cap, "%s", name);
    }
}

/* A final metric: the phase:name line the metric regexes read and, on the test channel,
 * SageMaker's "#test_score (algo-1) : ('<label>', <value>)" line before it. */
static void report_final(const lt_algo_train_args *args, const lt_linear_params *p,
                         const char *phase, const char *name, double v)
{
    if (args->on_log && !strcmp(phase, "test")) {
        char label[64], line[160];
        metric_label(p, name, label, sizeof label);
        snprintf(line, sizeof line, "#test_score (algo-1) : ('%s', %.17g)", label, v);
        args->on_log(args->metric_ctx, line);
    }
    report(args, phase, name, v, -1);
}

/* Area under the ROC curve of n scores against 0/1 labels, ties counted half (the
 * Mann-Whitney statistic); NaN when one class is absent. */
typedef struct scored {
    float s, y;
} scored;
static int by_score(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}
static double roc_auc(const double *out, size_t stride, const float *labels, size_t n)
{
    scored *v = lt_xmalloc((n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (scored){(float)out[i * stride], labels[i] > 0.5f};
    qsort(v, n, sizeof *v, by_score);
    double pos = 0, rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double npos = 0;
        while (j < n && v[j].s == v[i].s) npos += v[j++].y;
        rank_sum += npos * ((double)(i + 1) + (double)j) / 2; /* the tied ranks' mean */
        pos += npos;
        i = j;
    }
    free(v);
    double neg = (double)n - pos;
    if (pos == 0 || neg == 0) return NAN;
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

/* The final metrics of the kept model on ds, as SageMaker names them. */
static int final_metrics(const lt_algo_model *model, const lt_linear_params *p,
                         const lt_algo_train_args *args, const lt_dataset *ds, const char *phase,
                         int nth, lt_err *err)
{
    size_t n = ds->x.n_rows, wdt = lt_linear__output_width(model);
    if (!n || !args->on_metric) return 0;
    double *out = malloc(n * wdt * sizeof(double));
    if (!out) return lt_err_set(err, LT_ENOMEM, "linear-learner: out of memory for metrics");
    int rc = lt_linear__predict(model, &ds->x, nth, out, err);
    if (rc) {
        free(out);
        return rc;
    }
    double lsum = 0, se = 0, ae = 0, g;
    for (size_t i = 0; i < n; i++) {
        const double *o = out + i * wdt;
        double y = ds->labels[i];
        if (p->kind == LT_LINEAR_MULTICLASS) {
            lsum += -log(fmax(o[1 + (int)y], 1e-15));
        } else if (p->kind == LT_LINEAR_BINARY) {
            if (p->loss == LT_LINEAR_LOGISTIC)
                lsum += -log(fmax(y > 0.5 ? o[1] : 1 - o[1], 1e-15));
            else
                lsum += lt_linear__loss(p->loss, p, o[1], y, &g);
        } else {
            lsum += lt_linear__loss(p->loss, p, o[0], y, &g);
            se += (o[0] - y) * (o[0] - y), ae += fabs(o[0] - y);
        }
    }
    report_final(args, p, phase, "objective_loss", lsum / (double)n);
    if (p->kind == LT_LINEAR_REGRESSOR) {
        report_final(args, p, phase, "mse", se / (double)n);
        report_final(args, p, phase, "absolute_loss", ae / (double)n);
    } else if (p->kind == LT_LINEAR_BINARY) {
        float *sc = lt_xmalloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            sc[i] = (float)out[i * wdt + 1];
        lt_linear_binary_stats s =
            lt_linear__binary_stats(sc, ds->labels, n, model->threshold, p->f_beta);
        free(sc);
        report_final(args, p, phase, "binary_classification_accuracy", s.accuracy);
        report_final(args, p, phase, "binary_f_beta", s.f_beta);
        report_final(args, p, phase, "precision", s.precision);
        report_final(args, p, phase, "recall", s.recall);
        double auc = roc_auc(out + 1, wdt, ds->labels, n);
        if (isfinite(auc)) report_final(args, p, phase, "roc_auc_score", auc);
    } else {
        lt_linear_multiclass_stats s = lt_linear__multiclass_stats(
            out + 1, wdt, ds->labels, n, p->num_classes, p->accuracy_top_k, p->f_beta);
        report_final(args, p, phase, "multiclass_accuracy", s.accuracy);
        report_final(args, p, phase, "multiclass_top_k_accuracy", s.top_k_accuracy);
        report_final(args, p, phase, "macro_f_beta", s.macro_f_beta);
        report_final(args, p, phase, "macro_precision", s.macro_precision);
        report_final(args, p, phase, "macro_recall", s.macro_recall);
    }
    free(out);
    return 0;
}

static void trainer_free(trainer *t)
{
    free(t->x_mean), free(t->x_scale), free(t->x_inv), free(t->class_mult);
    free(t->w), free(t->b), free(t->best_w), free(t->best_b);
    free(t->lr), free(t->wd), free(t->l1);
    free(t->m1), free(t->m2), free(t->mb1), free(t->mb2);
}

int lt_linear__train(const lt_linear_params *p, const lt_algo_train_args *args, lt_algo_model **out,
                     lt_err *err)
{
    const lt_dataset *tr = args->train, *va = args->validation, *te = args->test;
    if (va && va->x.n_rows == 0) va = NULL;
    if (te && te->x.n_rows == 0) te = NULL;
    size_t n = tr->x.n_rows;
    if (p->feature_dim && tr->x.n_cols != (size_t)p->feature_dim)
        return lt_err_set(err, LT_EINVAL,
                          "hyperparameter feature_dim=%d does not match the train data's %zu "
                          "columns",
                          p->feature_dim, tr->x.n_cols);
    if (n == 0 || tr->x.n_cols == 0)
        return lt_err_set(err, LT_EINVAL, "linear-learner: the train data is empty");
    if (va && va->x.n_cols != tr->x.n_cols)
        return lt_err_set(err, LT_EINVAL,
                          "linear-learner: the validation data has %zu columns, train %zu",
                          va->x.n_cols, tr->x.n_cols);
    if (te && te->x.n_cols != tr->x.n_cols)
        return lt_err_set(err, LT_EINVAL, "linear-learner: the test data has %zu columns, train %zu",
                          te->x.n_cols, tr->x.n_cols);
    int rc = check_labels(p, tr, "train", err);
    if (!rc && va) rc = check_labels(p, va, "validation", err);
    if (!rc && te) rc = check_labels(p, te, "test", err);
    if (rc) return rc;
    int nth = args->threads > 0 ? args->threads : omp_get_max_threads();

    trainer t = {.p = p, .lp = *p};
    t.d = (int)tr->x.n_cols;
    t.k = p->kind == LT_LINEAR_MULTICLASS ? p->num_classes : 1;
    t.nm = p->num_models;
    t.cols = t.nm * t.k;
    size_t d = (size_t)t.d, nw = (size_t)t.cols * d;
    if ((double)nw * 6 * sizeof(float) > (double)((size_t)4 << 30))
        return lt_err_set(err, LT_ELIMIT,
                          "linear-learner: %d models x %d outputs x %zu features exceed 4 GiB "
                          "of parameters; lower num_models",
                          t.nm, t.k, d);
    uint64_t rng = p->seed * 0x9E3779B97F4A7C15ULL + 17;
    t.x_mean = lt_xcalloc(d, sizeof(float));
    t.x_scale = lt_xcalloc(d, sizeof(float));
    t.x_inv = lt_xcalloc(d, sizeof(float));
    t.w = lt_xcalloc(nw, sizeof(float)), t.b = lt_xcalloc((size_t)t.cols, sizeof(float));
    t.best_w = lt_xcalloc(nw, sizeof(float)), t.best_b = lt_xcalloc((size_t)t.cols, sizeof(float));
    t.m1 = lt_xcalloc(nw, sizeof(float)), t.m2 = lt_xcalloc(nw, sizeof(float));
    t.mb1 = lt_xcalloc((size_t)t.cols, sizeof(float)),
    t.mb2 = lt_xcalloc((size_t)t.cols, sizeof(float));
    t.lr = lt_xcalloc((size_t)t.nm, sizeof(double));
    t.wd = lt_xcalloc((size_t)t.nm, sizeof(double));
    t.l1 = lt_xcalloc((size_t)t.nm, sizeof(double));
    statistics(&t, tr, &rng);
    for (size_t j = 0; j < d; j++)
        t.x_inv[j] = 1.0f / t.x_scale[j];
    t.lp.loss_insensitivity = p->loss_insensitivity / t.y_scale;
    t.lp.huber_delta = p->huber_delta / t.y_scale;
    bool sq = p->loss == LT_LINEAR_SQUARED || p->loss == LT_LINEAR_EPS_SQUARED ||
              p->loss == LT_LINEAR_HUBER;
    t.loss_factor = p->kind != LT_LINEAR_REGRESSOR ? 1 : sq ? t.y_scale * t.y_scale : t.y_scale;
    t.pos_mult = p->positive_weight;
    if (p->kind == LT_LINEAR_BINARY && p->positive_weight < 0) { /* balanced */
        double pos = 0;
        for (size_t i = 0; i < n; i++)
            pos += tr->labels[i] > 0.5f;
        t.pos_mult = pos > 0 && pos < (double)n ? ((double)n - pos) / pos : 1;
    }
    if (p->kind == LT_LINEAR_MULTICLASS && p->balance_multiclass) {
        t.class_mult = lt_xcalloc((size_t)t.k, sizeof(double));
        for (size_t i = 0; i < n; i++)
            t.class_mult[(int)tr->labels[i]]++;
        for (int c = 0; c < t.k; c++)
            t.class_mult[c] = t.class_mult[c] > 0 ? (double)n / (t.k * t.class_mult[c]) : 1;
    }
    setup_models(&t, &rng);
    memcpy(t.best_w, t.w, nw * sizeof(float));
    memcpy(t.best_b, t.b, (size_t)t.cols * sizeof(float));

    size_t *perm = malloc(n * sizeof(size_t)), *order = malloc(n * sizeof(size_t));
    float *grad = malloc(nw * sizeof(float) + 1), *gbias = malloc((size_t)t.cols * sizeof(float));
    float *scratch = malloc((size_t)nth * (3 * d + 2 * (size_t)t.k) * sizeof(float));
    double *loss = lt_xcalloc((size_t)t.nm, sizeof(double)),
           *vloss = lt_xcalloc((size_t)t.nm, sizeof(double));
    double *best = lt_xcalloc((size_t)t.nm, sizeof(double));
    lt_algo_model *model = NULL;
    shuffled sh = {0};
    if (!perm || !order || !grad || !gbias || !scratch) {
        rc = lt_err_set(err, LT_ENOMEM, "linear-learner: out of memory for %zu rows", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates, once: rows keep their batch */
        size_t j = lt_algo__rng_below(&rng, i + 1), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
    }
    size_t nbatch = (n + p->mini_batch_size - 1) / p->mini_batch_size;
    for (size_t i = 0; i < nbatch; i++)
        order[i] = i;
    sh.perm = perm;
    if ((double)n * (double)(d + 2) * sizeof(float) <= (double)p->copy_max_bytes) {
        sh.x = malloc(n * d * sizeof(float) + 1);
        sh.y = malloc(n * sizeof(float) + 1);
        sh.w = malloc(n * sizeof(float) + 1);
        if (!sh.x || !sh.y || !sh.w) { /* fall back to normalising on the fly */
            free(sh.x), free(sh.y), free(sh.w);
            sh.x = sh.y = sh.w = NULL;
        } else if ((rc = shuffled_fill(&t, tr, &sh, nth, scratch, err))) {
            goto done;
        }
    }
    for (int m = 0; m < t.nm; m++)
        best[m] = INFINITY;
    long it = 0;
    double best_overall = INFINITY;
    int stale = 0;
    for (int e = 0; e < p->epochs && !rc; e++) {
        for (size_t i = nbatch - 1; i > 0; i--) { /* a new batch order every epoch */
            size_t j = lt_algo__rng_below(&rng, i + 1), tmp = order[i];
            order[i] = order[j], order[j] = tmp;
        }
        rc = epoch(&t, tr, &sh, order, nth, &it, loss, grad, gbias, scratch, err);
        if (rc) break;
        const double *watch = loss;
        if (va) {
            rc = evaluate(&t, t.w, t.b, va, va->x.n_rows, nth, vloss, NULL, "validation", err);
            if (rc) break;
            watch = vloss;
        }
        double cur = INFINITY, tr_best = INFINITY;
        for (int m = 0; m < t.nm; m++) {
            if (!isfinite(watch[m])) continue; /* a diverged model is never kept */
            if (watch[m] < best[m]) {
                best[m] = watch[m];
                memcpy(t.best_w + (size_t)m * t.k * d, t.w + (size_t)m * t.k * d,
                       (size_t)t.k * d * sizeof(float));
                memcpy(t.best_b + (size_t)m * t.k, t.b + (size_t)m * t.k,
                       (size_t)t.k * sizeof(float));
            }
            cur = fmin(cur, watch[m]);
            tr_best = fmin(tr_best, loss[m]);
        }
        report(args, "train", "objective_loss", tr_best * t.loss_factor, e);
        if (va) report(args, "validation", "objective_loss", cur * t.loss_factor, e);
        if (cur < best_overall * (1 - p->early_stopping_tolerance)) {
            stale = 0;
        } else if (++stale >= p->early_stopping_patience) {
            best_overall = fmin(best_overall, cur);
            break;
        }
        best_overall = fmin(best_overall, cur);
    }
    if (rc) goto done;

    const lt_dataset *sel = va ? va : tr;
    size_t nsel =
        sel->x.n_rows < p->num_calibration_samples ? sel->x.n_rows : p->num_calibration_samples;
    double threshold = 0;
    int chosen = 0;
    rc = select_model(&t, sel, nsel, nth, &threshold, &chosen, err);
    if (rc) goto done;
    model = lt_linear__model_new(p->kind, p->loss, t.d, t.k);
    memcpy(model->weights, t.best_w + (size_t)chosen * t.k * d, (size_t)t.k * d * sizeof(float));
    memcpy(model->bias, t.best_b + (size_t)chosen * t.k, (size_t)t.k * sizeof(float));
    memcpy(model->x_mean, t.x_mean, d * sizeof(float));
    memcpy(model->x_scale, t.x_scale, d * sizeof(float));
    model->y_mean = t.y_mean, model->y_scale = t.y_scale;
    model->threshold = threshold;
    lt_linear__model_fold(model);
    rc = final_metrics(model, p, args, sel, va ? "validation" : "train", nth, err);
    /* The test channel is scored once, with the model kept (SageMaker's test:* metrics). */
    if (!rc && te) rc = final_metrics(model, p, args, te, "test", nth, err);
done:
    free(perm), free(order), free(grad), free(gbias), free(scratch);
    free(sh.x), free(sh.y), free(sh.w);
    free(loss), free(vloss), free(best);
    trainer_free(&t);
    if (rc) {
        lt_linear__model_free(model);
        model = NULL;
    }
    *out = model;
    return rc;
}
