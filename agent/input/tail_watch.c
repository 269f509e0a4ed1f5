/* tail_watch.c - the tail's view of the file system: the directories of every glob are
 * watched with inotify (create, move, delete); a change makes the next read turn
 * re-expand the globs (tail_scan), which opens new files (read from 0), follows renames
 * within the globs, and marks files no glob path leads to as orphans (rotated away or
 * deleted: read to EOF, then released by tail.c). Also: resuming files rotated while the
 * agent was stopped, finding closed files again by identity, and forget_after pruning of
 * checkpoint entries. Does not read files.
 *
 * Globs are expanded by our own walk, component by component (see lf_tail_glob_match),
 * so that "**" works and so that every directory a match could appear in is watched: the
 * walk starts at the pattern's literal prefix directory and watches each directory it
 * visits BEFORE listing it, so an entry created meanwhile is either listed or reported
 * (a new subdirectory: IN_CREATE|IN_ISDIR or IN_MOVED_TO|IN_ISDIR, then a scan that
 * watches and lists it in turn). "**" does not follow symlinked directories (no loops)
 * and stops at TAIL_MAX_DEPTH levels.
 */
#include "tail_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "lf_vec.h"
#include "logferry/lf_err.h"
#include "logferry/lf_log.h"

#define DIR_EVENTS                                                                           \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_DELETE_SELF | \
     IN_MOVE_SELF | IN_ONLYDIR)
#define SCAN_EVENTS \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

#define TAIL_MAX_DEPTH 32

/* ---- pattern matching ------------------------------------------------------------- */

/* Length of the component at p (up to '/' or the end). */
static size_t comp_len(const char *p)
{
    const char *s = strchr(p, '/');
    return s ? (size_t)(s - p) : strlen(p);
}

static const char *skip_slashes(const char *p)
{
    while (*p == '/') {
        p++;
    }
    return p;
}

static bool is_globstar(const char *p, size_t n)
{
    return n == 2 && p[0] == '*' && p[1] == '*';
}

/* fnmatch of one pattern component against one name component. */
static bool comp_match(const char *pat, size_t pn, const char *name, size_t nn)
{
    char p[NAME_MAX + 1], n[NAME_MAX + 1];
    if (pn > NAME_MAX || nn > NAME_MAX) {
        return false;
    }
    memcpy(p, pat, pn);
    p[pn] = '\0';
    memcpy(n, name, nn);
    n[nn] = '\0';
    return fnmatch(p, n, FNM_PERIOD) == 0;
}

static bool match_rest(const char *pat, const char *path, int depth)
{
    pat = skip_slashes(pat);
    path = skip_slashes(path);
    if (!*pat) {
        return !*path;
    }
    size_t pn = comp_len(pat);
    const char *pnext = pat + pn;
    if (is_globstar(pat, pn)) {
        if (!*skip_slashes(pnext)) {
            pnext = "*"; /* a trailing ** means every file below */
        }
        /* zero levels, then one more directory level at a time (not hidden ones) */
        while (depth < TAIL_MAX_DEPTH) {
            if (match_rest(pnext, path, depth + 1)) {
                return true;
            }
            size_t nn = comp_len(path);
            if (nn == 0 || path[0] == '.' || !path[nn]) {
                return false; /* ** matches directories, the last component is the file */
            }
            path = skip_slashes(path + nn);
            depth++;
        }
        return false;
    }
    size_t nn = comp_len(path);
    return nn > 0 && comp_match(pat, pn, path, nn) && match_rest(pnext, path + nn, depth);
}

bool lf_tail_glob_match(const char *pattern, const char *path)
{
    /* a relative pattern starting with ** matches below any directory, also the root */
    bool anywhere = pattern[0] == '*' && pattern[1] == '*' && (!pattern[2] || pattern[2] == '/');
    if ((pattern[0] == '/') != (path[0] == '/') && !anywhere) {
        return false;
    }
    return match_rest(pattern, path, 0);
}

static bool excluded(const struct lf_input_conf *c, const char *path)
{
    for (size_t i = 0; i < c->exclude.n; i++) {
        const char *pat = c->exclude.str[i];
        const char *base = strrchr(path, '/');
        /* A pattern without '/' applies to the file name, otherwise to the full path. */
        if (strchr(pat, '/') || !base) {
            if (lf_tail_glob_match(pat, path)) {
                return true;
            }
        } else if (fnmatch(pat, base + 1, FNM_PATHNAME) == 0) {
            return true;
        }
    }
    return false;
}

