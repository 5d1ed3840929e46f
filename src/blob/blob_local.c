/* The embedded local back end: content files under ROOT/data, the index in SQLite.
 * This file opens and recovers the store, manages buckets, and reads, deletes and copies
 * objects; writing is blob_writer.c, listing blob_list.c, multipart blob_multipart.c.
 *
 * Crash recovery rests on one rule: a content file is created as tmp/ID and keeps that
 * name until the index transaction that references data/ID has committed. So at open,
 * every tmp/ID is either referenced (the commit happened: drop tmp/ID) or not (drop
 * data/ID if it was linked, and tmp/ID). Files that committed transactions stopped
 * referencing are listed in the trash table and unlinked after the commit; whatever a
 * crash left there is unlinked at open. */
#include "blob/blob_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths and content files ---------------------------------------------------------- */

void lt_blob__new_id(char id[LT_BLOB__ID_LEN + 1])
{
    uint8_t raw[LT_BLOB__ID_LEN / 2];
    lt_random_bytes(raw, sizeof raw);
    lt_hex_encode(id, raw, sizeof raw);
}

static bool is_id(const char *s)
{
    return strlen(s) == LT_BLOB__ID_LEN && strspn(s, "0123456789abcdef") == LT_BLOB__ID_LEN;
}

char *lt_blob__data_path(lt_blob__local *loc, const char *id)
{
    return lt_xasprintf("%s/%.2s/%s", loc->data_dir, id, id);
}

char *lt_blob__tmp_path(lt_blob__local *loc, const char *id)
{
    return lt_xasprintf("%s/%s", loc->tmp_dir, id);
}

int lt_blob__sync_fd(lt_blob__local *loc, int fd, const char *what, lt_err *err)
{
    if (lt_blob__fault(loc->front, LT_BLOB_FAULT_SYNC) || fdatasync(fd) != 0)
        return lt_err_set(err, LT_EIO, "cannot sync %s: %s", what, strerror(errno));
    return 0;
}

int lt_blob__publish(lt_blob__local *loc, const char *id, lt_err *err)
{
    char *tmp = lt_blob__tmp_path(loc, id);
    char *data = lt_blob__data_path(loc, id);
    int rc = 0;
    if (lt_blob__fault(loc->front, LT_BLOB_FAULT_LINK) || link(tmp, data) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot publish %s as %s: %s", tmp, data, strerror(errno));
    free(tmp);
    free(data);
    if (rc) return rc;
    char *dir = lt_xasprintf("%s/%.2s", loc->data_dir, id);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || lt_blob__fault(loc->front, LT_BLOB_FAULT_SYNC) || fsync(dfd) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot sync directory %s: %s", dir, strerror(errno));
    if (dfd >= 0) close(dfd);
    free(dir);
    return rc;
}

void lt_blob__discard(lt_blob__local *loc, const char *id)
{
    char *tmp = lt_blob__tmp_path(loc, id);
    char *data = lt_blob__data_path(loc, id);
    unlink(data);
    unlink(tmp);
    free(tmp);
    free(data);
}

int lt_blob__copy_range(lt_blob__local *loc, int in_fd, int out_fd, uint64_t len, uint64_t *out_off,
                        lt_err *err)
{
    if (lt_blob__fault(loc->front, LT_BLOB_FAULT_COPY))
        return lt_err_set(err, LT_EIO, "copy failed: %s", strerror(errno));
    loff_t in_off = 0, off = (loff_t)*out_off;
    uint64_t left = len;
    bool fallback = false;
    while (left > 0 && !fallback) {
        size_t chunk = left > (1u << 30) ? (1u << 30) : (size_t)left;
        ssize_t n = copy_file_range(in_fd, &in_off, out_fd, &off, chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 &&
            (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) &&
            in_off == 0) {
            fallback = true;
            break;
        }
        if (n < 0) return lt_err_set(err, LT_EIO, "copy_file_range failed: %s", strerror(errno));
        if (n == 0) return lt_err_set(err, LT_EIO, "content file is shorter than its index entry");
        left -= (uint64_t)n;
    }
    if (fallback) {
        char *buf = lt_xmalloc(1 << 20);
        while (left > 0) {
            size_t chunk = left > (1u << 20) ? (1u << 20) : (size_t)left;
            ssize_t n = pread(in_fd, buf, chunk, in_off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                free(buf);
                return lt_err_set(err, LT_EIO, "read failed: %s",
                                  n ? strerror(errno) : "short file");
            }
            for (ssize_t done = 0; done < n;) {
                ssize_t w = pwrite(out_fd, buf + done, (size_t)(n - done), off);
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) {
                    free(buf);
                    return lt_err_set(err, LT_EIO, "write failed: %s", strerror(errno));
                }
                done += w;
                off += w;
            }
            in_off += n;
            left -= (uint64_t)n;
        }
        free(buf);
    }
    *out_off = (uint64_t)off;
    return 0;
}

