/* Resources in SQLite: create, get, update, delete (listing is sqlite_list.c). */
#include "store/sqlite_conn.h"

#include <stdlib.h>
#include <string.h>

int lt_store__sqlite_resource_create(void *impl, const lt_store_resource *res, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_RES_INSERT, err);
    if (!st) return LT_EIO;
    lt_store__bind_text(st, 1, res->kind);
    lt_store__bind_text(st, 2, res->name);
    lt_store__bind_text(st, 3, res->arn);
    lt_store__bind_text(st, 4, res->status);
    lt_store__bind_text(st, 5, res->parent);
    sqlite3_bind_int64(st, 6, res->creation_ms);
    sqlite3_bind_int64(st, 7, res->modified_ms);
    lt_store__bind_text(st, 8, res->doc);
    int rc = lt_store__step_write(c, st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return lt_err_set(err, LT_ECONFLICT, "%s '%s' already exists.", res->kind, res->name);
    return lt_store__fail(c, rc, "store: insert resource", err);
}

static int get_one(lt_store__conn *c, sqlite3_stmt *st, lt_store_resource *out, const char *what,
                   lt_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        lt_store__row_to_resource(st, out);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return lt_err_set(err, LT_ENOTFOUND, "%s does not exist", what);
    return lt_store__fail(c, rc, "store: read resource", err);
}

int lt_store__sqlite_resource_get(void *impl, const char *kind, const char *name,
                                  lt_store_resource *out, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_RES_GET, err);
    if (!st) return LT_EIO;
    lt_store__bind_text(st, 1, kind);
    lt_store__bind_text(st, 2, name);
    return get_one(c, st, out, name, err);
}

int lt_store__sqlite_resource_get_by_arn(void *impl, const char *arn, lt_store_resource *out,
                                         lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_RES_GET_ARN, err);
    if (!st) return LT_EIO;
    lt_store__bind_text(st, 1, arn);
    return get_one(c, st, out, arn, err);
}

int lt_store__sqlite_resource_update(void *impl, const lt_store_resource *res, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_RES_UPDATE, err);
    if (!st) return LT_EIO;
    lt_store__bind_text(st, 1, res->kind);
    lt_store__bind_text(st, 2, res->name);
    lt_store__bind_text(st, 3, res->doc);
    lt_store__bind_text(st, 4, res->status);
    lt_store__bind_text(st, 5, res->parent);
    sqlite3_bind_int64(st, 6, res->modified_ms);
    int rc = lt_store__step_write(c, st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return lt_store__fail(c, rc, "store: update resource", err);
    if (sqlite3_changes(c->db) == 0)
        return lt_err_set(err, LT_ENOTFOUND, "%s '%s' does not exist", res->kind, res->name);
    return 0;
}

static int run_arn_stmt(lt_store__conn *c, lt_store__stmt_id id, const char *arn, lt_err *err)
{
    sqlite3_stmt *st = lt_store__stmt(c, id, err);
    if (!st) return LT_EIO;
    lt_store__bind_text(st, 1, arn);
    int rc = lt_store__step_write(c, st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : lt_store__fail(c, rc, "store: delete", err);
}

/* The resource, its tags and its relations go in one transaction. */
int lt_store__sqlite_resource_delete(void *impl, const char *kind, const char *name, lt_err *err)
{
    int rc = lt_store__sqlite.txn_begin(impl, err);
    if (rc) return rc;
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = lt_store__stmt(c, STMT_RES_DELETE, err);
    if (!st) {
        lt_store__sqlite.txn_rollback(impl);
        return LT_EIO;
    }
    lt_store__bind_text(st, 1, kind);
    lt_store__bind_text(st, 2, name);
    int step = lt_store__step_write(c, st);
    char *arn = step == SQLITE_ROW ? lt_xstrdup((const char *)sqlite3_column_text(st, 0)) : NULL;
    if (step == SQLITE_ROW) step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        rc = lt_store__fail(c, step, "store: delete resource", err);
    else if (!arn)
        rc = lt_err_set(err, LT_ENOTFOUND, "%s '%s' does not exist", kind, name);
    if (!rc) rc = run_arn_stmt(c, STMT_TAG_DELETE_ARN, arn, err);
    if (!rc) rc = run_arn_stmt(c, STMT_REL_DELETE_ARN, arn, err);
    free(arn);
    if (rc) {
        lt_store__sqlite.txn_rollback(impl);
        return rc;
    }
    return lt_store__sqlite.txn_commit(impl, err);
}
