/* XGBoost: split finding on a hand-checked dataset, a one-split tree end to end, the JSON
 * model round trip, metrics on hand-computed cases, malformed model files, hyperparameter
 * errors, and the training cache agreeing with tree traversal at any thread count. */
#include "algo/algo.h"
#include "algo/algo_internal.h"
#include "algo/xgboost/xgboost.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tiny dataset: 4 rows, 3 features, squared error from margin 0 so g = -y, h = 1.
 *
 *   row  f0   f1   f2   y    g
 *   0    1    NaN  NaN   2   -2
 *   1    2    NaN  1     1   -1
 *   2    3    7    2    -1    1
 *   3    4    7    2    -2    2
 *
 * G = 0, H = 4; lambda = 1, alpha = 0, min_child_weight = 0, so gain(G, H) = G^2 / (H + 1)
 * and the parent's gain is 0. loss_chg = gain(L) + gain(R).
 *
 * f0 (cuts 2, 3, 4, 8.00001: one bin per value, no missing), forward only:
 *   left {1}        : 4/2 + 4/4 = 3
 *   left {1,2}      : 9/3 + 9/3 = 6   <- best: x < 3 goes left, G_L = -3, H_L = 2
 *   left {1,2,3}    : 4/4 + 4/2 = 3
 *   left all        : 0
 * f1 (one bin {7}; rows 0 and 1 missing):
 *   forward, missing right: left {2,3} = (3, 2), right {0,1} = (-3, 2): 3 + 3 = 6
 *   backward, missing left: the same partition mirrored, 6 — not greater, forward stays
 * f2 (bins {1}, {2}; row 0 missing):
 *   forward:  left {1} (-1,1), right {0,2,3} (1,3): 0.5 + 0.25 = 0.75
 *             left {1,2,3} (2,3), right {0} (-2,1): 1 + 2 = 3
 *   backward: right {2,3} (3,2), left {0,1} (-3,2): 3 + 3 = 6  <- x < 2 left, missing left
 *             right {1,2,3} (2,3), left {0} (-2,1): 1 + 2 = 3
 * All three features reach 6: the tie goes to the lowest feature, f0. */
static const float tiny_x[12] = {1, NAN, NAN, 2, NAN, 1, 3, 7, 2, 4, 7, 2};
static const float tiny_y[4] = {2, 1, -1, -2};
static const float tiny_g[4] = {-2, -1, 1, 2};
static const float tiny_h[4] = {1, 1, 1, 1};

static lt_xgb_grow_params tiny_params(void)
{
    return (lt_xgb_grow_params){
        .eta = 1, .lambda = 1, .max_depth = 1, .colsample_bylevel = 1, .colsample_bynode = 1};
}

/* The node histogram by direct summation (slot layout: n_bins(f) + 1 per feature). */
static double *tiny_hist(const lt_xgb_hist *h)
{
    double *hist = calloc(2 * h->slot[h->n_features], sizeof(double));
    for (size_t r = 0; r < 4; r++)
        for (int f = 0; f < 3; f++) {
            uint32_t s = h->slot[f] + lt_xgb__hist_bin_at(h, r, f);
            hist[2 * s] += tiny_g[r];
            hist[2 * s + 1] += tiny_h[r];
        }
    return hist;
}