/* ---- open, recovery, close ------------------------------------------------------------ */

static int recover_tmp(lt_blob__local *loc, lt_blob__conn *conn, lt_err *err)
{
    DIR *d = opendir(loc->tmp_dir);
    if (!d) return lt_err_set(err, LT_EIO, "cannot open %s: %s", loc->tmp_dir, strerror(errno));
    size_t finished = 0, undone = 0;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        bool referenced = false;
        if (is_id(de->d_name)) {
            sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_DATA_REFERENCED);
            if (!st) {
                rc = lt_blob__sql_fail(conn, "prepare", err);
                break;
            }
            sqlite3_bind_text(st, 1, de->d_name, -1, SQLITE_STATIC);
            int step = sqlite3_step(st);
            if (step != SQLITE_ROW && step != SQLITE_DONE) {
                rc = lt_blob__sql_fail(conn, "recovery lookup", err);
                break;
            }
            referenced = step == SQLITE_ROW;
            sqlite3_reset(st);
            if (!referenced) {
                char *data = lt_blob__data_path(loc, de->d_name);
                unlink(data);
                free(data);
            }
        }
        char *tmp = lt_xasprintf("%s/%s", loc->tmp_dir, de->d_name);
        if (unlink(tmp) != 0 && errno != ENOENT)
            rc = lt_err_set(err, LT_EIO, "cannot remove %s: %s", tmp, strerror(errno));
        free(tmp);
        if (referenced)
            finished++;
        else
            undone++;
    }
    closedir(d);
    if (finished || undone)
        lt_log_info("blob: recovery: %zu interrupted write(s) undone, %zu finished", undone,
                    finished);
    return rc;
}

static int recover_trash(lt_blob__local *loc, lt_blob__conn *conn, lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_TRASH_ALL);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    lt_blob__ids ids = {0};
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (id && is_id(id)) lt_blob__ids_push(&ids, id);
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        lt_blob__ids_free(&ids);
        return lt_blob__sql_fail(conn, "trash scan", err);
    }
    size_t removed = 0;
    for (size_t i = 0; i < ids.n; i++) {
        char *path = lt_blob__data_path(loc, ids.v[i]);
        if (unlink(path) == 0) removed++;
        free(path);
    }
    if (removed) lt_log_info("blob: recovery: removed %zu replaced or deleted file(s)", removed);
    lt_blob__trash_unlink(loc, &ids); /* (already gone) queues the rows for removal */
    return 0;
}

static void local_free(lt_blob__local *loc)
{
    lt_blob__index_close(loc);
    if (loc->lock_fd >= 0) close(loc->lock_fd);
    pthread_mutex_destroy(&loc->pool_mu);
    pthread_mutex_destroy(&loc->write_mu);
    pthread_mutex_destroy(&loc->trash_mu);
    lt_blob__ids_free(&loc->trash_done);
    free(loc->root);
    free(loc->tmp_dir);
    free(loc->data_dir);
    free(loc->db_path);
    free(loc);
}

