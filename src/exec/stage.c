/* Moving data between the object store and the hosts' /opt/ml: input channels in File and
 * FastFile modes (and the object lists Pipe mode streams), the script-mode source tarball,
 * and the outputs (model.tar.gz, output.tar.gz, processing outputs). */
#include "exec/job_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct object_list {
    char **keys;
    char *bucket;
    size_t n, cap;
} object_list;

static void object_list_free(object_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->keys[i]);
    free(l->keys);
    free(l->bucket);
    memset(l, 0, sizeof *l);
}

static int collect(void *ctx, const lt_blob_object *obj, lt_err *err)
{
    (void)err;
    object_list *l = ctx;
    if (lt_str_ends_with(obj->key, "/")) return 0; /* a "folder" marker, not data */
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->keys = lt_xrealloc(l->keys, l->cap * sizeof *l->keys);
    }
    l->keys[l->n++] = lt_xstrdup(obj->key);
    return 0;
}

int lt_exec__copy_object(lt_exec_job *job, const char *bucket, const char *key, const char *path,
                       lt_err *err)
{
    int in = -1;
    lt_blob_object obj = {0};
    int rc = lt_blob_object_open(job->blob, bucket, key, &in, &obj, err);
    lt_blob_object_clear(&obj);
    if (rc) return rc;
    char *parent = lt_xstrdup(path);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = '\0';
    rc = lt_mkdir_p(parent, 0755, err);
    free(parent);
    int out = rc ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!rc && out < 0) rc = lt_err_set(err, LT_EIO, "cannot create %s: %s", path, strerror(errno));
    while (!rc) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0) break;
        if (n > 0) continue;
        if (errno == EINTR) continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
            rc = lt_err_set(err, LT_EIO, "copying s3://%s/%s to %s: %s", bucket, key, path,
                            strerror(errno));
            break;
        }
        /* A file system without copy_file_range: plain reads and writes. */
        char buf[1 << 16];
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)r) != r) {
                r = -1;
                break;
            }
        if (r < 0) rc = lt_err_set(err, LT_EIO, "copying to %s: %s", path, strerror(errno));
        break;
    }
    if (out >= 0) close(out);
    close(in);
    return rc;
}

/* Where an object lands below the channel directory. With the prefix "data/train", the
 * key "data/train/a.csv" is "a.csv" (the prefix named a folder) and "data/train2/b.csv" is
 * "train2/b.csv" (the key minus the prefix's directory part). */
static const char *relative_key(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 0) return key;
    const char *rel = key + n;
    if (*rel == '/') return rel + 1;
    if (prefix[n - 1] == '/') return rel;
    const char *slash = strrchr(prefix, '/');
    return key + (slash ? (size_t)(slash - prefix + 1) : 0);
}

/* The objects a channel names: a prefix's objects, or a manifest's list. base gets the
 * key prefix for relative_key. */
