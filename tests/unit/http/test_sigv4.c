/* SigV4 against the vectors botocore produced (SAGEMAKER-CONTRACTS.md 1.3): access key
 * AKIDEXAMPLE, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1,
 * clock frozen at 2024-01-01T00:00:00Z. */
#include "http/http.h"
#include "test.h"

#include <strings.h>

static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

typedef struct {
    const char *names[8];
    const char *values[8];
} headers;

static const char *lookup(void *ctx, const char *name)
{
    headers *h = ctx;
    for (int i = 0; i < 8 && h->names[i]; i++)
        if (strcasecmp(h->names[i], name) == 0) return h->values[i];
    return NULL;
}

static lt_sigv4_auth scope(const char *signed_headers)
{
    lt_sigv4_auth auth;
    memset(&auth, 0, sizeof auth);
    snprintf(auth.access_key, sizeof auth.access_key, "AKIDEXAMPLE");
    snprintf(auth.date, sizeof auth.date, "20240101");
    snprintf(auth.region, sizeof auth.region, "us-east-1");
    snprintf(auth.service, sizeof auth.service, "sagemaker");
    snprintf(auth.amz_date, sizeof auth.amz_date, "20240101T000000Z");
    snprintf(auth.signed_headers, sizeof auth.signed_headers, "%s", signed_headers);
    return auth;
}

static void control_plane_vector_matches_botocore(void)
{
    headers h = {{"Content-Type", "Host", "X-Amz-Date", "X-Amz-Target"},
                 {"application/x-amz-json-1.1", "localhost:8080", "20240101T000000Z",
                  "SageMaker.ListEndpoints"}};
    lt_sigv4_request req = {"POST", "/", "", lookup, &h,
                            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", false};
    lt_sigv4_auth auth = scope("content-type;host;x-amz-date;x-amz-target");
    char sig[65];
    lt_buf canonical;
    lt_buf_init(&canonical, 1 << 16);
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, &canonical, NULL), ==, 0);
    LT_CHECK_STR(canonical.data, "POST\n/\n\ncontent-type:application/x-amz-json-1.1\n"
                                 "host:localhost:8080\nx-amz-date:20240101T000000Z\n"
                                 "x-amz-target:SageMaker.ListEndpoints\n\n"
                                 "content-type;host;x-amz-date;x-amz-target\n"
                                 "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    LT_CHECK_STR(sig, "c1dc1fcc6731f175e6b655885ffb72267f2ae737bdbfc93a52215034d0ae3c83");
    lt_buf_free(&canonical);
}

static void runtime_vector_matches_botocore(void)
{
    headers h = {{"Accept", "Content-Type", "Host", "X-Amz-Date"},
                 {"application/json", "text/csv", "localhost:8080", "20240101T000000Z"}};
    lt_sigv4_request req = {"POST", "/endpoints/my-endpoint/invocations", "", lookup, &h,
                            "76a2396268f15ecc46cb407f254281ff29303eccd2f6cce710a6c5b7d6facf3c", false};
    lt_sigv4_auth auth = scope("accept;content-type;host;x-amz-date");
    char sig[65];
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, NULL, NULL), ==, 0);
    LT_CHECK_STR(sig, "514eadc6bbd1d54508425a66606615d2de45e81ba8f7052568a35a296f5e11da");
}

static void non_s3_paths_are_encoded_twice_and_s3_paths_once(void)
{
    headers h = {{"Host", "X-Amz-Date"}, {"h:1", "20240101T000000Z"}};
    lt_sigv4_request req = {"GET", "/endpoints/my%20ep/./x/../invocations", "", lookup, &h,
                            "UNSIGNED-PAYLOAD", false};
    lt_sigv4_auth auth = scope("host;x-amz-date");
    char sig[65];
    lt_buf c;
    lt_buf_init(&c, 1 << 16);
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, &c, NULL), ==, 0);
    LT_CHECK_CONTAINS(c.data, "\n/endpoints/my%2520ep/invocations\n");
    lt_buf_reset(&c);
    req.s3 = true;
    req.path = "/bucket/my%20key/./a";
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, &c, NULL), ==, 0);
    LT_CHECK_CONTAINS(c.data, "\n/bucket/my%20key/./a\n");
    lt_buf_free(&c);
}

/* Paths already normal are used as they are (no copy); the rest are normalized. Both
 * kinds, side by side, must give botocore's canonical path. */
