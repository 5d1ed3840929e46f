/* Hyper-parameter tuning jobs: CreateHyperParameterTuningJob, Describe, List, Stop and
 * ListTrainingJobsForHyperParameterTuningJob. Create checks the search space (with the tune
 * library's parser), the strategy's rules, the training job definition's image and that the
 * objective metric is one its jobs emit, then stores the job InProgress and tells the
 * executor, whose tuning runner (`lathe job run tuning NAME`) asks the strategy for
 * configurations and launches them as training jobs (their parent is the tuning job). */
#include "api/jobs_internal.h"

#include "algo/algo.h"
#include "tune/tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *tuning_status(const json_t *doc)
{
    return lt_json_str(doc, "HyperParameterTuningJobStatus");
}

const lt_api_kind lt_api__tuning_job_kind = {LT_STORE_KIND_TUNING_JOB, "Hyperparameter tuning job",
                                             "HyperParameterTuningJobName",
                                             "HyperParameterTuningJobArn", tuning_status};
#define KIND (&lt_api__tuning_job_kind)

/* The objective must be a metric the definition's jobs emit. `where` names the definition
 * in messages ("TrainingJobDefinition", "TrainingJobDefinitions[1] (xgb)"). */
static int check_objective(lt_api_ctx *ctx, const json_t *objective, const json_t *definition,
                           const char *where, lt_err *err)
{
    const char *metric = lt_json_str(objective, "MetricName");
    if (!metric)
        return lt_err_set(err, LT_EINVAL, "The objective of %s has no MetricName.", where);
    json_t *spec = json_object_get(definition, "AlgorithmSpecification");
    const char *uri = lt_json_str(spec, "TrainingImage");
    const char *algorithm = lt_json_str(spec, "AlgorithmName");
    if ((!uri) == (!algorithm))
        return lt_err_set(err, LT_EINVAL,
                          "%s.AlgorithmSpecification must name exactly one of TrainingImage and "
                          "AlgorithmName.",
                          where);
    json_t *image = NULL;
    int rc = lt_api_image_resolve(ctx->store, uri ? uri : algorithm, &image, err);
    if (rc) return rc;
    bool found = false;
    lt_buf names;
    lt_buf_init(&names, 8192);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(image, "Metrics"), i, m) {
        found |= strcmp(json_string_value(m), metric) == 0;
        lt_buf_printf(&names, NULL, "%s%s", names.len ? ", " : "", json_string_value(m));
    }
    json_array_foreach(json_object_get(spec, "MetricDefinitions"), i, m) {
        found |= strcmp(lt_json_str(m, "Name"), metric) == 0;
        lt_buf_printf(&names, NULL, "%s%s", names.len ? ", " : "", lt_json_str(m, "Name"));
    }
    if (!found)
        rc = lt_err_set(err, LT_EINVAL,
                        "The objective metric '%s' is not one the training jobs of %s emit (%s); "
                        "name a MetricDefinitions entry or one of the built-in algorithm's metrics.",
                        metric ? metric : "", where, names.len ? names.data : "they define no metrics");
    lt_buf_free(&names);
    json_decref(image);
    return rc;
}

static int check_config(const json_t *config, lt_err *err)
{
    const char *strategy = lt_json_str(config, "Strategy");
    lt_tune_strategy s;
    int rc = lt_tune_strategy_parse(strategy ? strategy : "Bayesian", &s, err);
    if (rc) return rc;
    const char *early = lt_json_str(config, "TrainingJobEarlyStoppingType");
    if (s == LT_TUNE_HYPERBAND && early && strcmp(early, "Auto") == 0)
        return lt_err_set(err, LT_EINVAL,
                          "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy.");
    json_t *limits = json_object_get(config, "ResourceLimits");
    if (s != LT_TUNE_GRID && !json_object_get(limits, "MaxNumberOfTrainingJobs"))
        return lt_err_set(err, LT_EINVAL,
                          "ResourceLimits.MaxNumberOfTrainingJobs is required with the %s strategy.",
                          strategy ? strategy : "Bayesian");
    json_t *hb = json_object_get(json_object_get(config, "StrategyConfig"), "HyperbandStrategyConfig");
    if (hb && s != LT_TUNE_HYPERBAND)
        return lt_err_set(err, LT_EINVAL,
                          "StrategyConfig.HyperbandStrategyConfig is only for the Hyperband strategy.");
    int64_t min_r = lt_json_int(hb, "MinResource", 1), max_r = lt_json_int(hb, "MaxResource", 0);
    if (min_r < 1 || max_r < 0 || max_r > 20000 || (max_r && max_r < min_r))
        return lt_err_set(err, LT_EINVAL,
                          "HyperbandStrategyConfig: MinResource (%lld) must be at least 1 and at "
                          "most MaxResource (%lld), which is at most 20000.",
                          (long long)min_r, (long long)max_r);
    return 0;
}

