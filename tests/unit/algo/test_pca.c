/* PCA: hand-checkable data (points on a line, a cross with known variances), both modes,
 * CSR against dense, the model file, the output record and hyperparameter errors. */
#include "algo/algo.h"
#include "algo/algo_internal.h"
#include "test.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static double ratio_metric;
static void on_metric(void *ctx, const char *name, double value, int it)
{
    (void)ctx;
    if (strcmp(name, "train:explained_variance_ratio") == 0 && it < 0) ratio_metric = value;
}

static lt_dataset *dense(const float *v, size_t n, size_t d)
{
    lt_dataset *ds = lt_dataset_new_dense(n, d, false);
    memcpy(ds->x.values, v, n * d * sizeof(float));
    return ds;
}

/* The same rows as CSR, zeros left out. */
static lt_dataset *csr(const float *v, size_t n, size_t d)
{
    lt_dataset *ds = lt_xcalloc(1, sizeof *ds);
    ds->x.kind = LT_MATRIX_CSR;
    ds->x.n_rows = n;
    ds->x.n_cols = d;
    ds->x.row_ptr = lt_xcalloc(n + 1, sizeof(size_t));
    ds->x.values = lt_xcalloc(n * d + 1, sizeof(float));
    ds->x.col_idx = lt_xcalloc(n * d + 1, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            if (v[i * d + j] != 0) {
                ds->x.values[ds->x.nnz] = v[i * d + j];
                ds->x.col_idx[ds->x.nnz++] = (uint32_t)j;
            }
        ds->x.row_ptr[i + 1] = ds->x.nnz;
    }
    return ds;
}

/* hps("2", "1", "algorithm_mode", "randomized", NULL): feature_dim, num_components, then
 * name/value pairs. */
static json_t *hps(const char *dim, const char *nc, ...)
{
    json_t *h = json_pack("{s:s,s:s,s:s}", "feature_dim", dim, "num_components", nc,
                          "mini_batch_size", "10");
    va_list ap;
    va_start(ap, nc);
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *))
        json_object_set_new(h, k, json_string(va_arg(ap, const char *)));
    va_end(ap);
    return h;
}

static lt_algo_model *train(const lt_dataset *ds, json_t *h, lt_err *err)
{
    lt_algo_train_args a = {
        .train = ds, .hyperparameters = h, .threads = 2, .on_metric = on_metric};
    lt_algo_model *m = NULL;
    lt_err_clear(err);
    int rc = lt_algo__pca.train(&a, &m, err);
    json_decref(h);
    return rc ? NULL : m;
}

/* Reads pca_model.json back as JSON, to check what train computed without peeking at the
 * model struct. */
static json_t *saved(const lt_algo_model *m)
{
    lt_err err = {0};
    char *dir = lt_test_tmpdir("pca"), *path = NULL;
    LT_CHECK_INT(lt_algo__pca.save(m, dir, &err), ==, 0);
    if (asprintf(&path, "%s/pca_model.json", dir) < 0) abort();
    json_t *root = json_load_file(path, 0, NULL);
    free(path), free(dir);
    return root;
}

static double num_at(json_t *root, const char *key, size_t i)
{
    return json_number_value(json_array_get(json_object_get(root, key), i));
}
static double comp_at(json_t *root, size_t j, size_t q)
{
    return json_number_value(
        json_array_get(json_array_get(json_object_get(root, "components"), j), q));
}

/* Points (1, 2) + t (0.6, 0.8): one axis, (0.6, 0.8) up to sign, carrying all the variance. */
static void points_on_a_line_give_that_direction(void)
{
    float v[2 * 9];
    for (int i = 0; i < 9; i++) {
        float t = (float)(i - 4) * 1.5f;
        v[2 * i] = 1 + 0.6f * t;
        v[2 * i + 1] = 2 + 0.8f * t;
    }
    const char *modes[] = {"regular", "randomized"};
    for (int k = 0; k < 2; k++) {
        lt_dataset *ds = dense(v, 9, 2);
        lt_err err = {0};
        ratio_metric = -1;
        lt_algo_model *m = train(ds, hps("2", "1", "algorithm_mode", modes[k], NULL), &err);
        LT_CHECK(m != NULL);
        if (m) {
            json_t *root = saved(m);
            LT_CHECK(fabs(comp_at(root, 0, 0) - 0.6) < 1e-5);
            LT_CHECK(fabs(comp_at(root, 0, 1) - 0.8) < 1e-5);
            LT_CHECK(fabs(num_at(root, "explained_variance_ratio", 0) - 1) < 1e-5);
            LT_CHECK(fabs(num_at(root, "mean", 0) - 1) < 1e-5 &&
                     fabs(num_at(root, "mean", 1) - 2) < 1e-5);
            LT_CHECK(fabs(ratio_metric - 1) < 1e-5);
            /* the projection of a point is its t along the line */
            double out[9];
            LT_CHECK_INT(lt_algo__pca.predict(m, &ds->x, 1, out, &err), ==, 0);
            for (int i = 0; i < 9; i++)
                if (fabs(out[i] - (i - 4) * 1.5) > 1e-4)
                    LT_FAIL_AT("%s: row %d projects to %g, expected %g", modes[k], i, out[i],
                               (i - 4) * 1.5);
            json_decref(root);
            lt_algo__pca.free(m);
        }
        lt_dataset_free(ds);
    }
}

