/* Private to the SQLite back end: per-thread connections with cached statements,
 * shared by store_sqlite.c (resources, tags, keys) and sqlite_list.c (listing). */
#ifndef LT_STORE_SQLITE_CONN_H
#define LT_STORE_SQLITE_CONN_H

#include "store/store_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>

/* Statements prepared once per connection and kept. */
typedef enum {
    STMT_RES_INSERT,
    STMT_RES_GET,
    STMT_RES_GET_ARN,
    STMT_RES_UPDATE,
    STMT_RES_DELETE,
    STMT_RES_EXISTS,
    STMT_REL_ADD,
    STMT_REL_REMOVE,
    STMT_REL_COUNT_FROM,
    STMT_REL_COUNT_TO,
    STMT_REL_DELETE_ARN,
    STMT_TAG_PUT,
    STMT_TAG_COUNT,
    STMT_TAG_LIST,
    STMT_TAG_DELETE,
    STMT_TAG_DELETE_ARN,
    STMT_KEY_INSERT,
    STMT_KEY_SECRET,
    STMT_KEY_LIST,
    STMT_KEY_DELETE,
    STMT_COUNT
} lt_store__stmt_id;

typedef struct lt_store__conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    int txn_depth; /* 0: none; 1: BEGIN; >1: savepoints */
    struct lt_store__sqlite_db *owner;
    struct lt_store__conn *next;
} lt_store__conn;

typedef struct lt_store__sqlite_db {
    char *path;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards `all` */
    lt_store__conn *all;
    int version;
    _Atomic unsigned fault_nth;   /* fail the nth write from arming; 0: never (tests) */
    _Atomic unsigned fault_count; /* writes since arming */
} lt_store__sqlite_db;

#define CONN_OR_RETURN(c, impl, err)                                                               \
    lt_store__conn *c = lt_store__conn_get((lt_store__sqlite_db *)(impl), (err));                  \
    if (!c) return LT_EIO

/* The calling thread's connection, opened on first use. NULL with err set on failure. */
lt_store__conn *lt_store__conn_get(lt_store__sqlite_db *s, lt_err *err);
/* A cached, reset statement. NULL with err set if it cannot be prepared. */
sqlite3_stmt *lt_store__stmt(lt_store__conn *c, lt_store__stmt_id id, lt_err *err);
/* Maps a SQLite failure to LT_EIO (or LT_ECONFLICT for a constraint) with its message. */
int lt_store__fail(lt_store__conn *c, int rc, const char *what, lt_err *err);
/* sqlite3_step for statements that write: the fault-injection point of the torture tests,
 * which make the nth write fail as a full or broken disk would (SQLITE_IOERR). */
int lt_store__step_write(lt_store__conn *c, sqlite3_stmt *st);
/* True when the armed fault fires on this write. */
bool lt_store__fault_fires(lt_store__sqlite_db *s);

/* Fills a resource from the row of a statement selecting the resource columns. */
void lt_store__row_to_resource(sqlite3_stmt *st, lt_store_resource *out);
/* Lower-cases ASCII into a new string. */
char *lt_store__lower(const char *s);

#define LT_STORE__RESOURCE_COLUMNS "kind, name, arn, status, parent, creation_ms, modified_ms, doc"

/* The back end's operations, one file per concern (sqlite_resources.c, sqlite_tags.c,
 * sqlite_keys.c, sqlite_list.c); sqlite_conn.c gathers them into lt_store__sqlite. */
int lt_store__sqlite_resource_create(void *, const lt_store_resource *, lt_err *);
int lt_store__sqlite_resource_get(void *, const char *, const char *, lt_store_resource *,
                                         lt_err *);
int lt_store__sqlite_resource_get_by_arn(void *, const char *, lt_store_resource *, lt_err *);
int lt_store__sqlite_resource_update(void *, const lt_store_resource *, lt_err *);
int lt_store__sqlite_resource_delete(void *, const char *, const char *, lt_err *);
int lt_store__sqlite_relation_add(void *, const char *, const char *, const char *, lt_err *);
int lt_store__sqlite_relation_remove(void *, const char *, const char *, const char *,
                                            lt_err *);
int lt_store__sqlite_relation_count(void *, const char *, const char *, bool, int64_t *,
                                           lt_err *);
int lt_store__sqlite_tags_put(void *, const char *, const json_t *, lt_err *);
int lt_store__sqlite_tags_list(void *, const char *, json_t **, lt_err *);
int lt_store__sqlite_tags_delete(void *, const char *, const json_t *, lt_err *);
int lt_store__sqlite_key_create(void *, const char *, const char *, const char *, bool,
                                       lt_err *);
int lt_store__sqlite_key_secret(void *, const char *, char *, size_t, lt_err *);
int lt_store__sqlite_key_list(void *, lt_store_key_fn, void *, lt_err *);
int lt_store__sqlite_key_delete(void *, const char *, lt_err *);

int lt_store__sqlite_list(void *impl, const lt_store_list_params *params,
                          lt_store_resource_fn fn, void *ctx, char **next_token, lt_err *err);

#endif
