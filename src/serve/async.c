/* Asynchronous inference (InvokeEndpointAsync on an endpoint whose config has
 * AsyncInferenceConfig). A request names its input with InputLocation, an S3 object; it is
 * checked, stored as an "async-invocation" resource (so a restart goes on with it) and
 * answered 202 with its InferenceId and OutputLocation at once.
 *
 * ASYNC_WORKERS threads work the queue off in order of arrival, each endpoint at most
 * ClientConfig.MaxConcurrentInvocationsPerInstance (default 4) times its instances at once:
 * read the input object, invoke the endpoint as InvokeEndpoint does (a serve program gets
 * 15 minutes to answer, SageMaker's default InvocationTimeoutSeconds), and write the answer
 * to <S3OutputPath>/<InferenceId>.out with the model's content type, or the error (the
 * runtime's JSON body: a ModelError with the container's status and message, an input that
 * could not be read, a request past its RequestTTLSeconds in the queue) to
 * <S3FailurePath or S3OutputPath>/<InferenceId>-error.out; then the stored request goes.
 * A request of an endpoint that is not serving yet (loading after a restart), or whose
 * serve program has no worker ready, waits and is tried again until its TTL; one whose
 * endpoint was deleted fails. A call cut short by shutdown stays queued and runs
 * again at the next start (inference is taken to be idempotent, as for InvokeEndpoint's
 * retries). */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    ASYNC_WORKERS = 4,
    TTL_MIN_S = 60,
    TTL_MAX_S = 21600, /* and the default: 6 hours */
    PER_INSTANCE_DEFAULT = 4,
    INFERENCE_ID_MAX = 64,
    WAIT_MS = 500, /* for an endpoint that is not serving yet */
};
#define ASYNC_KIND "async-invocation"
#define INPUT_LIMIT ((size_t)1 << 30) /* SageMaker's asynchronous payload limit, 1 GB */
#define ANSWER_TIMEOUT_MS ((int64_t)15 * 60 * 1000)

typedef struct async_item {
    char *key; /* the stored name, "<endpoint>/<inference id>" */
    char *endpoint;
    json_t *doc;
    int64_t not_before_ms; /* waits until then (its endpoint was not serving) */
    struct async_item *next;
} async_item;

typedef struct busy_count {
    char *endpoint;
    int n;
} busy_count;

struct lt_serve__async {
    pthread_t threads[ASYNC_WORKERS];
    int n_threads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    async_item *head, *tail;
    busy_count *busy;
    size_t n_busy;
    bool closing;
};

/* ---- replies ------------------------------------------------------------------------ */

static void reply_error(lt_serve_async_reply *r, const char *message)
{
    r->status = 400;
    r->error_type = "ValidationError";
    json_t *body = json_pack("{s:s, s:s}", "message", message, "Message", message);
    r->body = lt_json_dump(body);
    r->len = strlen(r->body);
    json_decref(body);
}

void lt_serve_async_reply_free(lt_serve_async_reply *reply)
{
    free(reply->body);
    free(reply->output_location);
    free(reply->failure_location);
    memset(reply, 0, sizeof *reply);
}

/* ---- the queue ---------------------------------------------------------------------- */

static void item_free(async_item *it)
{
    if (!it) return;
    free(it->key);
    free(it->endpoint);
    json_decref(it->doc);
    free(it);
}

static busy_count *busy_of(lt_serve__async *a, const char *endpoint)
{
    for (size_t i = 0; i < a->n_busy; i++)
        if (strcmp(a->busy[i].endpoint, endpoint) == 0) return &a->busy[i];
    a->busy = lt_xrealloc(a->busy, (a->n_busy + 1) * sizeof *a->busy);
    a->busy[a->n_busy] = (busy_count){lt_xstrdup(endpoint), 0};
    return &a->busy[a->n_busy++];
}

static void push(lt_serve__async *a, async_item *it)
{
    it->next = NULL;
    if (a->tail) a->tail->next = it;
    else a->head = it;
    a->tail = it;
}

