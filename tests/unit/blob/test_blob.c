/* blob: buckets, the streaming writer, reads, copies, deletes, URI helpers, and fault
 * injection leaving nothing visible and losing nothing stored. */
#include "blob_test_util.h"

static void bucket_names_follow_s3_rules(void)
{
    static const struct {
        const char *name;
        bool ok;
    } cases[] = {
        {"abc", true},           {"my-bucket.data", true}, {"a1", false},
        {"ab", false},           {"UpperCase", false},     {"-leading", false},
        {"trailing-", false},    {"two..dots", false},     {"192.168.1.1", false},
        {"xn--punycode", false}, {"name-s3alias", false},  {"under_score", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_err err = {0};
        int rc = lt_blob_bucket_name_check(cases[i].name, &err);
        if ((rc == 0) != cases[i].ok)
            LT_FAIL_AT("bucket name '%s': expected %s, got rc=%d (%s)", cases[i].name,
                       cases[i].ok ? "valid" : "invalid", rc, err.msg);
    }
    char name[65];
    memset(name, 'a', 64);
    name[64] = '\0';
    LT_CHECK_INT(lt_blob_bucket_name_check(name, NULL), ==, LT_EINVAL);
    name[63] = '\0';
    LT_CHECK_INT(lt_blob_bucket_name_check(name, NULL), ==, 0);
}

static void bucket_create_twice_conflicts_and_delete_needs_empty(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-bucket", &root);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_bucket_create(blob, "bkt", &err), ==, LT_ECONFLICT);
    LT_CHECK_INT(lt_blob_bucket_create(blob, "other", &err), ==, 0);
    lt_blob_bucket *list = NULL;
    size_t n = 0;
    LT_CHECK_INT(lt_blob_bucket_list(blob, &list, &n, &err), ==, 0);
    LT_CHECK_INT(n, ==, 2);
    if (n == 2) {
        LT_CHECK_STR(list[0].name, "bkt");
        LT_CHECK_STR(list[1].name, "other");
        LT_CHECK(list[0].created_ms > 0);
    }
    free(list);
    LT_CHECK_INT(put_str(blob, "k", "v"), ==, 0);
    lt_err e2 = {0};
    LT_CHECK_INT(lt_blob_bucket_delete(blob, "bkt", &e2), ==, LT_ECONFLICT);
    LT_CHECK_CONTAINS(e2.msg, "not empty");
    LT_CHECK_INT(lt_blob_object_delete(blob, "bkt", "k", &err), ==, 0);
    LT_CHECK_INT(lt_blob_bucket_delete(blob, "bkt", &err), ==, 0);
    LT_CHECK_INT(lt_blob_bucket_head(blob, "bkt", NULL, &err), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_blob_bucket_delete(blob, "bkt", &err), ==, LT_ENOTFOUND);
    lt_blob_close(blob);
    free(root);
}

static void put_get_round_trip_has_md5_etag_and_metadata(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-put", &root);
    const char *body = "hello, object store";
    lt_blob_put_opts opts = {.content_type = "text/plain", .metadata_json = "{\"owner\":\"ada\"}"};
    lt_blob_object obj = {0};
    lt_err err = {0};
    LT_CHECK_INT(put_chunks(blob, "bkt", "dir/obj.txt", body, strlen(body), 3, &opts, &obj, &err),
                 ==, 0);
    char want[33];
    md5_hex(body, strlen(body), want);
    LT_CHECK_STR(obj.etag, want);
    LT_CHECK_INT(obj.size, ==, strlen(body));
    lt_blob_object_clear(&obj);

    LT_CHECK_INT(lt_blob_object_stat(blob, "bkt", "dir/obj.txt", &obj, &err), ==, 0);
    LT_CHECK_STR(obj.etag, want);
    LT_CHECK_STR(obj.key, "dir/obj.txt");
    LT_CHECK_STR(obj.content_type, "text/plain");
    LT_CHECK_STR(obj.metadata_json, "{\"owner\":\"ada\"}");
    LT_CHECK(obj.last_modified_ms > 0);
    lt_blob_object_clear(&obj);
    char *got = get_all(blob, "bkt", "dir/obj.txt", NULL);
    LT_CHECK_STR(got, body);
    free(got);

    lt_err e1 = {0}, e2 = {0};
    LT_CHECK_INT(lt_blob_object_stat(blob, "bkt", "missing", &obj, &e1), ==, LT_ENOTFOUND);
    LT_CHECK_CONTAINS(e1.msg, "key 'missing'");
    LT_CHECK_INT(lt_blob_object_stat(blob, "nobucket", "k", &obj, &e2), ==, LT_ENOTFOUND);
    LT_CHECK_CONTAINS(e2.msg, "bucket 'nobucket'");
    lt_blob_close(blob);
    free(root);
}

static void empty_object_is_stored(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-empty", &root);
    lt_blob_object obj = {0};
    lt_err err = {0};
    LT_CHECK_INT(put_chunks(blob, "bkt", "empty", "", 0, 1, NULL, &obj, &err), ==, 0);
    LT_CHECK_STR(obj.etag, "d41d8cd98f00b204e9800998ecf8427e");
    LT_CHECK_INT(obj.size, ==, 0);
    lt_blob_object_clear(&obj);
    lt_blob_close(blob);
    free(root);
}

static void keys_are_not_paths(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-keys", &root);
    static const char *const keys[] = {
        "a", "a/b", "dir/", "dir//x", "../etc/passwd", "sp ace+plus", "ünïcødé/日本", "a/b/c/"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        LT_CHECK_INT(put_str(blob, keys[i], keys[i]), ==, 0);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *got = get_all(blob, "bkt", keys[i], NULL);
        LT_CHECK_STR(got, keys[i]);
        free(got);
    }
    lt_blob_close(blob);
    free(root);
}

static void bad_keys_are_refused(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-badkeys", &root);
    char longest[LT_BLOB_KEY_MAX + 2];
    memset(longest, 'k', sizeof longest);
    longest[LT_BLOB_KEY_MAX] = '\0';
    LT_CHECK_INT(put_str(blob, longest, "x"), ==, 0);
    longest[LT_BLOB_KEY_MAX] = 'k';
    longest[LT_BLOB_KEY_MAX + 1] = '\0';
    static const char *const bad[] = {"", "\xff\xfe", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80"};
    lt_blob_writer *w = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_writer_open(blob, "bkt", longest, NULL, &w, &err), ==, LT_EINVAL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lt_err e = {0};
        int rc = lt_blob_writer_open(blob, "bkt", bad[i], NULL, &w, &e);
        if (rc != LT_EINVAL) LT_FAIL_AT("key #%zu: expected LT_EINVAL, got %d", i, rc);
    }
    lt_blob_put_opts opts = {.metadata_json = "{\"n\":1}"};
    LT_CHECK_INT(lt_blob_writer_open(blob, "bkt", "k", &opts, &w, &err), ==, LT_EINVAL);
    LT_CHECK_INT(lt_blob_writer_open(blob, "nope", "k", NULL, &w, &err), ==, LT_ENOTFOUND);
    LT_CHECK_INT(tmp_files(root), ==, 0);
    lt_blob_close(blob);
    free(root);
}

static void overwrite_replaces_and_removes_old_content(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-overwrite", &root);
    LT_CHECK_INT(put_str(blob, "k", "first"), ==, 0);
    /* A reader holding the old version keeps reading it after the overwrite. */
    int fd = -1;
    lt_blob_object old = {0};
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_object_open(blob, "bkt", "k", &fd, &old, &err), ==, 0);
    LT_CHECK_INT(put_str(blob, "k", "second!"), ==, 0);
    char buf[16] = {0};
    LT_CHECK_INT(pread(fd, buf, sizeof buf - 1, 0), ==, 5);
    LT_CHECK_STR(buf, "first");
    close(fd);
    lt_blob_object_clear(&old);
    char *got = get_all(blob, "bkt", "k", NULL);
    LT_CHECK_STR(got, "second!");
    free(got);
    LT_CHECK_INT(data_files(root), ==, 1);
    LT_CHECK_INT(tmp_files(root), ==, 0);
    lt_blob_close(blob);
    free(root);
}

