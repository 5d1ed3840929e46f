/* blob listing: prefixes, delimiters, start-after and pagination, checked against a
 * brute-force oracle over the same keys. */
#include "blob_test_util.h"

static const char *const keys[] = {
    "logs/2026/01/part-0",
    "logs/2026/01/part-1",
    "logs/2026/02/part-0",
    "logs/2026/02/part-1",
    "logs/2026/02/part-2",
    "logs/2026/03/part-0",
    "logs/2027/01/part-0",
    "logs/readme",
    "models/m0",
    "models/m1",
    "models/m2",
    "models/m3",
    "models/sub/deep",
    "models/",
    "top",
    "a",
    "a/b",
    "a/b/c",
    "a+b",
    "a b",
    "zz",
    "z\xc3\xbf/1",
    "z\xc3\xbf/2",
    "\xe6\x97\xa5/x",
    "dir/",
    "dir//double",
    "m",
    "modelsx",
    "logs-other",
    "logs/",
};
enum { N_KEYS = sizeof keys / sizeof keys[0] };

static lt_blob *store_with_keys(char **root)
{
    lt_blob *blob = fresh_store("blob-list", root);
    for (size_t i = 0; i < N_KEYS; i++)
        if (put_str(blob, keys[i], keys[i])) abort();
    return blob;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The expected listing entries ("K:key" or "P:prefix"), joined with '|'. */
static void oracle(const char *prefix, const char *delim, const char *after, lt_buf *out)
{
    const char *sorted[N_KEYS];
    memcpy(sorted, keys, sizeof sorted);
    qsort(sorted, N_KEYS, sizeof sorted[0], cmp_str);
    char last_prefix[2048] = "";
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *k = sorted[i];
        if (strncmp(k, prefix, strlen(prefix)) != 0) continue;
        const char *hit = delim && *delim ? strstr(k + strlen(prefix), delim) : NULL;
        if (hit) {
            char cp[2048];
            snprintf(cp, sizeof cp, "%.*s", (int)(hit - k + strlen(delim)), k);
            if (after && strcmp(cp, after) <= 0) continue;
            if (!strcmp(cp, last_prefix)) continue;
            snprintf(last_prefix, sizeof last_prefix, "%s", cp);
            lt_buf_printf(out, NULL, "P:%s|", cp);
        } else {
            if (after && strcmp(k, after) <= 0) continue;
            lt_buf_printf(out, NULL, "K:%s|", k);
        }
    }
}

/* All pages of a listing merged in order, as the oracle prints them. */
static void list_all(lt_blob *blob, const char *prefix, const char *delim, const char *after,
                     size_t page, lt_buf *out, size_t *pages)
{
    char *start = after ? strdup(after) : NULL;
    *pages = 0;
    for (;;) {
        lt_blob_list_params params = {
            .prefix = prefix, .delimiter = delim, .start_after = start, .max_keys = page};
        lt_blob_list_result res;
        lt_err err = {0};
        if (lt_blob_list(blob, "bkt", &params, &res, &err) != 0) {
            LT_FAIL_AT("list: %s", err.msg);
            break;
        }
        (*pages)++;
        if (res.n_objects + res.n_prefixes > page)
            LT_FAIL_AT("page of %zu entries > %zu", res.n_objects + res.n_prefixes, page);
        /* Merge the two sorted arrays as S3 interleaves them. */
        size_t i = 0, j = 0;
        while (i < res.n_objects || j < res.n_prefixes) {
            bool take_key = j == res.n_prefixes ||
                            (i < res.n_objects && strcmp(res.objects[i].key, res.prefixes[j]) < 0);
            if (take_key)
                lt_buf_printf(out, NULL, "K:%s|", res.objects[i++].key);
            else
                lt_buf_printf(out, NULL, "P:%s|", res.prefixes[j++]);
        }
        bool more = res.truncated;
        free(start);
        start = res.next_start_after ? strdup(res.next_start_after) : NULL;
        lt_blob_list_result_free(&res);
        if (!more) break;
        if (!start) {
            LT_FAIL_AT("truncated page without a next marker");
            break;
        }
        if (*pages > 100) {
            LT_FAIL_AT("listing does not end");
            break;
        }
    }
    free(start);
}

