/* Shared helpers of the blob tests: a fresh store, whole-object reads, file counts. */
#ifndef LT_BLOB_TEST_UTIL_H
#define LT_BLOB_TEST_UTIL_H

#include "blob/blob.h"
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

static inline lt_blob *open_store(const char *root)
{
    lt_blob *blob = NULL;
    lt_err err = {0};
    if (lt_blob_open(&blob, root, &err) != 0) {
        fprintf(stderr, "lt_blob_open(%s): %s\n", root, err.msg);
        abort();
    }
    return blob;
}

static inline lt_blob *fresh_store(const char *name, char **root_out)
{
    char *root = lt_test_tmpdir(name);
    lt_blob *blob = open_store(root);
    lt_err err = {0};
    if (lt_blob_bucket_create(blob, "bkt", &err) != 0) {
        fprintf(stderr, "bucket create: %s\n", err.msg);
        abort();
    }
    *root_out = root;
    return blob;
}

/* Puts len bytes in chunks of `chunk` bytes; returns the lt_blob_writer_commit code. */
static inline int put_chunks(lt_blob *blob, const char *bucket, const char *key, const void *data,
                             size_t len, size_t chunk, const lt_blob_put_opts *opts,
                             lt_blob_object *out, lt_err *err)
{
    lt_blob_writer *w = NULL;
    int rc = lt_blob_writer_open(blob, bucket, key, opts, &w, err);
    if (rc) return rc;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = lt_blob_writer_write(w, (const char *)data + off, n, err);
        if (rc) {
            lt_blob_writer_abort(w);
            return rc;
        }
    }
    return lt_blob_writer_commit(w, out, err);
}

static inline int put_str(lt_blob *blob, const char *key, const char *text)
{
    lt_err err = {0};
    int rc = put_chunks(blob, "bkt", key, text, strlen(text), 7, NULL, NULL, &err);
    if (rc) fprintf(stderr, "put %s: %s\n", key, err.msg);
    return rc;
}

/* The object's bytes as a new NUL-terminated string (NULL when absent). */
static inline char *get_all(lt_blob *blob, const char *bucket, const char *key, size_t *len)
{
    int fd = -1;
    lt_blob_object obj = {0};
    lt_err err = {0};
    if (lt_blob_object_open(blob, bucket, key, &fd, &obj, &err) != 0) return NULL;
    char *buf = malloc(obj.size + 1);
    size_t got = 0;
    while (got < obj.size) {
        ssize_t n = pread(fd, buf + got, obj.size - got, (off_t)got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    if (len) *len = got;
    close(fd);
    lt_blob_object_clear(&obj);
    return buf;
}

static inline size_t count_files(const char *dir, bool recurse)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (de->d_type == DT_DIR) {
            if (recurse) {
                char *sub = NULL;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0) abort();
                n += count_files(sub, true);
                free(sub);
            }
        } else {
            n++;
        }
    }
    closedir(d);
    return n;
}

static inline size_t data_files(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data", root);
    return count_files(path, true);
}

static inline size_t tmp_files(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tmp", root);
    return count_files(path, false);
}

static inline void md5_hex(const void *data, size_t len, char out[33])
{
    uint8_t d[16];
    lt_md5(data, len, d);
    lt_hex_encode(out, d, 16);
}

/* Deterministic bytes: the same (seed, i) always gives the same byte. */
static inline void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

#endif
