/* The blob front: checks names, keys and arguments once, then dispatches to the back
 * end's vtable (only the local one exists today; an S3-remote one would be a sibling of
 * blob_local.c). Also the fault-injection counters every back end consults. */
#include "blob/blob_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fault injection ---------------------------------------------------------------- */

static const char *const fault_names[LT_BLOB_FAULT__COUNT] = {
    [LT_BLOB_FAULT_WRITE] = "write",   [LT_BLOB_FAULT_SYNC] = "sync", [LT_BLOB_FAULT_LINK] = "link",
    [LT_BLOB_FAULT_COMMIT] = "commit", [LT_BLOB_FAULT_COPY] = "copy",
};

void lt_blob_fault_inject(lt_blob *blob, lt_blob_fault_op op, unsigned nth)
{
    if (op < LT_BLOB_FAULT__COUNT) atomic_store(&blob->fault_countdown[op], nth);
}

bool lt_blob__fault(lt_blob *blob, lt_blob_fault_op op)
{
    unsigned cur = atomic_load(&blob->fault_countdown[op]);
    while (cur > 0) {
        if (atomic_compare_exchange_weak(&blob->fault_countdown[op], &cur, cur - 1)) {
            if (cur != 1) return false;
            lt_log_warn("blob: injected failure of %s", fault_names[op]);
            errno = EIO;
            return true;
        }
    }
    return false;
}

/* LT_BLOB_FAULT="write:3,sync:1": configuration read once at open. */
static void fault_from_env(lt_blob *blob)
{
    const char *spec = getenv("LT_BLOB_FAULT");
    if (!spec || !*spec) return;
    char *copy = lt_xstrdup(spec), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':');
        if (!colon) continue;
        *colon = '\0';
        int64_t nth = 0;
        if (lt_parse_i64(colon + 1, 0, 1000000000, &nth, "LT_BLOB_FAULT count", NULL)) continue;
        for (int op = 0; op < LT_BLOB_FAULT__COUNT; op++)
            if (!strcmp(item, fault_names[op])) lt_blob_fault_inject(blob, op, (unsigned)nth);
    }
    free(copy);
}

/* ---- checks ------------------------------------------------------------------------- */

static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n) return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

static int key_check(const char *key, lt_err *err)
{
    size_t len = key ? strlen(key) : 0;
    if (len == 0) return lt_err_set(err, LT_EINVAL, "an object key must not be empty");
    if (len > LT_BLOB_KEY_MAX)
        return lt_err_set(err, LT_EINVAL, "object key is %zu bytes; the limit is %d", len,
                          LT_BLOB_KEY_MAX);
    if (!utf8_valid((const unsigned char *)key, len))
        return lt_err_set(err, LT_EINVAL, "object key is not valid UTF-8");
    return 0;
}

/* Buckets other than at creation: anything that cannot name a bucket is simply absent. */
static int bucket_ref_check(const char *bucket, lt_err *err)
{
    size_t len = bucket ? strlen(bucket) : 0;
    if (len == 0 || len > LT_BLOB_BUCKET_MAX || strchr(bucket, '/'))
        return lt_err_set(err, LT_ENOTFOUND, "bucket '%.80s' does not exist", bucket ? bucket : "");
    return 0;
}

static int opts_check(const lt_blob_put_opts *opts, lt_err *err)
{
    if (!opts || !opts->metadata_json) return 0;
    json_t *meta = NULL;
    int rc = lt_json_parse(opts->metadata_json, strlen(opts->metadata_json), &meta, err);
    if (rc) return rc;
    if (!json_is_object(meta))
        rc = lt_err_set(err, LT_EINVAL, "object metadata must be a JSON object");
    const char *name;
    json_t *value;
    json_object_foreach(meta, name, value)
    {
        if (!rc && !json_is_string(value))
            rc = lt_err_set(err, LT_EINVAL, "object metadata '%.64s' is not a string", name);
    }
    json_decref(meta);
    return rc;
}

