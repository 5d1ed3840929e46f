/* The transform runner: the body of `lathe job run transform NAME`. A built-in algorithm's
 * model is loaded once, in this process (any other model, a serve program or a pipeline,
 * through serve's lt_serve_batch); every input object is transformed whole
 * (transform_batch.c: split, batched, predicted, DataProcessing applied) and written as
 * <S3OutputPath>/<key relative to the input prefix>.out in the Accept's format, records in
 * input order. A record the model refuses fails the job with the object and the record named;
 * outputs already written stay. Stop is seen between objects and between the batches of
 * one object (an object stopped part way writes no output). */
#include "algo/algo.h"
#include "cli/cli_internal.h"
#include "cli/transform_internal.h"
#include "exec/exec.h"
#include "serve/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct transform {
    lt_cli__data *data;
    const char *name;
    json_t *doc;
    const lt_algo *algo;
    lt_algo_model *model;
    lt_serve_batch *batch; /* a model that is not one built-in algorithm's: through serve */
    char *dir;
    lt_cli__transform tx;
} transform;

typedef struct end_state {
    const char *status;
    const char *failure;
    bool started;
} end_state;

static void apply_state(json_t *doc, void *ctx)
{
    const end_state *e = ctx;
    int64_t now = lt_now_ms();
    if (e->started) json_object_set_new(doc, "TransformStartTime", lt_json_epoch_ms(now));
    if (e->status) {
        json_object_set_new(doc, "TransformJobStatus", json_string(e->status));
        json_object_set_new(doc, "TransformEndTime", lt_json_epoch_ms(now));
    }
    if (e->failure) {
        char cut[1025]; /* FailureReason is at most 1024 characters */
        snprintf(cut, sizeof cut, "%s", e->failure);
        json_object_set_new(doc, "FailureReason", json_string(cut));
    }
}

static int set_state(transform *t, const end_state *e, lt_err *err)
{
    return lt_cli__doc_update(t->data->store, LT_STORE_KIND_TRANSFORM_JOB, t->name, NULL,
                              "TransformJobStatus", apply_state, (void *)e, err);
}

static bool stop_asked(void *ctx)
{
    transform *t = ctx;
    json_t *doc = NULL;
    bool stop = false;
    if (lt_store_resource_doc(t->data->store, LT_STORE_KIND_TRANSFORM_JOB, t->name, &doc, &(lt_err){0}) == 0) {
        const char *s = lt_json_str(doc, "TransformJobStatus");
        stop = s && strcmp(s, "Stopping") == 0;
    }
    json_decref(doc);
    return stop;
}

static int load_model(transform *t, lt_err *err)
{
    const char *model_name = lt_json_str(t->doc, "ModelName");
    json_t *model = NULL, *spec = NULL;
    char *spec_name = lt_xasprintf("model/%s", model_name);
    int rc = lt_store_resource_doc(t->data->store, "model", model_name, &model, err);
    if (!rc) rc = lt_store_resource_doc(t->data->store, LT_STORE_KIND_JOB_SPEC, spec_name, &spec, err);
    free(spec_name);
    const char *algorithm = rc ? NULL : lt_json_str(json_array_get(json_object_get(spec, "Image"), 0), "Algorithm");
    t->algo = algorithm ? lt_algo_find(algorithm) : NULL;
    if (!rc && !t->algo)
        rc = lt_err_set(err, LT_EINVAL, "model \"%s\" is not a built-in algorithm's", model_name);
    char *mdir = lt_xasprintf("%s/model", t->dir);
    char *tarball = lt_xasprintf("%s/model.tar.gz", t->dir);
    if (!rc) rc = lt_mkdir_p(mdir, 0755, err);
    if (!rc)
        rc = lt_blob_uri_get_file(t->data->blob,
                                  lt_json_str(json_object_get(model, "PrimaryContainer"), "ModelDataUrl"),
                                  tarball, err);
    if (!rc) rc = lt_blob_unpack(tarball, mdir, err);
    if (!rc) rc = t->algo->load(mdir, &t->model, err);
    unlink(tarball);
    free(tarball);
    free(mdir);
    json_decref(spec);
    json_decref(model);
    return rc;
}

/* A bring-your-own model: its serve program(s) started as an endpoint would start them,
 * one worker per MaxConcurrentTransforms; what the program answers on
 * /execution-parameters fills in the job's unset BatchStrategy, MaxPayloadInMB and
 * MaxConcurrentTransforms. */
