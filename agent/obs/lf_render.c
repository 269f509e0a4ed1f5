/* lf_render.c - Prometheus/OpenMetrics text, /status JSON and table, readiness, all from
 * a snapshot (see lf_render.h). Metric families are tables of rows (name, type, help,
 * where the value is), so each family is written once and documented in docs/metrics.md.
 */
#include "lf_render.h"

#include <dirent.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lf_breaker.h"
#include "logferry/lf_err.h"

/* ---- process --------------------------------------------------------------------------- */

static uint64_t count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    uint64_t n = 0;
    if (!d) {
        return 0;
    }
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory's own fd */
}

void lf_proc_read(struct lf_proc_stats *p)
{
    char buf[2048];
    memset(p, 0, sizeof(*p));
    p->open_fds = count_fds();
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) {
        return;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *r = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut, st, starttime, rss_pages;
    long threads;
    /* fields 3.. after the name: state(3) ... utime(14) stime(15) ... num_threads(20)
     * itrealvalue(21) starttime(22) vsize(23) rss(24) */
    if (!r || sscanf(r + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld "
                     "%*d %llu %*u %llu",
                     &ut, &st, &threads, &starttime, &rss_pages) != 5) {
        return;
    }
    double hz = (double)sysconf(_SC_CLK_TCK);
    p->cpu_seconds = (double)(ut + st) / hz;
    p->threads = (uint64_t)threads;
    p->rss_bytes = rss_pages * (uint64_t)sysconf(_SC_PAGESIZE);
    f = fopen("/proc/stat", "r");
    while (f && fgets(buf, sizeof(buf), f)) {
        unsigned long long btime;
        if (sscanf(buf, "btime %llu", &btime) == 1) {
            p->start_time_seconds = (double)btime + (double)starttime / hz;
        }
    }
    if (f) {
        fclose(f);
    }
}

/* ---- Prometheus text -------------------------------------------------------------------- */

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct family {
    const char *name; /* full Prometheus name (counters end in _total) */
    enum mtype type;
    const char *help;
    size_t off;         /* offset of a uint64_t in the row struct */
    const char *reason; /* value of a `reason` label, or NULL */
};

struct out {
    struct lf_buf *b;
    bool om; /* OpenMetrics */
    int rc;  /* first error, sticky */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    if (o->rc != LF_OK) {
        return;
    }
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        o->rc = LF_ETOOBIG;
        return;
    }
    o->rc = lf_buf_append(o->b, tmp, (size_t)n);
}

/* A label value: \ " and newline escaped. */
static void put_label_value(struct out *o, const char *v)
{
    for (; *v && o->rc == LF_OK; v++) {
        if (*v == '\n') {
            o->rc = lf_buf_append_str(o->b, "\\n");
            continue;
        }
        if (*v == '\\' || *v == '"') {
            o->rc = lf_buf_append_char(o->b, '\\');
        }
        if (o->rc == LF_OK) {
            o->rc = lf_buf_append_char(o->b, *v);
        }
    }
}

/* "# HELP" and "# TYPE" of a family; OpenMetrics names a counter family without _total. */
static void put_head(struct out *o, const char *name, enum mtype type, const char *help)
{
    size_t len = strlen(name);
    if (o->om && type == M_COUNTER && len > 6 && strcmp(name + len - 6, "_total") == 0) {
        len -= 6;
    }
    const char *t = type == M_COUNTER ? "counter" : type == M_GAUGE ? "gauge" : "histogram";
    put(o, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)len, name, help, (int)len, name, t);
}

/* Writes `name{k1="v1",k2="v2",reason="r"} ` (labels with a NULL key are left out). */
static void put_series(struct out *o, const char *name, const char *k1, const char *v1,
                       const char *k2, const char *v2, const char *reason)
{
    const char *keys[3] = {k1, k2, reason ? "reason" : NULL};
    const char *vals[3] = {v1, v2, reason};
    bool any = false;
    put(o, "%s", name);
    for (int i = 0; i < 3; i++) {
        if (!keys[i]) {
            continue;
        }
        put(o, "%s%s=\"", any ? "," : "{", keys[i]);
        put_label_value(o, vals[i]);
        put(o, "\"");
        any = true;
    }
    put(o, "%s ", any ? "}" : "");
}

static void put_u64(struct out *o, uint64_t v)
{
    put(o, "%" PRIu64 "\n", v);
}

static void put_double(struct out *o, double v)
{
    put(o, "%.3f\n", v);
}

