/* Endpoint configs: CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs,
 * DeleteEndpointConfig. A config lists the production variants (a model, an instance count
 * and a weight each) and the data-capture settings; every model it names must exist. */
#include "api/jobs_internal.h"

#include <stdlib.h>
#include <string.h>

const lt_api_kind lt_api__endpoint_config_kind = {"endpoint-config", "Endpoint config",
                                                  "EndpointConfigName", "EndpointConfigArn", NULL};
#define KIND (&lt_api__endpoint_config_kind)

/* list names the member checked: "ProductionVariants" or "ShadowProductionVariants". */
static int check_variants(lt_api_ctx *ctx, const json_t *variants, const char *list, lt_err *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(variants, i, v) {
        const char *name = lt_json_str(v, "VariantName");
        for (size_t j = 0; j < i; j++)
            if (strcmp(lt_json_str(json_array_get(variants, j), "VariantName"), name) == 0)
                return lt_err_set(err, LT_EINVAL, "%s: the variant name '%s' is used twice.", list,
                                  name);
        const char *model = lt_json_str(v, "ModelName");
        if (!model)
            return lt_err_set(err, LT_EINVAL, "%s '%s': ModelName is required.", list, name);
        lt_store_resource res = {0};
        lt_err inner = {0};
        int rc = lt_store_resource_get(ctx->store, lt_api__model_kind.kind, model, &res, &inner);
        lt_store_resource_clear(&res);
        if (rc == LT_ENOTFOUND)
            return lt_err_set(err, LT_EINVAL, "Could not find model \"%s\" named by %s '%s'.",
                              model, list, name);
        if (rc) return lt_err_set(err, rc, "%s", inner.msg);
        /* A serverless variant has a ServerlessConfig instead of instances. */
        const json_t *serverless = json_object_get(v, "ServerlessConfig");
        if (serverless && (json_object_get(v, "InstanceType") ||
                           json_object_get(v, "InitialInstanceCount")))
            return lt_err_set(err, LT_EINVAL,
                              "%s '%s': give either ServerlessConfig or "
                              "InstanceType and InitialInstanceCount, not both.",
                              list, name);
        int64_t provisioned = lt_json_int(serverless, "ProvisionedConcurrency", 0);
        if (serverless && provisioned > lt_json_int(serverless, "MaxConcurrency", 0))
            return lt_err_set(err, LT_EINVAL,
                              "%s '%s': ServerlessConfig.ProvisionedConcurrency "
                              "(%lld) cannot exceed MaxConcurrency (%lld).",
                              list, name, (long long)provisioned,
                              (long long)lt_json_int(serverless, "MaxConcurrency", 0));
    }
    return 0;
}

