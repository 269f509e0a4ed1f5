/* lf_testlib.c - integration test helpers (see lf_testlib.h). */
#include "lf_testlib.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t lft_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *lft_mkdtemp(const char *tag)
{
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "/tmp/lft-%s-XXXXXX", tag);
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        abort();
    }
    chmod(d, 0755);
    return strdup(d);
}

int lft_rmtree(const char *path)
{
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    return lft_run(argv, NULL);
}

int lft_run(char *const argv[], const char *logpath)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        fprintf(stderr, "lft_run: %s: posix_spawn_file_actions_init failed\n", argv[0]);
        return 127;
    }
    if (logpath) {
        posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    pid_t pid;
    /* posix_spawnp, not fork: safe in a test that already runs threads (librdkafka) */
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        fprintf(stderr, "lft_run: %s: %s\n", argv[0], strerror(err));
        return 127;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            perror("lft_run: waitpid");
            return 127;
        }
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool lft_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || *s == '\0' || isspace((unsigned char)*s)) {
        return false;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool lft_arg_long(const char *prog, const char *name, const char *s, long min, long max, long *out)
{
    if (lft_parse_long(s, min, max, out)) {
        return true;
    }
    fprintf(stderr, "%s: %s must be an integer in [%ld, %ld], not '%s'\n", prog, name, min, max,
            s ? s : "");
    return false;
}

void lft_write_file(const char *path, const char *content, bool append)
{
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

char *lft_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
    }
    if (len) {
        *len = n;
    }
    return buf;
}

size_t lft_count_lines(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return 0;
    }
    char buf[65536];
    ssize_t n;
    size_t lines = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))); p++) {
            lines++;
        }
    }
    close(fd);
    return lines;
}

void lft_append_numbered(const char *path, const char *prefix, size_t first, size_t n)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        perror(path);
        abort();
    }
    for (size_t i = first; i < first + n; i++) {
        fprintf(f, "%s %zu\n", prefix, i);
    }
    fclose(f);
}

pid_t lft_spawn(char *const argv[], const char *logpath)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = logpath ? open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int lft_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = lft_now_ms() + timeout_ms;
    int st;
    while (lft_now_ms() < deadline) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(5000); /* bounded poll of the exit status */
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

size_t lft_wait_lines(const char *path, size_t n, int timeout_ms)
{
    int64_t deadline = lft_now_ms() + timeout_ms;
    size_t got = lft_count_lines(path);
    while (got < n && lft_now_ms() < deadline) {
        usleep(10000); /* bounded poll of the observable result */
        got = lft_count_lines(path);
    }
    return got;
}

const char *lft_bin(void)
{
    const char *b = getenv("LF_BIN");
    return b ? b : "build/agent/logferry";
}

long lft_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

long lft_ckpt_offset(const char *state_dir, const char *path)
{
    char cp[4200], line[8192];
    struct stat st;
    long off = -1;
    if (stat(path, &st) != 0) {
        return -1;
    }
    snprintf(cp, sizeof(cp), "%s/checkpoints", state_dir);
    FILE *f = fopen(cp, "r");
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        unsigned long long dev, ino, o;
        unsigned fl;
        char hash[32];
        if (sscanf(line, "%llu %llu %u %31s %llu", &dev, &ino, &fl, hash, &o) == 5 &&
            ino == (unsigned long long)st.st_ino) {
            off = (long)o;
        }
    }
    fclose(f);
    return off;
}
