/*
 * store: Lathe's metadata store.
 *
 * Holds every resource (its JSON document plus indexed columns), relations between
 * resources (trial component -> trial), tags, and the access keys the server accepts. The
 * embedded back end is SQLite in WAL mode with synchronous=FULL, so a write that returned 0
 * survives kill -9 and power loss; busy_timeout is 10 s and foreign keys are on. The schema
 * is versioned by migrations (PRAGMA user_version), each applied in its own transaction
 * when the store opens. Public functions dispatch through a table of back-end functions
 * (store.c), so a PostgreSQL back end can sit beside the SQLite one (sqlite_*.c).
 *
 * Invariants:
 *  - Resources: (kind, name) is unique with names compared case-insensitively (ASCII), as
 *    SageMaker does; the stored name keeps its case. ARNs are unique and compared exactly.
 *    Times are integer milliseconds since the epoch.
 *  - Deleting a resource deletes its tags and every relation that names its ARN, in the
 *    same transaction: nothing dangles.
 *  - A resource holds at most LT_STORE_MAX_TAGS tags.
 *
 * Thread safety: one lt_store is shared by all threads. Each thread gets its own SQLite
 * connection (opened on first use, its prepared statements cached; handed to the next new
 * thread when its thread exits), so readers run in parallel and WAL lets them run beside
 * the one writer. A transaction (lt_store_txn_*) belongs to the calling thread's
 * connection: every store call that thread makes until commit or rollback is part of it.
 * lt_store_close must run after every other thread has stopped using the store.
 *
 * Ownership: strings and JSON passed in are borrowed. An lt_store_resource filled by a
 * get owns its strings (release with lt_store_resource_clear); anything handed to a
 * callback is valid only during the call.
 *
 * Errors: every int-returning function returns 0 or a negative LT_E* code with a message
 * in err (which may be NULL). LT_EIO (or LT_ELIMIT for a full disk) from any function means
 * the database failed; nothing of that call was written.
 */
#ifndef LT_STORE_H
#define LT_STORE_H

#include "base/base.h"

typedef struct lt_store lt_store;

/* Opens (creating if needed) the database at path and applies pending migrations.
 * LT_EIO if the file cannot be opened or migrated, or was written by a newer lathe whose
 * schema version this one does not know. *out is new; free with lt_store_close. The
 * environment variable LT_STORE_FAULT=N arms lt_store_fault_inject(N) (torture tests). */
int lt_store_open(lt_store **out, const char *path, lt_err *err);
/* Closes every thread's connection. NULL is a no-op. */
void lt_store_close(lt_store *store);
/* The schema version after migrations (for tests and `lathe version`). */
int lt_store_schema_version(lt_store *store);

/* ---- transactions (on the calling thread's connection) ----------------------------- */

/* Starts a transaction that takes the write lock at once (so two writers queue rather than
 * deadlock). Nested calls are savepoints: a helper that wraps its own writes composes with
 * a caller's transaction. LT_EIO if the lock is not had within the busy timeout. */
int lt_store_txn_begin(lt_store *store, lt_err *err);
/* Commits the innermost transaction. LT_EINTERNAL without a begin; LT_EIO if the commit
 * fails, and then that transaction has been rolled back. */
int lt_store_txn_commit(lt_store *store, lt_err *err);
/* Rolls back the innermost transaction; a no-op without one. */
void lt_store_txn_rollback(lt_store *store);
/* Ends the innermost transaction by the outcome of the work done in it: commits when
 * rc == 0 and returns what the commit returns; otherwise rolls back and returns rc.
 *   rc = lt_store_txn_begin(s, err);
 *   if (!rc) rc = lt_store_txn_end(s, do_writes(s, err), err); */
int lt_store_txn_end(lt_store *store, int rc, lt_err *err);

/* Fault injection for the torture tests: the nth write (statement or commit) from now
 * fails with LT_EIO as a broken disk would; 0 disarms. */
void lt_store_fault_inject(lt_store *store, unsigned nth);

/* ---- resources --------------------------------------------------------------------- */

