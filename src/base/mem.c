/* The aborting allocator: small bounded allocations carry no dead error paths. */
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size)
{
    fprintf(stderr, "lathe: out of memory allocating %zu bytes\n", size);
    abort();
}

void *lt_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) out_of_memory(size);
    return p;
}

void *lt_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *lt_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) out_of_memory(size);
    return p;
}

char *lt_xstrdup(const char *s)
{
    return lt_xstrndup(s, strlen(s));
}

char *lt_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = lt_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *lt_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0) out_of_memory(0);
    return out;
}
