/* Linear Learner: a separable 1-D binary problem, an exact linear regression recovered to
 * 1e-3, three separable classes, the threshold choice of every selection criterion on a
 * hand-made score list, loss gradients against finite differences, metric names, model
 * files and records, and hyperparameter and data errors naming the member. */
#include "algo/algo.h"
#include "algo/algo_internal.h"
#include "algo/linear/linear.h"
#include "test.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static lt_dataset *labelled(const float *x, const float *y, size_t n, size_t d)
{
    lt_dataset *ds = lt_dataset_new_dense(n, d, true);
    memcpy(ds->x.values, x, n * d * sizeof(float));
    memcpy(ds->labels, y, n * sizeof(float));
    return ds;
}

/* hps("binary_classifier", name, value, ..., NULL); type NULL leaves predictor_type out. */
static json_t *hps(const char *type, ...)
{
    json_t *h = json_object();
    if (type) json_object_set_new(h, "predictor_type", json_string(type));
    va_list ap;
    va_start(ap, type);
    for (const char *key = va_arg(ap, const char *); key; key = va_arg(ap, const char *))
        json_object_set_new(h, key, json_string(va_arg(ap, const char *)));
    va_end(ap);
    return h;
}

#define MAX_METRICS 64
static struct {
    char name[96];
    double value;
} metrics[MAX_METRICS];
static int n_metrics, n_epochs;
static void on_metric(void *ctx, const char *name, double value, int it)
{
    (void)ctx;
    if (it >= 0 && strcmp(name, "train:objective_loss") == 0) n_epochs = it + 1;
    if (it >= 0 || n_metrics >= MAX_METRICS) return; /* the finals only */
    snprintf(metrics[n_metrics].name, sizeof metrics[0].name, "%s", name);
    metrics[n_metrics++].value = value;
}
static double metric(const char *name)
{
    for (int i = 0; i < n_metrics; i++)
        if (strcmp(metrics[i].name, name) == 0) return metrics[i].value;
    return NAN;
}

static lt_algo_model *train_v(const lt_dataset *ds, const lt_dataset *val, json_t *h, lt_err *err)
{
    lt_algo_train_args a = {
        .train = ds, .validation = val, .hyperparameters = h, .threads = 2, .on_metric = on_metric};
    lt_algo_model *m = NULL;
    lt_err_clear(err);
    n_metrics = 0, n_epochs = 0;
    int rc = lt_algo__linear.train(&a, &m, err);
    json_decref(h);
    return rc ? NULL : m;
}

static void predict_rows(const lt_algo_model *m, const float *x, size_t n, size_t d, double *out)
{
    lt_dataset *ds = lt_dataset_new_dense(n, d, false);
    memcpy(ds->x.values, x, n * d * sizeof(float));
    lt_err err = {0};
    LT_CHECK_INT(lt_algo__linear.predict(m, &ds->x, 2, out, &err), ==, 0);
    lt_dataset_free(ds);
}

static void separable_1d_binary_is_learned(void)
{
    float x[20], y[20];
    for (int i = 0; i < 10; i++) {
        x[i] = -1.0f - (float)i * 0.5f, y[i] = 0; /* -1 .. -5.5 */
        x[10 + i] = 1.0f + (float)i * 0.5f, y[10 + i] = 1;
    }
    lt_dataset *ds = labelled(x, y, 20, 1);
    lt_err err = {0};
    lt_algo_model *m =
        train_v(ds, NULL, hps("binary_classifier", "mini_batch_size", "4", NULL), &err);
    LT_CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "  %s\n", err.msg);
        lt_dataset_free(ds);
        return;
    }
    LT_CHECK_INT(lt_algo__linear.output_width(m), ==, 2);
    double out[40];
    predict_rows(m, x, 20, 1, out);
    for (int i = 0; i < 20; i++) {
        if (out[2 * i] != y[i])
            LT_FAIL_AT("row %d (x=%g): predicted %g, label %g", i, x[i], out[2 * i], y[i]);
        LT_CHECK(out[2 * i + 1] > 0 && out[2 * i + 1] < 1);
    }
    /* the score rises with x: the model learnt the sign of the slope */
    float probe[3] = {-3, 0, 3};
    double po[6];
    predict_rows(m, probe, 3, 1, po);
    LT_CHECK(po[1] < po[3] && po[3] < po[5]);
    LT_CHECK(po[1] < 0.1 && po[5] > 0.9);
    LT_CHECK(fabs(metric("train:binary_classification_accuracy") - 1.0) < 1e-12);
    LT_CHECK(fabs(metric("train:recall") - 1.0) < 1e-12);
    LT_CHECK(metric("train:objective_loss") < 0.2);
    lt_algo__linear.free(m);
    lt_dataset_free(ds);
}

