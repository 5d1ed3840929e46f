/* CheckpointConfig: everything under S3Uri is copied into each host's checkpoint directory
 * before the program starts, and new or changed files there are uploaded while it runs
 * (every two seconds), at a stop and at a spot interruption — so a restarted job resumes
 * from the newest checkpoint. Deletions are not propagated (as with SageMaker). */
#include "exec/job_internal.h"

#include <stdlib.h>
#include <string.h>

const char *lt_exec__checkpoint_uri(const lt_exec_job *job)
{
    return lt_json_str(json_object_get(job->doc, "CheckpointConfig"), "S3Uri");
}

/* The host directory behind CheckpointConfig.LocalPath (default /opt/ml/checkpoints). */
static char *local_dir(const lt_exec_job *job, const lt_exec_host *h)
{
    const char *local = lt_json_str(json_object_get(job->doc, "CheckpointConfig"), "LocalPath");
    if (!local || !lt_str_starts_with(local, "/opt/ml/")) local = "/opt/ml/checkpoints";
    return lt_xasprintf("%s%s", h->dir, local + strlen("/opt/ml"));
}

int lt_exec__checkpoint_restore(lt_exec_job *job, lt_err *err)
{
    const char *uri = lt_exec__checkpoint_uri(job);
    if (!uri) return 0;
    if (!job->checkpoint_seen) job->checkpoint_seen = json_object();
    int rc = 0;
    char *prefix = lt_xasprintf("%s%s", uri, lt_str_ends_with(uri, "/") ? "" : "/");
    for (int i = 0; i < job->n_hosts && !rc; i++) {
        char *dir = local_dir(job, &job->hosts[i]);
        rc = lt_exec__download_prefix(job, prefix, dir, 0, 1, err);
        free(dir);
    }
    free(prefix);
    return rc;
}

int lt_exec__checkpoint_sync(lt_exec_job *job, lt_err *err)
{
    const char *uri = lt_exec__checkpoint_uri(job);
    if (!uri) return 0;
    if (!job->checkpoint_seen) job->checkpoint_seen = json_object();
    int rc = 0;
    for (int i = 0; i < job->n_hosts && !rc; i++) {
        char *dir = local_dir(job, &job->hosts[i]);
        rc = lt_exec__upload_tree(job, dir, uri, job->checkpoint_seen, err);
        free(dir);
    }
    return rc;
}
