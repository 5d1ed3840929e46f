/* blob crash safety and concurrency: leftovers of interrupted writes are finished or
 * undone at open, a kill -9 in the middle of a stream of writes exposes no partial
 * object and loses no acknowledged one, and threads share one store. */
#include "blob_test_util.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The id of the only content file in the store. */
static void only_data_id(const char *root, char id[64])
{
    id[0] = '\0';
    for (int i = 0; i < 256 && !id[0]; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/data/%02x", root, i);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL)
            if (de->d_name[0] != '.') snprintf(id, 64, "%.32s", de->d_name);
        if (d) closedir(d);
    }
}

static void reopen_undoes_unfinished_writes_and_finishes_committed_ones(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-recover", &root);
    LT_CHECK_INT(put_str(blob, "k", "committed"), ==, 0);
    lt_blob_close(blob);
    char live[64], path[4096], path2[4096];
    only_data_id(root, live);
    /* 1: a write interrupted before publication (tmp only). */
    snprintf(path, sizeof path, "%s/tmp/0123456789abcdef0123456789abcdef", root);
    write_file(path, "partial");
    /* 2: interrupted after the link into data/, before the index commit. */
    snprintf(path, sizeof path, "%s/tmp/fedcba9876543210fedcba9876543210", root);
    write_file(path, "linked but not committed");
    snprintf(path2, sizeof path2, "%s/data/fe/fedcba9876543210fedcba9876543210", root);
    LT_CHECK_INT(link(path, path2), ==, 0);
    /* 3: interrupted after the commit, before tmp/ID was removed. */
    char src[4096];
    snprintf(src, sizeof src, "%s/data/%.2s/%s", root, live, live);
    snprintf(path, sizeof path, "%s/tmp/%s", root, live);
    LT_CHECK_INT(link(src, path), ==, 0);
    /* 4: something that is not ours at all. */
    snprintf(path, sizeof path, "%s/tmp/stray.partial", root);
    write_file(path, "?");
    LT_CHECK_INT(tmp_files(root), ==, 4);

    blob = open_store(root);
    LT_CHECK_INT(tmp_files(root), ==, 0);
    LT_CHECK(!exists(path2));
    LT_CHECK(exists(src));
    LT_CHECK_INT(data_files(root), ==, 1);
    char *got = get_all(blob, "bkt", "k", NULL);
    LT_CHECK_STR(got, "committed");
    free(got);
    lt_blob_close(blob);
    free(root);
}

