/* k-NN: 1-D points with hand-known neighbours, the vote's tie rule, inner product and
 * cosine, the sgemm search against its scalar twin, IVF against flat, dimension reduction,
 * sampling, model files, output records and hyperparameter errors. */
#include "algo/algo.h"
#include "algo/algo_internal.h"
#include "algo/knn/knn.h"
#include "test.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static uint64_t rng = 99;
static double unif(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng >> 11) + 0.5) * 0x1.0p-53;
}
static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

static lt_dataset *labelled(const float *x, const float *y, size_t n, size_t d)
{
    lt_dataset *ds = lt_dataset_new_dense(n, d, true);
    memcpy(ds->x.values, x, n * d * sizeof(float));
    memcpy(ds->labels, y, n * sizeof(float));
    return ds;
}

/* hps("1", "3", "classifier", "100", name, value, ..., NULL) */
static json_t *hps(const char *dim, const char *k, const char *type, const char *sample, ...)
{
    json_t *h = json_object();
    const char *fixed[][2] = {
        {"feature_dim", dim}, {"k", k}, {"predictor_type", type}, {"sample_size", sample}};
    for (int i = 0; i < 4; i++)
        if (fixed[i][1]) json_object_set_new(h, fixed[i][0], json_string(fixed[i][1]));
    va_list ap;
    va_start(ap, sample);
    for (const char *key = va_arg(ap, const char *); key; key = va_arg(ap, const char *))
        json_object_set_new(h, key, json_string(va_arg(ap, const char *)));
    va_end(ap);
    return h;
}

static const char *last_metric;
static double last_value;
static void on_metric(void *ctx, const char *name, double value, int it)
{
    (void)ctx, (void)it;
    last_metric = name;
    last_value = value;
}

static lt_algo_model *train_v(const lt_dataset *ds, const lt_dataset *val, json_t *h, lt_err *err)
{
    lt_algo_train_args a = {
        .train = ds, .validation = val, .hyperparameters = h, .threads = 2, .on_metric = on_metric};
    lt_algo_model *m = NULL;
    lt_err_clear(err);
    int rc = lt_algo__knn.train(&a, &m, err);
    json_decref(h);
    return rc ? NULL : m;
}
static lt_algo_model *train(const lt_dataset *ds, json_t *h, lt_err *err)
{
    return train_v(ds, NULL, h, err);
}

/* Predicts one query row; out holds 1 + 2k numbers. */
static void predict1(const lt_algo_model *m, const float *q, size_t d, double *out)
{
    lt_dataset *ds = lt_dataset_new_dense(1, d, false);
    memcpy(ds->x.values, q, d * sizeof(float));
    lt_err err = {0};
    LT_CHECK_INT(lt_algo__knn.predict(m, &ds->x, 1, out, &err), ==, 0);
    lt_dataset_free(ds);
}

