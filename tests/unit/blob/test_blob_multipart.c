/* blob multipart uploads: complete (content and "-N" ETag), the three part-list errors,
 * abort, part replacement, listings, and bucket deletion dropping uploads. */
#include "blob_test_util.h"

#define MIB (1u << 20)

static int put_part(lt_blob *blob, const char *key, const char *id, int number, const void *data,
                    size_t len, char etag[LT_BLOB_ETAG_SIZE])
{
    lt_blob_writer *w = NULL;
    lt_err err = {0};
    int rc = lt_blob_part_writer_open(blob, "bkt", key, id, number, &w, &err);
    if (!rc) rc = lt_blob_writer_write(w, data, len, &err);
    lt_blob_object obj = {0};
    if (!rc)
        rc = lt_blob_writer_commit(w, &obj, &err);
    else
        lt_blob_writer_abort(w);
    if (!rc && etag) memcpy(etag, obj.etag, LT_BLOB_ETAG_SIZE);
    if (rc) fprintf(stderr, "part %d: %s\n", number, err.msg);
    lt_blob_object_clear(&obj);
    return rc;
}

static void complete_concatenates_parts_with_multipart_etag(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-mp", &root);
    size_t l1 = 5 * MIB, l2 = 5 * MIB + 17, l3 = 1000;
    uint8_t *data = malloc(l1 + l2 + l3);
    fill_pattern(data, l1 + l2 + l3, 5);
    char id[LT_BLOB_UPLOAD_ID_SIZE];
    lt_err err = {0};
    lt_blob_put_opts opts = {.content_type = "application/x-tar", .metadata_json = "{\"a\":\"b\"}"};
    LT_CHECK_INT(lt_blob_upload_create(blob, "bkt", "big.tar", &opts, id, &err), ==, 0);
    char e1[LT_BLOB_ETAG_SIZE], e2[LT_BLOB_ETAG_SIZE], e3[LT_BLOB_ETAG_SIZE];
    /* Upload out of order, and part 2 twice (the second replaces the first). */
    LT_CHECK_INT(put_part(blob, "big.tar", id, 3, data + l1 + l2, l3, e3), ==, 0);
    LT_CHECK_INT(put_part(blob, "big.tar", id, 2, "junk", 4, e2), ==, 0);
    LT_CHECK_INT(put_part(blob, "big.tar", id, 2, data + l1, l2, e2), ==, 0);
    LT_CHECK_INT(put_part(blob, "big.tar", id, 1, data, l1, e1), ==, 0);
    char want_e1[33];
    md5_hex(data, l1, want_e1);
    LT_CHECK_STR(e1, want_e1);

    lt_blob_part *parts = NULL;
    size_t n = 0;
    bool truncated = false;
    LT_CHECK_INT(
        lt_blob_upload_parts(blob, "bkt", "big.tar", id, 0, 2, &parts, &n, &truncated, &err), ==,
        0);
    LT_CHECK_INT(n, ==, 2);
    LT_CHECK(truncated);
    if (n == 2) {
        LT_CHECK_INT(parts[0].number, ==, 1);
        LT_CHECK_INT(parts[1].size, ==, l2);
        LT_CHECK(parts[1].last_modified_ms > 0);
    }
    free(parts);

    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", e2);
    lt_blob_part_ref refs[] = {{1, e1}, {2, quoted}, {3, e3}};
    lt_blob_object obj = {0};
    lt_blob_complete_fault fault = LT_BLOB_COMPLETE_OK;
    LT_CHECK_INT(lt_blob_upload_complete(blob, "bkt", "big.tar", id, refs, 3, &obj, &fault, &err),
                 ==, 0);
    /* ETag = md5(md5(p1) || md5(p2) || md5(p3)) + "-3". */
    uint8_t cat[48];
    lt_md5(data, l1, cat);
    lt_md5(data + l1, l2, cat + 16);
    lt_md5(data + l1 + l2, l3, cat + 32);
    char hex[33], want[40];
    md5_hex(cat, sizeof cat, hex);
    snprintf(want, sizeof want, "%s-3", hex);
    LT_CHECK_STR(obj.etag, want);
    LT_CHECK_INT(obj.size, ==, l1 + l2 + l3);
    LT_CHECK_STR(obj.content_type, "application/x-tar");
    lt_blob_object_clear(&obj);
    size_t got_len = 0;
    char *got = get_all(blob, "bkt", "big.tar", &got_len);
    LT_CHECK_INT(got_len, ==, l1 + l2 + l3);
    LT_CHECK(got && memcmp(got, data, got_len) == 0);
    free(got);
    LT_CHECK_INT(lt_blob_object_stat(blob, "bkt", "big.tar", &obj, &err), ==, 0);
    LT_CHECK_STR(obj.metadata_json, "{\"a\":\"b\"}");
    lt_blob_object_clear(&obj);
    /* The upload is gone and only the object's content file remains. */
    lt_err e = {0};
    LT_CHECK_INT(lt_blob_upload_abort(blob, "bkt", "big.tar", id, &e), ==, LT_ENOTFOUND);
    LT_CHECK_INT(data_files(root), ==, 1);
    LT_CHECK_INT(tmp_files(root), ==, 0);
    free(data);
    lt_blob_close(blob);
    free(root);
}

