/*
 * Fuzz target: request validation against the service model (src/api/validate.c,
 * validate_pattern.c and the generated tables).
 *
 * Input: one byte choosing the operation ((byte - '0') % 7: '0' CreateTrainingJob,
 * '1' CreateExperiment, '2' ListExperiments, '3' CreateEndpointConfig, '4' AddTags,
 * '5' CreatePipeline, '6' Search, whose SearchExpression is the model's one recursive
 * shape and so the one way to the nesting limit), then the request body as JSON, parsed
 * the way the server parses it (lt_json_parse). Bodies that are not JSON end the run:
 * jansson is not under test.
 *
 * Invariants checked:
 *  - lt_api__validate returns 0 or LT_EINVAL only, and err agrees (code 0 and an empty
 *    message, or LT_EINVAL and a non-empty message NUL-terminated within lt_err.msg);
 *  - a refusal of a JSON object reads "<n> validation error[s] detected: ..." with n >= 1
 *    and the plural matching n, and is well-formed UTF-8 (every cut lands on a character
 *    boundary), while a non-object is refused with the body message;
 *  - validating the same body again gives the same code and the same message (the
 *    pattern cache, warm on the second call, changes nothing);
 *  - a timestamp validation accepts, lt_json_time (what the handlers then call) parses:
 *    validate.c's iso8601_valid promises the forms base/json.c parses (checked on
 *    ListExperiments' CreatedAfter and CreatedBefore).
 */
#include "validation_tables.h"

#include "fuzz_check.h"

#include <errno.h>

static const char *const operations[] = {
    "CreateTrainingJob", "CreateExperiment", "ListExperiments", "CreateEndpointConfig",
    "AddTags",           "CreatePipeline",   "Search",
};
enum { OPERATION_COUNT = sizeof operations / sizeof operations[0] };

static void init_once(void)
{
    static bool done;
    if (done) return;
    done = true;
    json_object_seed(0x5eed); /* a fixed hash seed: map keys iterate the same way each run */
    lt_log_set_level(LT_LOG_ERROR);
    for (size_t i = 0; i < OPERATION_COUNT; i++)
        FZ_CHECK(lt_api__operation_in_model(operations[i]), "%s is not in the model",
                 operations[i]);
    lt_err err = {0};
    json_t *empty = json_object();
    FZ_CHECK(lt_api__validate("NoSuchOperation", empty, &err) == LT_ENOTFOUND,
             "unknown operation accepted");
    json_decref(empty);
}

static void check_message(const lt_err *err, const json_t *input)
{
    FZ_CHECK(err->code == LT_EINVAL, "code %d", err->code);
    FZ_CHECK(FZ_TERMINATED(err->msg), "message not NUL-terminated within lt_err.msg");
    size_t len = strlen(err->msg);
    FZ_CHECK(len > 0, "empty message");
    FZ_CHECK(fz_utf8_valid(err->msg, len), "message is not UTF-8: %s", err->msg);
    if (!json_is_object(input)) {
        FZ_CHECK(strcmp(err->msg, "The request body must be a JSON object.") == 0, "'%s'",
                 err->msg);
        return;
    }
    char *end = NULL;
    errno = 0;
    long count = strtol(err->msg, &end, 10);
    FZ_CHECK(errno == 0 && end != err->msg && count >= 1, "no error count: %s", err->msg);
    const char *rest = count == 1 ? " validation error detected: " : " validation errors detected: ";
    FZ_CHECK(strncmp(end, rest, strlen(rest)) == 0, "bad heading: %s", err->msg);
    FZ_CHECK(strlen(end) > strlen(rest), "no failure listed: %s", err->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size < 1) return 0;
    const char *operation = operations[(uint8_t)(data[0] - '0') % OPERATION_COUNT];
    json_t *input = NULL;
    if (lt_json_parse((const char *)data + 1, size - 1, &input, NULL) != 0) return 0;

    lt_err first = {0}, again = {0};
    int rc = lt_api__validate(operation, input, &first);
    FZ_CHECK(rc == 0 || rc == LT_EINVAL, "%s: rc %d (%s)", operation, rc, first.msg);
    if (rc == 0)
        FZ_CHECK(first.code == 0 && first.msg[0] == '\0', "success with an error recorded");
    else
        check_message(&first, input);

    int rc2 = lt_api__validate(operation, input, &again);
    FZ_CHECK(rc2 == rc && strcmp(first.msg, again.msg) == 0,
             "%s: not deterministic: %d '%s' then %d '%s'", operation, rc, first.msg, rc2,
             again.msg);
    if (rc == 0 && strcmp(operation, "ListExperiments") == 0) {
        static const char *const times[] = {"CreatedAfter", "CreatedBefore"};
        for (size_t i = 0; i < 2; i++) {
            const json_t *v = json_object_get(input, times[i]);
            double t;
            if (v && !json_is_null(v))
                FZ_CHECK(lt_json_time(input, times[i], &t) == 0,
                         "%s passed validation but lt_json_time refuses it: %s", times[i],
                         json_is_string(v) ? json_string_value(v) : "(a number)");
        }
    }
    json_decref(input);
    return 0;
}
