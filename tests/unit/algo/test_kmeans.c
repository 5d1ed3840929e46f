/* K-Means: blob recovery, the sgemm kernel against its scalar twin, predict, model files,
 * hyperparameter errors, thread-count determinism, and SageMaker's web-scale pieces: the
 * mini-batch center update with weights and half-life decay, the weighted local Lloyd
 * reduction, and that extra_center_factor, mini_batch_size and local_lloyd_num_trials
 * change what training does. */
#include "algo/algo.h"
#include "algo/algo_internal.h"
#include "algo/kmeans/kmeans.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_PER = 200, K_TRUE = 4, DIM = 5 };

static uint64_t rng = 12345;
static double unif(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng >> 11) + 0.5) * 0x1.0p-53;
}
static double gauss(void) { return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif()); }

/* K_TRUE blobs with centers 20 apart on the axes and unit variance per coordinate:
 * the expected msd of the true clustering is DIM * 1^2 = 5. */
static lt_dataset *blobs(int *truth)
{
    lt_dataset *ds = lt_dataset_new_dense(N_PER * K_TRUE, DIM, false);
    for (int i = 0; i < N_PER * K_TRUE; i++) {
        int b = i % K_TRUE;
        truth[i] = b;
        for (int j = 0; j < DIM; j++)
            ds->x.values[(size_t)i * DIM + j] = (float)((j == b ? 20.0 : 0.0) + gauss());
    }
    return ds;
}

static json_t *hps(const char *k, const char *dim, const char *extra_name, const char *extra)
{
    json_t *h = json_pack("{s:s,s:s,s:s}", "k", k, "feature_dim", dim, "seed", "1");
    if (extra_name) json_object_set_new(h, extra_name, json_string(extra));
    return h;
}

static double last_msd;
static void on_metric(void *ctx, const char *name, double value, int it)
{
    (void)ctx, (void)it;
    if (strcmp(name, "train:msd") == 0) last_msd = value;
}

static lt_algo_model *train(const lt_dataset *ds, json_t *h, int threads, lt_err *err)
{
    lt_algo_train_args a = {.train = ds, .hyperparameters = h, .threads = threads,
                            .on_metric = on_metric};
    lt_algo_model *m = NULL;
    lt_err_clear(err);
    int rc = lt_algo__kmeans.train(&a, &m, err);
    json_decref(h);
    return rc ? NULL : m;
}

static void blobs_are_recovered(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    lt_err err = {0};
    lt_algo_model *m = train(ds, hps("4", "5", NULL, NULL), 2, &err);
    LT_CHECK(m != NULL);
    if (!m) goto out;
    /* msd of the true partition is ~5 (DIM unit variances); 7.5 leaves room for sampling. */
    LT_CHECK(last_msd < 7.5);
    double out[N_PER * K_TRUE * 2];
    LT_CHECK_INT(lt_algo__kmeans.predict(m, &ds->x, 1, out, &err), ==, 0);
    int map[K_TRUE] = {-1, -1, -1, -1}, used[K_TRUE] = {0};
    for (int i = 0; i < N_PER * K_TRUE; i++) {
        int c = (int)out[2 * i];
        if (map[truth[i]] < 0) {
            map[truth[i]] = c;
            LT_CHECK_INT(used[c]++, ==, 0); /* one center per true blob */
        }
        LT_CHECK_INT(c, ==, map[truth[i]]);
    }
    lt_algo__kmeans.free(m);
out:
    lt_dataset_free(ds);
}