static void complete_refuses_bad_part_lists(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-mp-bad", &root);
    char id[LT_BLOB_UPLOAD_ID_SIZE];
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_upload_create(blob, "bkt", "k", NULL, id, &err), ==, 0);
    uint8_t *big = calloc(1, 5 * MIB);
    char e1[LT_BLOB_ETAG_SIZE], e2[LT_BLOB_ETAG_SIZE], e3[LT_BLOB_ETAG_SIZE];
    LT_CHECK_INT(put_part(blob, "k", id, 1, "small", 5, e1), ==, 0);
    LT_CHECK_INT(put_part(blob, "k", id, 2, big, 5 * MIB, e2), ==, 0);
    LT_CHECK_INT(put_part(blob, "k", id, 3, "tail", 4, e3), ==, 0);
    free(big);
    static const char wrong[] = "00000000000000000000000000000000";
    const struct {
        const char *what;
        lt_blob_part_ref refs[3];
        size_t n;
        lt_blob_complete_fault fault;
    } cases[] = {
        {"missing part", {{2, e2}, {4, e3}}, 2, LT_BLOB_COMPLETE_INVALID_PART},
        {"wrong etag", {{2, wrong}, {3, e3}}, 2, LT_BLOB_COMPLETE_INVALID_PART},
        {"descending", {{3, e3}, {2, e2}}, 2, LT_BLOB_COMPLETE_INVALID_ORDER},
        {"repeated", {{2, e2}, {2, e2}}, 2, LT_BLOB_COMPLETE_INVALID_ORDER},
        {"small first part", {{1, e1}, {2, e2}}, 2, LT_BLOB_COMPLETE_TOO_SMALL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_blob_complete_fault fault = LT_BLOB_COMPLETE_OK;
        lt_err e = {0};
        int rc = lt_blob_upload_complete(blob, "bkt", "k", id, cases[i].refs, cases[i].n, NULL,
                                         &fault, &e);
        if (rc != LT_EINVAL || fault != cases[i].fault)
            LT_FAIL_AT("%s: rc %d fault %d, want LT_EINVAL fault %d (%s)", cases[i].what, rc,
                       (int)fault, (int)cases[i].fault, e.msg);
    }
    /* Nothing was published and the upload is intact: a good list still completes, and
     * the unlisted part 1 is discarded. */
    lt_blob_object obj = {0};
    LT_CHECK_INT(lt_blob_object_stat(blob, "bkt", "k", &obj, &err), ==, LT_ENOTFOUND);
    lt_blob_part_ref good[] = {{2, e2}, {3, e3}};
    LT_CHECK_INT(lt_blob_upload_complete(blob, "bkt", "k", id, good, 2, &obj, NULL, &err), ==, 0);
    LT_CHECK_CONTAINS(obj.etag, "-2");
    LT_CHECK_INT(obj.size, ==, 5 * MIB + 4);
    lt_blob_object_clear(&obj);
    LT_CHECK_INT(data_files(root), ==, 1);
    lt_err e = {0};
    LT_CHECK_INT(lt_blob_upload_complete(blob, "bkt", "k", "nope", good, 2, NULL, NULL, &e), ==,
                 LT_ENOTFOUND);
    lt_blob_close(blob);
    free(root);
}

static void abort_discards_parts_and_upload(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-mp-abort", &root);
    char id[LT_BLOB_UPLOAD_ID_SIZE];
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_upload_create(blob, "bkt", "k", NULL, id, &err), ==, 0);
    LT_CHECK_INT(put_part(blob, "k", id, 1, "aaaa", 4, NULL), ==, 0);
    LT_CHECK_INT(put_part(blob, "k", id, 2, "bbbb", 4, NULL), ==, 0);
    LT_CHECK_INT(data_files(root), ==, 2);
    lt_err e = {0};
    LT_CHECK_INT(lt_blob_upload_abort(blob, "bkt", "other-key", id, &e), ==, LT_ENOTFOUND);
    LT_CHECK_INT(lt_blob_upload_abort(blob, "bkt", "k", id, &err), ==, 0);
    LT_CHECK_INT(data_files(root), ==, 0);
    lt_blob_part *parts = NULL;
    size_t n = 0;
    bool truncated;
    lt_err e2 = {0};
    LT_CHECK_INT(lt_blob_upload_parts(blob, "bkt", "k", id, 0, 10, &parts, &n, &truncated, &e2), ==,
                 LT_ENOTFOUND);
    lt_blob_writer *w = NULL;
    LT_CHECK_INT(lt_blob_part_writer_open(blob, "bkt", "k", id, 1, &w, &e2), ==, LT_ENOTFOUND);
    lt_blob_close(blob);
    free(root);
}