static const float line_x[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const float line_class[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};

/* Points 0..9 on a line: 2.2's three nearest are 2, 3, 1 (squared distances 0.04, 0.64,
 * 1.44); 4.6's are 5, 4, 6 (labels 1, 0, 1). */
static void line_neighbours_are_known(void)
{
    const char *index[] = {"faiss.Flat", "faiss.IVFFlat"};
    for (int t = 0; t < 2; t++) {
        lt_dataset *ds = labelled(line_x, line_class, 10, 1);
        lt_err err = {0};
        lt_algo_model *m =
            train(ds,
                  hps("1", "3", "classifier", "100", "index_type", index[t],
                      "faiss_index_ivf_nlists", "3", "faiss_index_nprobe", "3", NULL),
                  &err);
        LT_CHECK(m != NULL);
        if (!m) {
            fprintf(stderr, "  %s\n", err.msg);
            lt_dataset_free(ds);
            continue;
        }
        LT_CHECK_INT(lt_algo__knn.output_width(m), ==, 7);
        double out[7];
        float q = 2.2f;
        predict1(m, &q, 1, out);
        LT_CHECK(out[0] == 0);
        const double want[3] = {2, 3, 1};
        for (int j = 0; j < 3; j++) {
            double d = (2.2 - want[j]) * (2.2 - want[j]);
            if (fabs(out[4 + j] - d) > 1e-5)
                LT_FAIL_AT("%s: neighbour %d at squared distance %g, expected %g", index[t], j,
                           out[4 + j], d);
        }
        q = 4.6f;
        predict1(m, &q, 1, out);
        LT_CHECK(out[0] == 1);
        LT_CHECK(out[1] == 1 && out[2] == 0 && out[3] == 1);
        lt_algo__knn.free(m);
        /* regressor: labels 10 x; the mean of 20, 30, 10 */
        float ten[10];
        for (int i = 0; i < 10; i++)
            ten[i] = 10 * line_x[i];
        lt_dataset_free(ds);
        ds = labelled(line_x, ten, 10, 1);
        m = train(ds,
                  hps("1", "3", "regressor", "10", "index_type", index[t], "faiss_index_nprobe",
                      "3", NULL),
                  &err);
        LT_CHECK(m != NULL);
        if (m) {
            q = 2.2f;
            predict1(m, &q, 1, out);
            LT_CHECK(fabs(out[0] - 20) < 1e-9);
            lt_algo__knn.free(m);
        }
        lt_dataset_free(ds);
    }
}

/* Two labels with one vote each: the one with the smaller distance sum wins. */
static void vote_tie_goes_to_nearer_label(void)
{
    const float x[] = {0, 3}, y[] = {7, 4};
    lt_dataset *ds = labelled(x, y, 2, 1);
    lt_err err = {0};
    lt_algo_model *m = train(ds, hps("1", "2", "classifier", "2", NULL), &err);
    LT_CHECK(m != NULL);
    if (m) {
        double out[5];
        float q = 1;
        predict1(m, &q, 1, out);
        LT_CHECK(out[0] == 7);
        q = 2;
        predict1(m, &q, 1, out);
        LT_CHECK(out[0] == 4);
        /* equal distances too: the smaller label */
        q = 1.5f;
        predict1(m, &q, 1, out);
        LT_CHECK(out[0] == 4);
        lt_algo__knn.free(m);
    }
    lt_dataset_free(ds);
}

/* (1,0), (0,2), (1,1) against (1,0): inner products 1, 0, 1 (tie: the earlier point);
 * cosines 1, 0, 0.7071. Similarities come back largest first. */
static void inner_product_and_cosine(void)
{
    const float x[] = {1, 0, 0, 2, 1, 1}, y[] = {10, 20, 30};
    const float q[] = {1, 0};
    const char *metric[] = {"INNER_PRODUCT", "COSINE"};
    const double second[] = {1, 0.70710678};
    for (int t = 0; t < 2; t++) {
        lt_dataset *ds = labelled(x, y, 3, 2);
        lt_err err = {0};
        lt_algo_model *m =
            train(ds, hps("2", "2", "regressor", "3", "index_metric", metric[t], NULL), &err);
        LT_CHECK(m != NULL);
        if (m) {
            double out[5];
            predict1(m, q, 2, out);
            LT_CHECK(out[1] == 10 && out[2] == 30);
            LT_CHECK(fabs(out[3] - 1) < 1e-6);
            if (fabs(out[4] - second[t]) > 1e-6)
                LT_FAIL_AT("%s: second similarity %g, expected %g", metric[t], out[4], second[t]);
            LT_CHECK(fabs(out[0] - 20) < 1e-6);
            lt_algo__knn.free(m);
        }
        lt_dataset_free(ds);
    }
}

enum { N = 3000, D = 24, NQ = 200, K = 10 };

/* Gaussian blobs, so IVF lists mean something. */
static lt_dataset *blobs(size_t n, float *queries)
{
    float *x = malloc(n * D * sizeof(float)), *y = malloc(n * sizeof(float));
    float centers[16 * D];
    for (int i = 0; i < 16 * D; i++)
        centers[i] = (float)(gauss() * 4);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(unif() * 16);
        y[i] = (float)c;
        for (int j = 0; j < D; j++)
            x[i * D + j] = centers[c * D + j] + (float)gauss();
    }
    for (int i = 0; queries && i < NQ; i++) {
        int c = (int)(unif() * 16);
        for (int j = 0; j < D; j++)
            queries[i * D + j] = centers[c * D + j] + (float)gauss();
    }
    lt_dataset *ds = labelled(x, y, n, D);
    free(x), free(y);
    return ds;
}

