/* Multipart upload: CreateMultipartUpload (POST ?uploads), UploadPart (PUT ?partNumber=N
 * &uploadId=X, streamed like PutObject), CompleteMultipartUpload (POST ?uploadId=X with
 * a <CompleteMultipartUpload> body), AbortMultipartUpload (DELETE ?uploadId=X), ListParts
 * (GET ?uploadId=X: max-parts, part-number-marker) and ListMultipartUploads (GET ?uploads:
 * prefix, key-marker, upload-id-marker, max-uploads, encoding-type; no delimiter
 * grouping). UploadPartCopy is not implemented. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_LIST = 1000 };

static void create_upload(lt_s3_call *call, lt_s3_response *resp)
{
    if (lt_s3__key_check_or_fail(call)) return;
    char *meta = NULL;
    if (lt_s3__metadata_from_headers(call, &meta)) return;
    lt_blob_put_opts opts = {.content_type = lt_s3__header_get(call, "Content-Type"),
                             .metadata_json = meta};
    char id[LT_BLOB_UPLOAD_ID_SIZE];
    lt_err err = {0};
    int rc =
        lt_blob_upload_create(call->s3->blob, call->req.bucket, call->req.key, &opts, id, &err);
    free(meta);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_OBJECT);
        return;
    }
    lt_buf *b = &resp->body;
    lt_s3__xml_begin(b, "InitiateMultipartUploadResult");
    lt_s3__xml_text(b, "Bucket", call->req.bucket, false);
    lt_s3__xml_text(b, "Key", call->req.key, false);
    lt_s3__xml_text(b, "UploadId", id, false);
    lt_s3__xml_end(b, "InitiateMultipartUploadResult");
}

static void part_begin(lt_s3_call *call)
{
    if (lt_s3__key_check_or_fail(call)) return;
    const char *number = lt_s3__param_get(call, "partNumber");
    const char *id = lt_s3__param_get(call, "uploadId");
    int64_t n = 0;
    if (!number || lt_parse_i64(number, 1, LT_BLOB_PART_NUMBER_MAX, &n, "partNumber", NULL) != 0) {
        lt_s3__fail(call, "InvalidArgument",
                    "Part number must be an integer between 1 and 10000, inclusive");
        return;
    }
    if (!id) {
        lt_s3__fail(call, "InvalidRequest", "UploadPart needs an uploadId");
        return;
    }
    lt_err err = {0};
    int rc = lt_blob_part_writer_open(call->s3->blob, call->req.bucket, call->req.key, id, (int)n,
                                      &call->writer, &err);
    if (rc) lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_UPLOAD);
}

static void part_finish(lt_s3_call *call, lt_s3_response *resp)
{
    lt_blob_object part = {0};
    lt_err err = {0};
    int rc = lt_blob_writer_commit(call->writer, &part, &err);
    call->writer = NULL;
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_UPLOAD);
        return;
    }
    char *quoted = lt_xasprintf("\"%s\"", part.etag);
    lt_s3__header_add(resp, "ETag", quoted);
    free(quoted);
    lt_blob_object_clear(&part);
}

/* ---- CompleteMultipartUpload ----------------------------------------------------------- */

typedef struct complete_req {
    lt_blob_part_ref *parts;
    char **etags;
    size_t n, cap;
    int64_t number; /* of the <Part> being read; 0 when not given */
    char *etag;
    bool bad;
} complete_req;

static int on_part_element(void *ctx, const char *parent, const char *name, const char *text,
                           size_t len)
{
    complete_req *cr = ctx;
    if (!strcmp(parent, "Part") && !strcmp(name, "PartNumber")) {
        char *s = lt_xstrndup(text, len);
        if (lt_parse_i64(s, 1, LT_BLOB_PART_NUMBER_MAX, &cr->number, "PartNumber", NULL) != 0)
            cr->bad = true;
        free(s);
    } else if (!strcmp(parent, "Part") && !strcmp(name, "ETag")) {
        free(cr->etag);
        cr->etag = lt_xstrndup(text, len);
    } else if (!strcmp(parent, "CompleteMultipartUpload") && !strcmp(name, "Part")) {
        if (cr->bad || cr->number == 0 || !cr->etag || cr->n == LT_BLOB_PART_NUMBER_MAX) {
            cr->bad = true;
            return LT_EINVAL;
        }
        if (cr->n == cr->cap) {
            cr->cap = cr->cap ? 2 * cr->cap : 16;
            cr->parts = lt_xrealloc(cr->parts, cr->cap * sizeof *cr->parts);
            cr->etags = lt_xrealloc(cr->etags, cr->cap * sizeof *cr->etags);
        }
        cr->etags[cr->n] = cr->etag;
        cr->parts[cr->n] = (lt_blob_part_ref){.number = (int)cr->number, .etag = cr->etag};
        cr->n++;
        cr->etag = NULL;
        cr->number = 0;
    }
    return 0;
}

