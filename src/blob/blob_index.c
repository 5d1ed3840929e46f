/* The local back end's index: the SQLite schema, a pool of connections with their
 * prepared statements, and write transactions.
 *
 * Why a pool rather than one mutex-protected connection: in WAL mode readers proceed
 * while a writer commits, but only on their own connections. Each caller borrows an
 * idle connection (opening one when none is idle, so the pool grows to the number of
 * concurrent callers) and returns it. Index writes take write_mu first, so writers of
 * this process queue on a mutex instead of spinning in SQLite's busy handler; the
 * busy timeout still covers a second process on the same root. */
#include "blob/blob_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS bucket ("
    "  name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS object ("
    "  bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
    "  last_modified_ms INTEGER NOT NULL, content_type TEXT, metadata TEXT,"
    "  data_id TEXT NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS object_data ON object(data_id);"
    "CREATE TABLE IF NOT EXISTS upload ("
    "  id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,"
    "  initiated_ms INTEGER NOT NULL, content_type TEXT, metadata TEXT) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS upload_key ON upload(bucket, key, id);"
    "CREATE TABLE IF NOT EXISTS part ("
    "  upload_id TEXT NOT NULL, number INTEGER NOT NULL, size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, data_id TEXT NOT NULL,"
    "  PRIMARY KEY (upload_id, number)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS part_data ON part(data_id);"
    "CREATE TABLE IF NOT EXISTS trash (data_id TEXT PRIMARY KEY) WITHOUT ROWID;"
    "PRAGMA user_version = 1;";

#define OBJECT_COLS "key, size, etag, last_modified_ms, content_type, metadata"

static const char *const sql_text[LT_BLOB__SQL__COUNT] = {
    [LT_BLOB__SQL_BUCKET_INSERT] = "INSERT INTO bucket(name, created_ms) VALUES (?1, ?2)",
    [LT_BLOB__SQL_BUCKET_GET] = "SELECT name, created_ms FROM bucket WHERE name = ?1",
    [LT_BLOB__SQL_BUCKET_DELETE] = "DELETE FROM bucket WHERE name = ?1",
    [LT_BLOB__SQL_BUCKET_LIST] = "SELECT name, created_ms FROM bucket ORDER BY name",
    [LT_BLOB__SQL_BUCKET_HAS_OBJECTS] = "SELECT 1 FROM object WHERE bucket = ?1 LIMIT 1",
    [LT_BLOB__SQL_OBJECT_GET] =
        "SELECT " OBJECT_COLS ", data_id FROM object WHERE bucket = ?1 AND key = ?2",
    [LT_BLOB__SQL_OBJECT_PUT] =
        "INSERT OR REPLACE INTO object(bucket, key, size, etag, last_modified_ms,"
        " content_type, metadata, data_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [LT_BLOB__SQL_OBJECT_DELETE] = "DELETE FROM object WHERE bucket = ?1 AND key = ?2",
    /* An upper bound bound as a zero-length BLOB means "none": every TEXT sorts below
     * every BLOB in SQLite, and the range still drives the primary-key index. */
    [LT_BLOB__SQL_LIST_AFTER] = "SELECT " OBJECT_COLS " FROM object WHERE bucket = ?1"
                                " AND key > ?2 AND key < ?3 ORDER BY key LIMIT ?4",
    [LT_BLOB__SQL_LIST_FROM] = "SELECT " OBJECT_COLS " FROM object WHERE bucket = ?1"
                               " AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4",
    [LT_BLOB__SQL_TRASH_ADD] = "INSERT OR IGNORE INTO trash(data_id) VALUES (?1)",
    [LT_BLOB__SQL_TRASH_REMOVE] = "DELETE FROM trash WHERE data_id = ?1",
    [LT_BLOB__SQL_TRASH_ALL] = "SELECT data_id FROM trash",
    [LT_BLOB__SQL_DATA_REFERENCED] = "SELECT 1 FROM object WHERE data_id = ?1"
                                     " UNION ALL SELECT 1 FROM part WHERE data_id = ?1 LIMIT 1",
    [LT_BLOB__SQL_UPLOAD_INSERT] =
        "INSERT INTO upload(id, bucket, key, initiated_ms, content_type, metadata)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [LT_BLOB__SQL_UPLOAD_GET] =
        "SELECT bucket, key, initiated_ms, content_type, metadata FROM upload WHERE id = ?1",
    [LT_BLOB__SQL_UPLOAD_DELETE] = "DELETE FROM upload WHERE id = ?1",
    /* ?4/?5: resume after (key_marker, id_marker); an id marker bound as a BLOB never
     * matches, which leaves "key > key_marker". */
    [LT_BLOB__SQL_UPLOAD_LIST] =
        "SELECT id, key, initiated_ms FROM upload WHERE bucket = ?1 AND key >= ?2"
        " AND key < ?3 AND (key > ?4 OR (key = ?4 AND id > ?5)) ORDER BY key, id LIMIT ?6",
    [LT_BLOB__SQL_UPLOADS_OF_BUCKET] = "SELECT id FROM upload WHERE bucket = ?1",
    [LT_BLOB__SQL_PART_PUT] =
        "INSERT OR REPLACE INTO part(upload_id, number, size, etag, last_modified_ms,"
        " data_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [LT_BLOB__SQL_PART_GET] = "SELECT data_id FROM part WHERE upload_id = ?1 AND number = ?2",
    [LT_BLOB__SQL_PART_LIST] = "SELECT number, size, etag, last_modified_ms, data_id FROM part"
                               " WHERE upload_id = ?1 AND number > ?2 ORDER BY number LIMIT ?3",
    [LT_BLOB__SQL_PARTS_OF_UPLOAD] = "SELECT data_id FROM part WHERE upload_id = ?1",
    [LT_BLOB__SQL_PARTS_DELETE] = "DELETE FROM part WHERE upload_id = ?1",
};

