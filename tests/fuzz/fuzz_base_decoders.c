/*
 * Fuzz target: the decoders of src/base that see outside bytes: lt_uri_decode,
 * lt_base64_decode, lt_json_parse with lt_json_time, lt_time_parse_amz, lt_parse_i64.
 * Every input goes through all of them (each is cheap), raw or as a C string.
 *
 * Invariants checked:
 *  - URI: decoding fails only with LT_EINVAL (never LT_ELIMIT: the output is never longer
 *    than the input) and yields len - 2 * (number of '%') bytes; encoding, with or without
 *    '/' kept, gives only unreserved characters and upper-case %XX, and decoding that gives
 *    back exactly the bytes encoded (the raw input and the decoded output both);
 *  - base64: decoding fails only with LT_EINVAL, succeeds only on a multiple of 4, into at
 *    most 3/4 of the input, and into exactly out_cap bytes but not one fewer; encoding any
 *    bytes and decoding them gives them back; re-encoding a decoded input decodes the same;
 *  - JSON: lt_json_parse fails only with LT_EINVAL and a message; a parsed value dumps and
 *    parses back equal; lt_json_time on every member of an object (and on the input as an
 *    ISO-8601 string) returns 0 or LT_EINVAL, and 0 only with a finite number of seconds,
 *    equal to the member's value when it is a JSON number;
 *  - lt_time_parse_amz accepts only "YYYYMMDDTHHMMSSZ" strings that name a real time up to
 *    9999-12-31T23:59:59Z: the time it gives formats back to the same string;
 *  - lt_parse_i64 returns a value inside the range asked for, or LT_EINVAL with a message;
 *    the value printed in decimal parses back to itself; ranges agree with each other.
 */
#include "base/base.h"

#include "fuzz_check.h"

#include <math.h>

static void check_err(const lt_err *err, int rc)
{
    FZ_CHECK(FZ_TERMINATED(err->msg), "message not NUL-terminated");
    if (rc != 0) FZ_CHECK(err->code == rc && err->msg[0], "rc %d without a message", rc);
}

/* ---- URI ----------------------------------------------------------------------------- */

static bool encoded_only(const lt_buf *b, bool keep_slash)
{
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
            continue;
        if (c != '%' || i + 2 >= b->len) return false;
        for (int k = 1; k <= 2; k++) {
            unsigned char h = (unsigned char)b->data[i + k];
            if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'))) return false;
        }
        i += 2;
    }
    return true;
}

/* Encodes bytes, checks the alphabet, decodes, and checks they come back. */
static void uri_round_trip(const char *bytes, size_t len, bool keep_slash)
{
    lt_buf enc, dec;
    lt_buf_init(&enc, 3 * len);
    lt_buf_init(&dec, len);
    lt_err err = {0};
    FZ_CHECK(lt_uri_encode(&enc, bytes, len, keep_slash, &err) == 0, "encode: %s", err.msg);
    FZ_CHECK(encoded_only(&enc, keep_slash), "encoded '%.*s'", (int)enc.len, enc.data);
    FZ_CHECK(lt_uri_decode(&dec, enc.data ? enc.data : "", enc.len, &err) == 0, "decode: %s",
             err.msg);
    FZ_CHECK(dec.len == len && (len == 0 || memcmp(dec.data, bytes, len) == 0),
             "URI round trip lost bytes (%zu -> %zu)", len, dec.len);
    lt_buf_free(&enc);
    lt_buf_free(&dec);
}

static void fuzz_uri(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    lt_buf dec;
    lt_buf_init(&dec, size); /* decoding never grows */
    lt_err err = {0};
    int rc = lt_uri_decode(&dec, in, size, &err);
    FZ_CHECK(rc == 0 || rc == LT_EINVAL, "uri_decode rc %d (%s)", rc, err.msg);
    check_err(&err, rc);
    if (rc == 0) {
        size_t escapes = 0;
        for (size_t i = 0; i < size; i++) escapes += data[i] == '%';
        FZ_CHECK(dec.len == size - 2 * escapes, "decoded %zu bytes from %zu with %zu escapes",
                 dec.len, size, escapes);
        uri_round_trip(dec.data ? dec.data : "", dec.len, false);
    }
    lt_buf_free(&dec);
    uri_round_trip(in, size, size > 0 && (data[0] & 1));
}

