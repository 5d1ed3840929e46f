/* `lathe jobs [--kind training|processing] [--status S] [--max N]` lists jobs with their
 * status, newest first; `lathe stop JOB [--kind ...]` stops one. Both go through the
 * server's API, so they work against any Lathe endpoint. */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct jobs_opts {
    const char *kind, *status, *endpoint, *region, *profile, *data_dir;
    int64_t max;
} jobs_opts;

static bool parse_common(int argc, char **argv, bool *used, jobs_opts *o, lt_err *err)
{
    o->kind = lt_cli__option(argc, argv, used, "kind");
    o->endpoint = lt_cli__option(argc, argv, used, "endpoint");
    o->region = lt_cli__option(argc, argv, used, "region");
    o->profile = lt_cli__option(argc, argv, used, "profile");
    o->data_dir = lt_cli__option(argc, argv, used, "data-dir");
    if (!o->kind) o->kind = "training";
    if (strcmp(o->kind, "training") != 0 && strcmp(o->kind, "processing") != 0) {
        lt_err_set(err, LT_EINVAL, "--kind is training or processing, not '%s'", o->kind);
        return false;
    }
    return true;
}

static void print_time(const json_t *obj, const char *key)
{
    double t = 0;
    if (lt_json_time(obj, key, &t) != 0) {
        printf("%-20s", "-");
        return;
    }
    time_t secs = (time_t)t;
    struct tm tm;
    localtime_r(&secs, &tm);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%-20s", text);
}

static int list(const lt_cli__client *c, const jobs_opts *o, lt_err *err)
{
    bool training = strcmp(o->kind, "training") == 0;
    json_t *in = json_pack("{s:s, s:s, s:I}", "SortBy", "CreationTime", "SortOrder", "Descending",
                           "MaxResults", (json_int_t)o->max);
    if (o->status) json_object_set_new(in, "StatusEquals", json_string(o->status));
    json_t *out = NULL;
    int rc = lt_cli__call_json(c, "sagemaker",
                               training ? "SageMaker.ListTrainingJobs" : "SageMaker.ListProcessingJobs",
                               in, &out, err);
    if (rc) return rc;
    json_t *items = json_object_get(out, training ? "TrainingJobSummaries" : "ProcessingJobSummaries");
    printf("%-40s %-11s %-20s %-20s %s\n", "NAME", "STATUS", "CREATED", "ENDED",
           training ? "SECONDARY" : "");
    size_t i;
    json_t *j;
    json_array_foreach(items, i, j) {
        printf("%-40s %-11s ", lt_json_str(j, training ? "TrainingJobName" : "ProcessingJobName"),
               lt_json_str(j, training ? "TrainingJobStatus" : "ProcessingJobStatus"));
        print_time(j, "CreationTime");
        printf(" ");
        print_time(j, training ? "TrainingEndTime" : "ProcessingEndTime");
        const char *secondary = training ? lt_json_str(j, "SecondaryStatus") : NULL;
        printf(" %s\n", secondary ? secondary : "");
    }
    if (json_array_size(items) == 0) printf("(no %s jobs)\n", o->kind);
    json_decref(out);
    return 0;
}

int lt_cli__cmd_jobs(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    lt_err err = {0};
    jobs_opts o = {.max = 50};
    bool ok = parse_common(argc, argv, used, &o, &err);
    o.status = lt_cli__option(argc, argv, used, "status");
    const char *max = lt_cli__option(argc, argv, used, "max");
    if (ok && max && lt_parse_i64(max, 1, 100, &o.max, "--max", &err) != 0) ok = false;
    int rc = 2;
    if (!ok) fprintf(stderr, "lathe jobs: %s\n", err.msg);
    else if (!lt_cli__reject_unused(argc, argv, used, 2)) {
        lt_cli__client c;
        rc = lt_cli__client_init(&c, o.endpoint, o.region, o.profile, o.data_dir, &err);
        if (!rc) {
            rc = list(&c, &o, &err);
            lt_cli__client_free(&c);
        }
        if (rc) fprintf(stderr, "lathe jobs: %s\n", err.msg);
        rc = rc ? 1 : 0;
    }
    free(used);
    return rc;
}

int lt_cli__cmd_stop(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    lt_err err = {0};
    jobs_opts o = {0};
    bool ok = parse_common(argc, argv, used, &o, &err);
    const char *job = lt_cli__positional(argc, argv, used, 2);
    int rc = 2;
    if (!ok || !job) {
        fprintf(stderr, "lathe stop: %s\nusage: lathe stop JOB [--kind training|processing]\n",
                ok ? "which job?" : err.msg);
    } else if (!lt_cli__reject_unused(argc, argv, used, 2)) {
        bool training = strcmp(o.kind, "training") == 0;
        lt_cli__client c;
        rc = lt_cli__client_init(&c, o.endpoint, o.region, o.profile, o.data_dir, &err);
        json_t *out = NULL;
        if (!rc)
            rc = lt_cli__call_json(
                &c, "sagemaker", training ? "SageMaker.StopTrainingJob" : "SageMaker.StopProcessingJob",
                json_pack("{s:s}", training ? "TrainingJobName" : "ProcessingJobName", job), &out, &err);
        json_decref(out);
        if (!rc) {
            printf("stopping %s\n", job);
            lt_cli__client_free(&c);
        } else {
            fprintf(stderr, "lathe stop: %s\n", err.msg);
            if (c.endpoint) lt_cli__client_free(&c);
        }
        rc = rc ? 1 : 0;
    }
    free(used);
    return rc;
}
