/* Batch transform through a model's containers, outside any endpoint: the transform runner
 * loads the model once (a serve program's workers started and pinged, as an endpoint would)
 * and sends each batch through it. A serve program that answers GET /execution-parameters
 * (SageMaker's batch contract) gives the job defaults for MaxConcurrentTransforms,
 * BatchStrategy and MaxPayloadInMB. */
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lt_serve_batch {
    lt_serve_variant variant;
    json_t *execution_parameters; /* what the program answered, or NULL */
    int max_retries;
};

bool lt_serve_model_is_builtin(lt_store *store, const char *model_name)
{
    char *spec_name = lt_xasprintf("model/%s", model_name);
    json_t *spec = NULL;
    bool builtin = false;
    if (lt_store_resource_doc(store, LT_STORE_KIND_JOB_SPEC, spec_name, &spec, &(lt_err){0}) == 0) {
        json_t *images = json_object_get(spec, "Image");
        const char *type = lt_json_str(json_array_get(images, 0), "Type");
        builtin = json_array_size(images) == 1 && type && strcmp(type, "algorithm") == 0;
    }
    json_decref(spec);
    free(spec_name);
    return builtin;
}

/* Keeps the members SageMaker documents for /execution-parameters, checked. */
static json_t *read_parameters(const lt_serve_answer *ans)
{
    json_t *doc = NULL;
    if (ans->status != 200 || lt_json_parse(ans->body, ans->len, &doc, NULL) != 0) return NULL;
    json_t *out = json_object();
    json_t *n = json_object_get(doc, "MaxConcurrentTransforms");
    if (json_is_integer(n) && json_integer_value(n) >= 1 && json_integer_value(n) <= 100)
        json_object_set(out, "MaxConcurrentTransforms", n);
    const char *strategy = lt_json_str(doc, "BatchStrategy");
    if (strategy && (strcmp(strategy, "SingleRecord") == 0 || strcmp(strategy, "MultiRecord") == 0))
        json_object_set_new(out, "BatchStrategy", json_string(strategy));
    json_t *mb = json_object_get(doc, "MaxPayloadInMB");
    if (json_is_integer(mb) && json_integer_value(mb) >= 0 && json_integer_value(mb) <= 100)
        json_object_set(out, "MaxPayloadInMB", mb);
    json_decref(doc);
    return out;
}

int lt_serve_batch_open(lt_serve_batch **out, const lt_serve_batch_params *p, lt_err *err)
{
    *out = NULL;
    lt_serve_batch *b = lt_xcalloc(1, sizeof *b);
    char *prefix = lt_xasprintf("%s/transform", p->job_name);
    lt_serve__model_ctx ctx = {
        .store = p->store,
        .blob = p->blob,
        .data_dir = p->data_dir,
        .log_group = "/aws/sagemaker/TransformJobs",
        .log_prefix = prefix,
        .startup_timeout_s = p->startup_timeout_s,
        .answer_timeout_ms = p->answer_timeout_ms > 0 ? p->answer_timeout_ms : 600000,
        .max_answer_bytes = (size_t)1 << 30,
    };
    /* The programs know they serve a transform (SAGEMAKER_BATCH, as SageMaker sets it) and
     * get the job's Environment over their containers' own. */
    json_t *env = json_object();
    if (json_is_object(p->environment)) json_object_update(env, (json_t *)p->environment);
    json_object_set_new(env, "SAGEMAKER_BATCH", json_string("true"));
    ctx.environment = env;
    b->max_retries = p->max_retries > 0 ? p->max_retries : 0;
    /* Each worker runs under the instance type's limits, as an endpoint's worker does. */
    const lt_exec_instance_type *type = lt_exec_instance_type_find(p->instance_type);
    if (type) {
        ctx.memory_bytes = (uint64_t)type->memory_gib << 30;
        ctx.vcpus = type->vcpus;
    }
    int rc = lt_serve__model_load(&ctx, p->model_name, "transform", p->workers > 0 ? p->workers : 1,
                                  p->work_dir, &b->variant, NULL, err);
    free(prefix);
    json_decref(env);
    /* Only a single serve program is asked: a pipeline's defaults are the job's own. */
    if (!rc && b->variant.n_containers == 1 && b->variant.containers[0].program) {
        lt_serve_answer ans;
        if (lt_serve_program_get(b->variant.containers[0].program, "/execution-parameters", &ans,
                                 &(lt_err){0}) == 0) {
            b->execution_parameters = read_parameters(&ans);
            lt_serve_answer_free(&ans);
        }
    }
    if (rc) {
        lt_serve_batch_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

const json_t *lt_serve_batch_execution_parameters(const lt_serve_batch *b)
{
    return b->execution_parameters;
}

/* Whether a failed reply is the program's fault rather than the input's: the runtime's own
 * 5xx, or a ModelError whose container status was 5xx. */
static bool server_side(const lt_serve_reply *reply)
{
    if (reply->status >= 500) return true;
    json_t *doc = NULL;
    bool yes = false;
    if (reply->body && lt_json_parse(reply->body, reply->len, &doc, NULL) == 0)
        yes = lt_json_int(doc, "OriginalStatusCode", 0) >= 500;
    json_decref(doc);
    return yes;
}

int lt_serve_batch_predict(lt_serve_batch *b, const char *content_type, const char *accept,
                           const char *data, size_t len, lt_buf *out, lt_err *err)
{
    lt_serve_request req = {
        .content_type = content_type, .accept = accept, .body = data, .len = len};
    lt_serve_reply reply;
    /* A failure on the program's side (a 5xx, no answer in time, no worker ready) is tried
     * again up to max_retries times; a refusal of the input (4xx) is final. */
    for (int attempt = 0;; attempt++) {
        memset(&reply, 0, sizeof reply);
        lt_serve__variant_invoke(&b->variant, &req, &reply);
        if (reply.status == 200 || attempt >= b->max_retries || !server_side(&reply)) break;
        lt_serve_reply_free(&reply);
    }
    int rc = 0;
    if (reply.status != 200) {
        json_t *doc = NULL;
        const char *msg = NULL;
        if (reply.body && lt_json_parse(reply.body, reply.len, &doc, NULL) == 0)
            msg = lt_json_str(doc, "message");
        rc = lt_err_set(err, LT_EINVAL, "%s", msg ? msg : "the model failed");
        json_decref(doc);
    } else {
        rc = lt_buf_append(out, reply.body, reply.len, err);
    }
    lt_serve_reply_free(&reply);
    return rc;
}

void lt_serve_batch_close(lt_serve_batch *b)
{
    if (!b) return;
    lt_serve__variant_clear(&b->variant);
    json_decref(b->execution_parameters);
    free(b);
}
