/* SageMaker's XGBoost (built-in algorithm "xgboost"): gradient-boosted trees trained
 * with XGBoost 1.7's hist method, saved in XGBoost's own JSON model format so that a
 * model moves between Lathe and python3-xgboost in both directions.
 *
 * Each round computes gradients from the cached training margins, grows one tree per
 * output group (grow.c), adds its leaves to the cache, and evaluates every eval_metric on
 * train and validation, logged the way SageMaker's container logs them:
 * "[i]\ttrain-rmse:0.12345\tvalidation-rmse:0.23456" (%.5f, XGBoost's EvaluationMonitor).
 * With early_stopping_rounds and a validation channel, training stops once the last
 * metric on validation has not improved for that many rounds, and the model keeps the
 * trees up to the best round (attributes best_iteration / best_score record it).
 *
 * subsample draws rows per round (Bernoulli, seeded); colsample_* draw features per tree,
 * level and node; the draws do not reproduce XGBoost's random streams. */
#include "algo/algo_internal.h"
#include "algo/xgboost/xgboost.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char model_file[] = "xgboost-model";
static const char importance_file[] = "feature_importance.json";

/* ---- model helpers ------------------------------------------------------------------ */

void lt_xgb__tree_alloc(lt_xgb_tree *t, int n)
{
    size_t c = (size_t)(n > 0 ? n : 1);
    t->n_nodes = n;
    t->left = lt_xcalloc(c, sizeof(int32_t));
    t->right = lt_xcalloc(c, sizeof(int32_t));
    t->parent = lt_xcalloc(c, sizeof(int32_t));
    t->split_index = lt_xcalloc(c, sizeof(uint32_t));
    t->split_cond = lt_xcalloc(c, sizeof(float));
    t->default_left = lt_xcalloc(c, 1);
    t->base_weight = lt_xcalloc(c, sizeof(float));
    t->loss_chg = lt_xcalloc(c, sizeof(float));
    t->sum_hess = lt_xcalloc(c, sizeof(float));
}

void lt_xgb__tree_free(lt_xgb_tree *t)
{
    free(t->left);
    free(t->right);
    free(t->parent);
    free(t->split_index);
    free(t->split_cond);
    free(t->default_left);
    free(t->base_weight);
    free(t->loss_chg);
    free(t->sum_hess);
    memset(t, 0, sizeof *t);
}

void lt_xgb__model_add_tree(lt_xgb_model *m, lt_xgb_tree *t, int group)
{
    if (m->n_trees == m->cap_trees) {
        m->cap_trees = m->cap_trees ? 2 * m->cap_trees : 16;
        m->trees = lt_xrealloc(m->trees, sizeof(lt_xgb_tree) * (size_t)m->cap_trees);
        m->tree_info = lt_xrealloc(m->tree_info, sizeof(int) * (size_t)m->cap_trees);
    }
    m->trees[m->n_trees] = *t;
    m->tree_info[m->n_trees++] = group;
    memset(t, 0, sizeof *t);
}

void lt_xgb__model_free(lt_xgb_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_trees; i++)
        lt_xgb__tree_free(&m->trees[i]);
    free(m->trees);
    free(m->tree_info);
    lt_xgb__flat_free(m->flat);
    free(m);
}

void lt_xgb__importance(const lt_xgb_model *m, double *weight, double *gain, double *cover)
{
    memset(weight, 0, sizeof(double) * (size_t)m->num_feature);
    memset(gain, 0, sizeof(double) * (size_t)m->num_feature);
    memset(cover, 0, sizeof(double) * (size_t)m->num_feature);
    for (int t = 0; t < m->n_trees; t++) {
        const lt_xgb_tree *tr = &m->trees[t];
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->left[i] < 0) continue;
            uint32_t f = tr->split_index[i];
            weight[f] += 1;
            gain[f] += tr->loss_chg[i];
            cover[f] += tr->sum_hess[i];
        }
    }
}