bool tail_path_wanted(const struct lf_tail *t, const char *path)
{
    for (size_t p = 0; p < t->conf->paths.n; p++) {
        if (lf_tail_glob_match(t->conf->paths.str[p], path)) {
            return !excluded(t->conf, path);
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

/* File systems on which inotify sees only the changes made through this kernel: writes
 * from other hosts (network, cluster) or from a FUSE daemon's backend go unreported. */
static bool fs_blind(const char *dir)
{
    static const unsigned long magic[] = {
        0x6969,     /* NFS */
        0x517B,     /* SMB */
        0xFF534D42, /* CIFS */
        0xFE534D42, /* SMB2 */
        0x65735546, /* FUSE */
        0x01021997, /* 9P */
        0x00C36400, /* Ceph */
        0x5346414F, /* AFS */
        0x7461636F, /* OCFS2 */
        0x01161970, /* GFS2 */
        0x0BD00BD0, /* Lustre */
    };
    struct statfs sf;
    if (statfs(dir, &sf) != 0) {
        return true; /* unknown: keep the rescan */
    }
    for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++) {
        if ((unsigned long)sf.f_type == magic[i]) {
            return true;
        }
    }
    return false;
}

/* Watches dir (once). Returns false if it cannot be watched (not there yet: the
 * rescan or an event of its parent tries again; another failure makes the tail blind
 * until a scan watches it). */
static bool dir_add(struct lf_tail *t, const char *dir)
{
    if (dir_known(t, dir)) {
        return true;
    }
    int wd = t->inofd >= 0 ? inotify_add_watch(t->inofd, dir, DIR_EVENTS) : -1;
    if (t->inofd >= 0 && wd < 0) {
        t->watch_failed = t->watch_failed || (errno != ENOENT && errno != ENOTDIR);
        return false;
    }
    char *p = strdup(dir);
    if (!p || lf_vec_reserve(&t->dirs, &t->dirs_cap, t->ndirs + 1) != LF_OK) {
        free(p);
        t->watch_failed = true;
        return true; /* unwatched: the rescan still lists it */
    }
    t->dirs[t->ndirs++] = (struct tail_dir){.path = p, .wd = wd, .blind = fs_blind(dir)};
    return true;
}

bool tail_blind(const struct lf_tail *t)
{
    if (t->inofd < 0 || t->watch_failed || t->nskipped > 0) {
        return true;
    }
    for (size_t i = 0; i < t->ndirs; i++) {
        if (t->dirs[i].blind || t->dirs[i].wd < 0) {
            return true;
        }
    }
    return false;
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
        f->path_len = strlen(p);
        f->ckpt_dirty = true;
    }
}

/* One path a glob matched. A tracked file costs one stat(2); only new ones are opened. */
static bool scan_path(struct lf_tail *t, const char *path, bool initial)
{
    struct stat st;
    if (stat(path, &st) != 0) { /* follows symlinks: identity by target */
        if (errno == ENOENT) {
            tail_skip_clear(t, path); /* gone again: the rescan retries */
        } else {
            tail_skip_errno(t, path, errno, "stat"); /* ELOOP, EACCES on a directory */
        }
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        tail_skip_mode(t, path, st.st_mode); /* never opened: a FIFO would block */
        return false;
    }
    if (excluded(t->conf, path)) {
        return true;
    }
    struct lf_tail_file *f = find_ino(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (!f) {
        struct lf_tail_file *nf;
        int fd = tail_open_path(t, path);
        if (fd < 0) {
            tail_skip_errno(t, path, errno, "open");
            return true;
        }
        tail_skip_clear(t, path);
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            find_ino(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
            close(fd); /* replaced between stat and open: the next scan sees it */
            t->need_scan = true;
            return true;
        }
        if (tail_file_open(t, path, fd, initial ? TAIL_OPEN_INITIAL : TAIL_OPEN_NEW, &nf) ==
            LF_OK) {
            nf->seen = true;
            if (!initial) {
                lf_log_info(t->log, "%s: new file", path);
            }
        }
        return true;
    }
    if (f->seen) {
        return true; /* another name (link) of a file already matched */
    }
    f->seen = true;
    if (f->orphan) {
        lf_log_info(t->log, "%s: back under a glob as %s", f->path, path);
        f->orphan = false;
        t->no_slot = false;
    }
    set_path(t, f, path);
    if ((uint64_t)st.st_size != f->read_offset) {
        f->readable = true; /* the safety poll: appends or truncation inotify missed */
    }
    return true;
}

struct walk {
    struct lf_tail *t;
    bool initial;
    size_t matched;
    char path[PATH_MAX]; /* the directory being walked */
};

static bool has_magic(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == '\\') {
            return true;
        }
    }
    return false;
}

