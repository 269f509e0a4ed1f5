/* tail_watch.c - the tail's view of the file system: the directories of every glob are
 * watched with inotify (create, move, delete); a change makes the next read turn
 * re-expand the globs (tail_scan), which opens new files (read from 0), follows renames
 * within the globs, and marks files no glob path leads to as orphans (rotated away or
 * deleted: read to EOF, then released by tail.c). Also: resuming files rotated while the
 * agent was stopped, and forget_after pruning of checkpoint entries. Does not read files.
 */
#include "tail_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logferry/lf_err.h"
#include "logferry/lf_log.h"

#define DIR_EVENTS                                                                           \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_DELETE_SELF | \
     IN_MOVE_SELF | IN_ONLYDIR)
#define SCAN_EVENTS \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

static bool excluded(const struct lf_input_conf *c, const char *path)
{
    for (size_t i = 0; i < c->exclude.n; i++) {
        const char *pat = c->exclude.str[i];
        const char *base = strrchr(path, '/');
        /* A pattern without '/' applies to the file name, otherwise to the full path. */
        const char *subject = strchr(pat, '/') || !base ? path : base + 1;
        if (fnmatch(pat, subject, FNM_PATHNAME) == 0) {
            return true;
        }
    }
    return false;
}

static struct lf_tail_file *find_ino(struct lf_tail *t, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        if (!f->retired && f->id.dev == dev && f->id.ino == ino) {
            return f;
        }
    }
    return NULL;
}

/* ---- directories ------------------------------------------------------------------ */

static bool dir_known(const struct lf_tail *t, const char *dir)
{
    for (size_t i = 0; i < t->ndirs; i++) {
        if (strcmp(t->dirs[i].path, dir) == 0) {
            return true;
        }
    }
    return false;
}

static void dir_add(struct lf_tail *t, const char *dir)
{
    if (dir_known(t, dir)) {
        return;
    }
    int wd = t->inofd >= 0 ? inotify_add_watch(t->inofd, dir, DIR_EVENTS) : -1;
    if (t->inofd >= 0 && wd < 0) {
        return; /* not there (yet): the rescan tries again */
    }
    struct tail_dir *v = realloc(t->dirs, (t->ndirs + 1) * sizeof(*v));
    char *p = strdup(dir);
    if (!v || !p) {
        free(p);
        if (v) {
            t->dirs = v;
        }
        return;
    }
    t->dirs = v;
    t->dirs[t->ndirs++] = (struct tail_dir){.path = p, .wd = wd};
}

static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, cap, ".");
    } else if (slash == path) {
        snprintf(out, cap, "/");
    } else {
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
    }
}

/* Watches the directory part of every pattern (expanded if it has glob characters). */
static void watch_dirs(struct lf_tail *t)
{
    char dir[PATH_MAX];
    for (size_t p = 0; p < t->conf->paths.n; p++) {
        dir_of(t->conf->paths.str[p], dir, sizeof(dir));
        if (!strpbrk(dir, "*?[")) {
            dir_add(t, dir);
            continue;
        }
        glob_t g;
        if (glob(dir, GLOB_ONLYDIR, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++) {
                dir_add(t, g.gl_pathv[i]);
            }
            globfree(&g);
        }
    }
}

void tail_watch_fini(struct lf_tail *t)
{
    for (size_t i = 0; i < t->ndirs; i++) {
        if (t->dirs[i].wd >= 0 && t->inofd >= 0) {
            inotify_rm_watch(t->inofd, t->dirs[i].wd);
        }
        free(t->dirs[i].path);
    }
    free(t->dirs);
    free(t->gone);
}

/* ---- scan ------------------------------------------------------------------------- */

static void set_path(struct lf_tail *t, struct lf_tail_file *f, const char *path)
{
    if (strcmp(f->path, path) == 0) {
        return;
    }
    char *p = strdup(path);
    if (p) {
        lf_log_info(t->log, "%s: renamed to %s (still matched, followed)", f->path, path);
        free(f->path);
        f->path = p;
        f->ckpt_dirty = true;
    }
}

