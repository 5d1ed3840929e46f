/* Private to the SQLite back end: per-thread connections with cached statements, shared by
 * the back end's files (sqlite_conn.c: connections, transactions and the dispatch table;
 * sqlite_migrations.c: the schema; sqlite_resources.c, sqlite_relations.c,
 * sqlite_tags_keys.c, sqlite_list.c: the operations). */
#ifndef LT_STORE_SQLITE_CONN_H
#define LT_STORE_SQLITE_CONN_H

#include "store/store_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
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
    STMT_REL_HAS,
    STMT_REL_COUNT_FROM,
    STMT_REL_COUNT_TO,
    STMT_REL_LIST_FROM,
    STMT_REL_LIST_TO,
    STMT_REL_DELETE_ARN,
    STMT_TAG_PUT,
    STMT_TAG_COUNT,
    STMT_TAG_LIST,
    STMT_TAG_DELETE,
    STMT_TAG_DELETE_ARN,
    STMT_KEY_INSERT,
    STMT_KEY_SECRET,
    STMT_KEY_GET,
    STMT_KEY_LIST,
    STMT_KEY_DELETE,
    STMT_COUNT
} lt_store__stmt_id;

/* List statements differ by which filters are present; each shape is prepared once per
 * connection and kept in a small cache (the SQL is a pure function of the shape). */
enum { LIST_CACHE_SLOTS = 16 };

typedef struct lt_store__conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct {
        unsigned shape; /* 0: empty slot (a real shape always has its "in use" bit) */
        sqlite3_stmt *st;
    } list_cache[LIST_CACHE_SLOTS];
    unsigned list_cache_next; /* the slot a miss replaces next (round robin) */
    int txn_depth;            /* 0: none; 1: BEGIN; >1: savepoints */
    bool keys_changed;        /* a key was written in the open transaction: announce at its end */
    struct lt_store__sqlite_db *owner;
    struct lt_store__conn *next;      /* in owner->all */
    struct lt_store__conn *idle_next; /* in owner->idle while no thread holds it */
} lt_store__conn;

/* The stamp a key cache is filled under (sqlite_key_cache.c). */
typedef struct lt_store__key_stamp {
    bool valid;          /* false: the stamp cannot be read; matches nothing */
    uint64_t counter;    /* the shared counter: changes made by any process */
    uint64_t generation; /* changes made by this process */
} lt_store__key_stamp;

typedef struct lt_store__key_cache {
    pthread_rwlock_t lock; /* guards what follows except generation */
    char *stamp_path;      /* NULL for an in-memory database */
    _Atomic uint64_t *counter; /* the stamp's counter, mapped shared; NULL if it cannot be */
    _Atomic uint64_t generation;
    lt_store__key_stamp filled_under;
    struct {
        char *id;
        char *secret;
    } *entries;
    size_t n, cap;
} lt_store__key_cache;

void lt_store__key_cache_init(lt_store__key_cache *kc, const char *db_path);
void lt_store__key_cache_destroy(lt_store__key_cache *kc);
/* 1 and the secret if cached under the current stamp, else 0; *stamp gets the current
 * stamp, for lt_store__key_cache_put after reading the secret from SQLite. */
int lt_store__key_cache_get(lt_store__key_cache *kc, const char *id, char *secret, size_t cap,
                            lt_store__key_stamp *stamp);
void lt_store__key_cache_put(lt_store__key_cache *kc, const lt_store__key_stamp *stamp,
                             const char *id, const char *secret);
/* Tells every process's cache that the keys change(d): called before a key write and
 * again after it commits. */
int lt_store__key_cache_announce(lt_store__key_cache *kc, lt_err *err);

/* Connections outlive their threads: when a thread exits, its connection (and its prepared
 * statements) goes to `idle` for the next new thread, so a server whose pool replaces
 * threads keeps a bounded number of connections. */
typedef struct lt_store__sqlite_db {
    char *path;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards `all` and `idle` */
    lt_store__conn *all;
    lt_store__conn *idle;
    int version;
    lt_store__key_cache keys;
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
/* sqlite3_exec with the failure as LT_EIO naming the SQL; err may be NULL. */
int lt_store__exec(sqlite3 *db, const char *sql, lt_err *err);
/* Brings the schema up to date (sqlite_migrations.c); *version gets the schema version. */
int lt_store__sqlite_migrate(sqlite3 *db, int *version, lt_err *err);
/* Maps a SQLite failure to LT_EIO (or LT_ECONFLICT for a constraint) with its message. */
int lt_store__fail(lt_store__conn *c, int rc, const char *what, lt_err *err);
/* sqlite3_step for statements that write: the fault-injection point of the torture tests,
 * which make the nth write fail as a full or broken disk would (SQLITE_IOERR). */
int lt_store__step_write(lt_store__conn *c, sqlite3_stmt *st);
/* True when the armed fault fires on this write. */
bool lt_store__fault_fires(lt_store__sqlite_db *s);

/* Binds s, or NULL when s is NULL, to parameter i (the string must outlive the step). */
void lt_store__bind_text(sqlite3_stmt *st, int i, const char *s);
/* Fills a resource from the row of a statement selecting the resource columns. */
void lt_store__row_to_resource(sqlite3_stmt *st, lt_store_resource *out);
/* Lower-cases ASCII into a new string. */
char *lt_store__lower(const char *s);

#define LT_STORE__RESOURCE_COLUMNS "kind, name, arn, status, parent, creation_ms, modified_ms, doc"

/* The back end's operations, one file per concern; sqlite_conn.c gathers them into
 * lt_store__sqlite. */
int lt_store__sqlite_resource_create(void *, const lt_store_resource *, lt_err *);
int lt_store__sqlite_resource_get(void *, const char *, const char *, lt_store_resource *,
                                  lt_err *);
int lt_store__sqlite_resource_get_by_arn(void *, const char *, lt_store_resource *, lt_err *);
int lt_store__sqlite_resource_update(void *, const lt_store_resource *, lt_err *);
int lt_store__sqlite_resource_delete(void *, const char *, const char *, lt_err *);
int lt_store__sqlite_relation_add(void *, const char *, const char *, const char *, lt_err *);
int lt_store__sqlite_relation_remove(void *, const char *, const char *, const char *, lt_err *);
int lt_store__sqlite_relation_has(void *, const char *, const char *, const char *, bool *,
                                  lt_err *);
int lt_store__sqlite_relation_count(void *, const char *, const char *, bool, int64_t *, lt_err *);
int lt_store__sqlite_relation_list(void *, const char *, const char *, bool, lt_store_relation_fn,
                                   void *, lt_err *);
int lt_store__sqlite_tags_put(void *, const char *, const json_t *, lt_err *);
int lt_store__sqlite_tags_list(void *, const char *, json_t **, lt_err *);
int lt_store__sqlite_tags_delete(void *, const char *, const json_t *, lt_err *);
int lt_store__sqlite_key_create(void *, const char *, const char *, const char *, bool, lt_err *);
int lt_store__sqlite_key_secret(void *, const char *, char *, size_t, lt_err *);
int lt_store__sqlite_key_get(void *, const char *, lt_store_key_fn, void *, lt_err *);
int lt_store__sqlite_key_list(void *, lt_store_key_fn, void *, lt_err *);
int lt_store__sqlite_key_delete(void *, const char *, lt_err *);

int lt_store__sqlite_list(void *impl, const lt_store_list_params *params, lt_store_resource_fn fn,
                          void *ctx, char **next_token, lt_err *err);
/* Finalizes a connection's cached list statements (at close). */
void lt_store__list_cache_clear(lt_store__conn *c);

#endif