/* ---- training ----------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct wv {
    float v, w;
} wv;

static int by_value(const void *a, const void *b)
{
    float x = ((const wv *)a)->v, y = ((const wv *)b)->v;
    return (x > y) - (x < y);
}

/* Lower weighted median of e (n); NaN when the weights sum to zero. Sorts e. */
static double weighted_median(wv *e, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += e[i].w;
    if (n == 0 || total <= 0) return NAN;
    qsort(e, n, sizeof *e, by_value);
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += e[i].w;
        if (acc >= total / 2) return e[i].v;
    }
    return e[n - 1].v;
}

static int check_data(const lt_dataset *ds, const char *what, int n_cols, lt_err *err)
{
    if (ds->x.kind != LT_MATRIX_DENSE)
        return lt_err_set(err, LT_EINVAL, "xgboost: %s data must be dense (densify CSR first)",
                          what);
    if (!ds->labels)
        return lt_err_set(err, LT_EINVAL,
                          "xgboost: %s data has no labels (text/csv carries the "
                          "label in the first column)",
                          what);
    if (ds->x.n_rows == 0) return lt_err_set(err, LT_EINVAL, "xgboost: %s data has no rows", what);
    if (ds->x.n_rows >= UINT32_MAX)
        return lt_err_set(err, LT_ELIMIT, "xgboost: %s data has more than 2^32 rows", what);
    if (n_cols >= 0 && ds->x.n_cols != (size_t)n_cols)
        return lt_err_set(err, LT_EINVAL, "xgboost: %s data has %zu feature columns, train has %d",
                          what, ds->x.n_cols, n_cols);
    if (ds->x.n_cols == 0 || ds->x.n_cols > 65535 * 256)
        return lt_err_set(err, LT_EINVAL, "xgboost: %s data has %zu feature columns", what,
                          ds->x.n_cols);
    return 0;
}

/* MAE: each leaf becomes eta x the weighted median of its rows' residuals (XGBoost 1.7's
 * UpdateTreeLeaf for reg:absoluteerror). */
static void refresh_leaves_mae(lt_xgb_grower *g, lt_xgb_tree *tr, const float *margins,
                               const float *labels, const float *weights, double eta, wv *scratch)
{
    for (int i = 0; i < tr->n_nodes; i++) {
        const uint32_t *rows;
        size_t cnt;
        if (!lt_xgb__grower_leaf_rows(g, i, &rows, &cnt)) continue;
        for (size_t q = 0; q < cnt; q++) {
            uint32_t r = rows[q];
            scratch[q].v = labels[r] - margins[r];
            scratch[q].w = weights ? weights[r] : 1.0f;
        }
        double med = weighted_median(scratch, cnt);
        tr->split_cond[i] = isfinite(med) ? (float)(eta * med) : 0.0f;
    }
}

static void add_leaves(lt_xgb_grower *g, const lt_xgb_tree *tr, float *margins)
{
    for (int i = 0; i < tr->n_nodes; i++) {
        const uint32_t *rows;
        size_t cnt;
        if (!lt_xgb__grower_leaf_rows(g, i, &rows, &cnt)) continue;
        for (size_t q = 0; q < cnt; q++)
            margins[rows[q]] += tr->split_cond[i];
    }
}

typedef struct train_state {
    lt_xgb_params p;
    lt_xgb_model *m;
    lt_xgb_hist hist;
    lt_xgb_grower *grower;
    float *margins, *vmargins; /* (n, k), (nv, k) */
    float *grad, *hess;        /* (n) */
    uint8_t *sampled, *feat_mask;
    wv *mae_scratch;
} train_state;

static void state_free(train_state *s)
{
    lt_xgb__hist_free(&s->hist);
    lt_xgb__grower_free(s->grower);
    free(s->margins);
    free(s->vmargins);
    free(s->grad);
    free(s->hess);
    free(s->sampled);
    free(s->feat_mask);
    free(s->mae_scratch);
    lt_xgb__model_free(s->m);
}

