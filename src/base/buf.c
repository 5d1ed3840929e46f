/* Capped growable buffers: every size that comes from outside stops at buf->max. */
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lt_buf_init(lt_buf *buf, size_t max_bytes)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max_bytes;
}

void lt_buf_free(lt_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

void lt_buf_reset(lt_buf *buf)
{
    buf->len = 0;
    if (buf->data) buf->data[0] = '\0';
}

static int reserve(lt_buf *buf, size_t extra, lt_err *err)
{
    if (extra > buf->max || buf->len > buf->max - extra)
        return lt_err_set(err, LT_ELIMIT, "buffer limit of %zu bytes exceeded", buf->max);
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap) return 0;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need) cap *= 2;
    if (cap > buf->max + 1) cap = buf->max + 1;
    buf->data = lt_xrealloc(buf->data, cap);
    buf->cap = cap;
    return 0;
}

int lt_buf_reserve(lt_buf *buf, size_t extra, lt_err *err)
{
    return reserve(buf, extra, err);
}

int lt_buf_append(lt_buf *buf, const void *data, size_t len, lt_err *err)
{
    int rc = reserve(buf, len, err);
    if (rc) return rc;
    if (len) memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

int lt_buf_puts(lt_buf *buf, const char *s, lt_err *err)
{
    return lt_buf_append(buf, s, strlen(s), err);
}

int lt_buf_printf(lt_buf *buf, lt_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return lt_err_set(err, LT_EINTERNAL, "bad format string");
    }
    int rc = reserve(buf, (size_t)n, err);
    if (rc) {
        va_end(ap2);
        return rc;
    }
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    buf->len += (size_t)n;
    return 0;
}

char *lt_buf_take(lt_buf *buf)
{
    char *p = buf->data ? buf->data : lt_xstrdup("");
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return p;
}
