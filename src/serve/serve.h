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
 * Thread safety: lt_serve_invoke may be called from any number of threads; loads run on
 * the module's own worker thread. A served set is reference-counted, so an in-flight
 * request keeps the models it started with alive across a swap.
 */
#ifndef LT_SERVE_H
#define LT_SERVE_H

#include "base/base.h"
#include "blob/blob.h"
#include "store/store.h"

typedef struct lt_serve lt_serve;

/* Opens the runtime and starts loading every endpoint the store has Creating, Updating or
 * InService (so a restarted server serves again without any call). Borrows store and
 * blob. Models are unpacked under data_dir/serving. */
int lt_serve_open(lt_serve **out, lt_store *store, lt_blob *blob, const char *data_dir,
                  const char *account_id, lt_err *err);
void lt_serve_close(lt_serve *serve);

/* Tells the runtime that an endpoint's desired state changed (after the change committed):
 * action "start" (CreateEndpoint), "update" (UpdateEndpoint, weights and capacities) or
 * "delete" (DeleteEndpoint). Loads happen on the worker thread; this returns at once. */
void lt_serve_notify(lt_serve *serve, const char *endpoint, const char *action);

typedef struct lt_serve_request {
    const char *endpoint;
    const char *content_type;   /* may be NULL */
    const char *accept;         /* may be NULL */
    const char *target_variant; /* may be NULL: weighted routing */
    const char *inference_id;   /* X-Amzn-SageMaker-Inference-Id, for data capture; may be NULL */
    const char *body;
    size_t len;
} lt_serve_request;

typedef struct lt_serve_reply {
    int status;             /* 200, or the runtime error's HTTP status */
    const char *error_type; /* NULL on success: "ValidationError", "ModelError", ... */
    char *body;             /* owned; the answer or the error's JSON body */
    size_t len;
    char content_type[96];
    char variant[64]; /* x-Amzn-Invoked-Production-Variant (empty on errors) */
} lt_serve_reply;

/* Serves one InvokeEndpoint. Never fails outright: errors are replies in the runtime's
 * form (ValidationError 400 for an unknown or not-yet-serving endpoint or variant,
 * ModelError 424 with OriginalStatusCode for input the model refuses, ...). */
void lt_serve_invoke(lt_serve *serve, const lt_serve_request *req, lt_serve_reply *reply);
void lt_serve_reply_free(lt_serve_reply *reply);

#endif
