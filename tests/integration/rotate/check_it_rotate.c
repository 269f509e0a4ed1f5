/* check_it_rotate.c - end-to-end tail tests: the real logferry binary (LF_BIN) tails files
 * into the built-in file output while the tests rotate them with the real logrotate
 * (LOGROTATE), truncate, delete, recreate and restart. Every test writes lines "TAG SEQ"
 * where TAG names one physical file content, then checks at the output that each TAG's
 * sequence is exactly 1..N, in order: 0 lost, 0 duplicated, order per file kept.
 * Waits poll the output file with deadlines; no sleep is used as synchronisation.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lf_testlib.h"

extern char **environ;

struct it {
    char dir[256];
    char conf[300];
    char out[300];
    char log[300];
    pid_t pid;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < cap);
}

/* extra: more YAML lines for the input (each starting with 4 spaces). */
static void it_setup(struct it *t, const char *globs, const char *extra)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/lf-it-rotate-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    pathf(t->conf, sizeof(t->conf), "%s/logferry.yaml", t->dir);
    pathf(t->out, sizeof(t->out), "%s/out.json", t->dir);
    pathf(t->log, sizeof(t->log), "%s/agent.log", t->dir);
    char logs[300];
    pathf(logs, sizeof(logs), "%s/logs", t->dir);
    ck_assert_int_eq(mkdir(logs, 0755), 0);
    FILE *c = fopen(t->conf, "w");
    ck_assert_ptr_nonnull(c);
    fprintf(c,
            "agent:\n  state_dir: %s/state\n  checkpoint_interval: 200ms\n"
            "inputs:\n  - name: t\n    paths: [%s/logs/%s]\n    rotate_wait: 300ms\n"
            "    partial_timeout: 300ms\n%s"
            "outputs:\n  - name: f\n    plugin: file\n    path: %s\n",
            t->dir, t->dir, globs, extra ? extra : "", t->out);
    fclose(c);
    t->pid = -1;
}

static void it_start(struct it *t)
{
    const char *bin = getenv("LF_BIN");
    ck_assert_ptr_nonnull(bin);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, t->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)bin, "run", "-c", t->conf, NULL};
    ck_assert_int_eq(posix_spawn(&t->pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
}

/* The last 30 lines of the agent's log to stderr (what `tail -n 30` prints). */
static void dump_log(const struct it *t)
{
    size_t len;
    char *s = lft_read_file(t->log, &len);
    if (!s) {
        fprintf(stderr, "%s: %s\n", t->log, strerror(errno));
        return;
    }
    size_t start = len > 0 && s[len - 1] == '\n' ? len - 1 : len;
    int nl = 0;
    while (start > 0 && !(s[start - 1] == '\n' && ++nl == 30)) {
        start--;
    }
    fwrite(s + start, 1, len - start, stderr);
    free(s);
}

/* SIGTERM, then waits (bounded) for a clean exit. */
static void it_stop(struct it *t)
{
    int st = 0;
    if (t->pid < 0) {
        return;
    }
    kill(t->pid, SIGTERM);
    int64_t dl = now_ms() + 15000;
    pid_t r;
    while ((r = waitpid(t->pid, &st, WNOHANG)) == 0 && now_ms() < dl) {
        nap_ms(10);
    }
    if (r == 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, &st, 0);
    }
    t->pid = -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        dump_log(t);
    }
    ck_assert_msg(r != 0, "agent did not stop within 15 s");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit status %d", st);
}

static void it_teardown(struct it *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
    }
    if (getenv("LF_IT_KEEP")) {
        return;
    }
    lft_rmtree(t->dir);
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;
    if (!f) {
        return 0;
    }
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            n += buf[i] == '\n';
        }
    }
    (void)ch;
    fclose(f);
    return n;
}

/* Polls the output until it holds at least n lines or timeout_ms passed. */
static void wait_lines(struct it *t, long n, int timeout_ms)
{
    int64_t dl = now_ms() + timeout_ms;
    long have;
    while ((have = count_lines(t->out)) < n && now_ms() < dl) {
        nap_ms(20);
    }
    if (have < n) {
        dump_log(t);
    }
    ck_assert_msg(have >= n, "output has %ld lines, want %ld within %d ms", have, n, timeout_ms);
}

