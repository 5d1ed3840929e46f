/* The sagemaker-runtime protocol (restJson1): POST /endpoints/{EndpointName}/invocations
 * with the raw body, Content-Type, Accept, X-Amzn-SageMaker-Target-Variant and
 * X-Amzn-SageMaker-Custom-Attributes (passed to a serve program and back), signed for
 * service "sagemaker". The body (at most 6 MiB, the service's limit) completes the
 * signature check; serve answers. Errors carry x-amzn-ErrorType, which botocore reads
 * first for rest-json. */
#include "http/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RUNTIME_BODY_LIMIT = 6 * 1024 * 1024 };

static const char prefix[] = "/endpoints/";
static const char suffix[] = "/invocations";

bool lt_http__runtime_path(const char *method, const char *url)
{
    size_t n = strlen(url);
    return strcmp(method, "POST") == 0 && strncmp(url, prefix, sizeof prefix - 1) == 0 &&
           n > sizeof prefix - 1 + sizeof suffix - 1 && lt_str_ends_with(url, suffix);
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
    lt_str_copy(req->op, sizeof req->op, "InvokeEndpoint");
    lt_err err = {0};
    lt_auth_result r = lt_http__auth_begin(req, "sagemaker", &err);
    if (r != LT_AUTH_OK) return refuse_auth(req, r, &err);
    lt_buf_init(&req->body, RUNTIME_BODY_LIMIT);
    return MHD_YES;
}

int lt_http__runtime_finish(lt_http__req *req)
{
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
    size_t n = strlen(req->path) - (sizeof prefix - 1) - (sizeof suffix - 1);
    lt_buf name;
    lt_buf_init(&name, 1024);
    if (lt_uri_decode(&name, req->path + sizeof prefix - 1, n, NULL) != 0 || !name.data) {
        lt_buf_free(&name);
        return lt_http__queue_json_error(req, 400, "ValidationError",
                                         "The endpoint name in the path is malformed.");
    }
    struct MHD_Connection *c = req->conn;
    lt_serve_request sreq = {
        .endpoint = name.data,
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
    /* A call through a serve program holds this server thread until the program answers.
     * Suspending the connection and making the call on another thread (libmicrohttpd's
     * suspend/resume) freed the thread, but with libmicrohttpd 0.9.75 a connection resumed
     * from another thread stalled for 0.5-1 s now and then: p99 of a BYO endpoint went
     * from 2.5 ms to 585 ms, so calls stay inline. The count lets shutdown wait for them. */
    lt_serve_reply reply;
    atomic_fetch_add(&req->server->invocations_in_flight, 1);
    lt_serve_invoke(serve, &sreq, &reply);
    atomic_fetch_sub(&req->server->invocations_in_flight, 1);
    lt_buf_free(&name);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(reply.len, reply.body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        lt_serve_reply_free(&reply);
        return MHD_NO;
    }
    reply.body = NULL; /* owned by the response now */
    MHD_add_response_header(resp, "Content-Type", reply.content_type);
    if (reply.variant[0])
        MHD_add_response_header(resp, "x-Amzn-Invoked-Production-Variant", reply.variant);
    if (reply.custom_attributes[0])
        MHD_add_response_header(resp, "X-Amzn-SageMaker-Custom-Attributes", reply.custom_attributes);
    if (reply.error_type) MHD_add_response_header(resp, "x-amzn-ErrorType", reply.error_type);
    return lt_http__queue(req, reply.status, resp);
}
