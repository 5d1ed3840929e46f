/* Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob,
 * UpdateTrainingJob.
 *
 * Create checks what the service model cannot (one of TrainingImage / AlgorithmName, S3
 * URIs that parse, channels that have data, an image that resolves, a built-in
 * algorithm's hyperparameters, spot wait times), stores the job InProgress/Starting with
 * its resolved image, and tells the executor. From then on exec's job runner owns the
 * document's state; Stop only moves an InProgress job to Stopping. */
#include "api/jobs_internal.h"

#include "algo/algo.h"

#include <stdlib.h>
#include <string.h>

static const char *training_status(const json_t *doc)
{
    return lt_json_str(doc, "TrainingJobStatus");
}

const lt_api_kind lt_api__training_job_kind = {LT_STORE_KIND_TRAINING_JOB, "Training job",
                                               "TrainingJobName", "TrainingJobArn",
                                               training_status};
#define KIND (&lt_api__training_job_kind)

static int check_channels(lt_api_ctx *ctx, const json_t *channels, lt_err *err)
{
    size_t i;
    json_t *ch;
    json_array_foreach(channels, i, ch) {
        const char *name = lt_json_str(ch, "ChannelName");
        for (size_t j = 0; j < i; j++)
            if (strcmp(lt_json_str(json_array_get(channels, j), "ChannelName"), name) == 0)
                return lt_err_set(err, LT_EINVAL,
                                  "InputDataConfig: channel '%s' is given twice.", name);
        json_t *s3 = json_object_get(json_object_get(ch, "DataSource"), "S3DataSource");
        if (!s3) {
            if (json_object_get(json_object_get(ch, "DataSource"), "FileSystemDataSource"))
                return lt_err_set(err, LT_EINVAL,
                                  "InputDataConfig: channel '%s' uses FileSystemDataSource, "
                                  "which Lathe does not support; use an S3DataSource.",
                                  name);
            return lt_err_set(err, LT_EINVAL, "InputDataConfig: channel '%s' has no S3DataSource.",
                              name);
        }
        const char *type = lt_json_str(s3, "S3DataType");
        if (type && strcmp(type, "AugmentedManifestFile") == 0)
            return lt_err_set(err, LT_EINVAL,
                              "InputDataConfig: channel '%s': AugmentedManifestFile is not "
                              "supported yet; use S3Prefix or ManifestFile.",
                              name);
        const char *compression = lt_json_str(ch, "CompressionType");
        const char *wrapper = lt_json_str(ch, "RecordWrapperType");
        if (compression && strcmp(compression, "Gzip") == 0 && wrapper &&
            strcmp(wrapper, "RecordIO") == 0)
            return lt_err_set(err, LT_EINVAL,
                              "InputDataConfig: channel '%s': RecordWrapperType RecordIO with "
                              "CompressionType Gzip is not supported; use one of them.",
                              name);
        const char *uri = lt_json_str(s3, "S3Uri");
        char *what = lt_xasprintf("InputDataConfig channel '%s' (S3Uri)", name);
        int rc = lt_api__check_s3_uri(uri, what, err);
        if (!rc) rc = lt_api__check_s3_data(ctx, uri, type, what, err);
        free(what);
        if (rc) return rc;
    }
    return 0;
}

static int check_stopping(const json_t *input, lt_err *err)
{
    json_t *stop = json_object_get(input, "StoppingCondition");
    bool spot = json_is_true(json_object_get(input, "EnableManagedSpotTraining"));
    int64_t run = lt_json_int(stop, "MaxRuntimeInSeconds", 86400);
    int64_t wait = lt_json_int(stop, "MaxWaitTimeInSeconds", 0);
    if (!spot && json_object_get(stop, "MaxWaitTimeInSeconds"))
        return lt_err_set(err, LT_EINVAL,
                          "StoppingCondition.MaxWaitTimeInSeconds applies only with "
                          "EnableManagedSpotTraining=true.");
    if (spot && !json_object_get(stop, "MaxWaitTimeInSeconds"))
        return lt_err_set(err, LT_EINVAL,
                          "EnableManagedSpotTraining=true needs "
                          "StoppingCondition.MaxWaitTimeInSeconds.");
    if (spot && wait < run)
        return lt_err_set(err, LT_EINVAL,
                          "StoppingCondition.MaxWaitTimeInSeconds (%lld) must be at least "
                          "MaxRuntimeInSeconds (%lld).",
                          (long long)wait, (long long)run);
    return 0;
}

