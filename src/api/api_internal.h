/*
 * Private to the api module: the handler contract, the operation tables each resource
 * family exports, and the validation entry points generated from the service model.
 */
#ifndef LT_API_INTERNAL_H
#define LT_API_INTERNAL_H

#include "api/api.h"

struct lt_api {
    lt_store *store;
    lt_blob *blob;
    char region[64];
    char account_id[16];
    lt_api_job_fn on_job;
    void *on_job_ctx;
};

/* What a handler sees of the call. */
typedef struct lt_api_ctx {
    lt_api *api;
    lt_store *store;
    int64_t now_ms; /* one clock reading per call, so every time a call writes agrees */
    /* Set by a handler whose answer already exists as JSON text (a stored document, which
     * is exactly what Describe returns): sent as is, sparing a parse and a dump. */
    char *raw_output;
} lt_api_ctx;

/* A handler validates nothing the service model already covers (that ran before it).
 * On success it sets *output to a new JSON object (or leaves it NULL for "{}").
 * On failure it returns a negative LT_E* code with a message in err; api.c maps the
 * class to the protocol code using the operation's table entry. */
typedef int (*lt_api_handler)(lt_api_ctx *ctx, const json_t *input, json_t **output,
                              lt_err *err);

typedef struct lt_api_op {
    const char *name;           /* "CreateExperiment" */
    lt_api_handler handler;
    const char *not_found_code; /* __type for LT_ENOTFOUND; NULL means "ResourceNotFound" */
    const char *conflict_code;  /* __type for LT_ECONFLICT; NULL means "ResourceInUse" */
} lt_api_op;

/* Each resource family exports its table, terminated by an entry with name == NULL.
 * api.c lists the families; adding one is a line there. */
extern const lt_api_op lt_api__experiment_ops[];
extern const lt_api_op lt_api__trial_ops[];
extern const lt_api_op lt_api__trial_component_ops[];
extern const lt_api_op lt_api__tag_ops[];
extern const lt_api_op lt_api__training_job_ops[];
extern const lt_api_op lt_api__processing_job_ops[];
extern const lt_api_op lt_api__model_ops[];
extern const lt_api_op lt_api__endpoint_config_ops[];
extern const lt_api_op lt_api__endpoint_ops[];
extern const lt_api_op lt_api__tuning_job_ops[];
extern const lt_api_op lt_api__transform_job_ops[];

/* Validation generated from botocore's service model (validate.c + gen/validation_tables.c).
 * lt_api__validate returns LT_EINVAL with the AWS-style message
 * ("1 validation error detected: Value 'x' at 'trainingJobName' failed to satisfy
 * constraint: Member must ...") or 0. LT_ENOTFOUND when the operation is not in the model. */
bool lt_api__operation_in_model(const char *operation);
int lt_api__validate(const char *operation, const json_t *input, lt_err *err);

/* "arn:aws:sagemaker:<region>:<account>:<type>/<lower-cased name>"; caller frees. */
char *lt_api__arn(const lt_api *api, const char *resource_type, const char *name);

#endif