static void big_object_hashes_on_helper_thread(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-big", &root);
    /* 21 MiB + odd bytes in odd chunks: crosses the staging, thread and writeback sizes. */
    static const size_t chunks[] = {777, 4093, 65536, 1 << 20, 3 << 20};
    size_t len = (21u << 20) + 12345;
    uint8_t *data = malloc(len);
    fill_pattern(data, len, 7);
    char want[33];
    md5_hex(data, len, want);
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        lt_blob_object obj = {0};
        lt_err err = {0};
        LT_CHECK_INT(put_chunks(blob, "bkt", "big", data, len, chunks[i], NULL, &obj, &err), ==, 0);
        if (strcmp(obj.etag, want) != 0)
            LT_FAIL_AT("chunk %zu: etag %s, want %s", chunks[i], obj.etag, want);
        lt_blob_object_clear(&obj);
    }
    size_t got_len = 0;
    char *got = get_all(blob, "bkt", "big", &got_len);
    LT_CHECK_INT(got_len, ==, len);
    LT_CHECK(got && memcmp(got, data, len) == 0);
    free(got);
    free(data);
    lt_blob_close(blob);
    free(root);
}

static void writer_md5_is_available_before_commit(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-md5", &root);
    lt_blob_writer *w = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_writer_open(blob, "bkt", "k", NULL, &w, &err), ==, 0);
    LT_CHECK_INT(lt_blob_writer_write(w, "abc", 3, &err), ==, 0);
    uint8_t md5[16];
    LT_CHECK_INT(lt_blob_writer_md5(w, md5, &err), ==, 0);
    char hex[33];
    lt_hex_encode(hex, md5, 16);
    LT_CHECK_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
    LT_CHECK_INT(lt_blob_writer_size(w), ==, 3);
    lt_err e2 = {0};
    LT_CHECK(lt_blob_writer_write(w, "d", 1, &e2) != 0);
    lt_blob_object obj = {0};
    LT_CHECK_INT(lt_blob_writer_commit(w, &obj, &err), ==, 0);
    LT_CHECK_STR(obj.etag, hex);
    lt_blob_object_clear(&obj);
    lt_blob_close(blob);
    free(root);
}

