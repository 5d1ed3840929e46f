/* images: a directory registered as an image, stored by content.
 *
 * The digest is SHA-256 over one record per entry in the sorted walk's order:
 *   "<relative path>\0<type> <mode, octal> <size> <sha256 of content or link target>\n"
 * (type f, d or l; mode is the permission bits). Only paths, modes and content count, not
 * times or owners, so the same tree gives the same digest on any machine. The copy is
 * built in a temporary directory beside the store and renamed into place once complete,
 * so images_root/sha256/<hex>/ is either absent or whole; a second import of the same
 * tree finds it and drops its copy. */
#include "exec/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct image_dir {
    char *path;
    mode_t mode;
} image_dir;

typedef struct image_ctx {
    const char *tmp;
    lt_hash *digest;
    lt_hash *content;
    image_dir *dirs;
    size_t n_dirs;
} image_ctx;

static void add_record(image_ctx *c, const char *rel, char type, mode_t mode, uint64_t size,
                       const uint8_t content_sha[32])
{
    char hex[65], tail[128];
    lt_hex_encode(hex, content_sha, 32);
    int n = snprintf(tail, sizeof tail, "%c %o %llu %s\n", type, (unsigned)(mode & 07777),
                     (unsigned long long)size, hex);
    lt_hash_update(c->digest, rel, strlen(rel) + 1);
    lt_hash_update(c->digest, tail, (size_t)n);
}

static int copy_file(image_ctx *c, const char *src, const char *dst, const struct stat *st,
                     uint8_t sha[32], lt_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return lt_err_set(err, LT_EIO, "cannot open %s: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return lt_err_set(err, LT_EIO, "cannot create %s: %s", dst, strerror(errno));
    }
    lt_hash_reset(c->content);
    char chunk[65536];
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = lt_err_set(err, LT_EIO, "read of %s failed: %s", src, strerror(errno));
        if (n <= 0) break;
        lt_hash_update(c->content, chunk, (size_t)n);
        total += (uint64_t)n;
        for (ssize_t off = 0; !rc && off < n;) {
            ssize_t w = write(out, chunk + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0)
                rc = lt_err_set(err, LT_EIO, "write to %s failed: %s", dst, strerror(errno));
            else
                off += w;
        }
        if (rc) break;
    }
    if (!rc && total != (uint64_t)st->st_size)
        rc = lt_err_set(err, LT_EIO, "%s changed while it was being imported", src);
    if (!rc && (fchmod(out, st->st_mode & 0777) != 0 || fsync(out) != 0))
        rc = lt_err_set(err, LT_EIO, "cannot finish %s: %s", dst, strerror(errno));
    close(in);
    close(out);
    lt_hash_final(c->content, sha);
    return rc;
}

static int import_one(void *ctx, const char *rel, const char *path, const struct stat *st,
                      lt_err *err)
{
    image_ctx *c = ctx;
    char *dst = lt_xasprintf("%s/%s", c->tmp, rel);
    uint8_t sha[32];
    int rc = 0;
    if (S_ISREG(st->st_mode)) {
        rc = copy_file(c, path, dst, st, sha, err);
        if (!rc) add_record(c, rel, 'f', st->st_mode & 0777, (uint64_t)st->st_size, sha);
    } else if (S_ISDIR(st->st_mode)) {
        if (mkdir(dst, 0700) != 0)
            rc = lt_err_set(err, LT_EIO, "cannot create %s: %s", dst, strerror(errno));
        else {
            /* Modes are set once the children are in: a read-only directory would
             * refuse them. */
            c->dirs = lt_xrealloc(c->dirs, (c->n_dirs + 1) * sizeof *c->dirs);
            c->dirs[c->n_dirs++] = (image_dir){lt_xstrdup(dst), st->st_mode & 0777};
            lt_sha256("", 0, sha);
            add_record(c, rel, 'd', st->st_mode & 0777, 0, sha);
        }
    } else if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            rc = lt_err_set(err, LT_EIO, "cannot read link %s: %s", path, strerror(errno));
        else {
            target[n] = '\0';
            if (!lt_path_link_inside(rel, target))
                rc = lt_err_set(err, LT_EINVAL,
                                "image entry '%s' is a symlink to '%s', outside the image "
                                "directory",
                                rel, target);
            else if (symlink(target, dst) != 0)
                rc = lt_err_set(err, LT_EIO, "cannot create link %s: %s", dst, strerror(errno));
            else {
                lt_sha256(target, (size_t)n, sha);
                add_record(c, rel, 'l', 0777, (uint64_t)n, sha);
            }
        }
    } else {
        rc =
            lt_err_set(err, LT_EINVAL, "image entry '%s' is not a file, directory or symlink", rel);
    }
    free(dst);
    return rc;
}

