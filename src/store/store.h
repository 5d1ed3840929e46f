/*
 * store: Lathe's metadata store.
 *
 * Holds every resource (its validated JSON document plus indexed columns), relations
 * between resources (trial component <-> trial), tags, and the access keys the server
 * accepts. The embedded back end is SQLite in WAL mode with synchronous=FULL, so a write
 * that returned 0 survives kill -9 and power loss; the schema is versioned by migrations
 * (PRAGMA user_version), each applied in its own transaction. Public functions dispatch
 * through a table of back-end functions (store.c), so a PostgreSQL back end can sit
 * beside store_sqlite.c.
 *
 * Resources: (kind, name) is unique with names compared case-insensitively, as SageMaker
 * does; the stored name keeps its case. ARNs are unique. Times are integer milliseconds.
 *
 * Thread safety: one lt_store is shared by all threads. Each thread gets its own SQLite
 * connection (created on first use, with its prepared statements cached), so readers run
 * in parallel; WAL lets them run beside the one writer. A transaction (lt_store_txn_*)
 * belongs to the calling thread's connection.
 *
 * Ownership: strings passed in are borrowed; lt_store_resource values filled by the
 * store own their strings and are released with lt_store_resource_clear.
 */
#ifndef LT_STORE_H
#define LT_STORE_H

#include "base/base.h"

typedef struct lt_store lt_store;

/* Opens (creating if needed) the database at path and applies pending migrations.
 * LT_EIO if the file cannot be opened or migrated. */
int lt_store_open(lt_store **out, const char *path, lt_err *err);
void lt_store_close(lt_store *store);
/* The schema version after migrations (for tests and `lathe version`). */
int lt_store_schema_version(lt_store *store);

/* ---- transactions (on the calling thread's connection) ----------------------------- */

int lt_store_txn_begin(lt_store *store, lt_err *err);
/* On failure the transaction has been rolled back. */
int lt_store_txn_commit(lt_store *store, lt_err *err);
void lt_store_txn_rollback(lt_store *store);

/* Fault injection for the torture tests: the nth write (statement or commit) from now
 * fails with LT_EIO as a broken disk would; 0 disarms. The environment variable
 * LT_STORE_FAULT=N arms it when the store opens. */
void lt_store_fault_inject(lt_store *store, unsigned nth);

/* ---- resources --------------------------------------------------------------------- */

typedef struct lt_store_resource {
    char *kind;   /* "experiment", "experiment-trial", ... */
    char *name;   /* as created (case kept) */
    char *arn;
    char *status; /* may be NULL */
    char *parent; /* optional filter column (a trial's experiment name); may be NULL */
    int64_t creation_ms;
    int64_t modified_ms;
    char *doc;    /* the resource's JSON document */
} lt_store_resource;

void lt_store_resource_clear(lt_store_resource *res);

/* Inserts a new resource. LT_ECONFLICT if (kind, name) exists (any case) or the ARN does. */
int lt_store_resource_create(lt_store *store, const lt_store_resource *res, lt_err *err);
/* Finds by kind and name (case-insensitive). LT_ENOTFOUND if absent. Fills out. */
int lt_store_resource_get(lt_store *store, const char *kind, const char *name,
                          lt_store_resource *out, lt_err *err);
/* Finds by ARN (exact). LT_ENOTFOUND if absent. */
int lt_store_resource_get_by_arn(lt_store *store, const char *arn, lt_store_resource *out,
                                 lt_err *err);
/* Replaces doc, status, parent and modified_ms of (res->kind, res->name).
 * LT_ENOTFOUND if absent. */
int lt_store_resource_update(lt_store *store, const lt_store_resource *res, lt_err *err);
/* Deletes the resource with its tags and its relations. LT_ENOTFOUND if absent. */
int lt_store_resource_delete(lt_store *store, const char *kind, const char *name, lt_err *err);

typedef enum {
    LT_STORE_SORT_CREATION_TIME = 0,
    LT_STORE_SORT_NAME,
    LT_STORE_SORT_STATUS,
    LT_STORE_SORT_MODIFIED_TIME,
} lt_store_sort;

