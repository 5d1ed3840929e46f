/* The Linear Learner model file, prediction and SageMaker's inference records.
 *
 * linear_model.json: {"algorithm": "linear-learner", "predictor_type", "loss",
 * "feature_dim", "num_outputs", "threshold", "label_mean", "label_scale", "feature_mean"
 * [feature_dim], "feature_scale" [feature_dim], "weights" [num_outputs][feature_dim],
 * "bias" [num_outputs]}; the weights act on normalised features (x - mean) / scale and give
 * a normalised label (regressors: y = score * label_scale + label_mean). Load checks every
 * field and folds the statistics into raw-space weights.
 *
 * Records (AWS developer guide, "Linear learner response formats"): regressor
 * {"score":x}; binary {"score":p,"predicted_label":0|1}; multiclass
 * {"score":[p0,...],"predicted_label":c}. text/csv (not documented by AWS): the regressor's
 * score, binary "predicted_label,score", multiclass "predicted_label,p0,...". */
#include "algo/linear/linear.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"binary_classifier", "multiclass_classifier", "regressor"};
static const char *const loss_names[] = {"logistic",
                                         "hinge_loss",
                                         "squared_loss",
                                         "absolute_loss",
                                         "eps_insensitive_squared_loss",
                                         "eps_insensitive_absolute_loss",
                                         "quantile_loss",
                                         "huber_loss",
                                         "softmax_loss"};
#define N_LOSSES (sizeof loss_names / sizeof loss_names[0])

lt_algo_model *lt_linear__model_new(lt_linear_kind kind, lt_linear_loss loss, int dim, int n_out)
{
    lt_algo_model *m = lt_xcalloc(1, sizeof *m);
    size_t nw = (size_t)dim * n_out;
    m->kind = kind, m->loss = loss, m->dim = dim, m->n_out = n_out;
    m->weights = lt_xcalloc(nw + 1, sizeof(float));
    m->w_raw = lt_xcalloc(nw + 1, sizeof(float));
    m->bias = lt_xcalloc((size_t)n_out, sizeof(float));
    m->b_raw = lt_xcalloc((size_t)n_out, sizeof(float));
    m->x_mean = lt_xcalloc((size_t)dim + 1, sizeof(float));
    m->x_scale = lt_xcalloc((size_t)dim + 1, sizeof(float));
    m->y_scale = 1;
    return m;
}

void lt_linear__model_free(lt_algo_model *m)
{
    if (!m) return;
    free(m->weights), free(m->w_raw), free(m->bias), free(m->b_raw);
    free(m->x_mean), free(m->x_scale);
    free(m);
}

void lt_linear__model_fold(lt_algo_model *m)
{
    for (int c = 0; c < m->n_out; c++) {
        const float *w = m->weights + (size_t)c * m->dim;
        float *wr = m->w_raw + (size_t)c * m->dim;
        double b = m->bias[c];
        for (int j = 0; j < m->dim; j++) {
            double v = (double)w[j] / m->x_scale[j];
            wr[j] = (float)(v * m->y_scale);
            b -= v * m->x_mean[j];
        }
        m->b_raw[c] = (float)(b * m->y_scale + m->y_mean);
    }
}

size_t lt_linear__output_width(const lt_algo_model *m)
{
    return m->kind == LT_LINEAR_REGRESSOR ? 1
           : m->kind == LT_LINEAR_BINARY  ? 2
                                          : 1 + (size_t)m->n_out;
}

/* One row's outputs from its raw scores s (n_out). */
static void finish_row(const lt_algo_model *m, const float *s, double *o)
{
    if (m->kind == LT_LINEAR_REGRESSOR) {
        o[0] = s[0];
    } else if (m->kind == LT_LINEAR_BINARY) {
        o[1] = lt_linear__binary_score(m->loss, s[0]);
        o[0] = o[1] >= m->threshold ? 1 : 0;
    } else {
        int c = m->n_out, best = 0;
        float mx = s[0];
        for (int j = 1; j < c; j++)
            if (s[j] > mx) mx = s[j], best = j;
        double z = 0;
        for (int j = 0; j < c; j++)
            z += exp((double)(s[j] - mx));
        for (int j = 0; j < c; j++)
            o[1 + j] = exp((double)(s[j] - mx)) / z;
        o[0] = best;
    }
}

