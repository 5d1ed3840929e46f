/* store (src/store/store.h): opening and migrations, resources (case-insensitive names,
 * conflicts, get by ARN, update, delete with tags and relations), transactions and
 * savepoints, and concurrent readers beside a writer. Listing is test_store_paging's. */
#include "store/store.h"
#include "test.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct {
    char *dir;
    char *path;
    lt_store *s;
} tdb;

static lt_store *tdb_open(tdb *db)
{
    lt_err err = {0};
    if (lt_store_open(&db->s, db->path, &err) != 0) {
        fprintf(stderr, "lt_store_open(%s): %s\n", db->path, err.msg);
        abort();
    }
    return db->s;
}

static lt_store *tdb_fresh(tdb *db, const char *name)
{
    db->dir = lt_test_tmpdir(name);
    db->path = lt_xasprintf("%s/lathe.db", db->dir);
    return tdb_open(db);
}

static void tdb_drop(tdb *db)
{
    lt_store_close(db->s);
    lt_rm_rf(db->dir, NULL);
    free(db->dir);
    free(db->path);
}

/* Creates kind/name with ARN "arn:t:<kind>/<name>" (exactly as given) and doc {"N":name}. */
static int put(lt_store *s, const char *kind, const char *name, const char *status,
               const char *parent, int64_t created, int64_t modified)
{
    char *arn = lt_xasprintf("arn:t:%s/%s", kind, name);
    char *doc = lt_xasprintf("{\"N\":\"%s\"}", name);
    lt_store_resource r = {.kind = (char *)kind,
                           .name = (char *)name,
                           .arn = arn,
                           .status = (char *)status,
                           .parent = (char *)parent,
                           .creation_ms = created,
                           .modified_ms = modified,
                           .doc = doc};
    lt_err err = {0};
    int rc = lt_store_resource_create(s, &r, &err);
    free(arn);
    free(doc);
    return rc;
}

static bool exists(lt_store *s, const char *kind, const char *name)
{
    lt_store_resource r = {0};
    int rc = lt_store_resource_get(s, kind, name, &r, NULL);
    lt_store_resource_clear(&r);
    return rc == 0;
}

static json_t *tags_of(lt_store *s, const char *arn)
{
    json_t *out = NULL;
    lt_err err = {0};
    if (lt_store_tags_list(s, arn, &out, &err) != 0) {
        LT_FAIL_AT("tags_list(%s): %s", arn, err.msg);
        return json_array();
    }
    return out;
}

static int64_t rel_count(lt_store *s, const char *kind, const char *arn, bool from_side)
{
    int64_t n = -1;
    lt_err err = {0};
    if (lt_store_relation_count(s, kind, arn, from_side, &n, &err) != 0)
        LT_FAIL_AT("relation_count(%s, %s): %s", kind, arn, err.msg);
    return n;
}

