/* The k-NN model files and SageMaker's inference records.
 *
 * knn_model.json: the header (predictor_type, k, feature_dim, reduced_dim, index_metric,
 * dimension_reduction_type, seed, points, nlists, nprobe, list_start); knn_index.bin: the
 * index as raw little-endian float32, points (points, reduced_dim) then labels (points)
 * then centroids (nlists, reduced_dim). Load checks the binary's size against the header
 * before reading, so a header cannot make it allocate more than the file holds.
 *
 * Records: {"predicted_label":3.0}; verbose (Accept: application/json; verbose=true) adds
 * "distances" and "labels" of the k neighbours, best first. */
#include "algo/knn/knn.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const metric_names[] = {"L2", "INNER_PRODUCT", "COSINE"};
static const char *const reduce_names[] = {"none", "sign", "fjlt"};

void lt_knn__model_free(lt_algo_model *m)
{
    if (!m) return;
    free(m->sign_matrix);
    free(m->fjlt_sign);
    free(m->fjlt_pick);
    free(m->points);
    free(m->labels);
    free(m->norms);
    free(m->centroids);
    free(m->cnorms);
    free(m->list_start);
    free(m);
}

static int write_all(FILE *f, const void *p, size_t bytes)
{
    return bytes && fwrite(p, 1, bytes, f) != bytes;
}