static void predict_is_nearest_center_with_oracle_distance(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    lt_err err = {0};
    lt_algo_model *m = train(ds, hps("3", "5", "init_method", "random"), 1, &err);
    LT_CHECK(m != NULL);
    if (!m) goto out;
    char *dir = lt_test_tmpdir("kmeans");
    LT_CHECK_INT(lt_algo__kmeans.save(m, dir, &err), ==, 0);
    /* read the centers back through load: the test does not peek into the struct */
    lt_algo_model *m2 = NULL;
    LT_CHECK_INT(lt_algo__kmeans.load(dir, &m2, &err), ==, 0);
    size_t n = ds->x.n_rows;
    double *o1 = calloc(2 * n, sizeof(double)), *o2 = calloc(2 * n, sizeof(double));
    LT_CHECK_INT(lt_algo__kmeans.predict(m, &ds->x, 2, o1, &err), ==, 0);
    if (m2) LT_CHECK_INT(lt_algo__kmeans.predict(m2, &ds->x, 1, o2, &err), ==, 0);
    for (size_t i = 0; i < 2 * n; i++)
        if (o1[i] != o2[i]) LT_FAIL_AT("save/load changed output %zu: %g vs %g", i, o1[i], o2[i]);
    /* oracle: centers from the saved file (%.9g round-trips floats), plain distances */
    char *path = NULL;
    if (asprintf(&path, "%s/kmeans_model.json", dir) < 0) abort();
    json_t *root = json_load_file(path, 0, NULL);
    json_t *cs = json_object_get(root, "centers");
    float c[3 * DIM];
    for (int j = 0; j < 3; j++)
        for (int q = 0; q < DIM; q++)
            c[j * DIM + q] = (float)json_number_value(json_array_get(json_array_get(cs, j), q));
    int *lab = calloc(n, sizeof(int));
    float *d2 = calloc(n, sizeof(float));
    lt_kmeans__assign_scalar(ds->x.values, n, DIM, c, 3, lab, d2);
    for (size_t i = 0; i < n; i++) {
        if ((int)o1[2 * i] != lab[i]) LT_FAIL_AT("row %zu: cluster %g, oracle %d", i, o1[2 * i], lab[i]);
        if (fabs(o1[2 * i + 1] - sqrt(d2[i])) > 1e-5 * (1 + sqrt(d2[i])))
            LT_FAIL_AT("row %zu: distance %g, oracle %g", i, o1[2 * i + 1], sqrt(d2[i]));
    }
    lt_buf b = {0};
    lt_buf_init(&b, 256);
    double row[2] = {3, 0.41};
    LT_CHECK_INT(lt_algo__kmeans.format_json(m, row, &b, &err), ==, 0);
    LT_CHECK_INT(lt_buf_append(&b, "", 1, &err), ==, 0);
    LT_CHECK_STR(b.data, "{\"closest_cluster\":3,\"distance_to_cluster\":0.41}");
    lt_buf_free(&b);
    json_decref(root);
    free(path), free(lab), free(d2), free(o1), free(o2), free(dir);
    lt_algo__kmeans.free(m);
    lt_algo__kmeans.free(m2);
out:
    lt_dataset_free(ds);
}

static void sgemm_kernel_matches_scalar_twin(void)
{
    enum { N = 200, D = 17, K = 7 };
    float x[N * D], c[K * D], cn[K], dots[N * K], d2a[N], d2b[N];
    int la[N], lb[N];
    for (int i = 0; i < N * D; i++) x[i] = (float)(unif() * 4 - 2);
    for (int i = 0; i < K * D; i++) c[i] = (float)(unif() * 4 - 2);
    for (int j = 0; j < K; j++) {
        cn[j] = 0;
        for (int q = 0; q < D; q++) cn[j] += c[j * D + q] * c[j * D + q];
    }
    lt_kmeans__assign_block(x, N, D, c, cn, K, dots, la, d2a);
    lt_kmeans__assign_scalar(x, N, D, c, K, lb, d2b);
    for (int i = 0; i < N; i++) {
        if (fabsf(d2a[i] - d2b[i]) > 1e-4f * (1 + d2b[i]))
            LT_FAIL_AT("row %d: sgemm %g scalar %g", i, d2a[i], d2b[i]);
        /* a label may differ only on a near tie */
        if (la[i] != lb[i] && fabsf(d2a[i] - d2b[i]) > 1e-4f * (1 + d2b[i]))
            LT_FAIL_AT("row %d: label %d vs %d", i, la[i], lb[i]);
    }
}