/* (+-2, 0) and (0, +-1): mean 0, covariance diag(8/3, 2/3) with n - 1 = 3, so the axes
 * are e1 then e2, explained variance 8/3 and 2/3 (ratios 0.8, 0.2), singular values
 * sqrt(8) and sqrt(2). The same from CSR input and from 1 or 2 threads. */
static void cross_has_known_variances(void)
{
    const float v[] = {2, 0, -2, 0, 0, 1, 0, -1};
    for (int form = 0; form < 2; form++) {
        lt_dataset *ds = form ? csr(v, 4, 2) : dense(v, 4, 2);
        lt_err err = {0};
        lt_algo_model *m = train(ds, hps("2", "2", NULL), &err);
        LT_CHECK(m != NULL);
        if (!m) {
            fprintf(stderr, "  %s\n", err.msg);
            lt_dataset_free(ds);
            continue;
        }
        json_t *root = saved(m);
        const double ev[2] = {8.0 / 3, 2.0 / 3}, ratio[2] = {0.8, 0.2}, sv[2] = {sqrt(8), sqrt(2)};
        for (int j = 0; j < 2; j++) {
            if (fabs(num_at(root, "explained_variance", j) - ev[j]) > 1e-5)
                LT_FAIL_AT("form %d: explained_variance[%d] %g, expected %g", form, j,
                           num_at(root, "explained_variance", j), ev[j]);
            LT_CHECK(fabs(num_at(root, "explained_variance_ratio", j) - ratio[j]) < 1e-6);
            LT_CHECK(fabs(num_at(root, "singular_values", j) - sv[j]) < 1e-5);
            LT_CHECK(fabs(comp_at(root, j, j) - 1) < 1e-6); /* sign: largest entry positive */
            LT_CHECK(fabs(comp_at(root, j, 1 - j)) < 1e-6);
        }
        double out[8];
        LT_CHECK_INT(lt_algo__pca.predict(m, &ds->x, 2, out, &err), ==, 0);
        for (int i = 0; i < 8; i++)
            if (fabs(out[i] - v[i]) > 1e-6)
                LT_FAIL_AT("form %d: output %d %g, expected %g", form, i, out[i], v[i]);
        json_decref(root);
        lt_algo__pca.free(m);
        lt_dataset_free(ds);
    }
}

/* Without mean subtraction the axis of points t (3, 4) is (0.6, 0.8) and the variance
 * about the origin is all along it. */
static void subtract_mean_false_uses_the_origin(void)
{
    const float v[] = {3, 4, 6, 8, 9, 12};
    lt_dataset *ds = dense(v, 3, 2);
    lt_err err = {0};
    lt_algo_model *m = train(ds, hps("2", "1", "subtract_mean", "false", NULL), &err);
    LT_CHECK(m != NULL);
    if (m) {
        double out[3];
        LT_CHECK_INT(lt_algo__pca.predict(m, &ds->x, 1, out, &err), ==, 0);
        for (int i = 0; i < 3; i++)
            LT_CHECK(fabs(out[i] - 5.0 * (i + 1)) < 1e-4);
        json_t *root = saved(m);
        LT_CHECK(fabs(num_at(root, "explained_variance_ratio", 0) - 1) < 1e-6);
        json_decref(root);
        lt_algo__pca.free(m);
    }
    lt_dataset_free(ds);
}

