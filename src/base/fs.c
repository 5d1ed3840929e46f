/* File-system helpers. Atomic writes follow the write-temp, fsync, rename, fsync-dir
 * sequence so that a crash leaves the old content or the new, never a torn file. */
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lt_mkdir_p(const char *path, mode_t mode, lt_err *err)
{
    char *copy = lt_xstrdup(path);
    size_t len = strlen(copy);
    for (size_t i = 1; i <= len; i++) {
        if (copy[i] != '/' && copy[i] != '\0') continue;
        char saved = copy[i];
        copy[i] = '\0';
        if (mkdir(copy, mode) != 0 && errno != EEXIST) {
            int e = errno;
            lt_err_set(err, LT_EIO, "cannot create directory %s: %s", copy, strerror(e));
            free(copy);
            return LT_EIO;
        }
        copy[i] = saved;
    }
    free(copy);
    return 0;
}

int lt_fsync_dir(const char *dir, lt_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return lt_err_set(err, LT_EIO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    if (rc != 0) return lt_err_set(err, LT_EIO, "fsync of %s failed: %s", dir, strerror(errno));
    return 0;
}

int lt_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         lt_err *err)
{
    char *tmp = lt_xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        lt_err_set(err, LT_EIO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return LT_EIO;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            lt_err_set(err, LT_EIO, "write to %s failed: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return LT_EIO;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        lt_err_set(err, LT_EIO, "cannot sync %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return LT_EIO;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        lt_err_set(err, LT_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return LT_EIO;
    }
    free(tmp);
    char *dcopy = lt_xstrdup(path);
    int rc = lt_fsync_dir(dirname(dcopy), err);
    free(dcopy);
    return rc;
}

int lt_file_read(const char *path, lt_buf *buf, lt_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int code = errno == ENOENT ? LT_ENOTFOUND : LT_EIO;
        return lt_err_set(err, code, "cannot open %s: %s", path, strerror(errno));
    }
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return lt_err_set(err, LT_EIO, "read of %s failed: %s", path, strerror(e));
        }
        if (n == 0) break;
        int rc = lt_buf_append(buf, chunk, (size_t)n, err);
        if (rc) {
            close(fd);
            return rc;
        }
    }
    close(fd);
    if (!buf->data) lt_buf_append(buf, "", 0, err);
    return 0;
}

int lt_rm_rf(const char *path, lt_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : lt_err_set(err, LT_EIO, "cannot stat %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return lt_err_set(err, LT_EIO, "cannot open %s: %s", path, strerror(errno));
        struct dirent *de;
        int rc = 0;
        while (!rc && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char *child = lt_xasprintf("%s/%s", path, de->d_name);
            rc = lt_rm_rf(child, err);
            free(child);
        }
        closedir(d);
        if (rc) return rc;
        if (rmdir(path) != 0) return lt_err_set(err, LT_EIO, "cannot remove %s: %s", path, strerror(errno));
        return 0;
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return lt_err_set(err, LT_EIO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}
