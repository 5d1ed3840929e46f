/* Images: what a TrainingImage URI (or AlgorithmName) runs.
 *
 * Without a container engine an image is a registered directory (`lathe image push`), so a
 * URI resolves by repository and tag whatever registry host it names:
 * "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-team/trainer:v3" and "my-team/trainer:v3"
 * are the same image. Two families of names never need pushing: SageMaker's built-in
 * algorithm repositories ("kmeans", "sagemaker-xgboost", ...) route to lathe's own
 * algorithms, and the framework repositories whose jobs run a user's script
 * ("sagemaker-scikit-learn", ...) route to the built-in `python` image. */
#include "api/api_internal.h"

#include "algo/algo.h"

#include <stdlib.h>
#include <string.h>

/* Repositories of SageMaker's built-in algorithms, with the algorithm each one is.
 * Those missing from this build's registry answer "not available yet". */
static const struct {
    const char *repository;
    const char *algorithm;
} builtin_repositories[] = {
    {"xgboost", "xgboost"},
    {"sagemaker-xgboost", "xgboost"},
    {"kmeans", "kmeans"},
    {"pca", "pca"},
    {"knn", "knn"},
    {"linear-learner", "linear-learner"},
    {"factorization-machines", "factorization-machines"},
    {"randomcutforest", "randomcutforest"},
    {"blazingtext", "blazingtext"},
    {"object2vec", "object2vec"},
    {"forecasting-deepar", "deepar"},
    {"image-classification", "image-classification"},
    {"object-detection", "object-detection"},
    {"semantic-segmentation", "semantic-segmentation"},
    {"ntm", "ntm"},
    {"lda", "lda"},
    {"ipinsights", "ipinsights"},
    {"seq2seq", "seq2seq"},
};

/* Repositories whose jobs run the user's script (SageMaker SDK script mode). */
static const char *const python_repositories[] = {
    "python", "sagemaker-scikit-learn", "sagemaker-python", NULL,
};

/* Splits a URI into repository (without registry host) and tag, both new. */
static int split_uri(const char *uri, char **repository, char **tag, lt_err *err)
{
    const char *s = uri;
    const char *slash = strchr(s, '/');
    if (slash) {
        /* A first component with a '.' or ':' (or "localhost") is a registry host. */
        size_t n = (size_t)(slash - s);
        if (memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && memcmp(s, "localhost", 9) == 0))
            s = slash + 1;
    }
    const char *at = strchr(s, '@');
    const char *last_slash = strrchr(s, '/');
    const char *colon = strrchr(last_slash ? last_slash : s, ':');
    if (at && (!colon || colon > at)) colon = NULL;
    size_t repo_len = at ? (size_t)(at - s) : colon ? (size_t)(colon - s) : strlen(s);
    if (colon && at) repo_len = (size_t)(colon - s);
    if (repo_len == 0 || s[repo_len - 1] == '/')
        return lt_err_set(err, LT_EINVAL, "Image URI '%s' names no repository.", uri);
    *repository = lt_xstrndup(s, repo_len);
    if (colon) {
        size_t tag_len = at ? (size_t)(at - colon - 1) : strlen(colon + 1);
        *tag = lt_xstrndup(colon + 1, tag_len);
    } else {
        *tag = lt_xstrdup("latest");
    }
    if (!**tag) {
        free(*repository);
        free(*tag);
        return lt_err_set(err, LT_EINVAL, "Image URI '%s' has an empty tag.", uri);
    }
    return 0;
}

/* The runner cannot see the algorithm registry (exec sits beside the api, not above
 * algo), so the spec carries the metric names it needs to read the algorithm's log. */
static json_t *algorithm_spec(const lt_algo *algo)
{
    json_t *metrics = json_array();
    for (const char *const *m = algo->metrics; m && *m; m++)
        json_array_append_new(metrics, json_string(*m));
    return json_pack("{s:s, s:s, s:o}", "Type", "algorithm", "Algorithm", algo->name, "Metrics",
                     metrics);
}

