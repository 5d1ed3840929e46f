/* Processing jobs: CreateProcessingJob, DescribeProcessingJob, ListProcessingJobs,
 * StopProcessingJob. The same executor runs them as training jobs, with the processing
 * layout (/opt/ml/processing/..., /opt/ml/config/) and AppSpecification's entry point. */
#include "api/jobs_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *processing_status(const json_t *doc)
{
    return lt_json_str(doc, "ProcessingJobStatus");
}

const lt_api_kind lt_api__processing_job_kind = {LT_STORE_KIND_PROCESSING_JOB, "Processing job",
                                                 "ProcessingJobName", "ProcessingJobArn",
                                                 processing_status};
#define KIND (&lt_api__processing_job_kind)

static int check_local_path(const char *path, const char *what, lt_err *err)
{
    if (!path || !lt_str_starts_with(path, "/opt/ml/processing/") || strstr(path, "/../") ||
        lt_str_ends_with(path, "/.."))
        return lt_err_set(err, LT_EINVAL,
                          "%s: LocalPath '%s' must be a path under /opt/ml/processing/.", what,
                          path ? path : "");
    return 0;
}

static int check_inputs(lt_api_ctx *ctx, const json_t *inputs, lt_err *err)
{
    size_t i;
    json_t *in;
    json_array_foreach(inputs, i, in) {
        const char *name = lt_json_str(in, "InputName");
        char *what = lt_xasprintf("ProcessingInputs '%s'", name);
        json_t *s3 = json_object_get(in, "S3Input");
        int rc = 0;
        if (!s3)
            rc = lt_err_set(err, LT_EINVAL,
                            "%s: only S3Input is supported (DatasetDefinition is not).", what);
        if (!rc) rc = check_local_path(lt_json_str(s3, "LocalPath"), what, err);
        const char *mode = lt_json_str(s3, "S3InputMode");
        const char *compression = lt_json_str(s3, "S3CompressionType");
        if (!rc && mode && strcmp(mode, "Pipe") == 0)
            rc = lt_err_set(err, LT_EINVAL, "%s: S3InputMode Pipe is not supported for processing "
                                            "inputs yet; use File.", what);
        if (!rc && compression && strcmp(compression, "Gzip") == 0)
            rc = lt_err_set(err, LT_EINVAL, "%s: S3CompressionType Gzip applies to Pipe mode, "
                                            "which processing inputs do not support yet.", what);
        if (!rc) rc = lt_api__check_s3_uri(lt_json_str(s3, "S3Uri"), what, err);
        if (!rc)
            rc = lt_api__check_s3_data(ctx, lt_json_str(s3, "S3Uri"), lt_json_str(s3, "S3DataType"),
                                       what, err);
        free(what);
        if (rc) return rc;
    }
    return 0;
}

static int check_outputs(const json_t *config, lt_err *err)
{
    size_t i;
    json_t *out;
    json_array_foreach(json_object_get(config, "Outputs"), i, out) {
        const char *name = lt_json_str(out, "OutputName");
        char *what = lt_xasprintf("ProcessingOutputConfig.Outputs '%s'", name);
        json_t *s3 = json_object_get(out, "S3Output");
        int rc = 0;
        if (!s3)
            rc = lt_err_set(err, LT_EINVAL, "%s: only S3Output is supported.", what);
        if (!rc) rc = check_local_path(lt_json_str(s3, "LocalPath"), what, err);
        if (!rc) rc = lt_api__check_s3_uri(lt_json_str(s3, "S3Uri"), what, err);
        free(what);
        if (rc) return rc;
    }
    return 0;
}

static int create_processing_job(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                 lt_err *err)
{
    const char *name = lt_json_str(input, "ProcessingJobName");
    int rc = check_inputs(ctx, json_object_get(input, "ProcessingInputs"), err);
    if (!rc) rc = check_outputs(json_object_get(input, "ProcessingOutputConfig"), err);
    json_t *image = NULL;
    if (!rc)
        rc = lt_api_image_resolve(ctx->store,
                                  lt_json_str(json_object_get(input, "AppSpecification"),
                                              "ImageUri"),
                                  &image, err);
    if (!rc && strcmp(lt_json_str(image, "Type"), "algorithm") == 0)
        rc = lt_err_set(err, LT_EINVAL,
                        "AppSpecification.ImageUri names a built-in algorithm, which has no "
                        "processing entry point.");
    if (rc) {
        json_decref(image);
        return rc;
    }
    json_t *doc = json_object();
    static const char *const members[] = {
        "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources", "StoppingCondition",
        "AppSpecification", "Environment",            "NetworkConfig",       "RoleArn",
        "ExperimentConfig", NULL};
    lt_api__copy_members(doc, input, members);
    json_object_set_new(doc, "ProcessingJobStatus", json_string("InProgress"));
    return lt_api__job_create(ctx, KIND, "processing", name, doc, image, json_object_get(input, "Tags"),
                              output, err);
}

static int describe_processing_job(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                   lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "ProcessingJobName"), err);
}

static json_t *processing_job_summary(const json_t *doc)
{
    static const char *const members[] = {
        "ProcessingJobName", "ProcessingJobArn",    "CreationTime", "ProcessingEndTime",
        "LastModifiedTime",  "ProcessingJobStatus", "FailureReason", "ExitMessage", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    return s;
}

static int list_processing_jobs(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    return lt_api__resource_list(ctx, input, &params, "ProcessingJobSummaries",
                                 processing_job_summary, output, err);
}

static int stop_processing_job(lt_api_ctx *ctx, const json_t *input, json_t **output,
                               lt_err *err)
{
    (void)output;
    return lt_api__job_stop(ctx, KIND, "processing", input, err);
}

const lt_api_op lt_api__processing_job_ops[] = {
    {"CreateProcessingJob", create_processing_job, NULL, NULL},
    {"DescribeProcessingJob", describe_processing_job, NULL, NULL},
    {"ListProcessingJobs", list_processing_jobs, NULL, NULL},
    {"StopProcessingJob", stop_processing_job, NULL, NULL},
    {NULL, NULL, NULL, NULL},
};
