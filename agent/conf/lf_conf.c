/* lf_conf.c - the configuration schema and its loading with libfyaml.
 *
 * Tables here describe every section of DESIGN.md's configuration; keys whose feature
 * has not landed yet carry LF_OPT_UNSUPPORTED so that `check` reports them instead of
 * ignoring them. Output sections mix the core's keys with the plugin's own table.
 */
#include "lf_conf.h"

#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_conf_yaml.h"
#include "lf_optfill.h"
#include "logferry/lf_err.h"
#include "logferry/lf_log.h"

const char *const lf_record_type_names[] = {"raw", "request", "error", "query", NULL};
static const char *const start_at_names[] = {"beginning", "end", NULL};
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_format_names[] = {"text", "json", NULL};
static const char *const when_full_names[] = {"block", "drop_oldest", NULL};
static const char *const fsync_names[] = {"batch", "always", "never", NULL};

#define OFF(T, f) offsetof(struct T, f)

static const struct lf_opt http_options[] = {
    {
        .name = "listen",
        .type = LF_OPT_STR,
        .offset = OFF(lf_http_conf, listen),
        .desc = "HOST:PORT of the metrics and status endpoint (/metrics, /healthz, /readyz, "
                "/status), e.g. 127.0.0.1:2020 or [::1]:2020, or unix:/PATH for a unix socket "
                "(access by its file permissions). Unset: no endpoint. Only a loopback address "
                "is accepted unless allow_remote is true.",
    },
    {
        .name = "allow_remote",
        .type = LF_OPT_BOOL,
        .def = "false",
        .offset = OFF(lf_http_conf, allow_remote),
        .desc = "Allow listen on a non-loopback address (the endpoint has no authentication: "
                "put it behind a firewall).",
    },
    {.name = NULL},
};

static const struct lf_opt agent_options[] = {
    {
        .name = "name",
        .type = LF_OPT_STR,
        .offset = OFF(lf_agent_conf, name),
        .desc = "Name of this agent in records, client ids and alerts. Default: the host name.",
    },
    {
        .name = "state_dir",
        .type = LF_OPT_STR,
        .def = "/var/lib/logferry",
        .offset = OFF(lf_agent_conf, state_dir),
        .desc = "Directory for checkpoints, spool and dead letters. Created if missing; one "
                "agent per directory (locked).",
    },
    {
        .name = "plugin_dir",
        .type = LF_OPT_STR,
        .offset = OFF(lf_agent_conf, plugin_dir),
        .desc = "Directory of output plugins (out_<name>.so). Default: the build tree's plugins/ "
                "when run from a build tree, else the installed plugin directory.",
    },
    {
        .name = "shutdown_timeout",
        .type = LF_OPT_DURATION,
        .def = "10s",
        .min = 0,
        .max = 3600000,
        .offset = OFF(lf_agent_conf, shutdown_timeout_ms),
        .desc = "On SIGTERM/SIGINT, how long to wait for in-flight records to be acknowledged "
                "before saving checkpoints and exiting.",
    },
    {
        .name = "checkpoint_interval",
        .type = LF_OPT_DURATION,
        .def = "100ms",
        .min = 10,
        .max = 3600000,
        .offset = OFF(lf_agent_conf, checkpoint_interval_ms),
        .desc = "Least time between two writes of the checkpoint file (also written at "
                "shutdown). It is written only when an acknowledgement moved an offset (an "
                "idle agent neither writes it nor wakes up for it), at "
                "most checkpoint_interval + 200 ms after it: after a crash, at most that much "
                "acknowledged input is sent again. Each write costs 8 system calls, 2 of them "
                "fsync.",
    },
    {
        .name = "memory_limit",
        .type = LF_OPT_SIZE,
        .def = "2MiB",
        .min = 65536,
        .max = 68719476736,
        .offset = OFF(lf_agent_conf, memory_limit),
        .desc = "Memory of the records held between reading and acknowledgement, counted "
                "in the 64 KiB chunks they are carved from. When reached, "
                "inputs stop reading until outputs catch up (the log files are the buffer). "
                "2 MiB keeps about 2,500 nginx records in flight, enough for the benchmark's "
                "full rate with the Kafka output's 256 KiB batches; raise it for slow broker "
                "round trips at high rates.",
    },
    {
        .name = "log_level",
        .type = LF_OPT_ENUM,
        .def = "info",
        .choices = log_level_names,
        .offset = OFF(lf_agent_conf, log_level),
        .desc = "Agent log level.",
    },
    {
        .name = "log_format",
        .type = LF_OPT_ENUM,
        .def = "text",
        .choices = log_format_names,
        .offset = OFF(lf_agent_conf, log_format),
        .desc = "Log lines as text (TIME LEVEL [logger] message) or JSON objects (time, level, "
                "logger, message), one per line.",
    },
    {
        .name = "log_file",
        .type = LF_OPT_STR,
        .offset = OFF(lf_agent_conf, log_file),
        .desc = "File the agent logs to (appended; copytruncate rotation works). Default: "
                "stderr (journald under systemd).",
    },
    {
        .name = "log_ratelimit",
        .type = LF_OPT_INT,
        .def = "100",
        .min = 0,
        .max = 1000000,
        .offset = OFF(lf_agent_conf, log_ratelimit),
        .desc = "Lines one log statement may print per log_ratelimit_interval; the next line "
                "printed after suppressed ones tells how many were suppressed. 0: no limit.",
    },
    {
        .name = "log_ratelimit_interval",
        .type = LF_OPT_DURATION,
        .def = "10s",
        .min = 100,
        .max = 3600000,
        .offset = OFF(lf_agent_conf, log_ratelimit_interval_ms),
        .desc = "Window of log_ratelimit.",
    },
    {
        .name = "http",
        .type = LF_OPT_SECTION,
        .sub = http_options,
        .offset = OFF(lf_agent_conf, http),
        .desc = "Metrics and status endpoint (libmicrohttpd).",
    },
    {.name = NULL},
};