/* Appends name to w->path; returns the old length (to cut back to), or -1 if too long. */
static int path_push(struct walk *w, const char *name, size_t n)
{
    size_t len = strlen(w->path);
    bool slash = len > 0 && w->path[len - 1] != '/';
    if (len + slash + n + 1 > sizeof(w->path)) {
        return -1;
    }
    if (slash) {
        w->path[len] = '/';
    }
    memcpy(w->path + len + slash, name, n);
    w->path[len + slash + n] = '\0';
    return (int)len;
}

static void walk(struct walk *w, const char *rest, int depth);

/* The pattern's base directory is not there: watch its nearest existing ancestor, so its
 * creation triggers a scan (which goes one level further) instead of waiting for the
 * rescan. */
static void watch_ancestor(struct lf_tail *t, const char *dir)
{
    char p[PATH_MAX], up[PATH_MAX];
    snprintf(p, sizeof(p), "%s", dir);
    while (t->inofd >= 0 && strcmp(p, "/") != 0 && strcmp(p, ".") != 0) {
        dir_of(p, up, sizeof(up));
        memcpy(p, up, sizeof(p));
        if (dir_add(t, p)) {
            return;
        }
    }
}

static void walk_child(struct walk *w, const char *name, size_t n, const char *rest, bool file,
                       int depth)
{
    int old = path_push(w, name, n);
    if (old < 0) {
        return;
    }
    if (file) {
        w->matched += scan_path(w->t, w->path, w->initial);
    } else {
        walk(w, rest, depth);
    }
    w->path[old] = '\0';
}

/* Matches the pattern rest below the directory w->path (watched first, then listed). */
static void walk(struct walk *w, const char *rest, int depth)
{
    const char *dir = w->path[0] ? w->path : ".";
    rest = skip_slashes(rest);
    size_t pn = comp_len(rest);
    const char *next = skip_slashes(rest + pn);
    bool last = !*next;
    bool star = is_globstar(rest, pn);
    if (pn == 0 || depth > TAIL_MAX_DEPTH) {
        return;
    }
    if (!dir_add(w->t, dir)) {
        if (depth == 0) {
            watch_ancestor(w->t, dir);
        }
        return;
    }
    if (star && !last && is_globstar(next, comp_len(next))) {
        walk(w, next, depth); /* two globstars in a row are one: not exponential */
        return;
    }
    if (star) {
        walk(w, last ? "*" : next, depth + 1); /* zero levels */
    }
    if (!star && !has_magic(rest, pn)) {
        walk_child(w, rest, pn, next, last, depth + 1);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t nn = strlen(name);
        struct stat st;
        if (star) {
            /* one more level: real directories only, not hidden ones, no symlink loops */
            if (name[0] != '.' && fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISDIR(st.st_mode)) {
                walk_child(w, name, nn, rest, false, depth + 1);
            }
        } else if (comp_match(rest, pn, name, nn)) {
            if (last) {
                walk_child(w, name, nn, NULL, true, depth + 1);
            } else if (fstatat(dirfd(d), name, &st, 0) == 0 && S_ISDIR(st.st_mode)) {
                walk_child(w, name, nn, next, false, depth + 1);
            }
        }
    }
    closedir(d);
}

/* Expands one pattern: the walk starts at its literal prefix directory. */
static size_t walk_pattern(struct lf_tail *t, const char *pattern, bool initial)
{
    struct walk *w = malloc(sizeof(*w));
    if (!w) {
        return 0;
    }
    w->t = t;
    w->initial = initial;
    w->matched = 0;
    w->path[0] = '\0';
    const char *rest = pattern;
    if (rest[0] == '/') {
        snprintf(w->path, sizeof(w->path), "/");
    }
    for (;;) {
        rest = skip_slashes(rest);
        size_t pn = comp_len(rest);
        const char *next = skip_slashes(rest + pn);
        if (!*next || has_magic(rest, pn) || path_push(w, rest, pn) < 0) {
            break;
        }
        rest = next;
    }
    walk(w, rest, 0);
    size_t n = w->matched;
    free(w);
    return n;
}

