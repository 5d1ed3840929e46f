/* Private to the exec module: the sorted directory walk that pack and images share, and
 * the lexical check that a symlink stays inside its tree. */
#ifndef LT_EXEC_INTERNAL_H
#define LT_EXEC_INTERNAL_H

#include "exec/exec.h"

#include <sys/stat.h>

/* Called for each entry below the walk's root, parents before children, siblings in
 * byte order of their names. rel is the path relative to the root ("sub/x.bin"), path
 * the full path; st comes from lstat (links are not followed). A non-zero return stops
 * the walk and is returned by it. */
typedef int (*lt_exec__walk_fn)(void *ctx, const char *rel, const char *path, const struct stat *st,
                                lt_err *err);

/* Walks root (which must be a directory) depth-first in sorted order. LT_EIO when a
 * directory cannot be read. */
int lt_exec__walk(const char *root, lt_exec__walk_fn fn, void *ctx, lt_err *err);

/* Whether a relative member path is safe to create under a root: not empty, not
 * absolute, no ".." component. */
bool lt_exec__rel_path_safe(const char *rel);

/* Whether a symlink at rel (relative to a root) whose target is `target` resolves,
 * lexically, to a path inside the root. Absolute targets are outside. */
bool lt_exec__link_stays_inside(const char *rel, const char *target);

#endif
