/* lf_log.c - leveled logging: one line per call, text ("TIME LEVEL [prefix] message") or
 * JSON, to stderr or a file, with a rate limit per call site and secrets redacted (see
 * lf_logsetup.h).
 *
 * The level comes from the context; a NULL context logs at info and above with the prefix
 * "[agent]". The destination, format, limiter and secrets are process-wide (one log per
 * process), behind one mutex.
 */
#include "logferry/lf_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lf_buf.h"
#include "lf_logsetup.h"
#include "logferry/lf_err.h"

#define LOG_SITES        128 /* call sites the limiter tracks; more are not limited */
#define LOG_SECRETS      32
#define LOG_SECRET_SHORT 3 /* secrets shorter than this are masked where they stand alone */
#define LOG_LINE         2048

struct log_site {
    const char *fmt;    /* the call site: format string and logger prefix */
    const char *prefix; /*   (pointers: a site's strings are static) */
    int64_t window_start_ms;
    unsigned n;          /* lines in the window */
    unsigned suppressed; /* lines not printed since the last printed one */
};

static struct {
    pthread_mutex_t mu;
    int fd; /* 2, or the log file */
    bool json;
    unsigned burst;
    int64_t interval_ms;
    struct log_site sites[LOG_SITES];
    char *secrets[LOG_SECRETS];
    size_t nsecrets;
    struct lf_log_recent recent[LF_LOG_RECENT]; /* ring of warn/error lines */
    size_t nrecent;                             /* lines ever kept */
} lg = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = STDERR_FILENO};

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

static void add_url_secret(const char *url);

/* ---- setup ------------------------------------------------------------------------- */

int lf_log_configure(const struct lf_log_setup *s)
{
    int fd = STDERR_FILENO;
    if (s->file) {
        fd = open(s->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            return LF_EIO;
        }
    }
    pthread_mutex_lock(&lg.mu);
    if (lg.fd != STDERR_FILENO) {
        close(lg.fd);
    }
    lg.fd = fd;
    lg.json = s->format == LF_LOG_FORMAT_JSON;
    lg.burst = s->burst;
    lg.interval_ms = s->interval_ms > 0 ? s->interval_ms : 10000;
    memset(lg.sites, 0, sizeof(lg.sites));
    pthread_mutex_unlock(&lg.mu);
    return LF_OK;
}

void lf_log_reset(void)
{
    struct lf_log_setup def = {.format = LF_LOG_FORMAT_TEXT};
    lf_log_configure(&def);
    pthread_mutex_lock(&lg.mu);
    for (size_t i = 0; i < lg.nsecrets; i++) {
        free(lg.secrets[i]);
    }
    lg.nsecrets = 0;
    lg.nrecent = 0;
    pthread_mutex_unlock(&lg.mu);
}

/* A URL's secret is its password only (the URL itself names a host worth logging). */
static void add_url_secret(const char *url)
{
    const char *auth = strstr(url, "://") + 3;
    size_t n = strcspn(auth, "/");
    const char *at = memrchr(auth, '@', n);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        char pw[256];
        snprintf(pw, sizeof(pw), "%.*s", (int)(at - colon - 1), colon + 1);
        lf_log_add_secret(pw);
    }
}

void lf_log_add_secret(const char *value)
{
    if (!value || !*value) {
        return;
    }
    if (strstr(value, "://")) {
        add_url_secret(value);
        return;
    }
    pthread_mutex_lock(&lg.mu);
    bool known = false;
    for (size_t i = 0; i < lg.nsecrets && !known; i++) {
        known = strcmp(lg.secrets[i], value) == 0;
    }
    if (!known && lg.nsecrets < LOG_SECRETS) {
        char *dup = strdup(value);
        if (dup) {
            lg.secrets[lg.nsecrets++] = dup;
        }
    }
    pthread_mutex_unlock(&lg.mu);
}

/* ---- redaction ------------------------------------------------------------------------ */

/* Replaces s[from, to) with "***" (the string is cut to fit cap; if the stars do not
 * fit, it ends at from). Returns where the text after the stars starts. */
static size_t splice_stars(char *s, size_t cap, size_t from, size_t to)
{
    if (from + 3 >= cap) {
        s[from] = '\0';
        return from;
    }
    size_t len = strlen(s), tail = len - to;
    if (from + 3 + tail >= cap) {
        tail = cap - 1 - from - 3;
    }
    memmove(s + from + 3, s + to, tail);
    memcpy(s + from, "***", 3);
    s[from + 3 + tail] = '\0';
    return from + 3;
}

/* scheme://user:PASSWORD@host -> scheme://user:***@host */
static void redact_urls(char *s, size_t cap)
{
    for (char *p = strstr(s, "://"); p; p = strstr(p + 3, "://")) {
        char *auth = p + 3;
        size_t n = strcspn(auth, "/ \t\"',;]}");
        char *at = memrchr(auth, '@', n);
        char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon && !(at - colon == 4 && memcmp(colon + 1, "***", 3) == 0)) {
            (void)splice_stars(s, cap, (size_t)(colon + 1 - s), (size_t)(at - s));
        }
    }
}

/* A byte that continues a word (letters, digits, '_', any byte of a UTF-8 sequence). */
static bool word_byte(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' ||
           u >= 0x80;
}

/* A secret of 1 or 2 bytes is masked where it stands alone (no word byte touches it:
 * "password=ab,", "'x'"), not inside longer words: masking every "a" of a line would
 * make the log unreadable and show which letter the secret is. Longer secrets are masked
 * wherever they occur. */
