/* lf_render_status.c - the /status JSON and the table of `logferry status`, from a
 * snapshot (see lf_render.h). */
#include <inttypes.h>
#include <string.h>

#include "lf_breaker.h"
#include "lf_render.h"
#include "logferry/lf_err.h"

static int json_str(struct lf_buf *b, const char *key, const char *v)
{
    int rc = lf_buf_printf(b, "\"%s\":\"", key);
    if (rc == LF_OK) {
        rc = lf_buf_append_json_escaped(b, v, strlen(v));
    }
    return rc == LF_OK ? lf_buf_append_char(b, '"') : rc;
}

static double spool_age_s(const struct lf_snapshot *s, const struct lf_outpath_stats *st)
{
    int64_t oldest = st->spool_oldest_ms;
    return oldest > 0 && s->wall_ms > oldest ? (double)(s->wall_ms - oldest) / 1000.0 : 0.0;
}

static double error_age_s(const struct lf_snapshot *s, const struct lf_snap_output *o)
{
    int64_t at = o->last_error_ms;
    return at > 0 && s->wall_ms > at ? (double)(s->wall_ms - at) / 1000.0 : 0.0;
}

static uint64_t lag_of(const struct lf_snap_file *f)
{
    return f->size > f->committed ? f->size - f->committed : 0;
}

static const char *breaker_name(int state)
{
    return lf_breaker_state_name((enum lf_breaker_state)state);
}

static int json_inputs(const struct lf_snapshot *s, struct lf_buf *b)
{
    int rc = lf_buf_append_str(b, ",\"inputs\":[");
    for (size_t i = 0; i < s->ninputs && rc == LF_OK; i++) {
        const struct lf_snap_input *in = &s->inputs[i];
        rc = lf_buf_append_str(b, i ? ",{" : "{");
        rc = rc == LF_OK ? json_str(b, "name", lf_snapshot_str(s, in->name)) : rc;
        rc = rc == LF_OK
                 ? lf_buf_printf(b,
                                 ",\"files\":%" PRIu64 ",\"open_files\":%" PRIu64
                                 ",\"bytes_read\":%" PRIu64 ",\"records\":%" PRIu64
                                 ",\"parse_failures\":%" PRIu64 ",\"dropped_filter\":%" PRIu64
                                 ",\"dropped_unrouted\":%" PRIu64 ",\"rotations\":%" PRIu64
                                 ",\"truncations\":%" PRIu64 "}",
                                 in->files, in->open_files, in->tail.bytes_read, in->router.records,
                                 in->router.parse_errors, in->router.filtered, in->router.unrouted,
                                 in->tail.rotations, in->tail.truncations)
                 : rc;
    }
    return rc == LF_OK ? lf_buf_append_char(b, ']') : rc;
}

static int json_files(const struct lf_snapshot *s, struct lf_buf *b)
{
    int rc = lf_buf_append_str(b, ",\"files\":[");
    for (size_t i = 0; i < s->nfiles && rc == LF_OK; i++) {
        const struct lf_snap_file *f = &s->files[i];
        const char *in = f->input < s->ninputs ? lf_snapshot_str(s, s->inputs[f->input].name) : "";
        rc = lf_buf_append_str(b, i ? ",{" : "{");
        rc = rc == LF_OK ? json_str(b, "input", in) : rc;
        rc = rc == LF_OK ? lf_buf_append_char(b, ',') : rc;
        rc = rc == LF_OK ? json_str(b, "path", lf_snapshot_str(s, f->path)) : rc;
        rc = rc == LF_OK
                 ? lf_buf_printf(b,
                                 ",\"dev\":%" PRIu64 ",\"inode\":%" PRIu64 ",\"size\":%" PRIu64
                                 ",\"read_offset\":%" PRIu64 ",\"committed_offset\":%" PRIu64
                                 ",\"lag_bytes\":%" PRIu64
                                 ",\"oldest_unacked_age_seconds\":%.3f,\"open\":%s}",
                                 f->dev, f->ino, f->size, f->read_offset, f->committed, lag_of(f),
                                 (double)f->unacked_age_ms / 1000.0, f->open ? "true" : "false")
                 : rc;
    }
    return rc == LF_OK ? lf_buf_append_char(b, ']') : rc;
}

