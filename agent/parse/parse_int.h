/* parse_int.h - internals shared by the parser modules (not installed, not an API).
 *
 * A parser fills p->f[] with borrowed (key, value) pairs pointing into the record text
 * or into p->scratch, sets the timestamp, then encode.c writes the JSON object in one
 * pass. Nothing is allocated per record once the scratch buffers have grown.
 *
 * Who uses whom (one way only: no two files use each other's definitions):
 *   lf_parse.c (registry, create, filters, dispatch) -> the parsers parse_json.c,
 *   parse_access.c, parse_regex.c, parse_mysql.c, parse_pg.c -> the helpers parse_rxsrc.c
 *   (format -> regex text), parse_fingerprint.c, parse_jsonscan.c, parse_level.c,
 *   parse_time.c, encode.c, parse_error.c (exceptions in error records). Also parse_pg.c ->
 * parse_regex.c (lf_rx_compile) and parse_mysql.c, parse_pg.c -> parse_access.c (lf_atoi_n,
 * lf_sec_to_ns).
 */
#ifndef LF_PARSE_INT_H
#define LF_PARSE_INT_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lf_buf.h"
#include "lf_parse.h"

enum lf_ptype {
    PT_RAW,
    PT_JSON,
    PT_REGEX,
    PT_NGINX,
    PT_APACHE,
    PT_LOGBACK,
    PT_LOG4J2,
    PT_PYTHON,
    PT_LEVEL,
    PT_MYSQL_SLOW,
    PT_POSTGRESQL,
    PT_MONGODB,
};

enum lf_fkind {
    FK_STR,  /* JSON string, escaped on output */
    FK_INT,  /* i */
    FK_NUM,  /* s: already a valid JSON number */
    FK_JSON, /* s: a valid JSON value, copied as is */
};

struct lf_field {
    const char *key;
    size_t kl;
    const char *s;
    size_t n;
    int64_t i;
    enum lf_fkind kind;
};

#define LF_MAX_FIELDS 96
#define LF_MAX_KEY    120 /* longest parser field key (checked where keys come from config) */

/* Access-log template (nginx log_format / Apache LogFormat compiled). */
enum lf_avar {
    AV_IGNORE,
    AV_REMOTE_ADDR,
    AV_REMOTE_USER,
    AV_TIME_LOCAL,
    AV_TIME_ISO,
    AV_MSEC,
    AV_REQUEST,
    AV_METHOD,
    AV_URI,      /* path?query */
    AV_PATH,     /* path only */
    AV_QUERY,    /* query only */
    AV_PROTOCOL, /* HTTP/1.1 */
    AV_STATUS,
    AV_BODY_BYTES,
    AV_BYTES_SENT,
    AV_REQ_LENGTH,
    AV_REQ_TIME_S,  /* seconds, float */
    AV_DURATION_US, /* Apache %D */
    AV_DURATION_S,  /* Apache %T */
    AV_REFERER,
    AV_USER_AGENT,
    AV_HOST,

    AV_UPSTREAM_TIME, /* seconds, may be a list */
    AV_UPSTREAM_ADDR,
    AV_UPSTREAM_STATUS,
    AV_REQUEST_ID,
    AV_REQ_BODY,
    AV_RESP_BODY,
    AV_XFF,
    AV_OTHER, /* captured as a string under key */
};

struct lf_aseg {
    char *lit; /* literal that must follow the variable ("" = end) */
    size_t litlen;
    enum lf_avar var;
    char *key;   /* field name for AV_OTHER */
    bool quoted; /* value is between double quotes in the format */
};

struct lf_atmpl {
    char *prefix; /* literal before the first variable */
    size_t prefixlen;
    struct lf_aseg *seg;
    size_t nseg;
    bool apache; /* escapes are Apache's (\" \\ \xhh), "-" for 0 bytes */
};

struct lf_rx {
    pcre2_code *code;
    pcre2_match_data *md;
    uint32_t ngroups;
    char **keys; /* per group number: output key (NULL = unnamed) */
    int *role;   /* per group: RX_* role */
};

enum lf_rxrole {
    RX_FIELD,
    RX_TS,
    RX_LEVEL,
    RX_LOGGER,
    RX_THREAD,
    RX_PID,
    RX_MSG,
    RX_APP,
    RX_INT,
    RX_FLOAT,
    RX_BOOL,
    RX_SKIP,
};