static void non_s3_paths_are_normalized_like_botocore(void)
{
    static const char *cases[][2] = {
        {"/endpoints/e/invocations", "/endpoints/e/invocations"},
        {"/a//b", "/a/b"},
        {"/a/b/", "/a/b/"},
        {"/a/..", "/"},
        {"/a/./b", "/a/b"},
        {"/.hidden/x", "/.hidden/x"},
        {"/a/..b/.c", "/a/..b/.c"},
        {"/", "/"},
        {"", "/"},
    };
    headers h = {{"Host", "X-Amz-Date"}, {"h:1", "20240101T000000Z"}};
    lt_sigv4_auth auth = scope("host;x-amz-date");
    char sig[65];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_sigv4_request req = {"GET", cases[i][0], "", lookup, &h, "UNSIGNED-PAYLOAD", false};
        lt_buf c;
        lt_buf_init(&c, 1 << 16);
        LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, &c, NULL), ==, 0);
        char want[64];
        snprintf(want, sizeof want, "GET\n%s\n", cases[i][1]);
        LT_CHECK(strncmp(c.data, want, strlen(want)) == 0);
        lt_buf_free(&c);
    }
}

static void query_is_sorted_and_reencoded(void)
{
    headers h = {{"Host", "X-Amz-Date"}, {"h:1", "20240101T000000Z"}};
    lt_sigv4_request req = {"GET", "/b", "prefix=a%2Fb&list-type=2&delimiter=/&empty&z=1&z=0",
                            lookup, &h, "UNSIGNED-PAYLOAD", true};
    lt_sigv4_auth auth = scope("host;x-amz-date");
    char sig[65];
    lt_buf c;
    lt_buf_init(&c, 1 << 16);
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, &c, NULL), ==, 0);
    LT_CHECK_CONTAINS(c.data, "\ndelimiter=%2F&empty=&list-type=2&prefix=a%2Fb&z=0&z=1\n");
    lt_buf_free(&c);
}

static void header_values_are_trimmed_and_collapsed(void)
{
    headers h = {{"Host", "X-Amz-Date", "X-Amz-Meta-Note", "X-Amz-Meta-Tabs"},
                 {"h:1", "20240101T000000Z", "  two   spaces  here ", "a\t\tb \t c\t"}};
    lt_sigv4_request req = {"PUT", "/b/k", "", lookup, &h, "UNSIGNED-PAYLOAD", true};
    lt_sigv4_auth auth = scope("host;x-amz-date;x-amz-meta-note;x-amz-meta-tabs");
    char sig[65];
    lt_buf c;
    lt_buf_init(&c, 1 << 16);
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, &c, NULL), ==, 0);
    LT_CHECK_CONTAINS(c.data, "\nx-amz-meta-note:two spaces here\nx-amz-meta-tabs:a b c\n");
    lt_buf_free(&c);
}

static void a_signed_header_missing_from_the_request_is_an_error(void)
{
    headers h = {{"Host", "X-Amz-Date"}, {"h:1", "20240101T000000Z"}};
    lt_sigv4_request req = {"GET", "/", "", lookup, &h, "UNSIGNED-PAYLOAD", false};
    lt_sigv4_auth auth = scope("host;x-amz-date;x-amz-target");
    char sig[65];
    lt_err err = {0};
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, NULL, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "x-amz-target");
}

