/* s3 object operations driven through lt_s3_call_*: put/get/head, ranges, conditions,
 * copy, delete, DeleteObjects, payload digests, and reopening after a crash. */
#include "s3_test_util.h"

#include <fcntl.h>

static env with_bucket(const char *name)
{
    env e = env_open(name);
    if (status_of(&e, "PUT", "bkt", "", NULL, NULL, NULL) != 200) abort();
    return e;
}

static void put_get_head_round_trip_with_md5_etag(void)
{
    env e = with_bucket("s3-put");
    const char *body = "The quick brown fox jumps over the lazy dog";
    char sha[65], md5[33], etag[40];
    sha256_hex(body, strlen(body), sha);
    md5_hex(body, strlen(body), md5);
    snprintf(etag, sizeof etag, "\"%s\"", md5);
    hdrs h = {{"Content-Type", "x-amz-content-sha256", "X-Amz-Meta-Owner", "x-amz-meta-Team"},
              {"text/plain", sha, "ada", "ml & data"},
              4};
    lt_s3_response resp;
    call_chunked(&e, "PUT", "bkt", "dir/fox.txt", NULL, &h, body, strlen(body), 5, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp_header(&resp, "ETag"), etag);
    LT_CHECK_STR(resp.op_name, "PutObject");
    lt_s3_response_free(&resp);

    static const char *const methods[] = {"GET", "HEAD"};
    for (int m = 0; m < 2; m++) {
        call(&e, methods[m], "bkt", "dir/fox.txt", NULL, NULL, NULL, &resp);
        LT_CHECK_INT(resp.status, ==, 200);
        LT_CHECK_STR(resp.op_name, m ? "HeadObject" : "GetObject");
        LT_CHECK_INT(resp.length, ==, strlen(body));
        LT_CHECK_STR(resp_header(&resp, "ETag"), etag);
        LT_CHECK_STR(resp_header(&resp, "Content-Type"), "text/plain");
        LT_CHECK_STR(resp_header(&resp, "Accept-Ranges"), "bytes");
        LT_CHECK_STR(resp_header(&resp, "x-amz-meta-owner"), "ada");
        LT_CHECK_STR(resp_header(&resp, "x-amz-meta-team"), "ml & data");
        LT_CHECK_CONTAINS(resp_header(&resp, "Last-Modified"), " GMT");
        size_t len = 0;
        char *got = resp_content(&resp, &len);
        LT_CHECK_STR(got, body);
        free(got);
        lt_s3_response_free(&resp);
    }
    /* Without a Content-Type S3 answers binary/octet-stream; an empty object has no fd. */
    LT_CHECK_INT(put_text(&e, "bkt", "empty", ""), ==, 200);
    call(&e, "GET", "bkt", "empty", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_INT(resp.fd, ==, -1);
    LT_CHECK_INT(resp.body.len, ==, 0);
    LT_CHECK_STR(resp_header(&resp, "Content-Type"), "binary/octet-stream");
    LT_CHECK_STR(resp_header(&resp, "ETag"), "\"d41d8cd98f00b204e9800998ecf8427e\"");
    lt_s3_response_free(&resp);
    env_close(&e);
}

static void missing_objects_are_s3_errors(void)
{
    env e = with_bucket("s3-missing");
    lt_s3_response resp;
    call(&e, "GET", "bkt", "no/such key", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 404);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>NoSuchKey</Code>");
    LT_CHECK_CONTAINS(resp.body.data, "<Resource>/bkt/no/such key</Resource>");
    LT_CHECK_CONTAINS(resp.body.data, "<RequestId>REQ123</RequestId>");
    LT_CHECK_CONTAINS(resp.body.data, "<Message>");
    lt_s3_response_free(&resp);
    call(&e, "HEAD", "nobucket", "k", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 404);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>NoSuchBucket</Code>");
    lt_s3_response_free(&resp);
    call(&e, "PUT", "nobucket", "k", NULL, NULL, "x", &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>NoSuchBucket</Code>");
    lt_s3_response_free(&resp);
    char long_key[1100];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    call(&e, "PUT", "bkt", long_key, NULL, NULL, "x", &resp);
    LT_CHECK_INT(resp.status, ==, 400);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>KeyTooLongError</Code>");
    lt_s3_response_free(&resp);
    env_close(&e);
}

static void range_reads_follow_http_rules(void)
{
    env e = with_bucket("s3-range");
    char body[10240];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    lt_s3_response resp;
    call_chunked(&e, "PUT", "bkt", "k", NULL, NULL, body, sizeof body, 0, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    lt_s3_response_free(&resp);
    static const struct {
        const char *range;
        int status;
        long first, last; /* -1: not checked */
        const char *content_range;
    } cases[] = {
        {"bytes=10-19", 206, 10, 19, "bytes 10-19/10240"},
        {"bytes=10000-", 206, 10000, 10239, "bytes 10000-10239/10240"},
        {"bytes=-5", 206, 10235, 10239, "bytes 10235-10239/10240"},
        {"bytes=-20000", 206, 0, 10239, "bytes 0-10239/10240"},
        {"bytes=0-0", 206, 0, 0, "bytes 0-0/10240"},
        {"bytes=10200-99999", 206, 10200, 10239, "bytes 10200-10239/10240"},
        {"bytes=20000-20010", 416, -1, -1, "bytes */10240"},
        {"bytes=10240-", 416, -1, -1, "bytes */10240"},
        {"bytes=-0", 416, -1, -1, "bytes */10240"},
        {"bytes=5-2", 200, 0, 10239, NULL},
        {"bytes=0-1,5-6", 200, 0, 10239, NULL},
        {"items=0-1", 200, 0, 10239, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hdrs h = {{"Range"}, {cases[i].range}, 1};
        call(&e, "GET", "bkt", "k", NULL, &h, NULL, &resp);
        if (resp.status != cases[i].status)
            LT_FAIL_AT("%s: status %d, want %d", cases[i].range, resp.status, cases[i].status);
        if (cases[i].content_range) {
            const char *cr = resp_header(&resp, "Content-Range");
            if (!cr || strcmp(cr, cases[i].content_range) != 0)
                LT_FAIL_AT("%s: Content-Range %s, want %s", cases[i].range, cr ? cr : "(none)",
                           cases[i].content_range);
        }
        if (cases[i].status == 416) {
            LT_CHECK_CONTAINS(resp.body.data, "<Code>InvalidRange</Code>");
        } else {
            size_t len = 0;
            char *got = resp_content(&resp, &len);
            size_t want = (size_t)(cases[i].last - cases[i].first + 1);
            if (len != want || memcmp(got, body + cases[i].first, want) != 0)
                LT_FAIL_AT("%s: wrong bytes (%zu, want %zu)", cases[i].range, len, want);
            free(got);
        }
        lt_s3_response_free(&resp);
    }
    env_close(&e);
}

static void conditional_gets(void)
{
    env e = with_bucket("s3-cond");
    LT_CHECK_INT(put_text(&e, "bkt", "k", "abc"), ==, 200);
    const char *etag = "\"900150983cd24fb0d6963f7d28e17f72\"";
    static const struct {
        const char *header, *value;
        int status;
    } cases[] = {
        {"If-None-Match", "\"900150983cd24fb0d6963f7d28e17f72\"", 304},
        {"If-None-Match", "\"other\", W/\"900150983cd24fb0d6963f7d28e17f72\"", 304},
        {"If-None-Match", "\"other\"", 200},
        {"If-Match", "\"900150983cd24fb0d6963f7d28e17f72\"", 200},
        {"If-Match", "*", 200},
        {"If-Match", "\"nope\"", 412},
        {"If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT", 200},
        {"If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT", 304},
        {"If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT", 412},
        {"If-Unmodified-Since", "garbage", 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hdrs h = {{cases[i].header}, {cases[i].value}, 1};
        lt_s3_response resp;
        call(&e, "GET", "bkt", "k", NULL, &h, NULL, &resp);
        if (resp.status != cases[i].status)
            LT_FAIL_AT("%s: %s: status %d, want %d", cases[i].header, cases[i].value, resp.status,
                       cases[i].status);
        if (resp.status == 304) {
            LT_CHECK_STR(resp_header(&resp, "ETag"), etag);
            LT_CHECK_INT(resp.fd, ==, -1);
        }
        if (resp.status == 412) LT_CHECK_CONTAINS(resp.body.data, "PreconditionFailed");
        lt_s3_response_free(&resp);
    }
    env_close(&e);
}

/* A wrong Content-MD5 or x-amz-content-sha256 publishes nothing and keeps what was there. */
static void bad_digests_leave_existing_object_intact(void)
{
    env e = with_bucket("s3-digest");
    LT_CHECK_INT(put_text(&e, "bkt", "k", "old"), ==, 200);
    const char *body = "new content";
    char sha[65], wrong_sha[65];
    sha256_hex(body, strlen(body), sha);
    sha256_hex("other", 5, wrong_sha);
    uint8_t md5[16];
    lt_md5(body, strlen(body), md5);
    char *good_md5 = lt_base64_encode(md5, 16);
    md5[0] ^= 1;
    char *bad_md5 = lt_base64_encode(md5, 16);
    const struct {
        const char *what;
        hdrs h;
        int status;
        const char *code;
    } cases[] = {
        {"wrong Content-MD5", {{"Content-MD5"}, {bad_md5}, 1}, 400, "BadDigest"},
        {"malformed Content-MD5", {{"Content-MD5"}, {"not base64!"}, 1}, 400, "InvalidDigest"},
        {"wrong sha256",
         {{"x-amz-content-sha256"}, {wrong_sha}, 1},
         400,
         "XAmzContentSHA256Mismatch"},
        {"malformed sha256", {{"x-amz-content-sha256"}, {"abc"}, 1}, 400, "InvalidArgument"},
        {"aws-chunked",
         {{"x-amz-content-sha256"}, {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, 1},
         501,
         "NotImplemented"},
    };
    static const char *const keys[] = {"k", "fresh"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int k = 0; k < 2; k++) {
            hdrs h = cases[i].h;
            lt_s3_response resp;
            call_chunked(&e, "PUT", "bkt", keys[k], NULL, &h, body, strlen(body), 3, &resp);
            if (resp.status != cases[i].status ||
                !strstr(resp.body.data ? resp.body.data : "", cases[i].code))
                LT_FAIL_AT("%s: status %d body %s", cases[i].what, resp.status, resp.body.data);
            lt_s3_response_free(&resp);
        }
        lt_s3_response resp;
        call(&e, "GET", "bkt", "k", NULL, NULL, NULL, &resp);
        size_t len = 0;
        char *got = resp_content(&resp, &len);
        if (strcmp(got, "old") != 0) LT_FAIL_AT("%s: k now holds \"%s\"", cases[i].what, got);
        free(got);
        lt_s3_response_free(&resp);
        LT_CHECK_INT(status_of(&e, "HEAD", "bkt", "fresh", NULL, NULL, NULL), ==, 404);
    }
    LT_CHECK_INT(dir_count(e.root, "tmp"), ==, 0);
    /* The right digests are accepted, and UNSIGNED-PAYLOAD skips the check. */
    hdrs ok = {{"Content-MD5", "x-amz-content-sha256"}, {good_md5, sha}, 2};
    LT_CHECK_INT(status_of(&e, "PUT", "bkt", "k", NULL, &ok, body), ==, 200);
    hdrs unsigned_payload = {{"x-amz-content-sha256"}, {"UNSIGNED-PAYLOAD"}, 1};
    LT_CHECK_INT(status_of(&e, "PUT", "bkt", "k2", NULL, &unsigned_payload, body), ==, 200);
    hdrs too_big = {{"Content-Length"}, {"6442450944"}, 1};
    lt_s3_response resp;
    call(&e, "PUT", "bkt", "huge", NULL, &too_big, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 400);
    LT_CHECK_CONTAINS(resp.body.data, "EntityTooLarge");
    lt_s3_response_free(&resp);
    free(good_md5);
    free(bad_md5);
    env_close(&e);
}

static void copy_object_with_encoded_source(void)
{
    env e = with_bucket("s3-copy");
    LT_CHECK_INT(status_of(&e, "PUT", "dst", "", NULL, NULL, NULL), ==, 200);
    hdrs meta = {{"x-amz-meta-a", "Content-Type"}, {"1", "text/x-src"}, 2};
    LT_CHECK_INT(status_of(&e, "PUT", "bkt", "a key with spaces+plus", NULL, &meta, "payload"), ==,
                 200);
    static const char *const sources[] = {"/bkt/a%20key%20with%20spaces%2Bplus",
                                          "bkt/a%20key%20with%20spaces%2Bplus",
                                          "/bkt/a%20key%20with%20spaces%2Bplus?versionId=null"};
    for (size_t i = 0; i < 3; i++) {
        hdrs h = {{"x-amz-copy-source"}, {sources[i]}, 1};
        lt_s3_response resp;
        call(&e, "PUT", "dst", "copy", NULL, &h, NULL, &resp);
        LT_CHECK_INT(resp.status, ==, 200);
        LT_CHECK_STR(resp.op_name, "CopyObject");
        LT_CHECK_CONTAINS(resp.body.data, "<CopyObjectResult");
        char *etag = xml_get(&resp, "ETag");
        char want[40], md5[33];
        md5_hex("payload", 7, md5);
        snprintf(want, sizeof want, "\"%s\"", md5);
        LT_CHECK_STR(etag, want);
        free(etag);
        char *lm = xml_get(&resp, "LastModified");
        LT_CHECK(lm && strlen(lm) == 24 && lm[23] == 'Z');
        free(lm);
        lt_s3_response_free(&resp);
    }
    lt_s3_response resp;
    call(&e, "GET", "dst", "copy", NULL, NULL, NULL, &resp);
    size_t len;
    char *got = resp_content(&resp, &len);
    LT_CHECK_STR(got, "payload");
    LT_CHECK_STR(resp_header(&resp, "x-amz-meta-a"), "1");
    LT_CHECK_STR(resp_header(&resp, "Content-Type"), "text/x-src");
    free(got);
    lt_s3_response_free(&resp);
    /* Onto itself: only with REPLACE, which takes the request's metadata. */
    hdrs self = {{"x-amz-copy-source"}, {"/dst/copy"}, 1};
    call(&e, "PUT", "dst", "copy", NULL, &self, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 400);
    LT_CHECK_CONTAINS(resp.body.data, "InvalidRequest");
    lt_s3_response_free(&resp);
    hdrs repl = {{"x-amz-copy-source", "x-amz-metadata-directive", "x-amz-meta-b", "Content-Type"},
                 {"/dst/copy", "REPLACE", "2", "text/x-new"},
                 4};
    LT_CHECK_INT(status_of(&e, "PUT", "dst", "copy", NULL, &repl, NULL), ==, 200);
    call(&e, "HEAD", "dst", "copy", NULL, NULL, NULL, &resp);
    LT_CHECK(resp_header(&resp, "x-amz-meta-a") == NULL);
    LT_CHECK_STR(resp_header(&resp, "x-amz-meta-b"), "2");
    LT_CHECK_STR(resp_header(&resp, "Content-Type"), "text/x-new");
    lt_s3_response_free(&resp);
    static const struct {
        const char *source, *code;
    } bad[] = {{"/bkt/missing", "NoSuchKey"},
               {"/nobucket/k", "NoSuchBucket"},
               {"/bkt", "InvalidArgument"},
               {"/bkt/k?versionId=3", "NotImplemented"}};
    for (size_t i = 0; i < 4; i++) {
        hdrs h = {{"x-amz-copy-source"}, {bad[i].source}, 1};
        call(&e, "PUT", "dst", "x", NULL, &h, NULL, &resp);
        if (!resp.body.data || !strstr(resp.body.data, bad[i].code))
            LT_FAIL_AT("%s: got %d %s", bad[i].source, resp.status, resp.body.data);
        lt_s3_response_free(&resp);
    }
    env_close(&e);
}

static void delete_object_is_idempotent(void)
{
    env e = with_bucket("s3-del");
    LT_CHECK_INT(put_text(&e, "bkt", "k", "v"), ==, 200);
    LT_CHECK_INT(status_of(&e, "DELETE", "bkt", "k", NULL, NULL, NULL), ==, 204);
    LT_CHECK_INT(status_of(&e, "DELETE", "bkt", "k", NULL, NULL, NULL), ==, 204);
    LT_CHECK_INT(status_of(&e, "GET", "bkt", "k", NULL, NULL, NULL), ==, 404);
    LT_CHECK_INT(status_of(&e, "DELETE", "nobucket", "k", NULL, NULL, NULL), ==, 404);
    env_close(&e);
}

static void delete_objects_reports_each_key(void)
{
    env e = with_bucket("s3-delmany");
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        LT_CHECK_INT(put_text(&e, "bkt", key, "x"), ==, 200);
    }
    LT_CHECK_INT(put_text(&e, "bkt", "a&b<c>", "x"), ==, 200);
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Object><Key>k0</Key></Object><Object><Key>k1</Key><VersionId>null</VersionId></Object>"
        "<Object><Key>never-existed</Key></Object><Object><Key>a&amp;b&lt;c&gt;</Key></Object>"
        "</Delete>";
    lt_s3_response resp;
    call_chunked(&e, "POST", "bkt", "", "delete", NULL, xml, strlen(xml), 10, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp.op_name, "DeleteObjects");
    const char *pos = NULL;
    int deleted = 0;
    char *key;
    while ((key = xml_next(resp.body.data, "Key", &pos)) != NULL) {
        deleted++;
        free(key);
    }
    LT_CHECK_INT(deleted, ==, 4);
    LT_CHECK_CONTAINS(resp.body.data, "<Deleted><Key>a&amp;b&lt;c&gt;</Key></Deleted>");
    lt_s3_response_free(&resp);
    LT_CHECK_INT(status_of(&e, "HEAD", "bkt", "a&b<c>", NULL, NULL, NULL), ==, 404);
    LT_CHECK_INT(status_of(&e, "HEAD", "bkt", "k2", NULL, NULL, NULL), ==, 200);
    const char *quiet = "<Delete><Quiet>true</Quiet><Object><Key>k2</Key></Object></Delete>";
    call(&e, "POST", "bkt", "", "delete", NULL, quiet, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK(!strstr(resp.body.data, "<Deleted>"));
    lt_s3_response_free(&resp);
    static const char *const malformed[] = {"", "<Delete><Object><Key>k3</Key></Object>",
                                            "<Other/>", "<Delete></Delete>",
                                            "<!DOCTYPE d [<!ENTITY e \"x\">]><Delete/>"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        call(&e, "POST", "bkt", "", "delete", NULL, malformed[i], &resp);
        if (resp.status != 400 || !strstr(resp.body.data, "MalformedXML"))
            LT_FAIL_AT("malformed #%zu: %d %s", i, resp.status, resp.body.data);
        lt_s3_response_free(&resp);
    }
    LT_CHECK_INT(status_of(&e, "HEAD", "bkt", "k3", NULL, NULL, NULL), ==, 200);
    env_close(&e);
}

/* A store with a half-written upload left by a crash reopens clean and serves what was
 * committed. */
static void reopen_after_crash_ignores_leftovers(void)
{
    env e = with_bucket("s3-crash");
    LT_CHECK_INT(put_text(&e, "bkt", "k", "durable"), ==, 200);
    /* Abandon an upload mid-stream, as a crash would (the call is never finished). */
    lt_s3_request req = {
        .method = "PUT", .bucket = "bkt", .key = "k", .query = "", .request_id = "R"};
    lt_s3_call *c = lt_s3_call_begin(e.s3, &req);
    LT_CHECK_INT(lt_s3_call_body(c, "partial", 7), ==, 0);
    LT_CHECK_INT(dir_count(e.root, "tmp"), ==, 1);
    char leftover[4096];
    snprintf(leftover, sizeof leftover, "%s/tmp/00112233445566778899aabbccddeeff", e.root);
    int fd = open(leftover, O_WRONLY | O_CREAT, 0600);
    LT_CHECK(fd >= 0 && write(fd, "junk", 4) == 4);
    close(fd);
    /* The abandoned call discards its own file; the leftover stands for one whose
     * process died (kill -9 tests of the same recovery live in test_blob_recovery). */
    char *root = lt_xstrdup(e.root);
    lt_s3_call_free(c);
    env_close(&e);
    LT_CHECK_INT(dir_count(root, "tmp"), ==, 1);
    env e2 = {.root = root};
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_open(&e2.blob, root, &err), ==, 0);
    LT_CHECK_INT(lt_s3_open(&e2.s3, e2.blob, "us-east-1", &err), ==, 0);
    LT_CHECK_INT(dir_count(root, "tmp"), ==, 0);
    lt_s3_response resp;
    call(&e2, "GET", "bkt", "k", NULL, NULL, NULL, &resp);
    size_t len;
    char *got = resp_content(&resp, &len);
    LT_CHECK_STR(got, "durable");
    free(got);
    lt_s3_response_free(&resp);
    env_close(&e2);
}

static void large_put_streams_in_small_chunks(void)
{
    env e = with_bucket("s3-large");
    size_t len = (12u << 20) + 7;
    char *body = malloc(len);
    for (size_t i = 0; i < len; i++)
        body[i] = (char)(i * 2654435761u >> 13);
    char sha[65], md5[33], etag[40];
    sha256_hex(body, len, sha);
    md5_hex(body, len, md5);
    snprintf(etag, sizeof etag, "\"%s\"", md5);
    hdrs h = {{"x-amz-content-sha256"}, {sha}, 1};
    lt_s3_response resp;
    call_chunked(&e, "PUT", "bkt", "big", NULL, &h, body, len, 32 * 1024, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp_header(&resp, "ETag"), etag);
    lt_s3_response_free(&resp);
    call(&e, "GET", "bkt", "big", NULL, NULL, NULL, &resp);
    size_t got_len = 0;
    char *got = resp_content(&resp, &got_len);
    LT_CHECK(got_len == len && memcmp(got, body, len) == 0);
    free(got);
    lt_s3_response_free(&resp);
    free(body);
    env_close(&e);
}

int main(void)
{
    LT_RUN(put_get_head_round_trip_with_md5_etag);
    LT_RUN(missing_objects_are_s3_errors);
    LT_RUN(range_reads_follow_http_rules);
    LT_RUN(conditional_gets);
    LT_RUN(bad_digests_leave_existing_object_intact);
    LT_RUN(copy_object_with_encoded_source);
    LT_RUN(delete_object_is_idempotent);
    LT_RUN(delete_objects_reports_each_key);
    LT_RUN(reopen_after_crash_ignores_leftovers);
    LT_RUN(large_put_streams_in_small_chunks);
    return lt_test_summary();
}
