/* Random ids from the kernel's CSPRNG: request ids, access keys, upload ids. */
#include "base/base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

void lt_random_bytes(void *out, size_t len)
{
    uint8_t *p = out;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "lathe: getrandom failed\n");
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
}

void lt_uuid4(char *out)
{
    uint8_t b[16];
    lt_random_bytes(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

void lt_random_token(char *out, size_t len, bool wide)
{
    static const char narrow_set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static const char wide_set[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *set = wide ? wide_set : narrow_set;
    size_t n = wide ? 64 : 36;
    /* 36 does not divide 256: reject bytes past the largest multiple to stay uniform. */
    size_t limit = 256 - (256 % n);
    size_t i = 0;
    while (i < len) {
        uint8_t b[64];
        lt_random_bytes(b, sizeof b);
        for (size_t j = 0; j < sizeof b && i < len; j++)
            if (b[j] < limit) out[i++] = set[b[j] % n];
    }
    out[len] = '\0';
}