static void redact_secrets(char *s, size_t cap)
{
    for (size_t i = 0; i < lg.nsecrets; i++) {
        const char *sec = lg.secrets[i];
        size_t n = strlen(sec);
        for (char *p = strstr(s, sec); p; p = strstr(p, sec)) {
            if (n < LOG_SECRET_SHORT && ((p > s && word_byte(p[-1])) || word_byte(p[n]))) {
                p++;
                continue;
            }
            p = s + splice_stars(s, cap, (size_t)(p - s), (size_t)(p - s) + n);
        }
    }
}

void lf_log_redact(char *s, size_t cap)
{
    pthread_mutex_lock(&lg.mu);
    redact_urls(s, cap);
    redact_secrets(s, cap);
    pthread_mutex_unlock(&lg.mu);
}

/* ---- rate limit ------------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under lg.mu. True if the line may be printed; *suppressed gets the count of lines of
 * the site suppressed before it (to mention). */
static bool rate_ok(const char *fmt, const char *prefix, unsigned *suppressed)
{
    *suppressed = 0;
    if (!lg.burst) {
        return true;
    }
    size_t h = ((uintptr_t)fmt >> 3) % LOG_SITES;
    struct log_site *site = NULL;
    for (size_t k = 0; k < LOG_SITES && !site; k++) {
        struct log_site *c = &lg.sites[(h + k) % LOG_SITES];
        if (!c->fmt || (c->fmt == fmt && c->prefix == prefix)) {
            site = c;
        }
    }
    if (!site) {
        return true; /* table full: not limited */
    }
    int64_t now = mono_ms();
    if (!site->fmt || now - site->window_start_ms >= lg.interval_ms) {
        site->fmt = fmt;
        site->prefix = prefix;
        site->window_start_ms = now;
        site->n = 0;
    }
    if (site->n >= lg.burst) {
        site->suppressed++;
        return false;
    }
    site->n++;
    *suppressed = site->suppressed;
    site->suppressed = 0;
    return true;
}

/* ---- writing ------------------------------------------------------------------------ */

static void put_json(char *out, size_t cap, const char *ts, enum lf_log_level lvl,
                     const char *prefix, const char *msg)
{
    char esc[LOG_LINE * 2];
    size_t plen = strlen(prefix);
    if (plen >= 2 && prefix[0] == '[' && prefix[plen - 1] == ']') {
        prefix++;
        plen -= 2;
    }
    size_t mlen = strnlen(msg, sizeof(esc) / 6 - 1);
    size_t e = lf_json_escape_to(esc, msg, mlen);
    esc[e] = '\0';
    snprintf(out, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"logger\":\"%.*s\",\"message\":\"%s\"}",
             ts, level_name(lvl), (int)plen, prefix, esc);
}

/* Under lg.mu. */
static void keep_recent(int64_t wall_ms, enum lf_log_level lvl, const char *prefix, const char *msg)
{
    struct lf_log_recent *r = &lg.recent[lg.nrecent++ % LF_LOG_RECENT];
    size_t plen = strlen(prefix);
    if (plen >= 2 && prefix[0] == '[' && prefix[plen - 1] == ']') {
        prefix++;
        plen -= 2;
    }
    r->wall_ms = wall_ms;
    r->level = (int)lvl;
    snprintf(r->logger, sizeof(r->logger), "%.*s", (int)plen, prefix);
    snprintf(r->message, sizeof(r->message), "%s", msg);
}

size_t lf_log_get_recent(struct lf_log_recent *out, size_t max)
{
    pthread_mutex_lock(&lg.mu);
    size_t have = lg.nrecent < LF_LOG_RECENT ? lg.nrecent : LF_LOG_RECENT;
    size_t n = have < max ? have : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = lg.recent[(lg.nrecent - n + i) % LF_LOG_RECENT];
    }
    pthread_mutex_unlock(&lg.mu);
    return n;
}

static void emit(enum lf_log_level lvl, const char *prefix, const char *msg)
{
    char ts[64], line[LOG_LINE * 2 + 256];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    if (lvl <= LF_LOG_WARN) {
        keep_recent((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, lvl, prefix, msg);
    }
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
    if (lg.json) {
        put_json(line, sizeof(line) - 1, ts, lvl, prefix, msg);
    } else {
        snprintf(line, sizeof(line) - 1, "%s %-5s %s %s", ts, level_name(lvl), prefix, msg);
    }
    size_t len = strlen(line);
    line[len++] = '\n';
    ssize_t w = write(lg.fd, line, len);
    (void)w;
}

static void log_vwrite(enum lf_log_level lvl, const struct lf_log_ctx *ctx, const char *suffix,
                       const char *fmt, va_list ap)
{
    enum lf_log_level max = ctx ? ctx->level : LF_LOG_INFO;
    if (lvl > max) {
        return;
    }
    const char *prefix = ctx && ctx->prefix ? ctx->prefix : "[agent]";
    char msg[LOG_LINE];
    int m = vsnprintf(msg, sizeof(msg) - 64, fmt, ap);
    size_t len = m < 0 ? 0 : (size_t)m < sizeof(msg) - 64 ? (size_t)m : sizeof(msg) - 65;
    msg[len] = '\0';
    if (suffix) {
        snprintf(msg + len, sizeof(msg) - len, ": %s", suffix);
    }
    pthread_mutex_lock(&lg.mu);
    unsigned suppressed;
    if (rate_ok(fmt, prefix, &suppressed)) {
        if (suppressed) {
            len = strlen(msg);
            snprintf(msg + len, sizeof(msg) - len, " (%u similar line(s) suppressed before this)",
                     suppressed);
        }
        redact_urls(msg, sizeof(msg));
        redact_secrets(msg, sizeof(msg));
        emit(lvl, prefix, msg);
    }
    pthread_mutex_unlock(&lg.mu);
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
