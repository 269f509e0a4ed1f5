/* lf_multiline.c - joins physical lines into records: modes, caps, offsets, flush deadline.
 *
 * Mode "none" hands each line straight to emit (no copy). Pattern and preset modes keep
 * the pending record in one reused lf_buf; a record is emitted when the next record's
 * first line arrives, or on lf_ml_flush (flush_timeout, rotation, shutdown). Line
 * classification for presets lives in ml_preset.c; line splitting belongs to the tail.
 */
#include "lf_multiline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_buf.h"
#include "logferry/lf_err.h"
#include "ml_preset.h"

const char *const lf_ml_preset_names[] = {
    [ML_PRESET_NONE] = "none",
    [ML_PRESET_JAVA] = "java",
    [ML_PRESET_PYTHON] = "python",
    [ML_PRESET_GO] = "go",
    [ML_PRESET_MYSQL_SLOW] = "mysql-slow",
    [ML_PRESET_POSTGRESQL] = "postgresql",
    [ML_PRESET_AUTO] = "auto",
    [ML_PRESET_COUNT] = NULL,
};

const struct lf_opt lf_ml_options[] = {
    {
        .name = "preset",
        .type = LF_OPT_ENUM,
        .def = "none",
        .choices = lf_ml_preset_names,
        .offset = offsetof(struct lf_ml_conf, preset),
        .desc = "Built-in rule set: none (one line = one record), java, python, go, "
                "mysql-slow, postgresql (stderr, csvlog, jsonlog), auto (stack traces of any "
                "language, detected per record). Cannot be combined with a pattern.",
    },
    {
        .name = "start_pattern",
        .type = LF_OPT_STR,
        .offset = offsetof(struct lf_ml_conf, start_pattern),
        .desc = "PCRE2 pattern: a matching line starts a new record, other lines continue "
                "it. Lines before the first match form their own record.",
    },
    {
        .name = "continue_pattern",
        .type = LF_OPT_STR,
        .offset = offsetof(struct lf_ml_conf, continue_pattern),
        .desc = "PCRE2 pattern: a matching line continues the current record, any other "
                "line starts a new one. Exclusive with start_pattern.",
    },
    {
        .name = "max_lines",
        .type = LF_OPT_INT,
        .def = "500",
        .min = 1,
        .max = 1000000,
        .offset = offsetof(struct lf_ml_conf, max_lines),
        .desc = "Lines kept per record; further lines of the record are skipped and the "
                "record is marked truncated.",
    },
    {
        .name = "max_bytes",
        .type = LF_OPT_SIZE,
        .def = "1MiB",
        .min = 1,
        .max = 1073741824,
        .offset = offsetof(struct lf_ml_conf, max_bytes),
        .desc = "Bytes kept per record (lines joined with \\n); the record is cut there, "
                "marked truncated, and its remaining lines are skipped.",
    },
    {
        .name = "flush_timeout",
        .type = LF_OPT_DURATION,
        .def = "1s",
        .min = 1,
        .max = 3600000,
        .offset = offsetof(struct lf_ml_conf, flush_timeout_ms),
        .desc = "Emit the pending record when no line has followed its last line for "
                "this long.",
    },
    {.name = NULL},
};

enum ml_mode {
    ML_MODE_NONE,
    ML_MODE_START,
    ML_MODE_CONTINUE,
    ML_MODE_PRESET,
};

struct lf_ml {
    enum ml_mode mode;
    struct ml_rx rx; /* start_pattern or continue_pattern */
    struct ml_preset *preset;
    struct ml_preset_state st;
    size_t max_lines;
    size_t max_bytes;
    int64_t timeout_ms;

    /* the pending record */
    struct lf_buf buf;
    bool pending;
    bool capped; /* a cap was hit: further continuation lines are skipped */
    size_t nlines;
    uint64_t start_off;
    uint64_t end_off;
    unsigned flags;
    int64_t last_ms;
};