/* Polls the agent's log for a text. */
static void wait_log(struct it *t, const char *text, int timeout_ms)
{
    int64_t dl = now_ms() + timeout_ms;
    while (now_ms() < dl) {
        FILE *f = fopen(t->log, "r");
        char line[2048];
        bool found = false;
        while (f && !found && fgets(line, sizeof(line), f)) {
            found = strstr(line, text) != NULL;
        }
        if (f) {
            fclose(f);
        }
        if (found) {
            return;
        }
        nap_ms(20);
    }
    dump_log(t);
    ck_abort_msg("agent log never said \"%s\"", text);
}

/* ---- writers ---------------------------------------------------------------------- */

static void logpath(const struct it *t, const char *name, char *out, size_t cap)
{
    pathf(out, cap, "%s/logs/%s", t->dir, name);
}

static int open_log(const struct it *t, const char *name)
{
    char p[400];
    logpath(t, name, p, sizeof(p));
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* Writes lines "tag from..to" (inclusive), batched. */
static void write_lines(int fd, const char *tag, long from, long to)
{
    char buf[1 << 16];
    size_t len = 0;
    for (long i = from; i <= to; i++) {
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %ld\n", tag, i);
        if (len > sizeof(buf) - 128 || i == to) {
            ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
            len = 0;
        }
    }
}

static void write_file(const struct it *t, const char *name, const char *tag, long n)
{
    int fd = open_log(t, name);
    write_lines(fd, tag, 1, n);
    close(fd);
}

/* Runs logrotate -f -s STATE CONF on the given config body for logs/<name>. */
static pid_t logrotate_spawn(const struct it *t, const char *name, const char *body)
{
    char conf[400], state[400], p[400];
    pathf(conf, sizeof(conf), "%s/logrotate.conf", t->dir);
    pathf(state, sizeof(state), "%s/logrotate.state", t->dir);
    logpath(t, name, p, sizeof(p));
    FILE *c = fopen(conf, "w");
    ck_assert_ptr_nonnull(c);
    fprintf(c, "%s {\n%s\n}\n", p, body);
    fclose(c);
    const char *lr = getenv("LOGROTATE");
    if (!lr) {
        lr = "/usr/sbin/logrotate";
    }
    pid_t pid;
    char *argv[] = {(char *)lr, "-f", "-s", state, conf, NULL};
    ck_assert_int_eq(posix_spawn(&pid, lr, NULL, NULL, argv, environ), 0);
    return pid;
}

static void logrotate(const struct it *t, const char *name, const char *body)
{
    int st;
    pid_t pid = logrotate_spawn(t, name, body);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "logrotate failed: %d", st);
}

/* ---- verification ----------------------------------------------------------------- */

struct expect {
    const char *tag;
    long n;
};

/* Every output line's message is "TAG SEQ"; each expected TAG must show 1..n in order,
 * and nothing else may appear. */
static void verify(struct it *t, const struct expect *ex, size_t nex)
{
    FILE *f = fopen(t->out, "r");
    ck_assert_ptr_nonnull(f);
    long *next = calloc(nex, sizeof(*next));
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        char *m = strstr(line, "\"message\":\"");
        ck_assert_msg(m, "line %ld has no message: %s", lineno, line);
        m += strlen("\"message\":\"");
        char tag[64];
        long seq;
        ck_assert_msg(sscanf(m, "%63s %ld", tag, &seq) == 2, "bad message at %ld: %s", lineno,
                      line);
        ck_assert_msg(strstr(line, "\"log.file.path\":") && strstr(line, "\"log.offset\":"),
                      "line %ld lacks path/offset", lineno);
        size_t k = 0;
        while (k < nex && strcmp(ex[k].tag, tag) != 0) {
            k++;
        }
        ck_assert_msg(k < nex, "unexpected tag %s at output line %ld", tag, lineno);
        if (seq != next[k] + 1) {
            dump_log(t);
        }
        ck_assert_msg(seq == next[k] + 1, "tag %s: got %ld after %ld (output line %ld): %s", tag,
                      seq, next[k], lineno, seq <= next[k] ? "duplicate or reorder" : "lost");
        next[k] = seq;
    }
    for (size_t k = 0; k < nex; k++) {
        ck_assert_msg(next[k] == ex[k].n, "tag %s: %ld of %ld lines", ex[k].tag, next[k], ex[k].n);
    }
    free(line);
    free(next);
    fclose(f);
}

static long total(const struct expect *ex, size_t n)
{
    long s = 0;
    for (size_t i = 0; i < n; i++) {
        s += ex[i].n;
    }
    return s;
}

#define NEX(a) (sizeof(a) / sizeof((a)[0]))

/* ---- tests ------------------------------------------------------------------------ */

/* logrotate create: the writer keeps its old handle for a while (lines land in app.log.1),
 * then reopens the path (new file). */
