/* bench_latency.c - lf-bench-latency: append-to-arrival latency of a log shipping agent.
 *
 *   lf-bench-latency -b BOOTSTRAP -t TOPIC -f FILE [-r RATE] [-d SECONDS] [-p AGENT_PID]
 *                    [-w WAIT_FOR_HWM] [-D DIRECT]
 *
 * 1. Waits (at most 60 s) until the sum of the topic's high watermarks reaches
 *    WAIT_FOR_HWM (the agent has caught up with the pre-filled file).
 * 2. Assigns a consumer (fetch.wait.max.ms=1) to every partition at its current high
 *    watermark.
 * 3. Appends RATE lines/s for SECONDS to FILE, one write(2) per line. Each line is an
 *    nginx combined line whose path is /lat/SEQ/NS, NS being CLOCK_REALTIME at the write.
 *    With -D 1 the lines are produced directly to the topic instead (harness floor).
 * 4. The consumer finds "/lat/" in each message (raw line or JSON), and takes
 *    receive time - NS. It stops when every SEQ arrived or 10 s after the last write.
 * Prints: sent recv dup p50_ms p99_ms p999_ms max_ms cpu_pct (agent CPU over the append
 * period, % of one core, if -p was given).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "lf_testlib.h"

static const char PROG[] = "lf-bench-latency";
static const char USAGE[] = "usage: lf-bench-latency -b BOOT -t TOPIC -f FILE [-r RATE] [-d S] "
                            "[-p PID] [-w HWM] [-D 1]\n";

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double proc_cpu_s(int pid)
{
    char path[64], buf[4096];
    unsigned long ut = 0, st = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return -1;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static rd_kafka_t *mk_client(rd_kafka_type_t type, const char *boot)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", boot},
        {"log_level", "3"},
        {"group.id", "lf-bench-latency"},
        {"enable.auto.commit", "false"},
        {"fetch.wait.max.ms", "1"},
        {"fetch.error.backoff.ms", "1"},
        {"linger.ms", "0"},
        {"enable.partition.eof", "false"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        if (type == RD_KAFKA_PRODUCER && i >= 2 && i != 6) {
            continue;
        }
        if (type == RD_KAFKA_CONSUMER && i == 6) {
            continue;
        }
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr))) {
            fprintf(stderr, "lf-bench-latency: %s\n", errstr);
            exit(2);
        }
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "lf-bench-latency: %s\n", errstr);
        exit(2);
    }
    return rk;
}

int main(int argc, char **argv)
{
    const char *boot = NULL, *topic = NULL, *file = NULL;
    int rate = 1000, secs = 20, pid = 0, direct = 0, opt;
    int64_t wait_hwm = 0;
    long num = 0;
    bool arg_ok = true;

    while ((opt = getopt(argc, argv, "b:t:f:r:d:p:w:D:h")) != -1) {
        switch (opt) {
        case 'b':
            boot = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'r':
            arg_ok = lft_arg_long(PROG, "-r RATE", optarg, 1, 100000, &num);
            rate = (int)num;
            break;
        case 'd':
            arg_ok = lft_arg_long(PROG, "-d SECONDS", optarg, 1, 3600, &num);
            secs = (int)num;
            break;
        case 'p':
            arg_ok = lft_arg_long(PROG, "-p AGENT_PID", optarg, 0, INT_MAX, &num);
            pid = (int)num;
            break;
        case 'w':
            arg_ok = lft_arg_long(PROG, "-w WAIT_FOR_HWM", optarg, 0, LONG_MAX, &num);
            wait_hwm = num;
            break;
        case 'D':
            arg_ok = lft_arg_long(PROG, "-D DIRECT", optarg, 0, 1, &num);
            direct = (int)num;
            break;
        default:
            arg_ok = false;
            break;
        }
        if (!arg_ok) {
            fputs(USAGE, stderr);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!boot || !topic || (!file && !direct) || rate <= 0 || rate > 100000 || secs <= 0 ||
        secs > 3600) {
        fputs("lf-bench-latency: -b, -t and -f are required (see -h)\n", stderr);
        return 2;
    }

    rd_kafka_t *c = mk_client(RD_KAFKA_CONSUMER, boot);
    const struct rd_kafka_metadata *md = NULL;
    int nparts = 0;
    for (int i = 0; i < 50 && nparts == 0; i++) {
        if (rd_kafka_metadata(c, 1, NULL, &md, 2000) == 0) {
            for (int t = 0; t < md->topic_cnt; t++) {
                if (strcmp(md->topics[t].topic, topic) == 0) {
                    nparts = md->topics[t].partition_cnt;
                }
            }
            rd_kafka_metadata_destroy(md);
        }
        if (nparts == 0) {
            usleep(100000);
        }
    }
    if (nparts == 0) {
        fprintf(stderr, "lf-bench-latency: no topic %s\n", topic);
        return 2;
    }
    /* 1. wait for the agent to catch up */
    int64_t *hi = calloc((size_t)nparts, sizeof(*hi));
    double tw = mono_s();
    for (;;) {
        int64_t sum = 0, lo;
        bool ok = true;
        for (int p = 0; p < nparts; p++) {
            ok = ok && rd_kafka_query_watermark_offsets(c, topic, p, &lo, &hi[p], 2000) == 0;
            sum += hi[p];
        }
        if (ok && sum >= wait_hwm) {
            break;
        }
        if (mono_s() - tw > 60) {
            fprintf(stderr, "lf-bench-latency: hwm %" PRId64 " < %" PRId64 " after 60 s\n", sum,
                    wait_hwm);
            return 1;
        }
        usleep(20000);
    }
    /* 2. assign at the high watermarks */
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++) {
        rd_kafka_topic_partition_list_add(tl, topic, p)->offset = hi[p];
    }
    rd_kafka_assign(c, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    /* let the fetchers start */
    double ts0 = mono_s();
    while (mono_s() - ts0 < 1.0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 50);
        if (m) {
            rd_kafka_message_destroy(m);
        }
    }

    int total = rate * secs;
    double *lat = calloc((size_t)total, sizeof(double));
    unsigned char *got = calloc((size_t)total, 1);
    int recv = 0, dup = 0, sent = 0;
    int fd = -1;
    rd_kafka_t *prod = NULL;
    rd_kafka_topic_t *prkt = NULL;
    if (direct) {
        prod = mk_client(RD_KAFKA_PRODUCER, boot);
        /* A topic handle made now gets its metadata as soon as a broker is up; a topic
         * first named by producev() waits for librdkafka's 1 s topic scan, which showed
         * as a ~1 s stall (p99 ~900 ms) in some floor runs. */
        prkt = rd_kafka_topic_new(prod, topic, NULL);
    } else {
        fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0) {
            perror(file);
            return 2;
        }
    }
    double cpu0 = pid ? proc_cpu_s(pid) : -1;
    double start = mono_s(), cpu1 = -1, last_write = 0;
    unsigned seed = 12345;

    /* 3 + 4: writer paced on the monotonic clock, consumer polled in between */
    while (recv < total) {
        double now = mono_s();
        while (sent < total && now >= start + (double)sent / rate) {
            char line[512];
            seed = seed * 1103515245u + 12345u;
            int n = snprintf(line, sizeof(line),
                             "10.%u.%u.%u - - [21/Nov/2025:12:00:00 +0000] \"GET /lat/%d/%" PRId64
                             " HTTP/1.1\" 200 %u \"https://www.example.com/\" \"Mozilla/5.0 (X11; "
                             "Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\"\n",
                             (seed >> 8) & 255, (seed >> 16) & 255, (seed >> 24) | 1, sent,
                             real_ns(), 100 + (seed & 32767));
            if (direct) {
                while (rd_kafka_producev(
                           prod, RD_KAFKA_V_RKT(prkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                           RD_KAFKA_V_VALUE(line, (size_t)n - 1), RD_KAFKA_V_END) != 0) {
                    rd_kafka_poll(prod, 1);
                }
                rd_kafka_poll(prod, 0);
            } else if (write(fd, line, (size_t)n) != n) {
                perror("write");
                return 2;
            }
            sent++;
            now = mono_s();
            last_write = now;
        }
        if (sent == total && cpu1 < 0 && pid) {
            cpu1 = proc_cpu_s(pid);
        }
        if (sent == total && mono_s() - last_write > 10) {
            break;
        }
        double next = sent < total ? start + (double)sent / rate : now + 0.05;
        int wait_ms = (int)((next - mono_s()) * 1000);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, wait_ms < 0 ? 0 : wait_ms);
        while (m) {
            int64_t arrived = real_ns();
            if (!m->err && m->payload) {
                const char *v = memmem(m->payload, m->len, "/lat/", 5);
                if (v) {
                    char tmp[64];
                    size_t off = (size_t)(v - (const char *)m->payload) + 5;
                    size_t k = m->len - off < sizeof(tmp) - 1 ? m->len - off : sizeof(tmp) - 1;
                    memcpy(tmp, v + 5, k);
                    tmp[k] = '\0';
                    char *end;
                    long seq = strtol(tmp, &end, 10);
                    if (*end == '/' && seq >= 0 && seq < total) {
                        int64_t ns = strtoll(end + 1, NULL, 10);
                        if (got[seq]) {
                            dup++;
                        } else {
                            got[seq] = 1;
                            lat[recv++] = (double)(arrived - ns) / 1e6;
                        }
                    }
                }
            }
            rd_kafka_message_destroy(m);
            if (direct) {
                rd_kafka_poll(prod, 0);
            }
            m = rd_kafka_consumer_poll(c, 0);
        }
    }
    if (pid && cpu1 < 0) {
        cpu1 = proc_cpu_s(pid);
    }
    qsort(lat, (size_t)recv, sizeof(double), cmp_d);
#define PCT(q) (recv ? lat[(size_t)((double)(recv - 1) * (q))] : -1.0)
    printf("sent=%d recv=%d dup=%d p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f cpu_pct=%.1f\n",
           sent, recv, dup, PCT(0.5), PCT(0.99), PCT(0.999), recv ? lat[recv - 1] : -1.0,
           pid && cpu0 >= 0 && cpu1 >= 0 ? 100.0 * (cpu1 - cpu0) / secs : -1.0);
    if (fd >= 0) {
        close(fd);
    }
    if (prod) {
        rd_kafka_flush(prod, 5000);
        rd_kafka_topic_destroy(prkt);
        rd_kafka_destroy(prod);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    free(lat);
    free(got);
    free(hi);
    return recv == total ? 0 : 1;
}
