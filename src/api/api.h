/*
 * api: the SageMaker control plane (awsJson 1.1) as a function from
 * (operation, JSON body) to (HTTP status, JSON body).
 *
 * Every call is parsed, validated against tables generated at build time from
 * botocore's SageMaker service model (required members, types, lengths, ranges,
 * patterns, enums, nested shapes), then dispatched to the operation's handler. Errors
 * are mapped to the protocol's codes in exactly one place (api.c).
 *
 * This module knows nothing about HTTP or authentication: the http module verifies the
 * signature and passes the operation name taken from X-Amz-Target.
 *
 * Thread safety: one lt_api is shared by all server threads; handlers keep no state
 * outside the store.
 */
#ifndef LT_API_H
#define LT_API_H

#include "base/base.h"
#include "blob/blob.h"
#include "store/store.h"

typedef struct lt_api lt_api;

/* Told after a state change has committed, so the executor (jobs) or the endpoint runtime
 * can act at once instead of at its next reconcile. job_kind is "training" or "processing"
 * (action "start": the job was created; "stop": Stop moved it to Stopping) or "endpoint"
 * (action "start", "update" or "delete"). */
typedef void (*lt_api_job_fn)(void *ctx, const char *job_kind, const char *name,
                              const char *action);

typedef struct lt_api_config {
    const char *region;     /* used in ARNs, e.g. "us-east-1" */
    const char *account_id; /* 12 digits, used in ARNs */
    lt_api_job_fn on_job;   /* may be NULL: jobs then wait for the executor's reconcile */
    void *on_job_ctx;
} lt_api_config;

/* What an image URI or algorithm name runs, as the api resolved it at Create (a new JSON
 * object, caller decrefs): {"Type": "algorithm", "Algorithm": "kmeans"} | {"Type": "python"}
 * | {"Type": "directory", "Image": "repo:tag", "Digest": ..., "Path": ...}. LT_EINVAL says
 * why the URI does not resolve (no such image registered, an algorithm this build lacks). */
int lt_api_image_resolve(lt_store *store, const char *uri_or_algorithm, json_t **spec,
                         lt_err *err);

/* Registers (or moves) the tag NAME:TAG to an imported image directory. */
int lt_api_image_register(lt_store *store, const char *name_tag, const char *digest,
                          const char *path, json_t *entry_points, int64_t now_ms, lt_err *err);


/* Borrows store and blob, which must outlive the lt_api. */
int lt_api_open(lt_api **out, lt_store *store, lt_blob *blob, const lt_api_config *cfg,
                lt_err *err);
void lt_api_close(lt_api *api);

typedef struct lt_api_reply {
    int status;             /* HTTP status: 200, or the status AWS uses for the error */
    char *body;             /* JSON text; owned by the reply */
    size_t body_len;
    const char *error_type; /* NULL on success, else the __type ("ValidationException") */
} lt_api_reply;

/* Handles one call. operation is the part of X-Amz-Target after "SageMaker.". */
void lt_api_call(lt_api *api, const char *operation, const char *body, size_t body_len,
                 lt_api_reply *reply);
void lt_api_reply_free(lt_api_reply *reply);

/* Whether the service model defines the operation, and whether Lathe implements it. */
bool lt_api_operation_in_model(const char *operation);
bool lt_api_operation_implemented(const char *operation);
/* The implemented operations in table order (for docs/API.md and `lathe api --list`). */
size_t lt_api_implemented_count(void);
const char *lt_api_implemented_name(size_t index);

#endif
