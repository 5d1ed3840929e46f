/* The S3-compatible API over HTTP: path-style addressing (/<bucket>/<key>), the
 * signature checked before the body is read (its declared x-amz-content-sha256 is what
 * is signed; the s3 module checks the streamed body against it), bodies streamed
 * chunk by chunk, objects sent from their file with sendfile. */
#include "http/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *header_lookup(void *ctx, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_HEADER_KIND, name);
}

typedef struct header_visit {
    void (*visit)(void *visit_ctx, const char *name, const char *value);
    void *visit_ctx;
} header_visit;

static enum MHD_Result visit_one(void *cls, enum MHD_ValueKind kind, const char *name,
                                 const char *value)
{
    (void)kind;
    header_visit *hv = cls;
    hv->visit(hv->visit_ctx, name, value ? value : "");
    return MHD_YES;
}

static void header_each(void *ctx, void (*visit)(void *visit_ctx, const char *name, const char *value),
                        void *visit_ctx)
{
    header_visit hv = {visit, visit_ctx};
    MHD_get_connection_values((struct MHD_Connection *)ctx, MHD_HEADER_KIND, visit_one, &hv);
}

static int send_s3_response(lt_http__req *req, lt_s3_response *resp)
{
    struct MHD_Response *mhd;
    bool file_body = resp->fd >= 0;
    if (file_body) {
        mhd = MHD_create_response_from_fd_at_offset64(resp->length, resp->fd, resp->offset);
        if (mhd) resp->fd = -1; /* MHD closes it when the response is destroyed */
    } else if (resp->body.data) {
        mhd = MHD_create_response_from_buffer(resp->body.len, resp->body.data, MHD_RESPMEM_MUST_FREE);
        if (mhd) lt_buf_init(&resp->body, 0); /* MHD frees the data */
    } else {
        mhd = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!mhd) {
        lt_s3_response_free(resp);
        return MHD_NO;
    }
    bool has_type = false;
    for (size_t i = 0; i < resp->n_headers; i++) {
        MHD_add_response_header(mhd, resp->headers[i].name, resp->headers[i].value);
        if (strcasecmp(resp->headers[i].name, "Content-Type") == 0) has_type = true;
    }
    if (!has_type && !file_body)
        MHD_add_response_header(mhd, "Content-Type", "application/xml");
    MHD_add_response_header(mhd, "x-amz-request-id", req->request_id);
    snprintf(req->op, sizeof req->op, "S3.%s", resp->op_name ? resp->op_name : "Unknown");
    int status = resp->status;
    lt_s3_response_free(resp);
    return lt_http__queue(req, status, mhd);
}

static int send_s3_error(lt_http__req *req, int status, const char *code, const char *message)
{
    lt_s3_response resp;
    lt_s3_response_init(&resp);
    lt_s3_error_response(&resp, status, code, message, req->path, req->request_id);
    if (!resp.op_name) resp.op_name = "Refused";
    return send_s3_response(req, &resp);
}

static int refuse(lt_http__req *req, lt_auth_result r, const lt_err *err)
{
    switch (r) {
    case LT_AUTH_MISSING:
        return send_s3_error(req, 403, "AccessDenied",
                             "Access Denied: the request is not signed with AWS Signature V4");
    case LT_AUTH_MALFORMED:
        return send_s3_error(req, 400,
                             req->auth.presigned ? "AuthorizationQueryParametersError"
                                                 : "AuthorizationHeaderMalformed",
                             err->msg);
    case LT_AUTH_UNKNOWN_KEY:
        if (err->code == LT_EIO) return send_s3_error(req, 500, "InternalError", err->msg);
        return send_s3_error(req, 403, "InvalidAccessKeyId",
                             "The AWS Access Key Id you provided does not exist in our records.");
    case LT_AUTH_BAD_SIGNATURE:
        return send_s3_error(req, 403, "SignatureDoesNotMatch", err->msg);
    case LT_AUTH_SKEWED: return send_s3_error(req, 403, "RequestTimeTooSkewed", err->msg);
    case LT_AUTH_EXPIRED: return send_s3_error(req, 403, "AccessDenied", err->msg);
    default: return send_s3_error(req, 500, "InternalError", "authentication failed");
    }
}

/* "/bucket/some/key" -> bucket "bucket", key "some/key", both percent-decoded. */
static int split_path(lt_http__req *req, lt_err *err)
{
    const char *p = req->path;
    if (*p == '/') p++;
    const char *slash = strchr(p, '/');
    size_t blen = slash ? (size_t)(slash - p) : strlen(p);
    const char *key = slash ? slash + 1 : "";
    lt_buf b, k;
    lt_buf_init(&b, 1024);
    lt_buf_init(&k, 4096);
    int rc = lt_uri_decode(&b, p, blen, err);
    if (!rc) rc = lt_uri_decode(&k, key, strlen(key), err);
    if (rc) {
        lt_buf_free(&b);
        lt_buf_free(&k);
        return rc;
    }
    /* Names are used as C strings: a decoded %00 would silently cut them. */
    if ((b.data && memchr(b.data, '\0', b.len)) || (k.data && memchr(k.data, '\0', k.len))) {
        lt_buf_free(&b);
        lt_buf_free(&k);
        return lt_err_set(err, LT_EINVAL, "bucket and key names may not contain NUL (%%00)");
    }
    req->bucket = lt_buf_take(&b);
    req->key = lt_buf_take(&k);
    return 0;
}

int lt_http__s3_begin(lt_http__req *req)
{
    snprintf(req->op, sizeof req->op, "S3");
    req->sig.s3 = true;
    lt_err err = {0};
    lt_auth_result r = lt_http__auth_begin(req, "s3", &err);
    if (r != LT_AUTH_OK) return refuse(req, r, &err);
    const char *payload_hash = "UNSIGNED-PAYLOAD";
    if (!req->auth.presigned) {
        payload_hash = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                   "x-amz-content-sha256");
        if (!payload_hash)
            return send_s3_error(req, 400, "InvalidRequest",
                                 "Missing required header for this request: x-amz-content-sha256");
    }
    r = lt_http__auth_verify(req, payload_hash, &err);
    if (r != LT_AUTH_OK) return refuse(req, r, &err);
    if (split_path(req, &err) != 0) return send_s3_error(req, 400, "InvalidURI", err.msg);

    req->s3req = (lt_s3_request){
        .method = req->method,
        .bucket = req->bucket,
        .key = req->key,
        .query = req->query,
        .header = header_lookup,
        .header_ctx = req->conn,
        .request_id = req->request_id,
        .header_each = header_each,
    };
    req->s3call = lt_s3_call_begin(req->server->cfg.s3, &req->s3req);
    return MHD_YES;
}

int lt_http__s3_body(lt_http__req *req, const char *data, size_t len)
{
    /* After the call has chosen an error answer, the rest of the body is discarded. */
    (void)lt_s3_call_body(req->s3call, data, len);
    return MHD_YES;
}

int lt_http__s3_finish(lt_http__req *req)
{
    lt_s3_response resp;
    lt_s3_response_init(&resp);
    lt_s3_call_finish(req->s3call, &resp);
    return send_s3_response(req, &resp);
}
