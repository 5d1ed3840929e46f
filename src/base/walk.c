/* The sorted directory walk (used by the tar packer and image digests), and the path checks
 * that keep members inside a root: the same tree always gives the same order,
 * whatever order readdir returns, so archives and image digests are reproducible. */
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static int walk_dir(const char *path, const char *rel, lt_walk_fn fn, void *ctx, lt_err *err)
{
    struct dirent **names = NULL;
    int n = scandir(path, &names, skip_dots, by_name);
    if (n < 0)
        return lt_err_set(err, LT_EIO, "cannot read directory %s: %s", path, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (!rc) {
            char *child = lt_xasprintf("%s/%s", path, names[i]->d_name);
            char *child_rel = rel[0] ? lt_xasprintf("%s/%s", rel, names[i]->d_name)
                                     : lt_xstrdup(names[i]->d_name);
            struct stat st;
            if (lstat(child, &st) != 0)
                rc = lt_err_set(err, LT_EIO, "cannot stat %s: %s", child, strerror(errno));
            if (!rc) rc = fn(ctx, child_rel, child, &st, err);
            if (!rc && S_ISDIR(st.st_mode)) rc = walk_dir(child, child_rel, fn, ctx, err);
            free(child);
            free(child_rel);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int lt_walk_tree(const char *root, lt_walk_fn fn, void *ctx, lt_err *err)
{
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return lt_err_set(err, LT_EINVAL, "%s is not a directory", root);
    return walk_dir(root, "", fn, ctx, err);
}

bool lt_path_rel_safe(const char *rel)
{
    if (!rel || !rel[0] || rel[0] == '/') return false;
    const char *p = rel;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return false;
        if (!slash) break;
        p = slash + 1;
    }
    return true;
}

bool lt_path_link_inside(const char *rel, const char *target)
{
    if (!target || !target[0] || target[0] == '/') return false;
    /* Depth of the link's parent directory, then apply the target's components. A ".."
     * after a named component is refused: the name may itself be a link, and the kernel
     * resolves "link/.." from where the link points, not lexically. */
    int depth = 0;
    bool named = false;
    for (const char *p = rel; *p; p++)
        if (*p == '/') depth++;
    const char *p = target;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (named || --depth < 0) return false;
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            depth++;
            named = true;
        }
        if (!slash) break;
        p = slash + 1;
    }
    return true;
}
