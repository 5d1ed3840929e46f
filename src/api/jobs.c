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

int lt_api__spec_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *spec_kind,
                        const char *name, json_t *doc, json_t *image, const json_t *tags,
                        json_t **output, lt_err *err)
{
    char *arn = NULL;
    json_t *spec = json_pack("{s:O}", "Image", image);
    char *spec_text = lt_json_dump(spec);
    char *spec_name = lt_xasprintf("%s/%s", spec_kind, name);
    char *spec_arn = lt_xasprintf("lathe:job-spec/%s", spec_name);
    lt_store_resource res = {.kind = LT_STORE_KIND_JOB_SPEC,
                             .name = spec_name,
                             .arn = spec_arn,
                             .creation_ms = ctx->now_ms,
                             .modified_ms = ctx->now_ms,
                             .doc = spec_text};
    int rc = lt_store_txn_begin(ctx->store, err);
    if (!rc) {
        int r = lt_api__resource_create(ctx, k, name, doc, NULL, tags, &arn, err);
        if (!r) {
            /* A spec left by a deleted resource of the same name is replaced. */
            lt_store_resource_delete(ctx->store, LT_STORE_KIND_JOB_SPEC, spec_name, &(lt_err){0});
            r = lt_store_resource_create(ctx->store, &res, err);
        }
        rc = lt_store_txn_end(ctx->store, r, err);
    }
    free(spec_arn);
    free(spec_name);
    free(spec_text);
    json_decref(spec);
    json_decref(doc);
    json_decref(image);
    if (rc) {
        free(arn);
        return rc;
    }
    *output = lt_api__arn_output(k, arn);
    free(arn);
    return 0;
}

int lt_api__job_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *job_kind,
                       const char *name, json_t *doc, json_t *image, const json_t *tags,
                       json_t **output, lt_err *err)
{
    int rc = lt_api__spec_create(ctx, k, job_kind, name, doc, image, tags, output, err);
    if (!rc) lt_api__job_notify(ctx, job_kind, name, "start");
    return rc;
}

/* InProgress -> Stopping (a training job also records the secondary status); Stopping
 * again is a no-op; an ended job cannot be stopped. */
static int mark_stopping(lt_api_ctx *ctx, const json_t *input, json_t *doc, lt_err *err)
{
    bool training = json_object_get(input, "TrainingJobName") != NULL;
    const char *member = training ? "TrainingJobStatus" : "ProcessingJobStatus";
    const char *status = lt_json_str(doc, member);
    if (status && strcmp(status, "Stopping") == 0) return 0;
    if (!status || strcmp(status, "InProgress") != 0)
        return lt_err_set(err, LT_EINVAL,
                          "The %s job '%s' is not in progress (its status is %s), so it cannot "
                          "be stopped.",
                          training ? "training" : "processing",
                          lt_json_str(doc, training ? "TrainingJobName" : "ProcessingJobName"),
                          status ? status : "unknown");
    json_object_set_new(doc, member, json_string("Stopping"));
    if (training) lt_api__secondary_status(doc, "Stopping", "Stopping the training job", ctx->now_ms);
    return 0;
}

int lt_api__job_stop(lt_api_ctx *ctx, const lt_api_kind *k, const char *job_kind,
                     const json_t *input, lt_err *err)
{
    json_t *answer = NULL;
    int rc = lt_api__resource_update(ctx, k, input, NULL, mark_stopping, &answer, err);
    json_decref(answer);
    if (!rc) lt_api__job_notify(ctx, job_kind, lt_json_str(input, k->name_member), "stop");
    return rc;
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
