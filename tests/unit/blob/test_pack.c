/* pack: directory <-> .tar.gz round trips (nested, empty, large, executable files,
 * symlinks), interoperation with Python's tarfile both ways, and refused members. */
#include "blob/blob.h"
#include "fs_test_util.h"

#include <archive.h>
#include <archive_entry.h>

static void make_tree(const char *dir, char **big_out, size_t *big_len)
{
    put_text(dir, "model.json", "{\"trees\": 3}\n");
    put_text(dir, "sub/x.bin", "xx");
    put_text(dir, "sub/deeper/y.txt", "y");
    put_file(dir, "empty", "", 0, 0644);
    put_file(dir, "run.sh", "#!/bin/sh\necho hi\n", 18, 0755);
    size_t n = 5u << 20;
    char *big = lt_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)((i * 2654435761u) >> 13);
    put_file(dir, "sub/big.bin", big, n, 0644);
    char *link = lt_xasprintf("%s/sub/link", dir);
    if (symlink("x.bin", link) != 0) abort();
    free(link);
    *big_out = big;
    *big_len = n;
}

static void pack_round_trip_keeps_content_modes_and_links(void)
{
    char *src = lt_test_tmpdir("pack-src");
    char *dst = lt_test_tmpdir("pack-dst");
    char *big;
    size_t big_len;
    make_tree(src, &big, &big_len);
    char *tgz = lt_xasprintf("%s.tar.gz", src);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_pack_dir(src, tgz, &err), ==, 0);
    LT_CHECK_INT(lt_blob_unpack(tgz, dst, &err), ==, 0);
    if (err.code) LT_FAIL_AT("%s", err.msg);
    char *s = get_file(dst, "model.json", NULL);
    LT_CHECK_STR(s, "{\"trees\": 3}\n");
    free(s);
    s = get_file(dst, "sub/deeper/y.txt", NULL);
    LT_CHECK_STR(s, "y");
    free(s);
    size_t len = 99;
    s = get_file(dst, "empty", &len);
    LT_CHECK(s != NULL);
    LT_CHECK_INT(len, ==, 0);
    free(s);
    s = get_file(dst, "sub/big.bin", &len);
    LT_CHECK_INT(len, ==, big_len);
    LT_CHECK(s && memcmp(s, big, big_len) == 0);
    free(s);
    LT_CHECK_INT(path_mode(dst, "run.sh") & 0777, ==, 0755);
    LT_CHECK_INT(path_mode(dst, "model.json") & 0111, ==, 0);
    LT_CHECK(S_ISLNK(path_mode(dst, "sub/link")));
    s = get_file(dst, "sub/link", NULL);
    LT_CHECK_STR(s, "xx");
    free(s);
    free(big);
    free(tgz);
    free(src);
    free(dst);
}

static void pack_empty_dir_gives_valid_empty_archive(void)
{
    char *src = lt_test_tmpdir("pack-empty");
    char *dst = lt_test_tmpdir("pack-empty-dst");
    char *tgz = lt_xasprintf("%s.tar.gz", src);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_pack_dir(src, tgz, &err), ==, 0);
    LT_CHECK_INT(lt_blob_unpack(tgz, dst, &err), ==, 0);
    char *cmd = lt_xasprintf("/usr/bin/python3 -c \"import tarfile,sys; "
                             "sys.exit(len(tarfile.open('%s').getnames()))\"",
                             tgz);
    LT_CHECK_INT(system(cmd), ==, 0);
    free(cmd);
    free(tgz);
    free(src);
    free(dst);
}

static void pack_is_sorted_and_python_reads_it(void)
{
    char *src = lt_test_tmpdir("pack-py");
    put_text(src, "sub/x.bin", "x");
    put_text(src, "model.json", "{}");
    put_text(src, "a.txt", "a");
    char *tgz = lt_xasprintf("%s.tar.gz", src);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_pack_dir(src, tgz, &err), ==, 0);
    /* The names file goes in after packing, so it is not a member. */
    char *out = lt_xasprintf("%s/names", src);
    char *cmd = lt_xasprintf("/usr/bin/python3 -c \"import tarfile; "
                             "print(','.join(tarfile.open('%s').getnames()))\" > '%s'",
                             tgz, out);
    LT_CHECK_INT(system(cmd), ==, 0);
    char *names = get_file(src, "names", NULL);
    LT_CHECK_STR(names, "a.txt,model.json,sub,sub/x.bin\n");
    free(names);
    free(cmd);
    free(out);
    free(tgz);
    free(src);
}

static void unpack_reads_python_made_archives(void)
{
    char *src = lt_test_tmpdir("py-src");
    char *dst = lt_test_tmpdir("py-dst");
    put_text(src, "model.json", "{\"k\": 1}");
    put_file(src, "code/train", "#!/bin/sh\n", 10, 0755);
    char *tgz = lt_xasprintf("%s.tar.gz", src);
    /* arcname "." gives members "./model.json", as `tar czf x.tgz -C dir .` does. */
    char *cmd = lt_xasprintf("/usr/bin/python3 -c \"import tarfile; "
                             "t = tarfile.open('%s', 'w:gz'); t.add('%s', arcname='.'); "
                             "t.close()\"",
                             tgz, src);
    LT_CHECK_INT(system(cmd), ==, 0);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_unpack(tgz, dst, &err), ==, 0);
    if (err.code) LT_FAIL_AT("%s", err.msg);
    char *s = get_file(dst, "model.json", NULL);
    LT_CHECK_STR(s, "{\"k\": 1}");
    free(s);
    LT_CHECK_INT(path_mode(dst, "code/train") & 0777, ==, 0755);
    /* A plain (uncompressed) tar too. */
    char *tar = lt_xasprintf("%s.tar", src);
    char *dst2 = lt_xasprintf("%s/plain", dst);
    free(cmd);
    cmd = lt_xasprintf("/usr/bin/python3 -c \"import tarfile; "
                       "t = tarfile.open('%s', 'w'); t.add('%s/model.json', arcname='m.json'); "
                       "t.close()\"",
                       tar, src);
    LT_CHECK_INT(system(cmd), ==, 0);
    LT_CHECK_INT(lt_blob_unpack(tar, dst2, &err), ==, 0);
    LT_CHECK(path_exists(dst2, "m.json"));
    free(dst2);
    free(tar);
    free(cmd);
    free(tgz);
    free(src);
    free(dst);
}

