/* Listing a bucket page by page with range queries on the (bucket, key) primary key.
 *
 * Keys under a prefix P are exactly the range [P, succ(P)), where succ(P) drops P's
 * trailing 0xFF bytes and increments its last byte (no upper bound when nothing is
 * left). With a delimiter, the first key of a group names its common prefix C; the
 * listing then seeks straight to succ(C), so a prefix holding a million keys costs one
 * index seek, not a million rows. Entries come out in byte order, as S3 lists them. */
#include "blob/blob_internal.h"

#include <stdlib.h>
#include <string.h>

enum { BATCH_ROWS = 1000 };

/* The smallest string greater than every string starting with p; false when none. */
bool lt_blob__successor(const char *p, size_t len, char **out, size_t *out_len)
{
    while (len > 0 && (unsigned char)p[len - 1] == 0xFF)
        len--;
    if (len == 0) return false;
    char *s = lt_xstrndup(p, len);
    s[len - 1] = (char)((unsigned char)s[len - 1] + 1);
    *out = s;
    *out_len = len;
    return true;
}

typedef struct page {
    lt_blob_list_result *res;
    size_t cap_objects, cap_prefixes;
    size_t count;
    char *last; /* borrowed: the last entry added */
} page;

static void add_prefix(page *pg, char *prefix)
{
    lt_blob_list_result *res = pg->res;
    if (res->n_prefixes == pg->cap_prefixes) {
        pg->cap_prefixes = pg->cap_prefixes ? 2 * pg->cap_prefixes : 16;
        res->prefixes = lt_xrealloc(res->prefixes, pg->cap_prefixes * sizeof *res->prefixes);
    }
    res->prefixes[res->n_prefixes++] = prefix;
    pg->count++;
    pg->last = prefix;
}

static lt_blob_object *add_object(page *pg)
{
    lt_blob_list_result *res = pg->res;
    if (res->n_objects == pg->cap_objects) {
        pg->cap_objects = pg->cap_objects ? 2 * pg->cap_objects : 64;
        res->objects = lt_xrealloc(res->objects, pg->cap_objects * sizeof *res->objects);
    }
    lt_blob_object *obj = &res->objects[res->n_objects++];
    memset(obj, 0, sizeof *obj);
    pg->count++;
    return obj;
}

int lt_blob__local_list(lt_blob *blob, const char *bucket, const lt_blob_list_params *params,
                        lt_blob_list_result *out, lt_err *err)
{
    lt_blob__local *loc = lt_blob__local_of(blob);
    const char *prefix = params->prefix ? params->prefix : "";
    size_t plen = strlen(prefix);
    const char *delim = params->delimiter && *params->delimiter ? params->delimiter : NULL;
    size_t dlen = delim ? strlen(delim) : 0;
    const char *after = params->start_after && *params->start_after ? params->start_after : NULL;
    size_t max = params->max_keys;

    lt_blob__conn *conn = NULL;
    int rc = lt_blob__conn_acquire(loc, &conn, err);
    if (rc) return rc;
    rc = lt_blob__bucket_check(conn, bucket, err);
    if (rc || max == 0) {
        lt_blob__conn_release(loc, conn);
        return rc;
    }

    char *upper = NULL;
    size_t upper_len = 0;
    bool has_upper = lt_blob__successor(prefix, plen, &upper, &upper_len);
    char *lower;
    bool inclusive;
    if (after && strcmp(after, prefix) >= 0) {
        lower = lt_xstrdup(after);
        inclusive = false;
    } else {
        lower = lt_xstrdup(prefix);
        inclusive = true;
    }
    page pg = {.res = out};
    bool finished = after && has_upper && strcmp(after, upper) >= 0; /* past the prefix */
    while (!rc && !finished) {
        sqlite3_stmt *st =
            lt_blob__stmt(conn, inclusive ? LT_BLOB__SQL_LIST_FROM : LT_BLOB__SQL_LIST_AFTER);
        if (!st) {
            rc = lt_blob__sql_fail(conn, "prepare", err);
            break;
        }
        size_t want = max - pg.count + 1;
        int limit = want > BATCH_ROWS ? BATCH_ROWS : (int)want;
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, lower, -1, SQLITE_TRANSIENT);
        if (has_upper)
            sqlite3_bind_text(st, 3, upper, (int)upper_len, SQLITE_STATIC);
        else
            sqlite3_bind_zeroblob(st, 3, 0);
        sqlite3_bind_int(st, 4, limit);
        int rows = 0, step;
        bool reseek = false;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            rows++;
            const char *key = (const char *)sqlite3_column_text(st, 0);
            size_t klen = (size_t)sqlite3_column_bytes(st, 0);
            if (pg.count == max) {
                out->truncated = true;
                finished = true;
                break;
            }
            const char *hit =
                delim && klen > plen ? memmem(key + plen, klen - plen, delim, dlen) : NULL;
            if (hit) {
                char *cp = lt_xstrndup(key, (size_t)(hit - key) + dlen);
                size_t cplen = (size_t)(hit - key) + dlen;
                char *next = NULL;
                size_t next_len = 0;
                bool more = lt_blob__successor(cp, cplen, &next, &next_len);
                /* A group at or before start_after was listed already. */
                if (after && strcmp(cp, after) <= 0)
                    free(cp);
                else
                    add_prefix(&pg, cp);
                free(lower);
                lower = next;
                inclusive = true;
                if (!more) finished = true;
                reseek = true;
                break;
            }
            lt_blob__row_object(st, 0, add_object(&pg));
            pg.last = out->objects[out->n_objects - 1].key;
            free(lower);
            lower = lt_xstrndup(key, klen);
            inclusive = false;
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE) rc = lt_blob__sql_fail(conn, "listing", err);
        sqlite3_reset(st);
        if (!reseek && rows < limit) finished = true;
    }
    if (!rc && out->truncated && pg.last) out->next_start_after = lt_xstrdup(pg.last);
    free(lower);
    free(upper);
    lt_blob__conn_release(loc, conn);
    if (rc) lt_blob_list_result_free(out);
    return rc;
}