int lt_linear__predict(const lt_algo_model *m, const lt_matrix *x, int threads, double *out,
                       lt_err *err)
{
    if (x->kind == LT_MATRIX_DENSE ? x->n_cols != (size_t)m->dim : x->n_cols > (size_t)m->dim)
        return lt_err_set(err, LT_EINVAL,
                          "linear-learner: input has %zu columns, the model expects %d", x->n_cols,
                          m->dim);
    int nth = threads > 0 ? threads : omp_get_max_threads();
    size_t n = x->n_rows, d = (size_t)m->dim, wdt = lt_linear__output_width(m);
    float *scratch = malloc((size_t)nth * (d + (size_t)m->n_out) * sizeof(float));
    if (!scratch) return lt_err_set(err, LT_ENOMEM, "linear-learner: out of memory predicting");
    size_t bad = SIZE_MAX;
#pragma omp parallel for num_threads(nth) schedule(static) reduction(min : bad)
    for (size_t r = 0; r < n; r++) {
        float *row = scratch + (size_t)omp_get_thread_num() * (d + (size_t)m->n_out), *s = row + d;
        const float *xi = x->values + r * d;
        if (x->kind != LT_MATRIX_DENSE) { /* absent entries are 0, as SageMaker's sparse input */
            memset(row, 0, d * sizeof(float));
            for (size_t p = x->row_ptr[r]; p < x->row_ptr[r + 1]; p++)
                if (x->col_idx[p] < d) row[x->col_idx[p]] = x->values[p];
            xi = row;
        }
        for (int c = 0; c < m->n_out; c++) {
            const float *w = m->w_raw + (size_t)c * d;
            float acc = 0;
#pragma omp simd reduction(+ : acc)
            for (size_t j = 0; j < d; j++)
                acc += w[j] * xi[j];
            s[c] = m->b_raw[c] + acc;
        }
        if (!isfinite(s[0]) && r < bad) bad = r;
        finish_row(m, s, out + r * wdt);
    }
    free(scratch);
    if (bad != SIZE_MAX)
        return lt_err_set(err, LT_EINVAL,
                          "linear-learner: input row %zu has a missing or non-finite value",
                          bad + 1);
    return 0;
}

int lt_linear__format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    if (m->kind == LT_LINEAR_REGRESSOR) return lt_buf_printf(out, err, "{\"score\":%.9g}", row[0]);
    if (m->kind == LT_LINEAR_BINARY)
        return lt_buf_printf(out, err, "{\"score\":%.9g,\"predicted_label\":%d}", row[1],
                             (int)row[0]);
    int rc = lt_buf_append(out, "{\"score\":[", 10, err);
    for (int c = 0; c < m->n_out && !rc; c++)
        rc = lt_buf_printf(out, err, c ? ",%.9g" : "%.9g", row[1 + c]);
    if (!rc) rc = lt_buf_printf(out, err, "],\"predicted_label\":%d}", (int)row[0]);
    return rc;
}

int lt_linear__format_csv(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    if (m->kind == LT_LINEAR_REGRESSOR) return lt_buf_printf(out, err, "%.9g", row[0]);
    int rc = lt_buf_printf(out, err, "%d", (int)row[0]);
    for (size_t c = 1; c < lt_linear__output_width(m) && !rc; c++)
        rc = lt_buf_printf(out, err, ",%.9g", row[c]);
    return rc;
}

