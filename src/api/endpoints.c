/* Endpoints: CreateEndpoint, DescribeEndpoint, ListEndpoints, UpdateEndpoint,
 * UpdateEndpointWeightsAndCapacities, DeleteEndpoint. The api records the desired state
 * (Creating / Updating with the config and the desired weights and counts) and tells the
 * endpoint runtime (serve), which loads the models and moves the endpoint to InService or
 * Failed; a restart of the server finds the same state and serves it again. */
#include "api/jobs_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *endpoint_status(const json_t *doc)
{
    return lt_json_str(doc, "EndpointStatus");
}

const lt_api_kind lt_api__endpoint_kind = {"endpoint", "Endpoint", "EndpointName", "EndpointArn",
                                           endpoint_status};
#define KIND (&lt_api__endpoint_kind)

/* The variants of a config as an endpoint's desired ProductionVariants. */
static int desired_variants(lt_api_ctx *ctx, const char *config_name, json_t **variants,
                            json_t **capture, lt_err *err)
{
    lt_store_resource res = {0};
    json_t *config = NULL;
    lt_err inner = {0};
    int rc = lt_api__resource_load(ctx, &lt_api__endpoint_config_kind, config_name, &res, &config,
                                   &inner);
    lt_store_resource_clear(&res);
    if (rc == LT_ENOTFOUND)
        return lt_err_set(err, LT_EINVAL, "Could not find endpoint configuration \"%s\".",
                          config_name);
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    *variants = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(config, "ProductionVariants"), i, v) {
        json_t *weight = json_object_get(v, "InitialVariantWeight");
        json_array_append_new(
            *variants,
            json_pack("{s:s, s:f, s:I}", "VariantName", lt_json_str(v, "VariantName"),
                      "DesiredWeight", weight ? json_number_value(weight) : 1.0,
                      "DesiredInstanceCount", (json_int_t)lt_json_int(v, "InitialInstanceCount", 1)));
    }
    if (capture) *capture = json_incref(json_object_get(config, "DataCaptureConfig"));
    json_decref(config);
    return 0;
}

/* A CANARY CanarySize or LINEAR LinearStepSize: INSTANCE_COUNT >= 1, or CAPACITY_PERCENT
 * 1..100. */
static int check_capacity(const json_t *size, const char *where, lt_err *err)
{
    if (!size) return lt_err_set(err, LT_EINVAL, "%s is required for this traffic routing type.", where);
    const char *type = lt_json_str(size, "Type");
    int64_t value = lt_json_int(size, "Value", 0);
    if (type && strcmp(type, "CAPACITY_PERCENT") == 0 && (value < 1 || value > 100))
        return lt_err_set(err, LT_EINVAL, "%s.Value %lld must be a percentage from 1 to 100.", where,
                          (long long)value);
    if (value < 1)
        return lt_err_set(err, LT_EINVAL, "%s.Value %lld must be at least 1.", where, (long long)value);
    return 0;
}

/* What a DeploymentConfig may ask. BlueGreenUpdatePolicy's traffic routing is honoured:
 * ALL_AT_ONCE, CANARY and LINEAR (src/serve/shift.c). Rolling updates and CloudWatch alarm
 * rollbacks are refused rather than ignored: there are no instances to roll and no alarms. */
static int check_deployment_config(const json_t *dc, lt_err *err)
{
    if (!dc) return 0;
    if (json_object_get(dc, "RollingUpdatePolicy"))
        return lt_err_set(err, LT_EINVAL,
                          "DeploymentConfig.RollingUpdatePolicy is not supported: Lathe updates an "
                          "endpoint blue/green; use BlueGreenUpdatePolicy.");
    if (json_array_size(json_object_get(json_object_get(dc, "AutoRollbackConfiguration"), "Alarms")))
        return lt_err_set(err, LT_EINVAL,
                          "DeploymentConfig.AutoRollbackConfiguration.Alarms is not supported: there "
                          "are no CloudWatch alarms to watch. A new fleet that fails to load is "
                          "rolled back without them (the old one keeps serving).");
    const json_t *routing = json_object_get(json_object_get(dc, "BlueGreenUpdatePolicy"),
                                            "TrafficRoutingConfiguration");
    const char *type = lt_json_str(routing, "Type");
    if (type && strcmp(type, "CANARY") == 0)
        return check_capacity(json_object_get(routing, "CanarySize"),
                              "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration."
                              "CanarySize",
                              err);
    if (type && strcmp(type, "LINEAR") == 0)
        return check_capacity(json_object_get(routing, "LinearStepSize"),
                              "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration."
                              "LinearStepSize",
                              err);
    return 0;
}

