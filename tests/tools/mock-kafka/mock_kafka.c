/* mock_kafka.c - a standalone Kafka-protocol cluster on loopback for the tests.
 *
 * Wraps librdkafka's mock cluster (<librdkafka/rdkafka_mock.h>): N brokers, topics from
 * arguments, the bootstrap list printed as the first line on stdout, then serves until
 * SIGTERM/SIGINT. Faults are injected while it runs through line commands read from stdin
 * (and from a FIFO given with -c). Every command is answered with one line on stdout,
 * "ok ..." or "error: ...", so a test can wait for the answer instead of sleeping.
 * It is a test tool: it keeps only the mock's limited in-memory log, no persistence.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MK_LINE_MAX 1024

struct mk {
    rd_kafka_t *rk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *reader; /* client used for `hwm` queries; created on first use */
    int broker_cnt;
    const char *bootstraps;
};

struct mk_input {
    int fd;
    char buf[MK_LINE_MAX];
    size_t len;
};

static const struct {
    const char *name;
    int16_t key;
} api_keys[] = {
    {"Produce", 0},       {"Fetch", 1},           {"ListOffsets", 2},         {"Metadata", 3},
    {"OffsetCommit", 8},  {"OffsetFetch", 9},     {"FindCoordinator", 10},    {"JoinGroup", 11},
    {"Heartbeat", 12},    {"LeaveGroup", 13},     {"SyncGroup", 14},          {"ApiVersion", 18},
    {"CreateTopics", 19}, {"InitProducerId", 22}, {"AddPartitionsToTxn", 24}, {"EndTxn", 26},
};

static void usage(FILE *out)
{
    fputs(
        "usage: mock-kafka [-b BROKERS] [-t TOPIC[:PARTITIONS[:RF]]]... [-c FIFO]\n"
        "  Prints the bootstrap list, then reads commands (stdin, FIFO):\n"
        "    down all|ID       broker(s) down (connections closed, refused)\n"
        "    up all|ID         broker(s) up again\n"
        "    rtt all|ID MS     added round-trip latency\n"
        "    err API ERR [N]   the next N (default 1) API requests fail with ERR\n"
        "                      (API: Produce, Metadata, InitProducerId... or a number;\n"
        "                       ERR: NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT... or a number)\n"
        "    clear API         drop queued errors for API\n"
        "    brokererr ID API ERR [N]  the next N API requests to broker ID fail with ERR\n"
        "    topic NAME P [RF] create a topic\n"
        "    topicerr NAME ERR metadata error for a topic (NO_ERROR clears)\n"
        "    leader TOPIC P ID move a partition's leader\n"
        "    hwm TOPIC         print the sum of the partitions' high watermarks\n"
        "    ping              answers ok\n",
        out);
}

static int parse_api(const char *s, int16_t *out)
{
    char *end;
    long v;

    for (size_t i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++) {
        if (strcasecmp(s, api_keys[i].name) == 0) {
            *out = api_keys[i].key;
            return 0;
        }
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > INT16_MAX) {
        return -1;
    }
    *out = (int16_t)v;
    return 0;
}

/* Accepts a librdkafka error name with or without the RD_KAFKA_RESP_ERR_ prefix
 * ("NOT_LEADER_FOR_PARTITION", "_TRANSPORT") or its number. */
static int parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    char *end;
    long v;

    if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0) {
        s += 18;
    }
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < -200 || v > 1000) {
        return -1;
    }
    *out = (rd_kafka_resp_err_t)v;
    return 0;
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;

    if (!s) {
        return -1;
    }
    errno = 0;
    *out = strtol(s, &end, 10);
    if (errno || *end || end == s || *out < min || *out > max) {
        return -1;
    }
    return 0;
}