static void split_find_matches_hand_computed_gains(void)
{
    lt_xgb_hist h;
    lt_err err = {0};
    LT_CHECK_INT(lt_xgb__hist_build(tiny_x, 4, 3, 256, 1, &h, &err), ==, 0);
    LT_CHECK_INT(h.ptr[1] - h.ptr[0], ==, 4);
    LT_CHECK_INT(h.ptr[2] - h.ptr[1], ==, 1);
    LT_CHECK_INT(h.ptr[3] - h.ptr[2], ==, 2);
    LT_CHECK_NEAR(h.cuts[3], 8.00001, 1e-5);            /* max + |max| + 1e-5 */
    LT_CHECK_INT(lt_xgb__hist_bin_at(&h, 0, 1), ==, 1); /* missing: the slot after f1's one bin */
    double *hist = tiny_hist(&h);
    lt_xgb_grow_params p = tiny_params();
    lt_xgb_split s;
    int f0 = 0, f1 = 1, f2 = 2, all[3] = {0, 1, 2};

    lt_xgb__split_find(&h, &p, hist, 0, 4, &f0, 1, &s);
    LT_CHECK_INT(s.feature, ==, 0);
    LT_CHECK_NEAR(s.loss_chg, 6, 1e-6);
    LT_CHECK_NEAR(s.cond, 3, 0);
    LT_CHECK_INT(s.bin, ==, 1);
    LT_CHECK(!s.default_left);
    LT_CHECK_NEAR(s.gl, -3, 0);
    LT_CHECK_NEAR(s.hl, 2, 0);

    lt_xgb__split_find(&h, &p, hist, 0, 4, &f1, 1, &s);
    LT_CHECK_INT(s.feature, ==, 1);
    LT_CHECK_NEAR(s.loss_chg, 6, 1e-6);
    LT_CHECK(!s.default_left); /* the backward tie does not replace the forward split */
    LT_CHECK_NEAR(s.cond, 14.00001, 1e-5);

    lt_xgb__split_find(&h, &p, hist, 0, 4, &f2, 1, &s);
    LT_CHECK_INT(s.feature, ==, 2);
    LT_CHECK_NEAR(s.loss_chg, 6, 1e-6);
    LT_CHECK(s.default_left);
    LT_CHECK_NEAR(s.cond, 2, 0);
    LT_CHECK_INT(s.bin, ==, 0);
    LT_CHECK_NEAR(s.gl, -3, 0);

    lt_xgb__split_find(&h, &p, hist, 0, 4, all, 3, &s);
    LT_CHECK_INT(s.feature, ==, 0);

    /* min_child_weight 2.5: every split leaves a side with hessian below 2.5. */
    p.min_child_weight = 2.5;
    lt_xgb__split_find(&h, &p, hist, 0, 4, all, 3, &s);
    LT_CHECK_INT(s.feature, ==, -1);
    /* alpha = 1 shrinks |G| by 1: f0's best becomes (3-1)^2/3 * 2 = 8/3. */
    p = tiny_params();
    p.alpha = 1;
    lt_xgb__split_find(&h, &p, hist, 0, 4, &f0, 1, &s);
    LT_CHECK_NEAR(s.loss_chg, 8.0 / 3.0, 1e-5);
    LT_CHECK_NEAR(lt_xgb__calc_weight(&p, -3, 2), 2.0 / 3.0, 1e-12);
    free(hist);
    lt_xgb__hist_free(&h);
}

static lt_dataset *tiny_dataset(void)
{
    lt_dataset *ds = lt_dataset_new_dense(4, 3, true);
    memcpy(ds->x.values, tiny_x, sizeof tiny_x);
    memcpy(ds->labels, tiny_y, sizeof tiny_y);
    return ds;
}

static lt_algo_model *train(const lt_dataset *ds, const lt_dataset *va, json_t *hp, int threads,
                            lt_err *err)
{
    lt_algo_train_args a = {
        .train = ds, .validation = va, .hyperparameters = hp, .threads = threads};
    lt_algo_model *m = NULL;
    lt_err_clear(err);
    int rc = lt_algo__xgboost.train(&a, &m, err);
    json_decref(hp);
    return rc ? NULL : m;
}

/* One round, depth 1, eta 1, base_score 0 on the tiny data: the root splits f0 < 3 with
 * loss 6 into leaves -(-3)/(2+1) = 1 and -(3)/(2+1) = -1. */
static void one_split_tree_end_to_end(void)
{
    lt_dataset *ds = tiny_dataset();
    lt_err err = {0};
    lt_algo_model *m = train(ds, NULL,
                             json_pack("{s:s,s:s,s:s,s:s,s:s}", "num_round", "1", "max_depth", "1",
                                       "eta", "1", "min_child_weight", "0", "base_score", "0"),
                             1, &err);
    LT_CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "  %s\n", err.msg);
        lt_dataset_free(ds);
        return;
    }
    LT_CHECK_INT(m->n_trees, ==, 1);
    const lt_xgb_tree *t = &m->trees[0];
    LT_CHECK_INT(t->n_nodes, ==, 3);
    LT_CHECK_INT(t->split_index[0], ==, 0);
    LT_CHECK_NEAR(t->split_cond[0], 3, 0);
    LT_CHECK_NEAR(t->loss_chg[0], 6, 1e-6);
    LT_CHECK_NEAR(t->split_cond[1], 1, 1e-6);
    LT_CHECK_NEAR(t->split_cond[2], -1, 1e-6);
    LT_CHECK_NEAR(t->sum_hess[0], 4, 0);
    double out[4];
    LT_CHECK_INT(lt_algo__xgboost.predict(m, &ds->x, 1, out, &err), ==, 0);
    LT_CHECK_NEAR(out[0], 1, 1e-6);
    LT_CHECK_NEAR(out[1], 1, 1e-6);
    LT_CHECK_NEAR(out[2], -1, 1e-6);
    LT_CHECK_NEAR(out[3], -1, 1e-6);
    /* A missing f0 follows default_left (right here: no missing f0 in training). */
    float row[3] = {NAN, 0, 0};
    LT_CHECK_INT(lt_xgb__tree_leaf(t, row), ==, 2);
    double w[3], g[3], c[3];
    lt_xgb__importance(m, w, g, c);
    LT_CHECK_NEAR(w[0], 1, 0);
    LT_CHECK_NEAR(g[0], 6, 1e-6);
    LT_CHECK_NEAR(c[0], 4, 0);
    LT_CHECK_NEAR(w[1] + w[2], 0, 0);
    lt_algo__xgboost.free(m);
    lt_dataset_free(ds);
}