static void log_round(const lt_algo_train_args *args, const train_state *s, int round,
                      const double *tv, const double *vv)
{
    char line[1024];
    size_t len = (size_t)snprintf(line, sizeof line, "[%d]", round);
    for (int i = 0; i < s->p.n_metrics && len < sizeof line; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, "\ttrain-%s:%.5f", s->p.metrics[i],
                                tv[i]);
    for (int i = 0; vv && i < s->p.n_metrics && len < sizeof line; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, "\tvalidation-%s:%.5f",
                                s->p.metrics[i], vv[i]);
    if (args->on_log) args->on_log(args->metric_ctx, line);
    if (args->on_metric) {
        char name[64];
        for (int i = 0; i < s->p.n_metrics; i++) {
            snprintf(name, sizeof name, "train:%s", s->p.metrics[i]);
            args->on_metric(args->metric_ctx, name, tv[i], round);
            if (!vv) continue;
            snprintf(name, sizeof name, "validation:%s", s->p.metrics[i]);
            args->on_metric(args->metric_ctx, name, vv[i], round);
        }
    }
}

static int xgb_train(const lt_algo_train_args *args, lt_algo_model **out, lt_err *err)
{
    train_state s;
    memset(&s, 0, sizeof s);
    int rc = lt_xgb__params_parse(args->hyperparameters, &s.p, err);
    if (rc) return rc;
    const lt_dataset *tr = args->train, *va = args->validation;
    if ((rc = check_data(tr, "train", -1, err))) return rc;
    int F = (int)tr->x.n_cols;
    if (va && (rc = check_data(va, "validation", F, err))) return rc;
    /* The caller's thread count wins; else XGBoost's nthread hyperparameter; else all. */
    int hp_threads = (int)lt_algo_hp_number(lt_xgb__hp_specs, args->hyperparameters, "nthread");
    int nth = args->threads > 0 ? args->threads
              : hp_threads > 0  ? hp_threads
                                : omp_get_max_threads();
    size_t n = tr->x.n_rows, nv = va ? va->x.n_rows : 0;

    lt_xgb_model *m = s.m = lt_xcalloc(1, sizeof *m);
    m->objective = s.p.objective;
    m->num_feature = F;
    m->num_class = s.p.num_class;
    m->scale_pos_weight = s.p.scale_pos_weight;
    m->tweedie_variance_power = s.p.tweedie_variance_power;
    m->poisson_max_delta_step = 0.7;
    m->best_iteration = -1;
    if ((rc = lt_xgb__labels_check(m, tr->labels, n, err))) goto fail;
    m->base_score = (float)s.p.base_score;
    if (m->objective == LT_XGB_OBJ_ABSOLUTEERROR) s.mae_scratch = lt_xmalloc(sizeof(wv) * (n + 1));
    if (m->objective == LT_XGB_OBJ_ABSOLUTEERROR && !s.p.base_score_given) {
        /* XGBoost 1.7 starts reg:absoluteerror from the weighted median of the labels. */
        for (size_t i = 0; i < n; i++)
            s.mae_scratch[i] = (wv){tr->labels[i], tr->weights ? tr->weights[i] : 1.0f};
        double med = weighted_median(s.mae_scratch, n);
        m->base_score = isfinite(med) ? (float)med : 0.5f;
    }

    if ((rc = lt_xgb__hist_build(tr->x.values, n, F, s.p.max_bin, nth, &s.hist, err))) goto fail;
    lt_xgb_grow_params gp = {.eta = s.p.eta,
                             .lambda = s.p.lambda,
                             .alpha = s.p.alpha,
                             .gamma = s.p.gamma,
                             .min_child_weight = s.p.min_child_weight,
                             .max_delta_step = s.p.max_delta_step,
                             .max_depth = s.p.max_depth,
                             .max_leaves = s.p.max_leaves,
                             .lossguide = s.p.lossguide,
                             .colsample_bylevel = s.p.colsample_bylevel,
                             .colsample_bynode = s.p.colsample_bynode,
                             .seed = s.p.seed};
    s.grower = lt_xgb__grower_new(&s.hist, &gp, nth);
    int k = lt_xgb__n_groups(m);
    float base = lt_xgb__base_margin(m);
    s.margins = malloc(sizeof(float) * (n * (size_t)k + 1));
    s.vmargins = malloc(sizeof(float) * (nv * (size_t)k + 1));
    s.grad = malloc(sizeof(float) * (n + 1));
    s.hess = malloc(sizeof(float) * (n + 1));
    s.sampled = malloc(n + 1);
    s.feat_mask = malloc((size_t)F + 1);
    if (!s.margins || !s.vmargins || !s.grad || !s.hess || !s.sampled || !s.feat_mask) {
        rc = lt_err_set(err, LT_ENOMEM, "xgboost: out of memory for %zu rows", n);
        goto fail;
    }
    for (size_t i = 0; i < n * (size_t)k; i++)
        s.margins[i] = base;
    for (size_t i = 0; i < nv * (size_t)k; i++)
        s.vmargins[i] = base;
    float *col_margin = k > 1 || s.mae_scratch ? lt_xmalloc(sizeof(float) * (n + 1)) : NULL;

    uint64_t rng = s.p.seed * 0x2545F4914F6CDD1DULL + 0x1234567ULL;
    int esr = va ? s.p.early_stopping_rounds : 0;
    const char *es_metric = s.p.metrics[s.p.n_metrics - 1];
    bool maximize = lt_xgb__metric_maximize(es_metric);
    double best = maximize ? -INFINITY : INFINITY, tv[LT_XGB_MAX_METRICS], vv[LT_XGB_MAX_METRICS];
    int best_round = -1, round;
    for (round = 0; round < s.p.num_round; round++) {
        /* colsample_bytree: features per tree; subsample: rows per round. */
        for (int f = 0; f < F; f++)
            s.feat_mask[f] = 1;
        if (s.p.colsample_bytree < 1.0) {
            int keep = (int)((double)F * s.p.colsample_bytree);
            if (keep < 1) keep = 1;
            for (int f = 0; f < F; f++)
                s.feat_mask[f] = 0;
            for (int c = 0; c < keep;) {
                int f = (int)(rng_next(&rng) % (uint64_t)F);
                if (!s.feat_mask[f]) s.feat_mask[f] = 1, c++;
            }
        }
        if (s.p.subsample < 1.0)
            for (size_t i = 0; i < n; i++)
                s.sampled[i] = (double)(rng_next(&rng) >> 11) * 0x1.0p-53 < s.p.subsample;
        int t0 = m->n_trees;
        for (int g = 0; g < k; g++) {
            lt_xgb__gradients(m, s.margins, n, g, tr->labels, tr->weights, nth, s.grad, s.hess);
            if (s.p.subsample < 1.0)
                for (size_t i = 0; i < n; i++)
                    if (!s.sampled[i]) s.grad[i] = 0, s.hess[i] = 0;
            lt_xgb_tree tree;
            memset(&tree, 0, sizeof tree);
            uint64_t seed = s.p.seed ^ ((uint64_t)(round * k + g + 1) * 0x9E3779B97F4A7C15ULL);
            /* Multi-class and MAE update a column of the cache through add_leaves. */
            bool direct = k == 1 && !s.mae_scratch;
            rc = lt_xgb__grow(s.grower, s.grad, s.hess, s.feat_mask, seed, &tree,
                              direct ? s.margins : NULL, k, g, err);
            if (rc) {
                lt_xgb__tree_free(&tree);
                free(col_margin);
                goto fail;
            }
            if (!direct) {
                for (size_t i = 0; i < n; i++)
                    col_margin[i] = s.margins[i * (size_t)k + (size_t)g];
                if (s.mae_scratch)
                    refresh_leaves_mae(s.grower, &tree, col_margin, tr->labels, tr->weights,
                                       s.p.eta, s.mae_scratch);
                add_leaves(s.grower, &tree, col_margin);
                for (size_t i = 0; i < n; i++)
                    s.margins[i * (size_t)k + (size_t)g] = col_margin[i];
            }
            lt_xgb__model_add_tree(m, &tree, g);
        }
        if (va) lt_xgb__predict_margins(m, &va->x, t0, m->n_trees, nth, s.vmargins, err);
        for (int i = 0; i < s.p.n_metrics; i++) {
            tv[i] =
                lt_xgb__metric_eval(s.p.metrics[i], m, s.margins, n, tr->labels, tr->weights, nth);
            if (va)
                vv[i] = lt_xgb__metric_eval(s.p.metrics[i], m, s.vmargins, nv, va->labels,
                                            va->weights, nth);
        }
        log_round(args, &s, round, tv, va ? vv : NULL);
        /* A metric that is undefined on this data (auc with one class) never stops. */
        if (esr > 0 && !isnan(vv[s.p.n_metrics - 1])) {
            double score = vv[s.p.n_metrics - 1];
            if (maximize ? score > best : score < best)
                best = score, best_round = round;
            else if (round - best_round >= esr)
                break;
        }
    }
    free(col_margin);
    if (esr > 0 && best_round >= 0) {
        for (int t = (best_round + 1) * k; t < m->n_trees; t++)
            lt_xgb__tree_free(&m->trees[t]);
        m->n_trees = (best_round + 1) * k;
        m->best_iteration = best_round;
        m->best_score = best;
    }
    m->flat = lt_xgb__flat_new(m, 0, m->n_trees);
    s.m = NULL;
    state_free(&s);
    *out = m;
    return 0;
fail:
    state_free(&s);
    return rc;
}