static void exact_linear_regression_is_recovered(void)
{
    enum { N = 200 };
    float x[N * 2], y[N];
    uint64_t s = 7;
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)(10 * lt_algo__rng_unit(&s) - 5);
        x[2 * i + 1] = (float)(100 * lt_algo__rng_unit(&s) + 50); /* off-centre, wide */
        y[i] = 2 * x[2 * i] - 3 * x[2 * i + 1] + 0.5f;
    }
    lt_dataset *ds = labelled(x, y, N, 2);
    lt_err err = {0};
    lt_algo_model *m = train_v(ds, NULL,
                               hps("regressor", "optimizer", "sgd", "learning_rate", "0.1", "wd",
                                   "0", "mini_batch_size", "200", "epochs", "2000",
                                   "early_stopping_tolerance", "0", "num_models", "2", NULL),
                               &err);
    LT_CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "  %s\n", err.msg);
        lt_dataset_free(ds);
        return;
    }
    LT_CHECK(fabs(m->w_raw[0] - 2) < 1e-3);
    LT_CHECK(fabs(m->w_raw[1] + 3) < 1e-3);
    LT_CHECK(fabs(m->b_raw[0] - 0.5) < 1e-3);
    float probe[4] = {1, 60, -2, 140};
    double out[2];
    predict_rows(m, probe, 2, 2, out);
    double want0 = 2 * 1 - 3 * 60 + 0.5, want1 = 2 * -2 - 3 * 140 + 0.5;
    if (fabs(out[0] - want0) > 1e-3 * fabs(want0) || fabs(out[1] - want1) > 1e-3 * fabs(want1))
        LT_FAIL_AT("predictions %.6f %.6f, exact %.6f %.6f", out[0], out[1], want0, want1);
    LT_CHECK(metric("train:mse") < 1e-4);
    fprintf(stderr, "  recovered w = (%.6f, %.6f), b = %.6f\n", m->w_raw[0], m->w_raw[1],
            m->b_raw[0]);
    lt_algo__linear.free(m);
    lt_dataset_free(ds);
}

static void three_separable_classes(void)
{
    enum { N = 90 };
    float x[N * 2], y[N];
    uint64_t s = 3;
    const float cx[3] = {0, 10, 0}, cy[3] = {0, 0, 10};
    for (int i = 0; i < N; i++) {
        int c = i % 3;
        x[2 * i] = cx[c] + (float)(lt_algo__rng_unit(&s) - 0.5);
        x[2 * i + 1] = cy[c] + (float)(lt_algo__rng_unit(&s) - 0.5);
        y[i] = (float)c;
    }
    lt_dataset *ds = labelled(x, y, N, 2);
    lt_err err = {0};
    lt_algo_model *m = train_v(
        ds, ds, hps("multiclass_classifier", "num_classes", "3", "mini_batch_size", "10", NULL),
        &err);
    LT_CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "  %s\n", err.msg);
        lt_dataset_free(ds);
        return;
    }
    LT_CHECK_INT(lt_algo__linear.output_width(m), ==, 4);
    double out[N * 4];
    predict_rows(m, x, N, 2, out);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        wrong += out[4 * i] != y[i];
        double sum = out[4 * i + 1] + out[4 * i + 2] + out[4 * i + 3];
        LT_CHECK(fabs(sum - 1) < 1e-9);
    }
    LT_CHECK_INT(wrong, ==, 0);
    LT_CHECK(fabs(metric("validation:multiclass_accuracy") - 1) < 1e-12);
    LT_CHECK(fabs(metric("validation:macro_f_beta") - 1) < 1e-12);
    LT_CHECK(isnan(metric("train:multiclass_accuracy"))); /* finals name the validation data */
    lt_algo__linear.free(m);
    lt_dataset_free(ds);
}