static uint64_t rng = 777;
static double unif(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng >> 11) + 0.5) * 0x1.0p-53;
}

/* n rows x 6 features, 10% missing, a nonlinear target; labels in [0,1] for logistic. */
static lt_dataset *random_dataset(size_t n, bool binary, int k)
{
    lt_dataset *ds = lt_dataset_new_dense(n, 6, true);
    for (size_t r = 0; r < n; r++) {
        float *x = ds->x.values + r * 6;
        for (int f = 0; f < 6; f++)
            x[f] = unif() < 0.1 ? NAN : (float)(unif() * 4 - 2);
        double z = (isnan(x[0]) ? 0.5 : x[0] * x[0]) - (isnan(x[1]) ? 0 : x[1]) + 0.3 * unif();
        ds->labels[r] = k > 1    ? (float)((int)(fabs(z) * 2) % k)
                        : binary ? (float)(z > 0.8)
                                 : (float)z;
    }
    return ds;
}

static double last_train_metric;
static void on_metric(void *ctx, const char *name, double value, int it)
{
    (void)ctx, (void)it;
    if (strncmp(name, "train:", 6) == 0) last_train_metric = value;
}

/* The training cache (leaf values added through row partitions) and predict (float
 * comparisons down each tree) must agree: the last train rmse equals the rmse of
 * predict on the training rows. And 1 or 3 threads give the same model: 150,000 rows,
 * enough that the root sums, the histograms, the row partition and the metrics run on
 * several threads. */
static void training_cache_matches_predict_and_threads_agree(void)
{
    enum { N = 150000 };
    lt_dataset *ds = random_dataset(N, false, 1);
    lt_err err = {0};
    json_t *hp = json_pack("{s:s,s:s,s:s}", "num_round", "15", "max_depth", "5", "max_bin", "16");
    lt_algo_train_args a = {
        .train = ds, .hyperparameters = hp, .threads = 3, .on_metric = on_metric};
    lt_algo_model *m3 = NULL, *m1 = NULL;
    LT_CHECK_INT(lt_algo__xgboost.train(&a, &m3, &err), ==, 0);
    a.threads = 1;
    LT_CHECK_INT(lt_algo__xgboost.train(&a, &m1, &err), ==, 0);
    json_decref(hp);
    if (!m1 || !m3) goto out;
    double *out = calloc(N, sizeof(double));
    LT_CHECK_INT(lt_algo__xgboost.predict(m1, &ds->x, 2, out, &err), ==, 0);
    double se = 0;
    for (int i = 0; i < N; i++)
        se += (out[i] - ds->labels[i]) * (out[i] - ds->labels[i]);
    LT_CHECK_NEAR(sqrt(se / N), last_train_metric, 1e-5);
    free(out);
    char *j1 = lt_xgb__model_to_json(m1), *j3 = lt_xgb__model_to_json(m3);
    LT_CHECK_STR(j1, j3);
    free(j1);
    free(j3);
out:
    lt_algo__xgboost.free(m1);
    lt_algo__xgboost.free(m3);
    lt_dataset_free(ds);
}