int lt_blob__local_open(lt_blob *blob, const char *root, lt_err *err)
{
    lt_blob__local *loc = lt_xcalloc(1, sizeof *loc);
    loc->front = blob;
    loc->lock_fd = -1;
    loc->root = lt_xstrdup(root);
    loc->tmp_dir = lt_xasprintf("%s/tmp", root);
    loc->data_dir = lt_xasprintf("%s/data", root);
    pthread_mutex_init(&loc->pool_mu, NULL);
    pthread_mutex_init(&loc->write_mu, NULL);
    pthread_mutex_init(&loc->trash_mu, NULL);
    blob->impl = loc;
    int rc = lt_mkdir_p(loc->tmp_dir, 0750, err);
    for (int i = 0; !rc && i < 256; i++) {
        char *dir = lt_xasprintf("%s/%02x", loc->data_dir, i);
        rc = lt_mkdir_p(dir, 0750, err);
        free(dir);
    }
    if (!rc) {
        char *lock = lt_xasprintf("%s/lock", root);
        loc->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (loc->lock_fd < 0)
            rc = lt_err_set(err, LT_EIO, "cannot open %s: %s", lock, strerror(errno));
        free(lock);
    }
    if (!rc) rc = lt_blob__index_init(loc, err);
    /* Recovery only by a process that has the root to itself: another one's tmp files
     * are live writes. Holders keep a shared lock until close. */
    if (!rc && flock(loc->lock_fd, LOCK_EX | LOCK_NB) == 0) {
        lt_blob__conn *conn = NULL;
        rc = lt_blob__conn_acquire(loc, &conn, err);
        if (!rc) rc = recover_tmp(loc, conn, err);
        if (!rc) rc = recover_trash(loc, conn, err);
        lt_blob__conn_release(loc, conn);
    }
    if (!rc && flock(loc->lock_fd, LOCK_SH) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot lock %s/lock: %s", root, strerror(errno));
    if (rc) {
        blob->impl = NULL;
        local_free(loc);
        return rc;
    }
    return 0;
}

static void local_close(lt_blob *blob)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    /* Drop the trash rows of files already unlinked (an empty write transaction does it),
     * so the next open has nothing to redo. */
    lt_blob__conn *conn = NULL;
    if (loc->trash_done.n && lt_blob__conn_acquire(loc, &conn, NULL) == 0) {
        if (lt_blob__txn_begin(loc, conn, NULL) == 0) lt_blob__txn_commit(loc, conn, NULL);
        lt_blob__conn_release(loc, conn);
    }
    local_free(loc);
    blob->impl = NULL;
}

/* ---- buckets --------------------------------------------------------------------------- */

static int bucket_create(lt_blob *blob, const char *name, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    rc = lt_blob__txn_begin(loc, conn, err);
    if (!rc) {
        lt_err probe = {0};
        int exists = lt_blob__bucket_check(conn, name, &probe);
        if (exists == 0) {
            rc = lt_err_set(err, LT_ECONFLICT, "bucket '%s' already exists", name);
        } else if (exists != LT_ENOTFOUND) {
            rc = lt_err_set(err, exists, "%s", probe.msg);
        } else {
            sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_BUCKET_INSERT);
            if (!st) {
                rc = lt_blob__sql_fail(conn, "prepare", err);
            } else {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, lt_now_ms());
                if (sqlite3_step(st) != SQLITE_DONE)
                    rc = lt_blob__sql_fail(conn, "bucket insert", err);
            }
        }
        rc = lt_blob__txn_end(loc, conn, rc, err);
    }
    lt_blob__conn_release(loc, conn);
    return rc;
}

static int bucket_head(lt_blob *blob, const char *name, lt_blob_bucket *out, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_BUCKET_GET);
    if (!st) {
        rc = lt_blob__sql_fail(conn, "prepare", err);
    } else {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            if (out) {
                snprintf(out->name, sizeof out->name, "%s", name);
                out->created_ms = sqlite3_column_int64(st, 1);
            }
        } else if (step == SQLITE_DONE) {
            rc = lt_err_set(err, LT_ENOTFOUND, "bucket '%s' does not exist", name);
        } else {
            rc = lt_blob__sql_fail(conn, "bucket lookup", err);
        }
    }
    lt_blob__conn_release(loc, conn);
    return rc;
}

static int bucket_delete(lt_blob *blob, const char *name, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    lt_blob__ids trash = {0};
    rc = lt_blob__txn_begin(loc, conn, err);
    if (rc) {
        lt_blob__conn_release(loc, conn);
        return rc;
    }
    rc = lt_blob__bucket_check(conn, name, err);
    if (!rc) {
        sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_BUCKET_HAS_OBJECTS);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = lt_err_set(err, LT_ECONFLICT, "bucket '%s' is not empty", name);
        else if (step != SQLITE_DONE)
            rc = lt_blob__sql_fail(conn, "bucket scan", err);
        sqlite3_reset(st);
    }
    if (!rc) rc = lt_blob__uploads_drop_bucket(conn, name, &trash, err);
    if (!rc) {
        sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_BUCKET_DELETE);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = lt_blob__sql_fail(conn, "bucket delete", err);
    }
    rc = lt_blob__txn_end(loc, conn, rc, err);
    if (!rc) lt_blob__trash_unlink(loc, &trash);
    lt_blob__ids_free(&trash);
    lt_blob__conn_release(loc, conn);
    return rc;
}

static int bucket_list(lt_blob *blob, lt_blob_bucket **out, size_t *n, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_BUCKET_LIST);
    size_t cap = 0;
    int step = SQLITE_ERROR;
    while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = lt_xrealloc(*out, cap * sizeof **out);
        }
        lt_blob_bucket *b = &(*out)[(*n)++];
        snprintf(b->name, sizeof b->name, "%s", (const char *)sqlite3_column_text(st, 0));
        b->created_ms = sqlite3_column_int64(st, 1);
    }
    if (step != SQLITE_DONE) {
        rc = lt_blob__sql_fail(conn, "bucket list", err);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    lt_blob__conn_release(loc, conn);
    return rc;
}

