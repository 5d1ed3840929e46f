/* Hosting from the command line:
 *   lathe deploy --training-job JOB | --model-data s3://.../model.tar.gz --image URI|--algorithm NAME
 *                [--name ENDPOINT] [--instance-type T] [--instance-count N] [--no-wait]
 *     creates the model, the endpoint config and the endpoint, and waits for InService,
 *     printing each status change;
 *   lathe predict ENDPOINT [--input FILE|-] [--content-type T] [--accept T] [--variant V]
 *                 [--target-model KEY]
 *     sends one InvokeEndpoint (to a multi-model endpoint's model KEY) and prints the answer;
 *   lathe endpoints   lists the endpoints with their status. */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct conn_opts {
    const char *endpoint, *region, *profile, *data_dir;
} conn_opts;

static void conn_parse(int argc, char **argv, bool *used, conn_opts *o)
{
    o->endpoint = lt_cli__option(argc, argv, used, "endpoint");
    o->region = lt_cli__option(argc, argv, used, "region");
    o->profile = lt_cli__option(argc, argv, used, "profile");
    o->data_dir = lt_cli__option(argc, argv, used, "data-dir");
}

static int call(const lt_cli__client *c, const char *op, json_t *in, json_t **out, lt_err *err)
{
    char *target = lt_xasprintf("SageMaker.%s", op);
    json_t *answer = NULL;
    int rc = lt_cli__call_json(c, "sagemaker", target, in, &answer, err);
    free(target);
    if (out) *out = answer;
    else json_decref(answer);
    return rc;
}

/* The model's image and artifacts from a Completed training job. */
static int from_training_job(const lt_cli__client *c, const char *job, char **image, char **data,
                             lt_err *err)
{
    json_t *d = NULL;
    int rc = call(c, "DescribeTrainingJob", json_pack("{s:s}", "TrainingJobName", job), &d, err);
    if (rc) return rc;
    const char *status = lt_json_str(d, "TrainingJobStatus");
    const char *artifacts = lt_json_str(json_object_get(d, "ModelArtifacts"), "S3ModelArtifacts");
    json_t *spec = json_object_get(d, "AlgorithmSpecification");
    const char *img = lt_json_str(spec, "TrainingImage");
    if (!img) img = lt_json_str(spec, "AlgorithmName");
    if (!status || strcmp(status, "Completed") != 0 || !artifacts)
        rc = lt_err_set(err, LT_EINVAL, "training job %s is %s, not Completed with a model", job,
                        status ? status : "unknown");
    else {
        *image = lt_xstrdup(img);
        *data = lt_xstrdup(artifacts);
    }
    json_decref(d);
    return rc;
}