static const struct lf_opt input_options[] = {
    {
        .name = "name",
        .type = LF_OPT_STR,
        .flags = LF_OPT_REQUIRED,
        .offset = OFF(lf_input_conf, name),
        .desc = "Unique name of the input.",
    },
    {
        .name = "paths",
        .type = LF_OPT_LIST,
        .flags = LF_OPT_REQUIRED | LF_OPT_SCALAR_OR_LIST,
        .min = 1,
        .max = 1024,
        .offset = OFF(lf_input_conf, paths),
        .desc = "Glob patterns of the files to tail: `*`, `?` and `[...]` within one path "
                "component (a leading `.` must be matched explicitly), `**` for any number "
                "of directory levels (hidden and symlinked directories are not descended). "
                "Every directory on the way is watched with inotify, so new files and new "
                "subdirectories are picked up at once.",
    },
    {
        .name = "exclude",
        .type = LF_OPT_LIST,
        .flags = LF_OPT_SCALAR_OR_LIST,
        .offset = OFF(lf_input_conf, exclude),
        .desc = "Glob patterns of files to skip: a pattern with a slash is matched against the "
                "full path (`**` as in paths; a leading `**/` matches below any directory), "
                "one without against the file name.",
    },
    {
        .name = "type",
        .type = LF_OPT_ENUM,
        .def = "raw",
        .choices = lf_record_type_names,
        .offset = OFF(lf_input_conf, type),
        .desc = "Record type of this input's records, used by outputs' `match`.",
    },
    {
        .name = "start_at",
        .type = LF_OPT_ENUM,
        .def = "beginning",
        .choices = start_at_names,
        .offset = OFF(lf_input_conf, start_at),
        .desc = "Where to start in a file that has no checkpoint.",
    },
    {
        .name = "parser",
        .type = LF_OPT_SECTION,
        .sub = lf_parser_options,
        .offset = OFF(lf_input_conf, parser),
        .desc = "How records are parsed.",
    },
    {
        .name = "multiline",
        .type = LF_OPT_SECTION,
        .sub = lf_ml_options,
        .offset = OFF(lf_input_conf, multiline),
        .desc = "How lines are joined into records.",
    },
    {
        .name = "filter",
        .type = LF_OPT_SECTION,
        .sub = lf_filter_options,
        .offset = OFF(lf_input_conf, filter),
        .desc = "Which parsed records are forwarded.",
    },
    {
        .name = "fields",
        .type = LF_OPT_MAP,
        .offset = OFF(lf_input_conf, fields),
        .desc = "Fields added to every record (nested maps become dotted keys).",
    },
    {
        .name = "timezone",
        .type = LF_OPT_STR,
        .offset = OFF(lf_input_conf, timezone),
        .desc = "Zone of the times the log writes without an offset or zone: UTC (the "
                "default), local, +HH:MM, or an IANA zone name of the system tz database "
                "(Asia/Seoul, Europe/Paris), checked when the configuration is loaded. Also "
                "the first place a zone abbreviation of the log (KST, IST) is looked up "
                "(docs/records.md, Timestamps).",
    },
    {
        .name = "redact",
        .type = LF_OPT_SECTION,
        .sub = lf_redact_options,
        .offset = OFF(lf_input_conf, parser.redact),
        .desc = "Values replaced before records leave the host: SQL literals of query "
                "records, built-in patterns and own regexes (docs/records.md, Redaction).",
    },
    {
        .name = "keep_message",
        .type = LF_OPT_BOOL,
        .def = "true",
        .offset = OFF(lf_input_conf, keep_message),
        .desc = "false: records that parsed fully are sent without `message` (the raw text; "
                "records with log.flags parse_failure keep it).",
    },
    {
        .name = "max_line_bytes",
        .type = LF_OPT_SIZE,
        .def = "1MiB",
        .min = 64,
        .max = 268435456,
        .offset = OFF(lf_input_conf, max_line_bytes),
        .desc = "Longer lines are cut, forwarded marked truncated, and the rest of the line "
                "is skipped.",
    },
    {
        .name = "read_buffer",
        .type = LF_OPT_SIZE,
        .def = "256KiB",
        .min = 4096,
        .max = 67108864,
        .offset = OFF(lf_input_conf, read_buffer),
        .desc = "Bytes read from a file per read(2).",
    },
    {
        .name = "poll_interval",
        .type = LF_OPT_DURATION,
        .def = "1s",
        .min = 10,
        .max = 600000,
        .offset = OFF(lf_input_conf, poll_interval_ms),
        .desc = "Poll (stat or read) of the files inotify does not watch: a file whose inode "
                "watch could not be added or is gone, and rotated files still being read. "
                "Armed only while such a file exists.",
    },
    {
        .name = "rescan_interval",
        .type = LF_OPT_DURATION,
        .def = "10s",
        .min = 100,
        .max = 86400000,
        .offset = OFF(lf_input_conf, rescan_interval_ms),
        .desc = "Slow safety rescan of the globs and sizes, for changes inotify cannot see. "
                "New files are normally found at once through inotify on the globs' "
                "directories (and an inotify queue overflow rescans at once), so it runs only "
                "while something may escape inotify: a watched directory on a network or FUSE "
                "file system (NFS, SMB/CIFS, FUSE, 9P, Ceph, AFS, OCFS2, GFS2, Lustre), a "
                "directory that could not be watched, a matched path that could not be "
                "opened. An idle input with every directory watched has no timer.",
    },
    {
        .name = "rotate_wait",
        .type = LF_OPT_DURATION,
        .def = "5s",
        .min = 0,
        .max = 86400000,
        .offset = OFF(lf_input_conf, rotate_wait_ms),
        .desc = "A rotated (renamed away or deleted) file is read to its end and released "
                "only once its records are acknowledged and no write came for this long.",
    },
    {
        .name = "partial_timeout",
        .type = LF_OPT_DURATION,
        .def = "5s",
        .min = 0,
        .max = 86400000,
        .offset = OFF(lf_input_conf, partial_timeout_ms),
        .desc = "A last line without newline waits for its newline. It is emitted on its own "
                "only when it waited this long AND the file was rotated away (at EOF) or the "
                "agent shuts down; a younger one is read again after restart.",
    },
    {
        .name = "forget_after",
        .type = LF_OPT_DURATION,
        .def = "7d",
        .min = 0,
        .max = 3153600000000,
        .offset = OFF(lf_input_conf, forget_after_ms),
        .desc = "Checkpoints of released rotated files are pruned after this (deleted files "
                "at once: their inode may be reused).",
    },
    {
        .name = "close_inactive",
        .type = LF_OPT_DURATION,
        .def = "5m",
        .min = 0,
        .max = 86400000,
        .offset = OFF(lf_input_conf, close_inactive_ms),
        .desc = "A file read to its end with no new data for this long is closed (its "
                "checkpoint, partial line and inotify watch are kept) and reopened on its "
                "next write or poll, after checking it is still the same file (device, "
                "inode, fingerprint; if it was rotated meanwhile it is found by identity in "
                "the watched directories). Rotated files are not closed by this. Bytes "
                "written to a closed file that is deleted before it is reopened are lost. "
                "0 = never.",
    },
    {
        .name = "max_open_files",
        .type = LF_OPT_INT,
        .def = "1024",
        .min = 1,
        .max = 1000000,
        .offset = OFF(lf_input_conf, max_open_files),
        .desc = "Upper bound of files of this input held open at once. When a file needs "
                "one more, the least recently active file read to its end is closed (as "
                "with close_inactive; a rotated file only if no other one can be, and a late "
                "write to it wakes it through its inotify watch); if none is at its end, "
                "the file waits until one is.",
    },
    {.name = NULL},
};