static void model_round_trips_and_formats_projection(void)
{
    const float v[] = {2, 0, 1, -2, 0, 0, 0, 1, 3, 0, -1, 1, 1, 1, 1};
    lt_dataset *ds = dense(v, 5, 3);
    lt_err err = {0};
    lt_algo_model *m = train(ds, hps("3", "2", NULL), &err);
    LT_CHECK(m != NULL);
    if (!m) goto out;
    char *dir = lt_test_tmpdir("pca_rt");
    LT_CHECK_INT(lt_algo__pca.save(m, dir, &err), ==, 0);
    lt_algo_model *m2 = NULL;
    LT_CHECK_INT(lt_algo__pca.load(dir, &m2, &err), ==, 0);
    LT_CHECK(m2 != NULL);
    if (m2) {
        LT_CHECK_INT(lt_algo__pca.output_width(m2), ==, 2);
        double a[10], b[10];
        lt_algo__pca.predict(m, &ds->x, 1, a, &err);
        lt_algo__pca.predict(m2, &ds->x, 1, b, &err);
        for (int i = 0; i < 10; i++)
            if (fabs(a[i] - b[i]) > 1e-6)
                LT_FAIL_AT("output %d: %g before save, %g after", i, a[i], b[i]);
        lt_buf buf;
        lt_buf_init(&buf, 256);
        double row[2] = {1.5, -0.25};
        LT_CHECK_INT(lt_algo__pca.format_json(m2, row, &buf, &err), ==, 0);
        LT_CHECK_INT(lt_buf_append(&buf, "", 1, &err), ==, 0);
        LT_CHECK_STR(buf.data, "{\"projection\":[1.5,-0.25]}");
        lt_buf_free(&buf);
        LT_CHECK_STR(lt_algo__pca.json_list_key, "projections");
        lt_algo__pca.free(m2);
    }
    /* an input with another column count is refused */
    lt_matrix wide = ds->x;
    wide.n_cols = 4;
    double o[10];
    LT_CHECK_INT(lt_algo__pca.predict(m, &wide, 1, o, &err), ==, LT_EINVAL);
    free(dir);
    lt_algo__pca.free(m);
out:
    lt_dataset_free(ds);
}

static void bad_hyperparameters_are_named(void)
{
    const float v[] = {1, 2, 3, 4, 5, 6, 7, 9};
    lt_dataset *ds = dense(v, 4, 2);
    struct {
        json_t *h;
        const char *name;
    } cases[] = {
        {json_pack("{s:s,s:s}", "feature_dim", "2", "mini_batch_size", "5"), "num_components"},
        {json_pack("{s:s,s:s}", "feature_dim", "2", "num_components", "1"), "mini_batch_size"},
        {hps("2", "3", NULL), "num_components"},
        {hps("2", "0", NULL), "num_components"},
        {hps("3", "1", NULL), "feature_dim"},
        {hps("2", "1", "algorithm_mode", "magic", NULL), "algorithm_mode"},
        {hps("2", "1", "subtract_mean", "maybe", NULL), "subtract_mean"},
        {hps("2", "1", "extra_components", "-2", NULL), "extra_components"},
        {hps("2", "1", "threads", "two", NULL), "threads"},
        {hps("2", "1", "bogus", "1", NULL), "bogus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lt_err err = {0};
        lt_algo_train_args a = {.train = ds, .hyperparameters = cases[i].h};
        lt_algo_model *m = NULL;
        LT_CHECK_INT(lt_algo__pca.train(&a, &m, &err), ==, LT_EINVAL);
        LT_CHECK(m == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].name);
        json_decref(cases[i].h);
    }
    ds->x.values[3] = NAN;
    lt_err err = {0};
    LT_CHECK(train(ds, hps("2", "1", NULL), &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "row 2");
    lt_dataset_free(ds);
}

static void corrupt_model_fails_cleanly(void)
{
    const char *bodies[] = {"{not json", "{\"feature_dim\":2,\"num_components\":1}",
                            "{\"feature_dim\":2,\"num_components\":1,\"components\":[[1,\"x\"]],"
                            "\"mean\":[0,0],\"singular_values\":[1],\"explained_variance\":[1],"
                            "\"explained_variance_ratio\":[1]}",
                            "{\"feature_dim\":2,\"num_components\":1,\"components\":[[1,0]],"
                            "\"mean\":[0],\"singular_values\":[1],\"explained_variance\":[1],"
                            "\"explained_variance_ratio\":[1]}",
                            ""};
    for (size_t t = 0; t < sizeof bodies / sizeof *bodies; t++) {
        char *dir = lt_test_tmpdir("pca_bad"), *path = NULL;
        if (asprintf(&path, "%s/pca_model.json", dir) < 0) abort();
        FILE *f = fopen(path, "w");
        fputs(bodies[t], f);
        fclose(f);
        lt_algo_model *m = (lt_algo_model *)1;
        lt_err err = {0};
        LT_CHECK_INT(lt_algo__pca.load(dir, &m, &err), ==, LT_EINVAL);
        LT_CHECK(m == NULL);
        LT_CHECK_CONTAINS(err.msg, "pca_model.json");
        free(path), free(dir);
    }
}

/* 20,000 rows, so the randomized mode's passes span many row blocks and both threads: it
 * must find the axes and the explained variance the regular mode finds from the covariance.
 * Data: five axes of variance 100, 49, 16, 4, 1 (each along a coordinate) in 12 dimensions
 * plus small noise, offset by 5. */
static void randomized_on_many_rows_matches_regular(void)
{
    enum { N = 20000, D = 12, NC = 3 };
    float *v = lt_xmalloc(sizeof(float) * N * D);
    uint64_t st = 12345;
    const double scale[5] = {10, 7, 4, 2, 1};
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = ((double)(st >> 11) * 0x1.0p-53) * 2 - 1; /* uniform in (-1, 1) */
            v[i * D + j] = (float)(5 + (j < 5 ? scale[j] : 0.05) * u);
        }
    lt_dataset *ds = dense(v, N, D);
    lt_err err = {0};
    lt_algo_model *reg = train(ds, hps("12", "3", "algorithm_mode", "regular", NULL), &err);
    lt_algo_model *rnd = train(ds, hps("12", "3", "algorithm_mode", "randomized", NULL), &err);
    LT_CHECK(reg != NULL && rnd != NULL);
    if (reg && rnd) {
        json_t *a = saved(reg), *b = saved(rnd);
        for (size_t c = 0; c < NC; c++) {
            double dot = 0;
            for (size_t q = 0; q < D; q++) dot += comp_at(a, c, q) * comp_at(b, c, q);
            LT_CHECK(fabs(fabs(dot) - 1) < 1e-4);
            LT_CHECK(fabs(comp_at(b, c, c) - 1) < 1e-3); /* axis c is coordinate c */
            LT_CHECK(fabs(num_at(a, "explained_variance_ratio", c) -
                          num_at(b, "explained_variance_ratio", c)) < 1e-4);
        }
        json_decref(a);
        json_decref(b);
    }
    if (reg) lt_algo__pca.free(reg);
    if (rnd) lt_algo__pca.free(rnd);
    lt_dataset_free(ds);
    free(v);
}