typedef struct member {
    const char *name;
    mode_t type;
    const char *link; /* symlink or hard link target */
    bool hard;
} member;

static char *write_archive(const char *dir, const member *members, size_t n)
{
    char *path = lt_xasprintf("%s/evil.tar.gz", dir);
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK) abort();
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, members[i].name);
        archive_entry_set_filetype(e, members[i].type);
        archive_entry_set_perm(e, 0644);
        if (members[i].hard)
            archive_entry_set_hardlink(e, members[i].link);
        else if (members[i].link)
            archive_entry_set_symlink(e, members[i].link);
        bool data = members[i].type == AE_IFREG && !members[i].hard;
        archive_entry_set_size(e, data ? 4 : 0);
        if (archive_write_header(a, e) != ARCHIVE_OK) abort();
        if (data) archive_write_data(a, "evil", 4);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
}

static void unpack_refuses_escaping_members(void)
{
    static const struct {
        member m[2];
        size_t n;
        const char *named;
    } cases[] = {
        {{{"../evil", AE_IFREG, NULL, false}}, 1, "../evil"},
        {{{"/abs-evil", AE_IFREG, NULL, false}}, 1, "/abs-evil"},
        {{{"ok/../../evil", AE_IFREG, NULL, false}}, 1, "ok/../../evil"},
        {{{"ln", AE_IFLNK, "../outside", false}}, 1, "ln"},
        {{{"ln", AE_IFLNK, "/etc/passwd", false}}, 1, "ln"},
        {{{"ln", AE_IFLNK, ".", false}, {"ln2", AE_IFLNK, "ln/..", false}}, 2, "ln2"},
        {{{"hl", AE_IFREG, "../../etc/passwd", true}}, 1, "hl"},
        {{{"dev", AE_IFCHR, NULL, false}}, 1, "dev"},
        {{{"fifo", AE_IFIFO, NULL, false}}, 1, "fifo"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *scratch = lt_test_tmpdir("evil");
        char *dst = lt_xasprintf("%s/a/b/out", scratch);
        char *tgz = write_archive(scratch, cases[i].m, cases[i].n);
        lt_err err = {0};
        int rc = lt_blob_unpack(tgz, dst, &err);
        if (rc != LT_EINVAL) LT_FAIL_AT("case %zu: rc %d (%s)", i, rc, err.msg);
        char *quoted = lt_xasprintf("'%s'", cases[i].named);
        LT_CHECK_CONTAINS(err.msg, quoted);
        free(quoted);
        LT_CHECK(!path_exists(scratch, "a/b/evil"));
        LT_CHECK(!path_exists(scratch, "a/evil"));
        LT_CHECK(!path_exists(scratch, "evil"));
        LT_CHECK(!path_exists("/", "abs-evil"));
        free(tgz);
        free(dst);
        free(scratch);
    }
}

static void unpack_allows_inside_links_and_reports_missing_archive(void)
{
    char *scratch = lt_test_tmpdir("inside");
    member m[] = {{"d/f", AE_IFREG, NULL, false},
                  {"d/ln", AE_IFLNK, "../d/f", false},
                  {"top", AE_IFLNK, "d", false},
                  {"hl", AE_IFREG, "d/f", true}};
    char *tgz = write_archive(scratch, m, 4);
    char *dst = lt_xasprintf("%s/out", scratch);
    lt_err err = {0};
    LT_CHECK_INT(lt_blob_unpack(tgz, dst, &err), ==, 0);
    if (err.code) LT_FAIL_AT("%s", err.msg);
    char *s = get_file(dst, "d/ln", NULL);
    LT_CHECK_STR(s, "evil");
    free(s);
    s = get_file(dst, "hl", NULL);
    LT_CHECK_STR(s, "evil");
    free(s);
    lt_err err2 = {0};
    char *missing = lt_xasprintf("%s/nope.tar.gz", scratch);
    LT_CHECK_INT(lt_blob_unpack(missing, dst, &err2), ==, LT_ENOTFOUND);
    LT_CHECK_CONTAINS(err2.msg, "nope.tar.gz");
    put_text(scratch, "garbage.tar.gz", "this is not an archive at all, not even close......");
    char *garbage = lt_xasprintf("%s/garbage.tar.gz", scratch);
    lt_err err3 = {0};
    LT_CHECK_INT(lt_blob_unpack(garbage, dst, &err3), ==, LT_EINVAL);
    free(garbage);
    free(missing);
    free(dst);
    free(tgz);
    free(scratch);
}

int main(void)
{
    LT_RUN(pack_round_trip_keeps_content_modes_and_links);
    LT_RUN(pack_empty_dir_gives_valid_empty_archive);
    LT_RUN(pack_is_sorted_and_python_reads_it);
    LT_RUN(unpack_reads_python_made_archives);
    LT_RUN(unpack_refuses_escaping_members);
    LT_RUN(unpack_allows_inside_links_and_reports_missing_archive);
    return lt_test_summary();
}