/* Whether an update with this deployment config shifts traffic in steps. */
static bool shifts_traffic(const json_t *dc)
{
    const char *type = lt_json_str(json_object_get(json_object_get(dc, "BlueGreenUpdatePolicy"),
                                                   "TrafficRoutingConfiguration"),
                                   "Type");
    return type && (strcmp(type, "CANARY") == 0 || strcmp(type, "LINEAR") == 0);
}

static int create_endpoint(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "EndpointName");
    json_t *variants = NULL, *capture = NULL;
    const json_t *deployment = json_object_get(input, "DeploymentConfig");
    int rc = check_deployment_config(deployment, err);
    if (!rc)
        rc = desired_variants(ctx, lt_json_str(input, "EndpointConfigName"), &variants, &capture,
                              err);
    if (rc) return rc;
    json_t *doc = json_pack("{s:s, s:s, s:o}", "EndpointConfigName",
                            lt_json_str(input, "EndpointConfigName"), "EndpointStatus", "Creating",
                            "ProductionVariants", variants);
    if (deployment) json_object_set(doc, "LastDeploymentConfig", (json_t *)deployment);
    json_decref(capture); /* the runtime reports it as a summary once the endpoint serves */
    char *arn = NULL;
    rc = lt_api__resource_create(ctx, KIND, name, doc, NULL, json_object_get(input, "Tags"), &arn,
                                 err);
    json_decref(doc);
    if (rc) return rc;
    lt_api__job_notify(ctx, "endpoint", name, "start");
    *output = lt_api__arn_output(KIND, arn);
    free(arn);
    return 0;
}

static int describe_endpoint(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "EndpointName"), err);
}

static json_t *endpoint_summary(const json_t *doc)
{
    static const char *const members[] = {"EndpointName", "EndpointArn", "CreationTime",
                                          "LastModifiedTime", "EndpointStatus", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    return s;
}

static int list_endpoints(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    return lt_api__resource_list(ctx, input, &params, "Endpoints", endpoint_summary, output, err);
}

static int require_in_service(const json_t *doc, lt_err *err)
{
    const char *status = lt_json_str(doc, "EndpointStatus");
    if (status && strcmp(status, "InService") == 0) return 0;
    return lt_err_set(err, LT_EINVAL,
                      "Cannot update in-progress endpoint \"%s\" (its status is %s); wait for "
                      "InService.",
                      lt_json_str(doc, "EndpointName"), status ? status : "unknown");
}

static bool excluded(const json_t *input, const char *property)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(input, "ExcludeRetainedVariantProperties"), i, e) {
        const char *type = lt_json_str(e, "VariantPropertyType");
        if (type && strcmp(type, property) == 0) return true;
    }
    return false;
}

/* RetainAllVariantProperties: a variant of the new config named as one serving now keeps
 * that one's weight and instance count (as UpdateEndpointWeightsAndCapacities left them),
 * and the endpoint keeps its data capture settings, except the properties
 * ExcludeRetainedVariantProperties names, which come from the new config. */
static int retain_properties(lt_api_ctx *ctx, const json_t *input, const json_t *doc,
                             json_t *variants, json_t **capture, lt_err *err)
{
    *capture = NULL;
    if (!json_is_true(json_object_get(input, "RetainAllVariantProperties"))) return 0;
    static const char *const props[] = {"DesiredWeight", "DesiredInstanceCount"};
    size_t i, j;
    json_t *v, *now;
    json_array_foreach(variants, i, v) {
        json_array_foreach(json_object_get(doc, "ProductionVariants"), j, now) {
            if (strcmp(lt_json_str(v, "VariantName"), lt_json_str(now, "VariantName")) != 0)
                continue;
            for (size_t p = 0; p < 2; p++) {
                json_t *value = json_object_get(now, props[p]);
                if (value && !excluded(input, props[p])) json_object_set(v, props[p], value);
            }
        }
    }
    if (excluded(input, "DataCaptureConfig")) return 0;
    /* The capture settings serving now: retained by an earlier update, or the config's. */
    json_t *kept = json_object_get(doc, "RetainedDataCaptureConfig");
    if (kept) {
        *capture = json_incref(kept);
        return 0;
    }
    json_t *unused = NULL, *current = NULL;
    int rc = desired_variants(ctx, lt_json_str(doc, "EndpointConfigName"), &unused, &current, err);
    json_decref(unused);
    if (rc) return rc;
    *capture = current ? current : json_null();
    return 0;
}