START_TEST(create_keep_handle)
{
    struct it t;
    it_setup(&t, "*.log", NULL);
    int fd = open_log(&t, "app.log");
    write_lines(fd, "g1", 1, 2000);
    it_start(&t);
    wait_lines(&t, 1, 20000); /* the agent has the file open (else it is not its business) */
    logrotate(&t, "app.log", "create\nrotate 1");
    write_lines(fd, "g1", 2001, 3000); /* through the old handle */
    int fd2 = open_log(&t, "app.log");
    write_lines(fd2, "g2", 1, 1500);
    write_lines(fd, "g1", 3001, 3100); /* late write to the rotated file */
    close(fd);
    close(fd2);
    struct expect ex[] = {{"g1", 3100}, {"g2", 1500}};
    wait_lines(&t, total(ex, NEX(ex)), 20000);
    wait_log(&t, "released", 10000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* copytruncate, then at once more bytes than the old offset: size alone cannot tell. */
START_TEST(copytruncate_regrow)
{
    struct it t;
    it_setup(&t, "*.log", NULL);
    int fd = open_log(&t, "app.log");
    it_start(&t);
    write_lines(fd, "c1", 1, 1000);
    wait_lines(&t, 1000, 20000); /* copytruncate loses what was not read: by design */
    logrotate(&t, "app.log", "copytruncate\nrotate 1");
    write_lines(fd, "c2", 1, 3000); /* O_APPEND: starts at 0 again, grows past old offset */
    close(fd);
    struct expect ex[] = {{"c1", 1000}, {"c2", 3000}};
    wait_lines(&t, total(ex, NEX(ex)), 20000);
    wait_log(&t, "truncated", 5000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* rotate 0: the file is renamed and deleted; the agent reads it to EOF through its fd. */
START_TEST(rotate_zero)
{
    struct it t;
    it_setup(&t, "*.log", NULL);
    int fd = open_log(&t, "app.log");
    write_lines(fd, "z1", 1, 100);
    it_start(&t);
    wait_lines(&t, 100, 20000);
    write_lines(fd, "z1", 101, 5000); /* maybe unread when the file disappears */
    logrotate(&t, "app.log", "create\nrotate 0");
    write_lines(fd, "z1", 5001, 5100); /* into the deleted file */
    close(fd);
    write_file(&t, "app.log", "z2", 700);
    struct expect ex[] = {{"z1", 5100}, {"z2", 700}};
    wait_lines(&t, total(ex, NEX(ex)), 20000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* Plain truncation to 0, then fewer bytes than before. */
START_TEST(truncation)
{
    struct it t;
    it_setup(&t, "*.log", NULL);
    int fd = open_log(&t, "app.log");
    it_start(&t);
    write_lines(fd, "t1", 1, 1000);
    wait_lines(&t, 1000, 20000);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    write_lines(fd, "t2", 1, 50);
    close(fd);
    struct expect ex[] = {{"t1", 1000}, {"t2", 50}};
    wait_lines(&t, total(ex, NEX(ex)), 20000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* A 50,000-line burst; logrotate (create) runs concurrently in the middle; the writer
 * keeps writing through its old handle until logrotate is done, then reopens. */
START_TEST(burst_rotation)
{
    struct it t;
    it_setup(&t, "*.log", NULL);
    int fd = open_log(&t, "app.log");
    write_lines(fd, "b1", 1, 1);
    it_start(&t);
    wait_lines(&t, 1, 20000);
    write_lines(fd, "b1", 2, 25000);
    pid_t lr = logrotate_spawn(&t, "app.log", "create\nrotate 2");
    long seq = 25000;
    int st;
    while (waitpid(lr, &st, WNOHANG) == 0 && seq < 49000) {
        write_lines(fd, "b1", seq + 1, seq + 10);
        seq += 10;
    }
    if (seq >= 49000) {
        waitpid(lr, &st, 0);
    }
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd);
    fd = open_log(&t, "app.log");
    write_lines(fd, "b2", 1, 50000 - seq);
    close(fd);
    struct expect ex[] = {{"b1", seq}, {"b2", 50000 - seq}};
    wait_lines(&t, 50000, 60000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* Delete and recreate with other content, live; then again while the agent is stopped
 * (the inode may be reused: the fingerprint must tell the new file from the old). */
START_TEST(delete_recreate)
{
    struct it t;
    char p[400];
    it_setup(&t, "*.log", NULL);
    logpath(&t, "app.log", p, sizeof(p));
    write_file(&t, "app.log", "d1", 1000);
    it_start(&t);
    wait_lines(&t, 1000, 20000);
    ck_assert_int_eq(unlink(p), 0);
    write_file(&t, "app.log", "d2", 800);
    wait_lines(&t, 1800, 20000);
    it_stop(&t);
    ck_assert_int_eq(unlink(p), 0);
    write_file(&t, "app.log", "d3", 900);
    it_start(&t);
    struct expect ex[] = {{"d1", 1000}, {"d2", 800}, {"d3", 900}};
    wait_lines(&t, total(ex, NEX(ex)), 20000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* SIGTERM mid-file, more lines, restart: resumes from the checkpoint, and also reads to
 * its end a file rotated while it was stopped. */
START_TEST(restart_mid_file)
{
    struct it t;
    it_setup(&t, "*.log", NULL);
    int fd = open_log(&t, "app.log");
    write_lines(fd, "r1", 1, 30000);
    it_start(&t);
    wait_lines(&t, 3000, 20000);
    it_stop(&t);
    ck_assert_int_lt(count_lines(t.out), 30000 + 1);
    write_lines(fd, "r1", 30001, 35000);
    close(fd);
    logrotate(&t, "app.log", "create\nrotate 1"); /* while stopped: app.log.1 */
    write_file(&t, "app.log", "r2", 500);
    it_start(&t);
    struct expect ex[] = {{"r1", 35000}, {"r2", 500}};
    wait_lines(&t, total(ex, NEX(ex)), 30000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* Files that appear under the glob later (created, and renamed into place) are read from 0;
 * excluded ones are not. */
START_TEST(appear_under_glob)
{
    struct it t;
    char a[400], b[400];
    it_setup(&t, "*.log", "    exclude: ['skip*.log']\n");
    it_start(&t);
    wait_log(&t, "no file matches", 10000);
    write_file(&t, "new.log", "n1", 300);
    write_file(&t, "skip.log", "s1", 10);
    write_file(&t, "staged.tmp", "n2", 200);
    logpath(&t, "staged.tmp", a, sizeof(a));
    logpath(&t, "moved.log", b, sizeof(b));
    ck_assert_int_eq(rename(a, b), 0);
    struct expect ex[] = {{"n1", 300}, {"n2", 200}};
    wait_lines(&t, total(ex, NEX(ex)), 20000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* A file created and renamed away before the agent could open it: the rename is seen
 * through inotify (IN_MOVED_FROM/IN_MOVED_TO cookie) and the file is still read whole. */
START_TEST(rotated_before_opened)
{
    struct it t;
    char a[400], b[400];
    it_setup(&t, "*.log", NULL);
    it_start(&t);
    wait_log(&t, "no file matches", 10000);
    logpath(&t, "app.log", a, sizeof(a));
    logpath(&t, "app.log.1", b, sizeof(b));
    for (int round = 0; round < 5; round++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "q%d", round);
        write_file(&t, "app.log", tag, 2000);
        ck_assert_int_eq(rename(a, b), 0);
        struct expect one[] = {{tag, 2000}};
        wait_lines(&t, 2000L * (round + 1), 20000);
        (void)one;
    }
    struct expect ex[] = {{"q0", 2000}, {"q1", 2000}, {"q2", 2000}, {"q3", 2000}, {"q4", 2000}};
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

/* A glob matching 1,000 files, then one more line in each. */
START_TEST(thousand_files)
{
    struct it t;
    enum { N = 1000 };
    it_setup(&t, "f*.log", NULL);
    static struct expect ex[N];
    static char tags[N][16];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(tags[i], sizeof(tags[i]), "k%d", i);
        snprintf(name, sizeof(name), "f%04d.log", i);
        write_file(&t, name, tags[i], 10);
        ex[i] = (struct expect){tags[i], 11};
    }
    it_start(&t);
    wait_lines(&t, N * 10, 30000);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f%04d.log", i);
        int fd = open_log(&t, name);
        write_lines(fd, tags[i], 11, 11);
        close(fd);
    }
    wait_lines(&t, N * 11, 30000);
    it_stop(&t);
    verify(&t, ex, N);
    it_teardown(&t);
}
END_TEST

/* More files than max_open_files (40 files, 8 fds, close_inactive 200ms): every file is
 * read, most get closed; then lines are written into the closed files, logrotate (create)
 * rotates all of them while the writers keep their old handles and write more, and the
 * new files are written. Closed files are reopened by identity (rotated ones found in the
 * directory): 0 lost, 0 duplicated, and none reported gone. */
START_TEST(many_files_few_fds)
{
    struct it t;
    enum { N = 40 };
    static struct expect ex[2 * N];
    static char tags[2 * N][16];
    int fds[N];
    it_setup(&t, "m*.log", "    max_open_files: 8\n    close_inactive: 200ms\n");
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "m%02d.log", i);
        snprintf(tags[i], sizeof(tags[i]), "a%d", i);
        snprintf(tags[N + i], sizeof(tags[N + i]), "b%d", i);
        ex[i] = (struct expect){tags[i], 500};
        ex[N + i] = (struct expect){tags[N + i], 100};
        fds[i] = open_log(&t, name);
        write_lines(fds[i], tags[i], 1, 200);
    }
    it_start(&t);
    wait_lines(&t, N * 200, 30000);
    for (int i = 0; i < N; i++) {
        write_lines(fds[i], tags[i], 201, 400); /* most of them into closed files */
    }
    logrotate(&t, "m*.log", "create\nrotate 1");
    for (int i = 0; i < N; i++) {
        write_lines(fds[i], tags[i], 401, 500); /* through the old handles */
        close(fds[i]);
        char name[32];
        snprintf(name, sizeof(name), "m%02d.log", i);
        write_file(&t, name, tags[N + i], 100);
    }
    wait_lines(&t, total(ex, NEX(ex)), 60000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    wait_log(&t, "gone while closed", 1000); /* the final statistics line */
    FILE *f = fopen(t.log, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    unsigned long closed = 0, gone = 1;
    while (fgets(line, sizeof(line), f)) {
        char *p = strstr(line, " truncations, ");
        if (p) {
            ck_assert_int_eq(
                sscanf(p, " truncations, %lu closed, %*u reopened, %lu gone", &closed, &gone), 2);
        }
    }
    fclose(f);
    ck_assert_msg(closed > 0, "no file was closed: max_open_files not exercised");
    ck_assert_msg(gone == 0, "%lu files reported gone while closed", gone);
    it_teardown(&t);
}
END_TEST

/* A "**" glob: files in subdirectories created while the agent runs (mkdir -p of a
 * nested tree, a directory renamed into place) are found through inotify, well before
 * the safety rescan (set to 1 h here), and a file in one of them rotated by logrotate is
 * followed: 0 lost, 0 duplicated. */
START_TEST(globstar_new_directories)
{
    struct it t;
    char a[400], b[400], p[400];
    it_setup(&t, "**/*.log", "    rescan_interval: 1h\n");
    it_start(&t);
    wait_log(&t, "no file matches", 10000);
    logpath(&t, "a/b/c", p, sizeof(p));
    char *mkdir_p[] = {"mkdir", "-p", p, NULL};
    ck_assert_int_eq(lft_run(mkdir_p, NULL), 0);
    write_file(&t, "a/b/c/deep.log", "g1", 500);
    wait_lines(&t, 500, 5000);
    logpath(&t, "staged", a, sizeof(a));
    ck_assert_int_eq(mkdir(a, 0755), 0);
    write_file(&t, "staged/x.log", "g2", 300);
    logpath(&t, "a/moved", b, sizeof(b));
    ck_assert_int_eq(rename(a, b), 0);
    wait_lines(&t, 800, 5000);
    int fd = open_log(&t, "a/b/c/deep.log");
    write_lines(fd, "g1", 501, 1000);
    logrotate(&t, "a/b/c/deep.log", "create\nrotate 1");
    write_lines(fd, "g1", 1001, 1100);
    close(fd);
    write_file(&t, "a/b/c/deep.log", "g3", 200);
    struct expect ex[] = {{"g1", 1100}, {"g2", 300}, {"g3", 200}};
    wait_lines(&t, total(ex, NEX(ex)), 20000);
    it_stop(&t);
    verify(&t, ex, NEX(ex));
    it_teardown(&t);
}
END_TEST

static Suite *rotate_suite(void)
{
    Suite *s = suite_create("it-rotate");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"create_keep_handle", create_keep_handle},
        {"copytruncate_regrow", copytruncate_regrow},
        {"rotate_zero", rotate_zero},
        {"truncation", truncation},
        {"burst_rotation", burst_rotation},
        {"delete_recreate", delete_recreate},
        {"restart_mid_file", restart_mid_file},
        {"appear_under_glob", appear_under_glob},
        {"rotated_before_opened", rotated_before_opened},
        {"thousand_files", thousand_files},
        {"many_files_few_fds", many_files_few_fds},
        {"globstar_new_directories", globstar_new_directories},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rotate_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
