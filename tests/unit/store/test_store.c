/* store: resources (case-insensitive names, conflicts, update, delete), transactions,
 * relations, tags, access keys, migrations and durability settings, concurrent readers. */
#include "store_test_util.h"

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>

static void get_by_name_ignores_case_and_keeps_the_stored_case(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-case");
    LT_CHECK_INT(put_res(s, "experiment", "My-Exp", NULL, NULL, 1000, 1000), ==, 0);
    lt_store_resource res = {0};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "mY-eXP", &res, &err), ==, 0);
    LT_CHECK_STR(res.name, "My-Exp");
    LT_CHECK_STR(res.kind, "experiment");
    LT_CHECK_STR(res.arn, "arn:aws:sagemaker:us-east-1:000000000000:experiment/my-exp");
    LT_CHECK_STR(res.doc, "{\"Name\":\"My-Exp\"}");
    LT_CHECK(res.status == NULL);
    LT_CHECK_INT(res.creation_ms, ==, 1000);
    lt_store_resource_clear(&res);
    /* The same name under another kind is another resource. */
    LT_CHECK_INT(lt_store_resource_get(s, "experiment-trial", "My-Exp", &res, &err), ==,
                 LT_ENOTFOUND);
    drop_db(&db);
}

static void create_of_an_existing_name_in_any_case_conflicts(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-conflict");
    LT_CHECK_INT(put_res(s, "experiment", "abc", NULL, NULL, 1, 1), ==, 0);
    lt_store_resource res = {.kind = "experiment", .name = "ABC", .arn = "arn:other", .doc = "{}"};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_create(s, &res, &err), ==, LT_ECONFLICT);
    LT_CHECK_CONTAINS(err.msg, "already exists");
    /* A new name whose ARN is taken conflicts too. */
    lt_store_resource same_arn = {.kind = "experiment-trial",
                                  .name = "abc",
                                  .arn = "arn:aws:sagemaker:us-east-1:000000000000:experiment/abc",
                                  .doc = "{}"};
    LT_CHECK_INT(lt_store_resource_create(s, &same_arn, NULL), ==, LT_ECONFLICT);
    /* The same name under another kind is fine. */
    LT_CHECK_INT(put_res(s, "experiment-trial", "abc", NULL, NULL, 1, 1), ==, 0);
    lt_store_resource missing = {.kind = "experiment", .name = "x"};
    LT_CHECK_INT(lt_store_resource_create(s, &missing, NULL), ==, LT_EINTERNAL);
    drop_db(&db);
}

static void get_by_arn_update_and_delete_round_trip(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-crud");
    LT_CHECK_INT(put_res(s, "experiment-trial", "T1", "InProgress", "Exp", 5, 5), ==, 0);
    const char *arn = "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial/t1";
    lt_store_resource res = {0};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_get_by_arn(s, arn, &res, &err), ==, 0);
    LT_CHECK_STR(res.name, "T1");
    LT_CHECK_STR(res.status, "InProgress");
    LT_CHECK_STR(res.parent, "Exp");

    lt_store_resource upd = {.kind = "experiment-trial",
                             .name = "t1",
                             .status = "Completed",
                             .parent = "Exp",
                             .modified_ms = 9,
                             .doc = "{\"v\":2}"};
    LT_CHECK_INT(lt_store_resource_update(s, &upd, &err), ==, 0);
    lt_store_resource_clear(&res);
    LT_CHECK_INT(lt_store_resource_get(s, "experiment-trial", "T1", &res, &err), ==, 0);
    LT_CHECK_STR(res.doc, "{\"v\":2}");
    LT_CHECK_STR(res.status, "Completed");
    LT_CHECK_INT(res.creation_ms, ==, 5);
    LT_CHECK_INT(res.modified_ms, ==, 9);
    LT_CHECK_STR(res.name, "T1"); /* an update by another case keeps the stored name */
    lt_store_resource_clear(&res);

    upd.name = "nope";
    LT_CHECK_INT(lt_store_resource_update(s, &upd, NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_resource_delete(s, "experiment-trial", "T1", &err), ==, 0);
    LT_CHECK_INT(lt_store_resource_get_by_arn(s, arn, &res, NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_resource_delete(s, "experiment-trial", "T1", NULL), ==, LT_ENOTFOUND);
    /* The name is free again. */
    LT_CHECK_INT(put_res(s, "experiment-trial", "t1", NULL, NULL, 6, 6), ==, 0);
    drop_db(&db);
}

static void rollback_undoes_and_nested_transactions_are_savepoints(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-txn");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment", "gone", NULL, NULL, 1, 1), ==, 0);
    lt_store_txn_rollback(s);
    lt_store_resource res = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "gone", &res, NULL), ==, LT_ENOTFOUND);

    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment", "outer", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(lt_store_txn_begin(s, &err), ==, 0);
    LT_CHECK_INT(put_res(s, "experiment", "inner", NULL, NULL, 1, 1), ==, 0);
    LT_CHECK_INT(lt_store_txn_end(s, LT_EINVAL, &err), ==, LT_EINVAL); /* rolls the inner back */
    LT_CHECK_INT(lt_store_txn_end(s, 0, &err), ==, 0);                 /* commits the outer */
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "outer", &res, NULL), ==, 0);
    lt_store_resource_clear(&res);
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "inner", &res, NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_txn_commit(s, NULL), ==, LT_EINTERNAL); /* nothing open */
    drop_db(&db);
}

