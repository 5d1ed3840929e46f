/* Logging to stderr with a UTC timestamp; one write per line so threads do not interleave. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_level = LT_LOG_INFO;

void lt_log_set_level(int level)
{
    log_level = level;
}

void lt_log(int level, const char *fmt, ...)
{
    if (level < log_level) return;
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    char stamp[32];
    lt_time_format_iso8601_ms(stamp, lt_now_ms());
    int n = snprintf(line, sizeof line, "%s %-5s ", stamp, names[level & 3]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
