/* Tuning jobs and transform jobs from the command line, through the API:
 *   lathe tune create [--file] REQUEST.{json,yaml} [--name NAME] [--no-wait]
 *       sends a CreateHyperParameterTuningJob request (the boto3 call's arguments, as JSON
 *       or as YAML: see yaml.c) and watches it;
 *   lathe tune watch NAME
 *       prints the counters as they change and, at the end, the best training job;
 *   lathe transform --model NAME --input s3://... --output s3://... [--content-type T]
 *       [--accept T] [--split Line|None] [--strategy MultiRecord|SingleRecord] [--name JOB]
 *       [--no-wait]
 *       runs a batch transform and waits for it. */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct remote {
    lt_cli__client client;
    bool ready;
} remote;

static int connect_client(int argc, char **argv, bool *used, remote *r, lt_err *err)
{
    const char *endpoint = lt_cli__option(argc, argv, used, "endpoint");
    const char *region = lt_cli__option(argc, argv, used, "region");
    const char *profile = lt_cli__option(argc, argv, used, "profile");
    const char *data_dir = lt_cli__option(argc, argv, used, "data-dir");
    int rc = lt_cli__client_init(&r->client, endpoint, region, profile, data_dir, err);
    r->ready = rc == 0;
    return rc;
}

static json_t *call(remote *r, const char *op, json_t *in, lt_err *err)
{
    char *target = lt_xasprintf("SageMaker.%s", op);
    json_t *out = NULL;
    lt_cli__call_json(&r->client, "sagemaker", target, in, &out, err);
    free(target);
    return out;
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int watch_tuning(remote *r, const char *name, lt_err *err)
{
    char last[512] = "";
    for (;;) {
        json_t *d = call(r, "DescribeHyperParameterTuningJob",
                         json_pack("{s:s}", "HyperParameterTuningJobName", name), err);
        if (!d) return err->code ? err->code : LT_EIO;
        const char *status = lt_json_str(d, "HyperParameterTuningJobStatus");
        json_t *c = json_object_get(d, "TrainingJobStatusCounters");
        json_t *best = json_object_get(d, "BestTrainingJob");
        char line[512];
        snprintf(line, sizeof line, "%s: %s, %lld completed, %lld running, %lld stopped, %lld failed%s%s",
                 name, status ? status : "?", (long long)lt_json_int(c, "Completed", 0),
                 (long long)lt_json_int(c, "InProgress", 0), (long long)lt_json_int(c, "Stopped", 0),
                 (long long)(lt_json_int(c, "NonRetryableError", 0) + lt_json_int(c, "RetryableError", 0)),
                 best ? ", best " : "", best ? lt_json_str(best, "TrainingJobName") : "");
        if (strcmp(line, last) != 0) {
            fprintf(stderr, "%s\n", line);
            snprintf(last, sizeof last, "%s", line);
        }
        if (status && strcmp(status, "InProgress") != 0 && strcmp(status, "Stopping") != 0) {
            int rc = 0;
            if (best) {
                char *text = json_dumps(best, JSON_INDENT(2) | JSON_SORT_KEYS);
                printf("%s\n", text);
                free(text);
            }
            if (strcmp(status, "Completed") != 0)
                rc = lt_err_set(err, LT_EIO, "tuning job %s ended %s%s%s", name, status,
                                lt_json_str(d, "FailureReason") ? ": " : "",
                                lt_json_str(d, "FailureReason") ? lt_json_str(d, "FailureReason") : "");
            json_decref(d);
            return rc;
        }
        json_decref(d);
        pause_ms(500);
    }
}

/* A request file: YAML when it is named .yaml or .yml, or when (otherwise named) its first
 * character other than white space is not '{'; else JSON. */
static int read_request(const char *file, json_t **req, lt_err *err)
{
    lt_buf text;
    lt_buf_init(&text, 1 << 20);
    int rc = lt_file_read(file, &text, err);
    if (!rc) {
        const char *dot = strrchr(file, '.');
        bool yaml = dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0);
        if (!dot || strcmp(dot, ".json") != 0) {
            size_t i = 0;
            while (i < text.len && strchr(" \t\r\n", text.data[i])) i++;
            yaml |= i == text.len || text.data[i] != '{';
        }
        rc = yaml ? lt_cli__yaml_to_json(text.data, text.len, file, req, err)
                  : lt_json_parse(text.data, text.len, req, err);
    }
    if (!rc && !json_is_object(*req)) {
        rc = lt_err_set(err, LT_EINVAL, "%s: the request must be a JSON object", file);
        json_decref(*req);
        *req = NULL;
    }
    lt_buf_free(&text);
    return rc;
}