int tail_scan(struct lf_tail *t, bool initial)
{
    t->watch_failed = false; /* set again by what this scan cannot watch */
    for (size_t i = 0; i < t->nfiles; i++) {
        t->files[i]->seen = false;
    }
    for (size_t p = 0; p < t->conf->paths.n; p++) {
        if (walk_pattern(t, t->conf->paths.str[p], initial) == 0 && initial) {
            lf_log_warn(t->log, "input %s: no file matches %s (yet)", t->conf->name,
                        t->conf->paths.str[p]);
        }
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

/* A file was renamed away from a matching path: remember the rename's cookie, in case we
 * never opened it (created and rotated before we looked; moved_to checks the inode). */
static void moved_from(struct lf_tail *t, const char *dir, const char *name, uint32_t cookie)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path) || !tail_path_wanted(t, path)) {
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
    if (!known || n < 0 || (size_t)n >= sizeof(path) || tail_path_wanted(t, path)) {
        return; /* still matched: the scan handles it */
    }
    int fd = tail_open_path(t, path);
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

/* True if a directory event can change what the globs match: the directory itself, a
 * subdirectory (or a symlink to one), a name a pattern matches, or a tracked file's
 * name. Other names (temp files, other applications' files) do not cost a scan. */
static bool event_matters(struct lf_tail *t, const char *dir, const struct inotify_event *ev)
{
    char path[PATH_MAX];
    struct stat st;
    if (!ev->len || (ev->mask & (IN_ISDIR | IN_DELETE_SELF | IN_MOVE_SELF))) {
        return true;
    }
    int n = snprintf(path, sizeof(path), "%s/%s", dir, ev->name);
    if (n < 0 || (size_t)n >= sizeof(path) || tail_path_wanted(t, path)) {
        return true;
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        if (strcmp(t->files[i]->path, path) == 0) {
            return true;
        }
    }
    return (ev->mask & (IN_CREATE | IN_MOVED_TO)) && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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
        if ((ev->mask & SCAN_EVENTS) && event_matters(t, d->path, ev)) {
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
            if (ev->mask & IN_IGNORED) {
                t->files[i]->wd = -1; /* inode gone: the poll covers the rest */
            }
        }
    }
}

void lf_tail_mark_readable(struct lf_tail *t, int wd)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        struct lf_tail_file *f = t->files[i];
        /* A closed file is reopened only if the scan sees it changed (stat, no open). */
        if (wd < 0 ? f->fd >= 0 : f->wd == wd) {
            f->readable = true;
        }
    }
    if (wd < 0) {
        t->need_scan = true;
    }
}

/* ---- rotated while stopped, pruning ----------------------------------------------- */

void tail_gone_add(struct lf_tail *t, uint64_t dev, uint64_t ino, int64_t now)
{
    if (lf_vec_reserve(&t->gone, &t->gone_cap, t->ngone + 1) != LF_OK) {
        return; /* not pruned: the store keeps one stale line */
    }
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
            t->sink.forget(t->sink.files_ctx, g->dev, g->ino);
            continue;
        }
        t->gone[keep++] = *g;
    }
    t->ngone = keep;
}

int64_t tail_prune_due(const struct lf_tail *t)
{
    int64_t due = INT64_MAX;
    for (size_t i = 0; i < t->ngone; i++) {
        int64_t at = t->gone[i].since_ms + t->conf->forget_after_ms;
        due = at < due ? at : due;
    }
    return due;
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

/* Looks in dir for a regular file with device+inode; returns its path (owned) or NULL. */
static char *find_in_dir(const char *dir, uint64_t dev, uint64_t ino)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *found = NULL;
    if (!d) {
        return NULL;
    }
    /* First pass: only names whose d_ino is the inode (no stat); second pass: all names
     * (symlinks, and file systems such as overlayfs where d_ino may differ). */
    for (int pass = 0; pass < 2 && !found; pass++) {
        rewinddir(d);
        while (!found && (de = readdir(d)) != NULL) {
            struct stat st;
            if ((pass == 0 && de->d_ino != ino) || (pass == 1 && de->d_ino == ino)) {
                continue;
            }
            if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode) ||
                (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
                continue;
            }
            size_t len = strlen(dir) + strlen(de->d_name) + 2;
            found = malloc(len);
            if (found) {
                snprintf(found, len, "%s/%s", dir, de->d_name);
            }
        }
    }
    closedir(d);
    return found;
}

char *tail_find_inode(struct lf_tail *t, const struct lf_tail_file *f)
{
    char dir[PATH_MAX];
    dir_of(f->path, dir, sizeof(dir));
    char *p = find_in_dir(dir, f->id.dev, f->id.ino);
    for (size_t i = 0; !p && i < t->ndirs; i++) {
        if (strcmp(t->dirs[i].path, dir) != 0) {
            p = find_in_dir(t->dirs[i].path, f->id.dev, f->id.ino);
        }
    }
    return p;
}

void tail_resume_rotated(struct lf_tail *t)
{
    char dir[PATH_MAX];
    int64_t now = lf_mono_ms();
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