static void sgemm_search_matches_scalar_twin_and_ivf_recall(void)
{
    float *q = malloc(NQ * D * sizeof(float));
    lt_dataset *ds = blobs(N, q);
    lt_err err = {0};
    lt_algo_model *flat = train(ds, hps("24", "10", "classifier", "100000", NULL), &err);
    lt_algo_model *all =
        train(ds,
              hps("24", "10", "classifier", "100000", "index_type", "faiss.IVFFlat",
                  "faiss_index_ivf_nlists", "20", "faiss_index_nprobe", "20", NULL),
              &err);
    lt_algo_model *some =
        train(ds,
              hps("24", "10", "classifier", "100000", "index_type", "faiss.IVFFlat",
                  "faiss_index_ivf_nlists", "40", "faiss_index_nprobe", "8", NULL),
              &err);
    LT_CHECK(flat && all && some);
    if (!flat || !all || !some) goto out;
    int32_t ia[NQ * K], ib[NQ * K], ic[NQ * K], id[NQ * K];
    float da[NQ * K], db[NQ * K], dc[NQ * K], dd[NQ * K];
    LT_CHECK_INT(lt_knn__search(flat, q, NQ, 2, ia, da, &err), ==, 0);
    lt_knn__search_scalar(flat, q, NQ, ib, db);
    LT_CHECK_INT(lt_knn__search(all, q, NQ, 2, ic, dc, &err), ==, 0);
    LT_CHECK_INT(lt_knn__search(some, q, NQ, 1, id, dd, &err), ==, 0);
    int hits = 0;
    for (int i = 0; i < NQ * K; i++) {
        if (fabsf(da[i] - db[i]) > 1e-4f * (1 + db[i]))
            LT_FAIL_AT("neighbour %d: sgemm distance %g, scalar %g", i, da[i], db[i]);
        if (ia[i] != ib[i] && fabsf(da[i] - db[i]) > 1e-4f * (1 + db[i]))
            LT_FAIL_AT("neighbour %d: index %d vs %d", i, ia[i], ib[i]);
        /* probing every list is exact (indices differ: IVF regroups its points) */
        if (fabsf(dc[i] - db[i]) > 1e-4f * (1 + db[i]))
            LT_FAIL_AT("neighbour %d: IVF (all lists) distance %g, flat %g", i, dc[i], db[i]);
    }
    /* recall@10 of 8 of 40 lists: a distance within the true top 10 counts */
    for (int i = 0; i < NQ; i++)
        for (int j = 0; j < K; j++)
            hits += dd[i * K + j] <= db[i * K + K - 1] * (1 + 1e-6f);
    double recall = (double)hits / (NQ * K);
    if (recall < 0.9) LT_FAIL_AT("IVF recall@10 %.3f < 0.9", recall);
out:
    lt_algo__knn.free(flat), lt_algo__knn.free(all), lt_algo__knn.free(some);
    lt_dataset_free(ds);
    free(q);
}

static void fwht_and_reductions_preserve_distances(void)
{
    float v[4] = {1, 2, 3, 4};
    lt_knn__fwht(v, 4);
    LT_CHECK(v[0] == 10 && v[1] == -2 && v[2] == -4 && v[3] == 0);
    lt_dataset *ds = blobs(400, NULL);
    const char *types[] = {"sign", "fjlt"};
    for (int t = 0; t < 2; t++) {
        lt_err err = {0};
        lt_algo_model *m = train(ds,
                                 hps("24", "1", "classifier", "400", "dimension_reduction_type",
                                     types[t], "dimension_reduction_target", "16", NULL),
                                 &err);
        LT_CHECK(m != NULL);
        if (!m) continue;
        LT_CHECK_INT(m->rdim, ==, 16);
        /* squared distances of 200 pairs after / before: about 1 on average (JL) */
        float a[16], b[16], s[32];
        double ratio = 0;
        for (int i = 0; i < 200; i++) {
            const float *x = ds->x.values + (size_t)i * D,
                        *y = ds->x.values + (size_t)(i + 200) * D;
            lt_knn__transform_row(m, x, a, s);
            lt_knn__transform_row(m, y, b, s);
            double before = 0, after = 0;
            for (int j = 0; j < D; j++)
                before += (x[j] - y[j]) * (x[j] - y[j]);
            for (int j = 0; j < 16; j++)
                after += (a[j] - b[j]) * (a[j] - b[j]);
            ratio += after / before / 200;
        }
        if (fabs(ratio - 1) > 0.15) LT_FAIL_AT("%s: mean distance ratio %g", types[t], ratio);
        /* a point is its own nearest neighbour after reduction too */
        double out[3];
        predict1(m, ds->x.values + 5 * D, D, out);
        LT_CHECK(out[0] == ds->labels[5] && out[2] < 1e-6);
        lt_algo__knn.free(m);
    }
    lt_dataset_free(ds);
}