static const struct lf_opt retry_options[] = {
    {
        .name = "attempts",
        .type = LF_OPT_INT,
        .def = "0",
        .min = 0,
        .max = 1000000,
        .offset = OFF(lf_retry_conf, attempts),
        .desc = "Delivery attempts of a record that keeps failing on its own, the first one "
                "included, before it is dead-lettered; 0 retries until delivered. An outage "
                "of the whole output (breaker open, spool) does not use up attempts.",
    },
    {
        .name = "backoff",
        .type = LF_OPT_DURATION,
        .def = "1s",
        .min = 1,
        .max = 3600000,
        .offset = OFF(lf_retry_conf, backoff_ms),
        .desc = "Wait before the first retry.",
    },
    {
        .name = "multiplier",
        .type = LF_OPT_INT,
        .def = "2",
        .min = 1,
        .max = 10,
        .offset = OFF(lf_retry_conf, multiplier),
        .desc = "Factor applied to the wait per retry.",
    },
    {
        .name = "max_backoff",
        .type = LF_OPT_DURATION,
        .def = "30s",
        .min = 1,
        .max = 86400000,
        .offset = OFF(lf_retry_conf, max_backoff_ms),
        .desc = "Upper bound of the wait.",
    },
    {
        .name = "jitter",
        .type = LF_OPT_INT,
        .def = "0",
        .min = 0,
        .max = 100,
        .offset = OFF(lf_retry_conf, jitter),
        .desc = "Percent by which each wait is spread at random (20: anywhere from 0.8x to "
                "1.2x, never above max_backoff), so that records failing together are not "
                "retried together.",
    },
    {.name = NULL},
};

static const struct lf_opt dead_letter_options[] = {
    {
        .name = "topic_suffix",
        .type = LF_OPT_STR,
        .offset = OFF(lf_dead_letter_conf, topic_suffix),
        .desc = "Kafka: send dead letters to <topic><suffix> on the same cluster (e.g. .dlt), "
                "with logferry-dlt-* headers. What cannot go there, and every dead letter "
                "without it, goes to <state_dir>/dead-letter/<output>.jsonl "
                "(docs/dead-letters.md).",
    },
    {.name = NULL},
};