/* Hyperband needs MaxResource: HyperbandStrategyConfig's, or the epochs among a
 * definition's static hyperparameters (the keys SageMaker infers it from). */
static int check_hyperband_resource(const json_t *config, const json_t *definition,
                                    const char *where, lt_err *err)
{
    const char *strategy = lt_json_str(config, "Strategy");
    if (!strategy || strcasecmp(strategy, "Hyperband") != 0) return 0;
    json_t *hb = json_object_get(json_object_get(config, "StrategyConfig"), "HyperbandStrategyConfig");
    if (json_object_get(hb, "MaxResource")) return 0;
    static const char *const keys[] = {"epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs"};
    json_t *statics = json_object_get(definition, "StaticHyperParameters");
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = lt_json_str(statics, keys[i]);
        int64_t n = 0;
        if (v && lt_parse_i64(v, 1, 20000, &n, keys[i], NULL) == 0) return 0;
    }
    return lt_err_set(err, LT_EINVAL,
                      "The Hyperband strategy needs StrategyConfig.HyperbandStrategyConfig."
                      "MaxResource, or an epochs, numepochs, n-epochs, n_epochs or num_epochs "
                      "static hyperparameter of %s (an integer from 1 to 20000) to infer it from.",
                      where);
}

/* One training job definition: its objective (TuningObjective, else the config's) names a
 * metric its jobs emit, in the same direction as the others'; its ranges
 * (HyperParameterRanges, else the config's ParameterRanges) parse. *type is the first
 * definition's objective Type (NULL before it). */
static int check_definition(lt_api_ctx *ctx, const json_t *config, const json_t *definition,
                            const char *where, const char **type, lt_err *err)
{
    const char *strategy = lt_json_str(config, "Strategy");
    bool grid = strategy && strcasecmp(strategy, "Grid") == 0;
    json_t *objective = json_object_get(definition, "TuningObjective");
    if (!objective) objective = json_object_get(config, "HyperParameterTuningJobObjective");
    if (!objective && !grid)
        return lt_err_set(err, LT_EINVAL,
                          "%s has no objective: give HyperParameterTuningJobConfig."
                          "HyperParameterTuningJobObjective or the definition's TuningObjective.",
                          where);
    int rc = objective ? check_objective(ctx, objective, definition, where, err) : 0;
    if (rc) return rc;
    const char *t = lt_json_str(objective, "Type");
    if (t && *type && strcmp(t, *type) != 0)
        return lt_err_set(err, LT_EINVAL,
                          "Every training job definition's objective must have the same Type: %s "
                          "has %s, the first has %s.",
                          where, t, *type);
    if (t && !*type) *type = t;
    json_t *ranges = json_object_get(definition, "HyperParameterRanges");
    const char *ranges_where = "HyperParameterRanges";
    if (!ranges) {
        ranges = json_object_get(config, "ParameterRanges");
        ranges_where = "HyperParameterTuningJobConfig.ParameterRanges";
    }
    if (!ranges)
        return lt_err_set(err, LT_EINVAL,
                          "%s has no ranges to search: give HyperParameterTuningJobConfig."
                          "ParameterRanges or the definition's HyperParameterRanges.",
                          where);
    lt_tune_space *space = NULL;
    lt_err inner = {0};
    if (lt_tune_space_parse(ranges, &space, &inner) != 0)
        return lt_err_set(err, LT_EINVAL, "%s: %s: %s", where, ranges_where, inner.msg);
    lt_tune_space_free(space);
    rc = check_hyperband_resource(config, definition, where, err);
    if (!rc)
        rc = lt_api__check_s3_uri(
            lt_json_str(json_object_get(definition, "OutputDataConfig"), "S3OutputPath"),
            "TrainingJobDefinition.OutputDataConfig.S3OutputPath", err);
    return rc;
}