/* sample_size 5 of 10 rows: 5 index points, the same 5 for the same seed. */
static void sampling_is_seeded(void)
{
    lt_dataset *ds = labelled(line_x, line_x, 10, 1);
    lt_err err = {0};
    lt_algo_model *a = train(ds, hps("1", "5", "regressor", "5", "seed", "3", NULL), &err);
    lt_algo_model *b = train(ds, hps("1", "5", "regressor", "5", "seed", "3", NULL), &err);
    LT_CHECK(a && b);
    if (a && b) {
        LT_CHECK_INT(a->n, ==, 5);
        for (size_t i = 0; i < 5; i++)
            LT_CHECK(a->points[i] == b->points[i]);
        for (size_t i = 1; i < 5; i++)
            LT_CHECK(a->points[i - 1] < a->points[i]); /* data order */
    }
    lt_algo__knn.free(a), lt_algo__knn.free(b);
    lt_dataset_free(ds);
}

static void model_round_trips_and_formats(void)
{
    lt_dataset *ds = blobs(600, NULL);
    json_t *variants[] = {
        hps("24", "4", "classifier", "500", NULL),
        hps("24", "4", "classifier", "500", "index_type", "faiss.IVFFlat",
            "dimension_reduction_type", "fjlt", "dimension_reduction_target", "12", "index_metric",
            "COSINE", NULL),
        hps("24", "4", "regressor", "600", "dimension_reduction_type", "sign",
            "dimension_reduction_target", "8", NULL),
    };
    for (int v = 0; v < 3; v++) {
        lt_err err = {0};
        lt_algo_model *m = train(ds, variants[v], &err), *m2 = NULL;
        LT_CHECK(m != NULL);
        if (!m) continue;
        char *dir = lt_test_tmpdir("knn_rt");
        LT_CHECK_INT(lt_algo__knn.save(m, dir, &err), ==, 0);
        LT_CHECK_INT(lt_algo__knn.load(dir, &m2, &err), ==, 0);
        if (m2) {
            double *a = calloc(600 * 9, sizeof(double)), *b = calloc(600 * 9, sizeof(double));
            lt_algo__knn.predict(m, &ds->x, 2, a, &err);
            lt_algo__knn.predict(m2, &ds->x, 1, b, &err);
            for (int i = 0; i < 600 * 9; i++)
                if (a[i] != b[i]) {
                    LT_FAIL_AT("variant %d output %d: %g before save, %g after", v, i, a[i], b[i]);
                    break;
                }
            free(a), free(b);
            lt_algo__knn.free(m2);
        }
        free(dir);
        lt_algo__knn.free(m);
    }
    lt_dataset_free(ds);
    lt_algo_model fake = {.k = 2};
    double row[5] = {1, 1, 0, 0.25, 2.5};
    lt_buf b;
    lt_buf_init(&b, 256);
    lt_err err = {0};
    LT_CHECK_INT(lt_algo__knn.format_json(&fake, row, &b, &err), ==, 0);
    LT_CHECK_INT(lt_buf_append(&b, "", 1, &err), ==, 0);
    LT_CHECK_STR(b.data, "{\"predicted_label\":1}");
    lt_buf_reset(&b);
    LT_CHECK_INT(lt_algo__knn.format_json_verbose(&fake, row, &b, &err), ==, 0);
    LT_CHECK_INT(lt_buf_append(&b, "", 1, &err), ==, 0);
    LT_CHECK_STR(b.data, "{\"predicted_label\":1,\"distances\":[0.25,2.5],\"labels\":[1,0]}");
    lt_buf_reset(&b);
    LT_CHECK_INT(lt_algo__knn.format_csv(&fake, row, &b, &err), ==, 0);
    LT_CHECK_INT(lt_buf_append(&b, "", 1, &err), ==, 0);
    LT_CHECK_STR(b.data, "1");
    lt_buf_free(&b);
}