/* ---- files -------------------------------------------------------------------------- */

static int write_importance(const lt_xgb_model *m, const char *dir, lt_err *err)
{
    size_t F = (size_t)m->num_feature;
    double *w = lt_xmalloc(sizeof(double) * 3 * (F + 1)), *g = w + F + 1, *c = g + F + 1;
    lt_xgb__importance(m, w, g, c);
    lt_buf b;
    lt_buf_init(&b, SIZE_MAX / 2);
    /* XGBoost's get_score(importance_type=...): gain and cover are averages per split. */
    static const char *const kinds[] = {"weight", "gain", "cover", "total_gain", "total_cover"};
    int rc = lt_buf_puts(&b, "{", err);
    for (int kind = 0; kind < 5 && !rc; kind++) {
        rc = lt_buf_printf(&b, err, "%s\"%s\":{", kind ? "," : "", kinds[kind]);
        bool first = true;
        for (size_t f = 0; f < F && !rc; f++) {
            if (w[f] == 0) continue;
            double v = kind == 0   ? w[f]
                       : kind == 1 ? g[f] / w[f]
                       : kind == 2 ? c[f] / w[f]
                       : kind == 3 ? g[f]
                                   : c[f];
            rc = lt_buf_printf(&b, err, "%s\"f%zu\":%.9g", first ? "" : ",", f, v);
            first = false;
        }
        if (!rc) rc = lt_buf_puts(&b, "}", err);
    }
    if (!rc) rc = lt_buf_puts(&b, "}\n", err);
    char *path = lt_xasprintf("%s/%s", dir, importance_file);
    if (!rc) rc = lt_file_write_atomic(path, b.data, b.len, 0644, err);
    free(path);
    lt_buf_free(&b);
    free(w);
    return rc;
}

