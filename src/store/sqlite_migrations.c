/* The SQLite schema as a list of migrations. PRAGMA user_version holds how many have been
 * applied; each runs in its own BEGIN IMMEDIATE transaction together with the bump of
 * user_version, so a crash between two leaves a database at a clean earlier version, and
 * two processes opening the same file at once apply each migration exactly once (the
 * second re-reads the version under the write lock and finds nothing to do). */
#include "store/sqlite_conn.h"

#include <stdio.h>

/* Append only: a released migration is never edited, a new one goes at the end. */
static const char *const migrations[] = {
    /* 1: resources, relations, tags, access keys */
    "CREATE TABLE resources ("
    "  kind TEXT NOT NULL, name TEXT NOT NULL, name_lc TEXT NOT NULL, arn TEXT NOT NULL UNIQUE,"
    "  status TEXT, parent TEXT, parent_lc TEXT, creation_ms INTEGER NOT NULL,"
    "  modified_ms INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, name_lc));"
    "CREATE INDEX resources_by_creation ON resources (kind, creation_ms, name_lc);"
    "CREATE INDEX resources_by_modified ON resources (kind, modified_ms, name_lc);"
    "CREATE INDEX resources_by_status ON resources (kind, status, name_lc);"
    "CREATE INDEX resources_by_parent ON resources (kind, parent_lc);"
    "CREATE TABLE relations ("
    "  kind TEXT NOT NULL, from_arn TEXT NOT NULL, to_arn TEXT NOT NULL,"
    "  PRIMARY KEY (kind, from_arn, to_arn)) WITHOUT ROWID;"
    "CREATE INDEX relations_by_to ON relations (kind, to_arn, from_arn);"
    "CREATE TABLE tags ("
    "  arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (arn, key)) WITHOUT ROWID;"
    "CREATE TABLE access_keys ("
    "  access_key_id TEXT PRIMARY KEY, secret TEXT NOT NULL, description TEXT NOT NULL,"
    "  is_admin INTEGER NOT NULL, created_ms INTEGER NOT NULL);",
};

enum { N_MIGRATIONS = sizeof migrations / sizeof migrations[0] };

static int user_version(sqlite3 *db, int *out, lt_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return lt_err_set(err, LT_EIO, "store: cannot read the schema version: %s",
                          sqlite3_errmsg(db));
    return 0;
}

/* Applies migration number `to` (1-based) unless another process already did. */
static int apply_one(sqlite3 *db, int to, lt_err *err)
{
    int rc = lt_store__exec(db, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    int current = 0;
    rc = user_version(db, &current, err);
    if (!rc && current < to) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", to);
        rc = lt_store__exec(db, migrations[to - 1], err);
        if (!rc) rc = lt_store__exec(db, pragma, err);
        if (!rc) lt_log_info("store: migrated schema to version %d", to);
    }
    if (rc) {
        lt_store__exec(db, "ROLLBACK", NULL);
        return rc;
    }
    return lt_store__exec(db, "COMMIT", err);
}

int lt_store__sqlite_migrate(sqlite3 *db, int *version, lt_err *err)
{
    int current = 0;
    int rc = user_version(db, &current, err);
    if (rc) return rc;
    if (current > N_MIGRATIONS)
        return lt_err_set(err, LT_EIO,
                          "the store's schema version %d is newer than this lathe knows (%d); "
                          "use a newer lathe",
                          current, N_MIGRATIONS);
    for (int v = current + 1; v <= N_MIGRATIONS && !rc; v++)
        rc = apply_one(db, v, err);
    if (!rc) *version = N_MIGRATIONS;
    return rc;
}
