/* Batch transform jobs: CreateTransformJob, DescribeTransformJob, ListTransformJobs,
 * StopTransformJob. Create checks the model (that it exists and is not multi-model: a
 * built-in algorithm's model is transformed in-process, any other through its serve
 * programs), the input data, SplitType,
 * DataProcessing (its filters parsed by base's JSONPath subset) and the output URI, stores the
 * job InProgress and tells the executor, whose transform runner (`lathe job run transform
 * NAME`) does the work. */
#include "api/jobs_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *transform_status(const json_t *doc)
{
    return lt_json_str(doc, "TransformJobStatus");
}

const lt_api_kind lt_api__transform_job_kind = {LT_STORE_KIND_TRANSFORM_JOB, "Transform job",
                                                "TransformJobName", "TransformJobArn",
                                                transform_status};
#define KIND (&lt_api__transform_job_kind)

static int check_model(lt_api_ctx *ctx, const char *model, lt_err *err)
{
    char *spec_name = lt_xasprintf("model/%s", model);
    lt_store_resource res = {0};
    lt_err inner = {0};
    int rc = lt_store_resource_get(ctx->store, LT_STORE_KIND_JOB_SPEC, spec_name, &res, &inner);
    free(spec_name);
    if (rc == LT_ENOTFOUND)
        rc = lt_err_set(err, LT_EINVAL, "Could not find model \"%s\".", model);
    else if (rc)
        rc = lt_err_set(err, rc, "%s", inner.msg);
    lt_store_resource_clear(&res);
    json_t *doc = NULL;
    if (!rc && lt_store_resource_doc(ctx->store, "model", model, &doc, &inner) == 0) {
        const char *mode = lt_json_str(json_object_get(doc, "PrimaryContainer"), "Mode");
        if (mode && strcmp(mode, "MultiModel") == 0)
            rc = lt_err_set(err, LT_EINVAL,
                            "Model \"%s\" is a multi-model model (Mode MultiModel): batch "
                            "transform takes a model of one artifact.",
                            model);
    }
    json_decref(doc);
    return rc;
}

/* DataProcessing: each filter must parse as the JSONPath subset the runner applies; the
 * filters and JoinSource apply to CSV and JSON records only (as SageMaker's do). */
static int check_processing(const json_t *dp, const json_t *in, lt_err *err)
{
    static const char *const filters[] = {"InputFilter", "OutputFilter", NULL};
    bool active = false;
    for (size_t i = 0; filters[i]; i++) {
        const char *f = lt_json_str(dp, filters[i]);
        if (!f) continue;
        lt_json_path *path = NULL;
        lt_err inner = {0};
        if (lt_json_path_parse(f, &path, &inner) != 0)
            return lt_err_set(err, LT_EINVAL, "DataProcessing.%s: %s", filters[i], inner.msg);
        active = active || !lt_json_path_is_root(path);
        lt_json_path_free(path);
    }
    const char *join = lt_json_str(dp, "JoinSource");
    if (join && strcmp(join, "None") != 0 && strcmp(join, "Input") != 0)
        return lt_err_set(err, LT_EINVAL,
                          "DataProcessing.JoinSource '%s': expected None or Input.", join);
    active = active || (join && strcmp(join, "Input") == 0);
    const char *split = lt_json_str(in, "SplitType");
    const char *type = lt_json_str(in, "ContentType");
    if (active && split && strcmp(split, "RecordIO") == 0)
        return lt_err_set(err, LT_EINVAL,
                          "DataProcessing filters and JoinSource apply to CSV and JSON records; "
                          "TransformInput.SplitType is RecordIO.");
    if (active && type && strncmp(type, "text/csv", 8) != 0 &&
        strncmp(type, "application/json", 16) != 0)
        return lt_err_set(err, LT_EINVAL,
                          "DataProcessing filters and JoinSource apply to CSV and JSON records; "
                          "TransformInput.ContentType is %s.",
                          type);
    return 0;
}

