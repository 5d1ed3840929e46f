/* pack: a directory <-> a gzip tar (SageMaker's model.tar.gz and sourcedir.tar.gz).
 *
 * Written as POSIX pax (pax_restricted: plain ustar headers unless a name or size needs
 * an extended header) through gzip, members relative to the directory with no "./", in
 * the sorted walk's order, owner 0:0. Read: any tar flavour libarchive knows, behind
 * any filter (gzip, bzip2, xz, zstd or none). Extraction checks each member's name and
 * link target before anything is written, and libarchive's SECURE_NODOTDOT and
 * SECURE_SYMLINKS guard against writing through a link. */
#include "blob/blob.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pack_ctx {
    struct archive *a;
    const char *tar_path;
} pack_ctx;

static int write_file_data(pack_ctx *p, const char *path, const struct stat *st, lt_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return lt_err_set(err, LT_EIO, "cannot open %s: %s", path, strerror(errno));
    char chunk[65536];
    off_t left = st->st_size;
    int rc = 0;
    while (!rc && left > 0) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            rc = lt_err_set(err, LT_EIO, "read of %s failed: %s", path, strerror(errno));
        else if (n == 0)
            rc = lt_err_set(err, LT_EIO, "%s shrank while it was being packed", path);
        else {
            if ((off_t)n > left) n = (ssize_t)left; /* grew meanwhile: keep the stat size */
            if (archive_write_data(p->a, chunk, (size_t)n) != n)
                rc = lt_err_set(err, LT_EIO, "cannot write %s: %s", p->tar_path,
                                archive_error_string(p->a));
            left -= n;
        }
    }
    close(fd);
    return rc;
}

static int pack_one(void *ctx, const char *rel, const char *path, const struct stat *st,
                    lt_err *err)
{
    pack_ctx *p = ctx;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode)) {
        lt_log_debug("pack: skipping %s (not a file, directory or symlink)", path);
        return 0;
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_stat(e, st);
    archive_entry_set_pathname(e, rel);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_nlink(e, 1); /* hard links are stored as separate files */
    archive_entry_set_perm(e, st->st_mode & 0777);
    int rc = 0;
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            rc = lt_err_set(err, LT_EIO, "cannot read link %s: %s", path, strerror(errno));
        else {
            target[n] = '\0';
            archive_entry_set_symlink(e, target);
            archive_entry_set_size(e, 0);
        }
    } else if (S_ISDIR(st->st_mode)) {
        archive_entry_set_size(e, 0);
    }
    if (!rc && archive_write_header(p->a, e) != ARCHIVE_OK)
        rc = lt_err_set(err, LT_EIO, "cannot write member %s to %s: %s", rel, p->tar_path,
                        archive_error_string(p->a));
    if (!rc && S_ISREG(st->st_mode)) rc = write_file_data(p, path, st, err);
    archive_entry_free(e);
    return rc;
}

int lt_blob_pack_dir(const char *dir, const char *tar_gz_path, lt_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lt_err_set(err, LT_EINVAL, "%s is not a directory", dir);
    /* Written beside the target and renamed, so a reader never sees half an archive. */
    char *tmp = lt_xasprintf("%s.tmp.%d", tar_gz_path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = lt_err_set(err, LT_EIO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    struct archive *a = archive_write_new();
    int rc = 0;
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) < ARCHIVE_WARN ||
        archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK)
        rc = lt_err_set(err, LT_EIO, "cannot start %s: %s", tar_gz_path, archive_error_string(a));
    pack_ctx p = {a, tar_gz_path};
    if (!rc) rc = lt_walk_tree(dir, pack_one, &p, err);
    if (!rc && archive_write_close(a) != ARCHIVE_OK)
        rc = lt_err_set(err, LT_EIO, "cannot finish %s: %s", tar_gz_path, archive_error_string(a));
    archive_write_free(a);
    if (!rc && fsync(fd) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot sync %s: %s", tmp, strerror(errno));
    close(fd);
    if (!rc && rename(tmp, tar_gz_path) != 0)
        rc = lt_err_set(err, LT_EIO, "cannot rename %s to %s: %s", tmp, tar_gz_path,
                        strerror(errno));
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}

/* The member name with leading "./" removed ("./" or "." alone gives ""). */
static const char *strip_dot_slash(const char *name)
{
    while (name[0] == '.' && name[1] == '/') {
        name += 2;
        while (*name == '/')
            name++;
    }
    return strcmp(name, ".") == 0 ? "" : name;
}

static int check_member(struct archive_entry *e, const char *name, lt_err *err)
{
    const char *raw = archive_entry_pathname(e);
    if (!raw || raw[0] == '/' || !lt_path_rel_safe(name))
        return lt_err_set(err, LT_EINVAL,
                          "archive member '%s' is refused: absolute or containing '..'",
                          raw ? raw : "(no name)");
    const char *hardlink = archive_entry_hardlink(e);
    if (hardlink && (hardlink[0] == '/' || !lt_path_rel_safe(strip_dot_slash(hardlink))))
        return lt_err_set(err, LT_EINVAL, "archive member '%s' is refused: hard link to '%s'", raw,
                          hardlink);
    if (hardlink) return 0;
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
        const char *target = archive_entry_symlink(e);
        if (!lt_path_link_inside(name, target))
            return lt_err_set(err, LT_EINVAL,
                              "archive member '%s' is refused: symlink to '%s' points outside "
                              "the directory",
                              raw, target ? target : "");
        return 0;
    }
    if (type != AE_IFREG && type != AE_IFDIR)
        return lt_err_set(err, LT_EINVAL,
                          "archive member '%s' is refused: device files, fifos and sockets "
                          "are not extracted",
                          raw);
    return 0;
}