static void aborted_writer_leaves_nothing(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-abort", &root);
    LT_CHECK_INT(put_str(blob, "k", "kept"), ==, 0);
    lt_blob_writer *w = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_writer_open(blob, "bkt", "k", NULL, &w, &err), ==, 0);
    uint8_t *data = calloc(1, 6 << 20);
    LT_CHECK_INT(lt_blob_writer_write(w, data, 6 << 20, &err), ==, 0);
    free(data);
    LT_CHECK_INT(tmp_files(root), ==, 1);
    lt_blob_writer_abort(w);
    LT_CHECK_INT(tmp_files(root), ==, 0);
    char *got = get_all(blob, "bkt", "k", NULL);
    LT_CHECK_STR(got, "kept");
    free(got);
    lt_blob_close(blob);
    free(root);
}

static void copy_keeps_etag_and_can_replace_metadata(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-copy", &root);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_bucket_create(blob, "dst", &err), ==, 0);
    lt_blob_put_opts opts = {.content_type = "a/b", .metadata_json = "{\"x\":\"1\"}"};
    lt_blob_object src = {0}, cp = {0};
    LT_CHECK_INT(put_chunks(blob, "bkt", "src", "payload", 7, 7, &opts, &src, &err), ==, 0);
    LT_CHECK_INT(lt_blob_object_copy(blob, "bkt", "src", "dst", "copy", NULL, &cp, &err), ==, 0);
    LT_CHECK_STR(cp.etag, src.etag);
    LT_CHECK_STR(cp.content_type, "a/b");
    LT_CHECK_STR(cp.metadata_json, "{\"x\":\"1\"}");
    lt_blob_object_clear(&cp);
    lt_blob_put_opts repl = {.content_type = "c/d"};
    LT_CHECK_INT(lt_blob_object_copy(blob, "bkt", "src", "bkt", "src", &repl, &cp, &err), ==, 0);
    lt_blob_object_clear(&cp);
    LT_CHECK_INT(lt_blob_object_stat(blob, "bkt", "src", &cp, &err), ==, 0);
    LT_CHECK_STR(cp.content_type, "c/d");
    LT_CHECK(cp.metadata_json == NULL);
    lt_blob_object_clear(&cp);
    /* The copy survives the source's deletion. */
    LT_CHECK_INT(lt_blob_object_delete(blob, "bkt", "src", &err), ==, 0);
    char *got = get_all(blob, "dst", "copy", NULL);
    LT_CHECK_STR(got, "payload");
    free(got);
    lt_err e = {0};
    LT_CHECK_INT(lt_blob_object_copy(blob, "bkt", "src", "dst", "x", NULL, NULL, &e), ==,
                 LT_ENOTFOUND);
    LT_CHECK_INT(data_files(root), ==, 1);
    LT_CHECK_INT(tmp_files(root), ==, 0);
    lt_blob_object_clear(&src);
    lt_blob_close(blob);
    free(root);
}

