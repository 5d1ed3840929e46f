/* `lathe train`: a training job from the command line, without writing a request.
 *
 *   lathe train train.py [--source-dir DIR] --data train=./data/train.csv --hp epochs=10
 *   lathe train --algorithm kmeans --data train=s3://bucket/km/ --hp k=3 --hp feature_dim=2
 *   lathe train --image team/trainer:v1 --data train=./data
 *
 * Local data and code are uploaded to the job's prefix in the bucket (default
 * "lathe-default", created when missing) the way the SageMaker SDK does, the job is created
 * with CreateTrainingJob, and the log is followed until the job ends; then the model's
 * location, the final metrics or the failure reason are printed. */
#include "cli/cli_internal.h"
#include "exec/exec.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BUCKET "lathe-default"

typedef struct train_args {
    const char *script, *source_dir, *algorithm, *image, *name, *bucket, *instance_type;
    const char *endpoint, *region, *profile, *data_dir, *content_type;
    int64_t instance_count, max_runtime;
    bool no_wait;
    json_t *hp;       /* name -> value */
    json_t *data;     /* channel -> path or s3 URI */
    json_t *metrics;  /* [{Name, Regex}] */
} train_args;

static int usage(void)
{
    fprintf(stderr,
            "usage: lathe train SCRIPT.py [--source-dir DIR] | --algorithm NAME | --image URI\n"
            "         [--data CHANNEL=PATH|s3://...]... [--hp NAME=VALUE]... [--name JOB]\n"
            "         [--metric NAME=REGEX]... [--content-type T] [--bucket B] [--instance-type T]\n"
            "         [--instance-count N] [--max-runtime SECONDS] [--no-wait] [--endpoint URL]\n");
    return 2;
}

static int split_pair(const char *value, const char *what, json_t *into, lt_err *err)
{
    const char *eq = value ? strchr(value, '=') : NULL;
    if (!eq || eq == value)
        return lt_err_set(err, LT_EINVAL, "%s takes NAME=VALUE, got '%s'", what, value ? value : "");
    char *key = lt_xstrndup(value, (size_t)(eq - value));
    json_object_set_new(into, key, json_string(eq + 1));
    free(key);
    return 0;
}

static int parse(int argc, char **argv, train_args *a, lt_err *err)
{
    memset(a, 0, sizeof *a);
    a->hp = json_object();
    a->data = json_object();
    a->metrics = json_array();
    a->instance_count = 1;
    a->max_runtime = 86400;
    a->instance_type = "ml.m5.large";
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (!strcmp(arg, "--no-wait")) {
            a->no_wait = true;
            continue;
        }
        if (!strcmp(arg, "--source-dir")) slot = &a->source_dir;
        else if (!strcmp(arg, "--algorithm")) slot = &a->algorithm;
        else if (!strcmp(arg, "--image")) slot = &a->image;
        else if (!strcmp(arg, "--name")) slot = &a->name;
        else if (!strcmp(arg, "--bucket")) slot = &a->bucket;
        else if (!strcmp(arg, "--instance-type")) slot = &a->instance_type;
        else if (!strcmp(arg, "--endpoint")) slot = &a->endpoint;
        else if (!strcmp(arg, "--region")) slot = &a->region;
        else if (!strcmp(arg, "--profile")) slot = &a->profile;
        else if (!strcmp(arg, "--data-dir")) slot = &a->data_dir;
        else if (!strcmp(arg, "--content-type")) slot = &a->content_type;
        bool takes = slot || !strcmp(arg, "--hp") || !strcmp(arg, "--data") ||
                     !strcmp(arg, "--metric") || !strcmp(arg, "--instance-count") ||
                     !strcmp(arg, "--max-runtime");
        if (takes && !v) return lt_err_set(err, LT_EINVAL, "%s needs a value", arg);
        int rc = 0;
        if (slot) *slot = v;
        else if (!strcmp(arg, "--hp")) rc = split_pair(v, "--hp", a->hp, err);
        else if (!strcmp(arg, "--data")) rc = split_pair(v, "--data", a->data, err);
        else if (!strcmp(arg, "--metric")) {
            json_t *m = json_object();
            rc = split_pair(v, "--metric", m, err);
            const char *key;
            json_t *value;
            json_object_foreach(m, key, value)
                json_array_append_new(a->metrics, json_pack("{s:s, s:O}", "Name", key, "Regex", value));
            json_decref(m);
        } else if (!strcmp(arg, "--instance-count"))
            rc = lt_parse_i64(v, 1, 64, &a->instance_count, "--instance-count", err);
        else if (!strcmp(arg, "--max-runtime"))
            rc = lt_parse_i64(v, 1, 2419200, &a->max_runtime, "--max-runtime", err);
        else if (arg[0] != '-' && !a->script) a->script = arg;
        else return lt_err_set(err, LT_EINVAL, "unexpected argument '%s'", arg);
        if (rc) return rc;
        if (takes) i++;
    }
    if ((a->script != NULL) + (a->algorithm != NULL) + (a->image != NULL) != 1)
        return lt_err_set(err, LT_EINVAL, "give exactly one of SCRIPT.py, --algorithm and --image");
    return 0;
}

