/* lf_parse.h - parsers and the JSON record encoder (one call per record).
 *
 * A parser turns the text of one record (one line, or several joined by the multi-line
 * assembler) into one JSON object following docs/records.md, applying the input's filter
 * (min_level, min_duration). Whatever fails to parse is still encoded, with `message`
 * and a parse-error marker: nothing is dropped for failing to parse.
 *
 * Thread: a parser is used by one thread at a time (it keeps scratch buffers).
 */
#ifndef LF_PARSE_H
#define LF_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logferry/lf_opt.h"
#include "logferry/lf_record.h"

struct lf_buf;

/* The input's `redact:` section (filled by the config loader from lf_redact_options). */
struct lf_redact_conf {
    bool literals;           /* SQL literals -> ? (query inputs) */
    struct lf_list patterns; /* built-in pattern names (lf_redact_pattern_names) */
    struct lf_list regex;    /* own PCRE2 patterns */
};
extern const struct lf_opt lf_redact_options[];
extern const char *const lf_redact_pattern_names[];

/* The `parser:` section of an input (filled by the config loader from
 * lf_parser_options). Keys a parser type does not use are rejected by lf_parser_create. */
struct lf_parser_conf {
    int type;            /* index into lf_parser_type_names */
    char *format;        /* nginx log_format, Apache LogFormat, logback pattern, regex */
    char *timezone;      /* for timestamps without offset: "UTC", "+02:00", "Europe/Paris" */
    char *message_key;   /* json: key of the message */
    char *timestamp_key; /* json: key of the time */
    char *level_key;     /* json error logs */
    char *method_key, *path_key, *status_key, *duration_key; /* json request logs */
    char *request_body_key, *response_body_key;              /* json request logs */
    char *statement_key;                                     /* json query logs */
    int duration_unit;     /* json: index into lf_duration_unit_names */
    char *log_line_prefix; /* postgresql */
    uint64_t max_body_bytes;
    struct lf_kvlist types;       /* regex: field -> "int" | "float" | "bool" hints */
    bool drop_message;            /* the input's `keep_message: false` (set by the loader) */
    struct lf_redact_conf redact; /* the input's `redact:` (filled by the loader) */
};

/* The `filter:` section of an input. */
struct lf_filter_conf {
    int min_level;            /* index into lf_level_names; 0 = no filter */
    int64_t min_duration_ms;  /* query logs; 0 = all */
    int64_t sample_below_ppm; /* forward this share (parts per million) of faster queries */
    char *sample_below;       /* the `sample_below:` rate as written ("0.01", "1%"); sets
                                 sample_below_ppm in lf_parser_create when present */
};

extern const char *const lf_parser_type_names[]; /* "raw", "json", "regex", "nginx", ... */
extern const char *const lf_level_names[];
extern const char *const lf_duration_unit_names[];
extern const struct lf_opt lf_parser_options[];
extern const struct lf_opt lf_filter_options[];

/* Per-record facts the encoder writes besides what the parser finds. All borrowed. */
struct lf_event_meta {
    const char *host_name;
    const char *path;               /* log.file.path */
    size_t host_len, path_len;      /* their lengths; 0: measured here (strlen) */
    const char *input;              /* input name */
    const char *id_hex;             /* record id (32 hex digits) */
    uint64_t offset;                /* log.offset: start offset of the record */
    int64_t read_time_ms;           /* used as @timestamp when the text has no parsable time */
    const struct lf_kvlist *fields; /* input `fields:`, merged into the object */
    unsigned flags;                 /* LF_META_* */
};
#define LF_META_TRUNCATED 1u /* the line or record was cut at max_line_bytes / max_bytes */

struct lf_parser;

/* Builds a parser for input records of `type`. Returns LF_OK, or LF_ECONFIG with a
 * one-line message in err (e.g. "nginx format: unknown variable $foo at column 12"), or
 * LF_ENOMEM. Ownership: *out is the caller's (lf_parser_destroy); pc and fc are read
 * during the call only (what the parser needs is copied). */
int lf_parser_create(const struct lf_parser_conf *pc, const struct lf_filter_conf *fc,
                     enum lf_record_type type, char *err, size_t errlen, struct lf_parser **out);
void lf_parser_destroy(struct lf_parser *p);

/* Checks a `timezone:` value (NULL = UTC) the way lf_parser_create reads it: LF_OK, or
 * LF_ECONFIG with a one-line message in err. */
int lf_tz_check(const char *spec, char *err, size_t errlen);

enum lf_parse_result {
    LF_PARSE_EMIT = 0, /* out holds one JSON object */
    LF_PARSE_DROP = 1, /* filtered out (level, duration) or a banner line: no record */
};

/* Parses text[0..len) (no trailing newline) and appends the JSON object to out.
 * Returns LF_PARSE_EMIT, LF_PARSE_DROP, or a negative lf_err (LF_ENOMEM...).
 * *type_out gets the record type, *ts_ms the @timestamp. Ownership: text and m are
 * borrowed for the call; out is the caller's. */
int lf_parser_encode(struct lf_parser *p, const struct lf_event_meta *m, const char *text,
                     size_t len, struct lf_buf *out, enum lf_record_type *type_out, int64_t *ts_ms);

/* Counters for metrics: records that failed to parse, records dropped by the filter. */
uint64_t lf_parser_errors(const struct lf_parser *p);
uint64_t lf_parser_filtered(const struct lf_parser *p);
/* Values replaced by the input's redact: (SQL literals and pattern matches). */
uint64_t lf_parser_redactions(const struct lf_parser *p);

/* Checks a `redact:` section the way lf_parser_create reads it (pattern names, regexes):
 * LF_OK, or LF_ECONFIG with a one-line message in err. */
int lf_redact_check(const struct lf_redact_conf *c, char *err, size_t errlen);

/* The multi-line preset a parser type implies when the input sets none ("java" for
 * logback, "mysql-slow" for mysql-slow...), or NULL. */
const char *lf_parser_default_multiline(const struct lf_parser_conf *pc);

#endif
