/* A multi-model serve program (CreateModel's Mode MultiModel with a pushed image), under
 * SageMaker's multi-model container contract. Each InvokeEndpoint names its model with
 * TargetModel, a key under the container's S3 prefix. The first call to a model fetches
 * and unpacks it once into <dir>/<name>/model, which every worker sees at
 * /opt/ml/models/<name>/model; <name> is an opaque id (the first 16 bytes of the
 * TargetModel's SHA-256, in hex), as SageMaker's is.
 *
 * A call goes to one worker, the one the model's id points at when it is ready (so a
 * model is loaded in one process, not in all of them, as SageMaker routes a model to the
 * instance that has it), else the next ready one. If the model is not loaded in that
 * worker process (it never was, or the worker was replaced since: a worker's generation
 * grows each time it starts), it is loaded with POST /models {"model_name", "url"}, by one
 * call while the others for it wait (first calls at once load a model into a worker once):
 * 409 means loaded already; 507 means the container is out of room, and the model used
 * longest ago there, in use by no call, is unloaded (DELETE /models/<name>) before trying
 * again. Then POST /models/<name>/invoke, with the request's headers and
 * X-Amzn-SageMaker-Target-Model; a 404 there (the container lost the model) loads it again
 * once.
 *
 * Past DISK_CAPACITY models on disk, the one used longest ago and in use by no call is
 * unloaded from every worker and removed. With ModelCacheSetting Disabled a model is
 * unloaded and removed when its last call ends. */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DISK_CAPACITY = 64, NAME_LEN = 32 };

/* A DROPPING entry is being unloaded and removed: it stays in the list meanwhile, so that a
 * call for its target waits for that to end (as for a fetch) before fetching it afresh into
 * the same directory, under the same name. */
enum { FETCHING, READY, DROPPING };

typedef struct model_entry {
    char *target;
    char name[NAME_LEN + 1];
    uint32_t home; /* picks the worker it is called on */
    int state;
    int refs;           /* calls using it, the fetch included */
    uint64_t last_used; /* the clock at its last call */
    unsigned *loaded;   /* per worker: the generation it was loaded in, 0 if not */
    unsigned *loading;  /* per worker: the generation a call is loading it in, 0 if none */
} model_entry;

struct lt_serve__program_models {
    lt_blob *blob;
    char *prefix; /* ends with '/' */
    char *dir;    /* bound at /opt/ml/models */
    bool cache;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* broadcast when a fetch or a load ends, either way */
    model_entry **entries;
    size_t n, cap;
    uint64_t clock;
};

lt_serve__program_models *lt_serve__program_models_new(lt_blob *blob, const char *prefix,
                                                       const char *dir, bool cache)
{
    lt_serve__program_models *m = lt_xcalloc(1, sizeof *m);
    m->blob = blob;
    m->prefix = lt_serve__mme_prefix(prefix);
    m->dir = lt_xstrdup(dir);
    m->cache = cache;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, NULL);
    return m;
}

static void entry_free(model_entry *e)
{
    free(e->loaded);
    free(e->loading);
    free(e->target);
    free(e);
}

void lt_serve__program_models_free(lt_serve__program_models *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++)
        entry_free(m->entries[i]);
    free(m->entries);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->changed);
    free(m->prefix);
    free(m->dir);
    free(m);
}

static model_entry *find(const lt_serve__program_models *m, const char *target)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->entries[i]->target, target) == 0) return m->entries[i];
    return NULL;
}

static void detach(lt_serve__program_models *m, const model_entry *e)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->entries[i] == e) {
            m->entries[i] = m->entries[--m->n];
            return;
        }
}

static char *model_dir(const lt_serve__program_models *m, const model_entry *e)
{
    return lt_xasprintf("%s/%s", m->dir, e->name);
}

static int unload(lt_serve_program *p, int worker, const model_entry *e)
{
    char *path = lt_xasprintf("/models/%s", e->name);
    lt_serve_answer ans;
    int rc = lt_serve__program_send(p, worker, "DELETE", path, NULL, &ans, &(lt_err){0});
    if (!rc) lt_serve_answer_free(&ans);
    free(path);
    return rc;
}

/* Unloads a DROPPING entry from every worker that has it, removes its files, then takes it
 * out of the list and frees it. */
