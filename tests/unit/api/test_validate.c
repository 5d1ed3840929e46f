/*
 * Request validation against the SageMaker service model (src/api/validate.c).
 * Every expected message below is written out by hand in AWS Coral's format; none is
 * produced by the code under test.
 */
#include "validation_tables.h"

#include "test.h"

#include <pthread.h>

/* ---- helpers ------------------------------------------------------------------------ */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        fprintf(stderr, "bad test JSON (%s): %s\n", jerr.text, text);
        abort();
    }
    return j;
}

/* n copies of unit, as a new string. */
static char *repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = lt_xmalloc(ul * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * n] = '\0';
    return s;
}

/* Validates body against op; checks the code and, for failures, the whole message. */
#define EXPECT_VALID(op, body) expect_at(__LINE__, (op), (body), 0, NULL)
#define EXPECT_MESSAGE(op, body, msg) expect_at(__LINE__, (op), (body), LT_EINVAL, (msg))

static void expect_at(int line, const char *op, const char *body, int code, const char *msg)
{
    json_t *in = parse(body);
    lt_err err = {0};
    int rc = lt_api__validate(op, in, &err);
    json_decref(in);
    if (rc != code) {
        LT_FAIL_AT("(line %d) %s: expected rc %d, got %d: %s", line, op, code, rc, err.msg);
        return;
    }
    if (msg && strcmp(err.msg, msg) != 0)
        LT_FAIL_AT("(line %d) %s:\n    got:      \"%s\"\n    expected: \"%s\"", line, op, err.msg,
                   msg);
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : -1;
        if (extra < 0) return false;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xC0) != 0x80) return false;
    }
    return true;
}

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A training job the SageMaker Python SDK would send for a built-in XGBoost estimator. */
static const char *TRAINING_JOB =
    "{\"TrainingJobName\": \"xgboost-2026-11-24-05-34-05-123\","
    " \"HyperParameters\": {\"max_depth\": \"5\", \"eta\": \"0.2\", \"gamma\": \"4\","
    "  \"min_child_weight\": \"6\", \"subsample\": \"0.8\", \"objective\": \"binary:logistic\","
    "  \"num_round\": \"100\"},"
    " \"AlgorithmSpecification\": {\"TrainingImage\":"
    "  \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.5-1\","
    "  \"TrainingInputMode\": \"File\", \"EnableSageMakerMetricsTimeSeries\": false},"
    " \"RoleArn\": \"arn:aws:iam::123456789012:role/SageMakerRole\","
    " \"InputDataConfig\": ["
    "  {\"ChannelName\": \"train\", \"DataSource\": {\"S3DataSource\": {\"S3DataType\": "
    "\"S3Prefix\", \"S3Uri\": \"s3://bucket/churn/train\", \"S3DataDistributionType\": "
    "\"FullyReplicated\"}}, \"ContentType\": \"text/csv\"},"
    "  {\"ChannelName\": \"validation\", \"DataSource\": {\"S3DataSource\": {\"S3DataType\": "
    "\"S3Prefix\", \"S3Uri\": \"s3://bucket/churn/validation\", \"S3DataDistributionType\": "
    "\"FullyReplicated\"}}, \"ContentType\": \"text/csv\"}],"
    " \"OutputDataConfig\": {\"S3OutputPath\": \"s3://bucket/churn/output\"},"
    " \"ResourceConfig\": {\"InstanceType\": \"ml.m5.xlarge\", \"InstanceCount\": 1,"
    "  \"VolumeSizeInGB\": 30},"
    " \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 86400},"
    " \"Tags\": [{\"Key\": \"project\", \"Value\": \"churn\"}],"
    " \"EnableNetworkIsolation\": false,"
    " \"Environment\": {\"LOG_LEVEL\": \"info\"},"
    " \"DebugHookConfig\": {\"S3OutputPath\": \"s3://bucket/churn/debug\","
    "  \"CollectionConfigurations\": []},"
    " \"ProfilerConfig\": {\"S3OutputPath\": \"s3://bucket/churn/profiler\","
    "  \"ProfilingIntervalInMilliseconds\": 500}}";

