/* Relations in SQLite: directed (kind, from_arn, to_arn) rows, indexed both ways. */
#include "store/sqlite_conn.h"

static sqlite3_stmt *bound(lt_store__conn *c, lt_store__stmt_id id, const char *kind, const char *a,
                           const char *b, lt_err *err)
{
    sqlite3_stmt *st = lt_store__stmt(c, id, err);
    if (!st) return NULL;
    lt_store__bind_text(st, 1, kind);
    lt_store__bind_text(st, 2, a);
    if (b) lt_store__bind_text(st, 3, b);
    return st;
}

int lt_store__sqlite_relation_add(void *impl, const char *kind, const char *from_arn,
                                  const char *to_arn, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = bound(c, STMT_REL_ADD, kind, from_arn, to_arn, err);
    if (!st) return LT_EIO;
    int rc = lt_store__step_write(c, st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : lt_store__fail(c, rc, "store: add relation", err);
}

int lt_store__sqlite_relation_remove(void *impl, const char *kind, const char *from_arn,
                                     const char *to_arn, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = bound(c, STMT_REL_REMOVE, kind, from_arn, to_arn, err);
    if (!st) return LT_EIO;
    int rc = lt_store__step_write(c, st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return lt_store__fail(c, rc, "store: remove relation", err);
    if (sqlite3_changes(c->db) == 0)
        return lt_err_set(err, LT_ENOTFOUND, "%s is not associated with %s", from_arn, to_arn);
    return 0;
}

int lt_store__sqlite_relation_has(void *impl, const char *kind, const char *from_arn,
                                  const char *to_arn, bool *yes, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st = bound(c, STMT_REL_HAS, kind, from_arn, to_arn, err);
    if (!st) return LT_EIO;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *yes = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : lt_store__fail(c, rc, "store: read relation", err);
}

int lt_store__sqlite_relation_count(void *impl, const char *kind, const char *arn, bool from_side,
                                    int64_t *count, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st =
        bound(c, from_side ? STMT_REL_COUNT_FROM : STMT_REL_COUNT_TO, kind, arn, NULL, err);
    if (!st) return LT_EIO;
    int rc = sqlite3_step(st);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : lt_store__fail(c, rc, "store: count relations", err);
}

int lt_store__sqlite_relation_list(void *impl, const char *kind, const char *arn, bool from_side,
                                   lt_store_relation_fn fn, void *ctx, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    sqlite3_stmt *st =
        bound(c, from_side ? STMT_REL_LIST_FROM : STMT_REL_LIST_TO, kind, arn, NULL, err);
    if (!st) return LT_EIO;
    int rc, status = 0;
    while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW)
        status = fn(ctx, (const char *)sqlite3_column_text(st, 0), err);
    sqlite3_reset(st);
    if (status) return status;
    return rc == SQLITE_DONE ? 0 : lt_store__fail(c, rc, "store: list relations", err);
}