/* Exactly one of TrainingJobDefinition and TrainingJobDefinitions (1 to 10, each with a
 * unique DefinitionName when there are several); warm start and early stopping only with one
 * definition, as SageMaker documents for multi-algorithm tuning. */
static int check_definitions(lt_api_ctx *ctx, const json_t *input, lt_err *err)
{
    json_t *config = json_object_get(input, "HyperParameterTuningJobConfig");
    json_t *one = json_object_get(input, "TrainingJobDefinition");
    json_t *many = json_object_get(input, "TrainingJobDefinitions");
    if ((one != NULL) == (many != NULL))
        return lt_err_set(err, LT_EINVAL,
                          "Give exactly one of TrainingJobDefinition and TrainingJobDefinitions.");
    const char *type = NULL;
    if (one) return check_definition(ctx, config, one, "TrainingJobDefinition", &type, err);
    size_t n = json_array_size(many);
    if (n < 1 || n > 10)
        return lt_err_set(err, LT_EINVAL,
                          "TrainingJobDefinitions must have from 1 to 10 members; it has %zu.", n);
    if (n > 1 && json_object_get(input, "WarmStartConfig"))
        return lt_err_set(err, LT_EINVAL,
                          "WarmStartConfig is only available with a single training job definition.");
    const char *early = lt_json_str(config, "TrainingJobEarlyStoppingType");
    if (n > 1 && early && strcmp(early, "Auto") == 0)
        return lt_err_set(err, LT_EINVAL,
                          "TrainingJobEarlyStoppingType Auto is only available with a single "
                          "training job definition.");
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(many, i);
        const char *dname = lt_json_str(d, "DefinitionName");
        char where[160];
        snprintf(where, sizeof where, "TrainingJobDefinitions[%zu]%s%.64s%s", i, dname ? " (" : "",
                 dname ? dname : "", dname ? ")" : "");
        if (n > 1 && (!dname || !*dname))
            return lt_err_set(err, LT_EINVAL,
                              "%s needs a DefinitionName: with several definitions each is named.",
                              where);
        for (size_t j = 0; dname && j < i; j++)
            if (strcmp(dname, lt_json_str(json_array_get(many, j), "DefinitionName")
                                  ? lt_json_str(json_array_get(many, j), "DefinitionName")
                                  : "") == 0)
                return lt_err_set(err, LT_EINVAL,
                                  "TrainingJobDefinitions: the DefinitionName '%s' is used twice.",
                                  dname);
        int rc = check_definition(ctx, config, d, where, &type, err);
        if (rc) return rc;
    }
    return 0;
}

/* Warm start reads the parents' finished trials: each parent must exist and have ended. */
static int check_warm_start(lt_api_ctx *ctx, const json_t *warm, lt_err *err)
{
    size_t i;
    json_t *parent;
    json_array_foreach(json_object_get(warm, "ParentHyperParameterTuningJobs"), i, parent) {
        const char *name = lt_json_str(parent, "HyperParameterTuningJobName");
        lt_store_resource res = {0};
        json_t *doc = NULL;
        lt_err inner = {0};
        int rc = name ? lt_api__resource_load(ctx, KIND, name, &res, &doc, &inner) : LT_ENOTFOUND;
        lt_store_resource_clear(&res);
        const char *status = rc ? NULL : lt_json_str(doc, "HyperParameterTuningJobStatus");
        if (rc == LT_ENOTFOUND)
            rc = lt_err_set(err, LT_EINVAL, "WarmStartConfig: the parent tuning job '%s' does not exist.",
                            name ? name : "");
        else if (rc)
            rc = lt_err_set(err, rc, "%s", inner.msg);
        else if (!status || strcmp(status, "InProgress") == 0 || strcmp(status, "Stopping") == 0)
            rc = lt_err_set(err, LT_EINVAL,
                            "WarmStartConfig: the parent tuning job '%s' is still %s; a parent must "
                            "have ended.",
                            name, status ? status : "running");
        json_decref(doc);
        if (rc) return rc;
    }
    return 0;
}

/* The objective among the static hyperparameters of a stored definition, as SageMaker's
 * Describe shows it. */