/* How many of endpoint's requests may run at once now; 0 while it is not serving. */
static int endpoint_limit(lt_serve *s, const char *endpoint)
{
    lt_serve_set *set = lt_serve__acquire(s, endpoint);
    if (!set) return 0;
    int instances = 0;
    for (size_t i = 0; i < set->n; i++) instances += set->variants[i].instances;
    int64_t per = lt_json_int(json_object_get(set->async_config, "ClientConfig"),
                              "MaxConcurrentInvocationsPerInstance", PER_INSTANCE_DEFAULT);
    lt_serve__set_release_on_request(s, set);
    int64_t limit = per * (instances > 0 ? instances : 1);
    return limit > 0 ? (int)(limit < 100000 ? limit : 100000) : 1;
}

/* The first queued request that may run now, taken off the queue; called with the lock. */
static async_item *take(lt_serve *s, lt_serve__async *a, int64_t now, int64_t *wake_ms)
{
    async_item *prev = NULL;
    for (async_item *it = a->head; it; prev = it, it = it->next) {
        if (it->not_before_ms > now) {
            if (!*wake_ms || it->not_before_ms < *wake_ms) *wake_ms = it->not_before_ms;
            continue;
        }
        busy_count *b = busy_of(a, it->endpoint);
        /* An endpoint not serving (loading, or deleted) still gets one request at a time
         * looked at: run() fails it when it expired or its endpoint is gone, else puts it
         * back to wait. */
        if (b->n > 0) { /* the limit is at least 1: only a busy endpoint needs it */
            int limit = endpoint_limit(s, it->endpoint);
            if (b->n >= (limit > 0 ? limit : 1)) continue;
        }
        if (prev) prev->next = it->next;
        else a->head = it->next;
        if (a->tail == it) a->tail = prev;
        b->n++;
        return it;
    }
    return NULL;
}

/* ---- one request -------------------------------------------------------------------- */

static void forget(lt_serve *s, const async_item *it)
{
    lt_err err = {0};
    int rc = lt_store_resource_delete(s->store, ASYNC_KIND, it->key, &err);
    if (rc && rc != LT_ENOTFOUND)
        lt_log_warn("async inference %s: cannot drop the finished request: %s", it->key, err.msg);
}

/* Writes what went wrong to the failure location and drops the request. */
static void fail(lt_serve *s, const async_item *it, const char *type, const char *message)
{
    json_t *body = json_pack("{s:s, s:s, s:s}", "ErrorCode", type, "message", message,
                             "InferenceId", lt_json_str(it->doc, "InferenceId"));
    char *text = lt_json_dump(body);
    json_decref(body);
    const char *where = lt_json_str(it->doc, "FailureLocation");
    lt_err err = {0};
    if (lt_blob_uri_put_bytes(s->blob, where, text, strlen(text), "application/json", &err) != 0)
        lt_log_warn("async inference %s: cannot write %s: %s", it->key, where, err.msg);
    free(text);
    forget(s, it);
}

typedef enum { DONE, WAIT, REQUEUE } outcome;

