/* Streaming writes of objects and multipart parts into the local back end.
 *
 * Throughput: incoming chunks (an HTTP server hands over tens of KiB at a time) are
 * gathered into 1 MiB writes. MD5 runs inline for the first few MiB; past that a helper
 * thread hashes the bytes back out of the page cache (pread of what is already written)
 * so that hashing, the slowest step at ~700 MB/s, overlaps receiving and writing instead
 * of adding to them. Every 8 MiB, sync_file_range(SYNC_FILE_RANGE_WRITE) starts
 * writeback of what was written, so the fdatasync at commit finds little left to do.
 *
 * Durability and atomicity: commit = fdatasync tmp/ID, link it to data/ID, fsync the
 * data directory, then one index transaction; tmp/ID goes last (see blob_local.c). */
#include "blob/blob_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    STAGE_BYTES = 1 << 20,     /* write() size */
    THREAD_AT_BYTES = 4 << 20, /* hash on a helper thread past this */
    WRITEBACK_BYTES = 8 << 20, /* start writeback every this many bytes */
    HASH_READ_BYTES = 1 << 20,
};

typedef struct writer {
    lt_blob__local *loc;
    char *bucket, *key, *upload_id, *content_type, *metadata_json;
    int part_number; /* 0: an object */
    char id[LT_BLOB__ID_LEN + 1];
    char *tmp_path;
    int fd;
    uint64_t size;     /* bytes accepted */
    uint64_t flushed;  /* bytes written to fd */
    uint64_t wb_start; /* writeback started up to here */
    char *stage;
    size_t stage_len;
    bool failed, finished;
    uint8_t md5[16];
    lt_hash *md5_ctx;
    /* hashing: inline while !threaded, then by the helper from the file */
    bool threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t hash_avail; /* (mu) bytes the helper may read */
    bool hash_stop;      /* (mu) no more bytes will come */
    uint64_t hashed;     /* helper-owned while threaded */
    int hash_errno;
} writer;

static void *hash_main(void *arg)
{
    writer *w = arg;
    char *buf = lt_xmalloc(HASH_READ_BYTES);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->hashed >= w->hash_avail && !w->hash_stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->hashed >= w->hash_avail) break;
        uint64_t avail = w->hash_avail;
        pthread_mutex_unlock(&w->mu);
        while (w->hashed < avail && !w->hash_errno) {
            uint64_t want = avail - w->hashed;
            ssize_t n = pread(w->fd, buf, want > HASH_READ_BYTES ? HASH_READ_BYTES : (size_t)want,
                              (off_t)w->hashed);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                w->hash_errno = n < 0 ? errno : EIO;
                break;
            }
            lt_hash_update(w->md5_ctx, buf, (size_t)n);
            w->hashed += (uint64_t)n;
        }
        pthread_mutex_lock(&w->mu);
        if (w->hash_errno) break;
    }
    pthread_mutex_unlock(&w->mu);
    free(buf);
    return NULL;
}

static void hash_join(writer *w)
{
    if (!w->threaded) return;
    pthread_mutex_lock(&w->mu);
    w->hash_stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->threaded = false;
}

static void writer_free(writer *w)
{
    hash_join(w);
    if (w->fd >= 0) close(w->fd);
    lt_hash_free(w->md5_ctx);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->bucket);
    free(w->key);
    free(w->upload_id);
    free(w->content_type);
    free(w->metadata_json);
    free(w->tmp_path);
    free(w->stage);
    free(w);
}

