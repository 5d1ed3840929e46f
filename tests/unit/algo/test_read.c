/* The data readers: text/csv, text/libsvm, application/jsonlines, paths, limits. */
#include "algo/algo.h"
#include "test.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_str(const char *text, const char *ct, lt_dataset **ds, lt_err *err)
{
    lt_read_options opt = {.content_type = ct, .source_name = "t.csv", .threads = 1};
    lt_err_clear(err);
    return lt_read_buffer(text, strlen(text), &opt, ds, err);
}

/* Compares a dense dataset with expected values (NAN matches NaN). */
static void check_dense(const lt_dataset *ds, size_t rows, size_t cols, const float *x,
                        const float *labels, int line)
{
    if (!ds) {
        LT_FAIL_AT("(line %d) no dataset", line);
        return;
    }
    LT_CHECK_INT(ds->x.kind, ==, LT_MATRIX_DENSE);
    LT_CHECK_INT(ds->x.n_rows, ==, rows);
    LT_CHECK_INT(ds->x.n_cols, ==, cols);
    if (ds->x.n_rows != rows || ds->x.n_cols != cols) return;
    for (size_t i = 0; i < rows * cols; i++) {
        float a = ds->x.values[i], b = x[i];
        if (!((isnan(a) && isnan(b)) || a == b))
            LT_FAIL_AT("(line %d) x[%zu]: got %g, expected %g", line, i, a, b);
    }
    if (!labels) {
        if (ds->labels) LT_FAIL_AT("(line %d) unexpected labels", line);
        return;
    }
    if (!ds->labels) {
        LT_FAIL_AT("(line %d) no labels", line);
        return;
    }
    for (size_t i = 0; i < rows; i++) {
        float a = ds->labels[i], b = labels[i];
        if (!((isnan(a) && isnan(b)) || a == b))
            LT_FAIL_AT("(line %d) label[%zu]: got %g, expected %g", line, i, a, b);
    }
}

static void csv_label_first_then_features(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("1,2.5,3\n0,-4,5e2\n", "text/csv", &ds, &err), ==, 0);
    check_dense(ds, 2, 2, (float[]){2.5f, 3, -4, 500}, (float[]){1, 0}, __LINE__);
    lt_dataset_free(ds);
}

static void csv_label_size_zero_has_no_labels(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("1,2\n3,4", "text/csv; label_size=0", &ds, &err), ==, 0);
    check_dense(ds, 2, 2, (float[]){1, 2, 3, 4}, NULL, __LINE__);
    lt_dataset_free(ds);
}

static void csv_empty_fields_and_nan_are_missing(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("1,,3,nan\n,2,NaN,4\n", "text/csv", &ds, &err), ==, 0);
    check_dense(ds, 2, 3, (float[]){NAN, 3, NAN, 2, NAN, 4}, (float[]){1, NAN}, __LINE__);
    lt_dataset_free(ds);
}

static void csv_crlf_blank_lines_and_no_trailing_newline(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("\r\n1,2\r\n\n\r\n3,4", "text/csv", &ds, &err), ==, 0);
    check_dense(ds, 2, 1, (float[]){2, 4}, (float[]){1, 3}, __LINE__);
    lt_dataset_free(ds);
}

static void csv_errors_name_line_and_reason(void)
{
    static const struct {
        const char *text, *ct, *want;
        int rc;
    } cases[] = {
        {"1,2,3\n4,5\n", "text/csv", "t.csv:2: 2 columns, expected 3", LT_EINVAL},
        {"1,2\n\n4,5,6\n", "text/csv", "t.csv:3: 3 columns, expected 2", LT_EINVAL},
        {"1,2\n3,abc\n", "text/csv", "t.csv:2: column 2: not a number: \"abc\"", LT_EINVAL},
        {"1,\"2\"\n", "text/csv", "t.csv:1: column 2: quoted fields", LT_EINVAL},
        {"1,2\n3,1e999\n", "text/csv", "t.csv:2: column 2", LT_EINVAL},
        {"1,inf\n", "text/csv", "t.csv:1: column 2", LT_EINVAL},
        {"1,0x10\n", "text/csv", "t.csv:1: column 2", LT_EINVAL},
        {"1,2 3\n", "text/csv", "t.csv:1: column 2", LT_EINVAL},
        {"1\n", "text/csv", "t.csv:1: a row has only the label", LT_EINVAL},
        {"\n\n", "text/csv", "t.csv: no data rows", LT_EINVAL},
        {"", "text/csv", "t.csv: no data rows", LT_EINVAL},
        {"1,2\n", "text/csv;label_size=5", "label_size must be 0 or 1", LT_EINVAL},
        {"1,2\n", "image/png", "unsupported content type", LT_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_dataset *ds = NULL;
        lt_err err = {0};
        int rc = read_str(cases[i].text, cases[i].ct, &ds, &err);
        if (rc != cases[i].rc) LT_FAIL_AT("case %zu: rc %d, expected %d", i, rc, cases[i].rc);
        LT_CHECK(ds == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].want);
        lt_dataset_free(ds);
    }
}