static int open_batch(transform *t, lt_err *err)
{
    char *work = lt_xasprintf("%s/model", t->dir);
    json_t *client = json_object_get(t->doc, "ModelClientConfig");
    lt_serve_batch_params p = {
        .store = t->data->store, .blob = t->data->blob, .data_dir = t->data->dir,
        .model_name = lt_json_str(t->doc, "ModelName"), .job_name = t->name, .work_dir = work,
        .workers = (int)lt_json_int(t->doc, "MaxConcurrentTransforms", 1),
        .answer_timeout_ms = lt_json_int(client, "InvocationsTimeoutInSeconds", 600) * 1000,
        .instance_type = lt_json_str(json_object_get(t->doc, "TransformResources"), "InstanceType"),
        .environment = json_object_get(t->doc, "Environment"),
        .max_retries = (int)lt_json_int(client, "InvocationsMaxRetries", 3),
    };
    int rc = lt_serve_batch_open(&t->batch, &p, err);
    free(work);
    const char *key;
    json_t *value;
    if (!rc)
        json_object_foreach((json_t *)lt_serve_batch_execution_parameters(t->batch), key, value)
            if (!json_object_get(t->doc, key)) json_object_set(t->doc, key, value);
    return rc;
}

static int transform_object(transform *t, const char *bucket, const char *key, const char *rel,
                            lt_err *err)
{
    lt_buf body, out;
    lt_buf_init(&body, (size_t)4 << 30);
    lt_buf_init(&out, (size_t)8 << 30);
    char *uri = lt_xasprintf("s3://%s/%s", bucket, key);
    int rc = lt_blob_uri_get_bytes(t->data->blob, uri, &body, err);
    /* TransformInput.CompressionType Gzip: each object is inflated before it is split. */
    const char *compression = lt_json_str(json_object_get(t->doc, "TransformInput"), "CompressionType");
    if (!rc && compression && strcmp(compression, "Gzip") == 0) {
        lt_buf plain;
        lt_buf_init(&plain, (size_t)4 << 30);
        lt_err gerr = {0};
        rc = lt_blob_gunzip(body.data ? body.data : "", body.len, &plain, &gerr);
        if (rc) rc = lt_err_set(err, rc, "%s (TransformInput.CompressionType Gzip): %s", uri, gerr.msg);
        lt_buf_free(&body);
        body = plain;
    }
    if (!rc) rc = lt_cli__transform_object(&t->tx, body.data ? body.data : "", body.len, uri, &out, err);
    const json_t *output = json_object_get(t->doc, "TransformOutput");
    const char *prefix = lt_json_str(output, "S3OutputPath");
    size_t pl = strlen(prefix);
    char *out_uri = lt_xasprintf("%s%s%s.out", prefix, pl && prefix[pl - 1] == '/' ? "" : "/", rel);
    const char *type = lt_algo_response_type(t->tx.algo, t->tx.accept);
    if (!rc) /* not when stopped part way (LT_CLI__TRANSFORM_STOPPED) */
        rc = lt_blob_uri_put_bytes(t->data->blob, out_uri, out.data ? out.data : "", out.len, type, err);
    free(out_uri);
    free(uri);
    lt_buf_free(&out);
    lt_buf_free(&body);
    return rc;
}

/* The job's settings, read once: every batch thread then only reads them. */
static int setup(transform *t, lt_err *err)
{
    lt_cli__transform *tx = &t->tx;
    const json_t *in = json_object_get(t->doc, "TransformInput");
    const json_t *output = json_object_get(t->doc, "TransformOutput");
    tx->content_type = lt_json_str(in, "ContentType");
    tx->accept = lt_json_str(output, "Accept");
    const char *split = lt_json_str(in, "SplitType");
    tx->split = !split || strcmp(split, "None") == 0 ? LT_CLI__SPLIT_NONE
                : strcmp(split, "Line") == 0        ? LT_CLI__SPLIT_LINE
                                                    : LT_CLI__SPLIT_RECORDIO;
    if (split && strcmp(split, "None") && strcmp(split, "Line") && strcmp(split, "RecordIO"))
        return lt_err_set(err, LT_EINVAL, "TransformInput.SplitType %s is not supported", split);
    const char *strategy = lt_json_str(t->doc, "BatchStrategy");
    tx->single_record = strategy && strcmp(strategy, "SingleRecord") == 0;
    const char *assemble = lt_json_str(output, "AssembleWith");
    tx->assemble_lines = assemble && strcmp(assemble, "Line") == 0;
    int64_t mb = lt_json_int(t->doc, "MaxPayloadInMB", 6);
    tx->max_payload_bytes = mb > 0 ? (size_t)mb << 20 : SIZE_MAX;
    /* Unset or 0: SageMaker asks a built-in algorithm's container (execution-parameters);
     * an in-process model answers one batch per CPU, each batch on one thread, which keeps
     * every CPU busy parsing, predicting and formatting without threads waiting on each
     * other. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) cpus = 1;
    int64_t concurrency = lt_json_int(t->doc, "MaxConcurrentTransforms", 0);
    /* A serve program that did not say (execution-parameters): SageMaker's default, 1. */
    if (concurrency <= 0) concurrency = t->batch ? 1 : cpus;
    tx->concurrency = concurrency > 64 ? 64 : (int)concurrency;
    tx->threads = cpus > tx->concurrency ? (int)(cpus / tx->concurrency) : 1;
    tx->stop_asked = stop_asked;
    tx->stop_ctx = t;
    tx->algo = t->algo;
    tx->model = t->model;
    tx->batch = t->batch;
    return lt_cli__transform_dp_new(t->doc, tx->batch == NULL, &tx->dp, err);
}

