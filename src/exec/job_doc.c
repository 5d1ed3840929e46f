/* The job document: read-modify-write in one store transaction, so the runner's changes
 * and StopTrainingJob's never overwrite each other. */
#include "exec/job_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *status_member(const lt_exec_job *job)
{
    return job->training ? "TrainingJobStatus" : "ProcessingJobStatus";
}

const char *lt_exec__status(const lt_exec_job *job)
{
    return lt_json_str(job->doc, status_member(job));
}

static int load(lt_exec_job *job, lt_store_resource *res, json_t **doc, lt_err *err)
{
    int rc = lt_store_resource_get(job->store, job->store_kind, job->name, res, err);
    if (rc) return rc;
    if (lt_json_parse(res->doc, strlen(res->doc), doc, err) != 0) {
        lt_store_resource_clear(res);
        return lt_err_set(err, LT_EINTERNAL, "the stored document of job '%s' is corrupt",
                          job->name);
    }
    return 0;
}

int lt_exec__doc_refresh(lt_exec_job *job, lt_err *err)
{
    lt_store_resource res = {0};
    json_t *doc = NULL;
    int rc = load(job, &res, &doc, err);
    lt_store_resource_clear(&res);
    if (rc) return rc;
    json_decref(job->doc);
    job->doc = doc;
    return 0;
}

static int update_in_txn(lt_exec_job *job, lt_exec_doc_fn fn, void *ctx, lt_err *err)
{
    lt_store_resource res = {0};
    json_t *doc = NULL;
    int rc = load(job, &res, &doc, err);
    if (!rc) rc = fn(job, doc, ctx, err);
    if (!rc) {
        int64_t now = lt_now_ms();
        json_object_set_new(doc, "LastModifiedTime", lt_json_epoch_ms(now));
        char *text = lt_json_dump(doc);
        free(res.doc);
        res.doc = text;
        free(res.status);
        res.status = lt_xstrdup(lt_json_str(doc, status_member(job)));
        res.modified_ms = now;
        rc = lt_store_resource_update(job->store, &res, err);
    }
    lt_store_resource_clear(&res);
    if (!rc) {
        json_decref(job->doc);
        job->doc = doc;
    } else {
        json_decref(doc);
    }
    return rc;
}

int lt_exec__doc_update(lt_exec_job *job, lt_exec_doc_fn fn, void *ctx, lt_err *err)
{
    int rc = lt_store_txn_begin(job->store, err);
    if (rc) return rc;
    return lt_store_txn_end(job->store, update_in_txn(job, fn, ctx, err), err);
}

void lt_exec__secondary(lt_exec_job *job, json_t *doc, const char *status, const char *message)
{
    if (!job->training) return;
    int64_t now = lt_now_ms();
    json_t *list = json_object_get(doc, "SecondaryStatusTransitions");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(doc, "SecondaryStatusTransitions", list);
    }
    size_t n = json_array_size(list);
    if (n > 0) {
        json_t *last = json_array_get(list, n - 1);
        if (!json_object_get(last, "EndTime"))
            json_object_set_new(last, "EndTime", lt_json_epoch_ms(now));
    }
    json_array_append_new(list, json_pack("{s:s, s:o, s:s}", "Status", status, "StartTime",
                                          lt_json_epoch_ms(now), "StatusMessage", message));
    json_object_set_new(doc, "SecondaryStatus", json_string(status));
}

typedef struct finish_args {
    const char *status, *secondary, *message, *failure;
} finish_args;

static int apply_finish(lt_exec_job *job, json_t *doc, void *ctx, lt_err *err)
{
    (void)err;
    const finish_args *a = ctx;
    int64_t now = lt_now_ms();
    json_object_set_new(doc, status_member(job), json_string(a->status));
    if (a->failure) {
        /* SageMaker truncates FailureReason to 1024 characters. */
        char cut[1025];
        snprintf(cut, sizeof cut, "%s", a->failure);
        json_object_set_new(doc, "FailureReason", json_string(cut));
    }
    if (job->training) {
        if (a->secondary) lt_exec__secondary(job, doc, a->secondary, a->message ? a->message : "");
        json_t *list = json_object_get(doc, "SecondaryStatusTransitions");
        json_t *last = json_array_get(list, json_array_size(list) - 1);
        if (last && !json_object_get(last, "EndTime"))
            json_object_set_new(last, "EndTime", lt_json_epoch_ms(now));
        if (job->first_training_ms) {
            json_object_set_new(doc, "TrainingEndTime", lt_json_epoch_ms(now));
            json_object_set_new(doc, "TrainingTimeInSeconds",
                                json_integer((now - job->first_training_ms + 999) / 1000));
            json_object_set_new(doc, "BillableTimeInSeconds",
                                json_integer((job->billable_ms + 999) / 1000));
        }
    } else {
        json_object_set_new(doc, "ProcessingEndTime", lt_json_epoch_ms(now));
        if (a->message && strcmp(a->status, "Completed") == 0)
            json_object_set_new(doc, "ExitMessage", json_string(a->message));
    }
    if (json_object_size(job->final_metrics) > 0) {
        json_t *list = json_array();
        const char *key;
        json_t *point;
        json_object_foreach(job->final_metrics, key, point) json_array_append(list, point);
        json_object_set_new(doc, "FinalMetricDataList", list);
    }
    return 0;
}

int lt_exec__finish(lt_exec_job *job, const char *status, const char *secondary,
                    const char *message, const char *failure, lt_err *err)
{
    finish_args a = {status, secondary, message, failure};
    return lt_exec__doc_update(job, apply_finish, &a, err);
}
