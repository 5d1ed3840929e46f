/* DeleteObjects (POST /bucket?delete): up to 1000 keys in a <Delete> body, removed in one
 * blob transaction; the answer lists each key as <Deleted> (omitted when <Quiet>true) or
 * <Error>. Version ids are ignored: there are no versions. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_KEYS = 1000 };

typedef struct delete_req {
    char **keys;
    size_t n, cap;
    bool quiet;
    bool too_many;
} delete_req;

static int on_element(void *ctx, const char *parent, const char *name, const char *text, size_t len)
{
    delete_req *dr = ctx;
    if (!strcmp(parent, "Object") && !strcmp(name, "Key")) {
        if (dr->n == MAX_KEYS) {
            dr->too_many = true;
            return LT_ELIMIT;
        }
        if (dr->n == dr->cap) {
            dr->cap = dr->cap ? 2 * dr->cap : 16;
            dr->keys = lt_xrealloc(dr->keys, dr->cap * sizeof *dr->keys);
        }
        dr->keys[dr->n++] = lt_xstrndup(text, len);
    } else if (!strcmp(parent, "Delete") && !strcmp(name, "Quiet")) {
        dr->quiet = len == 4 && !strncmp(text, "true", 4);
    }
    return 0;
}

static void error_entry(lt_buf *b, const char *key, const char *code, const char *message)
{
    lt_s3__xml_open(b, "Error");
    lt_s3__xml_text(b, "Key", key, false);
    lt_s3__xml_text(b, "Code", code, false);
    lt_s3__xml_text(b, "Message", message, false);
    lt_s3__xml_close(b, "Error");
}

static void delete_objects(lt_s3_call *call, lt_s3_response *resp)
{
    delete_req dr = {0};
    lt_err err = {0};
    int rc = lt_s3__xml_parse(call->xml.data, call->xml.len, "Delete", on_element, &dr, &err);
    if (rc || dr.n == 0) {
        lt_s3__fail(call, "MalformedXML",
                    dr.too_many ? "a Delete request names at most 1000 keys" : NULL);
        goto out;
    }
    rc = lt_blob_bucket_head(call->s3->blob, call->req.bucket, NULL, &err);
    if (rc) {
        lt_s3__fail_blob(call, rc, &err, LT_S3__ABOUT_BUCKET);
        goto out;
    }
    /* Keys that cannot exist are deleted already; the rest go in one transaction. */
    const char **valid = lt_xcalloc(dr.n, sizeof *valid);
    size_t n_valid = 0;
    for (size_t i = 0; i < dr.n; i++)
        if (dr.keys[i][0] && strlen(dr.keys[i]) <= LT_BLOB_KEY_MAX) valid[n_valid++] = dr.keys[i];
    rc = n_valid
             ? lt_blob_object_delete_many(call->s3->blob, call->req.bucket, valid, n_valid, &err)
             : 0;
    if (rc == LT_EINVAL) {
        /* One key is not UTF-8: delete the others one by one so each gets its answer. */
        rc = 0;
        lt_err_clear(&err);
        for (size_t i = 0; i < n_valid && !rc; i++) {
            rc = lt_blob_object_delete(call->s3->blob, call->req.bucket, valid[i], &err);
            if (rc == LT_EINVAL) {
                rc = 0;
                lt_err_clear(&err);
            }
        }
    }
    free(valid);
    lt_buf *b = &resp->body;
    lt_s3__xml_begin(b, "DeleteResult");
    for (size_t i = 0; i < dr.n; i++) {
        if (rc) {
            error_entry(b, dr.keys[i], "InternalError", err.msg);
        } else if (!dr.quiet) {
            lt_s3__xml_open(b, "Deleted");
            lt_s3__xml_text(b, "Key", dr.keys[i], false);
            lt_s3__xml_close(b, "Deleted");
        }
    }
    lt_s3__xml_end(b, "DeleteResult");
out:
    for (size_t i = 0; i < dr.n; i++)
        free(dr.keys[i]);
    free(dr.keys);
}

const lt_s3__op lt_s3__op_delete_objects = {.name = "DeleteObjects",
                                            .body = LT_S3__BODY_XML,
                                            .xml_max = 4u << 20,
                                            .finish = delete_objects};
