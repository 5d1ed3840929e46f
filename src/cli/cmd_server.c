/* `lathe server`: opens the data directory (store, object store, keys, DATA/logs for the
 * log streams), starts the HTTP server and runs until SIGINT or SIGTERM. */
#include "cli/cli_internal.h"
#include "exec/exec.h"
#include "http/http.h"
#include "s3/s3.h"
#include "serve/serve.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct server_options {
    const char *host;
    int64_t port;
    const char *data_dir;
    int64_t threads;
    const char *region;
    const char *account_id;
    int64_t body_limit_mb;
} server_options;

static int parse_options(int argc, char **argv, server_options *o)
{
    bool *used = lt_xcalloc((size_t)argc + 1, sizeof *used);
    used[0] = used[1] = true;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *v;
    lt_err err = {0};
    o->host = (v = lt_cli__option(argc, argv, used, "host")) ? v : "127.0.0.1";
    o->data_dir = (v = lt_cli__option(argc, argv, used, "data-dir")) ? v : LT_CLI_DEFAULT_DATA_DIR;
    o->region = (v = lt_cli__option(argc, argv, used, "region")) ? v
                : getenv("LATHE_REGION")                          ? getenv("LATHE_REGION")
                                                                  : LT_CLI_DEFAULT_REGION;
    o->account_id = (v = lt_cli__option(argc, argv, used, "account-id")) ? v
                    : getenv("LATHE_ACCOUNT_ID") ? getenv("LATHE_ACCOUNT_ID")
                                                 : LT_CLI_DEFAULT_ACCOUNT;
    o->port = 8080;
    /* As many as the CPUs (at least 2): the server's threads never wait on a model (calls
     * to serve programs run on offload threads), and more threads than CPUs only take
     * turns, each holding its connections while it waits (see docs/ARCHITECTURE.md). */
    o->threads = ncpu > 2 ? ncpu : 2;
    o->body_limit_mb = 16;
    int rc = 0;
    if ((v = lt_cli__option(argc, argv, used, "port")))
        rc = rc ? rc : lt_parse_i64(v, 0, 65535, &o->port, "--port", &err);
    if ((v = lt_cli__option(argc, argv, used, "threads")))
        rc = rc ? rc : lt_parse_i64(v, 1, 1024, &o->threads, "--threads", &err);
    if ((v = lt_cli__option(argc, argv, used, "body-limit-mb")))
        rc = rc ? rc : lt_parse_i64(v, 1, 1024, &o->body_limit_mb, "--body-limit-mb", &err);
    if (rc) fprintf(stderr, "lathe server: %s\n", err.msg);
    if (!rc) rc = lt_cli__reject_unused(argc, argv, used, 2);
    free(used);
    return rc ? 2 : 0;
}

/* What the api tells after a committed change goes to whoever acts on it: the executor
 * (training and processing jobs) or the endpoint runtime. */
typedef struct notify_targets {
    lt_executor *executor;
    lt_serve *serve;
} notify_targets;

static void notify(void *ctx, const char *kind, const char *name, const char *action)
{
    notify_targets *t = ctx;
    if (strcmp(kind, "endpoint") == 0) {
        if (t->serve) lt_serve_notify(t->serve, name, action);
    } else if (t->executor) {
        lt_executor_notify(t->executor, kind, name, action);
    }
}

static int lookup_key(void *ctx, const char *access_key, char *secret, size_t cap, lt_err *err)
{
    return lt_cli__key_secret((lt_store *)ctx, access_key, secret, cap, err);
}

/* LATHE_SHUTDOWN_GRACE_S: how long a stopping server waits for calls to serve programs
 * (1 to 3600; unset or invalid: the server's default, 10 s). */
static int shutdown_grace_s(void)
{
    const char *v = getenv("LATHE_SHUTDOWN_GRACE_S");
    int64_t s = 0;
    if (v && lt_parse_i64(v, 1, 3600, &s, "LATHE_SHUTDOWN_GRACE_S", NULL) == 0) return (int)s;
    return 0;
}