static int channel_objects(lt_exec_job *job, const char *uri, const char *data_type,
                           object_list *l, char **base, lt_err *err)
{
    char *key = NULL;
    int rc = lt_blob_uri_parse(uri, &l->bucket, &key, err);
    if (rc) return rc;
    if (!data_type || strcmp(data_type, "S3Prefix") == 0) {
        rc = lt_blob_uri_list(job->blob, uri, collect, l, err);
        *base = key;
        return rc;
    }
    /* ManifestFile: [{"prefix": "s3://bucket/base/"}, "rel/key1", ...] */
    lt_buf buf;
    lt_buf_init(&buf, 64u << 20);
    rc = lt_blob_uri_get_bytes(job->blob, uri, &buf, err);
    json_t *manifest = NULL;
    if (!rc && lt_json_parse(buf.data, buf.len, &manifest, NULL) != 0)
        rc = lt_err_set(err, LT_EINVAL, "the manifest %s is not JSON", uri);
    const char *prefix = rc ? NULL : lt_json_str(json_array_get(manifest, 0), "prefix");
    if (!rc && (!json_is_array(manifest) || !prefix))
        rc = lt_err_set(err, LT_EINVAL,
                        "the manifest %s must be a JSON array starting with {\"prefix\": "
                        "\"s3://bucket/...\"}",
                        uri);
    char *pkey = NULL;
    if (!rc) {
        free(l->bucket);
        l->bucket = NULL;
        rc = lt_blob_uri_parse(prefix, &l->bucket, &pkey, err);
    }
    for (size_t i = 1; !rc && i < json_array_size(manifest); i++) {
        const char *rel = json_string_value(json_array_get(manifest, i));
        if (!rel || !lt_path_rel_safe(rel)) {
            rc = lt_err_set(err, LT_EINVAL, "the manifest %s: entry %zu is not a relative key",
                            uri, i);
            break;
        }
        lt_blob_object obj = {.key = lt_xasprintf("%s%s", pkey, rel)};
        collect(l, &obj, err);
        free(obj.key);
    }
    if (!rc) *base = lt_xstrdup(pkey);
    free(pkey);
    json_decref(manifest);
    lt_buf_free(&buf);
    free(key);
    return rc;
}

int lt_exec__download_prefix(lt_exec_job *job, const char *uri, const char *dir, int shard,
                             int n_shards, lt_err *err)
{
    object_list l = {0};
    char *base = NULL;
    int rc = channel_objects(job, uri, "S3Prefix", &l, &base, err);
    if (!rc) rc = lt_mkdir_p(dir, 0755, err);
    for (size_t i = 0; !rc && i < l.n; i++) {
        if (n_shards > 1 && (int)(i % (size_t)n_shards) != shard) continue;
        const char *rel = relative_key(l.keys[i], base);
        if (!lt_path_rel_safe(rel)) continue;
        char *path = lt_xasprintf("%s/%s", dir, rel);
        rc = lt_exec__copy_object(job, l.bucket, l.keys[i], path, err);
        free(path);
    }
    free(base);
    object_list_free(&l);
    return rc;
}

static const char *channel_mode(const lt_exec_job *job, const json_t *ch)
{
    const char *mode = lt_json_str(ch, "InputMode");
    if (!mode)
        mode = lt_json_str(json_object_get(job->doc, "AlgorithmSpecification"), "TrainingInputMode");
    return mode ? mode : "File";
}

static int stage_channel(lt_exec_job *job, const json_t *ch, lt_err *err)
{
    const char *name = lt_json_str(ch, "ChannelName");
    json_t *s3 = json_object_get(json_object_get(ch, "DataSource"), "S3DataSource");
    const char *uri = lt_json_str(s3, "S3Uri");
    const char *dist = lt_json_str(s3, "S3DataDistributionType");
    bool sharded = dist && strcmp(dist, "ShardedByS3Key") == 0;
    const char *mode = channel_mode(job, ch);
    if (strcmp(mode, "Pipe") == 0) {
        int rc = 0;
        for (int i = 0; i < job->n_hosts && !rc; i++) {
            char *fifo = lt_xasprintf("%s/input/data/%s", job->hosts[i].dir, name);
            rc = lt_exec__feeder_start(job, &job->hosts[i], ch, fifo, err);
            free(fifo);
        }
        return rc;
    }
    /* File, and FastFile staged the same way (copied before the program starts). */
    object_list l = {0};
    char *base = NULL;
    int rc = channel_objects(job, uri, lt_json_str(s3, "S3DataType"), &l, &base, err);
    for (int h = 0; h < job->n_hosts && !rc; h++) {
        char *dir = lt_xasprintf("%s/input/data/%s", job->hosts[h].dir, name);
        rc = lt_mkdir_p(dir, 0755, err);
        for (size_t i = 0; !rc && i < l.n; i++) {
            if (sharded && (int)(i % (size_t)job->n_hosts) != h) continue;
            const char *rel = relative_key(l.keys[i], base);
            if (!lt_path_rel_safe(rel)) continue;
            char *path = lt_xasprintf("%s/%s", dir, rel);
            rc = lt_exec__copy_object(job, l.bucket, l.keys[i], path, err);
            free(path);
        }
        free(dir);
    }
    if (!rc && l.n == 0)
        rc = lt_err_set(err, LT_EINVAL, "ClientError: no S3 objects found under S3 URL '%s' "
                                        "given in input data source '%s'.", uri, name);
    if (rc && err->code && !lt_str_starts_with(err->msg, "ClientError"))
        lt_log_warn("job %s: channel %s: %s", job->name, name, err->msg);
    free(base);
    object_list_free(&l);
    return rc;
}

