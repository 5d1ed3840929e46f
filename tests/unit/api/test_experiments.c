/* api (src/api/api.h): the experiments family end to end through lt_api_call — JSON in,
 * (status, __type, JSON body) out — over a store and an object store in a scratch
 * directory. Expected ARNs, messages and orders are written out by hand. */
#include "api_test_world.h"

#include <math.h>
#include <stdarg.h>

/* ---- helpers ------------------------------------------------------------------------ */

/* One call's answer: the status, the __type ("" on success), the raw body and its parse. */
typedef struct {
    int status;
    char type[64];
    char *raw;
    json_t *body;
} answer;

static void answer_free(answer *a)
{
    free(a->raw);
    json_decref(a->body);
    memset(a, 0, sizeof *a);
}

static answer callv(world *w, const char *op, const char *fmt, va_list ap)
{
    char *body = NULL;
    if (vasprintf(&body, fmt, ap) < 0) abort();
    lt_api_reply reply;
    lt_api_call(w->api, op, body, strlen(body), &reply);
    answer a = {.status = reply.status};
    snprintf(a.type, sizeof a.type, "%s", reply.error_type ? reply.error_type : "");
    a.raw = lt_xstrdup(reply.body ? reply.body : "");
    a.body = json_loads(a.raw, 0, NULL);
    if (!a.body) fprintf(stderr, "  %s answered a body that is not JSON: %s\n", op, a.raw);
    lt_api_reply_free(&reply);
    free(body);
    return a;
}

