/*
 * Control-plane dispatch: parse, validate against the service model, run the handler,
 * and map error classes to the awsJson 1.1 error body. This is the one place that
 * builds protocol error bodies (CONVENTIONS.md, Errors).
 */
#include "api/api_internal.h"

#include <stdlib.h>
#include <string.h>

/* The resource families; adding one is a line here and its table in its own file. */
static const lt_api_op *const families[] = {
    lt_api__experiment_ops,
    lt_api__trial_ops,
    lt_api__trial_component_ops,
    lt_api__tag_ops,
    lt_api__training_job_ops,
    lt_api__processing_job_ops,
    lt_api__model_ops,
    lt_api__endpoint_config_ops,
    lt_api__endpoint_ops,
    lt_api__tuning_job_ops,
    lt_api__transform_job_ops,
};

enum { N_FAMILIES = sizeof families / sizeof families[0] };

static const lt_api_op *find_op(const char *operation)
{
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const lt_api_op *op = families[f]; op->name; op++)
            if (strcmp(op->name, operation) == 0) return op;
    return NULL;
}

bool lt_api_operation_in_model(const char *operation)
{
    return lt_api__operation_in_model(operation);
}

bool lt_api_operation_implemented(const char *operation)
{
    return find_op(operation) != NULL;
}

size_t lt_api_implemented_count(void)
{
    size_t n = 0;
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const lt_api_op *op = families[f]; op->name; op++) n++;
    return n;
}

const char *lt_api_implemented_name(size_t index)
{
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const lt_api_op *op = families[f]; op->name; op++)
            if (index-- == 0) return op->name;
    return NULL;
}

int lt_api_open(lt_api **out, lt_store *store, lt_blob *blob, const lt_api_config *cfg,
                lt_err *err)
{
    size_t acct_len = strlen(cfg->account_id);
    if (acct_len != 12 || strspn(cfg->account_id, "0123456789") != 12)
        return lt_err_set(err, LT_EINVAL, "account id must be 12 digits, got '%s'", cfg->account_id);
    if (strlen(cfg->region) == 0 || strlen(cfg->region) >= sizeof((lt_api *)0)->region)
        return lt_err_set(err, LT_EINVAL, "region '%s' is empty or too long", cfg->region);
    lt_api *api = lt_xcalloc(1, sizeof *api);
    api->store = store;
    api->blob = blob;
    api->on_job = cfg->on_job;
    api->on_job_ctx = cfg->on_job_ctx;
    memcpy(api->region, cfg->region, strlen(cfg->region) + 1);
    memcpy(api->account_id, cfg->account_id, acct_len + 1);
    *out = api;
    return 0;
}

void lt_api_close(lt_api *api)
{
    free(api);
}

char *lt_api__arn(const lt_api *api, const char *resource_type, const char *name)
{
    char *arn = lt_xasprintf("arn:aws:sagemaker:%s:%s:%s/%s", api->region, api->account_id,
                             resource_type, name);
    /* SageMaker lower-cases the name inside ARNs while *Name members keep their case. */
    for (char *p = arn + strlen(arn) - strlen(name); *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    return arn;
}

static void reply_error(lt_api_reply *reply, int status, const char *type, const char *message)
{
    json_t *body = json_pack("{s:s, s:s, s:s}", "__type", type, "message", message, "Message",
                             message);
    reply->status = status;
    reply->error_type = type;
    reply->body = lt_json_dump(body);
    reply->body_len = strlen(reply->body);
    json_decref(body);
}

/* The one table from error classes to the protocol's codes and statuses. */
static void reply_from_err(lt_api_reply *reply, const lt_api_op *op, const lt_err *err)
{
    switch (err->code) {
    case LT_EINVAL: reply_error(reply, 400, "ValidationException", err->msg); break;
    case LT_ENOTFOUND:
        reply_error(reply, 400, op->not_found_code ? op->not_found_code : "ResourceNotFound",
                    err->msg);
        break;
    case LT_ECONFLICT:
        reply_error(reply, 400, op->conflict_code ? op->conflict_code : "ResourceInUse", err->msg);
        break;
    case LT_ELIMIT: reply_error(reply, 400, "ResourceLimitExceeded", err->msg); break;
    case LT_EAUTH: reply_error(reply, 403, "AccessDeniedException", err->msg); break;
    default:
        lt_log_error("%s failed (%s): %s", op->name, lt_err_class_name(err->code), err->msg);
        reply_error(reply, 500, "InternalFailure", err->msg);
        break;
    }
}

void lt_api_call(lt_api *api, const char *operation, const char *body, size_t body_len,
                 lt_api_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    lt_err err = {0};
    if (!lt_api__operation_in_model(operation)) {
        char *msg = lt_xasprintf("Operation '%.128s' is not a SageMaker operation.", operation);
        reply_error(reply, 400, "UnknownOperationException", msg);
        free(msg);
        return;
    }
    json_t *input = NULL;
    if (body_len == 0) {
        input = json_object();
    } else if (lt_json_parse(body, body_len, &input, &err) != 0) {
        reply_error(reply, 400, "SerializationException", err.msg);
        return;
    }
    if (!json_is_object(input)) {
        json_decref(input);
        reply_error(reply, 400, "SerializationException",
                    "The request body must be a JSON object.");
        return;
    }
    if (lt_api__validate(operation, input, &err) != 0) {
        json_decref(input);
        reply_error(reply, 400, "ValidationException", err.msg);
        return;
    }
    const lt_api_op *op = find_op(operation);
    if (!op) {
        json_decref(input);
        char *msg = lt_xasprintf("Lathe does not implement SageMaker.%s yet; see docs/API.md for "
                                 "the operations it serves.",
                                 operation);
        /* 501 is not retried by botocore, unlike 500/502/503/504. */
        reply_error(reply, 501, "NotImplementedException", msg);
        free(msg);
        return;
    }
    lt_api_ctx ctx = {.api = api, .store = api->store, .now_ms = lt_now_ms()};
    json_t *output = NULL;
    int rc = op->handler(&ctx, input, &output, &err);
    json_decref(input);
    if (rc != 0) {
        free(ctx.raw_output);
        json_decref(output);
        if (err.code == 0) lt_err_set(&err, rc, "%s failed", operation);
        reply_from_err(reply, op, &err);
        return;
    }
    reply->status = 200;
    reply->body = ctx.raw_output ? ctx.raw_output : output ? lt_json_dump(output) : lt_xstrdup("{}");
    reply->body_len = strlen(reply->body);
    json_decref(output);
}

void lt_api_reply_free(lt_api_reply *reply)
{
    free(reply->body);
    reply->body = NULL;
}