const struct lf_opt lf_output_core_options[] = {
    {
        .name = "name",
        .type = LF_OPT_STR,
        .flags = LF_OPT_REQUIRED,
        .offset = OFF(lf_output_conf, name),
        .desc = "Unique name of the output.",
    },
    {
        .name = "plugin",
        .type = LF_OPT_STR,
        .flags = LF_OPT_REQUIRED,
        .offset = OFF(lf_output_conf, plugin),
        .desc = "Output plugin: stdout, file (built in), kafka, rabbitmq.",
    },
    {
        .name = "match",
        .type = LF_OPT_LIST,
        .flags = LF_OPT_SCALAR_OR_LIST,
        .offset = OFF(lf_output_conf, match),
        .desc = "Record types sent to this output (request, error, query, raw). Absent: all.",
    },
    {
        .name = "retry",
        .type = LF_OPT_SECTION,
        .sub = retry_options,
        .offset = OFF(lf_output_conf, retry),
        .desc = "Retries of transient failures.",
    },
    {
        .name = "dead_letter",
        .type = LF_OPT_SECTION,
        .sub = dead_letter_options,
        .offset = OFF(lf_output_conf, dead_letter),
        .desc = "Where permanently failed records go.",
    },
    {.name = NULL},
};

static const struct lf_opt buffer_options[] = {
    {
        .name = "max_size",
        .type = LF_OPT_SIZE,
        .def = "1GiB",
        .min = 65536,
        .offset = OFF(lf_buffer_conf, max_size),
        .desc = "Spool size limit, per output (each output has its own spool under "
                "<state_dir>/spool/<output>/).",
    },
    {
        .name = "when_full",
        .type = LF_OPT_ENUM,
        .def = "block",
        .choices = when_full_names,
        .offset = OFF(lf_buffer_conf, when_full),
        .desc = "When an output's spool is full: `block` stops reading the inputs routed to "
                "it (the log files are the buffer; nothing is lost unless they are deleted), "
                "`drop_oldest` deletes the oldest spool segments (counted and logged).",
    },
    {
        .name = "fsync",
        .type = LF_OPT_ENUM,
        .def = "batch",
        .choices = fsync_names,
        .offset = OFF(lf_buffer_conf, fsync),
        .desc = "When spool writes are made durable: `batch` (group commit at the next tick, "
                "within 100 ms), `always` (after every batch of appends), `never` (the OS decides; "
                "a crash may lose spooled records).",
    },
    {
        .name = "segment_size",
        .type = LF_OPT_SIZE,
        .def = "8MiB",
        .min = 4096,
        .max = 1073741824,
        .offset = OFF(lf_buffer_conf, segment_size),
        .desc = "Size at which a spool segment file is closed and a new one started.",
    },
    {.name = NULL},
};

static const struct lf_opt breaker_options[] = {
    {
        .name = "failure_threshold",
        .type = LF_OPT_INT,
        .def = "5",
        .min = 1,
        .max = 1000000,
        .offset = OFF(lf_breaker_conf, failure_threshold),
        .desc = "Consecutive retriable failures that open an output's circuit breaker. While "
                "open nothing is sent to it and its records go to the spool.",
    },
    {
        .name = "open_for",
        .type = LF_OPT_DURATION,
        .def = "30s",
        .min = 10,
        .offset = OFF(lf_breaker_conf, open_for_ms),
        .desc = "How long the breaker stays open before it lets one probe batch through. "
                "Each failed probe doubles it, up to max_open_for.",
    },
    {
        .name = "max_open_for",
        .type = LF_OPT_DURATION,
        .def = "5m",
        .min = 10,
        .offset = OFF(lf_breaker_conf, max_open_for_ms),
        .desc = "Upper bound of the open period after repeated failed probes.",
    },
    {
        .name = "stall_timeout",
        .type = LF_OPT_DURATION,
        .def = "5s",
        .min = 10,
        .offset = OFF(lf_breaker_conf, stall_timeout_ms),
        .desc = "An output holding records without any outcome for this long, or that "
                "reports itself disconnected (e.g. all Kafka brokers down) for this long, "
                "counts as failed and opens the breaker, so records reach the spool within "
                "seconds of an outage instead of after the client's own message timeout.",
    },
    {.name = NULL},
};

static const struct lf_opt alerts_options[] = {
    {
        .name = "webhook",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = OFF(lf_alerts_conf, webhook),
        .desc = "URL (http or https) that receives alert POSTs: records dead-lettered, a "
                "circuit breaker opened or closed, a spool above 80% of buffer.max_size, "
                "records dropped by drop_oldest. Default: no alerts.",
    },
    {
        .name = "min_interval",
        .type = LF_OPT_DURATION,
        .def = "1m",
        .min = 1000,
        .offset = OFF(lf_alerts_conf, min_interval_ms),
        .desc = "Minimum time between two alerts of the same kind; the events in between "
                "are grouped into the next one, with their counts per output.",
    },
    {
        .name = "template",
        .type = LF_OPT_STR,
        .offset = OFF(lf_alerts_conf, body_template),
        .desc = "JSON body of the POST with placeholders {{kind}}, {{agent}}, {{count}}, "
                "{{outputs}} and {{text}}, replaced by JSON-escaped values (put them inside "
                "strings; {{count}} may stand as a number). Default: Slack-compatible "
                "{\"text\": \"{{text}}\"}.",
    },
    {
        .name = "timeout",
        .type = LF_OPT_DURATION,
        .def = "5s",
        .min = 100,
        .max = 60000,
        .offset = OFF(lf_alerts_conf, timeout_ms),
        .desc = "Time one POST may take; a failed POST is tried 3 times (1 s, 2 s apart), "
                "then logged and counted, and its counts go with the next alert.",
    },
    {.name = NULL},
};