/* The same job with the given members replaced (a JSON object of top-level members). */
static char *training_job_with(const char *overrides)
{
    json_t *job = parse(TRAINING_JOB);
    json_t *o = parse(overrides);
    json_object_update(job, o);
    char *text = json_dumps(job, JSON_COMPACT);
    json_decref(job);
    json_decref(o);
    return text;
}

/* ---- operations --------------------------------------------------------------------- */

static void operation_in_model_knows_sagemaker_operations(void)
{
    LT_CHECK(lt_api__operation_in_model("CreateTrainingJob"));
    LT_CHECK(lt_api__operation_in_model("AddAssociation")); /* first in sort order */
    LT_CHECK(lt_api__operation_in_model("UpdateWorkteam")); /* last */
    LT_CHECK(!lt_api__operation_in_model("NoSuchOp"));
    LT_CHECK(!lt_api__operation_in_model("createTrainingJob"));
    LT_CHECK(!lt_api__operation_in_model(""));
    LT_CHECK(!lt_api__operation_in_model(NULL));
    LT_CHECK_INT(lt_api__val_operation_count, ==, 298);
}

static void validate_unknown_operation_is_not_found(void)
{
    json_t *in = json_object();
    lt_err err = {0};
    LT_CHECK_INT(lt_api__validate("NoSuchOp", in, &err), ==, LT_ENOTFOUND);
    LT_CHECK_CONTAINS(err.msg, "NoSuchOp");
    json_decref(in);
}

static void validate_refuses_a_non_object_without_crashing(void)
{
    json_t *arr = json_array();
    lt_err err = {0};
    LT_CHECK_INT(lt_api__validate("ListExperiments", arr, &err), ==, LT_EINVAL);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_api__validate("ListExperiments", NULL, &err), ==, LT_EINVAL);
    json_decref(arr);
}

static void every_model_pattern_compiles(void)
{
    LT_CHECK_INT(lt_api__val_pattern_count, >, 50);
    for (size_t i = 0; i < lt_api__val_pattern_count; i++) {
        if (!lt_api__val_pattern_usable(i))
            LT_FAIL_AT("pattern %zu does not compile: %s", i,
                       lt_api__val_str(lt_api__val_patterns[i].text));
    }
}

/* ---- experiments: required, length, pattern ----------------------------------------- */

static void create_experiment_valid_passes(void)
{
    EXPECT_VALID("CreateExperiment",
                 "{\"ExperimentName\": \"my-exp-1\", \"DisplayName\": \"My-Exp\","
                 " \"Description\": \"Churn models, take 2\","
                 " \"Tags\": [{\"Key\": \"team\", \"Value\": \"ml\"}]}");
}

static void create_experiment_missing_name_is_null(void)
{
    EXPECT_MESSAGE("CreateExperiment", "{}",
                   "1 validation error detected: Value null at 'experimentName' failed to "
                   "satisfy constraint: Member must not be null");
    /* A JSON null is the same as absent. */
    EXPECT_MESSAGE("CreateExperiment", "{\"ExperimentName\": null}",
                   "1 validation error detected: Value null at 'experimentName' failed to "
                   "satisfy constraint: Member must not be null");
}

static void create_experiment_name_of_121_chars_fails_length_and_pattern(void)
{
    char *name = repeat("a", 121);
    char body[512], msg[1024];
    snprintf(body, sizeof body, "{\"ExperimentName\": \"%s\"}", name);
    snprintf(msg, sizeof msg,
             "2 validation errors detected: "
             "Value '%s' at 'experimentName' failed to satisfy constraint: Member must have "
             "length less than or equal to 120; "
             "Value '%s' at 'experimentName' failed to satisfy constraint: Member must "
             "satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}",
             name, name);
    EXPECT_MESSAGE("CreateExperiment", body, msg);
    free(name);
}

