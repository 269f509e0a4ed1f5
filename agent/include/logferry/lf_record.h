/* lf_record.h - the record as output plugins see it.
 *
 * A record is one log event encoded as one JSON object (payload), with the metadata a
 * plugin needs for topics, keys and headers. Records are created, owned and freed by the
 * core; a plugin borrows them from submit() until it reports their outcome with
 * lf_out_ack(), and must not touch a record after that call. Immutable while borrowed.
 */
#ifndef LF_RECORD_H
#define LF_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "lf_export.h"

enum lf_record_type {
    LF_TYPE_RAW = 0,
    LF_TYPE_REQUEST = 1,
    LF_TYPE_ERROR = 2,
    LF_TYPE_QUERY = 3,
};
#define LF_TYPE_COUNT 4

#define LF_RECORD_ID_HEX 33 /* 32 hex digits + NUL */

/* Why and how a record failed for good, for a plugin that stores dead letters remotely
 * (lf_output_plugin.dead_letter). Owned by the core, read-only, valid while the record is
 * borrowed. Times are wall clock, UTC milliseconds. */
struct lf_dead_letter {
    const char *reason;       /* short code: "rejected", "retries_exhausted" (lf_dlq.h) */
    const char *error;        /* text of the last error ("" if none) */
    int code;                 /* its client or broker error code, 0 if none */
    uint32_t attempts;        /* delivery attempts made, the first one included */
    int64_t first_failure_ms; /* first failed attempt */
    int64_t last_failure_ms;  /* last failed attempt */
    const char *destination;  /* topic or routing key it was meant for, "" if not known */
};

struct lf_record {
    const char *payload; /* encoded JSON object, NUL-terminated */
    size_t payload_len;  /* without the NUL */
    enum lf_record_type type;
    char id[LF_RECORD_ID_HEX]; /* 128-bit hash of (file identity, start offset) */
    const char *source;        /* log.file.path */
    const char *input;         /* name of the input that read it */
    int64_t timestamp_ms;      /* @timestamp, UTC milliseconds */
    uint32_t attempts;         /* delivery attempts before this one */
    void *plugin_data;         /* free for the plugin between submit() and lf_out_ack() */
    /* NULL, except for a record offered through lf_output_plugin.dead_letter(): then why
     * it failed. Appended in ABI 1 (records are allocated by the core, so plugins built
     * against an older header only never read it). */
    const struct lf_dead_letter *dead_letter;
};

/* "request", "error", "query", "raw". */
LF_EXPORT const char *lf_record_type_name(enum lf_record_type type);

/* Copies the value of top-level field `name` (an ECS dotted name such as "service.name",
 * or "type", "id") as text into buf (NUL-terminated, truncated to cap).
 * Returns the full length of the value, or LF_ENOTFOUND. Thread-safe (read only). */
LF_EXPORT long lf_record_field(const struct lf_record *rec, const char *name, char *buf,
                               size_t cap);

/* Templates: "logs.{{type}}", "{{service.name}}". Compiled once at init, rendered per
 * record. Unknown fields render as the empty string. */
struct lf_template;
/* Returns LF_OK and *out, or LF_EINVAL with a message in err (unclosed braces...). */
LF_EXPORT int lf_template_compile(const char *src, struct lf_template **out, char *err,
                                  size_t errlen);
/* Renders into buf (NUL-terminated, truncated to cap); returns the full length needed. */
LF_EXPORT size_t lf_template_render(const struct lf_template *t, const struct lf_record *rec,
                                    char *buf, size_t cap);
/* True when the template has no {{...}} part (render once, reuse). */
LF_EXPORT int lf_template_is_constant(const struct lf_template *t);
LF_EXPORT void lf_template_destroy(struct lf_template *t);

#endif