static int start_update(lt_api_ctx *ctx, const json_t *input, json_t *doc, lt_err *err)
{
    int rc = require_in_service(doc, err);
    json_t *variants = NULL, *capture = NULL;
    const char *config = lt_json_str(input, "EndpointConfigName");
    const json_t *deployment = json_object_get(input, "DeploymentConfig");
    if (!rc) rc = check_deployment_config(deployment, err);
    if (!rc) rc = desired_variants(ctx, config, &variants, NULL, err);
    if (!rc) rc = retain_properties(ctx, input, doc, variants, &capture, err);
    if (rc) {
        json_decref(variants);
        return rc;
    }
    /* json null: retain "no capture"; absent: the new config's own settings. */
    if (capture) json_object_set_new(doc, "RetainedDataCaptureConfig", capture);
    else json_object_del(doc, "RetainedDataCaptureConfig");
    if (deployment) json_object_set(doc, "LastDeploymentConfig", (json_t *)deployment);
    else if (!json_is_true(json_object_get(input, "RetainDeploymentConfig")))
        json_object_del(doc, "LastDeploymentConfig");
    /* The runtime shifts this update's traffic in steps (cleared when it is recorded). */
    if (shifts_traffic(json_object_get(doc, "LastDeploymentConfig")))
        json_object_set_new(doc, "PendingTrafficShift", json_true());
    else
        json_object_del(doc, "PendingTrafficShift");
    json_object_set_new(doc, "EndpointConfigName", json_string(config));
    json_object_set_new(doc, "EndpointStatus", json_string("Updating"));
    json_object_del(doc, "FailureReason");
    /* The variants serving now stay in Describe until the new ones are in service. */
    json_object_set_new(doc, "PendingProductionVariants", variants);
    return 0;
}

static int update_endpoint(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    int rc = lt_api__resource_update(ctx, KIND, input, NULL, start_update, output, err);
    if (!rc) lt_api__job_notify(ctx, "endpoint", lt_json_str(input, "EndpointName"), "update");
    return rc;
}

static int start_weights(lt_api_ctx *ctx, const json_t *input, json_t *doc, lt_err *err)
{
    (void)ctx;
    int rc = require_in_service(doc, err);
    if (rc) return rc;
    json_t *variants = json_deep_copy(json_object_get(doc, "ProductionVariants"));
    size_t i;
    json_t *want;
    json_array_foreach(json_object_get(input, "DesiredWeightsAndCapacities"), i, want) {
        const char *name = lt_json_str(want, "VariantName");
        json_t *found = NULL;
        size_t j;
        json_t *v;
        json_array_foreach(variants, j, v)
            if (strcmp(lt_json_str(v, "VariantName"), name) == 0) found = v;
        if (!found) {
            json_decref(variants);
            return lt_err_set(err, LT_EINVAL,
                              "The variant \"%s\" is not part of endpoint \"%s\".", name,
                              lt_json_str(doc, "EndpointName"));
        }
        json_t *w = json_object_get(want, "DesiredWeight");
        if (w) json_object_set(found, "DesiredWeight", w);
        json_t *c = json_object_get(want, "DesiredInstanceCount");
        if (c) json_object_set(found, "DesiredInstanceCount", c);
    }
    json_object_set_new(doc, "PendingProductionVariants", variants);
    json_object_set_new(doc, "EndpointStatus", json_string("Updating"));
    return 0;
}

static int update_weights(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    int rc = lt_api__resource_update(ctx, KIND, input, NULL, start_weights, output, err);
    if (!rc) lt_api__job_notify(ctx, "endpoint", lt_json_str(input, "EndpointName"), "update");
    return rc;
}

static int delete_endpoint(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "EndpointName");
    json_t *answer = NULL;
    int rc = lt_api__resource_delete(ctx, KIND, name, NULL, &answer, err);
    json_decref(answer);
    if (rc) return rc;
    lt_api__job_notify(ctx, "endpoint", name, "delete");
    *output = NULL;
    return 0;
}

const lt_api_op lt_api__endpoint_ops[] = {
    {"CreateEndpoint", create_endpoint, NULL, "ValidationException"},
    {"DescribeEndpoint", describe_endpoint, "ValidationException", NULL},
    {"ListEndpoints", list_endpoints, NULL, NULL},
    {"UpdateEndpoint", update_endpoint, "ValidationException", NULL},
    {"UpdateEndpointWeightsAndCapacities", update_weights, "ValidationException", NULL},
    {"DeleteEndpoint", delete_endpoint, "ValidationException", NULL},
    {NULL, NULL, NULL, NULL},
};
