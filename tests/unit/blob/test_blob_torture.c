/* blob torture: a fixed sequence of writes (put, overwrite, copy, multipart, delete) runs
 * with the Nth call of one I/O step failing, for every step and every N until the
 * sequence no longer reaches N. Each operation either succeeds or fails cleanly; after
 * a reopen every key holds exactly what the successful operations left, and no file is
 * left over. */
#include "blob_test_util.h"

#define MIB (1u << 20)

enum { K_A, K_B, K_C, K_D, K_M, N_KEYS };
static const char *const key_names[N_KEYS] = {"a", "b", "c", "d", "m"};

typedef struct model {
    uint32_t seed[N_KEYS]; /* 0: absent */
    size_t len[N_KEYS];
} model;

static int put_pattern(lt_blob *blob, int k, uint32_t seed, size_t len, model *m)
{
    uint8_t *data = malloc(len);
    fill_pattern(data, len, seed);
    lt_err err = {0};
    int rc = put_chunks(blob, "bkt", key_names[k], data, len, MIB, NULL, NULL, &err);
    free(data);
    if (!rc) {
        m->seed[k] = seed;
        m->len[k] = len;
    }
    return rc;
}

static int multipart(lt_blob *blob, model *m)
{
    char id[LT_BLOB_UPLOAD_ID_SIZE];
    lt_err err = {0};
    int rc = lt_blob_upload_create(blob, "bkt", "m", NULL, id, &err);
    if (rc) return rc;
    size_t l1 = 5 * MIB, l2 = 3000;
    uint8_t *data = malloc(l1 + l2);
    fill_pattern(data, l1 + l2, 99);
    char e1[LT_BLOB_ETAG_SIZE], e2[LT_BLOB_ETAG_SIZE];
    lt_blob_writer *w = NULL;
    lt_blob_object part = {0};
    rc = lt_blob_part_writer_open(blob, "bkt", "m", id, 1, &w, &err);
    if (!rc) rc = lt_blob_writer_write(w, data, l1, &err);
    if (!rc)
        rc = lt_blob_writer_commit(w, &part, &err);
    else
        lt_blob_writer_abort(w);
    memcpy(e1, part.etag, sizeof e1);
    lt_blob_object_clear(&part);
    if (!rc) rc = lt_blob_part_writer_open(blob, "bkt", "m", id, 2, &w, &err);
    if (!rc) {
        rc = lt_blob_writer_write(w, data + l1, l2, &err);
        if (!rc)
            rc = lt_blob_writer_commit(w, &part, &err);
        else
            lt_blob_writer_abort(w);
    }
    memcpy(e2, part.etag, sizeof e2);
    lt_blob_object_clear(&part);
    if (!rc) {
        lt_blob_part_ref refs[] = {{1, e1}, {2, e2}};
        rc = lt_blob_upload_complete(blob, "bkt", "m", id, refs, 2, NULL, NULL, &err);
    }
    if (rc) {
        lt_err ignored = {0};
        lt_blob_upload_abort(blob, "bkt", "m", id, &ignored);
    } else {
        m->seed[K_M] = 99;
        m->len[K_M] = l1 + l2;
    }
    free(data);
    return rc;
}

/* Returns how many operations failed. */
static int run_sequence(lt_blob *blob, model *m)
{
    int failed = 0;
    lt_err err = {0};
    failed += put_pattern(blob, K_C, 3, 6 * MIB + 5, m) != 0;
    failed += put_pattern(blob, K_A, 11, 2 * MIB, m) != 0;
    if (lt_blob_object_copy(blob, "bkt", "b", "bkt", "d", NULL, NULL, &err) == 0) {
        m->seed[K_D] = m->seed[K_B];
        m->len[K_D] = m->len[K_B];
    } else {
        failed++;
    }
    failed += multipart(blob, m) != 0;
    if (lt_blob_object_delete(blob, "bkt", "b", &err) == 0)
        m->seed[K_B] = 0;
    else
        failed++;
    return failed;
}

static bool matches(lt_blob *blob, const model *m, char *why, size_t why_len)
{
    for (int k = 0; k < N_KEYS; k++) {
        size_t len = 0;
        char *got = get_all(blob, "bkt", key_names[k], &len);
        if (!m->seed[k]) {
            if (got) snprintf(why, why_len, "%s exists but should not", key_names[k]);
            free(got);
            if (got) return false;
            continue;
        }
        uint8_t *want = malloc(m->len[k]);
        fill_pattern(want, m->len[k], m->seed[k]);
        bool ok = got && len == m->len[k] && memcmp(got, want, len) == 0;
        if (!ok) snprintf(why, why_len, "%s does not hold version %u", key_names[k], m->seed[k]);
        free(want);
        free(got);
        if (!ok) return false;
    }
    return true;
}

static void every_failure_point_is_clean(void)
{
    static const lt_blob_fault_op ops[] = {LT_BLOB_FAULT_WRITE, LT_BLOB_FAULT_SYNC,
                                           LT_BLOB_FAULT_LINK, LT_BLOB_FAULT_COMMIT,
                                           LT_BLOB_FAULT_COPY};
    static const char *const op_names[] = {"write", "sync", "link", "commit", "copy"};
    int runs = 0;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        for (unsigned nth = 1; nth < 200; nth++) {
            char *root;
            lt_blob *blob = fresh_store("blob-torture", &root);
            model m = {0};
            if (put_pattern(blob, K_A, 1, 1000, &m) || put_pattern(blob, K_B, 2, 3 * MIB, &m))
                abort();
            lt_blob_fault_inject(blob, ops[o], nth);
            int failed = run_sequence(blob, &m);
            lt_blob_fault_inject(blob, ops[o], 0);
            lt_blob_close(blob);
            blob = open_store(root);
            char why[256] = "";
            size_t objects = 0;
            for (int k = 0; k < N_KEYS; k++)
                objects += m.seed[k] != 0;
            if (!matches(blob, &m, why, sizeof why))
                LT_FAIL_AT("%s #%u: %s", op_names[o], nth, why);
            if (tmp_files(root) != 0 || data_files(root) != objects)
                LT_FAIL_AT("%s #%u: %zu tmp and %zu data files for %zu objects", op_names[o], nth,
                           tmp_files(root), data_files(root), objects);
            lt_blob_close(blob);
            lt_rm_rf(root, NULL);
            free(root);
            runs++;
            if (failed == 0) break; /* the sequence no longer reaches the nth call */
        }
    }
    fprintf(stderr, "    %d runs\n", runs);
}

int main(void)
{
    LT_RUN(every_failure_point_is_clean);
    return lt_test_summary();
}