static void test_channel_reports_accuracy(void)
{
    lt_dataset *ds = labelled(line_x, line_class, 10, 1);
    const float vx[] = {0.2f, 8.9f, 4.6f, 4.4f}, vy[] = {0, 1, 0, 0};
    lt_dataset *val = labelled(vx, vy, 4, 1);
    lt_err err = {0};
    last_metric = NULL;
    lt_algo_model *m = train_v(ds, val, hps("1", "3", "classifier", "10", NULL), &err);
    LT_CHECK(m != NULL);
    LT_CHECK_STR(last_metric, "test:accuracy");
    LT_CHECK(fabs(last_value - 0.75) < 1e-12); /* 4.6 votes 1 */
    lt_algo__knn.free(m);
    lt_dataset_free(ds);
    lt_dataset_free(val);
}

/* The same rows as the test channel (args.test): SageMaker's "#test_score" line and the
 * test:accuracy metric. */
static char last_log[160];
static void on_log(void *ctx, const char *line)
{
    (void)ctx;
    snprintf(last_log, sizeof last_log, "%s", line);
}
static void test_channel_logs_sagemakers_test_score(void)
{
    lt_dataset *ds = labelled(line_x, line_class, 10, 1);
    const float vx[] = {0.2f, 8.9f, 4.6f, 4.4f}, vy[] = {0, 1, 0, 0};
    lt_dataset *te = labelled(vx, vy, 4, 1);
    json_t *h = hps("1", "3", "classifier", "10", NULL);
    lt_algo_train_args a = {.train = ds, .test = te, .hyperparameters = h, .threads = 1,
                            .on_metric = on_metric, .on_log = on_log};
    lt_algo_model *m = NULL;
    lt_err err = {0};
    last_metric = NULL;
    last_log[0] = 0;
    LT_CHECK_INT(lt_algo__knn.train(&a, &m, &err), ==, 0);
    LT_CHECK_STR(last_metric, "test:accuracy");
    LT_CHECK(fabs(last_value - 0.75) < 1e-12);
    LT_CHECK_STR(last_log, "#test_score (algo-1) : ('accuracy', 0.75)");
    lt_algo__knn.free(m);
    json_decref(h);
    lt_dataset_free(ds);
    lt_dataset_free(te);
}

