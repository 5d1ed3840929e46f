/* SHA-256, HMAC-SHA256 and MD5 through OpenSSL's EVP interface (libcrypto 3). */
#include "base/base.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>

struct lt_hash {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
};

void lt_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void lt_md5(const void *data, size_t len, uint8_t out[16])
{
    unsigned int n = 16;
    EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

void lt_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n);
}

void lt_hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

bool lt_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

lt_hash *lt_hash_new(lt_hash_kind kind)
{
    lt_hash *h = lt_xcalloc(1, sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx) {
        fprintf(stderr, "lathe: EVP_MD_CTX_new failed\n");
        abort();
    }
    h->md = kind == LT_HASH_MD5 ? EVP_md5() : EVP_sha256();
    EVP_DigestInit_ex(h->ctx, h->md, NULL);
    return h;
}

void lt_hash_update(lt_hash *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

size_t lt_hash_final(lt_hash *h, uint8_t *out)
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, out, &n);
    return n;
}

void lt_hash_reset(lt_hash *h)
{
    EVP_DigestInit_ex(h->ctx, h->md, NULL);
}

void lt_hash_free(lt_hash *h)
{
    if (!h) return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}