static void injected_write_fault_fails_cleanly_and_keeps_what_was_stored(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-fault");
    LT_CHECK_INT(put_res(s, "experiment", "kept", NULL, NULL, 1, 1), ==, 0);
    lt_store_fault_inject(s, 1);
    LT_CHECK_INT(put_res(s, "experiment", "lost", NULL, NULL, 1, 1), ==, LT_EIO);
    LT_CHECK_INT(put_res(s, "experiment", "later", NULL, NULL, 1, 1), ==, 0);
    lt_store_fault_inject(s, 0);
    lt_store_resource res = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "kept", &res, NULL), ==, 0);
    lt_store_resource_clear(&res);
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "lost", &res, NULL), ==, LT_ENOTFOUND);
    drop_db(&db);
}

/* ---- relations ----------------------------------------------------------------------- */

static int collect_arns(void *ctx, const char *arn, lt_err *err)
{
    (void)err;
    lt_buf_puts(ctx, arn, NULL);
    lt_buf_puts(ctx, ",", NULL);
    return 0;
}

static char *related(lt_store *s, const char *arn, bool from_side)
{
    lt_buf out;
    lt_buf_init(&out, 1 << 16);
    lt_err err = {0};
    if (lt_store_relation_list(s, "rel", arn, from_side, collect_arns, &out, &err) != 0)
        LT_FAIL_AT("relation_list: %s", err.msg);
    return lt_buf_take(&out);
}