static json_t *stored_definition(const json_t *definition, const json_t *config)
{
    json_t *def = json_deep_copy(definition);
    json_t *statics = json_object_get(def, "StaticHyperParameters");
    if (!statics) json_object_set_new(def, "StaticHyperParameters", statics = json_object());
    json_t *objective = json_object_get(def, "TuningObjective");
    if (!objective) objective = json_object_get(config, "HyperParameterTuningJobObjective");
    if (lt_json_str(objective, "MetricName"))
        json_object_set_new(statics, "_tuning_objective_metric",
                            json_string(lt_json_str(objective, "MetricName")));
    return def;
}

static int create_tuning_job(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "HyperParameterTuningJobName");
    json_t *config = json_object_get(input, "HyperParameterTuningJobConfig");
    int rc = check_config(config, err);
    if (!rc) rc = check_definitions(ctx, input, err);
    json_t *warm = json_object_get(input, "WarmStartConfig");
    if (!rc && warm) rc = check_warm_start(ctx, warm, err);
    if (rc) return rc;
    json_t *doc = json_object();
    static const char *const members[] = {"HyperParameterTuningJobConfig", "WarmStartConfig",
                                          "Autotune", NULL};
    lt_api__copy_members(doc, input, members);
    json_t *one = json_object_get(input, "TrainingJobDefinition");
    if (one) {
        json_object_set_new(doc, "TrainingJobDefinition", stored_definition(one, config));
    } else {
        json_t *defs = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(input, "TrainingJobDefinitions"), i, d)
            json_array_append_new(defs, stored_definition(d, config));
        json_object_set_new(doc, "TrainingJobDefinitions", defs);
    }
    json_object_set_new(doc, "HyperParameterTuningJobStatus", json_string("InProgress"));
    json_object_set_new(doc, "TrainingJobStatusCounters",
                        json_pack("{s:i, s:i, s:i, s:i, s:i}", "Completed", 0, "InProgress", 0,
                                  "RetryableError", 0, "NonRetryableError", 0, "Stopped", 0));
    json_object_set_new(doc, "ObjectiveStatusCounters",
                        json_pack("{s:i, s:i, s:i}", "Succeeded", 0, "Pending", 0, "Failed", 0));
    char *arn = NULL;
    rc = lt_api__resource_create(ctx, KIND, name, doc, NULL, json_object_get(input, "Tags"), &arn,
                                 err);
    json_decref(doc);
    if (rc) return rc;
    lt_api__job_notify(ctx, "tuning", name, "start");
    *output = lt_api__arn_output(KIND, arn);
    free(arn);
    return 0;
}

static int describe_tuning_job(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    (void)output;
    return lt_api__resource_describe(ctx, KIND, lt_json_str(input, "HyperParameterTuningJobName"),
                                     err);
}

static json_t *tuning_summary(const json_t *doc)
{
    static const char *const members[] = {
        "HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus",
        "CreationTime", "HyperParameterTuningEndTime", "LastModifiedTime",
        "TrainingJobStatusCounters", "ObjectiveStatusCounters", NULL};
    json_t *s = json_object();
    lt_api__copy_members(s, doc, members);
    json_t *config = json_object_get(doc, "HyperParameterTuningJobConfig");
    const char *strategy = lt_json_str(config, "Strategy");
    json_object_set_new(s, "Strategy", json_string(strategy ? strategy : "Bayesian"));
    json_t *limits = json_object_get(config, "ResourceLimits");
    if (limits) json_object_set(s, "ResourceLimits", limits);
    return s;
}

static int list_tuning_jobs(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    lt_store_list_params params = {.kind = KIND->kind, .descending = true};
    return lt_api__resource_list(ctx, input, &params, "HyperParameterTuningJobSummaries",
                                 tuning_summary, output, err);
}

static int mark_stopping(lt_api_ctx *ctx, const json_t *input, json_t *doc, lt_err *err)
{
    (void)ctx;
    (void)input;
    const char *status = lt_json_str(doc, "HyperParameterTuningJobStatus");
    if (status && strcmp(status, "Stopping") == 0) return 0;
    if (!status || strcmp(status, "InProgress") != 0)
        return lt_err_set(err, LT_EINVAL,
                          "The hyperparameter tuning job '%s' is not in progress (its status is "
                          "%s), so it cannot be stopped.",
                          lt_json_str(doc, "HyperParameterTuningJobName"),
                          status ? status : "unknown");
    json_object_set_new(doc, "HyperParameterTuningJobStatus", json_string("Stopping"));
    return 0;
}

