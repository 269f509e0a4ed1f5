/* bench_tail.c - read throughput of the tail alone into a null sink: lf_tail driven like
 * the agent does (lf_tail_read with a budget per turn) with an emit callback that only
 * counts records and acknowledges them at once. No parsing, no encoding, no output.
 *
 * Usage: bench_tail [LINES] [FILES] [MAX_OPEN_FILES] [LINE_BYTES]
 *   defaults 1000000 lines of 222 bytes (newline included) in 1 file. With FILES > 1 the
 *   lines are spread over the files and max_open_files (default 1024) may be set lower
 *   to measure the cost of closing and reopening. The files are written first (so they
 *   are in the page cache: this measures the tail, not the disk), then read once; the
 *   best of 3 runs is reported. Not a test: `meson compile` builds it, run by hand or
 *   with `meson test --benchmark tail-null`.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lf_ckpt.h"
#include "lf_ckpt_policy.h"
#include "lf_conf.h"
#include "lf_testlib.h"
#include "lf_tracker.h"
#include "logferry/lf_err.h"
#include "tail.h"

struct sink {
    uint64_t records;
    uint64_t bytes;
    struct lf_tracker *tr;
};

static int count(void *ctx, const struct lf_tail_src *f, const char *text, size_t len,
                 uint64_t start, uint64_t end, unsigned flags)
{
    struct sink *s = ctx;
    (void)text;
    (void)start;
    (void)flags;
    s->records++;
    s->bytes += len + 1;
    return lf_tracker_skip(s->tr, f->key, end);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_files(const char *dir, long lines, int files, int line_bytes)
{
    char path[512];
    char *line = malloc((size_t)line_bytes + 1);
    if (!line) {
        return -1;
    }
    for (int k = 0; k < files; k++) {
        snprintf(path, sizeof(path), "%s/f%05d.log", dir, k);
        FILE *f = fopen(path, "w");
        if (!f) {
            free(line);
            return -1;
        }
        setvbuf(f, NULL, _IOFBF, 1 << 20);
        for (long i = k; i < lines; i += files) {
            /* a plausible access-log line, padded to line_bytes with the newline */
            int n = snprintf(line, (size_t)line_bytes + 1,
                             "2026-11-21T10:00:00.123Z INFO [worker-7] GET /api/v1/items/%ld "
                             "status=200 bytes=5123 dur_ms=12 user=u%ld trace=%016lx ",
                             i, i % 9973, (unsigned long)i * 2654435761u);
            while (n < line_bytes - 1) {
                line[n++] = 'x';
            }
            line[line_bytes - 1] = '\n';
            fwrite(line, 1, (size_t)line_bytes, f);
        }
        fclose(f);
    }
    free(line);
    return 0;
}

/* The floor: the same files read with pread(2) in read_buffer blocks and their newlines
 * counted with memchr, nothing else. Returns lines/s. The ratio tail/floor does not
 * depend on the machine's clock. */
static double floor_lps(const char *dir, int files, long lines)
{
    static char buf[256 * 1024];
    char path[512];
    long n = 0;
    double t0 = now_s();
    for (int k = 0; k < files; k++) {
        snprintf(path, sizeof(path), "%s/f%05d.log", dir, k);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return 0;
        }
        ssize_t got;
        off_t off = 0;
        while ((got = pread(fd, buf, sizeof(buf), off)) > 0) {
            for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++) {
                n++;
            }
            off += got;
        }
        close(fd);
    }
    double el = now_s() - t0;
    return n == lines ? (double)n / el : 0;
}

