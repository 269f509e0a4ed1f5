/* bench_spool.c - spool write and drain throughput with fsync=batch.
 *
 * Usage: bench-spool [-s SYNC_MS] [records (default 300000)] [dir (default a new
 *        /tmp/lf-bench-spool-*)]
 * Appends ~300-byte records shaped like encoded nginx records, calling lf_spool_sync
 * whenever SYNC_MS (default 100, fsync: batch; 0 = after every append, fsync: always)
 * of wall clock passed since the last sync, and once at the end; then reopens the spool
 * (recovery scan) and drains it: read + ack, synced the same way. Each phase stops after
 * 60 s. Prints MB/s (spool bytes, frames + headers) and records/s.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lf_spool.h"
#include "logferry/lf_err.h"

#define PHASE_MAX_NS 60000000000LL

struct phase {
    const char *name;
    int64_t t0, last_sync, sync_ns;
    uint64_t records, syncs;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench-spool: %s: %s\n", what, lf_strerror(rc));
    exit(1);
}

/* Syncs when 100 ms passed; returns false once the phase is over its time budget. */
static bool tick(struct lf_spool *s, struct phase *p)
{
    int64_t t = now_ns();
    if (t - p->last_sync >= p->sync_ns) {
        int rc = lf_spool_sync(s);
        if (rc != LF_OK) {
            die("sync", rc);
        }
        p->syncs++;
        p->last_sync = now_ns();
    }
    return t - p->t0 < PHASE_MAX_NS;
}

static void report(struct phase *p, struct lf_spool *s, uint64_t bytes)
{
    int rc = lf_spool_sync(s);
    if (rc != LF_OK) {
        die("sync", rc);
    }
    p->syncs++;
    double sec = (double)(now_ns() - p->t0) / 1e9;
    printf("%-7s %8" PRIu64 " records %8.1f MB %7.3f s %8.1f MB/s %9.0f rec/s %5" PRIu64 " syncs\n",
           p->name, p->records, (double)bytes / 1e6, sec, (double)bytes / 1e6 / sec,
           (double)p->records / sec, p->syncs);
}

static int make_payload(char *buf, size_t cap, uint64_t i)
{
    return snprintf(buf, cap,
                    "{\"@timestamp\":\"2026-11-22T00:%02u:%02u.%03uZ\",\"type\":\"request\",\"id\":"
                    "\"%032" PRIx64
                    "\",\"client.ip\":\"10.0.%u.%u\",\"http.request.method\":\"GET\","
                    "\"url.path\":\"/api/v1/o/%" PRIu64 "\",\"http.response.status_code\":200,"
                    "\"http.response.body.bytes\":%u,\"user_agent.original\":\"curl/8.5.0\","
                    "\"event.duration\":%u}",
                    (unsigned)(i / 60000 % 60), (unsigned)(i / 1000 % 60), (unsigned)(i % 1000),
                    i * 2654435761u, (unsigned)(i >> 8 & 255), (unsigned)(i & 255), i % 100000,
                    (unsigned)(i * 7 % 50000), (unsigned)(i % 900000));
}

static void write_phase(struct lf_spool *s, uint64_t n, int64_t sync_ns)
{
    struct phase p = {.name = "write", .t0 = now_ns(), .sync_ns = sync_ns};
    p.last_sync = p.t0;
    char payload[512], id[33];
    uint64_t payload_bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        int len = make_payload(payload, sizeof(payload), i);
        payload_bytes += (uint64_t)len;
        snprintf(id, sizeof(id), "%032" PRIx64, i * 2654435761u);
        struct lf_spool_rec r = {
            .payload = payload,
            .payload_len = (size_t)len,
            .id = id,
            .source = "/var/log/nginx/access.log",
            .input = "access",
            .type = 1,
            .timestamp_ms = 1795000000000 + (int64_t)i,
            .dev = 2049,
            .ino = 131073,
            .start_offset = i * 180,
            .end_offset = i * 180 + 179,
        };
        int rc = lf_spool_append(s, &r);
        if (rc != LF_OK) {
            die("append", rc);
        }
        p.records++;
        if (!tick(s, &p)) {
            break;
        }
    }
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    report(&p, s, st.bytes);
    printf("        payload %.0f bytes/record, %.0f spool bytes/record\n",
           (double)payload_bytes / (double)p.records, (double)st.bytes / (double)p.records);
}

static void drain_phase(struct lf_spool *s, int64_t sync_ns)
{
    struct phase p = {.name = "drain", .t0 = now_ns(), .sync_ns = sync_ns};
    p.last_sync = p.t0;
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    uint64_t bytes = st.bytes;
    struct lf_spool_rec r;
    struct lf_spool_pos pos;
    int rc;
    while ((rc = lf_spool_read(s, &r, &pos)) == LF_OK) {
        lf_spool_rec_free(&r);
        lf_spool_ack(s, pos);
        p.records++;
        if (!tick(s, &p)) {
            break;
        }
    }
    if (rc != LF_OK && rc != LF_ENOTFOUND) {
        die("read", rc);
    }
    lf_spool_get_stats(s, &st);
    report(&p, s, bytes - st.bytes);
}

int main(int argc, char **argv)
{
    int64_t sync_ms = 100;
    if (argc > 2 && strcmp(argv[1], "-s") == 0) {
        sync_ms = strtoll(argv[2], NULL, 10);
        argc -= 2;
        argv += 2;
    }
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000;
    char tmpl[] = "/tmp/lf-bench-spool-XXXXXX";
    const char *dir = argc > 2 ? argv[2] : mkdtemp(tmpl);
    if (!dir) {
        perror("mkdtemp");
        return 1;
    }
    struct lf_spool_opts o = {.segment_size = 8u << 20};
    struct lf_spool *s;
    int rc = lf_spool_open(dir, &o, NULL, &s);
    if (rc != LF_OK) {
        die("open", rc);
    }
    printf("spool %s, sync every %" PRId64 " ms%s\n", dir, sync_ms,
           sync_ms ? " (fsync: batch)" : ", i.e. after each append (fsync: always)");
    write_phase(s, n, sync_ms * 1000000);
    lf_spool_close(s);

    int64_t t0 = now_ns();
    rc = lf_spool_open(dir, &o, NULL, &s);
    if (rc != LF_OK) {
        die("reopen", rc);
    }
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    double sec = (double)(now_ns() - t0) / 1e9;
    printf("reopen  %8" PRIu64 " records %8.1f MB %7.3f s %8.1f MB/s (recovery scan)\n", st.records,
           (double)st.bytes / 1e6, sec, (double)st.bytes / 1e6 / sec);
    drain_phase(s, sync_ms * 1000000);
    lf_spool_close(s);
    if (argc <= 2) { /* drained: only the head file is left */
        char head[64];
        snprintf(head, sizeof(head), "%s/head", dir);
        if (unlink(head) != 0 || rmdir(dir) != 0) {
            fprintf(stderr, "bench-spool: could not remove %s\n", dir);
        }
    }
    return 0;
}
