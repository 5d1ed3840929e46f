/* Trials: CreateTrial, DescribeTrial, ListTrials, UpdateTrial, DeleteTrial. A trial
 * belongs to one experiment (kept in the store's parent column for filtering). */
#include "api/experiments_internal.h"

#include <stdlib.h>
#include <string.h>

const lt_api_kind lt_api__trial_kind = {"experiment-trial", "Trial", "TrialName", "TrialArn", NULL};
#define KIND (&lt_api__trial_kind)

int lt_api__count_rows(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)res;
    (void)err;
    (*(int64_t *)ctx)++;
    return 0;
}

int lt_api__count_trials_of(lt_api_ctx *ctx, const char *experiment_name, int64_t *count,
                            lt_err *err)
{
    *count = 0;
    lt_store_list_params params = {
        .kind = KIND->kind, .parent_equals = experiment_name, .limit = 1000};
    char *next = NULL;
    int rc = lt_store_resource_list(ctx->store, &params, lt_api__count_rows, count, &next, err);
    free(next);
    return rc;
}

/* The experiment check and the insert share one transaction, so a concurrent
 * DeleteExperiment cannot leave the new trial without its experiment. */
static int create_trial_in_txn(lt_api_ctx *ctx, const json_t *input, char **arn, lt_err *err)
{
    const char *name = lt_json_str(input, "TrialName");
    lt_store_resource exp = {0};
    int rc = lt_api__resource_find(ctx, &lt_api__experiment_kind,
                                   lt_json_str(input, "ExperimentName"), &exp, err);
    if (rc) return rc;
    json_t *doc = json_object();
    static const char *const members[] = {"DisplayName", "MetadataProperties", NULL};
    lt_api__copy_members(doc, input, members);
    if (!json_object_get(doc, "DisplayName"))
        json_object_set_new(doc, "DisplayName", json_string(name));
    /* The experiment's stored name, so the trial reports it in its canonical case. */
    json_object_set_new(doc, "ExperimentName", json_string(exp.name));
    rc = lt_api__resource_create(ctx, KIND, name, doc, exp.name, json_object_get(input, "Tags"),
                                 arn, err);
    json_decref(doc);
    lt_store_resource_clear(&exp);
    return rc;
}

static int create_trial(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    char *arn = NULL;
    int rc = lt_store_txn_begin(ctx->store, err);
    if (!rc) rc = lt_store_txn_end(ctx->store, create_trial_in_txn(ctx, input, &arn, err), err);
    if (!rc) *output = lt_api__arn_output(KIND, arn);
    free(arn);
    return rc;
}

static int describe_trial(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "TrialName"), err);
}

static json_t *trial_summary(const json_t *doc)
{
    static const char *const members[] = {"TrialArn",     "TrialName",        "DisplayName",
                                          "CreationTime", "LastModifiedTime", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    json_t *source = json_object_get(doc, "Source");
    if (source) json_object_set(s, "TrialSource", source);
    return s;
}

/* Filters name resources that must exist: a missing experiment or component is
 * ResourceNotFound (the model lists it for ListTrials), not an empty page. */
static int list_trials(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    lt_store_resource exp = {0}, tc = {0};
    const char *experiment = lt_json_str(input, "ExperimentName");
    const char *component = lt_json_str(input, "TrialComponentName");
    int rc = 0;
    if (experiment) {
        rc = lt_api__resource_find(ctx, &lt_api__experiment_kind, experiment, &exp, err);
        params.parent_equals = exp.name;
    }
    if (!rc && component) {
        rc = lt_api__resource_find(ctx, &lt_api__trial_component_kind, component, &tc, err);
        params.related_arn = tc.arn;
        params.relation = LT_API_REL_COMPONENT_TRIAL;
    }
    if (!rc)
        rc = lt_api__resource_list(ctx, input, &params, "TrialSummaries", trial_summary, output,
                                   err);
    lt_store_resource_clear(&exp);
    lt_store_resource_clear(&tc);
    return rc;
}

static int update_trial(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    static const char *const members[] = {"DisplayName", NULL};
    return lt_api__resource_update(ctx, KIND, input, members, NULL, output, err);
}

/* AWS refuses DeleteTrial while components are associated (ValidationException); the
 * message says to disassociate them, which is all that is needed (a component outlives the
 * trials it was part of). */
static int trial_has_no_components(lt_api_ctx *ctx, const lt_store_resource *res, lt_err *err)
{
    int64_t components = 0;
    int rc = lt_store_relation_count(ctx->store, LT_API_REL_COMPONENT_TRIAL, res->arn, false,
                                     &components, err);
    if (!rc && components > 0)
        rc = lt_err_set(err, LT_ECONFLICT,
                        "Trial '%s' still has %lld trial component(s) associated; disassociate "
                        "them (DisassociateTrialComponent) first.",
                        res->name, (long long)components);
    return rc;
}

static int delete_trial(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    return lt_api__resource_delete(ctx, KIND, lt_json_str(input, "TrialName"),
                                   trial_has_no_components, output, err);
}

const lt_api_op lt_api__trial_ops[] = {
    {"CreateTrial", create_trial, NULL, "ValidationException"},
    {"DescribeTrial", describe_trial, NULL, NULL},
    {"ListTrials", list_trials, NULL, NULL},
    {"UpdateTrial", update_trial, NULL, "ValidationException"},
    {"DeleteTrial", delete_trial, NULL, "ValidationException"},
    {NULL, NULL, NULL, NULL},
};