/* Calls op with a printf-formatted body. */
static answer call(world *w, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static answer call(world *w, const char *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    answer a = callv(w, op, fmt, ap);
    va_end(ap);
    return a;
}

/* Calls op and checks that it answered 200; returns nothing. */
#define OK(w, op, ...) ok_at(__LINE__, (w), (op), __VA_ARGS__)

static void ok_at(int line, world *w, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ok_at(int line, world *w, const char *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    answer a = callv(w, op, fmt, ap);
    va_end(ap);
    if (a.status != 200) LT_FAIL_AT("(line %d) %s: %d %s", line, op, a.status, a.raw);
    answer_free(&a);
}

/* Checks an error answer: status, __type, and that both message members hold `needle`. */
#define CHECK_ERROR(a, st, ty, needle) check_error_at(__LINE__, &(a), (st), (ty), (needle))

static void check_error_at(int line, const answer *a, int status, const char *type,
                           const char *needle)
{
    if (a->status != status || strcmp(a->type, type) != 0) {
        LT_FAIL_AT("(line %d) expected %d %s, got %d %s: %s", line, status, type, a->status,
                   a->type, a->raw);
        return;
    }
    const char *btype = lt_json_str(a->body, "__type");
    const char *msg = lt_json_str(a->body, "message");
    if (!btype || strcmp(btype, type) != 0)
        LT_FAIL_AT("(line %d) body __type is %s, expected %s", line, btype ? btype : "(none)",
                   type);
    if (!msg || (needle && !strstr(msg, needle)))
        LT_FAIL_AT("(line %d) message \"%s\" does not contain \"%s\"", line, msg ? msg : "(none)",
                   needle ? needle : "");
}

/* The values of member `field` of each element of array `member`, as "a,b,c,". */
static char *column(const json_t *body, const char *member, const char *field)
{
    lt_buf b;
    lt_buf_init(&b, 1 << 16);
    lt_buf_puts(&b, "", NULL);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(body, member), i, item)
    {
        const char *v = lt_json_str(item, field);
        lt_buf_puts(&b, v ? v : "(null)", NULL);
        lt_buf_puts(&b, ",", NULL);
    }
    return lt_buf_take(&b);
}

#define CHECK_COLUMN(body, member, field, want)                                                    \
    do {                                                                                           \
        char *lt_col_ = column((body), (member), (field));                                         \
        LT_CHECK_STR(lt_col_, (want));                                                             \
        free(lt_col_);                                                                             \
    } while (0)

#define EXP_ARN "arn:aws:sagemaker:us-east-1:000000000000:experiment/"

/* ---- experiments -------------------------------------------------------------------- */

static void create_experiment_answers_the_arn_with_the_name_lower_cased(void)
{
    world w;
    world_open(&w, "api-exp-create");
    answer a = call(&w, "CreateExperiment", "{\"ExperimentName\":\"My-Experiment-1\"}");
    LT_CHECK_INT(a.status, ==, 200);
    LT_CHECK_STR(a.type, "");
    LT_CHECK_STR(lt_json_str(a.body, "ExperimentArn"), EXP_ARN "my-experiment-1");
    LT_CHECK_INT(json_object_size(a.body), ==, 1);
    answer_free(&a);
    world_close(&w);
}

static void describe_experiment_echoes_what_was_created(void)
{
    world w;
    world_open(&w, "api-exp-describe");
    double before = (double)lt_now_ms() / 1000.0;
    OK(&w, "CreateExperiment",
       "{\"ExperimentName\":\"Described\",\"DisplayName\":\"Shown-Name\","
       "\"Description\":\"what it is for\"}");
    double after = (double)lt_now_ms() / 1000.0;
    answer a = call(&w, "DescribeExperiment", "{\"ExperimentName\":\"described\"}");
    LT_CHECK_INT(a.status, ==, 200);
    LT_CHECK_STR(lt_json_str(a.body, "ExperimentName"), "Described");
    LT_CHECK_STR(lt_json_str(a.body, "ExperimentArn"), EXP_ARN "described");
    LT_CHECK_STR(lt_json_str(a.body, "DisplayName"), "Shown-Name");
    LT_CHECK_STR(lt_json_str(a.body, "Description"), "what it is for");
    json_t *created = json_object_get(a.body, "CreationTime");
    json_t *modified = json_object_get(a.body, "LastModifiedTime");
    LT_CHECK(json_is_number(created));
    LT_CHECK(json_is_number(modified));
    double c = json_number_value(created);
    LT_CHECK(c >= floor(before) && c <= after + 0.001);
    LT_CHECK(json_number_value(modified) >= c);
    answer_free(&a);
    world_close(&w);
}

static void display_name_defaults_to_the_name(void)
{
    world w;
    world_open(&w, "api-exp-display");
    OK(&w, "CreateExperiment", "{\"ExperimentName\":\"NoDisplay\"}");
    answer a = call(&w, "DescribeExperiment", "{\"ExperimentName\":\"NODISPLAY\"}");
    LT_CHECK_INT(a.status, ==, 200);
    LT_CHECK_STR(lt_json_str(a.body, "DisplayName"), "NoDisplay");
    LT_CHECK(json_object_get(a.body, "Description") == NULL);
    answer_free(&a);
    world_close(&w);
}

static void create_of_an_existing_experiment_in_another_case_is_a_validation_error(void)
{
    world w;
    world_open(&w, "api-exp-dup");
    OK(&w, "CreateExperiment", "{\"ExperimentName\":\"dup-exp\",\"Description\":\"first\"}");
    answer a =
        call(&w, "CreateExperiment", "{\"ExperimentName\":\"DUP-Exp\",\"Description\":\"second\"}");
    CHECK_ERROR(a, 400, "ValidationException", "already exists");
    answer_free(&a);
    a = call(&w, "DescribeExperiment", "{\"ExperimentName\":\"dup-exp\"}");
    LT_CHECK_STR(lt_json_str(a.body, "ExperimentName"), "dup-exp");
    LT_CHECK_STR(lt_json_str(a.body, "Description"), "first");
    answer_free(&a);
    world_close(&w);
}

static void describe_of_a_missing_experiment_is_resource_not_found(void)
{
    world w;
    world_open(&w, "api-exp-missing");
    answer a = call(&w, "DescribeExperiment", "{\"ExperimentName\":\"nowhere\"}");
    CHECK_ERROR(a, 400, "ResourceNotFound", "does not exist");
    answer_free(&a);
    world_close(&w);
}

static void list_experiments_pages_by_ten_and_sorts_by_name(void)
{
    world w;
    world_open(&w, "api-exp-list");
    /* Created in an order that is not the name order. */
    static const char *const names[] = {"m-07", "m-02", "m-11", "m-00", "m-05", "m-09", "m-01",
                                        "m-12", "m-04", "m-10", "m-03", "m-08", "m-06"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        OK(&w, "CreateExperiment", "{\"ExperimentName\":\"%s\"}", names[i]);

    answer first = call(&w, "ListExperiments", "{}");
    LT_CHECK_INT(first.status, ==, 200);
    LT_CHECK_INT(json_array_size(json_object_get(first.body, "ExperimentSummaries")), ==, 10);
    const char *token = lt_json_str(first.body, "NextToken");
    LT_CHECK(token != NULL);
    answer rest = call(&w, "ListExperiments", "{\"NextToken\":\"%s\"}", token ? token : "");
    LT_CHECK_INT(rest.status, ==, 200);
    LT_CHECK_INT(json_array_size(json_object_get(rest.body, "ExperimentSummaries")), ==, 3);
    LT_CHECK(json_object_get(rest.body, "NextToken") == NULL);
    /* Together the two pages hold every experiment once. */
    char *a = column(first.body, "ExperimentSummaries", "ExperimentName");
    char *b = column(rest.body, "ExperimentSummaries", "ExperimentName");
    char *both = lt_xasprintf("%s%s", a, b);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *needle = lt_xasprintf("%s,", names[i]);
        char *hit = strstr(both, needle);
        if (!hit || strstr(hit + 1, needle)) LT_FAIL_AT("%s not listed exactly once", names[i]);
        free(needle);
    }
    free(a);
    free(b);
    free(both);
    answer_free(&first);
    answer_free(&rest);

    answer sorted = call(&w, "ListExperiments",
                         "{\"SortBy\":\"Name\",\"SortOrder\":\"Ascending\",\"MaxResults\":100}");
    LT_CHECK_INT(sorted.status, ==, 200);
    CHECK_COLUMN(sorted.body, "ExperimentSummaries", "ExperimentName",
                 "m-00,m-01,m-02,m-03,m-04,m-05,m-06,m-07,m-08,m-09,m-10,m-11,m-12,");
    json_t *s0 = json_array_get(json_object_get(sorted.body, "ExperimentSummaries"), 0);
    LT_CHECK_STR(lt_json_str(s0, "ExperimentArn"), EXP_ARN "m-00");
    LT_CHECK_STR(lt_json_str(s0, "DisplayName"), "m-00");
    LT_CHECK(json_is_number(json_object_get(s0, "CreationTime")));
    answer_free(&sorted);
    world_close(&w);
}

/* ---- protocol errors ---------------------------------------------------------------- */

static void invalid_input_is_a_validation_error_naming_the_member(void)
{
    world w;
    world_open(&w, "api-invalid");
    answer a = call(&w, "CreateExperiment", "{\"ExperimentName\":\"bad name\"}");
    CHECK_ERROR(a, 400, "ValidationException", "'experimentName'");
    LT_CHECK_CONTAINS(lt_json_str(a.body, "message"), "'bad name'");
    answer_free(&a);
    a = call(&w, "CreateExperiment", "{}");
    CHECK_ERROR(a, 400, "ValidationException", "experimentName");
    answer_free(&a);
    a = call(&w, "ListExperiments", "{}");
    LT_CHECK_INT(json_array_size(json_object_get(a.body, "ExperimentSummaries")), ==, 0);
    answer_free(&a);
    world_close(&w);
}

static void malformed_bodies_are_serialization_errors(void)
{
    world w;
    world_open(&w, "api-malformed");
    static const char *const bodies[] = {"{not json", "[]", "\"text\"", "{\"ExperimentName\":"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        answer a = call(&w, "CreateExperiment", "%s", bodies[i]);
        CHECK_ERROR(a, 400, "SerializationException", NULL);
        answer_free(&a);
    }
    world_close(&w);
}

static void an_unknown_operation_is_refused(void)
{
    world w;
    world_open(&w, "api-unknown");
    answer a = call(&w, "CreateWidget", "{}");
    CHECK_ERROR(a, 400, "UnknownOperationException", "CreateWidget");
    answer_free(&a);
    world_close(&w);
}

static void an_operation_of_the_model_not_implemented_answers_501(void)
{
    world w;
    world_open(&w, "api-501");
    answer a = call(&w, "ListAlgorithms", "{}");
    CHECK_ERROR(a, 501, "NotImplementedException", "ListAlgorithms");
    answer_free(&a);
    world_close(&w);
}

/* ---- trials and trial components ---------------------------------------------------- */

static void create_trial_in_a_missing_experiment_is_resource_not_found(void)
{
    world w;
    world_open(&w, "api-trial-orphan");
    answer a = call(&w, "CreateTrial", "{\"TrialName\":\"t\",\"ExperimentName\":\"ghost\"}");
    CHECK_ERROR(a, 400, "ResourceNotFound", "ghost");
    answer_free(&a);
    a = call(&w, "DescribeTrial", "{\"TrialName\":\"t\"}");
    CHECK_ERROR(a, 400, "ResourceNotFound", NULL);
    answer_free(&a);
    world_close(&w);
}

/* exp-a: trial-1, trial-2; exp-b: trial-3; components tc-1, tc-2, tc-3. */
static void seed_trials(world *w)
{
    OK(w, "CreateExperiment", "{\"ExperimentName\":\"exp-a\"}");
    OK(w, "CreateExperiment", "{\"ExperimentName\":\"exp-b\"}");
    OK(w, "CreateTrial", "{\"TrialName\":\"trial-1\",\"ExperimentName\":\"exp-a\"}");
    OK(w, "CreateTrial", "{\"TrialName\":\"trial-2\",\"ExperimentName\":\"EXP-A\"}");
    OK(w, "CreateTrial", "{\"TrialName\":\"trial-3\",\"ExperimentName\":\"exp-b\"}");
    for (int i = 1; i <= 3; i++)
        OK(w, "CreateTrialComponent", "{\"TrialComponentName\":\"tc-%d\"}", i);
}

/* Lists with the filter member given and answers the names, sorted by name. */
static char *list_names(world *w, const char *op, const char *filter, const char *result_member,
                        const char *name_member)
{
    answer a = call(w, op, "{%s%s\"SortBy\":\"Name\",\"SortOrder\":\"Ascending\"}", filter,
                    *filter ? "," : "");
    if (a.status != 200) LT_FAIL_AT("%s %s: %d %s", op, filter, a.status, a.raw);
    char *names = column(a.body, result_member, name_member);
    answer_free(&a);
    return names;
}

#define CHECK_COMPONENTS(w, filter, want)                                                          \
    do {                                                                                           \
        char *lt_n_ = list_names((w), "ListTrialComponents", (filter), "TrialComponentSummaries",  \
                                 "TrialComponentName");                                            \
        LT_CHECK_STR(lt_n_, (want));                                                               \
        free(lt_n_);                                                                               \
    } while (0)

#define CHECK_TRIALS(w, filter, want)                                                              \
    do {                                                                                           \
        char *lt_n_ = list_names((w), "ListTrials", (filter), "TrialSummaries", "TrialName");      \
        LT_CHECK_STR(lt_n_, (want));                                                               \
        free(lt_n_);                                                                               \
    } while (0)

static void associate_and_disassociate_drive_the_list_filters(void)
{
    world w;
    world_open(&w, "api-associate");
    seed_trials(&w);
    answer a = call(&w, "AssociateTrialComponent",
                    "{\"TrialComponentName\":\"tc-1\",\"TrialName\":\"trial-1\"}");
    LT_CHECK_INT(a.status, ==, 200);
    LT_CHECK_STR(lt_json_str(a.body, "TrialComponentArn"),
                 "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/tc-1");
    LT_CHECK_STR(lt_json_str(a.body, "TrialArn"),
                 "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial/trial-1");
    answer_free(&a);
    /* A retried Associate succeeds. */
    OK(&w, "AssociateTrialComponent",
       "{\"TrialComponentName\":\"tc-1\",\"TrialName\":\"trial-1\"}");
    OK(&w, "AssociateTrialComponent",
       "{\"TrialComponentName\":\"tc-2\",\"TrialName\":\"trial-1\"}");
    OK(&w, "AssociateTrialComponent",
       "{\"TrialComponentName\":\"tc-1\",\"TrialName\":\"trial-3\"}");

    CHECK_COMPONENTS(&w, "", "tc-1,tc-2,tc-3,");
    CHECK_COMPONENTS(&w, "\"TrialName\":\"trial-1\"", "tc-1,tc-2,");
    CHECK_COMPONENTS(&w, "\"TrialName\":\"trial-2\"", "");
    CHECK_COMPONENTS(&w, "\"TrialName\":\"trial-3\"", "tc-1,");
    CHECK_COMPONENTS(&w, "\"ExperimentName\":\"exp-a\"", "tc-1,tc-2,");
    CHECK_COMPONENTS(&w, "\"ExperimentName\":\"exp-b\"", "tc-1,");
    CHECK_TRIALS(&w, "\"TrialComponentName\":\"tc-1\"", "trial-1,trial-3,");
    CHECK_TRIALS(&w, "\"TrialComponentName\":\"tc-2\"", "trial-1,");
    CHECK_TRIALS(&w, "\"TrialComponentName\":\"tc-3\"", "");
    CHECK_TRIALS(&w, "\"ExperimentName\":\"exp-a\"", "trial-1,trial-2,");

    OK(&w, "DisassociateTrialComponent",
       "{\"TrialComponentName\":\"tc-1\",\"TrialName\":\"trial-1\"}");
    CHECK_COMPONENTS(&w, "\"TrialName\":\"trial-1\"", "tc-2,");
    CHECK_COMPONENTS(&w, "\"ExperimentName\":\"exp-a\"", "tc-2,");
    CHECK_COMPONENTS(&w, "\"ExperimentName\":\"exp-b\"", "tc-1,");
    CHECK_TRIALS(&w, "\"TrialComponentName\":\"tc-1\"", "trial-3,");

    /* Disassociating what is not associated is not found. */
    a = call(&w, "DisassociateTrialComponent",
             "{\"TrialComponentName\":\"tc-1\",\"TrialName\":\"trial-1\"}");
    CHECK_ERROR(a, 400, "ResourceNotFound", NULL);
    answer_free(&a);
    world_close(&w);
}

static void a_component_stays_in_the_experiment_while_another_of_its_trials_holds_it(void)
{
    world w;
    world_open(&w, "api-associate-two");
    seed_trials(&w);
    OK(&w, "AssociateTrialComponent",
       "{\"TrialComponentName\":\"tc-3\",\"TrialName\":\"trial-1\"}");
    OK(&w, "AssociateTrialComponent",
       "{\"TrialComponentName\":\"tc-3\",\"TrialName\":\"trial-2\"}");
    OK(&w, "DisassociateTrialComponent",
       "{\"TrialComponentName\":\"tc-3\",\"TrialName\":\"trial-1\"}");
    CHECK_COMPONENTS(&w, "\"ExperimentName\":\"exp-a\"", "tc-3,");
    OK(&w, "DisassociateTrialComponent",
       "{\"TrialComponentName\":\"tc-3\",\"TrialName\":\"trial-2\"}");
    CHECK_COMPONENTS(&w, "\"ExperimentName\":\"exp-a\"", "");
    world_close(&w);
}

static void delete_trial_is_refused_while_a_component_is_associated(void)
{
    world w;
    world_open(&w, "api-delete-trial");
    seed_trials(&w);
    OK(&w, "AssociateTrialComponent",
       "{\"TrialComponentName\":\"tc-1\",\"TrialName\":\"trial-1\"}");
    answer a = call(&w, "DeleteTrial", "{\"TrialName\":\"trial-1\"}");
    CHECK_ERROR(a, 400, "ValidationException", "trial-1");
    answer_free(&a);
    a = call(&w, "DescribeTrial", "{\"TrialName\":\"trial-1\"}");
    LT_CHECK_INT(a.status, ==, 200);
    answer_free(&a);
    OK(&w, "DisassociateTrialComponent",
       "{\"TrialComponentName\":\"tc-1\",\"TrialName\":\"trial-1\"}");
    a = call(&w, "DeleteTrial", "{\"TrialName\":\"trial-1\"}");
    LT_CHECK_INT(a.status, ==, 200);
    LT_CHECK_STR(lt_json_str(a.body, "TrialArn"),
                 "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial/trial-1");
    answer_free(&a);
    a = call(&w, "DescribeTrial", "{\"TrialName\":\"trial-1\"}");
    CHECK_ERROR(a, 400, "ResourceNotFound", NULL);
    answer_free(&a);
    /* The component outlives the trial. */
    a = call(&w, "DescribeTrialComponent", "{\"TrialComponentName\":\"tc-1\"}");
    LT_CHECK_INT(a.status, ==, 200);
    answer_free(&a);
    world_close(&w);
}

static void delete_experiment_is_refused_while_it_has_trials(void)
{
    world w;
    world_open(&w, "api-delete-exp");
    seed_trials(&w);
    answer a = call(&w, "DeleteExperiment", "{\"ExperimentName\":\"exp-b\"}");
    CHECK_ERROR(a, 400, "ValidationException", "exp-b");
    answer_free(&a);
    OK(&w, "DeleteTrial", "{\"TrialName\":\"trial-3\"}");
    a = call(&w, "DeleteExperiment", "{\"ExperimentName\":\"EXP-B\"}");
    LT_CHECK_INT(a.status, ==, 200);
    LT_CHECK_STR(lt_json_str(a.body, "ExperimentArn"), EXP_ARN "exp-b");
    answer_free(&a);
    a = call(&w, "DescribeExperiment", "{\"ExperimentName\":\"exp-b\"}");
    CHECK_ERROR(a, 400, "ResourceNotFound", NULL);
    answer_free(&a);
    world_close(&w);
}

static void update_trial_component_merges_and_removes_parameters(void)
{
    world w;
    world_open(&w, "api-tc-update");
    OK(&w, "CreateTrialComponent",
       "{\"TrialComponentName\":\"tc-p\",\"Parameters\":{\"lr\":{\"NumberValue\":0.1},"
       "\"opt\":{\"StringValue\":\"adam\"},\"seed\":{\"NumberValue\":7}}}");
    answer a = call(&w, "UpdateTrialComponent",
                    "{\"TrialComponentName\":\"tc-p\",\"Parameters\":{\"lr\":{\"NumberValue\":0.2},"
                    "\"epochs\":{\"NumberValue\":10}},\"ParametersToRemove\":[\"opt\"]}");
    LT_CHECK_INT(a.status, ==, 200);
    LT_CHECK_STR(lt_json_str(a.body, "TrialComponentArn"),
                 "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/tc-p");
    answer_free(&a);
    a = call(&w, "DescribeTrialComponent", "{\"TrialComponentName\":\"tc-p\"}");
    LT_CHECK_INT(a.status, ==, 200);
    json_t *want = json_loads("{\"lr\":{\"NumberValue\":0.2},\"seed\":{\"NumberValue\":7},"
                              "\"epochs\":{\"NumberValue\":10}}",
                              0, NULL);
    json_t *got = json_object_get(a.body, "Parameters");
    if (!json_equal(got, want)) LT_FAIL_AT("Parameters after the update: %s", a.raw);
    json_decref(want);
    answer_free(&a);

    OK(&w, "UpdateTrialComponent",
       "{\"TrialComponentName\":\"tc-p\",\"ParametersToRemove\":[\"seed\",\"epochs\",\"absent\"]}");
    a = call(&w, "DescribeTrialComponent", "{\"TrialComponentName\":\"tc-p\"}");
    want = json_loads("{\"lr\":{\"NumberValue\":0.2}}", 0, NULL);
    if (!json_equal(json_object_get(a.body, "Parameters"), want))
        LT_FAIL_AT("Parameters after the removal: %s", a.raw);
    json_decref(want);
    answer_free(&a);
    world_close(&w);
}

/* ---- tags --------------------------------------------------------------------------- */

static void add_list_and_delete_tags_on_an_experiment(void)
{
    world w;
    world_open(&w, "api-tags");
    OK(&w, "CreateExperiment", "{\"ExperimentName\":\"Tagged\"}");
    answer a = call(&w, "AddTags",
                    "{\"ResourceArn\":\"" EXP_ARN "tagged\",\"Tags\":[{\"Key\":\"team\","
                    "\"Value\":\"ml\"},{\"Key\":\"env\",\"Value\":\"dev\"}]}");
    LT_CHECK_INT(a.status, ==, 200);
    json_t *want = json_loads(
        "[{\"Key\":\"team\",\"Value\":\"ml\"},{\"Key\":\"env\",\"Value\":\"dev\"}]", 0, NULL);
    if (!json_equal(json_object_get(a.body, "Tags"), want)) LT_FAIL_AT("AddTags: %s", a.raw);
    json_decref(want);
    answer_free(&a);
    OK(&w, "AddTags",
       "{\"ResourceArn\":\"" EXP_ARN "tagged\",\"Tags\":[{\"Key\":\"env\",\"Value\":\"prod\"}]}");

    a = call(&w, "ListTags", "{\"ResourceArn\":\"" EXP_ARN "tagged\"}");
    LT_CHECK_INT(a.status, ==, 200);
    want = json_loads("[{\"Key\":\"env\",\"Value\":\"prod\"},{\"Key\":\"team\",\"Value\":\"ml\"}]",
                      0, NULL);
    if (!json_equal(json_object_get(a.body, "Tags"), want)) LT_FAIL_AT("ListTags: %s", a.raw);
    LT_CHECK(json_object_get(a.body, "NextToken") == NULL);
    json_decref(want);
    answer_free(&a);

    OK(&w, "DeleteTags", "{\"ResourceArn\":\"" EXP_ARN "tagged\",\"TagKeys\":[\"env\",\"nope\"]}");
    a = call(&w, "ListTags", "{\"ResourceArn\":\"" EXP_ARN "tagged\"}");
    want = json_loads("[{\"Key\":\"team\",\"Value\":\"ml\"}]", 0, NULL);
    if (!json_equal(json_object_get(a.body, "Tags"), want))
        LT_FAIL_AT("ListTags after DeleteTags: %s", a.raw);
    json_decref(want);
    answer_free(&a);
    world_close(&w);
}

static void tags_given_at_create_are_listed(void)
{
    world w;
    world_open(&w, "api-tags-create");
    OK(&w, "CreateExperiment",
       "{\"ExperimentName\":\"born-tagged\",\"Tags\":[{\"Key\":\"b\",\"Value\":\"2\"},"
       "{\"Key\":\"a\",\"Value\":\"1\"}]}");
    answer a = call(&w, "ListTags", "{\"ResourceArn\":\"" EXP_ARN "born-tagged\"}");
    json_t *want =
        json_loads("[{\"Key\":\"a\",\"Value\":\"1\"},{\"Key\":\"b\",\"Value\":\"2\"}]", 0, NULL);
    if (!json_equal(json_object_get(a.body, "Tags"), want)) LT_FAIL_AT("ListTags: %s", a.raw);
    json_decref(want);
    answer_free(&a);
    world_close(&w);
}

static void tags_on_an_unknown_arn_are_resource_not_found(void)
{
    world w;
    world_open(&w, "api-tags-unknown");
    static const char *const ops[] = {"AddTags", "ListTags", "DeleteTags"};
    static const char *const bodies[] = {
        "{\"ResourceArn\":\"" EXP_ARN "ghost\",\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"}]}",
        "{\"ResourceArn\":\"" EXP_ARN "ghost\"}",
        "{\"ResourceArn\":\"" EXP_ARN "ghost\",\"TagKeys\":[\"k\"]}",
    };
    for (size_t i = 0; i < 3; i++) {
        answer a = call(&w, ops[i], "%s", bodies[i]);
        CHECK_ERROR(a, 400, "ResourceNotFound", EXP_ARN "ghost");
        answer_free(&a);
    }
    world_close(&w);
}