/* One family per row of tab (rows with the same name share their head); one series per
 * element of arr (stride bytes apart), labelled label="name of the element". */
static void put_table(struct out *o, const struct family *tab, size_t ntab,
                      const struct lf_snapshot *s, const void *arr, size_t n, size_t stride,
                      size_t name_off, const char *label)
{
    for (size_t r = 0; r < ntab; r++) {
        if (r == 0 || strcmp(tab[r].name, tab[r - 1].name) != 0) {
            put_head(o, tab[r].name, tab[r].type, tab[r].help);
        }
        for (size_t i = 0; i < n; i++) {
            const char *row = (const char *)arr + i * stride;
            size_t name;
            uint64_t v;
            memcpy(&name, row + name_off, sizeof(name));
            memcpy(&v, row + tab[r].off, sizeof(v));
            put_series(o, tab[r].name, label, lf_snapshot_str(s, name), NULL, NULL, tab[r].reason);
            put_u64(o, v);
        }
    }
}

#define IN(f) offsetof(struct lf_snap_input, f)
static const struct family input_families[] = {
    {"logferry_input_bytes_read_total", M_COUNTER, "Bytes read from the input's files.",
     IN(tail.bytes_read), NULL},
    {"logferry_input_records_total", M_COUNTER,
     "Records made from the input's lines (after multi-line joining, before the filter).",
     IN(router.records), NULL},
    {"logferry_input_parse_failures_total", M_COUNTER,
     "Records whose text the parser could not parse (sent as raw with a parse_failure tag).",
     IN(router.parse_errors), NULL},
    {"logferry_input_redactions_total", M_COUNTER,
     "Values the input's redact: replaced (SQL literals and pattern matches).",
     IN(router.redactions), NULL},
    {"logferry_input_records_dropped_total", M_COUNTER,
     "Records dropped before any output, by reason (filter: the input's filter; unrouted: "
     "no output's match takes their type).",
     IN(router.filtered), "filter"},
    {"logferry_input_records_dropped_total", M_COUNTER, "", IN(router.unrouted), "unrouted"},
    {"logferry_input_rotations_total", M_COUNTER,
     "Files that left their glob path (renamed away or deleted).", IN(tail.rotations), NULL},
    {"logferry_input_truncations_total", M_COUNTER,
     "Files that started again (truncate, copytruncate).", IN(tail.truncations), NULL},
    {"logferry_input_files_opened_total", M_COUNTER, "File identities the input started to follow.",
     IN(tail.files_opened), NULL},
    {"logferry_input_files_lost_total", M_COUNTER,
     "Closed files not found again (bytes written after the close are lost).", IN(tail.closed_gone),
     NULL},
    {"logferry_input_files", M_GAUGE, "Files the input follows.", IN(files), NULL},
    {"logferry_input_open_files", M_GAUGE, "Files the input holds open.", IN(open_files), NULL},
};
#undef IN

#define OUT(f) offsetof(struct lf_snap_output, st.f)
static const struct family output_families[] = {
    {"logferry_output_records_delivered_total", M_COUNTER,
     "Records the output acknowledged (from log files and from the spool).", OUT(delivered), NULL},
    {"logferry_output_records_retried_total", M_COUNTER, "Retries scheduled.", OUT(retried), NULL},
    {"logferry_output_records_spooled_total", M_COUNTER, "Records appended to the spool.",
     OUT(spooled), NULL},
    {"logferry_output_records_drained_total", M_COUNTER,
     "Records sent from the spool and acknowledged.", OUT(drained), NULL},
    {"logferry_output_records_in_flight", M_GAUGE,
     "Records given to the output with no outcome yet.", OUT(inflight), NULL},
    {"logferry_output_retry_queue_records", M_GAUGE, "Records waiting for a retry.",
     OUT(retry_queue), NULL},
    {"logferry_output_breaker_opens_total", M_COUNTER, "Times the circuit breaker opened.",
     OUT(breaker_opens), NULL},
    {"logferry_output_spool_records", M_GAUGE, "Records in the spool not yet acknowledged.",
     OUT(spool_records), NULL},
    {"logferry_output_spool_bytes", M_GAUGE, "Bytes of the spool's segment files.",
     OUT(spool_bytes), NULL},
    {"logferry_output_records_dropped_total", M_COUNTER,
     "Records dropped by the output path, by reason (spool_full: buffer.when_full "
     "drop_oldest).",
     OUT(spool_dropped), "spool_full"},
    {"logferry_output_push_failures_total", M_COUNTER,
     "Pushes to the output's worker that failed for lack of memory (kept and pushed again).",
     OUT(push_failures), NULL},
    {"logferry_output_dead_letter_write_failures_total", M_COUNTER,
     "Failed writes or syncs of the dead-letter file (written again).", OUT(dead_failures), NULL},
};
#undef OUT

