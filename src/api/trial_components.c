/* Trial components: Create/Describe/List/Update/DeleteTrialComponent and
 * Associate/DisassociateTrialComponent. */
#include "api/experiments_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *primary_status(const json_t *doc)
{
    return lt_json_str(json_object_get(doc, "Status"), "PrimaryStatus");
}

const lt_api_kind lt_api__trial_component_kind = {"experiment-trial-component", "Trial component",
                                                  "TrialComponentName", "TrialComponentArn",
                                                  primary_status};
#define KIND (&lt_api__trial_component_kind)

/* The parent column of a component holds its Source.SourceArn (the job that made it), so
 * ListTrialComponents can filter on SourceArn with the store's index. */
static const char *source_arn(const json_t *doc)
{
    return lt_json_str(json_object_get(doc, "Source"), "SourceArn");
}

static int create_trial_component(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                  lt_err *err)
{
    const char *name = lt_json_str(input, "TrialComponentName");
    json_t *doc = json_object();
    static const char *const members[] = {
        "DisplayName",        "Status", "Parameters", "InputArtifacts", "OutputArtifacts",
        "MetadataProperties", NULL};
    lt_api__copy_members(doc, input, members);
    if (!json_object_get(doc, "DisplayName"))
        json_object_set_new(doc, "DisplayName", json_string(name));
    json_object_set_new(doc, "Metrics", json_array());
    int rc = lt_api__copy_time(doc, input, "StartTime", err);
    if (!rc) rc = lt_api__copy_time(doc, input, "EndTime", err);
    char *arn = NULL;
    if (!rc)
        rc = lt_api__resource_create(ctx, KIND, name, doc, source_arn(doc),
                                     json_object_get(input, "Tags"), &arn, err);
    json_decref(doc);
    if (rc) return rc;
    *output = lt_api__arn_output(KIND, arn);
    free(arn);
    return 0;
}

static int describe_trial_component(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                    lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "TrialComponentName"), err);
}

