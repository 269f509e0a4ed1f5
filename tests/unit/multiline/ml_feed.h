/* ml_feed.h - test helpers for the multiline suites: split a buffer into lines the way
 * the tail does (\n and \r\n, last line without newline kept) and collect records. */
#ifndef ML_FEED_H
#define ML_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "lf_multiline.h"

struct ml_rec {
    char *text;
    size_t len;
    uint64_t start, end;
    unsigned flags;
};

struct ml_sink {
    struct ml_rec *v;
    size_t n, cap;
    int fail_next; /* if non-zero, the next emit returns this error once */
};

int ml_sink_emit(void *ctx, const char *text, size_t len, uint64_t start_offset,
                 uint64_t end_offset, unsigned flags);
void ml_sink_free(struct ml_sink *s);

/* Feeds data[0..len) line by line (one ms apart from now_ms), then flushes.
 * Returns LF_OK or the first error. */
int ml_feed(struct lf_ml *ml, const char *data, size_t len, int64_t now_ms, struct ml_sink *s);
/* Reads a whole file; returns NULL on error. */
char *ml_read_file(const char *path, size_t *len);
/* A conf with the defaults of lf_ml_options. */
struct lf_ml_conf ml_conf_default(void);

#endif