static int schema_version_in_file(const char *path)
{
    sqlite3 *raw = NULL;
    int v = -1;
    if (sqlite3_open(path, &raw) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(raw);
    return v;
}

/* ---- open and migrations ------------------------------------------------------------ */

static void open_creates_the_database_at_schema_version_1(void)
{
    tdb db = {0};
    db.dir = lt_test_tmpdir("store-open");
    db.path = lt_xasprintf("%s/lathe.db", db.dir);
    LT_CHECK(access(db.path, F_OK) != 0);
    tdb_open(&db);
    LT_CHECK(access(db.path, F_OK) == 0);
    LT_CHECK_INT(lt_store_schema_version(db.s), ==, 1);
    LT_CHECK_INT(schema_version_in_file(db.path), ==, 1);
    /* The migrated schema takes every kind of row. */
    LT_CHECK_INT(put(db.s, "experiment", "e", NULL, NULL, 1, 1), ==, 0);
    json_t *tags = json_loads("[{\"Key\":\"k\",\"Value\":\"v\"}]", 0, NULL);
    LT_CHECK_INT(lt_store_tags_put(db.s, "arn:t:experiment/e", tags, NULL), ==, 0);
    json_decref(tags);
    LT_CHECK_INT(lt_store_relation_add(db.s, "r", "arn:a", "arn:b", NULL), ==, 0);
    LT_CHECK_INT(lt_store_key_create(db.s, "AKID", "secret", NULL, false, NULL), ==, 0);
    tdb_drop(&db);
}

static void reopen_keeps_the_data_and_the_schema_version(void)
{
    tdb db = {0};
    tdb_fresh(&db, "store-reopen");
    LT_CHECK_INT(put(db.s, "experiment", "Kept", "Done", "P", 11, 22), ==, 0);
    lt_store_close(db.s);
    tdb_open(&db);
    LT_CHECK_INT(lt_store_schema_version(db.s), ==, 1);
    LT_CHECK_INT(schema_version_in_file(db.path), ==, 1);
    lt_store_resource r = {0};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_get(db.s, "experiment", "kept", &r, &err), ==, 0);
    LT_CHECK_STR(r.name, "Kept");
    LT_CHECK_STR(r.status, "Done");
    LT_CHECK_STR(r.parent, "P");
    LT_CHECK_INT(r.creation_ms, ==, 11);
    LT_CHECK_INT(r.modified_ms, ==, 22);
    LT_CHECK_STR(r.doc, "{\"N\":\"Kept\"}");
    lt_store_resource_clear(&r);
    tdb_drop(&db);
}

static void open_refuses_a_schema_newer_than_it_knows(void)
{
    tdb db = {0};
    tdb_fresh(&db, "store-newer");
    lt_store_close(db.s);
    sqlite3 *raw = NULL;
    LT_CHECK_INT(sqlite3_open(db.path, &raw), ==, SQLITE_OK);
    LT_CHECK_INT(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close(raw);
    lt_store *s = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_store_open(&s, db.path, &err), ==, LT_EIO);
    LT_CHECK_CONTAINS(err.msg, "99");
    /* Leaves the file alone: the version is still the newer one. */
    LT_CHECK_INT(schema_version_in_file(db.path), ==, 99);
    db.s = NULL;
    tdb_drop(&db);
}

static void open_in_a_missing_directory_fails_with_eio(void)
{
    lt_store *s = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_store_open(&s, "/nonexistent-lathe-dir/sub/lathe.db", &err), ==, LT_EIO);
    LT_CHECK(err.msg[0] != '\0');
}

/* ---- create and get ----------------------------------------------------------------- */

static void get_by_name_ignores_case_and_returns_the_stored_case(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-case");
    LT_CHECK_INT(put(s, "experiment", "MyExp-1", "Running", "Parent", 100, 200), ==, 0);
    static const char *const lookups[] = {"MyExp-1", "myexp-1", "MYEXP-1", "mYeXP-1"};
    for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
        lt_store_resource r = {0};
        lt_err err = {0};
        LT_CHECK_INT(lt_store_resource_get(s, "experiment", lookups[i], &r, &err), ==, 0);
        LT_CHECK_STR(r.kind, "experiment");
        LT_CHECK_STR(r.name, "MyExp-1");
        LT_CHECK_STR(r.arn, "arn:t:experiment/MyExp-1");
        LT_CHECK_STR(r.status, "Running");
        LT_CHECK_STR(r.parent, "Parent");
        LT_CHECK_INT(r.creation_ms, ==, 100);
        LT_CHECK_INT(r.modified_ms, ==, 200);
        LT_CHECK_STR(r.doc, "{\"N\":\"MyExp-1\"}");
        lt_store_resource_clear(&r);
    }
    tdb_drop(&db);
}

static void get_of_a_missing_name_is_not_found(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-missing");
    LT_CHECK_INT(put(s, "experiment", "here", NULL, NULL, 1, 1), ==, 0);
    lt_store_resource r = {0};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "absent", &r, &err), ==, LT_ENOTFOUND);
    LT_CHECK_INT(err.code, ==, LT_ENOTFOUND);
    /* The same name under another kind is another resource. */
    LT_CHECK_INT(lt_store_resource_get(s, "experiment-trial", "here", &r, NULL), ==, LT_ENOTFOUND);
    tdb_drop(&db);
}