struct lf_parser {
    enum lf_ptype kind;
    enum lf_record_type type;
    /* configuration (copied) */
    struct lf_tz *tz; /* `timezone:` (owned; never NULL once created) */
    uint64_t max_body;
    int min_level;
    int64_t min_duration_ms;
    int64_t sample_ppm;
    int duration_unit;
    bool drop_message;            /* `keep_message: false` */
    struct lf_redactor *redactor; /* `redact:` (owned; NULL: none) */
    char *k_msg, *k_ts, *k_level, *k_method, *k_path, *k_status, *k_dur, *k_reqbody, *k_respbody,
        *k_stmt;
    struct lf_kvlist hints;
    /* compiled formats */
    struct lf_atmpl at;
    struct lf_rx rx[8];
    size_t nrx;
    struct lf_rx pg;
    /* per-record state */
    struct lf_field f[LF_MAX_FIELDS];
    size_t nf;
    const char *msg;
    size_t msglen;
    int64_t ts_ms;
    bool ts_ok;
    bool failed;
    bool ts_missing;
    bool tz_unresolved; /* the time's zone abbreviation could not be resolved */
    bool ts_mismatch;   /* two times of the record disagree (MySQL # Time / SET timestamp) */
    int level;          /* index into lf_level_names, 0 = unknown */
    int64_t dur_ns;     /* -1 = unknown */
    int64_t read_ms;    /* m->read_time_ms of the record being parsed */
    enum lf_record_type rtype;
    bool dedupe;           /* the parser may produce one key twice: check before writing */
    struct lf_buf scratch; /* decoded values: reserved per record, never reallocated mid-record */
    struct lf_buf scratch2;
    /* cache for the formatted @timestamp second */
    int64_t fmt_sec;
    char fmt_buf[24];
    size_t host_len, path_len; /* of the record being encoded */
    /* cache for access-log times */
    char tcache[32];
    size_t tcachelen;
    int64_t tcache_ms;
    /* counters */
    uint64_t errors, filtered;
};

/* encode.c */
void lf_f_add(struct lf_parser *p, const char *key, size_t kl, enum lf_fkind kind, const char *s,
              size_t n, int64_t i);
/* Inline so that strlen of a literal key folds at compile time. */
static inline void lf_f_str(struct lf_parser *p, const char *key, const char *s, size_t n)
{
    lf_f_add(p, key, strlen(key), FK_STR, s, n, 0);
}
static inline void lf_f_int(struct lf_parser *p, const char *key, int64_t v)
{
    lf_f_add(p, key, strlen(key), FK_INT, NULL, 0, v);
}
static inline void lf_f_num(struct lf_parser *p, const char *key, const char *s, size_t n)
{
    lf_f_add(p, key, strlen(key), FK_NUM, s, n, 0);
}
static inline void lf_f_json(struct lf_parser *p, const char *key, const char *s, size_t n)
{
    lf_f_add(p, key, strlen(key), FK_JSON, s, n, 0);
}
/* Copies into p->scratch (which has room reserved for the record) and returns the copy. */
char *lf_scratch_alloc(struct lf_parser *p, size_t n);
int lf_encode_record(struct lf_parser *p, const struct lf_event_meta *m, const char *text,
                     size_t len, struct lf_buf *out);
/* lf_json_escape_to, lf_json_plain_prefix and lf_utf8_len are in lf_buf.h. */

/* parse_time.c */
int64_t lf_days_from_civil(int64_t y, unsigned m, unsigned d);
size_t lf_fmt_ts(char *o, int64_t ms);
int lf_month3(const char *s);
/* Parses common timestamp shapes at s: ISO-8601 (T or space, . or , fraction, Z/offset/none),
 * nginx/Apache "07/Dec/2016:11:05:07 +0100", "Dec 04 04:47:44 2005" (after a weekday),
 * "dd-MMM-yyyy HH:mm:ss.SSS", epoch seconds/millis. Returns true and sets *ms (UTC). */
bool lf_parse_time(struct lf_parser *p, const char *s, size_t n, int64_t *ms);
bool lf_parse_clf_time(struct lf_parser *p, const char *s, size_t n, int64_t *ms);
int64_t lf_local_to_utc(const struct lf_parser *p, int64_t local_ms);
/* "UTC", "Z", "GMT", "local", "+05:30": 0 and the offset in minutes; -1 otherwise. */
int lf_tz_parse(const char *s, int *min, bool *local);

/* parse_tz.c: the zone of an input (fixed offset or IANA zone through GLib). An lf_tz
 * keeps caches: one thread at a time, like its parser. */
