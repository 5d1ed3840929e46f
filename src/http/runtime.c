/* The sagemaker-runtime protocol (restJson1): POST /endpoints/{EndpointName}/invocations
 * with the raw body, Content-Type, Accept, X-Amzn-SageMaker-Target-Variant and
 * X-Amzn-SageMaker-Custom-Attributes (passed to a serve program and back), signed for
 * service "sagemaker". The body (at most 6 MiB, the service's limit) completes the
 * signature check; serve answers. Errors carry x-amzn-ErrorType, which botocore reads
 * first for rest-json.
 *
 * InvokeEndpointAsync is POST /endpoints/{EndpointName}/async-invocations with no body and
 * the request in X-Amzn-SageMaker-* headers (InputLocation, Content-Type, Accept,
 * Custom-Attributes, Inference-Id, RequestTTLSeconds); 202 with {"InferenceId"} and
 * X-Amzn-SageMaker-OutputLocation (and -FailureLocation) once serve has queued it. */
#include "http/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RUNTIME_BODY_LIMIT = 6 * 1024 * 1024 };

static const char prefix[] = "/endpoints/";
static const char suffix[] = "/invocations";
static const char async_suffix[] = "/async-invocations";

static bool has_suffix(const char *url, const char *sfx, size_t sfx_len)
{
    return strlen(url) > sizeof prefix - 1 + sfx_len && lt_str_ends_with(url, sfx);
}

bool lt_http__runtime_path(const char *method, const char *url)
{
    return strcmp(method, "POST") == 0 && strncmp(url, prefix, sizeof prefix - 1) == 0 &&
           (has_suffix(url, suffix, sizeof suffix - 1) ||
            has_suffix(url, async_suffix, sizeof async_suffix - 1));
}

static int refuse_auth(lt_http__req *req, lt_auth_result r, const lt_err *err)
{
    if (r == LT_AUTH_MISSING)
        return lt_http__queue_json_error(req, 403, "MissingAuthenticationTokenException",
                                         "Missing Authentication Token");
    if (r == LT_AUTH_UNKNOWN_KEY && err->code != LT_EIO)
        return lt_http__queue_json_error(req, 403, "UnrecognizedClientException", err->msg);
    if (r == LT_AUTH_MALFORMED)
        return lt_http__queue_json_error(req, 400, "IncompleteSignatureException", err->msg);
    return lt_http__queue_json_error(req, 403, "InvalidSignatureException",
                                     err->msg[0] ? err->msg : "signature check failed");
}

int lt_http__runtime_begin(lt_http__req *req)
{
    req->async = has_suffix(req->path, async_suffix, sizeof async_suffix - 1);
    lt_str_copy(req->op, sizeof req->op, req->async ? "InvokeEndpointAsync" : "InvokeEndpoint");
    lt_err err = {0};
    lt_auth_result r = lt_http__auth_begin(req, "sagemaker", &err);
    if (r != LT_AUTH_OK) return refuse_auth(req, r, &err);
    lt_buf_init(&req->body, RUNTIME_BODY_LIMIT);
    return MHD_YES;
}

/* The call's answer as the runtime's HTTP response. */
static int queue_reply(lt_http__req *req, lt_serve_reply *reply)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        lt_serve_reply_free(reply);
        return MHD_NO;
    }
    reply->body = NULL; /* owned by the response now */
    MHD_add_response_header(resp, "Content-Type", reply->content_type);
    if (reply->variant[0])
        MHD_add_response_header(resp, "x-Amzn-Invoked-Production-Variant", reply->variant);
    if (reply->custom_attributes[0])
        MHD_add_response_header(resp, "X-Amzn-SageMaker-Custom-Attributes",
                                reply->custom_attributes);
    if (reply->error_type) MHD_add_response_header(resp, "x-amzn-ErrorType", reply->error_type);
    return lt_http__queue(req, reply->status, resp);
}

/* On an offload thread: the call, then the connection back to its server thread, which
 * queues the answer (access_handler runs again for a resumed connection). The request
 * may be freed as soon as it is resumed: nothing here touches it after. */
static void invoke_offloaded(void *arg)
{
    lt_http__req *req = arg;
    lt_serve_invoke(req->server->cfg.serve, &req->invoke, &req->reply);
    req->reply_ready = true;
    MHD_resume_connection(req->conn);
}

/* Suspended before queued, so the job's resume cannot come first; when the pool is
 * stopping the job runs here and the connection resumes at once. */