static void create_of_an_existing_name_in_another_case_conflicts(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-dup");
    LT_CHECK_INT(put(s, "experiment", "Abc", NULL, NULL, 1, 1), ==, 0);
    static const char *const dups[] = {"Abc", "abc", "ABC", "aBc"};
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++) {
        lt_store_resource r = {.kind = "experiment",
                               .name = (char *)dups[i],
                               .arn = "arn:t:some-other-arn",
                               .doc = "{}"};
        lt_err err = {0};
        LT_CHECK_INT(lt_store_resource_create(s, &r, &err), ==, LT_ECONFLICT);
        LT_CHECK_CONTAINS(err.msg, "already exists");
    }
    /* The stored row is untouched. */
    lt_store_resource r = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "abc", &r, NULL), ==, 0);
    LT_CHECK_STR(r.name, "Abc");
    LT_CHECK_STR(r.arn, "arn:t:experiment/Abc");
    lt_store_resource_clear(&r);
    tdb_drop(&db);
}

static void create_message_names_the_kind_and_the_name(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-dupmsg");
    LT_CHECK_INT(put(s, "experiment", "x1", NULL, NULL, 1, 1), ==, 0);
    lt_store_resource r = {.kind = "experiment", .name = "x1", .arn = "arn:t:other", .doc = "{}"};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_create(s, &r, &err), ==, LT_ECONFLICT);
    LT_CHECK_STR(err.msg, "experiment 'x1' already exists.");
    tdb_drop(&db);
}

static void create_with_a_taken_arn_conflicts(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-duparn");
    LT_CHECK_INT(put(s, "experiment", "one", NULL, NULL, 1, 1), ==, 0);
    lt_store_resource r = {
        .kind = "experiment-trial", .name = "two", .arn = "arn:t:experiment/one", .doc = "{}"};
    LT_CHECK_INT(lt_store_resource_create(s, &r, NULL), ==, LT_ECONFLICT);
    LT_CHECK(!exists(s, "experiment-trial", "two"));
    tdb_drop(&db);
}

