/* Unit tests for the base module: buffers, encodings, time formats, hashing, JSON, files. */
#include "base/base.h"
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

static void err_keeps_the_first_message(void)
{
    lt_err err = {0};
    LT_CHECK_INT(lt_err_set(&err, LT_ENOTFOUND, "root cause %d", 1), ==, LT_ENOTFOUND);
    lt_err_set(&err, LT_EIO, "cascade");
    LT_CHECK_INT(err.code, ==, LT_ENOTFOUND);
    LT_CHECK_STR(err.msg, "root cause 1");
}

static void buf_refuses_to_grow_past_its_maximum(void)
{
    lt_buf buf;
    lt_buf_init(&buf, 8);
    lt_err err = {0};
    LT_CHECK_INT(lt_buf_append(&buf, "12345678", 8, &err), ==, 0);
    LT_CHECK_INT(lt_buf_append(&buf, "9", 1, &err), ==, LT_ELIMIT);
    LT_CHECK_INT(buf.len, ==, 8);
    LT_CHECK_STR(buf.data, "12345678");
    lt_buf_free(&buf);
}

static void buf_printf_appends_formatted_text(void)
{
    lt_buf buf;
    lt_buf_init(&buf, 1024);
    lt_buf_printf(&buf, NULL, "%s=%d", "a", 1);
    lt_buf_printf(&buf, NULL, ";%s", "b");
    LT_CHECK_STR(buf.data, "a=1;b");
    lt_buf_free(&buf);
}

static void base64_round_trips_rfc4648_vectors(void)
{
    static const struct {
        const char *plain, *encoded;
    } cases[] = {{"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},
                 {"foo", "Zm9v"},    {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                 {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *enc = lt_base64_encode((const uint8_t *)cases[i].plain, strlen(cases[i].plain));
        LT_CHECK_STR(enc, cases[i].encoded);
        uint8_t out[16];
        size_t n = 0;
        LT_CHECK_INT(lt_base64_decode(enc, strlen(enc), out, sizeof out, &n), ==, 0);
        LT_CHECK_INT(n, ==, strlen(cases[i].plain));
        LT_CHECK(memcmp(out, cases[i].plain, n) == 0);
        free(enc);
    }
    uint8_t out[8];
    size_t n;
    LT_CHECK_INT(lt_base64_decode("Zm9v!", 5, out, sizeof out, &n), ==, LT_EINVAL);
    LT_CHECK_INT(lt_base64_decode("Z=9v", 4, out, sizeof out, &n), ==, LT_EINVAL);
}

static void uri_encode_keeps_only_the_unreserved_set(void)
{
    lt_buf buf;
    lt_buf_init(&buf, 1024);
    const char *in = "a b/c~d%e+f";
    LT_CHECK_INT(lt_uri_encode(&buf, in, strlen(in), true, NULL), ==, 0);
    LT_CHECK_STR(buf.data, "a%20b/c~d%25e%2Bf");
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_uri_encode(&buf, in, strlen(in), false, NULL), ==, 0);
    LT_CHECK_STR(buf.data, "a%20b%2Fc~d%25e%2Bf");
    /* Escapes first, last and back to back; a plain run alone; nothing at all. */
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_uri_encode(&buf, " %x=", 4, false, NULL), ==, 0);
    LT_CHECK_STR(buf.data, "%20%25x%3D");
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_uri_encode(&buf, "endpoints", 9, false, NULL), ==, 0);
    LT_CHECK_STR(buf.data, "endpoints");
    lt_buf_free(&buf);
    LT_CHECK_INT(lt_uri_encode(&buf, "", 0, false, NULL), ==, 0);
    LT_CHECK(buf.len == 0);
}

static void uri_decode_rejects_truncated_escapes(void)
{
    lt_buf buf;
    lt_buf_init(&buf, 1024);
    LT_CHECK_INT(lt_uri_decode(&buf, "a%20b%2f", 8, NULL), ==, 0);
    LT_CHECK_STR(buf.data, "a b/");
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_uri_decode(&buf, "%41%42c%7E", 10, NULL), ==, 0);
    LT_CHECK_STR(buf.data, "ABc~");
    lt_buf_reset(&buf);
    lt_err err = {0};
    LT_CHECK_INT(lt_uri_decode(&buf, "ab%2", 4, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "byte 2");
    lt_buf_reset(&buf);
    LT_CHECK_INT(lt_uri_decode(&buf, "%zz", 3, NULL), ==, LT_EINVAL);
    lt_buf_free(&buf);
}