static outcome run(lt_serve *s, const async_item *it)
{
    const json_t *d = it->doc;
    if (lt_now_ms() > lt_json_int(d, "DeadlineMs", 0)) {
        char *msg = lt_xasprintf("The request expired: it waited in the queue past its "
                                 "RequestTTLSeconds (%lld s).",
                                 (long long)lt_json_int(d, "RequestTTLSeconds", 0));
        fail(s, it, "ValidationError", msg);
        free(msg);
        return DONE;
    }
    lt_serve_set *set = lt_serve__acquire(s, it->endpoint);
    if (!set) {
        lt_store_resource res = {0};
        int rc = lt_store_resource_get(s->store, "endpoint", it->endpoint, &res, &(lt_err){0});
        lt_store_resource_clear(&res);
        if (rc != LT_ENOTFOUND) return WAIT; /* still loading */
        char *msg = lt_xasprintf("Endpoint %s was deleted before this request ran.",
                                 it->endpoint);
        fail(s, it, "ValidationError", msg);
        free(msg);
        return DONE;
    }
    lt_serve__set_release_on_request(s, set);
    lt_buf input;
    lt_buf_init(&input, INPUT_LIMIT);
    lt_err err = {0};
    const char *from = lt_json_str(d, "InputLocation");
    if (lt_blob_uri_get_bytes(s->blob, from, &input, &err) != 0) {
        char *msg = lt_xasprintf("Could not read the InputLocation %s: %s", from, err.msg);
        fail(s, it, "ValidationError", msg);
        free(msg);
        lt_buf_free(&input);
        return DONE;
    }
    lt_serve_request rq = {.endpoint = it->endpoint,
                           .content_type = lt_json_str(d, "ContentType"),
                           .accept = lt_json_str(d, "Accept"),
                           .custom_attributes = lt_json_str(d, "CustomAttributes"),
                           .inference_id = lt_json_str(d, "InferenceId"),
                           .body = input.data ? input.data : "",
                           .len = input.len,
                           .timeout_ms = ANSWER_TIMEOUT_MS};
    lt_serve_reply reply;
    lt_serve_invoke(s, &rq, &reply);
    lt_buf_free(&input);
    outcome o = DONE;
    if (reply.status == 503) {
        /* No worker ready (a serve program restarting): tried again until the TTL. Cut short
         * by shutdown: runs again at the next start. */
        o = atomic_load(&s->stopping) ? REQUEUE : WAIT;
    } else if (reply.status == 200) {
        const char *to = lt_json_str(d, "OutputLocation");
        if (lt_blob_uri_put_bytes(s->blob, to, reply.body, reply.len, reply.content_type,
                                  &err) != 0) {
            char *msg = lt_xasprintf("Could not write the OutputLocation %s: %s", to, err.msg);
            fail(s, it, "InternalFailure", msg);
            free(msg);
        } else {
            forget(s, it);
        }
    } else {
        json_t *body = NULL;
        const char *msg = reply.body ? reply.body : "";
        if (lt_json_parse(reply.body, reply.len, &body, NULL) == 0 && lt_json_str(body, "message"))
            msg = lt_json_str(body, "message");
        fail(s, it, reply.error_type ? reply.error_type : "ModelError", msg);
        json_decref(body);
    }
    lt_serve_reply_free(&reply);
    return o;
}