/* Scores 0.9 .. 0.2 with labels 1 1 0 1 0 1 0 0 (four positives), given shuffled; a
 * threshold lies halfway below its cut (the cut at 0.6 gives 0.55). */
static void thresholds_follow_each_criterion(void)
{
    const float sorted_s[8] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f};
    const float sorted_y[8] = {1, 1, 0, 1, 0, 1, 0, 0};
    const int order[8] = {5, 2, 7, 0, 3, 6, 1, 4};
    struct {
        lt_linear_select select;
        double target_recall, target_precision;
        double threshold, value;
    } cases[] = {
        /* recall >= 0.75 first at 0.6 (3 of 4, precision 3/4); 0.4 has recall 1, precision 4/6 */
        {LT_LINEAR_SELECT_PRECISION_AT_RECALL, 0.75, 0.8, 0.55, 0.75},
        /* recall 1 only from 0.4 down: the best precision there is 4/6 */
        {LT_LINEAR_SELECT_PRECISION_AT_RECALL, 1.0, 0.8, 0.35, 4.0 / 6},
        /* precision >= 0.75: 0.9, 0.8 (recall 1/2), 0.6 (recall 3/4) */
        {LT_LINEAR_SELECT_RECALL_AT_PRECISION, 0.8, 0.75, 0.55, 0.75},
        {LT_LINEAR_SELECT_RECALL_AT_PRECISION, 0.8, 0.8, 0.75, 0.5},
        /* accuracy 6/8 at 0.8, 0.6 and 0.4: the highest threshold wins the tie */
        {LT_LINEAR_SELECT_ACCURACY, 0.8, 0.8, 0.75, 0.75},
        /* F1: 2/3 at 0.8, 3/4 at 0.6, 4/5 at 0.4, 8/11 at 0.3 */
        {LT_LINEAR_SELECT_F_BETA, 0.8, 0.8, 0.35, 0.8},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float s[8], y[8];
        for (int i = 0; i < 8; i++)
            s[i] = sorted_s[order[i]], y[i] = sorted_y[order[i]];
        lt_linear_params p = {.target_recall = cases[c].target_recall,
                              .target_precision = cases[c].target_precision,
                              .f_beta = 1};
        uint64_t scratch[16];
        double thr = -1, value = -1;
        lt_linear__threshold_select(s, y, 8, cases[c].select, &p, 0.5, scratch, &thr, &value);
        if (fabs(thr - cases[c].threshold) > 1e-6 || fabs(value - cases[c].value) > 1e-9)
            LT_FAIL_AT("case %zu: threshold %g value %g, expected %g and %g", c, thr, value,
                       cases[c].threshold, cases[c].value);
        for (int i = 0; i < 8; i++) /* sorted descending, labels along */
            if (s[i] != sorted_s[i] || y[i] != sorted_y[i])
                LT_FAIL_AT("case %zu: row %d not sorted", c, i);
    }
    /* an unreachable target is reported as -1 */
    float s[2] = {0.9f, 0.1f}, y[2] = {0, 0};
    lt_linear_params p = {.target_recall = 0.5, .target_precision = 0.5, .f_beta = 1};
    uint64_t scratch[4];
    double thr, value;
    lt_linear__threshold_select(s, y, 2, LT_LINEAR_SELECT_PRECISION_AT_RECALL, &p, 0.5, scratch,
                                &thr, &value);
    LT_CHECK(value == -1);
    /* negative and equal scores sort and group */
    float s2[5] = {-1.5f, 2.0f, -1.5f, 0.0f, -0.0f}, y2[5] = {0, 1, 1, 0, 1};
    uint64_t scratch2[10];
    lt_linear__threshold_select(s2, y2, 5, LT_LINEAR_SELECT_ACCURACY, &p, 0.5, scratch2, &thr,
                                &value);
    LT_CHECK(s2[0] == 2.0f && s2[3] == -1.5f && s2[4] == -1.5f);
    lt_linear_binary_stats st = lt_linear__binary_stats(sorted_s, sorted_y, 8, 0.6, 1);
    LT_CHECK(fabs(st.precision - 0.75) < 1e-12 && fabs(st.recall - 0.75) < 1e-12);
    LT_CHECK(fabs(st.accuracy - 0.75) < 1e-12 && fabs(st.f_beta - 0.75) < 1e-12);
}

