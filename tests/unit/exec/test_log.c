/* log streams: the writer's line format, partial lines, the 256 KiB cut, flush; the
 * reader's offsets, time filters and its refusal to pass a line still being written; the
 * stream listing; and a follower reading while a writer appends. */
#include "exec/exec.h"
#include "fs_test_util.h"

#include <pthread.h>

#define GROUP "/aws/sagemaker/TrainingJobs"

typedef struct lines_seen {
    size_t n;
    char last[64];
} lines_seen;

static void count_line(void *ctx, const char *line, size_t len, int64_t ts_ms)
{
    lines_seen *s = ctx;
    s->n++;
    snprintf(s->last, sizeof s->last, "%.*s@%lld", (int)(len < 40 ? len : 40), line,
             (long long)ts_ms);
}

static lt_exec_log *open_log(const char *root, const char *stream)
{
    lt_exec_log *log = NULL;
    lt_err err = {0};
    if (lt_exec_log_open(&log, root, GROUP, stream, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        abort();
    }
    return log;
}

static void log_writer_buffers_partial_lines(void)
{
    char *root = lt_test_tmpdir("log-w");
    lt_exec_log *log = open_log(root, "job/algo-1-1700000000");
    lines_seen seen = {0};
    lt_err err = {0};
    LT_CHECK_INT(lt_exec_log_write(log, "hel", 3, 1000, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(seen.n, ==, 0);
    LT_CHECK_INT(lt_exec_log_write(log, "lo\nwor", 6, 1001, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(seen.n, ==, 1);
    LT_CHECK_STR(seen.last, "hello@1001");
    LT_CHECK_INT(lt_exec_log_write(log, "ld\n\ntail", 8, 1002, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(seen.n, ==, 3);
    LT_CHECK_INT(lt_exec_log_flush(log, 1003, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(seen.n, ==, 4);
    LT_CHECK_STR(seen.last, "tail@1003");
    LT_CHECK_INT(lt_exec_log_flush(log, 1004, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(seen.n, ==, 4); /* nothing partial: flushing again adds nothing */
    lt_exec_log_close(log);
    char *text = get_file(root, "aws/sagemaker/TrainingJobs/job/algo-1-1700000000", NULL);
    LT_CHECK_STR(text, "1001 hello\n1002 world\n1002 \n1003 tail\n");
    free(text);
    /* Reopening appends. */
    log = open_log(root, "job/algo-1-1700000000");
    LT_CHECK_INT(lt_exec_log_write(log, "again\n", 6, 2000, NULL, NULL, &err), ==, 0);
    lt_exec_log_close(log);
    text = get_file(root, "aws/sagemaker/TrainingJobs/job/algo-1-1700000000", NULL);
    LT_CHECK(text && lt_str_ends_with(text, "1003 tail\n2000 again\n"));
    free(text);
    free(root);
}

static void log_writer_cuts_long_lines(void)
{
    char *root = lt_test_tmpdir("log-cut");
    lt_exec_log *log = open_log(root, "job/algo-1-1");
    size_t n = 600 * 1024;
    char *line = lt_xmalloc(n + 1);
    memset(line, 'a', n);
    line[n] = '\n';
    lines_seen seen = {0};
    lt_err err = {0};
    /* In two pieces, so the cut happens inside the partial buffer too. */
    LT_CHECK_INT(lt_exec_log_write(log, line, 100000, 5, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(lt_exec_log_write(log, line + 100000, n + 1 - 100000, 5, count_line, &seen, &err),
                 ==, 0);
    LT_CHECK_INT(seen.n, ==, 3);
    /* exactly 256 KiB stays one event */
    LT_CHECK_INT(lt_exec_log_write(log, line, 256 * 1024, 6, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(lt_exec_log_write(log, "\n", 1, 6, count_line, &seen, &err), ==, 0);
    LT_CHECK_INT(seen.n, ==, 4);
    lt_exec_log_close(log);
    uint64_t off = 0;
    lt_exec_log_event *ev = NULL;
    size_t got = 0;
    LT_CHECK_INT(lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 100, 0, 0, &ev, &got, &err),
                 ==, 0);
    LT_CHECK_INT(got, ==, 4);
    if (got == 4) {
        LT_CHECK_INT(strlen(ev[0].message), ==, 256 * 1024);
        LT_CHECK_INT(strlen(ev[1].message), ==, 256 * 1024);
        LT_CHECK_INT(strlen(ev[2].message), ==, 600 * 1024 - 512 * 1024);
        LT_CHECK_INT(strlen(ev[3].message), ==, 256 * 1024);
        LT_CHECK_INT(ev[0].offset, ==, 0);
        LT_CHECK_INT(ev[1].offset, ==, 2 + 256 * 1024 + 1);
    }
    lt_exec_log_events_free(ev, got);
    free(line);
    free(root);
}

static void log_reader_offsets_filters_and_partial_tail(void)
{
    char *root = lt_test_tmpdir("log-r");
    char *dir = lt_xasprintf("%s/aws/sagemaker/TrainingJobs", root);
    put_text(dir, "job/algo-1-1", "100 a\n200 b\n300 c\n400 d\n500 partial");
    lt_err err = {0};
    uint64_t off = 0;
    lt_exec_log_event *ev = NULL;
    size_t n = 0;
    LT_CHECK_INT(lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 2, 0, 0, &ev, &n, &err), ==,
                 0);
    LT_CHECK_INT(n, ==, 2);
    if (n == 2) {
        LT_CHECK_STR(ev[0].message, "a");
        LT_CHECK_INT(ev[1].ts_ms, ==, 200);
        LT_CHECK_INT(ev[1].offset, ==, 6);
    }
    LT_CHECK_INT(off, ==, 12);
    lt_exec_log_events_free(ev, n);
    LT_CHECK_INT(lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 10, 0, 0, &ev, &n, &err), ==,
                 0);
    LT_CHECK_INT(n, ==, 2);
    LT_CHECK_INT(off, ==, 24); /* stops before "500 partial", which has no '\n' yet */
    lt_exec_log_events_free(ev, n);
    LT_CHECK_INT(lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 10, 0, 0, &ev, &n, &err), ==,
                 0);
    LT_CHECK_INT(n, ==, 0);
    LT_CHECK_INT(off, ==, 24);
    lt_exec_log_events_free(ev, n);
    put_text(dir, "job/algo-1-1", "100 a\n200 b\n300 c\n400 d\n500 partial line\n");
    LT_CHECK_INT(lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 10, 0, 0, &ev, &n, &err), ==,
                 0);
    LT_CHECK_INT(n, ==, 1);
    if (n == 1) LT_CHECK_STR(ev[0].message, "partial line");
    lt_exec_log_events_free(ev, n);
    /* start inclusive, end exclusive */
    off = 0;
    LT_CHECK_INT(lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 10, 200, 400, &ev, &n, &err),
                 ==, 0);
    LT_CHECK_INT(n, ==, 2);
    if (n == 2) {
        LT_CHECK_STR(ev[0].message, "b");
        LT_CHECK_STR(ev[1].message, "c");
    }
    lt_exec_log_events_free(ev, n);
    off = 0;
    LT_CHECK_INT(lt_exec_log_read(root, GROUP, "job/missing", &off, 10, 0, 0, &ev, &n, &err), ==,
                 LT_ENOTFOUND);
    LT_CHECK_CONTAINS(err.msg, "job/missing");
    static const char *bad[] = {"../x", "job/../../x", "/abs", "a//b", "", "job/."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lt_err e2 = {0};
        if (lt_exec_log_read(root, GROUP, bad[i], &off, 10, 0, 0, &ev, &n, &e2) != LT_EINVAL)
            LT_FAIL_AT("stream name '%s' accepted", bad[i]);
    }
    lt_err e3 = {0};
    lt_exec_log *log = NULL;
    LT_CHECK_INT(lt_exec_log_open(&log, root, "/aws/../..", "x", &e3), ==, LT_EINVAL);
    free(dir);
    free(root);
}

static void log_reader_caps_one_reply_at_about_one_mib(void)
{
    char *root = lt_test_tmpdir("log-cap");
    lt_exec_log *log = open_log(root, "job/algo-1-1");
    char *line = lt_xmalloc(200 * 1024 + 1);
    memset(line, 'z', 200 * 1024);
    line[200 * 1024] = '\n';
    lt_err err = {0};
    for (int i = 0; i < 10; i++)
        LT_CHECK_INT(lt_exec_log_write(log, line, 200 * 1024 + 1, i, NULL, NULL, &err), ==, 0);
    lt_exec_log_close(log);
    uint64_t off = 0;
    size_t total = 0, calls = 0;
    for (;;) {
        lt_exec_log_event *ev = NULL;
        size_t n = 0;
        LT_CHECK_INT(
            lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 10000, 0, 0, &ev, &n, &err), ==, 0);
        lt_exec_log_events_free(ev, n);
        if (n == 0) break;
        LT_CHECK_INT(n, <=, 6);
        total += n;
        calls++;
    }
    LT_CHECK_INT(total, ==, 10);
    LT_CHECK_INT(calls, >=, 2);
    free(line);
    free(root);
}

static void log_streams_lists_sorted_with_times(void)
{
    char *root = lt_test_tmpdir("log-ls");
    char *dir = lt_xasprintf("%s/aws/sagemaker/TrainingJobs", root);
    lt_exec_log_stream *s = NULL;
    size_t n = 9;
    lt_err err = {0};
    LT_CHECK_INT(lt_exec_log_streams(root, GROUP, NULL, &s, &n, &err), ==, LT_ENOTFOUND);
    put_text(dir, "job-b/algo-1-1", "10 x\n20 y\n30 z\n");
    put_text(dir, "job/algo-2-1", "5 first\n7 last\n9 partial");
    put_text(dir, "job/algo-1-1", "");
    put_text(dir, "jobx/algo-1-1", "1 x\n");
    lt_err_clear(&err);
    LT_CHECK_INT(lt_exec_log_streams(root, GROUP, "job/", &s, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 2);
    if (n == 2) {
        LT_CHECK_STR(s[0].name, "job/algo-1-1");
        LT_CHECK_INT(s[0].stored_bytes, ==, 0);
        LT_CHECK(s[0].first_ms > 1000000000000LL); /* creation time of an empty stream */
        LT_CHECK_STR(s[1].name, "job/algo-2-1");
        LT_CHECK_INT(s[1].first_ms, ==, 5);
        LT_CHECK_INT(s[1].last_ms, ==, 7);
    }
    lt_exec_log_streams_free(s, n);
    LT_CHECK_INT(lt_exec_log_streams(root, GROUP, NULL, &s, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 4);
    if (n == 4) {
        LT_CHECK_STR(s[2].name, "job/algo-2-1");
        LT_CHECK_STR(s[3].name, "jobx/algo-1-1");
        LT_CHECK_STR(s[0].name, "job-b/algo-1-1"); /* "-" sorts before "/" */
        LT_CHECK_INT(s[0].first_ms, ==, 10);
        LT_CHECK_INT(s[0].last_ms, ==, 30);
    }
    lt_exec_log_streams_free(s, n);
    LT_CHECK_INT(lt_exec_log_streams(root, GROUP, "nothing", &s, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 0);
    free(dir);
    free(root);
}

enum { FOLLOW_LINES = 3000 };

typedef struct follow_ctx {
    const char *root;
    int rc;
} follow_ctx;

static void *writer_thread(void *arg)
{
    follow_ctx *c = arg;
    lt_exec_log *log = open_log(c->root, "job/algo-1-1");
    lt_buf all;
    lt_buf_init(&all, 1 << 24);
    for (int i = 0; i < FOLLOW_LINES; i++)
        lt_buf_printf(&all, NULL, "line %d of the run\n", i);
    lt_err err = {0};
    size_t at = 0, step = 1;
    while (at < all.len && !c->rc) {
        size_t len = step < all.len - at ? step : all.len - at;
        c->rc = lt_exec_log_write(log, all.data + at, len, 1000 + (int64_t)at, NULL, NULL, &err);
        at += len;
        step = step * 7 % 113 + 1; /* uneven pieces that split lines anywhere */
        if (at % 5 == 0) usleep(50);
    }
    if (!c->rc) c->rc = lt_exec_log_flush(log, 99999999, NULL, NULL, &err);
    lt_exec_log_close(log);
    lt_buf_free(&all);
    return NULL;
}

static void log_follower_reads_while_writer_appends(void)
{
    char *root = lt_test_tmpdir("log-follow");
    follow_ctx c = {root, 0};
    /* Create the file first so the follower never sees "not found". */
    lt_exec_log_close(open_log(root, "job/algo-1-1"));
    pthread_t t;
    pthread_create(&t, NULL, writer_thread, &c);
    uint64_t off = 0;
    int next = 0;
    int64_t last_ts = 0;
    int64_t deadline = lt_now_ms() + 30000;
    while (next < FOLLOW_LINES && lt_now_ms() < deadline) {
        lt_exec_log_event *ev = NULL;
        size_t n = 0;
        lt_err err = {0};
        if (lt_exec_log_read(root, GROUP, "job/algo-1-1", &off, 97, 0, 0, &ev, &n, &err) != 0) {
            LT_FAIL_AT("read: %s", err.msg);
            break;
        }
        for (size_t i = 0; i < n; i++, next++) {
            char expect[64];
            snprintf(expect, sizeof expect, "line %d of the run", next);
            if (strcmp(ev[i].message, expect) != 0) {
                LT_FAIL_AT("event %d: got \"%s\"", next, ev[i].message);
                next = FOLLOW_LINES;
                break;
            }
            LT_CHECK(ev[i].ts_ms >= last_ts);
            last_ts = ev[i].ts_ms;
        }
        lt_exec_log_events_free(ev, n);
        if (n == 0) usleep(100);
    }
    pthread_join(t, NULL);
    LT_CHECK_INT(c.rc, ==, 0);
    LT_CHECK_INT(next, ==, FOLLOW_LINES);
    free(root);
}

int main(void)
{
    LT_RUN(log_writer_buffers_partial_lines);
    LT_RUN(log_writer_cuts_long_lines);
    LT_RUN(log_reader_offsets_filters_and_partial_tail);
    LT_RUN(log_reader_caps_one_reply_at_about_one_mib);
    LT_RUN(log_streams_lists_sorted_with_times);
    LT_RUN(log_follower_reads_while_writer_appends);
    return lt_test_summary();
}