static int stop_tuning_job(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    json_t *answer = NULL;
    int rc = lt_api__resource_update(ctx, KIND, input, NULL, mark_stopping, &answer, err);
    json_decref(answer);
    if (rc) return rc;
    lt_api__job_notify(ctx, "tuning", lt_json_str(input, "HyperParameterTuningJobName"), "stop");
    *output = NULL;
    return 0;
}

/* ---- ListTrainingJobsForHyperParameterTuningJob ------------------------------------------ */

typedef struct trials_ctx {
    json_t *items;
    const json_t *tuning; /* the tuning job's document */
    const char *tuning_name;
} trials_ctx;

/* The definition a trial was made from (by the TrainingJobDefinitionName its runner wrote
 * into it), its ranges and its objective metric. */
static void trial_definition(const json_t *tuning, const json_t *trial_doc, const json_t **ranges,
                             const char **metric, const char **def_name)
{
    json_t *config = json_object_get(tuning, "HyperParameterTuningJobConfig");
    json_t *def = json_object_get(tuning, "TrainingJobDefinition");
    json_t *many = json_object_get(tuning, "TrainingJobDefinitions");
    const char *wanted = lt_json_str(trial_doc, "TrainingJobDefinitionName");
    if (!def) def = json_array_get(many, 0);
    size_t i;
    json_t *d;
    json_array_foreach(many, i, d) {
        const char *n = lt_json_str(d, "DefinitionName");
        if (wanted && n && strcmp(n, wanted) == 0) def = d;
    }
    *ranges = json_object_get(def, "HyperParameterRanges");
    if (!*ranges) *ranges = json_object_get(config, "ParameterRanges");
    json_t *objective = json_object_get(def, "TuningObjective");
    if (!objective) objective = json_object_get(config, "HyperParameterTuningJobObjective");
    *metric = lt_json_str(objective, "MetricName");
    *def_name = lt_json_str(def, "DefinitionName");
}

static bool is_tuned(const json_t *ranges, const char *name)
{
    const char *kinds[] = {"IntegerParameterRanges", "ContinuousParameterRanges",
                           "CategoricalParameterRanges"};
    for (size_t k = 0; k < 3; k++) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(ranges, kinds[k]), i, r)
            if (strcmp(lt_json_str(r, "Name"), name) == 0) return true;
    }
    return false;
}

static int add_trial(void *ctx, const lt_store_resource *res, lt_err *err)
{
    (void)err;
    trials_ctx *t = ctx;
    json_t *doc = NULL;
    if (lt_json_parse(res->doc, strlen(res->doc), &doc, NULL) != 0) return 0;
    json_t *s = json_object();
    static const char *const members[] = {"TrainingJobName", "TrainingJobArn", "CreationTime",
                                          "TrainingStartTime", "TrainingEndTime",
                                          "TrainingJobStatus", "FailureReason", NULL};
    lt_api__copy_members(s, doc, members);
    json_object_set_new(s, "TuningJobName", json_string(t->tuning_name));
    const json_t *ranges = NULL;
    const char *metric = NULL, *def_name = NULL;
    trial_definition(t->tuning, doc, &ranges, &metric, &def_name);
    if (def_name) json_object_set_new(s, "TrainingJobDefinitionName", json_string(def_name));
    json_t *tuned = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(doc, "HyperParameters"), key, value)
        if (is_tuned(ranges, key)) json_object_set(tuned, key, value);
    json_object_set_new(s, "TunedHyperParameters", tuned);
    const char *status = lt_json_str(doc, "TrainingJobStatus");
    json_t *found = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "FinalMetricDataList"), i, m)
        if (metric && strcmp(lt_json_str(m, "MetricName"), metric) == 0) found = m;
    if (found)
        json_object_set_new(s, "FinalHyperParameterTuningJobObjectiveMetric",
                            json_pack("{s:s, s:O}", "MetricName", metric, "Value",
                                      json_object_get(found, "Value")));
    const char *objective = strcmp(status, "InProgress") == 0 || strcmp(status, "Stopping") == 0
                                ? "Pending"
                            : found ? "Succeeded"
                                    : "Failed";
    json_object_set_new(s, "ObjectiveStatus", json_string(objective));
    json_array_append_new(t->items, s);
    json_decref(doc);
    return 0;
}