/* One path a glob matched. A tracked file costs one stat(2); only new ones are opened. */
static void scan_path(struct lf_tail *t, const char *path, bool initial)
{
    struct stat st;
    if (excluded(t->conf, path) || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return; /* follows symlinks: identity by target; gone again: the rescan retries */
    }
    struct lf_tail_file *f = find_ino(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (!f) {
        struct lf_tail_file *nf;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            find_ino(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
            close(fd); /* replaced between stat and open: the next scan sees it */
            t->need_scan = true;
            return;
        }
        if (tail_file_open(t, path, fd, initial ? TAIL_OPEN_INITIAL : TAIL_OPEN_NEW, &nf) ==
            LF_OK) {
            nf->seen = true;
            if (!initial) {
                lf_log_info(t->log, "%s: new file", path);
            }
        }
        return;
    }
    if (f->seen) {
        return; /* another name (link) of a file already matched */
    }
    f->seen = true;
    if (f->orphan) {
        lf_log_info(t->log, "%s: back under a glob as %s", f->path, path);
        f->orphan = false;
    }
    set_path(t, f, path);
    if ((uint64_t)st.st_size != f->read_offset) {
        f->readable = true; /* the safety poll: appends or truncation inotify missed */
    }
}

int tail_scan(struct lf_tail *t, bool initial)
{
    watch_dirs(t);
    for (size_t i = 0; i < t->nfiles; i++) {
        t->files[i]->seen = false;
    }
    for (size_t p = 0; p < t->conf->paths.n; p++) {
        glob_t g;
        int grc = glob(t->conf->paths.str[p], 0, NULL, &g);
        if (grc == GLOB_NOSPACE) {
            return LF_ENOMEM;
        }
        if (grc != 0) {
            if (initial) {
                lf_log_warn(t->log, "input %s: no file matches %s (yet)", t->conf->name,
                            t->conf->paths.str[p]);
            }
            continue;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
            scan_path(t, g.gl_pathv[i], initial);
        }
        globfree(&g);
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        if (!f->seen && !f->orphan && !f->retired) {
            f->orphan = true;
            f->readable = true;
            t->stats.rotations++;
            lf_log_info(t->log,
                        "%s: rotated away or deleted (rotation #%llu), reading it to "
                        "its end",
                        f->path, (unsigned long long)t->stats.rotations);
        }
    }
    return LF_OK;
}

/* ---- inotify ---------------------------------------------------------------------- */

static void mark_name(struct lf_tail *t, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    for (size_t i = 0; i < t->nfiles; i++) {
        const char *p = t->files[i]->path;
        if (strncmp(p, dir, dl) == 0 && p[dl] == '/' && strcmp(p + dl + 1, name) == 0) {
            t->files[i]->readable = true;
        }
    }
}

static bool matches_glob(const struct lf_tail *t, const char *path)
{
    for (size_t p = 0; p < t->conf->paths.n; p++) {
        if (fnmatch(t->conf->paths.str[p], path, FNM_PATHNAME) == 0) {
            return !excluded(t->conf, path);
        }
    }
    return false;
}

/* A file was renamed away from a matching path: remember the rename's cookie, in case we
 * never opened it (created and rotated before we looked; moved_to checks the inode). */
static void moved_from(struct lf_tail *t, const char *dir, const char *name, uint32_t cookie)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path) || !matches_glob(t, path)) {
        return;
    }
    t->move_cookies[t->nmoves++ % TAIL_MOVES] = cookie;
}

/* The other half: open the file at its new name and read it all as a rotated file. */
static void moved_to(struct lf_tail *t, const char *dir, const char *name, uint32_t cookie)
{
    char path[PATH_MAX];
    struct stat st;
    bool known = false;
    for (size_t i = 0; i < TAIL_MOVES && i < t->nmoves; i++) {
        known = known || (cookie != 0 && t->move_cookies[i] == cookie);
    }
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!known || n < 0 || (size_t)n >= sizeof(path) || matches_glob(t, path)) {
        return; /* still matched: the scan handles it */
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    struct lf_tail_file *f;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        find_ino(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
        close(fd);
        return;
    }
    if (tail_file_open(t, path, fd, TAIL_OPEN_NEW, &f) == LF_OK) {
        f->orphan = true;
        t->stats.rotations++;
        lf_log_info(t->log, "%s: rotated before it was opened, reading it to its end", path);
    }
}