struct lf_tz;
/* spec: NULL/"UTC", "local", "+05:30" or an IANA name. LF_OK, LF_ENOMEM, or LF_ECONFIG
 * with a one-line message in err. Ownership: *out is the caller's (lf_tz_close). */
int lf_tz_open(const char *spec, struct lf_tz **out, char *err, size_t errlen);
void lf_tz_close(struct lf_tz *tz);
bool lf_tz_is_utc(const char *spec);
int64_t lf_tz_local_to_utc(struct lf_tz *tz, int64_t local_ms);
int64_t lf_tz_utc_to_local(struct lf_tz *tz, int64_t utc_ms);
enum { LF_TZ_OK, LF_TZ_AMBIGUOUS, LF_TZ_UNKNOWN };
/* Offset (seconds east of UTC) of the abbreviation s[0..n) at local time local_ms: the
 * input's zone first, then every zone of the tz database. LF_TZ_OK sets *off. */
int lf_tz_abbr(struct lf_tz *tz, const char *s, size_t n, int64_t local_ms, int32_t *off);

/* parse_access.c */
/* Compile an nginx log_format / Apache LogFormat (or a preset name: combined, main, common,
 * vhost_combined) into t. Returns LF_OK, LF_ECONFIG (message in err) or LF_ENOMEM.
 * Ownership: t owns its strings; lf_atmpl_free releases them, also after a failure. */
int lf_atmpl_compile_nginx(struct lf_atmpl *t, const char *fmt, char *err, size_t errlen);
int lf_atmpl_compile_apache(struct lf_atmpl *t, const char *fmt, char *err, size_t errlen);
void lf_atmpl_free(struct lf_atmpl *t);
bool lf_parse_access(struct lf_parser *p, const char *s, size_t n);
void lf_split_request(struct lf_parser *p, const char *s, size_t n);
/* "0.123" seconds -> nanoseconds (digits and one dot only). */
bool lf_sec_to_ns(const char *s, size_t n, int64_t *ns);
/* Leading decimal digits of s[0..n) (never reads past n). */
int64_t lf_atoi_n(const char *s, size_t n);

/* parse_json.c */
bool lf_parse_json(struct lf_parser *p, const char *s, size_t n);
/* A JSON value v[0..vl) as text: a string decoded (into p->scratch when it has escapes,
 * else pointing into v), any other value as its JSON text. */
void lf_json_text(struct lf_parser *p, const char *v, size_t vl, const char **s, size_t *n);

/* parse_jsonscan.c: syntax only, nothing decoded or allocated. */
static inline const char *lf_json_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
        s++;
    }
    return s;
}
/* Returns the end of the JSON value starting at s (after skipping spaces), or NULL. */
const char *lf_json_skip(const char *s, const char *end, int depth);
/* s at a '"': returns the end of the JSON string (past the closing quote), or NULL. */
const char *lf_json_skip_string(const char *s, const char *end);
/* One member of a JSON object: the key without its quotes, the value as written. */
struct lf_json_member {
    const char *k, *v;
    size_t kl, vl;
};
/* Splits the object at b (valid JSON up to e) into at most max members; returns how many.
 * The members point into b..e. */
size_t lf_json_members(const char *b, const char *e, struct lf_json_member *m, size_t max);
/* The member named key, or NULL. */
const struct lf_json_member *lf_json_member(const struct lf_json_member *m, size_t n,
                                            const char *key);

/* parse_level.c (lf_level_names is declared in lf_parse.h) */
/* Index into lf_level_names of a level spelling ("warning", "SEVERE"...), 0 if unknown. */
int lf_level_index(const char *s, size_t n);
/* Sets p->level and writes log.level: the canonical name, or raw[0..n) when level is 0. */
void lf_put_level(struct lf_parser *p, int level, const char *raw, size_t n);

/* Timestamps the logging frameworks print (ISO-8601, dd-MMM-yyyy, ctime, time of day). */
#define LF_TS_RX                                                                             \
    "(?:\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)?|" \
    "\\d\\d-\\w{3}-\\d{4} \\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?|"                                \
    "\\w{3} \\w{3} \\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)? "                                 \
    "\\d{4}|\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?)"

/* parse_rxsrc.c: pattern text built from a format string. The first failed append is
 * kept in rc and later appends do nothing, so a build is checked once, at the end. */