void lt_blob__ids_push(lt_blob__ids *ids, const char *id)
{
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? 2 * ids->cap : 8;
        ids->v = lt_xrealloc(ids->v, ids->cap * sizeof *ids->v);
    }
    snprintf(ids->v[ids->n++], LT_BLOB__ID_LEN + 1, "%s", id);
}

void lt_blob__ids_free(lt_blob__ids *ids)
{
    free(ids->v);
    ids->v = NULL;
    ids->n = ids->cap = 0;
}

int lt_blob__sql_fail(lt_blob__conn *conn, const char *what, lt_err *err)
{
    return lt_err_set(err, LT_EIO, "blob index: %s failed: %s", what, sqlite3_errmsg(conn->db));
}

static int exec(lt_blob__conn *conn, const char *sql, lt_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(conn->db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    int rc = lt_err_set(err, LT_EIO, "blob index: '%.40s' failed: %s", sql,
                        msg ? msg : sqlite3_errmsg(conn->db));
    sqlite3_free(msg);
    return rc;
}

static void conn_free(lt_blob__conn *conn)
{
    if (!conn) return;
    for (int i = 0; i < LT_BLOB__SQL__COUNT; i++)
        sqlite3_finalize(conn->stmt[i]);
    sqlite3_close_v2(conn->db);
    free(conn);
}

static int conn_open(lt_blob__local *loc, lt_blob__conn **out, lt_err *err)
{
    lt_blob__conn *conn = lt_xcalloc(1, sizeof *conn);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(loc->db_path, &conn->db, flags, NULL) != SQLITE_OK) {
        int rc = lt_err_set(err, LT_EIO, "cannot open blob index %s: %s", loc->db_path,
                            conn->db ? sqlite3_errmsg(conn->db) : "out of memory");
        conn_free(conn);
        return rc;
    }
    sqlite3_busy_timeout(conn->db, 10000);
    int rc = exec(conn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err);
    if (rc) {
        conn_free(conn);
        return rc;
    }
    *out = conn;
    return 0;
}

int lt_blob__index_init(lt_blob__local *loc, lt_err *err)
{
    loc->db_path = lt_xasprintf("%s/index.db", loc->root);
    lt_blob__conn *conn = NULL;
    int rc = conn_open(loc, &conn, err);
    if (rc) return rc;
    rc = exec(conn, "BEGIN IMMEDIATE", err);
    if (!rc) rc = exec(conn, schema_sql, err);
    if (!rc) rc = exec(conn, "COMMIT", err);
    if (rc) {
        sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
        conn_free(conn);
        return rc;
    }
    lt_blob__conn_release(loc, conn);
    return 0;
}

void lt_blob__index_close(lt_blob__local *loc)
{
    while (loc->idle) {
        lt_blob__conn *next = loc->idle->next;
        conn_free(loc->idle);
        loc->idle = next;
    }
}

int lt_blob__conn_acquire(lt_blob__local *loc, lt_blob__conn **out, lt_err *err)
{
    pthread_mutex_lock(&loc->pool_mu);
    lt_blob__conn *conn = loc->idle;
    if (conn) loc->idle = conn->next;
    pthread_mutex_unlock(&loc->pool_mu);
    if (conn) {
        conn->next = NULL;
        *out = conn;
        return 0;
    }
    return conn_open(loc, out, err);
}

void lt_blob__conn_release(lt_blob__local *loc, lt_blob__conn *conn)
{
    if (!conn) return;
    /* A statement left mid-step would pin a WAL read snapshot while the connection idles. */
    for (int i = 0; i < LT_BLOB__SQL__COUNT; i++)
        if (conn->stmt[i]) sqlite3_reset(conn->stmt[i]);
    pthread_mutex_lock(&loc->pool_mu);
    conn->next = loc->idle;
    loc->idle = conn;
    pthread_mutex_unlock(&loc->pool_mu);
}