static void print_banner(const server_options *o, int port, const char *admin_key)
{
    /* Absolute, so the export line works from any directory. */
    char *dir = realpath(o->data_dir, NULL);
    const char *data_dir = dir ? dir : o->data_dir;
    printf("Lathe is serving on http://%s:%d (data directory %s)\n\n", o->host, port, data_dir);
    printf("  Credentials for boto3 and the AWS CLI are in %s/credentials%s%s%s.\n", data_dir,
           admin_key ? " (admin key " : "", admin_key ? admin_key : "", admin_key ? ")" : "");
    printf("  In another shell:\n"
           "    export AWS_SHARED_CREDENTIALS_FILE=%s/credentials AWS_DEFAULT_REGION=%s\n"
           "    aws --endpoint-url http://%s:%d s3 mb s3://my-bucket\n"
           "    aws --endpoint-url http://%s:%d sagemaker list-experiments\n"
           "    ./build/lathe api ListExperiments --endpoint http://%s:%d\n"
           "  More keys: lathe keys create --data-dir %s\n\n",
           data_dir, o->region, o->host, port, o->host, port, o->host, port, data_dir);
    fflush(stdout);
    free(dir);
}

int lt_cli__cmd_server(int argc, char **argv)
{
    server_options o;
    if (parse_options(argc, argv, &o)) return 2;

    /* Block the stop signals before any thread starts, so that only sigwait sees them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    lt_err err = {0};
    lt_cli__data data;
    if (lt_cli__data_open(&data, o.data_dir, &err) != 0) {
        fprintf(stderr, "lathe server: %s\n", err.msg);
        return 1;
    }
    char *admin_key = NULL;
    lt_api *api = NULL;
    lt_s3 *s3 = NULL;
    lt_http_server *server = NULL;
    lt_executor *executor = NULL;
    char exe[4096];
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[exe_len > 0 ? exe_len : 0] = '\0';
    char *logs_root = lt_xasprintf("%s/logs", o.data_dir);
    int rc = lt_cli__ensure_admin_key(&data, o.region, &admin_key, &err);
    if (!rc) rc = lt_mkdir_p(logs_root, 0755, &err);
    if (!rc) rc = lt_executor_open(&executor, data.store, o.data_dir, exe, &err);
    lt_serve *serve = NULL;
    if (!rc) rc = lt_serve_open(&serve, data.store, data.blob, o.data_dir, o.account_id, &err);
    notify_targets targets = {executor, serve};
    lt_api_config api_cfg = {.region = o.region,
                             .account_id = o.account_id,
                             .on_job = notify,
                             .on_job_ctx = &targets};
    if (!rc) rc = lt_api_open(&api, data.store, data.blob, &api_cfg, &err);
    if (!rc) rc = lt_s3_open(&s3, data.blob, o.region, &err);
    if (!rc) {
        lt_http_config cfg = {
            .host = o.host,
            .port = (int)o.port,
            .threads = (int)o.threads,
            .body_limit_bytes = (size_t)o.body_limit_mb << 20,
            .api = api,
            .s3 = s3,
            .serve = serve,
            .key_lookup = lookup_key,
            .key_lookup_ctx = data.store,
            .logs_root = logs_root,
            .account_id = o.account_id,
            .shutdown_grace_s = shutdown_grace_s(),
        };
        rc = lt_http_server_start(&server, &cfg, &err);
    }
    if (rc) {
        fprintf(stderr, "lathe server: %s\n", err.msg);
    } else {
        print_banner(&o, lt_http_server_port(server), admin_key);
        lt_log_info("ready on %s:%d", o.host, lt_http_server_port(server));
        int sig = 0;
        sigwait(&stop_signals, &sig);
        lt_log_info("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    lt_http_server_stop(server);
    lt_executor_close(executor);
    lt_serve_close(serve);
    if (s3) lt_s3_close(s3);
    if (api) lt_api_close(api);
    lt_cli__data_close(&data);
    free(admin_key);
    free(logs_root);
    return rc ? 1 : 0;
}