int lt_knn__save(const lt_algo_model *m, const char *dir, lt_err *err)
{
    char *path = lt_xasprintf("%s/knn_model.json", dir);
    char *bin = lt_xasprintf("%s/knn_index.bin", dir);
    int rc = 0;
    FILE *f = fopen(path, "w");
    if (!f) {
        rc = lt_err_set(err, LT_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    fprintf(f,
            "{\"algorithm\":\"knn\",\"predictor_type\":\"%s\",\"k\":%d,\"feature_dim\":%d,"
            "\"reduced_dim\":%d,\"index_metric\":\"%s\",\"dimension_reduction_type\":\"%s\","
            "\"seed\":%llu,\"points\":%zu,\"nlists\":%d,\"nprobe\":%d,\"list_start\":[",
            m->classifier ? "classifier" : "regressor", m->k, m->dim, m->rdim,
            metric_names[m->metric], reduce_names[m->reduce], (unsigned long long)m->seed, m->n,
            m->nlist, m->nprobe);
    for (int j = 0; m->nlist && j <= m->nlist; j++)
        fprintf(f, j ? ",%zu" : "%zu", m->list_start[j]);
    fputs("]}\n", f);
    int bad = ferror(f) | (fclose(f) != 0);
    if (bad) {
        rc = lt_err_set(err, LT_EIO, "%s: write failed", path);
        goto done;
    }
    f = fopen(bin, "wb");
    if (!f) {
        rc = lt_err_set(err, LT_EIO, "%s: cannot create: %s", bin, strerror(errno));
        goto done;
    }
    bad = write_all(f, m->points, m->n * m->rdim * sizeof(float)) |
          write_all(f, m->labels, m->n * sizeof(float)) |
          write_all(f, m->centroids, (size_t)m->nlist * m->rdim * sizeof(float));
    bad |= ferror(f) | (fclose(f) != 0);
    if (bad) rc = lt_err_set(err, LT_EIO, "%s: write failed", bin);
done:
    free(path), free(bin);
    return rc;
}

static int name_index(const char *const *names, int count, const char *s)
{
    for (int i = 0; s && i < count; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

static bool int_in(json_t *v, long long lo, long long hi, long long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = json_integer_value(v);
    return true;
}

int lt_knn__load(const char *dir, lt_algo_model **out, lt_err *err)
{
    char *path = lt_xasprintf("%s/knn_model.json", dir);
    char *bin = lt_xasprintf("%s/knn_index.bin", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    lt_algo_model *m = NULL;
    FILE *f = NULL;
    int rc = 0;
    if (!root) {
        rc = lt_err_set(err, LT_EINVAL, "%s: corrupt knn model: %s (line %d)", path, je.text,
                        je.line);
        goto done;
    }
    long long k, dim, rdim, seed, n, nlist, nprobe;
    const char *pt = json_string_value(json_object_get(root, "predictor_type"));
    int metric =
        name_index(metric_names, 3, json_string_value(json_object_get(root, "index_metric")));
    int reduce = name_index(reduce_names, 3,
                            json_string_value(json_object_get(root, "dimension_reduction_type")));
    if (!int_in(json_object_get(root, "k"), 1, 1024, &k) ||
        !int_in(json_object_get(root, "feature_dim"), 1, INT_MAX, &dim) ||
        !int_in(json_object_get(root, "reduced_dim"), 1, dim, &rdim) ||
        !int_in(json_object_get(root, "seed"), 0, LLONG_MAX, &seed) ||
        !int_in(json_object_get(root, "points"), k, LLONG_MAX / 4, &n) ||
        !int_in(json_object_get(root, "nlists"), 0, n, &nlist) ||
        !int_in(json_object_get(root, "nprobe"), 0, nlist, &nprobe) || metric < 0 || reduce < 0 ||
        !pt || (strcmp(pt, "classifier") && strcmp(pt, "regressor")) ||
        (reduce == LT_KNN_REDUCE_NONE && rdim != dim)) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: corrupt knn model: a header field is missing or out "
                        "of range",
                        path);
        goto done;
    }
    /* the binary must hold exactly what the header says, checked before allocating */
    struct stat st;
    double want = ((double)n * (double)rdim + (double)n + (double)nlist * (double)rdim) * 4.0;
    if (stat(bin, &st) != 0 || (double)st.st_size != want) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: corrupt knn model: size does not match the header's "
                        "%lld points of %lld dimensions",
                        bin, n, rdim);
        goto done;
    }
    json_t *ls = json_object_get(root, "list_start");
    if (nlist && (!json_is_array(ls) || json_array_size(ls) != (size_t)nlist + 1)) {
        rc = lt_err_set(err, LT_EINVAL, "%s: corrupt knn model: list_start is not %lld numbers",
                        path, nlist + 1);
        goto done;
    }
    m = lt_xcalloc(1, sizeof *m);
    m->classifier = strcmp(pt, "classifier") == 0;
    m->k = (int)k, m->dim = (int)dim, m->rdim = (int)rdim, m->seed = (uint64_t)seed;
    m->metric = (lt_knn_metric)metric, m->reduce = (lt_knn_reduce)reduce;
    m->n = (size_t)n, m->nlist = (int)nlist, m->nprobe = (int)nprobe;
    lt_knn__reduction_build(m);
    m->points = lt_xmalloc(m->n * m->rdim * sizeof(float) + 1);
    m->labels = lt_xmalloc(m->n * sizeof(float) + 1);
    m->norms = lt_xmalloc(m->n * sizeof(float) + 1);
    m->centroids = lt_xmalloc((size_t)m->nlist * m->rdim * sizeof(float) + 1);
    m->cnorms = lt_xmalloc((size_t)m->nlist * sizeof(float) + 1);
    m->list_start = lt_xcalloc((size_t)m->nlist + 1, sizeof(size_t));
    for (int j = 0; m->nlist && j <= m->nlist; j++) {
        long long v;
        if (!int_in(json_array_get(ls, j), j ? (long long)m->list_start[j - 1] : 0, n, &v) ||
            (j == 0 && v != 0) || (j == m->nlist && v != n)) {
            rc = lt_err_set(err, LT_EINVAL, "%s: corrupt knn model: list_start[%d]", path, j);
            goto done;
        }
        m->list_start[j] = (size_t)v;
    }
    f = fopen(bin, "rb");
    size_t np = m->n * m->rdim, nc = (size_t)m->nlist * m->rdim;
    if (!f || fread(m->points, sizeof(float), np, f) != np ||
        fread(m->labels, sizeof(float), m->n, f) != m->n ||
        (nc && fread(m->centroids, sizeof(float), nc, f) != nc)) {
        rc = lt_err_set(err, LT_EIO, "%s: read failed", bin);
        goto done;
    }
    for (size_t i = 0; i < np; i++)
        if (!isfinite(m->points[i])) {
            rc = lt_err_set(err, LT_EINVAL, "%s: corrupt knn model: point value %zu is not finite",
                            bin, i);
            goto done;
        }
    for (size_t i = 0; i < m->n; i++)
        if (!isfinite(m->labels[i])) {
            rc = lt_err_set(err, LT_EINVAL, "%s: corrupt knn model: label %zu is not finite", bin,
                            i);
            goto done;
        }
    lt_knn__norms(m);
done:
    if (f) fclose(f);
    if (rc) lt_knn__model_free(m), m = NULL;
    json_decref(root);
    free(path), free(bin);
    *out = m;
    return rc;
}

int lt_knn__format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    (void)m;
    return lt_buf_printf(out, err, "{\"predicted_label\":%.9g}", row[0]);
}

int lt_knn__format_json_verbose(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    int k = m->k;
    int rc = lt_buf_printf(out, err, "{\"predicted_label\":%.9g,\"distances\":[", row[0]);
    for (int j = 0; j < k && !rc; j++)
        rc = lt_buf_printf(out, err, j ? ",%.9g" : "%.9g", row[1 + k + j]);
    if (!rc) rc = lt_buf_append(out, "],\"labels\":[", 12, err);
    for (int j = 0; j < k && !rc; j++)
        rc = lt_buf_printf(out, err, j ? ",%.9g" : "%.9g", row[1 + j]);
    if (!rc) rc = lt_buf_append(out, "]}", 2, err);
    return rc;
}

int lt_knn__format_csv(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    (void)m;
    return lt_buf_printf(out, err, "%.9g", row[0]);
}
