/*
 * A minimal test harness: each test is a function named for the behaviour it checks;
 * assertions print both sides and the line, and a failed assertion fails that test only.
 *
 *   static void csv_reader_quoted_newline_is_one_row(void) { LT_CHECK_INT(rows, ==, 1); }
 *   int main(void) { LT_RUN(csv_reader_quoted_newline_is_one_row); return lt_test_summary(); }
 */
#ifndef LT_TEST_H
#define LT_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lt_test_failures;
static int lt_test_count;
static int lt_test_current_failed;

#define LT_FAIL_AT(...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        lt_test_current_failed = 1;                                                                \
    } while (0)

#define LT_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) LT_FAIL_AT("check failed: %s", #cond);                                        \
    } while (0)

#define LT_CHECK_INT(a, op, b)                                                                     \
    do {                                                                                           \
        long long lt_a_ = (long long)(a), lt_b_ = (long long)(b);                                  \
        if (!(lt_a_ op lt_b_))                                                                     \
            LT_FAIL_AT("expected %s %s %s, got %lld vs %lld", #a, #op, #b, lt_a_, lt_b_);          \
    } while (0)

/* |a - b| <= tol, as doubles (a NaN on either side fails). */
#define LT_CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                           \
        double lt_a_ = (a), lt_b_ = (b);                                                           \
        if (!(fabs(lt_a_ - lt_b_) <= (tol)))                                                       \
            LT_FAIL_AT("expected %s ~ %s: %.17g vs %.17g", #a, #b, lt_a_, lt_b_);                  \
    } while (0)

#define LT_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *lt_a_ = (a), *lt_b_ = (b);                                                     \
        if (!lt_a_ || !lt_b_ || strcmp(lt_a_, lt_b_) != 0)                                         \
            LT_FAIL_AT("expected %s == %s:\n    got:      \"%s\"\n    expected: \"%s\"", #a, #b,  \
                       lt_a_ ? lt_a_ : "(null)", lt_b_ ? lt_b_ : "(null)");                        \
    } while (0)

#define LT_CHECK_CONTAINS(hay, needle)                                                             \
    do {                                                                                           \
        const char *lt_h_ = (hay), *lt_n_ = (needle);                                              \
        if (!lt_h_ || !strstr(lt_h_, lt_n_))                                                       \
            LT_FAIL_AT("expected \"%s\" to contain \"%s\"", lt_h_ ? lt_h_ : "(null)", lt_n_);      \
    } while (0)

#define LT_RUN(fn)                                                                                 \
    do {                                                                                           \
        lt_test_current_failed = 0;                                                                \
        lt_test_count++;                                                                           \
        fn();                                                                                      \
        if (lt_test_current_failed) {                                                              \
            lt_test_failures++;                                                                    \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        } else {                                                                                   \
            fprintf(stderr, "ok   %s\n", #fn);                                                     \
        }                                                                                          \
    } while (0)

static inline int lt_test_summary(void)
{
    fprintf(stderr, "%d/%d passed\n", lt_test_count - lt_test_failures, lt_test_count);
    return lt_test_failures ? 1 : 0;
}

/* A fresh scratch directory under $LT_TEST_TMP (or /tmp); caller frees the path. */
static inline char *lt_test_tmpdir(const char *name)
{
    const char *root = getenv("LT_TEST_TMP");
    char *path = NULL;
    if (asprintf(&path, "%s/%s.XXXXXX", root && *root ? root : "/tmp", name) < 0) abort();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", root && *root ? root : "/tmp");
    if (system(cmd) != 0) abort();
    if (!mkdtemp(path)) abort();
    return path;
}

#endif
