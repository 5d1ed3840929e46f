/* Tags and access keys in SQLite. */
#include "store/sqlite_conn.h"

#include <stdlib.h>
#include <string.h>

/* All tags of one call land together or not at all, and the count is checked inside the
 * same transaction so two concurrent AddTags cannot pass the limit together. */
int lt_store__sqlite_tags_put(void *impl, const char *arn, const json_t *tags, lt_err *err)
{
    int rc = lt_store__sqlite.txn_begin(impl, err);
    if (rc) return rc;
    CONN_OR_RETURN(c, impl, err);
    size_t i;
    json_t *tag;
    json_array_foreach(tags, i, tag)
    {
        const char *key = lt_json_str(tag, "Key");
        const char *value = lt_json_str(tag, "Value");
        if (!key) {
            rc = lt_err_set(err, LT_EINVAL, "Tags[%zu] has no Key", i);
            break;
        }
        sqlite3_stmt *st = lt_store__stmt(c, STMT_TAG_PUT, err);
        if (!st) {
            rc = LT_EIO;
            break;
        }
        sqlite3_bind_text(st, 1, arn, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, value ? value : "", -1, SQLITE_STATIC);
        int step = lt_store__step_write(c, st);
        sqlite3_reset(st);
        if (step != SQLITE_DONE) {
            rc = lt_store__fail(c, step, "store: put tag", err);
            break;
        }
    }
    if (!rc) {
        sqlite3_stmt *st = lt_store__stmt(c, STMT_TAG_COUNT, err);
        if (!st)
            rc = LT_EIO;
        else {
            sqlite3_bind_text(st, 1, arn, -1, SQLITE_STATIC);
            int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
            sqlite3_reset(st);
            if (n > LT_STORE_MAX_TAGS)
                rc = lt_err_set(err, LT_ELIMIT,
                                "A resource can have at most %d tags; this request would leave "
                                "%lld on %s.",
                                LT_STORE_MAX_TAGS, (long long)n, arn);
        }
    }
    if (rc) {
        lt_store__sqlite.txn_rollback(impl);
        return rc;
    }
    return lt_store__sqlite.txn_commit(impl, err);
}

int lt_store__sqlite_tags_list(void *impl, const char *arn, json_t **out, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_TAG_LIST, err);
    if (!st) return LT_EIO;
    sqlite3_bind_text(st, 1, arn, -1, SQLITE_STATIC);
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(list, json_pack("{s:s, s:s}", "Key", sqlite3_column_text(st, 0),
                                              "Value", sqlite3_column_text(st, 1)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return lt_store__fail(c, rc, "store: list tags", err);
    }
    *out = list;
    return 0;
}

int lt_store__sqlite_tags_delete(void *impl, const char *arn, const json_t *keys, lt_err *err)
{
    int rc = lt_store__sqlite.txn_begin(impl, err);
    if (rc) return rc;
    CONN_OR_RETURN(c, impl, err);
    size_t i;
    json_t *key;
    json_array_foreach(keys, i, key)
    {
        if (!json_is_string(key)) continue;
        sqlite3_stmt *st = lt_store__stmt(c, STMT_TAG_DELETE, err);
        if (!st) {
            rc = LT_EIO;
            break;
        }
        sqlite3_bind_text(st, 1, arn, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, json_string_value(key), -1, SQLITE_STATIC);
        int step = lt_store__step_write(c, st);
        sqlite3_reset(st);
        if (step != SQLITE_DONE) {
            rc = lt_store__fail(c, step, "store: delete tag", err);
            break;
        }
    }
    if (rc) {
        lt_store__sqlite.txn_rollback(impl);
        return rc;
    }
    return lt_store__sqlite.txn_commit(impl, err);
}

/* Key writes are announced to the secret caches of every process (sqlite_key_cache.c):
 * before the write, and after it is committed — at once outside a transaction, else when
 * the transaction ends. A write that cannot be announced is not made. */
static int announce_key_write(lt_store__conn *c, lt_err *err)
{
    return lt_store__key_cache_announce(&c->owner->keys, err);
}