struct lf_rxsrc {
    struct lf_buf b; /* the pattern text (owned) */
    int rc;          /* LF_OK or the first append error */
    bool last_space; /* the last literal was a space: runs of spaces match " +" */
};
void lf_rxsrc_init(struct lf_rxsrc *r);
void lf_rxsrc_fini(struct lf_rxsrc *r);
/* Appends regex text as is. */
void lf_rxsrc_add(struct lf_rxsrc *r, const char *rx);
/* Appends c as a literal (escaped when a regex metacharacter). */
void lf_rxsrc_lit(struct lf_rxsrc *r, char c);
/* logback/log4j2 %pattern or python logging format -> "^...$" into r. Returns LF_OK,
 * LF_ECONFIG (one-line message in err) or LF_ENOMEM. */
int lf_rxsrc_java(struct lf_rxsrc *r, const char *pat, char *err, size_t errlen);
int lf_rxsrc_python(struct lf_rxsrc *r, const char *fmt, char *err, size_t errlen);

/* parse_regex.c */
/* Compiles pattern into rx (output keys from the group names, roles from the names and
 * hints). Ownership: rx owns what it holds; lf_rx_free releases it, also after a failure. */
int lf_rx_compile(struct lf_rx *rx, const char *pattern, const struct lf_kvlist *hints, char *err,
                  size_t errlen);
void lf_rx_free(struct lf_rx *rx);
int lf_rx_setup(struct lf_parser *p, const struct lf_parser_conf *pc, char *err, size_t errlen);
bool lf_parse_rx(struct lf_parser *p, const char *s, size_t n);

/* parse_error.c: error.type/error.message/error.stack_trace of an error record, per
 * language. head[0..hn) is the first line's message (may be NULL), rest[0..n) the lines
 * after it; both point into one record text, head before rest. Writes nothing when no
 * exception is found. */
void lf_error_details(struct lf_parser *p, const char *head, size_t hn, const char *rest, size_t n);

/* parse_mongo.c: MongoDB logv2 JSON lines (slow operations into the query schema). */
bool lf_parse_mongo(struct lf_parser *p, const char *s, size_t n);

/* parse_mysql.c, parse_pg.c, parse_fingerprint.c */
bool lf_parse_mysql(struct lf_parser *p, const char *s, size_t n, bool *drop);
int lf_pg_setup(struct lf_parser *p, const char *prefix, char *err, size_t errlen);
/* PostgreSQL: stderr (log_line_prefix, also behind syslog/logplex headers), csvlog and
 * jsonlog records, chosen per record by its first byte. */
bool lf_parse_pg(struct lf_parser *p, const char *s, size_t n);
/* parse_pg.c: the main message of an entry ("duration: N ms  statement: ...") and the
 * level index of a severity, shared with parse_pglog.c. */
void lf_pg_message(struct lf_parser *p, const char *m, size_t n);
int lf_pg_level(const char *s, size_t n);
/* parse_pglog.c: csvlog (is_csv tells whether a record is one) and jsonlog/CloudNativePG. */
bool lf_pg_is_csv(const char *s, size_t n);
bool lf_parse_pg_csv(struct lf_parser *p, const char *s, size_t n);
bool lf_parse_pg_json(struct lf_parser *p, const char *s, size_t n);
/* Writes the fingerprint of sql into o (room for n+1 bytes); returns its length. MySQL
 * rules (' and " strings, backslash escapes, # comments) or PostgreSQL's (_pg: "" are
 * identifiers, E'' escapes, $tag$ strings, nested comments). */
size_t lf_fingerprint(const char *sql, size_t n, char *o);
size_t lf_fingerprint_pg(const char *sql, size_t n, char *o);
/* sql with every literal (string, number) replaced by ?, the rest as written, into o (room
 * for n+1 bytes); *literals gets how many. Returns the length. */
size_t lf_sql_redact(const char *sql, size_t n, char *o, bool pg, size_t *literals);
void lf_query_fields(struct lf_parser *p, const char *stmt, size_t n);

/* redact.c: the input's redact: (see there). A redactor keeps buffers: one thread at a
 * time, like its parser. */
struct lf_redactor;
/* *out stays NULL when c asks for nothing. LF_OK, LF_ENOMEM, or LF_ECONFIG (message in
 * err). Ownership: *out is the caller's (lf_redactor_destroy); c is read during the call. */
int lf_redactor_create(const struct lf_redact_conf *c, bool pg, char *err, size_t errlen,
                       struct lf_redactor **out);
void lf_redactor_destroy(struct lf_redactor *r);
/* Rewrites p's message and string fields; they then point into r until the next record. */
int lf_redact_record(struct lf_parser *p, struct lf_redactor *r);
uint64_t lf_redactor_count(const struct lf_redactor *r);

#endif