static void drop(lt_serve__program_models *m, lt_serve_program *p, model_entry *e)
{
    for (int w = 0; w < lt_serve__program_workers(p); w++)
        if (e->loaded[w] && e->loaded[w] == lt_serve__program_worker_ready(p, w))
            unload(p, w, e);
    char *dir = model_dir(m, e);
    lt_rm_rf(dir, &(lt_err){0});
    free(dir);
    pthread_mutex_lock(&m->lock);
    detach(m, e);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    entry_free(e);
}

/* The model target names, fetched if it is not on disk, with a call's reference. */
static int acquire(lt_serve__program_models *m, lt_serve_program *p, const char *target,
                   model_entry **out, lt_err *err)
{
    pthread_mutex_lock(&m->lock);
    model_entry *e;
    while ((e = find(m, target)) != NULL && e->state != READY)
        pthread_cond_wait(&m->changed, &m->lock);
    if (e) {
        e->refs++;
        e->last_used = ++m->clock;
        pthread_mutex_unlock(&m->lock);
        *out = e;
        return 0;
    }
    e = lt_xcalloc(1, sizeof *e);
    e->target = lt_xstrdup(target);
    uint8_t digest[32];
    lt_sha256(target, strlen(target), digest);
    lt_hex_encode(e->name, digest, NAME_LEN / 2);
    e->home = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 |
              digest[3];
    e->state = FETCHING;
    e->refs = 1;
    e->last_used = ++m->clock;
    e->loaded = lt_xcalloc((size_t)lt_serve__program_workers(p), sizeof *e->loaded);
    e->loading = lt_xcalloc((size_t)lt_serve__program_workers(p), sizeof *e->loading);
    /* Room on disk: the ready model used longest ago and in use by no call goes. */
    model_entry *victim = NULL;
    if (m->n >= DISK_CAPACITY)
        for (size_t i = 0; i < m->n; i++) {
            model_entry *c = m->entries[i];
            if (c->state == READY && c->refs == 0 && (!victim || c->last_used < victim->last_used))
                victim = c;
        }
    if (victim) victim->state = DROPPING;
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 8;
        m->entries = lt_xrealloc(m->entries, m->cap * sizeof *m->entries);
    }
    m->entries[m->n++] = e;
    pthread_mutex_unlock(&m->lock);
    if (victim) drop(m, p, victim);

    char *uri = lt_xasprintf("%s%s", m->prefix, target);
    char *dir = model_dir(m, e);
    char *into = lt_xasprintf("%s/model", dir);
    lt_rm_rf(dir, &(lt_err){0}); /* what a fetch that failed halfway left */
    int rc = lt_serve__mme_fetch(m->blob, uri, into, err);
    if (rc) lt_rm_rf(dir, &(lt_err){0});
    free(into);
    free(dir);
    free(uri);
    pthread_mutex_lock(&m->lock);
    if (rc) detach(m, e);
    else e->state = READY;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    if (rc) {
        entry_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

static void release(lt_serve__program_models *m, lt_serve_program *p, model_entry *e)
{
    pthread_mutex_lock(&m->lock);
    bool gone = --e->refs == 0 && !m->cache;
    if (gone) e->state = DROPPING;
    pthread_mutex_unlock(&m->lock);
    if (gone) drop(m, p, e);
}

/* Whether the caller is to load e into worker w (generation gen) and then call
 * load_done: not when it is loaded there already. Concurrent first calls load a model into
 * one worker once: while another call loads it there, this waits for that one. */
static bool claim_load(lt_serve__program_models *m, model_entry *e, int w, unsigned gen)
{
    pthread_mutex_lock(&m->lock);
    while (e->loading[w] == gen && e->loaded[w] != gen)
        pthread_cond_wait(&m->changed, &m->lock);
    bool load = e->loaded[w] != gen;
    if (load) e->loading[w] = gen;
    pthread_mutex_unlock(&m->lock);
    return load;
}

static void load_done(lt_serve__program_models *m, model_entry *e, int w, unsigned gen,
                      bool loaded)
{
    pthread_mutex_lock(&m->lock);
    e->loading[w] = 0;
    if (loaded) e->loaded[w] = gen;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void set_unloaded(lt_serve__program_models *m, model_entry *e, int w)
{
    pthread_mutex_lock(&m->lock);
    e->loaded[w] = 0;
    pthread_mutex_unlock(&m->lock);
}

/* The model used longest ago in worker w (generation gen), in use by no call and not
 * keep, marked unloaded there; NULL when there is none. */
static model_entry *unload_candidate(lt_serve__program_models *m, const model_entry *keep, int w,
                                     unsigned gen)
{
    model_entry *victim = NULL;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++) {
        model_entry *c = m->entries[i];
        if (c != keep && c->state == READY && c->refs == 0 && c->loaded[w] == gen &&
            (!victim || c->last_used < victim->last_used))
            victim = c;
    }
    if (victim) {
        victim->loaded[w] = 0;
        victim->refs++; /* kept from a disk eviction while it is unloaded */
    }
    pthread_mutex_unlock(&m->lock);
    return victim;
}

enum { LOADED = 0, REFUSED = 1 };

/* Loads e into worker w (claimed with claim_load). LOADED, REFUSED (ans holds the
 * container's answer), or an error. */
static int load(lt_serve__program_models *m, lt_serve_program *p, model_entry *e, int w,
                unsigned gen, const lt_serve_call *call, lt_serve_answer *ans, lt_err *err)
{
    char *url = lt_xasprintf("/opt/ml/models/%s/model", e->name);
    json_t *doc = json_pack("{s:s, s:s}", "model_name", e->name, "url", url);
    char *body = lt_json_dump(doc);
    json_decref(doc);
    free(url);
    lt_serve_call req = {.content_type = "application/json", .body = body, .len = strlen(body),
                         .timeout_ms = call->timeout_ms,
                         .max_answer_bytes = call->max_answer_bytes};
    int rc;
    for (;;) {
        rc = lt_serve__program_send(p, w, "POST", "/models", &req, ans, err);
        if (rc) break;
        if ((ans->status >= 200 && ans->status <= 299) || ans->status == 409) {
            lt_serve_answer_free(ans);
            rc = LOADED;
            break;
        }
        model_entry *victim = ans->status == 507 ? unload_candidate(m, e, w, gen) : NULL;
        if (!victim) {
            if (ans->status == 404 || ans->status == 405) { /* a single-model program */
                char *why = lt_xasprintf(
                    "POST /models answered %d: the container does not implement SageMaker's "
                    "multi-model contract (load with POST /models, call with POST "
                    "/models/<name>/invoke), so it cannot serve Mode MultiModel",
                    ans->status);
                free(ans->body);
                ans->body = why;
                ans->len = strlen(why);
            }
            rc = REFUSED;
            break;
        }
        lt_serve_answer_free(ans);
        unload(p, w, victim);
        release(m, p, victim);
    }
    free(body);
    return rc;
}

/* The call on worker w: load if need be, then invoke. */
static int call_worker(lt_serve__program_models *m, lt_serve_program *p, model_entry *e, int w,
                       unsigned gen, const lt_serve_call *call, lt_serve_answer *ans,
                       lt_err *err)
{
    char *path = lt_xasprintf("/models/%s/invoke", e->name);
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (claim_load(m, e, w, gen)) {
            rc = load(m, p, e, w, gen, call, ans, err);
            load_done(m, e, w, gen, rc == LOADED);
            if (rc == REFUSED) {
                rc = 0;
                break;
            }
            if (rc) break;
        }
        rc = lt_serve__program_send(p, w, "POST", path, call, ans, err);
        if (rc || ans->status != 404 || attempt == 1) break;
        lt_serve_answer_free(ans); /* it lost the model: load it again */
        set_unloaded(m, e, w);
    }
    free(path);
    return rc;
}

int lt_serve__program_models_invoke(lt_serve__program_models *m, lt_serve_program *p,
                                    const char *target, const lt_serve_call *call,
                                    lt_serve_answer *ans, lt_err *err)
{
    memset(ans, 0, sizeof *ans);
    int rc = lt_serve__mme_check_target(target, err);
    model_entry *e = NULL;
    if (!rc) rc = acquire(m, p, target, &e, err);
    if (rc) return rc;
    lt_serve_call with_target = *call;
    with_target.target_model = target;
    int n = lt_serve__program_workers(p);
    unsigned home = e->home % (unsigned)n;
    int tried = 0;
    rc = LT_EIO;
    for (int k = 0; k < n && rc == LT_EIO; k++) {
        int w = (int)((home + (unsigned)k) % (unsigned)n);
        unsigned gen = lt_serve__program_worker_ready(p, w);
        if (!gen) continue;
        tried++;
        lt_err_clear(err);
        rc = call_worker(m, p, e, w, gen, &with_target, ans, err);
    }
    if (!tried)
        lt_err_set(err, LT_EIO, "the multi-model container has no worker ready (all %d are "
                                "starting or restarting)", n);
    release(m, p, e);
    return rc;
}
