/* images: content-addressed import (same tree, same digest, stored once), a changed byte
 * or mode changes the digest, modes and inside symlinks kept, bad sources refused. */
#include "exec/exec.h"
#include "fs_test_util.h"

#include <dirent.h>

static void make_image(const char *dir)
{
    put_file(dir, "train", "#!/bin/sh\necho train\n", 21, 0755);
    put_text(dir, "lib/util.py", "X = 1\n");
    put_file(dir, "lib/empty", "", 0, 0644);
    char *link = lt_xasprintf("%s/lib/u.py", dir);
    if (symlink("util.py", link) != 0) abort();
    free(link);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
        else if (strncmp(de->d_name, ".tmp", 4) == 0)
            n += 100; /* a leftover temp dir */
    closedir(d);
    return n;
}

static void import(const char *root, const char *src, char **digest, char **stored)
{
    lt_err err = {0};
    int rc = lt_exec_image_import(root, src, digest, stored, &err);
    if (rc) LT_FAIL_AT("import %s: %d %s", src, rc, err.msg);
}

static void image_same_tree_same_digest_stored_once(void)
{
    char *root = lt_test_tmpdir("images");
    char *a = lt_test_tmpdir("img-a");
    char *b = lt_test_tmpdir("img-b");
    make_image(a);
    make_image(b);
    char *d1 = NULL, *p1 = NULL, *d2 = NULL, *p2 = NULL;
    import(root, a, &d1, &p1);
    import(root, b, &d2, &p2);
    LT_CHECK_STR(d1, d2);
    LT_CHECK_STR(p1, p2);
    LT_CHECK(d1 && strncmp(d1, "sha256:", 7) == 0 && strlen(d1) == 71);
    char *store = lt_xasprintf("%s/sha256", root);
    LT_CHECK_INT(count_entries(store), ==, 1);
    char *expect = lt_xasprintf("%s/%s", store, d1 ? d1 + 7 : "");
    LT_CHECK_STR(p1, expect);
    LT_CHECK_INT(path_mode(p1, "train") & 0777, ==, 0755);
    LT_CHECK_INT(path_mode(p1, "lib/util.py") & 0777, ==, 0644);
    LT_CHECK(S_ISLNK(path_mode(p1, "lib/u.py")));
    char *s = get_file(p1, "lib/u.py", NULL);
    LT_CHECK_STR(s, "X = 1\n");
    free(s);
    LT_CHECK(path_exists(p1, "lib/empty"));
    free(expect);
    free(store);
    free(d1);
    free(p1);
    free(d2);
    free(p2);
    free(a);
    free(b);
    free(root);
}

static void image_changed_byte_or_mode_changes_digest(void)
{
    char *root = lt_test_tmpdir("images-ch");
    char *a = lt_test_tmpdir("img-ch");
    make_image(a);
    char *d1 = NULL, *p1 = NULL, *d2 = NULL, *p2 = NULL, *d3 = NULL, *p3 = NULL;
    import(root, a, &d1, &p1);
    put_text(a, "lib/util.py", "X = 2\n");
    import(root, a, &d2, &p2);
    LT_CHECK(d1 && d2 && strcmp(d1, d2) != 0);
    char *path = lt_xasprintf("%s/lib/util.py", a);
    LT_CHECK_INT(chmod(path, 0755), ==, 0);
    import(root, a, &d3, &p3);
    LT_CHECK(d2 && d3 && strcmp(d2, d3) != 0);
    char *store = lt_xasprintf("%s/sha256", root);
    LT_CHECK_INT(count_entries(store), ==, 3);
    /* The first stored copy is untouched by the later imports. */
    char *s = get_file(p1, "lib/util.py", NULL);
    LT_CHECK_STR(s, "X = 1\n");
    free(s);
    free(store);
    free(path);
    free(d1);
    free(p1);
    free(d2);
    free(p2);
    free(d3);
    free(p3);
    free(a);
    free(root);
}

static void image_refuses_bad_sources(void)
{
    char *root = lt_test_tmpdir("images-bad");
    char *dir = lt_test_tmpdir("img-bad");
    char *digest = NULL, *stored = NULL;
    lt_err err = {0};
    put_text(dir, "README", "no entry point");
    LT_CHECK_INT(lt_exec_image_import(root, dir, &digest, &stored, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "no executable 'train' or 'serve'");
    /* present but not executable */
    put_file(dir, "serve", "#!/bin/sh\n", 10, 0644);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_exec_image_import(root, dir, &digest, &stored, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "'train' or 'serve'");
    /* serve alone is enough */
    put_file(dir, "serve", "#!/bin/sh\n", 10, 0755);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_exec_image_import(root, dir, &digest, &stored, &err), ==, 0);
    free(digest);
    free(stored);
    /* a symlink leaving the tree */
    char *link = lt_xasprintf("%s/passwd", dir);
    LT_CHECK_INT(symlink("/etc/passwd", link), ==, 0);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_exec_image_import(root, dir, &digest, &stored, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "'passwd'");
    char *store = lt_xasprintf("%s/sha256", root);
    LT_CHECK_INT(count_entries(store), ==, 1); /* no temp dir left behind */
    /* not a directory */
    char *file = lt_xasprintf("%s/README", dir);
    lt_err_clear(&err);
    LT_CHECK_INT(lt_exec_image_import(root, file, &digest, &stored, &err), ==, LT_EINVAL);
    LT_CHECK_CONTAINS(err.msg, "not a directory");
    free(file);
    free(store);
    free(link);
    free(dir);
    free(root);
}

int main(void)
{
    LT_RUN(image_same_tree_same_digest_stored_once);
    LT_RUN(image_changed_byte_or_mode_changes_digest);
    LT_RUN(image_refuses_bad_sources);
    return lt_test_summary();
}