static void create_experiment_name_with_bad_character_fails_pattern(void)
{
    EXPECT_MESSAGE("CreateExperiment", "{\"ExperimentName\": \"abc!\"}",
                   "1 validation error detected: Value 'abc!' at 'experimentName' failed to "
                   "satisfy constraint: Member must satisfy regular expression pattern: "
                   "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}");
}

static void pattern_must_match_the_whole_string(void)
{
    /* The model's pattern has no '$': a search would accept "abc" inside "abc-". */
    EXPECT_MESSAGE("DescribeTrainingJob", "{\"TrainingJobName\": \"abc-\"}",
                   "1 validation error detected: Value 'abc-' at 'trainingJobName' failed to "
                   "satisfy constraint: Member must satisfy regular expression pattern: "
                   "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
    EXPECT_VALID("DescribeTrainingJob", "{\"TrainingJobName\": \"a--b-c\"}");
}

static void alternation_pattern_with_inner_anchors_works(void)
{
    EXPECT_VALID("UpdateImage", "{\"ImageName\": \"img\", \"DeleteProperties\": "
                                "[\"DisplayName\", \"Description\"]}");
    EXPECT_MESSAGE("UpdateImage", "{\"ImageName\": \"img\", \"DeleteProperties\": [\"Tags\"]}",
                   "1 validation error detected: Value 'Tags' at 'deleteProperties.1.member' "
                   "failed to satisfy constraint: Member must satisfy regular expression "
                   "pattern: (^DisplayName$)|(^Description$)");
}

static void unknown_members_are_ignored(void)
{
    EXPECT_VALID("CreateExperiment", "{\"ExperimentName\": \"e\", \"NewerMember\": {\"x\": 1},"
                                     " \"experimentName\": 7}");
}

/* ---- enums and numbers -------------------------------------------------------------- */

static void list_experiments_sort_by_outside_enum_fails(void)
{
    EXPECT_VALID("ListExperiments", "{\"SortBy\": \"CreationTime\", \"SortOrder\": "
                                    "\"Ascending\"}");
    EXPECT_MESSAGE("ListExperiments", "{\"SortBy\": \"Size\"}",
                   "1 validation error detected: Value 'Size' at 'sortBy' failed to satisfy "
                   "constraint: Member must satisfy enum value set: [Name, CreationTime]");
    /* A prefix of an enum value is not the value. */
    EXPECT_MESSAGE("ListExperiments", "{\"SortBy\": \"Nam\"}",
                   "1 validation error detected: Value 'Nam' at 'sortBy' failed to satisfy "
                   "constraint: Member must satisfy enum value set: [Name, CreationTime]");
}

static void list_experiments_max_results_out_of_range_fails(void)
{
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"{\"MaxResults\": 101}",
         "1 validation error detected: Value '101' at 'maxResults' failed to satisfy "
         "constraint: Member must have value less than or equal to 100"},
        {"{\"MaxResults\": 0}",
         "1 validation error detected: Value '0' at 'maxResults' failed to satisfy "
         "constraint: Member must have value greater than or equal to 1"},
        {"{\"MaxResults\": 4294967296}",
         "1 validation error detected: Value '4294967296' at 'maxResults' failed to satisfy "
         "constraint: Member must have value less than or equal to 100"},
        {"{\"MaxResults\": 2.5}",
         "1 validation error detected: Value '2.5' at 'maxResults' failed to satisfy "
         "constraint: Member must be an integer"},
        {"{\"MaxResults\": 100}", NULL},
        {"{\"MaxResults\": 1}", NULL},
        {"{\"MaxResults\": 10.0}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].msg)
            EXPECT_MESSAGE("ListExperiments", cases[i].body, cases[i].msg);
        else
            EXPECT_VALID("ListExperiments", cases[i].body);
    }
}