static bool executable_at_top(const char *src_dir, const char *name)
{
    char *path = lt_xasprintf("%s/%s", src_dir, name);
    struct stat st;
    bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
    free(path);
    return ok;
}

/* Sets the recorded directory modes, children before parents, and syncs each. */
static int finish_dirs(image_ctx *c, lt_err *err)
{
    int rc = 0;
    for (size_t i = c->n_dirs; i-- > 0;) {
        if (!rc) rc = lt_fsync_dir(c->dirs[i].path, err);
        if (!rc && chmod(c->dirs[i].path, c->dirs[i].mode) != 0)
            rc = lt_err_set(err, LT_EIO, "cannot set the mode of %s: %s", c->dirs[i].path,
                            strerror(errno));
    }
    return rc;
}

static int publish(image_ctx *c, const char *store, const char *final, lt_err *err)
{
    struct stat st;
    /* Checked before the modes are set, so the copy is still ours to remove. */
    if (stat(final, &st) == 0 && S_ISDIR(st.st_mode)) return lt_rm_rf(c->tmp, err);
    int rc = finish_dirs(c, err);
    if (rc) return rc;
    const char *tmp = c->tmp;
    if (rename(tmp, final) != 0) {
        /* Another import of the same tree won the race: its copy is the same. */
        if (errno == ENOTEMPTY || errno == EEXIST) return lt_rm_rf(tmp, err);
        return lt_err_set(err, LT_EIO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
    }
    return lt_fsync_dir(store, err);
}

int lt_exec_image_import(const char *images_root, const char *src_dir, char **digest,
                         char **stored_path, lt_err *err)
{
    *digest = *stored_path = NULL;
    struct stat st;
    if (stat(src_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lt_err_set(err, LT_EINVAL, "image source %s is not a directory", src_dir);
    if (!executable_at_top(src_dir, "train") && !executable_at_top(src_dir, "serve"))
        return lt_err_set(err, LT_EINVAL,
                          "image source %s has no executable 'train' or 'serve' at its top "
                          "(SageMaker starts a container with `train` or `serve`)",
                          src_dir);
    char *store = lt_xasprintf("%s/sha256", images_root);
    int rc = lt_mkdir_p(store, 0755, err);
    char token[17];
    lt_random_token(token, 16, false);
    char *tmp = lt_xasprintf("%s/.tmp-%s", store, token);
    if (!rc && mkdir(tmp, 0700) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot create %s: %s", tmp, strerror(errno));
    image_ctx c = {tmp, lt_hash_new(LT_HASH_SHA256), lt_hash_new(LT_HASH_SHA256), NULL, 0};
    if (!rc) {
        c.dirs = lt_xmalloc(sizeof *c.dirs);
        c.dirs[c.n_dirs++] = (image_dir){lt_xstrdup(tmp), st.st_mode & 0777};
        rc = lt_walk_tree(src_dir, import_one, &c, err);
    }
    char *final = NULL;
    if (!rc) {
        uint8_t sum[32];
        char hex[65];
        lt_hash_final(c.digest, sum);
        lt_hex_encode(hex, sum, 32);
        final = lt_xasprintf("%s/%s", store, hex);
        rc = publish(&c, store, final, err);
        if (!rc) {
            *digest = lt_xasprintf("sha256:%s", hex);
            *stored_path = final;
            final = NULL;
        }
    }
    if (rc) lt_rm_rf(tmp, NULL);
    for (size_t i = 0; i < c.n_dirs; i++)
        free(c.dirs[i].path);
    free(c.dirs);
    lt_hash_free(c.digest);
    lt_hash_free(c.content);
    free(final);
    free(tmp);
    free(store);
    return rc;
}
