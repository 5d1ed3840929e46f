/* Error recording: the first message wins so the root cause survives. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

int lt_err_set_at(lt_err *err, int code, const char *file, int line, const char *fmt, ...)
{
    if (!err || err->code != 0) return code;
    err->code = code;
    err->file = file;
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void lt_err_clear(lt_err *err)
{
    if (!err) return;
    err->code = 0;
    err->msg[0] = '\0';
    err->file = NULL;
    err->line = 0;
}

const char *lt_err_class_name(int code)
{
    switch (code) {
    case LT_OK: return "ok";
    case LT_EINVAL: return "invalid";
    case LT_ENOTFOUND: return "not found";
    case LT_ECONFLICT: return "conflict";
    case LT_ELIMIT: return "limit";
    case LT_EIO: return "i/o";
    case LT_ENOMEM: return "no memory";
    case LT_EINTERNAL: return "internal";
    case LT_EAUTH: return "auth";
    default: return "unknown";
    }
}
