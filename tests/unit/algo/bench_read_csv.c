/* bench_read_csv [MB] [threads]: parse MB/s of text/csv on a generated numeric buffer. */
#include "algo/algo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    int threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1;
    lt_buf buf;
    lt_buf_init(&buf, (mb + 1) << 20);
    lt_err err = {0};
    unsigned s = 1;
    while (buf.len < mb << 20) {
        s = s * 1103515245u + 12345u;
        lt_buf_printf(&buf, &err, "%u", s >> 31);
        for (int j = 0; j < 20; j++) {
            s = s * 1103515245u + 12345u;
            lt_buf_printf(&buf, &err, ",%.6f", (double)(s >> 8) / 65536.0 - 100.0);
        }
        lt_buf_append(&buf, "\n", 1, &err);
    }
    lt_read_options opt = {.content_type = "text/csv", .source_name = "bench", .threads = threads};
    lt_dataset *ds = NULL;
    int64_t t0 = lt_monotonic_ns();
    int rc = lt_read_buffer(buf.data, buf.len, &opt, &ds, &err);
    int64_t t1 = lt_monotonic_ns();
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double secs = (double)(t1 - t0) / 1e9;
    printf("%zu bytes, %zu rows x %zu cols, threads %d: %.3f s, %.1f MB/s\n", buf.len,
           ds->x.n_rows, ds->x.n_cols, threads, secs, (double)buf.len / 1e6 / secs);
    lt_dataset_free(ds);
    lt_buf_free(&buf);
    return 0;
}