/* save_model -> load_model keeps every array and every prediction, for softprob too. */
static void json_round_trip_keeps_trees_and_predictions(void)
{
    const char *objectives[] = {"reg:squarederror", "binary:logistic", "multi:softprob",
                                "count:poisson"};
    for (int o = 0; o < 4; o++) {
        bool multi = o == 2;
        lt_dataset *ds = random_dataset(600, o == 1, multi ? 3 : 1);
        if (o == 3)
            for (int i = 0; i < 600; i++)
                ds->labels[i] = fabsf(ds->labels[i]);
        lt_err err = {0};
        json_t *hp = json_pack("{s:s,s:s,s:s}", "num_round", "4", "objective", objectives[o],
                               "max_depth", "3");
        if (multi) json_object_set_new(hp, "num_class", json_string("3"));
        lt_algo_model *m = train(ds, NULL, hp, 2, &err), *back = NULL;
        LT_CHECK(m != NULL);
        if (!m) {
            fprintf(stderr, "  %s: %s\n", objectives[o], err.msg);
            lt_dataset_free(ds);
            continue;
        }
        char *text = lt_xgb__model_to_json(m);
        LT_CHECK_INT(lt_xgb__model_from_json(text, strlen(text), &back, &err), ==, 0);
        if (back) {
            LT_CHECK_INT(back->n_trees, ==, m->n_trees);
            LT_CHECK_INT(back->objective, ==, m->objective);
            LT_CHECK_INT(back->num_class, ==, m->num_class);
            for (int t = 0; t < m->n_trees && t < back->n_trees; t++) {
                const lt_xgb_tree *a = &m->trees[t], *b = &back->trees[t];
                LT_CHECK_INT(a->n_nodes, ==, b->n_nodes);
                LT_CHECK_INT(m->tree_info[t], ==, back->tree_info[t]);
                for (int i = 0; i < a->n_nodes && i < b->n_nodes; i++) {
                    LT_CHECK_INT(a->left[i], ==, b->left[i]);
                    LT_CHECK_INT(a->parent[i], ==, b->parent[i]);
                    LT_CHECK_INT(a->split_index[i], ==, b->split_index[i]);
                    LT_CHECK_INT(a->default_left[i], ==, b->default_left[i]);
                    LT_CHECK(a->split_cond[i] == b->split_cond[i]);
                    LT_CHECK(a->base_weight[i] == b->base_weight[i]);
                }
            }
            size_t w = lt_algo__xgboost.output_width(m);
            double *p1 = calloc(600 * w, sizeof(double)), *p2 = calloc(600 * w, sizeof(double));
            lt_algo__xgboost.predict(m, &ds->x, 1, p1, &err);
            lt_algo__xgboost.predict(back, &ds->x, 1, p2, &err);
            LT_CHECK(memcmp(p1, p2, 600 * w * sizeof(double)) == 0);
            free(p1);
            free(p2);
        }
        free(text);
        lt_algo__xgboost.free(back);
        lt_algo__xgboost.free(m);
        lt_dataset_free(ds);
    }
}

static void auc_matches_hand_computed_cases(void)
{
    double scratch[16];
    /* pos {0.35, 0.8}, neg {0.1, 0.4}: 3 of 4 pairs ordered = 0.75 */
    const double s1[] = {0.1, 0.4, 0.35, 0.8};
    const float y1[] = {0, 0, 1, 1};
    LT_CHECK_NEAR(lt_xgb__auc(s1, y1, NULL, 4, false, scratch), 0.75, 1e-12);
    /* weights 1,3,1,1: ordered pair weight 1*1 + 1*1 + 1*3 = 5 of 2*4 = 8 */
    const float w1[] = {1, 3, 1, 1};
    LT_CHECK_NEAR(lt_xgb__auc(s1, y1, w1, 4, false, scratch), 0.625, 1e-12);
    /* a tie between a positive and a negative at 0.5 counts half: (0.5 + 1 + 2) / 4 */
    const double s2[] = {0.5, 0.5, 0.2, 0.9};
    const float y2[] = {1, 0, 0, 1};
    LT_CHECK_NEAR(lt_xgb__auc(s2, y2, NULL, 4, false, scratch), 0.875, 1e-12);
    /* one class only: undefined */
    const float y3[] = {1, 1, 1, 1};
    LT_CHECK(isnan(lt_xgb__auc(s1, y3, NULL, 4, false, scratch)));
    /* aucpr of a perfect ranking is 1 */
    const double s4[] = {0.1, 0.2, 0.8, 0.9};
    LT_CHECK_NEAR(lt_xgb__auc(s4, y1, NULL, 4, true, scratch), 1.0, 1e-12);
}

/* Weighted pairs: positive above negative counts 1, a tie 1/2, over all positive-negative
 * pairs. O(n^2), independent of the sort. */
static double pairwise_auc(const double *s, const float *y, const float *w, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (y[i] != 1 || y[j] != 0) continue;
            double pw = (double)w[i] * w[j];
            den += pw;
            num += s[i] > s[j] ? pw : s[i] == s[j] ? pw / 2 : 0;
        }
    return num / den;
}

/* 3,000 rows with many tied scores, weighted: the radix path (scores that are floats,
 * negative ones and -0 among them) and the comparison path (scores that are not) both
 * give the pairwise area. */
