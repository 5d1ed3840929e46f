/* Private to src/blob: the back-end vtable that blob.c dispatches through, and the
 * shared state of the embedded local back end (blob_local.c, blob_index.c,
 * blob_writer.c, blob_list.c, blob_multipart.c). */
#ifndef LT_BLOB_INTERNAL_H
#define LT_BLOB_INTERNAL_H

#include "blob/blob.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

/* A back end. blob.c has already checked names, keys and part numbers. */
typedef struct lt_blob__ops {
    const char *name;
    void (*close)(lt_blob *blob);
    int (*bucket_create)(lt_blob *blob, const char *name, lt_err *err);
    int (*bucket_head)(lt_blob *blob, const char *name, lt_blob_bucket *out, lt_err *err);
    int (*bucket_delete)(lt_blob *blob, const char *name, lt_err *err);
    int (*bucket_list)(lt_blob *blob, lt_blob_bucket **out, size_t *n, lt_err *err);
    int (*object_stat)(lt_blob *blob, const char *bucket, const char *key, lt_blob_object *out,
                       lt_err *err);
    int (*object_open)(lt_blob *blob, const char *bucket, const char *key, int *fd,
                       lt_blob_object *out, lt_err *err);
    int (*object_delete_many)(lt_blob *blob, const char *bucket, const char *const *keys, size_t n,
                              lt_err *err);
    int (*object_copy)(lt_blob *blob, const char *src_bucket, const char *src_key,
                       const char *dst_bucket, const char *dst_key, const lt_blob_put_opts *replace,
                       lt_blob_object *out, lt_err *err);
    int (*list)(lt_blob *blob, const char *bucket, const lt_blob_list_params *params,
                lt_blob_list_result *out, lt_err *err);
    /* Writers: the back end allocates its own state in *impl. part_number == 0 for an
     * object, else upload_id names the upload. */
    int (*writer_open)(lt_blob *blob, const char *bucket, const char *key,
                       const lt_blob_put_opts *opts, const char *upload_id, int part_number,
                       void **impl, lt_err *err);
    int (*writer_write)(void *impl, const void *data, size_t len, lt_err *err);
    uint64_t (*writer_size)(const void *impl);
    int (*writer_md5)(void *impl, uint8_t out[16], lt_err *err);
    int (*writer_commit)(void *impl, lt_blob_object *out, lt_err *err); /* frees impl */
    void (*writer_abort)(void *impl);                                   /* frees impl */
    int (*upload_create)(lt_blob *blob, const char *bucket, const char *key,
                         const lt_blob_put_opts *opts, char id[LT_BLOB_UPLOAD_ID_SIZE],
                         lt_err *err);
    int (*upload_complete)(lt_blob *blob, const char *bucket, const char *key,
                           const char *upload_id, const lt_blob_part_ref *parts, size_t n,
                           lt_blob_object *out, lt_blob_complete_fault *fault, lt_err *err);
    int (*upload_abort)(lt_blob *blob, const char *bucket, const char *key, const char *upload_id,
                        lt_err *err);
    int (*upload_parts)(lt_blob *blob, const char *bucket, const char *key, const char *upload_id,
                        int after_part, size_t max, lt_blob_part **out, size_t *n, bool *truncated,
                        lt_err *err);
    int (*upload_list)(lt_blob *blob, const char *bucket, const char *prefix,
                       const char *key_marker, const char *id_marker, size_t max,
                       lt_blob_upload **out, size_t *n, bool *truncated, lt_err *err);
} lt_blob__ops;

struct lt_blob {
    const lt_blob__ops *ops;
    void *impl;
    atomic_uint fault_countdown[LT_BLOB_FAULT__COUNT];
};

struct lt_blob_writer {
    lt_blob *blob;
    void *impl;
};

/* True when this call of op is the one armed to fail (errno is then set to EIO). */
bool lt_blob__fault(lt_blob *blob, lt_blob_fault_op op);

/* ---- the local back end ------------------------------------------------------------- */

extern const lt_blob__ops lt_blob__local_ops;
int lt_blob__local_open(lt_blob *blob, const char *root, lt_err *err);