static int xgb_save(const lt_algo_model *m, const char *dir, lt_err *err)
{
    char *text = lt_xgb__model_to_json(m);
    char *path = lt_xasprintf("%s/%s", dir, model_file);
    int rc = lt_file_write_atomic(path, text, strlen(text), 0644, err);
    free(path);
    free(text);
    return rc ? rc : write_importance(m, dir, err);
}

static int xgb_load(const char *dir, lt_algo_model **out, lt_err *err)
{
    /* SageMaker's container names the file xgboost-model; a save_model("x.json") copy
     * named xgboost-model.json is accepted too. */
    char *path = lt_xasprintf("%s/%s", dir, model_file);
    if (access(path, R_OK) != 0) {
        free(path);
        path = lt_xasprintf("%s/%s.json", dir, model_file);
    }
    lt_buf text;
    lt_buf_init(&text, (size_t)4 << 30);
    int rc = lt_file_read(path, &text, err);
    if (!rc) {
        rc = lt_xgb__model_from_json(text.data, text.len, out, err);
        if (rc) {
            /* prefix the file name to the member path */
            lt_err located = {0};
            lt_err_set(&located, rc, "%s: %s", path, err->msg);
            memcpy(err->msg, located.msg, sizeof err->msg);
        }
    }
    lt_buf_free(&text);
    free(path);
    return rc;
}