int lt_blob_bucket_name_check(const char *name, lt_err *err)
{
    size_t len = name ? strlen(name) : 0;
    if (len < 3 || len > LT_BLOB_BUCKET_MAX)
        return lt_err_set(err, LT_EINVAL, "bucket name must be 3 to 63 characters long, got %zu",
                          len);
    bool all_digits_dots = true;
    int dots = 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return lt_err_set(err, LT_EINVAL,
                              "bucket name may only contain lower-case letters, digits, dots and "
                              "hyphens; '%c' at position %zu is not allowed",
                              c, i);
        if ((i == 0 || i == len - 1) && !alnum)
            return lt_err_set(err, LT_EINVAL,
                              "bucket name must begin and end with a letter or digit");
        if (c == '.' && name[i + 1] == '.')
            return lt_err_set(err, LT_EINVAL, "bucket name must not contain two adjacent dots");
        if (c == '.') dots++;
        if (!(c == '.' || (c >= '0' && c <= '9'))) all_digits_dots = false;
    }
    if (all_digits_dots && dots == 3)
        return lt_err_set(err, LT_EINVAL, "bucket name must not be formatted as an IP address");
    if (lt_str_starts_with(name, "xn--") || lt_str_starts_with(name, "sthree-") ||
        lt_str_ends_with(name, "-s3alias") || lt_str_ends_with(name, "--ol-s3"))
        return lt_err_set(err, LT_EINVAL, "bucket name uses a prefix or suffix S3 reserves");
    return 0;
}

/* ---- open / close -------------------------------------------------------------------- */

int lt_blob_open(lt_blob **out, const char *root, lt_err *err)
{
    lt_blob *blob = lt_xcalloc(1, sizeof *blob);
    blob->ops = &lt_blob__local_ops;
    int rc = lt_blob__local_open(blob, root, err);
    if (rc) {
        free(blob);
        return rc;
    }
    fault_from_env(blob);
    *out = blob;
    return 0;
}

void lt_blob_close(lt_blob *blob)
{
    if (!blob) return;
    blob->ops->close(blob);
    free(blob);
}

/* ---- buckets ------------------------------------------------------------------------- */

int lt_blob_bucket_create(lt_blob *blob, const char *name, lt_err *err)
{
    int rc = lt_blob_bucket_name_check(name, err);
    return rc ? rc : blob->ops->bucket_create(blob, name, err);
}

int lt_blob_bucket_head(lt_blob *blob, const char *name, lt_blob_bucket *out, lt_err *err)
{
    int rc = bucket_ref_check(name, err);
    return rc ? rc : blob->ops->bucket_head(blob, name, out, err);
}

int lt_blob_bucket_delete(lt_blob *blob, const char *name, lt_err *err)
{
    int rc = bucket_ref_check(name, err);
    return rc ? rc : blob->ops->bucket_delete(blob, name, err);
}

int lt_blob_bucket_list(lt_blob *blob, lt_blob_bucket **out, size_t *n, lt_err *err)
{
    *out = NULL;
    *n = 0;
    return blob->ops->bucket_list(blob, out, n, err);
}

/* ---- objects ------------------------------------------------------------------------- */

void lt_blob_object_clear(lt_blob_object *obj)
{
    if (!obj) return;
    free(obj->key);
    free(obj->content_type);
    free(obj->metadata_json);
    memset(obj, 0, sizeof *obj);
}

static int object_ref_check(const char *bucket, const char *key, lt_err *err)
{
    int rc = bucket_ref_check(bucket, err);
    return rc ? rc : key_check(key, err);
}

int lt_blob_object_stat(lt_blob *blob, const char *bucket, const char *key, lt_blob_object *out,
                        lt_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = object_ref_check(bucket, key, err);
    return rc ? rc : blob->ops->object_stat(blob, bucket, key, out, err);
}

int lt_blob_object_open(lt_blob *blob, const char *bucket, const char *key, int *fd,
                        lt_blob_object *out, lt_err *err)
{
    *fd = -1;
    memset(out, 0, sizeof *out);
    int rc = object_ref_check(bucket, key, err);
    return rc ? rc : blob->ops->object_open(blob, bucket, key, fd, out, err);
}