/* Script mode: sagemaker_submit_directory's tarball unpacked into each host's code dir. */
static int stage_code(lt_exec_job *job, lt_err *err)
{
    char *uri = lt_exec__hp_decoded(json_object_get(job->doc, "HyperParameters"),
                                    "sagemaker_submit_directory");
    if (!uri || !lt_str_starts_with(uri, "s3://")) {
        free(uri);
        return 0;
    }
    char *tarball = lt_xasprintf("%s/sourcedir.tar.gz", job->dir);
    char *bucket = NULL, *key = NULL;
    int rc = lt_blob_uri_parse(uri, &bucket, &key, err);
    if (!rc) rc = lt_exec__copy_object(job, bucket, key, tarball, err);
    free(bucket);
    free(key);
    for (int i = 0; i < job->n_hosts && !rc; i++) {
        char *code = lt_xasprintf("%s/code", job->hosts[i].dir);
        rc = lt_blob_unpack(tarball, code, err);
        free(code);
    }
    if (rc && !lt_str_starts_with(err->msg, "ClientError"))
        lt_err_set(err, rc, "ClientError: the source tarball %s", uri);
    unlink(tarball);
    free(tarball);
    free(uri);
    return rc;
}

static int stage_processing_inputs(lt_exec_job *job, lt_err *err)
{
    size_t i;
    json_t *in;
    int rc = 0;
    json_array_foreach(json_object_get(job->doc, "ProcessingInputs"), i, in) {
        json_t *s3 = json_object_get(in, "S3Input");
        const char *local = lt_json_str(s3, "LocalPath");
        const char *dist = lt_json_str(s3, "S3DataDistributionType");
        bool sharded = dist && strcmp(dist, "ShardedByS3Key") == 0;
        for (int h = 0; h < job->n_hosts && !rc; h++) {
            char *dir = lt_xasprintf("%s%s", job->hosts[h].dir, local + strlen("/opt/ml"));
            rc = lt_exec__download_prefix(job, lt_json_str(s3, "S3Uri"), dir,
                                          sharded ? h : 0, sharded ? job->n_hosts : 1, err);
            free(dir);
        }
        if (rc) break;
    }
    return rc;
}

int lt_exec__stage_inputs(lt_exec_job *job, lt_err *err)
{
    if (!job->training) return stage_processing_inputs(job, err);
    int rc = stage_code(job, err);
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(job->doc, "InputDataConfig"), i, ch) {
        if (rc) break;
        rc = stage_channel(job, ch, err);
    }
    return rc;
}

/* ---- uploads ---------------------------------------------------------------------- */

static char *join_uri(const char *prefix, const char *rel)
{
    size_t n = strlen(prefix);
    return lt_xasprintf("%s%s%s", prefix, n && prefix[n - 1] == '/' ? "" : "/", rel);
}

typedef struct walk_ctx {
    lt_exec_job *job;
    const char *root;
    const char *uri_prefix;
    json_t *seen;
} walk_ctx;

