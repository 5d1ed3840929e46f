/* What the job families share: S3 checks, the create-with-spec transaction and the
 * executor notification. */
#include "api/jobs_internal.h"

#include <stdlib.h>
#include <string.h>

int lt_api__check_s3_uri(const char *uri, const char *member, lt_err *err)
{
    char *bucket = NULL, *key = NULL;
    lt_err inner = {0};
    int rc = lt_blob_uri_parse(uri, &bucket, &key, &inner);
    free(bucket);
    free(key);
    if (rc)
        return lt_err_set(err, LT_EINVAL, "%s: '%s' is not an S3 URI (s3://bucket/prefix): %s",
                          member, uri, inner.msg);
    return 0;
}

static int found_one(void *ctx, const lt_blob_object *obj, lt_err *err)
{
    (void)obj;
    (void)err;
    *(bool *)ctx = true;
    return 1; /* stop at the first object */
}

int lt_api__check_s3_data(lt_api_ctx *ctx, const char *uri, const char *data_type,
                          const char *what, lt_err *err)
{
    lt_err inner = {0};
    if (data_type && strcmp(data_type, "S3Prefix") != 0) {
        lt_blob_object obj = {0};
        char *bucket = NULL, *key = NULL;
        int rc = lt_blob_uri_parse(uri, &bucket, &key, &inner);
        if (!rc) rc = lt_blob_object_stat(ctx->api->blob, bucket, key, &obj, &inner);
        lt_blob_object_clear(&obj);
        free(bucket);
        free(key);
        if (rc)
            return lt_err_set(err, LT_EINVAL, "%s: the %s '%s' cannot be read: %s", what,
                              data_type, uri, inner.msg);
        return 0;
    }
    bool any = false;
    int rc = lt_blob_uri_list(ctx->api->blob, uri, found_one, &any, &inner);
    if (rc < 0 && rc != LT_ENOTFOUND) return lt_err_set(err, rc, "%s", inner.msg);
    if (!any)
        return lt_err_set(err, LT_EINVAL, "%s: no S3 objects found under S3 URL '%s'.", what,
                          uri);
    return 0;
}

void lt_api__job_notify(lt_api_ctx *ctx, const char *job_kind, const char *name,
                        const char *action)
{
    if (ctx->api->on_job) ctx->api->on_job(ctx->api->on_job_ctx, job_kind, name, action);
}

int lt_api__job_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *job_kind,
                       const char *name, json_t *doc, json_t *image, const json_t *tags,
                       char **arn_out, lt_err *err)
{
    json_t *spec = json_pack("{s:O}", "Image", image);
    char *spec_text = lt_json_dump(spec);
    char *spec_name = lt_xasprintf("%s/%s", job_kind, name);
    char *spec_arn = lt_xasprintf("lathe:job-spec/%s", spec_name);
    lt_store_resource res = {.kind = LT_STORE_KIND_JOB_SPEC,
                             .name = spec_name,
                             .arn = spec_arn,
                             .creation_ms = ctx->now_ms,
                             .modified_ms = ctx->now_ms,
                             .doc = spec_text};
    int rc = lt_store_txn_begin(ctx->store, err);
    if (!rc) {
        int r = lt_api__resource_create(ctx, k, name, doc, NULL, tags, arn_out, err);
        if (!r) {
            /* A spec left by a deleted job of the same name is replaced. */
            lt_store_resource_delete(ctx->store, LT_STORE_KIND_JOB_SPEC, spec_name, &(lt_err){0});
            r = lt_store_resource_create(ctx->store, &res, err);
        }
        rc = lt_store_txn_end(ctx->store, r, err);
    }
    free(spec_arn);
    free(spec_name);
    free(spec_text);
    json_decref(spec);
    if (rc) {
        free(*arn_out);
        *arn_out = NULL;
        return rc;
    }
    lt_api__job_notify(ctx, job_kind, name, "start");
    return 0;
}

void lt_api__secondary_status(json_t *doc, const char *status, const char *message,
                              int64_t now_ms)
{
    json_t *list = json_object_get(doc, "SecondaryStatusTransitions");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(doc, "SecondaryStatusTransitions", list);
    }
    size_t n = json_array_size(list);
    if (n > 0) {
        json_t *last = json_array_get(list, n - 1);
        if (!json_object_get(last, "EndTime"))
            json_object_set_new(last, "EndTime", lt_json_epoch_ms(now_ms));
    }
    json_array_append_new(list, json_pack("{s:s, s:o, s:s}", "Status", status, "StartTime",
                                          lt_json_epoch_ms(now_ms), "StatusMessage", message));
    json_object_set_new(doc, "SecondaryStatus", json_string(status));
}