static int resolve_builtin(const char *uri, const char *repository, json_t **spec, lt_err *err)
{
    const char *base = strrchr(repository, '/');
    base = base ? base + 1 : repository;
    for (size_t i = 0; python_repositories[i]; i++)
        if (strcmp(base, python_repositories[i]) == 0) {
            *spec = json_pack("{s:s}", "Type", "python");
            return 1;
        }
    for (size_t i = 0; i < sizeof builtin_repositories / sizeof builtin_repositories[0]; i++) {
        if (strcmp(base, builtin_repositories[i].repository) != 0) continue;
        const lt_algo *algo = lt_algo_find(builtin_repositories[i].algorithm);
        if (!algo)
            return lt_err_set(err, LT_EINVAL,
                              "Image '%s' is SageMaker's built-in algorithm '%s', which this "
                              "Lathe build does not have yet (`lathe algo list` shows those it has).",
                              uri, builtin_repositories[i].algorithm);
        *spec = algorithm_spec(algo);
        return 1;
    }
    return 0;
}

int lt_api_image_resolve(lt_store *store, const char *uri, json_t **spec, lt_err *err)
{
    *spec = NULL;
    /* A bare algorithm name ("kmeans"), as AlgorithmName carries it. */
    const lt_algo *algo = lt_algo_find(uri);
    if (algo && !strchr(uri, '/') && !strchr(uri, ':')) {
        *spec = algorithm_spec(algo);
        return 0;
    }
    char *repository = NULL, *tag = NULL;
    int rc = split_uri(uri, &repository, &tag, err);
    if (rc) return rc;
    rc = resolve_builtin(uri, repository, spec, err);
    if (rc != 0) {
        free(repository);
        free(tag);
        return rc < 0 ? rc : 0;
    }
    char *name = lt_xasprintf("%s:%s", repository, tag);
    lt_store_resource res = {0};
    lt_err inner = {0};
    rc = lt_store_resource_get(store, LT_STORE_KIND_IMAGE, name, &res, &inner);
    if (rc == LT_ENOTFOUND) {
        rc = lt_err_set(err, LT_EINVAL,
                        "Image '%s' is not registered: no image '%s' has been pushed "
                        "(`lathe image push %s DIR`).",
                        uri, name, name);
    } else if (rc) {
        rc = lt_err_set(err, rc, "%s", inner.msg);
    } else {
        json_t *doc = NULL;
        if (lt_json_parse(res.doc, strlen(res.doc), &doc, NULL) != 0) {
            rc = lt_err_set(err, LT_EINTERNAL, "stored document of image '%s' is corrupt", name);
        } else {
            *spec = json_pack("{s:s, s:s, s:O, s:O, s:O}", "Type", "directory", "Image", name,
                              "Digest", json_object_get(doc, "Digest"), "Path",
                              json_object_get(doc, "Path"), "EntryPoints",
                              json_object_get(doc, "EntryPoints"));
            json_decref(doc);
            if (!*spec) rc = lt_err_set(err, LT_EINTERNAL, "image '%s' lacks members", name);
        }
    }
    lt_store_resource_clear(&res);
    free(name);
    free(repository);
    free(tag);
    return rc;
}

int lt_api_image_register(lt_store *store, const char *name_tag, const char *digest,
                          const char *path, json_t *entry_points, int64_t now_ms, lt_err *err)
{
    char *repository = NULL, *tag = NULL;
    int rc = split_uri(name_tag, &repository, &tag, err);
    if (rc) return rc;
    char *name = lt_xasprintf("%s:%s", repository, tag);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:o}", "ImageName", name,
                            "Repository", repository, "Tag", tag, "Digest", digest, "Path", path,
                            "EntryPoints", entry_points, "PushTime", lt_json_epoch_ms(now_ms));
    char *text = lt_json_dump(doc);
    char *arn = lt_xasprintf("lathe:image/%s", name);
    lt_store_resource res = {.kind = LT_STORE_KIND_IMAGE,
                             .name = name,
                             .arn = arn,
                             .creation_ms = now_ms,
                             .modified_ms = now_ms,
                             .doc = text};
    rc = lt_store_txn_begin(store, err);
    if (!rc) {
        lt_err inner = {0};
        int r = lt_store_resource_update(store, &res, &inner);
        if (r == LT_ENOTFOUND) r = lt_store_resource_create(store, &res, err);
        else if (r) r = lt_err_set(err, r, "%s", inner.msg);
        rc = lt_store_txn_end(store, r, err);
    }
    free(arn);
    free(text);
    json_decref(doc);
    free(name);
    free(repository);
    free(tag);
    return rc;
}