static void complete_upload(lt_s3_call *call, lt_s3_response *resp)
{
    if (lt_s3__key_check_or_fail(call)) return;
    const char *id = lt_s3__param_get(call, "uploadId");
    complete_req cr = {0};
    lt_err err = {0};
    int rc = lt_s3__xml_parse(call->xml.data, call->xml.len, "CompleteMultipartUpload",
                              on_part_element, &cr, &err);
    if (rc || cr.n == 0) {
        lt_s3__fail(call, "MalformedXML", cr.n == 0 && !rc ? "the upload lists no parts" : NULL);
    } else {
        lt_blob_object obj = {0};
        lt_blob_complete_fault fault = LT_BLOB_COMPLETE_OK;
        rc = lt_blob_upload_complete(call->s3->blob, call->req.bucket, call->req.key, id, cr.parts,
                                     cr.n, &obj, &fault, &err);
        if (rc && fault == LT_BLOB_COMPLETE_INVALID_PART) {
            lt_s3__fail(call, "InvalidPart", "%s", err.msg);
        } else if (rc && fault == LT_BLOB_COMPLETE_INVALID_ORDER) {
            lt_s3__fail(call, "InvalidPartOrder", "%s", err.msg);
        } else if (rc && fault == LT_BLOB_COMPLETE_TOO_SMALL) {
            lt_s3__fail(call, "EntityTooSmall", "%s", err.msg);
        } else if (rc) {
            lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_UPLOAD);
        } else {
            lt_buf *b = &resp->body;
            lt_s3__xml_begin(b, "CompleteMultipartUploadResult");
            char *location = lt_s3__resource(call);
            lt_s3__xml_text(b, "Location", location, true);
            free(location);
            lt_s3__xml_text(b, "Bucket", call->req.bucket, false);
            lt_s3__xml_text(b, "Key", call->req.key, false);
            lt_s3__xml_etag(b, "ETag", obj.etag);
            lt_s3__xml_end(b, "CompleteMultipartUploadResult");
        }
        lt_blob_object_clear(&obj);
    }
    for (size_t i = 0; i < cr.n; i++)
        free(cr.etags[i]);
    free(cr.etags);
    free(cr.parts);
    free(cr.etag);
}

static void abort_upload(lt_s3_call *call, lt_s3_response *resp)
{
    lt_err err = {0};
    int rc = lt_blob_upload_abort(call->s3->blob, call->req.bucket, call->req.key,
                                  lt_s3__param_get(call, "uploadId"), &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_UPLOAD);
        return;
    }
    resp->status = 204;
}

/* A max-* parameter: default and cap MAX_LIST. */
static int max_param(lt_s3_call *call, const char *name, size_t *out)
{
    const char *v = lt_s3__param_get(call, name);
    int64_t n = MAX_LIST;
    if (v && lt_parse_i64(v, 0, INT32_MAX, &n, name, NULL) != 0) {
        lt_s3__fail(call, "InvalidArgument", "%s must be an integer between 0 and 2147483647",
                    name);
        return -1;
    }
    *out = n > MAX_LIST ? MAX_LIST : (size_t)n;
    return 0;
}