static void delete_many_ignores_missing_keys(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-delmany", &root);
    LT_CHECK_INT(put_str(blob, "k1", "1"), ==, 0);
    LT_CHECK_INT(put_str(blob, "k2", "2"), ==, 0);
    LT_CHECK_INT(put_str(blob, "k3", "3"), ==, 0);
    const char *keys[] = {"k1", "never", "k3"};
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_object_delete_many(blob, "bkt", keys, 3, &err), ==, 0);
    lt_blob_object obj = {0};
    LT_CHECK_INT(lt_blob_object_stat(blob, "bkt", "k1", &obj, &err), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_blob_object_stat(blob, "bkt", "k2", &obj, &err), ==, 0);
    lt_blob_object_clear(&obj);
    LT_CHECK_INT(data_files(root), ==, 1);
    LT_CHECK_INT(lt_blob_object_delete(blob, "nope", "k", &err), ==, LT_ENOTFOUND);
    lt_blob_close(blob);
    free(root);
}

static void uri_parse_splits_bucket_and_key(void)
{
    static const struct {
        const char *uri, *bucket, *key;
        int rc;
    } cases[] = {
        {"s3://b/k", "b", "k", 0},
        {"s3://b/dir/x/", "b", "dir/x/", 0},
        {"s3://b", "b", "", 0},
        {"s3://b/", "b", "", 0},
        {"s3:///k", NULL, NULL, LT_EINVAL},
        {"http://b/k", NULL, NULL, LT_EINVAL},
        {"b/k", NULL, NULL, LT_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = NULL, *k = NULL;
        lt_err err = {0};
        int rc = lt_blob_uri_parse(cases[i].uri, &b, &k, &err);
        if (rc != cases[i].rc) LT_FAIL_AT("%s: rc %d, want %d", cases[i].uri, rc, cases[i].rc);
        if (!rc) {
            LT_CHECK_STR(b, cases[i].bucket);
            LT_CHECK_STR(k, cases[i].key);
        }
        free(b);
        free(k);
    }
}

static int collect_key(void *ctx, const lt_blob_object *obj, lt_err *err)
{
    lt_buf *keys = ctx;
    return lt_buf_printf(keys, err, "%s;", obj->key);
}

static void uri_helpers_put_get_list_delete(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-uri", &root);
    lt_err err = {0};
    LT_CHECK_INT(
        lt_blob_uri_put_bytes(blob, "s3://bkt/model/a.json", "{}", 2, "application/json", &err), ==,
        0);
    char src[4096], dst[4096];
    snprintf(src, sizeof src, "%s/src.bin", root);
    snprintf(dst, sizeof dst, "%s/dst.bin", root);
    uint8_t data[100000];
    fill_pattern(data, sizeof data, 3);
    LT_CHECK_INT(lt_file_write_atomic(src, data, sizeof data, 0644, &err), ==, 0);
    LT_CHECK_INT(lt_blob_uri_put_file(blob, "s3://bkt/model/b.bin", src, NULL, &err), ==, 0);
    LT_CHECK_INT(lt_blob_uri_get_file(blob, "s3://bkt/model/b.bin", dst, &err), ==, 0);
    lt_buf back;
    lt_buf_init(&back, 1 << 20);
    LT_CHECK_INT(lt_file_read(dst, &back, &err), ==, 0);
    LT_CHECK(back.len == sizeof data && memcmp(back.data, data, sizeof data) == 0);
    lt_buf_reset(&back);
    LT_CHECK_INT(lt_blob_uri_get_bytes(blob, "s3://bkt/model/a.json", &back, &err), ==, 0);
    LT_CHECK_STR(back.data, "{}");
    lt_buf_free(&back);
    lt_buf small;
    lt_buf_init(&small, 10);
    lt_err e = {0};
    LT_CHECK_INT(lt_blob_uri_get_bytes(blob, "s3://bkt/model/b.bin", &small, &e), ==, LT_ELIMIT);
    lt_buf_free(&small);
    LT_CHECK_INT(put_str(blob, "other", "x"), ==, 0);
    lt_buf keys;
    lt_buf_init(&keys, 4096);
    LT_CHECK_INT(lt_blob_uri_list(blob, "s3://bkt/model/", collect_key, &keys, &err), ==, 0);
    LT_CHECK_STR(keys.data, "model/a.json;model/b.bin;");
    lt_buf_free(&keys);
    LT_CHECK_INT(lt_blob_uri_delete(blob, "s3://bkt/model/a.json", &err), ==, 0);
    LT_CHECK_INT(lt_blob_uri_delete(blob, "s3://bkt/model/a.json", &err), ==, 0);
    lt_err e2 = {0};
    LT_CHECK_INT(lt_blob_uri_get_file(blob, "s3://bkt/model/a.json", dst, &e2), ==, LT_ENOTFOUND);
    lt_blob_close(blob);
    free(root);
}

/* Each I/O step of an overwrite fails in turn: the call reports it, the old object is
 * intact, and no file is left behind. */
static void injected_failures_leave_old_object_intact(void)
{
    static const struct {
        lt_blob_fault_op op;
        unsigned nth;
        const char *what;
    } cases[] = {
        {LT_BLOB_FAULT_WRITE, 1, "first write"}, {LT_BLOB_FAULT_WRITE, 3, "third write"},
        {LT_BLOB_FAULT_SYNC, 1, "content sync"}, {LT_BLOB_FAULT_SYNC, 2, "directory sync"},
        {LT_BLOB_FAULT_LINK, 1, "link"},         {LT_BLOB_FAULT_COMMIT, 1, "index commit"},
    };
    size_t len = 5u << 20;
    uint8_t *data = malloc(len);
    fill_pattern(data, len, 11);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *root;
        lt_blob *blob = fresh_store("blob-fault", &root);
        LT_CHECK_INT(put_str(blob, "k", "old content"), ==, 0);
        lt_blob_fault_inject(blob, cases[i].op, cases[i].nth);
        lt_err err = {0};
        int rc = put_chunks(blob, "bkt", "k", data, len, 1 << 20, NULL, NULL, &err);
        if (rc == 0) LT_FAIL_AT("%s: the put succeeded", cases[i].what);
        char *got = get_all(blob, "bkt", "k", NULL);
        if (!got || strcmp(got, "old content") != 0)
            LT_FAIL_AT("%s: old object is \"%s\"", cases[i].what, got ? got : "(missing)");
        free(got);
        if (data_files(root) != 1 || tmp_files(root) != 0)
            LT_FAIL_AT("%s: %zu data and %zu tmp files left", cases[i].what, data_files(root),
                       tmp_files(root));
        lt_blob_fault_inject(blob, cases[i].op, 0);
        /* And the store still works. */
        LT_CHECK_INT(put_chunks(blob, "bkt", "k", data, len, 1 << 20, NULL, NULL, &err), ==, 0);
        lt_blob_close(blob);
        free(root);
    }
    free(data);
}

