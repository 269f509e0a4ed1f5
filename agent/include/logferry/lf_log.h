/* lf_log.h - leveled logging to stderr with a per-instance prefix.
 *
 * The level check is inside lf_log_write (no bare-if macros). Thread-safe: each call
 * writes one line with one write(2). Payloads are never logged above debug.
 */
#ifndef LF_LOG_H
#define LF_LOG_H

#include "lf_export.h"

enum lf_log_level {
    LF_LOG_ERROR = 0,
    LF_LOG_WARN = 1,
    LF_LOG_INFO = 2,
    LF_LOG_DEBUG = 3,
};

/* A log context: "[output:kafka:main]" style prefix and its own level. NULL = "[agent]". */
struct lf_log_ctx {
    const char *prefix;
    enum lf_log_level level;
};

LF_EXPORT void lf_log_write(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));
/* Like lf_log_write with ": strerror(errno)" appended; errno is read at entry. */
LF_EXPORT void lf_log_errno(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));

#define lf_log_error(ctx, ...) lf_log_write(LF_LOG_ERROR, (ctx), __VA_ARGS__)
#define lf_log_warn(ctx, ...)  lf_log_write(LF_LOG_WARN, (ctx), __VA_ARGS__)
#define lf_log_info(ctx, ...)  lf_log_write(LF_LOG_INFO, (ctx), __VA_ARGS__)
#define lf_log_debug(ctx, ...) lf_log_write(LF_LOG_DEBUG, (ctx), __VA_ARGS__)

#endif
