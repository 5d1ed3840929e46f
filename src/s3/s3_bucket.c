/* Bucket operations: ListBuckets, CreateBucket (its CreateBucketConfiguration body is
 * read, checked for well-formedness and otherwise ignored: there is one region),
 * HeadBucket, DeleteBucket and GetBucketLocation. */
#include "s3/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lathe's own routes share the path space with path-style buckets. */
static const char *const reserved[] = {"ping", "metrics", "endpoints", "api", "studio"};

int lt_s3__bucket_name_check_or_fail(lt_s3_call *call, const char *name)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (!strcmp(name, reserved[i])) {
            lt_s3__fail(call, "InvalidBucketName",
                        "The bucket name '%s' is reserved by Lathe for its own endpoints", name);
            return -1;
        }
    }
    lt_err err = {0};
    if (lt_blob_bucket_name_check(name, &err) != 0) {
        lt_s3__fail(call, "InvalidBucketName", "The specified bucket is not valid: %s", err.msg);
        return -1;
    }
    return 0;
}

static void list_buckets(lt_s3_call *call, lt_s3_response *resp)
{
    lt_blob_bucket *buckets = NULL;
    size_t n = 0;
    lt_err err = {0};
    int rc = lt_blob_bucket_list(call->s3->blob, &buckets, &n, &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        return;
    }
    lt_buf *b = &resp->body;
    lt_s3__xml_begin(b, "ListAllMyBucketsResult");
    lt_s3__xml_owner(b, "Owner");
    lt_s3__xml_open(b, "Buckets");
    for (size_t i = 0; i < n; i++) {
        lt_s3__xml_open(b, "Bucket");
        lt_s3__xml_text(b, "Name", buckets[i].name, false);
        lt_s3__xml_time(b, "CreationDate", buckets[i].created_ms);
        lt_s3__xml_close(b, "Bucket");
    }
    lt_s3__xml_close(b, "Buckets");
    lt_s3__xml_end(b, "ListAllMyBucketsResult");
    free(buckets);
}

static int ignore_element(void *ctx, const char *parent, const char *name, const char *text,
                          size_t len)
{
    (void)ctx, (void)parent, (void)name, (void)text, (void)len;
    return 0;
}

static void create_bucket(lt_s3_call *call, lt_s3_response *resp)
{
    const char *name = call->req.bucket;
    if (lt_s3__bucket_name_check_or_fail(call, name)) return;
    lt_err err = {0};
    if (call->xml.len > 0 &&
        lt_s3__xml_parse(call->xml.data, call->xml.len, "CreateBucketConfiguration", ignore_element,
                         NULL, &err) != 0) {
        lt_s3__fail(call, "MalformedXML", NULL);
        return;
    }
    int rc = lt_blob_bucket_create(call->s3->blob, name, &err);
    if (rc == LT_ECONFLICT) {
        lt_s3__fail(call, "BucketAlreadyOwnedByYou", NULL);
        return;
    }
    if (rc == LT_EINVAL) {
        lt_s3__fail(call, "InvalidBucketName", "%s", err.msg);
        return;
    }
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        return;
    }
    char *location = lt_xasprintf("/%s", name);
    lt_s3__header_add(resp, "Location", location);
    free(location);
}

static void head_bucket(lt_s3_call *call, lt_s3_response *resp)
{
    lt_err err = {0};
    int rc = lt_blob_bucket_head(call->s3->blob, call->req.bucket, NULL, &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        return;
    }
    lt_s3__header_add(resp, "x-amz-bucket-region", call->s3->region);
}

static void delete_bucket(lt_s3_call *call, lt_s3_response *resp)
{
    lt_err err = {0};
    int rc = lt_blob_bucket_delete(call->s3->blob, call->req.bucket, &err);
    if (rc == LT_ECONFLICT) {
        lt_s3__fail(call, "BucketNotEmpty", NULL);
        return;
    }
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        return;
    }
    resp->status = 204;
}

static void get_bucket_location(lt_s3_call *call, lt_s3_response *resp)
{
    lt_err err = {0};
    int rc = lt_blob_bucket_head(call->s3->blob, call->req.bucket, NULL, &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        return;
    }
    /* S3 answers an empty constraint for us-east-1 (clients read that as us-east-1). */
    lt_buf *b = &resp->body;
    lt_buf_printf(b, NULL,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"%s\">",
                  LT_S3__XMLNS);
    if (strcmp(call->s3->region, "us-east-1") != 0)
        lt_s3__xml_escape(b, call->s3->region, strlen(call->s3->region));
    lt_buf_puts(b, "</LocationConstraint>", NULL);
}

const lt_s3__op lt_s3__op_list_buckets = {.name = "ListBuckets", .finish = list_buckets};
const lt_s3__op lt_s3__op_create_bucket = {
    .name = "CreateBucket", .body = LT_S3__BODY_XML, .xml_max = 64 * 1024, .finish = create_bucket};
const lt_s3__op lt_s3__op_head_bucket = {.name = "HeadBucket", .finish = head_bucket};
const lt_s3__op lt_s3__op_delete_bucket = {.name = "DeleteBucket", .finish = delete_bucket};
const lt_s3__op lt_s3__op_get_bucket_location = {.name = "GetBucketLocation",
                                                 .finish = get_bucket_location};