/* Applies fn to broker `which` ("all" or an id). */
static rd_kafka_resp_err_t for_brokers(struct mk *mk, const char *which,
                                       rd_kafka_resp_err_t (*fn)(rd_kafka_mock_cluster_t *,
                                                                 int32_t))
{
    long id;

    if (which && strcmp(which, "all") == 0) {
        for (int32_t b = 1; b <= mk->broker_cnt; b++) {
            rd_kafka_resp_err_t err = fn(mk->mc, b);
            if (err) {
                return err;
            }
        }
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (parse_int(which, 1, mk->broker_cnt, &id) != 0) {
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    return fn(mk->mc, (int32_t)id);
}

static rd_kafka_resp_err_t set_rtt(struct mk *mk, const char *which, int rtt_ms)
{
    long id;

    if (which && strcmp(which, "all") == 0) {
        for (int32_t b = 1; b <= mk->broker_cnt; b++) {
            rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(mk->mc, b, rtt_ms);
            if (err) {
                return err;
            }
        }
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (parse_int(which, 1, mk->broker_cnt, &id) != 0) {
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    return rd_kafka_mock_broker_set_rtt(mk->mc, (int32_t)id, rtt_ms);
}

static int create_topic(struct mk *mk, const char *name, long parts, long rf, char *msg,
                        size_t msglen)
{
    rd_kafka_resp_err_t err;

    if (rf > mk->broker_cnt) {
        rf = mk->broker_cnt;
    }
    err = rd_kafka_mock_topic_create(mk->mc, name, (int)parts, (int)rf);
    if (err) {
        snprintf(msg, msglen, "topic %s: %s", name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Sum of high watermarks of all partitions of topic, via an internal client. */
static int query_hwm(struct mk *mk, const char *topic, int64_t *sum, char *msg, size_t msglen)
{
    const struct rd_kafka_metadata *md = NULL;
    const struct rd_kafka_metadata_topic *mt = NULL;
    rd_kafka_resp_err_t err;
    char errstr[256];

    if (!mk->reader) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", mk->bootstraps, errstr, sizeof(errstr)) !=
                RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            snprintf(msg, msglen, "reader conf: %s", errstr);
            return -1;
        }
        mk->reader = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!mk->reader) { /* conf is still ours on failure */
            rd_kafka_conf_destroy(conf);
            snprintf(msg, msglen, "reader: %s", errstr);
            return -1;
        }
    }
    /* All-topics metadata: asking for one topic by name would auto-create it. */
    err = rd_kafka_metadata(mk->reader, 1, NULL, &md, 5000);
    if (err) {
        snprintf(msg, msglen, "metadata: %s", rd_kafka_err2str(err));
        return -1;
    }
    for (int t = 0; t < md->topic_cnt; t++) {
        if (strcmp(md->topics[t].topic, topic) == 0) {
            mt = &md->topics[t];
        }
    }
    if (!mt) {
        snprintf(msg, msglen, "no topic %s", topic);
        rd_kafka_metadata_destroy(md);
        return -1;
    }
    *sum = 0;
    for (int p = 0; p < mt->partition_cnt; p++) {
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(mk->reader, topic, mt->partitions[p].id, &lo, &hi,
                                               5000);
        if (err) {
            snprintf(msg, msglen, "watermarks %s/%d: %s", topic, p, rd_kafka_err2str(err));
            rd_kafka_metadata_destroy(md);
            return -1;
        }
        *sum += hi;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

static void reply_err(rd_kafka_resp_err_t err, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s", rd_kafka_err2str(err));
}

/* brokererr ID API ERR [N]: the next N requests of API to broker ID fail with ERR (a
 * per-record permanent error for the partitions that broker leads). */
static int broker_err(struct mk *mk, char **argv, int argc, char *msg, size_t msglen)
{
    int16_t api;
    rd_kafka_resp_err_t inj;
    long id, n = 1;

    if (parse_int(argv[1], 1, mk->broker_cnt, &id) != 0 || parse_api(argv[2], &api) != 0 ||
        parse_err(argv[3], &inj) != 0 || (argc == 5 && parse_int(argv[4], 1, 100000, &n) != 0)) {
        snprintf(msg, msglen, "bad brokererr command");
        return -1;
    }
    for (long i = 0; i < n; i++) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_broker_push_request_error_rtts(mk->mc, (int32_t)id, api, 1, inj, 0);
        if (err) {
            reply_err(err, msg, msglen);
            return -1;
        }
    }
    return 0;
}

/* Executes one command line; fills msg; returns 0 on success. */
static int run_command(struct mk *mk, char *line, char *msg, size_t msglen)
{
    char *argv[8];
    int argc = 0;
    char *save = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    long a, b;

    msg[0] = '\0';
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < 8;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        argv[argc++] = tok;
    }
    if (argc == 0) {
        return 1; /* blank line: no answer */
    }
    if (strcmp(argv[0], "ping") == 0) {
        return 0;
    }
    if (strcmp(argv[0], "down") == 0 && argc == 2) {
        err = for_brokers(mk, argv[1], rd_kafka_mock_broker_set_down);
    } else if (strcmp(argv[0], "up") == 0 && argc == 2) {
        err = for_brokers(mk, argv[1], rd_kafka_mock_broker_set_up);
    } else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        if (parse_int(argv[2], 0, 600000, &a) != 0) {
            snprintf(msg, msglen, "bad rtt '%s'", argv[2]);
            return -1;
        }
        err = set_rtt(mk, argv[1], (int)a);
    } else if (strcmp(argv[0], "err") == 0 && (argc == 3 || argc == 4)) {
        int16_t api;
        rd_kafka_resp_err_t inj;
        a = 1;
        if (parse_api(argv[1], &api) != 0 || parse_err(argv[2], &inj) != 0 ||
            (argc == 4 && parse_int(argv[3], 1, 1000000, &a) != 0)) {
            snprintf(msg, msglen, "bad err command");
            return -1;
        }
        rd_kafka_resp_err_t *errs = calloc((size_t)a, sizeof(*errs));
        if (!errs) {
            snprintf(msg, msglen, "out of memory");
            return -1;
        }
        for (long i = 0; i < a; i++) {
            errs[i] = inj;
        }
        rd_kafka_mock_push_request_errors_array(mk->mc, api, (size_t)a, errs);
        free(errs);
    } else if (strcmp(argv[0], "brokererr") == 0 && (argc == 4 || argc == 5)) {
        return broker_err(mk, argv, argc, msg, msglen);
    } else if (strcmp(argv[0], "clear") == 0 && argc == 2) {
        int16_t api;
        if (parse_api(argv[1], &api) != 0) {
            snprintf(msg, msglen, "bad api '%s'", argv[1]);
            return -1;
        }
        rd_kafka_mock_clear_request_errors(mk->mc, api);
    } else if (strcmp(argv[0], "topic") == 0 && (argc == 3 || argc == 4)) {
        b = 1;
        if (parse_int(argv[2], 1, 10000, &a) != 0 ||
            (argc == 4 && parse_int(argv[3], 1, 100, &b) != 0)) {
            snprintf(msg, msglen, "bad topic command");
            return -1;
        }
        return create_topic(mk, argv[1], a, b, msg, msglen);
    } else if (strcmp(argv[0], "topicerr") == 0 && argc == 3) {
        rd_kafka_resp_err_t inj;
        if (parse_err(argv[2], &inj) != 0) {
            snprintf(msg, msglen, "bad error '%s'", argv[2]);
            return -1;
        }
        rd_kafka_mock_topic_set_error(mk->mc, argv[1], inj);
    } else if (strcmp(argv[0], "leader") == 0 && argc == 4) {
        if (parse_int(argv[2], 0, 10000, &a) != 0 ||
            parse_int(argv[3], -1, mk->broker_cnt, &b) != 0) {
            snprintf(msg, msglen, "bad leader command");
            return -1;
        }
        err = rd_kafka_mock_partition_set_leader(mk->mc, argv[1], (int32_t)a, (int32_t)b);
    } else if (strcmp(argv[0], "hwm") == 0 && argc == 2) {
        int64_t sum;
        if (query_hwm(mk, argv[1], &sum, msg, msglen) != 0) {
            return -1;
        }
        snprintf(msg, msglen, "%" PRId64, sum);
        return 0;
    } else {
        snprintf(msg, msglen, "unknown command '%s' (see --help)", argv[0]);
        return -1;
    }
    if (err) {
        reply_err(err, msg, msglen);
        return -1;
    }
    return 0;
}

/* Reads what is available on in; runs each complete line. Returns -1 at EOF. */
static int serve_input(struct mk *mk, struct mk_input *in)
{
    ssize_t n = read(in->fd, in->buf + in->len, sizeof(in->buf) - 1 - in->len);
    char *nl;

    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    if (n == 0) {
        return -1;
    }
    in->len += (size_t)n;
    in->buf[in->len] = '\0';
    while ((nl = memchr(in->buf, '\n', in->len)) != NULL) {
        char msg[512];
        size_t linelen = (size_t)(nl - in->buf) + 1;
        int rc;

        *nl = '\0';
        rc = run_command(mk, in->buf, msg, sizeof(msg));
        if (rc == 0) {
            printf(msg[0] ? "ok %s\n" : "ok\n", msg);
        } else if (rc < 0) {
            printf("error: %s\n", msg);
        }
        fflush(stdout);
        memmove(in->buf, in->buf + linelen, in->len - linelen);
        in->len -= linelen;
    }
    if (in->len == sizeof(in->buf) - 1) {
        printf("error: line too long\n");
        fflush(stdout);
        in->len = 0;
    }
    return 0;
}

static int open_fifo(const char *path)
{
    if (mkfifo(path, 0600) != 0 && errno != EEXIST) {
        fprintf(stderr, "mock-kafka: mkfifo %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* O_RDWR keeps a writer open ourselves, so writers coming and going never give EOF. */
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "mock-kafka: open %s: %s\n", path, strerror(errno));
    }
    return fd;
}

static int serve(struct mk *mk, int sfd, struct mk_input *ins, size_t nin)
{
    for (;;) {
        struct pollfd pfd[3];
        size_t n = 0;

        pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (size_t i = 0; i < nin; i++) {
            pfd[n++] = (struct pollfd){.fd = ins[i].fd, .events = POLLIN};
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("mock-kafka: poll");
            return 1;
        }
        if (pfd[0].revents) {
            return 0; /* SIGTERM / SIGINT */
        }
        for (size_t i = 0; i < nin; i++) {
            if (ins[i].fd >= 0 && pfd[1 + i].revents && serve_input(mk, &ins[i]) < 0) {
                ins[i].fd = -1; /* stdin closed: keep serving until signalled */
            }
        }
    }
}

static int add_topic_arg(struct mk *mk, char *spec)
{
    char *colon = strchr(spec, ':');
    long parts = 1, rf = 1;
    char msg[256];

    if (colon) {
        char *colon2 = strchr(colon + 1, ':');
        *colon = '\0';
        if (colon2) {
            *colon2 = '\0';
            if (parse_int(colon2 + 1, 1, 100, &rf) != 0) {
                fprintf(stderr, "mock-kafka: bad replication factor in -t\n");
                return -1;
            }
        }
        if (parse_int(colon + 1, 1, 10000, &parts) != 0) {
            fprintf(stderr, "mock-kafka: bad partition count in -t\n");
            return -1;
        }
    }
    if (create_topic(mk, spec, parts, rf, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "mock-kafka: %s\n", msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct mk mk = {.broker_cnt = 3};
    struct mk_input ins[2] = {{.fd = STDIN_FILENO}, {.fd = -1}};
    const char *fifo = NULL;
    char errstr[256];
    char **topics = calloc((size_t)argc, sizeof(*topics));
    int ntopics = 0, opt, rc = 1;
    long v;
    sigset_t mask;

    if (!topics) {
        return 1;
    }
    while ((opt = getopt(argc, argv, "b:t:c:h")) != -1) {
        switch (opt) {
        case 'b':
            if (parse_int(optarg, 1, 64, &v) != 0) {
                fprintf(stderr, "mock-kafka: bad broker count '%s'\n", optarg);
                goto out_free;
            }
            mk.broker_cnt = (int)v;
            break;
        case 't':
            topics[ntopics++] = optarg;
            break;
        case 'c':
            fifo = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out_free;
        default:
            usage(stderr);
            rc = 64;
            goto out_free;
        }
    }

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        perror("mock-kafka: signalfd");
        goto out_free;
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "mock-kafka: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out_close_sfd;
    }
    mk.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!mk.rk) {
        fprintf(stderr, "mock-kafka: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out_close_sfd;
    }
    /* conf now belongs to mk.rk */
    mk.mc = rd_kafka_mock_cluster_new(mk.rk, mk.broker_cnt);
    if (!mk.mc) {
        fprintf(stderr, "mock-kafka: cannot create the mock cluster\n");
        goto out_destroy_rk;
    }
    mk.bootstraps = rd_kafka_mock_cluster_bootstraps(mk.mc);
    for (int i = 0; i < ntopics; i++) {
        if (add_topic_arg(&mk, topics[i]) != 0) {
            goto out_destroy_mc;
        }
    }
    if (fifo) {
        ins[1].fd = open_fifo(fifo);
        if (ins[1].fd < 0) {
            goto out_destroy_mc;
        }
    }
    fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    printf("%s\n", mk.bootstraps);
    fflush(stdout);

    rc = serve(&mk, sfd, ins, 2);

    if (ins[1].fd >= 0) {
        close(ins[1].fd);
    }
out_destroy_mc:
    if (mk.reader) {
        rd_kafka_destroy(mk.reader);
    }
    rd_kafka_mock_cluster_destroy(mk.mc);
out_destroy_rk:
    rd_kafka_destroy(mk.rk);
out_close_sfd:
    close(sfd);
out_free:
    free(topics);
    return rc;
}