static void auc_matches_pairwise_count_on_both_sort_paths(void)
{
    enum { N = 3000 };
    double *sf = lt_xmalloc(sizeof(double) * N), *sd = lt_xmalloc(sizeof(double) * N);
    double *scratch = lt_xmalloc(sizeof(double) * 2 * N);
    float *y = lt_xmalloc(sizeof(float) * N), *w = lt_xmalloc(sizeof(float) * N);
    uint64_t st = 99;
    for (size_t i = 0; i < N; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        int level = (int)((st >> 33) % 41) - 20; /* 41 distinct values: many ties */
        sf[i] = level == 0 ? (i % 2 ? -0.0 : 0.0) : (double)((float)level * 0.37f);
        sd[i] = level * 0.1 + 1e-12; /* not representable as floats */
        y[i] = ((st >> 20) % 3 == 0) ^ (level > 5) ? 1.0f : 0.0f;
        w[i] = 0.5f + (float)((st >> 40) % 4);
    }
    LT_CHECK_NEAR(lt_xgb__auc(sf, y, w, N, false, scratch), pairwise_auc(sf, y, w, N), 1e-12);
    LT_CHECK_NEAR(lt_xgb__auc(sd, y, w, N, false, scratch), pairwise_auc(sd, y, w, N), 1e-12);
    LT_CHECK_NEAR(lt_xgb__auc(sf, y, NULL, N, false, scratch), lt_xgb__auc(sd, y, NULL, N, false, scratch), 1e-12);
    free(sf), free(sd), free(scratch), free(y), free(w);
}

static void elementwise_metrics_match_hand_computed_cases(void)
{
    lt_xgb_model m = {.objective = LT_XGB_OBJ_SQUAREDERROR};
    const float margins[] = {1, 2};
    const float labels[] = {0, 0};
    LT_CHECK_NEAR(lt_xgb__metric_eval("rmse", &m, margins, 2, labels, NULL, 1), sqrt(2.5), 1e-9);
    LT_CHECK_NEAR(lt_xgb__metric_eval("mae", &m, margins, 2, labels, NULL, 1), 1.5, 1e-9);
    const float w[] = {3, 1};
    LT_CHECK_NEAR(lt_xgb__metric_eval("mae", &m, margins, 2, labels, w, 1), 5.0 / 4, 1e-9);
    m.objective = LT_XGB_OBJ_BINARY_LOGISTIC;
    const float lm[] = {0, 2};
    const float ly[] = {1, 0};
    /* p = 0.5 and sigmoid(2) = 0.8808: logloss = (log 2 - log(1 - 0.8808)) / 2 */
    double p2 = 1 / (1 + exp(-2.0));
    LT_CHECK_NEAR(lt_xgb__metric_eval("logloss", &m, lm, 2, ly, NULL, 1),
                  (log(2.0) - log(1 - p2)) / 2, 1e-6);
    LT_CHECK_NEAR(lt_xgb__metric_eval("error", &m, lm, 2, ly, NULL, 1), 1.0,
                  0); /* 0.5 is not > 0.5 */
    LT_CHECK_NEAR(lt_xgb__metric_eval("error@0.9", &m, lm, 2, ly, NULL, 1), 0.5, 0);
    m.objective = LT_XGB_OBJ_MULTI_SOFTPROB;
    m.num_class = 3;
    const float mm[] = {0, 0, 0, 5, 0, 0};
    const float my[] = {2, 0};
    LT_CHECK_NEAR(lt_xgb__metric_eval("merror", &m, mm, 2, my, NULL, 1), 0.5,
                  0); /* row 0 argmax 0 */
    double pr = exp(5.0) / (exp(5.0) + 2);
    LT_CHECK_NEAR(lt_xgb__metric_eval("mlogloss", &m, mm, 2, my, NULL, 1), (log(3.0) - log(pr)) / 2,
                  1e-6);
    LT_CHECK(lt_xgb__metric_known("tweedie-nloglik@1.2"));
    LT_CHECK(!lt_xgb__metric_known("ndcg"));
    LT_CHECK(!lt_xgb__metric_known("error@x"));
}

/* A minimal valid model: one stump on feature 0 of 2 features. */
static const char good_model[] =
    "{\"learner\":{\"attributes\":{},\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{"
    "\"gbtree_model_param\":{\"num_parallel_tree\":\"1\",\"num_trees\":\"1\"},"
    "\"tree_info\":[0],\"trees\":[{\"tree_param\":{\"num_nodes\":\"3\"},"
    "\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],\"split_indices\":[0,0,0],"
    "\"split_conditions\":[0.5,-1.0,1.0],\"default_left\":[1,0,0],\"split_type\":[0,0,0]}]}},"
    "\"learner_model_param\":{\"base_score\":\"5E-1\",\"num_class\":\"0\",\"num_feature\":\"2\"},"
    "\"objective\":{\"name\":\"reg:squarederror\"}},\"version\":[1,7,4]}";