/* Inputs and outputs are filled by hand (outputs need their plugin's table), so their
 * rows here serve docs and validation only. */
const struct lf_opt lf_config_options[] = {
    {
        .name = "agent",
        .type = LF_OPT_SECTION,
        .sub = agent_options,
        .offset = OFF(lf_config, agent),
        .desc = "The agent itself.",
    },
    {
        .name = "inputs",
        .type = LF_OPT_SECTION_LIST,
        .flags = LF_OPT_REQUIRED,
        .sub = input_options,
        .sub_size = sizeof(struct lf_input_conf),
        .offset = OFF(lf_config, inputs),
        .desc = "Files to tail and how to parse them.",
    },
    {
        .name = "outputs",
        .type = LF_OPT_SECTION_LIST,
        .flags = LF_OPT_REQUIRED,
        .sub = lf_output_core_options,
        .sub_size = sizeof(struct lf_output_conf),
        .offset = OFF(lf_config, outputs),
        .desc = "Destinations. Besides the keys below, each takes its plugin's keys.",
    },
    {
        .name = "buffer",
        .type = LF_OPT_SECTION,
        .sub = buffer_options,
        .offset = OFF(lf_config, buffer),
        .desc = "Local file buffer (spool) for outages.",
    },
    {
        .name = "breaker",
        .type = LF_OPT_SECTION,
        .sub = breaker_options,
        .offset = OFF(lf_config, breaker),
        .desc = "Circuit breaker per output.",
    },
    {
        .name = "alerts",
        .type = LF_OPT_SECTION,
        .sub = alerts_options,
        .offset = OFF(lf_config, alerts),
        .desc = "Alerts to operators.",
    },
    {.name = NULL},
};

/* ---- loading ---------------------------------------------------------------------- */

struct loader {
    struct lf_optfill fill;
    struct lf_config *cfg;
    const struct lf_plugin_resolver *plugins;
};

static void set_default_name(struct lf_agent_conf *a)
{
    if (a->name) {
        return;
    }
    char host[256];
    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "logferry");
    }
    host[sizeof(host) - 1] = '\0';
    a->name = strdup(host);
}

static void check_unique(struct lf_diag *d, const char *kind, const char *name, int line, int col,
                         const char *const *seen, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (seen[i] && name && strcmp(seen[i], name) == 0) {
            lf_diag_add(d, LF_DIAG_ERROR, line, col, "%s '%s' is defined twice", kind, name);
            return;
        }
    }
}

/* What the parser takes from the input: keep_message, and `timezone:` at the input (or,
 * older spelling, in parser:): one of them, a zone that the tz database has. */
static int input_to_parser(struct loader *l, struct lf_input_conf *in, struct fy_node *item,
                           const char *where)
{
    int line, col;
    in->parser.drop_message = !in->keep_message;
    if (in->timezone && in->parser.timezone) {
        lf_node_key_pos(item, "timezone", &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col,
                    "%s: timezone: given twice (at the input and in parser:); keep the input's",
                    where);
        return 1;
    }
    if (in->timezone) {
        in->parser.timezone = in->timezone;
        in->timezone = NULL;
    }
    char err[256];
    if (lf_tz_check(in->parser.timezone, err, sizeof(err)) != LF_OK) {
        struct fy_node *pn = lf_node_lookup(item, "parser");
        lf_node_key_pos(lf_node_lookup(item, "timezone") ? item : pn, "timezone", &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col, "%s: %s", where, err);
        return 1;
    }
    if (lf_redact_check(&in->parser.redact, err, sizeof(err)) != LF_OK) {
        lf_node_key_pos(item, "redact", &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col, "%s: %s", where, err);
        return 1;
    }
    return 0;
}

static int load_inputs(struct loader *l, struct fy_node *root, struct fy_node *seq)
{
    struct lf_config *c = l->cfg;
    int errors = 0;
    if (!seq) {
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, 1, 1, "config: missing required key 'inputs'");
        return 1;
    }
    if (!fy_node_is_sequence(seq)) {
        int line, col;
        lf_node_pos(seq, &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col, "inputs: expected a list of inputs");
        return errors + 1;
    }
    size_t count = (size_t)fy_node_sequence_item_count(seq);
    c->inputs.v = calloc(count ? count : 1, sizeof(struct lf_input_conf));
    if (!c->inputs.v) {
        return errors + 1;
    }
    const char **names = calloc(count + 1, sizeof(char *));
    void *it = NULL;
    for (size_t i = 0; i < count; i++) {
        struct fy_node *item = fy_node_sequence_iterate(seq, &it);
        struct lf_input_conf *in = lf_conf_input(c, i);
        char where[64];
        snprintf(where, sizeof(where), "inputs[%zu]", i);
        lf_node_pos(item, &in->line, &in->col);
        errors += lf_optfill(&l->fill, input_options, in, item, where);
        c->inputs.n++;
        errors += input_to_parser(l, in, item, where);
        if (names) {
            check_unique(l->fill.diag, "input", in->name, in->line, in->col, names, i);
            names[i] = in->name;
        }
    }
    free(names);
    if (count == 0) {
        int line, col;
        lf_node_key_pos(root, "inputs", &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col, "inputs: no input defined");
        errors++;
    }
    return errors;
}