typedef struct object_list {
    char **keys;
    size_t n;
    char *bucket;
} object_list;

static int add_object(void *ctx, const lt_blob_object *obj, lt_err *err)
{
    (void)err;
    object_list *l = ctx;
    if (lt_str_ends_with(obj->key, "/")) return 0;
    l->keys = lt_xrealloc(l->keys, (l->n + 1) * sizeof *l->keys);
    l->keys[l->n++] = lt_xstrdup(obj->key);
    return 0;
}

/* Transforms every object; *ending gets the state the job ends in ("Completed", or "Stopped"
 * when a stop was asked), which the caller records once the workers are gone. */
static int run(transform *t, const char **ending, lt_err *err)
{
    json_t *s3 = json_object_get(json_object_get(json_object_get(t->doc, "TransformInput"), "DataSource"),
                                 "S3DataSource");
    const char *uri = lt_json_str(s3, "S3Uri");
    object_list l = {0};
    char *key = NULL;
    int rc = lt_blob_uri_parse(uri, &l.bucket, &key, err);
    if (!rc) rc = lt_blob_uri_list(t->data->blob, uri, add_object, &l, err);
    /* The output name is the key relative to the prefix's directory part. */
    const char *slash = key ? strrchr(key, '/') : NULL;
    size_t base = slash ? (size_t)(slash - key) + 1 : 0;
    for (size_t i = 0; !rc && i < l.n; i++) {
        const char *rel = l.keys[i] + (strlen(l.keys[i]) > base ? base : 0);
        rc = stop_asked(t) ? LT_CLI__TRANSFORM_STOPPED : transform_object(t, l.bucket, l.keys[i], rel, err);
        if (rc == LT_CLI__TRANSFORM_STOPPED) {
            *ending = "Stopped";
            rc = 0;
            goto done;
        }
    }
    if (!rc) *ending = "Completed";
done:
    for (size_t i = 0; i < l.n; i++) free(l.keys[i]);
    free(l.keys);
    free(l.bucket);
    free(key);
    return rc;
}

int lt_cli__transform_run(lt_cli__data *data, const char *name, lt_err *err)
{
    int lock_fd = -1;
    int rc = lt_exec_job_claim(data->dir, "transform", name, &lock_fd, err);
    if (rc <= 0) return rc;
    transform t = {.data = data, .name = name};
    t.dir = lt_exec_job_dir(data->dir, "transform", name);
    rc = lt_store_resource_doc(data->store, LT_STORE_KIND_TRANSFORM_JOB, name, &t.doc, err);
    const char *status = rc ? NULL : lt_json_str(t.doc, "TransformJobStatus");
    if (!rc && status && (strcmp(status, "InProgress") == 0 || strcmp(status, "Stopping") == 0)) {
        end_state started = {.started = true};
        rc = set_state(&t, &started, err);
        int64_t t0 = lt_now_ms();
        if (!rc && lt_serve_model_is_builtin(data->store, lt_json_str(t.doc, "ModelName")))
            rc = load_model(&t, err);
        else if (!rc)
            rc = open_batch(&t, err);
        const char *ending = NULL;
        if (!rc) rc = setup(&t, err);
        if (!rc) rc = run(&t, &ending, err);
        /* The serve program's workers stop before the job ends, so a job seen ended has no
         * process left. */
        lt_serve_batch_close(t.batch);
        t.batch = t.tx.batch = NULL;
        if (!rc) {
            end_state e = {.status = ending};
            rc = set_state(&t, &e, err);
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        lt_log_info("transform %s: %.2f s, CPU %.2f s user %.2f s system, %d batches at once", name,
                    (double)(lt_now_ms() - t0) / 1000.0,
                    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
                    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, t.tx.concurrency);
        if (rc) {
            char *reason = lt_xasprintf("ClientError: %s", err->msg);
            end_state failed = {.status = "Failed", .failure = reason};
            set_state(&t, &failed, &(lt_err){0});
            free(reason);
            rc = 0; /* the job failed; the runner did its work */
        }
    }
    lt_cli__transform_dp_free(t.tx.dp);
    if (t.model) t.algo->free(t.model);
    lt_serve_batch_close(t.batch);
    json_decref(t.doc);
    char *model_dir = lt_xasprintf("%s/model", t.dir);
    lt_rm_rf(model_dir, &(lt_err){0});
    free(model_dir);
    free(t.dir);
    close(lock_fd);
    return rc;
}