static void reopen_removes_files_left_in_trash(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-trash", &root);
    LT_CHECK_INT(put_str(blob, "k", "v"), ==, 0);
    lt_blob_close(blob);
    /* A commit that dropped a file, then a crash before the unlink. */
    static const char id[] = "abababababababababababababababab";
    char path[4096], db[4096];
    snprintf(path, sizeof path, "%s/data/ab/%s", root, id);
    write_file(path, "old version");
    snprintf(db, sizeof db, "%s/index.db", root);
    sqlite3 *conn = NULL;
    LT_CHECK_INT(sqlite3_open(db, &conn), ==, SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO trash(data_id) VALUES ('%s')", id);
    LT_CHECK_INT(sqlite3_exec(conn, sql, NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close(conn);

    blob = open_store(root);
    LT_CHECK(!exists(path));
    LT_CHECK_INT(data_files(root), ==, 1);
    /* The next write transaction drops the trash row. */
    LT_CHECK_INT(put_str(blob, "k2", "v2"), ==, 0);
    lt_blob_close(blob);
    LT_CHECK_INT(sqlite3_open(db, &conn), ==, SQLITE_OK);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(conn, "SELECT count(*) FROM trash", -1, &st, NULL);
    LT_CHECK_INT(sqlite3_step(st), ==, SQLITE_ROW);
    LT_CHECK_INT(sqlite3_column_int(st, 0), ==, 0);
    sqlite3_finalize(st);
    sqlite3_close(conn);
    free(root);
}

/* Object bodies that prove themselves: "key|version|" then bytes derived from both. */
static size_t versioned_body(const char *key, unsigned version, uint8_t *buf, size_t cap)
{
    uint32_t seed = version * 7919u;
    for (const char *p = key; *p; p++)
        seed = seed * 31u + (uint8_t)*p;
    size_t len = 100 + seed % (3u << 20);
    if (len > cap) len = cap;
    int head = snprintf((char *)buf, cap, "%s|%u|", key, version);
    fill_pattern(buf + head, len - (size_t)head, seed);
    return len;
}

static bool body_is_consistent(const char *key, const char *data, size_t len, unsigned *version,
                               uint8_t *scratch, size_t cap)
{
    size_t klen = strlen(key);
    if (len < klen + 2 || memcmp(data, key, klen) != 0 || data[klen] != '|') return false;
    char *end = NULL;
    unsigned long v = strtoul(data + klen + 1, &end, 10);
    if (!end || *end != '|') return false;
    size_t want_len = versioned_body(key, (unsigned)v, scratch, cap);
    *version = (unsigned)v;
    return want_len == len && memcmp(scratch, data, len) == 0;
}

enum { CRASH_KEYS = 12, BODY_CAP = 4u << 20 };

static void child_writes_until_killed(const char *root, int ack_fd)
{
    lt_blob *blob = open_store(root);
    uint8_t *buf = malloc(BODY_CAP);
    for (unsigned i = 0;; i++) {
        char key[32];
        snprintf(key, sizeof key, "obj-%u", i % CRASH_KEYS);
        size_t len = versioned_body(key, i, buf, BODY_CAP);
        lt_err err = {0};
        if (put_chunks(blob, "bkt", key, buf, len, 256 * 1024, NULL, NULL, &err) != 0) _exit(3);
        char line[64];
        int n = snprintf(line, sizeof line, "%s %u\n", key, i);
        if (write(ack_fd, line, (size_t)n) != n) _exit(4);
    }
}

static void kill_minus_nine_exposes_no_partial_object(void)
{
    static const int delays_ms[] = {30, 120, 250, 400};
    uint8_t *scratch = malloc(BODY_CAP);
    for (size_t round = 0; round < sizeof delays_ms / sizeof delays_ms[0]; round++) {
        char *root;
        lt_blob *blob = fresh_store("blob-kill", &root);
        lt_blob_close(blob);
        int fds[2];
        if (pipe(fds) != 0) abort();
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child_writes_until_killed(root, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        struct timespec ts = {0, delays_ms[round] * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        /* Acknowledged (key, version) pairs, latest per key. */
        unsigned acked[CRASH_KEYS];
        bool has_ack[CRASH_KEYS] = {0};
        FILE *acks = fdopen(fds[0], "r");
        char key[32];
        unsigned version;
        size_t n_acks = 0;
        while (fscanf(acks, "%31s %u", key, &version) == 2) {
            unsigned k = (unsigned)strtoul(key + 4, NULL, 10);
            if (k < CRASH_KEYS) {
                acked[k] = version;
                has_ack[k] = true;
                n_acks++;
            }
        }
        fclose(acks);

        blob = open_store(root);
        LT_CHECK_INT(tmp_files(root), ==, 0);
        size_t objects = 0;
        for (unsigned k = 0; k < CRASH_KEYS; k++) {
            snprintf(key, sizeof key, "obj-%u", k);
            size_t len = 0;
            char *got = get_all(blob, "bkt", key, &len);
            if (!got) {
                if (has_ack[k]) LT_FAIL_AT("round %zu: acknowledged %s is missing", round, key);
                continue;
            }
            objects++;
            unsigned v = 0;
            if (!body_is_consistent(key, got, len, &v, scratch, BODY_CAP))
                LT_FAIL_AT("round %zu: %s holds a torn or foreign body (%zu bytes)", round, key,
                           len);
            else if (has_ack[k] && v < acked[k])
                LT_FAIL_AT("round %zu: %s went back from version %u to %u", round, key, acked[k],
                           v);
            free(got);
        }
        if (data_files(root) != objects)
            LT_FAIL_AT("round %zu: %zu content files for %zu objects", round, data_files(root),
                       objects);
        fprintf(stderr, "    round %zu: killed after %d ms, %zu acknowledged writes, %zu objects\n",
                round, delays_ms[round], n_acks, objects);
        lt_blob_close(blob);
        free(root);
    }
    free(scratch);
}

typedef struct worker {
    lt_blob *blob;
    int id;
    int failures;
} worker;

static void *writer_main(void *arg)
{
    worker *wk = arg;
    for (int i = 0; i < 40; i++) {
        char key[32], body[64];
        snprintf(key, sizeof key, "w%d/k%03d", wk->id, i);
        snprintf(body, sizeof body, "body of %s", key);
        if (put_str(wk->blob, key, body)) wk->failures++;
    }
    return NULL;
}

static void *reader_main(void *arg)
{
    worker *wk = arg;
    for (int i = 0; i < 200; i++) {
        lt_blob_list_params params = {.delimiter = "/", .max_keys = 100};
        lt_blob_list_result res;
        lt_err err = {0};
        if (lt_blob_list(wk->blob, "bkt", &params, &res, &err) != 0) wk->failures++;
        lt_blob_list_result_free(&res);
        params = (lt_blob_list_params){.prefix = "w1/", .max_keys = 1000};
        if (lt_blob_list(wk->blob, "bkt", &params, &res, &err) != 0) wk->failures++;
        for (size_t j = 0; j < res.n_objects; j++) {
            char *got = get_all(wk->blob, "bkt", res.objects[j].key, NULL);
            if (!got || !strstr(got, res.objects[j].key)) wk->failures++;
            free(got);
        }
        lt_blob_list_result_free(&res);
    }
    return NULL;
}

static void threads_share_one_store(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-threads", &root);
    enum { WRITERS = 4, READERS = 3 };
    pthread_t th[WRITERS + READERS];
    worker wk[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        wk[i] = (worker){.blob = blob, .id = i};
        pthread_create(&th[i], NULL, i < WRITERS ? writer_main : reader_main, &wk[i]);
    }
    for (int i = 0; i < WRITERS + READERS; i++) {
        pthread_join(th[i], NULL);
        if (wk[i].failures) LT_FAIL_AT("thread %d: %d failures", i, wk[i].failures);
    }
    lt_blob_list_params params = {.max_keys = 1000};
    lt_blob_list_result res;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_list(blob, "bkt", &params, &res, &err), ==, 0);
    LT_CHECK_INT(res.n_objects, ==, WRITERS * 40);
    lt_blob_list_result_free(&res);
    lt_blob_close(blob);
    free(root);
}

/* Two handles on one root (two processes in real life): the second does not recover
 * away the first one's write in progress. */
static void second_opener_leaves_live_writes_alone(void)
{
    char *root;
    lt_blob *a = fresh_store("blob-shared", &root);
    lt_blob_writer *w = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_writer_open(a, "bkt", "k", NULL, &w, &err), ==, 0);
    LT_CHECK_INT(lt_blob_writer_write(w, "in flight", 9, &err), ==, 0);
    lt_blob *b = open_store(root);
    LT_CHECK_INT(tmp_files(root), ==, 1);
    LT_CHECK_INT(lt_blob_writer_commit(w, NULL, &err), ==, 0);
    char *got = get_all(b, "bkt", "k", NULL);
    LT_CHECK_STR(got, "in flight");
    free(got);
    lt_blob_close(b);
    lt_blob_close(a);
    free(root);
}

int main(void)
{
    LT_RUN(reopen_undoes_unfinished_writes_and_finishes_committed_ones);
    LT_RUN(reopen_removes_files_left_in_trash);
    LT_RUN(kill_minus_nine_exposes_no_partial_object);
    LT_RUN(threads_share_one_store);
    LT_RUN(second_opener_leaves_live_writes_alone);
    return lt_test_summary();
}