sqlite3_stmt *lt_blob__stmt(lt_blob__conn *conn, lt_blob__sql which)
{
    sqlite3_stmt *st = conn->stmt[which];
    if (!st) {
        if (sqlite3_prepare_v3(conn->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT, &st,
                               NULL) != SQLITE_OK) {
            /* The SQL is ours and fixed: failing to prepare it is a bug or a broken db. */
            lt_log_error("blob index: cannot prepare statement %d: %s", (int)which,
                         sqlite3_errmsg(conn->db));
            return NULL;
        }
        conn->stmt[which] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void ids_append(lt_blob__ids *dst, const lt_blob__ids *src)
{
    for (size_t i = 0; i < src->n; i++)
        lt_blob__ids_push(dst, src->v[i]);
}

int lt_blob__txn_begin(lt_blob__local *loc, lt_blob__conn *conn, lt_err *err)
{
    pthread_mutex_lock(&loc->write_mu);
    int rc = exec(conn, "BEGIN IMMEDIATE", err);
    if (rc) {
        pthread_mutex_unlock(&loc->write_mu);
        return rc;
    }
    pthread_mutex_lock(&loc->trash_mu);
    loc->trash_in_txn = loc->trash_done;
    memset(&loc->trash_done, 0, sizeof loc->trash_done);
    pthread_mutex_unlock(&loc->trash_mu);
    /* Files already unlinked: their trash rows go with this transaction. */
    for (size_t i = 0; i < loc->trash_in_txn.n; i++) {
        sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_TRASH_REMOVE);
        if (!st) break;
        sqlite3_bind_text(st, 1, loc->trash_in_txn.v[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = lt_blob__sql_fail(conn, "trash cleanup", err);
            lt_blob__txn_rollback(loc, conn);
            return rc;
        }
    }
    return 0;
}

static void txn_end(lt_blob__local *loc, bool committed)
{
    if (!committed) {
        pthread_mutex_lock(&loc->trash_mu);
        ids_append(&loc->trash_done, &loc->trash_in_txn);
        pthread_mutex_unlock(&loc->trash_mu);
    }
    lt_blob__ids_free(&loc->trash_in_txn);
    pthread_mutex_unlock(&loc->write_mu);
}

void lt_blob__txn_rollback(lt_blob__local *loc, lt_blob__conn *conn)
{
    sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
    txn_end(loc, false);
}

int lt_blob__txn_end(lt_blob__local *loc, lt_blob__conn *conn, int rc, lt_err *err)
{
    if (rc) {
        lt_blob__txn_rollback(loc, conn);
        return rc;
    }
    return lt_blob__txn_commit(loc, conn, err);
}

int lt_blob__txn_commit(lt_blob__local *loc, lt_blob__conn *conn, lt_err *err)
{
    int rc = 0;
    if (lt_blob__fault(loc->front, LT_BLOB_FAULT_COMMIT))
        rc = lt_err_set(err, LT_EIO, "blob index: COMMIT failed: %s (injected)", strerror(EIO));
    else
        rc = exec(conn, "COMMIT", err);
    if (rc) {
        lt_blob__txn_rollback(loc, conn);
        return rc;
    }
    txn_end(loc, true);
    return 0;
}

int lt_blob__trash_add(lt_blob__conn *conn, lt_blob__ids *ids, const char *id, lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_TRASH_ADD);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return lt_blob__sql_fail(conn, "trash insert", err);
    lt_blob__ids_push(ids, id);
    return 0;
}

void lt_blob__trash_unlink(lt_blob__local *loc, lt_blob__ids *ids)
{
    for (size_t i = 0; i < ids->n; i++) {
        char *path = lt_blob__data_path(loc, ids->v[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            lt_log_warn("blob: cannot remove %s: %s (retried at next open)", path, strerror(errno));
        free(path);
    }
    pthread_mutex_lock(&loc->trash_mu);
    ids_append(&loc->trash_done, ids);
    pthread_mutex_unlock(&loc->trash_mu);
    lt_blob__ids_free(ids);
}

static char *column_strdup(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return NULL;
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? lt_xstrndup((const char *)s, (size_t)sqlite3_column_bytes(st, col)) : NULL;
}

void lt_blob__row_object(sqlite3_stmt *st, int first, lt_blob_object *obj)
{
    obj->key = column_strdup(st, first);
    obj->size = (uint64_t)sqlite3_column_int64(st, first + 1);
    const unsigned char *etag = sqlite3_column_text(st, first + 2);
    snprintf(obj->etag, sizeof obj->etag, "%s", etag ? (const char *)etag : "");
    obj->last_modified_ms = sqlite3_column_int64(st, first + 3);
    obj->content_type = column_strdup(st, first + 4);
    obj->metadata_json = column_strdup(st, first + 5);
}

int lt_blob__bucket_check(lt_blob__conn *conn, const char *bucket, lt_err *err)
{
    sqlite3_stmt *st = lt_blob__stmt(conn, LT_BLOB__SQL_BUCKET_GET);
    if (!st) return lt_blob__sql_fail(conn, "prepare", err);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step == SQLITE_ROW) return 0;
    if (step == SQLITE_DONE)
        return lt_err_set(err, LT_ENOTFOUND, "bucket '%s' does not exist", bucket);
    return lt_blob__sql_fail(conn, "bucket lookup", err);
}