static void float_bounds_apply_to_values(void)
{
    const char *head = "{\"AutoMLJobName\": \"j\", \"InputDataConfig\": [{\"DataSource\": "
                       "{\"S3DataSource\": {\"S3DataType\": \"S3Prefix\", \"S3Uri\": \"s3://b/"
                       "k\"}}, \"TargetAttributeName\": \"y\"}], \"OutputDataConfig\": "
                       "{\"S3OutputPath\": \"s3://b/o\"}, \"RoleArn\": "
                       "\"arn:aws:iam::123456789012:role/r\", \"AutoMLJobConfig\": "
                       "{\"DataSplitConfig\": {\"ValidationFraction\": ";
    char body[1024];
    snprintf(body, sizeof body, "%s0.25}}}", head);
    EXPECT_VALID("CreateAutoMLJob", body);
    snprintf(body, sizeof body, "%s1.5}}}", head);
    EXPECT_MESSAGE("CreateAutoMLJob", body,
                   "1 validation error detected: Value '1.5' at "
                   "'autoMLJobConfig.dataSplitConfig.validationFraction' failed to satisfy "
                   "constraint: Member must have value less than or equal to 1");
}

static void timestamps_take_epoch_numbers_or_iso8601(void)
{
    EXPECT_VALID("ListExperiments", "{\"CreatedAfter\": 1672531200, \"CreatedBefore\": "
                                    "1672531200.5}");
    EXPECT_VALID("ListExperiments", "{\"CreatedAfter\": \"2023-01-01T00:00:00Z\", "
                                    "\"CreatedBefore\": \"2023-11-14T22:13:20.5+01:00\"}");
    EXPECT_MESSAGE("ListExperiments", "{\"CreatedAfter\": \"yesterday\"}",
                   "1 validation error detected: Value 'yesterday' at 'createdAfter' failed to "
                   "satisfy constraint: Member must be a timestamp (epoch seconds or an "
                   "ISO-8601 date-time)");
}

/* ---- nested structures, lists and maps ---------------------------------------------- */

static void tag_key_of_129_chars_fails_at_list_member_path(void)
{
    char *key = repeat("k", 129);
    char *shown = repeat("k", 128);
    char body[512], msg[1024];
    snprintf(body, sizeof body,
             "{\"ExperimentName\": \"e\", \"Tags\": [{\"Key\": \"%s\", \"Value\": \"v\"}]}", key);
    snprintf(msg, sizeof msg,
             "1 validation error detected: Value '%s...' at 'tags.1.member.key' failed to "
             "satisfy constraint: Member must have length less than or equal to 128",
             shown);
    EXPECT_MESSAGE("CreateExperiment", body, msg);
    free(key);
    free(shown);
}

static void tag_pattern_accepts_non_ascii_letters(void)
{
    /* \p{L}, \p{Z} and \p{N}: German, Japanese and Greek letters, an Arabic-Indic digit.
     * The euro sign is a symbol (\p{Sc}), which the pattern leaves out. */
    EXPECT_VALID("CreateExperiment", "{\"ExperimentName\": \"e\", \"Tags\": [{\"Key\": \"Größe\","
                                     " \"Value\": \"日本 αβ ٣\"}]}");
    EXPECT_MESSAGE("CreateExperiment",
                   "{\"ExperimentName\": \"e\", \"Tags\": [{\"Key\": \"a€\","
                   " \"Value\": \"v\"}]}",
                   "1 validation error detected: Value 'a€' at 'tags.1.member.key' "
                   "failed to satisfy constraint: Member must satisfy regular expression "
                   "pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$");
}