/* "train-20261124-183512-123": the SDK's base name plus a timestamp. */
static char *job_name(const train_args *a)
{
    const char *base = a->algorithm ? a->algorithm : a->image ? "job" : a->script;
    const char *slash = strrchr(base, '/');
    if (slash) base = slash + 1;
    char clean[40];
    size_t n = 0;
    for (const char *p = base; *p && *p != '.' && *p != ':' && n < 30; p++)
        clean[n++] = (char)(((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                             (*p >= '0' && *p <= '9'))
                                ? *p
                                : '-');
    clean[n] = '\0';
    if (n == 0 || clean[0] == '-') memcpy(clean, "job", 4);
    int64_t ms = lt_now_ms();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return lt_xasprintf("%s-%s-%03d", clean, stamp, (int)(ms % 1000));
}

static int s3_put(const lt_cli__client *c, const char *bucket, const char *key, const char *path,
                  lt_err *err)
{
    long status = 0;
    lt_buf body;
    lt_buf_init(&body, 1 << 20);
    int rc = lt_cli__s3_request(c, "PUT", bucket, key, path, &status, &body, err);
    if (!rc && status / 100 != 2 && !(key == NULL && status == 409))
        rc = lt_err_set(err, LT_EIO, "uploading %s to s3://%s/%s: HTTP %ld %.300s", path ? path : "",
                        bucket, key ? key : "", status, body.data ? body.data : "");
    lt_buf_free(&body);
    return rc;
}

/* Uploads a file, or every file of a directory, under prefix; returns the channel URI. */
static int upload_path(const lt_cli__client *c, const char *bucket, const char *prefix,
                       const char *path, const char *rel, lt_err *err)
{
    char *full = *rel ? lt_xasprintf("%s/%s", path, rel) : lt_xstrdup(path);
    struct stat st;
    int rc = 0;
    if (stat(full, &st) != 0) {
        rc = lt_err_set(err, LT_EINVAL, "--data: %s does not exist", full);
    } else if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(full);
        struct dirent *e;
        while (!rc && d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char *child = *rel ? lt_xasprintf("%s/%s", rel, e->d_name) : lt_xstrdup(e->d_name);
            rc = upload_path(c, bucket, prefix, path, child, err);
            free(child);
        }
        if (d) closedir(d);
    } else {
        const char *base = strrchr(full, '/');
        char *key = lt_xasprintf("%s%s", prefix, *rel ? rel : (base ? base + 1 : full));
        rc = s3_put(c, bucket, key, full, err);
        free(key);
    }
    free(full);
    return rc;
}

