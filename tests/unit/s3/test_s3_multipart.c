/* s3 multipart upload: initiate, parts, complete with the "-N" ETag, the bad part lists,
 * ListParts, ListMultipartUploads and abort. */
#include "s3_test_util.h"

#define MIB (1u << 20)

static char *initiate(env *e, const char *key)
{
    lt_s3_response resp;
    hdrs h = {{"Content-Type", "x-amz-meta-origin"}, {"application/x-tar", "mp"}, 2};
    call(e, "POST", "bkt", key, "uploads", &h, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp.op_name, "CreateMultipartUpload");
    LT_CHECK_CONTAINS(
        resp.body.data,
        "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    char *id = xml_get(&resp, "UploadId");
    lt_s3_response_free(&resp);
    return id;
}

/* Uploads a part; returns its ETag header (quoted; caller frees) or NULL. */
static char *upload_part(env *e, const char *key, const char *id, int number, const char *data,
                         size_t len, int *status)
{
    char query[128];
    snprintf(query, sizeof query, "partNumber=%d&uploadId=%s", number, id);
    char sha[65];
    sha256_hex(data, len, sha);
    hdrs h = {{"x-amz-content-sha256"}, {sha}, 1};
    lt_s3_response resp;
    call_chunked(e, "PUT", "bkt", key, query, &h, data, len, 64 * 1024, &resp);
    if (status) *status = resp.status;
    const char *etag = resp_header(&resp, "ETag");
    char *out = etag && resp.status == 200 ? lt_xstrdup(etag) : NULL;
    if (resp.status == 200) LT_CHECK_STR(resp.op_name, "UploadPart");
    lt_s3_response_free(&resp);
    return out;
}

static void complete_body(lt_buf *b, const int *numbers, char *const *etags, size_t n)
{
    lt_buf_puts(b, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
                NULL);
    for (size_t i = 0; i < n; i++) {
        lt_buf_printf(b, NULL, "<Part><ETag>");
        for (const char *p = etags[i]; *p; p++)
            lt_buf_puts(b, *p == '"' ? "&quot;" : (char[]){*p, 0}, NULL);
        lt_buf_printf(b, NULL, "</ETag><PartNumber>%d</PartNumber></Part>", numbers[i]);
    }
    lt_buf_puts(b, "</CompleteMultipartUpload>", NULL);
}

static void complete_gives_multipart_etag_and_content(void)
{
    env e = env_open("s3-mp");
    LT_CHECK_INT(status_of(&e, "PUT", "bkt", "", NULL, NULL, NULL), ==, 200);
    char *id = initiate(&e, "data/big.bin");
    size_t l1 = 5 * MIB, l2 = 1234;
    char *data = malloc(l1 + l2);
    for (size_t i = 0; i < l1 + l2; i++)
        data[i] = (char)(i * 7 + i / 4093);
    char *etags[2];
    etags[1] = upload_part(&e, "data/big.bin", id, 2, data + l1, l2, NULL);
    etags[0] = upload_part(&e, "data/big.bin", id, 1, data, l1, NULL);
    char want1[40], md5[33];
    md5_hex(data, l1, md5);
    snprintf(want1, sizeof want1, "\"%s\"", md5);
    LT_CHECK_STR(etags[0], want1);

    lt_s3_response resp;
    char query[128];
    snprintf(query, sizeof query, "uploadId=%s&max-parts=1", id);
    call(&e, "GET", "bkt", "data/big.bin", query, NULL, NULL, &resp);
    LT_CHECK_STR(resp.op_name, "ListParts");
    LT_CHECK_CONTAINS(resp.body.data, "<PartNumber>1</PartNumber>");
    LT_CHECK_CONTAINS(resp.body.data, "<IsTruncated>true</IsTruncated>");
    LT_CHECK_CONTAINS(resp.body.data, "<NextPartNumberMarker>1</NextPartNumberMarker>");
    lt_s3_response_free(&resp);
    snprintf(query, sizeof query, "uploadId=%s&part-number-marker=1", id);
    call(&e, "GET", "bkt", "data/big.bin", query, NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<PartNumber>2</PartNumber><LastModified>");
    LT_CHECK_CONTAINS(resp.body.data, "<Size>1234</Size>");
    LT_CHECK(!strstr(resp.body.data, "<PartNumber>1</PartNumber>"));
    lt_s3_response_free(&resp);
    call(&e, "GET", "bkt", "", "uploads", NULL, NULL, &resp);
    LT_CHECK_STR(resp.op_name, "ListMultipartUploads");
    LT_CHECK_CONTAINS(resp.body.data, "<Key>data/big.bin</Key>");
    LT_CHECK_CONTAINS(resp.body.data, id);
    lt_s3_response_free(&resp);

    int numbers[] = {1, 2};
    lt_buf body;
    lt_buf_init(&body, 1 << 20);
    complete_body(&body, numbers, etags, 2);
    snprintf(query, sizeof query, "uploadId=%s", id);
    call_chunked(&e, "POST", "bkt", "data/big.bin", query, NULL, body.data, body.len, 17, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp.op_name, "CompleteMultipartUpload");
    uint8_t cat[32];
    lt_md5(data, l1, cat);
    lt_md5(data + l1, l2, cat + 16);
    char want[48];
    md5_hex(cat, 32, md5);
    snprintf(want, sizeof want, "\"%s-2\"", md5);
    char *etag = xml_get(&resp, "ETag");
    LT_CHECK_STR(etag, want);
    free(etag);
    LT_CHECK_CONTAINS(resp.body.data, "<Location>/bkt/data/big.bin</Location>");
    lt_s3_response_free(&resp);
    lt_buf_free(&body);

    call(&e, "GET", "bkt", "data/big.bin", NULL, NULL, NULL, &resp);
    LT_CHECK_STR(resp_header(&resp, "ETag"), want);
    LT_CHECK_STR(resp_header(&resp, "Content-Type"), "application/x-tar");
    LT_CHECK_STR(resp_header(&resp, "x-amz-meta-origin"), "mp");
    size_t len = 0;
    char *got = resp_content(&resp, &len);
    LT_CHECK(len == l1 + l2 && memcmp(got, data, len) == 0);
    free(got);
    lt_s3_response_free(&resp);
    /* The upload is over. */
    LT_CHECK_INT(status_of(&e, "GET", "bkt", "data/big.bin", query, NULL, NULL), ==, 404);
    free(etags[0]);
    free(etags[1]);
    free(id);
    free(data);
    env_close(&e);
}

static void complete_refuses_bad_part_lists(void)
{
    env e = env_open("s3-mp-bad");
    LT_CHECK_INT(status_of(&e, "PUT", "bkt", "", NULL, NULL, NULL), ==, 200);
    char *id = initiate(&e, "k");
    char *small = upload_part(&e, "k", id, 1, "a", 1, NULL);
    char *tail = upload_part(&e, "k", id, 2, "b", 1, NULL);
    char *wrong = lt_xstrdup("\"0123456789abcdef0123456789abcdef\"");
    const struct {
        const char *what;
        int numbers[2];
        char *etags[2];
        size_t n;
        const char *code;
    } cases[] = {
        {"part never uploaded", {1, 3}, {small, tail}, 2, "InvalidPart"},
        {"wrong etag", {1, 2}, {small, wrong}, 2, "InvalidPart"},
        {"descending", {2, 1}, {tail, small}, 2, "InvalidPartOrder"},
        {"small non-last part", {1, 2}, {small, tail}, 2, "EntityTooSmall"},
    };
    char query[128];
    snprintf(query, sizeof query, "uploadId=%s", id);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_buf body;
        lt_buf_init(&body, 1 << 20);
        complete_body(&body, cases[i].numbers, cases[i].etags, cases[i].n);
        lt_s3_response resp;
        call(&e, "POST", "bkt", "k", query, NULL, body.data, &resp);
        if (resp.status != 400 || !strstr(resp.body.data, cases[i].code))
            LT_FAIL_AT("%s: %d %s", cases[i].what, resp.status, resp.body.data);
        lt_s3_response_free(&resp);
        lt_buf_free(&body);
    }
    static const char *const malformed[] = {
        "", "<CompleteMultipartUpload/>",
        "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<Wrong/>"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        lt_s3_response resp;
        call(&e, "POST", "bkt", "k", query, NULL, malformed[i], &resp);
        if (resp.status != 400 || !strstr(resp.body.data, "MalformedXML"))
            LT_FAIL_AT("malformed #%zu: %d %s", i, resp.status, resp.body.data);
        lt_s3_response_free(&resp);
    }
    /* Nothing was published; a single small part completes (the last may be small). */
    LT_CHECK_INT(status_of(&e, "HEAD", "bkt", "k", NULL, NULL, NULL), ==, 404);
    int one[] = {1};
    lt_buf body;
    lt_buf_init(&body, 4096);
    complete_body(&body, one, &small, 1);
    LT_CHECK_INT(status_of(&e, "POST", "bkt", "k", query, NULL, body.data), ==, 200);
    lt_buf_free(&body);
    LT_CHECK_INT(status_of(&e, "HEAD", "bkt", "k", NULL, NULL, NULL), ==, 200);
    free(small);
    free(tail);
    free(wrong);
    free(id);
    env_close(&e);
}

static void abort_and_unknown_uploads(void)
{
    env e = env_open("s3-mp-abort");
    LT_CHECK_INT(status_of(&e, "PUT", "bkt", "", NULL, NULL, NULL), ==, 200);
    char *id = initiate(&e, "k");
    free(upload_part(&e, "k", id, 1, "abc", 3, NULL));
    int status = 0;
    char *none = upload_part(&e, "k", "ffffffffffffffffffffffffffffffff", 1, "abc", 3, &status);
    LT_CHECK(none == NULL);
    LT_CHECK_INT(status, ==, 404);
    free(upload_part(&e, "k", id, 0, "abc", 3, &status));
    LT_CHECK_INT(status, ==, 400);
    free(upload_part(&e, "k", id, 10001, "abc", 3, &status));
    LT_CHECK_INT(status, ==, 400);
    char query[128];
    snprintf(query, sizeof query, "uploadId=%s", id);
    lt_s3_response resp;
    call(&e, "DELETE", "bkt", "k", query, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 204);
    LT_CHECK_STR(resp.op_name, "AbortMultipartUpload");
    lt_s3_response_free(&resp);
    call(&e, "GET", "bkt", "k", query, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 404);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>NoSuchUpload</Code>");
    lt_s3_response_free(&resp);
    call(&e, "DELETE", "nobucket", "k", query, NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>NoSuchBucket</Code>");
    lt_s3_response_free(&resp);
    LT_CHECK_INT(dir_count(e.root, "tmp"), ==, 0);
    free(id);
    env_close(&e);
}

int main(void)
{
    LT_RUN(complete_gives_multipart_etag_and_content);
    LT_RUN(complete_refuses_bad_part_lists);
    LT_RUN(abort_and_unknown_uploads);
    return lt_test_summary();
}