static void string_length_counts_utf16_units(void)
{
    /* U+1D400 MATHEMATICAL BOLD CAPITAL A is a letter outside the BMP: two UTF-16 units,
     * four UTF-8 bytes. 64 of them are 128 units (the limit), 65 are 130. */
    const char *bold_a = "\xf0\x9d\x90\x80";
    char *ok = repeat(bold_a, 64), *over = repeat(bold_a, 65), *shown = repeat(bold_a, 32);
    char body[1024], msg[1024];
    snprintf(body, sizeof body,
             "{\"ExperimentName\": \"e\", \"Tags\": [{\"Key\": \"%s\", \"Value\": \"v\"}]}", ok);
    EXPECT_VALID("CreateExperiment", body);
    snprintf(body, sizeof body,
             "{\"ExperimentName\": \"e\", \"Tags\": [{\"Key\": \"%s\", \"Value\": \"v\"}]}", over);
    snprintf(msg, sizeof msg,
             "1 validation error detected: Value '%s...' at 'tags.1.member.key' failed to "
             "satisfy constraint: Member must have length less than or equal to 128",
             shown);
    EXPECT_MESSAGE("CreateExperiment", body, msg);
    free(ok);
    free(over);
    free(shown);
}

static void instance_count_as_string_is_a_type_error(void)
{
    char *body = training_job_with("{\"ResourceConfig\": {\"InstanceType\": \"ml.m5.xlarge\","
                                   " \"InstanceCount\": \"2\", \"VolumeSizeInGB\": 30}}");
    EXPECT_MESSAGE("CreateTrainingJob", body,
                   "1 validation error detected: Value '2' at 'resourceConfig.instanceCount' "
                   "failed to satisfy constraint: Member must be an integer");
    free(body);
}

static void hyperparameter_value_over_2500_chars_fails_at_map_path(void)
{
    char *value = repeat("x", 2501);
    char *shown = repeat("x", 128);
    char *over = lt_xasprintf("{\"HyperParameters\": {\"epochs\": \"%s\"}}", value);
    char *body = training_job_with(over);
    char msg[1024];
    snprintf(msg, sizeof msg,
             "1 validation error detected: Value '%s...' at 'hyperParameters.epochs' failed "
             "to satisfy constraint: Member must have length less than or equal to 2500",
             shown);
    EXPECT_MESSAGE("CreateTrainingJob", body, msg);
    free(value);
    free(shown);
    free(over);
    free(body);
}

static void map_key_failures_use_coral_map_keys_wording(void)
{
    EXPECT_MESSAGE("CreateModelPackage", "{\"CustomerMetadataProperties\": {\"bad!key\": \"v\"}}",
                   "1 validation error detected: Value 'bad!key' at 'customerMetadataProperties' "
                   "failed to satisfy constraint: Map keys must satisfy constraint: [Member must "
                   "satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)"
                   "${1,128}]");
    EXPECT_VALID("CreateModelPackage", "{\"CustomerMetadataProperties\": {\"owner\": \"me\"}}");
}

static void wrong_container_types_are_reported(void)
{
    EXPECT_MESSAGE("CreateExperiment", "{\"ExperimentName\": 5, \"Tags\": {\"Key\": \"k\"}}",
                   "2 validation errors detected: Value '5' at 'experimentName' failed to "
                   "satisfy constraint: Member must be a string; Value '{Key=k}' at 'tags' "
                   "failed to satisfy constraint: Member must be a list");
    char *body = training_job_with("{\"StoppingCondition\": [1, \"two\"],"
                                   " \"EnableNetworkIsolation\": \"yes\"}");
    EXPECT_MESSAGE("CreateTrainingJob", body,
                   "2 validation errors detected: Value '[1, two]' at 'stoppingCondition' "
                   "failed to satisfy constraint: Member must be a structure; Value 'yes' at "
                   "'enableNetworkIsolation' failed to satisfy constraint: Member must be a "
                   "boolean");
    free(body);
}

static void sensitive_values_are_not_echoed(void)
{
    EXPECT_MESSAGE("CreateWorkforce",
                   "{\"WorkforceName\": \"wf\", \"OidcConfig\": {\"ClientId\": \"c\","
                   " \"ClientSecret\": \"s\\u00e9cret\\n\", \"Issuer\": \"https://i\","
                   " \"AuthorizationEndpoint\": \"https://a\", \"TokenEndpoint\": \"https://t\","
                   " \"UserInfoEndpoint\": \"https://u\", \"LogoutEndpoint\": \"https://l\","
                   " \"JwksUri\": \"https://j\"}}",
                   "1 validation error detected: Value at 'oidcConfig.clientSecret' failed to "
                   "satisfy constraint: Member must satisfy regular expression pattern: [ -~]+");
}