void lf_tail_on_inotify(struct lf_tail *t, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        lf_log_warn(t->log, "input %s: inotify queue overflow, reconciling every file",
                    t->conf->name);
        lf_tail_mark_readable(t, -1);
        return;
    }
    for (size_t i = 0; i < t->ndirs; i++) {
        struct tail_dir *d = &t->dirs[i];
        if (d->wd != ev->wd) {
            continue;
        }
        if (ev->mask & IN_IGNORED) {
            /* The directory went away: forget it; the rescan watches it again. */
            free(d->path);
            t->dirs[i] = t->dirs[--t->ndirs];
            t->need_scan = true;
            return;
        }
        if (ev->mask & SCAN_EVENTS) {
            t->need_scan = true;
        }
        if (ev->len && (ev->mask & IN_MOVED_FROM)) {
            moved_from(t, d->path, ev->name, ev->cookie);
        }
        if (ev->len && (ev->mask & IN_MOVED_TO)) {
            moved_to(t, d->path, ev->name, ev->cookie);
        }
        if (ev->len && (ev->mask & IN_CLOSE_WRITE)) {
            mark_name(t, d->path, ev->name);
        }
        return;
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        if (t->files[i]->wd == ev->wd) {
            t->files[i]->readable = true;
        }
    }
}

void lf_tail_mark_readable(struct lf_tail *t, int wd)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        if (wd < 0 || t->files[i]->wd == wd) {
            t->files[i]->readable = true;
        }
    }
    if (wd < 0) {
        t->need_scan = true;
    }
}

/* ---- rotated while stopped, pruning ----------------------------------------------- */

void tail_gone_add(struct lf_tail *t, uint64_t dev, uint64_t ino, int64_t now)
{
    struct tail_gone *v = realloc(t->gone, (t->ngone + 1) * sizeof(*v));
    if (!v) {
        return; /* not pruned: the store keeps one stale line */
    }
    t->gone = v;
    t->gone[t->ngone++] = (struct tail_gone){.dev = dev, .ino = ino, .since_ms = now};
}

void tail_prune(struct lf_tail *t, int64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < t->ngone; i++) {
        struct tail_gone *g = &t->gone[i];
        if (find_ino(t, g->dev, g->ino)) {
            continue; /* back under a glob: no longer gone */
        }
        if (now - g->since_ms >= t->conf->forget_after_ms) {
            lf_ckpt_remove(t->ckpt, g->dev, g->ino);
            continue;
        }
        t->gone[keep++] = *g;
    }
    t->ngone = keep;
}

/* Looks in dir for a file with e's device+inode; opens it as an orphan from e's offset. */
static bool resume_in_dir(struct lf_tail *t, const char *dir, const struct lf_ckpt_entry *e)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX];
    bool found = false;
    if (!d) {
        return false;
    }
    while (!found && (de = readdir(d)) != NULL) {
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode) ||
            (uint64_t)st.st_dev != e->id.dev || (uint64_t)st.st_ino != e->id.ino) {
            continue;
        }
        found = true;
        if (e->offset >= (uint64_t)st.st_size) {
            break; /* read to its end already */
        }
        int len = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (len < 0 || (size_t)len >= sizeof(path)) {
            break;
        }
        struct lf_tail_file *f;
        if (tail_file_open(t, path, -1, TAIL_OPEN_ORPHAN, &f) == LF_OK) {
            f->orphan = true;
            t->stats.rotations++;
            lf_log_info(t->log, "%s: rotated while stopped, reading it to its end", path);
        }
    }
    closedir(d);
    return found;
}

void tail_resume_rotated(struct lf_tail *t)
{
    char dir[PATH_MAX];
    int64_t now = tail_now_ms();
    size_t n = t->ckpt->n;
    /* Copy the keys: opening files adds entries to the store. */
    struct lf_ckpt_entry *v = malloc((n ? n : 1) * sizeof(*v));
    if (!v) {
        return;
    }
    if (n) {
        memcpy(v, t->ckpt->v, n * sizeof(*v));
    }
    for (size_t i = 0; i < n; i++) {
        const struct lf_ckpt_entry *e = &v[i];
        if (find_ino(t, e->id.dev, e->id.ino)) {
            continue;
        }
        dir_of(e->path, dir, sizeof(dir));
        if (!dir_known(t, dir)) {
            continue; /* another input's file */
        }
        resume_in_dir(t, dir, e);
        if (!find_ino(t, e->id.dev, e->id.ino)) {
            tail_gone_add(t, e->id.dev, e->id.ino, now);
        }
    }
    free(v);
}