/* ---- objects --------------------------------------------------------------------------- */

/* The object's row; data_id (may be NULL) receives its content id. */
static int object_lookup(lt_blob__conn *conn, const char *bucket, const char *key,
                         lt_blob_object *out, char data_id[LT_BLOB__ID_LEN + 1], lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_OBJECT_GET);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (out) lt_blob__row_object(st, 0, out);
        const unsigned char *id = sqlite3_column_text(st, 6);
        if (data_id) snprintf(data_id, LT_BLOB__ID_LEN + 1, "%s", id ? (const char *)id : "");
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) return lt_blob__sql_fail(conn, "object lookup", err);
    int rc = lt_blob__bucket_check(conn, bucket, err);
    if (rc) return rc;
    return lt_err_set(err, LT_ENOTFOUND, "key '%.200s' does not exist in bucket '%s'", key, bucket);
}

static int object_stat(lt_blob *blob, const char *bucket, const char *key, lt_blob_object *out,
                       lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    rc = object_lookup(conn, bucket, key, out, NULL, err);
    lt_blob__conn_release(loc, conn);
    return rc;
}

/* The row and the file are read without a lock between them: if the key was replaced or
 * deleted in between, the old file may already be unlinked, so look again. */
static int object_open(lt_blob *blob, const char *bucket, const char *key, int *fd,
                       lt_blob_object *out, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    for (int attempt = 0;; attempt++) {
        char id[LT_BLOB__ID_LEN + 1];
        rc = object_lookup(conn, bucket, key, out, id, err);
        if (rc) break;
        char *path = lt_blob__data_path(loc, id);
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        int e = errno;
        free(path);
        if (*fd >= 0) break;
        lt_blob_object_clear(out);
        if (e != ENOENT || attempt == 8) {
            rc = lt_err_set(err, LT_EIO, "cannot open content of '%.200s' in '%s': %s", key, bucket,
                            strerror(e));
            break;
        }
    }
    lt_blob__conn_release(loc, conn);
    return rc;
}

static int object_delete_many(lt_blob *blob, const char *bucket, const char *const *keys, size_t n,
                              lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    lt_blob__ids trash = {0};
    rc = lt_blob__txn_begin(loc, conn, err);
    if (rc) {
        lt_blob__conn_release(loc, conn);
        return rc;
    }
    rc = lt_blob__bucket_check(conn, bucket, err);
    for (size_t i = 0; !rc && i < n; i++) {
        char id[LT_BLOB__ID_LEN + 1];
        lt_err probe = {0};
        int found = object_lookup(conn, bucket, keys[i], NULL, id, &probe);
        if (found == LT_ENOTFOUND) continue;
        if (found) {
            rc = lt_err_set(err, found, "%s", probe.msg);
            break;
        }
        sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_OBJECT_DELETE);
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, keys[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = lt_blob__sql_fail(conn, "object delete", err);
        if (!rc) rc = lt_blob__trash_add(conn, &trash, id, err);
    }
    rc = lt_blob__txn_end(loc, conn, rc, err);
    if (!rc) lt_blob__trash_unlink(loc, &trash);
    lt_blob__ids_free(&trash);
    lt_blob__conn_release(loc, conn);
    return rc;
}

/* Makes tmp/ID hold the content of src_id: a hard link (content files are immutable),
 * or a synced copy where links are refused. *gone when src_id was unlinked meanwhile. */
static int clone_content(lt_blob__local *loc, const char *src_id, uint64_t size, const char *id,
                         bool *gone, lt_err *err)
{
    char *src = lt_blob__data_path(loc, src_id);
    char *tmp = lt_blob__tmp_path(loc, id);
    int rc = 0;
    *gone = false;
    if (link(src, tmp) != 0) {
        int e = errno;
        int in = e == ENOENT ? -1 : open(src, O_RDONLY | O_CLOEXEC);
        if (e == ENOENT || (in < 0 && errno == ENOENT)) {
            *gone = true;
        } else if (in < 0) {
            rc = lt_err_set(err, LT_EIO, "cannot open %s: %s", src, strerror(errno));
        } else {
            int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
            uint64_t off = 0;
            if (out < 0) rc = lt_err_set(err, LT_EIO, "cannot create %s: %s", tmp, strerror(errno));
            if (!rc) rc = lt_blob__copy_range(loc, in, out, size, &off, err);
            if (!rc) rc = lt_blob__sync_fd(loc, out, tmp, err);
            if (out >= 0) close(out);
            if (rc) unlink(tmp);
        }
        if (in >= 0) close(in);
    }
    free(src);
    free(tmp);
    return rc;
}