static double objective_of(const json_t *s)
{
    json_t *v = json_object_get(json_object_get(s, "FinalHyperParameterTuningJobObjectiveMetric"),
                                "Value");
    return v ? json_number_value(v) : NAN;
}

static int list_trials(lt_api_ctx *ctx, const json_t *input, json_t **output, lt_err *err)
{
    const char *name = lt_json_str(input, "HyperParameterTuningJobName");
    lt_store_resource res = {0};
    json_t *tuning = NULL;
    int rc = lt_api__resource_load(ctx, KIND, name, &res, &tuning, err);
    lt_store_resource_clear(&res);
    if (rc) return rc;
    trials_ctx t = {json_array(), tuning, name};
    /* Every trial, then filtered, sorted and paged here: a tuning job has at most a few
     * hundred, and FinalObjectiveMetricValue is no store column. */
    lt_store_list_params params = {.kind = LT_STORE_KIND_TRAINING_JOB,
                                   .parent_equals = name,
                                   .status_equals = lt_json_str(input, "StatusEquals"),
                                   .sort_by = LT_STORE_SORT_NAME,
                                   .limit = 1000};
    char *next = NULL;
    rc = lt_store_resource_list(ctx->store, &params, add_trial, &t, &next, err);
    free(next);
    const char *sort = lt_json_str(input, "SortBy");
    const char *order = lt_json_str(input, "SortOrder");
    bool descending = order && strcmp(order, "Descending") == 0;
    bool by_objective = sort && strcmp(sort, "FinalObjectiveMetricValue") == 0;
    bool by_time = sort && strcmp(sort, "CreationTime") == 0;
    size_t n = json_array_size(t.items);
    /* Insertion sort: n is small. */
    for (size_t i = 1; !rc && i < n; i++)
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(t.items, j - 1), *b = json_array_get(t.items, j);
            double cmp;
            if (by_objective) {
                double x = objective_of(a), y = objective_of(b);
                cmp = isnan(x) ? (isnan(y) ? 0 : 1) : isnan(y) ? -1 : (descending ? y - x : x - y);
            } else if (by_time) {
                double x = 0, y = 0;
                lt_json_time(a, "CreationTime", &x);
                lt_json_time(b, "CreationTime", &y);
                cmp = descending ? y - x : x - y;
            } else {
                int c = strcmp(lt_json_str(a, "TrainingJobName"), lt_json_str(b, "TrainingJobName"));
                cmp = descending ? -c : c;
            }
            if (cmp <= 0) break;
            json_incref(a);
            json_array_set(t.items, j - 1, b);
            json_array_set_new(t.items, j, a);
        }
    int64_t max = lt_json_int(input, "MaxResults", 10);
    int64_t start = 0;
    const char *token = lt_json_str(input, "NextToken");
    if (!rc && token && lt_parse_i64(token, 0, (int64_t)n, &start, "NextToken", NULL) != 0)
        rc = lt_err_set(err, LT_EINVAL, "Invalid NextToken");
    if (!rc) {
        json_t *page = json_array();
        for (int64_t i = start; i < (int64_t)n && i < start + max; i++)
            json_array_append(page, json_array_get(t.items, (size_t)i));
        json_t *out = json_pack("{s:o}", "TrainingJobSummaries", page);
        if (start + max < (int64_t)n)
            json_object_set_new(out, "NextToken", json_sprintf("%lld", (long long)(start + max)));
        *output = out;
    }
    json_decref(t.items);
    json_decref(tuning);
    return rc;
}

const lt_api_op lt_api__tuning_job_ops[] = {
    {"CreateHyperParameterTuningJob", create_tuning_job, NULL, NULL},
    {"DescribeHyperParameterTuningJob", describe_tuning_job, NULL, NULL},
    {"ListHyperParameterTuningJobs", list_tuning_jobs, NULL, NULL},
    {"StopHyperParameterTuningJob", stop_tuning_job, NULL, NULL},
    {"ListTrainingJobsForHyperParameterTuningJob", list_trials, NULL, NULL},
    {NULL, NULL, NULL, NULL},
};
