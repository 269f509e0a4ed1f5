/* kafka_harness.h - in-process stand-in for the core, mock-kafka and kcat helpers. */
#ifndef KAFKA_HARNESS_H
#define KAFKA_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "kafka.h"

struct h_rec {
    struct lf_record rec; /* first: the plugin sees &h_rec.rec */
    bool pending, in_flight, delivered, rejected;
    int acks;
    char reason[512];
};
_Static_assert(offsetof(struct h_rec, rec) == 0,
               "the harness casts the plugin's struct lf_record * back to its h_rec");

struct harness {
    struct lf_out_instance *ins;
    const struct lf_output_plugin *plugin;
    void *dl;
    void *state;
    struct lf_log_ctx log_ctx;
    int wake_fd;
    bool adaptive;  /* lf_out_service_in was called: no 100 ms service tick */
    int64_t svc_at; /* adaptive: when service() was asked for, INT64_MAX none */
    bool ready, stopping;
    struct h_rec *recs;
    struct lf_record **queue;
    size_t nrecs, cap, pending, inflight, offered;
    size_t delivered, rejected, retried, double_acks;
    int errors_logged;
    char last_error[1024];
};

struct mock_kafka {
    pid_t pid;
    FILE *ctl, *out;
    char bootstraps[512];
    char answer[512];
};

int64_t h_now_ms(void);
void h_note_log(struct harness *h, enum lf_log_level lvl, const char *line);
void h_on_ack(struct harness *h, struct lf_record *rec, enum lf_outcome outcome,
              const char *reason);
struct harness *h_create(const char *so_path);
void h_destroy(struct harness *h);
int h_validate(struct harness *h, const struct kafka_config *cfg);
int h_init(struct harness *h, const struct kafka_config *cfg);
void h_reserve(struct harness *h, size_t cap);
void h_add_records(struct harness *h, size_t n, size_t (*make)(size_t i, struct lf_record *rec));
void h_run_until(struct harness *h, bool (*done)(struct harness *), int64_t timeout_ms);
bool h_all_settled(struct harness *h);
int h_flush(struct harness *h, int timeout_ms);

int mk_start(struct mock_kafka *mk, const char *const *args);
const char *mk_cmd(struct mock_kafka *mk, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
long mk_hwm(struct mock_kafka *mk, const char *topic);
/* Polls the topic's high watermark until it reaches want or timeout_ms passes; returns the
 * last value (-1 while no broker answers). */
long mk_wait_hwm(struct mock_kafka *mk, const char *topic, long want, int64_t timeout_ms);
void mk_stop(struct mock_kafka *mk);
FILE *kcat_read(struct mock_kafka *mk, const char *topic);

#endif
