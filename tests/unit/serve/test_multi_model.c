/* A multi-model container's models: loaded by TargetModel on the first call and found in
 * memory after (the object may be gone by then), the one used longest ago dropped past 32,
 * a model held by a call never dropped, nothing kept between calls with the cache
 * disabled, and malformed or absent targets refused by name.
 * The models are k-means models with a center at (i, 0) and one far off at (-1000, 0): the
 * origin's distance to its nearest center is i, which says which model answered. */
#include "algo/algo.h"
#include "serve/serve_internal.h"
#include "test.h"

#include <stdio.h>

static lt_blob *blob;
static char *scratch;
static const lt_algo *kmeans;

/* s3://models/m/<i>.tar.gz: k-means centred at (i, 0) and (-1000, 0). */
static void put_model(int i)
{
    char *dir = lt_xasprintf("%s/src-%d", scratch, i), *path = NULL, *tgz = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_mkdir_p(dir, 0755, &err), ==, 0);
    path = lt_xasprintf("%s/kmeans_model.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"feature_dim\":2,\"k\":2,\"centers\":[[%d,0],[-1000,0]]}", i);
    fclose(f);
    tgz = lt_xasprintf("%s.tar.gz", dir);
    LT_CHECK_INT(lt_blob_pack_dir(dir, tgz, &err), ==, 0);
    char *uri = lt_xasprintf("s3://models/m/%d.tar.gz", i);
    LT_CHECK_INT(lt_blob_uri_put_file(blob, uri, tgz, NULL, &err), ==, 0);
    free(uri), free(tgz), free(path), free(dir);
}

static void drop_object(int i)
{
    char *uri = lt_xasprintf("s3://models/m/%d.tar.gz", i);
    LT_CHECK_INT(lt_blob_uri_delete(blob, uri, &(lt_err){0}), ==, 0);
    free(uri);
}

/* The distance from the origin to the model's center: which model it is. */
static double which(const lt_algo_model *m)
{
    float origin[2] = {0, 0};
    lt_matrix x = {.kind = LT_MATRIX_DENSE, .n_rows = 1, .n_cols = 2, .values = origin};
    double out[2] = {-1, -1};
    lt_err err = {0};
    LT_CHECK_INT(kmeans->predict(m, &x, 1, out, &err), ==, 0);
    return out[1];
}

/* Gets target "<i>.tar.gz", checks it is model i, and keeps it held when hold. */
static const lt_algo_model *use(lt_serve__mme *m, int i, bool hold)
{
    char target[32];
    snprintf(target, sizeof target, "%d.tar.gz", i);
    lt_algo_model *model = NULL;
    lt_err err = {0};
    int rc = lt_serve__mme_get(m, target, &model, &err);
    if (rc) {
        LT_FAIL_AT("model %d: %s", i, err.msg);
        return NULL;
    }
    LT_CHECK(fabs(which(model) - i) < 1e-6);
    if (!hold) lt_serve__mme_put(m, model);
    return model;
}

static int get_rc(lt_serve__mme *m, const char *target, lt_err *err)
{
    lt_algo_model *model = NULL;
    int rc = lt_serve__mme_get(m, target, &model, err);
    if (!rc) lt_serve__mme_put(m, model);
    return rc;
}

static void models_load_once_and_the_least_recent_is_dropped(void)
{
    lt_serve__mme *m = lt_serve__mme_new(blob, kmeans, "s3://models/m", scratch, true);
    for (int i = 0; i <= 32; i++) put_model(i);
    for (int i = 0; i < 32; i++) use(m, i, false);
    use(m, 0, false); /* 0 is now the most recent, 1 the least */
    drop_object(0);
    drop_object(1);
    use(m, 32, false); /* the 33rd model: 1 is dropped */
    use(m, 0, false);  /* still in memory, though its object is gone */
    lt_err err = {0};
    LT_CHECK_INT(get_rc(m, "1.tar.gz", &err), ==, LT_ENOTFOUND);
    LT_CHECK_CONTAINS(err.msg, "s3://models/m/1.tar.gz");

    /* A held model stays while 32 others come and go. */
    const lt_algo_model *held = use(m, 2, true);
    drop_object(2);
    for (int i = 40; i < 72; i++) {
        put_model(i);
        use(m, i, false);
    }
    LT_CHECK_INT(get_rc(m, "0.tar.gz", &err), ==, LT_ENOTFOUND); /* dropped meanwhile */
    lt_serve__mme_put(m, held);
    use(m, 2, false);
    lt_serve__mme_free(m);
}

/* ModelCacheSetting Disabled: a model is dropped when its last call ends, so the next call
 * fetches it again (and fails once its object is gone); while a call holds it, another
 * call finds it in memory. */
static void a_disabled_cache_keeps_models_only_while_calls_hold_them(void)
{
    lt_serve__mme *m = lt_serve__mme_new(blob, kmeans, "s3://models/m/", scratch, false);
    put_model(80);
    put_model(81);
    use(m, 80, false);
    drop_object(80);
    lt_err err = {0};
    LT_CHECK_INT(get_rc(m, "80.tar.gz", &err), ==, LT_ENOTFOUND);
    const lt_algo_model *held = use(m, 81, true);
    drop_object(81);
    LT_CHECK(use(m, 81, false) == held);
    lt_serve__mme_put(m, held);
    LT_CHECK_INT(get_rc(m, "81.tar.gz", &err), ==, LT_ENOTFOUND);
    lt_serve__mme_free(m);
}

static void bad_targets_are_refused_by_name(void)
{
    lt_serve__mme *m = lt_serve__mme_new(blob, kmeans, "s3://models/m/", scratch, true);
    const char *bad[] = {"", "../m/3.tar.gz", "/abs.tar.gz", "a/../../b", "has space", NULL};
    for (int i = 0; bad[i]; i++) {
        lt_err err = {0};
        LT_CHECK_INT(get_rc(m, bad[i], &err), ==, LT_EINVAL);
        LT_CHECK_CONTAINS(err.msg, "TargetModel");
    }
    char *long_name = lt_xmalloc(1100);
    memset(long_name, 'a', 1099);
    long_name[1099] = '\0';
    LT_CHECK_INT(get_rc(m, long_name, &(lt_err){0}), ==, LT_EINVAL);
    free(long_name);
    /* an object that is not a model.tar.gz */
    LT_CHECK_INT(lt_blob_uri_put_bytes(blob, "s3://models/m/junk.tar.gz", "junk", 4, NULL,
                                       &(lt_err){0}),
                 ==, 0);
    lt_err err = {0};
    LT_CHECK(get_rc(m, "junk.tar.gz", &err) != 0);
    LT_CHECK_CONTAINS(err.msg, "s3://models/m/junk.tar.gz");
    lt_serve__mme_free(m);
}

int main(void)
{
    scratch = lt_test_tmpdir("multi-model");
    kmeans = lt_algo_find("kmeans");
    char *root = lt_xasprintf("%s/blob", scratch);
    lt_err err = {0};
    if (lt_blob_open(&blob, root, &err) || lt_blob_bucket_create(blob, "models", &err)) {
        fprintf(stderr, "blob: %s\n", err.msg);
        return 1;
    }
    LT_RUN(models_load_once_and_the_least_recent_is_dropped);
    LT_RUN(a_disabled_cache_keeps_models_only_while_calls_hold_them);
    LT_RUN(bad_targets_are_refused_by_name);
    lt_blob_close(blob);
    free(root);
    return lt_test_summary();
}
