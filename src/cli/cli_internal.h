/* Private to the cli module: option parsing, the AWS shared-file reader, the signed
 * HTTP client and the commands. */
#ifndef LT_CLI_INTERNAL_H
#define LT_CLI_INTERNAL_H

#include "base/base.h"
#include "blob/blob.h"
#include "store/store.h"

#define LT_CLI_DEFAULT_DATA_DIR "./lathe-data"
#define LT_CLI_DEFAULT_ENDPOINT "http://127.0.0.1:8080"
#define LT_CLI_DEFAULT_REGION "us-east-1"
#define LT_CLI_DEFAULT_ACCOUNT "000000000000"

/* Finds `--name value` or `--name=value` in argv[first..]; NULL when absent. Marks the
 * consumed slots in used[] (argc entries) so leftovers can be reported. */
const char *lt_cli__option(int argc, char **argv, bool *used, const char *name);
bool lt_cli__flag(int argc, char **argv, bool *used, const char *name);
/* The first argv[first..] slot not consumed that is not an option (marked consumed), or
 * NULL. Call after the options are taken, so their values are not mistaken for it. */
const char *lt_cli__positional(int argc, char **argv, bool *used, int first);
/* Reports the first argv slot not consumed; returns 0 if none. */
int lt_cli__reject_unused(int argc, char **argv, const bool *used, int first);

/* Reads `key` of `[section]` from an AWS-style INI file (credentials or config; the
 * config file's "profile NAME" sections are matched too). Returns a new string or NULL. */
char *lt_cli__ini_get(const char *path, const char *section, const char *key);

typedef struct lt_cli__client {
    char *endpoint;   /* "http://host:port" without trailing slash */
    char *region;
    char *access_key;
    char *secret_key;
    char *session_token; /* may be NULL */
} lt_cli__client;

/* Resolves the endpoint (--endpoint, LATHE_ENDPOINT, ~/.lathe/config, default), region
 * (--region, AWS_REGION, AWS_DEFAULT_REGION, default) and credentials the way the AWS CLI
 * does (environment, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials with AWS_PROFILE),
 * then the local data directory's credentials file. */
int lt_cli__client_init(lt_cli__client *client, const char *endpoint_opt, const char *region_opt,
                        const char *profile_opt, const char *data_dir, lt_err *err);
void lt_cli__client_free(lt_cli__client *client);

/* Sends one signed control-plane call; *status gets the HTTP status and body the answer. */
int lt_cli__call(const lt_cli__client *client, const char *operation, const char *json_body,
                 long *status, lt_buf *body, lt_err *err);
/* The same for any awsJson 1.1 target ("Logs_20140328.GetLogEvents"), signed for service
 * ("logs"). */
int lt_cli__call_target(const lt_cli__client *client, const char *service, const char *target,
                        const char *json_body, long *status, lt_buf *body, lt_err *err);

/* One signed S3 request (path-style) with the body read from file_path (may be NULL). */
int lt_cli__s3_request(const lt_cli__client *client, const char *method, const char *bucket,
                       const char *key, const char *file_path, long *status, lt_buf *body,
                       lt_err *err);

/* Calls one awsJson target with `in` (consumed); *out gets the answer object. An error
 * answer is LT_ENOTFOUND for ResourceNotFound*, else LT_EIO, with the server's message. */
int lt_cli__call_json(const lt_cli__client *client, const char *service, const char *target,
                      json_t *in, json_t **out, lt_err *err);
/* Prints a job's log as it is written until the job ends; 1 when it Failed, else 0. */
int lt_cli__follow_job_logs(const lt_cli__client *client, const char *job, bool processing);

/* One signed InvokeEndpoint (sagemaker-runtime): *status and answer get the reply. accept,
 * variant (TargetVariant) and target_model (TargetModel) may be NULL. */
int lt_cli__invoke_endpoint(const lt_cli__client *client, const char *endpoint,
                            const char *content_type, const char *accept, const char *variant,
                            const char *target_model, const char *body, size_t len,
                            long *status, lt_buf *answer, lt_err *err);

/* The data directory's files. */
char *lt_cli__credentials_path(const char *data_dir);

/* An opened data directory: DIR/lathe.db (metadata) and DIR/objects (object store). */
typedef struct lt_cli__data {
    lt_store *store;
    lt_blob *blob;
    char *dir;
} lt_cli__data;

