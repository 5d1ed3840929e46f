/* S3 errors, in one table: code, HTTP status, standard message (the S3 API reference's
 * "Error responses" list), and the mapping of blob failures onto it. Error bodies are
 * <Error><Code/><Message/><Resource/><RequestId/></Error>. */
#include "s3/s3_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *code;
    int status;
    const char *message;
} errors[] = {
    {"AccessDenied", 403, "Access Denied"},
    {"BadDigest", 400, "The Content-MD5 you specified did not match what we received."},
    {"BucketAlreadyOwnedByYou", 409,
     "Your previous request to create the named bucket succeeded and you already own it."},
    {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty"},
    {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."},
    {"EntityTooSmall", 400,
     "Your proposed upload is smaller than the minimum allowed object size."},
    {"InternalError", 500, "We encountered an internal error. Please try again."},
    {"InvalidArgument", 400, "Invalid Argument"},
    {"InvalidBucketName", 400, "The specified bucket is not valid."},
    {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    {"InvalidPart", 400,
     "One or more of the specified parts could not be found. The part may not have been "
     "uploaded, or the specified entity tag may not match the part's entity tag."},
    {"InvalidPartOrder", 400,
     "The list of parts was not in ascending order. Parts must be ordered by part number."},
    {"InvalidRange", 416, "The requested range is not satisfiable"},
    {"InvalidRequest", 400, "Invalid Request"},
    {"KeyTooLongError", 400, "Your key is too long"},
    {"MalformedXML", 400,
     "The XML you provided was not well-formed or did not validate against our published schema"},
    {"MaxMessageLengthExceeded", 400, "Your request was too big."},
    {"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size."},
    {"MethodNotAllowed", 405, "The specified method is not allowed against this resource."},
    {"NoSuchBucket", 404, "The specified bucket does not exist"},
    {"NoSuchKey", 404, "The specified key does not exist."},
    {"NoSuchUpload", 404,
     "The specified multipart upload does not exist. The upload ID might be invalid, or the "
     "multipart upload might have been aborted or completed."},
    {"NotImplemented", 501, "A header you provided implies functionality that is not implemented"},
    {"OperationAborted", 409,
     "A conflicting conditional operation is currently in progress against this resource."},
    {"PreconditionFailed", 412, "At least one of the preconditions you specified did not hold"},
    {"ServiceUnavailable", 503, "Please reduce your request rate."},
    {"XAmzContentSHA256Mismatch", 400,
     "The provided 'x-amz-content-sha256' header does not match what was computed."},
};

static int find(const char *code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (!strcmp(errors[i].code, code)) return (int)i;
    return -1;
}

void lt_s3__fail(lt_s3_call *call, const char *code, const char *fmt, ...)
{
    if (call->failed) return;
    call->failed = true;
    int i = find(code);
    if (i < 0) {
        lt_log_error("s3: unknown error code %s (our bug)", code);
        i = find("InternalError");
    }
    call->err_code = errors[i].code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&call->err_msg, fmt, ap) < 0) call->err_msg = NULL;
        va_end(ap);
    }
    if (!call->err_msg) call->err_msg = lt_xstrdup(errors[i].message);
}

void lt_s3__fail_blob(lt_s3_call *call, int rc, const lt_err *err, lt_s3__about about)
{
    const char *msg = err && err->code ? err->msg : lt_err_class_name(rc);
    switch (rc) {
    case LT_ENOTFOUND: {
        bool bucket_exists = about != LT_S3__ABOUT_BUCKET &&
                             lt_blob_bucket_head(call->s3->blob, call->req.bucket, NULL, NULL) == 0;
        if (!bucket_exists)
            lt_s3__fail(call, "NoSuchBucket", NULL);
        else if (about == LT_S3__ABOUT_UPLOAD)
            lt_s3__fail(call, "NoSuchUpload", NULL);
        else
            lt_s3__fail(call, "NoSuchKey", NULL);
        return;
    }
    case LT_EINVAL:
        lt_s3__fail(call, "InvalidArgument", "%s", msg);
        return;
    case LT_ECONFLICT:
        lt_s3__fail(call, "OperationAborted", "%s", msg);
        return;
    case LT_ELIMIT:
        lt_s3__fail(call, "ServiceUnavailable", "insufficient storage: %s", msg);
        return;
    default:
        lt_log_error("s3: %s %s/%s: %s", call->op ? call->op->name : "?", call->req.bucket,
                     call->req.key, msg);
        lt_s3__fail(call, "InternalError", "%s", msg);
        return;
    }
}

void lt_s3_error_response(lt_s3_response *resp, int status, const char *code, const char *message,
                          const char *resource, const char *request_id)
{
    resp->status = status;
    if (resp->fd >= 0) close(resp->fd);
    resp->fd = -1;
    resp->offset = resp->length = 0;
    lt_buf_reset(&resp->body);
    lt_buf *b = &resp->body;
    lt_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>", NULL);
    lt_s3__xml_text(b, "Code", code ? code : "InternalError", false);
    lt_s3__xml_text(b, "Message", message ? message : "", false);
    if (resource) lt_s3__xml_text(b, "Resource", resource, false);
    lt_s3__xml_text(b, "RequestId", request_id ? request_id : "", false);
    lt_buf_puts(b, "</Error>", NULL);
}

void lt_s3__error_reply(lt_s3_call *call, lt_s3_response *resp)
{
    int i = find(call->err_code);
    int status = i >= 0 ? errors[i].status : 500;
    char *resource = lt_s3__resource(call);
    lt_s3_error_response(resp, status, call->err_code, call->err_msg, resource,
                         call->req.request_id);
    free(resource);
}