static void check_weights(const lt_dataset *ds, size_t rows, const float *w, int line)
{
    if (!ds || !ds->weights) {
        LT_FAIL_AT("(line %d) no weights", line);
        return;
    }
    for (size_t i = 0; i < rows; i++)
        if (ds->weights[i] != w[i])
            LT_FAIL_AT("(line %d) weight[%zu]: got %g, expected %g", line, i, ds->weights[i], w[i]);
}

static int read_weighted_csv(const char *text, const char *ct, int threads, lt_dataset **ds,
                             lt_err *err)
{
    lt_read_options opt = {
        .content_type = ct, .source_name = "t.csv", .threads = threads, .csv_weights = true};
    lt_err_clear(err);
    return lt_read_buffer(text, strlen(text), &opt, ds, err);
}

static void csv_weights_are_the_second_column(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_weighted_csv("1,0.5,2,3\n0,2,4,\n", "text/csv", 1, &ds, &err), ==, 0);
    check_dense(ds, 2, 2, (float[]){2, 3, 4, NAN}, (float[]){1, 0}, __LINE__);
    check_weights(ds, 2, (float[]){0.5f, 2}, __LINE__);
    lt_dataset_free(ds);
    /* Without the option the weight is a feature, and there are no weights. */
    LT_CHECK_INT(read_str("1,0.5,2,3\n", "text/csv", &ds, &err), ==, 0);
    check_dense(ds, 1, 3, (float[]){0.5f, 2, 3}, (float[]){1}, __LINE__);
    LT_CHECK(ds && ds->weights == NULL);
    lt_dataset_free(ds);
    /* The parallel path agrees (a buffer over the parallel threshold). */
    lt_buf big;
    lt_buf_init(&big, 1 << 24);
    for (int i = 0; i < 120000; i++)
        if (lt_buf_printf(&big, NULL, "%d,%d.5,%d\n", i % 2, i % 7, i) < 0) abort();
    LT_CHECK_INT(read_weighted_csv(big.data, "text/csv", 4, &ds, &err), ==, 0);
    if (ds) {
        LT_CHECK_INT(ds->x.n_rows, ==, 120000);
        LT_CHECK_INT(ds->x.n_cols, ==, 1);
        LT_CHECK(ds->weights && ds->weights[119999] == 119999 % 7 + 0.5f);
        LT_CHECK(ds->x.values[119999] == 119999.0f && ds->labels[119999] == 1.0f);
    }
    lt_dataset_free(ds);
    lt_buf_free(&big);
}

static void csv_weights_errors(void)
{
    static const struct {
        const char *text, *ct, *want;
    } cases[] = {
        {"1,0.5,2\n1,,3\n", "text/csv", "t.csv:2: column 2: the instance weight is missing"},
        {"1,-1,2\n", "text/csv", "t.csv:1: column 2: instance weight -1 is negative"},
        {"1,nan,2\n", "text/csv", "t.csv:1: column 2: the instance weight is missing"},
        {"1,x,2\n", "text/csv", "t.csv:1: column 2: not a number"},
        {"1,1\n", "text/csv", "t.csv:1: a row has only the label and weight columns"},
        {"1,1,2\n", "text/csv;label_size=0",
         "t.csv: instance weights (csv_weights) need the "
         "label column (label_size=1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_dataset *ds = NULL;
        lt_err err = {0};
        LT_CHECK_INT(read_weighted_csv(cases[i].text, cases[i].ct, 1, &ds, &err), ==, LT_EINVAL);
        LT_CHECK(ds == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].want);
    }
}

