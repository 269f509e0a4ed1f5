/* lf_conf.h - the configuration: schema (option tables), loading and validation.
 *
 * lf_conf_load reads a YAML file with libfyaml, fills struct lf_config through the
 * option tables, loads the output plugins named by `plugin:` (to validate their keys),
 * and reports every problem as FILE:LINE:COL in the diag. The tables below are also the
 * source of docs/config.md (lf_conf_doc_md).
 */
#ifndef LF_CONF_H
#define LF_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_buf.h"
#include "lf_diag.h"
#include "lf_multiline.h"
#include "lf_parse.h"
#include "lf_plugin_loader.h"
#include "logferry/lf_opt.h"

enum lf_start_at {
    LF_START_BEGINNING = 0,
    LF_START_END = 1,
};

struct lf_http_conf {
    char *listen; /* NULL: no endpoint */
    bool allow_remote;
};

struct lf_agent_conf {
    char *name; /* default: host name */
    char *state_dir;
    char *plugin_dir; /* default: lf_plugin_default_dir() */
    int64_t shutdown_timeout_ms;
    int64_t checkpoint_interval_ms;
    uint64_t memory_limit;
    int log_level; /* enum lf_log_level */
    struct lf_http_conf http;
    int log_format; /* enum lf_log_format */
    char *log_file; /* NULL: stderr */
    int64_t log_ratelimit;
    int64_t log_ratelimit_interval_ms;
};

struct lf_input_conf {
    char *name;
    struct lf_list paths;
    struct lf_list exclude;
    int type;     /* enum lf_record_type */
    int start_at; /* enum lf_start_at */
    struct lf_parser_conf parser;
    struct lf_ml_conf multiline;
    struct lf_filter_conf filter;
    struct lf_kvlist fields;
    uint64_t max_line_bytes;
    uint64_t read_buffer;
    int64_t poll_interval_ms;
    int64_t rescan_interval_ms;
    int64_t rotate_wait_ms;
    int64_t partial_timeout_ms;
    int64_t forget_after_ms;
    int64_t close_inactive_ms;
    int64_t max_open_files;
    int line; /* position of the input in the file, for messages */
    int col;
};

struct lf_retry_conf {
    int64_t attempts; /* 0 = unlimited */
    int64_t backoff_ms;
    int64_t multiplier;
    int64_t max_backoff_ms;
};

struct lf_dead_letter_conf {
    char *topic_suffix;
};

struct lf_output_conf {
    char *name;
    char *plugin;
    struct lf_list match; /* record type names; empty = all */
    struct lf_retry_conf retry;
    struct lf_dead_letter_conf dead_letter;
    /* Filled by the loader from the plugin's own table. */
    struct lf_plugin_handle handle;
    void *plugin_config; /* handle.desc->config_size bytes */
    unsigned match_mask; /* bit per enum lf_record_type */
    int line;
    int col;
};

enum lf_fsync_policy {
    LF_FSYNC_BATCH = 0,
    LF_FSYNC_ALWAYS = 1,
    LF_FSYNC_NEVER = 2,
};

struct lf_buffer_conf {
    uint64_t max_size;
    int when_full; /* enum lf_spool_when_full */
    int fsync;     /* enum lf_fsync_policy */
    uint64_t segment_size;
};

struct lf_breaker_conf {
    int64_t failure_threshold;
    int64_t open_for_ms;
    int64_t max_open_for_ms;
    int64_t stall_timeout_ms;
};

struct lf_alerts_conf {
    char *webhook;
    int64_t min_interval_ms;
};

struct lf_config {
    char *path; /* the file it was loaded from */
    struct lf_agent_conf agent;
    struct lf_seclist inputs;  /* struct lf_input_conf */
    struct lf_seclist outputs; /* struct lf_output_conf */
    struct lf_buffer_conf buffer;
    struct lf_breaker_conf breaker;
    struct lf_alerts_conf alerts;
};

extern const struct lf_opt lf_config_options[];
extern const struct lf_opt lf_output_core_options[];
extern const char *const lf_record_type_names[];

/* Loads and validates path. Returns LF_OK and *out (free with lf_conf_free), or
 * LF_ECONFIG with every problem in diag (*out NULL). envp: NULL = process environment.
 * Warnings (e.g. `match` naming a type no input produces) do not fail the load. */
int lf_conf_load(const char *path, char **envp, struct lf_diag *diag, struct lf_config **out);
/* Same from a string (tests, embedded default); name is used in messages. */
int lf_conf_load_string(const char *yaml, const char *name, char **envp, struct lf_diag *diag,
                        struct lf_config **out);
void lf_conf_free(struct lf_config *c);

static inline struct lf_input_conf *lf_conf_input(const struct lf_config *c, size_t i)
{
    return &((struct lf_input_conf *)c->inputs.v)[i];
}

static inline struct lf_output_conf *lf_conf_output(const struct lf_config *c, size_t i)
{
    return &((struct lf_output_conf *)c->outputs.v)[i];
}

/* The full reference (docs/config.md) generated from the tables, including the option
 * tables of the built-in outputs and of the plugins found in plugin_dir (may be NULL). */
int lf_conf_doc_md(const char *plugin_dir, struct lf_buf *out);

#endif