static int create_transform_job(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                lt_err *err)
{
    const char *name = lt_json_str(input, "TransformJobName");
    json_t *in = json_object_get(input, "TransformInput");
    json_t *s3 = json_object_get(json_object_get(in, "DataSource"), "S3DataSource");
    const char *type = lt_json_str(s3, "S3DataType");
    const char *split = lt_json_str(in, "SplitType");
    int rc = check_model(ctx, lt_json_str(input, "ModelName"), err);
    if (!rc && type && strcmp(type, "AugmentedManifestFile") == 0)
        rc = lt_err_set(err, LT_EINVAL, "TransformInput: AugmentedManifestFile is not supported.");
    if (!rc && split && strcmp(split, "TFRecord") == 0)
        rc = lt_err_set(err, LT_EINVAL,
                        "TransformInput.SplitType TFRecord is not supported; use Line, RecordIO "
                        "or None.");
    else if (!rc && split && strcmp(split, "None") != 0 && strcmp(split, "Line") != 0 &&
             strcmp(split, "RecordIO") != 0)
        rc = lt_err_set(err, LT_EINVAL,
                        "TransformInput.SplitType '%s': expected None, Line or RecordIO.", split);
    if (!rc) rc = lt_api__check_s3_uri(lt_json_str(s3, "S3Uri"), "TransformInput.DataSource.S3DataSource.S3Uri", err);
    if (!rc) rc = lt_api__check_s3_data(ctx, lt_json_str(s3, "S3Uri"), type, "TransformInput", err);
    if (!rc)
        rc = lt_api__check_s3_uri(lt_json_str(json_object_get(input, "TransformOutput"), "S3OutputPath"),
                                  "TransformOutput.S3OutputPath", err);
    if (!rc) rc = check_processing(json_object_get(input, "DataProcessing"), in, err);
    /* Refused rather than stored and ignored: nothing would be captured. */
    if (!rc && json_object_get(input, "DataCaptureConfig"))
        rc = lt_err_set(err, LT_EINVAL,
                        "DataCaptureConfig is not supported for batch transform: the inputs and "
                        "outputs are the job's own S3 objects (TransformInput and "
                        "TransformOutput.S3OutputPath).");
    if (rc) return rc;
    json_t *doc = json_object();
    static const char *const members[] = {
        "ModelName", "MaxConcurrentTransforms", "ModelClientConfig", "MaxPayloadInMB",
        "BatchStrategy", "Environment", "TransformInput", "TransformOutput", "TransformResources",
        "DataProcessing", "ExperimentConfig", NULL};
    lt_api__copy_members(doc, input, members);
    /* Unset MaxPayloadInMB and BatchStrategy stay unset: the runner takes a serve program's
     * /execution-parameters for them, and SageMaker's defaults (6 MB, MultiRecord) after. */
    json_object_set_new(doc, "TransformJobStatus", json_string("InProgress"));
    char *arn = NULL;
    rc = lt_api__resource_create(ctx, KIND, name, doc, NULL, json_object_get(input, "Tags"), &arn, err);
    json_decref(doc);
    if (rc) return rc;
    lt_api__job_notify(ctx, "transform", name, "start");
    *output = lt_api__arn_output(KIND, arn);
    free(arn);
    return 0;
}

static int describe_transform_job(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                  lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "TransformJobName"), err);
}

static json_t *transform_summary(const json_t *doc)
{
    static const char *const members[] = {"TransformJobName", "TransformJobArn", "CreationTime",
                                          "TransformEndTime", "LastModifiedTime",
                                          "TransformJobStatus", "FailureReason", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    return s;
}

static int list_transform_jobs(lt_api_ctx *ctx, const json_t *input, json_t **output,
                               lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    return lt_api__resource_list(ctx, input, &params, "TransformJobSummaries", transform_summary,
                                 output, err);
}

static int mark_stopping(lt_api_ctx *ctx, const json_t *input, json_t *doc, lt_err *err)
{
    (void)ctx;
    (void)input;
    const char *status = lt_json_str(doc, "TransformJobStatus");
    if (status && strcmp(status, "Stopping") == 0) return 0;
    if (!status || strcmp(status, "InProgress") != 0)
        return lt_err_set(err, LT_EINVAL,
                          "The transform job '%s' is not in progress (its status is %s), so it "
                          "cannot be stopped.",
                          lt_json_str(doc, "TransformJobName"), status ? status : "unknown");
    json_object_set_new(doc, "TransformJobStatus", json_string("Stopping"));
    return 0;
}

static int stop_transform_job(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    json_t *answer = NULL;
    int rc = lt_api__resource_update(ctx, KIND, input, NULL, mark_stopping, &answer, err);
    json_decref(answer);
    *output = NULL;
    return rc;
}

const lt_api_op lt_api__transform_job_ops[] = {
    {"CreateTransformJob", create_transform_job, NULL, NULL},
    {"DescribeTransformJob", describe_transform_job, NULL, NULL},
    {"ListTransformJobs", list_transform_jobs, NULL, NULL},
    {"StopTransformJob", stop_transform_job, NULL, NULL},
    {NULL, NULL, NULL, NULL},
};