static char *replaced(const char *from, const char *to)
{
    const char *at = strstr(good_model, from);
    if (!at) return NULL;
    return lt_xasprintf("%.*s%s%s", (int)(at - good_model), good_model, to, at + strlen(from));
}

static void malformed_model_json_is_a_clear_einval(void)
{
    lt_err err = {0};
    lt_xgb_model *m = NULL;
    LT_CHECK_INT(lt_xgb__model_from_json(good_model, strlen(good_model), &m, &err), ==, 0);
    if (m) {
        float row[2] = {NAN, 3};
        LT_CHECK_INT(lt_xgb__tree_leaf(&m->trees[0], row), ==, 1); /* missing goes left */
        lt_xgb__model_free(m);
    }
    static const struct {
        const char *from, *to, *expect;
    } cases[] = {
        {"{\"learner\"", "{\"learnr\"", "learner is missing"},
        {"\"left_children\":[1,-1,-1]", "\"left_children\":[1,-1]", "num_nodes"},
        {"\"right_children\":[2,-1,-1]", "\"right_children\":[7,-1,-1]", "outside"},
        {"\"left_children\":[1,-1,-1]", "\"left_children\":[0,-1,-1]", "outside"},
        {"\"right_children\":[2,-1,-1]", "\"right_children\":[-1,-1,-1]", "one child"},
        {"\"split_indices\":[0,0,0]", "\"split_indices\":[2,0,0]", "num_feature"},
        {"\"split_conditions\":[0.5,", "\"split_conditions\":[\"x\",", "split_conditions[0]"},
        {"\"split_type\":[0,0,0]", "\"split_type\":[1,0,0]", "categorical"},
        {"\"name\":\"gbtree\"", "\"name\":\"dart\"", "only gbtree"},
        {"\"tree_info\":[0]", "\"tree_info\":[1]", "tree_info[0]"},
        {"\"base_score\":\"5E-1\"", "\"base_score\":\"half\"", "base_score"},
        {"reg:squarederror", "rank:pairwise", "not supported"},
        {"\"num_feature\":\"2\"", "\"num_feature\":\"0\"", "num_feature"},
        {"\"num_parallel_tree\":\"1\"", "\"num_parallel_tree\":\"2\"", "num_parallel_tree"},
        {"]}}", "]}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = replaced(cases[i].from, cases[i].to);
        LT_CHECK(text != NULL);
        if (!text) continue;
        lt_err_clear(&err);
        m = NULL;
        int rc = lt_xgb__model_from_json(text, strlen(text), &m, &err);
        LT_CHECK_INT(rc, ==, LT_EINVAL);
        LT_CHECK(m == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].expect);
        free(text);
    }
}