static int find_preset(const char *name)
{
    for (int i = 0; lf_ml_preset_names[i]; i++) {
        if (strcmp(lf_ml_preset_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

static int ml_setup_mode(struct lf_ml *ml, const struct lf_ml_conf *conf,
                         const char *preset_override, char *err, size_t errlen)
{
    bool has_start = conf->start_pattern && conf->start_pattern[0];
    bool has_cont = conf->continue_pattern && conf->continue_pattern[0];
    int preset = conf->preset;

    if (has_start && has_cont) {
        snprintf(err, errlen, "multiline: start_pattern and continue_pattern are exclusive");
        return LF_ECONFIG;
    }
    if ((has_start || has_cont) && preset != ML_PRESET_NONE) {
        snprintf(err, errlen, "multiline: preset %s cannot be combined with a pattern",
                 preset > 0 && preset < ML_PRESET_COUNT ? lf_ml_preset_names[preset] : "?");
        return LF_ECONFIG;
    }
    if (has_start) {
        ml->mode = ML_MODE_START;
        return ml_rx_compile(&ml->rx, conf->start_pattern, "multiline: start_pattern", err, errlen);
    }
    if (has_cont) {
        ml->mode = ML_MODE_CONTINUE;
        return ml_rx_compile(&ml->rx, conf->continue_pattern, "multiline: continue_pattern", err,
                             errlen);
    }
    if (preset == ML_PRESET_NONE && preset_override) {
        preset = find_preset(preset_override);
        if (preset < 0) {
            snprintf(err, errlen, "multiline: unknown preset \"%s\"", preset_override);
            return LF_ECONFIG;
        }
    }
    if (preset < 0 || preset >= ML_PRESET_COUNT) {
        snprintf(err, errlen, "multiline: preset index %d out of range", preset);
        return LF_ECONFIG;
    }
    if (preset == ML_PRESET_NONE) {
        ml->mode = ML_MODE_NONE;
        return LF_OK;
    }
    ml->mode = ML_MODE_PRESET;
    return ml_preset_create(preset, err, errlen, &ml->preset);
}

int lf_ml_create(const struct lf_ml_conf *conf, const char *preset_override, char *err,
                 size_t errlen, struct lf_ml **out)
{
    struct lf_ml *ml;
    int rc;

    *out = NULL;
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (conf->max_lines < 1) {
        snprintf(err, errlen, "multiline: max_lines must be at least 1");
        return LF_ECONFIG;
    }
    if (conf->max_bytes < 1 || conf->max_bytes > SIZE_MAX / 2) {
        snprintf(err, errlen, "multiline: max_bytes out of range");
        return LF_ECONFIG;
    }
    if (conf->flush_timeout_ms < 1) {
        snprintf(err, errlen, "multiline: flush_timeout must be positive");
        return LF_ECONFIG;
    }
    ml = calloc(1, sizeof(*ml));
    if (!ml) {
        return LF_ENOMEM;
    }
    ml->max_lines = (size_t)conf->max_lines;
    ml->max_bytes = (size_t)conf->max_bytes;
    ml->timeout_ms = conf->flush_timeout_ms;
    lf_buf_init(&ml->buf, 0); /* caps are enforced here, before appending */
    rc = ml_setup_mode(ml, conf, preset_override, err, errlen);
    if (rc != LF_OK) {
        lf_ml_destroy(ml);
        return rc;
    }
    *out = ml;
    return LF_OK;
}

void lf_ml_destroy(struct lf_ml *ml)
{
    if (!ml) {
        return;
    }
    if (ml->rx.code) {
        ml_rx_free(&ml->rx);
    }
    ml_preset_destroy(ml->preset);
    lf_buf_fini(&ml->buf);
    free(ml);
}

static enum ml_kind ml_classify(struct lf_ml *ml, const char *line, size_t len)
{
    switch (ml->mode) {
    case ML_MODE_START:
        return ml_rx_is_match(&ml->rx, line, len) ? ML_KIND_START : ML_KIND_CONT;
    case ML_MODE_CONTINUE:
        return ml_rx_is_match(&ml->rx, line, len) ? ML_KIND_CONT : ML_KIND_START;
    case ML_MODE_PRESET:
        return ml_preset_classify(ml->preset, &ml->st, line, len, ml->pending);
    default:
        return ML_KIND_START;
    }
}

static int ml_emit_pending(struct lf_ml *ml, lf_ml_emit_fn *emit, void *ctx)
{
    const char *text = ml->buf.data ? ml->buf.data : "";
    int rc = emit(ctx, text, ml->buf.len, ml->start_off, ml->end_off, ml->flags);

    if (rc != LF_OK) {
        return rc; /* keep the record: the caller may flush or push again */
    }
    ml->pending = false;
    lf_buf_reset(&ml->buf);
    return LF_OK;
}

static int ml_begin(struct lf_ml *ml, const char *line, size_t len, uint64_t start_offset,
                    uint64_t end_offset, unsigned flags, int64_t now_ms)
{
    int rc;

    lf_buf_reset(&ml->buf);
    ml->flags = flags & LF_ML_TRUNCATED;
    ml->capped = false;
    if (len > ml->max_bytes) {
        len = ml->max_bytes;
        ml->flags |= LF_ML_TRUNCATED;
        ml->capped = true;
    }
    rc = lf_buf_append(&ml->buf, line, len);
    if (rc != LF_OK) {
        return rc;
    }
    ml->pending = true;
    ml->nlines = 1;
    ml->start_off = start_offset;
    ml->end_off = end_offset;
    ml->last_ms = now_ms;
    return LF_OK;
}

/* Appends a continuation line, or skips it once a cap was hit. The record always grows
 * its end offset, so skipped lines are covered by it (a checkpoint never re-reads them
 * as a separate record). */
static int ml_continue(struct lf_ml *ml, const char *line, size_t len, uint64_t end_offset,
                       unsigned flags, int64_t now_ms)
{
    size_t room;
    int rc;

    if (ml->capped) {
        goto out_covered;
    }
    if (ml->nlines >= ml->max_lines || ml->buf.len + 1 >= ml->max_bytes) {
        ml->capped = true;
        ml->flags |= LF_ML_TRUNCATED;
        goto out_covered;
    }
    room = ml->max_bytes - ml->buf.len - 1; /* after the "\n" */
    if (len > room) {
        len = room;
        ml->capped = true;
        ml->flags |= LF_ML_TRUNCATED;
    }
    rc = lf_buf_reserve(&ml->buf, len + 1);
    if (rc != LF_OK) {
        return rc; /* nothing consumed */
    }
    ml->buf.data[ml->buf.len++] = '\n';
    if (len > 0) {
        memcpy(ml->buf.data + ml->buf.len, line, len);
        ml->buf.len += len;
    }
    ml->buf.data[ml->buf.len] = '\0';
    ml->flags |= flags & LF_ML_TRUNCATED;
    ml->nlines++;
out_covered:
    ml->end_off = end_offset;
    ml->last_ms = now_ms;
    return LF_OK;
}

int lf_ml_push(struct lf_ml *ml, const char *line, size_t len, uint64_t start_offset,
               uint64_t end_offset, unsigned flags, int64_t now_ms, lf_ml_emit_fn *emit, void *ctx)
{
    struct ml_preset_state saved;
    enum ml_kind kind;
    int rc;

    if (ml->mode == ML_MODE_NONE) {
        if (len > ml->max_bytes) {
            len = ml->max_bytes;
            flags |= LF_ML_TRUNCATED;
        }
        return emit(ctx, line, len, start_offset, end_offset, flags & LF_ML_TRUNCATED);
    }
    saved = ml->st;
    kind = ml_classify(ml, line, len);
    if (kind == ML_KIND_CONT && ml->pending) {
        return ml_continue(ml, line, len, end_offset, flags, now_ms);
    }
    if (ml->pending) {
        rc = ml_emit_pending(ml, emit, ctx);
        if (rc != LF_OK) {
            ml->st = saved; /* the line was not consumed; a retry sees the same state */
            return rc;
        }
    }
    return ml_begin(ml, line, len, start_offset, end_offset, flags, now_ms);
}

int lf_ml_flush(struct lf_ml *ml, lf_ml_emit_fn *emit, void *ctx)
{
    if (!ml->pending) {
        return LF_OK;
    }
    return ml_emit_pending(ml, emit, ctx);
}

int64_t lf_ml_deadline(const struct lf_ml *ml)
{
    if (!ml->pending) {
        return -1;
    }
    return ml->last_ms + ml->timeout_ms;
}

uint64_t lf_ml_pending_start(const struct lf_ml *ml)
{
    return ml->pending ? ml->start_off : 0;
}
