/* Test helpers: writing and reading small files in scratch trees (pack, images, logs). */
#ifndef LT_FS_TEST_UTIL_H
#define LT_FS_TEST_UTIL_H

#include "base/base.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes len bytes to dir/rel (parents created) with the given mode. */
static inline void put_file(const char *dir, const char *rel, const void *data, size_t len,
                            mode_t mode)
{
    char *path = lt_xasprintf("%s/%s", dir, rel);
    char *parent = lt_xstrdup(path);
    *strrchr(parent, '/') = '\0';
    if (lt_mkdir_p(parent, 0755, NULL) != 0) abort();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) abort();
    if (len && write(fd, data, len) != (ssize_t)len) abort();
    if (fchmod(fd, mode) != 0) abort();
    close(fd);
    free(parent);
    free(path);
}

static inline void put_text(const char *dir, const char *rel, const char *text)
{
    put_file(dir, rel, text, strlen(text), 0644);
}

/* The whole content of dir/rel (NUL-terminated; caller frees), or NULL when missing. */
static inline char *get_file(const char *dir, const char *rel, size_t *len)
{
    char *path = lt_xasprintf("%s/%s", dir, rel);
    lt_buf buf;
    lt_buf_init(&buf, 64u << 20);
    int rc = lt_file_read(path, &buf, NULL);
    free(path);
    if (rc) {
        lt_buf_free(&buf);
        return NULL;
    }
    if (len) *len = buf.len;
    return lt_buf_take(&buf);
}

static inline bool path_exists(const char *dir, const char *rel)
{
    char *path = lt_xasprintf("%s/%s", dir, rel);
    struct stat st;
    bool ok = lstat(path, &st) == 0;
    free(path);
    return ok;
}

static inline mode_t path_mode(const char *dir, const char *rel)
{
    char *path = lt_xasprintf("%s/%s", dir, rel);
    struct stat st;
    mode_t m = lstat(path, &st) == 0 ? st.st_mode : 0;
    free(path);
    return m;
}

#endif