static void injected_failure_on_delete_keeps_object(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-faultdel", &root);
    LT_CHECK_INT(put_str(blob, "k", "v"), ==, 0);
    lt_blob_fault_inject(blob, LT_BLOB_FAULT_COMMIT, 1);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_object_delete(blob, "bkt", "k", &err), ==, LT_EIO);
    char *got = get_all(blob, "bkt", "k", NULL);
    LT_CHECK_STR(got, "v");
    free(got);
    LT_CHECK_INT(data_files(root), ==, 1);
    lt_blob_close(blob);
    free(root);
}

int main(void)
{
    LT_RUN(bucket_names_follow_s3_rules);
    LT_RUN(bucket_create_twice_conflicts_and_delete_needs_empty);
    LT_RUN(put_get_round_trip_has_md5_etag_and_metadata);
    LT_RUN(empty_object_is_stored);
    LT_RUN(keys_are_not_paths);
    LT_RUN(bad_keys_are_refused);
    LT_RUN(overwrite_replaces_and_removes_old_content);
    LT_RUN(big_object_hashes_on_helper_thread);
    LT_RUN(writer_md5_is_available_before_commit);
    LT_RUN(aborted_writer_leaves_nothing);
    LT_RUN(copy_keeps_etag_and_can_replace_metadata);
    LT_RUN(delete_many_ignores_missing_keys);
    LT_RUN(uri_parse_splits_bucket_and_key);
    LT_RUN(uri_helpers_put_get_list_delete);
    LT_RUN(injected_failures_leave_old_object_intact);
    LT_RUN(injected_failure_on_delete_keeps_object);
    return lt_test_summary();
}