int lt_cli__cmd_tune_job(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = used[2] = true;
    lt_err err = {0};
    remote r = {0};
    bool create = strcmp(argv[2], "create") == 0;
    const char *file = create ? lt_cli__option(argc, argv, used, "file") : NULL;
    const char *name = create ? lt_cli__option(argc, argv, used, "name") : NULL;
    bool no_wait = lt_cli__flag(argc, argv, used, "no-wait");
    if (create && !file) file = lt_cli__positional(argc, argv, used, 3);
    if (!create) name = lt_cli__positional(argc, argv, used, 3);
    int rc = 0;
    if ((create && !file) || (!create && !name)) {
        fprintf(stderr, "usage: lathe tune create [--file] REQUEST.json|REQUEST.yaml [--name NAME] "
                        "[--no-wait]\n"
                        "       lathe tune watch NAME\n");
        rc = 2;
    }
    json_t *req = NULL;
    if (!rc && create && read_request(file, &req, &err) != 0) rc = 1;
    if (!rc && (rc = connect_client(argc, argv, used, &r, &err)) != 0) rc = 1;
    if (!rc && lt_cli__reject_unused(argc, argv, used, 3)) rc = 2;
    char *job = name ? lt_xstrdup(name) : NULL;
    if (!rc && create) {
        if (!rc && name)
            json_object_set_new(req, "HyperParameterTuningJobName", json_string(name));
        if (!rc && !job) job = lt_xstrdup(lt_json_str(req, "HyperParameterTuningJobName")
                                              ? lt_json_str(req, "HyperParameterTuningJobName")
                                              : "");
        json_t *out = call(&r, "CreateHyperParameterTuningJob", req, &err);
        req = NULL;
        if (!rc && !out) rc = 1;
        if (out) fprintf(stderr, "created %s\n", lt_json_str(out, "HyperParameterTuningJobArn"));
        json_decref(out);
    }
    if (!rc && (!create || !no_wait) && watch_tuning(&r, job, &err) != 0) rc = 1;
    if (rc == 1) fprintf(stderr, "lathe tune: %s\n", err.msg);
    json_decref(req);
    free(job);
    if (r.ready) lt_cli__client_free(&r.client);
    free(used);
    return rc;
}