static int copy_data(struct archive *in, struct archive *out, const char *member, lt_err *err)
{
    for (;;) {
        const void *block;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(in, &block, &size, &offset);
        if (r == ARCHIVE_EOF) return 0;
        if (r < ARCHIVE_WARN)
            return lt_err_set(err, LT_EINVAL, "cannot read member '%s': %s", member,
                              archive_error_string(in));
        if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN)
            return lt_err_set(err, LT_EIO, "cannot write member '%s': %s", member,
                              archive_error_string(out));
    }
}

static int extract_all(struct archive *in, struct archive *out, const char *root,
                       const char *archive_path, lt_err *err)
{
    int rc = 0;
    while (!rc) {
        struct archive_entry *e;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN)
            return lt_err_set(err, LT_EINVAL, "cannot read %s: %s", archive_path,
                              archive_error_string(in));
        const char *raw = archive_entry_pathname(e);
        char *member = lt_xstrdup(raw ? raw : "");
        const char *name = strip_dot_slash(member);
        if (!name[0] && archive_entry_filetype(e) == AE_IFDIR) {
            free(member);
            continue; /* "./" itself: the directory we extract into */
        }
        rc = check_member(e, name, err);
        if (!rc) {
            char *full = lt_xasprintf("%s/%s", root, name);
            archive_entry_set_pathname(e, full);
            free(full);
            const char *hardlink = archive_entry_hardlink(e);
            if (hardlink) {
                char *full_link = lt_xasprintf("%s/%s", root, strip_dot_slash(hardlink));
                archive_entry_set_hardlink(e, full_link);
                free(full_link);
            }
            archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
            if (archive_write_header(out, e) < ARCHIVE_WARN)
                rc = lt_err_set(err, LT_EINVAL, "cannot extract member '%s': %s", member,
                                archive_error_string(out));
            else if (archive_entry_size(e) > 0)
                rc = copy_data(in, out, member, err);
            if (!rc && archive_write_finish_entry(out) < ARCHIVE_WARN)
                rc = lt_err_set(err, LT_EIO, "cannot finish member '%s': %s", member,
                                archive_error_string(out));
        }
        free(member);
    }
    return rc;
}

int lt_blob_unpack(const char *archive_path, const char *dir, lt_err *err)
{
    int rc = lt_mkdir_p(dir, 0755, err);
    if (rc) return rc;
    /* SECURE_SYMLINKS refuses any symlink on the way, the directory's own included; the
     * real path has none. */
    char *root = realpath(dir, NULL);
    if (!root) return lt_err_set(err, LT_EIO, "cannot resolve %s: %s", dir, strerror(errno));
    struct archive *in = archive_read_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    struct archive *out = archive_write_disk_new();
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    if (archive_read_open_filename(in, archive_path, 65536) != ARCHIVE_OK) {
        int code = archive_errno(in) == ENOENT ? LT_ENOTFOUND : LT_EINVAL;
        rc = lt_err_set(err, code, "cannot open archive %s: %s", archive_path,
                        archive_error_string(in));
    }
    if (!rc) rc = extract_all(in, out, root, archive_path, err);
    if (archive_write_close(out) != ARCHIVE_OK && !rc)
        rc = lt_err_set(err, LT_EIO, "cannot finish extracting into %s: %s", dir,
                        archive_error_string(out));
    archive_write_free(out);
    archive_read_free(in);
    free(root);
    return rc;
}

int lt_blob_gunzip(const void *data, size_t len, lt_buf *out, lt_err *err)
{
    struct archive *in = archive_read_new();
    archive_read_support_filter_gzip(in);
    archive_read_support_format_raw(in);
    struct archive_entry *entry;
    int rc = 0;
    /* The raw format takes any bytes: insist on the gzip filter having been found. */
    if (archive_read_open_memory(in, data, len) != ARCHIVE_OK ||
        archive_read_next_header(in, &entry) != ARCHIVE_OK || archive_filter_count(in) < 2 ||
        archive_filter_code(in, 0) != ARCHIVE_FILTER_GZIP)
        rc = lt_err_set(err, LT_EINVAL, "not gzip data (%s)",
                        archive_error_string(in) ? archive_error_string(in) : "no gzip header");
    char buf[1 << 16];
    la_ssize_t n;
    while (!rc && (n = archive_read_data(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            rc = lt_err_set(err, LT_EINVAL, "bad gzip data: %s", archive_error_string(in));
            break;
        }
        rc = lt_buf_append(out, buf, (size_t)n, err);
    }
    archive_read_free(in);
    return rc;
}
