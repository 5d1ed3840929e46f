/* List with filters, sort and keyset pagination. The SQL is assembled from the filters
 * present (each a fixed fragment with a bound parameter, never spliced input), so it is a
 * pure function of the listing's shape: which filters are set, the sort, the direction and
 * whether a token resumes it. Each connection keeps the statements of the shapes it has
 * seen, and a repeated List costs no parse. */
#include "store/sqlite_conn.h"

#include <stdlib.h>
#include <string.h>

typedef struct bind {
    bool is_int;
    int64_t i;
    const char *s;
} bind;

enum { MAX_BINDS = 24 };

/* What a listing binds, in the order its SQL names them, and its shape. */
typedef struct plan {
    unsigned shape;
    bind b[MAX_BINDS];
    int nb;
} plan;

enum {
    SHAPE_USED = 1u << 0, /* tells a cache slot holding shape 0 from an empty one */
    SHAPE_CONTAINS = 1u << 1,
    SHAPE_STATUS = 1u << 2,
    SHAPE_PARENT = 1u << 3,
    SHAPE_RELATED = 1u << 4,
    SHAPE_TIME0 = 1u << 5, /* four bits: created after/before, modified after/before */
    SHAPE_TOKEN = 1u << 9,
    SHAPE_DESC = 1u << 10,
    SHAPE_SORT_SHIFT = 11,
};

static const char *sort_column(lt_store_sort sort)
{
    switch (sort) {
    case LT_STORE_SORT_NAME:
        return "name_lc";
    case LT_STORE_SORT_STATUS:
        return "coalesce(status, '')";
    case LT_STORE_SORT_MODIFIED_TIME:
        return "modified_ms";
    default:
        return "creation_ms";
    }
}

static bool sort_is_int(lt_store_sort sort)
{
    return sort == LT_STORE_SORT_CREATION_TIME || sort == LT_STORE_SORT_MODIFIED_TIME;
}

static void add_int(plan *pl, int64_t v)
{
    pl->b[pl->nb++] = (bind){.is_int = true, .i = v};
}

static void add_text(plan *pl, const char *s)
{
    pl->b[pl->nb++] = (bind){.is_int = false, .s = s};
}

/* The resume point a token carries. */
typedef struct resume {
    bool is_int;
    int64_t ival;
    char *sval, *name_lc, *scratch;
} resume;

/* Fills pl with the binds and the shape; appends the SQL to sql when it is not NULL (a
 * cache miss). lc_contains is the lower-cased NameContains. */
static void plan_listing(const lt_store_list_params *p, const char *lc_contains, const resume *from,
                         plan *pl, lt_buf *sql)
{
#define FRAG(text)                                                                                 \
    do {                                                                                           \
        if (sql) lt_buf_puts(sql, (text), NULL);                                                   \
    } while (0)
    pl->nb = 0;
    pl->shape =
        SHAPE_USED | (p->descending ? SHAPE_DESC : 0) | ((unsigned)p->sort_by << SHAPE_SORT_SHIFT);
    FRAG("SELECT " LT_STORE__RESOURCE_COLUMNS ", name_lc FROM resources WHERE kind = ?");
    add_text(pl, p->kind);
    if (lc_contains) {
        pl->shape |= SHAPE_CONTAINS;
        FRAG(" AND instr(name_lc, ?) > 0");
        add_text(pl, lc_contains);
    }
    if (p->status_equals) {
        pl->shape |= SHAPE_STATUS;
        FRAG(" AND status = ?");
        add_text(pl, p->status_equals);
    }
    if (p->parent_equals) {
        pl->shape |= SHAPE_PARENT;
        FRAG(" AND parent_lc = lower(?)");
        add_text(pl, p->parent_equals);
    }
    if (p->related_arn && p->relation) {
        pl->shape |= SHAPE_RELATED;
        FRAG(" AND arn IN (SELECT to_arn FROM relations WHERE kind = ? AND from_arn = ?"
             " UNION SELECT from_arn FROM relations WHERE kind = ? AND to_arn = ?)");
        add_text(pl, p->relation);
        add_text(pl, p->related_arn);
        add_text(pl, p->relation);
        add_text(pl, p->related_arn);
    }
    const struct {
        int64_t v;
        const char *frag;
    } times[] = {{p->created_after_ms, " AND creation_ms > ?"},
                 {p->created_before_ms, " AND creation_ms < ?"},
                 {p->modified_after_ms, " AND modified_ms > ?"},
                 {p->modified_before_ms, " AND modified_ms < ?"}};
    for (unsigned i = 0; i < 4; i++)
        if (times[i].v) {
            pl->shape |= SHAPE_TIME0 << i;
            FRAG(times[i].frag);
            add_int(pl, times[i].v);
        }
    const char *col = sort_column(p->sort_by);
    const char *cmp = p->descending ? "<" : ">";
    const char *dir = p->descending ? "DESC" : "ASC";
    if (from->name_lc) {
        pl->shape |= SHAPE_TOKEN;
        if (sql)
            lt_buf_printf(sql, NULL, " AND (%s %s ? OR (%s = ? AND name_lc %s ?))", col, cmp, col,
                          cmp);
        for (int k = 0; k < 2; k++) {
            if (from->is_int)
                add_int(pl, from->ival);
            else
                add_text(pl, from->sval);
        }
        add_text(pl, from->name_lc);
    }
    if (sql) lt_buf_printf(sql, NULL, " ORDER BY %s %s, name_lc %s LIMIT ?", col, dir, dir);
    add_int(pl, p->limit + 1);
#undef FRAG
}