static size_t xgb_output_width(const lt_algo_model *m)
{
    return lt_xgb__output_width(m);
}

static int xgb_predict(const lt_algo_model *m, const lt_matrix *x, int threads, double *out,
                       lt_err *err)
{
    int k = lt_xgb__n_groups(m);
    size_t n = x->n_rows, width = lt_xgb__output_width(m);
    float *margins = malloc(sizeof(float) * (n * (size_t)k + 1));
    if (!margins) return lt_err_set(err, LT_ENOMEM, "xgboost: out of memory for %zu rows", n);
    float base = lt_xgb__base_margin(m);
    for (size_t i = 0; i < n * (size_t)k; i++)
        margins[i] = base;
    int rc = lt_xgb__predict_margins(m, x, 0, m->n_trees, threads, margins, err);
    int nth = threads > 0 ? threads : omp_get_max_threads();
    if (!rc && (n < 4096 || nth == 1)) { /* no OpenMP region for a few rows */
        for (size_t i = 0; i < n; i++)
            lt_xgb__transform(m, margins + i * (size_t)k, false, out + i * width);
    } else if (!rc) {
#pragma omp parallel for num_threads(nth) schedule(static)
        for (size_t i = 0; i < n; i++)
            lt_xgb__transform(m, margins + i * (size_t)k, false, out + i * width);
    }
    free(margins);
    return rc;
}

static int xgb_format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    size_t width = lt_xgb__output_width(m);
    if (width == 1) return lt_buf_printf(out, err, "{\"score\":%.9g}", row[0]);
    int rc = lt_buf_puts(out, "{\"score\":[", err);
    for (size_t i = 0; i < width && !rc; i++)
        rc = lt_buf_printf(out, err, i ? ",%.9g" : "%.9g", row[i]);
    return rc ? rc : lt_buf_puts(out, "]}", err);
}

static void xgb_free(lt_algo_model *m)
{
    lt_xgb__model_free(m);
}

static const char *const xgb_images[] = {"sagemaker-xgboost", NULL};
static const char *const xgb_content_types[] = {"text/csv", "text/libsvm", "application/jsonlines",
                                                NULL};
static const char *const xgb_metrics[] = {"train:rmse",
                                          "train:mae",
                                          "train:logloss",
                                          "train:error",
                                          "train:auc",
                                          "train:aucpr",
                                          "train:merror",
                                          "train:mlogloss",
                                          "train:poisson-nloglik",
                                          "validation:rmse",
                                          "validation:mae",
                                          "validation:logloss",
                                          "validation:error",
                                          "validation:auc",
                                          "validation:aucpr",
                                          "validation:merror",
                                          "validation:mlogloss",
                                          "validation:poisson-nloglik",
                                          NULL};

const lt_algo lt_algo__xgboost = {
    .name = "xgboost",
    .image_names = xgb_images,
    .hyperparameters = lt_xgb__hp_specs,
    .content_types = xgb_content_types,
    .metrics = xgb_metrics,
    .train = xgb_train,
    .save = xgb_save,
    .load = xgb_load,
    .output_width = xgb_output_width,
    .predict = xgb_predict,
    .format_json = xgb_format_json,
    .free = xgb_free,
    /* The SageMaker XGBoost container answers CSV, one prediction a line, when not asked. */
    .default_accept = "text/csv",
    .empty_request_ok = true,
};