static void part_numbers_outside_range_are_refused(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-mp-num", &root);
    char id[LT_BLOB_UPLOAD_ID_SIZE];
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_upload_create(blob, "bkt", "k", NULL, id, &err), ==, 0);
    static const int numbers[] = {0, -1, 10001};
    for (size_t i = 0; i < 3; i++) {
        lt_blob_writer *w = NULL;
        lt_err e = {0};
        LT_CHECK_INT(lt_blob_part_writer_open(blob, "bkt", "k", id, numbers[i], &w, &e), ==,
                     LT_EINVAL);
    }
    LT_CHECK_INT(put_part(blob, "k", id, 10000, "x", 1, NULL), ==, 0);
    lt_blob_close(blob);
    free(root);
}

static void uploads_are_listed_by_key_and_dropped_with_bucket(void)
{
    char *root;
    lt_blob *blob = fresh_store("blob-mp-list", &root);
    lt_err err = {0};
    char ids[4][LT_BLOB_UPLOAD_ID_SIZE];
    const char *keys[] = {"b", "a", "a", "c/d"};
    for (int i = 0; i < 4; i++)
        LT_CHECK_INT(lt_blob_upload_create(blob, "bkt", keys[i], NULL, ids[i], &err), ==, 0);
    LT_CHECK_INT(put_part(blob, "a", ids[1], 1, "zz", 2, NULL), ==, 0);
    lt_blob_upload *ups = NULL;
    size_t n = 0;
    bool truncated = false;
    LT_CHECK_INT(lt_blob_upload_list(blob, "bkt", NULL, NULL, NULL, 3, &ups, &n, &truncated, &err),
                 ==, 0);
    LT_CHECK_INT(n, ==, 3);
    LT_CHECK(truncated);
    if (n == 3) {
        LT_CHECK_STR(ups[0].key, "a");
        LT_CHECK_STR(ups[1].key, "a");
        LT_CHECK(strcmp(ups[0].id, ups[1].id) < 0);
        LT_CHECK_STR(ups[2].key, "b");
    }
    char marker_id[LT_BLOB_UPLOAD_ID_SIZE];
    snprintf(marker_id, sizeof marker_id, "%s", n ? ups[0].id : "");
    lt_blob_upload_list_free(ups, n);
    LT_CHECK_INT(
        lt_blob_upload_list(blob, "bkt", NULL, "a", marker_id, 10, &ups, &n, &truncated, &err), ==,
        0);
    LT_CHECK_INT(n, ==, 3);
    lt_blob_upload_list_free(ups, n);
    LT_CHECK_INT(lt_blob_upload_list(blob, "bkt", "c/", NULL, NULL, 10, &ups, &n, &truncated, &err),
                 ==, 0);
    LT_CHECK_INT(n, ==, 1);
    if (n == 1) LT_CHECK_STR(ups[0].key, "c/d");
    lt_blob_upload_list_free(ups, n);
    /* In-progress uploads do not keep a bucket alive; deleting it drops them. */
    LT_CHECK_INT(lt_blob_bucket_delete(blob, "bkt", &err), ==, 0);
    LT_CHECK_INT(data_files(root), ==, 0);
    LT_CHECK_INT(lt_blob_bucket_create(blob, "bkt", &err), ==, 0);
    LT_CHECK_INT(lt_blob_upload_list(blob, "bkt", NULL, NULL, NULL, 10, &ups, &n, &truncated, &err),
                 ==, 0);
    LT_CHECK_INT(n, ==, 0);
    lt_blob_upload_list_free(ups, n);
    lt_blob_close(blob);
    free(root);
}

int main(void)
{
    LT_RUN(complete_concatenates_parts_with_multipart_etag);
    LT_RUN(complete_refuses_bad_part_lists);
    LT_RUN(abort_discards_parts_and_upload);
    LT_RUN(part_numbers_outside_range_are_refused);
    LT_RUN(uploads_are_listed_by_key_and_dropped_with_bucket);
    return lt_test_summary();
}