static void null_list_elements_and_map_values_are_refused(void)
{
    EXPECT_MESSAGE("CreateExperiment", "{\"ExperimentName\": \"e\", \"Tags\": [null]}",
                   "1 validation error detected: Value null at 'tags.1.member' failed to "
                   "satisfy constraint: Member must not be null");
    char *body = training_job_with("{\"HyperParameters\": {\"eta\": null}}");
    EXPECT_MESSAGE("CreateTrainingJob", body,
                   "1 validation error detected: Value null at 'hyperParameters.eta' failed to "
                   "satisfy constraint: Member must not be null");
    free(body);
}

static char *nested_search(int levels)
{
    lt_buf body;
    lt_buf_init(&body, 1 << 16);
    lt_buf_puts(&body, "{\"Resource\": \"TrainingJob\", \"SearchExpression\": ", NULL);
    for (int i = 0; i < levels; i++)
        lt_buf_puts(&body, "{\"SubExpressions\": [", NULL);
    lt_buf_puts(&body, "{\"Operator\": \"And\"}", NULL);
    for (int i = 0; i < levels; i++)
        lt_buf_puts(&body, "]}", NULL);
    lt_buf_puts(&body, "}", NULL);
    return lt_buf_take(&body);
}

static void deep_recursive_nesting_is_refused(void)
{
    /* SearchExpression holds SubExpressions, a list of SearchExpression: each level is two
     * path segments, so 30 levels fit the 64-segment limit and 40 do not. */
    char *body = nested_search(30);
    EXPECT_VALID("Search", body);
    free(body);
    body = nested_search(40);
    json_t *in = parse(body);
    lt_err err = {0};
    LT_CHECK_INT(lt_api__validate("Search", in, &err), ==, LT_EINVAL);
    /* The 64-segment path is longer than one failure may be, so the text ends early. */
    LT_CHECK(lt_str_starts_with(err.msg, "1 validation error detected: Value '{SubExpressions=["));
    LT_CHECK_CONTAINS(err.msg, "' at 'searchExpression.subExpressions.1.member.subExpressions."
                               "1.member.");
    LT_CHECK(lt_str_ends_with(err.msg, "..."));
    json_decref(in);
    free(body);
}

/* ---- several errors ----------------------------------------------------------------- */

static void realistic_training_job_passes(void)
{
    EXPECT_VALID("CreateTrainingJob", TRAINING_JOB);
}

static void several_errors_are_counted_in_model_order(void)
{
    json_t *job = parse(TRAINING_JOB);
    json_object_set_new(job, "TrainingJobName", json_string("bad_name"));
    json_object_del(job, "RoleArn");
    json_object_set_new(json_object_get(job, "AlgorithmSpecification"), "TrainingInputMode",
                        json_string("Stream"));
    json_object_set_new(json_object_get(job, "StoppingCondition"), "MaxRuntimeInSeconds",
                        json_integer(0));
    char *body = json_dumps(job, JSON_COMPACT);
    EXPECT_MESSAGE("CreateTrainingJob", body,
                   "4 validation errors detected: "
                   "Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member "
                   "must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; "
                   "Value 'Stream' at 'algorithmSpecification.trainingInputMode' failed to "
                   "satisfy constraint: Member must satisfy enum value set: [Pipe, File, "
                   "FastFile]; "
                   "Value null at 'roleArn' failed to satisfy constraint: Member must not be "
                   "null; "
                   "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy "
                   "constraint: Member must have value greater than or equal to 1");
    free(body);
    json_decref(job);
}

