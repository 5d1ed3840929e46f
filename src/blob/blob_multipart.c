/* Multipart uploads in the local back end: the upload and part tables, part content in
 * ordinary content files, and Complete, which concatenates the listed parts into a new
 * content file and publishes it like any other write.
 *
 * Follows the S3 API reference for CompleteMultipartUpload: part numbers strictly
 * ascending (InvalidPartOrder), each listed part uploaded with the given ETag
 * (InvalidPart), every part but the last at least 5 MiB (EntityTooSmall); the ETag is
 * the MD5 of the concatenated binary MD5s of the parts, then "-" and the part count. */
#include "blob/blob_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct stored_part {
    int number;
    uint64_t size;
    int64_t last_modified_ms;
    char etag[LT_BLOB_ETAG_SIZE];
    char data_id[LT_BLOB__ID_LEN + 1];
} stored_part;

int lt_blob__upload_check(lt_blob__conn *conn, const char *bucket, const char *key,
                          const char *upload_id, lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_UPLOAD_GET);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    bool match = step == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), bucket) &&
                 !strcmp((const char *)sqlite3_column_text(st, 1), key);
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return lt_blob__sql_fail(conn, "upload lookup", err);
    if (match) return 0;
    int rc = lt_blob__bucket_check(conn, bucket, err);
    if (rc) return rc;
    return lt_err_set(err, LT_ENOTFOUND, "upload '%s' does not exist for '%s/%.200s'", upload_id,
                      bucket, key);
}

int lt_blob__local_upload_create(lt_blob *blob, const char *bucket, const char *key,
                                 const lt_blob_put_opts *opts, char id[LT_BLOB_UPLOAD_ID_SIZE],
                                 lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    rc = lt_blob__txn_begin(loc, conn, err);
    if (!rc) {
        lt_blob__new_id(id);
        rc = lt_blob__bucket_check(conn, bucket, err);
        sqlite3_stmt *st = rc ? NULL : lt_blob__stmt(conn, LT_BLOB__SQL_UPLOAD_INSERT);
        if (st) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, bucket, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, lt_now_ms());
            sqlite3_bind_text(st, 5, opts ? opts->content_type : NULL, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 6, opts ? opts->metadata_json : NULL, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) rc = lt_blob__sql_fail(conn, "upload insert", err);
        }
        rc = lt_blob__txn_end(loc, conn, rc, err);
    }
    lt_blob__conn_release(loc, conn);
    return rc;
}

/* Within a transaction: trashes every part of the upload and deletes it. */
static int drop_upload(lt_blob__conn *conn, const char *upload_id, lt_blob__ids *trash, lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_PARTS_OF_UPLOAD);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    lt_blob__ids ids = {0};
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        lt_blob__ids_push(&ids, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    int rc = step == SQLITE_DONE ? 0 : lt_blob__sql_fail(conn, "part scan", err);
    for (size_t i = 0; !rc && i < ids.n; i++)
        rc = lt_blob__trash_add(conn, trash, ids.v[i], err);
    lt_blob__ids_free(&ids);
    if (rc) return rc;
    st = lt_blob__stmt(conn, LT_BLOB__SQL_PARTS_DELETE);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return lt_blob__sql_fail(conn, "part delete", err);
    st = lt_blob__stmt(conn, LT_BLOB__SQL_UPLOAD_DELETE);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return lt_blob__sql_fail(conn, "upload delete", err);
    return 0;
}

int lt_blob__uploads_drop_bucket(lt_blob__conn *conn, const char *bucket, lt_blob__ids *trash,
                                 lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_UPLOADS_OF_BUCKET);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    lt_blob__ids uploads = {0};
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        lt_blob__ids_push(&uploads, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    int rc = step == SQLITE_DONE ? 0 : lt_blob__sql_fail(conn, "upload scan", err);
    for (size_t i = 0; !rc && i < uploads.n; i++)
        rc = drop_upload(conn, uploads.v[i], trash, err);
    lt_blob__ids_free(&uploads);
    return rc;
}

int lt_blob__local_upload_abort(lt_blob *blob, const char *bucket, const char *key,
                                const char *upload_id, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    lt_blob__ids trash = {0};
    rc = lt_blob__txn_begin(loc, conn, err);
    if (!rc) {
        rc = lt_blob__upload_check(conn, bucket, key, upload_id, err);
        if (!rc) rc = drop_upload(conn, upload_id, &trash, err);
        rc = lt_blob__txn_end(loc, conn, rc, err);
        if (!rc) lt_blob__trash_unlink(loc, &trash);
    }
    lt_blob__ids_free(&trash);
    lt_blob__conn_release(loc, conn);
    return rc;
}

