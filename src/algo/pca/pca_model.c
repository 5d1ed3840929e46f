/* The PCA model: its file (pca_model.json in the model directory: feature_dim,
 * num_components, subtract_mean, mode, mean, components as rows, singular_values,
 * explained_variance, explained_variance_ratio; floats written with %.9g so they
 * round-trip) and SageMaker's inference record {"projection":[...]}. */
#include "algo/pca/pca.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lt_algo_model *lt_pca__model_new(int dim, int nc)
{
    lt_algo_model *m = lt_xcalloc(1, sizeof *m);
    m->dim = dim;
    m->nc = nc;
    m->components = lt_xcalloc((size_t)nc * dim, sizeof(float));
    m->components_t = lt_xcalloc((size_t)nc * dim, sizeof(float));
    m->mean = lt_xcalloc((size_t)dim, sizeof(float));
    m->mean_proj = lt_xcalloc((size_t)nc, sizeof(float));
    m->singular_values = lt_xcalloc((size_t)nc, sizeof(double));
    m->explained_variance = lt_xcalloc((size_t)nc, sizeof(double));
    m->explained_variance_ratio = lt_xcalloc((size_t)nc, sizeof(double));
    return m;
}

void lt_pca__model_derive(lt_algo_model *m)
{
    for (int j = 0; j < m->nc; j++) {
        double mp = 0;
        for (int q = 0; q < m->dim; q++) {
            float c = m->components[(size_t)j * m->dim + q];
            m->components_t[(size_t)q * m->nc + j] = c;
            mp += (double)c * m->mean[q];
        }
        m->mean_proj[j] = (float)mp;
    }
}

void lt_pca__model_free(lt_algo_model *m)
{
    if (!m) return;
    free(m->components);
    free(m->components_t);
    free(m->mean);
    free(m->mean_proj);
    free(m->singular_values);
    free(m->explained_variance);
    free(m->explained_variance_ratio);
    free(m);
}

static void put_floats(FILE *f, const char *key, const float *v, size_t n)
{
    fprintf(f, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ",%.9g" : "%.9g", (double)v[i]);
    fputc(']', f);
}

static void put_doubles(FILE *f, const char *key, const double *v, size_t n)
{
    fprintf(f, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ",%.17g" : "%.17g", v[i]);
    fputc(']', f);
}

int lt_pca__save(const lt_algo_model *m, const char *dir, lt_err *err)
{
    char *path = lt_xasprintf("%s/pca_model.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        int rc = lt_err_set(err, LT_EIO, "%s: cannot create: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    fprintf(f,
            "{\"algorithm\":\"pca\",\"feature_dim\":%d,\"num_components\":%d,"
            "\"subtract_mean\":%s,\"algorithm_mode\":\"%s\"",
            m->dim, m->nc, m->subtract_mean ? "true" : "false",
            m->randomized ? "randomized" : "regular");
    put_floats(f, "mean", m->mean, (size_t)m->dim);
    fputs(",\"components\":[", f);
    for (int j = 0; j < m->nc; j++) {
        fputs(j ? ",[" : "[", f);
        for (int q = 0; q < m->dim; q++)
            fprintf(f, q ? ",%.9g" : "%.9g", (double)m->components[(size_t)j * m->dim + q]);
        fputc(']', f);
    }
    fputc(']', f);
    put_doubles(f, "singular_values", m->singular_values, (size_t)m->nc);
    put_doubles(f, "explained_variance", m->explained_variance, (size_t)m->nc);
    put_doubles(f, "explained_variance_ratio", m->explained_variance_ratio, (size_t)m->nc);
    fputs("}\n", f);
    int bad = ferror(f) | (fclose(f) != 0);
    int rc = bad ? lt_err_set(err, LT_EIO, "%s: write failed", path) : 0;
    free(path);
    return rc;
}

/* Reads a JSON array of exactly n finite numbers into f (float) or d (double). */
static bool get_numbers(const json_t *a, size_t n, float *f, double *d)
{
    if (!json_is_array(a) || json_array_size(a) != n) return false;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        if (!isfinite(x) || (f && fabs(x) > FLT_MAX)) return false;
        if (f)
            f[i] = (float)x;
        else
            d[i] = x;
    }
    return true;
}

int lt_pca__load(const char *dir, lt_algo_model **out, lt_err *err)
{
    char *path = lt_xasprintf("%s/pca_model.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    lt_algo_model *m = NULL;
    int rc = 0;
    if (!root) {
        rc = lt_err_set(err, LT_EINVAL, "%s: corrupt pca model: %s (line %d)", path, je.text,
                        je.line);
        goto done;
    }
    json_t *jd = json_object_get(root, "feature_dim"),
           *jn = json_object_get(root, "num_components");
    json_t *jc = json_object_get(root, "components");
    if (!json_is_integer(jd) || !json_is_integer(jn) || json_integer_value(jd) < 1 ||
        json_integer_value(jn) < 1 || json_integer_value(jn) > json_integer_value(jd) ||
        !json_is_array(jc) || json_array_size(jc) != (size_t)json_integer_value(jn) ||
        !json_is_array(json_array_get(jc, 0)) ||
        json_array_size(json_array_get(jc, 0)) != (size_t)json_integer_value(jd)) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: corrupt pca model: bad feature_dim, num_components or components",
                        path);
        goto done;
    }
    /* nc rows of dim numbers are in the file, so nc * dim is bounded by its size */
    int dim = (int)json_integer_value(jd), nc = (int)json_integer_value(jn);
    m = lt_pca__model_new(dim, nc);
    m->subtract_mean = json_is_true(json_object_get(root, "subtract_mean"));
    const char *mode = json_string_value(json_object_get(root, "algorithm_mode"));
    m->randomized = mode && strcmp(mode, "randomized") == 0;
    for (int j = 0; j < nc; j++)
        if (!get_numbers(json_array_get(jc, j), (size_t)dim, m->components + (size_t)j * dim,
                         NULL)) {
            rc = lt_err_set(err, LT_EINVAL,
                            "%s: corrupt pca model: component %d is not %d finite numbers", path, j,
                            dim);
            goto done;
        }
    const char *bad = NULL;
    if (!get_numbers(json_object_get(root, "mean"), (size_t)dim, m->mean, NULL))
        bad = "mean";
    else if (!get_numbers(json_object_get(root, "singular_values"), (size_t)nc, NULL,
                          m->singular_values))
        bad = "singular_values";
    else if (!get_numbers(json_object_get(root, "explained_variance"), (size_t)nc, NULL,
                          m->explained_variance))
        bad = "explained_variance";
    else if (!get_numbers(json_object_get(root, "explained_variance_ratio"), (size_t)nc, NULL,
                          m->explained_variance_ratio))
        bad = "explained_variance_ratio";
    if (bad) {
        rc = lt_err_set(err, LT_EINVAL, "%s: corrupt pca model: %s is not %d finite numbers", path,
                        bad, strcmp(bad, "mean") == 0 ? dim : nc);
        goto done;
    }
    lt_pca__model_derive(m);
done:
    if (rc) lt_pca__model_free(m), m = NULL;
    json_decref(root);
    free(path);
    *out = m;
    return rc;
}

int lt_pca__format_json(const lt_algo_model *m, const double *row, lt_buf *out, lt_err *err)
{
    int rc = lt_buf_append(out, "{\"projection\":[", 15, err);
    for (int j = 0; j < m->nc && !rc; j++)
        rc = lt_buf_printf(out, err, j ? ",%.9g" : "%.9g", row[j]);
    if (!rc) rc = lt_buf_append(out, "]}", 2, err);
    return rc;
}