static int wait_in_service(const lt_cli__client *c, const char *name, lt_err *err)
{
    char last[32] = "";
    for (;;) {
        json_t *d = NULL;
        int rc = call(c, "DescribeEndpoint", json_pack("{s:s}", "EndpointName", name), &d, err);
        if (rc) return rc;
        const char *status = lt_json_str(d, "EndpointStatus");
        if (status && strcmp(status, last) != 0) {
            fprintf(stderr, "lathe deploy: %s is %s\n", name, status);
            snprintf(last, sizeof last, "%s", status);
        }
        if (status && strcmp(status, "InService") == 0) {
            json_decref(d);
            return 0;
        }
        if (status && strcmp(status, "Failed") == 0) {
            rc = lt_err_set(err, LT_EIO, "endpoint %s failed: %s", name,
                            lt_json_str(d, "FailureReason") ? lt_json_str(d, "FailureReason") : "?");
            json_decref(d);
            return rc;
        }
        json_decref(d);
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

int lt_cli__cmd_deploy(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    conn_opts co;
    conn_parse(argc, argv, used, &co);
    const char *job = lt_cli__option(argc, argv, used, "training-job");
    const char *data = lt_cli__option(argc, argv, used, "model-data");
    const char *image = lt_cli__option(argc, argv, used, "image");
    const char *algorithm = lt_cli__option(argc, argv, used, "algorithm");
    const char *name = lt_cli__option(argc, argv, used, "name");
    const char *type = lt_cli__option(argc, argv, used, "instance-type");
    const char *count_text = lt_cli__option(argc, argv, used, "instance-count");
    bool no_wait = lt_cli__flag(argc, argv, used, "no-wait");
    lt_err err = {0};
    int64_t count = 1;
    bool ok = (job != NULL) != (data != NULL) && (!data || (image != NULL) != (algorithm != NULL));
    if (ok && count_text && lt_parse_i64(count_text, 1, 64, &count, "--instance-count", &err) != 0)
        ok = false;
    if (!ok || lt_cli__reject_unused(argc, argv, used, 2)) {
        fprintf(stderr, "%s%susage: lathe deploy --training-job JOB | --model-data S3URI "
                        "(--image URI | --algorithm NAME)\n"
                        "         [--name ENDPOINT] [--instance-type T] [--instance-count N] "
                        "[--no-wait]\n",
                err.msg, err.msg[0] ? "\n" : "");
        free(used);
        return 2;
    }
    free(used);
    lt_cli__client c;
    int rc = lt_cli__client_init(&c, co.endpoint, co.region, co.profile, co.data_dir, &err);
    if (rc) {
        fprintf(stderr, "lathe deploy: %s\n", err.msg);
        return 1;
    }
    char *img = NULL, *url = NULL;
    if (job) rc = from_training_job(&c, job, &img, &url, &err);
    else {
        img = lt_xstrdup(image ? image : algorithm);
        url = lt_xstrdup(data);
    }
    char *ep = name ? lt_xstrdup(name) : job ? lt_xstrdup(job) : NULL;
    if (!rc && !ep) {
        char stamp[32];
        snprintf(stamp, sizeof stamp, "endpoint-%lld", (long long)(lt_now_ms() / 1000));
        ep = lt_xstrdup(stamp);
    }
    char *model = ep ? lt_xasprintf("%s-model", ep) : NULL;
    char *config = ep ? lt_xasprintf("%s-config", ep) : NULL;
    if (!rc)
        rc = call(&c, "CreateModel",
                  json_pack("{s:s, s:s, s:{s:s, s:s}}", "ModelName", model, "ExecutionRoleArn",
                            "arn:aws:iam::000000000000:role/lathe", "PrimaryContainer", "Image",
                            img, "ModelDataUrl", url),
                  NULL, &err);
    if (!rc)
        rc = call(&c, "CreateEndpointConfig",
                  json_pack("{s:s, s:[{s:s, s:s, s:I, s:s, s:f}]}", "EndpointConfigName", config,
                            "ProductionVariants", "VariantName", "AllTraffic", "ModelName", model,
                            "InitialInstanceCount", (json_int_t)count, "InstanceType",
                            type ? type : "ml.m5.large", "InitialVariantWeight", 1.0),
                  NULL, &err);
    if (!rc)
        rc = call(&c, "CreateEndpoint",
                  json_pack("{s:s, s:s}", "EndpointName", ep, "EndpointConfigName", config), NULL,
                  &err);
    if (!rc && !no_wait) rc = wait_in_service(&c, ep, &err);
    if (!rc) printf("%s\n", ep);
    else fprintf(stderr, "lathe deploy: %s\n", err.msg);
    free(model);
    free(config);
    free(ep);
    free(img);
    free(url);
    lt_cli__client_free(&c);
    return rc ? 1 : 0;
}

static int read_all(const char *path, lt_buf *buf, lt_err *err)
{
    if (path && strcmp(path, "-") != 0) return lt_file_read(path, buf, err);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (lt_buf_append(buf, chunk, n, err) != 0) return LT_ELIMIT;
    return 0;
}

int lt_cli__cmd_predict(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    conn_opts co;
    conn_parse(argc, argv, used, &co);
    const char *input = lt_cli__option(argc, argv, used, "input");
    const char *type = lt_cli__option(argc, argv, used, "content-type");
    const char *accept = lt_cli__option(argc, argv, used, "accept");
    const char *variant = lt_cli__option(argc, argv, used, "variant");
    const char *target_model = lt_cli__option(argc, argv, used, "target-model");
    const char *ep = lt_cli__positional(argc, argv, used, 2);
    if (!ep || lt_cli__reject_unused(argc, argv, used, 2)) {
        fprintf(stderr, "usage: lathe predict ENDPOINT [--input FILE|-] [--content-type T] "
                        "[--accept T] [--variant V] [--target-model KEY]\n");
        free(used);
        return 2;
    }
    free(used);
    lt_err err = {0};
    lt_cli__client c;
    lt_buf body, answer;
    lt_buf_init(&body, 6u << 20);
    lt_buf_init(&answer, 256u << 20);
    long status = 0;
    int rc = lt_cli__client_init(&c, co.endpoint, co.region, co.profile, co.data_dir, &err);
    if (!rc) {
        rc = read_all(input, &body, &err);
        if (rc == LT_ELIMIT) lt_err_set(&err, rc, "the input is over InvokeEndpoint's 6 MB limit");
        if (!rc)
            rc = lt_cli__invoke_endpoint(&c, ep, type ? type : "text/csv", accept, variant,
                                         target_model, body.data ? body.data : "", body.len,
                                         &status, &answer, &err);
        lt_cli__client_free(&c);
    }
    if (!rc && status == 200) {
        fwrite(answer.data ? answer.data : "", 1, answer.len, stdout);
    } else if (!rc) {
        json_t *e = NULL;
        const char *msg = answer.data ? answer.data : "";
        if (lt_json_parse(msg, answer.len, &e, NULL) == 0 && lt_json_str(e, "message"))
            msg = lt_json_str(e, "message");
        fprintf(stderr, "lathe predict: HTTP %ld: %s\n", status, msg);
        json_decref(e);
        rc = LT_EIO;
    } else {
        fprintf(stderr, "lathe predict: %s\n", err.msg);
    }
    lt_buf_free(&body);
    lt_buf_free(&answer);
    return rc ? 1 : 0;
}

int lt_cli__cmd_endpoints(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    conn_opts co;
    conn_parse(argc, argv, used, &co);
    int bad = lt_cli__reject_unused(argc, argv, used, 2);
    free(used);
    if (bad) return 2;
    lt_err err = {0};
    lt_cli__client c;
    json_t *out = NULL;
    int rc = lt_cli__client_init(&c, co.endpoint, co.region, co.profile, co.data_dir, &err);
    if (!rc) {
        rc = call(&c, "ListEndpoints", json_pack("{s:i}", "MaxResults", 100), &out, &err);
        lt_cli__client_free(&c);
    }
    if (rc) {
        fprintf(stderr, "lathe endpoints: %s\n", err.msg);
        return 1;
    }
    printf("%-40s %-10s\n", "NAME", "STATUS");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(out, "Endpoints"), i, e)
        printf("%-40s %-10s\n", lt_json_str(e, "EndpointName"), lt_json_str(e, "EndpointStatus"));
    if (json_array_size(json_object_get(out, "Endpoints")) == 0) printf("(no endpoints)\n");
    json_decref(out);
    return 0;
}