static int walk(walk_ctx *w, const char *rel, lt_err *err)
{
    char *dir = *rel ? lt_xasprintf("%s/%s", w->root, rel) : lt_xstrdup(w->root);
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return errno == ENOENT ? 0 : lt_err_set(err, LT_EIO, "cannot read %s", w->root);
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *child_rel = *rel ? lt_xasprintf("%s/%s", rel, e->d_name) : lt_xstrdup(e->d_name);
        char *path = lt_xasprintf("%s/%s", w->root, child_rel);
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                rc = walk(w, child_rel, err);
            } else if (S_ISREG(st.st_mode)) {
                char stamp[64];
                snprintf(stamp, sizeof stamp, "%lld:%lld.%ld", (long long)st.st_size,
                         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
                const char *before = w->seen ? lt_json_str(w->seen, child_rel) : NULL;
                if (!before || strcmp(before, stamp) != 0) {
                    char *uri = join_uri(w->uri_prefix, child_rel);
                    rc = lt_blob_uri_put_file(w->job->blob, uri, path, NULL, err);
                    if (!rc && w->seen) json_object_set_new(w->seen, child_rel, json_string(stamp));
                    free(uri);
                }
            }
        }
        free(path);
        free(child_rel);
    }
    closedir(d);
    free(dir);
    return rc;
}

int lt_exec__upload_tree(lt_exec_job *job, const char *dir, const char *uri_prefix,
                         json_t *seen, lt_err *err)
{
    walk_ctx w = {job, dir, uri_prefix, seen};
    return walk(&w, "", err);
}

static bool dir_has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d)))
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

static int pack_and_put(lt_exec_job *job, const char *dir, const char *name, const char *uri,
                        lt_err *err)
{
    char *tarball = lt_xasprintf("%s/%s", job->dir, name);
    int rc = lt_blob_pack_dir(dir, tarball, err);
    if (!rc) rc = lt_blob_uri_put_file(job->blob, uri, tarball, NULL, err);
    unlink(tarball);
    free(tarball);
    return rc;
}

static int upload_training(lt_exec_job *job, char **model_uri, lt_err *err)
{
    json_t *out = json_object_get(job->doc, "OutputDataConfig");
    char *base = join_uri(lt_json_str(out, "S3OutputPath"), job->name);
    const char *compression = lt_json_str(out, "CompressionType");
    /* The model of the first host: in distributed training the others write none (or the
     * same), as with SageMaker's own containers. */
    const lt_exec_host *h = &job->hosts[0];
    char *model_dir = lt_xasprintf("%s/model", h->dir);
    char *data_dir = lt_xasprintf("%s/output/data", h->dir);
    int rc;
    if (compression && strcmp(compression, "NONE") == 0) {
        *model_uri = lt_xasprintf("%s/output/model/", base);
        rc = lt_exec__upload_tree(job, model_dir, *model_uri, NULL, err);
    } else {
        *model_uri = lt_xasprintf("%s/output/model.tar.gz", base);
        rc = pack_and_put(job, model_dir, "model.tar.gz", *model_uri, err);
    }
    if (!rc && dir_has_entries(data_dir)) {
        char *uri = lt_xasprintf("%s/output/output.tar.gz", base);
        rc = pack_and_put(job, data_dir, "output.tar.gz", uri, err);
        free(uri);
    }
    free(data_dir);
    free(model_dir);
    free(base);
    return rc;
}

static int upload_processing(lt_exec_job *job, lt_err *err)
{
    size_t i;
    json_t *o;
    int rc = 0;
    json_array_foreach(json_object_get(json_object_get(job->doc, "ProcessingOutputConfig"), "Outputs"),
                       i, o) {
        json_t *s3 = json_object_get(o, "S3Output");
        for (int h = 0; h < job->n_hosts && !rc; h++) {
            char *dir = lt_xasprintf("%s%s", job->hosts[h].dir,
                                     lt_json_str(s3, "LocalPath") + strlen("/opt/ml"));
            rc = lt_exec__upload_tree(job, dir, lt_json_str(s3, "S3Uri"), NULL, err);
            free(dir);
        }
        if (rc) break;
    }
    return rc;
}

int lt_exec__upload_outputs(lt_exec_job *job, char **model_uri, lt_err *err)
{
    *model_uri = NULL;
    return job->training ? upload_training(job, model_uri, err) : upload_processing(job, err);
}