static int object_copy(lt_blob *blob, const char *src_bucket, const char *src_key,
                       const char *dst_bucket, const char *dst_key, const lt_blob_put_opts *replace,
                       lt_blob_object *out, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    lt_blob_object src = {0};
    char id[LT_BLOB__ID_LEN + 1];
    lt_blob__new_id(id);
    for (int attempt = 0;; attempt++) {
        char src_id[LT_BLOB__ID_LEN + 1];
        lt_blob_object_clear(&src);
        rc = object_lookup(conn, src_bucket, src_key, &src, src_id, err);
        bool gone = false;
        if (!rc) rc = clone_content(loc, src_id, src.size, id, &gone, err);
        if (rc || !gone) break;
        /* The source was replaced or deleted between the lookup and the link: look again. */
        if (attempt == 8) {
            rc = lt_err_set(err, LT_EIO, "content of '%.200s' keeps disappearing", src_key);
            break;
        }
    }
    if (!rc) rc = lt_blob__publish(loc, id, err);
    lt_blob__ids trash = {0};
    if (!rc) rc = lt_blob__txn_begin(loc, conn, err);
    if (!rc) {
        char old[LT_BLOB__ID_LEN + 1];
        lt_err probe = {0};
        int64_t now = lt_now_ms();
        rc = lt_blob__bucket_check(conn, dst_bucket, err);
        int had = rc ? -1 : object_lookup(conn, dst_bucket, dst_key, NULL, old, &probe);
        if (!rc && had != 0 && had != LT_ENOTFOUND) rc = lt_err_set(err, had, "%s", probe.msg);
        if (!rc && had == 0) rc = lt_blob__trash_add(conn, &trash, old, err);
        const char *type = replace ? replace->content_type : src.content_type;
        const char *meta = replace ? replace->metadata_json : src.metadata_json;
        sqlite3_stmt *st = rc ? NULL : lt_blob__stmt(conn, LT_BLOB__SQL_OBJECT_PUT);
        if (st) {
            sqlite3_bind_text(st, 1, dst_bucket, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, dst_key, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)src.size);
            sqlite3_bind_text(st, 4, src.etag, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, now);
            sqlite3_bind_text(st, 6, type, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 7, meta, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 8, id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) rc = lt_blob__sql_fail(conn, "object insert", err);
        }
        rc = lt_blob__txn_end(loc, conn, rc, err);
        if (!rc && out) {
            out->key = lt_xstrdup(dst_key);
            out->size = src.size;
            memcpy(out->etag, src.etag, sizeof out->etag);
            out->last_modified_ms = now;
            out->content_type = type ? lt_xstrdup(type) : NULL;
            out->metadata_json = meta ? lt_xstrdup(meta) : NULL;
        }
    }
    if (rc) {
        lt_blob__discard(loc, id);
    } else {
        char *tmp = lt_blob__tmp_path(loc, id);
        unlink(tmp);
        free(tmp);
        lt_blob__trash_unlink(loc, &trash);
    }
    lt_blob__ids_free(&trash);
    lt_blob_object_clear(&src);
    lt_blob__conn_release(loc, conn);
    return rc;
}

const lt_blob__ops lt_blob__local_ops = {
    .name = "local",
    .close = local_close,
    .bucket_create = bucket_create,
    .bucket_head = bucket_head,
    .bucket_delete = bucket_delete,
    .bucket_list = bucket_list,
    .object_stat = object_stat,
    .object_open = object_open,
    .object_delete_many = object_delete_many,
    .object_copy = object_copy,
    .list = lt_blob__local_list,
    .writer_open = lt_blob__local_writer_open,
    .writer_write = lt_blob__local_writer_write,
    .writer_size = lt_blob__local_writer_size,
    .writer_md5 = lt_blob__local_writer_md5,
    .writer_commit = lt_blob__local_writer_commit,
    .writer_abort = lt_blob__local_writer_abort,
    .upload_create = lt_blob__local_upload_create,
    .upload_complete = lt_blob__local_upload_complete,
    .upload_abort = lt_blob__local_upload_abort,
    .upload_parts = lt_blob__local_upload_parts,
    .upload_list = lt_blob__local_upload_list,
};
