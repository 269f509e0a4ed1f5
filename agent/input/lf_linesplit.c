/* lf_linesplit.c - the one line splitter of the tail and `logferry parse` (rules in
 * lf_linesplit.h). The hot path is one memchr per line and a call of fn on the chunk's
 * bytes; the carry buffer only serves lines that cross a chunk boundary or are cut.
 */
#include "lf_linesplit.h"

#include <string.h>

#include "lf_multiline.h"
#include "logferry/lf_err.h"

_Static_assert(LF_LINE_TRUNCATED == LF_ML_TRUNCATED, "lines go to lf_ml_push with their flags");

void lf_linesplit_init(struct lf_linesplit *s, size_t max_line_bytes, uint64_t offset)
{
    lf_buf_init(&s->carry, max_line_bytes + 1);
    s->max_line_bytes = max_line_bytes;
    s->line_start = offset;
    s->skipping = false;
}

void lf_linesplit_fini(struct lf_linesplit *s)
{
    lf_buf_fini(&s->carry);
}

void lf_linesplit_reset(struct lf_linesplit *s, uint64_t offset)
{
    lf_buf_reset(&s->carry);
    s->line_start = offset;
    s->skipping = false;
}

bool lf_linesplit_has_partial(const struct lf_linesplit *s, uint64_t end)
{
    return s->line_start < end;
}

/* Hands out the line [line_start, end) whose text is p[0..len), without a trailing '\r'. */
static int emit_line(struct lf_linesplit *s, const char *p, size_t len, uint64_t end,
                     unsigned flags, lf_line_fn *fn, void *ctx)
{
    uint64_t start = s->line_start;
    if (len && p[len - 1] == '\r') {
        len--;
    }
    s->line_start = end;
    return fn(ctx, p, len, start, end, flags);
}

/* Hands out the line collected in carry as ending at `end`, and empties carry. */
static int emit_carry(struct lf_linesplit *s, uint64_t end, lf_line_fn *fn, void *ctx)
{
    const char *text = s->carry.data ? s->carry.data : "";
    unsigned flags = s->skipping ? LF_LINE_TRUNCATED : 0;
    int rc = emit_line(s, text, s->carry.len, end, flags, fn, ctx);
    lf_buf_reset(&s->carry);
    s->skipping = false;
    return rc;
}

/* Adds p[0..n), more of the line not ended yet, to carry: up to max_line_bytes in all,
 * the rest is skipped. */
static void keep(struct lf_linesplit *s, const char *p, size_t n)
{
    if (s->skipping) {
        return;
    }
    size_t room = s->max_line_bytes - s->carry.len;
    s->skipping = n > room;
    if (lf_buf_append(&s->carry, p, s->skipping ? room : n) != LF_OK) {
        s->skipping = true; /* no memory for more: the line is cut here */
    }
}

int lf_linesplit_feed(struct lf_linesplit *s, const char *buf, size_t n, uint64_t off,
                      lf_line_fn *fn, void *ctx)
{
    size_t i = 0;
    int rc = LF_OK;
    while (i < n && rc == LF_OK) {
        const char *nl = memchr(buf + i, '\n', n - i);
        if (!nl) {
            keep(s, buf + i, n - i); /* the line goes on in the next chunk */
            break;
        }
        size_t len = (size_t)(nl - (buf + i));
        uint64_t end = off + i + len + 1;
        if (!s->skipping && s->carry.len == 0 && len <= s->max_line_bytes) {
            rc = emit_line(s, buf + i, len, end, 0, fn, ctx); /* whole in buf: no copy */
        } else {
            keep(s, buf + i, len);
            rc = emit_carry(s, end, fn, ctx);
        }
        i += len + 1;
    }
    return rc;
}

int lf_linesplit_finish(struct lf_linesplit *s, uint64_t end, lf_line_fn *fn, void *ctx)
{
    if (s->line_start >= end) {
        return LF_OK;
    }
    return emit_carry(s, end, fn, ctx);
}
