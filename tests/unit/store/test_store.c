/* store: nested transactions, injected write faults, relations listed both ways, migrations
 * and durability settings, connections reused across threads. */
#include "store_test_util.h"

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>

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

/* ---- tags ---------------------------------------------------------------------------- */

/* ---- access keys --------------------------------------------------------------------- */

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
    pthread_barrier_t *all_connected; /* every reader holds its connection before going on */
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
        /* All readers hold a connection at once in every round, so the number of
         * connections (and of open files) does not depend on how the threads happened to
         * be scheduled. */
        if (i == 0) pthread_barrier_wait(a->all_connected);
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
        pthread_barrier_t all_connected;
        pthread_barrier_init(&all_connected, NULL, READERS);
        for (int t = 0; t < READERS; t++) {
            args[t] = (reader_arg){.store = s, .all_connected = &all_connected};
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
        pthread_barrier_destroy(&all_connected);
        if (round == 0) fds_after_first = open_fds();
        else LT_CHECK_INT(open_fds(), ==, fds_after_first);
    }
    drop_db(&db);
}

int main(void)
{
    lt_log_set_level(LT_LOG_WARN);
    LT_RUN(rollback_undoes_and_nested_transactions_are_savepoints);
    LT_RUN(injected_write_fault_fails_cleanly_and_keeps_what_was_stored);
    LT_RUN(relations_add_is_idempotent_and_list_both_ways);
    LT_RUN(reopening_keeps_the_schema_version_and_the_data);
    LT_RUN(a_schema_newer_than_this_lathe_is_refused);
    LT_RUN(four_threads_read_while_one_writes);
    return lt_test_summary();
}