static void the_same_name_under_another_kind_is_another_resource(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-kinds");
    LT_CHECK_INT(put(s, "experiment", "shared", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(put(s, "experiment-trial", "SHARED", NULL, NULL, 2, 2), ==, 0);
    lt_store_resource r = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment-trial", "shared", &r, NULL), ==, 0);
    LT_CHECK_STR(r.name, "SHARED");
    LT_CHECK_INT(r.creation_ms, ==, 2);
    lt_store_resource_clear(&r);
    tdb_drop(&db);
}

static void create_without_a_required_field_is_an_internal_error(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-required");
    static const lt_store_resource cases[] = {
        {.name = "n", .arn = "arn:t:1", .doc = "{}"},
        {.kind = "k", .arn = "arn:t:2", .doc = "{}"},
        {.kind = "k", .name = "n", .doc = "{}"},
        {.kind = "k", .name = "n", .arn = "arn:t:4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_err err = {0};
        LT_CHECK_INT(lt_store_resource_create(s, &cases[i], &err), ==, LT_EINTERNAL);
    }
    LT_CHECK(!exists(s, "k", "n"));
    tdb_drop(&db);
}

static void get_by_arn_matches_the_arn_exactly(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-arn");
    LT_CHECK_INT(put(s, "experiment-trial", "T1", "S", "E", 5, 6), ==, 0);
    lt_store_resource r = {0};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_get_by_arn(s, "arn:t:experiment-trial/T1", &r, &err), ==, 0);
    LT_CHECK_STR(r.kind, "experiment-trial");
    LT_CHECK_STR(r.name, "T1");
    LT_CHECK_STR(r.parent, "E");
    LT_CHECK_STR(r.doc, "{\"N\":\"T1\"}");
    lt_store_resource_clear(&r);
    static const char *const misses[] = {"arn:t:experiment-trial/t1", "arn:t:experiment-trial/T",
                                         "arn:t:experiment-trial/T1/", ""};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++)
        LT_CHECK_INT(lt_store_resource_get_by_arn(s, misses[i], &r, NULL), ==, LT_ENOTFOUND);
    tdb_drop(&db);
}

/* ---- update and delete -------------------------------------------------------------- */

static void update_replaces_doc_status_parent_and_modified_time(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-update");
    LT_CHECK_INT(put(s, "experiment-trial", "Upd", "InProgress", "Exp1", 10, 10), ==, 0);
    lt_store_resource u = {.kind = "experiment-trial",
                           .name = "upd",
                           .status = "Completed",
                           .parent = "Exp2",
                           .modified_ms = 99,
                           .doc = "{\"v\":2}"};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_update(s, &u, &err), ==, 0);
    lt_store_resource r = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment-trial", "UPD", &r, &err), ==, 0);
    LT_CHECK_STR(r.name, "Upd");
    LT_CHECK_STR(r.arn, "arn:t:experiment-trial/Upd");
    LT_CHECK_STR(r.doc, "{\"v\":2}");
    LT_CHECK_STR(r.status, "Completed");
    LT_CHECK_STR(r.parent, "Exp2");
    LT_CHECK_INT(r.creation_ms, ==, 10);
    LT_CHECK_INT(r.modified_ms, ==, 99);
    lt_store_resource_clear(&r);

    /* NULL status and parent replace too: they are cleared. */
    lt_store_resource cleared = {
        .kind = "experiment-trial", .name = "Upd", .modified_ms = 100, .doc = "{}"};
    LT_CHECK_INT(lt_store_resource_update(s, &cleared, &err), ==, 0);
    LT_CHECK_INT(lt_store_resource_get(s, "experiment-trial", "Upd", &r, &err), ==, 0);
    LT_CHECK(r.status == NULL);
    LT_CHECK(r.parent == NULL);
    LT_CHECK_STR(r.doc, "{}");
    LT_CHECK_INT(r.modified_ms, ==, 100);
    lt_store_resource_clear(&r);
    tdb_drop(&db);
}

static void update_of_a_missing_resource_is_not_found(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-update-missing");
    LT_CHECK_INT(put(s, "experiment", "present", NULL, NULL, 1, 1), ==, 0);
    lt_store_resource u = {.kind = "experiment", .name = "absent", .modified_ms = 2, .doc = "{}"};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_update(s, &u, &err), ==, LT_ENOTFOUND);
    /* A name that exists under another kind is still missing. */
    lt_store_resource other = {.kind = "experiment-trial", .name = "present", .doc = "{}"};
    LT_CHECK_INT(lt_store_resource_update(s, &other, NULL), ==, LT_ENOTFOUND);
    LT_CHECK(!exists(s, "experiment", "absent"));
    tdb_drop(&db);
}