int lt_cli__cmd_transform(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    lt_err err = {0};
    remote r = {0};
    const char *model = lt_cli__option(argc, argv, used, "model");
    const char *input = lt_cli__option(argc, argv, used, "input");
    const char *output = lt_cli__option(argc, argv, used, "output");
    const char *type = lt_cli__option(argc, argv, used, "content-type");
    const char *accept = lt_cli__option(argc, argv, used, "accept");
    const char *split = lt_cli__option(argc, argv, used, "split");
    const char *strategy = lt_cli__option(argc, argv, used, "strategy");
    const char *input_filter = lt_cli__option(argc, argv, used, "input-filter");
    const char *output_filter = lt_cli__option(argc, argv, used, "output-filter");
    const char *join = lt_cli__option(argc, argv, used, "join-source");
    const char *assemble = lt_cli__option(argc, argv, used, "assemble-with");
    const char *concurrency = lt_cli__option(argc, argv, used, "concurrency");
    const char *payload = lt_cli__option(argc, argv, used, "max-payload-mb");
    const char *name = lt_cli__option(argc, argv, used, "name");
    bool no_wait = lt_cli__flag(argc, argv, used, "no-wait");
    int rc = 0;
    if (!model || !input || !output) {
        fprintf(stderr,
                "usage: lathe transform --model NAME --input s3://... --output s3://...\n"
                "         [--content-type T] [--accept T] [--split Line|None|RecordIO]\n"
                "         [--strategy MultiRecord|SingleRecord] [--max-payload-mb N]\n"
                "         [--concurrency N] [--assemble-with Line|None]\n"
                "         [--input-filter JSONPATH] [--output-filter JSONPATH]\n"
                "         [--join-source Input|None] [--name JOB] [--no-wait]\n");
        rc = 2;
    }
    /* Numbers are checked here; everything else is the API's to judge, with its messages. */
    int64_t concurrency_n = 0, payload_n = 0;
    if (!rc && ((concurrency && lt_parse_i64(concurrency, 1, 1000, &concurrency_n, "--concurrency", &err)) ||
                (payload && lt_parse_i64(payload, 0, 100, &payload_n, "--max-payload-mb", &err)))) {
        fprintf(stderr, "lathe transform: %s\n", err.msg);
        rc = 2;
    }
    if (!rc && (rc = connect_client(argc, argv, used, &r, &err)) != 0) rc = 1;
    if (!rc && lt_cli__reject_unused(argc, argv, used, 2)) rc = 2;
    char *job = name ? lt_xstrdup(name) : lt_xasprintf("%s-%lld", model ? model : "transform",
                                                        (long long)(lt_now_ms() / 1000));
    if (!rc) {
        /* Unset options are left out, so the server's (or a serve program's) defaults apply. */
        json_t *req = json_pack(
            "{s:s, s:s, s:{s:{s:{s:s, s:s}}, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:i}}",
            "TransformJobName", job, "ModelName", model, "TransformInput", "DataSource",
            "S3DataSource", "S3DataType", "S3Prefix", "S3Uri", input, "ContentType",
            type ? type : "text/csv", "SplitType", split ? split : "Line", "TransformOutput",
            "S3OutputPath", output, "Accept", accept ? accept : "text/csv", "AssembleWith",
            assemble ? assemble : "Line", "TransformResources", "InstanceType", "ml.m5.large",
            "InstanceCount", 1);
        if (strategy) json_object_set_new(req, "BatchStrategy", json_string(strategy));
        if (concurrency) json_object_set_new(req, "MaxConcurrentTransforms", json_integer(concurrency_n));
        if (payload) json_object_set_new(req, "MaxPayloadInMB", json_integer(payload_n));
        if (input_filter || output_filter || join) {
            json_t *dp = json_object();
            if (input_filter) json_object_set_new(dp, "InputFilter", json_string(input_filter));
            if (output_filter) json_object_set_new(dp, "OutputFilter", json_string(output_filter));
            if (join) json_object_set_new(dp, "JoinSource", json_string(join));
            json_object_set_new(req, "DataProcessing", dp);
        }
        json_t *out = call(&r, "CreateTransformJob", req, &err);
        if (!out) rc = 1;
        else fprintf(stderr, "created %s\n", lt_json_str(out, "TransformJobArn"));
        json_decref(out);
    }
    while (!rc && !no_wait) {
        json_t *d = call(&r, "DescribeTransformJob", json_pack("{s:s}", "TransformJobName", job), &err);
        if (!d) {
            rc = 1;
            break;
        }
        const char *status = lt_json_str(d, "TransformJobStatus");
        if (status && strcmp(status, "InProgress") != 0 && strcmp(status, "Stopping") != 0) {
            printf("%s: %s%s%s\n", job, status, lt_json_str(d, "FailureReason") ? ": " : "",
                   lt_json_str(d, "FailureReason") ? lt_json_str(d, "FailureReason") : "");
            if (strcmp(status, "Completed") == 0) printf("  output: %s\n", output);
            else rc = 3;
            json_decref(d);
            break;
        }
        json_decref(d);
        pause_ms(200);
    }
    if (rc == 1) fprintf(stderr, "lathe transform: %s\n", err.msg);
    free(job);
    if (r.ready) lt_cli__client_free(&r.client);
    free(used);
    return rc == 3 ? 1 : rc;
}