int lt_blob_object_delete(lt_blob *blob, const char *bucket, const char *key, lt_err *err)
{
    return lt_blob_object_delete_many(blob, bucket, &key, 1, err);
}

int lt_blob_object_delete_many(lt_blob *blob, const char *bucket, const char *const *keys, size_t n,
                               lt_err *err)
{
    int rc = bucket_ref_check(bucket, err);
    for (size_t i = 0; !rc && i < n; i++)
        rc = key_check(keys[i], err);
    return rc ? rc : blob->ops->object_delete_many(blob, bucket, keys, n, err);
}

int lt_blob_object_copy(lt_blob *blob, const char *src_bucket, const char *src_key,
                        const char *dst_bucket, const char *dst_key,
                        const lt_blob_put_opts *replace, lt_blob_object *out, lt_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    int rc = object_ref_check(src_bucket, src_key, err);
    if (!rc) rc = object_ref_check(dst_bucket, dst_key, err);
    if (!rc) rc = opts_check(replace, err);
    return rc ? rc
              : blob->ops->object_copy(blob, src_bucket, src_key, dst_bucket, dst_key, replace, out,
                                       err);
}

/* ---- writer -------------------------------------------------------------------------- */

static int writer_open(lt_blob *blob, const char *bucket, const char *key,
                       const lt_blob_put_opts *opts, const char *upload_id, int part_number,
                       lt_blob_writer **out, lt_err *err)
{
    *out = NULL;
    int rc = object_ref_check(bucket, key, err);
    if (!rc) rc = opts_check(opts, err);
    if (rc) return rc;
    void *impl = NULL;
    rc = blob->ops->writer_open(blob, bucket, key, opts, upload_id, part_number, &impl, err);
    if (rc) return rc;
    lt_blob_writer *w = lt_xcalloc(1, sizeof *w);
    w->blob = blob;
    w->impl = impl;
    *out = w;
    return 0;
}

int lt_blob_writer_open(lt_blob *blob, const char *bucket, const char *key,
                        const lt_blob_put_opts *opts, lt_blob_writer **out, lt_err *err)
{
    return writer_open(blob, bucket, key, opts, NULL, 0, out, err);
}

int lt_blob_writer_write(lt_blob_writer *w, const void *data, size_t len, lt_err *err)
{
    return w->blob->ops->writer_write(w->impl, data, len, err);
}

uint64_t lt_blob_writer_size(const lt_blob_writer *w)
{
    return w->blob->ops->writer_size(w->impl);
}

int lt_blob_writer_md5(lt_blob_writer *w, uint8_t out[16], lt_err *err)
{
    return w->blob->ops->writer_md5(w->impl, out, err);
}

int lt_blob_writer_commit(lt_blob_writer *w, lt_blob_object *out, lt_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    int rc = w->blob->ops->writer_commit(w->impl, out, err);
    free(w);
    return rc;
}

void lt_blob_writer_abort(lt_blob_writer *w)
{
    if (!w) return;
    w->blob->ops->writer_abort(w->impl);
    free(w);
}

/* ---- listing ------------------------------------------------------------------------- */

int lt_blob_list(lt_blob *blob, const char *bucket, const lt_blob_list_params *params,
                 lt_blob_list_result *out, lt_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = bucket_ref_check(bucket, err);
    return rc ? rc : blob->ops->list(blob, bucket, params, out, err);
}

void lt_blob_list_result_free(lt_blob_list_result *res)
{
    if (!res) return;
    for (size_t i = 0; i < res->n_objects; i++)
        lt_blob_object_clear(&res->objects[i]);
    for (size_t i = 0; i < res->n_prefixes; i++)
        free(res->prefixes[i]);
    free(res->objects);
    free(res->prefixes);
    free(res->next_start_after);
    memset(res, 0, sizeof *res);
}

/* ---- multipart ----------------------------------------------------------------------- */

