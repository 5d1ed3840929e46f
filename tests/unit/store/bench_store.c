/* bench_store DIR [ROWS] [SECONDS]: get-by-name calls per second against a store of ROWS
 * experiments, from one thread and from two (each with its own connection), the figure
 * behind the control plane's Describe target. Not a ctest: run it from a Release build. */
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    lt_store *store;
    int rows;
    double seconds;
    long calls;
    int failures;
} reader;

static double now_s(void)
{
    return (double)lt_monotonic_ns() / 1e9;
}

static void *reader_main(void *arg)
{
    reader *r = arg;
    char name[64];
    unsigned seed = (unsigned)(uintptr_t)r;
    double end = now_s() + r->seconds;
    while (now_s() < end) {
        for (int i = 0; i < 1000; i++) {
            seed = seed * 1103515245u + 12345u;
            snprintf(name, sizeof name, "Experiment-%06u", (seed >> 8) % (unsigned)r->rows);
            lt_store_resource res = {0};
            lt_err err = {0};
            if (lt_store_resource_get(r->store, "experiment", name, &res, &err) != 0) r->failures++;
            lt_store_resource_clear(&res);
        }
        r->calls += 1000;
    }
    return NULL;
}

static double run(lt_store *store, int threads, int rows, double seconds)
{
    reader rd[8] = {0};
    pthread_t tid[8];
    for (int t = 0; t < threads; t++) {
        rd[t] = (reader){.store = store, .rows = rows, .seconds = seconds};
        pthread_create(&tid[t], NULL, reader_main, &rd[t]);
    }
    long calls = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        calls += rd[t].calls;
        if (rd[t].failures) fprintf(stderr, "thread %d: %d failed gets\n", t, rd[t].failures);
    }
    return (double)calls / seconds;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_store DIR [ROWS] [SECONDS]\n");
        return 2;
    }
    int64_t rows = 10000, seconds = 3;
    if (argc > 2 && lt_parse_i64(argv[2], 1, 10000000, &rows, "ROWS", NULL) != 0) return 2;
    if (argc > 3 && lt_parse_i64(argv[3], 1, 600, &seconds, "SECONDS", NULL) != 0) return 2;
    char *path = lt_xasprintf("%s/bench-store.db", argv[1]);
    remove(path);
    lt_store *store = NULL;
    lt_err err = {0};
    if (lt_store_open(&store, path, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    const char *doc = "{\"ExperimentName\":\"x\",\"DisplayName\":\"a display name\","
                      "\"Description\":\"a description of some length for realism\","
                      "\"CreationTime\":1700000000.123,\"LastModifiedTime\":1700000000.123,"
                      "\"CreatedBy\":{},\"LastModifiedBy\":{}}";
    if (lt_store_txn_begin(store, &err) != 0) return 1;
    for (int i = 0; i < rows; i++) {
        char name[64], arn[128];
        snprintf(name, sizeof name, "Experiment-%06d", i);
        snprintf(arn, sizeof arn, "arn:aws:sagemaker:us-east-1:000000000000:experiment/%06d", i);
        lt_store_resource res = {.kind = "experiment",
                                 .name = name,
                                 .arn = arn,
                                 .creation_ms = 1700000000000 + i,
                                 .modified_ms = 1700000000000 + i,
                                 .doc = (char *)doc};
        if (lt_store_resource_create(store, &res, &err) != 0) {
            fprintf(stderr, "create: %s\n", err.msg);
            return 1;
        }
    }
    if (lt_store_txn_commit(store, &err) != 0) return 1;
    /* Reopen, so the rows sit in the database file as in a server past its checkpoints. */
    lt_store_close(store);
    if (lt_store_open(&store, path, &err) != 0) {
        fprintf(stderr, "reopen: %s\n", err.msg);
        return 1;
    }
    double one = run(store, 1, (int)rows, (double)seconds);
    double two = run(store, 2, (int)rows, (double)seconds);
    printf("get-by-name over %lld rows: 1 thread %.0f calls/s (%.2f us/call), "
           "2 threads %.0f calls/s\n",
           (long long)rows, one, 1e6 / one, two);
    lt_store_close(store);
    remove(path);
    free(path);
    return 0;
}