/* What List filters on; NULL / 0 means "no filter". Times are exclusive bounds in ms. */
typedef struct lt_store_list_params {
    const char *kind;          /* required */
    const char *name_contains; /* case-insensitive substring */
    const char *status_equals;
    const char *parent_equals; /* case-insensitive */
    /* Only resources related to this ARN by `relation` (in either direction). */
    const char *related_arn;
    const char *relation;
    int64_t created_after_ms, created_before_ms;
    int64_t modified_after_ms, modified_before_ms;
    lt_store_sort sort_by;
    bool descending;
    int limit;                 /* 1..1000 */
    const char *next_token;    /* from a previous page, or NULL */
} lt_store_list_params;

/* Called once per resource of the page, in order. A non-zero return stops the listing
 * and is returned. The resource is only valid during the call. */
typedef int (*lt_store_resource_fn)(void *ctx, const lt_store_resource *res, lt_err *err);

/* Lists one page. *next_token gets a new opaque token when more rows follow (caller
 * frees), else NULL. Tokens resume exactly after the last row returned (keyset
 * pagination on the sort key and the name), so concurrent inserts never repeat or skip
 * a row already paged past. LT_EINVAL for a malformed token ("Invalid NextToken"). */
int lt_store_resource_list(lt_store *store, const lt_store_list_params *params,
                           lt_store_resource_fn fn, void *ctx, char **next_token, lt_err *err);

/* ---- relations --------------------------------------------------------------------- */

/* Relates from_arn to to_arn under `kind`; adding an existing relation is a no-op. */
int lt_store_relation_add(lt_store *store, const char *kind, const char *from_arn,
                          const char *to_arn, lt_err *err);
/* LT_ENOTFOUND if the relation does not exist. */
int lt_store_relation_remove(lt_store *store, const char *kind, const char *from_arn,
                             const char *to_arn, lt_err *err);
/* Counts relations of `kind` where arn is the from side (from_side) or the to side. */
int lt_store_relation_count(lt_store *store, const char *kind, const char *arn, bool from_side,
                            int64_t *count, lt_err *err);

/* ---- tags -------------------------------------------------------------------------- */

enum { LT_STORE_MAX_TAGS = 50 };

/* Adds or overwrites tags (a JSON array of {"Key","Value"}). LT_ELIMIT if the resource
 * would hold more than LT_STORE_MAX_TAGS; nothing is written then. */
int lt_store_tags_put(lt_store *store, const char *arn, const json_t *tags, lt_err *err);
/* A new JSON array of {"Key","Value"} sorted by key; caller decrefs. */
int lt_store_tags_list(lt_store *store, const char *arn, json_t **out, lt_err *err);
/* Removes the keys (a JSON array of strings); absent keys are ignored. */
int lt_store_tags_delete(lt_store *store, const char *arn, const json_t *keys, lt_err *err);

/* ---- access keys ------------------------------------------------------------------- */

typedef struct lt_store_key {
    const char *access_key_id;
    const char *description;
    int64_t created_ms;
    bool is_admin;
} lt_store_key;

/* LT_ECONFLICT if the id exists. */
int lt_store_key_create(lt_store *store, const char *access_key_id, const char *secret,
                        const char *description, bool is_admin, lt_err *err);
/* Copies the secret into secret (cap bytes). LT_ENOTFOUND if the key does not exist. */
int lt_store_key_secret(lt_store *store, const char *access_key_id, char *secret, size_t cap,
                        lt_err *err);
typedef int (*lt_store_key_fn)(void *ctx, const lt_store_key *key, lt_err *err);
/* Visits every key, oldest first. Secrets are never listed. */
int lt_store_key_list(lt_store *store, lt_store_key_fn fn, void *ctx, lt_err *err);
/* LT_ENOTFOUND if the key does not exist. */
int lt_store_key_delete(lt_store *store, const char *access_key_id, lt_err *err);

#endif