/* Up to max stored parts numbered above after_part, ascending. */
static int load_parts(lt_blob__conn *conn, const char *upload_id, int after_part, size_t max,
                      stored_part **out, size_t *n, lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_PART_LIST);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, after_part);
    sqlite3_bind_int64(st, 3, max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max);
    size_t cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = lt_xrealloc(*out, cap * sizeof **out);
        }
        stored_part *p = &(*out)[(*n)++];
        p->number = sqlite3_column_int(st, 0);
        p->size = (uint64_t)sqlite3_column_int64(st, 1);
        snprintf(p->etag, sizeof p->etag, "%s", (const char *)sqlite3_column_text(st, 2));
        p->last_modified_ms = sqlite3_column_int64(st, 3);
        snprintf(p->data_id, sizeof p->data_id, "%s", (const char *)sqlite3_column_text(st, 4));
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) return lt_blob__sql_fail(conn, "part list", err);
    return 0;
}

int lt_blob__local_upload_parts(lt_blob *blob, const char *bucket, const char *key,
                                const char *upload_id, int after_part, size_t max,
                                lt_blob_part **out, size_t *n, bool *truncated, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    stored_part *parts = NULL;
    size_t count = 0;
    rc = lt_blob__upload_check(conn, bucket, key, upload_id, err);
    if (!rc) rc = load_parts(conn, upload_id, after_part, max + 1, &parts, &count, err);
    lt_blob__conn_release(loc, conn);
    if (!rc) {
        *truncated = count > max;
        *n = count > max ? max : count;
        *out = lt_xcalloc(*n ? *n : 1, sizeof **out);
        for (size_t i = 0; i < *n; i++) {
            (*out)[i].number = parts[i].number;
            (*out)[i].size = parts[i].size;
            (*out)[i].last_modified_ms = parts[i].last_modified_ms;
            memcpy((*out)[i].etag, parts[i].etag, sizeof parts[i].etag);
        }
    }
    free(parts);
    return rc;
}

int lt_blob__local_upload_list(lt_blob *blob, const char *bucket, const char *prefix,
                               const char *key_marker, const char *id_marker, size_t max,
                               lt_blob_upload **out, size_t *n, bool *truncated, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    rc = lt_blob__bucket_check(conn, bucket, err);
    sqlite3_stmt *st = rc ? NULL : lt_blob__stmt(conn, LT_BLOB__SQL_UPLOAD_LIST);
    if (st) {
        const char *p = prefix ? prefix : "";
        char *upper = NULL;
        size_t upper_len = 0;
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, p, -1, SQLITE_STATIC);
        if (lt_blob__successor(p, strlen(p), &upper, &upper_len))
            sqlite3_bind_text(st, 3, upper, (int)upper_len, SQLITE_TRANSIENT);
        else
            sqlite3_bind_zeroblob(st, 3, 0);
        free(upper);
        sqlite3_bind_text(st, 4, key_marker ? key_marker : "", -1, SQLITE_STATIC);
        if (key_marker && id_marker && *id_marker)
            sqlite3_bind_text(st, 5, id_marker, -1, SQLITE_STATIC);
        else
            sqlite3_bind_zeroblob(st, 5, 0);
        sqlite3_bind_int64(st, 6, max >= INT32_MAX ? INT32_MAX : (sqlite3_int64)max + 1);
        size_t cap = 0;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == max) {
                *truncated = true;
                break;
            }
            if (*n == cap) {
                cap = cap ? 2 * cap : 16;
                *out = lt_xrealloc(*out, cap * sizeof **out);
            }
            lt_blob_upload *u = &(*out)[(*n)++];
            snprintf(u->id, sizeof u->id, "%s", (const char *)sqlite3_column_text(st, 0));
            u->key = lt_xstrdup((const char *)sqlite3_column_text(st, 1));
            u->initiated_ms = sqlite3_column_int64(st, 2);
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            rc = lt_blob__sql_fail(conn, "upload list", err);
            lt_blob_upload_list_free(*out, *n);
            *out = NULL;
            *n = 0;
        }
        sqlite3_reset(st);
    }
    lt_blob__conn_release(loc, conn);
    return rc;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The client's ETag without quotes equals the stored MD5 hex (any case). */