static int run_offloaded(lt_http__req *req, void (*job)(void *))
{
    MHD_suspend_connection(req->conn);
    if (!lt_http__offload_submit(req->server->offload, job, req)) job(req);
    return MHD_YES;
}

static int queue_async_reply(lt_http__req *req, lt_serve_async_reply *reply)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) return MHD_NO;
    reply->body = NULL; /* owned by the response now */
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (reply->output_location)
        MHD_add_response_header(resp, "X-Amzn-SageMaker-OutputLocation", reply->output_location);
    if (reply->failure_location)
        MHD_add_response_header(resp, "X-Amzn-SageMaker-FailureLocation",
                                reply->failure_location);
    if (reply->error_type) MHD_add_response_header(resp, "x-amzn-ErrorType", reply->error_type);
    return lt_http__queue(req, reply->status, resp);
}

static void invoke_async_offloaded(void *arg)
{
    lt_http__req *req = arg;
    lt_serve_invoke_async(req->server->cfg.serve, &req->async_invoke, &req->async_reply);
    req->reply_ready = true;
    MHD_resume_connection(req->conn);
}

/* InvokeEndpointAsync, its signature checked: queued by serve on an offload thread. */
static int invoke_async(lt_http__req *req, lt_serve *serve)
{
    struct MHD_Connection *c = req->conn;
    req->async_invoke = (lt_serve_async_request){
        .endpoint = req->endpoint,
        .input_location =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-InputLocation"),
        .content_type =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Content-Type"),
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Accept"),
        .custom_attributes =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Custom-Attributes"),
        .inference_id =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Inference-Id"),
        .ttl_seconds = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   "X-Amzn-SageMaker-RequestTTLSeconds"),
    };
    if (!req->server->offload) {
        lt_serve_invoke_async(serve, &req->async_invoke, &req->async_reply);
        return queue_async_reply(req, &req->async_reply);
    }
    return run_offloaded(req, invoke_async_offloaded);
}

int lt_http__runtime_finish(lt_http__req *req)
{
    if (req->reply_ready && req->async) return queue_async_reply(req, &req->async_reply);
    if (req->reply_ready) return queue_reply(req, &req->reply);
    if (req->body_too_large)
        return lt_http__queue_json_error(req, 413, "ValidationError",
                                         "Request payload is larger than the 6 MB limit of "
                                         "InvokeEndpoint.");
    uint8_t digest[32];
    char hash[65];
    lt_sha256(req->body.data ? req->body.data : "", req->body.len, digest);
    lt_hex_encode(hash, digest, 32);
    lt_err err = {0};
    lt_auth_result r = lt_http__auth_verify(req, hash, &err);
    if (r != LT_AUTH_OK) return refuse_auth(req, r, &err);
    lt_serve *serve = req->server->cfg.serve;
    if (!serve)
        return lt_http__queue_json_error(req, 503, "ServiceUnavailable",
                                         "This server runs no endpoints.");
    /* The endpoint name: between the prefix and the suffix, percent-decoded. */
    size_t n = strlen(req->path) - (sizeof prefix - 1) -
               (req->async ? sizeof async_suffix - 1 : sizeof suffix - 1);
    lt_buf name;
    lt_buf_init(&name, 1024);
    if (lt_uri_decode(&name, req->path + sizeof prefix - 1, n, NULL) != 0 || !name.data) {
        lt_buf_free(&name);
        return lt_http__queue_json_error(req, 400, "ValidationError",
                                         "The endpoint name in the path is malformed.");
    }
    req->endpoint = lt_buf_take(&name);
    if (req->async) return invoke_async(req, serve);
    struct MHD_Connection *c = req->conn;
    req->invoke = (lt_serve_request){
        .endpoint = req->endpoint,
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"),
        .target_variant =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Target-Variant"),
        .inference_id =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Inference-Id"),
        .custom_attributes =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Custom-Attributes"),
        .target_model =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amzn-SageMaker-Target-Model"),
        .body = req->body.data ? req->body.data : "",
        .len = req->body.len,
    };
    /* In-process models answer here, in microseconds. A serve program's answer can take
     * as long as the model does: the connection waits suspended while an offload thread
     * makes the call, and this thread goes on serving its other connections. */
    if (lt_serve_in_process(serve, req->endpoint) || !req->server->offload) {
        lt_serve_invoke(serve, &req->invoke, &req->reply);
        return queue_reply(req, &req->reply);
    }
    return run_offloaded(req, invoke_offloaded);
}
