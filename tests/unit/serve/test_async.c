/* Asynchronous inference's stored queue, as a restart finds it: a request past its
 * RequestTTLSeconds fails as expired, and one whose endpoint is gone fails saying so, each
 * with the error written to its FailureLocation and the stored request dropped. (Answers
 * and the 202 path are covered end to end by tests/integration/test_async_inference.py.) */
#include "serve/serve.h"
#include "test.h"

#include <stdio.h>
#include <unistd.h>

static lt_store *store;
static lt_blob *blob;
static char *scratch;

static void queue_request(const char *endpoint, const char *id, int64_t deadline_ms)
{
    char *name = lt_xasprintf("%s/%s", endpoint, id);
    char *arn = lt_xasprintf("arn:aws:sagemaker:us-east-1:000000000000:async-invocation/%s", name);
    char *out = lt_xasprintf("s3://results/%s.out", id);
    char *failure = lt_xasprintf("s3://results/%s-error.out", id);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I}", "EndpointName", endpoint,
                            "InferenceId", id, "InputLocation", "s3://results/in.csv",
                            "OutputLocation", out, "FailureLocation", failure,
                            "RequestTTLSeconds", 60, "DeadlineMs", (json_int_t)deadline_ms);
    char *text = lt_json_dump(doc);
    lt_store_resource res = {.kind = "async-invocation", .name = name, .arn = arn,
                             .status = "Queued", .parent = (char *)endpoint,
                             .creation_ms = lt_now_ms(), .modified_ms = lt_now_ms(), .doc = text};
    lt_err err = {0};
    LT_CHECK_INT(lt_store_resource_create(store, &res, &err), ==, 0);
    free(text), free(failure), free(out), free(arn), free(name);
    json_decref(doc);
}

/* The failure object's JSON once a worker wrote it (waits up to 10 s), or NULL. */
static json_t *failure_of(const char *id)
{
    char *uri = lt_xasprintf("s3://results/%s-error.out", id);
    json_t *doc = NULL;
    for (int i = 0; i < 200 && !doc; i++) {
        lt_buf b;
        lt_buf_init(&b, 1 << 20);
        if (lt_blob_uri_get_bytes(blob, uri, &b, &(lt_err){0}) == 0)
            lt_json_parse(b.data, b.len, &doc, NULL);
        else
            usleep(50 * 1000);
        lt_buf_free(&b);
    }
    free(uri);
    return doc;
}

static bool stored(const char *name)
{
    lt_store_resource res = {0};
    int rc = lt_store_resource_get(store, "async-invocation", name, &res, &(lt_err){0});
    lt_store_resource_clear(&res);
    return rc == 0;
}

static void stored_requests_past_their_ttl_or_endpoint_fail_at_start(void)
{
    LT_CHECK_INT(lt_blob_uri_put_bytes(blob, "s3://results/in.csv", "1,2\n", 4, NULL,
                                       &(lt_err){0}),
                 ==, 0);
    queue_request("gone", "late-1", lt_now_ms() - 1000);
    queue_request("gone", "orphan-1", lt_now_ms() + 600 * 1000);
    lt_serve *s = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_serve_open(&s, store, blob, scratch, "000000000000", &err), ==, 0);
    json_t *late = failure_of("late-1");
    LT_CHECK(late != NULL);
    LT_CHECK_CONTAINS(lt_json_str(late, "message"), "expired");
    LT_CHECK_CONTAINS(lt_json_str(late, "message"), "RequestTTLSeconds (60 s)");
    LT_CHECK_STR(lt_json_str(late, "InferenceId"), "late-1");
    json_t *orphan = failure_of("orphan-1");
    LT_CHECK(orphan != NULL);
    LT_CHECK_CONTAINS(lt_json_str(orphan, "message"), "Endpoint gone was deleted");
    lt_serve_close(s);
    LT_CHECK(!stored("gone/late-1"));
    LT_CHECK(!stored("gone/orphan-1"));
    json_decref(late);
    json_decref(orphan);
}

int main(void)
{
    scratch = lt_test_tmpdir("async");
    char *db = lt_xasprintf("%s/store.db", scratch), *root = lt_xasprintf("%s/blob", scratch);
    lt_err err = {0};
    if (lt_store_open(&store, db, &err) || lt_blob_open(&blob, root, &err) ||
        lt_blob_bucket_create(blob, "results", &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    LT_RUN(stored_requests_past_their_ttl_or_endpoint_fail_at_start);
    lt_blob_close(blob);
    lt_store_close(store);
    free(db);
    free(root);
    return lt_test_summary();
}