static bool etag_matches(const char *given, const char *stored)
{
    size_t len = given ? strlen(given) : 0;
    if (len >= 2 && given[0] == '"' && given[len - 1] == '"') {
        given++;
        len -= 2;
    }
    return len == strlen(stored) && strncasecmp(given, stored, len) == 0;
}

static const stored_part *find_part(const stored_part *parts, size_t n, int number)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (parts[mid].number == number) return &parts[mid];
        if (parts[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int check_list(const stored_part *stored, size_t n_stored, const lt_blob_part_ref *refs,
                      size_t n, const stored_part **chosen, lt_blob_complete_fault *fault,
                      lt_err *err)
{
    for (size_t i = 1; i < n; i++) {
        if (refs[i].number <= refs[i - 1].number) {
            *fault = LT_BLOB_COMPLETE_INVALID_ORDER;
            return lt_err_set(err, LT_EINVAL,
                              "the list of parts was not in ascending order: part %d follows "
                              "part %d",
                              refs[i].number, refs[i - 1].number);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const stored_part *p = find_part(stored, n_stored, refs[i].number);
        if (!p || !etag_matches(refs[i].etag, p->etag)) {
            *fault = LT_BLOB_COMPLETE_INVALID_PART;
            return lt_err_set(err, LT_EINVAL,
                              p ? "part %d's ETag does not match the uploaded part"
                                : "part %d was not uploaded",
                              refs[i].number);
        }
        chosen[i] = p;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (chosen[i]->size < LT_BLOB_MIN_PART_BYTES) {
            *fault = LT_BLOB_COMPLETE_TOO_SMALL;
            return lt_err_set(err, LT_EINVAL,
                              "part %d is %llu bytes; every part but the last must be at least "
                              "5 MiB",
                              chosen[i]->number, (unsigned long long)chosen[i]->size);
        }
    }
    return 0;
}

/* tmp/ID := the chosen parts concatenated, synced; etag := S3's multipart ETag. */
static int concatenate(lt_blob__local *loc, const char *id, const stored_part **chosen, size_t n,
                       uint64_t *total, char etag[LT_BLOB_ETAG_SIZE], lt_err *err)
{
    char *tmp = lt_blob__tmp_path(loc, id);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    int rc = out < 0 ? lt_err_set(err, LT_EIO, "cannot create %s: %s", tmp, strerror(errno)) : 0;
    lt_hash *md5s = lt_hash_new(LT_HASH_MD5);
    *total = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        uint8_t bin[16];
        for (int k = 0; k < 16; k++)
            bin[k] = (uint8_t)(hex_nibble(chosen[i]->etag[2 * k]) << 4 |
                               hex_nibble(chosen[i]->etag[2 * k + 1]));
        lt_hash_update(md5s, bin, sizeof bin);
        char *path = lt_blob__data_path(loc, chosen[i]->data_id);
        int in = open(path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
            rc = lt_err_set(err, LT_EIO, "cannot open part %d (%s): %s", chosen[i]->number, path,
                            strerror(errno));
        else
            rc = lt_blob__copy_range(loc, in, out, chosen[i]->size, total, err);
        if (in >= 0) close(in);
        free(path);
    }
    if (!rc) rc = lt_blob__sync_fd(loc, out, tmp, err);
    if (out >= 0) close(out);
    uint8_t digest[16];
    lt_hash_final(md5s, digest);
    lt_hash_free(md5s);
    lt_hex_encode(etag, digest, 16);
    snprintf(etag + 32, LT_BLOB_ETAG_SIZE - 32, "-%zu", n);
    free(tmp);
    return rc;
}

/* Within the publishing transaction: the upload is unchanged since it was read. */
static int still_same(lt_blob__conn *conn, const char *bucket, const char *key,
                      const char *upload_id, const stored_part **chosen, size_t n,
                      lt_blob_complete_fault *fault, lt_err *err)
{
    int rc = lt_blob__upload_check(conn, bucket, key, upload_id, err);
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_PART_GET);
        sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, chosen[i]->number);
        int step = sqlite3_step(st);
        bool same = step == SQLITE_ROW &&
                    !strcmp((const char *)sqlite3_column_text(st, 0), chosen[i]->data_id);
        sqlite3_reset(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return lt_blob__sql_fail(conn, "part lookup", err);
        if (!same) {
            *fault = LT_BLOB_COMPLETE_INVALID_PART;
            rc = lt_err_set(err, LT_EINVAL, "part %d was replaced while the upload completed",
                            chosen[i]->number);
        }
    }
    return rc;
}

static int publish_object(lt_blob__conn *conn, const char *bucket, const char *key,
                          const char *upload_id, const char *id, uint64_t size, const char *etag,
                          int64_t now, lt_blob_object *out, lt_blob__ids *trash, lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_UPLOAD_GET);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) return lt_blob__sql_fail(conn, "upload lookup", err);
    const char *type = (const char *)sqlite3_column_text(st, 3);
    const char *meta = (const char *)sqlite3_column_text(st, 4);
    char *content_type = type ? lt_xstrdup(type) : NULL;
    char *metadata = meta ? lt_xstrdup(meta) : NULL;
    sqlite3_reset(st);

    int rc = lt_blob__bucket_check(conn, bucket, err);
    st = rc ? NULL : lt_blob__stmt(conn, LT_BLOB__SQL_OBJECT_GET);
    if (st) {
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        char old[LT_BLOB__ID_LEN + 1] = "";
        if (step == SQLITE_ROW)
            snprintf(old, sizeof old, "%s", (const char *)sqlite3_column_text(st, 6));
        sqlite3_reset(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = lt_blob__sql_fail(conn, "object lookup", err);
        if (!rc && *old) rc = lt_blob__trash_add(conn, trash, old, err);
    }
    if (!rc) {
        st = lt_blob__stmt(conn, LT_BLOB__SQL_OBJECT_PUT);
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
        sqlite3_bind_text(st, 4, etag, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_text(st, 6, content_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, metadata, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = lt_blob__sql_fail(conn, "object insert", err);
    }
    if (!rc) rc = drop_upload(conn, upload_id, trash, err);
    if (!rc && out) {
        out->key = lt_xstrdup(key);
        out->size = size;
        snprintf(out->etag, sizeof out->etag, "%s", etag);
        out->last_modified_ms = now;
        out->content_type = content_type;
        out->metadata_json = metadata;
        content_type = metadata = NULL;
    }
    free(content_type);
    free(metadata);
    return rc;
}

int lt_blob__local_upload_complete(lt_blob *blob, const char *bucket, const char *key,
                                   const char *upload_id, const lt_blob_part_ref *parts, size_t n,
                                   lt_blob_object *out, lt_blob_complete_fault *fault, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    stored_part *stored = NULL;
    size_t n_stored = 0;
    const stored_part **chosen = lt_xcalloc(n, sizeof *chosen);
    rc = lt_blob__upload_check(conn, bucket, key, upload_id, err);
    if (!rc) rc = load_parts(conn, upload_id, 0, LT_BLOB_PART_NUMBER_MAX, &stored, &n_stored, err);
    if (!rc) rc = check_list(stored, n_stored, parts, n, chosen, fault, err);

    char id[LT_BLOB__ID_LEN + 1];
    lt_blob__new_id(id);
    uint64_t size = 0;
    char etag[LT_BLOB_ETAG_SIZE];
    bool created = !rc;
    if (!rc) rc = concatenate(loc, id, chosen, n, &size, etag, err);
    if (!rc) rc = lt_blob__publish(loc, id, err);
    lt_blob__ids trash = {0};
    if (!rc) rc = lt_blob__txn_begin(loc, conn, err);
    if (!rc) {
        rc = still_same(conn, bucket, key, upload_id, chosen, n, fault, err);
        if (!rc)
            rc = publish_object(conn, bucket, key, upload_id, id, size, etag, lt_now_ms(), out,
                                &trash, err);
        rc = lt_blob__txn_end(loc, conn, rc, err);
    }
    if (rc && created) {
        lt_blob__discard(loc, id);
        if (out) lt_blob_object_clear(out);
    } else if (!rc) {
        char *tmp = lt_blob__tmp_path(loc, id);
        unlink(tmp);
        free(tmp);
        lt_blob__trash_unlink(loc, &trash);
    }
    lt_blob__ids_free(&trash);
    free(chosen);
    free(stored);
    lt_blob__conn_release(loc, conn);
    return rc;
}