static void loss_gradients_match_finite_differences(void)
{
    lt_linear_params p = {
        .margin = 1, .quantile = 0.3, .loss_insensitivity = 0.25, .huber_delta = 0.5};
    const lt_linear_loss losses[] = {
        LT_LINEAR_LOGISTIC,    LT_LINEAR_HINGE,        LT_LINEAR_SQUARED,  LT_LINEAR_ABSOLUTE,
        LT_LINEAR_EPS_SQUARED, LT_LINEAR_EPS_ABSOLUTE, LT_LINEAR_QUANTILE, LT_LINEAR_HUBER};
    const double points[] = {-2.3, -0.6, 0.37, 1.9};
    const double labels[] = {0, 1};
    for (size_t l = 0; l < sizeof losses / sizeof losses[0]; l++)
        for (int yi = 0; yi < 2; yi++)
            for (int k = 0; k < 4; k++) {
                double s = points[k], y = labels[yi], g, gd, h = 1e-6;
                double f = lt_linear__loss(losses[l], &p, s, y, &g);
                double fd = (lt_linear__loss(losses[l], &p, s + h, y, &gd) -
                             lt_linear__loss(losses[l], &p, s - h, y, &gd)) /
                            (2 * h);
                if (fabs(fd - g) > 1e-5 || !(f >= 0))
                    LT_FAIL_AT("loss %d at s=%g y=%g: gradient %g, finite difference %g",
                               (int)losses[l], s, y, g, fd);
            }
    float sc[3] = {0.2f, -1.0f, 1.5f}, grad[3];
    double l0 = lt_linear__softmax_loss(sc, 3, 2, grad);
    double want = -log(exp(1.5) / (exp(0.2) + exp(-1.0) + exp(1.5)));
    LT_CHECK(fabs(l0 - want) < 1e-6);
    LT_CHECK(fabs(grad[0] + grad[1] + grad[2]) < 1e-6 && grad[2] < 0);
    /* logistic at s = 0: log 2, gradient sigmoid(0) - y */
    double g;
    LT_CHECK(fabs(lt_linear__loss(LT_LINEAR_LOGISTIC, &p, 0, 1, &g) - log(2)) < 1e-12 &&
             fabs(g + 0.5) < 1e-12);
}