/* ,"dead_letters":{"rejected":N,...,"remote":N}: dead letters by reason, and how many of
 * them are in the output's own destination rather than the local store. */
static int json_dead_letters(const struct lf_outpath_stats *st, struct lf_buf *b)
{
    int rc = lf_buf_append_str(b, ",\"dead_letters\":{");
    for (int r = 0; r < LF_DLQ_REASON_COUNT && rc == LF_OK; r++) {
        rc = lf_buf_printf(b, "\"%s\":%" PRIu64 ",", lf_dlq_reason_name(r), st->dead_reason[r]);
    }
    return rc == LF_OK ? lf_buf_printf(b, "\"remote\":%" PRIu64 "}", st->dead_remote) : rc;
}

static int json_output(const struct lf_snapshot *s, const struct lf_snap_output *o,
                       struct lf_buf *b)
{
    const struct lf_outpath_stats *st = &o->st;
    int rc = json_str(b, "name", lf_snapshot_str(s, o->name));
    rc = rc == LF_OK ? lf_buf_append_char(b, ',') : rc;
    rc = rc == LF_OK ? json_str(b, "plugin", lf_snapshot_str(s, o->plugin)) : rc;
    rc = rc == LF_OK ? lf_buf_printf(b,
                                     ",\"breaker\":\"%s\",\"breaker_opens\":%" PRIu64
                                     ",\"in_flight\":%" PRIu64 ",\"retry_queue\":%" PRIu64
                                     ",\"delivered\":%" PRIu64 ",\"retried\":%" PRIu64
                                     ",\"dead_lettered\":%" PRIu64 ",\"spooled\":%" PRIu64
                                     ",\"drained\":%" PRIu64,
                                     breaker_name(st->breaker_state), st->breaker_opens,
                                     st->inflight, st->retry_queue, st->delivered, st->retried,
                                     st->dead_lettered, st->spooled, st->drained)
                     : rc;
    rc = rc == LF_OK ? json_dead_letters(st, b) : rc;
    rc = rc == LF_OK ? lf_buf_printf(b,
                                     ",\"spool\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64
                                     ",\"oldest_age_seconds\":%.3f,\"blocked\":%s,"
                                     "\"dropped\":%" PRIu64 "},",
                                     st->spool_records, st->spool_bytes, spool_age_s(s, st),
                                     st->blocked ? "true" : "false", st->spool_dropped)
                     : rc;
    rc = rc == LF_OK ? json_str(b, "last_error", lf_snapshot_str(s, o->last_error)) : rc;
    return rc == LF_OK ? lf_buf_printf(b, ",\"last_error_age_seconds\":%.3f}", error_age_s(s, o))
                       : rc;
}

static const char *level_word(int level)
{
    return level == 0 ? "error" : level == 1 ? "warn" : level == 2 ? "info" : "debug";
}

static int json_recent(const struct lf_snapshot *s, struct lf_buf *b)
{
    int rc = lf_buf_append_str(b, ",\"recent_errors\":[");
    for (size_t i = 0; i < s->nrecent && rc == LF_OK; i++) {
        const struct lf_log_recent *r = &s->recent[i];
        rc = lf_buf_printf(b, "%s{\"time_ms\":%" PRId64 ",\"level\":\"%s\",", i ? "," : "",
                           r->wall_ms, level_word(r->level));
        rc = rc == LF_OK ? json_str(b, "logger", r->logger) : rc;
        rc = rc == LF_OK ? lf_buf_append_char(b, ',') : rc;
        rc = rc == LF_OK ? json_str(b, "message", r->message) : rc;
        rc = rc == LF_OK ? lf_buf_append_char(b, '}') : rc;
    }
    return rc == LF_OK ? lf_buf_append_char(b, ']') : rc;
}