static const char *const plugin_names[] = {"stdout", "file", "kafka", "rabbitmq", "http", NULL};

/* The plugin name a misspelt one probably meant (NULL: none close). */
static const char *closest_plugin(const char *name)
{
    for (size_t i = 0; name && plugin_names[i]; i++) {
        size_t d = lf_edit_distance(name, plugin_names[i]);
        if (d > 0 && d <= 2) {
            return plugin_names[i];
        }
    }
    return NULL;
}

static int load_output_plugin(struct loader *l, struct lf_output_conf *out, struct fy_node *item,
                              const char *where)
{
    char err[512] = "";
    struct fy_node *pn = lf_node_lookup(item, "plugin");
    int line, col;
    lf_node_pos(pn ? pn : item, &line, &col);
    int rc = l->plugins->resolve(l->plugins->ctx, l->cfg->agent.plugin_dir, out->plugin,
                                 &out->handle.desc, err, sizeof(err));
    if (rc != LF_OK || !out->handle.desc) {
        out->handle.desc = NULL;
        if (!err[0]) {
            snprintf(err, sizeof(err), "plugin '%s': %s", out->plugin, lf_strerror(rc));
        }
        const char *hint = closest_plugin(out->plugin);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col, "%s.plugin: %s%s%s%s", where, err,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return 1;
    }
    out->plugin_config =
        calloc(1, out->handle.desc->config_size ? out->handle.desc->config_size : 1);
    return out->plugin_config ? 0 : 1;
}

static unsigned match_mask_of(struct loader *l, struct lf_output_conf *out, struct fy_node *item,
                              const char *where)
{
    if (out->match.n == 0) {
        return (1u << LF_TYPE_COUNT) - 1;
    }
    unsigned mask = 0;
    for (size_t i = 0; i < out->match.n; i++) {
        int t = -1;
        for (int k = 0; lf_record_type_names[k]; k++) {
            if (strcmp(out->match.str[i], lf_record_type_names[k]) == 0) {
                t = k;
            }
        }
        if (t < 0) {
            int line, col;
            lf_node_pos(lf_node_lookup(item, "match"), &line, &col);
            lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col,
                        "%s.match: unknown record type '%s' (request, error, query, raw)", where,
                        out->match.str[i]);
            continue;
        }
        mask |= 1u << t;
    }
    return mask;
}

static int load_one_output(struct loader *l, struct lf_output_conf *out, struct fy_node *item,
                           const char *where)
{
    static const char *const plugin_keys[] = {NULL};
    int errors = 0;
    lf_node_pos(item, &out->line, &out->col);
    if (!fy_node_is_mapping(item)) {
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, out->line, out->col,
                    "%s: expected a mapping of keys", where);
        return 1;
    }
    /* The plugin key decides which table the other keys belong to. */
    struct fy_node *pn = lf_node_lookup(item, "plugin");
    const char *pname = pn && fy_node_is_scalar(pn) ? fy_node_get_scalar0(pn) : NULL;
    if (!pname) {
        int line, col;
        lf_node_pos(pn ? pn : item, &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col,
                    pn ? "%s.plugin: expected a plugin name (stdout, file, kafka, rabbitmq, http)"
                       : "%s: missing required key 'plugin' (stdout, file, kafka, rabbitmq, "
                         "http)",
                    where);
        errors++;
    } else {
        out->plugin = strdup(pname);
        if (load_output_plugin(l, out, item, where) != 0) {
            errors++;
            free(out->plugin);
            out->plugin = NULL;
        }
    }
    if (out->handle.desc) {
        struct lf_optset sets[2] = {
            {.table = lf_output_core_options, .obj = out},
            {.table = out->handle.desc->options, .obj = out->plugin_config},
        };
        free(out->plugin);
        out->plugin = NULL;
        errors += lf_optfill_sets(&l->fill, sets, 2, item, where, plugin_keys);
    } else {
        /* Unknown plugin: check the core keys only, ignore the plugin's. */
        struct lf_optset set = {.table = lf_output_core_options, .obj = out};
        struct lf_diag quiet;
        lf_diag_init(&quiet, l->fill.diag->file);
        struct lf_optfill f = {.diag = &quiet, .envp = l->fill.envp};
        lf_optfill_sets(&f, &set, 1, item, where, NULL);
        lf_diag_fini(&quiet);
    }
    out->match_mask = match_mask_of(l, out, item, where);
    return errors;
}

/* The plugin's own checks (e.g. a rabbitmq url that does not parse), for an output whose
 * keys are fine, whatever errors other sections have. */