int main(int argc, char **argv)
{
    long lines = 1000000, nfiles = 1, nmax_open = 1024, nline_bytes = 222;
    if ((argc > 1 && !lft_arg_long("bench_tail", "LINES", argv[1], 1, LONG_MAX, &lines)) ||
        (argc > 2 && !lft_arg_long("bench_tail", "FILES", argv[2], 1, INT_MAX, &nfiles)) ||
        (argc > 3 &&
         !lft_arg_long("bench_tail", "MAX_OPEN_FILES", argv[3], 1, INT_MAX, &nmax_open)) ||
        (argc > 4 &&
         !lft_arg_long("bench_tail", "LINE_BYTES", argv[4], 160, INT_MAX, &nline_bytes))) {
        fprintf(stderr, "usage: bench_tail [LINES] [FILES] [MAX_OPEN_FILES] [LINE_BYTES>=160]\n");
        return 2;
    }
    int files = (int)nfiles, max_open = (int)nmax_open, line_bytes = (int)nline_bytes;
    char dir[] = "/tmp/lf-bench-tail-XXXXXX";
    if (!mkdtemp(dir) || write_files(dir, lines, files, line_bytes) != 0) {
        perror("setup");
        return 1;
    }
    double best = 0;
    struct lf_tail_stats stats = {0};
    for (int run = 0; run < 3; run++) {
        char state[600], yaml[2048], err[256];
        snprintf(state, sizeof(state), "%s/state%d", dir, run);
        snprintf(yaml, sizeof(yaml),
                 "agent: {state_dir: %s}\n"
                 "inputs: [{name: b, paths: ['%s/*.log'], max_open_files: %d}]\n"
                 "outputs: [{name: o, plugin: stdout}]\n",
                 state, dir, max_open);
        struct lf_diag d;
        struct lf_config *cfg;
        struct lf_ckpt_store *ckpt;
        struct lf_log_ctx log = {.prefix = "[bench]", .level = LF_LOG_ERROR};
        struct lf_tail *t;
        struct sink s = {0};
        lf_diag_init(&d, "bench.yaml");
        if (lf_conf_load_string(yaml, "bench.yaml", NULL, &d, &cfg) != LF_OK ||
            lf_ckpt_open(dir, &ckpt, err, sizeof(err)) != LF_OK) {
            fprintf(stderr, "setup failed\n");
            return 1;
        }
        lf_diag_fini(&d);
        struct lf_ckpt_policy cp;
        struct lf_tail_sink sink = {.emit = count, .emit_ctx = &s};
        if (lf_tracker_create(NULL, NULL, &s.tr) != LF_OK) {
            return 1;
        }
        lf_ckpt_policy_init(&cp, ckpt, s.tr, 1000, &log, 0);
        lf_ckpt_policy_sink(&cp, &sink);
        double t0 = now_s();
        if (lf_tail_create(lf_conf_input(cfg, 0), 0, ckpt, -1, &sink, &log, &t) != LF_OK) {
            fprintf(stderr, "lf_tail_create failed\n");
            return 1;
        }
        bool more = true;
        while (more) {
            if (lf_tail_read(t, 1u << 20, &more) != LF_OK) { /* the agent's READ_BUDGET */
                fprintf(stderr, "read failed\n");
                return 1;
            }
        }
        double el = now_s() - t0;
        stats = t->stats;
        lf_tail_destroy(t);
        lf_tracker_destroy(s.tr);
        lf_ckpt_close(ckpt);
        lf_conf_free(cfg);
        if (s.records != (uint64_t)lines) {
            fprintf(stderr, "read %llu records, want %ld\n", (unsigned long long)s.records, lines);
            return 1;
        }
        double lps = (double)s.records / el;
        printf("run %d: %llu lines, %.1f MB in %.3f s = %.0f lines/s, %.1f MB/s\n", run,
               (unsigned long long)s.records, (double)s.bytes / 1e6, el, lps,
               (double)s.bytes / 1e6 / el);
        best = lps > best ? lps : best;
    }
    printf("best: %.0f lines/s = %.1f MB/s (%d-byte lines, %d files, max_open_files %d, "
           "%llu closes, %llu reopens)\n",
           best, best * line_bytes / 1e6, line_bytes, files, max_open,
           (unsigned long long)stats.files_closed, (unsigned long long)stats.files_reopened);
    double fl = 0;
    for (int run = 0; run < 3; run++) {
        double v = floor_lps(dir, files, lines);
        fl = v > fl ? v : fl;
    }
    printf("floor (pread + memchr only): %.0f lines/s = %.1f MB/s; tail/floor = %.2f\n", fl,
           fl * line_bytes / 1e6, fl > 0 ? best / fl : 0);
    return lft_rmtree(dir) == 0 ? 0 : 1;
}