static void model_round_trips_and_formats(void)
{
    float x[8] = {-2, -1, 1, 2, -3, -4, 3, 4}, y[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    lt_dataset *ds = labelled(x, y, 8, 1);
    lt_err err = {0};
    lt_algo_model *m = train_v(ds, NULL, hps("binary_classifier", NULL), &err);
    LT_CHECK(m != NULL);
    char *dir = lt_test_tmpdir("linear_rt");
    LT_CHECK_INT(lt_algo__linear.save(m, dir, &err), ==, 0);
    lt_algo_model *back = NULL;
    LT_CHECK_INT(lt_algo__linear.load(dir, &back, &err), ==, 0);
    double a[16], b[16];
    predict_rows(m, x, 8, 1, a);
    if (back) {
        predict_rows(back, x, 8, 1, b);
        for (int i = 0; i < 16; i++)
            if (fabs(a[i] - b[i]) > 1e-6)
                LT_FAIL_AT("output %d: %g before save, %g after", i, a[i], b[i]);
        LT_CHECK(fabs(back->threshold - m->threshold) < 1e-6);
    }
    lt_buf buf;
    lt_buf_init(&buf, 4096);
    double row[2] = {1, 0.75};
    LT_CHECK_INT(lt_algo__linear.format_json(m, row, &buf, &err), ==, 0);
    LT_CHECK_STR(buf.data, "{\"score\":0.75,\"predicted_label\":1}");
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_algo__linear.format_csv(m, row, &buf, &err), ==, 0);
    LT_CHECK_STR(buf.data, "1,0.75");
    /* multiclass and regressor records */
    lt_algo_model *mc = lt_linear__model_new(LT_LINEAR_MULTICLASS, LT_LINEAR_SOFTMAX, 1, 3);
    double mrow[4] = {2, 0.25, 0.25, 0.5};
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_algo__linear.format_json(mc, mrow, &buf, &err), ==, 0);
    LT_CHECK_STR(buf.data, "{\"score\":[0.25,0.25,0.5],\"predicted_label\":2}");
    lt_algo_model *rg = lt_linear__model_new(LT_LINEAR_REGRESSOR, LT_LINEAR_SQUARED, 1, 1);
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_algo__linear.format_json(rg, mrow, &buf, &err), ==, 0);
    LT_CHECK_STR(buf.data, "{\"score\":2}");
    /* a corrupt file fails cleanly */
    char *path = lt_xasprintf("%s/linear_model.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"algorithm\":\"linear-learner\",\"predictor_type\":\"regressor\",\"loss\":\"squared_"
          "loss\","
          "\"feature_dim\":2,\"num_outputs\":1,\"threshold\":0,\"label_mean\":0,\"label_scale\":1,"
          "\"feature_mean\":[0,0],\"feature_scale\":[1,0],\"weights\":[[1,2]],\"bias\":[0]}",
          f);
    fclose(f);
    lt_algo_model *bad = NULL;
    lt_err_clear(&err);
    LT_CHECK_INT(lt_algo__linear.load(dir, &bad, &err), ==, LT_EINVAL);
    LT_CHECK(bad == NULL);
    LT_CHECK_CONTAINS(err.msg, "feature_scale");
    free(path);
    lt_buf_free(&buf);
    lt_linear__model_free(mc), lt_linear__model_free(rg);
    lt_algo__linear.free(m);
    lt_algo__linear.free(back);
    lt_dataset_free(ds);
    free(dir);
}