static void amz_dates_parse_and_format(void)
{
    time_t t;
    LT_CHECK_INT(lt_time_parse_amz("20240101T000000Z", &t), ==, 0);
    LT_CHECK_INT(t, ==, 1704067200);
    char out[17];
    lt_time_format_amz(out, 1704067200 + 3661);
    LT_CHECK_STR(out, "20240101T010101Z");
    LT_CHECK_INT(lt_time_parse_amz("2024-01-01T00:00:00Z", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_time_parse_amz("20240101T0000Z", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_time_parse_amz("20240230T000000Z", &t), ==, LT_EINVAL); /* no Feb 30 */
    LT_CHECK_INT(lt_time_parse_amz("20240101T246000Z", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_time_parse_amz("20240229T235959Z", &t), ==, 0); /* leap day */
    LT_CHECK_INT(lt_time_parse_amz("20230229T000000Z", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_time_parse_amz("21000229T000000Z", &t), ==, LT_EINVAL); /* not leap */
    LT_CHECK_INT(lt_time_parse_amz("20000229T000000Z", &t), ==, 0);          /* leap */
    LT_CHECK_INT(lt_time_parse_amz("20240101T235960Z", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_time_parse_amz("19691231T235959Z", &t), ==, LT_EINVAL);
    /* Every hour of 1970..2400 (and odd seconds) parses back to the time gmtime printed. */
    int mismatches = 0;
    for (time_t when = 0; when < 13569465600; when += 3600 * 7 + 13) {
        lt_time_format_amz(out, when);
        if (lt_time_parse_amz(out, &t) != 0 || t != when) mismatches++;
    }
    LT_CHECK_INT(mismatches, ==, 0);
    char iso[32];
    lt_time_format_iso8601_ms(iso, 1704067200123);
    LT_CHECK_STR(iso, "2024-01-01T00:00:00.123Z");
    char http[32];
    lt_time_format_http(http, 1704067200);
    LT_CHECK_STR(http, "Mon, 01 Jan 2024 00:00:00 GMT");
}

static void sha256_and_hmac_match_published_vectors(void)
{
    uint8_t d[32];
    char hex[65];
    lt_sha256("", 0, d);
    lt_hex_encode(hex, d, 32);
    LT_CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* RFC 4231 test case 2 */
    lt_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    lt_hex_encode(hex, d, 32);
    LT_CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* The same key again (re-inited from the keyed state), then test case 1's key and
     * back: each answer must not depend on the call before it. */
    uint8_t key1[20];
    memset(key1, 0x0b, sizeof key1);
    for (int round = 0; round < 2; round++) {
        lt_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
        lt_hex_encode(hex, d, 32);
        LT_CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        lt_hmac_sha256(key1, sizeof key1, "Hi There", 8, d);
        lt_hex_encode(hex, d, 32);
        LT_CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    }
    /* A key longer than a block is hashed first (RFC 4231 test case 6), twice. */
    uint8_t key6[131];
    memset(key6, 0xaa, sizeof key6);
    for (int round = 0; round < 2; round++) {
        lt_hmac_sha256(key6, sizeof key6, "Test Using Larger Than Block-Size Key - Hash Key First",
                       54, d);
        lt_hex_encode(hex, d, 32);
        LT_CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
    uint8_t m[16];
    lt_md5("abc", 3, m);
    lt_hex_encode(hex, m, 16);
    LT_CHECK_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
}

static void incremental_hash_equals_one_shot(void)
{
    lt_hash *h = lt_hash_new(LT_HASH_SHA256);
    lt_hash_update(h, "hello ", 6);
    lt_hash_update(h, "world", 5);
    uint8_t a[32], b[32];
    LT_CHECK_INT(lt_hash_final(h, a), ==, 32);
    lt_sha256("hello world", 11, b);
    LT_CHECK(memcmp(a, b, 32) == 0);
    lt_hash_free(h);
}

static void json_time_accepts_numbers_and_iso8601(void)
{
    json_t *obj = json_pack("{s:i, s:f, s:s, s:s, s:b}", "a", 1700000000, "b", 1700000000.5, "c",
                            "2023-11-14T22:13:20.5Z", "d", "not a date", "e", 1);
    double t = 0;
    LT_CHECK_INT(lt_json_time(obj, "a", &t), ==, 0);
    LT_CHECK(t == 1700000000.0);
    LT_CHECK_INT(lt_json_time(obj, "b", &t), ==, 0);
    LT_CHECK(t == 1700000000.5);
    LT_CHECK_INT(lt_json_time(obj, "c", &t), ==, 0);
    LT_CHECK(t == 1700000000.5);
    LT_CHECK_INT(lt_json_time(obj, "d", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_json_time(obj, "e", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_json_time(obj, "missing", &t), ==, LT_ENOTFOUND);
    json_decref(obj);
    /* Found by the fuzzer: impossible dates and exponents in the fraction. */
    obj = json_pack("{s:s, s:s, s:s, s:s}", "feb30", "2023-02-30T00:00:00Z", "exp",
                    "2023-11-14T22:13:20.5e400Z", "offset", "2023-11-15T03:43:20.5+05:30", "tz",
                    "2023-11-14T22:13:20+5:30");
    LT_CHECK_INT(lt_json_time(obj, "feb30", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_json_time(obj, "exp", &t), ==, LT_EINVAL);
    LT_CHECK_INT(lt_json_time(obj, "offset", &t), ==, 0);
    LT_CHECK(t == 1700000000.5);
    LT_CHECK_INT(lt_json_time(obj, "tz", &t), ==, LT_EINVAL);
    json_decref(obj);
}

static void json_parse_reports_line_and_column(void)
{
    json_t *v = NULL;
    lt_err err = {0};
    LT_CHECK_INT(lt_json_parse("{\n \"a\": ,}", 10, &v, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "line 2");
    LT_CHECK(v == NULL);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_json_parse("{\"a\":1,\"a\":2}", 13, &v, &err), ==, LT_EINVAL);
}

static void atomic_write_replaces_the_file_whole(void)
{
    char *dir = lt_test_tmpdir("base");
    char *path = lt_xasprintf("%s/deep/er/file", dir);
    char *parent = lt_xasprintf("%s/deep/er", dir);
    LT_CHECK_INT(lt_mkdir_p(parent, 0755, NULL), ==, 0);
    LT_CHECK_INT(lt_file_write_atomic(path, "first", 5, 0600, NULL), ==, 0);
    LT_CHECK_INT(lt_file_write_atomic(path, "second", 6, 0600, NULL), ==, 0);
    lt_buf buf;
    lt_buf_init(&buf, 1024);
    LT_CHECK_INT(lt_file_read(path, &buf, NULL), ==, 0);
    LT_CHECK_STR(buf.data, "second");
    struct stat st;
    LT_CHECK_INT(stat(path, &st), ==, 0);
    LT_CHECK_INT(st.st_mode & 0777, ==, 0600);
    lt_buf_free(&buf);
    lt_buf_init(&buf, 3);
    LT_CHECK_INT(lt_file_read(path, &buf, NULL), ==, LT_ELIMIT);
    lt_buf_free(&buf);
    LT_CHECK_INT(lt_rm_rf(dir, NULL), ==, 0);
    LT_CHECK_INT(access(dir, F_OK), !=, 0);
    free(path);
    free(parent);
    free(dir);
}

static void str_copy_cuts_to_fit_and_terminates(void)
{
    char small[4];
    LT_CHECK_INT(lt_str_copy(small, sizeof small, "abcdef"), ==, 6); /* cut: 6 >= 4 */
    LT_CHECK_STR(small, "abc");
    LT_CHECK_INT(lt_str_copy(small, sizeof small, "abc"), ==, 3); /* exactly fits */
    LT_CHECK_STR(small, "abc");
    LT_CHECK_INT(lt_str_copy(small, sizeof small, ""), ==, 0);
    LT_CHECK_STR(small, "");
    char one[1];
    LT_CHECK_INT(lt_str_copy(one, sizeof one, "x"), ==, 1);
    LT_CHECK_STR(one, "");
}

static void parse_i64_checks_range_and_trailing_text(void)
{
    int64_t v = 0;
    LT_CHECK_INT(lt_parse_i64("42", 0, 100, &v, "n", NULL), ==, 0);
    LT_CHECK_INT(v, ==, 42);
    lt_err err = {0};
    LT_CHECK_INT(lt_parse_i64("101", 0, 100, &v, "port", &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "port must be between 0 and 100");
    LT_CHECK_INT(lt_parse_i64("4x", 0, 100, &v, "n", NULL), ==, LT_EINVAL);
    LT_CHECK_INT(lt_parse_i64("", 0, 100, &v, "n", NULL), ==, LT_EINVAL);
}

static void random_tokens_use_the_requested_alphabet(void)
{
    char tok[41];
    lt_random_token(tok, 40, false);
    LT_CHECK_INT(strlen(tok), ==, 40);
    LT_CHECK_INT(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), ==, 40);
    char uuid[37];
    lt_uuid4(uuid);
    LT_CHECK_INT(strlen(uuid), ==, 36);
    LT_CHECK(uuid[14] == '4');
}

int main(void)
{
    LT_RUN(err_keeps_the_first_message);
    LT_RUN(buf_refuses_to_grow_past_its_maximum);
    LT_RUN(buf_printf_appends_formatted_text);
    LT_RUN(base64_round_trips_rfc4648_vectors);
    LT_RUN(uri_encode_keeps_only_the_unreserved_set);
    LT_RUN(uri_decode_rejects_truncated_escapes);
    LT_RUN(amz_dates_parse_and_format);
    LT_RUN(sha256_and_hmac_match_published_vectors);
    LT_RUN(incremental_hash_equals_one_shot);
    LT_RUN(json_time_accepts_numbers_and_iso8601);
    LT_RUN(json_parse_reports_line_and_column);
    LT_RUN(atomic_write_replaces_the_file_whole);
    LT_RUN(parse_i64_checks_range_and_trailing_text);
    LT_RUN(str_copy_cuts_to_fit_and_terminates);
    LT_RUN(random_tokens_use_the_requested_alphabet);
    return lt_test_summary();
}
