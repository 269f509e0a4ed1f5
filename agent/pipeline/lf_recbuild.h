/* lf_recbuild.h - the record builder: one record's text -> its id and encoded JSON.
 *
 * The agent's router and `logferry parse` both build records here, so the two can never
 * disagree on a record: the id (file identity + start offset), the per-record facts the
 * encoder adds (host, path, input, offset, read time, fields, truncation mark) and the
 * parser's result. Does not: read files, split lines or route (the callers do).
 * Thread: whoever owns the parser (a parser is used by one thread at a time).
 */
#ifndef LF_RECBUILD_H
#define LF_RECBUILD_H

#include <stdint.h>

#include "lf_buf.h"
#include "lf_ckpt.h"
#include "lf_conf.h"
#include "lf_parse.h"
#include "logferry/lf_record.h"

/* Where a record comes from. All borrowed; they must outlive the call. */
struct lf_recbuild_src {
    const char *host_name;
    size_t host_len;                   /* 0: measured per record */
    const struct lf_input_conf *input; /* name, type, fields */
    const char *path;
    size_t path_len; /* 0: measured per record */
    const struct lf_file_id *file_id;
};

/* What the builder made of one record. */
struct lf_built {
    char id[LF_RECORD_ID_HEX];
    enum lf_record_type type; /* the input's type, or what the parser decided */
    int64_t timestamp_ms;     /* @timestamp */
};

/* Builds the record of text[0..len) that starts at file offset `start`. ml_flags are the
 * multi-line assembler's flags (LF_ML_TRUNCATED). The JSON object replaces out's content.
 * Returns LF_PARSE_EMIT, LF_PARSE_DROP (filtered: no record) or a negative lf_err. */
int lf_recbuild(struct lf_parser *p, const struct lf_recbuild_src *src, const char *text,
                size_t len, uint64_t start, unsigned ml_flags, int64_t read_time_ms,
                struct lf_buf *out, struct lf_built *built);

#endif
