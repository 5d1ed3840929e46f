/* A built-in multi-model container (CreateModel's Mode MultiModel): ModelDataUrl is an S3
 * prefix, and each InvokeEndpoint names its model with TargetModel, a key under that
 * prefix. A model is fetched, unpacked and loaded with the container's built-in algorithm
 * on its first call, then kept in memory; past MME_CAPACITY models the one used longest
 * ago (and in use by no call) is dropped, as SageMaker unloads models under memory
 * pressure. With MultiModelConfig's ModelCacheSetting Disabled a model is dropped when its
 * last call ends. Two first calls to one model may both load it: the second copy is
 * dropped. The checks and the fetch are shared with multi-model serve programs
 * (program_models.c). */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MME_CAPACITY = 32 };

typedef struct mme_entry {
    char *target;
    lt_algo_model *model;
    int refs;           /* calls using it: never dropped while above 0 */
    uint64_t last_used; /* the cache's clock at its last call */
} mme_entry;

struct lt_serve__mme {
    lt_blob *blob;
    const lt_algo *algo;
    char *prefix; /* ends with '/' */
    char *dir;    /* scratch for unpacking */
    bool cache;   /* ModelCacheSetting Enabled: keep models between calls */
    pthread_mutex_t lock;
    mme_entry *entries;
    size_t n, cap;
    uint64_t clock;
    atomic_uint scratch_seq;
};

char *lt_serve__mme_prefix(const char *model_data_url)
{
    size_t len = strlen(model_data_url);
    return len && model_data_url[len - 1] == '/' ? lt_xstrdup(model_data_url)
                                                 : lt_xasprintf("%s/", model_data_url);
}

bool lt_serve__mme_cache_enabled(const json_t *container)
{
    const char *setting =
        lt_json_str(json_object_get(container, "MultiModelConfig"), "ModelCacheSetting");
    return !setting || strcmp(setting, "Disabled") != 0;
}

lt_serve__mme *lt_serve__mme_new(lt_blob *blob, const lt_algo *algo, const char *prefix,
                                 const char *dir, bool cache)
{
    lt_serve__mme *m = lt_xcalloc(1, sizeof *m);
    m->blob = blob;
    m->algo = algo;
    m->prefix = lt_serve__mme_prefix(prefix);
    m->dir = lt_xstrdup(dir);
    m->cache = cache;
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void lt_serve__mme_free(lt_serve__mme *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        m->algo->free(m->entries[i].model);
        free(m->entries[i].target);
    }
    free(m->entries);
    pthread_mutex_destroy(&m->lock);
    free(m->prefix);
    free(m->dir);
    free(m);
}

/* TargetModel as SageMaker takes it: 1 to 1024 printable characters, and here a plain
 * relative key (no "..", not absolute), since it becomes part of an object's name. */
int lt_serve__mme_check_target(const char *t, lt_err *err)
{
    size_t n = strlen(t);
    if (n == 0 || n > 1024)
        return lt_err_set(err, LT_EINVAL, "TargetModel must be 1 to 1024 characters long.");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || t[i] == 0x7f)
            return lt_err_set(err, LT_EINVAL,
                              "TargetModel '%s' has a space or control character at %zu.", t, i);
    if (t[0] == '/' || strstr(t, "..") != NULL)
        return lt_err_set(err, LT_EINVAL,
                          "TargetModel '%s' must be a key under the model's S3 prefix "
                          "(relative, without \"..\").",
                          t);
    return 0;
}

static mme_entry *find(lt_serve__mme *m, const char *target)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->entries[i].target, target) == 0) return &m->entries[i];
    return NULL;
}

