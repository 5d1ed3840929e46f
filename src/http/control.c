/* The control plane over HTTP: awsJson 1.1 (POST /, X-Amz-Target: SageMaker.<Op>).
 * The body is collected (bounded), its SHA-256 completes the signature check, and the
 * api module turns (operation, JSON) into the answer. Logs_20140328.<Op> takes the same
 * path, signed for service "logs", and is answered by logs_api.c. */
#include "http/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char amz_json_content_type[] = "application/x-amz-json-1.1";

static int refuse(lt_http__req *req, lt_auth_result r, const lt_err *err)
{
    switch (r) {
    case LT_AUTH_MISSING:
        return lt_http__queue_json_error(req, 403, "MissingAuthenticationTokenException",
                                         "Missing Authentication Token");
    case LT_AUTH_MALFORMED:
        return lt_http__queue_json_error(req, 400, "IncompleteSignatureException", err->msg);
    case LT_AUTH_UNKNOWN_KEY:
        if (err->code == LT_EIO)
            return lt_http__queue_json_error(req, 500, "InternalFailure", err->msg);
        return lt_http__queue_json_error(req, 403, "UnrecognizedClientException", err->msg);
    case LT_AUTH_BAD_SIGNATURE:
    case LT_AUTH_SKEWED:
    case LT_AUTH_EXPIRED:
        return lt_http__queue_json_error(req, 403, "InvalidSignatureException", err->msg);
    default: return lt_http__queue_json_error(req, 500, "InternalFailure", "authentication failed");
    }
}

int lt_http__control_begin(lt_http__req *req, const char *target)
{
    static const char prefix[] = "SageMaker.";
    static const char logs_prefix[] = "Logs_20140328.";
    req->logs = strncmp(target, logs_prefix, sizeof logs_prefix - 1) == 0;
    size_t skip = req->logs ? sizeof logs_prefix - 1 : sizeof prefix - 1;
    if ((!req->logs && strncmp(target, prefix, sizeof prefix - 1) != 0) ||
        strlen(target) - skip >= sizeof req->target_op) {
        char *msg = lt_xasprintf("X-Amz-Target '%.128s' does not name a SageMaker operation "
                                 "(expected 'SageMaker.<Operation>').",
                                 target);
        int rc = lt_http__queue_json_error(req, 400, "UnknownOperationException", msg);
        free(msg);
        return rc;
    }
    const char *op = target + skip;
    snprintf(req->target_op, sizeof req->target_op, "%s", op);
    bool known = req->logs ? lt_http__logs_operation_known(op) : lt_api_operation_in_model(op);
    snprintf(req->op, sizeof req->op, "%s", known ? op : "unknown");

    lt_err err = {0};
    lt_auth_result r = lt_http__auth_begin(req, req->logs ? "logs" : "sagemaker", &err);
    if (r != LT_AUTH_OK) return refuse(req, r, &err);

    size_t limit = req->server->cfg.body_limit_bytes;
    const char *length = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "content-length");
    int64_t declared = 0;
    if (length && lt_parse_i64(length, 0, INT64_MAX, &declared, "Content-Length", NULL) == 0 &&
        (uint64_t)declared > limit) {
        /* Answered once the body is read and dropped: clients that send the whole body
         * before reading (botocore does) would otherwise see a reset, not the 413. */
        req->body_too_large = true;
    }
    lt_buf_init(&req->body, limit);
    return MHD_YES;
}

int lt_http__control_body(lt_http__req *req, const char *data, size_t len)
{
    if (req->body_too_large) return MHD_YES;
    if (lt_buf_append(&req->body, data, len, NULL) != 0) {
        req->body_too_large = true;
        lt_buf_free(&req->body);
    }
    return MHD_YES;
}

int lt_http__control_finish(lt_http__req *req)
{
    if (req->body_too_large) {
        char *msg = lt_xasprintf("The request body exceeds the limit of %zu bytes.",
                                 req->server->cfg.body_limit_bytes);
        int rc = lt_http__queue_json_error(req, 413, "RequestEntityTooLarge", msg);
        free(msg);
        return rc;
    }
    uint8_t digest[32];
    char hash[65];
    lt_sha256(req->body.data ? req->body.data : "", req->body.len, digest);
    lt_hex_encode(hash, digest, 32);
    lt_err err = {0};
    lt_auth_result r = lt_http__auth_verify(req, hash, &err);
    if (r != LT_AUTH_OK) return refuse(req, r, &err);

    lt_api_reply reply;
    if (req->logs)
        lt_http__logs_call(&req->server->cfg, req->auth.region, req->target_op,
                           req->body.data ? req->body.data : "", req->body.len, &reply);
    else
        lt_api_call(req->server->cfg.api, req->target_op, req->body.data ? req->body.data : "",
                    req->body.len, &reply);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(reply.body_len, reply.body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        lt_api_reply_free(&reply);
        return MHD_NO;
    }
    reply.body = NULL; /* now owned by the response */
    MHD_add_response_header(resp, "Content-Type", amz_json_content_type);
    if (reply.error_type) MHD_add_response_header(resp, "x-amzn-ErrorType", reply.error_type);
    return lt_http__queue(req, reply.status, resp);
}