/* The image the job runs, resolved now so a typo is an error at Create, not a failed job. */
static int resolve_image(lt_api_ctx *ctx, const json_t *input, json_t **image, lt_err *err)
{
    json_t *spec = json_object_get(input, "AlgorithmSpecification");
    const char *uri = lt_json_str(spec, "TrainingImage");
    const char *algorithm = lt_json_str(spec, "AlgorithmName");
    if (!spec || (!uri) == (!algorithm))
        return lt_err_set(err, LT_EINVAL,
                          "AlgorithmSpecification must name exactly one of TrainingImage and "
                          "AlgorithmName.");
    int rc = lt_api_image_resolve(ctx->store, uri ? uri : algorithm, image, err);
    if (rc) return rc;
    const char *type = lt_json_str(*image, "Type");
    json_t *hps = json_object_get(input, "HyperParameters");
    if (strcmp(type, "algorithm") == 0) {
        const lt_algo *algo = lt_algo_find(lt_json_str(*image, "Algorithm"));
        /* The SDK's and the tuner's own keys are not the algorithm's. */
        json_t *own = json_object();
        const char *key;
        json_t *value;
        json_object_foreach(hps, key, value)
            if (!lt_str_starts_with(key, "sagemaker_") && strcmp(key, "_tuning_objective_metric") != 0)
                json_object_set(own, key, value);
        lt_err inner = {0};
        rc = lt_algo_hp_check(algo->hyperparameters, own, &inner);
        json_decref(own);
        if (rc)
            rc = lt_err_set(err, LT_EINVAL, "HyperParameters for the built-in algorithm '%s': %s",
                            algo->name, inner.msg);
    } else if (strcmp(type, "python") == 0 && !json_object_get(hps, "sagemaker_program")) {
        rc = lt_err_set(err, LT_EINVAL,
                        "Image '%s' runs a training script: set the hyperparameter "
                        "sagemaker_program (and sagemaker_submit_directory, an S3 URI of the "
                        "source tarball), as the SageMaker SDK does.",
                        uri ? uri : algorithm);
    }
    if (rc) {
        json_decref(*image);
        *image = NULL;
    }
    return rc;
}

/* sagemaker_submit_directory is a JSON-encoded string in the SDK's hyperparameters. */
static int check_submit_directory(lt_api_ctx *ctx, const json_t *hps, lt_err *err)
{
    const char *raw = lt_json_str(hps, "sagemaker_submit_directory");
    if (!raw) return 0;
    json_t *decoded = NULL;
    const char *uri = raw;
    if (raw[0] == '"' && lt_json_parse(raw, strlen(raw), &decoded, NULL) == 0 &&
        json_is_string(decoded))
        uri = json_string_value(decoded);
    int rc = 0;
    if (lt_str_starts_with(uri, "s3://"))
        rc = lt_api__check_s3_data(ctx, uri, "ManifestFile",
                                   "HyperParameters sagemaker_submit_directory", err);
    json_decref(decoded);
    return rc;
}