static void libsvm_label_weight_fills_weights(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("1:0.5 0:1.5 3:2\n\n0:2 1:-1\n1:0\n", "text/libsvm", &ds, &err), ==, 0);
    if (!ds) return;
    LT_CHECK_INT(ds->x.n_rows, ==, 3);
    LT_CHECK_INT(ds->x.nnz, ==, 3);
    static const float want_labels[] = {1, 0, 1};
    for (int i = 0; i < 3; i++)
        LT_CHECK(ds->labels[i] == want_labels[i]);
    check_weights(ds, 3, (float[]){0.5f, 2, 0}, __LINE__);
    lt_dataset_free(ds);
    LT_CHECK_INT(read_str("1 0:1.5\n", "text/libsvm", &ds, &err), ==, 0);
    LT_CHECK(ds && ds->weights == NULL);
    lt_dataset_free(ds);
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"1:1 1:1\n0 2:1\n", "t.csv:2: a weight (label:weight) must be on every row or on none"},
        {"1 1:1\n0:1 2:1\n", "t.csv:2: a weight (label:weight) must be on every row or on none"},
        {"1:-2 1:1\n", "t.csv:1: the weight in \"1:-2\" is not a number >= 0"},
        {"1: 1:1\n", "t.csv:1: the weight in \"1:\" is not a number >= 0"},
        {"1:nan 1:1\n", "t.csv:1: the weight in \"1:nan\""},
        {":1 1:1\n", "t.csv:1: label is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        LT_CHECK_INT(read_str(cases[i].text, "text/libsvm", &ds, &err), ==, LT_EINVAL);
        LT_CHECK(ds == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].want);
    }
}

static void libsvm_reads_csr_with_indices_as_written(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("1 0:1.5 3:2\n\n0 qid:7 1:-1  # comment\n2\n", "text/libsvm", &ds, &err),
                 ==, 0);
    if (!ds) return;
    LT_CHECK_INT(ds->x.kind, ==, LT_MATRIX_CSR);
    LT_CHECK_INT(ds->x.n_rows, ==, 3);
    LT_CHECK_INT(ds->x.n_cols, ==, 4);
    LT_CHECK_INT(ds->x.nnz, ==, 3);
    size_t rp[] = {0, 2, 3, 3};
    uint32_t ci[] = {0, 3, 1};
    float v[] = {1.5f, 2, -1}, lab[] = {1, 0, 2};
    for (int i = 0; i < 4; i++) LT_CHECK_INT(ds->x.row_ptr[i], ==, rp[i]);
    for (int i = 0; i < 3; i++) {
        LT_CHECK_INT(ds->x.col_idx[i], ==, ci[i]);
        LT_CHECK(ds->x.values[i] == v[i]);
        LT_CHECK(ds->labels[i] == lab[i]);
    }
    LT_CHECK_INT(lt_dataset_densify(ds, 0.0f, 0, &err), ==, 0);
    check_dense(ds, 3, 4, (float[]){1.5f, 0, 0, 2, 0, -1, 0, 0, 0, 0, 0, 0}, lab, __LINE__);
    lt_dataset_free(ds);
}

static void libsvm_errors(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"1 3:1 2:1\n", "t.csv:1: index 2 does not increase (previous 3)"},
        {"1 1:1\n0 2:1 2:3\n", "t.csv:2: index 2 does not increase"},
        {"1 1:1\n0 x:1\n", "t.csv:2: bad token \"x:1\""},
        {"1 5\n", "t.csv:1: bad token \"5\""},
        {"1 5:\n", "t.csv:1: bad token \"5:\""},
        {"1 5:abc\n", "t.csv:1: bad token"},
        {"1 -5:1\n", "t.csv:1: bad token"},
        {"1 99999999999:1\n", "t.csv:1: bad token"},
        {"abc 1:1\n", "t.csv:1: label is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_dataset *ds = NULL;
        lt_err err = {0};
        LT_CHECK_INT(read_str(cases[i].text, "text/libsvm", &ds, &err), ==, LT_EINVAL);
        LT_CHECK(ds == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].want);
    }
}

static void densify_refuses_above_max_bytes(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("1 1000000:1\n2 5:1\n", "text/libsvm", &ds, &err), ==, 0);
    if (!ds) return;
    LT_CHECK_INT(lt_dataset_densify(ds, NAN, 1000, &err), ==, LT_ELIMIT);
    LT_CHECK_INT(ds->x.kind, ==, LT_MATRIX_CSR);
    lt_dataset_free(ds);
}