static json_t *float_array(const float *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

int lt_linear__save(const lt_algo_model *m, const char *dir, lt_err *err)
{
    json_t *weights = json_array();
    for (int c = 0; c < m->n_out; c++)
        json_array_append_new(weights,
                              float_array(m->weights + (size_t)c * m->dim, (size_t)m->dim));
    json_t *root =
        json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:o, s:o, s:o, s:o}", "algorithm",
                  "linear-learner", "predictor_type", kind_names[m->kind], "loss",
                  loss_names[m->loss], "feature_dim", m->dim, "num_outputs", m->n_out, "threshold",
                  m->threshold, "label_mean", m->y_mean, "label_scale", m->y_scale, "feature_mean",
                  float_array(m->x_mean, (size_t)m->dim), "feature_scale",
                  float_array(m->x_scale, (size_t)m->dim), "weights", weights, "bias",
                  float_array(m->bias, (size_t)m->n_out));
    char *path = lt_xasprintf("%s/linear_model.json", dir);
    int rc = 0;
    if (!root || json_dump_file(root, path, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0)
        rc = lt_err_set(err, LT_EIO, "%s: write failed: %s", path, strerror(errno));
    json_decref(root);
    free(path);
    return rc;
}

static int name_index(const char *const *names, size_t count, const char *s)
{
    for (size_t i = 0; s && i < count; i++)
        if (strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

/* A JSON array of exactly n finite numbers into out. */
static bool read_floats(json_t *a, size_t n, float *out, bool positive)
{
    if (!json_is_array(a) || json_array_size(a) != n) return false;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_number(v)) return false;
        double x = json_number_value(v);
        if (!isfinite(x) || (positive && !(x > 0))) return false;
        out[i] = (float)x;
    }
    return true;
}

int lt_linear__load(const char *dir, lt_algo_model **out, lt_err *err)
{
    char *path = lt_xasprintf("%s/linear_model.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    lt_algo_model *m = NULL;
    int rc = 0;
    *out = NULL;
    if (!root) {
        rc = lt_err_set(err, LT_EINVAL, "%s: corrupt linear-learner model: %s (line %d)", path,
                        je.text, je.line);
        goto done;
    }
    int kind =
        name_index(kind_names, 3, json_string_value(json_object_get(root, "predictor_type")));
    int loss = name_index(loss_names, N_LOSSES, json_string_value(json_object_get(root, "loss")));
    json_t *jd = json_object_get(root, "feature_dim"), *jk = json_object_get(root, "num_outputs");
    json_t *jt = json_object_get(root, "threshold"), *jm = json_object_get(root, "label_mean"),
           *js = json_object_get(root, "label_scale");
    long long dim = json_is_integer(jd) ? json_integer_value(jd) : -1;
    long long k = json_is_integer(jk) ? json_integer_value(jk) : -1;
    json_t *weights = json_object_get(root, "weights");
    bool ok = kind >= 0 && loss >= 0 && dim >= 1 && dim <= (1 << 26) && k >= 1 && k <= 1000000 &&
              (kind == LT_LINEAR_MULTICLASS ? k >= 3 : k == 1) && json_is_number(jt) &&
              json_is_number(jm) && json_is_number(js) && isfinite(json_number_value(jt)) &&
              isfinite(json_number_value(jm)) && json_number_value(js) > 0 &&
              isfinite(json_number_value(js)) && json_is_array(weights) &&
              json_array_size(weights) == (size_t)k && (double)dim * (double)k <= 1e9;
    if (!ok) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: corrupt linear-learner model: a header field is missing or out of "
                        "range",
                        path);
        goto done;
    }
    m = lt_linear__model_new((lt_linear_kind)kind, (lt_linear_loss)loss, (int)dim, (int)k);
    m->threshold = json_number_value(jt);
    m->y_mean = json_number_value(jm), m->y_scale = json_number_value(js);
    ok = read_floats(json_object_get(root, "feature_mean"), (size_t)dim, m->x_mean, false) &&
         read_floats(json_object_get(root, "feature_scale"), (size_t)dim, m->x_scale, true) &&
         read_floats(json_object_get(root, "bias"), (size_t)k, m->bias, false);
    for (long long c = 0; ok && c < k; c++)
        ok = read_floats(json_array_get(weights, (size_t)c), (size_t)dim,
                         m->weights + (size_t)c * dim, false);
    if (!ok) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: corrupt linear-learner model: feature_mean, feature_scale, weights "
                        "or bias has the wrong length or a non-finite value",
                        path);
        goto done;
    }
    lt_linear__model_fold(m);
done:
    if (rc) lt_linear__model_free(m), m = NULL;
    json_decref(root);
    free(path);
    *out = m;
    return rc;
}
