/* Private to serve: what an endpoint serves right now (a reference-counted set of loaded
 * variants, swapped whole on an update), the registry of endpoints, and the loader. */
#ifndef LT_SERVE_INTERNAL_H
#define LT_SERVE_INTERNAL_H

#include "serve/serve.h"

#include "algo/algo.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct lt_serve_variant {
    char *name;
    double weight;
    int instances;
    const lt_algo *algo;
    lt_algo_model *model;
} lt_serve_variant;

/* Everything one endpoint serves between two updates. Readers hold a reference. */
typedef struct lt_serve_set {
    atomic_int refs;
    char *config; /* the endpoint config it was built from */
    char *dir;    /* where its models were unpacked; removed with the set */
    json_t *capture; /* the config's DataCaptureConfig, or NULL */
    lt_serve_variant *variants;
    size_t n;
    double total_weight;
} lt_serve_set;

typedef struct lt_serve_slot {
    char *endpoint;
    lt_serve_set *set; /* NULL while nothing serves */
} lt_serve_slot;

typedef struct lt_serve_capture lt_serve_capture;

typedef struct lt_serve_task {
    char *endpoint;
    char *action;
    struct lt_serve_task *next;
} lt_serve_task;

struct lt_serve {
    lt_store *store;
    lt_blob *blob;
    char *data_dir;
    char account_id[16];

    pthread_rwlock_t lock; /* guards slots and each slot's set pointer */
    lt_serve_slot *slots;
    size_t n_slots;

    pthread_t worker;
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    lt_serve_task *head, *tail;
    bool closing;
    lt_serve_capture *capture;
};

/* The set an endpoint serves, with a reference for the caller (NULL when none). */
lt_serve_set *lt_serve__acquire(lt_serve *serve, const char *endpoint);
void lt_serve__set_release(lt_serve_set *set);

/* Builds what the endpoint's stored state asks for (its config, its desired weights and
 * counts) and records the outcome in the endpoint's document: InService with the current
 * variants, or Failed / back to InService with FailureReason. *set is the new set (NULL on
 * failure). */
int lt_serve__load(lt_serve *serve, const char *endpoint, const lt_serve_set *serving,
                   lt_serve_set **set, lt_err *err);

/* capture.c: data capture */
int lt_serve__capture_open(lt_serve *serve, lt_err *err);
void lt_serve__capture_close(lt_serve *serve);
/* Whether this invocation is in the sampled share. */
bool lt_serve__capture_sampled(const json_t *cfg);
/* Queues one record (formatting it on the calling thread). */
void lt_serve__capture(lt_serve *serve, const json_t *cfg, const char *endpoint,
                       const char *variant, const lt_serve_request *req, const char *out_type,
                       const char *out, size_t out_len);

#endif