int lt_blob__local_writer_open(lt_blob *blob, const char *bucket, const char *key,
                               const lt_blob_put_opts *opts, const char *upload_id, int part_number,
                               void **impl, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    /* Fail before any byte is streamed when the target cannot take it. */
    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    rc = part_number ? lt_blob__upload_check(conn, bucket, key, upload_id, err)
                     : lt_blob__bucket_check(conn, bucket, err);
    lt_blob__conn_release(loc, conn);
    if (rc) return rc;

    writer *w = lt_xcalloc(1, sizeof *w);
    w->loc = loc;
    w->bucket = lt_xstrdup(bucket);
    w->key = lt_xstrdup(key);
    w->upload_id = upload_id ? lt_xstrdup(upload_id) : NULL;
    w->part_number = part_number;
    if (opts && opts->content_type) w->content_type = lt_xstrdup(opts->content_type);
    if (opts && opts->metadata_json) w->metadata_json = lt_xstrdup(opts->metadata_json);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->md5_ctx = lt_hash_new(LT_HASH_MD5);
    lt_blob__new_id(w->id);
    w->tmp_path = lt_blob__tmp_path(loc, w->id);
    w->fd = open(w->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (w->fd < 0) {
        rc = lt_err_set(err, LT_EIO, "cannot create %s: %s", w->tmp_path, strerror(errno));
        writer_free(w);
        return rc;
    }
    *impl = w;
    return 0;
}

static int write_all(writer *w, const char *p, size_t len, lt_err *err)
{
    while (len > 0) {
        ssize_t n;
        if (lt_blob__fault(w->loc->front, LT_BLOB_FAULT_WRITE))
            n = -1;
        else
            n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            w->failed = true;
            return lt_err_set(err, errno == ENOSPC ? LT_ELIMIT : LT_EIO, "write to %s failed: %s",
                              w->tmp_path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
        w->flushed += (uint64_t)n;
    }
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        w->hash_avail = w->flushed;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    if (w->flushed - w->wb_start >= WRITEBACK_BYTES) {
        /* Best effort: only a hint to start writeback early. */
        (void)sync_file_range(w->fd, (off64_t)w->wb_start, (off64_t)(w->flushed - w->wb_start),
                              SYNC_FILE_RANGE_WRITE);
        w->wb_start = w->flushed;
    }
    return 0;
}

static int stage_flush(writer *w, lt_err *err)
{
    if (!w->stage_len) return 0;
    int rc = write_all(w, w->stage, w->stage_len, err);
    w->stage_len = 0;
    return rc;
}

int lt_blob__local_writer_write(void *impl, const void *data, size_t len, lt_err *err)
{
    writer *w = impl;
    if (w->failed) return lt_err_set(err, LT_EIO, "write after a failed write to %s", w->tmp_path);
    if (w->finished) return lt_err_set(err, LT_EINTERNAL, "write after the stream was finished");
    if (!len) return 0;
    if (!w->threaded) {
        lt_hash_update(w->md5_ctx, data, len);
        w->hashed += len;
    }
    w->size += len;
    const char *p = data;
    if (w->stage_len == 0 && len >= STAGE_BYTES) {
        int rc = write_all(w, p, len, err);
        if (rc) return rc;
    } else {
        while (len > 0) {
            if (!w->stage) w->stage = lt_xmalloc(STAGE_BYTES);
            size_t take = STAGE_BYTES - w->stage_len < len ? STAGE_BYTES - w->stage_len : len;
            memcpy(w->stage + w->stage_len, p, take);
            w->stage_len += take;
            p += take;
            len -= take;
            if (w->stage_len == STAGE_BYTES) {
                int rc = stage_flush(w, err);
                if (rc) return rc;
            }
        }
    }
    if (!w->threaded && w->size >= THREAD_AT_BYTES) {
        /* From here the helper hashes from offset `hashed` as the bytes reach the file. */
        w->hash_avail = w->flushed;
        if (pthread_create(&w->thread, NULL, hash_main, w) == 0) w->threaded = true;
    }
    return 0;
}

uint64_t lt_blob__local_writer_size(const void *impl)
{
    return ((const writer *)impl)->size;
}

int lt_blob__local_writer_md5(void *impl, uint8_t out[16], lt_err *err)
{
    writer *w = impl;
    if (!w->finished) {
        if (w->failed) return lt_err_set(err, LT_EIO, "the write to %s had failed", w->tmp_path);
        int rc = stage_flush(w, err);
        if (rc) return rc;
        hash_join(w);
        if (w->hash_errno) {
            w->failed = true;
            return lt_err_set(err, LT_EIO, "cannot read back %s to hash it: %s", w->tmp_path,
                              strerror(w->hash_errno));
        }
        if (w->hashed != w->size) {
            w->failed = true;
            return lt_err_set(err, LT_EINTERNAL, "hashed %llu of %llu bytes",
                              (unsigned long long)w->hashed, (unsigned long long)w->size);
        }
        lt_hash_final(w->md5_ctx, w->md5);
        w->finished = true;
    }
    memcpy(out, w->md5, 16);
    return 0;
}

/* The index change for an object: replace bucket/key, trashing the old content. */
static int index_object(writer *w, lt_blob__conn *conn, const char *etag, int64_t now,
                        lt_blob__ids *trash, lt_err *err)
{
    int rc = lt_blob__bucket_check(conn, w->bucket, err);
    if (rc) return rc;
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_OBJECT_GET);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, w->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        char old[LT_BLOB__ID_LEN + 1];
        snprintf(old, sizeof old, "%s", (const char *)sqlite3_column_text(st, 6));
        sqlite3_reset(st);
        rc = lt_blob__trash_add(conn, trash, old, err);
        if (rc) return rc;
    } else if (step != SQLITE_DONE) {
        return lt_blob__sql_fail(conn, "object lookup", err);
    }
    st = lt_blob__stmt(conn, LT_BLOB__SQL_OBJECT_PUT);
    sqlite3_bind_text(st, 1, w->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)w->size);
    sqlite3_bind_text(st, 4, etag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_text(st, 6, w->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, w->metadata_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, w->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return lt_blob__sql_fail(conn, "object insert", err);
    return 0;
}

/* The index change for a part: replace part N of the upload, trashing the old part. */
static int index_part(writer *w, lt_blob__conn *conn, const char *etag, int64_t now,
                      lt_blob__ids *trash, lt_err *err)
{
    int rc = lt_blob__upload_check(conn, w->bucket, w->key, w->upload_id, err);
    if (rc) return rc;
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_PART_GET);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, w->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, w->part_number);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        char old[LT_BLOB__ID_LEN + 1];
        snprintf(old, sizeof old, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        rc = lt_blob__trash_add(conn, trash, old, err);
        if (rc) return rc;
    } else if (step != SQLITE_DONE) {
        return lt_blob__sql_fail(conn, "part lookup", err);
    }
    st = lt_blob__stmt(conn, LT_BLOB__SQL_PART_PUT);
    sqlite3_bind_text(st, 1, w->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, w->part_number);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)w->size);
    sqlite3_bind_text(st, 4, etag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_text(st, 6, w->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return lt_blob__sql_fail(conn, "part insert", err);
    return 0;
}

int lt_blob__local_writer_commit(void *impl, lt_blob_object *out, lt_err *err)
{
    writer *w = impl;
    lt_blob__local *loc = w->loc;
    uint8_t md5[16];
    int rc = lt_blob__local_writer_md5(w, md5, err);
    if (!rc) rc = lt_blob__sync_fd(loc, w->fd, w->tmp_path, err);
    if (!rc) rc = lt_blob__publish(loc, w->id, err);
    char etag[LT_BLOB_ETAG_SIZE];
    lt_hex_encode(etag, md5, 16);
    int64_t now = lt_now_ms();
    lt_blob__ids trash = {0};
    lt_blob__conn *conn = NULL;
    if (!rc) rc = lt_blob__conn_acquire(loc, &conn, err);
    if (!rc) {
        rc = lt_blob__txn_begin(loc, conn, err);
        if (!rc) {
            rc = w->part_number ? index_part(w, conn, etag, now, &trash, err)
                                : index_object(w, conn, etag, now, &trash, err);
            rc = lt_blob__txn_end(loc, conn, rc, err);
        }
        lt_blob__conn_release(loc, conn);
    }
    if (rc) {
        lt_blob__discard(loc, w->id);
    } else {
        unlink(w->tmp_path);
        lt_blob__trash_unlink(loc, &trash);
        if (out) {
            out->key = lt_xstrdup(w->key);
            out->size = w->size;
            memcpy(out->etag, etag, sizeof etag);
            out->last_modified_ms = now;
            out->content_type = w->content_type ? lt_xstrdup(w->content_type) : NULL;
            out->metadata_json = w->metadata_json ? lt_xstrdup(w->metadata_json) : NULL;
        }
    }
    lt_blob__ids_free(&trash);
    writer_free(w);
    return rc;
}

void lt_blob__local_writer_abort(void *impl)
{
    writer *w = impl;
    if (!w) return;
    hash_join(w);
    unlink(w->tmp_path);
    writer_free(w);
}
