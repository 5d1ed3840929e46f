/* "s3://bucket/key" helpers for the other modules (training channels, model artifacts,
 * endpoint model loading). Built only on the public blob API, so they work with any
 * back end. */
#include "blob/blob_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { CHUNK_BYTES = 1 << 20 };

int lt_blob_uri_parse(const char *uri, char **bucket, char **key, lt_err *err)
{
    *bucket = *key = NULL;
    if (!uri || !lt_str_starts_with(uri, "s3://"))
        return lt_err_set(err, LT_EINVAL, "'%.200s' is not an s3:// URI", uri ? uri : "");
    const char *b = uri + 5;
    const char *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen == 0 || blen > LT_BLOB_BUCKET_MAX)
        return lt_err_set(err, LT_EINVAL, "'%.200s' does not name a bucket", uri);
    *bucket = lt_xstrndup(b, blen);
    *key = lt_xstrdup(slash ? slash + 1 : "");
    return 0;
}

/* Parses a URI that must name an object (non-empty key). */
static int parse_object(const char *uri, char **bucket, char **key, lt_err *err)
{
    int rc = lt_blob_uri_parse(uri, bucket, key, err);
    if (!rc && !**key)
        rc = lt_err_set(err, LT_EINVAL, "'%.200s' names a bucket, not an object", uri);
    if (rc) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
    }
    return rc;
}

int lt_blob_uri_put_file(lt_blob *blob, const char *uri, const char *path, lt_blob_object *out,
                         lt_err *err)
{
    char *bucket, *key;
    int rc = parse_object(uri, &bucket, &key, err);
    if (rc) return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = lt_err_set(err, errno == ENOENT ? LT_ENOTFOUND : LT_EIO, "cannot open %s: %s", path,
                        strerror(errno));
    } else {
        lt_blob_writer *w = NULL;
        rc = lt_blob_writer_open(blob, bucket, key, NULL, &w, err);
        char *buf = rc ? NULL : lt_xmalloc(CHUNK_BYTES);
        while (!rc) {
            ssize_t n = read(fd, buf, CHUNK_BYTES);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) rc = lt_err_set(err, LT_EIO, "read of %s failed: %s", path, strerror(errno));
            if (n <= 0) break;
            rc = lt_blob_writer_write(w, buf, (size_t)n, err);
        }
        free(buf);
        if (!rc)
            rc = lt_blob_writer_commit(w, out, err);
        else
            lt_blob_writer_abort(w);
        close(fd);
    }
    free(bucket);
    free(key);
    return rc;
}

static int copy_fd(int in, int out, uint64_t len, const char *path, lt_err *err)
{
    loff_t in_off = 0;
    while (len > 0) {
        ssize_t n = copy_file_range(in, &in_off, out, NULL, len > (1u << 30) ? (1u << 30) : len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && in_off == 0) break; /* not supported here: plain reads and writes */
        if (n <= 0)
            return lt_err_set(err, LT_EIO, "copy to %s failed: %s", path,
                              n ? strerror(errno) : "short object");
        len -= (uint64_t)n;
    }
    if (len == 0) return 0;
    char *buf = lt_xmalloc(CHUNK_BYTES);
    int rc = 0;
    while (!rc && len > 0) {
        ssize_t n = pread(in, buf, len > CHUNK_BYTES ? CHUNK_BYTES : (size_t)len, in_off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = lt_err_set(err, LT_EIO, "read of the object failed: %s",
                            n ? strerror(errno) : "short object");
            break;
        }
        for (ssize_t done = 0; !rc && done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0)
                rc = lt_err_set(err, LT_EIO, "write to %s failed: %s", path, strerror(errno));
            else
                done += w;
        }
        in_off += n;
        len -= (uint64_t)n;
    }
    free(buf);
    return rc;
}