static void delete_removes_the_resource_its_tags_and_its_relations(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-delete");
    LT_CHECK_INT(put(s, "k", "Gone", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(put(s, "k", "stay", NULL, NULL, 2, 2), ==, 0);
    const char *gone = "arn:t:k/Gone", *stay = "arn:t:k/stay";
    json_t *tags =
        json_loads("[{\"Key\":\"a\",\"Value\":\"1\"},{\"Key\":\"b\",\"Value\":\"2\"}]", 0, NULL);
    LT_CHECK_INT(lt_store_tags_put(s, gone, tags, NULL), ==, 0);
    LT_CHECK_INT(lt_store_tags_put(s, stay, tags, NULL), ==, 0);
    /* Relations naming Gone on either side, and one that does not. */
    LT_CHECK_INT(lt_store_relation_add(s, "r1", gone, stay, NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "r2", stay, gone, NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "r2", "arn:t:x", gone, NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "r1", stay, "arn:t:x", NULL), ==, 0);

    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_delete(s, "k", "GONE", &err), ==, 0);
    LT_CHECK(!exists(s, "k", "Gone"));
    lt_store_resource r = {0};
    LT_CHECK_INT(lt_store_resource_get_by_arn(s, gone, &r, NULL), ==, LT_ENOTFOUND);
    json_t *left = tags_of(s, gone);
    LT_CHECK_INT(json_array_size(left), ==, 0);
    json_decref(left);
    LT_CHECK_INT(rel_count(s, "r1", gone, true), ==, 0);
    LT_CHECK_INT(rel_count(s, "r1", stay, false), ==, 0);
    LT_CHECK_INT(rel_count(s, "r2", gone, false), ==, 0);
    LT_CHECK_INT(rel_count(s, "r2", stay, true), ==, 0);
    LT_CHECK_INT(rel_count(s, "r2", "arn:t:x", true), ==, 0);
    /* What did not name Gone is still there. */
    LT_CHECK(exists(s, "k", "stay"));
    json_t *kept = tags_of(s, stay);
    LT_CHECK(json_equal(kept, tags));
    json_decref(kept);
    LT_CHECK_INT(rel_count(s, "r1", stay, true), ==, 1);
    json_decref(tags);
    tdb_drop(&db);
}

static void delete_of_a_missing_resource_is_not_found(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-delete-missing");
    LT_CHECK_INT(put(s, "k", "only", NULL, NULL, 1, 1), ==, 0);
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_delete(s, "k", "other", &err), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_resource_delete(s, "other-kind", "only", NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_resource_delete(s, "k", "only", NULL), ==, 0);
    LT_CHECK_INT(lt_store_resource_delete(s, "k", "only", NULL), ==, LT_ENOTFOUND);
    /* The name is free again. */
    LT_CHECK_INT(put(s, "k", "ONLY", NULL, NULL, 3, 3), ==, 0);
    tdb_drop(&db);
}

/* ---- transactions ------------------------------------------------------------------- */

static void rollback_discards_the_transactions_writes(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-rollback");
    LT_CHECK_INT(put(s, "k", "before", NULL, NULL, 1, 1), ==, 0);
    lt_err err = {0};
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put(s, "k", "inside", NULL, NULL, 2, 2), ==, 0);
    LT_CHECK_INT(lt_store_resource_delete(s, "k", "before", NULL), ==, 0);
    LT_CHECK(exists(s, "k", "inside")); /* the transaction sees its own writes */
    lt_store_txn_rollback(s);
    LT_CHECK(!exists(s, "k", "inside"));
    LT_CHECK(exists(s, "k", "before"));
    tdb_drop(&db);
}

static void commit_keeps_the_transactions_writes(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-commit");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put(s, "k", "a", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(put(s, "k", "b", NULL, NULL, 2, 2), ==, 0);
    LT_CHECK_INT(lt_store_txn_commit(s, &err), ==, 0);
    lt_store_close(s);
    tdb_open(&db);
    LT_CHECK(exists(db.s, "k", "a"));
    LT_CHECK(exists(db.s, "k", "b"));
    tdb_drop(&db);
}

static void nested_rollback_keeps_the_outer_transactions_writes(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-savepoint");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put(s, "k", "outer", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put(s, "k", "inner", NULL, NULL, 2, 2), ==, 0);
    lt_store_txn_rollback(s);
    LT_CHECK(!exists(s, "k", "inner"));
    LT_CHECK(exists(s, "k", "outer"));
    LT_CHECK_INT(put(s, "k", "after", NULL, NULL, 3, 3), ==, 0);
    LT_CHECK_INT(lt_store_txn_commit(s, &err), ==, 0);
    LT_CHECK(exists(s, "k", "outer"));
    LT_CHECK(exists(s, "k", "after"));
    LT_CHECK(!exists(s, "k", "inner"));
    tdb_drop(&db);
}

static void outer_rollback_discards_a_committed_inner_transaction(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-savepoint2");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put(s, "k", "outer", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put(s, "k", "inner", NULL, NULL, 2, 2), ==, 0);
    LT_CHECK_INT(lt_store_txn_commit(s, &err), ==, 0);
    lt_store_txn_rollback(s);
    LT_CHECK(!exists(s, "k", "outer"));
    LT_CHECK(!exists(s, "k", "inner"));
    tdb_drop(&db);
}