/* Prepared statements, one set per pooled connection (blob_index.c holds the SQL). */
typedef enum {
    LT_BLOB__SQL_BUCKET_INSERT,
    LT_BLOB__SQL_BUCKET_GET,
    LT_BLOB__SQL_BUCKET_DELETE,
    LT_BLOB__SQL_BUCKET_LIST,
    LT_BLOB__SQL_BUCKET_HAS_OBJECTS,
    LT_BLOB__SQL_OBJECT_GET,
    LT_BLOB__SQL_OBJECT_PUT,
    LT_BLOB__SQL_OBJECT_DELETE,
    LT_BLOB__SQL_LIST_AFTER, /* key > lower AND key < upper */
    LT_BLOB__SQL_LIST_FROM,  /* key >= lower AND key < upper */
    LT_BLOB__SQL_TRASH_ADD,
    LT_BLOB__SQL_TRASH_REMOVE,
    LT_BLOB__SQL_TRASH_ALL,
    LT_BLOB__SQL_DATA_REFERENCED,
    LT_BLOB__SQL_UPLOAD_INSERT,
    LT_BLOB__SQL_UPLOAD_GET,
    LT_BLOB__SQL_UPLOAD_DELETE,
    LT_BLOB__SQL_UPLOAD_LIST,
    LT_BLOB__SQL_UPLOADS_OF_BUCKET,
    LT_BLOB__SQL_PART_PUT,
    LT_BLOB__SQL_PART_GET,
    LT_BLOB__SQL_PART_LIST,
    LT_BLOB__SQL_PARTS_OF_UPLOAD,
    LT_BLOB__SQL_PARTS_DELETE,
    LT_BLOB__SQL__COUNT
} lt_blob__sql;

typedef struct lt_blob__conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[LT_BLOB__SQL__COUNT];
    struct lt_blob__conn *next;
} lt_blob__conn;

enum { LT_BLOB__ID_LEN = 32 }; /* content file ids and upload ids: 32 hex characters */

/* A growable list of content ids. */
typedef struct lt_blob__ids {
    char (*v)[LT_BLOB__ID_LEN + 1];
    size_t n, cap;
} lt_blob__ids;
void lt_blob__ids_push(lt_blob__ids *ids, const char *id);
void lt_blob__ids_free(lt_blob__ids *ids);

typedef struct lt_blob__local {
    lt_blob *front;
    char *root, *tmp_dir, *data_dir, *db_path;
    int lock_fd;
    /* connection pool */
    pthread_mutex_t pool_mu;
    lt_blob__conn *idle;
    /* serialises index writes in this process */
    pthread_mutex_t write_mu;
    /* content ids already unlinked whose trash rows the next write transaction drops
     * (trash_mu); trash_in_txn holds them while that transaction runs (write_mu) */
    pthread_mutex_t trash_mu;
    lt_blob__ids trash_done;
    lt_blob__ids trash_in_txn;
} lt_blob__local;

static inline lt_blob__local *lt_blob__local_of(lt_blob *blob)
{
    return (lt_blob__local *)blob->impl;
}

/* blob_index.c: schema, pool, statements and write transactions. */
int lt_blob__index_init(lt_blob__local *loc, lt_err *err);
void lt_blob__index_close(lt_blob__local *loc);
int lt_blob__conn_acquire(lt_blob__local *loc, lt_blob__conn **out, lt_err *err);
void lt_blob__conn_release(lt_blob__local *loc, lt_blob__conn *conn);
/* The statement, reset and with its bindings cleared. */
sqlite3_stmt *lt_blob__stmt(lt_blob__conn *conn, lt_blob__sql which);
/* Maps a failed sqlite3 call to LT_EIO with SQLite's message and `what`. */
int lt_blob__sql_fail(lt_blob__conn *conn, const char *what, lt_err *err);
/* BEGIN IMMEDIATE under write_mu (also drops trash rows of files already unlinked). */
int lt_blob__txn_begin(lt_blob__local *loc, lt_blob__conn *conn, lt_err *err);
/* COMMIT (fault point LT_BLOB_FAULT_COMMIT), or ROLLBACK on failure; releases write_mu. */
int lt_blob__txn_commit(lt_blob__local *loc, lt_blob__conn *conn, lt_err *err);
void lt_blob__txn_rollback(lt_blob__local *loc, lt_blob__conn *conn);
/* Ends a transaction: commits when rc is 0, else rolls back and returns rc unchanged. */
int lt_blob__txn_end(lt_blob__local *loc, lt_blob__conn *conn, int rc, lt_err *err);
/* Within a transaction: records that content id is no longer referenced (a trash row,
 * so a crash before the unlink is finished by the next open) and appends it to ids. */
int lt_blob__trash_add(lt_blob__conn *conn, lt_blob__ids *ids, const char *id, lt_err *err);
/* After the commit: unlinks the files, hands their ids to the next transaction (which
 * drops the trash rows) and empties ids. */