static void jsonl_both_shapes(void)
{
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(read_str("{\"features\": [1, 2.5], \"label\": 1}\n\n"
                          "{\"data\": {\"features\": {\"values\": [3, null]}}, \"label\": 0}\n",
                          "application/jsonlines", &ds, &err),
                 ==, 0);
    check_dense(ds, 2, 2, (float[]){1, 2.5f, 3, NAN}, (float[]){1, 0}, __LINE__);
    lt_dataset_free(ds);
    LT_CHECK_INT(read_str("{\"data\": {\"features\": {\"values\": [3, 4]}}}",
                          "application/jsonlines", &ds, &err),
                 ==, 0);
    check_dense(ds, 1, 2, (float[]){3, 4}, NULL, __LINE__);
    lt_dataset_free(ds);
}

static void jsonl_errors(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"features\": [1]}\n{\"features\": [1, 2]}\n", "t.csv:2: 2 features, expected 1"},
        {"{\"features\": [1]}\n{\"feat\": [1]}\n", "t.csv:2: expected {\"features\""},
        {"{\"features\": [1]}\n{\"features\": [\"a\"]}\n", "t.csv:2: feature 0"},
        {"{\"features\": [1], \"label\": 1}\n{\"features\": [1]}\n", "t.csv:2: \"label\""},
        {"{\"features\": [1]\n", "t.csv:1:"},
        {"[1,2]\n", "t.csv:1: expected"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_dataset *ds = NULL;
        lt_err err = {0};
        LT_CHECK_INT(read_str(cases[i].text, "application/jsonlines", &ds, &err), ==, LT_EINVAL);
        LT_CHECK(ds == NULL);
        LT_CHECK_CONTAINS(err.msg, cases[i].want);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

static void path_directory_reads_files_in_name_order(void)
{
    char *dir = lt_test_tmpdir("read_dir");
    char *a = lt_xasprintf("%s/b.csv", dir), *b = lt_xasprintf("%s/a.csv", dir);
    char *sub = lt_xasprintf("%s/zz", dir);
    write_file(a, "3,4\n5,6"); /* no trailing newline: still its own line */
    write_file(b, "1,2\n");
    mkdir(sub, 0700);
    lt_read_options opt = {.content_type = "text/csv", .threads = 1};
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_read_path(dir, &opt, &ds, &err), ==, 0);
    check_dense(ds, 3, 1, (float[]){2, 4, 6}, (float[]){1, 3, 5}, __LINE__);
    lt_dataset_free(ds);
    LT_CHECK_INT(lt_read_path(a, &opt, &ds, &err), ==, 0);
    check_dense(ds, 2, 1, (float[]){4, 6}, (float[]){3, 5}, __LINE__);
    lt_dataset_free(ds);
    char *missing = lt_xasprintf("%s/nope", dir);
    LT_CHECK_INT(lt_read_path(missing, &opt, &ds, &err), ==, LT_ENOTFOUND);
    free(missing);
    free(a);
    free(b);
    free(sub);
    free(dir);
}

static void *fifo_writer(void *arg)
{
    int fd = open((const char *)arg, O_WRONLY);
    if (fd < 0) return NULL;
    for (int i = 0; i < 1000; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "%d,%d,%d\n", i % 2, i, -i);
        if (write(fd, line, (size_t)n) != n) break;
    }
    close(fd);
    return NULL;
}

static void path_fifo_is_read_as_a_stream(void)
{
    char *dir = lt_test_tmpdir("read_fifo");
    char *fifo = lt_xasprintf("%s/train", dir);
    LT_CHECK_INT(mkfifo(fifo, 0600), ==, 0);
    pthread_t th;
    pthread_create(&th, NULL, fifo_writer, fifo);
    lt_read_options opt = {.content_type = "text/csv", .source_name = "channel train"};
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_read_path(fifo, &opt, &ds, &err), ==, 0);
    pthread_join(th, NULL);
    if (ds) {
        LT_CHECK_INT(ds->x.n_rows, ==, 1000);
        LT_CHECK_INT(ds->x.n_cols, ==, 2);
        LT_CHECK(ds->x.values[2 * 999] == 999.0f && ds->x.values[2 * 999 + 1] == -999.0f);
        LT_CHECK(ds->labels[999] == 1.0f);
    }
    lt_dataset_free(ds);
    free(fifo);
    free(dir);
}