static void list_parts(lt_s3_call *call, lt_s3_response *resp)
{
    const char *id = lt_s3__param_get(call, "uploadId");
    size_t max = 0;
    if (max_param(call, "max-parts", &max)) return;
    int64_t marker = 0;
    const char *m = lt_s3__param_get(call, "part-number-marker");
    if (m &&
        lt_parse_i64(m, 0, LT_BLOB_PART_NUMBER_MAX, &marker, "part-number-marker", NULL) != 0) {
        lt_s3__fail(call, "InvalidArgument",
                    "part-number-marker must be an integer between 0 and 10000");
        return;
    }
    lt_blob_part *parts = NULL;
    size_t n = 0;
    bool truncated = false;
    lt_err err = {0};
    int rc = lt_blob_upload_parts(call->s3->blob, call->req.bucket, call->req.key, id, (int)marker,
                                  max, &parts, &n, &truncated, &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_UPLOAD);
        return;
    }
    lt_buf *b = &resp->body;
    lt_s3__xml_begin(b, "ListPartsResult");
    lt_s3__xml_text(b, "Bucket", call->req.bucket, false);
    lt_s3__xml_text(b, "Key", call->req.key, false);
    lt_s3__xml_text(b, "UploadId", id, false);
    lt_s3__xml_owner(b, "Initiator");
    lt_s3__xml_owner(b, "Owner");
    lt_s3__xml_text(b, "StorageClass", "STANDARD", false);
    lt_s3__xml_u64(b, "PartNumberMarker", (uint64_t)marker);
    lt_s3__xml_u64(b, "NextPartNumberMarker", n ? (uint64_t)parts[n - 1].number : (uint64_t)marker);
    lt_s3__xml_u64(b, "MaxParts", max);
    lt_s3__xml_bool(b, "IsTruncated", truncated);
    for (size_t i = 0; i < n; i++) {
        lt_s3__xml_open(b, "Part");
        lt_s3__xml_u64(b, "PartNumber", (uint64_t)parts[i].number);
        lt_s3__xml_time(b, "LastModified", parts[i].last_modified_ms);
        lt_s3__xml_etag(b, "ETag", parts[i].etag);
        lt_s3__xml_u64(b, "Size", parts[i].size);
        lt_s3__xml_close(b, "Part");
    }
    lt_s3__xml_end(b, "ListPartsResult");
    free(parts);
}

static void list_uploads(lt_s3_call *call, lt_s3_response *resp)
{
    size_t max = 0;
    if (max_param(call, "max-uploads", &max)) return;
    const char *prefix = lt_s3__param_get(call, "prefix");
    const char *key_marker = lt_s3__param_get(call, "key-marker");
    const char *id_marker = lt_s3__param_get(call, "upload-id-marker");
    const char *enc = lt_s3__param_get(call, "encoding-type");
    bool url = enc && !strcmp(enc, "url");
    lt_blob_upload *ups = NULL;
    size_t n = 0;
    bool truncated = false;
    lt_err err = {0};
    int rc = lt_blob_upload_list(call->s3->blob, call->req.bucket, prefix, key_marker, id_marker,
                                 max, &ups, &n, &truncated, &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        return;
    }
    lt_buf *b = &resp->body;
    lt_s3__xml_begin(b, "ListMultipartUploadsResult");
    lt_s3__xml_text(b, "Bucket", call->req.bucket, false);
    lt_s3__xml_text(b, "KeyMarker", key_marker ? key_marker : "", url);
    lt_s3__xml_text(b, "UploadIdMarker", id_marker ? id_marker : "", false);
    if (truncated && n) {
        lt_s3__xml_text(b, "NextKeyMarker", ups[n - 1].key, url);
        lt_s3__xml_text(b, "NextUploadIdMarker", ups[n - 1].id, false);
    }
    if (prefix) lt_s3__xml_text(b, "Prefix", prefix, url);
    if (url) lt_s3__xml_text(b, "EncodingType", "url", false);
    lt_s3__xml_u64(b, "MaxUploads", max);
    lt_s3__xml_bool(b, "IsTruncated", truncated);
    for (size_t i = 0; i < n; i++) {
        lt_s3__xml_open(b, "Upload");
        lt_s3__xml_text(b, "Key", ups[i].key, url);
        lt_s3__xml_text(b, "UploadId", ups[i].id, false);
        lt_s3__xml_owner(b, "Initiator");
        lt_s3__xml_owner(b, "Owner");
        lt_s3__xml_text(b, "StorageClass", "STANDARD", false);
        lt_s3__xml_time(b, "Initiated", ups[i].initiated_ms);
        lt_s3__xml_close(b, "Upload");
    }
    lt_s3__xml_end(b, "ListMultipartUploadsResult");
    lt_blob_upload_list_free(ups, n);
}

const lt_s3__op lt_s3__op_create_multipart_upload = {.name = "CreateMultipartUpload",
                                                     .finish = create_upload};
const lt_s3__op lt_s3__op_upload_part = {
    .name = "UploadPart", .body = LT_S3__BODY_STREAM, .begin = part_begin, .finish = part_finish};
const lt_s3__op lt_s3__op_complete_multipart_upload = {.name = "CompleteMultipartUpload",
                                                       .body = LT_S3__BODY_XML,
                                                       .xml_max = 4u << 20,
                                                       .finish = complete_upload};
const lt_s3__op lt_s3__op_abort_multipart_upload = {.name = "AbortMultipartUpload",
                                                    .finish = abort_upload};
const lt_s3__op lt_s3__op_list_parts = {.name = "ListParts", .finish = list_parts};
const lt_s3__op lt_s3__op_list_multipart_uploads = {.name = "ListMultipartUploads",
                                                    .finish = list_uploads};