/* Takes the statement of this shape out of the cache (so a callback that lists again on
 * this thread gets one of its own), preparing it on a miss. */
static sqlite3_stmt *checkout(lt_store__conn *c, const lt_store_list_params *p,
                              const char *lc_contains, const resume *from, plan *pl, lt_err *err)
{
    plan_listing(p, lc_contains, from, pl, NULL);
    for (int i = 0; i < LIST_CACHE_SLOTS; i++)
        if (c->list_cache[i].shape == pl->shape) {
            sqlite3_stmt *st = c->list_cache[i].st;
            c->list_cache[i].shape = 0;
            c->list_cache[i].st = NULL;
            return st;
        }
    lt_buf sql;
    lt_buf_init(&sql, 8192);
    plan_listing(p, lc_contains, from, pl, &sql);
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v3(c->db, sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    lt_buf_free(&sql);
    if (rc != SQLITE_OK) {
        lt_store__fail(c, rc, "store: list", err);
        return NULL;
    }
    return st;
}

static void checkin(lt_store__conn *c, unsigned shape, sqlite3_stmt *st)
{
    sqlite3_reset(st); /* ends the statement's read snapshot */
    sqlite3_clear_bindings(st);
    int slot = -1;
    for (int i = 0; i < LIST_CACHE_SLOTS && slot < 0; i++)
        if (c->list_cache[i].shape == 0) slot = i;
    if (slot < 0) {
        slot = (int)(c->list_cache_next++ % LIST_CACHE_SLOTS);
        sqlite3_finalize(c->list_cache[slot].st);
    }
    c->list_cache[slot].shape = shape;
    c->list_cache[slot].st = st;
}

void lt_store__list_cache_clear(lt_store__conn *c)
{
    for (int i = 0; i < LIST_CACHE_SLOTS; i++) {
        sqlite3_finalize(c->list_cache[i].st);
        c->list_cache[i].st = NULL;
        c->list_cache[i].shape = 0;
    }
}

/* The token that resumes after the row st is on. */
static char *token_after(const lt_store_list_params *p, sqlite3_stmt *st,
                         const lt_store_resource *res)
{
    const char *name_lc = (const char *)sqlite3_column_text(st, 8);
    const char *sval = p->sort_by == LT_STORE_SORT_NAME ? name_lc : res->status ? res->status : "";
    int64_t ival = p->sort_by == LT_STORE_SORT_MODIFIED_TIME ? res->modified_ms : res->creation_ms;
    return lt_store__token_encode(p, sort_is_int(p->sort_by), ival, sval, name_lc);
}

int lt_store__sqlite_list(void *impl, const lt_store_list_params *p, lt_store_resource_fn fn,
                          void *ctx, char **next_token, lt_err *err)
{
    CONN_OR_RETURN(c, impl, err);
    resume from = {0};
    if (p->next_token && *p->next_token) {
        int rc = lt_store__token_decode(p, p->next_token, &from.is_int, &from.ival, &from.sval,
                                        &from.name_lc, &from.scratch, err);
        if (rc) return rc;
        if (from.is_int != sort_is_int(p->sort_by)) {
            free(from.scratch);
            return lt_err_set(err, LT_EINVAL, "Invalid NextToken");
        }
    }
    char *lc_contains = p->name_contains ? lt_store__lower(p->name_contains) : NULL;
    plan pl;
    sqlite3_stmt *st = checkout(c, p, lc_contains, &from, &pl, err);
    if (!st) {
        free(lc_contains);
        free(from.scratch);
        return LT_EIO;
    }
    for (int i = 0; i < pl.nb; i++) {
        if (pl.b[i].is_int)
            sqlite3_bind_int64(st, i + 1, pl.b[i].i);
        else
            sqlite3_bind_text(st, i + 1, pl.b[i].s, -1, SQLITE_STATIC);
    }
    /* LIMIT is the page size plus one: a row past the page says that more follow. */
    int rc, status = 0, seen = 0;
    char *token = NULL;
    while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW && seen < p->limit) {
        lt_store_resource res = {0};
        lt_store__row_to_resource(st, &res);
        status = fn(ctx, &res, err);
        if (++seen == p->limit && !status) token = token_after(p, st, &res);
        lt_store_resource_clear(&res);
    }
    bool more = !status && rc == SQLITE_ROW && seen == p->limit;
    if (!status && rc != SQLITE_ROW && rc != SQLITE_DONE)
        status = lt_store__fail(c, rc, "store: list", err);
    checkin(c, pl.shape, st);
    free(lc_contains);
    free(from.scratch);
    if (more)
        *next_token = token;
    else
        free(token);
    return status;
}
