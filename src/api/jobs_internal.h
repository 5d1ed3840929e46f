/* Private to the api module: what the training and processing job families share —
 * checking the S3 locations a request names, resolving its image, and recording the job
 * together with its spec so the executor can start it. */
#ifndef LT_API_JOBS_INTERNAL_H
#define LT_API_JOBS_INTERNAL_H

#include "api/resource.h"

/* Hosts one job may run on this machine (InstanceCount). */
#define LT_API_MAX_HOSTS 64

/* LT_EINVAL "<member>: '<uri>' is not an S3 URI (s3://bucket/key)" when uri is malformed. */
int lt_api__check_s3_uri(const char *uri, const char *member, lt_err *err);

/* LT_EINVAL when nothing is stored under the prefix (or the manifest object is missing):
 * a job would otherwise start and fail on an empty channel. */
int lt_api__check_s3_data(lt_api_ctx *ctx, const char *uri, const char *data_type,
                          const char *what, lt_err *err);

/* Creates a resource and its spec ("<spec_kind>/<name>": {"Image": image}) in one
 * transaction and answers {"<Kind>Arn": arn}. Takes doc and image (decrefs both). */
int lt_api__spec_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *spec_kind,
                        const char *name, json_t *doc, json_t *image, const json_t *tags,
                        json_t **output, lt_err *err);

/* Creates the job resource and its spec ({"Image": image}) in one transaction, tells the
 * executor and answers {"<Kind>Arn": arn}. Takes doc and image (decrefs both). */
int lt_api__job_create(lt_api_ctx *ctx, const lt_api_kind *k, const char *job_kind,
                       const char *name, json_t *doc, json_t *image, const json_t *tags,
                       json_t **output, lt_err *err);

/* Stop{Training,Processing}Job: InProgress -> Stopping in one transaction, then tells the
 * executor (whose runner ends the job Stopped). LT_EINVAL for a job that has ended. */
int lt_api__job_stop(lt_api_ctx *ctx, const lt_api_kind *k, const char *job_kind,
                     const json_t *input, lt_err *err);

/* Tells the executor (when one listens) about a committed change. */
void lt_api__job_notify(lt_api_ctx *ctx, const char *job_kind, const char *name,
                        const char *action);

/* Appends {"Status", "StartTime", "StatusMessage"} to doc's SecondaryStatusTransitions,
 * closing the previous one's EndTime, and sets SecondaryStatus. */
void lt_api__secondary_status(json_t *doc, const char *status, const char *message,
                              int64_t now_ms);

extern const lt_api_kind lt_api__training_job_kind;
extern const lt_api_kind lt_api__processing_job_kind;
extern const lt_api_kind lt_api__model_kind;
extern const lt_api_kind lt_api__endpoint_config_kind;
extern const lt_api_kind lt_api__endpoint_kind;

#endif
