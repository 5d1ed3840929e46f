/* Private to serve: what an endpoint serves right now (a reference-counted set of loaded
 * variants, swapped whole on an update), the registry of endpoints, and the loader. */
#ifndef LT_SERVE_INTERNAL_H
#define LT_SERVE_INTERNAL_H

#include "serve/serve.h"

#include "algo/algo.h"
#include "exec/exec.h"

#include <pthread.h>
#include <stdatomic.h>

/* multi_model.c: the models of a built-in Mode MultiModel container, loaded on their
 * first call, and what multi-model serve programs share with it. */
typedef struct lt_serve__mme lt_serve__mme;
/* prefix: the container's ModelDataUrl; dir: scratch for unpacking; cache: keep a model
 * once its calls end (MultiModelConfig.ModelCacheSetting Enabled, the default). */
lt_serve__mme *lt_serve__mme_new(lt_blob *blob, const lt_algo *algo, const char *prefix,
                                 const char *dir, bool cache);
void lt_serve__mme_free(lt_serve__mme *m);
/* The model TargetModel target names, loaded on its first call; held until
 * lt_serve__mme_put. LT_EINVAL for a malformed target, LT_ENOTFOUND when no object is
 * there, else what loading gave; err says which, in words for the caller. */
int lt_serve__mme_get(lt_serve__mme *m, const char *target, lt_algo_model **model, lt_err *err);
void lt_serve__mme_put(lt_serve__mme *m, const lt_algo_model *model);
/* LT_EINVAL unless TargetModel t is 1 to 1024 printable characters and a relative key. */
int lt_serve__mme_check_target(const char *t, lt_err *err);
/* ModelDataUrl as a prefix ending in '/' (malloc'd). */
char *lt_serve__mme_prefix(const char *model_data_url);
/* Whether a container's MultiModelConfig keeps models between calls. */
bool lt_serve__mme_cache_enabled(const json_t *container);
/* Downloads the model.tar.gz at uri and unpacks it into dir (made). LT_ENOTFOUND when no
 * object is there; err says what failed in the runtime's words ("Failed to download
 * model data (...)"). */
int lt_serve__mme_fetch(lt_blob *blob, const char *uri, const char *dir, lt_err *err);

/* program_models.c: a multi-model serve program's models, under SageMaker's multi-model
 * container contract: each TargetModel is fetched once into the directory the workers see
 * at /opt/ml/models, loaded into a worker with POST /models and called with POST
 * /models/<name>/invoke. */
typedef struct lt_serve__program_models lt_serve__program_models;
/* dir: the host directory bound at /opt/ml/models (made). */
lt_serve__program_models *lt_serve__program_models_new(lt_blob *blob, const char *prefix,
                                                       const char *dir, bool cache);
/* Frees the bookkeeping; call after the program is closed (nothing is unloaded). */
void lt_serve__program_models_free(lt_serve__program_models *m);
/* One call to the model TargetModel target names, on a worker of p (loading it there
 * first when it is not). rc 0: ans holds the container's answer, or its refusal to load
 * the model (any status). LT_EINVAL / LT_ENOTFOUND: the target is malformed or cannot be
 * fetched; LT_EIO: no worker is ready or none could be reached; LT_ELIMIT: as
 * lt_serve_program_invoke. */
int lt_serve__program_models_invoke(lt_serve__program_models *m, lt_serve_program *p,
                                    const char *target, const lt_serve_call *call,
                                    lt_serve_answer *ans, lt_err *err);

/* program.c and proxy.c: single workers, for the multi-model contract. */
int lt_serve__program_workers(const lt_serve_program *p);
/* The worker's generation (it grows each time the worker starts) while it is ready, else
 * 0: a model loaded in generation g is loaded in that process only. */
unsigned lt_serve__program_worker_ready(const lt_serve_program *p, int worker);
/* One request to one worker, without trying another: method "GET", "POST" (call's body)
 * or "DELETE". As lt_serve_program_invoke otherwise; LT_EIO when the worker is not ready
 * or cannot be reached. */
