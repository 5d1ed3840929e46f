/* base64 (RFC 4648, padded) and URI percent-encoding with AWS's unreserved set. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *lt_base64_encode(const uint8_t *in, size_t len)
{
    char *out = lt_xmalloc(4 * ((len + 2) / 3) + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int lt_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
                     size_t *out_len)
{
    if (in_len % 4 != 0) return LT_EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < in_len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == in_len && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad) return LT_EINVAL;
                v[k] = b64_value(in[i + k]);
                if (v[k] < 0) return LT_EINVAL;
            }
        }
        uint32_t w = (uint32_t)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        size_t n = 3 - (size_t)pad;
        if (o + n > out_cap) return LT_EINVAL;
        out[o++] = (uint8_t)(w >> 16);
        if (n > 1) out[o++] = (uint8_t)(w >> 8);
        if (n > 2) out[o++] = (uint8_t)w;
    }
    *out_len = o;
    return 0;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

int lt_uri_encode(lt_buf *out, const char *in, size_t len, bool keep_slash, lt_err *err)
{
    /* Runs of characters that stay as they are go in with one append: a signed request's
     * path is encoded on every call, and is mostly such a run. */
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* start of the pending run */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (unreserved(c) || (keep_slash && c == '/')) continue;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        int rc = i > run ? lt_buf_append(out, in + run, i - run, err) : 0;
        if (!rc) rc = lt_buf_append(out, esc, 3, err);
        if (rc) return rc;
        run = i + 1;
    }
    return run < len ? lt_buf_append(out, in + run, len - run, err) : 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int lt_uri_decode(lt_buf *out, const char *in, size_t len, lt_err *err)
{
    size_t run = 0; /* start of the pending run of plain characters */
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') continue;
        if (i + 2 >= len)
            return lt_err_set(err, LT_EINVAL, "truncated percent-escape at byte %zu", i);
        int h = hex_value(in[i + 1]), l = hex_value(in[i + 2]);
        if (h < 0 || l < 0) return lt_err_set(err, LT_EINVAL, "bad percent-escape at byte %zu", i);
        char c = (char)(h << 4 | l);
        int rc = i > run ? lt_buf_append(out, in + run, i - run, err) : 0;
        if (!rc) rc = lt_buf_append(out, &c, 1, err);
        if (rc) return rc;
        i += 2;
        run = i + 1;
    }
    return run < len ? lt_buf_append(out, in + run, len - run, err) : 0;
}
