/* lf_dlq.c - append-only dead-letter JSON lines with fsync before acknowledgement (the
 * format is in lf_dlq.h). */
#include "lf_dlq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lf_buf.h"
#include "logferry/lf_err.h"

int lf_dlq_open(const char *state_dir, const char *output, struct lf_dlq *d)
{
    char dir[4096];
    memset(d, 0, sizeof(*d));
    d->fd = -1;
    snprintf(dir, sizeof(dir), "%s/dead-letter", state_dir);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        return LF_EIO;
    }
    if (asprintf(&d->path, "%s/%s.jsonl", dir, output) < 0) {
        d->path = NULL;
        return LF_ENOMEM;
    }
    d->output = strdup(output);
    d->fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (d->fd < 0 || !d->output) {
        lf_dlq_close(d);
        return LF_EIO;
    }
    return LF_OK;
}

void lf_dlq_close(struct lf_dlq *d)
{
    if (d->fd >= 0) {
        close(d->fd);
    }
    free(d->path);
    free(d->output);
    memset(d, 0, sizeof(*d));
    d->fd = -1;
}

const char *lf_dlq_reason_name(int r)
{
    static const char *const names[LF_DLQ_REASON_COUNT] = LF_DLQ_REASON_NAMES;
    return r >= 0 && r < LF_DLQ_REASON_COUNT ? names[r] : names[0];
}

void lf_dlq_time(int64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[24];
    gmtime_r(&secs, &tm);
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

static int64_t dlq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool dlq_str(struct lf_buf *b, const char *key, const char *v)
{
    v = v ? v : "";
    return lf_buf_printf(b, ",\"%s\":\"", key) != LF_OK ||
           lf_buf_append_json_escaped(b, v, strlen(v)) != LF_OK ||
           lf_buf_append_str(b, "\"") != LF_OK;
}

/* One dead-letter line into b, keys in the order lf_dlq.h gives. Every append is
 * checked: a line missing a part (no memory) is never written. LF_OK or LF_ENOMEM. */
static int dlq_render(struct lf_buf *b, const char *output, const struct lf_dlq_entry *e)
{
    char now[32], first[32], last[32];
    int64_t now_ms = dlq_now_ms();
    int64_t last_ms = e->last_failure_ms ? e->last_failure_ms : now_ms;
    lf_dlq_time(now_ms, now, sizeof(now));
    lf_dlq_time(last_ms, last, sizeof(last));
    lf_dlq_time(e->first_failure_ms ? e->first_failure_ms : last_ms, first, sizeof(first));
    bool bad = lf_buf_printf(b, "{\"time\":\"%s\"", now) != LF_OK;
    bad |= dlq_str(b, "output", output);
    bad |= lf_buf_printf(b, ",\"id\":\"%s\"", e->rec->id) != LF_OK;
    bad |= dlq_str(b, "reason", lf_dlq_reason_name(e->reason));
    bad |= dlq_str(b, "error", e->error);
    bad |=
        lf_buf_printf(b, ",\"code\":%d,\"attempts\":%u", e->code, (unsigned)e->attempts) != LF_OK;
    bad |= dlq_str(b, "first_failure", first);
    bad |= dlq_str(b, "last_failure", last);
    bad |= dlq_str(b, "destination", e->destination);
    bad |= lf_buf_append_str(b, ",\"record\":") != LF_OK;
    bad |= lf_buf_append(b, e->rec->payload, e->rec->payload_len) != LF_OK;
    bad |= lf_buf_append_str(b, "}\n") != LF_OK;
    return bad ? LF_ENOMEM : LF_OK;
}

/* Takes the exclusive lock `logferry dlq` also takes (flock) on the file the path names
 * now: when the command compacted the store, it renamed a new file over the path and the
 * open one has no link left, so the path is opened again (lf_cmd_dlq.h). */
static int dlq_lock(struct lf_dlq *d)
{
    struct stat st;
    for (int tries = 0; tries < 16; tries++) {
        if (flock(d->fd, LOCK_EX) != 0 || fstat(d->fd, &st) != 0) {
            return LF_EIO;
        }
        if (st.st_nlink > 0) {
            return LF_OK;
        }
        int fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0) {
            return LF_EIO;
        }
        close(d->fd); /* its data was copied into the new file, which was synced */
        d->fd = fd;
    }
    return LF_EIO;
}

int lf_dlq_write(struct lf_dlq *d, const struct lf_dlq_entry *e)
{
    struct lf_buf b;
    lf_buf_init(&b, 0);
    int rc = dlq_render(&b, d->output, e);
    rc = rc == LF_OK ? dlq_lock(d) : rc;
    if (rc == LF_OK) {
        rc = lf_buf_write_fd(&b, d->fd);
        d->unsynced = true;
        flock(d->fd, LOCK_UN);
    }
    lf_buf_fini(&b);
    return rc;
}

int lf_dlq_sync(struct lf_dlq *d)
{
    if (!d->unsynced) {
        return LF_OK;
    }
    if (fdatasync(d->fd) != 0) {
        return LF_EIO;
    }
    d->unsynced = false;
    return LF_OK;
}