int lt_serve__program_send(lt_serve_program *p, int worker, const char *method,
                           const char *path, const lt_serve_call *call, lt_serve_answer *ans,
                           lt_err *err);

/* One container of a variant: a built-in algorithm's model, in-process, or a serve program. */

typedef struct lt_serve_container {
    char *name; /* "primary", or the pipeline container's hostname */
    const lt_algo *algo;
    lt_algo_model *model;      /* a single built-in model */
    lt_serve__mme *mme;        /* or, for Mode MultiModel, the models TargetModel names */
    lt_serve_program *program; /* or a serve program */
    lt_serve__program_models *models; /* with it, for Mode MultiModel */
} lt_serve_container;

typedef struct lt_serve_variant {
    char *name;
    double weight;
    int instances;
    json_t *serverless;  /* its ServerlessConfig, or NULL for instances */
    int max_concurrency; /* a serverless variant's MaxConcurrency; 0: no limit */
    atomic_int in_flight; /* its calls now, counted when max_concurrency is set */
    lt_serve_container *containers; /* a serial inference pipeline when n_containers > 1 */
    size_t n_containers;
    int64_t answer_timeout_ms; /* for a serve program's answer */
    size_t max_answer_bytes;
} lt_serve_variant;

/* model.c: what loading a model's containers needs. */
typedef struct lt_serve__model_ctx {
    lt_store *store;
    lt_blob *blob;
    const char *data_dir;
    const char *log_group;  /* serve programs' output: "/aws/sagemaker/Endpoints/<endpoint>" */
    const char *log_prefix; /* a worker's stream: "<prefix>-<container>-worker-<k>" */
    int startup_timeout_s;
    int64_t answer_timeout_ms;
    size_t max_answer_bytes;
    uint64_t memory_bytes; /* each serve program worker's limit; 0: none */
    int vcpus;             /* likewise; 0: none */
    const atomic_bool *cancel; /* see lt_serve_program_params */
    const json_t *environment; /* set in every serve program over its container's own
                                  Environment (a transform job's); may be NULL */
} lt_serve__model_ctx;

/* Loads model_name's containers under dir into out (named variant, instances workers per
 * serve program) and appends each one's DeployedImages entry to deployed (may be NULL).
 * On failure out holds what was loaded so far: clear it with lt_serve__variant_clear. */
int lt_serve__model_load(const lt_serve__model_ctx *ctx, const char *model_name,
                         const char *variant, int instances, const char *dir,
                         lt_serve_variant *out, json_t *deployed, lt_err *err);
/* invoke.c: runs one request through a variant's containers into reply (its status 200,
 * or the runtime error the failing container caused). */
void lt_serve__variant_invoke(const lt_serve_variant *v, const lt_serve_request *req,
                              lt_serve_reply *reply);

/* Everything one endpoint serves between two updates. Readers hold a reference. */
typedef struct lt_serve_set {
    atomic_int refs;
    char *config; /* the endpoint config it was built from */
    char *dir;    /* where its models were unpacked; removed with the set */
    json_t *capture; /* the config's DataCaptureConfig, or NULL */
    json_t *async_config; /* the config's AsyncInferenceConfig, or NULL */
    lt_serve_variant *variants;
    size_t n;
    double total_weight;
    bool in_process; /* no container is a serve program or multi-model (set at load) */
    /* Serverless: a set whose variants are all serverless without ProvisionedConcurrency
     * is replaced by a cold one (its variants named, nothing loaded) once idle for
     * LATHE_SERVERLESS_IDLE_S; a call to a cold set loads the endpoint again and waits. */
    bool scale_to_zero;
    bool cold;
    json_t *deployed;            /* per variant, its DeployedImages (for the endpoint's record) */
    /* A shadow variant (ShadowProductionVariants) and the share of calls replicated to it
     * (shadow.c); NULL when the config has none. It is not one of variants: no call is
     * routed to it, and its answers never reach a caller. */
    lt_serve_variant *shadow;
    json_t *shadow_deployed;
    double shadow_share;
    atomic_bool waking;          /* a cold set's load was asked for */
    _Atomic int64_t last_used_ms; /* of a set that may scale to zero */
    struct lt_serve_set *retired_next; /* in lt_serve.retired once its last user is gone */
} lt_serve_set;