static void authorization_header_round_trips_through_parse(void)
{
    headers h = {{"Content-Type", "Host", "X-Amz-Date", "X-Amz-Target", "Authorization"},
                 {"application/x-amz-json-1.1", "localhost:8080", "20240101T000000Z",
                  "SageMaker.ListEndpoints", NULL}};
    lt_sigv4_request req = {"POST", "/", "", lookup, &h,
                            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", false};
    char *authz = lt_sigv4_authorization(&req, "AKIDEXAMPLE", secret, "us-east-1", "sagemaker",
                                         "20240101T000000Z",
                                         "content-type;host;x-amz-date;x-amz-target", NULL);
    LT_CHECK_STR(authz, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/"
                        "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                        "Signature=c1dc1fcc6731f175e6b655885ffb72267f2ae737bdbfc93a52215034d0ae3c83");
    h.values[4] = authz;
    lt_sigv4_auth auth;
    LT_CHECK_INT(lt_sigv4_parse(&req, &auth, NULL), ==, LT_AUTH_OK);
    LT_CHECK_STR(auth.access_key, "AKIDEXAMPLE");
    LT_CHECK_STR(auth.region, "us-east-1");
    LT_CHECK_STR(auth.service, "sagemaker");
    LT_CHECK_STR(auth.signed_headers, "content-type;host;x-amz-date;x-amz-target");
    LT_CHECK_STR(auth.amz_date, "20240101T000000Z");
    free(authz);
}

static void malformed_authorization_headers_are_refused(void)
{
    static const char *bad[] = {
        "AWS AKIDEXAMPLE:abc",
        "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/sagemaker/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AK/2024/us-east-1/sagemaker/aws4_request, SignedHeaders=host, "
        "Signature=c1dc1fcc6731f175e6b655885ffb72267f2ae737bdbfc93a52215034d0ae3c83",
        "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, "
        "Signature=short",
        /* found by fuzz_sigv4: a sixth, empty credential part */
        "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/sagemaker/aws4_request/, "
        "SignedHeaders=host, Signature=c1dc1fcc6731f175e6b655885ffb72267f2ae737bdbfc93a52215034d0ae3c83",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        headers h = {{"Authorization", "X-Amz-Date"}, {bad[i], "20240101T000000Z"}};
        lt_sigv4_request req = {"POST", "/", "", lookup, &h, "", false};
        lt_sigv4_auth auth;
        lt_err err = {0};
        LT_CHECK_INT(lt_sigv4_parse(&req, &auth, &err), ==, LT_AUTH_MALFORMED);
        LT_CHECK(err.msg[0] != '\0');
    }
    headers none = {{"Host"}, {"h"}};
    lt_sigv4_request req = {"POST", "/", "", lookup, &none, "", false};
    lt_sigv4_auth auth;
    LT_CHECK_INT(lt_sigv4_parse(&req, &auth, NULL), ==, LT_AUTH_MISSING);
}

static void clock_skew_beyond_fifteen_minutes_is_refused(void)
{
    lt_sigv4_auth auth = scope("host");
    time_t signed_at = 1704067200;
    LT_CHECK_INT(lt_sigv4_check_time(&auth, signed_at + 899, NULL), ==, LT_AUTH_OK);
    LT_CHECK_INT(lt_sigv4_check_time(&auth, signed_at - 899, NULL), ==, LT_AUTH_OK);
    lt_err err = {0};
    LT_CHECK_INT(lt_sigv4_check_time(&auth, signed_at + 901, &err), ==, LT_AUTH_SKEWED);
    LT_CHECK_CONTAINS(err.msg, "Signature expired: 20240101T000000Z");
    LT_CHECK_INT(lt_sigv4_check_time(&auth, signed_at - 901, NULL), ==, LT_AUTH_SKEWED);
}

static void presigned_query_is_parsed_and_expires(void)
{
    headers h = {{"Host"}, {"localhost:8080"}};
    lt_sigv4_request req = {
        "GET", "/bucket/key",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fs3"
        "%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=c1dc1fcc6731f175e6b655885ffb72267f2ae737bdbfc93a52215034d0ae3c83",
        lookup, &h, "UNSIGNED-PAYLOAD", true};
    lt_sigv4_auth auth;
    LT_CHECK_INT(lt_sigv4_parse(&req, &auth, NULL), ==, LT_AUTH_OK);
    LT_CHECK(auth.presigned);
    LT_CHECK_INT(auth.expires_s, ==, 60);
    LT_CHECK_STR(auth.service, "s3");
    LT_CHECK_INT(lt_sigv4_check_time(&auth, 1704067200 + 59, NULL), ==, LT_AUTH_OK);
    LT_CHECK_INT(lt_sigv4_check_time(&auth, 1704067200 + 61, NULL), ==, LT_AUTH_EXPIRED);
    /* The signature itself is not part of what is signed. */
    lt_buf c;
    lt_buf_init(&c, 1 << 16);
    char sig[65];
    LT_CHECK_INT(lt_sigv4_compute(&req, &auth, secret, sig, &c, NULL), ==, 0);
    LT_CHECK(strstr(c.data, "X-Amz-Signature") == NULL);
    LT_CHECK_CONTAINS(c.data, "X-Amz-SignedHeaders=host\n");
    lt_buf_free(&c);
}

int main(void)
{
    LT_RUN(control_plane_vector_matches_botocore);
    LT_RUN(runtime_vector_matches_botocore);
    LT_RUN(non_s3_paths_are_encoded_twice_and_s3_paths_once);
    LT_RUN(non_s3_paths_are_normalized_like_botocore);
    LT_RUN(query_is_sorted_and_reencoded);
    LT_RUN(header_values_are_trimmed_and_collapsed);
    LT_RUN(a_signed_header_missing_from_the_request_is_an_error);
    LT_RUN(authorization_header_round_trips_through_parse);
    LT_RUN(malformed_authorization_headers_are_refused);
    LT_RUN(clock_skew_beyond_fifteen_minutes_is_refused);
    LT_RUN(presigned_query_is_parsed_and_expires);
    return lt_test_summary();
}