int lt_cli__data_open(lt_cli__data *data, const char *dir, lt_err *err);
void lt_cli__data_close(lt_cli__data *data);
/* On first start (no DIR/credentials), issues an admin key and writes DIR/credentials
 * (mode 0600, AWS shared-credentials format) and DIR/config (region). *admin_key gets the
 * key id of the credentials file's default profile (caller frees) or NULL. */
int lt_cli__ensure_admin_key(lt_cli__data *data, const char *region, char **admin_key,
                             lt_err *err);
/* Issues a new key pair into the store; access_key holds 21 bytes, secret 41. */
int lt_cli__key_new(lt_store *store, const char *description, bool is_admin, char *access_key,
                    char *secret, lt_err *err);
/* The secret of an access key, for the server's SigV4 check. */
int lt_cli__key_secret(lt_store *store, const char *access_key, char *secret, size_t cap,
                       lt_err *err);

/* `lathe tune run`: what the runner needs (tune_runner.c). */
struct lt_tune;
struct lt_tune_space;
typedef struct lt_cli__tune_run {
    struct lt_tune *tune;
    const struct lt_tune_space *space;
    char **argv; /* COMMAND and its arguments, argc of them */
    int argc;
    int n_trials, parallel;
    bool use_env;
    bool intermediate; /* report intermediate values (Hyperband, early stopping) */
    void *regex;       /* pcre2_code * or NULL */
    bool tty;          /* draw the live table */
    /* results */
    int launched, done, rows;
    bool interrupted;
} lt_cli__tune_run;
/* Runs the trials; 0 unless the runner itself failed (a trial failing is not an error). */
int lt_cli__tune_run_trials(lt_cli__tune_run *run, lt_err *err);
int lt_cli__cmd_tune(int argc, char **argv);

int lt_cli__cmd_server(int argc, char **argv);
int lt_cli__cmd_keys(int argc, char **argv);
int lt_cli__cmd_api(int argc, char **argv);
int lt_cli__cmd_algo(int argc, char **argv);
int lt_cli__cmd_job(int argc, char **argv);
int lt_cli__cmd_algo_container(int argc, char **argv);
/* Trains a built-in algorithm from files into model_dir (what `lathe algo train` does);
 * validation and test may be NULL. */
int lt_cli__algo_train(const char *name, const char *train, const char *validation,
                       const char *test, const char *content_type, const char *model_dir,
                       json_t *hp, lt_err *err);
int lt_cli__cmd_admin(int argc, char **argv);
int lt_cli__cmd_image(int argc, char **argv);
int lt_cli__cmd_logs(int argc, char **argv);
int lt_cli__cmd_train(int argc, char **argv);
int lt_cli__cmd_jobs(int argc, char **argv);
int lt_cli__cmd_stop(int argc, char **argv);
int lt_cli__cmd_deploy(int argc, char **argv);
int lt_cli__cmd_tune_job(int argc, char **argv);
int lt_cli__cmd_transform(int argc, char **argv);
/* doc_store.c: a stored document changed by fn in one transaction (LastModifiedTime
 * stamped; the status column from status_member and the parent column set when given).
 * Reading one is lt_store_resource_doc. */
typedef void (*lt_cli__doc_fn)(json_t *doc, void *ctx);
int lt_cli__doc_update(lt_store *store, const char *kind, const char *name, const char *parent,
                       const char *status_member, lt_cli__doc_fn fn, void *ctx, lt_err *err);

/* A YAML document (text, len bytes) as the JSON object the same request would be, for
 * `lathe tune create` (yaml.c: the subset and the scalar rules). `source` names the input in
 * messages. LT_EINVAL with "SOURCE:LINE:COLUMN: why" on bad YAML, a construct outside the
 * subset, or a document that is not a mapping. *out is a new reference. */
int lt_cli__yaml_to_json(const char *text, size_t len, const char *source, json_t **out,
                         lt_err *err);

/* The body of `lathe job run tuning NAME` (tuning_runner.c). */
int lt_cli__tuning_run(lt_cli__data *data, const char *name, lt_err *err);
/* The body of `lathe job run transform NAME` (transform_runner.c). */
int lt_cli__transform_run(lt_cli__data *data, const char *name, lt_err *err);
int lt_cli__cmd_predict(int argc, char **argv);
int lt_cli__cmd_endpoints(int argc, char **argv);

#endif