typedef struct lt_serve_slot {
    char *endpoint;
    lt_serve_set *set; /* NULL while nothing serves */
    /* While an update shifts traffic in steps (CANARY, LINEAR): the old set, which takes
     * the calls the new one's share (new_permille of 1000) does not. */
    lt_serve_set *shift_from;
    atomic_int new_permille;
} lt_serve_slot;

/* How an UpdateEndpoint's DeploymentConfig moves calls to the new fleet once it is in
 * service: all at once, or (shifting) first_permille of them, then step_permille more after
 * each wait_s until it has them all. */
typedef struct lt_serve__traffic {
    bool shifting;
    const char *type; /* "CANARY" or "LINEAR", for the log */
    int first_permille, step_permille;
    int wait_s;
} lt_serve__traffic;

typedef struct lt_serve_capture lt_serve_capture;
typedef struct lt_serve__async lt_serve__async;
typedef struct lt_serve__shadow lt_serve__shadow;

typedef struct lt_serve_task {
    char *endpoint;
    char *action;
    struct lt_serve_task *next;
} lt_serve_task;

enum { LT_SERVE__DOWN, LT_SERVE__STARTING, LT_SERVE__READY };
enum { LT_SERVE__LOADERS = 4 };
enum { LT_SERVE__TAIL_LINES = 8 };

/* program.c: one worker process of a serve program; state and port are read by request
 * threads, everything else belongs to the monitor thread. */
typedef struct lt_serve__worker {
    int index; /* 1-based */
    atomic_int state;
    atomic_uint generation; /* starts so far */
    atomic_int port;
    pid_t pid; /* 0 when none runs */
    int out_fd;
    int64_t started_ms, next_ms;
    int ping_failures;
    lt_exec_service_limits limits; /* its cgroups, removed once it is reaped */
    lt_exec_log *log;
    char *tail[LT_SERVE__TAIL_LINES];
    size_t tail_next;
} lt_serve__worker;

struct lt_serve_program {
    char *label, *program_dir, *model_dir, *models_dir, *data_dir;
    json_t *environment;
    int startup_timeout_s;
    uint64_t memory_bytes;
    int vcpus;
    unsigned id; /* names its workers' cgroups */
    const atomic_bool *cancel;
    lt_serve__worker *workers;
    int n;
    atomic_uint next; /* round-robin */
    atomic_int restarts;
    atomic_bool closing;
    pthread_t monitor;
    bool monitor_running;
    void *ping; /* the monitor's libcurl handle */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool started;      /* the startup outcome is known (under lock) */
    char failure[2048]; /* why startup failed; empty when it did not */
};

struct lt_serve {
    lt_store *store;
    lt_blob *blob;
    char *data_dir;
    char account_id[16];
    int startup_timeout_s; /* LATHE_SERVE_STARTUP_TIMEOUT_S, read at open; 0: 240 s */

    pthread_rwlock_t lock; /* guards slots and each slot's set pointer */
    lt_serve_slot *slots;
    size_t n_slots;

    /* Loaders: a task runs on any free one, but never beside another task of its own
     * endpoint, so one endpoint's tasks keep their order while a slow load (a serve
     * program taking minutes to answer /ping) holds up no other endpoint. */
    pthread_t loaders[LT_SERVE__LOADERS];
    int n_loaders; /* started (joined at close) */
    const char *busy[LT_SERVE__LOADERS]; /* the endpoint each loader works on, or NULL */
    pthread_mutex_t queue_lock; /* guards the task queue, busy and retired */
    pthread_cond_t queue_cond;  /* broadcast: waiters wait for different things */
    lt_serve_task *head, *tail;
    lt_serve_set *retired; /* sets a request dropped last, for a loader to free */
    bool closing;
    atomic_bool stopping; /* set first thing at close: loads still starting programs give up */
    lt_serve_capture *capture;
    lt_serve__async *async;
    lt_serve__shadow *shadow;
    int serverless_idle_s;   /* LATHE_SERVERLESS_IDLE_S, read at open (default 300) */
    pthread_cond_t swapped;  /* with queue_lock: broadcast when a slot's set changes */
};

