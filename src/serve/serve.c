/* The endpoint registry and its loaders: notifications and the start-up reconcile queue
 * loads, a loader builds each new set off the request path and swaps it in. Loaders run
 * different endpoints' tasks side by side and one endpoint's tasks in order. */
#include "serve/serve_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void lt_serve__variant_clear(lt_serve_variant *v)
{
    /* Serve programs stop before their model directories are removed with the set. */
    for (size_t c = 0; c < v->n_containers; c++) lt_serve_program_close(v->containers[c].program);
    for (size_t c = 0; c < v->n_containers; c++) {
        if (v->containers[c].model) v->containers[c].algo->free(v->containers[c].model);
        lt_serve__mme_free(v->containers[c].mme);
        lt_serve__program_models_free(v->containers[c].models);
        free(v->containers[c].name);
    }
    free(v->containers);
    free(v->name);
    json_decref(v->serverless);
    memset(v, 0, sizeof *v);
}

static void set_free(lt_serve_set *set)
{
    for (size_t i = 0; i < set->n; i++) lt_serve__variant_clear(&set->variants[i]);
    free(set->variants);
    if (set->shadow) lt_serve__variant_clear(set->shadow);
    free(set->shadow);
    json_decref(set->shadow_deployed);
    if (set->dir) lt_rm_rf(set->dir, &(lt_err){0});
    free(set->dir);
    json_decref(set->capture);
    json_decref(set->async_config);
    json_decref(set->deployed);
    free(set->config);
    free(set);
}

void lt_serve__set_release(lt_serve_set *set)
{
    if (set && atomic_fetch_sub(&set->refs, 1) == 1) set_free(set);
}

void lt_serve__set_release_on_request(lt_serve *s, lt_serve_set *set)
{
    if (!set || atomic_fetch_sub(&set->refs, 1) != 1) return;
    pthread_mutex_lock(&s->queue_lock);
    set->retired_next = s->retired;
    s->retired = set;
    pthread_cond_broadcast(&s->queue_cond);
    pthread_mutex_unlock(&s->queue_lock);
}

/* Frees the sets requests retired; called with queue_lock held, returns with it held. */
static void free_retired(lt_serve *s)
{
    while (s->retired) {
        lt_serve_set *list = s->retired;
        s->retired = NULL;
        pthread_mutex_unlock(&s->queue_lock);
        while (list) {
            lt_serve_set *next = list->retired_next;
            set_free(list);
            list = next;
        }
        pthread_mutex_lock(&s->queue_lock);
    }
}

static lt_serve_slot *find_slot(lt_serve *s, const char *endpoint)
{
    for (size_t i = 0; i < s->n_slots; i++)
        if (strcmp(s->slots[i].endpoint, endpoint) == 0) return &s->slots[i];
    return NULL;
}