static void put_dead_letters(struct out *o, const struct lf_snapshot *s)
{
    static const char *const name = "logferry_output_records_dead_lettered_total";
    put_head(o, name, M_COUNTER,
             "Records durably dead-lettered, by reason (docs/dead-letters.md: rejected, "
             "retries_exhausted, too_large, dlt_failed, no_memory).");
    for (size_t i = 0; i < s->noutputs; i++) {
        const struct lf_snap_output *op = &s->outputs[i];
        for (int r = 0; r < LF_DLQ_REASON_COUNT; r++) {
            put_series(o, name, "output", lf_snapshot_str(s, op->name), NULL, NULL,
                       lf_dlq_reason_name(r));
            put_u64(o, op->st.dead_reason[r]);
        }
    }
    put_head(o, "logferry_output_dead_letters_remote_total", M_COUNTER,
             "Of the records dead-lettered, those stored in the output's own dead-letter "
             "destination (Kafka topic suffix, RabbitMQ failed queue); the rest are in the "
             "local store.");
    for (size_t i = 0; i < s->noutputs; i++) {
        put_series(o, "logferry_output_dead_letters_remote_total", "output",
                   lf_snapshot_str(s, s->outputs[i].name), NULL, NULL, NULL);
        put_u64(o, s->outputs[i].st.dead_remote);
    }
}

static void put_breaker_transitions(struct out *o, const struct lf_snapshot *s)
{
    static const char *const name = "logferry_output_breaker_transitions_total";
    static const char *const to[] = {"open", "half_open", "closed"};
    put_head(o, name, M_COUNTER, "Circuit breaker state changes, by the state entered.");
    for (size_t i = 0; i < s->noutputs; i++) {
        const struct lf_outpath_stats *st = &s->outputs[i].st;
        const uint64_t v[] = {st->breaker_opens, st->breaker_half_opens, st->breaker_closes};
        for (size_t k = 0; k < 3; k++) {
            put_series(o, name, "output", lf_snapshot_str(s, s->outputs[i].name), "to", to[k],
                       NULL);
            put_u64(o, v[k]);
        }
    }
}

static void put_output_gauges(struct out *o, const struct lf_snapshot *s)
{
    put_head(o, "logferry_output_breaker_state", M_GAUGE,
             "Circuit breaker: 0 closed, 1 open, 2 half-open.");
    for (size_t i = 0; i < s->noutputs; i++) {
        put_series(o, "logferry_output_breaker_state", "output",
                   lf_snapshot_str(s, s->outputs[i].name), NULL, NULL, NULL);
        put_u64(o, (uint64_t)s->outputs[i].st.breaker_state);
    }
    put_head(o, "logferry_output_spool_blocked", M_GAUGE,
             "1 while the spool refuses records (full with when_full: block, or no space).");
    for (size_t i = 0; i < s->noutputs; i++) {
        put_series(o, "logferry_output_spool_blocked", "output",
                   lf_snapshot_str(s, s->outputs[i].name), NULL, NULL, NULL);
        put_u64(o, s->outputs[i].st.blocked ? 1 : 0);
    }
    put_head(o, "logferry_output_spool_oldest_age_seconds", M_GAUGE,
             "Age of the oldest record in the spool (0 when empty).");
    for (size_t i = 0; i < s->noutputs; i++) {
        int64_t oldest = s->outputs[i].st.spool_oldest_ms;
        int64_t age = oldest > 0 && s->wall_ms > oldest ? s->wall_ms - oldest : 0;
        put_series(o, "logferry_output_spool_oldest_age_seconds", "output",
                   lf_snapshot_str(s, s->outputs[i].name), NULL, NULL, NULL);
        put_double(o, (double)age / 1000.0);
    }
}

/* The read-to-acknowledged latency of each output as a Prometheus histogram. */
/* A histogram family over the outputs: buckets[nb] (the last one unbounded) at
 * `counts` in struct lf_outpath_stats, bounds[nb - 1] and the sum (at `sum`) divided by
 * `scale` into the family's unit. */
struct hist {
    const char *name, *help;
    const int64_t *bounds;
    size_t nb;
    size_t counts, sum; /* offsets in struct lf_outpath_stats */
    double scale;
};

