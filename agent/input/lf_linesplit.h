/* lf_linesplit.h - splits a byte stream, read in chunks, into lines with their offsets.
 *
 * The tail and `logferry parse` both split here, so they can never cut a file into
 * different lines. The rules:
 *  - a line ends at '\n', which is not part of its text; one '\r' before it is dropped;
 *  - a line longer than max_line_bytes keeps its first max_line_bytes, is marked
 *    LF_LINE_TRUNCATED, and the rest of it is skipped up to its newline: the rest never
 *    becomes a line of its own, nor is it glued to the next line;
 *  - a last line without newline waits in the splitter until the caller decides it is
 *    complete (end of file, timeout) and calls lf_linesplit_finish;
 *  - each line spans [start, end) in the stream: end is past its newline, so the next
 *    line starts at end.
 * A line that lies whole in one chunk is handed out straight from the chunk (no copy);
 * only a line split over chunks, or cut, is collected in the carry buffer.
 * Does not: read, join lines into records (lf_multiline.h) or keep time.
 * Thread: one splitter per stream, used by one thread at a time.
 */
#ifndef LF_LINESPLIT_H
#define LF_LINESPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_buf.h"

/* Line flag: the line was cut at max_line_bytes. Equal to LF_ML_TRUNCATED, so a line and
 * its flags can go to lf_ml_push as they are. */
#define LF_LINE_TRUNCATED 1u

/* Called once per line. text is borrowed until return (it points into the chunk or into
 * the carry buffer); it holds len bytes and is not NUL-terminated. Returns LF_OK, or an
 * error that stops the feed and is returned by it. */
typedef int lf_line_fn(void *ctx, const char *text, size_t len, uint64_t start, uint64_t end,
                       unsigned flags);

struct lf_linesplit {
    struct lf_buf carry;   /* kept bytes of the line not ended yet (at most max_line_bytes) */
    size_t max_line_bytes; /* longer lines are cut */
    uint64_t line_start;   /* stream offset of the first byte of the line not ended yet */
    bool skipping;         /* that line is over max_line_bytes: its rest is being skipped */
};

/* Prepares s (caller's storage) for a stream whose next byte is at `offset`. */
void lf_linesplit_init(struct lf_linesplit *s, size_t max_line_bytes, uint64_t offset);
/* Frees the carry buffer. */
void lf_linesplit_fini(struct lf_linesplit *s);
/* Drops the line not ended yet, if any: the next line starts at `offset`. */
void lf_linesplit_reset(struct lf_linesplit *s, uint64_t offset);
/* Splits buf[0..n), the stream's bytes at offset `off` (where the previous chunk ended),
 * calling fn for each line that ends in it. Returns LF_OK or fn's first error (the line
 * that failed counts as handed out). A carry buffer that cannot grow (no memory) cuts the
 * line there, as if it were over-long. */
int lf_linesplit_feed(struct lf_linesplit *s, const char *buf, size_t n, uint64_t off,
                      lf_line_fn *fn, void *ctx);
/* Hands out the line not ended yet, if any, as a line that ends at `end` (the offset after
 * the last byte fed). Returns LF_OK or fn's error. */
int lf_linesplit_finish(struct lf_linesplit *s, uint64_t end, lf_line_fn *fn, void *ctx);
/* True if bytes before `end` belong to a line not ended yet. */
bool lf_linesplit_has_partial(const struct lf_linesplit *s, uint64_t end);

#endif