static int create_endpoint_config(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                  lt_err *err)
{
    json_t *variants = json_object_get(input, "ProductionVariants");
    int rc = check_variants(ctx, variants, "ProductionVariants", err);
    /* Shadow testing, as SageMaker has it: one production variant, one shadow variant. */
    const json_t *shadows = json_object_get(input, "ShadowProductionVariants");
    if (!rc && json_array_size(shadows) &&
        (json_array_size(variants) != 1 || json_array_size(shadows) != 1))
        rc = lt_err_set(err, LT_EINVAL,
                        "A config with ShadowProductionVariants has exactly one production "
                        "variant and one shadow variant (it has %zu and %zu).",
                        json_array_size(variants), json_array_size(shadows));
    if (!rc && json_array_size(shadows)) rc = check_variants(ctx, shadows, "ShadowProductionVariants", err);
    if (!rc && json_array_size(shadows) &&
        strcmp(lt_json_str(json_array_get(shadows, 0), "VariantName"),
               lt_json_str(json_array_get(variants, 0), "VariantName")) == 0)
        rc = lt_err_set(err, LT_EINVAL,
                        "The shadow variant cannot share the production variant's name '%s'.",
                        lt_json_str(json_array_get(variants, 0), "VariantName"));
    json_t *capture = json_object_get(input, "DataCaptureConfig");
    if (!rc && capture)
        rc = lt_api__check_s3_uri(lt_json_str(capture, "DestinationS3Uri"),
                                  "DataCaptureConfig.DestinationS3Uri", err);
    const json_t *async = json_object_get(input, "AsyncInferenceConfig");
    const json_t *async_out = json_object_get(async, "OutputConfig");
    if (!rc && async && !lt_json_str(async_out, "S3OutputPath"))
        rc = lt_err_set(err, LT_EINVAL, "AsyncInferenceConfig.OutputConfig.S3OutputPath is "
                                        "required: where the answers are written.");
    if (!rc && async)
        rc = lt_api__check_s3_uri(lt_json_str(async_out, "S3OutputPath"),
                                  "AsyncInferenceConfig.OutputConfig.S3OutputPath", err);
    if (!rc && lt_json_str(async_out, "S3FailurePath"))
        rc = lt_api__check_s3_uri(lt_json_str(async_out, "S3FailurePath"),
                                  "AsyncInferenceConfig.OutputConfig.S3FailurePath", err);
    if (!rc && json_object_get(async_out, "NotificationConfig"))
        rc = lt_err_set(err, LT_EINVAL,
                        "AsyncInferenceConfig.OutputConfig.NotificationConfig: SNS notifications "
                        "are not supported; poll the OutputLocation and the FailureLocation.");
    /* Refused rather than stored and ignored: a caller asking for explanations must not
     * get an endpoint that silently gives none. */
    if (!rc && json_object_get(input, "ExplainerConfig"))
        rc = lt_err_set(err, LT_EINVAL,
                        "ExplainerConfig is not supported: Lathe endpoints do not compute "
                        "SageMaker Clarify online explanations.");
    if (rc) return rc;
    json_t *doc = json_object();
    static const char *const members[] = {"ProductionVariants", "ShadowProductionVariants",
                                          "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig",
                                          NULL};
    lt_api__copy_members(doc, input, members);
    /* InitialVariantWeight defaults to 1.0. */
    static const char *const lists[] = {"ProductionVariants", "ShadowProductionVariants"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(doc, lists[l]), i, v)
            if (!json_object_get(v, "InitialVariantWeight"))
                json_object_set_new(v, "InitialVariantWeight", json_real(1.0));
    }
    char *arn = NULL;
    rc = lt_api__resource_create(ctx, KIND, lt_json_str(input, "EndpointConfigName"), doc, NULL,
                                 json_object_get(input, "Tags"), &arn, err);
    json_decref(doc);
    if (rc) return rc;
    *output = lt_api__arn_output(KIND, arn);
    free(arn);
    return 0;
}

static int describe_endpoint_config(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                    lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "EndpointConfigName"), err);
}

static json_t *config_summary(const json_t *doc)
{
    static const char *const members[] = {"EndpointConfigName", "EndpointConfigArn",
                                          "CreationTime", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    return s;
}

static int list_endpoint_configs(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                 lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    return lt_api__resource_list(ctx, input, &params, "EndpointConfigs", config_summary, output,
                                 err);
}

static int delete_endpoint_config(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                  lt_err *err)
{
    json_t *answer = NULL;
    int rc = lt_api__resource_delete(ctx, KIND, lt_json_str(input, "EndpointConfigName"), NULL,
                                     &answer, err);
    json_decref(answer);
    *output = NULL;
    return rc;
}

const lt_api_op lt_api__endpoint_config_ops[] = {
    {"CreateEndpointConfig", create_endpoint_config, NULL, "ValidationException"},
    {"DescribeEndpointConfig", describe_endpoint_config, "ValidationException", NULL},
    {"ListEndpointConfigs", list_endpoint_configs, NULL, NULL},
    {"DeleteEndpointConfig", delete_endpoint_config, "ValidationException", NULL},
    {NULL, NULL, NULL, NULL},
};