/* Stops a variant's serve programs and frees its models. */
void lt_serve__variant_clear(lt_serve_variant *v);

/* A call to a cold (scaled to zero) set: asks for the endpoint's load once and waits
 * until the slot serves another set (or timeout_s passes). The set serving then, with a
 * reference, or NULL. */
lt_serve_set *lt_serve__wake(lt_serve *serve, const char *endpoint, lt_serve_set *cold,
                             int timeout_s);

/* A per-thread xorshift draw (no lock): splits calls across variants and fleets. */
uint64_t lt_serve__random(void);

/* The set an endpoint serves, with a reference for the caller (NULL when none; while an
 * update shifts traffic, the old or the new set, drawn by the new one's share). */
lt_serve_set *lt_serve__acquire(lt_serve *serve, const char *endpoint);
void lt_serve__set_release(lt_serve_set *set);
/* The same from a request thread: a set it drops last (an update or a delete swapped it
 * out while the request ran) is freed by a loader thread, so no request waits for a
 * serve program to stop (up to its SIGTERM grace). */
void lt_serve__set_release_on_request(lt_serve *s, lt_serve_set *set);

/* Builds what the endpoint's stored state asks for (its config, its desired weights and
 * counts) and records the outcome in the endpoint's document: InService with the current
 * variants, or Failed / back to InService with FailureReason. *set is the new set (NULL on
 * failure). */
int lt_serve__load(lt_serve *serve, const char *endpoint, const lt_serve_set *serving,
                   lt_serve_set **set, lt_serve__traffic *traffic, lt_err *err);
/* An update that shifts traffic (traffic->shifting after lt_serve__load, which then leaves
 * the endpoint Updating) records the new set InService with this once it has every call. */
int lt_serve__record_serving(lt_serve *serve, const char *endpoint, const lt_serve_set *set,
                             lt_err *err);

/* shift.c: the plan an endpoint's stored update asks for (shifting false unless an
 * UpdateEndpoint's DeploymentConfig asked for CANARY or LINEAR), for a new set. */
void lt_serve__traffic_plan(const json_t *endpoint_doc, const lt_serve_set *set,
                            lt_serve__traffic *out);
/* Runs the plan: the new set takes its share of calls beside the old one serving, more
 * after each wait, then all of them; the endpoint is recorded InService. A task queued
 * for the endpoint (a DeleteEndpoint) or the server closing cuts the waits short. */
void lt_serve__shift(lt_serve *serve, const char *endpoint, lt_serve_set *set,
                     const lt_serve__traffic *plan);
/* serve.c, for shift.c: the slot's new set beside its old one, with permille of the
 * calls (false, set untouched, when the endpoint has no slot); the new share; the old set
 * dropped. */
bool lt_serve__shift_begin(lt_serve *serve, const char *endpoint, lt_serve_set *set, int permille);
void lt_serve__shift_to(lt_serve *serve, const char *endpoint, int permille);
void lt_serve__shift_end(lt_serve *serve, const char *endpoint);
/* Waits up to ms for the server to close or a task for endpoint to be queued; true when
 * either happened. */
bool lt_serve__wait_interrupted(lt_serve *serve, const char *endpoint, int64_t ms);

/* async.c: asynchronous inference. Open loads what the store still has queued (a restart
 * goes on with it) and starts the workers; close stops them, leaving what is unfinished
 * queued in the store. */
int lt_serve__async_open(lt_serve *serve, lt_err *err);
void lt_serve__async_close(lt_serve *serve);

/* shadow.c: shadow variants. Open starts the workers; close stops them, dropping the
 * copies not yet served. Whether this call is one the set's shadow gets a copy of; the
 * copy, queued (dropped when the shadow is too far behind). */
int lt_serve__shadow_open(lt_serve *serve, lt_err *err);
void lt_serve__shadow_close(lt_serve *serve);
bool lt_serve__shadow_sampled(const lt_serve_set *set);
void lt_serve__shadow_submit(lt_serve *serve, lt_serve_set *set, const lt_serve_request *req);

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
