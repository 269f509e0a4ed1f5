/* lf_logsetup.h - where and how the agent's log lines go (core only; plugins just call
 * lf_log_write).
 *
 * By default lines go to stderr as text ("TIME LEVEL [prefix] message"), unlimited.
 * `logferry run` calls lf_log_configure once, before any thread starts, from the agent's
 * log_* options: text or JSON lines, stderr or a file (opened O_APPEND, so logrotate's
 * copytruncate works), and a rate limit per call site: at most `burst` lines of one
 * format string of one logger per `interval_ms`; the next line let through after
 * suppressed ones says how many were suppressed. Every line has URL passwords
 * (scheme://user:PASSWORD@host) and the values registered with lf_log_add_secret (every
 * option flagged LF_OPT_SECRET, when a config is loaded) replaced by "***".
 *
 * The settings are process-wide: a log destination is, like stderr itself. They are
 * written before threads start (lf_log_configure) and read under a mutex that also
 * guards the rate limiter, since output threads log too.
 */
#ifndef LF_LOGSETUP_H
#define LF_LOGSETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lf_log_format {
    LF_LOG_FORMAT_TEXT = 0,
    LF_LOG_FORMAT_JSON = 1,
};

struct lf_log_setup {
    int format;          /* enum lf_log_format */
    const char *file;    /* NULL: stderr */
    unsigned burst;      /* lines per call site per interval; 0: no limit */
    int64_t interval_ms; /* rate-limit window */
};

/* Applies s (the file is opened, replacing a previous one). LF_OK or LF_EIO (errno set,
 * nothing changed). */
int lf_log_configure(const struct lf_log_setup *s);
/* Back to the defaults (stderr, text, no limit), forgetting the secrets; for tests. */
void lf_log_reset(void);
/* Registers a value never to be printed (copied; any non-empty value). Of a URL only the
 * password is kept. A value of 1 or 2 bytes is masked where no letter, digit, '_' or
 * UTF-8 byte touches it (masking it inside words would mangle every line and give it
 * away); a longer one wherever it occurs. */
void lf_log_add_secret(const char *value);
/* The most recent warn and error lines (already redacted), kept for `logferry status`. */
#define LF_LOG_RECENT 10
struct lf_log_recent {
    int64_t wall_ms;
    int level; /* enum lf_log_level */
    char logger[48];
    char message[256];
};
/* Copies up to max of the most recent warn/error lines, oldest first; returns how many. */
size_t lf_log_get_recent(struct lf_log_recent *out, size_t max);
/* Redacts URL passwords and registered secrets in s (NUL-terminated, in a buffer of cap
 * bytes; the result is cut to fit). */
void lf_log_redact(char *s, size_t cap);

#endif