void lt_blob__trash_unlink(lt_blob__local *loc, lt_blob__ids *ids);
/* Fills obj from a row whose columns are key, size, etag, last_modified_ms,
 * content_type, metadata starting at column `first`. */
void lt_blob__row_object(sqlite3_stmt *st, int first, lt_blob_object *obj);
/* 0 when the bucket exists; LT_ENOTFOUND naming it otherwise. */
int lt_blob__bucket_check(lt_blob__conn *conn, const char *bucket, lt_err *err);

/* blob_local.c: content file paths and publication. */
void lt_blob__new_id(char id[LT_BLOB__ID_LEN + 1]);
/* New strings: ROOT/data/XX/ID and ROOT/tmp/ID. */
char *lt_blob__data_path(lt_blob__local *loc, const char *id);
char *lt_blob__tmp_path(lt_blob__local *loc, const char *id);
/* Links tmp/ID into data/XX/ID and fsyncs data/XX (the content must be synced first). */
int lt_blob__publish(lt_blob__local *loc, const char *id, lt_err *err);
/* Undoes what a failed write left: data/XX/ID (if linked) and tmp/ID. */
void lt_blob__discard(lt_blob__local *loc, const char *id);
/* Copies len bytes from in_fd (from offset 0) to out_fd at *out_off with
 * copy_file_range, falling back to read/write where unsupported. */
int lt_blob__copy_range(lt_blob__local *loc, int in_fd, int out_fd, uint64_t len, uint64_t *out_off,
                        lt_err *err);
/* fdatasync (fault point LT_BLOB_FAULT_SYNC). */
int lt_blob__sync_fd(lt_blob__local *loc, int fd, const char *what, lt_err *err);

/* blob_writer.c */
int lt_blob__local_writer_open(lt_blob *blob, const char *bucket, const char *key,
                               const lt_blob_put_opts *opts, const char *upload_id, int part_number,
                               void **impl, lt_err *err);
int lt_blob__local_writer_write(void *impl, const void *data, size_t len, lt_err *err);
uint64_t lt_blob__local_writer_size(const void *impl);
int lt_blob__local_writer_md5(void *impl, uint8_t out[16], lt_err *err);
int lt_blob__local_writer_commit(void *impl, lt_blob_object *out, lt_err *err);
void lt_blob__local_writer_abort(void *impl);

/* blob_list.c */
/* The smallest string greater than every string starting with p[0..len): p without its
 * trailing 0xFF bytes, last byte incremented. New string in *out; false when none. */
bool lt_blob__successor(const char *p, size_t len, char **out, size_t *out_len);
int lt_blob__local_list(lt_blob *blob, const char *bucket, const lt_blob_list_params *params,
                        lt_blob_list_result *out, lt_err *err);

/* blob_multipart.c */
int lt_blob__local_upload_create(lt_blob *blob, const char *bucket, const char *key,
                                 const lt_blob_put_opts *opts, char id[LT_BLOB_UPLOAD_ID_SIZE],
                                 lt_err *err);
/* Within a transaction: 0 when upload_id exists for bucket/key, else LT_ENOTFOUND. */
int lt_blob__upload_check(lt_blob__conn *conn, const char *bucket, const char *key,
                          const char *upload_id, lt_err *err);
int lt_blob__local_upload_complete(lt_blob *blob, const char *bucket, const char *key,
                                   const char *upload_id, const lt_blob_part_ref *parts, size_t n,
                                   lt_blob_object *out, lt_blob_complete_fault *fault, lt_err *err);
int lt_blob__local_upload_abort(lt_blob *blob, const char *bucket, const char *key,
                                const char *upload_id, lt_err *err);
int lt_blob__local_upload_parts(lt_blob *blob, const char *bucket, const char *key,
                                const char *upload_id, int after_part, size_t max,
                                lt_blob_part **out, size_t *n, bool *truncated, lt_err *err);
int lt_blob__local_upload_list(lt_blob *blob, const char *bucket, const char *prefix,
                               const char *key_marker, const char *id_marker, size_t max,
                               lt_blob_upload **out, size_t *n, bool *truncated, lt_err *err);
/* Within a transaction: drops every upload of bucket, trashing their part files. */
int lt_blob__uploads_drop_bucket(lt_blob__conn *conn, const char *bucket, lt_blob__ids *trash,
                                 lt_err *err);

#endif