/* Points along (2, 1, 2) / 3 in three dimensions: rank 1, with two components asked for.
 * The randomized sketch has one direction only, so the second axis must come from the
 * covariance: both modes give the line first (ratio 1), then an orthogonal unit axis with
 * no variance. */
static void randomized_on_data_of_lower_rank_than_asked(void)
{
    float v[3 * 7];
    for (int i = 0; i < 7; i++) {
        float t = (float)(i - 3);
        v[3 * i] = 4 + 2 * t / 3, v[3 * i + 1] = -1 + t / 3, v[3 * i + 2] = 2 * t / 3;
    }
    lt_dataset *ds = dense(v, 7, 3);
    const char *modes[] = {"regular", "randomized"};
    for (int k = 0; k < 2; k++) {
        lt_err err = {0};
        lt_algo_model *m = train(ds, hps("3", "2", "algorithm_mode", modes[k], NULL), &err);
        if (!m) {
            LT_FAIL_AT("%s: %s", modes[k], err.msg);
            continue;
        }
        json_t *root = saved(m);
        const double line[3] = {2.0 / 3, 1.0 / 3, 2.0 / 3};
        double dot01 = 0, norm1 = 0, along = 0;
        for (int q = 0; q < 3; q++) {
            LT_CHECK(fabs(comp_at(root, 0, q) - line[q]) < 1e-5);
            dot01 += comp_at(root, 0, q) * comp_at(root, 1, q);
            norm1 += comp_at(root, 1, q) * comp_at(root, 1, q);
            along += comp_at(root, 1, q) * line[q];
        }
        LT_CHECK(fabs(dot01) < 1e-5 && fabs(along) < 1e-5);
        LT_CHECK(fabs(norm1 - 1) < 1e-5);
        LT_CHECK(fabs(num_at(root, "explained_variance_ratio", 0) - 1) < 1e-5);
        LT_CHECK(fabs(num_at(root, "explained_variance_ratio", 1)) < 1e-5);
        json_decref(root);
        lt_algo__pca.free(m);
    }
    lt_dataset_free(ds);
}

static void registry_finds_pca(void)
{
    LT_CHECK(lt_algo_find("pca") == &lt_algo__pca);
}

int main(void)
{
    LT_RUN(points_on_a_line_give_that_direction);
    LT_RUN(cross_has_known_variances);
    LT_RUN(randomized_on_many_rows_matches_regular);
    LT_RUN(randomized_on_data_of_lower_rank_than_asked);
    LT_RUN(subtract_mean_false_uses_the_origin);
    LT_RUN(model_round_trips_and_formats_projection);
    LT_RUN(bad_hyperparameters_are_named);
    LT_RUN(corrupt_model_fails_cleanly);
    LT_RUN(registry_finds_pca);
    return lt_test_summary();
}
