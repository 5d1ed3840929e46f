/* bench_blob DIR [SIZE_MIB] [REPEAT]: writes a SIZE_MIB object through the blob writer in
 * 1 MiB chunks (best of REPEAT), reads it back through the fd, and measures how long a
 * metadata read (stat) takes while another thread commits big objects. Not a ctest: run
 * it from a Release build next to `cp` on the same disk. */
#include "blob_test_util.h"

#include <pthread.h>
#include <stdatomic.h>

static double now_s(void)
{
    return (double)lt_monotonic_ns() / 1e9;
}

typedef struct {
    lt_blob *blob;
    const uint8_t *data;
    size_t len;
    atomic_int stop;
    int puts;
} bg_writer;

static void *bg_main(void *arg)
{
    bg_writer *bg = arg;
    while (!atomic_load(&bg->stop)) {
        lt_err err = {0};
        if (put_chunks(bg->blob, "bkt", "background", bg->data, bg->len, 1 << 20, NULL, NULL,
                       &err) == 0)
            bg->puts++;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    (void)lt_test_current_failed;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_blob DIR [SIZE_MIB] [REPEAT]\n");
        return 2;
    }
    int64_t mib = 256, repeat = 3;
    if (argc > 2 && lt_parse_i64(argv[2], 1, 65536, &mib, "SIZE_MIB", NULL)) return 2;
    if (argc > 3 && lt_parse_i64(argv[3], 1, 100, &repeat, "REPEAT", NULL)) return 2;
    char root[4096];
    snprintf(root, sizeof root, "%s/bench-blob-store", argv[1]);
    lt_rm_rf(root, NULL);
    lt_blob *blob = open_store(root);
    lt_err err = {0};
    lt_blob_bucket_create(blob, "bkt", &err);
    size_t len = (size_t)mib << 20;
    uint8_t *data = malloc(len);
    fill_pattern(data, len, 42);

    double t0 = now_s();
    uint8_t d[16];
    lt_md5(data, len, d);
    double t_md5 = now_s() - t0;

    double best_put = 1e9, best_get = 1e9;
    for (int64_t r = 0; r < repeat; r++) {
        t0 = now_s();
        if (put_chunks(blob, "bkt", "object.bin", data, len, 1 << 20, NULL, NULL, &err) != 0) {
            fprintf(stderr, "put: %s\n", err.msg);
            return 1;
        }
        double t = now_s() - t0;
        if (t < best_put) best_put = t;
        int fd = -1;
        lt_blob_object obj = {0};
        char *buf = malloc(1 << 20);
        t0 = now_s();
        if (lt_blob_object_open(blob, "bkt", "object.bin", &fd, &obj, &err) != 0) return 1;
        for (uint64_t off = 0; off < obj.size;) {
            ssize_t n = pread(fd, buf, 1 << 20, (off_t)off);
            if (n <= 0) return 1;
            off += (uint64_t)n;
        }
        t = now_s() - t0;
        if (t < best_get) best_get = t;
        close(fd);
        free(buf);
        lt_blob_object_clear(&obj);
    }
    printf("object %lld MiB, 1 MiB chunks, best of %lld\n", (long long)mib, (long long)repeat);
    printf("md5 alone (one core):     %7.3f s  %6.0f MiB/s\n", t_md5, (double)mib / t_md5);
    printf("blob writer put (synced): %7.3f s  %6.0f MiB/s\n", best_put, (double)mib / best_put);
    printf("blob read (pread, cache): %7.3f s  %6.0f MiB/s\n", best_get, (double)mib / best_get);

    /* Small objects: the fixed cost of a durable put (fdatasync, directory fsync, WAL). */
    t0 = now_s();
    enum { SMALL = 500 };
    for (int i = 0; i < SMALL; i++) {
        char key[32];
        snprintf(key, sizeof key, "small/%05d", i);
        if (put_chunks(blob, "bkt", key, data, 4096, 4096, NULL, NULL, &err) != 0) return 1;
    }
    double t_small = now_s() - t0;
    printf("4 KiB puts, one thread:   %7.0f /s  (%.2f ms each)\n", SMALL / t_small,
           t_small / SMALL * 1e3);

    /* Metadata reads while a writer streams and commits 64 MiB objects back to back. */
    bg_writer bg = {.blob = blob, .data = data, .len = len < (64u << 20) ? len : (64u << 20)};
    pthread_t th;
    pthread_create(&th, NULL, bg_main, &bg);
    enum { MAX_SAMPLES = 1 << 22 };
    double *samples = malloc(MAX_SAMPLES * sizeof *samples);
    int n = 0;
    double end = now_s() + 3.0;
    while (now_s() < end && n < MAX_SAMPLES) {
        lt_blob_object obj = {0};
        t0 = now_s();
        lt_blob_object_stat(blob, "bkt", "object.bin", &obj, &err);
        samples[n++] = now_s() - t0;
        lt_blob_object_clear(&obj);
    }
    atomic_store(&bg.stop, 1);
    pthread_join(th, NULL);
    qsort(samples, (size_t)n, sizeof *samples, cmp_double);
    printf("stat during %d background 64 MiB puts: %d calls, p50 %.1f us, p99 %.1f us, "
           "p99.9 %.1f us, max %.1f us\n",
           bg.puts, n, samples[n / 2] * 1e6, samples[(size_t)n * 99 / 100] * 1e6,
           samples[(size_t)n * 999 / 1000] * 1e6, samples[n - 1] * 1e6);
    free(samples);
    lt_blob_close(blob);
    lt_rm_rf(root, NULL);
    free(data);
    return 0;
}