/* Kinds shared by the modules above the store. The job documents are exactly what
 * Describe returns; the api creates them and exec's job runner moves them through their
 * lifecycle. A job spec, named "<job kind>/<job name>" ("training/my-job"), holds what
 * the api resolved at Create and the runner needs ({"Image": {...}}). */
#define LT_STORE_KIND_TRAINING_JOB "training-job"
#define LT_STORE_KIND_PROCESSING_JOB "processing-job"
#define LT_STORE_KIND_JOB_SPEC "job-spec"
#define LT_STORE_KIND_IMAGE "image"
#define LT_STORE_KIND_TUNING_JOB "hyper-parameter-tuning-job"
#define LT_STORE_KIND_TRANSFORM_JOB "transform-job"

typedef struct lt_store_resource {
    char *kind; /* "experiment", "experiment-trial", ... */
    char *name; /* as created (case kept) */
    char *arn;
    char *status; /* may be NULL */
    char *parent; /* optional filter column (a trial's experiment name); may be NULL */
    int64_t creation_ms;
    int64_t modified_ms;
    char *doc; /* the resource's JSON document */
} lt_store_resource;

/* Frees the strings of a resource filled by the store and zeroes it. */
void lt_store_resource_clear(lt_store_resource *res);

/* Inserts a new resource (kind, name, arn and doc are required: LT_EINTERNAL without
 * them). LT_ECONFLICT "<kind> '<name>' already exists." if (kind, name) exists in any
 * case, or the ARN does. */
int lt_store_resource_create(lt_store *store, const lt_store_resource *res, lt_err *err);
/* Finds by kind and name (case-insensitive) and fills *out (caller clears).
 * LT_ENOTFOUND if absent. */
int lt_store_resource_get(lt_store *store, const char *kind, const char *name,
                          lt_store_resource *out, lt_err *err);
/* The document of (kind, name), parsed: a new reference in *doc. LT_ENOTFOUND if absent,
 * LT_EINTERNAL if what is stored is not JSON. */
int lt_store_resource_doc(lt_store *store, const char *kind, const char *name, json_t **doc,
                          lt_err *err);
/* Finds by ARN (exact) and fills *out (caller clears). LT_ENOTFOUND if absent. */
int lt_store_resource_get_by_arn(lt_store *store, const char *arn, lt_store_resource *out,
                                 lt_err *err);
/* Replaces doc, status, parent and modified_ms of (res->kind, res->name); the last writer
 * wins (wrap a read-modify-write in a transaction to make it atomic).
 * LT_ENOTFOUND if absent. */
int lt_store_resource_update(lt_store *store, const lt_store_resource *res, lt_err *err);
/* Deletes the resource with its tags and its relations, atomically.
 * LT_ENOTFOUND if absent. */
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
    const char *status_equals; /* exact */
    const char *parent_equals; /* case-insensitive */
    /* Only resources related to this ARN by `relation` (in either direction). */
    const char *related_arn;
    const char *relation;
    int64_t created_after_ms, created_before_ms;
    int64_t modified_after_ms, modified_before_ms;
    lt_store_sort sort_by; /* ties are broken by the name, in the same direction */
    bool descending;
    int limit;              /* page size, 1..1000 */
    const char *next_token; /* from the previous page of the same sort, or NULL */
} lt_store_list_params;

/* Called once per resource of the page, in order. A non-zero return stops the listing
 * and is returned. The resource is only valid during the call. */
typedef int (*lt_store_resource_fn)(void *ctx, const lt_store_resource *res, lt_err *err);

/* Lists one page. *next_token gets a new opaque token when more rows follow (caller
 * frees), else NULL. Tokens resume exactly after the last row returned (keyset pagination
 * on the sort key and the name), so concurrent inserts never repeat or skip a row already
 * paged past, and every page's token differs. LT_EINVAL "Invalid NextToken" for a token
 * that is malformed or was made for another sort or direction; LT_EINVAL for a limit out
 * of range; LT_EINTERNAL without a kind. */
int lt_store_resource_list(lt_store *store, const lt_store_list_params *params,
                           lt_store_resource_fn fn, void *ctx, char **next_token, lt_err *err);

/* ---- relations --------------------------------------------------------------------- */

/* Relations are directed (kind, from_arn, to_arn) rows. They do not require the ARNs to
 * name stored resources; deleting a resource removes every relation naming it. */

