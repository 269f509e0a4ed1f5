/* fuzz_multiline.c - libFuzzer target for the multi-line assembler (lf_multiline.c and
 * its presets in ml_preset.c). Input: byte 0 picks the configuration (preset or
 * pattern, tight or default caps), byte 1 makes the Nth emit fail once (to exercise
 * the state restore after a failed emit; 0 = never); the rest is split at '\n' into
 * physical lines fed in file order, then flushed.
 * Checks besides the sanitizers: every record spans start < end, records come in file
 * order, and a record over max_bytes is marked truncated.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lf_multiline.h"
#include "logferry/lf_err.h"

struct fz_ml_conf {
    const char *preset;
    const char *start_pattern;
    const char *continue_pattern;
    int64_t max_lines;
    uint64_t max_bytes;
};

static const struct fz_ml_conf fz_ml_confs[] = {
    {"java", NULL, NULL, 500, 1u << 20},
    {"python", NULL, NULL, 500, 1u << 20},
    {"go", NULL, NULL, 500, 1u << 20},
    {"mysql-slow", NULL, NULL, 500, 1u << 20},
    {"postgresql", NULL, NULL, 500, 1u << 20},
    {"java", NULL, NULL, 3, 64},
    {"mysql-slow", NULL, NULL, 4, 100},
    {"postgresql", NULL, NULL, 2, 80},
    {NULL, "^\\d{4}-\\d\\d-\\d\\d", NULL, 500, 1u << 20},
    {NULL, NULL, "^[ \\t]", 5, 128},
    {"none", NULL, NULL, 500, 1u << 20},
};
#define FZ_ML_N (sizeof(fz_ml_confs) / sizeof(fz_ml_confs[0]))

struct fz_ml_sink {
    unsigned emits, fail_at;
    uint64_t last_start;
    uint64_t max_bytes;
    unsigned touch;
};

static int fz_ml_emit(void *ctx, const char *text, size_t len, uint64_t start_offset,
                      uint64_t end_offset, unsigned flags)
{
    struct fz_ml_sink *s = ctx;
    if (++s->emits == s->fail_at) {
        return LF_ENOMEM;
    }
    if (start_offset >= end_offset || start_offset < s->last_start) {
        abort();
    }
    if (len > s->max_bytes && !(flags & LF_ML_TRUNCATED)) {
        abort();
    }
    if (len > 0) {
        s->touch += (unsigned char)text[0] + (unsigned char)text[len - 1]; /* bounds */
    }
    s->last_start = start_offset;
    return LF_OK;
}

static int fz_ml_find_index(const char *name)
{
    for (int i = 0; lf_ml_preset_names[i]; i++) {
        if (!strcmp(lf_ml_preset_names[i], name)) {
            return i;
        }
    }
    abort();
}

static struct lf_ml *fz_ml_make(const struct fz_ml_conf *c)
{
    struct lf_ml_conf conf = {.preset = c->preset ? fz_ml_find_index(c->preset) : 0,
                              .start_pattern = (char *)c->start_pattern,
                              .continue_pattern = (char *)c->continue_pattern,
                              .max_lines = c->max_lines,
                              .max_bytes = c->max_bytes,
                              .flush_timeout_ms = 1000};
    char err[256];
    struct lf_ml *ml = NULL;
    if (lf_ml_create(&conf, NULL, err, sizeof(err), &ml) != LF_OK) {
        abort(); /* a configuration of this file that does not build */
    }
    return ml;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    const struct fz_ml_conf *c = &fz_ml_confs[data[0] % FZ_ML_N];
    struct lf_ml *ml = fz_ml_make(c);
    struct fz_ml_sink sink = {.fail_at = data[1], .max_bytes = c->max_bytes};
    const char *p = (const char *)data + 2, *end = (const char *)data + size;
    uint64_t off = 0;
    int64_t now = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        uint64_t next = off + len + (nl ? 1 : 0);
        /* a failed emit leaves the line unconsumed: the caller feeds it again */
        if (lf_ml_push(ml, p, len, off, next, 0, now++, fz_ml_emit, &sink) != LF_OK) {
            continue;
        }
        p += len + (nl ? 1 : 0);
        off = next;
    }
    while (lf_ml_flush(ml, fz_ml_emit, &sink) != LF_OK) {
    }
    lf_ml_destroy(ml);
    return 0;
}