uint64_t lt_serve__random(void)
{
    static _Thread_local uint64_t x;
    if (!x) lt_random_bytes(&x, sizeof x);
    if (!x) x = 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

lt_serve_set *lt_serve__acquire(lt_serve *s, const char *endpoint)
{
    pthread_rwlock_rdlock(&s->lock);
    lt_serve_slot *slot = find_slot(s, endpoint);
    lt_serve_set *set = slot ? slot->set : NULL;
    if (slot && slot->shift_from && (int)(lt_serve__random() % 1000u) >= atomic_load(&slot->new_permille))
        set = slot->shift_from;
    if (set) atomic_fetch_add(&set->refs, 1);
    pthread_rwlock_unlock(&s->lock);
    return set;
}

bool lt_serve_in_process(lt_serve *s, const char *endpoint)
{
    /* Read under the lock, without taking a reference: the flag is fixed at load. */
    pthread_rwlock_rdlock(&s->lock);
    lt_serve_slot *slot = find_slot(s, endpoint);
    bool in_process = !slot || !slot->set ||
                      (slot->set->in_process && (!slot->shift_from || slot->shift_from->in_process));
    pthread_rwlock_unlock(&s->lock);
    return in_process;
}

bool lt_serve__shift_begin(lt_serve *s, const char *endpoint, lt_serve_set *set, int permille)
{
    pthread_rwlock_wrlock(&s->lock);
    lt_serve_slot *slot = find_slot(s, endpoint);
    lt_serve_set *drop = NULL;
    if (slot) { /* the slot's reference to the old set moves to shift_from */
        drop = slot->shift_from;
        slot->shift_from = slot->set;
        slot->set = set;
        atomic_store(&slot->new_permille, permille);
    }
    pthread_rwlock_unlock(&s->lock);
    lt_serve__set_release(drop);
    return slot != NULL;
}

void lt_serve__shift_to(lt_serve *s, const char *endpoint, int permille)
{
    pthread_rwlock_rdlock(&s->lock);
    lt_serve_slot *slot = find_slot(s, endpoint);
    if (slot) atomic_store(&slot->new_permille, permille);
    pthread_rwlock_unlock(&s->lock);
}

void lt_serve__shift_end(lt_serve *s, const char *endpoint)
{
    pthread_rwlock_wrlock(&s->lock);
    lt_serve_slot *slot = find_slot(s, endpoint);
    lt_serve_set *old = slot ? slot->shift_from : NULL;
    if (slot) slot->shift_from = NULL;
    pthread_rwlock_unlock(&s->lock);
    lt_serve__set_release(old);
}

bool lt_serve__wait_interrupted(lt_serve *s, const char *endpoint, int64_t ms)
{
    int64_t until = lt_now_ms() + ms;
    bool stop = false;
    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        stop = s->closing || atomic_load(&s->stopping);
        for (lt_serve_task *t = s->head; t && !stop; t = t->next)
            stop = strcmp(t->endpoint, endpoint) == 0;
        if (stop || lt_now_ms() >= until) break;
        struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
        pthread_cond_timedwait(&s->queue_cond, &s->queue_lock, &ts);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return stop;
}

static void swap_in(lt_serve *s, const char *endpoint, lt_serve_set *set)
{
    pthread_rwlock_wrlock(&s->lock);
    lt_serve_slot *slot = find_slot(s, endpoint);
    if (!slot) {
        s->slots = lt_xrealloc(s->slots, (s->n_slots + 1) * sizeof *s->slots);
        slot = &s->slots[s->n_slots++];
        slot->endpoint = lt_xstrdup(endpoint);
        slot->set = NULL;
        slot->shift_from = NULL;
        atomic_init(&slot->new_permille, 1000);
    }
    lt_serve_set *old = slot->set, *shifted = slot->shift_from;
    slot->set = set;
    slot->shift_from = NULL;
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_lock(&s->queue_lock);
    pthread_cond_broadcast(&s->swapped);
    pthread_mutex_unlock(&s->queue_lock);
    lt_serve__set_release(old);
    lt_serve__set_release(shifted);
}

static bool serves(lt_serve *s, const char *endpoint, const lt_serve_set *set)
{
    pthread_rwlock_rdlock(&s->lock);
    lt_serve_slot *slot = find_slot(s, endpoint);
    bool yes = slot && slot->set == set;
    pthread_rwlock_unlock(&s->lock);
    return yes;
}

lt_serve_set *lt_serve__wake(lt_serve *s, const char *endpoint, lt_serve_set *cold,
                             int timeout_s)
{
    if (!atomic_exchange(&cold->waking, true)) lt_serve_notify(s, endpoint, "start");
    int64_t until = lt_now_ms() + (int64_t)timeout_s * 1000;
    /* swap_in broadcasts under queue_lock after it changed the slot: looking at the slot
     * with queue_lock held before waiting loses no wake-up. */
    pthread_mutex_lock(&s->queue_lock);
    while (serves(s, endpoint, cold) && !s->closing && lt_now_ms() < until) {
        struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
        pthread_cond_timedwait(&s->swapped, &s->queue_lock, &ts);
    }
    pthread_mutex_unlock(&s->queue_lock);
    lt_serve_set *set = lt_serve__acquire(s, endpoint);
    if (set == cold) atomic_store(&cold->waking, false); /* the load failed: the next call asks again */
    if (set == cold) {
        lt_serve__set_release_on_request(s, set);
        set = NULL;
    }
    return set;
}

/* A cold copy of set: the same variants, names and weights, nothing loaded. */
static lt_serve_set *cold_copy(const lt_serve_set *set)
{
    lt_serve_set *c = lt_xcalloc(1, sizeof *c);
    atomic_init(&c->refs, 1);
    c->config = lt_xstrdup(set->config);
    c->capture = json_incref(set->capture);
    c->async_config = json_incref(set->async_config);
    c->variants = lt_xcalloc(set->n + 1, sizeof *c->variants);
    for (size_t i = 0; i < set->n; i++) {
        lt_serve_variant *v = &c->variants[i];
        v->name = lt_xstrdup(set->variants[i].name);
        v->weight = set->variants[i].weight;
        v->instances = 0;
        v->serverless = json_incref(set->variants[i].serverless);
        v->max_concurrency = set->variants[i].max_concurrency;
    }
    c->n = set->n;
    c->total_weight = set->total_weight;
    c->cold = true;
    c->in_process = false; /* a call waits for the load: off the server's threads */
    return c;
}

/* Serverless sets idle past the limit are swapped for cold copies (their models and serve
 * programs go with the last call that holds them). */
static bool idle_past(const lt_serve *s, const lt_serve_set *set, int64_t now)
{
    return set && set->scale_to_zero && !set->cold &&
           now - atomic_load(&set->last_used_ms) >= (int64_t)s->serverless_idle_s * 1000;
}

static void scale_idle_to_zero(lt_serve *s)
{
    int64_t now = lt_now_ms();
    /* A look under the read lock first: the write lock holds up every call. */
    bool any = false;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n_slots && !any; i++)
        any = !s->slots[i].shift_from && idle_past(s, s->slots[i].set, now);
    pthread_rwlock_unlock(&s->lock);
    if (!any) return;
    pthread_rwlock_wrlock(&s->lock);
    lt_serve_set **gone = lt_xcalloc(s->n_slots + 1, sizeof *gone);
    size_t n_gone = 0;
    for (size_t i = 0; i < s->n_slots; i++) {
        lt_serve_set *set = s->slots[i].set;
        if (s->slots[i].shift_from || !idle_past(s, set, now)) continue;
        s->slots[i].set = cold_copy(set);
        gone[n_gone++] = set;
        lt_log_info("endpoint %s: idle for %d s, scaled to zero", s->slots[i].endpoint,
                    s->serverless_idle_s);
    }
    pthread_rwlock_unlock(&s->lock);
    for (size_t i = 0; i < n_gone; i++) lt_serve__set_release(gone[i]);
    free(gone);
}