static void hyperparameter_errors_name_the_parameter(void)
{
    lt_dataset *ds = tiny_dataset();
    lt_err err = {0};
    LT_CHECK(train(ds, NULL, json_pack("{s:s}", "eta", "0.1"), 1, &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "num_round is required");
    LT_CHECK(train(ds, NULL, json_pack("{s:s,s:s}", "num_round", "2", "objective", "multi:softmax"),
                   1, &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "num_class");
    LT_CHECK(train(ds, NULL, json_pack("{s:s,s:s}", "num_round", "2", "eval_metric", "rmse,ndcg"),
                   1, &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "ndcg");
    LT_CHECK(train(ds, NULL,
                   json_pack("{s:s,s:s}", "num_round", "2", "objective", "binary:logistic"), 1,
                   &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "label"); /* labels 2 and -2 are not in [0, 1] */
    LT_CHECK(train(ds, NULL, json_pack("{s:s,s:s}", "num_round", "2", "max_bin", "1"), 1, &err) ==
             NULL);
    LT_CHECK_CONTAINS(err.msg, "max_bin");
    lt_dataset_free(ds);
}

/* Batch prediction (flattened trees, blocks of rows, a fixed number of steps per tree)
 * gives the same margins as the plain walk lt_xgb__tree_leaf, summed in tree order, for
 * dense rows with and without NaNs and for rows as CSR with the NaNs left out: a multi-class model
 * with lossguide trees of uneven depth, 1000 rows (not a multiple of the block), NaNs. */
static void batch_predict_matches_scalar_walk(void)
{
    enum { N = 1000, K = 3 };
    lt_dataset *ds = random_dataset(N, false, K);
    lt_err err = {0};
    lt_algo_model *m = train(ds, NULL,
                             json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "num_round", "6", "objective",
                                       "multi:softprob", "num_class", "3", "grow_policy",
                                       "lossguide", "max_leaves", "11", "max_depth", "0"),
                             2, &err);
    LT_CHECK(m != NULL);
    if (!m) {
        lt_dataset_free(ds);
        return;
    }
    float *want = calloc((size_t)N * K, sizeof(float)), *got = calloc((size_t)N * K, sizeof(float));
    for (int r = 0; r < N; r++)
        for (int t = 0; t < m->n_trees; t++) {
            const lt_xgb_tree *tr = &m->trees[t];
            want[r * K + m->tree_info[t]] +=
                tr->split_cond[lt_xgb__tree_leaf(tr, ds->x.values + (size_t)r * 6)];
        }
    int deepest = 0;
    for (int t = 0; t < m->flat->t1; t++)
        deepest = m->flat->depth[t] > deepest ? m->flat->depth[t] : deepest;
    LT_CHECK(deepest > 3); /* lossguide with 11 leaves: some trees deeper than others */
    LT_CHECK_INT(lt_xgb__predict_margins(m, &ds->x, 0, m->n_trees, 2, got, &err), ==, 0);
    int bad = 0;
    for (int i = 0; i < N * K; i++)
        bad += got[i] != want[i];
    LT_CHECK_INT(bad, ==, 0);
    /* blocks without a NaN take the plain-compare path: the first 512 rows lose theirs */
    for (size_t i = 0; i < 512 * 6; i++)
        if (isnan(ds->x.values[i])) ds->x.values[i] = 0.25f;
    memset(want, 0, sizeof(float) * N * K);
    memset(got, 0, sizeof(float) * N * K);
    for (int r = 0; r < N; r++)
        for (int t = 0; t < m->n_trees; t++) {
            const lt_xgb_tree *tr = &m->trees[t];
            want[r * K + m->tree_info[t]] +=
                tr->split_cond[lt_xgb__tree_leaf(tr, ds->x.values + (size_t)r * 6)];
        }
    LT_CHECK_INT(lt_xgb__predict_margins(m, &ds->x, 0, m->n_trees, 1, got, &err), ==, 0);
    bad = 0;
    for (int i = 0; i < N * K; i++)
        bad += got[i] != want[i];
    LT_CHECK_INT(bad, ==, 0);

    /* the same rows as CSR, missing entries absent; trees [2, n) only (no cached flat) */
    lt_matrix csr = {.kind = LT_MATRIX_CSR, .n_rows = N, .n_cols = 6};
    size_t nnz = 0;
    csr.row_ptr = calloc(N + 1, sizeof(size_t));
    csr.col_idx = calloc((size_t)N * 6, sizeof(*csr.col_idx));
    csr.values = calloc((size_t)N * 6, sizeof(float));
    for (int r = 0; r < N; r++) {
        size_t p = csr.row_ptr[r];
        for (int f = 0; f < 6; f++) {
            float v = ds->x.values[(size_t)r * 6 + (size_t)f];
            if (isnan(v)) continue;
            csr.col_idx[p] = (uint32_t)f, csr.values[p++] = v;
        }
        csr.row_ptr[r + 1] = p;
        nnz = p;
    }
    memset(want, 0, sizeof(float) * N * K);
    memset(got, 0, sizeof(float) * N * K);
    for (int r = 0; r < N; r++)
        for (int t = 2; t < m->n_trees; t++) {
            const lt_xgb_tree *tr = &m->trees[t];
            want[r * K + m->tree_info[t]] +=
                tr->split_cond[lt_xgb__tree_leaf(tr, ds->x.values + (size_t)r * 6)];
        }
    csr.nnz = nnz;
    LT_CHECK_INT(lt_xgb__predict_margins(m, &csr, 2, m->n_trees, 3, got, &err), ==, 0);
    bad = 0;
    for (int i = 0; i < N * K; i++)
        bad += got[i] != want[i];
    LT_CHECK_INT(bad, ==, 0);
    free(csr.row_ptr);
    free(csr.col_idx);
    free(csr.values);
    free(want);
    free(got);
    lt_algo__xgboost.free(m);
    lt_dataset_free(ds);
}

/* Direct summation of the gradient pairs of the rows where keep(row) into hist (slot
 * layout), returning the totals: the scalar oracle for the blocked histogram kernel. */
static void direct_hist(const lt_xgb_hist *h, const float *g, const float *hs, const bool *keep,
                        size_t n, double *hist, double *gsum, double *hsum)
{
    memset(hist, 0, sizeof(double) * 2 * h->slot[h->n_features]);
    *gsum = *hsum = 0;
    for (size_t r = 0; r < n; r++) {
        if (!keep[r]) continue;
        for (int f = 0; f < h->n_features; f++) {
            uint32_t s = h->slot[f] + lt_xgb__hist_bin_at(h, r, f);
            hist[2 * s] += g[r];
            hist[2 * s + 1] += hs[r];
        }
        *gsum += g[r], *hsum += hs[r];
    }
}

/* The grower's histograms (rows in blocks over 3 threads, private buffers added in block
 * order, the smaller child built and the larger subtracted) find the same splits as
 * histograms summed directly: the root of 100,000 rows (7 blocks) and both of its
 * children, with NaNs and unequal hessians. */
static void blocked_histograms_match_direct_summation(void)
{
    enum { N = 100000, F = 6 };
    lt_dataset *ds = random_dataset(N, false, 1);
    lt_xgb_hist h;
    lt_err err = {0};
    LT_CHECK_INT(lt_xgb__hist_build(ds->x.values, N, F, 64, 2, &h, &err), ==, 0);
    LT_CHECK(h.bins8 != NULL && h.cols8 != NULL);
    float *g = malloc(sizeof(float) * N), *hs = malloc(sizeof(float) * N);
    bool *keep = malloc(sizeof(bool) * N);
    for (int r = 0; r < N; r++)
        g[r] = -ds->labels[r], hs[r] = 1.0f + (float)(r % 3) * 0.5f, keep[r] = true;
    double *hist = malloc(sizeof(double) * 2 * h.slot[F]), gsum, hsum;
    lt_xgb_grow_params p = {
        .eta = 1, .lambda = 1, .max_depth = 2, .colsample_bylevel = 1, .colsample_bynode = 1};
    int all[F] = {0, 1, 2, 3, 4, 5};
    lt_xgb_grower *gr = lt_xgb__grower_new(&h, &p, 3);
    lt_xgb_tree t;
    memset(&t, 0, sizeof t);
    LT_CHECK_INT(lt_xgb__grow(gr, g, hs, NULL, 1, &t, NULL, 1, 0, &err), ==, 0);
    LT_CHECK_INT(t.n_nodes, ==, 7);
    direct_hist(&h, g, hs, keep, N, hist, &gsum, &hsum);
    lt_xgb_split want;
    lt_xgb__split_find(&h, &p, hist, gsum, hsum, all, F, &want);
    LT_CHECK_INT((int)t.split_index[0], ==, want.feature);
    LT_CHECK_NEAR(t.split_cond[0], want.cond, 0);
    LT_CHECK_NEAR(t.loss_chg[0], want.loss_chg, 1e-6 * fabs(want.loss_chg));
    for (int side = 0; side < 2 && t.n_nodes == 7; side++) {
        int f = (int)t.split_index[0], nid = side ? t.right[0] : t.left[0];
        for (int r = 0; r < N; r++) {
            float v = ds->x.values[(size_t)r * F + (size_t)f];
            bool left = isnan(v) ? t.default_left[0] : v < t.split_cond[0];
            keep[r] = left == (side == 0);
        }
        direct_hist(&h, g, hs, keep, N, hist, &gsum, &hsum);
        LT_CHECK_NEAR(t.sum_hess[nid], hsum, 1e-6 * hsum);
        lt_xgb__split_find(&h, &p, hist, gsum, hsum, all, F, &want);
        LT_CHECK_INT((int)t.split_index[nid], ==, want.feature);
        LT_CHECK_NEAR(t.split_cond[nid], want.cond, 0);
        LT_CHECK_NEAR(t.loss_chg[nid], want.loss_chg, 1e-5 * fabs(want.loss_chg));
    }
    lt_xgb__tree_free(&t);
    lt_xgb__grower_free(gr);
    lt_xgb__hist_free(&h);
    free(hist);
    free(keep);
    free(g);
    free(hs);
    lt_dataset_free(ds);
}

int main(void)
{
    LT_RUN(split_find_matches_hand_computed_gains);
    LT_RUN(one_split_tree_end_to_end);
    LT_RUN(training_cache_matches_predict_and_threads_agree);
    LT_RUN(blocked_histograms_match_direct_summation);
    LT_RUN(json_round_trip_keeps_trees_and_predictions);
    LT_RUN(batch_predict_matches_scalar_walk);
    LT_RUN(auc_matches_hand_computed_cases);
    LT_RUN(auc_matches_pairwise_count_on_both_sort_paths);
    LT_RUN(elementwise_metrics_match_hand_computed_cases);
    LT_RUN(malformed_model_json_is_a_clear_einval);
    LT_RUN(hyperparameter_errors_name_the_parameter);
    return lt_test_summary();
}