static int upload_code(const lt_cli__client *c, const train_args *a, const char *job,
                       json_t *hps, lt_err *err)
{
    const char *script = a->script;
    char *dir = NULL;
    const char *program = strrchr(script, '/') ? strrchr(script, '/') + 1 : script;
    if (a->source_dir) {
        dir = lt_xstrdup(a->source_dir);
        program = script;
    } else {
        /* Only the script itself, in a temporary directory. */
        char tmpl[] = "/tmp/lathe-train-XXXXXX";
        if (!mkdtemp(tmpl)) return lt_err_set(err, LT_EIO, "cannot make a temporary directory");
        dir = lt_xstrdup(tmpl);
        lt_buf text;
        lt_buf_init(&text, 64u << 20);
        char *copy = lt_xasprintf("%s/%s", dir, program);
        int rc = lt_file_read(script, &text, err);
        if (!rc) rc = lt_file_write_atomic(copy, text.data, text.len, 0755, err);
        free(copy);
        lt_buf_free(&text);
        if (rc) {
            lt_rm_rf(dir, NULL);
            free(dir);
            return rc;
        }
    }
    char *tarball = lt_xasprintf("/tmp/lathe-sourcedir-%d.tar.gz", (int)getpid());
    int rc = lt_blob_pack_dir(dir, tarball, err);
    char *key = lt_xasprintf("%s/source/sourcedir.tar.gz", job);
    if (!rc) rc = s3_put(c, a->bucket, key, tarball, err);
    if (!rc) {
        json_object_set_new(hps, "sagemaker_program", json_sprintf("\"%s\"", program));
        json_object_set_new(hps, "sagemaker_submit_directory",
                            json_sprintf("\"s3://%s/%s\"", a->bucket, key));
    }
    unlink(tarball);
    if (!a->source_dir) lt_rm_rf(dir, NULL);
    free(key);
    free(tarball);
    free(dir);
    return rc;
}

static json_t *channels(const lt_cli__client *c, const train_args *a, const char *job,
                        lt_err *err)
{
    json_t *list = json_array();
    const char *name;
    json_t *value;
    json_object_foreach(a->data, name, value) {
        const char *where = json_string_value(value);
        char *uri;
        if (lt_str_starts_with(where, "s3://")) {
            uri = lt_xstrdup(where);
        } else {
            char *prefix = lt_xasprintf("%s/input/%s/", job, name);
            int rc = upload_path(c, a->bucket, prefix, where, "", err);
            uri = rc ? NULL : lt_xasprintf("s3://%s/%s", a->bucket, prefix);
            free(prefix);
            if (rc) {
                json_decref(list);
                return NULL;
            }
        }
        json_array_append_new(list, json_pack("{s:s, s:{s:{s:s, s:s, s:s}}}", "ChannelName", name,
                                              "DataSource", "S3DataSource", "S3DataType", "S3Prefix",
                                              "S3Uri", uri, "S3DataDistributionType",
                                              "FullyReplicated"));
        if (a->content_type)
            json_object_set_new(json_array_get(list, json_array_size(list) - 1), "ContentType",
                                json_string(a->content_type));
        free(uri);
    }
    return list;
}

static void print_outcome(const json_t *d)
{
    const char *status = lt_json_str(d, "TrainingJobStatus");
    printf("\n%s: %s", lt_json_str(d, "TrainingJobName"), status ? status : "?");
    const char *secondary = lt_json_str(d, "SecondaryStatus");
    if (secondary && status && strcmp(secondary, status) != 0) printf(" (%s)", secondary);
    printf("\n");
    const char *model = lt_json_str(json_object_get(d, "ModelArtifacts"), "S3ModelArtifacts");
    if (model) printf("  model:    %s\n", model);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(d, "FinalMetricDataList"), i, m)
        printf("  metric:   %s = %g\n", lt_json_str(m, "MetricName"),
               json_number_value(json_object_get(m, "Value")));
    json_t *t = json_object_get(d, "TrainingTimeInSeconds");
    if (t) printf("  time:     %lld s\n", (long long)json_integer_value(t));
    const char *failure = lt_json_str(d, "FailureReason");
    if (failure) printf("  failure:  %s\n", failure);
}

