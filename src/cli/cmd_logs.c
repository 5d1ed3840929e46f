/* `lathe logs JOB [--follow|-f] [--kind training|processing|transform|endpoint]`: prints a
 * job's log events (or an endpoint's serve program workers': every stream of the group
 * /aws/sagemaker/Endpoints/NAME) through the server's CloudWatch Logs API
 * (DescribeLogStreams with the prefix "JOB/",
 * then GetLogEvents from the head of each stream, paging by nextForwardToken), the way the
 * SageMaker SDK's `logs=True` does. With several streams (hosts) each line is prefixed
 * "[algo-N] ". With --follow it polls every 500 ms and, on each poll, asks
 * Describe{Training,Processing}Job for the status; once it is Completed, Failed or Stopped
 * it drains what is left and exits (1 when Failed). If that call fails (no such
 * operation yet, or no such job) it keeps following until interrupted. */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct log_stream {
    char *name;
    char *token; /* nextForwardToken; NULL before the first read */
} log_stream;

typedef struct follower {
    const lt_cli__client *client;
    const char *group;
    char *prefix;
    log_stream *streams;
    size_t n;
} follower;

int lt_cli__call_json(const lt_cli__client *client, const char *service, const char *target,
                     json_t *in, json_t **out, lt_err *err)
{
    char *text = lt_json_dump(in);
    json_decref(in);
    lt_buf body;
    lt_buf_init(&body, 64u << 20);
    long status = 0;
    *out = NULL;
    int rc = lt_cli__call_target(client, service, target, text, &status, &body, err);
    free(text);
    json_t *v = NULL;
    if (!rc &&
        (lt_json_parse(body.data ? body.data : "", body.len, &v, NULL) != 0 || !json_is_object(v)))
        rc =
            lt_err_set(err, LT_EIO, "%s: HTTP %ld with an answer that is not JSON", target, status);
    if (!rc && status >= 300) {
        const char *type = lt_json_str(v, "__type");
        const char *msg = lt_json_str(v, "message");
        rc = lt_err_set(err, type && strstr(type, "NotFound") ? LT_ENOTFOUND : LT_EIO, "%s: %s: %s",
                        target, type ? type : "error", msg ? msg : "");
    }
    lt_buf_free(&body);
    if (rc)
        json_decref(v);
    else
        *out = v;
    return rc;
}

static int refresh_streams(follower *f, lt_err *err)
{
    char *token = NULL;
    int rc = 0;
    do {
        json_t *in = json_pack("{s:s, s:s}", "logGroupName", f->group, "orderBy", "LogStreamName");
        if (f->prefix) json_object_set_new(in, "logStreamNamePrefix", json_string(f->prefix));
        if (token) json_object_set_new(in, "nextToken", json_string(token));
        free(token);
        token = NULL;
        json_t *out = NULL;
        lt_err inner = {0};
        rc = lt_cli__call_json(f->client, "logs", "Logs_20140328.DescribeLogStreams", in, &out, &inner);
        if (rc == LT_ENOTFOUND) return 0; /* no group yet: nothing has logged */
        if (rc) return lt_err_set(err, rc, "%s", inner.msg);
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(out, "logStreams"), i, s)
        {
            const char *name = lt_json_str(s, "logStreamName");
            bool known = false;
            for (size_t k = 0; name && k < f->n && !known; k++)
                known = strcmp(f->streams[k].name, name) == 0;
            if (!name || known) continue;
            f->streams = lt_xrealloc(f->streams, (f->n + 1) * sizeof *f->streams);
            f->streams[f->n++] = (log_stream){lt_xstrdup(name), NULL};
        }
        const char *next = lt_json_str(out, "nextToken");
        token = next ? lt_xstrdup(next) : NULL;
        json_decref(out);
    } while (token);
    return rc;
}

/* "job/algo-1-1700000000" -> "algo-1". */
static void print_host_prefix(const char *stream)
{
    const char *host = strchr(stream, '/');
    host = host ? host + 1 : stream;
    size_t len = strlen(host);
    const char *dash = strrchr(host, '-');
    if (dash && dash[1] && strspn(dash + 1, "0123456789") == strlen(dash + 1))
        len = (size_t)(dash - host);
    printf("[%.*s] ", (int)len, host);
}

static int drain_stream(follower *f, log_stream *s, bool show_host, lt_err *err)
{
    for (;;) {
        json_t *in = json_pack("{s:s, s:s, s:b}", "logGroupName", f->group, "logStreamName",
                               s->name, "startFromHead", 1);
        if (s->token) json_object_set_new(in, "nextToken", json_string(s->token));
        json_t *out = NULL;
        int rc = lt_cli__call_json(f->client, "logs", "Logs_20140328.GetLogEvents", in, &out, err);
        if (rc) return rc;
        json_t *events = json_object_get(out, "events");
        size_t i;
        json_t *e;
        json_array_foreach(events, i, e)
        {
            if (show_host) print_host_prefix(s->name);
            const char *msg = lt_json_str(e, "message");
            printf("%s\n", msg ? msg : "");
        }
        const char *next = lt_json_str(out, "nextForwardToken");
        bool same = !next || (s->token && strcmp(next, s->token) == 0);
        if (next) {
            free(s->token);
            s->token = lt_xstrdup(next);
        }
        size_t n = json_array_size(events);
        json_decref(out);
        if (n == 0 || same) return 0;
    }
}

