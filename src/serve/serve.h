/*
 * serve: the endpoint runtime. Endpoints are reconciled from the store (the api writes
 * Endpoint, EndpointConfig and Model documents; this module makes them serve) and invoked
 * through the sagemaker-runtime protocol (`InvokeEndpoint`).
 *
 * Built-in algorithm models are served in-process, the fast path: the model.tar.gz is
 * unpacked once per variant, loaded with the algorithm's own loader, and every request is
 * parsed, predicted and formatted on the calling HTTP thread with no copy of the model.
 * An update builds the new variants beside the old ones and swaps them in one step (blue
 * /green): a request is served by the old set or by the new one, never by neither.
 *
 * Bring-your-own serve programs (a pushed image's `serve`) run as worker processes in the
 * exec sandbox, health-checked on GET /ping and proxied on POST /invocations; a worker that
 * dies is replaced while the others keep serving. A variant may be a serial inference
 * pipeline: each container's answer is the next one's request.
 *
 * Thread safety: lt_serve_invoke may be called from any number of threads; loads run on
 * the module's own loader threads (different endpoints side by side, one endpoint's
 * changes in order). A served set is reference-counted, so an in-flight
 * request keeps the models it started with alive across a swap.
 */
#ifndef LT_SERVE_H
#define LT_SERVE_H

#include "base/base.h"
#include "blob/blob.h"
#include "store/store.h"

#include <stdatomic.h>

typedef struct lt_serve lt_serve;

/* Opens the runtime and starts loading every endpoint the store has Creating, Updating or
 * InService (so a restarted server serves again without any call). Borrows store and
 * blob. Models are unpacked under data_dir/serving. */
int lt_serve_open(lt_serve **out, lt_store *store, lt_blob *blob, const char *data_dir,
                  const char *account_id, lt_err *err);
void lt_serve_close(lt_serve *serve);
/* For shutdown: from now on calls waiting on serve programs give up (their callers get
 * ServiceUnavailable) and loads stop starting programs. lt_serve_close still follows. */
void lt_serve_interrupt(lt_serve *serve);

/* Tells the runtime that an endpoint's desired state changed (after the change committed):
 * action "start" (CreateEndpoint), "update" (UpdateEndpoint, weights and capacities) or
 * "delete" (DeleteEndpoint). Loads happen on a loader thread; this returns at once. */
void lt_serve_notify(lt_serve *serve, const char *endpoint, const char *action);

typedef struct lt_serve_request {
    const char *endpoint;
    const char *content_type;   /* may be NULL */
    const char *accept;         /* may be NULL */
    const char *target_variant; /* may be NULL: weighted routing */
    const char *inference_id;   /* X-Amzn-SageMaker-Inference-Id, for data capture; may be NULL */
    const char *custom_attributes; /* X-Amzn-SageMaker-Custom-Attributes; may be NULL */
    const char *target_model; /* X-Amzn-SageMaker-Target-Model: a multi-model endpoint's
                                 model, a key under its S3 prefix; may be NULL */
    const char *body;
    size_t len;
    int64_t timeout_ms; /* for a serve program's answer; 0: the variant's */
} lt_serve_request;

typedef struct lt_serve_reply {
    int status;             /* 200, or the runtime error's HTTP status */
    const char *error_type; /* NULL on success: "ValidationError", "ModelError", ... */
    char *body;             /* owned; the answer or the error's JSON body */
    size_t len;
    char content_type[128];
    char custom_attributes[1024]; /* the last container's, passed back; may be empty */
    char variant[64]; /* x-Amzn-Invoked-Production-Variant (empty on errors) */
} lt_serve_reply;

/* Serves one InvokeEndpoint. Never fails outright: errors are replies in the runtime's
 * form (ValidationError 400 for an unknown or not-yet-serving endpoint or variant,
 * ModelError 424 with OriginalStatusCode for input the model refuses, ...). */
void lt_serve_invoke(lt_serve *serve, const lt_serve_request *req, lt_serve_reply *reply);
void lt_serve_reply_free(lt_serve_reply *reply);
/* Whether lt_serve_invoke on endpoint runs only in-process models now (or the endpoint is
 * unknown): such a call takes microseconds, where one through a serve program waits on
 * another process for as long as it takes to answer. A hint for where to run the call: an
 * update may change the answer at any time. */
bool lt_serve_in_process(lt_serve *serve, const char *endpoint);

/* ---- asynchronous inference (InvokeEndpointAsync) ---------------------------------- */

typedef struct lt_serve_async_request {
    const char *endpoint;
    const char *input_location; /* X-Amzn-SageMaker-InputLocation: s3://bucket/key */
    const char *content_type, *accept, *custom_attributes, *inference_id; /* each may be NULL */
    const char *ttl_seconds; /* X-Amzn-SageMaker-RequestTTLSeconds as sent; may be NULL */
} lt_serve_async_request;

typedef struct lt_serve_async_reply {
    int status;             /* 202, or the runtime error's HTTP status */
    const char *error_type; /* NULL when queued */
    char *body;             /* owned: {"InferenceId": ...}, or the error's JSON body */
    size_t len;
    char *output_location;  /* owned; NULL on errors */
    char *failure_location; /* owned; NULL on errors */
} lt_serve_async_reply;

/* Queues one InvokeEndpointAsync of an endpoint whose config has AsyncInferenceConfig: the
 * request is stored (it survives a restart) and answered 202 at once; a worker thread reads
 * the input object, invokes the endpoint as InvokeEndpoint would, and writes the answer to
 * <S3OutputPath>/<InferenceId>.out, or what went wrong to
 * <S3FailurePath or S3OutputPath>/<InferenceId>-error.out. Never fails outright: errors
 * are replies in the runtime's form (ValidationError 400). */