static void more_than_ten_errors_lists_ten_and_counts_all(void)
{
    /* 12 tags without a Key: 12 failures, the first 10 listed. */
    lt_buf body, msg;
    lt_buf_init(&body, 4096);
    lt_buf_init(&msg, 4096);
    lt_buf_puts(&body, "{\"ExperimentName\": \"e\", \"Tags\": [", NULL);
    for (int i = 0; i < 12; i++)
        lt_buf_puts(&body, i ? ", {\"Value\": \"v\"}" : "{\"Value\": \"v\"}", NULL);
    lt_buf_puts(&body, "]}", NULL);
    lt_buf_puts(&msg, "12 validation errors detected: ", NULL);
    for (int i = 1; i <= 10; i++)
        lt_buf_printf(&msg, NULL,
                      "%sValue null at 'tags.%d.member.key' failed to satisfy constraint: "
                      "Member must not be null",
                      i > 1 ? "; " : "", i);
    EXPECT_MESSAGE("CreateExperiment", body.data, msg.data);
    lt_buf_free(&body);
    lt_buf_free(&msg);
}

static void long_messages_are_cut_to_fit_on_a_utf8_boundary(void)
{
    /* 30 tags whose keys hold a disallowed two-byte character: 30 long entries. */
    lt_buf body;
    lt_buf_init(&body, 1 << 16);
    lt_buf_puts(&body, "{\"ExperimentName\": \"e\", \"Tags\": [", NULL);
    for (int i = 0; i < 30; i++)
        lt_buf_printf(&body, NULL, "%s{\"Key\": \"\xc2\xa7\xc2\xa7\xc2\xa7\", \"Value\": \"v\"}",
                      i ? ", " : "");
    lt_buf_puts(&body, "]}", NULL);
    json_t *in = parse(body.data);
    lt_err err = {0};
    LT_CHECK_INT(lt_api__validate("CreateExperiment", in, &err), ==, LT_EINVAL);
    LT_CHECK(lt_str_starts_with(err.msg, "30 validation errors detected: Value "
                                         "'\xc2\xa7\xc2\xa7\xc2\xa7' at 'tags.1.member.key'"));
    LT_CHECK(lt_str_ends_with(err.msg, "..."));
    LT_CHECK_INT(strlen(err.msg), <, sizeof err.msg);
    LT_CHECK(utf8_valid(err.msg));
    LT_CHECK_INT(count_substr(err.msg, "tags.11.member"), ==, 0);
    json_decref(in);
    lt_buf_free(&body);

    /* A 49-value enum set is cut short so that the failure after it still shows. */
    char *job = training_job_with("{\"ResourceConfig\": {\"InstanceType\": \"ml.huge\","
                                  " \"InstanceCount\": 1, \"VolumeSizeInGB\": 30},"
                                  " \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 0}}");
    in = parse(job);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_api__validate("CreateTrainingJob", in, &err), ==, LT_EINVAL);
    LT_CHECK(lt_str_starts_with(err.msg, "2 validation errors detected: Value 'ml.huge' at "
                                         "'resourceConfig.instanceType' failed to satisfy "
                                         "constraint: Member must satisfy enum value set: "
                                         "[ml.m4.xlarge, ml.m4.2xlarge, "));
    LT_CHECK(lt_str_ends_with(err.msg, "...; Value '0' at 'stoppingCondition.maxRuntimeInSeconds' "
                                       "failed to satisfy constraint: Member must have value "
                                       "greater than or equal to 1"));
    LT_CHECK(utf8_valid(err.msg));
    json_decref(in);
    free(job);
}

/* ---- threads and speed -------------------------------------------------------------- */

typedef struct worker {
    pthread_barrier_t *start;
    json_t *good, *bad;
    int mismatches;
} worker;

static const char *BAD_JOB_MESSAGE =
    "1 validation error detected: Value 'job_1' at 'trainingJobName' failed to satisfy "
    "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";

static void *worker_run(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->start); /* all threads race to compile the patterns first */
    for (int i = 0; i < 10000; i++) {
        lt_err err = {0};
        bool bad = (i % 3) == 0;
        int rc = lt_api__validate("CreateTrainingJob", bad ? w->bad : w->good, &err);
        if (bad ? rc != LT_EINVAL || strcmp(err.msg, BAD_JOB_MESSAGE) != 0 : rc != 0)
            w->mismatches++;
    }
    return NULL;
}

