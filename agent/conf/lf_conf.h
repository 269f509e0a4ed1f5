/* lf_conf.h - the configuration: schema (option tables), loading and validation.
 *
 * lf_conf_load_with reads a YAML file with libfyaml, fills struct lf_config through the
 * option tables, asks the caller's plugin resolver for the descriptor of each output's
 * `plugin:` (to validate its keys), and reports every problem as FILE:LINE:COL in the
 * diag. conf/ knows plugins only through the public ABI (logferry/lf_plugin.h): finding
 * and loading them (dlopen) is the resolver's job. The tables below are also the source
 * of docs/config.md (lf_conf_doc_md_with).
 */
#ifndef LF_CONF_H
#define LF_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_buf.h"
#include "lf_diag.h"
#include "lf_multiline.h"
#include "lf_parse.h"
#include "logferry/lf_opt.h"
#include "logferry/lf_plugin.h"

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
    char *plugin_dir; /* default: the resolver's default_dir */
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
    char *timezone;    /* input-level `timezone:` (moved into parser.timezone at load) */
    bool keep_message; /* false: `message` is left out of records that parsed fully */
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
    int64_t jitter; /* percent: each wait is spread over +-jitter% */
};

struct lf_dead_letter_conf {
    char *topic_suffix;
};

/* The plugin of an output: its descriptor, borrowed from the resolver, which keeps it
 * valid for the life of the process. (The field keeps the name `handle` for its users;
 * it holds no dlopen handle.) */
struct lf_plugin_ref {
    const struct lf_output_plugin *desc;
};

/* Finds output plugins for the loader. resolve() looks up plugin `name` in directory
 * `dir` (agent.plugin_dir) and returns LF_OK with *out set to a descriptor that stays
 * valid for the life of the process, or a negative lf_err with a one-line message in
 * err (errlen bytes). ctx is passed back as is. default_dir (may be NULL) becomes
 * agent.plugin_dir when the configuration sets none. */
struct lf_output_conf;
struct lf_plugin_resolver {
    int (*resolve)(void *ctx, const char *dir, const char *name,
                   const struct lf_output_plugin **out, char *err, size_t errlen);
    void *ctx;
    const char *default_dir;
    /* Optional (NULL: none): the plugin's own check of an output whose keys loaded
     * without error, called even when other parts of the file have errors so that one
     * run reports everything. LF_OK or an error (the plugin has logged why). */
    int (*validate)(void *ctx, const struct lf_output_conf *out, const char *agent_name,
                    const char *state_dir);
};

struct lf_output_conf {
    char *name;
    char *plugin;
    struct lf_list match; /* record type names; empty = all */
    struct lf_retry_conf retry;
    struct lf_dead_letter_conf dead_letter;
    /* Filled by the loader from the plugin's own table. */
    struct lf_plugin_ref handle;
    void *plugin_config; /* handle.desc->config_size bytes, owned */
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
    char *body_template; /* alerts.template */
    int64_t timeout_ms;
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

/* Loads and validates path, finding plugins through `plugins` (borrowed for the call).
 * Returns LF_OK and *out (free with lf_conf_free), or LF_ECONFIG with every problem in
 * diag (*out NULL). envp: NULL = process environment. Warnings (e.g. `match` naming a
 * type no input produces) do not fail the load. */
int lf_conf_load_with(const char *path, char **envp, const struct lf_plugin_resolver *plugins,
                      struct lf_diag *diag, struct lf_config **out);
/* Same from a string (tests, embedded default); name is used in messages. */
int lf_conf_load_string_with(const char *yaml, const char *name, char **envp,
                             const struct lf_plugin_resolver *plugins, struct lf_diag *diag,
                             struct lf_config **out);

/* The same with the agent's plugin loader (built-ins, or dlopen of out_<name>.so in
 * agent.plugin_dir, default lf_plugin_default_dir()) and each plugin's validate(). Defined
 * in core/lf_config_load.c,
 * not in conf/: conf/ code never calls them. */
int lf_conf_load(const char *path, char **envp, struct lf_diag *diag, struct lf_config **out);
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
 * tables of the plugins `plugins` finds in plugin_dir (may be NULL). */
int lf_conf_doc_md_with(const struct lf_plugin_resolver *plugins, const char *plugin_dir,
                        struct lf_buf *out);
/* The same with the agent's plugin loader (core/lf_config_load.c). */
int lf_conf_doc_md(const char *plugin_dir, struct lf_buf *out);

#endif