int lt_serve__mme_fetch(lt_blob *blob, const char *uri, const char *dir, lt_err *err)
{
    char *tarball = lt_xasprintf("%s.tar.gz", dir);
    lt_err e = {0};
    int rc = lt_mkdir_p(dir, 0755, &e);
    if (!rc) {
        rc = lt_blob_uri_get_file(blob, uri, tarball, &e);
        if (rc == LT_ENOTFOUND)
            rc = lt_err_set(err, LT_ENOTFOUND,
                            "Failed to download model data (%s): there is no object at that "
                            "URL.",
                            uri);
        else if (rc)
            rc = lt_err_set(err, rc, "Failed to download model data (%s): %s", uri, e.msg);
    } else {
        lt_err_set(err, rc, "%s", e.msg);
    }
    if (!rc && (rc = lt_blob_unpack(tarball, dir, &e)) != 0)
        lt_err_set(err, rc, "The model data at %s is not a readable model.tar.gz: %s", uri, e.msg);
    remove(tarball);
    free(tarball);
    return rc;
}

/* Fetches, unpacks and loads one model outside the lock. */
static int load_target(lt_serve__mme *m, const char *target, lt_algo_model **out, lt_err *err)
{
    char *uri = lt_xasprintf("%s%s", m->prefix, target);
    char *dir = lt_xasprintf("%s/target-%u", m->dir, atomic_fetch_add(&m->scratch_seq, 1));
    lt_err e = {0};
    int rc = lt_serve__mme_fetch(m->blob, uri, dir, err);
    if (!rc && (rc = m->algo->load(dir, out, &e)) != 0)
        lt_err_set(err, rc, "The model at %s does not load as a %s model: %s", uri,
                   m->algo->name, e.msg);
    lt_rm_rf(dir, &(lt_err){0}); /* the built-in model is in memory now */
    free(dir);
    free(uri);
    return rc;
}

/* Drops the model used longest ago that no call holds; called with the lock held. */
static lt_algo_model *evict_one(lt_serve__mme *m)
{
    size_t victim = m->n;
    for (size_t i = 0; i < m->n; i++)
        if (m->entries[i].refs == 0 &&
            (victim == m->n || m->entries[i].last_used < m->entries[victim].last_used))
            victim = i;
    if (victim == m->n) return NULL;
    lt_algo_model *dropped = m->entries[victim].model;
    free(m->entries[victim].target);
    m->entries[victim] = m->entries[--m->n];
    return dropped;
}

int lt_serve__mme_get(lt_serve__mme *m, const char *target, lt_algo_model **model, lt_err *err)
{
    int rc = lt_serve__mme_check_target(target, err);
    if (rc) return rc;
    pthread_mutex_lock(&m->lock);
    mme_entry *e = find(m, target);
    if (e) {
        e->refs++;
        e->last_used = ++m->clock;
        *model = e->model;
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    pthread_mutex_unlock(&m->lock);

    lt_algo_model *loaded = NULL;
    if ((rc = load_target(m, target, &loaded, err)) != 0) return rc;
    lt_algo_model *dropped = NULL;
    pthread_mutex_lock(&m->lock);
    if ((e = find(m, target)) != NULL) { /* another first call won */
        dropped = loaded;
    } else {
        lt_algo_model *old = m->n >= MME_CAPACITY ? evict_one(m) : NULL;
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 8;
            m->entries = lt_xrealloc(m->entries, m->cap * sizeof *m->entries);
        }
        e = &m->entries[m->n++];
        *e = (mme_entry){lt_xstrdup(target), loaded, 0, 0};
        dropped = old;
    }
    e->refs++;
    e->last_used = ++m->clock;
    *model = e->model;
    pthread_mutex_unlock(&m->lock);
    if (dropped) m->algo->free(dropped);
    return 0;
}

void lt_serve__mme_put(lt_serve__mme *m, const lt_algo_model *model)
{
    lt_algo_model *dropped = NULL;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++)
        if (m->entries[i].model == model) {
            if (--m->entries[i].refs == 0 && !m->cache) {
                dropped = m->entries[i].model;
                free(m->entries[i].target);
                m->entries[i] = m->entries[--m->n];
            }
            break;
        }
    pthread_mutex_unlock(&m->lock);
    if (dropped) m->algo->free(dropped);
}