static void remove_slot(lt_serve *s, const char *endpoint)
{
    pthread_rwlock_wrlock(&s->lock);
    lt_serve_set *old = NULL, *shifted = NULL;
    for (size_t i = 0; i < s->n_slots; i++)
        if (strcmp(s->slots[i].endpoint, endpoint) == 0) {
            old = s->slots[i].set;
            shifted = s->slots[i].shift_from;
            free(s->slots[i].endpoint);
            s->slots[i] = s->slots[--s->n_slots];
            break;
        }
    pthread_rwlock_unlock(&s->lock);
    lt_serve__set_release(old);
    lt_serve__set_release(shifted);
}

static void run_task(lt_serve *s, const lt_serve_task *t)
{
    if (strcmp(t->action, "delete") == 0) {
        remove_slot(s, t->endpoint);
        return;
    }
    lt_serve_set *serving = lt_serve__acquire(s, t->endpoint);
    lt_serve_set *set = NULL;
    lt_serve__traffic traffic = {0};
    lt_err err = {0};
    if (lt_serve__load(s, t->endpoint, serving, &set, &traffic, &err) == 0 && set) {
        if (traffic.shifting) lt_serve__shift(s, t->endpoint, set, &traffic);
        else swap_in(s, t->endpoint, set);
    } else if (err.code && err.code != LT_ENOTFOUND)
        lt_log_warn("endpoint %s: %s", t->endpoint, err.msg);
    lt_serve__set_release(serving);
}

/* The first queued task whose endpoint no loader is working on, unlinked; NULL if none. */
static lt_serve_task *take_runnable(lt_serve *s)
{
    for (lt_serve_task **at = &s->head, *prev = NULL; *at; prev = *at, at = &(*at)->next) {
        bool busy = false;
        for (int i = 0; i < LT_SERVE__LOADERS && !busy; i++)
            busy = s->busy[i] && strcmp(s->busy[i], (*at)->endpoint) == 0;
        if (busy) continue;
        lt_serve_task *t = *at;
        *at = t->next;
        if (s->tail == t) s->tail = prev;
        return t;
    }
    return NULL;
}

typedef struct loader_arg {
    lt_serve *s;
    int index;
} loader_arg;

static void *loader_main(void *arg)
{
    lt_serve *s = ((loader_arg *)arg)->s;
    int me = ((loader_arg *)arg)->index;
    free(arg);
    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        free_retired(s);
        if (s->closing) break;
        lt_serve_task *t = take_runnable(s);
        if (!t && me == 0) { /* the first loader also scales idle serverless endpoints */
            int64_t until = lt_now_ms() + 1000;
            struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
            if (pthread_cond_timedwait(&s->queue_cond, &s->queue_lock, &ts) != 0) {
                pthread_mutex_unlock(&s->queue_lock);
                scale_idle_to_zero(s);
                pthread_mutex_lock(&s->queue_lock);
            }
            continue;
        }
        if (!t) {
            pthread_cond_wait(&s->queue_cond, &s->queue_lock);
            continue;
        }
        s->busy[me] = t->endpoint;
        pthread_mutex_unlock(&s->queue_lock);
        run_task(s, t);
        pthread_mutex_lock(&s->queue_lock);
        s->busy[me] = NULL;
        /* a task of this endpoint may wait for another loader */
        pthread_cond_broadcast(&s->queue_cond);
        free(t->endpoint);
        free(t->action);
        free(t);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

void lt_serve_notify(lt_serve *s, const char *endpoint, const char *action)
{
    lt_serve_task *t = lt_xcalloc(1, sizeof *t);
    t->endpoint = lt_xstrdup(endpoint);
    t->action = lt_xstrdup(action);
    pthread_mutex_lock(&s->queue_lock);
    if (s->tail) s->tail->next = t;
    else s->head = t;
    s->tail = t;
    pthread_cond_broadcast(&s->queue_cond);
    pthread_mutex_unlock(&s->queue_lock);
}

typedef struct names {
    char **items;
    size_t n;
} names;

static int collect_endpoint(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)err;
    names *l = ctx;
    l->items = lt_xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = lt_xstrdup(res->name);
    return 0;
}