void lt_serve_invoke_async(lt_serve *serve, const lt_serve_async_request *req,
                           lt_serve_async_reply *reply);
void lt_serve_async_reply_free(lt_serve_async_reply *reply);

/* ---- bring-your-own serve programs ------------------------------------------------- */

/* A serve program's workers, for endpoints and for batch transform. Shared by threads:
 * invoke and get may be called from any number of threads at once. */
typedef struct lt_serve_program lt_serve_program;

typedef struct lt_serve_program_params {
    const char *label;       /* names the program in errors ("variant AllTraffic") */
    const char *program_dir; /* the image's directory (its `serve` at the top) */
    const char *model_dir;   /* the extracted ModelDataUrl (/opt/ml/model); may be NULL */
    const char *models_dir;  /* a multi-model container's models (/opt/ml/models); may be NULL */
    const char *data_dir;    /* lathe's data directory, hidden from the program */
    const json_t *environment; /* the container's Environment; may be NULL */
    int workers;               /* processes, 1 to 64 */
    uint64_t memory_bytes;     /* each worker's memory limit (a cgroup); 0: none */
    int vcpus;                 /* each worker's CPU limit; 0: none */
    int startup_timeout_s;     /* for GET /ping to answer 200 (0: 240 s) */
    const char *logs_root;     /* where workers' output goes; NULL: dropped */
    const char *log_group;     /* "/aws/sagemaker/Endpoints/<endpoint>" */
    const char *log_stream_prefix; /* a worker's stream is "<prefix>-worker-<k>" */
    const atomic_bool *cancel; /* when it turns true, a startup still waiting and calls in
                                  flight give up; may be NULL */
} lt_serve_program_params;

/* Starts the workers and waits until every one answers GET /ping with 200. LT_EINVAL when
 * one exits first or the timeout passes, with the reason and the tail of its output (the
 * workers are stopped then). */
int lt_serve_program_open(lt_serve_program **out, const lt_serve_program_params *params,
                          lt_err *err);
/* Stops every worker (SIGTERM, SIGKILL after 5 s) and waits for them. */
void lt_serve_program_close(lt_serve_program *p);
/* How many times a worker exited or was restarted since open. */
int lt_serve_program_restarts(const lt_serve_program *p);

typedef struct lt_serve_call {
    const char *content_type, *accept, *custom_attributes; /* each may be NULL */
    const char *target_model; /* X-Amzn-SageMaker-Target-Model, passed on; may be NULL */
    const char *body;
    size_t len;
    int64_t timeout_ms;      /* 0: 60 s */
    size_t max_answer_bytes; /* 0: 64 MiB */
} lt_serve_call;

typedef struct lt_serve_answer {
    int status; /* the program's HTTP status */
    char *body; /* owned, NUL-terminated */
    size_t len;
    char content_type[128];
    char custom_attributes[1024]; /* its X-Amzn-SageMaker-Custom-Attributes; may be empty */
} lt_serve_answer;

/* POST /invocations on a ready worker (round-robin; a worker that cannot be reached is
 * skipped for the next). Any HTTP status is an answer (rc 0). LT_EIO when no worker is ready
 * or none could be reached, LT_ELIMIT when the answer is too large or late. */
int lt_serve_program_invoke(lt_serve_program *p, const lt_serve_call *call, lt_serve_answer *ans,
                            lt_err *err);
/* GET path ("/execution-parameters") on a ready worker; as invoke. */
int lt_serve_program_get(lt_serve_program *p, const char *path, lt_serve_answer *ans, lt_err *err);
void lt_serve_answer_free(lt_serve_answer *ans);

/* ---- batch transform through a model ------------------------------------------------- */

/* A model loaded for batch transform: its containers made ready (serve programs' workers
 * started and pinged; their output in /aws/sagemaker/TransformJobs, streams
 * "<job>/transform-<container>-worker-<k>"). Shared by threads like an endpoint's variant. */
typedef struct lt_serve_batch lt_serve_batch;

typedef struct lt_serve_batch_params {
    lt_store *store;
    lt_blob *blob;
    const char *data_dir;
    const char *model_name;
    const char *job_name;
    const char *work_dir;      /* where the model is unpacked; the caller removes it */
    int workers;               /* per serve program (0: 1) */
    int startup_timeout_s;     /* 0: 240 s */
    int64_t answer_timeout_ms; /* per batch (0: 600 s) */
    const char *instance_type; /* each worker's memory and vCPU limits (NULL or unknown: none) */
    const json_t *environment; /* the job's Environment, over each container's (may be NULL) */
    int max_retries; /* a batch the program fails with a 5xx or no answer is sent again this
                        many times (ModelClientConfig.InvocationsMaxRetries) */
} lt_serve_batch_params;

/* Whether model_name is one built-in algorithm's model (which the transform runner serves
 * in-process itself). */
bool lt_serve_model_is_builtin(lt_store *store, const char *model_name);
/* Loads the model; LT_EINVAL with the reason when a container cannot serve. */
int lt_serve_batch_open(lt_serve_batch **out, const lt_serve_batch_params *params, lt_err *err);
/* What a single serve program answered on GET /execution-parameters, checked (members
 * MaxConcurrentTransforms, BatchStrategy, MaxPayloadInMB), or NULL. Borrowed. */
const json_t *lt_serve_batch_execution_parameters(const lt_serve_batch *b);
/* One batch through the model's containers; the last one's answer is appended to out.
 * LT_EINVAL with the model's message when a container refuses it. */
int lt_serve_batch_predict(lt_serve_batch *b, const char *content_type, const char *accept,
                           const char *data, size_t len, lt_buf *out, lt_err *err);
void lt_serve_batch_close(lt_serve_batch *b);

#endif