static void bad_hyperparameters_are_named(void)
{
    float x[4] = {0, 1, 2, 3}, y[4] = {0, 0, 1, 1};
    lt_dataset *ds = labelled(x, y, 4, 1);
    struct {
        json_t *h;
        const char *names;
    } cases[] = {
        {hps(NULL, NULL), "predictor_type"},
        {hps("classifier", NULL), "predictor_type"},
        {hps("multiclass_classifier", NULL), "num_classes"},
        {hps("multiclass_classifier", "num_classes", "2", NULL), "num_classes"},
        {hps("binary_classifier", "loss", "softmax_loss", NULL), "loss"},
        {hps("regressor", "loss", "logistic", NULL), "loss"},
        {hps("binary_classifier", "learning_rate", "-1", NULL), "learning_rate"},
        {hps("binary_classifier", "learning_rate", "fast", NULL), "learning_rate"},
        {hps("binary_classifier", "wd", "-0.1", NULL), "wd"},
        {hps("binary_classifier", "mini_batch_size", "0", NULL), "mini_batch_size"},
        {hps("binary_classifier", "feature_dim", "3", NULL), "feature_dim"},
        {hps("binary_classifier", "optimizer", "lbfgs", NULL), "optimizer"},
        {hps("binary_classifier", "positive_example_weight_mult", "heavy", NULL),
         "positive_example_weight_mult"},
        {hps("binary_classifier", "target_recall", "1.5", NULL), "target_recall"},
        {hps("binary_classifier", "use_bias", "false", "unbias_data", "true", NULL), "unbias_data"},
        {hps("binary_classifier", "num_trees", "3", NULL), "num_trees"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lt_err err = {0};
        lt_algo_model *m = train_v(ds, NULL, cases[c].h, &err);
        LT_CHECK(m == NULL);
        if (m) lt_algo__linear.free(m);
        LT_CHECK_INT(err.code, ==, LT_EINVAL);
        LT_CHECK_CONTAINS(err.msg, cases[c].names);
    }
    /* documented words are accepted */
    lt_err err = {0};
    lt_algo_model *m = train_v(ds, NULL,
                               hps("binary_classifier", "positive_example_weight_mult", "balanced",
                                   "learning_rate", "auto", "l1", "0.001", "optimizer", "rmsprop",
                                   "loss", "hinge_loss", NULL),
                               &err);
    LT_CHECK(m != NULL);
    if (!m) fprintf(stderr, "  %s\n", err.msg);
    lt_algo__linear.free(m);
    lt_dataset_free(ds);
}

static void bad_data_is_refused(void)
{
    float x[4] = {0, 1, 2, 3}, y[4] = {0, 2, 1, 1};
    lt_dataset *ds = labelled(x, y, 4, 1);
    lt_err err = {0};
    LT_CHECK(train_v(ds, NULL, hps("binary_classifier", NULL), &err) == NULL);
    LT_CHECK_INT(err.code, ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "row 2 has label 2");
    ds->labels[1] = 0;
    ds->x.values[2] = NAN;
    LT_CHECK(train_v(ds, NULL, hps("binary_classifier", NULL), &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "row 3 has a missing");
    free(ds->labels);
    ds->labels = NULL;
    LT_CHECK(train_v(ds, NULL, hps("regressor", NULL), &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "no labels");
    lt_dataset_free(ds);
}

/* Every optimizer with both binary losses separates the 1-D classes; every regression loss
 * fits a noiseless line (quantile 0.5 and the insensitive losses within their slack). */
static void every_optimizer_and_loss_learns(void)
{
    float x[40], y[40];
    for (int i = 0; i < 20; i++) {
        x[i] = -1.0f - (float)i * 0.25f, y[i] = 0;
        x[20 + i] = 1.0f + (float)i * 0.25f, y[20 + i] = 1;
    }
    lt_dataset *ds = labelled(x, y, 40, 1);
    const char *opts[] = {"sgd", "adam", "rmsprop"}, *losses[] = {"logistic", "hinge_loss"};
    for (int o = 0; o < 3; o++)
        for (int l = 0; l < 2; l++) {
            lt_err err = {0};
            lt_algo_model *m = train_v(ds, NULL,
                                       hps("binary_classifier", "optimizer", opts[o], "loss",
                                           losses[l], "mini_batch_size", "8", NULL),
                                       &err);
            if (!m) {
                LT_FAIL_AT("%s/%s: %s", opts[o], losses[l], err.msg);
                continue;
            }
            if (metric("train:binary_classification_accuracy") != 1.0)
                LT_FAIL_AT("%s/%s: train accuracy %g", opts[o], losses[l],
                           metric("train:binary_classification_accuracy"));
            lt_algo__linear.free(m);
        }
    for (int i = 0; i < 40; i++)
        y[i] = 3 * x[i] + 1;
    memcpy(ds->labels, y, sizeof y);
    const char *rloss[] = {"squared_loss",
                           "absolute_loss",
                           "eps_insensitive_squared_loss",
                           "eps_insensitive_absolute_loss",
                           "quantile_loss",
                           "huber_loss"};
    for (int l = 0; l < 6; l++) {
        lt_err err = {0};
        lt_algo_model *m = train_v(ds, NULL,
                                   hps("regressor", "loss", rloss[l], "mini_batch_size", "8",
                                       "epochs", "100", "early_stopping_patience", "100", NULL),
                                   &err);
        if (!m) {
            LT_FAIL_AT("%s: %s", rloss[l], err.msg);
            continue;
        }
        /* labels span about 36: a mean absolute error of 0.1 is a fitted line */
        if (!(metric("train:absolute_loss") < 0.1))
            LT_FAIL_AT("%s: train absolute_loss %g", rloss[l], metric("train:absolute_loss"));
        lt_algo__linear.free(m);
    }
    lt_dataset_free(ds);
}

/* Training stops once the best loss has not improved by early_stopping_tolerance (relative)
 * for early_stopping_patience epochs; a tolerance of 0 and a large patience run every epoch. */
static void early_stopping_ends_a_converged_run(void)
{
    float x[40], y[40];
    for (int i = 0; i < 20; i++) {
        x[i] = -1.0f - (float)i * 0.25f, y[i] = 3 * x[i] + 1;
        x[20 + i] = 1.0f + (float)i * 0.25f, y[20 + i] = 3 * x[20 + i] + 1;
    }
    lt_dataset *ds = labelled(x, y, 40, 1);
    lt_err err = {0};
    lt_algo_model *m = train_v(
        ds, NULL, hps("regressor", "epochs", "300", "early_stopping_tolerance", "0.5", NULL), &err);
    LT_CHECK(m != NULL);
    LT_CHECK(n_epochs >= 4 && n_epochs < 300);
    int stopped = n_epochs;
    lt_algo__linear.free(m);
    m = train_v(ds, NULL,
                hps("regressor", "epochs", "30", "early_stopping_tolerance", "0",
                    "early_stopping_patience", "1000", NULL),
                &err);
    LT_CHECK(m != NULL);
    LT_CHECK_INT(n_epochs, ==, 30);
    fprintf(stderr, "  tolerance 0.5 stopped after %d epochs\n", stopped);
    lt_algo__linear.free(m);
    lt_dataset_free(ds);
}

/* On overlapping, imbalanced classes (1 positive in 10) with the threshold fixed at 0.5
 * (loss_function), positive_example_weight_mult=balanced raises the recall. */
static void balanced_weights_raise_recall(void)
{
    enum { N = 1000 };
    float x[N], y[N];
    uint64_t s = 9;
    for (int i = 0; i < N; i++) {
        y[i] = i % 10 == 0;
        double g =
            sqrt(-2 * log(1 - lt_algo__rng_unit(&s))) * cos(2 * M_PI * lt_algo__rng_unit(&s));
        x[i] = (float)(g + (y[i] > 0 ? 1.0 : 0.0));
    }
    lt_dataset *ds = labelled(x, y, N, 1);
    double recall[2];
    const char *mult[2] = {"1.0", "balanced"};
    for (int k = 0; k < 2; k++) {
        lt_err err = {0};
        lt_algo_model *m = train_v(ds, NULL,
                                   hps("binary_classifier", "positive_example_weight_mult", mult[k],
                                       "binary_classifier_model_selection_criteria",
                                       "loss_function", "mini_batch_size", "100", NULL),
                                   &err);
        LT_CHECK(m != NULL);
        recall[k] = metric("train:recall");
        if (m) LT_CHECK(m->threshold == 0.5);
        lt_algo__linear.free(m);
    }
    if (!(recall[1] > recall[0] + 0.3))
        LT_FAIL_AT("recall %g unweighted, %g balanced", recall[0], recall[1]);
    fprintf(stderr, "  recall %.3f unweighted, %.3f balanced\n", recall[0], recall[1]);
    lt_dataset_free(ds);
}

/* A strong L1 penalty zeroes the weight of a feature that carries no signal. */
static void l1_zeroes_a_useless_feature(void)
{
    enum { N = 200 };
    float x[N * 2], y[N];
    uint64_t s = 5;
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)(lt_algo__rng_unit(&s) * 2 - 1);
        x[2 * i + 1] = (float)(lt_algo__rng_unit(&s) * 2 - 1);
        y[i] = 2 * x[2 * i];
    }
    lt_dataset *ds = labelled(x, y, N, 2);
    lt_err err = {0};
    lt_algo_model *m =
        train_v(ds, NULL,
                hps("regressor", "optimizer", "sgd", "learning_rate", "0.05", "l1", "0.05", "wd",
                    "0", "num_models", "1", "epochs", "50", "mini_batch_size", "20", NULL),
                &err);
    LT_CHECK(m != NULL);
    if (m) {
        LT_CHECK(m->weights[1] == 0.0f);
        LT_CHECK(m->weights[0] > 0.5f);
        lt_algo__linear.free(m);
    }
    lt_dataset_free(ds);
}

/* Without the normalised copy (copy_max_bytes 0) each thread normalises rows on the fly:
 * the same rows in the same order give the same model, bit for bit. */
static void on_the_fly_rows_match_the_copy(void)
{
    enum { N = 300 };
    float x[N * 3], y[N];
    uint64_t s = 11;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 3; j++)
            x[3 * i + j] = (float)(4 * lt_algo__rng_unit(&s) + j);
        y[i] = x[3 * i] - x[3 * i + 2] + 1.5f > 0;
    }
    lt_dataset *ds = labelled(x, y, N, 3);
    json_t *h = hps("binary_classifier", "mini_batch_size", "16", "num_models", "3", NULL);
    lt_linear_params p;
    lt_err err = {0};
    LT_CHECK_INT(lt_linear__params_parse(h, &p, &err), ==, 0);
    lt_algo_train_args a = {.train = ds, .hyperparameters = h, .threads = 2};
    lt_algo_model *copy = NULL, *fly = NULL;
    LT_CHECK_INT(lt_linear__train(&p, &a, &copy, &err), ==, 0);
    p.copy_max_bytes = 0;
    LT_CHECK_INT(lt_linear__train(&p, &a, &fly, &err), ==, 0);
    if (copy && fly) {
        for (int j = 0; j < 3; j++)
            if (copy->weights[j] != fly->weights[j])
                LT_FAIL_AT("weight %d: %.9g with the copy, %.9g on the fly", j, copy->weights[j],
                           fly->weights[j]);
        LT_CHECK(copy->bias[0] == fly->bias[0] && copy->threshold == fly->threshold);
        LT_CHECK(copy->weights[0] > 0 && copy->weights[2] < 0);
    }
    lt_linear__model_free(copy), lt_linear__model_free(fly);
    json_decref(h);
    lt_dataset_free(ds);
}

static void registry_finds_linear_learner(void)
{
    LT_CHECK(lt_algo_find("linear-learner") == &lt_algo__linear);
    bool found = false;
    for (const char *const *mname = lt_algo__linear.metrics; *mname; mname++)
        found |= strcmp(*mname, "validation:binary_f_beta") == 0;
    LT_CHECK(found);
}

int main(void)
{
    LT_RUN(separable_1d_binary_is_learned);
    LT_RUN(exact_linear_regression_is_recovered);
    LT_RUN(three_separable_classes);
    LT_RUN(thresholds_follow_each_criterion);
    LT_RUN(loss_gradients_match_finite_differences);
    LT_RUN(model_round_trips_and_formats);
    LT_RUN(bad_hyperparameters_are_named);
    LT_RUN(bad_data_is_refused);
    LT_RUN(every_optimizer_and_loss_learns);
    LT_RUN(l1_zeroes_a_useless_feature);
    LT_RUN(balanced_weights_raise_recall);
    LT_RUN(early_stopping_ends_a_converged_run);
    LT_RUN(on_the_fly_rows_match_the_copy);
    LT_RUN(registry_finds_linear_learner);
    return lt_test_summary();
}
