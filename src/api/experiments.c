/* Experiments: CreateExperiment, DescribeExperiment, ListExperiments, UpdateExperiment,
 * DeleteExperiment. */
#include "api/experiments_internal.h"

#include <stdlib.h>
#include <string.h>

const lt_api_kind lt_api__experiment_kind = {"experiment", "Experiment", "ExperimentName",
                                             "ExperimentArn", NULL};
#define KIND (&lt_api__experiment_kind)

static int create_experiment(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "ExperimentName");
    json_t *doc = json_object();
    static const char *const members[] = {"DisplayName", "Description", NULL};
    lt_api__copy_members(doc, input, members);
    if (!json_object_get(doc, "DisplayName"))
        json_object_set_new(doc, "DisplayName", json_string(name));
    char *arn = NULL;
    int rc = lt_api__resource_create(ctx, KIND, name, doc, NULL, json_object_get(input, "Tags"),
                                     &arn, err);
    json_decref(doc);
    if (rc) return rc;
    *output = lt_api__arn_output(KIND, arn);
    free(arn);
    return 0;
}

static int describe_experiment(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "ExperimentName"), err);
}

static json_t *experiment_summary(const json_t *doc)
{
    static const char *const members[] = {"ExperimentArn", "ExperimentName",   "DisplayName",
                                          "CreationTime",  "LastModifiedTime", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    json_t *source = json_object_get(doc, "Source");
    if (source) json_object_set(s, "ExperimentSource", source);
    return s;
}

static int list_experiments(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    return lt_api__resource_list(ctx, input, &params, "ExperimentSummaries", experiment_summary,
                                 output, err);
}

static int update_experiment(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    static const char *const members[] = {"DisplayName", "Description", NULL};
    return lt_api__resource_update(ctx, KIND, input, members, NULL, output, err);
}

/* SageMaker refuses to delete an experiment that still has trials ("All trials associated
 * with the experiment must be deleted first", DeleteExperiment in the API reference) and
 * answers ValidationException; LT_ECONFLICT maps to that through this family's table, and
 * the message names what to delete first. */
static int experiment_has_no_trials(lt_api_ctx *ctx, const lt_store_resource *res, lt_err *err)
{
    int64_t trials = 0;
    int rc = lt_api__count_trials_of(ctx, res->name, &trials, err);
    if (!rc && trials > 0)
        rc = lt_err_set(err, LT_ECONFLICT,
                        "Experiment '%s' still has %lld trial(s); delete them (DeleteTrial) first.",
                        res->name, (long long)trials);
    return rc;
}

static int delete_experiment(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    return lt_api__resource_delete(ctx, KIND, lt_json_str(input, "ExperimentName"),
                                   experiment_has_no_trials, output, err);
}

const lt_api_op lt_api__experiment_ops[] = {
    {"CreateExperiment", create_experiment, NULL, "ValidationException"},
    {"DescribeExperiment", describe_experiment, NULL, NULL},
    {"ListExperiments", list_experiments, NULL, NULL},
    {"UpdateExperiment", update_experiment, NULL, "ValidationException"},
    {"DeleteExperiment", delete_experiment, NULL, "ValidationException"},
    {NULL, NULL, NULL, NULL},
};