static int run(train_args *a, lt_err *err)
{
    lt_cli__client client;
    int rc = lt_cli__client_init(&client, a->endpoint, a->region, a->profile, a->data_dir, err);
    if (rc) return rc;
    if (!a->bucket) a->bucket = DEFAULT_BUCKET;
    char *job = a->name ? lt_xstrdup(a->name) : job_name(a);
    rc = s3_put(&client, a->bucket, NULL, NULL, err); /* create the bucket (or have it) */
    json_t *hps = json_deep_copy(a->hp);
    if (!rc && a->script) rc = upload_code(&client, a, job, hps, err);
    json_t *inputs = rc ? NULL : channels(&client, a, job, err);
    if (!rc && !inputs) rc = err->code ? err->code : LT_EIO;
    json_t *spec = json_pack("{s:s}", "TrainingInputMode", "File");
    if (a->algorithm) json_object_set_new(spec, "AlgorithmName", json_string(a->algorithm));
    else json_object_set_new(spec, "TrainingImage", json_string(a->image ? a->image : "python"));
    if (json_array_size(a->metrics)) json_object_set(spec, "MetricDefinitions", a->metrics);
    json_t *req = json_pack("{s:s, s:o, s:o, s:s, s:{s:s}, s:{s:s, s:I, s:i}, s:{s:I}}",
                            "TrainingJobName", job, "AlgorithmSpecification", spec,
                            "HyperParameters", hps, "RoleArn",
                            "arn:aws:iam::000000000000:role/lathe", "OutputDataConfig",
                            "S3OutputPath", "", "ResourceConfig", "InstanceType",
                            a->instance_type, "InstanceCount", (json_int_t)a->instance_count,
                            "VolumeSizeInGB", 10, "StoppingCondition", "MaxRuntimeInSeconds",
                            (json_int_t)a->max_runtime);
    json_object_set_new(json_object_get(req, "OutputDataConfig"), "S3OutputPath",
                        json_sprintf("s3://%s/", a->bucket));
    if (json_array_size(inputs)) json_object_set(req, "InputDataConfig", inputs);
    json_decref(inputs);
    json_t *out = NULL;
    if (!rc) rc = lt_cli__call_json(&client, "sagemaker", "SageMaker.CreateTrainingJob", req, &out, err);
    else json_decref(req);
    if (!rc) {
        fprintf(stderr, "lathe train: created %s (%s)\n", job, lt_json_str(out, "TrainingJobArn"));
        json_decref(out);
        out = NULL;
        if (!a->no_wait) {
            int status = lt_cli__follow_job_logs(&client, job, false);
            rc = lt_cli__call_json(&client, "sagemaker", "SageMaker.DescribeTrainingJob",
                                   json_pack("{s:s}", "TrainingJobName", job), &out, err);
            if (!rc) print_outcome(out);
            if (!rc && status) rc = lt_err_set(err, LT_EIO, "the job did not complete");
        }
    }
    json_decref(out);
    free(job);
    lt_cli__client_free(&client);
    return rc;
}

int lt_cli__cmd_train(int argc, char **argv)
{
    train_args a;
    lt_err err = {0};
    int rc = parse(argc, argv, &a, &err);
    if (rc) {
        fprintf(stderr, "lathe train: %s\n", err.msg);
        usage();
    } else {
        rc = run(&a, &err);
        if (rc && strcmp(err.msg, "the job did not complete") != 0)
            fprintf(stderr, "lathe train: %s\n", err.msg);
    }
    json_decref(a.hp);
    json_decref(a.data);
    json_decref(a.metrics);
    return rc ? 1 : 0;
}