static int create_training_job(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "TrainingJobName");
    json_t *out_cfg = json_object_get(input, "OutputDataConfig");
    int rc = lt_api__check_s3_uri(lt_json_str(out_cfg, "S3OutputPath"),
                                  "OutputDataConfig.S3OutputPath", err);
    json_t *checkpoint = json_object_get(input, "CheckpointConfig");
    if (!rc && checkpoint)
        rc = lt_api__check_s3_uri(lt_json_str(checkpoint, "S3Uri"), "CheckpointConfig.S3Uri", err);
    const char *local = lt_json_str(checkpoint, "LocalPath");
    if (!rc && local && !lt_str_starts_with(local, "/opt/ml/"))
        rc = lt_err_set(err, LT_EINVAL,
                        "CheckpointConfig.LocalPath '%s' must be under /opt/ml/ (the default is "
                        "/opt/ml/checkpoints).",
                        local);
    int64_t hosts = lt_json_int(json_object_get(input, "ResourceConfig"), "InstanceCount", 1);
    if (!rc && hosts > LT_API_MAX_HOSTS)
        rc = lt_err_set(err, LT_ELIMIT,
                        "ResourceConfig.InstanceCount %lld is more than this Lathe runs for one "
                        "job (%d).",
                        (long long)hosts, LT_API_MAX_HOSTS);
    if (!rc) rc = check_stopping(input, err);
    if (!rc) rc = check_channels(ctx, json_object_get(input, "InputDataConfig"), err);
    if (!rc) rc = check_submit_directory(ctx, json_object_get(input, "HyperParameters"), err);
    json_t *image = NULL;
    if (!rc) rc = resolve_image(ctx, input, &image, err);
    if (rc) return rc;

    json_t *doc = json_object();
    static const char *const members[] = {
        "HyperParameters",       "AlgorithmSpecification", "RoleArn",
        "InputDataConfig",       "OutputDataConfig",       "ResourceConfig",
        "VpcConfig",             "StoppingCondition",      "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
        "CheckpointConfig",      "DebugHookConfig",        "DebugRuleConfigurations",
        "TensorBoardOutputConfig", "ExperimentConfig",     "ProfilerConfig",
        "Environment",           "RetryStrategy",          NULL};
    lt_api__copy_members(doc, input, members);
    json_t *stop = json_object_get(doc, "StoppingCondition");
    if (!stop) json_object_set_new(doc, "StoppingCondition", stop = json_object());
    if (!json_object_get(stop, "MaxRuntimeInSeconds"))
        json_object_set_new(stop, "MaxRuntimeInSeconds", json_integer(86400));
    if (!json_object_get(doc, "EnableNetworkIsolation"))
        json_object_set_new(doc, "EnableNetworkIsolation", json_false());
    if (!json_object_get(doc, "EnableManagedSpotTraining"))
        json_object_set_new(doc, "EnableManagedSpotTraining", json_false());
    json_object_set_new(doc, "TrainingJobStatus", json_string("InProgress"));
    lt_api__secondary_status(doc, "Starting", "Launching requested ML instances", ctx->now_ms);
    return lt_api__job_create(ctx, KIND, "training", name, doc, image, json_object_get(input, "Tags"),
                              output, err);
}

static int describe_training_job(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                 lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "TrainingJobName"), err);
}

static json_t *training_job_summary(const json_t *doc)
{
    static const char *const members[] = {
        "TrainingJobName",  "TrainingJobArn",    "CreationTime",    "TrainingEndTime",
        "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    return s;
}

static int list_training_jobs(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    /* ListTrainingJobs sorts ascending by default (API reference). */
    lt_store_list_params params = {.kind = KIND->kind, .descending = false};
    return lt_api__resource_list(ctx, input, &params, "TrainingJobSummaries",
                                 training_job_summary, output, err);
}

static int stop_training_job(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    (void)output;
    return lt_api__job_stop(ctx, KIND, "training", input, err);
}

/* UpdateTrainingJob changes only the profiler configuration (and the warm-pool keep-alive,
 * which a local executor has no use for but keeps for Describe). */
static int update_training_job(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    static const char *const members[] = {"ProfilerConfig", "ProfilerRuleConfigurations", NULL};
    return lt_api__resource_update(ctx, KIND, input, members, NULL, output, err);
}

const lt_api_op lt_api__training_job_ops[] = {
    {"CreateTrainingJob", create_training_job, NULL, NULL},
    /* A missing job is a ValidationException for DescribeTrainingJob (the SDK's waiters
     * expect it). */
    {"DescribeTrainingJob", describe_training_job, "ValidationException", NULL},
    {"ListTrainingJobs", list_training_jobs, NULL, NULL},
    {"StopTrainingJob", stop_training_job, NULL, NULL},
    {"UpdateTrainingJob", update_training_job, "ValidationException", NULL},
    {NULL, NULL, NULL, NULL},
};