static void a_fifty_first_tag_is_resource_limit_exceeded(void)
{
    world w;
    world_open(&w, "api-tags-limit");
    OK(&w, "CreateExperiment", "{\"ExperimentName\":\"full\"}");
    lt_buf tags;
    lt_buf_init(&tags, 1 << 16);
    lt_buf_puts(&tags, "[", NULL);
    for (int i = 0; i < 50; i++)
        lt_buf_printf(&tags, NULL, "%s{\"Key\":\"k%02d\",\"Value\":\"v\"}", i ? "," : "", i);
    lt_buf_puts(&tags, "]", NULL);
    OK(&w, "AddTags", "{\"ResourceArn\":\"" EXP_ARN "full\",\"Tags\":%s}", tags.data);
    lt_buf_free(&tags);
    answer a = call(&w, "AddTags",
                    "{\"ResourceArn\":\"" EXP_ARN "full\",\"Tags\":[{\"Key\":\"k00\",\"Value\":"
                    "\"changed\"},{\"Key\":\"k50\",\"Value\":\"v\"}]}");
    CHECK_ERROR(a, 400, "ResourceLimitExceeded", NULL);
    answer_free(&a);
    a = call(&w, "ListTags", "{\"ResourceArn\":\"" EXP_ARN "full\",\"MaxResults\":100}");
    json_t *list = json_object_get(a.body, "Tags");
    LT_CHECK_INT(json_array_size(list), ==, 50);
    LT_CHECK_STR(lt_json_str(json_array_get(list, 0), "Key"), "k00");
    LT_CHECK_STR(lt_json_str(json_array_get(list, 0), "Value"), "v");
    answer_free(&a);
    world_close(&w);
}

