/* tail_skip.c - paths a glob matched that cannot be tailed, each logged once.
 *
 * A directory, a FIFO or socket, a symlink loop or a file without read permission is
 * skipped at every scan. Its reason is logged the first time the path is skipped, and
 * again only after the path was tailed (or vanished) in between, so a file made
 * readable later is picked up by the next scan without a log line per scan before it.
 * At most TAIL_SKIP_MAX paths are remembered; skips beyond that are logged at debug.
 * Uses nothing of the other tail layers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "logferry/lf_log.h"
#include "tail_int.h"

#define TAIL_SKIP_MAX 256

static const char *skip_kind(mode_t mode)
{
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
        return "a device";
    }
    return "not a regular file";
}

/* True when path is new to the list (then it is added, if there is room). */
static bool skip_remember(struct lf_tail *t, const char *path)
{
    for (size_t i = 0; i < t->nskipped; i++) {
        if (strcmp(t->skipped[i], path) == 0) {
            return false;
        }
    }
    if (t->nskipped == TAIL_SKIP_MAX) {
        return false;
    }
    if (t->nskipped == t->skipped_cap) {
        size_t cap = t->skipped_cap ? t->skipped_cap * 2 : 8;
        char **v = realloc(t->skipped, cap * sizeof(*v));
        if (!v) {
            return true; /* logged every time until memory is back: better than never */
        }
        t->skipped = v;
        t->skipped_cap = cap;
    }
    char *copy = strdup(path);
    if (copy) {
        t->skipped[t->nskipped++] = copy;
    }
    return true;
}

void tail_skip_mode(struct lf_tail *t, const char *path, mode_t mode)
{
    bool first = skip_remember(t, path);
    lf_log_write(first ? LF_LOG_WARN : LF_LOG_DEBUG, t->log, "%s: %s, not tailed", path,
                 skip_kind(mode));
}

void tail_skip_errno(struct lf_tail *t, const char *path, int err, const char *what)
{
    bool first = skip_remember(t, path);
    lf_log_write(first ? LF_LOG_WARN : LF_LOG_DEBUG, t->log,
                 "%s: cannot %s (%s); tried again at each scan", path, what, strerror(err));
}

void tail_skip_clear(struct lf_tail *t, const char *path)
{
    for (size_t i = 0; i < t->nskipped; i++) {
        if (strcmp(t->skipped[i], path) == 0) {
            free(t->skipped[i]);
            t->skipped[i] = t->skipped[--t->nskipped];
            return;
        }
    }
}

void tail_skip_fini(struct lf_tail *t)
{
    for (size_t i = 0; i < t->nskipped; i++) {
        free(t->skipped[i]);
    }
    free(t->skipped);
    t->skipped = NULL;
    t->nskipped = t->skipped_cap = 0;
}