static void bad_hyperparameters_are_named(void)
{
    lt_dataset *ds = labelled(line_x, line_class, 10, 1);
    struct {
        json_t *h;
        const char *name;
    } cases[] = {
        {hps(NULL, "3", "classifier", "10", NULL), "feature_dim"},
        {hps("1", NULL, "classifier", "10", NULL), "k"},
        {hps("1", "3", NULL, "10", NULL), "predictor_type"},
        {hps("1", "3", "classifier", NULL, NULL), "sample_size"},
        {hps("1", "3", "magic", "10", NULL), "predictor_type"},
        {hps("1", "0", "classifier", "10", NULL), "k"},
        {hps("1", "6", "classifier", "5", NULL), "k"},
        {hps("2", "3", "classifier", "10", NULL), "feature_dim"},
        {hps("1", "3", "classifier", "10", "index_type", "faiss.IVFPQ", NULL), "index_type"},
        {hps("1", "3", "classifier", "10", "index_type", "faiss.HNSW", NULL), "index_type"},
        {hps("1", "3", "classifier", "10", "index_metric", "L1", NULL), "index_metric"},
        {hps("1", "3", "classifier", "10", "dimension_reduction_type", "sign", NULL),
         "dimension_reduction_target"},
        {hps("1", "3", "classifier", "10", "dimension_reduction_type", "pca", NULL),
         "dimension_reduction_type"},
        {hps("1", "3", "classifier", "10", "faiss_index_ivf_nlists", "many", NULL),
         "faiss_index_ivf_nlists"},
        {hps("1", "3", "classifier", "10", "index_type", "faiss.IVFFlat", "faiss_index_ivf_nlists",
             "11", NULL),
         "faiss_index_ivf_nlists"},
        {hps("1", "3", "classifier", "10", "faiss_index_nprobe", "0", NULL), "faiss_index_nprobe"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lt_err err = {0};
        lt_algo_train_args a = {.train = ds, .hyperparameters = cases[i].h};
        lt_algo_model *m = NULL;
        int rc = lt_algo__knn.train(&a, &m, &err);
        if (rc != LT_EINVAL) LT_FAIL_AT("case %zu (%s): rc %d", i, cases[i].name, rc);
        LT_CHECK(m == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].name);
        json_decref(cases[i].h);
    }
    free(ds->labels);
    ds->labels = NULL;
    lt_err err = {0};
    LT_CHECK(train(ds, hps("1", "3", "classifier", "10", NULL), &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "labels");
    lt_dataset_free(ds);
}

static void corrupt_model_fails_cleanly(void)
{
    lt_dataset *ds = labelled(line_x, line_class, 10, 1);
    lt_err err = {0};
    lt_algo_model *m = train(ds, hps("1", "3", "classifier", "10", NULL), &err);
    char *dir = lt_test_tmpdir("knn_bad"), *bin = NULL, *json = NULL;
    LT_CHECK_INT(lt_algo__knn.save(m, dir, &err), ==, 0);
    if (asprintf(&bin, "%s/knn_index.bin", dir) < 0 ||
        asprintf(&json, "%s/knn_model.json", dir) < 0)
        abort();
    LT_CHECK_INT(truncate(bin, 8), ==, 0); /* shorter than the header says */
    lt_algo_model *m2 = (lt_algo_model *)1;
    LT_CHECK_INT(lt_algo__knn.load(dir, &m2, &err), ==, LT_EINVAL);
    LT_CHECK(m2 == NULL);
    LT_CHECK_CONTAINS(err.msg, "knn_index.bin");
    FILE *f = fopen(json, "w");
    fputs("{\"k\":3,\"feature_dim\":1}", f);
    fclose(f);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_algo__knn.load(dir, &m2, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "knn_model.json");
    free(bin), free(json), free(dir);
    lt_algo__knn.free(m);
    lt_dataset_free(ds);
}

/* A libsvm query row that ends before the last column has zeros there. */
static void short_csr_query_is_zero_padded(void)
{
    const float x[] = {0, 0, 1, 5, 2, 0, 3, 5}, y[] = {1, 2, 3, 4};
    lt_dataset *ds = labelled(x, y, 4, 2);
    lt_err err = {0};
    lt_algo_model *m = train(ds, hps("2", "1", "regressor", "4", NULL), &err);
    LT_CHECK(m != NULL);
    if (m) {
        size_t row_ptr[2] = {0, 1};
        uint32_t col[1] = {0};
        float val[1] = {2.2f};
        lt_matrix q = {.kind = LT_MATRIX_CSR,
                       .n_rows = 1,
                       .n_cols = 1,
                       .values = val,
                       .row_ptr = row_ptr,
                       .col_idx = col,
                       .nnz = 1};
        double out[3];
        LT_CHECK_INT(lt_algo__knn.predict(m, &q, 1, out, &err), ==, 0);
        LT_CHECK(out[0] == 3); /* (2, 0), not (1, 5) or (3, 5) */
        lt_algo__knn.free(m);
    }
    lt_dataset_free(ds);
}

static void registry_finds_knn(void)
{
    LT_CHECK(lt_algo_find("knn") == &lt_algo__knn);
}

int main(void)
{
    LT_RUN(line_neighbours_are_known);
    LT_RUN(vote_tie_goes_to_nearer_label);
    LT_RUN(inner_product_and_cosine);
    LT_RUN(sgemm_search_matches_scalar_twin_and_ivf_recall);
    LT_RUN(fwht_and_reductions_preserve_distances);
    LT_RUN(sampling_is_seeded);
    LT_RUN(model_round_trips_and_formats);
    LT_RUN(test_channel_reports_accuracy);
    LT_RUN(test_channel_logs_sagemakers_test_score);
    LT_RUN(bad_hyperparameters_are_named);
    LT_RUN(corrupt_model_fails_cleanly);
    LT_RUN(short_csr_query_is_zero_padded);
    LT_RUN(registry_finds_knn);
    return lt_test_summary();
}
