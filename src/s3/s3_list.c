/* ListObjectsV2 (list-type=2: prefix, delimiter, max-keys, continuation-token,
 * start-after, fetch-owner, encoding-type=url) and ListObjects V1 (marker, NextMarker).
 * With encoding-type=url, Key, Prefix, Delimiter, StartAfter, Marker and NextMarker are
 * percent-encoded in the XML, as botocore expects (it sets encoding-type=url itself and
 * decodes). Continuation tokens are base64 of the last entry of the previous page. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_KEYS_DEFAULT = 1000 };

typedef struct list_args {
    const char *prefix, *delimiter;
    size_t max_keys;
    bool url;
} list_args;

static int common_args(lt_s3_call *call, list_args *a)
{
    a->prefix = lt_s3__param_get(call, "prefix");
    a->delimiter = lt_s3__param_get(call, "delimiter");
    if (!a->prefix) a->prefix = "";
    if (a->delimiter && !*a->delimiter) a->delimiter = NULL;
    const char *enc = lt_s3__param_get(call, "encoding-type");
    if (enc && strcmp(enc, "url") != 0) {
        lt_s3__fail(call, "InvalidArgument", "Invalid Encoding Method specified in Request");
        return -1;
    }
    a->url = enc != NULL;
    a->max_keys = MAX_KEYS_DEFAULT;
    const char *mk = lt_s3__param_get(call, "max-keys");
    if (mk) {
        int64_t v = 0;
        lt_err err = {0};
        if (lt_parse_i64(mk, 0, INT32_MAX, &v, "max-keys", &err) != 0) {
            lt_s3__fail(call, "InvalidArgument",
                        "Provided max-keys not an integer or within integer range");
            return -1;
        }
        a->max_keys = v > MAX_KEYS_DEFAULT ? MAX_KEYS_DEFAULT : (size_t)v;
    }
    if (strlen(a->prefix) > LT_BLOB_KEY_MAX) {
        lt_s3__fail(call, "KeyTooLongError", "the prefix is longer than a key can be");
        return -1;
    }
    return 0;
}

static void contents(lt_buf *b, const lt_blob_list_result *res, bool url, bool owner)
{
    for (size_t i = 0; i < res->n_objects; i++) {
        const lt_blob_object *o = &res->objects[i];
        lt_s3__xml_open(b, "Contents");
        lt_s3__xml_text(b, "Key", o->key, url);
        lt_s3__xml_time(b, "LastModified", o->last_modified_ms);
        lt_s3__xml_etag(b, "ETag", o->etag);
        lt_s3__xml_u64(b, "Size", o->size);
        if (owner) lt_s3__xml_owner(b, "Owner");
        lt_s3__xml_text(b, "StorageClass", "STANDARD", false);
        lt_s3__xml_close(b, "Contents");
    }
    for (size_t i = 0; i < res->n_prefixes; i++) {
        lt_s3__xml_open(b, "CommonPrefixes");
        lt_s3__xml_text(b, "Prefix", res->prefixes[i], url);
        lt_s3__xml_close(b, "CommonPrefixes");
    }
}

static int run_list(lt_s3_call *call, const list_args *a, const char *start_after,
                    lt_blob_list_result *res)
{
    lt_blob_list_params params = {.prefix = a->prefix,
                                  .delimiter = a->delimiter,
                                  .start_after = start_after,
                                  .max_keys = a->max_keys};
    lt_err err = {0};
    int rc = lt_blob_list(call->s3->blob, call->req.bucket, &params, res, &err);
    if (rc) lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
    return rc;
}

static void list_v2(lt_s3_call *call, lt_s3_response *resp)
{
    list_args a;
    if (common_args(call, &a)) return;
    const char *token = lt_s3__param_get(call, "continuation-token");
    const char *start_after = lt_s3__param_get(call, "start-after");
    const char *fetch_owner = lt_s3__param_get(call, "fetch-owner");
    char *resume = NULL;
    if (token) {
        size_t tlen = strlen(token), n = 0;
        resume = lt_xmalloc(tlen + 1);
        if (!*token || lt_base64_decode(token, tlen, (uint8_t *)resume, tlen, &n) != 0 ||
            memchr(resume, '\0', n)) {
            free(resume);
            lt_s3__fail(call, "InvalidArgument", "The continuation token provided is incorrect");
            return;
        }
        resume[n] = '\0';
    }
    lt_blob_list_result res;
    if (run_list(call, &a, token ? resume : start_after, &res)) {
        free(resume);
        return;
    }
    lt_buf *b = &resp->body;
    lt_s3__xml_begin(b, "ListBucketResult");
    lt_s3__xml_text(b, "Name", call->req.bucket, false);
    lt_s3__xml_text(b, "Prefix", a.prefix, a.url);
    if (a.delimiter) lt_s3__xml_text(b, "Delimiter", a.delimiter, a.url);
    lt_s3__xml_u64(b, "MaxKeys", a.max_keys);
    if (a.url) lt_s3__xml_text(b, "EncodingType", "url", false);
    lt_s3__xml_u64(b, "KeyCount", res.n_objects + res.n_prefixes);
    lt_s3__xml_bool(b, "IsTruncated", res.truncated);
    if (token) lt_s3__xml_text(b, "ContinuationToken", token, false);
    if (res.truncated && res.next_start_after) {
        char *next =
            lt_base64_encode((const uint8_t *)res.next_start_after, strlen(res.next_start_after));
        lt_s3__xml_text(b, "NextContinuationToken", next, false);
        free(next);
    }
    if (start_after) lt_s3__xml_text(b, "StartAfter", start_after, a.url);
    contents(b, &res, a.url, fetch_owner && !strcmp(fetch_owner, "true"));
    lt_s3__xml_end(b, "ListBucketResult");
    lt_blob_list_result_free(&res);
    free(resume);
}

static void list_v1(lt_s3_call *call, lt_s3_response *resp)
{
    list_args a;
    if (common_args(call, &a)) return;
    const char *marker = lt_s3__param_get(call, "marker");
    lt_blob_list_result res;
    if (run_list(call, &a, marker, &res)) return;
    lt_buf *b = &resp->body;
    lt_s3__xml_begin(b, "ListBucketResult");
    lt_s3__xml_text(b, "Name", call->req.bucket, false);
    lt_s3__xml_text(b, "Prefix", a.prefix, a.url);
    lt_s3__xml_text(b, "Marker", marker ? marker : "", a.url);
    /* S3 documents NextMarker only with a delimiter; clients fall back to the last key
     * without one, and both agree with always sending it. */
    if (res.truncated && res.next_start_after)
        lt_s3__xml_text(b, "NextMarker", res.next_start_after, a.url);
    lt_s3__xml_u64(b, "MaxKeys", a.max_keys);
    if (a.delimiter) lt_s3__xml_text(b, "Delimiter", a.delimiter, a.url);
    if (a.url) lt_s3__xml_text(b, "EncodingType", "url", false);
    lt_s3__xml_bool(b, "IsTruncated", res.truncated);
    contents(b, &res, a.url, true);
    lt_s3__xml_end(b, "ListBucketResult");
    lt_blob_list_result_free(&res);
}

const lt_s3__op lt_s3__op_list_objects = {.name = "ListObjects", .finish = list_v1};
const lt_s3__op lt_s3__op_list_objects_v2 = {.name = "ListObjectsV2", .finish = list_v2};
