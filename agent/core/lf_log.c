/* lf_log.c - leveled logging: one line per call, "TIME LEVEL [prefix] message", stderr.
 *
 * No process-wide state: the level comes from the context; a NULL context logs at info
 * and above with the prefix "[agent]".
 */
#include "logferry/lf_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *level_name(enum lf_log_level lvl)
{
    switch (lvl) {
    case LF_LOG_ERROR:
        return "error";
    case LF_LOG_WARN:
        return "warn";
    case LF_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

static void log_vwrite(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *suffix,
                       const char *fmt, va_list ap)
{
    enum lf_log_level max = ctx ? ctx->level : LF_LOG_INFO;
    if (lvl > max) {
        return;
    }
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_name(lvl),
                     ctx && ctx->prefix ? ctx->prefix : "[agent]");
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n;
    int m = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    if (m > 0) {
        len += (size_t)m;
    }
    if (len > sizeof(line) - 64) {
        len = sizeof(line) - 64;
    }
    if (suffix) {
        m = snprintf(line + len, sizeof(line) - len, ": %s", suffix);
        if (m > 0) {
            len += (size_t)m;
        }
    }
    if (len > sizeof(line) - 2) {
        len = sizeof(line) - 2;
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void lf_log_write(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(lvl, ctx, NULL, fmt, ap);
    va_end(ap);
}

void lf_log_errno(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt, ...)
{
    int saved = errno;
    char buf[128];
    const char *msg = strerror_r(saved, buf, sizeof(buf));
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(lvl, ctx, msg, fmt, ap);
    va_end(ap);
    errno = saved;
}