static int upload_ref_check(const char *bucket, const char *key, const char *upload_id, lt_err *err)
{
    int rc = object_ref_check(bucket, key, err);
    if (rc) return rc;
    if (!upload_id || strlen(upload_id) != LT_BLOB__ID_LEN ||
        strspn(upload_id, "0123456789abcdef") != LT_BLOB__ID_LEN)
        return lt_err_set(err, LT_ENOTFOUND, "upload '%.64s' does not exist",
                          upload_id ? upload_id : "");
    return 0;
}

int lt_blob_upload_create(lt_blob *blob, const char *bucket, const char *key,
                          const lt_blob_put_opts *opts, char id[LT_BLOB_UPLOAD_ID_SIZE],
                          lt_err *err)
{
    int rc = object_ref_check(bucket, key, err);
    if (!rc) rc = opts_check(opts, err);
    return rc ? rc : blob->ops->upload_create(blob, bucket, key, opts, id, err);
}

int lt_blob_part_writer_open(lt_blob *blob, const char *bucket, const char *key,
                             const char *upload_id, int part_number, lt_blob_writer **out,
                             lt_err *err)
{
    *out = NULL;
    int rc = upload_ref_check(bucket, key, upload_id, err);
    if (rc) return rc;
    if (part_number < 1 || part_number > LT_BLOB_PART_NUMBER_MAX)
        return lt_err_set(err, LT_EINVAL, "part number must be between 1 and %d, got %d",
                          LT_BLOB_PART_NUMBER_MAX, part_number);
    return writer_open(blob, bucket, key, NULL, upload_id, part_number, out, err);
}

int lt_blob_upload_complete(lt_blob *blob, const char *bucket, const char *key,
                            const char *upload_id, const lt_blob_part_ref *parts, size_t n,
                            lt_blob_object *out, lt_blob_complete_fault *fault, lt_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (fault) *fault = LT_BLOB_COMPLETE_OK;
    int rc = upload_ref_check(bucket, key, upload_id, err);
    if (rc) return rc;
    if (n == 0) return lt_err_set(err, LT_EINVAL, "a multipart upload needs at least one part");
    if (n > LT_BLOB_PART_NUMBER_MAX)
        return lt_err_set(err, LT_EINVAL, "%zu parts listed; the limit is %d", n,
                          LT_BLOB_PART_NUMBER_MAX);
    lt_blob_complete_fault ignored;
    return blob->ops->upload_complete(blob, bucket, key, upload_id, parts, n, out,
                                      fault ? fault : &ignored, err);
}

int lt_blob_upload_abort(lt_blob *blob, const char *bucket, const char *key, const char *upload_id,
                         lt_err *err)
{
    int rc = upload_ref_check(bucket, key, upload_id, err);
    return rc ? rc : blob->ops->upload_abort(blob, bucket, key, upload_id, err);
}

int lt_blob_upload_parts(lt_blob *blob, const char *bucket, const char *key, const char *upload_id,
                         int after_part, size_t max, lt_blob_part **out, size_t *n, bool *truncated,
                         lt_err *err)
{
    *out = NULL;
    *n = 0;
    *truncated = false;
    int rc = upload_ref_check(bucket, key, upload_id, err);
    return rc ? rc
              : blob->ops->upload_parts(blob, bucket, key, upload_id, after_part, max, out, n,
                                        truncated, err);
}

int lt_blob_upload_list(lt_blob *blob, const char *bucket, const char *prefix,
                        const char *key_marker, const char *id_marker, size_t max,
                        lt_blob_upload **out, size_t *n, bool *truncated, lt_err *err)
{
    *out = NULL;
    *n = 0;
    *truncated = false;
    int rc = bucket_ref_check(bucket, err);
    return rc ? rc
              : blob->ops->upload_list(blob, bucket, prefix, key_marker, id_marker, max, out, n,
                                       truncated, err);
}

void lt_blob_upload_list_free(lt_blob_upload *uploads, size_t n)
{
    for (size_t i = 0; uploads && i < n; i++)
        free(uploads[i].key);
    free(uploads);
}