static void bad_hyperparameters_are_named(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    lt_err err = {0};
    LT_CHECK(train(ds, hps("1", "5", NULL, NULL), 1, &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "k");
    LT_CHECK(train(ds, hps("3", "4", NULL, NULL), 1, &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "feature_dim");
    LT_CHECK(train(ds, hps("3", "5", "init_method", "magic"), 1, &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "init_method");
    LT_CHECK(train(ds, hps("3", "5", "bogus_name", "1"), 1, &err) == NULL);
    LT_CHECK_CONTAINS(err.msg, "bogus_name");
    lt_dataset_free(ds);
}

static void corrupt_model_fails_cleanly(void)
{
    const char *bodies[] = {"{not json", "{\"feature_dim\":2,\"k\":2,\"centers\":[[1,2]]}",
                            "{\"feature_dim\":2,\"k\":2,\"centers\":[[1,2],[3,\"x\"]]}",
                            "{\"feature_dim\":2,\"k\":2,\"centers\":[[1,2],[3]]}", ""};
    for (size_t t = 0; t < sizeof bodies / sizeof *bodies; t++) {
        char *dir = lt_test_tmpdir("kmeans_bad"), *path = NULL;
        if (asprintf(&path, "%s/kmeans_model.json", dir) < 0) abort();
        FILE *f = fopen(path, "w");
        fputs(bodies[t], f);
        fclose(f);
        lt_algo_model *m = (lt_algo_model *)1;
        lt_err err = {0};
        LT_CHECK_INT(lt_algo__kmeans.load(dir, &m, &err), ==, LT_EINVAL);
        LT_CHECK(m == NULL);
        LT_CHECK_CONTAINS(err.msg, "kmeans_model.json");
        free(path), free(dir);
    }
}

/* Partial sums are per-thread and added in thread order, so float rounding can differ
 * between 1 and 2 threads; the centers must agree to rounding, not bit for bit. */
static void one_and_two_threads_agree(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    lt_err err = {0};
    lt_algo_model *a = train(ds, hps("4", "5", NULL, NULL), 1, &err);
    lt_algo_model *b = train(ds, hps("4", "5", NULL, NULL), 2, &err);
    LT_CHECK(a && b);
    if (a && b) {
        double oa[2 * N_PER * K_TRUE], ob[2 * N_PER * K_TRUE];
        lt_algo__kmeans.predict(a, &ds->x, 1, oa, &err);
        lt_algo__kmeans.predict(b, &ds->x, 1, ob, &err);
        for (int i = 0; i < 2 * N_PER * K_TRUE; i++)
            if (fabs(oa[i] - ob[i]) > 1e-4 * (1 + fabs(oa[i])))
                LT_FAIL_AT("output %d: 1 thread %g, 2 threads %g", i, oa[i], ob[i]);
    }
    lt_algo__kmeans.free(a);
    lt_algo__kmeans.free(b);
    lt_dataset_free(ds);
}

/* Per-iteration lines are progress (iteration >= 0); training ends with one final
 * train:msd at iteration -1, which cmd_algo prints as SageMaker's
 * "#quality_metric: host=algo-1, train msd <loss>=..." line. */
static int n_progress, n_final, final_was_last;
static double final_msd;
static void count_metric(void *ctx, const char *name, double value, int it)
{
    (void)ctx;
    if (strcmp(name, "train:msd") != 0) return;
    if (it >= 0) {
        n_progress++;
        final_was_last = 0;
    } else {
        n_final++;
        final_msd = value;
        final_was_last = 1;
    }
}

static void training_ends_with_one_final_quality_metric(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    json_t *h = hps("4", "5", NULL, NULL);
    lt_algo_train_args a = {.train = ds, .hyperparameters = h, .threads = 1,
                            .on_metric = count_metric};
    lt_algo_model *m = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_algo__kmeans.train(&a, &m, &err), ==, 0);
    LT_CHECK(n_progress >= 1);
    LT_CHECK_INT(n_final, ==, 1);
    LT_CHECK(final_was_last);
    LT_CHECK(final_msd > 0 && final_msd < 7.5);
    lt_algo__kmeans.free(m);
    json_decref(h);
    lt_dataset_free(ds);
}

/* The local Lloyd reduction on a weighted set whose answer is the weighted means: two
 * far-apart groups, so any sane initialisation ends with one center per group. Unweighted
 * means would be (1, 0) and (10, 12.5): the weights must count. */
static void local_lloyd_reduces_weighted_points_to_weighted_means(void)
{
    const float x[] = {0, 0, 2, 0, 10, 10, 10, 14, 10, 13};
    const double w[] = {1, 3, 2, 1, 1};
    for (int plusplus = 0; plusplus < 2; plusplus++) {
        lt_kmeans__reduce r = {.x = x, .w = w, .n = 5, .dim = 2, .k = 2, .plusplus = plusplus,
                               .trials = 3, .max_iter = 300, .tol = 1e-4, .seed = 7};
        float c[4];
        double wssd = -1;
        lt_err err = {0};
        LT_CHECK_INT(lt_kmeans__reduce_run(&r, c, &wssd, &err), ==, 0);
        int lo = c[0] < c[2] ? 0 : 1, hi = 1 - lo;
        LT_CHECK_NEAR(c[2 * lo], 1.5, 1e-6);
        LT_CHECK_NEAR(c[2 * lo + 1], 0.0, 1e-6);
        LT_CHECK_NEAR(c[2 * hi], 10.0, 1e-6);
        LT_CHECK_NEAR(c[2 * hi + 1], 11.75, 1e-6); /* (2*10 + 14 + 13) / 4 */
        /* 1*1.5^2 + 3*0.5^2, then 2*1.75^2 + 2.25^2 + 1.25^2 */
        LT_CHECK_NEAR(wssd, 3.0 + 6.125 + 5.0625 + 1.5625, 1e-4);
    }
}

/* The mini-batch update on data worked by hand: 1-D rows 0, 10, 2, 12 in batches of two,
 * two centers from k-means++ over the first batch (which must take both rows). Batch one
 * puts each center on its row (weight 1); batch two moves 0 to (1*0 + 2)/2 = 1 and 10 to
 * 11. With half_life_time_size 2 the old weights halve over the two rows of batch two:
 * (0.5*0 + 2)/1.5 and (0.5*10 + 12)/1.5, weights 1.5. */
static void minibatch_update_follows_weights_and_half_life(void)
{
    const float x[] = {0, 10, 2, 12};
    for (int decay = 0; decay < 2; decay++) {
        lt_kmeans__minibatch mb = {.x = x, .n = 4, .dim = 1, .kp = 2, .batch = 2, .epochs = 1,
                                   .plusplus = true, .half_life = decay ? 2 : 0, .seed = 3,
                                   .threads = 2};
        float c[2];
        double w[2];
        lt_err err = {0};
        LT_CHECK_INT(lt_kmeans__minibatch_run(&mb, c, w, &err), ==, 0);
        int lo = c[0] < c[1] ? 0 : 1, hi = 1 - lo;
        LT_CHECK_NEAR(c[lo], decay ? 2 / 1.5 : 1.0, 1e-5);
        LT_CHECK_NEAR(c[hi], decay ? 17 / 1.5 : 11.0, 1e-5);
        LT_CHECK_NEAR(w[lo], decay ? 1.5 : 2.0, 1e-9);
        LT_CHECK_NEAR(w[hi], decay ? 1.5 : 2.0, 1e-9);
    }
}

/* What training logs, to see k' and the reduction's trials from outside. */
static char logged[8192];
static double epoch_msd;
static void keep_log(void *ctx, const char *line)
{
    (void)ctx;
    size_t len = strlen(logged);
    snprintf(logged + len, sizeof logged - len, "%s\n", line);
}
static void keep_epoch_msd(void *ctx, const char *name, double value, int it)
{
    (void)ctx;
    if (it == 0 && strcmp(name, "train:msd") == 0) epoch_msd = value;
}
static lt_algo_model *train_logged(const lt_dataset *ds, json_t *h, const lt_dataset *test)
{
    logged[0] = 0;
    epoch_msd = -1;
    lt_algo_train_args a = {.train = ds, .test = test, .hyperparameters = h, .threads = 2,
                            .on_metric = keep_epoch_msd, .on_log = keep_log};
    lt_algo_model *m = NULL;
    lt_err err = {0};
    int rc = lt_algo__kmeans.train(&a, &m, &err);
    if (rc) LT_FAIL_AT("train failed: %s", err.msg);
    json_decref(h);
    return m;
}
static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* extra_center_factor sets k' (auto: 10), the reduction runs local_lloyd_num_trials times
 * (auto: 10) and is skipped when k' = k. */
static void extra_center_factor_and_trials_shape_training(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    lt_algo__kmeans.free(train_logged(ds, hps("4", "5", NULL, NULL), NULL));
    LT_CHECK_CONTAINS(logged, "evaluated to 10");
    LT_CHECK_CONTAINS(logged, "shrinking 40 centers into 4");
    LT_CHECK_INT(count_of(logged, "local kmeans attempt #"), ==, 10);
    json_t *h = hps("4", "5", "extra_center_factor", "3");
    json_object_set_new(h, "local_lloyd_num_trials", json_string("2"));
    lt_algo__kmeans.free(train_logged(ds, h, NULL));
    LT_CHECK_CONTAINS(logged, "shrinking 12 centers into 4");
    LT_CHECK_INT(count_of(logged, "local kmeans attempt #"), ==, 2);
    lt_algo__kmeans.free(train_logged(ds, hps("4", "5", "extra_center_factor", "1"), NULL));
    LT_CHECK_INT(count_of(logged, "shrinking"), ==, 0);
    lt_dataset_free(ds);
}

/* mini_batch_size decides how often the centers move: in one batch of all 800 rows every
 * row is scored against the initial centers; in batches of 20 the later rows meet centers
 * that already moved toward the blobs, so the epoch's streaming msd is far lower. */
static void mini_batch_size_changes_the_stream(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    json_t *h = hps("4", "5", "mini_batch_size", "800");
    json_object_set_new(h, "extra_center_factor", json_string("1"));
    lt_algo__kmeans.free(train_logged(ds, h, NULL));
    double one_batch = epoch_msd;
    h = hps("4", "5", "mini_batch_size", "20");
    json_object_set_new(h, "extra_center_factor", json_string("1"));
    lt_algo__kmeans.free(train_logged(ds, h, NULL));
    double small = epoch_msd;
    LT_CHECK(one_batch > 0 && small > 0);
    if (!(small < 0.5 * one_batch))
        LT_FAIL_AT("streaming msd with batches of 20: %g, one batch: %g", small, one_batch);
    lt_dataset_free(ds);
}

/* A test channel is scored with the final centers: SageMaker's "#test_score" line, whose
 * value is the oracle's msd over the test rows; a validation channel is refused. */
static void test_channel_is_scored_and_validation_refused(void)
{
    int truth[N_PER * K_TRUE];
    lt_dataset *ds = blobs(truth);
    lt_dataset *te = lt_dataset_new_dense(50, DIM, false);
    memcpy(te->x.values, ds->x.values + 100 * DIM, 50 * DIM * sizeof(float));
    lt_algo_model *m = train_logged(ds, hps("4", "5", NULL, NULL), te);
    LT_CHECK(m != NULL);
    const char *line = strstr(logged, "#test_score (algo-1) : ('msd', ");
    LT_CHECK(line != NULL);
    if (m && line) {
        double out[100];
        lt_err err = {0};
        LT_CHECK_INT(lt_algo__kmeans.predict(m, &te->x, 1, out, &err), ==, 0);
        double msd = 0;
        for (int i = 0; i < 50; i++) msd += out[2 * i + 1] * out[2 * i + 1] / 50;
        double logged_msd = strtod(line + strlen("#test_score (algo-1) : ('msd', "), NULL);
        LT_CHECK_NEAR(logged_msd, msd, 1e-3 * msd);
    }
    lt_algo__kmeans.free(m);
    json_t *h = hps("4", "5", NULL, NULL);
    lt_algo_train_args a = {.train = ds, .validation = te, .hyperparameters = h, .threads = 1};
    lt_err err = {0};
    m = NULL;
    LT_CHECK_INT(lt_algo__kmeans.train(&a, &m, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "test");
    json_decref(h);
    lt_dataset_free(te);
    lt_dataset_free(ds);
}

int main(void)
{
    LT_RUN(local_lloyd_reduces_weighted_points_to_weighted_means);
    LT_RUN(minibatch_update_follows_weights_and_half_life);
    LT_RUN(extra_center_factor_and_trials_shape_training);
    LT_RUN(mini_batch_size_changes_the_stream);
    LT_RUN(test_channel_is_scored_and_validation_refused);
    LT_RUN(training_ends_with_one_final_quality_metric);
    LT_RUN(blobs_are_recovered);
    LT_RUN(predict_is_nearest_center_with_oracle_distance);
    LT_RUN(sgemm_kernel_matches_scalar_twin);
    LT_RUN(bad_hyperparameters_are_named);
    LT_RUN(corrupt_model_fails_cleanly);
    LT_RUN(one_and_two_threads_agree);
    return lt_test_summary();
}