int lt_blob_uri_get_file(lt_blob *blob, const char *uri, const char *path, lt_err *err)
{
    char *bucket, *key;
    int rc = parse_object(uri, &bucket, &key, err);
    if (rc) return rc;
    int in = -1;
    lt_blob_object obj = {0};
    rc = lt_blob_object_open(blob, bucket, key, &in, &obj, err);
    char token[17];
    lt_random_token(token, 16, false);
    char *tmp = lt_xasprintf("%s.tmp.%s", path, token);
    int out = -1;
    if (!rc) {
        out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0) rc = lt_err_set(err, LT_EIO, "cannot create %s: %s", tmp, strerror(errno));
    }
    if (!rc) rc = copy_fd(in, out, obj.size, tmp, err);
    if (!rc && fsync(out) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot sync %s: %s", tmp, strerror(errno));
    if (out >= 0) close(out);
    if (!rc && rename(tmp, path) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (!rc) {
        char *dir = lt_xstrdup(path);
        rc = lt_fsync_dir(dirname(dir), err);
        free(dir);
    } else if (out >= 0) {
        unlink(tmp);
    }
    if (in >= 0) close(in);
    lt_blob_object_clear(&obj);
    free(tmp);
    free(bucket);
    free(key);
    return rc;
}

int lt_blob_uri_put_bytes(lt_blob *blob, const char *uri, const void *data, size_t len,
                          const char *content_type, lt_err *err)
{
    char *bucket, *key;
    int rc = parse_object(uri, &bucket, &key, err);
    if (rc) return rc;
    lt_blob_put_opts opts = {.content_type = content_type};
    lt_blob_writer *w = NULL;
    rc = lt_blob_writer_open(blob, bucket, key, &opts, &w, err);
    if (!rc) rc = lt_blob_writer_write(w, data, len, err);
    if (!rc)
        rc = lt_blob_writer_commit(w, NULL, err);
    else
        lt_blob_writer_abort(w);
    free(bucket);
    free(key);
    return rc;
}

int lt_blob_uri_get_bytes(lt_blob *blob, const char *uri, lt_buf *out, lt_err *err)
{
    char *bucket, *key;
    int rc = parse_object(uri, &bucket, &key, err);
    if (rc) return rc;
    int fd = -1;
    lt_blob_object obj = {0};
    rc = lt_blob_object_open(blob, bucket, key, &fd, &obj, err);
    if (!rc && (obj.size > out->max || out->len > out->max - obj.size))
        rc = lt_err_set(err, LT_ELIMIT, "%s is %llu bytes; the limit here is %zu", uri,
                        (unsigned long long)obj.size, out->max);
    if (!rc) rc = lt_buf_append(out, "", 0, err);
    char *buf = rc ? NULL : lt_xmalloc(CHUNK_BYTES);
    for (uint64_t off = 0; !rc && off < obj.size;) {
        uint64_t want = obj.size - off;
        ssize_t n = pread(fd, buf, want > CHUNK_BYTES ? CHUNK_BYTES : (size_t)want, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = lt_err_set(err, LT_EIO, "read of %s failed: %s", uri,
                            n ? strerror(errno) : "short object");
            break;
        }
        rc = lt_buf_append(out, buf, (size_t)n, err);
        off += (uint64_t)n;
    }
    free(buf);
    if (fd >= 0) close(fd);
    lt_blob_object_clear(&obj);
    free(bucket);
    free(key);
    return rc;
}

int lt_blob_uri_list(lt_blob *blob, const char *uri_prefix, lt_blob_visit_fn fn, void *ctx,
                     lt_err *err)
{
    char *bucket, *prefix;
    int rc = lt_blob_uri_parse(uri_prefix, &bucket, &prefix, err);
    if (rc) return rc;
    char *after = NULL;
    for (bool more = true; !rc && more;) {
        lt_blob_list_params params = {.prefix = prefix, .start_after = after, .max_keys = 1000};
        lt_blob_list_result page;
        rc = lt_blob_list(blob, bucket, &params, &page, err);
        if (rc) break;
        for (size_t i = 0; !rc && i < page.n_objects; i++)
            rc = fn(ctx, &page.objects[i], err);
        more = page.truncated;
        free(after);
        after = page.next_start_after;
        page.next_start_after = NULL;
        lt_blob_list_result_free(&page);
    }
    free(after);
    free(bucket);
    free(prefix);
    return rc;
}

int lt_blob_uri_delete(lt_blob *blob, const char *uri, lt_err *err)
{
    char *bucket, *key;
    int rc = parse_object(uri, &bucket, &key, err);
    if (!rc) rc = lt_blob_object_delete(blob, bucket, key, err);
    free(bucket);
    free(key);
    return rc;
}
