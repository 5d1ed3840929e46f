/* s3 listings: ListObjectsV2 pagination with prefix, delimiter and continuation tokens
 * (every key exactly once), encoding-type=url, start-after, ListObjects V1 markers, and
 * XML escaping of awkward keys. */
#include "s3_test_util.h"

static env with_keys(const char *name, const char *const *keys, size_t n)
{
    env e = env_open(name);
    if (status_of(&e, "PUT", "listing", "", NULL, NULL, NULL) != 200) abort();
    for (size_t i = 0; i < n; i++)
        if (put_text(&e, "listing", keys[i], keys[i]) != 200) abort();
    return e;
}

static const char *const keys30[] = {
    "logs/2026/01/part-0",
    "logs/2026/01/part-1",
    "logs/2026/01/part-2",
    "logs/2026/01/part-3",
    "logs/2026/01/part-4",
    "logs/2026/02/part-0",
    "logs/2026/02/part-1",
    "logs/2026/02/part-2",
    "logs/2026/02/part-3",
    "logs/2026/02/part-4",
    "logs/2026/03/part-0",
    "logs/2026/03/part-1",
    "logs/2026/03/part-2",
    "logs/2026/03/part-3",
    "logs/2026/03/part-4",
    "models/m0",
    "models/m1",
    "models/m2",
    "models/m3",
    "models/m4",
    "models/m5",
    "models/m6",
    "top",
    "a b",
    "a+b",
    "dir/",
    "dir/x",
    "zeta",
    "\xc3\xa9t\xc3\xa9",
    "k&<>\"'",
};
enum { N30 = sizeof keys30 / sizeof keys30[0] };

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Decodes %XX (what botocore's unquote_plus would do, plus '+' as space). */
static char *url_decode(const char *s)
{
    lt_buf b;
    lt_buf_init(&b, 8192);
    lt_uri_decode(&b, s, strlen(s), NULL);
    return lt_buf_take(&b);
}

static void list_v2_pages_see_every_key_once(void)
{
    env e = with_keys("s3-list", keys30, N30);
    const char *sorted[N30];
    memcpy(sorted, keys30, sizeof sorted);
    qsort(sorted, N30, sizeof sorted[0], cmp_str);
    static const int page_sizes[] = {1, 4, 7, 1000};
    for (size_t p = 0; p < sizeof page_sizes / sizeof page_sizes[0]; p++) {
        char *token = NULL;
        size_t seen = 0;
        int pages = 0;
        for (;;) {
            char query[1024];
            lt_buf enc;
            lt_buf_init(&enc, 4096);
            if (token) lt_uri_encode(&enc, token, strlen(token), false, NULL);
            snprintf(query, sizeof query, "list-type=2&max-keys=%d&encoding-type=url%s%s",
                     page_sizes[p], token ? "&continuation-token=" : "", token ? enc.data : "");
            lt_buf_free(&enc);
            lt_s3_response resp;
            call(&e, "GET", "listing", "", query, NULL, NULL, &resp);
            LT_CHECK_INT(resp.status, ==, 200);
            LT_CHECK_STR(resp.op_name, "ListObjectsV2");
            pages++;
            const char *pos = NULL;
            char *key;
            size_t in_page = 0;
            while ((key = xml_next(resp.body.data, "Key", &pos)) != NULL) {
                char *dec = url_decode(key);
                if (seen >= N30 || strcmp(dec, sorted[seen]) != 0)
                    LT_FAIL_AT("page size %d: entry %zu is '%s', want '%s'", page_sizes[p], seen,
                               dec, seen < N30 ? sorted[seen] : "(end)");
                seen++;
                in_page++;
                free(dec);
                free(key);
            }
            char *count = xml_get(&resp, "KeyCount");
            char *truncated = xml_get(&resp, "IsTruncated");
            LT_CHECK_INT(strtol(count, NULL, 10), ==, (long)in_page);
            LT_CHECK(in_page <= (size_t)page_sizes[p]);
            free(token);
            token = xml_get(&resp, "NextContinuationToken");
            bool more = !strcmp(truncated, "true");
            free(count);
            free(truncated);
            lt_s3_response_free(&resp);
            if (!more) break;
            if (!token || pages > 100) {
                LT_FAIL_AT("truncated page without a usable token");
                break;
            }
        }
        free(token);
        if (seen != N30) LT_FAIL_AT("page size %d: saw %zu of %d keys", page_sizes[p], seen, N30);
    }
    env_close(&e);
}

static void list_v2_delimiter_rolls_up_prefixes(void)
{
    env e = with_keys("s3-list-delim", keys30, N30);
    lt_s3_response resp;
    call(&e, "GET", "listing", "", "list-type=2&delimiter=%2F", NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 200);
    const char *pos = NULL;
    char *p;
    lt_buf got;
    lt_buf_init(&got, 4096);
    lt_buf_puts(&got, "", NULL);
    while ((p = xml_next(resp.body.data, "CommonPrefixes", &pos)) != NULL) {
        char *inner = xml_next(p, "Prefix", NULL);
        lt_buf_printf(&got, NULL, "%s;", inner);
        free(inner);
        free(p);
    }
    LT_CHECK_STR(got.data, "dir/;logs/;models/;");
    lt_buf_free(&got);
    LT_CHECK_CONTAINS(resp.body.data, "<Delimiter>/</Delimiter>");
    LT_CHECK_CONTAINS(resp.body.data, "<KeyCount>9</KeyCount>");
    lt_s3_response_free(&resp);

    /* Pages of 2 across prefixes: the token after a common prefix skips its group. */
    call(&e, "GET", "listing", "", "list-type=2&prefix=logs%2F2026%2F&delimiter=%2F&max-keys=2",
         NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<Prefix>logs/2026/01/</Prefix>");
    LT_CHECK_CONTAINS(resp.body.data, "<Prefix>logs/2026/02/</Prefix>");
    LT_CHECK_CONTAINS(resp.body.data, "<IsTruncated>true</IsTruncated>");
    char *token = xml_get(&resp, "NextContinuationToken");
    lt_s3_response_free(&resp);
    lt_buf q;
    lt_buf_init(&q, 4096);
    lt_buf_puts(
        &q, "list-type=2&prefix=logs%2F2026%2F&delimiter=%2F&max-keys=2&continuation-token=", NULL);
    lt_uri_encode(&q, token, strlen(token), false, NULL);
    call(&e, "GET", "listing", "", q.data, NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data,
                      "<CommonPrefixes><Prefix>logs/2026/03/</Prefix></CommonPrefixes>");
    LT_CHECK_CONTAINS(resp.body.data, "<KeyCount>1</KeyCount>");
    LT_CHECK_CONTAINS(resp.body.data, "<IsTruncated>false</IsTruncated>");
    char *echoed = xml_get(&resp, "ContinuationToken");
    LT_CHECK_STR(echoed, token);
    free(echoed);
    lt_s3_response_free(&resp);
    lt_buf_free(&q);
    free(token);
    env_close(&e);
}

static void encoding_type_url_encodes_keys_and_prefixes(void)
{
    static const char *const keys[] = {"a b/c+d&e", "\xc3\xa9/x", "plain"};
    env e = with_keys("s3-list-url", keys, 3);
    lt_s3_response resp;
    call(&e, "GET", "listing", "", "list-type=2&encoding-type=url&prefix=a%20b&start-after=a%20",
         NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<Key>a%20b/c%2Bd%26e</Key>");
    LT_CHECK_CONTAINS(resp.body.data, "<Prefix>a%20b</Prefix>");
    LT_CHECK_CONTAINS(resp.body.data, "<StartAfter>a%20</StartAfter>");
    LT_CHECK_CONTAINS(resp.body.data, "<EncodingType>url</EncodingType>");
    lt_s3_response_free(&resp);
    call(&e, "GET", "listing", "", "list-type=2&encoding-type=url&delimiter=%2F", NULL, NULL,
         &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<Prefix>%C3%A9/</Prefix>");
    lt_s3_response_free(&resp);
    /* Without encoding-type the XML carries the keys as text, escaped. */
    call(&e, "GET", "listing", "", "list-type=2&fetch-owner=true", NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<Key>a b/c+d&amp;e</Key>");
    LT_CHECK_CONTAINS(resp.body.data,
                      "<Owner><ID>lathe</ID><DisplayName>lathe</DisplayName></Owner>");
    LT_CHECK_CONTAINS(resp.body.data, "<StorageClass>STANDARD</StorageClass>");
    LT_CHECK_CONTAINS(resp.body.data, "<ETag>&quot;");
    lt_s3_response_free(&resp);
    call(&e, "GET", "listing", "", "list-type=2&encoding-type=base64", NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 400);
    lt_s3_response_free(&resp);
    call(&e, "GET", "listing", "", "list-type=2&continuation-token=%21%21", NULL, NULL, &resp);
    LT_CHECK_INT(resp.status, ==, 400);
    LT_CHECK_CONTAINS(resp.body.data, "continuation token");
    lt_s3_response_free(&resp);
    env_close(&e);
}

static void awkward_keys_are_escaped_in_xml(void)
{
    static const char *const keys[] = {"k&<>\"'"};
    env e = with_keys("s3-list-esc", keys, 1);
    lt_s3_response resp;
    call(&e, "GET", "listing", "", "list-type=2", NULL, NULL, &resp);
    LT_CHECK_CONTAINS(resp.body.data, "<Key>k&amp;&lt;&gt;&quot;&apos;</Key>");
    char *key = xml_get(&resp, "Key");
    LT_CHECK_STR(key, "k&<>\"'");
    free(key);
    char *modified = xml_get(&resp, "LastModified");
    LT_CHECK(modified && strlen(modified) == 24 && modified[10] == 'T' && modified[19] == '.');
    free(modified);
    lt_s3_response_free(&resp);
    env_close(&e);
}

static void list_v1_uses_markers(void)
{
    env e = with_keys("s3-list-v1", keys30, N30);
    char *marker = NULL;
    size_t seen = 0;
    for (int page = 0; page < 20; page++) {
        char query[512];
        snprintf(query, sizeof query, "prefix=models%%2F&max-keys=3%s%s", marker ? "&marker=" : "",
                 marker ? marker : "");
        lt_s3_response resp;
        call(&e, "GET", "listing", "", query, NULL, NULL, &resp);
        LT_CHECK_STR(resp.op_name, "ListObjects");
        LT_CHECK_CONTAINS(resp.body.data, "<Owner>");
        const char *pos = NULL;
        char *key;
        while ((key = xml_next(resp.body.data, "Key", &pos)) != NULL) {
            char want[32];
            snprintf(want, sizeof want, "models/m%zu", seen++);
            LT_CHECK_STR(key, want);
            free(key);
        }
        char *truncated = xml_get(&resp, "IsTruncated");
        bool more = !strcmp(truncated, "true");
        free(truncated);
        free(marker);
        marker = more ? xml_get(&resp, "NextMarker") : NULL;
        lt_s3_response_free(&resp);
        if (!more) break;
    }
    free(marker);
    LT_CHECK_INT(seen, ==, 7);
    lt_s3_response resp;
    call(&e, "GET", "listing", "", "delimiter=%2F&marker=logs%2F", NULL, NULL, &resp);
    LT_CHECK(!strstr(resp.body.data, "<Prefix>logs/</Prefix>"));
    LT_CHECK_CONTAINS(resp.body.data, "<Prefix>models/</Prefix>");
    lt_s3_response_free(&resp);
    LT_CHECK_INT(status_of(&e, "GET", "nobucket", "", "list-type=2", NULL, NULL), ==, 404);
    env_close(&e);
}

int main(void)
{
    LT_RUN(list_v2_pages_see_every_key_once);
    LT_RUN(list_v2_delimiter_rolls_up_prefixes);
    LT_RUN(encoding_type_url_encodes_keys_and_prefixes);
    LT_RUN(awkward_keys_are_escaped_in_xml);
    LT_RUN(list_v1_uses_markers);
    return lt_test_summary();
}