/* Relates from_arn to to_arn under `kind`. Idempotent: adding an existing relation is a
 * no-op that returns 0 (a retried Associate must not fail). */
int lt_store_relation_add(lt_store *store, const char *kind, const char *from_arn,
                          const char *to_arn, lt_err *err);
/* LT_ENOTFOUND if the relation does not exist. */
int lt_store_relation_remove(lt_store *store, const char *kind, const char *from_arn,
                             const char *to_arn, lt_err *err);
/* Sets *yes to whether the relation exists. */
int lt_store_relation_has(lt_store *store, const char *kind, const char *from_arn,
                          const char *to_arn, bool *yes, lt_err *err);
/* Counts relations of `kind` where arn is the from side (from_side) or the to side. */
int lt_store_relation_count(lt_store *store, const char *kind, const char *arn, bool from_side,
                            int64_t *count, lt_err *err);
/* Called with the ARN at the other end of each relation; valid only during the call. A
 * non-zero return stops the listing and is returned. */
typedef int (*lt_store_relation_fn)(void *ctx, const char *other_arn, lt_err *err);
/* Visits, sorted by ARN, the other end of every relation of `kind` where arn is the from
 * side (from_side) or the to side. */
int lt_store_relation_list(lt_store *store, const char *kind, const char *arn, bool from_side,
                           lt_store_relation_fn fn, void *ctx, lt_err *err);

/* ---- tags -------------------------------------------------------------------------- */

enum { LT_STORE_MAX_TAGS = 50 };

/* Adds or overwrites tags (a JSON array of {"Key","Value"}; a missing Value is ""), all or
 * none. LT_ELIMIT if the resource would then hold more than LT_STORE_MAX_TAGS; LT_EINVAL
 * if tags is not an array or an entry has no Key. The ARN is not checked against the
 * resources (the api does that). */
int lt_store_tags_put(lt_store *store, const char *arn, const json_t *tags, lt_err *err);
/* *out gets a new JSON array of {"Key","Value"} sorted by key (caller decrefs). A whole
 * resource's tags are one read: at most LT_STORE_MAX_TAGS exist, so callers page by
 * slicing (ListTags resumes after the last key it returned). */
int lt_store_tags_list(lt_store *store, const char *arn, json_t **out, lt_err *err);
/* Removes the keys (a JSON array of strings), all or none; absent keys are ignored.
 * LT_EINVAL if keys is not an array. */
int lt_store_tags_delete(lt_store *store, const char *arn, const json_t *keys, lt_err *err);

/* ---- access keys ------------------------------------------------------------------- */

typedef struct lt_store_key {
    const char *access_key_id;
    const char *secret; /* set by lt_store_key_get; NULL in lt_store_key_list */
    const char *description;
    int64_t created_ms;
    bool is_admin;
} lt_store_key;

/* Stores a new key; description may be NULL (""). LT_ECONFLICT if the id exists. */
int lt_store_key_create(lt_store *store, const char *access_key_id, const char *secret,
                        const char *description, bool is_admin, lt_err *err);
/* Copies the secret into secret (cap bytes, NUL-terminated); allocates nothing, for the
 * signature check on every request. LT_ENOTFOUND if the key does not exist; LT_ELIMIT if
 * the secret does not fit. */
int lt_store_key_secret(lt_store *store, const char *access_key_id, char *secret, size_t cap,
                        lt_err *err);
/* Called with one key; its strings are valid only during the call. A non-zero return
 * stops the visit and is returned. */
typedef int (*lt_store_key_fn)(void *ctx, const lt_store_key *key, lt_err *err);
/* Calls fn once with the whole key, secret included. LT_ENOTFOUND if it does not exist. */
int lt_store_key_get(lt_store *store, const char *access_key_id, lt_store_key_fn fn, void *ctx,
                     lt_err *err);
/* Visits every key, oldest first. Secrets are never listed (key->secret is NULL). */
int lt_store_key_list(lt_store *store, lt_store_key_fn fn, void *ctx, lt_err *err);
/* LT_ENOTFOUND if the key does not exist. */
int lt_store_key_delete(lt_store *store, const char *access_key_id, lt_err *err);

#endif
