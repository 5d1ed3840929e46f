/* List with filters, sort and keyset pagination. The SQL is assembled from the filters
 * present (each a fixed fragment with a bound parameter, never spliced input). */
#include "store/sqlite_conn.h"

#include <stdlib.h>
#include <string.h>

typedef struct bind {
    bool is_int;
    int64_t i;
    const char *s;
} bind;

enum { MAX_BINDS = 24 };

static const char *sort_column(lt_store_sort sort)
{
    switch (sort) {
    case LT_STORE_SORT_NAME: return "name_lc";
    case LT_STORE_SORT_STATUS: return "coalesce(status, '')";
    case LT_STORE_SORT_MODIFIED_TIME: return "modified_ms";
    default: return "creation_ms";
    }
}

static bool sort_is_int(lt_store_sort sort)
{
    return sort == LT_STORE_SORT_CREATION_TIME || sort == LT_STORE_SORT_MODIFIED_TIME;
}

static void add_int(bind *b, int *n, int64_t v)
{
    b[*n].is_int = true;
    b[*n].i = v;
    (*n)++;
}

static void add_text(bind *b, int *n, const char *s)
{
    b[*n].is_int = false;
    b[*n].s = s;
    (*n)++;
}

int lt_store__sqlite_list(void *impl, const lt_store_list_params *p, lt_store_resource_fn fn,
                          void *ctx, char **next_token, lt_err *err)
{
    lt_store__conn *c = lt_store__conn_get(impl, err);
    if (!c) return LT_EIO;
    bool tok_int = false;
    int64_t tok_ival = 0;
    char *tok_sval = NULL, *tok_name = NULL, *scratch = NULL;
    if (p->next_token && *p->next_token) {
        int rc = lt_store__token_decode(p, p->next_token, &tok_int, &tok_ival, &tok_sval,
                                        &tok_name, &scratch, err);
        if (rc) return rc;
        if (tok_int != sort_is_int(p->sort_by)) {
            free(scratch);
            return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
        }
    }
    bind b[MAX_BINDS];
    int nb = 0;
    char *lc_contains = p->name_contains ? lt_store__lower(p->name_contains) : NULL;
    lt_buf sql;
    lt_buf_init(&sql, 8192);
    lt_buf_puts(&sql, "SELECT " LT_STORE__RESOURCE_COLUMNS ", name_lc FROM resources WHERE kind = ?", NULL);
    add_text(b, &nb, p->kind);
    if (lc_contains) {
        lt_buf_puts(&sql, " AND instr(name_lc, ?) > 0", NULL);
        add_text(b, &nb, lc_contains);
    }
    if (p->status_equals) {
        lt_buf_puts(&sql, " AND status = ?", NULL);
        add_text(b, &nb, p->status_equals);
    }
    if (p->parent_equals) {
        lt_buf_puts(&sql, " AND parent_lc = lower(?)", NULL);
        add_text(b, &nb, p->parent_equals);
    }
    if (p->related_arn && p->relation) {
        lt_buf_puts(&sql, " AND arn IN (SELECT to_arn FROM relations WHERE kind = ? AND from_arn = ?"
                          " UNION SELECT from_arn FROM relations WHERE kind = ? AND to_arn = ?)",
                    NULL);
        add_text(b, &nb, p->relation);
        add_text(b, &nb, p->related_arn);
        add_text(b, &nb, p->relation);
        add_text(b, &nb, p->related_arn);
    }
    const struct {
        int64_t v;
        const char *frag;
    } times[] = {{p->created_after_ms, " AND creation_ms > ?"},
                 {p->created_before_ms, " AND creation_ms < ?"},
                 {p->modified_after_ms, " AND modified_ms > ?"},
                 {p->modified_before_ms, " AND modified_ms < ?"}};
    for (size_t i = 0; i < 4; i++)
        if (times[i].v) {
            lt_buf_puts(&sql, times[i].frag, NULL);
            add_int(b, &nb, times[i].v);
        }
    const char *col = sort_column(p->sort_by);
    const char *cmp = p->descending ? "<" : ">";
    const char *dir = p->descending ? "DESC" : "ASC";
    if (tok_name) {
        lt_buf_printf(&sql, NULL, " AND (%s %s ? OR (%s = ? AND name_lc %s ?))", col, cmp, col, cmp);
        for (int k = 0; k < 2; k++) {
            if (tok_int) add_int(b, &nb, tok_ival);
            else add_text(b, &nb, tok_sval);
        }
        add_text(b, &nb, tok_name);
    }
    lt_buf_printf(&sql, NULL, " ORDER BY %s %s, name_lc %s LIMIT ?", col, dir, dir);
    add_int(b, &nb, p->limit + 1);

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql.data, (int)sql.len, &st, NULL);
    lt_buf_free(&sql);
    if (rc != SQLITE_OK) {
        free(lc_contains);
        free(scratch);
        return lt_store__fail(c, rc, "store: list", err);
    }
    for (int i = 0; i < nb; i++) {
        if (b[i].is_int) sqlite3_bind_int64(st, i + 1, b[i].i);
        else sqlite3_bind_text(st, i + 1, b[i].s, -1, SQLITE_STATIC);
    }
    int status = 0, seen = 0;
    while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (seen == p->limit) {
            break; /* one row past the page: more follow */
        }
        lt_store_resource res = {0};
        lt_store__row_to_resource(st, &res);
        status = fn(ctx, &res, err);
        seen++;
        if (seen == p->limit) {
            /* Remember where this page ends, in case a next row exists. */
            free(*next_token);
            const char *name_lc = (const char *)sqlite3_column_text(st, 8);
            char *status_text = res.status ? res.status : "";
            const char *sval = p->sort_by == LT_STORE_SORT_NAME ? name_lc : status_text;
            int64_t ival = p->sort_by == LT_STORE_SORT_MODIFIED_TIME ? res.modified_ms
                                                                     : res.creation_ms;
            *next_token = lt_store__token_encode(p, sort_is_int(p->sort_by), ival, sval, name_lc);
        }
        lt_store_resource_clear(&res);
    }
    bool more = rc == SQLITE_ROW && seen == p->limit;
    if (!status && rc != SQLITE_ROW && rc != SQLITE_DONE) status = lt_store__fail(c, rc, "store: list", err);
    sqlite3_finalize(st);
    free(lc_contains);
    free(scratch);
    if (status || !more) {
        free(*next_token);
        *next_token = NULL;
    }
    return status;
}