/* After a restart: every endpoint that was serving (or on its way) is loaded again. */
static void reconcile(lt_serve *s)
{
    static const char *const statuses[] = {"InService", "Creating", "Updating"};
    for (size_t k = 0; k < 3; k++) {
        names l = {0};
        char *next = NULL;
        lt_err err = {0};
        lt_store_list_params params = {.kind = "endpoint", .status_equals = statuses[k], .limit = 1000};
        if (lt_store_resource_list(s->store, &params, collect_endpoint, &l, &next, &err) != 0)
            lt_log_warn("serve: listing endpoints: %s", err.msg);
        free(next);
        for (size_t i = 0; i < l.n; i++) {
            lt_serve_notify(s, l.items[i], "start");
            free(l.items[i]);
        }
        free(l.items);
    }
}

int lt_serve_open(lt_serve **out, lt_store *store, lt_blob *blob, const char *data_dir,
                  const char *account_id, lt_err *err)
{
    lt_serve *s = lt_xcalloc(1, sizeof *s);
    s->store = store;
    s->blob = blob;
    s->data_dir = lt_xstrdup(data_dir);
    snprintf(s->account_id, sizeof s->account_id, "%s", account_id ? account_id : "000000000000");
    const char *timeout = getenv("LATHE_SERVE_STARTUP_TIMEOUT_S");
    int64_t t = 0;
    if (timeout && lt_parse_i64(timeout, 1, 3600, &t, "LATHE_SERVE_STARTUP_TIMEOUT_S", NULL) == 0)
        s->startup_timeout_s = (int)t;
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->queue_lock, NULL);
    pthread_cond_init(&s->queue_cond, NULL);
    pthread_cond_init(&s->swapped, NULL);
    const char *idle = getenv("LATHE_SERVERLESS_IDLE_S");
    int64_t idle_s = 300;
    if (idle && lt_parse_i64(idle, 1, 86400, &idle_s, "LATHE_SERVERLESS_IDLE_S", NULL) != 0)
        idle_s = 300;
    s->serverless_idle_s = (int)idle_s;
    for (int i = 0; i < LT_SERVE__LOADERS; i++) {
        loader_arg *a = lt_xmalloc(sizeof *a);
        *a = (loader_arg){s, i};
        if (pthread_create(&s->loaders[i], NULL, loader_main, a) != 0) {
            free(a);
            lt_serve_close(s);
            return lt_err_set(err, LT_ENOMEM, "cannot start the endpoint runtime's threads");
        }
        s->n_loaders++;
    }
    int rc = lt_serve__capture_open(s, err);
    if (!rc) rc = lt_serve__async_open(s, err);
    if (!rc) rc = lt_serve__shadow_open(s, err);
    if (rc) {
        lt_serve_close(s);
        return rc;
    }
    reconcile(s);
    *out = s;
    return 0;
}

void lt_serve_interrupt(lt_serve *s)
{
    if (s) atomic_store(&s->stopping, true);
}

void lt_serve_close(lt_serve *s)
{
    if (!s) return;
    atomic_store(&s->stopping, true);
    lt_serve__async_close(s); /* its workers hold sets: they stop before the loaders */
    lt_serve__shadow_close(s); /* and so do the shadow variants' */
    pthread_mutex_lock(&s->queue_lock);
    s->closing = true;
    pthread_cond_broadcast(&s->queue_cond);
    pthread_cond_broadcast(&s->swapped);
    pthread_mutex_unlock(&s->queue_lock);
    for (int i = 0; i < s->n_loaders; i++) pthread_join(s->loaders[i], NULL);
    pthread_mutex_lock(&s->queue_lock);
    free_retired(s);
    pthread_mutex_unlock(&s->queue_lock);
    lt_serve__capture_close(s);
    for (lt_serve_task *t = s->head, *n; t; t = n) {
        n = t->next;
        free(t->endpoint);
        free(t->action);
        free(t);
    }
    for (size_t i = 0; i < s->n_slots; i++) {
        lt_serve__set_release(s->slots[i].set);
        lt_serve__set_release(s->slots[i].shift_from);
        free(s->slots[i].endpoint);
    }
    free(s->slots);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->queue_lock);
    pthread_cond_destroy(&s->queue_cond);
    pthread_cond_destroy(&s->swapped);
    free(s->data_dir);
    free(s);
}