static int validate_output(struct loader *l, struct lf_output_conf *out)
{
    const struct lf_agent_conf *a = &l->cfg->agent;
    if (!l->plugins->validate || !out->handle.desc ||
        l->plugins->validate(l->plugins->ctx, out, a->name, a->state_dir) == LF_OK) {
        return 0;
    }
    lf_diag_add(l->fill.diag, LF_DIAG_ERROR, out->line, out->col,
                "output '%s': rejected by the %s plugin (see the messages above)",
                out->name ? out->name : "?", out->handle.desc->name);
    return 1;
}

static int load_outputs(struct loader *l, struct fy_node *root, struct fy_node *seq)
{
    struct lf_config *c = l->cfg;
    int errors = 0;
    if (!seq) {
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, 1, 1, "config: missing required key 'outputs'");
        return 1;
    }
    if (!fy_node_is_sequence(seq)) {
        int line, col;
        lf_node_pos(seq, &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col, "outputs: expected a list of outputs");
        return 1;
    }
    size_t count = (size_t)fy_node_sequence_item_count(seq);
    c->outputs.v = calloc(count ? count : 1, sizeof(struct lf_output_conf));
    const char **names = calloc(count + 1, sizeof(char *));
    if (!c->outputs.v || !names) {
        free(names);
        return 1;
    }
    void *it = NULL;
    for (size_t i = 0; i < count; i++) {
        struct fy_node *item = fy_node_sequence_iterate(seq, &it);
        struct lf_output_conf *out = lf_conf_output(c, i);
        char where[64];
        snprintf(where, sizeof(where), "outputs[%zu]", i);
        c->outputs.n++;
        int out_errors = load_one_output(l, out, item, where);
        if (out_errors == 0) {
            out_errors = validate_output(l, out);
        }
        errors += out_errors;
        check_unique(l->fill.diag, "output", out->name, out->line, out->col, names, i);
        names[i] = out->name;
    }
    free(names);
    if (count == 0) {
        int line, col;
        lf_node_key_pos(root, "outputs", &line, &col);
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, line, col, "outputs: no output defined");
        errors++;
    }
    if (count > 32) {
        lf_diag_add(l->fill.diag, LF_DIAG_ERROR, 0, 0, "outputs: at most 32 outputs");
        errors++;
    }
    return errors;
}

/* A `match` naming a type that no input produces is legal but probably a mistake. */
static void warn_unmatched_types(struct lf_config *c, struct lf_diag *d)
{
    unsigned produced = 0;
    for (size_t i = 0; i < c->inputs.n; i++) {
        produced |= 1u << lf_conf_input(c, i)->type;
    }
    produced |= 1u << LF_TYPE_RAW; /* unparsable records of any input can be raw */
    for (size_t i = 0; i < c->outputs.n; i++) {
        struct lf_output_conf *o = lf_conf_output(c, i);
        for (size_t k = 0; k < o->match.n; k++) {
            for (int t = 0; t < LF_TYPE_COUNT; t++) {
                if (strcmp(o->match.str[k], lf_record_type_names[t]) == 0 &&
                    !(produced & (1u << t))) {
                    lf_diag_add(d, LF_DIAG_WARNING, o->line, o->col,
                                "output '%s' matches type '%s' but no input produces it",
                                o->name ? o->name : "?", o->match.str[k]);
                }
            }
        }
    }
}

static int load_root(struct loader *l, struct fy_node *root)
{
    static const char *const by_hand[] = {"inputs", "outputs", NULL};
    static const struct lf_opt root_auto[] = {
        {.name = "agent",
         .type = LF_OPT_SECTION,
         .sub = agent_options,
         .offset = OFF(lf_config, agent),
         .desc = "-"},
        {.name = "buffer",
         .type = LF_OPT_SECTION,
         .sub = buffer_options,
         .offset = OFF(lf_config, buffer),
         .desc = "-"},
        {.name = "breaker",
         .type = LF_OPT_SECTION,
         .sub = breaker_options,
         .offset = OFF(lf_config, breaker),
         .desc = "-"},
        {.name = "alerts",
         .type = LF_OPT_SECTION,
         .sub = alerts_options,
         .offset = OFF(lf_config, alerts),
         .desc = "-"},
        {.name = NULL},
    };
    struct lf_optset set = {.table = root_auto, .obj = l->cfg};
    int errors = lf_optfill_sets(&l->fill, &set, 1, root, "", by_hand);
    struct lf_agent_conf *a = &l->cfg->agent;
    set_default_name(a);
    if (!a->plugin_dir && l->plugins->default_dir) {
        a->plugin_dir = strdup(l->plugins->default_dir);
    }
    errors += load_inputs(l, root, lf_node_lookup(root, "inputs"));
    errors += load_outputs(l, root, lf_node_lookup(root, "outputs"));
    return errors;
}

/* Secrets written as plain text in a file every user may read. */
static void warn_world_readable(const struct loader *l, const struct lf_conf_src *src)
{
    if (src->world_readable && l->fill.secrets_inline > 0) {
        lf_diag_add(l->fill.diag, LF_DIAG_WARNING, l->fill.secret_line, l->fill.secret_col,
                    "the file holds a secret and every user may read it: chmod o-r the file, "
                    "or use ${ENV_VAR} or the option's _file form");
    }
}