static void put_hist(struct out *o, const struct lf_snapshot *s, const struct hist *h)
{
    put_head(o, h->name, M_HISTOGRAM, h->help);
    for (size_t i = 0; i < s->noutputs; i++) {
        const char *st = (const char *)&s->outputs[i].st;
        const char *out = lf_snapshot_str(s, s->outputs[i].name);
        uint64_t cum = 0, v, sum;
        for (size_t b = 0; b < h->nb; b++) {
            char le[32];
            memcpy(&v, st + h->counts + b * sizeof(v), sizeof(v));
            cum += v;
            if (b < h->nb - 1) {
                snprintf(le, sizeof(le), "%g", (double)h->bounds[b] / h->scale);
            } else {
                snprintf(le, sizeof(le), "+Inf");
            }
            put(o, "%s_bucket{output=\"", h->name);
            put_label_value(o, out);
            put(o, "\",le=\"%s\"} %" PRIu64 "\n", le, cum);
        }
        memcpy(&sum, st + h->sum, sizeof(sum));
        put(o, "%s_sum{output=\"", h->name);
        put_label_value(o, out);
        put(o, "\"} %.3f\n%s_count{output=\"", (double)sum / h->scale, h->name);
        put_label_value(o, out);
        put(o, "\"} %" PRIu64 "\n", cum);
    }
}

static void put_histograms(struct out *o, const struct lf_snapshot *s)
{
    const struct hist latency = {
        .name = "logferry_output_delivery_latency_seconds",
        .help = "Time from reading a log-file record to its delivery by the output (records "
                "read back from a spool are not counted).",
        .bounds = lf_outpath_latency_bounds_ms,
        .nb = LF_OUTPATH_LATENCY_BUCKETS,
        .counts = offsetof(struct lf_outpath_stats, latency),
        .sum = offsetof(struct lf_outpath_stats, latency_sum_ms),
        .scale = 1000.0,
    };
    const struct hist batch = {
        .name = "logferry_output_batch_records",
        .help = "Log-file records handed to the output's worker at once (one push per loop "
                "turn; the plugin's client may batch further).",
        .bounds = lf_outpath_batch_bounds,
        .nb = LF_OUTPATH_BATCH_BUCKETS,
        .counts = offsetof(struct lf_outpath_stats, batch),
        .sum = offsetof(struct lf_outpath_stats, batch_sum),
        .scale = 1.0,
    };
    put_hist(o, s, &latency);
    put_hist(o, s, &batch);
}

/* One gauge family over the files: value = field(file). */
static void put_file_family(struct out *o, const struct lf_snapshot *s, const char *name,
                            const char *help, int which)
{
    put_head(o, name, M_GAUGE, help);
    for (size_t i = 0; i < s->nfiles; i++) {
        const struct lf_snap_file *f = &s->files[i];
        const char *in = f->input < s->ninputs ? lf_snapshot_str(s, s->inputs[f->input].name) : "";
        uint64_t lag = f->size > f->committed ? f->size - f->committed : 0;
        uint64_t v = which == 0 ? f->size : which == 1 ? f->committed : lag;
        put_series(o, name, "input", in, "file", lf_snapshot_str(s, f->path), NULL);
        if (which == 3) {
            put_double(o, (double)f->unacked_age_ms / 1000.0);
        } else {
            put_u64(o, v);
        }
    }
}

static void put_files(struct out *o, const struct lf_snapshot *s)
{
    put_file_family(o, s, "logferry_file_size_bytes", "Size of a followed file.", 0);
    put_file_family(o, s, "logferry_file_committed_offset_bytes",
                    "Acknowledged offset of a followed file (what the checkpoint saves).", 1);
    put_file_family(o, s, "logferry_file_lag_bytes",
                    "Bytes of a followed file not yet acknowledged by every output (size - "
                    "committed offset).",
                    2);
    put_file_family(o, s, "logferry_file_oldest_unacked_age_seconds",
                    "Age of the file's oldest record read but not yet acknowledged by every "
                    "output (0 when none): how long its checkpoint has been waiting.",
                    3);
}