static void relations_add_is_idempotent_and_list_both_ways(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-rel");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_relation_add(s, "rel", "c1", "t1", &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "rel", "c1", "t1", &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "rel", "c1", "t2", &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "rel", "c2", "t1", &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "other", "c3", "t1", &err), ==, 0);
    bool yes = false;
    LT_CHECK_INT(lt_store_relation_has(s, "rel", "c1", "t2", &yes, &err), ==, 0);
    LT_CHECK(yes);
    LT_CHECK_INT(lt_store_relation_has(s, "rel", "t2", "c1", &yes, &err), ==, 0);
    LT_CHECK(!yes); /* relations are directed */
    int64_t n = 0;
    LT_CHECK_INT(lt_store_relation_count(s, "rel", "c1", true, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 2);
    LT_CHECK_INT(lt_store_relation_count(s, "rel", "t1", false, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 2);
    char *list = related(s, "c1", true);
    LT_CHECK_STR(list, "t1,t2,");
    free(list);
    list = related(s, "t1", false);
    LT_CHECK_STR(list, "c1,c2,");
    free(list);
    LT_CHECK_INT(lt_store_relation_remove(s, "rel", "c1", "t1", &err), ==, 0);
    lt_err e2 = {0};
    LT_CHECK_INT(lt_store_relation_remove(s, "rel", "c1", "t1", &e2), ==, LT_ENOTFOUND);
    LT_CHECK_CONTAINS(e2.msg, "not associated");
    drop_db(&db);
}

static void deleting_a_resource_removes_its_relations_and_tags(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-dangling");
    LT_CHECK_INT(put_res(s, "tc", "c1", NULL, NULL, 1, 1), ==, 0);
    const char *arn = "arn:aws:sagemaker:us-east-1:000000000000:tc/c1";
    lt_err err = {0};
    LT_CHECK_INT(lt_store_relation_add(s, "rel", arn, "t1", &err), ==, 0);
    LT_CHECK_INT(lt_store_relation_add(s, "rel", "t0", arn, &err), ==, 0);
    json_t *tags = json_pack("[{s:s, s:s}]", "Key", "k", "Value", "v");
    LT_CHECK_INT(lt_store_tags_put(s, arn, tags, &err), ==, 0);
    json_decref(tags);
    LT_CHECK_INT(lt_store_resource_delete(s, "tc", "C1", &err), ==, 0);
    int64_t n = -1;
    LT_CHECK_INT(lt_store_relation_count(s, "rel", "t1", false, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 0);
    LT_CHECK_INT(lt_store_relation_count(s, "rel", "t0", true, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 0);
    json_t *left = NULL;
    LT_CHECK_INT(lt_store_tags_list(s, arn, &left, &err), ==, 0);
    LT_CHECK_INT(json_array_size(left), ==, 0);
    json_decref(left);
    drop_db(&db);
}

/* ---- tags ---------------------------------------------------------------------------- */

static json_t *n_tags(int from, int count)
{
    json_t *tags = json_array();
    for (int i = from; i < from + count; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%02d", i);
        json_array_append_new(tags, json_pack("{s:s, s:s}", "Key", key, "Value", "v"));
    }
    return tags;
}

static void tags_overwrite_list_sorted_and_delete(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-tags");
    lt_err err = {0};
    json_t *tags = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s}]", "Key", "b", "Value", "1", "Key",
                             "a", "Value", "2", "Key", "c");
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", tags, &err), ==, 0);
    json_decref(tags);
    tags = json_pack("[{s:s, s:s}]", "Key", "b", "Value", "new");
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", tags, &err), ==, 0);
    json_decref(tags);
    json_t *list = NULL;
    LT_CHECK_INT(lt_store_tags_list(s, "arn:x", &list, &err), ==, 0);
    char *text = lt_json_dump(list);
    LT_CHECK_STR(text, "[{\"Key\":\"a\",\"Value\":\"2\"},{\"Key\":\"b\",\"Value\":\"new\"},"
                       "{\"Key\":\"c\",\"Value\":\"\"}]");
    free(text);
    json_decref(list);
    json_t *keys = json_pack("[s, s]", "a", "absent");
    LT_CHECK_INT(lt_store_tags_delete(s, "arn:x", keys, &err), ==, 0);
    json_decref(keys);
    LT_CHECK_INT(lt_store_tags_list(s, "arn:x", &list, &err), ==, 0);
    LT_CHECK_INT(json_array_size(list), ==, 2);
    json_decref(list);
    json_t *no_key = json_pack("[{s:s}]", "Value", "v");
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", no_key, NULL), ==, LT_EINVAL);
    json_decref(no_key);
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", json_object_get(NULL, "x"), NULL), ==, LT_EINVAL);
    drop_db(&db);
}

static void tags_past_fifty_are_refused_and_nothing_is_written(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-tag-limit");
    lt_err err = {0};
    json_t *tags = n_tags(0, 49);
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", tags, &err), ==, 0);
    json_decref(tags);
    tags = n_tags(49, 2); /* would make 51 */
    lt_err limit = {0};
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", tags, &limit), ==, LT_ELIMIT);
    LT_CHECK_CONTAINS(limit.msg, "at most 50 tags");
    json_decref(tags);
    json_t *list = NULL;
    LT_CHECK_INT(lt_store_tags_list(s, "arn:x", &list, &err), ==, 0);
    LT_CHECK_INT(json_array_size(list), ==, 49);
    json_decref(list);
    /* Exactly 50, and overwriting at 50, are fine. */
    tags = n_tags(49, 1);
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", tags, &err), ==, 0);
    json_decref(tags);
    tags = n_tags(0, 50);
    LT_CHECK_INT(lt_store_tags_put(s, "arn:x", tags, &err), ==, 0);
    json_decref(tags);
    drop_db(&db);
}

/* ---- access keys --------------------------------------------------------------------- */

static int copy_key(void *ctx, const lt_store_key *key, lt_err *err)
{
    (void)err;
    lt_buf_printf(ctx, NULL, "%s/%s/%s/%d;", key->access_key_id,
                  key->secret ? key->secret : "(none)", key->description, key->is_admin);
    return 0;
}

static void access_keys_create_get_list_and_delete(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-keys");
    lt_err err = {0};
    LT_CHECK_INT(lt_store_key_create(s, "AKID1", "secret1", "admin", true, &err), ==, 0);
    LT_CHECK_INT(lt_store_key_create(s, "AKID2", "secret2", NULL, false, &err), ==, 0);
    LT_CHECK_INT(lt_store_key_create(s, "AKID1", "x", NULL, false, NULL), ==, LT_ECONFLICT);
    char secret[16];
    LT_CHECK_INT(lt_store_key_secret(s, "AKID2", secret, sizeof secret, &err), ==, 0);
    LT_CHECK_STR(secret, "secret2");
    LT_CHECK_INT(lt_store_key_secret(s, "AKID2", secret, 4, NULL), ==, LT_ELIMIT);
    lt_buf out;
    lt_buf_init(&out, 4096);
    LT_CHECK_INT(lt_store_key_get(s, "AKID1", copy_key, &out, &err), ==, 0);
    LT_CHECK_STR(out.data, "AKID1/secret1/admin/1;");
    lt_buf_reset(&out);
    LT_CHECK_INT(lt_store_key_list(s, copy_key, &out, &err), ==, 0);
    LT_CHECK_CONTAINS(out.data, "AKID1/(none)/admin/1;");
    LT_CHECK_CONTAINS(out.data, "AKID2/(none)//0;");
    lt_buf_free(&out);
    LT_CHECK_INT(lt_store_key_delete(s, "AKID1", &err), ==, 0);
    LT_CHECK_INT(lt_store_key_delete(s, "AKID1", NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_key_get(s, "AKID1", copy_key, NULL, NULL), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_store_key_secret(s, "AKID1", secret, sizeof secret, NULL), ==, LT_ENOTFOUND);
    drop_db(&db);
}

/* ---- schema and durability ----------------------------------------------------------- */

static int pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void reopening_keeps_the_schema_version_and_the_data(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-reopen");
    int version = lt_store_schema_version(s);
    LT_CHECK_INT(version, >=, 1);
    LT_CHECK_INT(put_res(s, "experiment", "survivor", NULL, NULL, 1, 1), ==, 0);
    lt_store_close(s);
    s = reopen(&db);
    LT_CHECK_INT(lt_store_schema_version(s), ==, version);
    lt_store_resource res = {0};
    LT_CHECK_INT(lt_store_resource_get(s, "experiment", "SURVIVOR", &res, NULL), ==, 0);
    lt_store_resource_clear(&res);
    /* The database file itself says WAL and the version the store reports. */
    sqlite3 *raw = NULL;
    LT_CHECK_INT(sqlite3_open(db.path, &raw), ==, SQLITE_OK);
    LT_CHECK_INT(pragma_int(raw, "PRAGMA user_version"), ==, version);
    sqlite3_stmt *st = NULL;
    const char *mode = "";
    if (sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = (const char *)sqlite3_column_text(st, 0);
    LT_CHECK_STR(mode, "wal");
    sqlite3_finalize(st);
    sqlite3_close(raw);
    drop_db(&db);
}

static void a_schema_newer_than_this_lathe_is_refused(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-newer");
    int version = lt_store_schema_version(s);
    lt_store_close(s);
    sqlite3 *raw = NULL;
    LT_CHECK_INT(sqlite3_open(db.path, &raw), ==, SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
    LT_CHECK_INT(sqlite3_exec(raw, sql, NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close(raw);
    lt_err err = {0};
    LT_CHECK_INT(lt_store_open(&db.store, db.path, &err), ==, LT_EIO);
    LT_CHECK_CONTAINS(err.msg, "newer");
    db.store = NULL;
    drop_db(&db);
}

/* ---- concurrency --------------------------------------------------------------------- */

enum { READERS = 4, READS = 400, SEEDED = 50 };

typedef struct reader_arg {
    lt_store *store;
    int failures;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    for (int i = 0; i < READS; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed-%02d", i % SEEDED);
        lt_store_resource res = {0};
        lt_err err = {0};
        if (lt_store_resource_get(a->store, "experiment", name, &res, &err) != 0 ||
            strcmp(res.name, name) != 0) {
            fprintf(stderr, "reader: get %s: %s\n", name, err.msg);
            a->failures++;
        }
        lt_store_resource_clear(&res);
        if (i % 50 == 0) {
            lt_store_list_params params = {.kind = "experiment", .limit = 10};
            int rc = 0;
            free(list_page(a->store, &params, NULL, &rc));
            if (rc) a->failures++;
        }
    }
    return NULL;
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void four_threads_read_while_one_writes(void)
{
    test_db db;
    lt_store *s = fresh_db(&db, "store-threads");
    for (int i = 0; i < SEEDED; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed-%02d", i);
        LT_CHECK_INT(put_res(s, "experiment", name, NULL, NULL, i, i), ==, 0);
    }
    /* Twice, so the second round's threads take the connections the first ones left
     * (no new files are opened). */
    int fds_after_first = 0;
    for (int round = 0; round < 2; round++) {
        pthread_t tid[READERS];
        reader_arg args[READERS];
        for (int t = 0; t < READERS; t++) {
            args[t] = (reader_arg){.store = s};
            pthread_create(&tid[t], NULL, reader_main, &args[t]);
        }
        for (int i = 0; i < 40; i++) {
            char name[32];
            snprintf(name, sizeof name, "w%d-%02d", round, i);
            LT_CHECK_INT(put_res(s, "experiment", name, NULL, NULL, 100 + i, 100 + i), ==, 0);
        }
        for (int t = 0; t < READERS; t++) {
            pthread_join(tid[t], NULL);
            LT_CHECK_INT(args[t].failures, ==, 0);
        }
        if (round == 0) fds_after_first = open_fds();
        else LT_CHECK_INT(open_fds(), ==, fds_after_first);
    }
    drop_db(&db);
}

int main(void)
{
    lt_log_set_level(LT_LOG_WARN);
    LT_RUN(get_by_name_ignores_case_and_keeps_the_stored_case);
    LT_RUN(create_of_an_existing_name_in_any_case_conflicts);
    LT_RUN(get_by_arn_update_and_delete_round_trip);
    LT_RUN(rollback_undoes_and_nested_transactions_are_savepoints);
    LT_RUN(injected_write_fault_fails_cleanly_and_keeps_what_was_stored);
    LT_RUN(relations_add_is_idempotent_and_list_both_ways);
    LT_RUN(deleting_a_resource_removes_its_relations_and_tags);
    LT_RUN(tags_overwrite_list_sorted_and_delete);
    LT_RUN(tags_past_fifty_are_refused_and_nothing_is_written);
    LT_RUN(access_keys_create_get_list_and_delete);
    LT_RUN(reopening_keeps_the_schema_version_and_the_data);
    LT_RUN(a_schema_newer_than_this_lathe_is_refused);
    LT_RUN(four_threads_read_while_one_writes);
    return lt_test_summary();
}
