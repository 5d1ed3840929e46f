/* Models: CreateModel, DescribeModel, ListModels, DeleteModel. A model names what serves
 * (each container's image, resolved now as for training jobs) and its artifacts
 * (ModelDataUrl, which must exist). The resolved images are kept in the model's spec
 * ("model/<name>") for the endpoint runtime. */
#include "api/jobs_internal.h"

#include <stdlib.h>
#include <string.h>

const lt_api_kind lt_api__model_kind = {"model", "Model", "ModelName", "ModelArn", NULL};
#define KIND (&lt_api__model_kind)

static int check_container(lt_api_ctx *ctx, const json_t *c, const char *what, json_t *images,
                           lt_err *err)
{
    const char *image = lt_json_str(c, "Image");
    if (!image)
        return lt_err_set(err, LT_EINVAL, "%s: Image is required.", what);
    json_t *spec = NULL;
    int rc = lt_api_image_resolve(ctx->store, image, &spec, err);
    if (rc) return rc;
    json_array_append_new(images, spec);
    const char *data = lt_json_str(c, "ModelDataUrl");
    const char *mode = lt_json_str(c, "Mode"); /* its enum is checked with the request */
    if (mode && strcmp(mode, "MultiModel") == 0) {
        /* A multi-model container (a built-in algorithm, or a serve program under the
         * multi-model contract) loads each model on its first call, by TargetModel, from
         * under an S3 prefix that may still be empty. */
        if (strcmp(what, "PrimaryContainer") != 0)
            return lt_err_set(err, LT_EINVAL,
                              "%s: Mode MultiModel is for a PrimaryContainer, not a serial "
                              "inference pipeline.",
                              what);
        if (!data)
            return lt_err_set(err, LT_EINVAL,
                              "%s: Mode MultiModel needs ModelDataUrl, the S3 prefix of the "
                              "models.",
                              what);
        char *member = lt_xasprintf("%s.ModelDataUrl", what);
        rc = lt_api__check_s3_uri(data, member, err);
        free(member);
        return rc;
    }
    if (data) {
        char *member = lt_xasprintf("%s.ModelDataUrl", what);
        rc = lt_api__check_s3_uri(data, member, err);
        if (!rc) rc = lt_api__check_s3_data(ctx, data, "ModelDataUrl object", member, err);
        free(member);
    } else if (strcmp(lt_json_str(spec, "Type"), "algorithm") == 0) {
        rc = lt_err_set(err, LT_EINVAL,
                        "%s: ModelDataUrl is required for the built-in algorithm '%s' (the "
                        "model.tar.gz its training job wrote).",
                        what, lt_json_str(spec, "Algorithm"));
    }
    return rc;
}

static int create_model(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "ModelName");
    json_t *primary = json_object_get(input, "PrimaryContainer");
    json_t *containers = json_object_get(input, "Containers");
    if ((primary != NULL) == (json_array_size(containers) > 0))
        return lt_err_set(err, LT_EINVAL,
                          "Give exactly one of PrimaryContainer and Containers.");
    json_t *images = json_array();
    int rc = 0;
    if (primary) {
        rc = check_container(ctx, primary, "PrimaryContainer", images, err);
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(containers, i, c) {
            char *what = lt_xasprintf("Containers[%zu]", i);
            rc = check_container(ctx, c, what, images, err);
            free(what);
            if (rc) break;
        }
    }
    if (rc) {
        json_decref(images);
        return rc;
    }
    json_t *doc = json_object();
    static const char *const members[] = {"PrimaryContainer", "Containers",
                                          "InferenceExecutionConfig", "ExecutionRoleArn",
                                          "VpcConfig", "EnableNetworkIsolation", NULL};
    lt_api__copy_members(doc, input, members);
    if (!json_object_get(doc, "EnableNetworkIsolation"))
        json_object_set_new(doc, "EnableNetworkIsolation", json_false());
    return lt_api__spec_create(ctx, KIND, "model", name, doc, images,
                               json_object_get(input, "Tags"), output, err);
}

static int describe_model(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "ModelName"), err);
}

static json_t *model_summary(const json_t *doc)
{
    static const char *const members[] = {"ModelName", "ModelArn", "CreationTime", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    return s;
}

static int list_models(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    return lt_api__resource_list(ctx, input, &params, "Models", model_summary, output, err);
}

static int delete_model(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "ModelName");
    json_t *answer = NULL;
    int rc = lt_api__resource_delete(ctx, KIND, name, NULL, &answer, err);
    json_decref(answer);
    if (rc) return rc;
    char *spec = lt_xasprintf("model/%s", name);
    lt_store_resource_delete(ctx->store, LT_STORE_KIND_JOB_SPEC, spec, &(lt_err){0});
    free(spec);
    *output = NULL;
    return 0;
}

const lt_api_op lt_api__model_ops[] = {
    /* AWS answers a missing model with ValidationException ("Could not find model"). */
    {"CreateModel", create_model, NULL, "ValidationException"},
    {"DescribeModel", describe_model, "ValidationException", NULL},
    {"ListModels", list_models, NULL, NULL},
    {"DeleteModel", delete_model, "ValidationException", NULL},
    {NULL, NULL, NULL, NULL},
};