static void put_agent(struct out *o, const struct lf_snapshot *s, const struct lf_build_info *bi)
{
    put_head(o, "logferry_build_info", M_GAUGE, "Versions of logferry and its libraries.");
    put_series(o, "logferry_build_info", "version", bi->version, "microhttpd", bi->microhttpd,
               NULL);
    put_u64(o, 1);
    put_head(o, "logferry_memory_held_bytes", M_GAUGE,
             "Bytes of the record chunks held between reading and acknowledgement "
             "(what agent.memory_limit bounds).");
    put(o, "logferry_memory_held_bytes %" PRIu64 "\n", s->live_bytes);
    put_head(o, "logferry_memory_limit_bytes", M_GAUGE, "agent.memory_limit.");
    put(o, "logferry_memory_limit_bytes %" PRIu64 "\n", s->memory_limit);
    put_head(o, "logferry_reading_paused", M_GAUGE,
             "1 while reading is paused at agent.memory_limit.");
    put(o, "logferry_reading_paused %d\n", s->paused ? 1 : 0);
    put_head(o, "logferry_alerts_posted_total", M_COUNTER, "Alert POSTs the webhook accepted.");
    put(o, "logferry_alerts_posted_total %" PRIu64 "\n", s->alerts_posted);
    put_head(o, "logferry_alerts_failed_total", M_COUNTER,
             "Alert POSTs that failed after their retries (their counts go with the next).");
    put(o, "logferry_alerts_failed_total %" PRIu64 "\n", s->alerts_failed);
    put_head(o, "logferry_alerts_lost_total", M_COUNTER,
             "Alert events lost to a full alert queue.");
    put(o, "logferry_alerts_lost_total %" PRIu64 "\n", s->alerts_lost);
}

static void put_process(struct out *o, const struct lf_proc_stats *p)
{
    put_head(o, "process_cpu_seconds_total", M_COUNTER, "User and system CPU time spent.");
    put(o, "process_cpu_seconds_total %.3f\n", p->cpu_seconds);
    put_head(o, "process_resident_memory_bytes", M_GAUGE, "Resident memory size.");
    put(o, "process_resident_memory_bytes %" PRIu64 "\n", p->rss_bytes);
    put_head(o, "process_open_fds", M_GAUGE, "Open file descriptors.");
    put(o, "process_open_fds %" PRIu64 "\n", p->open_fds);
    put_head(o, "process_threads", M_GAUGE, "Threads of the process.");
    put(o, "process_threads %" PRIu64 "\n", p->threads);
    put_head(o, "process_start_time_seconds", M_GAUGE, "Start time since the epoch.");
    put(o, "process_start_time_seconds %.3f\n", p->start_time_seconds);
}

int lf_render_metrics(const struct lf_snapshot *s, const struct lf_proc_stats *p,
                      const struct lf_build_info *bi, bool openmetrics, struct lf_buf *out)
{
    struct out o = {.b = out, .om = openmetrics, .rc = LF_OK};
    put_agent(&o, s, bi);
    put_table(&o, input_families, sizeof(input_families) / sizeof(input_families[0]), s, s->inputs,
              s->ninputs, sizeof(*s->inputs), offsetof(struct lf_snap_input, name), "input");
    put_files(&o, s);
    put_table(&o, output_families, sizeof(output_families) / sizeof(output_families[0]), s,
              s->outputs, s->noutputs, sizeof(*s->outputs), offsetof(struct lf_snap_output, name),
              "output");
    put_dead_letters(&o, s);
    put_breaker_transitions(&o, s);
    put_output_gauges(&o, s);
    put_histograms(&o, s);
    put_process(&o, p);
    if (openmetrics) {
        put(&o, "# EOF\n");
    }
    return o.rc;
}

/* ---- readiness --------------------------------------------------------------------------- */

bool lf_render_ready(const struct lf_snapshot *s, struct lf_buf *out)
{
    if (s->seq == 0) {
        lf_buf_append_str(out, "not ready: starting (no snapshot of the pipeline yet)\n");
        return false;
    }
    if (s->stopping) {
        lf_buf_append_str(out, "not ready: shutting down\n");
        return false;
    }
    bool ready = true;
    for (size_t i = 0; i < s->noutputs; i++) {
        const struct lf_snap_output *op = &s->outputs[i];
        const char *name = lf_snapshot_str(s, op->name);
        if (op->st.breaker_state != LF_BREAKER_CLOSED) {
            lf_buf_printf(out, "%soutput %s: breaker %s", ready ? "not ready: " : "; ", name,
                          lf_breaker_state_name((enum lf_breaker_state)op->st.breaker_state));
            ready = false;
        }
        if (op->st.blocked) {
            lf_buf_printf(out, "%soutput %s: spool refuses records", ready ? "not ready: " : "; ",
                          name);
            ready = false;
        }
    }
    lf_buf_append_str(out, ready ? "ready\n" : "\n");
    return ready;
}