int lf_render_status_json(const struct lf_snapshot *s, int64_t heartbeat_age_ms, struct lf_buf *out)
{
    struct lf_buf why;
    lf_buf_init(&why, 4096);
    bool ready = lf_render_ready(s, &why);
    if (why.len && why.data[why.len - 1] == '\n') {
        why.data[--why.len] = '\0';
    }
    int rc = lf_buf_append_char(out, '{');
    rc = rc == LF_OK ? json_str(out, "agent", lf_snapshot_str(s, s->agent_name)) : rc;
    rc = rc == LF_OK ? lf_buf_printf(out,
                                     ",\"uptime_seconds\":%.3f,\"heartbeat_age_ms\":%" PRId64
                                     ",\"ready\":%s,",
                                     (double)(s->wall_ms - s->start_wall_ms) / 1000.0,
                                     heartbeat_age_ms, ready ? "true" : "false")
                     : rc;
    rc = rc == LF_OK ? json_str(out, "ready_reason", why.data ? why.data : "") : rc;
    rc = rc == LF_OK ? lf_buf_printf(out,
                                     ",\"memory\":{\"held_bytes\":%" PRIu64
                                     ",\"limit_bytes\":%" PRIu64 ",\"paused\":%s}",
                                     s->live_bytes, s->memory_limit, s->paused ? "true" : "false")
                     : rc;
    lf_buf_fini(&why);
    rc = rc == LF_OK ? json_inputs(s, out) : rc;
    rc = rc == LF_OK ? json_files(s, out) : rc;
    rc = rc == LF_OK ? lf_buf_append_str(out, ",\"outputs\":[") : rc;
    for (size_t i = 0; i < s->noutputs && rc == LF_OK; i++) {
        rc = lf_buf_append_str(out, i ? ",{" : "{");
        rc = rc == LF_OK ? json_output(s, &s->outputs[i], out) : rc;
    }
    rc = rc == LF_OK ? lf_buf_append_char(out, ']') : rc;
    rc = rc == LF_OK ? json_recent(s, out) : rc;
    return rc == LF_OK ? lf_buf_append_str(out, "}\n") : rc;
}

/* ---- the table ------------------------------------------------------------------------- */

/* "12.3 MiB": bytes in binary units with one decimal. */
static void human_bytes(char *o, size_t cap, uint64_t v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024.0 && u < 4) {
        d /= 1024.0;
        u++;
    }
    if (u == 0) {
        snprintf(o, cap, "%" PRIu64 " B", v);
    } else {
        snprintf(o, cap, "%.1f %s", d, units[u]);
    }
}