static int drain_all(follower *f, lt_err *err)
{
    int rc = refresh_streams(f, err);
    for (size_t i = 0; !rc && i < f->n; i++)
        rc = drain_stream(f, &f->streams[i], f->n > 1, err);
    fflush(stdout);
    return rc;
}

/* The job's status, or NULL when it cannot be had (caller frees). */
static char *job_status(follower *f, const char *job, bool processing)
{
    const char *target =
        processing ? "SageMaker.DescribeProcessingJob" : "SageMaker.DescribeTrainingJob";
    json_t *in = json_pack("{s:s}", processing ? "ProcessingJobName" : "TrainingJobName", job);
    json_t *out = NULL;
    if (lt_cli__call_json(f->client, "sagemaker", target, in, &out, NULL) != 0) return NULL;
    const char *status = lt_json_str(out, processing ? "ProcessingJobStatus" : "TrainingJobStatus");
    char *copy = status ? lt_xstrdup(status) : NULL;
    json_decref(out);
    return copy;
}

static bool finished(const char *status)
{
    return status && (strcmp(status, "Completed") == 0 || strcmp(status, "Failed") == 0 ||
                      strcmp(status, "Stopped") == 0);
}

static int run(follower *f, const char *job, bool follow, bool processing)
{
    lt_err err = {0};
    if (!follow) {
        int rc = drain_all(f, &err);
        if (!rc && f->n == 0) {
            fprintf(stderr, "lathe logs: no log streams for job '%s' in %s\n", job, f->group);
            return 1;
        }
        if (rc) fprintf(stderr, "lathe logs: %s\n", err.msg);
        return rc ? 1 : 0;
    }
    for (;;) {
        char *status = job_status(f, job, processing);
        int rc = drain_all(f, &err);
        if (rc) {
            fprintf(stderr, "lathe logs: %s\n", err.msg);
            free(status);
            return 1;
        }
        if (finished(status)) {
            /* The status was read before the drain, so everything logged before the job
             * ended has now been printed. */
            fprintf(stderr, "lathe logs: job '%s' %s\n", job, status);
            int code = strcmp(status, "Failed") == 0 ? 1 : 0;
            free(status);
            return code;
        }
        free(status);
        struct timespec pause = {0, 500 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

int lt_cli__follow_job_logs(const lt_cli__client *client, const char *job, bool processing)
{
    follower f = {client,
                  processing ? "/aws/sagemaker/ProcessingJobs" : "/aws/sagemaker/TrainingJobs",
                  lt_xasprintf("%s/", job), NULL, 0};
    int status = run(&f, job, true, processing);
    for (size_t i = 0; i < f.n; i++) {
        free(f.streams[i].name);
        free(f.streams[i].token);
    }
    free(f.streams);
    free(f.prefix);
    return status;
}

int lt_cli__cmd_logs(int argc, char **argv)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    bool follow = lt_cli__flag(argc, argv, used, "follow");
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "-f") == 0) used[i] = follow = true;
    const char *kind = lt_cli__option(argc, argv, used, "kind");
    const char *endpoint = lt_cli__option(argc, argv, used, "endpoint");
    const char *region = lt_cli__option(argc, argv, used, "region");
    const char *profile = lt_cli__option(argc, argv, used, "profile");
    const char *data_dir = lt_cli__option(argc, argv, used, "data-dir");
    const char *job = lt_cli__positional(argc, argv, used, 2);
    bool processing = kind && strcmp(kind, "processing") == 0;
    bool transform = kind && strcmp(kind, "transform") == 0;
    bool serving = kind && strcmp(kind, "endpoint") == 0;
    if (!job || (kind && !processing && !transform && !serving && strcmp(kind, "training") != 0)) {
        fprintf(stderr, "usage: lathe logs JOB [--follow|-f] "
                        "[--kind training|processing|transform|endpoint] "
                        "[--endpoint URL] [--region R] [--profile P]\n");
        free(used);
        return 2;
    }
    if (lt_cli__reject_unused(argc, argv, used, 2)) {
        free(used);
        return 2;
    }
    free(used);
    lt_err err = {0};
    lt_cli__client client;
    if (lt_cli__client_init(&client, endpoint, region, profile, data_dir, &err) != 0) {
        fprintf(stderr, "lathe logs: %s\n", err.msg);
        return 1;
    }
    /* An endpoint's group holds only its own streams; the others are shared by jobs. A
     * transform or endpoint has no status the follower knows: it follows until interrupted. */
    char *group = serving ? lt_xasprintf("/aws/sagemaker/Endpoints/%s", job)
                          : lt_xstrdup(processing  ? "/aws/sagemaker/ProcessingJobs"
                                       : transform ? "/aws/sagemaker/TransformJobs"
                                                   : "/aws/sagemaker/TrainingJobs");
    follower f = {&client, group, serving ? NULL : lt_xasprintf("%s/", job), NULL, 0};
    int status = run(&f, job, follow, processing);
    for (size_t i = 0; i < f.n; i++) {
        free(f.streams[i].name);
        free(f.streams[i].token);
    }
    free(f.streams);
    free(f.prefix);
    free(group);
    lt_cli__client_free(&client);
    return status;
}