/* ---- base64 -------------------------------------------------------------------------- */

static void fuzz_base64(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t cap = size / 4 * 3 + 3;
    uint8_t *out = malloc(cap);
    uint8_t *again = malloc(cap);
    if (!out || !again) abort();
    size_t n = 0;
    int rc = lt_base64_decode(in, size, out, cap, &n);
    FZ_CHECK(rc == 0 || rc == LT_EINVAL, "base64_decode rc %d", rc);
    if (rc == 0) {
        FZ_CHECK(size % 4 == 0, "decoded a %zu-byte input", size);
        FZ_CHECK(n <= size / 4 * 3 && n + 2 >= size / 4 * 3, "%zu bytes from %zu", n, size);
        size_t m = 0;
        FZ_CHECK(lt_base64_decode(in, size, again, n, &m) == 0 && m == n,
                 "decoding into exactly %zu bytes failed", n);
        if (n > 0)
            FZ_CHECK(lt_base64_decode(in, size, again, n - 1, &m) == LT_EINVAL,
                     "decoded %zu bytes into %zu", n, n - 1);
        char *re = lt_base64_encode(out, n);
        FZ_CHECK(strlen(re) == size, "re-encoded to %zu chars from %zu", strlen(re), size);
        FZ_CHECK(lt_base64_decode(re, size, again, cap, &m) == 0 && m == n &&
                     (n == 0 || memcmp(out, again, n) == 0),
                 "re-encoding changed the bytes");
        free(re);
    }

    /* Any bytes encode, and decode back, into exactly their own length. */
    char *enc = lt_base64_encode(data, size);
    size_t enc_len = strlen(enc);
    FZ_CHECK(enc_len == 4 * ((size + 2) / 3), "encoded %zu bytes to %zu chars", size, enc_len);
    uint8_t *back = malloc(size ? size : 1);
    if (!back) abort();
    size_t m = 0;
    FZ_CHECK(lt_base64_decode(enc, enc_len, back, size, &m) == 0 && m == size &&
                 (size == 0 || memcmp(back, data, size) == 0),
             "base64 round trip of %zu bytes", size);
    if (size > 0)
        FZ_CHECK(lt_base64_decode(enc, enc_len, back, size - 1, &m) == LT_EINVAL,
                 "%zu bytes decoded into %zu", size, size - 1);
    free(back);
    free(enc);
    free(out);
    free(again);
}

/* ---- JSON and timestamps ------------------------------------------------------------- */

static void check_time_member(const json_t *obj, const char *key)
{
    double t = 0;
    int rc = lt_json_time(obj, key, &t);
    const json_t *v = json_object_get(obj, key);
    FZ_CHECK(rc == 0 || rc == LT_EINVAL, "lt_json_time rc %d", rc);
    if (rc == 0) {
        FZ_CHECK(isfinite(t), "lt_json_time accepted %s and gave %f",
                 json_is_string(v) ? json_string_value(v) : "a number", t);
        FZ_CHECK(json_is_number(v) || json_is_string(v), "accepted a non-time type");
        if (json_is_number(v)) FZ_CHECK(t == json_number_value(v), "number changed");
    } else {
        FZ_CHECK(!json_is_number(v), "refused the number %f", json_number_value(v));
    }
}