static void listing_matches_oracle_for_every_page_size(void)
{
    static const struct {
        const char *prefix, *delim, *after;
    } cases[] = {
        {"", NULL, NULL},       {"", "/", NULL},
        {"logs/", "/", NULL},   {"logs/2026/", "/", NULL},
        {"models/", "/", NULL}, {"a", "/", NULL},
        {"", "/", "logs/"},     {"", "/", "logs/2026/02/part-1"},
        {"", NULL, "m"},        {"z", "/", NULL},
        {"nothing", "/", NULL}, {"", "2026", NULL},
        {"logs/", "/", "a"},    {"logs/", "/", "zzz"},
        {"dir/", "/", NULL},    {"", "//", NULL},
    };
    static const size_t pages[] = {1, 2, 3, 4, 7, 1000};
    char *root;
    lt_blob *blob = store_with_keys(&root);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lt_buf want;
        lt_buf_init(&want, 1 << 20);
        lt_buf_puts(&want, "", NULL);
        oracle(cases[c].prefix, cases[c].delim, cases[c].after, &want);
        for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
            lt_buf got;
            lt_buf_init(&got, 1 << 20);
            lt_buf_puts(&got, "", NULL);
            size_t n_pages = 0;
            list_all(blob, cases[c].prefix, cases[c].delim, cases[c].after, pages[p], &got,
                     &n_pages);
            if (strcmp(got.data, want.data) != 0)
                LT_FAIL_AT(
                    "prefix '%s' delim '%s' after '%s' page %zu:\n    got:  %s\n    want: %s",
                    cases[c].prefix, cases[c].delim ? cases[c].delim : "",
                    cases[c].after ? cases[c].after : "", pages[p], got.data, want.data);
            lt_buf_free(&got);
        }
        lt_buf_free(&want);
    }
    lt_blob_close(blob);
    free(root);
}

static void delimiter_groups_are_common_prefixes(void)
{
    char *root;
    lt_blob *blob = store_with_keys(&root);
    lt_blob_list_params params = {.prefix = "logs/2026/", .delimiter = "/", .max_keys = 1000};
    lt_blob_list_result res;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_list(blob, "bkt", &params, &res, &err), ==, 0);
    LT_CHECK_INT(res.n_prefixes, ==, 3);
    LT_CHECK_INT(res.n_objects, ==, 0);
    if (res.n_prefixes == 3) {
        LT_CHECK_STR(res.prefixes[0], "logs/2026/01/");
        LT_CHECK_STR(res.prefixes[2], "logs/2026/03/");
    }
    LT_CHECK(!res.truncated);
    lt_blob_list_result_free(&res);
    params = (lt_blob_list_params){.prefix = "models/", .delimiter = "/", .max_keys = 1000};
    LT_CHECK_INT(lt_blob_list(blob, "bkt", &params, &res, &err), ==, 0);
    LT_CHECK_INT(res.n_objects, ==, 5); /* "models/" itself and m0..m3 */
    LT_CHECK_INT(res.n_prefixes, ==, 1);
    if (res.n_objects == 5) {
        LT_CHECK_STR(res.objects[0].key, "models/");
        LT_CHECK_INT(res.objects[1].size, ==, strlen("models/m0"));
    }
    lt_blob_list_result_free(&res);
    lt_blob_close(blob);
    free(root);
}

static void truncated_page_names_last_entry(void)
{
    char *root;
    lt_blob *blob = store_with_keys(&root);
    lt_blob_list_params params = {.delimiter = "/", .max_keys = 2};
    lt_blob_list_result res;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_list(blob, "bkt", &params, &res, &err), ==, 0);
    LT_CHECK(res.truncated);
    LT_CHECK_STR(res.next_start_after, "a b");
    lt_blob_list_result_free(&res);
    params.max_keys = 0;
    LT_CHECK_INT(lt_blob_list(blob, "bkt", &params, &res, &err), ==, 0);
    LT_CHECK_INT(res.n_objects + res.n_prefixes, ==, 0);
    lt_blob_list_result_free(&res);
    lt_err e = {0};
    LT_CHECK_INT(lt_blob_list(blob, "missing", &params, &res, &e), ==, LT_ENOTFOUND);
    lt_blob_close(blob);
    free(root);
}

/* A group of 1000 keys rolls up into one entry, and the page goes on past it. */
static void common_prefix_skips_its_group(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-list-big", &root);
    char key[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "big/%05d", i);
        if (put_str(blob, key, "x")) break;
    }
    LT_CHECK_INT(put_str(blob, "c", "x"), ==, 0);
    lt_blob_list_params params = {.delimiter = "/", .max_keys = 1000};
    lt_blob_list_result res;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_list(blob, "bkt", &params, &res, &err), ==, 0);
    LT_CHECK_INT(res.n_prefixes, ==, 1);
    LT_CHECK_INT(res.n_objects, ==, 1);
    LT_CHECK(!res.truncated);
    lt_blob_list_result_free(&res);
    lt_blob_close(blob);
    free(root);
}

int main(void)
{
    LT_RUN(listing_matches_oracle_for_every_page_size);
    LT_RUN(delimiter_groups_are_common_prefixes);
    LT_RUN(truncated_page_names_last_entry);
    LT_RUN(common_prefix_skips_its_group);
    return lt_test_summary();
}
