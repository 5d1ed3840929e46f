/* Torture: the nth store write fails (disk error), for every n the call sequence reaches.
 * Each call must answer cleanly (200, or 500 InternalFailure for the write that failed, or
 * the 4xx that follows from an earlier failed call), what was stored before must stay
 * whole, a resource created with tags has all of them or does not exist, and the store
 * must take writes again once the fault is gone. */
#include "api_test_world.h"

static int call(world *w, const char *op, const char *body, char *type_out, size_t cap)
{
    lt_api_reply reply;
    lt_api_call(w->api, op, body, strlen(body), &reply);
    snprintf(type_out, cap, "%s", reply.error_type ? reply.error_type : "");
    int status = reply.status;
    lt_api_reply_free(&reply);
    return status;
}

static const struct {
    const char *op, *body;
} sequence[] = {
    {"CreateExperiment", "{\"ExperimentName\":\"e1\",\"Tags\":[{\"Key\":\"a\",\"Value\":\"1\"},"
                         "{\"Key\":\"b\",\"Value\":\"2\"}]}"},
    {"CreateTrial", "{\"TrialName\":\"t1\",\"ExperimentName\":\"e1\"}"},
    {"CreateTrialComponent", "{\"TrialComponentName\":\"c1\",\"Parameters\":{\"x\":{\"NumberValue\":1}}}"},
    {"AssociateTrialComponent", "{\"TrialComponentName\":\"c1\",\"TrialName\":\"t1\"}"},
    {"AddTags", "{\"ResourceArn\":\"arn:aws:sagemaker:us-east-1:000000000000:experiment/base\","
                "\"Tags\":[{\"Key\":\"k2\",\"Value\":\"v2\"},{\"Key\":\"k3\",\"Value\":\"v3\"}]}"},
    {"UpdateTrialComponent", "{\"TrialComponentName\":\"c1\",\"ParametersToRemove\":[\"x\"]}"},
    {"DisassociateTrialComponent", "{\"TrialComponentName\":\"c1\",\"TrialName\":\"t1\"}"},
    {"DeleteTrial", "{\"TrialName\":\"t1\"}"},
    {"DeleteTags", "{\"ResourceArn\":\"arn:aws:sagemaker:us-east-1:000000000000:experiment/base\","
                   "\"TagKeys\":[\"k2\"]}"},
};

static void run_with_fault(unsigned nth, bool *fault_seen)
{
    world w;
    world_open(&w, "api-torture");
    char type[64];
    LT_CHECK_INT(call(&w, "CreateExperiment",
                      "{\"ExperimentName\":\"base\",\"Description\":\"keep me\","
                      "\"Tags\":[{\"Key\":\"k1\",\"Value\":\"v1\"}]}",
                      type, sizeof type),
                 ==, 200);
    lt_store_fault_inject(w.store, nth);
    *fault_seen = false;
    for (size_t i = 0; i < sizeof sequence / sizeof sequence[0]; i++) {
        int status = call(&w, sequence[i].op, sequence[i].body, type, sizeof type);
        if (status == 500) {
            LT_CHECK_STR(type, "InternalFailure");
            *fault_seen = true;
        } else if (status != 200) {
            /* Only what an earlier failed write explains: a missing resource, a refused
             * delete/association, or a state the failed call left unchanged. */
            LT_CHECK(*fault_seen);
            LT_CHECK(status == 400);
        }
    }
    lt_store_fault_inject(w.store, 0);

    lt_api_reply reply;
    const char *describe = "{\"ExperimentName\":\"base\"}";
    lt_api_call(w.api, "DescribeExperiment", describe, strlen(describe), &reply);
    LT_CHECK_INT(reply.status, ==, 200);
    LT_CHECK_CONTAINS(reply.body, "\"Description\":\"keep me\"");
    lt_api_reply_free(&reply);
    const char *tags = "{\"ResourceArn\":\"arn:aws:sagemaker:us-east-1:000000000000:experiment/base\"}";
    lt_api_call(w.api, "ListTags", tags, strlen(tags), &reply);
    LT_CHECK_INT(reply.status, ==, 200);
    LT_CHECK_CONTAINS(reply.body, "{\"Key\":\"k1\",\"Value\":\"v1\"}");
    lt_api_reply_free(&reply);

    /* e1 was created with two tags in one call: both or neither. */
    const char *e1 = "{\"ResourceArn\":\"arn:aws:sagemaker:us-east-1:000000000000:experiment/e1\"}";
    lt_api_call(w.api, "ListTags", e1, strlen(e1), &reply);
    if (reply.status == 200) {
        LT_CHECK_CONTAINS(reply.body, "\"Key\":\"a\"");
        LT_CHECK_CONTAINS(reply.body, "\"Key\":\"b\"");
    } else {
        LT_CHECK_STR(reply.error_type, "ResourceNotFound");
    }
    lt_api_reply_free(&reply);

    LT_CHECK_INT(call(&w, "CreateExperiment", "{\"ExperimentName\":\"after-fault\"}", type,
                      sizeof type),
                 ==, 200);
    world_close(&w);
}

static void every_failed_write_leaves_a_consistent_store(void)
{
    unsigned faults = 0;
    for (unsigned nth = 1; nth < 200; nth++) {
        bool seen = false;
        int before = lt_test_current_failed;
        run_with_fault(nth, &seen);
        if (lt_test_current_failed && !before) fprintf(stderr, "  (with write %u failing)\n", nth);
        if (!seen) break; /* the sequence made fewer than nth writes: every point was tried */
        faults++;
    }
    LT_CHECK_INT(faults, >=, 10);
    fprintf(stderr, "  %u write failure points tried\n", faults);
}

int main(void)
{
    lt_log_set_level(LT_LOG_ERROR + 1);
    LT_RUN(every_failed_write_leaves_a_consistent_store);
    return lt_test_summary();
}