static int load_document(struct fy_document *doc, const char *name, char **envp,
                         const struct lf_plugin_resolver *plugins, struct lf_diag *diag,
                         const struct lf_conf_src *src, struct lf_config **out)
{
    struct lf_config *c = calloc(1, sizeof(*c));
    if (!c) {
        return LF_ENOMEM;
    }
    c->path = strdup(name);
    struct loader l = {.fill = {.diag = diag, .envp = envp}, .cfg = c, .plugins = plugins};
    struct fy_node *root = fy_document_root(doc);
    if (!root || !fy_node_is_mapping(root)) {
        lf_diag_add(diag, LF_DIAG_ERROR, 1, 1,
                    "config: expected a mapping with agent, inputs and outputs");
    } else {
        load_root(&l, root);
        warn_unmatched_types(c, diag);
        warn_world_readable(&l, src);
    }
    if (diag->errors > 0) {
        lf_conf_free(c);
        *out = NULL;
        return LF_ECONFIG;
    }
    *out = c;
    return LF_OK;
}

static int load_common(const char *yaml, size_t len, const char *path, const char *name,
                       char **envp, const struct lf_plugin_resolver *plugins, struct lf_diag *diag,
                       struct lf_config **out)
{
    struct lf_conf_src src;
    *out = NULL;
    struct fy_document *doc = lf_conf_yaml_load(path, yaml, len, diag, &src);
    int rc = LF_ECONFIG;
    if (doc) {
        rc = load_document(doc, name, envp, plugins, diag, &src, out);
        fy_document_destroy(doc);
    }
    lf_conf_src_fini(&src);
    return rc;
}

int lf_conf_load_with(const char *path, char **envp, const struct lf_plugin_resolver *plugins,
                      struct lf_diag *diag, struct lf_config **out)
{
    return load_common(NULL, 0, path, path, envp, plugins, diag, out);
}

int lf_conf_load_string_with(const char *yaml, const char *name, char **envp,
                             const struct lf_plugin_resolver *plugins, struct lf_diag *diag,
                             struct lf_config **out)
{
    return load_common(yaml, strlen(yaml), NULL, name, envp, plugins, diag, out);
}

void lf_conf_free(struct lf_config *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->inputs.n; i++) {
        lf_opt_free(input_options, lf_conf_input(c, i));
    }
    free(c->inputs.v);
    for (size_t i = 0; i < c->outputs.n; i++) {
        struct lf_output_conf *o = lf_conf_output(c, i);
        if (o->handle.desc) {
            lf_opt_free(o->handle.desc->options, o->plugin_config);
        }
        free(o->plugin_config);
        lf_opt_free(lf_output_core_options, o);
    }
    free(c->outputs.v);
    c->inputs.n = 0;
    c->outputs.n = 0;
    c->inputs.v = NULL;
    c->outputs.v = NULL;
    lf_opt_free(lf_config_options, c);
    free(c->path);
    free(c);
}

int lf_conf_doc_md_with(const struct lf_plugin_resolver *plugins, const char *plugin_dir,
                        struct lf_buf *out)
{
    lf_buf_append_str(out,
                      "# Configuration reference\n\n"
                      "Generated from the option tables by `logferry help config`; do not edit "
                      "by hand.\n\nDurations are written `250ms`, `10s`, `5m`, `1h`, `7d`; "
                      "sizes `512KiB`, `1GiB` (powers of 1024). `${VAR}` and `${VAR:-default}` "
                      "in values are replaced from the environment when the file is loaded "
                      "(`$$` is a literal `$`); a variable that is not set and has no default "
                      "is an error. Unknown keys are errors. Every secret option NAME also "
                      "takes `NAME_file: PATH`, its value read from that file. A configuration "
                      "is UTF-8 YAML of at most 4 MiB, 100000 nodes and 256 keys per mapping; "
                      "anchors, aliases and merge keys (`<<`) "
                      "work within a budget (100000 nodes once expanded, 10000 alias "
                      "expansions, aliases 32 deep). See docs/security.md.\n");
    lf_opt_doc_md(agent_options, "agent", out);
    lf_opt_doc_md(input_options, "inputs[]", out);
    lf_opt_doc_md(lf_output_core_options, "outputs[]", out);
    for (size_t i = 0; plugin_names[i]; i++) {
        const struct lf_output_plugin *desc = NULL;
        char err[512];
        char path[128];
        if (plugins->resolve(plugins->ctx, plugin_dir, plugin_names[i], &desc, err, sizeof(err)) !=
                LF_OK ||
            !desc) {
            lf_buf_printf(out,
                          "\n### `outputs[]` with `plugin: %s`\n\n(plugin not found when "
                          "this page was generated)\n",
                          plugin_names[i]);
            continue;
        }
        snprintf(path, sizeof(path), "outputs[] with plugin: %s", plugin_names[i]);
        lf_buf_printf(out, "\n%s\n", desc->description ? desc->description : "");
        lf_opt_doc_md(desc->options, path, out);
    }
    lf_opt_doc_md(buffer_options, "buffer", out);
    lf_opt_doc_md(breaker_options, "breaker", out);
    lf_opt_doc_md(alerts_options, "alerts", out);
    return LF_OK;
}
