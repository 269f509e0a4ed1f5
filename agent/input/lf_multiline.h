/* lf_multiline.h - joins physical lines into records (stack traces, slow-query entries).
 *
 * Modes: none (one line = one record), start_pattern (a matching line starts a record,
 * others continue it), continue_pattern (a matching line continues the current record),
 * and presets: java, python, go, mysql-slow, postgresql, auto (per-record language). Caps
 * (max_lines, max_bytes) cut the record and mark it truncated. The caller feeds lines in file order
 * and flushes on flush_timeout (lf_ml_deadline), at rotation and at shutdown.
 *
 * Offsets: each emitted record carries the start offset of its first line and the end
 * offset after its last line's newline, so checkpoints never pass the start of a record
 * that is not complete and acknowledged.
 */
#ifndef LF_MULTILINE_H
#define LF_MULTILINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logferry/lf_opt.h"

/* The `multiline:` section of an input. */
struct lf_ml_conf {
    int preset;               /* index into lf_ml_preset_names; 0 = "none" */
    char *start_pattern;      /* PCRE2 */
    char *continue_pattern;   /* PCRE2 */
    int64_t max_lines;        /* default 500 */
    uint64_t max_bytes;       /* default 1MiB */
    int64_t flush_timeout_ms; /* default 1s */
};

extern const char *const lf_ml_preset_names[]; /* "none", "java", "python", "go", ... */
extern const struct lf_opt lf_ml_options[];

#define LF_ML_TRUNCATED 1u

/* Called once per complete record. text is borrowed until return. */
typedef int lf_ml_emit_fn(void *ctx, const char *text, size_t len, uint64_t start_offset,
                          uint64_t end_offset, unsigned flags);

struct lf_ml;

/* Returns LF_OK or LF_ECONFIG with a message in err (bad regex, both patterns set...).
 * preset_override (may be NULL) is used when conf->preset is 0 and no pattern is set. */
int lf_ml_create(const struct lf_ml_conf *conf, const char *preset_override, char *err,
                 size_t errlen, struct lf_ml **out);
void lf_ml_destroy(struct lf_ml *ml);

/* Feeds one physical line (without its newline; a trailing \r already removed) that
 * spans [start_offset, end_offset) in the file. flags: LF_ML_TRUNCATED if the line was
 * cut. May call emit for the previous record. Returns LF_OK or the emit's error. */
int lf_ml_push(struct lf_ml *ml, const char *line, size_t len, uint64_t start_offset,
               uint64_t end_offset, unsigned flags, int64_t now_ms, lf_ml_emit_fn *emit, void *ctx);
/* Emits the pending record, if any. */
int lf_ml_flush(struct lf_ml *ml, lf_ml_emit_fn *emit, void *ctx);
/* Monotonic ms when the pending record must be flushed, or -1 if nothing is pending. */
int64_t lf_ml_deadline(const struct lf_ml *ml);
/* Start offset of the pending record (valid when lf_ml_deadline() >= 0). */
uint64_t lf_ml_pending_start(const struct lf_ml *ml);

/* mysql-slow: true if text (one line, or a record's first line) is a server start-up
 * banner line ("/usr/sbin/mysqld, Version: ... started with:", "Tcp port: ...",
 * "Time  Id Command  Argument"). The mysql-slow preset emits each such line as its own
 * record; parsers use this to drop them. */
bool lf_ml_mysql_is_banner(const char *text, size_t len);

#endif
