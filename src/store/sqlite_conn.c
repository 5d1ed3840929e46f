/* SQLite connections: one per thread (WAL, synchronous=FULL, a busy timeout, foreign keys
 * on), their cached statements, transactions, and the back end's dispatch table. */
#include "store/sqlite_conn.h"

#include <stdlib.h>
#include <string.h>

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_RES_INSERT] =
        "INSERT INTO resources (kind, name, name_lc, arn, status, parent, parent_lc,"
        " creation_ms, modified_ms, doc) VALUES (?1, ?2, lower(?2), ?3, ?4, ?5,"
        " lower(?5), ?6, ?7, ?8)",
    [STMT_RES_GET] = "SELECT " LT_STORE__RESOURCE_COLUMNS
                     " FROM resources WHERE kind = ?1 AND name_lc = lower(?2)",
    [STMT_RES_GET_ARN] = "SELECT " LT_STORE__RESOURCE_COLUMNS " FROM resources WHERE arn = ?1",
    [STMT_RES_UPDATE] = "UPDATE resources SET doc = ?3, status = ?4, parent = ?5,"
                        " parent_lc = lower(?5), modified_ms = ?6"
                        " WHERE kind = ?1 AND name_lc = lower(?2)",
    [STMT_RES_DELETE] = "DELETE FROM resources WHERE kind = ?1 AND name_lc = lower(?2)"
                        " RETURNING arn",
    [STMT_RES_EXISTS] = "SELECT 1 FROM resources WHERE (kind = ?1 AND name_lc = lower(?2))"
                        " OR arn = ?3",
    [STMT_REL_ADD] = "INSERT OR IGNORE INTO relations (kind, from_arn, to_arn) VALUES (?1, ?2, ?3)",
    [STMT_REL_REMOVE] = "DELETE FROM relations WHERE kind = ?1 AND from_arn = ?2 AND to_arn = ?3",
    [STMT_REL_HAS] = "SELECT 1 FROM relations WHERE kind = ?1 AND from_arn = ?2 AND to_arn = ?3",
    [STMT_REL_COUNT_FROM] = "SELECT count(*) FROM relations WHERE kind = ?1 AND from_arn = ?2",
    [STMT_REL_COUNT_TO] = "SELECT count(*) FROM relations WHERE kind = ?1 AND to_arn = ?2",
    [STMT_REL_LIST_FROM] = "SELECT to_arn FROM relations WHERE kind = ?1 AND from_arn = ?2"
                           " ORDER BY to_arn",
    [STMT_REL_LIST_TO] = "SELECT from_arn FROM relations WHERE kind = ?1 AND to_arn = ?2"
                         " ORDER BY from_arn",
    [STMT_REL_DELETE_ARN] = "DELETE FROM relations WHERE from_arn = ?1 OR to_arn = ?1",
    [STMT_TAG_PUT] = "INSERT INTO tags (arn, key, value) VALUES (?1, ?2, ?3)"
                     " ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
    [STMT_TAG_COUNT] = "SELECT count(*) FROM tags WHERE arn = ?1",
    [STMT_TAG_LIST] = "SELECT key, value FROM tags WHERE arn = ?1 ORDER BY key",
    [STMT_TAG_DELETE] = "DELETE FROM tags WHERE arn = ?1 AND key = ?2",
    [STMT_TAG_DELETE_ARN] = "DELETE FROM tags WHERE arn = ?1",
    [STMT_KEY_INSERT] = "INSERT INTO access_keys (access_key_id, secret, description, is_admin,"
                        " created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_KEY_SECRET] = "SELECT secret FROM access_keys WHERE access_key_id = ?1",
    [STMT_KEY_GET] = "SELECT access_key_id, description, is_admin, created_ms, secret"
                     " FROM access_keys WHERE access_key_id = ?1",
    [STMT_KEY_LIST] = "SELECT access_key_id, description, is_admin, created_ms FROM access_keys"
                      " ORDER BY created_ms, access_key_id",
    [STMT_KEY_DELETE] = "DELETE FROM access_keys WHERE access_key_id = ?1",
};

int lt_store__fail(lt_store__conn *c, int rc, const char *what, lt_err *err)
{
    int primary = rc & 0xff;
    /* An injected fault leaves no message on the connection: describe the code instead. */
    const char *msg =
        c && c->db && sqlite3_errcode(c->db) == rc ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    if (primary == SQLITE_CONSTRAINT) return lt_err_set(err, LT_ECONFLICT, "%s: %s", what, msg);
    if (primary == SQLITE_FULL) return lt_err_set(err, LT_ELIMIT, "%s: disk full: %s", what, msg);
    return lt_err_set(err, LT_EIO, "%s: %s", what, msg);
}