static int announce_key_written(lt_store__conn *c, lt_err *err)
{
    if (c->txn_depth > 0) {
        c->keys_changed = true;
        return 0;
    }
    return lt_store__key_cache_announce(&c->owner->keys, err);
}

int lt_store__sqlite_key_create(void *impl, const char *id, const char *secret,
                                const char *description, bool is_admin, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    int announced = announce_key_write(c, err);
    if (announced) return announced;
    sqlite3_stmt *st = lt_store__stmt(c, STMT_KEY_INSERT, err);
    if (!st) return LT_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, secret, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, description, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, is_admin ? 1 : 0);
    sqlite3_bind_int64(st, 5, lt_now_ms());
    int rc = lt_store__step_write(c, st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return announce_key_written(c, err);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return lt_err_set(err, LT_ECONFLICT, "access key %s already exists", id);
    return lt_store__fail(c, rc, "store: create key", err);
}

int lt_store__sqlite_key_secret(void *impl, const char *id, char *secret, size_t cap, lt_err *err)
{
    lt_store__sqlite_db *db = impl;
    lt_store__key_stamp stamp;
    if (lt_store__key_cache_get(&db->keys, id, secret, cap, &stamp)) return 0;
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_KEY_SECRET, err);
    if (!st) return LT_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        size_t n = s ? strlen(s) : 0;
        if (n >= cap) {
            sqlite3_reset(st);
            return lt_err_set(err, LT_ELIMIT, "secret of %s is too long", id);
        }
        memcpy(secret, s ? s : "", n + 1);
        sqlite3_reset(st);
        /* Inside a transaction this connection may see its own uncommitted key. */
        if (c->txn_depth == 0) lt_store__key_cache_put(&db->keys, &stamp, id, secret);
        return 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return lt_err_set(err, LT_ENOTFOUND, "access key %s does not exist", id);
    return lt_store__fail(c, rc, "store: read key", err);
}

int lt_store__sqlite_key_get(void *impl, const char *id, lt_store_key_fn fn, void *ctx, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_KEY_GET, err);
    if (!st) return LT_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return lt_err_set(err, LT_ENOTFOUND, "access key %s does not exist", id);
        return lt_store__fail(c, rc, "store: read key", err);
    }
    lt_store_key key = {
        .access_key_id = (const char *)sqlite3_column_text(st, 0),
        .description = (const char *)sqlite3_column_text(st, 1),
        .is_admin = sqlite3_column_int(st, 2) != 0,
        .created_ms = sqlite3_column_int64(st, 3),
        .secret = (const char *)sqlite3_column_text(st, 4),
    };
    rc = fn(ctx, &key, err);
    sqlite3_reset(st);
    return rc;
}

int lt_store__sqlite_key_list(void *impl, lt_store_key_fn fn, void *ctx, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_KEY_LIST, err);
    if (!st) return LT_EIO;
    int rc, status = 0;
    while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        lt_store_key key = {
            .access_key_id = (const char *)sqlite3_column_text(st, 0),
            .description = (const char *)sqlite3_column_text(st, 1),
            .is_admin = sqlite3_column_int(st, 2) != 0,
            .created_ms = sqlite3_column_int64(st, 3),
        };
        status = fn(ctx, &key, err);
    }
    sqlite3_reset(st);
    if (status) return status;
    return rc == SQLITE_DONE ? 0 : lt_store__fail(c, rc, "store: list keys", err);
}

int lt_store__sqlite_key_delete(void *impl, const char *id, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    int announced = announce_key_write(c, err);
    if (announced) return announced;
    sqlite3_stmt *st = lt_store__stmt(c, STMT_KEY_DELETE, err);
    if (!st) return LT_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = lt_store__step_write(c, st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return lt_store__fail(c, rc, "store: delete key", err);
    if (sqlite3_changes(c->db) == 0)
        return lt_err_set(err, LT_ENOTFOUND, "access key %s does not exist", id);
    return announce_key_written(c, err);
}