static void a_delete_inside_a_rolled_back_transaction_keeps_tags_and_relations(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-delete-txn");
    LT_CHECK_INT(put(s, "k", "r", NULL, NULL, 1, 1), ==, 0);
    json_t *tags = json_loads("[{\"Key\":\"a\",\"Value\":\"1\"}]", 0, NULL);
    LT_CHECK_INT(lt_store_tags_put(s, "arn:t:k/r", tags, NULL), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "rel", "arn:t:k/r", "arn:t:other", NULL), ==, 0);
    LT_CHECK_INT(lt_store_txn_begin(s, NULL), ==, 0);
    LT_CHECK_INT(lt_store_resource_delete(s, "k", "r", NULL), ==, 0);
    lt_store_txn_rollback(s);
    LT_CHECK(exists(s, "k", "r"));
    json_t *kept = tags_of(s, "arn:t:k/r");
    LT_CHECK(json_equal(kept, tags));
    json_decref(kept);
    json_decref(tags);
    LT_CHECK_INT(rel_count(s, "rel", "arn:t:k/r", true), ==, 1);
    tdb_drop(&db);
}

static void commit_without_begin_is_an_internal_error_and_rollback_a_no_op(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-nobegin");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_txn_commit(s, &err), ==, LT_EINTERNAL);
    lt_store_txn_rollback(s);
    LT_CHECK_INT(put(s, "k", "autocommit", NULL, NULL, 1, 1), ==, 0);
    lt_store_txn_rollback(s); /* nothing open: the write above stays */
    LT_CHECK(exists(s, "k", "autocommit"));
    tdb_drop(&db);
}