static void concurrent_validations_agree(void)
{
    enum { THREADS = 8 };
    json_t *good = parse(TRAINING_JOB);
    char *bad_text = training_job_with("{\"TrainingJobName\": \"job_1\"}");
    json_t *bad = parse(bad_text);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_t tids[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.start = &start, .good = good, .bad = bad};
        LT_CHECK_INT(pthread_create(&tids[i], NULL, worker_run, &workers[i]), ==, 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tids[i], NULL);
        LT_CHECK_INT(workers[i].mismatches, ==, 0);
    }
    pthread_barrier_destroy(&start);
    json_decref(good);
    json_decref(bad);
    free(bad_text);
}

static void report_validations_per_second(void)
{
    static const struct {
        const char *op;
        const char *body;
        int iterations;
    } cases[] = {
        {"DescribeExperiment", "{\"ExperimentName\": \"churn-experiment-7\"}", 400000},
        {"CreateTrainingJob", NULL, 100000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        json_t *in = parse(cases[c].body ? cases[c].body : TRAINING_JOB);
        lt_err err = {0};
        int failures = 0;
        int64_t t0 = lt_monotonic_ns();
        for (int i = 0; i < cases[c].iterations; i++)
            failures += lt_api__validate(cases[c].op, in, &err) != 0;
        double s = (double)(lt_monotonic_ns() - t0) / 1e9;
        LT_CHECK_INT(failures, ==, 0);
        fprintf(stderr, "  %-20s %10.0f validations/s (%d in %.3f s, one thread)\n", cases[c].op,
                cases[c].iterations / s, cases[c].iterations, s);
        json_decref(in);
    }
}

int main(void)
{
    LT_RUN(operation_in_model_knows_sagemaker_operations);
    LT_RUN(validate_unknown_operation_is_not_found);
    LT_RUN(validate_refuses_a_non_object_without_crashing);
    LT_RUN(concurrent_validations_agree); /* first: patterns are still uncompiled */
    LT_RUN(every_model_pattern_compiles);
    LT_RUN(create_experiment_valid_passes);
    LT_RUN(create_experiment_missing_name_is_null);
    LT_RUN(create_experiment_name_of_121_chars_fails_length_and_pattern);
    LT_RUN(create_experiment_name_with_bad_character_fails_pattern);
    LT_RUN(pattern_must_match_the_whole_string);
    LT_RUN(alternation_pattern_with_inner_anchors_works);
    LT_RUN(unknown_members_are_ignored);
    LT_RUN(list_experiments_sort_by_outside_enum_fails);
    LT_RUN(list_experiments_max_results_out_of_range_fails);
    LT_RUN(float_bounds_apply_to_values);
    LT_RUN(timestamps_take_epoch_numbers_or_iso8601);
    LT_RUN(tag_key_of_129_chars_fails_at_list_member_path);
    LT_RUN(tag_pattern_accepts_non_ascii_letters);
    LT_RUN(string_length_counts_utf16_units);
    LT_RUN(instance_count_as_string_is_a_type_error);
    LT_RUN(hyperparameter_value_over_2500_chars_fails_at_map_path);
    LT_RUN(map_key_failures_use_coral_map_keys_wording);
    LT_RUN(wrong_container_types_are_reported);
    LT_RUN(sensitive_values_are_not_echoed);
    LT_RUN(null_list_elements_and_map_values_are_refused);
    LT_RUN(deep_recursive_nesting_is_refused);
    LT_RUN(realistic_training_job_passes);
    LT_RUN(several_errors_are_counted_in_model_order);
    LT_RUN(more_than_ten_errors_lists_ten_and_counts_all);
    LT_RUN(long_messages_are_cut_to_fit_on_a_utf8_boundary);
    LT_RUN(report_validations_per_second);
    return lt_test_summary();
}