static void max_bytes_is_enforced(void)
{
    lt_read_options opt = {.content_type = "text/csv", .source_name = "big", .max_bytes = 64,
                           .threads = 1};
    lt_dataset *ds = NULL;
    lt_err err = {0};
    const char *text = "1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n";
    LT_CHECK_INT(lt_read_buffer(text, strlen(text), &opt, &ds, &err), ==, LT_ELIMIT);
    LT_CHECK_CONTAINS(err.msg, "big");
    LT_CHECK(ds == NULL);
    opt.content_type = "text/libsvm";
    lt_err_clear(&err);
    LT_CHECK_INT(lt_read_buffer("1 1:1 2:2 3:3 4:4 5:5 6:6\n", 26, &opt, &ds, &err), ==, LT_ELIMIT);
    opt.content_type = "application/jsonlines";
    lt_err_clear(&err);
    const char *j = "{\"features\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18]}";
    LT_CHECK_INT(lt_read_buffer(j, strlen(j), &opt, &ds, &err), ==, LT_ELIMIT);
    /* lt_read_path caps the raw text too. */
    char *dir = lt_test_tmpdir("read_max");
    char *path = lt_xasprintf("%s/x.csv", dir);
    write_file(path, text);
    opt.content_type = "text/csv";
    opt.max_bytes = 20;
    lt_err_clear(&err);
    LT_CHECK_INT(lt_read_path(path, &opt, &ds, &err), ==, LT_ELIMIT);
    free(path);
    free(dir);
}

static char *generate_csv(size_t rows, size_t *len)
{
    lt_buf buf;
    lt_buf_init(&buf, (size_t)1 << 30);
    lt_err err = {0};
    unsigned s = 7;
    for (size_t i = 0; i < rows; i++) {
        if (i % 1000 == 17) lt_buf_puts(&buf, "\r\n", &err); /* blank lines shift the rows */
        lt_buf_printf(&buf, &err, "%zu", i % 3);
        for (int j = 0; j < 8; j++) {
            s = s * 1103515245u + 12345u;
            if ((s >> 16) % 13 == 0)
                lt_buf_puts(&buf, ",", &err);
            else
                lt_buf_printf(&buf, &err, ",%.5g", (double)(int)(s >> 10) / 977.0 - 1000);
        }
        lt_buf_puts(&buf, i % 2 ? "\r\n" : "\n", &err);
    }
    *len = buf.len;
    return lt_buf_take(&buf);
}

static void csv_parallel_equals_serial(void)
{
    size_t len;
    char *text = generate_csv(100000, &len);
    lt_read_options opt = {.content_type = "text/csv", .source_name = "gen", .threads = 1};
    lt_dataset *a = NULL, *b = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_read_buffer(text, len, &opt, &a, &err), ==, 0);
    opt.threads = 7;
    LT_CHECK_INT(lt_read_buffer(text, len, &opt, &b, &err), ==, 0);
    if (a && b) {
        LT_CHECK_INT(a->x.n_rows, ==, 100000);
        LT_CHECK_INT(b->x.n_rows, ==, 100000);
        LT_CHECK_INT(b->x.n_cols, ==, 8);
        LT_CHECK(memcmp(a->x.values, b->x.values, 100000 * 8 * sizeof(float)) == 0);
        LT_CHECK(memcmp(a->labels, b->labels, 100000 * sizeof(float)) == 0);
        LT_CHECK(b->labels[99999] == 99999 % 3);
    }
    lt_dataset_free(a);
    lt_dataset_free(b);
    /* An error deep in a late chunk names the same physical line either way. */
    char *bad = strstr(text + len - 200, "\n") + 1;
    bad[0] = 'x';
    char msg1[1024];
    opt.threads = 1;
    LT_CHECK_INT(lt_read_buffer(text, len, &opt, &a, &err), ==, LT_EINVAL);
    snprintf(msg1, sizeof msg1, "%s", err.msg);
    lt_err_clear(&err);
    opt.threads = 7;
    LT_CHECK_INT(lt_read_buffer(text, len, &opt, &b, &err), ==, LT_EINVAL);
    LT_CHECK_STR(err.msg, msg1);
    LT_CHECK_CONTAINS(msg1, "column 1: not a number");
    free(text);
}