int main(void)
{
    lt_log_set_level(LT_LOG_ERROR + 1);
    LT_RUN(create_experiment_answers_the_arn_with_the_name_lower_cased);
    LT_RUN(describe_experiment_echoes_what_was_created);
    LT_RUN(display_name_defaults_to_the_name);
    LT_RUN(create_of_an_existing_experiment_in_another_case_is_a_validation_error);
    LT_RUN(describe_of_a_missing_experiment_is_resource_not_found);
    LT_RUN(list_experiments_pages_by_ten_and_sorts_by_name);
    LT_RUN(invalid_input_is_a_validation_error_naming_the_member);
    LT_RUN(malformed_bodies_are_serialization_errors);
    LT_RUN(an_unknown_operation_is_refused);
    LT_RUN(an_operation_of_the_model_not_implemented_answers_501);
    LT_RUN(create_trial_in_a_missing_experiment_is_resource_not_found);
    LT_RUN(associate_and_disassociate_drive_the_list_filters);
    LT_RUN(a_component_stays_in_the_experiment_while_another_of_its_trials_holds_it);
    LT_RUN(delete_trial_is_refused_while_a_component_is_associated);
    LT_RUN(delete_experiment_is_refused_while_it_has_trials);
    LT_RUN(update_trial_component_merges_and_removes_parameters);
    LT_RUN(add_list_and_delete_tags_on_an_experiment);
    LT_RUN(tags_given_at_create_are_listed);
    LT_RUN(tags_on_an_unknown_arn_are_resource_not_found);
    LT_RUN(a_fifty_first_tag_is_resource_limit_exceeded);
    return lt_test_summary();
}
