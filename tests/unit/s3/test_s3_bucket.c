/* s3 bucket operations, bucket naming rules, and recognising operations (NotImplemented
 * for the rest). */
#include "s3_test_util.h"

static void bucket_names_follow_s3_and_lathe_rules(void)
{
    env e = env_open("s3-names");
    static const struct {
        const char *name;
        int status;
    } cases[] = {
        {"ab", 400},      {"UpperCase", 400},    {"-leading", 400},    {"trailing.", 400},
        {"a..b", 400},    {"10.0.0.1", 400},     {"under_score", 400}, {"ping", 400},
        {"metrics", 400}, {"endpoints", 400},    {"api", 400},         {"studio", 400},
        {"abc", 200},     {"my.data-2026", 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_s3_response resp;
        call(&e, "PUT", cases[i].name, "", NULL, NULL, NULL, &resp);
        if (resp.status != cases[i].status)
            LT_FAIL_AT("%s: status %d, want %d", cases[i].name, resp.status, cases[i].status);
        if (cases[i].status == 400)
            LT_CHECK_CONTAINS(resp.body.data, "<Code>InvalidBucketName</Code>");
        if (!strcmp(cases[i].name, "ping")) LT_CHECK_CONTAINS(resp.body.data, "reserved");
        if (cases[i].status == 200) {
            char want[80];
            snprintf(want, sizeof want, "/%s", cases[i].name);
            LT_CHECK_STR(resp_header(&resp, "Location"), want);
        }
        lt_s3_response_free(&resp);
    }
    env_close(&e);
}

static void bucket_lifecycle(void)
{
    env e = env_open("s3-bucket");
    lt_s3_response resp;
    const char *config =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
    call(&e, "PUT", "data", "", NULL, NULL, config, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp.op_name, "CreateBucket");
    LT_CHECK_STR(resp_header(&resp, "Location"), "/data");
    lt_s3_response_free(&resp);
    call(&e, "PUT", "data", "", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 409);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>BucketAlreadyOwnedByYou</Code>");
    lt_s3_response_free(&resp);
    LT_CHECK_INT(status_of(&e, "PUT", "other", "", NULL, NULL, "<CreateBucketConfiguration>"), ==,
                 400);
    LT_CHECK_INT(status_of(&e, "PUT", "second", "", NULL, NULL, NULL), ==, 200);

    call(&e, "GET", "", "", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp.op_name, "ListBuckets");
    LT_CHECK_CONTAINS(resp.body.data,
                      "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    LT_CHECK_CONTAINS(resp.body.data,
                      "<Owner><ID>lathe</ID><DisplayName>lathe</DisplayName></Owner>");
    LT_CHECK_CONTAINS(resp.body.data, "<Bucket><Name>data</Name><CreationDate>");
    LT_CHECK_CONTAINS(resp.body.data, "<Name>second</Name>");
    lt_s3_response_free(&resp);

    call(&e, "HEAD", "data", "", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    LT_CHECK_STR(resp_header(&resp, "x-amz-bucket-region"), "us-east-1");
    lt_s3_response_free(&resp);
    LT_CHECK_INT(status_of(&e, "HEAD", "missing", "", NULL, NULL, NULL), ==, 404);

    call(&e, "GET", "data", "", "location", NULL, NULL, &resp);
    LT_CHECK_STR(resp.op_name, "GetBucketLocation");
    LT_CHECK_CONTAINS(resp.body.data,
                      "<LocationConstraint "
                      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></LocationConstraint>");
    lt_s3_response_free(&resp);

    LT_CHECK_INT(put_text(&e, "data", "k", "v"), ==, 200);
    call(&e, "DELETE", "data", "", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 409);
    LT_CHECK_CONTAINS(resp.body.data, "<Code>BucketNotEmpty</Code>");
    lt_s3_response_free(&resp);
    LT_CHECK_INT(status_of(&e, "DELETE", "data", "k", NULL, NULL, NULL), ==, 204);
    LT_CHECK_INT(status_of(&e, "DELETE", "data", "", NULL, NULL, NULL), ==, 204);
    LT_CHECK_INT(status_of(&e, "DELETE", "data", "", NULL, NULL, NULL), ==, 404);
    env_close(&e);
}

static void region_other_than_us_east_1_is_reported(void)
{
    char *root = lt_test_tmpdir("s3-region");
    env e = {.root = root};
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_open(&e.blob, root, &err), ==, 0);
    LT_CHECK_INT(lt_s3_open(&e.s3, e.blob, "eu-west-1", &err), ==, 0);
    LT_CHECK_INT(status_of(&e, "PUT", "data", "", NULL, NULL, NULL), ==, 200);
    lt_s3_response resp;
    call(&e, "GET", "data", "", "location", NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data, ">eu-west-1</LocationConstraint>");
    lt_s3_response_free(&resp);
    env_close(&e);
}

static void unknown_operations_are_not_implemented(void)
{
    env e = env_open("s3-notimpl");
    LT_CHECK_INT(status_of(&e, "PUT", "data", "", NULL, NULL, NULL), ==, 200);
    LT_CHECK_INT(put_text(&e, "data", "k", "v"), ==, 200);
    static const struct {
        const char *method, *key, *query, *names;
    } cases[] = {
        {"GET", "", "versioning", "GetBucketVersioning"},
        {"PUT", "", "acl", "PutBucketAcl"},
        {"GET", "k", "tagging", "GetObjectTagging"},
        {"DELETE", "", "policy", "DeleteBucketPolicy"},
        {"POST", "k", "select&select-type=2", "SelectObjectContent"},
        {"POST", "k", "", "POST on an object"},
        {"PATCH", "k", "", "PATCH on an object"},
        {"PUT", "", "", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].names) continue;
        lt_s3_response resp;
        call(&e, cases[i].method, "data", cases[i].key, cases[i].query, NULL, NULL, &resp);
        if (resp.status != 501 || !strstr(resp.body.data, "NotImplemented") ||
            !strstr(resp.body.data, cases[i].names))
            LT_FAIL_AT("%s ?%s: %d %s", cases[i].method, cases[i].query, resp.status,
                       resp.body.data);
        lt_s3_response_free(&resp);
    }
    hdrs copy = {{"x-amz-copy-source"}, {"/data/k"}, 1};
    lt_s3_response resp;
    call(&e, "PUT", "data", "k2", "partNumber=1&uploadId=abc", &copy, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 501);
    LT_CHECK_CONTAINS(resp.body.data, "UploadPartCopy");
    lt_s3_response_free(&resp);
    call(&e, "PUT", "", "", NULL, NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 501);
    lt_s3_response_free(&resp);
    env_close(&e);
}

static void error_response_for_callers_without_a_call(void)
{
    lt_s3_response resp;
    lt_s3_response_init(&resp);
    lt_s3_error_response(&resp, 403, "SignatureDoesNotMatch", "bad <sig> & \"more\"", "/b/k",
                         "RID");
    LT_CHECK_INT(resp.status, ==, 403);
    LT_CHECK_STR(
        resp.body.data,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>bad &lt;sig&gt; &amp; &quot;more&quot;</Message><Resource>/b/k</Resource>"
        "<RequestId>RID</RequestId></Error>");
    lt_s3_response_free(&resp);
}

int main(void)
{
    LT_RUN(bucket_names_follow_s3_and_lathe_rules);
    LT_RUN(bucket_lifecycle);
    LT_RUN(region_other_than_us_east_1_is_reported);
    LT_RUN(unknown_operations_are_not_implemented);
    LT_RUN(error_response_for_callers_without_a_call);
    return lt_test_summary();
}