int lt_store__exec(sqlite3 *db, const char *sql, lt_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        lt_err_set(err, LT_EIO, "store: %s failed: %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return LT_EIO;
    }
    return 0;
}

static int open_db(const char *path, sqlite3 **out, lt_err *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        lt_err_set(err, LT_EIO, "cannot open the store %s: %s", path,
                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return LT_EIO;
    }
    sqlite3_busy_timeout(db, 10000);
    rc = lt_store__exec(
        db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

lt_store__conn *lt_store__conn_get(lt_store__sqlite_db *s, lt_err *err)
{
    lt_store__conn *c = pthread_getspecific(s->key);
    if (c) return c;
    pthread_mutex_lock(&s->lock);
    c = s->idle;
    if (c) s->idle = c->idle_next;
    pthread_mutex_unlock(&s->lock);
    if (!c) {
        c = lt_xcalloc(1, sizeof *c);
        if (open_db(s->path, &c->db, err) != 0) {
            free(c);
            return NULL;
        }
        c->owner = s;
        pthread_mutex_lock(&s->lock);
        c->next = s->all;
        s->all = c;
        pthread_mutex_unlock(&s->lock);
    }
    c->idle_next = NULL;
    pthread_setspecific(s->key, c);
    return c;
}

/* The thread-exit destructor: a transaction the thread left open is rolled back (its
 * caller never committed it) and the connection waits for the next new thread. */
static void conn_release(void *arg)
{
    lt_store__conn *c = arg;
    if (c->txn_depth) {
        lt_log_warn("store: a thread exited inside a transaction; rolling it back");
        lt_store__exec(c->db, "ROLLBACK", NULL);
        c->txn_depth = 0;
    }
    pthread_mutex_lock(&c->owner->lock);
    c->idle_next = c->owner->idle;
    c->owner->idle = c;
    pthread_mutex_unlock(&c->owner->lock);
}

sqlite3_stmt *lt_store__stmt(lt_store__conn *c, lt_store__stmt_id id, lt_err *err)
{
    sqlite3_stmt *st = c->stmts[id];
    if (!st) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
            lt_store__fail(c, rc, "store: prepare", err);
            return NULL;
        }
        c->stmts[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

bool lt_store__fault_fires(lt_store__sqlite_db *s)
{
    unsigned nth = atomic_load_explicit(&s->fault_nth, memory_order_relaxed);
    if (nth == 0) return false;
    return atomic_fetch_add_explicit(&s->fault_count, 1, memory_order_relaxed) + 1 == nth;
}

int lt_store__step_write(lt_store__conn *c, sqlite3_stmt *st)
{
    if (lt_store__fault_fires(c->owner)) return SQLITE_IOERR;
    return sqlite3_step(st);
}

static void sqlite_fault_inject(void *impl, unsigned nth)
{
    lt_store__sqlite_db *s = impl;
    atomic_store(&s->fault_count, 0);
    atomic_store(&s->fault_nth, nth);
}

static int sqlite_open(void **impl, const char *path, lt_err *err)
{
    sqlite3 *db = NULL;
    int version = 0;
    int rc = open_db(path, &db, err);
    if (!rc) rc = lt_store__sqlite_migrate(db, &version, err);
    sqlite3_close(db);
    if (rc) return rc;
    lt_store__sqlite_db *s = lt_xcalloc(1, sizeof *s);
    s->path = lt_xstrdup(path);
    s->version = version;
    lt_store__key_cache_init(&s->keys, path);
    if (pthread_key_create(&s->key, conn_release) != 0) {
        lt_store__key_cache_destroy(&s->keys);
        free(s->path);
        free(s);
        return lt_err_set(err, LT_EIO, "store: no thread-specific key left for %s", path);
    }
    pthread_mutex_init(&s->lock, NULL);
    *impl = s;
    return 0;
}

static void sqlite_close(void *impl)
{
    lt_store__sqlite_db *s = impl;
    lt_store__conn *c = s->all;
    while (c) {
        lt_store__conn *next = c->next;
        for (int i = 0; i < STMT_COUNT; i++)
            sqlite3_finalize(c->stmts[i]);
        lt_store__list_cache_clear(c);
        sqlite3_close(c->db);
        free(c);
        c = next;
    }
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    lt_store__key_cache_destroy(&s->keys);
    free(s->path);
    free(s);
}

static int sqlite_schema_version(void *impl)
{
    return ((lt_store__sqlite_db *)impl)->version;
}

/* Nested transactions become savepoints, so a helper that wraps its own writes in a
 * transaction composes with a caller's. BEGIN IMMEDIATE takes the write lock up front:
 * a deferred transaction that upgrades later can deadlock against another writer. */
static int sqlite_txn_begin(void *impl, lt_err *err)
{
    lt_store__conn *c = lt_store__conn_get(impl, err);
    if (!c) return err ? err->code : LT_EIO;
    int rc = lt_store__exec(c->db, c->txn_depth ? "SAVEPOINT lt" : "BEGIN IMMEDIATE", err);
    if (!rc) c->txn_depth++;
    return rc;
}

/* A key written inside a transaction is announced again once the transaction ends
 * (sqlite_key_cache.c): before that, other connections still read the old state. */
static void announce_keys_at_end(lt_store__conn *c)
{
    if (c->txn_depth == 0 && c->keys_changed) {
        c->keys_changed = false;
        lt_store__key_cache_announce(&c->owner->keys, NULL);
    }
}

static void sqlite_txn_rollback(void *impl)
{
    lt_store__conn *c = lt_store__conn_get(impl, NULL);
    if (!c || c->txn_depth == 0) return;
    if (c->txn_depth > 1)
        lt_store__exec(c->db, "ROLLBACK TO lt; RELEASE lt", NULL);
    else
        lt_store__exec(c->db, "ROLLBACK", NULL);
    c->txn_depth--;
    announce_keys_at_end(c);
}

/* A failed commit rolls back, so the connection never stays inside a transaction that
 * its caller believes ended. */
static int sqlite_txn_commit(void *impl, lt_err *err)
{
    lt_store__conn *c = lt_store__conn_get(impl, err);
    if (!c || c->txn_depth == 0) return lt_err_set(err, LT_EINTERNAL, "commit without begin");
    int rc = lt_store__fault_fires(c->owner)
                 ? lt_err_set(err, LT_EIO, "store: commit failed: disk I/O error")
                 : lt_store__exec(c->db, c->txn_depth > 1 ? "RELEASE lt" : "COMMIT", err);
    if (rc) {
        sqlite_txn_rollback(impl);
    } else {
        c->txn_depth--;
        announce_keys_at_end(c);
    }
    return rc;
}

char *lt_store__lower(const char *s)
{
    char *out = lt_xstrdup(s);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    return out;
}

void lt_store__bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static char *column_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? lt_xstrdup((const char *)t) : NULL;
}

void lt_store__row_to_resource(sqlite3_stmt *st, lt_store_resource *out)
{
    out->kind = column_dup(st, 0);
    out->name = column_dup(st, 1);
    out->arn = column_dup(st, 2);
    out->status = column_dup(st, 3);
    out->parent = column_dup(st, 4);
    out->creation_ms = sqlite3_column_int64(st, 5);
    out->modified_ms = sqlite3_column_int64(st, 6);
    out->doc = column_dup(st, 7);
}

const lt_store__backend lt_store__sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .txn_begin = sqlite_txn_begin,
    .txn_commit = sqlite_txn_commit,
    .txn_rollback = sqlite_txn_rollback,
    .fault_inject = sqlite_fault_inject,
    .resource_create = lt_store__sqlite_resource_create,
    .resource_get = lt_store__sqlite_resource_get,
    .resource_get_by_arn = lt_store__sqlite_resource_get_by_arn,
    .resource_update = lt_store__sqlite_resource_update,
    .resource_delete = lt_store__sqlite_resource_delete,
    .resource_list = lt_store__sqlite_list,
    .relation_add = lt_store__sqlite_relation_add,
    .relation_remove = lt_store__sqlite_relation_remove,
    .relation_has = lt_store__sqlite_relation_has,
    .relation_count = lt_store__sqlite_relation_count,
    .relation_list = lt_store__sqlite_relation_list,
    .tags_put = lt_store__sqlite_tags_put,
    .tags_list = lt_store__sqlite_tags_list,
    .tags_delete = lt_store__sqlite_tags_delete,
    .key_create = lt_store__sqlite_key_create,
    .key_secret = lt_store__sqlite_key_secret,
    .key_get = lt_store__sqlite_key_get,
    .key_list = lt_store__sqlite_key_list,
    .key_delete = lt_store__sqlite_key_delete,
};