static void txn_end_commits_on_success_and_rolls_back_on_failure(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-txn-end");
    LT_CHECK_INT(lt_store_txn_begin(s, NULL), ==, 0);
    LT_CHECK_INT(put(s, "k", "kept", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(lt_store_txn_end(s, 0, NULL), ==, 0);
    LT_CHECK_INT(lt_store_txn_begin(s, NULL), ==, 0);
    LT_CHECK_INT(put(s, "k", "dropped", NULL, NULL, 2, 2), ==, 0);
    LT_CHECK_INT(lt_store_txn_end(s, LT_ECONFLICT, NULL), ==, LT_ECONFLICT);
    LT_CHECK(exists(s, "k", "kept"));
    LT_CHECK(!exists(s, "k", "dropped"));
    /* No transaction is left open: a commit now has nothing to end. */
    LT_CHECK_INT(lt_store_txn_commit(s, NULL), ==, LT_EINTERNAL);
    tdb_drop(&db);
}

/* ---- concurrency -------------------------------------------------------------------- */

enum { N_READERS = 4, GETS_PER_READER = 2000, SHARED_ROWS = 20, WRITER_ROWS = 300 };

typedef struct {
    lt_store *s;
    int id;
    int ok, failed;
    char first_error[1100];
} reader_arg;

static atomic_int writer_failed;

static void *reader_main(void *arg)
{
    reader_arg *a = arg;
    for (int i = 0; i < GETS_PER_READER; i++) {
        char name[32];
        /* Other case than stored, so the case-insensitive path is what runs. */
        snprintf(name, sizeof name, "SHARED-%02d", (i + a->id) % SHARED_ROWS);
        lt_store_resource r = {0};
        lt_err err = {0};
        int rc = lt_store_resource_get(a->s, "experiment", name, &r, &err);
        char want[32];
        snprintf(want, sizeof want, "shared-%02d", (i + a->id) % SHARED_ROWS);
        if (rc == 0 && r.name && strcmp(r.name, want) == 0) {
            a->ok++;
        } else {
            if (!a->failed)
                snprintf(a->first_error, sizeof a->first_error, "rc %d: %s", rc, err.msg);
            a->failed++;
        }
        lt_store_resource_clear(&r);
    }
    return NULL;
}

static void *writer_main(void *arg)
{
    lt_store *s = arg;
    for (int i = 0; i < WRITER_ROWS; i++) {
        char name[32];
        snprintf(name, sizeof name, "new-%03d", i);
        if (put(s, "experiment", name, NULL, NULL, 1000 + i, 1000 + i) != 0)
            atomic_fetch_add(&writer_failed, 1);
    }
    return NULL;
}

static void readers_succeed_while_a_writer_creates_rows(void)
{
    tdb db = {0};
    lt_store *s = tdb_fresh(&db, "store-concurrent");
    for (int i = 0; i < SHARED_ROWS; i++) {
        char name[32];
        snprintf(name, sizeof name, "shared-%02d", i);
        LT_CHECK_INT(put(s, "experiment", name, NULL, NULL, i, i), ==, 0);
    }
    atomic_store(&writer_failed, 0);
    pthread_t readers[N_READERS], writer;
    reader_arg args[N_READERS];
    LT_CHECK_INT(pthread_create(&writer, NULL, writer_main, s), ==, 0);
    for (int i = 0; i < N_READERS; i++) {
        args[i] = (reader_arg){.s = s, .id = i};
        LT_CHECK_INT(pthread_create(&readers[i], NULL, reader_main, &args[i]), ==, 0);
    }
    for (int i = 0; i < N_READERS; i++)
        pthread_join(readers[i], NULL);
    pthread_join(writer, NULL);
    for (int i = 0; i < N_READERS; i++) {
        LT_CHECK_INT(args[i].failed, ==, 0);
        LT_CHECK_INT(args[i].ok, ==, GETS_PER_READER);
        if (args[i].failed) fprintf(stderr, "  reader %d: %s\n", i, args[i].first_error);
    }
    LT_CHECK_INT(atomic_load(&writer_failed), ==, 0);
    /* Every row the writer made is there, seen from the main thread's connection. */
    for (int i = 0; i < WRITER_ROWS; i++) {
        char name[32];
        snprintf(name, sizeof name, "NEW-%03d", i);
        if (!exists(s, "experiment", name)) {
            LT_FAIL_AT("row %s missing after the writer finished", name);
            break;
        }
    }
    tdb_drop(&db);
}

int main(void)
{
    lt_log_set_level(LT_LOG_ERROR + 1);
    LT_RUN(open_creates_the_database_at_schema_version_1);
    LT_RUN(reopen_keeps_the_data_and_the_schema_version);
    LT_RUN(open_refuses_a_schema_newer_than_it_knows);
    LT_RUN(open_in_a_missing_directory_fails_with_eio);
    LT_RUN(get_by_name_ignores_case_and_returns_the_stored_case);
    LT_RUN(get_of_a_missing_name_is_not_found);
    LT_RUN(create_of_an_existing_name_in_another_case_conflicts);
    LT_RUN(create_message_names_the_kind_and_the_name);
    LT_RUN(create_with_a_taken_arn_conflicts);
    LT_RUN(the_same_name_under_another_kind_is_another_resource);
    LT_RUN(create_without_a_required_field_is_an_internal_error);
    LT_RUN(get_by_arn_matches_the_arn_exactly);
    LT_RUN(update_replaces_doc_status_parent_and_modified_time);
    LT_RUN(update_of_a_missing_resource_is_not_found);
    LT_RUN(delete_removes_the_resource_its_tags_and_its_relations);
    LT_RUN(delete_of_a_missing_resource_is_not_found);
    LT_RUN(rollback_discards_the_transactions_writes);
    LT_RUN(commit_keeps_the_transactions_writes);
    LT_RUN(nested_rollback_keeps_the_outer_transactions_writes);
    LT_RUN(outer_rollback_discards_a_committed_inner_transaction);
    LT_RUN(a_delete_inside_a_rolled_back_transaction_keeps_tags_and_relations);
    LT_RUN(commit_without_begin_is_an_internal_error_and_rollback_a_no_op);
    LT_RUN(txn_end_commits_on_success_and_rolls_back_on_failure);
    LT_RUN(readers_succeed_while_a_writer_creates_rows);
    return lt_test_summary();
}
