/* SHA-256, HMAC-SHA256 and MD5 through OpenSSL's EVP interface (libcrypto 3). */
#include "base/base.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lt_hash {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
};

/* The one-shot calls (EVP_Digest, HMAC) look the algorithm up in the provider tables and
 * allocate a context on every call: about 70% of hashing a signed request's few hundred
 * bytes. The algorithms are fetched once, and each thread keeps its own contexts (freed
 * when it exits), so the per-request signature check pays only for the hashing. */
typedef struct thread_ctx {
    EVP_MD_CTX *sha256;
    EVP_MAC_CTX *hmac_sha256;
    /* The HMAC context's key. Keying hashes the padded key twice; a call with the same key
     * as the last (a SigV4 check, once the day's signing key is cached) re-inits from
     * the keyed state instead. Keys past one block are not remembered. */
    uint8_t key[64];
    size_t key_len; /* 0: none remembered */
} thread_ctx;

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key;
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;

static void thread_ctx_free(void *p)
{
    thread_ctx *t = p;
    EVP_MD_CTX_free(t->sha256);
    EVP_MAC_CTX_free(t->hmac_sha256);
    free(t);
}

static void fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!sha256_md || !hmac_mac || pthread_key_create(&ctx_key, thread_ctx_free) != 0) {
        fprintf(stderr, "lathe: libcrypto has no SHA-256 or HMAC\n");
        abort();
    }
}

static thread_ctx *this_thread_ctx(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    thread_ctx *t = pthread_getspecific(ctx_key);
    if (t) return t;
    t = lt_xcalloc(1, sizeof *t);
    t->sha256 = EVP_MD_CTX_new();
    t->hmac_sha256 = EVP_MAC_CTX_new(hmac_mac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (!t->sha256 || !t->hmac_sha256 || !EVP_MAC_CTX_set_params(t->hmac_sha256, params) ||
        pthread_setspecific(ctx_key, t) != 0) {
        fprintf(stderr, "lathe: cannot set up SHA-256 contexts\n");
        abort();
    }
    return t;
}

void lt_sha256(const void *data, size_t len, uint8_t out[32])
{
    thread_ctx *t = this_thread_ctx();
    unsigned int n = 32;
    EVP_DigestInit_ex2(t->sha256, sha256_md, NULL);
    EVP_DigestUpdate(t->sha256, data, len);
    EVP_DigestFinal_ex(t->sha256, out, &n);
}

void lt_md5(const void *data, size_t len, uint8_t out[16])
{
    unsigned int n = 16;
    EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

void lt_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32])
{
    thread_ctx *t = this_thread_ctx();
    size_t n = 0;
    if (key_len > 0 && key_len == t->key_len && memcmp(key, t->key, key_len) == 0) {
        EVP_MAC_init(t->hmac_sha256, NULL, 0, NULL); /* HMAC_Init_ex: the same key again */
    } else {
        EVP_MAC_init(t->hmac_sha256, key, key_len, NULL);
        t->key_len = key_len <= sizeof t->key ? key_len : 0;
        if (t->key_len) memcpy(t->key, key, key_len);
    }
    EVP_MAC_update(t->hmac_sha256, msg, msg_len);
    EVP_MAC_final(t->hmac_sha256, out, &n, 32);
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