static void fuzz_json(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    lt_err err = {0};
    int rc = lt_json_parse((const char *)data, size, &v, &err);
    FZ_CHECK(rc == 0 || rc == LT_EINVAL, "json_parse rc %d", rc);
    check_err(&err, rc);
    if (rc == 0) {
        char *dump = lt_json_dump(v);
        json_t *w = NULL;
        lt_err err2 = {0};
        FZ_CHECK(lt_json_parse(dump, strlen(dump), &w, &err2) == 0, "own dump refused: %s: %s",
                 err2.msg, dump);
        FZ_CHECK(json_equal(v, w), "dump does not parse back equal: %s", dump);
        json_decref(w);
        free(dump);
        if (json_is_object(v)) {
            int budget = 64;
            const char *key;
            json_t *member;
            json_object_foreach(v, key, member) {
                if (budget-- == 0) break;
                check_time_member(v, key);
                const char *s = lt_json_str(v, key);
                FZ_CHECK((s != NULL) == json_is_string(member), "lt_json_str disagrees");
                if (!json_is_integer(member))
                    FZ_CHECK(lt_json_int(v, key, -7) == -7, "lt_json_int ignored its fallback");
            }
            double t;
            FZ_CHECK(lt_json_time(v, "\x01 absent", &t) == LT_ENOTFOUND, "absent member found");
        }
        json_decref(v);
    }

    /* The whole input as an ISO-8601 string, straight into lt_json_time's string parser. */
    json_t *obj = json_object();
    json_object_set_new(obj, "t", json_stringn_nocheck((const char *)data, size));
    check_time_member(obj, "t");
    json_decref(obj);
}

static void fuzz_amz_time(const char *s)
{
    time_t t = 0;
    int rc = lt_time_parse_amz(s, &t);
    FZ_CHECK(rc == 0 || rc == LT_EINVAL, "time_parse_amz rc %d", rc);
    if (rc != 0) return;
    FZ_CHECK(strlen(s) == 16 && s[8] == 'T' && s[15] == 'Z', "accepted '%s'", s);
    for (int i = 0; i < 15; i++)
        FZ_CHECK(i == 8 || (s[i] >= '0' && s[i] <= '9'), "accepted '%s'", s);
    /* Four digits cannot say a year past 9999 (and lt_time_format_amz has 17 bytes). */
    FZ_CHECK(t <= 253402300799, "'%s' accepted as %lld, after 9999-12-31T23:59:59Z", s,
             (long long)t);
    /* A real calendar time formats back to itself: no day 30 of February, no second 60.
     * (strftime writes years before 1000 with fewer digits: those are left out.) */
    if (t < -30610224000) return;
    char formatted[17];
    lt_time_format_amz(formatted, t);
    FZ_CHECK(strcmp(formatted, s) == 0, "'%s' accepted as %lld, which is '%s'", s, (long long)t,
             formatted);
}

/* ---- integers ------------------------------------------------------------------------ */

static void fuzz_i64(const char *s)
{
    static const int64_t ranges[][2] = {{INT64_MIN, INT64_MAX}, {1, 604800}, {-5, 5}, {0, 0}};
    int64_t full = 0;
    int full_rc = 0;
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        int64_t v = 0x5a5a;
        lt_err err = {0};
        int rc = lt_parse_i64(s, ranges[r][0], ranges[r][1], &v, "value", &err);
        FZ_CHECK(rc == 0 || rc == LT_EINVAL, "parse_i64 rc %d", rc);
        check_err(&err, rc);
        if (r == 0) {
            full = v;
            full_rc = rc;
        }
        if (rc == 0) {
            FZ_CHECK(v >= ranges[r][0] && v <= ranges[r][1], "%lld outside [%lld, %lld]",
                     (long long)v, (long long)ranges[r][0], (long long)ranges[r][1]);
            FZ_CHECK(full_rc == 0 && full == v, "ranges disagree on '%s'", s);
            char text[32];
            snprintf(text, sizeof text, "%lld", (long long)v);
            int64_t back = 0;
            FZ_CHECK(lt_parse_i64(text, ranges[r][0], ranges[r][1], &back, "value", NULL) == 0 &&
                         back == v,
                     "'%s' does not parse back", text);
        } else {
            FZ_CHECK(v == 0x5a5a, "output written on failure");
            if (full_rc == 0 && full >= ranges[r][0] && full <= ranges[r][1])
                FZ_CHECK(false, "'%s' refused in [%lld, %lld] but parsed as %lld", s,
                         (long long)ranges[r][0], (long long)ranges[r][1], (long long)full);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool seeded;
    if (!seeded) {
        json_object_seed(0x5eed);
        seeded = true;
    }
    fuzz_uri(data, size);
    fuzz_base64(data, size);
    fuzz_json(data, size);
    char *s = fz_strndup(data, size); /* the C-string decoders stop at the first NUL */
    fuzz_amz_time(s);
    fuzz_i64(s);
    free(s);
    return 0;
}