static json_t *component_summary(const json_t *doc)
{
    static const char *const members[] = {"TrialComponentName",
                                          "TrialComponentArn",
                                          "DisplayName",
                                          "Status",
                                          "StartTime",
                                          "EndTime",
                                          "CreationTime",
                                          "CreatedBy",
                                          "LastModifiedTime",
                                          "LastModifiedBy",
                                          NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    json_t *source = json_object_get(doc, "Source");
    if (source) json_object_set(s, "TrialComponentSource", source);
    return s;
}

/* AWS accepts one of ExperimentName, TrialName and SourceArn ("You can only specify one of
 * these filters", ListTrialComponents in the API reference); a named experiment or trial
 * that does not exist is ResourceNotFound. */
static int list_trial_components(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *trial = lt_json_str(input, "TrialName");
    const char *experiment = lt_json_str(input, "ExperimentName");
    const char *source = lt_json_str(input, "SourceArn");
    if ((trial != NULL) + (experiment != NULL) + (source != NULL) > 1)
        return lt_err_set(err, LT_EINVAL,
                          "Specify at most one of ExperimentName, TrialName and SourceArn.");
    lt_store_list_params params = {.kind = KIND->kind, .parent_equals = source, .descending = true};
    lt_store_resource related = {0};
    int rc = 0;
    if (trial) {
        rc = lt_api__resource_find(ctx, &lt_api__trial_kind, trial, &related, err);
        params.relation = LT_API_REL_COMPONENT_TRIAL;
    } else if (experiment) {
        rc = lt_api__resource_find(ctx, &lt_api__experiment_kind, experiment, &related, err);
        params.relation = LT_API_REL_COMPONENT_EXPERIMENT;
    }
    params.related_arn = related.arn;
    if (!rc)
        rc = lt_api__resource_list(ctx, input, &params, "TrialComponentSummaries",
                                   component_summary, output, err);
    lt_store_resource_clear(&related);
    return rc;
}

/* Merges a map member into doc and removes the keys listed in `<member>ToRemove`. */
static void merge_map(json_t *doc, const json_t *input, const char *member, const char *to_remove)
{
    json_t *add = json_object_get(input, member);
    json_t *remove = json_object_get(input, to_remove);
    if (!add && !remove) return;
    json_t *current = json_object_get(doc, member);
    if (!json_is_object(current)) {
        current = json_object();
        json_object_set_new(doc, member, current);
    }
    if (json_is_object(add)) json_object_update(current, add);
    size_t i;
    json_t *key;
    json_array_foreach(remove, i, key)
    {
        if (json_is_string(key)) json_object_del(current, json_string_value(key));
    }
}

static int update_component_doc(lt_api_ctx *ctx, const json_t *input, json_t *doc, lt_err *err)
{
    (void)ctx;
    int rc = lt_api__copy_time(doc, input, "StartTime", err);
    if (!rc) rc = lt_api__copy_time(doc, input, "EndTime", err);
    merge_map(doc, input, "Parameters", "ParametersToRemove");
    merge_map(doc, input, "InputArtifacts", "InputArtifactsToRemove");
    merge_map(doc, input, "OutputArtifacts", "OutputArtifactsToRemove");
    return rc;
}

static int update_trial_component(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                  lt_err *err)
{
    static const char *const members[] = {"DisplayName", "Status", NULL};
    return lt_api__resource_update(ctx, KIND, input, members, update_component_doc, output, err);
}

static int component_in_no_trial(lt_api_ctx *ctx, const lt_store_resource *res, lt_err *err)
{
    int64_t trials = 0;
    int rc = lt_store_relation_count(ctx->store, LT_API_REL_COMPONENT_TRIAL, res->arn, true,
                                     &trials, err);
    if (!rc && trials > 0)
        rc = lt_err_set(err, LT_ECONFLICT,
                        "Trial component '%s' is associated with %lld trial(s); disassociate it "
                        "(DisassociateTrialComponent) first.",
                        res->name, (long long)trials);
    return rc;
}

static int delete_trial_component(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                  lt_err *err)
{
    return lt_api__resource_delete(ctx, KIND, lt_json_str(input, "TrialComponentName"),
                                   component_in_no_trial, output, err);
}

/* A component and a trial named by an Associate/Disassociate call, and the ARN of the
 * trial's experiment. */
typedef struct pair {
    lt_store_resource component, trial;
    char *experiment_arn;
} pair;

static void pair_clear(pair *p)
{
    lt_store_resource_clear(&p->component);
    lt_store_resource_clear(&p->trial);
    free(p->experiment_arn);
}

static int load_pair(lt_api_ctx *ctx, const json_t *input, pair *p, lt_err *err)
{
    int rc = lt_api__resource_find(ctx, KIND, lt_json_str(input, "TrialComponentName"),
                                   &p->component, err);
    if (!rc)
        rc = lt_api__resource_find(ctx, &lt_api__trial_kind, lt_json_str(input, "TrialName"),
                                   &p->trial, err);
    if (!rc)
        p->experiment_arn = lt_api__arn(ctx->api, lt_api__experiment_kind.kind, p->trial.parent);
    return rc;
}

/* Associating twice is not an error: the relation is simply there (a retried call after a
 * lost answer must succeed). */
static int associate_in_txn(lt_api_ctx *ctx, const pair *p, lt_err *err)
{
    int rc = lt_store_relation_add(ctx->store, LT_API_REL_COMPONENT_TRIAL, p->component.arn,
                                   p->trial.arn, err);
    if (!rc)
        rc = lt_store_relation_add(ctx->store, LT_API_REL_COMPONENT_EXPERIMENT, p->component.arn,
                                   p->experiment_arn, err);
    return rc;
}

/* The component stays related to the experiment while another of its trials there holds it. */
static int still_in_experiment(lt_api_ctx *ctx, const pair *p, bool *yes, lt_err *err)
{
    lt_store_list_params params = {.kind = lt_api__trial_kind.kind,
                                   .parent_equals = p->trial.parent,
                                   .related_arn = p->component.arn,
                                   .relation = LT_API_REL_COMPONENT_TRIAL,
                                   .limit = 1};
    int64_t n = 0;
    char *next = NULL;
    int rc = lt_store_resource_list(ctx->store, &params, lt_api__count_rows, &n, &next, err);
    free(next);
    *yes = n > 0;
    return rc;
}

static int disassociate_in_txn(lt_api_ctx *ctx, const pair *p, lt_err *err)
{
    lt_err inner = {0};
    int rc = lt_store_relation_remove(ctx->store, LT_API_REL_COMPONENT_TRIAL, p->component.arn,
                                      p->trial.arn, &inner);
    if (rc == LT_ENOTFOUND)
        return lt_err_set(err, LT_ENOTFOUND,
                          "Trial component '%s' is not associated with trial '%s'.",
                          p->component.name, p->trial.name);
    if (rc) return lt_err_set(err, rc, "%s", inner.msg);
    bool keep = false;
    rc = still_in_experiment(ctx, p, &keep, err);
    if (rc || keep) return rc;
    rc = lt_store_relation_remove(ctx->store, LT_API_REL_COMPONENT_EXPERIMENT, p->component.arn,
                                  p->experiment_arn, &inner);
    return rc == LT_ENOTFOUND ? 0 : rc ? lt_err_set(err, rc, "%s", inner.msg) : 0;
}

/* Both calls read the pair and write its relations in one transaction, so a concurrent
 * Delete of either side cannot slip between the check and the write. */
static int pair_call(lt_api_ctx *ctx, const json_t *input, bool associate, json_t **output,
                     lt_err *err)
{
    pair p = {0};
    int rc = lt_store_txn_begin(ctx->store, err);
    if (rc) return rc;
    int work = load_pair(ctx, input, &p, err);
    if (!work)
        work = associate ? associate_in_txn(ctx, &p, err) : disassociate_in_txn(ctx, &p, err);
    rc = lt_store_txn_end(ctx->store, work, err);
    if (!rc)
        *output =
            json_pack("{s:s, s:s}", "TrialComponentArn", p.component.arn, "TrialArn", p.trial.arn);
    pair_clear(&p);
    return rc;
}

static int associate_trial_component(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                     lt_err *err)
{
    return pair_call(ctx, input, true, output, err);
}

static int disassociate_trial_component(lt_api_ctx *ctx, const json_t *input, json_t **output,
                                        lt_err *err)
{
    return pair_call(ctx, input, false, output, err);
}

const lt_api_op lt_api__trial_component_ops[] = {
    {"CreateTrialComponent", create_trial_component, NULL, "ValidationException"},
    {"DescribeTrialComponent", describe_trial_component, NULL, NULL},
    {"ListTrialComponents", list_trial_components, NULL, NULL},
    {"UpdateTrialComponent", update_trial_component, NULL, "ValidationException"},
    {"DeleteTrialComponent", delete_trial_component, NULL, "ValidationException"},
    {"AssociateTrialComponent", associate_trial_component, NULL, NULL},
    {"DisassociateTrialComponent", disassociate_trial_component, NULL, NULL},
    {NULL, NULL, NULL, NULL},
};