/* A path for the table: control bytes (a newline in a file name) shown as '?'. */
static const char *printable(const char *p, char *o, size_t cap)
{
    size_t i = 0;
    for (; p[i] && i + 1 < cap; i++) {
        o[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
    }
    o[i] = '\0';
    return o;
}

static int text_files(const struct lf_snapshot *s, struct lf_buf *b)
{
    char path[4096];
    int w = 4; /* "PATH" */
    for (size_t i = 0; i < s->nfiles; i++) {
        int len = (int)strlen(lf_snapshot_str(s, s->files[i].path));
        w = len > w ? len : w;
    }
    int rc = lf_buf_printf(b, "\nFILES\n%-12s %-*s %10s %14s %14s %14s %11s\n", "INPUT", w, "PATH",
                           "INODE", "ACKED OFFSET", "SIZE", "LAG", "LAG AGE");
    for (size_t i = 0; i < s->nfiles && rc == LF_OK; i++) {
        const struct lf_snap_file *f = &s->files[i];
        const char *in = f->input < s->ninputs ? lf_snapshot_str(s, s->inputs[f->input].name) : "";
        rc = lf_buf_printf(
            b, "%-12s %-*s %10" PRIu64 " %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %9.1f s\n", in,
            w, printable(lf_snapshot_str(s, f->path), path, sizeof(path)), f->ino, f->committed,
            f->size, lag_of(f), (double)f->unacked_age_ms / 1000.0);
    }
    if (rc == LF_OK && s->nfiles == 0) {
        rc = lf_buf_append_str(b, "(no files)\n");
    }
    return rc;
}

static int text_outputs(const struct lf_snapshot *s, struct lf_buf *b)
{
    int rc = lf_buf_printf(b, "\nOUTPUTS\n%-12s %-8s %-9s %9s %12s %9s %6s %12s %11s %9s %8s\n",
                           "NAME", "PLUGIN", "BREAKER", "IN FLIGHT", "DELIVERED", "RETRIED", "DEAD",
                           "SPOOL RECS", "SPOOL SIZE", "OLDEST", "DROPPED");
    for (size_t i = 0; i < s->noutputs && rc == LF_OK; i++) {
        const struct lf_snap_output *o = &s->outputs[i];
        const struct lf_outpath_stats *st = &o->st;
        char size[32], age[32];
        human_bytes(size, sizeof(size), st->spool_bytes);
        snprintf(age, sizeof(age), "%.1f s", spool_age_s(s, st));
        rc = lf_buf_printf(b,
                           "%-12s %-8s %-9s %9" PRIu64 " %12" PRIu64 " %9" PRIu64 " %6" PRIu64
                           " %12" PRIu64 " %11s %9s %8" PRIu64 "%s\n",
                           lf_snapshot_str(s, o->name), lf_snapshot_str(s, o->plugin),
                           breaker_name(st->breaker_state), st->inflight, st->delivered,
                           st->retried, st->dead_lettered, st->spool_records, size, age,
                           st->spool_dropped, st->blocked ? "  (spool full: inputs wait)" : "");
        if (rc == LF_OK && o->last_error_ms) {
            rc = lf_buf_printf(b, "%-12s last error %.1f s ago: %s\n", "", error_age_s(s, o),
                               lf_snapshot_str(s, o->last_error));
        }
    }
    return rc;
}

static int text_recent(const struct lf_snapshot *s, struct lf_buf *b)
{
    int rc = lf_buf_append_str(b, "\nRECENT WARNINGS AND ERRORS\n");
    for (size_t i = 0; i < s->nrecent && rc == LF_OK; i++) {
        const struct lf_log_recent *r = &s->recent[i];
        double ago = (double)(s->wall_ms - r->wall_ms) / 1000.0;
        rc = lf_buf_printf(b, "%8.1f s ago  %-5s  %s: %s\n", ago > 0 ? ago : 0.0,
                           level_word(r->level), r->logger, r->message);
    }
    if (rc == LF_OK && s->nrecent == 0) {
        rc = lf_buf_append_str(b, "(none)\n");
    }
    return rc;
}

int lf_render_status_text(const struct lf_snapshot *s, int64_t heartbeat_age_ms, struct lf_buf *out)
{
    char held[32], limit[32];
    human_bytes(held, sizeof(held), s->live_bytes);
    human_bytes(limit, sizeof(limit), s->memory_limit);
    int rc = lf_buf_printf(
        out,
        "agent %s: up %.0f s, main loop turned %.1f s ago, %s of %s held in "
        "memory%s\n",
        lf_snapshot_str(s, s->agent_name), (double)(s->wall_ms - s->start_wall_ms) / 1000.0,
        (double)heartbeat_age_ms / 1000.0, held, limit, s->paused ? " (reading paused)" : "");
    if (rc == LF_OK) {
        rc = lf_buf_append_str(out, "readiness: ");
    }
    if (rc == LF_OK) {
        lf_render_ready(s, out);
    }
    rc = rc == LF_OK ? text_files(s, out) : rc;
    rc = rc == LF_OK ? text_outputs(s, out) : rc;
    return rc == LF_OK ? text_recent(s, out) : rc;
}