static void *worker_main(void *arg)
{
    lt_serve *s = arg;
    lt_serve__async *a = s->async;
    pthread_mutex_lock(&a->lock);
    while (!a->closing) {
        int64_t wake = 0;
        async_item *it = take(s, a, lt_now_ms(), &wake);
        if (!it) {
            int64_t until = wake ? wake : lt_now_ms() + 60 * 1000;
            struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
            pthread_cond_timedwait(&a->cond, &a->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&a->lock);
        outcome o = run(s, it);
        pthread_mutex_lock(&a->lock);
        busy_of(a, it->endpoint)->n--;
        if (o == WAIT) {
            it->not_before_ms = lt_now_ms() + WAIT_MS;
            push(a, it);
        } else {
            item_free(it); /* DONE, or REQUEUE: still stored for the next start */
        }
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ---- enqueue ------------------------------------------------------------------------ */

static char *join_path(const char *base, const char *name, const char *suffix)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    return lt_xasprintf("%.*s/%s%s", (int)n, base, name, suffix);
}

static int check_inference_id(const char *id, lt_err *err)
{
    size_t n = strlen(id);
    if (n == 0 || n > INFERENCE_ID_MAX)
        return lt_err_set(err, LT_EINVAL, "InferenceId must be 1 to %d characters long.",
                          INFERENCE_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f || (i == 0 && id[i] == ' '))
            return lt_err_set(err, LT_EINVAL,
                              "InferenceId '%s' has a control character or leading space at %zu.",
                              id, i);
    if (strchr(id, '/') || strstr(id, ".."))
        return lt_err_set(err, LT_EINVAL,
                          "InferenceId '%s' names an S3 object: it may not hold '/' or \"..\".",
                          id);
    return 0;
}

static int check_input(lt_serve *s, const char *uri, lt_err *err)
{
    if (!uri || !*uri)
        return lt_err_set(err, LT_EINVAL,
                          "InputLocation (X-Amzn-SageMaker-InputLocation) is required: the S3 "
                          "URI of the request's payload.");
    char *bucket = NULL, *key = NULL;
    int rc = lt_blob_uri_parse(uri, &bucket, &key, err);
    if (!rc && (!key || !*key))
        rc = lt_err_set(err, LT_EINVAL, "InputLocation %s names no object.", uri);
    lt_blob_object obj = {0};
    lt_err e = {0};
    if (!rc && lt_blob_object_stat(s->blob, bucket, key, &obj, &e) != 0)
        rc = lt_err_set(err, LT_EINVAL, "InputLocation %s cannot be read: %s", uri, e.msg);
    lt_blob_object_clear(&obj);
    free(bucket);
    free(key);
    return rc;
}

void lt_serve_invoke_async(lt_serve *s, const lt_serve_async_request *req,
                           lt_serve_async_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    lt_serve_set *set = lt_serve__acquire(s, req->endpoint);
    if (!set) {
        char *msg = lt_xasprintf("Endpoint %s of account %s not found.", req->endpoint,
                                 s->account_id);
        reply_error(reply, msg);
        free(msg);
        return;
    }
    json_t *cfg = json_incref(set->async_config);
    char *config = lt_xstrdup(set->config);
    lt_serve__set_release_on_request(s, set);
    lt_err err = {0};
    int rc = 0;
    if (!cfg)
        rc = lt_err_set(&err, LT_EINVAL,
                        "Endpoint %s is not an asynchronous endpoint: its endpoint config %s has "
                        "no AsyncInferenceConfig. Call it with InvokeEndpoint.",
                        req->endpoint, config);
    int64_t ttl = TTL_MAX_S;
    if (!rc && req->ttl_seconds && *req->ttl_seconds &&
        lt_parse_i64(req->ttl_seconds, TTL_MIN_S, TTL_MAX_S, &ttl, "RequestTTLSeconds", &err) != 0)
        rc = lt_err_set(&err, LT_EINVAL, "RequestTTLSeconds must be a whole number from %d to %d.",
                        TTL_MIN_S, TTL_MAX_S);
    char id[64 + 1];
    if (req->inference_id && *req->inference_id) {
        if (!rc) rc = check_inference_id(req->inference_id, &err);
        lt_str_copy(id, sizeof id, req->inference_id);
    } else {
        lt_uuid4(id);
    }
    if (!rc) rc = check_input(s, req->input_location, &err);
    if (rc) {
        reply_error(reply, err.msg);
        json_decref(cfg);
        free(config);
        return;
    }
    const json_t *out = json_object_get(cfg, "OutputConfig");
    const char *output_path = lt_json_str(out, "S3OutputPath");
    const char *failure_path = lt_json_str(out, "S3FailurePath");
    char *output = join_path(output_path, id, ".out");
    char *failure = join_path(failure_path ? failure_path : output_path, id, "-error.out");
    int64_t now = lt_now_ms();
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "EndpointName", req->endpoint,
                            "InferenceId", id, "InputLocation", req->input_location,
                            "OutputLocation", output, "FailureLocation", failure,
                            "RequestTTLSeconds", (json_int_t)ttl, "DeadlineMs",
                            (json_int_t)(now + ttl * 1000));
    if (req->content_type && *req->content_type)
        json_object_set_new(doc, "ContentType", json_string(req->content_type));
    if (req->accept && *req->accept) json_object_set_new(doc, "Accept", json_string(req->accept));
    if (req->custom_attributes && *req->custom_attributes)
        json_object_set_new(doc, "CustomAttributes", json_string(req->custom_attributes));
    char *key = lt_xasprintf("%s/%s", req->endpoint, id);
    const char *region = getenv("LATHE_REGION");
    char *arn = lt_xasprintf("arn:aws:sagemaker:%s:%s:%s/%s", region ? region : "us-east-1",
                             s->account_id, ASYNC_KIND, key);
    char *text = lt_json_dump(doc);
    lt_store_resource res = {.kind = ASYNC_KIND, .name = key, .arn = arn, .status = "Queued",
                             .parent = (char *)req->endpoint, .creation_ms = now,
                             .modified_ms = now, .doc = text};
    rc = lt_store_resource_create(s->store, &res, &err);
    free(text);
    free(arn);
    if (rc == LT_ECONFLICT) {
        char *msg = lt_xasprintf("InferenceId %s is already queued for endpoint %s.", id,
                                 req->endpoint);
        reply_error(reply, msg);
        free(msg);
    } else if (rc) {
        reply->status = 500;
        reply->error_type = "InternalFailure";
        json_t *body = json_pack("{s:s}", "message", err.msg);
        reply->body = lt_json_dump(body);
        reply->len = strlen(reply->body);
        json_decref(body);
    } else {
        async_item *it = lt_xcalloc(1, sizeof *it);
        it->key = key;
        key = NULL;
        it->endpoint = lt_xstrdup(req->endpoint);
        it->doc = json_incref(doc);
        lt_serve__async *a = s->async;
        pthread_mutex_lock(&a->lock);
        push(a, it);
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        json_t *body = json_pack("{s:s}", "InferenceId", id);
        reply->status = 202;
        reply->body = lt_json_dump(body);
        reply->len = strlen(reply->body);
        json_decref(body);
        reply->output_location = output;
        reply->failure_location = failure;
        output = failure = NULL;
    }
    free(key);
    free(output);
    free(failure);
    json_decref(doc);
    json_decref(cfg);
    free(config);
}

/* ---- open and close ----------------------------------------------------------------- */

static int collect_item(void *ctx, const lt_store_resource *res, lt_err *err)
{
    lt_serve__async *a = ctx;
    json_t *doc = NULL;
    if (lt_json_parse(res->doc, strlen(res->doc), &doc, err) != 0) {
        lt_log_warn("async inference %s: stored request unreadable; skipped", res->name);
        return 0;
    }
    async_item *it = lt_xcalloc(1, sizeof *it);
    it->key = lt_xstrdup(res->name);
    it->endpoint = lt_xstrdup(lt_json_str(doc, "EndpointName") ? lt_json_str(doc, "EndpointName")
                                                                : "");
    it->doc = doc;
    push(a, it);
    return 0;
}

int lt_serve__async_open(lt_serve *s, lt_err *err)
{
    lt_serve__async *a = lt_xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    s->async = a;
    char *token = NULL;
    int rc = 0;
    do { /* what was queued before a restart, oldest first */
        lt_store_list_params p = {.kind = ASYNC_KIND, .sort_by = LT_STORE_SORT_CREATION_TIME,
                                  .limit = 1000, .next_token = token};
        char *next = NULL;
        rc = lt_store_resource_list(s->store, &p, collect_item, a, &next, err);
        free(token);
        token = next;
    } while (!rc && token);
    free(token);
    for (int i = 0; i < ASYNC_WORKERS && !rc; i++) {
        if (pthread_create(&a->threads[i], NULL, worker_main, s) != 0)
            rc = lt_err_set(err, LT_ENOMEM, "cannot start the asynchronous inference threads");
        else
            a->n_threads++;
    }
    return rc;
}

void lt_serve__async_close(lt_serve *s)
{
    lt_serve__async *a = s->async;
    if (!a) return;
    pthread_mutex_lock(&a->lock);
    a->closing = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    for (int i = 0; i < a->n_threads; i++) pthread_join(a->threads[i], NULL);
    for (async_item *it = a->head, *n; it; it = n) {
        n = it->next;
        item_free(it);
    }
    for (size_t i = 0; i < a->n_busy; i++) free(a->busy[i].endpoint);
    free(a->busy);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    free(a);
    s->async = NULL;
}
