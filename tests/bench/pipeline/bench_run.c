/* bench_run.c - lf-bench-run: runs one agent against a Kafka topic and times it.
 *
 *   lf-bench-run -b BOOTSTRAP -t TOPIC -n LINES [-T TIMEOUT_S] [-s SETTLE_MS] -- CMD ARGS...
 *
 * Forks CMD, then polls the sum of the topic's partition high watermarks every 10 ms
 * (ListOffsets through librdkafka) until it reaches LINES or TIMEOUT_S passes. At that
 * moment it reads the agent's utime+stime (/proc/PID/stat, all threads) and VmHWM
 * (/proc/PID/status). If CMD exits on its own first (kcat -P), wait4()'s rusage is used.
 * After SETTLE_MS more it reads the watermark again (duplicates show as hwm > LINES),
 * sends SIGTERM, waits at most 15 s, then SIGKILL. Prints one line of key=value:
 *   wall_s first_s lines hwm cpu_user_s cpu_sys_s rss_kib exit timeout
 * Wall time runs from fork to the poll that saw LINES. Exit status 0 if all arrived.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fputs("usage: lf-bench-run -b BOOTSTRAP -t TOPIC -n LINES [-T TIMEOUT_S] [-s SETTLE_MS] "
          "-- CMD ARGS...\n",
          stderr);
}

/* Sum of high watermarks; -1 on error. */
static int64_t hwm_sum(rd_kafka_t *rk, const char *topic, int *nparts)
{
    if (*nparts <= 0) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 1, NULL, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return -1;
        }
        for (int t = 0; t < md->topic_cnt; t++) {
            if (strcmp(md->topics[t].topic, topic) == 0 && md->topics[t].err == 0) {
                *nparts = md->topics[t].partition_cnt;
            }
        }
        rd_kafka_metadata_destroy(md);
        if (*nparts <= 0) {
            return -1;
        }
    }
    int64_t sum = 0;
    for (int p = 0; p < *nparts; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 2000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            return -1;
        }
        sum += hi;
    }
    return sum;
}

static bool read_proc(pid_t pid, double *user, double *sys, long *hwm_kib)
{
    char path[64], buf[4096];
    FILE *f;
    long tck = sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f) {
        return false;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) {
        return false;
    }
    /* after ") ": state(3) ... utime is field 14, stime 15 */
    unsigned long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return false;
    }
    *user = (double)ut / (double)tck;
    *sys = (double)st / (double)tck;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f) {
        return false;
    }
    while (fgets(buf, sizeof(buf), f)) {
        if (strncmp(buf, "VmHWM:", 6) == 0) {
            *hwm_kib = strtol(buf + 6, NULL, 10);
        }
    }
    fclose(f);
    return true;
}

int main(int argc, char **argv)
{
    const char *boot = NULL, *topic = NULL;
    int64_t lines = -1;
    double timeout = 300;
    long settle_ms = 1000;
    int opt;

    while ((opt = getopt(argc, argv, "+b:t:n:T:s:h")) != -1) {
        switch (opt) {
        case 'b':
            boot = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'n':
            lines = strtoll(optarg, NULL, 10);
            break;
        case 'T':
            timeout = strtod(optarg, NULL);
            break;
        case 's':
            settle_ms = strtol(optarg, NULL, 10);
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!boot || !topic || lines <= 0 || optind >= argc) {
        usage();
        return 2;
    }

    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", boot, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        fprintf(stderr, "lf-bench-run: %s\n", errstr);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "lf-bench-run: %s\n", errstr);
        return 2;
    }
    int nparts = 0;
    int64_t base = -1;
    for (int i = 0; i < 100 && base < 0; i++) { /* at most ~10 s */
        base = hwm_sum(rk, topic, &nparts);
        if (base < 0) {
            usleep(100000);
        }
    }
    if (base < 0) {
        fprintf(stderr, "lf-bench-run: cannot read watermarks of %s\n", topic);
        rd_kafka_destroy(rk);
        return 2;
    }

    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[optind], argv + optind);
        perror(argv[optind]);
        _exit(127);
    }

    double first = -1, done = -1, user = -1, sys = -1;
    long rss = -1;
    int64_t seen = 0;
    bool exited = false;
    double exited_at = 0;
    int status = 0;
    struct rusage ru;

    while (now_s() - t0 < timeout) {
        int64_t s = hwm_sum(rk, topic, &nparts);
        double t = now_s() - t0;
        if (s >= 0) {
            seen = s - base;
            if (seen > 0 && first < 0) {
                first = t;
            }
            if (seen >= lines) {
                done = t;
                if (!exited && (!read_proc(pid, &user, &sys, &rss) || rss < 0)) {
                    /* a zombie has no VmHWM: it exited on its own (kcat -P) */
                    if (wait4(pid, &status, 0, &ru) == pid) {
                        exited = true;
                        user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
                        sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
                        rss = ru.ru_maxrss;
                    }
                }
                break;
            }
        }
        if (!exited) {
            pid_t w = wait4(pid, &status, WNOHANG, &ru);
            if (w == pid) {
                exited = true;
                user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
                sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
                rss = ru.ru_maxrss;
                exited_at = now_s();
            }
        } else if (now_s() - exited_at > 3) { /* gone and nothing more arrives */
            break;
        }
        usleep(10000);
    }
    if (done >= 0 && settle_ms > 0) {
        usleep((useconds_t)settle_ms * 1000);
        int64_t s = hwm_sum(rk, topic, &nparts);
        if (s >= 0) {
            seen = s - base;
        }
    }
    if (!exited) {
        kill(pid, SIGTERM);
        double tk = now_s();
        while (now_s() - tk < 15) {
            pid_t w = wait4(pid, &status, WNOHANG, &ru);
            if (w == pid) {
                exited = true;
                break;
            }
            usleep(20000);
        }
        if (!exited) {
            kill(pid, SIGKILL);
            wait4(pid, &status, 0, &ru);
        }
        if (user < 0) { /* timed out: report what the whole run cost */
            user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
            sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
            rss = ru.ru_maxrss;
        }
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("wall_s=%.3f first_s=%.3f lines=%" PRId64 " hwm=%" PRId64
           " cpu_user_s=%.2f cpu_sys_s=%.2f rss_kib=%ld exit=%d timeout=%d\n",
           done, first, lines, seen, user, sys, rss, code, done < 0);
    rd_kafka_destroy(rk);
    return done >= 0 ? 0 : 1;
}