static void csv_number_parsing_matches_strtof(void)
{
    static const char *nums[] = {"0",    "-0",       "1.5",        "3.14159265358979", "1e-45",
                                 "1e-50", "-2.5E+3", "123456789012345678901234", "0.1",
                                 "7.0e-10", ".5",    "5.",         "+3", "1.17549435e-38",
                                 "3.4028234e38", "16777217", "0.30000000000000004"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "1,%s\n", nums[i]);
        lt_dataset *ds = NULL;
        lt_err err = {0};
        LT_CHECK_INT(read_str(text, "text/csv", &ds, &err), ==, 0);
        if (!ds) {
            LT_FAIL_AT("%s: %s", nums[i], err.msg);
            continue;
        }
        float want = strtof(nums[i], NULL);
        if (ds->x.values[0] != want) LT_FAIL_AT("%s: got %a, strtof %a", nums[i], ds->x.values[0], want);
        lt_dataset_free(ds);
    }
}

static void hostile_inputs_fail_cleanly(void)
{
    static const char garbage[] = {'\x01', '\xff', '\0', ',', '\n', '\x7f', ':', '{', '\0'};
    const char *cts[] = {"text/csv", "text/libsvm", "application/jsonlines"};
    size_t big = 10u << 20;
    char *line = malloc(big + 1);
    memset(line, '9', big);
    line[0] = '1';
    line[1] = ',';
    line[big] = '\0';
    char *line2 = malloc(big + 1);
    for (size_t i = 0; i < big; i++) line2[i] = i % 2 ? ',' : '1';
    line2[big] = '\0';
    for (int c = 0; c < 3; c++) {
        lt_read_options opt = {.content_type = cts[c], .source_name = "h", .threads = 2};
        lt_dataset *ds = NULL;
        lt_err err = {0};
        LT_CHECK(lt_read_buffer(garbage, sizeof garbage, &opt, &ds, &err) < 0);
        LT_CHECK(ds == NULL);
        lt_err_clear(&err);
        LT_CHECK(lt_read_buffer(line, big, &opt, &ds, &err) < 0);
        LT_CHECK(ds == NULL);
        lt_err_clear(&err);
        LT_CHECK(lt_read_buffer("1,1e99999999999999999999\n", 25, &opt, &ds, &err) < 0);
        lt_err_clear(&err);
        LT_CHECK(lt_read_buffer("1 1:1e-99999999999999999999\n", 28, &opt, &ds, &err) <= 0);
        lt_dataset_free(ds);
        ds = NULL;
        lt_err_clear(&err);
        LT_CHECK(lt_read_buffer("1 4294967295:1\n", 15, &opt, &ds, &err) < 0);
    }
    /* A 10 MB line of 5 M one-column cells is a valid CSV row. */
    lt_read_options opt = {.content_type = "text/csv", .source_name = "h"};
    lt_dataset *ds = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_read_buffer(line2, big - 1, &opt, &ds, &err), ==, 0);
    if (ds) LT_CHECK_INT(ds->x.n_cols, ==, big / 2 - 1);
    lt_dataset_free(ds);
    free(line);
    free(line2);
}

int main(void)
{
    LT_RUN(csv_label_first_then_features);
    LT_RUN(csv_label_size_zero_has_no_labels);
    LT_RUN(csv_empty_fields_and_nan_are_missing);
    LT_RUN(csv_crlf_blank_lines_and_no_trailing_newline);
    LT_RUN(csv_errors_name_line_and_reason);
    LT_RUN(csv_number_parsing_matches_strtof);
    LT_RUN(csv_parallel_equals_serial);
    LT_RUN(libsvm_reads_csr_with_indices_as_written);
    LT_RUN(libsvm_errors);
    LT_RUN(csv_weights_are_the_second_column);
    LT_RUN(csv_weights_errors);
    LT_RUN(libsvm_label_weight_fills_weights);
    LT_RUN(densify_refuses_above_max_bytes);
    LT_RUN(jsonl_both_shapes);
    LT_RUN(jsonl_errors);
    LT_RUN(path_directory_reads_files_in_name_order);
    LT_RUN(path_fifo_is_read_as_a_stream);
    LT_RUN(max_bytes_is_enforced);
    LT_RUN(hostile_inputs_fail_cleanly);
    return lt_test_summary();
}
